/* Internals of the legal basis (legal.c) for the other store files. */
#ifndef ARGUS_STORE_LEGAL_H
#define ARGUS_STORE_LEGAL_H

#include "store_internal.h"

/* A date the caller gives: "" (none: canon ""), or a parseable date later
 * than now (canon: its canonical text). `what` names the argument in the
 * message. Errors: INVALID_ARG. */
argus_err store_legal_future_date(const char *in, const char *what,
                                  char canon[ARGUS_STORE_TIME_MAX],
                                  argus_store_error *err);

/* Inside a transaction: OK when watchlist `wl_id` has not expired;
 * INVALID_ARG ("watchlist 'x' expired at T and is read-only: ...") when it
 * has; NOT_FOUND. */
argus_err store_legal_writable(argus_store *s, argus_store_id wl_id,
                               argus_store_error *err);

#endif
