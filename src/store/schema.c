/* The schema: numbered migrations compiled into the binary, and the runner
 * that applies the missing ones at open, each in its own transaction.
 *
 * Rules for a new migration: append it (never edit a released one), raise
 * ARGUS_STORE_SCHEMA_VERSION, keep to portable SQL (BIGINT for ids and
 * counts, INTEGER for small numbers and flags, TEXT, DOUBLE PRECISION,
 * @ID@ for an auto-increment primary key, @BLOB@ for binary: in PostgreSQL
 * INTEGER is 32-bit and REAL single precision), and describe the change in
 * docs/store.md. */
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

static const char migration_1[] =
    /* Key/value facts about the database: its random id (ties the crop
     * folder to it). */
    "CREATE TABLE meta (\n"
    "  key TEXT PRIMARY KEY,\n"
    "  value TEXT NOT NULL\n"
    ");\n"
    "CREATE TABLE watchlists (\n"
    "  id @ID@,\n"
    "  name TEXT NOT NULL UNIQUE,\n"
    "  threshold DOUBLE PRECISION,\n" /* NULL: the embedder's calibrated default
                                       */
    "  colour TEXT NOT NULL,\n"
    "  active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),\n"
    "  created TEXT NOT NULL,\n"
    "  updated TEXT NOT NULL\n"
    ");\n"
    "CREATE TABLE persons (\n"
    "  id @ID@,\n"
    "  watchlist_id BIGINT NOT NULL\n"
    "    REFERENCES watchlists (id) ON DELETE CASCADE,\n"
    "  name TEXT NOT NULL,\n"
    "  external_id TEXT,\n"
    "  notes TEXT NOT NULL DEFAULT '',\n"
    "  created TEXT NOT NULL,\n"
    "  updated TEXT NOT NULL,\n"
    "  UNIQUE (watchlist_id, external_id)\n"
    ");\n"
    "CREATE INDEX persons_by_watchlist ON persons (watchlist_id, name);\n"
    "CREATE TABLE photos (\n"
    "  id @ID@,\n"
    "  person_id BIGINT NOT NULL REFERENCES persons (id) ON DELETE CASCADE,\n"
    "  crop_sha256 TEXT NOT NULL CHECK (length(crop_sha256) = 64),\n"
    "  crop_size BIGINT NOT NULL CHECK (crop_size > 0),\n"
    "  quality DOUBLE PRECISION NOT NULL,\n"
    "  source TEXT NOT NULL DEFAULT '',\n"
    "  created TEXT NOT NULL,\n"
    /* Target of the templates' (photo, person) key below. */
    "  UNIQUE (id, person_id)\n"
    ");\n"
    "CREATE INDEX photos_by_person ON photos (person_id);\n"
    "CREATE INDEX photos_by_crop ON photos (crop_sha256);\n"
    /* The composite key makes the database itself guarantee that a
     * template's person is its photo's person. */
    "CREATE TABLE templates (\n"
    "  id @ID@,\n"
    "  person_id BIGINT NOT NULL REFERENCES persons (id) ON DELETE CASCADE,\n"
    "  photo_id BIGINT NOT NULL,\n"
    "  model_name TEXT NOT NULL,\n"
    "  model_version TEXT NOT NULL,\n"
    "  dim INTEGER NOT NULL CHECK (dim > 0),\n"
    "  vector @BLOB@ NOT NULL CHECK (length(vector) = 4 * dim),\n"
    "  created TEXT NOT NULL,\n"
    "  UNIQUE (photo_id, model_name, model_version),\n"
    "  FOREIGN KEY (photo_id, person_id)\n"
    "    REFERENCES photos (id, person_id) ON DELETE CASCADE\n"
    ");\n"
    "CREATE INDEX templates_by_model ON templates (model_name, "
    "model_version);\n"
    "CREATE INDEX templates_by_person ON templates (person_id);\n"
    "CREATE TABLE cameras (\n"
    "  id @ID@,\n"
    "  name TEXT NOT NULL UNIQUE,\n"
    "  url TEXT NOT NULL,\n"
    "  settings TEXT NOT NULL DEFAULT '{}',\n"
    "  enabled INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),\n"
    "  created TEXT NOT NULL,\n"
    "  updated TEXT NOT NULL\n"
    ");\n"
    /* Alerts are records of what happened: they keep the names of camera,
     * watchlist and person when those are removed later (links set to NULL);
     * retention deletes them by age. */
    "CREATE TABLE alerts (\n"
    "  id @ID@,\n"
    "  camera_id BIGINT REFERENCES cameras (id) ON DELETE SET NULL,\n"
    "  camera TEXT NOT NULL,\n"
    "  time TEXT NOT NULL,\n"
    "  media_time DOUBLE PRECISION NOT NULL,\n"
    "  track_id BIGINT NOT NULL,\n"
    "  watchlist_id BIGINT REFERENCES watchlists (id) ON DELETE SET NULL,\n"
    "  watchlist TEXT NOT NULL,\n"
    "  person_id BIGINT REFERENCES persons (id) ON DELETE SET NULL,\n"
    "  person TEXT NOT NULL,\n"
    "  score DOUBLE PRECISION NOT NULL,\n"
    "  crop_sha256 TEXT CHECK (crop_sha256 IS NULL OR "
    "length(crop_sha256) = 64),\n"
    "  thumb_sha256 TEXT CHECK (thumb_sha256 IS NULL OR "
    "length(thumb_sha256) = 64),\n"
    "  status TEXT NOT NULL DEFAULT 'pending'\n"
    "    CHECK (status IN ('pending', 'confirmed', 'rejected'))\n"
    ");\n"
    "CREATE INDEX alerts_by_time ON alerts (time);\n"
    "CREATE INDEX alerts_by_crop ON alerts (crop_sha256);\n"
    "CREATE INDEX alerts_by_thumb ON alerts (thumb_sha256);\n"
    "CREATE INDEX alerts_by_person ON alerts (person_id);\n"
    "CREATE INDEX alerts_by_camera ON alerts (camera_id);\n"
    "CREATE INDEX alerts_by_watchlist ON alerts (watchlist_id);\n"
    "CREATE TABLE decisions (\n"
    "  id @ID@,\n"
    "  alert_id BIGINT NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,\n"
    "  operator TEXT NOT NULL,\n"
    "  decision TEXT NOT NULL CHECK (decision IN ('confirmed', 'rejected')),\n"
    "  comment TEXT NOT NULL DEFAULT '',\n"
    "  time TEXT NOT NULL\n"
    ");\n"
    "CREATE INDEX decisions_by_alert ON decisions (alert_id);\n"
    "CREATE TABLE audit (\n"
    "  id @ID@,\n"
    "  time TEXT NOT NULL,\n"
    "  actor TEXT NOT NULL,\n"
    "  action TEXT NOT NULL,\n"
    "  object_type TEXT NOT NULL DEFAULT '',\n"
    "  object_id BIGINT,\n"
    "  detail TEXT NOT NULL DEFAULT '{}'\n"
    ");\n"
    /* Crop files to remove once no row refers to them: written in the same
     * transaction as the rows' deletion, emptied after the commit (and at
     * the next open when a crash came in between). */
    "CREATE TABLE crop_purge (\n"
    "  sha256 TEXT PRIMARY KEY\n"
    ");\n";

/* Faces that matched no watchlist, kept only when an operator asks for it
 * (argus watch --keep-unmatched SECONDS): their crop and thumbnail files,
 * where and when they were seen, and when they expire. No template. */
static const char migration_2[] =
    "CREATE TABLE unmatched (\n"
    "  id @ID@,\n"
    "  camera_id BIGINT REFERENCES cameras (id) ON DELETE SET NULL,\n"
    "  camera TEXT NOT NULL,\n"
    "  time TEXT NOT NULL,\n"
    "  media_time DOUBLE PRECISION NOT NULL,\n"
    "  track_id BIGINT NOT NULL,\n"
    "  quality DOUBLE PRECISION NOT NULL,\n"
    "  best_score DOUBLE PRECISION NOT NULL,\n"
    "  crop_sha256 TEXT CHECK (crop_sha256 IS NULL OR "
    "length(crop_sha256) = 64),\n"
    "  thumb_sha256 TEXT CHECK (thumb_sha256 IS NULL OR "
    "length(thumb_sha256) = 64),\n"
    "  expires TEXT NOT NULL\n"
    ");\n"
    "CREATE INDEX unmatched_by_expiry ON unmatched (expires);\n"
    "CREATE INDEX unmatched_by_crop ON unmatched (crop_sha256);\n"
    "CREATE INDEX unmatched_by_thumb ON unmatched (thumb_sha256);\n";

/* The id of the event that raised an alert (the bus's "alert-<salt>-<n>",
 * unique across processes): the pipeline retries an insert whose outcome
 * it does not know (the database was locked or failed at the commit), and
 * the unique index makes the retry store the alert at most once. Alerts
 * stored before have none (NULL; NULLs never collide). */
static const char migration_3[] =
    "ALTER TABLE alerts ADD COLUMN event_id TEXT;\n"
    "CREATE UNIQUE INDEX alerts_by_event ON alerts (event_id);\n";

/* The operator service (argus serve): accounts, sessions and API tokens
 * (only hashes: argon2id for passwords, SHA-256 for random tokens), the
 * watchlists' "acknowledgement required" flag, what an alert matched
 * (threshold, enrolled photo, when its track began), the log of live
 * events that a reconnecting client replays from (Last-Event-ID), and the
 * outbound webhooks with their dead letters. */
static const char migration_4[] =
    "ALTER TABLE watchlists ADD COLUMN ack_required INTEGER NOT NULL "
    "DEFAULT 0 CHECK (ack_required IN (0, 1));\n"
    "ALTER TABLE alerts ADD COLUMN threshold DOUBLE PRECISION;\n"
    "ALTER TABLE alerts ADD COLUMN photo_id BIGINT "
    "REFERENCES photos (id) ON DELETE SET NULL;\n"
    "ALTER TABLE alerts ADD COLUMN track_start DOUBLE PRECISION;\n"
    "CREATE INDEX alerts_by_status ON alerts (status, id);\n"
    "CREATE INDEX alerts_by_photo ON alerts (photo_id);\n"
    "CREATE TABLE users (\n"
    "  id @ID@,\n"
    "  name TEXT NOT NULL UNIQUE,\n"
    "  role TEXT NOT NULL\n"
    "    CHECK (role IN ('admin', 'supervisor', 'operator', 'auditor')),\n"
    "  password_hash TEXT NOT NULL,\n"
    "  disabled INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),\n"
    "  created TEXT NOT NULL,\n"
    "  updated TEXT NOT NULL\n"
    ");\n"
    "CREATE TABLE sessions (\n"
    "  id @ID@,\n"
    "  user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,\n"
    "  token_sha256 TEXT NOT NULL UNIQUE,\n"
    "  csrf TEXT NOT NULL,\n"
    "  address TEXT NOT NULL DEFAULT '',\n"
    "  created TEXT NOT NULL,\n"
    "  expires TEXT NOT NULL\n"
    ");\n"
    "CREATE INDEX sessions_by_user ON sessions (user_id);\n"
    "CREATE TABLE api_tokens (\n"
    "  id @ID@,\n"
    "  user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,\n"
    "  name TEXT NOT NULL,\n"
    "  token_sha256 TEXT NOT NULL UNIQUE,\n"
    "  created TEXT NOT NULL,\n"
    "  last_used TEXT,\n"
    "  expires TEXT\n"
    ");\n"
    "CREATE INDEX api_tokens_by_user ON api_tokens (user_id);\n"
    "CREATE TABLE events (\n"
    "  id @ID@,\n"
    "  time TEXT NOT NULL,\n"
    "  type TEXT NOT NULL,\n"
    "  data TEXT NOT NULL\n"
    ");\n"
    "CREATE INDEX events_by_time ON events (time);\n"
    "CREATE TABLE webhooks (\n"
    "  id @ID@,\n"
    "  url TEXT NOT NULL,\n"
    "  secret TEXT NOT NULL,\n"
    "  watchlist TEXT,\n"
    "  enabled INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),\n"
    "  created TEXT NOT NULL\n"
    ");\n"
    "CREATE TABLE webhook_deadletters (\n"
    "  id @ID@,\n"
    "  webhook_id BIGINT REFERENCES webhooks (id) ON DELETE CASCADE,\n"
    "  event_id BIGINT NOT NULL,\n"
    "  payload TEXT NOT NULL,\n"
    "  attempts INTEGER NOT NULL,\n"
    "  last_error TEXT NOT NULL DEFAULT '',\n"
    "  time TEXT NOT NULL\n"
    ");\n";

/* The tamper-evident audit log (docs/lawful-use.md): each audit row holds
 * the SHA-256 of its predecessor and of its own canonical content
 * (argus/store.h). The rows written before are chained by
 * store_audit_chain_backfill in this migration's transaction, in id order
 * from the genesis, so that a database upgraded from any version verifies. */
static const char migration_5[] =
    "ALTER TABLE audit ADD COLUMN prev_sha256 TEXT;\n"
    "ALTER TABLE audit ADD COLUMN row_sha256 TEXT;\n";

/* The legal basis of a watchlist (docs/lawful-use.md): its purpose, legal
 * reference, owner and an optional expiry (RFC 3339 UTC; NULL: none), after
 * which it stops matching and is read-only; and of a person, the reason for
 * the entry and an optional review-by date (NULL: none), after which the
 * entry stops matching until renewed. Existing rows get '' and NULL: no
 * expiry, no review date, so they behave as before. */
static const char migration_6[] =
    "ALTER TABLE watchlists ADD COLUMN purpose TEXT NOT NULL DEFAULT '';\n"
    "ALTER TABLE watchlists ADD COLUMN legal_ref TEXT NOT NULL DEFAULT '';\n"
    "ALTER TABLE watchlists ADD COLUMN owner TEXT NOT NULL DEFAULT '';\n"
    "ALTER TABLE watchlists ADD COLUMN expires TEXT;\n"
    "ALTER TABLE persons ADD COLUMN reason TEXT NOT NULL DEFAULT '';\n"
    "ALTER TABLE persons ADD COLUMN review_by TEXT;\n";

/* Retention (docs/lawful-use.md): the lifetime of each data class in
 * seconds (a class without a row is kept until removed by hand), the files
 * argus exported (removed when the exports' lifetime has passed), and the
 * indexes the purge reads by age. Where the audit chain starts after its
 * oldest rows were purged is kept in meta (audit_base_id,
 * audit_base_sha256). */
static const char migration_7[] =
    "CREATE TABLE retention (\n"
    "  class TEXT PRIMARY KEY CHECK (class IN ('alerts', 'decisions', "
    "'unmatched', 'audit', 'exports', 'events', 'negatives')),\n"
    "  seconds BIGINT NOT NULL CHECK (seconds > 0),\n"
    "  updated TEXT NOT NULL\n"
    ");\n"
    "CREATE TABLE exports (\n"
    "  id @ID@,\n"
    "  kind TEXT NOT NULL,\n"
    "  path TEXT NOT NULL,\n"
    "  time TEXT NOT NULL,\n"
    "  actor TEXT NOT NULL,\n"
    "  files BIGINT NOT NULL DEFAULT 0\n"
    ");\n"
    "CREATE INDEX exports_by_time ON exports (time);\n"
    "CREATE INDEX decisions_by_time ON decisions (time);\n"
    "CREATE INDEX unmatched_by_time ON unmatched (time);\n";

/* Operators' verdicts feed back (docs/lawful-use.md): see store_verdict_sql
 * in verdict.c. */
#define migration_8 store_migration_8_sql

/* Encryption at rest (docs/lawful-use.md): see store_seal_sql in seal.c. */
#define migration_9 store_migration_9_sql

const store_migration store_migrations[] = {
    {1, "initial schema", migration_1},
    {2, "unmatched faces kept with a retention", migration_2},
    {3, "alerts keep the id of the event that raised them", migration_3},
    {4, "accounts, sessions, tokens, event log, webhooks; alert match "
        "details; acknowledgement flag",
     migration_4},
    {5, "tamper-evident audit log: rows chained by SHA-256", migration_5},
    {6, "legal basis: watchlist purpose, legal reference, owner, expiry; "
        "person reason and review-by date",
     migration_6},
    {7, "retention: lifetimes per data class, exported files", migration_7},
    {8, "verdict feedback: negative examples, four-eyes rule", migration_8},
    {9, "encryption at rest: sealed templates", migration_9},
};
const int store_migration_count =
    (int)(sizeof store_migrations / sizeof store_migrations[0]);

_Static_assert(sizeof store_migrations / sizeof store_migrations[0] ==
                   ARGUS_STORE_SCHEMA_VERSION,
               "ARGUS_STORE_SCHEMA_VERSION must be the last migration");

/* Replaces @ID@ and @BLOB@ with the backend's words. */
static char *dialect(const store_backend_ops *ops, const char *sql) {
  size_t n = strlen(sql),
         extra = strlen(ops->sql_id_pk) + strlen(ops->sql_blob);
  size_t count = 0;
  for (const char *p = sql; (p = strchr(p, '@')); p++)
    count++;
  char *out = malloc(n + count * extra + 1);
  if (!out)
    return NULL;
  char *o = out;
  for (const char *p = sql; *p;) {
    if (strncmp(p, "@ID@", 4) == 0) {
      size_t k = strlen(ops->sql_id_pk);
      memcpy(o, ops->sql_id_pk, k);
      o += k;
      p += 4;
    } else if (strncmp(p, "@BLOB@", 6) == 0) {
      size_t k = strlen(ops->sql_blob);
      memcpy(o, ops->sql_blob, k);
      o += k;
      p += 6;
    } else {
      *o++ = *p++;
    }
  }
  *o = '\0';
  return out;
}

static argus_err current_version(argus_store *s, int *version,
                                 argus_store_error *err) {
  int found = 0;
  int64_t v = 0;
  argus_err e = store_query_int(
      s, &found, &v, err,
      "SELECT coalesce(max(version), 0) FROM schema_version", "");
  *version = found ? (int)v : 0;
  return e;
}

argus_err store_schema_peek(argus_store *s, int *version,
                            argus_store_error *err) {
  int has_table = 0, empty = 0;
  *version = 0;
  argus_err e = s->ops->probe(s->db, "schema_version", &has_table, &empty, err);
  if (e != ARGUS_OK)
    return e;
  if (empty)
    return store_fail(err, ARGUS_E_CORRUPT,
                      "'%s' is empty: not an argus database yet (a command "
                      "that writes, such as 'argus watchlist create', makes "
                      "one)",
                      s->path);
  if (!has_table)
    return store_fail(err, ARGUS_E_CORRUPT,
                      "'%s' is a database but not an argus database (it has "
                      "tables and no schema_version)",
                      s->path);
  if ((e = current_version(s, version, err)) != ARGUS_OK)
    return e;
  if (*version > ARGUS_STORE_SCHEMA_VERSION)
    return store_fail(err, ARGUS_E_UNSUPPORTED,
                      "'%s' has schema version %d, newer than this argus "
                      "(%d): upgrade argus to open it",
                      s->path, *version, ARGUS_STORE_SCHEMA_VERSION);
  return ARGUS_OK;
}

argus_err store_migrate(argus_store *s, argus_store_error *err) {
  int has_table = 0, empty = 0;
  argus_err e = s->ops->probe(s->db, "schema_version", &has_table, &empty, err);
  if (e != ARGUS_OK)
    return e;
  if (!has_table && !empty)
    return store_fail(err, ARGUS_E_CORRUPT,
                      "'%s' is a database but not an argus database (it has "
                      "tables and no schema_version)",
                      s->path);
  if (!has_table) {
    /* A server's database: under the write lock, since two first opens
     * at once can both fail a bare CREATE TABLE IF NOT EXISTS in
     * PostgreSQL (a duplicate key in its catalog). SQLite serialises them
     * itself, and there a BEGIN IMMEDIATE racing the creation of a new
     * WAL file can fail at once as "locked" (no busy wait). */
    int tx = !s->ops->files;
    if (tx && (e = store_begin(s, STORE_TX_WRITE, err)) != ARGUS_OK)
      return e;
    e = s->ops->exec(s->db,
                     "CREATE TABLE IF NOT EXISTS schema_version (\n"
                     "  version INTEGER PRIMARY KEY,\n"
                     "  description TEXT NOT NULL,\n"
                     "  applied TEXT NOT NULL\n"
                     ")",
                     err);
    if (e != ARGUS_OK) {
      if (tx)
        store_rollback(s);
      return e;
    }
    if (tx && (e = store_commit(s, err)) != ARGUS_OK)
      return e;
  }
  int version = 0;
  if ((e = current_version(s, &version, err)) != ARGUS_OK)
    return e;
  if (version > ARGUS_STORE_SCHEMA_VERSION)
    return store_fail(err, ARGUS_E_UNSUPPORTED,
                      "'%s' has schema version %d, newer than this argus "
                      "(%d): upgrade argus to open it",
                      s->path, version, ARGUS_STORE_SCHEMA_VERSION);
  for (int i = 0; i < store_migration_count; i++) {
    const store_migration *m = &store_migrations[i];
    if (m->version <= version)
      continue;
    if ((e = store_begin(s, STORE_TX_WRITE, err)) != ARGUS_OK)
      return e;
    /* Another process may have migrated while we waited for the lock. */
    int now = 0;
    if ((e = current_version(s, &now, err)) != ARGUS_OK)
      goto fail;
    if (now >= m->version) {
      if ((e = store_commit(s, err)) != ARGUS_OK)
        return e;
      version = now;
      continue;
    }
    char *sql = dialect(s->ops, m->sql);
    if (!sql) {
      e = store_fail(err, ARGUS_E_NOMEM, "out of memory");
      goto fail;
    }
    e = s->ops->exec(s->db, sql, err);
    free(sql);
    if (e != ARGUS_OK) {
      store_wrap(err, e, "migration %d (%s)", m->version, m->description);
      goto fail;
    }
    /* The audit row below is written as this schema version writes them
     * (chained from version 5 on). */
    s->schema_version = m->version;
    if (m->version == STORE_AUDIT_CHAIN_VERSION &&
        (e = store_audit_chain_backfill(s, err)) != ARGUS_OK)
      goto fail;
    char t[ARGUS_STORE_TIME_MAX];
    argus_store_now(t);
    e = store_run(s, err,
                  "INSERT INTO schema_version (version, description, applied) "
                  "VALUES (?, ?, ?)",
                  "iss", (int64_t)m->version, m->description, t);
    if (e != ARGUS_OK)
      goto fail;
    store_json j;
    store_json_begin(&j);
    store_json_int(&j, "version", m->version);
    store_json_str(&j, "description", m->description);
    e = store_audit(s, "schema.migrate", "schema", m->version,
                    store_json_end(&j), NULL, err);
    if (e != ARGUS_OK)
      goto fail;
    if ((e = store_commit(s, err)) != ARGUS_OK)
      return e;
    argus_log(ARGUS_LOG_INFO, STORE_MOD, "%s: applied migration %d (%s)",
              s->path, m->version, m->description);
    version = m->version;
  }
  s->schema_version = version;
  return ARGUS_OK;
fail:
  store_rollback(s);
  return e;
}
