/*
 * argus image: one image type for decoded files and video frames, with the
 * operations the face pipeline needs (decode/encode, resize, colour
 * conversion, similarity warp).
 */
#ifndef ARGUS_IMAGE_H
#define ARGUS_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "argus/core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum argus_pixfmt {
  ARGUS_PIX_NONE = 0,
  ARGUS_PIX_GRAY8 = 1,   /* 1 plane, 1 byte per pixel */
  ARGUS_PIX_RGB8 = 2,    /* 1 plane, packed R,G,B */
  ARGUS_PIX_BGR8 = 3,    /* 1 plane, packed B,G,R */
  ARGUS_PIX_YUV420P = 4, /* 3 planes Y, U, V; chroma halved both ways */
  ARGUS_PIX_NV12 = 5,    /* 2 planes Y, interleaved UV; chroma halved */
} argus_pixfmt;

/* An image. Planes are addressed by data[i] with stride[i] bytes per row.
 * When `owner` is non-NULL the image owns its pixels (freed by
 * argus_image_free); otherwise it borrows them (e.g. a wrapped video frame)
 * and the caller keeps them alive. */
typedef struct argus_image {
  int width, height;
  argus_pixfmt format;
  uint8_t *data[3];
  int stride[3];
  void *owner;
} argus_image;

/* Largest accepted width or height, and pixel count, of any image. */
#define ARGUS_IMAGE_MAX_SIDE 16384
#define ARGUS_IMAGE_MAX_PIXELS ((size_t)100 * 1000 * 1000)

const char *argus_pixfmt_name(argus_pixfmt fmt);

/* Allocates pixels (rows 64-byte aligned). Errors: INVALID_ARG, LIMIT,
 * NOMEM. img is overwritten; free with argus_image_free. */
argus_err argus_image_alloc(argus_image *img, int width, int height,
                            argus_pixfmt fmt);
/* Frees owned pixels and zeroes img; accepts NULL and borrowed images. */
void argus_image_free(argus_image *img);
/* Wraps caller pixels without copying (borrowed). */
argus_err argus_image_wrap(argus_image *img, int width, int height,
                           argus_pixfmt fmt, uint8_t *const data[3],
                           const int stride[3]);

/* A detailed reason for a failure, e.g. "truncated JPEG data". */
typedef struct argus_image_error {
  char msg[256];
} argus_image_error;

/* Decodes JPEG or PNG (detected by content) into `fmt` (GRAY8, RGB8 or
 * BGR8), honouring the EXIF orientation of JPEG files; greyscale, palette,
 * 16-bit and alpha inputs are converted (alpha composited over white).
 * Errors: CORRUPT (malformed data), UNSUPPORTED
 * (format), LIMIT (larger than ARGUS_IMAGE_MAX_*), IO, NOMEM. */
argus_err argus_image_decode(const void *data, size_t size, argus_pixfmt fmt,
                             argus_image *out, argus_image_error *err);
argus_err argus_image_read_file(const char *path, argus_pixfmt fmt,
                                argus_image *out, argus_image_error *err);

/* Encodes RGB8, BGR8 or GRAY8 as JPEG (quality 1..100) into a malloc'd
 * buffer the caller frees with free(). */
argus_err argus_image_encode_jpeg(const argus_image *img, int quality,
                                  uint8_t **out, size_t *out_size);
argus_err argus_image_write_jpeg(const argus_image *img, int quality,
                                 const char *path);

/* Converts between formats (any of the above to GRAY8/RGB8/BGR8, and packed
 * to packed). dst must be allocated with the same size. YUV uses BT.601
 * limited range, as decoders produce for camera streams. */
argus_err argus_image_convert(const argus_image *src, argus_image *dst);

/* Resizes a packed image (GRAY8/RGB8/BGR8) into dst (same format, its own
 * size). Bilinear with pixel-centre alignment when enlarging or shrinking a
 * little; area averaging when shrinking by 2x or more. */
argus_err argus_image_resize(const argus_image *src, argus_image *dst);

/* Warps src into dst with the affine map m (dst -> src coordinates:
 * sx = m[0]*x + m[1]*y + m[2], sy = m[3]*x + m[4]*y + m[5]), bilinear,
 * pixels outside src are 0. Packed formats, same format in both. */
argus_err argus_image_warp_affine(const argus_image *src, const float m[6],
                                  argus_image *dst);

/* Crops a rectangle (clamped to the image) into a new owned image. */
argus_err argus_image_crop(const argus_image *src, int x, int y, int w, int h,
                           argus_image *dst);

#ifdef __cplusplus
}
#endif
#endif
