/* Vertical pass of the resampler, AVX-512: 64 columns per step, with the
 * reference's operation order (bit-exact). */
#include <immintrin.h>

#include "image/kernels/kernels.h"

void img_vsum_avx512(const uint8_t *const *rows, const float *w, int k,
                     float *out, size_t n) {
  size_t i = 0;
  for (; i + 64 <= n; i += 64) {
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    for (int j = 0; j < k; j++) {
      const uint8_t *r = rows[j] + i;
      __m512 wj = _mm512_set1_ps(w[j]);
      __m512 f0 = _mm512_cvtepi32_ps(
          _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)r)));
      __m512 f1 = _mm512_cvtepi32_ps(
          _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(r + 16))));
      __m512 f2 = _mm512_cvtepi32_ps(
          _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(r + 32))));
      __m512 f3 = _mm512_cvtepi32_ps(
          _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(r + 48))));
      a0 = _mm512_add_ps(a0, _mm512_mul_ps(wj, f0));
      a1 = _mm512_add_ps(a1, _mm512_mul_ps(wj, f1));
      a2 = _mm512_add_ps(a2, _mm512_mul_ps(wj, f2));
      a3 = _mm512_add_ps(a3, _mm512_mul_ps(wj, f3));
    }
    _mm512_storeu_ps(out + i, a0);
    _mm512_storeu_ps(out + i + 16, a1);
    _mm512_storeu_ps(out + i + 32, a2);
    _mm512_storeu_ps(out + i + 48, a3);
  }
  for (; i < n; i += 16) {
    size_t left = n - i;
    __mmask16 m =
        left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1);
    __m512 a = _mm512_setzero_ps();
    for (int j = 0; j < k; j++) {
      __m128i b = _mm_maskz_loadu_epi8(m, rows[j] + i);
      a = _mm512_add_ps(
          a, _mm512_mul_ps(_mm512_set1_ps(w[j]),
                           _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(b))));
    }
    _mm512_mask_storeu_ps(out + i, m, a);
  }
}
