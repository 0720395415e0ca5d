/* `argus eval` end to end through the binary CTest names in ARGUS_CLI:
 *
 *   faces: a folder per person made of LFW-112 crops (15 persons of 3
 *   photos, 10 of one): the pair counts are known (45 genuine, 1,440
 *   impostor pairs; 100 sampled with --max-impostors 100), A and B the same
 *   card give the same figures, and best accuracy, TAR at the card's
 *   thresholds, rank-1 and the 1:N counts equal a brute-force computation
 *   here over `argus embed --aligned --json` embeddings;
 *   detect: ground truth made of the detector's own boxes on 4 WIDER dev
 *   images (every face easy, none medium) gives AP 1 easy and 0 medium, and
 *   A = B again; bad usage exits 2.
 *
 * Skips (77) without ARGUS_CLI, the models or ../shared/data. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "argus/core.h"
#include "argus/face.h" /* ARGUS_FACE_DEFAULT_DETECTOR */
#include "check.h"
#include "cli_util.h"

static const char *cli, *models;
static char tmp[256];

static cli_result res;

#define RUN(r, ...) CLI_RUN(cli, tmp, NULL, 1, r, __VA_ARGS__)

/* The number after "key": in s (NAN for null or absent). */
static double jnum(const char *s, const char *key) {
  char k[80];
  snprintf(k, sizeof k, "\"%s\":", key);
  const char *p = s ? strstr(s, k) : NULL;
  if (!p)
    return NAN;
  p += strlen(k);
  while (*p == ' ')
    p++;
  if (strncmp(p, "null", 4) == 0)
    return NAN;
  return strtod(p, NULL);
}

static int cmp_name(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted folder names of LFW persons. */
static int lfw_persons(const char *root, char ***out) {
  DIR *d = opendir(root);
  if (!d)
    return 0;
  char **v = NULL;
  int n = 0, cap = 0;
  struct dirent *de;
  while ((de = readdir(d))) {
    if (de->d_name[0] == '.')
      continue;
    if (n == cap) {
      cap = cap ? cap * 2 : 1024;
      v = realloc(v, (size_t)cap * sizeof *v);
    }
    v[n++] = strdup(de->d_name);
  }
  closedir(d);
  qsort(v, (size_t)n, sizeof *v, cmp_name);
  *out = v;
  return n;
}

static int count_images(const char *root, const char *who) {
  char d[2048];
  snprintf(d, sizeof d, "%s/%s", root, who);
  DIR *dd = opendir(d);
  int n = 0;
  struct dirent *de;
  while (dd && (de = readdir(dd)))
    n += strstr(de->d_name, ".jpg") != NULL;
  if (dd)
    closedir(dd);
  return n;
}

#define NPHOTO 55
static char photo[NPHOTO][1024];
static int owner[NPHOTO];
static float emb[NPHOTO][512];

static void test_faces(const char *lfw) {
  char people[300];
  snprintf(people, sizeof people, "%s/people", tmp);
  CHECK(mkdir(people, 0700) == 0);
  char **names = NULL;
  int np = lfw_persons(lfw, &names);
  int multi = 0, single = 0, n = 0;
  for (int i = 0; i < np && (multi < 15 || single < 10); i++) {
    int c = count_images(lfw, names[i]);
    int take = c >= 3 && multi < 15 ? 3 : c == 1 && single < 10 ? 1 : 0;
    if (!take)
      continue;
    char d[1400];
    snprintf(d, sizeof d, "%s/%s", people, names[i]);
    CHECK(mkdir(d, 0700) == 0);
    for (int k = 1; k <= take; k++) {
      char src[2400];
      snprintf(src, sizeof src, "%s/%s/%s_%04d.jpg", lfw, names[i], names[i],
               k);
      snprintf(photo[n], sizeof photo[n], "%s/%s_%04d.jpg", d, names[i], k);
      CHECK(symlink(src, photo[n]) == 0);
      owner[n] = multi + single;
      n++;
    }
    if (take == 3)
      multi++;
    else
      single++;
  }
  for (int i = 0; i < np; i++)
    free(names[i]);
  free(names);
  CHECK_INT_EQ(n, NPHOTO);
  if (n != NPHOTO)
    return;

  RUN(&res, "eval", "faces", people, "--aligned", "--a", "fr_feature", "--b",
      "fr_feature", "--json", "--models", models, "--threads", "2");
  CHECK_INT_EQ(res.status, 0);
  static char out[1 << 20];
  snprintf(out, sizeof out, "%s", res.out);
  CHECK_INT_EQ(jnum(out, "persons"), 25);
  CHECK_INT_EQ(jnum(out, "photos"), NPHOTO);
  CHECK_INT_EQ(jnum(out, "genuine_pairs"), 45);
  CHECK_INT_EQ(jnum(out, "impostor_pairs"), NPHOTO * (NPHOTO - 1) / 2 - 45);
  CHECK_INT_EQ(jnum(out, "failed"), 0);
  CHECK_INT_EQ(jnum(out, "gallery"), 15);
  CHECK_INT_EQ(jnum(out, "mated"), 30);
  CHECK_INT_EQ(jnum(out, "nonmated"), 10);
  /* A and B: the same card, the same figures (all but the time). */
  const char *v1 = strstr(out, "\"verification\"");
  const char *v2 = v1 ? strstr(v1 + 1, "\"verification\"") : NULL;
  const char *c2 = v1 ? strstr(v1, "\"card\"") : NULL;
  CHECK(v1 && v2 && c2);
  if (v1 && v2 && c2) {
    size_t len = (size_t)(c2 - v1) - 3; /* up to the object's end */
    CHECK(strlen(v2) >= len && strncmp(v1, v2, len) == 0);
  }

  /* Brute force over argus embed's embeddings. */
  const char *args[NPHOTO + 8];
  int na = 0;
  args[na++] = "embed";
  args[na++] = "--aligned";
  args[na++] = "--json";
  args[na++] = "--models";
  args[na++] = models;
  for (int i = 0; i < NPHOTO; i++)
    args[na++] = photo[i];
  args[na] = NULL;
  cli_run(cli, tmp, NULL, 1, &res, args);
  CHECK_INT_EQ(res.status, 0);
  int got = 0;
  for (char *line = strtok(res.out, "\n"); line; line = strtok(NULL, "\n")) {
    for (int i = 0; i < NPHOTO; i++) {
      char key[1100];
      snprintf(key, sizeof key, "\"file\":\"%s\"", photo[i]);
      if (!strstr(line, key))
        continue;
      const char *p = strstr(line, "\"embedding\":[");
      if (!p)
        break;
      p += strlen("\"embedding\":[");
      for (int k = 0; k < 512; k++) {
        char *end = NULL;
        emb[i][k] = strtof(p, &end);
        p = end + 1;
      }
      got++;
      break;
    }
  }
  CHECK_INT_EQ(got, NPHOTO);
  float gen[45], imp[NPHOTO * NPHOTO / 2];
  int ng = 0, ni = 0;
  for (int i = 0; i < NPHOTO; i++)
    for (int j = i + 1; j < NPHOTO; j++) {
      float s = 0;
      for (int k = 0; k < 512; k++)
        s += emb[i][k] * emb[j][k];
      if (owner[i] == owner[j] && ng < 45)
        gen[ng++] = s;
      else if (owner[i] != owner[j])
        imp[ni++] = s;
    }
  /* best (TAR + TRR) / 2 over every threshold */
  double best = 0.5;
  for (int c = 0; c < ng + ni; c++) {
    float t = c < ng ? gen[c] : imp[c - ng];
    int a = 0, b = 0;
    for (int i = 0; i < ng; i++)
      a += gen[i] >= t;
    for (int i = 0; i < ni; i++)
      b += imp[i] >= t;
    double acc = 0.5 * ((double)a / ng + 1.0 - (double)b / ni);
    if (acc > best)
      best = acc;
  }
  CHECK_NEAR(jnum(out, "best_accuracy"), best, 1e-4, 0);
  /* TAR at the card's first point (the JSON's first "tar") */
  double t0 = jnum(strstr(out, "\"card_points\""), "threshold");
  int a0 = 0;
  for (int i = 0; i < ng; i++)
    a0 += gen[i] >= t0 - 5e-5; /* the JSON's 4 decimals */
  double tar0 = jnum(strstr(out, "\"card_points\""), "tar");
  CHECK_NEAR(tar0, (double)a0 / ng, 1.0 / ng + 1e-9, 0);
  /* rank-1: gallery = first photo of the 15 persons with three */
  int r1 = 0, mated = 0;
  for (int i = 0; i < NPHOTO; i++) {
    int first = -1, cnt = 0;
    for (int j = 0; j < NPHOTO; j++)
      if (owner[j] == owner[i]) {
        cnt++;
        if (first < 0)
          first = j;
      }
    if (cnt < 2 || first == i)
      continue;
    mated++;
    float bs = -2;
    int bo = -1;
    for (int j = 0; j < NPHOTO; j++) {
      int f2 = -1, c2n = 0;
      for (int m = 0; m < NPHOTO; m++)
        if (owner[m] == owner[j]) {
          c2n++;
          if (f2 < 0)
            f2 = m;
        }
      if (c2n < 2 || f2 != j)
        continue;
      float s = 0;
      for (int k = 0; k < 512; k++)
        s += emb[i][k] * emb[j][k];
      if (s > bs) {
        bs = s;
        bo = owner[j];
      }
    }
    r1 += bo == owner[i];
  }
  CHECK_INT_EQ(mated, 30);
  CHECK_NEAR(jnum(out, "rank1"), (double)r1 / 30, 1e-4, 0);

  /* Sampled impostors. */
  RUN(&res, "eval", "faces", people, "--aligned", "--json", "--models", models,
      "--max-impostors", "100");
  CHECK_INT_EQ(res.status, 0);
  CHECK_INT_EQ(jnum(res.out, "impostor_pairs"), 100);
  CHECK(strstr(res.out, "\"impostors_sampled\":true") != NULL);
}

static void test_detect(const char *wider) {
  /* The detector's own boxes on 4 images as the ground truth. */
  char gt[300], gtin[1200];
  snprintf(gt, sizeof gt, "%s/gt.txt", tmp);
  snprintf(gtin, sizeof gtin, "%s/gt.txt", wider);
  FILE *in = fopen(gtin, "r");
  CHECK(in != NULL);
  if (!in)
    return;
  char names[4][512];
  int n = 0;
  char line[1024];
  while (n < 4 && fgets(line, sizeof line, in)) {
    line[strcspn(line, "\r\n")] = '\0';
    if (!line[0])
      continue;
    if (strchr(line, '/')) {
      snprintf(names[n++], sizeof names[0], "%s", line);
    }
  }
  fclose(in);
  CHECK_INT_EQ(n, 4);
  FILE *out = fopen(gt, "w");
  CHECK(out != NULL);
  if (!out)
    return;
  for (int i = 0; i < n; i++) {
    char path[1600];
    snprintf(path, sizeof path, "%s/images/%s", wider, names[i]);
    RUN(&res, "detect", "--json", "--boxes-only", "--models", models,
        "--min-score", "0.05", "--max-faces", "1000", path);
    CHECK_INT_EQ(res.status, 0);
    fprintf(out, "%s\n", names[i]);
    int nb = 0;
    for (const char *p = res.out; (p = strstr(p, "\"box\":[")); p++)
      nb++;
    fprintf(out, "%d\n", nb);
    for (const char *p = res.out; (p = strstr(p, "\"box\":[")); p++) {
      double b[4];
      const char *q = p + strlen("\"box\":[");
      for (int k = 0; k < 4; k++) {
        char *end = NULL;
        b[k] = strtod(q, &end);
        q = end + 1;
      }
      fprintf(out, "%.3f %.3f %.3f %.3f 1 0 1\n", b[0], b[1], b[2] - b[0],
              b[3] - b[1]);
    }
  }
  fclose(out);
  /* The ground truth is the default detector's own output: evaluated as
   * that card, every box is found (AP 1 where a set has faces). */
  RUN(&res, "eval", "detect", wider, "--gt", gt, "--a",
      ARGUS_FACE_DEFAULT_DETECTOR, "--b", ARGUS_FACE_DEFAULT_DETECTOR,
      "--json", "--models", models, "--threads", "2");
  CHECK_INT_EQ(res.status, 0);
  CHECK_INT_EQ(jnum(res.out, "images"), 4);
  const char *a = strstr(res.out, "\"card\"");
  const char *b = a ? strstr(a + 1, "\"card\"") : NULL;
  CHECK(a && b);
  CHECK_NEAR(jnum(a, "easy"), 1.0, 1e-9, 0);
  CHECK_NEAR(jnum(a, "medium"), 0.0, 1e-9, 0);
  CHECK_NEAR(jnum(a, "hard"), 1.0, 1e-9, 0);
  CHECK_NEAR(jnum(b, "easy"), jnum(a, "easy"), 0, 0);
  CHECK_NEAR(jnum(b, "hard"), jnum(a, "hard"), 0, 0);
  CHECK_INT_EQ(jnum(a, "detections"), jnum(b, "detections"));
}

int main(void) {
  cli = getenv("ARGUS_CLI");
  models = getenv("ARGUS_MODELS_DIR");
  const char *shared = getenv("ARGUS_SHARED_DATA");
  if (!cli || !models || !shared)
    SKIP("ARGUS_CLI, ARGUS_MODELS_DIR or ARGUS_SHARED_DATA is not set (run "
         "through ctest)");
  char lfw[1024], wider[1024], card[1200];
  snprintf(lfw, sizeof lfw, "%s/lfw-112/images", shared);
  snprintf(wider, sizeof wider, "%s/widerface-dev", shared);
  snprintf(card, sizeof card, "%s/fr_feature.onnx", models);
  struct stat st;
  if (stat(lfw, &st) != 0 || stat(wider, &st) != 0)
    SKIP("%s or %s is absent (../shared/data holds the evaluation data)", lfw,
         wider);
  if (stat(card, &st) != 0)
    SKIP("no models in %s (scripts/fetch-models.sh)", models);
  snprintf(tmp, sizeof tmp, "/tmp/argus-eval-XXXXXX");
  if (!mkdtemp(tmp))
    SKIP("cannot make a temporary folder");

  RUN(&res, "eval", "nothing", tmp);
  CHECK_INT_EQ(res.status, 2);
  RUN(&res, "eval", "faces");
  CHECK_INT_EQ(res.status, 2);
  char missing[400];
  snprintf(missing, sizeof missing, "%s/none", tmp);
  RUN(&res, "eval", "faces", missing, "--models", models);
  CHECK_INT_EQ(res.status, 1);

  test_faces(lfw);
  test_detect(wider);

  cli_rm_tree(tmp);
  return check_report("test_eval_cli");
}
