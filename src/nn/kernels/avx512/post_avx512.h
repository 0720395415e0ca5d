/* Fused epilogue (nn_post) for AVX-512 kernels; included only by the kernels in avx512/,
 * which are compiled with AVX-512 enabled. */
#ifndef ARGUS_NN_KERNELS_POST_AVX512_H
#define ARGUS_NN_KERNELS_POST_AVX512_H

#include <immintrin.h>

#include "nn/kernels/kernels.h"

#define NN_INLINE static inline __attribute__((always_inline))

/* The epilogue constants of one output row (channel). */
typedef struct post512 {
  __m512 bias, slope, lo, hi;
  int act, res_first;
} post512;

NN_INLINE post512 post512_row(const nn_post *p, size_t i) {
  post512 r;
  r.bias = p->bias ? _mm512_set1_ps(p->bias[i]) : _mm512_setzero_ps();
  r.slope = p->act == NN_ACT_PRELU ? _mm512_set1_ps(p->slope[i * p->slope_stride])
                                   : _mm512_setzero_ps();
  r.lo = _mm512_set1_ps(p->lo);
  r.hi = _mm512_set1_ps(p->hi);
  r.act = p->act;
  r.res_first = p->res_first;
  return r;
}

/* Lanes i of a 16-float load at position `start` of a row of `len` floats
 * that fall inside the row: 0 <= start + i < len. */
NN_INLINE __mmask16 range_mask16(ptrdiff_t start, ptrdiff_t len) {
  ptrdiff_t lo = start < 0 ? -start : 0;
  ptrdiff_t hi = len - start;
  if (hi <= 0 || lo >= 16)
    return 0;
  uint32_t m = hi >= 16 ? 0xffffu : ((1u << hi) - 1u);
  return (__mmask16)(m & ~((1u << lo) - 1u));
}

NN_INLINE __mmask16 tail_mask16(size_t n) {
  return n >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << n) - 1u);
}

/* Applies the epilogue to y and stores it at c (masked by `m` when
 * `masked`); res is the residual at the same position or NULL. `act` is
 * r->act, passed separately so that callers which dispatch on it once can
 * make it a compile-time constant. */
NN_INLINE void post512_apply(const post512 *r, int act, __m512 y, float *c,
                             const float *res, __mmask16 m, int masked,
                             const int add_bias) {
  __m512 rv = _mm512_setzero_ps();
  if (add_bias)
    y = _mm512_add_ps(y, r->bias);
  if (res)
    rv = masked ? _mm512_maskz_loadu_ps(m, res) : _mm512_loadu_ps(res);
  if (res && r->res_first)
    y = _mm512_add_ps(y, rv);
  switch (act) {
  case NN_ACT_RELU:
    y = _mm512_max_ps(y, _mm512_setzero_ps());
    break;
  case NN_ACT_PRELU: {
    __mmask16 neg = _mm512_cmp_ps_mask(y, _mm512_setzero_ps(), _CMP_LT_OQ);
    y = _mm512_mask_mul_ps(y, neg, y, r->slope);
    break;
  }
  case NN_ACT_CLIP:
    y = _mm512_min_ps(_mm512_max_ps(y, r->lo), r->hi);
    break;
  case NN_ACT_SIGMOID: {
    /* Rare in the models: exact scalar sigmoid on the stored lanes. */
    float t[16], rr[16];
    _mm512_storeu_ps(t, y);
    _mm512_storeu_ps(rr, rv);
    for (int i = 0; i < 16; i++)
      t[i] = nn_sigmoidf_(t[i]) + (res && !r->res_first ? rr[i] : 0.0f);
    y = _mm512_loadu_ps(t);
    if (masked)
      _mm512_mask_storeu_ps(c, m, y);
    else
      _mm512_storeu_ps(c, y);
    return;
  }
  default:
    break;
  }
  if (res && !r->res_first)
    y = _mm512_add_ps(y, rv);
  if (masked)
    _mm512_mask_storeu_ps(c, m, y);
  else
    _mm512_storeu_ps(c, y);
}

NN_INLINE void post512_store_act(const post512 *r, int act, __m512 y,
                                 float *c, const float *res, __mmask16 m,
                                 int masked) {
  post512_apply(r, act, y, c, res, m, masked, 1);
}

/* The epilogue's value without storing it (no residual; the bias added):
 * for kernels that convert their output before the store. */
NN_INLINE __m512 post512_value(const post512 *r, int act, __m512 y) {
  y = _mm512_add_ps(y, r->bias);
  switch (act) {
  case NN_ACT_RELU:
    return _mm512_max_ps(y, _mm512_setzero_ps());
  case NN_ACT_PRELU: {
    __mmask16 neg = _mm512_cmp_ps_mask(y, _mm512_setzero_ps(), _CMP_LT_OQ);
    return _mm512_mask_mul_ps(y, neg, y, r->slope);
  }
  case NN_ACT_CLIP:
    return _mm512_min_ps(_mm512_max_ps(y, r->lo), r->hi);
  case NN_ACT_SIGMOID: {
    float t[16];
    _mm512_storeu_ps(t, y);
    for (int i = 0; i < 16; i++)
      t[i] = nn_sigmoidf_(t[i]);
    return _mm512_loadu_ps(t);
  }
  default:
    return y;
  }
}

/* The same for a y that already holds the bias (a kernel that started its
 * sum from it). */
NN_INLINE void post512_finish(const post512 *r, int act, __m512 y, float *c,
                              const float *res, __mmask16 m, int masked) {
  post512_apply(r, act, y, c, res, m, masked, 0);
}

NN_INLINE void post512_store(const post512 *r, __m512 y, float *c,
                             const float *res, __mmask16 m, int masked) {
  post512_store_act(r, r->act, y, c, res, m, masked);
}

/* The 8 x 3 accumulators of the GEMMs' 8-row x 48-column blocks (bf16,
 * int8): c<row><vector>, declared with initial value z, and copied into
 * t[8][3] for an out-of-line epilogue. */
#define NN_ACC8X3_DECL(type, z)                                                \
  type c00 = z, c01 = z, c02 = z, c10 = z, c11 = z, c12 = z;                   \
  type c20 = z, c21 = z, c22 = z, c30 = z, c31 = z, c32 = z;                   \
  type c40 = z, c41 = z, c42 = z, c50 = z, c51 = z, c52 = z;                   \
  type c60 = z, c61 = z, c62 = z, c70 = z, c71 = z, c72 = z
#define NN_ACC8X3_SAVE_ROW(t, r)                                               \
  (t[r][0] = c##r##0, t[r][1] = c##r##1, t[r][2] = c##r##2)
#define NN_ACC8X3_SAVE(t)                                                      \
  do {                                                                         \
    NN_ACC8X3_SAVE_ROW(t, 0), NN_ACC8X3_SAVE_ROW(t, 1);                        \
    NN_ACC8X3_SAVE_ROW(t, 2), NN_ACC8X3_SAVE_ROW(t, 3);                        \
    NN_ACC8X3_SAVE_ROW(t, 4), NN_ACC8X3_SAVE_ROW(t, 5);                        \
    NN_ACC8X3_SAVE_ROW(t, 6), NN_ACC8X3_SAVE_ROW(t, 7);                        \
  } while (0)

#endif
