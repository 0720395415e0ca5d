/* The composed pipeline: the parts (engine, gallery, store, bus) given by
 * the caller, the stages (edge, match, store sink) made here and joined by
 * events on the bus, statistics and draining. */
#define _GNU_SOURCE
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pipeline/pipeline_internal.h"

#define pl_fail(err, code, ...)                                                \
  argus_error_fail(err, code, ARGUS_LOG_DEBUG, PL_MOD, __VA_ARGS__)

static uint64_t process_cpu_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void argus_pipeline_config_init(argus_pipeline_config *c) {
  if (!c)
    return;
  memset(c, 0, sizeof *c);
  argus_edge_config e;
  argus_edge_config_init(&e);
  c->fps = e.fps;
  c->queue_frames = e.queue_frames;
  c->detect_size = e.detect_size;
  c->max_faces = e.max_faces;
  c->max_tracks = e.max_tracks;
  c->cooldown = -1;
  c->embed_batch = e.embed_batch;
  c->embed_wait = e.embed_wait;
  c->shot_slots = e.shot_slots;
  c->alert_queue = 64;
  c->alert_spool = 1024;
  c->alert_retry = 30;
  c->thumb_width = e.thumb_width;
  c->jpeg_quality = e.jpeg_quality;
  c->motion = e.motion;
  c->motion_threshold = e.motion_threshold;
  c->motion_refresh = e.motion_refresh;
  c->decode = e.decode;
  c->status_interval = 1;
  c->publish_faces = 1;
  c->score_norm = ARGUS_GALLERY_NORM_TOPN;
  c->fuse = ARGUS_GALLERY_FUSE_MEAN;
}

/* ---- parts ---------------------------------------------------------------- */

static argus_err open_store(const char *db_path, const char *actor,
                            argus_store **out, argus_pipeline_error *err) {
  argus_store_options so;
  memset(&so, 0, sizeof so);
  so.actor = actor && *actor ? actor : "pipeline";
  argus_store_error se = {{0}};
  argus_err rc = argus_store_open(db_path, &so, out, &se);
  if (rc)
    return pl_fail(err, rc, "database: %s",
                   se.msg[0] ? se.msg : argus_strerror(rc));
  return ARGUS_OK;
}

argus_err argus_pipeline_parts_open(const char *models_dir,
                                    int allow_unverified, const char *db_path,
                                    const char *actor,
                                    argus_pipeline_parts *out,
                                    argus_pipeline_error *err) {
  argus_pipeline_parts_options o;
  memset(&o, 0, sizeof o);
  o.models_dir = models_dir;
  o.allow_unverified = allow_unverified;
  o.db_path = db_path;
  o.actor = actor;
  return argus_pipeline_parts_open_with(&o, out, err);
}

argus_err argus_pipeline_parts_open_with(const argus_pipeline_parts_options *o,
                                         argus_pipeline_parts *out,
                                         argus_pipeline_error *err) {
  if (!out || !o)
    return pl_fail(err, ARGUS_E_INVALID_ARG, "parts: NULL argument");
  memset(out, 0, sizeof *out);
  if (o->search_threads < 0 || o->search_threads > 64 ||
      o->index_kind < ARGUS_INDEX_AUTO || o->index_kind > ARGUS_INDEX_APPROX)
    return pl_fail(err, ARGUS_E_INVALID_ARG,
                   "parts: search threads %d (0..64) or index kind %d out of "
                   "range",
                   o->search_threads, (int)o->index_kind);
  const char *db_path = o->db_path, *actor = o->actor;
  const int skip_gallery = o->skip_gallery || o->skip_engine;
  argus_err rc = ARGUS_OK;
  if (o->skip_engine)
    goto store;
  argus_face_engine_opts eo;
  memset(&eo, 0, sizeof eo);
  eo.models_dir = o->models_dir;
  eo.allow_unverified = o->allow_unverified;
  eo.embed_batch = 16;
  argus_face_error fe = {{0}};
  rc = argus_face_engine_create(&eo, &out->engine, &fe);
  if (rc) {
    rc =
        pl_fail(err, rc, "models: %s", fe.msg[0] ? fe.msg : argus_strerror(rc));
    goto fail;
  }
store:
  if ((rc = open_store(db_path, actor, &out->store, err)) != ARGUS_OK)
    goto fail;
  if (skip_gallery)
    goto bus;
  if ((rc = open_store(db_path, actor, &out->gallery_store, err)) != ARGUS_OK)
    goto fail;
  argus_gallery_config gc;
  argus_gallery_error ge = {{0}};
  rc = argus_gallery_config_from_card(
      argus_face_engine_card(out->engine, ARGUS_FACE_MODEL_EMBEDDER), &gc, &ge);
  argus_index_config ic;
  argus_index_config_init(&ic);
  ic.kind = o->index_kind;
  if (rc == ARGUS_OK && o->search_threads > 1 &&
      argus_threadpool_create(o->search_threads, &out->search_pool) !=
          ARGUS_OK) {
    rc = pl_fail(err, ARGUS_E_NOMEM, "gallery: cannot start %d search threads",
                 o->search_threads);
    goto fail;
  }
  ic.pool = out->search_pool;
  if (o->index_kind != ARGUS_INDEX_AUTO || out->search_pool)
    gc.index = &ic;
  if (rc == ARGUS_OK)
    rc = argus_gallery_open(out->gallery_store, &gc, &out->gallery, &ge);
  if (rc) {
    rc = pl_fail(err, rc, "gallery: %s",
                 ge.msg[0] ? ge.msg : argus_strerror(rc));
    goto fail;
  }
bus:
  rc = argus_bus_open(NULL, NULL, &out->bus, NULL);
  if (rc) {
    rc = pl_fail(err, rc, "bus: %s", argus_strerror(rc));
    goto fail;
  }
  return ARGUS_OK;
fail:
  argus_pipeline_parts_close(out);
  return rc;
}

void argus_pipeline_parts_close(argus_pipeline_parts *parts) {
  if (!parts)
    return;
  argus_bus_close(parts->bus);
  argus_gallery_close(parts->gallery);
  argus_threadpool_destroy(parts->search_pool);
  argus_store_close(parts->gallery_store);
  argus_store_close(parts->store);
  argus_face_engine_free(parts->engine);
  memset(parts, 0, sizeof *parts);
}

/* ---- creation ------------------------------------------------------------- */

static argus_err check_config(const argus_pipeline_config *c,
                              argus_pipeline_error *err) {
#define BAD(...) return pl_fail(err, ARGUS_E_INVALID_ARG, __VA_ARGS__)
  if (c->max_cameras < 0 || c->max_cameras > ARGUS_VIDEO_MAX_CAMERAS)
    BAD("max_cameras %d out of range (0..%d)", c->max_cameras,
        ARGUS_VIDEO_MAX_CAMERAS);
  if (c->alert_queue < 1 || c->alert_queue > 65536)
    BAD("alert_queue %d out of range (1..65536)", c->alert_queue);
  if (c->alert_spool < 1 || c->alert_spool > 1048576)
    BAD("alert_spool %d out of range (1..1048576)", c->alert_spool);
  if (!(c->alert_retry >= 0 && c->alert_retry <= 86400))
    BAD("alert_retry %g out of range (0..86400 s)", c->alert_retry);
  if (!(c->keep_unmatched >= 0 && c->keep_unmatched <= 10 * 365 * 86400.0))
    BAD("keep_unmatched %g out of range (0..10 years)", c->keep_unmatched);
  if (!(c->status_interval >= 0.05 && c->status_interval <= 3600))
    BAD("status_interval %g out of range (0.05..3600 s)", c->status_interval);
  if (!(c->cooldown < 0 || c->cooldown <= 86400 * 365.0))
    BAD("cooldown %g out of range", c->cooldown);
  if (!(c->fusion_margin >= 0 && c->fusion_margin <= 0.5f))
    BAD("fusion_margin %g out of range (0..0.5)", (double)c->fusion_margin);
  if (c->nwatchlists < 0 || c->nwatchlists > ARGUS_PIPELINE_MAX_WATCHLISTS ||
      (c->nwatchlists && !c->watchlists))
    BAD("watchlists: %d names (at most %d)", c->nwatchlists,
        ARGUS_PIPELINE_MAX_WATCHLISTS);
#undef BAD
  return ARGUS_OK;
}

static void edge_config_of(const argus_pipeline_config *c,
                           argus_edge_config *e) {
  argus_edge_config_init(e);
  e->threads = c->threads;
  e->fps = c->fps;
  e->realtime = c->realtime;
  e->loop = c->loop;
  e->queue_frames = c->queue_frames;
  e->open_timeout = c->open_timeout;
  e->read_timeout = c->read_timeout;
  e->max_cameras =
      c->max_cameras > 0 ? c->max_cameras : ARGUS_PIPELINE_MAX_CAMERAS;
  e->detect_size = c->detect_size;
  e->min_score = c->min_score;
  e->min_face = c->min_face;
  e->max_faces = c->max_faces;
  e->max_tracks = c->max_tracks;
  e->min_quality = c->min_quality;
  e->embed_batch = c->embed_batch;
  e->embed_wait = c->embed_wait;
  e->shot_slots = c->shot_slots;
  e->thumb_width = c->thumb_width;
  e->jpeg_quality = c->jpeg_quality;
  e->motion = c->motion;
  e->motion_threshold = c->motion_threshold;
  e->motion_refresh = c->motion_refresh;
  e->decode = c->decode;
}

/* The gallery's own changes (enrolment through this process) go straight
 * to the matchers on the bus. */
static void on_gallery_change(void *user, const argus_gallery_change *c) {
  argus_pipeline *p = user;
  argus_event *ev = NULL;
  if (argus_event_new(ARGUS_EVENT_WATCHLIST, NULL, &ev) != ARGUS_OK)
    return;
  argus_event_watchlist *w = &ev->u.watchlist;
  w->what =
      c->person_id > 0 ? ARGUS_EVENT_CHANGE_PERSON : ARGUS_EVENT_CHANGE_ALL;
  w->person_id = c->person_id;
  w->watchlist_id = c->watchlist_id;
  snprintf(w->action, sizeof w->action, "%s", c->action);
  snprintf(w->watchlist, sizeof w->watchlist, "%s", c->watchlist);
  if (argus_bus_make_id(p->parts.bus, "change", ev->id) == ARGUS_OK)
    argus_bus_publish_event(p->parts.bus, ARGUS_EVENT_TOPIC_WATCHLIST, ev);
  argus_event_unref(ev);
}

static argus_err start_matcher(argus_pipeline *p,
                               const argus_pipeline_config *cfg,
                               const argus_pipeline_parts *parts,
                               argus_pipeline_error *err);

argus_err argus_pipeline_create(const argus_pipeline_config *cfg,
                                const argus_pipeline_parts *parts,
                                argus_pipeline **out,
                                argus_pipeline_error *err) {
  if (err)
    err->msg[0] = '\0';
  argus_pipeline_config def;
  if (!cfg) {
    argus_pipeline_config_init(&def);
    cfg = &def;
  }
  if (cfg->role != ARGUS_PIPELINE_ALL && cfg->role != ARGUS_PIPELINE_EDGE &&
      cfg->role != ARGUS_PIPELINE_MATCH && cfg->role != ARGUS_PIPELINE_SINK)
    return pl_fail(err, ARGUS_E_INVALID_ARG,
                   "pipeline: role %d is not all, edge, match or sink",
                   cfg->role);
  int all = cfg->role == ARGUS_PIPELINE_ALL;
  int want_edge = all || cfg->role == ARGUS_PIPELINE_EDGE;
  int want_match = all || cfg->role == ARGUS_PIPELINE_MATCH;
  int want_sink = all || cfg->role == ARGUS_PIPELINE_SINK;
  if (!out || !parts || !parts->bus || (want_edge && !parts->engine) ||
      (want_match && (!parts->gallery || !parts->store)) ||
      (want_sink && !parts->store))
    return pl_fail(err, ARGUS_E_INVALID_ARG,
                   "pipeline: a part the %s role needs (engine, gallery, "
                   "store, bus) or the output pointer is missing",
                   argus_pipeline_role_name(cfg->role));
  *out = NULL;
  argus_err rc = check_config(cfg, err);
  if (rc)
    return rc;
  argus_pipeline *p = calloc(1, sizeof *p);
  if (!p)
    return pl_fail(err, ARGUS_E_NOMEM, "out of memory");
  p->cfg = *cfg;
  p->cfg.watchlists = NULL; /* the matcher copies the names */
  p->parts = *parts;
  p->shared_bus = strcmp(argus_bus_backend(parts->bus), "inproc") != 0;
  p->t_start = argus_time_ns();
  pthread_mutex_init(&p->mu, NULL);
  pthread_mutex_init(&p->store_mu, NULL);
  pthread_mutex_init(&p->house_mu, NULL);
  pthread_cond_init(&p->house_cv, NULL);
  atomic_init(&p->stop, 0);

  /* Downstream first, so that nothing the edge publishes is missed: the
   * sink, then the matcher, then the edge. */
  if (want_sink && (rc = pl_sink_start(p)) != ARGUS_OK) {
    rc = pl_fail(err, rc, "store sink: cannot subscribe: %s",
                 argus_bus_last_error());
    goto fail;
  }
  if (want_match && (rc = start_matcher(p, cfg, parts, err)) != ARGUS_OK)
    goto fail;
  if (want_edge) {
    argus_edge_config ec;
    edge_config_of(cfg, &ec);
    if ((rc = argus_edge_create(&ec, parts->engine, parts->bus, &p->edge,
                                err)) != ARGUS_OK)
      goto fail;
  }
  if (pthread_create(&p->house, NULL, pl_house_main, p) != 0) {
    rc = pl_fail(err, ARGUS_E_INTERNAL, "cannot start the housekeeping thread");
    goto fail;
  }
  p->house_started = 1;
  argus_gallery_stats gs;
  if (parts->gallery &&
      argus_gallery_get_stats(parts->gallery, &gs) == ARGUS_OK)
    argus_log(ARGUS_LOG_INFO, PL_MOD,
              "%zu templates of %zu persons in %zu watchlists", gs.templates,
              gs.persons, gs.watchlists);
  *out = p;
  return ARGUS_OK;
fail:
  argus_pipeline_destroy(p);
  return rc;
}

/* The matcher stage: subscribed to the face events (as the group "match":
 * over a shared bus every matcher takes its share), following the gallery's
 * changes and the store's change feed. */
static argus_err start_matcher(argus_pipeline *p,
                               const argus_pipeline_config *cfg,
                               const argus_pipeline_parts *parts,
                               argus_pipeline_error *err) {
  argus_err rc;
  argus_matcher_config mc;
  argus_matcher_config_init(&mc);
  mc.watchlists = cfg->watchlists;
  mc.nwatchlists = cfg->nwatchlists;
  mc.cooldown = cfg->cooldown;
  mc.fusion_margin = cfg->fusion_margin;
  mc.score_norm = cfg->score_norm;
  mc.fuse = cfg->fuse;
  mc.keep_unmatched = cfg->keep_unmatched;
  mc.observe = pl_observe;
  mc.observe_user = p;
  if ((rc = argus_matcher_create(&mc, parts->gallery, parts->bus, &p->matcher,
                                 err)) != ARGUS_OK)
    return rc;
  if ((rc = argus_matcher_start(p->matcher, 0)) != ARGUS_OK)
    return pl_fail(err, rc, "matcher: cannot subscribe: %s",
                   argus_bus_last_error());
  argus_gallery_set_change_hook(parts->gallery, on_gallery_change, p);
  p->follow_feed = 1;
  pl_feed_poll(p);
  return ARGUS_OK;
}

int argus_pipeline_get_role(const argus_pipeline *p) {
  return p ? p->cfg.role : ARGUS_PIPELINE_ALL;
}

const char *argus_pipeline_role_name(int role) {
  switch (role) {
  case ARGUS_PIPELINE_ALL:
    return "all";
  case ARGUS_PIPELINE_EDGE:
    return "edge";
  case ARGUS_PIPELINE_MATCH:
    return "match";
  case ARGUS_PIPELINE_SINK:
    return "sink";
  default:
    return NULL;
  }
}

int argus_pipeline_role_parse(const char *name) {
  for (int r = 0; r <= ARGUS_PIPELINE_SINK; r++) {
    const char *n = argus_pipeline_role_name(r);
    if (n && name && strcmp(n, name) == 0)
      return r;
  }
  return -1;
}

void argus_pipeline_destroy(argus_pipeline *p) {
  if (!p)
    return;
  /* Upstream first: no new faces; the matcher handles the face events
   * already published and the sink stores the alerts they raise (frames
   * and shots not yet analysed are discarded: drain first for those). */
  if (p->house_started) {
    pthread_mutex_lock(&p->house_mu);
    atomic_store(&p->stop, 1);
    pthread_cond_broadcast(&p->house_cv);
    pthread_mutex_unlock(&p->house_mu);
    pthread_join(p->house, NULL);
  }
  argus_edge_destroy(p->edge);
  if (p->matcher)
    argus_gallery_set_change_hook(p->parts.gallery, NULL, NULL);
  /* Alerts already raised are stored before the sink goes. */
  argus_bus_flush(p->parts.bus, 10);
  argus_matcher_destroy(p->matcher);
  argus_bus_flush(p->parts.bus, 10);
  pl_sink_stop(p);
  free(p->camcounts);
  pthread_mutex_destroy(&p->mu);
  pthread_mutex_destroy(&p->store_mu);
  pthread_mutex_destroy(&p->house_mu);
  pthread_cond_destroy(&p->house_cv);
  free(p);
}

argus_bus *argus_pipeline_bus(argus_pipeline *p) {
  return p ? p->parts.bus : NULL;
}

argus_err argus_pipeline_add_camera(argus_pipeline *p, const char *name,
                                    const char *url, double fps, int *index,
                                    argus_pipeline_error *err) {
  if (!p)
    return pl_fail(err, ARGUS_E_INVALID_ARG, "add camera: no pipeline");
  if (!p->edge)
    return pl_fail(err, ARGUS_E_INVALID_ARG,
                   "add camera: the %s role runs no cameras",
                   argus_pipeline_role_name(p->cfg.role));
  return argus_edge_add_camera(p->edge, name, url, fps, index, err);
}

argus_err argus_pipeline_add_camera_opts(argus_pipeline *p,
                                         const argus_edge_camera_opts *o,
                                         int *index,
                                         argus_pipeline_error *err) {
  if (!p)
    return pl_fail(err, ARGUS_E_INVALID_ARG, "add camera: no pipeline");
  if (!p->edge)
    return pl_fail(err, ARGUS_E_INVALID_ARG,
                   "add camera: the %s role runs no cameras",
                   argus_pipeline_role_name(p->cfg.role));
  return argus_edge_add_camera_opts(p->edge, o, index, err);
}

argus_err argus_pipeline_set_policy(argus_pipeline *p, int index,
                                    const argus_policy *pol) {
  return p ? argus_edge_set_policy(p->edge, index, pol) : ARGUS_E_INVALID_ARG;
}

argus_err argus_pipeline_remove_camera(argus_pipeline *p, int index) {
  return p ? argus_edge_remove_camera(p->edge, index) : ARGUS_E_INVALID_ARG;
}

argus_err argus_pipeline_reload(argus_pipeline *p, argus_pipeline_error *err) {
  if (!p)
    return pl_fail(err, ARGUS_E_INVALID_ARG, "no pipeline");
  argus_event_watchlist all;
  memset(&all, 0, sizeof all);
  all.what = ARGUS_EVENT_CHANGE_ALL;
  if (!p->matcher)
    return ARGUS_OK; /* no index here */
  return argus_matcher_apply_change(p->matcher, &all, err);
}

int argus_pipeline_all_ended(argus_pipeline *p) {
  return p ? argus_edge_all_ended(p->edge) : 1;
}

argus_err argus_pipeline_drain(argus_pipeline *p, double timeout_s) {
  if (!p)
    return ARGUS_E_INVALID_ARG;
  uint64_t t_end = timeout_s < 0
                       ? UINT64_MAX
                       : argus_time_ns() + (uint64_t)(timeout_s * 1e9);
  /* Two clean looks in a row: a shot can be between the tracker and the
   * queue while the first look runs. */
  int clean = 0;
  while (clean < 2) {
    if (argus_time_ns() >= t_end)
      return ARGUS_E_LIMIT;
    clean = argus_edge_idle(p->edge) ? clean + 1 : 0;
    struct timespec ts = {0, 5000000};
    nanosleep(&ts, NULL);
  }
  /* Then each stage downstream: the matcher has the last face events, the
   * sink the alerts they raised, the other sinks the stored alerts. */
  for (int hop = 0; hop < 3; hop++) {
    double left = timeout_s < 0 ? -1 : (double)(t_end - argus_time_ns()) * 1e-9;
    if (left >= 0 && left < 0.1)
      left = 0.1;
    argus_err rc = argus_bus_flush(p->parts.bus, left);
    if (rc)
      return rc;
    /* after the sink's hop: the alerts waiting in its spool are stored
     * (and published) before the last hop */
    if (hop == 1 && !pl_sink_wait(p, t_end))
      return ARGUS_E_LIMIT;
  }
  return ARGUS_OK;
}

/* ---- statistics ----------------------------------------------------------- */

argus_err argus_pipeline_histograms(argus_pipeline *p,
                                    argus_pipeline_histogram *detect,
                                    argus_pipeline_histogram *embed,
                                    argus_pipeline_histogram *alert_latency) {
  if (!p)
    return ARGUS_E_INVALID_ARG;
  argus_err rc = ARGUS_OK;
  if (p->edge) {
    rc = argus_edge_histograms(p->edge, detect, embed);
  } else {
    argus_edge_histogram none;
    memset(&none, 0, sizeof none);
    if (detect)
      *detect = none;
    if (embed)
      *embed = none;
  }
  edge_hist_read(&p->hist_alert, alert_latency);
  return rc;
}

argus_err argus_pipeline_camera_snapshot(argus_pipeline *p, int index,
                                         int max_width, uint8_t **jpeg,
                                         size_t *size, double timeout_s,
                                         argus_pipeline_error *err) {
  if (jpeg)
    *jpeg = NULL;
  if (size)
    *size = 0;
  if (!p || !jpeg || !size)
    return pl_fail(err, ARGUS_E_INVALID_ARG, "snapshot: no pipeline or output");
  argus_image img;
  argus_err rc = argus_edge_camera_snapshot(p->edge, index, max_width,
                                            timeout_s, &img, err);
  if (rc)
    return rc;
  rc = argus_image_encode_jpeg(&img, p->cfg.jpeg_quality, jpeg, size);
  argus_image_free(&img);
  if (rc)
    return pl_fail(err, rc, "snapshot of camera %d: JPEG: %s", index,
                   argus_strerror(rc));
  return ARGUS_OK;
}

argus_err argus_pipeline_get_stats(argus_pipeline *p, argus_pipeline_stats *out,
                                   argus_pipeline_camera_stats *cams, int cap,
                                   int *ncams) {
  if (!p || !out || (cap > 0 && !cams) || cap < 0)
    return ARGUS_E_INVALID_ARG;
  memset(out, 0, sizeof *out);
  argus_edge_stats es;
  int n = 0;
  argus_edge_camera_stats *ecs =
      cap > 0 ? calloc((size_t)cap, sizeof *ecs) : NULL;
  if (cap > 0 && !ecs)
    return ARGUS_E_NOMEM;
  memset(&es, 0, sizeof es);
  argus_err rc =
      p->edge ? argus_edge_get_stats(p->edge, &es, ecs, cap, &n) : ARGUS_OK;
  if (rc) {
    free(ecs);
    return rc;
  }
  pthread_mutex_lock(&p->mu);
  for (int i = 0; i < n && i < cap; i++) {
    argus_pipeline_camera_stats *c = &cams[i];
    const argus_edge_camera_stats *e = &ecs[i];
    memset(c, 0, sizeof *c);
    c->index = e->index;
    c->video = e->video;
    c->fps_analysed = e->fps_analysed;
    c->frames_analysed = e->frames_analysed;
    c->frames_failed = e->frames_failed;
    c->faces = e->faces;
    c->tracks = e->tracks;
    c->tracks_confirmed = e->tracks_confirmed;
    c->tracks_live = e->tracks_live;
    c->shots = e->shots;
    c->shots_dropped = e->shots_dropped;
    c->frames_policy_off = e->frames_policy_off;
    c->faces_masked = e->faces_masked;
    c->faces_detect_only = e->faces_detect_only;
    c->policy_mode = e->policy_mode;
    c->det_full = e->det_full;
    c->det_window = e->det_window;
    c->det_skipped = e->det_skipped;
    c->det_area = e->det_area;
    for (int k = 0; k < p->ncamcounts; k++)
      if (strcmp(p->camcounts[k].name, e->name) == 0) {
        c->matches = p->camcounts[k].matches;
        c->alerts = p->camcounts[k].alerts;
        c->suppressed = p->camcounts[k].suppressed;
      }
  }
  out->detect_ms = p->detect_ms;
  out->track_ms = p->track_ms;
  out->embed_ms = p->embed_ms;
  out->batch_mean = p->batch_mean;
  pl_latency_summary(&p->lat_alert, &out->alert_latency);
  pl_latency_summary(&p->lat_search, &out->search_latency);
  pthread_mutex_unlock(&p->mu);
  free(ecs);
  out->cameras = n;
  if (ncams)
    *ncams = n;
  out->workers = es.workers;
  out->frames_analysed = es.frames_analysed;
  out->frames_dropped = es.frames_dropped;
  out->frames_queued = es.frames_queued;
  out->faces = es.faces;
  out->shots = es.shots;
  out->shots_dropped = es.shots_dropped;
  out->shots_queued = es.shots_queued;
  out->embed_batches = es.embed_batches;
  out->det_full = es.det_full;
  out->det_window = es.det_window;
  out->det_skipped = es.det_skipped;
  out->det_area = es.det_area;

  argus_matcher_stats ms;
  memset(&ms, 0, sizeof ms);
  if (p->matcher)
    argus_matcher_get_stats(p->matcher, &ms);
  out->matches = ms.matches;
  out->faces_searched = ms.faces;
  out->faces_backlog = p->matcher ? ms.backlog : -1;
  out->alerts = ms.alerts;
  out->suppressed = ms.suppressed_track + ms.suppressed_cooldown;
  out->reloads = ms.reloads;
  out->changes = ms.changes;
  out->suppressed_negative = ms.suppressed_negative;
  out->marked_negative = ms.marked_negative;

  argus_bus_stats bs;
  if (argus_bus_get_stats(p->parts.bus, &bs) == ARGUS_OK) {
    out->crops_fetched = bs.crops_fetched;
    out->crops_missing = bs.crops_missing;
  }

  argus_bus_sub_stats ss;
  memset(&ss, 0, sizeof ss);
  if (p->sink_sub && argus_bus_sub_get_stats(p->sink_sub, &ss) == ARGUS_OK) {
    out->alerts_dropped = ss.dropped;
    out->alerts_queued = ss.queued;
  }
  out->events_dropped = out->alerts_dropped + es.publish_errors + ms.dropped;
  pl_sink_stats(p, out);
  out->alerts_stored = atomic_load(&p->alerts_stored);
  out->store_errors = atomic_load(&p->store_errors);
  out->unmatched_stored = atomic_load(&p->unmatched_stored);
  out->unmatched_purged = atomic_load(&p->unmatched_purged);

  argus_gallery_stats gs;
  if (argus_gallery_get_stats(p->parts.gallery, &gs) == ARGUS_OK) {
    out->templates = (int)gs.templates;
    out->persons = (int)gs.persons;
    out->watchlists = (int)gs.watchlists;
    out->withheld_review = gs.withheld > 0 ? (uint64_t)gs.withheld : 0;
  }
  out->detect_ms_avg =
      es.n_detect ? es.ns_detect * 1e-6 / (double)es.n_detect : 0;
  out->track_ms_avg = es.n_track ? es.ns_track * 1e-6 / (double)es.n_track : 0;
  out->embed_ms_avg =
      es.embedded ? es.ns_embed * 1e-6 / (double)es.embedded : 0;
  out->batch_mean_avg =
      es.embed_batches ? (double)es.embedded / (double)es.embed_batches : 0;
  out->cpu_detect = es.cpu_detect;
  out->cpu_track = es.cpu_track;
  out->cpu_embed = es.cpu_embed;
  out->cpu_match = ms.cpu_s;
  out->cpu_alert = es.cpu_publish;
  out->cpu_writer =
      (atomic_load(&p->cpu_sink) + atomic_load(&p->cpu_house)) * 1e-9;
  out->cpu_total = process_cpu_ns() * 1e-9;
  double known = out->cpu_detect + out->cpu_track + out->cpu_embed +
                 out->cpu_match + out->cpu_alert + out->cpu_writer;
  out->cpu_decode = out->cpu_total > known ? out->cpu_total - known : 0;
  out->uptime = (double)(argus_time_ns() - p->t_start) * 1e-9;
  return ARGUS_OK;
}
