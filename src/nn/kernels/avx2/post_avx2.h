/* Fused epilogue (nn_post) and mask helpers for AVX2 kernels; included by
 * the avx2 kernels, which are compiled with AVX2 and FMA enabled. */
#ifndef ARGUS_NN_KERNELS_POST_AVX2_H
#define ARGUS_NN_KERNELS_POST_AVX2_H

#include <immintrin.h>

#include "nn/kernels/kernels.h"

#define NN_INLINE static inline __attribute__((always_inline))

typedef struct post256 {
  __m256 bias, slope, lo, hi;
  int act, res_first;
} post256;

NN_INLINE post256 post256_row(const nn_post *p, size_t i) {
  post256 r;
  r.bias = p->bias ? _mm256_set1_ps(p->bias[i]) : _mm256_setzero_ps();
  r.slope = p->act == NN_ACT_PRELU ? _mm256_set1_ps(p->slope[i * p->slope_stride])
                                   : _mm256_setzero_ps();
  r.lo = _mm256_set1_ps(p->lo);
  r.hi = _mm256_set1_ps(p->hi);
  r.act = p->act;
  r.res_first = p->res_first;
  return r;
}

/* Lanes i with 0 <= start + i < len, as a vmaskmov mask. */
NN_INLINE __m256i range_mask8(ptrdiff_t start, ptrdiff_t len) {
  if (start >= len || start + 8 <= 0)
    return _mm256_setzero_si256();
  if (start < -8)
    start = -8;
  if (len - start > 16)
    len = start + 16;
  __m256i idx = _mm256_add_epi32(_mm256_set1_epi32((int)start),
                                 _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  return _mm256_and_si256(_mm256_cmpgt_epi32(idx, _mm256_set1_epi32(-1)),
                          _mm256_cmpgt_epi32(_mm256_set1_epi32((int)len), idx));
}

/* The first n lanes. */
NN_INLINE __m256i tail_mask8(size_t n) {
  return range_mask8(0, (ptrdiff_t)(n > 8 ? 8 : n));
}

/* Applies the epilogue to y and stores it at c (only the lanes of m when
 * `masked`); res is the residual at the same position or NULL. `act` is
 * r->act, separate so that callers dispatching on it once make it a
 * compile-time constant. */
NN_INLINE void post256_store_act(const post256 *r, int act, __m256 y,
                                 float *c, const float *res, __m256i m,
                                 int masked) {
  __m256 rv = _mm256_setzero_ps();
  y = _mm256_add_ps(y, r->bias);
  if (res)
    rv = masked ? _mm256_maskload_ps(res, m) : _mm256_loadu_ps(res);
  if (res && r->res_first)
    y = _mm256_add_ps(y, rv);
  switch (act) {
  case NN_ACT_RELU:
    y = _mm256_max_ps(y, _mm256_setzero_ps());
    break;
  case NN_ACT_PRELU: {
    __m256 neg = _mm256_cmp_ps(y, _mm256_setzero_ps(), _CMP_LT_OQ);
    y = _mm256_blendv_ps(y, _mm256_mul_ps(y, r->slope), neg);
    break;
  }
  case NN_ACT_CLIP:
    y = _mm256_min_ps(_mm256_max_ps(y, r->lo), r->hi);
    break;
  case NN_ACT_SIGMOID: {
    float t[8], rr[8];
    _mm256_storeu_ps(t, y);
    _mm256_storeu_ps(rr, rv);
    for (int i = 0; i < 8; i++)
      t[i] = nn_sigmoidf_(t[i]) + (res && !r->res_first ? rr[i] : 0.0f);
    y = _mm256_loadu_ps(t);
    if (masked)
      _mm256_maskstore_ps(c, m, y);
    else
      _mm256_storeu_ps(c, y);
    return;
  }
  default:
    break;
  }
  if (res && !r->res_first)
    y = _mm256_add_ps(y, rv);
  if (masked)
    _mm256_maskstore_ps(c, m, y);
  else
    _mm256_storeu_ps(c, y);
}

NN_INLINE void post256_store(const post256 *r, __m256 y, float *c,
                             const float *res, __m256i m, int masked) {
  post256_store_act(r, r->act, y, c, res, m, masked);
}

#endif
