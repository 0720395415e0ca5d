/* `argus model add FILE.onnx --card CARD.json` end to end through the binary
 * (ARGUS_CLI), with cards made here from the shipped ones under new names:
 *
 * - the self-test of an embedder card (generated gradient, expected raw norm
 *   and embedding values) passes with ranges around the values measured by
 *   a first --dry-run, and fails, naming the value, with ranges that miss;
 * - a detector card's self-test on a photo (faces, top score);
 * - a file whose sha256 is not the card's, and a card whose "file" is not a
 *   plain name, are refused;
 * - registering copies file and card into --models; again: "already
 *   registered"; a registered card changed since is never overwritten;
 * - the registered embedder is then used by name (--embedder) and its
 *   templates carry its own id.
 *
 * Skips without ARGUS_CLI, the models or ../shared/data. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "argus/core.h"
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

static const char *cli, *models, *srcdir, *shared;
static char tmp[256];

#define RUN(r, ...) CLI_RUN(cli, tmp, models, 0, r, __VA_ARGS__)

static cJSON *load_json(const char *path) {
  static char buf[1 << 16];
  cli_slurp(path, buf, sizeof buf);
  return cJSON_Parse(buf);
}

static void save_json(const cJSON *j, const char *path) {
  char *s = cJSON_Print(j);
  FILE *f = fopen(path, "w");
  CHECK(s && f);
  if (s && f)
    fputs(s, f);
  if (f)
    fclose(f);
  free(s);
}

static cJSON *range(double lo, double hi) {
  cJSON *a = cJSON_CreateArray();
  cJSON_AddItemToArray(a, cJSON_CreateNumber(lo));
  cJSON_AddItemToArray(a, cJSON_CreateNumber(hi));
  return a;
}

/* The fr_feature card renamed, with a gradient self-test expecting the raw
 * norm in [nlo, nhi] and embedding[0] in [vlo, vhi]; sha256 replaced when
 * `sha` is not NULL. */
static void embedder_card(const char *path, double nlo, double nhi, double vlo,
                          double vhi, const char *sha, const char *file) {
  char src[700];
  snprintf(src, sizeof src, "%s/share/models/fr_feature.card.json", srcdir);
  cJSON *c = load_json(src);
  CHECK(c != NULL);
  if (!c)
    return;
  cJSON_ReplaceItemInObject(c, "name", cJSON_CreateString("byo_feature"));
  cJSON_ReplaceItemInObject(c, "version", cJSON_CreateString("byo-1"));
  if (sha)
    cJSON_ReplaceItemInObject(c, "sha256", cJSON_CreateString(sha));
  if (file)
    cJSON_ReplaceItemInObject(c, "file", cJSON_CreateString(file));
  cJSON *t = cJSON_AddObjectToObject(c, "self_test");
  cJSON *in = cJSON_AddObjectToObject(t, "input");
  cJSON_AddStringToObject(in, "pattern", "gradient");
  cJSON *ex = cJSON_AddObjectToObject(t, "expect");
  cJSON_AddItemToObject(ex, "norm", range(nlo, nhi));
  cJSON *vals = cJSON_AddArrayToObject(ex, "values");
  cJSON *v = cJSON_CreateArray();
  cJSON_AddItemToArray(v, cJSON_CreateNumber(0));
  cJSON_AddItemToArray(v, cJSON_CreateNumber(vlo));
  cJSON_AddItemToArray(v, cJSON_CreateNumber(vhi));
  cJSON_AddItemToArray(vals, v);
  save_json(c, path);
  cJSON_Delete(c);
}

/* value of check `what` in `model add --json` output */
static double check_value(const char *out, const char *what) {
  cJSON *j = cJSON_Parse(out);
  double v = NAN;
  const cJSON *checks = cJSON_GetObjectItem(
      cJSON_GetObjectItem(j, "self_test"), "checks");
  const cJSON *c;
  cJSON_ArrayForEach(c, checks) {
    const cJSON *w = cJSON_GetObjectItem(c, "what");
    if (cJSON_IsString(w) && strcmp(w->valuestring, what) == 0)
      v = cJSON_GetObjectItem(c, "value")->valuedouble;
  }
  cJSON_Delete(j);
  return v;
}

int main(void) {
  cli = getenv("ARGUS_CLI");
  models = getenv("ARGUS_MODELS_DIR");
  srcdir = getenv("ARGUS_SOURCE_DIR");
  shared = getenv("ARGUS_SHARED_DATA");
  if (!cli || !srcdir)
    SKIP("ARGUS_CLI or ARGUS_SOURCE_DIR is not set (run through ctest)");
  char onnx[700], det[700], photo[700], lfw[700];
  snprintf(onnx, sizeof onnx, "%s/fr_feature.onnx", models ? models : "");
  snprintf(det, sizeof det, "%s/fr_detect.onnx", models ? models : "");
  snprintf(photo, sizeof photo,
           "%s/stills/face_recognition_examples/examples/biden.jpg",
           shared ? shared : "");
  snprintf(lfw, sizeof lfw, "%s/lfw-112/images/AJ_Cook/AJ_Cook_0001.jpg",
           shared ? shared : "");
  struct stat st;
  if (!models || stat(onnx, &st) != 0 || stat(det, &st) != 0)
    SKIP("no models in %s (scripts/fetch-models.sh)", models ? models : "?");
  if (!shared || stat(photo, &st) != 0 || stat(lfw, &st) != 0)
    SKIP("no ../shared/data stills and LFW-112");
  snprintf(tmp, sizeof tmp, "/tmp/argus_test_model_XXXXXX");
  if (!mkdtemp(tmp))
    SKIP("no temporary folder");
  static cli_result r;
  char card[400], reg[400], regcard[500];
  snprintf(card, sizeof card, "%s/byo.card.json", tmp);
  snprintf(reg, sizeof reg, "%s/reg", tmp);
  snprintf(regcard, sizeof regcard, "%s/byo_feature.card.json", reg);

  RUN(&r, "model");
  CHECK_INT_EQ(r.status, 2);
  RUN(&r, "model", "add", onnx);
  CHECK_INT_EQ(r.status, 2);
  CHECK_HAS(r.err, "--card is required");

  /* the SFace card parses (its model is not here: the file is missing) */
  char sface[700];
  snprintf(sface, sizeof sface, "%s/share/models/sface.card.json", srcdir);
  RUN(&r, "model", "add", "/nonexistent/sface.onnx", "--card", sface);
  CHECK_INT_EQ(r.status, 1);
  CHECK_HAS(r.err, "/nonexistent/sface.onnx: no such file");

  /* measure, then hold the values to tight ranges */
  embedder_card(card, 0, 1e9, -1, 1, NULL, NULL);
  RUN(&r, "model", "add", onnx, "--card", card, "--models", reg, "--dry-run",
      "--json");
  CHECK_INT_EQ(r.status, 0);
  CHECK_HAS(r.out, "\"status\":\"checked\"");
  CHECK_HAS(r.out, "\"status\":\"passed\"");
  CHECK_HAS(r.out, "\"input\":\"pattern gradient 112x112\"");
  CHECK(stat(reg, &st) != 0); /* nothing registered */
  double norm = check_value(r.out, "raw norm");
  double v0 = check_value(r.out, "embedding[0]");
  CHECK(norm > 0);
  CHECK(v0 >= -1 && v0 <= 1);
  embedder_card(card, norm * 0.999, norm * 1.001, v0 - 1e-3, v0 + 1e-3, NULL,
                NULL);
  RUN(&r, "model", "add", onnx, "--card", card, "--models", reg);
  CHECK_INT_EQ(r.status, 0);
  CHECK_HAS(r.out, "self-test (pattern gradient 112x112): passed");
  CHECK_HAS(r.out, "registered:");
  char regonnx[500];
  snprintf(regonnx, sizeof regonnx, "%s/fr_feature.onnx", reg);
  CHECK(stat(regonnx, &st) == 0 && st.st_size > 1000000);
  CHECK(stat(regcard, &st) == 0);
  RUN(&r, "model", "add", onnx, "--card", card, "--models", reg);
  CHECK_INT_EQ(r.status, 0);
  CHECK_HAS(r.out, "already registered");

  /* a self-test that misses */
  char bad[400];
  snprintf(bad, sizeof bad, "%s/bad.card.json", tmp);
  embedder_card(bad, norm * 0.999, norm * 1.001, v0 + 0.5, v0 + 0.6, NULL,
                NULL);
  RUN(&r, "model", "add", onnx, "--card", bad, "--dry-run");
  CHECK_INT_EQ(r.status, 1);
  CHECK_HAS(r.err, "self-test failed: embedding[0]");
  /* not the card's file */
  embedder_card(bad, 0, 1e9, -1, 1,
                "0000000000000000000000000000000000000000000000000000000000000000",
                NULL);
  RUN(&r, "model", "add", onnx, "--card", bad, "--dry-run");
  CHECK_INT_EQ(r.status, 1);
  CHECK_HAS(r.err, "refusing it");
  embedder_card(bad, 0, 1e9, -1, 1, NULL, "../elsewhere.onnx");
  RUN(&r, "model", "add", onnx, "--card", bad, "--models", reg);
  CHECK_INT_EQ(r.status, 1);
  CHECK_HAS(r.err, "must be a plain file name");
  /* a registered card changed since is not overwritten */
  FILE *f = fopen(regcard, "a");
  CHECK(f != NULL);
  if (f) {
    fputs("\n", f);
    fclose(f);
  }
  RUN(&r, "model", "add", onnx, "--card", card, "--models", reg);
  CHECK_INT_EQ(r.status, 1);
  CHECK_HAS(r.err, "already exists with other contents");

  /* a detector's self-test on a photo */
  char dsrc[700], dcard[400];
  snprintf(dsrc, sizeof dsrc, "%s/share/models/fr_detect.card.json", srcdir);
  snprintf(dcard, sizeof dcard, "%s/det.card.json", tmp);
  cJSON *d = load_json(dsrc);
  CHECK(d != NULL);
  if (d) {
    cJSON_ReplaceItemInObject(d, "name", cJSON_CreateString("byo_detect"));
    cJSON *t = cJSON_AddObjectToObject(d, "self_test");
    cJSON *in = cJSON_AddObjectToObject(t, "input");
    cJSON_AddStringToObject(in, "image", photo);
    cJSON *ex = cJSON_AddObjectToObject(t, "expect");
    cJSON_AddItemToObject(ex, "faces", range(1, 3));
    cJSON_AddItemToObject(ex, "top_score", range(0.8, 1));
    save_json(d, dcard);
    cJSON_Delete(d);
  }
  RUN(&r, "model", "add", det, "--card", dcard, "--dry-run");
  CHECK_INT_EQ(r.status, 0);
  CHECK_HAS(r.out, "self-test (image ");
  CHECK_HAS(r.out, "passed");

  /* the registered embedder by name: the other models linked in */
  remove(regcard);
  RUN(&r, "model", "add", onnx, "--card", card, "--models", reg);
  CHECK_INT_EQ(r.status, 0);
  DIR *dir = opendir(models);
  struct dirent *de;
  while (dir && (de = readdir(dir))) {
    size_t n = strlen(de->d_name);
    if (n < 6 || strcmp(de->d_name + n - 5, ".onnx") != 0)
      continue;
    char from[1200], to[1200];
    snprintf(from, sizeof from, "%s/%s", models, de->d_name);
    snprintf(to, sizeof to, "%s/%s", reg, de->d_name);
    if (stat(to, &st) != 0 && symlink(from, to) != 0)
      fprintf(stderr, "cannot link %s\n", to);
  }
  if (dir)
    closedir(dir);
  RUN(&r, "embed", "--aligned", "--json", "--models", reg, "--embedder",
      "byo_feature", lfw);
  CHECK_INT_EQ(r.status, 0);
  CHECK_HAS(r.out, "\"model\":\"byo_feature@byo-1\"");
  RUN(&r, "embed", "--aligned", "--models", reg, "--embedder", "nosuch", lfw);
  CHECK_INT_EQ(r.status, 1);
  CHECK_HAS(r.err, "no model card nosuch.card.json");

  cli_rm_tree(tmp);
  return check_report("test_model_cli");
}
