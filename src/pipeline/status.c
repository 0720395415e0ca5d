/* The pipeline's housekeeping thread: every 0.1 s it lets the edge flush
 * the tracks of cameras that ended; every 0.5 s it follows the store's
 * change feed; every status interval it publishes camera.status and
 * pipeline.status documents; with retention on it purges expired unmatched
 * faces. Also the matcher's observer (per-camera decision counters, search
 * latency). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pipeline/pipeline_internal.h"

#define MAINTAIN_NS 100000000ull /* edge flushes */
#define FEED_NS 500000000ull     /* change feed */

/* The counters of camera `name`, made on first use (under p->mu). */
static pl_camcount *camcount(argus_pipeline *p, const char *name) {
  for (int i = 0; i < p->ncamcounts; i++)
    if (strcmp(p->camcounts[i].name, name) == 0)
      return &p->camcounts[i];
  if (p->ncamcounts == p->camcounts_cap) {
    int cap = p->camcounts_cap ? 2 * p->camcounts_cap : 16;
    pl_camcount *n = realloc(p->camcounts, (size_t)cap * sizeof *n);
    if (!n)
      return NULL;
    p->camcounts = n;
    p->camcounts_cap = cap;
  }
  pl_camcount *c = &p->camcounts[p->ncamcounts++];
  memset(c, 0, sizeof *c);
  snprintf(c->name, sizeof c->name, "%s", name);
  return c;
}

void pl_observe(void *user, const argus_event *face,
                const struct argus_match_result *r) {
  argus_pipeline *p = user;
  const argus_event_face *f = &face->u.face;
  double lat = f->mono_ns ? (double)(argus_time_ns() - f->mono_ns) * 1e-9 : -1;
  pthread_mutex_lock(&p->mu);
  if (lat >= 0)
    pl_latency_add(&p->lat_search, lat);
  if (r->nhits > 0) {
    pl_camcount *c = camcount(p, f->camera);
    if (c) {
      c->matches++;
      c->alerts += (uint64_t)r->nalerts;
      c->suppressed += (uint64_t)(r->nhits - r->nalerts);
    }
  }
  pthread_mutex_unlock(&p->mu);
}

static void interval_means(argus_pipeline *p) {
  argus_edge_stats es;
  if (argus_edge_get_stats(p->edge, &es, NULL, 0, NULL) != ARGUS_OK)
    return;
  pthread_mutex_lock(&p->mu);
  p->detect_ms = es.n_detect > p->prev_n_detect
                     ? (double)(es.ns_detect - p->prev_ns_detect) /
                           (double)(es.n_detect - p->prev_n_detect) * 1e-6
                     : 0;
  p->track_ms = es.n_track > p->prev_n_track
                    ? (double)(es.ns_track - p->prev_ns_track) /
                          (double)(es.n_track - p->prev_n_track) * 1e-6
                    : 0;
  p->embed_ms = es.embedded > p->prev_embedded
                    ? (double)(es.ns_embed - p->prev_ns_embed) /
                          (double)(es.embedded - p->prev_embedded) * 1e-6
                    : 0;
  p->batch_mean = es.embed_batches > p->prev_batches
                      ? (double)(es.embedded - p->prev_embedded) /
                            (double)(es.embed_batches - p->prev_batches)
                      : 0;
  p->prev_ns_detect = es.ns_detect;
  p->prev_n_detect = es.n_detect;
  p->prev_ns_track = es.ns_track;
  p->prev_n_track = es.n_track;
  p->prev_ns_embed = es.ns_embed;
  p->prev_embedded = es.embedded;
  p->prev_batches = es.embed_batches;
  pthread_mutex_unlock(&p->mu);
}

static void publish_doc(argus_pipeline *p, const char *topic, const char *doc,
                        size_t n) {
  char mid[ARGUS_BUS_ID_MAX + 1];
  const char *prefix = strcmp(topic, ARGUS_BUS_TOPIC_CAMERA) == 0
                           ? "camera"
                           : "pipeline";
  if (n && argus_bus_make_id(p->parts.bus, prefix, mid) == ARGUS_OK)
    argus_bus_publish(p->parts.bus, topic, mid, doc, n);
}

static void publish_status(argus_pipeline *p, char *doc, size_t cap,
                           double dt) {
  interval_means(p);
  argus_edge_tick_rates(p->edge, dt);
  int ncams = 0;
  argus_pipeline_stats st;
  if (argus_pipeline_get_stats(p, &st, NULL, 0, &ncams) != ARGUS_OK)
    return;
  argus_pipeline_camera_stats *cams =
      ncams ? calloc((size_t)ncams, sizeof *cams) : NULL;
  if (ncams && !cams)
    return;
  /* A camera added since the first look is left for the next status: the
   * array holds the first look's count. */
  int now_cams = 0;
  argus_pipeline_get_stats(p, &st, cams, ncams, &now_cams);
  if (now_cams < ncams)
    ncams = now_cams;
  for (int i = 0; i < ncams; i++) {
    const argus_pipeline_camera_stats *c = &cams[i];
    argus_json j;
    argus_json_init(&j, doc, cap);
    argus_json_obj_begin(&j, NULL);
    argus_json_int(&j, "v", ARGUS_BUS_VERSION);
    argus_json_str(&j, "type", "camera.status");
    argus_json_str(&j, "camera", c->video.name);
    argus_json_int(&j, "index", c->index);
    argus_json_str(&j, "state", argus_video_state_name(c->video.state));
    argus_json_bool(&j, "connected", c->video.connected);
    argus_json_num(&j, "fps_in", c->video.fps_in, 1);
    argus_json_num(&j, "fps_analysed", c->fps_analysed, 1);
    argus_json_uint(&j, "frames_analysed", c->frames_analysed);
    argus_json_uint(&j, "frames_dropped", c->video.frames_dropped);
    argus_json_uint(&j, "faces", c->faces);
    argus_json_uint(&j, "tracks", c->tracks);
    argus_json_int(&j, "tracks_live", c->tracks_live);
    argus_json_uint(&j, "shots", c->shots);
    argus_json_uint(&j, "matches", c->matches);
    argus_json_uint(&j, "alerts", c->alerts);
    argus_json_uint(&j, "reconnects", c->video.reconnects);
    argus_json_uint(&j, "errors", c->video.errors);
    argus_json_int(&j, "failed_attempts", c->video.failed_attempts);
    /* seconds until a waiting camera tries again; null otherwise */
    if (c->video.state == ARGUS_VIDEO_WAITING && c->video.retry_wall_ns > 0) {
      int64_t left = c->video.retry_wall_ns - argus_wall_ns();
      argus_json_num(&j, "retry_in", left > 0 ? (double)left * 1e-9 : 0, 1);
    } else {
      argus_json_null(&j, "retry_in");
    }
    argus_json_str(&j, "last_error",
                   c->video.last_error[0] ? c->video.last_error : NULL);
    argus_json_obj_end(&j);
    publish_doc(p, ARGUS_BUS_TOPIC_CAMERA, doc, argus_json_finish(&j));
  }
  free(cams);
  argus_json j;
  argus_json_init(&j, doc, cap);
  argus_json_obj_begin(&j, NULL);
  argus_json_int(&j, "v", ARGUS_BUS_VERSION);
  argus_json_str(&j, "type", "pipeline.status");
  argus_json_int(&j, "cameras", st.cameras);
  argus_json_int(&j, "workers", st.workers);
  argus_json_uint(&j, "frames_analysed", st.frames_analysed);
  argus_json_uint(&j, "frames_dropped", st.frames_dropped);
  argus_json_int(&j, "frames_queued", st.frames_queued);
  argus_json_int(&j, "shots_queued", st.shots_queued);
  argus_json_int(&j, "alerts_queued", st.alerts_queued);
  argus_json_int(&j, "alerts_spooled", st.alerts_spooled);
  argus_json_uint(&j, "alerts_lost", st.alerts_lost);
  argus_json_uint(&j, "shots_dropped", st.shots_dropped);
  argus_json_uint(&j, "alerts", st.alerts);
  argus_json_num(&j, "detect_ms", st.detect_ms, 2);
  argus_json_num(&j, "embed_ms", st.embed_ms, 2);
  argus_json_num(&j, "batch_mean", st.batch_mean, 2);
  argus_json_num(&j, "alert_p50_ms", st.alert_latency.p50 * 1e3, 1);
  argus_json_num(&j, "alert_p99_ms", st.alert_latency.p99 * 1e3, 1);
  argus_json_int(&j, "templates", st.templates);
  argus_json_obj_end(&j);
  publish_doc(p, ARGUS_BUS_TOPIC_PIPELINE, doc, argus_json_finish(&j));
}

void *pl_house_main(void *arg) {
  argus_pipeline *p = arg;
  static _Thread_local char doc[8192];
  uint64_t status_ns = (uint64_t)(p->cfg.status_interval * 1e9);
  /* Retention is enforced to within a tenth of it (at most a minute). */
  double purge_s = p->cfg.keep_unmatched > 0
                       ? fmin(60.0, fmax(0.5, p->cfg.keep_unmatched / 10))
                       : 0;
  uint64_t now = argus_time_ns();
  uint64_t next_maintain = now, next_feed = now + FEED_NS,
           next_status = now + status_ns, next_purge = now;
  uint64_t last_status = now;
  pthread_mutex_lock(&p->house_mu);
  while (!atomic_load(&p->stop)) {
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_nsec += 20000000L;
    if (dl.tv_nsec >= 1000000000L) {
      dl.tv_sec++;
      dl.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&p->house_cv, &p->house_mu, &dl);
    if (atomic_load(&p->stop))
      break;
    pthread_mutex_unlock(&p->house_mu);
    uint64_t c0 = argus_thread_cpu_ns();
    now = argus_time_ns();
    if (now >= next_maintain) {
      next_maintain = now + MAINTAIN_NS;
      argus_edge_maintain(p->edge);
    }
    if (now >= next_feed) {
      next_feed = now + FEED_NS;
      pl_feed_poll(p);
    }
    if (now >= next_status) {
      publish_status(p, doc, sizeof doc, (double)(now - last_status) * 1e-9);
      last_status = now;
      next_status = now + status_ns;
    }
    if (purge_s > 0 && now >= next_purge) {
      pl_sink_purge(p);
      next_purge = now + (uint64_t)(purge_s * 1e9);
    }
    atomic_fetch_add(&p->cpu_house, argus_thread_cpu_ns() - c0);
    pthread_mutex_lock(&p->house_mu);
  }
  pthread_mutex_unlock(&p->house_mu);
  return NULL;
}
