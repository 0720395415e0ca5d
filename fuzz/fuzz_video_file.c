/* libFuzzer harness for camera sources: the input is a video file (any
 * container FFmpeg probes). It is put in a memory file and played by a
 * camera of a hub to its end, so that argus's side (stream selection, media
 * time mapping, the rate cap, zero-copy wrapping and conversion into pooled
 * buffers, truncation checks, error reporting) meets malformed streams.
 * The first byte picks the delivered format and the rate cap.
 *
 *   build-fuzz/fuzz/fuzz_video_file -max_total_time=300 -timeout=30 DIR
 * A corpus: a few short clips, e.g. the first 64 KiB of the sample videos.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "argus/video.h"

static argus_video_hub *g_hub;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2 || size > (8u << 20))
    return 0;
  if (!g_hub) {
    argus_log_set_level((argus_log_level)-1); /* quiet: errors are expected */
    if (argus_video_hub_create(1, &g_hub, NULL) != ARGUS_OK)
      return 0;
  }
  int fd = memfd_create("argus-fuzz-video", 0);
  if (fd < 0)
    return 0;
  const uint8_t *p = data + 1;
  size_t left = size - 1;
  while (left > 0) {
    ssize_t n = write(fd, p, left);
    if (n <= 0)
      break;
    p += n;
    left -= (size_t)n;
  }
  char url[64];
  snprintf(url, sizeof url, "/proc/self/fd/%d", fd);

  static const argus_pixfmt fmts[4] = {ARGUS_PIX_YUV420P, ARGUS_PIX_RGB8,
                                       ARGUS_PIX_GRAY8, ARGUS_PIX_NV12};
  argus_video_camera_config c;
  argus_video_camera_config_init(&c);
  c.url = url;
  c.format = fmts[data[0] & 3];
  c.max_fps = (data[0] >> 2) & 1 ? 5 : 0;
  c.queue_frames = 2;
  c.held_frames = 1;
  c.open_timeout = 5;
  c.read_timeout = 5;
  int cam = -1;
  if (argus_video_hub_add(g_hub, &c, &cam, NULL) == ARGUS_OK) {
    uint64_t t_end = argus_time_ns() + 10000000000ull;
    for (;;) {
      argus_video_frame *f = NULL;
      argus_video_hub_pop(g_hub, 0.01, &f);
      if (f) {
        /* Touch the first and the last row of every plane. */
        const argus_image *im = &f->image;
        volatile unsigned sum = 0;
        int planes = im->format == ARGUS_PIX_YUV420P ? 3
                     : im->format == ARGUS_PIX_NV12  ? 2
                                                     : 1;
        for (int k = 0; k < planes; k++) {
          int rows = k == 0 ? im->height : (im->height + 1) / 2;
          sum += im->data[k][0];
          sum += im->data[k][(size_t)(rows - 1) * (size_t)im->stride[k]];
        }
        (void)sum;
        argus_video_frame_release(f);
        continue;
      }
      argus_video_stats s;
      if (argus_video_hub_stats(g_hub, cam, &s) != ARGUS_OK)
        break;
      if ((s.state == ARGUS_VIDEO_FINISHED || s.state == ARGUS_VIDEO_FAILED) &&
          s.frames_queued == 0)
        break;
      if (argus_time_ns() > t_end)
        break;
    }
    argus_video_hub_remove(g_hub, cam);
  }
  close(fd);
  return 0;
}
