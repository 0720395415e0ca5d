/* Plug-ins (include/argus/plugin.h, src/face/plugin.c), with the small
 * plug-ins of tests/plugins/test_plugin_impl.c:
 *
 * - malformed plug-ins are refused at load with a message that says what
 *   is wrong (wrong ABI major version, missing entry symbol, no descriptor,
 *   garbage sizes, missing functions, bad names, not a shared object);
 * - garbage returned at run time (more faces than declared, NaN scores,
 *   NaN embedding values) fails the run with CORRUPT and a message;
 * - the good plug-in's detector boxes come back in image coordinates for
 *   whole-frame, tiled and mirrored passes; its embedder's vectors are
 *   L2-normalised, crops in another format or size are converted;
 * - with the models: an engine with the plug-in (its id is the algorithm
 *   id), two galleries on one store enrolled by the default embedder and
 *   by the plug-in never mix templates, and `argus_gallery_reindex` moves
 *   the default's enrolment to the plug-in from the stored crop; through the
 *   CLI, --plugin on embed/detect and `argus reindex --plugin --model ID`.
 *
 * Runs without the models (the engine parts are then skipped, said on
 * stderr); needs ARGUS_TEST_PLUGIN_DIR (set by CTest). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "argus/gallery.h"
#include "argus/plugin.h"
#include "argus/store.h"
#include "check.h"
#include "cli_util.h"

#define CHECK_HAS(hay, needle)                                                 \
  do {                                                                         \
    check_count_++;                                                            \
    if (!strstr((hay), (needle))) {                                            \
      fprintf(stderr, "%s:%d: '%s' not in %s:\n%.3000s\n", __FILE__, __LINE__, \
              (needle), #hay, (hay));                                          \
      check_failures_++;                                                       \
    }                                                                          \
  } while (0)

static const char *plugdir, *models, *shared, *cli;
static char tmp[256];

static const char *plugin(const char *variant) {
  static char buf[4][600];
  static int k;
  char *b = buf[k++ & 3];
  snprintf(b, sizeof buf[0], "%s/test_plugin_%s.so", plugdir, variant);
  return b;
}

/* ---- loading ------------------------------------------------------------- */

static void test_refused(void) {
  static const struct {
    const char *variant;
    argus_err rc;
    const char *msg;
  } cases[] = {
      {"bad_abi", ARGUS_E_UNSUPPORTED, "built for plug-in ABI 99.0"},
      {"no_entry", ARGUS_E_UNSUPPORTED, "missing symbol 'argus_plugin_entry'"},
      {"null_desc", ARGUS_E_CORRUPT, "returned no descriptor"},
      {"bad_dim", ARGUS_E_CORRUPT, "embedding dim -5 is out of range"},
      {"huge_dim", ARGUS_E_CORRUPT,
       "embedding dim 1073741824 is out of range [1, 8192]"},
      {"no_run", ARGUS_E_CORRUPT, "its embedder has no 'run' function"},
      {"bad_name", ARGUS_E_CORRUPT, "name and version must be"},
      {"nothing", ARGUS_E_CORRUPT, "provides neither a detector nor an "
                                   "embedder"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    argus_plugin *p = (argus_plugin *)1;
    argus_face_error err = {{0}};
    argus_err rc = argus_plugin_open(plugin(cases[i].variant), NULL, &p, &err);
    CHECK_INT_EQ(rc, cases[i].rc);
    CHECK(p == NULL);
    CHECK_HAS(err.msg, cases[i].msg);
    CHECK_HAS(err.msg, cases[i].variant); /* names the file */
  }
  /* not there; not a shared object */
  argus_plugin *p = NULL;
  argus_face_error err = {{0}};
  CHECK_INT_EQ(argus_plugin_open(plugin("absent"), NULL, &p, &err),
               ARGUS_E_NOT_FOUND);
  CHECK_HAS(err.msg, "No such file");
  char txt[400];
  snprintf(txt, sizeof txt, "%s/not_a_plugin.so", tmp);
  FILE *f = fopen(txt, "w");
  CHECK(f != NULL);
  if (f) {
    fputs("not an ELF file\n", f);
    fclose(f);
  }
  CHECK_INT_EQ(argus_plugin_open(txt, NULL, &p, &err), ARGUS_E_UNSUPPORTED);
  CHECK_HAS(err.msg, "cannot load it");
  CHECK_INT_EQ(argus_plugin_open(NULL, NULL, &p, &err), ARGUS_E_INVALID_ARG);
  argus_plugin_close(NULL);
}

/* ---- the detector --------------------------------------------------------- */

/* A black w x h RGB8 image with a white rectangle [x1, x2) x [y1, y2). */
static void square(argus_image *im, int w, int h, int x1, int y1, int x2,
                   int y2) {
  CHECK_OK(argus_image_alloc(im, w, h, ARGUS_PIX_RGB8));
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      uint8_t v = x >= x1 && x < x2 && y >= y1 && y < y2 ? 255 : 0;
      uint8_t *px = im->data[0] + (size_t)y * im->stride[0] + 3 * (size_t)x;
      px[0] = px[1] = px[2] = v;
    }
}

static int run_pass(argus_face_detector *d, void *st, const argus_image *im,
                    const argus_face_pass *pass, float min_score,
                    argus_face_box *out, int *n, argus_face_error *err) {
  return (int)d->ops->detect_pass(d->ctx, st, im, pass, min_score, out, 16, n,
                                  err);
}

static void test_detector(void) {
  argus_plugin *p = NULL;
  argus_face_error err = {{0}};
  CHECK_OK(argus_plugin_open(plugin("good"), "/nowhere", &p, &err));
  if (!p) {
    fprintf(stderr, "%s\n", err.msg);
    return;
  }
  CHECK(strcmp(argus_plugin_id(p), "argus_test@1.0") == 0);
  CHECK(argus_plugin_provides(p, ARGUS_FACE_MODEL_DETECTOR));
  CHECK(argus_plugin_provides(p, ARGUS_FACE_MODEL_EMBEDDER));
  CHECK(!argus_plugin_provides(p, ARGUS_FACE_MODEL_LANDMARKER));
  argus_face_detector d;
  argus_face_card card;
  CHECK_OK(argus_plugin_detector_create(p, &d, &card, &err));
  CHECK_INT_EQ(card.kind, ARGUS_FACE_MODEL_DETECTOR);
  CHECK(strcmp(card.name, "argus_test") == 0);
  CHECK_INT_EQ(strlen(card.sha256), 64);
  CHECK_INT_EQ(d.default_w, 320);
  CHECK_NEAR(d.default_score, 0.5, 1e-6, 0);
  void *st = NULL;
  CHECK_OK(d.ops->state_create(d.ctx, &st));
  argus_image im;
  square(&im, 640, 480, 200, 100, 300, 220);
  argus_face_box b[16];
  int n = -1;
  /* the whole frame at half size, mirrored or not, and a tile at scale 1 */
  argus_face_pass whole = {{0, 0, 640, 480}, 320, 240, 0, 0, {0}, 0, 0, 0};
  argus_face_pass flip = whole;
  flip.flip = 1;
  argus_face_pass tile = {{160, 80, 480, 320}, 320, 240, 0, 0, {0}, 0, 0, 0};
  const argus_face_pass *ps[3] = {&whole, &flip, &tile};
  for (int i = 0; i < 3; i++) {
    CHECK_OK(run_pass(&d, st, &im, ps[i], 0.5f, b, &n, &err));
    CHECK_INT_EQ(n, 1);
    if (n == 1) {
      CHECK_NEAR(b[0].x1, 200, 2.5, 0);
      CHECK_NEAR(b[0].y1, 100, 2.5, 0);
      CHECK_NEAR(b[0].x2, 300, 2.5, 0);
      CHECK_NEAR(b[0].y2, 220, 2.5, 0);
      CHECK_NEAR(b[0].score, 0.9, 1e-6, 0);
    }
  }
  /* above the plug-in's score; outside the pass's band of sizes; cut by a
   * tile edge that a neighbour sees */
  CHECK_OK(run_pass(&d, st, &im, &whole, 0.95f, b, &n, &err));
  CHECK_INT_EQ(n, 0);
  argus_face_pass band = whole;
  band.max_face = 50;
  CHECK_OK(run_pass(&d, st, &im, &band, 0.5f, b, &n, &err));
  CHECK_INT_EQ(n, 0);
  argus_face_pass cut = {{250, 0, 640, 480}, 320, 384, 0, 0, {1, 0, 0, 0}, 0,
                         0, 0};
  CHECK_OK(run_pass(&d, st, &im, &cut, 0.5f, b, &n, &err));
  CHECK_INT_EQ(n, 0);
  d.ops->state_free(d.ctx, st);
  argus_face_detector_destroy(&d);
  argus_face_detector_destroy(&d); /* twice is fine */

  /* garbage at run time */
  static const struct {
    const char *variant, *msg;
  } bad[] = {
      {"too_many", "detector returned 5 faces, more than the 4 it declared"},
      {"nan_box", "NaN"},
  };
  for (int i = 0; i < 2; i++) {
    argus_plugin *q = NULL;
    CHECK_OK(argus_plugin_open(plugin(bad[i].variant), NULL, &q, &err));
    if (!q)
      continue;
    CHECK_OK(argus_plugin_detector_create(q, &d, &card, &err));
    st = NULL;
    CHECK_OK(d.ops->state_create(d.ctx, &st));
    err.msg[0] = '\0';
    CHECK_INT_EQ(run_pass(&d, st, &im, &whole, 0.5f, b, &n, &err),
                 ARGUS_E_CORRUPT);
    CHECK_HAS(err.msg, bad[i].msg);
    CHECK_HAS(err.msg, "argus_test@1.0");
    d.ops->state_free(d.ctx, st);
    argus_face_detector_destroy(&d);
    argus_plugin_close(q);
  }
  /* a detector that gives the 5 points: image coordinates, mirrored
   * passes with left and right exchanged back */
  argus_plugin *q = NULL;
  CHECK_OK(argus_plugin_open(plugin("points"), NULL, &q, &err));
  if (q) {
    CHECK(!argus_plugin_provides(q, ARGUS_FACE_MODEL_EMBEDDER));
    CHECK_OK(argus_plugin_detector_create(q, &d, &card, &err));
    CHECK(d.detect_pass_points != NULL);
    st = NULL;
    CHECK_OK(d.ops->state_create(d.ctx, &st));
    float pts[16][ARGUS_FACE_NPOINTS][2];
    for (int i = 0; i < 2; i++) {
      n = 0;
      CHECK_OK(d.detect_pass_points(d.ctx, st, &im, ps[i], 0.5f, b, pts, 16,
                                    &n, &err));
      CHECK_INT_EQ(n, 1);
      if (n == 1) {
        CHECK_NEAR(pts[0][ARGUS_FACE_LEFT_EYE][0], 230, 2.5, 0);
        CHECK_NEAR(pts[0][ARGUS_FACE_LEFT_EYE][1], 148, 2.5, 0);
        CHECK_NEAR(pts[0][ARGUS_FACE_RIGHT_EYE][0], 270, 2.5, 0);
        CHECK_NEAR(pts[0][ARGUS_FACE_MOUTH_LEFT][0], 235, 2.5, 0);
        CHECK_NEAR(pts[0][ARGUS_FACE_MOUTH_RIGHT][1], 196, 2.5, 0);
      }
    }
    d.ops->state_free(d.ctx, st);
    argus_face_detector_destroy(&d);
    argus_plugin_close(q);
  }
  argus_image_free(&im);
  argus_plugin_close(p);
}

/* ---- the embedder --------------------------------------------------------- */

static void fill(argus_image *im, int w, int h, argus_pixfmt f, uint8_t v) {
  CHECK_OK(argus_image_alloc(im, w, h, f));
  for (int y = 0; y < h; y++)
    memset(im->data[0] + (size_t)y * im->stride[0], v,
           (size_t)w * (f == ARGUS_PIX_GRAY8 ? 1 : 3));
}

static void test_embedder(void) {
  argus_plugin *p = NULL;
  argus_face_error err = {{0}};
  CHECK_OK(argus_plugin_open(plugin("good"), NULL, &p, &err));
  if (!p)
    return;
  argus_face_embedder e;
  argus_face_card card;
  CHECK(argus_plugin_embedder_create(p, -1, &e, &card, &err) ==
        ARGUS_E_INVALID_ARG);
  CHECK_OK(argus_plugin_embedder_create(p, 0, &e, &card, &err));
  CHECK_INT_EQ(e.dim, 16);
  CHECK_INT_EQ(e.align_width, 112);
  CHECK(strcmp(e.model_id, "argus_test@1.0") == 0);
  CHECK_INT_EQ(card.kind, ARGUS_FACE_MODEL_EMBEDDER);
  CHECK_INT_EQ(card.dim, 16);
  CHECK_INT_EQ(card.nthresholds, 2);
  CHECK_NEAR(card.thresholds[0].fmr, 1e-2, 1e-12, 0); /* decreasing FMR */
  CHECK_NEAR(card.default_fmr, 1e-3, 1e-12, 0);
  CHECK(card.provisional);
  float thr = 0;
  CHECK_OK(argus_face_card_threshold(&card, 0, &thr, NULL));
  CHECK_NEAR(thr, 0.9, 1e-6, 0);
  argus_gallery_config gc;
  argus_gallery_error ge = {{0}};
  CHECK_OK(argus_gallery_config_from_card(&card, &gc, &ge));
  CHECK(strcmp(gc.model_id, "argus_test@1.0") == 0);
  CHECK_INT_EQ(gc.dim, 16);

  void *st = NULL;
  CHECK_OK(e.ops->state_create(e.ctx, &st));
  /* RGB 112x112 (converted to the plug-in's BGR), BGR 224x224 (resized),
   * grey 100x90 (both), 6 crops: two runs of the plug-in's batch of 4 */
  argus_image crops[6];
  fill(&crops[0], 112, 112, ARGUS_PIX_RGB8, 150);
  fill(&crops[1], 224, 224, ARGUS_PIX_BGR8, 150);
  fill(&crops[2], 100, 90, ARGUS_PIX_GRAY8, 150);
  fill(&crops[3], 112, 112, ARGUS_PIX_BGR8, 50);
  fill(&crops[4], 112, 112, ARGUS_PIX_RGB8, 150);
  fill(&crops[5], 112, 112, ARGUS_PIX_RGB8, 250);
  float v[6 * 16], norms[6];
  CHECK_OK(e.ops->embed_aligned(e.ctx, st, crops, 6, v, &err));
  CHECK_OK(e.ops->raw_norms(e.ctx, st, crops, 6, norms, &err));
  /* grey 150 -> every value 150 - 100 = 50: norm 200, values 1/4 */
  for (int i = 0; i < 6; i++) {
    const double want = i == 3 ? -0.25 : 0.25;
    for (int k = 0; k < 16; k++)
      CHECK_NEAR(v[i * 16 + k], want, 1e-3, 0);
  }
  CHECK_NEAR(norms[0], 200, 0.5, 0);
  CHECK_NEAR(norms[2], 200, 0.5, 0);
  CHECK_NEAR(norms[3], 200, 0.5, 0);
  CHECK_NEAR(norms[5], 600, 0.5, 0);
  /* a crop of grey 100 gives a zero vector: refused */
  argus_image zero;
  fill(&zero, 112, 112, ARGUS_PIX_BGR8, 100);
  CHECK_INT_EQ(e.ops->embed_aligned(e.ctx, st, &zero, 1, v, &err),
               ARGUS_E_CORRUPT);
  CHECK_HAS(err.msg, "zero");
  argus_image_free(&zero);
  /* alignment onto the template: the template's own points map to
   * themselves */
  argus_face f;
  memset(&f, 0, sizeof f);
  f.npoints = 5;
  memcpy(f.points, card.align_template, sizeof f.points);
  float m[6];
  CHECK_OK(e.ops->align_map(e.ctx, &f, m));
  CHECK_NEAR(m[0], 1, 1e-4, 0);
  CHECK_NEAR(m[2], 0, 1e-3, 0);
  f.npoints = 0;
  CHECK(e.ops->align_map(e.ctx, &f, m) == ARGUS_E_INVALID_ARG);
  e.ops->state_free(e.ctx, st);
  argus_face_embedder_destroy(&e);

  /* NaN from the plug-in */
  argus_plugin *q = NULL;
  CHECK_OK(argus_plugin_open(plugin("nan_emb"), NULL, &q, &err));
  if (q) {
    CHECK_OK(argus_plugin_embedder_create(q, 0, &e, &card, &err));
    st = NULL;
    CHECK_OK(e.ops->state_create(e.ctx, &st));
    CHECK_INT_EQ(e.ops->embed_aligned(e.ctx, st, crops, 1, v, &err),
                 ARGUS_E_CORRUPT);
    CHECK_HAS(err.msg, "NaN or infinite");
    CHECK_HAS(err.msg, "value 3 of embedding 0");
    e.ops->state_free(e.ctx, st);
    argus_face_embedder_destroy(&e);
    argus_plugin_close(q);
  }
  for (int i = 0; i < 6; i++)
    argus_image_free(&crops[i]);
  argus_plugin_close(p);
}

/* ---- with the models: engine, galleries, CLI ------------------------------ */

static argus_face_engine *engine(const char *plug) {
  argus_face_engine_opts o;
  memset(&o, 0, sizeof o);
  o.models_dir = models;
  o.plugin = plug;
  argus_face_engine *e = NULL;
  argus_face_error err = {{0}};
  argus_err rc = argus_face_engine_create(&o, &e, &err);
  CHECK_OK(rc);
  if (rc)
    fprintf(stderr, "engine: %s\n", err.msg);
  return e;
}

static void test_engine(void) {
  /* a malformed plug-in fails the engine with its message */
  argus_face_engine_opts o;
  memset(&o, 0, sizeof o);
  o.models_dir = models;
  o.plugin = plugin("bad_abi");
  argus_face_engine *e = NULL;
  argus_face_error err = {{0}};
  CHECK_INT_EQ(argus_face_engine_create(&o, &e, &err), ARGUS_E_UNSUPPORTED);
  CHECK_HAS(err.msg, "ABI 99.0");

  e = engine(plugin("good"));
  if (!e)
    return;
  CHECK(strcmp(argus_face_engine_embedder(e)->model_id, "argus_test@1.0") ==
        0);
  CHECK_INT_EQ(argus_face_engine_dim(e), 16);
  CHECK(strcmp(argus_face_engine_card(e, ARGUS_FACE_MODEL_EMBEDDER)->name,
               "argus_test") == 0);
  CHECK(strcmp(argus_face_engine_card(e, ARGUS_FACE_MODEL_DETECTOR)->name,
               "argus_test") == 0);
  argus_image im;
  square(&im, 640, 480, 200, 100, 300, 220);
  argus_face faces[8];
  float emb[8 * 16];
  int n = 0;
  CHECK_OK(argus_face_engine_analyze(e, &im, NULL, ARGUS_FACE_DO_EMBED, faces,
                                     8, &n, emb, &err));
  CHECK_INT_EQ(n, 1);
  if (n == 1) {
    CHECK_NEAR(faces[0].box[0], 200, 3, 0);
    CHECK_NEAR(faces[0].box[3], 220, 3, 0);
    CHECK_INT_EQ(faces[0].npoints, 5); /* the host's landmarker */
    double ss = 0;
    for (int k = 0; k < 16; k++)
      ss += (double)emb[k] * emb[k];
    CHECK_NEAR(ss, 1, 1e-4, 0);
  }
  argus_face_engine_free(e);

  /* the points plug-in: no landmarker loaded, its points align the faces,
   * the default embedder embeds them */
  e = engine(plugin("points"));
  if (e) {
    CHECK(argus_face_engine_card(e, ARGUS_FACE_MODEL_LANDMARKER) == NULL);
    CHECK_INT_EQ(argus_face_engine_dim(e), 512);
    float emb2[8 * 512];
    CHECK_OK(argus_face_engine_analyze(e, &im, NULL, ARGUS_FACE_DO_EMBED,
                                       faces, 8, &n, emb2, &err));
    CHECK_INT_EQ(n, 1);
    if (n == 1) {
      CHECK_INT_EQ(faces[0].npoints, 5);
      CHECK_NEAR(faces[0].points[ARGUS_FACE_LEFT_EYE][0], 230, 3, 0);
      CHECK_NEAR(faces[0].points[ARGUS_FACE_NOSE][1], 172, 3, 0);
    }
    argus_face_engine_free(e);
  }
  argus_image_free(&im);
}

/* Plug-in cards: {"name", "plugin": FILE.so, "sha256"} named as the
 * detector or embedder load that plug-in's algorithm of that kind only; a
 * relative FILE is found beside the card; the sha256 is checked. */
static void write_card(const char *dir, const char *name, const char *so,
                       const char *sha) {
  char path[700];
  snprintf(path, sizeof path, "%s/%s.card.json", dir, name);
  FILE *f = fopen(path, "w");
  CHECK(f != NULL);
  if (!f)
    return;
  fprintf(f, "{\"name\": \"%s\", \"plugin\": \"%s\"", name, so);
  if (sha)
    fprintf(f, ", \"sha256\": \"%s\"", sha);
  fputs("}\n", f);
  fclose(f);
}

static argus_err card_engine(const char *dir, const char *det,
                             const char *emb, const char *plug, int unverified,
                             argus_face_engine **e, argus_face_error *err) {
  argus_face_engine_opts o;
  memset(&o, 0, sizeof o);
  o.models_dir = dir;
  o.detector = det;
  o.embedder = emb;
  o.plugin = plug;
  o.allow_unverified = unverified;
  *e = NULL;
  return argus_face_engine_create(&o, e, err);
}

static void test_plugin_cards(void) {
  char dir[400], abs[600];
  snprintf(dir, sizeof dir, "%s/cards", tmp);
  CHECK(mkdir(dir, 0700) == 0);
  if (!realpath(models, abs))
    return;
  /* The default cards (share/models) find their model files here. */
  const char *files[] = {"yunet_n_640_640.onnx", "fr_detect.onnx",
                         "fr_landmark.onnx", "fr_feature.onnx"};
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
    char src[800], dst[800];
    snprintf(src, sizeof src, "%s/%s", abs, files[i]);
    snprintf(dst, sizeof dst, "%s/%s", dir, files[i]);
    CHECK(symlink(src, dst) == 0);
  }
  char hex[65], rel[700];
  CHECK_OK(argus_face_file_sha256(plugin("good"), hex));
  snprintf(rel, sizeof rel, "%s/good.so", dir);
  CHECK(symlink(plugin("good"), rel) == 0);
  write_card(dir, "plug_emb", plugin("good"), hex);
  write_card(dir, "plug_rel", "good.so", hex);
  write_card(dir, "plug_bad", plugin("good"),
             "00000000000000000000000000000000"
             "00000000000000000000000000000000");
  write_card(dir, "plug_pts", plugin("points"), NULL);
  write_card(dir, "plug_gone", "missing.so", NULL);

  argus_face_error err = {{0}};
  argus_face_engine *e = NULL;
  /* The embedder from the plug-in, the detector stays the default. */
  CHECK_OK(card_engine(dir, NULL, "plug_emb", NULL, 0, &e, &err));
  if (e) {
    CHECK(strcmp(argus_face_engine_embedder(e)->model_id, "argus_test@1.0") ==
          0);
    CHECK_INT_EQ(argus_face_engine_dim(e), 16);
    CHECK(strcmp(argus_face_engine_card(e, ARGUS_FACE_MODEL_DETECTOR)->name,
                 ARGUS_FACE_DEFAULT_DETECTOR) == 0);
    argus_face_engine_free(e);
  }
  /* The detector from the plug-in (found beside the card), the default
   * embedder. */
  CHECK_OK(card_engine(dir, "plug_rel", NULL, NULL, 0, &e, &err));
  if (e) {
    CHECK(strcmp(argus_face_engine_card(e, ARGUS_FACE_MODEL_DETECTOR)->name,
                 "argus_test") == 0);
    CHECK_INT_EQ(argus_face_engine_dim(e), 512);
    argus_face_engine_free(e);
  }
  /* A plug-in whose sha256 is not the card's: refused unless allowed. */
  CHECK_INT_EQ(card_engine(dir, NULL, "plug_bad", NULL, 0, &e, &err),
               ARGUS_E_CHECKSUM);
  CHECK_HAS(err.msg, "refusing");
  CHECK_HAS(err.msg, hex);
  CHECK(e == NULL);
  CHECK_OK(card_engine(dir, NULL, "plug_bad", NULL, 1, &e, &err));
  argus_face_engine_free(e);
  /* Named for a kind the plug-in does not have. */
  CHECK_INT_EQ(card_engine(dir, NULL, "plug_pts", NULL, 0, &e, &err),
               ARGUS_E_UNSUPPORTED);
  CHECK_HAS(err.msg, "has no embedder");
  /* Two different plug-ins in one engine. */
  CHECK_INT_EQ(
      card_engine(dir, NULL, "plug_emb", plugin("points"), 0, &e, &err),
      ARGUS_E_INVALID_ARG);
  CHECK_HAS(err.msg, "one plug-in per engine");
  /* The same plug-in by card and by --plugin is fine. */
  CHECK_OK(card_engine(dir, "plug_pts", NULL, plugin("points"), 0, &e, &err));
  argus_face_engine_free(e);
  /* A card naming a file that is not there. */
  CHECK_INT_EQ(card_engine(dir, "plug_gone", NULL, NULL, 0, &e, &err),
               ARGUS_E_NOT_FOUND);
  CHECK_HAS(err.msg, "missing.so");
  /* Through the CLI: `argus detect` with the plug-in card as detector. */
  if (cli) {
    char img[700];
    snprintf(img, sizeof img, "%s/square.jpg", tmp);
    argus_image im;
    square(&im, 640, 480, 200, 100, 300, 220);
    CHECK_OK(argus_image_write_jpeg(&im, 90, img));
    argus_image_free(&im);
    setenv("ARGUS_DETECTOR", "plug_rel", 1);
    static cli_result r;
    CLI_RUN(cli, tmp, dir, 1, &r, "detect", "--json", "--models", dir, img);
    unsetenv("ARGUS_DETECTOR");
    CHECK_INT_EQ(r.status, 0);
    CHECK_HAS(r.out, "\"box\":[");
    CHECK_HAS(r.out, "\"score\":0.9");
    /* `argus watch --embedder CARD` loads that card (here: one that is not
     * there, refused before any camera starts). */
    char db[500];
    snprintf(db, sizeof db, "%s/watch.db", dir);
    CLI_RUN(cli, tmp, dir, 0, &r, "watchlist", "create", "w", "--db", db);
    CHECK_INT_EQ(r.status, 0);
    CLI_RUN(cli, tmp, dir, 0, &r, "watch", img, "--embedder", "no_such_card",
            "--db", db, "--models", dir);
    CHECK_INT_EQ(r.status, 1);
    CHECK_HAS(r.err, "no_such_card.card.json");
  }
}

static argus_store *open_store(const char *path) {
  argus_store_options so;
  memset(&so, 0, sizeof so);
  so.actor = "test:plugin";
  argus_store *s = NULL;
  argus_store_error se = {{0}};
  argus_err rc = argus_store_open(path, &so, &s, &se);
  CHECK_OK(rc);
  if (rc)
    fprintf(stderr, "store: %s\n", se.msg);
  return s;
}

static argus_gallery *gallery(argus_store *s, argus_face_engine *e) {
  argus_gallery_config gc;
  argus_gallery_error ge = {{0}};
  argus_gallery *g = NULL;
  CHECK_OK(argus_gallery_config_from_card(
      argus_face_engine_card(e, ARGUS_FACE_MODEL_EMBEDDER), &gc, &ge));
  CHECK_OK(argus_gallery_open(s, &gc, &g, &ge));
  return g;
}

static void prepare(argus_face_engine *e, const argus_image *im,
                    argus_gallery_photo *p) {
  argus_gallery_enrol_opts eo;
  argus_gallery_enrol_opts_default(&eo);
  eo.aligned = 1;
  eo.gate = 0;
  argus_face_error err = {{0}};
  CHECK_OK(argus_gallery_photo_prepare(e, NULL, im, &eo, p, &err));
  CHECK_INT_EQ(p->reason, ARGUS_GALLERY_ACCEPTED);
  p->source = "lfw";
}

static void test_galleries(void) {
  char lfw[700];
  snprintf(lfw, sizeof lfw, "%s/lfw-112/images/AJ_Cook/AJ_Cook_0001.jpg",
           shared);
  argus_image im;
  argus_image_error ie = {{0}};
  if (argus_image_read_file(lfw, ARGUS_PIX_RGB8, &im, &ie) != ARGUS_OK) {
    fprintf(stderr, "test_plugin: %s not readable: galleries skipped\n", lfw);
    return;
  }
  argus_face_engine *ed = engine(NULL), *ep = engine(plugin("good"));
  char path[400];
  snprintf(path, sizeof path, "%s/g.db", tmp);
  argus_store *s = open_store(path);
  if (!ed || !ep || !s)
    goto out;
  argus_store_error se = {{0}};
  CHECK_OK(argus_store_watchlist_create(s, "w", NAN, NULL, NULL, &se));
  argus_gallery_photo pd, pp;
  prepare(ed, &im, &pd);
  prepare(ep, &im, &pp);
  CHECK_INT_EQ(pd.dim, 512);
  CHECK_INT_EQ(pp.dim, 16);
  CHECK(strcmp(pp.model_id, "argus_test@1.0") == 0);
  CHECK(strcmp(pd.model_id, pp.model_id) != 0);
  argus_gallery *gd = gallery(s, ed), *gp = gallery(s, ep);
  argus_gallery_error ge = {{0}};
  argus_store_id a = 0, b = 0;
  argus_store_person_in pa = {"Default", "d", NULL}, pb = {"Plugin", "p", NULL};
  if (!gd || !gp)
    goto out2;
  CHECK_OK(argus_gallery_person_add(gd, "w", &pa, &pd, 1, &a, &ge));
  /* a template of the other algorithm is refused by a gallery */
  CHECK_INT_EQ(argus_gallery_person_add(gd, "w", &pb, &pp, 1, &b, &ge),
               ARGUS_E_INVALID_ARG);
  CHECK_OK(argus_gallery_person_add(gp, "w", &pb, &pp, 1, &b, &ge));
  CHECK_OK(argus_gallery_reload(gd, &ge));
  CHECK_OK(argus_gallery_reload(gp, &ge));
  argus_gallery_stats st;
  CHECK_OK(argus_gallery_get_stats(gd, &st));
  CHECK_INT_EQ(st.templates, 1);
  CHECK_INT_EQ(st.other_models, 1);
  CHECK_OK(argus_gallery_get_stats(gp, &st));
  CHECK_INT_EQ(st.templates, 1);
  CHECK_INT_EQ(st.other_models, 1);
  /* each search sees its own algorithm's person only */
  argus_gallery_candidate c[4];
  int nf = 0;
  CHECK_OK(argus_gallery_search(gd, pd.vector, 1, 4, NULL, c, &nf, &ge));
  CHECK_INT_EQ(nf, 1);
  CHECK_INT_EQ(c[0].person_id, a);
  CHECK_NEAR(c[0].score, 1, 1e-4, 0);
  CHECK_OK(argus_gallery_search(gp, pp.vector, 1, 4, NULL, c, &nf, &ge));
  CHECK_INT_EQ(nf, 1);
  CHECK_INT_EQ(c[0].person_id, b);
  /* reindex moves the default's enrolment to the plug-in (stored crop) */
  argus_gallery_reindex_report rep;
  CHECK_OK(argus_gallery_reindex(gp, ep, NULL, 0, NULL, NULL, &rep, &ge));
  CHECK_INT_EQ(rep.total, 1);
  CHECK_INT_EQ(rep.embedded, 1);
  CHECK_OK(argus_gallery_get_stats(gp, &st));
  CHECK_INT_EQ(st.templates, 2);
  CHECK_OK(argus_gallery_search(gp, pp.vector, 1, 4, NULL, c, &nf, &ge));
  CHECK_INT_EQ(nf, 2);
  CHECK_NEAR(c[0].score, 1, 1e-3, 0); /* the same crop (stored as JPEG) */
  CHECK_NEAR(c[1].score, 1, 1e-3, 0);
  /* the engine of the default model cannot reindex the plug-in's gallery */
  CHECK_INT_EQ(argus_gallery_reindex(gp, ed, NULL, 0, NULL, NULL, &rep, &ge),
               ARGUS_E_INVALID_ARG);
out2:
  argus_gallery_close(gd);
  argus_gallery_close(gp);
  argus_gallery_photo_free(&pd);
  argus_gallery_photo_free(&pp);
out:
  argus_store_close(s);
  argus_face_engine_free(ed);
  argus_face_engine_free(ep);
  argus_image_free(&im);
}

#define RUN(r, ...) CLI_RUN(cli, tmp, models, 0, r, __VA_ARGS__)

static void test_cli(void) {
  static cli_result r;
  char lfw[700], db[400];
  snprintf(lfw, sizeof lfw, "%s/lfw-112/images/AJ_Cook/AJ_Cook_0001.jpg",
           shared);
  if (access(lfw, R_OK) != 0) {
    printf("test_plugin: %s not readable: CLI checks skipped\n", lfw);
    return;
  }
  /* each database in a folder of its own (its crops live next to it) */
  snprintf(db, sizeof db, "%s/cli", tmp);
  mkdir(db, 0700);
  snprintf(db, sizeof db, "%s/cli/cli.db", tmp);
  RUN(&r, "embed", "--aligned", "--json", "--plugin", plugin("good"), lfw);
  CHECK_INT_EQ(r.status, 0);
  CHECK_HAS(r.out, "\"model\":\"argus_test@1.0\"");
  RUN(&r, "detect", "--plugin", plugin("bad_abi"), lfw);
  CHECK_INT_EQ(r.status, 1);
  CHECK_HAS(r.err, "built for plug-in ABI 99.0");
  RUN(&r, "detect", "--plugin", plugin("no_entry"), lfw);
  CHECK_INT_EQ(r.status, 1);
  CHECK_HAS(r.err, "missing symbol 'argus_plugin_entry'");
  /* enrol with the default embedder, then move the watchlist to the
   * plug-in's */
  RUN(&r, "watchlist", "create", "w", "--db", db);
  CHECK_INT_EQ(r.status, 0);
  RUN(&r, "person", "add", "--watchlist", "w", "--name", "AJ", "--aligned",
      "--no-quality-gate", "--db", db, lfw);
  CHECK_INT_EQ(r.status, 0);
  RUN(&r, "reindex", "--plugin", plugin("good"), "--model", "argus_test@2.0",
      "--db", db);
  CHECK_INT_EQ(r.status, 2);
  CHECK_HAS(r.err, "the embedder loaded is argus_test@1.0, not argus_test@2.0");
  RUN(&r, "reindex", "--model", "nosuchcard@1", "--db", db);
  CHECK_INT_EQ(r.status, 1);
  CHECK_HAS(r.err, "nosuchcard.card.json");
  RUN(&r, "reindex", "--plugin", plugin("good"), "--model", "argus_test@1.0",
      "--db", db, "--json");
  CHECK_INT_EQ(r.status, 0);
  CHECK_HAS(r.out, "\"model\":\"argus_test@1.0\"");
  CHECK_HAS(r.out, "\"embedded\":1");
  CHECK_HAS(r.out, "\"other_models\":1");
  RUN(&r, "identify", "--plugin", plugin("good"), "--aligned", "--json",
      "--db", db, lfw);
  CHECK_INT_EQ(r.status, 0);
  CHECK_HAS(r.out, "\"name\":\"AJ\"");
}

int main(void) {
  plugdir = getenv("ARGUS_TEST_PLUGIN_DIR");
  if (!plugdir || !plugdir[0])
    SKIP("ARGUS_TEST_PLUGIN_DIR is not set (run through ctest)");
  models = getenv("ARGUS_MODELS_DIR");
  shared = getenv("ARGUS_SHARED_DATA");
  cli = getenv("ARGUS_CLI");
  snprintf(tmp, sizeof tmp, "/tmp/argus_test_plugin_XXXXXX");
  if (!mkdtemp(tmp))
    SKIP("no temporary folder");
  argus_log_set_level(ARGUS_LOG_ERROR);
  test_refused();
  test_detector();
  test_embedder();
  char probe[700];
  snprintf(probe, sizeof probe, "%s/fr_landmark.onnx", models ? models : "");
  struct stat st;
  if (models && stat(probe, &st) == 0) {
    test_engine();
    test_plugin_cards();
    if (shared) {
      test_galleries();
      if (cli)
        test_cli();
    }
  } else {
    fprintf(stderr, "test_plugin: no models in %s: engine, gallery and CLI "
                    "parts skipped\n",
            models ? models : "(ARGUS_MODELS_DIR unset)");
  }
  cli_rm_tree(tmp);
  return check_report("test_plugin");
}
