/* `argus alert` end to end: alerts made through the store API in a temporary
 * database are listed with every filter (table and JSON lines), shown with
 * their files and decisions, confirmed and rejected; a second decision on a
 * decided alert is refused with exit status 1; decisions are audited with
 * the CLI's actor. Runs the binary CTest names in ARGUS_CLI. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "argus/core.h"
#include "argus/store.h"
#include "check.h"

static const char *cli;
static char tmp[256];
static char db[320];

typedef struct result {
  int status; /* exit code, or 128 + signal */
  char out[65536];
  char err[65536];
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

/* Runs argus with the NULL-terminated arguments; stdout and stderr go to
 * files that are read back into r. */
static void run(result *r, const char *const *args) {
  char out[300], err[300];
  snprintf(out, sizeof out, "%s/stdout", tmp);
  snprintf(err, sizeof err, "%s/stderr", tmp);
  const char *argv[32];
  int n = 0;
  argv[n++] = cli;
  for (; args[n - 1] && n < 31; n++)
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

/* Runs `argus alert ARGS... --db <db>`. */
#define ALERT(r, ...)                                                          \
  do {                                                                         \
    const char *a_[] = {"alert", __VA_ARGS__, "--db", db, NULL};               \
    run(r, a_);                                                                \
  } while (0)

#define CHECK_HAS(hay, needle)                                                 \
  do {                                                                         \
    check_count_++;                                                            \
    if (!strstr((hay), (needle))) {                                            \
      fprintf(stderr, "%s:%d: '%s' not in %s:\n%s\n", __FILE__, __LINE__,      \
              (needle), #hay, (hay));                                          \
      check_failures_++;                                                       \
    }                                                                          \
  } while (0)

/* Checks that `out` is JSON lines (each line one valid JSON object) and
 * writes the "id" of each line into ids (at most cap). Returns the number
 * of lines, or -1 when a line is not valid JSON. */
static int json_lines(const char *out, long long *ids, int cap) {
  int n = 0;
  const char *p = out;
  while (*p) {
    const char *nl = strchr(p, '\n');
    size_t len = nl ? (size_t)(nl - p) : strlen(p);
    if (argus_json_validate(p, len, 0, NULL) != ARGUS_OK || p[0] != '{') {
      fprintf(stderr, "not a JSON object line: %.*s\n", (int)len, p);
      return -1;
    }
    const char *id = strstr(p, "\"id\":");
    if (n < cap)
      ids[n] = id && id < p + len ? strtoll(id + 5, NULL, 10) : -1;
    n++;
    p += len + (nl ? 1 : 0);
  }
  return n;
}

/* Expects `alert list FILTER...` to print exactly the alerts in `want`
 * (newest first) as JSON lines. */
static void expect_list(const char *const *filter, const long long *want,
                        int nwant) {
  const char *args[24] = {"alert", "list", "--json", "--db", db};
  int k = 5;
  for (int i = 0; filter[i] && k < 22; i++)
    args[k++] = filter[i];
  args[k] = NULL;
  static result r;
  run(&r, args);
  CHECK_INT_EQ(r.status, 0);
  long long ids[16];
  int n = json_lines(r.out, ids, 16);
  CHECK_INT_EQ(n, nwant);
  for (int i = 0; i < n && i < nwant && i < 16; i++)
    CHECK_INT_EQ(ids[i], want[i]);
  if (n != nwant)
    fprintf(stderr, "filter %s: %s\n", filter[0] ? filter[0] : "(none)", r.out);
}

/* Pseudo-JPEG bytes from a seed. */
static size_t make_jpeg(uint32_t seed, unsigned char *buf, size_t n) {
  uint32_t s = seed * 2654435761u + 1;
  for (size_t i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >> 17;
    s ^= s << 5;
    buf[i] = (unsigned char)s;
  }
  buf[0] = 0xff;
  buf[1] = 0xd8;
  buf[n - 2] = 0xff;
  buf[n - 1] = 0xd9;
  return n;
}

static argus_store_id ids[4];
static char crop_sha[ARGUS_STORE_SHA256_HEX];
static char crop_path[4096];

/* vip (0.5): Ann, Bob; staff (default threshold): Cat. Four alerts, one a
 * day from 2024-06-01, on the stored camera "door" and a URL. */
static int make_db(void) {
  argus_store *s = NULL;
  argus_store_error err;
  argus_store_options o = {.actor = "test"};
  argus_store_id vip = 0, staff = 0, door = 0, ann = 0, bob = 0, cat = 0;
  int ok = argus_store_open(db, &o, &s, &err) == ARGUS_OK;
  ok = ok && argus_store_watchlist_create(s, "vip", 0.5, NULL, &vip, &err) ==
                 ARGUS_OK;
  ok = ok && argus_store_watchlist_create(s, "staff", NAN, NULL, &staff,
                                          &err) == ARGUS_OK;
  ok = ok && argus_store_camera_add(s, "door", "rtsp://cam/door", NULL, 1,
                                    &door, &err) == ARGUS_OK;
  argus_store_person_in pa = {"Ann", NULL, NULL}, pb = {"Bob", NULL, NULL},
                        pc = {"Cat", NULL, NULL};
  ok = ok && argus_store_person_add(s, "vip", &pa, NULL, NULL, 0, &ann, &err) ==
                 ARGUS_OK;
  ok = ok && argus_store_person_add(s, "vip", &pb, NULL, NULL, 0, &bob, &err) ==
                 ARGUS_OK;
  ok = ok && argus_store_person_add(s, "staff", &pc, NULL, NULL, 0, &cat,
                                    &err) == ARGUS_OK;
  static unsigned char crop[1500], thumb[2500];
  make_jpeg(11, crop, sizeof crop);
  make_jpeg(12, thumb, sizeof thumb);
  struct {
    argus_store_id cam;
    const char *camera;
    argus_store_id wl, person;
    double score;
  } spec[4] = {{door, "door", vip, ann, 0.62},
               {0, "file:///videos/gate.mp4", vip, bob, 0.55},
               {door, "door", staff, cat, 0.71},
               {door, "door", vip, ann, 0.58}};
  for (int i = 0; ok && i < 4; i++) {
    char t[40];
    snprintf(t, sizeof t, "2024-06-0%dT10:00:00Z", i + 1);
    argus_store_alert_in ai = {.threshold = NAN,
                               .track_start = NAN,
                               .camera_id = spec[i].cam,
                               .camera = spec[i].camera,
                               .time = t,
                               .media_time = 12.5 + i,
                               .track_id = 40 + i,
                               .watchlist_id = spec[i].wl,
                               .person_id = spec[i].person,
                               .score = spec[i].score,
                               .crop = i == 0 ? crop : NULL,
                               .crop_size = i == 0 ? sizeof crop : 0,
                               .thumb = i == 0 ? thumb : NULL,
                               .thumb_size = i == 0 ? sizeof thumb : 0};
    ok = argus_store_alert_insert(s, &ai, &ids[i], &err) == ARGUS_OK;
  }
  argus_store_alert a;
  ok = ok && argus_store_alert_get(s, ids[0], &a, &err) == ARGUS_OK;
  if (ok) {
    snprintf(crop_sha, sizeof crop_sha, "%s", a.crop_sha256);
    ok = argus_store_crop_path(s, crop_sha, crop_path, sizeof crop_path,
                               &err) == ARGUS_OK;
  }
  if (!ok)
    fprintf(stderr, "making the database: %s\n", err.msg);
  argus_store_close(s);
  return ok ? 0 : -1;
}

static void test_help_and_usage(void) {
  static result r;
  const char *subs[] = {"list", "show", "confirm", "reject"};
  for (int i = 0; i < 4; i++) {
    const char *a[] = {"alert", subs[i], "--help", NULL};
    run(&r, a);
    CHECK_INT_EQ(r.status, 0);
    char want[64];
    snprintf(want, sizeof want, "Usage: argus alert %s", subs[i]);
    CHECK_HAS(r.out, want);
  }
  const char *top[] = {"alert", "--help", NULL};
  run(&r, top);
  CHECK_INT_EQ(r.status, 0);
  CHECK_HAS(r.out, "confirm");

  /* Usage errors: exit 2 and a message naming the problem. */
  const char *none[] = {"alert", NULL};
  run(&r, none);
  CHECK_INT_EQ(r.status, 2);
  CHECK_HAS(r.err, "missing subcommand");
  ALERT(&r, "bogus");
  CHECK_INT_EQ(r.status, 2);
  CHECK_HAS(r.err, "'bogus'");
  ALERT(&r, "show");
  CHECK_INT_EQ(r.status, 2);
  CHECK_HAS(r.err, "missing ID");
  ALERT(&r, "show", "abc");
  CHECK_INT_EQ(r.status, 2);
  ALERT(&r, "show", "1", "2");
  CHECK_INT_EQ(r.status, 2);
  CHECK_HAS(r.err, "unexpected argument '2'");
  ALERT(&r, "confirm");
  CHECK_INT_EQ(r.status, 2);
  ALERT(&r, "reject", "0");
  CHECK_INT_EQ(r.status, 2);
  ALERT(&r, "list", "--status", "maybe");
  CHECK_INT_EQ(r.status, 2);
  CHECK_HAS(r.err, "'maybe'");
  ALERT(&r, "list", "--since", "yesterday");
  CHECK_INT_EQ(r.status, 2);
  CHECK_HAS(r.err, "--since");
  ALERT(&r, "list", "--limit", "0");
  CHECK_INT_EQ(r.status, 2);
  ALERT(&r, "list", "extra");
  CHECK_INT_EQ(r.status, 2);

  /* Failures: exit 1 with the reason. */
  ALERT(&r, "show", "999");
  CHECK_INT_EQ(r.status, 1);
  CHECK_HAS(r.err, "no alert with id 999");
  ALERT(&r, "confirm", "999");
  CHECK_INT_EQ(r.status, 1);
  CHECK_HAS(r.err, "no alert with id 999");
}

static void test_list(void) {
  static result r;
  ALERT(&r, "list");
  CHECK_INT_EQ(r.status, 0);
  CHECK_HAS(r.out, "STATUS");
  CHECK_HAS(r.out, "file:///videos/gate.mp4");
  CHECK_HAS(r.out, "2024-06-04T10:00:00.000Z");
  /* Newest first. */
  char *l4 = strstr(r.out, "2024-06-04"), *l1 = strstr(r.out, "2024-06-01");
  CHECK(l4 && l1 && l4 < l1);

  long long all[4] = {ids[3], ids[2], ids[1], ids[0]};
  const char *f0[] = {NULL};
  expect_list(f0, all, 4);
  const char *f1[] = {"--camera", "door", NULL};
  long long w1[] = {ids[3], ids[2], ids[0]};
  expect_list(f1, w1, 3);
  const char *f2[] = {"--watchlist", "staff", NULL};
  long long w2[] = {ids[2]};
  expect_list(f2, w2, 1);
  const char *f3[] = {"--person", "Ann", NULL};
  long long w3[] = {ids[3], ids[0]};
  expect_list(f3, w3, 2);
  const char *f4[] = {"--since", "2024-06-02T00:00:00Z", "--until",
                      "2024-06-04T10:00:00Z", NULL};
  long long w4[] = {ids[2], ids[1]};
  expect_list(f4, w4, 2);
  const char *f5[] = {"--status", "pending", "--limit", "1", NULL};
  long long w5[] = {ids[3]};
  expect_list(f5, w5, 1);
  char before[24];
  snprintf(before, sizeof before, "%lld", (long long)ids[2]);
  const char *f8[] = {"--before", before, NULL};
  long long w8[] = {ids[1], ids[0]};
  expect_list(f8, w8, 2);
  const char *f6[] = {"--person", "Ann", "--watchlist", "staff", NULL};
  expect_list(f6, NULL, 0);
  const char *f7[] = {"--since", "2024-06-03T12:00:00+02:00", NULL};
  long long w7[] = {ids[3], ids[2]};
  expect_list(f7, w7, 2);

  ALERT(&r, "list", "--person", "Nobody");
  CHECK_INT_EQ(r.status, 0);
  CHECK_HAS(r.out, "no alerts");
}

static void test_show(void) {
  static result r;
  char id[24];
  snprintf(id, sizeof id, "%lld", (long long)ids[0]);
  ALERT(&r, "show", id);
  CHECK_INT_EQ(r.status, 0);
  CHECK_HAS(r.out, "pending");
  CHECK_HAS(r.out, "Ann");
  CHECK_HAS(r.out, "vip");
  CHECK_HAS(r.out, "0.6200 against the watchlist's threshold 0.5000");
  CHECK_HAS(r.out, "door");
  CHECK_HAS(r.out, "2024-06-01T10:00:00.000Z");
  CHECK_HAS(r.out, "12.500 s");
  CHECK_HAS(r.out, "track      40");
  CHECK_HAS(r.out, crop_path);
  CHECK_HAS(r.out, crop_sha);
  CHECK_HAS(r.out, "decisions: none");
  struct stat st;
  CHECK(stat(crop_path, &st) == 0 && st.st_size == 1500);

  ALERT(&r, "show", id, "--json");
  CHECK_INT_EQ(r.status, 0);
  CHECK_OK(argus_json_validate(r.out, strlen(r.out), 0, NULL));
  CHECK_HAS(r.out, "\"alert\":{");
  CHECK_HAS(r.out, "\"threshold\":0.5");
  CHECK_HAS(r.out, "\"crop_path\":\"");
  CHECK_HAS(r.out, "\"decisions\":[]");
  CHECK_HAS(r.out, crop_sha);

  /* No files, default threshold. */
  snprintf(id, sizeof id, "%lld", (long long)ids[2]);
  ALERT(&r, "show", id);
  CHECK_INT_EQ(r.status, 0);
  CHECK_HAS(r.out, "default threshold");
  CHECK_HAS(r.out, "crop       none");
  ALERT(&r, "show", id, "--json");
  CHECK_INT_EQ(r.status, 0);
  CHECK_OK(argus_json_validate(r.out, strlen(r.out), 0, NULL));
  CHECK_HAS(r.out, "\"threshold\":null");
  CHECK_HAS(r.out, "\"crop_path\":null");
}

static int count(const char *hay, const char *needle) {
  int n = 0;
  for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
    n++;
  return n;
}

static void test_decide(void) {
  static result r;
  char id0[24], id1[24];
  snprintf(id0, sizeof id0, "%lld", (long long)ids[0]);
  snprintf(id1, sizeof id1, "%lld", (long long)ids[1]);
  ALERT(&r, "confirm", id0, "--comment", "it is her");
  CHECK_INT_EQ(r.status, 0);
  CHECK_HAS(r.out, "confirmed by cli:");
  CHECK_HAS(r.out, "Ann");

  /* The first decision wins. */
  ALERT(&r, "confirm", id0);
  CHECK_INT_EQ(r.status, 1);
  CHECK_HAS(r.err, "already confirmed by cli:");
  CHECK_HAS(r.err, "first decision stands");
  ALERT(&r, "reject", id0, "--comment", "no");
  CHECK_INT_EQ(r.status, 1);
  CHECK_HAS(r.err, "already confirmed");

  ALERT(&r, "reject", id1, "--comment", "a lookalike");
  CHECK_INT_EQ(r.status, 0);
  CHECK_HAS(r.out, "rejected by cli:");
  ALERT(&r, "confirm", id1);
  CHECK_INT_EQ(r.status, 1);
  CHECK_HAS(r.err, "already rejected");

  ALERT(&r, "show", id0);
  CHECK_INT_EQ(r.status, 0);
  CHECK_HAS(r.out, "alert ");
  CHECK_HAS(r.out, "confirmed");
  CHECK_HAS(r.out, "by cli:");
  CHECK_HAS(r.out, ": it is her");
  CHECK_INT_EQ(count(r.out, " by cli:"), 1);
  ALERT(&r, "show", id0, "--json");
  CHECK_INT_EQ(r.status, 0);
  CHECK_OK(argus_json_validate(r.out, strlen(r.out), 0, NULL));
  CHECK_HAS(r.out, "\"decision\":\"confirmed\"");
  CHECK_HAS(r.out, "\"comment\":\"it is her\"");
  CHECK_HAS(r.out, "\"status\":\"confirmed\"");

  const char *fc[] = {"--status", "confirmed", NULL};
  long long wc[] = {ids[0]};
  expect_list(fc, wc, 1);
  const char *fr[] = {"--status", "rejected", NULL};
  long long wr[] = {ids[1]};
  expect_list(fr, wr, 1);
  const char *fp[] = {"--status", "pending", NULL};
  long long wp[] = {ids[3], ids[2]};
  expect_list(fp, wp, 2);

  /* Audited with the CLI's actor: two decisions, none for the refusals. */
  const char *au[] = {"audit", "--json", "--db", db, NULL};
  run(&r, au);
  CHECK_INT_EQ(r.status, 0);
  CHECK_OK(argus_json_validate(r.out, strlen(r.out), 0, NULL));
  CHECK_INT_EQ(count(r.out, "\"action\":\"alert.decision\""), 2);
  CHECK_HAS(r.out, "\"actor\":\"cli:");
  CHECK_HAS(r.out, "\"decision\":\"rejected\"");
}

static int rm_cb(const char *path, const struct stat *sb, int flag,
                 struct FTW *ftw) {
  (void)sb;
  (void)flag;
  (void)ftw;
  return remove(path);
}

int main(void) {
  cli = getenv("ARGUS_CLI");
  if (!cli || !*cli)
    SKIP("ARGUS_CLI is not set (CTest sets it to the argus binary)");
  const char *base = getenv("TMPDIR");
  snprintf(tmp, sizeof tmp, "%s/argus-alert-cli-XXXXXX",
           base && *base ? base : "/tmp");
  if (!mkdtemp(tmp)) {
    perror("mkdtemp");
    return 1;
  }
  snprintf(db, sizeof db, "%s/argus.db", tmp);
  argus_log_set_level(ARGUS_LOG_ERROR);
  CHECK(make_db() == 0);
  test_help_and_usage();
  test_list();
  test_show();
  test_decide();
  int rc = check_report("test_alert_cli");
  if (rc == 0)
    nftw(tmp, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
  else
    fprintf(stderr, "kept %s for inspection\n", tmp);
  return rc;
}
