/* AVX2/FMA fp32 dot product: four accumulators (32 floats per step, enough
 * to hide the FMA latency), then 8 at a time and a masked tail. */
#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>

#include "core/kernels/kernels.h"

float core_f32_dot_avx2(const float *a, const float *b, size_t n) {
  __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
  __m256 s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps();
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8),
                         s1);
    s2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 16),
                         _mm256_loadu_ps(b + i + 16), s2);
    s3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 24),
                         _mm256_loadu_ps(b + i + 24), s3);
  }
  for (; i + 8 <= n; i += 8)
    s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
  if (i < n) {
    /* lanes j < n - i all ones (sign bit set: maskload reads them) */
    __m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(n - i)),
                                   _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    s1 = _mm256_fmadd_ps(_mm256_maskload_ps(a + i, m),
                         _mm256_maskload_ps(b + i, m), s1);
  }
  __m256 s = _mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3));
  __m128 h = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
  h = _mm_add_ps(h, _mm_movehl_ps(h, h));
  h = _mm_add_ss(h, _mm_movehdup_ps(h));
  return _mm_cvtss_f32(h);
}
#endif
