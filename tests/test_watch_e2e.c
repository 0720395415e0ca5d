/* The live pipeline end to end (src/pipeline): real models, real videos, a
 * real database and the in-process bus.
 *
 *   - hamilton_clip_10s.mp4 watched with a watchlist enrolled from
 *     lin-manuel-miranda.png: alerts for him, stored with crop and
 *     thumbnail files, published on the bus with the documented fields;
 *   - the same clip with only biden.jpg enrolled: no alert, no biometric
 *     data stored (counts only); with keep_unmatched the searched shots are
 *     stored and purged after their retention;
 *   - a truncated copy of the clip and a URL that never answers next to a
 *     good camera: errors stay with their camera, the good one alerts;
 *   - RTSP (tests/tools/rtsp_server serving the clip in a loop): alerts, the
 *     server SIGKILLed mid-stream and restarted, reconnection, alerts again;
 *   - memory: office_one_by_one_139s.mp4 looped in real time, RSS sampled
 *     (ARGUS_WATCH_SOAK_SECONDS, default 40; 0 skips).
 *
 * Enrolment uses the gallery API (the library under `argus person add`).
 * Skips (77) without the models or ../shared/data. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "argus/bus.h"
#include "argus/face.h"
#include "argus/gallery.h"
#include "argus/pipeline.h"
#include "argus/store.h"
#include "check.h"

extern char **environ;

static const char *g_models;
static char g_video[1024], g_stills[1024], g_tmp[256];

static double now_s(void) { return (double)argus_time_ns() * 1e-9; }

static void sleep_s(double s) {
  struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

/* ---- enrolment ----------------------------------------------------------- */

/* Creates watchlist `wl` in a fresh database `db` and enrols `person` from
 * the photo. Returns 0 on success. */
static int enrol(argus_face_engine *eng, const char *db, const char *wl,
                 const char *person, const char *photo) {
  argus_store *s = NULL;
  argus_store_error se = {{0}};
  argus_err rc = argus_store_open(db, NULL, &s, &se);
  CHECK_OK(rc);
  if (rc) {
    fprintf(stderr, "%s\n", se.msg);
    return -1;
  }
  argus_store_error we = {{0}};
  rc = argus_store_watchlist_create(s, wl, NAN, NULL, NULL, &we);
  if (rc == ARGUS_E_INVALID_ARG && strstr(we.msg, "already exists"))
    rc = ARGUS_OK;
  CHECK_OK(rc);
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
    CHECK_INT_EQ(ph.reason, ARGUS_GALLERY_ACCEPTED);
    ph.source = photo;
    argus_store_person_in pin = {person, NULL, NULL};
    argus_store_id pid = 0;
    rc = argus_gallery_person_add(g, wl, &pin, &ph, 1, &pid, &ge);
    CHECK_OK(rc);
    if (rc)
      fprintf(stderr, "enrol %s: %s\n", person, ge.msg);
    ok = rc == ARGUS_OK ? 0 : -1;
    argus_gallery_photo_free(&ph);
    argus_image_free(&img);
  }
  argus_gallery_close(g);
  argus_store_close(s);
  return ok;
}

/* ---- alerts from the bus -------------------------------------------------- */

#define MAX_ALERTS 256

typedef struct alert_rec {
  char doc[2048];
  char camera[64], person[128], watchlist[128], crop[1024];
  double media_time, score;
  long long id;
  double at; /* now_s() when received */
} alert_rec;

typedef struct collector {
  pthread_mutex_t mu;
  alert_rec alerts[MAX_ALERTS];
  int n;
  int faces;
  int camera_status, pipeline_status;
} collector;

/* The value of "key" in a flat JSON object: a string (unescaped simply) or
 * a number/literal as text. Returns 0 when found. */
static int json_field(const char *doc, const char *key, char *out,
                      size_t size) {
  char pat[80];
  snprintf(pat, sizeof pat, "\"%s\":", key);
  const char *p = strstr(doc, pat);
  if (!p || size == 0)
    return -1;
  p += strlen(pat);
  size_t n = 0;
  if (*p == '"') {
    p++;
    while (*p && *p != '"' && n + 1 < size) {
      if (*p == '\\' && p[1])
        p++;
      out[n++] = *p++;
    }
  } else {
    while (*p && *p != ',' && *p != '}' && n + 1 < size)
      out[n++] = *p++;
  }
  out[n] = '\0';
  return 0;
}

static void on_msg(void *user, const argus_bus_msg *m) {
  collector *c = user;
  pthread_mutex_lock(&c->mu);
  if (strcmp(m->topic, ARGUS_BUS_TOPIC_ALERT) == 0 && c->n < MAX_ALERTS) {
    alert_rec *a = &c->alerts[c->n++];
    snprintf(a->doc, sizeof a->doc, "%s", m->data);
    char v[64];
    json_field(m->data, "camera", a->camera, sizeof a->camera);
    json_field(m->data, "person", a->person, sizeof a->person);
    json_field(m->data, "watchlist", a->watchlist, sizeof a->watchlist);
    json_field(m->data, "crop", a->crop, sizeof a->crop);
    a->media_time = json_field(m->data, "media_time", v, sizeof v) == 0
                        ? atof(v)
                        : -1;
    a->score = json_field(m->data, "score", v, sizeof v) == 0 ? atof(v) : -1;
    a->id = json_field(m->data, "id", v, sizeof v) == 0 ? atoll(v) : -1;
    a->at = now_s();
  } else if (strcmp(m->topic, ARGUS_BUS_TOPIC_FACE) == 0) {
    c->faces++;
  } else if (strcmp(m->topic, ARGUS_BUS_TOPIC_CAMERA) == 0) {
    c->camera_status++;
  } else if (strcmp(m->topic, ARGUS_BUS_TOPIC_PIPELINE) == 0) {
    c->pipeline_status++;
  }
  pthread_mutex_unlock(&c->mu);
}

static argus_pipeline *start(const char *db, const char *wl, collector *col,
                             argus_bus_sub **sub, argus_pipeline_config *cfg) {
  argus_pipeline_config c;
  if (cfg) {
    c = *cfg;
  } else {
    argus_pipeline_config_init(&c);
    c.queue_frames = 64; /* files decode faster than analysis: keep all */
  }
  c.models_dir = g_models;
  c.db_path = db;
  const char *wls[1] = {wl};
  if (wl) {
    c.watchlists = wls;
    c.nwatchlists = 1;
  }
  c.status_interval = 0.5;
  argus_pipeline *p = NULL;
  argus_pipeline_error err = {{0}};
  argus_err rc = argus_pipeline_create(&c, &p, &err);
  CHECK_OK(rc);
  if (rc) {
    fprintf(stderr, "pipeline: %s\n", err.msg);
    return NULL;
  }
  memset(col, 0, sizeof *col);
  pthread_mutex_init(&col->mu, NULL);
  argus_bus_sub_options o;
  memset(&o, 0, sizeof o);
  o.pattern = "*";
  o.handler = on_msg;
  o.user = col;
  o.queue_msgs = 4096;
  CHECK_OK(argus_bus_subscribe(argus_pipeline_bus(p), &o, sub));
  return p;
}

static void stop(argus_pipeline *p, argus_bus_sub *sub) {
  argus_bus_unsubscribe(sub);
  argus_pipeline_destroy(p);
}

static int count_alerts_for(collector *c, const char *person) {
  int n = 0;
  pthread_mutex_lock(&c->mu);
  for (int i = 0; i < c->n; i++)
    n += strcmp(c->alerts[i].person, person) == 0;
  pthread_mutex_unlock(&c->mu);
  return n;
}

static long dir_files(const char *dir) {
  char cmd[1200];
  snprintf(cmd, sizeof cmd, "find '%s' -type f -name '*.jpg' 2>/dev/null | wc -l",
           dir);
  FILE *f = popen(cmd, "r");
  if (!f)
    return -1;
  long n = -1;
  if (fscanf(f, "%ld", &n) != 1)
    n = -1;
  pclose(f);
  return n;
}

/* ---- tests ------------------------------------------------------------------ */

static const char *LMM = "Lin-Manuel Miranda";

static void test_match(argus_face_engine *eng) {
  char db[512], photo[1200], clip[1200];
  snprintf(db, sizeof db, "%s/match/argus.db", g_tmp);
  snprintf(photo, sizeof photo, "%s/lin-manuel-miranda.png", g_stills);
  snprintf(clip, sizeof clip, "%s/hamilton_clip_10s.mp4", g_video);
  if (enrol(eng, db, "hamilton", LMM, photo) != 0)
    return;
  collector col;
  argus_bus_sub *sub = NULL;
  argus_pipeline *p = start(db, "hamilton", &col, &sub, NULL);
  if (!p)
    return;
  int cam = -1;
  argus_pipeline_error err = {{0}};
  CHECK_OK(argus_pipeline_add_camera(p, "stage", clip, 0, &cam, &err));
  double t0 = now_s();
  CHECK_OK(argus_pipeline_drain(p, 300));
  double dt = now_s() - t0;
  argus_pipeline_stats st;
  argus_pipeline_camera_stats cs;
  int ncam = 0;
  CHECK_OK(argus_pipeline_get_stats(p, &st, &cs, 1, &ncam));
  printf("match: %.1f s for the clip: %llu frames analysed, %llu faces, %llu "
         "tracks (%llu confirmed), %llu shots searched, %llu matches, %llu "
         "alerts; detect %.1f ms/frame; alert latency p50 %.0f ms p99 %.0f "
         "ms\n",
         dt, (unsigned long long)cs.frames_analysed,
         (unsigned long long)cs.faces, (unsigned long long)cs.tracks,
         (unsigned long long)cs.tracks_confirmed, (unsigned long long)cs.shots,
         (unsigned long long)cs.matches, (unsigned long long)cs.alerts,
         st.detect_ms, st.alert_latency.p50 * 1e3,
         st.alert_latency.p99 * 1e3);
  CHECK_INT_EQ(ncam, 1);
  CHECK_INT_EQ(cs.video.state, ARGUS_VIDEO_FINISHED);
  CHECK(cs.frames_analysed >= 45 && cs.frames_analysed <= 52); /* 10 s, 5 fps */
  CHECK_INT_EQ(cs.video.frames_dropped, 0);
  CHECK(cs.faces > 20);
  CHECK(cs.shots >= 1);
  CHECK(cs.shots < cs.faces); /* best shots, not every face */
  int nlmm = count_alerts_for(&col, LMM);
  CHECK(nlmm >= 1);
  CHECK_INT_EQ(col.n, nlmm); /* nobody else is enrolled */
  CHECK_INT_EQ(st.alerts, (uint64_t)col.n);
  CHECK_INT_EQ(st.alerts_stored, (uint64_t)col.n);
  CHECK_INT_EQ(st.store_errors, 0);
  CHECK_INT_EQ(st.alert_latency.count, (uint64_t)col.n);
  CHECK(col.faces >= (int)cs.shots);
  CHECK(col.camera_status >= 1 && col.pipeline_status >= 1);
  for (int i = 0; i < col.n; i++) {
    alert_rec *a = &col.alerts[i];
    printf("  alert %lld: %s\n", a->id, a->doc);
    CHECK(strcmp(a->camera, "stage") == 0);
    CHECK(strcmp(a->watchlist, "hamilton") == 0);
    CHECK(a->id > 0);
    CHECK(a->media_time >= 0 && a->media_time <= 10.1);
    CHECK(a->score > 0.3 && a->score <= 1.0);
    struct stat sb;
    CHECK(a->crop[0] && stat(a->crop, &sb) == 0 && sb.st_size > 500);
    /* The documented fields. */
    static const char *keys[] = {"\"id\":",     "\"camera\":", "\"time\":",
                                 "\"media_time\":", "\"track\":",
                                 "\"watchlist\":", "\"person\":",
                                 "\"score\":", "\"crop\":", "\"thumb\":",
                                 "\"v\":1", "\"type\":\"alert\""};
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
      CHECK(strstr(a->doc, keys[k]) != NULL);
  }
  stop(p, sub);

  /* The database has the alerts with both files. */
  argus_store *s = NULL;
  CHECK_OK(argus_store_open(db, NULL, &s, NULL));
  if (s) {
    argus_store_alert *al = NULL;
    size_t n = 0;
    CHECK_OK(argus_store_alert_list(s, NULL, &al, &n, NULL));
    CHECK_INT_EQ(n, (size_t)nlmm);
    for (size_t i = 0; i < n; i++) {
      CHECK(strcmp(al[i].person, LMM) == 0);
      CHECK(strcmp(al[i].camera, "stage") == 0);
      CHECK(al[i].crop_sha256[0] && al[i].thumb_sha256[0]);
      void *data = NULL;
      size_t size = 0;
      CHECK_OK(argus_store_crop_read(s, al[i].thumb_sha256, &data, &size, NULL));
      /* A JPEG of the frame thumbnail. */
      argus_image th;
      if (data && argus_image_decode(data, size, ARGUS_PIX_RGB8, &th, NULL) ==
                      ARGUS_OK) {
        CHECK_INT_EQ(th.width, 320);
        CHECK_INT_EQ(th.height, 180);
        argus_image_free(&th);
      } else {
        CHECK(0);
      }
      argus_store_free(data);
    }
    argus_store_free(al);
    int64_t nu = -1;
    CHECK_OK(argus_store_unmatched_count(s, &nu, NULL));
    CHECK_INT_EQ(nu, 0);
    argus_store_check_report rep;
    CHECK_OK(argus_store_check(s, 1, &rep, NULL));
    CHECK_INT_EQ(rep.problems, 0);
    argus_store_close(s);
  }
}

/* Only Biden enrolled: the clip gives no alert and leaves no face data. */
static void test_not_enrolled(argus_face_engine *eng, int keep) {
  char db[512], photo[1200], clip[1200], crops[600];
  snprintf(db, sizeof db, "%s/%s/argus.db", g_tmp, keep ? "keep" : "biden");
  snprintf(crops, sizeof crops, "%s/%s/crops", g_tmp, keep ? "keep" : "biden");
  snprintf(photo, sizeof photo, "%s/biden.jpg", g_stills);
  snprintf(clip, sizeof clip, "%s/hamilton_clip_10s.mp4", g_video);
  if (enrol(eng, db, "politics", "Joe Biden", photo) != 0)
    return;
  long files_before = dir_files(crops);
  argus_pipeline_config cfg;
  argus_pipeline_config_init(&cfg);
  cfg.queue_frames = 64;
  cfg.keep_unmatched = keep ? 1.5 : 0;
  collector col;
  argus_bus_sub *sub = NULL;
  argus_pipeline *p = start(db, NULL, &col, &sub, &cfg);
  if (!p)
    return;
  CHECK_OK(argus_pipeline_add_camera(p, "stage", clip, 0, NULL, NULL));
  CHECK_OK(argus_pipeline_drain(p, 300));
  argus_pipeline_stats st;
  CHECK_OK(argus_pipeline_get_stats(p, &st, NULL, 0, NULL));
  printf("%s: %llu faces, %llu shots searched, %llu matches, %llu alerts, "
         "%llu unmatched kept\n",
         keep ? "keep-unmatched" : "not enrolled",
         (unsigned long long)st.faces, (unsigned long long)st.shots,
         (unsigned long long)st.matches, (unsigned long long)st.alerts,
         (unsigned long long)st.unmatched_stored);
  CHECK(st.shots >= 1);
  CHECK_INT_EQ(st.matches, 0);
  CHECK_INT_EQ(st.alerts, 0);
  CHECK_INT_EQ(col.n, 0);
  CHECK(col.faces >= 1); /* face events: counts, no biometric data */
  argus_store *s = NULL;
  CHECK_OK(argus_store_open(db, NULL, &s, NULL));
  int64_t nu = -1;
  if (s)
    CHECK_OK(argus_store_unmatched_count(s, &nu, NULL));
  if (!keep) {
    CHECK_INT_EQ(st.unmatched_stored, 0);
    CHECK_INT_EQ(nu, 0);
    /* Only the enrolment photo's crop is on disk. */
    CHECK_INT_EQ(dir_files(crops), files_before);
  } else {
    CHECK(st.unmatched_stored >= 1);
    CHECK(nu >= 1 && nu <= (int64_t)st.unmatched_stored);
    CHECK(dir_files(crops) > files_before);
    /* Retention 1.5 s: the writer purges them (and their files). */
    double t_end = now_s() + 10;
    while (now_s() < t_end) {
      if (argus_store_unmatched_count(s, &nu, NULL) == ARGUS_OK && nu == 0)
        break;
      sleep_s(0.1);
    }
    CHECK_INT_EQ(nu, 0);
    CHECK_INT_EQ(dir_files(crops), files_before);
    CHECK_OK(argus_pipeline_get_stats(p, &st, NULL, 0, NULL));
    CHECK_INT_EQ(st.unmatched_purged, st.unmatched_stored);
  }
  argus_store_close(s);
  stop(p, sub);
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
    return check_report("test_watch_e2e");
  snprintf(g_tmp, sizeof g_tmp, "/tmp/argus-watch-XXXXXX");
  if (!mkdtemp(g_tmp)) {
    perror("mkdtemp");
    return 1;
  }
  test_match(eng);
  test_not_enrolled(eng, 0);
  test_not_enrolled(eng, 1);
  argus_face_engine_free(eng);
  char cmd[400];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_tmp);
  if (system(cmd) != 0)
    fprintf(stderr, "could not remove %s\n", g_tmp);
  return check_report("test_watch_e2e");
}
