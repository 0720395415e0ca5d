/* The tamper-evident audit log: every audit row carries the SHA-256 of its
 * predecessor (prev_sha256) and of its own canonical content (row_sha256),
 * so the rows form a hash chain (argus/store.h has the canonical form,
 * docs/lawful-use.md what it proves and what it does not).
 *
 * Why netstrings: each field is framed by its length, so no two different
 * rows encode to the same bytes (a '|' or a quote inside a field cannot
 * shift the boundary between two fields), and an outside party can rebuild
 * the bytes in a few lines of any language without a JSON canonicaliser.
 * The id is hashed too: a row cannot be moved, and deleting one leaves its
 * successor pointing at a hash that no longer exists.
 *
 * Writers read the head (the newest row's hash) inside their own write
 * transaction: SQLite serialises writers, so two processes never chain onto
 * the same head, and nothing is cached per handle that another process
 * could make stale. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

#define AUDIT_MOD "audit"
#define COLS                                                                   \
  "id, time, actor, action, object_type, object_id, detail, prev_sha256, "     \
  "row_sha256"

static void put_field(argus_sha256 *h, const char *v, size_t n) {
  char len[32];
  int k = snprintf(len, sizeof len, "%zu:", n);
  argus_sha256_update(h, len, (size_t)k);
  argus_sha256_update(h, v, n);
  argus_sha256_update(h, ",", 1);
}

static void put_str(argus_sha256 *h, const char *v) {
  put_field(h, v ? v : "", v ? strlen(v) : 0);
}

static void put_int(argus_sha256 *h, int64_t v) {
  char num[32];
  int k = snprintf(num, sizeof num, "%lld", (long long)v);
  put_field(h, num, (size_t)k);
}

void store_audit_row_hash(const store_audit_fields *f,
                          char out[ARGUS_STORE_SHA256_HEX]) {
  argus_sha256 h;
  argus_sha256_init(&h);
  put_str(&h, "argus.audit.v1");
  put_int(&h, f->id);
  put_str(&h, f->time);
  put_str(&h, f->actor);
  put_str(&h, f->action);
  put_str(&h, f->object_type);
  if (f->has_object_id)
    put_int(&h, f->object_id);
  else
    put_field(&h, "", 0);
  put_str(&h, f->detail);
  put_str(&h, f->prev_sha256);
  uint8_t d[32];
  argus_sha256_final(&h, d);
  argus_sha256_digest_hex(d, out);
}

/* A row of COLS read from st: the hashed fields plus the stored hashes
 * (NULL when the column is NULL). Pointers valid until the next step. */
typedef struct chain_row {
  store_audit_fields f;
  const char *prev, *row;
} chain_row;

static void read_row(argus_store *s, store_stmt *st, chain_row *r) {
  const store_backend_ops *o = s->ops;
  memset(r, 0, sizeof *r);
  r->f.id = o->col_int64(st, 0);
  r->f.time = o->col_text(st, 1);
  r->f.actor = o->col_text(st, 2);
  r->f.action = o->col_text(st, 3);
  r->f.object_type = o->col_text(st, 4);
  r->f.has_object_id = !o->col_is_null(st, 5);
  r->f.object_id = r->f.has_object_id ? o->col_int64(st, 5) : 0;
  r->f.detail = o->col_text(st, 6);
  r->prev = o->col_is_null(st, 7) ? NULL : o->col_text(st, 7);
  r->row = o->col_is_null(st, 8) ? NULL : o->col_text(st, 8);
  r->f.prev_sha256 = r->prev ? r->prev : "";
}

argus_err store_audit_prev(argus_store *s, char prev[ARGUS_STORE_SHA256_HEX],
                           argus_store_error *err) {
  store_stmt *st = NULL;
  argus_err e = store_cached(
      s, STORE_STMT_AUDIT_HEAD,
      "SELECT id, row_sha256 FROM audit ORDER BY id DESC LIMIT 1", &st, err);
  if (e != ARGUS_OK)
    return e;
  int row = 0;
  e = store_step(s, st, &row, err);
  store_copy(prev, ARGUS_STORE_SHA256_HEX, ARGUS_STORE_AUDIT_GENESIS);
  if (e == ARGUS_OK && row == STORE_ROW) {
    const char *h = s->ops->col_text(st, 1);
    if (store_is_sha256_hex(h))
      store_copy(prev, ARGUS_STORE_SHA256_HEX, h);
    else
      /* Chaining on goes on from the genesis: verify names that row. */
      argus_log(ARGUS_LOG_WARN, AUDIT_MOD,
                "%s: audit row %lld has no valid hash (written outside "
                "argus?): run 'argus audit verify'",
                s->path, (long long)s->ops->col_int64(st, 0));
  }
  s->ops->reset(st);
  return e;
}

argus_err store_audit_set_detail(argus_store *s, argus_store_id id,
                                 const char *detail, argus_store_error *err) {
  if (s->schema_version < STORE_AUDIT_CHAIN_VERSION)
    return store_run(s, err, "UPDATE audit SET detail = ? WHERE id = ?", "si",
                     detail, (int64_t)id);
  store_stmt *st = NULL;
  argus_err e = store_prep(s, &st, err,
                           "SELECT " COLS " FROM audit ORDER BY id DESC "
                           "LIMIT 1",
                           "");
  if (e != ARGUS_OK)
    return e;
  int row = 0;
  char hash[ARGUS_STORE_SHA256_HEX];
  if ((e = store_step(s, st, &row, err)) == ARGUS_OK) {
    chain_row r;
    if (row == STORE_ROW)
      read_row(s, st, &r);
    if (row != STORE_ROW || r.f.id != id) {
      e = store_fail(err, ARGUS_E_INTERNAL,
                     "audit row %lld is not the newest: its detail cannot "
                     "change",
                     (long long)id);
    } else {
      r.f.detail = detail;
      store_audit_row_hash(&r.f, hash);
    }
  }
  s->ops->finalize(st);
  if (e != ARGUS_OK)
    return e;
  return store_run(s, err,
                   "UPDATE audit SET detail = ?, row_sha256 = ? WHERE id = ?",
                   "ssi", detail, hash, (int64_t)id);
}

argus_err store_audit_chain_backfill(argus_store *s, argus_store_error *err) {
  /* One row at a time by id (a statement per row, each finished before the
   * update), so no statement reads the table while it changes. */
  char prev[ARGUS_STORE_SHA256_HEX] = ARGUS_STORE_AUDIT_GENESIS;
  store_stmt *sel = NULL, *upd = NULL;
  int64_t last = 0, n = 0;
  argus_err e = store_prep(s, &sel, err,
                           "SELECT " COLS " FROM audit WHERE id > ? "
                           "ORDER BY id LIMIT 1",
                           "i", (int64_t)0);
  if (e != ARGUS_OK)
    goto out;
  e = store_prep(s, &upd, err,
                 "UPDATE audit SET prev_sha256 = ?, row_sha256 = ? "
                 "WHERE id = ?",
                 "ssi", prev, prev, (int64_t)0);
  if (e != ARGUS_OK)
    goto out;
  const store_backend_ops *o = s->ops;
  for (;;) {
    int row = 0;
    o->reset(sel);
    if ((e = o->bind_int64(sel, 1, last)) != ARGUS_OK ||
        (e = store_step(s, sel, &row, err)) != ARGUS_OK)
      goto out;
    if (row != STORE_ROW)
      break;
    chain_row r;
    read_row(s, sel, &r);
    r.f.prev_sha256 = prev;
    char hash[ARGUS_STORE_SHA256_HEX];
    store_audit_row_hash(&r.f, hash);
    last = r.f.id;
    o->reset(sel);
    o->reset(upd);
    if ((e = o->bind_text(upd, 1, prev)) != ARGUS_OK ||
        (e = o->bind_text(upd, 2, hash)) != ARGUS_OK ||
        (e = o->bind_int64(upd, 3, last)) != ARGUS_OK ||
        (e = store_step(s, upd, &row, err)) != ARGUS_OK)
      goto out;
    memcpy(prev, hash, sizeof prev);
    n++;
  }
  argus_log(ARGUS_LOG_INFO, AUDIT_MOD, "%s: chained %lld audit rows", s->path,
            (long long)n);
out:
  s->ops->finalize(sel);
  s->ops->finalize(upd);
  if (e != ARGUS_OK)
    store_wrap(err, e, "chaining the audit log");
  return e;
}

/* ---- public ------------------------------------------------------------- */

const char *argus_store_audit_fault_name(argus_store_audit_fault f) {
  switch (f) {
  case ARGUS_AUDIT_INTACT:
    return "intact";
  case ARGUS_AUDIT_ALTERED:
    return "altered";
  case ARGUS_AUDIT_DELETED:
    return "deleted";
  case ARGUS_AUDIT_INSERTED:
    return "inserted";
  case ARGUS_AUDIT_BROKEN:
    return "broken";
  case ARGUS_AUDIT_ANCHOR:
    return "anchor";
  }
  return "unknown";
}

static void fault(argus_store_audit_check *c, argus_store_audit_fault f,
                  argus_store_id id, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void fault(argus_store_audit_check *c, argus_store_audit_fault f,
                  argus_store_id id, const char *fmt, ...) {
  c->fault = f;
  c->bad_id = id;
  c->head_id = 0;
  c->head_sha256[0] = '\0';
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(c->msg, sizeof c->msg, fmt, ap);
  va_end(ap);
}

/* Whether a retention tombstone's detail records the cut at base_id with
 * hash sha ("audit_base_id":N and "audit_base_sha256":"H", as
 * argus_store_purge writes them). */
static int records_base(const char *detail, int64_t base_id, const char *sha) {
  const char *p = strstr(detail, "\"audit_base_id\":");
  if (!p || strtoll(p + 16, NULL, 10) != base_id)
    return 0;
  const char *q = strstr(detail, "\"audit_base_sha256\":\"");
  return q && strncmp(q + 21, sha, 64) == 0;
}

/* "row 5 was deleted" or "rows 5..9 were deleted". */
static void deleted_range(char *buf, size_t size, int64_t a, int64_t b) {
  if (a == b)
    snprintf(buf, size, "row %lld was deleted", (long long)a);
  else
    snprintf(buf, size, "rows %lld..%lld were deleted", (long long)a,
             (long long)b);
}

argus_err argus_store_audit_verify(argus_store *s, argus_store_id anchor_id,
                                   const char *anchor_sha256,
                                   argus_store_audit_check *out,
                                   argus_store_error *err) {
  argus_err e = store_check_handle(s, err);
  if (e != ARGUS_OK)
    return e;
  if (!out)
    return store_fail(err, ARGUS_E_INVALID_ARG, "result is NULL");
  memset(out, 0, sizeof *out);
  if (anchor_id < 0 || (anchor_id > 0 && !store_is_sha256_hex(anchor_sha256)))
    return store_fail(err, ARGUS_E_INVALID_ARG,
                      "anchor: expected a row id > 0 and 64 lower-case hex "
                      "digits");
  /* One read transaction: the base (meta) and the rows from one snapshot,
   * so that a purge running meanwhile is seen whole or not at all. */
  if ((e = store_begin(s, STORE_TX_READ, err)) != ARGUS_OK)
    return e;
  /* expected: the stored row_sha256 of the last good row (before the
   * first: the base a retention purge left, else the genesis); last: its
   * id. */
  char expected[ARGUS_STORE_SHA256_HEX] = ARGUS_STORE_AUDIT_GENESIS;
  int64_t last = 0;
  if ((e = store_audit_base_read(s, &last, expected, err)) != ARGUS_OK) {
    store_rollback(s);
    return e;
  }
  const int64_t base_id = last;
  char base_sha[ARGUS_STORE_SHA256_HEX];
  memcpy(base_sha, expected, sizeof base_sha);
  int base_recorded = base_id == 0;
  store_stmt *st = NULL;
  e = store_prep(s, &st, err, "SELECT " COLS " FROM audit ORDER BY id", "");
  if (e != ARGUS_OK) {
    store_rollback(s);
    return e;
  }
  int anchor_seen = 0, row = 0;
  if (anchor_id > 0 && anchor_id <= base_id) {
    if (anchor_id == base_id && strcmp(anchor_sha256, base_sha) == 0)
      anchor_seen = 1;
    else if (anchor_id == base_id)
      fault(out, ARGUS_AUDIT_ANCHOR, anchor_id,
            "row %lld, the anchor, does not match the hash a retention "
            "purge kept for it: the log up to it was rewritten",
            (long long)anchor_id);
    else
      fault(out, ARGUS_AUDIT_ANCHOR, anchor_id,
            "row %lld, the anchor, was removed by a retention purge (the "
            "log now starts after row %lld): anchor a newer row",
            (long long)anchor_id, (long long)base_id);
  }
  while (out->fault == ARGUS_AUDIT_INTACT &&
         (e = store_step(s, st, &row, err)) == ARGUS_OK && row == STORE_ROW) {
    chain_row r;
    read_row(s, st, &r);
    int64_t id = r.f.id;
    out->rows++;
    if (!store_is_sha256_hex(r.prev) || !store_is_sha256_hex(r.row)) {
      fault(out, ARGUS_AUDIT_INSERTED, id,
            "row %lld was inserted: it has no valid chain hashes (not "
            "written by argus)",
            (long long)id);
      break;
    }
    if (strcmp(r.prev, expected) != 0) {
      if (id > last + 1) {
        char gone[64];
        deleted_range(gone, sizeof gone, last + 1, id - 1);
        fault(out, ARGUS_AUDIT_DELETED, id,
              "%s: row %lld does not follow from row %lld", gone, (long long)id,
              (long long)last);
        break;
      }
      /* Does the chain go on as if this row were absent? */
      int next = 0;
      if ((e = store_step(s, st, &next, err)) != ARGUS_OK)
        break;
      chain_row r2;
      memset(&r2, 0, sizeof r2);
      if (next == STORE_ROW)
        read_row(s, st, &r2);
      if (next != STORE_ROW)
        fault(out, ARGUS_AUDIT_INSERTED, id,
              "row %lld, the newest, was inserted (or replaced): it does "
              "not follow from row %lld",
              (long long)id, (long long)last);
      else if (r2.prev && strcmp(r2.prev, expected) == 0)
        fault(out, ARGUS_AUDIT_INSERTED, id,
              "row %lld was inserted: row %lld follows from row %lld",
              (long long)id, (long long)r2.f.id, (long long)last);
      else
        fault(out, ARGUS_AUDIT_BROKEN, id,
              "chain broken at row %lld: it does not follow from row %lld "
              "(row %lld was rewritten with a new hash, or row %lld was "
              "replaced)",
              (long long)id, (long long)last, (long long)last, (long long)id);
      break;
    }
    char hash[ARGUS_STORE_SHA256_HEX];
    store_audit_row_hash(&r.f, hash);
    if (strcmp(hash, r.row) != 0) {
      fault(out, ARGUS_AUDIT_ALTERED, id,
            "row %lld was altered: its content no longer matches its hash",
            (long long)id);
      break;
    }
    if (id > last + 1) {
      char gone[64];
      deleted_range(gone, sizeof gone, last + 1, id - 1);
      fault(out, ARGUS_AUDIT_DELETED, id,
            "%s (row %lld was chained after the deletion)", gone,
            (long long)id);
      break;
    }
    if (anchor_id > 0 && id == anchor_id) {
      anchor_seen = 1;
      if (strcmp(r.row, anchor_sha256) != 0) {
        fault(out, ARGUS_AUDIT_ANCHOR, id,
              "row %lld does not match the anchor: the log up to it was "
              "rewritten",
              (long long)id);
        break;
      }
    }
    if (!base_recorded && strcmp(r.f.action, "retention.purge") == 0)
      base_recorded = records_base(r.f.detail, base_id, base_sha);
    memcpy(expected, r.row, sizeof expected);
    last = id;
    out->good_id = id;
  }
  s->ops->finalize(st);
  store_rollback(s);
  if (e != ARGUS_OK)
    return store_wrap(err, e, "verifying the audit log");
  if (out->fault == ARGUS_AUDIT_INTACT && !base_recorded)
    fault(out, ARGUS_AUDIT_DELETED, base_id + 1,
          "rows up to %lld were deleted: the log starts after row %lld but "
          "no retention purge in it recorded that cut",
          (long long)base_id, (long long)base_id);
  if (out->fault == ARGUS_AUDIT_INTACT && anchor_id > 0 && !anchor_seen) {
    fault(out, ARGUS_AUDIT_ANCHOR, anchor_id,
          "row %lld, the anchor, is gone: the log ends at row %lld (rows "
          "were deleted from its end)",
          (long long)anchor_id, (long long)last);
  }
  if (out->fault == ARGUS_AUDIT_INTACT) {
    out->head_id = last;
    store_copy(out->head_sha256, sizeof out->head_sha256, last ? expected : "");
    snprintf(out->msg, sizeof out->msg,
             "intact: %lld rows, head id=%lld sha256=%s", (long long)out->rows,
             (long long)last, last ? expected : "-");
  }
  return ARGUS_OK;
}

argus_err argus_store_audit_head(argus_store *s, argus_store_id *id,
                                 char hash[ARGUS_STORE_SHA256_HEX],
                                 argus_store_error *err) {
  argus_err e = store_check_handle(s, err);
  if (e == ARGUS_OK && (!id || !hash))
    e = store_fail(err, ARGUS_E_INVALID_ARG, "id or hash is NULL");
  if (e != ARGUS_OK)
    return e;
  *id = 0;
  hash[0] = '\0';
  store_stmt *st = NULL;
  e = store_prep(s, &st, err,
                 "SELECT id, row_sha256 FROM audit ORDER BY id DESC LIMIT 1",
                 "");
  if (e != ARGUS_OK)
    return e;
  int row = 0;
  if ((e = store_step(s, st, &row, err)) == ARGUS_OK && row == STORE_ROW) {
    *id = s->ops->col_int64(st, 0);
    store_copy(hash, ARGUS_STORE_SHA256_HEX, s->ops->col_text(st, 1));
  }
  s->ops->finalize(st);
  return e;
}

argus_err argus_store_audit_anchor_log(argus_store *s, argus_log_level level,
                                       argus_store_error *err) {
  argus_store_id id = 0;
  char hash[ARGUS_STORE_SHA256_HEX];
  argus_err e = argus_store_audit_head(s, &id, hash, err);
  if (e != ARGUS_OK)
    return e;
  argus_log(level, AUDIT_MOD, "audit head id=%lld sha256=%s (%s)",
            (long long)id, hash[0] ? hash : "-", s->path);
  return ARGUS_OK;
}

argus_err argus_store_audit_chain_foreach(argus_store *s,
                                          argus_store_id after_id,
                                          argus_store_audit_link_fn fn,
                                          void *user, argus_store_error *err) {
  argus_err e = store_check_handle(s, err);
  if (e == ARGUS_OK && !fn)
    e = store_fail(err, ARGUS_E_INVALID_ARG, "callback is NULL");
  if (e != ARGUS_OK)
    return e;
  store_stmt *st = NULL;
  e = store_prep(s, &st, err,
                 "SELECT " COLS " FROM audit WHERE id > ? ORDER BY id", "i",
                 (int64_t)(after_id > 0 ? after_id : 0));
  if (e != ARGUS_OK)
    return e;
  int row = 0;
  s->in_callback = 1;
  while ((e = store_step(s, st, &row, err)) == ARGUS_OK && row == STORE_ROW) {
    chain_row r;
    read_row(s, st, &r);
    argus_store_audit_link l = {
        .id = r.f.id,
        .time = r.f.time,
        .actor = r.f.actor,
        .action = r.f.action,
        .object_type = r.f.object_type,
        .has_object_id = r.f.has_object_id,
        .object_id = r.f.object_id,
        .detail = r.f.detail,
        .prev_sha256 = r.prev,
        .row_sha256 = r.row,
    };
    if (fn(user, &l) != 0)
      break;
  }
  s->in_callback = 0;
  s->ops->finalize(st);
  return e;
}
