/* Retention (docs/lawful-use.md, "Retention"): a lifetime per data class
 * and the purge that removes what outlived it. Time passes through the test
 * clock, ARGUS_TEST_NOW (argus_store_clock_ns(); a child argus inherits it).
 *
 * Part 1 (store API): lifetimes are set, read back, audited and checked; a
 * dry run reports every class's items and changes nothing (rows, crop
 * files, exported files, audit log byte for byte the same); the purge
 * removes old alerts with their crop files and decisions, old decisions of
 * young alerts, kept unmatched faces (past their lifetime or their own
 * expiry) with their crops, old live events, old negative examples (the
 * probes of rejected alerts), the files of old exports (and
 * nothing else in their folders), and cuts the audit log while keeping its
 * newest row; its tombstone holds counts and cut-offs but no name; the
 * chain verifies from the new base; an anchor at a purged row is reported
 * as purged; a start cut without a tombstone (rows deleted with SQL and a
 * forged base) is reported as a deletion.
 *
 * Part 2 (ARGUS_CLI): `argus retention set|--json`, bad durations refused
 * with the option named, `argus purge --dry-run` listing and `argus purge
 * --json` counts, through the real binary.
 * With ARGUS_TEST_STORE=postgres (test_retention_pg) the stores are
 * databases of a throwaway PostgreSQL cluster (tests/pg_util.h). */
#define _GNU_SOURCE
#include <dirent.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "argus/store.h"
#include "check.h"
#include "cli_util.h"
#include "pg_util.h"

static pg_cluster g_pgc;
static const pg_cluster *g_pg;

#define DIM 16
static const argus_store_model MODEL = {"synth", "1", DIM};
static const int64_t DAY = 86400LL * 1000000000LL;

static char g_root[512];

static int64_t real_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Sets the test clock to the real time plus `days`. */
static void clock_plus(double days) {
  char t[ARGUS_RFC3339_MAX];
  argus_rfc3339(real_now_ns() + (int64_t)(days * (double)DAY), t);
  setenv("ARGUS_TEST_NOW", t, 1);
}

static void time_plus(double days, char t[ARGUS_RFC3339_MAX]) {
  argus_rfc3339(real_now_ns() + (int64_t)(days * (double)DAY), t);
}

/* A fake JPEG (the store hashes crops, never decodes them). */
static size_t make_crop(uint32_t seed, unsigned char *buf, size_t n) {
  uint32_t s = seed * 2654435761u + 1;
  for (size_t i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >> 17;
    s ^= s << 5;
    buf[i] = (unsigned char)s;
  }
  buf[0] = 0xff;
  buf[1] = 0xd8;
  buf[n - 2] = 0xff;
  buf[n - 1] = 0xd9;
  return n;
}

static int count_files(const char *dir) {
  int n = 0;
  DIR *d = opendir(dir);
  if (!d)
    return 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.')
      continue;
    char p[1200];
    snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
    struct stat sb;
    if (stat(p, &sb) != 0)
      continue;
    n += S_ISDIR(sb.st_mode) ? count_files(p) : 1;
  }
  closedir(d);
  return n;
}

static int64_t sql_int(const char *db, const char *sql) {
  char url[160];
  if (g_pg)
    return pg_db_for_path(g_pg, db, 1, url, sizeof url) == 0
               ? pg_int_url(url, sql)
               : -1;
  sqlite3 *h = NULL;
  int64_t v = -1;
  if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
      v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
  }
  sqlite3_close(h);
  return v;
}

static int sql_exec(const char *db, const char *sql) {
  char url[160];
  if (g_pg) /* 0 (SQLITE_OK) on success */
    return pg_db_for_path(g_pg, db, 1, url, sizeof url) == 0
               ? pg_exec_url(url, sql)
               : -1;
  sqlite3 *h = NULL;
  int rc = sqlite3_open(db, &h);
  if (rc == SQLITE_OK)
    rc = sqlite3_exec(h, sql, NULL, NULL, NULL);
  sqlite3_close(h);
  return rc;
}

static void write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  if (f) {
    fputs(text, f);
    fclose(f);
  }
}

static int exists(const char *path) {
  struct stat sb;
  return stat(path, &sb) == 0;
}

static argus_store *open_db(const char *path) {
  argus_store_options o = {.actor = "test:retention"};
  argus_store *s = NULL;
  argus_store_error err = {{0}};
  if (pg_test_store_open(g_pg, path, &o, &s, &err) != ARGUS_OK)
    fprintf(stderr, "open %s: %s\n", path, err.msg);
  return s;
}

typedef struct seen {
  int n[ARGUS_RETAIN_N];
  char last_what[ARGUS_RETAIN_N][256];
} seen;

static int on_item(void *user, const argus_store_purge_item *it) {
  seen *x = user;
  x->n[it->cls]++;
  snprintf(x->last_what[it->cls], sizeof x->last_what[it->cls], "%s",
           it->what);
  return 0;
}

/* Everything the purge may touch, for "the dry run changed nothing". */
typedef struct snapshot {
  int64_t alerts, decisions, unmatched, events, exports, audit;
  int crops, export_files;
} snapshot;

static void take(snapshot *sn, const char *db, const char *crops,
                 const char *exp) {
  sn->alerts = sql_int(db, "SELECT count(*) FROM alerts");
  sn->decisions = sql_int(db, "SELECT count(*) FROM decisions");
  sn->unmatched = sql_int(db, "SELECT count(*) FROM unmatched");
  sn->events = sql_int(db, "SELECT count(*) FROM events");
  sn->exports = sql_int(db, "SELECT count(*) FROM exports");
  sn->audit = sql_int(db, "SELECT count(*) FROM audit");
  sn->crops = count_files(crops);
  sn->export_files = count_files(exp);
}

static void test_store(void) {
  char db[700], exp[700], subj[800], p[900];
  snprintf(db, sizeof db, "%s/r.db", g_root);
  snprintf(exp, sizeof exp, "%s/exports", g_root);
  mkdir(exp, 0700);
  unsetenv("ARGUS_TEST_NOW");
  argus_store *s = open_db(db);
  CHECK(s != NULL);
  if (!s)
    return;
  argus_store_error err = {{0}};

  /* Lifetimes: unset by default, range-checked, audited. */
  argus_store_retention r;
  CHECK_OK(argus_store_retention_get(s, &r, &err));
  for (int c = 0; c < ARGUS_RETAIN_N; c++)
    CHECK_INT_EQ(r.seconds[c], 0);
  CHECK_INT_EQ(argus_store_retention_set(s, ARGUS_RETAIN_ALERTS, 30, &err),
               ARGUS_E_INVALID_ARG);
  CHECK(strstr(err.msg, "alerts") != NULL);
  CHECK_INT_EQ(argus_store_retention_set(s, (argus_retention_class)9, 3600,
                                         &err),
               ARGUS_E_INVALID_ARG);
  const int64_t d = 86400;
  CHECK_OK(argus_store_retention_set(s, ARGUS_RETAIN_ALERTS, 30 * d, &err));
  CHECK_OK(argus_store_retention_set(s, ARGUS_RETAIN_DECISIONS, 10 * d, &err));
  CHECK_OK(argus_store_retention_set(s, ARGUS_RETAIN_UNMATCHED, 1 * d, &err));
  CHECK_OK(argus_store_retention_set(s, ARGUS_RETAIN_AUDIT, 365 * d, &err));
  CHECK_OK(argus_store_retention_set(s, ARGUS_RETAIN_EXPORTS, 7 * d, &err));
  CHECK_OK(argus_store_retention_set(s, ARGUS_RETAIN_EVENTS, 2 * d, &err));
  CHECK_OK(argus_store_retention_set(s, ARGUS_RETAIN_EVENTS, 0, &err));
  CHECK_OK(argus_store_retention_set(s, ARGUS_RETAIN_EVENTS, 2 * d, &err));
  CHECK_OK(argus_store_retention_set(s, ARGUS_RETAIN_NEGATIVES, 5 * d, &err));
  CHECK_OK(argus_store_retention_get(s, &r, &err));
  CHECK_INT_EQ(r.seconds[ARGUS_RETAIN_ALERTS], 30 * d);
  CHECK_INT_EQ(r.seconds[ARGUS_RETAIN_EXPORTS], 7 * d);
  CHECK_INT_EQ(r.seconds[ARGUS_RETAIN_EVENTS], 2 * d);
  CHECK(r.updated[ARGUS_RETAIN_AUDIT][0] != '\0');
  CHECK_INT_EQ(sql_int(db, "SELECT count(*) FROM audit WHERE action = "
                           "'retention.set'"),
               9);
  argus_retention_class cls;
  CHECK_OK(argus_retention_class_parse("unmatched", &cls));
  CHECK_INT_EQ(cls, ARGUS_RETAIN_UNMATCHED);
  CHECK_INT_EQ(argus_retention_class_parse("faces", &cls),
               ARGUS_E_INVALID_ARG);

  /* A person, three old alerts and two young ones, each with a crop and a
   * thumbnail of its own; one decision on an old and one on a young alert
   * (decisions are written at the real time). */
  argus_store_id wl = 0, person = 0;
  CHECK_OK(argus_store_watchlist_create(s, "wanted", NAN, NULL, &wl, &err));
  unsigned char crop[700];
  float v[DIM];
  for (int i = 0; i < DIM; i++)
    v[i] = (i == 3) ? 1.0f : 0.0f;
  argus_store_photo_in ph = {.crop = crop,
                             .crop_size = make_crop(1, crop, sizeof crop),
                             .quality = 0.9f,
                             .source = "photo",
                             .vector = v};
  argus_store_person_in pin = {"Erika Mustermann", NULL, ""};
  CHECK_OK(argus_store_person_add(s, "wanted", &pin, &MODEL, &ph, 1, &person,
                                  &err));
  const int photo_files = count_files(argus_store_crops_dir(s));
  argus_store_id alert[5];
  for (int i = 0; i < 5; i++) {
    unsigned char c1[600], c2[800];
    char t[ARGUS_RFC3339_MAX];
    time_plus(i < 3 ? -40 - i : -1, t);
    argus_store_alert_in ai = {.threshold = NAN,
                               .track_start = NAN,
                               .camera = "gate",
                               .time = t,
                               .track_id = i,
                               .watchlist_id = wl,
                               .person_id = person,
                               .score = 0.7,
                               .crop = c1,
                               .crop_size = make_crop(100 + i, c1, sizeof c1),
                               .thumb = c2,
                               .thumb_size = make_crop(200 + i, c2, sizeof c2)};
    if (i == 1) { /* its probe becomes a negative example when rejected */
      ai.probe = v;
      ai.probe_dim = DIM;
      ai.probe_model = "synth@1";
    }
    CHECK_OK(argus_store_alert_insert(s, &ai, &alert[i], &err));
  }
  CHECK_OK(argus_store_decision_add(s, alert[1], "op2", ARGUS_ALERT_REJECTED,
                                    "look-alike", NULL, &err));
  CHECK_INT_EQ(sql_int(db, "SELECT count(*) FROM negatives"), 1);
  CHECK_OK(argus_store_decision_add(s, alert[0], "op1", ARGUS_ALERT_REJECTED,
                                    NULL, NULL, &err));
  CHECK_OK(argus_store_decision_add(s, alert[4], "op1", ARGUS_ALERT_CONFIRMED,
                                    "seen", NULL, &err));
  /* Two kept unmatched faces: one expiring within the hour, one kept 30
   * days (longer than the class's one day). */
  for (int i = 0; i < 2; i++) {
    unsigned char c1[500];
    argus_store_unmatched_in u = {.camera = "gate",
                                  .quality = 0.5,
                                  .best_score = 0.1,
                                  .crop = c1,
                                  .crop_size = make_crop(300 + i, c1, sizeof c1),
                                  .retention = i ? 30 * d : 3600};
    CHECK_OK(argus_store_unmatched_insert(s, &u, NULL, &err));
  }
  CHECK_OK(argus_store_event_append(s, "alert", "{\"id\":1}", 8, NULL, &err));
  /* A subject export folder with a file argus did not write, and an audit
   * export. */
  snprintf(subj, sizeof subj, "%s/subject-1", exp);
  mkdir(subj, 0700);
  snprintf(p, sizeof p, "%s/photos", subj);
  mkdir(p, 0700);
  snprintf(p, sizeof p, "%s/alerts", subj);
  mkdir(p, 0700);
  snprintf(p, sizeof p, "%s/subject.json", subj);
  write_file(p, "{}");
  snprintf(p, sizeof p, "%s/manifest.json", subj);
  write_file(p, "{}");
  snprintf(p, sizeof p, "%s/photos/photo-1.jpg", subj);
  write_file(p, "x");
  snprintf(p, sizeof p, "%s/alerts/alert-3-crop.jpg", subj);
  write_file(p, "x");
  snprintf(p, sizeof p, "%s/case-notes.txt", subj);
  write_file(p, "not argus's");
  CHECK_OK(argus_store_export_record(s, "subject", subj, 4, &err));
  snprintf(p, sizeof p, "%s/audit.jsonl", exp);
  write_file(p, "{}\n");
  CHECK_OK(argus_store_export_record(s, "audit", p, 1, &err));
  CHECK_INT_EQ(argus_store_export_record(s, "photos", p, 1, &err),
               ARGUS_E_INVALID_ARG);
  char missing[900];
  snprintf(missing, sizeof missing, "%s/none", exp);
  CHECK_INT_EQ(argus_store_export_record(s, "audit", missing, 1, &err),
               ARGUS_E_IO);
  const char *crops = argus_store_crops_dir(s);
  CHECK_INT_EQ(count_files(crops), photo_files + 10 + 2);

  /* Nothing is old yet. */
  argus_store_purge_report rep;
  CHECK_OK(argus_store_purge(s, 0, NULL, NULL, &rep, &err));
  CHECK_INT_EQ(rep.count[ARGUS_RETAIN_ALERTS], 3); /* 40+ days old */
  CHECK_INT_EQ(rep.count[ARGUS_RETAIN_DECISIONS], 0);
  CHECK_INT_EQ(rep.count[ARGUS_RETAIN_UNMATCHED], 0);
  CHECK_INT_EQ(rep.count[ARGUS_RETAIN_EXPORTS], 0);
  CHECK_INT_EQ(count_files(crops), photo_files + 4 + 2);
  CHECK_INT_EQ(sql_int(db, "SELECT count(*) FROM decisions"), 1);
  CHECK_INT_EQ(sql_int(db, "SELECT count(*) FROM negatives"), 1);

  /* Eleven days later: a dry run changes nothing. */
  clock_plus(11);
  snapshot before, after;
  take(&before, db, crops, exp);
  argus_store_id head0 = 0, head1 = 0;
  char hh0[ARGUS_STORE_SHA256_HEX], hh1[ARGUS_STORE_SHA256_HEX];
  CHECK_OK(argus_store_audit_head(s, &head0, hh0, &err));
  seen x;
  memset(&x, 0, sizeof x);
  CHECK_OK(argus_store_purge(s, 1, on_item, &x, &rep, &err));
  take(&after, db, crops, exp);
  CHECK(memcmp(&before, &after, sizeof before) == 0);
  CHECK_OK(argus_store_audit_head(s, &head1, hh1, &err));
  CHECK(head0 == head1 && strcmp(hh0, hh1) == 0);
  CHECK_INT_EQ(rep.tombstone_id, 0);
  CHECK_INT_EQ(rep.count[ARGUS_RETAIN_ALERTS], 0); /* the young ones: 12 d */
  CHECK_INT_EQ(rep.count[ARGUS_RETAIN_DECISIONS], 1);
  CHECK_INT_EQ(rep.count[ARGUS_RETAIN_UNMATCHED], 2);
  CHECK_INT_EQ(rep.expired_unmatched, 1);
  CHECK_INT_EQ(rep.count[ARGUS_RETAIN_EVENTS], 1);
  CHECK_INT_EQ(rep.count[ARGUS_RETAIN_EXPORTS], 2);
  CHECK_INT_EQ(rep.count[ARGUS_RETAIN_AUDIT], 0);
  CHECK_INT_EQ(rep.count[ARGUS_RETAIN_NEGATIVES], 1); /* outlived its alert */
  CHECK_INT_EQ(x.n[ARGUS_RETAIN_NEGATIVES], 1);
  CHECK_INT_EQ(x.n[ARGUS_RETAIN_DECISIONS], 1);
  CHECK_INT_EQ(x.n[ARGUS_RETAIN_UNMATCHED], 2);
  CHECK_INT_EQ(x.n[ARGUS_RETAIN_EXPORTS], 2);
  CHECK(strstr(x.last_what[ARGUS_RETAIN_EXPORTS], "audit.jsonl") != NULL);
  CHECK(strstr(x.last_what[ARGUS_RETAIN_DECISIONS], "operator=op1") != NULL);

  /* The purge itself. */
  memset(&x, 0, sizeof x);
  CHECK_OK(argus_store_purge(s, 0, on_item, &x, &rep, &err));
  CHECK_INT_EQ(rep.count[ARGUS_RETAIN_DECISIONS], 1);
  CHECK_INT_EQ(rep.count[ARGUS_RETAIN_UNMATCHED], 2);
  CHECK_INT_EQ(rep.count[ARGUS_RETAIN_EVENTS], 1);
  CHECK_INT_EQ(rep.count[ARGUS_RETAIN_EXPORTS], 2);
  CHECK_INT_EQ(rep.files, 5); /* 4 of the subject export, the audit file */
  CHECK(rep.tombstone_id > 0);
  CHECK_INT_EQ(sql_int(db, "SELECT count(*) FROM alerts"), 2);
  CHECK_INT_EQ(sql_int(db, "SELECT count(*) FROM decisions"), 0);
  CHECK_INT_EQ(sql_int(db, "SELECT count(*) FROM unmatched"), 0);
  CHECK_INT_EQ(sql_int(db, "SELECT count(*) FROM events"), 0);
  CHECK_INT_EQ(sql_int(db, "SELECT count(*) FROM exports"), 0);
  CHECK_INT_EQ(sql_int(db, "SELECT count(*) FROM negatives"), 0);
  CHECK_INT_EQ(count_files(crops), photo_files + 4); /* no file stays */
  CHECK(exists(subj));                                /* case-notes.txt */
  snprintf(p, sizeof p, "%s/case-notes.txt", subj);
  CHECK(exists(p));
  snprintf(p, sizeof p, "%s/subject.json", subj);
  CHECK(!exists(p));
  snprintf(p, sizeof p, "%s/photos", subj);
  CHECK(!exists(p));
  snprintf(p, sizeof p, "%s/audit.jsonl", exp);
  CHECK(!exists(p));
  argus_store_alert al;
  CHECK_OK(argus_store_alert_get(s, alert[4], &al, &err));
  CHECK_INT_EQ(al.status, ARGUS_ALERT_CONFIRMED); /* the alert stays */
  /* The tombstone: counts, no biometric content, no name. */
  argus_store_audit *rows = NULL;
  size_t n = 0;
  CHECK_OK(argus_store_audit_list(s, 0, 1, &rows, &n, &err));
  CHECK_INT_EQ(n, 1);
  if (n == 1) {
    CHECK(strcmp(rows[0].action, "retention.purge") == 0);
    CHECK(strcmp(rows[0].actor, "test:retention") == 0);
    CHECK(strstr(rows[0].detail, "\"unmatched\":2") != NULL);
    CHECK(strstr(rows[0].detail, "\"decisions\":1") != NULL);
    CHECK(strstr(rows[0].detail, "Erika") == NULL);
    CHECK(strstr(rows[0].detail, "gate") == NULL);
  }
  argus_store_free(rows);
  /* Nothing left to do: no second tombstone. */
  CHECK_OK(argus_store_purge(s, 0, NULL, NULL, &rep, &err));
  CHECK_INT_EQ(rep.tombstone_id, 0);

  argus_store_audit_check c;
  CHECK_OK(argus_store_audit_verify(s, 0, NULL, &c, &err));
  CHECK_INT_EQ(c.fault, ARGUS_AUDIT_INTACT);
  argus_store_id anchor_id = 0;
  char anchor[ARGUS_STORE_SHA256_HEX];
  CHECK_OK(argus_store_audit_head(s, &anchor_id, anchor, &err));

  /* 400 days later the audit log is cut: only the newest row stays, then
   * the tombstone; the young alerts are 401 days old by now. */
  clock_plus(400);
  int64_t rows_before = sql_int(db, "SELECT count(*) FROM audit");
  CHECK_OK(argus_store_purge(s, 0, NULL, NULL, &rep, &err));
  CHECK_INT_EQ(rep.count[ARGUS_RETAIN_ALERTS], 2);
  CHECK_INT_EQ(rep.count[ARGUS_RETAIN_AUDIT], rows_before - 1);
  CHECK(rep.audit_base_id > 0);
  CHECK_INT_EQ(sql_int(db, "SELECT count(*) FROM audit"), 2);
  CHECK_INT_EQ(count_files(crops), photo_files);
  argus_store_id bid = 0;
  char bsha[ARGUS_STORE_SHA256_HEX];
  CHECK_OK(argus_store_audit_base(s, &bid, bsha, &err));
  CHECK_INT_EQ(bid, rep.audit_base_id);
  CHECK_OK(argus_store_audit_verify(s, 0, NULL, &c, &err));
  CHECK_INT_EQ(c.fault, ARGUS_AUDIT_INTACT);
  CHECK_INT_EQ(c.rows, 2);
  if (c.fault != ARGUS_AUDIT_INTACT)
    fprintf(stderr, "verify: %s\n", c.msg);
  /* The anchor taken before was the last row kept before the cut... */
  CHECK_OK(argus_store_audit_verify(s, anchor_id, anchor, &c, &err));
  CHECK_INT_EQ(c.fault, ARGUS_AUDIT_INTACT);
  /* ...an older one is reported as purged. */
  CHECK_OK(argus_store_audit_verify(s, 3, anchor, &c, &err));
  CHECK_INT_EQ(c.fault, ARGUS_AUDIT_ANCHOR);
  CHECK(strstr(c.msg, "retention purge") != NULL);
  /* The log goes on after the cut, and stays verifiable. */
  CHECK_OK(argus_store_audit_append(s, "auth.login", "user", 1, NULL, &err));
  CHECK_OK(argus_store_audit_verify(s, 0, NULL, &c, &err));
  CHECK_INT_EQ(c.fault, ARGUS_AUDIT_INTACT);
  argus_store_close(s);
  unsetenv("ARGUS_TEST_NOW");
}

/* Cutting the start of the log with SQL and forging a base is not a
 * purge: no tombstone in the log records it. */
static void test_forged_base(void) {
  char db[700];
  snprintf(db, sizeof db, "%s/forged", g_root);
  mkdir(db, 0700);
  snprintf(db, sizeof db, "%s/forged/forged.db", g_root);
  unsetenv("ARGUS_TEST_NOW");
  argus_store *s = open_db(db);
  CHECK(s != NULL);
  if (!s)
    return;
  argus_store_error err = {{0}};
  for (int i = 0; i < 6; i++)
    CHECK_OK(argus_store_audit_append(s, "auth.login", "user", i, NULL, &err));
  argus_store_close(s);
  char sql[512];
  snprintf(sql, sizeof sql,
           "INSERT INTO meta (key, value) SELECT 'audit_base_id', "
           "CAST(id AS TEXT) FROM audit WHERE id = 5; "
           "INSERT INTO meta (key, value) SELECT 'audit_base_sha256', "
           "row_sha256 FROM audit WHERE id = 5; "
           "DELETE FROM audit WHERE id <= 5;");
  CHECK_INT_EQ(sql_exec(db, sql), SQLITE_OK);
  s = open_db(db);
  CHECK(s != NULL);
  if (!s)
    return;
  argus_store_audit_check c;
  CHECK_OK(argus_store_audit_verify(s, 0, NULL, &c, &err));
  CHECK_INT_EQ(c.fault, ARGUS_AUDIT_DELETED);
  CHECK(strstr(c.msg, "no retention purge") != NULL);
  argus_store_close(s);
}

/* ---- the commands ------------------------------------------------------- */

static const char *cli;
static char tmp[700];
static cli_result res;
#define RUN(...) CLI_RUN(cli, tmp, NULL, 0, &res, __VA_ARGS__)

static void test_cli(void) {
  cli = getenv("ARGUS_CLI");
  if (!cli || !*cli) {
    printf("SKIP cli part: ARGUS_CLI is not set\n");
    return;
  }
  char db[700];
  snprintf(tmp, sizeof tmp, "%s/cli", g_root);
  mkdir(tmp, 0700);
  snprintf(db, sizeof db, "%s/c.db", tmp);
  if (g_pg) { /* the CLI: a URL, the data folder from the environment */
    CHECK_INT_EQ(pg_db_for_path(g_pg, db, 1, db, sizeof db), 0);
    setenv("ARGUS_DATA_DIR", tmp, 1);
  }
  unsetenv("ARGUS_TEST_NOW");
  RUN("watchlist", "create", "w", "--db", db);
  CHECK_INT_EQ(res.status, 0);
  if (res.status != 0)
    fprintf(stderr, "argus watchlist create: %s\n", res.err);
  RUN("retention", "set", "--alerts", "90x", "--db", db);
  CHECK_INT_EQ(res.status, 2);
  CHECK(strstr(res.err, "--alerts") && strstr(res.err, "not a duration"));
  RUN("retention", "set", "--audit", "5s", "--db", db);
  CHECK(res.status != 0 && strstr(res.err, "--audit"));
  RUN("retention", "set", "--db", db);
  CHECK(res.status != 0 && strstr(res.err, "nothing to set"));
  RUN("retention", "set", "--alerts", "30d", "--decisions", "2w",
      "--unmatched", "12h", "--audit", "5y", "--exports", "keep", "--db", db);
  CHECK_INT_EQ(res.status, 0);
  CHECK(strstr(res.out, "alerts") && strstr(res.out, "30d"));
  CHECK(strstr(res.out, "decisions") && strstr(res.out, "2w"));
  CHECK(strstr(res.out, "5y") && strstr(res.out, "12h"));
  RUN("retention", "--json", "--db", db);
  CHECK_INT_EQ(res.status, 0);
  CHECK(strstr(res.out, "\"alerts\":2592000") != NULL);
  CHECK(strstr(res.out, "\"exports\":0") != NULL);
  /* An audit export recorded; listed by a dry run a week later. */
  char out[800];
  snprintf(out, sizeof out, "%s/audit.jsonl", tmp);
  RUN("audit", "export", "--out", out, "--db", db);
  CHECK_INT_EQ(res.status, 0);
  RUN("retention", "set", "--exports", "1d", "--db", db);
  CHECK_INT_EQ(res.status, 0);
  clock_plus(3);
  RUN("purge", "--dry-run", "--db", db);
  CHECK_INT_EQ(res.status, 0);
  CHECK(strstr(res.out, "would purge") != NULL);
  CHECK(strstr(res.out, "audit.jsonl") != NULL);
  CHECK(exists(out));
  RUN("purge", "--json", "--db", db);
  CHECK_INT_EQ(res.status, 0);
  CHECK(strstr(res.out, "\"exports\":{\"before\":\"") != NULL);
  CHECK(strstr(res.out, "\"count\":1") != NULL);
  CHECK(strstr(res.out, "\"dry_run\":false") != NULL);
  CHECK(!exists(out));
  RUN("audit", "--limit", "1", "--db", db);
  CHECK(strstr(res.out, "retention.purge") != NULL);
  RUN("audit", "verify", "--db", db);
  CHECK_INT_EQ(res.status, 0);
  unsetenv("ARGUS_TEST_NOW");
}

int main(void) {
  const char *base = getenv("TMPDIR");
  snprintf(g_root, sizeof g_root, "%s/argus-retention-XXXXXX",
           base && *base ? base : "/tmp");
  if (!mkdtemp(g_root)) {
    perror("mkdtemp");
    return 1;
  }
  if (pg_test_wanted()) {
    int pr = pg_cluster_start(&g_pgc);
    if (pr != 0) {
      fprintf(stderr, "test_retention: no PostgreSQL cluster\n");
      return pr == 77 ? 77 : 1;
    }
    g_pg = &g_pgc;
    printf("test_retention: on PostgreSQL (port %d)\n", g_pgc.port);
  }
  test_store();
  test_forged_base();
  test_cli();
  int rc =
      check_report(g_pg ? "test_retention (PostgreSQL)" : "test_retention");
  if (g_pg)
    pg_cluster_stop(&g_pgc);
  cli_rm_tree(g_root);
  return rc;
}
