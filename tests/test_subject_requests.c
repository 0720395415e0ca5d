/* Subject requests (docs/lawful-use.md): `argus person export` writes every
 * stored thing about a person with a manifest whose hashes match the files,
 * and audits itself; `argus person erase` leaves no trace of the person's
 * name in any column of any table, none of their crop files (a file another
 * person's alert shares stays), a tombstone audit row with the counts and
 * no name, an audit chain that verifies, and the other person of the
 * watchlist enrolled and found by `argus identify`. An unknown person is a
 * clear error that changes nothing. The API's GET /persons/{id}/export and
 * POST /persons/{id}/erase: admin only, answers as documented.
 *
 * Needs the models ($ARGUS_MODELS_DIR) and the stills of ../shared/data
 * (knn_examples); skips (77) without them.
 *
 * With ARGUS_TEST_STORE=postgres (test_subject_requests_pg) every database
 * is a database of a throwaway PostgreSQL cluster (tests/pg_util.h), its
 * file's folder the data folder (ARGUS_DATA_DIR for the CLI and the
 * server): "no trace in any column of any table" is then looked for in
 * every column of every table of the database's schema, and "an unknown
 * person changes nothing" compares a digest of every table's rows where
 * SQLite compares the file's bytes. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "api_shape.h"
#include "argus/core.h"
#include "argus/store.h"
#include "check.h"
#include "cli_util.h"
#include "pg_util.h"

static pg_cluster g_pgc;
static const pg_cluster *g_pg;

#define ERASED "Joe Biden"
#define KEPT "Kit Harington"

static const char *cli, *models;
static char tmp[256], db[400], train[1200];
static cli_result r;

#define RUN(...) CLI_RUN(cli, tmp, models, 1, &r, __VA_ARGS__)

/* The --db argument for the database file `path`: the path itself, or
 * under PostgreSQL the URL of its database, with ARGUS_DATA_DIR set to the
 * path's folder for the commands that follow. */
static const char *db_arg(const char *path) {
  const char *a = pg_test_db_arg(g_pg, path);
  if (!a) {
    CHECK(!"no database for the path");
    return path;
  }
  return a;
}

/* The whole file in a malloc'd buffer (NUL-terminated), *n its size. */
static char *slurp(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  fseek(f, 0, SEEK_END);
  long sz = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *b = malloc((size_t)(sz > 0 ? sz : 0) + 1);
  size_t got = b ? fread(b, 1, (size_t)(sz > 0 ? sz : 0), f) : 0;
  fclose(f);
  if (!b)
    return NULL;
  b[got] = '\0';
  if (n)
    *n = got;
  return b;
}

static void file_hash(const char *path, char hex[65]) {
  size_t n = 0;
  char *b = slurp(path, &n);
  hex[0] = '\0';
  if (b)
    argus_sha256_hex(b, n, hex);
  free(b);
}

static argus_store *open_store(void) {
  argus_store *s = NULL;
  argus_store_error err = {{0}};
  argus_store_options o = {.must_exist = 1, .actor = "test"};
  if (pg_test_store_open(g_pg, db, &o, &s, &err) != ARGUS_OK) {
    fprintf(stderr, "open %s: %s\n", db, err.msg);
    return NULL;
  }
  return s;
}

static argus_store_id person_id(argus_store *s, const char *name) {
  argus_store_person *list = NULL;
  size_t n = 0;
  argus_store_error err = {{0}};
  argus_store_id id = 0;
  if (argus_store_person_list(s, "vip", name, &list, &n, &err) == ARGUS_OK &&
      n == 1)
    id = list[0].id;
  argus_store_free(list);
  return id;
}

static int crop_exists(argus_store *s, const char *hash) {
  char path[4200];
  argus_store_error err = {{0}};
  if (argus_store_crop_path(s, hash, path, sizeof path, &err) != ARGUS_OK)
    return -1;
  return access(path, F_OK) == 0;
}

/* Alerts, a decision and a live event about the persons, through the
 * store (the pipeline stores alerts this way). The erased person's alert
 * shares its thumbnail with the kept person's alert. */
static argus_store_id alert_ids[2];
static void make_alerts(argus_store_id erased, argus_store_id kept) {
  argus_store *s = open_store();
  CHECK(s != NULL);
  if (!s)
    return;
  argus_store_watchlist w;
  argus_store_error err = {{0}};
  CHECK_OK(argus_store_watchlist_get(s, "vip", &w, &err));
  static const char crop_a[] = "\xff\xd8 alert crop of the erased person";
  static const char crop_b[] = "\xff\xd8 alert crop of the kept person";
  static const char thumb[] = "\xff\xd8 a frame both alerts share";
  argus_store_id who[2] = {erased, kept};
  for (int i = 0; i < 2; i++) {
    argus_store_alert_in a = {.camera = "door",
                              .media_time = 1.5 + i,
                              .track_id = 7 + i,
                              .watchlist_id = w.id,
                              .person_id = who[i],
                              .score = 0.8,
                              .crop = i ? crop_b : crop_a,
                              .crop_size =
                                  (i ? sizeof crop_b : sizeof crop_a) - 1,
                              .thumb = thumb,
                              .thumb_size = sizeof thumb - 1,
                              .threshold = 0.5,
                              .track_start = 1.0};
    CHECK_OK(argus_store_alert_insert(s, &a, &alert_ids[i], &err));
  }
  CHECK_OK(argus_store_decision_add(s, alert_ids[0], "op1",
                                    ARGUS_ALERT_CONFIRMED, "seen at the door",
                                    NULL, &err));
  char ev[256];
  snprintf(ev, sizeof ev,
           "{\"id\":%lld,\"person\":\"" ERASED "\",\"person_id\":%lld}",
           (long long)alert_ids[0], (long long)erased);
  CHECK_OK(argus_store_event_append(s, "alert", ev, strlen(ev), NULL, &err));
  snprintf(ev, sizeof ev,
           "{\"id\":%lld,\"person\":\"" KEPT "\",\"person_id\":%lld}",
           (long long)alert_ids[1], (long long)kept);
  CHECK_OK(argus_store_event_append(s, "alert", ev, strlen(ev), NULL, &err));
  argus_store_close(s);
}

/* The export: every manifest file is there with its hash; the document
 * holds the record, both templates with vectors, the alert with its
 * decision and the audit rows; the export is audited. */
static void test_export(argus_store_id erased, char hashes[][65], int *nh) {
  char out[600];
  snprintf(out, sizeof out, "%s/export", tmp);
  RUN("person", "export", ERASED, "--out", out, "--db", db_arg(db));
  CHECK_INT_EQ(r.status, 0);
  char path[1200];
  snprintf(path, sizeof path, "%s/manifest.json", out);
  char *text = slurp(path, NULL);
  CHECK(text != NULL);
  cJSON *m = text ? cJSON_Parse(text) : NULL;
  CHECK(m != NULL);
  cJSON *files = cJSON_GetObjectItem(m, "files");
  CHECK_INT_EQ(cJSON_GetArraySize(files), 5); /* doc, 2 photos, crop, thumb */
  int photos = 0, alerts = 0;
  cJSON *f;
  cJSON_ArrayForEach(f, files) {
    const char *rel = cJSON_GetStringValue(cJSON_GetObjectItem(f, "path"));
    const char *want = cJSON_GetStringValue(cJSON_GetObjectItem(f, "sha256"));
    CHECK(rel && want);
    if (!rel || !want)
      continue;
    snprintf(path, sizeof path, "%s/%s", out, rel);
    char have[65];
    file_hash(path, have);
    CHECK(strcmp(have, want) == 0);
    photos += strncmp(rel, "photos/", 7) == 0;
    alerts += strncmp(rel, "alerts/", 7) == 0;
    if (strcmp(rel, "subject.json") != 0 && *nh < 8)
      snprintf(hashes[(*nh)++], 65, "%s", want);
  }
  CHECK_INT_EQ(photos, 2);
  CHECK_INT_EQ(alerts, 2);
  cJSON_Delete(m);
  free(text);

  snprintf(path, sizeof path, "%s/subject.json", out);
  text = slurp(path, NULL);
  cJSON *d = text ? cJSON_Parse(text) : NULL;
  CHECK(d != NULL);
  cJSON *person = cJSON_GetObjectItem(d, "person");
  const char *nm = cJSON_GetStringValue(cJSON_GetObjectItem(person, "name"));
  CHECK(nm && strcmp(nm, ERASED) == 0);
  cJSON *tpl = cJSON_GetObjectItem(d, "templates");
  CHECK_INT_EQ(cJSON_GetArraySize(tpl), 2);
  cJSON *t0 = cJSON_GetArrayItem(tpl, 0);
  CHECK_INT_EQ(cJSON_GetArraySize(cJSON_GetObjectItem(t0, "vector")),
               (int)cJSON_GetNumberValue(cJSON_GetObjectItem(t0, "dim")));
  CHECK(cJSON_GetStringValue(cJSON_GetObjectItem(t0, "model")) != NULL);
  cJSON *al = cJSON_GetObjectItem(d, "alerts");
  CHECK_INT_EQ(cJSON_GetArraySize(al), 1);
  cJSON *a0 = cJSON_GetArrayItem(al, 0);
  CHECK_INT_EQ(cJSON_GetArraySize(cJSON_GetObjectItem(a0, "decisions")), 1);
  CHECK_INT_EQ((int)cJSON_GetNumberValue(
                   cJSON_GetObjectItem(cJSON_GetObjectItem(a0, "alert"), "id")),
               (int)alert_ids[0]);
  int person_add = 0, alert_insert = 0, other_alert = 0;
  cJSON *row;
  cJSON_ArrayForEach(row, cJSON_GetObjectItem(d, "audit")) {
    const char *act = cJSON_GetStringValue(cJSON_GetObjectItem(row, "action"));
    int obj = (int)cJSON_GetNumberValue(cJSON_GetObjectItem(row, "object_id"));
    person_add += act && strcmp(act, "person.add") == 0 && obj == (int)erased;
    alert_insert +=
        act && strcmp(act, "alert.insert") == 0 && obj == (int)alert_ids[0];
    other_alert +=
        obj == (int)alert_ids[1] && act && strncmp(act, "alert.", 6) == 0;
  }
  CHECK_INT_EQ(person_add, 1);
  CHECK_INT_EQ(alert_insert, 1);
  CHECK_INT_EQ(other_alert, 0);
  cJSON_Delete(d);
  free(text);

  /* A folder that is not empty is refused. */
  CLI_RUN(cli, tmp, models, 0, &r, "person", "export", ERASED, "--out", out,
          "--db", db_arg(db));
  CHECK_INT_EQ(r.status, 1);
  CHECK(strstr(r.err, "not an empty folder") != NULL);

  argus_store *s = open_store();
  if (s) {
    argus_store_audit_filter af = {.action = "subject.export",
                                   .object_type = "person",
                                   .object_id = erased};
    argus_store_audit *rows = NULL;
    size_t n = 0;
    argus_store_error err = {{0}};
    CHECK_OK(argus_store_audit_query(s, &af, &rows, &n, &err));
    CHECK_INT_EQ(n, 1);
    if (n == 1) {
      CHECK(strncmp(rows[0].actor, "cli:", 4) == 0);
      CHECK(strstr(rows[0].detail, "\"templates\":2") != NULL);
      CHECK(strstr(rows[0].detail, "Biden") == NULL);
    }
    argus_store_free(rows);
    argus_store_close(s);
  }
}

/* The columns of the PostgreSQL database's own tables (its schema) with
 * their types: a result to free with PQclear, or NULL. */
static PGresult *pg_columns(PGconn *conn) {
  PGresult *cols =
      PQexec(conn, "SELECT c.table_name, c.column_name, c.data_type "
                   "FROM information_schema.columns c JOIN "
                   "information_schema.tables t USING (table_schema, "
                   "table_name) WHERE c.table_schema = "
                   "current_schema() AND t.table_type = 'BASE TABLE' "
                   "ORDER BY c.table_name, c.ordinal_position");
  if (PQresultStatus(cols) != PGRES_TUPLES_OK || PQntuples(cols) == 0) {
    fprintf(stderr, "the columns of %s: %s", db, PQerrorMessage(conn));
    PQclear(cols);
    return NULL;
  }
  return cols;
}

/* db_mentions on PostgreSQL: every value of every column but the numeric
 * ones, bytea compared as bytes, anything else as its text. */
static int pg_mentions(const char *needle, int verbose) {
  char url[160];
  if (pg_db_for_path(g_pg, db, 0, url, sizeof url) != 0)
    return -1;
  PGconn *conn = PQconnectdb(url);
  PGresult *cols = PQstatus(conn) == CONNECTION_OK ? pg_columns(conn) : NULL;
  int hits = cols ? 0 : -1;
  for (int i = 0; cols && i < PQntuples(cols); i++) {
    const char *t = PQgetvalue(cols, i, 0), *c = PQgetvalue(cols, i, 1),
               *ty = PQgetvalue(cols, i, 2);
    static const char *const numeric[] = {
        "bigint", "integer", "smallint",        "numeric",
        "real",   "boolean", "double precision"};
    int skip = 0;
    for (size_t k = 0; k < sizeof numeric / sizeof *numeric; k++)
      skip |= strcmp(ty, numeric[k]) == 0;
    if (skip)
      continue;
    char sql[400];
    if (strcmp(ty, "bytea") == 0)
      snprintf(sql, sizeof sql,
               "SELECT count(*) FROM \"%s\" WHERE position(convert_to($1, "
               "'UTF8') IN \"%s\") > 0",
               t, c);
    else
      snprintf(sql, sizeof sql,
               "SELECT count(*) FROM \"%s\" WHERE strpos(\"%s\"::text, $1) "
               "> 0",
               t, c);
    const char *param[1] = {needle};
    PGresult *q = PQexecParams(conn, sql, 1, NULL, param, NULL, NULL, 0);
    if (PQresultStatus(q) != PGRES_TUPLES_OK) {
      fprintf(stderr, "%s: %s", sql, PQerrorMessage(conn));
      hits = -1;
      PQclear(q);
      break;
    }
    int n = atoi(PQgetvalue(q, 0, 0));
    if (n && verbose)
      fprintf(stderr, "'%s' still in %s.%s (%d rows)\n", needle, t, c, n);
    hits += n;
    PQclear(q);
  }
  PQclear(cols);
  PQfinish(conn);
  return hits;
}

/* Every TEXT or BLOB value of every table that contains `needle`:
 * printed, and counted. */
static int db_mentions(const char *needle, int verbose) {
  if (g_pg)
    return pg_mentions(needle, verbose);
  sqlite3 *h = NULL;
  int hits = 0;
  if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
    sqlite3_close(h);
    return -1;
  }
  sqlite3_stmt *t = NULL;
  sqlite3_prepare_v2(h, "SELECT name FROM sqlite_master WHERE type = 'table'",
                     -1, &t, NULL);
  while (sqlite3_step(t) == SQLITE_ROW) {
    char sql[300];
    snprintf(sql, sizeof sql, "SELECT * FROM \"%s\"",
             (const char *)sqlite3_column_text(t, 0));
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(h, sql, -1, &q, NULL) != SQLITE_OK)
      continue;
    while (sqlite3_step(q) == SQLITE_ROW) {
      for (int c = 0; c < sqlite3_column_count(q); c++) {
        int ty = sqlite3_column_type(q, c);
        if (ty != SQLITE_TEXT && ty != SQLITE_BLOB)
          continue;
        const void *v = sqlite3_column_blob(q, c);
        int n = sqlite3_column_bytes(q, c);
        if (v && memmem(v, (size_t)n, needle, strlen(needle))) {
          if (verbose)
            fprintf(stderr, "'%s' still in %s.%s\n", needle,
                    (const char *)sqlite3_column_text(t, 0),
                    sqlite3_column_name(q, c));
          hits++;
        }
      }
    }
    sqlite3_finalize(q);
  }
  sqlite3_finalize(t);
  sqlite3_close(h);
  return hits;
}

static int64_t db_count(const char *sql) {
  if (g_pg) {
    char url[160];
    return pg_db_for_path(g_pg, db, 0, url, sizeof url) == 0
               ? pg_int_url(url, sql)
               : -1;
  }
  sqlite3 *h = NULL;
  int64_t v = -1;
  if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(h, sql, -1, &q, NULL) == SQLITE_OK &&
        sqlite3_step(q) == SQLITE_ROW)
      v = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
  }
  sqlite3_close(h);
  return v;
}

/* What the database holds, as a SHA-256 (hex): the file's bytes, or under
 * PostgreSQL every table's name and rows (as text, sorted). */
static void db_hash(char hex[65]) {
  if (!g_pg) {
    file_hash(db, hex);
    return;
  }
  hex[0] = '\0';
  char url[160];
  if (pg_db_for_path(g_pg, db, 0, url, sizeof url) != 0)
    return;
  PGconn *conn = PQconnectdb(url);
  PGresult *cols = PQstatus(conn) == CONNECTION_OK ? pg_columns(conn) : NULL;
  argus_sha256 h;
  argus_sha256_init(&h);
  int ok = cols != NULL;
  for (int i = 0; ok && i < PQntuples(cols); i++) {
    const char *t = PQgetvalue(cols, i, 0);
    if (i > 0 && strcmp(t, PQgetvalue(cols, i - 1, 0)) == 0)
      continue; /* one query a table */
    char sql[300];
    snprintf(sql, sizeof sql,
             "SELECT x::text FROM \"%s\" x ORDER BY x::text COLLATE \"C\"", t);
    PGresult *q = PQexec(conn, sql);
    ok = PQresultStatus(q) == PGRES_TUPLES_OK;
    if (!ok)
      fprintf(stderr, "%s: %s", sql, PQerrorMessage(conn));
    argus_sha256_update(&h, t, strlen(t) + 1);
    for (int k = 0; ok && k < PQntuples(q); k++)
      argus_sha256_update(&h, PQgetvalue(q, k, 0),
                          (size_t)PQgetlength(q, k, 0) + 1);
    PQclear(q);
  }
  PQclear(cols);
  PQfinish(conn);
  if (ok) {
    uint8_t d[32];
    argus_sha256_final(&h, d);
    argus_sha256_digest_hex(d, hex);
  }
}

static void test_erase_unknown(void) {
  char before[65], after[65];
  db_hash(before);
  CHECK(strlen(before) == 64);
  int64_t audit = db_count("SELECT count(*) FROM audit");
  CLI_RUN(cli, tmp, models, 0, &r, "person", "erase", "Nobody Known", "--yes",
          "--db", db_arg(db));
  CHECK_INT_EQ(r.status, 1);
  CHECK(strstr(r.err, "no person named 'Nobody Known'") != NULL);
  CLI_RUN(cli, tmp, models, 0, &r, "person", "erase", "99999", "--yes", "--db",
          db_arg(db));
  CHECK_INT_EQ(r.status, 1);
  CHECK(strstr(r.err, "no person with id 99999") != NULL);
  db_hash(after);
  CHECK(strcmp(before, after) == 0);
  CHECK_INT_EQ(db_count("SELECT count(*) FROM audit"), audit);
}

static void test_erase(argus_store_id erased, argus_store_id kept,
                       char hashes[][65], int nh) {
  char num[32];
  snprintf(num, sizeof num, "%lld", (long long)erased);
  /* stdin is not a terminal here: without --yes it refuses. */
  CLI_RUN(cli, tmp, models, 0, &r, "person", "erase", num, "--db", db_arg(db));
  CHECK_INT_EQ(r.status, 1);
  CHECK(strstr(r.err, "--yes") != NULL);
  CHECK_INT_EQ(db_count("SELECT count(*) FROM persons"), 2);

  argus_store *s = open_store();
  char kept_photo[65] = "", kept_alert_crop[65] = "";
  if (s) {
    argus_store_photo *ph = NULL;
    size_t n = 0;
    argus_store_error err = {{0}};
    CHECK_OK(argus_store_photo_list(s, kept, 0, 0, &ph, &n, &err));
    if (n)
      snprintf(kept_photo, sizeof kept_photo, "%s", ph[0].crop_sha256);
    argus_store_free(ph);
    argus_store_alert a;
    CHECK_OK(argus_store_alert_get(s, alert_ids[1], &a, &err));
    snprintf(kept_alert_crop, sizeof kept_alert_crop, "%s", a.crop_sha256);
    argus_store_close(s);
  }

  RUN("person", "erase", ERASED, "--yes", "--db", db_arg(db));
  CHECK_INT_EQ(r.status, 0);
  CHECK(strstr(r.out, "2 templates, 2 photos, 1 alerts, 1 decisions") != NULL);
  printf("%s", r.out);

  /* Nowhere in the database, whatever the table or column. */
  CHECK_INT_EQ(db_mentions(ERASED, 1), 0);
  CHECK_INT_EQ(db_mentions("Biden", 1), 0);
  char sql[200];
  snprintf(sql, sizeof sql,
           "SELECT count(*) FROM templates WHERE person_id = %lld",
           (long long)erased);
  CHECK_INT_EQ(db_count(sql), 0);
  snprintf(sql, sizeof sql,
           "SELECT count(*) FROM alerts WHERE person_id = %lld",
           (long long)erased);
  CHECK_INT_EQ(db_count(sql), 0);
  CHECK_INT_EQ(db_count("SELECT count(*) FROM alerts"), 1);
  CHECK_INT_EQ(db_count("SELECT count(*) FROM decisions"), 0);
  CHECK_INT_EQ(db_count("SELECT count(*) FROM events"), 1);
  CHECK_INT_EQ(db_count("SELECT count(*) FROM crop_purge"), 0);
  CHECK(db_mentions(KEPT, 0) > 0);

  s = open_store();
  if (!s)
    return;
  /* The erased person's files are gone; the thumbnail the other alert
   * shares and the other person's files stay. */
  const char *shared = NULL;
  argus_store_alert a;
  argus_store_error err = {{0}};
  CHECK_OK(argus_store_alert_get(s, alert_ids[1], &a, &err));
  shared = a.thumb_sha256;
  int gone = 0;
  for (int i = 0; i < nh; i++) {
    if (strcmp(hashes[i], shared) == 0)
      CHECK_INT_EQ(crop_exists(s, hashes[i]), 1);
    else
      gone += crop_exists(s, hashes[i]) == 0;
  }
  CHECK_INT_EQ(gone, nh - 1);
  CHECK_INT_EQ(crop_exists(s, kept_photo), 1);
  CHECK_INT_EQ(crop_exists(s, kept_alert_crop), 1);

  /* The tombstone: counts, the id, no name. */
  argus_store_audit_filter af = {
      .action = "person.erase", .object_type = "person", .object_id = erased};
  argus_store_audit *rows = NULL;
  size_t n = 0;
  CHECK_OK(argus_store_audit_query(s, &af, &rows, &n, &err));
  CHECK_INT_EQ(n, 1);
  if (n == 1) {
    CHECK(strstr(rows[0].detail, "\"templates\":2") != NULL);
    CHECK(strstr(rows[0].detail, "\"photos\":2") != NULL);
    CHECK(strstr(rows[0].detail, "\"alerts\":1") != NULL);
    CHECK(strstr(rows[0].detail, "\"files\":3") != NULL);
    CHECK(strstr(rows[0].detail, "Biden") == NULL);
  }
  argus_store_free(rows);
  /* The change feed carries the erasure as a person change (a running
   * matcher drops the person as for a removal). */
  argus_store_change *ch = NULL;
  size_t nc = 0;
  CHECK_OK(argus_store_changes_since(s, 0, 0, &ch, &nc, NULL, &err));
  int seen = 0;
  for (size_t i = 0; i < nc; i++)
    seen += strcmp(ch[i].action, "person.erase") == 0 &&
            strcmp(ch[i].object_type, "person") == 0 &&
            ch[i].object_id == erased;
  CHECK_INT_EQ(seen, 1);
  argus_store_free(ch);
  argus_store_audit_check chk;
  CHECK_OK(argus_store_audit_verify(s, 0, NULL, &chk, &err));
  CHECK_INT_EQ(chk.fault, ARGUS_AUDIT_INTACT);
  argus_store_close(s);

  RUN("audit", "verify", "--db", db_arg(db));
  CHECK_INT_EQ(r.status, 0);

  /* The other person still matches; the erased one is not found. */
  char img[1300];
  snprintf(img, sizeof img, "%s/kit_harington/john2.jpeg", train);
  RUN("identify", "--watchlist", "vip", "--json", "--db", db_arg(db), img);
  CHECK_INT_EQ(r.status, 0);
  CHECK(strstr(r.out, KEPT) != NULL);
  snprintf(img, sizeof img, "%s/biden/biden2.jpg", train);
  CLI_RUN(cli, tmp, models, 0, &r, "identify", "--watchlist", "vip", "--json",
          "--db", db_arg(db), img);
  CHECK(strstr(r.out, "Biden") == NULL);
}

/* Namesakes: NAME naming two persons is refused with their ids; erasing
 * one by id leaves the other's rows, audit rows included, as they were. */
static void test_namesakes(void) {
  char db2[400];
  snprintf(db2, sizeof db2, "%s/names", tmp);
  CHECK(mkdir(db2, 0700) == 0);
  snprintf(db2, sizeof db2, "%s/names/argus.db", tmp);
  argus_store *s = NULL;
  argus_store_error err = {{0}};
  argus_store_options o = {.actor = "test"};
  CHECK_OK(pg_test_store_open(g_pg, db2, &o, &s, &err));
  if (!s) {
    fprintf(stderr, "open %s: %s\n", db2, err.msg);
    return;
  }
  argus_store_id ids[2] = {0, 0};
  const char *lists[2] = {"a", "b"};
  for (int i = 0; i < 2; i++) {
    argus_store_person_in in = {.name = "Same Name"};
    CHECK_OK(argus_store_watchlist_create(s, lists[i], NAN, NULL, NULL, &err));
    CHECK_OK(
        argus_store_person_add(s, lists[i], &in, NULL, NULL, 0, &ids[i], &err));
  }
  argus_store_close(s);
  CLI_RUN(cli, tmp, models, 0, &r, "person", "erase", "Same Name", "--yes",
          "--db", db_arg(db2));
  CHECK_INT_EQ(r.status, 1);
  CHECK(strstr(r.err, "2 persons are named 'Same Name'") != NULL);
  char num[32];
  snprintf(num, sizeof num, "%lld", (long long)ids[0]);
  CLI_RUN(cli, tmp, models, 1, &r, "person", "erase", num, "--yes", "--db",
          db_arg(db2));
  CHECK_INT_EQ(r.status, 0);
  CHECK_OK(pg_test_store_open(g_pg, db2, &o, &s, &err));
  if (!s)
    return;
  argus_store_person p;
  CHECK_OK(argus_store_person_get(s, ids[1], &p, &err));
  argus_store_audit_filter af = {.action = "person.add",
                                 .object_type = "person"};
  argus_store_audit *rows = NULL;
  size_t n = 0;
  CHECK_OK(argus_store_audit_query(s, &af, &rows, &n, &err));
  CHECK_INT_EQ(n, 2);
  for (size_t i = 0; i < n; i++) {
    int kept = rows[i].object_id == ids[1];
    CHECK_INT_EQ(strstr(rows[i].detail, "\"Same Name\"") != NULL, kept);
    CHECK_INT_EQ(strstr(rows[i].detail, "[erased]") != NULL, !kept);
  }
  argus_store_free(rows);
  argus_store_audit_check chk;
  CHECK_OK(argus_store_audit_verify(s, 0, NULL, &chk, &err));
  CHECK_INT_EQ(chk.fault, ARGUS_AUDIT_INTACT);
  argus_store_close(s);
}

/* An API call checked for its status and, when JSON, against the document;
 * the body when wanted (malloc'd) or NULL. */
static cJSON *g_doc;
static char *api_expect(const api_srv *s, const char *method, const char *path,
                        int role, long want) {
  api_resp ar;
  if (api_call(s, method, path, role, NULL, NULL, &ar) != 0) {
    CHECK(!"no answer");
    return NULL;
  }
  if (ar.status != want)
    fprintf(stderr, "%s %s: %ld (want %ld) %.300s\n", method, path, ar.status,
            want, ar.body);
  CHECK_INT_EQ(ar.status, want);
  char pat[256];
  api_shape_pattern(path, pat, sizeof pat);
  if (g_doc && ar.size && strstr(ar.ctype, "application/json"))
    api_shape_of(g_doc, method, pat, ar.status, ar.body);
  char *body = ar.body;
  ar.body = NULL;
  api_resp_free(&ar);
  return body;
}

/* api_srv_start on PostgreSQL: the same folder, users, tokens and
 * `argus serve --db URL --listen 127.0.0.1:0 --models M --no-pipeline`,
 * with the folder as ARGUS_DATA_DIR (api_util.h's server always opens a
 * file). Its stderr goes to serve.err in the folder. api_srv_stop stops it
 * and removes the folder. 0 once it listens. */
static int pg_api_start(api_srv *s) {
  memset(s, 0, sizeof *s);
  snprintf(s->dir, sizeof s->dir, "/tmp/argus-api-XXXXXX");
  if (!mkdtemp(s->dir)) {
    s->dir[0] = '\0';
    return -1;
  }
  char path[700], errf[700];
  snprintf(path, sizeof path, "%s/argus.db", s->dir);
  snprintf(s->db, sizeof s->db, "%s", db_arg(path));
  for (int role = 0; role < 4; role++)
    if (api_user_add(s, api_user_name(role), api_role_name(role),
                     api_user_password(role)) != 0 ||
        api_user_token(s, api_user_name(role), s->token[role],
                       sizeof s->token[role]) != 0)
      goto fail;
  snprintf(errf, sizeof errf, "%s/serve.err", s->dir);
  const char *m = getenv("ARGUS_MODELS_DIR");
  const char *argv[] = {cli,        "serve",       "--db",          s->db,
                        "--listen", "127.0.0.1:0", "--no-pipeline", "--models",
                        m,          NULL};
  if (!m || !m[0])
    argv[7] = NULL;
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid < 0)
    goto fail;
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    int in = open("/dev/null", O_RDONLY);
    int fe = open(errf, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (in < 0 || fe < 0 || dup2(in, 0) < 0 || dup2(fe, 2) < 0)
      _exit(126);
    execv(cli, (char *const *)argv);
    _exit(127);
  }
  s->pid = pid;
  static const char key[] = "argus serve: listening on ";
  static char text[1 << 16];
  for (int waited = 0; waited < 600; waited++) { /* 60 s */
    cli_slurp(errf, text, sizeof text);
    const char *k = strstr(text, key);
    if (k) {
      const char *url = k + strlen(key);
      size_t n = strcspn(url, " \t\n");
      const char *colon = memrchr(url, ':', n);
      if (n < sizeof s->base && colon) {
        memcpy(s->base, url, n);
        s->base[n] = '\0';
        s->port = atoi(colon + 1);
        return 0;
      }
    }
    if (waitpid(pid, NULL, WNOHANG) == pid) {
      s->pid = 0;
      break;
    }
    usleep(100 * 1000);
  }
  fprintf(stderr, "argus serve on %s did not listen:\n%s\n", s->db, text);
fail:
  api_srv_stop(s);
  return -1;
}

static void test_api(void) {
  api_srv s;
  const char *extra[] = {"--no-pipeline", NULL};
  if ((g_pg ? pg_api_start(&s) : api_srv_start(&s, extra)) != 0) {
    CHECK(!"the server did not start");
    return;
  }
  g_doc = api_shape_doc(&s);
  CHECK(g_doc != NULL);
  char b1[1300];
  snprintf(b1, sizeof b1, "%s/biden/biden.jpg", train);
  if (g_pg)
    setenv("ARGUS_DATA_DIR", s.dir, 1);
  CLI_RUN(cli, tmp, models, 1, &r, "watchlist", "create", "api", "--db", s.db);
  CHECK_INT_EQ(r.status, 0);
  CLI_RUN(cli, tmp, models, 1, &r, "person", "add", "--watchlist", "api",
          "--name", ERASED, b1, "--db", s.db);
  CHECK_INT_EQ(r.status, 0);
  char path[128];
  snprintf(path, sizeof path, "/api/v1/persons/1/export");
  free(api_expect(&s, "GET", path, ARGUS_ROLE_SUPERVISOR, 403));
  char *doc = api_expect(&s, "GET", path, ARGUS_ROLE_ADMIN, 200);
  CHECK(doc && strstr(doc, "\"name\":\"" ERASED "\"") != NULL);
  CHECK(doc && strstr(doc, "\"vector\":[") != NULL);
  free(doc);
  free(api_expect(&s, "GET", "/api/v1/persons/99/export", ARGUS_ROLE_ADMIN,
                  404));
  snprintf(path, sizeof path, "/api/v1/persons/1/erase");
  free(api_expect(&s, "POST", path, ARGUS_ROLE_OPERATOR, 403));
  free(api_expect(&s, "POST", path, ARGUS_ROLE_SUPERVISOR, 403));
  char *out = api_expect(&s, "POST", path, ARGUS_ROLE_ADMIN, 200);
  CHECK(out && strstr(out, "\"templates\":1") != NULL);
  CHECK(out && strstr(out, "\"photos\":1") != NULL);
  free(out);
  free(api_expect(&s, "GET", "/api/v1/persons/1", ARGUS_ROLE_SUPERVISOR, 404));
  free(api_expect(&s, "POST", path, ARGUS_ROLE_ADMIN, 404));
  cJSON_Delete(g_doc);
  g_doc = NULL;
  api_srv_stop(&s);
}

int main(void) {
  cli = getenv("ARGUS_CLI");
  if (!cli || access(cli, X_OK) != 0)
    SKIP("ARGUS_CLI is not set to the argus binary");
  models = getenv("ARGUS_MODELS_DIR");
  if (!models)
    models = "models";
  char probe[1200];
  snprintf(probe, sizeof probe, "%s/fr_feature.onnx", models);
  if (access(probe, R_OK) != 0)
    SKIP("no models in %s (scripts/fetch-models.sh)", models);
  const char *shared = getenv("ARGUS_SHARED_DATA");
  if (!shared)
    shared = "../shared/data";
  snprintf(train, sizeof train,
           "%s/stills/face_recognition_examples/examples/knn_examples/train",
           shared);
  snprintf(probe, sizeof probe, "%s/biden/biden2.jpg", train);
  if (access(probe, R_OK) != 0)
    SKIP("%s is absent", probe);
  /* The children's stdin is not a terminal (erase must refuse without
   * --yes instead of asking). */
  if (!freopen("/dev/null", "r", stdin))
    return 1;
  snprintf(tmp, sizeof tmp, "/tmp/argus-test-subject-XXXXXX");
  if (!mkdtemp(tmp)) {
    perror("mkdtemp");
    return 1;
  }
  if (pg_test_wanted()) {
    int pr = pg_cluster_start(&g_pgc);
    if (pr != 0) {
      fprintf(stderr, "test_subject_requests: no PostgreSQL cluster\n");
      cli_rm_tree(tmp);
      return pr == 77 ? 77 : 1;
    }
    g_pg = &g_pgc;
    printf("test_subject_requests: on PostgreSQL (port %d)\n", g_pgc.port);
  }
  snprintf(db, sizeof db, "%s/argus.db", tmp);
  char b1[1300], b2[1300], k1[1300];
  snprintf(b1, sizeof b1, "%s/biden/biden.jpg", train);
  snprintf(b2, sizeof b2, "%s/biden/biden2.jpg", train);
  snprintf(k1, sizeof k1, "%s/kit_harington/john1.jpeg", train);
  RUN("watchlist", "create", "vip", "--db", db_arg(db));
  CHECK_INT_EQ(r.status, 0);
  RUN("person", "add", "--watchlist", "vip", "--name", ERASED, b1, b2, "--db",
      db_arg(db));
  CHECK_INT_EQ(r.status, 0);
  RUN("person", "add", "--watchlist", "vip", "--name", KEPT, k1, "--db",
      db_arg(db));
  CHECK_INT_EQ(r.status, 0);
  argus_store *s = open_store();
  CHECK(s != NULL);
  argus_store_id erased = s ? person_id(s, ERASED) : 0;
  argus_store_id kept = s ? person_id(s, KEPT) : 0;
  argus_store_close(s);
  CHECK(erased > 0 && kept > 0);
  if (erased > 0 && kept > 0) {
    make_alerts(erased, kept);
    char hashes[8][65];
    int nh = 0;
    test_export(erased, hashes, &nh);
    CHECK_INT_EQ(nh, 4);
    test_erase_unknown();
    test_erase(erased, kept, hashes, nh);
  }
  test_namesakes();
  test_api();
  int rc = check_report(g_pg ? "test_subject_requests (PostgreSQL)"
                             : "test_subject_requests");
  if (g_pg)
    pg_cluster_stop(&g_pgc);
  cli_rm_tree(tmp);
  return rc;
}
