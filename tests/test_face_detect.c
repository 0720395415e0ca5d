/* The detector's own decoding of fr_detect's raw heads ("461" logits and
 * "462" deltas, read from the graph: Concat_149 -> Softmax_151 -> scores,
 * Concat_150 -> Slice_152 -> ... -> boxes) against the decoder baked into
 * the graph at 320x240: same probabilities for every prior, same boxes
 * for every candidate. Then the detector at other sizes, and on a real
 * photo when ../shared/data is there. Skips without the models. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "argus/face.h"
#include "check.h"

static const char *models;

static argus_nn_model *load_model(const char *name) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", models, name);
  argus_nn_model *m = NULL;
  argus_nn_error e = {{0}};
  if (argus_nn_model_load_file(path, &m, &e) != ARGUS_OK) {
    fprintf(stderr, "%s: %s\n", path, e.msg);
    return NULL;
  }
  return m;
}

/* A deterministic test picture: smooth blobs plus noise. */
static void fill_picture(argus_image *im, unsigned seed) {
  uint32_t s = seed * 2654435761u + 1;
  for (int y = 0; y < im->height; y++) {
    uint8_t *row = im->data[0] + (size_t)y * im->stride[0];
    for (int x = 0; x < im->width; x++)
      for (int c = 0; c < 3; c++) {
        s ^= s << 13;
        s ^= s >> 17;
        s ^= s << 5;
        double v = 128 + 60 * sin(x * 0.05 + c) * cos(y * 0.07 - c) +
                   (double)(s % 41) - 20;
        row[3 * x + c] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
      }
  }
}

/* Compares the detector's candidates at 320x240 with the graph's decoder on
 * the same picture. */
static void compare_baked(argus_nn_model *model, const argus_face_card *card,
                          const argus_face_detector *det,
                          const argus_image *img, float thr) {
  const char *outs[4] = {"scores", "boxes", card->scores_output,
                         card->deltas_output};
  argus_nn_session_opts so;
  memset(&so, 0, sizeof so);
  so.outputs = outs;
  so.noutputs = 4;
  argus_nn_session *s = NULL;
  argus_nn_error ne = {{0}};
  CHECK_OK(argus_nn_session_create(model, &so, &s, &ne));
  if (!s) {
    fprintf(stderr, "%s\n", ne.msg);
    return;
  }
  argus_nn_tensor_desc d;
  void *in;
  CHECK_OK(argus_nn_session_input(s, 0, &d, &in));
  float box[4] = {0, 0, (float)img->width, (float)img->height};
  CHECK_OK(argus_image_to_tensor(img, box, 320, 240, ARGUS_CH_RGB, card->mean,
                                 card->scale, in));
  CHECK_OK(argus_nn_session_run(s, &ne));
  const float *sc, *bx, *lg, *dl;
  argus_nn_tensor_desc ds[4];
  CHECK_OK(argus_nn_session_output(s, argus_nn_session_find_output(s, "scores"),
                                   &ds[0], (const void **)&sc));
  CHECK_OK(argus_nn_session_output(s, argus_nn_session_find_output(s, "boxes"),
                                   &ds[1], (const void **)&bx));
  CHECK_OK(argus_nn_session_output(
      s, argus_nn_session_find_output(s, card->scores_output), &ds[2],
      (const void **)&lg));
  CHECK_OK(argus_nn_session_output(
      s, argus_nn_session_find_output(s, card->deltas_output), &ds[3],
      (const void **)&dl));
  size_t A = argus_face_prior_count(&card->priors, 320, 240);
  CHECK_INT_EQ(A, 4420);
  CHECK_INT_EQ(ds[2].dims[1], 4420);
  CHECK_INT_EQ(ds[2].dims[2], 2);
  CHECK_INT_EQ(ds[3].dims[2], 4);

  /* Every prior: softmax of the logits and the decoded box. */
  static float pr[4 * 4420];
  size_t np;
  CHECK_OK(argus_face_priors(&card->priors, 320, 240, pr, 4420, &np));
  double worst_p = 0, worst_b = 0;
  for (size_t a = 0; a < A; a++) {
    double p = 1 / (1 + exp((double)lg[2 * a] - lg[2 * a + 1]));
    worst_p = fmax(worst_p, fabs(p - sc[2 * a + 1]));
    const float *q = pr + 4 * a, *l = dl + 4 * a;
    double cx = l[0] * 0.1 * q[2] + q[0], cy = l[1] * 0.1 * q[3] + q[1];
    double w = exp(l[2] * 0.2) * q[2], h = exp(l[3] * 0.2) * q[3];
    double b[4] = {cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2};
    for (int k = 0; k < 4; k++) {
      worst_b = fmax(worst_b, fabs(b[k] - bx[4 * a + k]));
    }
  }
  CHECK_NEAR(worst_p, 0, 1e-5, 0);
  CHECK_NEAR(worst_b, 0, 1e-5, 0);

  /* The detector's pass at 320x240 over the whole picture returns exactly
   * the priors the graph scores at or above thr, with the graph's boxes. */
  void *st = NULL;
  CHECK_OK(det->ops->state_create(det->ctx, &st));
  argus_face_pass pass;
  memset(&pass, 0, sizeof pass);
  pass.roi[2] = (float)img->width;
  pass.roi[3] = (float)img->height;
  pass.net_w = 320;
  pass.net_h = 240;
  static argus_face_box cand[4420];
  int n = 0;
  argus_face_error fe = {{0}};
  CHECK_OK(det->ops->detect_pass(det->ctx, st, img, &pass, thr, cand, 4420, &n,
                                 &fe));
  int want = 0, matched = 0;
  for (size_t a = 0; a < A; a++) {
    if (sc[2 * a + 1] < thr)
      continue;
    want++;
    for (int i = 0; i < n; i++) {
      if (fabsf(cand[i].score - sc[2 * a + 1]) < 1e-5f &&
          fabsf(cand[i].x1 - bx[4 * a] * img->width) < 1e-2f &&
          fabsf(cand[i].y1 - bx[4 * a + 1] * img->height) < 1e-2f &&
          fabsf(cand[i].x2 - bx[4 * a + 2] * img->width) < 1e-2f &&
          fabsf(cand[i].y2 - bx[4 * a + 3] * img->height) < 1e-2f) {
        matched++;
        break;
      }
    }
  }
  printf("  %dx%d picture: %d candidates at %.2f, graph %d, matched %d\n",
         img->width, img->height, n, thr, want, matched);
  CHECK_INT_EQ(n, want);
  CHECK_INT_EQ(matched, want);
  det->ops->state_free(det->ctx, st);
  argus_nn_session_free(s);
}

/* A mirrored pass on a picture finds the mirror images of the boxes a
 * plain pass finds on the mirrored picture (at the network's own size the
 * two input tensors are the same), with the same scores. */
static void check_flip(const argus_face_detector *det) {
  argus_image im, mir;
  CHECK_OK(argus_image_alloc(&im, 320, 240, ARGUS_PIX_RGB8));
  CHECK_OK(argus_image_alloc(&mir, 320, 240, ARGUS_PIX_RGB8));
  fill_picture(&im, 4);
  for (int y = 0; y < 240; y++) {
    const uint8_t *a = im.data[0] + (size_t)y * im.stride[0];
    uint8_t *b = mir.data[0] + (size_t)y * mir.stride[0];
    for (int x = 0; x < 320; x++)
      memcpy(b + 3 * (319 - x), a + 3 * x, 3);
  }
  void *st = NULL;
  CHECK_OK(det->ops->state_create(det->ctx, &st));
  argus_face_pass p;
  memset(&p, 0, sizeof p);
  p.roi[2] = 320;
  p.roi[3] = 240;
  p.net_w = 320;
  p.net_h = 240;
  static argus_face_box a[4420], b[4420];
  int na = -1, nb = -1;
  argus_face_error fe = {{0}};
  p.flip = 1;
  CHECK_OK(det->ops->detect_pass(det->ctx, st, &im, &p, 0.05f, a, 4420, &na,
                                 &fe));
  p.flip = 0;
  CHECK_OK(det->ops->detect_pass(det->ctx, st, &mir, &p, 0.05f, b, 4420, &nb,
                                 &fe));
  CHECK(na > 0);
  CHECK_INT_EQ(na, nb);
  int matched = 0;
  for (int i = 0; i < na; i++)
    for (int j = 0; j < nb; j++)
      if (fabsf(a[i].score - b[j].score) < 1e-5f &&
          fabsf(a[i].x1 - (320 - b[j].x2)) < 1e-3f &&
          fabsf(a[i].x2 - (320 - b[j].x1)) < 1e-3f &&
          fabsf(a[i].y1 - b[j].y1) < 1e-3f &&
          fabsf(a[i].y2 - b[j].y2) < 1e-3f) {
        matched++;
        break;
      }
  printf("  mirrored pass: %d candidates, %d match the mirrored picture's\n",
         na, matched);
  CHECK_INT_EQ(matched, na);
  /* Not trivially so: the plain pass on the picture itself differs. */
  CHECK_OK(det->ops->detect_pass(det->ctx, st, &im, &p, 0.05f, b, 4420, &nb,
                                 &fe));
  int same = nb == na;
  for (int i = 0; i < na && same; i++)
    same = fabsf(a[i].x1 - b[i].x1) < 1e-3f && a[i].score == b[i].score;
  CHECK(!same);
  det->ops->state_free(det->ctx, st);
  argus_image_free(&im);
  argus_image_free(&mir);
}

int main(void) {
  models = getenv("ARGUS_MODELS_DIR");
  if (!models)
    models = "models";
  char path[1024];
  snprintf(path, sizeof path, "%s/fr_detect.onnx", models);
  FILE *f = fopen(path, "rb");
  if (!f)
    SKIP("no %s (run scripts/fetch-models.sh)", path);
  fclose(f);

  argus_face_card card;
  argus_face_error fe = {{0}};
  char cpath[1024];
  CHECK_OK(argus_face_card_find(models, "fr_detect", cpath, sizeof cpath, &fe));
  CHECK_OK(argus_face_card_load(cpath, &card, &fe));
  if (fe.msg[0])
    fprintf(stderr, "%s\n", fe.msg);
  CHECK_INT_EQ(card.kind, ARGUS_FACE_MODEL_DETECTOR);
  CHECK(strcmp(card.scores_output, "461") == 0);
  CHECK(strcmp(card.deltas_output, "462") == 0);

  argus_nn_model *model = load_model("fr_detect.onnx");
  CHECK(model != NULL);
  if (!model)
    return check_report("test_face_detect");
  argus_face_detector det;
  CHECK_OK(argus_face_detector_create(&card, model, &det, &fe));

  /* Synthetic pictures: candidates at a low threshold so that there are
   * many of them. */
  argus_image im;
  CHECK_OK(argus_image_alloc(&im, 320, 240, ARGUS_PIX_RGB8));
  fill_picture(&im, 1);
  compare_baked(model, &card, &det, &im, 0.05f);
  argus_image_free(&im);
  CHECK_OK(argus_image_alloc(&im, 500, 333, ARGUS_PIX_RGB8));
  fill_picture(&im, 2);
  compare_baked(model, &card, &det, &im, 0.05f);
  argus_image_free(&im);

  /* Other input sizes plan and decode: the raw heads carry exactly as many
   * anchors as the prior grid for that size. */
  void *st = NULL;
  CHECK_OK(det.ops->state_create(det.ctx, &st));
  CHECK_OK(argus_image_alloc(&im, 640, 480, ARGUS_PIX_RGB8));
  fill_picture(&im, 3);
  const int sizes[][2] = {{640, 480}, {333, 101}, {32, 32}, {1000, 562}};
  static argus_face_box cand[4096];
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    argus_face_pass p;
    memset(&p, 0, sizeof p);
    p.roi[2] = 640;
    p.roi[3] = 480;
    p.net_w = sizes[i][0];
    p.net_h = sizes[i][1];
    int n = -1;
    CHECK_OK(det.ops->detect_pass(det.ctx, st, &im, &p, 0.5f, cand, 4096, &n,
                                  &fe));
    CHECK(n >= 0);
  }
  det.ops->state_free(det.ctx, st);
  argus_image_free(&im);

  check_flip(&det);

  /* A real photo: the graph's own decoder and ours agree at the package's
   * threshold. */
  const char *shared = getenv("ARGUS_SHARED_DATA");
  if (shared) {
    snprintf(path, sizeof path,
             "%s/stills/face_recognition_examples/examples/two_people.jpg",
             shared);
    argus_image_error ie = {{0}};
    if (argus_image_read_file(path, ARGUS_PIX_RGB8, &im, &ie) == ARGUS_OK) {
      compare_baked(model, &card, &det, &im, 0.65f);
      argus_image_free(&im);
    } else {
      printf("  (no %s: real-photo comparison skipped)\n", path);
    }
  }
  argus_face_detector_destroy(&det);
  argus_face_detector_destroy(&det); /* twice is harmless */
  argus_nn_model_free(model);
  return check_report("test_face_detect");
}
