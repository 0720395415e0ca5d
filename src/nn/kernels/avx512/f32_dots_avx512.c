/* AVX-512 dot products of consecutive channel planes (kernels.h,
 * nn_dots_fn): the global depthwise convolution, one value per channel.
 * Sixteen channels at a time each leave one vector of partial sums; a
 * transposing tree then adds the sixteen vectors into one vector of the
 * sixteen totals (unpack and add within 128-bit lanes, then 128-bit
 * shuffles across them), stored at once. The channels past the last
 * sixteen take the single dot product. */
#if defined(__AVX512F__)
#include "post_avx512.h"

/* r[j] = sum of the lanes of v[j], j < 16. */
NN_INLINE __m512 reduce16(const __m512 *v) {
  __m512 u[8], t[4], x0, x1;
  /* per 128-bit lane: [a0+a2, b0+b2, a1+a3, b1+b3] for pair (a, b) */
  for (int j = 0; j < 8; j++)
    u[j] = _mm512_add_ps(_mm512_unpacklo_ps(v[2 * j], v[2 * j + 1]),
                         _mm512_unpackhi_ps(v[2 * j], v[2 * j + 1]));
  /* per 128-bit lane: the four channels' partial sums */
  for (int j = 0; j < 4; j++)
    t[j] = _mm512_add_ps(
        _mm512_shuffle_ps(u[2 * j], u[2 * j + 1], _MM_SHUFFLE(1, 0, 1, 0)),
        _mm512_shuffle_ps(u[2 * j], u[2 * j + 1], _MM_SHUFFLE(3, 2, 3, 2)));
  /* across the four 128-bit lanes */
  x0 = _mm512_add_ps(_mm512_shuffle_f32x4(t[0], t[1], _MM_SHUFFLE(2, 0, 2, 0)),
                     _mm512_shuffle_f32x4(t[0], t[1], _MM_SHUFFLE(3, 1, 3, 1)));
  x1 = _mm512_add_ps(_mm512_shuffle_f32x4(t[2], t[3], _MM_SHUFFLE(2, 0, 2, 0)),
                     _mm512_shuffle_f32x4(t[2], t[3], _MM_SHUFFLE(3, 1, 3, 1)));
  return _mm512_add_ps(_mm512_shuffle_f32x4(x0, x1, _MM_SHUFFLE(2, 0, 2, 0)),
                       _mm512_shuffle_f32x4(x0, x1, _MM_SHUFFLE(3, 1, 3, 1)));
}

void nn_f32_dots_avx512(const float *x, const float *w, size_t n, size_t nc,
                        float *y) {
  const size_t full = n / 16 * 16;
  const __mmask16 mt = (__mmask16)((1u << (n - full)) - 1u);
  size_t c = 0;
  for (; c + 16 <= nc; c += 16) {
    __m512 v[16];
    for (int j = 0; j < 16; j++) {
      const float *a = x + (c + (size_t)j) * n, *b = w + (c + (size_t)j) * n;
      __m512 s = _mm512_setzero_ps();
      for (size_t i = 0; i < full; i += 16)
        s = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), s);
      if (mt)
        s = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(mt, a + full),
                            _mm512_maskz_loadu_ps(mt, b + full), s);
      v[j] = s;
    }
    _mm512_storeu_ps(y + c, reduce16(v));
  }
  for (; c < nc; c++)
    y[c] = core_f32_dot_avx512(x + c * n, w + c * n, n);
}
#endif
