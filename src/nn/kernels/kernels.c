/* Kernel table selection and the ISA-independent GEMM helpers. */
#include "kernels.h"

#include <math.h>
#include <pthread.h>

#include "argus/core.h"

void nn_f32_dots_ref(const float *x, const float *w, size_t n, size_t nc,
                     float *y) {
  for (size_t c = 0; c < nc; c++)
    y[c] = core_f32_dot_ref(x + c * n, w + c * n, n);
}

#if defined(__x86_64__) || defined(__i386__)
void nn_f32_dots_avx2(const float *x, const float *w, size_t n, size_t nc,
                      float *y) {
  for (size_t c = 0; c < nc; c++)
    y[c] = core_f32_dot_avx2(x + c * n, w + c * n, n);
}
#endif

const nn_kernels nn_kernels_ref = {
    .name = "ref",
    .mr = NN_GEMM_MR_REF,
    .nr = 16,
    .gemm = nn_f32_gemm_ref,
    .igemm = nn_f32_igemm_ref,
    .dwconv3x3s1 = nn_f32_dwconv3x3s1_ref,
    .dwconv3x3s2 = nn_f32_dwconv3x3s2_ref,
    .dot = core_f32_dot_ref,
    .dots = nn_f32_dots_ref,
    .deinterleave2 = nn_f32_deinterleave2_ref,
    .maxpool2x2 = nn_f32_maxpool2x2_ref,
    .conv3x3s2c = nn_f32_conv3x3s2c_ref,
};

#if defined(__x86_64__) || defined(__i386__)
const nn_kernels nn_kernels_avx2 = {
    .name = "avx2",
    .mr = NN_GEMM_MR_AVX2,
    .nr = 16,
    .gemm = nn_f32_gemm_avx2,
    .igemm = nn_f32_igemm_avx2,
    .dwconv3x3s1 = nn_f32_dwconv3x3s1_avx2,
    .dwconv3x3s2 = nn_f32_dwconv3x3s2_avx2,
    .dot = core_f32_dot_avx2,
    .dots = nn_f32_dots_avx2,
    .deinterleave2 = nn_f32_deinterleave2_avx2,
    .maxpool2x2 = nn_f32_maxpool2x2_avx2,
    .conv3x3s2c = nn_f32_conv3x3s2c_ref, /* no AVX2 version */
};

const nn_kernels nn_kernels_avx512 = {
    .name = "avx512",
    .mr = NN_GEMM_MR_AVX512,
    .nr = 48,
    .gemm = nn_f32_gemm_avx512,
    .igemm = nn_f32_igemm_avx512,
    .dwconv3x3s1 = nn_f32_dwconv3x3s1_avx512,
    .dwconv3x3s2 = nn_f32_dwconv3x3s2_avx512,
    .dot = core_f32_dot_avx512,
    .dots = nn_f32_dots_avx512,
    .deinterleave2 = nn_f32_deinterleave2_avx512,
    .maxpool2x2 = nn_f32_maxpool2x2_avx512,
    .conv3x3s2c = nn_f32_conv3x3s2c_avx512,
};
#else
/* No x86 kernels on this architecture: the tables are the reference's. */
#define NN_KERNELS_REF_ALIAS                                                   \
  {                                                                            \
    .name = "ref", .mr = NN_GEMM_MR_REF, .nr = 16, .gemm = nn_f32_gemm_ref,    \
    .igemm = nn_f32_igemm_ref, .dwconv3x3s1 = nn_f32_dwconv3x3s1_ref,          \
    .dwconv3x3s2 = nn_f32_dwconv3x3s2_ref, .dot = core_f32_dot_ref,            \
    .dots = nn_f32_dots_ref, .deinterleave2 = nn_f32_deinterleave2_ref,        \
    .maxpool2x2 = nn_f32_maxpool2x2_ref, .conv3x3s2c = nn_f32_conv3x3s2c_ref   \
  }
const nn_kernels nn_kernels_avx2 = NN_KERNELS_REF_ALIAS;
const nn_kernels nn_kernels_avx512 = NN_KERNELS_REF_ALIAS;
#undef NN_KERNELS_REF_ALIAS
#endif

static const nn_kernels *g_table;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void choose(void) {
  unsigned f = argus_cpu_features();
  if (f & ARGUS_CPU_AVX512)
    g_table = &nn_kernels_avx512;
  else if (f & ARGUS_CPU_AVX2)
    g_table = &nn_kernels_avx2;
  else
    g_table = &nn_kernels_ref;
  argus_log(ARGUS_LOG_DEBUG, "nn", "kernels: %s (gemm %ux%u)", g_table->name,
            g_table->mr, g_table->nr);
}

const nn_kernels *nn_kernels_get(void) {
  pthread_once(&g_once, choose);
  return g_table;
}

void nn_pack_a(unsigned mr, size_t m, size_t k, const float *src, size_t rs,
               size_t cs, float alpha, float *dst) {
  for (size_t p0 = 0; p0 < m; p0 += mr) {
    size_t rows = m - p0 < mr ? m - p0 : mr;
    for (size_t kk = 0; kk < k; kk++) {
      float *d = dst + kk * mr;
      size_t i = 0;
      for (; i < rows; i++)
        d[i] = alpha * src[(p0 + i) * rs + kk * cs];
      for (; i < mr; i++)
        d[i] = 0.0f;
    }
    dst += mr * k;
  }
}

void nn_gemm_run(const nn_kernels *kt, size_t m, size_t n, size_t k,
                 const float *apack, const float *b, size_t ldb, float *c,
                 size_t ldc, const nn_post *post, size_t nc) {
  size_t mr = kt->mr;
  if (nc == 0 || nc > n)
    nc = n;
  for (size_t j = 0; j < n; j += nc) {
    size_t cols = n - j < nc ? n - j : nc;
    for (size_t i = 0; i < m; i += mr) {
      nn_post p = nn_post_at(post, i, j);
      kt->gemm(m - i < mr ? m - i : mr, cols, k, apack + i * k, b + j, ldb,
               c + i * ldc + j, ldc, &p);
    }
  }
}

void nn_bf16_pack_a(size_t m, size_t k, const float *src, size_t rs,
                    size_t cs, uint32_t *dst) {
  const size_t kp = (k + 1) / 2;
  for (size_t p0 = 0; p0 < m; p0 += NN_BF16_MR) {
    size_t rows = m - p0 < NN_BF16_MR ? m - p0 : NN_BF16_MR;
    for (size_t q = 0; q < kp; q++) {
      uint32_t *d = dst + q * NN_BF16_MR;
      size_t i = 0;
      for (; i < rows; i++) {
        const float *r = src + (p0 + i) * rs;
        uint32_t lo = nn_bf16_from_f32(r[2 * q * cs]);
        uint32_t hi = 2 * q + 1 < k ? nn_bf16_from_f32(r[(2 * q + 1) * cs]) : 0;
        d[i] = lo | hi << 16;
      }
      for (; i < NN_BF16_MR; i++)
        d[i] = 0;
    }
    dst += nn_bf16_panel_size(k);
  }
}

void nn_bf16_conv3x3s2c_pack(const float *w, size_t co, size_t cin,
                             uint32_t *wp) {
  for (size_t i = 0; i < co * cin * 3; i++) {
    const float *r = w + i * 3;
    wp[2 * i] = nn_bf16_from_f32(r[0]) | (uint32_t)nn_bf16_from_f32(r[1]) << 16;
    wp[2 * i + 1] = nn_bf16_from_f32(r[2]);
  }
}

static nn_bf16_gemm_fn g_bf16;
static nn_bf16_conv3x3s2c_fn g_bf16_c3;
static nn_bf16_pairs_fn g_bf16_pairs;
static nn_bf16_gemm_pairs_fn g_bf16_gemm_pairs;
static nn_bf16_conv3x3s2c_pairs_fn g_bf16_c3_pairs;
static pthread_once_t g_bf16_once = PTHREAD_ONCE_INIT;

static void choose_bf16(void) {
  unsigned f = argus_cpu_features();
  g_bf16 = NULL;
  g_bf16_c3 = NULL;
  g_bf16_pairs = NULL;
  g_bf16_gemm_pairs = NULL;
  g_bf16_c3_pairs = NULL;
#if defined(__x86_64__) || defined(__i386__)
  if ((f & ARGUS_CPU_AVX512) && (f & ARGUS_CPU_AVX512_BF16)) {
    g_bf16 = nn_bf16_gemm_avx512;
    g_bf16_c3 = nn_bf16_conv3x3s2c_avx512;
    g_bf16_pairs = nn_bf16_pairs_avx512;
    g_bf16_gemm_pairs = nn_bf16_gemm_pairs_avx512;
    g_bf16_c3_pairs = nn_bf16_conv3x3s2c_pairs_avx512;
  }
#endif
  argus_log(ARGUS_LOG_DEBUG, "nn", "bf16 gemm: %s",
            g_bf16 ? "avx512_bf16"
                   : "none (no AVX512_BF16): bf16 models run in float32");
  (void)f;
}

/* A kernel getter: `choose` runs once (under `once`) and sets `chosen`. */
#define ONCE_GET(type, name, chosen, once, choose)                             \
  type name(void) {                                                            \
    pthread_once(&once, choose);                                               \
    return chosen;                                                             \
  }
/* The bf16 kernels' getters: the choice is made once, for all of them. */
#define BF16_GET(type, name, chosen)                                           \
  ONCE_GET(type, name, chosen, g_bf16_once, choose_bf16)
BF16_GET(nn_bf16_gemm_fn, nn_bf16_gemm_get, g_bf16)
BF16_GET(nn_bf16_conv3x3s2c_fn, nn_bf16_conv3x3s2c_get, g_bf16_c3)
BF16_GET(nn_bf16_pairs_fn, nn_bf16_pairs_get, g_bf16_pairs)
BF16_GET(nn_bf16_gemm_pairs_fn, nn_bf16_gemm_pairs_get, g_bf16_gemm_pairs)
BF16_GET(nn_bf16_conv3x3s2c_pairs_fn, nn_bf16_conv3x3s2c_pairs_get,
         g_bf16_c3_pairs)
#undef BF16_GET

static nn_i8_gemm_fn g_i8;
static pthread_once_t g_i8_once = PTHREAD_ONCE_INIT;

static void choose_i8(void) {
  unsigned f = argus_cpu_features();
  g_i8 = NULL;
#if defined(__x86_64__) || defined(__i386__)
  if ((f & ARGUS_CPU_AVX512) && (f & ARGUS_CPU_AVX512_VNNI))
    g_i8 = nn_i8_gemm_avx512;
#endif
  argus_log(ARGUS_LOG_DEBUG, "nn", "int8 gemm: %s",
            g_i8 ? "avx512_vnni"
                 : "none (no AVX512_VNNI): int8 models run in float32");
  (void)f;
}

ONCE_GET(nn_i8_gemm_fn, nn_i8_gemm_get, g_i8, g_i8_once, choose_i8)
#undef ONCE_GET

float nn_sigmoidf_(float x) { return 1.0f / (1.0f + expf(-x)); }
