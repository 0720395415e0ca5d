/* Operators' verdicts feed back into matching: negative examples from
 * rejected alerts, the four-eyes rule, per-watchlist verdict statistics
 * (docs/alerts.md).
 *
 * An alert stores the probe template that raised it (sealed by
 * store_vec_pack like every template, so that encryption at rest covers
 * it); it goes away with the alert when the alert is purged or its person
 * erased. Rejecting the alert copies the probe into `negatives`, one row
 * per rejection, owned by the person (ON DELETE CASCADE: erasing or
 * removing the person removes them). The copy is unsealed and sealed again
 * rather than copied as bytes, so a seal bound to its row stays valid. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

/* No length CHECK on the vector blobs: sealed vectors are longer than
 * 4 * dim. */
const char store_migration_8_sql[] =
    "ALTER TABLE watchlists ADD COLUMN four_eyes INTEGER NOT NULL DEFAULT 0 "
    "CHECK (four_eyes IN (0, 1));\n"
    "ALTER TABLE watchlists ADD COLUMN negatives TEXT NOT NULL DEFAULT "
    "'suppress' CHECK (negatives IN ('off', 'suppress', 'mark'));\n"
    "ALTER TABLE alerts ADD COLUMN probe @BLOB@;\n"
    "ALTER TABLE alerts ADD COLUMN probe_model TEXT;\n"
    "ALTER TABLE alerts ADD COLUMN probe_version TEXT;\n"
    "ALTER TABLE alerts ADD COLUMN probe_dim INTEGER;\n"
    "ALTER TABLE alerts ADD COLUMN negative_id BIGINT;\n"
    "ALTER TABLE alerts ADD COLUMN negative_score DOUBLE PRECISION;\n"
    "CREATE TABLE negatives (\n"
    "  id @ID@,\n"
    "  person_id BIGINT NOT NULL REFERENCES persons (id) ON DELETE CASCADE,\n"
    "  alert_id BIGINT REFERENCES alerts (id) ON DELETE SET NULL,\n"
    "  model_name TEXT NOT NULL,\n"
    "  model_version TEXT NOT NULL,\n"
    "  dim INTEGER NOT NULL CHECK (dim > 0),\n"
    "  vector @BLOB@ NOT NULL,\n"
    "  created TEXT NOT NULL\n"
    ");\n"
    "CREATE INDEX negatives_by_person ON negatives (person_id);\n"
    "CREATE INDEX negatives_by_model ON negatives (model_name, "
    "model_version);\n";

static double cosine(const float *a, const float *b, int dim) {
  double d = 0, aa = 0, bb = 0;
  for (int i = 0; i < dim; i++) {
    d += (double)a[i] * b[i];
    aa += (double)a[i] * a[i];
    bb += (double)b[i] * b[i];
  }
  if (!(aa > 0) || !(bb > 0))
    return -1;
  return d / sqrt(aa * bb);
}

/* The negative example of `person` (model name/version, dim) nearest to
 * probe: *id 0 when it has none. */
static argus_err negative_best(argus_store *s, argus_store_id person,
                               const char *name, const char *version,
                               const float *probe, int dim, argus_store_id *id,
                               double *score, argus_store_error *err) {
  *id = 0;
  *score = NAN;
  float *v = malloc((size_t)dim * sizeof *v);
  if (!v)
    return store_fail(err, ARGUS_E_NOMEM, "out of memory");
  store_stmt *st = NULL;
  argus_err e =
      store_prep(s, &st, err,
                 "SELECT id, vector FROM negatives WHERE person_id "
                 "= ? AND model_name = ? AND model_version = ? AND "
                 "dim = ? ORDER BY id",
                 "issi", (int64_t)person, name, version, (int64_t)dim);
  int row = 0;
  while (e == ARGUS_OK && (e = store_step(s, st, &row, err)) == ARGUS_OK &&
         row == STORE_ROW) {
    size_t n = 0;
    const void *blob = s->ops->col_blob(st, 1, &n);
    argus_store_id nid = s->ops->col_int64(st, 0);
    if ((e = store_vec_unpack(s, blob, n, dim, v, err)) != ARGUS_OK) {
      store_wrap(err, e, "negative example %lld", (long long)nid);
      break;
    }
    double c = cosine(probe, v, dim);
    if (*id == 0 || c > *score) {
      *id = nid;
      *score = c;
    }
  }
  s->ops->finalize(st);
  free(v);
  return e;
}

static argus_err split_model(const char *mid, char name[ARGUS_STORE_NAME_MAX],
                             char version[ARGUS_STORE_NAME_MAX],
                             argus_store_error *err) {
  if (!mid || argus_store_model_id_split(mid, name, version) != ARGUS_OK)
    return store_fail(err, ARGUS_E_INVALID_ARG,
                      "probe model '%.64s' is not name@version",
                      mid ? mid : "(null)");
  return ARGUS_OK;
}

static argus_err check_probe(const argus_store_alert_in *a,
                             argus_store_error *err) {
  if (!a->probe)
    return store_fail(err, ARGUS_E_INVALID_ARG, "the alert has no probe");
  if (a->probe_dim < 1 || a->probe_dim > ARGUS_STORE_DIM_MAX)
    return store_fail(err, ARGUS_E_INVALID_ARG,
                      "probe dim %d is outside [1, %d]", a->probe_dim,
                      ARGUS_STORE_DIM_MAX);
  return ARGUS_OK;
}

argus_err store_alert_probe_put(argus_store *s, argus_store_id id,
                                const argus_store_alert_in *a,
                                argus_store_id *neg_id, double *neg_score,
                                argus_store_error *err) {
  *neg_id = 0;
  *neg_score = NAN;
  char name[ARGUS_STORE_NAME_MAX], version[ARGUS_STORE_NAME_MAX];
  argus_err e = check_probe(a, err);
  if (e == ARGUS_OK)
    e = split_model(a->probe_model, name, version, err);
  if (e != ARGUS_OK)
    return e;
  if (a->negative &&
      (e = negative_best(s, a->person_id, name, version, a->probe, a->probe_dim,
                         neg_id, neg_score, err)) != ARGUS_OK)
    return e;
  void *blob = NULL;
  size_t n = 0;
  if ((e = store_vec_pack(s, a->probe, a->probe_dim, &blob, &n, err)) !=
      ARGUS_OK)
    return e;
  store_stmt *st = NULL;
  e = store_prep(s, &st, err,
                 "UPDATE alerts SET probe = ?, probe_model = ?, "
                 "probe_version = ?, probe_dim = ?, negative_id = ?, "
                 "negative_score = ? WHERE id = ?",
                 "bssiidi", blob, n, name, version, (int64_t)a->probe_dim,
                 (int64_t)*neg_id, isnan(*neg_score) ? 0.0 : *neg_score,
                 (int64_t)id);
  if (e == ARGUS_OK && *neg_id <= 0)
    e = s->ops->bind_null(st, 5);
  if (e == ARGUS_OK && isnan(*neg_score))
    e = s->ops->bind_null(st, 6);
  int row = 0;
  if (e == ARGUS_OK)
    e = store_step(s, st, &row, err);
  s->ops->finalize(st);
  free(blob);
  return e;
}

argus_err store_negative_from_alert(argus_store *s, argus_store_id alert_id,
                                    argus_store_id *neg_id,
                                    argus_store_error *err) {
  *neg_id = 0;
  store_stmt *st = NULL;
  argus_err e = store_prep(
      s, &st, err,
      "SELECT a.person_id, a.probe_model, a.probe_version, a.probe_dim, "
      "a.probe FROM alerts a JOIN persons p ON p.id = a.person_id WHERE "
      "a.id = ? AND a.probe IS NOT NULL",
      "i", (int64_t)alert_id);
  int row = 0;
  if (e == ARGUS_OK)
    e = store_step(s, st, &row, err);
  if (e != ARGUS_OK || row != STORE_ROW) {
    s->ops->finalize(st);
    return e; /* no probe (an older alert) or no person: no negative */
  }
  argus_store_id person = s->ops->col_int64(st, 0);
  char name[ARGUS_STORE_NAME_MAX], version[ARGUS_STORE_NAME_MAX];
  store_copy(name, sizeof name, s->ops->col_text(st, 1));
  store_copy(version, sizeof version, s->ops->col_text(st, 2));
  int64_t dim = s->ops->col_int64(st, 3);
  size_t n = 0;
  const void *blob = s->ops->col_blob(st, 4, &n);
  float *v = NULL;
  void *packed = NULL;
  size_t np = 0;
  if (dim < 1 || dim > ARGUS_STORE_DIM_MAX)
    e = store_fail(err, ARGUS_E_CORRUPT, "alert %lld: probe dim %lld",
                   (long long)alert_id, (long long)dim);
  if (e == ARGUS_OK && !(v = malloc((size_t)dim * sizeof *v)))
    e = store_fail(err, ARGUS_E_NOMEM, "out of memory");
  if (e == ARGUS_OK)
    e = store_vec_unpack(s, blob, n, (int)dim, v, err);
  s->ops->finalize(st);
  if (e == ARGUS_OK)
    e = store_vec_pack(s, v, (int)dim, &packed, &np, err);
  free(v);
  char now[ARGUS_STORE_TIME_MAX];
  argus_store_now(now);
  int found = 0;
  int64_t id = 0;
  if (e == ARGUS_OK)
    e = store_query_int(s, &found, &id, err,
                        "INSERT INTO negatives (person_id, alert_id, "
                        "model_name, model_version, dim, vector, created) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
                        "iissibs", (int64_t)person, (int64_t)alert_id, name,
                        version, dim, packed, np, now);
  free(packed);
  if (e == ARGUS_OK) {
    /* person.*: the change feed carries it to running matchers, which
     * re-read the person with its negatives. */
    store_json j;
    store_json_begin(&j);
    store_json_int(&j, "negative", id);
    store_json_int(&j, "alert", alert_id);
    store_json_int(&j, "person_id", person);
    char mid[2 * ARGUS_STORE_NAME_MAX + 1];
    snprintf(mid, sizeof mid, "%s@%s", name, version);
    store_json_str(&j, "model", mid);
    e = store_audit(s, "person.negative_add", "person", person,
                    store_json_end(&j), NULL, err);
  }
  if (e == ARGUS_OK)
    *neg_id = id;
  return e;
}

argus_err argus_store_negative_foreach(argus_store *s,
                                       const argus_store_model *model,
                                       argus_store_id person_id,
                                       argus_store_negative_fn fn, void *user,
                                       argus_store_error *err) {
  argus_err e = store_check_handle(s, err);
  if (e == ARGUS_OK)
    e = store_check_model(model, 0, err);
  if (e == ARGUS_OK && !fn)
    e = store_fail(err, ARGUS_E_INVALID_ARG, "callback is NULL");
  if (e != ARGUS_OK)
    return e;
  /* As template.read: the audit row commits with the read. */
  if ((e = store_begin(s, STORE_TX_WRITE, err)) != ARGUS_OK)
    return e;
  store_stmt *st = NULL;
  if (person_id > 0)
    e = store_prep(s, &st, err,
                   "SELECT n.id, n.person_id, coalesce(n.alert_id, 0), "
                   "p.watchlist_id, n.dim, n.vector, n.created FROM negatives "
                   "n JOIN persons p ON p.id = n.person_id WHERE n.model_name "
                   "= ? AND n.model_version = ? AND n.person_id = ? ORDER BY "
                   "n.id",
                   "ssi", model->name, model->version, (int64_t)person_id);
  else
    e = store_prep(s, &st, err,
                   "SELECT n.id, n.person_id, coalesce(n.alert_id, 0), "
                   "p.watchlist_id, n.dim, n.vector, n.created FROM negatives "
                   "n JOIN persons p ON p.id = n.person_id WHERE n.model_name "
                   "= ? AND n.model_version = ? ORDER BY n.id",
                   "ss", model->name, model->version);
  float *vec = NULL;
  int cap = 0, row = 0, stop = 0;
  int64_t count = 0;
  while (e == ARGUS_OK && !stop &&
         (e = store_step(s, st, &row, err)) == ARGUS_OK && row == STORE_ROW) {
    const store_backend_ops *o = s->ops;
    argus_store_negative ng;
    memset(&ng, 0, sizeof ng);
    ng.id = o->col_int64(st, 0);
    ng.person_id = o->col_int64(st, 1);
    ng.alert_id = o->col_int64(st, 2);
    ng.watchlist_id = o->col_int64(st, 3);
    int64_t dim = o->col_int64(st, 4);
    if (dim < 1 || dim > ARGUS_STORE_DIM_MAX) {
      e = store_fail(err, ARGUS_E_CORRUPT, "negative %lld: dim %lld",
                     (long long)ng.id, (long long)dim);
      break;
    }
    if (dim > cap) {
      free(vec);
      vec = malloc((size_t)dim * sizeof *vec);
      cap = vec ? (int)dim : 0;
      if (!vec) {
        e = store_fail(err, ARGUS_E_NOMEM, "out of memory");
        break;
      }
    }
    size_t n = 0;
    const void *blob = o->col_blob(st, 5, &n);
    if ((e = store_vec_unpack(s, blob, n, (int)dim, vec, err)) != ARGUS_OK) {
      store_wrap(err, e, "negative example %lld", (long long)ng.id);
      break;
    }
    ng.dim = (int)dim;
    ng.vector = vec;
    ng.created = o->col_text(st, 6);
    s->in_callback = 1;
    stop = fn(user, &ng);
    s->in_callback = 0;
    count++;
  }
  if (st)
    s->ops->finalize(st);
  free(vec);
  /* Recorded also after a failure: the callback saw some already. */
  store_json j;
  store_json_begin(&j);
  char mid[2 * ARGUS_STORE_NAME_MAX + 1];
  snprintf(mid, sizeof mid, "%s@%s", model->name, model->version);
  store_json_str(&j, "model", mid);
  store_json_int(&j, "count", count);
  argus_err ea =
      store_audit(s, "negative.read", person_id > 0 ? "person" : "negative",
                  person_id, store_json_end(&j), NULL, err);
  if (e == ARGUS_OK)
    e = ea;
  if (ea != ARGUS_OK) {
    store_rollback(s);
    return e;
  }
  argus_err ec = store_commit(s, err);
  return e != ARGUS_OK ? e : ec;
}

argus_err argus_store_alert_suppressed(argus_store *s,
                                       const argus_store_alert_in *a,
                                       argus_store_error *err) {
  argus_err e = store_check_handle(s, err);
  if (e == ARGUS_OK && !a)
    e = store_fail(err, ARGUS_E_INVALID_ARG, "alert is NULL");
  if (e == ARGUS_OK)
    e = store_check_name(a->camera, "camera", ARGUS_STORE_NAME_MAX, err);
  if (e == ARGUS_OK)
    e = check_probe(a, err);
  char name[ARGUS_STORE_NAME_MAX], version[ARGUS_STORE_NAME_MAX];
  if (e == ARGUS_OK)
    e = split_model(a->probe_model, name, version, err);
  if (e != ARGUS_OK)
    return e;
  if ((e = store_begin(s, STORE_TX_WRITE, err)) != ARGUS_OK)
    return e;
  int found = 0;
  int64_t wl = 0;
  e = store_query_int(s, &found, &wl, err,
                      "SELECT watchlist_id FROM persons WHERE id = ?", "i",
                      (int64_t)a->person_id);
  if (e == ARGUS_OK && !found)
    e = store_fail(err, ARGUS_E_NOT_FOUND, "no person with id %lld",
                   (long long)a->person_id);
  argus_store_id nid = 0;
  double nscore = NAN;
  if (e == ARGUS_OK)
    e = negative_best(s, a->person_id, name, version, a->probe, a->probe_dim,
                      &nid, &nscore, err);
  if (e == ARGUS_OK) {
    char t[ARGUS_STORE_TIME_MAX];
    if (!a->time || store_time_canonical(a->time, t, NULL) != ARGUS_OK)
      argus_store_now(t);
    store_json j;
    store_json_begin(&j);
    store_json_str(&j, "reason", "negative example");
    store_json_int(&j, "person_id", a->person_id);
    store_json_str(&j, "camera", a->camera);
    store_json_str(&j, "time", t);
    store_json_int(&j, "track", a->track_id);
    store_json_num(&j, "score", a->score);
    if (nid > 0) {
      store_json_int(&j, "negative", nid);
      store_json_num(&j, "negative_score", nscore);
    }
    if (a->event_id)
      store_json_str(&j, "event", a->event_id);
    e = store_audit(s, "alert.suppressed", "watchlist", wl, store_json_end(&j),
                    NULL, err);
  }
  if (e != ARGUS_OK) {
    store_rollback(s);
    return e;
  }
  return store_commit(s, err);
}

typedef struct scored {
  double score;
  int rejected;
} scored;

static int by_score_desc(const void *a, const void *b) {
  double x = ((const scored *)a)->score, y = ((const scored *)b)->score;
  return x < y ? 1 : x > y ? -1 : 0;
}

argus_err argus_store_verdict_stats_get(argus_store *s, const char *name,
                                        double threshold, double target_far,
                                        argus_store_verdict_stats *out,
                                        argus_store_error *err) {
  argus_err e = store_check_handle(s, err);
  if (e == ARGUS_OK)
    e = store_check_name(name, "watchlist name", ARGUS_STORE_NAME_MAX, err);
  if (e == ARGUS_OK && !out)
    e = store_fail(err, ARGUS_E_INVALID_ARG, "out is NULL");
  if (e == ARGUS_OK && !isnan(target_far) &&
      !(target_far > 0 && target_far < 1))
    e = store_fail(err, ARGUS_E_INVALID_ARG,
                   "target false-alarm rate %g is outside (0, 1)", target_far);
  if (e != ARGUS_OK)
    return e;
  memset(out, 0, sizeof *out);
  out->threshold = threshold;
  out->target_far = target_far;
  out->far = NAN;
  out->suggested = NAN;
  if ((e = store_begin(s, STORE_TX_READ, err)) != ARGUS_OK)
    return e;
  argus_store_id wl = 0;
  e = store_watchlist_id(s, name, &wl, err);
  store_stmt *st = NULL;
  store_vec v = {.item = sizeof(scored)};
  if (e == ARGUS_OK)
    e = store_prep(s, &st, err,
                   "SELECT a.status, a.score, a.negative_id IS NOT NULL, "
                   "(SELECT count(*) FROM decisions d WHERE d.alert_id = a.id "
                   "AND d.decision = 'confirmed') FROM alerts a WHERE "
                   "a.watchlist_id = ?",
                   "i", (int64_t)wl);
  int row = 0;
  while (e == ARGUS_OK && (e = store_step(s, st, &row, err)) == ARGUS_OK &&
         row == STORE_ROW) {
    argus_alert_status stt = ARGUS_ALERT_PENDING;
    argus_alert_status_parse(s->ops->col_text(st, 0), &stt);
    double sc = s->ops->col_double(st, 1);
    out->alerts++;
    out->marked += s->ops->col_int64(st, 2) != 0;
    if (stt == ARGUS_ALERT_PENDING) {
      out->pending++;
      out->awaiting_second += s->ops->col_int64(st, 3) > 0;
      continue;
    }
    int rej = stt == ARGUS_ALERT_REJECTED;
    if (rej)
      out->rejected++;
    else
      out->confirmed++;
    if (isnan(threshold) || sc >= threshold) {
      if (rej)
        out->rejected_at++;
      else
        out->confirmed_at++;
    }
    scored *p = store_vec_push(&v);
    if (!p) {
      e = store_fail(err, ARGUS_E_NOMEM, "out of memory");
      break;
    }
    p->score = sc;
    p->rejected = rej;
  }
  if (st)
    s->ops->finalize(st);
  int found = 0;
  if (e == ARGUS_OK)
    e = store_query_int(s, &found, &out->negatives, err,
                        "SELECT count(*) FROM negatives n JOIN persons p ON "
                        "p.id = n.person_id WHERE p.watchlist_id = ?",
                        "i", (int64_t)wl);
  if (e == ARGUS_OK)
    e = store_query_int(s, &found, &out->suppressions, err,
                        "SELECT count(*) FROM audit WHERE action = "
                        "'alert.suppressed' AND object_type = 'watchlist' "
                        "AND object_id = ?",
                        "i", (int64_t)wl);
  if (e != ARGUS_OK) {
    store_rollback(s);
    free(v.data);
    return e;
  }
  e = store_commit(s, err);
  if (out->confirmed_at + out->rejected_at > 0)
    out->far = (double)out->rejected_at /
               (double)(out->confirmed_at + out->rejected_at);
  /* The suggestion: decided alerts best first; at each distinct score t
   * (after all alerts of that score) the rejected share among those >= t. */
  out->decided = (int64_t)v.n;
  if (!isnan(target_far) && v.n > 0) {
    scored *a = v.data;
    qsort(a, v.n, sizeof *a, by_score_desc);
    int64_t rej = 0;
    for (size_t i = 0; i < v.n; i++) {
      rej += a[i].rejected;
      if (i + 1 < v.n && a[i + 1].score == a[i].score)
        continue;
      if ((double)rej / (double)(i + 1) <= target_far)
        out->suggested = a[i].score;
    }
  }
  free(v.data);
  return e;
}
