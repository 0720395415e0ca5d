/* AVX-512 fp16 scoring tile: as the fp32 one, with each dimension of 16
 * templates widened from half floats by vcvtph2ps on load (half the memory
 * traffic of fp32). */
#if defined(__AVX512F__)
#include <immintrin.h>

#include "../kernels.h"

#define MQ IX_MAX_Q_AVX512

static inline __attribute__((always_inline)) __m512 load_h(const uint16_t *p) {
  return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)p));
}

static inline __attribute__((always_inline)) void
tile(const float *qf, const int NQ, const int NB, const uint16_t *b0,
     size_t dim, float *s, size_t ld) {
  __m512 a0[MQ], a1[MQ];
  const uint16_t *b1 = b0 + dim * IX_LANES;
#pragma GCC unroll 12
  for (int i = 0; i < NQ; i++) {
    a0[i] = _mm512_setzero_ps();
    a1[i] = _mm512_setzero_ps();
  }
  for (size_t j = 0; j < dim; j++) {
    __m512 t0 = load_h(b0 + j * IX_LANES);
    __m512 t1 = NB > 1 ? load_h(b1 + j * IX_LANES) : t0;
    const float *qj = qf + j * (size_t)NQ;
#pragma GCC unroll 12
    for (int i = 0; i < NQ; i++) {
      __m512 v = _mm512_set1_ps(qj[i]);
      a0[i] = _mm512_fmadd_ps(t0, v, a0[i]);
      if (NB > 1)
        a1[i] = _mm512_fmadd_ps(t1, v, a1[i]);
    }
  }
#pragma GCC unroll 12
  for (int i = 0; i < NQ; i++) {
    _mm512_storeu_ps(s + (size_t)i * ld, a0[i]);
    if (NB > 1)
      _mm512_storeu_ps(s + (size_t)i * ld + IX_LANES, a1[i]);
  }
}

#define RUN(N)                                                                 \
  static void run_##N(const ix_qpack *q, const uint16_t *blk, size_t nblocks,  \
                      float *s, size_t ld) {                                   \
    size_t step = q->dim * IX_LANES, b = 0;                                    \
    for (; b + 2 <= nblocks; b += 2)                                           \
      tile(q->qf, N, 2, blk + b * step, q->dim, s + b * IX_LANES, ld);         \
    if (b < nblocks)                                                           \
      tile(q->qf, N, 1, blk + b * step, q->dim, s + b * IX_LANES, ld);         \
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

void ix_f16_tile_avx512(const ix_qpack *q, const void *blocks,
                        const float *tscale, size_t nblocks, float *scores,
                        size_t ld) {
  (void)tscale;
  static void (*const fn[MQ + 1])(const ix_qpack *, const uint16_t *, size_t,
                                  float *, size_t) = {
      NULL,   run_1,  run_2,  run_3, run_4,  run_5, run_6,
      run_7,  run_8,  run_9,  run_10, run_11, run_12};
  if (q->nq >= 1 && q->nq <= MQ)
    fn[q->nq](q, blocks, nblocks, scores, ld);
}
#endif
