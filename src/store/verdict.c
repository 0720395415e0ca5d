/* Operators' verdicts feed back into matching: negative examples from
 * rejected alerts, the four-eyes rule, per-watchlist verdict statistics. */
#include "store_internal.h"

const char store_migration_8_sql[] = "SELECT 1;\n";
