/*
 * argus match: the match stage of the live pipeline. Face events in,
 * alerts out:
 *
 *   face event (embedding, camera, track, quality, crop hash)
 *     -> 1:N search of the gallery (the watched watchlists, each with its
 *        own threshold)
 *     -> decision per person over threshold: one alert per person per track
 *        (camera, track), and at most one per person per camera within the
 *        cooldown (media time of that camera)
 *     -> "alert.raised" event (argus_event_alert, referencing the face
 *        event) on the bus; with retention on, "face.unmatched" for faces
 *        that matched nobody.
 *
 * The matcher holds no state but its gallery's in-memory index and the
 * recent decisions (a bounded ring). It follows enrolment through
 * "watchlist.change" events (argus_matcher_apply_change, or by itself once
 * started on a bus), so a running matcher never re-reads the whole store
 * to learn of a change.
 *
 * Threads: every function may be called from any thread; searches run in
 * parallel, decisions are serialised by one short lock.
 */
#ifndef ARGUS_MATCH_H
#define ARGUS_MATCH_H

#include <stddef.h>
#include <stdint.h>

#include "argus/bus.h"
#include "argus/core.h"
#include "argus/event.h"
#include "argus/export.h"
#include "argus/gallery.h"

ARGUS_BEGIN_DECLS

#define ARGUS_MATCH_MAX_WATCHLISTS 64
/* Candidates asked of the gallery per face. */
#define ARGUS_MATCH_K 8
/* Faces searched together by argus_matcher_handle_faces (one pass over the
 * templates per group of this many). */
#define ARGUS_MATCH_BATCH_MAX 64

typedef struct argus_matcher argus_matcher;
struct argus_match_result;

typedef struct argus_matcher_config {
  /* Watchlists to search, by name (borrowed, copied); none: every active
   * one. */
  const char *const *watchlists;
  int nwatchlists;
  /* Per person per camera, seconds of the camera's media time (< 0: the
   * default 30; 0: off). */
  double cooldown;
  /* Alerts remembered for "one per person per track" and the cooldown
   * (default 4096). When more alerts than this fall within one cooldown,
   * the oldest are forgotten. */
  int memory;
  /* Seconds to keep faces that matched nobody (> 0: publish
   * "face.unmatched" events for the store sink; default 0: nothing of them
   * leaves the matcher). */
  double keep_unmatched;
  /* 1 (default): a match over threshold that is not alerted is published
   * on "alert.suppressed" with the reason (argus/event.h), so that
   * operators and tools see why a wanted person raised no new alert;
   * 0: only counted. */
  int publish_suppressed;
  /* Score fusion over a track (> 0: on; default 0: off). Besides any
   * single shot over its watchlist's threshold, a person whose MEAN score
   * over the track's searched shots (2 or more; a shot where the person
   * was not among the candidates counts its lowest candidate's score) is
   * at least threshold - fusion_margin is a match ("fused", with the mean
   * as its score). eval/fusion_eval.py measures the margin that keeps the
   * track false-alarm rate of single shots: about 0.06-0.08 on LFW-112
   * tracks of 2-3 photos (docs/walkby.md); shots of one video track are
   * more alike than that, so the gain there is smaller. At most 0.5. */
  float fusion_margin;
  /* Tracks remembered for fusion (default 1024; the least recently
   * searched is forgotten). */
  int fusion_tracks;
  /* Score normalisation of the searches (argus_gallery_norm; default 0:
   * none, cosine similarities). ARGUS_GALLERY_NORM_TOPN normalises each
   * face's scores against the persons at ranks 2..33 of its search, as
   * `argus identify` does by default (docs/gallery.md: fewer false alarms
   * at a fixed FPIR on LFW); the watchlists' thresholds then apply to the
   * normalised scores. */
  int score_norm;
  /* How a person with several photos scores (argus_gallery_fuse; default
   * 0: its best photo; ARGUS_GALLERY_FUSE_MEAN: its mean template, as
   * `argus identify` does by default). */
  int fuse;
  /* Called after each face event is handled (on the thread that handled
   * it), e.g. for per-camera counters and latency; result borrowed for the
   * call. May be NULL. */
  void (*observe)(void *user, const argus_event *face,
                  const struct argus_match_result *result);
  void *observe_user;
} argus_matcher_config;

/* Fills *c with the defaults above. */
void argus_matcher_config_init(argus_matcher_config *c);

/* Creates a matcher on a gallery (kept: must outlive the matcher; opened
 * for searching, not write-only) publishing on `bus` (kept; may be NULL:
 * decisions are then only returned). Named watchlists must exist.
 * Errors: INVALID_ARG, NOT_FOUND (a watchlist), NOMEM; err says which. */
argus_err argus_matcher_create(const argus_matcher_config *c, argus_gallery *g,
                               argus_bus *bus, argus_matcher **out,
                               argus_error_detail *err);
/* Stops (see argus_matcher_start) and frees; accepts NULL. */
void argus_matcher_destroy(argus_matcher *m);

/* Subscribes the matcher to "face" and "watchlist.change" on its bus: face
 * events are matched on the subscription's own thread, in order, as they
 * come. queue: face events that may wait (0: 256, about 45 MiB of in-process
 * face events with their thumbnails; more are dropped oldest first and
 * counted in the bus's subscription stats). Errors: INVALID_ARG (no bus,
 * already started), the bus's. */
argus_err argus_matcher_start(argus_matcher *m, int queue);
/* Unsubscribes; events already queued are discarded. Accepts NULL. */
void argus_matcher_stop(argus_matcher *m);

/* What became of one person over threshold. */
typedef enum argus_match_decision {
  ARGUS_MATCH_ALERT = 1,              /* alerted */
  ARGUS_MATCH_SUPPRESS_TRACK = 2,     /* already alerted on this track */
  ARGUS_MATCH_SUPPRESS_COOLDOWN = 3,  /* alerted on another track of the same
                                         camera within the cooldown */
  /* ---- verdict feedback ---- */
  ARGUS_MATCH_SUPPRESS_NEGATIVE = 4,  /* closer to a negative example of the
                                         person (a rejected alert's probe)
                                         than to the person; watchlist
                                         setting "suppress" */
  /* ---- end verdict feedback ---- */
} argus_match_decision;

/* "alert", "track", "cooldown", "negative". */
const char *argus_match_decision_name(argus_match_decision d);

typedef struct argus_match_hit {
  argus_gallery_candidate cand; /* with fused_shots, cand.score is the mean */
  argus_match_decision decision;
  int fused_shots; /* 0: this shot alone cleared the threshold; n >= 2: the
                      mean over the track's n shots did (fusion_margin) */
  /* ---- verdict feedback ---- */
  int negative; /* 1: alerted but marked: closer to a negative example of
                   the person (cand.negative_*; watchlist setting "mark") */
  /* ---- end verdict feedback ---- */
} argus_match_hit;

typedef struct argus_match_result {
  int nfound;       /* candidates returned by the search */
  float best_score; /* the best candidate's score (-1: none) */
  int nhits;        /* persons over their watchlist's threshold */
  argus_match_hit hits[ARGUS_MATCH_K];
  int nalerts;
} argus_match_result;

/* Matches one face event: searches, decides and publishes (alert.raised
 * for each ARGUS_MATCH_ALERT, face.unmatched when retention is on and
 * nobody matched). out may be NULL. Errors: INVALID_ARG (not a face event,
 * or its model differs from the gallery's: templates of different models
 * are never compared), the gallery's search errors, NOMEM. */
argus_err argus_matcher_handle_face(argus_matcher *m, const argus_event *face,
                                    argus_match_result *out,
                                    argus_error_detail *err);

/* As argus_matcher_handle_face for n face events at once, in order: their
 * embeddings are searched together (one pass over the templates for up to
 * ARGUS_MATCH_BATCH_MAX queries, several times faster per face than one by
 * one on a large gallery), then each is decided and published as alone.
 * out: NULL or n results. A face that cannot be searched (another model, not
 * a face) is skipped and counted in *nfailed (may be NULL); the others are
 * still handled. Returns the first failure (err says what), OK when none. */
argus_err argus_matcher_handle_faces(argus_matcher *m,
                                     const argus_event *const *faces, int n,
                                     argus_match_result *out, int *nfailed,
                                     argus_error_detail *err);

/* Applies an enrolment change: one person re-read from the store, or
 * everything reloaded. Changes of a known store sequence at or below the
 * last applied one are skipped. Errors: the gallery's. */
argus_err argus_matcher_apply_change(argus_matcher *m,
                                     const argus_event_watchlist *c,
                                     argus_error_detail *err);

typedef struct argus_matcher_stats {
  uint64_t faces;     /* face events searched (rejected ones not counted) */
  uint64_t matches;   /* faces that matched someone */
  uint64_t alerts;    /* alerts raised */
  uint64_t suppressed_track, suppressed_cooldown;
  uint64_t unmatched_published;
  uint64_t rejected;  /* faces of another model, bad events */
  uint64_t errors;    /* search failures */
  uint64_t changes;   /* enrolment changes applied */
  uint64_t reloads;   /* of which full reloads */
  uint64_t forgotten; /* decisions evicted from memory within a cooldown */
  uint64_t dropped;   /* face events dropped by its full queue (started) */
  /* Face events published and not yet handled by the matchers' group (a
   * shared bus: how far behind they are); -1: not known (in-process). */
  int64_t backlog;
  double cpu_s;       /* thread CPU time spent matching and publishing */
  /* ---- verdict feedback ---- */
  uint64_t suppressed_negative; /* not alerted: nearer a negative example */
  uint64_t marked_negative;     /* alerted, marked by a negative example */
  /* ---- end verdict feedback ---- */
} argus_matcher_stats;

/* Counters since creation. Errors: INVALID_ARG. */
argus_err argus_matcher_get_stats(argus_matcher *m, argus_matcher_stats *out);

ARGUS_END_DECLS
#endif
