/* Outbound webhooks and their dead letters. A webhook's secret signs its
 * deliveries (HMAC-SHA256): it is stored because the signer needs it, but
 * no audit row, JSON record or message ever shows it. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "store_internal.h"

#define SECRET_MIN 16

static argus_err check_url(const char *url, argus_store_error *err) {
  argus_err e = store_check_name(url, "webhook url", ARGUS_STORE_TEXT_MAX, err);
  if (e != ARGUS_OK)
    return e;
  if (strncasecmp(url, "http://", 7) != 0 &&
      strncasecmp(url, "https://", 8) != 0)
    return store_fail(err, ARGUS_E_INVALID_ARG,
                      "webhook url must start with http:// or https://");
  const char *host = strstr(url, "://") + 3;
  if (!*host || *host == '/')
    return store_fail(err, ARGUS_E_INVALID_ARG, "webhook url has no host");
  for (const char *p = url; *p; p++)
    if ((unsigned char)*p <= ' ')
      return store_fail(err, ARGUS_E_INVALID_ARG,
                        "webhook url holds white space or a control "
                        "character");
  return ARGUS_OK;
}

argus_err argus_store_webhook_add(argus_store *s, const char *url,
                                  const char *secret, const char *watchlist,
                                  argus_store_id *out_id,
                                  argus_store_error *err) {
  argus_err e = store_check_handle(s, err);
  if (e == ARGUS_OK)
    e = check_url(url, err);
  if (e == ARGUS_OK && !secret)
    e = store_fail(err, ARGUS_E_INVALID_ARG, "webhook secret is NULL");
  if (e == ARGUS_OK) {
    size_t n = strnlen(secret, ARGUS_STORE_NAME_MAX);
    if (n < SECRET_MIN || n >= ARGUS_STORE_NAME_MAX)
      e = store_fail(err, ARGUS_E_INVALID_ARG,
                     "webhook secret must be %d to %d bytes", SECRET_MIN,
                     ARGUS_STORE_NAME_MAX - 1);
  }
  if (e == ARGUS_OK && watchlist && !watchlist[0])
    watchlist = NULL;
  if (e == ARGUS_OK && watchlist)
    e = store_check_name(watchlist, "watchlist name", ARGUS_STORE_NAME_MAX,
                         err);
  if (e != ARGUS_OK)
    return e;
  if ((e = store_begin(s, STORE_TX_WRITE, err)) != ARGUS_OK)
    return e;
  argus_store_id wl = 0;
  if (watchlist) /* a typo would silently never fire */
    e = store_watchlist_id(s, watchlist, &wl, err);
  int found = 0;
  int64_t id = 0;
  if (e == ARGUS_OK) {
    char now[ARGUS_STORE_TIME_MAX];
    argus_store_now(now);
    e = store_query_int(s, &found, &id, err,
                        "INSERT INTO webhooks (url, secret, watchlist, "
                        "enabled, created) VALUES (?, ?, ?, 1, ?) RETURNING id",
                        "ssss", url, secret, watchlist, now);
  }
  if (e == ARGUS_OK) {
    char red[ARGUS_STORE_TEXT_MAX];
    argus_store_url_redact(url, red, sizeof red);
    store_json j;
    store_json_begin(&j);
    store_json_str(&j, "url", red);
    store_json_str(&j, "watchlist", watchlist ? watchlist : "");
    e = store_audit(s, "webhook.add", "webhook", id, store_json_end(&j), NULL,
                    err);
  }
  if (e != ARGUS_OK) {
    store_rollback(s);
    return e;
  }
  if ((e = store_commit(s, err)) != ARGUS_OK)
    return e;
  if (out_id)
    *out_id = id;
  return ARGUS_OK;
}

argus_err argus_store_webhook_list(argus_store *s, argus_store_webhook **out,
                                   size_t *n, argus_store_error *err) {
  if (out)
    *out = NULL;
  if (n)
    *n = 0;
  argus_err e = store_check_handle(s, err);
  if (e != ARGUS_OK)
    return e;
  if (!out || !n)
    return store_fail(err, ARGUS_E_INVALID_ARG, "out or n is NULL");
  store_stmt *st = NULL;
  if ((e = store_prep(s, &st, err,
                      "SELECT id, url, secret, watchlist, enabled, created "
                      "FROM webhooks ORDER BY id",
                      "")) != ARGUS_OK)
    return e;
  const store_backend_ops *o = s->ops;
  store_vec v = {.item = sizeof(argus_store_webhook)};
  int row = 0;
  while ((e = store_step(s, st, &row, err)) == ARGUS_OK && row == STORE_ROW) {
    argus_store_webhook *w = store_vec_push(&v);
    if (!w) {
      e = store_fail(err, ARGUS_E_NOMEM, "out of memory listing webhooks");
      break;
    }
    w->id = o->col_int64(st, 0);
    store_copy(w->url, sizeof w->url, o->col_text(st, 1));
    store_copy(w->secret, sizeof w->secret, o->col_text(st, 2));
    store_copy(w->watchlist, sizeof w->watchlist, o->col_text(st, 3));
    w->enabled = (int)o->col_int64(st, 4);
    store_copy(w->created, sizeof w->created, o->col_text(st, 5));
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

argus_err argus_store_webhook_remove(argus_store *s, argus_store_id id,
                                     argus_store_error *err) {
  argus_err e = store_check_handle(s, err);
  if (e != ARGUS_OK)
    return e;
  if ((e = store_begin(s, STORE_TX_WRITE, err)) != ARGUS_OK)
    return e;
  store_stmt *st = NULL;
  char url[ARGUS_STORE_TEXT_MAX] = "";
  int row = 0;
  e = store_prep(s, &st, err, "SELECT url FROM webhooks WHERE id = ?", "i",
                 (int64_t)id);
  if (e == ARGUS_OK)
    e = store_step(s, st, &row, err);
  if (e == ARGUS_OK && row == STORE_ROW)
    argus_store_url_redact(s->ops->col_text(st, 0), url, sizeof url);
  else if (e == ARGUS_OK)
    e = store_fail(err, ARGUS_E_NOT_FOUND, "no webhook with id %lld",
                   (long long)id);
  s->ops->finalize(st);
  int found = 0;
  int64_t letters = 0;
  if (e == ARGUS_OK)
    e = store_query_int(
        s, &found, &letters, err,
        "SELECT count(*) FROM webhook_deadletters WHERE webhook_id = ?", "i",
        (int64_t)id);
  /* Dead letters go by ON DELETE CASCADE. */
  if (e == ARGUS_OK)
    e = store_run(s, err, "DELETE FROM webhooks WHERE id = ?", "i",
                  (int64_t)id);
  if (e == ARGUS_OK) {
    store_json j;
    store_json_begin(&j);
    store_json_str(&j, "url", url);
    store_json_int(&j, "deadletters", letters);
    e = store_audit(s, "webhook.remove", "webhook", id, store_json_end(&j),
                    NULL, err);
  }
  if (e != ARGUS_OK) {
    store_rollback(s);
    return e;
  }
  return store_commit(s, err);
}

/* ---- dead letters ------------------------------------------------------ */

argus_err argus_store_deadletter_add(argus_store *s, argus_store_id webhook_id,
                                     argus_store_id event_id,
                                     const char *payload, int attempts,
                                     const char *last_error,
                                     argus_store_id *out_id,
                                     argus_store_error *err) {
  argus_err e = store_check_handle(s, err);
  if (e == ARGUS_OK && !payload)
    e = store_fail(err, ARGUS_E_INVALID_ARG, "dead letter payload is NULL");
  if (e == ARGUS_OK && strnlen(payload, ARGUS_STORE_EVENT_MAX + 1) >
                           ARGUS_STORE_EVENT_MAX)
    e = store_fail(err, ARGUS_E_INVALID_ARG,
                   "dead letter payload is longer than %zu bytes",
                   ARGUS_STORE_EVENT_MAX);
  if (e == ARGUS_OK && attempts < 0)
    e = store_fail(err, ARGUS_E_INVALID_ARG, "attempts %d is negative",
                   attempts);
  if (e == ARGUS_OK && event_id < 0)
    e = store_fail(err, ARGUS_E_INVALID_ARG, "event id is negative");
  if (e != ARGUS_OK)
    return e;
  /* The error text is the delivery's (a remote answer): cut, not refused,
   * as it must not cost the letter. */
  char why[ARGUS_STORE_TEXT_MAX];
  argus_utf8_sanitize(last_error ? last_error : "", why, sizeof why);
  if ((e = store_begin(s, STORE_TX_WRITE, err)) != ARGUS_OK)
    return e;
  int found = 0;
  int64_t id = 0;
  e = store_query_int(s, &found, &id, err,
                      "SELECT id FROM webhooks WHERE id = ?", "i",
                      (int64_t)webhook_id);
  if (e == ARGUS_OK && !found)
    e = store_fail(err, ARGUS_E_INVALID_ARG, "no webhook with id %lld",
                   (long long)webhook_id);
  if (e == ARGUS_OK) {
    char now[ARGUS_STORE_TIME_MAX];
    argus_store_now(now);
    e = store_query_int(s, &found, &id, err,
                        "INSERT INTO webhook_deadletters (webhook_id, "
                        "event_id, payload, attempts, last_error, time) "
                        "VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                        "iisiss", (int64_t)webhook_id, (int64_t)event_id,
                        payload, (int64_t)attempts, why, now);
  }
  if (e == ARGUS_OK) {
    store_json j;
    store_json_begin(&j);
    store_json_int(&j, "webhook", webhook_id);
    store_json_int(&j, "event", event_id);
    store_json_int(&j, "attempts", attempts);
    e = store_audit(s, "deadletter.add", "deadletter", id, store_json_end(&j),
                    NULL, err);
  }
  if (e != ARGUS_OK) {
    store_rollback(s);
    return e;
  }
  if ((e = store_commit(s, err)) != ARGUS_OK)
    return e;
  if (out_id)
    *out_id = id;
  return ARGUS_OK;
}

#define DL_COLUMNS                                                             \
  "SELECT id, webhook_id, event_id, attempts, last_error, time "             \
  "FROM webhook_deadletters "

static void read_dl(argus_store *s, store_stmt *st, argus_store_deadletter *d) {
  const store_backend_ops *o = s->ops;
  d->id = o->col_int64(st, 0);
  d->webhook_id = o->col_int64(st, 1);
  d->event_id = o->col_int64(st, 2);
  d->attempts = (int)o->col_int64(st, 3);
  store_copy(d->last_error, sizeof d->last_error, o->col_text(st, 4));
  store_copy(d->time, sizeof d->time, o->col_text(st, 5));
}

argus_err argus_store_deadletter_list(argus_store *s,
                                      argus_store_deadletter **out, size_t *n,
                                      argus_store_error *err) {
  if (out)
    *out = NULL;
  if (n)
    *n = 0;
  argus_err e = store_check_handle(s, err);
  if (e != ARGUS_OK)
    return e;
  if (!out || !n)
    return store_fail(err, ARGUS_E_INVALID_ARG, "out or n is NULL");
  store_stmt *st = NULL;
  if ((e = store_prep(s, &st, err, DL_COLUMNS "ORDER BY id DESC", "")) !=
      ARGUS_OK)
    return e;
  store_vec v = {.item = sizeof(argus_store_deadletter)};
  int row = 0;
  while ((e = store_step(s, st, &row, err)) == ARGUS_OK && row == STORE_ROW) {
    argus_store_deadletter *d = store_vec_push(&v);
    if (!d) {
      e = store_fail(err, ARGUS_E_NOMEM, "out of memory listing dead letters");
      break;
    }
    read_dl(s, st, d);
  }
  s->ops->finalize(st);
  if (e != ARGUS_OK) {
    free(v.data);
    return e;
  }
  *out = v.data;
  *n = v.n;
  return ARGUS_OK;
}

argus_err argus_store_deadletter_payload(argus_store *s, argus_store_id id,
                                         argus_store_deadletter *out,
                                         char **payload,
                                         argus_store_error *err) {
  if (payload)
    *payload = NULL;
  argus_err e = store_check_handle(s, err);
  if (e == ARGUS_OK && !payload)
    e = store_fail(err, ARGUS_E_INVALID_ARG, "payload is NULL");
  if (e != ARGUS_OK)
    return e;
  store_stmt *st = NULL;
  if ((e = store_prep(s, &st, err,
                      "SELECT id, webhook_id, event_id, attempts, "
                      "last_error, time, payload FROM webhook_deadletters "
                      "WHERE id = ?",
                      "i", (int64_t)id)) != ARGUS_OK)
    return e;
  int row = 0;
  e = store_step(s, st, &row, err);
  if (e == ARGUS_OK && row == STORE_ROW) {
    if (out)
      read_dl(s, st, out);
    const char *p = s->ops->col_text(st, 6);
    size_t n = strlen(p);
    char *copy = malloc(n + 1);
    if (!copy)
      e = store_fail(err, ARGUS_E_NOMEM, "out of memory");
    else {
      memcpy(copy, p, n + 1);
      *payload = copy;
    }
  } else if (e == ARGUS_OK) {
    e = store_fail(err, ARGUS_E_NOT_FOUND, "no dead letter with id %lld",
                   (long long)id);
  }
  s->ops->finalize(st);
  return e;
}

argus_err argus_store_deadletter_remove(argus_store *s, argus_store_id id,
                                        argus_store_error *err) {
  argus_err e = store_check_handle(s, err);
  if (e != ARGUS_OK)
    return e;
  if ((e = store_begin(s, STORE_TX_WRITE, err)) != ARGUS_OK)
    return e;
  int found = 0;
  int64_t hook = 0;
  e = store_query_int(s, &found, &hook, err,
                      "DELETE FROM webhook_deadletters WHERE id = ? "
                      "RETURNING webhook_id",
                      "i", (int64_t)id);
  if (e == ARGUS_OK && !found)
    e = store_fail(err, ARGUS_E_NOT_FOUND, "no dead letter with id %lld",
                   (long long)id);
  if (e == ARGUS_OK) {
    store_json j;
    store_json_begin(&j);
    store_json_int(&j, "webhook", hook);
    e = store_audit(s, "deadletter.remove", "deadletter", id,
                    store_json_end(&j), NULL, err);
  }
  if (e != ARGUS_OK) {
    store_rollback(s);
    return e;
  }
  return store_commit(s, err);
}

/* ---- JSON ------------------------------------------------------------- */

void argus_store_webhook_json(const argus_store_webhook *w, argus_json *j) {
  char red[ARGUS_STORE_TEXT_MAX];
  argus_store_url_redact(w->url, red, sizeof red);
  argus_json_obj_begin(j, NULL);
  argus_json_int(j, "id", w->id);
  argus_json_str(j, "url", red);
  if (w->watchlist[0])
    argus_json_str(j, "watchlist", w->watchlist);
  else
    argus_json_null(j, "watchlist");
  argus_json_bool(j, "enabled", w->enabled);
  argus_json_str(j, "created", w->created);
  argus_json_obj_end(j);
}

void argus_store_deadletter_json(const argus_store_deadletter *d,
                                 argus_json *j) {
  argus_json_obj_begin(j, NULL);
  argus_json_int(j, "id", d->id);
  argus_json_int(j, "webhook_id", d->webhook_id);
  argus_json_int(j, "event_id", d->event_id);
  argus_json_int(j, "attempts", d->attempts);
  argus_json_str(j, "last_error", d->last_error);
  argus_json_str(j, "time", d->time);
  argus_json_obj_end(j);
}
