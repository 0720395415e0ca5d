/* The video hub: cameras, their pooled frame buffers and rings, the shared
 * ready queue, counters and the public API around them. The FFmpeg side of
 * a camera lives in camera.c. */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "video/video_internal.h"

#define MOD "video"

/* ---- error details ------------------------------------------------------ */

/* The synchronous API (hub_create, hub_add) reports why it failed through
 * an argus_error_detail *err (may be NULL), cleared on entry, and keeps
 * logging the reason (ERROR) for callers that only check the code. A
 * camera's own failures, later, go to its stats' last_error instead. */
#define fail(err, code, ...)                                                   \
  argus_error_fail(err, code, ARGUS_LOG_ERROR, MOD, __VA_ARGS__)

/* ---- names and URL classes -------------------------------------------- */

const char *argus_video_state_name(argus_video_state state) {
  switch (state) {
  case ARGUS_VIDEO_CONNECTING: return "connecting";
  case ARGUS_VIDEO_STREAMING: return "streaming";
  case ARGUS_VIDEO_WAITING: return "waiting";
  case ARGUS_VIDEO_FINISHED: return "finished";
  case ARGUS_VIDEO_FAILED: return "failed";
  case ARGUS_VIDEO_STOPPED: return "stopped";
  }
  return "unknown";
}

const char *argus_video_source_kind_name(argus_video_source_kind kind) {
  switch (kind) {
  case ARGUS_VIDEO_SOURCE_FILE: return "file";
  case ARGUS_VIDEO_SOURCE_RTSP: return "rtsp";
  case ARGUS_VIDEO_SOURCE_HTTP: return "http";
  case ARGUS_VIDEO_SOURCE_V4L2: return "v4l2";
  case ARGUS_VIDEO_SOURCE_OTHER: return "other";
  }
  return "unknown";
}

static int has_prefix(const char *s, const char *p) {
  return strncasecmp(s, p, strlen(p)) == 0;
}

argus_video_source_kind argus_video_classify_url(const char *url) {
  if (!url)
    return ARGUS_VIDEO_SOURCE_FILE;
  if (has_prefix(url, "rtsp://") || has_prefix(url, "rtsps://"))
    return ARGUS_VIDEO_SOURCE_RTSP;
  if (has_prefix(url, "http://") || has_prefix(url, "https://"))
    return ARGUS_VIDEO_SOURCE_HTTP;
  if (has_prefix(url, "/dev/video") || has_prefix(url, "v4l2:"))
    return ARGUS_VIDEO_SOURCE_V4L2;
  if (has_prefix(url, "file:"))
    return ARGUS_VIDEO_SOURCE_FILE;
  /* "scheme://..." with an RFC 3986 scheme is some other protocol. */
  const char *p = url;
  while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
         (*p >= '0' && *p <= '9') || *p == '+' || *p == '-' || *p == '.')
    p++;
  if (p != url && strncmp(p, "://", 3) == 0)
    return ARGUS_VIDEO_SOURCE_OTHER;
  return ARGUS_VIDEO_SOURCE_FILE;
}

/* ---- configuration ----------------------------------------------------- */

void argus_video_camera_config_init(argus_video_camera_config *cfg) {
  if (!cfg)
    return;
  memset(cfg, 0, sizeof *cfg);
  cfg->rtsp_udp = 0;
  cfg->max_fps = 0;
  cfg->decoder_threads = 1;
  cfg->skip_nonref = ARGUS_VIDEO_AUTO;
  cfg->format = ARGUS_PIX_YUV420P;
  cfg->queue_frames = 4;
  cfg->held_frames = 4;
  cfg->open_timeout = 10.0;
  cfg->read_timeout = 5.0;
  cfg->backoff_min = 0.5;
  cfg->backoff_max = 30.0;
  cfg->reconnect = ARGUS_VIDEO_AUTO;
  cfg->backpressure = ARGUS_VIDEO_AUTO;
  cfg->decode = ARGUS_VIDEO_DECODE_FAST;
  cfg->threading = ARGUS_VIDEO_THREADS_AUTO;
}

const char *argus_video_decode_name(int decode) {
  switch (decode) {
  case ARGUS_VIDEO_DECODE_FULL: return "full";
  case ARGUS_VIDEO_DECODE_FAST: return "fast";
  case ARGUS_VIDEO_DECODE_NOFILTER: return "nofilter";
  default: return NULL;
  }
}

static int in_range(double v, double lo, double hi) {
  return v >= lo && v <= hi; /* false for NaN */
}

/* Checks every setting; logs the first bad one with its value. */
static argus_err validate_config(const argus_video_camera_config *c,
                                 argus_error_detail *err) {
  const char *what = NULL;
  char val[64] = "";
  if (!c->url || !c->url[0]) {
    what = "url (missing)";
  } else if (strlen(c->url) > ARGUS_VIDEO_URL_MAX) {
    return fail(err, ARGUS_E_LIMIT, "hub_add: camera url longer than %d bytes",
                ARGUS_VIDEO_URL_MAX);
  } else if (c->rtsp_udp != 0 && c->rtsp_udp != 1) {
    what = "rtsp_udp (0 or 1)";
    snprintf(val, sizeof val, "%d", c->rtsp_udp);
  } else if (!in_range(c->max_fps, 0, 1000)) {
    what = "max_fps (0..1000)";
    snprintf(val, sizeof val, "%g", c->max_fps);
  } else if (c->realtime != 0 && c->realtime != 1) {
    what = "realtime (0 or 1)";
    snprintf(val, sizeof val, "%d", c->realtime);
  } else if (c->loop != 0 && c->loop != 1) {
    what = "loop (0 or 1)";
    snprintf(val, sizeof val, "%d", c->loop);
  } else if (c->decoder_threads < 1 || c->decoder_threads > 16) {
    what = "decoder_threads (1..16)";
    snprintf(val, sizeof val, "%d", c->decoder_threads);
  } else if (c->skip_nonref < -1 || c->skip_nonref > 1) {
    what = "skip_nonref (-1, 0 or 1)";
    snprintf(val, sizeof val, "%d", c->skip_nonref);
  } else if (c->format != ARGUS_PIX_GRAY8 && c->format != ARGUS_PIX_RGB8 &&
             c->format != ARGUS_PIX_BGR8 && c->format != ARGUS_PIX_YUV420P &&
             c->format != ARGUS_PIX_NV12) {
    what = "format";
    snprintf(val, sizeof val, "%d", (int)c->format);
  } else if (c->queue_frames < 1 || c->queue_frames > ARGUS_VIDEO_MAX_QUEUE) {
    what = "queue_frames (1..64)";
    snprintf(val, sizeof val, "%d", c->queue_frames);
  } else if (c->held_frames < 1 || c->held_frames > ARGUS_VIDEO_MAX_QUEUE) {
    what = "held_frames (1..64)";
    snprintf(val, sizeof val, "%d", c->held_frames);
  } else if (!in_range(c->open_timeout, 0.01, 3600)) {
    what = "open_timeout (0.01..3600 s)";
    snprintf(val, sizeof val, "%g", c->open_timeout);
  } else if (!in_range(c->read_timeout, 0.01, 3600)) {
    what = "read_timeout (0.01..3600 s)";
    snprintf(val, sizeof val, "%g", c->read_timeout);
  } else if (!in_range(c->backoff_min, 0.001, 3600)) {
    what = "backoff_min (0.001..3600 s)";
    snprintf(val, sizeof val, "%g", c->backoff_min);
  } else if (!in_range(c->backoff_max, c->backoff_min, 86400)) {
    what = "backoff_max (backoff_min..86400 s)";
    snprintf(val, sizeof val, "%g", c->backoff_max);
  } else if (c->reconnect < -1 || c->reconnect > 1) {
    what = "reconnect (-1, 0 or 1)";
    snprintf(val, sizeof val, "%d", c->reconnect);
  } else if (c->backpressure < -1 || c->backpressure > 1) {
    what = "backpressure (-1, 0 or 1)";
    snprintf(val, sizeof val, "%d", c->backpressure);
  } else if (!argus_video_decode_name(c->decode)) {
    what = "decode (0 full, 1 fast, 2 nofilter)";
    snprintf(val, sizeof val, "%d", c->decode);
  } else if (c->threading < ARGUS_VIDEO_THREADS_AUTO ||
             c->threading > ARGUS_VIDEO_THREADS_SLICE) {
    what = "threading (0 auto, 1 frame, 2 slice)";
    snprintf(val, sizeof val, "%d", c->threading);
  }
  if (what)
    return fail(err, ARGUS_E_INVALID_ARG,
                "hub_add: camera setting %s: bad value %s", what,
                val[0] ? val : "");
  return ARGUS_OK;
}

/* ---- clocks and condition variables ------------------------------------ */

static struct timespec mono_abs(uint64_t ns) {
  struct timespec ts;
  ts.tv_sec = (time_t)(ns / 1000000000ull);
  ts.tv_nsec = (long)(ns % 1000000000ull);
  return ts;
}

/* Condition variables wait on the monotonic clock (argus_time_ns). */
static int cond_init_mono(pthread_cond_t *c) {
  pthread_condattr_t a;
  if (pthread_condattr_init(&a) != 0)
    return -1;
  pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
  int rc = pthread_cond_init(c, &a);
  pthread_condattr_destroy(&a);
  return rc == 0 ? 0 : -1;
}

/* ---- hub --------------------------------------------------------------- */

argus_err argus_video_hub_create(int max_cameras, argus_video_hub **out,
                                 argus_error_detail *err) {
  if (err)
    err->msg[0] = 0;
  if (!out)
    return fail(err, ARGUS_E_INVALID_ARG, "hub_create: out is NULL");
  *out = NULL;
  if (max_cameras == 0)
    max_cameras = ARGUS_VIDEO_DEFAULT_CAMERAS;
  if (max_cameras < 1 || max_cameras > ARGUS_VIDEO_MAX_CAMERAS)
    return fail(err, ARGUS_E_INVALID_ARG,
                "hub_create: max_cameras %d out of range [1, %d]", max_cameras,
                ARGUS_VIDEO_MAX_CAMERAS);
  video_ffmpeg_init();
  argus_video_hub *hub = calloc(1, sizeof *hub);
  if (!hub)
    return fail(err, ARGUS_E_NOMEM, "hub_create: out of memory");
  hub->cams = calloc((size_t)max_cameras, sizeof *hub->cams);
  if (!hub->cams)
    goto fail_hub;
  if (pthread_mutex_init(&hub->lock, NULL) != 0)
    goto fail_cams;
  if (cond_init_mono(&hub->ready) != 0)
    goto fail_mutex;
  hub->max_cams = max_cameras;
  *out = hub;
  return ARGUS_OK;

fail_mutex:
  pthread_mutex_destroy(&hub->lock);
fail_cams:
  free(hub->cams);
fail_hub:
  free(hub);
  return fail(err, ARGUS_E_NOMEM, "hub_create: out of memory");
}

static void camera_free(video_camera *cam) {
  if (!cam)
    return;
  for (int i = 0; i < cam->nslots; i++)
    video_slot_fini(&cam->slots[i]);
  free(cam->slots);
  pthread_cond_destroy(&cam->wake);
  free(cam->url);
  free(cam);
}

/* Unlinks a queued slot from its camera ring and the hub queue. Hub lock
 * held. */
static void unlink_queued(argus_video_hub *hub, video_slot *s) {
  video_camera *cam = s->cam;
  if (s->cam_prev)
    s->cam_prev->cam_next = s->cam_next;
  else
    cam->ring_head = s->cam_next;
  if (s->cam_next)
    s->cam_next->cam_prev = s->cam_prev;
  else
    cam->ring_tail = s->cam_prev;
  if (s->hub_prev)
    s->hub_prev->hub_next = s->hub_next;
  else
    hub->head = s->hub_next;
  if (s->hub_next)
    s->hub_next->hub_prev = s->hub_prev;
  else
    hub->tail = s->hub_prev;
  s->cam_prev = s->cam_next = s->hub_prev = s->hub_next = NULL;
  cam->st.frames_queued--;
}

/* Puts a slot on its camera's free list, dropping its frame data. Hub lock
 * held. */
static void free_slot(video_camera *cam, video_slot *s) {
  video_slot_clear(s);
  s->state = SLOT_FREE;
  s->cam_prev = NULL;
  s->cam_next = cam->free_head;
  cam->free_head = s;
}

void argus_video_hub_destroy(argus_video_hub *hub) {
  if (!hub)
    return;
  for (int i = 0; i < hub->max_cams; i++) {
    if (hub->cams[i])
      argus_video_hub_remove(hub, i);
  }
  /* Cameras whose frames were still held were kept alive for them: the
   * contract says those frames die with the hub. */
  pthread_mutex_lock(&hub->lock);
  for (int i = 0; i < hub->max_cams; i++) {
    video_camera *cam = hub->cams[i];
    if (cam && cam->removed) {
      hub->cams[i] = NULL;
      camera_free(cam);
    }
  }
  pthread_mutex_unlock(&hub->lock);
  pthread_cond_destroy(&hub->ready);
  pthread_mutex_destroy(&hub->lock);
  free(hub->cams);
  free(hub);
}

/* Hides the credentials of "rtsp://user:secret@host/x" in logs: all up to
 * the last '@' of the authority (a password may hold an '@'). */
static void redact_url(const char *url, char *out, size_t size) {
  const char *scheme = strstr(url, "://");
  const char *at = NULL;
  if (scheme) {
    const char *auth = scheme + 3;
    const char *end = auth + strcspn(auth, "/?#");
    for (const char *p = auth; p < end; p++)
      if (*p == '@')
        at = p;
  }
  if (at) {
    snprintf(out, size, "%.*s***%s", (int)(scheme + 3 - url), url, at);
  } else {
    snprintf(out, size, "%s", url);
  }
}

argus_err argus_video_hub_add(argus_video_hub *hub,
                              const argus_video_camera_config *cfg, int *index,
                              argus_error_detail *err) {
  if (err)
    err->msg[0] = 0;
  if (!hub || !cfg || !index)
    return fail(err, ARGUS_E_INVALID_ARG, "hub_add: %s is NULL",
                !hub   ? "hub"
                : !cfg ? "cfg"
                       : "index");
  *index = -1;
  argus_err e = validate_config(cfg, err);
  if (e != ARGUS_OK)
    return e;

  e = ARGUS_E_NOMEM;
  video_camera *cam = calloc(1, sizeof *cam);
  if (!cam)
    return fail(err, ARGUS_E_NOMEM, "hub_add: out of memory");
  cam->hub = hub;
  cam->cfg = *cfg;
  cam->url = strdup(cfg->url);
  if (!cam->url)
    goto fail_cam;
  cam->cfg.url = cam->url;
  cam->kind = argus_video_classify_url(cam->url);
  cam->backpressure = cfg->backpressure == ARGUS_VIDEO_AUTO
                          ? cam->kind == ARGUS_VIDEO_SOURCE_FILE &&
                                !cfg->realtime
                          : cfg->backpressure == ARGUS_VIDEO_ON;
  redact_url(cam->url, cam->shown_url, sizeof cam->shown_url);
  if (cond_init_mono(&cam->wake) != 0)
    goto fail_url;
  cam->nslots = cfg->queue_frames + cfg->held_frames + 1;
  cam->slots = calloc((size_t)cam->nslots, sizeof *cam->slots);
  if (!cam->slots)
    goto fail_cond;
  for (int i = 0; i < cam->nslots; i++) {
    video_slot *s = &cam->slots[i];
    s->cam = cam;
    if (video_slot_init(s) != ARGUS_OK)
      goto fail_slots;
    s->state = SLOT_FREE;
    s->cam_next = cam->free_head;
    cam->free_head = s;
  }
  atomic_init(&cam->stop, 0);
  atomic_init(&cam->deadline_ns, 0);
  atomic_init(&cam->timed_out, 0);
  cam->st.state = ARGUS_VIDEO_CONNECTING;
  cam->st.hist[0].state = ARGUS_VIDEO_CONNECTING;
  cam->st.hist[0].wall_ns = argus_wall_ns();
  cam->st.win_start_ns = argus_time_ns();

  pthread_mutex_lock(&hub->lock);
  int idx = -1;
  for (int i = 0; i < hub->max_cams; i++) {
    if (!hub->cams[i]) {
      idx = i;
      break;
    }
  }
  if (idx < 0) {
    pthread_mutex_unlock(&hub->lock);
    e = fail(err, ARGUS_E_LIMIT, "hub_add: the hub is full (%d cameras)",
             hub->max_cams);
    goto fail_slots;
  }
  cam->index = idx;
  if (cfg->name && cfg->name[0])
    snprintf(cam->name, sizeof cam->name, "%s", cfg->name);
  else
    snprintf(cam->name, sizeof cam->name, "cam%d", idx);
  cam->cfg.name = cam->name;
  hub->cams[idx] = cam;
  hub->ncams++;
  pthread_mutex_unlock(&hub->lock);

  argus_log(ARGUS_LOG_INFO, MOD, "camera %d '%s': %s source %s", idx,
            cam->name, argus_video_source_kind_name(cam->kind), cam->shown_url);

  int rc = pthread_create(&cam->thread, NULL, video_camera_main, cam);
  if (rc != 0) {
    fail(err, ARGUS_E_INTERNAL,
         "hub_add: camera '%s': cannot start its "
         "thread: %s",
         cam->name, strerror(rc));
    pthread_mutex_lock(&hub->lock);
    hub->cams[idx] = NULL;
    hub->ncams--;
    pthread_mutex_unlock(&hub->lock);
    e = ARGUS_E_INTERNAL;
    goto fail_slots;
  }
  cam->thread_started = 1;
  *index = idx;
  return ARGUS_OK;

fail_slots:
  for (int i = 0; i < cam->nslots; i++)
    video_slot_fini(&cam->slots[i]);
  free(cam->slots);
fail_cond:
  pthread_cond_destroy(&cam->wake);
fail_url:
  free(cam->url);
fail_cam:
  free(cam);
  if (e == ARGUS_E_NOMEM && err && !err->msg[0])
    argus_error_detail_set(err, "hub_add: out of memory");
  return e;
}

argus_err argus_video_hub_remove(argus_video_hub *hub, int index) {
  if (!hub) {
    argus_log(ARGUS_LOG_ERROR, MOD, "hub_remove: hub is NULL");
    return ARGUS_E_INVALID_ARG;
  }
  pthread_mutex_lock(&hub->lock);
  video_camera *cam =
      index >= 0 && index < hub->max_cams ? hub->cams[index] : NULL;
  if (!cam || cam->removed || atomic_load(&cam->stop)) {
    pthread_mutex_unlock(&hub->lock);
    return ARGUS_E_NOT_FOUND;
  }
  /* Stop first (the index stays taken, so that no new camera's frames can
   * be confused with this one's), then discard its queue. */
  atomic_store(&cam->stop, 1);
  pthread_cond_broadcast(&cam->wake);
  pthread_mutex_unlock(&hub->lock);
  if (cam->thread_started)
    pthread_join(cam->thread, NULL);

  pthread_mutex_lock(&hub->lock);
  while (cam->ring_head) {
    video_slot *s = cam->ring_head;
    unlink_queued(hub, s);
    free_slot(cam, s);
  }
  video_note_state(&cam->st, ARGUS_VIDEO_STOPPED);
  cam->st.connected = 0;
  int held = cam->st.frames_held;
  if (held > 0) {
    /* Freed by the release of its last held frame; until then it keeps the
     * index (so the index is not reused while frames carry it). */
    cam->removed = 1;
  } else {
    hub->cams[index] = NULL;
  }
  hub->ncams--;
  pthread_mutex_unlock(&hub->lock);
  argus_log(ARGUS_LOG_INFO, MOD, "camera %d '%s' removed", index, cam->name);
  if (held == 0)
    camera_free(cam);
  return ARGUS_OK;
}

int argus_video_hub_camera_count(const argus_video_hub *hub) {
  if (!hub)
    return 0;
  argus_video_hub *h = (argus_video_hub *)hub;
  pthread_mutex_lock(&h->lock);
  int n = h->ncams;
  pthread_mutex_unlock(&h->lock);
  return n;
}

int argus_video_hub_index_limit(const argus_video_hub *hub) {
  if (!hub)
    return 0;
  argus_video_hub *h = (argus_video_hub *)hub;
  pthread_mutex_lock(&h->lock);
  int lim = 0;
  for (int i = 0; i < h->max_cams; i++)
    if (h->cams[i] && !h->cams[i]->removed)
      lim = i + 1;
  pthread_mutex_unlock(&h->lock);
  return lim;
}

static double rate(uint64_t now_count, uint64_t then_count, double secs) {
  return secs > 0 ? (double)(now_count - then_count) / secs : 0.0;
}

/* Closes the rate window once a second has passed. Hub lock held. */
static void tick_rates(video_counters *st, uint64_t now) {
  if (now - st->win_start_ns < 1000000000ull)
    return;
  double secs = (double)(now - st->win_start_ns) * 1e-9;
  st->fps_in = rate(st->packets, st->win_packets, secs);
  st->fps_decoded = rate(st->frames_decoded, st->win_decoded, secs);
  st->fps_out = rate(st->queued_total, st->win_queued_total, secs);
  st->win_start_ns = now;
  st->win_packets = st->packets;
  st->win_decoded = st->frames_decoded;
  st->win_queued_total = st->queued_total;
}

argus_err argus_video_hub_stats(argus_video_hub *hub, int index,
                                argus_video_stats *out) {
  if (!hub || !out) {
    argus_log(ARGUS_LOG_ERROR, MOD, "hub_stats: %s is NULL",
              !hub ? "hub" : "out");
    return ARGUS_E_INVALID_ARG;
  }
  memset(out, 0, sizeof *out);
  pthread_mutex_lock(&hub->lock);
  video_camera *cam =
      index >= 0 && index < hub->max_cams ? hub->cams[index] : NULL;
  if (!cam || cam->removed) {
    pthread_mutex_unlock(&hub->lock);
    return ARGUS_E_NOT_FOUND;
  }
  const video_counters *st = &cam->st;
  snprintf(out->name, sizeof out->name, "%s", cam->name);
  out->kind = cam->kind;
  out->state = st->state;
  out->connected = st->connected;
  snprintf(out->codec, sizeof out->codec, "%s", st->codec);
  out->width = st->width;
  out->height = st->height;
  out->stream_fps = st->stream_fps;
  out->duration = st->duration;
  out->skipping_nonref = st->skipping_nonref;
  out->decode = cam->cfg.decode;
  out->frames_reduced = st->frames_reduced;
  out->packets = st->packets;
  out->frames_decoded = st->frames_decoded;
  out->frames_skipped = st->frames_skipped;
  out->frames_dropped = st->frames_dropped;
  out->frames_delivered = st->frames_delivered;
  out->frames_queued = st->frames_queued;
  out->frames_held = st->frames_held;
  out->decode_errors = st->decode_errors;
  out->connects = st->connects;
  out->reconnects = st->reconnects;
  out->errors = st->errors;
  out->media_time = st->media_time;
  out->last_error_code = st->last_error_code;
  snprintf(out->last_error, sizeof out->last_error, "%s", st->last_error);
  out->last_error_wall_ns = st->last_error_wall_ns;
  out->failed_attempts = st->failed_attempts;
  out->retry_wall_ns = st->retry_wall_ns;
  out->state_changes = st->state_changes;
  for (uint64_t k = 0; k < ARGUS_VIDEO_STATE_HISTORY && k <= st->state_changes;
       k++)
    out->states[k] =
        st->hist[(st->state_changes - k) % ARGUS_VIDEO_STATE_HISTORY];
  /* The window closes on the camera's next packet; when none came for a
   * while (a stall, the end of a file) the rates are those of the open
   * window, so that they fall to zero instead of freezing. */
  uint64_t now = argus_time_ns();
  if (st->state != ARGUS_VIDEO_STREAMING) {
    /* Nothing flows (ended, waiting, failed): no stale rates. */
  } else if (now - st->win_start_ns > 2000000000ull) {
    double secs = (double)(now - st->win_start_ns) * 1e-9;
    out->fps_in = rate(st->packets, st->win_packets, secs);
    out->fps_decoded = rate(st->frames_decoded, st->win_decoded, secs);
    out->fps_out = rate(st->queued_total, st->win_queued_total, secs);
  } else {
    out->fps_in = st->fps_in;
    out->fps_decoded = st->fps_decoded;
    out->fps_out = st->fps_out;
  }
  pthread_mutex_unlock(&hub->lock);
  return ARGUS_OK;
}

/* ---- consumers ---------------------------------------------------------- */

argus_err argus_video_hub_pop(argus_video_hub *hub, double timeout_s,
                              argus_video_frame **out) {
  if (!hub || !out || isnan(timeout_s)) {
    argus_log(ARGUS_LOG_ERROR, MOD, "hub_pop: %s",
              !hub ? "hub is NULL" : !out ? "out is NULL" : "timeout is NaN");
    if (out)
      *out = NULL;
    return ARGUS_E_INVALID_ARG;
  }
  *out = NULL;
  uint64_t deadline = 0;
  if (timeout_s > 0) {
    double ns = timeout_s * 1e9;
    if (ns > 1e18)
      ns = 1e18; /* "forever" in practice, without overflow */
    deadline = argus_time_ns() + (uint64_t)ns;
  }
  pthread_mutex_lock(&hub->lock);
  uint64_t gen = hub->interrupt_gen;
  while (!hub->head && gen == hub->interrupt_gen && timeout_s != 0) {
    if (timeout_s < 0) {
      pthread_cond_wait(&hub->ready, &hub->lock);
    } else {
      struct timespec ts = mono_abs(deadline);
      if (pthread_cond_timedwait(&hub->ready, &hub->lock, &ts) == ETIMEDOUT)
        break;
    }
  }
  video_slot *s = hub->head;
  if (s && gen == hub->interrupt_gen) {
    video_camera *cam = s->cam;
    unlink_queued(hub, s);
    s->state = SLOT_HELD;
    cam->st.frames_held++;
    cam->st.frames_delivered++;
    *out = &s->pub;
    if (cam->backpressure)
      pthread_cond_broadcast(&cam->wake); /* room in the ring */
  }
  pthread_mutex_unlock(&hub->lock);
  return ARGUS_OK;
}

void argus_video_hub_interrupt(argus_video_hub *hub) {
  if (!hub)
    return;
  pthread_mutex_lock(&hub->lock);
  hub->interrupt_gen++;
  pthread_cond_broadcast(&hub->ready);
  pthread_mutex_unlock(&hub->lock);
}

void argus_video_frame_release(argus_video_frame *frame) {
  if (!frame)
    return;
  video_slot *s = (video_slot *)frame;
  video_camera *cam = s->cam;
  argus_video_hub *hub = cam->hub;
  video_camera *dead = NULL;
  pthread_mutex_lock(&hub->lock);
  if (s->state != SLOT_HELD) {
    pthread_mutex_unlock(&hub->lock);
    argus_log(ARGUS_LOG_ERROR, MOD,
              "frame_release: frame %llu of camera '%s' is not held "
              "(released twice?)",
              (unsigned long long)frame->seq, cam->name);
    return;
  }
  free_slot(cam, s);
  cam->st.frames_held--;
  if (cam->backpressure)
    pthread_cond_broadcast(&cam->wake); /* a free buffer */
  if (cam->removed && cam->st.frames_held == 0) {
    hub->cams[cam->index] = NULL;
    dead = cam;
  }
  pthread_mutex_unlock(&hub->lock);
  camera_free(dead);
}

/* ---- camera-thread side ------------------------------------------------ */

video_slot *video_slot_acquire(video_camera *cam) {
  argus_video_hub *hub = cam->hub;
  pthread_mutex_lock(&hub->lock);
  /* Back-pressure: wait until a consumer gives a buffer back. */
  while (cam->backpressure && !cam->free_head && !atomic_load(&cam->stop))
    pthread_cond_wait(&cam->wake, &hub->lock);
  if (cam->backpressure && !cam->free_head) {
    pthread_mutex_unlock(&hub->lock);
    return NULL; /* stopping */
  }
  video_slot *s = cam->free_head;
  if (s) {
    cam->free_head = s->cam_next;
    s->cam_next = NULL;
  } else if (cam->ring_head) {
    /* Every free buffer is in the ring: reuse the oldest queued frame. */
    s = cam->ring_head;
    unlink_queued(hub, s);
    video_slot_clear(s);
    cam->st.frames_dropped++;
  } else {
    /* Consumers hold every buffer: this frame cannot be kept. */
    cam->st.frames_dropped++;
  }
  if (s)
    s->state = SLOT_FILLING;
  pthread_mutex_unlock(&hub->lock);
  return s;
}

void video_slot_abandon(video_camera *cam, video_slot *slot) {
  argus_video_hub *hub = cam->hub;
  pthread_mutex_lock(&hub->lock);
  free_slot(cam, slot);
  cam->st.frames_dropped++;
  pthread_mutex_unlock(&hub->lock);
}

void video_slot_push(video_camera *cam, video_slot *s) {
  argus_video_hub *hub = cam->hub;
  pthread_mutex_lock(&hub->lock);
  while (cam->backpressure && cam->st.frames_queued >= cam->cfg.queue_frames &&
         cam->ring_head && !atomic_load(&cam->stop))
    pthread_cond_wait(&cam->wake, &hub->lock);
  if (cam->st.frames_queued >= cam->cfg.queue_frames && cam->ring_head) {
    video_slot *old = cam->ring_head;
    unlink_queued(hub, old);
    free_slot(cam, old);
    cam->st.frames_dropped++;
  }
  s->state = SLOT_QUEUED;
  s->cam_next = NULL;
  s->cam_prev = cam->ring_tail;
  if (cam->ring_tail)
    cam->ring_tail->cam_next = s;
  else
    cam->ring_head = s;
  cam->ring_tail = s;
  s->hub_next = NULL;
  s->hub_prev = hub->tail;
  if (hub->tail)
    hub->tail->hub_next = s;
  else
    hub->head = s;
  hub->tail = s;
  cam->st.frames_queued++;
  cam->st.queued_total++;
  pthread_cond_signal(&hub->ready);
  pthread_mutex_unlock(&hub->lock);
}

int video_camera_sleep_until(video_camera *cam, uint64_t until_ns) {
  argus_video_hub *hub = cam->hub;
  pthread_mutex_lock(&hub->lock);
  while (!atomic_load(&cam->stop) && argus_time_ns() < until_ns) {
    struct timespec ts = mono_abs(until_ns);
    pthread_cond_timedwait(&cam->wake, &hub->lock, &ts);
  }
  int stop = atomic_load(&cam->stop);
  pthread_mutex_unlock(&hub->lock);
  return stop;
}

void video_note_state(video_counters *st, argus_video_state state) {
  if (state != ARGUS_VIDEO_WAITING)
    st->retry_wall_ns = 0;
  if (state == st->state)
    return;
  st->state = state;
  st->state_changes++;
  argus_video_state_change *h =
      &st->hist[st->state_changes % ARGUS_VIDEO_STATE_HISTORY];
  h->state = state;
  h->wall_ns = argus_wall_ns();
}

void video_set_state(video_camera *cam, argus_video_state state,
                     int connected) {
  pthread_mutex_lock(&cam->hub->lock);
  video_note_state(&cam->st, state);
  cam->st.connected = connected;
  pthread_mutex_unlock(&cam->hub->lock);
}

void video_set_waiting(video_camera *cam, double delay_s) {
  pthread_mutex_lock(&cam->hub->lock);
  video_note_state(&cam->st, ARGUS_VIDEO_WAITING);
  cam->st.connected = 0;
  cam->st.failed_attempts++;
  cam->st.retry_wall_ns = argus_wall_ns() + (int64_t)(delay_s * 1e9);
  pthread_mutex_unlock(&cam->hub->lock);
}

void video_set_failed(video_camera *cam) {
  pthread_mutex_lock(&cam->hub->lock);
  video_note_state(&cam->st, ARGUS_VIDEO_FAILED);
  cam->st.connected = 0;
  cam->st.failed_attempts++;
  pthread_mutex_unlock(&cam->hub->lock);
}

void video_set_error(video_camera *cam, argus_log_level level, argus_err code,
                     const char *fmt, ...) {
  char msg[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  pthread_mutex_lock(&cam->hub->lock);
  /* A camera that stays down repeats its error at every retry: the first
   * time is a warning, the repeats are details. */
  int repeat = cam->st.in_error_streak && cam->st.last_error_code == code &&
               strcmp(cam->st.last_error, msg) == 0;
  cam->st.in_error_streak = 1;
  cam->st.last_error_code = code;
  snprintf(cam->st.last_error, sizeof cam->st.last_error, "%s", msg);
  cam->st.last_error_wall_ns = argus_wall_ns();
  cam->st.errors++;
  pthread_mutex_unlock(&cam->hub->lock);
  if (repeat && level < ARGUS_LOG_INFO)
    level = ARGUS_LOG_INFO;
  argus_log(level, MOD, "camera %d '%s': %s", cam->index, cam->name, msg);
}

void video_count_reduced(video_camera *cam) {
  pthread_mutex_lock(&cam->hub->lock);
  cam->st.frames_reduced++;
  pthread_mutex_unlock(&cam->hub->lock);
}

void video_count_packet(video_camera *cam) {
  pthread_mutex_lock(&cam->hub->lock);
  cam->st.packets++;
  tick_rates(&cam->st, argus_time_ns());
  pthread_mutex_unlock(&cam->hub->lock);
}

void video_count_frame(video_camera *cam, double media_time, int skipped) {
  pthread_mutex_lock(&cam->hub->lock);
  cam->st.frames_decoded++;
  if (skipped)
    cam->st.frames_skipped++;
  cam->st.media_time = media_time;
  pthread_mutex_unlock(&cam->hub->lock);
}

void video_count_decode_error(video_camera *cam) {
  pthread_mutex_lock(&cam->hub->lock);
  cam->st.decode_errors++;
  pthread_mutex_unlock(&cam->hub->lock);
}

void video_set_stream_info(video_camera *cam, const char *codec, int width,
                           int height, double fps, double duration,
                           int skipping_nonref) {
  pthread_mutex_lock(&cam->hub->lock);
  snprintf(cam->st.codec, sizeof cam->st.codec, "%s", codec ? codec : "");
  cam->st.width = width;
  cam->st.height = height;
  cam->st.stream_fps = fps;
  cam->st.duration = duration;
  cam->st.skipping_nonref = skipping_nonref;
  pthread_mutex_unlock(&cam->hub->lock);
}

void video_count_connect(video_camera *cam, int is_reconnect) {
  pthread_mutex_lock(&cam->hub->lock);
  cam->st.connects++;
  cam->st.in_error_streak = 0;
  cam->st.failed_attempts = 0;
  if (is_reconnect)
    cam->st.reconnects++;
  pthread_mutex_unlock(&cam->hub->lock);
}
