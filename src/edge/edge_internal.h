/* Internal pieces of the edge stage: cameras, workers, shot slots.
 *
 * Threads and locks:
 *   - camera threads (video hub) fill the per-camera rings;
 *   - workers (edge.c) pop frames under `pop_mu` (so that frames of a
 *     camera get tickets in order), analyse them without locks, then take
 *     their camera's `mu` and wait for their ticket's turn to run the
 *     tracker; they also embed batches of shots and publish their face
 *     events (shots.c);
 *   - the owner calls argus_edge_maintain now and then (flushes the trackers
 *     of cameras that ended).
 * Lock order: cams_mu, then cam->mu, then shot_mu (never two cameras). */
#ifndef ARGUS_EDGE_INTERNAL_H
#define ARGUS_EDGE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "argus/bus.h"
#include "argus/edge.h"
#include "argus/event.h"
#include "argus/face.h"
#include "argus/image.h"
#include "argus/track.h"
#include "argus/video.h"
#include "edge/histogram.h"
#include "edge/motion.h"

#define EDGE_MOD "edge"

/* ---- shots ------------------------------------------------------------------
 */

/* What a best-shot buffer (the tracker's, and a slot's) holds: this header,
 * the aligned crop (RGB8, align size), then the frame thumbnail (RGB8,
 * thumb_w x thumb_h packed, at most the configured size). */
typedef struct edge_shot_hdr {
  double time; /* media time */
  int64_t wall_ns;
  uint64_t mono_ns; /* capture of the frame it came from */
  float box[4];     /* frame pixels */
  float quality;
  int frame_w, frame_h;
  int thumb_w, thumb_h; /* 0: no thumbnail */
  int valid;
} edge_shot_hdr;

#define EDGE_SHOT_HDR_BYTES 128

typedef struct edge_slot {
  struct edge_slot *next;
  int cam;
  uint32_t gen;
  uint64_t track;
  double track_start;    /* media time the track was first seen (NAN:
                            unknown) */
  int reason;            /* argus_event_reason */
  uint64_t trigger_mono; /* capture of the frame that asked for it (the
                            latency clock) */
  uint64_t queued_ns;    /* when it entered the queue */
  unsigned char *buf;    /* shot_bytes: header, crop, thumbnail */
  int overflow;          /* allocated past the pool (back-pressured
                            cameras only); freed when put back */
} edge_slot;

/* ---- cameras ----------------------------------------------------------------
 */

/* A caller waiting for a camera's current frame (argus_edge_camera_snapshot):
 * on the caller's stack, in its camera's list under the camera's mu. */
typedef struct edge_snap {
  struct edge_snap *next;
  int max_width;
  uint32_t gen;   /* the camera it asked for */
  int done;       /* 1: answered (rc, img) */
  argus_err rc;
  argus_image img; /* RGB8, owned (moved to the caller) */
} edge_snap;

typedef struct edge_cam {
  int used;
  _Atomic uint32_t gen; /* changes when the index is given to a camera */
  char name[ARGUS_EVENT_NAME_MAX];
  pthread_mutex_t mu;
  pthread_cond_t turn;
  uint64_t next_ticket; /* under pop_mu */
  uint64_t done_ticket; /* under mu */
  argus_tracker *tr;
  /* A file read faster than real time (back-pressured): every shot its
   * frames ask for is embedded and fed back to the tracker before the next
   * frame is tracked, by the worker that tracked it, so that the analysis
   * of a file is complete and the same from run to run. */
  int sync_shots;
  double last_t;  /* media time of the last update */
  int any_update; /* the tracker has had an update since the last flush */
  /* counters, under mu */
  uint64_t frames_analysed, frames_failed, faces, shots, shots_dropped;
  /* The recognition policy, under mu (argus_edge_set_policy), and what it
   * held back: frames in mode off, faces inside masks, faces in detect
   * mode; the mode of the last frame. */
  argus_policy policy;
  uint64_t frames_policy_off, faces_masked, faces_detect_only;
  argus_policy_mode last_mode;
  /* Motion gating (motion.h): the previous analysed frame, under mu. */
  edge_motion motion;
  edge_motion_params motion_pass; /* the whole-frame pass for motion.fw x
                                     motion.fh (its net_w, net_h, content_w,
                                     content_h; zeros: windows not used) */
  uint64_t det_full, det_window, det_skipped;
  double det_area;
  /* rate over the status interval */
  uint64_t frames_prev;
  double fps_analysed;
  /* Snapshot requests: snap_want counts the waiting ones (read by every
   * worker for every frame, without the lock); the list is under mu;
   * snap_cv (CLOCK_MONOTONIC) wakes the callers. */
  atomic_int snap_want;
  edge_snap *snaps;
  pthread_cond_t snap_cv;
} edge_cam;

/* ---- workers ------------------------------------------------------------ */

typedef struct edge_worker {
  struct argus_edge *e;
  int id;
  pthread_t thread;
  int started;
  argus_face_worker *fw;
  argus_image rgb;       /* the frame in RGB8, grown to the largest size */
  uint8_t *mblocks;      /* the frame's 8x8 luma block means (motion.h) */
  size_t mblocks_cap;
  edge_motion_track *mtracks; /* max_tracks */
  uint64_t *mtrack_ids;       /* max_tracks */
  argus_image thumb;     /* a frame thumbnail (this frame's, when made) */
  argus_face *faces;     /* max_faces */
  argus_track_det *dets; /* max_faces */
  float *emb;            /* embed_batch * dim */
  argus_image *crops;    /* embed_batch wraps */
  edge_slot **batch;     /* embed_batch */
  /* Shots of a sync_shots camera's frame, embedded before its turn ends. */
  edge_slot *local_head, *local_tail;
} edge_worker;

/* ---- the edge --------------------------------------------------------------- */

struct argus_edge {
  argus_edge_config cfg;
  argus_face_engine *engine;
  argus_bus *bus;
  char model[ARGUS_EVENT_MODEL_MAX];
  int dim, align_w, align_h;
  argus_face_detect_opts det;
  argus_track_config tcfg;
  size_t shot_bytes;
  int thumb_w, thumb_h; /* the thumbnail box */

  argus_video_hub *hub;
  edge_cam *cams;
  int max_cams;
  pthread_mutex_t cams_mu; /* add/remove */
  pthread_mutex_t pop_mu;

  /* shot slots */
  pthread_mutex_t shot_mu;
  edge_slot *slots;
  unsigned char *slot_mem;
  edge_slot *free_slots;
  edge_slot *pend_head, *pend_tail;
  int npending;
  int embedding; /* batches being embedded */
  uint64_t oldest_pending_ns;

  /* totals (atomics: updated by any worker) */
  _Atomic uint64_t shots_dropped, embed_batches, embedded, publish_errors;
  _Atomic uint64_t ns_detect, ns_track, ns_embed; /* wall */
  _Atomic uint64_t n_detect, n_track;
  _Atomic uint64_t cpu_detect, cpu_track, cpu_embed, cpu_publish;
  /* duration histograms (argus_edge_histograms) */
  edge_hist hist_detect, hist_embed;

  edge_worker *workers;
  int nworkers;
  atomic_int stop;
};

/* edge.c */
/* A free slot of the pool; for a sync_shots camera, when the pool is
 * empty, one allocated past it (NULL only when that fails). */
edge_slot *edge_slot_get(argus_edge *e, const edge_cam *c);
void edge_slot_put(argus_edge *e, edge_slot *s);
void edge_slot_enqueue(argus_edge *e, edge_slot *s);
/* Hands a filled slot on: to the worker's own list for a sync_shots camera
 * (w not NULL), else to the shared queue. */
void edge_slot_submit(argus_edge *e, edge_worker *w, const edge_cam *c,
                      edge_slot *s);
/* Copies a stored shot (an ended track's best shot) into a slot and submits
 * it (w: the tracking worker, or NULL). Under cam->mu. Returns 0, or -1
 * when no slot was free (counted). */
int edge_queue_stored_shot(argus_edge *e, edge_worker *w, edge_cam *c,
                           int cam, uint64_t track, double track_start,
                           const void *shot, uint64_t trigger_mono);

/* shots.c: embeds up to embed_batch pending shots and publishes their face
 * events. Returns the number handled (0: none pending). */
int edge_embed_batch(argus_edge *e, edge_worker *w);
/* shots.c: embeds every shot of the worker's own list, in order, in
 * batches of at most embed_batch. Returns the number handled. Called
 * without any camera lock. */
int edge_embed_local(argus_edge *e, edge_worker *w);

#endif
