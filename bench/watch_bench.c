/* watch_bench: how many simultaneous 1080p25 camera streams the live
 * pipeline sustains on this machine at 5 analysed frames per second each
 * with no analysis drops, where the CPU goes (decode, detection, tracking,
 * embedding, matching) and the latency from frame capture to alert.
 *
 *   watch_bench [--video FILE] [--streams 1,2,4,6,8] [--seconds S]
 *               [--warmup S] [--threads N] [--fps N] [--size N] [--all]
 *               [--motion on|off] [--decode full|fast|nofilter]
 *               [--models DIR] [--json] [--api-load CMD]
 *
 * --motion: motion-gated detection (default: the pipeline's, on). The
 * models' precision comes from their cards, or ARGUS_PRECISION
 * (docs/engine.md), so that one binary measures before and after; --decode:
 * the video decode setting (default: the video module's, docs/video.md).
 *
 * Each stream is crowd_walk_1080p_4s.mp4 (H.264 1920x1080, 25 fps) looped
 * and paced in real time, like a live camera. A few people of the clip are
 * enrolled into a watchlist first (from one of its frames), with no alert
 * cooldown and a low search-quality bar, so that alerts keep coming (every
 * loop makes new tracks) and their latency can be measured. For each stream
 * count the pipeline runs `warmup` seconds, then counters are taken over
 * `seconds`: analysed frame rate per stream, frames dropped by the video
 * rings, shots dropped, CPU time by stage, alert latency from the alert
 * documents. A count passes when every stream is analysed at >= 97 % of the
 * cap and nothing was dropped. By default the counts are tried in order and
 * the run stops after the first that fails (--all: every one).
 *
 * Defaults: ../shared/data/video/crowd_walk_1080p_4s.mp4 (ARGUS_SHARED_DATA),
 * streams 1,2,4,6,8,10,12, 20 s after 6 s of warm-up.
 *
 * --api-load CMD: the operator service runs in the same process on the
 * pipeline (argus_api_start, as in `argus serve`, on 127.0.0.1 and a free
 * port, with an operator's API token), and CMD runs through the shell for
 * the measured window with ARGUS_API_URL and ARGUS_API_TOKEN in its
 * environment, e.g. wrk on GET /api/v1/alerts: the pipeline's throughput
 * while the API is under load (bench/api_bench.sh --with-pipeline). */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "argus/api.h"
#include "argus/bus.h"
#include "argus/face.h"
#include "argus/gallery.h"
#include "argus/pipeline.h"
#include "argus/store.h"
#include "argus/video.h"

#define MAX_STREAMS 64
#define MAX_LAT 100000

static double now_s(void) { return (double)argus_time_ns() * 1e-9; }

static void sleep_s(double s) {
  struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

/* ---- alert latencies --------------------------------------------------------
 */

typedef struct lat_col {
  pthread_mutex_t mu;
  int on;
  double v[MAX_LAT];
  int n;
  int alerts;
} lat_col;

static void on_alert(void *user, const argus_bus_msg *m) {
  lat_col *c = user;
  const char *p = strstr(m->data, "\"latency_ms\":");
  pthread_mutex_lock(&c->mu);
  c->alerts++;
  if (p && c->on && c->n < MAX_LAT)
    c->v[c->n++] = strtod(p + 13, NULL);
  pthread_mutex_unlock(&c->mu);
}

static int cmp_d(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double quantile(double *v, int n, double q) {
  if (n == 0)
    return 0;
  qsort(v, (size_t)n, sizeof *v, cmp_d);
  int i = (int)ceil(q * n) - 1;
  if (i < 0)
    i = 0;
  if (i >= n)
    i = n - 1;
  return v[i];
}

/* ---- enrolment from the clip
 * -------------------------------------------------- */

/* Takes the frame at about `at` seconds of the video as RGB8. */
static int grab_frame(const char *video, double at, argus_image *out) {
  argus_video_hub *hub = NULL;
  if (argus_video_hub_create(1, &hub, NULL))
    return -1;
  argus_video_camera_config c;
  argus_video_camera_config_init(&c);
  c.url = video;
  c.format = ARGUS_PIX_RGB8;
  c.queue_frames = 1;
  c.max_fps = 5;
  int cam = -1, ok = -1;
  if (argus_video_hub_add(hub, &c, &cam, NULL) == ARGUS_OK) {
    double t_end = now_s() + 30;
    while (now_s() < t_end) {
      argus_video_frame *f = NULL;
      argus_video_hub_pop(hub, 0.1, &f);
      if (!f) {
        argus_video_stats st;
        if (argus_video_hub_stats(hub, cam, &st) == ARGUS_OK &&
            (st.state == ARGUS_VIDEO_FINISHED ||
             st.state == ARGUS_VIDEO_FAILED))
          break;
        continue;
      }
      int take = f->media_time >= at;
      if (take &&
          argus_image_alloc(out, f->image.width, f->image.height,
                            ARGUS_PIX_RGB8) == ARGUS_OK &&
          argus_image_convert(&f->image, out) == ARGUS_OK)
        ok = 0;
      argus_video_frame_release(f);
      if (take)
        break;
    }
  }
  argus_video_hub_destroy(hub);
  return ok;
}

/* Enrols up to `want` people of the frame into watchlist "crowd". Returns
 * the number enrolled. */
static int enrol_from_clip(const char *models, const char *db,
                           const char *video, int want) {
  argus_face_engine_opts eo;
  memset(&eo, 0, sizeof eo);
  eo.models_dir = models;
  argus_face_engine *eng = NULL;
  argus_face_error fe = {{0}};
  if (argus_face_engine_create(&eo, &eng, &fe)) {
    fprintf(stderr, "watch_bench: models: %s\n", fe.msg);
    return -1;
  }
  argus_image frame;
  int enrolled = 0;
  argus_store *s = NULL;
  argus_gallery *g = NULL;
  if (grab_frame(video, 2.0, &frame) != 0) {
    fprintf(stderr, "watch_bench: cannot read a frame of %s\n", video);
    argus_face_engine_free(eng);
    return -1;
  }
  static argus_face faces[64];
  int nf = 0;
  if (argus_face_engine_analyze(eng, &frame, NULL,
                                ARGUS_FACE_DO_LANDMARKS | ARGUS_FACE_DO_QUALITY,
                                faces, 64, &nf, NULL, &fe))
    nf = 0;
  argus_store_error se = {{0}};
  if (argus_store_open(db, NULL, &s, &se) ||
      argus_store_watchlist_create(s, "crowd", NAN, NULL, NULL, &se)) {
    fprintf(stderr, "watch_bench: database: %s\n", se.msg);
    goto out;
  }
  argus_gallery_config gc;
  argus_gallery_error ge = {{0}};
  if (argus_gallery_config_from_card(
          argus_face_engine_card(eng, ARGUS_FACE_MODEL_EMBEDDER), &gc, &ge))
    goto out;
  gc.write_only = 1;
  if (argus_gallery_open(s, &gc, &g, &ge))
    goto out;
  for (int i = 0; i < nf && enrolled < want; i++) {
    float w = faces[i].box[2] - faces[i].box[0];
    float cx = (faces[i].box[0] + faces[i].box[2]) / 2;
    float cy = (faces[i].box[1] + faces[i].box[3]) / 2;
    float side = 2.2f * w;
    argus_image cut;
    if (argus_image_crop(&frame, (int)(cx - side / 2), (int)(cy - side / 2),
                         (int)side, (int)side, &cut))
      continue;
    argus_gallery_enrol_opts o;
    argus_gallery_enrol_opts_default(&o);
    o.pick_largest = 1;
    o.gate = 0;
    argus_gallery_photo ph;
    if (argus_gallery_photo_prepare(eng, NULL, &cut, &o, &ph, &fe) ==
            ARGUS_OK &&
        ph.reason == ARGUS_GALLERY_ACCEPTED) {
      char name[64];
      snprintf(name, sizeof name, "crowd person %d", enrolled + 1);
      ph.source = "crowd_walk frame at 2 s";
      argus_store_person_in pin = {name, NULL, NULL};
      if (argus_gallery_person_add(g, "crowd", &pin, &ph, 1, NULL, &ge) ==
          ARGUS_OK)
        enrolled++;
    }
    argus_gallery_photo_free(&ph);
    argus_image_free(&cut);
  }
out:
  argus_gallery_close(g);
  argus_store_close(s);
  argus_image_free(&frame);
  argus_face_engine_free(eng);
  return enrolled;
}

/* ---- one stream count
 * ---------------------------------------------------------- */

typedef struct result {
  int streams;
  double fps_min, fps_mean;
  uint64_t dropped, shots_dropped;
  double cores; /* CPU seconds per second */
  double decode, detect, track, embed, match, writer; /* shares of CPU */
  double detect_ms, embed_ms, batch;
  double faces_s, shots_s;
  int alerts;
  double p50, p99;
  int pass;
} result;

static argus_pipeline_camera_stats g_a[MAX_STREAMS], g_b[MAX_STREAMS];

/* An operator and an API token in the bench's database, for --api-load. */
static int api_token(const char *db, char token[ARGUS_STORE_TOKEN_MAX]) {
  argus_store *s = NULL;
  argus_store_error err = {{0}};
  argus_store_id uid = 0;
  argus_store_user u;
  if (argus_store_open(db, NULL, &s, &err) != ARGUS_OK)
    goto fail;
  if (argus_store_user_get(s, "bench-operator", &u, &err) == ARGUS_OK)
    uid = u.id;
  else if (argus_store_user_add(s, "bench-operator", "bench-operator-pw",
                                ARGUS_ROLE_OPERATOR, &uid, &err) != ARGUS_OK)
    goto fail;
  if (argus_store_token_create(s, uid, "bench", NULL, token, NULL, &err) !=
      ARGUS_OK)
    goto fail;
  argus_store_close(s);
  return 0;
fail:
  fprintf(stderr, "watch_bench: --api-load: %s\n", err.msg);
  argus_store_close(s);
  return -1;
}

/* --motion: -1 the pipeline's default, 0 off, 1 on. --decode: -1 the
 * video module's default, else argus_video_decode. */
static int g_motion = -1, g_decode = -1;

static int run_count(const char *models, const char *db, const char *video,
                     int n, int threads, double fps, int size, double warmup,
                     double seconds, const char *api_load, result *r) {
  memset(r, 0, sizeof *r);
  r->streams = n;
  argus_pipeline_config cfg;
  argus_pipeline_config_init(&cfg);
  cfg.threads = threads;
  cfg.fps = fps;
  if (size > 0)
    cfg.detect_size = size;
  cfg.realtime = 1;
  cfg.loop = 1;
  cfg.cooldown = 0;
  cfg.min_quality = 0.1f;
  cfg.publish_faces = 1;
  if (g_motion >= 0)
    cfg.motion = g_motion;
  if (g_decode >= 0)
    cfg.decode = g_decode;
  argus_pipeline *p = NULL;
  argus_pipeline_error err = {{0}};
  static argus_pipeline_parts parts;
  if (argus_pipeline_parts_open(models, 0, db, "bench", &parts, &err) ||
      argus_pipeline_create(&cfg, &parts, &p, &err)) {
    fprintf(stderr, "watch_bench: %s\n", err.msg);
    argus_pipeline_parts_close(&parts);
    return -1;
  }
  static lat_col lc;
  memset(&lc, 0, sizeof lc);
  pthread_mutex_init(&lc.mu, NULL);
  argus_bus_sub *sub = NULL;
  argus_bus_sub_options so;
  memset(&so, 0, sizeof so);
  so.pattern = ARGUS_BUS_TOPIC_ALERT;
  so.handler = on_alert;
  so.user = &lc;
  so.queue_msgs = 4096;
  argus_bus_subscribe(argus_pipeline_bus(p), &so, &sub, NULL);
  for (int i = 0; i < n; i++) {
    char name[32];
    snprintf(name, sizeof name, "cam%d", i + 1);
    if (argus_pipeline_add_camera(p, name, video, 0, NULL, &err)) {
      fprintf(stderr, "watch_bench: %s\n", err.msg);
      argus_bus_unsubscribe(sub);
      argus_pipeline_destroy(p);
      argus_pipeline_parts_close(&parts);
      return -1;
    }
  }
  argus_api *api = NULL;
  char token[ARGUS_STORE_TOKEN_MAX] = "";
  if (api_load) {
    argus_api_config ac;
    argus_api_config_init(&ac);
    ac.listen = "127.0.0.1:0";
    ac.db_path = db;
    argus_api_parts ap = {p, parts.engine, parts.gallery, parts.bus};
    argus_error_detail ae = {{0}};
    if (api_token(db, token) != 0 ||
        argus_api_start(&ac, &ap, &api, &ae) != ARGUS_OK) {
      fprintf(stderr, "watch_bench: --api-load: %s\n", ae.msg);
      argus_bus_unsubscribe(sub);
      argus_pipeline_destroy(p);
      argus_pipeline_parts_close(&parts);
      return -1;
    }
  }
  sleep_s(warmup);
  argus_pipeline_stats a, b;
  int na = 0, nb = 0;
  argus_pipeline_get_stats(p, &a, g_a, MAX_STREAMS, &na);
  pthread_mutex_lock(&lc.mu);
  lc.on = 1;
  pthread_mutex_unlock(&lc.mu);
  double t0 = now_s();
  if (api_load) {
    /* The load runs for the measured window (the command's own duration
     * should match --seconds); the window is at least --seconds. */
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", argus_api_port(api));
    setenv("ARGUS_API_URL", url, 1);
    setenv("ARGUS_API_TOKEN", token, 1);
    int rc = system(api_load);
    if (rc != 0)
      fprintf(stderr, "watch_bench: --api-load command exited with %d\n", rc);
    double left = seconds - (now_s() - t0);
    if (left > 0)
      sleep_s(left);
  } else {
    sleep_s(seconds);
  }
  argus_pipeline_get_stats(p, &b, g_b, MAX_STREAMS, &nb);
  double dt = now_s() - t0;
  pthread_mutex_lock(&lc.mu);
  lc.on = 0;
  pthread_mutex_unlock(&lc.mu);
  r->fps_min = 1e9;
  double sum = 0;
  for (int i = 0; i < nb && i < na; i++) {
    double f = (double)(g_b[i].frames_analysed - g_a[i].frames_analysed) / dt;
    if (f < r->fps_min)
      r->fps_min = f;
    sum += f;
    r->dropped += g_b[i].video.frames_dropped - g_a[i].video.frames_dropped;
    r->shots_dropped += g_b[i].shots_dropped - g_a[i].shots_dropped;
  }
  r->fps_mean = nb ? sum / nb : 0;
  double cpu = b.cpu_total - a.cpu_total;
  r->cores = cpu / dt;
  if (cpu > 0) {
    r->decode = (b.cpu_decode - a.cpu_decode) / cpu;
    r->detect = (b.cpu_detect - a.cpu_detect) / cpu;
    r->track = (b.cpu_track - a.cpu_track) / cpu;
    r->embed = (b.cpu_embed - a.cpu_embed) / cpu;
    r->match = (b.cpu_match + b.cpu_alert - a.cpu_match - a.cpu_alert) / cpu;
    r->writer = (b.cpu_writer - a.cpu_writer) / cpu;
  }
  r->detect_ms = b.detect_ms_avg;
  r->embed_ms = b.embed_ms_avg;
  r->batch = b.batch_mean_avg;
  r->faces_s = (double)(b.faces - a.faces) / dt;
  r->shots_s = (double)(b.shots - a.shots) / dt;
  pthread_mutex_lock(&lc.mu);
  r->alerts = lc.n;
  r->p50 = quantile(lc.v, lc.n, 0.50);
  r->p99 = quantile(lc.v, lc.n, 0.99);
  pthread_mutex_unlock(&lc.mu);
  r->pass =
      r->fps_min >= 0.97 * fps && r->dropped == 0 && r->shots_dropped == 0;
  argus_api_stop(api);
  argus_bus_unsubscribe(sub);
  argus_pipeline_destroy(p);
  argus_pipeline_parts_close(&parts);
  return 0;
}

static double loadavg(void) {
  double l = -1;
  FILE *f = fopen("/proc/loadavg", "r");
  if (f) {
    if (fscanf(f, "%lf", &l) != 1)
      l = -1;
    fclose(f);
  }
  return l;
}

int main(int argc, char **argv) {
  const char *models = getenv("ARGUS_MODELS_DIR");
  const char *video = NULL;
  char vbuf[2048];
  int counts[32] = {1, 2, 4, 6, 8, 10, 12}, ncounts = 7;
  double seconds = 20, warmup = 6, fps = 5;
  int threads = 0, size = 0, all = 0, json = 0;
  const char *api_load = NULL;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--video") && v) {
      video = v;
      i++;
    } else if (!strcmp(a, "--models") && v) {
      models = v;
      i++;
    } else if (!strcmp(a, "--streams") && v) {
      ncounts = 0;
      char tmp[256];
      snprintf(tmp, sizeof tmp, "%s", v);
      for (char *save = NULL, *t = strtok_r(tmp, ",", &save); t && ncounts < 32;
           t = strtok_r(NULL, ",", &save)) {
        int c = (int)strtol(t, NULL, 10);
        if (c < 1 || c > MAX_STREAMS) {
          fprintf(stderr, "watch_bench: stream count %s out of 1..%d\n", t,
                  MAX_STREAMS);
          return 2;
        }
        counts[ncounts++] = c;
      }
      i++;
    } else if (!strcmp(a, "--seconds") && v) {
      seconds = strtod(v, NULL);
      i++;
    } else if (!strcmp(a, "--warmup") && v) {
      warmup = strtod(v, NULL);
      i++;
    } else if (!strcmp(a, "--threads") && v) {
      threads = (int)strtol(v, NULL, 10);
      i++;
    } else if (!strcmp(a, "--fps") && v) {
      fps = strtod(v, NULL);
      i++;
    } else if (!strcmp(a, "--size") && v) {
      size = (int)strtol(v, NULL, 10);
      i++;
    } else if (!strcmp(a, "--motion") && v) {
      if (strcmp(v, "on") && strcmp(v, "off")) {
        fprintf(stderr, "watch_bench: --motion on|off\n");
        return 2;
      }
      g_motion = !strcmp(v, "on");
      i++;
    } else if (!strcmp(a, "--decode") && v) {
      for (int k = 0; k < 8 && g_decode < 0; k++)
        if (argus_video_decode_name(k) &&
            !strcmp(argus_video_decode_name(k), v))
          g_decode = k;
      if (g_decode < 0) {
        fprintf(stderr, "watch_bench: --decode full|fast|nofilter\n");
        return 2;
      }
      i++;
    } else if (!strcmp(a, "--all")) {
      all = 1;
    } else if (!strcmp(a, "--json")) {
      json = 1;
    } else if (!strcmp(a, "--api-load") && v) {
      api_load = v;
      i++;
    } else {
      fprintf(stderr,
              "usage: watch_bench [--video FILE] [--streams 1,2,4] [--seconds "
              "S] [--warmup S] [--threads N] [--fps N] [--size N] [--motion "
              "on|off] [--decode MODE] [--all] [--models DIR] [--json] "
              "[--api-load CMD]\n");
      return 2;
    }
  }
  if (!(seconds >= 1 && warmup >= 0 && fps > 0 && threads >= 0)) {
    fprintf(stderr,
            "watch_bench: bad --seconds, --warmup, --fps or --threads\n");
    return 2;
  }
  if (!video) {
    const char *shared = getenv("ARGUS_SHARED_DATA");
    snprintf(vbuf, sizeof vbuf, "%s/video/crowd_walk_1080p_4s.mp4",
             shared && *shared ? shared : "../shared/data");
    video = vbuf;
  }
  if (access(video, R_OK) != 0) {
    fprintf(stderr,
            "watch_bench: no video %s (set ARGUS_SHARED_DATA or "
            "--video)\n",
            video);
    return 1;
  }
  char dir[] = "/tmp/argus-watch-bench-XXXXXX";
  if (!mkdtemp(dir)) {
    perror("mkdtemp");
    return 1;
  }
  char db[128];
  snprintf(db, sizeof db, "%s/argus.db", dir);
  int enrolled = enrol_from_clip(models, db, video, 3);
  if (enrolled < 1) {
    fprintf(stderr, "watch_bench: could not enrol anybody from %s\n", video);
    return 1;
  }
  long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
  printf("watch_bench: %s looped in real time, %.0f analysed fps per stream, "
         "%d analysis threads on %ld CPUs (%s), %d persons of the clip "
         "enrolled; %.0f s per count after %.0f s warm-up; load average "
         "%.1f\n\n",
         video, fps, threads ? threads : (int)ncpu, ncpu, argus_cpu_isa_name(),
         enrolled, seconds, warmup, loadavg());
  if (!json)
    printf("streams  fps min/mean  drops  cores  decode detect track embed "
           "match writer  det ms  emb ms batch  faces/s shots/s  alerts  "
           "p50 ms  p99 ms  ok\n");
  int best = 0;
  result best_r;
  memset(&best_r, 0, sizeof best_r);
  for (int k = 0; k < ncounts; k++) {
    result r;
    if (run_count(models, db, video, counts[k], threads, fps, size, warmup,
                  seconds, api_load, &r) != 0)
      return 1;
    if (json)
      printf("{\"streams\":%d,\"fps_min\":%.2f,\"fps_mean\":%.2f,"
             "\"dropped\":%llu,\"shots_dropped\":%llu,\"cores\":%.2f,"
             "\"cpu\":{\"decode\":%.3f,\"detect\":%.3f,\"track\":%.3f,"
             "\"embed\":%.3f,\"match\":%.3f,\"writer\":%.3f},"
             "\"detect_ms\":%.1f,\"embed_ms\":%.1f,\"batch\":%.2f,"
             "\"faces_per_s\":%.1f,\"shots_per_s\":%.1f,\"alerts\":%d,"
             "\"p50_ms\":%.0f,\"p99_ms\":%.0f,\"pass\":%s,\"load\":%.1f}\n",
             r.streams, r.fps_min, r.fps_mean, (unsigned long long)r.dropped,
             (unsigned long long)r.shots_dropped, r.cores, r.decode, r.detect,
             r.track, r.embed, r.match, r.writer, r.detect_ms, r.embed_ms,
             r.batch, r.faces_s, r.shots_s, r.alerts, r.p50, r.p99,
             r.pass ? "true" : "false", loadavg());
    else
      printf("%7d  %4.1f / %4.1f  %5llu  %5.2f  %5.0f%% %5.0f%% %4.0f%% "
             "%4.0f%% %4.0f%% %5.0f%%  %6.1f  %6.1f %5.1f  %7.1f %7.1f  %6d  "
             "%6.0f  %6.0f  %s\n",
             r.streams, r.fps_min, r.fps_mean,
             (unsigned long long)(r.dropped + r.shots_dropped), r.cores,
             100 * r.decode, 100 * r.detect, 100 * r.track, 100 * r.embed,
             100 * r.match, 100 * r.writer, r.detect_ms, r.embed_ms, r.batch,
             r.faces_s, r.shots_s, r.alerts, r.p50, r.p99,
             r.pass ? "yes" : "NO");
    fflush(stdout);
    if (r.pass && r.streams > best) {
      best = r.streams;
      best_r = r;
    }
    if (!r.pass && !all)
      break;
  }
  printf("\nsustained: %d stream%s of 1080p25 at %.0f analysed fps (target "
         ">= 8)\n",
         best, best == 1 ? "" : "s", fps);
  /* CPU time per stream does not depend on how busy the machine is (only
   * on cache sharing); what the machine gives this process does. */
  if (best > 0 && best_r.cores > 0) {
    double per = best_r.cores / best_r.streams;
    printf("CPU per stream at %d streams: %.3f cores (decode %.3f, detection "
           "%.3f, tracking %.3f, embedding %.3f, matching+alerts %.3f); %ld "
           "idle CPUs at 85 %% would carry about %d streams\n",
           best, per, per * best_r.decode, per * best_r.detect,
           per * best_r.track, per * best_r.embed, per * best_r.match, ncpu,
           (int)floor(0.85 * (double)ncpu / per));
  }
  char cmd[200];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0)
    fprintf(stderr, "watch_bench: could not remove %s\n", dir);
  return 0;
}
