/* Subject requests (docs/lawful-use.md): a person's access request (export
 * of everything the store keeps about them) and erasure request.
 *
 * Why the audit log is rewritten on erasure: the audit rows of a person's
 * enrolment carry the person's name (person.add, person.update), and an
 * erasure that left the name there would not erase it. The rows stay (what
 * was done, when and by whom is the operator's record), only the name goes:
 * it is replaced by "[erased]", and the hash chain is sealed again from the
 * first changed row so that `argus audit verify` keeps passing. A copy of
 * the head kept outside before the erasure then no longer matches a row at
 * or after that point: the tombstone row records the previous head (id and
 * hash) and where the resealing began, so that an auditor can tell an
 * erasure from tampering.
 *
 * Everything happens in one durable write transaction; crop files are
 * queued in crop_purge and removed after the commit (store_purge_run keeps
 * a file another row still refers to), so a crash leaves either the whole
 * person or none of it in the database, and at worst files that the next
 * open removes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

#define ERASE_MOD "store"
#define ERASED_TEXT "\"[erased]\""
/* The export document's cap (the JSON writer is given a buffer this large
 * at most; it starts at 1 MiB and doubles on overflow). */
#define EXPORT_MAX ((size_t)256 << 20)

/* ---- small helpers ------------------------------------------------------ */

/* The person's name as a JSON string with its quotes, as the store's JSON
 * writers write it (the form it has inside audit details and events). */
static void quoted_name(const char *name, char *buf, size_t size) {
  argus_json j;
  argus_json_init(&j, buf, size);
  argus_json_str(&j, NULL, name);
  if (argus_json_finish(&j) == 0 && size)
    buf[0] = '\0';
}

/* Whether text holds "person_id":<id> or "person":<id> as a whole number. */
static int names_person_id(const char *text, argus_store_id id) {
  static const char *const keys[] = {"\"person_id\":", "\"person\":"};
  char num[32];
  int k = snprintf(num, sizeof num, "%lld", (long long)id);
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
    size_t kl = strlen(keys[i]);
    for (const char *p = text; (p = strstr(p, keys[i])); p += kl) {
      const char *v = p + kl;
      if (strncmp(v, num, (size_t)k) == 0 && (v[k] < '0' || v[k] > '9') &&
          v[k] != '.')
        return 1;
    }
  }
  return 0;
}

/* A growing text for the redacted detail (bounded by the input's size). */
typedef struct txt {
  char *p;
  size_t n, cap;
} txt;

static int txt_put(txt *t, const char *s, size_t n) {
  if (t->n + n + 1 > t->cap) {
    size_t cap = t->cap ? t->cap : 256;
    while (cap < t->n + n + 1)
      cap *= 2;
    char *q = realloc(t->p, cap);
    if (!q)
      return -1;
    t->p = q;
    t->cap = cap;
  }
  memcpy(t->p + t->n, s, n);
  t->n += n;
  t->p[t->n] = '\0';
  return 0;
}

/* The end of the JSON string that starts at the quote s (the closing
 * quote), or NULL when it is not closed. */
static const char *string_end(const char *s) {
  for (const char *p = s + 1; *p; p++) {
    if (*p == '\\' && p[1])
      p++;
    else if (*p == '"')
      return p;
  }
  return NULL;
}

/* The detail with every string value equal to `quoted` (and, when
 * whole_name, the value of every "name" member) replaced by "[erased]":
 * *out is malloc'd, or NULL when nothing changed. Returns -1 when out of
 * memory. Works on the text (the details are the store's own JSON
 * objects), string by string, so that a key or a longer value that
 * contains the name is left alone. */
static int redact(const char *detail, const char *quoted, int whole_name,
                  char **out) {
  *out = NULL;
  txt t = {0};
  int changed = 0;
  size_t ql = strlen(quoted);
  const char *p = detail, *copied = detail;
  while ((p = strchr(p, '"'))) {
    const char *end = string_end(p);
    if (!end)
      break;
    size_t len = (size_t)(end - p) + 1;
    const char *after = end + 1;
    while (*after == ' ')
      after++;
    int is_key = *after == ':';
    int hit = 0;
    if (!is_key && ql && len == ql && memcmp(p, quoted, ql) == 0)
      hit = 1;
    if (!is_key && whole_name && len > 2 && p > detail) {
      /* The value of a "name" member: look back over ':' and blanks. */
      const char *b = p - 1;
      while (b > detail && *b == ' ')
        b--;
      if (*b == ':' && (size_t)(b - detail) >= 6 &&
          memcmp(b - 6, "\"name\"", 6) == 0)
        hit = 1;
    }
    if (hit && strncmp(p, ERASED_TEXT, len) != 0) {
      if (txt_put(&t, copied, (size_t)(p - copied)) ||
          txt_put(&t, ERASED_TEXT, strlen(ERASED_TEXT))) {
        free(t.p);
        return -1;
      }
      copied = end + 1;
      changed = 1;
    }
    p = end + 1;
  }
  if (!changed)
    return 0;
  if (txt_put(&t, copied, strlen(copied))) {
    free(t.p);
    return -1;
  }
  *out = t.p;
  return 0;
}

/* ---- export ------------------------------------------------------------- */

typedef struct export_ctx {
  argus_store *s;
  argus_store_id id;
  store_vec files; /* argus_store_export_file */
  int64_t photos, templates, alerts, decisions, audit;
  store_vec alert_ids; /* argus_store_id */
} export_ctx;

static argus_err add_file(export_ctx *x, const char *kind, argus_store_id id,
                          const char *hash, argus_store_error *err) {
  if (!hash || !hash[0])
    return ARGUS_OK;
  argus_store_export_file *f = store_vec_push(&x->files);
  if (!f)
    return store_fail(err, ARGUS_E_NOMEM, "out of memory listing files");
  store_copy(f->kind, sizeof f->kind, kind);
  f->id = id;
  store_copy(f->sha256, sizeof f->sha256, hash);
  return ARGUS_OK;
}

static void json_detail(argus_json *j, const char *key, const char *detail) {
  size_t n = strlen(detail);
  if (argus_json_validate(detail, n, 0, NULL) == ARGUS_OK)
    argus_json_raw(j, key, detail, n);
  else
    argus_json_null(j, key);
}

static argus_err export_photos(export_ctx *x, argus_json *j, int collect,
                               argus_store_error *err) {
  argus_store_photo *ph = NULL;
  size_t n = 0;
  argus_err e = argus_store_photo_list(x->s, x->id, 0, 0, &ph, &n, err);
  if (e != ARGUS_OK)
    return e;
  argus_json_arr_begin(j, "photos");
  for (size_t i = 0; i < n; i++) {
    argus_json_obj_begin(j, NULL);
    argus_json_int(j, "id", ph[i].id);
    argus_json_str(j, "crop_sha256", ph[i].crop_sha256);
    argus_json_int(j, "crop_size", ph[i].crop_size);
    argus_json_num(j, "quality", ph[i].quality, -6);
    argus_json_str(j, "source", ph[i].source);
    argus_json_str(j, "created", ph[i].created);
    argus_json_obj_end(j);
    if (collect && e == ARGUS_OK)
      e = add_file(x, "photo", ph[i].id, ph[i].crop_sha256, err);
  }
  argus_json_arr_end(j);
  x->photos = (int64_t)n;
  argus_store_free(ph);
  return e;
}

static argus_err export_templates(export_ctx *x, argus_json *j,
                                  argus_store_error *err) {
  argus_store *s = x->s;
  store_stmt *st = NULL;
  argus_err e = store_prep(s, &st, err,
                           "SELECT id, photo_id, model_name, model_version, "
                           "dim, vector, created FROM templates WHERE "
                           "person_id = ? ORDER BY id",
                           "i", (int64_t)x->id);
  if (e != ARGUS_OK)
    return e;
  argus_json_arr_begin(j, "templates");
  int row = 0;
  x->templates = 0;
  while ((e = store_step(s, st, &row, err)) == ARGUS_OK && row == STORE_ROW) {
    const store_backend_ops *o = s->ops;
    char mid[2 * ARGUS_STORE_NAME_MAX + 2];
    snprintf(mid, sizeof mid, "%s@%s", o->col_text(st, 2), o->col_text(st, 3));
    int64_t dim = o->col_int64(st, 4);
    size_t nb = 0;
    const void *blob = o->col_blob(st, 5, &nb);
    argus_json_obj_begin(j, NULL);
    argus_json_int(j, "id", o->col_int64(st, 0));
    argus_json_int(j, "photo_id", o->col_int64(st, 1));
    argus_json_str(j, "model", mid);
    argus_json_int(j, "dim", dim);
    argus_json_str(j, "created", o->col_text(st, 6));
    argus_json_arr_begin(j, "vector");
    /* ---- encryption at rest: store_vec_unpack opens a sealed vector */
    float *vec = dim > 0 && dim <= ARGUS_STORE_DIM_MAX
                     ? malloc((size_t)dim * sizeof *vec)
                     : NULL;
    if (!vec)
      e = store_fail(err, dim > 0 ? ARGUS_E_NOMEM : ARGUS_E_CORRUPT,
                     "template vector of dim %lld", (long long)dim);
    else
      e = store_vec_unpack(s, blob, nb, (int)dim, vec, err);
    for (int64_t k = 0; e == ARGUS_OK && k < dim; k++)
      argus_json_num(j, NULL, vec[k], -9);
    free(vec);
    /* ---- end encryption at rest */
    argus_json_arr_end(j);
    argus_json_obj_end(j);
    if (e != ARGUS_OK) /* encryption at rest: a vector did not open */
      break;
    x->templates++;
  }
  argus_json_arr_end(j);
  s->ops->finalize(st);
  return e;
}

/* ---- verdict feedback: the person's negative examples (verdict.c) ----
 * Listed without their vectors: a negative is the template of a stranger's
 * face (a rejected alert's), which the person has no right to receive. */
static argus_err export_negatives(export_ctx *x, argus_json *j,
                                  argus_store_error *err) {
  argus_store *s = x->s;
  store_stmt *st = NULL;
  argus_err e = store_prep(s, &st, err,
                           "SELECT id, alert_id, model_name, model_version, "
                           "dim, created FROM negatives WHERE person_id = ? "
                           "ORDER BY id",
                           "i", (int64_t)x->id);
  if (e != ARGUS_OK)
    return e;
  argus_json_arr_begin(j, "negatives");
  int row = 0;
  while ((e = store_step(s, st, &row, err)) == ARGUS_OK && row == STORE_ROW) {
    const store_backend_ops *o = s->ops;
    char mid[2 * ARGUS_STORE_NAME_MAX + 2];
    snprintf(mid, sizeof mid, "%s@%s", o->col_text(st, 2), o->col_text(st, 3));
    argus_json_obj_begin(j, NULL);
    argus_json_int(j, "id", o->col_int64(st, 0));
    if (o->col_is_null(st, 1))
      argus_json_null(j, "alert_id");
    else
      argus_json_int(j, "alert_id", o->col_int64(st, 1));
    argus_json_str(j, "model", mid);
    argus_json_int(j, "dim", o->col_int64(st, 4));
    argus_json_str(j, "created", o->col_text(st, 5));
    argus_json_obj_end(j);
  }
  argus_json_arr_end(j);
  s->ops->finalize(st);
  return e;
}
/* ---- end verdict feedback ---- */

static argus_err export_decisions(export_ctx *x, argus_json *j,
                                  argus_store_id alert_id,
                                  argus_store_error *err) {
  argus_store *s = x->s;
  store_stmt *st = NULL;
  argus_err e = store_prep(s, &st, err,
                           "SELECT id, operator, decision, comment, time "
                           "FROM decisions WHERE alert_id = ? ORDER BY id",
                           "i", (int64_t)alert_id);
  if (e != ARGUS_OK)
    return e;
  argus_json_arr_begin(j, "decisions");
  int row = 0;
  while ((e = store_step(s, st, &row, err)) == ARGUS_OK && row == STORE_ROW) {
    const store_backend_ops *o = s->ops;
    argus_store_decision d;
    memset(&d, 0, sizeof d);
    d.id = o->col_int64(st, 0);
    d.alert_id = alert_id;
    store_copy(d.operator_name, sizeof d.operator_name, o->col_text(st, 1));
    argus_alert_status stt = ARGUS_ALERT_PENDING;
    (void)argus_alert_status_parse(o->col_text(st, 2), &stt);
    d.decision = stt;
    store_copy(d.comment, sizeof d.comment, o->col_text(st, 3));
    store_copy(d.time, sizeof d.time, o->col_text(st, 4));
    argus_store_decision_json(&d, j);
    x->decisions++;
  }
  argus_json_arr_end(j);
  s->ops->finalize(st);
  return e;
}

/* The ids of the alerts that named person `id`, appended to v. */
static argus_err alerts_of(argus_store *s, argus_store_id id, store_vec *v,
                           argus_store_error *err) {
  store_stmt *st = NULL;
  argus_err e = store_prep(s, &st, err,
                           "SELECT id FROM alerts WHERE person_id = ? ORDER "
                           "BY id",
                           "i", (int64_t)id);
  int row = 0;
  while (e == ARGUS_OK && (e = store_step(s, st, &row, err)) == ARGUS_OK &&
         row == STORE_ROW) {
    argus_store_id *p = store_vec_push(v);
    if (!p)
      e = store_fail(err, ARGUS_E_NOMEM, "out of memory listing alerts");
    else
      *p = s->ops->col_int64(st, 0);
  }
  s->ops->finalize(st);
  return e;
}

static argus_err export_alerts(export_ctx *x, argus_json *j, int collect,
                               argus_store_error *err) {
  argus_store *s = x->s;
  x->alert_ids.n = 0;
  argus_err e = alerts_of(s, x->id, &x->alert_ids, err);
  if (e != ARGUS_OK)
    return e;
  argus_json_arr_begin(j, "alerts");
  x->decisions = 0;
  const argus_store_id *ids = x->alert_ids.data;
  for (size_t i = 0; i < x->alert_ids.n && e == ARGUS_OK; i++) {
    argus_store_alert a;
    if ((e = argus_store_alert_get(s, ids[i], &a, err)) != ARGUS_OK)
      break;
    /* argus_store_alert_json's members, then the decisions. */
    char one[ARGUS_STORE_JSON_MAX];
    argus_json aj;
    argus_json_init(&aj, one, sizeof one);
    argus_store_alert_json(&a, &aj);
    size_t n = argus_json_finish(&aj);
    argus_json_obj_begin(j, NULL);
    if (n)
      argus_json_raw(j, "alert", one, n);
    else
      argus_json_null(j, "alert");
    e = export_decisions(x, j, a.id, err);
    argus_json_obj_end(j);
    if (collect && e == ARGUS_OK)
      e = add_file(x, "alert_crop", a.id, a.crop_sha256, err);
    if (collect && e == ARGUS_OK)
      e = add_file(x, "alert_thumb", a.id, a.thumb_sha256, err);
  }
  argus_json_arr_end(j);
  x->alerts = (int64_t)x->alert_ids.n;
  return e;
}

/* Whether id is one of the ids in v (a vec of argus_store_id). */
static int id_in(const store_vec *v, argus_store_id id) {
  const argus_store_id *ids = v->data;
  for (size_t i = 0; i < v->n; i++)
    if (ids[i] == id)
      return 1;
  return 0;
}

/* The audit rows about the person: its own, its alerts', and any whose
 * detail names its id ("person": id, "person_id": id). A scan of the log:
 * details are free text the database cannot index portably. */
static argus_err export_audit(export_ctx *x, argus_json *j,
                              argus_store_error *err) {
  argus_store *s = x->s;
  store_stmt *st = NULL;
  argus_err e = store_prep(s, &st, err,
                           "SELECT id, time, actor, action, object_type, "
                           "object_id, detail FROM audit ORDER BY id",
                           "");
  if (e != ARGUS_OK)
    return e;
  argus_json_arr_begin(j, "audit");
  x->audit = 0;
  int row = 0;
  while ((e = store_step(s, st, &row, err)) == ARGUS_OK && row == STORE_ROW) {
    const store_backend_ops *o = s->ops;
    const char *type = o->col_text(st, 4);
    int has_obj = !o->col_is_null(st, 5);
    int64_t obj = has_obj ? o->col_int64(st, 5) : 0;
    const char *detail = o->col_text(st, 6);
    int about =
        (has_obj && strcmp(type, "person") == 0 && obj == x->id) ||
        (has_obj && strcmp(type, "alert") == 0 && id_in(&x->alert_ids, obj)) ||
        names_person_id(detail, x->id);
    if (!about)
      continue;
    argus_json_obj_begin(j, NULL);
    argus_json_int(j, "id", o->col_int64(st, 0));
    argus_json_str(j, "time", o->col_text(st, 1));
    argus_json_str(j, "actor", o->col_text(st, 2));
    argus_json_str(j, "action", o->col_text(st, 3));
    argus_json_str(j, "object_type", type);
    if (has_obj)
      argus_json_int(j, "object_id", obj);
    else
      argus_json_null(j, "object_id");
    json_detail(j, "detail", detail);
    argus_json_obj_end(j);
    x->audit++;
  }
  argus_json_arr_end(j);
  s->ops->finalize(st);
  return e;
}

/* One attempt at the whole document in buf[cap]. */
static argus_err export_doc(export_ctx *x, const argus_store_person *p,
                            char *buf, size_t cap, size_t *len, int collect,
                            argus_store_error *err) {
  argus_json j;
  argus_json_init(&j, buf, cap);
  char now[ARGUS_STORE_TIME_MAX];
  argus_store_now(now);
  argus_json_obj_begin(&j, NULL);
  argus_json_str(&j, "format", "argus.subject.v1");
  argus_json_str(&j, "exported", now);
  /* The person through its own writer, as a member. */
  char pb[16 * ARGUS_STORE_TEXT_MAX];
  argus_json pj;
  argus_json_init(&pj, pb, sizeof pb);
  argus_store_person_json(p, &pj);
  size_t pn = argus_json_finish(&pj);
  if (pn == 0)
    return store_fail(err, ARGUS_E_INTERNAL, "export: the person record");
  argus_json_raw(&j, "person", pb, pn);
  argus_err e = export_photos(x, &j, collect, err);
  if (e == ARGUS_OK)
    e = export_templates(x, &j, err);
  if (e == ARGUS_OK) /* verdict feedback */
    e = export_negatives(x, &j, err);
  if (e == ARGUS_OK)
    e = export_alerts(x, &j, collect, err);
  if (e == ARGUS_OK)
    e = export_audit(x, &j, err);
  argus_json_obj_end(&j);
  if (e != ARGUS_OK)
    return e;
  *len = argus_json_finish(&j);
  if (*len == 0)
    return j.overflow
               ? ARGUS_E_LIMIT
               : store_fail(err, ARGUS_E_INTERNAL, "export document misformed");
  return ARGUS_OK;
}

argus_err argus_store_person_export(argus_store *s, argus_store_id id,
                                    char **json, size_t *len,
                                    argus_store_export_file **files,
                                    size_t *n_files, argus_store_error *err) {
  if (json)
    *json = NULL;
  if (len)
    *len = 0;
  if (files)
    *files = NULL;
  if (n_files)
    *n_files = 0;
  argus_err e = store_check_handle(s, err);
  if (e != ARGUS_OK)
    return e;
  if (!json || !len || id <= 0 || (files && !n_files))
    return store_fail(err, ARGUS_E_INVALID_ARG,
                      "json or len is NULL, files without n_files, or id "
                      "%lld is not positive",
                      (long long)id);
  export_ctx x = {.s = s,
                  .id = id,
                  .files = {.item = sizeof(argus_store_export_file)},
                  .alert_ids = {.item = sizeof(argus_store_id)}};
  char *buf = NULL;
  size_t n = 0;
  /* A write transaction: one snapshot for the whole document, and the
   * audit row of the export commits with it. */
  if ((e = store_begin(s, STORE_TX_WRITE, err)) != ARGUS_OK)
    return e;
  argus_store_person p;
  e = argus_store_person_get(s, id, &p, err);
  for (size_t cap = (size_t)1 << 20; e == ARGUS_OK; cap *= 2) {
    char *nb = realloc(buf, cap);
    if (!nb) {
      e = store_fail(err, ARGUS_E_NOMEM,
                     "out of memory (%zu bytes) for the "
                     "export of person %lld",
                     cap, (long long)id);
      break;
    }
    buf = nb;
    x.files.n = 0;
    e = export_doc(&x, &p, buf, cap, &n, files != NULL, err);
    if (e != ARGUS_E_LIMIT)
      break;
    if (cap >= EXPORT_MAX) {
      e = store_fail(err, ARGUS_E_LIMIT,
                     "the export of person %lld is over %zu MiB", (long long)id,
                     EXPORT_MAX >> 20);
      break;
    }
    e = ARGUS_OK;
  }
  if (e == ARGUS_OK) {
    store_json j;
    store_json_begin(&j);
    store_json_int(&j, "watchlist_id", p.watchlist_id);
    store_json_int(&j, "photos", x.photos);
    store_json_int(&j, "templates", x.templates);
    store_json_int(&j, "alerts", x.alerts);
    store_json_int(&j, "decisions", x.decisions);
    store_json_int(&j, "audit_rows", x.audit);
    store_json_int(&j, "files", (int64_t)x.files.n);
    e = store_audit(s, "subject.export", "person", id, store_json_end(&j), NULL,
                    err);
  }
  if (e == ARGUS_OK)
    e = store_commit(s, err);
  else
    store_rollback(s);
  free(x.alert_ids.data);
  if (e != ARGUS_OK) {
    free(buf);
    free(x.files.data);
    return e;
  }
  *json = buf;
  *len = n;
  if (files) {
    *files = x.files.data;
    *n_files = x.files.n;
  } else {
    free(x.files.data);
  }
  return ARGUS_OK;
}

/* ---- erase -------------------------------------------------------------- */

/* Rows of a text table whose `col` (an event document) names the person
 * by its id ("person_id": id, as alert and change events do): their ids,
 * to delete. By id, not by name: a namesake's events stay. */
static argus_err rows_naming(argus_store *s, const char *table, const char *col,
                             argus_store_id person, store_vec *ids,
                             argus_store_error *err) {
  char sql[128];
  snprintf(sql, sizeof sql, "SELECT id, %s FROM %s ORDER BY id", col, table);
  store_stmt *st = NULL;
  argus_err e = store_prep(s, &st, err, sql, "");
  int row = 0;
  while (e == ARGUS_OK && (e = store_step(s, st, &row, err)) == ARGUS_OK &&
         row == STORE_ROW) {
    const char *text = s->ops->col_text(st, 1);
    if (!names_person_id(text, person))
      continue;
    argus_store_id *p = store_vec_push(ids);
    if (!p)
      e = store_fail(err, ARGUS_E_NOMEM, "out of memory scanning %s", table);
    else
      *p = s->ops->col_int64(st, 0);
  }
  s->ops->finalize(st);
  return e;
}

static argus_err delete_ids(argus_store *s, const char *table,
                            const store_vec *ids, argus_store_error *err) {
  char sql[96];
  snprintf(sql, sizeof sql, "DELETE FROM %s WHERE id = ?", table);
  const argus_store_id *v = ids->data;
  argus_err e = ARGUS_OK;
  for (size_t i = 0; i < ids->n && e == ARGUS_OK; i++)
    e = store_run(s, err, sql, "i", (int64_t)v[i]);
  return e;
}

typedef struct redaction {
  argus_store_id id;
  char *detail;
} redaction;

/* Replaces the name in the details of the audit rows about the person (see
 * the top of the file): its own rows (where the "name" member goes too,
 * whatever it was then), its alerts' (ids in `alerts`), and those whose
 * detail names its id. Rows about another person of the same name keep
 * it. *first receives the lowest changed id (0: none). */
static argus_err redact_audit(argus_store *s, argus_store_id person,
                              const store_vec *alerts, const char *quoted,
                              int64_t *count, argus_store_id *first,
                              argus_store_error *err) {
  *count = 0;
  *first = 0;
  store_vec v = {.item = sizeof(redaction)};
  store_stmt *st = NULL;
  argus_err e = store_prep(s, &st, err,
                           "SELECT id, object_type, object_id, detail FROM "
                           "audit ORDER BY id",
                           "");
  int row = 0;
  while (e == ARGUS_OK && (e = store_step(s, st, &row, err)) == ARGUS_OK &&
         row == STORE_ROW) {
    const store_backend_ops *o = s->ops;
    int has_obj = !o->col_is_null(st, 2);
    const char *type = o->col_text(st, 1), *detail = o->col_text(st, 3);
    int64_t obj = has_obj ? o->col_int64(st, 2) : 0;
    int own = has_obj && strcmp(type, "person") == 0 && obj == person;
    if (!own &&
        !(has_obj && strcmp(type, "alert") == 0 && id_in(alerts, obj)) &&
        !names_person_id(detail, person))
      continue;
    char *out = NULL;
    if (redact(detail, quoted, own, &out) != 0) {
      e = store_fail(err, ARGUS_E_NOMEM, "out of memory redacting audit rows");
      break;
    }
    if (!out)
      continue;
    redaction *r = store_vec_push(&v);
    if (!r) {
      free(out);
      e = store_fail(err, ARGUS_E_NOMEM, "out of memory redacting audit rows");
      break;
    }
    r->id = o->col_int64(st, 0);
    r->detail = out;
  }
  s->ops->finalize(st);
  redaction *r = v.data;
  for (size_t i = 0; i < v.n && e == ARGUS_OK; i++)
    e = store_run(s, err, "UPDATE audit SET detail = ? WHERE id = ?", "si",
                  r[i].detail, (int64_t)r[i].id);
  if (e == ARGUS_OK && v.n) {
    *count = (int64_t)v.n;
    *first = r[0].id;
  }
  for (size_t i = 0; i < v.n; i++)
    free(r[i].detail);
  free(v.data);
  return e;
}

/* One audit row of a page being sealed again. */
typedef struct reseal_row {
  store_audit_fields f;
  char *strs; /* the fields' text, one allocation */
  char row[ARGUS_STORE_SHA256_HEX];
} reseal_row;

/* Seals the chain again from row `first` to the newest row: each row's
 * prev_sha256 is its predecessor's new row_sha256. In pages, because
 * rows are updated while they are read. */
static argus_err reseal_from(argus_store *s, argus_store_id first,
                             argus_store_error *err) {
  enum { PAGE = 256 };
  char prev[ARGUS_STORE_SHA256_HEX] = ARGUS_STORE_AUDIT_GENESIS;
  store_stmt *st = NULL;
  argus_store_id base_id = 0; /* the chain's start after a retention purge */
  argus_err e = store_audit_base_read(s, &base_id, prev, err);
  if (e == ARGUS_OK)
    e = store_prep(s, &st, err,
                   "SELECT row_sha256 FROM audit WHERE id < ? ORDER "
                   "BY id DESC LIMIT 1",
                   "i", (int64_t)first);
  int row = 0;
  if (e == ARGUS_OK)
    e = store_step(s, st, &row, err);
  if (e == ARGUS_OK && row == STORE_ROW &&
      store_is_sha256_hex(s->ops->col_text(st, 0)))
    store_copy(prev, sizeof prev, s->ops->col_text(st, 0));
  s->ops->finalize(st);
  reseal_row *page = calloc(PAGE, sizeof *page);
  if (e == ARGUS_OK && !page)
    e = store_fail(err, ARGUS_E_NOMEM, "out of memory sealing the audit log");
  argus_store_id from = first;
  while (e == ARGUS_OK) {
    size_t n = 0;
    e = store_prep(s, &st, err,
                   "SELECT id, time, actor, action, object_type, object_id, "
                   "detail FROM audit WHERE id >= ? ORDER BY id LIMIT ?",
                   "ii", (int64_t)from, (int64_t)PAGE);
    while (e == ARGUS_OK && (e = store_step(s, st, &row, err)) == ARGUS_OK &&
           row == STORE_ROW) {
      const store_backend_ops *o = s->ops;
      reseal_row *r = &page[n];
      const char *t[5] = {o->col_text(st, 1), o->col_text(st, 2),
                          o->col_text(st, 3), o->col_text(st, 4),
                          o->col_text(st, 6)};
      size_t l[5], total = 0;
      for (int k = 0; k < 5; k++)
        total += (l[k] = strlen(t[k])) + 1;
      r->strs = malloc(total);
      if (!r->strs) {
        e = store_fail(err, ARGUS_E_NOMEM, "out of memory sealing the log");
        break;
      }
      char *q = r->strs;
      const char **dst[5] = {&r->f.time, &r->f.actor, &r->f.action,
                             &r->f.object_type, &r->f.detail};
      for (int k = 0; k < 5; k++) {
        memcpy(q, t[k], l[k] + 1);
        *dst[k] = q;
        q += l[k] + 1;
      }
      r->f.id = o->col_int64(st, 0);
      r->f.has_object_id = !o->col_is_null(st, 5);
      r->f.object_id = r->f.has_object_id ? o->col_int64(st, 5) : 0;
      n++;
    }
    s->ops->finalize(st);
    st = NULL;
    for (size_t i = 0; i < n && e == ARGUS_OK; i++) {
      reseal_row *r = &page[i];
      r->f.prev_sha256 = prev;
      store_audit_row_hash(&r->f, r->row);
      e = store_run(s, err,
                    "UPDATE audit SET prev_sha256 = ?, row_sha256 = ? WHERE "
                    "id = ?",
                    "ssi", prev, r->row, (int64_t)r->f.id);
      store_copy(prev, sizeof prev, r->row);
    }
    for (size_t i = 0; i < n; i++) {
      free(page[i].strs);
      page[i].strs = NULL;
    }
    if (n < PAGE)
      break;
    from = page[n - 1].f.id + 1;
  }
  free(page);
  return e;
}

/* The distinct crop hashes of the person's photos and alerts. */
static argus_err person_hashes(argus_store *s, argus_store_id id, store_vec *v,
                               argus_store_error *err) {
  store_stmt *st = NULL;
  argus_err e = store_prep(
      s, &st, err,
      "SELECT DISTINCT h FROM (SELECT crop_sha256 AS h FROM photos WHERE "
      "person_id = ? UNION SELECT crop_sha256 AS h FROM alerts WHERE "
      "person_id = ? UNION SELECT thumb_sha256 AS h FROM alerts WHERE "
      "person_id = ?) q WHERE h IS NOT NULL",
      "iii", (int64_t)id, (int64_t)id, (int64_t)id);
  int row = 0;
  while (e == ARGUS_OK && (e = store_step(s, st, &row, err)) == ARGUS_OK &&
         row == STORE_ROW) {
    char *h = store_vec_push(v);
    if (!h)
      e = store_fail(err, ARGUS_E_NOMEM, "out of memory listing crops");
    else
      store_copy(h, ARGUS_STORE_SHA256_HEX, s->ops->col_text(st, 0));
  }
  s->ops->finalize(st);
  return e;
}

static argus_err count_of(argus_store *s, int64_t *out, const char *sql,
                          argus_store_id id, argus_store_error *err) {
  int found = 0;
  *out = 0;
  return store_query_int(s, &found, out, err, sql, "i", (int64_t)id);
}

argus_err argus_store_person_erase(argus_store *s, argus_store_id id,
                                   argus_store_erase_counts *out,
                                   argus_store_error *err) {
  argus_store_erase_counts c;
  memset(&c, 0, sizeof c);
  if (out)
    *out = c;
  argus_err e = store_check_handle(s, err);
  if (e != ARGUS_OK)
    return e;
  if (id <= 0)
    return store_fail(err, ARGUS_E_INVALID_ARG,
                      "person id %lld is not positive", (long long)id);
  store_vec hashes = {.item = ARGUS_STORE_SHA256_HEX};
  store_vec events = {.item = sizeof(argus_store_id)};
  store_vec dead = {.item = sizeof(argus_store_id)};
  store_vec alerts = {.item = sizeof(argus_store_id)};
  char quoted[6 * ARGUS_STORE_NAME_MAX + 4];
  argus_store_id first = 0;
  /* Durable: the crop files go after this commit. */
  if ((e = store_begin(s, STORE_TX_WRITE_DURABLE, err)) != ARGUS_OK)
    return e;
  argus_store_person p;
  e = argus_store_person_get(s, id, &p, err);
  if (e != ARGUS_OK)
    goto fail;
  quoted_name(p.name, quoted, sizeof quoted);
  if ((e = count_of(s, &c.templates,
                    "SELECT count(*) FROM templates WHERE person_id = ?", id,
                    err)) != ARGUS_OK ||
      (e = count_of(s, &c.photos,
                    "SELECT count(*) FROM photos WHERE person_id = ?", id,
                    err)) != ARGUS_OK ||
      (e = count_of(s, &c.alerts,
                    "SELECT count(*) FROM alerts WHERE person_id = ?", id,
                    err)) != ARGUS_OK ||
      (e = count_of(s, &c.decisions,
                    "SELECT count(*) FROM decisions WHERE alert_id IN "
                    "(SELECT id FROM alerts WHERE person_id = ?)",
                    id, err)) != ARGUS_OK)
    goto fail;
  if ((e = person_hashes(s, id, &hashes, err)) != ARGUS_OK ||
      (e = alerts_of(s, id, &alerts, err)) != ARGUS_OK)
    goto fail;
  if ((e = store_purge_queue(
           s, err,
           "SELECT crop_sha256 AS h FROM photos WHERE person_id = ? UNION "
           "SELECT crop_sha256 AS h FROM alerts WHERE person_id = ? UNION "
           "SELECT thumb_sha256 AS h FROM alerts WHERE person_id = ?",
           "iii", (int64_t)id, (int64_t)id, (int64_t)id)) != ARGUS_OK)
    goto fail;
  /* The live-event log and dead letters hold alert documents: the
   * person's name and id in them. */
  if ((e = rows_naming(s, "events", "data", id, &events, err)) != ARGUS_OK ||
      (e = rows_naming(s, "webhook_deadletters", "payload", id, &dead, err)) !=
          ARGUS_OK ||
      (e = delete_ids(s, "events", &events, err)) != ARGUS_OK ||
      (e = delete_ids(s, "webhook_deadletters", &dead, err)) != ARGUS_OK)
    goto fail;
  c.events = (int64_t)events.n;
  c.deadletters = (int64_t)dead.n;
  /* Decisions go with their alerts (ON DELETE CASCADE), photos and
   * templates with the person. */
  if ((e = store_run(s, err, "DELETE FROM alerts WHERE person_id = ?", "i",
                     (int64_t)id)) != ARGUS_OK ||
      (e = store_run(s, err, "DELETE FROM persons WHERE id = ?", "i",
                     (int64_t)id)) != ARGUS_OK)
    goto fail;
  const char *h = hashes.data;
  for (size_t i = 0; i < hashes.n; i++) {
    int ref = 0;
    if ((e = store_crop_referenced(s, h + i * ARGUS_STORE_SHA256_HEX, &ref,
                                   err)) != ARGUS_OK)
      goto fail;
    c.files += !ref;
  }
  if ((e = redact_audit(s, id, &alerts, quoted, &c.audit_redacted, &first,
                        err)) != ARGUS_OK)
    goto fail;
  argus_store_id head_id = 0;
  char head[ARGUS_STORE_SHA256_HEX] = "";
  if (first > 0 && s->schema_version >= STORE_AUDIT_CHAIN_VERSION) {
    int found = 0;
    int64_t top = 0;
    if ((e = store_query_int(s, &found, &top, err,
                             "SELECT coalesce(max(id), 0) FROM audit", "")) !=
            ARGUS_OK ||
        (e = store_audit_prev(s, head, err)) != ARGUS_OK ||
        (e = reseal_from(s, first, err)) != ARGUS_OK)
      goto fail;
    head_id = top;
  }
  store_json j;
  store_json_begin(&j);
  store_json_int(&j, "watchlist_id", p.watchlist_id);
  store_json_int(&j, "templates", c.templates);
  store_json_int(&j, "photos", c.photos);
  store_json_int(&j, "alerts", c.alerts);
  store_json_int(&j, "decisions", c.decisions);
  store_json_int(&j, "events", c.events);
  store_json_int(&j, "deadletters", c.deadletters);
  store_json_int(&j, "files", c.files);
  store_json_int(&j, "audit_redacted", c.audit_redacted);
  if (head_id > 0) {
    store_json_int(&j, "resealed_from", first);
    store_json_int(&j, "previous_head_id", head_id);
    store_json_str(&j, "previous_head_sha256", head);
  }
  if ((e = store_audit(s, "person.erase", "person", id, store_json_end(&j),
                       &c.audit_id, err)) != ARGUS_OK)
    goto fail;
  if ((e = store_commit(s, err)) != ARGUS_OK)
    goto done;
  store_purge_after_commit(s, "person erase");
  argus_log(ARGUS_LOG_INFO, ERASE_MOD,
            "%s: erased person %lld: %lld templates, %lld photos, %lld "
            "alerts, %lld files, %lld audit rows redacted",
            s->path, (long long)id, (long long)c.templates, (long long)c.photos,
            (long long)c.alerts, (long long)c.files,
            (long long)c.audit_redacted);
  if (out)
    *out = c;
  goto done;
fail:
  store_rollback(s);
done:
  free(hashes.data);
  free(events.data);
  free(dead.data);
  free(alerts.data);
  return e;
}
