/* AVX2 2x2 stride-2 max pooling of one output row: 8 outputs per step,
 * even and odd columns split by in-lane shuffles (the lane order they leave
 * is the same for all four and is put right once, after the maxima).
 * max_ps(v, b) is `v > b ? v : b`, the reference's comparison. Scalar
 * tail. */
#if defined(__AVX2__) && defined(__FMA__)
#include "post_avx2.h"

void nn_f32_maxpool2x2_avx2(const float *r0, const float *r1, float *y,
                            size_t n) {
  size_t j = 0;
  for (; j + 8 <= n; j += 8) {
    const float *p = r0 + 2 * j, *q = r1 + 2 * j;
    __m256 a0 = _mm256_loadu_ps(p), a1 = _mm256_loadu_ps(p + 8);
    __m256 c0 = _mm256_loadu_ps(q), c1 = _mm256_loadu_ps(q + 8);
    __m256 b = _mm256_shuffle_ps(a0, a1, 0x88);
    b = _mm256_max_ps(_mm256_shuffle_ps(a0, a1, 0xDD), b);
    b = _mm256_max_ps(_mm256_shuffle_ps(c0, c1, 0x88), b);
    b = _mm256_max_ps(_mm256_shuffle_ps(c0, c1, 0xDD), b);
    _mm256_storeu_ps(y + j, _mm256_castpd_ps(_mm256_permute4x64_pd(
                                _mm256_castps_pd(b), 0xD8)));
  }
  for (; j < n; j++) {
    float b = r0[2 * j];
    b = r0[2 * j + 1] > b ? r0[2 * j + 1] : b;
    b = r1[2 * j] > b ? r1[2 * j] : b;
    b = r1[2 * j + 1] > b ? r1[2 * j + 1] : b;
    y[j] = b;
  }
}
#endif
