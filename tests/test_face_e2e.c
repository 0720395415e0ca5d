/* The face pipeline end to end on stills/face_recognition_examples: the
 * three Obama photos match each other, Biden matches none of them, and the
 * two faces of two_people.jpg match Obama and Biden respectively, at the
 * embedder card's default threshold. Also: a per-thread worker gives the
 * same faces and embeddings as the pooled engine, an aligned crop embedded
 * on its own gives the pipeline's embedding, odd images (alpha PNG, a face
 * cut by the frame, a tiny image) go through. Skips without the models or
 * ../shared/data. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <limits.h>
#include <string.h>
#include <unistd.h>

#include "argus/face.h"
#include "check.h"

#define MAXF 32

static char dir[1024];
static argus_face_engine *eng;
static int dim;
/* A confident detection of a clear frontal face for the detector under test
 * (the scales differ: the RFB-320's softmax gives > 0.99, YuNet's
 * sqrt(class x objectness) 0.9 and more). */
static float confident;

typedef struct shot {
  argus_face faces[MAXF];
  float emb[MAXF * 512];
  int n;
} shot;

static int analyze(const char *rel, shot *s) {
  char path[2048];
  snprintf(path, sizeof path, "%s/%s", dir, rel);
  argus_image img;
  argus_image_error ie = {{0}};
  argus_err rc = argus_image_read_file(path, ARGUS_PIX_RGB8, &img, &ie);
  CHECK_OK(rc);
  if (rc) {
    fprintf(stderr, "%s\n", ie.msg);
    return -1;
  }
  argus_face_error fe = {{0}};
  rc = argus_face_engine_analyze(
      eng, &img, NULL,
      ARGUS_FACE_DO_LANDMARKS | ARGUS_FACE_DO_QUALITY | ARGUS_FACE_DO_EMBED,
      s->faces, MAXF, &s->n, s->emb, &fe);
  CHECK_OK(rc);
  if (rc)
    fprintf(stderr, "%s: %s\n", rel, fe.msg);
  argus_image_free(&img);
  return rc ? -1 : 0;
}

static float sim(const shot *a, int i, const shot *b, int j) {
  return argus_face_similarity(a->emb + (size_t)i * dim,
                               b->emb + (size_t)j * dim, dim);
}

/* Faces of `s` that match face 0 of `ref` at thr. */
static int matches(const shot *s, const shot *ref, float thr, int *which) {
  int k = 0;
  for (int i = 0; i < s->n; i++)
    if (s->faces[i].npoints == 5 && sim(s, i, ref, 0) >= thr) {
      *which = i;
      k++;
    }
  return k;
}

/* The portraits' person is their best-scoring face (face 0). At the
 * default detection size (640) the detector also returns an occasional
 * low-scoring non-face (a dark sleeve): such extras are allowed, but they
 * must match nobody. */
static void test_identities(float thr) {
  static shot ob[3], bi, two;
  const char *obamas[3] = {"tests/test_images/obama.jpg",
                           "tests/test_images/obama2.jpg",
                           "tests/test_images/obama3.jpg"};
  for (int i = 0; i < 3; i++) {
    if (analyze(obamas[i], &ob[i]))
      return;
    CHECK(ob[i].n >= 1);
    CHECK_INT_EQ(ob[i].faces[0].npoints, 5);
    CHECK(ob[i].faces[0].score > confident);
    CHECK(ob[i].faces[0].has_quality);
    CHECK_INT_EQ(ob[i].faces[0].quality.flags, 0);
    CHECK(ob[i].faces[0].quality.value > 0.5f);
    /* Unit length. */
    CHECK_NEAR(sim(&ob[i], 0, &ob[i], 0), 1, 1e-4, 0);
  }
  if (analyze("tests/test_images/biden.jpg", &bi) ||
      analyze("examples/two_people.jpg", &two))
    return;
  CHECK(bi.n >= 1);
  CHECK(two.n >= 2);
  for (int i = 0; i < 3; i++)
    for (int j = i + 1; j < 3; j++) {
      float s = sim(&ob[i], 0, &ob[j], 0);
      printf("  %s ~ %s: %.3f\n", obamas[i], obamas[j], s);
      CHECK(s >= thr);
    }
  for (int i = 0; i < 3; i++) {
    float s = sim(&ob[i], 0, &bi, 0);
    printf("  %s ~ biden.jpg: %.3f\n", obamas[i], s);
    CHECK(s < thr);
    /* Extra detections in the portraits match neither person. */
    for (int k = 1; k < ob[i].n; k++) {
      CHECK(sim(&ob[i], k, &ob[(i + 1) % 3], 0) < thr);
      CHECK(sim(&ob[i], k, &bi, 0) < thr);
    }
  }
  /* two_people.jpg: exactly one face matches each Obama portrait, the same
   * one every time; exactly one other face matches Biden. */
  int o = -1, b = -1;
  for (int i = 0; i < 3; i++) {
    int w = -1;
    CHECK_INT_EQ(matches(&two, &ob[i], thr, &w), 1);
    if (o >= 0)
      CHECK_INT_EQ(w, o);
    o = w;
  }
  CHECK_INT_EQ(matches(&two, &bi, thr, &b), 1);
  CHECK(o >= 0 && b >= 0 && o != b);
  if (o < 0 || b < 0)
    return;
  for (int i = 0; i < 3; i++)
    printf("  two_people face %d ~ %s: %.3f, face %d: %.3f\n", o + 1,
           obamas[i], sim(&two, o, &ob[i], 0), b + 1, sim(&two, b, &ob[i], 0));
  printf("  two_people face %d ~ biden.jpg: %.3f, face %d: %.3f\n", b + 1,
         sim(&two, b, &bi, 0), o + 1, sim(&two, o, &bi, 0));
  CHECK(sim(&two, o, &bi, 0) < thr);
  CHECK(sim(&two, b, &ob[0], 0) < thr);
  /* Obama is on the left of the picture, both faces are confident. */
  CHECK(two.faces[o].box[0] < two.faces[b].box[0]);
  printf("  scores: %.3f %.3f %.3f, two_people %.3f %.3f\n",
         (double)ob[0].faces[0].score, (double)ob[1].faces[0].score,
         (double)ob[2].faces[0].score, (double)two.faces[o].score,
         (double)two.faces[b].score);
  CHECK(two.faces[o].score > confident && two.faces[b].score > confident);
}

/* The worker (one thread, no pool) and the engine (pool) agree; the
 * aligned crop embedded alone gives the same embedding. */
static void test_worker(void) {
  char path[2048];
  snprintf(path, sizeof path, "%s/examples/two_people.jpg", dir);
  argus_image img;
  argus_image_error ie;
  if (argus_image_read_file(path, ARGUS_PIX_RGB8, &img, &ie) != ARGUS_OK)
    return;
  static shot a, b;
  argus_face_error fe = {{0}};
  unsigned all =
      ARGUS_FACE_DO_LANDMARKS | ARGUS_FACE_DO_QUALITY | ARGUS_FACE_DO_EMBED;
  CHECK_OK(argus_face_engine_analyze(eng, &img, NULL, all, a.faces, MAXF, &a.n,
                                     a.emb, &fe));
  argus_face_worker *w = NULL;
  CHECK_OK(argus_face_worker_create(eng, &w));
  if (!w)
    return;
  /* Twice: the second run reuses the planned sessions. */
  for (int r = 0; r < 2; r++) {
    CHECK_OK(argus_face_worker_analyze(w, &img, NULL, all, b.faces, MAXF, &b.n,
                                       b.emb, &fe));
    CHECK_INT_EQ(a.n, b.n);
    for (int i = 0; i < a.n && i < b.n; i++) {
      for (int k = 0; k < 4; k++)
        CHECK_NEAR(a.faces[i].box[k], b.faces[i].box[k], 1e-3, 0);
      CHECK_NEAR(sim(&a, i, &b, i), 1, 1e-5, 0);
    }
  }
  /* Detection only: no points, no quality. */
  int n = 0;
  CHECK_OK(argus_face_worker_analyze(w, &img, NULL, 0, b.faces, MAXF, &n, NULL,
                                     &fe));
  CHECK_INT_EQ(n, a.n);
  CHECK_INT_EQ(b.faces[0].npoints, 0);
  CHECK_INT_EQ(b.faces[0].has_quality, 0);
  /* cap limits the number of faces (the best kept). */
  CHECK_OK(argus_face_worker_analyze(w, &img, NULL, 0, b.faces, 1, &n, NULL,
                                     &fe));
  CHECK_INT_EQ(n, 1);
  /* No room at all: nothing written, no error. */
  CHECK_OK(argus_face_worker_analyze(w, &img, NULL, 0, NULL, 0, &n, NULL, &fe));
  CHECK_INT_EQ(n, 0);
  /* Tiled pyramid: the same two people (and possibly more, smaller
   * detections). */
  argus_face_detect_opts dopt;
  argus_face_detect_opts_default(&dopt);
  dopt.tile = 640;
  CHECK_OK(argus_face_worker_analyze(w, &img, &dopt, 0, b.faces, MAXF, &n,
                                     NULL, &fe));
  CHECK(n >= 2);
  for (int i = 0; i < a.n; i++) {
    if (a.faces[i].score < confident)
      continue; /* the people, not an occasional low-scoring detection */
    float best = 0;
    for (int k = 0; k < n; k++) {
      argus_face_box x = {a.faces[i].box[0], a.faces[i].box[1],
                          a.faces[i].box[2], a.faces[i].box[3], 1};
      argus_face_box y = {b.faces[k].box[0], b.faces[k].box[1],
                          b.faces[k].box[2], b.faces[k].box[3], 1};
      float o = argus_face_iou(&x, &y);
      best = o > best ? o : best;
    }
    CHECK(best > 0.7f);
  }
  /* Embedding asked for without a buffer is refused. */
  CHECK_INT_EQ(argus_face_worker_analyze(w, &img, NULL, ARGUS_FACE_DO_EMBED,
                                         b.faces, MAXF, &n, NULL, &fe),
               ARGUS_E_INVALID_ARG);

  const argus_face_embedder *em = argus_face_engine_embedder(eng);
  argus_image crop;
  CHECK_OK(argus_image_alloc(&crop, em->align_width, em->align_height,
                             ARGUS_PIX_RGB8));
  float e1[512];
  CHECK_OK(argus_face_worker_align(w, &img, &a.faces[0], &crop));
  CHECK_OK(argus_face_worker_embed_aligned(w, &crop, 1, e1, &fe));
  CHECK_NEAR(argus_face_similarity(e1, a.emb, dim), 1, 1e-5, 0);
  /* Through the engine's batched path, several copies at once. */
  argus_image crops[5];
  static float e5[5 * 512];
  for (int i = 0; i < 5; i++)
    crops[i] = crop;
  CHECK_OK(argus_face_engine_embed_aligned(eng, crops, 5, e5, &fe));
  for (int i = 0; i < 5; i++)
    CHECK_NEAR(argus_face_similarity(e1, e5 + i * dim, dim), 1, 1e-5, 0);
  argus_image_free(&crop);
  argus_face_worker_free(w);
  argus_image_free(&img);
}

static void test_odd_images(void) {
  static shot s;
  /* Alpha PNG, a face cut by the frame. */
  CHECK_OK(analyze("tests/test_images/32bit.png", &s));
  CHECK_OK(analyze("tests/test_images/obama_partial_face.jpg", &s));
  for (int i = 0; i < s.n; i++) {
    CHECK(s.faces[i].box[0] >= 0 && s.faces[i].box[2] >= s.faces[i].box[0]);
  }
  /* Tiny and elongated images, greyscale. */
  const int sizes[][2] = {{1, 1}, {7, 300}, {2000, 9}};
  for (int k = 0; k < 3; k++) {
    argus_image img;
    CHECK_OK(argus_image_alloc(&img, sizes[k][0], sizes[k][1],
                               ARGUS_PIX_GRAY8));
    for (int y = 0; y < img.height; y++)
      memset(img.data[0] + (size_t)y * img.stride[0], 128, (size_t)img.width);
    argus_face_error fe = {{0}};
    CHECK_OK(argus_face_engine_analyze(eng, &img, NULL, ARGUS_FACE_DO_EMBED,
                                       s.faces, MAXF, &s.n, s.emb, &fe));
    argus_image_free(&img);
  }
  /* A YUV frame must be converted first: refused with a reason. */
  argus_image yuv;
  CHECK_OK(argus_image_alloc(&yuv, 64, 64, ARGUS_PIX_YUV420P));
  argus_face_error fe = {{0}};
  CHECK_INT_EQ(argus_face_engine_analyze(eng, &yuv, NULL, 0, s.faces, MAXF,
                                         &s.n, NULL, &fe),
               ARGUS_E_UNSUPPORTED);
  CHECK(strstr(fe.msg, "YUV") != NULL);
  argus_image_free(&yuv);
}

int main(void) {
  const char *models = getenv("ARGUS_MODELS_DIR");
  const char *shared = getenv("ARGUS_SHARED_DATA");
  if (!models)
    models = "models";
  if (!shared)
    SKIP("ARGUS_SHARED_DATA is not set (../shared/data)");
  snprintf(dir, sizeof dir, "%s/stills/face_recognition_examples", shared);
  char probe[1200];
  snprintf(probe, sizeof probe, "%s/tests/test_images/obama.jpg", dir);
  FILE *f = fopen(probe, "rb");
  if (!f)
    SKIP("no %s (test data absent)", probe);
  fclose(f);
  snprintf(probe, sizeof probe, "%s/fr_feature.onnx", models);
  f = fopen(probe, "rb");
  if (!f)
    SKIP("no %s (run scripts/fetch-models.sh)", probe);
  fclose(f);

  argus_threadpool *pool = NULL;
  CHECK_OK(argus_threadpool_create(2, &pool));
  argus_face_engine_opts o;
  argus_face_error fe = {{0}};
  /* The default detector (YuNet, its own five points) and the RFB-320 with
   * the 68-point landmarker: both must give the same identities. */
  static const struct {
    const char *detector;
    float confident;
  } runs[] = {{NULL, 0.9f}, {"fr_detect", 0.99f}};
  for (size_t r = 0; r < sizeof runs / sizeof runs[0]; r++) {
    memset(&o, 0, sizeof o);
    o.models_dir = models;
    o.pool = pool;
    o.detector = runs[r].detector;
    confident = runs[r].confident;
    printf("detector %s\n", runs[r].detector ? runs[r].detector
                                              : ARGUS_FACE_DEFAULT_DETECTOR);
    argus_err rc = argus_face_engine_create(&o, &eng, &fe);
    CHECK_OK(rc);
    if (rc) {
      fprintf(stderr, "%s\n", fe.msg);
      return check_report("test_face_e2e");
    }
    dim = argus_face_engine_dim(eng);
    CHECK_INT_EQ(dim, 512);
    const argus_face_card *card =
        argus_face_engine_card(eng, ARGUS_FACE_MODEL_EMBEDDER);
    float thr;
    double fmr;
    CHECK_OK(argus_face_card_threshold(card, 0, &thr, &fmr));
    printf("threshold %.3f at FMR %g (%s)\n", thr, fmr, card->calibration);

    test_identities(thr);
    test_worker();
    test_odd_images();
    argus_face_engine_free(eng);
    eng = NULL;
  }
  argus_threadpool_destroy(pool);
  memset(&o, 0, sizeof o);
  o.models_dir = models;
  o.detector = "fr_detect";

  /* A wrong checksum is refused unless allowed: a models folder whose card
   * pins another sha256. */
  char tmp[] = "/tmp/argus_face_e2e_XXXXXX";
  if (mkdtemp(tmp)) {
    const char *names[3] = {"fr_detect", "fr_landmark", "fr_feature"};
    for (int i = 0; i < 3; i++) {
      char src[1200], dst[1200], line[4096];
      char cpath[1024];
      argus_face_card_find(NULL, names[i], cpath, sizeof cpath, &fe);
      snprintf(dst, sizeof dst, "%s/%s.card.json", tmp, names[i]);
      FILE *in = fopen(cpath, "r"), *out = fopen(dst, "w");
      while (in && out && fgets(line, sizeof line, in)) {
        char *h = strstr(line, "\"sha256\"");
        if (h && i == 2)
          fputs("  \"sha256\": \"00000000000000000000000000000000000000000000"
                "00000000000000000000\",\n",
                out);
        else
          fputs(line, out);
      }
      if (in)
        fclose(in);
      if (out)
        fclose(out);
      char rel[1100], abs[PATH_MAX];
      snprintf(rel, sizeof rel, "%s/%s.onnx", models, names[i]);
      snprintf(src, sizeof src, "%s", realpath(rel, abs) ? abs : rel);
      snprintf(dst, sizeof dst, "%s/%s.onnx", tmp, names[i]);
      if (symlink(src, dst) != 0)
        perror("symlink");
    }
    o.models_dir = tmp;
    o.pool = NULL;
    argus_face_engine *e2 = NULL;
    CHECK_INT_EQ(argus_face_engine_create(&o, &e2, &fe), ARGUS_E_CHECKSUM);
    CHECK(strstr(fe.msg, "fr_feature.onnx") != NULL);
    o.allow_unverified = 1;
    CHECK_OK(argus_face_engine_create(&o, &e2, &fe));
    argus_face_engine_free(e2);
    for (int i = 0; i < 3; i++) {
      char p[1200];
      snprintf(p, sizeof p, "%s/%s.card.json", tmp, names[i]);
      remove(p);
      snprintf(p, sizeof p, "%s/%s.onnx", tmp, names[i]);
      remove(p);
    }
    remove(tmp);
  }
  return check_report("test_face_e2e");
}
