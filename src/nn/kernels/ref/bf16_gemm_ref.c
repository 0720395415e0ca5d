/* Reference BF16 GEMM (kernels.h, nn_bf16_gemm_fn): plain C with the
 * rounding of VCVTNE2PS2BF16 and VDPBF16PS, so that the AVX-512 kernel can
 * be compared with it bit for bit; the same for the direct 3x3 stride-2
 * conv. */
#include <float.h>
#include <math.h>

#include "nn/kernels/kernels.h"

/* bf16 bits -> float, a denormal read as signed zero (VDPBF16PS's DAZ). */
static float bf16_to_f32(uint32_t h) {
  if ((h & 0x7f80u) == 0)
    h &= 0x8000u;
  union {
    uint32_t u;
    float f;
  } v = {h << 16};
  return v.f;
}

/* A float32 sum as VDPBF16PS leaves it: denormals flushed to zero. */
static float ftz(float x) { return fabsf(x) < FLT_MIN ? x * 0.0f : x; }

/* One VDPBF16PS lane: the odd (high) product first, then the even one. */
static float dp_pair(float acc, uint32_t a, uint32_t b) {
  float hi = bf16_to_f32(a >> 16) * bf16_to_f32(b >> 16);
  acc = ftz(acc + hi);
  float lo = bf16_to_f32(a & 0xffffu) * bf16_to_f32(b & 0xffffu);
  return ftz(acc + lo);
}

void nn_bf16_gemm_ref(size_t m, size_t n, size_t k, const uint32_t *a,
                      const float *b, size_t ldb, const float *const *bp,
                      size_t boff, float *c, size_t ldc, const nn_post *post,
                      uint32_t *bbuf) {
  const size_t kp = (k + 1) / 2, panel = nn_bf16_panel_size(k);
  (void)bbuf;
  for (size_t i = 0; i < m; i++) {
    const uint32_t *ai = a + i / NN_BF16_MR * panel + i % NN_BF16_MR;
    for (size_t j = 0; j < n; j++) {
      float acc = 0.0f;
      for (size_t q = 0; q < kp; q++) {
        size_t k0 = 2 * q, k1 = 2 * q + 1;
        const float *r0 = bp ? bp[k0] + boff : b + k0 * ldb;
        uint32_t b0 = nn_bf16_from_f32(r0[j]), b1 = 0;
        if (k1 < k) {
          const float *r1 = bp ? bp[k1] + boff : b + k1 * ldb;
          b1 = nn_bf16_from_f32(r1[j]);
        }
        acc = dp_pair(acc, ai[q * NN_BF16_MR], b0 | b1 << 16);
      }
      const float *rr = post->res ? post->res + i * post->ldr + j : NULL;
      c[i * ldc + j] = nn_post_apply(post, i, acc, rr);
    }
  }
}

void nn_bf16_conv3x3s2c_ref(const float *x, size_t cin, size_t ih, size_t iw,
                            const uint32_t *wp, size_t co, float *y,
                            size_t ldy, size_t ow, size_t oy0, size_t oy1,
                            size_t pad_t, size_t pad_l, const nn_post *post) {
  for (size_t o = 0; o < co; o++)
    for (size_t oy = oy0; oy < oy1; oy++)
      for (size_t ox = 0; ox < ow; ox++) {
        float acc = 0.0f;
        for (size_t c = 0; c < cin; c++)
          for (size_t ky = 0; ky < 3; ky++) {
            ptrdiff_t iy = (ptrdiff_t)(2 * oy + ky) - (ptrdiff_t)pad_t;
            if (iy < 0 || iy >= (ptrdiff_t)ih)
              continue;
            const float *row = x + (c * ih + (size_t)iy) * iw;
            uint32_t xb[4];
            for (size_t kx = 0; kx < 4; kx++) {
              ptrdiff_t ix = (ptrdiff_t)(2 * ox + kx) - (ptrdiff_t)pad_l;
              xb[kx] = ix >= 0 && ix < (ptrdiff_t)iw ? nn_bf16_from_f32(row[ix])
                                                     : 0;
            }
            const uint32_t *w = wp + ((o * cin + c) * 3 + ky) * 2;
            acc = dp_pair(acc, xb[0] | xb[1] << 16, w[0]);
            acc = dp_pair(acc, xb[2] | xb[3] << 16, w[1]);
          }
        size_t p = oy * ow + ox;
        y[o * ldy + p] = nn_post_apply(
            post, o, acc, post->res ? post->res + o * post->ldr + p : NULL);
      }
}

void nn_bf16_pairs_ref(const float *lo, const float *hi, uint32_t *dst,
                       size_t n) {
  for (size_t i = 0; i < n; i++)
    dst[i] = nn_bf16_from_f32(lo[i]) |
             (uint32_t)(hi ? nn_bf16_from_f32(hi[i]) : 0) << 16;
}

void nn_bf16_gemm_pairs_ref(size_t m, size_t n, size_t k, const uint32_t *a,
                            const uint32_t *b, size_t ldb, float *c,
                            size_t ldc, const nn_post *post) {
  const size_t kp = (k + 1) / 2, panel = nn_bf16_panel_size(k);
  for (size_t i = 0; i < m; i++) {
    const uint32_t *ai = a + i / NN_BF16_MR * panel + i % NN_BF16_MR;
    for (size_t j = 0; j < n; j++) {
      float acc = 0.0f;
      for (size_t q = 0; q < kp; q++)
        acc = dp_pair(acc, ai[q * NN_BF16_MR], b[q * ldb + j]);
      const float *rr = post->res ? post->res + i * post->ldr + j : NULL;
      c[i * ldc + j] = nn_post_apply(post, i, acc, rr);
    }
  }
}
