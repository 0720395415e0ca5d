/* Alerts with their crop and thumbnail files, operator decisions, and
 * retention by age. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

static const char *const status_names[] = {"pending", "confirmed", "rejected"};

const char *argus_alert_status_name(argus_alert_status st) {
  if ((unsigned)st < 3)
    return status_names[st];
  return "unknown";
}

argus_err argus_alert_status_parse(const char *name, argus_alert_status *out) {
  if (!name || !out)
    return ARGUS_E_INVALID_ARG;
  for (int i = 0; i < 3; i++)
    if (strcmp(name, status_names[i]) == 0) {
      *out = (argus_alert_status)i;
      return ARGUS_OK;
    }
  return ARGUS_E_INVALID_ARG;
}

/* Parses RFC 3339 ("2024-05-01T12:34:56Z", fractions and +hh:mm offsets
 * allowed) into the store's canonical UTC form with milliseconds, which
 * sorts as text. */
argus_err store_time_canonical(const char *in, char out[ARGUS_STORE_TIME_MAX],
                               argus_store_error *err) {
  int64_t sec;
  int32_t ns;
  if (argus_rfc3339_parse_ts(in, &sec, &ns) != ARGUS_OK)
    return store_fail(err, ARGUS_E_INVALID_ARG,
                      "time '%.40s' is not RFC 3339 (2024-05-01T12:34:56Z)",
                      in ? in : "(null)");
  argus_rfc3339_ts(sec, ns, out);
  return ARGUS_OK;
}

argus_err argus_store_alert_insert(argus_store *s,
                                   const argus_store_alert_in *a,
                                   argus_store_id *out_id,
                                   argus_store_error *err) {
  argus_err e = store_check_handle(s, err);
  if (e == ARGUS_OK && !a)
    e = store_fail(err, ARGUS_E_INVALID_ARG, "alert is NULL");
  if (e == ARGUS_OK)
    e = store_check_name(a->camera, "camera", ARGUS_STORE_NAME_MAX, err);
  if (e != ARGUS_OK)
    return e;
  char t[ARGUS_STORE_TIME_MAX];
  if (a->time)
    e = store_time_canonical(a->time, t, err);
  else
    argus_store_now(t);
  if (e == ARGUS_OK && !isfinite(a->media_time))
    e = store_fail(err, ARGUS_E_INVALID_ARG, "media time is not finite");
  if (e == ARGUS_OK && !isfinite(a->score))
    e = store_fail(err, ARGUS_E_INVALID_ARG, "score is not finite");
  if (e == ARGUS_OK && (a->watchlist_id <= 0 || a->person_id <= 0))
    e = store_fail(err, ARGUS_E_INVALID_ARG,
                   "an alert needs a watchlist and a person id");
  if (e == ARGUS_OK &&
      ((a->crop_size && !a->crop) || (a->thumb_size && !a->thumb)))
    e = store_fail(err, ARGUS_E_INVALID_ARG, "crop or thumbnail is NULL");
  if (e == ARGUS_OK && (a->crop_size > ARGUS_STORE_CROP_MAX ||
                        a->thumb_size > ARGUS_STORE_CROP_MAX))
    e = store_fail(err, ARGUS_E_LIMIT,
                   "crop or thumbnail is larger than %zu bytes",
                   ARGUS_STORE_CROP_MAX);
  if (e == ARGUS_OK && a->event_id)
    e = store_check_name(a->event_id, "event id", ARGUS_STORE_NAME_MAX, err);
  if (e == ARGUS_OK && isinf(a->threshold))
    e = store_fail(err, ARGUS_E_INVALID_ARG, "threshold is infinite");
  if (e == ARGUS_OK && isinf(a->track_start))
    e = store_fail(err, ARGUS_E_INVALID_ARG, "track start is infinite");
  if (e == ARGUS_OK && a->photo_id < 0)
    e = store_fail(err, ARGUS_E_INVALID_ARG, "photo id %lld is negative",
                   (long long)a->photo_id);
  if (e != ARGUS_OK)
    return e;

  if ((e = store_begin(s, STORE_TX_WRITE, err)) != ARGUS_OK)
    return e;
  /* A retry of an insert that did commit (its outcome was unknown to the
   * caller) finds the alert under the write lock and stores nothing. */
  if (a->event_id) {
    int found = 0;
    int64_t have = 0;
    e = store_query_int(s, &found, &have, err,
                        "SELECT id FROM alerts WHERE event_id = ?", "s",
                        a->event_id);
    if (e == ARGUS_OK && found) {
      store_rollback(s);
      argus_log(ARGUS_LOG_DEBUG, STORE_MOD,
                "alert of event %s is stored already (id %lld)", a->event_id,
                (long long)have);
      if (out_id)
        *out_id = have;
      return ARGUS_OK;
    }
    if (e != ARGUS_OK) {
      store_rollback(s);
      return e;
    }
  }
  char wl[ARGUS_STORE_NAME_MAX] = "", person[ARGUS_STORE_NAME_MAX] = "";
  int64_t person_wl = 0;
  store_stmt *st = NULL;
  int row = 0;
  e = store_prep(s, &st, err,
                 "SELECT p.name, p.watchlist_id, w.name FROM persons p JOIN "
                 "watchlists w ON w.id = p.watchlist_id WHERE p.id = ?",
                 "i", (int64_t)a->person_id);
  if (e == ARGUS_OK)
    e = store_step(s, st, &row, err);
  if (e == ARGUS_OK && row == STORE_ROW) {
    store_copy(person, sizeof person, s->ops->col_text(st, 0));
    person_wl = s->ops->col_int64(st, 1);
    store_copy(wl, sizeof wl, s->ops->col_text(st, 2));
  } else if (e == ARGUS_OK) {
    e = store_fail(err, ARGUS_E_NOT_FOUND, "no person with id %lld",
                   (long long)a->person_id);
  }
  s->ops->finalize(st);
  if (e == ARGUS_OK && person_wl != a->watchlist_id)
    e = store_fail(err, ARGUS_E_INVALID_ARG,
                   "person %lld is not in watchlist %lld",
                   (long long)a->person_id, (long long)a->watchlist_id);
  if (e == ARGUS_OK && a->camera_id > 0) {
    int found = 0;
    int64_t dummy = 0;
    e = store_query_int(s, &found, &dummy, err,
                        "SELECT id FROM cameras WHERE id = ?", "i",
                        (int64_t)a->camera_id);
    if (e == ARGUS_OK && !found)
      e = store_fail(err, ARGUS_E_NOT_FOUND, "no camera with id %lld",
                     (long long)a->camera_id);
  }
  /* The photo that matched may have been removed meanwhile: the alert
   * then keeps no link (as the foreign key's ON DELETE SET NULL would). */
  int64_t photo = 0;
  if (e == ARGUS_OK && a->photo_id > 0) {
    int found = 0;
    e = store_query_int(s, &found, &photo, err,
                        "SELECT id FROM photos WHERE id = ?", "i",
                        (int64_t)a->photo_id);
    if (e == ARGUS_OK && !found)
      photo = 0;
  }
  char crop[ARGUS_STORE_SHA256_HEX] = "", thumb[ARGUS_STORE_SHA256_HEX] = "";
  if (e == ARGUS_OK && a->crop_size)
    e = store_crop_put(s, a->crop, a->crop_size, crop, err);
  if (e == ARGUS_OK && a->thumb_size)
    e = store_crop_put(s, a->thumb, a->thumb_size, thumb, err);
  argus_store_id id = 0;
  if (e == ARGUS_OK) {
    e = store_prep(s, &st, err,
                   "INSERT INTO alerts (camera_id, camera, time, media_time, "
                   "track_id, watchlist_id, watchlist, person_id, person, "
                   "score, crop_sha256, thumb_sha256, status, event_id, "
                   "threshold, photo_id, track_start) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, "
                   "?, ?, ?) RETURNING id",
                   "issdiisisdsssdid", (int64_t)a->camera_id, a->camera, t,
                   a->media_time, (int64_t)a->track_id,
                   (int64_t)a->watchlist_id, wl, (int64_t)a->person_id, person,
                   a->score, crop[0] ? crop : NULL, thumb[0] ? thumb : NULL,
                   a->event_id, isnan(a->threshold) ? 0.0 : a->threshold, photo,
                   isnan(a->track_start) ? 0.0 : a->track_start);
    if (e == ARGUS_OK && a->camera_id <= 0)
      e = s->ops->bind_null(st, 1);
    if (e == ARGUS_OK && isnan(a->threshold))
      e = s->ops->bind_null(st, 14);
    if (e == ARGUS_OK && photo <= 0)
      e = s->ops->bind_null(st, 15);
    if (e == ARGUS_OK && isnan(a->track_start))
      e = s->ops->bind_null(st, 16);
    if (e == ARGUS_OK)
      e = store_step(s, st, &row, err);
    if (e == ARGUS_OK)
      id = s->ops->col_int64(st, 0);
    s->ops->finalize(st);
  }
  /* Verdict feedback: the probe template (sealed like every template) and,
   * for a marked alert, the nearest negative example. */
  argus_store_id neg_id = 0;
  double neg_score = NAN;
  if (e == ARGUS_OK && (a->probe || a->negative))
    e = store_alert_probe_put(s, id, a, &neg_id, &neg_score, err);
  if (e == ARGUS_OK) {
    store_json j;
    store_json_begin(&j);
    store_json_str(&j, "camera", a->camera);
    if (neg_id > 0) {
      store_json_int(&j, "negative", neg_id);
      store_json_num(&j, "negative_score", neg_score);
    }
    store_json_str(&j, "watchlist", wl);
    store_json_int(&j, "person", a->person_id);
    store_json_num(&j, "score", a->score);
    if (!isnan(a->threshold))
      store_json_num(&j, "threshold", a->threshold);
    if (photo > 0)
      store_json_int(&j, "photo", photo);
    store_json_int(&j, "crop", crop[0] != 0);
    store_json_int(&j, "thumb", thumb[0] != 0);
    if (a->event_id)
      store_json_str(&j, "event", a->event_id);
    e = store_audit(s, "alert.insert", "alert", id, store_json_end(&j), NULL,
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

#define ALERT_COLUMNS                                                          \
  "SELECT id, camera_id, camera, time, media_time, track_id, watchlist_id, "   \
  "watchlist, person_id, person, score, crop_sha256, thumb_sha256, status, "   \
  "threshold, photo_id, track_start, negative_id, negative_score, "            \
  "probe IS NOT NULL, (SELECT count(*) FROM decisions d WHERE "                \
  "d.alert_id = alerts.id AND d.decision = 'confirmed'), "                     \
  "(SELECT w.four_eyes FROM watchlists w WHERE w.id = alerts.watchlist_id) "   \
  "FROM alerts "

static void read_alert(argus_store *s, store_stmt *st, argus_store_alert *a) {
  const store_backend_ops *o = s->ops;
  a->id = o->col_int64(st, 0);
  a->camera_id = o->col_int64(st, 1);
  store_copy(a->camera, sizeof a->camera, o->col_text(st, 2));
  store_copy(a->time, sizeof a->time, o->col_text(st, 3));
  a->media_time = o->col_double(st, 4);
  a->track_id = o->col_int64(st, 5);
  a->watchlist_id = o->col_int64(st, 6);
  store_copy(a->watchlist, sizeof a->watchlist, o->col_text(st, 7));
  a->person_id = o->col_int64(st, 8);
  store_copy(a->person, sizeof a->person, o->col_text(st, 9));
  a->score = o->col_double(st, 10);
  store_copy(a->crop_sha256, sizeof a->crop_sha256, o->col_text(st, 11));
  store_copy(a->thumb_sha256, sizeof a->thumb_sha256, o->col_text(st, 12));
  argus_alert_status stt = ARGUS_ALERT_PENDING;
  argus_alert_status_parse(o->col_text(st, 13), &stt);
  a->status = stt;
  a->threshold = o->col_is_null(st, 14) ? NAN : o->col_double(st, 14);
  a->photo_id = o->col_is_null(st, 15) ? 0 : o->col_int64(st, 15);
  a->track_start = o->col_is_null(st, 16) ? NAN : o->col_double(st, 16);
  a->negative_id = o->col_is_null(st, 17) ? 0 : o->col_int64(st, 17);
  a->negative_score = o->col_is_null(st, 18) ? NAN : o->col_double(st, 18);
  a->has_probe = (int)o->col_int64(st, 19);
  a->confirmations = (int)o->col_int64(st, 20);
  a->four_eyes = o->col_is_null(st, 21) ? 0 : (int)o->col_int64(st, 21);
}

argus_err argus_store_alert_list(argus_store *s,
                                 const argus_store_alert_filter *filter,
                                 argus_store_alert **out, size_t *n,
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
  argus_store_alert_filter f = {.limit = 100, .status = -1};
  if (filter)
    f = *filter;
  if (f.limit == 0)
    f.limit = 100;
  if (f.status != -1 && (f.status < 0 || f.status > 2))
    return store_fail(err, ARGUS_E_INVALID_ARG, "bad status filter %d",
                      f.status);
  if (f.camera && (e = store_check_name(f.camera, "camera",
                                        ARGUS_STORE_NAME_MAX, err)) != ARGUS_OK)
    return e;
  if (f.watchlist &&
      (e = store_check_name(f.watchlist, "watchlist", ARGUS_STORE_NAME_MAX,
                            err)) != ARGUS_OK)
    return e;
  if (f.person && (e = store_check_name(f.person, "person",
                                        ARGUS_STORE_NAME_MAX, err)) != ARGUS_OK)
    return e;
  /* Times compare as text in the store's canonical form. */
  char since[ARGUS_STORE_TIME_MAX], until[ARGUS_STORE_TIME_MAX];
  if (f.since && (e = store_time_canonical(f.since, since, err)) != ARGUS_OK)
    return store_wrap(err, e, "since");
  if (f.until && (e = store_time_canonical(f.until, until, err)) != ARGUS_OK)
    return store_wrap(err, e, "until");
  /* Conditions are fixed strings; values go through parameters. Each
   * combination of conditions has its own cached statement. */
  unsigned combo = (f.status >= 0 ? 1u : 0u) | (f.camera ? 2u : 0u) |
                   (f.watchlist ? 4u : 0u) | (f.person ? 8u : 0u) |
                   (f.since ? 16u : 0u) | (f.until ? 32u : 0u);
  store_stmt_slot slot = (store_stmt_slot)(STORE_STMT_ALERT_LIST + combo);
  char sql[1024];
  sql[0] = '\0';
  if (!s->cached[slot]) /* the text is needed only to prepare it */
    snprintf(sql, sizeof sql,
             "%sWHERE id < ?%s%s%s%s%s%s ORDER BY id DESC LIMIT ?",
             ALERT_COLUMNS, combo & 1u ? " AND status = ?" : "",
             combo & 2u ? " AND camera = ?" : "",
             combo & 4u ? " AND watchlist = ?" : "",
             combo & 8u ? " AND person = ?" : "",
             combo & 16u ? " AND time >= ?" : "",
             combo & 32u ? " AND time < ?" : "");
  store_stmt *st = NULL;
  if ((e = store_cached(s, slot, sql, &st, err)) != ARGUS_OK)
    return e;
  int k = 1;
  e = s->ops->bind_int64(st, k++,
                         f.before_id > 0 ? (int64_t)f.before_id : INT64_MAX);
  if (e == ARGUS_OK && f.status >= 0)
    e = s->ops->bind_text(
        st, k++, argus_alert_status_name((argus_alert_status)f.status));
  if (e == ARGUS_OK && f.camera)
    e = s->ops->bind_text(st, k++, f.camera);
  if (e == ARGUS_OK && f.watchlist)
    e = s->ops->bind_text(st, k++, f.watchlist);
  if (e == ARGUS_OK && f.person)
    e = s->ops->bind_text(st, k++, f.person);
  if (e == ARGUS_OK && f.since)
    e = s->ops->bind_text(st, k++, since);
  if (e == ARGUS_OK && f.until)
    e = s->ops->bind_text(st, k++, until);
  if (e == ARGUS_OK)
    e = s->ops->bind_int64(
        st, k++, f.limit > (size_t)INT64_MAX ? INT64_MAX : (int64_t)f.limit);
  if (e != ARGUS_OK) {
    s->ops->reset(st);
    return store_fail(err, e, "binding alert filter");
  }
  store_vec v = {.item = sizeof(argus_store_alert)};
  int row = 0;
  while ((e = store_step(s, st, &row, err)) == ARGUS_OK && row == STORE_ROW) {
    argus_store_alert *a = store_vec_push(&v);
    if (!a) {
      e = store_fail(err, ARGUS_E_NOMEM, "out of memory listing alerts");
      break;
    }
    read_alert(s, st, a);
  }
  s->ops->reset(st); /* cached: reset so that it holds no read lock */
  if (e != ARGUS_OK) {
    free(v.data);
    return e;
  }
  *out = v.data;
  *n = v.n;
  return ARGUS_OK;
}

argus_err argus_store_alert_get(argus_store *s, argus_store_id id,
                                argus_store_alert *out,
                                argus_store_error *err) {
  argus_err e = store_check_handle(s, err);
  if (e == ARGUS_OK && !out)
    e = store_fail(err, ARGUS_E_INVALID_ARG, "out is NULL");
  if (e != ARGUS_OK)
    return e;
  store_stmt *st = NULL;
  if ((e = store_prep(s, &st, err, ALERT_COLUMNS "WHERE id = ?", "i",
                      (int64_t)id)) != ARGUS_OK)
    return e;
  int row = 0;
  e = store_step(s, st, &row, err);
  if (e == ARGUS_OK && row == STORE_ROW)
    read_alert(s, st, out);
  else if (e == ARGUS_OK)
    e = store_fail(err, ARGUS_E_NOT_FOUND, "no alert with id %lld",
                   (long long)id);
  s->ops->finalize(st);
  return e;
}

static argus_err set_status_tx(argus_store *s, argus_store_id id,
                               argus_alert_status status,
                               argus_store_error *err) {
  store_stmt *st = NULL;
  argus_err e = store_prep(s, &st, err,
                           "UPDATE alerts SET status = ? WHERE id = ? "
                           "RETURNING id",
                           "si", argus_alert_status_name(status), (int64_t)id);
  int row = 0;
  if (e == ARGUS_OK)
    e = store_step(s, st, &row, err);
  if (e == ARGUS_OK && row != STORE_ROW)
    e = store_fail(err, ARGUS_E_NOT_FOUND, "no alert with id %lld",
                   (long long)id);
  s->ops->finalize(st);
  return e;
}

argus_err argus_store_alert_set_status(argus_store *s, argus_store_id id,
                                       argus_alert_status status,
                                       argus_store_error *err) {
  argus_err e = store_check_handle(s, err);
  if (e == ARGUS_OK && (unsigned)status > ARGUS_ALERT_REJECTED)
    e = store_fail(err, ARGUS_E_INVALID_ARG, "bad alert status %d",
                   (int)status);
  if (e != ARGUS_OK)
    return e;
  if ((e = store_begin(s, STORE_TX_WRITE, err)) != ARGUS_OK)
    return e;
  e = set_status_tx(s, id, status, err);
  if (e == ARGUS_OK) {
    store_json j;
    store_json_begin(&j);
    store_json_str(&j, "status", argus_alert_status_name(status));
    e = store_audit(s, "alert.set_status", "alert", id, store_json_end(&j),
                    NULL, err);
  }
  if (e != ARGUS_OK) {
    store_rollback(s);
    return e;
  }
  return store_commit(s, err);
}

/* Sets a pending alert's status to `decision` inside the open write
 * transaction. The write lock is held since BEGIN and the update only
 * matches a pending row, so of two deciders exactly one gets the row; the
 * other is told who decided first. */
static argus_err decide_tx(argus_store *s, argus_store_id id,
                           argus_alert_status decision,
                           argus_store_error *err) {
  store_stmt *st = NULL;
  argus_err e =
      store_prep(s, &st, err,
                 "UPDATE alerts SET status = ? WHERE id = ? AND "
                 "status = 'pending' RETURNING id",
                 "si", argus_alert_status_name(decision), (int64_t)id);
  int row = 0;
  if (e == ARGUS_OK)
    e = store_step(s, st, &row, err);
  s->ops->finalize(st);
  if (e != ARGUS_OK || row == STORE_ROW)
    return e;
  /* Not pending: say whether it exists and, if so, who decided it. */
  char status[16] = "", op[ARGUS_STORE_NAME_MAX] = "",
       when[ARGUS_STORE_TIME_MAX] = "";
  e = store_prep(s, &st, err,
                 "SELECT a.status, d.operator, d.time FROM alerts a LEFT JOIN "
                 "decisions d ON d.alert_id = a.id WHERE a.id = ? "
                 "ORDER BY d.id LIMIT 1",
                 "i", (int64_t)id);
  if (e == ARGUS_OK)
    e = store_step(s, st, &row, err);
  if (e == ARGUS_OK && row == STORE_ROW) {
    store_copy(status, sizeof status, s->ops->col_text(st, 0));
    store_copy(op, sizeof op, s->ops->col_text(st, 1));
    store_copy(when, sizeof when, s->ops->col_text(st, 2));
  }
  s->ops->finalize(st);
  if (e != ARGUS_OK)
    return e;
  if (row != STORE_ROW)
    return store_fail(err, ARGUS_E_NOT_FOUND, "no alert with id %lld",
                      (long long)id);
  if (op[0])
    return store_fail(err, ARGUS_E_INVALID_ARG,
                      "alert %lld was already %s by %s at %s; the first "
                      "decision stands",
                      (long long)id, status, op, when);
  return store_fail(err, ARGUS_E_INVALID_ARG,
                    "alert %lld is already %s; the first decision stands",
                    (long long)id, status);
}

argus_err argus_store_decision_add(argus_store *s, argus_store_id alert_id,
                                   const char *operator_name,
                                   argus_alert_status decision,
                                   const char *comment, argus_store_id *out_id,
                                   argus_store_error *err) {
  argus_store_verdict v;
  argus_err e = argus_store_decision_add_ex(s, alert_id, operator_name,
                                            decision, comment, &v, err);
  if (e == ARGUS_OK && out_id)
    *out_id = v.decision_id;
  return e;
}

/* Inside the open write transaction: the four-eyes rule. Sets *final to
 * the status the alert takes (PENDING: a first confirmation that waits for
 * a second operator) and *confirms to the confirmations counted with this
 * one. Refuses the same operator's second confirmation. */
static argus_err four_eyes_tx(argus_store *s, argus_store_id id, const char *op,
                              argus_alert_status decision,
                              argus_alert_status *final, int *confirms,
                              int *needed, argus_store_error *err) {
  int found = 0;
  int64_t fe = 0, mine = 0, others = 0;
  *final = decision;
  *confirms = decision == ARGUS_ALERT_CONFIRMED ? 1 : 0;
  *needed = 1;
  argus_err e = store_query_int(
      s, &found, &fe, err,
      "SELECT coalesce((SELECT w.four_eyes FROM watchlists w WHERE w.id = "
      "a.watchlist_id), 0) FROM alerts a WHERE a.id = ? AND a.status = "
      "'pending'",
      "i", (int64_t)id);
  if (e != ARGUS_OK || !found || !fe)
    return e; /* not pending: decide_tx says why */
  *needed = 2;
  if (decision != ARGUS_ALERT_CONFIRMED)
    return ARGUS_OK; /* one rejection closes it */
  e = store_query_int(s, &found, &mine, err,
                      "SELECT count(*) FROM decisions WHERE alert_id = ? AND "
                      "decision = 'confirmed' AND operator = ?",
                      "is", (int64_t)id, op);
  if (e == ARGUS_OK && mine > 0)
    return store_fail(err, ARGUS_E_INVALID_ARG,
                      "alert %lld: %s confirmed it already; the four-eyes "
                      "rule needs a second, different operator",
                      (long long)id, op);
  if (e == ARGUS_OK)
    e = store_query_int(s, &found, &others, err,
                        "SELECT count(DISTINCT operator) FROM decisions WHERE "
                        "alert_id = ? AND decision = 'confirmed'",
                        "i", (int64_t)id);
  if (e != ARGUS_OK)
    return e;
  *confirms = (int)others + 1;
  if (*confirms < 2)
    *final = ARGUS_ALERT_PENDING;
  return ARGUS_OK;
}

argus_err argus_store_decision_add_ex(argus_store *s, argus_store_id alert_id,
                                      const char *operator_name,
                                      argus_alert_status decision,
                                      const char *comment,
                                      argus_store_verdict *out,
                                      argus_store_error *err) {
  argus_store_verdict v;
  memset(&v, 0, sizeof v);
  argus_err e = store_check_handle(s, err);
  if (e == ARGUS_OK)
    e = store_check_name(operator_name, "operator", ARGUS_STORE_NAME_MAX, err);
  if (e == ARGUS_OK)
    e = store_check_text(comment, "comment", ARGUS_STORE_TEXT_MAX, err);
  if (e == ARGUS_OK && decision != ARGUS_ALERT_CONFIRMED &&
      decision != ARGUS_ALERT_REJECTED)
    e = store_fail(err, ARGUS_E_INVALID_ARG,
                   "a decision is 'confirmed' or 'rejected'");
  if (e != ARGUS_OK)
    return e;
  if ((e = store_begin(s, STORE_TX_WRITE, err)) != ARGUS_OK)
    return e;
  argus_alert_status final = decision;
  e = four_eyes_tx(s, alert_id, operator_name, decision, &final,
                   &v.confirmations, &v.needed, err);
  if (e == ARGUS_OK) {
    /* A first confirmation of a four-eyes alert leaves it pending; the
     * check that it is still pending stays (decide_tx with the same
     * status is a no-op update that says who decided when it is not). */
    e = decide_tx(s, alert_id,
                  final == ARGUS_ALERT_PENDING ? ARGUS_ALERT_PENDING : decision,
                  err);
  }
  argus_store_id id = 0;
  if (e == ARGUS_OK) {
    char now[ARGUS_STORE_TIME_MAX];
    argus_store_now(now);
    store_stmt *st = NULL;
    e = store_prep(s, &st, err,
                   "INSERT INTO decisions (alert_id, operator, decision, "
                   "comment, time) VALUES (?, ?, ?, ?, ?) RETURNING id",
                   "issss", (int64_t)alert_id, operator_name,
                   argus_alert_status_name(decision), comment ? comment : "",
                   now);
    int row = 0;
    if (e == ARGUS_OK)
      e = store_step(s, st, &row, err);
    if (e == ARGUS_OK)
      id = s->ops->col_int64(st, 0);
    s->ops->finalize(st);
  }
  if (e == ARGUS_OK && decision == ARGUS_ALERT_REJECTED)
    e = store_negative_from_alert(s, alert_id, &v.negative_id, err);
  if (e == ARGUS_OK) {
    store_json j;
    store_json_begin(&j);
    store_json_str(&j, "operator", operator_name);
    store_json_str(&j, "decision", argus_alert_status_name(decision));
    if (v.needed > 1) {
      store_json_int(&j, "four_eyes", 1);
      store_json_int(&j, "confirmations", v.confirmations);
      store_json_str(&j, "status", argus_alert_status_name(final));
    }
    if (v.negative_id > 0)
      store_json_int(&j, "negative", v.negative_id);
    e = store_audit(s, "alert.decision", "alert", alert_id, store_json_end(&j),
                    NULL, err);
  }
  if (e != ARGUS_OK) {
    store_rollback(s);
    return e;
  }
  if ((e = store_commit(s, err)) != ARGUS_OK)
    return e;
  v.decision_id = id;
  v.status = final;
  if (out)
    *out = v;
  return ARGUS_OK;
}

argus_err argus_store_decision_list(argus_store *s, argus_store_id alert_id,
                                    argus_store_decision **out, size_t *n,
                                    argus_store_error *err) {
  if (out)
    *out = NULL;
  if (n)
    *n = 0;
  argus_err e = store_check_handle(s, err);
  if (e == ARGUS_OK && (!out || !n))
    e = store_fail(err, ARGUS_E_INVALID_ARG, "out or n is NULL");
  if (e != ARGUS_OK)
    return e;
  /* One snapshot: the alert exists and these are all its decisions. */
  if ((e = store_begin(s, STORE_TX_READ, err)) != ARGUS_OK)
    return e;
  int found = 0;
  int64_t dummy = 0;
  e = store_query_int(s, &found, &dummy, err,
                      "SELECT id FROM alerts WHERE id = ?", "i",
                      (int64_t)alert_id);
  if (e == ARGUS_OK && !found)
    e = store_fail(err, ARGUS_E_NOT_FOUND, "no alert with id %lld",
                   (long long)alert_id);
  store_stmt *st = NULL;
  if (e == ARGUS_OK)
    e = store_prep(s, &st, err,
                   "SELECT id, alert_id, operator, decision, comment, time "
                   "FROM decisions WHERE alert_id = ? ORDER BY id",
                   "i", (int64_t)alert_id);
  store_vec v = {.item = sizeof(argus_store_decision)};
  int row = 0;
  while (e == ARGUS_OK && (e = store_step(s, st, &row, err)) == ARGUS_OK &&
         row == STORE_ROW) {
    argus_store_decision *d = store_vec_push(&v);
    if (!d) {
      e = store_fail(err, ARGUS_E_NOMEM, "out of memory listing decisions");
      break;
    }
    d->id = s->ops->col_int64(st, 0);
    d->alert_id = s->ops->col_int64(st, 1);
    store_copy(d->operator_name, sizeof d->operator_name,
               s->ops->col_text(st, 2));
    argus_alert_status dec = ARGUS_ALERT_PENDING;
    argus_alert_status_parse(s->ops->col_text(st, 3), &dec);
    d->decision = dec;
    store_copy(d->comment, sizeof d->comment, s->ops->col_text(st, 4));
    store_copy(d->time, sizeof d->time, s->ops->col_text(st, 5));
  }
  if (st)
    s->ops->finalize(st);
  if (e != ARGUS_OK) {
    store_rollback(s);
    free(v.data);
    return e;
  }
  if ((e = store_commit(s, err)) != ARGUS_OK) {
    free(v.data);
    return e;
  }
  *out = v.data;
  *n = v.n;
  return ARGUS_OK;
}

void argus_store_decision_json(const argus_store_decision *d, argus_json *j) {
  argus_json_obj_begin(j, NULL);
  argus_json_int(j, "id", d->id);
  argus_json_int(j, "alert", d->alert_id);
  argus_json_str(j, "operator", d->operator_name);
  argus_json_str(j, "decision", argus_alert_status_name(d->decision));
  argus_json_str(j, "comment", d->comment);
  argus_json_str(j, "time", d->time);
  argus_json_obj_end(j);
}

argus_err argus_store_alert_purge_before(argus_store *s, const char *time,
                                         int64_t *deleted,
                                         argus_store_error *err) {
  if (deleted)
    *deleted = 0;
  char t[ARGUS_STORE_TIME_MAX];
  argus_err e = store_check_handle(s, err);
  if (e == ARGUS_OK)
    e = store_time_canonical(time, t, err);
  if (e != ARGUS_OK)
    return e;
  if ((e = store_begin(s, STORE_TX_WRITE_DURABLE, err)) != ARGUS_OK)
    return e;
  int found = 0;
  int64_t n = 0;
  e = store_query_int(s, &found, &n, err,
                      "SELECT count(*) FROM alerts WHERE time < ?", "s", t);
  if (e == ARGUS_OK && n > 0)
    e = store_purge_queue(s, err,
                          "SELECT crop_sha256 AS h FROM alerts WHERE time < ? "
                          "UNION ALL SELECT thumb_sha256 AS h FROM alerts "
                          "WHERE time < ?",
                          "ss", t, t);
  if (e == ARGUS_OK && n > 0)
    e = store_run(s, err, "DELETE FROM alerts WHERE time < ?", "s", t);
  if (e == ARGUS_OK) {
    store_json j;
    store_json_begin(&j);
    store_json_str(&j, "before", t);
    store_json_int(&j, "alerts", n);
    e = store_audit(s, "alert.purge", "alert", 0, store_json_end(&j), NULL,
                    err);
  }
  if (e != ARGUS_OK) {
    store_rollback(s);
    return e;
  }
  if ((e = store_commit(s, err)) != ARGUS_OK)
    return e;
  store_purge_after_commit(s, "alert purge");
  if (deleted)
    *deleted = n;
  return ARGUS_OK;
}

argus_err argus_store_alert_near(argus_store *s, const char *camera,
                                 argus_store_id person_id, const char *time,
                                 double media_time, double window,
                                 const char *except_event, argus_store_id *id,
                                 argus_store_error *err) {
  if (id)
    *id = 0;
  argus_err e = store_check_handle(s, err);
  if (e == ARGUS_OK && (!camera || !time || !id))
    e = store_fail(err, ARGUS_E_INVALID_ARG, "camera, time or id is NULL");
  if (e == ARGUS_OK &&
      (!isfinite(media_time) || !isfinite(window) || window <= 0))
    e = store_fail(err, ARGUS_E_INVALID_ARG,
                   "media time or window is not a finite number (window > 0)");
  int64_t sec = 0;
  int32_t ns = 0;
  if (e == ARGUS_OK && argus_rfc3339_parse_ts(time, &sec, &ns) != ARGUS_OK)
    e = store_fail(err, ARGUS_E_INVALID_ARG, "time '%.40s' is not RFC 3339",
                   time);
  if (e != ARGUS_OK)
    return e;
  /* The window as canonical times (they sort as text). */
  char from[ARGUS_STORE_TIME_MAX], to[ARGUS_STORE_TIME_MAX];
  char a[ARGUS_RFC3339_MAX], b[ARGUS_RFC3339_MAX];
  int64_t w_ns = (int64_t)(window * 1e9);
  int64_t at = sec * 1000000000 + ns;
  argus_rfc3339(at - w_ns, a);
  argus_rfc3339(at + w_ns, b);
  if ((e = store_time_canonical(a, from, err)) != ARGUS_OK ||
      (e = store_time_canonical(b, to, err)) != ARGUS_OK)
    return e;
  if ((e = store_begin(s, STORE_TX_READ, err)) != ARGUS_OK)
    return e;
  int found = 0;
  int64_t have = 0;
  if (except_event)
    e = store_query_int(
        s, &found, &have, err,
        "SELECT id FROM alerts WHERE person_id = ? AND camera = ? AND time "
        ">= ? AND time <= ? AND media_time > ? AND media_time < ? AND "
        "(event_id IS NULL OR event_id <> ?) ORDER BY id DESC LIMIT 1",
        "isssdds", (int64_t)person_id, camera, from, to, media_time - window,
        media_time + window, except_event);
  else
    e = store_query_int(
        s, &found, &have, err,
        "SELECT id FROM alerts WHERE person_id = ? AND camera = ? AND time "
        ">= ? AND time <= ? AND media_time > ? AND media_time < ? ORDER BY "
        "id DESC LIMIT 1",
        "isssdd", (int64_t)person_id, camera, from, to, media_time - window,
        media_time + window);
  store_rollback(s);
  if (e == ARGUS_OK && found)
    *id = have;
  return e;
}
