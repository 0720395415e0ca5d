/* The YuNet detector (card decoder "anchor_free_grid") against ONNX Runtime.
 *
 * 1. The engine on the fixed 640x640 export with its input shape overridden
 *    to 320x256 (Resize, the Reshape [1,-1,k] generalisation) against ONNX
 *    Runtime's 12 raw outputs on the same seeded input (tests/ref/
 *    yunet_n_rand, ORT on the dynamic export of the same weights).
 * 2. The detector on a real photo (two_people.jpg at half size: content
 *    563x331 padded to 576x352) against ONNX Runtime's raw outputs for the
 *    same input decoded independently by scripts/ort-yunet.js
 *    (tests/ref/yunet_n_photo): same faces, scores, boxes and 5 points; the
 *    points in the order of the alignment template (image-left eye first);
 *    a mirrored pass on the mirrored photo gives the mirror image.
 * 3. The engine with the YuNet card loads no landmarker and aligns and
 *    embeds with the detector's points.
 *
 * References: scripts/ort-yunet.js (after `test_face_yunet --write-input
 * FILE`, see tests/ref/README.md). Skips without the model. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "argus/core.h"
#include "argus/face.h"
#include "argus/image.h"
#include "argus/nn.h"
#include "check.h"

#define MODEL "yunet_n_640_640.onnx"
#define ATOL 1e-4
#define RTOL 1e-4
/* The photo case: the pass's longer side (half of 1126). */
#define PHOTO_SIZE 563

static const char *src_dir, *models_dir, *shared_dir;

static int file_exists(const char *p) {
  FILE *f = fopen(p, "rb");
  if (f)
    fclose(f);
  return f != NULL;
}

static char *read_all(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  char *buf = NULL;
  size_t cap = 0, n = 0;
  for (;;) {
    if (n + 65536 + 1 > cap) {
      cap = (n + 65536 + 1) * 2;
      char *nb = realloc(buf, cap);
      if (!nb) {
        free(buf);
        fclose(f);
        return NULL;
      }
      buf = nb;
    }
    size_t k = fread(buf + n, 1, 65536, f);
    n += k;
    if (k == 0)
      break;
  }
  fclose(f);
  buf[n] = '\0';
  *len = n;
  return buf;
}

static uint32_t fmix32(uint32_t x) {
  x ^= x >> 16;
  x *= 0x85ebca6bu;
  x ^= x >> 13;
  x *= 0xc2b2ae35u;
  x ^= x >> 16;
  return x ? x : 0x9e3779b9u;
}

static void fill(float *out, size_t n, uint32_t seed, float lo, float hi) {
  uint32_t s = fmix32(seed);
  for (size_t i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >> 17;
    s ^= s << 5;
    float u = (float)(s >> 8) * (1.0f / 16777216.0f);
    out[i] = lo + (hi - lo) * u;
  }
}

/* ---- 1. raw outputs at 320x256 ------------------------------------------ */

static void test_raw(const char *model_path) {
  char dir[4096], path[4200];
  snprintf(dir, sizeof dir, "%s/tests/ref/yunet_n_rand", src_dir);
  argus_nn_model *m = NULL;
  argus_nn_error ne = {{0}};
  CHECK_OK(argus_nn_model_load_file(model_path, &m, &ne));
  if (!m) {
    fprintf(stderr, "%s: %s\n", model_path, ne.msg);
    return;
  }
  argus_nn_input_shape shape;
  memset(&shape, 0, sizeof shape);
  shape.name = "input";
  shape.rank = 4;
  shape.dims[0] = 1;
  shape.dims[1] = 3;
  shape.dims[2] = 256;
  shape.dims[3] = 320;
  argus_threadpool *pool = NULL;
  CHECK_OK(argus_threadpool_create(2, &pool));
  for (int pass = 0; pass < 2; pass++) {
    argus_nn_session_opts so;
    memset(&so, 0, sizeof so);
    so.shapes = &shape;
    so.nshapes = 1;
    so.pool = pass ? pool : NULL;
    argus_nn_session *s = NULL;
    CHECK_OK(argus_nn_session_create(m, &so, &s, &ne));
    if (!s) {
      fprintf(stderr, "session: %s\n", ne.msg);
      break;
    }
    argus_nn_tensor_desc d;
    void *in;
    CHECK_OK(argus_nn_session_input(s, 0, &d, &in));
    fill(in, 3 * 256 * 320, 505, 0.0f, 256.0f);
    CHECK_OK(argus_nn_session_run(s, &ne));
    int nout = argus_nn_session_output_count(s);
    CHECK_INT_EQ(nout, 12);
    for (int k = 0; k < nout; k++) {
      const void *p;
      CHECK_OK(argus_nn_session_output(s, k, &d, &p));
      snprintf(path, sizeof path, "%s/output_%s.f32", dir, d.name);
      size_t len = 0;
      char *ref = read_all(path, &len);
      if (!ref) {
        fprintf(stderr, "%s missing (node scripts/ort-yunet.js)\n", path);
        CHECK(0);
        continue;
      }
      size_t n = 1;
      for (int r = 0; r < d.rank; r++)
        n *= (size_t)d.dims[r];
      CHECK_INT_EQ(len, n * sizeof(float));
      const float *a = p, *b = (const float *)ref;
      double worst = 0;
      size_t bad = 0;
      for (size_t i = 0; i < n && len == n * sizeof(float); i++) {
        double e = fabs((double)a[i] - b[i]);
        if (e > worst)
          worst = e;
        if (!(e <= ATOL + RTOL * fabs(b[i]))) {
          if (bad++ < 3)
            fprintf(stderr, "  %s[%zu]: argus %.9g, ORT %.9g\n", d.name, i,
                    a[i], b[i]);
        }
      }
      CHECK_INT_EQ(bad, 0);
      if (pass == 0)
        printf("  %s [1,%lld,%lld]: max |argus - ORT| %.3g\n", d.name,
               (long long)d.dims[1], (long long)d.dims[2], worst);
      free(ref);
    }
    argus_nn_session_free(s);
  }
  argus_threadpool_destroy(pool);
  argus_nn_model_free(m);
}

/* ---- 2. the detector on a photo ----------------------------------------- */

/* The pass the engine plans for the photo and the input grid_run makes for
 * it (same float steps as src/face/detector.c). */
static int photo_input(const argus_face_detector *det, const argus_image *im,
                       argus_face_pass *p, float **tensor, size_t *n) {
  argus_face_detect_opts o;
  argus_face_detect_opts_default(&o);
  o.size = PHOTO_SIZE;
  int np = 0;
  if (argus_face_plan_passes(det, im->width, im->height, &o, p, 1, &np) !=
          ARGUS_OK ||
      np != 1)
    return -1;
  const float sx = (p->roi[2] - p->roi[0]) / (float)p->content_w;
  const float sy = (p->roi[3] - p->roi[1]) / (float)p->content_h;
  float box[4] = {p->roi[0], p->roi[1], p->roi[0] + sx * (float)p->net_w,
                  p->roi[1] + sy * (float)p->net_h};
  *n = 3 * (size_t)p->net_w * (size_t)p->net_h;
  *tensor = malloc(*n * sizeof(float));
  if (!*tensor)
    return -1;
  return argus_image_to_tensor(im, box, p->net_w, p->net_h, ARGUS_CH_BGR, 0.0f,
                               1.0f, *tensor) == ARGUS_OK
             ? 0
             : -1;
}

static float box_iou4(const float a[4], const float b[4]) {
  argus_face_box x = {a[0], a[1], a[2], a[3], 0};
  argus_face_box y = {b[0], b[1], b[2], b[3], 0};
  return argus_face_iou(&x, &y);
}

static void check_order(const argus_face *f) {
  /* image-left eye, image-right eye, nose, image-left and image-right mouth
   * corners: the embedder template's order */
  CHECK_INT_EQ(f->npoints, ARGUS_FACE_NPOINTS);
  CHECK(f->points[0][0] < f->points[1][0]);
  CHECK(f->points[3][0] < f->points[4][0]);
  float eye_y = 0.5f * (f->points[0][1] + f->points[1][1]);
  float mouth_y = 0.5f * (f->points[3][1] + f->points[4][1]);
  CHECK(eye_y < f->points[2][1] && f->points[2][1] < mouth_y);
  for (int k = 0; k < 5; k++)
    CHECK(f->points[k][0] > f->box[0] && f->points[k][0] < f->box[2] &&
          f->points[k][1] > f->box[1] && f->points[k][1] < f->box[3]);
}

static void test_photo(argus_face_engine *eng, const argus_image *im) {
  const argus_face_detector *det = argus_face_engine_detector(eng);
  argus_face_pass p;
  float *t = NULL;
  size_t n = 0;
  CHECK(photo_input(det, im, &p, &t, &n) == 0);
  if (!t)
    return;
  CHECK_INT_EQ(p.net_w, 576);
  CHECK_INT_EQ(p.net_h, 352);
  CHECK_INT_EQ(p.content_w, 563);
  CHECK_INT_EQ(p.content_h, 331);
  char hex[65];
  argus_sha256_hex(t, n * sizeof(float), hex);
  free(t);

  char path[4200];
  snprintf(path, sizeof path, "%s/tests/ref/yunet_n_photo/meta.json",
           src_dir);
  size_t len = 0;
  char *txt = read_all(path, &len);
  cJSON *doc = txt ? cJSON_ParseWithLength(txt, len) : NULL;
  free(txt);
  CHECK(doc != NULL);
  if (!doc)
    return;
  const cJSON *ish = cJSON_GetObjectItem(doc, "input_sha256");
  CHECK(cJSON_IsString(ish) && strcmp(ish->valuestring, hex) == 0);
  if (!cJSON_IsString(ish) || strcmp(ish->valuestring, hex) != 0)
    fprintf(stderr,
            "  the detector input changed (sha256 %s): regenerate "
            "tests/ref/yunet_n_photo (tests/ref/README.md)\n",
            hex);
  const float sx = (p.roi[2] - p.roi[0]) / (float)p.content_w;
  const float sy = (p.roi[3] - p.roi[1]) / (float)p.content_h;
  const float thr = (float)cJSON_GetObjectItem(doc, "score_threshold")
                        ->valuedouble;

  argus_face_detect_opts o;
  argus_face_detect_opts_default(&o);
  o.size = PHOTO_SIZE;
  o.min_score = thr;
  o.nms_iou = (float)cJSON_GetObjectItem(doc, "nms_iou")->valuedouble;
  argus_face faces[64];
  int nf = 0;
  argus_face_error fe = {{0}};
  /* Boxes only: no points, whichever detector. */
  CHECK_OK(argus_face_engine_analyze(eng, im, &o, 0, faces, 64, &nf, NULL,
                                     &fe));
  CHECK(nf >= 2);
  for (int i = 0; i < nf; i++)
    CHECK_INT_EQ(faces[i].npoints, 0);
  /* Landmarks: the detector's points (no landmarker is loaded). */
  CHECK_OK(argus_face_engine_analyze(eng, im, &o, ARGUS_FACE_DO_LANDMARKS,
                                     faces, 64, &nf, NULL, &fe));
  const cJSON *dets = cJSON_GetObjectItem(doc, "detections");
  /* Faces away from the threshold must agree one to one. */
  const float margin = 2e-3f;
  int nref = 0, nours = 0, good = 0;
  for (int i = 0; i < nf; i++)
    nours += faces[i].score >= thr + margin;
  const cJSON *d;
  cJSON_ArrayForEach(d, dets) {
    float score = (float)cJSON_GetObjectItem(d, "score")->valuedouble;
    if (score < thr + margin)
      continue;
    nref++;
    const cJSON *b = cJSON_GetObjectItem(d, "box");
    float rb[4];
    for (int k = 0; k < 4; k++) {
      float v = (float)cJSON_GetArrayItem(b, k)->valuedouble;
      v = k % 2 == 0 ? p.roi[0] + v * sx : p.roi[1] + v * sy;
      float lim = k % 2 == 0 ? (float)im->width : (float)im->height;
      rb[k] = v < 0 ? 0 : v > lim ? lim : v;
    }
    int best = -1;
    float bi = 0;
    for (int i = 0; i < nf; i++) {
      float v = box_iou4(rb, faces[i].box);
      if (v > bi) {
        bi = v;
        best = i;
      }
    }
    CHECK(best >= 0 && bi > 0.99f);
    if (best < 0)
      continue;
    const argus_face *f = &faces[best];
    CHECK_NEAR(f->score, score, 2e-4, 0);
    for (int k = 0; k < 4; k++)
      CHECK_NEAR(f->box[k], rb[k], 0.02, 0);
    const cJSON *pts = cJSON_GetObjectItem(d, "points");
    CHECK_INT_EQ(f->npoints, ARGUS_FACE_NPOINTS);
    for (int k = 0; k < 5; k++) {
      const cJSON *pt = cJSON_GetArrayItem(pts, k);
      float x = p.roi[0] + (float)cJSON_GetArrayItem(pt, 0)->valuedouble * sx;
      float y = p.roi[1] + (float)cJSON_GetArrayItem(pt, 1)->valuedouble * sy;
      CHECK_NEAR(f->points[k][0], x, 0.02, 0);
      CHECK_NEAR(f->points[k][1], y, 0.02, 0);
    }
    if (score >= 0.6f) {
      check_order(f);
      good++;
    }
  }
  CHECK_INT_EQ(nours, nref);
  CHECK(good >= 2); /* both people of the photo */
  printf("  photo: %d faces above %.2f agree with ONNX Runtime's decoded "
         "outputs, %d above 0.6\n",
         nref, (double)thr, good);
  cJSON_Delete(doc);
}

/* A mirrored pass on the mirrored photo is the mirror image of a plain pass
 * (the network sees the same tensor). */
static void test_flip(argus_face_engine *eng, const argus_image *im) {
  const argus_face_detector *det = argus_face_engine_detector(eng);
  CHECK(det->detect_pass_points != NULL);
  if (!det->detect_pass_points)
    return;
  argus_image mir;
  memset(&mir, 0, sizeof mir);
  CHECK_OK(argus_image_alloc(&mir, im->width, im->height, im->format));
  for (int y = 0; y < im->height; y++) {
    const uint8_t *s = im->data[0] + (size_t)y * im->stride[0];
    uint8_t *t = mir.data[0] + (size_t)y * mir.stride[0];
    for (int x = 0; x < im->width; x++)
      memcpy(t + 3 * (size_t)(im->width - 1 - x), s + 3 * (size_t)x, 3);
  }
  argus_face_detect_opts o;
  argus_face_detect_opts_default(&o);
  o.size = PHOTO_SIZE;
  argus_face_pass p;
  int np = 0;
  CHECK_OK(argus_face_plan_passes(det, im->width, im->height, &o, &p, 1, &np));
  void *st = NULL;
  CHECK_OK(det->ops->state_create(det->ctx, &st));
  static argus_face_box a[4096], b[4096];
  static float pa[4096][ARGUS_FACE_NPOINTS][2], pb[4096][ARGUS_FACE_NPOINTS][2];
  int na = 0, nb = 0;
  argus_face_error fe = {{0}};
  CHECK_OK(det->detect_pass_points(det->ctx, st, im, &p, 0.6f, a, pa, 4096,
                                   &na, &fe));
  p.flip = 1;
  CHECK_OK(det->detect_pass_points(det->ctx, st, &mir, &p, 0.6f, b, pb, 4096,
                                   &nb, &fe));
  CHECK_INT_EQ(na, nb);
  CHECK(na >= 2);
  const float W = (float)im->width;
  static const int swap[5] = {1, 0, 2, 4, 3};
  for (int i = 0; i < na && i < nb; i++) {
    CHECK_NEAR(b[i].score, a[i].score, 1e-6, 0);
    CHECK_NEAR(b[i].x1, W - a[i].x2, 1e-2, 0);
    CHECK_NEAR(b[i].x2, W - a[i].x1, 1e-2, 0);
    CHECK_NEAR(b[i].y1, a[i].y1, 1e-2, 0);
    for (int k = 0; k < 5; k++) {
      CHECK_NEAR(pb[i][k][0], W - pa[i][swap[k]][0], 1e-2, 0);
      CHECK_NEAR(pb[i][k][1], pa[i][swap[k]][1], 1e-2, 0);
    }
  }
  det->ops->state_free(det->ctx, st);
  argus_image_free(&mir);
}

/* No landmarker: alignment and embedding from the detector's points. */
static void test_no_landmarker(argus_face_engine *eng,
                               const argus_image *im) {
  CHECK(argus_face_engine_card(eng, ARGUS_FACE_MODEL_LANDMARKER) == NULL);
  int dim = argus_face_engine_dim(eng);
  argus_face faces[16];
  float *emb = malloc((size_t)16 * (size_t)dim * sizeof(float));
  int nf = 0;
  argus_face_error fe = {{0}};
  CHECK_OK(argus_face_engine_analyze(
      eng, im, NULL, ARGUS_FACE_DO_QUALITY | ARGUS_FACE_DO_EMBED, faces, 16,
      &nf, emb, &fe));
  CHECK(nf >= 2);
  for (int i = 0; i < nf; i++) {
    check_order(&faces[i]);
    CHECK(faces[i].has_quality);
    double s = 0;
    for (int k = 0; k < dim; k++)
      s += (double)emb[(size_t)i * dim + k] * emb[(size_t)i * dim + k];
    CHECK_NEAR(s, 1.0, 1e-3, 0);
  }
  free(emb);
}

int main(int argc, char **argv) {
  /* The comparisons with ONNX Runtime are of float32 arithmetic; the card
   * runs YuNet in bf16 where the CPU can (test_bf16 checks bf16 vs f32). */
  setenv("ARGUS_PRECISION", "f32", 1);
  src_dir = getenv("ARGUS_SOURCE_DIR");
  models_dir = getenv("ARGUS_MODELS_DIR");
  shared_dir = getenv("ARGUS_SHARED_DATA");
  if (!src_dir)
    src_dir = ".";
  if (!models_dir)
    models_dir = "models";
  char model_path[4096];
  snprintf(model_path, sizeof model_path, "%s/%s", models_dir, MODEL);
  if (!file_exists(model_path))
    snprintf(model_path, sizeof model_path, "%s/share/models/%s", src_dir,
             MODEL);
  if (!file_exists(model_path))
    SKIP("no %s in %s or share/models", MODEL, models_dir);

  char photo[4096] = "";
  argus_image im;
  memset(&im, 0, sizeof im);
  if (shared_dir) {
    snprintf(photo, sizeof photo,
             "%s/stills/face_recognition_examples/examples/two_people.jpg",
             shared_dir);
    argus_image_error ie = {{0}};
    if (argus_image_read_file(photo, ARGUS_PIX_RGB8, &im, &ie) != ARGUS_OK)
      photo[0] = '\0';
  }

  argus_face_engine *eng = NULL;
  argus_face_engine_opts eo;
  memset(&eo, 0, sizeof eo);
  eo.models_dir = models_dir;
  eo.detector = "yunet_n";
  argus_face_error fe = {{0}};
  char probe[4200];
  snprintf(probe, sizeof probe, "%s/%s", models_dir, MODEL);
  if (file_exists(probe) &&
      argus_face_engine_create(&eo, &eng, &fe) != ARGUS_OK) {
    fprintf(stderr, "engine: %s\n", fe.msg);
    CHECK(0);
  }

  if (argc == 3 && strcmp(argv[1], "--write-input") == 0) {
    /* The photo case's input, for scripts/ort-yunet.js. */
    if (!eng || !photo[0])
      SKIP("need the models (scripts/fetch-models.sh) and the photo");
    argus_face_pass p;
    float *t = NULL;
    size_t n = 0;
    if (photo_input(argus_face_engine_detector(eng), &im, &p, &t, &n) != 0)
      return 1;
    FILE *f = fopen(argv[2], "wb");
    if (!f || fwrite(t, sizeof(float), n, f) != n || fclose(f) != 0)
      return 1;
    printf("--photo-input %s --photo-shape 1,3,%d,%d\n", argv[2], p.net_h,
           p.net_w);
    free(t);
    argus_face_engine_free(eng);
    argus_image_free(&im);
    return 0;
  }

  printf("raw outputs at 320x256 against ONNX Runtime (%s):\n", model_path);
  test_raw(model_path);
  if (!eng)
    printf("  (no %s: detector checks skipped; run scripts/fetch-models.sh)\n",
           probe);
  else if (!photo[0])
    printf("  (no photo in ARGUS_SHARED_DATA: photo checks skipped)\n");
  else {
    test_photo(eng, &im);
    test_flip(eng, &im);
    test_no_landmarker(eng, &im);
  }
  argus_face_engine_free(eng);
  argus_image_free(&im);
  return check_report("test_face_yunet");
}
