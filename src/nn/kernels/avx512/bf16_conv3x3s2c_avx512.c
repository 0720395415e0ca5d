/* AVX-512 BF16 direct 3x3 stride-2 convolution of 1 to 4 input channels
 * (kernels.h, nn_bf16_conv3x3s2c_fn): the bf16 form of
 * f32_conv3x3s2c_avx512.c, with the same blocks (16 output pixels of a row,
 * one accumulator per output channel, 16 channels at a time), loads, masks
 * and prefetches.
 *
 * Output pixel i of a block reads input columns s + 2i + kx. Converting the
 * 32 floats from s to bf16 (one VCVTNE2PS2BF16) leaves columns s + 2i and
 * s + 2i + 1 in 32-bit lane i, which is the pair VDPBF16PS multiplies with
 * the weight pair (w0, w1); the 32 floats from s + 2 give (s + 2i + 2,
 * s + 2i + 3) for the pair (w2, 0). Two dot products per kernel row and
 * channel where float32 needs three FMAs, and two conversions per row
 * segment in place of three permutes. Compiled with -mavx512bf16
 * (CMakeLists.txt). */
#if defined(__AVX512BF16__)
#include "bf16_avx512.h"

NN_INLINE __m512bh as_bh(__m512i v) { return (__m512bh)v; }

/* Output rows [oy0, oy1) of `nc` (1..16) channels: wp, y and the residual
 * are those of the block's first channel, pr its nc epilogue rows. */
NN_INLINE void block_rows(const float *x, size_t ih, size_t iw,
                          const uint32_t *wp, float *y, size_t ldy, size_t ow,
                          size_t oy0, size_t oy1, size_t pad_t, size_t pad_l,
                          const float *res, size_t ldr, const post512 *pr,
                          const int cin, const int nc, const int act,
                          const int pairs) {
  const ptrdiff_t W = (ptrdiff_t)iw, H = (ptrdiff_t)ih;
  const size_t plane = ih * iw, wo = (size_t)cin * 6; /* wp's channel stride */
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
          const __m512bh a = _mm512_cvtne2ps_pbh(l1, l0);
          const __m512bh b = _mm512_cvtne2ps_pbh(l3, l2);
          const uint32_t *wk = wp + (size_t)c * 6 + (size_t)ky * 2;
#pragma GCC unroll 16
          for (int o = 0; o < 16; o++)
            if (o < nc) {
              __m512 t = _mm512_dpbf16_ps(
                  acc[o], a, as_bh(_mm512_set1_epi32((int)wk[o * wo])));
              acc[o] = _mm512_dpbf16_ps(
                  t, b, as_bh(_mm512_set1_epi32((int)wk[o * wo + 1])));
            }
        }
      }
      const size_t px = (size_t)oy * ow + ox;
      if (pairs) { /* channels o, o+1 -> one uint32 plane (o even) */
        uint32_t *yq = (uint32_t *)(void *)y;
#pragma GCC unroll 8
        for (int o = 0; o < 16; o += 2)
          if (o < nc) {
            __m512 lo = post512_value(&pr[o], act, acc[o]);
            __m512 hi = o + 1 < nc ? post512_value(&pr[o + 1], act, acc[o + 1])
                                   : _mm512_setzero_ps();
            _mm512_mask_storeu_epi32(yq + (size_t)(o / 2) * ldy + px, mo,
                                     bf16_pairs16(lo, hi));
          }
        continue;
      }
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

/* Every channel block for one input channel count and activation;
 * pairs: y holds uint32 planes of channel pairs. */
NN_INLINE void all_blocks(const float *x, size_t ih, size_t iw,
                          const uint32_t *wp, size_t co, float *y, size_t ldy,
                          size_t ow, size_t oy0, size_t oy1, size_t pad_t,
                          size_t pad_l, const nn_post *post, const int cin,
                          const int act, const int pairs) {
  post512 pr[16];
  for (size_t o0 = 0; o0 < co; o0 += 16) {
    const size_t nc = co - o0 < 16 ? co - o0 : 16;
    for (size_t o = 0; o < nc; o++)
      pr[o] = post512_row(post, o0 + o);
    const float *res = post->res ? post->res + o0 * post->ldr : NULL;
    const uint32_t *wb = wp + o0 * (size_t)cin * 6;
    float *yb = pairs ? (float *)(void *)((uint32_t *)(void *)y + o0 / 2 * ldy)
                      : y + o0 * ldy;
    if (nc == 16)
      block_rows(x, ih, iw, wb, yb, ldy, ow, oy0, oy1, pad_t, pad_l, res,
                 post->ldr, pr, cin, 16, act, pairs);
    else
      block_rows(x, ih, iw, wb, yb, ldy, ow, oy0, oy1, pad_t, pad_l, res,
                 post->ldr, pr, cin, (int)nc, act, pairs);
  }
}

NN_INLINE void by_act(const float *x, size_t ih, size_t iw, const uint32_t *wp,
                      size_t co, float *y, size_t ldy, size_t ow, size_t oy0,
                      size_t oy1, size_t pad_t, size_t pad_l,
                      const nn_post *post, const int cin, const int pairs) {
  switch (post->act) {
  case NN_ACT_NONE:
    all_blocks(x, ih, iw, wp, co, y, ldy, ow, oy0, oy1, pad_t, pad_l, post, cin,
               NN_ACT_NONE, pairs);
    break;
  case NN_ACT_RELU:
    all_blocks(x, ih, iw, wp, co, y, ldy, ow, oy0, oy1, pad_t, pad_l, post, cin,
               NN_ACT_RELU, pairs);
    break;
  default:
    all_blocks(x, ih, iw, wp, co, y, ldy, ow, oy0, oy1, pad_t, pad_l, post, cin,
               post->act, pairs);
    break;
  }
}

NN_INLINE void by_cin(const float *x, size_t cin, size_t ih, size_t iw,
                      const uint32_t *wp, size_t co, float *y, size_t ldy,
                      size_t ow, size_t oy0, size_t oy1, size_t pad_t,
                      size_t pad_l, const nn_post *post, const int pairs) {
  switch (cin) {
  case 1:
    by_act(x, ih, iw, wp, co, y, ldy, ow, oy0, oy1, pad_t, pad_l, post, 1,
           pairs);
    break;
  case 2:
    by_act(x, ih, iw, wp, co, y, ldy, ow, oy0, oy1, pad_t, pad_l, post, 2,
           pairs);
    break;
  case 3:
    by_act(x, ih, iw, wp, co, y, ldy, ow, oy0, oy1, pad_t, pad_l, post, 3,
           pairs);
    break;
  default:
    by_act(x, ih, iw, wp, co, y, ldy, ow, oy0, oy1, pad_t, pad_l, post, 4,
           pairs);
    break;
  }
}

void nn_bf16_conv3x3s2c_avx512(const float *x, size_t cin, size_t ih, size_t iw,
                               const uint32_t *wp, size_t co, float *y,
                               size_t ldy, size_t ow, size_t oy0, size_t oy1,
                               size_t pad_t, size_t pad_l,
                               const nn_post *post) {
  by_cin(x, cin, ih, iw, wp, co, y, ldy, ow, oy0, oy1, pad_t, pad_l, post, 0);
}

void nn_bf16_conv3x3s2c_pairs_avx512(const float *x, size_t cin, size_t ih,
                                     size_t iw, const uint32_t *wp, size_t co,
                                     uint32_t *y, size_t ldy, size_t ow,
                                     size_t oy0, size_t oy1, size_t pad_t,
                                     size_t pad_l, const nn_post *post) {
  by_cin(x, cin, ih, iw, wp, co, (float *)(void *)y, ldy, ow, oy0, oy1, pad_t,
         pad_l, post, 1);
}
#endif
