/* AVX-512 direct 3x3 stride-2 convolution of 1 to 4 input channels (the
 * first conv of a detector on an RGB image).
 *
 * Such a conv's product is too shallow (K = 27 for RGB) for the GEMM paths:
 * they spend as much on gathering the strided input as on arithmetic. Here
 * a block of 16 output pixels of one row holds 16 accumulators, one per
 * output channel; each input row segment the block needs is loaded once
 * (two pairs of vectors, split into its even and odd columns with
 * two-source permutes, as in the depthwise stride-2 kernel) and feeds all
 * 16 channels through FMAs with broadcast weights straight from W. The
 * number of input channels is a compile-time constant of each body, so
 * every weight is a constant offset from the block's first. Load masks give
 * the zero padding and the right edge; rows outside the input are skipped.
 * The sums are made in the reference's order (channel, kernel row, column),
 * each step one FMA. Output rows are walked in order, and the input rows the
 * next output row adds are prefetched: in a model the input comes from
 * memory, and without the prefetch YuNet's Conv_0 took 1.26 ms in place of
 * 0.78 on the GEMM path (0.45-0.5 with it; 0.47 with the input in cache). */
#if defined(__AVX512F__)
#include "post_avx512.h"

/* Output rows [oy0, oy1) of `nc` (1..16) channels: w, y and the residual
 * are those of the block's first channel, pr its nc epilogue rows. */
NN_INLINE void block_rows(const float *x, size_t ih, size_t iw, const float *w,
                          float *y, size_t ldy, size_t ow, size_t oy0,
                          size_t oy1, size_t pad_t, size_t pad_l,
                          const float *res, size_t ldr, const post512 *pr,
                          const int cin, const int nc, const int act) {
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20,
                                         22, 24, 26, 28, 30);
  const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21,
                                        23, 25, 27, 29, 31);
  const ptrdiff_t W = (ptrdiff_t)iw, H = (ptrdiff_t)ih;
  const size_t plane = ih * iw, wo = (size_t)cin * 9; /* W's channel stride */
  for (size_t oy = oy0; oy < oy1; oy++) {
    const ptrdiff_t iy0 = 2 * (ptrdiff_t)oy - (ptrdiff_t)pad_t;
    for (size_t ox = 0; ox < ow; ox += 16) {
      const ptrdiff_t s = 2 * (ptrdiff_t)ox - (ptrdiff_t)pad_l;
      const __mmask16 m0 = range_mask16(s, W), m1 = range_mask16(s + 16, W),
                      m2 = range_mask16(s + 2, W), m3 = range_mask16(s + 18, W);
      const __mmask16 mo = tail_mask16(ow - ox);
      __m512 acc[16];
#pragma GCC unroll 16
      for (int o = 0; o < 16; o++)
        acc[o] = _mm512_setzero_ps();
#pragma GCC unroll 4
      for (int c = 0; c < cin; c++) {
#pragma GCC unroll 3
        for (int ky = 0; ky < 3; ky++) {
          const ptrdiff_t iy = iy0 + ky;
          if (iy < 0 || iy >= H)
            continue;
          const float *p = x + (size_t)c * plane + iy * W + s;
          if (ky > 0) { /* the next output row's new input rows */
            _mm_prefetch((const char *)(p + 2 * W), _MM_HINT_T0);
            _mm_prefetch((const char *)(p + 2 * W + 16), _MM_HINT_T0);
          }
          const __m512 l0 = _mm512_maskz_loadu_ps(m0, p);
          const __m512 l1 = _mm512_maskz_loadu_ps(m1, p + 16);
          const __m512 l2 = _mm512_maskz_loadu_ps(m2, p + 2);
          const __m512 l3 = _mm512_maskz_loadu_ps(m3, p + 18);
          const __m512 a = _mm512_permutex2var_ps(l0, even, l1);
          const __m512 b = _mm512_permutex2var_ps(l0, odd, l1);
          const __m512 d = _mm512_permutex2var_ps(l2, even, l3);
          const float *wk = w + c * 9 + ky * 3;
#pragma GCC unroll 16
          for (int o = 0; o < 16; o++)
            if (o < nc) {
              __m512 t = _mm512_fmadd_ps(a, _mm512_set1_ps(wk[o * wo]), acc[o]);
              t = _mm512_fmadd_ps(b, _mm512_set1_ps(wk[o * wo + 1]), t);
              acc[o] = _mm512_fmadd_ps(d, _mm512_set1_ps(wk[o * wo + 2]), t);
            }
        }
      }
      const size_t px = (size_t)oy * ow + ox;
#pragma GCC unroll 16
      for (int o = 0; o < 16; o++)
        if (o < nc) {
          const float *rp = res ? res + (size_t)o * ldr + px : NULL;
          if (mo == 0xffff)
            post512_store_act(&pr[o], act, acc[o], y + (size_t)o * ldy + px, rp,
                              mo, 0);
          else
            post512_store_act(&pr[o], act, acc[o], y + (size_t)o * ldy + px, rp,
                              mo, 1);
        }
    }
  }
}

/* Every channel block for one input channel count and activation. */
NN_INLINE void all_blocks(const float *x, size_t ih, size_t iw, const float *w,
                          size_t co, float *y, size_t ldy, size_t ow,
                          size_t oy0, size_t oy1, size_t pad_t, size_t pad_l,
                          const nn_post *post, const int cin, const int act) {
  post512 pr[16];
  for (size_t o0 = 0; o0 < co; o0 += 16) {
    const size_t nc = co - o0 < 16 ? co - o0 : 16;
    for (size_t o = 0; o < nc; o++)
      pr[o] = post512_row(post, o0 + o);
    const float *res = post->res ? post->res + o0 * post->ldr : NULL;
    const float *wb = w + o0 * (size_t)cin * 9;
    float *yb = y + o0 * ldy;
    if (nc == 16)
      block_rows(x, ih, iw, wb, yb, ldy, ow, oy0, oy1, pad_t, pad_l, res,
                 post->ldr, pr, cin, 16, act);
    else
      block_rows(x, ih, iw, wb, yb, ldy, ow, oy0, oy1, pad_t, pad_l, res,
                 post->ldr, pr, cin, (int)nc, act);
  }
}

NN_INLINE void by_act(const float *x, size_t ih, size_t iw, const float *w,
                      size_t co, float *y, size_t ldy, size_t ow, size_t oy0,
                      size_t oy1, size_t pad_t, size_t pad_l,
                      const nn_post *post, const int cin) {
  switch (post->act) {
  case NN_ACT_NONE:
    all_blocks(x, ih, iw, w, co, y, ldy, ow, oy0, oy1, pad_t, pad_l, post, cin,
               NN_ACT_NONE);
    break;
  case NN_ACT_RELU:
    all_blocks(x, ih, iw, w, co, y, ldy, ow, oy0, oy1, pad_t, pad_l, post, cin,
               NN_ACT_RELU);
    break;
  default:
    all_blocks(x, ih, iw, w, co, y, ldy, ow, oy0, oy1, pad_t, pad_l, post, cin,
               post->act);
    break;
  }
}

void nn_f32_conv3x3s2c_avx512(const float *x, size_t cin, size_t ih, size_t iw,
                              const float *w, size_t co, float *y, size_t ldy,
                              size_t ow, size_t oy0, size_t oy1, size_t pad_t,
                              size_t pad_l, const nn_post *post) {
  switch (cin) {
  case 1:
    by_act(x, ih, iw, w, co, y, ldy, ow, oy0, oy1, pad_t, pad_l, post, 1);
    break;
  case 2:
    by_act(x, ih, iw, w, co, y, ldy, ow, oy0, oy1, pad_t, pad_l, post, 2);
    break;
  case 3:
    by_act(x, ih, iw, w, co, y, ldy, ow, oy0, oy1, pad_t, pad_l, post, 3);
    break;
  default:
    by_act(x, ih, iw, w, co, y, ldy, ow, oy0, oy1, pad_t, pad_l, post, 4);
    break;
  }
}
#endif
