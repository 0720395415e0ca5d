/* AVX2/FMA depthwise 3x3 convolution, stride 1, one channel plane.
 *
 * Column strips of 8 output pixels walking down the rows: each input row is
 * loaded once per strip (three shifted loads) and kept in registers for the
 * three output rows that use it (3 loads and 9 FMAs per output vector).
 * vmaskmov loads give the zero padding at the row edges; rows outside the
 * input are zero vectors. The activation is dispatched once per call. */
#if defined(__AVX2__) && defined(__FMA__)
#include "post_avx2.h"

typedef struct row3 {
  __m256 a, b, c; /* x[s..], x[s+1..], x[s+2..] */
} row3;

NN_INLINE row3 load_row(const float *x, ptrdiff_t iy, ptrdiff_t H,
                        ptrdiff_t W, ptrdiff_t s, int inside, __m256i m0,
                        __m256i m1, __m256i m2) {
  row3 r;
  if (iy < 0 || iy >= H) {
    r.a = r.b = r.c = _mm256_setzero_ps();
  } else {
    const float *p = x + iy * W + s;
    if (inside) {
      r.a = _mm256_loadu_ps(p);
      r.b = _mm256_loadu_ps(p + 1);
      r.c = _mm256_loadu_ps(p + 2);
    } else {
      r.a = _mm256_maskload_ps(p, m0);
      r.b = _mm256_maskload_ps(p + 1, m1);
      r.c = _mm256_maskload_ps(p + 2, m2);
    }
  }
  return r;
}

NN_INLINE void body(const float *x, size_t ih, size_t iw, const float *w,
                    float *y, size_t oh, size_t ow, size_t pad_t,
                    size_t pad_l, const nn_post *post, const int act) {
  const post256 pr = post256_row(post, 0);
  const __m256 w0 = _mm256_set1_ps(w[0]), w1 = _mm256_set1_ps(w[1]),
               w2 = _mm256_set1_ps(w[2]), w3 = _mm256_set1_ps(w[3]),
               w4 = _mm256_set1_ps(w[4]), w5 = _mm256_set1_ps(w[5]),
               w6 = _mm256_set1_ps(w[6]), w7 = _mm256_set1_ps(w[7]),
               w8 = _mm256_set1_ps(w[8]);
  const ptrdiff_t W = (ptrdiff_t)iw, H = (ptrdiff_t)ih, pt = (ptrdiff_t)pad_t;
  const float *res = post->res;
  const size_t ldr = post->ldr;
  for (size_t ox = 0; ox < ow; ox += 8) {
    const ptrdiff_t s = (ptrdiff_t)ox - (ptrdiff_t)pad_l;
    const int inside = s >= 0 && s + 10 <= W;
    const __m256i m0 = range_mask8(s, W), m1 = range_mask8(s + 1, W),
                  m2 = range_mask8(s + 2, W);
    const int full = ow - ox >= 8;
    const __m256i mo = tail_mask8(ow - ox);
    row3 r0 = load_row(x, -pt, H, W, s, inside, m0, m1, m2);
    row3 r1 = load_row(x, 1 - pt, H, W, s, inside, m0, m1, m2);
    for (size_t oy = 0; oy < oh; oy++) {
      row3 r2 =
          load_row(x, (ptrdiff_t)oy + 2 - pt, H, W, s, inside, m0, m1, m2);
      __m256 p0 = _mm256_mul_ps(r0.a, w0);
      __m256 p1 = _mm256_mul_ps(r1.a, w3);
      __m256 p2 = _mm256_mul_ps(r2.a, w6);
      p0 = _mm256_fmadd_ps(r0.b, w1, p0);
      p1 = _mm256_fmadd_ps(r1.b, w4, p1);
      p2 = _mm256_fmadd_ps(r2.b, w7, p2);
      p0 = _mm256_fmadd_ps(r0.c, w2, p0);
      p1 = _mm256_fmadd_ps(r1.c, w5, p1);
      p2 = _mm256_fmadd_ps(r2.c, w8, p2);
      __m256 acc = _mm256_add_ps(_mm256_add_ps(p0, p1), p2);
      float *yp = y + oy * ow + ox;
      const float *rp = res ? res + oy * ldr + ox : NULL;
      if (full)
        post256_store_act(&pr, act, acc, yp, rp, mo, 0);
      else
        post256_store_act(&pr, act, acc, yp, rp, mo, 1);
      r0 = r1;
      r1 = r2;
    }
  }
}

void nn_f32_dwconv3x3s1_avx2(const float *x, size_t ih, size_t iw,
                             const float *w, float *y, size_t oh, size_t ow,
                             size_t pad_t, size_t pad_l, const nn_post *post) {
  switch (post->act) {
  case NN_ACT_NONE:
    body(x, ih, iw, w, y, oh, ow, pad_t, pad_l, post, NN_ACT_NONE);
    break;
  case NN_ACT_RELU:
    body(x, ih, iw, w, y, oh, ow, pad_t, pad_l, post, NN_ACT_RELU);
    break;
  case NN_ACT_PRELU:
    body(x, ih, iw, w, y, oh, ow, pad_t, pad_l, post, NN_ACT_PRELU);
    break;
  default:
    body(x, ih, iw, w, y, oh, ow, pad_t, pad_l, post, post->act);
    break;
  }
}
#endif
