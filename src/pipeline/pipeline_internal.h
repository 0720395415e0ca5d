/* Internal pieces of the live pipeline: cameras, workers, shot slots, the
 * writer's records, the matcher, the JSON writer and latency histograms.
 *
 * Threads and locks:
 *   - camera threads (video hub) fill the per-camera rings;
 *   - workers (pipeline.c) pop frames under `pop_mu` (so that frames of a
 *     camera get tickets in order), analyse them without locks, then take
 *     their camera's `mu` and wait for their ticket's turn to run the
 *     tracker; they also embed and match batches of shots (embed.c);
 *   - the writer (writer.c) stores and publishes alerts, flushes trackers
 *     of ended cameras, publishes status and purges unmatched shots.
 * Lock order: cam->mu, then shot_mu / rec_mu / lat_mu (never two cameras). */
#ifndef ARGUS_PIPELINE_INTERNAL_H
#define ARGUS_PIPELINE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "argus/bus.h"
#include "argus/face.h"
#include "argus/gallery.h"
#include "argus/image.h"
#include "argus/pipeline.h"
#include "argus/store.h"
#include "argus/track.h"
#include "argus/video.h"

#define PL_MOD "pipeline"
#define PL_NAME_MAX 64

/* ---- JSON writer (json.c) -------------------------------------------------
 */

/* A bounded object writer into a caller buffer; overflow is sticky and the
 * text is then not used. */
typedef struct pl_json {
  char *buf;
  size_t cap, len;
  int first, overflow;
} pl_json;

void pl_json_begin(pl_json *j, char *buf, size_t cap);
void pl_json_str(pl_json *j, const char *key, const char *v); /* NULL: null */
void pl_json_int(pl_json *j, const char *key, int64_t v);
void pl_json_uint(pl_json *j, const char *key, uint64_t v);
void pl_json_num(pl_json *j, const char *key, double v, int decimals);
void pl_json_bool(pl_json *j, const char *key, int v);
void pl_json_null(pl_json *j, const char *key);
void pl_json_box(pl_json *j, const char *key, const float box[4]);
/* Closes the object; returns its length, or 0 on overflow. */
size_t pl_json_end(pl_json *j);
/* RFC 3339 UTC with milliseconds of a wall-clock time in nanoseconds. */
void pl_rfc3339(int64_t wall_ns, char out[32]);
int64_t pl_wall_ns(void);

/* ---- latency histogram (json.c) -------------------------------------------
 */

#define PL_LAT_BINS 400 /* 1 ms .. ~5 min in 5 % steps, plus under/over */

typedef struct pl_latency {
  uint64_t bins[PL_LAT_BINS];
  uint64_t count;
  double sum, max;
} pl_latency;

void pl_latency_add(pl_latency *l, double seconds);
void pl_latency_summary(const pl_latency *l, argus_pipeline_latency *out);

/* ---- matching ------------------------------------------------------------ */

/* One person a shot matched (a gallery candidate at or above its
 * watchlist's threshold). */
typedef struct pl_hit {
  int64_t person_id, watchlist_id;
  float score, threshold;
  char person[ARGUS_STORE_NAME_MAX];
  char watchlist[ARGUS_STORE_NAME_MAX];
} pl_hit;

/* Candidates asked of the gallery per shot. */
#define PL_SEARCH_K 8

/* ---- shots ------------------------------------------------------------------
 */

/* What a best-shot buffer (the tracker's, and a slot's) holds: this header,
 * the aligned crop (RGB8, align size), then the frame thumbnail (RGB8,
 * thumb_w x thumb_h packed, at most the configured size). */
typedef struct pl_shot_hdr {
  double time; /* media time */
  int64_t wall_ns;
  uint64_t mono_ns; /* capture of the frame it came from */
  float box[4];     /* frame pixels */
  float quality;
  int frame_w, frame_h;
  int thumb_w, thumb_h; /* 0: no thumbnail */
  int valid;
} pl_shot_hdr;

#define PL_SHOT_HDR_BYTES 128

typedef struct pl_slot {
  struct pl_slot *next;
  int cam;
  uint32_t gen;
  uint64_t track;
  int ended;             /* best shot of a track that ended */
  int reason;            /* argus_track_request_reason; 0: track end */
  uint64_t trigger_mono; /* capture of the frame that asked for it */
  uint64_t queued_ns;    /* when it entered the queue */
  unsigned char *buf;    /* shot_bytes: header, crop, thumbnail */
} pl_slot;

/* ---- writer records ----------------------------------------------------- */

enum { PL_REC_ALERT = 1, PL_REC_UNMATCHED = 2 };

typedef struct pl_record {
  int kind;
  int cam;
  char camera[PL_NAME_MAX];
  argus_store_id camera_id;
  int64_t wall_ns;
  double media_time;
  uint64_t track;
  uint64_t trigger_mono;
  pl_hit hit;       /* alerts */
  float best_score; /* unmatched */
  float quality;
  float box[4];
  uint8_t *crop, *thumb; /* JPEG, malloc'd; freed by the writer */
  size_t crop_size, thumb_size;
} pl_record;

/* ---- cameras ----------------------------------------------------------------
 */

typedef struct pl_cam {
  int used;
  _Atomic uint32_t gen; /* changes when the index is given to a camera */
  char name[PL_NAME_MAX];
  pthread_mutex_t mu;
  pthread_cond_t turn;
  uint64_t next_ticket; /* under pop_mu */
  uint64_t done_ticket; /* under mu */
  argus_tracker *tr;
  double last_t;  /* media time of the last update */
  int any_update; /* the tracker has had an update since the last flush */
  /* counters, under mu */
  uint64_t frames_analysed, frames_failed, faces, shots, matches, alerts,
      suppressed, shots_dropped;
  /* rate over the status interval (writer) */
  uint64_t frames_prev;
  double fps_analysed;
} pl_cam;

/* ---- workers
 * ------------------------------------------------------------------ */

typedef struct pl_worker {
  struct argus_pipeline *p;
  int id;
  pthread_t thread;
  int started;
  argus_face_worker *fw;
  argus_image rgb;       /* the frame in RGB8, grown to the largest size */
  argus_image thumb;     /* a frame thumbnail (this frame's, when made) */
  argus_image boxed;     /* thumbnail with a box, for alerts */
  argus_face *faces;     /* max_faces */
  argus_track_det *dets; /* max_faces */
  float *emb;            /* embed_batch * dim */
  argus_image *crops;    /* embed_batch wraps */
  pl_slot **batch;       /* embed_batch */
  argus_gallery_candidate cands[PL_SEARCH_K];
  pl_hit hits[PL_SEARCH_K];
  char doc[4096];
} pl_worker;

/* ---- the pipeline
 * ------------------------------------------------------------- */

struct argus_pipeline {
  argus_pipeline_config cfg;
  char models_dir[1024];
  char db_path[4096];
  char actor[ARGUS_STORE_NAME_MAX];
  char watch_names[ARGUS_PIPELINE_MAX_WATCHLISTS][ARGUS_STORE_NAME_MAX];
  const char *watch_ptrs[ARGUS_PIPELINE_MAX_WATCHLISTS];
  int nwatch;

  argus_face_engine *engine;
  int dim, align_w, align_h;
  argus_face_detect_opts det;
  argus_track_config tcfg;
  size_t shot_bytes;
  int thumb_w, thumb_h; /* the thumbnail box */

  argus_bus *bus;
  int own_bus;
  argus_bus_sub *watch_sub; /* watchlist.change, polled by the writer */
  argus_store *store;       /* the writer's handle: alerts, retention */
  argus_store *gstore;      /* the gallery's handle (reloads: writer) */
  argus_gallery *gallery;
  argus_gallery_search_opts search;

  argus_video_hub *hub;
  pl_cam *cams;
  int max_cams;
  pthread_mutex_t cams_mu; /* add/remove */

  pthread_mutex_t pop_mu;

  /* shot slots */
  pthread_mutex_t shot_mu;
  pl_slot *slots;
  unsigned char *slot_mem;
  pl_slot *free_slots;
  pl_slot *pend_head, *pend_tail;
  int npending;
  int embedding; /* batches being embedded */
  uint64_t oldest_pending_ns;

  /* writer records */
  pthread_mutex_t rec_mu;
  pthread_cond_t rec_cv;
  pl_record *recs;
  int rec_cap, rec_head, rec_n;
  int writer_busy;

  /* latency */
  pthread_mutex_t lat_mu;
  pl_latency lat_alert, lat_search;

  /* totals (atomics: updated by any worker) */
  _Atomic uint64_t shots_dropped, alerts_dropped, alerts_stored, store_errors,
      unmatched_stored, unmatched_purged, embed_batches, embedded, alerts,
      reloads;
  _Atomic uint64_t ns_detect, ns_track, ns_embed; /* wall */
  _Atomic uint64_t n_detect, n_track;
  _Atomic uint64_t cpu_detect, cpu_track, cpu_embed, cpu_match, cpu_alert,
      cpu_writer;
  /* interval means (writer) */
  uint64_t prev_ns_detect, prev_n_detect, prev_ns_track, prev_n_track,
      prev_ns_embed, prev_embedded, prev_batches;
  double detect_ms, track_ms, embed_ms, batch_mean;
  uint64_t t_start;
  uint64_t t_last_status;

  pl_worker *workers;
  int nworkers;
  pthread_t writer;
  int writer_started;
  atomic_int stop;
  char id_prefix[24];
};

/* pipeline.c */
uint64_t pl_thread_cpu_ns(void);
/* The camera of frame index (NULL when not in use). */
pl_cam *pl_cam_get(argus_pipeline *p, int index);
/* Takes a free slot (NULL when none: counted by the caller). */
pl_slot *pl_slot_get(argus_pipeline *p);
void pl_slot_put(argus_pipeline *p, pl_slot *s);
void pl_slot_enqueue(argus_pipeline *p, pl_slot *s);
/* Copies the frame-independent shot (ended track) into a slot and queues
 * it. Under cam->mu. Returns 0, or -1 when no slot was free. */
int pl_queue_stored_shot(argus_pipeline *p, pl_cam *c, int cam, uint64_t track,
                         const void *shot, int ended, uint64_t trigger_mono);

/* embed.c: embeds and matches up to embed_batch pending shots. Returns the
 * number handled (0: none pending). */
int pl_embed_batch(argus_pipeline *p, pl_worker *w);

/* writer.c */
void *pl_writer_main(void *arg);
/* Queues a record for the writer (takes its JPEG buffers). Returns 0, or -1
 * when the queue is full (the buffers are freed, the drop counted). */
int pl_record_push(argus_pipeline *p, pl_record *r);
/* Ends the tracks of camera `c` (end of stream or lost source) and queues
 * their best shots. Under cam->mu. */
void pl_cam_flush(argus_pipeline *p, pl_cam *c, int index);

#endif
