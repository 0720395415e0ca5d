/* Colour conversion: packed <-> packed, YUV 4:2:0 (planar, NV12) -> packed
 * with BT.601 limited range through the kernel table. */
#include <string.h>

#include "image/image_internal.h"
#include "image/kernels/kernels.h"

void img_convert_row_packed(argus_pixfmt sfmt, const uint8_t *s,
                            argus_pixfmt dfmt, uint8_t *d, int w) {
  if (sfmt == dfmt) {
    if (s != d)
      memcpy(d, s, (size_t)w * (size_t)argus_pixfmt_channels(sfmt));
    return;
  }
  if (sfmt == ARGUS_PIX_GRAY8) {
    for (int x = 0; x < w; x++)
      d[3 * x] = d[3 * x + 1] = d[3 * x + 2] = s[x];
    return;
  }
  int ri = sfmt == ARGUS_PIX_RGB8 ? 0 : 2, bi = 2 - ri;
  if (dfmt == ARGUS_PIX_GRAY8) {
    for (int x = 0; x < w; x++)
      d[x] = img_gray_of(s[3 * x + ri], s[3 * x + 1], s[3 * x + bi]);
    return;
  }
  /* RGB8 <-> BGR8; safe in place. */
  for (int x = 0; x < w; x++) {
    uint8_t a = s[3 * x], b = s[3 * x + 1], c = s[3 * x + 2];
    d[3 * x] = c;
    d[3 * x + 1] = b;
    d[3 * x + 2] = a;
  }
}

static int valid(const argus_image *im) {
  if (!im || im->width < 1 || im->height < 1 || !im->data[0] ||
      im->stride[0] <= 0)
    return 0;
  switch (im->format) {
  case ARGUS_PIX_GRAY8:
  case ARGUS_PIX_RGB8:
  case ARGUS_PIX_BGR8:
    return 1;
  case ARGUS_PIX_YUV420P:
    return im->data[1] && im->data[2] && im->stride[1] > 0 && im->stride[2] > 0;
  case ARGUS_PIX_NV12:
    return im->data[1] && im->stride[1] > 0;
  default:
    return 0;
  }
}

argus_err argus_image_convert(const argus_image *src, argus_image *dst) {
  if (!valid(src) || !valid(dst)) {
    argus_log(ARGUS_LOG_ERROR, IMG_LOG,
              "convert: invalid source or destination");
    return ARGUS_E_INVALID_ARG;
  }
  if (src->width != dst->width || src->height != dst->height) {
    argus_log(ARGUS_LOG_ERROR, IMG_LOG,
              "convert: sizes differ (%dx%d -> %dx%d)", src->width, src->height,
              dst->width, dst->height);
    return ARGUS_E_INVALID_ARG;
  }
  if (argus_pixfmt_channels(dst->format) == 0) {
    argus_log(ARGUS_LOG_ERROR, IMG_LOG, "convert: cannot convert to %s",
              argus_pixfmt_name(dst->format));
    return ARGUS_E_UNSUPPORTED;
  }
  int w = src->width, h = src->height;
  size_t ds = (size_t)dst->stride[0];
  if (argus_pixfmt_channels(src->format)) {
    for (int y = 0; y < h; y++)
      img_convert_row_packed(src->format,
                             src->data[0] + (size_t)y * (size_t)src->stride[0],
                             dst->format, dst->data[0] + (size_t)y * ds, w);
    return ARGUS_OK;
  }
  if (dst->format == ARGUS_PIX_GRAY8) {
    /* Grey is the luma expanded to full range. */
    uint8_t lut[256];
    for (int i = 0; i < 256; i++)
      lut[i] = img_q6_to_u8(img_mulhrs16((i - 16) * 128, IMG_YUV_CY));
    for (int y = 0; y < h; y++) {
      const uint8_t *s = src->data[0] + (size_t)y * (size_t)src->stride[0];
      uint8_t *d = dst->data[0] + (size_t)y * ds;
      for (int x = 0; x < w; x++)
        d[x] = lut[s[x]];
    }
    return ARGUS_OK;
  }
  const img_kernels *k = img_kernels_get();
  int bgr = dst->format == ARGUS_PIX_BGR8;
  for (int y = 0; y < h; y++) {
    const uint8_t *yr = src->data[0] + (size_t)y * (size_t)src->stride[0];
    size_t co = (size_t)(y >> 1);
    uint8_t *d = dst->data[0] + (size_t)y * ds;
    if (src->format == ARGUS_PIX_YUV420P)
      k->yuv420_row(yr, src->data[1] + co * (size_t)src->stride[1],
                    src->data[2] + co * (size_t)src->stride[2], d, w, bgr);
    else
      k->nv12_row(yr, src->data[1] + co * (size_t)src->stride[1], d, w, bgr);
  }
  return ARGUS_OK;
}
