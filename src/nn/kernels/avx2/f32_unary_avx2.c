/* AVX2 float32 loops of the unary element-wise ops: Relu, Clip (max then min,
 * bit-identical to the reference), Exp and Sigmoid (a Cephes-style exp:
 * Cody-Waite reduction by ln 2, a degree-7 polynomial, and 2^n applied as two
 * factors so that overflow and gradual underflow round once; about 2 ulp).
 * NaN propagates through all four. Masked tails. */
#include "nn/ops/elementwise.h"

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>

static inline __m256 exp8(__m256 x) {
  /* Beyond these bounds e^x is inf or 0 anyway; min/max with the bound as
   * first operand return x when x is NaN. */
  x = _mm256_min_ps(_mm256_set1_ps(88.8f), x);
  x = _mm256_max_ps(_mm256_set1_ps(-104.0f), x);
  __m256 n =
      _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                      _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
  p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), r);
  p = _mm256_add_ps(p, _mm256_set1_ps(1.0f));
  /* n is in [-150, 128]: 2^n = 2^n1 * 2^n2 with both factors normal. */
  __m256i ni = _mm256_cvtps_epi32(n);
  __m256i n1 = _mm256_srai_epi32(ni, 1);
  __m256i n2 = _mm256_sub_epi32(ni, n1);
  const __m256i bias = _mm256_set1_epi32(127);
  __m256 s1 =
      _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n1, bias), 23));
  __m256 s2 =
      _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n2, bias), 23));
  return _mm256_mul_ps(_mm256_mul_ps(p, s1), s2);
}

static inline __m256 sigmoid8(__m256 x) {
  __m256 e = exp8(_mm256_sub_ps(_mm256_setzero_ps(), x));
  return _mm256_div_ps(_mm256_set1_ps(1.0f),
                       _mm256_add_ps(e, _mm256_set1_ps(1.0f)));
}

/* One loop shape for all: BODY maps __m256 v to a result, with `lo`/`hi`
 * available for Clip. */
#define F32_UNARY(name, BODY)                                                  \
  static void name(size_t n, const void *px, void *py, const void *params) {   \
    const float *x = px;                                                       \
    float *y = py;                                                             \
    const float *b = params;                                                   \
    const __m256 lo = _mm256_set1_ps(b ? b[0] : 0.0f);                         \
    const __m256 hi = _mm256_set1_ps(b ? b[1] : 0.0f);                         \
    (void)lo;                                                                  \
    (void)hi;                                                                  \
    size_t i = 0;                                                              \
    for (; i + 8 <= n; i += 8) {                                               \
      __m256 v = _mm256_loadu_ps(x + i);                                       \
      _mm256_storeu_ps(y + i, BODY);                                           \
    }                                                                          \
    if (i < n) {                                                               \
      __m256i m =                                                              \
          _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(n - i)),                  \
                             _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));       \
      __m256 v = _mm256_maskload_ps(x + i, m);                                 \
      _mm256_maskstore_ps(y + i, m, BODY);                                     \
    }                                                                          \
  }

F32_UNARY(relu8, _mm256_max_ps(_mm256_setzero_ps(), v))
F32_UNARY(clip8, _mm256_min_ps(hi, _mm256_max_ps(lo, v)))
F32_UNARY(exp8_loop, exp8(v))
F32_UNARY(sigmoid8_loop, sigmoid8(v))

nn_unary_fn nn_f32_unary_avx2(nn_unop op) {
  switch (op) {
  case NN_UNOP_RELU:
    return relu8;
  case NN_UNOP_CLIP:
    return clip8;
  case NN_UNOP_EXP:
    return exp8_loop;
  case NN_UNOP_SIGMOID:
    return sigmoid8_loop;
  default:
    return NULL;
  }
}
#else
nn_unary_fn nn_f32_unary_avx2(nn_unop op) {
  (void)op;
  return NULL;
}
#endif
