#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "argus/core.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <immintrin.h>

static uint64_t xgetbv0(void) {
  uint32_t eax, edx;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return ((uint64_t)edx << 32) | eax;
}

static unsigned detect(void) {
  unsigned a, b, c, d, f = 0;
  if (!__get_cpuid(1, &a, &b, &c, &d))
    return 0;
  int osxsave = (c >> 27) & 1, fma = (c >> 12) & 1, f16c = (c >> 29) & 1;
  int avx = (c >> 28) & 1;
  if (!osxsave || !avx)
    return 0;
  uint64_t xcr0 = xgetbv0();
  int ymm_os = (xcr0 & 0x6) == 0x6;
  int zmm_os = (xcr0 & 0xe6) == 0xe6;
  if (__get_cpuid_max(0, NULL) < 7)
    return 0;
  __cpuid_count(7, 0, a, b, c, d);
  int avx2 = (b >> 5) & 1;
  int avx512f = (b >> 16) & 1, avx512dq = (b >> 17) & 1;
  int avx512bw = (b >> 30) & 1, avx512vl = (b >> 31) & 1;
  int vnni = (c >> 11) & 1, vpopcntdq = (c >> 14) & 1;
  if (ymm_os && avx2 && fma && f16c)
    f |= ARGUS_CPU_AVX2;
  if ((f & ARGUS_CPU_AVX2) && zmm_os && avx512f && avx512dq && avx512bw &&
      avx512vl) {
    f |= ARGUS_CPU_AVX512;
    if (vnni)
      f |= ARGUS_CPU_AVX512_VNNI;
    if (vpopcntdq)
      f |= ARGUS_CPU_AVX512_VPOPCNTDQ;
    unsigned a1, b1, c1, d1;
    __cpuid_count(7, 1, a1, b1, c1, d1);
    if ((a1 >> 5) & 1)
      f |= ARGUS_CPU_AVX512_BF16;
  }
  return f;
}

void argus_cpu_set_ftz(void) {
  _mm_setcsr(_mm_getcsr() | 0x8040); /* FTZ (bit 15) | DAZ (bit 6) */
}
#else
static unsigned detect(void) { return 0; }
void argus_cpu_set_ftz(void) {}
#endif

static unsigned g_features;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void init_features(void) {
  unsigned f = detect();
  const char *force = getenv("ARGUS_ISA");
  if (force && *force) {
    if (strcmp(force, "ref") == 0)
      f = 0;
    else if (strcmp(force, "avx2") == 0)
      f &= ARGUS_CPU_AVX2;
  }
  g_features = f;
}

unsigned argus_cpu_features(void) {
  pthread_once(&g_once, init_features);
  return g_features;
}

const char *argus_cpu_isa_name(void) {
  unsigned f = argus_cpu_features();
  if (f & ARGUS_CPU_AVX512)
    return "avx512";
  if (f & ARGUS_CPU_AVX2)
    return "avx2";
  return "ref";
}
