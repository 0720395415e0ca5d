/* Reference fp32 dot product. */
#include "core/kernels/kernels.h"

float core_f32_dot_ref(const float *a, const float *b, size_t n) {
  float s = 0.0f;
  for (size_t i = 0; i < n; i++)
    s += a[i] * b[i];
  return s;
}
