/*
 * face_bench: the speed figures of the face issue's Evaluation section.
 *
 *   face_bench IMG [--models DIR] [--reps N]
 *
 * IMG should be a 1080p frame; make one from the shared clip with
 *   ffmpeg -ss 1 -i ../shared/data/video/crowd_walk_1080p_4s.mp4 -frames:v 1 frame.jpg
 * For a pool of 1 and of 2 threads (the caller counts as one), the face
 * engine is loaded once and the table gives:
 *  - detection only, ms per frame (median of N runs after one warm-up run,
 *    min and process CPU alongside) at --size 320/480/640/960/1920 and for the
 *    tiled pyramid (--tile 640: full frame at 320, then octaves to native),
 *    with mirrored whole-frame passes and box voting (--flip --vote 0.5),
 *    and the --accurate preset (480 and 640 whole, native tiles, flip,
 *    vote);
 *  - landmarks + align + embed, ms per face: (analyze with
 *    ARGUS_FACE_DO_EMBED) - (detection only), medians, over the faces the
 *    pyramid finds, divided by their number.
 * Models: --models DIR, default ./models; the detector card: $ARGUS_DETECTOR
 * (e.g. fr_detect, yunet_n), else the engine's default.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "argus/face.h"

#define MAX_FACES 1024
#define MAX_REPS 64

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static double cpu_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static argus_face faces[MAX_FACES];
static float emb[MAX_FACES * 512];

typedef struct timing {
  double wall, wall_min, cpu;
  int faces;
} timing;

/* Median of reps runs of analyze (after a warm-up run). */
static int time_analyze(argus_face_engine *e, const argus_image *img,
                        const argus_face_detect_opts *d, unsigned what,
                        int reps, timing *t) {
  double w[MAX_REPS], c[MAX_REPS];
  int n = 0;
  argus_face_error err = {{0}};
  float *out = (what & ARGUS_FACE_DO_EMBED) ? emb : NULL;
  for (int r = -1; r < reps; r++) {
    double t0 = now_ms(), c0 = cpu_ms();
    argus_err rc =
        argus_face_engine_analyze(e, img, d, what, faces, MAX_FACES, &n, out,
                                  &err);
    if (rc) {
      fprintf(stderr, "face_bench: analyze: %s\n",
              err.msg[0] ? err.msg : argus_strerror(rc));
      return -1;
    }
    if (r >= 0) {
      w[r] = now_ms() - t0;
      c[r] = cpu_ms() - c0;
    }
  }
  t->faces = n;
  t->cpu = median(c, reps);
  t->wall = median(w, reps); /* sorts w */
  t->wall_min = w[0];
  return 0;
}

int main(int argc, char **argv) {
  const char *path = NULL, *models = "models";
  int reps = 5;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--models") && i + 1 < argc)
      models = argv[++i];
    else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
      reps = atoi(argv[++i]);
    else if (argv[i][0] != '-' && !path)
      path = argv[i];
    else {
      fprintf(stderr, "usage: face_bench IMG [--models DIR] [--reps N]\n");
      return 2;
    }
  }
  if (!path || reps < 1 || reps > MAX_REPS) {
    fprintf(stderr, "usage: face_bench IMG [--models DIR] [--reps N (1..%d)]\n"
                    "  (a 1080p frame: ffmpeg -ss 1 -i ../shared/data/video/"
                    "crowd_walk_1080p_4s.mp4 -frames:v 1 frame.jpg)\n",
            MAX_REPS);
    return 2;
  }
  argus_image img;
  argus_image_error ie = {{0}};
  argus_err rc = argus_image_read_file(path, ARGUS_PIX_RGB8, &img, &ie);
  if (rc) {
    fprintf(stderr, "face_bench: %s\n", ie.msg[0] ? ie.msg : argus_strerror(rc));
    return 1;
  }
  static const struct {
    const char *name;
    int size, tile, flip;
    float vote;
  } S[] = {{"size 320", 320, 0, 0, 0},
           {"size 480 (default)", 480, 0, 0, 0},
           {"size 640", 640, 0, 0, 0},
           {"size 960", 960, 0, 0, 0},
           {"size 1920", 1920, 0, 0, 0},
           {"size 480 flip+vote", 480, 0, 1, 0.5f},
           {"pyramid (--tile 640)", 0, 640, 0, 0},
           {"pyramid flip+vote", 0, 640, 1, 0.5f},
           {"--accurate", -1, 0, 0, 0}};
  const int nset = (int)(sizeof S / sizeof S[0]);
  printf("face_bench: %s (%dx%d), median of %d runs\n\n", path, img.width,
         img.height, reps);
  printf("%-22s %7s %6s %10s %10s %10s\n", "setting", "threads", "faces",
         "ms/frame", "min ms", "cpu ms");
  int status = 0;
  for (int th = 1; th <= 2 && !status; th++) {
    argus_threadpool *pool = NULL;
    if ((rc = argus_threadpool_create(th, &pool))) {
      fprintf(stderr, "face_bench: threads: %s\n", argus_strerror(rc));
      return 1;
    }
    argus_face_engine_opts o;
    memset(&o, 0, sizeof o);
    o.models_dir = models;
    o.pool = pool;
    argus_face_engine *e = NULL;
    argus_face_error err = {{0}};
    if ((rc = argus_face_engine_create(&o, &e, &err))) {
      fprintf(stderr, "face_bench: %s\n",
              err.msg[0] ? err.msg : argus_strerror(rc));
      argus_threadpool_destroy(pool);
      return 1;
    }
    for (int s = 0; s < nset && !status; s++) {
      argus_face_detect_opts d;
      argus_face_detect_opts_default(&d);
      d.size = S[s].size;
      d.tile = S[s].tile;
      d.flip = S[s].flip;
      d.vote_iou = S[s].vote;
      if (S[s].size < 0) {
        argus_face_detect_opts_default(&d);
        argus_face_detect_opts_accurate(&d);
      }
      timing t;
      if (time_analyze(e, &img, &d, 0, reps, &t)) {
        status = 1;
        break;
      }
      printf("%-22s %7d %6d %10.1f %10.1f %10.1f\n", S[s].name, th, t.faces,
             t.wall, t.wall_min, t.cpu);
      fflush(stdout);
      if (S[s].tile && !S[s].flip) {
        timing full;
        if (time_analyze(e, &img, &d, ARGUS_FACE_DO_EMBED, reps, &full)) {
          status = 1;
          break;
        }
        int n = full.faces > 0 ? full.faces : 1;
        printf("%-22s %7d %6d %10.2f ms/face wall, %.2f ms/face cpu\n",
               "landmarks+align+embed", th, full.faces,
               (full.wall - t.wall) / n, (full.cpu - t.cpu) / n);
      }
    }
    argus_face_engine_free(e);
    argus_threadpool_destroy(pool);
  }
  argus_image_free(&img);
  return status;
}
