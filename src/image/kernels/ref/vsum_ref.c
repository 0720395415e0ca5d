/* Reference vertical pass of the resampler. */
#include "image/kernels/kernels.h"

void img_vsum_ref(const uint8_t *const *rows, const float *w, int k, float *out,
                  size_t n) {
  for (size_t i = 0; i < n; i++) {
    float acc = 0.0f;
    for (int j = 0; j < k; j++)
      acc = acc + w[j] * (float)rows[j][i];
    out[i] = acc;
  }
}
