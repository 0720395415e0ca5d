/* Alert and decision counts by status, for /metrics (one grouped query
 * each; argus_store_alert_counts in include/argus/store.h). */
#include <string.h>

#include "store_internal.h"

/* Runs `sql` (rows: status name, count) and adds each count to
 * counts[status]. */
static argus_err count_by_status(argus_store *s, const char *sql,
                                 int64_t counts[3], argus_store_error *err) {
  store_stmt *st = NULL;
  argus_err e = store_prep(s, &st, err, sql, "");
  int row = 0;
  while (e == ARGUS_OK && (e = store_step(s, st, &row, err)) == ARGUS_OK &&
         row == STORE_ROW) {
    argus_alert_status status;
    if (argus_alert_status_parse(s->ops->col_text(st, 0), &status) ==
        ARGUS_OK)
      counts[status] += s->ops->col_int64(st, 1);
  }
  s->ops->finalize(st);
  return e;
}

argus_err argus_store_alert_counts(argus_store *s, int64_t alerts[3],
                                   int64_t decisions[3],
                                   argus_store_error *err) {
  argus_err e = store_check_handle(s, err);
  if (e == ARGUS_OK && !alerts && !decisions)
    e = store_fail(err, ARGUS_E_INVALID_ARG, "no output");
  if (e != ARGUS_OK)
    return e;
  if (alerts)
    memset(alerts, 0, 3 * sizeof *alerts);
  if (decisions)
    memset(decisions, 0, 3 * sizeof *decisions);
  if ((e = store_begin(s, STORE_TX_READ, err)) != ARGUS_OK)
    return e;
  if (alerts)
    e = count_by_status(s, "SELECT status, COUNT(*) FROM alerts GROUP BY status",
                        alerts, err);
  if (e == ARGUS_OK && decisions)
    e = count_by_status(
        s, "SELECT decision, COUNT(*) FROM decisions GROUP BY decision",
        decisions, err);
  if (e != ARGUS_OK) {
    store_rollback(s);
    return e;
  }
  return store_commit(s, err);
}
