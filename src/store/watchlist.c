/* Watchlists: create, list, get, delete (with everything enrolled in
 * them), threshold, active flag, acknowledgement flag and colour. An
 * expired watchlist (legal.c) refuses every change here but deletion. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "legal.h"

#define DEFAULT_COLOUR "#e53935"

argus_err store_watchlist_id(argus_store *s, const char *name,
                             argus_store_id *id, argus_store_error *err) {
  int found = 0;
  int64_t v = 0;
  argus_err e =
      store_query_int(s, &found, &v, err,
                      "SELECT id FROM watchlists WHERE name = ?", "s", name);
  if (e != ARGUS_OK)
    return e;
  if (!found)
    return store_fail(err, ARGUS_E_NOT_FOUND, "no watchlist '%s'", name);
  *id = v;
  return ARGUS_OK;
}

static argus_err check_threshold(double t, argus_store_error *err) {
  if (isnan(t) || (t >= -1.0 && t <= 1.0))
    return ARGUS_OK;
  return store_fail(err, ARGUS_E_INVALID_ARG,
                    "threshold %g is outside [-1, 1] (a cosine similarity)", t);
}

static argus_err check_colour(const char *c, char out[ARGUS_STORE_COLOUR_MAX],
                              argus_store_error *err) {
  if (!c) {
    store_copy(out, ARGUS_STORE_COLOUR_MAX, DEFAULT_COLOUR);
    return ARGUS_OK;
  }
  int ok = strlen(c) == 7 && c[0] == '#';
  for (int i = 1; ok && i < 7; i++) {
    char ch = c[i];
    ok = (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') ||
         (ch >= 'A' && ch <= 'F');
  }
  if (!ok)
    return store_fail(err, ARGUS_E_INVALID_ARG,
                      "colour '%.32s' is not of the form #rrggbb", c);
  for (int i = 0; i < 8; i++)
    out[i] = (char)(c[i] >= 'A' && c[i] <= 'F' ? c[i] - 'A' + 'a' : c[i]);
  return ARGUS_OK;
}

static argus_err check_name_arg(argus_store *s, const char *name,
                                argus_store_error *err) {
  argus_err e = store_check_handle(s, err);
  if (e == ARGUS_OK)
    e = store_check_name(name, "watchlist name", ARGUS_STORE_NAME_MAX, err);
  return e;
}

/* Inside a transaction: NOT_FOUND for an unknown watchlist, INVALID_ARG
 * for an expired (read-only) one. */
static argus_err writable_by_name(argus_store *s, const char *name,
                                  argus_store_error *err) {
  argus_store_id id = 0;
  argus_err e = store_watchlist_id(s, name, &id, err);
  if (e == ARGUS_OK)
    e = store_legal_writable(s, id, err);
  return e;
}

argus_err argus_store_watchlist_create(argus_store *s, const char *name,
                                       double threshold, const char *colour,
                                       argus_store_id *out_id,
                                       argus_store_error *err) {
  return argus_store_watchlist_create_legal(s, name, threshold, colour, NULL,
                                            out_id, err);
}

argus_err argus_store_watchlist_create_legal(
    argus_store *s, const char *name, double threshold, const char *colour,
    const struct argus_store_legal_in *legal, argus_store_id *out_id,
    argus_store_error *err) {
  char col[ARGUS_STORE_COLOUR_MAX];
  char exp[ARGUS_STORE_TIME_MAX] = "";
  const argus_store_legal_in none = {NULL, NULL, NULL, NULL};
  if (!legal)
    legal = &none;
  argus_err e = check_name_arg(s, name, err);
  if (e == ARGUS_OK)
    e = check_threshold(threshold, err);
  if (e == ARGUS_OK)
    e = check_colour(colour, col, err);
  if (e == ARGUS_OK)
    e = store_check_text(legal->purpose, "purpose", ARGUS_STORE_TEXT_MAX, err);
  if (e == ARGUS_OK)
    e = store_check_text(legal->legal_ref, "legal reference",
                         ARGUS_STORE_TEXT_MAX, err);
  if (e == ARGUS_OK)
    e = store_check_text(legal->owner, "owner", ARGUS_STORE_NAME_MAX, err);
  if (e == ARGUS_OK && legal->expires && legal->expires[0]) {
    int64_t ns = 0;
    if (argus_store_date_parse(legal->expires, &ns, exp) != ARGUS_OK)
      e = store_fail(err, ARGUS_E_INVALID_ARG,
                     "expiry '%.64s' is not a date (YYYY-MM-DD or RFC 3339 "
                     "such as 2027-01-31T18:00:00Z)",
                     legal->expires);
    else if (ns <= argus_store_clock_ns())
      e = store_fail(err, ARGUS_E_INVALID_ARG, "expiry %s is not in the future",
                     exp);
  }
  if (e != ARGUS_OK)
    return e;
  if ((e = store_begin(s, STORE_TX_WRITE, err)) != ARGUS_OK)
    return e;
  int found = 0;
  int64_t id = 0;
  e = store_query_int(s, &found, &id, err,
                      "SELECT id FROM watchlists WHERE name = ?", "s", name);
  if (e == ARGUS_OK && found)
    e = store_fail(err, ARGUS_E_INVALID_ARG, "watchlist '%s' already exists",
                   name);
  if (e == ARGUS_OK) {
    char t[ARGUS_STORE_TIME_MAX];
    argus_store_now(t);
    store_stmt *st = NULL;
    e = store_prep(s, &st, err,
                   "INSERT INTO watchlists (name, threshold, colour, active, "
                   "created, updated, purpose, legal_ref, owner, expires) "
                   "VALUES (?, ?, ?, 1, ?, ?, ?, ?, ?, ?) RETURNING id",
                   "sdsssssss", name, threshold, col, t, t,
                   legal->purpose ? legal->purpose : "",
                   legal->legal_ref ? legal->legal_ref : "",
                   legal->owner ? legal->owner : "", exp);
    if (e == ARGUS_OK && isnan(threshold))
      e = s->ops->bind_null(st, 2);
    if (e == ARGUS_OK && !exp[0])
      e = s->ops->bind_null(st, 9);
    int row = 0;
    if (e == ARGUS_OK)
      e = store_step(s, st, &row, err);
    if (e == ARGUS_OK)
      id = s->ops->col_int64(st, 0);
    s->ops->finalize(st);
  }
  if (e == ARGUS_OK) {
    store_json j;
    store_json_begin(&j);
    store_json_str(&j, "name", name);
    store_json_num(&j, "threshold", threshold);
    store_json_str(&j, "colour", col);
    if (exp[0])
      store_json_str(&j, "expires", exp);
    if (legal->owner)
      store_json_str(&j, "owner", legal->owner);
    if (legal->legal_ref)
      store_json_str(&j, "legal_ref", legal->legal_ref);
    if (legal->purpose)
      store_json_str(&j, "purpose", legal->purpose);
    e = store_audit(s, "watchlist.create", "watchlist", id, store_json_end(&j),
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

#define WL_COLUMNS                                                             \
  "SELECT w.id, w.name, w.threshold, w.colour, w.active, w.created, "          \
  "w.updated, (SELECT count(*) FROM persons p WHERE p.watchlist_id = w.id), "  \
  "w.ack_required, w.purpose, w.legal_ref, w.owner, w.expires, "               \
  "w.four_eyes, w.negatives "                                                  \
  "FROM watchlists w "

static void read_wl(argus_store *s, store_stmt *st, argus_store_watchlist *w) {
  const store_backend_ops *o = s->ops;
  w->id = o->col_int64(st, 0);
  store_copy(w->name, sizeof w->name, o->col_text(st, 1));
  w->threshold = o->col_is_null(st, 2) ? NAN : o->col_double(st, 2);
  store_copy(w->colour, sizeof w->colour, o->col_text(st, 3));
  w->active = (int)o->col_int64(st, 4);
  store_copy(w->created, sizeof w->created, o->col_text(st, 5));
  store_copy(w->updated, sizeof w->updated, o->col_text(st, 6));
  w->persons = o->col_int64(st, 7);
  w->ack_required = (int)o->col_int64(st, 8);
  store_copy(w->purpose, sizeof w->purpose, o->col_text(st, 9));
  store_copy(w->legal_ref, sizeof w->legal_ref, o->col_text(st, 10));
  store_copy(w->owner, sizeof w->owner, o->col_text(st, 11));
  store_copy(w->expires, sizeof w->expires, o->col_text(st, 12));
  w->expired = argus_store_legal_ns(w->expires) <= argus_store_clock_ns();
  w->four_eyes = (int)o->col_int64(st, 13);
  store_copy(w->negatives, sizeof w->negatives, o->col_text(st, 14));
}

argus_err argus_store_watchlist_list(argus_store *s,
                                     argus_store_watchlist **out, size_t *n,
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
  if ((e = store_prep(s, &st, err, WL_COLUMNS "ORDER BY w.name", "")) !=
      ARGUS_OK)
    return e;
  store_vec v = {.item = sizeof(argus_store_watchlist)};
  int row = 0;
  while ((e = store_step(s, st, &row, err)) == ARGUS_OK && row == STORE_ROW) {
    argus_store_watchlist *w = store_vec_push(&v);
    if (!w) {
      e = store_fail(err, ARGUS_E_NOMEM, "out of memory listing watchlists");
      break;
    }
    read_wl(s, st, w);
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

argus_err argus_store_watchlist_get(argus_store *s, const char *name,
                                    argus_store_watchlist *out,
                                    argus_store_error *err) {
  argus_err e = check_name_arg(s, name, err);
  if (e != ARGUS_OK)
    return e;
  if (!out)
    return store_fail(err, ARGUS_E_INVALID_ARG, "out is NULL");
  store_stmt *st = NULL;
  if ((e = store_prep(s, &st, err, WL_COLUMNS "WHERE w.name = ?", "s", name)) !=
      ARGUS_OK)
    return e;
  int row = 0;
  e = store_step(s, st, &row, err);
  if (e == ARGUS_OK && row == STORE_ROW)
    read_wl(s, st, out);
  else if (e == ARGUS_OK)
    e = store_fail(err, ARGUS_E_NOT_FOUND, "no watchlist '%s'", name);
  s->ops->finalize(st);
  return e;
}

argus_err argus_store_watchlist_delete(argus_store *s, const char *name,
                                       argus_store_error *err) {
  argus_err e = check_name_arg(s, name, err);
  if (e != ARGUS_OK)
    return e;
  /* Durable: the crop files go after this commit. */
  if ((e = store_begin(s, STORE_TX_WRITE_DURABLE, err)) != ARGUS_OK)
    return e;
  argus_store_id id = 0;
  int64_t persons = 0, photos = 0, templates = 0;
  int found = 0;
  e = store_watchlist_id(s, name, &id, err);
  if (e == ARGUS_OK)
    e = store_query_int(s, &found, &persons, err,
                        "SELECT count(*) FROM persons WHERE watchlist_id = ?",
                        "i", (int64_t)id);
  if (e == ARGUS_OK)
    e = store_query_int(s, &found, &photos, err,
                        "SELECT count(*) FROM photos p JOIN persons q ON "
                        "q.id = p.person_id WHERE q.watchlist_id = ?",
                        "i", (int64_t)id);
  if (e == ARGUS_OK)
    e = store_query_int(s, &found, &templates, err,
                        "SELECT count(*) FROM templates t JOIN persons q ON "
                        "q.id = t.person_id WHERE q.watchlist_id = ?",
                        "i", (int64_t)id);
  if (e == ARGUS_OK)
    e = store_purge_queue(s, err,
                          "SELECT p.crop_sha256 AS h FROM photos p JOIN "
                          "persons q ON q.id = p.person_id WHERE "
                          "q.watchlist_id = ?",
                          "i", (int64_t)id);
  if (e == ARGUS_OK)
    e = store_run(s, err, "DELETE FROM watchlists WHERE id = ?", "i",
                  (int64_t)id);
  if (e == ARGUS_OK) {
    store_json j;
    store_json_begin(&j);
    store_json_str(&j, "name", name);
    store_json_int(&j, "persons", persons);
    store_json_int(&j, "photos", photos);
    store_json_int(&j, "templates", templates);
    e = store_audit(s, "watchlist.delete", "watchlist", id, store_json_end(&j),
                    NULL, err);
  }
  if (e != ARGUS_OK) {
    store_rollback(s);
    return e;
  }
  if ((e = store_commit(s, err)) != ARGUS_OK)
    return e;
  store_purge_after_commit(s, "watchlist delete");
  return ARGUS_OK;
}

/* UPDATE of one watchlist column by name, audited. */
static argus_err update_wl(argus_store *s, const char *name, const char *action,
                           const char *sql, double dv, int64_t iv,
                           int use_double, int null_double,
                           argus_store_error *err) {
  argus_err e = store_begin(s, STORE_TX_WRITE, err);
  if (e != ARGUS_OK)
    return e;
  if ((e = writable_by_name(s, name, err)) != ARGUS_OK) {
    store_rollback(s);
    return e;
  }
  char t[ARGUS_STORE_TIME_MAX];
  argus_store_now(t);
  store_stmt *st = NULL;
  if (use_double)
    e = store_prep(s, &st, err, sql, "dss", dv, t, name);
  else
    e = store_prep(s, &st, err, sql, "iss", iv, t, name);
  if (e == ARGUS_OK && null_double)
    e = s->ops->bind_null(st, 1);
  int row = 0;
  argus_store_id id = 0;
  if (e == ARGUS_OK)
    e = store_step(s, st, &row, err);
  if (e == ARGUS_OK && row == STORE_ROW)
    id = s->ops->col_int64(st, 0);
  else if (e == ARGUS_OK)
    e = store_fail(err, ARGUS_E_NOT_FOUND, "no watchlist '%s'", name);
  s->ops->finalize(st);
  if (e == ARGUS_OK) {
    store_json j;
    store_json_begin(&j);
    store_json_str(&j, "name", name);
    if (use_double)
      store_json_num(&j, "threshold", dv);
    else
      store_json_int(&j, "active", iv);
    e = store_audit(s, action, "watchlist", id, store_json_end(&j), NULL, err);
  }
  if (e != ARGUS_OK) {
    store_rollback(s);
    return e;
  }
  return store_commit(s, err);
}

argus_err argus_store_watchlist_set_threshold(argus_store *s, const char *name,
                                              double threshold,
                                              argus_store_error *err) {
  argus_err e = check_name_arg(s, name, err);
  if (e == ARGUS_OK)
    e = check_threshold(threshold, err);
  if (e != ARGUS_OK)
    return e;
  return update_wl(s, name, "watchlist.set_threshold",
                   "UPDATE watchlists SET threshold = ?, updated = ? "
                   "WHERE name = ? RETURNING id",
                   threshold, 0, 1, isnan(threshold), err);
}

argus_err argus_store_watchlist_set_active(argus_store *s, const char *name,
                                           int active, argus_store_error *err) {
  argus_err e = check_name_arg(s, name, err);
  if (e != ARGUS_OK)
    return e;
  return update_wl(s, name, "watchlist.set_active",
                   "UPDATE watchlists SET active = ?, updated = ? "
                   "WHERE name = ? RETURNING id",
                   0, active ? 1 : 0, 0, 0, err);
}

argus_err argus_store_watchlist_set_ack(argus_store *s, const char *name,
                                        int ack_required,
                                        argus_store_error *err) {
  argus_err e = check_name_arg(s, name, err);
  if (e == ARGUS_OK && ack_required != 0 && ack_required != 1)
    e = store_fail(err, ARGUS_E_INVALID_ARG,
                   "acknowledgement flag %d is not 0 or 1", ack_required);
  if (e != ARGUS_OK)
    return e;
  if ((e = store_begin(s, STORE_TX_WRITE, err)) != ARGUS_OK)
    return e;
  char t[ARGUS_STORE_TIME_MAX];
  argus_store_now(t);
  int found = 0;
  int64_t id = 0;
  e = writable_by_name(s, name, err);
  if (e == ARGUS_OK)
    e = store_query_int(s, &found, &id, err,
                        "UPDATE watchlists SET ack_required = ?, updated = ? "
                        "WHERE name = ? RETURNING id",
                        "iss", (int64_t)ack_required, t, name);
  if (e == ARGUS_OK && !found)
    e = store_fail(err, ARGUS_E_NOT_FOUND, "no watchlist '%s'", name);
  if (e == ARGUS_OK) {
    store_json j;
    store_json_begin(&j);
    store_json_str(&j, "name", name);
    store_json_int(&j, "ack_required", ack_required);
    e = store_audit(s, "watchlist.set_ack", "watchlist", id, store_json_end(&j),
                    NULL, err);
  }
  if (e != ARGUS_OK) {
    store_rollback(s);
    return e;
  }
  return store_commit(s, err);
}

argus_err argus_store_watchlist_set_colour(argus_store *s, const char *name,
                                           const char *colour,
                                           argus_store_error *err) {
  char col[ARGUS_STORE_COLOUR_MAX];
  argus_err e = check_name_arg(s, name, err);
  if (e == ARGUS_OK && !colour)
    e = store_fail(err, ARGUS_E_INVALID_ARG, "colour is NULL");
  if (e == ARGUS_OK)
    e = check_colour(colour, col, err);
  if (e != ARGUS_OK)
    return e;
  if ((e = store_begin(s, STORE_TX_WRITE, err)) != ARGUS_OK)
    return e;
  char t[ARGUS_STORE_TIME_MAX];
  argus_store_now(t);
  int found = 0;
  int64_t id = 0;
  e = writable_by_name(s, name, err);
  if (e == ARGUS_OK)
    e = store_query_int(s, &found, &id, err,
                        "UPDATE watchlists SET colour = ?, updated = ? "
                        "WHERE name = ? RETURNING id",
                        "sss", col, t, name);
  if (e == ARGUS_OK && !found)
    e = store_fail(err, ARGUS_E_NOT_FOUND, "no watchlist '%s'", name);
  if (e == ARGUS_OK) {
    store_json j;
    store_json_begin(&j);
    store_json_str(&j, "name", name);
    store_json_str(&j, "colour", col);
    e = store_audit(s, "watchlist.set_colour", "watchlist", id,
                    store_json_end(&j), NULL, err);
  }
  if (e != ARGUS_OK) {
    store_rollback(s);
    return e;
  }
  return store_commit(s, err);
}

argus_err argus_store_watchlist_set_verdicts(argus_store *s, const char *name,
                                             int four_eyes,
                                             const char *negatives,
                                             argus_store_error *err) {
  argus_err e = check_name_arg(s, name, err);
  if (e == ARGUS_OK && four_eyes != -1 && four_eyes != 0 && four_eyes != 1)
    e = store_fail(err, ARGUS_E_INVALID_ARG, "four-eyes flag %d is not 0 or 1",
                   four_eyes);
  if (e == ARGUS_OK && negatives && strcmp(negatives, "off") != 0 &&
      strcmp(negatives, "suppress") != 0 && strcmp(negatives, "mark") != 0)
    e = store_fail(err, ARGUS_E_INVALID_ARG,
                   "negatives '%.32s' is not off, suppress or mark", negatives);
  if (e != ARGUS_OK)
    return e;
  if ((e = store_begin(s, STORE_TX_WRITE, err)) != ARGUS_OK)
    return e;
  char t[ARGUS_STORE_TIME_MAX];
  argus_store_now(t);
  int found = 0;
  int64_t id = 0;
  e = writable_by_name(s, name, err);
  if (e == ARGUS_OK && four_eyes >= 0)
    e = store_query_int(s, &found, &id, err,
                        "UPDATE watchlists SET four_eyes = ?, updated = ? "
                        "WHERE name = ? RETURNING id",
                        "iss", (int64_t)four_eyes, t, name);
  if (e == ARGUS_OK && negatives)
    e = store_query_int(s, &found, &id, err,
                        "UPDATE watchlists SET negatives = ?, updated = ? "
                        "WHERE name = ? RETURNING id",
                        "sss", negatives, t, name);
  if (e == ARGUS_OK && !found)
    e = store_watchlist_id(s, name, &id, err);
  if (e == ARGUS_OK) {
    store_json j;
    store_json_begin(&j);
    store_json_str(&j, "name", name);
    if (four_eyes >= 0)
      store_json_int(&j, "four_eyes", four_eyes);
    if (negatives)
      store_json_str(&j, "negatives", negatives);
    e = store_audit(s, "watchlist.set_verdicts", "watchlist", id,
                    store_json_end(&j), NULL, err);
  }
  if (e != ARGUS_OK) {
    store_rollback(s);
    return e;
  }
  return store_commit(s, err);
}
