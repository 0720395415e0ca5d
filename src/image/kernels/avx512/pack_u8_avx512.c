/* Float -> byte packing, AVX-512, masked tails; same results as the
 * reference. */
#include <immintrin.h>

#include "image/kernels/kernels.h"

void img_pack_u8_avx512(const float *in, uint8_t *out, size_t n) {
  const __m512i zero = _mm512_setzero_si512();
  for (size_t i = 0; i < n; i += 16) {
    size_t left = n - i;
    __mmask16 m =
        left >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << left) - 1);
    /* cvtps gives INT_MIN for NaN/overflow: clamp below at 0, then the
     * unsigned saturating narrowing clamps at 255. */
    __m512i x = _mm512_max_epi32(
        _mm512_cvtps_epi32(_mm512_maskz_loadu_ps(m, in + i)), zero);
    _mm_mask_storeu_epi8(out + i, m, _mm512_cvtusepi32_epi8(x));
  }
}
