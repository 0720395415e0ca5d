/* The tamper-evident audit log (src/store/audit_chain.c, docs/lawful-use.md):
 * the chain on a fresh store, across reopens, from two processes at once and
 * through a reader's handle; a database written before the chain verifies
 * after the upgrade; a row altered, deleted, inserted (at the end and in the
 * middle), rehashed, or cut from the end is named with its kind, by the
 * library and by `argus audit verify`; a write rolled back after its audit
 * row leaves no gap in the ids; `argus audit export` lines parse and
 * their hashes match a recomputation done here from the documented form
 * (not with the store's own function). Prints the cost of chaining: rows
 * written per second with and without it, and the time to verify them
 * (ARGUS_AUDIT_BENCH_ROWS rows, default 5000).
 *
 * Tampering edits a copy of the database with the sqlite3 C API, as someone
 * with write access to the file would.
 *
 * With ARGUS_TEST_STORE=postgres (test_audit_chain_pg) every database is a
 * database of a throwaway PostgreSQL cluster (tests/pg_util.h), its file's
 * folder the data folder (ARGUS_DATA_DIR for the CLI); a copy is made with
 * CREATE DATABASE ... TEMPLATE and tampered with SQL through libpq, as
 * someone with write access to the database would. The cost part runs
 * there too, with 300 rows unless ARGUS_AUDIT_BENCH_ROWS says otherwise. */
#define _GNU_SOURCE /* nftw (cli_util.h), mkdtemp */
#include <cjson/cJSON.h>
#include <math.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "argus/core.h"
#include "argus/store.h"
#include "check.h"
#include "cli_util.h"
#include "pg_util.h"
#include "store/store_internal.h"

static pg_cluster g_pgc;
static const pg_cluster *g_pg;

static const char *cli;
static char tmp[256];
static cli_result r;
#define RUN(res, ...) CLI_RUN(cli, tmp, NULL, 0, res, __VA_ARGS__)

static double now_s(void) { return (double)argus_time_ns() * 1e-9; }

/* ---- the documented canonical form, written again here ------------------ */

static void ns(argus_sha256 *h, const char *v, size_t n) {
  char len[32];
  int k = snprintf(len, sizeof len, "%zu:", n);
  argus_sha256_update(h, len, (size_t)k);
  argus_sha256_update(h, v, n);
  argus_sha256_update(h, ",", 1);
}

static void ref_hash(long long id, const char *time, const char *actor,
                     const char *action, const char *otype, int has_oid,
                     long long oid, const char *detail, const char *prev,
                     char out[65]) {
  argus_sha256 h;
  argus_sha256_init(&h);
  char num[32];
  ns(&h, "argus.audit.v1", 14);
  snprintf(num, sizeof num, "%lld", id);
  ns(&h, num, strlen(num));
  ns(&h, time, strlen(time));
  ns(&h, actor, strlen(actor));
  ns(&h, action, strlen(action));
  ns(&h, otype, strlen(otype));
  if (has_oid)
    snprintf(num, sizeof num, "%lld", oid);
  else
    num[0] = '\0';
  ns(&h, num, strlen(num));
  ns(&h, detail, strlen(detail));
  ns(&h, prev, strlen(prev));
  uint8_t d[32];
  argus_sha256_final(&h, d);
  argus_sha256_digest_hex(d, out);
}

/* ---- helpers ------------------------------------------------------------ */

static argus_store *open_db(const char *path) {
  argus_store_options o = {.actor = "test:chain"};
  argus_store *s = NULL;
  argus_store_error err = {{0}};
  argus_err e = pg_test_store_open(g_pg, path, &o, &s, &err);
  if (e != ARGUS_OK)
    fprintf(stderr, "open %s: %s\n", path, err.msg);
  CHECK_OK(e);
  return s;
}

static void append_rows(argus_store *s, int n, const char *tag) {
  for (int i = 0; i < n; i++) {
    char detail[128];
    snprintf(detail, sizeof detail, "{\"tag\":\"%s\",\"i\":%d,\"x\":\"\\u00e9|,:\"}",
             tag, i);
    argus_store_error err = {{0}};
    argus_err e = argus_store_audit_append(s, "test.write", i % 3 ? "thing" : NULL,
                                           i % 3 ? i + 1 : 0, detail, &err);
    if (e != ARGUS_OK) {
      fprintf(stderr, "append: %s\n", err.msg);
      CHECK_OK(e);
      return;
    }
  }
}

static argus_store_audit_check verify_path(const char *path,
                                           argus_store_id anchor_id,
                                           const char *anchor) {
  argus_store_audit_check c;
  memset(&c, 0, sizeof c);
  c.fault = (argus_store_audit_fault)-1;
  argus_store_options o = {.read_only = 1};
  argus_store *s = NULL;
  argus_store_error err = {{0}};
  CHECK_OK(pg_test_store_open(g_pg, path, &o, &s, &err));
  if (!s)
    return c;
  argus_err e = argus_store_audit_verify(s, anchor_id, anchor, &c, &err);
  if (e != ARGUS_OK)
    fprintf(stderr, "verify %s: %s\n", path, err.msg);
  CHECK_OK(e);
  argus_store_close(s);
  return c;
}

static int copy_file(const char *from, const char *to) {
  FILE *a = fopen(from, "rb"), *b = fopen(to, "wb");
  int ok = a && b;
  char buf[65536];
  size_t n;
  while (ok && (n = fread(buf, 1, sizeof buf, a)) > 0)
    ok = fwrite(buf, 1, n, b) == n;
  if (a)
    fclose(a);
  if (b && fclose(b) != 0)
    ok = 0;
  return ok ? 0 : -1;
}

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

/* Runs sql (one or more statements) on the database of `path`: 0 when it
 * succeeded (says why on stderr when not). */
static int sql_exec(const char *path, const char *sql) {
  if (g_pg) {
    char url[160];
    return pg_db_for_path(g_pg, path, 1, url, sizeof url) == 0
               ? pg_exec_url(url, sql)
               : -1;
  }
  sqlite3 *h = NULL;
  char *msg = NULL;
  int rc = sqlite3_open(path, &h);
  if (rc == SQLITE_OK)
    rc = sqlite3_exec(h, sql, NULL, NULL, &msg);
  if (rc != SQLITE_OK)
    fprintf(stderr, "%s: %s\n", sql, msg ? msg : sqlite3_errmsg(h));
  sqlite3_free(msg);
  sqlite3_close(h);
  return rc == SQLITE_OK ? 0 : -1;
}

/* The first row of sql on the database of `path`: up to 8 columns as text
 * into v (NULL: nul[i] set, v[i] empty). 1 when there was a row. */
enum { ROW_COLS = 8, ROW_TEXT = 512 };
static int sql_row(const char *path, const char *sql, char v[][ROW_TEXT],
                   int *nul) {
  int got = 0;
  for (int i = 0; i < ROW_COLS; i++) {
    v[i][0] = '\0';
    nul[i] = 1;
  }
  if (g_pg) {
    char url[160];
    if (pg_db_for_path(g_pg, path, 0, url, sizeof url) != 0)
      return 0;
    PGconn *conn = PQconnectdb(url);
    PGresult *res = PQstatus(conn) == CONNECTION_OK ? PQexec(conn, sql) : NULL;
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) > 0) {
      got = 1;
      for (int i = 0; i < PQnfields(res) && i < ROW_COLS; i++) {
        nul[i] = PQgetisnull(res, 0, i);
        snprintf(v[i], ROW_TEXT, "%s", PQgetvalue(res, 0, i));
      }
    } else if (PQresultStatus(res) != PGRES_TUPLES_OK) {
      fprintf(stderr, "%s: %s", sql, PQerrorMessage(conn));
    }
    PQclear(res);
    PQfinish(conn);
    return got;
  }
  sqlite3 *h = NULL;
  sqlite3_stmt *st = NULL;
  if (sqlite3_open(path, &h) == SQLITE_OK &&
      sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW) {
    got = 1;
    for (int i = 0; i < sqlite3_column_count(st) && i < ROW_COLS; i++) {
      nul[i] = sqlite3_column_type(st, i) == SQLITE_NULL;
      const unsigned char *t = sqlite3_column_text(st, i);
      snprintf(v[i], ROW_TEXT, "%s", t ? (const char *)t : "");
    }
  }
  sqlite3_finalize(st);
  sqlite3_close(h);
  return got;
}

static long long sql_int(const char *path, const char *sql) {
  char v[ROW_COLS][ROW_TEXT];
  int nul[ROW_COLS];
  if (!sql_row(path, sql, v, nul) || nul[0])
    return -1;
  return strtoll(v[0], NULL, 10);
}

/* A copy of the (closed) database at `path`, named `name`, with `sql`
 * applied: a copy of the file, or under PostgreSQL a database made with
 * the original as its template (no connection to it may be open then). */
static void tampered(const char *path, const char *name, const char *sql,
                     char *out, size_t size) {
  snprintf(out, size, "%s/%s.db", tmp, name);
  if (g_pg) {
    char from[160], to[160], q[400];
    CHECK(pg_db_for_path(g_pg, path, 0, from, sizeof from) == 0);
    CHECK(pg_db_for_path(g_pg, out, 0, to, sizeof to) == 0);
    snprintf(q, sizeof q, "CREATE DATABASE %s TEMPLATE %s",
             strrchr(to, '/') + 1, strrchr(from, '/') + 1);
    CHECK_INT_EQ(pg_exec_url(g_pg->admin, q), 0);
  } else {
    CHECK(copy_file(path, out) == 0);
  }
  CHECK_INT_EQ(sql_exec(out, sql), 0);
}

/* ---- a fresh store, reopened, two writers, a reader's handle ------------ */

static int no_template(void *user, const argus_store_template *t) {
  (void)user;
  (void)t;
  return 0;
}

static char g_db[400];
static int64_t g_rows;

static void test_fresh_chain(void) {
  snprintf(g_db, sizeof g_db, "%s/main.db", tmp);
  argus_store *s = open_db(g_db);
  if (!s)
    return;
  argus_store_audit_check c;
  argus_store_error err = {{0}};
  CHECK_OK(argus_store_audit_verify(s, 0, NULL, &c, &err));
  CHECK_INT_EQ(c.fault, ARGUS_AUDIT_INTACT);
  /* the migrations' rows: one per schema version, chained */
  CHECK_INT_EQ(c.rows, ARGUS_STORE_SCHEMA_VERSION);
  CHECK_INT_EQ(c.head_id, ARGUS_STORE_SCHEMA_VERSION);
  append_rows(s, 50, "a");
  argus_store_id hid = 0;
  char hh[65];
  CHECK_OK(argus_store_audit_head(s, &hid, hh, &err));
  CHECK_OK(argus_store_audit_verify(s, 0, NULL, &c, &err));
  CHECK_INT_EQ(c.fault, ARGUS_AUDIT_INTACT);
  CHECK_INT_EQ(c.rows, ARGUS_STORE_SCHEMA_VERSION + 50);
  CHECK_INT_EQ(c.head_id, hid);
  CHECK(strcmp(c.head_sha256, hh) == 0);
  CHECK(strstr(c.msg, "intact") != NULL);
  CHECK(strcmp(argus_store_audit_fault_name(ARGUS_AUDIT_ALTERED), "altered") ==
        0);
  /* The head logged for anchoring. */
  CHECK_OK(argus_store_audit_anchor_log(s, ARGUS_LOG_DEBUG, &err));
  /* An anchor at the head holds; a wrong one does not. */
  CHECK_OK(argus_store_audit_verify(s, hid, hh, &c, &err));
  CHECK_INT_EQ(c.fault, ARGUS_AUDIT_INTACT);
  char wrong[65];
  memcpy(wrong, hh, 65);
  wrong[0] = wrong[0] == 'a' ? 'b' : 'a';
  CHECK_OK(argus_store_audit_verify(s, hid, wrong, &c, &err));
  CHECK_INT_EQ(c.fault, ARGUS_AUDIT_ANCHOR);
  CHECK_INT_EQ(c.bad_id, hid);
  CHECK(argus_store_audit_verify(s, 3, "xyz", &c, &err) ==
        ARGUS_E_INVALID_ARG);
  CHECK(argus_store_audit_verify(s, 0, NULL, NULL, &err) ==
        ARGUS_E_INVALID_ARG);
  /* template.read updates its own row's detail with the count, in its
   * transaction: the row is sealed again. */
  argus_store_model m = {"chain_model", "1", 4};
  CHECK_OK(argus_store_template_foreach(s, &m, 0, no_template, NULL, &err));
  CHECK_OK(argus_store_audit_verify(s, 0, NULL, &c, &err));
  CHECK_INT_EQ(c.fault, ARGUS_AUDIT_INTACT);
  argus_store_audit *rows = NULL;
  size_t n = 0;
  CHECK_OK(argus_store_audit_list(s, 0, 1, &rows, &n, &err));
  CHECK(n == 1 && strcmp(rows[0].action, "template.read") == 0 &&
        strstr(rows[0].detail, "\"templates\":0") != NULL);
  argus_store_free(rows);
  argus_store_close(s);

  /* reopened: the chain goes on from the stored head */
  s = open_db(g_db);
  if (!s)
    return;
  append_rows(s, 50, "b");
  argus_store_close(s);

  /* two processes at once */
  pid_t kids[2];
  for (int k = 0; k < 2; k++) {
    kids[k] = fork();
    if (kids[k] == 0) {
      argus_store *cs = open_db(g_db);
      if (!cs)
        _exit(3);
      append_rows(cs, 150, k ? "kid1" : "kid0");
      argus_store_close(cs);
      _exit(check_failures_ ? 1 : 0);
    }
  }
  for (int k = 0; k < 2; k++) {
    int st = 0;
    CHECK(kids[k] > 0 && waitpid(kids[k], &st, 0) == kids[k]);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  }

  /* a reader's handle that writes after all (template.read) is chained */
  argus_store_options ro = {.read_only = 1, .actor = "test:reader"};
  s = NULL;
  CHECK_OK(pg_test_store_open(g_pg, g_db, &ro, &s, &err));
  if (s) {
    CHECK_OK(argus_store_audit_append(s, "test.reader", NULL, 0, NULL, &err));
    argus_store_close(s);
  }
  c = verify_path(g_db, 0, NULL);
  CHECK_INT_EQ(c.fault, ARGUS_AUDIT_INTACT);
  CHECK_INT_EQ(c.rows, ARGUS_STORE_SCHEMA_VERSION + 50 + 1 + 50 + 300 + 1);
  CHECK_INT_EQ(c.rows, sql_int(g_db, "SELECT count(*) FROM audit"));
  CHECK_INT_EQ(0, sql_int(g_db, "SELECT count(*) FROM audit WHERE "
                                "row_sha256 IS NULL OR prev_sha256 IS NULL"));
  g_rows = c.rows;
  if (c.fault != ARGUS_AUDIT_INTACT)
    fprintf(stderr, "fresh chain: %s\n", c.msg);

  /* the CLI agrees */
  RUN(&r, "audit", "verify", "--db", db_arg(g_db));
  CHECK_INT_EQ(r.status, 0);
  CHECK(strstr(r.out, "intact") != NULL);
  RUN(&r, "audit", "verify", "--db", db_arg(g_db), "--json");
  CHECK_INT_EQ(r.status, 0);
  CHECK(strstr(r.out, "\"intact\":true") != NULL);
  /* the listing is unchanged */
  RUN(&r, "audit", "--db", db_arg(g_db), "--limit", "2");
  CHECK_INT_EQ(r.status, 0);
  CHECK(strstr(r.out, "test.reader") != NULL);
  RUN(&r, "audit", "verify", "--db", db_arg(g_db), "--anchor", "12:nothex");
  CHECK_INT_EQ(r.status, 2);
}

/* ---- tampering ---------------------------------------------------------- */

static void expect(const char *path, argus_store_audit_fault kind,
                   argus_store_id bad, const char *words) {
  argus_store_audit_check c = verify_path(path, 0, NULL);
  CHECK_INT_EQ(c.fault, kind);
  CHECK_INT_EQ(c.bad_id, bad);
  if (!strstr(c.msg, words)) {
    fprintf(stderr, "%s: message '%s' lacks '%s'\n", path, c.msg, words);
    CHECK(0);
  }
  RUN(&r, "audit", "verify", "--db", db_arg(path));
  CHECK_INT_EQ(r.status, 1);
  if (!strstr(r.err, words) ||
      !strstr(r.err, "TAMPERED")) {
    fprintf(stderr, "argus audit verify on %s: %s\n", path, r.err);
    CHECK(0);
  }
  RUN(&r, "audit", "verify", "--db", db_arg(path), "--json");
  CHECK_INT_EQ(r.status, 1);
  CHECK(strstr(r.out, argus_store_audit_fault_name(kind)) != NULL);
}

static void test_tampering(void) {
  char p[400], q[600], words[128];
  /* altered detail */
  tampered(g_db, "altered", "UPDATE audit SET detail = '{\"tag\":\"x\"}' "
                            "WHERE id = 20",
           p, sizeof p);
  expect(p, ARGUS_AUDIT_ALTERED, 20, "row 20 was altered");
  /* altered actor, and the time of another row: the first is named */
  tampered(g_db, "altered2",
           "UPDATE audit SET actor = 'someone else' WHERE id = 31;"
           "UPDATE audit SET time = '2020-01-01T00:00:00.000Z' WHERE id = 40",
           p, sizeof p);
  expect(p, ARGUS_AUDIT_ALTERED, 31, "row 31 was altered");
  /* a NULL object made into one */
  tampered(g_db, "altered3",
           "UPDATE audit SET object_id = 0 WHERE id = (SELECT min(id) FROM "
           "audit WHERE object_id IS NULL AND id > 10)",
           p, sizeof p);
  argus_store_audit_check c = verify_path(p, 0, NULL);
  CHECK_INT_EQ(c.fault, ARGUS_AUDIT_ALTERED);
  /* a middle row deleted: its successor is named, with the gap */
  tampered(g_db, "deleted", "DELETE FROM audit WHERE id = 25", p, sizeof p);
  expect(p, ARGUS_AUDIT_DELETED, 26, "row 25 was deleted");
  tampered(g_db, "deleted2", "DELETE FROM audit WHERE id BETWEEN 25 AND 27",
           p, sizeof p);
  expect(p, ARGUS_AUDIT_DELETED, 28, "rows 25..27 were deleted");
  /* the first row deleted */
  tampered(g_db, "deleted3", "DELETE FROM audit WHERE id = 1", p, sizeof p);
  expect(p, ARGUS_AUDIT_DELETED, 2, "row 1 was deleted");
  /* a forged row appended with SQL (no hashes) */
  snprintf(q, sizeof q,
           "INSERT INTO audit (time, actor, action, object_type, detail) "
           "VALUES ('2026-01-01T00:00:00.000Z', 'cli:root', 'person.add', "
           "'person', '{}')");
  tampered(g_db, "inserted", q, p, sizeof p);
  snprintf(words, sizeof words, "row %lld was inserted", (long long)g_rows + 1);
  expect(p, ARGUS_AUDIT_INSERTED, g_rows + 1, words);
  /* a forged row appended with made-up hashes */
  snprintf(q, sizeof q,
           "INSERT INTO audit (time, actor, action, object_type, detail, "
           "prev_sha256, row_sha256) VALUES ('2026-01-01T00:00:00.000Z', "
           "'cli:root', 'person.add', 'person', '{}', '%064d', '%064d')",
           7, 9);
  tampered(g_db, "inserted2", q, p, sizeof p);
  snprintf(words, sizeof words, "row %lld, the newest, was inserted",
           (long long)g_rows + 1);
  expect(p, ARGUS_AUDIT_INSERTED, g_rows + 1, words);
  /* a forged row slipped in the middle: the later rows moved up one id
   * (through negative ids, as a unique key needs), row 30 forged with a
   * copy of a real row's hashes */
  tampered(g_db, "inserted3",
           "UPDATE audit SET id = -id WHERE id >= 30;"
           "UPDATE audit SET id = 1 - id WHERE id < 0;"
           "INSERT INTO audit (id, time, actor, action, object_type, detail, "
           "prev_sha256, row_sha256) SELECT 30, time, actor, 'template.read', "
           "object_type, '{}', row_sha256, prev_sha256 FROM audit WHERE id = 10",
           p, sizeof p);
  expect(p, ARGUS_AUDIT_INSERTED, 30, "row 30 was inserted: row 31 follows "
                                      "from row 29");
  /* a row altered and its own hash recomputed (by someone who knows the
   * form): its successor no longer follows from it */
  {
    tampered(g_db, "rehashed", "UPDATE audit SET detail = '{\"r\":1}' "
                               "WHERE id = 33",
             p, sizeof p);
    char v[ROW_COLS][ROW_TEXT];
    int nul[ROW_COLS];
    char hash[65] = "";
    if (sql_row(p,
                "SELECT id, time, actor, action, object_type, object_id, "
                "detail, prev_sha256 FROM audit WHERE id = 33",
                v, nul))
      ref_hash(strtoll(v[0], NULL, 10), v[1], v[2], v[3], v[4], !nul[5],
               strtoll(v[5], NULL, 10), v[6], v[7], hash);
    CHECK(strlen(hash) == 64);
    snprintf(q, sizeof q, "UPDATE audit SET row_sha256 = '%s' WHERE id = 33",
             hash);
    CHECK_INT_EQ(sql_exec(p, q), 0);
    expect(p, ARGUS_AUDIT_BROKEN, 34, "chain broken at row 34");
  }
  /* rows cut from the end: consistent on its own, caught by an anchor */
  {
    argus_store_audit_check head = verify_path(g_db, 0, NULL);
    snprintf(q, sizeof q, "DELETE FROM audit WHERE id > %lld",
             (long long)g_rows - 5);
    tampered(g_db, "truncated", q, p, sizeof p);
    c = verify_path(p, 0, NULL);
    CHECK_INT_EQ(c.fault, ARGUS_AUDIT_INTACT);
    c = verify_path(p, head.head_id, head.head_sha256);
    CHECK_INT_EQ(c.fault, ARGUS_AUDIT_ANCHOR);
    CHECK_INT_EQ(c.bad_id, head.head_id);
    char anchor[100];
    snprintf(anchor, sizeof anchor, "%lld:%s", (long long)head.head_id,
             head.head_sha256);
    RUN(&r, "audit", "verify", "--db", db_arg(p), "--anchor", anchor);
    CHECK_INT_EQ(r.status, 1);
    CHECK(strstr(r.err, "the anchor, is gone") != NULL);
    RUN(&r, "audit", "verify", "--db", db_arg(g_db), "--anchor", anchor);
    CHECK_INT_EQ(r.status, 0);
    /* ... and when argus writes on after the cut, the id gap shows */
    argus_store *s = open_db(p);
    if (s) {
      append_rows(s, 1, "after-cut");
      argus_store_close(s);
    }
    c = verify_path(p, 0, NULL);
    CHECK_INT_EQ(c.fault, ARGUS_AUDIT_DELETED);
    CHECK_INT_EQ(c.bad_id, g_rows + 1);
  }
  /* the original is untouched */
  c = verify_path(g_db, 0, NULL);
  CHECK_INT_EQ(c.fault, ARGUS_AUDIT_INTACT);
}

/* ---- a write rolled back ------------------------------------------------ */

/* A write transaction that wrote its audit row and was then rolled back
 * (a later statement of it failed) leaves no gap in the committed ids:
 * verify would report the next row as following deleted ones
 * (docs/store.md, version 5: a backend must give committed audit rows
 * consecutive ids).
 *
 * On PostgreSQL the id is chosen under the write lock (a sequence would
 * not give a rolled-back id back). */
static void test_rollback(void) {
  char path[400];
  snprintf(path, sizeof path, "%s/rollback", tmp);
  mkdir(path, 0700);
  snprintf(path, sizeof path, "%s/rollback/rb.db", tmp);
  argus_store *s = open_db(path);
  if (!s)
    return;
  append_rows(s, 3, "before");
  argus_store_error err = {{0}};
  for (int i = 0; i < 2; i++) {
    CHECK_OK(store_begin(s, STORE_TX_WRITE, &err));
    CHECK_OK(store_audit(s, "test.undone", "thing", 1, "{}", NULL, &err));
    store_rollback(s);
  }
  append_rows(s, 2, "after");
  argus_store_audit_check c;
  CHECK_OK(argus_store_audit_verify(s, 0, NULL, &c, &err));
  if (c.fault != ARGUS_AUDIT_INTACT)
    fprintf(stderr, "after a rollback: %s\n", c.msg);
  CHECK_INT_EQ(c.fault, ARGUS_AUDIT_INTACT);
  CHECK_INT_EQ(c.rows, ARGUS_STORE_SCHEMA_VERSION + 5);
  CHECK_INT_EQ(c.head_id, ARGUS_STORE_SCHEMA_VERSION + 5);
  argus_store_close(s);
}

/* ---- export ------------------------------------------------------------- */

static void test_export(void) {
  char out[400];
  snprintf(out, sizeof out, "%s/audit.jsonl", tmp);
  RUN(&r, "audit", "export", "--db", db_arg(g_db), "--out", out);
  CHECK_INT_EQ(r.status, 0);
  struct stat sb;
  CHECK(stat(out, &sb) == 0 && (sb.st_mode & 0777) == 0600);
  FILE *f = fopen(out, "rb");
  CHECK(f != NULL);
  if (!f)
    return;
  static char line[1 << 16];
  char prev[65] = ARGUS_STORE_AUDIT_GENESIS;
  long long n = 0, last_id = 0;
  while (fgets(line, sizeof line, f)) {
    cJSON *o = cJSON_Parse(line);
    CHECK(o != NULL);
    if (!o)
      break;
    const cJSON *id = cJSON_GetObjectItem(o, "id"),
                *tm = cJSON_GetObjectItem(o, "time"),
                *ac = cJSON_GetObjectItem(o, "actor"),
                *an = cJSON_GetObjectItem(o, "action"),
                *ot = cJSON_GetObjectItem(o, "object_type"),
                *oi = cJSON_GetObjectItem(o, "object_id"),
                *de = cJSON_GetObjectItem(o, "detail"),
                *pv = cJSON_GetObjectItem(o, "prev_sha256"),
                *rw = cJSON_GetObjectItem(o, "row_sha256");
    int ok = cJSON_IsNumber(id) && cJSON_IsString(tm) && cJSON_IsString(ac) &&
             cJSON_IsString(an) && cJSON_IsString(ot) &&
             (cJSON_IsNumber(oi) || cJSON_IsNull(oi)) && cJSON_IsString(de) &&
             cJSON_IsString(pv) && cJSON_IsString(rw);
    CHECK(ok);
    if (ok) {
      char h[65];
      ref_hash((long long)id->valuedouble, tm->valuestring, ac->valuestring,
               an->valuestring, ot->valuestring, cJSON_IsNumber(oi),
               cJSON_IsNumber(oi) ? (long long)oi->valuedouble : 0,
               de->valuestring, pv->valuestring, h);
      CHECK(strcmp(pv->valuestring, prev) == 0);
      CHECK(strcmp(rw->valuestring, h) == 0);
      CHECK_INT_EQ((long long)id->valuedouble, last_id + 1);
      /* the detail is the stored JSON object, as text */
      cJSON *d = cJSON_Parse(de->valuestring);
      CHECK(cJSON_IsObject(d));
      cJSON_Delete(d);
      memcpy(prev, h, sizeof prev);
      last_id = (long long)id->valuedouble;
    }
    n++;
    cJSON_Delete(o);
  }
  fclose(f);
  CHECK_INT_EQ(n, g_rows);
  /* The export to a file is recorded (for the exports' retention) by one
   * more row, "export.record", chained onto the exported head. */
  argus_store_audit_check c = verify_path(g_db, 0, NULL);
  CHECK_INT_EQ(c.fault, ARGUS_AUDIT_INTACT);
  CHECK_INT_EQ(c.head_id, last_id + 1);
  g_rows++;
  /* stdout and --after */
  char after[32];
  snprintf(after, sizeof after, "%lld", (long long)g_rows - 2);
  RUN(&r, "audit", "export", "--db", db_arg(g_db), "--after", after);
  CHECK_INT_EQ(r.status, 0);
  int lines = 0;
  for (const char *c2 = r.out; *c2; c2++)
    lines += *c2 == '\n';
  CHECK_INT_EQ(lines, 2);
  RUN(&r, "audit", "--help");
  CHECK_INT_EQ(r.status, 0);
  CHECK(strstr(r.out, "audit verify") && strstr(r.out, "audit export"));
}

/* ---- a database written before the chain -------------------------------- */

static void test_upgrade(void) {
  char path[400];
  /* each database has its own folder (its crop folder is claimed) */
  snprintf(path, sizeof path, "%s/old", tmp);
  mkdir(path, 0700);
  snprintf(path, sizeof path, "%s/old/old.db", tmp);
  CHECK_INT_EQ(sql_exec(path, "CREATE TABLE schema_version (version INTEGER "
                              "PRIMARY KEY, description TEXT NOT NULL, "
                              "applied TEXT NOT NULL)"),
               0);
  /* migrations 1-4 exactly as a version-4 argus applied them (in the
   * backend's words for @ID@ and @BLOB@) */
  const char *id =
      g_pg ? store_postgres_ops.sql_id_pk : "INTEGER PRIMARY KEY AUTOINCREMENT";
  const char *blob = g_pg ? store_postgres_ops.sql_blob : "BLOB";
  for (int i = 0; i < 4 && i < store_migration_count; i++) {
    const char *src = store_migrations[i].sql;
    char *sql = malloc(strlen(src) * 16 + 64), *o = sql;
    for (const char *q = src; sql && *q;) {
      if (strncmp(q, "@ID@", 4) == 0) {
        memcpy(o, id, strlen(id));
        o += strlen(id);
        q += 4;
      } else if (strncmp(q, "@BLOB@", 6) == 0) {
        memcpy(o, blob, strlen(blob));
        o += strlen(blob);
        q += 6;
      } else {
        *o++ = *q++;
      }
    }
    if (sql)
      *o = '\0';
    CHECK_INT_EQ(sql ? sql_exec(path, sql) : -1, 0);
    free(sql);
    char ins[600];
    snprintf(ins, sizeof ins,
             "INSERT INTO schema_version VALUES (%d, 'v', "
             "'2026-01-01T00:00:00.000Z');"
             "INSERT INTO audit (time, actor, action, object_type, object_id, "
             "detail) VALUES ('2026-01-01T00:00:00.000Z', 'cli:old', "
             "'schema.migrate', 'schema', %d, '{\"version\":%d}')",
             store_migrations[i].version, store_migrations[i].version,
             store_migrations[i].version);
    CHECK_INT_EQ(sql_exec(path, ins), 0);
  }
  CHECK_INT_EQ(sql_exec(path, "INSERT INTO audit (time, actor, action, "
                              "object_type, object_id, detail) VALUES "
                              "('2026-01-02T00:00:00.000Z', 'cli:old', "
                              "'crop.read', 'crop', NULL, "
                              "'{\"n\":1,\"who\":\"J\xc3\xbcrgen\"}')"),
               0);
  /* a reader's open upgrades it once (and chains the old rows) */
  argus_store_audit_check c = verify_path(path, 0, NULL);
  CHECK_INT_EQ(c.fault, ARGUS_AUDIT_INTACT);
  CHECK_INT_EQ(c.rows, 4 + 1 + (ARGUS_STORE_SCHEMA_VERSION - 4));
  if (c.fault != ARGUS_AUDIT_INTACT)
    fprintf(stderr, "upgrade: %s\n", c.msg);
  /* row 1 was chained from the genesis, by the documented form */
  char want[65];
  ref_hash(1, "2026-01-01T00:00:00.000Z", "cli:old", "schema.migrate",
           "schema", 1, 1, "{\"version\":1}", ARGUS_STORE_AUDIT_GENESIS, want);
  char v[ROW_COLS][ROW_TEXT];
  int nul[ROW_COLS];
  CHECK(sql_row(path, "SELECT prev_sha256, row_sha256 FROM audit WHERE id = 1",
                v, nul));
  CHECK(strcmp(v[0], ARGUS_STORE_AUDIT_GENESIS) == 0);
  CHECK(strcmp(v[1], want) == 0);
  /* and writers chain on */
  argus_store *s = open_db(path);
  if (s) {
    append_rows(s, 10, "new");
    argus_store_close(s);
  }
  c = verify_path(path, 0, NULL);
  CHECK_INT_EQ(c.fault, ARGUS_AUDIT_INTACT);
  RUN(&r, "audit", "verify", "--db", db_arg(path));
  CHECK_INT_EQ(r.status, 0);
}

/* ---- argus serve logs the head ------------------------------------------ */

static void test_serve_anchor(void) {
  char err_path[400];
  snprintf(err_path, sizeof err_path, "%s/serve.err", tmp);
  const char *dbarg = db_arg(g_db);
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid == 0) {
    int fd = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int nul = open("/dev/null", O_WRONLY);
    if (fd < 0 || nul < 0 || dup2(fd, 2) < 0 || dup2(nul, 1) < 0)
      _exit(126);
    execl(cli, cli, "serve", "--no-pipeline", "--db", dbarg, "--listen",
          "127.0.0.1:0", "--audit-anchor", "0.3", (char *)NULL);
    _exit(127);
  }
  CHECK(pid > 0);
  if (pid <= 0)
    return;
  /* at start, then every 0.3 s: at least two lines in 1.5 s */
  struct timespec ts = {1, 500000000};
  nanosleep(&ts, NULL);
  kill(pid, SIGTERM);
  int st = 0;
  CHECK(waitpid(pid, &st, 0) == pid);
  static char text[1 << 16];
  cli_slurp(err_path, text, sizeof text);
  argus_store_audit_check c = verify_path(g_db, 0, NULL);
  char want[160];
  snprintf(want, sizeof want, "audit head id=%lld sha256=%s",
           (long long)c.head_id, c.head_sha256);
  int lines = 0;
  for (const char *p = text; (p = strstr(p, want)); p++)
    lines++;
  if (lines < 2)
    fprintf(stderr, "serve's log lacks '%s' twice:\n%s\n", want, text);
  CHECK(lines >= 2);
}

/* ---- the cost ----------------------------------------------------------- */

/* Seconds to append n rows to a new database in folder `dir`: one
 * transaction per row (as argus writes them) or all in one (the chain's
 * own work, without the commits). */
static double write_rows(const char *dir, int n, int chained, int one_tx) {
  char path[400];
  mkdir(dir, 0700);
  snprintf(path, sizeof path, "%s/bench.db", dir);
  argus_store *s = open_db(path);
  if (!s)
    return 0;
  /* the unchained baseline writes as a schema-4 argus did */
  if (!chained)
    s->schema_version = STORE_AUDIT_CHAIN_VERSION - 1;
  double t0 = now_s();
  if (!one_tx) {
    append_rows(s, n, chained ? "chained" : "plain");
  } else {
    argus_store_error err = {{0}};
    CHECK_OK(store_begin(s, STORE_TX_WRITE, &err));
    for (int i = 0; i < n; i++) {
      char detail[64];
      snprintf(detail, sizeof detail, "{\"i\":%d}", i);
      argus_err e = store_audit(s, "test.write", "thing", i + 1, detail, NULL,
                                &err);
      if (e != ARGUS_OK) {
        CHECK_OK(e);
        break;
      }
    }
    CHECK_OK(store_commit(s, &err));
  }
  double t = now_s() - t0;
  argus_store_close(s);
  return t;
}

static void test_cost(void) {
  const char *env = getenv("ARGUS_AUDIT_BENCH_ROWS");
  /* test input; on PostgreSQL fewer by default (a round trip a statement) */
  int n = env && atoi(env) > 0 ? atoi(env) : g_pg ? 300 : 5000;
  char d[8][400];
  for (int i = 0; i < 8; i++)
    snprintf(d[i], sizeof d[i], "%s/bench%d", tmp, i);
  /* each kind twice, interleaved; the faster run of each counts */
  double t[8];
  for (int i = 0; i < 8; i++)
    t[i] = write_rows(d[i], n, i & 1, (i >> 1) & 1);
  double plain = fmin(t[0], t[4]), chained = fmin(t[1], t[5]);
  double plain1 = fmin(t[2], t[6]), chained1 = fmin(t[3], t[7]);
  char b[400];
  snprintf(b, sizeof b, "%s/bench.db", d[1]);
  double t0 = now_s();
  argus_store_audit_check c = verify_path(b, 0, NULL);
  double tv = now_s() - t0;
  CHECK_INT_EQ(c.fault, ARGUS_AUDIT_INTACT);
  t0 = now_s();
  RUN(&r, "audit", "verify", "--db", db_arg(b));
  double tcli = now_s() - t0;
  CHECK_INT_EQ(r.status, 0);
  t0 = now_s();
  RUN(&r, "audit", "export", "--db", db_arg(b), "--out", "/dev/null");
  double te = now_s() - t0;
  CHECK_INT_EQ(r.status, 0);
  printf("audit chain cost%s, %d rows: one transaction each: unchained %.3f s "
         "(%.1f us/row), chained %.3f s (%.1f us/row); all in one "
         "transaction: unchained %.3f s (%.2f us/row), chained %.3f s "
         "(%.2f us/row); verify %.3f s (library), %.3f s (argus audit "
         "verify), export %.3f s\n",
         g_pg ? " (PostgreSQL)" : "", n, plain, plain * 1e6 / n, chained, chained * 1e6 / n, plain1,
         plain1 * 1e6 / n, chained1, chained1 * 1e6 / n, tv, tcli, te);
}

int main(void) {
  cli = getenv("ARGUS_CLI");
  if (!cli || !cli[0])
    SKIP("ARGUS_CLI is not set to the argus binary");
  const char *t = getenv("TMPDIR");
  snprintf(tmp, sizeof tmp, "%s/argus-chain-XXXXXX", t && t[0] ? t : "/tmp");
  if (!mkdtemp(tmp)) {
    perror("mkdtemp");
    return 1;
  }
  if (pg_test_wanted()) {
    int pr = pg_cluster_start(&g_pgc);
    if (pr != 0) {
      fprintf(stderr, "test_audit_chain: no PostgreSQL cluster\n");
      cli_rm_tree(tmp);
      return pr == 77 ? 77 : 1;
    }
    g_pg = &g_pgc;
    printf("test_audit_chain: on PostgreSQL (port %d)\n", g_pgc.port);
  }
  test_fresh_chain();
  test_tampering();
  test_rollback();
  test_export();
  test_upgrade();
  test_serve_anchor();
  test_cost();
  int rc = check_report(g_pg ? "test_audit_chain (PostgreSQL)"
                             : "test_audit_chain");
  if (g_pg)
    pg_cluster_stop(&g_pgc);
  cli_rm_tree(tmp);
  return rc;
}
