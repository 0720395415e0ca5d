/* The index's kernel tables, one const table per ISA level, and the choice
 * of the widest one the CPU (and ARGUS_ISA) allows, made once. */
#include "kernels.h"

#include <pthread.h>

#include "argus/core.h"

const ix_kernels ix_kernels_ref = {
    .name = "ref",
    .k = {{"ref", IX_MAX_Q_REF, ix_f32_tile_ref},
          {"ref", IX_MAX_Q_REF, ix_f16_tile_ref},
          {"ref", IX_MAX_Q_REF, ix_s8_tile_ref}},
    .to_f16 = ix_f32_to_f16_ref,
    .to_f16_isa = "ref",
    .dot = core_f32_dot_ref,
    .dot_isa = "ref",
    .scan = ix_hamming_scan_ref,
    .scan_isa = "ref",
};

#if defined(__x86_64__) || defined(__i386__)
#define IX_HAVE_X86 1
const ix_kernels ix_kernels_avx2 = {
    .name = "avx2",
    .k = {{"avx2", IX_MAX_Q_AVX2, ix_f32_tile_avx2},
          {"avx2", IX_MAX_Q_AVX2, ix_f16_tile_avx2},
          {"avx2", IX_MAX_Q_AVX2_S8, ix_s8_tile_avx2}},
    .to_f16 = ix_f32_to_f16_avx2,
    .to_f16_isa = "avx2",
    .dot = core_f32_dot_avx2,
    .dot_isa = "avx2",
    .scan = ix_hamming_scan_avx2,
    .scan_isa = "popcnt",
};

/* There is no AVX-512 int8 kernel without VNNI: int8 stays on the AVX2 one. */
const ix_kernels ix_kernels_avx512 = {
    .name = "avx512",
    .k = {{"avx512", IX_MAX_Q_AVX512, ix_f32_tile_avx512},
          {"avx512", IX_MAX_Q_AVX512, ix_f16_tile_avx512},
          {"avx2", IX_MAX_Q_AVX2_S8, ix_s8_tile_avx2}},
    .to_f16 = ix_f32_to_f16_avx512,
    .to_f16_isa = "avx512",
    .dot = core_f32_dot_avx512,
    .dot_isa = "avx512",
    .scan = ix_hamming_scan_avx2,
    .scan_isa = "popcnt",
};

const ix_kernels ix_kernels_avx512vnni = {
    .name = "avx512vnni",
    .k = {{"avx512", IX_MAX_Q_AVX512, ix_f32_tile_avx512},
          {"avx512", IX_MAX_Q_AVX512, ix_f16_tile_avx512},
          {"avx512vnni", IX_MAX_Q_AVX512, ix_s8_tile_avx512vnni}},
    .to_f16 = ix_f32_to_f16_avx512,
    .to_f16_isa = "avx512",
    .dot = core_f32_dot_avx512,
    .dot_isa = "avx512",
    .scan = ix_hamming_scan_avx2,
    .scan_isa = "popcnt",
};

const ix_kernels ix_kernels_avx512icl = {
    .name = "avx512icl",
    .k = {{"avx512", IX_MAX_Q_AVX512, ix_f32_tile_avx512},
          {"avx512", IX_MAX_Q_AVX512, ix_f16_tile_avx512},
          {"avx512vnni", IX_MAX_Q_AVX512, ix_s8_tile_avx512vnni}},
    .to_f16 = ix_f32_to_f16_avx512,
    .to_f16_isa = "avx512",
    .dot = core_f32_dot_avx512,
    .dot_isa = "avx512",
    .scan = ix_hamming_scan_avx512,
    .scan_isa = "avx512",
};
#else
#define IX_HAVE_X86 0
/* No x86 kernels on this architecture: the tables alias the reference. */
#define IX_REF_TABLE                                                           \
  {                                                                            \
    .name = "ref",                                                             \
    .k = {{"ref", IX_MAX_Q_REF, ix_f32_tile_ref},                              \
          {"ref", IX_MAX_Q_REF, ix_f16_tile_ref},                              \
          {"ref", IX_MAX_Q_REF, ix_s8_tile_ref}},                              \
    .to_f16 = ix_f32_to_f16_ref, .to_f16_isa = "ref", .dot = core_f32_dot_ref,   \
    .dot_isa = "ref", .scan = ix_hamming_scan_ref, .scan_isa = "ref",          \
  }
const ix_kernels ix_kernels_avx2 = IX_REF_TABLE;
const ix_kernels ix_kernels_avx512 = IX_REF_TABLE;
const ix_kernels ix_kernels_avx512vnni = IX_REF_TABLE;
const ix_kernels ix_kernels_avx512icl = IX_REF_TABLE;
#endif

static const ix_kernels *g_table;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void choose(void) {
  unsigned f = argus_cpu_features();
  const ix_kernels *t = &ix_kernels_ref;
  unsigned icl =
      ARGUS_CPU_AVX512 | ARGUS_CPU_AVX512_VNNI | ARGUS_CPU_AVX512_VPOPCNTDQ;
  if ((f & icl) == icl)
    t = &ix_kernels_avx512icl;
  else if ((f & ARGUS_CPU_AVX512) && (f & ARGUS_CPU_AVX512_VNNI))
    t = &ix_kernels_avx512vnni;
  else if (f & ARGUS_CPU_AVX512)
    t = &ix_kernels_avx512;
  else if (f & ARGUS_CPU_AVX2)
    t = &ix_kernels_avx2;
  g_table = t;
  argus_log(ARGUS_LOG_DEBUG, "index",
            "kernels: %s (f32 %s, f16 %s, int8 %s, dot %s, scan %s)", t->name,
            t->k[IX_F32].isa, t->k[IX_F16].isa, t->k[IX_S8].isa, t->dot_isa,
            t->scan_isa);
}

const ix_kernels *ix_kernels_get(void) {
  pthread_once(&g_once, choose);
  return g_table;
}

int ix_kernel_tables_all(const ix_kernels **out, int max) {
  int n = 0;
  if (n < max)
    out[n++] = &ix_kernels_ref;
#if IX_HAVE_X86
  unsigned f = argus_cpu_features();
  if ((f & ARGUS_CPU_AVX2) && n < max)
    out[n++] = &ix_kernels_avx2;
  if ((f & ARGUS_CPU_AVX512) && n < max)
    out[n++] = &ix_kernels_avx512;
  if ((f & ARGUS_CPU_AVX512) && (f & ARGUS_CPU_AVX512_VNNI) && n < max)
    out[n++] = &ix_kernels_avx512vnni;
  if ((f & ARGUS_CPU_AVX512) && (f & ARGUS_CPU_AVX512_VNNI) &&
      (f & ARGUS_CPU_AVX512_VPOPCNTDQ) && n < max)
    out[n++] = &ix_kernels_avx512icl;
#endif
  return n;
}

/* The distinct kernels of one element type over the tables this CPU can run
 * (a level that reuses the one below adds nothing). */
int ix_kernels_all(ix_elem e, ix_kernel *out, int max) {
  const ix_kernels *t[IX_MAX_TABLES];
  int nt = ix_kernel_tables_all(t, IX_MAX_TABLES), n = 0;
  for (int i = 0; i < nt && n < max; i++) {
    int seen = 0;
    for (int j = 0; j < n; j++)
      seen |= out[j].tile == t[i]->k[e].tile;
    if (!seen)
      out[n++] = t[i]->k[e];
  }
  return n;
}

int ix_f16_converters_all(ix_f32_to_f16_fn *out, const char **names, int max) {
  const ix_kernels *t[IX_MAX_TABLES];
  int nt = ix_kernel_tables_all(t, IX_MAX_TABLES), n = 0;
  for (int i = 0; i < nt && n < max; i++) {
    int seen = 0;
    for (int j = 0; j < n; j++)
      seen |= out[j] == t[i]->to_f16;
    if (!seen) {
      out[n] = t[i]->to_f16;
      names[n++] = t[i]->to_f16_isa;
    }
  }
  return n;
}
