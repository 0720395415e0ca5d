/* Reference GEMM panel kernels (direct and indirect B): plain C, any n,
 * rows of a packed panel. */
#include "nn/kernels/kernels.h"

#define BLOCK 64

/* Row kk of B: b + kk*ldb, or bp[kk] + boff when bp is set. */
static void gemm_ref(size_t m, size_t n, size_t k, const float *a,
                     const float *b, size_t ldb, const float *const *bp,
                     size_t boff, float *c, size_t ldc, const nn_post *post) {
  const size_t mr = NN_GEMM_MR_REF;
  float acc[BLOCK];
  /* Accumulate a block of one row locally: the residual may alias c. */
  for (size_t i = 0; i < m; i++) {
    for (size_t j0 = 0; j0 < n; j0 += BLOCK) {
      size_t cols = n - j0 < BLOCK ? n - j0 : BLOCK;
      for (size_t j = 0; j < cols; j++)
        acc[j] = 0.0f;
      for (size_t kk = 0; kk < k; kk++) {
        float av = a[kk * mr + i];
        const float *br = (bp ? bp[kk] + boff : b + kk * ldb) + j0;
        for (size_t j = 0; j < cols; j++)
          acc[j] += av * br[j];
      }
      float *cr = c + i * ldc + j0;
      const float *rr = post->res ? post->res + i * post->ldr + j0 : NULL;
      for (size_t j = 0; j < cols; j++)
        cr[j] = nn_post_apply(post, i, acc[j], rr ? rr + j : NULL);
    }
  }
}

void nn_f32_gemm_ref(size_t m, size_t n, size_t k, const float *a,
                     const float *b, size_t ldb, float *c, size_t ldc,
                     const nn_post *post) {
  gemm_ref(m, n, k, a, b, ldb, NULL, 0, c, ldc, post);
}

void nn_f32_igemm_ref(size_t m, size_t n, size_t k, const float *a,
                      const float *const *b, size_t boff, float *c,
                      size_t ldc, const nn_post *post) {
  gemm_ref(m, n, k, a, NULL, 0, b, boff, c, ldc, post);
}
