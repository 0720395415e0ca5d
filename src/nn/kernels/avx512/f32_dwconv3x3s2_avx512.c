/* AVX-512 depthwise 3x3 convolution, stride 2, one channel plane.
 *
 * Column strips of 16 output pixels (33 input columns) walking down the
 * rows: each input row is loaded as two pairs of vectors and split into its
 * even and odd columns with two-source permutes; the last row of one output
 * row is the first of the next, so it is kept in registers. Load masks give
 * the zero padding and the tails; rows outside the input are zero. */
#if defined(__AVX512F__)
#include "post_avx512.h"

typedef struct row3 {
  __m512 a, b, c; /* x[s+2i], x[s+2i+1], x[s+2i+2] */
} row3;

NN_INLINE row3 load_row(const float *x, ptrdiff_t iy, ptrdiff_t H,
                        ptrdiff_t W, ptrdiff_t s, const __mmask16 *m,
                        __m512i even, __m512i odd) {
  row3 r;
  if (iy < 0 || iy >= H) {
    r.a = r.b = r.c = _mm512_setzero_ps();
  } else {
    const float *p = x + iy * W + s;
    __m512 l0 = _mm512_maskz_loadu_ps(m[0], p);
    __m512 l1 = _mm512_maskz_loadu_ps(m[1], p + 16);
    __m512 l2 = _mm512_maskz_loadu_ps(m[2], p + 2);
    __m512 l3 = _mm512_maskz_loadu_ps(m[3], p + 18);
    r.a = _mm512_permutex2var_ps(l0, even, l1);
    r.b = _mm512_permutex2var_ps(l0, odd, l1);
    r.c = _mm512_permutex2var_ps(l2, even, l3);
  }
  return r;
}

NN_INLINE void body(const float *x, size_t ih, size_t iw, const float *w,
                    float *y, size_t oh, size_t ow, size_t pad_t,
                    size_t pad_l, const nn_post *post, const int act) {
  const post512 pr = post512_row(post, 0);
  const __m512 w0 = _mm512_set1_ps(w[0]), w1 = _mm512_set1_ps(w[1]),
               w2 = _mm512_set1_ps(w[2]), w3 = _mm512_set1_ps(w[3]),
               w4 = _mm512_set1_ps(w[4]), w5 = _mm512_set1_ps(w[5]),
               w6 = _mm512_set1_ps(w[6]), w7 = _mm512_set1_ps(w[7]),
               w8 = _mm512_set1_ps(w[8]);
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18,
                                         20, 22, 24, 26, 28, 30);
  const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21,
                                        23, 25, 27, 29, 31);
  const ptrdiff_t W = (ptrdiff_t)iw, H = (ptrdiff_t)ih, pt = (ptrdiff_t)pad_t;
  const float *res = post->res;
  const size_t ldr = post->ldr;
  for (size_t ox = 0; ox < ow; ox += 16) {
    const ptrdiff_t s = 2 * (ptrdiff_t)ox - (ptrdiff_t)pad_l;
    const __mmask16 m[4] = {range_mask16(s, W), range_mask16(s + 16, W),
                            range_mask16(s + 2, W), range_mask16(s + 18, W)};
    const __mmask16 mo = tail_mask16(ow - ox);
    const int full = mo == 0xffff;
    row3 r0 = load_row(x, -pt, H, W, s, m, even, odd);
    for (size_t oy = 0; oy < oh; oy++) {
      ptrdiff_t iy = 2 * (ptrdiff_t)oy - pt;
      row3 r1 = load_row(x, iy + 1, H, W, s, m, even, odd);
      row3 r2 = load_row(x, iy + 2, H, W, s, m, even, odd);
      __m512 p0 = _mm512_mul_ps(r0.a, w0);
      __m512 p1 = _mm512_mul_ps(r1.a, w3);
      __m512 p2 = _mm512_mul_ps(r2.a, w6);
      p0 = _mm512_fmadd_ps(r0.b, w1, p0);
      p1 = _mm512_fmadd_ps(r1.b, w4, p1);
      p2 = _mm512_fmadd_ps(r2.b, w7, p2);
      p0 = _mm512_fmadd_ps(r0.c, w2, p0);
      p1 = _mm512_fmadd_ps(r1.c, w5, p1);
      p2 = _mm512_fmadd_ps(r2.c, w8, p2);
      __m512 acc = _mm512_add_ps(_mm512_add_ps(p0, p1), p2);
      float *yp = y + oy * ow + ox;
      const float *rp = res ? res + oy * ldr + ox : NULL;
      if (full)
        post512_store_act(&pr, act, acc, yp, rp, mo, 0);
      else
        post512_store_act(&pr, act, acc, yp, rp, mo, 1);
      r0 = r2;
    }
  }
}

/* Outputs at most 8 pixels wide: the same in ymm registers (AVX-512VL
 * masks and permutes), half the work of a mostly empty zmm strip. */
typedef struct row3y {
  __m256 a, b, c;
} row3y;

NN_INLINE row3y load_row8(const float *x, ptrdiff_t iy, ptrdiff_t H,
                          ptrdiff_t W, ptrdiff_t s, const __mmask8 *m,
                          __m256i even, __m256i odd) {
  row3y r;
  if (iy < 0 || iy >= H) {
    r.a = r.b = r.c = _mm256_setzero_ps();
  } else {
    const float *p = x + iy * W + s;
    __m256 l0 = _mm256_maskz_loadu_ps(m[0], p);
    __m256 l1 = _mm256_maskz_loadu_ps(m[1], p + 8);
    __m256 l2 = _mm256_maskz_loadu_ps(m[2], p + 2);
    __m256 l3 = _mm256_maskz_loadu_ps(m[3], p + 10);
    r.a = _mm256_permutex2var_ps(l0, even, l1);
    r.b = _mm256_permutex2var_ps(l0, odd, l1);
    r.c = _mm256_permutex2var_ps(l2, even, l3);
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
  const __m256i even = _mm256_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14);
  const __m256i odd = _mm256_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15);
  const ptrdiff_t W = (ptrdiff_t)iw, H = (ptrdiff_t)ih, pt = (ptrdiff_t)pad_t;
  const ptrdiff_t s = -(ptrdiff_t)pad_l;
  const __mmask8 m[4] = {(__mmask8)range_mask16(s, W),
                         (__mmask8)range_mask16(s + 8, W),
                         (__mmask8)range_mask16(s + 2, W),
                         (__mmask8)range_mask16(s + 10, W)};
  const __mmask16 mo = tail_mask16(ow);
  row3y r0 = load_row8(x, -pt, H, W, s, m, even, odd);
  for (size_t oy = 0; oy < oh; oy++) {
    ptrdiff_t iy = 2 * (ptrdiff_t)oy - pt;
    row3y r1 = load_row8(x, iy + 1, H, W, s, m, even, odd);
    row3y r2 = load_row8(x, iy + 2, H, W, s, m, even, odd);
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
    r0 = r2;
  }
}

/* An 8x8 plane padded by one to a 4x4 output (a landmarker's last
 * stride-2 depthwise conv, 256 channels): the whole plane in four
 * registers, split once into its even and odd columns (four permutes:
 * rows 0-3 and 4-7 of each, 4 columns a row). Every tap of the 16 outputs
 * is then one two-table permute of the even or odd half, zeroing the lanes
 * that fall in the padding, and one FMA: 9 permutes and 9 FMAs for the
 * plane, where the row walk spent a ymm chain with 14 loads and permutes
 * per output row. Output pixel (oy, ox) reads row 2oy + ky - 1 and column
 * 2ox + kx - 1: even column ox for kx = 1, odd column ox (kx = 2) or ox - 1
 * (kx = 0), at index row * 4 + column of the half. */
NN_INLINE void plane8(const float *x, const float *w, float *y,
                      const nn_post *post, const int act) {
  const post512 pr = post512_row(post, 0);
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20,
                                         22, 24, 26, 28, 30);
  const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
  const __m512 z0 = _mm512_loadu_ps(x), z1 = _mm512_loadu_ps(x + 16),
               z2 = _mm512_loadu_ps(x + 32), z3 = _mm512_loadu_ps(x + 48);
  const __m512 e0 = _mm512_permutex2var_ps(z0, even, z1),
               e1 = _mm512_permutex2var_ps(z2, even, z3),
               o0 = _mm512_permutex2var_ps(z0, odd, z1),
               o1 = _mm512_permutex2var_ps(z2, odd, z3);
  /* 8 oy + ox: row 2oy (ky = 1), column ox */
  const __m512i base = _mm512_setr_epi32(0, 1, 2, 3, 8, 9, 10, 11, 16, 17, 18,
                                         19, 24, 25, 26, 27);
  __m512 acc = pr.bias;
  for (int ky = 0; ky < 3; ky++) {
    /* row 2oy - 1 (ky = 0) is padding for oy = 0 */
    const __mmask16 mr = ky == 0 ? (__mmask16)0xfff0 : (__mmask16)0xffff;
    const __m512i ia = _mm512_add_epi32(base, _mm512_set1_epi32(4 * (ky - 1)));
    const __m512i ib = _mm512_sub_epi32(ia, _mm512_set1_epi32(1));
    /* kx = 0: odd column ox - 1, padding for ox = 0 */
    acc = _mm512_fmadd_ps(_mm512_maskz_permutex2var_ps(mr & 0xeeee, o0, ib, o1),
                          _mm512_set1_ps(w[3 * ky]), acc);
    acc = _mm512_fmadd_ps(_mm512_maskz_permutex2var_ps(mr, e0, ia, e1),
                          _mm512_set1_ps(w[3 * ky + 1]), acc);
    acc = _mm512_fmadd_ps(_mm512_maskz_permutex2var_ps(mr, o0, ia, o1),
                          _mm512_set1_ps(w[3 * ky + 2]), acc);
  }
  post512_finish(&pr, act, acc, y, post->res, 0xffff, 0);
}

void nn_f32_dwconv3x3s2_avx512(const float *x, size_t ih, size_t iw,
                               const float *w, float *y, size_t oh,
                               size_t ow, size_t pad_t, size_t pad_l,
                               const nn_post *post) {
  if (ih == 8 && iw == 8 && oh == 4 && ow == 4 && pad_t == 1 && pad_l == 1 &&
      (!post->res || post->ldr == 4)) {
    switch (post->act) {
    case NN_ACT_NONE:
      plane8(x, w, y, post, NN_ACT_NONE);
      break;
    case NN_ACT_RELU:
      plane8(x, w, y, post, NN_ACT_RELU);
      break;
    default:
      plane8(x, w, y, post, post->act);
      break;
    }
    return;
  }
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
