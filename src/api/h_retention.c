/* Retention on the wire (docs/lawful-use.md, "Retention"): the lifetime of
 * each class of stored data (read: admin, auditor; change: admin) and a
 * purge on demand, or a dry run that lists what would go (admin). The
 * server also purges periodically (argus serve --purge-every). */
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"
#include "h_util.h"

static void retention_json(void *user, argus_json *j) {
  const argus_store_retention *rt = user;
  argus_json_obj_begin(j, NULL);
  for (int c = 0; c < ARGUS_RETAIN_N; c++)
    argus_json_int(j, argus_retention_class_name(c), rt->seconds[c]);
  argus_json_obj_end(j);
}

API_HANDLER(api_h_retention_get) {
  argus_store *st = api_store(r);
  if (!st)
    return;
  argus_store_retention rt;
  argus_error_detail err = {{0}};
  argus_err e = argus_store_retention_get(st, &rt, &err);
  if (e) {
    api_reply_err(r, e, &err);
    return;
  }
  api_reply_json(r, 200, retention_json, &rt);
}

/* {"alerts": 2592000, "audit": 0, ...}: seconds, 0 to keep the class until
 * removed by hand; classes not named stay as they are. All are checked
 * before any changes; each change is its own audited transaction. */
API_HANDLER(api_h_retention_update) {
  static const api_field fields[ARGUS_RETAIN_N] = {
      {"alerts", API_J_INT, 0, 0},    {"decisions", API_J_INT, 0, 0},
      {"unmatched", API_J_INT, 0, 0}, {"audit", API_J_INT, 0, 0},
      {"exports", API_J_INT, 0, 0},   {"events", API_J_INT, 0, 0},
      {"negatives", API_J_INT, 0, 0}};
  _Static_assert(ARGUS_RETAIN_N == 7, "a field per retention class");
  cJSON *body = hu_body(r, fields, ARGUS_RETAIN_N);
  if (!body)
    return;
  int64_t want[ARGUS_RETAIN_N];
  int given[ARGUS_RETAIN_N] = {0}, any = 0;
  for (int c = 0; c < ARGUS_RETAIN_N; c++) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(
        body, argus_retention_class_name(c));
    if (!v)
      continue;
    double d = v->valuedouble;
    if (d != 0 && (d < ARGUS_RETENTION_MIN_S ||
                   d > (double)ARGUS_RETENTION_MAX_S)) {
      api_reply_error(r, 400, "bad_request",
                      "field '%s': a lifetime in seconds from %d to %lld, "
                      "or 0 to keep until removed by hand",
                      argus_retention_class_name(c), ARGUS_RETENTION_MIN_S,
                      (long long)ARGUS_RETENTION_MAX_S);
      goto out;
    }
    want[c] = (int64_t)d;
    given[c] = any = 1;
  }
  if (!any) {
    api_reply_error(r, 400, "bad_request",
                    "body: nothing to change (alerts, decisions, unmatched, "
                    "audit, exports, events, negatives)");
    goto out;
  }
  argus_store *st = api_store(r);
  if (!st)
    goto out;
  argus_error_detail err = {{0}};
  argus_err e = ARGUS_OK;
  for (int c = 0; c < ARGUS_RETAIN_N && !e; c++)
    if (given[c])
      e = argus_store_retention_set(st, (argus_retention_class)c, want[c],
                                    &err);
  argus_store_retention rt;
  if (!e)
    e = argus_store_retention_get(st, &rt, &err);
  if (e) {
    api_reply_err(r, e, &err);
    goto out;
  }
  api_reply_json(r, 200, retention_json, &rt);
out:
  cJSON_Delete(body);
}

/* ---- purge ------------------------------------------------------------- */

typedef struct purge_item {
  int cls;
  argus_store_id id;
  char time[ARGUS_STORE_TIME_MAX];
  char what[512];
} purge_item;

typedef struct purge_answer {
  int dry_run;
  argus_store_purge_report rep;
  purge_item *items;
  size_t n, cap;
} purge_answer;

static int keep_item(void *user, const argus_store_purge_item *it) {
  purge_answer *a = user;
  if (a->n >= a->cap)
    return 1;
  purge_item *p = &a->items[a->n++];
  p->cls = it->cls;
  p->id = it->id;
  snprintf(p->time, sizeof p->time, "%s", it->time);
  snprintf(p->what, sizeof p->what, "%s", it->what);
  return 0;
}

static void purge_json(void *user, argus_json *j) {
  const purge_answer *a = user;
  const argus_store_purge_report *p = &a->rep;
  argus_json_obj_begin(j, NULL);
  argus_json_bool(j, "dry_run", a->dry_run);
  argus_json_str(j, "now", p->now);
  argus_json_obj_begin(j, "classes");
  for (int c = 0; c < ARGUS_RETAIN_N; c++) {
    argus_json_obj_begin(j, argus_retention_class_name(c));
    if (p->before[c][0])
      argus_json_str(j, "before", p->before[c]);
    else
      argus_json_null(j, "before");
    argus_json_int(j, "count", p->count[c]);
    argus_json_obj_end(j);
  }
  argus_json_obj_end(j);
  argus_json_int(j, "files", p->files);
  argus_json_int(j, "audit_base_id", p->audit_base_id);
  if (p->tombstone_id)
    argus_json_int(j, "tombstone", p->tombstone_id);
  else
    argus_json_null(j, "tombstone");
  argus_json_arr_begin(j, "items");
  for (size_t i = 0; i < a->n; i++) {
    argus_json_obj_begin(j, NULL);
    argus_json_str(j, "class", argus_retention_class_name(a->items[i].cls));
    argus_json_int(j, "id", a->items[i].id);
    argus_json_str(j, "time", a->items[i].time);
    argus_json_str(j, "what", a->items[i].what);
    argus_json_obj_end(j);
  }
  argus_json_arr_end(j);
  argus_json_obj_end(j);
}

/* ?dry_run=1 lists without deleting; ?limit=N (0..1000, default 100)
 * items are listed, the counts are complete. */
API_HANDLER(api_h_retention_purge) {
  int64_t dry = 0, limit = 100;
  if (!api_query_int(r, "dry_run", 0, 1, &dry) ||
      !api_query_int(r, "limit", 0, 1000, &limit))
    return;
  argus_store *st = api_store(r);
  if (!st)
    return;
  purge_answer a = {.dry_run = (int)dry, .cap = (size_t)limit};
  if (limit > 0 && !(a.items = calloc((size_t)limit, sizeof *a.items))) {
    api_reply_error(r, 500, "internal", "out of memory");
    return;
  }
  argus_error_detail err = {{0}};
  argus_err e = argus_store_purge(st, (int)dry, limit > 0 ? keep_item : NULL,
                                  &a, &a.rep, &err);
  if (e)
    api_reply_err(r, e, &err);
  else
    api_reply_json(r, 200, purge_json, &a);
  free(a.items);
}
