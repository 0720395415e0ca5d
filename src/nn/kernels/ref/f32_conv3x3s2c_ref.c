/* Reference direct 3x3 stride-2 convolution of a few input channels. */
#include "nn/kernels/kernels.h"

void nn_f32_conv3x3s2c_ref(const float *x, size_t cin, size_t ih, size_t iw,
                           const float *w, size_t co, float *y, size_t ldy,
                           size_t ow, size_t oy0, size_t oy1, size_t pad_t,
                           size_t pad_l, const nn_post *post) {
  for (size_t o = 0; o < co; o++)
    for (size_t oy = oy0; oy < oy1; oy++)
      for (size_t ox = 0; ox < ow; ox++) {
        float acc = 0.0f;
        /* the order of the SIMD kernels: channel, kernel row, column */
        for (size_t c = 0; c < cin; c++)
          for (size_t ky = 0; ky < 3; ky++) {
            ptrdiff_t iy = (ptrdiff_t)(2 * oy + ky) - (ptrdiff_t)pad_t;
            if (iy < 0 || iy >= (ptrdiff_t)ih)
              continue;
            const float *row = x + (c * ih + (size_t)iy) * iw;
            const float *wk = w + (o * cin + c) * 9 + ky * 3;
            for (size_t kx = 0; kx < 3; kx++) {
              ptrdiff_t ix = (ptrdiff_t)(2 * ox + kx) - (ptrdiff_t)pad_l;
              if (ix >= 0 && ix < (ptrdiff_t)iw)
                acc += wk[kx] * row[ix];
            }
          }
        size_t p = oy * ow + ox;
        y[o * ldy + p] = nn_post_apply(
            post, o, acc, post->res ? post->res + o * post->ldr + p : NULL);
      }
}
