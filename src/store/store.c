/* The store object: backend choice, open/close, errors, input checks,
 * transactions, the audit row helper and statement helpers shared by the
 * table files. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store_internal.h"

/* The one place where backends are chosen. */
static const store_backend_ops *const backends[] = {&store_sqlite_ops,
                                                    &store_postgres_ops};

/* A path that is a PostgreSQL connection URI selects that backend. */
static int is_postgres_uri(const char *path) {
  return path && (strncmp(path, "postgres://", 11) == 0 ||
                  strncmp(path, "postgresql://", 13) == 0);
}

/* The connection string as messages may show it: the password of
 * "scheme://user:PASSWORD@host" and of "password=..." parameters replaced
 * by "***". */
static void redact_conninfo(const char *in, char *out, size_t size) {
  size_t k = 0;
  const char *scheme = strstr(in, "://");
  const char *at = scheme ? strchr(scheme + 3, '@') : NULL;
  const char *slash = scheme ? strchr(scheme + 3, '/') : NULL;
  if (at && slash && slash < at)
    at = NULL; /* an '@' in the path or the parameters */
  const char *colon = NULL;
  if (at)
    for (const char *p = scheme + 3; p < at; p++)
      if (*p == ':') {
        colon = p;
        break;
      }
  for (const char *p = in; *p && k + 4 < size;) {
    if (colon && p == colon + 1) {
      memcpy(out + k, "***", 3);
      k += 3;
      p = at;
      continue;
    }
    if ((p == in || p[-1] == '?' || p[-1] == '&' || p[-1] == ' ') &&
        strncmp(p, "password=", 9) == 0 && k + 12 < size) {
      memcpy(out + k, "password=***", 12);
      k += 12;
      p += 9;
      while (*p && *p != '&' && *p != ' ')
        p++;
      continue;
    }
    out[k++] = *p++;
  }
  out[k] = '\0';
}

/* ---- errors ------------------------------------------------------------- */

argus_err store_fail(argus_store_error *err, argus_err code, const char *fmt,
                     ...) {
  argus_error_detail d;
  va_list ap;
  va_start(ap, fmt);
  argus_error_detail_setv(&d, fmt, ap);
  va_end(ap);
  if (err)
    *err = d;
  argus_log(ARGUS_LOG_DEBUG, STORE_MOD, "%s (%s)", d.msg, argus_errname(code));
  return code;
}

argus_err store_wrap(argus_store_error *err, argus_err code, const char *fmt,
                     ...) {
  if (!err)
    return code;
  char pre[256], old[sizeof err->msg];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(pre, sizeof pre, fmt, ap);
  va_end(ap);
  memcpy(old, err->msg, sizeof old);
  old[sizeof old - 1] = '\0';
  snprintf(err->msg, sizeof err->msg, "%s: %s", pre, old);
  return code;
}

void store_copy(char *dst, size_t size, const char *src) {
  if (!size)
    return;
  size_t n = src ? strnlen(src, size - 1) : 0;
  if (n)
    memcpy(dst, src, n);
  dst[n] = '\0';
}

/* ---- input checks ------------------------------------------------------- */

static int has_control(const char *s) {
  for (const unsigned char *p = (const unsigned char *)s; *p; p++)
    if (*p < 0x20 || *p == 0x7f)
      return 1;
  return 0;
}

argus_err store_check_name(const char *s, const char *what, size_t max,
                           argus_store_error *err) {
  if (!s || !s[0])
    return store_fail(err, ARGUS_E_INVALID_ARG, "%s is empty", what);
  size_t n = strnlen(s, max);
  if (n >= max)
    return store_fail(err, ARGUS_E_INVALID_ARG, "%s is longer than %zu bytes",
                      what, max - 1);
  if (has_control(s))
    return store_fail(err, ARGUS_E_INVALID_ARG,
                      "%s contains control characters", what);
  /* Names go into JSON and onto screens: only valid UTF-8 is stored. */
  if (!argus_utf8_valid(s, n))
    return store_fail(err, ARGUS_E_INVALID_ARG, "%s is not valid UTF-8", what);
  if (s[0] == ' ' || s[n - 1] == ' ')
    return store_fail(err, ARGUS_E_INVALID_ARG,
                      "%s '%s' starts or ends with a space", what, s);
  return ARGUS_OK;
}

argus_err store_check_text(const char *s, const char *what, size_t max,
                           argus_store_error *err) {
  if (!s)
    return ARGUS_OK;
  if (strnlen(s, max) >= max)
    return store_fail(err, ARGUS_E_INVALID_ARG, "%s is longer than %zu bytes",
                      what, max - 1);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++)
    if ((*p < 0x20 && *p != '\n' && *p != '\t') || *p == 0x7f)
      return store_fail(err, ARGUS_E_INVALID_ARG,
                        "%s contains control characters", what);
  if (!argus_utf8_valid(s, strlen(s)))
    return store_fail(err, ARGUS_E_INVALID_ARG, "%s is not valid UTF-8", what);
  return ARGUS_OK;
}

argus_err store_check_model(const argus_store_model *m, int need_dim,
                            argus_store_error *err) {
  if (!m)
    return store_fail(err, ARGUS_E_INVALID_ARG, "model is NULL");
  argus_err e =
      store_check_name(m->name, "model name", ARGUS_STORE_NAME_MAX, err);
  if (e == ARGUS_OK)
    e = store_check_name(m->version, "model version", ARGUS_STORE_NAME_MAX,
                         err);
  if (e != ARGUS_OK)
    return e;
  if (need_dim && (m->dim < 1 || m->dim > ARGUS_STORE_DIM_MAX))
    return store_fail(err, ARGUS_E_INVALID_ARG,
                      "model dim %d is outside [1, %d]", m->dim,
                      ARGUS_STORE_DIM_MAX);
  return ARGUS_OK;
}

argus_err store_check_handle(const argus_store *s, argus_store_error *err) {
  if (!s)
    return store_fail(err, ARGUS_E_INVALID_ARG, "store is NULL");
  if (s->in_callback)
    return store_fail(err, ARGUS_E_INVALID_ARG,
                      "store called from inside one of its own callbacks");
  return ARGUS_OK;
}

argus_err argus_store_model_id_split(const char *id,
                                     char name[ARGUS_STORE_NAME_MAX],
                                     char version[ARGUS_STORE_NAME_MAX]) {
  if (!id || !name || !version)
    return ARGUS_E_INVALID_ARG;
  /* The first '@' splits: names are identifiers, versions may hold an '@'
   * of their own ("faceplugin-face-recognition-js@0.0.1"). */
  const char *at = strchr(id, '@');
  if (!at || at == id || !at[1])
    return ARGUS_E_INVALID_ARG;
  size_t nl = (size_t)(at - id), vl = strlen(at + 1);
  if (nl >= ARGUS_STORE_NAME_MAX || vl >= ARGUS_STORE_NAME_MAX)
    return ARGUS_E_INVALID_ARG;
  memcpy(name, id, nl);
  name[nl] = '\0';
  memcpy(version, at + 1, vl + 1);
  return ARGUS_OK;
}

/* ---- time --------------------------------------------------------------- */

void argus_store_now(char buf[ARGUS_STORE_TIME_MAX]) {
  argus_rfc3339(argus_wall_ns(), buf);
}

/* ---- transactions and audit --------------------------------------------- */

static int fault_countdown;

void store_debug_fail_at(int n) { fault_countdown = n > 0 ? n : 0; }

int store_debug_fault(void) {
  if (fault_countdown <= 0)
    return 0;
  return --fault_countdown == 0;
}

static argus_err ensure_store_id(argus_store *s, char id[33],
                                 argus_store_error *err);
static argus_err claim_crops_dir(argus_store *s, const char *id, int read_only,
                                 argus_store_error *err);

/* A handle opened read_only that must write after all (the audit row of a
 * template or crop read): a read-write connection from now on. Only
 * between transactions (store_begin), so no statement is open. */
static argus_err upgrade_to_writer(argus_store *s, argus_store_error *err) {
  argus_store_options w;
  memset(&w, 0, sizeof w);
  w.busy_timeout_ms = s->busy_timeout_ms;
  w.sync_full = s->sync_full;
  w.must_exist = 1;
  void *db = NULL;
  argus_err e = s->ops->open(s->conninfo, &w, &db, err);
  if (e != ARGUS_OK)
    return e;
  store_cached_drop(s); /* they belong to the old connection */
  s->ops->close(s->db);
  s->db = db;
  s->read_only = 0;
  /* as a writer's open: the crop folder, owned by this database */
  char id[33];
  if ((e = ensure_store_id(s, id, err)) != ARGUS_OK ||
      (e = claim_crops_dir(s, id, 0, err)) != ARGUS_OK)
    return e;
  argus_log(ARGUS_LOG_DEBUG, STORE_MOD, "%s: a reader's handle now writes",
            s->path);
  return ARGUS_OK;
}

argus_err store_begin(argus_store *s, store_tx_mode mode,
                      argus_store_error *err) {
  s->n_new_crops = 0;
  argus_err e = ARGUS_OK;
  if (mode != STORE_TX_READ && s->read_only &&
      (e = upgrade_to_writer(s, err)) != ARGUS_OK) {
    store_wrap(err, e, "%s", s->path);
    return e;
  }
  e = s->ops->begin(s->db, mode, err);
  if (e != ARGUS_OK)
    store_wrap(err, e, "%s", s->path);
  /* ---- encryption at rest: the database's key, checked under the lock */
  if (e == ARGUS_OK && mode != STORE_TX_READ && s->keys_ready &&
      (e = store_keys_begin(s, err)) != ARGUS_OK)
    s->ops->rollback(s->db);
  /* ---- end encryption at rest */
  return e;
}

/* Removes the crop files the failed transaction created. The write lock is
 * still held (rollback comes after), so no other process can have started
 * to refer to them. */
static void drop_new_crops(argus_store *s) {
  for (size_t i = 0; i < s->n_new_crops; i++) {
    char path[STORE_PATH_MAX];
    if (store_crop_path(s, s->new_crops[i], path, sizeof path, NULL) ==
        ARGUS_OK)
      unlink(path);
  }
  s->n_new_crops = 0;
}

void store_rollback(argus_store *s) {
  drop_new_crops(s);
  store_pending_end(s);
  s->ops->rollback(s->db);
}

argus_err store_commit(argus_store *s, argus_store_error *err) {
  argus_err e = s->ops->commit(s->db, err);
  if (e != ARGUS_OK) {
    store_rollback(s);
    return e;
  }
  s->n_new_crops = 0;
  store_pending_end(s);
  return ARGUS_OK;
}

/* Before the chain (the migrations up to STORE_AUDIT_CHAIN_VERSION of a
 * new or old database): a plain row, chained by migration 5. */
static argus_err audit_unchained(argus_store *s, const char *t,
                                 const char *action, const char *object_type,
                                 argus_store_id object_id, const char *detail,
                                 argus_store_id *out_id,
                                 argus_store_error *err) {
  store_stmt *st = NULL;
  argus_err e = store_prep(
      s, &st, err,
      "INSERT INTO audit (time, actor, action, object_type, object_id, "
      "detail) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
      "ssssis", t, s->actor, action, object_type, (int64_t)object_id, detail);
  if (e != ARGUS_OK)
    return e;
  if (object_id <= 0)
    s->ops->bind_null(st, 5);
  int row = 0;
  e = store_step(s, st, &row, err);
  if (e == ARGUS_OK && out_id)
    *out_id = row == STORE_ROW ? s->ops->col_int64(st, 0) : 0;
  s->ops->finalize(st);
  return e;
}

/* A chained row: the head's hash (read inside this write transaction, so
 * no other writer can chain onto it meanwhile), the insert with it, and
 * the row's own hash once the database has given the id. */
argus_err store_audit(argus_store *s, const char *action,
                      const char *object_type, argus_store_id object_id,
                      const char *detail, argus_store_id *out_id,
                      argus_store_error *err) {
  char t[ARGUS_STORE_TIME_MAX];
  argus_store_now(t);
  if (!object_type)
    object_type = "";
  if (!detail)
    detail = "{}";
  argus_err e;
  if (s->schema_version < STORE_AUDIT_CHAIN_VERSION) {
    e = audit_unchained(s, t, action, object_type, object_id, detail, out_id,
                        err);
    goto out;
  }
  const store_backend_ops *o = s->ops;
  char prev[ARGUS_STORE_SHA256_HEX], hash[ARGUS_STORE_SHA256_HEX];
  if ((e = store_audit_prev(s, prev, err)) != ARGUS_OK)
    goto out;
  /* Audit ids run without gaps (verify reads a gap as deleted rows).
   * SQLite's AUTOINCREMENT gives that: a rolled-back insert gives its id
   * back. A PostgreSQL sequence does not, so there the id is chosen here,
   * under the write lock: one past the larger of the head and the highest
   * id ever committed (meta audit_high, written in the same transaction, so
   * a rollback undoes it too, and a deleted last row still leaves its gap
   * for verify to see). */
  int64_t want_id = 0;
  if (!o->files) {
    store_stmt *hs = NULL;
    e = store_prep(s, &hs, err,
                   "SELECT COALESCE((SELECT max(id) FROM audit), 0), "
                   "COALESCE((SELECT CAST(value AS BIGINT) FROM meta WHERE "
                   "key = 'audit_high'), 0)",
                   "");
    int hrow = 0;
    if (e == ARGUS_OK)
      e = store_step(s, hs, &hrow, err);
    if (e == ARGUS_OK && hrow == STORE_ROW) {
      int64_t a = o->col_int64(hs, 0), b = o->col_int64(hs, 1);
      want_id = (a > b ? a : b) + 1;
    }
    o->finalize(hs);
    if (e == ARGUS_OK && want_id <= 0)
      e = store_fail(err, ARGUS_E_INTERNAL, "reading the audit head id");
    char hw[24];
    snprintf(hw, sizeof hw, "%lld", (long long)want_id);
    if (e == ARGUS_OK)
      e = store_run(s, err,
                    "INSERT INTO meta (key, value) VALUES ('audit_high', ?) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    "s", hw);
    /* The column's own sequence follows, so that an insert without an id
     * (an older argus) does not collide. */
    if (e == ARGUS_OK) {
      store_stmt *ss = NULL;
      e = store_prep(s, &ss, err,
                     "SELECT setval(pg_get_serial_sequence('audit', 'id'), ?)",
                     "i", want_id);
      int srow = 0;
      if (e == ARGUS_OK)
        e = store_step(s, ss, &srow, err);
      o->finalize(ss);
    }
    if (e != ARGUS_OK)
      goto out;
  }
  store_stmt *st = NULL;
  e = want_id > 0
          ? store_cached(s, STORE_STMT_AUDIT_INSERT,
                         "INSERT INTO audit (time, actor, action, "
                         "object_type, object_id, detail, prev_sha256, id) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                         &st, err)
          : store_cached(s, STORE_STMT_AUDIT_INSERT,
                         "INSERT INTO audit (time, actor, action, "
                         "object_type, object_id, detail, prev_sha256) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
                         &st, err);
  if (e != ARGUS_OK)
    goto out;
  if (want_id > 0 && (e = o->bind_int64(st, 8, want_id)) != ARGUS_OK)
    goto out;
  int row = 0;
  if ((e = o->bind_text(st, 1, t)) == ARGUS_OK &&
      (e = o->bind_text(st, 2, s->actor)) == ARGUS_OK &&
      (e = o->bind_text(st, 3, action)) == ARGUS_OK &&
      (e = o->bind_text(st, 4, object_type)) == ARGUS_OK &&
      (e = object_id > 0 ? o->bind_int64(st, 5, (int64_t)object_id)
                         : o->bind_null(st, 5)) == ARGUS_OK &&
      (e = o->bind_text(st, 6, detail)) == ARGUS_OK &&
      (e = o->bind_text(st, 7, prev)) == ARGUS_OK)
    e = store_step(s, st, &row, err);
  else
    e = store_fail(err, e, "binding the audit row");
  int64_t id = e == ARGUS_OK && row == STORE_ROW ? o->col_int64(st, 0) : 0;
  o->reset(st);
  if (e != ARGUS_OK)
    goto out;
  if (id <= 0) {
    e = store_fail(err, ARGUS_E_INTERNAL, "the audit insert returned no id");
    goto out;
  }
  store_audit_fields f = {.id = id,
                          .time = t,
                          .actor = s->actor,
                          .action = action,
                          .object_type = object_type,
                          .has_object_id = object_id > 0,
                          .object_id = object_id,
                          .detail = detail,
                          .prev_sha256 = prev};
  store_audit_row_hash(&f, hash);
  e = store_cached(s, STORE_STMT_AUDIT_SEAL,
                   "UPDATE audit SET row_sha256 = ? WHERE id = ?", &st, err);
  if (e != ARGUS_OK)
    goto out;
  if ((e = o->bind_text(st, 1, hash)) == ARGUS_OK &&
      (e = o->bind_int64(st, 2, id)) == ARGUS_OK)
    e = store_step(s, st, &row, err);
  else
    e = store_fail(err, e, "binding the audit seal");
  o->reset(st);
  if (e == ARGUS_OK && out_id)
    *out_id = id;
out:
  if (e != ARGUS_OK)
    store_wrap(err, e, "audit");
  return e;
}

/* ---- statements --------------------------------------------------------- */

static argus_err bind_va(argus_store *s, store_stmt *st, const char *fmt,
                         va_list ap) {
  const store_backend_ops *o = s->ops;
  argus_err e = ARGUS_OK;
  for (int i = 0; fmt[i] && e == ARGUS_OK; i++) {
    switch (fmt[i]) {
    case 'i':
      e = o->bind_int64(st, i + 1, va_arg(ap, int64_t));
      break;
    case 'd':
      e = o->bind_double(st, i + 1, va_arg(ap, double));
      break;
    case 's':
      e = o->bind_text(st, i + 1, va_arg(ap, const char *));
      break;
    case 'b': {
      const void *p = va_arg(ap, const void *);
      size_t n = va_arg(ap, size_t);
      e = o->bind_blob(st, i + 1, p, n);
      break;
    }
    case 'n':
      e = o->bind_null(st, i + 1);
      break;
    default:
      e = ARGUS_E_INTERNAL;
      break;
    }
  }
  return e;
}

static argus_err prep_va(argus_store *s, store_stmt **st,
                         argus_store_error *err, const char *sql,
                         const char *fmt, va_list ap) {
  *st = NULL;
  argus_err e = s->ops->prepare(s->db, sql, st, err);
  if (e != ARGUS_OK)
    return e;
  e = bind_va(s, *st, fmt, ap);
  if (e != ARGUS_OK) {
    s->ops->finalize(*st);
    *st = NULL;
    return store_fail(err, e, "binding parameters: %s", argus_strerror(e));
  }
  return ARGUS_OK;
}

argus_err store_prep(argus_store *s, store_stmt **st, argus_store_error *err,
                     const char *sql, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  argus_err e = prep_va(s, st, err, sql, fmt, ap);
  va_end(ap);
  return e;
}

argus_err store_step(argus_store *s, store_stmt *st, int *row,
                     argus_store_error *err) {
  return s->ops->step(st, row, err);
}

argus_err store_cached(argus_store *s, store_stmt_slot slot, const char *sql,
                       store_stmt **st, argus_store_error *err) {
  *st = NULL;
  if ((unsigned)slot >= STORE_STMT_N)
    return store_fail(err, ARGUS_E_INTERNAL, "bad statement slot %d",
                      (int)slot);
  if (!s->cached[slot]) {
    argus_err e = s->ops->prepare(s->db, sql, &s->cached[slot], err);
    if (e != ARGUS_OK)
      return e;
  } else {
    s->ops->reset(s->cached[slot]);
  }
  *st = s->cached[slot];
  return ARGUS_OK;
}

void store_cached_drop(argus_store *s) {
  for (int i = 0; i < STORE_STMT_N; i++) {
    s->ops->finalize(s->cached[i]);
    s->cached[i] = NULL;
  }
}

argus_err store_run(argus_store *s, argus_store_error *err, const char *sql,
                    const char *fmt, ...) {
  store_stmt *st;
  va_list ap;
  va_start(ap, fmt);
  argus_err e = prep_va(s, &st, err, sql, fmt, ap);
  va_end(ap);
  if (e != ARGUS_OK)
    return e;
  int row = STORE_ROW;
  while (e == ARGUS_OK && row == STORE_ROW)
    e = s->ops->step(st, &row, err);
  s->ops->finalize(st);
  return e;
}

argus_err store_query_int(argus_store *s, int *found, int64_t *out,
                          argus_store_error *err, const char *sql,
                          const char *fmt, ...) {
  store_stmt *st;
  va_list ap;
  va_start(ap, fmt);
  argus_err e = prep_va(s, &st, err, sql, fmt, ap);
  va_end(ap);
  *found = 0;
  *out = 0;
  if (e != ARGUS_OK)
    return e;
  int row = 0;
  e = s->ops->step(st, &row, err);
  if (e == ARGUS_OK && row == STORE_ROW && !s->ops->col_is_null(st, 0)) {
    *found = 1;
    *out = s->ops->col_int64(st, 0);
  } else if (e == ARGUS_OK && row == STORE_ROW) {
    *found = 1;
  }
  s->ops->finalize(st);
  return e;
}

/* Lists are capped so that a huge table cannot exhaust memory. */
#define STORE_VEC_MAX_BYTES ((size_t)1 << 30)

void *store_vec_push(store_vec *v) {
  if (v->n == v->cap) {
    size_t cap = v->cap ? v->cap * 2 : 16;
    if (cap * v->item > STORE_VEC_MAX_BYTES)
      return NULL;
    void *p = realloc(v->data, cap * v->item);
    if (!p)
      return NULL;
    v->data = p;
    v->cap = cap;
  }
  void *item = (char *)v->data + v->n * v->item;
  memset(item, 0, v->item);
  v->n++;
  return item;
}

void argus_store_free(void *p) { free(p); }

/* ---- paths -------------------------------------------------------------- */

argus_err argus_store_default_path(char *buf, size_t size,
                                   argus_store_error *err) {
  if (!buf || !size)
    return store_fail(err, ARGUS_E_INVALID_ARG, "no buffer for the path");
  const char *xdg = getenv("XDG_DATA_HOME");
  int w;
  if (xdg && xdg[0] == '/') {
    w = snprintf(buf, size, "%s/argus/argus.db", xdg);
  } else {
    const char *home = getenv("HOME");
    if (!home || home[0] != '/')
      return store_fail(err, ARGUS_E_NOT_FOUND,
                        "no default database: neither XDG_DATA_HOME nor "
                        "HOME is set to an absolute path (use --db PATH)");
    w = snprintf(buf, size, "%s/.local/share/argus/argus.db", home);
  }
  if (w < 0 || (size_t)w >= size)
    return store_fail(err, ARGUS_E_LIMIT, "default database path too long");
  return ARGUS_OK;
}

/* mkdir -p for the folders of `path` up to (not including) its last
 * component when `parent_only`, else the whole path. New folders get 0700:
 * they hold biometric data. */
static argus_err make_dirs(const char *path, int parent_only,
                           argus_store_error *err) {
  char tmp[STORE_PATH_MAX];
  size_t n = strlen(path);
  if (n >= sizeof tmp)
    return store_fail(err, ARGUS_E_LIMIT, "path too long: %s", path);
  memcpy(tmp, path, n + 1);
  if (parent_only) {
    char *slash = strrchr(tmp, '/');
    if (!slash)
      return ARGUS_OK;
    *slash = '\0';
  }
  for (char *p = tmp + 1;; p++) {
    if (*p == '/' || *p == '\0') {
      char c = *p;
      *p = '\0';
      if (tmp[0] && mkdir(tmp, 0700) != 0 && errno != EEXIST)
        return store_fail(err, ARGUS_E_IO, "cannot create folder '%s': %s", tmp,
                          strerror(errno));
      *p = c;
      if (!c)
        break;
    }
  }
  struct stat stt;
  if (tmp[0] && (stat(tmp, &stt) != 0 || !S_ISDIR(stt.st_mode)))
    return store_fail(err, ARGUS_E_IO, "'%s' is not a folder", tmp);
  return ARGUS_OK;
}

/* The folder of `path` must exist: NOT_FOUND naming it otherwise. */
static argus_err check_parent(const char *path, argus_store_error *err) {
  char dir[STORE_PATH_MAX];
  const char *slash = strrchr(path, '/');
  if (!slash)
    return ARGUS_OK; /* the working folder */
  size_t n = slash == path ? 1 : (size_t)(slash - path);
  if (n >= sizeof dir)
    return store_fail(err, ARGUS_E_LIMIT, "path too long: %s", path);
  memcpy(dir, path, n);
  dir[n] = '\0';
  struct stat st;
  if (stat(dir, &st) != 0)
    return errno == ENOENT || errno == ENOTDIR
               ? store_fail(err, ARGUS_E_NOT_FOUND,
                            "folder '%s' does not exist (create it first, "
                            "or check the database path)",
                            dir)
               : store_fail(err, ARGUS_E_IO, "cannot use folder '%s': %s", dir,
                            strerror(errno));
  if (!S_ISDIR(st.st_mode))
    return store_fail(err, ARGUS_E_NOT_FOUND, "'%s' is not a folder", dir);
  return ARGUS_OK;
}

/* ---- the crop folder's owner -------------------------------------------- */

/* Every database gets a random id (meta.store_id) and writes it into
 * <crops>/.store-id. Two databases must not share a crop folder: a purge in
 * one would remove files the other still refers to. */
static argus_err random_hex(char *out, size_t nbytes, argus_store_error *err) {
  unsigned char b[32];
  if (nbytes > sizeof b)
    return ARGUS_E_INTERNAL;
  int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  ssize_t got = fd >= 0 ? read(fd, b, nbytes) : -1;
  if (fd >= 0)
    close(fd);
  if (got != (ssize_t)nbytes)
    return store_fail(err, ARGUS_E_IO, "cannot read /dev/urandom");
  argus_hex(b, nbytes, out);
  return ARGUS_OK;
}

/* The database's id, read without the write lock; *found = 0 when it has
 * none yet. */
static argus_err read_store_id(argus_store *s, char id[33], int *found,
                               argus_store_error *err) {
  store_stmt *st = NULL;
  *found = 0;
  argus_err e = store_prep(s, &st, err, "SELECT value FROM meta WHERE key = ?",
                           "s", "store_id");
  int row = 0;
  if (e == ARGUS_OK)
    e = store_step(s, st, &row, err);
  if (e == ARGUS_OK && row == STORE_ROW) {
    store_copy(id, 33, s->ops->col_text(st, 0));
    *found = 1;
  }
  s->ops->finalize(st);
  return e;
}

static argus_err ensure_store_id(argus_store *s, char id[33],
                                 argus_store_error *err) {
  /* Every open but the first finds it without taking the write lock, so
   * that opening does not wait for another process's long write. */
  int found = 0;
  argus_err e = read_store_id(s, id, &found, err);
  if (e != ARGUS_OK || found)
    return e;
  store_stmt *st = NULL;
  e = store_begin(s, STORE_TX_WRITE, err);
  if (e != ARGUS_OK)
    return e;
  e = store_prep(s, &st, err, "SELECT value FROM meta WHERE key = ?", "s",
                 "store_id");
  int row = 0;
  if (e == ARGUS_OK)
    e = store_step(s, st, &row, err);
  if (e == ARGUS_OK && row == STORE_ROW)
    store_copy(id, 33, s->ops->col_text(st, 0));
  s->ops->finalize(st);
  if (e == ARGUS_OK && row != STORE_ROW) {
    e = random_hex(id, 16, err);
    if (e == ARGUS_OK)
      e = store_run(s, err, "INSERT INTO meta (key, value) VALUES (?, ?)", "ss",
                    "store_id", id);
  }
  if (e != ARGUS_OK) {
    store_rollback(s);
    return e;
  }
  return store_commit(s, err);
}

/* read_only: checks the folder's owner when the folder has one, creates
 * and writes nothing. */
static argus_err claim_crops_dir(argus_store *s, const char *id, int read_only,
                                 argus_store_error *err) {
  argus_err e = read_only ? ARGUS_OK : make_dirs(s->crops_dir, 0, err);
  if (e != ARGUS_OK)
    return e;
  char marker[STORE_PATH_MAX + 16], have[64] = {0};
  snprintf(marker, sizeof marker, "%s/.store-id", s->crops_dir);
  int fd = open(marker, O_RDONLY | O_CLOEXEC);
  if (fd < 0 && read_only)
    return ARGUS_OK;
  if (fd >= 0) {
    ssize_t n = read(fd, have, sizeof have - 1);
    close(fd);
    have[n > 0 ? n : 0] = '\0';
    char *nl = strchr(have, '\n');
    if (nl)
      *nl = '\0';
    if (strcmp(have, id) == 0)
      return ARGUS_OK;
    return store_fail(err, ARGUS_E_INVALID_ARG,
                      "crop folder '%s' belongs to another database (id %s, "
                      "this one is %s): give each database its own data "
                      "folder",
                      s->crops_dir, have, id);
  }
  if (errno != ENOENT)
    return store_fail(err, ARGUS_E_IO, "cannot read '%s': %s", marker,
                      strerror(errno));
  char tmp[STORE_PATH_MAX + 32];
  snprintf(tmp, sizeof tmp, "%s/.store-id.%ld", s->crops_dir, (long)getpid());
  fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    return store_fail(err, ARGUS_E_IO, "cannot write '%s': %s", tmp,
                      strerror(errno));
  char line[40];
  int len = snprintf(line, sizeof line, "%s\n", id);
  int ok = write(fd, line, (size_t)len) == len && fsync(fd) == 0;
  close(fd);
  /* link() fails when another process claimed the folder in between, so
   * the first claim wins and is then compared like any other. */
  if (ok && link(tmp, marker) != 0 && errno != EEXIST)
    ok = 0;
  unlink(tmp);
  if (!ok)
    return store_fail(err, ARGUS_E_IO, "cannot write '%s': %s", marker,
                      strerror(errno));
  return claim_crops_dir(s, id, 0, err);
}

/* ---- open / close ------------------------------------------------------- */

argus_err argus_store_set_actor(argus_store *s, const char *actor,
                                argus_store_error *err) {
  if (!s)
    return store_fail(err, ARGUS_E_INVALID_ARG, "store is NULL");
  argus_err e = store_check_name(actor, "actor", sizeof s->actor, err);
  if (e == ARGUS_OK)
    store_copy(s->actor, sizeof s->actor, actor);
  return e;
}

argus_err argus_store_open(const char *path, const argus_store_options *opts,
                           argus_store **out, argus_store_error *err) {
  if (err)
    err->msg[0] = '\0';
  if (!out)
    return store_fail(err, ARGUS_E_INVALID_ARG, "out is NULL");
  *out = NULL;
  argus_store_options o;
  memset(&o, 0, sizeof o);
  if (opts)
    o = *opts;
  if (o.busy_timeout_ms < 0)
    return store_fail(err, ARGUS_E_INVALID_ARG, "busy_timeout_ms %d < 0",
                      o.busy_timeout_ms);
  const store_backend_ops *ops = NULL;
  const char *want = o.backend               ? o.backend
                     : is_postgres_uri(path) ? "postgres"
                                             : "sqlite";
  for (size_t i = 0; i < sizeof backends / sizeof backends[0]; i++)
    if (strcmp(backends[i]->name, want) == 0)
      ops = backends[i];
  if (!ops)
    return store_fail(err, ARGUS_E_UNSUPPORTED,
                      "unknown store backend '%s' (this argus has: sqlite, "
                      "postgres)",
                      want);

  argus_store *s = calloc(1, sizeof *s);
  if (!s)
    return store_fail(err, ARGUS_E_NOMEM, "out of memory");
  s->ops = ops;
  s->pending_fd = -1;
  store_copy(s->actor, sizeof s->actor, "unknown");
  argus_err e = ARGUS_OK;
  if (o.actor && (e = argus_store_set_actor(s, o.actor, err)) != ARGUS_OK)
    goto fail;
  if (path) {
    if (!path[0]) {
      e = store_fail(err, ARGUS_E_INVALID_ARG, "database path is empty");
      goto fail;
    }
    if (strlen(path) >= sizeof s->path) {
      e = store_fail(err, ARGUS_E_LIMIT, "database path too long");
      goto fail;
    }
    store_copy(s->conninfo, sizeof s->conninfo, path);
    if (ops->files)
      store_copy(s->path, sizeof s->path, path);
    else
      redact_conninfo(path, s->path, sizeof s->path);
  } else if (!ops->files) {
    e = store_fail(err, ARGUS_E_INVALID_ARG,
                   "the %s backend needs a connection string "
                   "(postgresql://user@host/database)",
                   ops->name);
    goto fail;
  } else if ((e = argus_store_default_path(s->path, sizeof s->path, err)) !=
             ARGUS_OK) {
    goto fail;
  } else {
    store_copy(s->conninfo, sizeof s->conninfo, s->path);
  }
  size_t plen = strlen(s->path);
  if (ops->files && s->path[plen - 1] == '/') {
    e = store_fail(err, ARGUS_E_INVALID_ARG,
                   "database path '%s' names a folder", s->path);
    goto fail;
  }
  /* A server's store takes its crop folder from the environment when the
   * caller names none, so that every command (argus watch, serve, the
   * database subcommands) works with --db postgresql://... unchanged. */
  if (!o.data_dir && !ops->files) {
    const char *env = getenv("ARGUS_DATA_DIR");
    if (env && env[0])
      o.data_dir = env;
  }
  if (o.data_dir) {
    if (!o.data_dir[0] || strlen(o.data_dir) + 8 >= sizeof s->crops_dir) {
      e = store_fail(err, ARGUS_E_INVALID_ARG, "bad data_dir");
      goto fail;
    }
    snprintf(s->crops_dir, sizeof s->crops_dir, "%s/crops", o.data_dir);
  } else if (!ops->files) {
    /* A server has no folder beside the database for the crop files. */
    e = store_fail(err, ARGUS_E_INVALID_ARG,
                   "a %s store needs a data folder for its crop files "
                   "(data_dir, or the environment's ARGUS_DATA_DIR)",
                   ops->name);
    goto fail;
  } else {
    const char *slash = strrchr(s->path, '/');
    if (!slash)
      snprintf(s->crops_dir, sizeof s->crops_dir, "crops");
    else if (slash == s->path)
      snprintf(s->crops_dir, sizeof s->crops_dir, "/crops");
    else if ((size_t)(slash - s->path) + 8 < sizeof s->crops_dir)
      snprintf(s->crops_dir, sizeof s->crops_dir, "%.*s/crops",
               (int)(slash - s->path), s->path);
  }
  if (o.read_only)
    o.must_exist = 1;
  struct stat dbst;
  if (ops->files && o.must_exist && stat(s->path, &dbst) != 0) {
    e = errno == ENOENT || errno == ENOTDIR
            ? store_fail(err, ARGUS_E_NOT_FOUND, "no database at %s", s->path)
            : store_fail(err, ARGUS_E_IO, "cannot read %s: %s", s->path,
                         strerror(errno));
    goto fail;
  }
  /* The default path's folder is made (documented); a folder named on
   * purpose that is missing is far more often a typo than a wish. */
  if (ops->files && !o.must_exist &&
      (e = path ? check_parent(s->path, err) : make_dirs(s->path, 1, err)) !=
          ARGUS_OK)
    goto fail;
  if ((e = ops->open(s->conninfo, &o, &s->db, err)) != ARGUS_OK)
    goto fail;
  /* ---- encryption at rest: refuse a key that does not fit before
   * anything is read or written */
  if ((e = store_keys_open(s, &o, err)) != ARGUS_OK)
    goto fail;
  /* ---- end encryption at rest */
  if (o.read_only) {
    int version = 0;
    if ((e = store_schema_peek(s, &version, err)) != ARGUS_OK)
      goto fail;
    if (version < ARGUS_STORE_SCHEMA_VERSION) {
      /* Written by an older argus: upgraded once, as a writer would. */
      ops->close(s->db);
      s->db = NULL;
      argus_store_options w = o;
      w.read_only = 0;
      if ((e = ops->open(s->conninfo, &w, &s->db, err)) != ARGUS_OK ||
          (e = store_migrate(s, err)) != ARGUS_OK)
        goto fail;
    }
    s->schema_version = ARGUS_STORE_SCHEMA_VERSION;
    s->read_only = s->db && version == ARGUS_STORE_SCHEMA_VERSION;
    s->busy_timeout_ms = o.busy_timeout_ms;
    s->sync_full = o.sync_full;
    char id[33];
    int found = 0;
    if ((e = read_store_id(s, id, &found, err)) != ARGUS_OK ||
        (found && (e = claim_crops_dir(s, id, 1, err)) != ARGUS_OK))
      goto fail;
    s->keys_ready = 1; /* encryption at rest */
    *out = s;
    return ARGUS_OK;
  }
  if ((e = store_migrate(s, err)) != ARGUS_OK)
    goto fail;
  s->keys_ready = 1; /* encryption at rest: write transactions check meta */
  char id[33];
  if ((e = ensure_store_id(s, id, err)) != ARGUS_OK)
    goto fail;
  if ((e = claim_crops_dir(s, id, 0, err)) != ARGUS_OK)
    goto fail;
  /* Finish the work of killed processes: crop files written by a
   * transaction that never committed, and purges between commit and the
   * removal of the files. Both take the write lock only when there is such
   * work (an intent file, a queued purge). */
  if (store_pending_any(s)) {
    if ((e = store_begin(s, STORE_TX_WRITE, err)) != ARGUS_OK)
      goto fail;
    if ((e = store_pending_recover(s, NULL, err)) != ARGUS_OK) {
      store_rollback(s);
      goto fail;
    }
    if ((e = store_commit(s, err)) != ARGUS_OK)
      goto fail;
  }
  if ((e = store_purge_run(s, err)) != ARGUS_OK)
    goto fail;
  *out = s;
  return ARGUS_OK;
fail:
  argus_store_close(s);
  return e;
}

void argus_store_close(argus_store *s) {
  if (!s)
    return;
  if (s->db) {
    store_cached_drop(s);
    s->ops->close(s->db); /* rolls back an open transaction */
  }
  store_pending_end(s);
  free(s->new_crops);
  store_keys_free(s); /* encryption at rest */
  free(s);
}

const char *argus_store_path(const argus_store *s) { return s ? s->path : ""; }
const char *argus_store_crops_dir(const argus_store *s) {
  return s ? s->crops_dir : "";
}
int argus_store_schema_version(const argus_store *s) {
  return s ? s->schema_version : 0;
}

argus_err argus_store_audit_append(argus_store *s, const char *action,
                                   const char *object_type,
                                   argus_store_id object_id, const char *detail,
                                   argus_store_error *err) {
  argus_err e = store_check_handle(s, err);
  if (e == ARGUS_OK)
    e = store_check_name(action, "action", ARGUS_STORE_NAME_MAX, err);
  if (e == ARGUS_OK && object_type)
    e = store_check_name(object_type, "object type", ARGUS_STORE_NAME_MAX, err);
  if (e != ARGUS_OK)
    return e;
  if (detail) {
    char why[128];
    if (strnlen(detail, ARGUS_STORE_JSON_MAX) >= ARGUS_STORE_JSON_MAX)
      return store_fail(err, ARGUS_E_INVALID_ARG,
                        "audit detail is longer than %d bytes",
                        ARGUS_STORE_JSON_MAX - 1);
    if (store_json_validate_object(detail, why, sizeof why) != 0)
      return store_fail(err, ARGUS_E_INVALID_ARG, "audit detail: %s", why);
  }
  if ((e = store_begin(s, STORE_TX_WRITE, err)) != ARGUS_OK)
    return e;
  e = store_audit(s, action, object_type, object_id, detail, NULL, err);
  if (e != ARGUS_OK) {
    store_rollback(s);
    return e;
  }
  return store_commit(s, err);
}

/* The audit rows of a filter, newest first; `cap` bounds the limit. */
static argus_err audit_select(argus_store *s, const argus_store_audit_filter *f,
                              size_t cap, argus_store_audit **out, size_t *n,
                              argus_store_error *err) {
  if (out)
    *out = NULL;
  if (n)
    *n = 0;
  argus_err e = store_check_handle(s, err);
  if (e != ARGUS_OK)
    return e;
  if (!out || !n || !f)
    return store_fail(err, ARGUS_E_INVALID_ARG, "out, n or filter is NULL");
  size_t limit = f->limit ? f->limit : 100;
  if (limit > cap)
    limit = cap;
  if (f->actor &&
      (e = store_check_name(f->actor, "actor", ARGUS_STORE_NAME_MAX, err)) !=
          ARGUS_OK)
    return e;
  if (f->action &&
      (e = store_check_name(f->action, "action", ARGUS_STORE_NAME_MAX, err)) !=
          ARGUS_OK)
    return e;
  if (f->object_type &&
      (e = store_check_name(f->object_type, "object type",
                            ARGUS_STORE_NAME_MAX, err)) != ARGUS_OK)
    return e;
  if (f->object_id < 0)
    return store_fail(err, ARGUS_E_INVALID_ARG, "object id %lld is negative",
                      (long long)f->object_id);
  /* Times compare as text in the store's canonical form. */
  char since[ARGUS_STORE_TIME_MAX], until[ARGUS_STORE_TIME_MAX];
  if (f->since &&
      (e = store_time_canonical(f->since, since, err)) != ARGUS_OK)
    return store_wrap(err, e, "since");
  if (f->until &&
      (e = store_time_canonical(f->until, until, err)) != ARGUS_OK)
    return store_wrap(err, e, "until");
  /* An action ending in '.' is a prefix: LIKE with its own wildcards
   * escaped (names may hold '%' and '_'). SQLite's LIKE ignores the case
   * of ASCII letters and PostgreSQL's does not: both sides in lower case
   * make the backends agree. */
  char pattern[2 * ARGUS_STORE_NAME_MAX + 2];
  size_t alen = f->action ? strlen(f->action) : 0;
  int prefix = alen && f->action[alen - 1] == '.';
  if (prefix) {
    size_t k = 0;
    for (size_t i = 0; i < alen; i++) {
      char c = f->action[i];
      if (c == '%' || c == '_' || c == '\\')
        pattern[k++] = '\\';
      pattern[k++] = c;
    }
    pattern[k++] = '%';
    pattern[k] = '\0';
  }
  /* Conditions are fixed strings; values go through parameters. */
  char sql[768];
  snprintf(sql, sizeof sql,
           "SELECT id, time, actor, action, object_type, object_id, detail "
           "FROM audit WHERE id < ?%s%s%s%s%s%s ORDER BY id DESC LIMIT ?",
           f->actor ? " AND actor = ?" : "",
           !f->action ? ""
           : prefix   ? " AND lower(action) LIKE lower(?) ESCAPE '\\'"
                      : " AND action = ?",
           f->object_type ? " AND object_type = ?" : "",
           f->object_id > 0 ? " AND object_id = ?" : "",
           f->since ? " AND time >= ?" : "", f->until ? " AND time < ?" : "");
  store_stmt *st = NULL;
  if ((e = s->ops->prepare(s->db, sql, &st, err)) != ARGUS_OK)
    return e;
  const store_backend_ops *o = s->ops;
  int k = 1;
  e = o->bind_int64(st, k++,
                    f->before_id > 0 ? (int64_t)f->before_id : INT64_MAX);
  if (e == ARGUS_OK && f->actor)
    e = o->bind_text(st, k++, f->actor);
  if (e == ARGUS_OK && f->action)
    e = o->bind_text(st, k++, prefix ? pattern : f->action);
  if (e == ARGUS_OK && f->object_type)
    e = o->bind_text(st, k++, f->object_type);
  if (e == ARGUS_OK && f->object_id > 0)
    e = o->bind_int64(st, k++, (int64_t)f->object_id);
  if (e == ARGUS_OK && f->since)
    e = o->bind_text(st, k++, since);
  if (e == ARGUS_OK && f->until)
    e = o->bind_text(st, k++, until);
  if (e == ARGUS_OK)
    e = o->bind_int64(st, k++,
                      limit > (size_t)INT64_MAX ? INT64_MAX : (int64_t)limit);
  if (e != ARGUS_OK) {
    o->finalize(st);
    return store_fail(err, e, "binding audit filter");
  }
  store_vec v = {.item = sizeof(argus_store_audit)};
  int row = 0;
  while ((e = store_step(s, st, &row, err)) == ARGUS_OK && row == STORE_ROW) {
    argus_store_audit *a = store_vec_push(&v);
    if (!a) {
      e = store_fail(err, ARGUS_E_NOMEM, "out of memory listing audit rows");
      break;
    }
    a->id = o->col_int64(st, 0);
    store_copy(a->time, sizeof a->time, o->col_text(st, 1));
    store_copy(a->actor, sizeof a->actor, o->col_text(st, 2));
    store_copy(a->action, sizeof a->action, o->col_text(st, 3));
    store_copy(a->object_type, sizeof a->object_type, o->col_text(st, 4));
    a->object_id = o->col_int64(st, 5);
    store_copy(a->detail, sizeof a->detail, o->col_text(st, 6));
  }
  o->finalize(st);
  if (e != ARGUS_OK) {
    free(v.data);
    return e;
  }
  *out = v.data;
  *n = v.n;
  return ARGUS_OK;
}

#define AUDIT_QUERY_MAX 10000

argus_err argus_store_audit_query(argus_store *s,
                                  const argus_store_audit_filter *f,
                                  argus_store_audit **out, size_t *n,
                                  argus_store_error *err) {
  argus_store_audit_filter all = {0};
  return audit_select(s, f ? f : &all, AUDIT_QUERY_MAX, out, n, err);
}

/* The unfiltered listing keeps its old contract: any limit. */
argus_err argus_store_audit_list(argus_store *s, argus_store_id before_id,
                                 size_t limit, argus_store_audit **out,
                                 size_t *n, argus_store_error *err) {
  argus_store_audit_filter f = {.before_id = before_id, .limit = limit};
  return audit_select(s, &f, (size_t)INT64_MAX / 2, out, n, err);
}
