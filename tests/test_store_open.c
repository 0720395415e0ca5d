/* Opening the store (issue 10), each a regression test of a defect:
 *   - an empty (0-byte) file at --db: a reader says "is empty: not an argus
 *     database yet" and writes nothing (it used to write a schema into it
 *     and then complain about the crop folder); a writer makes a new
 *     database of it (mode 0600) and says nothing else;
 *   - a missing folder for an explicit --db: a writer fails naming the
 *     folder and makes none (it used to create it silently); the default
 *     path's folder is still made (documented);
 *   - a read-only -shm left by a reader of a database it could not write
 *     (mode 0400): once the database file is writable again, a writer
 *     works (it used to fail with "attempt to write a readonly database").
 *     Run as an unprivileged user (root ignores file modes: as root the
 *     commands run as uid/gid 65534);
 *   - readers take no write lock: while another connection holds a write
 *     transaction (BEGIN IMMEDIATE), `argus alert list`, `watchlist list`,
 *     `person list`, `camera list` and `audit` answer at once, and
 *     argus_store_open (read_only, and a writer's open with nothing to
 *     write) does not wait for the lock;
 *   - an alert's event id: a second insert with the same event id stores
 *     nothing and returns the stored alert's id; a reader's open of a
 *     database of schema version 2 upgrades it once.
 * Runs the binary CTest names in ARGUS_CLI.
 *
 * With ARGUS_TEST_STORE=postgres (test_store_open_pg) the parts that are
 * not about files run on a throwaway PostgreSQL cluster (tests/pg_util.h),
 * the data folder given by ARGUS_DATA_DIR: an empty database, the reader's
 * upgrade, the event id, and readers beside a writer that holds the
 * writers' advisory lock. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "argus/core.h"
#include "argus/store.h"
#include "check.h"
#include "pg_util.h"

static pg_cluster g_pgc;
static const pg_cluster *g_pg;

static const char *cli;
static char tmp[256];
static uid_t run_uid = (uid_t)-1; /* set: children run as this uid/gid */

typedef struct result {
  int status; /* exit code, or 128 + signal */
  double seconds;
  char out[65536];
  char err[65536];
} result;

static double now_s(void) { return (double)argus_time_ns() * 1e-9; }

static void slurp(const char *path, char *buf, size_t size) {
  buf[0] = '\0';
  FILE *f = fopen(path, "rb");
  if (!f)
    return;
  size_t n = fread(buf, 1, size - 1, f);
  buf[n] = '\0';
  fclose(f);
}

/* Runs argus with the NULL-terminated arguments (as run_uid when set);
 * stdout and stderr go to files that are read back into r. */
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
  double t0 = now_s();
  pid_t pid = fork();
  if (pid == 0) {
    int fo = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0666);
    int fe = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0666);
    if (fo < 0 || fe < 0 || dup2(fo, 1) < 0 || dup2(fe, 2) < 0)
      _exit(126);
    if (run_uid != (uid_t)-1 &&
        (setgid((gid_t)run_uid) != 0 || setuid(run_uid) != 0))
      _exit(125);
    execv(cli, (char *const *)argv);
    _exit(127);
  }
  int st = 0;
  r->status = -1;
  if (pid > 0 && waitpid(pid, &st, 0) == pid)
    r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  r->seconds = now_s() - t0;
  slurp(out, r->out, sizeof r->out);
  slurp(err, r->err, sizeof r->err);
}

#define ARGUS(r, ...)                                                          \
  do {                                                                         \
    const char *a_[] = {__VA_ARGS__, NULL};                                    \
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

#define CHECK_LACKS(hay, needle)                                               \
  do {                                                                         \
    check_count_++;                                                            \
    if (strstr((hay), (needle))) {                                             \
      fprintf(stderr, "%s:%d: '%s' unexpected in %s:\n%s\n", __FILE__,         \
              __LINE__, (needle), #hay, (hay));                                \
      check_failures_++;                                                       \
    }                                                                          \
  } while (0)

static long long file_size(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

static int exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0;
}

/* A fresh folder under tmp (owned by run_uid when set). */
static void fresh_dir(char *buf, size_t cap, const char *name) {
  snprintf(buf, cap, "%s/%s", tmp, name);
  if (mkdir(buf, 0700) != 0)
    perror(buf);
  if (run_uid != (uid_t)-1 && chown(buf, run_uid, (gid_t)run_uid) != 0)
    perror(buf);
}

/* ---- an empty file --------------------------------------------------------
 */

static void test_empty_file(void) {
  char dir[300], path[400], crops[400];
  fresh_dir(dir, sizeof dir, "empty");
  snprintf(path, sizeof path, "%s/e.db", dir);
  snprintf(crops, sizeof crops, "%s/crops", dir);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  CHECK(fd >= 0);
  if (fd >= 0)
    close(fd);
  if (run_uid != (uid_t)-1 && chown(path, run_uid, (gid_t)run_uid) != 0)
    perror(path);

  /* Readers: a clear error, and the file stays empty. */
  static result r;
  ARGUS(&r, "watchlist", "list", "--db", path);
  CHECK_INT_EQ(r.status, 1);
  CHECK_HAS(r.err, "is empty: not an argus database yet");
  CHECK_LACKS(r.err, "crop folder");
  ARGUS(&r, "alert", "list", "--db", path);
  CHECK_INT_EQ(r.status, 1);
  CHECK_HAS(r.err, "is empty: not an argus database yet");
  CHECK_INT_EQ(file_size(path), 0);
  CHECK(!exists(crops));
  argus_store *s = NULL;
  argus_store_error err = {{0}};
  argus_store_options ro = {.read_only = 1};
  CHECK_INT_EQ(argus_store_open(path, &ro, &s, &err), ARGUS_E_CORRUPT);
  CHECK(s == NULL);
  CHECK_INT_EQ(file_size(path), 0);

  /* A writer: a new database, private, and nothing misleading said. */
  ARGUS(&r, "watchlist", "create", "vip", "--db", path);
  CHECK_INT_EQ(r.status, 0);
  CHECK_HAS(r.out, "created watchlist 'vip'");
  CHECK_INT_EQ(strlen(r.err), 0);
  struct stat st;
  CHECK(stat(path, &st) == 0 && st.st_size > 0);
  CHECK_INT_EQ(st.st_mode & 0777, 0600);
  ARGUS(&r, "watchlist", "list", "--db", path);
  CHECK_INT_EQ(r.status, 0);
  CHECK_HAS(r.out, "vip");
}

/* PostgreSQL: an empty database is what an empty file is to SQLite. */
static void test_empty_database(void) {
  char dir[300], path[400], crops[400], url[160];
  fresh_dir(dir, sizeof dir, "empty-pg");
  snprintf(path, sizeof path, "%s/e.db", dir);
  snprintf(crops, sizeof crops, "%s/crops", dir);
  CHECK_INT_EQ(pg_db_for_path(g_pg, path, 1, url, sizeof url), 0);
  setenv("ARGUS_DATA_DIR", dir, 1);
  static const char tables[] =
      "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()";
  static result r;
  ARGUS(&r, "watchlist", "list", "--db", url);
  CHECK_INT_EQ(r.status, 1);
  CHECK_HAS(r.err, "is empty: not an argus database yet");
  CHECK_LACKS(r.err, "crop folder");
  CHECK_INT_EQ(pg_int_url(url, tables), 0);
  CHECK(!exists(crops));
  argus_store *s = NULL;
  argus_store_error err = {{0}};
  argus_store_options ro = {.read_only = 1};
  CHECK_INT_EQ(argus_store_open(url, &ro, &s, &err), ARGUS_E_CORRUPT);
  CHECK(s == NULL);
  CHECK_INT_EQ(pg_int_url(url, tables), 0);
  ARGUS(&r, "watchlist", "create", "vip", "--db", url);
  CHECK_INT_EQ(r.status, 0);
  CHECK_HAS(r.out, "created watchlist 'vip'");
  CHECK_INT_EQ(strlen(r.err), 0);
  CHECK(pg_int_url(url, tables) > 5);
  ARGUS(&r, "watchlist", "list", "--db", url);
  CHECK_INT_EQ(r.status, 0);
  CHECK_HAS(r.out, "vip");
  /* Without a data folder: a clear error. */
  unsetenv("ARGUS_DATA_DIR");
  ARGUS(&r, "watchlist", "list", "--db", url);
  CHECK_INT_EQ(r.status, 1);
  CHECK_HAS(r.err, "ARGUS_DATA_DIR");
}

/* ---- a missing folder ----------------------------------------------------
 */

static void test_missing_folder(void) {
  char path[400], dir[400], top[400];
  snprintf(top, sizeof top, "%s/no", tmp);
  snprintf(dir, sizeof dir, "%s/no/such", tmp);
  snprintf(path, sizeof path, "%s/no/such/x.db", tmp);
  static result r;
  ARGUS(&r, "watchlist", "create", "x", "--db", path);
  CHECK_INT_EQ(r.status, 1);
  char want[500];
  snprintf(want, sizeof want, "folder '%s' does not exist", dir);
  CHECK_HAS(r.err, want);
  CHECK(!exists(top));

  argus_store *s = NULL;
  argus_store_error err = {{0}};
  CHECK_INT_EQ(argus_store_open(path, NULL, &s, &err), ARGUS_E_NOT_FOUND);
  CHECK_HAS(err.msg, want);
  CHECK(!exists(top));

  /* The default path's folder is made, as documented. */
  char xdg[400], def[500];
  snprintf(xdg, sizeof xdg, "%s/xdg", tmp);
  snprintf(def, sizeof def, "%s/argus/argus.db", xdg);
  const char *old = getenv("XDG_DATA_HOME");
  char saved[4096] = "";
  if (old)
    snprintf(saved, sizeof saved, "%s", old);
  setenv("XDG_DATA_HOME", xdg, 1);
  CHECK_OK(argus_store_open(NULL, NULL, &s, &err));
  argus_store_close(s);
  CHECK(exists(def));
  if (old)
    setenv("XDG_DATA_HOME", saved, 1);
  else
    unsetenv("XDG_DATA_HOME");
}

/* ---- a stale read-only -shm ----------------------------------------------
 */

static void test_stale_shm(void) {
  if (geteuid() == 0)
    run_uid = 65534; /* file modes bind only an unprivileged user */
  char dir[300], path[400], shm[420];
  fresh_dir(dir, sizeof dir, "shm");
  snprintf(path, sizeof path, "%s/s.db", dir);
  snprintf(shm, sizeof shm, "%s-shm", path);
  static result r;
  ARGUS(&r, "watchlist", "create", "a", "--db", path);
  if (r.status == 127 && run_uid != (uid_t)-1) {
    /* exec refused: a folder above the binary (a checkout in a folder of
     * mode 0700, as mktemp -d makes) is closed to that user */
    printf("test_store_open: the argus binary cannot be run as uid %u (a "
           "parent folder is closed to it): stale -shm checks skipped\n",
           (unsigned)run_uid);
    run_uid = (uid_t)-1;
    return;
  }
  CHECK_INT_EQ(r.status, 0);
  if (r.status != 0) {
    fprintf(stderr, "%s", r.err);
    run_uid = (uid_t)-1;
    return;
  }
  /* A reader of a database it may not write leaves the -shm read-only. */
  CHECK(chmod(path, 0400) == 0);
  ARGUS(&r, "watchlist", "list", "--db", path);
  CHECK_INT_EQ(r.status, 0);
  CHECK_HAS(r.out, "a ");
  if (!exists(shm)) {
    /* this SQLite left none: make the state it leaves elsewhere */
    int fd = open(shm, O_WRONLY | O_CREAT, 0400);
    CHECK(fd >= 0);
    if (fd >= 0)
      close(fd);
    if (run_uid != (uid_t)-1 && chown(shm, run_uid, (gid_t)run_uid) != 0)
      perror(shm);
  }
  CHECK(chmod(shm, 0400) == 0);
  /* The permissions are fixed: writing works again. */
  CHECK(chmod(path, 0600) == 0);
  ARGUS(&r, "watchlist", "create", "b", "--db", path);
  CHECK_INT_EQ(r.status, 0);
  CHECK_LACKS(r.err, "readonly");
  ARGUS(&r, "watchlist", "list", "--db", path);
  CHECK_HAS(r.out, "b ");
  run_uid = (uid_t)-1;
}

/* ---- the event id ----------------------------------------------------------
 */

static argus_store_id g_alert;

static void test_event_id(const char *path) {
  argus_store *s = NULL;
  argus_store_error err = {{0}};
  argus_store_options o = {.actor = "test"};
  CHECK_OK(argus_store_open(path, &o, &s, &err));
  if (!s)
    return;
  argus_store_id wl = 0, person = 0;
  CHECK_OK(argus_store_watchlist_create(s, "vip", 0.5, NULL, &wl, &err));
  argus_store_person_in pin = {"Ann", NULL, NULL};
  CHECK_OK(
      argus_store_person_add(s, "vip", &pin, NULL, NULL, 0, &person, &err));
  static const unsigned char crop[] = {0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 4};
  argus_store_alert_in ai = {.threshold = NAN,
                             .track_start = NAN,
                             .camera = "door",
                             .media_time = 1.5,
                             .track_id = 7,
                             .watchlist_id = wl,
                             .person_id = person,
                             .score = 0.6,
                             .crop = crop,
                             .crop_size = sizeof crop,
                             .event_id = "alert-0123456789abcdef-1"};
  argus_store_id id1 = 0, id2 = 0;
  CHECK_OK(argus_store_alert_insert(s, &ai, &id1, &err));
  CHECK_OK(argus_store_alert_insert(s, &ai, &id2, &err));
  CHECK(id1 > 0);
  CHECK_INT_EQ(id2, id1);
  ai.event_id = "alert-0123456789abcdef-2";
  CHECK_OK(argus_store_alert_insert(s, &ai, &id2, &err));
  CHECK(id2 > id1);
  argus_store_alert *list = NULL;
  size_t n = 0;
  CHECK_OK(argus_store_alert_list(s, NULL, &list, &n, &err));
  CHECK_INT_EQ(n, 2);
  argus_store_free(list);
  argus_store_audit *au = NULL;
  CHECK_OK(argus_store_audit_list(s, 0, 1000, &au, &n, &err));
  int inserts = 0;
  for (size_t i = 0; i < n; i++)
    inserts += strcmp(au[i].action, "alert.insert") == 0;
  CHECK_INT_EQ(inserts, 2);
  argus_store_free(au);
  g_alert = id1;
  argus_store_close(s);
}

/* ---- a reader of an older schema ---------------------------------------------
 */

/* A database of schema version 2 (before alerts.event_id): a reader's open
 * upgrades it once, and reads. */
static void test_reader_upgrades(void) {
  char dir[300], path[400];
  fresh_dir(dir, sizeof dir, "v2");
  snprintf(path, sizeof path, "%s/old.db", dir);
  static const char downgrade[] = "DELETE FROM schema_version WHERE version "
                                  "= 3; DROP INDEX alerts_by_event; "
                                  "ALTER TABLE alerts DROP COLUMN event_id";
  if (g_pg) {
    CHECK_INT_EQ(pg_db_for_path(g_pg, path, 1, path, sizeof path), 0);
    setenv("ARGUS_DATA_DIR", dir, 1);
  }
  argus_store *s = NULL;
  argus_store_error err = {{0}};
  CHECK_OK(argus_store_open(path, NULL, &s, &err));
  argus_store_close(s);
  if (g_pg) {
    CHECK_INT_EQ(pg_exec_url(path, downgrade), 0);
  } else {
    sqlite3 *db = NULL;
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    CHECK(sqlite3_exec(db, downgrade, NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(db);
  }
  argus_store_options ro = {.read_only = 1};
  s = NULL;
  CHECK_OK(argus_store_open(path, &ro, &s, &err));
  CHECK_INT_EQ(argus_store_schema_version(s), ARGUS_STORE_SCHEMA_VERSION);
  argus_store_alert *list = NULL;
  size_t n = 99;
  CHECK_OK(argus_store_alert_list(s, NULL, &list, &n, &err));
  CHECK_INT_EQ(n, 0);
  argus_store_free(list);
  argus_store_close(s);
}

/* ---- readers beside a writer -----------------------------------------------
 */

typedef struct locker {
  const char *path;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int state; /* 0 starting, 1 holding, 2 failed; release: set by main */
  int release;
} locker;

/* Holds a write transaction on its own connection until released: on
 * PostgreSQL, one holding the writers' advisory lock (the key of
 * src/store/postgres.c, 0x6172677573: "argus" in ASCII). */
static void *lock_main_pg(void *arg) {
  locker *l = arg;
  PGconn *c = PQconnectdb(l->path);
  PGresult *r = PQexec(c, "BEGIN; SELECT pg_advisory_xact_lock(418531210611); "
                          "INSERT INTO meta (key, value) VALUES "
                          "('lock-test', 'x')");
  int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
  PQclear(r);
  pthread_mutex_lock(&l->mu);
  l->state = ok ? 1 : 2;
  pthread_cond_broadcast(&l->cv);
  while (ok && !l->release)
    pthread_cond_wait(&l->cv, &l->mu);
  pthread_mutex_unlock(&l->mu);
  PQclear(PQexec(c, "ROLLBACK"));
  PQfinish(c);
  return NULL;
}

static void *lock_main(void *arg) {
  locker *l = arg;
  if (g_pg)
    return lock_main_pg(arg);
  sqlite3 *db = NULL;
  int ok =
      sqlite3_open_v2(l->path, &db, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK &&
      sqlite3_exec(db,
                   "BEGIN IMMEDIATE; INSERT INTO meta (key, value) "
                   "VALUES ('lock-test', 'x')",
                   NULL, NULL, NULL) == SQLITE_OK;
  pthread_mutex_lock(&l->mu);
  l->state = ok ? 1 : 2;
  pthread_cond_broadcast(&l->cv);
  while (ok && !l->release)
    pthread_cond_wait(&l->cv, &l->mu);
  pthread_mutex_unlock(&l->mu);
  if (ok)
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
  sqlite3_close(db);
  return NULL;
}

static void test_readers_beside_writer(const char *path) {
  locker l = {.path = path};
  pthread_mutex_init(&l.mu, NULL);
  pthread_cond_init(&l.cv, NULL);
  pthread_t th;
  CHECK(pthread_create(&th, NULL, lock_main, &l) == 0);
  pthread_mutex_lock(&l.mu);
  while (l.state == 0)
    pthread_cond_wait(&l.cv, &l.mu);
  pthread_mutex_unlock(&l.mu);
  CHECK_INT_EQ(l.state, 1);

  /* Each would wait the 5 s busy timeout and fail if it took the lock. */
  static result r;
  ARGUS(&r, "alert", "list", "--json", "--db", path);
  CHECK_INT_EQ(r.status, 0);
  CHECK_HAS(r.out, "\"person\":\"Ann\"");
  CHECK(r.seconds < 3);
  printf("alert list beside a write transaction: %.2f s\n", r.seconds);
  ARGUS(&r, "watchlist", "list", "--db", path);
  CHECK_INT_EQ(r.status, 0);
  CHECK_HAS(r.out, "vip");
  CHECK(r.seconds < 3);
  ARGUS(&r, "person", "list", "--watchlist", "vip", "--db", path);
  CHECK_INT_EQ(r.status, 0);
  CHECK_HAS(r.out, "Ann");
  CHECK(r.seconds < 3);
  ARGUS(&r, "camera", "list", "--db", path);
  CHECK_INT_EQ(r.status, 0);
  CHECK(r.seconds < 3);
  ARGUS(&r, "audit", "--db", path);
  CHECK_INT_EQ(r.status, 0);
  CHECK_HAS(r.out, "alert.insert");
  CHECK(r.seconds < 3);

  /* The library: a reader's open and a writer's open with nothing to
   * write do not wait for the lock; the writer's first write does. */
  argus_store *s = NULL;
  argus_store_error err = {{0}};
  argus_store_options ro = {.read_only = 1, .busy_timeout_ms = 300};
  double t0 = now_s();
  CHECK_OK(argus_store_open(path, &ro, &s, &err));
  argus_store_alert a;
  CHECK_OK(argus_store_alert_get(s, g_alert, &a, &err));
  argus_store_close(s);
  argus_store_options wo = {.actor = "test", .busy_timeout_ms = 300};
  CHECK_OK(argus_store_open(path, &wo, &s, &err));
  CHECK(now_s() - t0 < 1.5);
  argus_store_id wl = 0;
  CHECK_INT_EQ(argus_store_watchlist_create(s, "late", 0.5, NULL, &wl, &err),
               ARGUS_E_IO);
  CHECK_HAS(err.msg, "locked");
  argus_store_close(s);

  pthread_mutex_lock(&l.mu);
  l.release = 1;
  pthread_cond_broadcast(&l.cv);
  pthread_mutex_unlock(&l.mu);
  pthread_join(th, NULL);
  pthread_cond_destroy(&l.cv);
  pthread_mutex_destroy(&l.mu);
}

static int rm_cb(const char *p, const struct stat *sb, int flag,
                 struct FTW *ftw) {
  (void)sb;
  (void)flag;
  (void)ftw;
  return remove(p);
}

int main(void) {
  cli = getenv("ARGUS_CLI");
  if (!cli || access(cli, X_OK) != 0)
    SKIP("ARGUS_CLI is not set to the argus binary");
  snprintf(tmp, sizeof tmp, "/tmp/argus-test-open-XXXXXX");
  if (!mkdtemp(tmp)) {
    perror("mkdtemp");
    return 1;
  }
  /* the unprivileged user of test_stale_shm must reach its folder */
  if (chmod(tmp, 0711) != 0)
    perror(tmp);
  if (pg_test_wanted()) {
    int pr = pg_cluster_start(&g_pgc);
    if (pr != 0) {
      fprintf(stderr, "test_store_open: no PostgreSQL cluster\n");
      return pr == 77 ? 77 : 1;
    }
    g_pg = &g_pgc;
    printf("test_store_open: on PostgreSQL (port %d); skipped: an empty "
           "file, a missing folder, a stale -shm (SQLite files)\n",
           g_pgc.port);
    test_empty_database();
  } else {
    test_empty_file();
    test_missing_folder();
    test_stale_shm();
  }
  test_reader_upgrades();
  char path[400];
  snprintf(path, sizeof path, "%s/events.db", tmp);
  if (g_pg) {
    char data[400];
    snprintf(data, sizeof data, "%s/events-data", tmp);
    setenv("ARGUS_DATA_DIR", data, 1);
    CHECK_INT_EQ(pg_db_for_path(g_pg, path, 1, path, sizeof path), 0);
  }
  test_event_id(path);
  test_readers_beside_writer(path);
  int rc =
      check_report(g_pg ? "test_store_open (PostgreSQL)" : "test_store_open");
  if (g_pg)
    pg_cluster_stop(&g_pgc);
  nftw(tmp, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
  return rc;
}
