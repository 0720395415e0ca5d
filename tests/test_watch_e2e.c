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
#include <pwd.h>
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
  /* the store makes no folder for an explicit path */
  char dir[1024];
  snprintf(dir, sizeof dir, "%s", db);
  char *slash = strrchr(dir, '/');
  if (slash) {
    *slash = '\0';
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
      perror(dir);
  }
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

/* ---- alerts from the bus --------------------------------------------------
 */

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
                        ? strtod(v, NULL)
                        : -1;
    a->score =
        json_field(m->data, "score", v, sizeof v) == 0 ? strtod(v, NULL) : -1;
    a->id =
        json_field(m->data, "id", v, sizeof v) == 0 ? strtoll(v, NULL, 10) : -1;
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

static argus_pipeline_parts g_parts;

static argus_pipeline *start(const char *db, const char *wl, collector *col,
                             argus_bus_sub **sub, argus_pipeline_config *cfg) {
  argus_pipeline_config c;
  if (cfg) {
    c = *cfg;
  } else {
    argus_pipeline_config_init(&c);
    c.queue_frames = 64; /* files decode faster than analysis: keep all */
  }
  const char *wls[1] = {wl};
  if (wl) {
    c.watchlists = wls;
    c.nwatchlists = 1;
  }
  c.status_interval = 0.5;
  argus_pipeline *p = NULL;
  argus_pipeline_error err = {{0}};
  /* The usual parts (models, two store handles, gallery, bus), then the
   * stages on them; one pipeline at a time in this test. */
  argus_err rc = argus_pipeline_parts_open(g_models, 0, db, "pipeline",
                                           &g_parts, &err);
  if (rc == ARGUS_OK)
    rc = argus_pipeline_create(&c, &g_parts, &p, &err);
  CHECK_OK(rc);
  if (rc) {
    fprintf(stderr, "pipeline: %s\n", err.msg);
    argus_pipeline_parts_close(&g_parts);
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
  CHECK_OK(argus_bus_subscribe(argus_pipeline_bus(p), &o, sub, NULL));
  return p;
}

static void stop(argus_pipeline *p, argus_bus_sub *sub) {
  argus_bus_unsubscribe(sub);
  argus_pipeline_destroy(p);
  argus_pipeline_parts_close(&g_parts);
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
  snprintf(cmd, sizeof cmd,
           "find '%s' -type f -name '*.jpg' 2>/dev/null | wc -l", dir);
  FILE *f = popen(cmd, "r");
  if (!f)
    return -1;
  long n = -1;
  if (fscanf(f, "%ld", &n) != 1)
    n = -1;
  pclose(f);
  return n;
}

/* ---- tests ------------------------------------------------------------------
 */

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
         st.detect_ms_avg, st.alert_latency.p50 * 1e3,
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
  /* Status documents come every 0.5 s: a clip analysed faster than that
   * may end before the first; they keep coming while the pipeline runs. */
  int cstat = 0, pstat = 0;
  for (double t_end = now_s() + 3; now_s() < t_end; sleep_s(0.05)) {
    pthread_mutex_lock(&col.mu);
    cstat = col.camera_status;
    pstat = col.pipeline_status;
    pthread_mutex_unlock(&col.mu);
    if (cstat >= 1 && pstat >= 1)
      break;
  }
  CHECK(cstat >= 1 && pstat >= 1);
  for (int i = 0; i < col.n; i++) {
    alert_rec *a = &col.alerts[i];
    printf("  alert %lld: %s\n", a->id, a->doc);
    CHECK(strcmp(a->camera, "stage") == 0);
    CHECK(strcmp(a->watchlist, "hamilton") == 0);
    CHECK(a->id > 0);
    CHECK(a->media_time >= 0 && a->media_time <= 10.1);
    CHECK(a->score > 0.3 && a->score <= 1.0);
    /* The crop travels by its hash (the store's key), never by path. */
    CHECK_INT_EQ(strlen(a->crop), 64);
    /* The documented fields. */
    static const char *keys[] = {
        "\"id\":",    "\"camera\":",    "\"time\":",   "\"media_time\":",
        "\"track\":", "\"watchlist\":", "\"person\":", "\"score\":",
        "\"crop\":",  "\"thumb\":",     "\"v\":2",     "\"type\":\"alert\""};
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
    /* Each published crop hash is a stored crop, read through the audited
     * store call. */
    for (int i = 0; i < col.n; i++) {
      void *cd = NULL;
      size_t cn = 0;
      CHECK_OK(argus_store_crop_read(s, col.alerts[i].crop, &cd, &cn, NULL));
      CHECK(cn > 500);
      argus_store_free(cd);
    }
    for (size_t i = 0; i < n; i++) {
      CHECK(strcmp(al[i].person, LMM) == 0);
      CHECK(strcmp(al[i].camera, "stage") == 0);
      CHECK(al[i].crop_sha256[0] && al[i].thumb_sha256[0]);
      void *data = NULL;
      size_t size = 0;
      CHECK_OK(
          argus_store_crop_read(s, al[i].thumb_sha256, &data, &size, NULL));
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
         keep ? "keep-unmatched" : "not enrolled", (unsigned long long)st.faces,
         (unsigned long long)st.shots, (unsigned long long)st.matches,
         (unsigned long long)st.alerts,
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
    /* On a loaded machine the 1.5 s retention may already have run: read the
       rows and files first, then the purge counter, so that "nothing purged
       yet" proves the rows and files were there when counted. */
    long files_now = dir_files(crops);
    argus_pipeline_stats st2;
    CHECK_OK(argus_pipeline_get_stats(p, &st2, NULL, 0, NULL));
    if (st2.unmatched_purged == 0 && (nu < 1 || files_now <= files_before)) {
      /* The purge commits before it counts: let a counter in flight land. */
      sleep_s(0.5);
      CHECK_OK(argus_pipeline_get_stats(p, &st2, NULL, 0, NULL));
    }
    if (st2.unmatched_purged == 0) {
      CHECK(nu >= 1 && nu <= (int64_t)st.unmatched_stored);
      CHECK(files_now > files_before);
    } else {
      printf("keep-unmatched: %llu already purged when first counted\n",
             (unsigned long long)st2.unmatched_purged);
      CHECK(nu >= 0 && nu <= (int64_t)st.unmatched_stored);
    }
    /* Retention 1.5 s: the writer purges them (rows, then files). */
    double t_end = now_s() + 10;
    long files = -1;
    while (now_s() < t_end) {
      CHECK_OK(argus_pipeline_get_stats(p, &st, NULL, 0, NULL));
      files = dir_files(crops);
      if (argus_store_unmatched_count(s, &nu, NULL) == ARGUS_OK && nu == 0 &&
          files == files_before && st.unmatched_purged == st.unmatched_stored)
        break;
      sleep_s(0.1);
    }
    CHECK_INT_EQ(nu, 0);
    CHECK_INT_EQ(files, files_before);
    CHECK_INT_EQ(st.unmatched_purged, st.unmatched_stored);
  }
  argus_store_close(s);
  stop(p, sub);
}

/* ---- the command line ------------------------------------------------------
 */

/* `argus watch --json` on the clip: one JSON line per alert on stdout with
 * the documented keys; a camera that is neither stored nor a URL is a usage
 * error (2). Uses the database of test_match. */
static void test_cli(void) {
  const char *cli = getenv("ARGUS_CLI");
  if (!cli || access(cli, X_OK) != 0) {
    printf("SKIP cli: ARGUS_CLI is not set\n");
    return;
  }
  char db[512], clip[1200], cmd[4096];
  snprintf(db, sizeof db, "%s/match/argus.db", g_tmp);
  snprintf(clip, sizeof clip, "%s/hamilton_clip_10s.mp4", g_video);
  snprintf(cmd, sizeof cmd,
           "'%s' watch --db '%s' --models '%s' --json --quiet-status "
           "--watchlist hamilton '%s'",
           cli, db, g_models ? g_models : "models", clip);
  FILE *f = popen(cmd, "r");
  CHECK(f != NULL);
  if (!f)
    return;
  char line[4096];
  int lines = 0, good = 0;
  while (fgets(line, sizeof line, f)) {
    lines++;
    static const char *keys[] = {"{\"id\":",
                                 "\"camera\":",
                                 "\"time\":",
                                 "\"media_time\":",
                                 "\"track\":",
                                 "\"watchlist\":\"hamilton\"",
                                 "\"person\":\"Lin-Manuel Miranda\"",
                                 "\"score\":",
                                 "\"crop\":\"/"};
    int ok = 1;
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
      ok &= strstr(line, keys[k]) != NULL;
    good += ok;
  }
  int st = pclose(f);
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  CHECK(lines >= 1);
  CHECK_INT_EQ(good, lines);
  snprintf(cmd, sizeof cmd,
           "'%s' watch --db '%s' --models '%s' no-such-camera 2>/dev/null", cli,
           db, g_models ? g_models : "models");
  st = system(cmd);
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 2);
  printf("cli: argus watch --json printed %d alert line(s)\n", lines);

  /* Its alerts are audited as "cli:<login name>", like every other
   * command's writes (issue 10: it was a fixed "cli:watch"). */
  char want[160] = "";
  struct passwd pw, *pwr = NULL;
  char pwbuf[1024];
  if (getpwuid_r(geteuid(), &pw, pwbuf, sizeof pwbuf, &pwr) == 0 && pwr &&
      pwr->pw_name && pwr->pw_name[0])
    snprintf(want, sizeof want,
             "\"actor\":\"cli:%s\",\"action\":\"alert.insert\"", pwr->pw_name);
  snprintf(cmd, sizeof cmd, "'%s' audit --db '%s' --json --limit 100000", cli,
           db);
  f = want[0] ? popen(cmd, "r") : NULL;
  if (!f) {
    printf("SKIP cli audit actor: no password entry\n");
    return;
  }
  static char audit[1 << 20];
  size_t na = fread(audit, 1, sizeof audit - 1, f);
  audit[na] = '\0';
  st = pclose(f);
  CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
  CHECK(strstr(audit, want) != NULL);
  CHECK(strstr(audit, "\"actor\":\"cli:watch\"") == NULL);
}

/* ---- enrolment while watching ---------------------------------------------
 */

/* A person enrolled by another store handle (as `argus person add` in
 * another process) while the pipeline runs is matched without a restart;
 * a watchlist.change document on the bus reloads at once. */
static void test_reload(argus_face_engine *eng) {
  char db[512], photo[1200], clip[1200];
  snprintf(db, sizeof db, "%s/reload/argus.db", g_tmp);
  snprintf(photo, sizeof photo, "%s/biden.jpg", g_stills);
  snprintf(clip, sizeof clip, "%s/hamilton_clip_10s.mp4", g_video);
  if (enrol(eng, db, "politics", "Joe Biden", photo) != 0)
    return;
  argus_pipeline_config cfg;
  argus_pipeline_config_init(&cfg);
  cfg.realtime = 1;
  cfg.loop = 1;
  cfg.cooldown = 1;
  collector col;
  argus_bus_sub *sub = NULL;
  argus_pipeline *p = start(db, NULL, &col, &sub, &cfg);
  if (!p)
    return;
  CHECK_OK(argus_pipeline_add_camera(p, "stage", clip, 0, NULL, NULL));
  argus_pipeline_stats st;
  CHECK_OK(argus_pipeline_get_stats(p, &st, NULL, 0, NULL));
  CHECK_INT_EQ(st.templates, 1);
  sleep_s(1.0);
  snprintf(photo, sizeof photo, "%s/lin-manuel-miranda.png", g_stills);
  double t0 = now_s();
  CHECK_INT_EQ(enrol(eng, db, "hamilton", LMM, photo), 0);
  while (now_s() - t0 < 15) {
    CHECK_OK(argus_pipeline_get_stats(p, &st, NULL, 0, NULL));
    if (st.templates == 2)
      break;
    sleep_s(0.1);
  }
  double seen = now_s() - t0;
  CHECK_INT_EQ(st.templates, 2);
  while (count_alerts_for(&col, LMM) < 1 && now_s() - t0 < 40)
    sleep_s(0.1);
  double alerted = now_s() - t0;
  CHECK(count_alerts_for(&col, LMM) >= 1);
  /* The bus route. */
  uint64_t before = st.reloads;
  const char *doc = "{\"v\":1,\"type\":\"watchlist.change\","
                    "\"watchlist\":\"hamilton\",\"action\":\"person.add\"}";
  CHECK_OK(argus_bus_publish(argus_pipeline_bus(p), ARGUS_BUS_TOPIC_WATCHLIST,
                             "wl-test-1", doc, strlen(doc)));
  double t1 = now_s();
  while (now_s() - t1 < 5) {
    CHECK_OK(argus_pipeline_get_stats(p, &st, NULL, 0, NULL));
    if (st.reloads > before)
      break;
    sleep_s(0.05);
  }
  CHECK(st.reloads > before);
  printf("reload: the new person was loaded %.1f s after the enrolment and "
         "alerted %.1f s after it; a watchlist.change document reloaded in "
         "%.2f s\n",
         seen, alerted, now_s() - t1);
  stop(p, sub);
}

/* ---- errors of one camera
 * ----------------------------------------------------- */

/* A listening socket that never accepts: TCP connects, nothing answers. */
static int silent_listener(int *port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    return -1;
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 4) != 0 ||
      getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
    close(fd);
    return -1;
  }
  *port = ntohs(a.sin_port);
  return fd;
}

static int copy_prefix(const char *src, const char *dst, double fraction) {
  FILE *in = fopen(src, "rb");
  if (!in)
    return -1;
  fseek(in, 0, SEEK_END);
  long n = ftell(in);
  fseek(in, 0, SEEK_SET);
  long keep = (long)(n * fraction);
  FILE *out = fopen(dst, "wb");
  if (!out) {
    fclose(in);
    return -1;
  }
  char buf[65536];
  long done = 0;
  while (done < keep) {
    size_t want = (size_t)(keep - done < (long)sizeof buf ? keep - done
                                                          : (long)sizeof buf);
    size_t got = fread(buf, 1, want, in);
    if (got == 0 || fwrite(buf, 1, got, out) != got)
      break;
    done += (long)got;
  }
  fclose(in);
  fclose(out);
  return done == keep ? 0 : -1;
}

static argus_pipeline_camera_stats cam_stats(argus_pipeline *p, int index) {
  static argus_pipeline_camera_stats cs[8];
  argus_pipeline_stats st;
  int n = 0;
  argus_pipeline_camera_stats out;
  memset(&out, 0, sizeof out);
  if (argus_pipeline_get_stats(p, &st, cs, 8, &n) == ARGUS_OK)
    for (int i = 0; i < n && i < 8; i++)
      if (cs[i].index == index)
        out = cs[i];
  return out;
}

/* A truncated file and a URL that never answers next to the good clip. */
static void test_camera_errors(void) {
  char db[512], clip[1200], bad[600], silent[128];
  snprintf(db, sizeof db, "%s/match/argus.db", g_tmp); /* LMM enrolled */
  snprintf(clip, sizeof clip, "%s/hamilton_clip_10s.mp4", g_video);
  snprintf(bad, sizeof bad, "%s/truncated.mp4", g_tmp);
  CHECK_OK(copy_prefix(clip, bad, 0.4));
  int port = 0;
  int lfd = silent_listener(&port);
  CHECK(lfd >= 0);
  snprintf(silent, sizeof silent, "rtsp://127.0.0.1:%d/never", port);
  argus_pipeline_config cfg;
  argus_pipeline_config_init(&cfg);
  cfg.queue_frames = 64;
  cfg.open_timeout = 1;
  collector col;
  argus_bus_sub *sub = NULL;
  argus_pipeline *p = start(db, "hamilton", &col, &sub, &cfg);
  if (!p) {
    close(lfd);
    return;
  }
  int c_bad = -1, c_silent = -1, c_good = -1;
  double t0 = now_s();
  CHECK_OK(argus_pipeline_add_camera(p, "broken", bad, 0, &c_bad, NULL));
  CHECK_OK(argus_pipeline_add_camera(p, "silent", silent, 0, &c_silent, NULL));
  CHECK_OK(argus_pipeline_add_camera(p, "stage", clip, 0, &c_good, NULL));
  /* Bad input at the API edge: refused, nothing started. */
  CHECK_INT_EQ(argus_pipeline_add_camera(p, "x", "", 0, NULL, NULL),
               ARGUS_E_INVALID_ARG);
  CHECK_INT_EQ(argus_pipeline_add_camera(p, "x", clip, -1, NULL, NULL),
               ARGUS_E_INVALID_ARG);
  argus_pipeline_camera_stats g, b, s;
  double t_end = now_s() + 120;
  for (;;) {
    g = cam_stats(p, c_good);
    s = cam_stats(p, c_silent);
    if ((g.video.state == ARGUS_VIDEO_FINISHED && !g.video.frames_queued &&
         !g.video.frames_held && count_alerts_for(&col, LMM) && g.shots > 0 &&
         s.video.errors > 0) ||
        now_s() > t_end)
      break;
    sleep_s(0.1);
  }
  double dt = now_s() - t0;
  sleep_s(0.5);
  g = cam_stats(p, c_good);
  b = cam_stats(p, c_bad);
  s = cam_stats(p, c_silent);
  printf("camera errors: good clip done in %.1f s with %d alerts; broken: %s "
         "'%s'; silent: %s, %llu errors, '%s'\n",
         dt, count_alerts_for(&col, LMM), argus_video_state_name(b.video.state),
         b.video.last_error, argus_video_state_name(s.video.state),
         (unsigned long long)s.video.errors, s.video.last_error);
  CHECK(count_alerts_for(&col, LMM) >= 1);
  CHECK_INT_EQ(g.video.state, ARGUS_VIDEO_FINISHED);
  CHECK(g.frames_analysed >= 45);
  CHECK_INT_EQ(b.video.state, ARGUS_VIDEO_FAILED);
  CHECK(b.video.last_error[0] != '\0');
  CHECK(s.video.state != ARGUS_VIDEO_STREAMING);
  CHECK(s.video.errors >= 1);
  CHECK_INT_EQ(s.video.connects, 0);
  CHECK(!argus_pipeline_all_ended(p)); /* the live one goes on trying */
  /* Removing the stuck camera is immediate. */
  double r0 = now_s();
  CHECK_OK(argus_pipeline_remove_camera(p, c_silent));
  CHECK(now_s() - r0 < 2.0);
  CHECK_INT_EQ(argus_pipeline_remove_camera(p, c_silent), ARGUS_E_NOT_FOUND);
  CHECK(argus_pipeline_all_ended(p));
  CHECK_OK(argus_pipeline_drain(p, 60));
  stop(p, sub);
  close(lfd);
}

/* ---- RTSP -------------------------------------------------------------------
 */

static pid_t start_rtsp_server(const char *server, const char *file, int port,
                               char *url, size_t url_size) {
  int fds[2];
  if (pipe(fds) != 0)
    return 0;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
  posix_spawn_file_actions_addclose(&fa, fds[0]);
  char port_s[16];
  snprintf(port_s, sizeof port_s, "%d", port);
  char *argv[] = {(char *)server, "--port",     port_s, "--path",
                  "/cam",         (char *)file, NULL};
  pid_t pid = 0;
  int rc = posix_spawn(&pid, server, &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  close(fds[1]);
  if (rc != 0) {
    close(fds[0]);
    return 0;
  }
  char line[256];
  size_t n = 0;
  double t_end = now_s() + 20;
  while (now_s() < t_end && n + 1 < sizeof line) {
    struct pollfd pf = {fds[0], POLLIN, 0};
    if (poll(&pf, 1, 200) <= 0)
      continue;
    if (read(fds[0], line + n, 1) <= 0 || line[n] == '\n')
      break;
    n++;
  }
  line[n] = '\0';
  close(fds[0]);
  if (strncmp(line, "READY ", 6) != 0) {
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    if (strncmp(line, "SKIP ", 5) == 0) {
      snprintf(url, url_size, "%s", line);
      return -1;
    }
    fprintf(stderr, "rtsp_server did not start: '%s'\n", line);
    return 0;
  }
  snprintf(url, url_size, "%s", line + 6);
  return pid;
}

static void test_rtsp(void) {
  const char *server = getenv("ARGUS_RTSP_SERVER");
  if (!server || !*server || access(server, X_OK) != 0) {
    printf("SKIP rtsp: no test server (ARGUS_RTSP_SERVER; the build needs "
           "libgstrtspserver-1.0-dev)\n");
    return;
  }
  char db[512], clip[1200], url[256];
  snprintf(db, sizeof db, "%s/match/argus.db", g_tmp);
  snprintf(clip, sizeof clip, "%s/hamilton_clip_10s.mp4", g_video);
  int port = 0;
  int tmpfd = silent_listener(&port); /* a free port */
  if (tmpfd >= 0)
    close(tmpfd);
  pid_t pid = start_rtsp_server(server, clip, port, url, sizeof url);
  if (pid < 0) {
    printf("%s\n", url);
    return;
  }
  CHECK(pid > 0);
  if (pid <= 0)
    return;
  argus_pipeline_config cfg;
  argus_pipeline_config_init(&cfg);
  cfg.open_timeout = 5;
  cfg.read_timeout = 2;
  cfg.cooldown = 1; /* so that the same person alerts again after the cut */
  collector col;
  argus_bus_sub *sub = NULL;
  argus_pipeline *p = start(db, "hamilton", &col, &sub, &cfg);
  if (!p) {
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return;
  }
  int cam = -1;
  CHECK_OK(argus_pipeline_add_camera(p, "rtsp-stage", url, 0, &cam, NULL));
  double t0 = now_s();
  while (count_alerts_for(&col, LMM) < 1 && now_s() - t0 < 60)
    sleep_s(0.1);
  int before = count_alerts_for(&col, LMM);
  double first = now_s() - t0;
  CHECK(before >= 1);
  /* Mid-stream, the server dies without a word. */
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
  double killed = now_s();
  argus_pipeline_camera_stats c = cam_stats(p, cam);
  while (c.video.state == ARGUS_VIDEO_STREAMING && now_s() - killed < 20) {
    sleep_s(0.1);
    c = cam_stats(p, cam);
  }
  CHECK(c.video.state != ARGUS_VIDEO_STREAMING);
  double lost = now_s() - killed;
  pid = start_rtsp_server(server, clip, port, url, sizeof url);
  CHECK(pid > 0);
  double restarted = now_s();
  while (count_alerts_for(&col, LMM) <= before && now_s() - restarted < 60)
    sleep_s(0.1);
  int after = count_alerts_for(&col, LMM) - before;
  double again = now_s() - restarted;
  c = cam_stats(p, cam);
  printf("rtsp: first alert %.1f s after start; stream lost %.1f s after the "
         "kill; %d alert(s) %.1f s after the restart; reconnects %llu, "
         "errors %llu, %llu frames analysed\n",
         first, lost, after, again, (unsigned long long)c.video.reconnects,
         (unsigned long long)c.video.errors,
         (unsigned long long)c.frames_analysed);
  CHECK(after >= 1);
  CHECK(c.video.reconnects >= 1);
  CHECK_INT_EQ(c.video.state, ARGUS_VIDEO_STREAMING);
  stop(p, sub);
  if (pid > 0) {
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
  }
}

/* ---- memory -----------------------------------------------------------------
 */

static long rss_kib(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  if (!f)
    return -1;
  long size = 0, res = 0;
  int ok = fscanf(f, "%ld %ld", &size, &res) == 2;
  fclose(f);
  return ok ? res * (sysconf(_SC_PAGESIZE) / 1024) : -1;
}

/* office_one_by_one_139s.mp4 in a loop, as fast as it decodes (frames the
 * analysis cannot take are dropped by the video rings): RSS after the
 * warm-up stays flat. */
#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

static void test_memory(void) {
#ifdef UNDER_ASAN
  /* ASan keeps freed memory in quarantine and runs several times slower:
   * RSS says nothing there (LeakSanitizer checks leaks at exit). */
  printf("SKIP memory soak under AddressSanitizer\n");
  return;
#endif
  const char *env = getenv("ARGUS_WATCH_SOAK_SECONDS");
  double seconds = env ? strtod(env, NULL) : 40;
  if (!(seconds > 0)) {
    printf("SKIP memory soak (ARGUS_WATCH_SOAK_SECONDS=0)\n");
    return;
  }
  char db[512], clip[1200];
  snprintf(db, sizeof db, "%s/match/argus.db", g_tmp);
  snprintf(clip, sizeof clip, "%s/office_one_by_one_139s.mp4", g_video);
  if (access(clip, R_OK) != 0) {
    printf("SKIP memory soak: no %s\n", clip);
    return;
  }
  char stage[1200];
  snprintf(stage, sizeof stage, "%s/hamilton_clip_10s.mp4", g_video);
  argus_pipeline_config cfg;
  argus_pipeline_config_init(&cfg);
  cfg.loop = 1;
  /* Every track alerts, and the office's small faces are searched too: the
   * whole path (embedding, search, JPEG, store, bus) runs all along. */
  cfg.cooldown = 0;
  cfg.min_quality = 0.05f;
  collector col;
  argus_bus_sub *sub = NULL;
  argus_pipeline *p = start(db, NULL, &col, &sub, &cfg);
  if (!p)
    return;
  int cam = -1, cam2 = -1;
  CHECK_OK(argus_pipeline_add_camera(p, "office", clip, 0, &cam, NULL));
  CHECK_OK(argus_pipeline_add_camera(p, "stage", stage, 0, &cam2, NULL));
  double t0 = now_s(), warm = seconds / 4 < 10 ? 10 : seconds / 4;
  long rss_warm = -1, rss_max = 0, rss_first = rss_kib();
  while (now_s() - t0 < seconds + warm) {
    sleep_s(1);
    long r = rss_kib();
    if (rss_warm < 0 && now_s() - t0 >= warm)
      rss_warm = r;
    if (rss_warm >= 0 && r > rss_max)
      rss_max = r;
  }
  argus_pipeline_stats st;
  CHECK_OK(argus_pipeline_get_stats(p, &st, NULL, 0, NULL));
  argus_pipeline_camera_stats c = cam_stats(p, cam);
  printf("memory: %.0f s looping office_one_by_one (+ the hamilton clip): "
         "office %llu frames analysed (%llu dropped by the ring), %llu faces, "
         "%llu tracks, %llu shots searched; both: %llu alerts stored; RSS %ld "
         "KiB at start, %ld after %.0f s warm-up, at most %ld after (+%ld "
         "KiB)\n",
         seconds + warm, (unsigned long long)c.frames_analysed,
         (unsigned long long)c.video.frames_dropped,
         (unsigned long long)c.faces, (unsigned long long)c.tracks,
         (unsigned long long)c.shots, (unsigned long long)st.alerts_stored,
         rss_first, rss_warm, warm, rss_max, rss_max - rss_warm);
  CHECK(c.frames_analysed > 50);
  CHECK(c.faces > 20);
  CHECK(st.shots >= 2);
  CHECK(st.alerts_stored >= 2);
  CHECK_INT_EQ(st.store_errors, 0);
  CHECK(rss_warm > 0);
  /* Flat: glibc's arenas settle, nothing grows with the frames. */
  CHECK(rss_max - rss_warm < 8 * 1024);
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
  test_reload(eng);
  argus_face_engine_free(eng);
  test_cli();
  test_camera_errors();
  test_rtsp();
  test_memory();
  char cmd[400];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_tmp);
  if (system(cmd) != 0)
    fprintf(stderr, "could not remove %s\n", g_tmp);
  return check_report("test_watch_e2e");
}
