/* The store sink: raised alerts (and, with retention on, unmatched faces)
 * are stored through the store, crops and thumbnails by content hash, in
 * one transaction each; the stored alert is then published on "alert" for
 * every other sink (the CLI printer, the API's live stream). An alert the
 * database refuses is still published (id null): an operator must see it.
 *
 * Also here: the change feed, which turns enrolment changes of any process
 * (as audited in the store) into watchlist.change events for the
 * matcher. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pipeline/pipeline_internal.h"

/* Under store_mu. */
static argus_store_id camera_id_of(argus_pipeline *p, const char *name) {
  argus_store_camera cam;
  if (argus_store_camera_get(p->parts.store, name, &cam, NULL) == ARGUS_OK)
    return cam.id;
  return 0;
}

static void count_store_error(argus_pipeline *p, const char *what,
                              const char *camera, const char *msg) {
  atomic_fetch_add(&p->store_errors, 1);
  argus_log(ARGUS_LOG_ERROR, PL_MOD, "camera '%s': %s not stored: %s", camera,
            what, msg);
}

/* The face's thumbnail (pixels with the box drawn) as JPEG: *jpg is
 * malloc'd, NULL when there is none. */
static void thumb_jpeg(argus_pipeline *p, const argus_event_face *f,
                       uint8_t **jpg, size_t *n, char sha[65]) {
  *jpg = NULL;
  *n = 0;
  sha[0] = '\0';
  if (!f || !f->thumb_rgb || f->thumb_w <= 0 || f->thumb_h <= 0)
    return;
  argus_image v;
  uint8_t *d[3] = {(uint8_t *)f->thumb_rgb, NULL, NULL};
  int st[3] = {f->thumb_w * 3, 0, 0};
  if (argus_image_wrap(&v, f->thumb_w, f->thumb_h, ARGUS_PIX_RGB8, d, st) !=
          ARGUS_OK ||
      argus_image_encode_jpeg(&v, p->cfg.jpeg_quality, jpg, n) != ARGUS_OK) {
    free(*jpg);
    *jpg = NULL;
    *n = 0;
    argus_log(ARGUS_LOG_WARN, PL_MOD,
              "camera '%s': the frame thumbnail could not be encoded",
              f->camera);
    return;
  }
  argus_sha256_hex(*jpg, *n, sha);
}

static void store_alert(argus_pipeline *p, const argus_event *ev) {
  const argus_event_alert *a = &ev->u.alert;
  const argus_event_face *f = a->face ? &a->face->u.face : NULL;
  uint8_t *thumb = NULL;
  size_t thumb_n = 0;
  char thumb_sha[65];
  thumb_jpeg(p, f, &thumb, &thumb_n, thumb_sha);
  char t[ARGUS_RFC3339_MAX];
  argus_rfc3339(a->wall_ns, t);
  argus_store_alert_in in;
  memset(&in, 0, sizeof in);
  in.camera = a->camera;
  in.time = t;
  in.media_time = a->media_time;
  in.track_id = (int64_t)a->track;
  in.watchlist_id = a->watchlist_id;
  in.person_id = a->person_id;
  in.score = a->score;
  if (f) {
    in.crop = f->crop.data;
    in.crop_size = f->crop.size;
    in.thumb = thumb;
    in.thumb_size = thumb_n;
  }
  argus_store_id id = 0;
  argus_store_error se = {{0}};
  pthread_mutex_lock(&p->store_mu);
  in.camera_id = camera_id_of(p, a->camera);
  argus_err rc = argus_store_alert_insert(p->parts.store, &in, &id, &se);
  pthread_mutex_unlock(&p->store_mu);
  if (rc == ARGUS_OK)
    atomic_fetch_add(&p->alerts_stored, 1);
  else
    count_store_error(p, "alert", a->camera,
                      se.msg[0] ? se.msg : argus_strerror(rc));

  /* The stored alert, for the other sinks. */
  argus_event *out = NULL;
  if (argus_event_clone(ev, &out) != ARGUS_OK) {
    argus_log(ARGUS_LOG_ERROR, PL_MOD, "out of memory: alert %lld unpublished",
              (long long)id);
    free(thumb);
    return;
  }
  free(thumb);
  argus_event_alert *o = &out->u.alert;
  o->alert_id = rc == ARGUS_OK ? id : 0;
  memcpy(o->thumb_sha256, thumb_sha, sizeof o->thumb_sha256);
  double latency =
      a->mono_ns ? (double)(argus_time_ns() - a->mono_ns) * 1e-9 : 0;
  o->latency_ms = latency * 1e3;
  argus_bus_publish_event(p->parts.bus, ARGUS_EVENT_TOPIC_ALERT, out);
  argus_event_unref(out);
  /* Latency up to the publication (subscribers then run on their own
   * threads). */
  if (a->mono_ns) {
    latency = (double)(argus_time_ns() - a->mono_ns) * 1e-9;
    pthread_mutex_lock(&p->mu);
    pl_latency_add(&p->lat_alert, latency);
    pthread_mutex_unlock(&p->mu);
  }
  argus_log(ARGUS_LOG_INFO, PL_MOD,
            "alert %lld: '%s' (%s) on '%s' track %llu, score %.3f, %.0f ms "
            "after capture",
            (long long)id, a->person, a->watchlist, a->camera,
            (unsigned long long)a->track, a->score, latency * 1e3);
}

static void store_unmatched(argus_pipeline *p, const argus_event *ev) {
  const argus_event_unmatched *u = &ev->u.unmatched;
  if (!u->face)
    return; /* a document from elsewhere carries no images */
  const argus_event_face *f = &u->face->u.face;
  char t[ARGUS_RFC3339_MAX];
  argus_rfc3339(f->wall_ns, t);
  argus_store_unmatched_in in;
  memset(&in, 0, sizeof in);
  in.camera = f->camera;
  in.time = t;
  in.media_time = f->media_time;
  in.track_id = (int64_t)f->track;
  in.quality = f->quality < 0 ? 0 : f->quality > 1 ? 1 : f->quality;
  in.best_score = u->best_score;
  in.crop = f->crop.data;
  in.crop_size = f->crop.size;
  uint8_t *thumb = NULL;
  size_t thumb_n = 0;
  char thumb_sha[65];
  thumb_jpeg(p, f, &thumb, &thumb_n, thumb_sha);
  in.thumb = thumb;
  in.thumb_size = thumb_n;
  in.retention = u->retention > 0 ? u->retention : p->cfg.keep_unmatched;
  argus_store_error se = {{0}};
  pthread_mutex_lock(&p->store_mu);
  in.camera_id = camera_id_of(p, f->camera);
  argus_err rc = argus_store_unmatched_insert(p->parts.store, &in, NULL, &se);
  pthread_mutex_unlock(&p->store_mu);
  free(thumb);
  if (rc == ARGUS_OK)
    atomic_fetch_add(&p->unmatched_stored, 1);
  else
    count_store_error(p, "unmatched face", f->camera,
                      se.msg[0] ? se.msg : argus_strerror(rc));
}

static void on_event(void *user, const argus_bus_msg *m) {
  argus_pipeline *p = user;
  uint64_t c0 = argus_thread_cpu_ns();
  if (m->event && m->event->type == ARGUS_EVENT_ALERT)
    store_alert(p, m->event);
  else if (m->event && m->event->type == ARGUS_EVENT_UNMATCHED)
    store_unmatched(p, m->event);
  else
    argus_log(ARGUS_LOG_WARN, PL_MOD, "store sink: %s %s is not an event",
              m->topic, m->id);
  atomic_fetch_add(&p->cpu_sink, argus_thread_cpu_ns() - c0);
}

argus_err pl_sink_start(argus_pipeline *p) {
  argus_bus_sub_options o;
  memset(&o, 0, sizeof o);
  o.pattern = ARGUS_EVENT_TOPIC_ALERT_RAISED;
  o.queue_msgs = p->cfg.alert_queue;
  o.handler = on_event;
  o.user = p;
  o.events = 1;
  argus_err rc = argus_bus_subscribe(p->parts.bus, &o, &p->sink_sub, NULL);
  if (rc != ARGUS_OK || p->cfg.keep_unmatched <= 0)
    return rc;
  o.pattern = ARGUS_EVENT_TOPIC_UNMATCHED;
  return argus_bus_subscribe(p->parts.bus, &o, &p->unmatched_sub, NULL);
}

void pl_sink_stop(argus_pipeline *p) {
  argus_bus_unsubscribe(p->sink_sub);
  argus_bus_unsubscribe(p->unmatched_sub);
  p->sink_sub = p->unmatched_sub = NULL;
}

void pl_sink_purge(argus_pipeline *p) {
  int64_t n = 0;
  argus_store_error se = {{0}};
  pthread_mutex_lock(&p->store_mu);
  argus_err rc = argus_store_unmatched_purge(p->parts.store, NULL, &n, &se);
  pthread_mutex_unlock(&p->store_mu);
  if (rc != ARGUS_OK)
    argus_log(ARGUS_LOG_WARN, PL_MOD, "purging unmatched faces: %s",
              se.msg[0] ? se.msg : argus_strerror(rc));
  else if (n > 0)
    atomic_fetch_add(&p->unmatched_purged, (uint64_t)n);
}

/* ---- the change feed ---------------------------------------------------- */

static void publish_change(argus_pipeline *p, const argus_store_change *c) {
  argus_event *ev = NULL;
  if (argus_event_new(ARGUS_EVENT_WATCHLIST, NULL, &ev) != ARGUS_OK)
    return;
  argus_event_watchlist *w = &ev->u.watchlist;
  w->seq = c->seq;
  snprintf(w->action, sizeof w->action, "%s", c->action);
  if (strcmp(c->object_type, "person") == 0 && c->object_id > 0) {
    w->what = ARGUS_EVENT_CHANGE_PERSON;
    w->person_id = c->object_id;
  } else if (strcmp(c->object_type, "watchlist") == 0) {
    w->what = ARGUS_EVENT_CHANGE_WATCHLIST;
    w->watchlist_id = c->object_id;
  } else {
    w->what = ARGUS_EVENT_CHANGE_ALL;
  }
  if (argus_bus_make_id(p->parts.bus, "change", ev->id) == ARGUS_OK)
    argus_bus_publish_event(p->parts.bus, ARGUS_EVENT_TOPIC_WATCHLIST, ev);
  argus_event_unref(ev);
}

void pl_feed_poll(argus_pipeline *p) {
  argus_store_change *ch = NULL;
  size_t n = 0;
  argus_store_id last = 0;
  argus_store_error se = {{0}};
  /* The first look only finds where the feed stands (no change is after
   * the largest id): what came before is in the gallery already. */
  pthread_mutex_lock(&p->store_mu);
  argus_err rc = argus_store_changes_since(
      p->parts.store, p->feed_ready ? p->feed_seq : INT64_MAX - 1, 0, &ch, &n,
      &last, &se);
  pthread_mutex_unlock(&p->store_mu);
  if (rc != ARGUS_OK) {
    argus_log(ARGUS_LOG_DEBUG, PL_MOD, "change feed: %s",
              se.msg[0] ? se.msg : argus_strerror(rc));
    return;
  }
  for (size_t i = 0; p->feed_ready && i < n; i++)
    publish_change(p, &ch[i]);
  argus_store_free(ch);
  if (!p->feed_ready || last > p->feed_seq)
    p->feed_seq = last;
  p->feed_ready = 1;
}
