/* Reference 4x4 box mean of packed RGB8 rows. */
#include "image/kernels/kernels.h"

void img_box4_rgb_ref(const uint8_t *const *rows, int npx, float *out) {
  for (int x = 0; x < npx; x++)
    for (int c = 0; c < 3; c++) {
      int s = 0;
      for (int r = 0; r < 4; r++) {
        const uint8_t *p = rows[r] + 12 * (size_t)x + (size_t)c;
        s += p[0] + p[3] + p[6] + p[9];
      }
      out[3 * (size_t)x + (size_t)c] = (float)s * 0.0625f;
    }
}
