/* The enrolment change feed: the audit rows of changes to watchlists,
 * persons, photos and templates, read by sequence (the audit id). Every
 * such change is audited in the transaction that makes it, so the feed
 * misses nothing and shows nothing that was rolled back; a running
 * matcher of another process follows it instead of re-reading the store. */
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

argus_err argus_store_changes_since(argus_store *s, argus_store_id after_id,
                                    size_t limit, argus_store_change **out,
                                    size_t *n, argus_store_id *last_id,
                                    argus_store_error *err) {
  if (out)
    *out = NULL;
  if (n)
    *n = 0;
  argus_err e = store_check_handle(s, err);
  if (e != ARGUS_OK)
    return e;
  if (!out || !n || after_id < 0)
    return store_fail(err, ARGUS_E_INVALID_ARG,
                      "out or n is NULL, or after_id < 0");
  if (limit == 0 || limit > 100000)
    limit = 1000;
  int found = 0;
  int64_t top = 0;
  if (last_id) {
    e = store_query_int(s, &found, &top, err,
                        "SELECT coalesce(max(id), 0) FROM audit", "");
    if (e != ARGUS_OK)
      return e;
    *last_id = top;
  }
  store_stmt *st = NULL;
  e = store_prep(s, &st, err,
                 "SELECT id, action, object_type, object_id FROM audit "
                 "WHERE id > ? AND (action LIKE 'watchlist.%' OR "
                 "action LIKE 'person.%' OR action = 'photo.remove' OR "
                 "action LIKE 'template.%' "
                 "AND action <> 'template.read') ORDER BY id LIMIT ?",
                 "ii", (int64_t)after_id, (int64_t)limit);
  if (e != ARGUS_OK)
    return e;
  store_vec v = {.item = sizeof(argus_store_change)};
  int row = 0;
  while ((e = store_step(s, st, &row, err)) == ARGUS_OK && row == STORE_ROW) {
    argus_store_change *c = store_vec_push(&v);
    if (!c) {
      e = store_fail(err, ARGUS_E_NOMEM, "out of memory listing changes");
      break;
    }
    c->seq = s->ops->col_int64(st, 0);
    store_copy(c->action, sizeof c->action, s->ops->col_text(st, 1));
    store_copy(c->object_type, sizeof c->object_type, s->ops->col_text(st, 2));
    c->object_id = s->ops->col_int64(st, 3);
  }
  s->ops->finalize(st);
  if (e != ARGUS_OK) {
    free(v.data);
    return e;
  }
  /* With a full page, the caller continues from the last row it got. */
  if (last_id && v.n == limit)
    *last_id = ((argus_store_change *)v.data)[v.n - 1].seq;
  *out = v.data;
  *n = v.n;
  return ARGUS_OK;
}
