/*
 * libFuzzer harness for image decoding (JPEG, PNG, EXIF orientation).
 *
 * Every input is decoded with argus_image_decode into the output format
 * picked by its size (GRAY8, RGB8 or BGR8, so that every conversion path is
 * reached). A decoded image of modest size is then pushed through the
 * operations the pipeline applies to decoded files (resize, to_tensor, warp,
 * JPEG encoding), so that odd sizes coming from real decoders reach them.
 * Seeds: run tests/test_image with ARGUS_IMAGE_CORPUS_DIR=fuzz/corpus-image.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "argus/image.h"

#define MAX_OPS_PIXELS (256 * 256)

static void quiet(void *user, argus_log_level level, const char *module,
                  const char *line) {
  (void)user, (void)level, (void)module, (void)line;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static int init;
  if (!init) {
    argus_log_set_sink(quiet, NULL);
    init = 1;
  }
  static const argus_pixfmt fmts[3] = {ARGUS_PIX_GRAY8, ARGUS_PIX_RGB8,
                                       ARGUS_PIX_BGR8};
  argus_image im, small;
  argus_image_error err;
  if (argus_image_decode(data, size, fmts[size % 3], &im, &err) != ARGUS_OK) {
    /* A failure always says why and leaves no image behind. */
    if (!err.msg[0] || im.data[0])
      abort();
    return 0;
  }
  if (im.width < 1 || im.height < 1 || !im.data[0])
    abort();
  if ((size_t)im.width * (size_t)im.height <= MAX_OPS_PIXELS) {
    if (argus_image_alloc(&small, 17, 13, im.format) == ARGUS_OK) {
      argus_image_resize(&im, &small);
      const float m[6] = {0.7f, -0.3f, 2.5f, 0.3f, 0.7f, -1.5f};
      argus_image_warp_affine(&im, m, &small);
      uint8_t *jpg = NULL;
      size_t n = 0;
      if (argus_image_encode_jpeg(&small, 75, &jpg, &n) == ARGUS_OK)
        free(jpg);
      argus_image_free(&small);
    }
    float t[3 * 8 * 8];
    const float box[4] = {-2.0f, -1.0f, (float)im.width + 3.0f,
                          (float)im.height * 0.5f + 0.5f};
    argus_image_to_tensor(&im, box, 8, 8, ARGUS_CH_BGR, 127.0f, 1.0f / 128, t);
  }
  argus_image_free(&im);
  return 0;
}
