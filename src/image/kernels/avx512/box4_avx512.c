/* 4x4 box mean of packed RGB8 rows, AVX-512BW: each 128-bit lane takes the
 * 12 bytes of one output pixel's 4 source pixels, a byte shuffle groups
 * them by channel, vpmaddubsw/vpmaddwd sum them; integer sums, so the
 * result is the reference's bit for bit. */
#include <immintrin.h>

#include "image/kernels/kernels.h"

static inline __m512i lanes4(const uint8_t *p) {
  __m512i v = _mm512_castsi128_si512(_mm_loadu_si128((const __m128i *)p));
  v = _mm512_inserti32x4(v, _mm_loadu_si128((const __m128i *)(p + 12)), 1);
  v = _mm512_inserti32x4(v, _mm_loadu_si128((const __m128i *)(p + 24)), 2);
  return _mm512_inserti32x4(v, _mm_loadu_si128((const __m128i *)(p + 36)), 3);
}

void img_box4_rgb_avx512(const uint8_t *const *rows, int npx, float *out) {
  /* R0 R1 R2 R3 G0 G1 G2 G3 B0 B1 B2 B3 0 0 0 0 within each lane */
  const __m512i shuf = _mm512_broadcast_i32x4(_mm_setr_epi8(
      0, 3, 6, 9, 1, 4, 7, 10, 2, 5, 8, 11, -128, -128, -128, -128));
  const __m512i ones8 = _mm512_set1_epi8(1), ones16 = _mm512_set1_epi16(1);
  const __m512 sixteenth = _mm512_set1_ps(0.0625f);
  int x = 0;
  /* the last lane reads 4 bytes past its pixel: stop while that is inside */
  for (; x + 4 < npx; x += 4) {
    size_t o = 12 * (size_t)x;
    __m512i acc = _mm512_maddubs_epi16(
        _mm512_shuffle_epi8(lanes4(rows[0] + o), shuf), ones8);
    for (int r = 1; r < 4; r++)
      acc = _mm512_add_epi16(
          acc, _mm512_maddubs_epi16(
                   _mm512_shuffle_epi8(lanes4(rows[r] + o), shuf), ones8));
    __m512 v = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_madd_epi16(acc, ones16)),
                             sixteenth);
    _mm512_mask_storeu_ps(out + 3 * (size_t)x, 0x0fff,
                          _mm512_maskz_compress_ps(0x7777, v));
  }
  if (x < npx) {
    const uint8_t *r4[4] = {rows[0] + 12 * (size_t)x, rows[1] + 12 * (size_t)x,
                            rows[2] + 12 * (size_t)x, rows[3] + 12 * (size_t)x};
    img_box4_rgb_ref(r4, npx - x, out + 3 * (size_t)x);
  }
}
