/* AVX2 int8 scoring tile (no VNNI): up to 4 queries x one block of 16
 * templates. vpmaddubsw needs one unsigned operand and saturates at 16 bits,
 * so the signed product q*t is formed as |q| * sign(t, q): |q| <= 127 and
 * |t| <= 127 keep each pair sum below 2*127*127 < 32767, exact. vpmaddwd
 * with ones then widens the pairs into the 32-bit accumulators. */
#if defined(__AVX2__)
#include <immintrin.h>
#include <string.h>

#include "../kernels.h"

#define MQ IX_MAX_Q_AVX2_S8

static inline __attribute__((always_inline)) void
tile(const ix_qpack *q, const int NQ, const uint8_t *b0, const float *tsc,
     size_t groups, float *s, size_t ld) {
  __m256i a0[MQ], a1[MQ];
  const __m256i bias = _mm256_set1_epi8((char)0x80);
  const __m256i ones = _mm256_set1_epi16(1);
#pragma GCC unroll 4
  for (int i = 0; i < NQ; i++) {
    a0[i] = _mm256_setzero_si256();
    a1[i] = _mm256_setzero_si256();
  }
  for (size_t g = 0; g < groups; g++) {
    /* stored value + 128 -> signed value */
    __m256i t0 = _mm256_xor_si256(
        _mm256_load_si256((const __m256i *)(b0 + g * 64)), bias);
    __m256i t1 = _mm256_xor_si256(
        _mm256_load_si256((const __m256i *)(b0 + g * 64 + 32)), bias);
    const int8_t *qg = q->qs + g * (size_t)NQ * 4;
#pragma GCC unroll 4
    for (int i = 0; i < NQ; i++) {
      int32_t w;
      memcpy(&w, qg + i * 4, 4);
      __m256i v = _mm256_set1_epi32(w);
      __m256i av = _mm256_abs_epi8(v);
      __m256i p0 = _mm256_maddubs_epi16(av, _mm256_sign_epi8(t0, v));
      __m256i p1 = _mm256_maddubs_epi16(av, _mm256_sign_epi8(t1, v));
      a0[i] = _mm256_add_epi32(a0[i], _mm256_madd_epi16(p0, ones));
      a1[i] = _mm256_add_epi32(a1[i], _mm256_madd_epi16(p1, ones));
    }
  }
  __m256 ts0 = _mm256_loadu_ps(tsc), ts1 = _mm256_loadu_ps(tsc + 8);
#pragma GCC unroll 4
  for (int i = 0; i < NQ; i++) {
    __m256 qsc = _mm256_set1_ps(q->qscale[i]);
    _mm256_storeu_ps(s + (size_t)i * ld,
                     _mm256_mul_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(a0[i]), ts0),
                                   qsc));
    _mm256_storeu_ps(s + (size_t)i * ld + 8,
                     _mm256_mul_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(a1[i]), ts1),
                                   qsc));
  }
}

#define RUN(N)                                                                 \
  static void run_##N(const ix_qpack *q, const uint8_t *blk,                   \
                      const float *tsc, size_t nblocks, float *s, size_t ld) { \
    size_t groups = q->dim / 4, step = groups * 4 * IX_LANES;                  \
    for (size_t b = 0; b < nblocks; b++)                                       \
      tile(q, N, blk + b * step, tsc + b * IX_LANES, groups,                   \
           s + b * IX_LANES, ld);                                              \
  }
RUN(1)
RUN(2)
RUN(3)
RUN(4)

void ix_s8_tile_avx2(const ix_qpack *q, const void *blocks,
                     const float *tscale, size_t nblocks, float *scores,
                     size_t ld) {
  static void (*const fn[MQ + 1])(const ix_qpack *, const uint8_t *,
                                  const float *, size_t, float *, size_t) = {
      NULL, run_1, run_2, run_3, run_4};
  if (q->nq >= 1 && q->nq <= MQ)
    fn[q->nq](q, blocks, tscale, nblocks, scores, ld);
}
#endif
