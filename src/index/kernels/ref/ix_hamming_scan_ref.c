/* Reference Hamming scan of the sketch index: a portable (SWAR) popcount
 * per 64-bit word. */
#include "../kernels.h"

size_t ix_hamming_scan_ref(const uint64_t *codes, size_t nw, size_t b0,
                           size_t nblocks, const uint64_t *q, uint32_t thr,
                           uint32_t *out_row, uint32_t *out_dist) {
  size_t m = 0;
  for (size_t b = b0; b < b0 + nblocks; b++) {
    const uint64_t *blk = codes + b * nw * IX_LANES;
    for (size_t t = 0; t < IX_LANES; t++) {
      uint32_t d = 0;
      for (size_t w = 0; w < nw; w++) {
        uint64_t x = blk[w * IX_LANES + t] ^ q[w];
        /* portable popcount (SWAR) */
        x = x - ((x >> 1) & 0x5555555555555555ull);
        x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
        x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0full;
        d += (uint32_t)((x * 0x0101010101010101ull) >> 56);
      }
      if (d < thr) {
        out_row[m] = (uint32_t)(b * IX_LANES + t);
        out_dist[m++] = d;
      }
    }
  }
  return m;
}
