/*
 * Internal pieces shared by the files of src/image: error messages, the
 * per-thread scratch area, EXIF orientation, row converters and the
 * separable resampler behind argus_image_resize and argus_image_to_tensor.
 */
#ifndef ARGUS_IMAGE_INTERNAL_H
#define ARGUS_IMAGE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "argus/image.h"

#define IMG_LOG "image"

/* Formats a reason into err (NULL allowed). */
void img_seterr(argus_image_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Checks a decoded size against ARGUS_IMAGE_MAX_*; on failure returns LIMIT
 * (or CORRUPT for a zero size) with a message naming the size. */
argus_err img_check_size(uint64_t width, uint64_t height,
                         argus_image_error *err);

/* A scratch area of at least `size` bytes, 64-byte aligned, owned by the
 * calling thread and reused by every call on it (freed at thread exit).
 * NULL when out of memory. Only one user at a time per thread: callers must
 * not hold it across calls to other argus_image functions. */
void *img_scratch(size_t size);

/* Orientation 1..8 from the TIFF structure of an EXIF block (starting at
 * the "II"/"MM" byte-order mark), 1 when absent or malformed. */
int img_exif_orientation_tiff(const uint8_t *tiff, size_t len);
/* Same from an APP1 payload starting with "Exif\0". */
int img_exif_orientation_app1(const uint8_t *app1, size_t len);
/* Applies EXIF orientation o (2..8) to a packed image, replacing it (the
 * result owns its pixels). 1 and unknown values leave it unchanged. */
argus_err img_apply_orientation(argus_image *img, int o);

/* Decoders, called by argus_image_decode after signature detection. out is
 * zeroed on entry and left zeroed on failure. */
argus_err img_decode_jpeg(const uint8_t *data, size_t size, argus_pixfmt fmt,
                          argus_image *out, argus_image_error *err);
argus_err img_decode_png(const uint8_t *data, size_t size, argus_pixfmt fmt,
                         argus_image *out, argus_image_error *err);

/* Converts one row of `width` pixels between packed formats (GRAY8, RGB8,
 * BGR8; same format copies). src and dst must not overlap unless equal. */
void img_convert_row_packed(argus_pixfmt sfmt, const uint8_t *src,
                            argus_pixfmt dfmt, uint8_t *dst, int width);

/* Fixed-point grey from R, G, B (0.299, 0.587, 0.114 in 1/16384). */
static inline uint8_t img_gray_of(unsigned r, unsigned g, unsigned b) {
  return (uint8_t)((r * 4899u + g * 9617u + b * 1868u + 8192u) >> 14);
}

/* ---- resampler -------------------------------------------------------- */

/* Taps of one axis: output i reads n[i] consecutive source samples from
 * s[i] with weights w[off[i] .. off[i]+n[i]); n[i] == 0 marks padding. */
typedef struct img_axis {
  int *s, *n, *off;
  float *w;
  int count;  /* outputs */
  int ntaps;  /* total taps */
  int maxn;   /* largest n[i] */
  int lo, hi; /* source range touched: [lo, hi) (lo == hi: none) */
} img_axis;

/* Receives one resampled row: `row` holds out_w pixels of `cn` interleaved
 * floats (unrounded); `pad` says the whole row is padding (row unused);
 * xpad[x] is non-zero where column x is padding. */
typedef void (*img_emit_fn)(void *ctx, int y, const float *row, int pad,
                            const uint8_t *xpad);

/* Resamples the rectangle box (pixel-edge coordinates, may extend outside
 * the image) of packed `src` to out_w x out_h, calling emit for each output
 * row in order. Bilinear per axis, area averaging where the box shrinks by
 * 2x or more on that axis. Errors: NOMEM (scratch), INVALID_ARG. */
argus_err img_resample(const argus_image *src, const double box[4], int out_w,
                       int out_h, img_emit_fn emit, void *ctx);

#endif
