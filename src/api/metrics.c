/* /metrics: the Prometheus text exposition format (version 0.0.4).
 *
 *   per camera (label camera="name"): frames in (decoded), analysed,
 *     dropped, failed; faces, tracks, shots, matches, alerts; up (0/1) and
 *     the state as an info-style gauge; fps in and analysed;
 *   the pipeline: totals, queue depths, the detection / embedding /
 *     capture-to-alert histograms (argus_pipeline_histograms);
 *   the store: alerts by status, decisions by outcome (one grouped query
 *     each: argus_store_alert_counts);
 *   HTTP: requests and handling seconds by method, route and status;
 *   outbound: webhooks delivered / failed / dead letters, MQTT.
 *
 * Without a pipeline (the server runs none) only the store and HTTP parts
 * are written. The writer (api_prom_*) is pure: metrics.h. */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_internal.h"
#include "metrics.h"
#if __has_include("outbound.h")
#include "outbound.h"
#define METRICS_OUTBOUND 1
#endif

/* ---- the writer ------------------------------------------------------------ */

void api_prom_init(api_prom *p) { memset(p, 0, sizeof *p); }

void api_prom_free(api_prom *p) {
  free(p->buf);
  memset(p, 0, sizeof *p);
}

void api_prom_raw(api_prom *p, const char *s, size_t n) {
  if (p->oom)
    return;
  if (p->n + n + 1 > p->cap) {
    size_t cap = p->cap ? p->cap : 4096;
    while (p->n + n + 1 > cap)
      cap *= 2;
    char *b = realloc(p->buf, cap);
    if (!b) {
      p->oom = 1;
      return;
    }
    p->buf = b;
    p->cap = cap;
  }
  memcpy(p->buf + p->n, s, n);
  p->n += n;
  p->buf[p->n] = '\0';
}

static void put(api_prom *p, const char *s) { api_prom_raw(p, s, strlen(s)); }

static void putf(api_prom *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void putf(api_prom *p, const char *fmt, ...) {
  char tmp[128];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n < 0)
    return;
  api_prom_raw(p, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* Escapes s: backslash and line feed always, the double quote in label
 * values only (HELP text keeps it). */
static void put_escaped(api_prom *p, const char *s, int quote) {
  const char *run = s;
  for (; *s; s++) {
    const char *rep = NULL;
    if (*s == '\\')
      rep = "\\\\";
    else if (*s == '\n')
      rep = "\\n";
    else if (*s == '"' && quote)
      rep = "\\\"";
    if (!rep)
      continue;
    api_prom_raw(p, run, (size_t)(s - run));
    put(p, rep);
    run = s + 1;
  }
  api_prom_raw(p, run, (size_t)(s - run));
}

void api_prom_family(api_prom *p, const char *name, const char *type,
                     const char *help) {
  put(p, "# HELP ");
  put(p, name);
  put(p, " ");
  put_escaped(p, help ? help : "", 0);
  put(p, "\n# TYPE ");
  put(p, name);
  put(p, " ");
  put(p, type);
  put(p, "\n");
}

void api_prom_begin(api_prom *p, const char *name) {
  put(p, name);
  p->labels = 0;
}

void api_prom_label(api_prom *p, const char *key, const char *value) {
  put(p, p->labels++ ? "," : "{");
  put(p, key);
  put(p, "=\"");
  put_escaped(p, value ? value : "", 1);
  put(p, "\"");
}

static void end_labels(api_prom *p) {
  if (p->labels)
    put(p, "}");
  p->labels = 0;
}

void api_prom_u64(api_prom *p, uint64_t v) {
  end_labels(p);
  putf(p, " %llu\n", (unsigned long long)v);
}

void api_prom_f64(api_prom *p, double v) {
  end_labels(p);
  if (isnan(v))
    put(p, " NaN\n");
  else if (isinf(v))
    put(p, v > 0 ? " +Inf\n" : " -Inf\n");
  else
    putf(p, " %.17g\n", v);
}

void api_prom_histogram(api_prom *p, const char *name, const char *help,
                        const argus_pipeline_histogram *h) {
  char line[128];
  api_prom_family(p, name, "histogram", help);
  snprintf(line, sizeof line, "%s_bucket", name);
  for (int i = 0; i < h->nbounds && i < ARGUS_EDGE_HIST_BOUNDS; i++) {
    char le[32];
    snprintf(le, sizeof le, "%g", h->le[i]);
    api_prom_begin(p, line);
    api_prom_label(p, "le", le);
    api_prom_u64(p, h->buckets[i]);
  }
  api_prom_begin(p, line);
  api_prom_label(p, "le", "+Inf");
  api_prom_u64(p, h->count);
  snprintf(line, sizeof line, "%s_sum", name);
  api_prom_begin(p, line);
  api_prom_f64(p, h->sum);
  snprintf(line, sizeof line, "%s_count", name);
  api_prom_begin(p, line);
  api_prom_u64(p, h->count);
}

/* ---- the parts --------------------------------------------------------------- */

/* One family with one sample per camera. */
typedef enum { CAM_U64, CAM_F64 } cam_kind;

static void camera_family(api_prom *p, const char *name, const char *type,
                          const char *help,
                          const argus_pipeline_camera_stats *cams, int n,
                          size_t off, cam_kind kind) {
  api_prom_family(p, name, type, help);
  for (int i = 0; i < n; i++) {
    const char *base = (const char *)&cams[i];
    api_prom_begin(p, name);
    api_prom_label(p, "camera", cams[i].video.name);
    if (kind == CAM_U64) {
      uint64_t v;
      memcpy(&v, base + off, sizeof v);
      api_prom_u64(p, v);
    } else {
      double v;
      memcpy(&v, base + off, sizeof v);
      api_prom_f64(p, v);
    }
  }
}

#define CAM(name, type, help, field, kind)                                     \
  camera_family(p, name, type, help, cams, n,                                  \
                offsetof(argus_pipeline_camera_stats, field), kind)

static void write_cameras(api_prom *p, const argus_pipeline_camera_stats *cams,
                          int n) {
  CAM("argus_camera_frames_in_total", "counter",
      "Frames decoded from the camera's source.", video.frames_decoded,
      CAM_U64);
  CAM("argus_camera_frames_analysed_total", "counter",
      "Frames of the camera analysed (detection, tracking).", frames_analysed,
      CAM_U64);
  CAM("argus_camera_frames_dropped_total", "counter",
      "Frames dropped before analysis (ring full).", video.frames_dropped,
      CAM_U64);
  CAM("argus_camera_frames_failed_total", "counter",
      "Frames whose analysis failed.", frames_failed, CAM_U64);
  CAM("argus_camera_faces_total", "counter", "Faces detected.", faces, CAM_U64);
  CAM("argus_camera_tracks_total", "counter", "Face tracks started.", tracks,
      CAM_U64);
  CAM("argus_camera_shots_total", "counter",
      "Best shots embedded and searched.", shots, CAM_U64);
  CAM("argus_camera_shots_dropped_total", "counter",
      "Best shots dropped (shot queue full).", shots_dropped, CAM_U64);
  CAM("argus_camera_matches_total", "counter",
      "Searches that matched someone over a threshold.", matches, CAM_U64);
  CAM("argus_camera_alerts_total", "counter", "Alerts raised.", alerts,
      CAM_U64);
  CAM("argus_camera_reconnects_total", "counter",
      "Successful reopens of the source after a loss.", video.reconnects,
      CAM_U64);
  CAM("argus_camera_errors_total", "counter",
      "Failed opens, read errors and stalls of the source.", video.errors,
      CAM_U64);
  CAM("argus_camera_fps_in", "gauge",
      "Video packets per second read from the source.", video.fps_in, CAM_F64);
  CAM("argus_camera_fps_analysed", "gauge",
      "Frames analysed per second (last status interval).", fps_analysed,
      CAM_F64);
  api_prom_family(p, "argus_camera_up", "gauge",
                  "1 while the camera streams, else 0.");
  for (int i = 0; i < n; i++) {
    api_prom_begin(p, "argus_camera_up");
    api_prom_label(p, "camera", cams[i].video.name);
    api_prom_u64(p, cams[i].video.state == ARGUS_VIDEO_STREAMING);
  }
  api_prom_family(p, "argus_camera_state", "gauge",
                  "The camera's state (label state), always 1.");
  for (int i = 0; i < n; i++) {
    api_prom_begin(p, "argus_camera_state");
    api_prom_label(p, "camera", cams[i].video.name);
    api_prom_label(p, "state", argus_video_state_name(cams[i].video.state));
    api_prom_u64(p, 1);
  }
}

static void one(api_prom *p, const char *name, const char *type,
                const char *help, double v, int whole) {
  api_prom_family(p, name, type, help);
  api_prom_begin(p, name);
  if (whole && v >= 0)
    api_prom_u64(p, (uint64_t)v);
  else
    api_prom_f64(p, v);
}

static void write_pipeline(api_prom *p, const argus_pipeline_stats *s,
                           argus_pipeline *pl) {
#define C(name, help, v) one(p, name, "counter", help, (double)(v), 1)
#define G(name, help, v) one(p, name, "gauge", help, (double)(v), 1)
  G("argus_pipeline_cameras", "Cameras in the pipeline.", s->cameras);
  G("argus_pipeline_workers", "Analysis workers.", s->workers);
  G("argus_index_templates", "Templates in the search index.", s->templates);
  G("argus_index_persons", "Persons in the search index.", s->persons);
  G("argus_index_watchlists", "Watchlists watched.", s->watchlists);
  one(p, "argus_pipeline_uptime_seconds", "gauge",
      "Seconds since the pipeline started.", s->uptime, 0);
  C("argus_pipeline_frames_analysed_total", "Frames analysed, all cameras.",
    s->frames_analysed);
  C("argus_pipeline_frames_dropped_total",
    "Frames dropped before analysis, all cameras.", s->frames_dropped);
  C("argus_pipeline_faces_total", "Faces detected.", s->faces);
  C("argus_pipeline_shots_total", "Best shots embedded and searched.",
    s->shots);
  C("argus_pipeline_shots_dropped_total", "Shots dropped (queue full).",
    s->shots_dropped);
  C("argus_pipeline_embed_batches_total", "Embedder batches.",
    s->embed_batches);
  C("argus_pipeline_matches_total", "Searches that matched someone.",
    s->matches);
  C("argus_pipeline_alerts_total", "Alerts raised.", s->alerts);
  C("argus_pipeline_alerts_suppressed_total",
    "Matches not alerted (same track, cooldown).", s->suppressed);
  C("argus_pipeline_alerts_stored_total", "Alerts stored.", s->alerts_stored);
  C("argus_pipeline_alerts_delayed_total",
    "Alerts stored late (waited in the spool).", s->alerts_delayed);
  C("argus_pipeline_alerts_lost_total", "Alerts never stored.", s->alerts_lost);
  C("argus_pipeline_alerts_dropped_total", "Alerts dropped (queue full).",
    s->alerts_dropped);
  C("argus_pipeline_store_errors_total", "Store sink errors.", s->store_errors);
  C("argus_pipeline_events_dropped_total",
    "Events dropped by full queues between the stages.", s->events_dropped);
  C("argus_pipeline_reloads_total", "Watchlist reloads.", s->reloads);
  C("argus_pipeline_alerts_suppressed_negative_total",
    "Matches not alerted: the probe was nearer a negative example of the "
    "person (verdict feedback).",
    s->suppressed_negative);
  C("argus_pipeline_alerts_marked_total",
    "Alerts raised marked: the probe was nearer a negative example of the "
    "person.",
    s->marked_negative);
  C("argus_pipeline_candidates_withheld_review_total",
    "Search candidates left out: the person's review-by date had passed.",
    s->withheld_review);
#undef C
#undef G
  api_prom_family(p, "argus_queue_depth", "gauge",
                  "Items waiting now, by queue: frames (video rings), shots "
                  "(embedder), alerts (store sink queue), spool (alerts "
                  "waiting for the database).");
  static const char *const names[4] = {"frames", "shots", "alerts", "spool"};
  int depth[4] = {s->frames_queued, s->shots_queued, s->alerts_queued,
                  s->alerts_spooled};
  for (int i = 0; i < 4; i++) {
    api_prom_begin(p, "argus_queue_depth");
    api_prom_label(p, "queue", names[i]);
    api_prom_u64(p, depth[i] > 0 ? (uint64_t)depth[i] : 0);
  }
  argus_pipeline_histogram hd, he, hl;
  if (argus_pipeline_histograms(pl, &hd, &he, &hl) == ARGUS_OK) {
    api_prom_histogram(p, "argus_detect_seconds",
                       "Analysis of one frame: conversion, detection, "
                       "landmarks, quality.",
                       &hd);
    api_prom_histogram(p, "argus_embed_seconds",
                       "Embedding of one shot (batch time / batch size).", &he);
    api_prom_histogram(p, "argus_alert_latency_seconds",
                       "Capture of the frame to the stored alert's "
                       "publication.",
                       &hl);
  }
}

static void write_store(api_prom *p, argus_store *st) {
  int64_t alerts[3], decisions[3];
  argus_store_error se = {{0}};
  if (argus_store_alert_counts(st, alerts, decisions, &se) != ARGUS_OK) {
    argus_log(ARGUS_LOG_WARN, API_MOD, "metrics: alert counts: %s", se.msg);
    return;
  }
  api_prom_family(p, "argus_alerts", "gauge", "Stored alerts by status.");
  for (int i = 0; i < 3; i++) {
    api_prom_begin(p, "argus_alerts");
    api_prom_label(p, "status", argus_alert_status_name((argus_alert_status)i));
    api_prom_u64(p, alerts[i] > 0 ? (uint64_t)alerts[i] : 0);
  }
  api_prom_family(p, "argus_decisions", "gauge",
                  "Stored operator decisions by outcome.");
  for (int i = ARGUS_ALERT_CONFIRMED; i <= ARGUS_ALERT_REJECTED; i++) {
    api_prom_begin(p, "argus_decisions");
    api_prom_label(p, "decision",
                   argus_alert_status_name((argus_alert_status)i));
    api_prom_u64(p, decisions[i] > 0 ? (uint64_t)decisions[i] : 0);
  }
}

/* HTTP counters: collected first (the server calls back under its lock),
 * then written as two families. */
typedef struct http_row {
  char method[8], route[96];
  int status;
  uint64_t count;
  double seconds;
} http_row;

typedef struct http_rows {
  http_row *v;
  size_t n, cap;
  int oom;
} http_rows;

static void http_collect(void *user, const char *method, const char *pattern,
                         int status, uint64_t count, double seconds_sum) {
  http_rows *rows = user;
  if (rows->oom)
    return;
  if (rows->n == rows->cap) {
    size_t cap = rows->cap ? rows->cap * 2 : 64;
    http_row *v = realloc(rows->v, cap * sizeof *v);
    if (!v) {
      rows->oom = 1;
      return;
    }
    rows->v = v;
    rows->cap = cap;
  }
  http_row *r = &rows->v[rows->n++];
  snprintf(r->method, sizeof r->method, "%s", method ? method : "");
  snprintf(r->route, sizeof r->route, "%s", pattern ? pattern : "-");
  r->status = status;
  r->count = count;
  r->seconds = seconds_sum;
}

static void write_http(api_prom *p, api_server *srv) {
  http_rows rows = {0};
  api_http_counters(srv, http_collect, &rows);
  for (int pass = 0; pass < 2; pass++) {
    const char *name =
        pass ? "argus_http_request_seconds_total" : "argus_http_requests_total";
    api_prom_family(p, name, "counter",
                    pass ? "Seconds spent handling requests, by method, route "
                           "and status."
                         : "HTTP requests by method, route and status.");
    for (size_t i = 0; i < rows.n; i++) {
      char status[16];
      snprintf(status, sizeof status, "%d", rows.v[i].status);
      api_prom_begin(p, name);
      api_prom_label(p, "method", rows.v[i].method);
      api_prom_label(p, "route", rows.v[i].route);
      api_prom_label(p, "status", status);
      if (pass)
        api_prom_f64(p, rows.v[i].seconds);
      else
        api_prom_u64(p, rows.v[i].count);
    }
  }
  free(rows.v);
}

/* Webhooks and MQTT (src/api/outbound.h); nothing when the module did not
 * start. */
static void write_outbound(api_prom *p, api_server *srv) {
#ifndef METRICS_OUTBOUND
  (void)p;
  (void)srv;
#else
  api_outbound *o = api_server_outbound(srv);
  if (!o)
    return;
  api_outbound_stats os;
  memset(&os, 0, sizeof os);
  api_outbound_stats_get(o, &os);
#define C(name, help, v) one(p, name, "counter", help, (double)(v), 1)
#define G(name, help, v) one(p, name, "gauge", help, (double)(v), 1)
  C("argus_webhook_delivered_total", "Webhook POSTs answered 2xx.",
    os.delivered);
  C("argus_webhook_failed_attempts_total",
    "Webhook POSTs that failed (each attempt).", os.failed_attempts);
  C("argus_webhook_deadletters_total",
    "Webhook deliveries recorded as dead letters.", os.deadletters);
  C("argus_webhook_dropped_total", "Webhook deliveries lost.", os.dropped);
  G("argus_webhook_queued", "Webhook deliveries waiting or in flight.",
    os.queued > 0 ? os.queued : 0);
  G("argus_webhooks", "Enabled webhooks.", os.webhooks);
  C("argus_mqtt_published_total", "MQTT messages the broker acknowledged.",
    os.mqtt_published);
  C("argus_mqtt_errors_total", "Alerts not published to MQTT.", os.mqtt_errors);
  G("argus_mqtt_connected", "1 while connected to the MQTT broker.",
    os.mqtt_connected);
#undef C
#undef G
#endif
}

API_HANDLER(api_h_metrics) {
  argus_store *st = api_store(r);
  if (!st)
    return; /* answered 503 */
  api_prom p;
  api_prom_init(&p);
  argus_pipeline *pl = api_pipeline(r->srv);
  if (pl) {
    argus_pipeline_stats s;
    memset(&s, 0, sizeof s);
    int n = 0;
    argus_pipeline_camera_stats *cams = NULL;
    argus_err rc = argus_pipeline_get_stats(pl, &s, NULL, 0, &n);
    if (rc == ARGUS_OK && n > 0) {
      /* Room for a few cameras added meanwhile. */
      int cap = n + 8;
      cams = calloc((size_t)cap, sizeof *cams);
      if (cams && argus_pipeline_get_stats(pl, &s, cams, cap, &n) == ARGUS_OK) {
        if (n > cap)
          n = cap;
      } else {
        n = 0;
      }
    }
    if (rc == ARGUS_OK) {
      write_cameras(&p, cams, cams ? n : 0);
      write_pipeline(&p, &s, pl);
    }
    free(cams);
  }
  write_store(&p, st);
  write_http(&p, r->srv);
  write_outbound(&p, r->srv);
  if (p.oom) {
    api_prom_free(&p);
    api_reply_error(r, 500, "internal", "out of memory");
    return;
  }
  api_reply_bytes(r, 200, "text/plain; version=0.0.4; charset=utf-8", p.buf,
                  p.n, 1);
}
