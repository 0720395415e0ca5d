/* Reference INT8 GEMM (kernels.h, nn_i8_gemm_fn) and the packing of its
 * weights: plain C with the rounding of CVTPS2DQ and the exact int32 sums of
 * VPDPBUSD, so that the AVX-512 kernel can be compared with it bit for bit. */
#include <math.h>
#include <string.h>

#include "nn/kernels/kernels.h"

/* float -> int32 as CVTPS2DQ: round to nearest even; NaN and out of range
 * give INT32_MIN. */
static int32_t cvt_rne(float v) {
  if (!(fabsf(v) < 2147483520.0f))
    return INT32_MIN;
  return (int32_t)nearbyintf(v);
}

/* One value of B quantised with the block's q (kernels.h). */
static uint32_t quant_u8(float x, const nn_i8_q *q) {
  int64_t u = (int64_t)cvt_rne(x * q->inv) + q->zp;
  return (uint32_t)(u < 0 ? 0 : u > 255 ? 255 : u);
}

void nn_i8_pack_a(size_t m, size_t k, const float *src, size_t rs, size_t cs,
                  uint32_t *dst) {
  const size_t kq = (k + 3) / 4;
  for (size_t p0 = 0; p0 < m; p0 += NN_I8_MR) {
    float *sa = (float *)(void *)dst;
    int32_t *rsum = (int32_t *)(void *)(dst + NN_I8_MR);
    uint32_t *quads = dst + 2 * NN_I8_MR;
    memset(dst, 0, nn_i8_panel_size(k) * sizeof *dst);
    for (size_t i = 0; i < NN_I8_MR && p0 + i < m; i++) {
      const float *r = src + (p0 + i) * rs;
      float mx = 0.0f;
      for (size_t kk = 0; kk < k; kk++)
        mx = fabsf(r[kk * cs]) > mx ? fabsf(r[kk * cs]) : mx;
      float inv = mx > 0.0f ? 127.0f / mx : 0.0f;
      sa[i] = mx / 127.0f;
      int32_t sum = 0;
      for (size_t q = 0; q < kq; q++) {
        uint32_t d = 0;
        for (size_t b = 0; b < 4 && 4 * q + b < k; b++) {
          int32_t v = cvt_rne(r[(4 * q + b) * cs] * inv);
          v = v < -127 ? -127 : v > 127 ? 127 : v;
          sum += v;
          d |= (uint32_t)(uint8_t)(int8_t)v << (8 * b);
        }
        quads[q * NN_I8_MR + i] = d;
      }
      rsum[i] = sum;
    }
    dst += nn_i8_panel_size(k);
  }
}

void nn_i8_gemm_ref(size_t m, size_t n, size_t k, const uint32_t *a,
                    const float *b, size_t ldb, const float *const *bp,
                    size_t boff, float *c, size_t ldc, const nn_post *post,
                    uint32_t *bbuf) {
  const size_t panel = nn_i8_panel_size(k);
  nn_post nobias = *post; /* the bias is in the fma's additive term */
  nobias.bias = NULL;
  (void)bbuf;
  for (size_t j0 = 0; j0 < n; j0 += NN_I8_NB) {
    size_t cols = n - j0 < NN_I8_NB ? n - j0 : NN_I8_NB;
    float lo = 0.0f, hi = 0.0f;
    for (size_t kk = 0; kk < k; kk++) {
      const float *r = bp ? bp[kk] + boff : b + kk * ldb;
      for (size_t j = j0; j < j0 + cols; j++) {
        lo = r[j] < lo ? r[j] : lo;
        hi = r[j] > hi ? r[j] : hi;
      }
    }
    nn_i8_q q = nn_i8_block_q(lo, hi);
    for (size_t i = 0; i < m; i++) {
      const uint32_t *pa = a + i / NN_I8_MR * panel;
      const size_t ri = i % NN_I8_MR;
      const float sa = ((const float *)(const void *)pa)[ri];
      const int32_t rsum = ((const int32_t *)(const void *)(pa + NN_I8_MR))[ri];
      const uint32_t *quads = pa + 2 * NN_I8_MR;
      for (size_t j = j0; j < j0 + cols; j++) {
        int32_t acc = 0;
        for (size_t kk = 0; kk < k; kk++) {
          const float *r = bp ? bp[kk] + boff : b + kk * ldb;
          int32_t w = (int8_t)(uint8_t)(quads[kk / 4 * NN_I8_MR + ri] >>
                                        (8 * (kk % 4)));
          acc += w * (int32_t)quant_u8(r[j], &q);
        }
        float sc = sa * q.scale;
        float y = fmaf((float)acc, sc, nn_i8_offset(post, i, q.zp * rsum, sc));
        const float *rr = post->res ? post->res + i * post->ldr + j : NULL;
        c[i * ldc + j] = nn_post_apply(&nobias, i, y, rr);
      }
    }
  }
}
