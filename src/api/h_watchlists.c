/* Watchlists on the wire (supervisor changes them; admin, supervisor and
 * operator see them).
 *
 * A watchlist is addressed by its numeric id; its JSON is the store's
 * (argus_store_watchlist_json: threshold null for the embedder's
 * calibrated default, colour, active, ack_required, the number of persons).
 * A duplicate name is 409 "conflict". A watchlist cannot be renamed (the
 * store keys alerts and enrolment by name): "name" in a PATCH must be the
 * current one.
 *
 * Every change is followed by the running pipeline: the gallery (whose
 * index the matcher searches) is reloaded when a change alters what is
 * searched (threshold, active, delete), and a "watchlist.change" live event
 * is published ({"what":"watchlist", "action":"watchlist.create" |
 * "watchlist.update" | "watchlist.delete", "watchlist", "watchlist_id",
 * "user"}). Deleting a watchlist deletes its persons, photos, templates
 * and their unreferenced crops (argus_store_watchlist_delete; the gallery
 * has no watchlist delete of its own, so its index is reloaded after).
 *
 * The legal basis (docs/lawful-use.md): "purpose", "legal_ref", "owner" and
 * "expires" in the bodies and the JSON. An expired watchlist is read-only:
 * a PATCH without "expires" (the renewal) answers 409 "read_only". */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "argus/gallery.h"
#include "h_util.h"

/* ---- JSON, lookups ---------------------------------------------------------- */

/* ---- verdict feedback ---- */
/* The store's watchlist JSON with the verdict settings added ("four_eyes",
 * "negatives"), and with `stats` (may be NULL) a "verdicts" object. */
static void wl_json_ext(const argus_store_watchlist *w,
                        const argus_store_verdict_stats *stats, argus_json *j) {
  char buf[16384];
  argus_json b;
  argus_json_init(&b, buf, sizeof buf);
  argus_store_watchlist_json(w, &b);
  size_t n = argus_json_finish(&b);
  if (n < 2) {
    argus_store_watchlist_json(w, j); /* cannot happen: fields are bounded */
    return;
  }
  char more[1024];
  argus_json m;
  argus_json_init(&m, more, sizeof more);
  argus_json_obj_begin(&m, NULL);
  argus_json_bool(&m, "four_eyes", w->four_eyes);
  argus_json_str(&m, "negatives", w->negatives);
  if (stats) {
    argus_json_obj_begin(&m, "verdicts");
    argus_json_int(&m, "alerts", stats->alerts);
    argus_json_int(&m, "pending", stats->pending);
    argus_json_int(&m, "awaiting_second", stats->awaiting_second);
    argus_json_int(&m, "confirmed", stats->confirmed);
    argus_json_int(&m, "rejected", stats->rejected);
    argus_json_num(&m, "threshold", stats->threshold, -6);
    argus_json_num(&m, "false_alarm_rate", stats->far, -6);
    argus_json_int(&m, "negatives", stats->negatives);
    argus_json_int(&m, "suppressions", stats->suppressions);
    argus_json_int(&m, "marked", stats->marked);
    argus_json_num(&m, "target_far", stats->target_far, -6);
    argus_json_num(&m, "suggested_threshold", stats->suggested, -6);
    argus_json_int(&m, "decided", stats->decided);
    argus_json_obj_end(&m);
  }
  argus_json_obj_end(&m);
  size_t nm = argus_json_finish(&m);
  /* "{...}" + "," + "...}" */
  char *doc = nm ? malloc(n + nm + 1) : NULL;
  if (!doc) {
    argus_json_raw(j, NULL, buf, n);
    return;
  }
  memcpy(doc, buf, n - 1);
  doc[n - 1] = ',';
  memcpy(doc + n, more + 1, nm - 1);
  argus_json_raw(j, NULL, doc, n + nm - 1);
  free(doc);
}

static void wl_json_plain(const argus_store_watchlist *w, argus_json *j) {
  wl_json_ext(w, NULL, j);
}

typedef struct wl_doc {
  const argus_store_watchlist *w;
  const argus_store_verdict_stats *stats;
} wl_doc;

static void wl_doc_json(void *user, argus_json *j) {
  const wl_doc *d = user;
  wl_json_ext(d->w, d->stats, j);
}
/* ---- end verdict feedback ---- */

static void one_json(void *user, argus_json *j) { wl_json_plain(user, j); }

API_PAGE_ITEM(watchlist_item, argus_store_watchlist, wl_json_plain)

/* The watchlist of path parameter 0 into *out: 1, or 0 after answering
 * (404 for a malformed or unknown id). */
static int watchlist_of_path(api_req *r, argus_store *st,
                             argus_store_watchlist *out) {
  argus_store_id id;
  if (!api_param_id(r, 0, "watchlist", &id))
    return 0;
  argus_store_watchlist *all = NULL;
  size_t n = 0;
  argus_error_detail err = {{0}};
  argus_err e = argus_store_watchlist_list(st, &all, &n, &err);
  if (e) {
    api_reply_err(r, e, &err);
    return 0;
  }
  const argus_store_watchlist *row = api_row_find(
      all, n, sizeof *all, offsetof(argus_store_watchlist, id), id);
  if (row)
    *out = *row;
  argus_store_free(all);
  return api_found(r, row ? ARGUS_OK : ARGUS_E_NOT_FOUND, NULL, "watchlist",
                   id);
}

/* ---- following the change ---------------------------------------------------- */

/* The running matcher searches the gallery's index: it is reloaded so the
 * change applies at once (the pipeline's change feed would also catch it,
 * within its polling interval). */
static void gallery_follow(api_req *r, const char *name) {
  argus_gallery *g = api_gallery(r->srv);
  if (!g)
    return;
  argus_gallery_error gerr = {{0}};
  argus_err e = argus_gallery_reload(g, &gerr);
  if (e)
    argus_log(ARGUS_LOG_ERROR, API_MOD,
              "watchlist '%s': index not reloaded: %s", name,
              gerr.msg[0] ? gerr.msg : argus_strerror(e));
}

static void publish_change(api_req *r, const char *action, const char *name,
                           argus_store_id id) {
  char buf[512];
  argus_json j;
  argus_json_init(&j, buf, sizeof buf);
  argus_json_obj_begin(&j, NULL);
  argus_json_str(&j, "what", "watchlist");
  argus_json_str(&j, "action", action);
  argus_json_str(&j, "watchlist", name);
  argus_json_int(&j, "watchlist_id", id);
  argus_json_str(&j, "user", r->authed ? r->user.name : NULL);
  argus_json_obj_end(&j);
  size_t n = argus_json_finish(&j);
  if (n)
    api_event_publish(r->srv, "watchlist.change", buf, n);
}

/* ---- input ---------------------------------------------------------------- */

/* "#rrggbb". */
static int colour_ok(api_req *r, const char *c) {
  int ok = strlen(c) == 7 && c[0] == '#';
  for (int i = 1; ok && i < 7; i++)
    ok = (c[i] >= '0' && c[i] <= '9') || (c[i] >= 'a' && c[i] <= 'f') ||
         (c[i] >= 'A' && c[i] <= 'F');
  if (!ok)
    api_reply_error(r, 400, "bad_request",
                    "field 'colour' must be \"#rrggbb\", not '%.32s'", c);
  return ok;
}

/* "threshold": a number in [-1, 1], or null (the model's default: NAN). */
static int threshold_of(api_req *r, const cJSON *v, double *out) {
  if (cJSON_IsNull(v)) {
    *out = NAN;
    return 1;
  }
  double t = v->valuedouble;
  if (!isfinite(t) || t < -1.0 || t > 1.0) {
    api_reply_error(r, 400, "bad_request",
                    "field 'threshold' must be a number in [-1, 1] or null, "
                    "not %g",
                    t);
    return 0;
  }
  *out = t;
  return 1;
}

/* ---- handlers --------------------------------------------------------------- */

API_HANDLER(api_h_watchlists_list) {
  size_t limit;
  argus_store_id cursor;
  if (!api_page_args(r, &limit, &cursor))
    return;
  argus_store *st = api_store(r);
  if (!st)
    return;
  argus_store_watchlist *all = NULL;
  size_t n = 0;
  argus_error_detail err = {{0}};
  argus_err e = argus_store_watchlist_list(st, &all, &n, &err);
  if (e) {
    api_reply_err(r, e, &err);
    return;
  }
  /* In id order, so that a cursor (the last id) pages stably. */
  api_page d = {.item = watchlist_item};
  api_page_cut(&d, all, n, sizeof *all, offsetof(argus_store_watchlist, id), 0,
               cursor, limit);
  api_reply_json(r, 200, api_page_json, &d);
  argus_store_free(all);
}

/* The legal-basis members of a body into *in (borrowing the strings; "expires"
 * null: "" = no expiry). */
static void legal_of(const cJSON *body, argus_store_legal_in *in) {
  const cJSON *v;
  memset(in, 0, sizeof *in);
  if ((v = hu_get(body, "purpose")))
    in->purpose = v->valuestring;
  if ((v = hu_get(body, "legal_ref")))
    in->legal_ref = v->valuestring;
  if ((v = hu_get(body, "owner")))
    in->owner = v->valuestring;
  if ((v = hu_get(body, "expires")))
    in->expires = cJSON_IsNull(v) ? "" : v->valuestring;
}

static const api_field create_fields[] = {
    {"name", API_J_STRING, 1, ARGUS_STORE_NAME_MAX - 1},
    {"threshold", API_J_NUMBER | API_J_NULL, 0, 0},
    {"colour", API_J_STRING, 0, ARGUS_STORE_COLOUR_MAX - 1},
    {"ack_required", API_J_BOOL, 0, 0},
    {"active", API_J_BOOL, 0, 0},
    {"purpose", API_J_STRING, 0, ARGUS_STORE_TEXT_MAX - 1},
    {"legal_ref", API_J_STRING, 0, ARGUS_STORE_TEXT_MAX - 1},
    {"owner", API_J_STRING, 0, ARGUS_STORE_NAME_MAX - 1},
    {"expires", API_J_STRING | API_J_NULL, 0, ARGUS_STORE_TIME_MAX + 32},
    {"four_eyes", API_J_BOOL, 0, 0},    /* verdict feedback */
    {"negatives", API_J_STRING, 0, 16}, /* verdict feedback */
};

API_HANDLER(api_h_watchlists_create) {
  argus_store *st = api_store(r);
  if (!st)
    return;
  cJSON *body = hu_body(r, create_fields, 9);
  if (!body)
    return;
  const char *name = hu_get(body, "name")->valuestring;
  const cJSON *th = hu_get(body, "threshold"), *co = hu_get(body, "colour"),
              *ack = hu_get(body, "ack_required"),
              *act = hu_get(body, "active");
  double threshold = NAN;
  if (!hu_name_ok(r, "name", name) ||
      (th && !threshold_of(r, th, &threshold)) ||
      (co && !colour_ok(r, co->valuestring)))
    goto out;
  argus_store_watchlist w;
  argus_error_detail err = {{0}};
  if (argus_store_watchlist_get(st, name, &w, NULL) == ARGUS_OK) {
    api_reply_error(r, 409, "conflict", "watchlist '%s' already exists", name);
    goto out;
  }
  argus_store_legal_in legal;
  legal_of(body, &legal);
  argus_err e = argus_store_watchlist_create_legal(
      st, name, threshold, co ? co->valuestring : NULL, &legal, NULL, &err);
  if (e) {
    api_reply_err(r, e, &err); /* "already exists": 409 */
    goto out;
  }
  /* The flags are separate writes: undone (the watchlist removed) when one
   * fails, so nothing is stored half. */
  if (ack && cJSON_IsTrue(ack))
    e = argus_store_watchlist_set_ack(st, name, 1, &err);
  if (!e && act && !cJSON_IsTrue(act))
    e = argus_store_watchlist_set_active(st, name, 0, &err);
  if (!e)
    e = argus_store_watchlist_get(st, name, &w, &err);
  if (e) {
    argus_store_watchlist_delete(st, name, NULL);
    api_reply_err(r, e, &err);
    goto out;
  }
  gallery_follow(r, name);
  publish_change(r, "watchlist.create", name, w.id);
  char loc[64];
  snprintf(loc, sizeof loc, API_PREFIX "/watchlists/%lld", (long long)w.id);
  api_add_header(r, "Location", loc);
  api_reply_json(r, 201, one_json, &w);
out:
  cJSON_Delete(body);
}

API_HANDLER(api_h_watchlist_get) {
  argus_store *st = api_store(r);
  if (!st)
    return;
  argus_store_watchlist w;
  if (!watchlist_of_path(r, st, &w))
    return;
  /* Verdict statistics at the threshold in effect (its own, else the
   * running gallery's default), for a target false-alarm rate of 5 %. */
  double thr = w.threshold;
  argus_gallery *g = api_gallery(r->srv);
  float gt = 0;
  if (isnan(thr) && g && argus_gallery_threshold(g, w.name, &gt, NULL) == 0)
    thr = gt;
  argus_store_verdict_stats vs;
  argus_error_detail err = {{0}};
  argus_err e = argus_store_verdict_stats_get(st, w.name, thr, 0.05, &vs, &err);
  if (e) {
    api_reply_err(r, e, &err);
    return;
  }
  wl_doc d = {&w, &vs};
  api_reply_json(r, 200, wl_doc_json, &d);
}

static const api_field patch_fields[] = {
    {"name", API_J_STRING, 0, ARGUS_STORE_NAME_MAX - 1},
    {"threshold", API_J_NUMBER | API_J_NULL, 0, 0},
    {"colour", API_J_STRING, 0, ARGUS_STORE_COLOUR_MAX - 1},
    {"ack_required", API_J_BOOL, 0, 0},
    {"active", API_J_BOOL, 0, 0},
    {"fpir", API_J_NUMBER, 0, 0},
    {"purpose", API_J_STRING, 0, ARGUS_STORE_TEXT_MAX - 1},
    {"legal_ref", API_J_STRING, 0, ARGUS_STORE_TEXT_MAX - 1},
    {"owner", API_J_STRING, 0, ARGUS_STORE_NAME_MAX - 1},
    {"expires", API_J_STRING | API_J_NULL, 0, ARGUS_STORE_TIME_MAX + 32},
    {"four_eyes", API_J_BOOL, 0, 0},    /* verdict feedback */
    {"negatives", API_J_STRING, 0, 16}, /* verdict feedback */
};

API_HANDLER(api_h_watchlist_update) {
  argus_store *st = api_store(r);
  if (!st)
    return;
  argus_store_watchlist w;
  if (!watchlist_of_path(r, st, &w))
    return;
  cJSON *body = hu_body(r, patch_fields, 12);
  if (!body)
    return;
  const cJSON *nm = hu_get(body, "name"), *th = hu_get(body, "threshold"),
              *co = hu_get(body, "colour"), *ack = hu_get(body, "ack_required"),
              *act = hu_get(body, "active"), *fp = hu_get(body, "fpir");
  const cJSON *fe4 = hu_get(body, "four_eyes"),
              *neg = hu_get(body, "negatives");
  argus_store_legal_in legal;
  legal_of(body, &legal);
  int set_legal =
      legal.purpose || legal.legal_ref || legal.owner || legal.expires;
  double threshold = NAN;
  if (!nm && !th && !co && !ack && !act && !fp && !set_legal && !fe4 && !neg) {
    api_reply_error(r, 400, "bad_request",
                    "body: nothing to change (threshold, fpir, colour, "
                    "ack_required, active, purpose, legal_ref, owner, "
                    "expires, four_eyes, negatives)");
    goto out;
  }
  if (neg && strcmp(neg->valuestring, "off") != 0 &&
      strcmp(neg->valuestring, "suppress") != 0 &&
      strcmp(neg->valuestring, "mark") != 0) {
    api_reply_error(r, 400, "bad_request",
                    "field 'negatives' must be 'off', 'suppress' or 'mark', "
                    "not '%.32s'",
                    neg->valuestring);
    goto out;
  }
  /* An expired list is read-only: only a renewal ("expires") opens it. */
  if (w.expired && !legal.expires) {
    api_reply_error(r, 409, "read_only",
                    "watchlist '%s' expired at %s and is read-only: renew "
                    "it with \"expires\" (a future date, or null) or delete "
                    "it",
                    w.name, w.expires);
    goto out;
  }
  if (nm && strcmp(nm->valuestring, w.name) != 0) {
    api_reply_error(r, 400, "bad_request",
                    "field 'name': a watchlist cannot be renamed");
    goto out;
  }
  /* Every value is checked before the first write. */
  if ((th && !threshold_of(r, th, &threshold)) ||
      (co && !colour_ok(r, co->valuestring)))
    goto out;
  if (fp) {
    /* The threshold for a target FPIR at the watchlist's size, from the
     * embedder card (argus_gallery_threshold_for_fpir). */
    argus_face_engine *eng = api_engine(r->srv);
    float t = 0;
    argus_error_detail ge = {{0}};
    if (th) {
      api_reply_error(r, 400, "bad_request",
                      "fields 'threshold' and 'fpir' both set the threshold: "
                      "give one");
      goto out;
    }
    if (!(fp->valuedouble > 0 && fp->valuedouble < 1)) {
      api_reply_error(r, 400, "bad_request",
                      "field 'fpir' must be a rate in (0, 1), e.g. 0.001");
      goto out;
    }
    if (!eng) {
      api_reply_error(r, 503, "unavailable",
                      "field 'fpir' needs the embedder card: the server runs "
                      "without face models");
      goto out;
    }
    argus_err fe = argus_gallery_threshold_for_fpir(
        argus_face_engine_card(eng, ARGUS_FACE_MODEL_EMBEDDER), fp->valuedouble,
        w.persons > 0 ? w.persons : 1, &t, NULL, &ge);
    if (fe) {
      api_reply_err(r, fe, &ge);
      goto out;
    }
    threshold = t;
    th = fp;
  }
  argus_error_detail err = {{0}};
  argus_err e = ARGUS_OK;
  /* The legal basis first: the renewal is what lets the rest be written. */
  if (set_legal)
    e = argus_store_watchlist_set_legal(st, w.name, &legal, &err);
  if (!e && th)
    e = argus_store_watchlist_set_threshold(st, w.name, threshold, &err);
  if (!e && co)
    e = argus_store_watchlist_set_colour(st, w.name, co->valuestring, &err);
  if (!e && ack)
    e = argus_store_watchlist_set_ack(st, w.name, cJSON_IsTrue(ack), &err);
  if (!e && act)
    e = argus_store_watchlist_set_active(st, w.name, cJSON_IsTrue(act), &err);
  if (!e && (fe4 || neg))
    e = argus_store_watchlist_set_verdicts(st, w.name,
                                           fe4 ? cJSON_IsTrue(fe4) : -1,
                                           neg ? neg->valuestring : NULL, &err);
  if (e) {
    api_reply_err(r, e, &err);
    goto out;
  }
  if (th || act || legal.expires || neg)
    gallery_follow(r, w.name);
  if (th || co || ack || act || set_legal || fe4 || neg)
    publish_change(r, "watchlist.update", w.name, w.id);
  e = argus_store_watchlist_get(st, w.name, &w, &err);
  if (e) {
    api_reply_err(r, e, &err);
    goto out;
  }
  api_reply_json(r, 200, one_json, &w);
out:
  cJSON_Delete(body);
}

API_HANDLER(api_h_watchlist_delete) {
  argus_store *st = api_store(r);
  if (!st)
    return;
  argus_store_watchlist w;
  if (!watchlist_of_path(r, st, &w))
    return;
  argus_error_detail err = {{0}};
  argus_err e = argus_store_watchlist_delete(st, w.name, &err);
  if (e) {
    api_reply_err(r, e, &err);
    return;
  }
  gallery_follow(r, w.name);
  char d[64];
  snprintf(d, sizeof d, "\"persons\":%lld", (long long)w.persons);
  /* With the address (the store's own row has the user); not named
   * "watchlist.*", which the change feed would take for another change. */
  api_audit(r, "api.watchlist.delete", "watchlist", w.id, d);
  publish_change(r, "watchlist.delete", w.name, w.id);
  api_reply_empty(r, 204);
}
