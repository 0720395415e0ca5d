/*
 * argus track: a multi-face tracker per camera and the best-shot policy that
 * decides which faces are embedded and searched.
 *
 * One tracker per camera. It is fed the faces detected in each analysed frame
 * (box, score, quality, and an embedding when one was computed) at the
 * frame's media time, and answers, per update:
 *   - the track of each detection (stable uint64 ids, increasing per
 *     tracker, never 0);
 *   - the match requests: which faces should be embedded and searched now
 *     (a detection of this frame, or a track's stored best shot). Only a
 *     track's first good shot and clearly better later shots are requested, so
 * a pipeline embeds a few best shots rather than every face of every frame;
 *   - the tracks that ended (no match for max_lost seconds, evicted, or
 *     flushed), each with its best shot and whether that shot should still be
 *     searched.
 * What a search found, and whether it becomes an alert, is not the
 * tracker's business: the match stage (argus/match.h) decides that from the
 * face events the edge publishes, so that edge and match may run in
 * different processes.
 *
 * Model (docs/track.md): a constant-velocity Kalman filter per box
 * coordinate (centre x, centre y, width, height), association by IoU of the
 * predicted box with each detection (greedy, by decreasing affinity, with a
 * gate), appearance (cosine similarity of embeddings) added to the affinity
 * when both sides have one, and a second pass that re-associates recently
 * lost tracks with detections by appearance alone, which bridges occlusions.
 *
 * Time is media time in seconds (double) as given by the caller; the tracker
 * never reads a clock, so a replay gives the same tracks.
 *
 * Threads and memory: a tracker is used by one thread at a time (the camera's
 * analysis thread). Everything is allocated at creation from the config
 * (track capacity, most detections per update, embedding dimension, best-shot
 * buffer size); updates never allocate.
 */
#ifndef ARGUS_TRACK_H
#define ARGUS_TRACK_H

#include <stddef.h>
#include <stdint.h>

#include "argus/core.h"
#include "argus/export.h"
#include "argus/face.h"

ARGUS_BEGIN_DECLS

#define ARGUS_TRACK_MAX_CAPACITY 65536  /* most live tracks per tracker */
#define ARGUS_TRACK_MAX_DETECTIONS 4096 /* most detections per update */
#define ARGUS_TRACK_MAX_DIM 4096        /* longest embedding */
#define ARGUS_TRACK_MAX_SHOT_BYTES ((size_t)16 << 20) /* per-track buffer */

/* ---- configuration ------------------------------------------------------ */

/* When to search a track's faces. Qualities are argus_face_quality.value.
 * The policy looks at a confirmed track each time a detection is matched to
 * it; the candidate shot is the track's best shot (highest quality so far)
 * when that is the current detection or, with shot buffers (shot_bytes > 0),
 * a stored best shot not yet searched; otherwise the current detection. */
typedef struct argus_track_policy {
  /* Early match: the track's first request, as soon as the candidate's
   * quality is >= this. Default 0.5. */
  float min_quality;
  /* Re-match: a later request needs a candidate at least better_delta above
   * the last requested shot, better_interval seconds or more after that
   * request. Defaults 0.15 and 1.0 s. */
  float better_delta;
  double better_interval;
  /* Most requests per track; 0: no limit. Default 6. */
  int max_requests;
  /* Search at least once: a confirmed track with no request yet whose
   * shots all stayed under min_quality (a face turned away, tilted back,
   * small) requests its best shot anyway once it has lived this many
   * seconds, so that every track that lives long enough is searched.
   * Negative: off. Default 1.0. Shots with a reject_flags flag still never
   * are. */
  double search_after;
  /* Shots whose quality flags (ARGUS_FACE_Q_*) intersect this mask are
   * never requested nor taken as best shot, whatever their value.
   * Default 0. */
  unsigned reject_flags;
  /* Best shot at the end: a confirmed track that ends
   * whose best shot was never requested, has quality >=
   * end_min_quality and, if other shots were searched, is better than the
   * last of them by better_delta, is flagged so that the caller searches
   * that shot. A negative value turns this off. Default 0.3. */
  float end_min_quality;
} argus_track_policy;

typedef struct argus_track_config {
  /* Fixed sizes (memory is allocated once from these). */
  int capacity;       /* most live tracks; default 256 */
  int max_detections; /* most detections per update; default 128 */
  int embed_dim;      /* embedding length; 0: embeddings not used (default) */
  /* Bytes of a per-track best-shot buffer the caller fills (e.g. with an
   * aligned crop, or the face's embedding) when a detection becomes its
   * track's best shot (ARGUS_TRACK_F_BEST); requests for a stored shot
   * (det -1) and end events hand it back, so that a good shot seen before
   * the track was confirmed is still searched at once. 0 (default): none;
   * only current detections are requested. Memory: (capacity +
   * max_detections) * shot_bytes. */
  size_t shot_bytes;

  /* Track life. */
  int confirm_hits;          /* hits to confirm a track; default 2 */
  double max_lost;           /* seconds without a match after which a
                                confirmed track ends; default 1.5 */
  double tentative_max_lost; /* the same for tentative tracks; default 0.5 */

  /* Motion: constant-velocity Kalman filter per coordinate, with noise
   * proportional to the box height. */
  double max_coast;    /* seconds the prediction extrapolates velocity past
                          the last match; default 0.5 */
  float measure_noise; /* std of a measured coordinate, in box heights;
                          default 0.05 */
  float accel_noise;   /* std of the acceleration, in box heights per s^2;
                          default 4.0 */
  /* Fastest expected face, in box heights per second: a new track's
   * velocity is unknown, with a std of max_speed / 3 (so that its second
   * detection is found even when the face moved far further than its own
   * size between two analysed frames, as a walking person does at a few
   * frames per second). Default 10. */
  float max_speed;

  /* Association. */
  float iou_gate; /* least IoU of predicted box and detection; default 0.3 */
  /* Or, below the IoU gate: the detection's centre within distance_gate
   * standard deviations of the predicted centre (the filter's position
   * uncertainty plus the measurement noise, per axis; Mahalanobis distance)
   * and its height within a factor 1 / size_ratio of the predicted one.
   * This follows fast faces whose boxes do not overlap from one analysed
   * frame to the next. Defaults 3.0 and 0.67; distance_gate 0 turns it
   * off (IoU only). */
  float distance_gate;
  float size_ratio;
  /* The distance gate only holds for a track matched in the previous
   * update, at most this many seconds ago (default 0.5); a face missed
   * even once may have left, and is found again by IoU or by appearance,
   * not by where it might have gone (a face entering where another left a
   * moment ago is someone else). */
  double distance_max_gap;
  /* With embeddings on both sides: affinity = IoU + appearance_weight *
   * similarity, and a pair whose similarity is below appearance_veto is
   * never associated however much the boxes overlap. Defaults 0.5 and 0.2. */
  float appearance_weight;
  float appearance_veto;
  /* Re-identification: a track unmatched in this update, last matched at
   * most max_lost seconds ago, is associated with a detection left over by
   * the IoU pass whose embedding has similarity >= reid_similarity with the
   * track's appearance, wherever it is. Default 0.5. */
  float reid_similarity;
  /* The track's appearance is an exponential moving average of its
   * detections' L2-normalised embeddings: new = normalise((1 - a) * old + a
   * * embedding). Default 0.3. */
  float appearance_alpha;

  argus_track_policy policy;
} argus_track_config;

/* Fills *cfg with the defaults above. */
void argus_track_config_default(argus_track_config *cfg);

/* ---- input -------------------------------------------------------------- */

/* One detected face. */
typedef struct argus_track_det {
  float box[4];  /* x1, y1, x2, y2 in pixels; finite, x2 > x1, y2 > y1 */
  float score;   /* detector score, finite */
  float quality; /* argus_face_quality.value in [0, 1] (0 when unknown) */
  unsigned quality_flags; /* ARGUS_FACE_Q_* */
  /* embed_dim floats (any length > 0: normalised here), or NULL. Borrowed
   * for the duration of the call. */
  const float *embedding;
} argus_track_det;

/* Fills *out from a detected face (quality 0 and flags 0 when the face has
 * no quality). embedding: borrowed, may be NULL; kept as a pointer in *out.
 * Errors: INVALID_ARG (NULL face or out). */
argus_err argus_track_det_from_face(const argus_face *face,
                                    const float *embedding,
                                    argus_track_det *out);

/* ---- output ------------------------------------------------------------- */

typedef enum argus_track_state {
  ARGUS_TRACK_TENTATIVE = 1, /* fewer than confirm_hits hits */
  ARGUS_TRACK_CONFIRMED = 2,
} argus_track_state;

/* Flags of an assignment. */
enum {
  ARGUS_TRACK_F_NEW = 1u << 0,       /* the detection started a new track */
  ARGUS_TRACK_F_CONFIRMED = 1u << 1, /* the track was confirmed by it */
  ARGUS_TRACK_F_REID = 1u << 2, /* associated by appearance, not by motion */
  ARGUS_TRACK_F_BEST = 1u << 3, /* the track's best shot so far: the caller
                                   may copy it into `shot` */
};

/* What became of detection i (assign[i] for dets[i]). */
typedef struct argus_track_assignment {
  uint64_t track_id; /* 0: no track (capacity full of tracks matched in this
                        update; counted as dropped) */
  argus_track_state state;
  unsigned flags; /* ARGUS_TRACK_F_* */
  /* With ARGUS_TRACK_F_BEST and shot_bytes > 0: the track's best-shot
   * buffer (shot_bytes, owned by the tracker, stable while the track lives,
   * handed back in its end event). Otherwise NULL. */
  void *shot;
} argus_track_assignment;

typedef enum argus_track_request_reason {
  ARGUS_TRACK_REQ_EARLY = 1,  /* first shot over the quality bar, or the
                                 best shot after search_after */
  ARGUS_TRACK_REQ_BETTER = 2, /* a clearly better shot */
} argus_track_request_reason;

/* "Embed and search this shot of track `track_id` now": detection `det` of
 * this update, or, when det is -1, the track's stored best shot (only with
 * shot_bytes > 0: the best shot came in an earlier frame, before the track
 * was confirmed or while re-matching had to wait, and the caller kept it
 * in the shot buffer). */
typedef struct argus_track_request {
  uint64_t track_id;
  int det;          /* index into the update's detections, or -1 */
  const void *shot; /* det -1: the track's shot buffer; else NULL */
  argus_track_request_reason reason;
  float quality; /* of the shot */
  double time;   /* media time of the shot */
} argus_track_request;

typedef enum argus_track_end_reason {
  ARGUS_TRACK_END_TIMEOUT = 1, /* not matched for max_lost seconds */
  ARGUS_TRACK_END_EVICTED = 2, /* capacity full: made room for a new track */
  ARGUS_TRACK_END_FLUSH = 3,   /* argus_track_flush (end of stream) */
} argus_track_end_reason;

/* A track that ended. */
typedef struct argus_track_end {
  uint64_t track_id;
  argus_track_end_reason reason;
  int confirmed; /* tentative tracks end too (false detections mostly) */
  double first_time, last_time; /* first and last matched media times */
  int hits;
  int nrequests; /* match requests issued for it */
  /* The best shot (highest quality; the earliest among equals; quality -1
   * when every shot had a reject flag). */
  float best_quality;
  double best_time;
  float best_box[4];
  int best_requested; /* the best shot was itself requested */
  /* The policy asks to search the best shot now: confirmed, best shot not
   * requested, quality >= end_min_quality and better_delta over the last
   * requested shot, if any. The caller searches what it kept in `shot` (or
   * elsewhere). */
  int match_best;
  /* The track's best-shot buffer (shot_bytes; NULL when shot_bytes is 0),
   * valid until the next update, flush or destroy. */
  const void *shot;
} argus_track_end;

/* The answer to one update or flush. Arrays are owned by the tracker and
 * valid until its next update, flush or destroy. */
typedef struct argus_track_result {
  const argus_track_assignment *assign; /* one per detection */
  int nassign;
  /* At most one per track, in the order of the tracks' detections. */
  const argus_track_request *requests;
  int nrequests;
  const argus_track_end *ended;
  int nended;
  int evicted; /* tracks evicted in this update */
  int dropped; /* detections left without a track in this update */
} argus_track_result;

/* ---- the tracker -------------------------------------------------------- */

typedef struct argus_tracker argus_tracker;

/* Creates a tracker. cfg: borrowed, copied; NULL: defaults. err (may be
 * NULL) says what failed. Errors: INVALID_ARG (a parameter out of range:
 * err names it), NOMEM. */
argus_err argus_track_create(const argus_track_config *cfg,
                             argus_tracker **out, argus_error_detail *err);
/* Frees a tracker (NULL is fine). Pending results become invalid. */
void argus_track_destroy(argus_tracker *tr);
/* Why the tracker's last failed call failed ("update: detection 3: box
 * (...) has size 0 x 12, not positive"); "" when none failed. Valid until
 * the next call on the tracker (a tracker is used by one thread at a
 * time, so the reason is that caller's). Also logged. */
const char *argus_track_last_error(const argus_tracker *tr);

/* Feeds the detections of one frame at media time t (seconds; finite, not
 * before the previous update's). dets: n entries, borrowed (may be NULL when
 * n is 0). *res receives the assignments, match requests and ended tracks.
 * The input is validated first; on an error nothing changes.
 * Errors: INVALID_ARG (NULL pointers, t not finite or going back, a box with
 * NaN/infinite coordinates or non-positive size, score or quality not
 * finite or quality outside [0, 1], an embedding given when embed_dim is 0
 * or with a non-finite value or zero length; the log names the detection),
 * LIMIT (n > max_detections). */
argus_err argus_track_update(argus_tracker *tr, double t,
                             const argus_track_det *dets, int n,
                             argus_track_result *res);

/* Which detections of a coming update would benefit from an embedding:
 * need[i] = 1 when detection i is not associated by IoU alone while a
 * recently lost track with an appearance could claim it, or when its IoU
 * association is ambiguous (several candidates) and the tracks involved have
 * an appearance. Changes no track (it uses the tracker's scratch memory,
 * hence the non-const pointer). A pipeline that embeds only best shots
 * calls this, embeds the flagged faces and passes them to
 * argus_track_update with the same t and detections. need: n bytes, written.
 * Errors: as argus_track_update. */
argus_err argus_track_needs_embedding(argus_tracker *tr, double t,
                                      const argus_track_det *dets, int n,
                                      unsigned char *need);

/* Gives a live track an embedding computed after the update, e.g. that of a
 * requested shot: it updates the track's appearance like a matched
 * detection's embedding. emb: embed_dim floats, borrowed. Errors:
 * INVALID_ARG (embed_dim is 0, bad values), NOT_FOUND (no live track
 * track_id). */
argus_err argus_track_set_embedding(argus_tracker *tr, uint64_t track_id,
                                    const float *emb);

/* Ends every live track (reason FLUSH), e.g. at the end of a file, at media
 * time t (finite, not before the last update; its ended events carry
 * match_best as for a timeout). Results as for an update, with no
 * assignments or requests. Errors: INVALID_ARG. */
argus_err argus_track_flush(argus_tracker *tr, double t,
                            argus_track_result *res);

/* A live track. */
typedef struct argus_track_info {
  uint64_t id;
  argus_track_state state;
  double first_time, last_time; /* first and last matched media time */
  int hits;
  float box[4];       /* last matched detection */
  float predicted[4]; /* the filter's box at the tracker's current time */
  float velocity[2];  /* of the centre, pixels per second */
  float best_quality;
  double best_time;
  int nrequests;
  int has_appearance;
} argus_track_info;

/* Describes live track track_id. Errors: INVALID_ARG, NOT_FOUND. */
argus_err argus_track_get(const argus_tracker *tr, uint64_t track_id,
                          argus_track_info *out);
/* Writes the ids of up to cap live tracks (oldest first) and their number
 * into *n (may exceed cap). Errors: INVALID_ARG. */
argus_err argus_track_list(const argus_tracker *tr, uint64_t *ids, int cap,
                           int *n);

/* Counters since creation. */
typedef struct argus_track_stats {
  int live;            /* live tracks now */
  uint64_t updates;    /* successful updates */
  uint64_t detections; /* detections fed */
  uint64_t created;    /* tracks started */
  uint64_t confirmed;  /* tracks confirmed */
  uint64_t ended;      /* tracks ended, any reason */
  uint64_t evicted;    /* of which evicted for capacity */
  uint64_t dropped;    /* detections left without a track */
  uint64_t reid;       /* associations made by appearance alone */
  uint64_t requests_early, requests_better, end_matches;
  double time;               /* media time of the last update (NaN: none) */
} argus_track_stats;

argus_err argus_track_get_stats(const argus_tracker *tr,
                                argus_track_stats *out);

/* "tentative"/"confirmed", "early"/"better", "timeout"/"evicted"/"flush";
 * "?" otherwise. */
const char *argus_track_state_name(argus_track_state s);
const char *argus_track_request_name(argus_track_request_reason r);
const char *argus_track_end_name(argus_track_end_reason r);

ARGUS_END_DECLS
#endif
