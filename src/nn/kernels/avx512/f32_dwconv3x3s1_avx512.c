/* AVX-512 depthwise 3x3 convolution, stride 1, one channel plane.
 *
 * Works in column strips of 16 output pixels, walking down the rows: each
 * input row is loaded once per strip (three shifted loads) and kept in
 * registers for the three output rows that use it, so one output vector
 * costs 3 loads and 9 FMAs (one chain from the bias; two output rows per
 * step). The strips walk bands of DW_BAND rows, not the
 * whole plane: a strip down a large plane (960 x 544, 2 MiB) touches part
 * of each cache line of its rows and the next strip fetches the same lines
 * again from memory, while a band's rows stay in L2 across its strips (16
 * such planes: 5.5 ms banded, 9.4 ms down the whole plane; at 480 x 272 the
 * two walks cost the same). Load masks give the left/right zero padding and
 * the column tail; rows outside the input are zero vectors. The epilogue's
 * activation is dispatched once per call. */
#if defined(__AVX512F__)
#include "post_avx512.h"

/* Output rows per band: (DW_BAND + 2) input rows of a 960-wide plane are
 * 130 KiB. Smaller bands lose more to the two rows each strip loads before
 * its first output (8 rows: 30 % slower at 480 x 272). */
#define DW_BAND 32
/* Planes of at most this many floats (256 KiB, L2) are walked whole: a band
 * there only adds the two rows each strip loads before its first output. */
#define DW_BAND_MIN_PLANE 65536

typedef struct row3 {
  __m512 a, b, c; /* x[s..], x[s+1..], x[s+2..] */
} row3;

NN_INLINE row3 load_row(const float *x, ptrdiff_t iy, ptrdiff_t H,
                        ptrdiff_t W, ptrdiff_t s, __mmask16 m0, __mmask16 m1,
                        __mmask16 m2) {
  row3 r;
  if (iy < 0 || iy >= H) {
    r.a = r.b = r.c = _mm512_setzero_ps();
  } else {
    const float *p = x + iy * W + s;
    r.a = _mm512_maskz_loadu_ps(m0, p);
    r.b = _mm512_maskz_loadu_ps(m1, p + 1);
    r.c = _mm512_maskz_loadu_ps(m2, p + 2);
  }
  return r;
}

/* The nine taps of one output vector in one chain that starts from the
 * bias (the epilogue then adds none): 9 FMAs, where products summed in
 * three chains took 3 multiplies, 6 FMAs and 3 adds. */
typedef struct taps {
  __m512 w0, w1, w2, w3, w4, w5, w6, w7, w8;
} taps;

NN_INLINE __m512 dw9(const taps *t, row3 r0, row3 r1, row3 r2, __m512 acc) {
  acc = _mm512_fmadd_ps(r0.a, t->w0, acc);
  acc = _mm512_fmadd_ps(r0.b, t->w1, acc);
  acc = _mm512_fmadd_ps(r0.c, t->w2, acc);
  acc = _mm512_fmadd_ps(r1.a, t->w3, acc);
  acc = _mm512_fmadd_ps(r1.b, t->w4, acc);
  acc = _mm512_fmadd_ps(r1.c, t->w5, acc);
  acc = _mm512_fmadd_ps(r2.a, t->w6, acc);
  acc = _mm512_fmadd_ps(r2.b, t->w7, acc);
  return _mm512_fmadd_ps(r2.c, t->w8, acc);
}

/* One strip of 16 output columns from ox, rows [oy0, oy1), two output rows
 * per step (four input rows in registers, each loaded once). `act`,
 * `has_res` and `masked` are compile-time constants after inlining, so
 * the loop carries no per-row branches but the padding rows'. */
NN_INLINE void strip(const float *x, ptrdiff_t H, ptrdiff_t W, ptrdiff_t s,
                     ptrdiff_t pt, __mmask16 m0, __mmask16 m1, __mmask16 m2,
                     __mmask16 mo, size_t oy0, size_t oy1, float *y,
                     size_t ow, const float *res, size_t ldr, const taps *t,
                     const post512 *pr, const int act, const int has_res,
                     const int masked) {
  const ptrdiff_t iy0 = (ptrdiff_t)oy0 - pt;
  row3 r0 = load_row(x, iy0, H, W, s, m0, m1, m2);
  row3 r1 = load_row(x, iy0 + 1, H, W, s, m0, m1, m2);
  size_t oy = oy0;
  for (; oy + 2 <= oy1; oy += 2) {
    const ptrdiff_t iy = (ptrdiff_t)oy + 2 - pt;
    row3 r2 = load_row(x, iy, H, W, s, m0, m1, m2);
    row3 r3 = load_row(x, iy + 1, H, W, s, m0, m1, m2);
    __m512 a = dw9(t, r0, r1, r2, pr->bias);
    __m512 b = dw9(t, r1, r2, r3, pr->bias);
    float *yp = y + oy * ow;
    post512_finish(pr, act, a, yp, has_res ? res + oy * ldr : NULL, mo,
                   masked);
    post512_finish(pr, act, b, yp + ow,
                   has_res ? res + (oy + 1) * ldr : NULL, mo, masked);
    r0 = r2;
    r1 = r3;
  }
  if (oy < oy1) {
    row3 r2 = load_row(x, (ptrdiff_t)oy + 2 - pt, H, W, s, m0, m1, m2);
    post512_finish(pr, act, dw9(t, r0, r1, r2, pr->bias), y + oy * ow,
                   has_res ? res + oy * ldr : NULL, mo, masked);
  }
}

NN_INLINE void body(const float *x, size_t ih, size_t iw, const float *w,
                    float *y, size_t oh, size_t ow, size_t pad_t,
                    size_t pad_l, const nn_post *post, const int act) {
  const post512 pr = post512_row(post, 0);
  const taps t = {_mm512_set1_ps(w[0]), _mm512_set1_ps(w[1]),
                  _mm512_set1_ps(w[2]), _mm512_set1_ps(w[3]),
                  _mm512_set1_ps(w[4]), _mm512_set1_ps(w[5]),
                  _mm512_set1_ps(w[6]), _mm512_set1_ps(w[7]),
                  _mm512_set1_ps(w[8])};
  const ptrdiff_t W = (ptrdiff_t)iw, H = (ptrdiff_t)ih, pt = (ptrdiff_t)pad_t;
  const float *res = post->res;
  const size_t ldr = post->ldr;
  const size_t band = ih * iw > DW_BAND_MIN_PLANE ? DW_BAND : oh;
  for (size_t oy0 = 0; oy0 < oh; oy0 += band) {
    const size_t oy1 = oy0 + band < oh ? oy0 + band : oh;
    for (size_t ox = 0; ox < ow; ox += 16) {
      const ptrdiff_t s = (ptrdiff_t)ox - (ptrdiff_t)pad_l;
      const __mmask16 m0 = range_mask16(s, W), m1 = range_mask16(s + 1, W),
                      m2 = range_mask16(s + 2, W), mo = tail_mask16(ow - ox);
      const float *rs = res ? res + ox : NULL;
      if (res && mo == 0xffff)
        strip(x, H, W, s, pt, m0, m1, m2, mo, oy0, oy1, y + ox, ow, rs, ldr,
              &t, &pr, act, 1, 0);
      else if (res)
        strip(x, H, W, s, pt, m0, m1, m2, mo, oy0, oy1, y + ox, ow, rs, ldr,
              &t, &pr, act, 1, 1);
      else if (mo == 0xffff)
        strip(x, H, W, s, pt, m0, m1, m2, mo, oy0, oy1, y + ox, ow, NULL, 0,
              &t, &pr, act, 0, 0);
      else
        strip(x, H, W, s, pt, m0, m1, m2, mo, oy0, oy1, y + ox, ow, NULL, 0,
              &t, &pr, act, 0, 1);
    }
  }
}

/* Planes at most 8 pixels wide: the same in ymm registers (AVX-512VL
 * masks), half the work of a zmm strip that would be mostly empty. */
typedef struct row3y {
  __m256 a, b, c;
} row3y;

NN_INLINE row3y load_row8(const float *x, ptrdiff_t iy, ptrdiff_t H,
                          ptrdiff_t W, ptrdiff_t s, __mmask8 m0, __mmask8 m1,
                          __mmask8 m2) {
  row3y r;
  if (iy < 0 || iy >= H) {
    r.a = r.b = r.c = _mm256_setzero_ps();
  } else {
    const float *p = x + iy * W + s;
    r.a = _mm256_maskz_loadu_ps(m0, p);
    r.b = _mm256_maskz_loadu_ps(m1, p + 1);
    r.c = _mm256_maskz_loadu_ps(m2, p + 2);
  }
  return r;
}

NN_INLINE void body8(const float *x, size_t ih, size_t iw, const float *w,
                     float *y, size_t oh, size_t ow, size_t pad_t,
                     size_t pad_l, const nn_post *post, const int act) {
  const post512 pr = post512_row(post, 0);
  const __m256 w0 = _mm256_set1_ps(w[0]), w1 = _mm256_set1_ps(w[1]),
               w2 = _mm256_set1_ps(w[2]), w3 = _mm256_set1_ps(w[3]),
               w4 = _mm256_set1_ps(w[4]), w5 = _mm256_set1_ps(w[5]),
               w6 = _mm256_set1_ps(w[6]), w7 = _mm256_set1_ps(w[7]),
               w8 = _mm256_set1_ps(w[8]);
  const ptrdiff_t W = (ptrdiff_t)iw, H = (ptrdiff_t)ih, pt = (ptrdiff_t)pad_t;
  const ptrdiff_t s = -(ptrdiff_t)pad_l;
  const __mmask8 m0 = (__mmask8)range_mask16(s, W),
                 m1 = (__mmask8)range_mask16(s + 1, W),
                 m2 = (__mmask8)range_mask16(s + 2, W);
  const __mmask16 mo = tail_mask16(ow);
  row3y r0 = load_row8(x, -pt, H, W, s, m0, m1, m2);
  row3y r1 = load_row8(x, 1 - pt, H, W, s, m0, m1, m2);
  for (size_t oy = 0; oy < oh; oy++) {
    row3y r2 = load_row8(x, (ptrdiff_t)oy + 2 - pt, H, W, s, m0, m1, m2);
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
    post512_store_act(&pr, act, _mm512_castps256_ps512(acc), y + oy * ow,
                      post->res ? post->res + oy * post->ldr : NULL, mo, 1);
    r0 = r1;
    r1 = r2;
  }
}

void nn_f32_dwconv3x3s1_avx512(const float *x, size_t ih, size_t iw,
                               const float *w, float *y, size_t oh,
                               size_t ow, size_t pad_t, size_t pad_l,
                               const nn_post *post) {
  if (ow <= 8) {
    switch (post->act) {
    case NN_ACT_NONE:
      body8(x, ih, iw, w, y, oh, ow, pad_t, pad_l, post, NN_ACT_NONE);
      break;
    case NN_ACT_RELU:
      body8(x, ih, iw, w, y, oh, ow, pad_t, pad_l, post, NN_ACT_RELU);
      break;
    case NN_ACT_PRELU:
      body8(x, ih, iw, w, y, oh, ow, pad_t, pad_l, post, NN_ACT_PRELU);
      break;
    default:
      body8(x, ih, iw, w, y, oh, ow, pad_t, pad_l, post, post->act);
      break;
    }
    return;
  }
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
