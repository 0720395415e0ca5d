/* Persons, their enrolled photos, and identify, on the wire (supervisor;
 * identify and photo images also operator).
 *
 * Enrolment goes through the server's gallery (argus_gallery_person_add,
 * argus_gallery_person_add_photos, argus_gallery_person_remove), so the
 * running pipeline's index follows every change. Photos pass the same
 * quality gate as `argus person add` (argus_gallery_enrol_opts_default,
 * argus_gallery_photo_prepare): each uploaded photo gets a verdict, accepted
 * or refused with its reasons, and the accepted ones are stored together in
 * one transaction. A photo already enrolled in the watchlist, or given twice
 * in one request, is refused ("duplicate"), as `argus person add` refuses
 * it. Uploaded parts are checked to be JPEG or PNG before any decoding; a
 * part that is not one is refused as "unreadable", never an error of the
 * request.
 *
 * Face work runs on the server's engine worker under its lock (one request
 * at a time); without models (api_engine NULL) the routes that need them
 * answer 503 {"error":"no_models"}. Every request that reads or writes
 * biometric data is audited with the user and the address (api_audit); the
 * store adds its own rows for crops and templates.
 *
 * The legal basis (docs/lawful-use.md): a person carries "reason" and
 * "review_by" (with its state "review"); a person of an expired watchlist
 * takes no enrolment and no change (409 "read_only"), and an expired
 * watchlist takes no new person. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "argus/gallery.h"
#include "argus/image.h"
#include "h_util.h"

/* Photos one request may carry. */
#define MAX_PHOTOS 32
/* Faces identify reports at most. */
#define MAX_FACES 64
#define MAX_K 100

/* ---- multipart ----------------------------------------------------------- */

#define FORM_MAX_PARTS 64

typedef struct form {
  api_part parts[FORM_MAX_PARTS];
  int n;
} form;

/* 1 when the body is multipart/form-data. */
static int is_multipart(const api_req *r) {
  return api_media_type_is(r->content_type, "multipart/form-data");
}

/* Parses the multipart body into f (parts borrow the body). 1 ok; else 0
 * after answering 400 (malformed), 413 (limits) or 415. */
static int form_read(api_req *r, form *f) {
  memset(f, 0, sizeof *f);
  argus_error_detail err = {{0}};
  argus_err e = api_multipart_parse(r->content_type, r->body, r->body_size,
                                    f->parts, FORM_MAX_PARTS, &f->n, &err);
  if (e == ARGUS_OK)
    return 1;
  const char *m = err.msg[0] ? err.msg : argus_strerror(e);
  if (e == ARGUS_E_LIMIT)
    api_reply_error(r, 413, "too_large", "%s", m);
  else if (e == ARGUS_E_UNSUPPORTED)
    api_reply_error(r, 415, "unsupported", "%s", m);
  else
    api_reply_error(r, 400, "bad_request", "%s", m);
  return 0;
}

/* A text field of the form (NULL when absent; copied NUL-terminated into
 * buf, cap bytes). -1 after answering 400 (too long, given twice, NUL). */
static int form_text(api_req *r, const form *f, const char *name, char *buf,
                     size_t cap, const char **out) {
  *out = NULL;
  for (int i = 0; i < f->n; i++) {
    const api_part *p = &f->parts[i];
    if (strcmp(p->name, name) != 0)
      continue;
    if (*out) {
      api_reply_error(r, 400, "bad_request", "field '%s' given twice", name);
      return -1;
    }
    if (p->size >= cap || memchr(p->data, '\0', p->size)) {
      api_reply_error(r, 400, "bad_request",
                      "field '%s': longer than %zu bytes or holds a NUL "
                      "byte",
                      name, cap - 1);
      return -1;
    }
    memcpy(buf, p->data, p->size);
    buf[p->size] = '\0';
    *out = buf;
  }
  return 0;
}

/* Refuses parts other than the known text fields and `photo`: 1 ok, 0
 * after answering 400 naming it. */
static int form_known(api_req *r, const form *f, const char *const *fields) {
  for (int i = 0; i < f->n; i++) {
    const char *nm = f->parts[i].name;
    int ok = strcmp(nm, "photo") == 0;
    for (int k = 0; !ok && fields && fields[k]; k++)
      ok = strcmp(nm, fields[k]) == 0;
    if (!ok) {
      api_reply_error(r, 400, "bad_request", "unknown field '%.64s'", nm);
      return 0;
    }
  }
  return 1;
}

/* ---- shared bits ---------------------------------------------------------- */

static int engine_ready(api_req *r) {
  if (!api_engine(r->srv) || !api_gallery(r->srv)) {
    api_reply_error(r, 503, "no_models",
                    "the server runs without face models: enrolment and "
                    "identify are not available");
    return 0;
  }
  return 1;
}

/* Resolves a watchlist given by name or by id ("12") into *w. 1, or 0
 * after answering (404 when it does not exist). */
static int watchlist_of(api_req *r, argus_store *st, const char *what,
                        argus_store_watchlist *w) {
  argus_error_detail err = {{0}};
  int digits = what[0] != '\0';
  for (const char *c = what; *c; c++)
    digits = digits && isdigit((unsigned char)*c);
  if (digits) {
    argus_store_watchlist *all = NULL;
    size_t n = 0;
    argus_err e = argus_store_watchlist_list(st, &all, &n, &err);
    if (e) {
      api_reply_err(r, e, &err);
      return 0;
    }
    const argus_store_watchlist *row =
        api_row_find(all, n, sizeof *all, offsetof(argus_store_watchlist, id),
                     strtoll(what, NULL, 10));
    if (row)
      *w = *row;
    argus_store_free(all);
    if (row)
      return 1;
  }
  argus_err e = argus_store_watchlist_get(st, what, w, &err);
  if (e) {
    if (e == ARGUS_E_NOT_FOUND)
      api_reply_error(r, 404, "not_found", "no watchlist '%.128s'", what);
    else
      api_reply_err(r, e, &err);
    return 0;
  }
  return 1;
}

static void gallery_sync(api_req *r, argus_store_id pid);

/* 1 when watchlist `name` may be changed; else 0 after answering (409
 * "read_only" for an expired watchlist). */
static int writable(api_req *r, argus_store *st, const char *name) {
  argus_error_detail err = {{0}};
  argus_err e = argus_store_watchlist_check_writable(st, name, &err);
  if (e == ARGUS_OK)
    return 1;
  if (e == ARGUS_E_INVALID_ARG)
    api_reply_error(r, 409, "read_only", "%s", err.msg);
  else
    api_reply_err(r, e, &err);
  return 0;
}

/* A review-by date of a body: 1 when `s` is a date in the future; else 0
 * after answering 400. */
static int review_by_ok(api_req *r, const char *s) {
  int64_t ns = 0;
  if (argus_store_date_parse(s, &ns, NULL) != ARGUS_OK) {
    api_reply_error(r, 400, "bad_request",
                    "field 'review_by': '%.64s' is not a date (YYYY-MM-DD or "
                    "RFC 3339 such as 2027-01-31T18:00:00Z)",
                    s);
    return 0;
  }
  if (ns <= argus_store_clock_ns()) {
    api_reply_error(r, 400, "bad_request",
                    "field 'review_by': %.64s is not in the future", s);
    return 0;
  }
  return 1;
}

/* The person of path parameter 0: 1, or 0 after answering 404. */
static int person_of_path(api_req *r, argus_store *st, argus_store_person *p) {
  argus_store_id id;
  if (!api_param_id(r, 0, "person", &id))
    return 0;
  argus_error_detail err = {{0}};
  return api_found(r, argus_store_person_get(st, id, p, &err), &err, "person", id);
}

/* The person's members as the store writes them, with watchlist_id. */
static void person_json(const argus_store_person *p, const char *key,
                        argus_json *j) {
  argus_json_obj_begin(j, key);
  argus_json_int(j, "id", p->id);
  argus_json_int(j, "watchlist_id", p->watchlist_id);
  argus_json_str(j, "watchlist", p->watchlist);
  argus_json_str(j, "name", p->name);
  if (p->external_id[0])
    argus_json_str(j, "external_id", p->external_id);
  else
    argus_json_null(j, "external_id");
  argus_json_str(j, "notes", p->notes);
  argus_json_int(j, "photos", p->photos);
  argus_json_int(j, "templates", p->templates);
  argus_json_str(j, "created", p->created);
  argus_json_str(j, "updated", p->updated);
  argus_json_str(j, "reason", p->reason);
  if (p->review_by[0])
    argus_json_str(j, "review_by", p->review_by);
  else
    argus_json_null(j, "review_by");
  argus_json_str(j, "review", argus_store_review_name(p->review));
  argus_json_obj_end(j);
}

static void one_person_json(void *user, argus_json *j) {
  person_json(user, NULL, j);
}

/* ---- photo verdicts ------------------------------------------------------- */

typedef struct verdict {
  argus_gallery_photo p; /* owned */
  char file[256];        /* the part's file name, valid UTF-8 */
  int duplicate;         /* refused: already enrolled, or given twice */
  char dup_detail[320];
  argus_store_id photo_id; /* once stored */
} verdict;

static int verdict_ok(const verdict *v) {
  return v->p.reason == ARGUS_GALLERY_ACCEPTED && !v->duplicate;
}

static void verdict_json(const verdict *v, argus_json *j) {
  const argus_gallery_photo *p = &v->p;
  argus_json_obj_begin(j, NULL);
  argus_json_str(j, "file", v->file);
  if (verdict_ok(v)) {
    argus_json_bool(j, "accepted", 1);
    argus_json_num(j, "quality", p->quality, 3);
    argus_json_int(j, "faces", p->nfaces);
    argus_json_null(j, "reason");
    argus_json_arr_begin(j, "reasons");
    argus_json_arr_end(j);
    argus_json_str(j, "detail", p->detail);
    if (p->detail[0])
      argus_json_str(j, "note", p->detail);
    if (v->photo_id > 0)
      argus_json_int(j, "photo_id", v->photo_id);
    else
      argus_json_null(j, "photo_id");
  } else {
    argus_json_bool(j, "accepted", 0);
    if (v->duplicate)
      argus_json_null(j, "quality");
    else if (p->reason == ARGUS_GALLERY_REJECT_UNREADABLE)
      argus_json_null(j, "quality");
    else
      argus_json_num(j, "quality", p->quality, 3);
    argus_json_int(j, "faces", p->nfaces);
    argus_json_str(j, "reason",
                   v->duplicate ? "duplicate"
                                : argus_gallery_reject_name(p->reason));
    argus_json_arr_begin(j, "reasons");
    if (v->duplicate)
      argus_json_str(j, NULL, "duplicate");
    else
      for (int k = 1; k < ARGUS_GALLERY_REJECT_N; k++)
        if (p->reasons & (1u << k))
          argus_json_str(j, NULL,
                         argus_gallery_reject_name((argus_gallery_reject)k));
    argus_json_arr_end(j);
    argus_json_str(j, "detail", v->duplicate ? v->dup_detail : p->detail);
    argus_json_null(j, "photo_id");
  }
  argus_json_obj_end(j);
}

static void verdicts_free(verdict *v, int n) {
  if (!v)
    return;
  for (int i = 0; i < n; i++)
    argus_gallery_photo_free(&v[i].p);
  free(v);
}

/* The `photo` parts of f through the enrolment gate: *out (verdicts_free)
 * gets *n verdicts in the order of the parts. 1 ok (also when none is
 * accepted); 0 after answering (no photo, too many, the engine failed). */
static int photos_prepare(api_req *r, const form *f, verdict **out, int *n) {
  *out = NULL;
  *n = 0;
  int np = 0;
  for (int i = 0; i < f->n; i++)
    np += strcmp(f->parts[i].name, "photo") == 0;
  if (np == 0) {
    api_reply_error(r, 400, "bad_request",
                    "field 'photo': no photo part in the body");
    return 0;
  }
  if (np > MAX_PHOTOS) {
    api_reply_error(r, 413, "too_large",
                    "%d photos in one request (at most "
                    "%d)",
                    np, MAX_PHOTOS);
    return 0;
  }
  verdict *v = calloc((size_t)np, sizeof *v);
  if (!v) {
    api_reply_error(r, 500, "internal", "out of memory");
    return 0;
  }
  argus_gallery_enrol_opts eo;
  argus_gallery_enrol_opts_default(&eo);
  argus_face_engine *eng = api_engine(r->srv);
  int k = 0;
  for (int i = 0; i < f->n; i++) {
    const api_part *fp = &f->parts[i];
    if (strcmp(fp->name, "photo") != 0)
      continue;
    verdict *vd = &v[k++];
    char tmp[256];
    snprintf(tmp, sizeof tmp, "%s", fp->filename);
    argus_utf8_sanitize(tmp, vd->file, sizeof vd->file);
    /* Magic bytes and the header's size before anything decodes. */
    argus_error_detail ce = {{0}};
    argus_err e = api_image_check(fp->data, fp->size, 0, NULL, NULL, &ce);
    if (e) {
      vd->p.reason = ARGUS_GALLERY_REJECT_UNREADABLE;
      vd->p.reasons = 1u << vd->p.reason;
      snprintf(vd->p.detail, sizeof vd->p.detail, "%s",
               e == ARGUS_E_UNSUPPORTED ? "not a JPEG or PNG image"
               : ce.msg[0]              ? ce.msg
                                        : argus_strerror(e));
      continue;
    }
    argus_image img;
    argus_image_error ie = {{0}};
    e = argus_image_decode(fp->data, fp->size, ARGUS_PIX_RGB8, &img, &ie);
    if (e) {
      vd->p.reason = ARGUS_GALLERY_REJECT_UNREADABLE;
      vd->p.reasons = 1u << vd->p.reason;
      snprintf(vd->p.detail, sizeof vd->p.detail, "%s",
               ie.msg[0] ? ie.msg : argus_strerror(e));
      continue;
    }
    argus_face_error fe = {{0}};
    api_engine_lock(r->srv);
    argus_face_worker *w = api_engine_worker(r->srv);
    e = w ? argus_gallery_photo_prepare(eng, w, &img, &eo, &vd->p, &fe)
          : ARGUS_E_NOMEM;
    api_engine_unlock(r->srv);
    argus_image_free(&img);
    if (e) {
      api_reply_error(r, 500, "internal", "photo %d: %s", k,
                      fe.msg[0] ? fe.msg : argus_strerror(e));
      verdicts_free(v, np);
      return 0;
    }
  }
  for (int i = 0; i < np; i++)
    v[i].p.source = v[i].file;
  *out = v;
  *n = np;
  return 1;
}

/* Refuses accepted photos that are already enrolled in `watchlist` (NULL:
 * only those given twice in this request). 1 ok; 0 after answering. */
static int refuse_duplicates(api_req *r, argus_store *st, const char *watchlist,
                             verdict *v, int n) {
  char(*hash)[65] = calloc((size_t)n, sizeof *hash);
  if (!hash) {
    api_reply_error(r, 500, "internal", "out of memory");
    return 0;
  }
  int ret = 1;
  for (int i = 0; i < n; i++) {
    if (!verdict_ok(&v[i]))
      continue;
    argus_sha256_hex(v[i].p.crop, v[i].p.crop_size, hash[i]);
    for (int k = 0; k < i && !v[i].duplicate; k++)
      if (verdict_ok(&v[k]) && strcmp(hash[i], hash[k]) == 0) {
        v[i].duplicate = 1;
        snprintf(v[i].dup_detail, sizeof v[i].dup_detail,
                 "the same photo as photo %d of this request", k + 1);
      }
    if (v[i].duplicate || !watchlist || !st)
      continue;
    argus_store_photo ph;
    int found = 0;
    argus_error_detail err = {{0}};
    argus_err e =
        argus_store_photo_find_crop(st, watchlist, hash[i], &ph, &found, &err);
    if (e) {
      api_reply_err(r, e, &err);
      ret = 0;
      break;
    }
    if (!found)
      continue;
    argus_store_person owner;
    if (argus_store_person_get(st, ph.person_id, &owner, &err) != ARGUS_OK)
      snprintf(owner.name, sizeof owner.name, "?");
    v[i].duplicate = 1;
    snprintf(v[i].dup_detail, sizeof v[i].dup_detail,
             "already enrolled in watchlist '%.100s' (person '%.100s', id "
             "%lld, photo %lld)",
             watchlist, owner.name, (long long)ph.person_id, (long long)ph.id);
  }
  free(hash);
  return ret;
}

/* The accepted photos' stored ids (by their crop's hash in the
 * watchlist). */
static void find_photo_ids(argus_store *st, const char *watchlist, verdict *v,
                           int n) {
  for (int i = 0; i < n; i++) {
    if (!verdict_ok(&v[i]))
      continue;
    char hash[65];
    argus_sha256_hex(v[i].p.crop, v[i].p.crop_size, hash);
    argus_store_photo ph;
    int found = 0;
    if (argus_store_photo_find_crop(st, watchlist, hash, &ph, &found, NULL) ==
            ARGUS_OK &&
        found)
      v[i].photo_id = ph.id;
  }
}

/* The accepted photos, copied (borrowing their buffers) into an array for
 * the gallery; *nok their number. NULL when out of memory. */
static argus_gallery_photo *accepted(const verdict *v, int n, int *nok) {
  argus_gallery_photo *ok = calloc((size_t)(n > 0 ? n : 1), sizeof *ok);
  *nok = 0;
  if (!ok)
    return NULL;
  for (int i = 0; i < n; i++)
    if (verdict_ok(&v[i]))
      ok[(*nok)++] = v[i].p;
  return ok;
}

typedef struct photos_doc {
  const argus_store_person *person; /* NULL: none */
  const verdict *v;
  int n, nok;
  const char *count_key; /* "enrolled" or "accepted" */
  const char *error;     /* the 422 answer's code, NULL otherwise */
} photos_doc;

static void photos_doc_json(void *user, argus_json *j) {
  const photos_doc *d = user;
  argus_json_obj_begin(j, NULL);
  if (d->error) {
    argus_json_str(j, "error", d->error);
    argus_json_str(j, "message",
                   d->n ? "no photo passed the enrolment quality gate; "
                          "nothing stored"
                        : "no photo given");
  }
  if (d->person)
    person_json(d->person, "person", j);
  argus_json_int(j, d->count_key, d->nok);
  argus_json_arr_begin(j, "photos");
  for (int i = 0; i < d->n; i++)
    verdict_json(&d->v[i], j);
  argus_json_arr_end(j);
  argus_json_obj_end(j);
}

/* The audit row of an enrolment: user, address, counts. */
static void audit_enrol(api_req *r, const char *action, argus_store_id pid,
                        int n, int nok) {
  char d[96];
  snprintf(d, sizeof d, "\"photos\":%d,\"accepted\":%d", n, nok);
  api_audit(r, action, "person", pid, d);
}

/* ---- persons ------------------------------------------------------------- */

/* ASCII case-insensitive "contains". */
static int contains_ci(const char *hay, const char *needle) {
  size_t n = strlen(needle);
  if (n == 0)
    return 1;
  for (; *hay; hay++)
    if (strncasecmp(hay, needle, n) == 0)
      return 1;
  return 0;
}

static void person_item(const void *row, void *ctx, argus_json *j) {
  (void)ctx;
  person_json(row, NULL, j);
}

API_HANDLER(api_h_persons_list) {
  size_t limit;
  argus_store_id cursor;
  if (!api_page_args(r, &limit, &cursor))
    return;
  argus_store *st = api_store(r);
  if (!st)
    return;
  const char *wq = api_query(r, "watchlist");
  const char *q = api_query(r, "q");
  argus_store_watchlist w;
  if (wq && !watchlist_of(r, st, wq, &w))
    return;
  argus_store_person *all = NULL;
  size_t n = 0;
  argus_error_detail err = {{0}};
  argus_err e =
      argus_store_person_list(st, wq ? w.name : NULL, NULL, &all, &n, &err);
  if (e) {
    api_reply_err(r, e, &err);
    return;
  }
  /* Filtered here (the store has no name search), in id order so that a
   * cursor (the last id) pages stably. */
  size_t m = 0;
  for (size_t i = 0; i < n; i++)
    if (!q || contains_ci(all[i].name, q))
      all[m++] = all[i];
  api_page d = {.item = person_item};
  api_page_cut(&d, all, m, sizeof *all, offsetof(argus_store_person, id), 0,
               cursor, limit);
  api_reply_json(r, 200, api_page_json, &d);
  argus_store_free(all);
}

static const api_field person_fields[] = {
    {"watchlist", API_J_STRING | API_J_INT, 1, ARGUS_STORE_NAME_MAX - 1},
    {"name", API_J_STRING, 1, ARGUS_STORE_NAME_MAX - 1},
    {"external_id", API_J_STRING | API_J_NULL, 0, ARGUS_STORE_NAME_MAX - 1},
    {"notes", API_J_STRING | API_J_NULL, 0, ARGUS_STORE_TEXT_MAX - 1},
    {"reason", API_J_STRING | API_J_NULL, 0, ARGUS_STORE_TEXT_MAX - 1},
    {"review_by", API_J_STRING | API_J_NULL, 0, ARGUS_STORE_TIME_MAX + 32},
};

typedef struct created_doc {
  const argus_store_person *p;
  const verdict *v;
  int n;
} created_doc;

static void created_json(void *user, argus_json *j) {
  const created_doc *d = user;
  argus_json_obj_begin(j, NULL);
  person_json(d->p, "person", j);
  argus_json_arr_begin(j, "photos");
  for (int i = 0; i < d->n; i++)
    verdict_json(&d->v[i], j);
  argus_json_arr_end(j);
  argus_json_obj_end(j);
}

/* The text fields of a person from a JSON body or the form. */
typedef struct person_args {
  char watchlist[ARGUS_STORE_NAME_MAX + 32];
  char name[ARGUS_STORE_NAME_MAX + 1];
  char external_id[ARGUS_STORE_NAME_MAX + 1];
  char notes[ARGUS_STORE_TEXT_MAX + 1];
  char reason[ARGUS_STORE_TEXT_MAX + 1];
  char review_by[ARGUS_STORE_TIME_MAX + 40];
  const char *wl, *nm, *ext, *nt, *rs, *rb; /* NULL: not given */
} person_args;

static int person_args_json(api_req *r, const cJSON *body, person_args *a) {
  char msg[256];
  if (api_fields_check(body, person_fields, 6, msg, sizeof msg) != 0) {
    api_reply_error(r, 400, "bad_request", "%s", msg);
    return 0;
  }
  const cJSON *w = cJSON_GetObjectItemCaseSensitive(body, "watchlist");
  if (cJSON_IsNumber(w))
    snprintf(a->watchlist, sizeof a->watchlist, "%.0f", w->valuedouble);
  else
    snprintf(a->watchlist, sizeof a->watchlist, "%s", w->valuestring);
  a->wl = a->watchlist;
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, "name");
  snprintf(a->name, sizeof a->name, "%s", v->valuestring);
  a->nm = a->name;
  v = cJSON_GetObjectItemCaseSensitive(body, "external_id");
  if (cJSON_IsString(v) && v->valuestring[0]) {
    snprintf(a->external_id, sizeof a->external_id, "%s", v->valuestring);
    a->ext = a->external_id;
  }
  v = cJSON_GetObjectItemCaseSensitive(body, "notes");
  if (cJSON_IsString(v)) {
    snprintf(a->notes, sizeof a->notes, "%s", v->valuestring);
    a->nt = a->notes;
  }
  v = cJSON_GetObjectItemCaseSensitive(body, "reason");
  if (cJSON_IsString(v)) {
    snprintf(a->reason, sizeof a->reason, "%s", v->valuestring);
    a->rs = a->reason;
  }
  v = cJSON_GetObjectItemCaseSensitive(body, "review_by");
  if (cJSON_IsString(v)) {
    snprintf(a->review_by, sizeof a->review_by, "%s", v->valuestring);
    a->rb = a->review_by;
  }
  return 1;
}

static int person_args_form(api_req *r, const form *f, person_args *a) {
  static const char *const fields[] = {"watchlist", "name",   "external_id",
                                       "notes",     "reason", "review_by",
                                       NULL};
  if (!form_known(r, f, fields))
    return 0;
  if (form_text(r, f, "watchlist", a->watchlist, ARGUS_STORE_NAME_MAX, &a->wl) <
          0 ||
      form_text(r, f, "name", a->name, ARGUS_STORE_NAME_MAX, &a->nm) < 0 ||
      form_text(r, f, "external_id", a->external_id, ARGUS_STORE_NAME_MAX,
                &a->ext) < 0 ||
      form_text(r, f, "notes", a->notes, ARGUS_STORE_TEXT_MAX, &a->nt) < 0 ||
      form_text(r, f, "reason", a->reason, ARGUS_STORE_TEXT_MAX, &a->rs) < 0 ||
      form_text(r, f, "review_by", a->review_by, ARGUS_STORE_TIME_MAX + 32,
                &a->rb) < 0)
    return 0;
  if (!a->wl || !a->nm) {
    api_reply_error(r, 400, "bad_request", "field '%s' is required",
                    !a->wl ? "watchlist" : "name");
    return 0;
  }
  if (a->ext && !a->ext[0])
    a->ext = NULL;
  return 1;
}

static int count_photos(const form *f) {
  int n = 0;
  for (int i = 0; i < f->n; i++)
    n += strcmp(f->parts[i].name, "photo") == 0;
  return n;
}

static void reply_person(api_req *r, argus_store *st, int status,
                         argus_store_id pid, const verdict *v, int nv) {
  argus_store_person p;
  argus_error_detail err = {{0}};
  argus_err e = argus_store_person_get(st, pid, &p, &err);
  if (e) {
    api_reply_err(r, e, &err);
    return;
  }
  char loc[64];
  snprintf(loc, sizeof loc, API_PREFIX "/persons/%lld", (long long)pid);
  api_add_header(r, "Location", loc);
  created_doc d = {&p, v, nv};
  api_reply_json(r, status, created_json, &d);
}

API_HANDLER(api_h_persons_create) {
  form *f = NULL;
  cJSON *body = NULL;
  verdict *v = NULL;
  int nv = 0, nok = 0;
  argus_gallery_photo *ok = NULL;
  person_args *a = calloc(1, sizeof *a);
  argus_store *st = api_store(r);
  if (!st || !a) {
    if (st)
      api_reply_error(r, 500, "internal", "out of memory");
    goto out;
  }
  int nphotos = 0;
  if (is_multipart(r)) {
    f = malloc(sizeof *f);
    if (!f) {
      api_reply_error(r, 500, "internal", "out of memory");
      goto out;
    }
    if (!form_read(r, f) || !person_args_form(r, f, a))
      goto out;
    nphotos = count_photos(f);
  } else {
    body = api_body_object(r);
    if (!body || !person_args_json(r, body, a))
      goto out;
  }
  argus_store_watchlist w;
  if (!watchlist_of(r, st, a->wl, &w) || !writable(r, st, w.name))
    goto out;
  if (a->rb && !a->rb[0])
    a->rb = NULL; /* "" as null: no review-by date */
  if (a->rb && !review_by_ok(r, a->rb))
    goto out;
  argus_store_person_in in = {a->nm, a->ext, a->nt};
  argus_store_id pid = 0;
  argus_error_detail err = {{0}};
  if (nphotos == 0) {
    argus_err e =
        argus_store_person_add(st, w.name, &in, NULL, NULL, 0, &pid, &err);
    /* The legal basis of the entry in a second audited write (the date
     * was checked above). */
    if (!e && (a->rs || a->rb))
      e = argus_store_person_set_review(st, pid, a->rs, a->rb, &err);
    if (e) {
      api_reply_err(r, e, &err);
      goto out;
    }
    reply_person(r, st, 201, pid, NULL, 0);
    goto out;
  }
  if (!engine_ready(r) || !photos_prepare(r, f, &v, &nv) ||
      !refuse_duplicates(r, st, w.name, v, nv))
    goto out;
  ok = accepted(v, nv, &nok);
  if (!ok) {
    api_reply_error(r, 500, "internal", "out of memory");
    goto out;
  }
  if (nok == 0) {
    audit_enrol(r, "person.enrol", 0, nv, 0);
    photos_doc d = {NULL, v, nv, 0, "enrolled", "no_photo_accepted"};
    api_reply_json(r, 422, photos_doc_json, &d);
    goto out;
  }
  argus_gallery_error gerr = {{0}};
  argus_err e = argus_gallery_person_add(api_gallery(r->srv), w.name, &in, ok,
                                         nok, &pid, &gerr);
  if (e) {
    api_reply_err(r, e, &gerr);
    goto out;
  }
  if (a->rs || a->rb) {
    argus_error_detail rerr = {{0}};
    e = argus_store_person_set_review(st, pid, a->rs, a->rb, &rerr);
    if (e) {
      api_reply_err(r, e, &rerr);
      goto out;
    }
    gallery_sync(r, pid);
  }
  find_photo_ids(st, w.name, v, nv);
  audit_enrol(r, "person.enrol", pid, nv, nok);
  reply_person(r, st, 201, pid, v, nv);
out:
  free(ok);
  verdicts_free(v, nv);
  cJSON_Delete(body);
  free(f);
  free(a);
}

API_HANDLER(api_h_person_get) {
  argus_store *st = api_store(r);
  if (!st)
    return;
  argus_store_person p;
  if (!person_of_path(r, st, &p))
    return;
  api_reply_json(r, 200, one_person_json, &p);
}

static const api_field person_patch_fields[] = {
    {"name", API_J_STRING, 0, ARGUS_STORE_NAME_MAX - 1},
    {"notes", API_J_STRING, 0, ARGUS_STORE_TEXT_MAX - 1},
    {"reason", API_J_STRING, 0, ARGUS_STORE_TEXT_MAX - 1},
    {"review_by", API_J_STRING | API_J_NULL, 0, ARGUS_STORE_TIME_MAX + 32},
};

/* The gallery re-reads a changed person (its name is in search results). */
static void gallery_sync(api_req *r, argus_store_id pid) {
  argus_gallery *g = api_gallery(r->srv);
  if (!g)
    return;
  argus_gallery_error gerr = {{0}};
  argus_err e = argus_gallery_sync_person(g, pid, &gerr);
  if (e)
    argus_log(ARGUS_LOG_ERROR, API_MOD, "person %lld: index not updated: %s",
              (long long)pid, gerr.msg[0] ? gerr.msg : argus_strerror(e));
}

API_HANDLER(api_h_person_update) {
  argus_store *st = api_store(r);
  if (!st)
    return;
  argus_store_person p;
  if (!person_of_path(r, st, &p))
    return;
  cJSON *body = hu_body(r, person_patch_fields, 4);
  if (!body)
    return;
  const cJSON *nm = cJSON_GetObjectItemCaseSensitive(body, "name");
  const cJSON *nt = cJSON_GetObjectItemCaseSensitive(body, "notes");
  const cJSON *rs = cJSON_GetObjectItemCaseSensitive(body, "reason");
  const cJSON *rb = cJSON_GetObjectItemCaseSensitive(body, "review_by");
  /* null: no review-by date any more. */
  const char *review_by = !rb ? NULL : cJSON_IsNull(rb) ? "" : rb->valuestring;
  if (!nm && !nt && !rs && !rb) {
    api_reply_error(r, 400, "bad_request",
                    "body: nothing to change (name, notes, reason, "
                    "review_by)");
    goto out;
  }
  if (!writable(r, st, p.watchlist) ||
      (review_by && review_by[0] && !review_by_ok(r, review_by)))
    goto out;
  argus_error_detail err = {{0}};
  argus_err e = ARGUS_OK;
  if (nm || nt)
    e = argus_store_person_update(st, p.id, nm ? nm->valuestring : NULL,
                                  nt ? nt->valuestring : NULL, &err);
  if (!e && (rs || rb))
    e = argus_store_person_set_review(st, p.id, rs ? rs->valuestring : NULL,
                                      review_by, &err);
  if (e) {
    api_reply_err(r, e, &err);
    goto out;
  }
  /* The gallery holds the name and the review-by date of a person. */
  if (nm || rb)
    gallery_sync(r, p.id);
  e = argus_store_person_get(st, p.id, &p, &err);
  if (e) {
    api_reply_err(r, e, &err);
    goto out;
  }
  api_reply_json(r, 200, one_person_json, &p);
out:
  cJSON_Delete(body);
}

API_HANDLER(api_h_person_delete) {
  argus_store *st = api_store(r);
  if (!st)
    return;
  argus_store_person p;
  if (!person_of_path(r, st, &p))
    return;
  argus_error_detail err = {{0}};
  argus_err e;
  argus_gallery *g = api_gallery(r->srv);
  if (g)
    e = argus_gallery_person_remove(g, p.id, &err);
  else
    e = argus_store_person_remove(st, p.id, &err);
  if (e) {
    api_reply_err(r, e, &err);
    return;
  }
  char d[64];
  snprintf(d, sizeof d, "\"photos\":%lld", (long long)p.photos);
  api_audit(r, "person.delete", "person", p.id, d);
  api_reply_empty(r, 204);
}

/* ---- photos ------------------------------------------------------------- */

/* A listed photo (api_page item): the store's row with its image_url. */
static void photo_item(const void *row, void *ctx, argus_json *j) {
  (void)ctx;
  const argus_store_photo *p = row;
  char url[96];
  snprintf(url, sizeof url, API_PREFIX "/photos/%lld/image", (long long)p->id);
  argus_json_obj_begin(j, NULL);
  argus_json_int(j, "id", p->id);
  argus_json_int(j, "person_id", p->person_id);
  argus_json_str(j, "crop_sha256", p->crop_sha256);
  argus_json_int(j, "crop_size", p->crop_size);
  argus_json_num(j, "quality", p->quality, 3);
  argus_json_str(j, "source", p->source);
  argus_json_str(j, "created", p->created);
  argus_json_str(j, "image_url", url);
  argus_json_obj_end(j);
}

API_HANDLER(api_h_person_photos_list) {
  size_t limit;
  argus_store_id cursor;
  argus_store *st = api_store(r);
  if (!st)
    return;
  argus_store_person p;
  if (!person_of_path(r, st, &p) || !api_page_args(r, &limit, &cursor))
    return;
  argus_store_photo *ph = NULL;
  size_t n = 0;
  argus_error_detail err = {{0}};
  argus_err e =
      argus_store_photo_list(st, p.id, cursor, limit + 1, &ph, &n, &err);
  if (e) {
    api_reply_err(r, e, &err);
    return;
  }
  /* After the cursor in id order, one row more than the page. */
  api_page d = {.item = photo_item};
  api_page_cut(&d, ph, n, sizeof *ph, offsetof(argus_store_photo, id), 0, 0,
               limit);
  api_reply_json(r, 200, api_page_json, &d);
  argus_store_free(ph);
}

/* The multipart body of a photo route: 1, or 0 after answering 415/400. */
static int photo_form(api_req *r, form *f, const char *const *fields) {
  if (!is_multipart(r)) {
    api_reply_error(r, 415, "unsupported",
                    "body: expected multipart/form-data with 'photo' parts, "
                    "not '%.64s'",
                    r->content_type);
    return 0;
  }
  return form_read(r, f) && form_known(r, f, fields);
}

API_HANDLER(api_h_person_photos_add) {
  verdict *v = NULL;
  int nv = 0, nok = 0;
  argus_gallery_photo *ok = NULL;
  form *f = NULL;
  argus_store *st = api_store(r);
  if (!st)
    return;
  argus_store_person p;
  if (!person_of_path(r, st, &p) || !writable(r, st, p.watchlist))
    return;
  f = malloc(sizeof *f);
  if (!f) {
    api_reply_error(r, 500, "internal", "out of memory");
    return;
  }
  if (!photo_form(r, f, NULL) || !engine_ready(r) ||
      !photos_prepare(r, f, &v, &nv) ||
      !refuse_duplicates(r, st, p.watchlist, v, nv))
    goto out;
  ok = accepted(v, nv, &nok);
  if (!ok) {
    api_reply_error(r, 500, "internal", "out of memory");
    goto out;
  }
  if (nok == 0) {
    audit_enrol(r, "person.photos_add", p.id, nv, 0);
    photos_doc d = {NULL, v, nv, 0, "enrolled", "no_photo_accepted"};
    api_reply_json(r, 422, photos_doc_json, &d);
    goto out;
  }
  argus_gallery_error gerr = {{0}};
  argus_err e = argus_gallery_person_add_photos(api_gallery(r->srv), p.id, ok,
                                                nok, &gerr);
  if (e) {
    api_reply_err(r, e, &gerr);
    goto out;
  }
  find_photo_ids(st, p.watchlist, v, nv);
  audit_enrol(r, "person.photos_add", p.id, nv, nok);
  argus_error_detail err = {{0}};
  e = argus_store_person_get(st, p.id, &p, &err);
  if (e) {
    api_reply_err(r, e, &err);
    goto out;
  }
  photos_doc d = {&p, v, nv, nok, "enrolled", NULL};
  api_reply_json(r, 201, photos_doc_json, &d);
out:
  free(ok);
  verdicts_free(v, nv);
  free(f);
}

/* The photo of id `id` into *ph: 1, or 0 after answering 404. */
static int photo_by_id(api_req *r, argus_store *st, argus_store_id id,
                       argus_store_photo *ph) {
  argus_store_photo *one = NULL;
  size_t n = 0;
  argus_error_detail err = {{0}};
  argus_err e = argus_store_photo_list(st, 0, id - 1, 1, &one, &n, &err);
  if (e) {
    api_reply_err(r, e, &err);
    return 0;
  }
  int found = n == 1 && one[0].id == id;
  if (found)
    *ph = one[0];
  argus_store_free(one);
  return api_found(r, found ? ARGUS_OK : ARGUS_E_NOT_FOUND, NULL, "photo", id);
}

API_HANDLER(api_h_person_photo_delete) {
  argus_store *st = api_store(r);
  if (!st)
    return;
  argus_store_person p;
  argus_store_id phid;
  argus_store_photo ph;
  if (!person_of_path(r, st, &p) || !api_param_id(r, 1, "photo", &phid) ||
      !photo_by_id(r, st, phid, &ph))
    return;
  if (ph.person_id != p.id) {
    api_reply_error(r, 404, "not_found", "person %lld has no photo %lld",
                    (long long)p.id, (long long)phid);
    return;
  }
  argus_error_detail err = {{0}};
  argus_err e = argus_store_photo_remove(st, phid, NULL, &err);
  if (e) {
    api_reply_err(r, e, &err);
    return;
  }
  gallery_sync(r, p.id);
  char d[64];
  snprintf(d, sizeof d, "\"person_id\":%lld", (long long)p.id);
  api_audit(r, "photo.delete", "photo", phid, d);
  api_reply_empty(r, 204);
}

API_HANDLER(api_h_photo_image) {
  argus_store *st = api_store(r);
  if (!st)
    return;
  argus_store_id id;
  argus_store_photo ph;
  if (!api_param_id(r, 0, "photo", &id) || !photo_by_id(r, st, id, &ph))
    return;
  void *data = NULL;
  size_t size = 0;
  argus_error_detail err = {{0}};
  argus_err e = argus_store_crop_read(st, ph.crop_sha256, &data, &size, &err);
  if (e) {
    api_reply_err(r, e, &err);
    return;
  }
  char d[64];
  snprintf(d, sizeof d, "\"person_id\":%lld", (long long)ph.person_id);
  api_audit(r, "photo.image", "photo", id, d);
  api_add_header(r, "Cache-Control", "private, no-store");
  api_reply_bytes(r, 200, "image/jpeg", data, size, 0);
  argus_store_free(data);
}

API_HANDLER(api_h_photos_check) {
  verdict *v = NULL;
  int nv = 0, nok = 0;
  form *f = malloc(sizeof *f);
  if (!f) {
    api_reply_error(r, 500, "internal", "out of memory");
    return;
  }
  static const char *const fields[] = {"watchlist", NULL};
  char wbuf[ARGUS_STORE_NAME_MAX];
  const char *wl = NULL;
  argus_store *st = api_store(r);
  if (!st || !photo_form(r, f, fields) ||
      form_text(r, f, "watchlist", wbuf, sizeof wbuf, &wl) < 0)
    goto out;
  if (!wl)
    wl = api_query(r, "watchlist");
  argus_store_watchlist w;
  if (wl && !watchlist_of(r, st, wl, &w))
    goto out;
  if (!engine_ready(r) || !photos_prepare(r, f, &v, &nv) ||
      !refuse_duplicates(r, st, wl ? w.name : NULL, v, nv))
    goto out;
  for (int i = 0; i < nv; i++)
    nok += verdict_ok(&v[i]);
  char d[96];
  snprintf(d, sizeof d, "\"photos\":%d,\"accepted\":%d", nv, nok);
  api_audit(r, "photo.check", wl ? "watchlist" : NULL, wl ? w.id : 0, d);
  photos_doc doc = {NULL, v, nv, nok, "accepted", NULL};
  api_reply_json(r, 200, photos_doc_json, &doc);
out:
  verdicts_free(v, nv);
  free(f);
}

/* ---- identify ------------------------------------------------------------- */

#define MAX_WATCHLISTS 16

typedef struct wl_args {
  char names[MAX_WATCHLISTS][ARGUS_STORE_NAME_MAX];
  const char *ptr[MAX_WATCHLISTS];
  int n;
  int bad; /* 1: too many; 2: too long or empty */
} wl_args;

static enum MHD_Result wl_iter(void *cls, enum MHD_ValueKind kind,
                               const char *key, const char *value) {
  (void)kind;
  wl_args *a = cls;
  if (!key || strcmp(key, "watchlist") != 0)
    return MHD_YES;
  const char *s = value ? value : "";
  for (;;) {
    size_t len = strcspn(s, ",");
    if (len == 0 || len >= ARGUS_STORE_NAME_MAX) {
      a->bad = 2;
      return MHD_NO;
    }
    if (a->n == MAX_WATCHLISTS) {
      a->bad = 1;
      return MHD_NO;
    }
    memcpy(a->names[a->n], s, len);
    a->names[a->n][len] = '\0';
    a->ptr[a->n] = a->names[a->n];
    a->n++;
    if (!s[len])
      break;
    s += len + 1;
  }
  return MHD_YES;
}

typedef struct ident_doc {
  int width, height;
  const argus_face *faces;
  const int *which; /* query of face i, -1: not searched */
  int n, k;
  const argus_gallery_candidate *cands; /* nq * k */
  const int *nfound;
} ident_doc;

static void ident_json(void *user, argus_json *j) {
  const ident_doc *d = user;
  argus_json_obj_begin(j, NULL);
  argus_json_int(j, "width", d->width);
  argus_json_int(j, "height", d->height);
  argus_json_arr_begin(j, "faces");
  for (int i = 0; i < d->n; i++) {
    const argus_face *f = &d->faces[i];
    int q = d->which[i];
    const argus_gallery_candidate *c =
        q >= 0 ? d->cands + (size_t)q * (size_t)d->k : NULL;
    int nc = q >= 0 ? d->nfound[q] : 0;
    argus_json_obj_begin(j, NULL);
    argus_json_arr_begin(j, "box");
    for (int b = 0; b < 4; b++)
      argus_json_num(j, NULL, f->box[b], 1);
    argus_json_arr_end(j);
    argus_json_num(j, "score", f->score, 4);
    if (f->has_quality)
      argus_json_num(j, "quality", f->quality.value, 3);
    else
      argus_json_null(j, "quality");
    argus_json_bool(j, "match", nc > 0 && c[0].match);
    if (nc > 0)
      argus_json_num(j, "threshold", c[0].threshold, 4);
    else
      argus_json_null(j, "threshold");
    argus_json_arr_begin(j, "candidates");
    for (int k = 0; k < nc; k++)
      argus_gallery_candidate_json(&c[k], j);
    argus_json_arr_end(j);
    if (q < 0)
      argus_json_str(j, "skipped", "no landmarks");
    argus_json_obj_end(j);
  }
  argus_json_arr_end(j);
  argus_json_obj_end(j);
}

/* The image of an identify request: one `photo` part, or a raw JPEG/PNG
 * body. 1 with *data and *size (borrowed from the body), or 0 after
 * answering. */
static int identify_image(api_req *r, form *f, const char **data,
                          size_t *size) {
  if (is_multipart(r)) {
    if (!form_read(r, f) || !form_known(r, f, NULL))
      return 0;
    int n = count_photos(f);
    if (n != 1) {
      api_reply_error(r, 400, "bad_request",
                      "field 'photo': expected one photo part, not %d", n);
      return 0;
    }
    for (int i = 0; i < f->n; i++)
      if (strcmp(f->parts[i].name, "photo") == 0) {
        *data = f->parts[i].data;
        *size = f->parts[i].size;
      }
    return 1;
  }
  const char *ct = r->content_type;
  if (strncasecmp(ct, "image/jpeg", 10) == 0 ||
      strncasecmp(ct, "image/png", 9) == 0 ||
      strncasecmp(ct, "application/octet-stream", 24) == 0) {
    *data = r->body;
    *size = r->body_size;
    return 1;
  }
  api_reply_error(r, 415, "unsupported",
                  "body: expected multipart/form-data with a 'photo' part, "
                  "or an image/jpeg or image/png body, not '%.64s'",
                  ct);
  return 0;
}

API_HANDLER(api_h_identify) {
  if (!engine_ready(r))
    return;
  int64_t k = 5;
  if (!api_query_int(r, "k", 1, MAX_K, &k))
    return;
  wl_args *wa = calloc(1, sizeof *wa);
  form *f = malloc(sizeof *f);
  argus_face *faces = calloc(MAX_FACES, sizeof *faces);
  argus_face_engine *eng = api_engine(r->srv);
  const int dim = argus_face_engine_dim(eng);
  float *emb = malloc((size_t)MAX_FACES * (size_t)dim * sizeof *emb);
  float *q = malloc((size_t)MAX_FACES * (size_t)dim * sizeof *q);
  int which[MAX_FACES];
  argus_gallery_candidate *cands =
      malloc((size_t)MAX_FACES * (size_t)k * sizeof *cands);
  int nfound[MAX_FACES];
  argus_image img;
  memset(&img, 0, sizeof img);
  if (!wa || !f || !faces || !emb || !q || !cands) {
    api_reply_error(r, 500, "internal", "out of memory");
    goto out;
  }
  MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, wl_iter, wa);
  if (wa->bad) {
    api_reply_error(r, 400, "bad_request",
                    wa->bad == 1 ? "query parameter 'watchlist': more than "
                                   "16 watchlists"
                                 : "query parameter 'watchlist': an empty or "
                                   "too long name");
    goto out;
  }
  const char *data = NULL;
  size_t size = 0;
  if (!identify_image(r, f, &data, &size))
    goto out;
  argus_error_detail ce = {{0}};
  argus_err e = api_image_check(data, size, 0, NULL, NULL, &ce);
  if (e == ARGUS_E_LIMIT) {
    api_reply_error(r, 413, "too_large", "photo: %s", ce.msg);
    goto out;
  }
  if (e) {
    api_reply_error(r, 400, "bad_request", "photo: unreadable: %s",
                    e == ARGUS_E_UNSUPPORTED ? "not a JPEG or PNG image"
                                             : ce.msg);
    goto out;
  }
  argus_image_error ie = {{0}};
  e = argus_image_decode(data, size, ARGUS_PIX_RGB8, &img, &ie);
  if (e) {
    if (e == ARGUS_E_LIMIT)
      api_reply_error(r, 413, "too_large", "photo: %s", ie.msg);
    else
      api_reply_error(r, 400, "bad_request", "photo: unreadable: %s",
                      ie.msg[0] ? ie.msg : argus_strerror(e));
    goto out;
  }
  argus_face_detect_opts det;
  argus_face_detect_opts_default(&det);
  int n = 0;
  argus_face_error fe = {{0}};
  api_engine_lock(r->srv);
  argus_face_worker *w = api_engine_worker(r->srv);
  e = w ? argus_face_worker_analyze(w, &img, &det,
                                    ARGUS_FACE_DO_LANDMARKS |
                                        ARGUS_FACE_DO_QUALITY |
                                        ARGUS_FACE_DO_EMBED,
                                    faces, MAX_FACES, &n, emb, &fe)
        : ARGUS_E_NOMEM;
  api_engine_unlock(r->srv);
  if (e) {
    api_reply_error(r, 500, "internal", "face analysis: %s",
                    fe.msg[0] ? fe.msg : argus_strerror(e));
    goto out;
  }
  /* Faces whose landmarks failed have no embedding: not searched. */
  int nq = 0;
  for (int i = 0; i < n; i++)
    if (faces[i].npoints == ARGUS_FACE_NPOINTS) {
      memcpy(q + (size_t)nq * dim, emb + (size_t)i * dim,
             (size_t)dim * sizeof *q);
      which[i] = nq++;
    } else
      which[i] = -1;
  int matches = 0;
  if (nq > 0) {
    argus_gallery_search_opts so;
    memset(&so, 0, sizeof so);
    so.watchlists = wa->n ? wa->ptr : NULL;
    so.n_watchlists = (size_t)wa->n;
    argus_gallery_error gerr = {{0}};
    e = argus_gallery_search(api_gallery(r->srv), q, (size_t)nq, (int)k, &so,
                             cands, nfound, &gerr);
    if (e) {
      api_reply_err(r, e, &gerr);
      goto out;
    }
    for (int i = 0; i < nq; i++)
      matches += nfound[i] > 0 && cands[(size_t)i * (size_t)k].match;
  }
  char d[128];
  snprintf(d, sizeof d, "\"faces\":%d,\"matches\":%d,\"k\":%d", n, matches,
           (int)k);
  api_audit(r, "identify", NULL, 0, d);
  ident_doc doc = {img.width, img.height, faces, which,
                   n,         (int)k,     cands, nfound};
  api_reply_json(r, 200, ident_json, &doc);
out:
  argus_image_free(&img);
  free(wa);
  free(f);
  free(faces);
  free(emb);
  free(q);
  free(cands);
}
