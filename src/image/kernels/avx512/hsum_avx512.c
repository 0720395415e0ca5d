/* Horizontal pass of the resampler with gathers, AVX-512; same operation
 * order as the reference (bit-exact). */
#include <immintrin.h>

#include "image/kernels/kernels.h"

void img_hsum_avx512(const float *v, const int32_t *idx, const float *w, int k,
                     int step, size_t n, float *out) {
  const __m512i vstep = _mm512_set1_epi32(step);
  for (size_t e = 0; e < n; e += 16) {
    size_t left = n - e;
    __mmask16 m =
        left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1);
    __m512i ix = _mm512_maskz_loadu_epi32(m, idx + e);
    __m512 acc = _mm512_setzero_ps();
    for (int j = 0; j < k; j++, ix = _mm512_add_epi32(ix, vstep)) {
      __m512 x = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m, ix, v, 4);
      acc = _mm512_add_ps(
          acc,
          _mm512_mul_ps(_mm512_maskz_loadu_ps(m, w + (size_t)j * n + e), x));
    }
    _mm512_mask_storeu_ps(out + e, m, acc);
  }
}
