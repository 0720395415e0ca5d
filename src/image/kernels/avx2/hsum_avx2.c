/* Horizontal pass of the resampler with gathers; same operation order as
 * the reference (bit-exact). */
#include <immintrin.h>

#include "image/kernels/kernels.h"

void img_hsum_avx2(const float *v, const int32_t *idx, const float *w, int k,
                   int step, size_t n, float *out) {
  size_t e = 0;
  const __m256i vstep = _mm256_set1_epi32(step);
  for (; e + 8 <= n; e += 8) {
    __m256i ix = _mm256_loadu_si256((const __m256i *)(idx + e));
    __m256 acc = _mm256_setzero_ps();
    for (int j = 0; j < k; j++, ix = _mm256_add_epi32(ix, vstep)) {
      __m256 x = _mm256_i32gather_ps(v, ix, 4);
      acc = _mm256_add_ps(
          acc, _mm256_mul_ps(_mm256_loadu_ps(w + (size_t)j * n + e), x));
    }
    _mm256_storeu_ps(out + e, acc);
  }
  for (; e < n; e++) {
    float acc = 0.0f;
    const float *p = v + idx[e];
    for (int j = 0; j < k; j++)
      acc = acc + w[(size_t)j * n + e] * p[(size_t)j * (size_t)step];
    out[e] = acc;
  }
}
