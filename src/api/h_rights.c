/* Subject requests on the wire (admin only; docs/lawful-use.md):
 * GET /persons/{id}/export answers the store's export document (everything
 * but the files: those stay reachable through /photos/{id}/image and
 * /alerts/{id}/crop|thumb while the person exists), POST /persons/{id}/erase
 * erases the person and drops it from this server's index at once (other
 * processes learn it from the change feed's "person.erase" row). Both are
 * audited by the store in their own transaction ("subject.export",
 * "person.erase"), with the caller as the actor. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_server.h"
#include "argus/gallery.h"
#include "h_util.h"

API_HANDLER(api_h_person_export) {
  argus_store_id id;
  if (!api_param_id(r, 0, "person", &id))
    return;
  argus_store *st = api_store(r);
  if (!st)
    return;
  char *json = NULL;
  size_t n = 0;
  argus_error_detail err = {{0}};
  argus_err e = argus_store_person_export(st, id, &json, &n, NULL, NULL, &err);
  if (!api_found(r, e, &err, "person", id))
    return;
  api_reply_raw_json(r, 200, json, n);
  argus_store_free(json);
}

static void erased_json(void *user, argus_json *j) {
  const argus_store_erase_counts *c = user;
  argus_json_obj_begin(j, NULL);
  argus_json_int(j, "templates", c->templates);
  argus_json_int(j, "photos", c->photos);
  argus_json_int(j, "alerts", c->alerts);
  argus_json_int(j, "decisions", c->decisions);
  argus_json_int(j, "events", c->events);
  argus_json_int(j, "deadletters", c->deadletters);
  argus_json_int(j, "files", c->files);
  argus_json_int(j, "audit_redacted", c->audit_redacted);
  argus_json_int(j, "audit_id", c->audit_id);
  argus_json_obj_end(j);
}

API_HANDLER(api_h_person_erase) {
  argus_store_id id;
  if (!api_param_id(r, 0, "person", &id))
    return;
  argus_store *st = api_store(r);
  if (!st)
    return;
  argus_store_erase_counts c;
  argus_error_detail err = {{0}};
  argus_err e = argus_store_person_erase(st, id, &c, &err);
  if (!api_found(r, e, &err, "person", id))
    return;
  argus_gallery *g = api_gallery(r->srv);
  if (g) {
    argus_gallery_error gerr = {{0}};
    e = argus_gallery_sync_person(g, id, &gerr);
    if (e)
      argus_log(ARGUS_LOG_ERROR, API_MOD,
                "person %lld erased, index not updated: %s", (long long)id,
                gerr.msg[0] ? gerr.msg : argus_strerror(e));
  }
  api_reply_json(r, 200, erased_json, &c);
}
