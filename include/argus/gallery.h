/*
 * argus gallery: the enrolled persons of the watchlists, searchable 1:N.
 *
 * A gallery is the store (the truth: persons, photos, crops, templates) and
 * an in-memory index of the templates of ONE embedding model, kept in sync:
 *
 *   - at open it loads every template of its model from the store into the
 *     index (templates of other models are counted, never loaded: `argus
 *     reindex` re-extracts them from the stored crops);
 *   - enrolment and removal change the store first and then the index; when
 *     the store refuses, the index is left as it was; when the index cannot
 *     take a stored person (out of memory), the enrolment is undone in the
 *     store, so that both agree;
 *   - a search runs over the templates of the named watchlists (or of every
 *     active one), one result per person, each with its watchlist's
 *     threshold (a watchlist without one uses the embedder card's threshold
 *     at its default false-match rate).
 *
 * Threads: any number of threads may search at once, also while one thread
 * enrols, removes or reloads (searches then see the gallery before or after
 * each person's change, never half of it). Writers are serialised with each
 * other. The gallery uses its store handle only under its own writer lock;
 * while the gallery is open the caller must not use that handle from another
 * thread at the same time as a gallery writer (open a second handle).
 *
 * This module also prepares photos for enrolment: face detection, a quality
 * gate with reasons, the face crop that is stored, and the template
 * (argus_gallery_photo_prepare). docs/gallery.md describes the policy.
 */
#ifndef ARGUS_GALLERY_H
#define ARGUS_GALLERY_H

#include <stddef.h>
#include <stdint.h>

#include "argus/core.h"
#include "argus/export.h"
#include "argus/face.h"
#include "argus/image.h"
#include "argus/index.h"
#include "argus/store.h"

ARGUS_BEGIN_DECLS

/* A detailed reason for a failure ("no watchlist 'vip'"). */
typedef argus_error_detail argus_gallery_error; /* see argus/core.h */

/* Longest model id ("name@version"), with its NUL. */
#define ARGUS_GALLERY_MODEL_ID_MAX (ARGUS_INDEX_MAX_MODEL_ID + 1)
/* Most candidates a search returns per query. */
#define ARGUS_GALLERY_MAX_K 256

/* ---- enrolment photos ---------------------------------------------------- */

/* Why a photo was not accepted for enrolment. */
typedef enum argus_gallery_reject {
  ARGUS_GALLERY_ACCEPTED = 0,
  ARGUS_GALLERY_REJECT_UNREADABLE,    /* the file could not be decoded */
  ARGUS_GALLERY_REJECT_NO_FACE,       /* no face found */
  ARGUS_GALLERY_REJECT_SEVERAL_FACES, /* more than one face: which one? */
  ARGUS_GALLERY_REJECT_TOO_SMALL,     /* inter-ocular distance < min_ipd */
  ARGUS_GALLERY_REJECT_BLURRED,       /* sharpness below the minimum */
  ARGUS_GALLERY_REJECT_PROFILE,       /* turned beyond the pose limits */
  ARGUS_GALLERY_REJECT_LOW_SCORE,     /* detector not sure it is a face */
  ARGUS_GALLERY_REJECT_NO_LANDMARKS,  /* landmarks failed: cannot align */
  ARGUS_GALLERY_REJECT_ROLLED,        /* tilted beyond the roll limit, or
                                         upside down */
  ARGUS_GALLERY_REJECT_N
} argus_gallery_reject;

/* "accepted", "unreadable", "no face", "several faces", "too small",
 * "blurred", "profile", "low score", "no landmarks"; "unknown" otherwise. */
const char *argus_gallery_reject_name(argus_gallery_reject r);

/* How photos are checked and cropped for enrolment. */
typedef struct argus_gallery_enrol_opts {
  argus_face_detect_opts det; /* detection (defaults: the engine's) */
  /* Smallest inter-ocular distance accepted, in image pixels. */
  float min_ipd;
  /* Several faces: enrol the largest instead of rejecting the photo. */
  int pick_largest;
  /* The images are faces already aligned to the embedder's template (e.g.
   * LFW-112 crops): no detection, one face per image; the gate checks
   * sharpness only. */
  int aligned;
  /* 0: accept every photo that has exactly one face (curated data sets);
   * only "unreadable", "no face", "several faces", "no landmarks" reject. */
  int gate;
  /* Longer side of the stored crop at most this (px); 0: default. */
  int crop_max_side;
  int jpeg_quality; /* 1..100; 0: default */
} argus_gallery_enrol_opts;

/* Defaults: detection defaults, min_ipd 24 px, no pick, not aligned, gate
 * on, crops of at most 400 px, JPEG quality 92. */
void argus_gallery_enrol_opts_default(argus_gallery_enrol_opts *o);

/* A photo prepared for enrolment. Everything in it is owned by it (free
 * with argus_gallery_photo_free) except `source`. */
typedef struct argus_gallery_photo {
  argus_gallery_reject reason; /* ACCEPTED or the first reason below */
  unsigned reasons;            /* bit (1u << r) of every reason found */
  char detail[192];            /* "ipd 14 px < 24", "3 faces (use ...)";
                                  for an accepted photo with other faces,
                                  which one was enrolled */
  int nfaces;                  /* faces the detector found */
  /* Faces clearly smaller than the enrolled one (at most 0.6 of its
   * height): background faces, ignored; the photo is not refused for
   * them. */
  int background_faces;
  argus_face face;             /* the face enrolled (box, points, quality) */
  float quality;               /* [0, 1], stored with the photo */
  char model_id[ARGUS_GALLERY_MODEL_ID_MAX]; /* embedder of `vector` */
  int dim;
  float *vector; /* dim floats, L2-normalised; NULL unless accepted */
  uint8_t *crop; /* JPEG of the stored crop; NULL unless accepted */
  size_t crop_size;
  int crop_width, crop_height;
  const char *source; /* set by the caller (e.g. file name); borrowed */
} argus_gallery_photo;

/* Runs detection, landmarks, quality and embedding on `img` and applies the
 * enrolment policy of `o` (NULL: defaults); fills `out` (overwritten, not
 * freed first). A rejected photo is not an error: the function returns OK
 * with out->reason set. The crop is the face region with a margin (not the
 * aligned crop), so that a later model with another alignment can re-detect
 * the face in it; for `aligned` input the crop is the image itself.
 * `w`: a worker of `e` for the calling thread, or NULL to use the engine
 * itself (then not reentrant: one call at a time per engine). `e` is
 * borrowed. Errors: INVALID_ARG (NULL, bad options), UNSUPPORTED (image
 * format), NOMEM, INTERNAL; err says what failed. */
argus_err argus_gallery_photo_prepare(argus_face_engine *e,
                                      argus_face_worker *w,
                                      const argus_image *img,
                                      const argus_gallery_enrol_opts *o,
                                      argus_gallery_photo *out,
                                      argus_face_error *err);
/* Frees what a photo owns and zeroes it; accepts NULL. */
void argus_gallery_photo_free(argus_gallery_photo *p);

/* ---- the gallery ----------------------------------------------------------
 */

typedef struct argus_gallery argus_gallery;

typedef struct argus_gallery_config {
  char model_id[ARGUS_GALLERY_MODEL_ID_MAX]; /* "fr_feature@faceplugin-0.0.1" */
  int dim;
  /* Threshold of watchlists that have none (their threshold is NAN). */
  float default_threshold;
  double default_fmr; /* the false-match rate of default_threshold */
  int provisional;    /* the calibration of that threshold is provisional */
  /* Index options (kind, approximate backend); model_id, dim and refine
   * are set by the gallery: a compressed kind (ARGUS_INDEX_F16, I8) is
   * re-ranked exactly from fp32 copies of the templates that the gallery
   * keeps in memory, so its candidates, order and scores are those of an
   * fp32 index (faster scans, but no memory saved). NULL:
   * argus_index_config_init defaults. Borrowed. */
  const argus_index_config *index;
  /* 1: load nothing and keep no index: enrolment, removal and reindexing go
   * to the store only and searching is refused. For one-shot tools (the
   * `argus person add` command) that must not pay for loading millions of
   * templates; a running gallery learns of their changes through
   * argus_gallery_sync_person / argus_gallery_reload. */
  int write_only;
} argus_gallery_config;

/* Fills cfg from an embedder's card: model id "name@version", dim, the
 * threshold at the card's default FMR. Errors: INVALID_ARG (not an embedder
 * card, id too long), NOT_FOUND (no threshold at the default FMR). */
argus_err argus_gallery_config_from_card(const argus_face_card *card,
                                         argus_gallery_config *cfg,
                                         argus_gallery_error *err);

/* Opens a gallery on `store` (kept: must outlive the gallery; see the
 * threads note above) and, unless write_only, loads the watchlists, persons
 * and the templates of cfg->model_id. cfg is copied. Errors: INVALID_ARG
 * (bad config), the store's errors, NOMEM. */
argus_err argus_gallery_open(argus_store *store,
                             const argus_gallery_config *cfg,
                             argus_gallery **out, argus_gallery_error *err);
/* Closes the gallery (not the store); accepts NULL. No call may be running
 * on it. */
void argus_gallery_close(argus_gallery *g);

/* The configuration the gallery was opened with (owned by the gallery). */
const argus_gallery_config *argus_gallery_get_config(const argus_gallery *g);
/* The store's name of the gallery's model: the model id split at its first
 * '@' (owned by the gallery). */
const argus_store_model *argus_gallery_model(const argus_gallery *g);

typedef struct argus_gallery_stats {
  size_t watchlists, persons, templates; /* in memory */
  /* Templates in the store made by other models (not loaded), counted at
   * the last load. */
  int64_t other_models;
  char backend[96]; /* the index backend in use */
  size_t index_bytes;
  /* fp32 copies of the templates kept for the exact re-ranking of a
   * compressed (fp16, int8) index; 0 for fp32 and approximate ones */
  size_t refine_bytes;
  /* Candidates searches left out since open because the person's review-by
   * date had passed (docs/lawful-use.md); expired watchlists are not
   * searched at all. */
  int64_t withheld;
} argus_gallery_stats;

/* Errors: INVALID_ARG. */
argus_err argus_gallery_get_stats(argus_gallery *g, argus_gallery_stats *out);

/* One candidate of a search: a person and its best template's score. */
typedef struct argus_gallery_candidate {
  argus_store_id person_id;
  argus_store_id watchlist_id;
  argus_store_id photo_id; /* the enrolled photo whose template matched */
  float score;             /* cosine similarity; with normalised set, the score
                      normalised against the probe's cohort (see
                      argus_gallery_norm) */
  float raw_score;         /* cosine similarity */
  int normalised;          /* score was normalised */
  float threshold;         /* of the person's watchlist */
  int match;               /* score >= threshold */
  char person[ARGUS_STORE_NAME_MAX];
  char external_id[ARGUS_STORE_NAME_MAX]; /* "" when none */
  char watchlist[ARGUS_STORE_NAME_MAX];
  /* ---- verdict feedback (docs/alerts.md) ---- */
  /* The person's negative example (a rejected alert's probe, same model)
   * nearest to the query: its id (0: the person has none) and cosine. */
  argus_store_id negative_id;
  float negative_score;
  /* The watchlist's setting: ARGUS_GALLERY_NEGATIVES_*. */
  int negatives;
  /* ---- end verdict feedback ---- */
} argus_gallery_candidate;

/* ---- verdict feedback: what a watchlist does with negative examples ---- */
#define ARGUS_GALLERY_NEGATIVES_OFF 0      /* ignored */
#define ARGUS_GALLERY_NEGATIVES_SUPPRESS 1 /* no alert (audited) */
#define ARGUS_GALLERY_NEGATIVES_MARK 2     /* alert, marked */
/* 1 when the candidate's query is closer to one of the person's negative
 * examples than to the person (raw cosines) and its watchlist does not
 * ignore negatives. */
#define ARGUS_GALLERY_CANDIDATE_NEGATIVE(c)                                    \
  ((c)->negatives != ARGUS_GALLERY_NEGATIVES_OFF && (c)->negative_id > 0 &&   \
   (c)->negative_score > (c)->raw_score)
/* ---- end verdict feedback ---- */

/* Score normalisation of a search (argus_gallery_search_opts.norm).
 *
 * ARGUS_GALLERY_NORM_TOPN: a probe whose impostor scores run high (a
 * "hub": an average-looking face, a poor photo) clears a fixed threshold
 * against someone more often than another probe. Its own impostor cohort
 * is free: the persons at ranks 2..N+1 of its search (N =
 * ARGUS_GALLERY_NORM_COHORT), who are strangers whenever rank 1 is its
 * mate. Each candidate's cosine s becomes
 *
 *     s' = s - w * (mu_p - mu_ref)      (w = ARGUS_GALLERY_NORM_WEIGHT)
 *
 * with mu_p the mean of the cohort's scores and mu_ref its average over
 * searches of the gallery's own templates among the other persons (up to
 * 256 templates sampled at load; non-mated searches by construction), so
 * that s' stays on the cosine scale of the thresholds: an average probe
 * keeps its scores, a hub loses part of its lead. The order of the
 * candidates does not change. Not applied (raw cosines, normalised = 0)
 * when the search returns fewer than N+1 persons or the gallery has fewer
 * than N+2. The reference is computed when the gallery loads or reloads
 * (not after each enrolment) over all of its watchlists. N and w were
 * chosen on LFW 1:N (docs/gallery.md, with a split-half check); dividing
 * by the cohort's standard deviation as well (a z-score) was measured and
 * is much worse there (FNIR at FPIR 1 % 0.20 -> 0.33). */
typedef enum argus_gallery_norm {
  ARGUS_GALLERY_NORM_NONE = 0, /* cosine similarities */
  ARGUS_GALLERY_NORM_TOPN = 1, /* per probe, against ranks 2..N+1 */
} argus_gallery_norm;
#define ARGUS_GALLERY_NORM_COHORT 8
#define ARGUS_GALLERY_NORM_WEIGHT 0.5

/* "none", "topn"; "unknown" otherwise. */
const char *argus_gallery_norm_name(argus_gallery_norm n);

/* How the photos of a person with several are scored
 * (argus_gallery_search_opts.fuse).
 *
 * ARGUS_GALLERY_FUSE_MEAN: by the cosine with the person's mean template
 * (the sum of its unit templates, kept in memory for persons with two or
 * more photos: dim floats each), instead of its best photo's. On LFW with
 * up to 3 photos per person it lowers FNIR at FPIR 1 % from 0.113 to 0.091
 * (docs/gallery.md): one unlucky photo no longer decides, and the mean of
 * several photos is closer to the person than any one. The candidates are
 * the persons of the best photos (the k asked for plus 8), re-scored and
 * re-sorted; photo_id stays the best photo. A person with one photo keeps
 * its cosine. */
typedef enum argus_gallery_fuse {
  ARGUS_GALLERY_FUSE_MAX = 0,  /* the best photo's cosine */
  ARGUS_GALLERY_FUSE_MEAN = 1, /* the mean template's cosine */
} argus_gallery_fuse;

typedef struct argus_gallery_search_opts {
  /* Watchlists to search, by name. NULL/0: every active watchlist. A named
   * watchlist is searched even when inactive. Borrowed. */
  const char *const *watchlists;
  size_t n_watchlists;
  /* Pool for this call (borrowed; no other parallel_for may run on it
   * meanwhile). NULL: the calling thread. */
  argus_threadpool *pool;
  /* argus_gallery_norm; 0: none (cosine similarities). */
  int norm;
  /* argus_gallery_fuse; 0: a person scores its best photo's cosine. Fusion
   * comes first, then the normalisation. */
  int fuse;
} argus_gallery_search_opts;

/* Searches nq queries (queries[q*dim ..], made by the gallery's model,
 * borrowed) in one pass over the templates. For query q, writes up to k
 * candidates, best first and one per person, to out[q*k ..] and their
 * number to nfound[q]. opts may be NULL. Errors: INVALID_ARG (k outside
 * 1..ARGUS_GALLERY_MAX_K, a query with NaN/Inf or zero length, a write-only
 * gallery), NOT_FOUND (a named watchlist does not exist), NOMEM. */
argus_err argus_gallery_search(argus_gallery *g, const float *queries,
                               size_t nq, int k,
                               const argus_gallery_search_opts *opts,
                               argus_gallery_candidate *out, int *nfound,
                               argus_gallery_error *err);

/* The threshold that keeps the false-positive identification rate (the
 * share of searches of strangers whose best candidate clears it) of a
 * watchlist of `n` persons (n >= 1) near `fpir` (0 < fpir < 1), from the
 * embedder card's calibration: a search makes n impostor comparisons, so
 * each may false-match at most fmr = 1 - (1 - fpir)^(1/n) (about fpir / n);
 * the card's thresholds are interpolated, and beyond its smallest FMR
 * extrapolated, linearly in the normal quantile of the FMR (impostor
 * cosines have a nearly Gaussian tail: fr_feature's three points lie on one
 * line within 0.005). A bigger watchlist needs a higher threshold for the
 * same FPIR. *fmr (may be NULL) gets the per-comparison FMR. The result is
 * clamped to [-1, 1]. Errors: INVALID_ARG (NULL, fpir or n out of range, a
 * card that is not an embedder's or has fewer than two calibrated points);
 * err says which. */
argus_err argus_gallery_threshold_for_fpir(const argus_face_card *card,
                                           double fpir, int64_t n,
                                           float *threshold, double *fmr,
                                           argus_gallery_error *err);

/* Threshold of a watchlist (its own, or the default). Errors: NOT_FOUND. */
argus_err argus_gallery_threshold(argus_gallery *g, const char *watchlist,
                                  float *threshold, argus_gallery_error *err);

/* Enrols a person into `watchlist` with n >= 1 accepted photos (made by the
 * gallery's model): store first (one transaction: person, photos, crops,
 * templates, audit), then the index. Photos are borrowed. out_id may be
 * NULL. Errors: INVALID_ARG (no photo, a photo not accepted or of another
 * model or dim; the store's "external id 'x' already in watchlist 'y'"),
 * NOT_FOUND (no such watchlist), IO, NOMEM. On error nothing is stored and
 * the index is unchanged. */
argus_err argus_gallery_person_add(argus_gallery *g, const char *watchlist,
                                   const argus_store_person_in *person,
                                   const argus_gallery_photo *photos, int n,
                                   argus_store_id *out_id,
                                   argus_gallery_error *err);
/* Adds accepted photos to an existing person (store, then index).
 * Errors: as person_add; NOT_FOUND (no such person). */
argus_err argus_gallery_person_add_photos(argus_gallery *g,
                                          argus_store_id person_id,
                                          const argus_gallery_photo *photos,
                                          int n, argus_gallery_error *err);
/* Purges a person from the store (photos, templates, crops) and then from
 * the index. Errors: NOT_FOUND (not in the store; it is dropped from the
 * index all the same), IO. */
argus_err argus_gallery_person_remove(argus_gallery *g,
                                      argus_store_id person_id,
                                      argus_gallery_error *err);

/* Re-reads one person from the store (after another process changed it)
 * and replaces what the index holds of it; a person no longer stored is
 * dropped. No-op for a write-only gallery. Errors: the store's, NOMEM. */
argus_err argus_gallery_sync_person(argus_gallery *g, argus_store_id person_id,
                                    argus_gallery_error *err);
/* An enrolment change this gallery made (stored and in its index). */
typedef struct argus_gallery_change {
  const char *action;       /* "person.add", "person.add_photos",
                               "person.remove" */
  argus_store_id person_id; /* the person changed */
  argus_store_id watchlist_id; /* 0 when not known */
  const char *watchlist;    /* its name, "" when not known */
} argus_gallery_change;

/* Called after each change, on the thread that made it, with the gallery's
 * writer lock held (it must not call back into the gallery); c is borrowed
 * for the call. */
typedef void (*argus_gallery_change_fn)(void *user,
                                        const argus_gallery_change *c);

/* Sets (fn NULL: clears) the hook told of every enrolment change made
 * through this gallery, e.g. to publish a watchlist.change event on a bus
 * so that running matchers apply it. `user` is kept. Accepts a NULL
 * gallery. */
void argus_gallery_set_change_hook(argus_gallery *g, argus_gallery_change_fn fn,
                                   void *user);

/* Re-reads everything (watchlists, persons, templates) into a new index and
 * swaps it in; searches go on meanwhile on the old one. On error the old
 * state is kept. No-op for a write-only gallery. */
argus_err argus_gallery_reload(argus_gallery *g, argus_gallery_error *err);

/* ---- reindex --------------------------------------------------------------
 */

/* Progress of a long operation; return non-zero to stop it (cleanly, after
 * the current batch). */
typedef int (*argus_gallery_progress_fn)(void *user, int64_t done,
                                         int64_t total);

typedef struct argus_gallery_reindex_report {
  int64_t total;    /* photos without a template of the model at the start */
  int64_t done;     /* photos processed */
  int64_t embedded; /* templates written */
  int64_t failed;   /* crops missing, damaged or without a face */
  int stopped;      /* the progress callback asked to stop */
  char first_failure[256];
} argus_gallery_reindex_report;

/* Gives every stored photo that has no template of the gallery's model one,
 * made from its stored crop by `e` (whose embedder must be the gallery's
 * model): crops of exactly the embedder's alignment size are taken as
 * aligned faces; in others the largest face is detected and aligned. Works
 * in batches of `batch` photos (0: 64), each stored in one transaction, so
 * an interrupted reindex resumes where it stopped. Photos whose crop fails
 * are counted and skipped. Then reloads the gallery (unless write-only).
 * `w`: a worker of `e` for the calling thread, or NULL (the engine, not
 * reentrant). progress (may be NULL) is called after each batch. Errors:
 * INVALID_ARG (engine of another model), the store's, NOMEM. */
argus_err argus_gallery_reindex(argus_gallery *g, argus_face_engine *e,
                                argus_face_worker *w, int batch,
                                argus_gallery_progress_fn progress, void *user,
                                argus_gallery_reindex_report *report,
                                argus_gallery_error *err);

/* ---- JSON output ---------------------------------------------------------
 * One record as one JSON object written with the core writer into `j` as a
 * value without a key (the top-level value or an array element), as
 * argus_store_watchlist_json does; the CLI's --json output and the REST API
 * share them. Records are borrowed; overflow is the writer's. */

/* {"person_id", "name", "external_id" (null when none), "watchlist",
 * "score", "raw_score" (the cosine, only when score was normalised),
 * "threshold", "match", "photo_id"} */
void argus_gallery_candidate_json(const argus_gallery_candidate *c,
                                  argus_json *j);
/* An enrolment photo: {"file" (its source, "" when none), "accepted": true,
 * "quality", "faces"} or {"file", "accepted": false, "reason", "reasons"
 * (every reason found), "detail", "faces"} */
void argus_gallery_photo_json(const argus_gallery_photo *p, argus_json *j);
/* The members of a reindex report, into the object open in `j` (the caller
 * adds its own, e.g. the model and template counts): "to_do" (total),
 * "processed" (done), "embedded", "failed", "interrupted" (stopped),
 * "first_failure" (null when none). */
void argus_gallery_reindex_report_json_members(
    const argus_gallery_reindex_report *r, argus_json *j);

ARGUS_END_DECLS
#endif
