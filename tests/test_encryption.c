/* Encryption at rest (docs/lawful-use.md, "Encryption at rest"):
 *  - with a key, the database file (and its -wal) and every file under the
 *    crop folder hold no JPEG signature and no raw template bytes, and
 *    reading back gives the same vectors and JPEGs;
 *  - a missing or wrong key (and a group-readable key file) is a clear
 *    error that changes no byte of the database or the crop folder;
 *  - a plaintext database upgraded through migration 9 with data in it,
 *    then encrypted whole by `argus key rotate`;
 *  - a rotation to a new key, whole, and one killed (SIGKILL) twice on the
 *    way and run again: everything opens with the new key alone, nothing
 *    lost, the old key no longer opens it.
 * ARGUS_SEAL_BENCH=1 also measures enrolment, template load and alert
 * insert with and without a key (printed, not checked; SQLite only).
 *
 * With ARGUS_TEST_STORE=postgres (test_encryption_pg) the stores are
 * databases of a throwaway PostgreSQL cluster (tests/pg_util.h), their
 * data folders given by ARGUS_DATA_DIR to the CLI. What is at rest there:
 * the vector columns as the server returns them (bytea in binary, not
 * through argus), the database's relation files under the cluster's
 * data/base/<oid> after a CHECKPOINT (and, before any plaintext was
 * written in the cluster, its WAL), and the crop folder. "No byte
 * changed" compares every table's rows (with their xmin and ctid) and
 * the crop folder. */
#define _GNU_SOURCE
#include <dirent.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "argus/core.h"
#include "argus/image.h"
#include "argus/store.h"
#include "check.h"
#include "cli_util.h"
#include "pg_util.h"

#define DIM 512
#define NPHOTO 3

static const char *cli;
static char tmp[256], key_a[300], key_b[300], key_bad[300];
static cli_result r;
static argus_store_model model = {"seal-test", "1", DIM};
static pg_cluster g_pgc;
static const pg_cluster *g_pg; /* NULL: SQLite files */

/* The --db argument for database file `db`: under PostgreSQL its URL,
 * with ARGUS_DATA_DIR set to the file's folder. Valid until the next
 * call. */
static const char *cli_db(const char *db) {
  const char *a = pg_test_db_arg(g_pg, db);
  CHECK(a != NULL);
  return a ? a : db;
}

/* Photo i's JPEG (a gradient that differs per i) and template. */
static uint8_t *jpeg_of(int i, size_t *n) {
  argus_image img;
  if (argus_image_alloc(&img, 48, 48, ARGUS_PIX_RGB8) != ARGUS_OK)
    return NULL;
  for (int y = 0; y < 48; y++)
    for (int x = 0; x < 48; x++) {
      uint8_t *p = img.data[0] + y * img.stride[0] + 3 * x;
      p[0] = (uint8_t)(x * 5 + i * 13);
      p[1] = (uint8_t)(y * 5 + i * 7);
      p[2] = (uint8_t)((x ^ y) + i);
    }
  uint8_t *out = NULL;
  argus_err e = argus_image_encode_jpeg(&img, 85, &out, n);
  argus_image_free(&img);
  return e == ARGUS_OK ? out : NULL;
}

static void vec_of(int i, float *v) {
  for (int k = 0; k < DIM; k++)
    v[k] = 0.01f * (float)((k * 7919 + i * 104729) % 997) - 4.9f + 0.001f * i;
}

static argus_store *open_db(const char *db, argus_err *eo, char *msg,
                            size_t msz) {
  argus_store_options o;
  memset(&o, 0, sizeof o);
  o.actor = "test:seal";
  argus_store *s = NULL;
  argus_store_error err = {{0}};
  argus_err e = pg_test_store_open(g_pg, db, &o, &s, &err);
  if (eo)
    *eo = e;
  if (msg)
    snprintf(msg, msz, "%s", err.msg);
  if (e != ARGUS_OK && !eo)
    fprintf(stderr, "open %s: %s\n", db, err.msg);
  return s;
}

/* Enrols persons first..first+n-1 of NPHOTO photos each. */
static void enrol(argus_store *s, int first, int n) {
  for (int p = first; p < first + n; p++) {
    uint8_t *jp[NPHOTO];
    size_t jn[NPHOTO];
    float v[NPHOTO][DIM];
    argus_store_photo_in ph[NPHOTO];
    for (int k = 0; k < NPHOTO; k++) {
      jp[k] = jpeg_of(p * NPHOTO + k, &jn[k]);
      vec_of(p * NPHOTO + k, v[k]);
      ph[k] = (argus_store_photo_in){jp[k], jn[k], 0.9f, "t.jpg", v[k]};
    }
    char name[32];
    snprintf(name, sizeof name, "person %d", p);
    argus_store_person_in pin = {name, NULL, NULL};
    argus_store_error err = {{0}};
    argus_err e =
        argus_store_person_add(s, "w", &pin, &model, ph, NPHOTO, NULL, &err);
    if (e != ARGUS_OK)
      fprintf(stderr, "enrol %d: %s\n", p, err.msg);
    CHECK_OK(e);
    for (int k = 0; k < NPHOTO; k++)
      free(jp[k]);
  }
}

static argus_store_id alert_with_crop(argus_store *s, int i) {
  size_t cn = 0, tn = 0;
  uint8_t *c = jpeg_of(1000 + i, &cn), *t = jpeg_of(2000 + i, &tn);
  float probe[DIM];
  vec_of(3000 + i, probe);
  argus_store_alert_in a;
  memset(&a, 0, sizeof a);
  a.camera = "cam";
  a.watchlist_id = 1;
  a.person_id = 1;
  a.score = 0.7;
  a.crop = c;
  a.crop_size = cn;
  a.thumb = t;
  a.thumb_size = tn;
  a.threshold = NAN;
  a.track_start = NAN;
  a.probe = probe;
  a.probe_dim = DIM;
  a.probe_model = "seal-test@1";
  argus_store_id id = 0;
  argus_store_error err = {{0}};
  argus_err e = argus_store_alert_insert(s, &a, &id, &err);
  if (e != ARGUS_OK)
    fprintf(stderr, "alert: %s\n", err.msg);
  CHECK_OK(e);
  free(c);
  free(t);
  return id;
}

/* ---- scanning the bytes at rest ----------------------------------------- */

static uint8_t *slurp(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  *n = 0;
  if (!f)
    return NULL;
  fseek(f, 0, SEEK_END);
  long sz = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *b = malloc((size_t)(sz > 0 ? sz : 1));
  *n = b ? fread(b, 1, (size_t)(sz > 0 ? sz : 0), f) : 0;
  fclose(f);
  return b;
}

/* What a scan looked at and found. raw counts (file or value, template)
 * pairs; raw_sql and raw_pgdata are the part of it found in column values
 * read over SQL and in the PostgreSQL cluster's own files. */
typedef struct scan {
  int files, values, jpeg, raw;
  int raw_sql, raw_pgdata;
  int where; /* 0 a file of ours, 1 a column value, 2 a cluster file */
  int nvec;
  const float *vecs; /* nvec * DIM */
  uint64_t digest;   /* of every path and content, for "unchanged" */
  /* The windows looked for (8 floats at every 8th float of each
   * template), sorted by their first 4 bytes, and a bitmap of a hash of
   * those first 4 bytes that rules out most positions at once. */
  struct window {
    uint32_t first;
    int vec, k;
  } * win;
  int nwin;
  uint8_t bits[8192];
} scan;

static int scan_quiet; /* the plaintext control: its findings are expected */

static uint64_t fnv(uint64_t h, const void *p, size_t n) {
  const uint8_t *b = p;
  for (size_t i = 0; i < n; i++)
    h = (h ^ b[i]) * 1099511628211ull;
  return h;
}

static uint32_t win_hash(uint32_t w) { return (w * 2654435761u) >> 16; }

static int win_cmp(const void *a, const void *b) {
  const struct window *x = a, *y = b;
  return x->first < y->first ? -1 : x->first > y->first;
}

static void scan_init(scan *sc, const float *vecs, int nvec) {
  memset(sc, 0, sizeof *sc);
  sc->digest = 1469598103934665603ull;
  sc->nvec = nvec;
  sc->vecs = vecs;
  if (!nvec)
    return;
  sc->win = malloc((size_t)nvec * (DIM / 8) * sizeof *sc->win);
  if (!sc->win) {
    sc->nvec = 0;
    return;
  }
  for (int i = 0; i < nvec; i++)
    for (int k = 0; k + 8 <= DIM; k += 8) {
      struct window *w = &sc->win[sc->nwin++];
      memcpy(&w->first, vecs + (size_t)i * DIM + k, 4);
      w->vec = i;
      w->k = k;
      uint32_t h = win_hash(w->first);
      sc->bits[h >> 3] |= (uint8_t)(1u << (h & 7));
    }
  qsort(sc->win, (size_t)sc->nwin, sizeof *sc->win, win_cmp);
}

static void scan_done(scan *sc) {
  free(sc->win);
  sc->win = NULL;
  sc->nwin = 0;
}

/* Looks for a JPEG signature and raw template bytes in b. */
static void scan_buf(scan *sc, const char *name, const uint8_t *b, size_t n) {
  sc->digest = fnv(fnv(sc->digest, name, strlen(name)), b, n);
  /* The start of a stream as the encoder writes it: SOI, then the JFIF
   * APP0 segment (16 bytes). A bare 3-byte SOI would turn up by chance
   * in about 1 of 10,000 sealed files of 1.5 KB. */
  static const uint8_t soi[11] = {0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10,
                                  0x4A, 0x46, 0x49, 0x46, 0x00};
  if (memmem(b, n, soi, sizeof soi)) {
    sc->jpeg++;
    if (!scan_quiet)
      fprintf(stderr, "JPEG signature in %s\n", name);
  }
  if (!sc->nvec || n < 32)
    return;
  /* any 8 consecutive floats of a template, as stored in plaintext */
  uint8_t *hit = calloc((size_t)sc->nvec, 1);
  if (!hit)
    return;
  for (size_t pos = 0; pos + 32 <= n; pos++) {
    uint32_t w;
    memcpy(&w, b + pos, 4);
    uint32_t h = win_hash(w);
    if (!(sc->bits[h >> 3] & (1u << (h & 7))))
      continue;
    int lo = 0, hi = sc->nwin;
    while (lo < hi) {
      int mid = (lo + hi) / 2;
      if (sc->win[mid].first < w)
        lo = mid + 1;
      else
        hi = mid;
    }
    for (int i = lo; i < sc->nwin && sc->win[i].first == w; i++) {
      const struct window *x = &sc->win[i];
      if (!hit[x->vec] &&
          memcmp(b + pos, sc->vecs + (size_t)x->vec * DIM + x->k, 32) == 0)
        hit[x->vec] = 1;
    }
  }
  for (int i = 0; i < sc->nvec; i++)
    if (hit[i]) {
      sc->raw++;
      sc->raw_sql += sc->where == 1;
      sc->raw_pgdata += sc->where == 2;
      if (!scan_quiet)
        fprintf(stderr, "raw template %d bytes in %s\n", i, name);
    }
  free(hit);
}

static void scan_file(scan *sc, const char *path) {
  size_t n = 0;
  uint8_t *b = slurp(path, &n);
  if (!b)
    return;
  sc->files++;
  scan_buf(sc, path, b, n);
  free(b);
}

static int name_cmp(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static void scan_tree(scan *sc, const char *dir) {
  DIR *d = opendir(dir);
  if (!d)
    return;
  struct dirent *de;
  char **names = NULL;
  size_t n = 0, cap = 0;
  while ((de = readdir(d))) {
    if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
      continue;
    if (n == cap) {
      cap = cap ? 2 * cap : 64;
      char **nn = realloc(names, cap * sizeof *names);
      if (!nn)
        break;
      names = nn;
    }
    names[n++] = strdup(de->d_name);
  }
  closedir(d);
  /* sorted, so that the digest does not depend on readdir's order */
  if (n)
    qsort(names, n, sizeof *names, name_cmp);
  for (size_t i = 0; i < n; i++) {
    char p[700];
    snprintf(p, sizeof p, "%s/%s", dir, names[i]);
    free(names[i]);
    struct stat st;
    if (lstat(p, &st) != 0)
      continue;
    if (S_ISDIR(st.st_mode))
      scan_tree(sc, p);
    else if (S_ISREG(st.st_mode))
      scan_file(sc, p);
  }
  free(names);
}

/* ---- PostgreSQL: what the server stores --------------------------------- */

/* Every bytea column of every table of db's database, the values as the
 * server returns them in binary (bytea as stored), and a digest of every
 * table's rows with their xmin and ctid (an update changes both). */
static void scan_sql(scan *sc, const char *db) {
  char url[160];
  CHECK_INT_EQ(pg_db_for_path(g_pg, db, 0, url, sizeof url), 0);
  PGconn *conn = PQconnectdb(url);
  CHECK(PQstatus(conn) == CONNECTION_OK);
  if (PQstatus(conn) != CONNECTION_OK) {
    fprintf(stderr, "scan %s: %s", url, PQerrorMessage(conn));
    PQfinish(conn);
    return;
  }
  PGresult *cols =
      PQexec(conn, "SELECT table_name, column_name FROM "
                   "information_schema.columns WHERE table_schema = 'public' "
                   "AND data_type = 'bytea' ORDER BY 1, 2");
  CHECK(PQresultStatus(cols) == PGRES_TUPLES_OK && PQntuples(cols) >= 3);
  sc->where = 1;
  for (int c = 0;
       PQresultStatus(cols) == PGRES_TUPLES_OK && c < PQntuples(cols); c++) {
    const char *t = PQgetvalue(cols, c, 0), *col = PQgetvalue(cols, c, 1);
    char sql[300];
    snprintf(sql, sizeof sql,
             "SELECT \"%s\" FROM \"%s\" WHERE \"%s\" IS NOT NULL ORDER BY "
             "ctid",
             col, t, col);
    PGresult *v = PQexecParams(conn, sql, 0, NULL, NULL, NULL, NULL, 1);
    CHECK(PQresultStatus(v) == PGRES_TUPLES_OK);
    for (int i = 0; PQresultStatus(v) == PGRES_TUPLES_OK && i < PQntuples(v);
         i++) {
      char name[200];
      snprintf(name, sizeof name, "%s.%s row %d", t, col, i);
      sc->values++;
      scan_buf(sc, name, (const uint8_t *)PQgetvalue(v, i, 0),
               (size_t)PQgetlength(v, i, 0));
    }
    PQclear(v);
  }
  PQclear(cols);
  sc->where = 0;
  PGresult *tabs = PQexec(conn, "SELECT tablename FROM pg_tables WHERE "
                                "schemaname = 'public' ORDER BY 1");
  CHECK(PQresultStatus(tabs) == PGRES_TUPLES_OK);
  for (int t = 0;
       PQresultStatus(tabs) == PGRES_TUPLES_OK && t < PQntuples(tabs); t++) {
    char sql[300];
    snprintf(sql, sizeof sql,
             "SELECT x.xmin::text || ' ' || x.ctid::text || ' ' || x::text "
             "FROM \"%s\" x ORDER BY x.ctid",
             PQgetvalue(tabs, t, 0));
    PGresult *v = PQexec(conn, sql);
    CHECK(PQresultStatus(v) == PGRES_TUPLES_OK);
    sc->digest = fnv(sc->digest, sql, strlen(sql));
    for (int i = 0; PQresultStatus(v) == PGRES_TUPLES_OK && i < PQntuples(v);
         i++)
      sc->digest =
          fnv(sc->digest, PQgetvalue(v, i, 0), (size_t)PQgetlength(v, i, 0));
    PQclear(v);
  }
  PQclear(tabs);
  PQfinish(conn);
}

/* The cluster's files of db's database (data/base/<oid>: its tables, their
 * TOAST tables and indexes) after a CHECKPOINT has written them, and with
 * wal also the cluster's WAL (shared by all its databases). */
static void scan_pgdata(scan *sc, const char *db, int wal) {
  char url[160], p[400];
  CHECK_INT_EQ(pg_db_for_path(g_pg, db, 0, url, sizeof url), 0);
  CHECK_INT_EQ(pg_exec_url(url, "CHECKPOINT"), 0);
  int64_t oid = pg_int_url(
      url, "SELECT oid FROM pg_database WHERE datname = current_database()");
  CHECK(oid > 0);
  int before = sc->files;
  sc->where = 2;
  snprintf(p, sizeof p, "%s/data/base/%lld", g_pg->dir, (long long)oid);
  scan_tree(sc, p);
  CHECK(sc->files > before); /* the folder is where it is thought to be */
  if (wal) {
    snprintf(p, sizeof p, "%s/data/pg_wal", g_pg->dir);
    before = sc->files;
    scan_tree(sc, p);
    CHECK(sc->files > before);
  }
  sc->where = 0;
}

enum { SCAN_PGDATA = 1, SCAN_WAL = 2 };

/* The database of folder `dir` (SQLite: the file and its -wal;
 * PostgreSQL: its column values and, with SCAN_PGDATA, the cluster's
 * files) and the crop folder. */
static scan scan_store(const char *dir, const float *vecs, int nvec,
                       int flags) {
  scan sc;
  scan_init(&sc, vecs, nvec);
  char p[400];
  snprintf(p, sizeof p, "%s/argus.db", dir);
  if (g_pg) {
    scan_sql(&sc, p);
    if (flags & SCAN_PGDATA)
      scan_pgdata(&sc, p, flags & SCAN_WAL);
  } else {
    scan_file(&sc, p);
    snprintf(p, sizeof p, "%s/argus.db-wal", dir);
    scan_file(&sc, p);
  }
  snprintf(p, sizeof p, "%s/crops", dir);
  scan_tree(&sc, p);
  scan_done(&sc);
  return sc;
}

/* ---- reading back -------------------------------------------------------- */

typedef struct seen {
  int n, bad;
} seen;

static int on_template(void *user, const argus_store_template *t) {
  seen *s = user;
  /* photo ids start at 1 and follow enrolment order */
  float v[DIM];
  vec_of((int)t->photo_id - 1, v);
  if (t->dim != DIM || memcmp(v, t->vector, sizeof v) != 0)
    s->bad++;
  s->n++;
  return 0;
}

/* Every template and every enrolled photo's JPEG equals what was stored. */
static void check_readback(argus_store *s, int persons) {
  seen sn = {0, 0};
  argus_store_error err = {{0}};
  argus_err e =
      argus_store_template_foreach(s, &model, 0, on_template, &sn, &err);
  if (e != ARGUS_OK)
    fprintf(stderr, "foreach: %s\n", err.msg);
  CHECK_OK(e);
  CHECK_INT_EQ(sn.n, persons * NPHOTO);
  CHECK_INT_EQ(sn.bad, 0);
  for (int i = 0; i < persons * NPHOTO; i += 5) {
    size_t jn = 0;
    uint8_t *want = jpeg_of(i, &jn);
    char hex[ARGUS_STORE_SHA256_HEX];
    argus_sha256_hex(want, jn, hex);
    void *got = NULL;
    size_t gn = 0;
    e = argus_store_crop_read(s, hex, &got, &gn, &err);
    if (e != ARGUS_OK)
      fprintf(stderr, "crop %d: %s\n", i, err.msg);
    CHECK_OK(e);
    CHECK(gn == jn && got && memcmp(got, want, jn) == 0);
    free(got);
    free(want);
  }
  argus_store_check_report rep;
  CHECK_OK(argus_store_check(s, 1, &rep, &err));
  if (rep.problems)
    fprintf(stderr, "check: %s\n", rep.first_problem);
  CHECK_INT_EQ(rep.problems, 0);
}

static float *all_vecs(int persons, int alerts) {
  int n = persons * NPHOTO + alerts;
  float *v = malloc((size_t)n * DIM * sizeof *v);
  for (int i = 0; i < persons * NPHOTO; i++)
    vec_of(i, v + (size_t)i * DIM);
  for (int i = 0; i < alerts; i++)
    vec_of(3000 + i, v + (size_t)(persons * NPHOTO + i) * DIM);
  return v;
}

static void make_store(const char *dir, int persons, int alerts) {
  mkdir(dir, 0700);
  char db[400];
  snprintf(db, sizeof db, "%s/argus.db", dir);
  argus_store *s = open_db(db, NULL, NULL, 0);
  CHECK(s != NULL);
  if (!s)
    return;
  argus_store_error err = {{0}};
  CHECK_OK(argus_store_watchlist_create(s, "w", NAN, NULL, NULL, &err));
  enrol(s, 0, persons);
  for (int i = 0; i < alerts; i++)
    alert_with_crop(s, i);
  argus_store_close(s);
}

static void key_status(const char *db, argus_store_key_info *k) {
  memset(k, 0, sizeof *k);
  argus_store *s = open_db(db, NULL, NULL, 0);
  CHECK(s != NULL);
  argus_store_error err = {{0}};
  if (s)
    CHECK_OK(argus_store_key_status(s, k, &err));
  argus_store_close(s);
}

static void use_keys(const char *key, const char *old) {
  unsetenv("ARGUS_KEY");
  unsetenv("ARGUS_OLD_KEY");
  if (key)
    setenv("ARGUS_KEY_FILE", key, 1);
  else
    unsetenv("ARGUS_KEY_FILE");
  if (old)
    setenv("ARGUS_OLD_KEY_FILE", old, 1);
  else
    unsetenv("ARGUS_OLD_KEY_FILE");
}

/* ---- the parts ------------------------------------------------------------ */

static void test_sealed(void) {
  char dir[300], db[400];
  snprintf(dir, sizeof dir, "%s/sealed", tmp);
  snprintf(db, sizeof db, "%s/argus.db", dir);
  use_keys(key_a, NULL);
  enum { P = 4, A = 2 };
  make_store(dir, P, A);
  float *v = all_vecs(P, A);
  /* while a handle is open too (the -wal holds the last commits) */
  argus_store *s = open_db(db, NULL, NULL, 0);
  alert_with_crop(s, A); /* one more, left in the WAL */
  float *v2 = all_vecs(P, A + 1);
  /* on PostgreSQL nothing in the cluster is plaintext yet: its WAL too */
  scan sc = scan_store(dir, v2, P * NPHOTO + A + 1, SCAN_PGDATA | SCAN_WAL);
  CHECK(sc.files >= 3 + P * NPHOTO);
  if (g_pg)
    CHECK_INT_EQ(sc.values, P * NPHOTO + A + 1);
  CHECK_INT_EQ(sc.jpeg, 0);
  CHECK_INT_EQ(sc.raw, 0);
  check_readback(s, P);
  argus_store_close(s);
  sc = scan_store(dir, v2, P * NPHOTO + A + 1, SCAN_PGDATA | SCAN_WAL);
  CHECK_INT_EQ(sc.jpeg, 0);
  CHECK_INT_EQ(sc.raw, 0);
  /* the scan can fail: the same store without a key has both */
  char pdir[300];
  snprintf(pdir, sizeof pdir, "%s/plain-control", tmp);
  use_keys(NULL, NULL);
  make_store(pdir, P, A);
  scan_quiet = 1;
  scan pc = scan_store(pdir, v, P * NPHOTO + A, SCAN_PGDATA);
  scan_quiet = 0;
  CHECK(pc.jpeg > 0);
  CHECK(pc.raw > 0);
  if (g_pg) { /* both the values and the server's files */
    CHECK_INT_EQ(pc.values, P * NPHOTO + A);
    CHECK_INT_EQ(pc.raw_sql, P * NPHOTO + A);
    CHECK(pc.raw_pgdata > 0);
  }
  use_keys(key_a, NULL);
  argus_store_key_info k;
  key_status(db, &k);
  char ida[ARGUS_STORE_KEY_ID_HEX];
  argus_store_error err = {{0}};
  CHECK_OK(argus_store_key_file_id(key_a, ida, &err));
  CHECK(strcmp(k.key_id, ida) == 0);
  CHECK_INT_EQ(k.blobs_sealed, P * NPHOTO + A + 1);
  CHECK_INT_EQ(k.blobs_plain, 0);
  CHECK_INT_EQ(k.crops_plain, 0);
  CHECK_INT_EQ(k.crops_sealed, P * NPHOTO + 2 * (A + 1));

  /* missing key, wrong key, key file readable by others: refused, and
   * nothing changed */
  scan before = scan_store(dir, NULL, 0, 0);
  argus_err e;
  char msg[512];
  use_keys(NULL, NULL);
  s = open_db(db, &e, msg, sizeof msg);
  CHECK(s == NULL && e == ARGUS_E_INVALID_ARG);
  CHECK(strstr(msg, "is encrypted with key id") && strstr(msg, ida) &&
        strstr(msg, "ARGUS_KEY_FILE"));
  argus_store_close(s);
  CLI_RUN(cli, tmp, NULL, 0, &r, "person", "list", "--db", cli_db(db));
  CHECK_INT_EQ(r.status, 1);
  CHECK(strstr(r.err, "is encrypted with key id") != NULL);
  use_keys(key_b, NULL);
  s = open_db(db, &e, msg, sizeof msg);
  CHECK(s == NULL && e == ARGUS_E_INVALID_ARG);
  CHECK(strstr(msg, "the key given has id") != NULL);
  argus_store_close(s);
  CLI_RUN(cli, tmp, NULL, 0, &r, "watchlist", "create", "x", "--db",
          cli_db(db));
  CHECK_INT_EQ(r.status, 1);
  use_keys(key_bad, NULL);
  s = open_db(db, &e, msg, sizeof msg);
  CHECK(s == NULL && strstr(msg, "chmod 600"));
  argus_store_close(s);
  setenv("ARGUS_KEY", "12zz", 1);
  unsetenv("ARGUS_KEY_FILE");
  s = open_db(db, &e, msg, sizeof msg);
  CHECK(s == NULL && strstr(msg, "ARGUS_KEY is not 64 hex digits"));
  argus_store_close(s);
  scan after = scan_store(dir, NULL, 0, 0);
  CHECK_INT_EQ(after.files, before.files);
  CHECK(after.digest == before.digest);
  /* the CLI's global --key-file opens it */
  use_keys(NULL, NULL);
  CLI_RUN(cli, tmp, NULL, 1, &r, "--key-file", key_a, "person", "list", "--db",
          cli_db(db));
  CHECK_INT_EQ(r.status, 0);
  CHECK(strstr(r.out, "person 3") != NULL);
  free(v);
  free(v2);
}

/* A plaintext database at version 8 with data (migration 9 undone by hand:
 * the old templates table and schema row), upgraded, then sealed whole by
 * `argus key rotate`. */
static void test_upgrade_and_encrypt(void) {
  char dir[300], db[400];
  snprintf(dir, sizeof dir, "%s/upgrade", tmp);
  snprintf(db, sizeof db, "%s/argus.db", dir);
  use_keys(NULL, NULL);
  enum { P = 3 };
  make_store(dir, P, 1);
  /* the old table as migration 1 made it; on PostgreSQL its id sequence
   * stands past the copied rows, as a version-8 database's does */
  char sql[2048];
  snprintf(
      sql, sizeof sql,
      "BEGIN;"
      "CREATE TABLE t_old (id %s,"
      " person_id BIGINT NOT NULL REFERENCES persons (id) ON DELETE CASCADE,"
      " photo_id BIGINT NOT NULL, model_name TEXT NOT NULL,"
      " model_version TEXT NOT NULL, dim INTEGER NOT NULL CHECK (dim > 0),"
      " vector %s NOT NULL CHECK (length(vector) = 4 * dim),"
      " created TEXT NOT NULL, UNIQUE (photo_id, model_name, model_version),"
      " FOREIGN KEY (photo_id, person_id) REFERENCES photos (id, person_id)"
      " ON DELETE CASCADE);"
      "INSERT INTO t_old SELECT * FROM templates; %s DROP TABLE templates;"
      "ALTER TABLE t_old RENAME TO templates;"
      "CREATE INDEX templates_by_model ON templates (model_name, "
      "model_version);"
      "CREATE INDEX templates_by_person ON templates (person_id);"
      "DELETE FROM schema_version WHERE version = 9; COMMIT;",
      g_pg ? "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"
           : "INTEGER PRIMARY KEY AUTOINCREMENT",
      g_pg ? "BYTEA" : "BLOB",
      g_pg ? "SELECT setval(pg_get_serial_sequence('t_old', 'id'),"
             " (SELECT max(id) FROM t_old));"
           : "");
  if (g_pg) {
    char url[160];
    CHECK_INT_EQ(pg_db_for_path(g_pg, db, 0, url, sizeof url), 0);
    CHECK_INT_EQ(pg_exec_url(url, sql), 0);
  } else {
    sqlite3 *h = NULL;
    CHECK(sqlite3_open(db, &h) == SQLITE_OK);
    char *em = NULL;
    int rc = sqlite3_exec(h, "PRAGMA foreign_keys=ON", NULL, NULL, NULL);
    if (rc == SQLITE_OK)
      rc = sqlite3_exec(h, sql, NULL, NULL, &em);
    if (rc != SQLITE_OK)
      fprintf(stderr, "downgrade: %s\n", em);
    CHECK(rc == SQLITE_OK);
    sqlite3_free(em);
    sqlite3_close(h);
  }
  argus_store *s = open_db(db, NULL, NULL, 0);
  CHECK(s != NULL);
  if (s) {
    CHECK_INT_EQ(argus_store_schema_version(s), ARGUS_STORE_SCHEMA_VERSION);
    check_readback(s, P);
    argus_store_close(s);
  }
  /* opened with a key: still readable; new data is sealed */
  use_keys(key_a, NULL);
  s = open_db(db, NULL, NULL, 0);
  CHECK(s != NULL);
  if (s) {
    enrol(s, P, 1);
    check_readback(s, P + 1);
    argus_store_close(s);
  }
  argus_store_key_info k;
  key_status(db, &k);
  CHECK_INT_EQ(k.blobs_sealed, NPHOTO);
  CHECK_INT_EQ(k.blobs_plain, P * NPHOTO + 1);
  /* `argus key rotate` with the same key seals the rest */
  use_keys(NULL, NULL);
  CLI_RUN(cli, tmp, NULL, 1, &r, "key", "rotate", "--new-key-file", key_a,
          "--db", cli_db(db));
  CHECK_INT_EQ(r.status, 0);
  use_keys(key_a, NULL);
  key_status(db, &k);
  CHECK_INT_EQ(k.blobs_plain, 0);
  CHECK_INT_EQ(k.crops_plain, 0);
  CHECK_INT_EQ(k.blobs_sealed, (P + 1) * NPHOTO + 1);
  float *v = all_vecs(P + 1, 1);
  scan sc = scan_store(dir, v, (P + 1) * NPHOTO + 1, 0);
  CHECK_INT_EQ(sc.jpeg, 0);
  CHECK_INT_EQ(sc.raw, 0);
  if (g_pg) {
    /* The rows' old versions (MVCC) would keep the plaintext in the table
     * files until a VACUUM: the rotation rewrites the tables (VACUUM FULL),
     * so the files hold none. */
    sc = scan_store(dir, v, (P + 1) * NPHOTO + 1, SCAN_PGDATA);
    CHECK_INT_EQ(sc.jpeg, 0);
    CHECK_INT_EQ(sc.raw, 0);
    CHECK_INT_EQ(sc.raw_pgdata, 0);
  }
  s = open_db(db, NULL, NULL, 0);
  if (s) {
    check_readback(s, P + 1);
    argus_store_close(s);
  }
  free(v);
}

static int audit_count(const char *db, const char *action) {
  if (g_pg) { /* action is the test's own word: no quoting needed */
    char url[160], sql[200];
    CHECK_INT_EQ(pg_db_for_path(g_pg, db, 0, url, sizeof url), 0);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM audit WHERE action = '%s'",
             action);
    return (int)pg_int_url(url, sql);
  }
  sqlite3 *h = NULL;
  int n = -1;
  if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(h, "SELECT count(*) FROM audit WHERE action = ?", -1,
                           &st, NULL) == SQLITE_OK) {
      sqlite3_bind_text(st, 1, action, -1, SQLITE_STATIC);
      if (sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int(st, 0);
    }
    sqlite3_finalize(st);
  }
  sqlite3_close(h);
  return n;
}

static void test_rotate(void) {
  char dir[300], db[400];
  snprintf(dir, sizeof dir, "%s/rotate", tmp);
  snprintf(db, sizeof db, "%s/argus.db", dir);
  enum { P = 30, A = 3 };
  use_keys(key_a, NULL);
  make_store(dir, P, A);
  char ida[ARGUS_STORE_KEY_ID_HEX], idb[ARGUS_STORE_KEY_ID_HEX];
  argus_store_error err = {{0}};
  CHECK_OK(argus_store_key_file_id(key_a, ida, &err));
  CHECK_OK(argus_store_key_file_id(key_b, idb, &err));
  /* killed in the templates, then in the crop files */
  setenv("ARGUS_KEY_ROTATE_BATCH", "10", 1);
  setenv("ARGUS_TEST_ROTATE_KILL_AFTER", "4", 1);
  CLI_RUN(cli, tmp, NULL, 0, &r, "key", "rotate", "--new-key-file", key_b,
          "--db", cli_db(db));
  CHECK_INT_EQ(r.status, 128 + 9);
  argus_store_key_info k;
  use_keys(key_b, key_a);
  key_status(db, &k);
  CHECK(strcmp(k.key_id, idb) == 0 && strcmp(k.rotating_from, ida) == 0);
  CHECK(k.blobs_sealed > 0 && k.blobs_other > 0);
  /* mid-rotation: the new key alone is refused, naming the rotation */
  use_keys(key_b, NULL);
  argus_err e;
  char msg[512];
  argus_store *s = open_db(db, &e, msg, sizeof msg);
  CHECK(s == NULL && strstr(msg, "rotation from key id") != NULL);
  argus_store_close(s);
  /* both keys read everything */
  use_keys(key_b, key_a);
  s = open_db(db, NULL, NULL, 0);
  if (s) {
    check_readback(s, P);
    argus_store_close(s);
  }
  setenv("ARGUS_TEST_ROTATE_KILL_AFTER", "9", 1);
  use_keys(key_a, NULL);
  CLI_RUN(cli, tmp, NULL, 0, &r, "key", "rotate", "--new-key-file", key_b,
          "--db", cli_db(db));
  CHECK_INT_EQ(r.status, 128 + 9);
  use_keys(key_b, key_a);
  key_status(db, &k);
  CHECK_INT_EQ(k.blobs_other, 0);
  CHECK(k.crops_sealed > 0 && k.crops_other > 0);
  unsetenv("ARGUS_TEST_ROTATE_KILL_AFTER");
  use_keys(key_a, NULL);
  CLI_RUN(cli, tmp, NULL, 1, &r, "key", "rotate", "--new-key-file", key_b,
          "--db", cli_db(db));
  CHECK_INT_EQ(r.status, 0);
  CHECK(strstr(r.out, "interrupted rotation finished") != NULL);
  unsetenv("ARGUS_KEY_ROTATE_BATCH");
  /* the new key alone opens it and reads everything; the old one not */
  use_keys(key_b, NULL);
  key_status(db, &k);
  CHECK(strcmp(k.key_id, idb) == 0 && !k.rotating_from[0]);
  CHECK_INT_EQ(k.blobs_sealed, P * NPHOTO + A);
  CHECK_INT_EQ(k.blobs_other + k.blobs_plain, 0);
  CHECK_INT_EQ(k.crops_sealed, P * NPHOTO + 2 * A);
  CHECK_INT_EQ(k.crops_other + k.crops_plain, 0);
  s = open_db(db, NULL, NULL, 0);
  if (s) {
    check_readback(s, P);
    argus_store_close(s);
  }
  use_keys(key_a, NULL);
  s = open_db(db, &e, msg, sizeof msg);
  CHECK(s == NULL && e == ARGUS_E_INVALID_ARG);
  argus_store_close(s);
  CHECK_INT_EQ(audit_count(db, "key.rotate"), 4); /* 3 starts, 1 finish */
  use_keys(NULL, NULL);
  CLI_RUN(cli, tmp, NULL, 1, &r, "--key-file", key_b, "audit", "verify", "--db",
          cli_db(db));
  CHECK_INT_EQ(r.status, 0);
  CLI_RUN(cli, tmp, NULL, 1, &r, "--key-file", key_b, "key", "status", "--db",
          cli_db(db));
  CHECK_INT_EQ(r.status, 0);
  CHECK(strstr(r.out, idb) != NULL);
  float *v = all_vecs(P, A);
  scan sc = scan_store(dir, v, P * NPHOTO + A, SCAN_PGDATA);
  CHECK_INT_EQ(sc.jpeg, 0);
  CHECK_INT_EQ(sc.raw, 0);
  free(v);
}

/* ---- the cost (ARGUS_SEAL_BENCH=1) --------------------------------------- */

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int count_cb(void *user, const argus_store_template *t) {
  (void)t;
  ++*(int *)user;
  return 0;
}

/* One round: ms per enrolled person, per template load (all templates),
 * per alert insert. */
static void bench(const char *key, int round, double out[3]) {
  char dir[300], db[400];
  snprintf(dir, sizeof dir, "%s/bench-%d-%s", tmp, round, key ? "key" : "no");
  snprintf(db, sizeof db, "%s/argus.db", dir);
  mkdir(dir, 0700);
  use_keys(key, NULL);
  enum { P = 100, LOADS = 20, ALERTS = 100 };
  argus_store *s = open_db(db, NULL, NULL, 0);
  if (!s)
    return;
  argus_store_error err = {{0}};
  argus_store_watchlist_create(s, "w", NAN, NULL, NULL, &err);
  double t0 = now_s();
  enrol(s, 0, P);
  out[0] = 1e3 * (now_s() - t0) / P;
  int n = 0;
  t0 = now_s();
  for (int i = 0; i < LOADS; i++)
    argus_store_template_foreach(s, &model, 0, count_cb, &n, &err);
  out[1] = 1e3 * (now_s() - t0) / LOADS;
  t0 = now_s();
  for (int i = 0; i < ALERTS; i++)
    alert_with_crop(s, i);
  out[2] = 1e3 * (now_s() - t0) / ALERTS;
  argus_store_close(s);
}

static int cmp_d(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* Rounds alternate without and with a key (the machine is shared: the
 * median and the minimum of each are printed). */
static void bench_all(void) {
  enum { ROUNDS = 7 };
  double v[2][3][ROUNDS];
  for (int r0 = 0; r0 < ROUNDS; r0++)
    for (int k = 0; k < 2; k++) {
      double o[3] = {0, 0, 0};
      bench(k ? key_a : NULL, r0, o);
      for (int m = 0; m < 3; m++)
        v[k][m][r0] = o[m];
    }
  static const char *what[3] = {"enrol, ms per person (3 crops + 3 templates)",
                                "template load, ms for 300 templates",
                                "alert insert, ms (crop + thumb + probe)"};
  printf("seal bench, dim %d, %d rounds: median (min) without key | with "
         "key\n",
         DIM, ROUNDS);
  for (int m = 0; m < 3; m++) {
    qsort(v[0][m], ROUNDS, sizeof(double), cmp_d);
    qsort(v[1][m], ROUNDS, sizeof(double), cmp_d);
    printf("  %-46s %.3f (%.3f) | %.3f (%.3f)\n", what[m], v[0][m][ROUNDS / 2],
           v[0][m][0], v[1][m][ROUNDS / 2], v[1][m][0]);
  }
}

int main(void) {
  cli = getenv("ARGUS_CLI");
  if (!cli || !cli[0])
    SKIP("ARGUS_CLI is not set to the argus binary");
  snprintf(tmp, sizeof tmp, "/tmp/argus-seal-XXXXXX");
  if (!mkdtemp(tmp))
    SKIP("no temporary folder");
  if (pg_test_wanted()) {
    int pr = pg_cluster_start(&g_pgc);
    if (pr != 0) {
      fprintf(stderr, "test_encryption: no PostgreSQL cluster\n");
      cli_rm_tree(tmp);
      return pr == 77 ? 77 : 1;
    }
    g_pg = &g_pgc;
    printf("test_encryption: on PostgreSQL (port %d)\n", g_pgc.port);
  }
  snprintf(key_a, sizeof key_a, "%s/a.key", tmp);
  snprintf(key_b, sizeof key_b, "%s/b.key", tmp);
  snprintf(key_bad, sizeof key_bad, "%s/bad.key", tmp);
  argus_store_error err = {{0}};
  char ida[ARGUS_STORE_KEY_ID_HEX];
  CHECK_OK(argus_store_key_generate(key_a, ida, &err));
  CLI_RUN(cli, tmp, NULL, 1, &r, "key", "generate", "--out", key_b);
  CHECK_INT_EQ(r.status, 0);
  struct stat st;
  CHECK(stat(key_b, &st) == 0 && (st.st_mode & 0777) == 0600);
  CLI_RUN(cli, tmp, NULL, 0, &r, "key", "generate", "--out", key_b);
  CHECK_INT_EQ(r.status, 1); /* never overwrites a key */
  CHECK_OK(argus_store_key_generate(key_bad, NULL, &err));
  chmod(key_bad, 0640);
  CHECK(argus_store_key_generate(key_a, NULL, &err) == ARGUS_E_INVALID_ARG);

  test_sealed();
  test_upgrade_and_encrypt();
  test_rotate();
  const char *b = getenv("ARGUS_SEAL_BENCH");
  if (b && b[0] == '1') {
    if (g_pg)
      printf("seal bench skipped under PostgreSQL: it measures the SQLite "
             "backend (docs/lawful-use.md)\n");
    else
      bench_all();
  }
  use_keys(NULL, NULL);
  unsetenv("ARGUS_DATA_DIR");
  int rc =
      check_report(g_pg ? "test_encryption (PostgreSQL)" : "test_encryption");
  if (g_pg)
    pg_cluster_stop(&g_pgc);
  cli_rm_tree(tmp);
  return rc;
}
