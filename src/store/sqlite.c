/* The SQLite backend of the store: WAL journal, foreign keys on, a busy
 * timeout, synchronous=NORMAL (FULL for durable transactions or when the
 * caller asks for it). See docs/store.md for why NORMAL is enough against
 * process crashes. */
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store_internal.h"

typedef struct sq_ctx {
  sqlite3 *db;
  const char *path; /* borrowed from the open call, for messages only */
  int sync_full;
  int durable_tx; /* the open transaction raised synchronous to FULL */
} sq_ctx;

struct store_stmt {
  sqlite3_stmt *st;
  sq_ctx *c;
};

/* Maps an SQLite result code to an argus error with a message. */
static argus_err sq_fail(sq_ctx *c, int rc, argus_store_error *err,
                         const char *what) {
  const char *m = c && c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc);
  int prim = rc & 0xff;
  switch (prim) {
  case SQLITE_CONSTRAINT:
  case SQLITE_MISMATCH:
  case SQLITE_RANGE:
  case SQLITE_TOOBIG:
    return store_fail(err, ARGUS_E_INVALID_ARG, "%s: %s", what, m);
  case SQLITE_NOMEM:
    return store_fail(err, ARGUS_E_NOMEM, "%s: out of memory", what);
  case SQLITE_BUSY:
  case SQLITE_LOCKED:
    return store_fail(err, ARGUS_E_IO,
                      "%s: database is locked (another process held it "
                      "beyond the busy timeout)",
                      what);
  case SQLITE_CORRUPT:
  case SQLITE_NOTADB:
    return store_fail(err, ARGUS_E_CORRUPT, "%s: %s", what, m);
  case SQLITE_FULL:
    return store_fail(err, ARGUS_E_IO, "%s: disk full", what);
  case SQLITE_READONLY:
  case SQLITE_CANTOPEN:
  case SQLITE_IOERR:
  case SQLITE_PERM:
  case SQLITE_AUTH:
    return store_fail(err, ARGUS_E_IO, "%s: %s", what, m);
  default:
    return store_fail(err, ARGUS_E_INTERNAL, "%s: %s (sqlite code %d)", what, m,
                      rc);
  }
}

static argus_err sq_exec(void *ctx, const char *sql, argus_store_error *err) {
  sq_ctx *c = ctx;
  char *msg = NULL;
  int rc = sqlite3_exec(c->db, sql, NULL, NULL, &msg);
  sqlite3_free(msg);
  if (rc != SQLITE_OK)
    return sq_fail(c, rc, err, "sqlite");
  return ARGUS_OK;
}

static void sq_close(void *ctx) {
  sq_ctx *c = ctx;
  if (!c)
    return;
  if (c->db) {
    /* Statements are finalized by their users; close_v2 copes with any
     * that leaked instead of failing. */
    sqlite3_close_v2(c->db);
  }
  free(c);
}

/* Creates the database file with mode 0600 when it does not exist, so that
 * biometric data is never readable by other users (SQLite gives its -wal and
 * -shm files the database file's mode). */
static argus_err create_private_file(const char *path, argus_store_error *err) {
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd >= 0) {
    close(fd);
    return ARGUS_OK;
  }
  if (errno != EEXIST)
    return store_fail(err, ARGUS_E_IO, "cannot create database '%s': %s", path,
                      strerror(errno));
  /* An empty file (`touch`, a failed copy) becomes a new database here: it
   * gets the mode a file made by the store has. A database whose pages
   * are all still in the -wal is 0 bytes long too: not touched. */
  struct stat st, wst;
  char wal[STORE_PATH_MAX + 8];
  snprintf(wal, sizeof wal, "%s-wal", path);
  if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0 &&
      (stat(wal, &wst) != 0 || wst.st_size == 0) && st.st_uid == geteuid() &&
      (st.st_mode & 077) != 0) {
    if (chmod(path, 0600) != 0)
      return store_fail(err, ARGUS_E_IO, "cannot make '%s' private: %s", path,
                        strerror(errno));
    argus_log(ARGUS_LOG_DEBUG, STORE_MOD,
              "%s: an empty file: a new database (mode 0600)", path);
  }
  return ARGUS_OK;
}

/* SQLite gives the -shm and -wal files the database file's mode when it
 * creates them. A reader of a database it may not write (mode 0400, or
 * another user's) leaves them read-only behind; once the database file's
 * permissions are fixed, a writer would still fail on the -shm ("attempt
 * to write a readonly database"). A writer that may write the database
 * file gives such a file it owns the database file's mode again (chmod is
 * safe while another process has it open); one it does not own is
 * reported by name. */
static argus_err fix_sidecars(const char *path, argus_store_error *err) {
  struct stat db;
  if (stat(path, &db) != 0 || access(path, W_OK) != 0)
    return ARGUS_OK; /* the open reports the database file itself */
  static const char *const ext[] = {"-shm", "-wal"};
  for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++) {
    char side[STORE_PATH_MAX + 8];
    struct stat st;
    snprintf(side, sizeof side, "%s%s", path, ext[i]);
    if (stat(side, &st) != 0 || access(side, W_OK) == 0)
      continue;
    if (st.st_uid != geteuid() || chmod(side, db.st_mode & 0777) != 0)
      return store_fail(err, ARGUS_E_IO,
                        "'%s' is not writable (left by a reader without "
                        "write permission?): give it the mode and owner of "
                        "'%s'",
                        side, path);
    argus_log(ARGUS_LOG_INFO, STORE_MOD,
              "'%s' was read-only: given the database file's mode %03o", side,
              (unsigned)(db.st_mode & 0777));
  }
  return ARGUS_OK;
}

static argus_err sq_open(const char *path, const argus_store_options *opts,
                         void **out, argus_store_error *err) {
  *out = NULL;
  if (sqlite3_libversion_number() < 3035000)
    return store_fail(err, ARGUS_E_UNSUPPORTED,
                      "SQLite %s is too old: argus needs 3.35 or newer "
                      "(RETURNING)",
                      sqlite3_libversion());
  int ro = opts && opts->read_only;
  /* must_exist: the caller saw the file; SQLITE_OPEN_READWRITE without
   * SQLITE_OPEN_CREATE below never makes one */
  argus_err e = ro || (opts && opts->must_exist)
                    ? ARGUS_OK
                    : create_private_file(path, err);
  if (e == ARGUS_OK && !ro)
    e = fix_sidecars(path, err);
  if (e != ARGUS_OK)
    return e;
  sq_ctx *c = calloc(1, sizeof *c);
  if (!c)
    return store_fail(err, ARGUS_E_NOMEM, "out of memory");
  c->path = path;
  c->sync_full = opts && opts->sync_full;
  int rc = sqlite3_open_v2(path, &c->db,
                           (ro ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE) |
                               SQLITE_OPEN_NOMUTEX,
                           NULL);
  if (rc != SQLITE_OK) {
    e = sq_fail(c, rc, err, path);
    goto fail;
  }
  sqlite3_extended_result_codes(c->db, 1);
  int busy = opts && opts->busy_timeout_ms > 0 ? opts->busy_timeout_ms : 5000;
  sqlite3_busy_timeout(c->db, busy);

  /* journal_mode=WAL is persistent in the file; the query also proves that
   * the file is a database (SQLITE_NOTADB otherwise). A reader only
   * proves the latter: it reads in whatever mode a writer left. */
  sqlite3_stmt *st = NULL;
  rc = sqlite3_prepare_v2(c->db,
                          ro ? "SELECT count(*) FROM sqlite_schema"
                             : "PRAGMA journal_mode=WAL",
                          -1, &st, NULL);
  if (rc == SQLITE_OK)
    rc = sqlite3_step(st);
  /* Switching a new file to WAL while other processes open it at the same
   * moment can return SQLITE_BUSY at once, without the busy handler: retry
   * for as long as the busy timeout allows (1 ms steps). */
  for (int waited = 0; st && (rc & 0xff) == SQLITE_BUSY && waited < busy;
       waited++) {
    sqlite3_reset(st);
    sqlite3_sleep(1);
    rc = sqlite3_step(st);
  }
  if (rc != SQLITE_ROW) {
    sqlite3_finalize(st);
    if ((rc & 0xff) == SQLITE_NOTADB)
      e = store_fail(err, ARGUS_E_CORRUPT, "'%s' is not a database", path);
    else
      e = sq_fail(c, rc, err, path);
    goto fail;
  }
  /* copied: the text goes with the statement */
  const char *m = ro ? NULL : (const char *)sqlite3_column_text(st, 0);
  char mode[16];
  snprintf(mode, sizeof mode, "%s", m ? m : "");
  int wal = ro || strcmp(mode, "wal") == 0;
  sqlite3_finalize(st);
  if (!wal) {
    e = store_fail(err, ARGUS_E_IO,
                   "%s: cannot switch the journal to WAL (journal_mode is "
                   "'%s')",
                   path, mode[0] ? mode : "?");
    goto fail;
  }
  char pragmas[160];
  snprintf(pragmas, sizeof pragmas,
           "PRAGMA foreign_keys=ON; PRAGMA synchronous=%s; "
           "PRAGMA trusted_schema=OFF;",
           c->sync_full ? "FULL" : "NORMAL");
  e = sq_exec(c, pragmas, err);
  if (e != ARGUS_OK)
    goto fail;
  /* A build without foreign-key support would silently ignore the pragma
   * and with it every cascade the store relies on. */
  rc = sqlite3_prepare_v2(c->db, "PRAGMA foreign_keys", -1, &st, NULL);
  int fk = 0;
  if (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
    fk = sqlite3_column_int(st, 0);
  sqlite3_finalize(st);
  if (!fk) {
    e = store_fail(err, ARGUS_E_UNSUPPORTED,
                   "this SQLite does not enforce foreign keys");
    goto fail;
  }
  *out = c;
  return ARGUS_OK;
fail:
  sq_close(c);
  return e;
}

static argus_err sq_begin(void *ctx, store_tx_mode mode,
                          argus_store_error *err) {
  sq_ctx *c = ctx;
  argus_err e;
  /* synchronous can only change outside a transaction. */
  if (mode == STORE_TX_WRITE_DURABLE && !c->sync_full) {
    e = sq_exec(c, "PRAGMA synchronous=FULL", err);
    if (e != ARGUS_OK)
      return e;
    c->durable_tx = 1;
  }
  /* IMMEDIATE takes the write lock now: a deferred transaction that later
   * upgrades can fail with BUSY without waiting for the busy timeout. */
  e = sq_exec(c, mode == STORE_TX_READ ? "BEGIN" : "BEGIN IMMEDIATE", err);
  if (e != ARGUS_OK && c->durable_tx) {
    sq_exec(c, "PRAGMA synchronous=NORMAL", NULL);
    c->durable_tx = 0;
  }
  return e;
}

static void restore_sync(sq_ctx *c) {
  if (c->durable_tx) {
    sq_exec(c, "PRAGMA synchronous=NORMAL", NULL);
    c->durable_tx = 0;
  }
}

static argus_err sq_commit(void *ctx, argus_store_error *err) {
  sq_ctx *c = ctx;
  argus_err e = sq_exec(c, "COMMIT", err);
  if (e == ARGUS_OK || sqlite3_get_autocommit(c->db))
    restore_sync(c);
  return e;
}

static void sq_rollback(void *ctx) {
  sq_ctx *c = ctx;
  if (!sqlite3_get_autocommit(c->db))
    sq_exec(c, "ROLLBACK", NULL);
  restore_sync(c);
}

static argus_err sq_prepare(void *ctx, const char *sql, store_stmt **out,
                            argus_store_error *err) {
  sq_ctx *c = ctx;
  *out = NULL;
  store_stmt *s = calloc(1, sizeof *s);
  if (!s)
    return store_fail(err, ARGUS_E_NOMEM, "out of memory");
  s->c = c;
  int rc = sqlite3_prepare_v2(c->db, sql, -1, &s->st, NULL);
  if (rc != SQLITE_OK) {
    free(s);
    return sq_fail(c, rc, err, "prepare");
  }
  *out = s;
  return ARGUS_OK;
}

static argus_err bind_rc(int rc) {
  if (rc == SQLITE_OK)
    return ARGUS_OK;
  if (rc == SQLITE_NOMEM)
    return ARGUS_E_NOMEM;
  if (rc == SQLITE_TOOBIG)
    return ARGUS_E_LIMIT;
  return ARGUS_E_INTERNAL;
}

static argus_err sq_bind_int64(store_stmt *s, int i, int64_t v) {
  return bind_rc(sqlite3_bind_int64(s->st, i, v));
}
static argus_err sq_bind_double(store_stmt *s, int i, double v) {
  return bind_rc(sqlite3_bind_double(s->st, i, v));
}
static argus_err sq_bind_text(store_stmt *s, int i, const char *v) {
  if (!v)
    return bind_rc(sqlite3_bind_null(s->st, i));
  return bind_rc(sqlite3_bind_text(s->st, i, v, -1, SQLITE_TRANSIENT));
}
static argus_err sq_bind_blob(store_stmt *s, int i, const void *v, size_t n) {
  if (n > (size_t)INT32_MAX)
    return ARGUS_E_LIMIT;
  /* A zero-length blob must stay a blob, not become NULL. */
  if (n == 0)
    return bind_rc(sqlite3_bind_zeroblob(s->st, i, 0));
  return bind_rc(sqlite3_bind_blob(s->st, i, v, (int)n, SQLITE_TRANSIENT));
}
static argus_err sq_bind_null(store_stmt *s, int i) {
  return bind_rc(sqlite3_bind_null(s->st, i));
}

static argus_err sq_step(store_stmt *s, int *row, argus_store_error *err) {
  int rc = sqlite3_step(s->st);
  if (rc == SQLITE_ROW) {
    *row = STORE_ROW;
    return ARGUS_OK;
  }
  *row = STORE_DONE;
  if (rc == SQLITE_DONE)
    return ARGUS_OK;
  return sq_fail(s->c, rc, err, "sqlite");
}

static int sq_col_is_null(store_stmt *s, int c) {
  return sqlite3_column_type(s->st, c) == SQLITE_NULL;
}
static int64_t sq_col_int64(store_stmt *s, int c) {
  return sqlite3_column_int64(s->st, c);
}
static double sq_col_double(store_stmt *s, int c) {
  return sqlite3_column_double(s->st, c);
}
static const char *sq_col_text(store_stmt *s, int c) {
  const unsigned char *t = sqlite3_column_text(s->st, c);
  return t ? (const char *)t : "";
}
static const void *sq_col_blob(store_stmt *s, int c, size_t *n) {
  const void *p = sqlite3_column_blob(s->st, c);
  int len = sqlite3_column_bytes(s->st, c);
  *n = len > 0 ? (size_t)len : 0;
  return p;
}
static argus_err sq_reset(store_stmt *s) {
  sqlite3_reset(s->st);
  return ARGUS_OK;
}
static void sq_finalize(store_stmt *s) {
  if (!s)
    return;
  sqlite3_finalize(s->st);
  free(s);
}

static argus_err sq_probe(void *ctx, const char *name, int *has_table,
                          int *empty, argus_store_error *err) {
  sq_ctx *c = ctx;
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v2(
      c->db,
      "SELECT count(*), coalesce(sum(name = ?1), 0) FROM sqlite_schema "
      "WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
      -1, &st, NULL);
  if (rc == SQLITE_OK)
    rc = sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
  if (rc == SQLITE_OK)
    rc = sqlite3_step(st);
  if (rc != SQLITE_ROW) {
    argus_err e = sq_fail(c, rc, err, c->path);
    sqlite3_finalize(st);
    return e;
  }
  *empty = sqlite3_column_int64(st, 0) == 0;
  *has_table = sqlite3_column_int64(st, 1) > 0;
  sqlite3_finalize(st);
  return ARGUS_OK;
}

static argus_err sq_integrity(void *ctx, void (*fn)(void *, const char *),
                              void *user, int64_t *count,
                              argus_store_error *err) {
  sq_ctx *c = ctx;
  *count = 0;
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v2(c->db, "PRAGMA integrity_check", -1, &st, NULL);
  if (rc != SQLITE_OK)
    return sq_fail(c, rc, err, "integrity_check");
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    const char *m = (const char *)sqlite3_column_text(st, 0);
    if (m && strcmp(m, "ok") != 0) {
      (*count)++;
      if (fn)
        fn(user, m);
    }
  }
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE)
    return sq_fail(c, rc, err, "integrity_check");
  rc = sqlite3_prepare_v2(c->db, "PRAGMA foreign_key_check", -1, &st, NULL);
  if (rc != SQLITE_OK)
    return sq_fail(c, rc, err, "foreign_key_check");
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    char m[256];
    snprintf(m, sizeof m, "foreign key: %s row %lld refers to a missing %s",
             (const char *)sqlite3_column_text(st, 0),
             (long long)sqlite3_column_int64(st, 1),
             (const char *)sqlite3_column_text(st, 2));
    (*count)++;
    if (fn)
      fn(user, m);
  }
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE)
    return sq_fail(c, rc, err, "foreign_key_check");
  return ARGUS_OK;
}

const store_backend_ops store_sqlite_ops = {
    .name = "sqlite",
    .sql_id_pk = "INTEGER PRIMARY KEY AUTOINCREMENT",
    .sql_blob = "BLOB",
    .files = 1,
    .open = sq_open,
    .close = sq_close,
    .exec = sq_exec,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .prepare = sq_prepare,
    .bind_int64 = sq_bind_int64,
    .bind_double = sq_bind_double,
    .bind_text = sq_bind_text,
    .bind_blob = sq_bind_blob,
    .bind_null = sq_bind_null,
    .step = sq_step,
    .col_is_null = sq_col_is_null,
    .col_int64 = sq_col_int64,
    .col_double = sq_col_double,
    .col_text = sq_col_text,
    .col_blob = sq_col_blob,
    .reset = sq_reset,
    .finalize = sq_finalize,
    .probe = sq_probe,
    .integrity = sq_integrity,
};
