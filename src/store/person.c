/* Persons with their photos and templates: atomic enrolment, purge,
 * listing, template iteration for the index, and the reindex helpers. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "legal.h"

/* ---- input checks ------------------------------------------------------- */

static argus_err check_vector(const float *v, int dim, const char *what,
                              argus_store_error *err) {
  for (int i = 0; i < dim; i++)
    if (!isfinite(v[i]))
      return store_fail(err, ARGUS_E_INVALID_ARG,
                        "%s: element %d of the template is not finite", what,
                        i);
  return ARGUS_OK;
}

static argus_err check_photos(const argus_store_model *model,
                              const argus_store_photo_in *photos, int n,
                              int *ntemplates, argus_store_error *err) {
  *ntemplates = 0;
  if (n < 0 || (n > 0 && !photos))
    return store_fail(err, ARGUS_E_INVALID_ARG, "bad photo list (%d photos)",
                      n);
  for (int i = 0; i < n; i++) {
    const argus_store_photo_in *p = &photos[i];
    char what[32];
    snprintf(what, sizeof what, "photo %d", i + 1);
    if (!p->crop || p->crop_size == 0)
      return store_fail(err, ARGUS_E_INVALID_ARG, "%s: the crop is empty",
                        what);
    if (p->crop_size > ARGUS_STORE_CROP_MAX)
      return store_fail(err, ARGUS_E_LIMIT,
                        "%s: crop of %zu bytes is above %zu", what,
                        p->crop_size, ARGUS_STORE_CROP_MAX);
    if (!(p->quality >= 0.0f && p->quality <= 1.0f))
      return store_fail(err, ARGUS_E_INVALID_ARG,
                        "%s: quality %g is outside [0, 1]", what,
                        (double)p->quality);
    argus_err e =
        store_check_text(p->source, "photo source", ARGUS_STORE_TEXT_MAX, err);
    if (e != ARGUS_OK)
      return store_wrap(err, e, "%s", what);
    if (p->vector) {
      if ((e = store_check_model(model, 1, err)) != ARGUS_OK)
        return store_wrap(err, e, "%s", what);
      if ((e = check_vector(p->vector, model->dim, what, err)) != ARGUS_OK)
        return e;
      (*ntemplates)++;
    }
  }
  return ARGUS_OK;
}

static argus_err insert_template(argus_store *s, argus_store_id person_id,
                                 argus_store_id photo_id,
                                 const argus_store_model *m, const float *v,
                                 const char *now, argus_store_error *err) {
  if (store_debug_fault())
    return store_fail(err, ARGUS_E_IO, "injected fault inserting a template");
  /* Little-endian float32, sealed when the store has a key (seal.c). */
  void *blob = NULL;
  size_t size = 0;
  argus_err e = store_vec_pack(s, v, m->dim, &blob, &size, err);
  if (e == ARGUS_OK)
    e = store_run(s, err,
                  "INSERT INTO templates (person_id, photo_id, model_name, "
                  "model_version, dim, vector, created) "
                  "VALUES (?, ?, ?, ?, ?, ?, ?)",
                  "iissibs", (int64_t)person_id, (int64_t)photo_id, m->name,
                  m->version, (int64_t)m->dim, (const void *)blob, size, now);
  free(blob);
  return e;
}

/* Inside a write transaction: stores the crops, photo rows and templates. */
static argus_err add_photos_tx(argus_store *s, argus_store_id person_id,
                               const argus_store_model *model,
                               const argus_store_photo_in *photos, int n,
                               argus_store_id *ids, argus_store_error *err) {
  char now[ARGUS_STORE_TIME_MAX];
  argus_store_now(now);
  argus_err e = ARGUS_OK;
  for (int i = 0; i < n && e == ARGUS_OK; i++) {
    const argus_store_photo_in *p = &photos[i];
    char hash[ARGUS_STORE_SHA256_HEX];
    e = store_crop_put(s, p->crop, p->crop_size, hash, err);
    if (e != ARGUS_OK) {
      store_wrap(err, e, "photo %d", i + 1);
      break;
    }
    if (store_debug_fault()) {
      e = store_fail(err, ARGUS_E_IO, "injected fault inserting a photo");
      break;
    }
    store_stmt *st = NULL;
    e = store_prep(s, &st, err,
                   "INSERT INTO photos (person_id, crop_sha256, crop_size, "
                   "quality, source, created) VALUES (?, ?, ?, ?, ?, ?) "
                   "RETURNING id",
                   "isidss", (int64_t)person_id, hash, (int64_t)p->crop_size,
                   (double)p->quality, p->source ? p->source : "", now);
    int row = 0;
    argus_store_id photo_id = 0;
    if (e == ARGUS_OK)
      e = store_step(s, st, &row, err);
    if (e == ARGUS_OK)
      photo_id = s->ops->col_int64(st, 0);
    s->ops->finalize(st);
    if (e == ARGUS_OK && ids)
      ids[i] = photo_id;
    if (e == ARGUS_OK && p->vector)
      e = insert_template(s, person_id, photo_id, model, p->vector, now, err);
  }
  return e;
}

static void model_id(const argus_store_model *m, char *buf, size_t size) {
  if (m && m->name && m->version)
    snprintf(buf, size, "%s@%s", m->name, m->version);
  else
    snprintf(buf, size, "%s", "");
}

argus_err argus_store_person_add(argus_store *s, const char *watchlist,
                                 const argus_store_person_in *person,
                                 const argus_store_model *model,
                                 const argus_store_photo_in *photos, int n,
                                 argus_store_id *out_id,
                                 argus_store_error *err) {
  int ntpl = 0;
  argus_err e = store_check_handle(s, err);
  if (e == ARGUS_OK)
    e = store_check_name(watchlist, "watchlist name", ARGUS_STORE_NAME_MAX,
                         err);
  if (e == ARGUS_OK && !person)
    e = store_fail(err, ARGUS_E_INVALID_ARG, "person is NULL");
  if (e == ARGUS_OK)
    e = store_check_name(person->name, "person name", ARGUS_STORE_NAME_MAX,
                         err);
  if (e == ARGUS_OK && person->external_id)
    e = store_check_name(person->external_id, "external id",
                         ARGUS_STORE_NAME_MAX, err);
  if (e == ARGUS_OK)
    e = store_check_text(person->notes, "notes", ARGUS_STORE_TEXT_MAX, err);
  if (e == ARGUS_OK)
    e = check_photos(model, photos, n, &ntpl, err);
  if (e != ARGUS_OK)
    return e;

  if ((e = store_begin(s, STORE_TX_WRITE, err)) != ARGUS_OK)
    return e;
  argus_store_id wl = 0, id = 0;
  e = store_watchlist_id(s, watchlist, &wl, err);
  if (e == ARGUS_OK)
    e = store_legal_writable(s, wl, err);
  if (e == ARGUS_OK && person->external_id) {
    int found = 0;
    int64_t other = 0;
    e = store_query_int(s, &found, &other, err,
                        "SELECT id FROM persons WHERE watchlist_id = ? AND "
                        "external_id = ?",
                        "is", (int64_t)wl, person->external_id);
    if (e == ARGUS_OK && found)
      e = store_fail(err, ARGUS_E_INVALID_ARG,
                     "external id '%s' is already in watchlist '%s' (person "
                     "%lld)",
                     person->external_id, watchlist, (long long)other);
  }
  if (e == ARGUS_OK && store_debug_fault())
    e = store_fail(err, ARGUS_E_IO, "injected fault inserting a person");
  if (e == ARGUS_OK) {
    char now[ARGUS_STORE_TIME_MAX];
    argus_store_now(now);
    store_stmt *st = NULL;
    e = store_prep(s, &st, err,
                   "INSERT INTO persons (watchlist_id, name, external_id, "
                   "notes, created, updated) VALUES (?, ?, ?, ?, ?, ?) "
                   "RETURNING id",
                   "isssss", (int64_t)wl, person->name, person->external_id,
                   person->notes ? person->notes : "", now, now);
    int row = 0;
    if (e == ARGUS_OK)
      e = store_step(s, st, &row, err);
    if (e == ARGUS_OK)
      id = s->ops->col_int64(st, 0);
    s->ops->finalize(st);
  }
  if (e == ARGUS_OK)
    e = add_photos_tx(s, id, model, photos, n, NULL, err);
  if (e == ARGUS_OK) {
    char mid[2 * ARGUS_STORE_NAME_MAX];
    model_id(ntpl ? model : NULL, mid, sizeof mid);
    store_json j;
    store_json_begin(&j);
    store_json_str(&j, "watchlist", watchlist);
    store_json_str(&j, "name", person->name);
    store_json_int(&j, "photos", n);
    store_json_int(&j, "templates", ntpl);
    if (ntpl)
      store_json_str(&j, "model", mid);
    e = store_audit(s, "person.add", "person", id, store_json_end(&j), NULL,
                    err);
  }
  if (e != ARGUS_OK) {
    store_rollback(s);
    return store_wrap(err, e, "cannot add '%s' to '%s'", person->name,
                      watchlist);
  }
  if ((e = store_commit(s, err)) != ARGUS_OK)
    return e;
  if (out_id)
    *out_id = id;
  return ARGUS_OK;
}

argus_err argus_store_person_add_photos(argus_store *s,
                                        argus_store_id person_id,
                                        const argus_store_model *model,
                                        const argus_store_photo_in *photos,
                                        int n, argus_store_id *out_photo_ids,
                                        argus_store_error *err) {
  int ntpl = 0;
  argus_err e = store_check_handle(s, err);
  if (e == ARGUS_OK)
    e = check_photos(model, photos, n, &ntpl, err);
  if (e != ARGUS_OK)
    return e;
  if ((e = store_begin(s, STORE_TX_WRITE, err)) != ARGUS_OK)
    return e;
  int found = 0;
  int64_t wl = 0;
  e = store_query_int(s, &found, &wl, err,
                      "SELECT watchlist_id FROM persons WHERE id = ?", "i",
                      (int64_t)person_id);
  if (e == ARGUS_OK && !found)
    e = store_fail(err, ARGUS_E_NOT_FOUND, "no person with id %lld",
                   (long long)person_id);
  if (e == ARGUS_OK)
    e = store_legal_writable(s, wl, err);
  if (e == ARGUS_OK)
    e = add_photos_tx(s, person_id, model, photos, n, out_photo_ids, err);
  if (e == ARGUS_OK) {
    char now[ARGUS_STORE_TIME_MAX];
    argus_store_now(now);
    e = store_run(s, err, "UPDATE persons SET updated = ? WHERE id = ?", "si",
                  now, (int64_t)person_id);
  }
  if (e == ARGUS_OK) {
    char mid[2 * ARGUS_STORE_NAME_MAX];
    model_id(ntpl ? model : NULL, mid, sizeof mid);
    store_json j;
    store_json_begin(&j);
    store_json_int(&j, "photos", n);
    store_json_int(&j, "templates", ntpl);
    if (ntpl)
      store_json_str(&j, "model", mid);
    e = store_audit(s, "person.add_photos", "person", person_id,
                    store_json_end(&j), NULL, err);
  }
  if (e != ARGUS_OK) {
    store_rollback(s);
    return e;
  }
  return store_commit(s, err);
}

argus_err argus_store_person_remove(argus_store *s, argus_store_id person_id,
                                    argus_store_error *err) {
  argus_err e = store_check_handle(s, err);
  if (e != ARGUS_OK)
    return e;
  argus_store_person p;
  if ((e = argus_store_person_get(s, person_id, &p, err)) != ARGUS_OK)
    return e;
  /* Durable: the crop files go after this commit. */
  if ((e = store_begin(s, STORE_TX_WRITE_DURABLE, err)) != ARGUS_OK)
    return e;
  int found = 0;
  int64_t dummy = 0;
  e = store_query_int(s, &found, &dummy, err,
                      "SELECT id FROM persons WHERE id = ?", "i",
                      (int64_t)person_id);
  if (e == ARGUS_OK && !found) /* removed by someone else meanwhile */
    e = store_fail(err, ARGUS_E_NOT_FOUND, "no person with id %lld",
                   (long long)person_id);
  if (e == ARGUS_OK)
    e = store_purge_queue(s, err,
                          "SELECT crop_sha256 AS h FROM photos WHERE "
                          "person_id = ?",
                          "i", (int64_t)person_id);
  if (e == ARGUS_OK)
    e = store_run(s, err, "DELETE FROM persons WHERE id = ?", "i",
                  (int64_t)person_id);
  if (e == ARGUS_OK) {
    store_json j;
    store_json_begin(&j);
    store_json_str(&j, "watchlist", p.watchlist);
    store_json_str(&j, "name", p.name);
    store_json_int(&j, "photos", p.photos);
    store_json_int(&j, "templates", p.templates);
    e = store_audit(s, "person.remove", "person", person_id, store_json_end(&j),
                    NULL, err);
  }
  if (e != ARGUS_OK) {
    store_rollback(s);
    return e;
  }
  if ((e = store_commit(s, err)) != ARGUS_OK)
    return e;
  store_purge_after_commit(s, "person remove");
  return ARGUS_OK;
}

argus_err argus_store_person_update(argus_store *s, argus_store_id id,
                                    const char *name, const char *notes,
                                    argus_store_error *err) {
  argus_err e = store_check_handle(s, err);
  if (e == ARGUS_OK && name)
    e = store_check_name(name, "person name", ARGUS_STORE_NAME_MAX, err);
  if (e == ARGUS_OK)
    e = store_check_text(notes, "notes", ARGUS_STORE_TEXT_MAX, err);
  if (e != ARGUS_OK)
    return e;
  if ((e = store_begin(s, STORE_TX_WRITE, err)) != ARGUS_OK)
    return e;
  char t[ARGUS_STORE_TIME_MAX];
  argus_store_now(t);
  int found = 0;
  int64_t wl = 0;
  e = store_query_int(s, &found, &wl, err,
                      "SELECT watchlist_id FROM persons WHERE id = ?", "i",
                      (int64_t)id);
  if (e == ARGUS_OK && found)
    e = store_legal_writable(s, wl, err);
  /* coalesce keeps a column the caller leaves NULL. */
  if (e == ARGUS_OK)
    e = store_query_int(s, &found, &wl, err,
                        "UPDATE persons SET name = coalesce(?, name), "
                        "notes = coalesce(?, notes), updated = ? WHERE id = ? "
                        "RETURNING watchlist_id",
                        "sssi", name, notes, t, (int64_t)id);
  if (e == ARGUS_OK && !found)
    e = store_fail(err, ARGUS_E_NOT_FOUND, "no person with id %lld",
                   (long long)id);
  if (e == ARGUS_OK) {
    store_json j;
    store_json_begin(&j);
    store_json_int(&j, "watchlist_id", wl);
    if (name)
      store_json_str(&j, "name", name);
    if (notes)
      store_json_int(&j, "notes", 1); /* changed; the text stays out */
    e = store_audit(s, "person.update", "person", id, store_json_end(&j), NULL,
                    err);
  }
  if (e != ARGUS_OK) {
    store_rollback(s);
    return e;
  }
  return store_commit(s, err);
}

argus_err argus_store_photo_remove(argus_store *s, argus_store_id photo_id,
                                   argus_store_id *person_id,
                                   argus_store_error *err) {
  if (person_id)
    *person_id = 0;
  argus_err e = store_check_handle(s, err);
  if (e != ARGUS_OK)
    return e;
  /* Durable: the crop file goes after this commit. */
  if ((e = store_begin(s, STORE_TX_WRITE_DURABLE, err)) != ARGUS_OK)
    return e;
  int found = 0;
  int64_t person = 0, templates = 0;
  e = store_query_int(s, &found, &person, err,
                      "SELECT person_id FROM photos WHERE id = ?", "i",
                      (int64_t)photo_id);
  if (e == ARGUS_OK && !found)
    e = store_fail(err, ARGUS_E_NOT_FOUND, "no photo with id %lld",
                   (long long)photo_id);
  if (e == ARGUS_OK)
    e = store_query_int(s, &found, &templates, err,
                        "SELECT count(*) FROM templates WHERE photo_id = ?",
                        "i", (int64_t)photo_id);
  /* Queued, not removed: store_purge_run removes the file only when no
   * other photo or alert refers to it after the commit. */
  if (e == ARGUS_OK)
    e = store_purge_queue(s, err,
                          "SELECT crop_sha256 AS h FROM photos WHERE id = ?",
                          "i", (int64_t)photo_id);
  if (e == ARGUS_OK)
    e = store_run(s, err, "DELETE FROM photos WHERE id = ?", "i",
                  (int64_t)photo_id);
  if (e == ARGUS_OK) {
    char t[ARGUS_STORE_TIME_MAX];
    argus_store_now(t);
    e = store_run(s, err, "UPDATE persons SET updated = ? WHERE id = ?", "si",
                  t, person);
  }
  if (e == ARGUS_OK) {
    /* Audited on the person, as person.add_photos is, so that the change
     * feed re-reads that person's templates. */
    store_json j;
    store_json_begin(&j);
    store_json_int(&j, "photo", photo_id);
    store_json_int(&j, "templates", templates);
    e = store_audit(s, "photo.remove", "person", person, store_json_end(&j),
                    NULL, err);
  }
  if (e != ARGUS_OK) {
    store_rollback(s);
    return e;
  }
  if ((e = store_commit(s, err)) != ARGUS_OK)
    return e;
  store_purge_after_commit(s, "photo remove");
  if (person_id)
    *person_id = person;
  return ARGUS_OK;
}

#define PERSON_COLUMNS                                                         \
  "SELECT p.id, p.watchlist_id, w.name, p.name, p.external_id, p.notes, "      \
  "p.created, p.updated, "                                                     \
  "(SELECT count(*) FROM photos f WHERE f.person_id = p.id), "                 \
  "(SELECT count(*) FROM templates t WHERE t.person_id = p.id), "              \
  "p.reason, p.review_by "                                                     \
  "FROM persons p JOIN watchlists w ON w.id = p.watchlist_id "

static void read_person(argus_store *s, store_stmt *st, argus_store_person *p) {
  const store_backend_ops *o = s->ops;
  p->id = o->col_int64(st, 0);
  p->watchlist_id = o->col_int64(st, 1);
  store_copy(p->watchlist, sizeof p->watchlist, o->col_text(st, 2));
  store_copy(p->name, sizeof p->name, o->col_text(st, 3));
  store_copy(p->external_id, sizeof p->external_id, o->col_text(st, 4));
  store_copy(p->notes, sizeof p->notes, o->col_text(st, 5));
  store_copy(p->created, sizeof p->created, o->col_text(st, 6));
  store_copy(p->updated, sizeof p->updated, o->col_text(st, 7));
  p->photos = o->col_int64(st, 8);
  p->templates = o->col_int64(st, 9);
  store_copy(p->reason, sizeof p->reason, o->col_text(st, 10));
  store_copy(p->review_by, sizeof p->review_by, o->col_text(st, 11));
  p->review = argus_store_review_at(p->review_by, argus_store_clock_ns());
}

argus_err argus_store_person_get(argus_store *s, argus_store_id id,
                                 argus_store_person *out,
                                 argus_store_error *err) {
  argus_err e = store_check_handle(s, err);
  if (e != ARGUS_OK)
    return e;
  if (!out)
    return store_fail(err, ARGUS_E_INVALID_ARG, "out is NULL");
  store_stmt *st = NULL;
  if ((e = store_prep(s, &st, err, PERSON_COLUMNS "WHERE p.id = ?", "i",
                      (int64_t)id)) != ARGUS_OK)
    return e;
  int row = 0;
  e = store_step(s, st, &row, err);
  if (e == ARGUS_OK && row == STORE_ROW)
    read_person(s, st, out);
  else if (e == ARGUS_OK)
    e = store_fail(err, ARGUS_E_NOT_FOUND, "no person with id %lld",
                   (long long)id);
  s->ops->finalize(st);
  return e;
}

argus_err argus_store_person_find_external(argus_store *s,
                                           const char *watchlist,
                                           const char *external_id,
                                           argus_store_person *out, int *found,
                                           argus_store_error *err) {
  if (found)
    *found = 0;
  argus_err e = store_check_handle(s, err);
  if (e == ARGUS_OK && !found)
    e = store_fail(err, ARGUS_E_INVALID_ARG, "found is NULL");
  if (e == ARGUS_OK)
    e = store_check_name(watchlist, "watchlist name", ARGUS_STORE_NAME_MAX,
                         err);
  if (e == ARGUS_OK)
    e = store_check_name(external_id, "external id", ARGUS_STORE_NAME_MAX, err);
  if (e != ARGUS_OK)
    return e;
  store_stmt *st = NULL;
  if ((e = store_prep(s, &st, err,
                      PERSON_COLUMNS "WHERE w.name = ? AND p.external_id = ?",
                      "ss", watchlist, external_id)) != ARGUS_OK)
    return e;
  int row = 0;
  e = store_step(s, st, &row, err);
  if (e == ARGUS_OK && row == STORE_ROW) {
    *found = 1;
    if (out)
      read_person(s, st, out);
  }
  s->ops->finalize(st);
  return e;
}

argus_err argus_store_person_list(argus_store *s, const char *watchlist,
                                  const char *name, argus_store_person **out,
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
  if (watchlist &&
      (e = store_check_name(watchlist, "watchlist name", ARGUS_STORE_NAME_MAX,
                            err)) != ARGUS_OK)
    return e;
  if (name && (e = store_check_name(name, "person name", ARGUS_STORE_NAME_MAX,
                                    err)) != ARGUS_OK)
    return e;
  /* One snapshot for the existence check and the rows. */
  if ((e = store_begin(s, STORE_TX_READ, err)) != ARGUS_OK)
    return e;
  argus_store_id wl = 0;
  if (watchlist)
    e = store_watchlist_id(s, watchlist, &wl, err);
  store_stmt *st = NULL;
  if (e == ARGUS_OK) {
    if (watchlist && name)
      e = store_prep(s, &st, err,
                     PERSON_COLUMNS "WHERE p.watchlist_id = ? AND p.name = ?"
                                    " ORDER BY w.name, p.name, p.id",
                     "is", (int64_t)wl, name);
    else if (watchlist)
      e = store_prep(s, &st, err,
                     PERSON_COLUMNS "WHERE p.watchlist_id = ?"
                                    " ORDER BY w.name, p.name, p.id",
                     "i", (int64_t)wl);
    else if (name)
      e = store_prep(s, &st, err,
                     PERSON_COLUMNS "WHERE p.name = ?"
                                    " ORDER BY w.name, p.name, p.id",
                     "s", name);
    else
      e = store_prep(s, &st, err,
                     PERSON_COLUMNS "ORDER BY w.name, p.name, p.id", "");
  }
  store_vec v = {.item = sizeof(argus_store_person)};
  int row = 0;
  while (e == ARGUS_OK && (e = store_step(s, st, &row, err)) == ARGUS_OK &&
         row == STORE_ROW) {
    argus_store_person *p = store_vec_push(&v);
    if (!p) {
      e = store_fail(err, ARGUS_E_NOMEM, "out of memory listing persons");
      break;
    }
    read_person(s, st, p);
  }
  s->ops->finalize(st);
  store_rollback(s); /* read-only */
  if (e != ARGUS_OK) {
    free(v.data);
    return e;
  }
  *out = v.data;
  *n = v.n;
  return ARGUS_OK;
}

argus_err argus_store_person_foreach(argus_store *s, argus_store_person_fn fn,
                                     void *user, argus_store_error *err) {
  argus_err e = store_check_handle(s, err);
  if (e != ARGUS_OK)
    return e;
  if (!fn)
    return store_fail(err, ARGUS_E_INVALID_ARG, "callback is NULL");
  if ((e = store_begin(s, STORE_TX_READ, err)) != ARGUS_OK)
    return e;
  store_stmt *st = NULL;
  e = store_prep(s, &st, err, PERSON_COLUMNS "ORDER BY p.id", "");
  argus_store_person *p = malloc(sizeof *p);
  if (e == ARGUS_OK && !p)
    e = store_fail(err, ARGUS_E_NOMEM, "out of memory");
  int row = 0, stop = 0;
  while (e == ARGUS_OK && !stop &&
         (e = store_step(s, st, &row, err)) == ARGUS_OK && row == STORE_ROW) {
    memset(p, 0, sizeof *p);
    read_person(s, st, p);
    s->in_callback = 1;
    stop = fn(user, p);
    s->in_callback = 0;
  }
  free(p);
  s->ops->finalize(st);
  store_rollback(s); /* read-only */
  return e;
}

/* ---- photos ------------------------------------------------------------- */

/* A photo row of the columns id, person_id, crop_sha256, crop_size,
 * quality, source, created. */
static void read_photo(argus_store *s, store_stmt *st, argus_store_photo *p) {
  const store_backend_ops *o = s->ops;
  p->id = o->col_int64(st, 0);
  p->person_id = o->col_int64(st, 1);
  store_copy(p->crop_sha256, sizeof p->crop_sha256, o->col_text(st, 2));
  p->crop_size = o->col_int64(st, 3);
  p->quality = (float)o->col_double(st, 4);
  store_copy(p->source, sizeof p->source, o->col_text(st, 5));
  store_copy(p->created, sizeof p->created, o->col_text(st, 6));
}

argus_err argus_store_photo_find_crop(argus_store *s, const char *watchlist,
                                      const char *crop_sha256,
                                      argus_store_photo *out, int *found,
                                      argus_store_error *err) {
  if (found)
    *found = 0;
  argus_err e = store_check_handle(s, err);
  if (e == ARGUS_OK && !found)
    e = store_fail(err, ARGUS_E_INVALID_ARG, "found is NULL");
  if (e == ARGUS_OK && watchlist)
    e = store_check_name(watchlist, "watchlist name", ARGUS_STORE_NAME_MAX,
                         err);
  if (e == ARGUS_OK && (!crop_sha256 || !store_is_sha256_hex(crop_sha256)))
    e = store_fail(err, ARGUS_E_INVALID_ARG,
                   "'%.80s' is not a SHA-256 in lower-case hex",
                   crop_sha256 ? crop_sha256 : "(null)");
  if (e != ARGUS_OK)
    return e;
  store_stmt *st = NULL;
  if (watchlist)
    e = store_prep(s, &st, err,
                   "SELECT ph.id, ph.person_id, ph.crop_sha256, ph.crop_size, "
                   "ph.quality, ph.source, ph.created FROM photos ph "
                   "JOIN persons pe ON pe.id = ph.person_id "
                   "JOIN watchlists w ON w.id = pe.watchlist_id "
                   "WHERE ph.crop_sha256 = ? AND w.name = ? "
                   "ORDER BY ph.id LIMIT 1",
                   "ss", crop_sha256, watchlist);
  else
    e = store_prep(s, &st, err,
                   "SELECT id, person_id, crop_sha256, crop_size, quality, "
                   "source, created FROM photos WHERE crop_sha256 = ? "
                   "ORDER BY id LIMIT 1",
                   "s", crop_sha256);
  if (e != ARGUS_OK)
    return e;
  int row = 0;
  e = store_step(s, st, &row, err);
  if (e == ARGUS_OK && row == STORE_ROW) {
    *found = 1;
    if (out)
      read_photo(s, st, out);
  }
  s->ops->finalize(st);
  return e;
}

argus_err argus_store_photo_list(argus_store *s, argus_store_id person_id,
                                 argus_store_id after_id, size_t limit,
                                 argus_store_photo **out, size_t *n,
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
  int64_t lim =
      limit == 0 || limit > (size_t)INT64_MAX ? INT64_MAX : (int64_t)limit;
  store_stmt *st = NULL;
  if (person_id > 0)
    e = store_prep(s, &st, err,
                   "SELECT id, person_id, crop_sha256, crop_size, quality, "
                   "source, created FROM photos WHERE person_id = ? AND "
                   "id > ? ORDER BY id LIMIT ?",
                   "iii", (int64_t)person_id, (int64_t)after_id, lim);
  else
    e = store_prep(s, &st, err,
                   "SELECT id, person_id, crop_sha256, crop_size, quality, "
                   "source, created FROM photos WHERE id > ? ORDER BY id "
                   "LIMIT ?",
                   "ii", (int64_t)after_id, lim);
  if (e != ARGUS_OK)
    return e;
  store_vec v = {.item = sizeof(argus_store_photo)};
  int row = 0;
  while ((e = store_step(s, st, &row, err)) == ARGUS_OK && row == STORE_ROW) {
    argus_store_photo *p = store_vec_push(&v);
    if (!p) {
      e = store_fail(err, ARGUS_E_NOMEM, "out of memory listing photos");
      break;
    }
    read_photo(s, st, p);
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

/* ---- templates ---------------------------------------------------------- */

argus_err argus_store_template_foreach(argus_store *s,
                                       const argus_store_model *model,
                                       argus_store_id person_id,
                                       argus_store_template_fn fn, void *user,
                                       argus_store_error *err) {
  argus_err e = store_check_handle(s, err);
  if (e == ARGUS_OK)
    e = store_check_model(model, 0, err);
  if (e == ARGUS_OK && !fn)
    e = store_fail(err, ARGUS_E_INVALID_ARG, "callback is NULL");
  if (e != ARGUS_OK)
    return e;
  char mid[2 * ARGUS_STORE_NAME_MAX];
  model_id(model, mid, sizeof mid);
  /* The audit row comes first and commits with the read: no template
   * leaves the store unrecorded. */
  if ((e = store_begin(s, STORE_TX_WRITE, err)) != ARGUS_OK)
    return e;
  argus_store_id audit_id = 0;
  store_json j;
  store_json_begin(&j);
  store_json_str(&j, "model", mid);
  e = store_audit(s, "template.read", person_id > 0 ? "person" : "template",
                  person_id, store_json_end(&j), &audit_id, err);
  if (e != ARGUS_OK) {
    store_rollback(s);
    return e;
  }
  store_stmt *st = NULL;
  if (person_id > 0)
    e = store_prep(s, &st, err,
                   "SELECT t.id, t.person_id, t.photo_id, p.watchlist_id, "
                   "t.dim, t.vector FROM templates t JOIN persons p ON "
                   "p.id = t.person_id WHERE t.model_name = ? AND "
                   "t.model_version = ? AND t.person_id = ? ORDER BY t.id",
                   "ssi", model->name, model->version, (int64_t)person_id);
  else
    e = store_prep(s, &st, err,
                   "SELECT t.id, t.person_id, t.photo_id, p.watchlist_id, "
                   "t.dim, t.vector FROM templates t JOIN persons p ON "
                   "p.id = t.person_id WHERE t.model_name = ? AND "
                   "t.model_version = ? ORDER BY t.id",
                   "ss", model->name, model->version);
  float *vec = NULL;
  int cap = 0;
  int64_t count = 0;
  int row = 0, stop = 0;
  while (e == ARGUS_OK && !stop &&
         (e = store_step(s, st, &row, err)) == ARGUS_OK && row == STORE_ROW) {
    const store_backend_ops *o = s->ops;
    argus_store_template t;
    memset(&t, 0, sizeof t);
    t.id = o->col_int64(st, 0);
    t.person_id = o->col_int64(st, 1);
    t.photo_id = o->col_int64(st, 2);
    t.watchlist_id = o->col_int64(st, 3);
    int64_t dim = o->col_int64(st, 4);
    size_t bytes = 0;
    const void *blob = o->col_blob(st, 5, &bytes);
    if (dim < 1 || dim > ARGUS_STORE_DIM_MAX || !blob) {
      e = store_fail(err, ARGUS_E_CORRUPT,
                     "template %lld: %zu bytes for dim %lld", (long long)t.id,
                     bytes, (long long)dim);
      break;
    }
    if (dim > cap) {
      free(vec);
      /* Aligned for SIMD loads; the size is a multiple of the alignment. */
      size_t sz = ((size_t)dim * 4 + 31) & ~(size_t)31;
      vec = aligned_alloc(32, sz);
      cap = vec ? (int)dim : 0;
      if (!vec) {
        e = store_fail(err, ARGUS_E_NOMEM, "out of memory");
        break;
      }
    }
    if ((e = store_vec_unpack(s, blob, bytes, (int)dim, vec, err)) !=
        ARGUS_OK) {
      store_wrap(err, e, "template %lld", (long long)t.id);
      break;
    }
    t.model_name = model->name;
    t.model_version = model->version;
    t.dim = (int)dim;
    t.vector = vec;
    s->in_callback = 1;
    stop = fn(user, &t);
    s->in_callback = 0;
    count++;
  }
  s->ops->finalize(st);
  free(vec);
  /* Record the count — also after a failure, since the callback saw some
   * templates already. */
  argus_store_error uerr;
  store_json_begin(&j);
  store_json_str(&j, "model", mid);
  store_json_int(&j, "templates", count);
  if (e != ARGUS_OK)
    store_json_str(&j, "error", argus_errname(e));
  argus_err ue = store_audit_set_detail(s, audit_id, store_json_end(&j), &uerr);
  if (ue != ARGUS_OK) {
    store_rollback(s);
    if (e == ARGUS_OK && err)
      *err = uerr;
    return e != ARGUS_OK ? e : ue;
  }
  argus_err ce = store_commit(s, e == ARGUS_OK ? err : &uerr);
  return e != ARGUS_OK ? e : ce;
}

argus_err argus_store_template_count(argus_store *s,
                                     const argus_store_model *model,
                                     int64_t *count, argus_store_error *err) {
  argus_err e = store_check_handle(s, err);
  if (e == ARGUS_OK && model)
    e = store_check_model(model, 0, err);
  if (e == ARGUS_OK && !count)
    e = store_fail(err, ARGUS_E_INVALID_ARG, "count is NULL");
  if (e != ARGUS_OK)
    return e;
  int found = 0;
  if (model)
    return store_query_int(s, &found, count, err,
                           "SELECT count(*) FROM templates WHERE "
                           "model_name = ? AND model_version = ?",
                           "ss", model->name, model->version);
  return store_query_int(s, &found, count, err,
                         "SELECT count(*) FROM templates", "");
}

argus_err argus_store_template_delete_model(argus_store *s,
                                            const argus_store_model *model,
                                            int64_t *deleted,
                                            argus_store_error *err) {
  if (deleted)
    *deleted = 0;
  argus_err e = store_check_handle(s, err);
  if (e == ARGUS_OK)
    e = store_check_model(model, 0, err);
  if (e != ARGUS_OK)
    return e;
  if ((e = store_begin(s, STORE_TX_WRITE, err)) != ARGUS_OK)
    return e;
  int found = 0;
  int64_t n = 0;
  e = store_query_int(s, &found, &n, err,
                      "SELECT count(*) FROM templates WHERE model_name = ? "
                      "AND model_version = ?",
                      "ss", model->name, model->version);
  if (e == ARGUS_OK)
    e = store_run(s, err,
                  "DELETE FROM templates WHERE model_name = ? AND "
                  "model_version = ?",
                  "ss", model->name, model->version);
  if (e == ARGUS_OK) {
    char mid[2 * ARGUS_STORE_NAME_MAX];
    model_id(model, mid, sizeof mid);
    store_json j;
    store_json_begin(&j);
    store_json_str(&j, "model", mid);
    store_json_int(&j, "templates", n);
    e = store_audit(s, "template.delete", "template", 0, store_json_end(&j),
                    NULL, err);
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

/* ---- reindex ------------------------------------------------------------ */

void argus_store_crops_free(argus_store_crop *c, int n) {
  if (!c)
    return;
  for (int i = 0; i < n; i++)
    free(c[i].data);
  free(c);
}

argus_err argus_store_reindex_fetch(argus_store *s,
                                    const argus_store_model *model,
                                    int only_missing, argus_store_id after_id,
                                    int max, argus_store_crop **out, int *n,
                                    argus_store_error *err) {
  if (out)
    *out = NULL;
  if (n)
    *n = 0;
  argus_err e = store_check_handle(s, err);
  if (e == ARGUS_OK)
    e = store_check_model(model, 0, err);
  if (e == ARGUS_OK && (!out || !n))
    e = store_fail(err, ARGUS_E_INVALID_ARG, "out or n is NULL");
  if (e == ARGUS_OK && (max < 1 || max > 4096))
    e = store_fail(err, ARGUS_E_INVALID_ARG, "batch size %d outside [1, 4096]",
                   max);
  if (e != ARGUS_OK)
    return e;
  argus_store_crop *items = calloc((size_t)max, sizeof *items);
  if (!items)
    return store_fail(err, ARGUS_E_NOMEM, "out of memory");
  /* The write lock keeps the files from being purged while they are read,
   * and lets the audit row commit with the read. */
  if ((e = store_begin(s, STORE_TX_WRITE, err)) != ARGUS_OK) {
    free(items);
    return e;
  }
  store_stmt *st = NULL;
  if (only_missing)
    e = store_prep(s, &st, err,
                   "SELECT f.id, f.person_id, f.crop_sha256, f.quality FROM "
                   "photos f WHERE f.id > ? AND NOT EXISTS (SELECT 1 FROM "
                   "templates t WHERE t.photo_id = f.id AND t.model_name = ? "
                   "AND t.model_version = ?) ORDER BY f.id LIMIT ?",
                   "issi", (int64_t)after_id, model->name, model->version,
                   (int64_t)max);
  else
    e = store_prep(s, &st, err,
                   "SELECT f.id, f.person_id, f.crop_sha256, f.quality FROM "
                   "photos f WHERE f.id > ? ORDER BY f.id LIMIT ?",
                   "ii", (int64_t)after_id, (int64_t)max);
  int k = 0, row = 0;
  while (e == ARGUS_OK && k < max &&
         (e = store_step(s, st, &row, err)) == ARGUS_OK && row == STORE_ROW) {
    argus_store_crop *c = &items[k++];
    c->photo_id = s->ops->col_int64(st, 0);
    c->person_id = s->ops->col_int64(st, 1);
    store_copy(c->sha256, sizeof c->sha256, s->ops->col_text(st, 2));
    c->quality = (float)s->ops->col_double(st, 3);
  }
  s->ops->finalize(st);
  if (e == ARGUS_OK && k > 0) {
    char mid[2 * ARGUS_STORE_NAME_MAX];
    model_id(model, mid, sizeof mid);
    store_json j;
    store_json_begin(&j);
    store_json_str(&j, "purpose", "reindex");
    store_json_str(&j, "model", mid);
    store_json_int(&j, "photos", k);
    store_json_int(&j, "first_photo", items[0].photo_id);
    store_json_int(&j, "last_photo", items[k - 1].photo_id);
    e = store_audit(s, "crop.read", "photo", 0, store_json_end(&j), NULL, err);
  }
  for (int i = 0; e == ARGUS_OK && i < k; i++) {
    argus_store_error ferr;
    argus_store_crop *c = &items[i];
    c->status = store_crop_load(s, c->sha256, &c->data, &c->size, &ferr);
    if (c->status == ARGUS_E_NOMEM)
      e = store_fail(err, ARGUS_E_NOMEM, "out of memory reading crops");
    else if (c->status != ARGUS_OK)
      argus_log(ARGUS_LOG_WARN, STORE_MOD, "photo %lld: %s",
                (long long)c->photo_id, ferr.msg);
  }
  if (e != ARGUS_OK) {
    store_rollback(s);
    argus_store_crops_free(items, k);
    return e;
  }
  if ((e = store_commit(s, err)) != ARGUS_OK) {
    argus_store_crops_free(items, k);
    return e;
  }
  if (k == 0) {
    free(items);
    items = NULL;
  }
  *out = items;
  *n = k;
  return ARGUS_OK;
}

argus_err argus_store_template_replace(argus_store *s,
                                       const argus_store_model *model,
                                       const argus_store_template_in *items,
                                       int n, argus_store_error *err) {
  argus_err e = store_check_handle(s, err);
  if (e == ARGUS_OK)
    e = store_check_model(model, 1, err);
  if (e == ARGUS_OK && (n < 0 || (n > 0 && !items)))
    e = store_fail(err, ARGUS_E_INVALID_ARG, "bad template list (%d items)", n);
  for (int i = 0; e == ARGUS_OK && i < n; i++) {
    char what[48];
    snprintf(what, sizeof what, "photo %lld", (long long)items[i].photo_id);
    if (!items[i].vector)
      e = store_fail(err, ARGUS_E_INVALID_ARG, "%s: vector is NULL", what);
    else
      e = check_vector(items[i].vector, model->dim, what, err);
  }
  if (e != ARGUS_OK)
    return e;
  if ((e = store_begin(s, STORE_TX_WRITE, err)) != ARGUS_OK)
    return e;
  char now[ARGUS_STORE_TIME_MAX];
  argus_store_now(now);
  for (int i = 0; e == ARGUS_OK && i < n; i++) {
    int found = 0;
    int64_t person = 0;
    e = store_query_int(s, &found, &person, err,
                        "SELECT person_id FROM photos WHERE id = ?", "i",
                        (int64_t)items[i].photo_id);
    if (e == ARGUS_OK && !found)
      e = store_fail(err, ARGUS_E_NOT_FOUND, "no photo with id %lld",
                     (long long)items[i].photo_id);
    if (e == ARGUS_OK)
      e = store_run(s, err,
                    "DELETE FROM templates WHERE photo_id = ? AND "
                    "model_name = ? AND model_version = ?",
                    "iss", (int64_t)items[i].photo_id, model->name,
                    model->version);
    if (e == ARGUS_OK)
      e = insert_template(s, person, items[i].photo_id, model, items[i].vector,
                          now, err);
  }
  if (e == ARGUS_OK) {
    char mid[2 * ARGUS_STORE_NAME_MAX];
    model_id(model, mid, sizeof mid);
    store_json j;
    store_json_begin(&j);
    store_json_str(&j, "model", mid);
    store_json_int(&j, "templates", n);
    e = store_audit(s, "template.replace", "template", 0, store_json_end(&j),
                    NULL, err);
  }
  if (e != ARGUS_OK) {
    store_rollback(s);
    return e;
  }
  return store_commit(s, err);
}
