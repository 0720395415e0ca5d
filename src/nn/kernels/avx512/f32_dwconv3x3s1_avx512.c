/* AVX-512 depthwise 3x3 convolution, stride 1, one channel plane.
 *
 * Two output rows per step share the four input rows they read (12 loads
 * for 18 FMAs per 16 pixels); the nine weights stay in registers. Rows above
 * or below the input read a static zero row, and the left/right padding and
 * the column tail come from load masks, so the inner loop has no branches. */
#if defined(__AVX512F__)
#include "post_avx512.h"

/* Rows up to this width use the zero row; wider ones take the generic
 * one-row-at-a-time loop (same arithmetic, branches on row validity). */
#define ZROW 4096
static const float zero_row[ZROW + 32];

NN_INLINE void load3(const float *p, __mmask16 m0, __mmask16 m1,
                     __mmask16 m2, __m512 *a, __m512 *b, __m512 *c) {
  *a = _mm512_maskz_loadu_ps(m0, p);
  *b = _mm512_maskz_loadu_ps(m1, p + 1);
  *c = _mm512_maskz_loadu_ps(m2, p + 2);
}

void nn_f32_dwconv3x3s1_avx512(const float *x, size_t ih, size_t iw,
                               const float *w, float *y, size_t oh,
                               size_t ow, size_t pad_t, size_t pad_l,
                               const nn_post *post) {
  post512 pr = post512_row(post, 0);
  const __m512 w0 = _mm512_set1_ps(w[0]), w1 = _mm512_set1_ps(w[1]),
               w2 = _mm512_set1_ps(w[2]), w3 = _mm512_set1_ps(w[3]),
               w4 = _mm512_set1_ps(w[4]), w5 = _mm512_set1_ps(w[5]),
               w6 = _mm512_set1_ps(w[6]), w7 = _mm512_set1_ps(w[7]),
               w8 = _mm512_set1_ps(w[8]);
  const ptrdiff_t W = (ptrdiff_t)iw, H = (ptrdiff_t)ih;
  const float *res = post->res;
  const size_t ldr = post->ldr;
  if (iw > ZROW) {
    /* Very wide rows: one output row at a time, skipping absent rows. */
    const __m512 wr[3][3] = {{w0, w1, w2}, {w3, w4, w5}, {w6, w7, w8}};
    for (size_t oy = 0; oy < oh; oy++) {
      for (size_t ox = 0; ox < ow; ox += 16) {
        ptrdiff_t s = (ptrdiff_t)ox - (ptrdiff_t)pad_l;
        __mmask16 m0 = range_mask16(s, W), m1 = range_mask16(s + 1, W),
                  m2 = range_mask16(s + 2, W), mo = tail_mask16(ow - ox);
        __m512 acc = _mm512_setzero_ps();
        for (int ky = 0; ky < 3; ky++) {
          ptrdiff_t iy = (ptrdiff_t)oy + ky - (ptrdiff_t)pad_t;
          if (iy < 0 || iy >= H)
            continue;
          __m512 a, b, c;
          load3(x + iy * W + s, m0, m1, m2, &a, &b, &c);
          acc = _mm512_fmadd_ps(a, wr[ky][0], acc);
          acc = _mm512_fmadd_ps(b, wr[ky][1], acc);
          acc = _mm512_fmadd_ps(c, wr[ky][2], acc);
        }
        post512_store(&pr, acc, y + oy * ow + ox,
                      res ? res + oy * ldr + ox : NULL, mo, 1);
      }
    }
    return;
  }
  for (size_t oy = 0; oy < oh; oy += 2) {
    const float *r[4];
    for (int i = 0; i < 4; i++) {
      ptrdiff_t iy = (ptrdiff_t)oy + i - (ptrdiff_t)pad_t;
      r[i] = iy >= 0 && iy < H ? x + iy * W : zero_row;
    }
    const int two = oy + 1 < oh;
    float *y0 = y + oy * ow, *y1 = y0 + ow;
    const float *q0 = res ? res + oy * ldr : NULL, *q1 = q0 ? q0 + ldr : NULL;
    for (size_t ox = 0; ox < ow; ox += 16) {
      ptrdiff_t s = (ptrdiff_t)ox - (ptrdiff_t)pad_l;
      __mmask16 m0 = range_mask16(s, W), m1 = range_mask16(s + 1, W),
                m2 = range_mask16(s + 2, W), mo = tail_mask16(ow - ox);
      __m512 a, b, c, acc0, acc1;
      load3(r[0] + s, m0, m1, m2, &a, &b, &c);
      acc0 = _mm512_mul_ps(a, w0);
      acc0 = _mm512_fmadd_ps(b, w1, acc0);
      acc0 = _mm512_fmadd_ps(c, w2, acc0);
      load3(r[1] + s, m0, m1, m2, &a, &b, &c);
      acc0 = _mm512_fmadd_ps(a, w3, acc0);
      acc1 = _mm512_mul_ps(a, w0);
      acc0 = _mm512_fmadd_ps(b, w4, acc0);
      acc1 = _mm512_fmadd_ps(b, w1, acc1);
      acc0 = _mm512_fmadd_ps(c, w5, acc0);
      acc1 = _mm512_fmadd_ps(c, w2, acc1);
      load3(r[2] + s, m0, m1, m2, &a, &b, &c);
      acc0 = _mm512_fmadd_ps(a, w6, acc0);
      acc1 = _mm512_fmadd_ps(a, w3, acc1);
      acc0 = _mm512_fmadd_ps(b, w7, acc0);
      acc1 = _mm512_fmadd_ps(b, w4, acc1);
      acc0 = _mm512_fmadd_ps(c, w8, acc0);
      acc1 = _mm512_fmadd_ps(c, w5, acc1);
      post512_store(&pr, acc0, y0 + ox, q0 ? q0 + ox : NULL, mo, 1);
      if (two) {
        load3(r[3] + s, m0, m1, m2, &a, &b, &c);
        acc1 = _mm512_fmadd_ps(a, w6, acc1);
        acc1 = _mm512_fmadd_ps(b, w7, acc1);
        acc1 = _mm512_fmadd_ps(c, w8, acc1);
        post512_store(&pr, acc1, y1 + ox, q1 ? q1 + ox : NULL, mo, 1);
      }
    }
  }
}
#endif
