/* Input a hostile user gives argus (issue 10, item 4), through the library
 * and through the binary CTest names in ARGUS_CLI:
 *   - names that are not valid UTF-8 (watchlist, person, external id, notes,
 *     camera, photo paths, folder names of an import) are refused at the API
 *     edge and by the commands, and nothing argus prints as JSON holds
 *     anything but valid UTF-8;
 *   - camera settings are checked against their schema (known keys, types,
 *     ranges; the refused key named), documented settings are read, and a
 *     relative file path given to `camera add` is stored absolute;
 *   - a person whose name is already in the watchlist is enrolled with a
 *     warning (stderr and the JSON "warning"); a photo already enrolled in
 *     the watchlist, or given twice, is refused;
 *   - a person that another import stored after this one listed the
 *     watchlist is "skipped", not "failed" (deterministically, by storing it
 *     from the progress callback; and with two `argus import` processes at
 *     once on one folder).
 * The parts that need models or ../shared/data skip those parts with a
 * message; the rest always runs. */
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

#include "argus/import.h"
#include "argus/store.h"
#include "check.h"

static const char *cli, *models;
static char tmp[256], lfw[1024], stills[1024];
static int have_models, have_lfw, have_stills;

typedef struct result {
  int status;
  char out[1 << 17];
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

/* Starts argus with the arguments (NULL-terminated) in folder `cwd` (NULL:
 * this one), its output into <tmp>/<tag>.out and .err; returns the pid. */
static pid_t start(const char *tag, const char *cwd, const char *const *args) {
  char out[400], err[400];
  snprintf(out, sizeof out, "%s/%s.out", tmp, tag);
  snprintf(err, sizeof err, "%s/%s.err", tmp, tag);
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
    if (cwd && chdir(cwd) != 0)
      _exit(125);
    if (models)
      setenv("ARGUS_MODELS", models, 1);
    execv(cli, (char *const *)argv);
    _exit(127);
  }
  return pid;
}

static void finish(result *r, const char *tag, pid_t pid) {
  int st = 0;
  r->status = -1;
  if (pid > 0 && waitpid(pid, &st, 0) == pid)
    r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  char p[400];
  snprintf(p, sizeof p, "%s/%s.out", tmp, tag);
  slurp(p, r->out, sizeof r->out);
  snprintf(p, sizeof p, "%s/%s.err", tmp, tag);
  slurp(p, r->err, sizeof r->err);
}

static void run_in(result *r, const char *cwd, const char *const *args) {
  finish(r, "run", start("run", cwd, args));
}

#define RUN(r, ...)                                                            \
  do {                                                                         \
    const char *a_[] = {__VA_ARGS__, NULL};                                    \
    run_in(r, NULL, a_);                                                       \
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

#define CHECK_UTF8(text) CHECK(argus_utf8_valid((text), strlen(text)))

static int rm_cb(const char *path, const struct stat *sb, int flag,
                 struct FTW *ftw) {
  (void)sb;
  (void)flag;
  (void)ftw;
  return remove(path);
}

/* A new folder <tmp>/<name> for one database (each has its own crops). */
static void fresh_dir(char *buf, size_t size, const char *name) {
  snprintf(buf, size, "%s/%s", tmp, name);
  mkdir(buf, 0700);
}

static argus_store *open_store(const char *db) {
  argus_store_options so;
  memset(&so, 0, sizeof so);
  so.actor = "test:input";
  argus_store *s = NULL;
  argus_store_error se = {{0}};
  if (argus_store_open(db, &so, &s, &se) != ARGUS_OK)
    fprintf(stderr, "open %s: %s\n", db, se.msg);
  return s;
}

static int64_t count_persons(const char *db) {
  argus_store *s = open_store(db);
  if (!s)
    return -1;
  argus_store_person *l = NULL;
  size_t k = 0;
  argus_store_error se = {{0}};
  int64_t n = -1;
  if (argus_store_person_list(s, NULL, NULL, &l, &k, &se) == ARGUS_OK)
    n = (int64_t)k;
  argus_store_free(l);
  argus_store_close(s);
  return n;
}

/* Invalid UTF-8 of every kind the checker knows: a stray continuation
 * byte, a lone lead byte, an overlong '/', a surrogate, above U+10FFFF, and
 * 0xff. */
static const char *const bad_utf8[] = {
    "Bad\x80Name", "Bad\xc3", "Bad\xc0\xafName", "Bad\xed\xa0\x80Name",
    "Bad\xf4\x90\x80\x80Name", "Bad\xffName"};
#define NBAD (sizeof bad_utf8 / sizeof bad_utf8[0])

/* ---- the library: names --------------------------------------------------- */

static void test_store_utf8(void) {
  char dir[400], db[500];
  fresh_dir(dir, sizeof dir, "lib");
  snprintf(db, sizeof db, "%s/argus.db", dir);
  argus_store *s = open_store(db);
  CHECK(s != NULL);
  if (!s)
    return;
  argus_store_error err = {{0}};
  /* Valid UTF-8 beyond ASCII is fine everywhere. */
  const char *wl = "Gäste \xe6\x9d\xb1\xe4\xba\xac \xf0\x9f\x91\x80";
  CHECK_OK(argus_store_watchlist_create(s, wl, NAN, NULL, NULL, &err));
  argus_store_person_in ok = {"Zoë Ñandú", "zoë-1", "notes: café"};
  CHECK_OK(argus_store_person_add(s, wl, &ok, NULL, NULL, 0, NULL, &err));
  CHECK_OK(argus_store_camera_add(s, "Eingang Süd", "rtsp://h/ü", NULL, 1,
                                  NULL, &err));
  for (size_t i = 0; i < NBAD; i++) {
    const char *b = bad_utf8[i];
    CHECK_INT_EQ(argus_store_watchlist_create(s, b, NAN, NULL, NULL, &err),
                 ARGUS_E_INVALID_ARG);
    CHECK_HAS(err.msg, "watchlist name is not valid UTF-8");
    argus_store_person_in p1 = {b, NULL, NULL};
    CHECK_INT_EQ(argus_store_person_add(s, wl, &p1, NULL, NULL, 0, NULL, &err),
                 ARGUS_E_INVALID_ARG);
    CHECK_HAS(err.msg, "person name is not valid UTF-8");
    argus_store_person_in p2 = {"Fine", b, NULL};
    CHECK_INT_EQ(argus_store_person_add(s, wl, &p2, NULL, NULL, 0, NULL, &err),
                 ARGUS_E_INVALID_ARG);
    CHECK_HAS(err.msg, "external id is not valid UTF-8");
    argus_store_person_in p3 = {"Fine", NULL, b};
    CHECK_INT_EQ(argus_store_person_add(s, wl, &p3, NULL, NULL, 0, NULL, &err),
                 ARGUS_E_INVALID_ARG);
    CHECK_HAS(err.msg, "notes is not valid UTF-8");
    CHECK_INT_EQ(
        argus_store_camera_add(s, b, "rtsp://h/s", NULL, 1, NULL, &err),
        ARGUS_E_INVALID_ARG);
    CHECK_HAS(err.msg, "camera name is not valid UTF-8");
    CHECK_INT_EQ(argus_store_camera_add(s, "c", b, NULL, 1, NULL, &err),
                 ARGUS_E_INVALID_ARG);
    CHECK_HAS(err.msg, "camera url is not valid UTF-8");
  }
  /* Nothing of it was stored: one watchlist, one person, one camera. */
  argus_store_watchlist *w = NULL;
  size_t n = 0;
  CHECK_OK(argus_store_watchlist_list(s, &w, &n, &err));
  CHECK_INT_EQ(n, 1);
  argus_store_free(w);
  argus_store_person *pl = NULL;
  CHECK_OK(argus_store_person_list(s, NULL, NULL, &pl, &n, &err));
  CHECK_INT_EQ(n, 1);
  argus_store_free(pl);
  argus_store_camera *cl = NULL;
  CHECK_OK(argus_store_camera_list(s, &cl, &n, &err));
  CHECK_INT_EQ(n, 1);
  argus_store_free(cl);

  /* The look-ups beside: by external id, and a photo by its crop's hash. */
  argus_store_person got;
  int found = -1;
  CHECK_OK(argus_store_person_find_external(s, wl, "zoë-1", &got, &found,
                                            &err));
  CHECK_INT_EQ(found, 1);
  CHECK(strcmp(got.name, "Zoë Ñandú") == 0);
  CHECK_OK(argus_store_person_find_external(s, wl, "nobody", &got, &found,
                                            &err));
  CHECK_INT_EQ(found, 0);
  CHECK_OK(argus_store_person_find_external(s, "no such list", "zoë-1", NULL,
                                            &found, &err));
  CHECK_INT_EQ(found, 0);
  CHECK_INT_EQ(argus_store_person_find_external(s, wl, "Bad\xff", NULL, &found,
                                                &err),
               ARGUS_E_INVALID_ARG);
  unsigned char crop[64];
  for (int i = 0; i < 64; i++)
    crop[i] = (unsigned char)(i * 7 + 1);
  argus_store_photo_in ph = {crop, sizeof crop, 0.5f, "a.jpg", NULL};
  argus_store_person_in withphoto = {"Has Photo", NULL, NULL};
  argus_store_id pid = 0;
  CHECK_OK(
      argus_store_person_add(s, wl, &withphoto, NULL, &ph, 1, &pid, &err));
  char hash[65];
  argus_sha256_hex(crop, sizeof crop, hash);
  argus_store_photo photo;
  CHECK_OK(argus_store_photo_find_crop(s, wl, hash, &photo, &found, &err));
  CHECK_INT_EQ(found, 1);
  CHECK_INT_EQ(photo.person_id, pid);
  CHECK(strcmp(photo.source, "a.jpg") == 0);
  CHECK_OK(argus_store_photo_find_crop(s, NULL, hash, NULL, &found, &err));
  CHECK_INT_EQ(found, 1);
  CHECK_OK(argus_store_watchlist_create(s, "other", NAN, NULL, NULL, &err));
  CHECK_OK(argus_store_photo_find_crop(s, "other", hash, NULL, &found, &err));
  CHECK_INT_EQ(found, 0);
  hash[0] = hash[0] == '0' ? '1' : '0';
  CHECK_OK(argus_store_photo_find_crop(s, wl, hash, NULL, &found, &err));
  CHECK_INT_EQ(found, 0);
  CHECK_INT_EQ(argus_store_photo_find_crop(s, wl, "abc", NULL, &found, &err),
               ARGUS_E_INVALID_ARG);
  argus_store_close(s);
}

static void test_sanitize(void) {
  char out[16];
  CHECK_INT_EQ(argus_utf8_sanitize("Gäste", out, sizeof out), 0);
  CHECK(strcmp(out, "Gäste") == 0);
  CHECK_INT_EQ(argus_utf8_sanitize("a\xff" "b\xc0\xaf", out, sizeof out), 3);
  CHECK(strcmp(out, "a\xef\xbf\xbd" "b\xef\xbf\xbd\xef\xbf\xbd") == 0);
  CHECK_UTF8(out);
  for (size_t i = 0; i < NBAD; i++) {
    CHECK(argus_utf8_sanitize(bad_utf8[i], out, sizeof out) > 0);
    CHECK_UTF8(out);
  }
  /* Cut at a character boundary, never inside one. */
  CHECK_INT_EQ(argus_utf8_sanitize("\xe6\x9d\xb1\xe4\xba\xac", out, 6), 0);
  CHECK(strcmp(out, "\xe6\x9d\xb1") == 0);
  CHECK_INT_EQ(argus_utf8_sanitize("abc", out, 3), 0);
  CHECK(strcmp(out, "ab") == 0);
  CHECK_INT_EQ(argus_utf8_sanitize(NULL, out, sizeof out), 0);
  CHECK(out[0] == '\0');
  CHECK_INT_EQ(argus_utf8_sanitize("x", NULL, 4), 0);
  /* A long valid name cut into a smaller buffer stays valid. */
  char big[300], small[128];
  size_t n = 0;
  while (n + 2 < sizeof big) {
    memcpy(big + n, "\xc3\xa4", 2);
    n += 2;
  }
  big[n] = '\0';
  CHECK_INT_EQ(argus_utf8_sanitize(big, small, sizeof small), 0);
  CHECK_INT_EQ(strlen(small), 126);
  CHECK_UTF8(small);
}

/* ---- the library: camera settings ------------------------------------------ */

static void test_settings_schema(void) {
  argus_store_camera_settings cs;
  argus_store_error err = {{0}};
  CHECK_OK(argus_store_camera_settings_parse("c", NULL, &cs, &err));
  CHECK(cs.fps == 0 && cs.rtsp_udp == -1);
  CHECK_OK(argus_store_camera_settings_parse("c", "{}", &cs, &err));
  CHECK(cs.fps == 0 && cs.rtsp_udp == -1);
  CHECK_OK(argus_store_camera_settings_parse(
      "c", "{\"fps\": 5, \"rtsp_transport\": \"tcp\"}", &cs, &err));
  CHECK(cs.fps == 5 && cs.rtsp_udp == 0);
  CHECK_OK(argus_store_camera_settings_parse(
      "c", " {\"rtsp_transport\":\"udp\", \"fps\": 0.5} ", &cs, &err));
  CHECK(cs.fps == 0.5 && cs.rtsp_udp == 1);
  CHECK_OK(argus_store_camera_settings_parse(
      "c", "{\"fps\": null, \"rtsp_transport\": null}", &cs, &err));
  CHECK(cs.fps == 0 && cs.rtsp_udp == -1);
  CHECK_OK(argus_store_camera_settings_parse("c", "{\"fps\": 1000}", &cs, &err));
  CHECK(cs.fps == 1000);

  static const struct {
    const char *json, *why;
  } bad[] = {
      {"{\"fps\": \"abc\"}", "\"fps\" must be a number in (0, 1000], not a "
                             "string"},
      {"{\"fps\": \"5\"}", "\"fps\" must be a number"},
      {"{\"fps\": true}", "not a boolean"},
      {"{\"fps\": 0}", "\"fps\" must be a number in (0, 1000], not 0"},
      {"{\"fps\": -3}", "\"fps\" must be a number"},
      {"{\"fps\": 1000.5}", "\"fps\" must be a number"},
      {"{\"fps\": 1e999}", "\"fps\" must be a number"},
      {"{\"fps\": [5]}", "not an array"},
      {"{\"rtsp_transport\": \"http\"}",
       "\"rtsp_transport\" must be \"tcp\" or \"udp\", not \"http\""},
      {"{\"rtsp_transport\": \"TCP\"}", "\"rtsp_transport\" must be"},
      {"{\"rtsp_transport\": 1}", "not a number"},
      {"{\"fpz\": 5}", "unknown key \"fpz\" (known: \"fps\", "
                       "\"rtsp_transport\", \"policy\")"},
      {"{\"fps\": 5, \"tcp\": true}", "unknown key \"tcp\""},
      {"{\"fps\": 5, \"fps\": 6}", "\"fps\" is given twice"},
      {"[1]", "expected a JSON object"},
      {"{\"fps\": 05}", "invalid JSON"},
      {"{\"fps\": 5", "invalid JSON"},
      {"{\"x\": \"\xff\"}", "invalid UTF-8"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    err.msg[0] = '\0';
    CHECK_INT_EQ(argus_store_camera_settings_parse("lobby", bad[i].json, &cs,
                                                   &err),
                 ARGUS_E_INVALID_ARG);
    CHECK_HAS(err.msg, "camera 'lobby': settings");
    CHECK_HAS(err.msg, bad[i].why);
    CHECK(cs.fps == 0 && cs.rtsp_udp == -1);
  }
  CHECK_INT_EQ(argus_store_camera_settings_parse("c", "{}", NULL, &err),
               ARGUS_E_INVALID_ARG);
}

/* ---- the CLI without models ------------------------------------------------ */

static void test_cli_names(void) {
  static result r;
  char dir[400], db[500];
  fresh_dir(dir, sizeof dir, "cli");
  snprintf(db, sizeof db, "%s/argus.db", dir);
  for (size_t i = 0; i < NBAD; i++) {
    const char *b = bad_utf8[i];
    RUN(&r, "watchlist", "create", b, "--db", db);
    CHECK_INT_EQ(r.status, 2);
    CHECK_HAS(r.err, "NAME is not valid UTF-8");
    RUN(&r, "camera", "add", b, "rtsp://h/s", "--db", db);
    CHECK_INT_EQ(r.status, 2);
    CHECK_HAS(r.err, "NAME is not valid UTF-8");
    RUN(&r, "camera", "add", "cam", b, "--db", db);
    CHECK_INT_EQ(r.status, 2);
    CHECK_HAS(r.err, "URL is not valid UTF-8");
    /* Refused before any model or photo is read. */
    RUN(&r, "person", "add", "--watchlist", "vip", "--name", b, "/x.jpg",
        "--db", db);
    CHECK_INT_EQ(r.status, 2);
    CHECK_HAS(r.err, "--name is not valid UTF-8");
    RUN(&r, "person", "add", "--watchlist", b, "--name", "N", "/x.jpg",
        "--db", db);
    CHECK_INT_EQ(r.status, 2);
    CHECK_HAS(r.err, "--watchlist is not valid UTF-8");
    RUN(&r, "person", "add", "--watchlist", "vip", "--name", "N",
        "--external-id", b, "/x.jpg", "--db", db);
    CHECK_INT_EQ(r.status, 2);
    CHECK_HAS(r.err, "--external-id is not valid UTF-8");
    RUN(&r, "person", "add", "--watchlist", "vip", "--name", "N", "--notes",
        b, "/x.jpg", "--db", db);
    CHECK_INT_EQ(r.status, 2);
    CHECK_HAS(r.err, "--notes is not valid UTF-8");
    char path[64];
    snprintf(path, sizeof path, "/tmp/%s.jpg", b);
    RUN(&r, "person", "add", "--watchlist", "vip", "--name", "N", path,
        "--db", db);
    CHECK_INT_EQ(r.status, 2);
    CHECK_HAS(r.err, "photo's path (stored as its source) is not valid UTF-8");
    RUN(&r, "import", "--watchlist", b, dir, "--db", db);
    CHECK_INT_EQ(r.status, 2);
    CHECK_HAS(r.err, "--watchlist is not valid UTF-8");
  }
  /* Refused before the database is made. */
  CHECK(access(db, F_OK) != 0);
  RUN(&r, "watchlist", "create", "Gäste", "--db", db);
  CHECK_INT_EQ(r.status, 0);
  RUN(&r, "watchlist", "list", "--json", "--db", db);
  CHECK_INT_EQ(r.status, 0);
  CHECK_HAS(r.out, "\"name\":\"Gäste\"");
}

static void test_cli_camera(void) {
  static result r;
  char dir[400], db[500];
  fresh_dir(dir, sizeof dir, "cam");
  snprintf(db, sizeof db, "%s/argus.db", dir);
  static const struct {
    const char *settings, *why;
  } bad[] = {
      {"{\"fps\":\"abc\"}", "\"fps\" must be a number in (0, 1000]"},
      {"{\"fps\":0}", "\"fps\" must be a number in (0, 1000]"},
      {"{\"fps\":5,\"foo\":1}", "unknown key \"foo\""},
      {"{\"rtsp_transport\":\"http\"}", "\"rtsp_transport\" must be"},
      {"{\"fps\":5,\"fps\":6}", "given twice"},
      {"[]", "expected a JSON object"},
      {"{fps:5}", "invalid JSON"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    RUN(&r, "camera", "add", "door", "rtsp://h/door", "--settings",
        bad[i].settings, "--db", db);
    CHECK_INT_EQ(r.status, 2);
    CHECK_HAS(r.err, "--settings: camera 'door': settings");
    CHECK_HAS(r.err, bad[i].why);
  }
  CHECK(access(db, F_OK) != 0);
  /* The help's own example is accepted, and kept. */
  RUN(&r, "camera", "add", "--help");
  CHECK_HAS(r.out, "{\"fps\": 5, \"rtsp_transport\": \"tcp\"}");
  RUN(&r, "camera", "add", "door", "rtsp://u:pw@h/door", "--settings",
      "{\"fps\": 5, \"rtsp_transport\": \"tcp\"}", "--db", db);
  CHECK_INT_EQ(r.status, 0);
  RUN(&r, "camera", "add", "yard", "rtsp://h/yard", "--settings",
      "{\"rtsp_transport\":\"udp\"}", "--db", db);
  CHECK_INT_EQ(r.status, 0);

  /* A relative file path is stored absolute: relative to where `camera
   * add` ran, not to where `watch` will run. */
  char sub[500], clip[600], want[1200];
  snprintf(sub, sizeof sub, "%s/videos", dir);
  mkdir(sub, 0700);
  snprintf(clip, sizeof clip, "%s/clip.mp4", sub);
  FILE *f = fopen(clip, "w");
  if (f)
    fclose(f);
  char *real = realpath(sub, NULL);
  CHECK(real != NULL);
  {
    const char *a[] = {"camera", "add", "file", "./clip.mp4", "--db", db, NULL};
    run_in(&r, sub, a);
  }
  CHECK_INT_EQ(r.status, 0);
  snprintf(want, sizeof want, "\"url\":\"%s/clip.mp4\"", real ? real : "?");
  {
    /* Also a file that does not exist yet. */
    const char *a[] = {"camera", "add", "later", "later.mp4", "--db", db, NULL};
    run_in(&r, sub, a);
  }
  CHECK_INT_EQ(r.status, 0);
  char want2[1200];
  snprintf(want2, sizeof want2, "\"url\":\"%s/later.mp4\"", real ? real : "?");
  free(real);
  RUN(&r, "camera", "list", "--json", "--db", db);
  CHECK_INT_EQ(r.status, 0);
  CHECK_HAS(r.out, want);
  CHECK_HAS(r.out, want2);
  CHECK_HAS(r.out, "\"url\":\"rtsp://u:***@h/door\"");

  /* What `argus watch` reads back from the store: the settings parse to
   * the documented values. */
  argus_store *s = open_store(db);
  CHECK(s != NULL);
  if (s) {
    argus_store_error err = {{0}};
    argus_store_camera c;
    argus_store_camera_settings cs;
    CHECK_OK(argus_store_camera_get(s, "yard", &c, &err));
    CHECK_OK(argus_store_camera_settings_parse(c.name, c.settings, &cs, &err));
    CHECK_INT_EQ(cs.rtsp_udp, 1);
    CHECK_OK(argus_store_camera_get(s, "door", &c, &err));
    CHECK_OK(argus_store_camera_settings_parse(c.name, c.settings, &cs, &err));
    CHECK_INT_EQ(cs.rtsp_udp, 0);
    CHECK(cs.fps == 5);
    /* And what `argus watch` resolves them to. */
    const char *names[] = {"yard", "door", "file", "rtsp://h/direct"};
    argus_store_camera_source *src = NULL;
    size_t n = 0;
    CHECK_OK(argus_store_camera_resolve(s, names, NULL, 4, &src, &n, &err));
    CHECK_INT_EQ(n, 4);
    if (n == 4) {
      CHECK_INT_EQ(src[0].rtsp_udp, 1);
      CHECK_INT_EQ(src[1].rtsp_udp, 0);
      CHECK(src[1].fps == 5);
      CHECK_INT_EQ(src[2].rtsp_udp, -1);
      CHECK_INT_EQ(src[3].rtsp_udp, -1);
    }
    argus_store_free(src);
    /* A direct source whose path is not UTF-8: its name (which alerts
     * store) is made valid, its URL keeps the bytes that open the file. */
    char raw[700];
    snprintf(raw, sizeof raw, "%s/clip\xff.mp4", sub);
    FILE *rf = fopen(raw, "w");
    if (rf)
      fclose(rf);
    const char *direct[] = {raw};
    CHECK_OK(argus_store_camera_resolve(s, direct, NULL, 1, &src, &n, &err));
    CHECK_INT_EQ(n, 1);
    if (n == 1) {
      CHECK(strcmp(src[0].url, raw) == 0);
      CHECK_UTF8(src[0].name);
      CHECK_HAS(src[0].name, "clip\xef\xbf\xbd.mp4");
    }
    argus_store_free(src);
    const char *label[] = {"Hof \xff"};
    CHECK_OK(argus_store_camera_resolve(s, direct, label, 1, &src, &n, &err));
    if (n == 1)
      CHECK(strcmp(src[0].name, "Hof \xef\xbf\xbd") == 0);
    argus_store_free(src);
    /* A bad transport stored through the library (which checks only that
     * settings are an object) is an error naming the camera at watch
     * time, not a silent TCP. */
    CHECK_OK(argus_store_camera_add(s, "odd", "rtsp://h/odd",
                                    "{\"rtsp_transport\": \"http\"}", 1, NULL,
                                    &err));
    const char *odd[] = {"odd"};
    CHECK_INT_EQ(argus_store_camera_resolve(s, odd, NULL, 1, &src, &n, &err),
                 ARGUS_E_INVALID_ARG);
    CHECK_HAS(err.msg, "camera 'odd': settings: \"rtsp_transport\"");
    argus_store_close(s);
  }
}

/* ---- the CLI with models and photos --------------------------------------- */

/* Links `src` as <dir>/<name>. */
static void link_as(const char *src, const char *dir, const char *name) {
  char dst[1400];
  snprintf(dst, sizeof dst, "%s/%s", dir, name);
  CHECK(symlink(src, dst) == 0);
}

static void test_cli_import_utf8(void) {
  static result r;
  char dir[400], db[500], people[500], sub[700], src[1400];
  fresh_dir(dir, sizeof dir, "imp8");
  snprintf(db, sizeof db, "%s/argus.db", dir);
  snprintf(people, sizeof people, "%s/people", dir);
  mkdir(people, 0700);
  snprintf(sub, sizeof sub, "%s/Joe_Biden", people);
  mkdir(sub, 0700);
  snprintf(src, sizeof src, "%s/examples/biden.jpg", stills);
  link_as(src, sub, "biden.jpg");
  snprintf(sub, sizeof sub, "%s/Barack\xff_Obama", people);
  mkdir(sub, 0700);
  snprintf(src, sizeof src, "%s/tests/test_images/obama.jpg", stills);
  link_as(src, sub, "obama.jpg");
  RUN(&r, "watchlist", "create", "vip", "--db", db);
  CHECK_INT_EQ(r.status, 0);
  RUN(&r, "import", "--watchlist", "vip", people, "--json", "--db", db);
  CHECK_INT_EQ(r.status, 1); /* a person could not be stored */
  CHECK_UTF8(r.out);
  CHECK_HAS(r.out, "\"persons_enrolled\":1");
  CHECK_HAS(r.out, "\"persons_failed\":1");
  CHECK_HAS(r.out, "not valid UTF-8");
  CHECK_HAS(r.err, "not valid UTF-8");
  CHECK_INT_EQ(count_persons(db), 1);
  RUN(&r, "person", "list", "--json", "--db", db);
  CHECK_INT_EQ(r.status, 0);
  CHECK_UTF8(r.out);
  CHECK_HAS(r.out, "\"name\":\"Joe Biden\"");
  CHECK_LACKS(r.out, "Obama");
}

static void test_cli_duplicates(void) {
  static result r;
  char dir[400], db[500], obama[1200], obama2[1200], obama3[1200],
      copy[600];
  fresh_dir(dir, sizeof dir, "dup");
  snprintf(db, sizeof db, "%s/argus.db", dir);
  snprintf(obama, sizeof obama, "%s/tests/test_images/obama.jpg", stills);
  snprintf(obama2, sizeof obama2, "%s/tests/test_images/obama2.jpg", stills);
  snprintf(obama3, sizeof obama3, "%s/tests/test_images/obama3.jpg", stills);
  /* A byte copy under another name (not a link: the same bytes). */
  snprintf(copy, sizeof copy, "%s/copy-of-obama2.jpg", dir);
  {
    FILE *in = fopen(obama2, "rb"), *out = fopen(copy, "wb");
    CHECK(in && out);
    char buf[65536];
    size_t n;
    while (in && out && (n = fread(buf, 1, sizeof buf, in)) > 0)
      fwrite(buf, 1, n, out);
    if (in)
      fclose(in);
    if (out)
      fclose(out);
  }
  RUN(&r, "watchlist", "create", "vip", "--db", db);
  RUN(&r, "watchlist", "create", "staff", "--db", db);
  RUN(&r, "person", "add", "--watchlist", "vip", "--name", "Barack Obama",
      obama, "--db", db);
  CHECK_INT_EQ(r.status, 0);
  CHECK_LACKS(r.err, "warning");

  /* The same photo again: for another person, and for the same one. */
  RUN(&r, "person", "add", "--watchlist", "vip", "--name", "Someone Else",
      obama, "--db", db);
  CHECK_INT_EQ(r.status, 1);
  CHECK_HAS(r.err, "this photo is already enrolled in watchlist 'vip' "
                   "(person 'Barack Obama'");
  CHECK_HAS(r.err, "nothing stored");
  RUN(&r, "person", "add", "--watchlist", "vip", "--name", "Barack Obama",
      obama3, obama, "--db", db);
  CHECK_INT_EQ(r.status, 1);
  CHECK_HAS(r.err, "already enrolled");
  CHECK_INT_EQ(count_persons(db), 1);
  /* Twice in one command. */
  RUN(&r, "person", "add", "--watchlist", "vip", "--name", "Twice", obama2,
      copy, "--db", db);
  CHECK_INT_EQ(r.status, 1);
  CHECK_HAS(r.err, "copy-of-obama2.jpg: the same photo as");
  CHECK_INT_EQ(count_persons(db), 1);
  /* Another watchlist may hold the same photo. */
  RUN(&r, "person", "add", "--watchlist", "staff", "--name", "Barack Obama",
      obama, "--db", db);
  CHECK_INT_EQ(r.status, 0);
  CHECK_LACKS(r.err, "warning");

  /* The same name with another photo: enrolled, with a warning. */
  RUN(&r, "person", "add", "--watchlist", "vip", "--name", "Barack Obama",
      obama2, "--json", "--db", db);
  CHECK_INT_EQ(r.status, 0);
  CHECK_HAS(r.err, "warning: watchlist 'vip' already has 1 person named "
                   "'Barack Obama'");
  CHECK_HAS(r.out, "\"warning\":\"watchlist 'vip' already has 1 person "
                   "named 'Barack Obama'");
  CHECK_INT_EQ(count_persons(db), 3);
  RUN(&r, "person", "add", "--watchlist", "vip", "--name", "Barack Obama",
      obama3, "--db", db);
  CHECK_INT_EQ(r.status, 0);
  CHECK_HAS(r.err, "already has 2 persons named 'Barack Obama'");
}

/* The deterministic race: the progress callback, at START (after the
 * import listed the watchlist), stores the first person from another store
 * handle, as a second `argus import` would. */
typedef struct race {
  const char *db;
  int stored;
} race;

static int store_first(void *user, const argus_import_event *ev) {
  race *rc = user;
  if (ev->kind != ARGUS_IMPORT_EVENT_START || rc->stored)
    return 0;
  argus_store *s = open_store(rc->db);
  if (!s)
    return 0;
  argus_store_person_in p = {ev->summary->persons[0].name,
                             ev->summary->persons[0].folder, NULL};
  argus_store_error err = {{0}};
  if (argus_store_person_add(s, "vip", &p, NULL, NULL, 0, NULL, &err) ==
      ARGUS_OK)
    rc->stored = 1;
  else
    fprintf(stderr, "store_first: %s\n", err.msg);
  argus_store_close(s);
  return 0;
}

static void test_import_race_library(void) {
  char dir[400], db[500], people[500], sub[700], src[1400];
  fresh_dir(dir, sizeof dir, "race");
  snprintf(db, sizeof db, "%s/argus.db", dir);
  snprintf(people, sizeof people, "%s/people", dir);
  mkdir(people, 0700);
  static const char *const who[] = {"Aaron_Eckhart", "Aaron_Sorkin"};
  for (int i = 0; i < 2; i++) {
    snprintf(sub, sizeof sub, "%s/%s", people, who[i]);
    mkdir(sub, 0700);
    snprintf(src, sizeof src, "%s/%s/%s_0001.jpg", lfw, who[i], who[i]);
    link_as(src, sub, "1.jpg");
  }
  argus_face_engine_opts eo;
  memset(&eo, 0, sizeof eo);
  eo.models_dir = models;
  argus_face_engine *eng = NULL;
  argus_face_error fe = {{0}};
  CHECK_OK(argus_face_engine_create(&eo, &eng, &fe));
  argus_store *s = open_store(db);
  argus_store_error se = {{0}};
  CHECK(s != NULL);
  if (!eng || !s) {
    argus_store_close(s);
    argus_face_engine_free(eng);
    return;
  }
  CHECK_OK(argus_store_watchlist_create(s, "vip", NAN, NULL, NULL, &se));
  argus_gallery_config cfg;
  argus_gallery_error err = {{0}};
  CHECK_OK(argus_gallery_config_from_card(
      argus_face_engine_card(eng, ARGUS_FACE_MODEL_EMBEDDER), &cfg, &err));
  argus_gallery *g = NULL;
  CHECK_OK(argus_gallery_open(s, &cfg, &g, &err));
  argus_import_options o;
  argus_import_options_default(&o);
  o.enrol.aligned = 1;
  o.threads = 1;
  race rc = {db, 0};
  argus_import_summary st;
  if (g) {
    CHECK_OK(argus_gallery_import(g, eng, "vip", people, &o, store_first, &rc,
                                  &st, &err));
    CHECK_INT_EQ(rc.stored, 1);
    CHECK_INT_EQ(st.persons_total, 2);
    CHECK_INT_EQ(st.persons_failed, 0);
    CHECK_INT_EQ(st.persons_skipped, 1);
    CHECK_INT_EQ(st.persons_enrolled, 1);
    if (st.persons_total == 2) {
      CHECK_INT_EQ(st.persons[0].status, ARGUS_IMPORT_SKIPPED);
      CHECK_HAS(st.persons[0].message, "enrolled meanwhile");
      CHECK_INT_EQ(st.persons[1].status, ARGUS_IMPORT_ENROLLED);
    }
    argus_import_summary_free(&st);
  }
  argus_gallery_close(g);
  argus_store_close(s);
  argus_face_engine_free(eng);
  CHECK_INT_EQ(count_persons(db), 2);
}

/* Reads "\"key\":N" from a JSON text; -1 when absent. */
static long json_int(const char *text, const char *key) {
  char k[64];
  snprintf(k, sizeof k, "\"%s\":", key);
  const char *p = strstr(text, k);
  return p ? strtol(p + strlen(k), NULL, 10) : -1;
}

/* Two `argus import` processes at once on one folder: every person is
 * stored once, and each process counts it enrolled or skipped, never
 * failed. */
static void test_import_race_cli(void) {
  static result a, b;
  char dir[400], db[500], people[500], sub[700], src[1400];
  fresh_dir(dir, sizeof dir, "race2");
  snprintf(db, sizeof db, "%s/argus.db", dir);
  snprintf(people, sizeof people, "%s/people", dir);
  mkdir(people, 0700);
  static const char *const who[] = {"Aaron_Eckhart", "Aaron_Guiel",
                                    "Aaron_Patterson", "Aaron_Peirsol",
                                    "Aaron_Pena", "Aaron_Sorkin"};
  const int n = (int)(sizeof who / sizeof who[0]);
  for (int i = 0; i < n; i++) {
    snprintf(sub, sizeof sub, "%s/%s", people, who[i]);
    mkdir(sub, 0700);
    snprintf(src, sizeof src, "%s/%s/%s_0001.jpg", lfw, who[i], who[i]);
    link_as(src, sub, "1.jpg");
  }
  RUN(&a, "watchlist", "create", "vip", "--db", db);
  CHECK_INT_EQ(a.status, 0);
  for (int round = 0; round < 2; round++) {
    const char *args[] = {"import",  "--watchlist", "vip", people, "--aligned",
                          "--json",  "--threads",   "1",   "--db", db,
                          NULL};
    pid_t pa = start("race-a", NULL, args);
    pid_t pb = start("race-b", NULL, args);
    finish(&a, "race-a", pa);
    finish(&b, "race-b", pb);
    CHECK_INT_EQ(a.status, 0);
    CHECK_INT_EQ(b.status, 0);
    CHECK_INT_EQ(json_int(a.out, "persons_failed"), 0);
    CHECK_INT_EQ(json_int(b.out, "persons_failed"), 0);
    CHECK_LACKS(a.err, "not stored");
    CHECK_LACKS(b.err, "not stored");
    long ea = json_int(a.out, "persons_enrolled"),
         eb = json_int(b.out, "persons_enrolled"),
         ka = json_int(a.out, "persons_skipped"),
         kb = json_int(b.out, "persons_skipped");
    if (round == 0) {
      CHECK_INT_EQ(ea + eb, n);
      CHECK_INT_EQ(ka + kb, n);
    } else { /* everything known at the start: skipped by both */
      CHECK_INT_EQ(ea + eb, 0);
      CHECK_INT_EQ(ka, n);
      CHECK_INT_EQ(kb, n);
    }
    CHECK_INT_EQ(count_persons(db), n);
  }
}

int main(void) {
  cli = getenv("ARGUS_CLI");
  if (!cli || access(cli, X_OK) != 0)
    SKIP("ARGUS_CLI is not set to the argus binary");
  models = getenv("ARGUS_MODELS_DIR");
  const char *shared = getenv("ARGUS_SHARED_DATA");
  snprintf(lfw, sizeof lfw, "%s/lfw-112/images",
           shared ? shared : "../shared/data");
  snprintf(stills, sizeof stills, "%s/stills/face_recognition_examples",
           shared ? shared : "../shared/data");
  char probe[1400];
  snprintf(probe, sizeof probe, "%s/Aaron_Sorkin/Aaron_Sorkin_0001.jpg", lfw);
  have_lfw = access(probe, R_OK) == 0;
  snprintf(probe, sizeof probe, "%s/tests/test_images/obama3.jpg", stills);
  have_stills = access(probe, R_OK) == 0;
  if (models) {
    argus_face_engine_opts eo;
    memset(&eo, 0, sizeof eo);
    eo.models_dir = models;
    argus_face_engine *eng = NULL;
    argus_face_error fe = {{0}};
    have_models = argus_face_engine_create(&eo, &eng, &fe) == ARGUS_OK;
    argus_face_engine_free(eng);
  }
  snprintf(tmp, sizeof tmp, "/tmp/argus-test-input-XXXXXX");
  if (!mkdtemp(tmp)) {
    perror("mkdtemp");
    return 1;
  }
  test_store_utf8();
  test_sanitize();
  test_settings_schema();
  test_cli_names();
  test_cli_camera();
  if (have_models && have_stills) {
    test_cli_import_utf8();
    test_cli_duplicates();
  } else {
    fprintf(stderr, "note: models or %s absent: enrolment parts skipped\n",
            stills);
  }
  if (have_models && have_lfw) {
    test_import_race_library();
    test_import_race_cli();
  } else {
    fprintf(stderr, "note: models or %s absent: import races skipped\n", lfw);
  }
  nftw(tmp, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
  return check_report("test_input_cli");
}
