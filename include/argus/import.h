/*
 * argus import: enrolment of many persons from a folder, one sub-folder per
 * person (DIR/<person>/ holding .jpg, .jpeg and .png files), and enrolment from
 * photo files.
 *
 * The rules, shared by `argus import` and the REST API:
 *
 *   - the sub-folder's name is the person's external id and, with '_' shown
 *     as ' ', its name; image files directly in DIR are counted and ignored;
 *     dot files and other files are ignored;
 *   - a person whose external id is already in the watchlist is skipped, so
 *     that an interrupted import can simply be run again;
 *   - every photo passes the quality gate of argus_gallery_photo_prepare
 *     (ARGUS_IMPORT_MAX_PHOTOS photos of a person at most: the first ones in
 *     name order); a file that cannot be read is rejected as "unreadable";
 *   - each person is stored in its own transaction with the photos that
 *     pass; a person none of whose photos pass is not stored ("rejected");
 *     a person the store refuses is "failed" with the store's message, and
 *     the import goes on, unless the database itself fails (IO, CORRUPT,
 *     NOMEM): then it stops;
 *   - persons are processed in name order, photos of several persons in
 *     parallel on a thread pool, one face worker per thread.
 */
#ifndef ARGUS_IMPORT_H
#define ARGUS_IMPORT_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "argus/core.h"
#include "argus/export.h"
#include "argus/face.h"
#include "argus/gallery.h"
#include "argus/store.h"

ARGUS_BEGIN_DECLS

/* Photos of one person used at most (the first ones in name order); also
 * the number of photos prepared together in one parallel batch. */
#define ARGUS_IMPORT_MAX_PHOTOS 64
/* Largest folder listing accepted (persons, or photos of one person). */
#define ARGUS_IMPORT_MAX_ENTRIES 10000000

/* Reads the image file at `path` and prepares it with
 * argus_gallery_photo_prepare. A file that cannot be read or decoded is not
 * an error: `out` is then rejected as ARGUS_GALLERY_REJECT_UNREADABLE with
 * the reader's message in out->detail. out->source is set to `path`
 * (borrowed: it must outlive `out`). `e`, `w` (may be NULL), `o` (may be
 * NULL) as for argus_gallery_photo_prepare. Errors: those of
 * argus_gallery_photo_prepare (INVALID_ARG, NOMEM, INTERNAL), err says
 * what failed; out is then zeroed apart from `source`. */
argus_err argus_gallery_photo_prepare_file(argus_face_engine *e,
                                           argus_face_worker *w,
                                           const char *path,
                                           const argus_gallery_enrol_opts *o,
                                           argus_gallery_photo *out,
                                           argus_face_error *err);

/* What became of one person of an import. */
typedef enum argus_import_status {
  ARGUS_IMPORT_PENDING = 0, /* not reached (cancelled, or stopped before) */
  ARGUS_IMPORT_ENROLLED,    /* stored with photos_enrolled photos */
  ARGUS_IMPORT_SKIPPED,     /* its external id is already in the watchlist */
  ARGUS_IMPORT_REJECTED,    /* no photo passed the quality gate */
  ARGUS_IMPORT_FAILED       /* the store refused it: error, message */
} argus_import_status;

/* "pending", "enrolled", "skipped", "rejected", "failed"; "unknown"
 * otherwise. */
const char *argus_import_status_name(argus_import_status s);

/* A photo that was not accepted. */
typedef struct argus_import_rejected_photo {
  char *path;                  /* DIR/<person>/<file>; owned */
  argus_gallery_reject reason; /* the first reason */
  unsigned reasons;            /* bit (1u << r) of every reason found */
  char detail[192];            /* as argus_gallery_photo.detail */
  int nfaces;
} argus_import_rejected_photo;

/* The result of one person. Everything is owned by the summary. */
typedef struct argus_import_person {
  char *folder; /* the sub-folder's name: the external id */
  char *name;   /* the folder's name with '_' as ' ' (the stored name) */
  argus_import_status status;
  argus_store_id person_id; /* ENROLLED: its id; 0 otherwise */
  int photos;               /* image files found in the folder */
  int photos_used;          /* min(photos, ARGUS_IMPORT_MAX_PHOTOS) */
  int photos_enrolled;
  int photos_rejected;
  argus_import_rejected_photo *rejected; /* photos_rejected entries */
  argus_err error;                       /* FAILED: the store's code */
  char message[512];                     /* FAILED: the store's message */
} argus_import_person;

/* Counters and per-person results of an import. */
typedef struct argus_import_summary {
  char watchlist[ARGUS_STORE_NAME_MAX]; /* imported into */
  int64_t persons_total;                /* sub-folders of DIR */
  int64_t persons_enrolled, persons_skipped, persons_rejected, persons_failed;
  int64_t photos_enrolled, photos_rejected;
  int64_t rejected_by_reason[ARGUS_GALLERY_REJECT_N];
  int64_t loose_files; /* image files directly in DIR (ignored) */
  int cancelled;       /* stopped by the callback or the cancel flag */
  double seconds;      /* wall time of the import */
  /* persons_total results in folder-name order. Owned: free with
   * argus_import_summary_free. */
  argus_import_person *persons;
} argus_import_summary;

/* Frees what a summary owns and zeroes it; accepts NULL. */
void argus_import_summary_free(argus_import_summary *s);

/* What the progress callback is told. */
typedef enum argus_import_event_kind {
  /* The folder is listed: summary->persons_total, loose_files are set. */
  ARGUS_IMPORT_EVENT_START = 0,
  /* A photo was rejected: `person`, `photo` (its rejection) are set. Comes
   * before the person's PERSON event. */
  ARGUS_IMPORT_EVENT_PHOTO_REJECTED,
  /* A person is done (enrolled, skipped, rejected or failed): `person`. */
  ARGUS_IMPORT_EVENT_PERSON
} argus_import_event_kind;

typedef struct argus_import_event {
  argus_import_event_kind kind;
  const argus_import_person *person;        /* NULL for START */
  const argus_import_rejected_photo *photo; /* PHOTO_REJECTED only */
  int64_t done;                             /* persons done so far */
  const argus_import_summary *summary;      /* the counters so far */
} argus_import_event;

/* Called on the thread that called argus_gallery_import, between batches
 * (never while photos are being prepared). Pointers are valid during the
 * call only. Return non-zero to cancel: the import stops after the current
 * person, and the persons of the batch not yet stored stay PENDING. */
typedef int (*argus_import_progress_fn)(void *user,
                                        const argus_import_event *ev);

typedef struct argus_import_options {
  /* The quality gate and crops (argus_gallery_enrol_opts_default). */
  argus_gallery_enrol_opts enrol;
  /* Pool to prepare photos on (borrowed; no other parallel_for may run on
   * it meanwhile). NULL: the import creates a pool of `threads`. */
  argus_threadpool *pool;
  int threads; /* when pool is NULL: 0 one per CPU, 1 the calling thread */
  /* Cancellation flag (borrowed, may be NULL): once non-zero (set from a
   * signal handler, or another thread), the photos not yet prepared are
   * skipped and the import stops as if the callback had asked. */
  const volatile sig_atomic_t *cancel;
} argus_import_options;

/* Defaults: argus_gallery_enrol_opts_default, no pool, threads 0, no
 * cancellation flag. */
void argus_import_options_default(argus_import_options *o);

/* Imports the folder `dir` (borrowed) into `watchlist` of `g` by the rules
 * above, preparing the photos with the engine `e` (borrowed; its embedder
 * must be the gallery's model). `o` may be NULL (defaults); `cb` may be
 * NULL. The store is read through the gallery, under its writer lock; see
 * the threads note of gallery.h.
 *
 * `out` (required) is zeroed first and filled in every case where the
 * import started (OK, CANCELLED, and a failing database), otherwise left
 * zeroed; free it with argus_import_summary_free.
 *
 * Returns OK when every person was reached (a person rejected or failed is
 * not an error: see `out`); CANCELLED when the callback or the flag stopped
 * it; IO, CORRUPT or NOMEM when the database failed while storing a person
 * (that person is FAILED, the rest PENDING; err says what failed). Errors
 * before anything is done: INVALID_ARG (NULL, empty watchlist, an engine of
 * another model), NOT_FOUND (no such watchlist: "no watchlist 'vip'"; no
 * folder `dir`), IO (`dir` or a person's folder cannot be read), LIMIT
 * (more than ARGUS_IMPORT_MAX_ENTRIES entries), NOMEM, and the store's
 * errors listing the watchlist's persons. */
argus_err argus_gallery_import(argus_gallery *g, argus_face_engine *e,
                               const char *watchlist, const char *dir,
                               const argus_import_options *o,
                               argus_import_progress_fn cb, void *user,
                               argus_import_summary *out,
                               argus_error_detail *err);

/* ---- JSON output (argus_json, as argus_store_watchlist_json) ---------- */

/* {"file", "accepted": false, "reason", "reasons", "detail", "faces"}: the
 * shape of a rejected argus_gallery_photo_json. */
void argus_import_rejected_photo_json(const argus_import_rejected_photo *p,
                                      argus_json *j);
/* {"folder", "name", "status" (argus_import_status_name), "person_id"
 * (null unless enrolled), "photos", "photos_used", "photos_enrolled",
 * "photos_rejected", "rejected": [rejected photos], and for a failed person
 * "error" (argus_errname) and "message"} */
void argus_import_person_json(const argus_import_person *p, argus_json *j);
/* The summary without the per-person results: {"watchlist", "persons",
 * "persons_enrolled", "persons_skipped", "persons_rejected",
 * "persons_failed", "photos_enrolled", "photos_rejected",
 * "rejected_by_reason": {reason name: count, only counts > 0},
 * "interrupted" (cancelled), "seconds", "rejected": [every rejected photo],
 * "failed": [{"person", "error" (the message)}]}. Its length grows with the
 * rejected photos: grow the buffer and write again when j->overflow. */
void argus_import_summary_json(const argus_import_summary *s, argus_json *j);

ARGUS_END_DECLS
#endif
