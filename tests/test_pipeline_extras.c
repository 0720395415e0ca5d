/* What the operator service (argus serve, issue 11) asks of the live
 * pipeline, on a real video with real models:
 *
 *   - histograms (argus_pipeline_histograms): detection time per analysed
 *     frame, embedding time per embedded shot, capture-to-alert latency;
 *     their counts follow the frames analysed, the shots embedded and the
 *     alerts published; buckets cumulative;
 *   - camera snapshots (argus_pipeline_camera_snapshot): NOT_FOUND for an
 *     unknown camera and before the first frame, then a JPEG of the current
 *     frame scaled to the asked width (aspect kept), decodable; full size
 *     with max_width 0; NOT_FOUND once the file has ended;
 *   - match details: face events carry the track's first-seen media time,
 *     alerts that and the enrolled photo whose template matched; the stored
 *     alert keeps threshold, photo id and track start.
 *
 * hamilton_clip_10s.mp4 played in real time with lin-manuel-miranda.png
 * enrolled. Skips (77) without the models or ../shared/data. */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "argus/bus.h"
#include "argus/face.h"
#include "argus/gallery.h"
#include "argus/pipeline.h"
#include "argus/store.h"
#include "check.h"

static const char *g_models;
static char g_video[1024], g_stills[1024], g_tmp[256];

static double now_s(void) { return (double)argus_time_ns() * 1e-9; }

static void sleep_s(double s) {
  struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

/* Enrols `person` from `photo` into watchlist `wl` of a fresh database;
 * *photo_id receives the enrolled photo's id. Returns 0 on success. */
static int enrol(argus_face_engine *eng, const char *db, const char *wl,
                 const char *person, const char *photo,
                 argus_store_id *photo_id) {
  argus_store *s = NULL;
  argus_store_error se = {{0}};
  argus_err rc = argus_store_open(db, NULL, &s, &se);
  CHECK_OK(rc);
  if (rc) {
    fprintf(stderr, "%s\n", se.msg);
    return -1;
  }
  CHECK_OK(argus_store_watchlist_create(s, wl, NAN, NULL, NULL, &se));
  argus_gallery_config gc;
  argus_gallery_error ge = {{0}};
  CHECK_OK(argus_gallery_config_from_card(
      argus_face_engine_card(eng, ARGUS_FACE_MODEL_EMBEDDER), &gc, &ge));
  gc.write_only = 1;
  argus_gallery *g = NULL;
  CHECK_OK(argus_gallery_open(s, &gc, &g, &ge));
  argus_image img;
  argus_image_error ie = {{0}};
  int ok = -1;
  rc = argus_image_read_file(photo, ARGUS_PIX_RGB8, &img, &ie);
  CHECK_OK(rc);
  if (rc == ARGUS_OK && g) {
    argus_gallery_photo ph;
    argus_face_error fe = {{0}};
    CHECK_OK(argus_gallery_photo_prepare(eng, NULL, &img, NULL, &ph, &fe));
    ph.source = photo;
    argus_store_person_in pin = {person, NULL, NULL};
    argus_store_id pid = 0;
    rc = argus_gallery_person_add(g, wl, &pin, &ph, 1, &pid, &ge);
    CHECK_OK(rc);
    argus_store_photo *photos = NULL;
    size_t n = 0;
    if (rc == ARGUS_OK &&
        argus_store_photo_list(s, pid, 0, 0, &photos, &n, &se) == ARGUS_OK &&
        n == 1) {
      *photo_id = photos[0].id;
      ok = 0;
    }
    argus_store_free(photos);
    argus_gallery_photo_free(&ph);
    argus_image_free(&img);
  }
  argus_gallery_close(g);
  argus_store_close(s);
  return ok;
}

/* ---- what the bus carries ------------------------------------------------- */

#define MAX_ALERTS 64

typedef struct collector {
  pthread_mutex_t mu;
  int faces, faces_with_start;
  int alerts;
  long long alert_ids[MAX_ALERTS];
  long long photo_id[MAX_ALERTS];
  double track_start[MAX_ALERTS], media_time[MAX_ALERTS];
} collector;

/* The text after "key": in a flat JSON document ("" when absent). */
static void json_raw(const char *doc, const char *key, char *out, size_t n) {
  char pat[64];
  snprintf(pat, sizeof pat, "\"%s\":", key);
  const char *p = strstr(doc, pat);
  out[0] = '\0';
  if (!p)
    return;
  p += strlen(pat);
  size_t k = 0;
  while (*p && *p != ',' && *p != '}' && k + 1 < n)
    out[k++] = *p++;
  out[k] = '\0';
}

static double num_or_nan(const char *s) {
  return s[0] && strcmp(s, "null") != 0 ? strtod(s, NULL) : NAN;
}

static void on_msg(void *user, const argus_bus_msg *m) {
  collector *c = user;
  char v[64];
  pthread_mutex_lock(&c->mu);
  if (strcmp(m->topic, ARGUS_BUS_TOPIC_FACE) == 0) {
    c->faces++;
    json_raw(m->data, "track_start", v, sizeof v);
    if (isfinite(num_or_nan(v)))
      c->faces_with_start++;
  } else if (strcmp(m->topic, ARGUS_BUS_TOPIC_ALERT) == 0 &&
             c->alerts < MAX_ALERTS) {
    int i = c->alerts++;
    json_raw(m->data, "id", v, sizeof v);
    c->alert_ids[i] = strtoll(v, NULL, 10);
    json_raw(m->data, "photo_id", v, sizeof v);
    c->photo_id[i] = strtoll(v, NULL, 10);
    json_raw(m->data, "track_start", v, sizeof v);
    c->track_start[i] = num_or_nan(v);
    json_raw(m->data, "media_time", v, sizeof v);
    c->media_time[i] = num_or_nan(v);
  }
  pthread_mutex_unlock(&c->mu);
}

/* ---- checks ---------------------------------------------------------------- */

static void check_histogram(const char *what, const argus_pipeline_histogram *h,
                            uint64_t want_min, uint64_t want_max) {
  printf("%s: count %llu, sum %.4f s, buckets", what,
         (unsigned long long)h->count, h->sum);
  for (int i = 0; i < h->nbounds; i++)
    printf(" %g:%llu", h->le[i], (unsigned long long)h->buckets[i]);
  printf("\n");
  CHECK_INT_EQ(h->nbounds, ARGUS_EDGE_HIST_BOUNDS);
  CHECK(h->count >= want_min && h->count <= want_max);
  CHECK(h->sum > 0);
  for (int i = 1; i < h->nbounds; i++) {
    CHECK(h->le[i] > h->le[i - 1]);
    CHECK(h->buckets[i] >= h->buckets[i - 1]);
  }
  CHECK(h->buckets[h->nbounds - 1] <= h->count);
  CHECK(h->le[0] == 0.0005 && h->le[h->nbounds - 1] == 10);
}

/* A snapshot of the camera, decoded: returns the error; *w, *h its size. */
static argus_err snapshot(argus_pipeline *p, int cam, int max_width,
                          double timeout, int *w, int *h, char *msg,
                          size_t msg_n) {
  uint8_t *jpg = NULL;
  size_t n = 0;
  argus_pipeline_error err = {{0}};
  argus_err rc =
      argus_pipeline_camera_snapshot(p, cam, max_width, &jpg, &n, timeout, &err);
  if (msg)
    snprintf(msg, msg_n, "%s", err.msg);
  *w = *h = 0;
  if (rc == ARGUS_OK) {
    CHECK(jpg != NULL && n > 100);
    CHECK(jpg && jpg[0] == 0xFF && jpg[1] == 0xD8);
    argus_image img;
    argus_image_error ie = {{0}};
    argus_err dr = argus_image_decode(jpg, n, ARGUS_PIX_RGB8, &img, &ie);
    CHECK_OK(dr);
    if (dr == ARGUS_OK) {
      *w = img.width;
      *h = img.height;
      argus_image_free(&img);
    }
  } else {
    CHECK(jpg == NULL && n == 0);
  }
  free(jpg);
  return rc;
}

static void test_pipeline(argus_face_engine *eng) {
  char db[512], photo[1200], clip[1200];
  snprintf(db, sizeof db, "%s/argus.db", g_tmp);
  snprintf(photo, sizeof photo, "%s/lin-manuel-miranda.png", g_stills);
  snprintf(clip, sizeof clip, "%s/hamilton_clip_10s.mp4", g_video);
  argus_store_id photo_id = 0;
  if (enrol(eng, db, "hamilton", "Lin-Manuel Miranda", photo, &photo_id) != 0)
    return;

  argus_pipeline_parts parts;
  argus_pipeline_error err = {{0}};
  argus_err rc =
      argus_pipeline_parts_open(g_models, 0, db, "pipeline", &parts, &err);
  CHECK_OK(rc);
  if (rc) {
    fprintf(stderr, "parts: %s\n", err.msg);
    return;
  }
  argus_pipeline_config cfg;
  argus_pipeline_config_init(&cfg);
  cfg.realtime = 1; /* the camera streams for 10 s: time for snapshots */
  cfg.status_interval = 0.5;
  argus_pipeline *p = NULL;
  rc = argus_pipeline_create(&cfg, &parts, &p, &err);
  CHECK_OK(rc);
  if (rc) {
    fprintf(stderr, "pipeline: %s\n", err.msg);
    argus_pipeline_parts_close(&parts);
    return;
  }
  collector col;
  memset(&col, 0, sizeof col);
  pthread_mutex_init(&col.mu, NULL);
  argus_bus_sub_options o;
  memset(&o, 0, sizeof o);
  o.pattern = "*";
  o.handler = on_msg;
  o.user = &col;
  o.queue_msgs = 4096;
  argus_bus_sub *sub = NULL;
  CHECK_OK(argus_bus_subscribe(argus_pipeline_bus(p), &o, &sub, NULL));

  /* Nothing recorded yet. */
  argus_pipeline_histogram hd, he, hl;
  CHECK_OK(argus_pipeline_histograms(p, &hd, &he, &hl));
  CHECK(hd.count == 0 && he.count == 0 && hl.count == 0);
  CHECK_INT_EQ(argus_pipeline_histograms(NULL, &hd, NULL, NULL),
               ARGUS_E_INVALID_ARG);

  /* No such camera. */
  int w = 0, h = 0;
  char msg[256];
  CHECK_INT_EQ(snapshot(p, 3, 320, 0.1, &w, &h, msg, sizeof msg),
               ARGUS_E_NOT_FOUND);
  uint8_t *jpg = NULL;
  size_t n = 0;
  CHECK_INT_EQ(argus_pipeline_camera_snapshot(p, 0, -1, &jpg, &n, 1, &err),
               ARGUS_E_INVALID_ARG);
  CHECK_INT_EQ(argus_pipeline_camera_snapshot(p, 0, 320, &jpg, &n, -1, &err),
               ARGUS_E_INVALID_ARG);

  int cam = -1;
  CHECK_OK(argus_pipeline_add_camera(p, "stage", clip, 0, &cam, &err));
  /* Before its first frame: NOT_FOUND, saying the state. */
  rc = snapshot(p, cam, 320, 0, &w, &h, msg, sizeof msg);
  printf("snapshot at once: %s (%s)\n", argus_strerror(rc), msg);
  CHECK_INT_EQ(rc, ARGUS_E_NOT_FOUND);
  CHECK(strstr(msg, "camera 'stage' has no frame yet") != NULL);

  /* Streaming: the current frame, scaled to 320 wide, aspect kept. */
  argus_pipeline_camera_stats cs;
  argus_pipeline_stats st;
  int ncam = 0;
  double t0 = now_s();
  do {
    sleep_s(0.05);
    CHECK_OK(argus_pipeline_get_stats(p, &st, &cs, 1, &ncam));
  } while (cs.video.state != ARGUS_VIDEO_STREAMING && now_s() - t0 < 20);
  CHECK_INT_EQ(cs.video.state, ARGUS_VIDEO_STREAMING);
  double t1 = now_s();
  rc = snapshot(p, cam, 320, 5, &w, &h, msg, sizeof msg);
  printf("snapshot 320: %s %dx%d in %.0f ms (frame %dx%d) %s\n",
         argus_strerror(rc), w, h, (now_s() - t1) * 1e3, cs.video.width,
         cs.video.height, msg);
  CHECK_OK(rc);
  if (rc == ARGUS_OK && cs.video.width > 0) {
    CHECK_INT_EQ(w, 320);
    CHECK_INT_EQ(h, (int)lround((double)cs.video.height * 320 /
                                cs.video.width));
  }
  /* max_width 0 (and one wider than the frame): the frame's own size. */
  rc = snapshot(p, cam, 0, 5, &w, &h, NULL, 0);
  CHECK_OK(rc);
  if (rc == ARGUS_OK) {
    CHECK_INT_EQ(w, cs.video.width);
    CHECK_INT_EQ(h, cs.video.height);
  }
  rc = snapshot(p, cam, 8000, 5, &w, &h, NULL, 0);
  CHECK_OK(rc);
  CHECK_INT_EQ(w, cs.video.width);

  CHECK_OK(argus_pipeline_drain(p, 120));
  CHECK_OK(argus_pipeline_get_stats(p, &st, &cs, 1, &ncam));
  /* Ended: no frame to give. */
  rc = snapshot(p, cam, 320, 0.5, &w, &h, msg, sizeof msg);
  printf("snapshot after the end: %s (%s)\n", argus_strerror(rc), msg);
  CHECK_INT_EQ(rc, ARGUS_E_NOT_FOUND);
  CHECK(strstr(msg, "finished") != NULL);

  /* Histograms follow the counters. */
  CHECK_OK(argus_pipeline_histograms(p, &hd, &he, &hl));
  printf("frames analysed %llu, failed %llu, shots %llu, alerts %llu\n",
         (unsigned long long)cs.frames_analysed,
         (unsigned long long)cs.frames_failed, (unsigned long long)cs.shots,
         (unsigned long long)st.alerts);
  check_histogram("detect", &hd, cs.frames_analysed,
                  cs.frames_analysed + cs.frames_failed);
  CHECK(cs.shots >= 1);
  check_histogram("embed", &he, cs.shots, cs.shots + st.shots_dropped + 64);
  CHECK(st.alerts >= 1);
  check_histogram("alert latency", &hl, st.alerts, st.alerts);
  CHECK_INT_EQ(hl.count, st.alert_latency.count);
  /* A second look at the same figures gives the same counts. */
  argus_pipeline_histogram hd2;
  CHECK_OK(argus_pipeline_histograms(p, &hd2, NULL, NULL));
  CHECK_INT_EQ(hd2.count, hd.count);

  /* Match details on the events. */
  pthread_mutex_lock(&col.mu);
  printf("faces %d (%d with track_start), alerts %d\n", col.faces,
         col.faces_with_start, col.alerts);
  CHECK(col.faces >= 1);
  CHECK_INT_EQ(col.faces_with_start, col.faces);
  CHECK(col.alerts >= 1);
  for (int i = 0; i < col.alerts; i++) {
    printf("  alert %lld: photo %lld, track start %.3f, media time %.3f\n",
           col.alert_ids[i], col.photo_id[i], col.track_start[i],
           col.media_time[i]);
    CHECK_INT_EQ(col.photo_id[i], photo_id);
    CHECK(isfinite(col.track_start[i]) && col.track_start[i] >= 0 &&
          col.track_start[i] <= col.media_time[i] + 1e-6);
  }
  int nalerts = col.alerts;
  long long first_id = col.alert_ids[0];
  double first_start = col.track_start[0];
  pthread_mutex_unlock(&col.mu);

  argus_bus_unsubscribe(sub);
  argus_pipeline_destroy(p);
  argus_pipeline_parts_close(&parts);

  /* The stored alert keeps them (migration 4). */
  argus_store *s = NULL;
  argus_store_error se = {{0}};
  CHECK_OK(argus_store_open(db, NULL, &s, &se));
  if (s && nalerts > 0) {
    argus_store_alert a;
    CHECK_OK(argus_store_alert_get(s, first_id, &a, &se));
    printf("stored alert %lld: threshold %.4f, photo %lld, track start "
           "%.3f\n",
           (long long)a.id, a.threshold, (long long)a.photo_id, a.track_start);
    CHECK(isfinite(a.threshold) && a.threshold > 0 && a.threshold < 1);
    CHECK(a.score >= a.threshold);
    CHECK_INT_EQ(a.photo_id, photo_id);
    CHECK_NEAR(a.track_start, first_start, 1e-3, 0);
    int64_t alerts[3], decisions[3];
    CHECK_OK(argus_store_alert_counts(s, alerts, decisions, &se));
    CHECK_INT_EQ(alerts[ARGUS_ALERT_PENDING], nalerts);
    CHECK_INT_EQ(alerts[ARGUS_ALERT_CONFIRMED] + alerts[ARGUS_ALERT_REJECTED],
                 0);
    CHECK_INT_EQ(decisions[ARGUS_ALERT_CONFIRMED] +
                     decisions[ARGUS_ALERT_REJECTED],
                 0);
    CHECK_OK(argus_store_decision_add(s, first_id, "op", ARGUS_ALERT_CONFIRMED,
                                      "yes", NULL, &se));
    CHECK_OK(argus_store_alert_counts(s, alerts, NULL, &se));
    CHECK_INT_EQ(alerts[ARGUS_ALERT_PENDING], nalerts - 1);
    CHECK_INT_EQ(alerts[ARGUS_ALERT_CONFIRMED], 1);
    CHECK_OK(argus_store_alert_counts(s, NULL, decisions, &se));
    CHECK_INT_EQ(decisions[ARGUS_ALERT_CONFIRMED], 1);
    CHECK_INT_EQ(decisions[ARGUS_ALERT_REJECTED], 0);
    CHECK_INT_EQ(argus_store_alert_counts(s, NULL, NULL, &se),
                 ARGUS_E_INVALID_ARG);
  }
  argus_store_close(s);
}

int main(void) {
  g_models = getenv("ARGUS_MODELS_DIR");
  const char *shared = getenv("ARGUS_SHARED_DATA");
  if (!shared || !*shared)
    SKIP("ARGUS_SHARED_DATA is not set (../shared/data)");
  snprintf(g_video, sizeof g_video, "%s/video", shared);
  snprintf(g_stills, sizeof g_stills,
           "%s/stills/face_recognition_examples/examples", shared);
  char probe[1200];
  snprintf(probe, sizeof probe, "%s/hamilton_clip_10s.mp4", g_video);
  if (access(probe, R_OK) != 0)
    SKIP("no %s (test data absent)", probe);
  argus_face_engine_opts eo;
  memset(&eo, 0, sizeof eo);
  eo.models_dir = g_models;
  argus_face_engine *eng = NULL;
  argus_face_error fe = {{0}};
  argus_err rc = argus_face_engine_create(&eo, &eng, &fe);
  if (rc == ARGUS_E_NOT_FOUND)
    SKIP("face models not found: %s", fe.msg);
  CHECK_OK(rc);
  if (rc)
    return check_report("test_pipeline_extras");
  snprintf(g_tmp, sizeof g_tmp, "/tmp/argus-extras-XXXXXX");
  if (!mkdtemp(g_tmp)) {
    perror("mkdtemp");
    return 1;
  }
  argus_log_set_level(ARGUS_LOG_WARN);
  test_pipeline(eng);
  argus_face_engine_free(eng);
  char cmd[400];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_tmp);
  if (system(cmd) != 0)
    fprintf(stderr, "could not remove %s\n", g_tmp);
  return check_report("test_pipeline_extras");
}
