/* The OpenCV DNN example plug-in (plugins/opencv_dnn) loaded next to the
 * default embedder: the same model file through another inference engine.
 *
 * - its id is its own (opencv_dnn_fr_feature@...), not fr_feature's;
 * - on LFW-112 pairs (../shared/data/lfw-112, the first matched and
 *   mismatched pairs of pairs.txt) its embeddings agree with the default's
 *   (cosine > 0.9999 per image) and so do the pair similarities (within
 *   1e-3) and the same/different decisions at the card's threshold;
 * - enrolled with both embedders into one store, the two galleries never
 *   compare templates of the other id although they have the same length:
 *   each loads only its own, counts the other's, and refuses to enrol a
 *   photo embedded by the other.
 *
 * Skips (77) when the plug-in was not built (no libopencv-dnn-dev when cmake
 * ran), or without the models or LFW-112. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "argus/gallery.h"
#include "argus/plugin.h"
#include "argus/store.h"
#include "check.h"

#define NPAIRS 12 /* matched and as many mismatched */

static const char *models, *shared, *plug;

static argus_face_engine *engine(const char *plugin) {
  argus_face_engine_opts o;
  memset(&o, 0, sizeof o);
  o.models_dir = models;
  o.plugin = plugin;
  argus_face_engine *e = NULL;
  argus_face_error err = {{0}};
  argus_err rc = argus_face_engine_create(&o, &e, &err);
  CHECK_OK(rc);
  if (rc)
    fprintf(stderr, "engine: %s\n", err.msg);
  return e;
}

static int read_lfw(const char *name, int idx, argus_image *im) {
  char path[800];
  snprintf(path, sizeof path, "%s/lfw-112/images/%s/%s_%04d.jpg", shared, name,
           name, idx);
  argus_image_error ie = {{0}};
  argus_err rc = argus_image_read_file(path, ARGUS_PIX_RGB8, im, &ie);
  if (rc)
    fprintf(stderr, "%s: %s\n", path, ie.msg);
  return rc == ARGUS_OK ? 0 : -1;
}

static double dot(const float *a, const float *b, int n) {
  double s = 0;
  for (int i = 0; i < n; i++)
    s += (double)a[i] * b[i];
  return s;
}

/* The first NPAIRS matched and NPAIRS mismatched pairs of pairs.txt as 4 *
 * NPAIRS images (a, b of each pair) and same[NPAIRS * 2]. */
static int load_pairs(argus_image *ims, int *same) {
  char path[700];
  snprintf(path, sizeof path, "%s/lfw-112/pairs.txt", shared);
  FILE *f = fopen(path, "r");
  if (!f)
    return -1;
  char line[256];
  int nm = 0, nn = 0, ok = 0, lineno = 0;
  while (fgets(line, sizeof line, f) && (nm < NPAIRS || nn < NPAIRS)) {
    if (lineno++ == 0)
      continue;
    char a[128], b[128];
    int i = 0, j = 0;
    int k;
    if (sscanf(line, "%127s %d %127s %d", a, &i, b, &j) == 4) {
      if (nn >= NPAIRS)
        continue;
      k = NPAIRS + nn++;
      same[k] = 0;
    } else if (sscanf(line, "%127s %d %d", a, &i, &j) == 3) {
      if (nm >= NPAIRS)
        continue;
      snprintf(b, sizeof b, "%s", a);
      k = nm++;
      same[k] = 1;
    } else {
      continue;
    }
    if (read_lfw(a, i, &ims[2 * k]) || read_lfw(b, j, &ims[2 * k + 1]))
      goto out;
  }
  ok = nm == NPAIRS && nn == NPAIRS;
out:
  fclose(f);
  return ok ? 0 : -1;
}

int main(void) {
  /* Both engines in float32: the comparison is of the same arithmetic
   * through two engines. The card runs fr_feature in bf16 where the CPU
   * can (pair similarities then differ by up to ~3e-3; test_bf16 and
   * docs/engine.md cover bf16 against f32). */
  setenv("ARGUS_PRECISION", "f32", 1);
  plug = getenv("ARGUS_OPENCV_PLUGIN");
  models = getenv("ARGUS_MODELS_DIR");
  shared = getenv("ARGUS_SHARED_DATA");
  if (!plug || !plug[0])
    SKIP("the OpenCV DNN plug-in was not built: install libopencv-dnn-dev "
         "(scripts/setup.sh) and re-run cmake");
  char probe[800];
  struct stat st;
  snprintf(probe, sizeof probe, "%s/fr_feature.onnx", models ? models : "");
  if (!models || stat(probe, &st) != 0)
    SKIP("no models in %s (scripts/fetch-models.sh)", models ? models : "?");
  snprintf(probe, sizeof probe, "%s/lfw-112/pairs.txt", shared ? shared : "");
  if (!shared || stat(probe, &st) != 0)
    SKIP("no LFW-112 in %s/lfw-112", shared ? shared : "?");
  argus_log_set_level(ARGUS_LOG_ERROR);

  argus_face_engine *ed = engine(NULL), *ep = engine(plug);
  if (!ed || !ep) {
    argus_face_engine_free(ed);
    argus_face_engine_free(ep);
    return check_report("test_plugin_opencv");
  }
  const argus_face_embedder *bd = argus_face_engine_embedder(ed);
  const argus_face_embedder *bp = argus_face_engine_embedder(ep);
  CHECK(strcmp(bp->model_id, "opencv_dnn_fr_feature@faceplugin-0.0.1+opencv") ==
        0);
  CHECK(strcmp(bd->model_id, bp->model_id) != 0);
  CHECK_INT_EQ(bd->dim, bp->dim);
  const int dim = bd->dim;

  /* the same pairs through both */
  argus_image ims[4 * NPAIRS];
  int same[2 * NPAIRS];
  memset(ims, 0, sizeof ims);
  CHECK(load_pairs(ims, same) == 0);
  float *vd = malloc(sizeof(float) * 4 * NPAIRS * (size_t)dim);
  float *vp = malloc(sizeof(float) * 4 * NPAIRS * (size_t)dim);
  argus_face_error err = {{0}};
  CHECK(vd && vp);
  if (vd && vp && check_failures_ == 0) {
    CHECK_OK(argus_face_engine_embed_aligned(ed, ims, 4 * NPAIRS, vd, &err));
    CHECK_OK(argus_face_engine_embed_aligned(ep, ims, 4 * NPAIRS, vp, &err));
    if (err.msg[0])
      fprintf(stderr, "embed: %s\n", err.msg);
    double worst = 1, worst_pair = 0;
    float thr = 0;
    CHECK_OK(argus_face_card_threshold(
        argus_face_engine_card(ed, ARGUS_FACE_MODEL_EMBEDDER), 0, &thr, NULL));
    int agree = 0, correct = 0;
    for (int i = 0; i < 4 * NPAIRS; i++) {
      double c = dot(vd + (size_t)i * dim, vp + (size_t)i * dim, dim);
      if (c < worst)
        worst = c;
    }
    for (int k = 0; k < 2 * NPAIRS; k++) {
      double sd = dot(vd + (size_t)(2 * k) * dim,
                      vd + (size_t)(2 * k + 1) * dim, dim);
      double sp = dot(vp + (size_t)(2 * k) * dim,
                      vp + (size_t)(2 * k + 1) * dim, dim);
      if (fabs(sd - sp) > worst_pair)
        worst_pair = fabs(sd - sp);
      agree += (sd >= thr) == (sp >= thr);
      correct += (sp >= thr) == same[k];
    }
    printf("OpenCV DNN vs argus engine on %d LFW-112 images: worst cosine "
           "%.7f; %d pairs: worst similarity difference %.2e, decisions "
           "agree on %d, %d correct at %.4f\n",
           4 * NPAIRS, worst, 2 * NPAIRS, worst_pair, agree, correct,
           (double)thr);
    CHECK(worst > 0.9999);
    CHECK(worst_pair < 1e-3);
    CHECK_INT_EQ(agree, 2 * NPAIRS);
    CHECK(correct >= 2 * NPAIRS - 2);
  }

  /* enrolled with both: never compared */
  char dir[] = "/tmp/argus_test_plugin_cv_XXXXXX";
  if (mkdtemp(dir)) {
    char path[200];
    snprintf(path, sizeof path, "%s/g.db", dir);
    argus_store_options so;
    memset(&so, 0, sizeof so);
    so.actor = "test:plugin";
    argus_store *s = NULL;
    argus_store_error se = {{0}};
    CHECK_OK(argus_store_open(path, &so, &s, &se));
    argus_gallery *gd = NULL, *gp = NULL;
    argus_gallery_photo pd, pp;
    memset(&pd, 0, sizeof pd);
    memset(&pp, 0, sizeof pp);
    if (s) {
      CHECK_OK(argus_store_watchlist_create(s, "w", NAN, NULL, NULL, &se));
      argus_gallery_enrol_opts eo;
      argus_gallery_enrol_opts_default(&eo);
      eo.aligned = 1;
      eo.gate = 0;
      CHECK_OK(argus_gallery_photo_prepare(ed, NULL, &ims[0], &eo, &pd, &err));
      CHECK_OK(argus_gallery_photo_prepare(ep, NULL, &ims[0], &eo, &pp, &err));
      pd.source = pp.source = "lfw";
      argus_gallery_config cd, cp;
      argus_gallery_error ge = {{0}};
      CHECK_OK(argus_gallery_config_from_card(
          argus_face_engine_card(ed, ARGUS_FACE_MODEL_EMBEDDER), &cd, &ge));
      CHECK_OK(argus_gallery_config_from_card(
          argus_face_engine_card(ep, ARGUS_FACE_MODEL_EMBEDDER), &cp, &ge));
      CHECK_NEAR(cd.default_threshold, cp.default_threshold, 1e-6, 0);
      CHECK_OK(argus_gallery_open(s, &cd, &gd, &ge));
      CHECK_OK(argus_gallery_open(s, &cp, &gp, &ge));
      argus_store_person_in a = {"A", "a", NULL}, b = {"B", "b", NULL};
      argus_store_id ia = 0, ib = 0;
      if (gd && gp) {
        CHECK_OK(argus_gallery_person_add(gd, "w", &a, &pd, 1, &ia, &ge));
        CHECK_OK(argus_gallery_person_add(gp, "w", &b, &pp, 1, &ib, &ge));
        /* same length, other id: refused */
        CHECK_INT_EQ(argus_gallery_person_add(gd, "w", &b, &pp, 1, &ib, &ge),
                     ARGUS_E_INVALID_ARG);
        CHECK_OK(argus_gallery_reload(gd, &ge));
        CHECK_OK(argus_gallery_reload(gp, &ge));
        argus_gallery_stats gs;
        CHECK_OK(argus_gallery_get_stats(gd, &gs));
        CHECK_INT_EQ(gs.templates, 1);
        CHECK_INT_EQ(gs.other_models, 1);
        CHECK_OK(argus_gallery_get_stats(gp, &gs));
        CHECK_INT_EQ(gs.templates, 1);
        CHECK_INT_EQ(gs.other_models, 1);
        /* the plug-in's query, searched in the plug-in's gallery, finds
         * only the plug-in's person (the default's, enrolled from the
         * same image, is not there to be compared with) */
        argus_gallery_candidate c[4];
        int nf = 0;
        CHECK_OK(argus_gallery_search(gp, pp.vector, 1, 4, NULL, c, &nf, &ge));
        CHECK_INT_EQ(nf, 1);
        CHECK_INT_EQ(c[0].person_id, ib);
        CHECK_OK(argus_gallery_search(gd, pd.vector, 1, 4, NULL, c, &nf, &ge));
        CHECK_INT_EQ(nf, 1);
        CHECK_INT_EQ(c[0].person_id, ia);
      }
    }
    argus_gallery_close(gd);
    argus_gallery_close(gp);
    argus_gallery_photo_free(&pd);
    argus_gallery_photo_free(&pp);
    argus_store_close(s);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
      fprintf(stderr, "could not remove %s\n", dir);
  }
  for (int i = 0; i < 4 * NPAIRS; i++)
    argus_image_free(&ims[i]);
  free(vd);
  free(vp);
  argus_face_engine_free(ed);
  argus_face_engine_free(ep);
  return check_report("test_plugin_opencv");
}
