/* Hamming scan with AVX-512 VPOPCNTQ: a block's 16 codes in two zmm per
 * word, XOR with the broadcast query word and a vector popcount, then one
 * compare against the threshold for the block. Needs VPOPCNTDQ besides the
 * AVX-512 of the compile flags (the target attribute); only the
 * avx512icl table, chosen when the CPU has it, points here. */
#if defined(__AVX512F__)
#include <immintrin.h>

#include "../kernels.h"

__attribute__((target("avx512vpopcntdq"))) size_t
ix_hamming_scan_avx512(const uint64_t *codes, size_t nw, size_t b0,
                       size_t nblocks, const uint64_t *q, uint32_t thr,
                       uint32_t *out_row, uint32_t *out_dist) {
  size_t m = 0;
  __m512i tv = _mm512_set1_epi64((long long)thr);
  for (size_t b = b0; b < b0 + nblocks; b++) {
    const uint64_t *blk = codes + b * nw * IX_LANES;
    __m512i a0 = _mm512_setzero_si512(), a1 = _mm512_setzero_si512();
    for (size_t w = 0; w < nw; w++) {
      __m512i qw = _mm512_set1_epi64((long long)q[w]);
      __m512i x0 = _mm512_load_si512(blk + w * IX_LANES);
      __m512i x1 = _mm512_load_si512(blk + w * IX_LANES + 8);
      a0 = _mm512_add_epi64(a0, _mm512_popcnt_epi64(_mm512_xor_si512(x0, qw)));
      a1 = _mm512_add_epi64(a1, _mm512_popcnt_epi64(_mm512_xor_si512(x1, qw)));
    }
    unsigned mask = (unsigned)_mm512_cmplt_epu64_mask(a0, tv) |
                    ((unsigned)_mm512_cmplt_epu64_mask(a1, tv) << 8);
    if (!mask)
      continue;
    uint64_t d[IX_LANES];
    _mm512_storeu_si512(d, a0);
    _mm512_storeu_si512(d + 8, a1);
    while (mask) {
      unsigned t = (unsigned)__builtin_ctz(mask);
      mask &= mask - 1;
      out_row[m] = (uint32_t)(b * IX_LANES + t);
      out_dist[m++] = (uint32_t)d[t];
    }
  }
  return m;
}
#endif
