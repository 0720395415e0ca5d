/* Reference float -> byte packing (nearest, ties to even, saturated). */
#include "image/kernels/kernels.h"

void img_pack_u8_ref(const float *in, uint8_t *out, size_t n) {
  for (size_t i = 0; i < n; i++) {
    int v = img_rint(in[i]);
    v &= ~(v >> 31);
    v |= (255 - v) >> 31;
    out[i] = (uint8_t)v;
  }
}
