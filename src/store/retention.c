/* Retention: a lifetime per class of stored data, and the purge that
 * deletes what has outlived it (docs/lawful-use.md, "Retention").
 *
 * The purge is one durable write transaction, so a crash leaves everything
 * or nothing purged. Crop files are queued in crop_purge inside it and
 * removed after the commit (and at the next open after a crash), as every
 * other deletion of crops does; exported files are removed inside it,
 * before the commit, so that a failed commit can only leave rows that point
 * at files already gone (the next purge deletes those rows), never a file
 * without a row. The audit log is cut at the last row older than its
 * lifetime (never the newest): that row's id and hash become the chain's
 * base in meta, and the tombstone, itself chained, records them too. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store_internal.h"

static const char *const class_names[ARGUS_RETAIN_N] = {
    "alerts",  "decisions", "unmatched", "audit",
    "exports", "events",    "negatives"};

const char *argus_retention_class_name(argus_retention_class c) {
  return (unsigned)c < ARGUS_RETAIN_N ? class_names[c] : "unknown";
}

argus_err argus_retention_class_parse(const char *name,
                                      argus_retention_class *out) {
  for (int i = 0; name && i < ARGUS_RETAIN_N; i++)
    if (strcmp(name, class_names[i]) == 0) {
      *out = (argus_retention_class)i;
      return ARGUS_OK;
    }
  return ARGUS_E_INVALID_ARG;
}

argus_err argus_store_retention_get(argus_store *s, argus_store_retention *out,
                                    argus_store_error *err) {
  argus_err e = store_check_handle(s, err);
  if (e == ARGUS_OK && !out)
    e = store_fail(err, ARGUS_E_INVALID_ARG, "retention: out is NULL");
  if (e != ARGUS_OK)
    return e;
  memset(out, 0, sizeof *out);
  store_stmt *st = NULL;
  e = store_prep(s, &st, err, "SELECT class, seconds, updated FROM retention",
                 "");
  int row = 0;
  while (e == ARGUS_OK && (e = store_step(s, st, &row, err)) == ARGUS_OK &&
         row == STORE_ROW) {
    argus_retention_class c;
    if (argus_retention_class_parse(s->ops->col_text(st, 0), &c) != ARGUS_OK)
      continue; /* the CHECK constraint keeps others out */
    out->seconds[c] = s->ops->col_int64(st, 1);
    store_copy(out->updated[c], sizeof out->updated[c],
               s->ops->col_text(st, 2));
  }
  s->ops->finalize(st);
  return e;
}

argus_err argus_store_retention_set(argus_store *s, argus_retention_class c,
                                    int64_t seconds, argus_store_error *err) {
  argus_err e = store_check_handle(s, err);
  if (e != ARGUS_OK)
    return e;
  if ((unsigned)c >= ARGUS_RETAIN_N)
    return store_fail(err, ARGUS_E_INVALID_ARG, "unknown data class %d",
                      (int)c);
  if (seconds != 0 &&
      (seconds < ARGUS_RETENTION_MIN_S || seconds > ARGUS_RETENTION_MAX_S))
    return store_fail(err, ARGUS_E_INVALID_ARG,
                      "%s: a lifetime of %lld s is outside %d s .. %lld s "
                      "(0: keep until removed by hand)",
                      class_names[c], (long long)seconds, ARGUS_RETENTION_MIN_S,
                      (long long)ARGUS_RETENTION_MAX_S);
  if ((e = store_begin(s, STORE_TX_WRITE_DURABLE, err)) != ARGUS_OK)
    return e;
  int found = 0;
  int64_t old = 0;
  char now[ARGUS_STORE_TIME_MAX];
  argus_store_now(now);
  e = store_query_int(s, &found, &old, err,
                      "SELECT seconds FROM retention WHERE class = ?", "s",
                      class_names[c]);
  if (e == ARGUS_OK)
    e = store_run(s, err, "DELETE FROM retention WHERE class = ?", "s",
                  class_names[c]);
  if (e == ARGUS_OK && seconds > 0)
    e = store_run(s, err,
                  "INSERT INTO retention (class, seconds, updated) VALUES "
                  "(?, ?, ?)",
                  "sis", class_names[c], seconds, now);
  if (e == ARGUS_OK) {
    store_json j;
    store_json_begin(&j);
    store_json_str(&j, "class", class_names[c]);
    store_json_int(&j, "old_seconds", found ? old : 0);
    store_json_int(&j, "seconds", seconds);
    e = store_audit(s, "retention.set", "retention", 0, store_json_end(&j),
                    NULL, err);
  }
  if (e != ARGUS_OK) {
    store_rollback(s);
    return e;
  }
  return store_commit(s, err);
}

/* ---- the audit chain's base --------------------------------------------- */

argus_err store_audit_base_read(argus_store *s, argus_store_id *id,
                                char sha[ARGUS_STORE_SHA256_HEX],
                                argus_store_error *err) {
  *id = 0;
  store_copy(sha, ARGUS_STORE_SHA256_HEX, ARGUS_STORE_AUDIT_GENESIS);
  if (s->schema_version < 7)
    return ARGUS_OK;
  store_stmt *st = NULL;
  argus_err e = store_prep(s, &st, err,
                           "SELECT key, value FROM meta WHERE key IN "
                           "('audit_base_id', 'audit_base_sha256')",
                           "");
  int row = 0;
  int64_t bid = 0;
  char bsha[ARGUS_STORE_SHA256_HEX] = "";
  while (e == ARGUS_OK && (e = store_step(s, st, &row, err)) == ARGUS_OK &&
         row == STORE_ROW) {
    const char *k = s->ops->col_text(st, 0), *v = s->ops->col_text(st, 1);
    if (strcmp(k, "audit_base_id") == 0)
      bid = strtoll(v, NULL, 10);
    else
      store_copy(bsha, sizeof bsha, v);
  }
  s->ops->finalize(st);
  if (e != ARGUS_OK)
    return e;
  if (bid > 0) {
    if (!store_is_sha256_hex(bsha))
      return store_fail(err, ARGUS_E_CORRUPT,
                        "the audit log's base (row %lld) has no valid hash "
                        "in meta",
                        (long long)bid);
    *id = bid;
    store_copy(sha, ARGUS_STORE_SHA256_HEX, bsha);
  }
  return ARGUS_OK;
}

argus_err argus_store_audit_base(argus_store *s, argus_store_id *id,
                                 char sha256[ARGUS_STORE_SHA256_HEX],
                                 argus_store_error *err) {
  argus_err e = store_check_handle(s, err);
  if (e == ARGUS_OK && (!id || !sha256))
    e = store_fail(err, ARGUS_E_INVALID_ARG, "id or hash is NULL");
  if (e != ARGUS_OK)
    return e;
  return store_audit_base_read(s, id, sha256, err);
}

/* ---- exports ------------------------------------------------------------ */

argus_err argus_store_export_record(argus_store *s, const char *kind,
                                    const char *path, int64_t files,
                                    argus_store_error *err) {
  argus_err e = store_check_handle(s, err);
  if (e != ARGUS_OK)
    return e;
  if (!kind || (strcmp(kind, "subject") != 0 && strcmp(kind, "audit") != 0))
    return store_fail(err, ARGUS_E_INVALID_ARG,
                      "export kind must be 'subject' or 'audit'");
  if (!path || !*path)
    return store_fail(err, ARGUS_E_INVALID_ARG, "export path is empty");
  char *abs = realpath(path, NULL);
  if (!abs)
    return store_fail(err, ARGUS_E_IO, "export '%s': %s", path,
                      strerror(errno));
  if ((e = store_check_text(abs, "export path", ARGUS_STORE_TEXT_MAX, err)) !=
      ARGUS_OK)
    goto done;
  if ((e = store_begin(s, STORE_TX_WRITE, err)) != ARGUS_OK)
    goto done;
  char now[ARGUS_STORE_TIME_MAX];
  argus_store_now(now);
  e = store_run(s, err,
                "INSERT INTO exports (kind, path, time, actor, files) VALUES "
                "(?, ?, ?, ?, ?)",
                "ssssi", kind, abs, now, s->actor, files < 0 ? 0 : files);
  if (e == ARGUS_OK) {
    store_json j;
    store_json_begin(&j);
    store_json_str(&j, "kind", kind);
    store_json_str(&j, "path", abs);
    store_json_int(&j, "files", files);
    e = store_audit(s, "export.record", "export", 0, store_json_end(&j), NULL,
                    err);
  }
  if (e != ARGUS_OK)
    store_rollback(s);
  else
    e = store_commit(s, err);
done:
  free(abs);
  return e;
}

/* Removes what an export wrote: an audit export's file; a subject export's
 * files (subject.json, manifest.json, photos/photo-*.jpg,
 * alerts/alert-*.jpg) and then its folders when they are empty. Nothing
 * else in the folder is touched. Returns the number of files removed; a
 * path already gone is not an error. */
static int64_t remove_export(const char *kind, const char *path) {
  int64_t n = 0;
  if (strcmp(kind, "audit") == 0) {
    struct stat sb;
    if (lstat(path, &sb) == 0 && S_ISREG(sb.st_mode) && unlink(path) == 0)
      n++;
    return n;
  }
  static const char *const sub[] = {"photos", "alerts"};
  static const char *const prefix[] = {"photo-", "alert-"};
  char p[PATH_MAX];
  for (int k = 0; k < 2; k++) {
    if ((size_t)snprintf(p, sizeof p, "%s/%s", path, sub[k]) >= sizeof p)
      continue;
    DIR *d = opendir(p);
    if (!d)
      continue;
    struct dirent *de;
    while ((de = readdir(d))) {
      size_t len = strlen(de->d_name);
      if (strncmp(de->d_name, prefix[k], strlen(prefix[k])) != 0 || len < 5 ||
          strcmp(de->d_name + len - 4, ".jpg") != 0)
        continue;
      char f[PATH_MAX];
      if ((size_t)snprintf(f, sizeof f, "%s/%s", p, de->d_name) < sizeof f &&
          unlink(f) == 0)
        n++;
    }
    closedir(d);
    rmdir(p);
  }
  static const char *const top[] = {"subject.json", "manifest.json"};
  for (int k = 0; k < 2; k++)
    if ((size_t)snprintf(p, sizeof p, "%s/%s", path, top[k]) < sizeof p &&
        unlink(p) == 0)
      n++;
  rmdir(path);
  return n;
}

/* ---- the purge ---------------------------------------------------------- */

typedef struct purge_run {
  argus_store *s;
  int dry_run;
  argus_store_purge_fn fn;
  void *user;
  int listing; /* 0 once fn asked to stop */
  argus_store_purge_report *r;
} purge_run;

static void emit(purge_run *p, argus_retention_class c, argus_store_id id,
                 const char *time, const char *what) {
  if (!p->fn || !p->listing)
    return;
  argus_store_purge_item it = {c, id, time ? time : "", what ? what : ""};
  if (p->fn(p->user, &it) != 0)
    p->listing = 0;
}

/* Lists the rows a class would lose: sql selects id, time and up to three
 * descriptive text columns, named by labels ("camera", ...). */
static argus_err list_rows(purge_run *p, argus_retention_class c,
                           const char *sql, const char *const labels[3],
                           const char *fmt, const char *a, const char *b,
                           argus_store_error *err) {
  if (!p->fn)
    return ARGUS_OK;
  store_stmt *st = NULL;
  argus_err e = fmt[1] ? store_prep(p->s, &st, err, sql, fmt, a, b)
                       : store_prep(p->s, &st, err, sql, fmt, a);
  int row = 0;
  while (e == ARGUS_OK && p->listing &&
         (e = store_step(p->s, st, &row, err)) == ARGUS_OK &&
         row == STORE_ROW) {
    char what[512] = "";
    size_t used = 0;
    for (int k = 0; k < 3 && labels[k]; k++) {
      const char *v = p->s->ops->col_text(st, 2 + k);
      int w = snprintf(what + used, sizeof what - used, "%s%s=%s",
                       used ? " " : "", labels[k], v ? v : "");
      if (w < 0 || (size_t)w >= sizeof what - used)
        break;
      used += (size_t)w;
    }
    emit(p, c, p->s->ops->col_int64(st, 0), p->s->ops->col_text(st, 1), what);
  }
  p->s->ops->finalize(st);
  return e;
}

static argus_err purge_alerts(purge_run *p, const char *t,
                              argus_store_error *err) {
  static const char *const labels[3] = {"camera", "watchlist", "person"};
  argus_store *s = p->s;
  int found = 0;
  int64_t n = 0;
  argus_err e = store_query_int(
      s, &found, &n, err, "SELECT count(*) FROM alerts WHERE time < ?", "s", t);
  if (e == ARGUS_OK)
    e = list_rows(p, ARGUS_RETAIN_ALERTS,
                  "SELECT id, time, camera, watchlist, person FROM alerts "
                  "WHERE time < ? ORDER BY id",
                  labels, "s", t, NULL, err);
  if (e == ARGUS_OK && n > 0 && !p->dry_run)
    e = store_purge_queue(s, err,
                          "SELECT crop_sha256 AS h FROM alerts WHERE time < ? "
                          "UNION ALL SELECT thumb_sha256 AS h FROM alerts "
                          "WHERE time < ?",
                          "ss", t, t);
  if (e == ARGUS_OK && n > 0 && !p->dry_run)
    e = store_run(s, err, "DELETE FROM alerts WHERE time < ?", "s", t);
  p->r->count[ARGUS_RETAIN_ALERTS] = n;
  return e;
}

static argus_err purge_decisions(purge_run *p, const char *t,
                                 argus_store_error *err) {
  static const char *const labels[3] = {"alert", "operator", "decision"};
  argus_store *s = p->s;
  int found = 0;
  int64_t n = 0;
  argus_err e =
      store_query_int(s, &found, &n, err,
                      "SELECT count(*) FROM decisions WHERE time < ?", "s", t);
  if (e == ARGUS_OK)
    e = list_rows(p, ARGUS_RETAIN_DECISIONS,
                  "SELECT id, time, CAST(alert_id AS TEXT), operator, "
                  "decision FROM decisions WHERE time < ? ORDER BY id",
                  labels, "s", t, NULL, err);
  if (e == ARGUS_OK && n > 0 && !p->dry_run)
    e = store_run(s, err, "DELETE FROM decisions WHERE time < ?", "s", t);
  p->r->count[ARGUS_RETAIN_DECISIONS] = n;
  return e;
}

/* t: the class's cut-off ("" : no lifetime: only rows past their own
 * expiry go); now: the purge's clock. */
static argus_err purge_unmatched(purge_run *p, const char *t, const char *now,
                                 argus_store_error *err) {
  static const char *const labels[3] = {"camera", "expires", NULL};
  argus_store *s = p->s;
  const char *cut = *t ? t : "";
  int found = 0;
  int64_t n = 0, expired = 0;
  argus_err e = store_query_int(s, &found, &n, err,
                                "SELECT count(*) FROM unmatched WHERE time < "
                                "? OR expires <= ?",
                                "ss", cut, now);
  if (e == ARGUS_OK)
    e = store_query_int(s, &found, &expired, err,
                        "SELECT count(*) FROM unmatched WHERE expires <= ?",
                        "s", now);
  if (e == ARGUS_OK)
    e = list_rows(p, ARGUS_RETAIN_UNMATCHED,
                  "SELECT id, time, camera, expires FROM unmatched WHERE "
                  "time < ? OR expires <= ? ORDER BY id",
                  labels, "ss", cut, now, err);
  if (e == ARGUS_OK && n > 0 && !p->dry_run)
    e = store_purge_queue(s, err,
                          "SELECT crop_sha256 AS h FROM unmatched WHERE time "
                          "< ? OR expires <= ? UNION ALL SELECT thumb_sha256 "
                          "AS h FROM unmatched WHERE time < ? OR expires <= ?",
                          "ssss", cut, now, cut, now);
  if (e == ARGUS_OK && n > 0 && !p->dry_run)
    e = store_run(s, err,
                  "DELETE FROM unmatched WHERE time < ? OR expires <= ?", "ss",
                  cut, now);
  p->r->count[ARGUS_RETAIN_UNMATCHED] = n;
  p->r->expired_unmatched = expired;
  return e;
}

static argus_err purge_events(purge_run *p, const char *t,
                              argus_store_error *err) {
  static const char *const labels[3] = {"type", NULL, NULL};
  argus_store *s = p->s;
  int found = 0;
  int64_t n = 0;
  argus_err e = store_query_int(
      s, &found, &n, err, "SELECT count(*) FROM events WHERE time < ?", "s", t);
  if (e == ARGUS_OK)
    e = list_rows(p, ARGUS_RETAIN_EVENTS,
                  "SELECT id, time, type FROM events WHERE time < ? ORDER BY "
                  "id",
                  labels, "s", t, NULL, err);
  if (e == ARGUS_OK && n > 0 && !p->dry_run)
    e = store_run(s, err, "DELETE FROM events WHERE time < ?", "s", t);
  p->r->count[ARGUS_RETAIN_EVENTS] = n;
  return e;
}

static argus_err purge_negatives(purge_run *p, const char *t,
                                 argus_store_error *err) {
  static const char *const labels[3] = {"person", "alert", NULL};
  argus_store *s = p->s;
  int found = 0;
  int64_t n = 0;
  argus_err e = store_query_int(
      s, &found, &n, err, "SELECT count(*) FROM negatives WHERE created < ?",
      "s", t);
  if (e == ARGUS_OK)
    e = list_rows(p, ARGUS_RETAIN_NEGATIVES,
                  "SELECT id, created, CAST(person_id AS TEXT), "
                  "coalesce(CAST(alert_id AS TEXT), '') FROM negatives "
                  "WHERE created < ? ORDER BY id",
                  labels, "s", t, NULL, err);
  /* The persons whose negatives go, with how many each: read before the
   * delete, told after it (one "person.negative_purge" audit row each, in
   * this transaction). person.* is on the enrolment change feed, so a
   * running matcher re-reads the person and stops comparing probes with
   * the purged negatives, as it learnt of them (person.negative_add). */
  typedef struct {
    int64_t person, count;
  } per_person;
  store_vec who = {.item = sizeof(per_person)};
  if (e == ARGUS_OK && n > 0 && !p->dry_run) {
    store_stmt *st = NULL;
    e = store_prep(s, &st, err,
                   "SELECT person_id, count(*) FROM negatives WHERE created < "
                   "? GROUP BY person_id ORDER BY person_id",
                   "s", t);
    int row = 0;
    while (e == ARGUS_OK && (e = store_step(s, st, &row, err)) == ARGUS_OK &&
           row == STORE_ROW) {
      per_person *pp = store_vec_push(&who);
      if (!pp) {
        e = store_fail(err, ARGUS_E_NOMEM, "out of memory purging negatives");
        break;
      }
      pp->person = s->ops->col_int64(st, 0);
      pp->count = s->ops->col_int64(st, 1);
    }
    if (st)
      s->ops->finalize(st);
  }
  if (e == ARGUS_OK && n > 0 && !p->dry_run)
    e = store_run(s, err, "DELETE FROM negatives WHERE created < ?", "s", t);
  for (size_t i = 0; e == ARGUS_OK && i < who.n; i++) {
    const per_person *pp = (const per_person *)who.data + i;
    store_json j;
    store_json_begin(&j);
    store_json_int(&j, "person_id", pp->person);
    store_json_int(&j, "negatives", pp->count);
    store_json_str(&j, "before", t);
    e = store_audit(s, "person.negative_purge", "person", pp->person,
                    store_json_end(&j), NULL, err);
  }
  free(who.data);
  p->r->count[ARGUS_RETAIN_NEGATIVES] = n;
  return e;
}

static argus_err purge_exports(purge_run *p, const char *t,
                               argus_store_error *err) {
  argus_store *s = p->s;
  store_stmt *st = NULL;
  argus_err e = store_prep(s, &st, err,
                           "SELECT id, time, kind, path FROM exports WHERE "
                           "time < ? ORDER BY id",
                           "s", t);
  int row = 0;
  int64_t n = 0;
  while (e == ARGUS_OK && (e = store_step(s, st, &row, err)) == ARGUS_OK &&
         row == STORE_ROW) {
    const char *kind = s->ops->col_text(st, 2), *path = s->ops->col_text(st, 3);
    emit(p, ARGUS_RETAIN_EXPORTS, s->ops->col_int64(st, 0),
         s->ops->col_text(st, 1), path);
    if (!p->dry_run)
      p->r->files += remove_export(kind, path);
    n++;
  }
  s->ops->finalize(st);
  if (e == ARGUS_OK && n > 0 && !p->dry_run)
    e = store_run(s, err, "DELETE FROM exports WHERE time < ?", "s", t);
  p->r->count[ARGUS_RETAIN_EXPORTS] = n;
  return e;
}

/* Cuts the audit log at the newest row older than t, keeping the head. */
static argus_err purge_audit(purge_run *p, const char *t,
                             argus_store_error *err) {
  argus_store *s = p->s;
  int found = 0;
  int64_t head = 0, cut = 0, first = 0;
  argus_err e = store_query_int(s, &found, &head, err,
                                "SELECT coalesce(max(id), 0) FROM audit", "");
  if (e == ARGUS_OK)
    e = store_query_int(s, &found, &cut, err,
                        "SELECT coalesce(max(id), 0) FROM audit WHERE time < "
                        "? AND id < ?",
                        "si", t, head);
  if (e == ARGUS_OK)
    e = store_query_int(s, &found, &first, err,
                        "SELECT coalesce(min(id), 0) FROM audit", "");
  if (e != ARGUS_OK || cut <= 0 || first <= 0 || cut < first)
    return e;
  int64_t n = 0;
  e = store_query_int(s, &found, &n, err,
                      "SELECT count(*) FROM audit WHERE id <= ?", "i", cut);
  char sha[ARGUS_STORE_SHA256_HEX] = "", last_time[ARGUS_STORE_TIME_MAX] = "";
  store_stmt *st = NULL;
  if (e == ARGUS_OK)
    e = store_prep(s, &st, err,
                   "SELECT row_sha256, time FROM audit WHERE id = ?", "i", cut);
  int row = 0;
  if (e == ARGUS_OK && (e = store_step(s, st, &row, err)) == ARGUS_OK &&
      row == STORE_ROW) {
    const char *h = s->ops->col_text(st, 0);
    store_copy(sha, sizeof sha, h ? h : "");
    store_copy(last_time, sizeof last_time, s->ops->col_text(st, 1));
  }
  s->ops->finalize(st);
  if (e != ARGUS_OK)
    return e;
  if (!store_is_sha256_hex(sha))
    return store_fail(err, ARGUS_E_CORRUPT,
                      "audit row %lld has no valid hash: run 'argus audit "
                      "verify' before purging the audit log",
                      (long long)cut);
  char what[96];
  snprintf(what, sizeof what, "rows %lld..%lld", (long long)first,
           (long long)cut);
  emit(p, ARGUS_RETAIN_AUDIT, cut, last_time, what);
  p->r->count[ARGUS_RETAIN_AUDIT] = n;
  if (p->dry_run)
    return ARGUS_OK;
  char idtext[32];
  snprintf(idtext, sizeof idtext, "%lld", (long long)cut);
  e = store_run(s, err, "DELETE FROM audit WHERE id <= ?", "i", cut);
  if (e == ARGUS_OK)
    e = store_run(s, err,
                  "DELETE FROM meta WHERE key IN ('audit_base_id', "
                  "'audit_base_sha256')",
                  "");
  if (e == ARGUS_OK)
    e = store_run(s, err,
                  "INSERT INTO meta (key, value) VALUES ('audit_base_id', ?), "
                  "('audit_base_sha256', ?)",
                  "ss", idtext, sha);
  if (e == ARGUS_OK)
    p->r->audit_base_id = cut;
  return e;
}

argus_err argus_store_purge(argus_store *s, int dry_run,
                            argus_store_purge_fn fn, void *user,
                            argus_store_purge_report *out,
                            argus_store_error *err) {
  argus_store_purge_report rep;
  memset(&rep, 0, sizeof rep);
  if (out)
    memset(out, 0, sizeof *out);
  argus_err e = store_check_handle(s, err);
  if (e != ARGUS_OK)
    return e;
  argus_store_retention ret;
  if ((e = argus_store_retention_get(s, &ret, err)) != ARGUS_OK)
    return e;
  int64_t now_ns = argus_store_clock_ns();
  argus_rfc3339(now_ns, rep.now);
  for (int c = 0; c < ARGUS_RETAIN_N; c++)
    if (ret.seconds[c] > 0)
      argus_rfc3339(now_ns - ret.seconds[c] * (int64_t)1000000000,
                    rep.before[c]);
  if ((e = store_begin(s, dry_run ? STORE_TX_READ : STORE_TX_WRITE_DURABLE,
                       err)) != ARGUS_OK)
    return e;
  purge_run p = {s, dry_run, fn, user, 1, &rep};
  /* Decisions before alerts, so that a decision that goes by its own
   * lifetime is counted as such; the alerts' purge takes the rest with
   * them. */
  if (e == ARGUS_OK && rep.before[ARGUS_RETAIN_DECISIONS][0])
    e = purge_decisions(&p, rep.before[ARGUS_RETAIN_DECISIONS], err);
  if (e == ARGUS_OK && rep.before[ARGUS_RETAIN_ALERTS][0])
    e = purge_alerts(&p, rep.before[ARGUS_RETAIN_ALERTS], err);
  if (e == ARGUS_OK)
    e = purge_unmatched(&p, rep.before[ARGUS_RETAIN_UNMATCHED], rep.now, err);
  if (e == ARGUS_OK && rep.before[ARGUS_RETAIN_NEGATIVES][0])
    e = purge_negatives(&p, rep.before[ARGUS_RETAIN_NEGATIVES], err);
  if (e == ARGUS_OK && rep.before[ARGUS_RETAIN_EVENTS][0])
    e = purge_events(&p, rep.before[ARGUS_RETAIN_EVENTS], err);
  if (e == ARGUS_OK && rep.before[ARGUS_RETAIN_EXPORTS][0])
    e = purge_exports(&p, rep.before[ARGUS_RETAIN_EXPORTS], err);
  if (e == ARGUS_OK && rep.before[ARGUS_RETAIN_AUDIT][0])
    e = purge_audit(&p, rep.before[ARGUS_RETAIN_AUDIT], err);
  int64_t total = 0;
  for (int c = 0; c < ARGUS_RETAIN_N; c++)
    total += rep.count[c];
  if (e == ARGUS_OK && !dry_run && total > 0) {
    /* The tombstone: what went, by class, and the cut-offs; nothing about
     * faces, persons or cameras. */
    store_json j;
    store_json_begin(&j);
    store_json_str(&j, "now", rep.now);
    for (int c = 0; c < ARGUS_RETAIN_N; c++)
      if (rep.count[c] > 0) {
        char key[48];
        store_json_int(&j, class_names[c], rep.count[c]);
        snprintf(key, sizeof key, "%s_before", class_names[c]);
        store_json_str(&j, key,
                       rep.before[c][0] ? rep.before[c] : "(own expiry)");
      }
    if (rep.audit_base_id > 0) {
      char sha[ARGUS_STORE_SHA256_HEX];
      argus_store_id bid = 0;
      e = store_audit_base_read(s, &bid, sha, err);
      store_json_int(&j, "audit_base_id", rep.audit_base_id);
      store_json_str(&j, "audit_base_sha256", sha);
    }
    store_json_int(&j, "export_files", rep.files);
    if (e == ARGUS_OK)
      e = store_audit(s, "retention.purge", "retention", 0, store_json_end(&j),
                      &rep.tombstone_id, err);
  }
  if (e != ARGUS_OK) {
    store_rollback(s);
    return e;
  }
  if (dry_run) {
    store_rollback(s);
  } else {
    if ((e = store_commit(s, err)) != ARGUS_OK)
      return e;
    store_purge_after_commit(s, "retention purge");
  }
  if (out)
    *out = rep;
  return ARGUS_OK;
}
