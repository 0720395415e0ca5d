/*
 * video_bench: what camera decoding costs, for the "how many 1080p streams"
 * figure of the live-video issue.
 *
 *   video_bench [--file PATH] [--seconds N] [--streams 1,4,8] [--quick]
 *   video_bench --decode [--realtime] [--no-threads] [--file PATH]
 *               [--seconds N] [--rounds R]
 *   video_bench --drift [--no-detect] [FILE...]
 *
 * 1. Throughput: one camera decoding the file in a loop as fast as it can,
 *    with a 5 fps analysis cap, without and with skipping non-reference
 *    frames, and with no cap (every frame delivered): source frames/s (the
 *    rate at which the stream is consumed) and decoded frames/s.
 * 2. Real time: N cameras playing the file at its native rate (25 fps for
 *    the default 1080p clip) in a loop with a 5 fps cap, skipping
 *    non-reference frames (the default for that ratio): process CPU per
 *    stream (user + system time over wall time), whether every stream keeps
 *    its rate, and the analysis frames delivered per second.
 *
 * 3. --decode: the decode settings side by side (argus_video_camera_config
 *    decode and threading), one camera decoding the file as fast as it can
 *    (--realtime: 4 cameras at the file's rate) with a 5 fps cap: process
 *    CPU time per source frame, and what that makes per 25 fps stream. The settings run in turn, `rounds` times,
 *    interleaved, and each keeps its minimum: other work on the machine
 *    only ever adds CPU time.
 * 4. --drift: what the cheaper decode settings change in the frames the
 *    cap delivers. Two cameras read the same file at 5 fps, one decoding in
 *    full, one with the setting; each pair of frames (same media time) is
 *    compared: luma PSNR and largest difference of any plane; and the
 *    default face detector (yunet_n at 480 px, ./models or $ARGUS_MODELS)
 *    runs on both: faces matched by IoU, their IoU and score differences,
 *    faces found on one side only and their scores.
 *
 * Frames are popped and released at once in 1-3: this measures ingest
 * only, not detection. The default file is $ARGUS_SHARED_DATA/video/
 * crowd_walk_1080p_4s.mp4 (ARGUS_SHARED_DATA defaults to ../shared/data).
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "argus/face.h"
#include "argus/image.h"
#include "argus/video.h"

static double now_s(void) { return (double)argus_time_ns() * 1e-9; }

static double cpu_s(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 +
         (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6;
}

static long rss_kib(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  long size = 0, res = 0;
  if (!f)
    return -1;
  int ok = fscanf(f, "%ld %ld", &size, &res) == 2;
  fclose(f);
  return ok ? res * (sysconf(_SC_PAGESIZE) / 1024) : -1;
}

typedef struct run_result {
  double wall, cpu;
  uint64_t packets, decoded, delivered, dropped, errors, reduced;
  int width, height;
  double stream_fps;
  long rss_kib;
} run_result;

/* Runs n cameras on the file for `secs` seconds (after `warm` seconds of
 * warm-up that are not counted) and sums their counters. */
static int run_cfg(const char *file, int n, double secs, double warm,
                   int realtime, double max_fps, int skip, int decode,
                   int threads, int threading, run_result *r);

static int run(const char *file, int n, double secs, double warm, int realtime,
               double max_fps, int skip, run_result *r) {
  return run_cfg(file, n, secs, warm, realtime, max_fps, skip,
                 ARGUS_VIDEO_DECODE_FULL, 1, ARGUS_VIDEO_THREADS_AUTO, r);
}

static int run_cfg(const char *file, int n, double secs, double warm,
                   int realtime, double max_fps, int skip, int decode,
                   int threads, int threading, run_result *r) {
  memset(r, 0, sizeof *r);
  argus_video_hub *hub = NULL;
  if (argus_video_hub_create(n, &hub, NULL) != ARGUS_OK)
    return -1;
  for (int i = 0; i < n; i++) {
    argus_video_camera_config c;
    argus_video_camera_config_init(&c);
    c.url = file;
    c.loop = 1;
    c.realtime = realtime;
    c.max_fps = max_fps;
    c.skip_nonref = skip;
    c.decode = decode;
    c.decoder_threads = threads;
    c.threading = threading;
    int idx;
    if (argus_video_hub_add(hub, &c, &idx, NULL) != ARGUS_OK) {
      argus_video_hub_destroy(hub);
      return -1;
    }
  }
  argus_video_stats s0[64], s1;
  double t_start = now_s(), t0 = 0, c0 = 0;
  int counting = 0;
  for (;;) {
    argus_video_frame *f = NULL;
    argus_video_hub_pop(hub, 0.02, &f);
    argus_video_frame_release(f);
    double t = now_s();
    if (!counting && t - t_start >= warm) {
      counting = 1;
      for (int i = 0; i < n && i < 64; i++)
        argus_video_hub_stats(hub, i, &s0[i]);
      t0 = t;
      c0 = cpu_s();
    }
    if (counting && t - t0 >= secs)
      break;
  }
  r->wall = now_s() - t0;
  r->cpu = cpu_s() - c0;
  r->rss_kib = rss_kib();
  for (int i = 0; i < n && i < 64; i++) {
    argus_video_hub_stats(hub, i, &s1);
    r->packets += s1.packets - s0[i].packets;
    r->decoded += s1.frames_decoded - s0[i].frames_decoded;
    r->delivered += (s1.frames_delivered + s1.frames_dropped) -
                    (s0[i].frames_delivered + s0[i].frames_dropped);
    r->dropped += s1.frames_dropped - s0[i].frames_dropped;
    r->reduced += s1.frames_reduced - s0[i].frames_reduced;
    r->errors += s1.errors;
    r->width = s1.width;
    r->height = s1.height;
    r->stream_fps = s1.stream_fps;
  }
  argus_video_hub_destroy(hub);
  return 0;
}

/* ---- 3. decode settings side by side ---------------------------------- */

typedef struct decode_setting {
  const char *name;
  int decode, threads, threading;
} decode_setting;

static int bench_decode(const char *file, double secs, int rounds,
                        int realtime, int with_threads) {
  static const decode_setting set[] = {
      {"full, 1 thread", ARGUS_VIDEO_DECODE_FULL, 1, ARGUS_VIDEO_THREADS_AUTO},
      {"fast, 1 thread", ARGUS_VIDEO_DECODE_FAST, 1, ARGUS_VIDEO_THREADS_AUTO},
      {"nofilter, 1 thread", ARGUS_VIDEO_DECODE_NOFILTER, 1,
       ARGUS_VIDEO_THREADS_AUTO},
      {"full, 2 frame threads", ARGUS_VIDEO_DECODE_FULL, 2,
       ARGUS_VIDEO_THREADS_FRAME},
      {"full, 2 slice threads", ARGUS_VIDEO_DECODE_FULL, 2,
       ARGUS_VIDEO_THREADS_SLICE},
      {"fast, 2 frame threads", ARGUS_VIDEO_DECODE_FAST, 2,
       ARGUS_VIDEO_THREADS_FRAME},
  };
  enum { NSET = sizeof set / sizeof set[0] };
  int nset = with_threads ? NSET : 3; /* the first three: one thread */
  double best[NSET], wall_fps[NSET], reduced[NSET], kept[NSET];
  double stream_fps = 25;
  for (int k = 0; k < NSET; k++)
    best[k] = INFINITY;
  int ncam = realtime ? 4 : 1;
  printf("3. Decode settings, %s, cap 5 fps, skip non-ref auto;\n   %d "
         "interleaved rounds of %.0f s, minimum process CPU per source frame\n",
         realtime ? "4 cameras at the native rate"
                  : "one camera as fast as it can",
         rounds, secs);
  for (int r = 0; r < rounds; r++) {
    for (int k = 0; k < nset; k++) {
      run_result rr;
      if (run_cfg(file, ncam, secs, 1.0, realtime, 5, ARGUS_VIDEO_AUTO,
                  set[k].decode,
                  set[k].threads, set[k].threading, &rr) != 0 ||
          rr.packets == 0) {
        fprintf(stderr, "video_bench: run failed\n");
        return 1;
      }
      double per = rr.cpu / (double)rr.packets;
      printf("   round %d %-24s %7.3f ms CPU/frame  %6.1f source f/s\n", r + 1,
             set[k].name, per * 1e3, (double)rr.packets / rr.wall);
      fflush(stdout);
      if (per < best[k]) {
        best[k] = per;
        wall_fps[k] = (double)rr.packets / rr.wall;
      }
      reduced[k] = (double)rr.reduced / (double)rr.packets;
      kept[k] = (double)rr.delivered / (double)rr.packets;
      if (rr.stream_fps > 0)
        stream_fps = rr.stream_fps;
    }
  }
  printf("\n%-24s %14s %12s %12s %10s %10s\n", "setting", "CPU ms/frame",
         "CPU/stream", "vs full", "reduced", "kept");
  for (int k = 0; k < nset; k++)
    printf("%-24s %14.3f %11.1f%% %11.0f%% %9.0f%% %9.0f%%\n", set[k].name,
           best[k] * 1e3, 100.0 * best[k] * stream_fps,
           100.0 * (best[k] / best[0] - 1.0), 100.0 * reduced[k],
           100.0 * kept[k]);
  printf("(CPU/stream: minimum CPU per source frame times the stream's %.0f "
         "fps; reduced: source\n frames decoded without the loop filter; "
         "kept: source frames delivered)\n",
         stream_fps);
  (void)wall_fps;
  return 0;
}

/* ---- 4. drift of the delivered frames ---------------------------------- */

#define DRIFT_MAXF 64

typedef struct drift_result {
  int frames;            /* pairs compared */
  int mismatched_times;  /* pairs whose media times differ */
  uint64_t count_a, count_b; /* frames delivered by each camera */
  uint64_t reduced;      /* frames the cheap camera decoded with less work */
  uint64_t decoded;
  double psnr_min, psnr_sum; /* luma, over the pairs (inf: identical) */
  int identical;         /* pairs with no pixel difference */
  int maxdiff;           /* largest |a - b| of any plane */
  /* Detections. */
  int faces_a, faces_b, matched;
  double iou_min, dscore_max;
  int only_a, only_b;            /* faces found on one side only */
  double only_score_max;         /* the highest score of those */
} drift_result;

static double iou(const float *a, const float *b) {
  double ix = fmin(a[2], b[2]) - fmax(a[0], b[0]);
  double iy = fmin(a[3], b[3]) - fmax(a[1], b[1]);
  if (ix <= 0 || iy <= 0)
    return 0;
  double in = ix * iy;
  double ua = (double)(a[2] - a[0]) * (a[3] - a[1]) +
              (double)(b[2] - b[0]) * (b[3] - b[1]) - in;
  return ua > 0 ? in / ua : 0;
}

/* Plane p of a YUV420P image: its width and height. */
static void plane_size(const argus_image *im, int p, int *w, int *h) {
  *w = p ? (im->width + 1) / 2 : im->width;
  *h = p ? (im->height + 1) / 2 : im->height;
}

static void compare_pixels(const argus_image *a, const argus_image *b,
                           drift_result *r) {
  double sse = 0;
  int maxd = 0;
  for (int p = 0; p < 3; p++) {
    int w, h;
    plane_size(a, p, &w, &h);
    for (int y = 0; y < h; y++) {
      const uint8_t *ra = a->data[p] + (size_t)y * (size_t)a->stride[p];
      const uint8_t *rb = b->data[p] + (size_t)y * (size_t)b->stride[p];
      for (int x = 0; x < w; x++) {
        int d = ra[x] - rb[x];
        if (d < 0)
          d = -d;
        if (d > maxd)
          maxd = d;
        if (p == 0)
          sse += (double)d * d;
      }
    }
  }
  double mse = sse / ((double)a->width * a->height);
  double psnr = mse > 0 ? 10.0 * log10(255.0 * 255.0 / mse) : INFINITY;
  if (r->frames == 0 || psnr < r->psnr_min)
    r->psnr_min = psnr;
  if (isfinite(psnr))
    r->psnr_sum += psnr;
  else
    r->identical++;
  if (maxd > r->maxdiff)
    r->maxdiff = maxd;
}

static int verbose;

/* The best IoU of box b among n faces. */
static double best_iou(const float *b, const argus_face *f, int n) {
  double best = 0;
  for (int i = 0; i < n; i++)
    best = fmax(best, iou(b, f[i].box));
  return best;
}

static void compare_faces(const argus_face *fa, int na, const argus_face *fb,
                          int nb, double t, drift_result *r) {
  int used[DRIFT_MAXF] = {0};
  r->faces_a += na;
  r->faces_b += nb;
  for (int i = 0; i < na; i++) {
    int best = -1;
    double bi = 0.5; /* the same face: IoU at least 0.5 */
    for (int j = 0; j < nb; j++) {
      double v = used[j] ? 0 : iou(fa[i].box, fb[j].box);
      if (v >= bi) {
        bi = v;
        best = j;
      }
    }
    if (best < 0) {
      if (verbose)
        printf("   t=%.2f only in full: %.0fx%.0f px at %.0f,%.0f score %.3f "
               "(best IoU %.2f)\n",
               t, fa[i].box[2] - fa[i].box[0], fa[i].box[3] - fa[i].box[1],
               fa[i].box[0], fa[i].box[1], fa[i].score,
               best_iou(fa[i].box, fb, nb));
      r->only_a++;
      if (fa[i].score > r->only_score_max)
        r->only_score_max = fa[i].score;
      continue;
    }
    used[best] = 1;
    r->matched++;
    if (bi < r->iou_min)
      r->iou_min = bi;
    double ds = fabs((double)fa[i].score - fb[best].score);
    if (ds > r->dscore_max)
      r->dscore_max = ds;
  }
  for (int j = 0; j < nb; j++)
    if (!used[j]) {
      if (verbose)
        printf("   t=%.2f only in cheap: %.0fx%.0f px at %.0f,%.0f score %.3f "
               "(best IoU %.2f)\n",
               t, fb[j].box[2] - fb[j].box[0], fb[j].box[3] - fb[j].box[1],
               fb[j].box[0], fb[j].box[1], fb[j].score,
               best_iou(fb[j].box, fa, na));
      r->only_b++;
      if (fb[j].score > r->only_score_max)
        r->only_score_max = fb[j].score;
    }
}

static int detect(argus_face_engine *eng, const argus_image *yuv,
                  argus_image *rgb, argus_face *faces, int *n) {
  *n = 0;
  if (!eng)
    return 0;
  if ((rgb->width != yuv->width || rgb->height != yuv->height) &&
      (argus_image_free(rgb),
       argus_image_alloc(rgb, yuv->width, yuv->height, ARGUS_PIX_RGB8) !=
           ARGUS_OK))
    return -1;
  if (argus_image_convert(yuv, rgb) != ARGUS_OK)
    return -1;
  argus_face_detect_opts o;
  argus_face_detect_opts_default(&o);
  argus_face_error fe = {{0}};
  if (argus_face_engine_analyze(eng, rgb, &o, 0, faces, DRIFT_MAXF, n, NULL,
                                &fe) != ARGUS_OK) {
    fprintf(stderr, "video_bench: detection failed: %s\n", fe.msg);
    return -1;
  }
  return 0;
}

/* Reads `file` with two cameras at 5 fps, A decoding in full and B with
 * `decode`, and compares the frames they deliver. */
static int drift(const char *file, int decode, argus_face_engine *eng,
                 drift_result *r) {
  memset(r, 0, sizeof *r);
  r->iou_min = 1;
  argus_video_hub *hub = NULL;
  if (argus_video_hub_create(2, &hub, NULL) != ARGUS_OK)
    return -1;
  int cam[2] = {-1, -1};
  for (int i = 0; i < 2; i++) {
    argus_video_camera_config c;
    argus_video_camera_config_init(&c);
    c.url = file;
    c.max_fps = 5;
    c.queue_frames = 4;
    c.held_frames = 16;
    c.decode = i ? decode : ARGUS_VIDEO_DECODE_FULL;
    if (argus_video_hub_add(hub, &c, &cam[i], NULL) != ARGUS_OK) {
      argus_video_hub_destroy(hub);
      return -1;
    }
  }
  /* Frames of each camera in order, waiting for their pair. */
  argus_video_frame *q[2][32]; /* > queue_frames + held_frames + 1 */
  int qn[2] = {0, 0};
  argus_image rgb = {0};
  static argus_face fa[DRIFT_MAXF], fb[DRIFT_MAXF];
  int rc = 0;
  for (;;) {
    argus_video_frame *f = NULL;
    argus_video_hub_pop(hub, 0.05, &f);
    if (f) {
      int k = f->camera == cam[0] ? 0 : 1;
      if (qn[k] == 32) { /* cannot happen: 21 buffers per camera */
        argus_video_frame_release(f);
        rc = -1;
        break;
      }
      q[k][qn[k]++] = f;
      if (qn[0] && qn[1]) {
        argus_video_frame *a = q[0][0], *b = q[1][0];
        if (fabs(a->media_time - b->media_time) > 1e-6)
          r->mismatched_times++;
        compare_pixels(&a->image, &b->image, r);
        int na = 0, nb = 0;
        if (detect(eng, &a->image, &rgb, fa, &na) != 0 ||
            detect(eng, &b->image, &rgb, fb, &nb) != 0)
          rc = -1;
        compare_faces(fa, na, fb, nb, a->media_time, r);
        r->frames++;
        argus_video_frame_release(a);
        argus_video_frame_release(b);
        for (int k2 = 0; k2 < 2; k2++) {
          memmove(q[k2], q[k2] + 1, (size_t)(qn[k2] - 1) * sizeof q[k2][0]);
          qn[k2]--;
        }
        if (rc)
          break;
      }
      continue;
    }
    argus_video_stats s[2];
    argus_video_hub_stats(hub, cam[0], &s[0]);
    argus_video_hub_stats(hub, cam[1], &s[1]);
    int done = 1;
    for (int k = 0; k < 2; k++)
      done &= (s[k].state == ARGUS_VIDEO_FINISHED ||
               s[k].state == ARGUS_VIDEO_FAILED) &&
              s[k].frames_queued == 0;
    if (done) {
      r->count_a = s[0].frames_delivered;
      r->count_b = s[1].frames_delivered;
      r->reduced = s[1].frames_reduced;
      r->decoded = s[1].frames_decoded;
      if (s[0].state != ARGUS_VIDEO_FINISHED ||
          s[1].state != ARGUS_VIDEO_FINISHED)
        rc = -1;
      break;
    }
  }
  for (int k = 0; k < 2; k++)
    for (int i = 0; i < qn[k]; i++)
      argus_video_frame_release(q[k][i]);
  argus_image_free(&rgb);
  argus_video_hub_destroy(hub);
  return rc;
}

static int bench_drift(int nfiles, char **files, int with_faces) {
  argus_face_engine *eng = NULL;
  if (with_faces) {
    argus_face_engine_opts eo;
    memset(&eo, 0, sizeof eo);
    argus_face_error fe = {{0}};
    if (argus_face_engine_create(&eo, &eng, &fe) != ARGUS_OK) {
      fprintf(stderr, "video_bench: no face engine (%s): pixels only\n",
              fe.msg);
      eng = NULL;
    }
  }
  printf("4. Drift of the frames delivered at 5 fps against full decoding%s\n",
         eng ? " (and faces by " ARGUS_FACE_DEFAULT_DETECTOR ")" : "");
  printf("%-28s %-9s %9s %9s %9s %8s %8s", "file", "decode", "frames",
         "reduced", "PSNR min", "mean", "maxdiff");
  if (eng)
    printf(" %7s %7s %7s %6s %6s %9s", "faces", "matched", "IoU min",
           "dscore", "1-side", "1-side sc");
  printf("\n");
  int rc = 0;
  for (int i = 0; i < nfiles; i++) {
    const char *base = strrchr(files[i], '/');
    base = base ? base + 1 : files[i];
    for (int d = ARGUS_VIDEO_DECODE_FAST; d <= ARGUS_VIDEO_DECODE_NOFILTER;
         d++) {
      drift_result r;
      if (drift(files[i], d, eng, &r) != 0) {
        fprintf(stderr, "video_bench: drift run on %s failed\n", files[i]);
        rc = 1;
        continue;
      }
      int finite = r.frames - r.identical;
      char frames[32], red[32];
      snprintf(frames, sizeof frames, "%d%s", r.frames,
               r.count_a != r.count_b || r.mismatched_times ? "!" : "");
      snprintf(red, sizeof red, "%llu/%llu", (unsigned long long)r.reduced,
               (unsigned long long)r.decoded);
      printf("%-28.28s %-9s %9s %9s %9.2f %8.2f %8d", base,
             argus_video_decode_name(d), frames, red, r.psnr_min,
             finite ? r.psnr_sum / finite : INFINITY, r.maxdiff);
      if (eng)
        printf(" %7d %7d %7.3f %6.3f %6d %9.3f", r.faces_a, r.matched,
               r.iou_min, r.dscore_max, r.only_a + r.only_b,
               r.only_score_max);
      printf("\n");
      fflush(stdout);
      if (r.count_a != r.count_b || r.mismatched_times) {
        fprintf(stderr,
                "video_bench: %s: full delivered %llu frames, %s %llu, %d "
                "media times differ\n",
                base, (unsigned long long)r.count_a,
                argus_video_decode_name(d), (unsigned long long)r.count_b,
                r.mismatched_times);
        rc = 1;
      }
    }
  }
  printf("(frames: pairs compared, '!' when the two cameras delivered "
         "different frames; reduced:\n frames decoded without the loop "
         "filter / decoded; PSNR: luma, over the pairs that differ,\n inf "
         "when none; maxdiff: largest |difference| of any plane; faces: "
         "found in the full\n decode; matched: IoU >= 0.5; dscore: largest "
         "score difference of a matched face;\n 1-side: faces found on one "
         "side only, 1-side sc: the highest score among them)\n");
  argus_face_engine_free(eng);
  return rc;
}

int main(int argc, char **argv) {
  const char *data = getenv("ARGUS_SHARED_DATA");
  char def_file[1024];
  snprintf(def_file, sizeof def_file, "%s/video/crowd_walk_1080p_4s.mp4",
           data ? data : "../shared/data");
  const char *file = def_file;
  double secs = 10;
  char streams_arg[256] = "1,2,4,8";
  int mode_decode = 0, mode_drift = 0, with_faces = 1, rounds = 3;
  int realtime_decode = 0, with_threads = 1;
  char *drift_files[16];
  int ndrift = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--decode") == 0)
      mode_decode = 1;
    else if (strcmp(argv[i], "--drift") == 0)
      mode_drift = 1;
    else if (strcmp(argv[i], "--no-threads") == 0)
      with_threads = 0;
    else if (strcmp(argv[i], "--realtime") == 0)
      realtime_decode = 1;
    else if (strcmp(argv[i], "--verbose") == 0)
      verbose = 1;
    else if (strcmp(argv[i], "--no-detect") == 0)
      with_faces = 0;
    else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc)
      rounds = (int)strtol(argv[++i], NULL, 10);
    else if (mode_drift && argv[i][0] != '-' && ndrift < 16)
      drift_files[ndrift++] = argv[i];
    else if (strcmp(argv[i], "--file") == 0 && i + 1 < argc)
      file = argv[++i];
    else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
      secs = strtod(argv[++i], NULL);
    else if (strcmp(argv[i], "--streams") == 0 && i + 1 < argc)
      snprintf(streams_arg, sizeof streams_arg, "%s", argv[++i]);
    else if (strcmp(argv[i], "--quick") == 0) {
      secs = 3;
      snprintf(streams_arg, sizeof streams_arg, "1,4");
    } else {
      fprintf(stderr,
              "usage: video_bench [--file PATH] [--seconds N] "
              "[--streams 1,4,8] [--quick]\n"
              "       video_bench --decode [--realtime] [--no-threads] "
              "[--file PATH] [--seconds N] [--rounds R]\n"
              "       video_bench --drift [--no-detect] [FILE...]\n");
      return 2;
    }
  }
  if (mode_drift) {
    static char defs[3][1024];
    static const char *names[3] = {"crowd_walk_1080p_4s.mp4",
                                   "hamilton_clip_10s.mp4",
                                   "office_one_by_one_139s.mp4"};
    if (ndrift == 0)
      for (int i = 0; i < 3; i++) {
        snprintf(defs[i], sizeof defs[i], "%s/video/%s",
                 data ? data : "../shared/data", names[i]);
        drift_files[ndrift++] = defs[i];
      }
    return bench_drift(ndrift, drift_files, with_faces);
  }
  if (!(secs > 0) || access(file, R_OK) != 0) {
    fprintf(stderr, "video_bench: cannot read %s\n", file);
    return 1;
  }
  long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
  printf("video_bench: %s, %.0f s per run, %ld CPUs\n\n", file, secs, ncpu);
  if (mode_decode)
    return bench_decode(file, secs, rounds < 1 ? 1 : rounds, realtime_decode,
                        with_threads);

  printf("1. Throughput, one camera decoding as fast as it can (1 decoder "
         "thread)\n");
  printf("%-34s %12s %12s %10s %8s\n", "mode", "source f/s", "decoded f/s",
         "kept f/s", "CPU %");
  struct {
    const char *name;
    double cap;
    int skip;
  } modes[] = {
      {"no cap, every frame", 0, ARGUS_VIDEO_OFF},
      {"cap 5 fps, decode all", 5, ARGUS_VIDEO_OFF},
      {"cap 5 fps, skip non-reference", 5, ARGUS_VIDEO_ON},
  };
  for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++) {
    run_result r;
    if (run(file, 1, secs, 1.0, 0, modes[m].cap, modes[m].skip, &r) != 0) {
      fprintf(stderr, "video_bench: run failed\n");
      return 1;
    }
    printf("%-34s %12.1f %12.1f %10.1f %8.0f\n", modes[m].name,
           (double)r.packets / r.wall, (double)r.decoded / r.wall,
           (double)r.delivered / r.wall, 100.0 * r.cpu / r.wall);
  }

  printf("\n2. Real time: N cameras at the native rate, cap 5 fps\n");
  printf("   (\"CPU/25fps\" is process CPU time per source frame times the "
         "stream rate:\n    the share of one CPU a stream needs, even when "
         "the machine is busy)\n");
  printf("%-20s %11s %12s %9s %7s %10s %10s %8s\n", "streams", "source f/s",
         "per stream", "kept f/s", "CPU %", "CPU/stream", "CPU/25fps",
         "RSS MiB");
  double cost_skip = 0;
  struct {
    long n;
    int skip;
  } rows[32];
  int nrows = 0;
  rows[nrows].n = 1;
  rows[nrows++].skip = ARGUS_VIDEO_OFF;
  char *save = NULL;
  for (char *tok = strtok_r(streams_arg, ",", &save); tok && nrows < 32;
       tok = strtok_r(NULL, ",", &save)) {
    long n = strtol(tok, NULL, 10);
    if (n < 1 || n > 64)
      continue;
    rows[nrows].n = n;
    rows[nrows++].skip = ARGUS_VIDEO_AUTO;
  }
  for (int k = 0; k < nrows; k++) {
    long n = rows[k].n;
    run_result r;
    if (run(file, (int)n, secs, 2.0, 1, 5, rows[k].skip, &r) != 0) {
      fprintf(stderr, "video_bench: run failed\n");
      return 1;
    }
    double per = (double)r.packets / r.wall / (double)n;
    double cpu_pct = 100.0 * r.cpu / r.wall;
    double cost = r.packets ? 100.0 * r.cpu / (double)r.packets * r.stream_fps
                            : 0;
    char label[48];
    snprintf(label, sizeof label, "%ld (%s)", n,
             rows[k].skip == ARGUS_VIDEO_OFF ? "decode all" : "skip non-ref");
    printf("%-20s %11.1f %9.1f/%.0f %9.1f %7.0f %9.1f%% %9.1f%% %8.1f%s\n",
           label, (double)r.packets / r.wall, per, r.stream_fps,
           (double)r.delivered / r.wall, cpu_pct, cpu_pct / (double)n, cost,
           (double)r.rss_kib / 1024.0,
           per < 0.95 * r.stream_fps ? "  (falls behind)" : "");
    if (rows[k].skip != ARGUS_VIDEO_OFF && (cost_skip == 0 || cost < cost_skip))
      cost_skip = cost;
  }
  if (cost_skip > 0)
    printf("\nDecode alone at %.1f%% of a CPU per stream: about %.0f real-time "
           "streams on %ld CPUs\n(before detection and embedding).\n",
           cost_skip, 100.0 * (double)ncpu / cost_skip, ncpu);
  return 0;
}
