/* The legal basis of watchlists and persons (docs/lawful-use.md): the
 * clock the checks use, the date parser, the read-only rule of an expired
 * watchlist, and the two audited setters.
 *
 * Dates are kept as the store's canonical RFC 3339 UTC text (NULL: none) and
 * compared as nanoseconds after parsing, never as text, so a hand-written
 * row with an offset still compares right. A stored date that cannot be
 * read counts as passed: the checks fail closed. */
#include <stdlib.h>
#include <string.h>

#include "legal.h"

/* ---- clock and dates ------------------------------------------------------ */

argus_err argus_store_date_parse(const char *s, int64_t *wall_ns,
                                 char canon[ARGUS_STORE_TIME_MAX]) {
  if (!s)
    return ARGUS_E_INVALID_ARG;
  int64_t ns = 0;
  argus_err e;
  size_t n = strnlen(s, 64);
  if (n == 10) {
    /* An ISO 8601 date alone: its start in UTC. */
    char full[32];
    memcpy(full, s, 10);
    memcpy(full + 10, "T00:00:00Z", 11);
    e = argus_rfc3339_parse(full, &ns);
  } else {
    e = argus_rfc3339_parse(s, &ns);
  }
  if (e != ARGUS_OK || ns < 0)
    return ARGUS_E_INVALID_ARG;
  if (wall_ns)
    *wall_ns = ns;
  if (canon)
    argus_rfc3339(ns, canon);
  return ARGUS_OK;
}

int64_t argus_store_clock_ns(void) {
  /* For tests only (documented in store.h and docs/lawful-use.md). */
  const char *fake = getenv("ARGUS_TEST_NOW");
  int64_t ns = 0;
  if (fake && fake[0] && argus_store_date_parse(fake, &ns, NULL) == ARGUS_OK)
    return ns;
  return argus_wall_ns();
}

int64_t argus_store_legal_ns(const char *t) {
  if (!t || !t[0])
    return INT64_MAX;
  int64_t ns = 0;
  if (argus_store_date_parse(t, &ns, NULL) != ARGUS_OK)
    return INT64_MIN; /* unreadable: passed (fails closed) */
  return ns;
}

const char *argus_store_review_name(argus_store_review r) {
  switch (r) {
  case ARGUS_STORE_REVIEW_NONE:
    return "none";
  case ARGUS_STORE_REVIEW_OK:
    return "ok";
  case ARGUS_STORE_REVIEW_DUE:
    return "due";
  case ARGUS_STORE_REVIEW_OVERDUE:
    return "overdue";
  }
  return "unknown";
}

argus_store_review argus_store_review_at(const char *review_by,
                                         int64_t now_ns) {
  if (!review_by || !review_by[0])
    return ARGUS_STORE_REVIEW_NONE;
  int64_t t = argus_store_legal_ns(review_by);
  if (t <= now_ns)
    return ARGUS_STORE_REVIEW_OVERDUE;
  const int64_t due = (int64_t)ARGUS_STORE_REVIEW_DUE_DAYS * 86400 * 1000000000;
  if (t - now_ns <= due)
    return ARGUS_STORE_REVIEW_DUE;
  return ARGUS_STORE_REVIEW_OK;
}

argus_err store_legal_future_date(const char *in, const char *what,
                                  char canon[ARGUS_STORE_TIME_MAX],
                                  argus_store_error *err) {
  canon[0] = '\0';
  if (!in[0])
    return ARGUS_OK;
  int64_t ns = 0;
  if (argus_store_date_parse(in, &ns, canon) != ARGUS_OK)
    return store_fail(err, ARGUS_E_INVALID_ARG,
                      "%s '%.64s' is not a date (YYYY-MM-DD or RFC 3339 such "
                      "as 2027-01-31T18:00:00Z)",
                      what, in);
  if (ns <= argus_store_clock_ns()) {
    char now[ARGUS_STORE_TIME_MAX];
    argus_rfc3339(argus_store_clock_ns(), now);
    return store_fail(err, ARGUS_E_INVALID_ARG,
                      "%s %s is not in the future (now %s)", what, canon, now);
  }
  return ARGUS_OK;
}

/* ---- the read-only rule --------------------------------------------------- */

argus_err store_legal_writable(argus_store *s, argus_store_id wl_id,
                               argus_store_error *err) {
  store_stmt *st = NULL;
  argus_err e = store_prep(s, &st, err,
                           "SELECT name, expires FROM watchlists WHERE id = ?",
                           "i", (int64_t)wl_id);
  if (e != ARGUS_OK)
    return e;
  int row = 0;
  e = store_step(s, st, &row, err);
  if (e == ARGUS_OK && row != STORE_ROW)
    e = store_fail(err, ARGUS_E_NOT_FOUND, "no watchlist with id %lld",
                   (long long)wl_id);
  if (e == ARGUS_OK) {
    char name[ARGUS_STORE_NAME_MAX], exp[ARGUS_STORE_TIME_MAX];
    store_copy(name, sizeof name, s->ops->col_text(st, 0));
    store_copy(exp, sizeof exp, s->ops->col_text(st, 1));
    if (argus_store_legal_ns(exp) <= argus_store_clock_ns())
      e = store_fail(err, ARGUS_E_INVALID_ARG,
                     "watchlist '%s' expired at %s and is read-only: renew "
                     "its expiry or delete it",
                     name, exp);
  }
  s->ops->finalize(st);
  return e;
}

argus_err argus_store_watchlist_check_writable(argus_store *s, const char *name,
                                               argus_store_error *err) {
  argus_err e = store_check_handle(s, err);
  if (e == ARGUS_OK)
    e = store_check_name(name, "watchlist name", ARGUS_STORE_NAME_MAX, err);
  argus_store_id id = 0;
  if (e == ARGUS_OK)
    e = store_watchlist_id(s, name, &id, err);
  if (e == ARGUS_OK)
    e = store_legal_writable(s, id, err);
  return e;
}

/* ---- setters -------------------------------------------------------------- */

argus_err argus_store_watchlist_set_legal(argus_store *s, const char *name,
                                          const argus_store_legal_in *in,
                                          argus_store_error *err) {
  char exp[ARGUS_STORE_TIME_MAX] = "";
  argus_err e = store_check_handle(s, err);
  if (e == ARGUS_OK)
    e = store_check_name(name, "watchlist name", ARGUS_STORE_NAME_MAX, err);
  if (e == ARGUS_OK && !in)
    e = store_fail(err, ARGUS_E_INVALID_ARG, "legal basis is NULL");
  if (e == ARGUS_OK)
    e = store_check_text(in->purpose, "purpose", ARGUS_STORE_TEXT_MAX, err);
  if (e == ARGUS_OK)
    e = store_check_text(in->legal_ref, "legal reference", ARGUS_STORE_TEXT_MAX,
                         err);
  if (e == ARGUS_OK)
    e = store_check_text(in->owner, "owner", ARGUS_STORE_NAME_MAX, err);
  if (e == ARGUS_OK && in->expires)
    e = store_legal_future_date(in->expires, "expiry", exp, err);
  if (e != ARGUS_OK)
    return e;
  if (!in->purpose && !in->legal_ref && !in->owner && !in->expires)
    return store_fail(err, ARGUS_E_INVALID_ARG,
                      "nothing to change (purpose, legal reference, owner, "
                      "expiry)");
  if ((e = store_begin(s, STORE_TX_WRITE, err)) != ARGUS_OK)
    return e;
  argus_store_id id = 0;
  char old[ARGUS_STORE_TIME_MAX] = "";
  e = store_watchlist_id(s, name, &id, err);
  if (e == ARGUS_OK) {
    store_stmt *st = NULL;
    e = store_prep(s, &st, err, "SELECT expires FROM watchlists WHERE id = ?",
                   "i", (int64_t)id);
    int row = 0;
    if (e == ARGUS_OK)
      e = store_step(s, st, &row, err);
    if (e == ARGUS_OK && row == STORE_ROW)
      store_copy(old, sizeof old, s->ops->col_text(st, 0));
    if (st)
      s->ops->finalize(st);
  }
  /* An expired list takes only a renewal (a new expiry, or none). */
  if (e == ARGUS_OK && !in->expires)
    e = store_legal_writable(s, id, err);
  if (e == ARGUS_OK) {
    char t[ARGUS_STORE_TIME_MAX];
    argus_store_now(t);
    store_stmt *st = NULL;
    e = store_prep(s, &st, err,
                   "UPDATE watchlists SET purpose = coalesce(?, purpose), "
                   "legal_ref = coalesce(?, legal_ref), "
                   "owner = coalesce(?, owner), "
                   "expires = CASE WHEN ? = 1 THEN ? ELSE expires END, "
                   "updated = ? WHERE id = ?",
                   "sssissi", in->purpose, in->legal_ref, in->owner,
                   (int64_t)(in->expires != NULL), exp, t, (int64_t)id);
    /* "" is no expiry: NULL in the column. */
    if (e == ARGUS_OK && !exp[0])
      e = s->ops->bind_null(st, 5);
    int row = 0;
    if (e == ARGUS_OK)
      e = store_step(s, st, &row, err);
    if (st)
      s->ops->finalize(st);
  }
  if (e == ARGUS_OK) {
    store_json j;
    store_json_begin(&j);
    /* The expiry first: members that do not fit are dropped from the end,
     * and long texts go last. */
    store_json_str(&j, "name", name);
    if (in->expires) {
      store_json_str(&j, "expires_was", old);
      store_json_str(&j, "expires", exp);
    }
    if (in->owner)
      store_json_str(&j, "owner", in->owner);
    if (in->legal_ref)
      store_json_str(&j, "legal_ref", in->legal_ref);
    if (in->purpose)
      store_json_str(&j, "purpose", in->purpose);
    e = store_audit(s, "watchlist.set_legal", "watchlist", id,
                    store_json_end(&j), NULL, err);
  }
  if (e != ARGUS_OK) {
    store_rollback(s);
    return e;
  }
  return store_commit(s, err);
}

argus_err argus_store_person_set_review(argus_store *s, argus_store_id id,
                                        const char *reason,
                                        const char *review_by,
                                        argus_store_error *err) {
  char rb[ARGUS_STORE_TIME_MAX] = "";
  argus_err e = store_check_handle(s, err);
  if (e == ARGUS_OK)
    e = store_check_text(reason, "reason", ARGUS_STORE_TEXT_MAX, err);
  if (e == ARGUS_OK && review_by)
    e = store_legal_future_date(review_by, "review-by date", rb, err);
  if (e == ARGUS_OK && !reason && !review_by)
    e = store_fail(err, ARGUS_E_INVALID_ARG,
                   "nothing to change (reason, review-by date)");
  if (e != ARGUS_OK)
    return e;
  if ((e = store_begin(s, STORE_TX_WRITE, err)) != ARGUS_OK)
    return e;
  int found = 0;
  int64_t wl = 0;
  char old[ARGUS_STORE_TIME_MAX] = "";
  store_stmt *st = NULL;
  e = store_prep(s, &st, err,
                 "SELECT watchlist_id, review_by FROM persons WHERE id = ?",
                 "i", (int64_t)id);
  int row = 0;
  if (e == ARGUS_OK)
    e = store_step(s, st, &row, err);
  if (e == ARGUS_OK && row == STORE_ROW) {
    found = 1;
    wl = s->ops->col_int64(st, 0);
    store_copy(old, sizeof old, s->ops->col_text(st, 1));
  }
  if (st)
    s->ops->finalize(st);
  if (e == ARGUS_OK && !found)
    e = store_fail(err, ARGUS_E_NOT_FOUND, "no person with id %lld",
                   (long long)id);
  if (e == ARGUS_OK)
    e = store_legal_writable(s, wl, err);
  if (e == ARGUS_OK) {
    char t[ARGUS_STORE_TIME_MAX];
    argus_store_now(t);
    st = NULL;
    e = store_prep(s, &st, err,
                   "UPDATE persons SET reason = coalesce(?, reason), "
                   "review_by = CASE WHEN ? = 1 THEN ? ELSE review_by END, "
                   "updated = ? WHERE id = ?",
                   "sissi", reason, (int64_t)(review_by != NULL), rb, t,
                   (int64_t)id);
    if (e == ARGUS_OK && !rb[0])
      e = s->ops->bind_null(st, 3);
    if (e == ARGUS_OK)
      e = store_step(s, st, &row, err);
    if (st)
      s->ops->finalize(st);
  }
  if (e == ARGUS_OK) {
    store_json j;
    store_json_begin(&j);
    store_json_int(&j, "watchlist_id", wl);
    if (reason)
      store_json_int(&j, "reason", 1); /* changed; the text stays out */
    if (review_by) {
      store_json_str(&j, "review_by_was", old);
      store_json_str(&j, "review_by", rb);
    }
    e = store_audit(s, "person.set_review", "person", id, store_json_end(&j),
                    NULL, err);
  }
  if (e != ARGUS_OK) {
    store_rollback(s);
    return e;
  }
  return store_commit(s, err);
}
