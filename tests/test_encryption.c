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
 * insert with and without a key (printed, not checked). */
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

#define DIM 512
#define NPHOTO 3

static const char *cli;
static char tmp[256], key_a[300], key_b[300], key_bad[300];
static cli_result r;
static argus_store_model model = {"seal-test", "1", DIM};

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
  argus_err e = argus_store_open(db, &o, &s, &err);
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

typedef struct scan {
  int files, jpeg, raw;
  int nvec;
  const float *vecs; /* nvec * DIM */
  uint64_t digest;   /* of every path and content, for "unchanged" */
} scan;

static int scan_quiet; /* the plaintext control: its findings are expected */

static uint64_t fnv(uint64_t h, const void *p, size_t n) {
  const uint8_t *b = p;
  for (size_t i = 0; i < n; i++)
    h = (h ^ b[i]) * 1099511628211ull;
  return h;
}

static void scan_file(scan *sc, const char *path) {
  size_t n = 0;
  uint8_t *b = slurp(path, &n);
  if (!b)
    return;
  sc->files++;
  sc->digest = fnv(fnv(sc->digest, path, strlen(path)), b, n);
  /* The start of a stream as the encoder writes it: SOI, then the JFIF
   * APP0 segment (16 bytes). A bare 3-byte SOI would turn up by chance
   * in about 1 of 10,000 sealed files of 1.5 KB. */
  static const uint8_t soi[11] = {0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10,
                                  0x4A, 0x46, 0x49, 0x46, 0x00};
  if (memmem(b, n, soi, sizeof soi)) {
    sc->jpeg++;
    if (!scan_quiet)
      fprintf(stderr, "JPEG signature in %s\n", path);
  }
  for (int i = 0; i < sc->nvec; i++) {
    /* any 8 consecutive floats of a template, as stored in plaintext */
    for (int k = 0; k + 8 <= DIM; k += 8)
      if (memmem(b, n, sc->vecs + (size_t)i * DIM + k, 32)) {
        sc->raw++;
        if (!scan_quiet)
          fprintf(stderr, "raw template %d bytes in %s\n", i, path);
        break;
      }
  }
  free(b);
}

static void scan_tree(scan *sc, const char *dir) {
  DIR *d = opendir(dir);
  if (!d)
    return;
  struct dirent *de;
  char names[512][300];
  int n = 0;
  while ((de = readdir(d)) && n < 512)
    if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
      snprintf(names[n++], 300, "%s", de->d_name);
  closedir(d);
  /* sorted, so that the digest does not depend on readdir's order */
  qsort(names, (size_t)n, sizeof names[0],
        (int (*)(const void *, const void *))strcmp);
  for (int i = 0; i < n; i++) {
    char p[700];
    snprintf(p, sizeof p, "%s/%s", dir, names[i]);
    struct stat st;
    if (lstat(p, &st) != 0)
      continue;
    if (S_ISDIR(st.st_mode))
      scan_tree(sc, p);
    else if (S_ISREG(st.st_mode))
      scan_file(sc, p);
  }
}

/* The database, its -wal and the crop folder of database folder `dir`. */
static scan scan_store(const char *dir, const float *vecs, int nvec) {
  scan sc = {0, 0, 0, nvec, vecs, 1469598103934665603ull};
  char p[400];
  snprintf(p, sizeof p, "%s/argus.db", dir);
  scan_file(&sc, p);
  snprintf(p, sizeof p, "%s/argus.db-wal", dir);
  scan_file(&sc, p);
  snprintf(p, sizeof p, "%s/crops", dir);
  scan_tree(&sc, p);
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
  scan sc = scan_store(dir, v2, P * NPHOTO + A + 1);
  CHECK(sc.files >= 3 + P * NPHOTO);
  CHECK_INT_EQ(sc.jpeg, 0);
  CHECK_INT_EQ(sc.raw, 0);
  check_readback(s, P);
  argus_store_close(s);
  sc = scan_store(dir, v2, P * NPHOTO + A + 1);
  CHECK_INT_EQ(sc.jpeg, 0);
  CHECK_INT_EQ(sc.raw, 0);
  /* the scan can fail: the same store without a key has both */
  char pdir[300];
  snprintf(pdir, sizeof pdir, "%s/plain-control", tmp);
  use_keys(NULL, NULL);
  make_store(pdir, P, A);
  scan_quiet = 1;
  scan pc = scan_store(pdir, v, P * NPHOTO + A);
  scan_quiet = 0;
  CHECK(pc.jpeg > 0);
  CHECK(pc.raw > 0);
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
  scan before = scan_store(dir, NULL, 0);
  argus_err e;
  char msg[512];
  use_keys(NULL, NULL);
  s = open_db(db, &e, msg, sizeof msg);
  CHECK(s == NULL && e == ARGUS_E_INVALID_ARG);
  CHECK(strstr(msg, "is encrypted with key id") && strstr(msg, ida) &&
        strstr(msg, "ARGUS_KEY_FILE"));
  argus_store_close(s);
  CLI_RUN(cli, tmp, NULL, 0, &r, "person", "list", "--db", db);
  CHECK_INT_EQ(r.status, 1);
  CHECK(strstr(r.err, "is encrypted with key id") != NULL);
  use_keys(key_b, NULL);
  s = open_db(db, &e, msg, sizeof msg);
  CHECK(s == NULL && e == ARGUS_E_INVALID_ARG);
  CHECK(strstr(msg, "the key given has id") != NULL);
  argus_store_close(s);
  CLI_RUN(cli, tmp, NULL, 0, &r, "watchlist", "create", "x", "--db", db);
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
  scan after = scan_store(dir, NULL, 0);
  CHECK_INT_EQ(after.files, before.files);
  CHECK(after.digest == before.digest);
  /* the CLI's global --key-file opens it */
  use_keys(NULL, NULL);
  CLI_RUN(cli, tmp, NULL, 1, &r, "--key-file", key_a, "person", "list", "--db",
          db);
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
  sqlite3 *h = NULL;
  CHECK(sqlite3_open(db, &h) == SQLITE_OK);
  char *em = NULL;
  int rc = sqlite3_exec(
      h,
      "PRAGMA foreign_keys=ON; BEGIN;"
      "CREATE TABLE t_old (id INTEGER PRIMARY KEY AUTOINCREMENT,"
      " person_id BIGINT NOT NULL REFERENCES persons (id) ON DELETE CASCADE,"
      " photo_id BIGINT NOT NULL, model_name TEXT NOT NULL,"
      " model_version TEXT NOT NULL, dim INTEGER NOT NULL CHECK (dim > 0),"
      " vector BLOB NOT NULL CHECK (length(vector) = 4 * dim),"
      " created TEXT NOT NULL, UNIQUE (photo_id, model_name, model_version),"
      " FOREIGN KEY (photo_id, person_id) REFERENCES photos (id, person_id)"
      " ON DELETE CASCADE);"
      "INSERT INTO t_old SELECT * FROM templates; DROP TABLE templates;"
      "ALTER TABLE t_old RENAME TO templates;"
      "CREATE INDEX templates_by_model ON templates (model_name, "
      "model_version);"
      "CREATE INDEX templates_by_person ON templates (person_id);"
      "DELETE FROM schema_version WHERE version = 9; COMMIT;",
      NULL, NULL, &em);
  if (rc != SQLITE_OK)
    fprintf(stderr, "downgrade: %s\n", em);
  CHECK(rc == SQLITE_OK);
  sqlite3_free(em);
  sqlite3_close(h);
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
          "--db", db);
  CHECK_INT_EQ(r.status, 0);
  use_keys(key_a, NULL);
  key_status(db, &k);
  CHECK_INT_EQ(k.blobs_plain, 0);
  CHECK_INT_EQ(k.crops_plain, 0);
  CHECK_INT_EQ(k.blobs_sealed, (P + 1) * NPHOTO + 1);
  float *v = all_vecs(P + 1, 1);
  scan sc = scan_store(dir, v, (P + 1) * NPHOTO + 1);
  CHECK_INT_EQ(sc.jpeg, 0);
  CHECK_INT_EQ(sc.raw, 0);
  s = open_db(db, NULL, NULL, 0);
  if (s) {
    check_readback(s, P + 1);
    argus_store_close(s);
  }
  free(v);
}

static int audit_count(const char *db, const char *action) {
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
          "--db", db);
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
          "--db", db);
  CHECK_INT_EQ(r.status, 128 + 9);
  use_keys(key_b, key_a);
  key_status(db, &k);
  CHECK_INT_EQ(k.blobs_other, 0);
  CHECK(k.crops_sealed > 0 && k.crops_other > 0);
  unsetenv("ARGUS_TEST_ROTATE_KILL_AFTER");
  use_keys(key_a, NULL);
  CLI_RUN(cli, tmp, NULL, 1, &r, "key", "rotate", "--new-key-file", key_b,
          "--db", db);
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
          db);
  CHECK_INT_EQ(r.status, 0);
  CLI_RUN(cli, tmp, NULL, 1, &r, "--key-file", key_b, "key", "status", "--db",
          db);
  CHECK_INT_EQ(r.status, 0);
  CHECK(strstr(r.out, idb) != NULL);
  float *v = all_vecs(P, A);
  scan sc = scan_store(dir, v, P * NPHOTO + A);
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
    bench_all();
  }
  use_keys(NULL, NULL);
  cli_rm_tree(tmp);
  return check_report("test_encryption");
}
