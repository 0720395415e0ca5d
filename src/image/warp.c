/* Affine warp (bilinear, zero border) through the kernel table. */
#include <math.h>

#include "image/image_internal.h"
#include "image/kernels/kernels.h"

argus_err argus_image_warp_affine(const argus_image *src, const float m[6],
                                  argus_image *dst) {
  if (!src || !dst || !m || !src->data[0] || !dst->data[0] || src->width < 1 ||
      src->height < 1 || dst->width < 1 || dst->height < 1) {
    argus_log(ARGUS_LOG_ERROR, IMG_LOG, "warp: invalid arguments");
    return ARGUS_E_INVALID_ARG;
  }
  int cn = argus_pixfmt_channels(src->format);
  if (cn == 0) {
    argus_log(ARGUS_LOG_ERROR, IMG_LOG,
              "warp: %s is not supported (convert first)",
              argus_pixfmt_name(src->format));
    return ARGUS_E_UNSUPPORTED;
  }
  if (dst->format != src->format) {
    argus_log(ARGUS_LOG_ERROR, IMG_LOG, "warp: formats differ (%s -> %s)",
              argus_pixfmt_name(src->format), argus_pixfmt_name(dst->format));
    return ARGUS_E_INVALID_ARG;
  }
  for (int i = 0; i < 6; i++)
    if (!isfinite(m[i])) {
      argus_log(ARGUS_LOG_ERROR, IMG_LOG, "warp: matrix element %d is %g", i,
                (double)m[i]);
      return ARGUS_E_INVALID_ARG;
    }
  const img_kernels *k = img_kernels_get();
  for (int y = 0; y < dst->height; y++) {
    float fy = (float)y;
    float bx = m[1] * fy + m[2], by = m[4] * fy + m[5];
    k->warp_row(src->data[0], src->width, src->height, src->stride[0], cn, bx,
                by, m[0], m[3],
                dst->data[0] + (size_t)y * (size_t)dst->stride[0], dst->width);
  }
  return ARGUS_OK;
}
