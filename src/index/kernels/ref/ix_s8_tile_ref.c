/* Reference int8 scoring tile: exact integer dot products, then the scales.
 * Templates are stored as value + 128 (see kernels.h). */
#include "../kernels.h"

void ix_s8_tile_ref(const ix_qpack *q, const void *blocks,
                    const float *tscale, size_t nblocks, float *scores,
                    size_t ld) {
  const uint8_t *blk = blocks;
  size_t groups = q->dim / 4;
  int nq = q->nq;
  for (size_t b = 0; b < nblocks; b++, blk += groups * 4 * IX_LANES) {
    for (int qi = 0; qi < nq; qi++) {
      for (int t = 0; t < IX_LANES; t++) {
        int32_t acc = 0;
        for (size_t g = 0; g < groups; g++) {
          const int8_t *qv = q->qs + (g * (size_t)nq + (size_t)qi) * 4;
          const uint8_t *tv = blk + g * 4 * IX_LANES + (size_t)t * 4;
          for (int i = 0; i < 4; i++)
            acc += (int32_t)qv[i] * ((int32_t)tv[i] - 128);
        }
        size_t ti = b * IX_LANES + (size_t)t;
        scores[(size_t)qi * ld + ti] =
            (float)acc * tscale[ti] * q->qscale[qi];
      }
    }
  }
}
