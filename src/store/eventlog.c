/* The live event log: every event of the API's stream is appended here
 * before it is sent, and its row id is its id on the stream, so a client
 * that reconnects with Last-Event-ID replays what it missed from here.
 *
 * Append runs once per live event: its INSERT is prepared once per handle
 * (store_cached) and runs in its own short write transaction. The data is
 * checked to be one JSON object but not audited: the log holds names,
 * scores and hashes, never image bytes or templates, and the audit already
 * has a row for every change that raised an event. */
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

#define EVENT_TYPE_MAX 64 /* bytes, with the NUL */

static argus_err check_type(const char *type, argus_store_error *err) {
  if (!type)
    return store_fail(err, ARGUS_E_INVALID_ARG, "event type is NULL");
  size_t n = strnlen(type, EVENT_TYPE_MAX);
  if (n == 0 || n >= EVENT_TYPE_MAX)
    return store_fail(err, ARGUS_E_INVALID_ARG,
                      "event type must be 1 to %d bytes", EVENT_TYPE_MAX - 1);
  for (size_t i = 0; i < n; i++) {
    char c = type[i];
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
          c == '_' || c == '-'))
      return store_fail(err, ARGUS_E_INVALID_ARG,
                        "event type '%.63s' may hold only a-z, 0-9 and . _ -",
                        type);
  }
  return ARGUS_OK;
}

argus_err argus_store_event_append(argus_store *s, const char *type,
                                   const char *data, size_t size,
                                   argus_store_id *out_id,
                                   argus_store_error *err) {
  argus_err e = store_check_handle(s, err);
  if (e == ARGUS_OK)
    e = check_type(type, err);
  if (e == ARGUS_OK && !data)
    e = store_fail(err, ARGUS_E_INVALID_ARG, "event data is NULL");
  if (e == ARGUS_OK && size > ARGUS_STORE_EVENT_MAX)
    e = store_fail(err, ARGUS_E_LIMIT,
                   "event data is %zu bytes, more than %zu", size,
                   ARGUS_STORE_EVENT_MAX);
  if (e != ARGUS_OK)
    return e;
  size_t k = 0;
  while (k < size && (data[k] == ' ' || data[k] == '\t' || data[k] == '\n' ||
                      data[k] == '\r'))
    k++;
  argus_error_detail why;
  if (k == size || data[k] != '{')
    return store_fail(err, ARGUS_E_INVALID_ARG,
                      "event data is not a JSON object");
  if (argus_json_validate(data, size, 0, &why) != ARGUS_OK)
    return store_fail(err, ARGUS_E_INVALID_ARG, "event data: %s", why.msg);
  /* The backend binds NUL-terminated text; the caller's need not be. */
  char *copy = malloc(size + 1);
  if (!copy)
    return store_fail(err, ARGUS_E_NOMEM, "out of memory");
  memcpy(copy, data, size);
  copy[size] = '\0';

  char t[ARGUS_STORE_TIME_MAX];
  argus_store_now(t);
  if ((e = store_begin(s, STORE_TX_WRITE, err)) != ARGUS_OK)
    goto out;
  store_stmt *st = NULL;
  e = store_cached(s, STORE_STMT_EVENT_APPEND,
                   "INSERT INTO events (time, type, data) VALUES (?, ?, ?) "
                   "RETURNING id",
                   &st, err);
  const store_backend_ops *o = s->ops;
  if (e == ARGUS_OK &&
      ((e = o->bind_text(st, 1, t)) != ARGUS_OK ||
       (e = o->bind_text(st, 2, type)) != ARGUS_OK ||
       (e = o->bind_text(st, 3, copy)) != ARGUS_OK))
    e = store_fail(err, e, "binding an event: %s", argus_strerror(e));
  int row = 0;
  argus_store_id id = 0;
  if (e == ARGUS_OK)
    e = store_step(s, st, &row, err);
  if (e == ARGUS_OK && row == STORE_ROW)
    id = o->col_int64(st, 0);
  else if (e == ARGUS_OK)
    e = store_fail(err, ARGUS_E_INTERNAL, "event insert returned no id");
  if (st)
    o->reset(st); /* done with it: no statement stays active */
  if (e != ARGUS_OK) {
    store_rollback(s);
    goto out;
  }
  if ((e = store_commit(s, err)) != ARGUS_OK)
    goto out;
  if (out_id)
    *out_id = id;
out:
  free(copy);
  return e;
}

argus_err argus_store_event_foreach(argus_store *s, argus_store_id after_id,
                                    size_t limit, argus_store_event_fn fn,
                                    void *user, argus_store_error *err) {
  argus_err e = store_check_handle(s, err);
  if (e == ARGUS_OK && !fn)
    e = store_fail(err, ARGUS_E_INVALID_ARG, "callback is NULL");
  if (e == ARGUS_OK && s->in_callback)
    e = store_fail(err, ARGUS_E_INVALID_ARG,
                   "the store was called from its own callback");
  if (e != ARGUS_OK)
    return e;
  int64_t lim = limit == 0 || limit > (size_t)INT64_MAX ? INT64_MAX
                                                        : (int64_t)limit;
  store_stmt *st = NULL;
  e = store_prep(s, &st, err,
                 "SELECT id, time, type, data FROM events WHERE id > ? "
                 "ORDER BY id LIMIT ?",
                 "ii", (int64_t)(after_id > 0 ? after_id : 0), lim);
  if (e != ARGUS_OK)
    return e;
  const store_backend_ops *o = s->ops;
  int row = 0;
  s->in_callback = 1;
  while ((e = store_step(s, st, &row, err)) == ARGUS_OK && row == STORE_ROW) {
    argus_store_event ev;
    ev.id = o->col_int64(st, 0);
    ev.time = o->col_text(st, 1);
    ev.type = o->col_text(st, 2);
    ev.data = o->col_text(st, 3);
    ev.size = strlen(ev.data);
    if (fn(user, &ev) != 0)
      break;
  }
  s->in_callback = 0;
  o->finalize(st);
  return e;
}

argus_err argus_store_event_last_id(argus_store *s, argus_store_id *out,
                                    argus_store_error *err) {
  argus_err e = store_check_handle(s, err);
  if (e == ARGUS_OK && !out)
    e = store_fail(err, ARGUS_E_INVALID_ARG, "out is NULL");
  if (e != ARGUS_OK)
    return e;
  int found = 0;
  int64_t v = 0;
  e = store_query_int(s, &found, &v, err,
                      "SELECT coalesce(max(id), 0) FROM events", "");
  if (e == ARGUS_OK)
    *out = v;
  return e;
}

argus_err argus_store_event_purge_before(argus_store *s, const char *time,
                                         int64_t *deleted,
                                         argus_store_error *err) {
  if (deleted)
    *deleted = 0;
  argus_err e = store_check_handle(s, err);
  if (e != ARGUS_OK)
    return e;
  char t[ARGUS_STORE_TIME_MAX];
  if ((e = store_time_canonical(time, t, err)) != ARGUS_OK)
    return e;
  if ((e = store_begin(s, STORE_TX_WRITE, err)) != ARGUS_OK)
    return e;
  int found = 0;
  int64_t n = 0;
  e = store_query_int(s, &found, &n, err,
                      "SELECT count(*) FROM events WHERE time < ?", "s", t);
  if (e == ARGUS_OK)
    e = store_run(s, err, "DELETE FROM events WHERE time < ?", "s", t);
  if (e == ARGUS_OK && n > 0) {
    store_json j;
    store_json_begin(&j);
    store_json_str(&j, "before", t);
    store_json_int(&j, "deleted", n);
    e = store_audit(s, "event.purge", "event", 0, store_json_end(&j), NULL,
                    err);
  }
  if (e != ARGUS_OK) {
    store_rollback(s);
    return e;
  }
  if ((e = store_commit(s, err)) != ARGUS_OK)
    return e;
  if (deleted)
    *deleted = n;
  return ARGUS_OK;
}
