/* Cheaper decoding (argus_video_camera_config.decode; docs/video.md,
 * "Cheaper decoding"). Two cameras read the same clip at 5 fps, one
 * decoding in full and one with the setting, and the frames they deliver
 * are compared pair by pair:
 *
 * - the same frames: count and media times;
 * - FAST decodes most frames that are not delivered without the loop
 *   filter (frames_reduced), and the delivered frames stay close to the
 *   full decode: luma PSNR of every frame >= 38 dB, no sample off by more
 *   than 48 (measured: 40.2 dB and 32 at worst, the Hamilton clip);
 * - the faces the default detector finds on them are the same: every face
 *   scored >= 0.80 on one side (the card's threshold is 0.70) is found on
 *   the other at IoU >= 0.5 with a score within 0.15; faces found on one
 *   side only (scores within 0.1 of the threshold) are at most 5 % of the
 *   faces (measured: 5 of 155 on the crowd clip, none on the others);
 * - NOFILTER drops the loop filter on every frame (its frames differ);
 *   FULL and FAST without a rate cap give identical pixels.
 *
 * Over RTSP (the test server, $ARGUS_RTSP_SERVER, when built) the first
 * packets come without timestamps: FAST plans again once they are out
 * (reduced frames > 0).
 *
 * Also: the H.264 NAL header reader and the settings' validation. The
 * clips are ../shared/data/video/{crowd_walk_1080p_4s,hamilton_clip_10s,
 * office_one_by_one_139s}.mp4: the clip part skips with a message without
 * them, the face part without the models. */
#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "argus/face.h"
#include "argus/image.h"
#include "argus/video.h"
#include "check.h"
#include "video/video_internal.h"

#define MAXF 64

/* ---- the NAL header reader ---------------------------------------------- */

static void test_h264_refs(void) {
  /* avcC, 4-byte lengths: an IDR slice (nal_ref_idc 3), a P slice (2), a
   * non-reference B slice (0), SEI + reference slice, two slices that
   * disagree, a length past the end, SEI only. */
  static const uint8_t idr[] = {0, 0, 0, 2, 0x65, 0x88};
  static const uint8_t p[] = {0, 0, 0, 2, 0x41, 0x9a};
  static const uint8_t b[] = {0, 0, 0, 2, 0x01, 0x9e};
  static const uint8_t sei_p[] = {0, 0, 0, 2, 0x06, 0x05, 0, 0, 0, 2, 0x41, 0x9a};
  static const uint8_t mixed[] = {0, 0, 0, 2, 0x41, 0x9a, 0, 0, 0, 2, 0x01, 0x9e};
  static const uint8_t cut[] = {0, 0, 0, 9, 0x41, 0x9a};
  static const uint8_t sei[] = {0, 0, 0, 2, 0x06, 0x05};
  CHECK_INT_EQ(video_h264_packet_ref(idr, sizeof idr, 4), 1);
  CHECK_INT_EQ(video_h264_packet_ref(p, sizeof p, 4), 1);
  CHECK_INT_EQ(video_h264_packet_ref(b, sizeof b, 4), 0);
  CHECK_INT_EQ(video_h264_packet_ref(sei_p, sizeof sei_p, 4), 1);
  CHECK_INT_EQ(video_h264_packet_ref(mixed, sizeof mixed, 4), -1);
  CHECK_INT_EQ(video_h264_packet_ref(cut, sizeof cut, 4), -1);
  CHECK_INT_EQ(video_h264_packet_ref(sei, sizeof sei, 4), -1);
  CHECK_INT_EQ(video_h264_packet_ref(p, sizeof p, 5), -1);
  CHECK_INT_EQ(video_h264_packet_ref(NULL, 0, 4), -1);
  /* 2-byte lengths. */
  static const uint8_t b2[] = {0, 2, 0x01, 0x9e};
  CHECK_INT_EQ(video_h264_packet_ref(b2, sizeof b2, 2), 0);
  /* Annex B: access unit delimiter, then a slice. */
  static const uint8_t ax_p[] = {0, 0, 0, 1, 0x09, 0xf0, 0, 0, 1, 0x41, 0x9a};
  static const uint8_t ax_b[] = {0, 0, 0, 1, 0x09, 0xf0, 0, 0, 1, 0x01, 0x9e};
  static const uint8_t ax_none[] = {0x41, 0x9a, 0x41};
  CHECK_INT_EQ(video_h264_packet_ref(ax_p, sizeof ax_p, 0), 1);
  CHECK_INT_EQ(video_h264_packet_ref(ax_b, sizeof ax_b, 0), 0);
  CHECK_INT_EQ(video_h264_packet_ref(ax_none, sizeof ax_none, 0), -1);
}

static void test_settings(void) {
  CHECK(strcmp(argus_video_decode_name(ARGUS_VIDEO_DECODE_FULL), "full") == 0);
  CHECK(strcmp(argus_video_decode_name(ARGUS_VIDEO_DECODE_FAST), "fast") == 0);
  CHECK(argus_video_decode_name(3) == NULL);
  argus_video_camera_config c;
  argus_video_camera_config_init(&c);
  CHECK_INT_EQ(c.decode, ARGUS_VIDEO_DECODE_FAST); /* the default */
  CHECK_INT_EQ(c.threading, ARGUS_VIDEO_THREADS_AUTO);
  argus_video_hub *hub = NULL;
  CHECK_OK(argus_video_hub_create(1, &hub, NULL));
  c.url = "/nonexistent.mp4";
  int idx = -1;
  argus_error_detail err = {{0}};
  c.decode = 3;
  CHECK_INT_EQ(argus_video_hub_add(hub, &c, &idx, &err), ARGUS_E_INVALID_ARG);
  CHECK(strstr(err.msg, "decode") != NULL);
  c.decode = ARGUS_VIDEO_DECODE_FULL;
  c.threading = -1;
  CHECK_INT_EQ(argus_video_hub_add(hub, &c, &idx, &err), ARGUS_E_INVALID_ARG);
  CHECK(strstr(err.msg, "threading") != NULL);
  argus_video_hub_destroy(hub);
}

/* ---- two decodes of one clip, compared ------------------------------------ */

typedef struct pair_result {
  int frames, time_mismatch;
  argus_video_stats st[2]; /* full, other */
  double psnr_min;         /* luma; INFINITY when all pairs are identical */
  int maxdiff;
  int identical;
  int faces, matched, one_side, strong_unmatched;
  double iou_min, dscore_max, one_side_score_max;
} pair_result;

static double iou(const float *a, const float *b) {
  double ix = fmin(a[2], b[2]) - fmax(a[0], b[0]);
  double iy = fmin(a[3], b[3]) - fmax(a[1], b[1]);
  if (ix <= 0 || iy <= 0)
    return 0;
  double in = ix * iy;
  double u = (double)(a[2] - a[0]) * (a[3] - a[1]) +
             (double)(b[2] - b[0]) * (b[3] - b[1]) - in;
  return u > 0 ? in / u : 0;
}

static void compare_pixels(const argus_image *a, const argus_image *b,
                           pair_result *r) {
  double sse = 0;
  int maxd = 0;
  for (int p = 0; p < 3; p++) {
    int w = p ? (a->width + 1) / 2 : a->width;
    int h = p ? (a->height + 1) / 2 : a->height;
    for (int y = 0; y < h; y++) {
      const uint8_t *ra = a->data[p] + (size_t)y * (size_t)a->stride[p];
      const uint8_t *rb = b->data[p] + (size_t)y * (size_t)b->stride[p];
      for (int x = 0; x < w; x++) {
        int d = abs(ra[x] - rb[x]);
        maxd = d > maxd ? d : maxd;
        if (p == 0)
          sse += (double)d * d;
      }
    }
  }
  double mse = sse / ((double)a->width * a->height);
  double psnr = mse > 0 ? 10 * log10(255.0 * 255.0 / mse) : INFINITY;
  if (psnr < r->psnr_min)
    r->psnr_min = psnr;
  if (maxd > r->maxdiff)
    r->maxdiff = maxd;
  r->identical += maxd == 0;
}

/* Faces of a on b: matched at IoU >= 0.5 (greedy, best first). */
static void compare_faces(const argus_face *fa, int na, const argus_face *fb,
                          int nb, pair_result *r) {
  int used[MAXF] = {0};
  r->faces += na;
  for (int i = 0; i < na; i++) {
    int best = -1;
    double bi = 0.5;
    for (int j = 0; j < nb; j++) {
      double v = used[j] ? 0 : iou(fa[i].box, fb[j].box);
      if (v >= bi) {
        bi = v;
        best = j;
      }
    }
    if (best < 0) {
      r->one_side++;
      r->strong_unmatched += fa[i].score >= 0.80f;
      r->one_side_score_max = fmax(r->one_side_score_max, fa[i].score);
      continue;
    }
    used[best] = 1;
    r->matched++;
    r->iou_min = fmin(r->iou_min, bi);
    r->dscore_max = fmax(r->dscore_max, fabs((double)fa[i].score - fb[best].score));
  }
  for (int j = 0; j < nb; j++)
    if (!used[j]) {
      r->one_side++;
      r->strong_unmatched += fb[j].score >= 0.80f;
      r->one_side_score_max = fmax(r->one_side_score_max, fb[j].score);
    }
}

static int detect(argus_face_engine *eng, const argus_image *yuv,
                  argus_image *rgb, argus_face *faces, int *n) {
  *n = 0;
  if (rgb->width != yuv->width || rgb->height != yuv->height) {
    argus_image_free(rgb);
    if (argus_image_alloc(rgb, yuv->width, yuv->height, ARGUS_PIX_RGB8))
      return -1;
  }
  if (argus_image_convert(yuv, rgb))
    return -1;
  argus_face_detect_opts o;
  argus_face_detect_opts_default(&o);
  argus_face_error fe = {{0}};
  argus_err rc = argus_face_engine_analyze(eng, rgb, &o, 0, faces, MAXF, n,
                                           NULL, &fe);
  if (rc)
    fprintf(stderr, "detection: %s\n", fe.msg);
  return rc ? -1 : 0;
}

/* Camera 0 decodes `path` in full, camera 1 with `decode`; both at `fps`
 * (0: no cap). Faces when eng is not NULL. loop_pairs > 0: both loop the
 * file and stop after that many pairs. */
static void run_pair_loop(const char *path, int decode, double fps,
                          argus_face_engine *eng, int loop_pairs,
                          pair_result *r);

static void run_pair(const char *path, int decode, double fps,
                     argus_face_engine *eng, pair_result *r) {
  run_pair_loop(path, decode, fps, eng, 0, r);
}

/* Decoder threads of the camera with the setting (camera 0: one). */
static int pair_threads = 1;

static void run_pair_loop(const char *path, int decode, double fps,
                          argus_face_engine *eng, int loop_pairs,
                          pair_result *r) {
  memset(r, 0, sizeof *r);
  r->psnr_min = INFINITY;
  r->iou_min = 1;
  argus_video_hub *hub = NULL;
  CHECK_OK(argus_video_hub_create(2, &hub, NULL));
  if (!hub)
    return;
  int cam[2] = {-1, -1};
  for (int i = 0; i < 2; i++) {
    argus_video_camera_config c;
    argus_video_camera_config_init(&c);
    c.url = path;
    c.max_fps = fps;
    c.queue_frames = 4;
    c.held_frames = 16;
    c.decode = i ? decode : ARGUS_VIDEO_DECODE_FULL;
    c.loop = loop_pairs > 0;
    if (i) {
      c.decoder_threads = pair_threads;
      c.threading = ARGUS_VIDEO_THREADS_FRAME;
    }
    CHECK_OK(argus_video_hub_add(hub, &c, &cam[i], NULL));
  }
  /* Each camera's frames in order until their pair comes (a camera has 21
   * buffers: queue + held + 1). */
  argus_video_frame *q[2][32];
  int qn[2] = {0, 0};
  argus_image rgb = {0};
  static argus_face fa[MAXF], fb[MAXF];
  for (;;) {
    argus_video_frame *f = NULL;
    CHECK_OK(argus_video_hub_pop(hub, 0.05, &f));
    if (f) {
      int k = f->camera == cam[0] ? 0 : 1;
      CHECK(qn[k] < 32);
      if (qn[k] >= 32) {
        argus_video_frame_release(f);
        break;
      }
      q[k][qn[k]++] = f;
      if (!qn[0] || !qn[1])
        continue;
      argus_video_frame *a = q[0][0], *b = q[1][0];
      r->time_mismatch += a->media_time != b->media_time;
      compare_pixels(&a->image, &b->image, r);
      if (eng) {
        int na = 0, nb = 0;
        CHECK_OK(detect(eng, &a->image, &rgb, fa, &na));
        CHECK_OK(detect(eng, &b->image, &rgb, fb, &nb));
        compare_faces(fa, na, fb, nb, r);
      }
      r->frames++;
      argus_video_frame_release(a);
      argus_video_frame_release(b);
      for (int j = 0; j < 2; j++) {
        memmove(q[j], q[j] + 1, (size_t)(qn[j] - 1) * sizeof q[j][0]);
        qn[j]--;
      }
      if (loop_pairs > 0 && r->frames >= loop_pairs)
        break;
      continue;
    }
    int done = 1;
    for (int j = 0; j < 2; j++) {
      CHECK_OK(argus_video_hub_stats(hub, cam[j], &r->st[j]));
      done &= (r->st[j].state == ARGUS_VIDEO_FINISHED ||
               r->st[j].state == ARGUS_VIDEO_FAILED) &&
              r->st[j].frames_queued == 0;
    }
    if (done)
      break;
  }
  for (int j = 0; j < 2; j++) {
    for (int i = 0; i < qn[j]; i++)
      argus_video_frame_release(q[j][i]);
    if (loop_pairs > 0)
      CHECK_OK(argus_video_hub_stats(hub, cam[j], &r->st[j]));
    else
      CHECK_INT_EQ(r->st[j].state, ARGUS_VIDEO_FINISHED);
    CHECK_INT_EQ(r->st[j].frames_dropped, 0);
  }
  argus_image_free(&rgb);
  argus_video_hub_destroy(hub);
}

static void test_clip(const char *dir, const char *name,
                      argus_face_engine *eng) {
  char path[2048];
  snprintf(path, sizeof path, "%s/video/%s", dir, name);
  if (access(path, R_OK) != 0) {
    printf("SKIP %s: not found\n", path);
    return;
  }
  pair_result r;

  /* FAST against FULL at 5 fps: the same frames, close pixels, the same
   * faces. */
  run_pair(path, ARGUS_VIDEO_DECODE_FAST, 5, eng, &r);
  const argus_video_stats *full = &r.st[0], *fast = &r.st[1];
  uint64_t not_delivered = fast->frames_decoded - fast->frames_delivered;
  printf("%s, fast: %d frames, %llu of %llu decoded frames reduced (%llu not "
         "delivered); luma PSNR >= %.2f dB, max diff %d; faces %d, matched %d "
         "(IoU >= %.3f, score diff <= %.3f), one side only %d (score <= %.3f)\n",
         name, r.frames, (unsigned long long)fast->frames_reduced,
         (unsigned long long)fast->frames_decoded,
         (unsigned long long)not_delivered, r.psnr_min, r.maxdiff, r.faces,
         r.matched, r.iou_min, r.dscore_max, r.one_side, r.one_side_score_max);
  CHECK(r.frames > 0);
  CHECK_INT_EQ(full->frames_delivered, fast->frames_delivered);
  CHECK_INT_EQ(full->frames_decoded, fast->frames_decoded);
  CHECK_INT_EQ(r.frames, (int)full->frames_delivered);
  CHECK_INT_EQ(r.time_mismatch, 0);
  CHECK_INT_EQ(full->frames_reduced, 0);
  CHECK_INT_EQ(full->decode, ARGUS_VIDEO_DECODE_FULL);
  CHECK_INT_EQ(fast->decode, ARGUS_VIDEO_DECODE_FAST);
  /* Most frames that are not delivered are reduced (measured: 30 of 32,
   * 226 of 229, 697 of 697); never more than those. */
  CHECK(fast->frames_reduced * 10 >= not_delivered * 8);
  CHECK(fast->frames_reduced <= not_delivered);
  /* Reduced reference frames drift the delivered ones a little. */
  CHECK(r.identical < r.frames);
  CHECK(r.psnr_min >= 38.0);
  CHECK(r.maxdiff <= 48);
  if (eng) {
    CHECK(r.faces > 0);
    CHECK_INT_EQ(r.strong_unmatched, 0);
    CHECK(r.dscore_max <= 0.15);
    CHECK(r.one_side * 20 <= r.faces);
  }

  /* NOFILTER: every decoded frame without the loop filter; same frames. */
  run_pair(path, ARGUS_VIDEO_DECODE_NOFILTER, 5, NULL, &r);
  printf("%s, nofilter: %d frames, luma PSNR >= %.2f dB, max diff %d\n", name,
         r.frames, r.psnr_min, r.maxdiff);
  CHECK_INT_EQ(r.st[0].frames_delivered, r.st[1].frames_delivered);
  CHECK_INT_EQ(r.time_mismatch, 0);
  CHECK_INT_EQ(r.st[1].frames_reduced, r.st[1].frames_decoded);
  CHECK_INT_EQ(r.identical, 0);
}

/* ---- RTSP ------------------------------------------------------------------ */

extern char **environ;

static int free_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    return 0;
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  int port = 0;
  if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
      getsockname(fd, (struct sockaddr *)&a, &len) == 0)
    port = ntohs(a.sin_port);
  close(fd);
  return port;
}

/* Starts tests/tools/rtsp_server on `file`; its "READY url" line gives the
 * URL. Returns the pid, 0 on failure, -1 when the server says SKIP (then
 * url holds its line). */
static pid_t start_rtsp_server(const char *server, const char *file,
                               char *url, size_t url_size) {
  int fds[2];
  if (pipe(fds) != 0)
    return 0;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
  posix_spawn_file_actions_addclose(&fa, fds[0]);
  char port_s[16];
  snprintf(port_s, sizeof port_s, "%d", free_port());
  char *argv[] = {(char *)server, "--port", port_s, "--path", "/cam",
                  (char *)file, NULL};
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
  /* GStreamer's first start builds its registry: up to 20 s. */
  for (int waited = 0; waited < 100 && n + 1 < sizeof line;) {
    struct pollfd pf = {fds[0], POLLIN, 0};
    if (poll(&pf, 1, 200) <= 0) {
      waited++;
      continue;
    }
    if (read(fds[0], line + n, 1) <= 0 || line[n] == '\n')
      break;
    n++;
  }
  line[n] = '\0';
  close(fds[0]);
  if (strncmp(line, "READY ", 6) != 0) {
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    snprintf(url, url_size, "%s", line);
    return strncmp(line, "SKIP ", 5) == 0 ? -1 : 0;
  }
  snprintf(url, url_size, "%s", line + 6);
  return pid;
}

static void test_rtsp(const char *dir) {
  const char *server = getenv("ARGUS_RTSP_SERVER");
  if (!server || !server[0] || access(server, X_OK) != 0) {
    printf("SKIP rtsp: no test server (ARGUS_RTSP_SERVER; the build needs "
           "libgstrtspserver-1.0-dev)\n");
    return;
  }
  char file[2048], url[256];
  snprintf(file, sizeof file, "%s/video/crowd_walk_1080p_4s.mp4", dir);
  pid_t pid = start_rtsp_server(server, file, url, sizeof url);
  if (pid < 0) {
    printf("%s\n", url);
    return;
  }
  CHECK(pid > 0);
  if (pid <= 0)
    return;
  argus_video_hub *hub = NULL;
  CHECK_OK(argus_video_hub_create(1, &hub, NULL));
  argus_video_camera_config c;
  argus_video_camera_config_init(&c);
  c.url = url;
  c.max_fps = 5;
  int cam = -1;
  CHECK_OK(argus_video_hub_add(hub, &c, &cam, NULL));
  argus_video_stats s;
  memset(&s, 0, sizeof s);
  /* 4 s of the stream at 25 fps. */
  for (int i = 0; i < 400 && s.packets < 100; i++) {
    argus_video_frame *f = NULL;
    CHECK_OK(argus_video_hub_pop(hub, 0.05, &f));
    argus_video_frame_release(f);
    CHECK_OK(argus_video_hub_stats(hub, cam, &s));
  }
  printf("rtsp, fast: %llu packets, %llu decoded, %llu reduced, %llu "
         "delivered\n",
         (unsigned long long)s.packets, (unsigned long long)s.frames_decoded,
         (unsigned long long)s.frames_reduced,
         (unsigned long long)s.frames_delivered);
  CHECK(s.packets >= 100);
  CHECK(s.frames_delivered >= 15);
  /* Measured: 16 of 26 frames not delivered (the first ones are decoded
   * in full: no timestamps yet). */
  CHECK(s.frames_reduced * 4 >= s.frames_skipped);
  CHECK(s.frames_reduced <= s.frames_skipped + 8); /* + frames in flight */
  argus_video_hub_destroy(hub);
  kill(pid, SIGTERM);
  waitpid(pid, NULL, 0);
}

int main(void) {
  test_h264_refs();
  test_settings();

  const char *dir = getenv("ARGUS_SHARED_DATA");
  char crowd[2048];
  snprintf(crowd, sizeof crowd, "%s/video/crowd_walk_1080p_4s.mp4",
           dir ? dir : "");
  if (!dir || !*dir || access(crowd, R_OK) != 0) {
    printf("SKIP the clips: no %s (ARGUS_SHARED_DATA, ../shared/data)\n",
           crowd);
    return check_report("test_video_decode");
  }

  /* Without a rate cap every frame is delivered: FAST reduces nothing. */
  {
    char path[2048];
    snprintf(path, sizeof path, "%s/video/hamilton_clip_10s.mp4", dir);
    pair_result r;
    run_pair(path, ARGUS_VIDEO_DECODE_FAST, 0, NULL, &r);
    CHECK_INT_EQ(r.frames, 275);
    CHECK_INT_EQ(r.st[1].frames_reduced, 0);
    CHECK_INT_EQ(r.identical, r.frames);
  }

  /* Looping: the look-ahead and the frames in flight start again at each
   * pass (3 passes of the crowd clip: 21 frames each). */
  {
    pair_result r;
    run_pair_loop(crowd, ARGUS_VIDEO_DECODE_FAST, 5, NULL, 63, &r);
    printf("crowd, fast, looping: %d frames, %llu reduced, luma PSNR >= %.2f "
           "dB\n",
           r.frames, (unsigned long long)r.st[1].frames_reduced, r.psnr_min);
    CHECK_INT_EQ(r.frames, 63);
    CHECK_INT_EQ(r.time_mismatch, 0);
    CHECK(r.st[1].frames_reduced >= 60);
    CHECK(r.psnr_min >= 38.0);
  }

  /* Frame threads: the setting is copied into each thread's context with
   * its packet, and the frames in the threads are in flight. */
  for (int clip = 0; clip < 2; clip++) {
    char path[2048];
    snprintf(path, sizeof path, "%s/video/%s", dir,
             clip ? "hamilton_clip_10s.mp4" : "crowd_walk_1080p_4s.mp4");
    pair_result r;
    pair_threads = 3;
    run_pair(path, ARGUS_VIDEO_DECODE_FAST, 5, NULL, &r);
    pair_threads = 1;
    uint64_t not_delivered = r.st[1].frames_decoded - r.st[1].frames_delivered;
    printf("%s, fast, 3 frame threads: %d frames, %llu reduced of %llu not "
           "delivered, luma PSNR >= %.2f dB\n",
           clip ? "hamilton" : "crowd", r.frames,
           (unsigned long long)r.st[1].frames_reduced,
           (unsigned long long)not_delivered, r.psnr_min);
    CHECK_INT_EQ(r.frames, (int)r.st[0].frames_delivered);
    CHECK_INT_EQ(r.st[0].frames_delivered, r.st[1].frames_delivered);
    CHECK_INT_EQ(r.time_mismatch, 0);
    CHECK(r.st[1].frames_reduced * 10 >= not_delivered * 8);
    CHECK(r.st[1].frames_reduced <= not_delivered);
    CHECK(r.psnr_min >= 38.0);
  }

  argus_face_engine_opts eo;
  memset(&eo, 0, sizeof eo);
  eo.models_dir = getenv("ARGUS_MODELS_DIR");
  argus_face_engine *eng = NULL;
  argus_face_error fe = {{0}};
  if (argus_face_engine_create(&eo, &eng, &fe) != ARGUS_OK) {
    printf("SKIP the face comparison: %s\n", fe.msg);
    eng = NULL;
  }
  test_clip(dir, "crowd_walk_1080p_4s.mp4", eng);
  test_clip(dir, "hamilton_clip_10s.mp4", eng);
  test_clip(dir, "office_one_by_one_139s.mp4", eng);
  argus_face_engine_free(eng);
  test_rtsp(dir);
  return check_report("test_video_decode");
}
