/*
 * argus pipeline: the live pipeline in one process, composed of its stages
 * joined by typed events on a bus (docs/pipeline.md):
 *
 *   edge (argus/edge.h): cameras -> detect -> track -> best shot -> embed
 *     --"face"--> match (argus/match.h): gallery search -> per-watchlist
 *                 threshold -> one alert per person per track -> cooldown
 *     --"alert.raised"--> store sink: alert + crop + thumbnail stored
 *                 through the store (audited; spooled and retried, in
 *                 order and once each, while the database is busy:
 *                 alert_spool, alert_retry, docs/alerts.md), then
 *     --"alert"--> any other sink: the CLI printer, the API's live stream.
 *   Enrolment changes reach the matcher as "watchlist.change" events: from
 *   this process's gallery (argus_gallery_set_change_hook) and, for other
 *   processes' changes, from the store's change feed (the audit log), which
 *   the pipeline follows.
 *
 * The pipeline owns none of the parts it is given (engine, gallery, store,
 * bus): the caller makes them (argus_pipeline_parts_open does it the usual
 * way) and wires them, so that a command can run the stages in one process
 * or, later, in several. It owns the three stages, the store sink and a
 * housekeeping thread (status documents, camera flushes, retention, the
 * change feed).
 *
 * Privacy: faces that match nothing leave only counters, unless
 * keep_unmatched > 0: then the searched shots that matched nothing are
 * stored (crop and thumbnail, no template) and purged after that many
 * seconds.
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
#include "argus/edge.h"
#include "argus/export.h"
#include "argus/face.h"
#include "argus/gallery.h"
#include "argus/match.h"
#include "argus/store.h"
#include "argus/video.h"

ARGUS_BEGIN_DECLS

#define ARGUS_PIPELINE_MAX_WATCHLISTS ARGUS_MATCH_MAX_WATCHLISTS
/* Cameras at once by default (the video hub's default; more with
 * argus_pipeline_config.max_cameras). */
#define ARGUS_PIPELINE_MAX_CAMERAS ARGUS_VIDEO_DEFAULT_CAMERAS
#define ARGUS_PIPELINE_MAX_THREADS ARGUS_EDGE_MAX_THREADS

typedef struct argus_pipeline argus_pipeline;

/* A detailed reason for a failure ("models: fr_detect.card.json not found"). */
typedef argus_error_detail argus_pipeline_error;

typedef struct argus_pipeline_config {
  /* Watchlists to watch, by name (borrowed); none: every active one. A
   * name that does not exist is an error. */
  const char *const *watchlists;
  int nwatchlists;

  int threads;      /* analysis workers (0: online CPUs) */
  double fps;       /* analysed frames per second per camera (default 5) */
  int realtime;     /* files at their native rate (default 0: as fast as they
                       decode) */
  int loop;         /* files start again at their end (default 0) */
  int queue_frames; /* ring per camera (default 2): frames waiting for
                       analysis; older ones are dropped */
  double open_timeout, read_timeout; /* live sources (0: video defaults) */

  int detect_size;   /* full-frame detection pass, longer side in network
                        pixels (default ARGUS_FACE_DEFAULT_SIZE) */
  float min_score;   /* detector threshold (0: the card's) */
  float min_face;    /* faces narrower than this (px) are ignored (default 0) */
  int max_faces;     /* per frame, the highest scores (default 32) */
  int max_tracks;    /* live tracks per camera (default 64) */
  float min_quality; /* quality of the first search of a track (0: the
                        tracker's default, 0.5) */
  double cooldown;   /* per person per camera, seconds (< 0: the
                        matcher's default 30; 0: off) */
  float fusion_margin; /* score fusion over a track (argus/match.h;
                          0: off, the default; at most 0.5) */
  /* How the searches score, as argus_matcher_config's (argus/match.h):
   * score_norm an argus_gallery_norm, fuse an argus_gallery_fuse
   * (argus/gallery.h). Defaults: the top-N shift and the mean template,
   * as `argus identify` (docs/gallery.md); 0 and 0: cosine similarity of
   * the best photo. */
  int score_norm;
  int fuse;

  int embed_batch;    /* shots embedded together at most (default 8) */
  double embed_wait;  /* seconds a shot waits for its batch to fill (default
                        0.03); an idle worker embeds at once */
  int shot_slots;     /* shots waiting for the embedder (default 64) */
  int alert_queue;    /* alerts waiting for the store sink (default 64) */
  int alert_spool;    /* alerts the store sink holds while the database is
                        busy or unavailable (another process holds the
                        write lock beyond the busy timeout, a full disk),
                        stored later in order, each once (default 1024,
                        1..1048576); an alert raised while it is full is
                        lost (counted in alerts_lost, still published) */
  double alert_retry; /* seconds the spooled alerts are still retried when
                         the pipeline finishes (argus_pipeline_flush_alerts,
                         destroy) before those left count as lost (default
                         30, 0..86400); while it runs, a spooled alert is
                         retried until it is stored */
  int thumb_width;    /* frame thumbnail fits in thumb_width x
                        thumb_width * 9 / 16 (default 320) */
  int jpeg_quality;   /* crops and thumbnails (default 90) */
  /* Motion-gated detection (argus_edge_config: ARGUS_EDGE_MOTION_ON by
   * default, threshold 8, refresh 2 s). */
  int motion;
  int motion_threshold;
  double motion_refresh;
  /* argus_edge_config.decode: -1 (default) the video module's default. */
  int decode;

  double keep_unmatched;  /* seconds; > 0 stores unmatched searched shots
                             with that retention (default 0: counts only) */
  double status_interval; /* seconds between status documents (default 1) */
  int publish_faces;      /* ignored: face events join edge and match, so
                             every searched shot is one (kept for callers) */
  int max_cameras;        /* cameras at once: sizes the video hub and the edge's
                      tables (0: ARGUS_PIPELINE_MAX_CAMERAS; at most
                      ARGUS_VIDEO_MAX_CAMERAS) */
  /* Which stages run here (argus_pipeline_role; default ALL). Split roles
   * talk over a shared bus (NATS, docs/scale.md): EDGE runs the cameras and
   * publishes face events (parts: engine, bus); MATCH searches them and
   * publishes what it raises (parts: gallery, store for the change feed,
   * bus); SINK stores the raised alerts and publishes them as "alert"
   * (parts: store, bus). A part a role does not use may be NULL. */
  int role;
} argus_pipeline_config;

typedef enum argus_pipeline_role {
  ARGUS_PIPELINE_ALL = 0,
  ARGUS_PIPELINE_EDGE = 1,
  ARGUS_PIPELINE_MATCH = 2,
  ARGUS_PIPELINE_SINK = 4,
} argus_pipeline_role;

/* The role a pipeline was made with (ARGUS_PIPELINE_ALL for NULL). */
int argus_pipeline_get_role(const argus_pipeline *p);
/* "all", "edge", "match", "sink" (NULL for another value). */
const char *argus_pipeline_role_name(int role);
/* The role of a name (-1: none). */
int argus_pipeline_role_parse(const char *name);

/* Fills *c with the defaults above. */
void argus_pipeline_config_init(argus_pipeline_config *c);

/* The parts a pipeline runs on, made by the caller; all kept (they must
 * outlive the pipeline) and not freed by it. */
typedef struct argus_pipeline_parts {
  argus_face_engine *engine; /* the edge's models */
  argus_gallery *gallery;    /* the matcher's watchlists (searchable) */
  /* The store sink's handle: alerts, unmatched faces, retention, the change
   * feed. Not the gallery's handle (they are used from different
   * threads). */
  argus_store *store;
  argus_bus *bus; /* the events between the stages */
  /* The gallery's own store handle, when argus_pipeline_parts_open made it
   * (closed by argus_pipeline_parts_close); the pipeline does not use it. */
  argus_store *gallery_store;
  /* The search threads, when argus_pipeline_parts_open_with made them. */
  argus_threadpool *search_pool;
} argus_pipeline_parts;

/* The usual parts: the models of models_dir (NULL: $ARGUS_MODELS, else
 * ./models), two handles on the database db_path (NULL: the default) with
 * the audit actor `actor` (NULL: "pipeline"), the gallery of the embedder's
 * model on one of them, and an in-process bus. argus_pipeline_parts_close
 * frees them. Errors: the engine's, the store's, the gallery's; err says
 * which. */
argus_err argus_pipeline_parts_open(const char *models_dir,
                                    int allow_unverified, const char *db_path,
                                    const char *actor,
                                    argus_pipeline_parts *out,
                                    argus_pipeline_error *err);
/* As argus_pipeline_parts_open, with the matcher's search tuned (the
 * `argus match` options --index and --search-threads). */
typedef struct argus_pipeline_parts_options {
  const char *models_dir; /* as argus_pipeline_parts_open */
  int allow_unverified;
  const char *db_path;
  const char *actor;
  /* The gallery's index kind (ARGUS_INDEX_AUTO: the default: exact fp32,
   * approximate from 1M templates; I8/F16: int8/fp16 scans re-ranked
   * exactly, same results, 2-4x fewer bytes per scan). */
  argus_index_kind index_kind;
  /* Threads that split each search (0 or 1: the subscriber's own thread;
   * at most 64). */
  int search_threads;
  /* Parts a role does not need, left out (NULL): the models (a sink's;
   * the gallery needs them, so skip_engine implies skip_gallery) and the
   * gallery with its store handle (an edge's and a sink's: loading a large
   * gallery takes seconds and memory). */
  int skip_engine, skip_gallery;
} argus_pipeline_parts_options;

argus_err argus_pipeline_parts_open_with(const argus_pipeline_parts_options *o,
                                         argus_pipeline_parts *out,
                                         argus_pipeline_error *err);
/* Frees what argus_pipeline_parts_open made (NULL members are skipped) and
 * zeroes *parts. Accepts NULL. */
void argus_pipeline_parts_close(argus_pipeline_parts *parts);

/* Composes the stages on the given parts: the matcher (named watchlists
 * must exist), the store sink, the edge and its workers, the housekeeping
 * thread; hooks the gallery's changes to the bus. Cameras are added
 * afterwards. Errors: INVALID_ARG (a setting out of range, a missing part),
 * NOT_FOUND (a watchlist), NOMEM, INTERNAL; err says what and why. */
argus_err argus_pipeline_create(const argus_pipeline_config *c,
                                const argus_pipeline_parts *parts,
                                argus_pipeline **out,
                                argus_pipeline_error *err);
/* Stops the cameras and the workers, lets the sink store and publish the
 * alerts already raised, and frees the stages (frames and shots not yet
 * analysed are discarded: call argus_pipeline_drain first to finish them).
 * The parts are left to the caller. Accepts NULL. */
void argus_pipeline_destroy(argus_pipeline *p);

/* The bus the pipeline's stages talk on (the parts' bus). */
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
/* argus_pipeline_add_camera with a camera's settings
 * (argus_edge_add_camera_opts). */
argus_err argus_pipeline_add_camera_opts(argus_pipeline *p,
                                         const argus_edge_camera_opts *o,
                                         int *index, argus_pipeline_error *err);
/* Stops a camera; its shots still queued are discarded. Errors:
 * INVALID_ARG, NOT_FOUND. */
argus_err argus_pipeline_remove_camera(argus_pipeline *p, int index);

/* Replaces the recognition policy of a running camera
 * (argus_edge_set_policy): the next frame follows it. Errors: INVALID_ARG,
 * NOT_FOUND. */
argus_err argus_pipeline_set_policy(argus_pipeline *p, int index,
                                    const argus_policy *pol);

/* Reloads the watched watchlists from the store (names, thresholds,
 * persons, templates) and swaps the index; searches go on meanwhile. The
 * matcher applies "watchlist.change" events by itself (one person, or
 * everything). Errors: the gallery's. */
argus_err argus_pipeline_reload(argus_pipeline *p, argus_pipeline_error *err);

/* Waits until every camera that can end (files without loop) has ended,
 * its frames are analysed, its tracks flushed (best shots at the end
 * searched), and every shot and alert is handled and published (alerts
 * waiting in the sink's spool for the database included; and the bus's
 * callback subscribers have run). Returns OK, or LIMIT after
 * timeout_s seconds (< 0: no limit). Live cameras never end: with them, this
 * waits for the timeout. */
argus_err argus_pipeline_drain(argus_pipeline *p, double timeout_s);
/* Stores the alerts waiting in the store sink's spool: retries them for
 * at most alert_retry seconds; those the database still does not take are
 * lost (counted in alerts_lost, logged, published with id null). Returns at
 * once when the spool is empty. Call after argus_pipeline_drain to know,
 * before destroy, whether every alert was stored (destroy does the same).
 * Errors: INVALID_ARG (p NULL), IO ("N alerts lost": err says how many). */
argus_err argus_pipeline_flush_alerts(argus_pipeline *p,
                                      argus_pipeline_error *err);
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
  uint64_t shots;         /* best shots embedded and published (face events) */
  uint64_t matches;       /* searches that matched someone */
  uint64_t alerts;        /* alerts raised (not suppressed) */
  uint64_t suppressed;    /* matches suppressed (same track, cooldown) */
  uint64_t shots_dropped; /* shot queue full */
  /* Recognition policy (argus/policy.h, argus_edge_camera_stats): frames
   * skipped in mode off, faces dropped inside masks, faces detected in
   * detect mode (never embedded), the mode of the last frame. */
  uint64_t frames_policy_off, faces_masked, faces_detect_only;
  argus_policy_mode policy_mode;
  /* Motion gating (argus_edge_camera_stats): analysed frames searched
   * whole, in a window, not at all; the frame area searched, summed. */
  uint64_t det_full, det_window, det_skipped;
  double det_area;
} argus_pipeline_camera_stats;

typedef struct argus_pipeline_stats {
  int cameras, workers;
  int templates, persons, watchlists; /* in the index */
  /* Totals. */
  uint64_t frames_analysed, frames_dropped; /* dropped: video rings */
  uint64_t faces, shots, matches, alerts, suppressed;
  uint64_t shots_dropped, alerts_dropped; /* queues full */
  uint64_t alerts_stored, store_errors, unmatched_stored, unmatched_purged;
  /* The store sink's spool: alerts waiting now for the database; alerts
   * stored late (they waited in the spool while the database refused a
   * try); alerts never stored (spool full, retries over at the end, or
   * dropped by a full alert_queue). */
  int alerts_spooled;
  uint64_t alerts_delayed, alerts_lost;
  /* A store sink on a shared bus: alerts raised by a matcher and not
   * stored because another matcher had alerted the person on the camera
   * within the cooldown (argus_event_alert.cooldown). */
  uint64_t alerts_cooled;
  uint64_t embed_batches;
  uint64_t reloads; /* watchlists reloaded (changes seen while running) */
  uint64_t changes; /* enrolment changes applied by the matcher */
  uint64_t events_dropped; /* face events or alerts dropped by full queues
                              between the stages */
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
  /* Verdict feedback and the legal basis (docs/lawful-use.md): matches not
   * alerted because the probe was nearer a negative example of the person
   * (not in `suppressed`); alerts raised marked by a negative example (in
   * `alerts`); search candidates left out because the person's review-by
   * date had passed (the gallery's count since it opened). */
  uint64_t suppressed_negative, marked_negative, withheld_review;
  /* Face events the matcher searched (shots counts the edge's), and those
   * its group has not handled yet (a shared bus; -1: not known). */
  uint64_t faces_searched;
  int64_t faces_backlog;
  /* A shared bus with crops kept at the edges (NATS, crops=request): the
   * crops of alerted faces this process fetched from their edges, and
   * those it could not (the alert went without a crop). */
  uint64_t crops_fetched, crops_missing;
  /* Motion gating totals (argus_pipeline_camera_stats). */
  uint64_t det_full, det_window, det_skipped;
  double det_area;
} argus_pipeline_stats;

/* A snapshot: totals in *out, and per camera into cams[0..cap) (may be NULL
 * with cap 0); *ncams (may be NULL) receives the number of cameras (may
 * exceed cap). Errors: INVALID_ARG. */
argus_err argus_pipeline_get_stats(argus_pipeline *p, argus_pipeline_stats *out,
                                   argus_pipeline_camera_stats *cams, int cap,
                                   int *ncams);

/* Duration histograms in Prometheus' form (argus_edge_histogram: fixed
 * bounds from 0.5 ms to 10 s, cumulative buckets, count, sum in seconds). */
typedef argus_edge_histogram argus_pipeline_histogram;

/* Snapshots of the pipeline's histograms since its creation (each pointer
 * may be NULL): `detect`, one sample per analysed frame (conversion,
 * detection, landmarks, quality); `embed`, one per embedded shot (its
 * batch's time divided by the batch size); `alert_latency`, one per alert
 * published on "alert" (capture of the frame that asked for the search ->
 * publication of the stored alert). Recording takes no lock and allocates
 * nothing. Errors: INVALID_ARG (p NULL). */
argus_err argus_pipeline_histograms(argus_pipeline *p,
                                    argus_pipeline_histogram *detect,
                                    argus_pipeline_histogram *embed,
                                    argus_pipeline_histogram *alert_latency);

/* The current frame of camera `index` (as argus_pipeline_add_camera gave
 * it) as a JPEG (the pipeline's jpeg_quality), scaled down to fit
 * max_width pixels (aspect kept, never scaled up; 0: full size): *jpeg is
 * malloc'd (free() it), *size its bytes. Costs nothing unless asked: the
 * next analysis worker to take a frame of that camera copies it; the call
 * waits at most timeout_s seconds (0..60) for one. Not while the pipeline
 * is being destroyed. Errors: INVALID_ARG, NOT_FOUND (no such camera, or it
 * has no frame: not streaming, "camera 'x' has no frame yet (state:
 * waiting)", or none analysed within timeout_s), NOMEM; err says which. */
argus_err argus_pipeline_camera_snapshot(argus_pipeline *p, int index,
                                         int max_width, uint8_t **jpeg,
                                         size_t *size, double timeout_s,
                                         argus_pipeline_error *err);

ARGUS_END_DECLS
#endif
