/* Internals of the video module shared by the hub (queues, pools, stats)
 * and the camera thread (FFmpeg demux, decode, convert). */
#ifndef ARGUS_VIDEO_INTERNAL_H
#define ARGUS_VIDEO_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "argus/video.h"

struct AVFrame;
struct video_camera;

/* A pooled frame buffer. The public frame comes first so that a
 * argus_video_frame pointer converts back to its slot. */
enum { SLOT_FREE = 0, SLOT_FILLING, SLOT_QUEUED, SLOT_HELD };

typedef struct video_slot {
  argus_video_frame pub;
  struct video_camera *cam;
  int state;
  /* Camera free list / ring (FIFO), and the hub's ready queue. */
  struct video_slot *cam_prev, *cam_next;
  struct video_slot *hub_prev, *hub_next;
  /* Zero-copy frames keep a reference to the decoder's buffer here. */
  struct AVFrame *ref;
  /* Converted frames live in these owned pixels (allocated when the first
   * frame of a size arrives, kept while the size stays). */
  argus_image own;
} video_slot;

/* Per-camera counters, guarded by the hub lock. */
typedef struct video_counters {
  argus_video_state state;
  int connected;
  char codec[32];
  int width, height;
  double stream_fps, duration;
  int skipping_nonref;
  uint64_t frames_reduced; /* frames decoded without the loop filter */
  uint64_t packets, frames_decoded, frames_skipped, frames_dropped,
      frames_delivered, decode_errors, connects, reconnects, errors;
  int frames_queued, frames_held;
  double media_time;
  argus_err last_error_code;
  char last_error[256];
  int64_t last_error_wall_ns;
  int in_error_streak; /* errors since the last successful open */
  int failed_attempts;
  int64_t retry_wall_ns;
  /* State history: hist[k % ARGUS_VIDEO_STATE_HISTORY] is the state entered
   * at change k (change 0: the state at creation). */
  uint64_t state_changes;
  argus_video_state_change hist[ARGUS_VIDEO_STATE_HISTORY];
  /* Rate windows: counts at the start of the current and of the last
   * completed window. */
  uint64_t win_start_ns, win_packets, win_decoded, win_queued_total;
  double fps_in, fps_decoded, fps_out;
  uint64_t queued_total; /* frames ever put in the ring */
} video_counters;

typedef struct video_camera {
  argus_video_hub *hub;
  int index;
  char name[ARGUS_VIDEO_NAME_MAX + 1];
  char *url;
  char shown_url[256]; /* for messages: credentials hidden, cut */
  argus_video_source_kind kind;
  argus_video_camera_config cfg; /* name/url point to the copies above */

  pthread_t thread;
  int thread_started;
  atomic_int stop;
  /* Deadline of the blocking FFmpeg call in progress (argus_time_ns clock,
   * 0 = none) and whether it was hit. */
  atomic_uint_fast64_t deadline_ns;
  atomic_int timed_out;
  pthread_cond_t wake; /* with hub->lock: stop requests end sleeps, and
                          (backpressure) room in the ring wakes the thread */
  int backpressure;    /* wait for room instead of dropping */

  video_slot *slots;
  int nslots;
  video_slot *free_head;          /* singly linked through cam_next */
  video_slot *ring_head, *ring_tail; /* queued frames, oldest first */
  int removed;                    /* out of the hub; freed when no frame is
                                     held any more */
  video_counters st;
} video_camera;

struct argus_video_hub {
  pthread_mutex_t lock;
  pthread_cond_t ready;
  video_camera **cams;
  int max_cams;
  int ncams;
  video_slot *head, *tail; /* ready frames of all cameras, oldest first */
  uint64_t interrupt_gen;
};

/* ---- hub side (hub.c), called by the camera thread ------------------- */
/* Takes a buffer for a wanted frame: a free one, else the oldest queued
 * frame of this camera (counted as dropped). NULL when every buffer is held
 * by consumers (the frame is counted as dropped). With backpressure it
 * waits for a free buffer instead, and returns NULL only on a stop request
 * (nothing counted). */
video_slot *video_slot_acquire(video_camera *cam);
/* Queues a filled buffer (dropping the oldest queued frame when the ring is
 * full; with backpressure waiting for room instead, unless the camera is
 * stopping) and wakes a consumer. */
void video_slot_push(video_camera *cam, video_slot *slot);
/* Returns an unused acquired buffer to the free list. */
void video_slot_abandon(video_camera *cam, video_slot *slot);
/* Sleeps until the argus_time_ns() time `until_ns` or a stop request.
 * Returns 1 when the camera must stop. */
int video_camera_sleep_until(video_camera *cam, uint64_t until_ns);

/* Counter updates (take the hub lock). */
void video_set_state(video_camera *cam, argus_video_state state,
                     int connected);
/* WAITING before the next attempt, due in delay_s seconds; counts a failed
 * attempt. */
void video_set_waiting(video_camera *cam, double delay_s);
/* FAILED (not retried); counts a failed attempt. */
void video_set_failed(video_camera *cam);
/* Records a state change in the history. Hub lock held. */
void video_note_state(video_counters *st, argus_video_state state);
/* Records an error: code, message, time, error count; logs it once at
 * `level`. */
void video_set_error(video_camera *cam, argus_log_level level, argus_err code,
                     const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Counters kept by the camera thread. */
void video_count_packet(video_camera *cam);
/* A packet was given to the decoder with less work (decode FAST). */
void video_count_reduced(video_camera *cam);
void video_count_frame(video_camera *cam, double media_time, int skipped);
void video_count_decode_error(video_camera *cam);
void video_count_connect(video_camera *cam, int is_reconnect);
void video_set_stream_info(video_camera *cam, const char *codec, int width,
                           int height, double fps, double duration,
                           int skipping_nonref);

/* H.264 (h264_refs.c): 1 when the access unit's slices are all reference
 * slices (nal_ref_idc > 0), 0 when none is (a decoder skipping
 * non-reference frames gives no frame for it), -1 when that cannot be told
 * (no slice, mixed, malformed). nal_len: 1..4 for length-prefixed NAL units
 * (avcC extradata), 0 for Annex B start codes. data: borrowed. */
int video_h264_packet_ref(const uint8_t *data, size_t size, int nal_len);

/* ---- camera thread (camera.c) ---------------------------------------- */
void *video_camera_main(void *arg);
/* One-time FFmpeg set-up (log routing, network, devices). */
void video_ffmpeg_init(void);
/* Frees the FFmpeg references a slot holds. */
void video_slot_clear(video_slot *slot);
/* Allocates / frees the FFmpeg parts of the slot pool. */
argus_err video_slot_init(video_slot *slot);
void video_slot_fini(video_slot *slot);


#endif
