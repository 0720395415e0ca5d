/*
 * argus store: watchlists, persons, enrolled photos and templates, cameras,
 * alerts, operator decisions and the audit log, in a database behind one
 * interface.
 *
 * Backends are a const table of operations chosen in one place by name
 * ("sqlite", "postgres": docs/store.md). The
 * schema is a list of numbered SQL migrations compiled into the binary and
 * applied at open, each in its own transaction; a database written by a newer
 * argus is refused. Face crops (JPEG) are files addressed by their SHA-256
 * under <data>/crops/ab/<hash>.jpg; the database holds hash, size and owner,
 * so purging a row removes the file once nothing else refers to it.
 *
 * Privacy: every function that reads or writes templates or crops appends an
 * audit row (actor, action, object, detail) in the same transaction, and so
 * does every change to watchlists, persons, cameras and alerts. The actor is
 * a per-store string set by the caller (argus_store_set_actor).
 *
 * Threads: a store handle is used by one thread at a time; open one handle
 * per thread. Several processes may open the same database (SQLite WAL: one
 * writer at a time, readers never block). docs/store.md has the schema, the
 * crash-safety argument and the retention rules.
 *
 * Strings passed in are borrowed (copied before return). Arrays returned in
 * *out are allocated by the store and freed with argus_store_free. Every
 * function takes an optional `err` (may be NULL) that receives a message
 * naming what failed ("watchlist 'vip' already exists").
 */
#ifndef ARGUS_STORE_H
#define ARGUS_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "argus/core.h"
#include "argus/export.h"

ARGUS_BEGIN_DECLS

/* Version of the schema this binary writes (the last migration's number). */
#define ARGUS_STORE_SCHEMA_VERSION 9

/* Bounds on text fields (bytes, with the terminating NUL). Longer input is
 * rejected with INVALID_ARG, never cut. */
#define ARGUS_STORE_NAME_MAX 128  /* names, external ids, model names */
#define ARGUS_STORE_COLOUR_MAX 16 /* "#rrggbb" */
#define ARGUS_STORE_TEXT_MAX 1024 /* notes, sources, comments, urls */
#define ARGUS_STORE_JSON_MAX 4096 /* camera settings, audit details */
#define ARGUS_STORE_TIME_MAX ARGUS_RFC3339_MAX /* "2024-05-01T12:34:56.789Z" */
#define ARGUS_STORE_SHA256_HEX 65 /* 64 hex digits + NUL */
/* Largest crop or thumbnail accepted (bytes). */
#define ARGUS_STORE_CROP_MAX ((size_t)16 << 20)
/* Largest template dimension accepted. */
#define ARGUS_STORE_DIM_MAX 8192

typedef int64_t argus_store_id; /* row ids are > 0 */
typedef struct argus_store argus_store;

/* A detailed reason for a failure. */
typedef argus_error_detail argus_store_error; /* see argus/core.h */

/* ---- open / close ------------------------------------------------------- */

typedef struct argus_store_options {
  const char *backend;  /* NULL: "postgres" when the path starts with
                           postgres:// or postgresql:// (a libpq
                           connection URI), else "sqlite"; or either name */
  const char *data_dir; /* crops live in <data_dir>/crops; NULL: the folder
                           of the database file (SQLite); for PostgreSQL
                           $ARGUS_DATA_DIR, and without it the open fails
                           (INVALID_ARG) */
  int busy_timeout_ms;  /* wait for another writer this long (0: 5000) */
  int sync_full;        /* 1: every commit is durable against power loss
                           (SQLite synchronous=FULL); 0: only commits that
                           delete crop files are (see docs/store.md) */
  const char *actor;    /* NULL: "unknown"; as argus_store_set_actor, in
                           effect from the open (migrations are audited) */
  int must_exist;       /* 1: open only a database file that exists: fail
                           with NOT_FOUND instead of creating the file or
                           its folder (for readers: a mistyped path makes
                           nothing) */
  int read_only;        /* 1: the caller mostly reads (implies
                           must_exist): a read-only connection that takes
                           no write lock and writes nothing (no crop
                           folder, no recovery of crashed writers), so
                           lists work while another process writes; an
                           empty file is refused (CORRUPT, "not an argus
                           database yet"); only a schema older than this
                           binary is upgraded (with the write lock, once).
                           The first function that writes (the audit row of
                           a template or crop read, or any change) reopens
                           the handle read-write and waits for the write
                           lock like a writer's. */
  /* ---- encryption at rest (docs/lawful-use.md) ---- */
  const char *key_file;     /* a file (mode 0600) with the 32-byte key, raw
                               or as 64 hex digits; NULL: $ARGUS_KEY_FILE,
                               else $ARGUS_KEY (64 hex digits), else none
                               (plaintext, unless the database says it is
                               encrypted: then the open fails) */
  const char *old_key_file; /* a second key to read with (NULL:
                               $ARGUS_OLD_KEY_FILE, else $ARGUS_OLD_KEY):
                               the old key while a rotation is unfinished */
  /* ---- end encryption at rest ---- */
} argus_store_options;

/* Writes the default database path into buf: $XDG_DATA_HOME/argus/argus.db
 * when XDG_DATA_HOME is an absolute path, else $HOME/.local/share/argus/
 * argus.db. Errors: NOT_FOUND (neither variable usable), LIMIT (buf too
 * small). */
argus_err argus_store_default_path(char *buf, size_t size,
                                   argus_store_error *err);

/* Opens the database at `path` (NULL: argus_store_default_path; for
 * PostgreSQL a connection URI, whose password never appears in messages or
 * argus_store_path, and what follows about files does not apply) and brings
 * its schema up to date; finishes any crop purge a crashed process left
 * behind. A missing file is created (mode 0600) unless opts->must_exist;
 * an empty (0-byte) file is a new database for a writer (it gets the
 * schema and mode 0600) and an error for a reader (read_only). Its folder
 * must exist: only the default path's folder is created (mode 0700);
 * for an explicit path a missing folder is NOT_FOUND ("folder 'X' does not
 * exist"). The open takes the write lock only when it has something to
 * write (a new database, a migration, a crashed writer's leftovers), so
 * it does not wait for another process's long write transaction. A -shm
 * or -wal file the caller owns that a read-only opener left without write
 * permission is given the database file's mode, so that writing works as
 * soon as the database file's permissions allow it. `opts` may be NULL
 * (defaults). Errors: INVALID_ARG (bad options), NOT_FOUND (must_exist
 * and no file at the path: "no database at PATH"; a missing folder), IO
 * (file or lock problems, "database is locked"), CORRUPT (not an argus
 * database or damaged; an empty file opened read_only), UNSUPPORTED
 * (schema newer than this binary, unknown backend), NOMEM. */
argus_err argus_store_open(const char *path, const argus_store_options *opts,
                           argus_store **out, argus_store_error *err);
/* Closes the store; accepts NULL. */
void argus_store_close(argus_store *s);

/* Sets the actor recorded in audit rows from now on ("cli:alice",
 * "api:operator7"); copied. Default "unknown". Errors: INVALID_ARG (empty,
 * too long). */
argus_err argus_store_set_actor(argus_store *s, const char *actor,
                                argus_store_error *err);

/* Path of the database and of the crop folder (owned by the store). */
const char *argus_store_path(const argus_store *s);
const char *argus_store_crops_dir(const argus_store *s);
/* Schema version of the open database. */
int argus_store_schema_version(const argus_store *s);

/* Frees an array returned by a list function; accepts NULL. */
void argus_store_free(void *p);

/* Current UTC time as RFC 3339 with milliseconds, "2024-05-01T12:34:56.789Z".
 */
void argus_store_now(char buf[ARGUS_STORE_TIME_MAX]);

/* ---- models ------------------------------------------------------------- */

/* The embedder that made a template. Templates of different (name, version)
 * never compare; dim is the vector length. */
typedef struct argus_store_model {
  const char *name;    /* "fr_embed" */
  const char *version; /* "faceplugin-0.0.1" */
  int dim;             /* 512; ignored where only name+version select */
} argus_store_model;

/* Splits a face model id "name@version" at its first '@' (a version may
 * contain '@', a name may not) into buffers of ARGUS_STORE_NAME_MAX bytes.
 * This is the one rule for model ids everywhere in argus.
 * Errors: INVALID_ARG (no '@', empty or too long part). */
argus_err argus_store_model_id_split(const char *id,
                                     char name[ARGUS_STORE_NAME_MAX],
                                     char version[ARGUS_STORE_NAME_MAX]);

/* ---- watchlists --------------------------------------------------------- */

typedef struct argus_store_watchlist {
  argus_store_id id;
  char name[ARGUS_STORE_NAME_MAX];
  double threshold; /* NAN: use the embedder's calibrated default */
  char colour[ARGUS_STORE_COLOUR_MAX];
  int active;
  int ack_required; /* 1: its alerts stay pinned on operators' screens until
                       someone decides them */
  int64_t persons; /* number of persons enrolled */
  char created[ARGUS_STORE_TIME_MAX];
  char updated[ARGUS_STORE_TIME_MAX];
  /* Legal basis (docs/lawful-use.md): "" when not recorded. */
  char purpose[ARGUS_STORE_TEXT_MAX];
  char legal_ref[ARGUS_STORE_TEXT_MAX];
  char owner[ARGUS_STORE_NAME_MAX];
  char expires[ARGUS_STORE_TIME_MAX]; /* RFC 3339 UTC; "" : no expiry */
  int expired; /* 1: expires <= argus_store_clock_ns() when read: the list
                  does not match and is read-only */
  /* ---- verdict feedback (migration 8, src/store/verdict.c) ---- */
  int four_eyes;    /* 1: an alert is confirmed by two different operators */
  char negatives[16]; /* "off", "suppress" (default), "mark": what a probe
                         closer to a rejected alert's probe than to the
                         person does (docs/alerts.md) */
  /* ---- end verdict feedback ---- */
} argus_store_watchlist;

/* Creates a watchlist. `name`: 1..127 printable bytes, no control
 * characters. `threshold`: NAN (model default) or in [-1, 1]. `colour`:
 * NULL ("#e53935") or "#rrggbb". `out_id` may be NULL. Errors: INVALID_ARG
 * (bad argument, "watchlist 'x' already exists"). */
argus_err argus_store_watchlist_create(argus_store *s, const char *name,
                                       double threshold, const char *colour,
                                       argus_store_id *out_id,
                                       argus_store_error *err);
/* As argus_store_watchlist_create, with the legal basis `legal` (NULL:
 * none; its members NULL or "": not recorded; an expiry must lie in the
 * future), in the same audited transaction. */
struct argus_store_legal_in;
argus_err argus_store_watchlist_create_legal(
    argus_store *s, const char *name, double threshold, const char *colour,
    const struct argus_store_legal_in *legal, argus_store_id *out_id,
    argus_store_error *err);
/* All watchlists ordered by name, with their person counts. */
argus_err argus_store_watchlist_list(argus_store *s,
                                     argus_store_watchlist **out, size_t *n,
                                     argus_store_error *err);
/* Errors: NOT_FOUND ("no watchlist 'x'"). */
argus_err argus_store_watchlist_get(argus_store *s, const char *name,
                                    argus_store_watchlist *out,
                                    argus_store_error *err);
/* Deletes a watchlist with its persons, photos, templates and (when no other
 * row refers to them) crop files. Errors: NOT_FOUND. */
argus_err argus_store_watchlist_delete(argus_store *s, const char *name,
                                       argus_store_error *err);
/* threshold: NAN (model default) or in [-1, 1]. Errors: NOT_FOUND. */
argus_err argus_store_watchlist_set_threshold(argus_store *s, const char *name,
                                              double threshold,
                                              argus_store_error *err);
/* An inactive watchlist stays stored but is not searched. The setters of
 * threshold, active flag, acknowledgement flag and colour refuse an expired
 * watchlist (INVALID_ARG, "... is read-only ..."). */
argus_err argus_store_watchlist_set_active(argus_store *s, const char *name,
                                           int active, argus_store_error *err);
/* Sets the "acknowledgement required" flag (0 or 1). Audited. Errors:
 * NOT_FOUND, INVALID_ARG. */
argus_err argus_store_watchlist_set_ack(argus_store *s, const char *name,
                                        int ack_required,
                                        argus_store_error *err);
/* colour: "#rrggbb". Audited. Errors: NOT_FOUND, INVALID_ARG. */
argus_err argus_store_watchlist_set_colour(argus_store *s, const char *name,
                                           const char *colour,
                                           argus_store_error *err);

/* ---- legal basis ----------------------------------------------------------
 * A watchlist records why it exists (purpose, legal reference, owner) and
 * may expire: from its expiry on it matches nothing and is read-only (no
 * enrolment, no change but a renewal of the expiry, or deletion). A person
 * records the reason for the entry and may have a review-by date: from
 * then on the entry matches nothing until someone renews it. Times are
 * compared with argus_store_clock_ns(). */

/* Persons whose review-by date lies within this many days are "due". */
#define ARGUS_STORE_REVIEW_DUE_DAYS 30

/* The wall clock of the legal-basis checks, in nanoseconds since the epoch:
 * the real time, or, FOR TESTS ONLY, the time in the environment variable
 * ARGUS_TEST_NOW (RFC 3339 or YYYY-MM-DD, as argus_store_date_parse) when it
 * is set and valid. Thread-safe as long as nobody changes the environment
 * meanwhile. */
int64_t argus_store_clock_ns(void);

/* Parses a date of the legal basis: RFC 3339 ("2027-01-31T18:00:00Z",
 * "...+01:00") or an ISO 8601 date alone ("2027-01-31": its start, 00:00
 * UTC). *wall_ns (may be NULL) receives the time, canon (may be NULL) the
 * store's canonical UTC text. Errors: INVALID_ARG (anything else, a date
 * that does not exist, a year outside 1970..2262). */
argus_err argus_store_date_parse(const char *s, int64_t *wall_ns,
                                 char canon[ARGUS_STORE_TIME_MAX]);

/* A stored legal-basis date (a watchlist's expiry, a person's review-by) as
 * argus_store_clock_ns() time: INT64_MAX for "" or NULL (none), INT64_MIN
 * for text that does not parse (counts as passed: fails closed). */
int64_t argus_store_legal_ns(const char *t);

/* The legal basis of a watchlist; each member NULL: unchanged (on create:
 * ""). All borrowed. */
typedef struct argus_store_legal_in {
  const char *purpose;   /* up to 1023 bytes */
  const char *legal_ref; /* up to 1023 bytes */
  const char *owner;     /* up to 127 bytes */
  const char *expires;   /* "" : no expiry; else as argus_store_date_parse,
                            later than now */
} argus_store_legal_in;

/* Sets the legal basis of watchlist `name`, in one audited transaction
 * ("watchlist.set_legal", with the old and new expiry). An expired
 * watchlist only takes a call that renews it: `expires` "" or a later
 * time than now (purpose, reference and owner may change with it).
 * Errors: NOT_FOUND, INVALID_ARG (bad value, an expiry not in the future,
 * "watchlist 'x' expired at T and is read-only"). */
argus_err argus_store_watchlist_set_legal(argus_store *s, const char *name,
                                          const argus_store_legal_in *in,
                                          argus_store_error *err);
/* Sets a person's reason (NULL: unchanged; up to 1023 bytes) and review-by
 * date (NULL: unchanged; "": none; else as argus_store_date_parse, later
 * than now): setting a new date renews an overdue entry. Audited
 * ("person.set_review"). Errors: NOT_FOUND, INVALID_ARG (bad value, a date
 * not in the future, the person's watchlist is expired). */
argus_err argus_store_person_set_review(argus_store *s, argus_store_id id,
                                        const char *reason,
                                        const char *review_by,
                                        argus_store_error *err);
/* OK when watchlist `name` may be changed now; INVALID_ARG ("watchlist 'x'
 * expired at T and is read-only: renew its expiry or delete it") when it
 * has expired; NOT_FOUND. For callers that must refuse before doing work of
 * their own (the API's 409). */
argus_err argus_store_watchlist_check_writable(argus_store *s,
                                               const char *name,
                                               argus_store_error *err);

/* ---- persons, photos, templates ----------------------------------------- */

/* Where a person's review-by date stands. */
typedef enum argus_store_review {
  ARGUS_STORE_REVIEW_NONE = 0, /* no review-by date */
  ARGUS_STORE_REVIEW_OK,       /* more than ARGUS_STORE_REVIEW_DUE_DAYS away */
  ARGUS_STORE_REVIEW_DUE,      /* within ARGUS_STORE_REVIEW_DUE_DAYS */
  ARGUS_STORE_REVIEW_OVERDUE   /* passed: the entry does not match */
} argus_store_review;

/* "none", "ok", "due", "overdue". */
const char *argus_store_review_name(argus_store_review r);
/* The state of review-by date `review_by` ("" : none; else RFC 3339) at
 * time now_ns; an unreadable date counts as overdue (fails closed). */
argus_store_review argus_store_review_at(const char *review_by,
                                         int64_t now_ns);

typedef struct argus_store_person {
  argus_store_id id;
  argus_store_id watchlist_id;
  char watchlist[ARGUS_STORE_NAME_MAX];
  char name[ARGUS_STORE_NAME_MAX];
  char external_id[ARGUS_STORE_NAME_MAX]; /* "" when none */
  char notes[ARGUS_STORE_TEXT_MAX];
  int64_t photos, templates;
  char created[ARGUS_STORE_TIME_MAX];
  char updated[ARGUS_STORE_TIME_MAX];
  char reason[ARGUS_STORE_TEXT_MAX];    /* "" when not recorded */
  char review_by[ARGUS_STORE_TIME_MAX]; /* RFC 3339 UTC; "" : none */
  argus_store_review review;            /* at argus_store_clock_ns() */
} argus_store_person;

typedef struct argus_store_person_in {
  const char *name;        /* required, 1..127 bytes */
  const char *external_id; /* NULL or unique within the watchlist */
  const char *notes;       /* NULL or up to 1023 bytes */
} argus_store_person_in;
/* (The reason and review-by date of a new person are set after the add,
 * with argus_store_person_set_review: the struct above is initialised
 * positionally by many callers.) */

/* One enrolled photo: the aligned face crop as JPEG bytes (content is not
 * decoded, only hashed), its quality and where it came from, and optionally
 * the template the embedder made of it. All borrowed. */
typedef struct argus_store_photo_in {
  const void *crop; /* 1..ARGUS_STORE_CROP_MAX bytes */
  size_t crop_size;
  float quality;       /* [0, 1] */
  const char *source;  /* NULL or e.g. the image file name */
  const float *vector; /* NULL (no template) or model->dim floats */
} argus_store_photo_in;

/* Adds a person to watchlist `watchlist` with `n` photos (0 allowed) and
 * their templates made by `model` (may be NULL when no photo has a vector),
 * in ONE transaction: on any failure nothing is stored and crop files this
 * call created are removed. Audited ("person.add"). `out_id` may be NULL.
 * Errors: INVALID_ARG (bad input, "external id 'x' already in watchlist
 * 'y'"), NOT_FOUND (no such watchlist), IO, NOMEM. */
argus_err argus_store_person_add(argus_store *s, const char *watchlist,
                                 const argus_store_person_in *person,
                                 const argus_store_model *model,
                                 const argus_store_photo_in *photos, int n,
                                 argus_store_id *out_id,
                                 argus_store_error *err);
/* Adds photos (and their templates) to an existing person, atomically.
 * `out_photo_ids` (may be NULL) receives n ids. Errors: as person_add,
 * NOT_FOUND (no person `person_id`). */
argus_err argus_store_person_add_photos(argus_store *s,
                                        argus_store_id person_id,
                                        const argus_store_model *model,
                                        const argus_store_photo_in *photos,
                                        int n, argus_store_id *out_photo_ids,
                                        argus_store_error *err);
/* Purges a person: its photos, templates and unreferenced crop files.
 * Alerts about the person keep their names but lose the link. Errors:
 * NOT_FOUND. */
argus_err argus_store_person_remove(argus_store *s, argus_store_id person_id,
                                    argus_store_error *err);
/* Persons of `watchlist` (NULL: all), optionally only those named `name`
 * (NULL: any), ordered by watchlist, name, id. Errors: NOT_FOUND (no such
 * watchlist). */
argus_err argus_store_person_list(argus_store *s, const char *watchlist,
                                  const char *name, argus_store_person **out,
                                  size_t *n, argus_store_error *err);
/* Calls fn for every person (all watchlists), ordered by id, from one
 * snapshot, one at a time: for loading galleries of millions without a list
 * of them all in memory (argus_store_person_list allocates ~2.5 KB per
 * person and stops at 1 GiB). fn returns nonzero to stop early; it must not
 * call the store (re-entry is refused). */
typedef int (*argus_store_person_fn)(void *user, const argus_store_person *p);
argus_err argus_store_person_foreach(argus_store *s, argus_store_person_fn fn,
                                     void *user, argus_store_error *err);
/* The person of `watchlist` whose external id is `external_id`: *found
 * (required) is 1 and *out (may be NULL) the person, or *found is 0 (also
 * when there is no such watchlist). Errors: INVALID_ARG (a bad name or id,
 * found NULL). */
argus_err argus_store_person_find_external(argus_store *s,
                                           const char *watchlist,
                                           const char *external_id,
                                           argus_store_person *out, int *found,
                                           argus_store_error *err);
/* Errors: NOT_FOUND ("no person with id 7"). */
/* Changes a person's name and/or notes (NULL: unchanged). Audited
 * ("person.update"). Errors: NOT_FOUND, INVALID_ARG. */
argus_err argus_store_person_update(argus_store *s, argus_store_id id,
                                    const char *name, const char *notes,
                                    argus_store_error *err);
/* Removes one enrolled photo with its templates and (when nothing else
 * refers to it) its crop file, in one transaction; *person_id (may be NULL)
 * receives its person, whose index entry the caller then re-reads
 * (argus_gallery_sync_person). Audited ("photo.remove"). Errors:
 * NOT_FOUND ("no photo with id 7"). */
argus_err argus_store_photo_remove(argus_store *s, argus_store_id photo_id,
                                   argus_store_id *person_id,
                                   argus_store_error *err);
argus_err argus_store_person_get(argus_store *s, argus_store_id id,
                                 argus_store_person *out,
                                 argus_store_error *err);

typedef struct argus_store_photo {
  argus_store_id id;
  argus_store_id person_id;
  char crop_sha256[ARGUS_STORE_SHA256_HEX];
  int64_t crop_size;
  float quality;
  char source[ARGUS_STORE_TEXT_MAX];
  char created[ARGUS_STORE_TIME_MAX];
} argus_store_photo;

/* Photo records (no crop bytes, not biometric) of a person (0: all persons)
 * with id > after_id, ordered by id, at most `limit` (0: no limit). */
argus_err argus_store_photo_list(argus_store *s, argus_store_id person_id,
                                 argus_store_id after_id, size_t limit,
                                 argus_store_photo **out, size_t *n,
                                 argus_store_error *err);

/* Finds an enrolled photo by the SHA-256 of its crop (lower-case hex, as
 * argus_sha256_hex), among the persons of `watchlist` (NULL: of every
 * watchlist): *found (required) is 1 and *out (may be NULL) the photo with
 * the lowest id, or *found is 0. The crop of a photo is a deterministic
 * function of the image's bytes and the enrolment options, so this is how
 * `argus person add` finds a photo that is already enrolled. Not audited
 * (no biometric data is read). Errors: INVALID_ARG (not a hash, a bad
 * watchlist name, found NULL). */
argus_err argus_store_photo_find_crop(argus_store *s, const char *watchlist,
                                      const char *crop_sha256,
                                      argus_store_photo *out, int *found,
                                      argus_store_error *err);

/* Reads a crop (or alert thumbnail) by its hash into a malloc'ed buffer
 * (*data, freed with argus_store_free) and checks its hash. Audited
 * ("crop.read"). Errors: INVALID_ARG (not a hash), NOT_FOUND (no row refers
 * to it, or the file is missing), CHECKSUM (file damaged), IO, NOMEM. */
argus_err argus_store_crop_read(argus_store *s, const char *sha256, void **data,
                                size_t *size, argus_store_error *err);
/* Where the store keeps the crop file of `sha256` (whether or not it
 * exists), for a local operator's display (the `argus watch` printer).
 * Readers of crop bytes use argus_store_crop_read, which is audited.
 * Errors: INVALID_ARG (not a hash), LIMIT (buf too small). */
argus_err argus_store_crop_path(const argus_store *s, const char *sha256,
                                char *buf, size_t size,
                                argus_store_error *err);

/* A template as the iteration delivers it; pointers valid only during the
 * callback. */
typedef struct argus_store_template {
  argus_store_id id;
  argus_store_id person_id;
  argus_store_id photo_id;
  argus_store_id watchlist_id;
  const char *model_name;
  const char *model_version;
  int dim;
  const float *vector; /* dim floats, host order, 32-byte aligned */
} argus_store_template;

/* Return non-zero to stop the iteration (the function then returns OK). */
typedef int (*argus_store_template_fn)(void *user,
                                       const argus_store_template *t);

/* Calls fn for every template of model (name, version) — of one person when
 * person_id > 0 — ordered by id, from one consistent snapshot. Used to load
 * the in-memory index. Audited ("template.read", with the count): the audit
 * row commits with the read, so the iteration holds the write lock and other
 * writers wait (up to the busy timeout) — keep the callback fast (copy the
 * vector into the index). The callback must not call the store (INVALID_ARG).
 * model->dim is ignored; a template whose stored size disagrees with its dim
 * gives CORRUPT. */
argus_err argus_store_template_foreach(argus_store *s,
                                       const argus_store_model *model,
                                       argus_store_id person_id,
                                       argus_store_template_fn fn, void *user,
                                       argus_store_error *err);
/* Number of templates of model (name, version) (all models: model NULL). */
argus_err argus_store_template_count(argus_store *s,
                                     const argus_store_model *model,
                                     int64_t *count, argus_store_error *err);
/* Deletes every template of model (name, version), e.g. after a reindex to a
 * new model. Audited. `deleted` may be NULL. */
argus_err argus_store_template_delete_model(argus_store *s,
                                            const argus_store_model *model,
                                            int64_t *deleted,
                                            argus_store_error *err);

/* ---- reindex ------------------------------------------------------------ */

/* One photo to re-embed, with its crop bytes. */
typedef struct argus_store_crop {
  argus_store_id photo_id;
  argus_store_id person_id;
  char sha256[ARGUS_STORE_SHA256_HEX];
  float quality;
  void *data; /* JPEG bytes; NULL when status != OK */
  size_t size;
  argus_err status; /* OK, NOT_FOUND (file missing), CHECKSUM (damaged) */
} argus_store_crop;

/* Fetches the next batch of photos to re-embed for `model`: photos with id >
 * after_id, ordered by id, at most `max` (1..4096) — when only_missing, only
 * photos without a template of (model name, version), so that an interrupted
 * reindex resumes where it stopped. Crop bytes are read and checked; a bad
 * file is reported in its item's status, not as an error. One audit row
 * ("crop.read") for the batch. *n == 0 means done. Free with
 * argus_store_crops_free. */
argus_err argus_store_reindex_fetch(argus_store *s,
                                    const argus_store_model *model,
                                    int only_missing, argus_store_id after_id,
                                    int max, argus_store_crop **out, int *n,
                                    argus_store_error *err);
void argus_store_crops_free(argus_store_crop *c, int n);

typedef struct argus_store_template_in {
  argus_store_id photo_id;
  const float *vector; /* model->dim floats, borrowed */
} argus_store_template_in;

/* For each item, replaces the photo's template of (model name, version) by
 * the new vector (inserting when missing), all in one transaction. Audited
 * ("template.replace"). Errors: INVALID_ARG (bad vector, dim), NOT_FOUND (a
 * photo id does not exist; nothing is changed). */
argus_err argus_store_template_replace(argus_store *s,
                                       const argus_store_model *model,
                                       const argus_store_template_in *items,
                                       int n, argus_store_error *err);

/* ---- cameras ------------------------------------------------------------ */

typedef struct argus_store_camera {
  argus_store_id id;
  char name[ARGUS_STORE_NAME_MAX];
  char url[ARGUS_STORE_TEXT_MAX];      /* may hold credentials: print it through
                                          argus_store_url_redact */
  char settings[ARGUS_STORE_JSON_MAX]; /* a JSON object */
  int enabled;
  char created[ARGUS_STORE_TIME_MAX];
  char updated[ARGUS_STORE_TIME_MAX];
} argus_store_camera;

/* settings: NULL ("{}") or a JSON object. Errors: INVALID_ARG ("camera 'x'
 * already exists", "settings: expected a JSON object"). */
argus_err argus_store_camera_add(argus_store *s, const char *name,
                                 const char *url, const char *settings,
                                 int enabled, argus_store_id *out_id,
                                 argus_store_error *err);
argus_err argus_store_camera_list(argus_store *s, argus_store_camera **out,
                                  size_t *n, argus_store_error *err);
argus_err argus_store_camera_get(argus_store *s, const char *name,
                                 argus_store_camera *out,
                                 argus_store_error *err);
/* Alerts of the camera keep its name but lose the link. Errors: NOT_FOUND. */
/* Changes a camera: url and settings (NULL: unchanged; settings as
 * argus_store_camera_add), enabled (-1: unchanged, 0, 1). Audited
 * ("camera.update"; the URL's password is never written to the audit
 * log). Errors: NOT_FOUND, INVALID_ARG. */
argus_err argus_store_camera_update(argus_store *s, const char *name,
                                   const char *url, const char *settings,
                                   int enabled, argus_store_error *err);
argus_err argus_store_camera_remove(argus_store *s, const char *name,
                                    argus_store_error *err);

/* Copies url into buf with any password replaced by "***"
 * ("rtsp://admin:***@10.0.0.5/stream"). Always NUL-terminates (size > 0). */
void argus_store_url_redact(const char *url, char *buf, size_t size);

/* A video source to watch: a stored camera, or a source given directly. */
typedef struct argus_store_camera_source {
  argus_store_id camera_id; /* 0: a source given directly (not stored) */
  /* The stored name; for a direct source its label, or else its URL
   * through argus_store_url_redact, made valid UTF-8 (argus_utf8_sanitize:
   * alerts store it). */
  char name[ARGUS_STORE_NAME_MAX];
  char url[ARGUS_STORE_TEXT_MAX]; /* may hold credentials */
  double fps; /* "fps" of the settings, in (0, 1000]; 0: not set */
  char settings[ARGUS_STORE_JSON_MAX]; /* the JSON object; "{}" if direct */
  int enabled; /* the stored camera's flag; 1 for a direct source */
  int rtsp_udp; /* "rtsp_transport" of the settings: 0 "tcp", 1 "udp"; -1:
                   not set, or a direct source */
} argus_store_camera_source;

/* 1 when s looks like a video source rather than a camera name: it holds
 * "://", starts with "/dev/video" or "v4l2:", or names an existing file. */
int argus_store_looks_like_url(const char *s);

/* The "fps" member of a camera's settings (a JSON object, read with cJSON)
 * into *fps: 0 when settings is NULL or "" or has no "fps" (or null).
 * `name` (may be NULL) is for messages. Errors: INVALID_ARG ("fps" is not a
 * number in (0, 1000]; fps NULL), CORRUPT (not a JSON object). */
argus_err argus_store_camera_settings_fps(const char *name,
                                          const char *settings, double *fps,
                                          argus_store_error *err);

/* A camera's settings as the schema of argus_store_camera_settings_parse
 * reads them. */
typedef struct argus_store_camera_settings {
  double fps;   /* "fps": analysed frames per second, (0, 1000]; 0: not set */
  int rtsp_udp; /* "rtsp_transport": "tcp" 0, "udp" 1; -1: not set (the
                   video module's default, TCP) */
} argus_store_camera_settings;

/* Checks a camera's settings against the documented schema and reads them
 * into *out. settings: NULL, "" or a JSON object (strict RFC 8259, as
 * argus_json_validate) whose every member is known:
 *   "fps"            a number in (0, 1000]
 *   "rtsp_transport" "tcp" or "udp"
 * A member whose value is null counts as not set; a member given twice, an
 * unknown member, a value of the wrong type or out of range is refused with
 * the member named ("camera 'x': settings: \"fps\" must be a number in
 * (0, 1000], not a string"). `name` (may be NULL) is for messages. This is
 * what `argus camera add` accepts; argus_store_camera_add itself only
 * checks that settings is a JSON object. Errors: INVALID_ARG (out NULL, a
 * refused member, not a JSON object, invalid JSON). */
argus_err argus_store_camera_settings_parse(const char *name,
                                            const char *settings,
                                            argus_store_camera_settings *out,
                                            argus_store_error *err);

/* Resolves the cameras to watch. n == 0: every enabled stored camera, in
 * the order of argus_store_camera_list. Otherwise names[0..n) (borrowed),
 * in that order: a stored camera's name gives that camera, also when it is
 * disabled (`enabled` says so); anything else that argus_store_looks_like_url
 * is a direct source, named labels[i] when labels (may be NULL) has a
 * non-empty one there. No limit on the number of cameras. On success *out
 * (free with argus_store_free) holds *nout >= 1 sources; on error *out is
 * NULL and *nout 0. Errors: INVALID_ARG (NULL out/nout, names NULL with
 * n > 0, an empty name; a stored camera whose settings have a bad "fps"
 * or "rtsp_transport": "camera 'x': settings: ..."), NOT_FOUND ("no camera
 * given and no enabled camera stored"; "'x' is neither a stored camera nor
 * a URL or an existing file"), LIMIT ("URL too long":
 * ARGUS_STORE_TEXT_MAX), CORRUPT (stored settings not a JSON object),
 * NOMEM, the store's errors reading cameras. */
argus_err argus_store_camera_resolve(argus_store *s, const char *const *names,
                                     const char *const *labels, size_t n,
                                     argus_store_camera_source **out,
                                     size_t *nout, argus_store_error *err);

/* ---- alerts and decisions ----------------------------------------------- */

typedef enum argus_alert_status {
  ARGUS_ALERT_PENDING = 0,
  ARGUS_ALERT_CONFIRMED = 1,
  ARGUS_ALERT_REJECTED = 2,
} argus_alert_status;

/* "pending", "confirmed", "rejected"; "unknown" otherwise. */
const char *argus_alert_status_name(argus_alert_status st);
/* Parses a status name. Errors: INVALID_ARG. */
argus_err argus_alert_status_parse(const char *name, argus_alert_status *out);

typedef struct argus_store_alert_in {
  argus_store_id camera_id; /* 0: none (a URL given on the command line) */
  const char *camera;       /* camera name or source, required */
  const char *time;         /* NULL: now; else RFC 3339 UTC as made by
                               argus_store_now */
  double media_time;        /* seconds in the camera's stream */
  int64_t track_id;
  argus_store_id watchlist_id; /* required, must exist */
  argus_store_id person_id;    /* required, must exist */
  double score;
  const void *crop; /* JPEG face crop, NULL/0 for none */
  size_t crop_size;
  const void *thumb; /* JPEG frame thumbnail, NULL/0 for none */
  size_t thumb_size;
  double threshold;       /* the watchlist's threshold it cleared (NAN:
                             unknown) */
  argus_store_id photo_id; /* the enrolled photo whose template matched
                              best (0: unknown) */
  double track_start;      /* media time the track was first seen (NAN:
                              unknown) */
  const char *event_id; /* NULL: none; else the id of the event that raised
                           the alert (a name, as ARGUS_STORE_NAME_MAX):
                           an alert is stored once per event id, so a
                           retried insert cannot store it twice */
  /* ---- verdict feedback (migration 8) ---- */
  const float *probe;      /* NULL: none; else the face's template (probe_dim
                              floats), stored with the alert (through the
                              store's vector sealing) and copied into the
                              person's negative examples when the alert is
                              rejected */
  int probe_dim;
  const char *probe_model; /* the probe's model id "name@version" */
  int negative;            /* 1: the matcher found the probe closer to one of
                              the person's negative examples (watchlist
                              setting "mark"): the alert is stored marked,
                              with the nearest negative and its score */
  /* ---- end verdict feedback ---- */
} argus_store_alert_in;

/* The newest stored alert of person_id on `camera` whose capture time
 * (RFC 3339, as argus_store_alert_in.time) and media time are both within
 * `window` seconds of the given ones, other than the alert of event id
 * `except_event` (NULL: none): its id in *id, 0 when there is none (a
 * store sink's cooldown across matchers). Errors: INVALID_ARG, IO. */
argus_err argus_store_alert_near(argus_store *s, const char *camera,
                                 argus_store_id person_id, const char *time,
                                 double media_time, double window,
                                 const char *except_event, argus_store_id *id,
                                 argus_store_error *err);

typedef struct argus_store_alert {
  argus_store_id id;
  argus_store_id camera_id; /* 0 when the camera was removed / none */
  char camera[ARGUS_STORE_NAME_MAX];
  char time[ARGUS_STORE_TIME_MAX];
  double media_time;
  int64_t track_id;
  argus_store_id watchlist_id; /* 0 when removed since */
  char watchlist[ARGUS_STORE_NAME_MAX];
  argus_store_id person_id; /* 0 when removed since */
  char person[ARGUS_STORE_NAME_MAX];
  double score;
  char crop_sha256[ARGUS_STORE_SHA256_HEX]; /* "" when none */
  char thumb_sha256[ARGUS_STORE_SHA256_HEX];
  argus_alert_status status;
  double threshold;         /* NAN when not recorded */
  argus_store_id photo_id;  /* 0 when unknown or removed since */
  double track_start;       /* NAN when not recorded */
  /* ---- verdict feedback (migration 8) ---- */
  argus_store_id negative_id; /* > 0: marked, nearest negative example */
  double negative_score;      /* its cosine with the probe (NAN: unmarked) */
  int has_probe;              /* the probe template is stored with it */
  int confirmations;          /* "confirmed" decisions recorded so far */
  int four_eyes;              /* its watchlist needs two confirmations */
  /* ---- end verdict feedback ---- */
} argus_store_alert;

/* Stores an alert with its crop and thumbnail files, in one transaction.
 * Audited ("alert.insert"). When a->event_id names an alert stored
 * already, nothing is written and *out_id receives that alert's id
 * (idempotent: the way to retry an insert whose outcome is unknown).
 * Errors: INVALID_ARG, NOT_FOUND (watchlist, person or camera id), IO
 * ("database is locked": another process held the write lock beyond the
 * busy timeout; retrying later can succeed). */
argus_err argus_store_alert_insert(argus_store *s,
                                   const argus_store_alert_in *a,
                                   argus_store_id *out_id,
                                   argus_store_error *err);

typedef struct argus_store_alert_filter {
  argus_store_id before_id; /* 0: newest; else only ids < before_id (paging) */
  size_t limit;             /* 0: 100 */
  int status;               /* -1: any; else an argus_alert_status */
  const char *camera;       /* NULL: any */
  const char *watchlist;    /* NULL: any */
  const char *person;       /* NULL: any; the person's name at alert time */
  const char *since;        /* NULL: any; else RFC 3339, alerts at or after */
  const char *until;        /* NULL: any; else RFC 3339, alerts before */
} argus_store_alert_filter;

/* Alerts newest first. `filter` may be NULL (the 100 newest); its strings
 * are borrowed. Errors: INVALID_ARG (bad status, a name too long, a time
 * that is not RFC 3339). */
argus_err argus_store_alert_list(argus_store *s,
                                 const argus_store_alert_filter *filter,
                                 argus_store_alert **out, size_t *n,
                                 argus_store_error *err);
argus_err argus_store_alert_get(argus_store *s, argus_store_id id,
                                argus_store_alert *out, argus_store_error *err);
/* Errors: NOT_FOUND, INVALID_ARG. Audited. */
argus_err argus_store_alert_set_status(argus_store *s, argus_store_id id,
                                       argus_alert_status status,
                                       argus_store_error *err);
/* Records an operator's decision (CONFIRMED or REJECTED) with an optional
 * comment and sets the alert's status to it, in one transaction. Audited.
 * `operator_name` is required. The first decision wins: an alert that is no
 * longer pending is refused in the same write transaction (so of two
 * concurrent deciders exactly one succeeds) with ARGUS_E_INVALID_ARG and a
 * message saying who decided what and when. Errors: NOT_FOUND, INVALID_ARG.
 */
argus_err argus_store_decision_add(argus_store *s, argus_store_id alert_id,
                                   const char *operator_name,
                                   argus_alert_status decision,
                                   const char *comment, argus_store_id *out_id,
                                   argus_store_error *err);
/* An operator's decision on an alert. */
typedef struct argus_store_decision {
  argus_store_id id;
  argus_store_id alert_id;
  char operator_name[ARGUS_STORE_NAME_MAX];
  argus_alert_status decision;        /* CONFIRMED or REJECTED */
  char comment[ARGUS_STORE_TEXT_MAX]; /* "" when none */
  char time[ARGUS_STORE_TIME_MAX];
} argus_store_decision;

/* The decisions on one alert, oldest first, in *out (freed with
 * argus_store_free; NULL when there are none). Not audited (no biometric
 * data). Errors: INVALID_ARG, NOT_FOUND (no such alert), NOMEM. */
argus_err argus_store_decision_list(argus_store *s, argus_store_id alert_id,
                                    argus_store_decision **out, size_t *n,
                                    argus_store_error *err);
/* Retention: deletes alerts older than `time` (RFC 3339), with their
 * decisions and unreferenced crop files. Audited. `deleted` may be NULL. */
argus_err argus_store_alert_purge_before(argus_store *s, const char *time,
                                         int64_t *deleted,
                                         argus_store_error *err);
/* Counts for monitoring, in one read snapshot: alerts[st] = alerts whose
 * status is st (argus_alert_status: pending, confirmed, rejected);
 * decisions[st] = decisions recorded as st ([0] stays 0). Either may be
 * NULL (not both). One grouped query each (a scan of the table). Not
 * audited. Errors: INVALID_ARG, the database's. */
argus_err argus_store_alert_counts(argus_store *s, int64_t alerts[3],
                                   int64_t decisions[3],
                                   argus_store_error *err);

/* ---- verdict feedback (migration 8, src/store/verdict.c) -----------------
 * Operators' verdicts feed back into matching (docs/alerts.md): a rejected
 * alert's probe template becomes a negative example of its person; a
 * watchlist may require two different operators' confirmations
 * ("four-eyes"). */

/* Sets a watchlist's verdict settings: four_eyes (-1: unchanged, 0, 1),
 * negatives (NULL: unchanged; "off", "suppress", "mark"). One audited
 * transaction ("watchlist.set_verdicts"; a running matcher follows it
 * through the change feed). Errors: NOT_FOUND, INVALID_ARG (a bad value,
 * an expired watchlist). */
argus_err argus_store_watchlist_set_verdicts(argus_store *s, const char *name,
                                             int four_eyes,
                                             const char *negatives,
                                             argus_store_error *err);

/* What argus_store_decision_add_ex did. */
typedef struct argus_store_verdict {
  argus_store_id decision_id;
  argus_alert_status status; /* the alert's status afterwards: PENDING when
                                a four-eyes alert has one confirmation */
  int confirmations;         /* distinct operators' confirmations so far */
  int needed;                /* confirmations needed (1, or 2: four-eyes) */
  argus_store_id negative_id; /* > 0: the negative example a rejection
                                 stored */
} argus_store_verdict;

/* As argus_store_decision_add, with the four-eyes rule of the alert's
 * watchlist: there a first confirmation is stored and the alert stays
 * pending ("1 of 2"); a confirmation by a second, different operator
 * confirms it; the same operator confirming again is refused (INVALID_ARG,
 * saying so); a rejection closes it. A rejection of an alert that carries
 * its probe template also stores that template as a negative example of
 * the person (audited "person.negative_add", which the change feed
 * carries). All in the one write transaction. out may be NULL. */
argus_err argus_store_decision_add_ex(argus_store *s, argus_store_id alert_id,
                                      const char *operator_name,
                                      argus_alert_status decision,
                                      const char *comment,
                                      argus_store_verdict *out,
                                      argus_store_error *err);

/* A negative example: the probe of a rejected alert of a person. */
typedef struct argus_store_negative {
  argus_store_id id, person_id, alert_id; /* alert_id 0 when purged since */
  argus_store_id watchlist_id;
  int dim;
  const float *vector; /* dim floats, valid during the callback */
  const char *created;
} argus_store_negative;
/* Return non-zero to stop. */
typedef int (*argus_store_negative_fn)(void *user,
                                       const argus_store_negative *n);
/* Calls fn for each negative example of `model` (name and version; never
 * those of another model), of person_id only when > 0. Audited
 * ("negative.read", with the count) in the same transaction. Errors:
 * INVALID_ARG, CORRUPT, the database's. */
argus_err argus_store_negative_foreach(argus_store *s,
                                       const argus_store_model *model,
                                       argus_store_id person_id,
                                       argus_store_negative_fn fn, void *user,
                                       argus_store_error *err);

/* Records that a match was not alerted because its probe was closer to a
 * negative example of the person (watchlist setting "suppress"): an audit
 * row "alert.suppressed" on the watchlist with the person, camera, score,
 * the nearest negative and its score (computed here from the stored
 * negatives of a->probe_model). No alert is stored. a as for
 * argus_store_alert_insert (crop and thumbnail ignored; probe required).
 * Errors: INVALID_ARG, NOT_FOUND (person), the database's. */
argus_err argus_store_alert_suppressed(argus_store *s,
                                       const argus_store_alert_in *a,
                                       argus_store_error *err);

typedef struct argus_store_verdict_stats {
  int64_t alerts, pending, confirmed, rejected;
  int64_t awaiting_second; /* pending with one confirmation (four-eyes) */
  double threshold;        /* the threshold the rates below are at (NAN:
                              every alert counted) */
  int64_t confirmed_at, rejected_at; /* decided alerts scoring >= it */
  double far; /* rejected_at / (confirmed_at + rejected_at); NAN: none */
  int64_t negatives;    /* negative examples of its persons */
  int64_t suppressions; /* matches not alerted because of one */
  int64_t marked;       /* alerts stored marked by one */
  /* From the verdicts: the lowest score t of a decided alert such that the
   * rejected share among decided alerts scoring >= t is <= target_far
   * (NAN: none qualifies, or no decided alerts); `decided` alerts were
   * considered. */
  double target_far, suggested;
  int64_t decided;
} argus_store_verdict_stats;

/* Verdict statistics of watchlist `name` at `threshold` (NAN: every
 * alert), with a suggestion for `target_far` (0 < target_far < 1; NAN:
 * none). One read snapshot, not audited. Errors: NOT_FOUND, INVALID_ARG. */
argus_err argus_store_verdict_stats_get(argus_store *s, const char *name,
                                        double threshold, double target_far,
                                        argus_store_verdict_stats *out,
                                        argus_store_error *err);
/* ---- end verdict feedback ------------------------------------------------ */

/* ---- enrolment change feed ------------------------------------------------ */

/* A change to watchlists, persons or templates, as audited. */
typedef struct argus_store_change {
  argus_store_id seq;     /* the audit row's id: increasing */
  char action[64];        /* "person.add", "watchlist.delete", ... */
  char object_type[32];   /* "person", "watchlist", "template" */
  argus_store_id object_id;
} argus_store_change;

/* The changes audited after audit id `after_id` (0: all), oldest first, at
 * most `limit` (0: 1000); *out is malloc'd (argus_store_free). *last_id
 * (may be NULL) receives the sequence to continue from: the newest audit id
 * when the page was not full (rows of other kinds included), else the last
 * change returned. Not audited itself (it reads no biometric data).
 * Errors: INVALID_ARG, IO, NOMEM. */
argus_err argus_store_changes_since(argus_store *s, argus_store_id after_id,
                                    size_t limit, argus_store_change **out,
                                    size_t *n, argus_store_id *last_id,
                                    argus_store_error *err);

/* ---- unmatched faces (opt-in, with retention) --------------------------- */

/* A searched face that matched no watchlist. Stored only when an operator
 * asked for it, for `retention` seconds; never with a template. */
typedef struct argus_store_unmatched_in {
  argus_store_id camera_id; /* 0: none */
  const char *camera;       /* camera name or source, required */
  const char *time;         /* NULL: now; else RFC 3339 */
  double media_time;
  int64_t track_id;
  double quality;    /* [0, 1] */
  double best_score; /* best similarity found (below the thresholds) */
  const void *crop;  /* JPEG, NULL/0 for none */
  size_t crop_size;
  const void *thumb; /* JPEG, NULL/0 for none */
  size_t thumb_size;
  double retention; /* seconds from now, > 0 */
} argus_store_unmatched_in;

/* Stores an unmatched face with its crop files, in one transaction. Audited
 * ("unmatched.insert"). Errors: INVALID_ARG (bad input, retention <= 0),
 * NOT_FOUND (camera id), LIMIT (crop too large). */
argus_err argus_store_unmatched_insert(argus_store *s,
                                       const argus_store_unmatched_in *u,
                                       argus_store_id *out_id,
                                       argus_store_error *err);
/* Deletes unmatched faces whose retention has passed at `now` (RFC 3339;
 * NULL: the current time) with their unreferenced crop files. Audited when
 * it deletes anything. `deleted` may be NULL. */
argus_err argus_store_unmatched_purge(argus_store *s, const char *now,
                                      int64_t *deleted, argus_store_error *err);
/* Number of unmatched faces stored. */
argus_err argus_store_unmatched_count(argus_store *s, int64_t *count,
                                      argus_store_error *err);

/* ---- audit log ---------------------------------------------------------- */

typedef struct argus_store_audit {
  argus_store_id id;
  char time[ARGUS_STORE_TIME_MAX];
  char actor[ARGUS_STORE_NAME_MAX];
  char action[ARGUS_STORE_NAME_MAX]; /* "person.add", "template.read", ... */
  char object_type[ARGUS_STORE_NAME_MAX]; /* "person", "watchlist", ... */
  argus_store_id object_id;               /* 0 when none */
  char detail[ARGUS_STORE_JSON_MAX];      /* JSON object */
} argus_store_audit;

/* Appends an audit row for an action done outside the store (a login, an
 * export), in its own transaction. detail: NULL ("{}") or a JSON object;
 * object_type NULL for none. */
argus_err argus_store_audit_append(argus_store *s, const char *action,
                                   const char *object_type,
                                   argus_store_id object_id, const char *detail,
                                   argus_store_error *err);
/* The newest `limit` rows (0: 100) with id < before_id (0: from the
 * newest), newest first. */
/* Which audit rows argus_store_audit_query returns; zero-initialise. */
typedef struct argus_store_audit_filter {
  argus_store_id before_id; /* 0: from the newest; else ids < before_id */
  size_t limit;             /* 0: 100; at most 10000 */
  const char *actor;        /* NULL: any; exact */
  const char *action;       /* NULL: any; exact, or a prefix ending in '.'
                               ("person." matches every person action) */
  const char *object_type;  /* NULL: any */
  argus_store_id object_id; /* 0: any */
  const char *since, *until; /* NULL: any; RFC 3339 (at or after; before) */
} argus_store_audit_filter;
/* Audit rows newest first, filtered. Errors: INVALID_ARG (a bad time or
 * name). */
argus_err argus_store_audit_query(argus_store *s,
                                  const argus_store_audit_filter *f,
                                  argus_store_audit **out, size_t *n,
                                  argus_store_error *err);
argus_err argus_store_audit_list(argus_store *s, argus_store_id before_id,
                                 size_t limit, argus_store_audit **out,
                                 size_t *n, argus_store_error *err);

/* ---- tamper-evident audit chain (docs/lawful-use.md) ----------------------
 * Every audit row carries the SHA-256 of its predecessor (prev_sha256; 64
 * zeros for the first row) and of its own canonical content (row_sha256),
 * so that the rows form a hash chain. The canonical content of a row is the
 * concatenation of nine netstrings, "<decimal byte length>:<bytes>,", of:
 * "argus.audit.v1", id (decimal), time, actor, action, object_type,
 * object_id (decimal; the empty string when NULL), detail (the stored JSON
 * text, byte for byte) and prev_sha256 (64 lower-case hex digits);
 * row_sha256 is the lower-case hex SHA-256 of those bytes. Rows written
 * before schema version 5 were chained, in id order, by migration 5.
 * Ids come from the database and are never reused, so a committed row's id
 * follows its predecessor's by 1: a gap is a deleted row. */

/* 64 zeros: the prev_sha256 of the first row of the chain. */
#define ARGUS_STORE_AUDIT_GENESIS                                              \
  "0000000000000000000000000000000000000000000000000000000000000000"

/* What argus_store_audit_verify found wrong with the first bad row. */
typedef enum argus_store_audit_fault {
  ARGUS_AUDIT_INTACT = 0,   /* every row checked out */
  ARGUS_AUDIT_ALTERED = 1,  /* the row's content no longer matches its hash */
  ARGUS_AUDIT_DELETED = 2,  /* rows before this one are missing (an id gap) */
  ARGUS_AUDIT_INSERTED = 3, /* the row was not written by argus: it has no
                               hashes, or the chain goes on as if it were
                               absent, or it is a last row that does not
                               follow from its predecessor */
  ARGUS_AUDIT_BROKEN = 4,   /* the row does not follow from its predecessor
                               (its predecessor was rewritten with a new
                               hash, or this row was replaced) */
  ARGUS_AUDIT_ANCHOR = 5,   /* the anchored row is gone or its hash differs
                               from the anchor: history up to it was
                               rewritten */
} argus_store_audit_fault;
/* "intact", "altered", "deleted", "inserted", "broken", "anchor". */
const char *argus_store_audit_fault_name(argus_store_audit_fault f);

typedef struct argus_store_audit_check {
  int64_t rows;                  /* rows checked */
  argus_store_audit_fault fault; /* INTACT when the chain holds */
  argus_store_id bad_id;         /* the first offending row; 0 when intact */
  argus_store_id good_id;        /* the last row that checked out (0: none) */
  argus_store_id head_id;        /* when intact: the newest row (0: empty) */
  char head_sha256[ARGUS_STORE_SHA256_HEX]; /* its row_sha256 ("" if none) */
  char msg[256]; /* one sentence naming the row and the kind of fault */
} argus_store_audit_check;

/* Walks the whole audit log in id order and recomputes every row's hash and
 * link. Stops at the first offending row, described in *out (which is
 * always filled). anchor_id > 0 with anchor_sha256 (64 hex digits, from a
 * copy of the head kept outside, see argus_store_audit_anchor_log) also
 * checks that row anchor_id still exists with exactly that hash; 0 and NULL
 * for none. One SELECT, so a consistent snapshot (writers go on
 * meanwhile). Returns ARGUS_OK when the walk ran, whatever it found (see
 * out->fault); errors: INVALID_ARG (out NULL, a bad anchor), the
 * database's. Reads only: a read_only handle stays read-only. Cost: one
 * SHA-256 and one row read per row: about 5 us a row (0.5 s for 100,000
 * rows on a 2-core test machine). */
argus_err argus_store_audit_verify(argus_store *s, argus_store_id anchor_id,
                                   const char *anchor_sha256,
                                   argus_store_audit_check *out,
                                   argus_store_error *err);

/* The newest audit row's id and stored row_sha256 (not recomputed): the
 * value to keep outside as an anchor. *id = 0 and "" when the log is empty.
 * hash: ARGUS_STORE_SHA256_HEX bytes. Errors: INVALID_ARG, the database's. */
argus_err argus_store_audit_head(argus_store *s, argus_store_id *id,
                                 char hash[ARGUS_STORE_SHA256_HEX],
                                 argus_store_error *err);

/* Writes "audit head id=N sha256=H" (argus_store_audit_head) to argus's
 * logger (module "audit") at `level`, so that a copy of the log kept
 * elsewhere anchors the chain: rows up to N can no longer be rewritten
 * unnoticed (argus audit verify --anchor N:H). Errors: as
 * argus_store_audit_head (nothing is logged then). */
argus_err argus_store_audit_anchor_log(argus_store *s, argus_log_level level,
                                       argus_store_error *err);

/* One row of the chain as stored, for an export. Every pointer is borrowed
 * and valid only during the callback. */
typedef struct argus_store_audit_link {
  argus_store_id id;
  const char *time, *actor, *action, *object_type;
  int has_object_id; /* 0: object_id is NULL in the row */
  argus_store_id object_id;
  const char *detail;      /* the stored text, byte for byte */
  const char *prev_sha256; /* NULL when the row has none (not argus's) */
  const char *row_sha256;  /* NULL when the row has none */
} argus_store_audit_link;
/* Return non-zero to stop. */
typedef int (*argus_store_audit_link_fn)(void *user,
                                         const argus_store_audit_link *l);
/* Calls fn for each audit row with id > after_id (0: all), oldest first,
 * in one read transaction, with the row's hashes as stored (nothing is
 * checked: that is the reader's job, see argus_store_audit_verify and the
 * canonical form above). The callback must not use this handle. Errors:
 * INVALID_ARG (fn NULL; called from a store callback), the database's. */
argus_err argus_store_audit_chain_foreach(argus_store *s,
                                          argus_store_id after_id,
                                          argus_store_audit_link_fn fn,
                                          void *user, argus_store_error *err);

/* ---- retention -------------------------------------------------------------
 * Each class of stored data may have a lifetime; a purge (periodic inside
 * `argus serve` and `argus watch`, or `argus purge`) deletes what is older
 * than it at argus_store_clock_ns(). A class without a lifetime is kept
 * until removed by hand. The purge leaves an audit tombstone
 * ("retention.purge": the class counts and cut-off times, nothing about
 * faces or persons). docs/lawful-use.md, "Retention". */
typedef enum argus_retention_class {
  ARGUS_RETAIN_ALERTS = 0,    /* alerts with their crops (and decisions) */
  ARGUS_RETAIN_DECISIONS = 1, /* operators' decisions (the alert stays) */
  ARGUS_RETAIN_UNMATCHED = 2, /* kept unmatched faces with their crops */
  ARGUS_RETAIN_AUDIT = 3,     /* audit rows (the newest always stays) */
  ARGUS_RETAIN_EXPORTS = 4,   /* files argus exported (subject, audit) */
  ARGUS_RETAIN_EVENTS = 5,    /* the live-event replay log */
  ARGUS_RETAIN_NEGATIVES = 6, /* negative examples: the templates of
                                 rejected alerts (look-alikes, not the
                                 wanted person) */
  ARGUS_RETAIN_N
} argus_retention_class;
/* "alerts", "decisions", "unmatched", "audit", "exports", "events",
 * "negatives"; "unknown" otherwise. */
const char *argus_retention_class_name(argus_retention_class c);
/* Errors: INVALID_ARG ("unknown data class 'x' (alerts, ...)"). */
argus_err argus_retention_class_parse(const char *name,
                                      argus_retention_class *out);

/* Shortest and longest lifetime a class accepts, in seconds (1 minute,
 * 100 years). */
#define ARGUS_RETENTION_MIN_S 60
#define ARGUS_RETENTION_MAX_S ((int64_t)100 * 366 * 86400)

typedef struct argus_store_retention {
  int64_t seconds[ARGUS_RETAIN_N]; /* 0: kept until removed by hand */
  char updated[ARGUS_RETAIN_N][ARGUS_STORE_TIME_MAX]; /* "" when unset */
} argus_store_retention;

/* The lifetimes as configured. Errors: the database's. */
argus_err argus_store_retention_get(argus_store *s, argus_store_retention *out,
                                    argus_store_error *err);
/* Sets the lifetime of class `c`: seconds in [ARGUS_RETENTION_MIN_S,
 * ARGUS_RETENTION_MAX_S], or 0 to keep the class until removed by hand.
 * Audited ("retention.set": class, old and new seconds). Errors:
 * INVALID_ARG, the database's. */
argus_err argus_store_retention_set(argus_store *s, argus_retention_class c,
                                    int64_t seconds, argus_store_error *err);

/* One thing a purge removes (or, in a dry run, would remove). Borrowed,
 * valid during the callback. */
typedef struct argus_store_purge_item {
  argus_retention_class cls;
  argus_store_id id;   /* the row's id (audit: the last row of the range) */
  const char *time;    /* when it was written */
  const char *what;    /* a short description: "camera=gate person=..." for
                          alerts, the path for exports, "rows 1..40" for the
                          audit log */
} argus_store_purge_item;
/* Return non-zero to stop listing (the purge itself goes on). */
typedef int (*argus_store_purge_fn)(void *user,
                                    const argus_store_purge_item *item);

typedef struct argus_store_purge_report {
  char now[ARGUS_STORE_TIME_MAX]; /* the clock the purge judged by */
  char before[ARGUS_RETAIN_N][ARGUS_STORE_TIME_MAX]; /* cut-off per class
                                                       ("" : no lifetime) */
  int64_t count[ARGUS_RETAIN_N]; /* rows (exports: exports) removed */
  int64_t expired_unmatched; /* of count[UNMATCHED]: past their own expiry */
  int64_t files;             /* exported files removed (crop files go after
                                the commit, as with every deletion) */
  argus_store_id audit_base_id; /* the audit log now starts after this row
                                   (0: at the genesis) */
  argus_store_id tombstone_id;  /* the "retention.purge" row (0: none) */
} argus_store_purge_report;

/* Deletes everything older than its class's lifetime, in one durable write
 * transaction: alerts (their decisions go with them) and kept unmatched
 * faces (also those past their own expiry) with their crop files (removed
 * after the commit unless another row still refers to them: no file
 * stays behind), decisions, live-event log rows, exported files (removed
 * in the transaction; a file already gone counts as removed) and audit
 * rows, always keeping the newest audit row; the chain then starts after
 * the last purged row (its hash is kept as the base: argus_store_audit_verify
 * checks the first remaining row against it). Appends the tombstone
 * "retention.purge" when anything went. dry_run: changes nothing and
 * reports what would go. fn (may be NULL) is called for each item, in a
 * dry run and a real one. `out` may be NULL. Errors: INVALID_ARG, NOMEM,
 * the database's (nothing is deleted then). */
argus_err argus_store_purge(argus_store *s, int dry_run,
                            argus_store_purge_fn fn, void *user,
                            argus_store_purge_report *out,
                            argus_store_error *err);

/* Records a file or folder argus wrote outside the store (kind "subject":
 * a folder from argus_store_person_export's caller; "audit": an audit
 * export), so that the exports' lifetime can remove it. `path` is made
 * absolute. files: the number of files written. Audited ("export.record":
 * kind, path, files). Errors: INVALID_ARG, the database's. */
argus_err argus_store_export_record(argus_store *s, const char *kind,
                                    const char *path, int64_t files,
                                    argus_store_error *err);

/* Where the audit chain starts: the last purged row's id and hash (0 and
 * the genesis when nothing was purged). Errors: the database's. */
argus_err argus_store_audit_base(argus_store *s, argus_store_id *id,
                                 char sha256[ARGUS_STORE_SHA256_HEX],
                                 argus_store_error *err);

/* ---- accounts: users, sessions, API tokens ------------------------------
 * Passwords are kept only as argon2id hashes (libsodium crypto_pwhash_str,
 * interactive limits); session and API tokens are random (32 bytes from
 * the system's CSPRNG) and kept only as their SHA-256. None of them is ever
 * written to a log or an audit detail. */

typedef enum argus_role {
  ARGUS_ROLE_ADMIN = 0,      /* users, cameras, settings */
  ARGUS_ROLE_SUPERVISOR = 1, /* watchlists, persons, enrolment */
  ARGUS_ROLE_OPERATOR = 2,   /* sees alerts, decides */
  ARGUS_ROLE_AUDITOR = 3,    /* reads the audit log */
  ARGUS_ROLE_N
} argus_role;
/* "admin", "supervisor", "operator", "auditor"; "unknown" otherwise. */
const char *argus_role_name(argus_role r);
/* Errors: INVALID_ARG ("unknown role 'x' (admin, supervisor, operator,
 * auditor)"). */
argus_err argus_role_parse(const char *name, argus_role *out);

#define ARGUS_STORE_PASSWORD_MIN 8    /* bytes */
#define ARGUS_STORE_PASSWORD_MAX 1024 /* bytes, with the NUL */
/* Session, CSRF and API token strings: base64url, with the NUL. API tokens
 * start with "argus_". */
#define ARGUS_STORE_TOKEN_MAX 64

typedef struct argus_store_user {
  argus_store_id id;
  char name[ARGUS_STORE_NAME_MAX];
  argus_role role;
  int disabled;
  char created[ARGUS_STORE_TIME_MAX];
  char updated[ARGUS_STORE_TIME_MAX];
} argus_store_user;

/* Adds a user. name: 1..127 bytes of [A-Za-z0-9._@-]; password:
 * ARGUS_STORE_PASSWORD_MIN..MAX-1 bytes (hashed here; never stored).
 * Audited ("user.add"). Errors: INVALID_ARG ("user 'x' already exists", a
 * short password), NOMEM. */
argus_err argus_store_user_add(argus_store *s, const char *name,
                               const char *password, argus_role role,
                               argus_store_id *out_id, argus_store_error *err);
/* Users ordered by name. */
argus_err argus_store_user_list(argus_store *s, argus_store_user **out,
                                size_t *n, argus_store_error *err);
/* Errors: NOT_FOUND ("no user 'x'"). */
argus_err argus_store_user_get(argus_store *s, const char *name,
                               argus_store_user *out, argus_store_error *err);
argus_err argus_store_user_get_id(argus_store *s, argus_store_id id,
                                  argus_store_user *out,
                                  argus_store_error *err);
/* Number of users, and of enabled admins (either may be NULL). */
argus_err argus_store_user_count(argus_store *s, int64_t *users,
                                 int64_t *admins, argus_store_error *err);
/* Removes a user with its sessions and tokens. The last enabled admin
 * cannot be removed (INVALID_ARG). Audited. Errors: NOT_FOUND. */
argus_err argus_store_user_remove(argus_store *s, const char *name,
                                  argus_store_error *err);
/* New password (as user_add); ends the user's sessions. Audited. */
argus_err argus_store_user_set_password(argus_store *s, const char *name,
                                        const char *password,
                                        argus_store_error *err);
/* New role; the last enabled admin keeps its role (INVALID_ARG). Audited. */
argus_err argus_store_user_set_role(argus_store *s, const char *name,
                                    argus_role role, argus_store_error *err);
/* Disables (1) or enables (0) a user; disabling ends its sessions and
 * suspends its tokens; the last enabled admin cannot be disabled. Audited.
 */
argus_err argus_store_user_set_disabled(argus_store *s, const char *name,
                                        int disabled, argus_store_error *err);
/* Several changes to a user in ONE transaction: a role (< 0: unchanged), a
 * password (NULL: unchanged; as user_add, ends the user's sessions) and
 * disabled (1), enabled (0) or unchanged (-1; disabling ends its
 * sessions). The last-admin rule holds for the result: the last enabled
 * admin cannot end up demoted or disabled (INVALID_ARG). On any error
 * nothing is changed. Audited as the single setters are (a row per
 * change). Errors: INVALID_ARG, NOT_FOUND, IO. */
argus_err argus_store_user_update(argus_store *s, const char *name, int role,
                                  const char *password, int disabled,
                                  argus_store_error *err);
/* Checks a password: *ok = 1 and *out (may be NULL) the user when `name`
 * exists, is enabled and the password matches; else *ok = 0 (an unknown
 * name costs the same hashing time as a wrong password). Not audited (the
 * caller audits logins with the address). Errors: INVALID_ARG, IO. */
argus_err argus_store_user_verify(argus_store *s, const char *name,
                                  const char *password, argus_store_user *out,
                                  int *ok, argus_store_error *err);

/* Starts a session of `user_id` from `address` (NULL: "") for `ttl`
 * seconds (> 0): writes a new random session token and CSRF token into
 * the buffers. Audited ("session.create"). Errors: NOT_FOUND (no such
 * user), INVALID_ARG. */
argus_err argus_store_session_create(argus_store *s, argus_store_id user_id,
                                     const char *address, double ttl,
                                     char token[ARGUS_STORE_TOKEN_MAX],
                                     char csrf[ARGUS_STORE_TOKEN_MAX],
                                     argus_store_error *err);
/* Looks a session token up: *ok = 1 with the user (enabled) and the
 * session's CSRF token (csrf may be NULL), or *ok = 0 (unknown, expired,
 * user disabled). Not audited; writes nothing. Errors: INVALID_ARG, IO. */
argus_err argus_store_session_check(argus_store *s, const char *token,
                                    argus_store_user *user,
                                    char csrf[ARGUS_STORE_TOKEN_MAX], int *ok,
                                    argus_store_error *err);
/* Ends a session (logout); an unknown token is OK. Audited when one
 * ended. Also deletes expired sessions. */
argus_err argus_store_session_end(argus_store *s, const char *token,
                                  argus_store_error *err);

typedef struct argus_store_token {
  argus_store_id id;
  argus_store_id user_id;
  char user[ARGUS_STORE_NAME_MAX];
  char name[ARGUS_STORE_NAME_MAX];
  char created[ARGUS_STORE_TIME_MAX];
  char expires[ARGUS_STORE_TIME_MAX]; /* "" when it does not expire */
} argus_store_token;

/* Makes an API token for `user_id`, labelled `name` (1..127 bytes),
 * expiring at `expires` (RFC 3339; NULL: never): the token ("argus_" +
 * 43 base64url characters) is written into `token` once; only its SHA-256
 * is stored. Audited ("token.create"). Errors: NOT_FOUND, INVALID_ARG. */
argus_err argus_store_token_create(argus_store *s, argus_store_id user_id,
                                   const char *name, const char *expires,
                                   char token[ARGUS_STORE_TOKEN_MAX],
                                   argus_store_id *out_id,
                                   argus_store_error *err);
/* Looks an API token up: *ok = 1 with its user (enabled), or 0 (unknown,
 * expired, revoked, user disabled). Writes nothing. */
argus_err argus_store_token_check(argus_store *s, const char *token,
                                  argus_store_user *user, int *ok,
                                  argus_store_error *err);
/* Tokens of `user_id` (0: every user's), newest first; never the token. */
argus_err argus_store_token_list(argus_store *s, argus_store_id user_id,
                                 argus_store_token **out, size_t *n,
                                 argus_store_error *err);
/* Revokes a token. Audited. Errors: NOT_FOUND. */
argus_err argus_store_token_revoke(argus_store *s, argus_store_id id,
                                   argus_store_error *err);

/* {"id", "name", "role", "disabled", "created", "updated"} */
void argus_store_user_json(const argus_store_user *u, argus_json *j);
/* {"id", "user_id", "user", "name", "created", "expires" (null: never)} */
void argus_store_token_json(const argus_store_token *t, argus_json *j);

/* ---- live event log ------------------------------------------------------
 * Every event of the API's live stream (alert raised, decision made, camera
 * status changed, watchlist changed) is appended here first; its row id is
 * the event's id on the stream, so a client that reconnects with
 * Last-Event-ID gets what it missed, in order. Not biometric (alert events
 * carry names, scores and hashes, never image bytes or templates). */

/* Appends an event: type (1..63 bytes of [a-z0-9._-]) and its JSON
 * document (an object, at most ARGUS_STORE_EVENT_MAX bytes), in its own
 * transaction; *out_id receives its id. Not audited. Errors: INVALID_ARG,
 * LIMIT, IO. */
#define ARGUS_STORE_EVENT_MAX ((size_t)64 << 10)
argus_err argus_store_event_append(argus_store *s, const char *type,
                                   const char *data, size_t size,
                                   argus_store_id *out_id,
                                   argus_store_error *err);
/* One stored event, valid during the callback. */
typedef struct argus_store_event {
  argus_store_id id;
  const char *time; /* RFC 3339 */
  const char *type;
  const char *data;
  size_t size;
} argus_store_event;
/* Return non-zero to stop. */
typedef int (*argus_store_event_fn)(void *user, const argus_store_event *ev);
/* Calls fn for the events with id > after_id, oldest first, at most
 * `limit` (0: no limit). The callback must not call the store. */
argus_err argus_store_event_foreach(argus_store *s, argus_store_id after_id,
                                    size_t limit, argus_store_event_fn fn,
                                    void *user, argus_store_error *err);
/* The newest event id (0: none). */
argus_err argus_store_event_last_id(argus_store *s, argus_store_id *out,
                                    argus_store_error *err);
/* Deletes events older than `time` (RFC 3339). `deleted` may be NULL. */
argus_err argus_store_event_purge_before(argus_store *s, const char *time,
                                         int64_t *deleted,
                                         argus_store_error *err);

/* ---- outbound webhooks ----------------------------------------------------
 * A webhook receives a POST per alert (of one watchlist, or of all), signed
 * with HMAC-SHA256 under its secret; deliveries that fail after every retry
 * become dead letters, listed until an admin retries or removes them. */

typedef struct argus_store_webhook {
  argus_store_id id;
  char url[ARGUS_STORE_TEXT_MAX];
  char secret[ARGUS_STORE_NAME_MAX];    /* never printed by argus */
  char watchlist[ARGUS_STORE_NAME_MAX]; /* "" : every watchlist */
  int enabled;
  char created[ARGUS_STORE_TIME_MAX];
} argus_store_webhook;

/* url: http:// or https://; secret: 16..127 bytes; watchlist NULL/"": all.
 * Audited (without the secret). Errors: INVALID_ARG. */
argus_err argus_store_webhook_add(argus_store *s, const char *url,
                                  const char *secret, const char *watchlist,
                                  argus_store_id *out_id,
                                  argus_store_error *err);
argus_err argus_store_webhook_list(argus_store *s, argus_store_webhook **out,
                                   size_t *n, argus_store_error *err);
/* Errors: NOT_FOUND. Audited. Its dead letters go with it. */
argus_err argus_store_webhook_remove(argus_store *s, argus_store_id id,
                                     argus_store_error *err);

typedef struct argus_store_deadletter {
  argus_store_id id;
  argus_store_id webhook_id;
  argus_store_id event_id; /* the live event it carried */
  int attempts;
  char last_error[ARGUS_STORE_TEXT_MAX];
  char time[ARGUS_STORE_TIME_MAX];
} argus_store_deadletter;

/* Records a delivery that failed for good, with its payload (the JSON body
 * that was POSTed). Errors: INVALID_ARG, IO. */
argus_err argus_store_deadletter_add(argus_store *s, argus_store_id webhook_id,
                                     argus_store_id event_id,
                                     const char *payload, int attempts,
                                     const char *last_error,
                                     argus_store_id *out_id,
                                     argus_store_error *err);
/* Dead letters, newest first (payloads not included). */
argus_err argus_store_deadletter_list(argus_store *s,
                                      argus_store_deadletter **out, size_t *n,
                                      argus_store_error *err);
/* The payload of a dead letter into *payload (malloc'd, NUL-terminated,
 * argus_store_free). Errors: NOT_FOUND. */
argus_err argus_store_deadletter_payload(argus_store *s, argus_store_id id,
                                         argus_store_deadletter *out,
                                         char **payload,
                                         argus_store_error *err);
/* Errors: NOT_FOUND. */
argus_err argus_store_deadletter_remove(argus_store *s, argus_store_id id,
                                        argus_store_error *err);
/* {"id", "url", "watchlist" (null: all), "enabled", "created"}: never the
 * secret. */
void argus_store_webhook_json(const argus_store_webhook *w, argus_json *j);
/* {"id", "webhook_id", "event_id", "attempts", "last_error", "time"} */
void argus_store_deadletter_json(const argus_store_deadletter *d,
                                 argus_json *j);

/* ---- maintenance -------------------------------------------------------- */

/* Counts of a consistency check. */
typedef struct argus_store_check_report {
  int64_t watchlists, persons, photos, templates, alerts, crop_files;
  int64_t problems;      /* total of the findings below but orphans */
  int64_t db_errors;     /* integrity_check / foreign key findings */
  int64_t missing_crops; /* referenced crop files that do not exist */
  int64_t bad_crops;     /* files whose size or hash is wrong */
  int64_t bad_templates; /* size != 4*dim, person differs from photo's */
  int64_t orphan_files;  /* crop or temp files no row refers to: left by
                            a crash, harmless to consistency, removed by
                            argus_store_gc; not counted in problems */
  char first_problem[512];
} argus_store_check_report;

/* Checks the database (backend integrity and foreign keys) and the crop
 * files against it; hashes every crop when `hash_files`. Returns OK with the
 * findings in `report` (report->problems == 0 when all is well); an error
 * only when the check itself could not run. Audited ("store.check"). */
argus_err argus_store_check(argus_store *s, int hash_files,
                            argus_store_check_report *report,
                            argus_store_error *err);

/* Removes crop files no row refers to (left by a process killed between
 * writing a crop and committing) and stale temporary files, holding the
 * write lock. `removed` may be NULL. Audited when it removes anything. */
argus_err argus_store_gc(argus_store *s, int64_t *removed,
                         argus_store_error *err);

/* ---- JSON output ---------------------------------------------------------
 * One record as one JSON object, written with the core writer into `j` as
 * a value without a key: the top-level value, or an element of the array
 * that is open in `j`. The same members in the CLI's --json output and the
 * REST API. Room and errors are the writer's: a record that does not fit
 * sets j->overflow (argus_json_finish returns 0). Records are borrowed.
 * Text the store keeps as JSON (camera settings, audit details) is copied
 * as JSON when it is valid, else written as null. */

/* {"id", "name", "threshold" (null: the model's default), "colour",
 * "active", "ack_required", "persons", "created", "updated", "purpose",
 * "legal_ref", "owner", "expires" (null: none), "expired"} */
void argus_store_watchlist_json(const argus_store_watchlist *w,
                                argus_json *j);
/* {"id", "watchlist", "name", "external_id" (null when none), "notes",
 * "photos", "templates", "created", "updated", "reason", "review_by" (null:
 * none), "review" ("none", "ok", "due", "overdue")} */
void argus_store_person_json(const argus_store_person *p, argus_json *j);
/* {"id", "name", "url" (through argus_store_url_redact: no password),
 * "settings" (the object), "enabled", "created"} */
void argus_store_camera_json(const argus_store_camera *c, argus_json *j);
/* {"id", "time", "actor", "action", "object_type", "object_id" (null when
 * none), "detail" (the object)} */
void argus_store_audit_json(const argus_store_audit *a, argus_json *j);
/* {"id", "camera", "camera_id", "time", "media_time", "track",
 * "watchlist", "watchlist_id", "person", "person_id", "score",
 * "crop_sha256", "thumb_sha256", "status", "threshold" (null: not
 * recorded), "photo_id", "track_start" (null: not recorded)}; ids of
 * removed rows and missing hashes are null. */
void argus_store_alert_json(const argus_store_alert *a, argus_json *j);
/* {"id", "alert", "operator", "decision", "comment", "time"} */
void argus_store_decision_json(const argus_store_decision *d, argus_json *j);

/* ---- subject requests: access and erasure (docs/lawful-use.md) ---------- */

/* A file an export names: an enrolled photo's crop ("photo", id = the
 * photo's) or an alert's crop or thumbnail ("alert_crop", "alert_thumb",
 * id = the alert's), by the hash it is stored under. */
typedef struct argus_store_export_file {
  char kind[16];
  argus_store_id id;
  char sha256[ARGUS_STORE_SHA256_HEX];
} argus_store_export_file;

/* Everything the store keeps about person `id`, read in one write
 * transaction that also appends the audit row "subject.export" (object
 * person id; detail: the counts, no name): *json (malloc'd, freed with
 * argus_store_free; *len bytes without the NUL) is one JSON object
 * {"format": "argus.subject.v1", "exported", "person" (as
 * argus_store_person_json), "photos" (records), "templates" (metadata and
 * the vector as an array of floats: the person's biometric data),
 * "alerts" (as argus_store_alert_json, each with its "decisions"), "audit"
 * (the rows about the person, its photos' and alerts' rows, and those
 * whose detail names its id)}; *files (may be NULL; malloc'd, argus_store_
 * free) lists the crop files to copy with it (read them with
 * argus_store_crop_read or the path of argus_store_crop_path). Limits: the
 * document is at most 256 MiB (LIMIT). Errors: NOT_FOUND ("no person with
 * id 7"), INVALID_ARG, LIMIT, NOMEM, the database's. */
argus_err argus_store_person_export(argus_store *s, argus_store_id id,
                                    char **json, size_t *len,
                                    argus_store_export_file **files,
                                    size_t *n_files, argus_store_error *err);

/* What argus_store_person_erase removed. */
typedef struct argus_store_erase_counts {
  int64_t templates, photos, alerts, decisions;
  int64_t events;      /* live-event log rows that named the person */
  int64_t deadletters; /* webhook dead letters that named the person */
  int64_t files;       /* crop files no row refers to any more (removed
                          after the commit) */
  int64_t audit_redacted; /* audit rows whose detail had the name */
  argus_store_id audit_id; /* the tombstone row ("person.erase") */
} argus_store_erase_counts;

/* Erases person `id` (a subject's erasure request) in ONE durable write
 * transaction: its templates, photos and the person row; the alerts that
 * named it with their decisions; the live-event log rows and webhook dead
 * letters that name its id ("person_id": id); in the audit rows about the
 * person (its own, its alerts', those whose detail names its id) the
 * person's name (every string equal to it, and the "name" member of its
 * own rows) is replaced by "[erased]" and the hash chain is sealed again
 * from the first changed row (the tombstone records the previous head, so
 * that an anchor kept outside can be reconciled). Appends the tombstone
 * audit row "person.erase" (object person id; detail: the counts, no name),
 * which the enrolment change feed carries to running matchers as a person
 * removal does. The crop files of the photos and alerts are queued in
 * crop_purge and removed after the commit unless another row still refers
 * to them. `out` may be NULL. Errors: NOT_FOUND ("no person with id 7";
 * nothing is changed), INVALID_ARG, NOMEM, the database's. */
argus_err argus_store_person_erase(argus_store *s, argus_store_id id,
                                   argus_store_erase_counts *out,
                                   argus_store_error *err);

/* ---- encryption at rest (src/store/seal.c; docs/lawful-use.md) ---- */
/* Template vectors (every vector column) and crop files are sealed with
 * XChaCha20-Poly1305 under the key given at open (argus_store_options
 * key_file, ARGUS_KEY_FILE, ARGUS_KEY). A database written by a handle
 * with a key records the key's id in meta and opens only with that key
 * from then on (INVALID_ARG naming the id, before anything is read or
 * written). Data written before (plaintext) stays readable until
 * argus_store_key_rotate seals it. The in-memory gallery stays plaintext. */

/* A key id: 16 hex digits and a NUL (a keyed BLAKE2b of a fixed label,
 * which names the key without revealing it). */
#define ARGUS_STORE_KEY_ID_HEX 17

/* Writes 32 random bytes as 64 hex digits to a new file `path` (mode 0600;
 * an existing file is refused). key_id (may be NULL) gets the new key's
 * id. Errors: INVALID_ARG (exists), IO. */
argus_err argus_store_key_generate(const char *path,
                                   char key_id[ARGUS_STORE_KEY_ID_HEX],
                                   argus_store_error *err);
/* The id of the key in file `path`. Errors: as the open's key checks. */
argus_err argus_store_key_file_id(const char *path,
                                  char key_id[ARGUS_STORE_KEY_ID_HEX],
                                  argus_store_error *err);

typedef struct argus_store_key_info {
  char key_id[ARGUS_STORE_KEY_ID_HEX];        /* meta: "" plaintext */
  char rotating_from[ARGUS_STORE_KEY_ID_HEX]; /* "" unless a rotation is
                                                 unfinished */
  char handle_key_id[ARGUS_STORE_KEY_ID_HEX]; /* this handle seals with */
  /* vector blobs (templates and the other vector columns) and crop files:
   * sealed with key_id, plaintext, sealed with another key */
  int64_t blobs_sealed, blobs_plain, blobs_other;
  int64_t crops_sealed, crops_plain, crops_other;
} argus_store_key_info;
/* Counts what is sealed with which key (reads every vector blob's header
 * and every crop file's first bytes; decrypts nothing). */
argus_err argus_store_key_status(argus_store *s, argus_store_key_info *info,
                                 argus_store_error *err);

typedef struct argus_store_key_rotate_report {
  char from[ARGUS_STORE_KEY_ID_HEX]; /* "" : the database was plaintext */
  char to[ARGUS_STORE_KEY_ID_HEX];
  int resumed;         /* 1: an interrupted rotation was finished */
  int64_t blobs, crops; /* resealed by this call */
} argus_store_key_rotate_report;
/* Re-seals every vector blob and crop file under the handle's key_file key
 * (the new key; the old one given as old_key_file), in batches of 256, each
 * its own transaction (crop files rewritten atomically), so that it can be
 * interrupted and run again: meta records the new key and the old one
 * until the end, and every blob names the key that sealed it. A database
 * in plaintext is sealed whole. Audited: "key.rotate" at the start and the
 * end (key ids and counts). `rep` may be NULL. Errors: INVALID_ARG (no new
 * key; another rotation unfinished), CORRUPT (a blob no key opens), IO, the
 * database's. */
argus_err argus_store_key_rotate(argus_store *s,
                                 argus_store_key_rotate_report *rep,
                                 argus_store_error *err);
/* ---- end encryption at rest ---- */

ARGUS_END_DECLS
#endif
