/* AVX-512 2x2 stride-2 max pooling of one output row: 16 outputs per step
 * from two 32-float loads per input row, split into even and odd columns
 * by two-source permutes. max_ps(v, b) is `v > b ? v : b`, the reference's
 * comparison, NaN included. Masked loads and stores for the tail. */
#if defined(__AVX512F__)
#include "post_avx512.h"

NN_INLINE __m512 pool16(const float *r0, const float *r1, __mmask16 ma,
                        __mmask16 mb, __m512i ie, __m512i io) {
  __m512 a0 = _mm512_maskz_loadu_ps(ma, r0),
         a1 = _mm512_maskz_loadu_ps(mb, r0 + 16);
  __m512 c0 = _mm512_maskz_loadu_ps(ma, r1),
         c1 = _mm512_maskz_loadu_ps(mb, r1 + 16);
  __m512 b = _mm512_permutex2var_ps(a0, ie, a1);
  b = _mm512_max_ps(_mm512_permutex2var_ps(a0, io, a1), b);
  b = _mm512_max_ps(_mm512_permutex2var_ps(c0, ie, c1), b);
  return _mm512_max_ps(_mm512_permutex2var_ps(c0, io, c1), b);
}

void nn_f32_maxpool2x2_avx512(const float *r0, const float *r1, float *y,
                              size_t n) {
  const __m512i ie = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20,
                                       22, 24, 26, 28, 30);
  const __m512i io = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21,
                                       23, 25, 27, 29, 31);
  size_t j = 0;
  for (; j + 16 <= n; j += 16)
    _mm512_storeu_ps(y + j, pool16(r0 + 2 * j, r1 + 2 * j, 0xffff, 0xffff,
                                   ie, io));
  if (j < n) {
    size_t r = 2 * (n - j); /* input floats left per row, < 32 */
    __mmask16 ma = tail_mask16(r), mb = r > 16 ? tail_mask16(r - 16) : 0;
    _mm512_mask_storeu_ps(y + j, tail_mask16(n - j),
                          pool16(r0 + 2 * j, r1 + 2 * j, ma, mb, ie, io));
  }
}
#endif
