/* The depthwise 3x3 reference shared by the stride-1 and stride-2 entries. */
#ifndef ARGUS_NN_KERNELS_DWCONV3X3_REF_H
#define ARGUS_NN_KERNELS_DWCONV3X3_REF_H

#include "nn/kernels/kernels.h"

static inline void nn_dwconv3x3_ref_(const float *x, size_t ih, size_t iw,
                                     const float *w, float *y, size_t oh,
                                     size_t ow, size_t pad_t, size_t pad_l,
                                     size_t s, const nn_post *post) {
  for (size_t oy = 0; oy < oh; oy++) {
    for (size_t ox = 0; ox < ow; ox++) {
      float acc = 0.0f;
      for (size_t ky = 0; ky < 3; ky++) {
        /* unsigned wrap-around makes "negative" positions huge: skipped */
        size_t iy = oy * s + ky - pad_t;
        if (iy >= ih)
          continue;
        for (size_t kx = 0; kx < 3; kx++) {
          size_t ix = ox * s + kx - pad_l;
          if (ix < iw)
            acc += w[ky * 3 + kx] * x[iy * iw + ix];
        }
      }
      const float *r = post->res ? post->res + oy * post->ldr + ox : NULL;
      y[oy * ow + ox] = nn_post_apply(post, 0, acc, r);
    }
  }
}

#endif
