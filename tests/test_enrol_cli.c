/* `argus person add`, `argus import`, `argus identify` and `argus reindex`
 * end to end through the binary CTest names in ARGUS_CLI: help and usage
 * errors, enrolment with rejections and their reasons (nothing stored when
 * no photo passes), a folder-per-person import with its JSON summary and a
 * re-run that skips who is enrolled, identification in JSON, removal, and a
 * reindex that has nothing to do. Skips without the models or
 * ../shared/data/stills/face_recognition_examples. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "argus/image.h"
#include "argus/store.h"
#include "check.h"

static const char *cli, *models;
static char tmp[256], data[1024], db[400];

typedef struct result {
  int status;
  char out[1 << 18];
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
  const char *argv[48];
  int n = 0;
  argv[n++] = cli;
  for (; args[n - 1] && n < 47; n++)
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
    setenv("ARGUS_MODELS", models, 1);
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
      fprintf(stderr, "%s:%d: '%s' not in %s:\n%.3000s\n", __FILE__, __LINE__, \
              (needle), #hay, (hay));                                          \
      check_failures_++;                                                       \
    }                                                                          \
  } while (0)

#define CHECK_LACKS(hay, needle)                                               \
  do {                                                                         \
    check_count_++;                                                            \
    if (strstr((hay), (needle))) {                                             \
      fprintf(stderr, "%s:%d: '%s' unexpected in %s:\n%.3000s\n", __FILE__,    \
              __LINE__, (needle), #hay, (hay));                                \
      check_failures_++;                                                       \
    }                                                                          \
  } while (0)

static int rm_cb(const char *path, const struct stat *sb, int flag,
                 struct FTW *ftw) {
  (void)sb;
  (void)flag;
  (void)ftw;
  return remove(path);
}

static void img(char *buf, size_t size, const char *rel) {
  snprintf(buf, size, "%s/%s", data, rel);
}

static int64_t store_count(const char *what) {
  argus_store *s = NULL;
  argus_store_error se = {{0}};
  int64_t n = -1;
  if (argus_store_open(db, NULL, &s, &se) != ARGUS_OK) {
    fprintf(stderr, "%s\n", se.msg);
    return -1;
  }
  if (strcmp(what, "templates") == 0) {
    argus_store_template_count(s, NULL, &n, &se);
  } else {
    argus_store_person *l = NULL;
    size_t k = 0;
    if (argus_store_person_list(s, NULL, NULL, &l, &k, &se) == ARGUS_OK)
      n = (int64_t)k;
    argus_store_free(l);
  }
  argus_store_close(s);
  return n;
}

static void test_usage(void) {
  static result r;
  const char *cmds[4][2] = {{"person", "add"},
                            {"import", NULL},
                            {"identify", NULL},
                            {"reindex", NULL}};
  for (int i = 0; i < 4; i++) {
    if (cmds[i][1])
      RUN(&r, cmds[i][0], cmds[i][1], "--help");
    else
      RUN(&r, cmds[i][0], "--help");
    CHECK_INT_EQ(r.status, 0);
    CHECK_HAS(r.out, "Usage: argus");
    CHECK_HAS(r.out, "--db PATH");
    CHECK_HAS(r.out, "--models DIR");
  }
  RUN(&r, "help");
  CHECK_HAS(r.out, "identify");
  CHECK_HAS(r.out, "import");
  CHECK_HAS(r.out, "reindex");
  RUN(&r, "person", "--help");
  CHECK_HAS(r.out, "add");
  RUN(&r, "person", "add", "--name", "x", "a.jpg", "--db", db);
  CHECK_INT_EQ(r.status, 2);
  CHECK_HAS(r.err, "--watchlist");
  RUN(&r, "person", "add", "--watchlist", "w", "--name", "x", "--db", db);
  CHECK_INT_EQ(r.status, 2);
  CHECK_HAS(r.err, "no photo");
  RUN(&r, "person", "add", "--watchlist", "w", "--name", "x", "--pick",
      "smallest", "a.jpg");
  CHECK_INT_EQ(r.status, 2);
  CHECK_HAS(r.err, "--pick");
  RUN(&r, "import", "--watchlist", "w");
  CHECK_INT_EQ(r.status, 2);
  RUN(&r, "identify", "--db", db);
  CHECK_INT_EQ(r.status, 2);
  RUN(&r, "identify", "x.jpg", "--top", "0");
  CHECK_INT_EQ(r.status, 2);
  RUN(&r, "reindex", "--drop", "nomodel");
  CHECK_INT_EQ(r.status, 2);
}

static void test_flow(void) {
  static result r;
  char obama[1200], obama2[1200], obama3[1200], biden[1200], two[1200],
      lin[1200], alex[1200], noface[400];
  img(obama, sizeof obama, "tests/test_images/obama.jpg");
  img(obama2, sizeof obama2, "tests/test_images/obama2.jpg");
  img(obama3, sizeof obama3, "tests/test_images/obama3.jpg");
  img(biden, sizeof biden, "examples/biden.jpg");
  img(two, sizeof two, "examples/two_people.jpg");
  img(lin, sizeof lin, "examples/lin-manuel-miranda.png");
  img(alex, sizeof alex, "examples/alex-lacamoire.png");
  snprintf(noface, sizeof noface, "%s/noface.jpg", tmp);
  {
    argus_image im;
    CHECK_OK(argus_image_alloc(&im, 320, 240, ARGUS_PIX_RGB8));
    for (int y = 0; y < 240; y++)
      memset(im.data[0] + (size_t)y * im.stride[0], 40 + y / 2, 3 * 320);
    CHECK_OK(argus_image_write_jpeg(&im, 90, noface));
    argus_image_free(&im);
  }

  /* No such watchlist. */
  RUN(&r, "person", "add", "--watchlist", "vip", "--name", "Barack Obama",
      obama, "--db", db);
  CHECK_INT_EQ(r.status, 1);
  CHECK_HAS(r.err, "no watchlist 'vip'");
  RUN(&r, "watchlist", "create", "vip", "--db", db);
  CHECK_INT_EQ(r.status, 0);

  /* Obama from one photo; a missing file is rejected as unreadable. */
  RUN(&r, "person", "add", "--watchlist", "vip", "--name", "Barack Obama",
      "--external-id", "obama", obama, "/nonexistent.jpg", "--db", db);
  CHECK_INT_EQ(r.status, 0);
  CHECK_HAS(r.out, "accepted");
  CHECK_HAS(r.out, "rejected  /nonexistent.jpg: unreadable");
  CHECK_HAS(r.out, "enrolled 'Barack Obama'");
  CHECK_HAS(r.out, "with 1 of 2 photos");

  /* No face and a group photo: both rejected with reasons, nothing stored,
   * exit 1. */
  int64_t persons = store_count("persons"),
          templates = store_count("templates");
  RUN(&r, "person", "add", "--watchlist", "vip", "--name", "Nobody", noface,
      two, "--json", "--db", db);
  CHECK_INT_EQ(r.status, 1);
  CHECK_HAS(r.out, "\"person_id\":null");
  CHECK_HAS(r.out, "\"reason\":\"no face\"");
  CHECK_HAS(r.out, "\"reason\":\"several faces\"");
  CHECK_HAS(r.err, "nothing stored");
  CHECK_INT_EQ(store_count("persons"), persons);
  CHECK_INT_EQ(store_count("templates"), templates);

  /* Biden by import, with a person none of whose photos pass and a loose
   * file; the summary counts by reason. */
  char dir[400], sub[500], link[700];
  snprintf(dir, sizeof dir, "%s/people", tmp);
  mkdir(dir, 0700);
  snprintf(sub, sizeof sub, "%s/Joe_Biden", dir);
  mkdir(sub, 0700);
  snprintf(link, sizeof link, "%s/biden.jpg", sub);
  CHECK(symlink(biden, link) == 0);
  snprintf(link, sizeof link, "%s/group.jpg", sub);
  CHECK(symlink(two, link) == 0);
  snprintf(sub, sizeof sub, "%s/Nobody", dir);
  mkdir(sub, 0700);
  snprintf(link, sizeof link, "%s/blank.JPG", sub);
  CHECK(symlink(noface, link) == 0);
  snprintf(link, sizeof link, "%s/notes.txt", sub);
  FILE *f = fopen(link, "w");
  if (f) {
    fputs("not an image\n", f);
    fclose(f);
  }
  snprintf(link, sizeof link, "%s/loose.jpg", dir);
  CHECK(symlink(obama, link) == 0);
  RUN(&r, "import", "--watchlist", "vip", dir, "--json", "--db", db);
  CHECK_INT_EQ(r.status, 0);
  CHECK_HAS(r.out, "\"persons\":2");
  CHECK_HAS(r.out, "\"persons_enrolled\":1");
  CHECK_HAS(r.out, "\"persons_rejected\":1");
  CHECK_HAS(r.out, "\"photos_enrolled\":1");
  CHECK_HAS(r.out, "\"photos_rejected\":2");
  CHECK_HAS(r.out, "\"no face\":1");
  CHECK_HAS(r.out, "\"several faces\":1");
  CHECK_HAS(r.err, "1 image file directly in");
  CHECK_INT_EQ(store_count("persons"), persons + 1);
  /* Again: Biden is skipped (same external id); Nobody still fails. */
  RUN(&r, "import", "--watchlist", "vip", dir, "--db", db);
  CHECK_INT_EQ(r.status, 1);
  CHECK_HAS(r.out, "0 of 2 persons enrolled");
  CHECK_HAS(r.out, "skipped 1 persons already enrolled");
  CHECK_HAS(r.out, "no face 1");
  CHECK_HAS(r.err, "rejected");
  CHECK_INT_EQ(store_count("persons"), persons + 1);
  RUN(&r, "person", "list", "--watchlist", "vip", "--db", db);
  CHECK_HAS(r.out, "Joe Biden");
  CHECK_HAS(r.out, "Joe_Biden");

  /* Identification. */
  RUN(&r, "identify", "--watchlist", "vip", obama2, "--json", "--db", db);
  CHECK_INT_EQ(r.status, 0);
  CHECK_HAS(r.out, "\"match\":true");
  CHECK_HAS(r.out, "{\"person_id\":1,\"name\":\"Barack Obama\"");
  RUN(&r, "identify", "--watchlist", "vip", two, "--db", db);
  CHECK_INT_EQ(r.status, 0);
  CHECK_HAS(r.out, "MATCH Barack Obama");
  CHECK_HAS(r.out, "MATCH Joe Biden");
  RUN(&r, "identify", lin, alex, "--json", "--top", "1", "--db", db);
  CHECK_INT_EQ(r.status, 0);
  CHECK_LACKS(r.out, "\"match\":true");
  CHECK_HAS(r.out, "\"candidates\":[{");
  RUN(&r, "identify", "--watchlist", "nope", obama2, "--db", db);
  CHECK_INT_EQ(r.status, 1);
  CHECK_HAS(r.err, "nope");
  /* A file that cannot be read: reported, the others still searched. */
  RUN(&r, "identify", "/nonexistent.jpg", obama3, "--json", "--db", db);
  CHECK_INT_EQ(r.status, 1);
  CHECK_HAS(r.out, "\"error\"");
  CHECK_HAS(r.out, "Barack Obama");
  RUN(&r, "audit", "--db", db);
  CHECK_HAS(r.out, "identify");

  /* Removal: gone from the search. */
  RUN(&r, "person", "remove", "--watchlist", "vip", "Barack Obama", "--db", db);
  CHECK_INT_EQ(r.status, 0);
  RUN(&r, "identify", obama2, "--json", "--db", db);
  CHECK_INT_EQ(r.status, 0);
  CHECK_LACKS(r.out, "Barack Obama");
  CHECK_LACKS(r.out, "\"match\":true");

  /* Reindex with nothing to do. */
  RUN(&r, "reindex", "--json", "--db", db);
  CHECK_INT_EQ(r.status, 0);
  CHECK_HAS(r.out, "\"to_do\":0");
  CHECK_HAS(r.out, "\"templates\":1");
  CHECK_HAS(r.out, "\"other_models\":0");

  /* Aligned crops (LFW-112), when present. */
  char lfw[1200];
  const char *shared = getenv("ARGUS_SHARED_DATA");
  snprintf(lfw, sizeof lfw, "%s/lfw-112/images/Aaron_Eckhart",
           shared ? shared : "../shared/data");
  if (access(lfw, R_OK) == 0) {
    char a1[1300];
    snprintf(a1, sizeof a1, "%s/Aaron_Eckhart_0001.jpg", lfw);
    RUN(&r, "person", "add", "--watchlist", "vip", "--name", "Aaron Eckhart",
        "--aligned", a1, "--db", db);
    CHECK_INT_EQ(r.status, 0);
    RUN(&r, "identify", "--aligned", "--json", a1, "--db", db);
    CHECK_INT_EQ(r.status, 0);
    CHECK_HAS(r.out, "\"name\":\"Aaron Eckhart\"");
    CHECK_HAS(r.out, "\"match\":true");
  }
}

int main(void) {
  cli = getenv("ARGUS_CLI");
  models = getenv("ARGUS_MODELS_DIR");
  const char *shared = getenv("ARGUS_SHARED_DATA");
  if (!cli || access(cli, X_OK) != 0)
    SKIP("ARGUS_CLI is not set (run through ctest)");
  if (!models)
    models = "models";
  char probe[1200];
  snprintf(probe, sizeof probe, "%s/fr_feature.onnx", models);
  if (access(probe, R_OK) != 0)
    SKIP("no models in %s (scripts/fetch-models.sh)", models);
  snprintf(data, sizeof data, "%s/stills/face_recognition_examples",
           shared ? shared : "../shared/data");
  snprintf(probe, sizeof probe, "%s/tests/test_images/obama.jpg", data);
  if (access(probe, R_OK) != 0)
    SKIP("%s is absent", probe);
  snprintf(tmp, sizeof tmp, "/tmp/argus-test-enrol-XXXXXX");
  if (!mkdtemp(tmp)) {
    perror("mkdtemp");
    return 1;
  }
  snprintf(db, sizeof db, "%s/db/argus.db", tmp);
  /* the store makes no folder for an explicit --db path */
  char dbdir[300];
  snprintf(dbdir, sizeof dbdir, "%s/db", tmp);
  if (mkdir(dbdir, 0700) != 0) {
    perror("mkdir");
    return 1;
  }
  test_usage();
  test_flow();
  nftw(tmp, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
  return check_report("test_enrol_cli");
}
