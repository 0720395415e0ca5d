/* Vertical pass of the resampler: weighted sum of k byte rows into floats,
 * 32 columns per step, with the reference's operation order (bit-exact). */
#include <immintrin.h>

#include "image/kernels/kernels.h"

void img_vsum_avx2(const uint8_t *const *rows, const float *w, int k,
                   float *out, size_t n) {
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    for (int j = 0; j < k; j++) {
      const uint8_t *r = rows[j] + i;
      __m256 wj = _mm256_broadcast_ss(w + j);
      __m128i b0 = _mm_loadu_si128((const __m128i *)r);
      __m128i b1 = _mm_loadu_si128((const __m128i *)(r + 16));
      __m256 f0 = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(b0));
      __m256 f1 =
          _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(b0, 8)));
      __m256 f2 = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(b1));
      __m256 f3 =
          _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(b1, 8)));
      a0 = _mm256_add_ps(a0, _mm256_mul_ps(wj, f0));
      a1 = _mm256_add_ps(a1, _mm256_mul_ps(wj, f1));
      a2 = _mm256_add_ps(a2, _mm256_mul_ps(wj, f2));
      a3 = _mm256_add_ps(a3, _mm256_mul_ps(wj, f3));
    }
    _mm256_storeu_ps(out + i, a0);
    _mm256_storeu_ps(out + i + 8, a1);
    _mm256_storeu_ps(out + i + 16, a2);
    _mm256_storeu_ps(out + i + 24, a3);
  }
  for (; i + 8 <= n; i += 8) {
    __m256 a = _mm256_setzero_ps();
    for (int j = 0; j < k; j++) {
      __m128i b = _mm_loadl_epi64((const __m128i *)(rows[j] + i));
      a = _mm256_add_ps(
          a, _mm256_mul_ps(_mm256_broadcast_ss(w + j),
                           _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(b))));
    }
    _mm256_storeu_ps(out + i, a);
  }
  for (; i < n; i++) {
    float acc = 0.0f;
    for (int j = 0; j < k; j++)
      acc = acc + w[j] * (float)rows[j][i];
    out[i] = acc;
  }
}
