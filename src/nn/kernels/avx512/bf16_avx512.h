/* Helpers of the AVX512_BF16 kernels (files built with -mavx512bf16). */
#ifndef ARGUS_NN_BF16_AVX512_H
#define ARGUS_NN_BF16_AVX512_H

#include "post_avx512.h"

/* Sixteen columns of two rows as bf16 pairs (round to nearest even):
 * lane j holds bf16(lo[j]) in its low half and bf16(hi[j]) in its high
 * half, the layout vdpbf16ps multiplies. */
NN_INLINE __m512i bf16_pairs16(__m512 lo, __m512 hi) {
  /* 16-bit element 2i <- i (lo), 2i+1 <- 16 + i (hi) */
  const __m512i idx = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11,
                                       26, 10, 25, 9, 24, 8, 23, 7, 22, 6, 21,
                                       5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
  return _mm512_permutexvar_epi16(idx, (__m512i)_mm512_cvtne2ps_pbh(hi, lo));
}

#endif
