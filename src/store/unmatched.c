/* Unmatched faces kept on an operator's request (argus watch
 * --keep-unmatched SECONDS): crop and thumbnail files with where and when,
 * each with its expiry; purged by age like alerts. No template is ever
 * stored for them. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "store_internal.h"

/* Canonical UTC text of now + seconds. */
static void time_after(double seconds, char out[ARGUS_STORE_TIME_MAX]) {
  int64_t now = argus_wall_ns();
  int64_t sec = now / 1000000000, ns = now % 1000000000;
  double whole = floor(seconds);
  sec += (int64_t)whole;
  ns += (int64_t)((seconds - whole) * 1e9);
  if (ns >= 1000000000) {
    sec++;
    ns -= 1000000000;
  }
  argus_rfc3339_ts(sec, (int32_t)ns, out);
}

argus_err argus_store_unmatched_insert(argus_store *s,
                                       const argus_store_unmatched_in *u,
                                       argus_store_id *out_id,
                                       argus_store_error *err) {
  argus_err e = store_check_handle(s, err);
  if (e == ARGUS_OK && !u)
    e = store_fail(err, ARGUS_E_INVALID_ARG, "unmatched face is NULL");
  if (e == ARGUS_OK)
    e = store_check_name(u->camera, "camera", ARGUS_STORE_NAME_MAX, err);
  if (e != ARGUS_OK)
    return e;
  char t[ARGUS_STORE_TIME_MAX], exp[ARGUS_STORE_TIME_MAX];
  if (u->time)
    e = store_time_canonical(u->time, t, err);
  else
    argus_store_now(t);
  if (e == ARGUS_OK && !isfinite(u->media_time))
    e = store_fail(err, ARGUS_E_INVALID_ARG, "media time is not finite");
  if (e == ARGUS_OK && !(u->quality >= 0 && u->quality <= 1))
    e = store_fail(err, ARGUS_E_INVALID_ARG, "quality %g outside [0, 1]",
                   u->quality);
  if (e == ARGUS_OK && !isfinite(u->best_score))
    e = store_fail(err, ARGUS_E_INVALID_ARG, "best score is not finite");
  /* At most ten years: the expiry must stay a valid date. */
  if (e == ARGUS_OK && !(u->retention > 0 && u->retention <= 3.2e8))
    e = store_fail(err, ARGUS_E_INVALID_ARG,
                   "retention %g s outside (0, 10 years]", u->retention);
  if (e == ARGUS_OK &&
      ((u->crop_size && !u->crop) || (u->thumb_size && !u->thumb)))
    e = store_fail(err, ARGUS_E_INVALID_ARG, "crop or thumbnail is NULL");
  if (e == ARGUS_OK && (u->crop_size > ARGUS_STORE_CROP_MAX ||
                        u->thumb_size > ARGUS_STORE_CROP_MAX))
    e = store_fail(err, ARGUS_E_LIMIT,
                   "crop or thumbnail is larger than %zu bytes",
                   ARGUS_STORE_CROP_MAX);
  if (e != ARGUS_OK)
    return e;
  time_after(u->retention, exp);

  if ((e = store_begin(s, STORE_TX_WRITE, err)) != ARGUS_OK)
    return e;
  if (u->camera_id > 0) {
    int found = 0;
    int64_t dummy = 0;
    e = store_query_int(s, &found, &dummy, err,
                        "SELECT id FROM cameras WHERE id = ?", "i",
                        (int64_t)u->camera_id);
    if (e == ARGUS_OK && !found)
      e = store_fail(err, ARGUS_E_NOT_FOUND, "no camera with id %lld",
                     (long long)u->camera_id);
  }
  char crop[ARGUS_STORE_SHA256_HEX] = "", thumb[ARGUS_STORE_SHA256_HEX] = "";
  if (e == ARGUS_OK && u->crop_size)
    e = store_crop_put(s, u->crop, u->crop_size, crop, err);
  if (e == ARGUS_OK && u->thumb_size)
    e = store_crop_put(s, u->thumb, u->thumb_size, thumb, err);
  argus_store_id id = 0;
  store_stmt *st = NULL;
  int row = 0;
  if (e == ARGUS_OK) {
    e = store_prep(s, &st, err,
                   "INSERT INTO unmatched (camera_id, camera, time, "
                   "media_time, track_id, quality, best_score, crop_sha256, "
                   "thumb_sha256, expires) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, "
                   "?) RETURNING id",
                   "issdiddsss", (int64_t)u->camera_id, u->camera, t,
                   u->media_time, (int64_t)u->track_id, u->quality,
                   u->best_score, crop[0] ? crop : NULL,
                   thumb[0] ? thumb : NULL, exp);
    if (e == ARGUS_OK && u->camera_id <= 0)
      e = s->ops->bind_null(st, 1);
    if (e == ARGUS_OK)
      e = store_step(s, st, &row, err);
    if (e == ARGUS_OK)
      id = s->ops->col_int64(st, 0);
    s->ops->finalize(st);
  }
  if (e == ARGUS_OK) {
    store_json j;
    store_json_begin(&j);
    store_json_str(&j, "camera", u->camera);
    store_json_int(&j, "track", u->track_id);
    store_json_str(&j, "expires", exp);
    e = store_audit(s, "unmatched.insert", "unmatched", id, store_json_end(&j),
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

argus_err argus_store_unmatched_purge(argus_store *s, const char *now,
                                      int64_t *deleted,
                                      argus_store_error *err) {
  if (deleted)
    *deleted = 0;
  char t[ARGUS_STORE_TIME_MAX];
  argus_err e = store_check_handle(s, err);
  if (e != ARGUS_OK)
    return e;
  if (now)
    e = store_time_canonical(now, t, err);
  else
    argus_store_now(t);
  if (e != ARGUS_OK)
    return e;
  /* A cheap look first: most calls find nothing to do and must not take
   * the write lock (nor write an audit row). */
  int found = 0;
  int64_t n = 0;
  if ((e = store_begin(s, STORE_TX_READ, err)) != ARGUS_OK)
    return e;
  e = store_query_int(s, &found, &n, err,
                      "SELECT count(*) FROM unmatched WHERE expires <= ?", "s",
                      t);
  store_rollback(s);
  if (e != ARGUS_OK || n == 0)
    return e;
  if ((e = store_begin(s, STORE_TX_WRITE_DURABLE, err)) != ARGUS_OK)
    return e;
  e = store_query_int(s, &found, &n, err,
                      "SELECT count(*) FROM unmatched WHERE expires <= ?", "s",
                      t);
  if (e == ARGUS_OK && n > 0)
    e = store_purge_queue(s, err,
                          "SELECT crop_sha256 AS h FROM unmatched WHERE "
                          "expires <= ? UNION ALL SELECT thumb_sha256 AS h "
                          "FROM unmatched WHERE expires <= ?",
                          "ss", t, t);
  if (e == ARGUS_OK && n > 0)
    e = store_run(s, err, "DELETE FROM unmatched WHERE expires <= ?", "s", t);
  if (e == ARGUS_OK) {
    store_json j;
    store_json_begin(&j);
    store_json_str(&j, "now", t);
    store_json_int(&j, "unmatched", n);
    e = store_audit(s, "unmatched.purge", "unmatched", 0, store_json_end(&j),
                    NULL, err);
  }
  if (e != ARGUS_OK) {
    store_rollback(s);
    return e;
  }
  if ((e = store_commit(s, err)) != ARGUS_OK)
    return e;
  store_purge_after_commit(s, "unmatched purge");
  if (deleted)
    *deleted = n;
  return ARGUS_OK;
}

argus_err argus_store_unmatched_count(argus_store *s, int64_t *count,
                                      argus_store_error *err) {
  argus_err e = store_check_handle(s, err);
  if (e == ARGUS_OK && !count)
    e = store_fail(err, ARGUS_E_INVALID_ARG, "count is NULL");
  if (e != ARGUS_OK)
    return e;
  *count = 0;
  if ((e = store_begin(s, STORE_TX_READ, err)) != ARGUS_OK)
    return e;
  int found = 0;
  e = store_query_int(s, &found, count, err, "SELECT count(*) FROM unmatched",
                      "");
  store_rollback(s);
  return e;
}
