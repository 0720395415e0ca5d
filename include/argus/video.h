/*
 * argus video: camera sources on FFmpeg (libavformat/libavcodec/libswscale).
 *
 * A hub owns many cameras. Each camera is a named source (a file, rtsp://,
 * http(s):// or HLS, a V4L2 device /dev/videoN) with settings, served by one
 * thread that demuxes and decodes it, keeps only the frames the analysis rate
 * cap asks for, converts them to the analysis pixel format and pushes them
 * into a bounded per-camera ring. When the ring is full the oldest queued
 * frame is dropped (and counted): the decoder of a live source never waits
 * for the consumer and memory never grows. A file read faster than real
 * time is back-pressured instead: its thread waits for room, so that every
 * wanted frame is analysed (backpressure in the camera's settings). Consumers pop frames from any camera through one
 * ready queue, in arrival order, and give each back with
 * argus_video_frame_release.
 *
 * Live sources reconnect after errors, after the end of the stream and after
 * a stall, with capped exponential backoff; every blocking FFmpeg call runs
 * under a deadline (an interrupt callback), so a silent camera never blocks
 * its thread past the open or read timeout, and removing a camera interrupts
 * whatever it is doing. A stall is a read that brings nothing for
 * read_timeout seconds (also when the server keeps the connection open).
 * Errors of one camera (a missing or truncated file, a bad URL, an
 * unsupported codec) show in its state, its last error text and one log
 * line (module "video"); the other cameras carry on.
 *
 * Permanent errors are not retried, whatever the reconnect setting: the
 * camera ends in ARGUS_VIDEO_FAILED after one attempt. They are the errors
 * that no wait can mend: an unknown protocol, a URL without a host or with a
 * bad port, no demuxer or decoder for the stream, no video stream, a local
 * file or V4L2 device that is missing or may not be opened (before the
 * camera ever opened it: a device unplugged while streaming is waited for).
 * Everything else is transient for a live source (a host name that does not
 * resolve, a refused connection, a timeout, an HTTP error, a stream that
 * ends or stalls): the camera keeps retrying, WAITING between attempts, and
 * its stats say why (last_error), how many attempts failed in a row and
 * when the next one is due.
 *
 * Frame pixels come from a pool sized when the camera is added (queue_frames
 * + held_frames + 1 buffers): YUV420P and NV12 decoder output in the
 * requested format is handed out without a copy (the frame keeps a reference
 * to the decoder's buffer); other formats are converted into the pooled
 * buffer. Nothing on the per-frame path allocates pixel memory in steady
 * state.
 *
 * Times: media_time is seconds on the camera's own time line, from the
 * stream's timestamps, starting at the file's start for files and kept
 * monotonic across loops and reconnects; wall_ns is UTC nanoseconds and
 * mono_ns the argus_time_ns() clock when the frame was captured (its packet
 * was read, or its paced time came for files played in real time).
 */
#ifndef ARGUS_VIDEO_H
#define ARGUS_VIDEO_H

#include <stddef.h>
#include <stdint.h>

#include "argus/core.h"
#include "argus/export.h"
#include "argus/image.h"

ARGUS_BEGIN_DECLS

/* Cameras per hub (the index range), default and largest. */
#define ARGUS_VIDEO_DEFAULT_CAMERAS 64
#define ARGUS_VIDEO_MAX_CAMERAS 4096
/* Longest camera name kept (longer names are cut), and URL accepted. */
#define ARGUS_VIDEO_NAME_MAX 63
#define ARGUS_VIDEO_URL_MAX 4095
/* Largest ring / held-frame count of one camera. */
#define ARGUS_VIDEO_MAX_QUEUE 64

typedef struct argus_video_hub argus_video_hub;

/* What a URL names; decides the defaults for reconnecting and pacing. */
typedef enum argus_video_source_kind {
  ARGUS_VIDEO_SOURCE_FILE = 0, /* a path or file: URL */
  ARGUS_VIDEO_SOURCE_RTSP = 1, /* rtsp://, rtsps:// */
  ARGUS_VIDEO_SOURCE_HTTP = 2, /* http://, https:// (progressive or HLS) */
  ARGUS_VIDEO_SOURCE_V4L2 = 3, /* /dev/videoN or v4l2:/dev/videoN */
  ARGUS_VIDEO_SOURCE_OTHER = 4 /* any other FFmpeg protocol (udp://, srt://..) */
} argus_video_source_kind;

/* "file", "rtsp", "http", "v4l2", "other". Never NULL. */
const char *argus_video_source_kind_name(argus_video_source_kind kind);
/* Classifies a URL by its prefix (no I/O). */
argus_video_source_kind argus_video_classify_url(const char *url);

typedef enum argus_video_state {
  ARGUS_VIDEO_CONNECTING = 0, /* opening the source */
  ARGUS_VIDEO_STREAMING = 1,  /* open; frames flow */
  ARGUS_VIDEO_WAITING = 2,    /* backing off before the next reconnect */
  ARGUS_VIDEO_FINISHED = 3,   /* a file (or a source that may not reconnect)
                                 ended normally */
  ARGUS_VIDEO_FAILED = 4,     /* stopped on an error that is not retried (a
                                 permanent one, or any error of a source
                                 that may not reconnect) */
  ARGUS_VIDEO_STOPPED = 5     /* removed or shutting down */
} argus_video_state;

/* "connecting", "streaming", ... Never NULL. */
const char *argus_video_state_name(argus_video_state state);

/* State changes a snapshot keeps (argus_video_stats.states). */
#define ARGUS_VIDEO_STATE_HISTORY 8

/* One state a camera entered, and when. */
typedef struct argus_video_state_change {
  argus_video_state state;
  int64_t wall_ns; /* UTC when the camera entered it */
} argus_video_state_change;

/* Tri-state settings. */
enum { ARGUS_VIDEO_AUTO = -1, ARGUS_VIDEO_OFF = 0, ARGUS_VIDEO_ON = 1 };

/* How much work the decoder may leave out (argus_video_camera_config.decode).
 * H.264's loop (deblocking) filter is the part that can be skipped without
 * losing a frame (FFmpeg's skip_idct and the "fast" flag change nothing in
 * its H.264 decoder). Skipping it on a frame that others reference changes
 * the pixels of every frame predicted from it until the next keyframe
 * (drift); docs/video.md has the measured drift and its effect on
 * detections. */
typedef enum argus_video_decode {
  /* Every frame decoded as the standard says. */
  ARGUS_VIDEO_DECODE_FULL = 0,
  /* Frames the rate cap will not deliver (decoded only because others
   * reference them) are decoded without the loop filter; the frames that
   * will be delivered are decoded with it. Their pixels still drift
   * slightly through their references. Same frames delivered as FULL. */
  ARGUS_VIDEO_DECODE_FAST = 1,
  /* No loop filter on any frame, delivered ones included: the cheapest and
   * the largest drift. */
  ARGUS_VIDEO_DECODE_NOFILTER = 2
} argus_video_decode;

/* "full", "fast", "nofilter"; NULL for other values. */
const char *argus_video_decode_name(int decode);

/* How a decoder with several threads (decoder_threads > 1) shares a frame
 * out (argus_video_camera_config.threading). */
typedef enum argus_video_threading {
  ARGUS_VIDEO_THREADS_AUTO = 0,  /* frame threads where the codec has them,
                                    else slice threads (FFmpeg's choice) */
  ARGUS_VIDEO_THREADS_FRAME = 1, /* one frame per thread: more throughput,
                                    one frame more delay per thread */
  ARGUS_VIDEO_THREADS_SLICE = 2  /* the slices of one frame in parallel:
                                    no delay; only for streams with several
                                    slices per frame */
} argus_video_threading;

/* Settings of one camera. Fill with argus_video_camera_config_init, then
 * change what differs. Strings are borrowed for the call and copied. */
typedef struct argus_video_camera_config {
  const char *name; /* shown in stats and logs; NULL/"" -> "camN" */
  const char *url;  /* required, at most ARGUS_VIDEO_URL_MAX bytes */
  int rtsp_udp;     /* RTSP transport: 0 TCP (default), 1 UDP */
  double max_fps;   /* analysis rate cap in frames per media second;
                       0 = every decoded frame (default 0) */
  int realtime;     /* files: pace decoding at the native rate (default 0:
                       as fast as possible); ignored for live sources */
  int loop;         /* files: start again at the end (default 0) */
  int decoder_threads; /* decoder threads, 1..16 (default 1) */
  int skip_nonref;  /* let the decoder skip non-reference frames: AUTO
                       (default: when the stream rate is at least 3x the
                       cap), OFF, ON */
  argus_pixfmt format; /* delivered pixel format (default YUV420P) */
  int queue_frames;    /* ring capacity, 1..ARGUS_VIDEO_MAX_QUEUE (default 4) */
  int held_frames; /* frames consumers may hold at once, 1..MAX_QUEUE
                      (default 4); when all are held, new frames are dropped */
  double open_timeout; /* seconds to open a source (default 10) */
  double read_timeout; /* seconds without data before a live source counts
                          as stalled (default 5) */
  double backoff_min;  /* first reconnect delay, seconds (default 0.5) */
  double backoff_max;  /* cap of the doubling delay (default 30) */
  int reconnect;       /* AUTO (default: live sources yes, files no), OFF, ON */
  /* What happens when the ring is full or every buffer is held: ON: the
   * camera thread waits for room (back-pressure: every wanted frame is
   * delivered, the file is read as fast as it is consumed, and the
   * delivered frames are the same from run to run); OFF: the oldest queued
   * frame is dropped (live sources: the consumer always gets the newest
   * frames). AUTO (default): ON for files not played in real time, OFF
   * otherwise. */
  int backpressure;
  /* argus_video_decode: work the decoder may leave out (default
   * ARGUS_VIDEO_DECODE_FAST: the same frames delivered, 10-29 % less
   * decoding CPU at a 5 fps cap, detections unchanged within the tolerance
   * of docs/video.md, "Cheaper decoding"). FAST works with a rate cap
   * (max_fps > 0); without one every frame is delivered and decoded in
   * full. On streams with B-frames FAST holds a packet back until no
   * earlier frame can follow it (the reorder depth: 200 ms for x264's
   * defaults at 25 fps). */
  int decode;
  /* argus_video_threading, used when decoder_threads > 1 (default AUTO). */
  int threading;
} argus_video_camera_config;

/* Writes the defaults above (url and name NULL). */
void argus_video_camera_config_init(argus_video_camera_config *cfg);

/* A snapshot of one camera. Counters only grow while the camera exists.
 * Frames: decoded = skipped + dropped + delivered + queued + (frames being
 * converted, at most 1). */
typedef struct argus_video_stats {
  char name[ARGUS_VIDEO_NAME_MAX + 1];
  argus_video_source_kind kind;
  argus_video_state state;
  int connected; /* 1 while a source is open */
  /* The stream, once opened (zero / "" before). */
  char codec[32];
  int width, height;
  double stream_fps; /* nominal frame rate, 0 when unknown */
  double duration;   /* files: seconds, 0 when unknown or live */
  int skipping_nonref; /* 1 when the decoder skips non-reference frames */
  /* Counters. */
  uint64_t packets;          /* video packets read */
  uint64_t frames_decoded;   /* frames out of the decoder */
  uint64_t frames_skipped;   /* decoded, not wanted by the rate cap */
  uint64_t frames_dropped;   /* wanted, but dropped: ring full (oldest
                                dropped) or every buffer held */
  uint64_t frames_delivered; /* popped by a consumer */
  int frames_queued;         /* in the ring now */
  int frames_held;           /* popped and not yet released */
  uint64_t decode_errors;    /* packets the decoder rejected */
  uint64_t connects;         /* successful opens */
  uint64_t reconnects;       /* successful opens after a lost or failed one */
  uint64_t errors;           /* failed opens, read errors, stalls */
  /* Rates over the last second or so (wall clock). */
  double fps_in;      /* video packets per second */
  double fps_decoded; /* frames decoded per second */
  double fps_out;     /* frames queued for analysis per second */
  double media_time;  /* of the last decoded frame, seconds */
  argus_err last_error_code; /* ARGUS_OK when there was no error */
  char last_error[256];      /* "" when there was no error */
  int64_t last_error_wall_ns; /* UTC, 0 when none */
  /* Failed opens and lost connections since the last successful open. */
  int failed_attempts;
  int64_t retry_wall_ns; /* WAITING: UTC of the next attempt; else 0 */
  /* State changes since the camera was added, and the latest states,
   * newest first: states[0] is the current one, states[1] the one before,
   * ...; entries past state_changes are zero. A caller that remembers
   * state_changes sees every change once, also those between two snapshots
   * (up to ARGUS_VIDEO_STATE_HISTORY - 1 of them; older ones are only
   * counted). */
  uint64_t state_changes;
  argus_video_state_change states[ARGUS_VIDEO_STATE_HISTORY];
  /* The decode setting in use (argus_video_decode), and the frames decoded
   * with less work (without the loop filter). */
  int decode;
  uint64_t frames_reduced;
} argus_video_stats;

/* A decoded frame. Owned by the hub: valid from argus_video_hub_pop until
 * argus_video_frame_release, read-only. image borrows pooled pixels (its
 * owner is NULL). */
typedef struct argus_video_frame {
  int camera;              /* index given by argus_video_hub_add */
  const char *camera_name; /* valid while the frame is held */
  uint64_t seq;            /* index among the camera's decoded frames */
  double media_time;       /* seconds, monotonic per camera */
  int64_t wall_ns;         /* capture time, UTC nanoseconds */
  uint64_t mono_ns;        /* capture time, argus_time_ns() clock */
  argus_image image;
} argus_video_frame;

/* Creates a hub for up to max_cameras cameras at once (0 = the default,
 * at most ARGUS_VIDEO_MAX_CAMERAS). Errors: INVALID_ARG, NOMEM; err (may be
 * NULL; argus/core.h) says why, and the reason is logged. */
argus_err argus_video_hub_create(int max_cameras, argus_video_hub **out,
                                 argus_error_detail *err);
/* Stops every camera (interrupting blocked I/O), joins the threads and
 * frees everything. Frames still held become invalid: release them first.
 * Accepts NULL. */
void argus_video_hub_destroy(argus_video_hub *hub);

/* Adds a camera and starts its thread; *index receives its index (the
 * lowest free one). The source is opened by the thread: a bad URL or file
 * shows up in the camera's stats (state, last_error), not here. Errors:
 * INVALID_ARG (NULL, missing URL, a setting out of range), LIMIT (hub full,
 * URL too long), NOMEM, INTERNAL (thread creation); err (may be NULL;
 * argus/core.h) names the setting and its value or the limit, and the
 * reason is logged. */
argus_err argus_video_hub_add(argus_video_hub *hub,
                              const argus_video_camera_config *cfg, int *index,
                              argus_error_detail *err);
/* Stops a camera, joins its thread and discards its queued frames. Frames
 * of it that consumers hold stay valid until released. The index may be
 * given to a later camera. Errors: INVALID_ARG, NOT_FOUND. */
argus_err argus_video_hub_remove(argus_video_hub *hub, int index);

/* Number of cameras, and the largest index + 1 (indexes may have gaps). */
int argus_video_hub_camera_count(const argus_video_hub *hub);
int argus_video_hub_index_limit(const argus_video_hub *hub);

/* Snapshot of a camera. Errors: INVALID_ARG, NOT_FOUND. */
argus_err argus_video_hub_stats(argus_video_hub *hub, int index,
                                argus_video_stats *out);

/* Takes the oldest ready frame of any camera, waiting up to timeout_s
 * seconds (0 = don't wait, < 0 = wait until a frame comes or
 * argus_video_hub_interrupt). Returns ARGUS_OK with *out = NULL when none
 * came in time or the wait was interrupted. Release every frame.
 * Errors: INVALID_ARG. */
argus_err argus_video_hub_pop(argus_video_hub *hub, double timeout_s,
                              argus_video_frame **out);
/* Wakes every thread waiting in argus_video_hub_pop (they return no
 * frame). */
void argus_video_hub_interrupt(argus_video_hub *hub);
/* Gives a popped frame back to its camera's pool. Accepts NULL. */
void argus_video_frame_release(argus_video_frame *frame);

ARGUS_END_DECLS
#endif
