/*
 * argus edge: the first stage of the live pipeline. Cameras in, face
 * events out:
 *
 *   video hub (a thread per camera, drop-oldest rings)
 *     -> analysis workers (N): frame -> RGB, detector + landmarks + quality
 *     -> tracker of the frame's camera (frames of one camera strictly in
 *        order): tracks, best shots, search requests
 *     -> shot queue (aligned crop + frame thumbnail per requested shot)
 *     -> embedder, batched across cameras
 *     -> "face" event per searched shot (argus_event_face: embedding, model
 *        id, camera, track, quality, box, the crop and the boxed thumbnail
 *        as JPEG with their SHA-256) published on the bus.
 *
 * The edge decides which faces are worth a search; it never learns what a
 * search found (the match stage, argus/match.h, decides alerts), so the two
 * can run in different processes. The embedding of each searched shot also
 * feeds its track's appearance (re-identification after occlusions).
 *
 * Memory: queues and pools are sized at creation (frames: the video hub's
 * per-camera pools; shots: `shot_slots`; trackers and their best-shot
 * buffers when a camera is added); the per-frame path does not allocate
 * once frame sizes repeat. A face event (a few KiB) is allocated per
 * searched shot. Every queue is bounded and counts what it drops.
 *
 * Errors of one camera (bad URL, corrupt file, a stall) stay with that
 * camera: its stats show the state and the last error, the others go on.
 */
#ifndef ARGUS_EDGE_H
#define ARGUS_EDGE_H

#include <stddef.h>
#include <stdint.h>

#include "argus/bus.h"
#include "argus/core.h"
#include "argus/export.h"
#include "argus/face.h"
#include "argus/image.h"
#include "argus/policy.h"
#include "argus/video.h"

ARGUS_BEGIN_DECLS

#define ARGUS_EDGE_MAX_THREADS 64

typedef struct argus_edge argus_edge;

typedef struct argus_edge_config {
  int threads;      /* analysis workers (0: online CPUs) */
  double fps;       /* analysed frames per second per camera (default 5) */
  int realtime;     /* files at their native rate (default 0: as fast as they
                       decode) */
  int loop;         /* files start again at their end (default 0) */
  int queue_frames; /* ring per camera (default 2): frames waiting for
                       analysis; older ones are dropped */
  double open_timeout, read_timeout; /* live sources (0: video defaults) */
  int max_cameras;  /* cameras at once (0: ARGUS_VIDEO_DEFAULT_CAMERAS) */

  int detect_size;   /* full-frame detection pass, longer side in network
                        pixels (default ARGUS_FACE_DEFAULT_SIZE) */
  float min_score;   /* detector threshold (0: the card's) */
  float min_face;    /* faces narrower than this (px) are ignored (default 0) */
  int max_faces;     /* per frame, the highest scores (default 32) */
  int max_tracks;    /* live tracks per camera (default 64) */
  float min_quality; /* quality of the first search of a track (0: the
                        tracker's default, 0.5) */

  int embed_batch;   /* shots embedded together at most (default 8) */
  double embed_wait; /* seconds a shot waits for its batch to fill (default
                        0.03); an idle worker embeds at once */
  int shot_slots;    /* shots waiting for the embedder (default 64) */
  int thumb_width;   /* frame thumbnail fits in thumb_width x
                        thumb_width * 9 / 16 (default 320) */
  int jpeg_quality;  /* crops and thumbnails (default 90) */

  /* Motion-gated detection (docs/pipeline.md): the detector searches only
   * around what moved since the previous analysed frame and around the
   * live tracks, and skips a frame where neither is; the whole frame at
   * least every motion_refresh seconds. */
  int motion;             /* ARGUS_EDGE_MOTION_* (default ON) */
  int motion_threshold;   /* 8x8 block mean change, luma levels (default 8) */
  double motion_refresh;  /* whole-frame search interval, media s (default 2) */
  /* Decoding of every camera (argus_video_decode: full, fast, nofilter;
   * docs/video.md); -1 (default): the video module's default. */
  int decode;
} argus_edge_config;

#define ARGUS_EDGE_MOTION_OFF 0 /* every analysed frame searched whole */
#define ARGUS_EDGE_MOTION_ON 1

/* Fills *c with the defaults above. */
void argus_edge_config_init(argus_edge_config *c);

/* Creates the edge on a face engine (kept: must outlive the edge; its
 * embedder's model id goes into every face event) publishing on `bus`
 * (kept), and starts its workers. Cameras are added afterwards. Errors:
 * INVALID_ARG (a setting out of range), NOMEM, INTERNAL; err says what. */
argus_err argus_edge_create(const argus_edge_config *c,
                            argus_face_engine *engine, argus_bus *bus,
                            argus_edge **out, argus_error_detail *err);
/* Stops the cameras and workers and frees everything (frames and shots not
 * yet analysed are discarded: drain first). Accepts NULL. */
void argus_edge_destroy(argus_edge *e);

/* Adds a camera: `name` labels its face events and stats (NULL/"": the
 * URL). url: a file, rtsp://, http(s)://, /dev/videoN. fps: analysed frames
 * per second (0: the edge's). The source is opened by the camera's thread:
 * a bad URL or file shows up in its stats, not here. *index (may be NULL)
 * receives its index. Errors: INVALID_ARG, LIMIT (too many cameras),
 * NOMEM. */
argus_err argus_edge_add_camera(argus_edge *e, const char *name,
                                const char *url, double fps, int *index,
                                argus_error_detail *err);

/* A camera with its stored settings (argus camera add --settings): the
 * arguments of argus_edge_add_camera and what else reaches the camera's
 * video configuration. Zero-initialise, then set what differs. */
typedef struct argus_edge_camera_opts {
  const char *name; /* as argus_edge_add_camera */
  const char *url;  /* required */
  double fps;       /* 0: the edge's */
  int rtsp_udp;     /* RTSP transport: 1 UDP; 0 or -1 TCP (the default) */
  /* The camera's settings (a JSON object; NULL: none): their "policy"
   * member (argus/policy.h) is enforced on every frame and face. */
  const char *settings;
} argus_edge_camera_opts;

/* argus_edge_add_camera with options (o borrowed for the call). Errors: as
 * argus_edge_add_camera; INVALID_ARG also for o NULL, rtsp_udp outside
 * -1..1, or settings whose "policy" argus_policy_from_settings refuses. */
argus_err argus_edge_add_camera_opts(argus_edge *e,
                                     const argus_edge_camera_opts *o,
                                     int *index, argus_error_detail *err);
/* Stops a camera; its shots still queued are discarded. Errors:
 * INVALID_ARG, NOT_FOUND. */
argus_err argus_edge_remove_camera(argus_edge *e, int index);

/* Replaces the recognition policy of camera `index` (pol borrowed; NULL:
 * the default, match): the next frame analysed follows it. Frames are
 * judged by their capture time (UTC) against the windows, faces by their
 * box centre against the masks. Errors: INVALID_ARG (e NULL, a mode
 * outside the enum, a count over the limits), NOT_FOUND. */
argus_err argus_edge_set_policy(argus_edge *e, int index,
                                const argus_policy *pol);

/* Housekeeping, called now and then (every 0.1 s) by the owner: ends the
 * tracks of cameras whose source stopped (end of file, lost stream) once
 * their frames are analysed, so that their last best shots are searched. */
void argus_edge_maintain(argus_edge *e);

/* Whether every camera has ended (files finished or failed). */
int argus_edge_all_ended(argus_edge *e);
/* Whether everything of the ended cameras is through: frames analysed,
 * tracks flushed, shots embedded and published; and no camera is live. */
int argus_edge_idle(argus_edge *e);

typedef struct argus_edge_camera_stats {
  int index;
  char name[ARGUS_EVENT_NAME_MAX];
  argus_video_stats video; /* state, connected, fps_in, counters, errors */
  double fps_analysed;     /* over the last interval (argus_edge_tick_rates) */
  uint64_t frames_analysed;
  uint64_t frames_failed; /* analysis errors (logged) */
  uint64_t faces;         /* detections */
  uint64_t tracks;        /* tracks started */
  uint64_t tracks_confirmed;
  int tracks_live;
  uint64_t shots;         /* best shots embedded and published */
  uint64_t shots_dropped; /* shot queue full */
  /* Recognition policy (argus/policy.h): frames not analysed because the
   * mode was off; faces dropped inside a mask; faces detected and tracked
   * in detect mode (never embedded); the mode that applied last. */
  uint64_t frames_policy_off, faces_masked, faces_detect_only;
  argus_policy_mode policy_mode;
  /* Motion gating: analysed frames searched whole, in a window around
   * motion and tracks, or not at all; the frame area searched, summed
   * (frames searched whole count 1). */
  uint64_t det_full, det_window, det_skipped;
  double det_area;
} argus_edge_camera_stats;

typedef struct argus_edge_stats {
  int cameras, workers;
  uint64_t frames_analysed, frames_dropped; /* dropped: video rings */
  uint64_t faces, shots, shots_dropped, embed_batches, embedded;
  uint64_t publish_errors; /* face events the bus refused, or no memory */
  int frames_queued, shots_queued;
  /* Wall time summed (ns) and counts, for means: detection per frame,
   * tracking per frame, embedding per shot. */
  uint64_t ns_detect, n_detect, ns_track, n_track, ns_embed;
  /* Thread CPU seconds by stage: detect (conversion, detection, landmarks,
   * quality), track (tracker, best-shot crops), embed (embedder), publish
   * (JPEG encoding, hashing, publishing). */
  double cpu_detect, cpu_track, cpu_embed, cpu_publish;
  /* Motion gating totals (argus_edge_camera_stats). */
  uint64_t det_full, det_window, det_skipped;
  double det_area;
} argus_edge_stats;

/* A snapshot: totals in *out, per camera into cams[0..cap) (may be NULL
 * with cap 0); *ncams (may be NULL) receives the number of cameras.
 * Errors: INVALID_ARG. */
argus_err argus_edge_get_stats(argus_edge *e, argus_edge_stats *out,
                               argus_edge_camera_stats *cams, int cap,
                               int *ncams);
/* Recomputes each camera's fps_analysed over the dt seconds since the last
 * call (the owner's status interval). */
void argus_edge_tick_rates(argus_edge *e, double dt);

/* ---- duration histograms ----------------------------------------------- */

/* Upper bounds of every histogram below, in seconds (ascending): 0.0005,
 * 0.001, 0.0025, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5,
 * 1, 2.5, 5, 10. */
#define ARGUS_EDGE_HIST_BOUNDS 16

/* A histogram of durations in Prometheus' form: cumulative buckets, the
 * count (the "+Inf" bucket) and the sum. Recorded with atomics (no lock,
 * no allocation); read as a snapshot. */
typedef struct argus_edge_histogram {
  int nbounds;                           /* ARGUS_EDGE_HIST_BOUNDS */
  double le[ARGUS_EDGE_HIST_BOUNDS];     /* upper bounds, seconds */
  uint64_t buckets[ARGUS_EDGE_HIST_BOUNDS]; /* samples <= le[i] */
  uint64_t count;                        /* every sample */
  double sum;                            /* seconds, every sample */
} argus_edge_histogram;

/* Snapshots of the edge's histograms since its creation (each pointer may
 * be NULL): `detect`, the analysis of one frame (RGB conversion, detection,
 * landmarks, quality), one sample per analysed frame; `embed`, the embedding
 * of one shot (a batch's time divided by its size, counted once per shot).
 * Errors: INVALID_ARG (e NULL). */
argus_err argus_edge_histograms(argus_edge *e, argus_edge_histogram *detect,
                                argus_edge_histogram *embed);

/* ---- camera snapshots ---------------------------------------------------- */

/* The current frame of camera `index` as RGB8, scaled down to fit
 * max_width (aspect kept; never scaled up; max_width 0: the frame's own
 * size), into *out (free with argus_image_free). Costs nothing unless
 * asked: the request flags the camera and the next analysis worker to take
 * one of its frames copies it (scaled) for the caller, which waits at most
 * timeout_s seconds. Frames come at the camera's analysed rate (fps), so a
 * timeout of a second or two is plenty for a streaming camera. Several
 * callers may wait on one camera at once. Do not destroy the edge while a
 * call waits. Errors: INVALID_ARG (max_width outside 0..16384, timeout_s
 * outside 0..60, NULL), NOT_FOUND (no camera `index`; the camera is not
 * streaming: "camera 'x' has no frame yet (state: waiting)"; no frame came
 * within timeout_s; the camera was removed meanwhile), NOMEM; err says
 * which. */
argus_err argus_edge_camera_snapshot(argus_edge *e, int index, int max_width,
                                     double timeout_s, argus_image *out,
                                     argus_error_detail *err);

ARGUS_END_DECLS
#endif
