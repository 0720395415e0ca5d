/* Small plug-ins for tests/test_plugin.c, one source built as several
 * MODULE libraries (tests/CMakeLists.txt) with PLUGIN_VARIANT set to one of
 * the values below: a good one, and one for each way a plug-in can be
 * malformed that the host must refuse with a clear message.
 *
 * The good one's detector returns the bounding box of the bright pixels
 * (first channel > 128) of its input, so a test can draw a white square and
 * check where the host maps it back; its embedder is a 4x4 grid of mean
 * grey levels of the crop (16 values), deterministic and cheap. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "argus/plugin.h"

#define V_GOOD 0
#define V_BAD_ABI 1     /* ABI major 99 */
#define V_NO_ENTRY 2    /* exports no argus_plugin_entry */
#define V_NULL_DESC 3   /* the entry returns NULL */
#define V_BAD_DIM 4     /* embedding dim -5 */
#define V_HUGE_DIM 5    /* embedding dim 1 << 30 */
#define V_NO_RUN 6      /* embedder without run */
#define V_TOO_MANY 7    /* detector returns max_faces + 1 faces */
#define V_NAN_EMB 8     /* embedder returns NaN */
#define V_NAN_BOX 9     /* detector returns a NaN score */
#define V_BAD_NAME 10   /* a name with a space and '@' */
#define V_NOTHING 11    /* neither detector nor embedder */
#define V_POINTS 12     /* the detector gives the 5 points (id argus_test_pts) */

#ifndef PLUGIN_VARIANT
#define PLUGIN_VARIANT V_GOOD
#endif

static const argus_plugin_host *host;

static int t_create(void **inst, char *err, size_t err_size) {
  (void)err;
  (void)err_size;
  /* an instance from the host's allocator, to exercise it */
  *inst = host->alloc(host->host_ctx, 16);
  return *inst ? 0 : 1;
}

static void t_destroy(void *inst) { host->free(host->host_ctx, inst); }

static int det_run(void *inst, const argus_plugin_image *img, float min_score,
                   argus_plugin_face *faces, int cap, int *n, char *err,
                   size_t err_size) {
  (void)inst;
  (void)min_score;
  if (!img->data || img->width < 1 || img->channels != 3) {
    snprintf(err, err_size, "want an RGB8 image, got %d channels",
             img->channels);
    return 1;
  }
  int x1 = img->width, y1 = img->height, x2 = -1, y2 = -1;
  for (int y = 0; y < img->height; y++) {
    const uint8_t *row = img->data + (size_t)y * (size_t)img->stride;
    for (int x = 0; x < img->width; x++)
      if (row[3 * x] > 128) {
        x1 = x < x1 ? x : x1;
        x2 = x > x2 ? x : x2;
        y1 = y < y1 ? y : y1;
        y2 = y > y2 ? y : y2;
      }
  }
  *n = 0;
  if (x2 < 0)
    return 0;
  int k = PLUGIN_VARIANT == V_TOO_MANY ? cap + 1 : 1;
  for (int i = 0; i < k && i < cap; i++) {
    memset(&faces[i], 0, sizeof faces[i]);
    faces[i].box[0] = (float)x1;
    faces[i].box[1] = (float)y1;
    faces[i].box[2] = (float)(x2 + 1);
    faces[i].box[3] = (float)(y2 + 1);
    faces[i].score = PLUGIN_VARIANT == V_NAN_BOX ? NAN : 0.9f;
    if (PLUGIN_VARIANT == V_POINTS) {
      /* eyes, nose, mouth corners at fixed fractions of the box */
      static const float at[5][2] = {
          {0.3f, 0.4f}, {0.7f, 0.4f}, {0.5f, 0.6f}, {0.35f, 0.8f}, {0.65f, 0.8f}};
      float w = (float)(x2 + 1 - x1), h = (float)(y2 + 1 - y1);
      faces[i].npoints = 5;
      for (int q = 0; q < 5; q++) {
        faces[i].points[q][0] = (float)x1 + at[q][0] * w;
        faces[i].points[q][1] = (float)y1 + at[q][1] * h;
      }
    }
  }
  *n = k;
  return 0;
}

static int emb_run(void *inst, const argus_plugin_image *crops, int n,
                   float *out, char *err, size_t err_size) {
  (void)inst;
  for (int i = 0; i < n; i++) {
    const argus_plugin_image *c = &crops[i];
    if (c->width != 112 || c->height != 112 || c->format != ARGUS_PLUGIN_PIX_BGR8) {
      snprintf(err, err_size, "crop %d is %dx%d format %d, not 112x112 BGR8", i,
               c->width, c->height, c->format);
      return 1;
    }
    float *o = out + (size_t)i * 16;
    for (int g = 0; g < 16; g++) {
      int gx = g % 4, gy = g / 4;
      double s = 0;
      for (int y = gy * 28; y < gy * 28 + 28; y++)
        for (int x = gx * 28; x < gx * 28 + 28; x++) {
          const uint8_t *p = c->data + (size_t)y * (size_t)c->stride + 3 * x;
          s += p[0] + p[1] + p[2];
        }
      o[g] = (float)(s / (28.0 * 28.0 * 3.0) - 100.0);
    }
    if (PLUGIN_VARIANT == V_NAN_EMB)
      o[3] = NAN;
  }
  return 0;
}

static const argus_plugin_detector detector = {
    .input_width = 320,
    .input_height = 240,
    .max_faces = 4,
    .score_threshold = 0.5f,
    .nms_iou = 0.4f,
    .image_format = ARGUS_PLUGIN_PIX_RGB8,
    .npoints = PLUGIN_VARIANT == V_POINTS ? 5 : 0,
    .create = t_create,
    .destroy = t_destroy,
    .run = det_run,
};

static const argus_plugin_embedder embedder = {
    .dim = PLUGIN_VARIANT == V_BAD_DIM    ? -5
           : PLUGIN_VARIANT == V_HUGE_DIM ? 1 << 30
                                          : 16,
    .align_width = 112,
    .align_height = 112,
    .align_template = {{38.2946f, 51.6963f},
                       {73.5318f, 51.5014f},
                       {56.0252f, 71.7366f},
                       {41.5493f, 92.3655f},
                       {70.7299f, 92.2041f}},
    .max_batch = 4,
    .crop_format = ARGUS_PLUGIN_PIX_BGR8,
    .nthresholds = 2,
    .thresholds = {{1e-2, 0.8f}, {1e-3, 0.9f}},
    .default_fmr = 1e-3,
    .calibration = "provisional: a test plug-in",
    .create = t_create,
    .destroy = t_destroy,
    .run = PLUGIN_VARIANT == V_NO_RUN ? NULL : emb_run,
};

static const argus_plugin_descriptor descriptor = {
    .abi_major = PLUGIN_VARIANT == V_BAD_ABI ? 99 : ARGUS_PLUGIN_ABI_MAJOR,
    .abi_minor = ARGUS_PLUGIN_ABI_MINOR,
    .name = PLUGIN_VARIANT == V_BAD_NAME ? "bad name@x"
            : PLUGIN_VARIANT == V_POINTS ? "argus_test_pts"
                                         : "argus_test",
    .version = "1.0",
    .description = "test plug-in",
    .license = "MIT",
    .detector = PLUGIN_VARIANT == V_NOTHING ? NULL : &detector,
    /* the points variant: a detector only, next to the default embedder */
    .embedder = PLUGIN_VARIANT == V_NOTHING || PLUGIN_VARIANT == V_POINTS
                    ? NULL
                    : &embedder,
};

#if PLUGIN_VARIANT == V_NO_ENTRY
ARGUS_PLUGIN_EXPORT const argus_plugin_descriptor *
argus_plugin_entry_misspelt(const argus_plugin_host *h) {
  host = h;
  return &descriptor;
}
#else
ARGUS_PLUGIN_EXPORT const argus_plugin_descriptor *
argus_plugin_entry(const argus_plugin_host *h) {
  host = h;
  if (h->abi_major != ARGUS_PLUGIN_ABI_MAJOR) {
    /* A real plug-in checks the host too. */
    return NULL;
  }
  h->log(h->host_ctx, ARGUS_PLUGIN_LOG_DEBUG, "test plug-in loaded");
  return PLUGIN_VARIANT == V_NULL_DESC ? NULL : &descriptor;
}
#endif
