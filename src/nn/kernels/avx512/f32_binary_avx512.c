/* AVX-512 float32 inner loops of the broadcast binary ops (Add, Sub, Mul,
 * Div, PRelu): two vectors per iteration and a masked tail. Results are
 * bit-identical to the reference loops in ops/elementwise.c (IEEE add, sub,
 * mul and div are exact-rounded in both). */
#include "nn/ops/elementwise.h"

#if defined(__AVX512F__)
#include <immintrin.h>

static inline __m512 prelu16(__m512 x, __m512 s) {
  __mmask16 neg = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_LT_OQ);
  return _mm512_mask_mul_ps(x, neg, x, s);
}

/* Operand loaders: V reads 16 floats at p + i, S is the broadcast scalar. */
#define LD_V(p, i) _mm512_loadu_ps(p + (i))
#define LD_S(p, i) p##_s
#define MLD_V(p, m, i) _mm512_maskz_loadu_ps(m, p + (i))
#define MLD_S(p, m, i) p##_s

#define F32_LOOP(name, OP, LA, LB)                                             \
  static void name(size_t n, const void *pa, const void *pb, void *py) {       \
    if (n == 0)                                                                \
      return;                                                                  \
    const float *a = pa, *b = pb;                                              \
    float *y = py;                                                             \
    const __m512 a_s = _mm512_set1_ps(a[0]), b_s = _mm512_set1_ps(b[0]);       \
    (void)a_s;                                                                 \
    (void)b_s;                                                                 \
    size_t i = 0;                                                              \
    for (; i + 32 <= n; i += 32) {                                             \
      __m512 y0 = OP(LD_##LA(a, i), LD_##LB(b, i));                            \
      __m512 y1 = OP(LD_##LA(a, i + 16), LD_##LB(b, i + 16));                  \
      _mm512_storeu_ps(y + i, y0);                                             \
      _mm512_storeu_ps(y + i + 16, y1);                                        \
    }                                                                          \
    for (; i + 16 <= n; i += 16)                                               \
      _mm512_storeu_ps(y + i, OP(LD_##LA(a, i), LD_##LB(b, i)));               \
    if (i < n) {                                                               \
      __mmask16 m = (__mmask16)((1u << (n - i)) - 1);                          \
      _mm512_mask_storeu_ps(y + i, m,                                          \
                            OP(MLD_##LA(a, m, i), MLD_##LB(b, m, i)));         \
    }                                                                          \
  }

#define F32_OP(name, OP)                                                       \
  F32_LOOP(name##_vv, OP, V, V)                                                \
  F32_LOOP(name##_vs, OP, V, S)                                                \
  F32_LOOP(name##_sv, OP, S, V)                                                \
  static const nn_binary_kernels name = {name##_vv, name##_vs, name##_sv};

F32_OP(add16, _mm512_add_ps)
F32_OP(sub16, _mm512_sub_ps)
F32_OP(mul16, _mm512_mul_ps)
F32_OP(div16, _mm512_div_ps)
F32_OP(prelu16k, prelu16)

const nn_binary_kernels *nn_f32_binary_avx512(nn_binop op) {
  switch (op) {
  case NN_BINOP_ADD:
    return &add16;
  case NN_BINOP_SUB:
    return &sub16;
  case NN_BINOP_MUL:
    return &mul16;
  case NN_BINOP_DIV:
    return &div16;
  case NN_BINOP_PRELU:
    return &prelu16k;
  default:
    return NULL;
  }
}
#else
const nn_binary_kernels *nn_f32_binary_avx512(nn_binop op) {
  (void)op;
  return NULL;
}
#endif
