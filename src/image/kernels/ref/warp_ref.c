/* Reference row of the bilinear affine warp (img_warp_px per pixel). */
#include "image/kernels/kernels.h"

void img_warp_row_ref(const uint8_t *src, int sw, int sh, int sstride, int cn,
                      float bx, float by, float m0, float m3, uint8_t *dst,
                      int dw) {
  for (int x = 0; x < dw; x++) {
    float fx = (float)x;
    img_warp_px(src, sw, sh, sstride, cn, bx + m0 * fx, by + m3 * fx,
                dst + (size_t)x * cn);
  }
}
