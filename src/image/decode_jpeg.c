/* JPEG decoding with libjpeg(-turbo).
 *
 * Errors never leave the process: the error manager formats the library's
 * message and longjmps back to img_decode_jpeg, which releases everything.
 * Limits are checked from the header before any pixel memory is allocated;
 * progressive "scan bombs" are stopped by a progress monitor, and the
 * library's own working memory is capped. Premature end of data is an error
 * ("truncated JPEG data") unless it ends within the last row of MCUs
 * (a missing end marker, seen in camera files; at most the last 16 rows
 * are then grey). */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jerror.h>
#include <jpeglib.h>

#include "image/image_internal.h"

#define JPEG_MAX_SCANS 1000
#define JPEG_MAX_MEMORY (1L << 30)

typedef struct jdec {
  struct jpeg_decompress_struct cinfo;
  struct jpeg_error_mgr jerr;
  struct jpeg_progress_mgr progress;
  jmp_buf jb;
  char msg[JMSG_LENGTH_MAX + 64];
  int eof; /* the data ended before the decoder was done */
  int too_many_scans;
  JDIMENSION eof_imcu; /* the row of MCUs being decoded when it did */
  argus_image img;     /* the result, freed on failure */
  uint8_t *cmyk;       /* one CMYK row when converting */
  int orientation;
} jdec;

static void on_error_exit(j_common_ptr c) {
  jdec *st = c->client_data;
  /* Data that ran out makes the library fail later for lack of markers;
   * report the cause. */
  if (st->eof)
    snprintf(st->msg, sizeof st->msg, "truncated JPEG data");
  else
    c->err->format_message(c, st->msg);
  longjmp(st->jb, 1);
}

static void on_emit_message(j_common_ptr c, int level) {
  jdec *st = c->client_data;
  if (level >= 0)
    return; /* trace messages */
  c->err->num_warnings++;
  if (c->err->msg_code == JWRN_JPEG_EOF && !st->eof) {
    st->eof = 1;
    st->eof_imcu = st->cinfo.input_iMCU_row;
  }
}

static void on_output_message(j_common_ptr c) { (void)c; }

static void on_progress(j_common_ptr c) {
  jdec *st = c->client_data;
  if (st->cinfo.input_scan_number > JPEG_MAX_SCANS) {
    snprintf(st->msg, sizeof st->msg,
             "JPEG has more than %d scans (refused as a decoding bomb)",
             JPEG_MAX_SCANS);
    st->too_many_scans = 1;
    longjmp(st->jb, 1);
  }
}

static void truncated(jdec *st) {
  snprintf(st->msg, sizeof st->msg, "truncated JPEG data");
  longjmp(st->jb, 1);
}

/* CMYK (Adobe files store it inverted) to the output format. */
static void cmyk_row(const uint8_t *s, int inverted, argus_pixfmt fmt,
                     uint8_t *d, int w) {
  for (int x = 0; x < w; x++, s += 4) {
    unsigned c = s[0], m = s[1], y = s[2], k = s[3];
    if (!inverted)
      c = 255 - c, m = 255 - m, y = 255 - y, k = 255 - k;
    unsigned r = (c * k + 127) / 255, g = (m * k + 127) / 255,
             b = (y * k + 127) / 255;
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

/* Everything that can longjmp happens here, so that img_decode_jpeg only
 * reads the state after a jump (no locals of the setjmp frame change). */
static argus_err run(jdec *st, const uint8_t *data, size_t size,
                     argus_pixfmt fmt, argus_image_error *err) {
  j_decompress_ptr c = &st->cinfo;
  c->mem->max_memory_to_use = JPEG_MAX_MEMORY;
  st->progress.progress_monitor = on_progress;
  c->progress = &st->progress;
  jpeg_mem_src(c, data, (unsigned long)size);
  jpeg_save_markers(c, JPEG_APP0 + 1, 0xffff);
  if (jpeg_read_header(c, TRUE) != JPEG_HEADER_OK) {
    img_seterr(err, "JPEG file has no image");
    return ARGUS_E_CORRUPT;
  }
  if (st->eof)
    truncated(st);
  argus_err rc = img_check_size(c->image_width, c->image_height, err);
  if (rc != ARGUS_OK)
    return rc;
  for (jpeg_saved_marker_ptr m = c->marker_list; m; m = m->next)
    if (m->marker == JPEG_APP0 + 1 &&
        (st->orientation =
             img_exif_orientation_app1(m->data, m->data_length)) != 1)
      break;

  int cmyk = c->jpeg_color_space == JCS_CMYK || c->jpeg_color_space == JCS_YCCK;
  int swap = 0;
  if (cmyk)
    c->out_color_space = JCS_CMYK;
  else if (fmt == ARGUS_PIX_GRAY8)
    c->out_color_space = JCS_GRAYSCALE;
  else if (fmt == ARGUS_PIX_BGR8) {
#ifdef JCS_EXTENSIONS
    c->out_color_space = JCS_EXT_BGR;
#else
    c->out_color_space = JCS_RGB;
    swap = 1;
#endif
  } else
    c->out_color_space = JCS_RGB;
  c->dct_method = JDCT_ISLOW;

  jpeg_start_decompress(c);
  if (st->eof && jpeg_has_multiple_scans(c))
    truncated(st);
  int w = (int)c->output_width, h = (int)c->output_height;
  rc = img_check_size(c->output_width, c->output_height, err);
  if (rc != ARGUS_OK)
    return rc;
  int want = cmyk ? 4 : argus_pixfmt_channels(fmt);
  if (c->output_components != want) {
    img_seterr(err, "JPEG decoder produced %d components, expected %d",
               c->output_components, want);
    return ARGUS_E_UNSUPPORTED;
  }
  rc = argus_image_alloc(&st->img, w, h, fmt);
  if (rc != ARGUS_OK) {
    img_seterr(err, "out of memory for a %dx%d image", w, h);
    return rc;
  }
  if (cmyk && !(st->cmyk = (*c->mem->alloc_small)((j_common_ptr)c, JPOOL_IMAGE,
                                                  (size_t)w * 4))) {
    img_seterr(err, "out of memory");
    return ARGUS_E_NOMEM;
  }
  while (c->output_scanline < c->output_height) {
    JSAMPROW rows[16];
    JDIMENSION y0 = c->output_scanline, n = 0;
    if (cmyk) {
      rows[0] = st->cmyk;
      n = 1;
    } else {
      for (; n < 16 && y0 + n < c->output_height; n++)
        rows[n] =
            st->img.data[0] + (size_t)(y0 + n) * (size_t)st->img.stride[0];
    }
    JDIMENSION got = jpeg_read_scanlines(c, rows, n);
    /* Data may end within the last row of MCUs: files without an end
     * marker make the decoder look past their last byte. */
    if (st->eof &&
        (jpeg_has_multiple_scans(c) || st->eof_imcu + 1 < c->total_iMCU_rows))
      truncated(st);
    if (got == 0) {
      img_seterr(err, "JPEG decoder stopped at row %u", (unsigned)y0);
      return ARGUS_E_CORRUPT;
    }
    if (cmyk)
      cmyk_row(st->cmyk, c->saw_Adobe_marker, fmt,
               st->img.data[0] + (size_t)y0 * (size_t)st->img.stride[0], w);
    else if (swap)
      for (JDIMENSION i = 0; i < got; i++)
        img_convert_row_packed(ARGUS_PIX_RGB8, rows[i], ARGUS_PIX_BGR8, rows[i],
                               w);
  }
  if (st->eof)
    argus_log(ARGUS_LOG_DEBUG, IMG_LOG,
              "JPEG data ends early (last rows or end marker missing)");
  return ARGUS_OK;
}

argus_err img_decode_jpeg(const uint8_t *data, size_t size, argus_pixfmt fmt,
                          argus_image *out, argus_image_error *err) {
  jdec *st = calloc(1, sizeof *st);
  if (!st) {
    img_seterr(err, "out of memory");
    return ARGUS_E_NOMEM;
  }
  argus_err rc;
  st->cinfo.err = jpeg_std_error(&st->jerr);
  st->jerr.error_exit = on_error_exit;
  st->jerr.emit_message = on_emit_message;
  st->jerr.output_message = on_output_message;
  st->cinfo.client_data = st;
  if (setjmp(st->jb)) {
    img_seterr(err, "%s", st->msg[0] ? st->msg : "corrupt JPEG data");
    /* The library reports its own out-of-memory and memory-cap errors. */
    rc = st->too_many_scans                           ? ARGUS_E_LIMIT
         : st->jerr.msg_code == JERR_OUT_OF_MEMORY    ? ARGUS_E_NOMEM
         : st->jerr.msg_code == JERR_NO_BACKING_STORE ? ARGUS_E_LIMIT
                                                      : ARGUS_E_CORRUPT;
    goto done;
  }
  jpeg_create_decompress(&st->cinfo);
  rc = run(st, data, size, fmt, err);
done:
  jpeg_destroy_decompress(&st->cinfo);
  if (rc == ARGUS_OK)
    rc = img_apply_orientation(&st->img, st->orientation);
  if (rc == ARGUS_OK)
    *out = st->img;
  else
    argus_image_free(&st->img);
  free(st);
  return rc;
}
