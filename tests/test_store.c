/* The store: migrations, every CRUD operation, cascades, audit rows, crop
 * files by hash, atomicity under injected faults, reindex, and a crash test
 * that SIGKILLs a process during bulk enrolment and checks the invariants
 * after each kill. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <math.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "argus/store.h"
#include "check.h"
#include "pg_util.h"
#include "store/store_internal.h"

/* ARGUS_TEST_STORE=postgres (test_store_pg): every database of the test is
 * a database of a throwaway PostgreSQL cluster (tests/pg_util.h); the
 * parts about SQLite files are skipped with a reason. */
static pg_cluster g_pgc;
static const pg_cluster *g_pg;

static argus_err store_open_(const char *path, const argus_store_options *o,
                             argus_store **s, argus_store_error *err) {
  return pg_test_store_open(g_pg, path, o, s, err);
}

static void skip_pg(const char *what) {
  if (g_pg)
    printf("skipped under PostgreSQL: %s\n", what);
}

/* ---- helpers ------------------------------------------------------------ */

static char g_root[512];

static int rm_cb(const char *path, const struct stat *sb, int flag,
                 struct FTW *ftw) {
  (void)sb;
  (void)flag;
  (void)ftw;
  return remove(path);
}

static void rm_rf(const char *path) {
  nftw(path, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

/* A fresh folder under the test root. */
static void make_dir(char *buf, size_t size, const char *name) {
  snprintf(buf, size, "%s/%s", g_root, name);
  rm_rf(buf);
  mkdir(buf, 0700);
}

static uint32_t rng_next(uint32_t *s) {
  uint32_t x = *s ? *s : 0x9e3779b9u;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  *s = x;
  return x;
}

/* Pseudo-JPEG bytes from a seed: SOI marker, random body, EOI marker. */
static size_t make_crop(uint32_t seed, unsigned char *buf, size_t cap) {
  uint32_t s = seed * 2654435761u + 1;
  size_t n = 600 + rng_next(&s) % 3000;
  if (n > cap)
    n = cap;
  for (size_t i = 0; i < n; i++)
    buf[i] = (unsigned char)rng_next(&s);
  buf[0] = 0xff;
  buf[1] = 0xd8;
  buf[n - 2] = 0xff;
  buf[n - 1] = 0xd9;
  return n;
}

static void make_vector(uint32_t seed, float *v, int dim) {
  uint32_t s = seed * 747796405u + 7;
  double norm = 0;
  for (int i = 0; i < dim; i++) {
    v[i] = (float)((rng_next(&s) >> 8) / 16777216.0 - 0.5);
    norm += (double)v[i] * v[i];
  }
  for (int i = 0; i < dim; i++)
    v[i] = (float)(v[i] / sqrt(norm));
}

static int file_exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0;
}

static int crop_file_exists(argus_store *s, const void *data, size_t n) {
  char hash[ARGUS_STORE_SHA256_HEX], path[4200];
  argus_sha256_hex(data, n, hash);
  snprintf(path, sizeof path, "%s/%.2s/%s.jpg", argus_store_crops_dir(s), hash,
           hash);
  return file_exists(path);
}

/* Number of regular files (crops and temps) under the crop folder. */
static int count_crop_files(argus_store *s) {
  int n = 0;
  DIR *top = opendir(argus_store_crops_dir(s));
  if (!top)
    return -1;
  struct dirent *d;
  while ((d = readdir(top))) {
    if (strlen(d->d_name) != 2 || d->d_name[0] == '.')
      continue;
    char sub[4200];
    snprintf(sub, sizeof sub, "%s/%s", argus_store_crops_dir(s), d->d_name);
    DIR *dd = opendir(sub);
    struct dirent *f;
    while (dd && (f = readdir(dd)))
      if (strcmp(f->d_name, ".") && strcmp(f->d_name, ".."))
        n++;
    if (dd)
      closedir(dd);
  }
  closedir(top);
  return n;
}

static int64_t sql_int(const char *db, const char *sql) {
  if (g_pg) {
    char url[160];
    return pg_db_for_path(g_pg, db, 1, url, sizeof url) == 0
               ? pg_int_url(url, sql)
               : -1;
  }
  sqlite3 *h = NULL;
  int64_t v = -1;
  if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK) {
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
      v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
  }
  sqlite3_close(h);
  return v;
}

static int sql_exec(const char *db, const char *sql) {
  if (g_pg) {
    char url[160];
    return pg_db_for_path(g_pg, db, 1, url, sizeof url) == 0
               ? pg_exec_url(url, sql)
               : -1;
  }
  sqlite3 *h = NULL;
  int rc =
      sqlite3_open_v2(db, &h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
  if (rc == SQLITE_OK)
    rc = sqlite3_exec(h, sql, NULL, NULL, NULL);
  sqlite3_close(h);
  return rc;
}

static int64_t audit_count(argus_store *s, const char *action) {
  argus_store_audit *a = NULL;
  size_t n = 0;
  int64_t k = 0;
  if (argus_store_audit_list(s, 0, 100000, &a, &n, NULL) != ARGUS_OK)
    return -1;
  for (size_t i = 0; i < n; i++)
    if (!action || strcmp(a[i].action, action) == 0)
      k++;
  argus_store_free(a);
  return k;
}

static argus_store *open_at(const char *dir, const char *file) {
  char path[600];
  snprintf(path, sizeof path, "%s/%s", dir, file);
  argus_store *s = NULL;
  argus_store_error err;
  argus_store_options o = {.actor = "test"};
  argus_err e = store_open_(path, &o, &s, &err);
  if (e != ARGUS_OK)
    fprintf(stderr, "open %s: %s\n", path, err.msg);
  return s;
}

static const argus_store_model MODEL_A = {"fr_embed", "v1", 16};
static const argus_store_model MODEL_B = {"fr_embed", "v2", 8};

/* Enrols `name` with n photos seeded from seed..seed+n-1. */
static argus_err enrol(argus_store *s, const char *wl, const char *name,
                       const char *ext, uint32_t seed, int n,
                       argus_store_id *id, argus_store_error *err) {
  unsigned char crops[4][4096];
  float vecs[4][16];
  argus_store_photo_in ph[4];
  memset(ph, 0, sizeof ph);
  char src[4][32];
  for (int i = 0; i < n && i < 4; i++) {
    ph[i].crop = crops[i];
    ph[i].crop_size = make_crop(seed + (uint32_t)i, crops[i], sizeof crops[i]);
    ph[i].quality = 0.5f + 0.1f * (float)i;
    snprintf(src[i], sizeof src[i], "seed=%u", seed + (unsigned)i);
    ph[i].source = src[i];
    make_vector(seed + (uint32_t)i, vecs[i], MODEL_A.dim);
    ph[i].vector = vecs[i];
  }
  argus_store_person_in p = {name, ext, "notes"};
  return argus_store_person_add(s, wl, &p, &MODEL_A, ph, n, id, err);
}

/* ---- open and migrations ------------------------------------------------ */

static void test_open(void) {
  char dir[600], path[700];
  make_dir(dir, sizeof dir, "open");
  argus_store *s = open_at(dir, "a.db");
  CHECK(s != NULL);
  if (!s)
    return;
  CHECK_INT_EQ(argus_store_schema_version(s), ARGUS_STORE_SCHEMA_VERSION);
  CHECK_INT_EQ(audit_count(s, "schema.migrate"), ARGUS_STORE_SCHEMA_VERSION);
  argus_store_close(s);
  snprintf(path, sizeof path, "%s/a.db", dir);
  struct stat st;
  if (!g_pg)
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
  else
    skip_pg("the database file's mode 0600 (a server's database)");
  /* Reopen: nothing re-applied. */
  s = open_at(dir, "a.db");
  CHECK(s != NULL);
  CHECK_INT_EQ(audit_count(s, "schema.migrate"), ARGUS_STORE_SCHEMA_VERSION);
  argus_store_close(s);
  CHECK_INT_EQ(sql_int(path, "SELECT count(*) FROM schema_version"),
               ARGUS_STORE_SCHEMA_VERSION);
  if (!g_pg)
    CHECK_INT_EQ(sql_int(path, "PRAGMA journal_mode='wal'") >= 0, 1);

  argus_store_error err;
  argus_store *bad = NULL;
  /* A database of a newer argus is refused. */
  CHECK_INT_EQ(sql_exec(path, "INSERT INTO schema_version VALUES (999, 'x', "
                              "'2030-01-01T00:00:00.000Z')"),
               SQLITE_OK);
  CHECK_INT_EQ(store_open_(path, NULL, &bad, &err), ARGUS_E_UNSUPPORTED);
  CHECK(strstr(err.msg, "newer") != NULL);
  CHECK(bad == NULL);

  /* Not a database. */
  if (!g_pg) {
    snprintf(path, sizeof path, "%s/junk.db", dir);
    FILE *f = fopen(path, "wb");
    for (int i = 0; i < 4096; i++)
      fputc(i * 7, f);
    fclose(f);
    CHECK_INT_EQ(store_open_(path, NULL, &bad, &err), ARGUS_E_CORRUPT);
  } else {
    skip_pg("a file that is not a database; the WAL journal mode");
    /* A server's database needs a data folder for the crops. */
    char url[160];
    snprintf(path, sizeof path, "%s/nodata.db", dir);
    CHECK_INT_EQ(pg_db_for_path(g_pg, path, 1, url, sizeof url), 0);
    CHECK_INT_EQ(argus_store_open(url, NULL, &bad, &err), ARGUS_E_INVALID_ARG);
    CHECK(strstr(err.msg, "data folder") != NULL);
    CHECK(bad == NULL);
    /* Connection errors name the server, never the password. */
    char secret[200];
    snprintf(secret, sizeof secret,
             "postgresql://postgres:s3cr3t-pw@127.0.0.1:%d/nosuchdb",
             g_pg->port);
    argus_store_options od = {.data_dir = dir};
    CHECK_INT_EQ(argus_store_open(secret, &od, &bad, &err), ARGUS_E_IO);
    CHECK(strstr(err.msg, "nosuchdb") != NULL);
    CHECK(strstr(err.msg, "s3cr3t") == NULL);
    CHECK(bad == NULL);
    /* The store's path hides the password too. */
    snprintf(secret, sizeof secret,
             "postgresql://postgres:s3cr3t-pw@127.0.0.1:%d/%s", g_pg->port,
             strrchr(url, '/') + 1);
    char own[700];
    snprintf(own, sizeof own, "%s/nodata", dir); /* its own crop folder */
    argus_store_options oa = {.data_dir = own, .backend = "postgres"};
    CHECK_OK(argus_store_open(secret, &oa, &bad, &err));
    CHECK(strstr(argus_store_path(bad), "s3cr3t") == NULL);
    CHECK(strstr(argus_store_path(bad), ":***@") != NULL);
    argus_store_close(bad);
    bad = NULL;
    /* Without data_dir: the environment's ARGUS_DATA_DIR (the CLI). */
    setenv("ARGUS_DATA_DIR", own, 1);
    CHECK_OK(argus_store_open(url, NULL, &bad, &err));
    CHECK(bad && strncmp(argus_store_crops_dir(bad), own, strlen(own)) == 0);
    argus_store_close(bad);
    bad = NULL;
    unsetenv("ARGUS_DATA_DIR");
  }

  /* Someone else's SQLite database. */
  char other[600];
  make_dir(other, sizeof other, "open-other");
  snprintf(path, sizeof path, "%s/other.db", other);
  CHECK_INT_EQ(sql_exec(path, "CREATE TABLE t (x INTEGER)"), SQLITE_OK);
  CHECK_INT_EQ(store_open_(path, NULL, &bad, &err), ARGUS_E_CORRUPT);
  CHECK(strstr(err.msg, "not an argus database") != NULL);

  /* Two databases must not share a crop folder. */
  snprintf(path, sizeof path, "%s/b.db", dir);
  CHECK_INT_EQ(store_open_(path, NULL, &bad, &err), ARGUS_E_INVALID_ARG);
  CHECK(strstr(err.msg, "belongs to another database") != NULL);
  /* ... but one with its own data folder is fine. */
  char data[700];
  snprintf(data, sizeof data, "%s/b-data", dir);
  argus_store_options o = {.data_dir = data};
  CHECK_OK(store_open_(path, &o, &bad, &err));
  argus_store_close(bad);

  /* The default path follows XDG_DATA_HOME and creates the folders. */
  char xdg[600], def[4096];
  if (g_pg)
    skip_pg("the default database path (a file)");
  else {
    make_dir(xdg, sizeof xdg, "xdg");
    char *old =
        getenv("XDG_DATA_HOME") ? strdup(getenv("XDG_DATA_HOME")) : NULL;
    setenv("XDG_DATA_HOME", xdg, 1);
    CHECK_OK(argus_store_default_path(def, sizeof def, NULL));
    CHECK(strstr(def, "/xdg/argus/argus.db") != NULL);
    CHECK_OK(store_open_(NULL, NULL, &bad, &err));
    CHECK(file_exists(def));
    CHECK(strstr(argus_store_crops_dir(bad), "/xdg/argus/crops") != NULL);
    argus_store_close(bad);
    if (old) {
      setenv("XDG_DATA_HOME", old, 1);
      free(old);
    } else {
      unsetenv("XDG_DATA_HOME");
    }
  }

  /* Bad arguments never crash. */
  CHECK_INT_EQ(store_open_("", NULL, &bad, &err), ARGUS_E_INVALID_ARG);
  CHECK_INT_EQ(store_open_(path, NULL, NULL, &err), ARGUS_E_INVALID_ARG);
  argus_store_options ob = {.backend = "oracle"};
  CHECK_INT_EQ(store_open_(path, &ob, &bad, &err), ARGUS_E_UNSUPPORTED);
  argus_store_close(NULL);
  argus_store_free(NULL);
  argus_store_watchlist *wl = NULL;
  size_t n = 0;
  CHECK_INT_EQ(argus_store_watchlist_list(NULL, &wl, &n, &err),
               ARGUS_E_INVALID_ARG);
  CHECK_INT_EQ(argus_store_watchlist_create(NULL, "x", NAN, NULL, NULL, NULL),
               ARGUS_E_INVALID_ARG);
  char name[ARGUS_STORE_NAME_MAX], ver[ARGUS_STORE_NAME_MAX];
  CHECK_OK(argus_store_model_id_split("fr_embed@v1", name, ver));
  CHECK(strcmp(name, "fr_embed") == 0 && strcmp(ver, "v1") == 0);
  CHECK_INT_EQ(argus_store_model_id_split("noversion", name, ver),
               ARGUS_E_INVALID_ARG);
  CHECK_INT_EQ(argus_store_model_id_split("@v", name, ver),
               ARGUS_E_INVALID_ARG);
  CHECK_INT_EQ(argus_store_model_id_split("name@", name, ver),
               ARGUS_E_INVALID_ARG);
  /* The first '@' splits; the default embedder's version holds one. */
  CHECK_OK(argus_store_model_id_split(
      "fr_feature@faceplugin-face-recognition-js@0.0.1", name, ver));
  CHECK(strcmp(name, "fr_feature") == 0 &&
        strcmp(ver, "faceplugin-face-recognition-js@0.0.1") == 0);
}

/* ---- watchlists --------------------------------------------------------- */

/* must_exist (readers): a missing database is NOT_FOUND and neither it nor
 * its folder is created; an existing one opens (issue 10). */
static void test_open_must_exist(void) {
  char dir[600], sub[700], path[800];
  if (g_pg) {
    skip_pg("must_exist (whether a database file exists)");
    return;
  }
  make_dir(dir, sizeof dir, "must-exist");
  snprintf(sub, sizeof sub, "%s/typo", dir);
  snprintf(path, sizeof path, "%s/argus.db", sub);
  argus_store_options o = {.actor = "test", .must_exist = 1};
  argus_store_error err;
  memset(&err, 0, sizeof err);
  argus_store *s = NULL;
  CHECK_INT_EQ(store_open_(path, &o, &s, &err), ARGUS_E_NOT_FOUND);
  CHECK(s == NULL);
  CHECK(strstr(err.msg, "no database at") != NULL);
  CHECK(strstr(err.msg, path) != NULL);
  CHECK(!file_exists(path));
  CHECK(!file_exists(sub));
  /* in an existing folder: still no file made */
  snprintf(path, sizeof path, "%s/argus.db", dir);
  CHECK_INT_EQ(store_open_(path, &o, &s, &err), ARGUS_E_NOT_FOUND);
  CHECK(!file_exists(path));
  /* created by a writer, then opened by a reader */
  s = open_at(dir, "argus.db");
  CHECK(s != NULL);
  argus_store_close(s);
  s = NULL;
  CHECK_OK(store_open_(path, &o, &s, &err));
  CHECK(s != NULL);
  if (s)
    CHECK_INT_EQ(argus_store_schema_version(s), ARGUS_STORE_SCHEMA_VERSION);
  argus_store_close(s);
}

static void test_watchlists(void) {
  char dir[600];
  make_dir(dir, sizeof dir, "wl");
  argus_store *s = open_at(dir, "argus.db");
  CHECK(s != NULL);
  if (!s)
    return;
  argus_store_error err;
  argus_store_id id = 0;
  CHECK_OK(argus_store_watchlist_create(s, "vip", 0.45, "#00FF00", &id, &err));
  CHECK(id > 0);
  CHECK_OK(argus_store_watchlist_create(s, "banned", NAN, NULL, NULL, &err));
  CHECK_INT_EQ(argus_store_watchlist_create(s, "vip", 0.5, NULL, NULL, &err),
               ARGUS_E_INVALID_ARG);
  CHECK(strstr(err.msg, "watchlist 'vip' already exists") != NULL);
  CHECK_INT_EQ(argus_store_watchlist_create(s, "x", 1.5, NULL, NULL, &err),
               ARGUS_E_INVALID_ARG);
  CHECK_INT_EQ(argus_store_watchlist_create(s, "x", 0.5, "red", NULL, &err),
               ARGUS_E_INVALID_ARG);
  CHECK_INT_EQ(argus_store_watchlist_create(s, "", 0.5, NULL, NULL, &err),
               ARGUS_E_INVALID_ARG);
  CHECK_INT_EQ(argus_store_watchlist_create(s, "a\nb", 0.5, NULL, NULL, &err),
               ARGUS_E_INVALID_ARG);
  char longname[300];
  memset(longname, 'a', sizeof longname - 1);
  longname[sizeof longname - 1] = '\0';
  CHECK_INT_EQ(argus_store_watchlist_create(s, longname, 0.5, NULL, NULL, &err),
               ARGUS_E_INVALID_ARG);

  argus_store_watchlist *wl = NULL;
  size_t n = 0;
  CHECK_OK(argus_store_watchlist_list(s, &wl, &n, &err));
  CHECK_INT_EQ(n, 2);
  if (n == 2) {
    CHECK(strcmp(wl[0].name, "banned") == 0); /* by name */
    CHECK(isnan(wl[0].threshold));
    CHECK(strcmp(wl[0].colour, "#e53935") == 0);
    CHECK(strcmp(wl[1].name, "vip") == 0);
    CHECK_NEAR(wl[1].threshold, 0.45, 1e-12, 0);
    CHECK(strcmp(wl[1].colour, "#00ff00") == 0);
    CHECK_INT_EQ(wl[1].active, 1);
    CHECK_INT_EQ(wl[1].persons, 0);
    CHECK(strlen(wl[1].created) == 24 && wl[1].created[23] == 'Z');
  }
  argus_store_free(wl);

  argus_store_watchlist w;
  CHECK_OK(argus_store_watchlist_set_threshold(s, "vip", 0.6, &err));
  CHECK_OK(argus_store_watchlist_get(s, "vip", &w, &err));
  CHECK_NEAR(w.threshold, 0.6, 1e-12, 0);
  CHECK_OK(argus_store_watchlist_set_threshold(s, "vip", NAN, &err));
  CHECK_OK(argus_store_watchlist_get(s, "vip", &w, &err));
  CHECK(isnan(w.threshold));
  CHECK_OK(argus_store_watchlist_set_active(s, "vip", 0, &err));
  CHECK_OK(argus_store_watchlist_get(s, "vip", &w, &err));
  CHECK_INT_EQ(w.active, 0);
  CHECK_INT_EQ(argus_store_watchlist_set_threshold(s, "nope", 0.5, &err),
               ARGUS_E_NOT_FOUND);
  CHECK(strstr(err.msg, "no watchlist 'nope'") != NULL);
  CHECK_INT_EQ(argus_store_watchlist_get(s, "nope", &w, &err),
               ARGUS_E_NOT_FOUND);
  CHECK_INT_EQ(argus_store_watchlist_delete(s, "nope", &err),
               ARGUS_E_NOT_FOUND);
  CHECK_OK(argus_store_watchlist_delete(s, "banned", &err));
  CHECK_INT_EQ(argus_store_watchlist_get(s, "banned", &w, &err),
               ARGUS_E_NOT_FOUND);
  CHECK_INT_EQ(audit_count(s, "watchlist.create"), 2);
  CHECK_INT_EQ(audit_count(s, "watchlist.delete"), 1);
  CHECK_INT_EQ(audit_count(s, "watchlist.set_threshold"), 2);
  CHECK_INT_EQ(audit_count(s, "watchlist.set_active"), 1);
  argus_store_audit *a = NULL;
  CHECK_OK(argus_store_audit_list(s, 0, 1, &a, &n, &err));
  CHECK_INT_EQ(n, 1);
  if (n == 1) {
    CHECK(strcmp(a[0].action, "watchlist.delete") == 0);
    CHECK(strcmp(a[0].actor, "test") == 0);
    CHECK(strcmp(a[0].object_type, "watchlist") == 0);
    CHECK(strstr(a[0].detail, "\"name\":\"banned\"") != NULL);
  }
  argus_store_free(a);
  argus_store_close(s);
}

/* ---- persons, photos, templates ----------------------------------------- */

typedef struct collect {
  int n;
  argus_store_id person[64], photo[64];
  float first[64];
  int dim;
  int stop_after;
  argus_store *s;
  argus_err reentry;
} collect;

static int collect_fn(void *user, const argus_store_template *t) {
  collect *c = user;
  if (c->s) /* calling the store from a callback is refused */
    c->reentry =
        argus_store_watchlist_create(c->s, "zz", NAN, NULL, NULL, NULL);
  if (c->n < 64) {
    c->person[c->n] = t->person_id;
    c->photo[c->n] = t->photo_id;
    c->first[c->n] = t->vector[0];
    c->dim = t->dim;
    if (((uintptr_t)t->vector & 31) != 0)
      c->dim = -1;
  }
  c->n++;
  return c->stop_after && c->n >= c->stop_after;
}

static void test_persons(void) {
  char dir[600];
  make_dir(dir, sizeof dir, "persons");
  argus_store *s = open_at(dir, "argus.db");
  CHECK(s != NULL);
  if (!s)
    return;
  argus_store_error err;
  CHECK_OK(argus_store_watchlist_create(s, "vip", 0.5, NULL, NULL, &err));
  CHECK_OK(argus_store_watchlist_create(s, "staff", 0.5, NULL, NULL, &err));
  argus_store_id alice = 0, bob = 0, carol = 0;
  CHECK_OK(enrol(s, "vip", "Alice", "A-1", 100, 3, &alice, &err));
  CHECK_OK(enrol(s, "vip", "Bob", NULL, 200, 2, &bob, &err));
  CHECK_OK(enrol(s, "staff", "Carol", "A-1", 300, 1, &carol, &err));
  /* Same external id in the same watchlist is refused. */
  CHECK_INT_EQ(enrol(s, "vip", "Alice2", "A-1", 400, 1, NULL, &err),
               ARGUS_E_INVALID_ARG);
  CHECK(strstr(err.msg, "external id 'A-1' is already in watchlist 'vip'") !=
        NULL);
  CHECK_INT_EQ(enrol(s, "nope", "X", NULL, 500, 1, NULL, &err),
               ARGUS_E_NOT_FOUND);
  CHECK(strstr(err.msg, "no watchlist 'nope'") != NULL);

  /* Bad photo input is refused before anything is written. */
  float bad[16];
  make_vector(1, bad, 16);
  bad[3] = NAN;
  unsigned char crop[4096];
  size_t cn = make_crop(77, crop, sizeof crop);
  argus_store_photo_in ph = {crop, cn, 0.5f, NULL, bad};
  argus_store_person_in pin = {"Dave", NULL, NULL};
  CHECK_INT_EQ(
      argus_store_person_add(s, "vip", &pin, &MODEL_A, &ph, 1, NULL, &err),
      ARGUS_E_INVALID_ARG);
  CHECK(strstr(err.msg, "not finite") != NULL);
  ph.vector = NULL;
  ph.quality = 2.0f;
  CHECK_INT_EQ(argus_store_person_add(s, "vip", &pin, NULL, &ph, 1, NULL, &err),
               ARGUS_E_INVALID_ARG);
  ph.quality = 0.5f;
  ph.vector = bad;
  CHECK_INT_EQ(argus_store_person_add(s, "vip", &pin, NULL, &ph, 1, NULL, &err),
               ARGUS_E_INVALID_ARG); /* a vector needs a model */
  CHECK(!crop_file_exists(s, crop, cn));

  argus_store_person p;
  CHECK_OK(argus_store_person_get(s, alice, &p, &err));
  CHECK(strcmp(p.name, "Alice") == 0 && strcmp(p.watchlist, "vip") == 0);
  CHECK(strcmp(p.external_id, "A-1") == 0 && strcmp(p.notes, "notes") == 0);
  CHECK_INT_EQ(p.photos, 3);
  CHECK_INT_EQ(p.templates, 3);
  CHECK_INT_EQ(argus_store_person_get(s, 9999, &p, &err), ARGUS_E_NOT_FOUND);

  argus_store_person *list = NULL;
  size_t n = 0;
  CHECK_OK(argus_store_person_list(s, "vip", NULL, &list, &n, &err));
  CHECK_INT_EQ(n, 2);
  if (n == 2)
    CHECK(strcmp(list[0].name, "Alice") == 0 &&
          strcmp(list[1].name, "Bob") == 0);
  argus_store_free(list);
  CHECK_OK(argus_store_person_list(s, NULL, NULL, &list, &n, &err));
  CHECK_INT_EQ(n, 3);
  argus_store_free(list);
  CHECK_OK(argus_store_person_list(s, NULL, "Carol", &list, &n, &err));
  CHECK_INT_EQ(n, 1);
  argus_store_free(list);
  CHECK_INT_EQ(argus_store_person_list(s, "nope", NULL, &list, &n, &err),
               ARGUS_E_NOT_FOUND);

  argus_store_watchlist w;
  CHECK_OK(argus_store_watchlist_get(s, "vip", &w, &err));
  CHECK_INT_EQ(w.persons, 2);

  /* Crop files by hash; reading one is audited and checked. */
  unsigned char a0[4096];
  size_t a0n = make_crop(100, a0, sizeof a0);
  CHECK(crop_file_exists(s, a0, a0n));
  argus_store_photo *photos = NULL;
  CHECK_OK(argus_store_photo_list(s, alice, 0, 0, &photos, &n, &err));
  CHECK_INT_EQ(n, 3);
  if (n == 3) {
    CHECK_INT_EQ(photos[0].crop_size, a0n);
    CHECK(strcmp(photos[0].source, "seed=100") == 0);
    CHECK_NEAR(photos[1].quality, 0.6, 1e-6, 0);
    int64_t before = audit_count(s, "crop.read");
    void *data = NULL;
    size_t size = 0;
    CHECK_OK(
        argus_store_crop_read(s, photos[0].crop_sha256, &data, &size, &err));
    CHECK_INT_EQ(size, a0n);
    CHECK(data && memcmp(data, a0, a0n) == 0);
    argus_store_free(data);
    CHECK_INT_EQ(audit_count(s, "crop.read"), before + 1);
  }
  argus_store_free(photos);
  CHECK_OK(argus_store_photo_list(s, 0, 0, 2, &photos, &n, &err));
  CHECK_INT_EQ(n, 2); /* limit */
  argus_store_free(photos);
  void *data = NULL;
  size_t size = 0;
  CHECK_INT_EQ(argus_store_crop_read(s,
                                     "00000000000000000000000000000000"
                                     "00000000000000000000000000000000",
                                     &data, &size, &err),
               ARGUS_E_NOT_FOUND);
  CHECK_INT_EQ(argus_store_crop_read(s, "../etc/passwd", &data, &size, &err),
               ARGUS_E_INVALID_ARG);

  /* Templates by model, by person; models never mix. */
  int64_t reads = audit_count(s, "template.read");
  collect c;
  memset(&c, 0, sizeof c);
  c.s = s;
  CHECK_OK(argus_store_template_foreach(s, &MODEL_A, 0, collect_fn, &c, &err));
  CHECK_INT_EQ(c.n, 6);
  CHECK_INT_EQ(c.dim, 16);
  CHECK_INT_EQ(c.reentry, ARGUS_E_INVALID_ARG);
  float v[16];
  make_vector(100, v, 16);
  CHECK_NEAR(c.first[0], v[0], 0, 0);
  CHECK_INT_EQ(c.person[0], alice);
  CHECK_INT_EQ(audit_count(s, "template.read"), reads + 1);
  argus_store_audit *a = NULL;
  CHECK_OK(argus_store_audit_list(s, 0, 1, &a, &n, &err));
  if (n == 1)
    CHECK(strstr(a[0].detail, "\"templates\":6") != NULL);
  argus_store_free(a);
  memset(&c, 0, sizeof c);
  CHECK_OK(
      argus_store_template_foreach(s, &MODEL_A, bob, collect_fn, &c, &err));
  CHECK_INT_EQ(c.n, 2);
  CHECK_INT_EQ(c.person[0], bob);
  memset(&c, 0, sizeof c);
  c.stop_after = 2;
  CHECK_OK(argus_store_template_foreach(s, &MODEL_A, 0, collect_fn, &c, &err));
  CHECK_INT_EQ(c.n, 2);
  memset(&c, 0, sizeof c);
  CHECK_OK(argus_store_template_foreach(s, &MODEL_B, 0, collect_fn, &c, &err));
  CHECK_INT_EQ(c.n, 0);
  int64_t count = 0;
  CHECK_OK(argus_store_template_count(s, &MODEL_A, &count, &err));
  CHECK_INT_EQ(count, 6);

  /* More photos for an existing person, atomically. */
  unsigned char extra[4096];
  size_t en = make_crop(900, extra, sizeof extra);
  float ev[16];
  make_vector(900, ev, 16);
  argus_store_photo_in eph = {extra, en, 0.9f, "extra", ev};
  argus_store_id pid = 0;
  CHECK_OK(
      argus_store_person_add_photos(s, bob, &MODEL_A, &eph, 1, &pid, &err));
  CHECK(pid > 0);
  CHECK_OK(argus_store_person_get(s, bob, &p, &err));
  CHECK_INT_EQ(p.photos, 3);
  CHECK_INT_EQ(
      argus_store_person_add_photos(s, 9999, &MODEL_A, &eph, 1, NULL, &err),
      ARGUS_E_NOT_FOUND);

  /* A crop shared by two persons stays until neither refers to it. */
  unsigned char shared[4096];
  size_t sn = make_crop(100, shared, sizeof shared); /* Alice's first */
  argus_store_photo_in sph = {shared, sn, 0.5f, NULL, NULL};
  CHECK_OK(argus_store_person_add_photos(s, carol, NULL, &sph, 1, NULL, &err));
  int files = count_crop_files(s);
  CHECK_OK(argus_store_person_remove(s, alice, &err));
  CHECK(crop_file_exists(s, shared, sn));
  unsigned char a1[4096];
  size_t a1n = make_crop(101, a1, sizeof a1);
  CHECK(!crop_file_exists(s, a1, a1n));
  CHECK_INT_EQ(count_crop_files(s), files - 2);
  CHECK_OK(argus_store_person_remove(s, carol, &err));
  CHECK(!crop_file_exists(s, shared, sn));
  CHECK_INT_EQ(argus_store_person_remove(s, carol, &err), ARGUS_E_NOT_FOUND);
  CHECK_OK(argus_store_template_count(s, NULL, &count, &err));
  CHECK_INT_EQ(count, 3); /* Bob's */
  CHECK_INT_EQ(audit_count(s, "person.remove"), 2);
  CHECK_INT_EQ(audit_count(s, "person.add"), 3);
  CHECK_INT_EQ(audit_count(s, "person.add_photos"), 2);

  argus_store_check_report r;
  CHECK_OK(argus_store_check(s, 1, &r, &err));
  CHECK_INT_EQ(r.problems, 0);
  CHECK_INT_EQ(r.orphan_files, 0);
  CHECK_INT_EQ(r.persons, 1);
  argus_store_close(s);
}

/* ---- cascades ----------------------------------------------------------- */

static void test_cascade(void) {
  char dir[600], path[700];
  make_dir(dir, sizeof dir, "cascade");
  argus_store *s = open_at(dir, "argus.db");
  CHECK(s != NULL);
  if (!s)
    return;
  snprintf(path, sizeof path, "%s/argus.db", dir);
  argus_store_error err;
  argus_store_id wl = 0, p1 = 0, p2 = 0, cam = 0, alert = 0;
  CHECK_OK(argus_store_watchlist_create(s, "vip", 0.5, NULL, &wl, &err));
  CHECK_OK(argus_store_watchlist_create(s, "keep", 0.5, NULL, NULL, &err));
  CHECK_OK(enrol(s, "vip", "A", NULL, 10, 2, &p1, &err));
  CHECK_OK(enrol(s, "vip", "B", NULL, 20, 2, &p2, &err));
  CHECK_OK(enrol(s, "keep", "C", NULL, 30, 1, NULL, &err));
  CHECK_OK(
      argus_store_camera_add(s, "door", "rtsp://u:p@h/s", NULL, 1, &cam, &err));
  unsigned char crop[4096], thumb[4096];
  size_t cn = make_crop(5000, crop, sizeof crop);
  size_t tn = make_crop(5001, thumb, sizeof thumb);
  argus_store_alert_in ai = {.threshold = NAN,
                             .track_start = NAN,
                             .camera_id = cam,
                             .camera = "door",
                             .media_time = 1.5,
                             .track_id = 3,
                             .watchlist_id = wl,
                             .person_id = p1,
                             .score = 0.7,
                             .crop = crop,
                             .crop_size = cn,
                             .thumb = thumb,
                             .thumb_size = tn};
  CHECK_OK(argus_store_alert_insert(s, &ai, &alert, &err));
  argus_store_id did = 0;
  CHECK_OK(argus_store_decision_add(s, alert, "op1", ARGUS_ALERT_CONFIRMED,
                                    "it is him", &did, &err));
  CHECK_OK(argus_store_watchlist_delete(s, "vip", &err));
  CHECK_INT_EQ(sql_int(path, "SELECT count(*) FROM persons"), 1);
  CHECK_INT_EQ(sql_int(path, "SELECT count(*) FROM photos"), 1);
  CHECK_INT_EQ(sql_int(path, "SELECT count(*) FROM templates"), 1);
  CHECK_INT_EQ(sql_int(path, "SELECT count(*) FROM crop_purge"), 0);
  /* The alert stays, with names, its crop files and its decision. */
  argus_store_alert a;
  CHECK_OK(argus_store_alert_get(s, alert, &a, &err));
  CHECK_INT_EQ(a.person_id, 0);
  CHECK_INT_EQ(a.watchlist_id, 0);
  CHECK(strcmp(a.person, "A") == 0 && strcmp(a.watchlist, "vip") == 0);
  CHECK_INT_EQ(a.status, ARGUS_ALERT_CONFIRMED);
  CHECK(crop_file_exists(s, crop, cn) && crop_file_exists(s, thumb, tn));
  CHECK_INT_EQ(count_crop_files(s), 1 + 2); /* C's photo + alert files */
  /* Removing the camera unlinks the alert from it. */
  CHECK_OK(argus_store_camera_remove(s, "door", &err));
  CHECK_OK(argus_store_alert_get(s, alert, &a, &err));
  CHECK_INT_EQ(a.camera_id, 0);
  CHECK(strcmp(a.camera, "door") == 0);
  /* Retention: the alert, its decision and its files go. */
  int64_t deleted = 0;
  CHECK_OK(argus_store_alert_purge_before(s, "2999-01-01T00:00:00Z", &deleted,
                                          &err));
  CHECK_INT_EQ(deleted, 1);
  CHECK_INT_EQ(sql_int(path, "SELECT count(*) FROM decisions"), 0);
  CHECK(!crop_file_exists(s, crop, cn) && !crop_file_exists(s, thumb, tn));
  CHECK_INT_EQ(count_crop_files(s), 1);
  argus_store_check_report r;
  CHECK_OK(argus_store_check(s, 1, &r, &err));
  CHECK_INT_EQ(r.problems, 0);
  argus_store_close(s);
}

/* ---- atomicity ---------------------------------------------------------- */

static void test_atomicity(void) {
  char dir[600], path[700];
  make_dir(dir, sizeof dir, "atomic");
  argus_store *s = open_at(dir, "argus.db");
  CHECK(s != NULL);
  if (!s)
    return;
  snprintf(path, sizeof path, "%s/argus.db", dir);
  argus_store_error err;
  CHECK_OK(argus_store_watchlist_create(s, "vip", 0.5, NULL, NULL, &err));
  CHECK_OK(enrol(s, "vip", "Before", NULL, 1, 2, NULL, &err));
  int files = count_crop_files(s);
  int64_t audits = audit_count(s, NULL);
  /* Fault points of a 3-photo enrolment: person row, then per photo crop
   * file, photo row, template row: 1 + 3 * 3 = 10. Fail at each. */
  int failures = 0;
  for (int k = 1; k <= 10; k++) {
    store_debug_fail_at(k);
    argus_err e = enrol(s, "vip", "Half", NULL, 1000, 3, NULL, &err);
    store_debug_fail_at(0);
    if (e == ARGUS_OK) {
      fprintf(stderr, "fault point %d did not fire\n", k);
      failures++;
      continue;
    }
    CHECK(strstr(err.msg, "injected fault") != NULL);
    CHECK_INT_EQ(sql_int(path, "SELECT count(*) FROM persons"), 1);
    CHECK_INT_EQ(sql_int(path, "SELECT count(*) FROM photos"), 2);
    CHECK_INT_EQ(sql_int(path, "SELECT count(*) FROM templates"), 2);
    CHECK_INT_EQ(count_crop_files(s), files);
    CHECK_INT_EQ(audit_count(s, NULL), audits);
  }
  CHECK_INT_EQ(failures, 0);
  /* The 11th point is past the enrolment: it succeeds. */
  store_debug_fail_at(11);
  CHECK_OK(enrol(s, "vip", "Whole", NULL, 1000, 3, NULL, &err));
  store_debug_fail_at(0);
  CHECK_INT_EQ(count_crop_files(s), files + 3);
  /* A failing enrolment whose crop already exists keeps that file. */
  store_debug_fail_at(4); /* second photo's crop write */
  CHECK(enrol(s, "vip", "Dup", NULL, 1000, 3, NULL, &err) != ARGUS_OK);
  store_debug_fail_at(0);
  CHECK_INT_EQ(count_crop_files(s), files + 3);
  argus_store_check_report r;
  CHECK_OK(argus_store_check(s, 1, &r, &err));
  CHECK_INT_EQ(r.problems, 0);
  CHECK_INT_EQ(r.orphan_files, 0);
  argus_store_close(s);
}

/* ---- reindex ------------------------------------------------------------ */

static void test_reindex(void) {
  char dir[600];
  make_dir(dir, sizeof dir, "reindex");
  argus_store *s = open_at(dir, "argus.db");
  CHECK(s != NULL);
  if (!s)
    return;
  argus_store_error err;
  CHECK_OK(argus_store_watchlist_create(s, "vip", 0.5, NULL, NULL, &err));
  argus_store_id p[3];
  CHECK_OK(enrol(s, "vip", "A", NULL, 10, 2, &p[0], &err));
  CHECK_OK(enrol(s, "vip", "B", NULL, 20, 2, &p[1], &err));
  CHECK_OK(enrol(s, "vip", "C", NULL, 30, 1, &p[2], &err));
  /* Damage one crop: reindex reports it per item, not as a failure. */
  argus_store_photo *ph = NULL;
  size_t nph = 0;
  CHECK_OK(argus_store_photo_list(s, p[2], 0, 0, &ph, &nph, &err));
  char bad_path[4200];
  if (nph == 1) {
    snprintf(bad_path, sizeof bad_path, "%s/%.2s/%s.jpg",
             argus_store_crops_dir(s), ph[0].crop_sha256, ph[0].crop_sha256);
    int fd = open(bad_path, O_WRONLY);
    CHECK(fd >= 0 && pwrite(fd, "XX", 2, 10) == 2);
    close(fd);
  }
  argus_store_free(ph);

  int64_t reads = audit_count(s, "crop.read");
  argus_store_id after = 0;
  int batches = 0, done = 0, damaged = 0;
  for (;;) {
    argus_store_crop *c = NULL;
    int n = 0;
    /* A batch of 2; only_missing keeps the loop resumable. */
    CHECK_OK(argus_store_reindex_fetch(s, &MODEL_B, 1, after, 2, &c, &n, &err));
    if (n == 0)
      break;
    batches++;
    argus_store_template_in items[2];
    float vecs[2][8];
    int k = 0;
    for (int i = 0; i < n; i++) {
      after = c[i].photo_id;
      if (c[i].status != ARGUS_OK) {
        CHECK_INT_EQ(c[i].status, ARGUS_E_CHECKSUM);
        CHECK(c[i].data == NULL);
        damaged++;
        continue;
      }
      CHECK(c[i].size > 0 && ((unsigned char *)c[i].data)[0] == 0xff);
      make_vector((uint32_t)c[i].photo_id, vecs[k], 8);
      items[k].photo_id = c[i].photo_id;
      items[k].vector = vecs[k];
      k++;
    }
    argus_store_crops_free(c, n);
    CHECK_OK(argus_store_template_replace(s, &MODEL_B, items, k, &err));
    done += k;
    if (batches > 10)
      break;
  }
  CHECK_INT_EQ(batches, 3);
  CHECK_INT_EQ(done, 4);
  CHECK_INT_EQ(damaged, 1);
  CHECK_INT_EQ(audit_count(s, "crop.read"), reads + 3);
  int64_t count = 0;
  CHECK_OK(argus_store_template_count(s, &MODEL_B, &count, &err));
  CHECK_INT_EQ(count, 4);
  /* Only the damaged photo is still missing a v2 template. */
  argus_store_crop *c = NULL;
  int n = 0;
  CHECK_OK(argus_store_reindex_fetch(s, &MODEL_B, 1, 0, 10, &c, &n, &err));
  CHECK_INT_EQ(n, 1);
  argus_store_crops_free(c, n);
  /* Replacing is idempotent: still one template per photo and model. */
  CHECK_OK(argus_store_reindex_fetch(s, &MODEL_B, 0, 0, 10, &c, &n, &err));
  CHECK_INT_EQ(n, 5);
  argus_store_crops_free(c, n);
  float v[8];
  make_vector(1, v, 8);
  argus_store_template_in one = {1, v};
  CHECK_OK(argus_store_template_replace(s, &MODEL_B, &one, 1, &err));
  CHECK_OK(argus_store_template_count(s, &MODEL_B, &count, &err));
  CHECK_INT_EQ(count, 4);
  argus_store_template_in missing = {9999, v};
  CHECK_INT_EQ(argus_store_template_replace(s, &MODEL_B, &missing, 1, &err),
               ARGUS_E_NOT_FOUND);
  argus_store_model wrongdim = {"fr_embed", "v2", 0};
  CHECK_INT_EQ(argus_store_template_replace(s, &wrongdim, &one, 1, &err),
               ARGUS_E_INVALID_ARG);
  /* Drop the old model. */
  int64_t deleted = 0;
  CHECK_OK(argus_store_template_delete_model(s, &MODEL_A, &deleted, &err));
  CHECK_INT_EQ(deleted, 5);
  CHECK_OK(argus_store_template_count(s, NULL, &count, &err));
  CHECK_INT_EQ(count, 4);
  collect col;
  memset(&col, 0, sizeof col);
  CHECK_OK(
      argus_store_template_foreach(s, &MODEL_B, 0, collect_fn, &col, &err));
  CHECK_INT_EQ(col.n, 4);
  CHECK_INT_EQ(col.dim, 8);

  /* check finds the damaged file, gc and check agree on orphans. */
  argus_store_check_report r;
  CHECK_OK(argus_store_check(s, 1, &r, &err));
  CHECK_INT_EQ(r.bad_crops, 1);
  CHECK_INT_EQ(r.problems, 1);
  unlink(bad_path);
  CHECK_OK(argus_store_check(s, 0, &r, &err));
  CHECK_INT_EQ(r.missing_crops, 1);
  char orphan[4200];
  snprintf(orphan, sizeof orphan, "%s/ab/%s.jpg", argus_store_crops_dir(s),
           "ab00000000000000000000000000000000000000000000000000000000000000");
  snprintf(bad_path, sizeof bad_path, "%s/ab", argus_store_crops_dir(s));
  mkdir(bad_path, 0700);
  FILE *f = fopen(orphan, "wb");
  if (f) {
    fputs("orphan", f);
    fclose(f);
  }
  snprintf(bad_path, sizeof bad_path, "%s/ab/.tmp-stale-1",
           argus_store_crops_dir(s));
  f = fopen(bad_path, "wb");
  if (f)
    fclose(f);
  CHECK_OK(argus_store_check(s, 0, &r, &err));
  CHECK_INT_EQ(r.orphan_files, 2);
  int64_t removed = 0;
  CHECK_OK(argus_store_gc(s, &removed, &err));
  CHECK_INT_EQ(removed, 2);
  CHECK(!file_exists(orphan) && !file_exists(bad_path));
  CHECK_OK(argus_store_check(s, 0, &r, &err));
  CHECK_INT_EQ(r.orphan_files, 0);
  argus_store_close(s);
}

/* ---- cameras, alerts, decisions, audit ---------------------------------- */

static void test_cameras_alerts(void) {
  char dir[600];
  make_dir(dir, sizeof dir, "alerts");
  argus_store *s = open_at(dir, "argus.db");
  CHECK(s != NULL);
  if (!s)
    return;
  argus_store_error err;
  argus_store_id cam = 0, wl = 0, p = 0;
  CHECK_OK(argus_store_camera_add(s, "gate", "rtsp://admin:s3cret@10.0.0.5/s",
                                  "{\"fps\": 5, \"tcp\": true}", 1, &cam,
                                  &err));
  CHECK_INT_EQ(argus_store_camera_add(s, "gate", "x", NULL, 1, NULL, &err),
               ARGUS_E_INVALID_ARG);
  CHECK(strstr(err.msg, "camera 'gate' already exists") != NULL);
  CHECK_INT_EQ(argus_store_camera_add(s, "lobby", "file.mp4", "{\"fps\": }", 1,
                                      NULL, &err),
               ARGUS_E_INVALID_ARG);
  CHECK(strstr(err.msg, "settings") != NULL);
  CHECK_INT_EQ(
      argus_store_camera_add(s, "lobby", "file.mp4", "[1]", 1, NULL, &err),
      ARGUS_E_INVALID_ARG);
  CHECK_OK(
      argus_store_camera_add(s, "lobby", "/v/lobby.mp4", NULL, 0, NULL, &err));
  argus_store_camera *cams = NULL;
  size_t n = 0;
  CHECK_OK(argus_store_camera_list(s, &cams, &n, &err));
  CHECK_INT_EQ(n, 2);
  if (n == 2) {
    CHECK(strcmp(cams[0].name, "gate") == 0);
    CHECK_INT_EQ(cams[0].enabled, 1);
    CHECK(strcmp(cams[1].settings, "{}") == 0);
    CHECK_INT_EQ(cams[1].enabled, 0);
  }
  argus_store_free(cams);
  /* Credentials never reach the audit log. */
  argus_store_audit *a = NULL;
  CHECK_OK(argus_store_audit_list(s, 0, 10, &a, &n, &err));
  for (size_t i = 0; i < n; i++)
    CHECK(strstr(a[i].detail, "s3cret") == NULL);
  argus_store_free(a);
  char red[256];
  argus_store_url_redact("rtsp://admin:s3cret@10.0.0.5:554/s?x=1", red,
                         sizeof red);
  CHECK(strcmp(red, "rtsp://admin:***@10.0.0.5:554/s?x=1") == 0);
  argus_store_url_redact("rtsp://10.0.0.5/a@b", red, sizeof red);
  CHECK(strcmp(red, "rtsp://10.0.0.5/a@b") == 0);
  argus_store_url_redact("http://user@host/", red, sizeof red);
  CHECK(strcmp(red, "http://user@host/") == 0);
  argus_store_camera c;
  CHECK_OK(argus_store_camera_get(s, "gate", &c, &err));
  CHECK(strstr(c.url, "s3cret") != NULL); /* the program needs it */
  CHECK_INT_EQ(argus_store_camera_get(s, "nope", &c, &err), ARGUS_E_NOT_FOUND);

  CHECK_OK(argus_store_watchlist_create(s, "vip", 0.5, NULL, &wl, &err));
  CHECK_OK(enrol(s, "vip", "Eve", NULL, 40, 1, &p, &err));
  argus_store_id ids[5];
  for (int i = 0; i < 5; i++) {
    unsigned char crop[4096];
    size_t cn = make_crop(7000 + (uint32_t)i, crop, sizeof crop);
    char t[40];
    snprintf(t, sizeof t, "2024-05-0%dT10:00:00+02:00", i + 1);
    argus_store_alert_in ai = {.threshold = NAN,
                               .track_start = NAN,
                               .camera_id = i < 3 ? cam : 0,
                               .camera = i < 3 ? "gate" : "file:///x.mp4",
                               .time = t,
                               .media_time = i,
                               .track_id = i,
                               .watchlist_id = wl,
                               .person_id = p,
                               .score = 0.5 + 0.1 * i,
                               .crop = crop,
                               .crop_size = cn};
    CHECK_OK(argus_store_alert_insert(s, &ai, &ids[i], &err));
  }
  argus_store_alert_in bad = {.threshold = NAN,
                              .track_start = NAN,
                              .camera = "gate",
                              .watchlist_id = wl,
                              .person_id = p,
                              .time = "yesterday"};
  CHECK_INT_EQ(argus_store_alert_insert(s, &bad, NULL, &err),
               ARGUS_E_INVALID_ARG);
  bad.time = NULL;
  bad.person_id = 999;
  CHECK_INT_EQ(argus_store_alert_insert(s, &bad, NULL, &err),
               ARGUS_E_NOT_FOUND);
  bad.person_id = p;
  bad.camera_id = 999;
  CHECK_INT_EQ(argus_store_alert_insert(s, &bad, NULL, &err),
               ARGUS_E_NOT_FOUND);

  argus_store_alert *al = NULL;
  CHECK_OK(argus_store_alert_list(s, NULL, &al, &n, &err));
  CHECK_INT_EQ(n, 5);
  if (n == 5) {
    CHECK_INT_EQ(al[0].id, ids[4]); /* newest first */
    CHECK(strcmp(al[4].time, "2024-05-01T08:00:00.000Z") == 0);
    CHECK(strcmp(al[4].person, "Eve") == 0);
    CHECK(strlen(al[4].crop_sha256) == 64 && al[4].thumb_sha256[0] == '\0');
  }
  argus_store_free(al);
  argus_store_alert_filter f = {
      .before_id = ids[4], .limit = 2, .status = -1, .camera = "gate"};
  CHECK_OK(argus_store_alert_list(s, &f, &al, &n, &err));
  CHECK_INT_EQ(n, 2);
  if (n == 2)
    CHECK(al[0].id == ids[2] && al[1].id == ids[1]);
  argus_store_free(al);

  CHECK_OK(argus_store_alert_set_status(s, ids[0], ARGUS_ALERT_REJECTED, &err));
  CHECK_OK(argus_store_decision_add(s, ids[1], "op", ARGUS_ALERT_CONFIRMED,
                                    NULL, NULL, &err));
  CHECK_INT_EQ(argus_store_decision_add(s, ids[1], "op", ARGUS_ALERT_PENDING,
                                        NULL, NULL, &err),
               ARGUS_E_INVALID_ARG);
  CHECK_INT_EQ(argus_store_decision_add(s, 999, "op", ARGUS_ALERT_REJECTED,
                                        NULL, NULL, &err),
               ARGUS_E_NOT_FOUND);
  f = (argus_store_alert_filter){.status = ARGUS_ALERT_CONFIRMED};
  CHECK_OK(argus_store_alert_list(s, &f, &al, &n, &err));
  CHECK_INT_EQ(n, 1);
  argus_store_free(al);
  argus_alert_status st;
  CHECK_OK(argus_alert_status_parse("rejected", &st));
  CHECK_INT_EQ(st, ARGUS_ALERT_REJECTED);
  CHECK_INT_EQ(argus_alert_status_parse("maybe", &st), ARGUS_E_INVALID_ARG);

  /* Retention by age keeps younger alerts and their files. */
  int files = count_crop_files(s);
  int64_t deleted = 0;
  CHECK_OK(argus_store_alert_purge_before(s, "2024-05-03T08:00:00Z", &deleted,
                                          &err));
  CHECK_INT_EQ(deleted, 2);
  CHECK_INT_EQ(count_crop_files(s), files - 2);
  CHECK_INT_EQ(argus_store_alert_purge_before(s, "soon", &deleted, &err),
               ARGUS_E_INVALID_ARG);

  /* Audit: caller rows, paging, JSON validation. */
  CHECK_OK(argus_store_audit_append(s, "auth.login", "user", 7,
                                    "{\"ip\":\"127.0.0.1\"}", &err));
  CHECK_INT_EQ(argus_store_audit_append(s, "x", NULL, 0, "{oops", &err),
               ARGUS_E_INVALID_ARG);
  CHECK_OK(argus_store_set_actor(s, "cli:tester", &err));
  CHECK_OK(argus_store_audit_append(s, "export", NULL, 0, NULL, &err));
  CHECK_INT_EQ(argus_store_set_actor(s, "", &err), ARGUS_E_INVALID_ARG);
  CHECK_OK(argus_store_audit_list(s, 0, 2, &a, &n, &err));
  CHECK_INT_EQ(n, 2);
  if (n == 2) {
    CHECK(strcmp(a[0].action, "export") == 0);
    CHECK(strcmp(a[0].actor, "cli:tester") == 0);
    CHECK(strcmp(a[1].action, "auth.login") == 0);
    CHECK_INT_EQ(a[1].object_id, 7);
    argus_store_audit *b = NULL;
    size_t m = 0;
    CHECK_OK(argus_store_audit_list(s, a[1].id, 1, &b, &m, &err));
    CHECK_INT_EQ(m, 1);
    if (m == 1)
      CHECK(b[0].id < a[1].id);
    argus_store_free(b);
  }
  argus_store_free(a);
  argus_store_check_report r;
  CHECK_OK(argus_store_check(s, 1, &r, &err));
  CHECK_INT_EQ(r.problems, 0);
  argus_store_close(s);
}

static void test_json(void) {
  char why[128];
  const char *good[] = {
      "{}", " {\"a\":1} ",
      ("{\"a\":[1,2.5e3,-0.1,true,null],\"b\":{\"c\":\"\\u00e9\\n\"}}")};
  const char *bad[] = {"",
                       "[]",
                       "{",
                       "{\"a\"}",
                       "{\"a\":01}",
                       "{\"a\":1,}",
                       "{\"a\":\"\x01\"}",
                       "{} x",
                       "{\"a\":tru}"};
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
    CHECK_INT_EQ(store_json_validate_object(good[i], why, sizeof why), 0);
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    CHECK_INT_EQ(store_json_validate_object(bad[i], why, sizeof why), -1);
  char deep[200];
  memset(deep, '[', sizeof deep);
  deep[0] = '{';
  deep[1] = '"';
  deep[2] = '"';
  deep[3] = ':';
  deep[sizeof deep - 1] = '\0';
  CHECK_INT_EQ(store_json_validate_object(deep, why, sizeof why), -1);
  /* The builder escapes and stays valid when it overflows. */
  store_json j;
  store_json_begin(&j);
  store_json_str(&j, "q", "a\"b\\c\n\x01");
  const char *out = store_json_end(&j);
  CHECK(strcmp(out, "{\"q\":\"a\\\"b\\\\c\\n\\u0001\"}") == 0);
  CHECK_INT_EQ(store_json_validate_object(out, why, sizeof why), 0);
  store_json_begin(&j);
  char big[1000];
  memset(big, 'x', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  for (int i = 0; i < 10; i++)
    store_json_str(&j, "k", big);
  out = store_json_end(&j);
  CHECK(j.overflow);
  CHECK_INT_EQ(store_json_validate_object(out, why, sizeof why), 0);
  /* SHA-256 known answers. */
  char h[ARGUS_STORE_SHA256_HEX];
  argus_sha256_hex("", 0, h);
  CHECK(strcmp(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b"
                  "7852b855") == 0);
  argus_sha256_hex("abc", 3, h);
  CHECK(strcmp(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61"
                  "f20015ad") == 0);
  const char *m56 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  argus_sha256_hex(m56, strlen(m56), h);
  CHECK(strcmp(h, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd4"
                  "19db06c1") == 0);
}

/* ---- crash test --------------------------------------------------------- */

/* The child: enrols persons with 3 photos (crops + templates) in a loop,
 * removes the oldest now and then, inserts alerts with crops, and reports
 * each committed step on the pipe ("A id" / "R id"). */
static void crash_child(const char *path, int fd, uint32_t seed) {
  argus_store *s = NULL;
  argus_store_error err;
  argus_store_options o = {.actor = "crash-child"};
  if (store_open_(path, &o, &s, &err) != ARGUS_OK) {
    fprintf(stderr, "child: open: %s\n", err.msg);
    _exit(3);
  }
  argus_err e = argus_store_watchlist_create(s, "crash", 0.5, NULL, NULL, &err);
  if (e != ARGUS_OK && e != ARGUS_E_INVALID_ARG)
    _exit(4);
  argus_store_watchlist w;
  if (argus_store_watchlist_get(s, "crash", &w, &err) != ARGUS_OK)
    _exit(5);
  /* Tell the parent the store is open: later rounds time their kill from
     here, so a slow open (a PostgreSQL connection on a loaded machine) does
     not leave them killing the child before its first step. */
  if (write(fd, "O 0\n", 4) != 4)
    _exit(6);
  uint32_t rng = seed;
  unsigned char crops[3][4096], common[4096];
  size_t common_n = make_crop(424242, common, sizeof common);
  float vecs[3][16];
  for (uint32_t it = 0;; it++) {
    uint32_t base = rng_next(&rng);
    argus_store_photo_in ph[3];
    char src[3][32], name[32];
    for (int i = 0; i < 3; i++) {
      uint32_t ps = base + (uint32_t)i;
      /* Every 4th person shares one crop with others: refcounted files. */
      if (i == 2 && it % 4 == 0) {
        ph[i].crop = common;
        ph[i].crop_size = common_n;
      } else {
        ph[i].crop = crops[i];
        ph[i].crop_size = make_crop(ps, crops[i], sizeof crops[i]);
      }
      ph[i].quality = 0.5f;
      snprintf(src[i], sizeof src[i], "seed=%u", ps);
      ph[i].source = src[i];
      make_vector(ps, vecs[i], 16);
      ph[i].vector = vecs[i];
    }
    snprintf(name, sizeof name, "p%u", base);
    argus_store_person_in pin = {name, NULL, NULL};
    argus_store_id id = 0;
    if (argus_store_person_add(s, "crash", &pin, &MODEL_A, ph, 3, &id, &err) !=
        ARGUS_OK) {
      fprintf(stderr, "child: add: %s\n", err.msg);
      _exit(6);
    }
    char line[64];
    int len = snprintf(line, sizeof line, "A %lld\n", (long long)id);
    if (write(fd, line, (size_t)len) != len)
      _exit(7);
    if (it % 3 == 1) {
      argus_store_alert_in ai = {.threshold = NAN,
                                 .track_start = NAN,
                                 .camera = "cam",
                                 .watchlist_id = w.id,
                                 .person_id = id,
                                 .score = 0.8,
                                 .crop = crops[0],
                                 .crop_size = ph[0].crop_size,
                                 .thumb = crops[1],
                                 .thumb_size = ph[1].crop_size};
      if (argus_store_alert_insert(s, &ai, NULL, &err) != ARGUS_OK)
        _exit(8);
    }
    if (it % 5 == 4) {
      argus_store_person *list = NULL;
      size_t n = 0;
      if (argus_store_person_list(s, "crash", NULL, &list, &n, &err) !=
          ARGUS_OK)
        _exit(9);
      argus_store_id oldest = 0;
      for (size_t i = 0; i < n; i++)
        if (!oldest || list[i].id < oldest)
          oldest = list[i].id;
      argus_store_free(list);
      if (oldest) {
        if (argus_store_person_remove(s, oldest, &err) != ARGUS_OK)
          _exit(10);
        len = snprintf(line, sizeof line, "R %lld\n", (long long)oldest);
        if (write(fd, line, (size_t)len) != len)
          _exit(7);
      }
    }
    if (it % 25 == 24) {
      char t[ARGUS_STORE_TIME_MAX];
      argus_store_now(t);
      int64_t d = 0;
      if (argus_store_alert_purge_before(s, t, &d, &err) != ARGUS_OK)
        _exit(11);
    }
  }
}

typedef struct id_set {
  argus_store_id *v;
  size_t n, cap;
} id_set;

static int set_has(const id_set *s, argus_store_id id) {
  for (size_t i = 0; i < s->n; i++)
    if (s->v[i] == id)
      return 1;
  return 0;
}
static void set_add(id_set *s, argus_store_id id) {
  if (set_has(s, id))
    return;
  if (s->n == s->cap) {
    s->cap = s->cap ? s->cap * 2 : 64;
    s->v = realloc(s->v, s->cap * sizeof *s->v);
  }
  s->v[s->n++] = id;
}
static void set_del(id_set *s, argus_store_id id) {
  for (size_t i = 0; i < s->n; i++)
    if (s->v[i] == id) {
      s->v[i] = s->v[--s->n];
      return;
    }
}

typedef struct tpl_check {
  argus_store *s;
  int bad;
} tpl_check;

static int tpl_check_fn(void *user, const argus_store_template *t) {
  tpl_check *c = user;
  (void)c;
  if (t->dim != 16)
    c->bad++;
  return 0;
}

/* After a kill: everything the child reported is there, nothing half. */
static int crash_verify(const char *path, id_set *alive, int round,
                        int64_t *orphans) {
  int fails = check_failures_;
  argus_store *s = NULL;
  argus_store_error err;
  argus_store_options o = {.actor = "crash-parent"};
  argus_err e = store_open_(path, &o, &s, &err);
  CHECK_OK(e);
  if (e != ARGUS_OK) {
    fprintf(stderr, "round %d: reopen: %s\n", round, err.msg);
    return -1;
  }
  /* Independent look at the database: SQLite's own checks (PostgreSQL
   * enforces foreign keys at all times and has no such check), then the
   * store's invariants. */
  sqlite3 *h = NULL;
  sqlite3_stmt *st = NULL;
  if (!g_pg) {
    CHECK_INT_EQ(sqlite3_open_v2(path, &h, SQLITE_OPEN_READONLY, NULL),
                 SQLITE_OK);
    sqlite3_prepare_v2(h, "PRAGMA integrity_check", -1, &st, NULL);
    CHECK_INT_EQ(sqlite3_step(st), SQLITE_ROW);
    CHECK(strcmp((const char *)sqlite3_column_text(st, 0), "ok") == 0);
    sqlite3_finalize(st);
    sqlite3_prepare_v2(h, "PRAGMA foreign_key_check", -1, &st, NULL);
    CHECK_INT_EQ(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
  }
  static const char *const zero[] = {
      /* templates whose person or photo is gone, or disagree */
      "SELECT count(*) FROM templates t LEFT JOIN photos p ON p.id = "
      "t.photo_id LEFT JOIN persons q ON q.id = t.person_id WHERE p.id IS "
      "NULL OR q.id IS NULL OR p.person_id <> t.person_id",
      "SELECT count(*) FROM photos f LEFT JOIN persons q ON q.id = "
      "f.person_id WHERE q.id IS NULL",
      /* every enrolment is whole: 3 photos, 3 templates */
      "SELECT count(*) FROM persons q WHERE (SELECT count(*) FROM photos f "
      "WHERE f.person_id = q.id) <> 3 OR (SELECT count(*) FROM templates t "
      "WHERE t.person_id = q.id) <> 3",
      "SELECT count(*) FROM templates WHERE length(vector) <> 4 * dim",
      /* every add was audited in its transaction */
      "SELECT count(*) FROM persons q WHERE NOT EXISTS (SELECT 1 FROM audit "
      "a WHERE a.action = 'person.add' AND a.object_id = q.id)",
      /* the purge queue was worked off at open */
      "SELECT count(*) FROM crop_purge",
  };
  for (size_t i = 0; i < sizeof zero / sizeof zero[0]; i++) {
    int64_t v = -1;
    if (g_pg) {
      v = sql_int(path, zero[i]);
    } else {
      sqlite3_prepare_v2(h, zero[i], -1, &st, NULL);
      int rc = sqlite3_step(st);
      v = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
      sqlite3_finalize(st);
    }
    if (v != 0)
      fprintf(stderr, "round %d: invariant %zu: %lld rows\n", round, i,
              (long long)v);
    CHECK_INT_EQ(v, 0);
  }
  sqlite3_close(h);

  /* Every crop file referenced exists and hashes right. */
  argus_store_check_report r;
  CHECK_OK(argus_store_check(s, 1, &r, &err));
  if (r.problems)
    fprintf(stderr, "round %d: %s\n", round, r.first_problem);
  CHECK_INT_EQ(r.problems, 0);
  /* Files of the transaction the kill interrupted were removed at open. */
  CHECK_INT_EQ(r.orphan_files, 0);
  *orphans = r.orphan_files;

  /* What the child reported is what the database holds, give or take the
   * one step in flight when it died. */
  argus_store_person *list = NULL;
  size_t n = 0;
  e = argus_store_person_list(s, "crash", NULL, &list, &n, &err);
  /* The first kills may come before the child created the watchlist. */
  if (e == ARGUS_E_NOT_FOUND)
    CHECK_INT_EQ(alive->n, 0);
  else
    CHECK_OK(e);
  int extra = 0, missing = 0;
  id_set now = {0};
  for (size_t i = 0; i < n; i++) {
    set_add(&now, list[i].id);
    if (!set_has(alive, list[i].id))
      extra++;
  }
  for (size_t i = 0; i < alive->n; i++)
    if (!set_has(&now, alive->v[i]))
      missing++;
  argus_store_free(list);
  if (extra > 1 || missing > 1)
    fprintf(stderr, "round %d: %d unreported persons, %d lost\n", round, extra,
            missing);
  CHECK(extra <= 1);
  CHECK(missing <= 1);
  int64_t tcount = 0;
  CHECK_OK(argus_store_template_count(s, &MODEL_A, &tcount, &err));
  CHECK_INT_EQ(tcount, 3 * (int64_t)n);
  tpl_check tc = {s, 0};
  CHECK_OK(
      argus_store_template_foreach(s, &MODEL_A, 0, tpl_check_fn, &tc, &err));
  CHECK_INT_EQ(tc.bad, 0);
  /* Continue from the truth. */
  free(alive->v);
  *alive = now;
  argus_store_close(s);
  return check_failures_ == fails ? (int)n : -1;
}

static void test_crash(void) {
  char dir[600], path[700];
  make_dir(dir, sizeof dir, "crash");
  snprintf(path, sizeof path, "%s/argus.db", dir);
  /* Delays in microseconds: the first ones land in open and migration. */
  static const int delays_us[] = {300,    1500,   4000,   9000,   20000,
                                  35000,  60000,  90000,  130000, 180000,
                                  250000, 330000, 420000, 77000,  5000};
  const int rounds = (int)(sizeof delays_us / sizeof delays_us[0]);
  id_set alive = {0};
  uint32_t rng = (uint32_t)time(NULL) ^ (uint32_t)getpid();
  printf("crash test seed %u\n", rng);
  int total_reports = 0;
  for (int round = 0; round < rounds; round++) {
    int fds[2];
    if (pipe(fds) != 0) {
      CHECK(0);
      return;
    }
    uint32_t seed = rng_next(&rng);
    pid_t pid = fork();
    if (pid == 0) {
      close(fds[0]);
      crash_child(path, fds[1], seed);
      _exit(0);
    }
    close(fds[1]);
    FILE *f = fdopen(fds[0], "r");
    char line[64];
    /* Rounds with a delay under 10 ms kill during open and migration; the
       others count their delay from the child's "open" line. */
    if (f && delays_us[round] >= 10000)
      while (fgets(line, sizeof line, f) && line[0] != 'O')
        ;
    /* Jitter the delay so kills fall at different points each run. */
    int d = delays_us[round] + (int)(rng_next(&rng) % 3000);
    usleep((useconds_t)d);
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
    if (WIFEXITED(status))
      fprintf(stderr, "round %d: child exited with %d\n", round,
              WEXITSTATUS(status));
    /* Apply the child's reports. */
    int reports = 0;
    while (f && fgets(line, sizeof line, f)) {
      long long id = 0;
      char op = 0;
      if (sscanf(line, "%c %lld", &op, &id) == 2) {
        if (op == 'O')
          continue;
        if (op == 'A')
          set_add(&alive, id);
        else
          set_del(&alive, id);
        reports++;
      }
    }
    if (f)
      fclose(f);
    total_reports += reports;
    int64_t orphans = 0;
    int n = crash_verify(path, &alive, round, &orphans);
    printf("round %d: killed after %.1f ms, %d steps reported, %d persons, "
           "%lld orphan files\n",
           round, d / 1000.0, reports, n, (long long)orphans);
    if (n < 0)
      break;
  }
  CHECK(total_reports >= 20); /* the loop really ran */
  /* gc removes what the kills left between file write and commit. */
  argus_store *s = NULL;
  argus_store_error err;
  CHECK_OK(store_open_(path, NULL, &s, &err));
  if (s) {
    int64_t removed = 0;
    CHECK_OK(argus_store_gc(s, &removed, &err));
    argus_store_check_report r;
    CHECK_OK(argus_store_check(s, 1, &r, &err));
    CHECK_INT_EQ(r.problems, 0);
    CHECK_INT_EQ(r.orphan_files, 0);
    printf("crash test: gc removed %lld files; %lld persons, %lld photos, "
           "%lld templates, %lld alerts, %lld crop files\n",
           (long long)removed, (long long)r.persons, (long long)r.photos,
           (long long)r.templates, (long long)r.alerts,
           (long long)r.crop_files);
    argus_store_close(s);
  }
  free(alive.v);
}

/* ---- several processes at once ------------------------------------------ */

/* Writers in parallel, each reopening the store for every enrolment (an
 * open works off other processes' intent files under the write lock while
 * they are busy) and removing some of its persons again. */
static void test_concurrent(void) {
  char dir[600], path[700];
  make_dir(dir, sizeof dir, "concurrent");
  snprintf(path, sizeof path, "%s/argus.db", dir);
  argus_store *s = open_at(dir, "argus.db");
  CHECK(s != NULL);
  if (!s)
    return;
  CHECK_OK(argus_store_watchlist_create(s, "w", 0.5, NULL, NULL, NULL));
  enum { WORKERS = 3, EACH = 12 };
  pid_t pids[WORKERS];
  for (int w = 0; w < WORKERS; w++) {
    pids[w] = fork();
    if (pids[w] == 0) {
      for (int i = 0; i < EACH; i++) {
        argus_store *c = NULL;
        argus_store_error err;
        argus_store_options o = {.actor = "worker", .busy_timeout_ms = 30000};
        if (store_open_(path, &o, &c, &err) != ARGUS_OK) {
          fprintf(stderr, "worker %d: open: %s\n", w, err.msg);
          _exit(1);
        }
        char name[32];
        snprintf(name, sizeof name, "w%d-%d", w, i);
        argus_store_id id = 0;
        /* Seeds overlap between workers: shared crop files. */
        if (enrol(c, "w", name, NULL, (uint32_t)(i * 2 + w), 3, &id, &err) !=
            ARGUS_OK) {
          fprintf(stderr, "worker %d: enrol: %s\n", w, err.msg);
          _exit(2);
        }
        if (i % 4 == 3 && argus_store_person_remove(c, id, &err) != ARGUS_OK) {
          fprintf(stderr, "worker %d: remove: %s\n", w, err.msg);
          _exit(3);
        }
        argus_store_close(c);
      }
      _exit(0);
    }
  }
  for (int w = 0; w < WORKERS; w++) {
    int status = 0;
    waitpid(pids[w], &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  argus_store_person *list = NULL;
  size_t n = 0;
  CHECK_OK(argus_store_person_list(s, "w", NULL, &list, &n, NULL));
  CHECK_INT_EQ(n, WORKERS * (EACH - EACH / 4));
  argus_store_free(list);
  argus_store_check_report r;
  CHECK_OK(argus_store_check(s, 1, &r, NULL));
  CHECK_INT_EQ(r.problems, 0);
  CHECK_INT_EQ(r.orphan_files, 0);
  CHECK_INT_EQ(r.photos, 3 * (int64_t)n);
  /* The writers ran one at a time: the audit chain (each row hashes its
   * predecessor, read in the writer's transaction) holds. */
  argus_store_audit_check ac;
  CHECK_OK(argus_store_audit_verify(s, 0, NULL, &ac, NULL));
  if (ac.fault != ARGUS_AUDIT_INTACT)
    fprintf(stderr, "audit chain after concurrent writers: %s\n", ac.msg);
  CHECK_INT_EQ(ac.fault, ARGUS_AUDIT_INTACT);
  CHECK(ac.rows >= WORKERS * EACH);
  argus_store_close(s);
}

/* Processes opening a new database at the same moment: each open succeeds
 * and the migrations run once. */
static void test_first_opens(void) {
  char dir[600], path[700];
  make_dir(dir, sizeof dir, "first-opens");
  snprintf(path, sizeof path, "%s/argus.db", dir);
  if (g_pg) { /* the (empty) database exists: a server does not make one */
    char url[160];
    CHECK_INT_EQ(pg_db_for_path(g_pg, path, 1, url, sizeof url), 0);
  }
  enum { OPENERS = 4 };
  int go[2];
  if (pipe(go) != 0) {
    CHECK(0);
    return;
  }
  pid_t pids[OPENERS];
  for (int w = 0; w < OPENERS; w++) {
    pids[w] = fork();
    if (pids[w] == 0) {
      close(go[1]);
      char c;
      if (read(go[0], &c, 1) < 0) /* returns when the parent closes it */
        _exit(4);
      argus_store *c2 = NULL;
      argus_store_error err;
      argus_store_options o = {.actor = "opener", .busy_timeout_ms = 30000};
      if (store_open_(path, &o, &c2, &err) != ARGUS_OK) {
        fprintf(stderr, "opener %d: %s\n", w, err.msg);
        _exit(1);
      }
      argus_store_close(c2);
      _exit(0);
    }
  }
  close(go[0]);
  close(go[1]);
  for (int w = 0; w < OPENERS; w++) {
    int status = 0;
    waitpid(pids[w], &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  CHECK_INT_EQ(sql_int(path, "SELECT count(*) FROM schema_version"),
               ARGUS_STORE_SCHEMA_VERSION);
  argus_store *s = open_at(dir, "argus.db");
  CHECK(s != NULL);
  CHECK_INT_EQ(audit_count(s, "schema.migrate"), ARGUS_STORE_SCHEMA_VERSION);
  argus_store_close(s);
}

/* ---- alert review --------------------------------------------------------
 * Filters by person and time, the decisions of an alert, and the first
 * decision winning: sequentially and between processes racing to decide. */
static void test_alert_review(void) {
  char dir[600], path[700];
  make_dir(dir, sizeof dir, "review");
  snprintf(path, sizeof path, "%s/argus.db", dir);
  argus_store *s = open_at(dir, "argus.db");
  CHECK(s != NULL);
  if (!s)
    return;
  argus_store_error err;
  argus_store_id wl = 0, ann = 0, bob = 0, ids[4] = {0};
  CHECK_OK(argus_store_watchlist_create(s, "vip", 0.5, NULL, &wl, &err));
  CHECK_OK(enrol(s, "vip", "Ann", NULL, 90, 1, &ann, &err));
  CHECK_OK(enrol(s, "vip", "Bob", NULL, 95, 1, &bob, &err));
  for (int i = 0; i < 4; i++) {
    char t[40];
    snprintf(t, sizeof t, "2024-06-0%dT12:00:00Z", i + 1);
    argus_store_alert_in ai = {.threshold = NAN,
                               .track_start = NAN,
                               .camera = "door",
                               .time = t,
                               .watchlist_id = wl,
                               .person_id = i % 2 ? bob : ann,
                               .score = 0.6};
    CHECK_OK(argus_store_alert_insert(s, &ai, &ids[i], &err));
  }
  argus_store_alert *al = NULL;
  size_t n = 0;
  argus_store_alert_filter f = {.status = -1, .person = "Bob"};
  CHECK_OK(argus_store_alert_list(s, &f, &al, &n, &err));
  CHECK_INT_EQ(n, 2);
  if (n == 2)
    CHECK(al[0].id == ids[3] && al[1].id == ids[1]);
  argus_store_free(al);
  /* since is inclusive, until exclusive; offsets are normalised. */
  f = (argus_store_alert_filter){.status = -1,
                                 .since = "2024-06-02T14:00:00+02:00",
                                 .until = "2024-06-04T12:00:00Z"};
  CHECK_OK(argus_store_alert_list(s, &f, &al, &n, &err));
  CHECK_INT_EQ(n, 2);
  if (n == 2)
    CHECK(al[0].id == ids[2] && al[1].id == ids[1]);
  argus_store_free(al);
  f = (argus_store_alert_filter){.status = -1, .since = "last week"};
  CHECK_INT_EQ(argus_store_alert_list(s, &f, &al, &n, &err),
               ARGUS_E_INVALID_ARG);
  CHECK(strstr(err.msg, "since") != NULL);
  CHECK(al == NULL && n == 0);

  /* No decisions yet; unknown alert. */
  argus_store_decision *d = NULL;
  CHECK_OK(argus_store_decision_list(s, ids[0], &d, &n, &err));
  CHECK_INT_EQ(n, 0);
  argus_store_free(d);
  CHECK_INT_EQ(argus_store_decision_list(s, 999, &d, &n, &err),
               ARGUS_E_NOT_FOUND);

  /* The first decision wins; a second is refused and changes nothing. */
  CHECK_OK(argus_store_decision_add(s, ids[0], "cli:ann", ARGUS_ALERT_CONFIRMED,
                                    "seen at the door", NULL, &err));
  CHECK_INT_EQ(argus_store_decision_add(s, ids[0], "cli:bob",
                                        ARGUS_ALERT_REJECTED, NULL, NULL, &err),
               ARGUS_E_INVALID_ARG);
  CHECK(strstr(err.msg, "already confirmed by cli:ann") != NULL);
  CHECK_INT_EQ(argus_store_decision_add(s, ids[0], "cli:ann",
                                        ARGUS_ALERT_CONFIRMED, NULL, NULL,
                                        &err),
               ARGUS_E_INVALID_ARG);
  argus_store_alert a;
  CHECK_OK(argus_store_alert_get(s, ids[0], &a, &err));
  CHECK_INT_EQ(a.status, ARGUS_ALERT_CONFIRMED);
  CHECK_OK(argus_store_decision_list(s, ids[0], &d, &n, &err));
  CHECK_INT_EQ(n, 1);
  if (n == 1) {
    CHECK(strcmp(d[0].operator_name, "cli:ann") == 0);
    CHECK_INT_EQ(d[0].decision, ARGUS_ALERT_CONFIRMED);
    CHECK(strcmp(d[0].comment, "seen at the door") == 0);
    CHECK(strlen(d[0].time) > 0);
    char buf[512];
    argus_json j;
    argus_json_init(&j, buf, sizeof buf);
    argus_store_decision_json(&d[0], &j);
    size_t len = argus_json_finish(&j);
    CHECK(len > 0);
    CHECK_OK(argus_json_validate(buf, len, 0, NULL));
    CHECK(strstr(buf, "\"decision\":\"confirmed\"") != NULL);
  }
  argus_store_free(d);
  CHECK_INT_EQ(audit_count(s, "alert.decision"), 1);
  /* An alert whose status was set directly is decided too. */
  CHECK_OK(argus_store_alert_set_status(s, ids[1], ARGUS_ALERT_REJECTED, &err));
  CHECK_INT_EQ(argus_store_decision_add(s, ids[1], "cli:ann",
                                        ARGUS_ALERT_CONFIRMED, NULL, NULL,
                                        &err),
               ARGUS_E_INVALID_ARG);
  CHECK(strstr(err.msg, "already rejected") != NULL);

  /* Racing processes: exactly one of them decides ids[2]. */
  enum { RACERS = 4 };
  pid_t pids[RACERS];
  for (int w = 0; w < RACERS; w++) {
    pids[w] = fork();
    if (pids[w] == 0) {
      argus_store *c = NULL;
      argus_store_error cerr;
      argus_store_options o = {.actor = "racer", .busy_timeout_ms = 30000};
      if (store_open_(path, &o, &c, &cerr) != ARGUS_OK)
        _exit(3);
      char op[32];
      snprintf(op, sizeof op, "cli:racer%d", w);
      argus_err e = argus_store_decision_add(
          c, ids[2], op, w % 2 ? ARGUS_ALERT_REJECTED : ARGUS_ALERT_CONFIRMED,
          NULL, NULL, &cerr);
      argus_store_close(c);
      _exit(e == ARGUS_OK ? 0 : e == ARGUS_E_INVALID_ARG ? 1 : 4);
    }
  }
  int won = 0, lost = 0;
  for (int w = 0; w < RACERS; w++) {
    int status = 0;
    waitpid(pids[w], &status, 0);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
      won++;
    else if (WIFEXITED(status) && WEXITSTATUS(status) == 1)
      lost++;
  }
  CHECK_INT_EQ(won, 1);
  CHECK_INT_EQ(lost, RACERS - 1);
  CHECK_OK(argus_store_decision_list(s, ids[2], &d, &n, &err));
  CHECK_INT_EQ(n, 1);
  argus_store_free(d);
  CHECK_INT_EQ(sql_int(path, "SELECT count(*) FROM decisions"), 2);
  argus_store_close(s);
}

int main(void) {
  const char *tmp = getenv("TMPDIR");
  snprintf(g_root, sizeof g_root, "%s/argus-store-XXXXXX",
           tmp && tmp[0] ? tmp : "/tmp");
  if (!mkdtemp(g_root)) {
    perror("mkdtemp");
    return 1;
  }
  argus_log_set_level(ARGUS_LOG_ERROR);
  if (pg_test_wanted()) {
    int pr = pg_cluster_start(&g_pgc);
    if (pr != 0) {
      fprintf(stderr, "test_store: no PostgreSQL cluster\n");
      return pr == 77 ? 77 : 1;
    }
    g_pg = &g_pgc;
    printf("test_store: on PostgreSQL (port %d)\n", g_pgc.port);
  }
  test_json();
  test_open();
  test_open_must_exist();
  test_watchlists();
  test_persons();
  test_cascade();
  test_atomicity();
  test_reindex();
  test_cameras_alerts();
  test_alert_review();
  test_concurrent();
  test_first_opens();
  test_crash();
  int rc = check_report(g_pg ? "test_store (PostgreSQL)" : "test_store");
  if (g_pg)
    pg_cluster_stop(&g_pgc);
  if (rc == 0)
    rm_rf(g_root);
  else
    fprintf(stderr, "kept %s for inspection\n", g_root);
  return rc;
}
