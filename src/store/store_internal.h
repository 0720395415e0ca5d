/* Internal pieces of the store: the backend operations table, the store
 * object, transactions with audit, crop files, small helpers. */
#ifndef ARGUS_STORE_INTERNAL_H
#define ARGUS_STORE_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "argus/store.h"

#define STORE_MOD "store"

/* ---- backend ------------------------------------------------------------ */
/* A backend is a small SQL driver. The shared SQL (the other src/store files)
 * uses only portable syntax: '?' placeholders (a PostgreSQL backend rewrites
 * them to $1..$n), BIGINT/INTEGER/TEXT/DOUBLE PRECISION plus the two dialect
 * words below for the id column and blobs, INSERT ... RETURNING id, ON CONFLICT
 * DO NOTHING, LIMIT. Every function reports failures through `err` (may be
 * NULL). */

typedef struct store_stmt store_stmt; /* defined by each backend */

typedef enum store_tx_mode {
  STORE_TX_READ = 0,          /* a consistent snapshot, no writes */
  STORE_TX_WRITE = 1,         /* takes the write lock at BEGIN */
  STORE_TX_WRITE_DURABLE = 2, /* as WRITE, and the commit is on disk before
                                 it returns even with sync_full off */
} store_tx_mode;

/* Values of step(). */
enum { STORE_DONE = 0, STORE_ROW = 1 };

typedef struct store_backend_ops {
  const char *name;
  /* Dialect words substituted into the migrations: @ID@ and @BLOB@. */
  const char *sql_id_pk; /* an auto-increment primary key never reusing ids */
  const char *sql_blob;
  /* 1: the path names a database file (checked, created, its folder made;
   * crops beside it by default). 0: a server's connection string (crops in
   * the options' data_dir, which is then required). */
  int files;

  argus_err (*open)(const char *path, const argus_store_options *opts,
                    void **ctx, argus_store_error *err);
  void (*close)(void *ctx);

  /* Runs one or more statements without parameters or results (DDL). */
  argus_err (*exec)(void *ctx, const char *sql, argus_store_error *err);
  argus_err (*begin)(void *ctx, store_tx_mode mode, argus_store_error *err);
  argus_err (*commit)(void *ctx, argus_store_error *err);
  void (*rollback)(void *ctx);

  argus_err (*prepare)(void *ctx, const char *sql, store_stmt **st,
                       argus_store_error *err);
  /* Parameters are numbered from 1. Text and blobs are copied. */
  argus_err (*bind_int64)(store_stmt *st, int i, int64_t v);
  argus_err (*bind_double)(store_stmt *st, int i, double v);
  argus_err (*bind_text)(store_stmt *st, int i, const char *v); /* NULL: null */
  argus_err (*bind_blob)(store_stmt *st, int i, const void *v, size_t n);
  argus_err (*bind_null)(store_stmt *st, int i);
  /* Returns OK with *row = STORE_ROW or STORE_DONE. Constraint violations
   * give INVALID_ARG with the backend's message. */
  argus_err (*step)(store_stmt *st, int *row, argus_store_error *err);
  /* Columns are numbered from 0; valid until the next step/reset. */
  int (*col_is_null)(store_stmt *st, int c);
  int64_t (*col_int64)(store_stmt *st, int c);
  double (*col_double)(store_stmt *st, int c);
  const char *(*col_text)(store_stmt *st, int c); /* never NULL ("" for null) */
  const void *(*col_blob)(store_stmt *st, int c, size_t *n);
  argus_err (*reset)(store_stmt *st); /* keeps bindings for reuse */
  void (*finalize)(store_stmt *st);   /* accepts NULL */

  /* Whether the database holds a table `name`, and whether it holds no
   * tables at all (a fresh file). */
  argus_err (*probe)(void *ctx, const char *name, int *has_table, int *empty,
                     argus_store_error *err);
  /* Backend integrity check: calls fn for each finding (a line of text);
   * returns the number of findings in *count. */
  argus_err (*integrity)(void *ctx, void (*fn)(void *user, const char *msg),
                         void *user, int64_t *count, argus_store_error *err);
} store_backend_ops;

extern const store_backend_ops store_sqlite_ops;
extern const store_backend_ops store_postgres_ops; /* postgres.c */

/* ---- the store ---------------------------------------------------------- */

#define STORE_PATH_MAX 4096

/* Statements prepared once per handle and reused (store_cached), for calls
 * on a hot path. */
typedef enum store_stmt_slot {
  STORE_STMT_EVENT_APPEND = 0,
  /* argus_store_alert_list: one statement per combination of its six
   * optional conditions (bit i set: condition i present). */
  STORE_STMT_ALERT_LIST,
  /* store_audit: the head of the chain, the insert, the seal. */
  STORE_STMT_AUDIT_HEAD = STORE_STMT_ALERT_LIST + 64,
  STORE_STMT_AUDIT_INSERT,
  STORE_STMT_AUDIT_SEAL,
  STORE_STMT_N
} store_stmt_slot;

struct argus_store {
  const store_backend_ops *ops;
  void *db;
  int in_callback; /* a foreach callback is running: re-entry is refused */
  int schema_version;
  /* Opened read_only: a read-only connection until a function must write
   * (store_begin of a write transaction reopens it read-write). */
  int read_only;
  int busy_timeout_ms, sync_full; /* the open's options, for that reopen */
  char actor[ARGUS_STORE_NAME_MAX];
  /* What messages and argus_store_path show: for a server, the connection
   * string with any password replaced by "***". */
  char path[STORE_PATH_MAX];
  /* What the backend opens: the path as given. */
  char conninfo[STORE_PATH_MAX];
  char crops_dir[STORE_PATH_MAX];
  /* Crop files created by the current write transaction: removed again when
   * it rolls back. */
  char (*new_crops)[ARGUS_STORE_SHA256_HEX];
  size_t n_new_crops, cap_new_crops;
  /* <crops>/.pending-<pid>-<n>: the hashes of the files the open write
   * transaction is creating, written before each file, removed when it
   * ends. A killed process leaves it behind; the next open removes the
   * files it lists that no row refers to. */
  int pending_fd;
  char pending_path[STORE_PATH_MAX + 64];
  /* Prepared on first use, finalized when the connection goes. */
  store_stmt *cached[STORE_STMT_N];
  /* ---- encryption at rest (seal.c) ---- */
  struct store_keyring *keys; /* the keys this handle holds; NULL: none */
  int keys_ready; /* the open is done: write transactions check meta */
  /* ---- end encryption at rest ---- */
};

/* Formats a message into err (when not NULL), logs it at debug level and
 * returns code. */
argus_err store_fail(argus_store_error *err, argus_err code, const char *fmt,
                     ...) __attribute__((format(printf, 3, 4)));
/* Prefixes err->msg with "what: " (keeping code). */
argus_err store_wrap(argus_store_error *err, argus_err code, const char *fmt,
                     ...) __attribute__((format(printf, 3, 4)));

/* Validation of caller input at the API edge. `what` names the argument. */
argus_err store_check_name(const char *s, const char *what, size_t max,
                           argus_store_error *err);
argus_err store_check_text(const char *s, const char *what, size_t max,
                           argus_store_error *err); /* NULL allowed */
argus_err store_check_model(const argus_store_model *m, int need_dim,
                            argus_store_error *err);
argus_err store_check_handle(const argus_store *s, argus_store_error *err);
void store_copy(char *dst, size_t size, const char *src);

/* ---- transactions ------------------------------------------------------- */
argus_err store_begin(argus_store *s, store_tx_mode mode,
                      argus_store_error *err);
/* Commits; on failure rolls back (removing new crop files). */
argus_err store_commit(argus_store *s, argus_store_error *err);
/* Rolls back and removes crop files this transaction created. Safe to call
 * when no transaction is open. */
void store_rollback(argus_store *s);

/* Appends an audit row inside the open transaction. detail: a JSON object
 * text or NULL. `out_id` may be NULL. */
argus_err store_audit(argus_store *s, const char *action,
                      const char *object_type, argus_store_id object_id,
                      const char *detail, argus_store_id *out_id,
                      argus_store_error *err);

/* ---- the audit chain (audit_chain.c) ------------------------------------ */
/* The first schema version whose audit rows carry prev_sha256/row_sha256. */
#define STORE_AUDIT_CHAIN_VERSION 5

/* The fields of a row that its row_sha256 covers (argus/store.h gives the
 * canonical form). Strings borrowed; object_id used when has_object_id. */
typedef struct store_audit_fields {
  int64_t id;
  const char *time, *actor, *action, *object_type;
  int has_object_id;
  int64_t object_id;
  const char *detail;
  const char *prev_sha256; /* 64 hex digits */
} store_audit_fields;
/* row_sha256 of f: 64 lower-case hex digits and a NUL. */
void store_audit_row_hash(const store_audit_fields *f,
                          char out[ARGUS_STORE_SHA256_HEX]);
/* Inside the open write transaction: the prev_sha256 a new row gets (the
 * newest row's row_sha256, or the genesis when the log is empty). */
argus_err store_audit_prev(argus_store *s, char prev[ARGUS_STORE_SHA256_HEX],
                           argus_store_error *err);
/* Inside the open write transaction: replaces the detail of audit row id,
 * which must be the newest row (it was written by this transaction), and
 * seals it again (row_sha256). Errors: INTERNAL (not the newest row), the
 * database's. */
argus_err store_audit_set_detail(argus_store *s, argus_store_id id,
                                 const char *detail, argus_store_error *err);
/* Where the chain starts: the last row a retention purge removed (meta
 * audit_base_id / audit_base_sha256), or 0 and the genesis. CORRUPT when
 * meta holds an id without a valid hash. */
argus_err store_audit_base_read(argus_store *s, argus_store_id *id,
                                char sha[ARGUS_STORE_SHA256_HEX],
                                argus_store_error *err);
/* Migration 5, inside its transaction: chains the rows written before it,
 * in id order from the genesis. */
argus_err store_audit_chain_backfill(argus_store *s, argus_store_error *err);

/* ---- statements --------------------------------------------------------- */
/* Prepares sql and binds the arguments described by `fmt`: one character per
 * parameter: 'i' int64_t, 'd' double, 's' const char * (NULL: null),
 * 'b' const void * + size_t, 'n' null (no argument). */
argus_err store_prep(argus_store *s, store_stmt **st, argus_store_error *err,
                     const char *sql, const char *fmt, ...);
/* prep + step to completion, ignoring rows. `changes` unsupported: use
 * RETURNING or counts. */
argus_err store_run(argus_store *s, argus_store_error *err, const char *sql,
                    const char *fmt, ...);
/* prep + step once: *found = 1 and *out = column 0 as int64 when a row
 * came back, else *found = 0. */
argus_err store_query_int(argus_store *s, int *found, int64_t *out,
                          argus_store_error *err, const char *sql,
                          const char *fmt, ...);
argus_err store_step(argus_store *s, store_stmt *st, int *row,
                     argus_store_error *err);
/* The handle's statement of `slot` (prepared from sql on first use, reset
 * for reuse; its parameters are bound by the caller). Owned by the handle:
 * never finalized by the caller, which resets it when done (ops->reset)
 * so that it holds no lock. */
argus_err store_cached(argus_store *s, store_stmt_slot slot, const char *sql,
                       store_stmt **st, argus_store_error *err);
/* Finalizes the cached statements (before the connection closes). */
void store_cached_drop(argus_store *s);

/* Growable array of fixed-size items for list results (capped). */
typedef struct store_vec {
  void *data;
  size_t n, cap, item;
} store_vec;
void *store_vec_push(store_vec *v); /* zeroed item or NULL (NOMEM/limit) */

/* Commit done: removes the queued crop files; a failure is logged only (the
 * queue is worked off at the next open). */
void store_purge_after_commit(argus_store *s, const char *what);

/* Parses RFC 3339 into the store's canonical UTC text (alert.c). */
argus_err store_time_canonical(const char *in, char out[ARGUS_STORE_TIME_MAX],
                               argus_store_error *err);

/* Id of a watchlist by name, NOT_FOUND ("no watchlist 'x'") when none. */
argus_err store_watchlist_id(argus_store *s, const char *name,
                             argus_store_id *id, argus_store_error *err);

/* ---- template vectors as stored (seal.c) ---------------------------------- */
/* The bytes to store for a template vector (templates.vector and every other
 * column that holds one): little-endian float32, sealed under the store's
 * key when it has one. *blob is malloc'd (the caller frees it). Errors:
 * INVALID_ARG, NOMEM. */
argus_err store_vec_pack(argus_store *s, const float *v, int dim, void **blob,
                         size_t *size, argus_store_error *err);
/* Reads what store_vec_pack wrote into dst[dim]. Errors: CORRUPT (wrong
 * size, or bytes the key does not open). */
argus_err store_vec_unpack(argus_store *s, const void *blob, size_t size,
                           int dim, float *dst, argus_store_error *err);

/* ---- verdict feedback (verdict.c) ----------------------------------------- */
/* Inside the open write transaction, after alert `id` was inserted: stores
 * a->probe with it (store_vec_pack) and, when a->negative, the nearest
 * negative example of its person (*neg_id, *neg_score; 0/NAN: none). */
argus_err store_alert_probe_put(argus_store *s, argus_store_id id,
                                const argus_store_alert_in *a,
                                argus_store_id *neg_id, double *neg_score,
                                argus_store_error *err);
/* Inside the open write transaction of a rejection: copies the alert's
 * probe (if it has one and its person still exists) into the person's
 * negative examples, audited "person.negative_add". *neg_id 0: none. */
argus_err store_negative_from_alert(argus_store *s, argus_store_id alert_id,
                                    argus_store_id *neg_id,
                                    argus_store_error *err);
/* ---- end verdict feedback ---------------------------------------------- */

/* ---- encryption at rest (seal.c) ------------------------------------------ */
/* A sealed blob or crop file is this many bytes longer than its plaintext. */
#define STORE_SEAL_OVERHEAD 53
/* At open, before anything is read or written: loads the keys
 * (opts->key_file / old_key_file, else ARGUS_KEY_FILE / ARGUS_KEY and
 * ARGUS_OLD_KEY_FILE / ARGUS_OLD_KEY) and refuses a database encrypted with
 * a key not given (INVALID_ARG, naming the key id). */
argus_err store_keys_open(argus_store *s, const argus_store_options *o,
                          argus_store_error *err);
/* At the start of every write transaction after the open: follows a key
 * change made by another process (a rotation), refuses to write when the
 * database's key is not held, and records the handle's key in meta on the
 * first write (the database is encrypted from then on). */
argus_err store_keys_begin(argus_store *s, argus_store_error *err);
void store_keys_free(argus_store *s); /* wipes and frees; accepts none */
/* The id of the key this handle seals with ("" for none). */
const char *store_seal_key_id(const argus_store *s);
/* The bytes to write for crop `hash`: *out (malloc'd) is data sealed under
 * the handle's key, or NULL when it has none (write data as it is). */
argus_err store_crop_seal(const argus_store *s, const char *hash,
                          const void *data, size_t n, void **out,
                          size_t *outn, argus_store_error *err);
/* *buf (malloc'd, *n bytes, read from path) becomes the plaintext crop,
 * checked against its hash. CHECKSUM (damaged), CORRUPT (key not held). */
argus_err store_crop_unseal(const argus_store *s, const char *hash,
                            const char *path, void **buf, size_t *n,
                            argus_store_error *err);
/* crops.c: the hashes of every crop file (malloc'd array). */
argus_err store_crop_list(argus_store *s,
                          char (**hashes)[ARGUS_STORE_SHA256_HEX], size_t *n,
                          argus_store_error *err);
/* crops.c, inside a write transaction: rewrites crop `hash` from its
 * plaintext, sealed under the handle's current key (temp file, fsync,
 * rename, fsync folder). */
argus_err store_crop_rewrite(argus_store *s, const char *hash,
                             const void *data, size_t n,
                             argus_store_error *err);
/* ---- end encryption at rest ------------------------------------------- */

/* ---- migrations --------------------------------------------------------- */
typedef struct store_migration {
  int version;
  const char *description;
  const char *sql; /* with @ID@ and @BLOB@ */
} store_migration;
extern const store_migration store_migrations[];
extern const int store_migration_count;
/* Migrations 8 and 9, kept beside the code that uses their tables. */
extern const char store_migration_8_sql[];
extern const char store_migration_9_sql[];
argus_err store_migrate(argus_store *s, argus_store_error *err);
/* Reads the schema version without writing anything. Errors: CORRUPT (no
 * tables at all: "an empty file, not an argus database yet"; tables but no
 * schema_version), UNSUPPORTED (newer than this binary). */
argus_err store_schema_peek(argus_store *s, int *version,
                            argus_store_error *err);

/* ---- crop files --------------------------------------------------------- */
/* Crop files are named by argus_sha256_hex (core) of their bytes. 1 when s
 * is such a name: 64 lower-case hex digits. */
int store_is_sha256_hex(const char *s);
/* <crops>/ab/<hash>.jpg */
argus_err store_crop_path(const argus_store *s, const char *hash, char *buf,
                          size_t size, argus_store_error *err);
/* Writes data under its hash (temp file, fsync, rename, fsync folder) unless
 * a file of that size is there already; must be called inside a write
 * transaction (which serialises it with gc and purges). Remembers newly
 * created files so that a rollback removes them. */
argus_err store_crop_put(argus_store *s, const void *data, size_t n,
                         char hash[ARGUS_STORE_SHA256_HEX],
                         argus_store_error *err);
/* Reads and verifies a crop file. NOT_FOUND, CHECKSUM, IO, NOMEM. */
argus_err store_crop_load(const argus_store *s, const char *hash, void **data,
                          size_t *size, argus_store_error *err);
/* Inside a write transaction: queues hashes for removal (crop_purge table).
 * The SQL selects one TEXT column of hashes, with parameters per fmt. */
argus_err store_purge_queue(argus_store *s, argus_store_error *err,
                            const char *select_sql, const char *fmt, ...);
/* After the commit that queued them: removes queued files that no row
 * refers to any more, under the write lock. Called at open too, to finish
 * the work of a crashed process. */
argus_err store_purge_run(argus_store *s, argus_store_error *err);
/* Ends the transaction's intent file (after commit or rollback). */
void store_pending_end(argus_store *s);
/* Under a write transaction: works off intent files left by killed
 * processes. `removed` counts crop files removed (may be NULL). */
argus_err store_pending_recover(argus_store *s, int64_t *removed,
                                argus_store_error *err);
/* Whether the crop folder holds an intent file (read without a lock: a
 * hint that store_pending_recover has work). */
int store_pending_any(const argus_store *s);
/* Whether any row (photo or alert) refers to hash. */
argus_err store_crop_referenced(argus_store *s, const char *hash, int *ref,
                                argus_store_error *err);

/* ---- JSON --------------------------------------------------------------- */
/* A JSON object builder over core's argus_json, for audit details:
 * {"k":v,...} in a fixed buffer. A NULL string is written as "". Members that
 * do not fit are dropped whole: `overflow` is then set by store_json_end and
 * the text stays a valid (shortened) object. */
typedef struct store_json {
  char buf[ARGUS_STORE_JSON_MAX];
  argus_json w;
  int overflow;
} store_json;
void store_json_begin(store_json *j);
void store_json_str(store_json *j, const char *key, const char *v);
void store_json_int(store_json *j, const char *key, int64_t v);
void store_json_num(store_json *j, const char *key, double v);
const char *store_json_end(store_json *j);
/* Validates a JSON document whose top level is an object (strict RFC 8259,
 * UTF-8, nesting at most 32 levels; argus_json_validate). Returns 0 or -1 with
 * a reason in why. */
int store_json_validate_object(const char *s, char *why, size_t why_size);

/* ---- test hook ---------------------------------------------------------- */
/* When > 0, the n-th fault point from now fails with IO ("injected fault");
 * fault points sit before each crop write and each row insert of an
 * enrolment. 0 disables. Process-wide; tests only. */
void store_debug_fail_at(int n);
int store_debug_fault(void); /* 1 when this fault point must fail */

#endif
