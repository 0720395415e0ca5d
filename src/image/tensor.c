/* Resampling a rectangle of an image straight into a normalised planar
 * float tensor: the preprocessing of every model input. */
#include <math.h>
#include <string.h>

#include "image/image_internal.h"

typedef struct tensor_ctx {
  float *out;
  int w, h;
  int cn;      /* source channels: 1 or 3 */
  int order;   /* argus_channel_order */
  int src_bgr; /* source is BGR8 */
  float mean, scale;
} tensor_ctx;

static void emit_tensor(void *c, int y, const float *row, int pad,
                        const uint8_t *xpad) {
  tensor_ctx *t = c;
  size_t plane = (size_t)t->w * (size_t)t->h;
  float *o = t->out + (size_t)y * (size_t)t->w;
  const float m = t->mean, s = t->scale, zero = (0.0f - m) * s;
  int outc = t->order == ARGUS_CH_GRAY ? 1 : 3;
  if (pad) {
    for (int c2 = 0; c2 < outc; c2++)
      for (int x = 0; x < t->w; x++)
        o[c2 * plane + (size_t)x] = zero;
    return;
  }
  if (t->cn == 1) {
    for (int x = 0; x < t->w; x++) {
      float v = xpad[x] ? zero : (row[x] - m) * s;
      for (int c2 = 0; c2 < outc; c2++)
        o[c2 * plane + (size_t)x] = v;
    }
    return;
  }
  if (outc == 1) {
    int ri = t->src_bgr ? 2 : 0, bi = 2 - ri;
    for (int x = 0; x < t->w; x++) {
      const float *p = row + 3 * (size_t)x;
      float g = 0.299f * p[ri] + 0.587f * p[1] + 0.114f * p[bi];
      o[x] = xpad[x] ? zero : (g - m) * s;
    }
    return;
  }
  /* Plane c of the output takes source channel map[c]. */
  int want_bgr = t->order == ARGUS_CH_BGR;
  int map[3] = {0, 1, 2};
  if (want_bgr != t->src_bgr)
    map[0] = 2, map[2] = 0;
  float *o0 = o, *o1 = o + plane, *o2 = o + 2 * plane;
  for (int x = 0; x < t->w; x++) {
    const float *p = row + 3 * (size_t)x;
    if (xpad[x]) {
      o0[x] = o1[x] = o2[x] = zero;
      continue;
    }
    o0[x] = (p[map[0]] - m) * s;
    o1[x] = (p[map[1]] - m) * s;
    o2[x] = (p[map[2]] - m) * s;
  }
}

argus_err argus_image_to_tensor(const argus_image *src, const float box[4],
                                int out_w, int out_h, int channel_order,
                                float mean, float scale, float *out) {
  if (!src || !box || !out || !src->data[0] || src->width < 1 ||
      src->height < 1) {
    argus_log(ARGUS_LOG_ERROR, IMG_LOG, "to_tensor: invalid arguments");
    return ARGUS_E_INVALID_ARG;
  }
  if (argus_pixfmt_channels(src->format) == 0) {
    argus_log(ARGUS_LOG_ERROR, IMG_LOG,
              "to_tensor: %s source is not supported (convert first)",
              argus_pixfmt_name(src->format));
    return ARGUS_E_UNSUPPORTED;
  }
  if (out_w < 1 || out_h < 1 || out_w > ARGUS_IMAGE_MAX_SIDE ||
      out_h > ARGUS_IMAGE_MAX_SIDE) {
    argus_log(ARGUS_LOG_ERROR, IMG_LOG,
              "to_tensor: output size %dx%d out of range", out_w, out_h);
    return ARGUS_E_INVALID_ARG;
  }
  if (channel_order != ARGUS_CH_RGB && channel_order != ARGUS_CH_BGR &&
      channel_order != ARGUS_CH_GRAY) {
    argus_log(ARGUS_LOG_ERROR, IMG_LOG, "to_tensor: bad channel order %d",
              channel_order);
    return ARGUS_E_INVALID_ARG;
  }
  for (int i = 0; i < 4; i++)
    if (!isfinite(box[i]) || fabsf(box[i]) > 1e9f) {
      argus_log(ARGUS_LOG_ERROR, IMG_LOG, "to_tensor: box coordinate %d is %g",
                i, (double)box[i]);
      return ARGUS_E_INVALID_ARG;
    }
  if (!(box[2] > box[0]) || !(box[3] > box[1]) || !isfinite(mean) ||
      !isfinite(scale)) {
    argus_log(ARGUS_LOG_ERROR, IMG_LOG,
              "to_tensor: empty box [%g %g %g %g] or non-finite mean/scale",
              (double)box[0], (double)box[1], (double)box[2], (double)box[3]);
    return ARGUS_E_INVALID_ARG;
  }
  tensor_ctx t = {out,           out_w,
                  out_h,         argus_pixfmt_channels(src->format),
                  channel_order, src->format == ARGUS_PIX_BGR8,
                  mean,          scale};
  double b[4] = {box[0], box[1], box[2], box[3]};
  argus_err rc = img_resample(src, b, out_w, out_h, emit_tensor, &t);
  if (rc == ARGUS_E_NOMEM)
    argus_log(ARGUS_LOG_ERROR, IMG_LOG, "to_tensor: out of memory for scratch");
  return rc;
}
