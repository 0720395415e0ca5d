/* AVX-512 even/odd split of a row: 32 floats per step through two-source
 * permutes, masked loads and stores for the tail. */
#if defined(__AVX512F__)
#include "post_avx512.h"

void nn_f32_deinterleave2_avx512(const float *src, size_t n, float *even,
                                 float *odd) {
  const __m512i ie = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20,
                                       22, 24, 26, 28, 30);
  const __m512i io = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21,
                                       23, 25, 27, 29, 31);
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    __m512 a = _mm512_loadu_ps(src + i), b = _mm512_loadu_ps(src + i + 16);
    _mm512_storeu_ps(even + i / 2, _mm512_permutex2var_ps(a, ie, b));
    _mm512_storeu_ps(odd + i / 2, _mm512_permutex2var_ps(a, io, b));
  }
  if (i < n) {
    size_t r = n - i;
    __m512 a = _mm512_maskz_loadu_ps(tail_mask16(r), src + i);
    __m512 b = _mm512_maskz_loadu_ps(r > 16 ? tail_mask16(r - 16) : 0,
                                     src + i + 16);
    _mm512_mask_storeu_ps(even + i / 2, tail_mask16((r + 1) / 2),
                          _mm512_permutex2var_ps(a, ie, b));
    _mm512_mask_storeu_ps(odd + i / 2, tail_mask16(r / 2),
                          _mm512_permutex2var_ps(a, io, b));
  }
}
#endif
