/* Reference horizontal pass of the resampler. */
#include "image/kernels/kernels.h"

void img_hsum_ref(const float *v, const int32_t *idx, const float *w, int k,
                  int step, size_t n, float *out) {
  for (size_t e = 0; e < n; e++) {
    float acc = 0.0f;
    const float *p = v + idx[e];
    for (int j = 0; j < k; j++)
      acc = acc + w[(size_t)j * n + e] * p[(size_t)j * (size_t)step];
    out[e] = acc;
  }
}
