/* Cameras: named video sources with settings. URLs may carry credentials,
 * so audit rows and listings for people use the redacted form. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "argus/policy.h"
#include "store_internal.h"

void argus_store_url_redact(const char *url, char *buf, size_t size) {
  if (!buf || !size)
    return;
  if (!url) {
    buf[0] = '\0';
    return;
  }
  const char *scheme = strstr(url, "://");
  const char *auth = scheme ? scheme + 3 : url;
  size_t alen = strcspn(auth, "/?#");
  /* The last '@' of the authority ends the user info. */
  const char *at = NULL;
  for (const char *p = auth; p < auth + alen; p++)
    if (*p == '@')
      at = p;
  const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
  if (!colon) {
    store_copy(buf, size, url);
    return;
  }
  snprintf(buf, size, "%.*s***%s", (int)(colon + 1 - url), url, at);
}

static argus_err check_settings(const char *settings, argus_store_error *err) {
  char why[128];
  if (strnlen(settings, ARGUS_STORE_JSON_MAX) >= ARGUS_STORE_JSON_MAX)
    return store_fail(err, ARGUS_E_INVALID_ARG,
                      "camera settings are longer than %d bytes",
                      ARGUS_STORE_JSON_MAX - 1);
  if (store_json_validate_object(settings, why, sizeof why) != 0)
    return store_fail(err, ARGUS_E_INVALID_ARG, "camera settings: %s", why);
  /* The recognition policy is checked here too, whoever writes it: a
   * policy the edge could not enforce must not be stored. */
  argus_policy pol;
  argus_error_detail pe = {{0}};
  argus_err e = argus_policy_from_settings(settings, &pol, NULL, &pe);
  if (e != ARGUS_OK)
    return store_fail(err, e, "camera settings: %s", pe.msg);
  return ARGUS_OK;
}

/* Puts the recognition policy of `settings` into an audit detail: the
 * policy (mode, windows with their own times, the number of masks, the
 * legal reference), its legal reference again at the top level, and the
 * time the change takes effect (`now`: at once). */
static void audit_policy(store_json *j, const char *settings,
                         const char *now) {
  argus_policy pol;
  if (argus_policy_from_settings(settings, &pol, NULL, NULL) != ARGUS_OK)
    return;
  char sum[3072];
  size_t n = argus_policy_summary(&pol, sum, sizeof sum);
  if (n)
    argus_json_raw(&j->w, "policy", sum, n);
  else
    store_json_int(j, "policy_windows", pol.nwindows);
  store_json_str(j, "legal_ref", pol.legal_ref);
  store_json_str(j, "effective", now);
}

argus_err argus_store_camera_add(argus_store *s, const char *name,
                                 const char *url, const char *settings,
                                 int enabled, argus_store_id *out_id,
                                 argus_store_error *err) {
  argus_err e = store_check_handle(s, err);
  if (e == ARGUS_OK)
    e = store_check_name(name, "camera name", ARGUS_STORE_NAME_MAX, err);
  if (e == ARGUS_OK)
    e = store_check_name(url, "camera url", ARGUS_STORE_TEXT_MAX, err);
  if (e != ARGUS_OK)
    return e;
  if (settings && (e = check_settings(settings, err)) != ARGUS_OK)
    return e;
  if ((e = store_begin(s, STORE_TX_WRITE, err)) != ARGUS_OK)
    return e;
  int found = 0;
  int64_t id = 0;
  e = store_query_int(s, &found, &id, err,
                      "SELECT id FROM cameras WHERE name = ?", "s", name);
  if (e == ARGUS_OK && found)
    e = store_fail(err, ARGUS_E_INVALID_ARG, "camera '%s' already exists",
                   name);
  if (e == ARGUS_OK) {
    char now[ARGUS_STORE_TIME_MAX];
    argus_store_now(now);
    store_stmt *st = NULL;
    e = store_prep(s, &st, err,
                   "INSERT INTO cameras (name, url, settings, enabled, "
                   "created, updated) VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
                   "sssiss", name, url, settings ? settings : "{}",
                   (int64_t)(enabled ? 1 : 0), now, now);
    int row = 0;
    if (e == ARGUS_OK)
      e = store_step(s, st, &row, err);
    if (e == ARGUS_OK)
      id = s->ops->col_int64(st, 0);
    s->ops->finalize(st);
  }
  if (e == ARGUS_OK) {
    char red[ARGUS_STORE_TEXT_MAX];
    argus_store_url_redact(url, red, sizeof red);
    store_json j;
    store_json_begin(&j);
    store_json_str(&j, "name", name);
    store_json_str(&j, "url", red);
    store_json_int(&j, "enabled", enabled ? 1 : 0);
    char now[ARGUS_STORE_TIME_MAX];
    argus_store_now(now);
    audit_policy(&j, settings, now);
    e = store_audit(s, "camera.add", "camera", id, store_json_end(&j), NULL,
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

#define CAMERA_COLUMNS                                                         \
  "SELECT id, name, url, settings, enabled, created, updated FROM cameras "

static void read_camera(argus_store *s, store_stmt *st, argus_store_camera *c) {
  const store_backend_ops *o = s->ops;
  c->id = o->col_int64(st, 0);
  store_copy(c->name, sizeof c->name, o->col_text(st, 1));
  store_copy(c->url, sizeof c->url, o->col_text(st, 2));
  store_copy(c->settings, sizeof c->settings, o->col_text(st, 3));
  c->enabled = (int)o->col_int64(st, 4);
  store_copy(c->created, sizeof c->created, o->col_text(st, 5));
  store_copy(c->updated, sizeof c->updated, o->col_text(st, 6));
}

argus_err argus_store_camera_list(argus_store *s, argus_store_camera **out,
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
  if ((e = store_prep(s, &st, err, CAMERA_COLUMNS "ORDER BY name", "")) !=
      ARGUS_OK)
    return e;
  store_vec v = {.item = sizeof(argus_store_camera)};
  int row = 0;
  while ((e = store_step(s, st, &row, err)) == ARGUS_OK && row == STORE_ROW) {
    argus_store_camera *c = store_vec_push(&v);
    if (!c) {
      e = store_fail(err, ARGUS_E_NOMEM, "out of memory listing cameras");
      break;
    }
    read_camera(s, st, c);
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

argus_err argus_store_camera_get(argus_store *s, const char *name,
                                 argus_store_camera *out,
                                 argus_store_error *err) {
  argus_err e = store_check_handle(s, err);
  if (e == ARGUS_OK)
    e = store_check_name(name, "camera name", ARGUS_STORE_NAME_MAX, err);
  if (e == ARGUS_OK && !out)
    e = store_fail(err, ARGUS_E_INVALID_ARG, "out is NULL");
  if (e != ARGUS_OK)
    return e;
  store_stmt *st = NULL;
  if ((e = store_prep(s, &st, err, CAMERA_COLUMNS "WHERE name = ?", "s",
                      name)) != ARGUS_OK)
    return e;
  int row = 0;
  e = store_step(s, st, &row, err);
  if (e == ARGUS_OK && row == STORE_ROW)
    read_camera(s, st, out);
  else if (e == ARGUS_OK)
    e = store_fail(err, ARGUS_E_NOT_FOUND, "no camera '%s'", name);
  s->ops->finalize(st);
  return e;
}

argus_err argus_store_camera_update(argus_store *s, const char *name,
                                    const char *url, const char *settings,
                                    int enabled, argus_store_error *err) {
  argus_err e = store_check_handle(s, err);
  if (e == ARGUS_OK)
    e = store_check_name(name, "camera name", ARGUS_STORE_NAME_MAX, err);
  if (e == ARGUS_OK && url)
    e = store_check_name(url, "camera url", ARGUS_STORE_TEXT_MAX, err);
  if (e == ARGUS_OK && settings)
    e = check_settings(settings, err);
  if (e == ARGUS_OK && (enabled < -1 || enabled > 1))
    e = store_fail(err, ARGUS_E_INVALID_ARG,
                   "enabled is %d, not -1 (unchanged), 0 or 1", enabled);
  if (e != ARGUS_OK)
    return e;
  if ((e = store_begin(s, STORE_TX_WRITE, err)) != ARGUS_OK)
    return e;
  char now[ARGUS_STORE_TIME_MAX];
  argus_store_now(now);
  int found = 0;
  int64_t id = 0;
  /* coalesce keeps what the caller leaves NULL (enabled: -1 as NULL). */
  store_stmt *st = NULL;
  e = store_prep(s, &st, err,
                 "UPDATE cameras SET url = coalesce(?, url), "
                 "settings = coalesce(?, settings), "
                 "enabled = coalesce(?, enabled), updated = ? "
                 "WHERE name = ? RETURNING id",
                 "ssiss", url, settings, (int64_t)enabled, now, name);
  if (e == ARGUS_OK && enabled < 0)
    e = s->ops->bind_null(st, 3);
  int row = 0;
  if (e == ARGUS_OK)
    e = store_step(s, st, &row, err);
  if (e == ARGUS_OK && row == STORE_ROW) {
    found = 1;
    id = s->ops->col_int64(st, 0);
  }
  s->ops->finalize(st);
  if (e == ARGUS_OK && !found)
    e = store_fail(err, ARGUS_E_NOT_FOUND, "no camera '%s'", name);
  if (e == ARGUS_OK) {
    store_json j;
    store_json_begin(&j);
    store_json_str(&j, "name", name);
    if (url) {
      char red[ARGUS_STORE_TEXT_MAX];
      argus_store_url_redact(url, red, sizeof red);
      store_json_str(&j, "url", red);
    }
    if (settings) {
      store_json_int(&j, "settings", 1); /* changed */
      audit_policy(&j, settings, now);
    }
    if (enabled >= 0)
      store_json_int(&j, "enabled", enabled);
    e = store_audit(s, "camera.update", "camera", id, store_json_end(&j), NULL,
                    err);
  }
  if (e != ARGUS_OK) {
    store_rollback(s);
    return e;
  }
  return store_commit(s, err);
}

argus_err argus_store_camera_remove(argus_store *s, const char *name,
                                    argus_store_error *err) {
  argus_err e = store_check_handle(s, err);
  if (e == ARGUS_OK)
    e = store_check_name(name, "camera name", ARGUS_STORE_NAME_MAX, err);
  if (e != ARGUS_OK)
    return e;
  if ((e = store_begin(s, STORE_TX_WRITE, err)) != ARGUS_OK)
    return e;
  int found = 0;
  int64_t id = 0;
  e = store_query_int(s, &found, &id, err,
                      "SELECT id FROM cameras WHERE name = ?", "s", name);
  if (e == ARGUS_OK && !found)
    e = store_fail(err, ARGUS_E_NOT_FOUND, "no camera '%s'", name);
  if (e == ARGUS_OK)
    e = store_run(s, err, "DELETE FROM cameras WHERE id = ?", "i", id);
  if (e == ARGUS_OK) {
    store_json j;
    store_json_begin(&j);
    store_json_str(&j, "name", name);
    e = store_audit(s, "camera.remove", "camera", id, store_json_end(&j), NULL,
                    err);
  }
  if (e != ARGUS_OK) {
    store_rollback(s);
    return e;
  }
  return store_commit(s, err);
}
