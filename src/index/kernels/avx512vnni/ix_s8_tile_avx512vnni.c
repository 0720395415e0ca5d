/* AVX-512 VNNI int8 scoring tile: up to 12 queries x 32 templates; per group
 * of four dimensions one vpdpbusd per query and block multiplies the
 * templates' unsigned bytes (value + 128) with the query's four signed bytes
 * broadcast, 64 multiply-adds per instruction. The +128 offset is removed at
 * the end with the query's sum: dot = acc - 128 * qsum. */
#if defined(__AVX512VNNI__)
#include <immintrin.h>
#include <string.h>

#include "../kernels.h"

#define MQ IX_MAX_Q_AVX512

static inline __attribute__((always_inline)) void
tile(const ix_qpack *q, const int NQ, const int NB, const uint8_t *b0,
     const float *tsc, size_t groups, float *s, size_t ld) {
  __m512i a0[MQ], a1[MQ];
  const uint8_t *b1 = b0 + groups * 4 * IX_LANES;
  const int8_t *qs = q->qs;
#pragma GCC unroll 12
  for (int i = 0; i < NQ; i++) {
    a0[i] = _mm512_setzero_si512();
    a1[i] = _mm512_setzero_si512();
  }
  for (size_t g = 0; g < groups; g++) {
    __m512i t0 = _mm512_load_si512((const void *)(b0 + g * 64));
    __m512i t1 = NB > 1 ? _mm512_load_si512((const void *)(b1 + g * 64)) : t0;
    const int8_t *qg = qs + g * (size_t)NQ * 4;
#pragma GCC unroll 12
    for (int i = 0; i < NQ; i++) {
      int32_t w;
      memcpy(&w, qg + i * 4, 4);
      __m512i v = _mm512_set1_epi32(w);
      a0[i] = _mm512_dpbusd_epi32(a0[i], t0, v);
      if (NB > 1)
        a1[i] = _mm512_dpbusd_epi32(a1[i], t1, v);
    }
  }
  __m512 ts0 = _mm512_loadu_ps(tsc);
  __m512 ts1 = NB > 1 ? _mm512_loadu_ps(tsc + IX_LANES) : ts0;
#pragma GCC unroll 12
  for (int i = 0; i < NQ; i++) {
    __m512i off = _mm512_set1_epi32(128 * q->qsum[i]);
    __m512 qsc = _mm512_set1_ps(q->qscale[i]);
    __m512 f0 = _mm512_cvtepi32_ps(_mm512_sub_epi32(a0[i], off));
    _mm512_storeu_ps(s + (size_t)i * ld,
                     _mm512_mul_ps(_mm512_mul_ps(f0, ts0), qsc));
    if (NB > 1) {
      __m512 f1 = _mm512_cvtepi32_ps(_mm512_sub_epi32(a1[i], off));
      _mm512_storeu_ps(s + (size_t)i * ld + IX_LANES,
                       _mm512_mul_ps(_mm512_mul_ps(f1, ts1), qsc));
    }
  }
}

#define RUN(N)                                                                 \
  static void run_##N(const ix_qpack *q, const uint8_t *blk,                   \
                      const float *tsc, size_t nblocks, float *s, size_t ld) { \
    size_t groups = q->dim / 4, step = groups * 4 * IX_LANES, b = 0;           \
    for (; b + 2 <= nblocks; b += 2)                                           \
      tile(q, N, 2, blk + b * step, tsc + b * IX_LANES, groups,                \
           s + b * IX_LANES, ld);                                              \
    if (b < nblocks)                                                           \
      tile(q, N, 1, blk + b * step, tsc + b * IX_LANES, groups,                \
           s + b * IX_LANES, ld);                                              \
  }
RUN(1)
RUN(2)
RUN(3)
RUN(4)
RUN(5)
RUN(6)
RUN(7)
RUN(8)
RUN(9)
RUN(10)
RUN(11)
RUN(12)

void ix_s8_tile_avx512vnni(const ix_qpack *q, const void *blocks,
                           const float *tscale, size_t nblocks, float *scores,
                           size_t ld) {
  static void (*const fn[MQ + 1])(const ix_qpack *, const uint8_t *,
                                  const float *, size_t, float *, size_t) = {
      NULL,   run_1,  run_2,  run_3, run_4,  run_5, run_6,
      run_7,  run_8,  run_9,  run_10, run_11, run_12};
  if (q->nq >= 1 && q->nq <= MQ)
    fn[q->nq](q, blocks, tscale, nblocks, scores, ld);
}
#endif
