/* The edge stage: cameras, analysis workers (frame -> faces -> tracker ->
 * shots), creation and statistics. Embedding shots and publishing their
 * face events live in shots.c (include/argus/edge.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "edge/edge_internal.h"

#define edge_fail(err, code, ...)                                              \
  argus_error_fail(err, code, ARGUS_LOG_DEBUG, EDGE_MOD, __VA_ARGS__)

void argus_edge_config_init(argus_edge_config *c) {
  if (!c)
    return;
  memset(c, 0, sizeof *c);
  c->fps = 5;
  c->queue_frames = 2;
  c->detect_size = ARGUS_FACE_DEFAULT_SIZE;
  c->max_faces = 32;
  c->max_tracks = 64;
  c->embed_batch = 8;
  c->embed_wait = 0.03;
  c->shot_slots = 64;
  c->thumb_width = 320;
  c->jpeg_quality = 90;
  c->motion = ARGUS_EDGE_MOTION_ON;
  c->motion_threshold = 8;
  c->motion_refresh = 2.0;
  c->decode = -1;
}

/* ---- shot slots ---------------------------------------------------------- */

edge_slot *edge_slot_get(argus_edge *p, const edge_cam *c) {
  pthread_mutex_lock(&p->shot_mu);
  edge_slot *s = p->free_slots;
  if (s)
    p->free_slots = s->next;
  pthread_mutex_unlock(&p->shot_mu);
  if (s) {
    s->next = NULL;
  } else if (c && c->sync_shots) {
    /* A back-pressured file loses no shot: one past the pool, for the few
     * frames when many faces ask at once (its shots are embedded before
     * its next frame, so these never pile up). */
    s = calloc(1, sizeof *s);
    if (s)
      s->buf = malloc(p->shot_bytes);
    if (s && !s->buf) {
      free(s);
      s = NULL;
    }
    if (s)
      s->overflow = 1;
  }
  return s;
}

void edge_slot_submit(argus_edge *p, edge_worker *w, const edge_cam *c,
                      edge_slot *s) {
  if (!w || !c->sync_shots) {
    edge_slot_enqueue(p, s);
    return;
  }
  s->next = NULL;
  s->queued_ns = argus_time_ns();
  if (w->local_tail)
    w->local_tail->next = s;
  else
    w->local_head = s;
  w->local_tail = s;
}

void edge_slot_put(argus_edge *p, edge_slot *s) {
  if (!s)
    return;
  if (s->overflow) {
    free(s->buf);
    free(s);
    return;
  }
  pthread_mutex_lock(&p->shot_mu);
  s->next = p->free_slots;
  p->free_slots = s;
  pthread_mutex_unlock(&p->shot_mu);
}

void edge_slot_enqueue(argus_edge *p, edge_slot *s) {
  s->next = NULL;
  s->queued_ns = argus_time_ns();
  pthread_mutex_lock(&p->shot_mu);
  if (p->pend_tail)
    p->pend_tail->next = s;
  else
    p->pend_head = s;
  p->pend_tail = s;
  if (p->npending++ == 0)
    p->oldest_pending_ns = s->queued_ns;
  pthread_mutex_unlock(&p->shot_mu);
}

int edge_queue_stored_shot(argus_edge *p, edge_worker *w, edge_cam *c, int cam,
                           uint64_t track, double track_start, const void *shot,
                           uint64_t trigger_mono) {
  const edge_shot_hdr *h = shot;
  if (!shot || !h->valid)
    return 0; /* nothing kept to search */
  edge_slot *s = edge_slot_get(p, c);
  if (!s) {
    c->shots_dropped++;
    atomic_fetch_add(&p->shots_dropped, 1);
    return -1;
  }
  memcpy(s->buf, shot, p->shot_bytes);
  s->cam = cam;
  s->gen = c->gen;
  s->track = track;
  s->track_start = track_start;
  s->reason = ARGUS_EVENT_REASON_END;
  s->trigger_mono = trigger_mono;
  edge_slot_submit(p, w, c, s);
  return 0;
}

/* ---- cameras ------------------------------------------------------------- */

static void snap_fail_all(edge_cam *c);

static edge_cam *cam_get(argus_edge *p, int index) {
  if (index < 0 || index >= p->max_cams || !p->cams[index].used)
    return NULL;
  return &p->cams[index];
}

argus_err argus_edge_add_camera(argus_edge *p, const char *name,
                                const char *url, double fps, int *index,
                                argus_error_detail *err) {
  argus_edge_camera_opts o = {name, url, fps, -1, NULL};
  return argus_edge_add_camera_opts(p, &o, index, err);
}

argus_err argus_edge_add_camera_opts(argus_edge *p,
                                     const argus_edge_camera_opts *o,
                                     int *index, argus_error_detail *err) {
  if (index)
    *index = -1;
  if (!o)
    return edge_fail(err, ARGUS_E_INVALID_ARG, "add camera: no options");
  const char *name = o->name, *url = o->url;
  double fps = o->fps;
  if (o->rtsp_udp < -1 || o->rtsp_udp > 1)
    return edge_fail(err, ARGUS_E_INVALID_ARG,
                     "add camera: rtsp_udp %d is not -1, 0 or 1", o->rtsp_udp);
  if (!p || !url || !*url)
    return edge_fail(err, ARGUS_E_INVALID_ARG, "add camera: no URL");
  if (!(fps >= 0) || fps > 1000)
    return edge_fail(err, ARGUS_E_INVALID_ARG,
                     "add camera: fps %g out of range (0..1000)", fps);
  if (!name || !*name)
    name = url;
  argus_policy pol;
  argus_error_detail pwhy = {{0}};
  argus_err prc = argus_policy_from_settings(o->settings, &pol, NULL, &pwhy);
  if (prc)
    return edge_fail(err, prc, "camera '%s': settings: %s", name, pwhy.msg);
  argus_video_camera_config vc;
  argus_video_camera_config_init(&vc);
  vc.name = name;
  vc.url = url;
  vc.rtsp_udp = o->rtsp_udp == 1;
  vc.max_fps = fps > 0 ? fps : p->cfg.fps;
  vc.realtime = p->cfg.realtime;
  vc.loop = p->cfg.loop;
  vc.format = ARGUS_PIX_YUV420P; /* zero copy; workers convert */
  if (p->cfg.decode >= 0)
    vc.decode = p->cfg.decode;
  vc.queue_frames = p->cfg.queue_frames;
  vc.held_frames = p->nworkers + 1 < ARGUS_VIDEO_MAX_QUEUE
                       ? p->nworkers + 1
                       : ARGUS_VIDEO_MAX_QUEUE;
  if (p->cfg.open_timeout > 0)
    vc.open_timeout = p->cfg.open_timeout;
  if (p->cfg.read_timeout > 0)
    vc.read_timeout = p->cfg.read_timeout;

  pthread_mutex_lock(&p->cams_mu);
  /* The tracker first: its memory (track slots and best-shot buffers) is
   * allocated once here. */
  argus_tracker *tr = NULL;
  argus_error_detail why = {{0}};
  argus_err rc = argus_track_create(&p->tcfg, &tr, &why);
  if (rc) {
    pthread_mutex_unlock(&p->cams_mu);
    return edge_fail(err, rc, "camera '%s': cannot create its tracker: %s",
                     name, why.msg[0] ? why.msg : argus_strerror(rc));
  }
  int idx = -1;
  rc = argus_video_hub_add(p->hub, &vc, &idx, &why);
  if (rc) {
    pthread_mutex_unlock(&p->cams_mu);
    argus_track_destroy(tr);
    return edge_fail(err, rc, "camera '%s': %s", name,
                     why.msg[0] ? why.msg : argus_strerror(rc));
  }
  edge_cam *c = &p->cams[idx];
  pthread_mutex_lock(&c->mu);
  atomic_fetch_add(&c->gen, 1);
  snprintf(c->name, sizeof c->name, "%s", name);
  c->tr = tr;
  c->sync_shots = argus_video_classify_url(url) == ARGUS_VIDEO_SOURCE_FILE &&
                  !p->cfg.realtime;
  c->last_t = -INFINITY;
  c->any_update = 0;
  c->frames_analysed = c->frames_failed = c->faces = c->shots = 0;
  c->shots_dropped = 0;
  c->policy = pol;
  c->frames_policy_off = c->faces_masked = c->faces_detect_only = 0;
  c->motion.fw = c->motion.fh = 0; /* sized by the first frame */
  memset(&c->motion_pass, 0, sizeof c->motion_pass);
  c->det_full = c->det_window = c->det_skipped = 0;
  c->det_area = 0;
  c->last_mode = argus_policy_mode_at(&pol, argus_wall_ns());
  c->frames_prev = 0;
  c->fps_analysed = 0;
  c->used = 1;
  pthread_mutex_unlock(&c->mu);
  pthread_mutex_unlock(&p->cams_mu);
  if (index)
    *index = idx;
  argus_log(ARGUS_LOG_INFO, EDGE_MOD,
            "camera %d '%s' added (%.1f fps analysed)", idx, c->name,
            vc.max_fps);
  if (pol.mode != ARGUS_POLICY_MATCH || pol.nwindows || pol.nmasks)
    argus_log(
        ARGUS_LOG_INFO, EDGE_MOD,
        "camera '%s': recognition policy %s, %d window(s), %d mask(s)%s%s",
        name, argus_policy_mode_name(pol.mode), pol.nwindows, pol.nmasks,
        pol.legal_ref[0] ? ": " : "", pol.legal_ref);
  return ARGUS_OK;
}

argus_err argus_edge_set_policy(argus_edge *p, int index,
                                const argus_policy *pol) {
  if (!p)
    return ARGUS_E_INVALID_ARG;
  if (pol) {
    if ((unsigned)pol->mode > ARGUS_POLICY_OFF || pol->nwindows < 0 ||
        pol->nwindows > ARGUS_POLICY_MAX_WINDOWS || pol->nmasks < 0 ||
        pol->nmasks > ARGUS_POLICY_MAX_MASKS)
      return ARGUS_E_INVALID_ARG;
    for (int i = 0; i < pol->nwindows; i++) {
      const argus_policy_window *w = &pol->windows[i];
      if ((unsigned)w->mode > ARGUS_POLICY_OFF ||
          (w->daily && (w->from_ns < 0 || w->from_ns >= 86400 || w->to_ns < 0 ||
                        w->to_ns >= 86400)))
        return ARGUS_E_INVALID_ARG;
    }
    for (int i = 0; i < pol->nmasks; i++)
      if (pol->masks[i].npoints < 3 ||
          pol->masks[i].npoints > ARGUS_POLICY_MAX_POINTS)
        return ARGUS_E_INVALID_ARG;
  }
  pthread_mutex_lock(&p->cams_mu);
  edge_cam *c = cam_get(p, index);
  if (!c) {
    pthread_mutex_unlock(&p->cams_mu);
    return ARGUS_E_NOT_FOUND;
  }
  pthread_mutex_lock(&c->mu);
  if (pol)
    c->policy = *pol;
  else
    argus_policy_init(&c->policy);
  pthread_mutex_unlock(&c->mu);
  pthread_mutex_unlock(&p->cams_mu);
  return ARGUS_OK;
}

argus_err argus_edge_remove_camera(argus_edge *p, int index) {
  if (!p)
    return ARGUS_E_INVALID_ARG;
  pthread_mutex_lock(&p->cams_mu);
  edge_cam *c = cam_get(p, index);
  if (!c) {
    pthread_mutex_unlock(&p->cams_mu);
    return ARGUS_E_NOT_FOUND;
  }
  argus_video_hub_remove(p->hub, index);
  pthread_mutex_lock(&c->mu);
  c->used = 0;
  atomic_fetch_add(&c->gen, 1); /* its shots still queued are dropped */
  snap_fail_all(c);
  argus_track_destroy(c->tr);
  c->tr = NULL;
  pthread_mutex_unlock(&c->mu);
  pthread_mutex_unlock(&p->cams_mu);
  return ARGUS_OK;
}

/* ---- analysis ----------------------------------------------------------- */

/* A view of the first w x h pixels of a buffer image. */
static argus_err view_of(argus_image *buf, int w, int h, argus_image *out) {
  uint8_t *d[3] = {buf->data[0], NULL, NULL};
  int st[3] = {buf->stride[0], 0, 0};
  return argus_image_wrap(out, w, h, buf->format, d, st);
}

/* Makes sure the worker's RGB buffer holds w x h. */
static argus_err ensure_rgb(edge_worker *w, int width, int height) {
  if (w->rgb.data[0] && w->rgb.width >= width && w->rgb.height >= height)
    return ARGUS_OK;
  int nw = width > w->rgb.width ? width : w->rgb.width;
  int nh = height > w->rgb.height ? height : w->rgb.height;
  argus_image_free(&w->rgb);
  return argus_image_alloc(&w->rgb, nw, nh, ARGUS_PIX_RGB8);
}

static void thumb_size(const argus_edge *p, int fw, int fh, int *tw, int *th) {
  int w = p->thumb_w, h = (int)lround((double)p->thumb_w * fh / fw);
  if (h > p->thumb_h) {
    h = p->thumb_h;
    w = (int)lround((double)p->thumb_h * fw / fh);
  }
  *tw = w < 1 ? 1 : w;
  *th = h < 1 ? 1 : h;
}

/* The frame's thumbnail into w->thumb (packed), made once per frame. */
static int make_thumb(argus_edge *p, edge_worker *w, const argus_image *rgb,
                      int *done, int *tw, int *th) {
  thumb_size(p, rgb->width, rgb->height, tw, th);
  if (*done)
    return 0;
  uint8_t *d[3] = {w->thumb.data[0], NULL, NULL};
  int st[3] = {*tw * 3, 0, 0};
  argus_image v;
  if (argus_image_wrap(&v, *tw, *th, ARGUS_PIX_RGB8, d, st) != ARGUS_OK ||
      argus_image_resize(rgb, &v) != ARGUS_OK)
    return -1;
  *done = 1;
  return 0;
}

/* Fills a shot buffer (header, aligned crop, thumbnail) from a face of the
 * current frame. */
static void fill_shot(argus_edge *p, edge_worker *w, const argus_video_frame *f,
                      const argus_image *rgb, const argus_face *face,
                      unsigned char *buf, int *thumb_done) {
  edge_shot_hdr *h = (edge_shot_hdr *)buf;
  memset(h, 0, sizeof *h);
  h->time = f->media_time;
  h->wall_ns = f->wall_ns;
  h->mono_ns = f->mono_ns;
  memcpy(h->box, face->box, sizeof h->box);
  h->quality = face->has_quality ? face->quality.value : 0;
  h->frame_w = rgb->width;
  h->frame_h = rgb->height;
  if (face->npoints != ARGUS_FACE_NPOINTS)
    return; /* cannot align: not valid */
  uint8_t *d[3] = {buf + EDGE_SHOT_HDR_BYTES, NULL, NULL};
  int st[3] = {p->align_w * 3, 0, 0};
  argus_image crop;
  if (argus_image_wrap(&crop, p->align_w, p->align_h, ARGUS_PIX_RGB8, d, st) !=
          ARGUS_OK ||
      argus_face_worker_align(w->fw, rgb, face, &crop) != ARGUS_OK)
    return;
  int tw = 0, th = 0;
  if (make_thumb(p, w, rgb, thumb_done, &tw, &th) == 0) {
    memcpy(buf + EDGE_SHOT_HDR_BYTES + (size_t)p->align_w * p->align_h * 3,
           w->thumb.data[0], (size_t)tw * th * 3);
    h->thumb_w = tw;
    h->thumb_h = th;
  }
  h->valid = 1;
}

/* The tracker stage of one analysed frame: under c->mu, in frame order. */
static void track_frame(argus_edge *p, edge_worker *w, edge_cam *c, int cam,
                        const argus_video_frame *f, const argus_image *rgb,
                        int nfaces, argus_policy_mode mode) {
  if (!(f->media_time > c->last_t) && c->any_update) {
    /* Media time is strictly increasing per camera; a frame that is not
     * newer (it cannot happen with the video hub) is skipped. */
    return;
  }
  /* Privacy masks: a face whose box centre lies in one is gone before the
   * tracker sees it, so no shot of it can ever be asked for. */
  if (c->policy.nmasks > 0) {
    int kept = 0;
    for (int i = 0; i < nfaces; i++) {
      const float *b = w->faces[i].box;
      float cx = 0.5f * (b[0] + b[2]), cy = 0.5f * (b[1] + b[3]);
      if (argus_policy_masked(&c->policy, cx, cy)) {
        c->faces_masked++;
        continue;
      }
      if (kept != i)
        w->faces[kept] = w->faces[i];
      kept++;
    }
    nfaces = kept;
  }
  for (int i = 0; i < nfaces; i++)
    argus_track_det_from_face(&w->faces[i], NULL, &w->dets[i]);
  argus_track_result res;
  argus_err rc =
      argus_track_update(c->tr, f->media_time, w->dets, nfaces, &res);
  if (rc) {
    c->frames_failed++;
    argus_log(ARGUS_LOG_WARN, EDGE_MOD,
              "camera '%s': tracker update failed: %s", c->name,
              argus_strerror(rc));
    return;
  }
  c->last_t = f->media_time;
  c->any_update = 1;
  c->faces += (uint64_t)nfaces;
  if (mode != ARGUS_POLICY_MATCH) {
    /* Detect only: tracks and counts, but no crop is kept and no shot is
     * asked for. A best shot the tracker would keep is marked empty, so
     * that neither a later search of the track nor its end can embed a
     * face seen now. */
    c->faces_detect_only += (uint64_t)nfaces;
    for (int i = 0; i < res.nassign; i++)
      if ((res.assign[i].flags & ARGUS_TRACK_F_BEST) && res.assign[i].shot)
        ((edge_shot_hdr *)res.assign[i].shot)->valid = 0;
    return;
  }
  int thumb_done = 0;
  /* New best shots: keep what a later search of them needs. */
  for (int i = 0; i < res.nassign; i++)
    if ((res.assign[i].flags & ARGUS_TRACK_F_BEST) && res.assign[i].shot)
      fill_shot(p, w, f, rgb, &w->faces[i], res.assign[i].shot, &thumb_done);
  for (int r = 0; r < res.nrequests; r++) {
    const argus_track_request *q = &res.requests[r];
    edge_slot *s = edge_slot_get(p, c);
    if (!s) {
      c->shots_dropped++;
      atomic_fetch_add(&p->shots_dropped, 1);
      continue;
    }
    if (q->det < 0) {
      memcpy(s->buf, q->shot, p->shot_bytes);
    } else if ((res.assign[q->det].flags & ARGUS_TRACK_F_BEST) &&
               res.assign[q->det].shot) {
      memcpy(s->buf, res.assign[q->det].shot, p->shot_bytes);
    } else {
      fill_shot(p, w, f, rgb, &w->faces[q->det], s->buf, &thumb_done);
    }
    if (!((edge_shot_hdr *)s->buf)->valid) {
      edge_slot_put(p, s);
      continue;
    }
    s->cam = cam;
    s->gen = c->gen;
    s->track = q->track_id;
    argus_track_info ti;
    s->track_start = argus_track_get(c->tr, q->track_id, &ti) == ARGUS_OK
                         ? ti.first_time
                         : NAN;
    s->reason = q->reason == ARGUS_TRACK_REQ_EARLY ? ARGUS_EVENT_REASON_EARLY
                                                   : ARGUS_EVENT_REASON_BETTER;
    s->trigger_mono = f->mono_ns;
    edge_slot_submit(p, w, c, s);
  }
  for (int k = 0; k < res.nended; k++)
    if (res.ended[k].match_best)
      edge_queue_stored_shot(p, w, c, cam, res.ended[k].track_id,
                             res.ended[k].first_time, res.ended[k].shot,
                             f->mono_ns);
}

/* ---- snapshots ------------------------------------------------------------ */

/* The size a frame of w x h takes to fit max_width (0: its own). */
static void snap_size(int w, int h, int max_width, int *ow, int *oh) {
  if (max_width <= 0 || max_width >= w) {
    *ow = w;
    *oh = h;
    return;
  }
  *ow = max_width;
  long nh = lround((double)h * max_width / w);
  *oh = nh < 1 ? 1 : (int)nh;
}

/* Fills the pixels of one row of img (RGB8) that polygon m covers at
 * height y (frame pixels): the spans between its edges' crossings (even-odd
 * rule, as argus_policy_masked), widened to every pixel a span touches. */
static void mask_row(argus_image *img, const argus_policy_mask *m, int row,
                     float y) {
  float xs[ARGUS_POLICY_MAX_POINTS];
  int n = 0;
  for (int a = 0, b = m->npoints - 1; a < m->npoints; b = a++) {
    float xa = m->pts[a][0], ya = m->pts[a][1];
    float xb = m->pts[b][0], yb = m->pts[b][1];
    if ((ya > y) != (yb > y))
      xs[n++] = (xb - xa) * (y - ya) / (yb - ya) + xa;
  }
  for (int i = 1; i < n; i++) /* insertion sort: n <= 32 */
    for (int k = i; k > 0 && xs[k - 1] > xs[k]; k--) {
      float t = xs[k];
      xs[k] = xs[k - 1];
      xs[k - 1] = t;
    }
  uint8_t *line = img->data[0] + (size_t)row * (size_t)img->stride[0];
  for (int i = 0; i + 1 < n; i += 2) {
    double x0 = floor(xs[i]), x1 = ceil(xs[i + 1]);
    if (x0 < 0)
      x0 = 0;
    if (x1 > img->width)
      x1 = img->width;
    if (x1 > x0)
      memset(line + (size_t)x0 * 3, 0, (size_t)(x1 - x0) * 3);
  }
}

/* The privacy masks of pol over img (RGB8, frame pixels), filled black: a
 * masked region is never shown by a live view. A pixel row is filled where
 * a mask covers it at its top, middle or bottom, so a pixel partly inside
 * is filled too. */
static void snap_mask(const argus_policy *pol, argus_image *img) {
  for (int i = 0; i < pol->nmasks; i++) {
    const argus_policy_mask *m = &pol->masks[i];
    int r0 = (int)floor(m->box[1]), r1 = (int)ceil(m->box[3]);
    if (r0 < 0)
      r0 = 0;
    if (r1 > img->height)
      r1 = img->height;
    for (int row = r0; row < r1; row++) {
      mask_row(img, m, row, (float)row + 0.001f);
      mask_row(img, m, row, (float)row + 0.5f);
      mask_row(img, m, row, (float)row + 0.999f);
    }
  }
}

/* Answers every snapshot request of camera c with the frame rgb, its
 * privacy masks filled (a scaled snapshot is scaled from the filled frame,
 * so no masked pixel blends into it). Under c->mu (the worker's turn). */
static void snap_serve(edge_cam *c, const argus_image *rgb) {
  uint32_t gen = atomic_load(&c->gen);
  edge_snap **pp = &c->snaps;
  int served = 0;
  while (*pp) {
    edge_snap *q = *pp;
    if (q->gen != gen) {
      pp = &q->next;
      continue;
    }
    int w = 0, h = 0;
    snap_size(rgb->width, rgb->height, q->max_width, &w, &h);
    int full = w == rgb->width && h == rgb->height;
    argus_image masked;
    memset(&masked, 0, sizeof masked);
    const argus_image *src = rgb;
    argus_err rc = ARGUS_OK;
    if (c->policy.nmasks > 0 && !full) {
      /* Masked at the frame's size first, then scaled. */
      rc = argus_image_alloc(&masked, rgb->width, rgb->height, ARGUS_PIX_RGB8);
      if (rc == ARGUS_OK)
        rc = argus_image_convert(rgb, &masked);
      if (rc == ARGUS_OK)
        snap_mask(&c->policy, &masked);
      src = &masked;
    }
    if (rc == ARGUS_OK)
      rc = argus_image_alloc(&q->img, w, h, ARGUS_PIX_RGB8);
    if (rc == ARGUS_OK)
      rc = full ? argus_image_convert(src, &q->img)
                : argus_image_resize(src, &q->img);
    if (rc == ARGUS_OK && full && c->policy.nmasks > 0)
      snap_mask(&c->policy, &q->img);
    argus_image_free(&masked);
    if (rc != ARGUS_OK)
      argus_image_free(&q->img);
    q->rc = rc;
    q->done = 1;
    *pp = q->next;
    q->next = NULL;
    atomic_fetch_sub(&c->snap_want, 1);
    served++;
  }
  if (served)
    pthread_cond_broadcast(&c->snap_cv);
}

/* Fails every request of camera c (removed). Under c->mu. */
static void snap_fail_all(edge_cam *c) {
  for (edge_snap *q = c->snaps; q;) {
    edge_snap *next = q->next;
    q->rc = ARGUS_E_NOT_FOUND;
    q->done = 1;
    q->next = NULL;
    atomic_fetch_sub(&c->snap_want, 1);
    q = next;
  }
  c->snaps = NULL;
  pthread_cond_broadcast(&c->snap_cv);
}

argus_err argus_edge_camera_snapshot(argus_edge *p, int index, int max_width,
                                     double timeout_s, argus_image *out,
                                     argus_error_detail *err) {
  if (err)
    err->msg[0] = '\0';
  if (out)
    memset(out, 0, sizeof *out);
  if (!p || !out)
    return edge_fail(err, ARGUS_E_INVALID_ARG, "snapshot: no edge or output");
  if (max_width < 0 || max_width > ARGUS_IMAGE_MAX_SIDE)
    return edge_fail(err, ARGUS_E_INVALID_ARG,
                     "snapshot: max_width %d out of range (0..%d)", max_width,
                     ARGUS_IMAGE_MAX_SIDE);
  if (!(timeout_s >= 0 && timeout_s <= 60))
    return edge_fail(err, ARGUS_E_INVALID_ARG,
                     "snapshot: timeout %g s out of range (0..60)", timeout_s);
  pthread_mutex_lock(&p->cams_mu);
  edge_cam *c = cam_get(p, index);
  if (!c) {
    pthread_mutex_unlock(&p->cams_mu);
    return edge_fail(err, ARGUS_E_NOT_FOUND, "no camera %d", index);
  }
  argus_video_stats vs;
  memset(&vs, 0, sizeof vs);
  argus_video_hub_stats(p->hub, index, &vs);
  pthread_mutex_lock(&c->mu);
  pthread_mutex_unlock(&p->cams_mu);
  char name[ARGUS_EVENT_NAME_MAX];
  memcpy(name, c->name, sizeof name);
  if (vs.state != ARGUS_VIDEO_STREAMING) {
    pthread_mutex_unlock(&c->mu);
    return edge_fail(err, ARGUS_E_NOT_FOUND,
                     "camera '%s' has no frame yet (state: %s)", name,
                     argus_video_state_name(vs.state));
  }
  edge_snap q;
  memset(&q, 0, sizeof q);
  q.max_width = max_width;
  q.gen = atomic_load(&c->gen);
  q.next = c->snaps;
  c->snaps = &q;
  atomic_fetch_add(&c->snap_want, 1);
  struct timespec dl;
  clock_gettime(CLOCK_MONOTONIC, &dl);
  double whole = floor(timeout_s);
  dl.tv_sec += (time_t)whole;
  dl.tv_nsec += (long)((timeout_s - whole) * 1e9);
  if (dl.tv_nsec >= 1000000000L) {
    dl.tv_sec++;
    dl.tv_nsec -= 1000000000L;
  }
  int timed_out = 0;
  while (!q.done && !timed_out)
    timed_out = pthread_cond_timedwait(&c->snap_cv, &c->mu, &dl) == ETIMEDOUT;
  if (!q.done) {
    /* Not answered: take the request back. */
    for (edge_snap **pp = &c->snaps; *pp; pp = &(*pp)->next)
      if (*pp == &q) {
        *pp = q.next;
        atomic_fetch_sub(&c->snap_want, 1);
        break;
      }
  }
  pthread_mutex_unlock(&c->mu);
  if (!q.done)
    return edge_fail(err, ARGUS_E_NOT_FOUND,
                     "camera '%s' has no frame yet (state: streaming; none "
                     "analysed within %.1f s)",
                     name, timeout_s);
  if (q.rc == ARGUS_E_NOT_FOUND)
    return edge_fail(err, q.rc, "camera '%s' was removed", name);
  if (q.rc != ARGUS_OK)
    return edge_fail(err, q.rc, "camera '%s': snapshot: %s", name,
                     argus_strerror(q.rc));
  *out = q.img;
  return ARGUS_OK;
}

argus_err argus_edge_histograms(argus_edge *p, argus_edge_histogram *detect,
                                argus_edge_histogram *embed) {
  if (!p)
    return ARGUS_E_INVALID_ARG;
  edge_hist_read(&p->hist_detect, detect);
  edge_hist_read(&p->hist_embed, embed);
  return ARGUS_OK;
}

/* The detector's whole-frame pass over w x h frames into mp (input and
 * content size), when that is one untiled, unmirrored pass; zeros when it
 * is not, and motion gating then only skips frames, never searches a
 * window. */
static void whole_pass(const argus_edge *p, int w, int h,
                       edge_motion_params *mp) {
  const argus_face_detector *d = argus_face_engine_detector(p->engine);
  argus_face_pass passes[2];
  int n = 0;
  mp->net_w = mp->net_h = mp->content_w = mp->content_h = 0;
  if (!d || argus_face_plan_passes(d, w, h, &p->det, passes, 2, &n) || n != 1 ||
      passes[0].flip || passes[0].net_w % 32 || passes[0].net_h % 32)
    return;
  mp->net_w = passes[0].net_w;
  mp->net_h = passes[0].net_h;
  mp->content_w = passes[0].content_w > 0 ? passes[0].content_w : mp->net_w;
  mp->content_h = passes[0].content_h > 0 ? passes[0].content_h : mp->net_h;
}

/* Motion gating (motion.h): what the detector searches in frame f of camera
 * c. The block means are computed without the lock; the comparison with the
 * previous frame and the tracks' boxes are read under c->mu. */
static void motion_plan(argus_edge *p, edge_worker *w, edge_cam *c,
                        const argus_video_frame *f, uint32_t gen,
                        edge_motion_decision *d) {
  memset(d, 0, sizeof *d);
  d->plan = EDGE_MOTION_FULL;
  d->area = 1.0f;
  const argus_image *im = &f->image;
  if (!p->cfg.motion ||
      (im->format != ARGUS_PIX_YUV420P && im->format != ARGUS_PIX_NV12 &&
       im->format != ARGUS_PIX_GRAY8))
    return;
  const int fw = im->width, fh = im->height;
  size_t need =
      (size_t)(fw / EDGE_MOTION_BLOCK) * (size_t)(fh / EDGE_MOTION_BLOCK);
  if (need == 0)
    return;
  if (need > w->mblocks_cap) {
    /* Once per larger frame size seen by this worker. */
    uint8_t *nb = realloc(w->mblocks, need);
    if (!nb)
      return;
    w->mblocks = nb;
    w->mblocks_cap = need;
  }
  edge_motion_blocks(im->data[0], (size_t)im->stride[0], fw, fh, w->mblocks);
  pthread_mutex_lock(&c->mu);
  if (!c->used || !c->tr || atomic_load(&c->gen) != gen) {
    pthread_mutex_unlock(&c->mu);
    return;
  }
  if (c->motion.fw != fw || c->motion.fh != fh) {
    if (edge_motion_reset(&c->motion, fw, fh) != 0) {
      pthread_mutex_unlock(&c->mu);
      return;
    }
    whole_pass(p, fw, fh, &c->motion_pass);
  }
  int nt = 0, n = 0;
  if (argus_track_list(c->tr, w->mtrack_ids, p->cfg.max_tracks, &n) ==
      ARGUS_OK) {
    if (n > p->cfg.max_tracks)
      n = p->cfg.max_tracks;
    for (int i = 0; i < n; i++) {
      argus_track_info ti;
      if (argus_track_get(c->tr, w->mtrack_ids[i], &ti) != ARGUS_OK)
        continue;
      memcpy(w->mtracks[nt].box, ti.predicted, sizeof ti.predicted);
      memcpy(w->mtracks[nt].vel, ti.velocity, sizeof ti.velocity);
      nt++;
    }
  }
  edge_motion_params mp = c->motion_pass;
  mp.threshold = p->cfg.motion_threshold;
  mp.min_blocks = 2;
  mp.refresh = p->cfg.motion_refresh;
  mp.dt = 1.0 / p->cfg.fps;
  edge_motion_decide(&c->motion, w->mblocks, f->media_time, w->mtracks, nt, &mp,
                     d);
  pthread_mutex_unlock(&c->mu);
}

/* Detection, landmarks and quality of one frame, then the tracker. */
static void analyse(argus_edge *p, edge_worker *w, argus_video_frame *f,
                    uint64_t ticket, uint32_t gen) {
  uint64_t c0 = argus_thread_cpu_ns(), t0 = argus_time_ns();
  argus_image rgb;
  memset(&rgb, 0, sizeof rgb);
  int nfaces = 0, ok = 0, have_rgb = 0;
  argus_face_error ferr = {{0}};
  edge_cam *c = &p->cams[f->camera];
  /* The recognition policy at the frame's capture time: mode off skips
   * the frame's analysis entirely (a snapshot is still served: a live view
   * is not analysis). */
  pthread_mutex_lock(&c->mu);
  argus_policy_mode mode = argus_policy_mode_at(&c->policy, f->wall_ns);
  pthread_mutex_unlock(&c->mu);
  int want_snap = atomic_load_explicit(&c->snap_want, memory_order_relaxed) > 0;
  argus_err rc = ARGUS_OK;
  edge_motion_decision md = {.plan = EDGE_MOTION_FULL, .area = 1.0f};
  if (mode != ARGUS_POLICY_OFF)
    motion_plan(p, w, c, f, gen, &md);
  if ((mode != ARGUS_POLICY_OFF && md.plan != EDGE_MOTION_SKIP) || want_snap) {
    rc = ensure_rgb(w, f->image.width, f->image.height);
    if (rc == ARGUS_OK)
      rc = view_of(&w->rgb, f->image.width, f->image.height, &rgb);
    if (rc == ARGUS_OK)
      rc = argus_image_convert(&f->image, &rgb);
    have_rgb = rc == ARGUS_OK;
  }
  if (rc == ARGUS_OK && mode == ARGUS_POLICY_OFF) {
    ok = 0;
  } else if (rc == ARGUS_OK && md.plan == EDGE_MOTION_SKIP) {
    ok = 1; /* nothing moved and nothing is tracked: no face to find */
  } else if (rc == ARGUS_OK && md.plan == EDGE_MOTION_REGION) {
    argus_face_detect_opts o = p->det;
    memcpy(o.window, md.win, sizeof o.window);
    rc = argus_face_worker_analyze(
        w->fw, &rgb, &o, ARGUS_FACE_DO_LANDMARKS | ARGUS_FACE_DO_QUALITY,
        w->faces, p->cfg.max_faces, &nfaces, NULL, &ferr);
    ok = rc == ARGUS_OK;
  } else if (rc == ARGUS_OK) {
    rc = argus_face_worker_analyze(
        w->fw, &rgb, &p->det, ARGUS_FACE_DO_LANDMARKS | ARGUS_FACE_DO_QUALITY,
        w->faces, p->cfg.max_faces, &nfaces, NULL, &ferr);
    ok = rc == ARGUS_OK;
  }
  uint64_t c1 = argus_thread_cpu_ns(), t1 = argus_time_ns();
  if (mode != ARGUS_POLICY_OFF) {
    atomic_fetch_add(&p->cpu_detect, c1 - c0);
    atomic_fetch_add(&p->ns_detect, t1 - t0);
    atomic_fetch_add(&p->n_detect, 1);
    edge_hist_add(&p->hist_detect, t1 - t0, 1);
  }

  pthread_mutex_lock(&c->mu);
  while (c->done_ticket != ticket)
    pthread_cond_wait(&c->turn, &c->mu);
  uint64_t t2 = argus_time_ns();
  /* A frame of a camera removed meanwhile (whose index may already serve
   * another camera) is not tracked. */
  if (c->used && c->tr && atomic_load(&c->gen) == gen) {
    if (have_rgb &&
        atomic_load_explicit(&c->snap_want, memory_order_relaxed) > 0)
      snap_serve(c, &rgb);
    c->last_mode = mode;
    if (mode == ARGUS_POLICY_OFF) {
      c->frames_policy_off++;
    } else if (ok) {
      c->frames_analysed++;
      c->det_full += md.plan == EDGE_MOTION_FULL;
      c->det_window += md.plan == EDGE_MOTION_REGION;
      c->det_skipped += md.plan == EDGE_MOTION_SKIP;
      c->det_area += md.area;
      track_frame(p, w, c, f->camera, f, &rgb, nfaces, mode);
    } else {
      c->frames_failed++;
      argus_log(ARGUS_LOG_WARN, EDGE_MOD, "camera '%s': frame at %.2f s: %s",
                c->name, f->media_time,
                ferr.msg[0] ? ferr.msg : argus_strerror(rc));
    }
  }
  if (w->local_head) {
    /* A back-pressured file: its shots are embedded and fed back to the
     * tracker before the camera's next frame is tracked (this worker still
     * has the turn; the lock is let go because publishing takes it). */
    pthread_mutex_unlock(&c->mu);
    edge_embed_local(p, w);
    pthread_mutex_lock(&c->mu);
  }
  c->done_ticket++;
  pthread_cond_broadcast(&c->turn);
  pthread_mutex_unlock(&c->mu);
  uint64_t c3 = argus_thread_cpu_ns(), t3 = argus_time_ns();
  atomic_fetch_add(&p->cpu_track, c3 - c1);
  atomic_fetch_add(&p->ns_track, t3 - t2);
  atomic_fetch_add(&p->n_track, 1);
}

static int embed_due(argus_edge *p, int *pending) {
  pthread_mutex_lock(&p->shot_mu);
  int n = p->npending;
  uint64_t oldest = p->oldest_pending_ns;
  pthread_mutex_unlock(&p->shot_mu);
  *pending = n;
  if (n >= p->cfg.embed_batch)
    return 1;
  return n > 0 &&
         (double)(argus_time_ns() - oldest) * 1e-9 >= p->cfg.embed_wait;
}

static void *worker_main(void *arg) {
  edge_worker *w = arg;
  argus_edge *p = w->e;
  argus_cpu_set_ftz();
  while (!atomic_load(&p->stop)) {
    int pending = 0;
    if (embed_due(p, &pending)) {
      edge_embed_batch(p, w);
      continue;
    }
    double to = pending ? p->cfg.embed_wait / 2 : 0.05;
    argus_video_frame *f = NULL;
    uint64_t ticket = 0;
    uint32_t gen = 0;
    pthread_mutex_lock(&p->pop_mu);
    argus_video_hub_pop(p->hub, to, &f);
    if (f) {
      ticket = p->cams[f->camera].next_ticket++;
      gen = atomic_load(&p->cams[f->camera].gen);
    }
    pthread_mutex_unlock(&p->pop_mu);
    if (f) {
      analyse(p, w, f, ticket, gen);
      argus_video_frame_release(f);
    } else if (pending) {
      edge_embed_batch(p, w); /* idle: no frame waits, embed now */
    }
  }
  return NULL;
}

/* ---- creation ----------------------------------------------------------- */

static argus_err check_config(const argus_edge_config *c,
                              argus_error_detail *err) {
#define BAD(...) return edge_fail(err, ARGUS_E_INVALID_ARG, __VA_ARGS__)
  if (c->threads < 0 || c->threads > ARGUS_EDGE_MAX_THREADS)
    BAD("threads %d out of range (0..%d)", c->threads, ARGUS_EDGE_MAX_THREADS);
  if (!(c->fps > 0 && c->fps <= 1000))
    BAD("fps %g out of range (0..1000]", c->fps);
  if (c->queue_frames < 1 || c->queue_frames > ARGUS_VIDEO_MAX_QUEUE)
    BAD("queue_frames %d out of range (1..%d)", c->queue_frames,
        ARGUS_VIDEO_MAX_QUEUE);
  if (c->max_cameras < 0 || c->max_cameras > 65536)
    BAD("max_cameras %d out of range (0..65536)", c->max_cameras);
  if (c->detect_size < 32 || c->detect_size > 8192)
    BAD("detect_size %d out of range (32..8192)", c->detect_size);
  if (c->max_faces < 1 || c->max_faces > 1024)
    BAD("max_faces %d out of range (1..1024)", c->max_faces);
  if (c->max_tracks < 1 || c->max_tracks > 4096)
    BAD("max_tracks %d out of range (1..4096)", c->max_tracks);
  if (c->embed_batch < 1 || c->embed_batch > 64)
    BAD("embed_batch %d out of range (1..64)", c->embed_batch);
  if (!(c->embed_wait >= 0 && c->embed_wait <= 10))
    BAD("embed_wait %g out of range (0..10 s)", c->embed_wait);
  if (c->shot_slots < c->embed_batch || c->shot_slots > 65536)
    BAD("shot_slots %d out of range (embed_batch..65536)", c->shot_slots);
  if (c->thumb_width < 32 || c->thumb_width > 1920)
    BAD("thumb_width %d out of range (32..1920)", c->thumb_width);
  if (c->jpeg_quality < 1 || c->jpeg_quality > 100)
    BAD("jpeg_quality %d out of range (1..100)", c->jpeg_quality);
  if (!(c->min_score >= 0 && c->min_score < 1))
    BAD("min_score %g out of range [0, 1)", c->min_score);
  if (!(c->min_face >= 0 && c->min_face < 10000))
    BAD("min_face %g out of range", c->min_face);
  if (!(c->min_quality >= 0 && c->min_quality <= 1))
    BAD("min_quality %g out of range [0, 1]", c->min_quality);
  if (!(c->open_timeout >= 0 && c->read_timeout >= 0))
    BAD("open/read timeouts must be >= 0");
  if (c->motion != ARGUS_EDGE_MOTION_OFF && c->motion != ARGUS_EDGE_MOTION_ON)
    BAD("motion %d is neither off (0) nor on (1)", c->motion);
  if (c->motion && (c->motion_threshold < 1 || c->motion_threshold > 255))
    BAD("motion_threshold %d out of range (1..255)", c->motion_threshold);
  if (c->decode < -1 || (c->decode >= 0 && !argus_video_decode_name(c->decode)))
    BAD("decode %d is not a decode setting (-1, or full, fast, nofilter)",
        c->decode);
  if (c->motion && !(c->motion_refresh > 0 && c->motion_refresh <= 3600))
    BAD("motion_refresh %g out of range (0..3600 s]", c->motion_refresh);
#undef BAD
  return ARGUS_OK;
}

static argus_err workers_create(argus_edge *p, argus_error_detail *err) {
  p->workers = calloc((size_t)p->nworkers, sizeof *p->workers);
  if (!p->workers)
    return edge_fail(err, ARGUS_E_NOMEM, "out of memory (workers)");
  const int B = p->cfg.embed_batch;
  for (int i = 0; i < p->nworkers; i++) {
    edge_worker *w = &p->workers[i];
    w->e = p;
    w->id = i;
    argus_err rc = argus_face_worker_create(p->engine, &w->fw);
    if (rc == ARGUS_OK)
      rc = argus_image_alloc(&w->thumb, p->thumb_w, p->thumb_h, ARGUS_PIX_RGB8);
    w->faces = calloc((size_t)p->cfg.max_faces, sizeof *w->faces);
    w->dets = calloc((size_t)p->cfg.max_faces, sizeof *w->dets);
    w->emb = calloc((size_t)B * (size_t)p->dim, sizeof *w->emb);
    w->crops = calloc((size_t)B, sizeof *w->crops);
    w->batch = calloc((size_t)B, sizeof *w->batch);
    w->mtracks = calloc((size_t)p->cfg.max_tracks, sizeof *w->mtracks);
    w->mtrack_ids = calloc((size_t)p->cfg.max_tracks, sizeof *w->mtrack_ids);
    if (rc == ARGUS_OK && (!w->faces || !w->dets || !w->emb || !w->crops ||
                           !w->batch || !w->mtracks || !w->mtrack_ids))
      rc = ARGUS_E_NOMEM;
    if (rc)
      return edge_fail(err, rc, "analysis worker %d: %s", i,
                       argus_strerror(rc));
    /* Plan the embedder's sessions for every batch size now (1, 2, 4, ...
     * up to embed_batch), so that the first large batch while running does
     * not allocate an arena. */
    argus_image grey;
    rc = argus_image_alloc(&grey, p->align_w, p->align_h, ARGUS_PIX_RGB8);
    if (rc)
      return edge_fail(err, rc, "analysis worker %d: %s", i,
                       argus_strerror(rc));
    for (int y = 0; y < grey.height; y++)
      memset(grey.data[0] + (size_t)y * grey.stride[0], 128,
             (size_t)grey.width * 3);
    for (int k = 0; k < B; k++)
      w->crops[k] = grey;
    argus_face_error fe = {{0}};
    for (int n = 1; n <= B && rc == ARGUS_OK; n *= 2)
      rc = argus_face_worker_embed_aligned(w->fw, w->crops, n, w->emb, &fe);
    argus_image_free(&grey);
    memset(w->crops, 0, (size_t)B * sizeof *w->crops);
    if (rc)
      return edge_fail(err, rc, "analysis worker %d: embedder: %s", i,
                       fe.msg[0] ? fe.msg : argus_strerror(rc));
  }
  return ARGUS_OK;
}

static void workers_free(argus_edge *p) {
  if (!p->workers)
    return;
  for (int i = 0; i < p->nworkers; i++) {
    edge_worker *w = &p->workers[i];
    argus_face_worker_free(w->fw);
    argus_image_free(&w->rgb);
    argus_image_free(&w->thumb);
    free(w->faces);
    free(w->dets);
    free(w->emb);
    free(w->crops);
    free(w->batch);
    free(w->mblocks);
    free(w->mtracks);
    free(w->mtrack_ids);
  }
  free(p->workers);
  p->workers = NULL;
}

argus_err argus_edge_create(const argus_edge_config *cfg,
                            argus_face_engine *engine, argus_bus *bus,
                            argus_edge **out, argus_error_detail *err) {
  if (err)
    err->msg[0] = '\0';
  if (!out || !engine || !bus)
    return edge_fail(err, ARGUS_E_INVALID_ARG,
                     "edge: no engine, bus or output pointer");
  *out = NULL;
  argus_edge_config def;
  if (!cfg) {
    argus_edge_config_init(&def);
    cfg = &def;
  }
  argus_err rc = check_config(cfg, err);
  if (rc)
    return rc;
  argus_edge *p = calloc(1, sizeof *p);
  if (!p)
    return edge_fail(err, ARGUS_E_NOMEM, "out of memory");
  p->cfg = *cfg;
  p->engine = engine;
  p->bus = bus;
  pthread_mutex_init(&p->cams_mu, NULL);
  pthread_mutex_init(&p->pop_mu, NULL);
  pthread_mutex_init(&p->shot_mu, NULL);
  atomic_init(&p->stop, 0);

  long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
  p->nworkers = cfg->threads > 0 ? cfg->threads : (ncpu > 0 ? (int)ncpu : 1);
  if (p->nworkers > ARGUS_EDGE_MAX_THREADS)
    p->nworkers = ARGUS_EDGE_MAX_THREADS;

  const argus_face_embedder *emb = argus_face_engine_embedder(engine);
  const argus_face_card *card =
      argus_face_engine_card(engine, ARGUS_FACE_MODEL_EMBEDDER);
  if (!emb || !card) {
    rc =
        edge_fail(err, ARGUS_E_INVALID_ARG, "edge: the engine has no embedder");
    goto fail;
  }
  p->dim = emb->dim;
  p->align_w = emb->align_width;
  p->align_h = emb->align_height;
  snprintf(p->model, sizeof p->model, "%s@%s", card->name, card->version);
  argus_face_detect_opts_default(&p->det);
  p->det.size = cfg->detect_size;
  p->det.min_score = cfg->min_score;
  p->det.min_size = cfg->min_face;
  p->det.max_faces = cfg->max_faces;

  /* Shots: header, aligned crop, thumbnail. */
  p->thumb_w = cfg->thumb_width;
  p->thumb_h = cfg->thumb_width * 9 / 16;
  if (p->thumb_h < 1)
    p->thumb_h = 1;
  p->shot_bytes = EDGE_SHOT_HDR_BYTES + (size_t)p->align_w * p->align_h * 3 +
                  (size_t)p->thumb_w * p->thumb_h * 3;
  p->shot_bytes = (p->shot_bytes + 63) & ~(size_t)63;

  argus_track_config_default(&p->tcfg);
  p->tcfg.capacity = cfg->max_tracks;
  p->tcfg.max_detections = cfg->max_faces;
  p->tcfg.embed_dim = p->dim;
  p->tcfg.shot_bytes = p->shot_bytes;
  if (cfg->min_quality > 0)
    p->tcfg.policy.min_quality = cfg->min_quality;

  /* Pools, sized once. */
  p->slots = calloc((size_t)cfg->shot_slots, sizeof *p->slots);
  p->slot_mem = malloc((size_t)cfg->shot_slots * p->shot_bytes);
  p->max_cams =
      cfg->max_cameras > 0 ? cfg->max_cameras : ARGUS_VIDEO_DEFAULT_CAMERAS;
  p->cams = calloc((size_t)p->max_cams, sizeof *p->cams);
  if (!p->slots || !p->slot_mem || !p->cams) {
    rc = edge_fail(err, ARGUS_E_NOMEM,
                   "out of memory (%d shot slots of %zu bytes)",
                   cfg->shot_slots, p->shot_bytes);
    goto fail;
  }
  for (int i = cfg->shot_slots - 1; i >= 0; i--) {
    p->slots[i].buf = p->slot_mem + (size_t)i * p->shot_bytes;
    p->slots[i].next = p->free_slots;
    p->free_slots = &p->slots[i];
  }
  pthread_condattr_t mono;
  pthread_condattr_init(&mono);
  pthread_condattr_setclock(&mono, CLOCK_MONOTONIC);
  for (int i = 0; i < p->max_cams; i++) {
    pthread_mutex_init(&p->cams[i].mu, NULL);
    pthread_cond_init(&p->cams[i].turn, NULL);
    pthread_cond_init(&p->cams[i].snap_cv, &mono);
  }
  pthread_condattr_destroy(&mono);
  rc = argus_video_hub_create(p->max_cams, &p->hub, NULL);
  if (rc) {
    rc = edge_fail(err, rc, "video hub: %s", argus_strerror(rc));
    goto fail;
  }
  if ((rc = workers_create(p, err)) != ARGUS_OK)
    goto fail;
  for (int i = 0; i < p->nworkers; i++) {
    if (pthread_create(&p->workers[i].thread, NULL, worker_main,
                       &p->workers[i]) != 0) {
      rc = edge_fail(err, ARGUS_E_INTERNAL, "cannot start analysis thread %d",
                     i);
      goto fail;
    }
    p->workers[i].started = 1;
  }
  argus_log(ARGUS_LOG_INFO, EDGE_MOD,
            "%d analysis workers, model %s, up to %d cameras", p->nworkers,
            p->model, p->max_cams);
  *out = p;
  return ARGUS_OK;
fail:
  argus_edge_destroy(p);
  return rc;
}

void argus_edge_destroy(argus_edge *p) {
  if (!p)
    return;
  atomic_store(&p->stop, 1);
  if (p->hub)
    argus_video_hub_interrupt(p->hub);
  for (int i = 0; p->workers && i < p->nworkers; i++)
    if (p->workers[i].started)
      pthread_join(p->workers[i].thread, NULL);
  argus_video_hub_destroy(p->hub);
  if (p->cams) {
    for (int i = 0; i < p->max_cams; i++) {
      argus_track_destroy(p->cams[i].tr);
      edge_motion_free(&p->cams[i].motion);
      pthread_mutex_destroy(&p->cams[i].mu);
      pthread_cond_destroy(&p->cams[i].turn);
      pthread_cond_destroy(&p->cams[i].snap_cv);
    }
    free(p->cams);
  }
  workers_free(p);
  free(p->slots);
  free(p->slot_mem);
  pthread_mutex_destroy(&p->cams_mu);
  pthread_mutex_destroy(&p->pop_mu);
  pthread_mutex_destroy(&p->shot_mu);
  free(p);
}

/* ---- housekeeping and state ------------------------------------------------ */

/* Ends the tracks of camera c (end of stream or lost source) and queues
 * their best shots. Under c->mu. */
static void cam_flush(argus_edge *p, edge_cam *c, int index) {
  argus_track_result res;
  if (!c->tr || !isfinite(c->last_t))
    return;
  argus_err rc = argus_track_flush(c->tr, c->last_t, &res);
  c->any_update = 0;
  if (rc) {
    argus_log(ARGUS_LOG_WARN, EDGE_MOD, "camera '%s': tracker flush: %s",
              c->name, argus_strerror(rc));
    return;
  }
  /* Ended tracks are searched only while the policy lets the camera
   * match. */
  if (argus_policy_mode_at(&c->policy, argus_wall_ns()) != ARGUS_POLICY_MATCH)
    return;
  for (int k = 0; k < res.nended; k++)
    if (res.ended[k].match_best)
      edge_queue_stored_shot(p, NULL, c, index, res.ended[k].track_id,
                             res.ended[k].first_time, res.ended[k].shot,
                             argus_time_ns());
}

void argus_edge_maintain(argus_edge *p) {
  if (!p)
    return;
  pthread_mutex_lock(&p->cams_mu);
  for (int i = 0; i < p->max_cams; i++) {
    edge_cam *c = &p->cams[i];
    if (!c->used)
      continue;
    argus_video_stats vs;
    if (argus_video_hub_stats(p->hub, i, &vs) != ARGUS_OK)
      continue;
    if (vs.state == ARGUS_VIDEO_STREAMING || vs.frames_queued || vs.frames_held)
      continue;
    pthread_mutex_lock(&p->pop_mu);
    uint64_t issued = c->next_ticket;
    pthread_mutex_unlock(&p->pop_mu);
    pthread_mutex_lock(&c->mu);
    if (c->any_update && c->done_ticket == issued)
      cam_flush(p, c, i);
    pthread_mutex_unlock(&c->mu);
  }
  pthread_mutex_unlock(&p->cams_mu);
}

static int video_ended(argus_video_state s) {
  return s == ARGUS_VIDEO_FINISHED || s == ARGUS_VIDEO_FAILED ||
         s == ARGUS_VIDEO_STOPPED;
}

int argus_edge_all_ended(argus_edge *p) {
  if (!p)
    return 1;
  int ended = 1;
  pthread_mutex_lock(&p->cams_mu);
  for (int i = 0; i < p->max_cams && ended; i++) {
    if (!p->cams[i].used)
      continue;
    argus_video_stats vs;
    if (argus_video_hub_stats(p->hub, i, &vs) == ARGUS_OK &&
        !video_ended(vs.state))
      ended = 0;
  }
  pthread_mutex_unlock(&p->cams_mu);
  return ended;
}

int argus_edge_idle(argus_edge *p) {
  if (!p)
    return 1;
  int done = 1;
  pthread_mutex_lock(&p->cams_mu);
  for (int i = 0; i < p->max_cams && done; i++) {
    edge_cam *c = &p->cams[i];
    if (!c->used)
      continue;
    argus_video_stats vs;
    if (argus_video_hub_stats(p->hub, i, &vs) != ARGUS_OK)
      continue;
    if (!video_ended(vs.state) || vs.frames_queued || vs.frames_held) {
      done = 0;
      break;
    }
    pthread_mutex_lock(&p->pop_mu);
    uint64_t issued = c->next_ticket;
    pthread_mutex_unlock(&p->pop_mu);
    pthread_mutex_lock(&c->mu);
    if (c->done_ticket != issued || c->any_update)
      done = 0; /* argus_edge_maintain flushes it */
    pthread_mutex_unlock(&c->mu);
  }
  pthread_mutex_unlock(&p->cams_mu);
  if (!done)
    return 0;
  pthread_mutex_lock(&p->shot_mu);
  done = p->npending == 0 && p->embedding == 0;
  pthread_mutex_unlock(&p->shot_mu);
  return done;
}

void argus_edge_tick_rates(argus_edge *p, double dt) {
  if (!p)
    return;
  pthread_mutex_lock(&p->cams_mu);
  for (int i = 0; i < p->max_cams; i++) {
    edge_cam *c = &p->cams[i];
    if (!c->used)
      continue;
    pthread_mutex_lock(&c->mu);
    c->fps_analysed =
        dt > 0 ? (double)(c->frames_analysed - c->frames_prev) / dt : 0;
    c->frames_prev = c->frames_analysed;
    pthread_mutex_unlock(&c->mu);
  }
  pthread_mutex_unlock(&p->cams_mu);
}

argus_err argus_edge_get_stats(argus_edge *p, argus_edge_stats *out,
                               argus_edge_camera_stats *cams, int cap,
                               int *ncams) {
  if (!p || !out || (cap > 0 && !cams) || cap < 0)
    return ARGUS_E_INVALID_ARG;
  memset(out, 0, sizeof *out);
  out->workers = p->nworkers;
  int n = 0;
  pthread_mutex_lock(&p->cams_mu);
  for (int i = 0; i < p->max_cams; i++) {
    edge_cam *c = &p->cams[i];
    if (!c->used)
      continue;
    argus_edge_camera_stats cs;
    memset(&cs, 0, sizeof cs);
    cs.index = i;
    argus_video_hub_stats(p->hub, i, &cs.video);
    pthread_mutex_lock(&c->mu);
    memcpy(cs.name, c->name, sizeof cs.name);
    cs.fps_analysed = c->fps_analysed;
    cs.frames_analysed = c->frames_analysed;
    cs.frames_failed = c->frames_failed;
    cs.faces = c->faces;
    cs.shots = c->shots;
    cs.shots_dropped = c->shots_dropped;
    cs.frames_policy_off = c->frames_policy_off;
    cs.faces_masked = c->faces_masked;
    cs.faces_detect_only = c->faces_detect_only;
    cs.policy_mode = c->last_mode;
    cs.det_full = c->det_full;
    cs.det_window = c->det_window;
    cs.det_skipped = c->det_skipped;
    cs.det_area = c->det_area;
    argus_track_stats ts;
    if (c->tr && argus_track_get_stats(c->tr, &ts) == ARGUS_OK) {
      cs.tracks = ts.created;
      cs.tracks_confirmed = ts.confirmed;
      cs.tracks_live = ts.live;
    }
    pthread_mutex_unlock(&c->mu);
    out->frames_analysed += cs.frames_analysed;
    out->frames_dropped += cs.video.frames_dropped;
    out->frames_queued += cs.video.frames_queued;
    out->faces += cs.faces;
    out->shots += cs.shots;
    out->det_full += cs.det_full;
    out->det_window += cs.det_window;
    out->det_skipped += cs.det_skipped;
    out->det_area += cs.det_area;
    if (n < cap)
      cams[n] = cs;
    n++;
  }
  pthread_mutex_unlock(&p->cams_mu);
  out->cameras = n;
  if (ncams)
    *ncams = n;
  out->shots_dropped = atomic_load(&p->shots_dropped);
  out->embed_batches = atomic_load(&p->embed_batches);
  out->embedded = atomic_load(&p->embedded);
  out->publish_errors = atomic_load(&p->publish_errors);
  pthread_mutex_lock(&p->shot_mu);
  out->shots_queued = p->npending;
  pthread_mutex_unlock(&p->shot_mu);
  out->ns_detect = atomic_load(&p->ns_detect);
  out->n_detect = atomic_load(&p->n_detect);
  out->ns_track = atomic_load(&p->ns_track);
  out->n_track = atomic_load(&p->n_track);
  out->ns_embed = atomic_load(&p->ns_embed);
  out->cpu_detect = atomic_load(&p->cpu_detect) * 1e-9;
  out->cpu_track = atomic_load(&p->cpu_track) * 1e-9;
  out->cpu_embed = atomic_load(&p->cpu_embed) * 1e-9;
  out->cpu_publish = atomic_load(&p->cpu_publish) * 1e-9;
  return ARGUS_OK;
}
