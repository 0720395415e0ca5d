/* `argus demo`: the main job on a fresh machine, from what the package
 * registries provide. It fetches the npm package @vladmandic/face-api@1.7.15
 * (its package/demo/ holds six group photos), finds the person who appears
 * in two of them by comparing every face with every other, enrols that
 * person from one photo into a watchlist of a demo database, turns the
 * other photos into a simulated camera (an H.264 slideshow with a slow zoom
 * and pan, made with ffmpeg) and watches it in real time: alerts arrive on
 * stdout, status lines on stderr. With --serve the same database gets that
 * camera and a demo operator with a password made for this run, and the
 * operator service (`argus serve`, run in this process) shows the alerts
 * in the web console instead. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <math.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "argus/face.h"
#include "argus/gallery.h"
#include "argus/store.h"
#include "cli/cli.h"
#include "cli/store_cli.h"
#include "cli/watch_cli.h"

extern char **environ;

#define DEMO_PACKAGE "@vladmandic/face-api@1.7.15"
#define DEMO_TARBALL "vladmandic-face-api-1.7.15.tgz"
/* SHA-256 of that tarball (npm's integrity for it is sha512-WDMmK3CfNLo8...),
 * checked before it is unpacked. */
#define DEMO_TARBALL_SHA256                                                    \
  "0d77fffeef362ef9c0939cf6c567f3a2e8e177f114fa257a3270cbd2e509b031"
#define DEMO_NPHOTOS 6
#define DEMO_MAX_FACES 64
#define DEMO_SECONDS_PER_PHOTO 4
#define DEMO_CAMERA "demo-camera"
#define DEMO_USER "demo"
#define DEMO_LISTEN "127.0.0.1:8080"

void cli_demo_usage(FILE *f) {
  // clang-format off
  fputs("Usage: argus demo [--dir DIR] [--photos DIR] [--duration S] [--json]\n"
        "                  [--models DIR] [--threads N] [--quiet-status]\n"
        "       argus demo --serve [--listen ADDR:PORT] [--dir DIR]\n"
        "                  [--photos DIR] [--models DIR] [--threads N]\n"
        "\n"
        "Shows argus at work from scratch: fetches the npm package\n"
        DEMO_PACKAGE " (six group photos in package/demo/), finds\n"
        "the person who appears in two of them, enrols that person from one\n"
        "photo into the watchlist 'demo' of a demo database, makes a simulated\n"
        "camera (an H.264 slideshow of the other photos with a slow zoom, with\n"
        "ffmpeg) and watches it in real time, in a loop: alerts on stdout,\n"
        "status lines on stderr. Needs npm (or --photos) and ffmpeg.\n"
        "\n"
        "With --serve the demo opens the web console instead: the database\n"
        "also gets the simulated camera ('" DEMO_CAMERA "', played in a loop) and\n"
        "an operator '" DEMO_USER "' with a password made afresh for this run,\n"
        "then 'argus serve' runs on it in this process until Ctrl-C; the URL\n"
        "and the login are printed, and alerts appear on the console's live\n"
        "page as the camera shows the enrolled person.\n"
        "\n"
        "  --dir DIR        working folder (default $XDG_CACHE_HOME/argus/demo\n"
        "                   or ~/.cache/argus/demo); the package and the video\n"
        "                   are kept there, the database is made afresh\n"
        "  --photos DIR     use the photos sample1.jpg..sample6.jpg of DIR\n"
        "                   instead of fetching the package\n"
        "  --duration S     how long to watch (default 45 s)\n"
        "  --json           alerts as JSON lines\n"
        "  --models DIR     models folder (default $ARGUS_MODELS or ./models)\n"
        "  --threads N      analysis threads (default: one per CPU)\n"
        "  --quiet-status   no status lines\n"
        "  --serve          run the operator service and its web console\n"
        "  --listen ADDR:PORT  with --serve: where it listens (default\n"
        "                   " DEMO_LISTEN "; port 0 picks a free one)\n",
        f);
  // clang-format on
}

/* ---- helpers ----------------------------------------------------------- */

static const char *CMD = "demo";

static int mkdirs(const char *path) {
  char tmp[4096];
  snprintf(tmp, sizeof tmp, "%s", path);
  for (char *p = tmp + 1; *p; p++) {
    if (*p != '/')
      continue;
    *p = '\0';
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST)
      return -1;
    *p = '/';
  }
  return mkdir(tmp, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

static int exists(const char *path) {
  struct stat sb;
  return stat(path, &sb) == 0 && sb.st_size > 0;
}

/* Runs argv (found on PATH) in `cwd` with stdout and stderr into `log`.
 * Returns the exit status, 127 when the program is missing, -1 on a spawn
 * failure. */
static int run(char *const argv[], const char *cwd, const char *log) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  char oldcwd[4096];
  if (!getcwd(oldcwd, sizeof oldcwd) || chdir(cwd) != 0) {
    posix_spawn_file_actions_destroy(&fa);
    return -1;
  }
  pid_t pid = 0;
  int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  if (chdir(oldcwd) != 0)
    return -1;
  if (rc == ENOENT)
    return 127;
  if (rc != 0)
    return -1;
  int st = 0;
  while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void show_log_tail(const char *log) {
  FILE *f = fopen(log, "r");
  if (!f)
    return;
  char lines[8][300];
  int n = 0;
  while (fgets(lines[n % 8], sizeof lines[0], f))
    n++;
  fclose(f);
  for (int i = n > 8 ? n - 8 : 0; i < n; i++)
    fprintf(stderr, "    %s", lines[i % 8]);
}

static int rm_entry(const char *path, const struct stat *sb, int flag,
                    struct FTW *ftw) {
  (void)sb;
  (void)flag;
  (void)ftw;
  return remove(path);
}

/* ---- steps --------------------------------------------------------------- */

/* The six photos: in --photos, or fetched with npm pack into dir. */
static int get_photos(const char *dir, const char *photos_opt, char *photos,
                      size_t size) {
  if (photos_opt) {
    snprintf(photos, size, "%s", photos_opt);
  } else {
    snprintf(photos, size, "%s/package/demo", dir);
  }
  char probe[4200];
  int have = 1;
  for (int i = 1; i <= DEMO_NPHOTOS && have; i++) {
    snprintf(probe, sizeof probe, "%s/sample%d.jpg", photos, i);
    have = exists(probe);
  }
  if (have)
    return 0;
  if (photos_opt) {
    cli_errorf(CMD, "%s: sample1.jpg .. sample%d.jpg not found", photos,
               DEMO_NPHOTOS);
    return -1;
  }
  char tgz[4200], log[4200];
  snprintf(tgz, sizeof tgz, "%s/%s", dir, DEMO_TARBALL);
  snprintf(log, sizeof log, "%s/fetch.log", dir);
  if (!exists(tgz)) {
    fprintf(stderr, "demo: fetching the npm package %s (12 MB) ...\n",
            DEMO_PACKAGE);
    char *argv[] = {"npm", "pack", "--silent", DEMO_PACKAGE, NULL};
    int rc = run(argv, dir, log);
    if (rc == 127) {
      cli_errorf(CMD, "npm is not installed (scripts/setup.sh installs it), "
                      "or give the photos with --photos DIR");
      return -1;
    }
    if (rc != 0 || !exists(tgz)) {
      cli_errorf(
          CMD, "'npm pack %s' failed (exit %d); its output:", DEMO_PACKAGE, rc);
      show_log_tail(log);
      return -1;
    }
  }
  char hex[65] = "";
  if (argus_face_file_sha256(tgz, hex) != ARGUS_OK ||
      strcmp(hex, DEMO_TARBALL_SHA256) != 0) {
    cli_errorf(CMD,
               "%s: SHA-256 %s is not the pinned %s; removed (run the "
               "demo again to fetch it afresh)",
               tgz, hex, DEMO_TARBALL_SHA256);
    unlink(tgz);
    return -1;
  }
  char *argv[] = {"tar", "-xzf", DEMO_TARBALL, "package/demo", NULL};
  int rc = run(argv, dir, log);
  if (rc != 0) {
    cli_errorf(CMD, "unpacking %s failed (exit %d):", tgz, rc);
    show_log_tail(log);
    return -1;
  }
  for (int i = 1; i <= DEMO_NPHOTOS; i++) {
    snprintf(probe, sizeof probe, "%s/sample%d.jpg", photos, i);
    if (!exists(probe)) {
      cli_errorf(CMD, "the package has no %s", probe);
      return -1;
    }
  }
  return 0;
}

typedef struct demo_face {
  int photo; /* 1-based sample number */
  argus_face face;
  float *emb;
} demo_face;

/* Detects and embeds the faces of every photo. */
static int faces_of_photos(argus_face_engine *eng, const char *photos,
                           demo_face *out, int cap, int *n, float *embs,
                           int dim) {
  *n = 0;
  static argus_face faces[DEMO_MAX_FACES];
  static float emb[DEMO_MAX_FACES * 1024];
  if (dim > 1024)
    return -1;
  for (int i = 1; i <= DEMO_NPHOTOS; i++) {
    char path[4200];
    snprintf(path, sizeof path, "%s/sample%d.jpg", photos, i);
    argus_image img;
    argus_image_error ie = {{0}};
    argus_err rc = argus_image_read_file(path, ARGUS_PIX_RGB8, &img, &ie);
    if (rc) {
      cli_errorf(CMD, "%s", ie.msg);
      return -1;
    }
    int nf = 0;
    argus_face_error fe = {{0}};
    rc = argus_face_engine_analyze(
        eng, &img, NULL,
        ARGUS_FACE_DO_LANDMARKS | ARGUS_FACE_DO_QUALITY | ARGUS_FACE_DO_EMBED,
        faces, DEMO_MAX_FACES, &nf, emb, &fe);
    argus_image_free(&img);
    if (rc) {
      cli_errorf(CMD, "sample%d.jpg: %s", i, fe.msg);
      return -1;
    }
    fprintf(stderr, "demo: sample%d.jpg: %d faces\n", i, nf);
    for (int k = 0; k < nf && *n < cap; k++) {
      demo_face *d = &out[(*n)++];
      d->photo = i;
      d->face = faces[k];
      d->emb = embs + (size_t)(*n - 1) * (size_t)dim;
      memcpy(d->emb, emb + (size_t)k * (size_t)dim,
             (size_t)dim * sizeof(float));
    }
  }
  return 0;
}

/* Enrols face `f` of its photo: the photo cut around the face (so that it
 * holds that face only, with context) goes through the enrolment policy. */
static int enrol(argus_face_engine *eng, const char *db, const char *photos,
                 const demo_face *f, char *person, size_t person_size) {
  char path[4200];
  snprintf(path, sizeof path, "%s/sample%d.jpg", photos, f->photo);
  argus_image img, cut;
  argus_image_error ie = {{0}};
  if (argus_image_read_file(path, ARGUS_PIX_RGB8, &img, &ie) != ARGUS_OK) {
    cli_errorf(CMD, "%s", ie.msg);
    return -1;
  }
  float w = f->face.box[2] - f->face.box[0],
        h = f->face.box[3] - f->face.box[1];
  float cx = (f->face.box[0] + f->face.box[2]) / 2,
        cy = (f->face.box[1] + f->face.box[3]) / 2;
  float side = 2.2f * (w > h ? w : h);
  argus_err rc =
      argus_image_crop(&img, (int)(cx - side / 2), (int)(cy - side / 2),
                       (int)side, (int)side, &cut);
  argus_image_free(&img);
  if (rc) {
    cli_errorf(CMD, "cutting the face out of %s: %s", path, argus_strerror(rc));
    return -1;
  }
  argus_gallery_enrol_opts eo;
  argus_gallery_enrol_opts_default(&eo);
  eo.pick_largest = 1;
  argus_gallery_photo ph;
  argus_face_error fe = {{0}};
  rc = argus_gallery_photo_prepare(eng, NULL, &cut, &eo, &ph, &fe);
  argus_image_free(&cut);
  if (rc || ph.reason != ARGUS_GALLERY_ACCEPTED) {
    cli_errorf(CMD, "the face of sample%d.jpg cannot be enrolled: %s", f->photo,
               rc ? fe.msg : argus_gallery_reject_name(ph.reason));
    argus_gallery_photo_free(&ph);
    return -1;
  }
  char src[64];
  snprintf(src, sizeof src, "sample%d.jpg", f->photo);
  ph.source = src;
  snprintf(person, person_size, "Person of sample%d.jpg", f->photo);

  argus_store *s = NULL;
  argus_gallery *g = NULL;
  int ok = -1;
  if (store_cli_open(CMD, db, &s) != CLI_OK)
    goto out;
  argus_store_error se = {{0}};
  rc = argus_store_watchlist_create(s, "demo", NAN, "#e53935", NULL, &se);
  if (rc) {
    store_cli_error(CMD, rc, &se);
    goto out;
  }
  argus_gallery_config gc;
  argus_gallery_error ge = {{0}};
  rc = argus_gallery_config_from_card(
      argus_face_engine_card(eng, ARGUS_FACE_MODEL_EMBEDDER), &gc, &ge);
  gc.write_only = 1;
  if (rc == ARGUS_OK)
    rc = argus_gallery_open(s, &gc, &g, &ge);
  argus_store_person_in pin = {person, NULL,
                               "enrolled by argus demo from " DEMO_PACKAGE};
  if (rc == ARGUS_OK)
    rc = argus_gallery_person_add(g, "demo", &pin, &ph, 1, NULL, &ge);
  if (rc) {
    cli_errorf(CMD, "enrolment: %s", ge.msg[0] ? ge.msg : argus_strerror(rc));
    goto out;
  }
  ok = 0;
out:
  argus_gallery_close(g);
  argus_store_close(s);
  argus_gallery_photo_free(&ph);
  return ok;
}

/* The simulated camera: the photos but `skip`, 4 s each with a slow zoom
 * and a sideways drift (so faces move and change size), 1280x720, 25 fps,
 * H.264. */
static int make_video(const char *dir, const char *photos, int skip,
                      char *video, size_t size) {
  snprintf(video, size, "%s/camera-without-sample%d.mp4", dir, skip);
  if (exists(video))
    return 0;
  char tmp[4200], log[4200];
  snprintf(tmp, sizeof tmp, "%s/.camera-%d.tmp.mp4", dir, (int)getpid());
  snprintf(log, sizeof log, "%s/ffmpeg.log", dir);
  char *argv[64];
  int a = 0;
  static char inputs[DEMO_NPHOTOS][4200];
  static char graph[8192];
  argv[a++] = "ffmpeg";
  argv[a++] = "-hide_banner";
  argv[a++] = "-loglevel";
  argv[a++] = "error";
  argv[a++] = "-y";
  int n = 0;
  size_t g = 0;
  graph[0] = '\0';
  for (int i = 1; i <= DEMO_NPHOTOS; i++) {
    if (i == skip)
      continue;
    snprintf(inputs[n], sizeof inputs[n], "%s/sample%d.jpg", photos, i);
    argv[a++] = "-i";
    argv[a++] = inputs[n];
    /* Letterboxed to 16:9, enlarged before zoompan (less jitter), zoom 1 ->
     * 1.2 while the window drifts sideways; alternate directions. */
    g += (size_t)snprintf(
        graph + g, sizeof graph - g,
        "[%d:v]scale=1920:1080:force_original_aspect_ratio=decrease,"
        "pad=1920:1080:(ow-iw)/2:(oh-ih)/2,setsar=1,scale=2560:1440,"
        "zoompan=z='1+0.002*on':x='(iw-iw/zoom)*(0.5%c0.4*sin(on/30))':"
        "y='(ih-ih/zoom)/2':d=%d:s=1280x720:fps=25[v%d];",
        n, n % 2 ? '-' : '+', DEMO_SECONDS_PER_PHOTO * 25, n);
    n++;
  }
  for (int i = 0; i < n; i++)
    g += (size_t)snprintf(graph + g, sizeof graph - g, "[v%d]", i);
  snprintf(graph + g, sizeof graph - g,
           "concat=n=%d:v=1:a=0,format=yuv420p[out]", n);
  argv[a++] = "-filter_complex";
  argv[a++] = graph;
  argv[a++] = "-map";
  argv[a++] = "[out]";
  argv[a++] = "-c:v";
  argv[a++] = "libx264";
  argv[a++] = "-preset";
  argv[a++] = "veryfast";
  argv[a++] = "-crf";
  argv[a++] = "23";
  argv[a++] = "-g";
  argv[a++] = "50";
  argv[a++] = "-movflags";
  argv[a++] = "+faststart";
  argv[a++] = tmp;
  argv[a] = NULL;
  fprintf(stderr,
          "demo: making the simulated camera from %d photos with ffmpeg "
          "(%d s of 1280x720 H.264; a few seconds) ...\n",
          n, n * DEMO_SECONDS_PER_PHOTO);
  int rc = run(argv, dir, log);
  if (rc == 127) {
    cli_errorf(CMD, "ffmpeg is not installed (scripts/setup.sh installs "
                    "Debian's ffmpeg)");
    return -1;
  }
  if (rc != 0 || !exists(tmp)) {
    cli_errorf(CMD, "ffmpeg failed (exit %d); its output:", rc);
    show_log_tail(log);
    unlink(tmp);
    return -1;
  }
  if (rename(tmp, video) != 0) {
    cli_errorf(CMD, "cannot rename %s: %s", tmp, strerror(errno));
    return -1;
  }
  return 0;
}

/* ---- the command ------------------------------------------------------------
 */

enum {
  OPT_DIR = STORE_OPT_NEXT,
  OPT_PHOTOS,
  OPT_DURATION,
  OPT_MODELS,
  OPT_THREADS,
  OPT_QUIET,
  OPT_SERVE,
  OPT_LISTEN
};

typedef struct demo_opts {
  const char *dir, *photos, *models, *listen;
  double duration;
  int json, threads, quiet, serve;
} demo_opts;

/* Returns CLI_OK to go on, or the exit status (help printed, bad value). */
static int demo_parse(int argc, char **argv, demo_opts *o, int *done) {
  static const cli_opt opts[] = {{"dir", 1, OPT_DIR},
                                 {"photos", 1, OPT_PHOTOS},
                                 {"duration", 1, OPT_DURATION},
                                 {"json", 0, STORE_OPT_JSON},
                                 {"models", 1, OPT_MODELS},
                                 {"threads", 1, OPT_THREADS},
                                 {"quiet-status", 0, OPT_QUIET},
                                 {"serve", 0, OPT_SERVE},
                                 {"listen", 1, OPT_LISTEN},
                                 {NULL, 0, 0}};
  memset(o, 0, sizeof *o);
  o->duration = 45;
  *done = 0;
  cli_parser p;
  cli_parser_init(&p, argc, argv, CMD, opts);
  for (;;) {
    int id = cli_parse_next(&p);
    if (id == CLI_OPT_END)
      break;
    switch (id) {
    case CLI_OPT_HELP:
      cli_demo_usage(stdout);
      *done = 1;
      return CLI_OK;
    case CLI_OPT_ERROR:
      return cli_bad_value(CMD);
    case OPT_DIR:
      o->dir = p.arg;
      break;
    case OPT_PHOTOS:
      o->photos = p.arg;
      break;
    case OPT_DURATION: {
      char *end = NULL;
      o->duration = strtod(p.arg, &end);
      if (end == p.arg || *end || !(o->duration >= 1 && o->duration <= 86400)) {
        cli_errorf(CMD,
                   "--duration: '%s' is not a number of seconds in "
                   "[1, 86400]",
                   p.arg);
        return cli_bad_value(CMD);
      }
      break;
    }
    case STORE_OPT_JSON:
      o->json = 1;
      break;
    case OPT_MODELS:
      o->models = p.arg;
      break;
    case OPT_THREADS:
      if (cli_parse_int(p.arg, 1, ARGUS_PIPELINE_MAX_THREADS, "--threads",
                        &o->threads))
        return cli_bad_value(CMD);
      break;
    case OPT_QUIET:
      o->quiet = 1;
      break;
    case OPT_SERVE:
      o->serve = 1;
      break;
    case OPT_LISTEN:
      o->listen = p.arg;
      break;
    case CLI_OPT_POSITIONAL:
      cli_errorf(CMD, "unexpected argument '%s'", p.arg);
      return cli_bad_value(CMD);
    }
  }
  if (o->listen && !o->serve) {
    cli_errorf(CMD, "--listen goes with --serve");
    return cli_bad_value(CMD);
  }
  return CLI_OK;
}

/* The demo's working folder: --dir, else the user's cache. */
static int demo_dir(const char *dir_opt, char *dir, size_t cap) {
  const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
  if (dir_opt)
    snprintf(dir, cap, "%s", dir_opt);
  else if (xdg && xdg[0] == '/')
    snprintf(dir, cap, "%s/argus/demo", xdg);
  else if (home && home[0] == '/')
    snprintf(dir, cap, "%s/.cache/argus/demo", home);
  else
    snprintf(dir, cap, "/tmp/argus-demo-%ld", (long)getuid());
  if (mkdirs(dir) != 0) {
    cli_errorf(CMD, "cannot create %s: %s", dir, strerror(errno));
    return -1;
  }
  fprintf(stderr, "demo: working in %s\n", dir);
  return 0;
}

/* Who appears twice: every face against every face of the other photos.
 * Returns 0 with the pair in *bi, *bj. */
static int best_pair(argus_face_engine *eng, const demo_face *faces, int nf,
                     int dim, int *bi, int *bj) {
  float thr = 0;
  double fmr = 0;
  argus_face_card_threshold(
      argus_face_engine_card(eng, ARGUS_FACE_MODEL_EMBEDDER), 0, &thr, &fmr);
  float best = -2, second = -2;
  *bi = *bj = -1;
  for (int i = 0; i < nf; i++)
    for (int j = i + 1; j < nf; j++) {
      if (faces[i].photo == faces[j].photo)
        continue;
      float s = argus_face_similarity(faces[i].emb, faces[j].emb, dim);
      if (s > best) {
        second = best;
        best = s;
        *bi = i;
        *bj = j;
      } else if (s > second) {
        second = s;
      }
    }
  if (*bi < 0 || best < thr) {
    cli_errorf(CMD,
               "no face appears in two photos (best similarity %.3f, "
               "threshold %.3f)",
               best, thr);
    return -1;
  }
  fprintf(stderr,
          "demo: the same person is in sample%d.jpg and sample%d.jpg "
          "(similarity %.3f; the next best pair of photos %.3f; threshold "
          "%.3f at a false-match rate of %g)\n",
          faces[*bi].photo, faces[*bj].photo, best, second, thr, fmr);
  return 0;
}

/* Watches the simulated camera with the demo watchlist. */
static int demo_watch(const demo_opts *d, const char *db, const char *video,
                      const char *person) {
  watch_opts o;
  watch_opts_init(&o);
  o.db = db;
  o.models = d->models;
  o.watchlists[o.nwatchlists++] = "demo";
  const char *cams[1] = {video}, *labels[1] = {"demo-camera"};
  o.cameras = cams;
  o.labels = labels;
  o.ncameras = 1;
  o.json = d->json;
  o.threads = d->threads;
  o.realtime = 1;
  o.loop = 1;
  o.duration = d->duration;
  o.status_interval = 5;
  o.quiet_status = d->quiet;
  /* A pass is 20 s: a shorter cooldown lets every pass alert again. */
  o.cooldown = 10;
  unsigned long nalerts = 0;
  int ret = watch_run(CMD, &o, &nalerts);
  if (ret == CLI_OK) {
    fprintf(stderr,
            "demo: %lu alert%s for '%s'. The alerts, crops and thumbnails are "
            "in %s (try: argus audit --db %s)\n",
            nalerts, nalerts == 1 ? "" : "s", person, db, db);
    if (nalerts == 0) {
      cli_errorf(CMD, "no alert came: the demo failed");
      ret = CLI_FAIL;
    }
  }
  return ret;
}

/* A password of 14 characters, three groups of four from 31 letters and
 * digits that are hard to confuse (59 random bits), dash-separated, from
 * getrandom. out: at least 15 bytes. Returns 0, or -1 with errno. */
static int make_password(char *out, size_t cap) {
  static const char alphabet[] = "abcdefghjkmnpqrstuvwxyz23456789";
  unsigned char rnd[12];
  size_t got = 0;
  if (cap < 15) {
    errno = EINVAL;
    return -1;
  }
  while (got < sizeof rnd) {
    ssize_t n = getrandom(rnd + got, sizeof rnd - got, 0);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return -1;
    got += (size_t)n;
  }
  size_t o = 0;
  for (size_t i = 0; i < sizeof rnd; i++) {
    if (i > 0 && i % 4 == 0)
      out[o++] = '-';
    /* 31 symbols: the modulo's bias is under one part in eight. */
    out[o++] = alphabet[rnd[i] % (sizeof alphabet - 1)];
  }
  out[o] = '\0';
  return 0;
}

/* --serve: the demo camera and a demo operator in the database, then
 * `argus serve` on it in this process until Ctrl-C. */
static int demo_serve(const demo_opts *d, const char *db, const char *video,
                      const char *person) {
  char url[PATH_MAX];
  if (!realpath(video, url)) {
    cli_errorf(CMD, "%s: %s", video, strerror(errno));
    return CLI_FAIL;
  }
  char password[32];
  if (make_password(password, sizeof password) != 0) {
    cli_errorf(CMD, "no random bytes for the password: %s", strerror(errno));
    return CLI_FAIL;
  }
  argus_store *s = NULL;
  if (store_cli_open(CMD, db, &s) != CLI_OK)
    return CLI_FAIL;
  argus_store_error se = {{0}};
  argus_store_id id = 0;
  argus_err rc = argus_store_camera_add(s, DEMO_CAMERA, url, NULL, 1, &id, &se);
  if (rc == ARGUS_OK)
    rc = argus_store_user_add(s, DEMO_USER, password, ARGUS_ROLE_OPERATOR, &id,
                              &se);
  argus_store_close(s);
  if (rc)
    return store_cli_error(CMD, rc, &se);

  const char *listen = d->listen ? d->listen : DEMO_LISTEN;
  char host[256];
  snprintf(host, sizeof host, "%s", listen);
  char *colon = strrchr(host, ':');
  const char *port = colon ? colon + 1 : "8080";
  if (colon)
    *colon = '\0';
  if (!host[0] || strcmp(host, "0.0.0.0") == 0)
    snprintf(host, sizeof host, "127.0.0.1");
  fprintf(stderr, "\n");
  if (strcmp(port, "0") == 0)
    fprintf(stderr,
            "demo: the console: http://%s:PORT/ with the port of the "
            "'listening on' line below\n",
            host);
  else
    fprintf(stderr, "demo: the console: http://%s:%s/\n", host, port);
  fprintf(stderr,
          "demo: log in as '%s' with the password %s (made for this run; the "
          "next demo makes a new one)\n"
          "demo: the camera '%s' plays in a loop; alerts for '%s' appear on "
          "the live page within a minute. Ctrl-C stops.\n\n",
          DEMO_USER, password, DEMO_CAMERA, person);
  fflush(stderr);

  /* argus serve's own options, as `argus serve` would get them. */
  char a_db[2400], a_listen[256], a_models[4096], a_threads[16];
  snprintf(a_db, sizeof a_db, "%s", db);
  snprintf(a_listen, sizeof a_listen, "%s", listen);
  char *argv[16];
  int n = 0;
  argv[n++] = "serve";
  argv[n++] = "--db";
  argv[n++] = a_db;
  argv[n++] = "--listen";
  argv[n++] = a_listen;
  if (d->models) {
    snprintf(a_models, sizeof a_models, "%s", d->models);
    argv[n++] = "--models";
    argv[n++] = a_models;
  }
  if (d->threads > 0) {
    snprintf(a_threads, sizeof a_threads, "%d", d->threads);
    argv[n++] = "--threads";
    argv[n++] = a_threads;
  }
  argv[n++] = "--loop";
  /* A pass is 20 s: a shorter cooldown lets every pass alert again. */
  argv[n++] = "--cooldown";
  argv[n++] = "10";
  argv[n] = NULL;
  return cli_serve_main(n, argv);
}

int cli_demo_main(int argc, char **argv) {
  demo_opts d;
  int done = 0;
  int prc = demo_parse(argc, argv, &d, &done);
  if (prc != CLI_OK || done)
    return prc;
  char dir[2048];
  if (demo_dir(d.dir, dir, sizeof dir) != 0)
    return CLI_FAIL;
  char photos[4096];
  if (get_photos(dir, d.photos, photos, sizeof photos) != 0)
    return CLI_FAIL;

  argus_face_engine_opts eo;
  memset(&eo, 0, sizeof eo);
  eo.models_dir = d.models;
  argus_face_engine *eng = NULL;
  argus_face_error fe = {{0}};
  argus_err rc = argus_face_engine_create(&eo, &eng, &fe);
  if (rc) {
    cli_errorf(CMD, "models: %s (scripts/fetch-models.sh fetches them)",
               fe.msg);
    return CLI_FAIL;
  }
  int dim = argus_face_engine_dim(eng);
  static demo_face faces[DEMO_NPHOTOS * DEMO_MAX_FACES];
  float *embs = calloc((size_t)DEMO_NPHOTOS * DEMO_MAX_FACES * (size_t)dim,
                       sizeof(float));
  int nf = 0, ret = CLI_FAIL, bi = -1, bj = -1;
  if (!embs ||
      faces_of_photos(eng, photos, faces, DEMO_NPHOTOS * DEMO_MAX_FACES, &nf,
                      embs, dim) != 0 ||
      best_pair(eng, faces, nf, dim, &bi, &bj) != 0)
    goto out;

  /* A fresh demo database: enrol from the first photo; the camera shows
   * the others (the second photo of that person among them). */
  char dbdir[2200], db[2300];
  snprintf(dbdir, sizeof dbdir, "%s/db", dir);
  snprintf(db, sizeof db, "%s/argus.db", dbdir);
  if (nftw(dbdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS) != 0 && errno != ENOENT) {
    cli_errorf(CMD, "cannot clear the old demo database %s: %s", dbdir,
               strerror(errno));
    goto out;
  }
  /* the store makes no folder for a database path it is given */
  if (mkdir(dbdir, 0700) != 0) {
    cli_errorf(CMD, "cannot create %s: %s", dbdir, strerror(errno));
    goto out;
  }
  char person[128];
  if (enrol(eng, db, photos, &faces[bi], person, sizeof person) != 0)
    goto out;
  fprintf(stderr, "demo: enrolled '%s' into watchlist 'demo' of %s\n", person,
          db);
  argus_face_engine_free(eng);
  eng = NULL;
  char video[4200];
  if (make_video(dir, photos, faces[bi].photo, video, sizeof video) != 0)
    goto out;
  char how[64] = "until Ctrl-C";
  if (!d.serve)
    snprintf(how, sizeof how, "for %.0f s", d.duration);
  fprintf(stderr,
          "demo: watching the simulated camera %s in real time, in a loop, "
          "%s; '%s' is on screen from %d s to %d s of every %d s pass\n",
          video, how, person,
          (faces[bj].photo - (faces[bj].photo > faces[bi].photo ? 2 : 1)) *
              DEMO_SECONDS_PER_PHOTO,
          (faces[bj].photo - (faces[bj].photo > faces[bi].photo ? 1 : 0)) *
              DEMO_SECONDS_PER_PHOTO,
          (DEMO_NPHOTOS - 1) * DEMO_SECONDS_PER_PHOTO);
  ret = d.serve ? demo_serve(&d, db, video, person)
                : demo_watch(&d, db, video, person);
out:
  free(embs);
  argus_face_engine_free(eng);
  return ret;
}
