/* Shots to face events: a batch of queued shots (of any cameras) through
 * the embedder in one call; each embedding feeds its track's appearance
 * and goes out in a face event with the aligned crop and the frame
 * thumbnail (box drawn) as JPEG, named by their SHA-256. What a search of
 * it finds is the match stage's business. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "edge/edge_internal.h"

static argus_err crop_view(argus_edge *p, unsigned char *buf,
                           argus_image *out) {
  uint8_t *d[3] = {buf + EDGE_SHOT_HDR_BYTES, NULL, NULL};
  int st[3] = {p->align_w * 3, 0, 0};
  return argus_image_wrap(out, p->align_w, p->align_h, ARGUS_PIX_RGB8, d, st);
}

/* A rectangle of thickness t in colour rgb onto a packed RGB8 image. */
static void draw_box(argus_image *img, float x1, float y1, float x2, float y2,
                     int t, const uint8_t rgb[3]) {
  int X1 = (int)floorf(x1), Y1 = (int)floorf(y1);
  int X2 = (int)ceilf(x2) - 1, Y2 = (int)ceilf(y2) - 1;
  if (X1 < 0)
    X1 = 0;
  if (Y1 < 0)
    Y1 = 0;
  if (X2 > img->width - 1)
    X2 = img->width - 1;
  if (Y2 > img->height - 1)
    Y2 = img->height - 1;
  if (X2 < X1 || Y2 < Y1)
    return;
  for (int y = Y1; y <= Y2; y++) {
    uint8_t *row = img->data[0] + (size_t)y * (size_t)img->stride[0];
    int edge_row = y < Y1 + t || y > Y2 - t;
    for (int x = X1; x <= X2; x++) {
      if (!edge_row && x >= X1 + t && x <= X2 - t)
        continue;
      row[3 * x] = rgb[0];
      row[3 * x + 1] = rgb[1];
      row[3 * x + 2] = rgb[2];
    }
  }
}

/* The shot's thumbnail with the face's box, into dst (packed RGB8). */
static argus_err boxed_thumb(argus_edge *p, const unsigned char *buf,
                             uint8_t *dst) {
  const edge_shot_hdr *h = (const edge_shot_hdr *)buf;
  const unsigned char *src =
      buf + EDGE_SHOT_HDR_BYTES + (size_t)p->align_w * p->align_h * 3;
  memcpy(dst, src, (size_t)h->thumb_w * (size_t)h->thumb_h * 3);
  argus_image img, *v = &img;
  uint8_t *d[3] = {dst, NULL, NULL};
  int st[3] = {h->thumb_w * 3, 0, 0};
  argus_err rc =
      argus_image_wrap(v, h->thumb_w, h->thumb_h, ARGUS_PIX_RGB8, d, st);
  if (rc != ARGUS_OK)
    return rc;
  float sx = (float)h->thumb_w / (float)h->frame_w;
  float sy = (float)h->thumb_h / (float)h->frame_h;
  static const uint8_t red[3] = {229, 57, 53};
  int t = h->thumb_w >= 480 ? 3 : 2;
  draw_box(v, h->box[0] * sx - t, h->box[1] * sy - t, h->box[2] * sx + t,
           h->box[3] * sy + t, t, red);
  return ARGUS_OK;
}

/* Builds and publishes the face event of one embedded shot. */
static argus_err publish_face(argus_edge *p, edge_slot *s,
                              const char *camera, const float *emb) {
  const edge_shot_hdr *h = (const edge_shot_hdr *)s->buf;
  uint8_t *crop_jpg = NULL;
  size_t crop_n = 0;
  size_t thumb_n = h->thumb_w > 0 && h->thumb_h > 0
                       ? (size_t)h->thumb_w * (size_t)h->thumb_h * 3
                       : 0;
  argus_image crop;
  argus_err rc = crop_view(p, s->buf, &crop);
  if (rc == ARGUS_OK)
    rc = argus_image_encode_jpeg(&crop, p->cfg.jpeg_quality, &crop_jpg,
                                 &crop_n);
  argus_event *ev = NULL;
  float *ev_emb = NULL;
  uint8_t *ev_crop = NULL, *ev_thumb = NULL;
  if (rc == ARGUS_OK)
    rc = argus_event_face_new(p->dim, crop_n, thumb_n, &ev, &ev_emb, &ev_crop,
                              &ev_thumb);
  if (rc == ARGUS_OK) {
    argus_event_face *f = &ev->u.face;
    snprintf(f->camera, sizeof f->camera, "%s", camera);
    f->wall_ns = h->wall_ns;
    f->mono_ns = s->trigger_mono;
    f->media_time = h->time;
    f->track = s->track;
    f->track_start = s->track_start;
    f->reason = (argus_event_reason)s->reason;
    f->quality = h->quality;
    memcpy(f->box, h->box, sizeof f->box);
    f->frame_w = h->frame_w;
    f->frame_h = h->frame_h;
    memcpy(f->model, p->model, sizeof f->model);
    memcpy(ev_emb, emb, (size_t)p->dim * sizeof *emb);
    memcpy(ev_crop, crop_jpg, crop_n);
    argus_sha256_hex(ev_crop, crop_n, f->crop.sha256);
    f->crop.width = p->align_w;
    f->crop.height = p->align_h;
    if (thumb_n && boxed_thumb(p, s->buf, ev_thumb) == ARGUS_OK) {
      f->thumb_w = h->thumb_w;
      f->thumb_h = h->thumb_h;
    } else {
      f->thumb_rgb = NULL;
    }
    rc = argus_bus_make_id(p->bus, "face", ev->id);
    if (rc == ARGUS_OK)
      rc = argus_bus_publish_event(p->bus, ARGUS_EVENT_TOPIC_FACE, ev);
  }
  argus_event_unref(ev);
  free(crop_jpg);
  return rc;
}

/* Hands one embedded shot on: the track's appearance, then its event. */
static void shot_done(argus_edge *p, edge_slot *s,
                      const float *emb) {
  char camera[ARGUS_EVENT_NAME_MAX] = "";
  int live = 0;
  edge_cam *c = &p->cams[s->cam];
  pthread_mutex_lock(&c->mu);
  if (c->used && c->gen == s->gen && c->tr) {
    live = 1;
    memcpy(camera, c->name, sizeof camera);
    argus_err te = argus_track_set_embedding(c->tr, s->track, emb);
    if (te != ARGUS_OK && te != ARGUS_E_NOT_FOUND)
      argus_log(ARGUS_LOG_DEBUG, EDGE_MOD, "set_embedding: %s",
                argus_strerror(te));
  }
  pthread_mutex_unlock(&c->mu);
  if (!live)
    return; /* the camera went away meanwhile */
  uint64_t c0 = argus_thread_cpu_ns();
  argus_err rc = publish_face(p, s, camera, emb);
  atomic_fetch_add(&p->cpu_publish, argus_thread_cpu_ns() - c0);
  pthread_mutex_lock(&c->mu);
  if (c->gen == s->gen && rc == ARGUS_OK)
    c->shots++;
  pthread_mutex_unlock(&c->mu);
  if (rc != ARGUS_OK) {
    atomic_fetch_add(&p->publish_errors, 1);
    argus_log(ARGUS_LOG_WARN, EDGE_MOD,
              "camera '%s': face event of track %llu not published: %s",
              camera, (unsigned long long)s->track, argus_strerror(rc));
  }
}

static void embed_taken(argus_edge *p, edge_worker *w, int n);

int edge_embed_batch(argus_edge *p, edge_worker *w) {
  const int B = p->cfg.embed_batch;
  int n = 0;
  pthread_mutex_lock(&p->shot_mu);
  while (n < B && p->pend_head) {
    edge_slot *s = p->pend_head;
    p->pend_head = s->next;
    if (!p->pend_head)
      p->pend_tail = NULL;
    p->npending--;
    w->batch[n++] = s;
  }
  if (p->pend_head)
    p->oldest_pending_ns = p->pend_head->queued_ns;
  if (n)
    p->embedding++;
  pthread_mutex_unlock(&p->shot_mu);
  if (n == 0)
    return 0;
  embed_taken(p, w, n);
  return n;
}

int edge_embed_local(argus_edge *p, edge_worker *w) {
  const int B = p->cfg.embed_batch;
  int total = 0;
  while (w->local_head) {
    int n = 0;
    while (n < B && w->local_head) {
      edge_slot *s = w->local_head;
      w->local_head = s->next;
      s->next = NULL;
      w->batch[n++] = s;
    }
    if (!w->local_head)
      w->local_tail = NULL;
    pthread_mutex_lock(&p->shot_mu);
    p->embedding++;
    pthread_mutex_unlock(&p->shot_mu);
    embed_taken(p, w, n);
    total += n;
  }
  return total;
}

/* Embeds w->batch[0..n), publishes, gives the slots back and ends the
 * batch counted in p->embedding. */
static void embed_taken(argus_edge *p, edge_worker *w, int n) {
  uint64_t c0 = argus_thread_cpu_ns(), t0 = argus_time_ns();
  int ok = 1;
  for (int i = 0; i < n && ok; i++)
    ok = crop_view(p, w->batch[i]->buf, &w->crops[i]) == ARGUS_OK;
  argus_face_error fe = {{0}};
  argus_err rc =
      ok ? argus_face_worker_embed_aligned(w->fw, w->crops, n, w->emb, &fe)
         : ARGUS_E_INTERNAL;
  uint64_t c1 = argus_thread_cpu_ns(), t1 = argus_time_ns();
  atomic_fetch_add(&p->cpu_embed, c1 - c0);
  atomic_fetch_add(&p->ns_embed, t1 - t0);
  atomic_fetch_add(&p->embed_batches, 1);
  atomic_fetch_add(&p->embedded, (uint64_t)n);
  edge_hist_add(&p->hist_embed, (t1 - t0) / (uint64_t)n, (uint64_t)n);
  if (rc) {
    argus_log(ARGUS_LOG_WARN, EDGE_MOD, "embedding %d shots failed: %s", n,
              fe.msg[0] ? fe.msg : argus_strerror(rc));
  } else {
    for (int i = 0; i < n; i++)
      shot_done(p, w->batch[i], w->emb + (size_t)i * (size_t)p->dim);
  }
  for (int i = 0; i < n; i++)
    edge_slot_put(p, w->batch[i]);
  pthread_mutex_lock(&p->shot_mu);
  p->embedding--;
  pthread_mutex_unlock(&p->shot_mu);
}
