/*
 * argus pipeline: the live, one-process pipeline from cameras to alerts.
 *
 *   video hub (a thread per camera, drop-oldest rings)
 *     -> analysis pool (N workers): frame -> RGB, detector + landmarks +
 *        quality per frame
 *     -> tracker of the frame's camera (frames of one camera strictly in
 *        order, one thread at a time): tracks, best shots, match requests
 *     -> shot queue (aligned crop + frame thumbnail per requested shot)
 *     -> embedder, batched across cameras (whichever worker is free takes up
 *        to `embed_batch` shots of any cameras)
 *     -> matcher: 1:N search of the active watchlists, each with its own
 *        threshold; the tracker decides (one alert per person per track, a
 *        per-person cooldown per camera)
 *     -> alert: face crop and thumbnail (box drawn) as JPEG, stored through
 *        the store by one writer thread, then published on the bus
 *        (ARGUS_BUS_TOPIC_ALERT); every searched shot is published as a face
 *        event (no biometric data), cameras and the pipeline publish status.
 *
 * Privacy: faces that match nothing leave only counters, unless
 * keep_unmatched > 0: then the searched shots that matched nothing are
 * stored (crop and thumbnail, no template) and purged after that many
 * seconds.
 *
 * Memory: queues and pools are sized at creation (frames: the video hub's
 * per-camera pools; shots: `shot_slots`; alerts: `alert_queue`; trackers and
 * their best-shot buffers when a camera is added); the per-frame path does
 * not allocate once frame sizes repeat. Every queue is bounded and counts
 * what it drops: frames (video rings), shots (shot queue full), alerts
 * (writer queue full), bus messages (slow subscribers).
 *
 * Errors of one camera (bad URL, corrupt file, a stall) stay with that
 * camera: its stats show the state and the last error, the others go on.
 */
#ifndef ARGUS_PIPELINE_H
#define ARGUS_PIPELINE_H

#include <stddef.h>
#include <stdint.h>

#include "argus/bus.h"
#include "argus/core.h"
#include "argus/video.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ARGUS_PIPELINE_MAX_WATCHLISTS 64
/* Cameras at once (the video hub's default). */
#define ARGUS_PIPELINE_MAX_CAMERAS ARGUS_VIDEO_DEFAULT_CAMERAS
#define ARGUS_PIPELINE_MAX_THREADS 64

typedef struct argus_pipeline argus_pipeline;

/* A detailed reason for a failure ("models: fr_detect.card.json not found"). */
typedef struct argus_pipeline_error {
  char msg[512];
} argus_pipeline_error;

typedef struct argus_pipeline_config {
  /* Models folder (NULL: $ARGUS_MODELS, else ./models); borrowed. */
  const char *models_dir;
  int allow_unverified; /* models whose checksum differs from the card */
  /* Database (NULL: the default path); borrowed. Templates of the watched
   * watchlists are read from it, alerts written to it. */
  const char *db_path;
  /* Audit actor of the pipeline's store handles (NULL: "pipeline"). */
  const char *actor;
  /* Watchlists to watch, by name (borrowed); none: every active one. A
   * name that does not exist is an error. */
  const char *const *watchlists;
  int nwatchlists;
  /* Bus to publish on (borrowed, must outlive the pipeline). NULL: the
   * pipeline opens its own in-process bus (argus_pipeline_bus). */
  argus_bus *bus;

  int threads;      /* analysis workers (0: online CPUs) */
  double fps;       /* analysed frames per second per camera (default 5) */
  int realtime;     /* files at their native rate (default 0: as fast as they
                       decode) */
  int loop;         /* files start again at their end (default 0) */
  int queue_frames; /* ring per camera (default 2): frames waiting for
                       analysis; older ones are dropped */
  double open_timeout, read_timeout; /* live sources (0: video defaults) */

  int detect_size;   /* full-frame detection pass, longer side in network
                        pixels (default 640) */
  float min_score;   /* detector threshold (0: the card's) */
  float min_face;    /* faces narrower than this (px) are ignored (default 0) */
  int max_faces;     /* per frame, the highest scores (default 32) */
  int max_tracks;    /* live tracks per camera (default 64) */
  float min_quality; /* quality of the first search of a track (0: the
                        tracker's default, 0.5) */
  double cooldown;   /* per person per camera, seconds (< 0: tracker's
                        default 30; 0: off) */

  int embed_batch;   /* shots embedded together at most (default 8) */
  double embed_wait; /* seconds a shot waits for its batch to fill (default
                        0.03); an idle worker embeds at once */
  int shot_slots;    /* shots waiting for the embedder (default 64) */
  int alert_queue;   /* alerts waiting for the writer (default 64) */
  int thumb_width;   /* frame thumbnail fits in thumb_width x
                        thumb_width * 9 / 16 (default 320) */
  int jpeg_quality;  /* crops and thumbnails (default 90) */

  double keep_unmatched;  /* seconds; > 0 stores unmatched searched shots
                             with that retention (default 0: counts only) */
  double status_interval; /* seconds between status documents (default 1) */
  int publish_faces;      /* publish a face event per searched shot
                             (default 1) */
} argus_pipeline_config;

/* Fills *c with the defaults above. */
void argus_pipeline_config_init(argus_pipeline_config *c);

/* Loads the models, opens the store, loads the watchlists' templates into
 * the in-memory index, starts the workers and the writer thread. Cameras
 * are added afterwards. Errors: INVALID_ARG (a setting out of range), NOT_FOUND
 * (models, a watchlist), CHECKSUM, IO, CORRUPT, NOMEM, INTERNAL; err says
 * what and why. */
argus_err argus_pipeline_create(const argus_pipeline_config *c,
                                argus_pipeline **out,
                                argus_pipeline_error *err);
/* Stops the cameras and the workers, lets the writer store and publish the
 * alerts already queued, and frees everything (frames and shots not yet
 * analysed are discarded: call argus_pipeline_drain first to finish them).
 * Accepts NULL. */
void argus_pipeline_destroy(argus_pipeline *p);

/* The bus the pipeline publishes on: the one it was given, or its own,
 * which argus_pipeline_destroy closes (with any subscriptions still on it:
 * unsubscribe first). */
argus_bus *argus_pipeline_bus(argus_pipeline *p);

/* Adds a camera: `name` labels its alerts and stats (NULL/"": the URL);
 * when a camera of that name is stored (argus camera add), its alerts link
 * to it. `url`: a file, rtsp://, http(s)://, /dev/videoN. fps: analysed
 * frames per second (0: the pipeline's). The source is opened by the
 * camera's thread: a bad URL or file shows up in its stats, not here.
 * *index (may be NULL) receives its index. Errors: INVALID_ARG, LIMIT (too
 * many cameras), NOMEM. */
argus_err argus_pipeline_add_camera(argus_pipeline *p, const char *name,
                                    const char *url, double fps, int *index,
                                    argus_pipeline_error *err);
/* Stops a camera; its shots still queued are discarded. Errors:
 * INVALID_ARG, NOT_FOUND. */
argus_err argus_pipeline_remove_camera(argus_pipeline *p, int index);

/* Reloads the watched watchlists from the store (names, thresholds,
 * persons, templates) and swaps the index; searches go on meanwhile. The
 * pipeline also does it by itself when a "watchlist.change" document is
 * published on its bus. Errors: as argus_pipeline_create. */
argus_err argus_pipeline_reload(argus_pipeline *p, argus_pipeline_error *err);

/* Waits until every camera that can end (files without loop) has ended,
 * its frames are analysed, its tracks flushed (best shots at the end
 * searched), and every shot and alert is handled and published (and the
 * bus's callback subscribers have run). Returns OK, or LIMIT after
 * timeout_s seconds (< 0: no limit). Live cameras never end: with them, this
 * waits for the timeout. */
argus_err argus_pipeline_drain(argus_pipeline *p, double timeout_s);
/* Whether every camera has ended (files finished or failed). */
int argus_pipeline_all_ended(argus_pipeline *p);

/* Latency figures (seconds) over the whole run: p50/p99 from a log-scale
 * histogram (5 % bins). */
typedef struct argus_pipeline_latency {
  uint64_t count;
  double p50, p99, max, mean;
} argus_pipeline_latency;

typedef struct argus_pipeline_camera_stats {
  int index;
  argus_video_stats video; /* state, connected, fps_in, counters, errors */
  double fps_analysed;     /* over the last status interval */
  uint64_t frames_analysed;
  uint64_t frames_failed; /* analysis errors (logged) */
  uint64_t faces;         /* detections */
  uint64_t tracks;        /* tracks started (confirmed: below) */
  uint64_t tracks_confirmed;
  int tracks_live;
  uint64_t shots;         /* best shots searched */
  uint64_t matches;       /* searches that matched someone */
  uint64_t alerts;        /* alerts raised (not suppressed) */
  uint64_t suppressed;    /* matches suppressed (same track, cooldown) */
  uint64_t shots_dropped; /* shot queue full */
} argus_pipeline_camera_stats;

typedef struct argus_pipeline_stats {
  int cameras, workers;
  int templates, persons, watchlists; /* in the index */
  /* Totals. */
  uint64_t frames_analysed, frames_dropped; /* dropped: video rings */
  uint64_t faces, shots, matches, alerts, suppressed;
  uint64_t shots_dropped, alerts_dropped; /* queues full */
  uint64_t alerts_stored, store_errors, unmatched_stored, unmatched_purged;
  uint64_t embed_batches;
  uint64_t reloads; /* watchlists reloaded (changes seen while running) */
  /* Queue depths now. */
  int frames_queued; /* in the video rings */
  int shots_queued, alerts_queued;
  /* Means over the last status interval (0 when nothing happened). */
  double detect_ms;  /* per frame: RGB conversion, detection, landmarks,
                        quality */
  double track_ms;   /* per frame: tracker, best-shot crops, thumbnails */
  double embed_ms;   /* per embedded shot (batch time / batch size) */
  double batch_mean; /* shots per embedder batch */
  /* The same since the start. */
  double detect_ms_avg, track_ms_avg, embed_ms_avg, batch_mean_avg;
  /* CPU seconds since the start, by stage (thread CPU time). decode is the
   * process's CPU time not spent in the workers and the writer: camera
   * threads (demux, decode, conversion) and the rest. */
  double cpu_decode, cpu_detect, cpu_track, cpu_embed, cpu_match, cpu_alert,
      cpu_writer, cpu_total;
  double uptime; /* seconds since create */
  /* Capture (frame read) -> alert published; capture -> search done. */
  argus_pipeline_latency alert_latency, search_latency;
} argus_pipeline_stats;

/* A snapshot: totals in *out, and per camera into cams[0..cap) (may be NULL
 * with cap 0); *ncams (may be NULL) receives the number of cameras (may
 * exceed cap). Errors: INVALID_ARG. */
argus_err argus_pipeline_get_stats(argus_pipeline *p, argus_pipeline_stats *out,
                                   argus_pipeline_camera_stats *cams, int cap,
                                   int *ncams);

#ifdef __cplusplus
}
#endif
#endif
