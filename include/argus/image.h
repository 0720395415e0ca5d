/*
 * argus image: one image type for decoded files and video frames, with the
 * operations the face pipeline needs (decode/encode, resize, colour
 * conversion, similarity warp, and resampling straight into a model's input
 * tensor).
 *
 * Every function is reentrant; none keeps a pointer it was given. The
 * per-pixel paths never allocate: tables and row buffers live in a scratch
 * area kept per thread and grown to the largest request (freed at thread
 * exit), so steady-state video processing allocates nothing. Hot loops
 * (YUV -> RGB, resize, warp) use AVX2 / AVX-512 kernels chosen once from
 * argus_cpu_features(); ARGUS_ISA=ref forces the plain C reference.
 */
#ifndef ARGUS_IMAGE_H
#define ARGUS_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "argus/core.h"
#include "argus/export.h"

ARGUS_BEGIN_DECLS

typedef enum argus_pixfmt {
  ARGUS_PIX_NONE = 0,
  ARGUS_PIX_GRAY8 = 1,   /* 1 plane, 1 byte per pixel */
  ARGUS_PIX_RGB8 = 2,    /* 1 plane, packed R,G,B */
  ARGUS_PIX_BGR8 = 3,    /* 1 plane, packed B,G,R */
  ARGUS_PIX_YUV420P = 4, /* 3 planes Y, U, V; chroma halved both ways
                            (rounded up: (w+1)/2 x (h+1)/2) */
  ARGUS_PIX_NV12 = 5,    /* 2 planes Y, interleaved UV; chroma halved */
} argus_pixfmt;

/* An image. Planes are addressed by data[i] with stride[i] bytes per row.
 * When `owner` is non-NULL the image owns its pixels (freed by
 * argus_image_free); otherwise it borrows them (e.g. a wrapped video frame)
 * and the caller keeps them alive. Unused planes are NULL with stride 0. */
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
/* Largest file argus_image_read_file reads. */
#define ARGUS_IMAGE_MAX_FILE_BYTES ((size_t)256 << 20)

/* "GRAY8", "RGB8", ...; "NONE" for unknown values. Never NULL. */
const char *argus_pixfmt_name(argus_pixfmt fmt);
/* Bytes per pixel of a packed format (1 or 3); 0 for planar/unknown. */
int argus_pixfmt_channels(argus_pixfmt fmt);

/* Allocates pixels (every row 64-byte aligned, stride a multiple of 64).
 * Pixel contents are undefined. Errors: INVALID_ARG (bad format, size < 1),
 * LIMIT (above ARGUS_IMAGE_MAX_*), NOMEM. img is overwritten (not freed
 * first); free with argus_image_free. */
argus_err argus_image_alloc(argus_image *img, int width, int height,
                            argus_pixfmt fmt);
/* Frees owned pixels and zeroes img; accepts NULL and borrowed images. */
void argus_image_free(argus_image *img);
/* Wraps caller pixels without copying (borrowed: they must outlive img).
 * data/stride give the planes the format uses (1 for packed, 3 for YUV420P,
 * 2 for NV12); the others are ignored. Strides must cover a row and every
 * plane must span less than 2 GiB. Errors: INVALID_ARG, LIMIT. */
argus_err argus_image_wrap(argus_image *img, int width, int height,
                           argus_pixfmt fmt, uint8_t *const data[3],
                           const int stride[3]);

/* A detailed reason for a failure, e.g. "truncated JPEG data". */
typedef argus_error_detail argus_image_error; /* see argus/core.h */

/* Decodes JPEG or PNG (detected by content) into `fmt` (GRAY8, RGB8 or
 * BGR8), honouring the EXIF orientation of JPEG files (and of PNG files
 * with an eXIf chunk); greyscale, palette, CMYK, 16-bit and alpha inputs are
 * converted (alpha composited over white; grey from colour uses
 * 0.299/0.587/0.114). Sizes are checked against ARGUS_IMAGE_MAX_* from the
 * header, before any pixel memory is allocated; progressive JPEGs with more
 * than 1000 scans are refused.
 * data: borrowed. out: overwritten on success (free with argus_image_free),
 * zeroed on failure. err: may be NULL; receives the reason on failure.
 * Errors: INVALID_ARG (NULL data/out, fmt not packed), CORRUPT (malformed
 * or truncated data, empty input), UNSUPPORTED (not a JPEG or PNG file),
 * LIMIT (larger than ARGUS_IMAGE_MAX_*, more than 1000 scans, or more
 * than 1 GiB of decoder memory), NOMEM. */
argus_err argus_image_decode(const void *data, size_t size, argus_pixfmt fmt,
                             argus_image *out, argus_image_error *err);
/* Reads a whole file (at most ARGUS_IMAGE_MAX_FILE_BYTES) and decodes it
 * like argus_image_decode; the message names the file. Errors as above plus
 * NOT_FOUND (no such file) and IO (unreadable, a directory). */
argus_err argus_image_read_file(const char *path, argus_pixfmt fmt,
                                argus_image *out, argus_image_error *err);

/* Encodes RGB8, BGR8 or GRAY8 as baseline JPEG (quality 1..100, 4:2:0 for
 * colour below quality 90, 4:4:4 from 90) into a malloc'd buffer the caller
 * frees with free(). *out / *out_size are written only on success.
 * Errors: INVALID_ARG, UNSUPPORTED (other formats), NOMEM, INTERNAL. */
argus_err argus_image_encode_jpeg(const argus_image *img, int quality,
                                  uint8_t **out, size_t *out_size);
/* Encodes like argus_image_encode_jpeg and writes the file atomically: the
 * data goes to a temporary file in the same folder, which is renamed over
 * `path` only once it is complete, so a failure never leaves a partial
 * file. The reason for an IO error is logged (module "image"). */
argus_err argus_image_write_jpeg(const argus_image *img, int quality,
                                 const char *path);

/* Converts between formats: any format to GRAY8/RGB8/BGR8 (including the
 * same format: a copy). dst must be allocated (or wrapped) with the same
 * size. YUV uses BT.601 limited range (Y 16..235, chroma 16..240), as
 * decoders produce for camera streams, in integer fixed point (within 1 of
 * the exact formula); RGB -> GRAY uses 0.299/0.587/0.114; YUV -> GRAY
 * expands Y to full range. Errors: INVALID_ARG (sizes differ, NULL),
 * UNSUPPORTED (destination not packed). */
argus_err argus_image_convert(const argus_image *src, argus_image *dst);

/* Resizes a packed image (GRAY8/RGB8/BGR8) into dst (same format, its own
 * size). Each axis is resampled on its own: bilinear with half-pixel centres
 * and replicated edges (OpenCV INTER_LINEAR) where dst is more than half
 * the source size, area averaging (OpenCV INTER_AREA) where it shrinks by 2x
 * or more. Errors: INVALID_ARG (format mismatch, NULL), UNSUPPORTED (YUV),
 * NOMEM (scratch). */
argus_err argus_image_resize(const argus_image *src, argus_image *dst);

/* Warps src into dst with the affine map m (dst -> src coordinates:
 * sx = m[0]*x + m[1]*y + m[2], sy = m[3]*x + m[4]*y + m[5], with integer
 * pixel centres as in OpenCV warpAffine with WARP_INVERSE_MAP), bilinear
 * (1/128 pixel steps), neighbours outside src count as 0. Packed formats,
 * same format in both. Errors: INVALID_ARG (format mismatch, NULL,
 * non-finite m), UNSUPPORTED (YUV). */
argus_err argus_image_warp_affine(const argus_image *src, const float m[6],
                                  argus_image *dst);

/* Crops a rectangle (clamped to the image) into a new owned image of the
 * same format. For YUV420P/NV12 x and y are rounded down to even numbers.
 * dst: overwritten (not freed first). Errors: INVALID_ARG (NULL, w/h < 1,
 * or no overlap with the image), NOMEM. */
argus_err argus_image_crop(const argus_image *src, int x, int y, int w, int h,
                           argus_image *dst);

/* Channel order of a model input tensor. */
typedef enum argus_channel_order {
  ARGUS_CH_RGB = 0,
  ARGUS_CH_BGR = 1,
  ARGUS_CH_GRAY = 2,
} argus_channel_order;

/* Resamples the source rectangle box = {x1, y1, x2, y2} (pixel-edge
 * coordinates: the whole image is {0, 0, width, height}; it may extend
 * outside the image) of a packed image straight into a normalised planar
 * float tensor of one image: out[c][y][x] = (p - mean) * scale, C x out_h x
 * out_w, C = 3 for RGB/BGR and 1 for GRAY. Resampling is the one of
 * argus_image_resize per axis (bilinear, or area averaging when the box
 * shrinks by 2x or more), so that box = the whole image gives exactly the
 * normalised result of argus_image_resize, without rounding to bytes.
 * Output samples whose centre falls outside the image are padding, p = 0;
 * samples inside never blend with the padding. Grey from colour uses
 * 0.299/0.587/0.114; grey to colour replicates.
 * channel_order: an argus_channel_order. out: caller-provided, borrowed,
 * C*out_h*out_w floats. Errors: INVALID_ARG (NULL, non-finite, empty or
 * beyond +-1e9 box, out_w/out_h < 1 or > ARGUS_IMAGE_MAX_SIDE, bad channel
 * order), UNSUPPORTED (YUV source: convert first), NOMEM (scratch). */
argus_err argus_image_to_tensor(const argus_image *src, const float box[4],
                                int out_w, int out_h, int channel_order,
                                float mean, float scale, float *out);

ARGUS_END_DECLS
#endif
