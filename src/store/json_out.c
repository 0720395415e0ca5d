/* JSON output of store records, with the core writer (argus_json): what the
 * CLI's --json listings print and what the REST API will send. One record,
 * one object, the same members everywhere. */
#include <math.h>
#include <string.h>

#include "store_internal.h"

/* A JSON text the store keeps (camera settings, audit details: validated
 * when written) as a value; text that is not valid JSON (a database
 * written by hand) goes out as null rather than breaking the document. */
static void kept_json(argus_json *j, const char *key, const char *text) {
  size_t n = strlen(text);
  if (n && argus_json_validate(text, n, 0, NULL) == ARGUS_OK)
    argus_json_raw(j, key, text, n);
  else
    argus_json_null(j, key);
}

/* A row id, or null for 0 (none). */
static void id_or_null(argus_json *j, const char *key, argus_store_id id) {
  if (id > 0)
    argus_json_int(j, key, id);
  else
    argus_json_null(j, key);
}

/* A string, or null when empty. */
static void str_or_null(argus_json *j, const char *key, const char *s) {
  if (s[0])
    argus_json_str(j, key, s);
  else
    argus_json_null(j, key);
}

void argus_store_watchlist_json(const argus_store_watchlist *w, argus_json *j) {
  argus_json_obj_begin(j, NULL);
  argus_json_int(j, "id", w->id);
  argus_json_str(j, "name", w->name);
  argus_json_num(j, "threshold", w->threshold, -6); /* NAN: null */
  argus_json_str(j, "colour", w->colour);
  argus_json_bool(j, "active", w->active);
  argus_json_bool(j, "ack_required", w->ack_required);
  argus_json_int(j, "persons", w->persons);
  argus_json_str(j, "created", w->created);
  argus_json_str(j, "updated", w->updated);
  argus_json_str(j, "purpose", w->purpose);
  argus_json_str(j, "legal_ref", w->legal_ref);
  argus_json_str(j, "owner", w->owner);
  str_or_null(j, "expires", w->expires);
  argus_json_bool(j, "expired", w->expired);
  argus_json_obj_end(j);
}

void argus_store_person_json(const argus_store_person *p, argus_json *j) {
  argus_json_obj_begin(j, NULL);
  argus_json_int(j, "id", p->id);
  argus_json_str(j, "watchlist", p->watchlist);
  argus_json_str(j, "name", p->name);
  str_or_null(j, "external_id", p->external_id);
  argus_json_str(j, "notes", p->notes);
  argus_json_int(j, "photos", p->photos);
  argus_json_int(j, "templates", p->templates);
  argus_json_str(j, "created", p->created);
  argus_json_str(j, "updated", p->updated);
  argus_json_str(j, "reason", p->reason);
  str_or_null(j, "review_by", p->review_by);
  argus_json_str(j, "review", argus_store_review_name(p->review));
  argus_json_obj_end(j);
}

void argus_store_camera_json(const argus_store_camera *c, argus_json *j) {
  char red[ARGUS_STORE_TEXT_MAX];
  argus_store_url_redact(c->url, red, sizeof red);
  argus_json_obj_begin(j, NULL);
  argus_json_int(j, "id", c->id);
  argus_json_str(j, "name", c->name);
  argus_json_str(j, "url", red);
  kept_json(j, "settings", c->settings);
  argus_json_bool(j, "enabled", c->enabled);
  argus_json_str(j, "created", c->created);
  argus_json_obj_end(j);
}

void argus_store_audit_json(const argus_store_audit *a, argus_json *j) {
  argus_json_obj_begin(j, NULL);
  argus_json_int(j, "id", a->id);
  argus_json_str(j, "time", a->time);
  argus_json_str(j, "actor", a->actor);
  argus_json_str(j, "action", a->action);
  argus_json_str(j, "object_type", a->object_type);
  id_or_null(j, "object_id", a->object_id);
  kept_json(j, "detail", a->detail);
  argus_json_obj_end(j);
}

void argus_store_alert_json(const argus_store_alert *a, argus_json *j) {
  argus_json_obj_begin(j, NULL);
  argus_json_int(j, "id", a->id);
  argus_json_str(j, "camera", a->camera);
  id_or_null(j, "camera_id", a->camera_id);
  argus_json_str(j, "time", a->time);
  argus_json_num(j, "media_time", a->media_time, 3);
  argus_json_int(j, "track", a->track_id);
  argus_json_str(j, "watchlist", a->watchlist);
  id_or_null(j, "watchlist_id", a->watchlist_id);
  argus_json_str(j, "person", a->person);
  id_or_null(j, "person_id", a->person_id);
  argus_json_num(j, "score", a->score, 4);
  str_or_null(j, "crop_sha256", a->crop_sha256);
  str_or_null(j, "thumb_sha256", a->thumb_sha256);
  argus_json_str(j, "status", argus_alert_status_name(a->status));
  argus_json_num(j, "threshold", a->threshold, 4); /* NAN: null */
  id_or_null(j, "photo_id", a->photo_id);
  argus_json_num(j, "track_start", a->track_start, 3); /* NAN: null */
  argus_json_obj_end(j);
}
