/* `argus detect`, `argus embed` and `argus compare` end to end: help and
 * usage errors, a corrupt, an empty and a missing image reported by name
 * while the next file is still processed (non-zero exit at the end), JSON
 * lines, embeddings of aligned crops, --draw, a missing models folder.
 * Runs the binary CTest names in ARGUS_CLI; skips without the models. */
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "argus/face.h"
#include "check.h"

static const char *cli, *models, *shared;
static char tmp[256];

typedef struct result {
  int status;
  char out[1 << 20];
  char err[1 << 16];
} result;

static void slurp(const char *path, char *buf, size_t size) {
  buf[0] = '\0';
  FILE *f = fopen(path, "rb");
  if (!f)
    return;
  size_t n = fread(buf, 1, size - 1, f);
  buf[n] = '\0';
  fclose(f);
}

static void run(result *r, const char *const *args) {
  char out[300], err[300];
  snprintf(out, sizeof out, "%s/stdout", tmp);
  snprintf(err, sizeof err, "%s/stderr", tmp);
  const char *argv[40];
  int n = 0;
  argv[n++] = cli;
  for (; args[n - 1] && n < 39; n++)
    argv[n] = args[n - 1];
  argv[n] = NULL;
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid == 0) {
    int fo = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int fe = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fo < 0 || fe < 0 || dup2(fo, 1) < 0 || dup2(fe, 2) < 0)
      _exit(126);
    execv(cli, (char *const *)argv);
    _exit(127);
  }
  int st = 0;
  r->status = -1;
  if (pid > 0 && waitpid(pid, &st, 0) == pid)
    r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  slurp(out, r->out, sizeof r->out);
  slurp(err, r->err, sizeof r->err);
}

#define RUN(r, ...)                                                            \
  do {                                                                         \
    const char *a_[] = {__VA_ARGS__, NULL};                                    \
    run(r, a_);                                                                \
  } while (0)

#define CHECK_HAS(hay, needle)                                                 \
  do {                                                                         \
    check_count_++;                                                            \
    if (!strstr((hay), (needle))) {                                            \
      fprintf(stderr, "%s:%d: '%s' not in %s:\n%.2000s\n", __FILE__, __LINE__, \
              (needle), #hay, (hay));                                          \
      check_failures_++;                                                       \
    }                                                                          \
  } while (0)

static int count_lines(const char *s) {
  int n = 0;
  for (; *s; s++)
    n += *s == '\n';
  return n;
}

static void write_bytes(const char *path, const void *data, size_t n) {
  FILE *f = fopen(path, "wb");
  if (f) {
    fwrite(data, 1, n, f);
    fclose(f);
  }
}

static void test_usage(void) {
  static result r;
  const char *cmds[3] = {"detect", "embed", "compare"};
  for (int i = 0; i < 3; i++) {
    RUN(&r, cmds[i], "--help");
    CHECK_INT_EQ(r.status, 0);
    CHECK_HAS(r.out, "Usage: argus");
    CHECK_HAS(r.out, "--models DIR");
    CHECK_HAS(r.out, "--threads N");
    RUN(&r, "help", cmds[i]);
    CHECK_INT_EQ(r.status, 0);
  }
  RUN(&r, "help");
  CHECK_HAS(r.out, "detect");
  CHECK_HAS(r.out, "compare");
  RUN(&r, "detect");
  CHECK_INT_EQ(r.status, 2);
  CHECK_HAS(r.err, "no image");
  RUN(&r, "detect", "x.jpg", "--min-score", "2");
  CHECK_INT_EQ(r.status, 2);
  CHECK_HAS(r.err, "--min-score");
  RUN(&r, "detect", "x.jpg", "--scales", "0.5,abc");
  CHECK_INT_EQ(r.status, 2);
  RUN(&r, "detect", "x.jpg", "--vote", "1.5");
  CHECK_INT_EQ(r.status, 2);
  CHECK_HAS(r.err, "--vote");
  RUN(&r, "detect", "x.jpg", "--mid-size", "5");
  CHECK_INT_EQ(r.status, 2);
  RUN(&r, "detect", "--help");
  CHECK_HAS(r.out, "--accurate");
  RUN(&r, "detect", "x.jpg", "--bogus");
  CHECK_INT_EQ(r.status, 2);
  CHECK_HAS(r.err, "--bogus");
  RUN(&r, "compare", "a.jpg");
  CHECK_INT_EQ(r.status, 2);
  RUN(&r, "compare", "a.jpg", "b.jpg", "--fmr", "2");
  CHECK_INT_EQ(r.status, 2);
  /* No models there: a clear message, exit 1. */
  RUN(&r, "detect", "--models", "/nonexistent/models", "x.jpg");
  CHECK_INT_EQ(r.status, 1);
  CHECK_HAS(r.err, "/nonexistent/models");
}

static void test_bad_files(const char *good) {
  static result r;
  char corrupt[300], empty[300], missing[300], draw[300], drawn[300];
  snprintf(corrupt, sizeof corrupt, "%s/corrupt.jpg", tmp);
  snprintf(empty, sizeof empty, "%s/empty.png", tmp);
  snprintf(missing, sizeof missing, "%s/missing.jpg", tmp);
  snprintf(draw, sizeof draw, "%s/drawn.jpg", tmp);
  /* A JPEG start and then garbage. */
  const unsigned char junk[] = {0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 'J', 'F',
                                'I', 'F', 0x00, 0x01, 0x01, 0x00, 0x00, 0x01,
                                0x00, 0x01, 0x00, 0x00, 0xff, 0xdb, 0x13, 0x37};
  write_bytes(corrupt, junk, sizeof junk);
  write_bytes(empty, "", 0);

  RUN(&r, "detect", "--json", "--models", models, "--threads", "2", corrupt,
      good, empty, missing, good, "--draw", draw);
  CHECK_INT_EQ(r.status, 1);
  CHECK_HAS(r.err, "corrupt.jpg");
  CHECK_HAS(r.err, "empty.png");
  CHECK_HAS(r.err, "missing.jpg");
  /* One line per file, in order: errors as {"file","error"}. */
  CHECK_INT_EQ(count_lines(r.out), 5);
  const char *l2 = strchr(r.out, '\n');
  CHECK(l2 != NULL);
  if (l2) {
    CHECK(strncmp(r.out, "{\"file\":", 8) == 0);
    CHECK(strstr(r.out, "\"error\":") < l2);
    CHECK(strncmp(l2 + 1, "{\"file\":", 8) == 0);
    CHECK_HAS(l2 + 1, "\"faces\":[");
    CHECK_HAS(l2 + 1, "\"width\":");
  }
  /* The good files were drawn: drawn-2.jpg and drawn-5.jpg. */
  struct stat st;
  snprintf(drawn, sizeof drawn, "%s/drawn-2.jpg", tmp);
  CHECK(stat(drawn, &st) == 0 && st.st_size > 0);
  remove(drawn);
  snprintf(drawn, sizeof drawn, "%s/drawn-5.jpg", tmp);
  CHECK(stat(drawn, &st) == 0 && st.st_size > 0);
  remove(drawn);

  /* Text mode, and embed: same reports, good file still done. */
  RUN(&r, "detect", "--models", models, corrupt, good);
  CHECK_INT_EQ(r.status, 1);
  CHECK_HAS(r.err, "corrupt.jpg");
  CHECK_HAS(r.out, "face");
  RUN(&r, "embed", "--models", models, corrupt, good);
  CHECK_INT_EQ(r.status, 1);
  CHECK_HAS(r.err, "corrupt.jpg");
  RUN(&r, "embed", "--aligned", "--json", "--models", models, empty, good);
  CHECK_INT_EQ(r.status, 1);
  CHECK_HAS(r.err, "empty.png");
  CHECK_HAS(r.out, "\"embedding\":[");
  remove(corrupt);
  remove(empty);
}

/* Embeddings of aligned crops: 512 values of unit norm, identical for the
 * same file, many files batched. */
static void test_aligned(void) {
  static result r;
  char crop[300];
  snprintf(crop, sizeof crop, "%s/crop.jpg", tmp);
  argus_image im;
  CHECK_OK(argus_image_alloc(&im, 112, 112, ARGUS_PIX_RGB8));
  for (int y = 0; y < 112; y++)
    for (int x = 0; x < 3 * 112; x++)
      im.data[0][(size_t)y * im.stride[0] + x] =
          (uint8_t)(128 + 100 * sin(x * 0.05) * cos(y * 0.09));
  CHECK_OK(argus_image_write_jpeg(&im, 95, crop));
  argus_image_free(&im);
  const char *args[32] = {"embed", "--aligned", "--models", models};
  int n = 4;
  for (int i = 0; i < 20; i++)
    args[n++] = crop;
  args[n] = NULL;
  run(&r, args);
  CHECK_INT_EQ(r.status, 0);
  CHECK_INT_EQ(count_lines(r.out), 20);
  /* FILE<TAB>v1 ... v512 */
  const char *t = strchr(r.out, '\t');
  CHECK(t != NULL);
  if (!t)
    return;
  double ss = 0;
  int k = 0;
  char *p = (char *)t + 1;
  float first[512];
  for (; k < 512; k++) {
    char *end;
    first[k] = strtof(p, &end);
    if (end == p)
      break;
    ss += (double)first[k] * first[k];
    p = end;
  }
  CHECK_INT_EQ(k, 512);
  CHECK_NEAR(ss, 1, 1e-3, 0);
  /* The last line (another batch position) holds the same vector. */
  const char *last = r.out + strlen(r.out) - 2;
  while (last > r.out && *last != '\n')
    last--;
  const char *lt = strchr(last, '\t');
  if (lt) {
    p = (char *)lt + 1;
    for (k = 0; k < 512; k++)
      CHECK_NEAR(strtof(p, &p), first[k], 1e-5, 0);
  }
  remove(crop);
}

static void test_compare(void) {
  if (!shared)
    return;
  char a[1024], b[1024], two[1024];
  snprintf(a, sizeof a,
           "%s/stills/face_recognition_examples/tests/test_images/obama.jpg",
           shared);
  snprintf(b, sizeof b,
           "%s/stills/face_recognition_examples/tests/test_images/biden.jpg",
           shared);
  snprintf(two, sizeof two,
           "%s/stills/face_recognition_examples/examples/two_people.jpg",
           shared);
  FILE *f = fopen(a, "rb");
  if (!f)
    return;
  fclose(f);
  static result r;
  RUN(&r, "compare", "--models", models, a, two);
  CHECK_INT_EQ(r.status, 0);
  CHECK_HAS(r.out, "same person");
  CHECK_HAS(r.out, "false-match rate");
  RUN(&r, "compare", "--json", "--models", models, a, b);
  CHECK_INT_EQ(r.status, 0);
  CHECK_HAS(r.out, "\"same\":false");
  CHECK_HAS(r.out, "\"similarity\":");
  CHECK_HAS(r.out, "\"fmr\":");
  RUN(&r, "compare", "--json", "--fmr", "1e-4", "--models", models, two, b);
  CHECK_INT_EQ(r.status, 0);
  CHECK_HAS(r.out, "\"same\":true");
  CHECK_HAS(r.out, "\"fmr\":0.0001");
  /* An image without a face is an error naming it. */
  char blank[300];
  snprintf(blank, sizeof blank, "%s/blank.jpg", tmp);
  argus_image im;
  CHECK_OK(argus_image_alloc(&im, 200, 150, ARGUS_PIX_RGB8));
  for (int y = 0; y < 150; y++)
    memset(im.data[0] + (size_t)y * im.stride[0], 200, 600);
  CHECK_OK(argus_image_write_jpeg(&im, 90, blank));
  argus_image_free(&im);
  RUN(&r, "compare", "--models", models, a, blank);
  CHECK_INT_EQ(r.status, 1);
  CHECK_HAS(r.err, "blank.jpg");
  CHECK_HAS(r.err, "no face");
  remove(blank);

  /* detect --json on the group photo: two faces with points and quality. */
  RUN(&r, "detect", "--json", "--models", models, two);
  CHECK_INT_EQ(r.status, 0);
  CHECK_HAS(r.out, "\"points\":[[");
  CHECK_HAS(r.out, "\"quality\":");
  const char *second = strstr(r.out, "},{\"box\"");
  CHECK(second != NULL);
  /* embed --json adds the model id and embeddings. */
  RUN(&r, "embed", "--json", "--models", models, two);
  CHECK_INT_EQ(r.status, 0);
  CHECK_HAS(r.out, "\"model\":\"fr_feature@");
  CHECK_HAS(r.out, "\"embedding\":[");
}

/* The accuracy options run end to end; --boxes-only leaves out points
 * and quality. */
static void test_accurate(const char *good) {
  static result r;
  RUN(&r, "detect", "--models", models, "--threads", "1", "--json",
      "--accurate", good);
  CHECK_INT_EQ(r.status, 0);
  CHECK_HAS(r.out, "\"faces\":[");
  RUN(&r, "detect", "--models", models, "--threads", "1", "--json",
      "--size", "320", "--flip-all", "--vote", "0.6", "--boxes-only",
      "--min-score", "0.01", good);
  CHECK_INT_EQ(r.status, 0);
  CHECK_HAS(r.out, "\"box\":[");
  CHECK(strstr(r.out, "\"quality\"") == NULL);
  CHECK(strstr(r.out, "\"points\"") == NULL);
}

int main(void) {
  cli = getenv("ARGUS_CLI");
  models = getenv("ARGUS_MODELS_DIR");
  shared = getenv("ARGUS_SHARED_DATA");
  if (!cli)
    SKIP("ARGUS_CLI is not set");
  if (!models)
    models = "models";
  char probe[1024];
  snprintf(probe, sizeof probe, "%s/fr_feature.onnx", models);
  FILE *f = fopen(probe, "rb");
  if (!f)
    SKIP("no %s (run scripts/fetch-models.sh)", probe);
  fclose(f);
  snprintf(tmp, sizeof tmp, "/tmp/argus_face_cli_XXXXXX");
  if (!mkdtemp(tmp))
    SKIP("cannot create a temporary folder");

  /* A good image that always exists: a synthetic JPEG (no face needed for
   * the error-path checks). */
  char good[300];
  snprintf(good, sizeof good, "%s/good.jpg", tmp);
  argus_image im;
  CHECK_OK(argus_image_alloc(&im, 320, 240, ARGUS_PIX_RGB8));
  for (int y = 0; y < 240; y++)
    for (int x = 0; x < 3 * 320; x++)
      im.data[0][(size_t)y * im.stride[0] + x] = (uint8_t)((x + y) & 255);
  CHECK_OK(argus_image_write_jpeg(&im, 90, good));
  argus_image_free(&im);

  test_usage();
  test_bad_files(good);
  test_accurate(good);
  test_aligned();
  test_compare();

  remove(good);
  char p[300];
  snprintf(p, sizeof p, "%s/stdout", tmp);
  remove(p);
  snprintf(p, sizeof p, "%s/stderr", tmp);
  remove(p);
  rmdir(tmp);
  return check_report("test_face_cli");
}
