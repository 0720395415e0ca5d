/* The store sink: raised alerts (and, with retention on, unmatched faces)
 * are stored through the store, crops and thumbnails by content hash, in
 * one transaction each; the stored alert is then published on "alert" for
 * every other sink (the CLI printer, the API's live stream). Alerts wait
 * in a bounded spool while the database is busy or unavailable and are
 * stored later, in order, once each (the event id is the key); see "the
 * spool and its writer" below. An alert the database refuses, or one that
 * is lost, is still published (id null): an operator must see it.
 *
 * Verdict feedback (docs/alerts.md): a match the matcher did not alert
 * because the probe was nearer a negative example of the person comes on
 * "alert.suppressed" with suppressed "negative"; it goes through the same
 * spool and is recorded as an "alert.suppressed" audit row (no alert). An
 * alert.raised event with suppressed "marked" is stored marked. Both carry
 * the probe template (the face event's embedding) into the store.
 *
 * Also here: the change feed, which turns enrolment changes of any process
 * (as audited in the store) into watchlist.change events for the
 * matcher. */
#include <math.h>
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

/* What became of one attempt to store an alert. */
typedef enum { STORED, REFUSED, RETRY } store_outcome;

/* Errors that can pass: the database locked by another process beyond the
 * busy timeout, or briefly unavailable (IO: also a full disk, a file made
 * read-only; NOMEM; INTERNAL: SQLite's other codes). The rest (a person
 * removed meanwhile, a constraint) would fail the same way again. */
static int retryable(argus_err rc) {
  return rc == ARGUS_E_IO || rc == ARGUS_E_NOMEM || rc == ARGUS_E_INTERNAL;
}

/* Publishes the alert on "alert" for the other sinks: stored (id > 0) or
 * not (id 0: an operator must see it all the same). */
static void publish_alert(argus_pipeline *p, const argus_event *ev,
                          argus_store_id id, const char thumb_sha[65]) {
  const argus_event_alert *a = &ev->u.alert;
  argus_event *out = NULL;
  if (argus_event_clone(ev, &out) != ARGUS_OK) {
    argus_log(ARGUS_LOG_ERROR, PL_MOD, "out of memory: alert %lld unpublished",
              (long long)id);
    return;
  }
  argus_event_alert *o = &out->u.alert;
  o->alert_id = id;
  o->suppressed[0] = '\0'; /* "marked": stored with the alert */
  memcpy(o->thumb_sha256, thumb_sha, sizeof o->thumb_sha256);
  double latency =
      a->mono_ns ? (double)(argus_time_ns() - a->mono_ns) * 1e-9 : 0;
  o->latency_ms = latency * 1e3;
  argus_bus_publish_event(p->parts.bus, ARGUS_EVENT_TOPIC_ALERT, out);
  argus_event_unref(out);
  /* Latency up to the publication (subscribers then run on their own
   * threads). */
  if (a->mono_ns) {
    uint64_t now = argus_time_ns();
    latency = (double)(now - a->mono_ns) * 1e-9;
    edge_hist_add(&p->hist_alert, now - a->mono_ns, 1);
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

/* One attempt to record a match suppressed by a negative example (an
 * audit row, no alert). Not published. */
static store_outcome store_suppressed(argus_pipeline *p, const argus_event *ev,
                                      const argus_store_alert_in *in,
                                      int attempt) {
  const argus_event_alert *a = &ev->u.alert;
  if (!in->probe) {
    count_store_error(p, "negative suppression", a->camera,
                      "the event carries no probe");
    return REFUSED;
  }
  argus_store_error se = {{0}};
  pthread_mutex_lock(&p->store_mu);
  argus_err rc = argus_store_alert_suppressed(p->parts.store, in, &se);
  pthread_mutex_unlock(&p->store_mu);
  const char *why = se.msg[0] ? se.msg : argus_strerror(rc);
  if (rc != ARGUS_OK && retryable(rc)) {
    if (attempt == 0)
      argus_log(ARGUS_LOG_WARN, PL_MOD,
                "camera '%s': suppression of %s kept in the spool: %s",
                a->camera, ev->id, why);
    return RETRY;
  }
  if (rc != ARGUS_OK)
    count_store_error(p, "negative suppression", a->camera, why);
  else
    argus_log(ARGUS_LOG_INFO, PL_MOD,
              "camera '%s': '%s' (%s) track %llu not alerted: nearer a "
              "negative example (score %.3f)",
              a->camera, a->person, a->watchlist, (unsigned long long)a->track,
              a->score);
  return rc == ARGUS_OK ? STORED : REFUSED;
}

/* One attempt: the alert with its crop and thumbnail in one audited
 * transaction, keyed by the event's id so that a retry after an unknown
 * outcome stores it once. Publishes it unless the outcome is RETRY. */
static store_outcome store_alert(argus_pipeline *p, const argus_event *ev,
                                 int attempt) {
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
  /* The match details (migration 4): the threshold it cleared, the photo
   * it matched, when its track began (NAN / 0: unknown). */
  in.threshold = isfinite(a->threshold) ? a->threshold : NAN;
  in.photo_id = a->photo_id;
  in.track_start = a->track_start;
  in.event_id = ev->id[0] ? ev->id : NULL;
  /* Verdict feedback: the probe travels with the alert. */
  char probe_model[ARGUS_EVENT_MODEL_MAX + 1] = "";
  if (f && f->embedding && f->dim > 0) {
    snprintf(probe_model, sizeof probe_model, "%s", f->model);
    in.probe = f->embedding;
    in.probe_dim = f->dim;
    in.probe_model = probe_model;
  }
  in.negative = strcmp(a->suppressed, "marked") == 0;
  if (strcmp(a->suppressed, "negative") == 0) {
    free(thumb);
    return store_suppressed(p, ev, &in, attempt);
  }
  if (f) {
    in.crop = f->crop.data;
    in.crop_size = f->crop.size;
    in.thumb = thumb;
    in.thumb_size = thumb_n;
  }
  argus_store_id id = 0;
  argus_store_error se = {{0}};
  pthread_mutex_lock(&p->store_mu);
  /* Several matchers on a shared bus each keep the cooldown for the faces
   * they handle: the sink, which sees every alert, makes it exact. The
   * same alert stored before (a retry, a redelivery: the same event id)
   * is not "another" one and goes through the insert, which finds it. */
  argus_err rc = ARGUS_OK;
  argus_store_id near = 0;
  if (a->cooldown > 0 && p->shared_bus &&
      argus_store_alert_near(p->parts.store, a->camera, a->person_id, t,
                             a->media_time, a->cooldown, in.event_id, &near,
                             &se) != ARGUS_OK)
    near = 0; /* the insert meets the same trouble and says it */
  if (near > 0) {
    pthread_mutex_unlock(&p->store_mu);
    free(thumb);
    atomic_fetch_add(&p->alerts_cooled, 1);
    argus_log(ARGUS_LOG_INFO, PL_MOD,
              "camera '%s': alert of %s for '%s' not stored: alert %lld of "
              "that person on that camera is within the cooldown (%.0f s; "
              "raised by another matcher)",
              a->camera, ev->id, a->person, (long long)near, a->cooldown);
    return STORED;
  }
  in.camera_id = camera_id_of(p, a->camera);
  rc = argus_store_alert_insert(p->parts.store, &in, &id, &se);
  pthread_mutex_unlock(&p->store_mu);
  free(thumb);
  const char *why = se.msg[0] ? se.msg : argus_strerror(rc);
  if (rc != ARGUS_OK && retryable(rc)) {
    if (attempt == 0)
      argus_log(ARGUS_LOG_WARN, PL_MOD,
                "camera '%s': alert of %s kept in the spool, to be stored "
                "when the database takes it: %s",
                a->camera, ev->id, why);
    return RETRY;
  }
  if (rc == ARGUS_OK) {
    atomic_fetch_add(&p->alerts_stored, 1);
    if (attempt > 0) {
      argus_log(ARGUS_LOG_INFO, PL_MOD,
                "camera '%s': spooled alert of %s stored (id %lld) after %d "
                "tries",
                a->camera, ev->id, (long long)id, attempt + 1);
    }
  } else {
    count_store_error(p, "alert", a->camera, why);
  }
  publish_alert(p, ev, rc == ARGUS_OK ? id : 0, thumb_sha);
  return rc == ARGUS_OK ? STORED : REFUSED;
}

/* An alert that will never be stored: counted, said, and still published
 * (id null) so that the operator sees it. */
static void lose_alert(argus_pipeline *p, const argus_event *ev,
                       const char *why) {
  const argus_event_alert *a = &ev->u.alert;
  atomic_fetch_add(&p->alerts_lost, 1);
  argus_log(ARGUS_LOG_ERROR, PL_MOD,
            "camera '%s': alert of %s ('%s', track %llu, media time %.3f s) "
            "LOST: %s",
            a->camera, ev->id, a->person, (unsigned long long)a->track,
            a->media_time, why);
  char none[65] = "";
  publish_alert(p, ev, 0, none);
}

/* ---- the spool and its writer --------------------------------------------
 *
 * The bus handler only puts an alert into the spool (a bounded ring), so it
 * never waits for the database and the bus queue in front of it does not
 * overflow while the database is locked. The writer thread stores the
 * spool's head, in order: an alert the database refuses for now (locked,
 * unavailable) stays at the head and is tried again after a back-off
 * (0.1 s doubling to 2 s; each try itself waits up to the store's busy
 * timeout). While the pipeline runs, a spooled alert is retried until it is
 * stored; only a full spool loses one. When the pipeline finishes
 * (argus_pipeline_flush_alerts, destroy) the spool gets alert_retry more
 * seconds; what is left then is lost. */

#define BACKOFF_MIN_NS 100000000ull
#define BACKOFF_MAX_NS 2000000000ull

static void timed_wait(pthread_cond_t *cv, pthread_mutex_t *mu,
                       uint64_t wait_ns) {
  struct timespec dl;
  clock_gettime(CLOCK_REALTIME, &dl);
  uint64_t ns = (uint64_t)dl.tv_nsec + wait_ns;
  dl.tv_sec += (time_t)(ns / 1000000000ull);
  dl.tv_nsec = (long)(ns % 1000000000ull);
  pthread_cond_timedwait(cv, mu, &dl);
}

/* Under spool.mu: removes the head (its reference goes to the caller). */
static const argus_event *spool_pop(argus_pipeline *p) {
  const argus_event *ev = p->spool.q[p->spool.head];
  p->spool.q[p->spool.head] = NULL;
  p->spool.head = (p->spool.head + 1) % p->spool.cap;
  p->spool.n--;
  p->spool.popped++;
  return ev;
}

static void *writer_main(void *arg) {
  argus_pipeline *p = arg;
  int attempt = 0; /* failed tries of the head */
  uint64_t backoff = BACKOFF_MIN_NS;
  pthread_mutex_lock(&p->spool.mu);
  for (;;) {
    while (p->spool.n == 0 && !p->spool.stop)
      pthread_cond_wait(&p->spool.cv, &p->spool.mu);
    if (p->spool.n == 0)
      break;
    const argus_event *ev = p->spool.q[p->spool.head];
    p->spool.busy = 1;
    pthread_mutex_unlock(&p->spool.mu);
    uint64_t c0 = argus_thread_cpu_ns();
    store_outcome r = store_alert(p, ev, attempt);
    atomic_fetch_add(&p->cpu_sink, argus_thread_cpu_ns() - c0);
    pthread_mutex_lock(&p->spool.mu);
    p->spool.busy = 0;
    /* Every alert in the spool now waited behind a refused try. */
    if (r == RETRY || attempt > 0)
      p->spool.delayed_mark = p->spool.pushed;
    if (r == RETRY) {
      attempt++;
      uint64_t give_up = p->spool.give_up_ns;
      if (give_up && argus_time_ns() >= give_up) {
        /* Finishing, and the time for retries is over: what is spooled
         * now (an alert raised meanwhile gets its own try). */
        int n = p->spool.n;
        for (int k = 0; k < n && p->spool.n > 0; k++) {
          const argus_event *lost = spool_pop(p);
          pthread_mutex_unlock(&p->spool.mu);
          lose_alert(p, lost,
                     "the database did not take it before the retries ran "
                     "out");
          argus_event_unref(lost);
          pthread_mutex_lock(&p->spool.mu);
        }
        argus_log(ARGUS_LOG_ERROR, PL_MOD,
                  "%d spooled alert%s lost: the database stayed unavailable "
                  "for %.0f s after the end",
                  n, n == 1 ? "" : "s", p->cfg.alert_retry);
        attempt = 0;
        backoff = BACKOFF_MIN_NS;
      } else {
        timed_wait(&p->spool.cv, &p->spool.mu, backoff);
        backoff = backoff * 2 > BACKOFF_MAX_NS ? BACKOFF_MAX_NS : backoff * 2;
      }
    } else {
      if (r == STORED && p->spool.popped < p->spool.delayed_mark)
        atomic_fetch_add(&p->alerts_delayed, 1);
      spool_pop(p);
      pthread_cond_broadcast(&p->spool.idle); /* handlers wait for it */
      argus_event_unref(ev);
      attempt = 0;
      backoff = BACKOFF_MIN_NS;
    }
    if (p->spool.n == 0)
      pthread_cond_broadcast(&p->spool.idle);
  }
  pthread_cond_broadcast(&p->spool.idle);
  pthread_mutex_unlock(&p->spool.mu);
  return NULL;
}

/* The bus handler's part: into the spool, or lost when it is full.
 * Returns the alert's number in push order (0: lost). */
static uint64_t spool_alert(argus_pipeline *p, const argus_event *ev) {
  pthread_mutex_lock(&p->spool.mu);
  if (p->spool.n == p->spool.cap) {
    int cap = p->spool.cap;
    pthread_mutex_unlock(&p->spool.mu);
    char why[96];
    snprintf(why, sizeof why,
             "the spool is full (%d alerts wait for the database)", cap);
    lose_alert(p, ev, why);
    return 0;
  }
  argus_event_ref(ev);
  p->spool.q[(p->spool.head + p->spool.n) % p->spool.cap] = ev;
  p->spool.n++;
  uint64_t seq = ++p->spool.pushed;
  pthread_cond_signal(&p->spool.cv);
  pthread_mutex_unlock(&p->spool.mu);
  return seq;
}

/* Over a shared bus: waits until the writer has taken every alert up to
 * number `seq` out of the spool (stored, refused for good), so that the
 * bus acknowledges them only then — a sink that dies while the database is
 * away leaves its alerts unacknowledged, for another sink or its own next
 * run. Ends early when the sink stops (the bus then hands the messages
 * back; what the spool stores meanwhile is not stored twice: alerts are
 * keyed by their id). */
static void wait_taken(argus_pipeline *p, uint64_t seq) {
  pthread_mutex_lock(&p->spool.mu);
  while (p->spool.popped < seq && !p->spool.detaching)
    timed_wait(&p->spool.idle, &p->spool.mu, 200000000ull);
  pthread_mutex_unlock(&p->spool.mu);
}

int pl_sink_wait(argus_pipeline *p, uint64_t deadline_ns) {
  if (!p->spool.started)
    return 1;
  pthread_mutex_lock(&p->spool.mu);
  while ((p->spool.n > 0 || p->spool.busy) && argus_time_ns() < deadline_ns)
    timed_wait(&p->spool.idle, &p->spool.mu, 50000000ull);
  int empty = p->spool.n == 0 && !p->spool.busy;
  pthread_mutex_unlock(&p->spool.mu);
  return empty;
}

argus_err argus_pipeline_flush_alerts(argus_pipeline *p,
                                      argus_pipeline_error *err) {
  if (!p)
    return argus_error_fail(err, ARGUS_E_INVALID_ARG, ARGUS_LOG_DEBUG, PL_MOD,
                            "flush alerts: no pipeline");
  if (!p->spool.started)
    return ARGUS_OK;
  uint64_t lost0 = atomic_load(&p->alerts_lost);
  pthread_mutex_lock(&p->spool.mu);
  if (p->spool.n > 0 || p->spool.busy) {
    uint64_t until = argus_time_ns() + (uint64_t)(p->cfg.alert_retry * 1e9);
    argus_log(ARGUS_LOG_INFO, PL_MOD,
              "%d alert%s in the spool: retrying for at most %.0f s",
              p->spool.n, p->spool.n == 1 ? "" : "s", p->cfg.alert_retry);
    p->spool.give_up_ns = until;
    pthread_cond_signal(&p->spool.cv); /* a try now, not after a back-off */
    while (p->spool.n > 0 || p->spool.busy)
      timed_wait(&p->spool.idle, &p->spool.mu, 50000000ull);
    p->spool.give_up_ns = 0;
  }
  pthread_mutex_unlock(&p->spool.mu);
  uint64_t lost = atomic_load(&p->alerts_lost) - lost0;
  if (lost)
    return argus_error_fail(err, ARGUS_E_IO, ARGUS_LOG_DEBUG, PL_MOD,
                            "%llu alert%s lost: the database did not take "
                            "them within %.0f s",
                            (unsigned long long)lost, lost == 1 ? "" : "s",
                            p->cfg.alert_retry);
  return ARGUS_OK;
}

void pl_sink_stats(argus_pipeline *p, argus_pipeline_stats *out) {
  if (p->spool.started) {
    pthread_mutex_lock(&p->spool.mu);
    out->alerts_spooled = p->spool.n;
    pthread_mutex_unlock(&p->spool.mu);
  }
  out->alerts_delayed = atomic_load(&p->alerts_delayed);
  out->alerts_cooled = atomic_load(&p->alerts_cooled);
  /* Alerts dropped by a full bus queue in front of the sink never reach
   * the database either. */
  out->alerts_lost = atomic_load(&p->alerts_lost) + out->alerts_dropped;
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

/* One message; returns the number of the alert it spooled (0: none). */
static uint64_t handle_event(argus_pipeline *p, const argus_bus_msg *m) {
  uint64_t seq = 0;
  uint64_t c0 = argus_thread_cpu_ns();
  if (m->event && m->event->type == ARGUS_EVENT_ALERT &&
      strcmp(m->topic, ARGUS_EVENT_TOPIC_ALERT_SUPPRESSED) == 0) {
    /* Of the suppressed matches only those of a negative example are
     * recorded (the others are the track's and the cooldown's). */
    if (strcmp(m->event->u.alert.suppressed, "negative") == 0)
      seq = spool_alert(p, m->event);
  } else if (m->event && m->event->type == ARGUS_EVENT_ALERT)
    seq = spool_alert(p, m->event);
  else if (m->event && m->event->type == ARGUS_EVENT_UNMATCHED)
    store_unmatched(p, m->event);
  else
    argus_log(ARGUS_LOG_WARN, PL_MOD, "store sink: %s %s is not an event",
              m->topic, m->id);
  atomic_fetch_add(&p->cpu_sink, argus_thread_cpu_ns() - c0);
  return seq;
}

/* In process: into the spool; the handler never waits for the database. */
static void on_event(void *user, const argus_bus_msg *m) {
  handle_event(user, m);
}

/* A shared bus's group: the fetched alerts go into the spool together, and
 * the call returns (the bus acknowledges them) once they are stored. */
static void on_events(void *user, const argus_bus_msg *msgs, int n) {
  argus_pipeline *p = user;
  uint64_t last = 0;
  for (int i = 0; i < n; i++) {
    uint64_t seq = handle_event(p, &msgs[i]);
    if (seq > last)
      last = seq;
  }
  if (last)
    wait_taken(p, last);
}

argus_err pl_sink_start(argus_pipeline *p) {
  p->spool.cap = p->cfg.alert_spool;
  p->spool.q = calloc((size_t)p->spool.cap, sizeof *p->spool.q);
  if (!p->spool.q)
    return ARGUS_E_NOMEM;
  pthread_mutex_init(&p->spool.mu, NULL);
  pthread_cond_init(&p->spool.cv, NULL);
  pthread_cond_init(&p->spool.idle, NULL);
  if (pthread_create(&p->spool.th, NULL, writer_main, p) != 0) {
    pthread_cond_destroy(&p->spool.idle);
    pthread_cond_destroy(&p->spool.cv);
    pthread_mutex_destroy(&p->spool.mu);
    free(p->spool.q);
    p->spool.q = NULL;
    return ARGUS_E_INTERNAL;
  }
  p->spool.started = 1;
  argus_bus_sub_options o;
  memset(&o, 0, sizeof o);
  o.queue_msgs = p->cfg.alert_queue;
  o.handler = on_event;
  o.user = p;
  o.events = 1;
  argus_err rc;
  /* Over a shared bus (NATS) each stored topic is read as the group "sink"
   * (the sinks of a deployment share them; a message is acknowledged once
   * stored). In process, one subscription keeps raised and suppressed in
   * their order. */
  int shared = strcmp(argus_bus_backend(p->parts.bus), "inproc") != 0;
  if (shared) {
    o.group = "sink";
    o.batch_handler = on_events;
    o.pattern = ARGUS_EVENT_TOPIC_ALERT_RAISED;
    rc = argus_bus_subscribe(p->parts.bus, &o, &p->sink_sub, NULL);
    o.pattern = ARGUS_EVENT_TOPIC_ALERT_SUPPRESSED;
    if (rc == ARGUS_OK)
      rc = argus_bus_subscribe(p->parts.bus, &o, &p->sink_sub2, NULL);
  } else {
    /* alert.raised and alert.suppressed (verdict feedback) */
    o.pattern = "alert.*";
    rc = argus_bus_subscribe(p->parts.bus, &o, &p->sink_sub, NULL);
  }
  if (rc != ARGUS_OK || p->cfg.keep_unmatched <= 0)
    return rc;
  o.pattern = ARGUS_EVENT_TOPIC_UNMATCHED;
  return argus_bus_subscribe(p->parts.bus, &o, &p->unmatched_sub, NULL);
}

void pl_sink_stop(argus_pipeline *p) {
  if (p->spool.started) {
    /* Handlers waiting for the database return (their messages are handed
     * back by the bus: see wait_taken). */
    pthread_mutex_lock(&p->spool.mu);
    p->spool.detaching = 1;
    pthread_cond_broadcast(&p->spool.idle);
    pthread_mutex_unlock(&p->spool.mu);
  }
  argus_bus_unsubscribe(p->sink_sub);
  argus_bus_unsubscribe(p->sink_sub2);
  argus_bus_unsubscribe(p->unmatched_sub);
  p->sink_sub = p->sink_sub2 = p->unmatched_sub = NULL;
  if (!p->spool.started)
    return;
  argus_pipeline_flush_alerts(p, NULL);
  pthread_mutex_lock(&p->spool.mu);
  p->spool.stop = 1;
  pthread_cond_signal(&p->spool.cv);
  pthread_mutex_unlock(&p->spool.mu);
  pthread_join(p->spool.th, NULL);
  p->spool.started = 0;
  pthread_cond_destroy(&p->spool.idle);
  pthread_cond_destroy(&p->spool.cv);
  pthread_mutex_destroy(&p->spool.mu);
  free(p->spool.q);
  p->spool.q = NULL;
}

void pl_sink_purge(argus_pipeline *p) {
  if (!p->spool.started)
    return; /* no sink here: nothing of ours to purge */
  int64_t n = 0;
  argus_store_error se = {{0}};
  /* The writer may be waiting for a locked database: the next round. */
  if (pthread_mutex_trylock(&p->store_mu) != 0)
    return;
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
  /* A change of the feed has one id everywhere ("change-<seq>"): the
   * matchers of a deployment each follow the feed and publish it, and a
   * shared bus keeps the first (it drops a repeated id). */
  if (c->seq > 0 && snprintf(ev->id, sizeof ev->id, "change-%lld",
                             (long long)c->seq) < (int)sizeof ev->id)
    argus_bus_publish_event(p->parts.bus, ARGUS_EVENT_TOPIC_WATCHLIST, ev);
  else if (argus_bus_make_id(p->parts.bus, "change", ev->id) == ARGUS_OK)
    argus_bus_publish_event(p->parts.bus, ARGUS_EVENT_TOPIC_WATCHLIST, ev);
  argus_event_unref(ev);
}

void pl_feed_poll(argus_pipeline *p) {
  if (!p->follow_feed)
    return;
  argus_store_change *ch = NULL;
  size_t n = 0;
  argus_store_id last = 0;
  argus_store_error se = {{0}};
  /* The first look only finds where the feed stands (no change is after
   * the largest id): what came before is in the gallery already. The
   * housekeeping thread does not wait behind the sink's writer (it may be
   * waiting for a locked database): the feed is read at the next round. */
  if (p->feed_ready) {
    if (pthread_mutex_trylock(&p->store_mu) != 0)
      return;
  } else {
    pthread_mutex_lock(&p->store_mu);
  }
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
