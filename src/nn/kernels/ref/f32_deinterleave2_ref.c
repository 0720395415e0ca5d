/* Reference even/odd split of a row. */
#include "nn/kernels/kernels.h"

void nn_f32_deinterleave2_ref(const float *src, size_t n, float *even,
                              float *odd) {
  size_t j = 0;
  for (; 2 * j + 1 < n; j++) {
    even[j] = src[2 * j];
    odd[j] = src[2 * j + 1];
  }
  if (2 * j < n)
    even[j] = src[2 * j];
}
