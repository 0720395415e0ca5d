/* Reference GEMM panel kernel: plain C, any n, rows of a packed panel. */
#include "nn/kernels/kernels.h"

#define BLOCK 64

void nn_f32_gemm_ref(size_t m, size_t n, size_t k, const float *a,
                     const float *b, size_t ldb, float *c, size_t ldc,
                     const nn_post *post) {
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
        const float *br = b + kk * ldb + j0;
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
