/* JPEG encoding to memory (libjpeg's memory destination) and to files,
 * written to a temporary file in the same folder and renamed into place. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jerror.h>
#include <jpeglib.h>

#include "image/image_internal.h"

typedef struct jenc {
  struct jpeg_compress_struct cinfo;
  struct jpeg_error_mgr jerr;
  jmp_buf jb;
  char msg[JMSG_LENGTH_MAX];
  unsigned char *buf; /* libjpeg's output buffer (malloc'd by it) */
  unsigned long len;
  uint8_t *row; /* a converted row */
} jenc;

static void on_error_exit(j_common_ptr c) {
  jenc *st = c->client_data;
  c->err->format_message(c, st->msg);
  longjmp(st->jb, 1);
}

static void on_output_message(j_common_ptr c) { (void)c; }

static void run(jenc *st, const argus_image *img, int quality) {
  j_compress_ptr c = &st->cinfo;
  jpeg_mem_dest(c, &st->buf, &st->len);
  c->image_width = (JDIMENSION)img->width;
  c->image_height = (JDIMENSION)img->height;
  int swap = 0;
  if (img->format == ARGUS_PIX_GRAY8) {
    c->input_components = 1;
    c->in_color_space = JCS_GRAYSCALE;
  } else {
    c->input_components = 3;
#ifdef JCS_EXTENSIONS
    c->in_color_space = img->format == ARGUS_PIX_BGR8 ? JCS_EXT_BGR : JCS_RGB;
#else
    c->in_color_space = JCS_RGB;
    swap = img->format == ARGUS_PIX_BGR8;
#endif
  }
  jpeg_set_defaults(c);
  jpeg_set_quality(c, quality, TRUE);
  c->dct_method = JDCT_ISLOW;
  if (img->format != ARGUS_PIX_GRAY8 && quality >= 90)
    for (int i = 0; i < c->num_components; i++)
      c->comp_info[i].h_samp_factor = c->comp_info[i].v_samp_factor = 1;
  jpeg_start_compress(c, TRUE);
  if (swap)
    st->row = (*c->mem->alloc_small)((j_common_ptr)c, JPOOL_IMAGE,
                                     (size_t)img->width * 3);
  while (c->next_scanline < c->image_height) {
    JSAMPROW row =
        img->data[0] + (size_t)c->next_scanline * (size_t)img->stride[0];
    if (swap) {
      img_convert_row_packed(ARGUS_PIX_BGR8, row, ARGUS_PIX_RGB8, st->row,
                             img->width);
      row = st->row;
    }
    jpeg_write_scanlines(c, &row, 1);
  }
  jpeg_finish_compress(c);
}

argus_err argus_image_encode_jpeg(const argus_image *img, int quality,
                                  uint8_t **out, size_t *out_size) {
  if (!img || !out || !out_size || !img->data[0] || img->width < 1 ||
      img->height < 1 || quality < 1 || quality > 100) {
    argus_log(ARGUS_LOG_ERROR, IMG_LOG,
              "encode: invalid arguments (quality %d must be 1..100)", quality);
    return ARGUS_E_INVALID_ARG;
  }
  if (argus_pixfmt_channels(img->format) == 0) {
    argus_log(ARGUS_LOG_ERROR, IMG_LOG,
              "encode: %s cannot be encoded (want GRAY8, RGB8 or BGR8)",
              argus_pixfmt_name(img->format));
    return ARGUS_E_UNSUPPORTED;
  }
  jenc *st = calloc(1, sizeof *st);
  if (!st)
    return ARGUS_E_NOMEM;
  argus_err rc = ARGUS_OK;
  st->cinfo.err = jpeg_std_error(&st->jerr);
  st->jerr.error_exit = on_error_exit;
  st->jerr.output_message = on_output_message;
  st->cinfo.client_data = st;
  if (setjmp(st->jb)) {
    argus_log(ARGUS_LOG_ERROR, IMG_LOG, "encode: %s", st->msg);
    rc = st->jerr.msg_code == JERR_OUT_OF_MEMORY ? ARGUS_E_NOMEM
                                                 : ARGUS_E_INTERNAL;
    goto done;
  }
  jpeg_create_compress(&st->cinfo);
  run(st, img, quality);
done:
  jpeg_destroy_compress(&st->cinfo);
  if (rc == ARGUS_OK) {
    *out = st->buf;
    *out_size = st->len;
  } else {
    free(st->buf);
  }
  free(st);
  return rc;
}

static atomic_uint g_tmp_counter;

argus_err argus_image_write_jpeg(const argus_image *img, int quality,
                                 const char *path) {
  if (!path || !*path) {
    argus_log(ARGUS_LOG_ERROR, IMG_LOG, "write: no file name");
    return ARGUS_E_INVALID_ARG;
  }
  uint8_t *buf = NULL;
  size_t len = 0;
  argus_err rc = argus_image_encode_jpeg(img, quality, &buf, &len);
  if (rc != ARGUS_OK)
    return rc;
  char tmp[4096];
  int fd = -1;
  /* A unique name next to the target, so that rename() stays atomic; the
   * creation mode honours the umask like any new file. */
  for (int attempt = 0; attempt < 100 && fd < 0; attempt++) {
    int n = snprintf(tmp, sizeof tmp, "%s.tmp%ld.%u", path, (long)getpid(),
                     atomic_fetch_add(&g_tmp_counter, 1u));
    if (n < 0 || (size_t)n >= sizeof tmp) {
      argus_log(ARGUS_LOG_ERROR, IMG_LOG, "write %s: path too long", path);
      rc = ARGUS_E_INVALID_ARG;
      goto done;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0 && errno != EEXIST)
      break;
  }
  if (fd < 0) {
    argus_log(ARGUS_LOG_ERROR, IMG_LOG, "write %s: %s", path, strerror(errno));
    rc = ARGUS_E_IO;
    goto done;
  }
  for (size_t off = 0; off < len;) {
    ssize_t n = write(fd, buf + off, len - off);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      argus_log(ARGUS_LOG_ERROR, IMG_LOG, "write %s: %s", tmp,
                n < 0 ? strerror(errno) : "no progress");
      rc = ARGUS_E_IO;
      break;
    }
    off += (size_t)n;
  }
  if (rc == ARGUS_OK && fsync(fd) != 0) {
    argus_log(ARGUS_LOG_ERROR, IMG_LOG, "write %s: fsync: %s", tmp,
              strerror(errno));
    rc = ARGUS_E_IO;
  }
  if (close(fd) != 0 && rc == ARGUS_OK) {
    argus_log(ARGUS_LOG_ERROR, IMG_LOG, "write %s: close: %s", tmp,
              strerror(errno));
    rc = ARGUS_E_IO;
  }
  if (rc == ARGUS_OK && rename(tmp, path) != 0) {
    argus_log(ARGUS_LOG_ERROR, IMG_LOG, "write %s: rename: %s", path,
              strerror(errno));
    rc = ARGUS_E_IO;
  }
  if (rc != ARGUS_OK)
    unlink(tmp);
done:
  free(buf);
  return rc;
}
