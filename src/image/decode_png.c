/* PNG decoding with libpng.
 *
 * libpng expands palettes, low bit depths and tRNS to 8-bit grey/RGB with
 * or without alpha, scales 16-bit samples and de-interlaces; rows are then
 * converted to the output format here, compositing alpha over white.
 * Errors longjmp back to img_decode_png with libpng's message; the size is
 * checked from the IHDR bytes before libpng runs. */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <png.h>

#include "image/image_internal.h"

typedef struct pdec {
  png_structp png;
  png_infop info;
  const uint8_t *data;
  size_t size, pos;
  char msg[200];
  argus_image img; /* the result, freed on failure */
  uint8_t *buf;    /* a converted row, or the whole interlaced image */
  png_bytep *rows; /* row pointers for interlaced images */
  int orientation;
} pdec;

static void on_error(png_structp png, png_const_charp m) {
  pdec *st = png_get_error_ptr(png);
  snprintf(st->msg, sizeof st->msg, "%s", m ? m : "corrupt PNG data");
  png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp m) {
  (void)png;
  argus_log(ARGUS_LOG_DEBUG, IMG_LOG, "PNG: %s", m ? m : "");
}

static void on_read(png_structp png, png_bytep out, size_t n) {
  pdec *st = png_get_io_ptr(png);
  if (st->size - st->pos < n)
    png_error(png, "truncated PNG data");
  memcpy(out, st->data + st->pos, n);
  st->pos += n;
}

static inline unsigned over_white(unsigned c, unsigned a) {
  return (c * a + 255u * (255u - a) + 127u) / 255u;
}

/* One row of ch (1..4: G, GA, RGB, RGBA) 8-bit samples to fmt. */
static void convert_row(const uint8_t *s, int ch, argus_pixfmt fmt, uint8_t *d,
                        int w) {
  for (int x = 0; x < w; x++, s += ch) {
    unsigned r, g, b;
    if (ch <= 2) {
      r = g = b = ch == 2 ? over_white(s[0], s[1]) : s[0];
      if (fmt == ARGUS_PIX_GRAY8) {
        d[x] = (uint8_t)r;
        continue;
      }
    } else if (ch == 3) {
      r = s[0], g = s[1], b = s[2];
    } else {
      r = over_white(s[0], s[3]), g = over_white(s[1], s[3]),
      b = over_white(s[2], s[3]);
    }
    if (fmt == ARGUS_PIX_GRAY8)
      d[x] = img_gray_of(r, g, b);
    else if (fmt == ARGUS_PIX_RGB8)
      d[3 * x] = (uint8_t)r, d[3 * x + 1] = (uint8_t)g,
            d[3 * x + 2] = (uint8_t)b;
    else
      d[3 * x] = (uint8_t)b, d[3 * x + 1] = (uint8_t)g,
            d[3 * x + 2] = (uint8_t)r;
  }
}

/* Everything that can longjmp happens here (see decode_jpeg.c). */
static argus_err run(pdec *st, argus_pixfmt fmt, argus_image_error *err) {
  png_structp png = st->png;
  png_infop info = st->info;
  png_set_user_limits(png, ARGUS_IMAGE_MAX_SIDE, ARGUS_IMAGE_MAX_SIDE);
  png_set_chunk_cache_max(png, 1000);
  png_set_chunk_malloc_max(png, (png_alloc_size_t)16 << 20);
  png_set_read_fn(png, st, on_read);
  png_read_info(png, info);
  png_uint_32 w, h;
  int depth, ctype, interlace;
  png_get_IHDR(png, info, &w, &h, &depth, &ctype, &interlace, NULL, NULL);
  argus_err rc = img_check_size(w, h, err);
  if (rc != ARGUS_OK)
    return rc;
#ifdef PNG_eXIf_SUPPORTED
  png_bytep exif = NULL;
  png_uint_32 nexif = 0;
  if (png_get_eXIf_1(png, info, &nexif, &exif) && exif)
    st->orientation = img_exif_orientation_tiff(exif, nexif);
#endif
  if (ctype == PNG_COLOR_TYPE_PALETTE || depth < 8 ||
      png_get_valid(png, info, PNG_INFO_tRNS))
    png_set_expand(png);
  if (depth == 16)
    png_set_scale_16(png);
  int passes = png_set_interlace_handling(png);
  int cn = argus_pixfmt_channels(fmt);
  int colour = (ctype & PNG_COLOR_MASK_COLOR) != 0;
  int alpha = (ctype & PNG_COLOR_MASK_ALPHA) != 0 ||
              png_get_valid(png, info, PNG_INFO_tRNS);
  /* Rows that need no conversion go straight into the image. */
  int direct = !alpha && ((cn == 1 && !colour) || (cn == 3 && colour));
  if (direct && fmt == ARGUS_PIX_BGR8)
    png_set_bgr(png);
  png_read_update_info(png, info);
  int ch = png_get_channels(png, info);
  size_t rowbytes = png_get_rowbytes(png, info);
  if (ch < 1 || ch > 4 || rowbytes != (size_t)w * (size_t)ch ||
      (direct && ch != cn)) {
    img_seterr(err, "unexpected PNG layout (%d channels, %zu bytes per row)",
               ch, rowbytes);
    return ARGUS_E_UNSUPPORTED;
  }
  rc = argus_image_alloc(&st->img, (int)w, (int)h, fmt);
  if (rc != ARGUS_OK) {
    img_seterr(err, "out of memory for a %ux%u image", (unsigned)w,
               (unsigned)h);
    return rc;
  }
  size_t ostride = (size_t)st->img.stride[0];
  if (passes > 1) {
    /* Interlaced: every pass revisits every row. */
    st->rows = malloc((size_t)h * sizeof *st->rows);
    if (!direct)
      st->buf = malloc(rowbytes * (size_t)h);
    if (!st->rows || (!direct && !st->buf)) {
      img_seterr(err, "out of memory for an interlaced %ux%u image",
                 (unsigned)w, (unsigned)h);
      return ARGUS_E_NOMEM;
    }
    for (png_uint_32 y = 0; y < h; y++)
      st->rows[y] = direct ? st->img.data[0] + (size_t)y * ostride
                           : st->buf + (size_t)y * rowbytes;
    png_read_image(png, st->rows);
    if (!direct)
      for (png_uint_32 y = 0; y < h; y++)
        convert_row(st->rows[y], ch, fmt, st->img.data[0] + (size_t)y * ostride,
                    (int)w);
  } else {
    if (!direct && !(st->buf = malloc(rowbytes))) {
      img_seterr(err, "out of memory");
      return ARGUS_E_NOMEM;
    }
    for (png_uint_32 y = 0; y < h; y++) {
      uint8_t *d = st->img.data[0] + (size_t)y * ostride;
      png_read_row(png, direct ? d : st->buf, NULL);
      if (!direct)
        convert_row(st->buf, ch, fmt, d, (int)w);
    }
  }
  /* The trailing chunks are not read: the pixels are complete. */
  return ARGUS_OK;
}

argus_err img_decode_png(const uint8_t *data, size_t size, argus_pixfmt fmt,
                         argus_image *out, argus_image_error *err) {
  /* Check the size from IHDR before libpng allocates anything for it. */
  if (size < 8 + 8 + 13) {
    img_seterr(err, "truncated PNG data");
    return ARGUS_E_CORRUPT;
  }
  if (memcmp(data + 12, "IHDR", 4) != 0) {
    img_seterr(err, "PNG file does not start with an IHDR chunk");
    return ARGUS_E_CORRUPT;
  }
  uint32_t w = (uint32_t)data[16] << 24 | (uint32_t)data[17] << 16 |
               (uint32_t)data[18] << 8 | data[19];
  uint32_t h = (uint32_t)data[20] << 24 | (uint32_t)data[21] << 16 |
               (uint32_t)data[22] << 8 | data[23];
  argus_err rc = img_check_size(w, h, err);
  if (rc != ARGUS_OK)
    return rc;

  pdec *st = calloc(1, sizeof *st);
  if (!st) {
    img_seterr(err, "out of memory");
    return ARGUS_E_NOMEM;
  }
  st->data = data;
  st->size = size;
  st->png =
      png_create_read_struct(PNG_LIBPNG_VER_STRING, st, on_error, on_warning);
  if (st->png)
    st->info = png_create_info_struct(st->png);
  if (!st->png || !st->info) {
    img_seterr(err, "out of memory");
    rc = ARGUS_E_NOMEM;
    goto done;
  }
  if (setjmp(png_jmpbuf(st->png))) {
    img_seterr(err, "%s", st->msg[0] ? st->msg : "corrupt PNG data");
    rc = ARGUS_E_CORRUPT;
    goto done;
  }
  rc = run(st, fmt, err);
done:
  png_destroy_read_struct(st->png ? &st->png : NULL,
                          st->info ? &st->info : NULL, NULL);
  free(st->rows);
  free(st->buf);
  if (rc == ARGUS_OK)
    rc = img_apply_orientation(&st->img, st->orientation);
  if (rc == ARGUS_OK)
    *out = st->img;
  else
    argus_image_free(&st->img);
  free(st);
  return rc;
}
