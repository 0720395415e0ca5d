/* The PostgreSQL backend of the store, over libpq.
 *
 * The "path" is a libpq connection URI (postgres://user@host:port/db?...);
 * the crop files live in the options' data_dir (store.c requires one).
 *
 * Statements: the shared SQL's '?' placeholders become $1..$n (outside
 * string literals and quoted names). Each step() of a fresh execution runs
 * the statement with PQexecParams and keeps the whole result, whose rows
 * the following steps walk. Parameters carry their types (int8, float8,
 * text, bytea; a NULL is left to the server to infer), so that an
 * expression such as `? IS NULL` or `? / 2` means what it means in SQLite;
 * integers and doubles travel as text, blobs in binary. Results come back
 * as text (libpq takes one format for all the columns of a result, and
 * the numeric of sum() or avg() has no simple binary form): bytea columns
 * are decoded from their hex form when read.
 *
 * Transactions: a read is `REPEATABLE READ READ ONLY` (one snapshot, as an
 * SQLite read transaction). A write is READ COMMITTED and takes a
 * transaction-level advisory lock of a fixed key first, so that writers
 * run one at a time exactly as with SQLite's write lock (the audit chain
 * relies on it): every statement after the lock sees every commit before
 * it. (REPEATABLE READ would take its snapshot at the lock statement,
 * before the wait, and miss the commit of the writer waited for.) The wait
 * is bounded by lock_timeout = the open's busy timeout. PostgreSQL commits
 * are durable (synchronous_commit is the server's business), so a durable
 * write is a plain write here.
 *
 * A lost connection (the server restarted, a network cut) is re-made at
 * the next transaction's begin, never inside a transaction: a transaction
 * cut mid-way fails (IO) and the server rolls it back, so nothing is half
 * applied; the caller tries again later. A begin that finds the server
 * still away fails with IO at once (libpq's connection attempt), so that
 * the caller's retry paces the reconnections. The session settings made at
 * the open are made again on the new connection; statements hold only
 * their text and parameters (no server-side prepared statement), so a
 * cached statement works on it unchanged.
 *
 * Messages name the server and database, never the password. */
#include <libpq-fe.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

/* pg_type oids (catalog/pg_type_d.h is a server header). */
#define PG_BOOLOID 16
#define PG_BYTEAOID 17
#define PG_INT8OID 20
#define PG_TEXTOID 25
#define PG_FLOAT8OID 701

/* The key of the writers' advisory lock: "argus" in ASCII. */
#define PG_WRITE_LOCK_KEY 0x6172677573LL

/* Parameters of one statement: the shared SQL has at most a few dozen. */
#define PG_PARAMS_MAX 128

typedef struct pg_ctx {
  PGconn *conn;
  char where[320];      /* "database D on H:P" for messages */
  int busy_ms;          /* lock_timeout, set again after a reconnection */
  int read_only;        /* default_transaction_read_only, likewise */
  int in_tx;            /* between begin and commit or rollback */
  int setup_due;        /* reconnected, the session settings not made yet */
  unsigned long resets; /* reconnections made (for the log) */
} pg_ctx;

struct store_stmt {
  pg_ctx *c;
  char *sql; /* with $n */
  int nparams;
  char *vals[PG_PARAMS_MAX]; /* malloc'd; NULL: SQL NULL */
  int lens[PG_PARAMS_MAX];
  int fmts[PG_PARAMS_MAX];
  Oid types[PG_PARAMS_MAX];
  PGresult *res; /* of the current execution; NULL before the first step */
  int row;       /* the current row of res */
  unsigned char *blob; /* the decoded bytea of (blob_row, blob_col) */
  int blob_row, blob_col;
  size_t blob_n;
};

/* ---- errors ------------------------------------------------------------- */

/* Maps a failed result (or, with res NULL, the connection's state) to an
 * argus error with the server's message. */
static argus_err pg_fail(pg_ctx *c, const PGresult *res, argus_store_error *err,
                         const char *what) {
  const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
  const char *msg =
      res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
  if (!msg || !msg[0])
    msg = c && c->conn ? PQerrorMessage(c->conn) : "no connection";
  /* libpq's messages end with a newline */
  char m[512];
  snprintf(m, sizeof m, "%s", msg);
  size_t len = strlen(m);
  while (len && (m[len - 1] == '\n' || m[len - 1] == ' '))
    m[--len] = '\0';
  if (c && c->conn && PQstatus(c->conn) == CONNECTION_BAD)
    return store_fail(err, ARGUS_E_IO, "%s: %s: connection lost: %s", what,
                      c->where, m);
  if (!state)
    return store_fail(err, ARGUS_E_IO, "%s: %s: %s", what,
                      c ? c->where : "postgres", m);
  /* SQLSTATE classes: 23 integrity constraint violation, 22 data
   * exception, 53 insufficient resources, 55P03 lock not available, 57
   * operator intervention, 08 connection, 40 rollback (serialization,
   * deadlock), XX001/XX002 data corrupted. */
  if (strncmp(state, "23", 2) == 0 || strncmp(state, "22", 2) == 0)
    return store_fail(err, ARGUS_E_INVALID_ARG, "%s: %s", what, m);
  if (strcmp(state, "53200") == 0)
    return store_fail(err, ARGUS_E_NOMEM, "%s: out of memory (server)", what);
  if (strcmp(state, "55P03") == 0)
    return store_fail(err, ARGUS_E_IO,
                      "%s: database is locked (another process held it "
                      "beyond the busy timeout)",
                      what);
  if (strncmp(state, "XX00", 4) == 0 && (state[4] == '1' || state[4] == '2'))
    return store_fail(err, ARGUS_E_CORRUPT, "%s: %s", what, m);
  if (strncmp(state, "53", 2) == 0 || strncmp(state, "57", 2) == 0 ||
      strncmp(state, "08", 2) == 0 || strncmp(state, "40", 2) == 0 ||
      strncmp(state, "58", 2) == 0)
    return store_fail(err, ARGUS_E_IO, "%s: %s (SQLSTATE %s)", what, m, state);
  return store_fail(err, ARGUS_E_INTERNAL, "%s: %s (SQLSTATE %s)", what, m,
                    state);
}

/* Runs sql (no parameters; one or more statements), ignoring any rows. */
static argus_err pg_simple(pg_ctx *c, const char *sql, argus_store_error *err,
                           const char *what) {
  PGresult *r = PQexec(c->conn, sql);
  ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
  argus_err e = ARGUS_OK;
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
    e = pg_fail(c, r, err, what);
  PQclear(r);
  return e;
}

/* ---- open / close ------------------------------------------------------- */

/* What the messages call the connection: database, host and port from
 * the connection itself (never its password). */
static void describe(pg_ctx *c) {
  const char *db = PQdb(c->conn), *host = PQhost(c->conn),
             *port = PQport(c->conn);
  snprintf(c->where, sizeof c->where, "database '%s' on %s%s%s",
           db && db[0] ? db : "?", host && host[0] ? host : "local socket",
           port && port[0] ? ":" : "", port && port[0] ? port : "");
}

static void pg_close(void *ctx) {
  pg_ctx *c = ctx;
  if (!c)
    return;
  PQfinish(c->conn); /* rolls back an open transaction */
  free(c);
}

static void pg_notice(void *arg, const char *msg) {
  (void)arg;
  argus_log(ARGUS_LOG_DEBUG, STORE_MOD, "postgres: %s", msg);
}

/* The session's settings, on a new connection (the open, a reconnection). */
static argus_err session_setup(pg_ctx *c, argus_store_error *err) {
  char set[256];
  /* UTC and ISO dates for any time the server formats; warnings of the
   * migrations' IF NOT EXISTS quiet; a reader cannot write by mistake. */
  snprintf(set, sizeof set,
           "SET lock_timeout = %d; SET client_min_messages = warning; "
           "SET TimeZone = 'UTC'; SET default_transaction_read_only = %s",
           c->busy_ms, c->read_only ? "on" : "off");
  argus_err e = pg_simple(c, set, err, "postgres");
  if (e != ARGUS_OK)
    return e;
  if (PQsetClientEncoding(c->conn, "UTF8") != 0)
    return store_fail(err, ARGUS_E_IO, "%s: cannot use UTF-8", c->where);
  return ARGUS_OK;
}

/* Between transactions: a connection found broken is made again (same
 * parameters, same session settings). IO when the server cannot be
 * reached now: the caller retries later. */
static argus_err revive(pg_ctx *c, argus_store_error *err) {
  if (PQstatus(c->conn) == CONNECTION_OK && !c->setup_due)
    return ARGUS_OK;
  if (PQstatus(c->conn) != CONNECTION_OK) {
    PQreset(c->conn); /* the notice processor is kept */
    c->setup_due = 1;
  }
  if (PQstatus(c->conn) != CONNECTION_OK) {
    /* libpq's message names host and port, never the password */
    char m[400];
    snprintf(m, sizeof m, "%s", PQerrorMessage(c->conn));
    size_t len = strlen(m);
    while (len && (m[len - 1] == '\n' || m[len - 1] == ' '))
      m[--len] = '\0';
    for (char *q = m; *q; q++)
      if (*q == '\n')
        *q = ' ';
    return store_fail(err, ARGUS_E_IO,
                      "%s: connection lost and not re-established (to be "
                      "tried again at the next transaction): %s",
                      c->where, m);
  }
  argus_err e = session_setup(c, err);
  if (e != ARGUS_OK)
    return e; /* setup_due stays: made again, whole, next time */
  c->setup_due = 0;
  c->resets++;
  argus_log(ARGUS_LOG_WARN, STORE_MOD,
            "postgres: %s: connection re-established "
            "(%lu since the open)",
            c->where, c->resets);
  return ARGUS_OK;
}

static argus_err pg_open(const char *path, const argus_store_options *opts,
                         void **out, argus_store_error *err) {
  *out = NULL;
  pg_ctx *c = calloc(1, sizeof *c);
  if (!c)
    return store_fail(err, ARGUS_E_NOMEM, "out of memory");
  argus_err e = ARGUS_OK;
  c->conn = PQconnectdb(path);
  if (!c->conn) {
    e = store_fail(err, ARGUS_E_NOMEM, "out of memory connecting");
    goto fail;
  }
  describe(c);
  if (PQstatus(c->conn) != CONNECTION_OK) {
    /* libpq's message names host and port, and for a refused password
     * the user: never the password itself. */
    char m[400];
    snprintf(m, sizeof m, "%s", PQerrorMessage(c->conn));
    size_t len = strlen(m);
    while (len && (m[len - 1] == '\n' || m[len - 1] == ' '))
      m[--len] = '\0';
    e = store_fail(err, ARGUS_E_IO, "cannot connect to PostgreSQL %s: %s",
                   c->where, m);
    goto fail;
  }
  PQsetNoticeProcessor(c->conn, pg_notice, NULL);
  c->busy_ms = opts && opts->busy_timeout_ms > 0 ? opts->busy_timeout_ms : 5000;
  c->read_only = opts && opts->read_only;
  if ((e = session_setup(c, err)) != ARGUS_OK)
    goto fail;
  *out = c;
  return ARGUS_OK;
fail:
  pg_close(c);
  return e;
}

/* ---- transactions ------------------------------------------------------- */

/* Moves every identity column's sequence past the column's largest value
 * where it lags behind. A migration that rebuilds a table copies its ids
 * (migration 9: templates), which SQLite's AUTOINCREMENT follows and an
 * identity column's sequence does not: the next insert would take id 1
 * and collide with a copied row ("duplicate key ... templates_sealed_pkey",
 * seen with tests/test_encryption.c on a version-8 database with
 * templates). */
static const char pg_identity_sync_sql[] =
    "DO $$ DECLARE r record; m bigint; q text; BEGIN "
    "FOR r IN SELECT table_name AS t, column_name AS c "
    "FROM information_schema.columns WHERE table_schema = current_schema() "
    "AND is_identity = 'YES' LOOP "
    "EXECUTE format('SELECT max(%I) FROM %I', r.c, r.t) INTO m; "
    "q := pg_get_serial_sequence(quote_ident(r.t), r.c); "
    "IF m IS NOT NULL AND q IS NOT NULL AND "
    "m > coalesce(pg_sequence_last_value(q::regclass), 0) THEN "
    "PERFORM setval(q::regclass, m); END IF; END LOOP; END $$";

/* The migrations' scripts (store_migrate: each in its write transaction),
 * then the identity sequences put right. */
static argus_err pg_exec(void *ctx, const char *sql, argus_store_error *err) {
  pg_ctx *c = ctx;
  /* outside a transaction (the migrations' own BEGIN ... COMMIT is one
   * statement list): a broken connection may be made again first */
  argus_err e = c->in_tx ? ARGUS_OK : revive(c, err);
  if (e == ARGUS_OK)
    e = pg_simple(c, sql, err, "postgres");
  if (e == ARGUS_OK)
    e = pg_simple(c, pg_identity_sync_sql, err, "postgres: identity sequences");
  return e;
}

static argus_err begin_once(pg_ctx *c, store_tx_mode mode,
                            argus_store_error *err) {
  if (mode == STORE_TX_READ)
    return pg_simple(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", err,
                     "begin");
  char sql[160];
  snprintf(sql, sizeof sql,
           "BEGIN ISOLATION LEVEL READ COMMITTED; "
           "SELECT pg_advisory_xact_lock(%lld)",
           (long long)PG_WRITE_LOCK_KEY);
  argus_err e = pg_simple(c, sql, err, "begin");
  PGTransactionStatusType ts = PQtransactionStatus(c->conn);
  if (e != ARGUS_OK && (ts == PQTRANS_INTRANS || ts == PQTRANS_INERROR))
    pg_simple(c, "ROLLBACK", NULL, "rollback");
  return e;
}

static argus_err pg_begin(void *ctx, store_tx_mode mode,
                          argus_store_error *err) {
  pg_ctx *c = ctx;
  argus_err e = revive(c, err);
  if (e != ARGUS_OK)
    return e;
  e = begin_once(c, mode, err);
  /* A connection that looked good may have lost its server since the last
   * transaction (a restart): libpq finds out at the first statement. The
   * begin did nothing then, so it is tried once more on a new one. */
  if (e != ARGUS_OK && PQstatus(c->conn) == CONNECTION_BAD &&
      (e = revive(c, err)) == ARGUS_OK)
    e = begin_once(c, mode, err);
  c->in_tx = e == ARGUS_OK;
  return e;
}

static argus_err pg_commit(void *ctx, argus_store_error *err) {
  pg_ctx *c = ctx;
  c->in_tx = 0;
  /* A commit whose answer is lost with the connection has an unknown
   * outcome (IO): the store's writes are keyed so that doing one again
   * after an unknown outcome writes it once. */
  PGresult *r = PQexec(c->conn, "COMMIT");
  argus_err e = ARGUS_OK;
  if (!r || PQresultStatus(r) != PGRES_COMMAND_OK)
    e = pg_fail(c, r, err, "commit");
  else if (strcmp(PQcmdStatus(r), "COMMIT") != 0)
    /* COMMIT of a transaction a failed statement aborted rolls back */
    e = store_fail(err, ARGUS_E_INTERNAL,
                   "commit: %s: the transaction had failed and was rolled "
                   "back",
                   c->where);
  PQclear(r);
  return e;
}

static void pg_rollback(void *ctx) {
  pg_ctx *c = ctx;
  c->in_tx = 0;
  /* on a broken connection (PQTRANS_UNKNOWN) the server rolled it back */
  PGTransactionStatusType ts = PQtransactionStatus(c->conn);
  if (ts == PQTRANS_INTRANS || ts == PQTRANS_INERROR)
    pg_simple(c, "ROLLBACK", NULL, "rollback");
}

/* ---- statements --------------------------------------------------------- */

/* '?' -> $n outside '...' literals, "..." names and -- comments. */
static char *rewrite(const char *sql, int *nparams) {
  size_t n = strlen(sql), q = 0;
  for (const char *p = sql; *p; p++)
    q += *p == '?';
  char *out = malloc(n + q * 8 + 1);
  if (!out)
    return NULL;
  char *o = out;
  int k = 0;
  char quote = 0;
  for (const char *p = sql; *p; p++) {
    if (quote) {
      if (*p == quote)
        quote = 0;
      *o++ = *p;
    } else if (*p == '\'' || *p == '"') {
      quote = *p;
      *o++ = *p;
    } else if (p[0] == '-' && p[1] == '-') {
      while (*p && *p != '\n')
        *o++ = *p++;
      if (!*p)
        break;
      *o++ = *p;
    } else if (*p == '?') {
      o += snprintf(o, 8, "$%d", ++k); /* k <= 999: 4 bytes and a NUL */
    } else {
      *o++ = *p;
    }
  }
  *o = '\0';
  *nparams = k;
  return out;
}

static argus_err pg_prepare(void *ctx, const char *sql, store_stmt **out,
                            argus_store_error *err) {
  pg_ctx *c = ctx;
  *out = NULL;
  store_stmt *s = calloc(1, sizeof *s);
  if (!s)
    return store_fail(err, ARGUS_E_NOMEM, "out of memory");
  s->c = c;
  s->blob_row = -1;
  s->sql = rewrite(sql, &s->nparams);
  if (!s->sql) {
    free(s);
    return store_fail(err, ARGUS_E_NOMEM, "out of memory");
  }
  if (s->nparams > PG_PARAMS_MAX) {
    int n = s->nparams;
    free(s->sql);
    free(s);
    return store_fail(err, ARGUS_E_INTERNAL,
                      "prepare: %d parameters, more than %d", n, PG_PARAMS_MAX);
  }
  *out = s;
  return ARGUS_OK;
}

static void drop_result(store_stmt *s) {
  PQclear(s->res);
  s->res = NULL;
  s->row = -1;
  if (s->blob)
    PQfreemem(s->blob);
  s->blob = NULL;
  s->blob_row = -1;
}

/* Keeps a copy of n bytes of v (NULL: SQL NULL) as parameter i. */
static argus_err set_param(store_stmt *s, int i, const void *v, size_t n,
                           int binary, Oid type) {
  if (i < 1 || i > s->nparams)
    return ARGUS_E_INTERNAL;
  if (n > (size_t)INT32_MAX - 1)
    return ARGUS_E_LIMIT;
  char *copy = NULL;
  if (v) {
    copy = malloc(n + 1);
    if (!copy)
      return ARGUS_E_NOMEM;
    if (n)
      memcpy(copy, v, n);
    copy[n] = '\0';
  }
  free(s->vals[i - 1]);
  s->vals[i - 1] = copy;
  s->lens[i - 1] = (int)n;
  s->fmts[i - 1] = binary;
  s->types[i - 1] = type;
  return ARGUS_OK;
}

static argus_err pg_bind_int64(store_stmt *s, int i, int64_t v) {
  char t[24];
  int n = snprintf(t, sizeof t, "%lld", (long long)v);
  return set_param(s, i, t, (size_t)n, 0, PG_INT8OID);
}
static argus_err pg_bind_double(store_stmt *s, int i, double v) {
  char t[40];
  int n;
  if (isnan(v))
    n = snprintf(t, sizeof t, "NaN");
  else if (isinf(v))
    n = snprintf(t, sizeof t, "%sInfinity", v < 0 ? "-" : "");
  else
    n = snprintf(t, sizeof t, "%.17g", v);
  return set_param(s, i, t, (size_t)n, 0, PG_FLOAT8OID);
}
static argus_err pg_bind_text(store_stmt *s, int i, const char *v) {
  return set_param(s, i, v, v ? strlen(v) : 0, 0, v ? PG_TEXTOID : 0);
}
static argus_err pg_bind_blob(store_stmt *s, int i, const void *v, size_t n) {
  /* A zero-length blob stays a blob, not NULL (as in sqlite.c). */
  return set_param(s, i, v ? v : "", n, 1, PG_BYTEAOID);
}
static argus_err pg_bind_null(store_stmt *s, int i) {
  return set_param(s, i, NULL, 0, 0, 0);
}

static argus_err pg_step(store_stmt *s, int *row, argus_store_error *err) {
  *row = STORE_DONE;
  if (!s->res) {
    /* a statement outside a transaction (autocommit): a broken connection
     * may be made again first */
    argus_err re = s->c->in_tx ? ARGUS_OK : revive(s->c, err);
    if (re != ARGUS_OK)
      return re;
    const char *vals[PG_PARAMS_MAX];
    for (int i = 0; i < s->nparams; i++)
      vals[i] = s->vals[i];
    PGresult *r = PQexecParams(s->c->conn, s->sql, s->nparams, s->types, vals,
                               s->lens, s->fmts, 0);
    ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
      argus_err e = pg_fail(s->c, r, err, "postgres");
      PQclear(r);
      return e;
    }
    s->res = r;
    s->row = -1;
  }
  if (s->row + 1 < PQntuples(s->res)) {
    s->row++;
    *row = STORE_ROW;
  } else {
    s->row = PQntuples(s->res);
  }
  return ARGUS_OK;
}

static int valid_cell(store_stmt *s, int c) {
  return s->res && s->row >= 0 && s->row < PQntuples(s->res) && c >= 0 &&
         c < PQnfields(s->res);
}

static int pg_col_is_null(store_stmt *s, int c) {
  return !valid_cell(s, c) || PQgetisnull(s->res, s->row, c);
}
static int64_t pg_col_int64(store_stmt *s, int c) {
  if (pg_col_is_null(s, c))
    return 0;
  const char *t = PQgetvalue(s->res, s->row, c);
  if (PQftype(s->res, c) == PG_BOOLOID)
    return t[0] == 't';
  char *end = NULL;
  long long v = strtoll(t, &end, 10);
  if (end && *end) { /* a numeric or double read as an integer */
    double d = strtod(t, NULL);
    if (!isfinite(d) || fabs(d) >= 9.2e18)
      return 0;
    return (int64_t)d;
  }
  return (int64_t)v;
}
static double pg_col_double(store_stmt *s, int c) {
  if (pg_col_is_null(s, c))
    return 0;
  const char *t = PQgetvalue(s->res, s->row, c);
  if (PQftype(s->res, c) == PG_BOOLOID)
    return t[0] == 't';
  return strtod(t, NULL); /* accepts NaN and Infinity */
}
static const char *pg_col_text(store_stmt *s, int c) {
  if (pg_col_is_null(s, c))
    return "";
  return PQgetvalue(s->res, s->row, c);
}
static const void *pg_col_blob(store_stmt *s, int c, size_t *n) {
  *n = 0;
  if (pg_col_is_null(s, c))
    return NULL;
  const char *t = PQgetvalue(s->res, s->row, c);
  if (PQftype(s->res, c) != PG_BYTEAOID) {
    *n = (size_t)PQgetlength(s->res, s->row, c);
    return t;
  }
  if (s->blob_row != s->row || s->blob_col != c) {
    if (s->blob)
      PQfreemem(s->blob);
    s->blob = PQunescapeBytea((const unsigned char *)t, &s->blob_n);
    s->blob_row = s->blob ? s->row : -1;
    s->blob_col = c;
  }
  if (!s->blob)
    return NULL;
  *n = s->blob_n;
  /* SQLite gives NULL for an empty blob too */
  return s->blob_n ? s->blob : NULL;
}
static argus_err pg_reset(store_stmt *s) {
  drop_result(s);
  return ARGUS_OK;
}
static void pg_finalize(store_stmt *s) {
  if (!s)
    return;
  drop_result(s);
  for (int i = 0; i < s->nparams; i++)
    free(s->vals[i]);
  free(s->sql);
  free(s);
}

/* ---- schema ------------------------------------------------------------- */

static argus_err pg_probe(void *ctx, const char *name, int *has_table,
                          int *empty, argus_store_error *err) {
  pg_ctx *c = ctx;
  argus_err e0 = c->in_tx ? ARGUS_OK : revive(c, err);
  if (e0 != ARGUS_OK)
    return e0;
  const char *vals[1] = {name};
  PGresult *r = PQexecParams(
      c->conn,
      "SELECT count(*), count(*) FILTER (WHERE tablename = $1) FROM "
      "pg_catalog.pg_tables WHERE schemaname = current_schema()",
      1, NULL, vals, NULL, NULL, 0);
  if (!r || PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
    argus_err e = pg_fail(c, r, err, "probe");
    PQclear(r);
    return e;
  }
  *empty = strtoll(PQgetvalue(r, 0, 0), NULL, 10) == 0;
  *has_table = strtoll(PQgetvalue(r, 0, 1), NULL, 10) > 0;
  PQclear(r);
  return ARGUS_OK;
}

/* PostgreSQL has no cheap whole-database check like SQLite's
 * integrity_check (amcheck is an extension that needs superuser rights),
 * and it enforces foreign keys at all times, so there is nothing like
 * foreign_key_check to run either. What is checked: that the server
 * answers and the connection holds no aborted transaction. The store's
 * own checks (crop files, the audit chain) run as with SQLite. */
static argus_err pg_integrity(void *ctx, void (*fn)(void *, const char *),
                              void *user, int64_t *count,
                              argus_store_error *err) {
  pg_ctx *c = ctx;
  (void)fn;
  (void)user;
  *count = 0;
  return pg_simple(c, "SELECT 1", err, "integrity");
}

const store_backend_ops store_postgres_ops = {
    .name = "postgres",
    .sql_id_pk = "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
    .sql_blob = "BYTEA",
    .files = 0,
    .open = pg_open,
    .close = pg_close,
    .exec = pg_exec,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .prepare = pg_prepare,
    .bind_int64 = pg_bind_int64,
    .bind_double = pg_bind_double,
    .bind_text = pg_bind_text,
    .bind_blob = pg_bind_blob,
    .bind_null = pg_bind_null,
    .step = pg_step,
    .col_is_null = pg_col_is_null,
    .col_int64 = pg_col_int64,
    .col_double = pg_col_double,
    .col_text = pg_col_text,
    .col_blob = pg_col_blob,
    .reset = pg_reset,
    .finalize = pg_finalize,
    .probe = pg_probe,
    .integrity = pg_integrity,
};
