/* AVX2 even/odd split of a row: 16 floats per step with in-lane shuffles
 * and a cross-lane permute; scalar tail. */
#if defined(__AVX2__) && defined(__FMA__)
#include "post_avx2.h"

void nn_f32_deinterleave2_avx2(const float *src, size_t n, float *even,
                               float *odd) {
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m256 a = _mm256_loadu_ps(src + i), b = _mm256_loadu_ps(src + i + 8);
    __m256 e = _mm256_shuffle_ps(a, b, 0x88), o = _mm256_shuffle_ps(a, b, 0xDD);
    _mm256_storeu_ps(even + i / 2, _mm256_castpd_ps(_mm256_permute4x64_pd(
                                       _mm256_castps_pd(e), 0xD8)));
    _mm256_storeu_ps(odd + i / 2, _mm256_castpd_ps(_mm256_permute4x64_pd(
                                      _mm256_castps_pd(o), 0xD8)));
  }
  for (; i + 1 < n; i += 2) {
    even[i / 2] = src[i];
    odd[i / 2] = src[i + 1];
  }
  if (i < n)
    even[i / 2] = src[i];
}
#endif
