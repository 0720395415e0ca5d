/* `argus watch`: the live pipeline on cameras (stored names or URLs), one
 * line per alert on stdout, status lines on stderr. */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "argus/bus.h"
#include "argus/store.h"
#include "cli/store_cli.h"
#include "cli/watch_cli.h"

void cli_watch_usage(FILE *f) {
  // clang-format off
  fputs("Usage: argus watch [CAMERA|URL]... [--watchlist W]... [--json]\n"
        "                   [--db PATH] [--models DIR] [--threads N] [--fps N]\n"
        "                   [--realtime] [--loop] [--keep-unmatched SECONDS]\n"
        "                   [--duration S] [--status-interval S] [--quiet-status]\n"
        "\n"
        "Watches cameras and raises an alert when a face matches a person of a\n"
        "watchlist: one line per alert on stdout, status lines on stderr. Alerts\n"
        "are stored in the database with the face crop and a frame thumbnail.\n"
        "\n"
        "CAMERA is a name from 'argus camera add', URL a video source (rtsp://,\n"
        "http(s)://, a file, /dev/videoN); none: every enabled stored camera.\n"
        "\n"
        "  --watchlist W        watch this watchlist (repeatable; default: every\n"
        "                       active one); each uses its own threshold\n"
        "  --json               alerts as JSON lines: {\"id\", \"camera\", \"time\",\n"
        "                       \"media_time\", \"track\", \"watchlist\", \"person\",\n"
        "                       \"score\", \"crop\", ...}\n"
        "  --fps N              analysed frames per second per camera (default 5)\n"
        "  --threads N          analysis threads (default: one per CPU)\n"
        "  --realtime           play files at their native rate (default: as fast\n"
        "                       as they decode)\n"
        "  --loop               start files again at their end\n"
        "  --keep-unmatched S   also store the searched faces that match nobody,\n"
        "                       for S seconds (default: counts only)\n"
        "  --duration S         stop after S seconds (default: when the files\n"
        "                       end, or Ctrl-C)\n"
        "  --status-interval S  seconds between status lines (default 5)\n"
        "  --quiet-status       no status lines\n"
        "  --cooldown S         per person per camera, seconds (default 30)\n"
        "  --size N             detection size, longer side (default 640)\n"
        "  --models DIR         models folder (default $ARGUS_MODELS or ./models)\n"
        "  --allow-unverified   load models whose checksum differs from the card\n"
        STORE_CLI_DB_HELP,
        f);
  // clang-format on
}

void watch_opts_init(watch_opts *o) {
  memset(o, 0, sizeof *o);
  o->cooldown = -1;
}

/* ---- signals ---------------------------------------------------------- */

static volatile sig_atomic_t g_stop;

static void on_signal(int sig) {
  (void)sig;
  g_stop = 1;
}

/* ---- alert output ------------------------------------------------------- */

typedef struct printer {
  pthread_mutex_t mu;
  int json;
  unsigned long alerts;
} printer;

/* A string or number field of a flat JSON document, as text. */
static int field(const char *doc, const char *key, char *out, size_t size) {
  char pat[64];
  snprintf(pat, sizeof pat, "\"%s\":", key);
  const char *p = strstr(doc, pat);
  if (!p || !size)
    return -1;
  p += strlen(pat);
  size_t n = 0;
  if (*p == '"') {
    for (p++; *p && *p != '"' && n + 1 < size; p++) {
      if (*p == '\\' && p[1])
        p++;
      out[n++] = *p;
    }
  } else {
    while (*p && *p != ',' && *p != '}' && n + 1 < size)
      out[n++] = *p++;
  }
  out[n] = '\0';
  return 0;
}

static void on_alert(void *user, const argus_bus_msg *m) {
  printer *pr = user;
  pthread_mutex_lock(&pr->mu);
  pr->alerts++;
  if (pr->json) {
    fwrite(m->data, 1, m->size, stdout);
    fputc('\n', stdout);
  } else {
    char id[32] = "", t[40] = "", cam[128] = "", person[160] = "", wl[160] = "",
         score[32] = "", track[32] = "", mt[32] = "", crop[1100] = "";
    field(m->data, "id", id, sizeof id);
    field(m->data, "time", t, sizeof t);
    field(m->data, "camera", cam, sizeof cam);
    field(m->data, "person", person, sizeof person);
    field(m->data, "watchlist", wl, sizeof wl);
    field(m->data, "score", score, sizeof score);
    field(m->data, "track", track, sizeof track);
    field(m->data, "media_time", mt, sizeof mt);
    field(m->data, "crop", crop, sizeof crop);
    printf("ALERT %s  %s  camera '%s' at %s s, track %s: %s (watchlist '%s'), "
           "score %s\n      crop %s\n",
           id, t, cam, mt, track, person, wl, score,
           crop[0] && strcmp(crop, "null") ? crop : "(not stored)");
  }
  fflush(stdout);
  pthread_mutex_unlock(&pr->mu);
}

/* ---- status ----------------------------------------------------------------
 */

/* Periodic lines show the last interval's means; the final one (final != 0)
 * the means of the whole run. */
static void print_status(const argus_pipeline_stats *st,
                         const argus_pipeline_camera_stats *cs, int n, int cap,
                         int final) {
  time_t now = time(NULL);
  struct tm tm;
  localtime_r(&now, &tm);
  fprintf(stderr,
          "[%02d:%02d:%02d] %d camera%s: %llu frames analysed, %llu dropped; "
          "queues: %d frames, %d shots, %d alerts; detect %.1f ms/frame, embed "
          "%.1f ms/face (batch %.1f); %llu alerts; latency p50 %.0f ms p99 "
          "%.0f ms\n",
          tm.tm_hour, tm.tm_min, tm.tm_sec, st->cameras,
          st->cameras == 1 ? "" : "s", (unsigned long long)st->frames_analysed,
          (unsigned long long)st->frames_dropped, st->frames_queued,
          st->shots_queued, st->alerts_queued,
          final ? st->detect_ms_avg : st->detect_ms,
          final ? st->embed_ms_avg : st->embed_ms,
          final ? st->batch_mean_avg : st->batch_mean,
          (unsigned long long)st->alerts, st->alert_latency.p50 * 1e3,
          st->alert_latency.p99 * 1e3);
  for (int i = 0; i < n && i < cap; i++) {
    const argus_pipeline_camera_stats *c = &cs[i];
    fprintf(
        stderr,
        "  %-20s %-10s in %5.1f fps, analysed %4.1f fps, dropped %llu, "
        "faces %llu, tracks %llu (%d live), matches %llu, alerts %llu%s%s\n",
        c->video.name, argus_video_state_name(c->video.state), c->video.fps_in,
        c->fps_analysed, (unsigned long long)c->video.frames_dropped,
        (unsigned long long)c->faces, (unsigned long long)c->tracks,
        c->tracks_live, (unsigned long long)c->matches,
        (unsigned long long)c->alerts, c->video.last_error[0] ? "; " : "",
        c->video.last_error);
  }
}

/* ---- cameras ------------------------------------------------------------- */

typedef struct cam_src {
  char name[ARGUS_STORE_NAME_MAX];
  char url[ARGUS_STORE_TEXT_MAX];
  double fps;
} cam_src;

/* "fps" of a camera's settings object, 0 when absent. */
static double settings_fps(const char *settings) {
  char v[32];
  if (field(settings, "fps", v, sizeof v) != 0)
    return 0;
  char *end = NULL;
  double f = strtod(v, &end);
  return end != v && f > 0 && f <= 1000 ? f : 0;
}

static int looks_like_url(const char *s) {
  struct stat sb;
  return strstr(s, "://") != NULL || strncmp(s, "/dev/video", 10) == 0 ||
         strncmp(s, "v4l2:", 5) == 0 || stat(s, &sb) == 0;
}

static int resolve_cameras(const char *cmd, const watch_opts *o, cam_src *out,
                           int *n) {
  argus_store *s = NULL;
  if (store_cli_open(cmd, o->db, &s) != CLI_OK)
    return CLI_FAIL;
  int rc = CLI_OK;
  *n = 0;
  if (o->ncameras == 0) {
    argus_store_camera *cams = NULL;
    size_t nc = 0;
    argus_store_error err = {{0}};
    argus_err e = argus_store_camera_list(s, &cams, &nc, &err);
    if (e) {
      rc = store_cli_error(cmd, e, &err);
      goto out;
    }
    for (size_t i = 0; i < nc && *n < WATCH_MAX_CAMERAS; i++) {
      if (!cams[i].enabled)
        continue;
      cam_src *c = &out[(*n)++];
      snprintf(c->name, sizeof c->name, "%s", cams[i].name);
      snprintf(c->url, sizeof c->url, "%s", cams[i].url);
      c->fps = settings_fps(cams[i].settings);
    }
    argus_store_free(cams);
    if (*n == 0) {
      cli_errorf(cmd, "no camera given and no enabled camera stored (add one "
                      "with 'argus camera add NAME URL', or give a URL)");
      rc = CLI_USAGE;
    }
    goto out;
  }
  for (int i = 0; i < o->ncameras; i++) {
    cam_src *c = &out[(*n)++];
    argus_store_camera sc;
    argus_store_error err = {{0}};
    argus_err e = argus_store_camera_get(s, o->cameras[i], &sc, &err);
    if (e == ARGUS_OK) {
      snprintf(c->name, sizeof c->name, "%s", sc.name);
      snprintf(c->url, sizeof c->url, "%s", sc.url);
      c->fps = settings_fps(sc.settings);
      if (!sc.enabled)
        fprintf(stderr,
                "argus: %s: camera '%s' is disabled; watching it "
                "since it was named\n",
                cmd, sc.name);
    } else if (e == ARGUS_E_NOT_FOUND || e == ARGUS_E_INVALID_ARG) {
      if (!looks_like_url(o->cameras[i])) {
        cli_errorf(cmd,
                   "'%s' is neither a stored camera ('argus camera list') "
                   "nor a URL or an existing file",
                   o->cameras[i]);
        rc = CLI_USAGE;
        goto out;
      }
      if (strlen(o->cameras[i]) >= sizeof c->url) {
        cli_errorf(cmd, "URL too long: '%.60s...'", o->cameras[i]);
        rc = CLI_USAGE;
        goto out;
      }
      snprintf(c->url, sizeof c->url, "%s", o->cameras[i]);
      if (o->labels[i])
        snprintf(c->name, sizeof c->name, "%s", o->labels[i]);
      else
        argus_store_url_redact(o->cameras[i], c->name, sizeof c->name);
      c->fps = 0;
    } else {
      rc = store_cli_error(cmd, e, &err);
      goto out;
    }
  }
out:
  argus_store_close(s);
  return rc;
}

/* ---- the loop -------------------------------------------------------------
 */

static double now_s(void) { return (double)argus_time_ns() * 1e-9; }

int watch_run(const char *cmd, const watch_opts *o, unsigned long *nalerts) {
  if (nalerts)
    *nalerts = 0;
  static cam_src srcs[WATCH_MAX_CAMERAS];
  int nsrc = 0;
  int rc = resolve_cameras(cmd, o, srcs, &nsrc);
  if (rc != CLI_OK)
    return rc;

  argus_pipeline_config cfg;
  argus_pipeline_config_init(&cfg);
  cfg.models_dir = o->models;
  cfg.db_path = o->db;
  cfg.actor = "cli:watch";
  cfg.allow_unverified = o->allow_unverified;
  cfg.watchlists = o->nwatchlists ? o->watchlists : NULL;
  cfg.nwatchlists = o->nwatchlists;
  cfg.threads = o->threads;
  if (o->fps > 0)
    cfg.fps = o->fps;
  cfg.realtime = o->realtime;
  cfg.loop = o->loop;
  cfg.keep_unmatched = o->keep_unmatched;
  cfg.cooldown = o->cooldown;
  if (o->detect_size > 0)
    cfg.detect_size = o->detect_size;
  double interval = o->status_interval > 0 ? o->status_interval : 5;
  cfg.status_interval = interval < 1 ? interval : 1;
  /* A file played as fast as it decodes must not lose frames to the
   * analysis: a deeper ring (the decoder still never waits). */
  if (!o->realtime)
    cfg.queue_frames = 32;

  argus_pipeline *p = NULL;
  argus_pipeline_error perr = {{0}};
  argus_err e = argus_pipeline_create(&cfg, &p, &perr);
  if (e) {
    cli_errorf(cmd, "%s (%s)", perr.msg[0] ? perr.msg : argus_strerror(e),
               argus_errname(e));
    return CLI_FAIL;
  }
  printer pr;
  memset(&pr, 0, sizeof pr);
  pthread_mutex_init(&pr.mu, NULL);
  pr.json = o->json;
  argus_bus_sub *sub = NULL;
  argus_bus_sub_options so;
  memset(&so, 0, sizeof so);
  so.pattern = ARGUS_BUS_TOPIC_ALERT;
  so.handler = on_alert;
  so.user = &pr;
  so.queue_msgs = 1024;
  e = argus_bus_subscribe(argus_pipeline_bus(p), &so, &sub);
  if (e) {
    cli_errorf(cmd, "cannot subscribe to alerts (%s)", argus_errname(e));
    argus_pipeline_destroy(p);
    return CLI_FAIL;
  }
  for (int i = 0; i < nsrc; i++) {
    e = argus_pipeline_add_camera(p, srcs[i].name, srcs[i].url, srcs[i].fps,
                                  NULL, &perr);
    if (e) {
      cli_errorf(cmd, "camera '%s': %s", srcs[i].name, perr.msg);
      rc = CLI_FAIL;
      goto done;
    }
  }
  argus_pipeline_stats st;
  static argus_pipeline_camera_stats cs[WATCH_MAX_CAMERAS];
  int ncs = 0;
  argus_pipeline_get_stats(p, &st, NULL, 0, NULL);
  if (!o->quiet_status)
    fprintf(stderr,
            "argus: watching %d camera%s with %d analysis threads; %d "
            "persons (%d templates) in %d watchlist%s%s\n",
            nsrc, nsrc == 1 ? "" : "s", st.workers, st.persons, st.templates,
            st.watchlists, st.watchlists == 1 ? "" : "s",
            st.templates == 0 ? " -- nothing to match: enrol persons with "
                                "'argus person add'"
                              : "");

  struct sigaction sa, old_int, old_term;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  g_stop = 0;
  sigaction(SIGINT, &sa, &old_int);
  sigaction(SIGTERM, &sa, &old_term);
  double t0 = now_s(), next_status = t0 + interval;
  int ended = 0;
  while (!g_stop) {
    struct timespec ts = {0, 50000000};
    nanosleep(&ts, NULL);
    double t = now_s();
    if (o->duration > 0 && t - t0 >= o->duration)
      break;
    if (!o->loop && argus_pipeline_all_ended(p)) {
      ended = 1;
      break;
    }
    if (!o->quiet_status && t >= next_status) {
      argus_pipeline_get_stats(p, &st, cs, WATCH_MAX_CAMERAS, &ncs);
      print_status(&st, cs, ncs, WATCH_MAX_CAMERAS, 0);
      next_status = t + interval;
    }
  }
  /* Finish what is in flight: the last frames, tracks' best shots, alerts
   * being stored. Live cameras never end; a short grace then. */
  e = argus_pipeline_drain(p, ended ? 120 : 2);
  if (e && ended)
    fprintf(stderr, "argus: %s: still busy after 120 s; stopping\n", cmd);
  sigaction(SIGINT, &old_int, NULL);
  sigaction(SIGTERM, &old_term, NULL);
  argus_pipeline_get_stats(p, &st, cs, WATCH_MAX_CAMERAS, &ncs);
  if (!o->quiet_status) {
    print_status(&st, cs, ncs, WATCH_MAX_CAMERAS, 1);
    fprintf(stderr,
            "argus: %s after %.1f s: %llu alerts (%llu stored), %llu faces "
            "searched, %llu frames analysed\n",
            g_stop ? "interrupted" : "done", now_s() - t0,
            (unsigned long long)st.alerts, (unsigned long long)st.alerts_stored,
            (unsigned long long)st.shots,
            (unsigned long long)st.frames_analysed);
  }
  /* Errors of cameras: reported; the exit status fails only when no camera
   * worked at all. */
  int failed = 0;
  for (int i = 0; i < ncs && i < WATCH_MAX_CAMERAS; i++)
    if (cs[i].video.state == ARGUS_VIDEO_FAILED ||
        (cs[i].video.connects == 0 && cs[i].video.last_error[0])) {
      failed++;
      fprintf(stderr, "argus: %s: camera '%s' failed: %s\n", cmd,
              cs[i].video.name, cs[i].video.last_error);
    }
  if (ncs > 0 && failed == ncs)
    rc = CLI_FAIL;
  if (st.store_errors)
    fprintf(stderr, "argus: %s: %llu alerts could not be stored (see above)\n",
            cmd, (unsigned long long)st.store_errors);
done:
  argus_bus_unsubscribe(sub);
  argus_pipeline_destroy(p);
  if (nalerts)
    *nalerts = pr.alerts;
  pthread_mutex_destroy(&pr.mu);
  return rc;
}

/* ---- the command -----------------------------------------------------------
 */

enum {
  OPT_WATCHLIST = STORE_OPT_NEXT,
  OPT_MODELS,
  OPT_THREADS,
  OPT_FPS,
  OPT_REALTIME,
  OPT_LOOP,
  OPT_KEEP,
  OPT_DURATION,
  OPT_STATUS,
  OPT_QUIET,
  OPT_COOLDOWN,
  OPT_SIZE,
  OPT_UNVERIFIED,
};

static int parse_seconds(const char *cmd, const char *what, const char *s,
                         double lo, double hi, double *out) {
  char *end = NULL;
  errno = 0;
  double v = strtod(s, &end);
  if (end == s || *end || errno || !(v >= lo && v <= hi)) {
    cli_errorf(cmd, "%s: '%s' is not a number in [%g, %g]", what, s, lo, hi);
    return -1;
  }
  *out = v;
  return 0;
}

int cli_watch_main(int argc, char **argv) {
  static const cli_opt opts[] = {STORE_CLI_DB_OPT,
                                 {"json", 0, STORE_OPT_JSON},
                                 {"watchlist", 1, OPT_WATCHLIST},
                                 {"models", 1, OPT_MODELS},
                                 {"threads", 1, OPT_THREADS},
                                 {"fps", 1, OPT_FPS},
                                 {"realtime", 0, OPT_REALTIME},
                                 {"loop", 0, OPT_LOOP},
                                 {"keep-unmatched", 1, OPT_KEEP},
                                 {"duration", 1, OPT_DURATION},
                                 {"status-interval", 1, OPT_STATUS},
                                 {"quiet-status", 0, OPT_QUIET},
                                 {"cooldown", 1, OPT_COOLDOWN},
                                 {"size", 1, OPT_SIZE},
                                 {"allow-unverified", 0, OPT_UNVERIFIED},
                                 {NULL, 0, 0}};
  const char *cmd = "watch";
  watch_opts o;
  watch_opts_init(&o);
  cli_parser p;
  cli_parser_init(&p, argc, argv, cmd, opts);
  for (;;) {
    int id = cli_parse_next(&p);
    if (id == CLI_OPT_END)
      break;
    switch (id) {
    case CLI_OPT_HELP:
      cli_watch_usage(stdout);
      return CLI_OK;
    case CLI_OPT_ERROR:
      return cli_bad_value(cmd);
    case STORE_OPT_DB:
      o.db = p.arg;
      break;
    case STORE_OPT_JSON:
      o.json = 1;
      break;
    case OPT_WATCHLIST:
      if (o.nwatchlists == ARGUS_PIPELINE_MAX_WATCHLISTS) {
        cli_errorf(cmd, "at most %d watchlists", ARGUS_PIPELINE_MAX_WATCHLISTS);
        return cli_bad_value(cmd);
      }
      o.watchlists[o.nwatchlists++] = p.arg;
      break;
    case OPT_MODELS:
      o.models = p.arg;
      break;
    case OPT_THREADS:
      if (cli_parse_int(p.arg, 1, ARGUS_PIPELINE_MAX_THREADS, "--threads",
                        &o.threads))
        return cli_bad_value(cmd);
      break;
    case OPT_FPS:
      if (parse_seconds(cmd, "--fps", p.arg, 0.01, 1000, &o.fps))
        return cli_bad_value(cmd);
      break;
    case OPT_REALTIME:
      o.realtime = 1;
      break;
    case OPT_LOOP:
      o.loop = 1;
      break;
    case OPT_KEEP:
      if (parse_seconds(cmd, "--keep-unmatched", p.arg, 1, 3.15e8,
                        &o.keep_unmatched))
        return cli_bad_value(cmd);
      break;
    case OPT_DURATION:
      if (parse_seconds(cmd, "--duration", p.arg, 0.1, 1e9, &o.duration))
        return cli_bad_value(cmd);
      break;
    case OPT_STATUS:
      if (parse_seconds(cmd, "--status-interval", p.arg, 0.1, 3600,
                        &o.status_interval))
        return cli_bad_value(cmd);
      break;
    case OPT_QUIET:
      o.quiet_status = 1;
      break;
    case OPT_COOLDOWN:
      if (parse_seconds(cmd, "--cooldown", p.arg, 0, 86400, &o.cooldown))
        return cli_bad_value(cmd);
      break;
    case OPT_SIZE:
      if (cli_parse_int(p.arg, 32, 8192, "--size", &o.detect_size))
        return cli_bad_value(cmd);
      break;
    case OPT_UNVERIFIED:
      o.allow_unverified = 1;
      break;
    case CLI_OPT_POSITIONAL:
      if (o.ncameras == WATCH_MAX_CAMERAS) {
        cli_errorf(cmd, "at most %d cameras", WATCH_MAX_CAMERAS);
        return cli_bad_value(cmd);
      }
      o.cameras[o.ncameras++] = p.arg;
      break;
    }
  }
  return watch_run(cmd, &o, NULL);
}
