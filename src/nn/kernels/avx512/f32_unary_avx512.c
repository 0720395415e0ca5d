/* AVX-512 float32 loops of the unary element-wise ops: Relu, Clip (max then
 * min, bit-identical to the reference), Exp and Sigmoid (a Cephes-style exp:
 * Cody-Waite reduction by ln 2, a degree-7 polynomial, and scalef for 2^n,
 * which also handles overflow and gradual underflow; about 2 ulp). NaN
 * propagates through all four. Masked tails. */
#include "nn/ops/elementwise.h"

#if defined(__AVX512F__)
#include <immintrin.h>

static inline __m512 exp16(__m512 x) {
  /* Beyond these bounds e^x is inf or 0 anyway; min/max with the bound as
   * first operand return x when x is NaN. */
  x = _mm512_min_ps(_mm512_set1_ps(88.8f), x);
  x = _mm512_max_ps(_mm512_set1_ps(-104.0f), x);
  __m512 n = _mm512_roundscale_ps(
      _mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
      _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
  __m512 p = _mm512_set1_ps(1.9875691500e-4f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
  p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), r);
  p = _mm512_add_ps(p, _mm512_set1_ps(1.0f));
  return _mm512_scalef_ps(p, n);
}

static inline __m512 sigmoid16(__m512 x) {
  __m512 e = exp16(_mm512_sub_ps(_mm512_setzero_ps(), x));
  return _mm512_div_ps(_mm512_set1_ps(1.0f),
                       _mm512_add_ps(e, _mm512_set1_ps(1.0f)));
}

/* One loop shape for all: BODY maps __m512 v to a result, with `lo`/`hi`
 * available for Clip. */
#define F32_UNARY(name, BODY)                                                  \
  static void name(size_t n, const void *px, void *py, const void *params) {   \
    const float *x = px;                                                       \
    float *y = py;                                                             \
    const float *b = params;                                                   \
    const __m512 lo = _mm512_set1_ps(b ? b[0] : 0.0f);                         \
    const __m512 hi = _mm512_set1_ps(b ? b[1] : 0.0f);                         \
    (void)lo;                                                                  \
    (void)hi;                                                                  \
    size_t i = 0;                                                              \
    for (; i + 16 <= n; i += 16) {                                             \
      __m512 v = _mm512_loadu_ps(x + i);                                       \
      _mm512_storeu_ps(y + i, BODY);                                           \
    }                                                                          \
    if (i < n) {                                                               \
      __mmask16 m = (__mmask16)((1u << (n - i)) - 1);                          \
      __m512 v = _mm512_maskz_loadu_ps(m, x + i);                              \
      _mm512_mask_storeu_ps(y + i, m, BODY);                                   \
    }                                                                          \
  }

F32_UNARY(relu16, _mm512_max_ps(_mm512_setzero_ps(), v))
F32_UNARY(clip16, _mm512_min_ps(hi, _mm512_max_ps(lo, v)))
F32_UNARY(exp16_loop, exp16(v))
F32_UNARY(sigmoid16_loop, sigmoid16(v))

nn_unary_fn nn_f32_unary_avx512(nn_unop op) {
  switch (op) {
  case NN_UNOP_RELU:
    return relu16;
  case NN_UNOP_CLIP:
    return clip16;
  case NN_UNOP_EXP:
    return exp16_loop;
  case NN_UNOP_SIGMOID:
    return sigmoid16_loop;
  default:
    return NULL;
  }
}
#else
nn_unary_fn nn_f32_unary_avx512(nn_unop op) {
  (void)op;
  return NULL;
}
#endif
