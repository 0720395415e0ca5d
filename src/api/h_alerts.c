/* Alerts and operators' decisions on the wire (operator and supervisor see
 * them; an operator decides).
 *
 * The list is the hot route (benchmarked: GET /api/v1/alerts?limit=50 over
 * a million stored alerts): one store query (newest first, by id, with the
 * filters in SQL), one more row than the page to know whether another page
 * follows, and the answer written once into a buffer sized for the page.
 * Filters: since, until (RFC 3339; at or after, before), camera, watchlist,
 * person (names as the alert recorded them), status (pending, confirmed,
 * rejected). Paging: cursor = the last id of the previous page.
 *
 * One alert: the store's members (argus_store_alert_json: score,
 * threshold, photo_id, track_start, ...) with the addresses of its probe
 * crop, frame thumbnail and the enrolled photo it matched, its watchlist's
 * ack_required flag, and its decisions. Crop and thumbnail bytes are read
 * through the store (audited "crop.read") and audited here too with the
 * user and the address.
 *
 * Decisions: the first one wins. The store refuses a decision on an alert
 * that is no longer pending inside the write transaction that would record
 * it, so of two racing operators exactly one gets 201; the other gets 409
 * {"error":"conflict", "message", "decision": the decision that stands}.
 * Under the four-eyes rule the same operator's second confirmation is 409
 * too, with the store's message and their confirmation (still pending).
 * A decision is published on the live stream ("decision"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "argus/gallery.h"
#include "h_util.h"

/* Bytes of JSON per listed alert, for the answer's buffer (an alert with
 * long names and both hashes takes about 550). */
#define ALERT_JSON_EST 640

/* ---- decisions as JSON ------------------------------------------------------ */

/* {"id", "alert_id", "operator", "decision", "comment", "time"} */
static void decision_json(const argus_store_decision *d, const char *key,
                          argus_json *j) {
  argus_json_obj_begin(j, key);
  argus_json_int(j, "id", d->id);
  argus_json_int(j, "alert_id", d->alert_id);
  argus_json_str(j, "operator", d->operator_name);
  argus_json_str(j, "decision", argus_alert_status_name(d->decision));
  argus_json_str(j, "comment", d->comment);
  argus_json_str(j, "time", d->time);
  argus_json_obj_end(j);
}

static void one_decision_json(void *user, argus_json *j) {
  decision_json(user, NULL, j);
}

/* ---- list ------------------------------------------------------------------- */

API_PAGE_ITEM(alert_item, argus_store_alert, argus_store_alert_json)

API_HANDLER(api_h_alerts_list) {
  size_t limit;
  argus_store_id cursor;
  if (!api_page_args(r, &limit, &cursor))
    return;
  argus_store_alert_filter f;
  memset(&f, 0, sizeof f);
  f.before_id = cursor;
  f.limit = limit + 1; /* one more: is there a next page? */
  f.status = -1;
  const char *status = api_query(r, "status");
  if (status) {
    argus_alert_status s;
    if (argus_alert_status_parse(status, &s) != ARGUS_OK) {
      api_reply_error(r, 400, "bad_request",
                      "query parameter 'status' must be pending, confirmed "
                      "or rejected, not '%.32s'",
                      status);
      return;
    }
    f.status = (int)s;
  }
  f.camera = api_query(r, "camera");
  f.watchlist = api_query(r, "watchlist");
  f.person = api_query(r, "person");
  f.since = api_query(r, "since");
  f.until = api_query(r, "until");
  argus_store *st = api_store(r);
  if (!st)
    return;
  argus_store_alert *a = NULL;
  size_t n = 0;
  argus_error_detail err = {{0}};
  argus_err e = argus_store_alert_list(st, &f, &a, &n, &err);
  if (e) {
    /* The store names the parameter ("since: ...", "camera is empty"). */
    if (e == ARGUS_E_INVALID_ARG)
      api_reply_error(r, 400, "bad_request", "query parameter %s",
                      err.msg[0] ? err.msg : "not accepted");
    else
      api_reply_err(r, e, &err);
    return;
  }
  /* Newest first, one row more than the page (is there another?). */
  api_page d = {.item = alert_item};
  api_page_cut(&d, a, n, sizeof *a, offsetof(argus_store_alert, id), 1, 0,
               limit);
  hu_reply_json_sized(r, 200, api_page_json, &d, d.n * ALERT_JSON_EST + 64);
  argus_store_free(a);
}

/* ---- one alert -------------------------------------------------------------- */

/* The alert of path parameter 0: 1, or 0 after answering (404). */
static int alert_of_path(api_req *r, argus_store *st, argus_store_alert *a) {
  argus_store_id id;
  if (!api_param_id(r, 0, "alert", &id))
    return 0;
  argus_error_detail err = {{0}};
  return api_found(r, argus_store_alert_get(st, id, a, &err), &err, "alert",
                   id);
}

typedef struct extra_doc {
  const argus_store_alert *a;
  int ack; /* -1: the watchlist is gone */
  const argus_store_decision *d;
  size_t nd;
} extra_doc;

/* "<API_PREFIX>/<what>/<id>/<tail>", or null when !have. */
static void url_or_null(argus_json *j, const char *key, int have,
                        const char *what, long long id, const char *tail) {
  if (!have) {
    argus_json_null(j, key);
    return;
  }
  char u[96];
  snprintf(u, sizeof u, API_PREFIX "/%s/%lld/%s", what, id, tail);
  argus_json_str(j, key, u);
}

/* The members the detail adds to the store's, as an object. */
static void extra_json(void *user, argus_json *j) {
  const extra_doc *x = user;
  const argus_store_alert *a = x->a;
  long long id = (long long)a->id;
  argus_json_obj_begin(j, NULL);
  int crop = a->crop_sha256[0] != '\0', thumb = a->thumb_sha256[0] != '\0';
  url_or_null(j, "crop_url", crop, "alerts", id, "crop");
  url_or_null(j, "thumb_url", thumb, "alerts", id, "thumb");
  /* The names the live stream's alert events use. */
  url_or_null(j, "crop", crop, "alerts", id, "crop");
  url_or_null(j, "thumb", thumb, "alerts", id, "thumb");
  url_or_null(j, "photo_url", a->photo_id > 0, "photos", (long long)a->photo_id,
              "image");
  if (x->ack < 0)
    argus_json_null(j, "ack_required");
  else
    argus_json_bool(j, "ack_required", x->ack);
  if (x->nd)
    decision_json(&x->d[0], "decision", j);
  else
    argus_json_null(j, "decision");
  argus_json_arr_begin(j, "decisions");
  for (size_t i = 0; i < x->nd; i++)
    decision_json(&x->d[i], NULL, j);
  argus_json_arr_end(j);
  /* Verdict feedback: the four-eyes state ("1 of 2") and the mark of a
   * negative example. */
  argus_json_int(j, "confirmations", a->confirmations);
  argus_json_int(j, "confirmations_needed", a->four_eyes ? 2 : 1);
  if (a->negative_id > 0) {
    argus_json_obj_begin(j, "negative");
    argus_json_int(j, "id", a->negative_id);
    argus_json_num(j, "score", a->negative_score, -6);
    argus_json_obj_end(j);
  } else {
    argus_json_null(j, "negative");
  }
  argus_json_obj_end(j);
}

/* Writes fn's object into a malloc'd buffer: its length, 0 on failure. */
static size_t write_obj(api_json_fn fn, void *user, char **out) {
  size_t cap = 4096;
  for (int tries = 0; tries < 5; tries++, cap *= 4) {
    char *buf = malloc(cap);
    if (!buf)
      return 0;
    argus_json j;
    argus_json_init(&j, buf, cap);
    fn(user, &j);
    size_t n = argus_json_finish(&j);
    if (n) {
      *out = buf;
      return n;
    }
    free(buf);
  }
  return 0;
}

static void store_alert_json(void *user, argus_json *j) {
  argus_store_alert_json(user, j);
}

API_HANDLER(api_h_alert_get) {
  argus_store *st = api_store(r);
  if (!st)
    return;
  argus_store_alert a;
  if (!alert_of_path(r, st, &a))
    return;
  argus_store_decision *d = NULL;
  size_t nd = 0;
  argus_error_detail err = {{0}};
  argus_err e = argus_store_decision_list(st, a.id, &d, &nd, &err);
  if (e) {
    api_reply_err(r, e, &err);
    return;
  }
  extra_doc x = {&a, -1, d, nd};
  argus_store_watchlist w;
  if (a.watchlist_id > 0 &&
      argus_store_watchlist_get(st, a.watchlist, &w, NULL) == ARGUS_OK &&
      w.id == a.watchlist_id)
    x.ack = w.ack_required;
  /* The store's members, then ours: "{...}" + "," + "...}". */
  char *base = NULL, *more = NULL;
  size_t nb = write_obj(store_alert_json, &a, &base);
  size_t nm = nb ? write_obj(extra_json, &x, &more) : 0;
  char *doc = nm ? malloc(nb + nm + 1) : NULL;
  if (!doc) {
    api_reply_error(r, 500, "internal", "the answer could not be written");
  } else {
    memcpy(doc, base, nb - 1);
    size_t k = nb - 1;
    if (nm > 2)
      doc[k++] = ',';
    memcpy(doc + k, more + 1, nm - 1);
    k += nm - 1;
    doc[k] = '\0';
    api_reply_bytes(r, 200, "application/json", doc, k, 1);
  }
  free(base);
  free(more);
  argus_store_free(d);
}

/* Crop or thumbnail bytes of the alert of path parameter 0. */
static void alert_image(api_req *r, int thumb) {
  const char *what = thumb ? "thumbnail" : "crop";
  argus_store *st = api_store(r);
  if (!st)
    return;
  argus_store_alert a;
  if (!alert_of_path(r, st, &a))
    return;
  const char *sha = thumb ? a.thumb_sha256 : a.crop_sha256;
  if (!sha[0]) {
    api_reply_error(r, 404, "not_found", "alert %lld has no %s",
                    (long long)a.id, what);
    return;
  }
  void *data = NULL;
  size_t size = 0;
  argus_error_detail err = {{0}};
  argus_err e = argus_store_crop_read(st, sha, &data, &size, &err);
  if (e == ARGUS_E_NOT_FOUND) {
    api_reply_error(r, 404, "not_found", "the %s of alert %lld is gone", what,
                    (long long)a.id);
    return;
  }
  if (e) {
    api_reply_err(r, e, &err);
    return;
  }
  char detail[128];
  snprintf(detail, sizeof detail, "\"sha256\":\"%s\"", sha);
  api_audit(r, thumb ? "alert.thumb" : "alert.crop", "alert", a.id, detail);
  api_add_header(r, "Cache-Control", "private, no-store");
  api_reply_bytes(r, 200, "image/jpeg", data, size, 0);
  argus_store_free(data);
}

API_HANDLER(api_h_alert_crop) { alert_image(r, 0); }
API_HANDLER(api_h_alert_thumb) { alert_image(r, 1); }

/* ---- decision ----------------------------------------------------------------- */

static const api_field decision_fields[] = {
    {"decision", API_J_STRING, 1, 16},
    {"comment", API_J_STRING | API_J_NULL, 0, ARGUS_STORE_TEXT_MAX - 1},
};

typedef struct conflict_doc {
  const char *msg;
  const argus_store_decision *d; /* NULL: decided without a record */
} conflict_doc;

static void conflict_json(void *user, argus_json *j) {
  const conflict_doc *c = user;
  argus_json_obj_begin(j, NULL);
  argus_json_str(j, "error", "conflict");
  argus_json_str(j, "message", c->msg);
  if (c->d)
    decision_json(c->d, "decision", j);
  else
    argus_json_null(j, "decision");
  argus_json_obj_end(j);
}

/* After the store refused a decision with INVALID_ARG: 409 with the
 * decision that stands when the alert is no longer pending; 409 with the
 * operator's own confirmation when the four-eyes rule refused their second
 * one (the state conflicts, the request is well formed); else 400 with the
 * store's message. */
static void refused(api_req *r, argus_store *st, argus_store_id id,
                    const char *op, argus_alert_status s,
                    const argus_error_detail *why) {
  argus_store_alert a;
  argus_error_detail err = {{0}};
  argus_err e = argus_store_alert_get(st, id, &a, &err);
  if (e) {
    api_reply_err(r, e, &err);
    return;
  }
  argus_store_decision *d = NULL;
  size_t nd = 0;
  argus_store_decision_list(st, id, &d, &nd, NULL);
  const argus_store_decision *stands = nd ? &d[0] : NULL;
  if (a.status == ARGUS_ALERT_PENDING) {
    stands = NULL;
    if (a.four_eyes && s == ARGUS_ALERT_CONFIRMED)
      for (size_t i = 0; i < nd && !stands; i++)
        if (d[i].decision == ARGUS_ALERT_CONFIRMED &&
            strcmp(d[i].operator_name, op) == 0)
          stands = &d[i];
    if (!stands) {
      argus_store_free(d);
      api_reply_err(r, ARGUS_E_INVALID_ARG, why);
      return;
    }
  }
  char msg[512];
  argus_utf8_sanitize(why->msg[0] ? why->msg : "the alert is already decided",
                      msg, sizeof msg);
  conflict_doc c = {msg, stands};
  api_reply_json(r, 409, conflict_json, &c);
  argus_store_free(d);
}

static void publish_decision(api_req *r, const argus_store_decision *d) {
  char buf[2048 + ARGUS_STORE_TEXT_MAX * 6];
  argus_json j;
  argus_json_init(&j, buf, sizeof buf);
  decision_json(d, NULL, &j);
  size_t n = argus_json_finish(&j);
  if (n)
    api_event_publish(r->srv, "decision", buf, n);
}

API_HANDLER(api_h_alert_decision) {
  argus_store_id id;
  if (!api_param_id(r, 0, "alert", &id))
    return;
  cJSON *body = hu_body(r, decision_fields, 2);
  if (!body)
    return;
  argus_store_decision *list = NULL;
  size_t nlist = 0;
  const char *dec = hu_get(body, "decision")->valuestring;
  const cJSON *cm = hu_get(body, "comment");
  const char *comment = cJSON_IsString(cm) ? cm->valuestring : NULL;
  argus_alert_status s;
  if (argus_alert_status_parse(dec, &s) != ARGUS_OK ||
      s == ARGUS_ALERT_PENDING) {
    api_reply_error(r, 400, "bad_request",
                    "field 'decision' must be 'confirmed' or 'rejected', not "
                    "'%.32s'",
                    dec);
    goto out;
  }
  /* The comment's own problems are 400 whatever the alert's state. */
  if (comment) {
    int bad = !argus_utf8_valid(comment, strlen(comment));
    for (const unsigned char *p = (const unsigned char *)comment; *p && !bad;
         p++)
      bad = (*p < 0x20 && *p != '\n' && *p != '\t') || *p == 0x7f;
    if (bad) {
      api_reply_error(r, 400, "bad_request",
                      "field 'comment' holds control characters or invalid "
                      "UTF-8");
      goto out;
    }
  }
  argus_store *st = api_store(r);
  if (!st)
    goto out;
  argus_store_verdict vd;
  memset(&vd, 0, sizeof vd);
  argus_error_detail err = {{0}};
  /* The four-eyes rule of the alert's watchlist applies (a first
   * confirmation leaves it pending; GET /alerts/{id} says "confirmations"). */
  argus_err e =
      argus_store_decision_add_ex(st, id, r->user.name, s, comment, &vd, &err);
  argus_store_id did = vd.decision_id;
  if (e == ARGUS_E_NOT_FOUND) {
    api_reply_error(r, 404, "not_found", "no alert with id %lld",
                    (long long)id);
    goto out;
  }
  if (e == ARGUS_E_INVALID_ARG) {
    refused(r, st, id, r->user.name, s, &err);
    goto out;
  }
  if (e) {
    api_reply_err(r, e, &err);
    goto out;
  }
  /* Verdict feedback: the running gallery learns of the person's new
   * negative example at once (the pipeline's change feed would also bring
   * it, at its next poll). */
  if (vd.negative_id > 0) {
    argus_store_alert al;
    argus_gallery *g = api_gallery(r->srv);
    argus_gallery_error gerr = {{0}};
    if (g && argus_store_alert_get(st, id, &al, NULL) == ARGUS_OK &&
        al.person_id > 0 &&
        argus_gallery_sync_person(g, al.person_id, &gerr) != ARGUS_OK)
      argus_log(ARGUS_LOG_WARN, API_MOD,
                "alert %lld: the gallery did not take the new negative "
                "example yet: %s",
                (long long)id, gerr.msg);
  }
  char detail[64];
  snprintf(detail, sizeof detail, "\"decision\":\"%s\"",
           argus_alert_status_name(s));
  api_audit(r, "api.alert.decision", "alert", id, detail);
  e = argus_store_decision_list(st, id, &list, &nlist, &err);
  const argus_store_decision *mine = NULL;
  for (size_t i = 0; e == ARGUS_OK && i < nlist; i++)
    if (list[i].id == did)
      mine = &list[i];
  if (!mine) {
    api_reply_err(r, e ? e : ARGUS_E_INTERNAL, &err);
    goto out;
  }
  publish_decision(r, mine);
  char loc[80];
  snprintf(loc, sizeof loc, API_PREFIX "/alerts/%lld", (long long)id);
  api_add_header(r, "Location", loc);
  api_reply_json(r, 201, one_decision_json, (void *)mine);
out:
  argus_store_free(list);
  cJSON_Delete(body);
}
