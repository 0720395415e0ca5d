/* Hamming scan with the POPCNT instruction (every AVX2 CPU has it; the
 * AVX2 compile flags do not name it, hence the target attribute), 16 codes
 * of a block counted together so that the loads stream. */
#if defined(__AVX2__)
#include <immintrin.h>

#include "../kernels.h"

__attribute__((target("popcnt"))) size_t
ix_hamming_scan_avx2(const uint64_t *codes, size_t nw, size_t b0,
                     size_t nblocks, const uint64_t *q, uint32_t thr,
                     uint32_t *out_row, uint32_t *out_dist) {
  size_t m = 0;
  uint32_t d[IX_LANES];
  for (size_t b = b0; b < b0 + nblocks; b++) {
    const uint64_t *blk = codes + b * nw * IX_LANES;
    for (size_t t = 0; t < IX_LANES; t++)
      d[t] = 0;
    for (size_t w = 0; w < nw; w++)
      for (size_t t = 0; t < IX_LANES; t++)
        d[t] += (uint32_t)_mm_popcnt_u64(blk[w * IX_LANES + t] ^ q[w]);
    for (size_t t = 0; t < IX_LANES; t++) {
      if (d[t] < thr) {
        out_row[m] = (uint32_t)(b * IX_LANES + t);
        out_dist[m++] = d[t];
      }
    }
  }
  return m;
}
#endif
