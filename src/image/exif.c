/* EXIF orientation: a bounds-checked reader of tag 0x0112 in IFD0 of the
 * TIFF structure inside an APP1 "Exif" segment (or a PNG eXIf chunk), and
 * the eight orientations applied to decoded pixels. */
#include <string.h>

#include "image/image_internal.h"

static unsigned rd16(const uint8_t *p, int le) {
  return le ? (unsigned)p[0] | (unsigned)p[1] << 8
            : (unsigned)p[1] | (unsigned)p[0] << 8;
}

static uint32_t rd32(const uint8_t *p, int le) {
  return le ? (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                  (uint32_t)p[3] << 24
            : (uint32_t)p[3] | (uint32_t)p[2] << 8 | (uint32_t)p[1] << 16 |
                  (uint32_t)p[0] << 24;
}

int img_exif_orientation_tiff(const uint8_t *t, size_t len) {
  if (!t || len < 8)
    return 1;
  int le;
  if (t[0] == 'I' && t[1] == 'I')
    le = 1;
  else if (t[0] == 'M' && t[1] == 'M')
    le = 0;
  else
    return 1;
  if (rd16(t + 2, le) != 42)
    return 1;
  uint32_t ifd = rd32(t + 4, le);
  if (ifd < 8 || ifd > len || len - ifd < 2)
    return 1;
  unsigned count = rd16(t + ifd, le);
  size_t pos = (size_t)ifd + 2;
  for (unsigned i = 0; i < count; i++, pos += 12) {
    if (len - pos < 12)
      return 1;
    const uint8_t *e = t + pos;
    if (rd16(e, le) != 0x0112)
      continue;
    unsigned type = rd16(e + 2, le);
    uint32_t n = rd32(e + 4, le);
    unsigned v;
    if (type == 3 && n >= 1) /* SHORT, stored in the first 2 value bytes */
      v = rd16(e + 8, le);
    else if (type == 4 && n == 1) /* LONG: not standard, seen in the wild */
      v = (unsigned)rd32(e + 8, le);
    else
      return 1;
    return v >= 1 && v <= 8 ? (int)v : 1;
  }
  return 1;
}

int img_exif_orientation_app1(const uint8_t *app1, size_t len) {
  /* "Exif" NUL and a pad byte (NUL, sometimes 0xff) precede the TIFF data. */
  if (!app1 || len < 6 || memcmp(app1, "Exif\0", 5) != 0)
    return 1;
  return img_exif_orientation_tiff(app1 + 6, len - 6);
}

static void swap_px(uint8_t *a, uint8_t *b, int cn) {
  for (int c = 0; c < cn; c++) {
    uint8_t t = a[c];
    a[c] = b[c];
    b[c] = t;
  }
}

/* Orientations 2-4 keep the size and are done in place. */
static void flip_in_place(argus_image *img, int o) {
  int w = img->width, h = img->height, cn = argus_pixfmt_channels(img->format);
  size_t st = (size_t)img->stride[0];
  uint8_t *d = img->data[0];
  if (o == 2 || o == 3) /* mirror each row */
    for (int y = 0; y < h; y++) {
      uint8_t *r = d + (size_t)y * st;
      for (int x = 0; x < w / 2; x++)
        swap_px(r + (size_t)x * cn, r + (size_t)(w - 1 - x) * cn, cn);
    }
  if (o == 3 || o == 4) /* swap rows top to bottom */
    for (int y = 0; y < h / 2; y++) {
      uint8_t *a = d + (size_t)y * st, *b = d + (size_t)(h - 1 - y) * st;
      for (size_t i = 0; i < (size_t)w * cn; i++) {
        uint8_t t = a[i];
        a[i] = b[i];
        b[i] = t;
      }
    }
}

argus_err img_apply_orientation(argus_image *img, int o) {
  if (o < 2 || o > 8)
    return ARGUS_OK;
  if (o <= 4) {
    flip_in_place(img, o);
    return ARGUS_OK;
  }
  /* 5-8 swap width and height: output (x, y) reads stored (sx, sy). */
  int w = img->width, h = img->height, cn = argus_pixfmt_channels(img->format);
  argus_image t;
  argus_err rc = argus_image_alloc(&t, h, w, img->format);
  if (rc != ARGUS_OK)
    return rc;
  size_t ss = (size_t)img->stride[0];
  /* 64x64 tiles keep both the rows read and the rows written in cache. */
  for (int ty = 0; ty < w; ty += 64)
    for (int tx = 0; tx < h; tx += 64)
      for (int y = ty; y < w && y < ty + 64; y++) {
        uint8_t *dr = t.data[0] + (size_t)y * (size_t)t.stride[0];
        for (int x = tx; x < h && x < tx + 64; x++) {
          int sx, sy;
          switch (o) {
          case 5:
            sx = y, sy = x;
            break; /* transpose */
          case 6:
            sx = y, sy = h - 1 - x;
            break; /* rotate 90 CW */
          case 7:
            sx = w - 1 - y, sy = h - 1 - x;
            break; /* transverse */
          default:
            sx = w - 1 - y, sy = x;
            break; /* 8: 90 CCW */
          }
          const uint8_t *s = img->data[0] + (size_t)sy * ss + (size_t)sx * cn;
          for (int c = 0; c < cn; c++)
            dr[(size_t)x * cn + c] = s[c];
        }
      }
  argus_image_free(img);
  *img = t;
  return ARGUS_OK;
}
