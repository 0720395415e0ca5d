/* The image type: allocation, wrapping, cropping, format detection and
 * file reading, plus the helpers the other files of the module share
 * (error messages, size limits, per-thread scratch). */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "image/image_internal.h"

/* ---- shared helpers --------------------------------------------------- */

void img_seterr(argus_image_error *err, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  argus_error_detail_setv(err, fmt, ap);
  va_end(ap);
}

argus_err img_check_size(uint64_t width, uint64_t height,
                         argus_image_error *err) {
  if (width == 0 || height == 0) {
    img_seterr(err, "image has no pixels (%llux%llu)",
               (unsigned long long)width, (unsigned long long)height);
    return ARGUS_E_CORRUPT;
  }
  if (width > ARGUS_IMAGE_MAX_SIDE || height > ARGUS_IMAGE_MAX_SIDE ||
      width * height > ARGUS_IMAGE_MAX_PIXELS) {
    img_seterr(err,
               "image %llux%llu exceeds the limit of %d pixels per side and "
               "%zu megapixels",
               (unsigned long long)width, (unsigned long long)height,
               ARGUS_IMAGE_MAX_SIDE, ARGUS_IMAGE_MAX_PIXELS / 1000000);
    return ARGUS_E_LIMIT;
  }
  return ARGUS_OK;
}

typedef struct img_scratch_tls {
  void *buf;
  size_t cap;
} img_scratch_tls;

static pthread_key_t g_scratch_key;
static int g_scratch_key_ok;
static pthread_once_t g_scratch_once = PTHREAD_ONCE_INIT;

static void scratch_destroy(void *p) {
  img_scratch_tls *s = p;
  free(s->buf);
  free(s);
}

static void scratch_key_init(void) {
  g_scratch_key_ok = pthread_key_create(&g_scratch_key, scratch_destroy) == 0;
}

void *img_scratch(size_t size) {
  pthread_once(&g_scratch_once, scratch_key_init);
  if (!g_scratch_key_ok)
    return NULL;
  img_scratch_tls *s = pthread_getspecific(g_scratch_key);
  if (!s) {
    s = calloc(1, sizeof *s);
    if (!s)
      return NULL;
    if (pthread_setspecific(g_scratch_key, s) != 0) {
      free(s);
      return NULL;
    }
  }
  if (s->cap < size) {
    /* Grow with headroom so that slowly growing requests settle. */
    size_t cap = size + size / 2 + 4096;
    void *p = NULL;
    if (posix_memalign(&p, 64, cap) != 0)
      return NULL;
    free(s->buf);
    s->buf = p;
    s->cap = cap;
  }
  return s->buf;
}

/* ---- formats and allocation ------------------------------------------- */

const char *argus_pixfmt_name(argus_pixfmt fmt) {
  switch (fmt) {
  case ARGUS_PIX_GRAY8:
    return "GRAY8";
  case ARGUS_PIX_RGB8:
    return "RGB8";
  case ARGUS_PIX_BGR8:
    return "BGR8";
  case ARGUS_PIX_YUV420P:
    return "YUV420P";
  case ARGUS_PIX_NV12:
    return "NV12";
  default:
    return "NONE";
  }
}

int argus_pixfmt_channels(argus_pixfmt fmt) {
  switch (fmt) {
  case ARGUS_PIX_GRAY8:
    return 1;
  case ARGUS_PIX_RGB8:
  case ARGUS_PIX_BGR8:
    return 3;
  default:
    return 0;
  }
}

/* Plane layout of a format: count, bytes per row and rows of each plane. */
static int plane_layout(argus_pixfmt fmt, int w, int h, size_t rowbytes[3],
                        int rows[3]) {
  int cw = (w + 1) / 2, ch = (h + 1) / 2;
  switch (fmt) {
  case ARGUS_PIX_GRAY8:
  case ARGUS_PIX_RGB8:
  case ARGUS_PIX_BGR8:
    rowbytes[0] = (size_t)w * (size_t)argus_pixfmt_channels(fmt);
    rows[0] = h;
    return 1;
  case ARGUS_PIX_YUV420P:
    rowbytes[0] = (size_t)w, rows[0] = h;
    rowbytes[1] = rowbytes[2] = (size_t)cw, rows[1] = rows[2] = ch;
    return 3;
  case ARGUS_PIX_NV12:
    rowbytes[0] = (size_t)w, rows[0] = h;
    rowbytes[1] = 2 * (size_t)cw, rows[1] = ch;
    return 2;
  default:
    return 0;
  }
}

argus_err argus_image_alloc(argus_image *img, int width, int height,
                            argus_pixfmt fmt) {
  if (!img)
    return ARGUS_E_INVALID_ARG;
  memset(img, 0, sizeof *img);
  size_t rowbytes[3];
  int rows[3];
  int np = width > 0 && height > 0
               ? plane_layout(fmt, width, height, rowbytes, rows)
               : 0;
  if (np == 0) {
    argus_log(ARGUS_LOG_ERROR, IMG_LOG,
              "alloc: invalid size %dx%d or format %d", width, height,
              (int)fmt);
    return ARGUS_E_INVALID_ARG;
  }
  if (img_check_size((uint64_t)width, (uint64_t)height, NULL) != ARGUS_OK) {
    argus_log(ARGUS_LOG_ERROR, IMG_LOG, "alloc: %dx%d exceeds the image limits",
              width, height);
    return ARGUS_E_LIMIT;
  }
  size_t total = 0, offs[3];
  for (int i = 0; i < np; i++) {
    size_t stride = (rowbytes[i] + 63) & ~(size_t)63;
    offs[i] = total;
    img->stride[i] = (int)stride;
    total += stride * (size_t)rows[i];
  }
  void *p = NULL;
  if (posix_memalign(&p, 64, total) != 0)
    return ARGUS_E_NOMEM;
  for (int i = 0; i < np; i++)
    img->data[i] = (uint8_t *)p + offs[i];
  img->width = width;
  img->height = height;
  img->format = fmt;
  img->owner = p;
  return ARGUS_OK;
}

void argus_image_free(argus_image *img) {
  if (!img)
    return;
  free(img->owner);
  memset(img, 0, sizeof *img);
}

argus_err argus_image_wrap(argus_image *img, int width, int height,
                           argus_pixfmt fmt, uint8_t *const data[3],
                           const int stride[3]) {
  if (!img)
    return ARGUS_E_INVALID_ARG;
  memset(img, 0, sizeof *img);
  size_t rowbytes[3];
  int rows[3];
  int np = width > 0 && height > 0 && data && stride
               ? plane_layout(fmt, width, height, rowbytes, rows)
               : 0;
  if (np == 0) {
    argus_log(ARGUS_LOG_ERROR, IMG_LOG, "wrap: invalid size %dx%d or format %d",
              width, height, (int)fmt);
    return ARGUS_E_INVALID_ARG;
  }
  if (img_check_size((uint64_t)width, (uint64_t)height, NULL) != ARGUS_OK)
    return ARGUS_E_LIMIT;
  for (int i = 0; i < np; i++) {
    if (!data[i] || stride[i] <= 0 || (size_t)stride[i] < rowbytes[i]) {
      argus_log(ARGUS_LOG_ERROR, IMG_LOG,
                "wrap: plane %d has no data or a stride (%d) below its row "
                "size (%zu)",
                i, data[i] ? stride[i] : 0, rowbytes[i]);
      return ARGUS_E_INVALID_ARG;
    }
    /* Kernels address a plane with 32-bit offsets. */
    if ((uint64_t)stride[i] * (uint64_t)rows[i] >= ((uint64_t)1 << 31)) {
      argus_log(ARGUS_LOG_ERROR, IMG_LOG, "wrap: plane %d spans 2 GiB or more",
                i);
      return ARGUS_E_LIMIT;
    }
    img->data[i] = data[i];
    img->stride[i] = stride[i];
  }
  img->width = width;
  img->height = height;
  img->format = fmt;
  return ARGUS_OK;
}

argus_err argus_image_crop(const argus_image *src, int x, int y, int w, int h,
                           argus_image *dst) {
  if (!src || !dst || !src->data[0] || w < 1 || h < 1 ||
      !plane_layout(src->format, 1, 1, (size_t[3]){0}, (int[3]){0})) {
    argus_log(ARGUS_LOG_ERROR, IMG_LOG, "crop: invalid arguments");
    return ARGUS_E_INVALID_ARG;
  }
  int64_t x0 = x < 0 ? 0 : x, y0 = y < 0 ? 0 : y;
  int64_t x1 = (int64_t)x + w, y1 = (int64_t)y + h;
  if (x1 > src->width)
    x1 = src->width;
  if (y1 > src->height)
    y1 = src->height;
  int yuv = src->format == ARGUS_PIX_YUV420P || src->format == ARGUS_PIX_NV12;
  if (yuv)
    x0 &= ~(int64_t)1, y0 &= ~(int64_t)1;
  if (x1 <= x0 || y1 <= y0) {
    argus_log(ARGUS_LOG_ERROR, IMG_LOG,
              "crop: rectangle %d,%d %dx%d lies outside the %dx%d image", x, y,
              w, h, src->width, src->height);
    return ARGUS_E_INVALID_ARG;
  }
  int cw = (int)(x1 - x0), chh = (int)(y1 - y0);
  argus_err rc = argus_image_alloc(dst, cw, chh, src->format);
  if (rc != ARGUS_OK)
    return rc;
  size_t rowbytes[3];
  int rows[3];
  int np = plane_layout(src->format, cw, chh, rowbytes, rows);
  for (int i = 0; i < np; i++) {
    int sub = i > 0 && yuv; /* chroma planes are halved */
    size_t bx =
        sub ? (size_t)(x0 / 2) * (src->format == ARGUS_PIX_NV12 ? 2 : 1)
            : (size_t)x0 *
                  (size_t)(yuv ? 1 : argus_pixfmt_channels(src->format));
    size_t by = sub ? (size_t)(y0 / 2) : (size_t)y0;
    for (int r = 0; r < rows[i]; r++)
      memcpy(dst->data[i] + (size_t)r * (size_t)dst->stride[i],
             src->data[i] + (by + (size_t)r) * (size_t)src->stride[i] + bx,
             rowbytes[i]);
  }
  return ARGUS_OK;
}

/* ---- decoding entry points -------------------------------------------- */

static const char *sniff_other(const uint8_t *d, size_t n) {
  if (n >= 4 && memcmp(d, "GIF8", 4) == 0)
    return "GIF";
  if (n >= 12 && memcmp(d, "RIFF", 4) == 0 && memcmp(d + 8, "WEBP", 4) == 0)
    return "WebP";
  if (n >= 2 && d[0] == 'B' && d[1] == 'M')
    return "BMP";
  if (n >= 4 && (memcmp(d, "II*\0", 4) == 0 || memcmp(d, "MM\0*", 4) == 0))
    return "TIFF";
  if (n >= 12 && memcmp(d + 4, "ftyp", 4) == 0)
    return "HEIF/MP4";
  return NULL;
}

argus_err argus_image_decode(const void *data, size_t size, argus_pixfmt fmt,
                             argus_image *out, argus_image_error *err) {
  static const uint8_t png_sig[8] = {0x89, 'P',  'N',  'G',
                                     '\r', '\n', 0x1a, '\n'};
  if (err)
    err->msg[0] = '\0';
  if (!out) {
    img_seterr(err, "no output image");
    return ARGUS_E_INVALID_ARG;
  }
  memset(out, 0, sizeof *out);
  if (!data && size) {
    img_seterr(err, "no input data");
    return ARGUS_E_INVALID_ARG;
  }
  if (argus_pixfmt_channels(fmt) == 0) {
    img_seterr(err, "cannot decode into %s (want GRAY8, RGB8 or BGR8)",
               argus_pixfmt_name(fmt));
    return ARGUS_E_INVALID_ARG;
  }
  const uint8_t *d = data;
  if (size == 0) {
    img_seterr(err, "empty file");
    return ARGUS_E_CORRUPT;
  }
  if (size >= 3 && d[0] == 0xff && d[1] == 0xd8 && d[2] == 0xff)
    return img_decode_jpeg(d, size, fmt, out, err);
  if (size >= 8 && memcmp(d, png_sig, 8) == 0)
    return img_decode_png(d, size, fmt, out, err);
  const char *other = sniff_other(d, size);
  if (other)
    img_seterr(err, "not a JPEG or PNG file (looks like %s)", other);
  else
    img_seterr(err, "not a JPEG or PNG file");
  return ARGUS_E_UNSUPPORTED;
}

argus_err argus_image_read_file(const char *path, argus_pixfmt fmt,
                                argus_image *out, argus_image_error *err) {
  if (err)
    err->msg[0] = '\0';
  if (out)
    memset(out, 0, sizeof *out);
  if (!path || !out) {
    img_seterr(err, "no file name or output image");
    return ARGUS_E_INVALID_ARG;
  }
  argus_err rc = ARGUS_OK;
  uint8_t *buf = NULL;
  size_t len = 0, cap = 0;
  FILE *f = fopen(path, "rb");
  if (!f) {
    int e = errno;
    img_seterr(err, "%s: %s", path, strerror(e));
    return e == ENOENT ? ARGUS_E_NOT_FOUND : ARGUS_E_IO;
  }
  struct stat st;
  if (fstat(fileno(f), &st) == 0) {
    if (S_ISDIR(st.st_mode)) {
      img_seterr(err, "%s: is a directory", path);
      rc = ARGUS_E_IO;
      goto done;
    }
    if (S_ISREG(st.st_mode)) {
      if ((uint64_t)st.st_size > ARGUS_IMAGE_MAX_FILE_BYTES) {
        img_seterr(err, "%s: file of %lld bytes exceeds the limit of %zu MiB",
                   path, (long long)st.st_size,
                   ARGUS_IMAGE_MAX_FILE_BYTES >> 20);
        rc = ARGUS_E_LIMIT;
        goto done;
      }
      cap = (size_t)st.st_size + 1;
    }
  }
  if (cap < 65536)
    cap = 65536;
  /* Read to the end (the size may change, and pipes have none), capped. */
  for (;;) {
    if (len == cap || !buf) {
      if (buf) {
        if (cap > ARGUS_IMAGE_MAX_FILE_BYTES) {
          img_seterr(err, "%s: file exceeds the limit of %zu MiB", path,
                     ARGUS_IMAGE_MAX_FILE_BYTES >> 20);
          rc = ARGUS_E_LIMIT;
          goto done;
        }
        cap *= 2;
      }
      uint8_t *nb = realloc(buf, cap);
      if (!nb) {
        img_seterr(err, "%s: out of memory reading the file", path);
        rc = ARGUS_E_NOMEM;
        goto done;
      }
      buf = nb;
    }
    size_t n = fread(buf + len, 1, cap - len, f);
    len += n;
    if (n == 0) {
      if (ferror(f)) {
        img_seterr(err, "%s: read error: %s", path, strerror(errno));
        rc = ARGUS_E_IO;
        goto done;
      }
      break;
    }
  }
  argus_image_error derr;
  rc = argus_image_decode(buf, len, fmt, out, &derr);
  if (rc != ARGUS_OK)
    img_seterr(err, "%s: %s", path, derr.msg);
done:
  free(buf);
  fclose(f);
  return rc;
}
