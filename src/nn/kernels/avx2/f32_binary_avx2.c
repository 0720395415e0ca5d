/* AVX2 float32 inner loops of the broadcast binary ops (Add, Sub, Mul, Div,
 * PRelu): two vectors per iteration and a scalar tail. Results are
 * bit-identical to the reference loops in ops/elementwise.c. */
#include "nn/ops/elementwise.h"

#if defined(__AVX2__)
#include <immintrin.h>

static inline __m256 prelu8(__m256 x, __m256 s) {
  __m256 neg = _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_LT_OQ);
  return _mm256_blendv_ps(x, _mm256_mul_ps(x, s), neg);
}

#define S_ADD(x, z) ((x) + (z))
#define S_SUB(x, z) ((x) - (z))
#define S_MUL(x, z) ((x) * (z))
#define S_DIV(x, z) ((x) / (z))
#define S_PRELU(x, z) ((x) < 0 ? (x) * (z) : (x))

/* Operand loaders: V reads at p + i, S is the broadcast scalar. */
#define LD_V(p, i) _mm256_loadu_ps(p + (i))
#define LD_S(p, i) p##_s
#define SC_V(p, i) p[i]
#define SC_S(p, i) p[0]

#define F32_LOOP(name, OP, SOP, LA, LB)                                        \
  static void name(size_t n, const void *pa, const void *pb, void *py) {       \
    if (n == 0)                                                                \
      return;                                                                  \
    const float *a = pa, *b = pb;                                              \
    float *y = py;                                                             \
    const __m256 a_s = _mm256_set1_ps(a[0]), b_s = _mm256_set1_ps(b[0]);       \
    (void)a_s;                                                                 \
    (void)b_s;                                                                 \
    size_t i = 0;                                                              \
    for (; i + 16 <= n; i += 16) {                                             \
      __m256 y0 = OP(LD_##LA(a, i), LD_##LB(b, i));                            \
      __m256 y1 = OP(LD_##LA(a, i + 8), LD_##LB(b, i + 8));                    \
      _mm256_storeu_ps(y + i, y0);                                             \
      _mm256_storeu_ps(y + i + 8, y1);                                         \
    }                                                                          \
    for (; i + 8 <= n; i += 8)                                                 \
      _mm256_storeu_ps(y + i, OP(LD_##LA(a, i), LD_##LB(b, i)));               \
    for (; i < n; i++) {                                                       \
      float x = SC_##LA(a, i), z = SC_##LB(b, i);                              \
      y[i] = SOP(x, z);                                                        \
    }                                                                          \
  }

#define F32_OP(name, OP, SOP)                                                  \
  F32_LOOP(name##_vv, OP, SOP, V, V)                                           \
  F32_LOOP(name##_vs, OP, SOP, V, S)                                           \
  F32_LOOP(name##_sv, OP, SOP, S, V)                                           \
  static const nn_binary_kernels name = {name##_vv, name##_vs, name##_sv};

F32_OP(add8, _mm256_add_ps, S_ADD)
F32_OP(sub8, _mm256_sub_ps, S_SUB)
F32_OP(mul8, _mm256_mul_ps, S_MUL)
F32_OP(div8, _mm256_div_ps, S_DIV)
F32_OP(prelu8k, prelu8, S_PRELU)

const nn_binary_kernels *nn_f32_binary_avx2(nn_binop op) {
  switch (op) {
  case NN_BINOP_ADD:
    return &add8;
  case NN_BINOP_SUB:
    return &sub8;
  case NN_BINOP_MUL:
    return &mul8;
  case NN_BINOP_DIV:
    return &div8;
  case NN_BINOP_PRELU:
    return &prelu8k;
  default:
    return NULL;
  }
}
#else
const nn_binary_kernels *nn_f32_binary_avx2(nn_binop op) {
  (void)op;
  return NULL;
}
#endif
