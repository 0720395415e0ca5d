/* Reference 2x2 stride-2 max pooling of one output row. */
#include "nn/kernels/kernels.h"

void nn_f32_maxpool2x2_ref(const float *r0, const float *r1, float *y,
                           size_t n) {
  for (size_t j = 0; j < n; j++) {
    float b = r0[2 * j];
    b = r0[2 * j + 1] > b ? r0[2 * j + 1] : b;
    b = r1[2 * j] > b ? r1[2 * j] : b;
    b = r1[2 * j + 1] > b ? r1[2 * j + 1] : b;
    y[j] = b;
  }
}
