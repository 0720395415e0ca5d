/* The legal basis on the command line (legal_cli.c): the date options of
 * `argus watchlist create|set` (--expires) and `argus person add|set`
 * (--review-by), checked before the store is opened. */
#ifndef ARGUS_CLI_LEGAL_CLI_H
#define ARGUS_CLI_LEGAL_CLI_H

/* Help text of a DATE argument, shared by the usages. */
#define LEGAL_CLI_DATE_HELP                                                    \
  "  DATE is YYYY-MM-DD (00:00 UTC of that day) or RFC 3339, e.g.\n"           \
  "  2027-01-31T18:00:00Z; it must lie in the future.\n"

/* 0 when `s` is a date argus_store_date_parse accepts and later than now
 * (argus_store_clock_ns); else prints "CMD: OPT: ..." and returns -1. */
int legal_cli_date(const char *cmd, const char *opt, const char *s);

#endif
