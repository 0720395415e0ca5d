/* Reference YUV 4:2:0 -> RGB8/BGR8 rows (the fixed point of kernels.h);
 * also the scalar tails of the SIMD versions. */
#include "image/kernels/kernels.h"

/* Two pixels share one chroma sample: its terms are computed once. */
static inline void yuv_pair(const uint8_t *y, int n, int U, int V, uint8_t *d,
                            int ri, int bi) {
  int u7 = (U - 128) * 128, v7 = (V - 128) * 128, u8 = (U - 128) * 256;
  int rv = img_mulhrs16(v7, IMG_YUV_CRV), gu = img_mulhrs16(u7, IMG_YUV_CGU);
  int gv = img_mulhrs16(v7, IMG_YUV_CGV), bu = img_mulhrs16(u8, IMG_YUV_CBU);
  for (int i = 0; i < n; i++, d += 3) {
    int yy = img_mulhrs16((y[i] - 16) * 128, IMG_YUV_CY);
    d[ri] = img_q6_to_u8(img_sat16(yy + rv));
    d[1] = img_q6_to_u8(img_sat16(img_sat16(yy - gu) - gv));
    d[bi] = img_q6_to_u8(img_sat16(yy + bu));
  }
}

void img_yuv420_row_ref(const uint8_t *y, const uint8_t *u, const uint8_t *v,
                        uint8_t *dst, int width, int bgr) {
  int ri = bgr ? 2 : 0, bi = bgr ? 0 : 2;
  for (int x = 0; x < width; x += 2)
    yuv_pair(y + x, width - x < 2 ? 1 : 2, u[x >> 1], v[x >> 1],
             dst + 3 * (size_t)x, ri, bi);
}

void img_nv12_row_ref(const uint8_t *y, const uint8_t *uv, uint8_t *dst,
                      int width, int bgr) {
  int ri = bgr ? 2 : 0, bi = bgr ? 0 : 2;
  for (int x = 0; x < width; x += 2)
    yuv_pair(y + x, width - x < 2 ? 1 : 2, uv[x], uv[x + 1],
             dst + 3 * (size_t)x, ri, bi);
}
