/* Shots to alerts: a batch of queued shots (of any cameras) through the
 * embedder in one call, each searched in the gallery (per-watchlist
 * thresholds), the tracker's decision (one alert per person per track,
 * cooldown), then the alert's crop and thumbnail encoded and handed to the
 * writer. Only matched shots leave the process's memory, unless unmatched
 * shots are to be kept. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/pipeline_internal.h"

_Static_assert(sizeof(((pl_hit *)0)->person) ==
                       sizeof(((argus_gallery_candidate *)0)->person) &&
                   sizeof(((pl_hit *)0)->watchlist) ==
                       sizeof(((argus_gallery_candidate *)0)->watchlist),
               "hit and candidate names differ in size");

static const char *reason_name(int r) {
  switch (r) {
  case ARGUS_TRACK_REQ_EARLY:
    return "early";
  case ARGUS_TRACK_REQ_BETTER:
    return "better";
  default:
    return "end";
  }
}

static argus_err crop_view(argus_pipeline *p, unsigned char *buf,
                           argus_image *out) {
  uint8_t *d[3] = {buf + PL_SHOT_HDR_BYTES, NULL, NULL};
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

/* Encodes the shot's crop and its thumbnail with the face's box into r. */
static argus_err encode_shot(argus_pipeline *p, pl_worker *w,
                             unsigned char *buf, pl_record *r) {
  const pl_shot_hdr *h = (const pl_shot_hdr *)buf;
  argus_image crop;
  argus_err rc = crop_view(p, buf, &crop);
  if (rc == ARGUS_OK)
    rc = argus_image_encode_jpeg(&crop, p->cfg.jpeg_quality, &r->crop,
                                 &r->crop_size);
  if (rc != ARGUS_OK || h->thumb_w <= 0 || h->thumb_h <= 0)
    return rc;
  /* The thumbnail is packed in the shot; copy it into the worker's buffer
   * to draw on. */
  const unsigned char *src =
      buf + PL_SHOT_HDR_BYTES + (size_t)p->align_w * p->align_h * 3;
  argus_image v;
  uint8_t *d[3] = {w->boxed.data[0], NULL, NULL};
  int st[3] = {w->boxed.stride[0], 0, 0};
  rc = argus_image_wrap(&v, h->thumb_w, h->thumb_h, ARGUS_PIX_RGB8, d, st);
  if (rc != ARGUS_OK)
    return rc;
  for (int y = 0; y < h->thumb_h; y++)
    memcpy(v.data[0] + (size_t)y * (size_t)v.stride[0],
           src + (size_t)y * (size_t)h->thumb_w * 3, (size_t)h->thumb_w * 3);
  float sx = (float)h->thumb_w / (float)h->frame_w;
  float sy = (float)h->thumb_h / (float)h->frame_h;
  static const uint8_t red[3] = {229, 57, 53};
  int t = h->thumb_w >= 480 ? 3 : 2;
  draw_box(&v, h->box[0] * sx - t, h->box[1] * sy - t, h->box[2] * sx + t,
           h->box[3] * sy + t, t, red);
  return argus_image_encode_jpeg(&v, p->cfg.jpeg_quality, &r->thumb,
                                 &r->thumb_size);
}

static void publish_face(argus_pipeline *p, pl_worker *w, const pl_slot *s,
                         const char *camera, int nhits, float best) {
  const pl_shot_hdr *h = (const pl_shot_hdr *)s->buf;
  char t[32], id[ARGUS_BUS_ID_MAX + 1];
  pl_rfc3339(h->wall_ns, t);
  pl_json j;
  pl_json_begin(&j, w->doc, sizeof w->doc);
  pl_json_int(&j, "v", ARGUS_BUS_VERSION);
  pl_json_str(&j, "type", "face");
  pl_json_str(&j, "camera", camera);
  pl_json_str(&j, "time", t);
  pl_json_num(&j, "media_time", h->time, 3);
  pl_json_uint(&j, "track", s->track);
  pl_json_str(&j, "reason", reason_name(s->reason));
  pl_json_num(&j, "quality", h->quality, 3);
  pl_json_box(&j, "box", h->box);
  pl_json_bool(&j, "matched", nhits > 0);
  pl_json_num(&j, "best_score", best, 4);
  size_t n = pl_json_end(&j);
  if (n && argus_bus_make_id(p->bus, "face", id) == ARGUS_OK)
    argus_bus_publish(p->bus, ARGUS_BUS_TOPIC_FACE, id, w->doc, n);
}

/* Searches one embedded shot and acts on the answer. */
static void match_one(argus_pipeline *p, pl_worker *w, pl_slot *s,
                      const float *emb) {
  const pl_shot_hdr *h = (const pl_shot_hdr *)s->buf;
  uint64_t c0 = pl_thread_cpu_ns();
  int nfound = 0, nhits = 0;
  float best = -1;
  argus_gallery_error ge = {{0}};
  argus_err rc = argus_gallery_search(p->gallery, emb, 1, PL_SEARCH_K,
                                      &p->search, w->cands, &nfound, &ge);
  if (rc) {
    argus_log(ARGUS_LOG_WARN, PL_MOD, "search failed: %s",
              ge.msg[0] ? ge.msg : argus_strerror(rc));
    nfound = 0;
  }
  if (nfound > 0)
    best = w->cands[0].score;
  for (int i = 0; i < nfound && nhits < PL_SEARCH_K; i++) {
    const argus_gallery_candidate *c = &w->cands[i];
    if (!c->match)
      continue;
    pl_hit *hit = &w->hits[nhits++];
    hit->person_id = c->person_id;
    hit->watchlist_id = c->watchlist_id;
    hit->score = c->score;
    hit->threshold = c->threshold;
    /* Same sizes (asserted below); memcpy rather than snprintf, which
     * gcc's -Wrestrict suspects of overlap (both live in the worker). */
    memcpy(hit->person, c->person, sizeof hit->person);
    hit->person[sizeof hit->person - 1] = '\0';
    memcpy(hit->watchlist, c->watchlist, sizeof hit->watchlist);
    hit->watchlist[sizeof hit->watchlist - 1] = '\0';
  }

  /* The tracker decides, under the camera's lock. */
  int alert[PL_SEARCH_K] = {0};
  int nalerts = 0, live = 0;
  char camera[PL_NAME_MAX] = "";
  pl_cam *c = &p->cams[s->cam];
  pthread_mutex_lock(&c->mu);
  if (c->used && c->gen == s->gen && c->tr) {
    live = 1;
    snprintf(camera, sizeof camera, "%s", c->name);
    argus_err te = argus_track_set_embedding(c->tr, s->track, emb);
    if (te != ARGUS_OK && te != ARGUS_E_NOT_FOUND)
      argus_log(ARGUS_LOG_DEBUG, PL_MOD, "set_embedding: %s",
                argus_strerror(te));
    for (int i = 0; i < nhits; i++) {
      alert[i] = 1; /* transitional: decisions move to src/match */
      nalerts++;
    }
    c->shots++;
    c->matches += nhits > 0;
    c->alerts += (uint64_t)nalerts;
  }
  pthread_mutex_unlock(&c->mu);
  uint64_t now = argus_time_ns();
  pthread_mutex_lock(&p->lat_mu);
  pl_latency_add(&p->lat_search, (double)(now - s->trigger_mono) * 1e-9);
  pthread_mutex_unlock(&p->lat_mu);
  uint64_t c1 = pl_thread_cpu_ns();
  atomic_fetch_add(&p->cpu_match, c1 - c0);
  if (!live)
    return; /* the camera went away meanwhile */
  if (p->cfg.publish_faces)
    publish_face(p, w, s, camera, nhits, best);

  int keep = nhits == 0 && p->cfg.keep_unmatched > 0;
  for (int i = 0; i < nhits || keep; i++) {
    if (!keep && !alert[i])
      continue;
    pl_record r;
    memset(&r, 0, sizeof r);
    r.kind = keep ? PL_REC_UNMATCHED : PL_REC_ALERT;
    r.cam = s->cam;
    snprintf(r.camera, sizeof r.camera, "%s", camera);
    r.wall_ns = h->wall_ns;
    r.media_time = h->time;
    r.track = s->track;
    r.trigger_mono = s->trigger_mono;
    if (!keep)
      r.hit = w->hits[i];
    r.best_score = best;
    r.quality = h->quality;
    memcpy(r.box, h->box, sizeof r.box);
    argus_err ee = encode_shot(p, w, s->buf, &r);
    if (ee != ARGUS_OK) {
      argus_log(ARGUS_LOG_WARN, PL_MOD,
                "camera '%s': cannot encode the crop of track %llu: %s", camera,
                (unsigned long long)s->track, argus_strerror(ee));
      free(r.crop);
      free(r.thumb);
      r.crop = r.thumb = NULL;
      r.crop_size = r.thumb_size = 0;
    }
    if (!keep)
      atomic_fetch_add(&p->alerts, 1);
    pl_record_push(p, &r);
    if (keep)
      break;
  }
  atomic_fetch_add(&p->cpu_alert, pl_thread_cpu_ns() - c1);
}

int pl_embed_batch(argus_pipeline *p, pl_worker *w) {
  const int B = p->cfg.embed_batch;
  int n = 0;
  pthread_mutex_lock(&p->shot_mu);
  while (n < B && p->pend_head) {
    pl_slot *s = p->pend_head;
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

  uint64_t c0 = pl_thread_cpu_ns(), t0 = argus_time_ns();
  int ok = 1;
  for (int i = 0; i < n && ok; i++)
    ok = crop_view(p, w->batch[i]->buf, &w->crops[i]) == ARGUS_OK;
  argus_face_error fe = {{0}};
  argus_err rc =
      ok ? argus_face_worker_embed_aligned(w->fw, w->crops, n, w->emb, &fe)
         : ARGUS_E_INTERNAL;
  uint64_t c1 = pl_thread_cpu_ns(), t1 = argus_time_ns();
  atomic_fetch_add(&p->cpu_embed, c1 - c0);
  atomic_fetch_add(&p->ns_embed, t1 - t0);
  atomic_fetch_add(&p->embed_batches, 1);
  atomic_fetch_add(&p->embedded, (uint64_t)n);
  if (rc) {
    argus_log(ARGUS_LOG_WARN, PL_MOD, "embedding %d shots failed: %s", n,
              fe.msg[0] ? fe.msg : argus_strerror(rc));
  } else {
    for (int i = 0; i < n; i++)
      match_one(p, w, w->batch[i], w->emb + (size_t)i * (size_t)p->dim);
  }
  for (int i = 0; i < n; i++)
    pl_slot_put(p, w->batch[i]);
  pthread_mutex_lock(&p->shot_mu);
  p->embedding--;
  pthread_mutex_unlock(&p->shot_mu);
  return n;
}
