/* 4x4 box mean of packed RGB8 rows, AVX2: two output pixels per step, one
 * per 128-bit lane (see box4_avx512.c); integer sums, bit-exact. */
#include <immintrin.h>

#include "image/kernels/kernels.h"

void img_box4_rgb_avx2(const uint8_t *const *rows, int npx, float *out) {
  /* R0 R1 R2 R3 G0 G1 G2 G3 B0 B1 B2 B3 0 0 0 0 within each lane */
  const __m256i shuf = _mm256_broadcastsi128_si256(_mm_setr_epi8(
      0, 3, 6, 9, 1, 4, 7, 10, 2, 5, 8, 11, -128, -128, -128, -128));
  const __m256i ones8 = _mm256_set1_epi8(1), ones16 = _mm256_set1_epi16(1);
  /* lanes [R G B 0 | R G B 0] -> R G B R G B */
  const __m256i pack = _mm256_setr_epi32(0, 1, 2, 4, 5, 6, 3, 7);
  const __m256 sixteenth = _mm256_set1_ps(0.0625f);
  int x = 0;
  /* the second lane reads 4 bytes past its pixel: stop while inside */
  for (; x + 2 < npx; x += 2) {
    size_t o = 12 * (size_t)x;
    __m256i acc = _mm256_setzero_si256();
    for (int r = 0; r < 4; r++) {
      const uint8_t *p = rows[r] + o;
      __m256i v =
          _mm256_loadu2_m128i((const __m128i *)(p + 12), (const __m128i *)p);
      acc = _mm256_add_epi16(
          acc, _mm256_maddubs_epi16(_mm256_shuffle_epi8(v, shuf), ones8));
    }
    __m256 f = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_madd_epi16(acc, ones16)),
                             sixteenth);
    f = _mm256_permutevar8x32_ps(f, pack);
    _mm_storeu_ps(out + 3 * (size_t)x, _mm256_castps256_ps128(f));
    _mm_storel_pi((__m64 *)(out + 3 * (size_t)x + 4),
                  _mm256_extractf128_ps(f, 1));
  }
  if (x < npx) {
    const uint8_t *r4[4] = {rows[0] + 12 * (size_t)x, rows[1] + 12 * (size_t)x,
                            rows[2] + 12 * (size_t)x, rows[3] + 12 * (size_t)x};
    img_box4_rgb_ref(r4, npx - x, out + 3 * (size_t)x);
  }
}
