/* Kernel selection for the index: the widest ISA the CPU (and ARGUS_ISA)
 * allows, per element type, chosen once. */
#include "kernels.h"

#include <pthread.h>

#include "argus/core.h"

static const ix_kernel k_ref[3] = {
    {"ref", IX_MAX_Q_REF, ix_f32_tile_ref},
    {"ref", IX_MAX_Q_REF, ix_f16_tile_ref},
    {"ref", IX_MAX_Q_REF, ix_s8_tile_ref},
};

#if defined(__x86_64__) || defined(__i386__)
#define IX_HAVE_X86 1
static const ix_kernel k_avx2[3] = {
    {"avx2", IX_MAX_Q_AVX2, ix_f32_tile_avx2},
    {"avx2", IX_MAX_Q_AVX2, ix_f16_tile_avx2},
    {"avx2", IX_MAX_Q_AVX2_S8, ix_s8_tile_avx2},
};
static const ix_kernel k_avx512[2] = {
    {"avx512", IX_MAX_Q_AVX512, ix_f32_tile_avx512},
    {"avx512", IX_MAX_Q_AVX512, ix_f16_tile_avx512},
};
static const ix_kernel k_vnni = {"avx512vnni", IX_MAX_Q_AVX512,
                                 ix_s8_tile_avx512vnni};
#else
#define IX_HAVE_X86 0
#endif

static ix_kernels g_kernels;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void choose(void) {
  unsigned f = argus_cpu_features();
  ix_kernels t = {{k_ref[0], k_ref[1], k_ref[2]}, ix_f32_to_f16_ref, "ref"};
#if IX_HAVE_X86
  if (f & ARGUS_CPU_AVX2) {
    t.k[IX_F32] = k_avx2[0];
    t.k[IX_F16] = k_avx2[1];
    t.k[IX_S8] = k_avx2[2];
    t.to_f16 = ix_f32_to_f16_avx2;
    t.to_f16_isa = "avx2";
  }
  if (f & ARGUS_CPU_AVX512) {
    t.k[IX_F32] = k_avx512[0];
    t.k[IX_F16] = k_avx512[1];
    t.to_f16 = ix_f32_to_f16_avx512;
    t.to_f16_isa = "avx512";
  }
  if ((f & ARGUS_CPU_AVX512) && (f & ARGUS_CPU_AVX512_VNNI))
    t.k[IX_S8] = k_vnni;
#else
  (void)f;
#endif
  g_kernels = t;
  argus_log(ARGUS_LOG_DEBUG, "index", "kernels: f32 %s, f16 %s, int8 %s",
            t.k[IX_F32].isa, t.k[IX_F16].isa, t.k[IX_S8].isa);
}

const ix_kernels *ix_kernels_get(void) {
  pthread_once(&g_once, choose);
  return &g_kernels;
}

int ix_kernels_all(ix_elem e, ix_kernel *out, int max) {
  int n = 0;
  if (n < max)
    out[n++] = k_ref[e];
#if IX_HAVE_X86
  unsigned f = argus_cpu_features();
  if ((f & ARGUS_CPU_AVX2) && n < max)
    out[n++] = k_avx2[e];
  if ((f & ARGUS_CPU_AVX512) && e != IX_S8 && n < max)
    out[n++] = k_avx512[e];
  if ((f & ARGUS_CPU_AVX512) && (f & ARGUS_CPU_AVX512_VNNI) && e == IX_S8 &&
      n < max)
    out[n++] = k_vnni;
#endif
  return n;
}

int ix_f16_converters_all(ix_f32_to_f16_fn *out, const char **names,
                          int max) {
  int n = 0;
  if (n < max) {
    out[n] = ix_f32_to_f16_ref;
    names[n++] = "ref";
  }
#if IX_HAVE_X86
  unsigned f = argus_cpu_features();
  if ((f & ARGUS_CPU_AVX2) && n < max) {
    out[n] = ix_f32_to_f16_avx2;
    names[n++] = "avx2";
  }
  if ((f & ARGUS_CPU_AVX512) && n < max) {
    out[n] = ix_f32_to_f16_avx512;
    names[n++] = "avx512";
  }
#endif
  return n;
}
