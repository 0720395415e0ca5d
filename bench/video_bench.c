/*
 * video_bench: what camera decoding costs, for the "how many 1080p streams"
 * figure of the live-video issue.
 *
 *   video_bench [--file PATH] [--seconds N] [--streams 1,4,8] [--quick]
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
 * Frames are popped and released at once: this measures ingest only, not
 * detection. The default file is $ARGUS_SHARED_DATA/video/
 * crowd_walk_1080p_4s.mp4 (ARGUS_SHARED_DATA defaults to ../shared/data).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

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
  uint64_t packets, decoded, delivered, dropped, errors;
  int width, height;
  double stream_fps;
  long rss_kib;
} run_result;

/* Runs n cameras on the file for `secs` seconds (after `warm` seconds of
 * warm-up that are not counted) and sums their counters. */
static int run(const char *file, int n, double secs, double warm, int realtime,
               double max_fps, int skip, run_result *r) {
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
    r->errors += s1.errors;
    r->width = s1.width;
    r->height = s1.height;
    r->stream_fps = s1.stream_fps;
  }
  argus_video_hub_destroy(hub);
  return 0;
}

int main(int argc, char **argv) {
  const char *data = getenv("ARGUS_SHARED_DATA");
  char def_file[1024];
  snprintf(def_file, sizeof def_file, "%s/video/crowd_walk_1080p_4s.mp4",
           data ? data : "../shared/data");
  const char *file = def_file;
  double secs = 10;
  char streams_arg[256] = "1,2,4,8";
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--file") == 0 && i + 1 < argc)
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
              "[--streams 1,4,8] [--quick]\n");
      return 2;
    }
  }
  if (!(secs > 0) || access(file, R_OK) != 0) {
    fprintf(stderr, "video_bench: cannot read %s\n", file);
    return 1;
  }
  long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
  printf("video_bench: %s, %.0f s per run, %ld CPUs\n\n", file, secs, ncpu);

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
