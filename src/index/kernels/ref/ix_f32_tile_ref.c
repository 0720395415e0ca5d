/* Reference fp32 scoring tile: plain loops, one accumulator per score. */
#include "../kernels.h"

void ix_f32_tile_ref(const ix_qpack *q, const void *blocks,
                     const float *tscale, size_t nblocks, float *scores,
                     size_t ld) {
  (void)tscale;
  const float *blk = blocks;
  size_t dim = q->dim;
  int nq = q->nq;
  for (size_t b = 0; b < nblocks; b++, blk += dim * IX_LANES) {
    for (int qi = 0; qi < nq; qi++) {
      float acc[IX_LANES] = {0};
      for (size_t j = 0; j < dim; j++) {
        float v = q->qf[j * (size_t)nq + (size_t)qi];
        for (int t = 0; t < IX_LANES; t++)
          acc[t] += v * blk[j * IX_LANES + (size_t)t];
      }
      for (int t = 0; t < IX_LANES; t++)
        scores[(size_t)qi * ld + b * IX_LANES + (size_t)t] = acc[t];
    }
  }
}
