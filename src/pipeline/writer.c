/* The writer thread: the pipeline's one user of its store handle. It stores
 * alerts (and kept unmatched faces) with their crops, publishes the alert
 * documents once stored, ends the tracks of cameras that stopped (so that
 * their last best shots are searched), reloads the gallery when a
 * watchlist changes, publishes status documents and purges expired
 * unmatched faces. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pipeline/pipeline_internal.h"

#define CHECK_PERIOD_NS 100000000ull /* cameras, watchlist changes */
#define STORE_POLL_NS 3000000000ull  /* enrolment by other processes */

int pl_record_push(argus_pipeline *p, pl_record *r) {
  pthread_mutex_lock(&p->rec_mu);
  if (p->rec_n == p->rec_cap) {
    pthread_mutex_unlock(&p->rec_mu);
    atomic_fetch_add(&p->alerts_dropped, 1);
    argus_log(ARGUS_LOG_ERROR, PL_MOD,
              "camera '%s': the writer is behind (%d records queued): %s of "
              "track %llu dropped",
              r->camera, p->rec_cap,
              r->kind == PL_REC_ALERT ? "alert" : "unmatched face",
              (unsigned long long)r->track);
    free(r->crop);
    free(r->thumb);
    r->crop = r->thumb = NULL;
    return -1;
  }
  p->recs[(p->rec_head + p->rec_n) % p->rec_cap] = *r;
  p->rec_n++;
  pthread_cond_signal(&p->rec_cv);
  pthread_mutex_unlock(&p->rec_mu);
  return 0;
}

void pl_cam_flush(argus_pipeline *p, pl_cam *c, int index) {
  argus_track_result res;
  if (!c->tr || !isfinite(c->last_t))
    return;
  argus_err rc = argus_track_flush(c->tr, c->last_t, &res);
  c->any_update = 0;
  if (rc) {
    argus_log(ARGUS_LOG_WARN, PL_MOD, "camera '%s': tracker flush: %s", c->name,
              argus_strerror(rc));
    return;
  }
  uint64_t now = argus_time_ns();
  for (int e = 0; e < res.nended; e++)
    if (res.ended[e].match_best)
      pl_queue_stored_shot(p, c, index, res.ended[e].track_id,
                           res.ended[e].shot, 1, now);
}

/* ---- records --------------------------------------------------------------
 */

static void crop_path(argus_pipeline *p, const char *hash, char *out,
                      size_t size) {
  if (!hash[0]) {
    out[0] = '\0';
    return;
  }
  snprintf(out, size, "%s/%.2s/%s.jpg", argus_store_crops_dir(p->store), hash,
           hash);
}

static argus_store_id camera_id_of(argus_pipeline *p, const char *name) {
  argus_store_camera cam;
  if (argus_store_camera_get(p->store, name, &cam, NULL) == ARGUS_OK)
    return cam.id;
  return 0;
}

static void handle_alert(argus_pipeline *p, pl_record *r, char *doc,
                         size_t doc_size) {
  char t[32];
  pl_rfc3339(r->wall_ns, t);
  argus_store_alert_in in;
  memset(&in, 0, sizeof in);
  in.camera_id = camera_id_of(p, r->camera);
  in.camera = r->camera;
  in.time = t;
  in.media_time = r->media_time;
  in.track_id = (int64_t)r->track;
  in.watchlist_id = r->hit.watchlist_id;
  in.person_id = r->hit.person_id;
  in.score = r->hit.score;
  in.crop = r->crop;
  in.crop_size = r->crop_size;
  in.thumb = r->thumb;
  in.thumb_size = r->thumb_size;
  argus_store_id id = 0;
  argus_store_error se = {{0}};
  argus_err rc = argus_store_alert_insert(p->store, &in, &id, &se);
  char cpath[4200] = "", tpath[4200] = "";
  if (rc == ARGUS_OK) {
    atomic_fetch_add(&p->alerts_stored, 1);
    argus_store_alert a;
    if (argus_store_alert_get(p->store, id, &a, NULL) == ARGUS_OK) {
      crop_path(p, a.crop_sha256, cpath, sizeof cpath);
      crop_path(p, a.thumb_sha256, tpath, sizeof tpath);
    }
  } else {
    /* The alert is still published: an operator must see it even when
     * the database cannot take it. */
    atomic_fetch_add(&p->store_errors, 1);
    argus_log(ARGUS_LOG_ERROR, PL_MOD,
              "camera '%s': alert for '%s' not stored: %s", r->camera,
              r->hit.person, se.msg[0] ? se.msg : argus_strerror(rc));
  }
  double latency = (double)(argus_time_ns() - r->trigger_mono) * 1e-9;
  pl_json j;
  pl_json_begin(&j, doc, doc_size);
  if (id > 0)
    pl_json_int(&j, "id", id);
  else
    pl_json_null(&j, "id");
  pl_json_str(&j, "camera", r->camera);
  pl_json_str(&j, "time", t);
  pl_json_num(&j, "media_time", r->media_time, 3);
  pl_json_uint(&j, "track", r->track);
  pl_json_str(&j, "watchlist", r->hit.watchlist);
  pl_json_str(&j, "person", r->hit.person);
  pl_json_num(&j, "score", r->hit.score, 4);
  pl_json_str(&j, "crop", cpath[0] ? cpath : NULL);
  pl_json_str(&j, "thumb", tpath[0] ? tpath : NULL);
  pl_json_int(&j, "person_id", r->hit.person_id);
  pl_json_int(&j, "watchlist_id", r->hit.watchlist_id);
  pl_json_num(&j, "threshold", r->hit.threshold, 4);
  pl_json_num(&j, "quality", r->quality, 3);
  pl_json_box(&j, "box", r->box);
  pl_json_num(&j, "latency_ms", latency * 1e3, 1);
  pl_json_str(&j, "type", "alert");
  pl_json_int(&j, "v", ARGUS_BUS_VERSION);
  size_t n = pl_json_end(&j);
  char mid[ARGUS_BUS_ID_MAX + 1];
  if (n && argus_bus_make_id(p->bus, "alert", mid) == ARGUS_OK)
    argus_bus_publish(p->bus, ARGUS_BUS_TOPIC_ALERT, mid, doc, n);
  /* Latency up to the publication (subscribers then run on their own
   * threads). */
  latency = (double)(argus_time_ns() - r->trigger_mono) * 1e-9;
  pthread_mutex_lock(&p->lat_mu);
  pl_latency_add(&p->lat_alert, latency);
  pthread_mutex_unlock(&p->lat_mu);
  argus_log(ARGUS_LOG_INFO, PL_MOD,
            "alert %lld: '%s' (%s) on '%s' track %llu, score %.3f, %.0f ms "
            "after capture",
            (long long)id, r->hit.person, r->hit.watchlist, r->camera,
            (unsigned long long)r->track, r->hit.score, latency * 1e3);
}

static void handle_unmatched(argus_pipeline *p, pl_record *r) {
  char t[32];
  pl_rfc3339(r->wall_ns, t);
  argus_store_unmatched_in in;
  memset(&in, 0, sizeof in);
  in.camera_id = camera_id_of(p, r->camera);
  in.camera = r->camera;
  in.time = t;
  in.media_time = r->media_time;
  in.track_id = (int64_t)r->track;
  in.quality = r->quality < 0 ? 0 : r->quality > 1 ? 1 : r->quality;
  in.best_score = r->best_score;
  in.crop = r->crop;
  in.crop_size = r->crop_size;
  in.thumb = r->thumb;
  in.thumb_size = r->thumb_size;
  in.retention = p->cfg.keep_unmatched;
  argus_store_error se = {{0}};
  argus_err rc = argus_store_unmatched_insert(p->store, &in, NULL, &se);
  if (rc == ARGUS_OK) {
    atomic_fetch_add(&p->unmatched_stored, 1);
  } else {
    atomic_fetch_add(&p->store_errors, 1);
    argus_log(ARGUS_LOG_ERROR, PL_MOD,
              "camera '%s': unmatched face not stored: %s", r->camera,
              se.msg[0] ? se.msg : argus_strerror(rc));
  }
}

/* ---- periodic work ------------------------------------------------------- */

/* Ends the tracks of cameras whose source stopped (file ended, live source
 * lost) once all their frames are through. */
static void check_cameras(argus_pipeline *p) {
  pthread_mutex_lock(&p->cams_mu);
  for (int i = 0; i < p->max_cams; i++) {
    pl_cam *c = &p->cams[i];
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
      pl_cam_flush(p, c, i);
    pthread_mutex_unlock(&c->mu);
  }
  pthread_mutex_unlock(&p->cams_mu);
}

static void publish_status(argus_pipeline *p, char *doc, size_t doc_size,
                           double dt) {
  /* Interval means. */
  uint64_t nsd = atomic_load(&p->ns_detect), nd = atomic_load(&p->n_detect);
  uint64_t nst = atomic_load(&p->ns_track), nt = atomic_load(&p->n_track);
  uint64_t nse = atomic_load(&p->ns_embed), ne = atomic_load(&p->embedded);
  uint64_t nb = atomic_load(&p->embed_batches);
  pthread_mutex_lock(&p->rec_mu);
  p->detect_ms = nd > p->prev_n_detect
                     ? (double)(nsd - p->prev_ns_detect) /
                           (double)(nd - p->prev_n_detect) * 1e-6
                     : 0;
  p->track_ms = nt > p->prev_n_track ? (double)(nst - p->prev_ns_track) /
                                           (double)(nt - p->prev_n_track) * 1e-6
                                     : 0;
  p->embed_ms = ne > p->prev_embedded
                    ? (double)(nse - p->prev_ns_embed) /
                          (double)(ne - p->prev_embedded) * 1e-6
                    : 0;
  p->batch_mean = nb > p->prev_batches ? (double)(ne - p->prev_embedded) /
                                             (double)(nb - p->prev_batches)
                                       : 0;
  pthread_mutex_unlock(&p->rec_mu);
  p->prev_ns_detect = nsd;
  p->prev_n_detect = nd;
  p->prev_ns_track = nst;
  p->prev_n_track = nt;
  p->prev_ns_embed = nse;
  p->prev_embedded = ne;
  p->prev_batches = nb;

  char mid[ARGUS_BUS_ID_MAX + 1];
  pthread_mutex_lock(&p->cams_mu);
  for (int i = 0; i < p->max_cams; i++) {
    pl_cam *c = &p->cams[i];
    if (!c->used)
      continue;
    argus_video_stats vs;
    if (argus_video_hub_stats(p->hub, i, &vs) != ARGUS_OK)
      continue;
    argus_track_stats ts;
    memset(&ts, 0, sizeof ts);
    pthread_mutex_lock(&c->mu);
    c->fps_analysed =
        dt > 0 ? (double)(c->frames_analysed - c->frames_prev) / dt : 0;
    c->frames_prev = c->frames_analysed;
    if (c->tr)
      argus_track_get_stats(c->tr, &ts);
    pl_json j;
    pl_json_begin(&j, doc, doc_size);
    pl_json_int(&j, "v", ARGUS_BUS_VERSION);
    pl_json_str(&j, "type", "camera.status");
    pl_json_str(&j, "camera", c->name);
    pl_json_int(&j, "index", i);
    pl_json_str(&j, "state", argus_video_state_name(vs.state));
    pl_json_bool(&j, "connected", vs.connected);
    pl_json_num(&j, "fps_in", vs.fps_in, 1);
    pl_json_num(&j, "fps_analysed", c->fps_analysed, 1);
    pl_json_uint(&j, "frames_analysed", c->frames_analysed);
    pl_json_uint(&j, "frames_dropped", vs.frames_dropped);
    pl_json_uint(&j, "faces", c->faces);
    pl_json_uint(&j, "tracks", ts.created);
    pl_json_int(&j, "tracks_live", ts.live);
    pl_json_uint(&j, "shots", c->shots);
    pl_json_uint(&j, "matches", c->matches);
    pl_json_uint(&j, "alerts", c->alerts);
    pl_json_uint(&j, "reconnects", vs.reconnects);
    pl_json_str(&j, "last_error", vs.last_error[0] ? vs.last_error : NULL);
    pthread_mutex_unlock(&c->mu);
    size_t n = pl_json_end(&j);
    if (n && argus_bus_make_id(p->bus, "camera", mid) == ARGUS_OK)
      argus_bus_publish(p->bus, ARGUS_BUS_TOPIC_CAMERA, mid, doc, n);
  }
  pthread_mutex_unlock(&p->cams_mu);

  argus_pipeline_stats st;
  if (argus_pipeline_get_stats(p, &st, NULL, 0, NULL) != ARGUS_OK)
    return;
  pl_json j;
  pl_json_begin(&j, doc, doc_size);
  pl_json_int(&j, "v", ARGUS_BUS_VERSION);
  pl_json_str(&j, "type", "pipeline.status");
  pl_json_int(&j, "cameras", st.cameras);
  pl_json_int(&j, "workers", st.workers);
  pl_json_uint(&j, "frames_analysed", st.frames_analysed);
  pl_json_uint(&j, "frames_dropped", st.frames_dropped);
  pl_json_int(&j, "frames_queued", st.frames_queued);
  pl_json_int(&j, "shots_queued", st.shots_queued);
  pl_json_int(&j, "alerts_queued", st.alerts_queued);
  pl_json_uint(&j, "shots_dropped", st.shots_dropped);
  pl_json_uint(&j, "alerts", st.alerts);
  pl_json_num(&j, "detect_ms", st.detect_ms, 2);
  pl_json_num(&j, "embed_ms", st.embed_ms, 2);
  pl_json_num(&j, "batch_mean", st.batch_mean, 2);
  pl_json_num(&j, "alert_p50_ms", st.alert_latency.p50 * 1e3, 1);
  pl_json_num(&j, "alert_p99_ms", st.alert_latency.p99 * 1e3, 1);
  pl_json_int(&j, "templates", st.templates);
  size_t n = pl_json_end(&j);
  if (n && argus_bus_make_id(p->bus, "pipeline", mid) == ARGUS_OK)
    argus_bus_publish(p->bus, ARGUS_BUS_TOPIC_PIPELINE, mid, doc, n);
}

static void check_watchlists(argus_pipeline *p) {
  argus_bus_msg m;
  int got = 0, changed = 0;
  while (argus_bus_next(p->watch_sub, 0, &m, &got) == ARGUS_OK && got)
    changed = 1;
  if (!changed)
    return;
  argus_pipeline_error err = {{0}};
  if (argus_pipeline_reload(p, &err) != ARGUS_OK)
    argus_log(ARGUS_LOG_ERROR, PL_MOD, "watchlists changed; %s", err.msg);
  else
    argus_log(ARGUS_LOG_INFO, PL_MOD, "watchlists changed: reloaded");
}

/* Enrolment by another process (argus person add while argus watch runs)
 * cannot reach this process's bus: a cheap signature of what the gallery
 * loads (watchlists with their thresholds, states and person counts, and the
 * number of templates) is compared now and then, and a change reloads. */
static uint64_t store_signature(argus_pipeline *p, int *ok) {
  uint64_t h = 1469598103934665603ull;
  argus_store_watchlist *wl = NULL;
  size_t n = 0;
  int64_t templates = 0;
  *ok =
      argus_store_watchlist_list(p->store, &wl, &n, NULL) == ARGUS_OK &&
      argus_store_template_count(p->store, NULL, &templates, NULL) == ARGUS_OK;
  for (size_t i = 0; *ok && i < n; i++) {
    char line[ARGUS_STORE_NAME_MAX + 128];
    int len = snprintf(line, sizeof line, "%lld|%s|%.6f|%d|%lld|%s",
                       (long long)wl[i].id, wl[i].name, wl[i].threshold,
                       wl[i].active, (long long)wl[i].persons, wl[i].updated);
    for (int k = 0; k < len && k < (int)sizeof line; k++)
      h = (h ^ (unsigned char)line[k]) * 1099511628211ull;
  }
  argus_store_free(wl);
  return h ^ ((uint64_t)templates * 0x9e3779b97f4a7c15ull);
}

static void check_store_changes(argus_pipeline *p, uint64_t *sig, int *have) {
  int ok = 0;
  uint64_t h = store_signature(p, &ok);
  if (!ok)
    return;
  if (*have && h != *sig) {
    argus_pipeline_error err = {{0}};
    if (argus_pipeline_reload(p, &err) != ARGUS_OK)
      argus_log(ARGUS_LOG_ERROR, PL_MOD, "enrolment changed; %s", err.msg);
    else
      argus_log(ARGUS_LOG_INFO, PL_MOD, "enrolment changed: reloaded");
  }
  *sig = h;
  *have = 1;
}

static void purge_unmatched(argus_pipeline *p) {
  int64_t n = 0;
  argus_store_error se = {{0}};
  argus_err rc = argus_store_unmatched_purge(p->store, NULL, &n, &se);
  if (rc != ARGUS_OK)
    argus_log(ARGUS_LOG_WARN, PL_MOD, "purging unmatched faces: %s",
              se.msg[0] ? se.msg : argus_strerror(rc));
  else if (n > 0)
    atomic_fetch_add(&p->unmatched_purged, (uint64_t)n);
}

void *pl_writer_main(void *arg) {
  argus_pipeline *p = arg;
  static _Thread_local char doc[8192];
  uint64_t next_check = 0, next_status = argus_time_ns();
  uint64_t status_ns = (uint64_t)(p->cfg.status_interval * 1e9);
  /* Retention is enforced to within a tenth of it (at most a minute). */
  double purge_s = p->cfg.keep_unmatched > 0
                       ? fmin(60.0, fmax(0.5, p->cfg.keep_unmatched / 10))
                       : 0;
  uint64_t next_purge = argus_time_ns();
  uint64_t next_sig = argus_time_ns(), sig = 0;
  int have_sig = 0;
  uint64_t last_status = argus_time_ns();
  /* The first status interval starts now. */
  next_status += status_ns;
  for (;;) {
    uint64_t c0 = pl_thread_cpu_ns();
    pl_record r;
    int have = 0;
    pthread_mutex_lock(&p->rec_mu);
    if (p->rec_n == 0 && !atomic_load(&p->stop)) {
      struct timespec dl;
      clock_gettime(CLOCK_REALTIME, &dl);
      dl.tv_nsec += 20000000L;
      if (dl.tv_nsec >= 1000000000L) {
        dl.tv_sec++;
        dl.tv_nsec -= 1000000000L;
      }
      pthread_cond_timedwait(&p->rec_cv, &p->rec_mu, &dl);
    }
    if (p->rec_n > 0) {
      r = p->recs[p->rec_head];
      p->rec_head = (p->rec_head + 1) % p->rec_cap;
      p->rec_n--;
      p->writer_busy = 1;
      have = 1;
    }
    int stop = atomic_load(&p->stop);
    pthread_mutex_unlock(&p->rec_mu);
    if (have) {
      if (r.kind == PL_REC_ALERT)
        handle_alert(p, &r, doc, sizeof doc);
      else
        handle_unmatched(p, &r);
      free(r.crop);
      free(r.thumb);
      pthread_mutex_lock(&p->rec_mu);
      p->writer_busy = 0;
      pthread_mutex_unlock(&p->rec_mu);
    }
    if (stop && !have)
      break;
    uint64_t now = argus_time_ns();
    if (now >= next_check) {
      next_check = now + CHECK_PERIOD_NS;
      check_cameras(p);
      check_watchlists(p);
    }
    if (now >= next_status) {
      publish_status(p, doc, sizeof doc, (double)(now - last_status) * 1e-9);
      last_status = now;
      next_status = now + status_ns;
    }
    if (now >= next_sig) {
      check_store_changes(p, &sig, &have_sig);
      next_sig = now + STORE_POLL_NS;
    }
    if (purge_s > 0 && now >= next_purge) {
      purge_unmatched(p);
      next_purge = now + (uint64_t)(purge_s * 1e9);
    }
    atomic_fetch_add(&p->cpu_writer, pl_thread_cpu_ns() - c0);
  }
  return NULL;
}
