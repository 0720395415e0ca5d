/* Reference depthwise 3x3 convolution, stride 1, one channel plane. */
#include "nn/kernels/kernels.h"

#include "dwconv3x3_ref.h"

void nn_f32_dwconv3x3s1_ref(const float *x, size_t ih, size_t iw,
                            const float *w, float *y, size_t oh, size_t ow,
                            size_t pad_t, size_t pad_l, const nn_post *post) {
  nn_dwconv3x3_ref_(x, ih, iw, w, y, oh, ow, pad_t, pad_l, 1, post);
}
