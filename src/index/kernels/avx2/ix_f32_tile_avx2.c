/* AVX2 fp32 scoring tile: up to 6 queries x one block of 16 templates (two
 * ymm per query) in 12 accumulators; one broadcast FMA pair per query and
 * dimension. */
#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>

#include "../kernels.h"

#define MQ IX_MAX_Q_AVX2

static inline __attribute__((always_inline)) void
tile(const float *qf, const int NQ, const float *b0, size_t dim, float *s,
     size_t ld) {
  __m256 a0[MQ], a1[MQ];
#pragma GCC unroll 6
  for (int i = 0; i < NQ; i++) {
    a0[i] = _mm256_setzero_ps();
    a1[i] = _mm256_setzero_ps();
  }
  for (size_t j = 0; j < dim; j++) {
    __m256 t0 = _mm256_load_ps(b0 + j * IX_LANES);
    __m256 t1 = _mm256_load_ps(b0 + j * IX_LANES + 8);
    const float *qj = qf + j * (size_t)NQ;
#pragma GCC unroll 6
    for (int i = 0; i < NQ; i++) {
      __m256 v = _mm256_broadcast_ss(qj + i);
      a0[i] = _mm256_fmadd_ps(t0, v, a0[i]);
      a1[i] = _mm256_fmadd_ps(t1, v, a1[i]);
    }
  }
#pragma GCC unroll 6
  for (int i = 0; i < NQ; i++) {
    _mm256_storeu_ps(s + (size_t)i * ld, a0[i]);
    _mm256_storeu_ps(s + (size_t)i * ld + 8, a1[i]);
  }
}

#define RUN(N)                                                                 \
  static void run_##N(const ix_qpack *q, const float *blk, size_t nblocks,     \
                      float *s, size_t ld) {                                   \
    size_t step = q->dim * IX_LANES;                                           \
    for (size_t b = 0; b < nblocks; b++)                                       \
      tile(q->qf, N, blk + b * step, q->dim, s + b * IX_LANES, ld);            \
  }
RUN(1)
RUN(2)
RUN(3)
RUN(4)
RUN(5)
RUN(6)

void ix_f32_tile_avx2(const ix_qpack *q, const void *blocks,
                      const float *tscale, size_t nblocks, float *scores,
                      size_t ld) {
  (void)tscale;
  static void (*const fn[MQ + 1])(const ix_qpack *, const float *, size_t,
                                  float *, size_t) = {
      NULL, run_1, run_2, run_3, run_4, run_5, run_6};
  if (q->nq >= 1 && q->nq <= MQ)
    fn[q->nq](q, blocks, nblocks, scores, ld);
}
#endif
