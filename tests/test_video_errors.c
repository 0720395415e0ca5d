/* Camera errors (src/video), issue 10 item 4: which errors end a camera and
 * which are retried, and what the stats say about them.
 *
 * - Permanent errors (an unknown protocol, a missing device or file, a URL
 *   without a host or with a bad port, a file without a video stream) end
 *   the camera in FAILED after one attempt, also when reconnecting is asked
 *   for.
 * - Transient ones (a refused connection, a host name that does not
 *   resolve) are retried with backoff and reported: WAITING, the error text,
 *   the failed attempts in a row and when the next one is due.
 * - An HTTP source that sends its headers and some video and then nothing
 *   is a stall ("no data for ... s"), reported after read_timeout, not
 *   "packets arrive but no frame was decoded".
 * - Every state change is kept (state_changes, states[]), so that a caller
 *   polling now and then still sees connecting -> streaming -> finished.
 *
 * Network parts use 127.0.0.1 only (and a .invalid name, which no resolver
 * answers). Sample videos come from $ARGUS_SHARED_DATA/video. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "argus/video.h"
#include "check.h"

static char g_video_dir[1024];
static int g_have_data;

static double now_s(void) { return (double)argus_time_ns() * 1e-9; }

static void sleep_s(double s) {
  struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

static argus_video_stats stats_of(argus_video_hub *hub, int cam) {
  argus_video_stats s;
  if (argus_video_hub_stats(hub, cam, &s) != ARGUS_OK)
    memset(&s, 0, sizeof s);
  return s;
}

/* Pops and releases frames for `secs` seconds (or until `until` says so). */
static void pump(argus_video_hub *hub, double secs) {
  double t_end = now_s() + secs;
  while (now_s() < t_end) {
    argus_video_frame *f = NULL;
    argus_video_hub_pop(hub, 0.02, &f);
    argus_video_frame_release(f);
  }
}

/* A TCP socket on 127.0.0.1 that listens; *port receives its port. */
static int listener(int *port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    return -1;
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 16) != 0 ||
      getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
    close(fd);
    return -1;
  }
  *port = ntohs(a.sin_port);
  return fd;
}

static int free_port(void) {
  int port = 0;
  int fd = listener(&port);
  if (fd >= 0)
    close(fd);
  return port;
}

/* ---- permanent errors ------------------------------------------------- */

/* A WAV file of silence: a container FFmpeg opens, without a video
 * stream. */
static int write_wav(const char *path) {
  FILE *f = fopen(path, "wb");
  if (!f)
    return -1;
  const unsigned rate = 8000, samples = 8000, data = samples * 2;
  unsigned char h[44] = "RIFF....WAVEfmt ";
  /* little-endian fields */
#define LE32(o, x)                                                             \
  do {                                                                         \
    h[o] = (unsigned char)(x);                                                 \
    h[o + 1] = (unsigned char)((x) >> 8);                                      \
    h[o + 2] = (unsigned char)((x) >> 16);                                     \
    h[o + 3] = (unsigned char)((x) >> 24);                                     \
  } while (0)
  LE32(4, 36 + data);
  LE32(16, 16u);
  h[20] = 1; /* PCM */
  h[21] = 0;
  h[22] = 1; /* mono */
  h[23] = 0;
  LE32(24, rate);
  LE32(28, rate * 2);
  h[32] = 2; /* block align */
  h[33] = 0;
  h[34] = 16; /* bits */
  h[35] = 0;
  memcpy(h + 36, "data", 4);
  LE32(40, data);
#undef LE32
  int ok = fwrite(h, 1, sizeof h, f) == sizeof h;
  for (unsigned i = 0; ok && i < data; i++)
    ok = fputc(0, f) != EOF;
  return fclose(f) == 0 && ok ? 0 : -1;
}

static void test_permanent_errors(void) {
  char wav[64];
  snprintf(wav, sizeof wav, "/tmp/argus_test_noise_%d.wav", (int)getpid());
  CHECK_OK(write_wav(wav));
  static const struct {
    const char *name, *url;
    argus_err code;
    const char *why; /* in last_error */
  } cases[] = {
      {"unknown-protocol", "foo://x", ARGUS_E_UNSUPPORTED,
       "Protocol not found"},
      {"missing-device", "/dev/video97", ARGUS_E_NOT_FOUND, "video97"},
      {"missing-file", "/nonexistent/argus/video.mp4", ARGUS_E_NOT_FOUND,
       "No such file"},
      {"no-host", "rtsp:///stream", ARGUS_E_INVALID_ARG, "bad URL"},
      {"bad-port", "http://127.0.0.1:99999/x", ARGUS_E_INVALID_ARG, "bad URL"},
      {"audio-only", NULL, ARGUS_E_UNSUPPORTED, "no video stream"},
  };
  enum { N = sizeof cases / sizeof cases[0] };
  argus_video_hub *hub = NULL;
  CHECK_OK(argus_video_hub_create(N, &hub, NULL));
  int idx[N];
  for (int i = 0; i < N; i++) {
    argus_video_camera_config c;
    argus_video_camera_config_init(&c);
    c.name = cases[i].name;
    c.url = cases[i].url ? cases[i].url : wav;
    c.reconnect = ARGUS_VIDEO_ON; /* asked for, and still not retried */
    c.backoff_min = 0.05;
    c.backoff_max = 0.1;
    CHECK_OK(argus_video_hub_add(hub, &c, &idx[i], NULL));
  }
  double t_end = now_s() + 10;
  int done = 0;
  while (!done && now_s() < t_end) {
    sleep_s(0.05);
    done = 1;
    for (int i = 0; i < N; i++)
      if (stats_of(hub, idx[i]).state != ARGUS_VIDEO_FAILED)
        done = 0;
  }
  /* Time for retries, had there been any (backoff 0.05 s). */
  sleep_s(0.5);
  for (int i = 0; i < N; i++) {
    argus_video_stats s = stats_of(hub, idx[i]);
    printf("permanent: %-17s %-10s errors %llu: %s\n", cases[i].name,
           argus_video_state_name(s.state), (unsigned long long)s.errors,
           s.last_error);
    CHECK_INT_EQ(s.state, ARGUS_VIDEO_FAILED);
    CHECK_INT_EQ(s.errors, 1);
    CHECK_INT_EQ(s.connects, 0);
    CHECK_INT_EQ(s.last_error_code, cases[i].code);
    if (!strstr(s.last_error, cases[i].why)) {
      fprintf(stderr, "  '%s' not in '%s'\n", cases[i].why, s.last_error);
      CHECK(0);
    }
    CHECK(strstr(s.last_error, "not retried") != NULL);
    /* connecting -> failed, both kept */
    CHECK_INT_EQ(s.state_changes, 1);
    CHECK_INT_EQ(s.states[0].state, ARGUS_VIDEO_FAILED);
    CHECK_INT_EQ(s.states[1].state, ARGUS_VIDEO_CONNECTING);
    CHECK(s.states[0].wall_ns >= s.states[1].wall_ns);
    CHECK_INT_EQ(s.retry_wall_ns, 0);
  }
  argus_video_hub_destroy(hub);
  unlink(wav);
}

/* ---- transient errors ------------------------------------------------- */

static void test_transient_errors(void) {
  char refused[128];
  snprintf(refused, sizeof refused, "rtsp://127.0.0.1:%d/x", free_port());
  /* Credentials with '@' and ':' in the password are not a bad URL. */
  char refused_auth[160];
  snprintf(refused_auth, sizeof refused_auth,
           "rtsp://user:p@ss:w0rd@127.0.0.1:%d/x", free_port());
  enum { N = 3 };
  const char *names[N] = {"refused", "no-such-host", "refused-auth"};
  const char *urls[N] = {refused, "rtsp://no-such-host.invalid/x",
                         refused_auth};
  const char *why[N] = {"refused", "no-such-host.invalid", "refused"};
  argus_video_hub *hub = NULL;
  CHECK_OK(argus_video_hub_create(N, &hub, NULL));
  int idx[N];
  for (int i = 0; i < N; i++) {
    argus_video_camera_config c;
    argus_video_camera_config_init(&c);
    c.name = names[i];
    c.url = urls[i];
    c.open_timeout = 2;
    c.backoff_min = 0.1;
    c.backoff_max = 0.4;
    CHECK_OK(argus_video_hub_add(hub, &c, &idx[i], NULL));
  }
  /* A resolver that has to time out may take a few seconds per try. */
  double t_end = now_s() + 30;
  argus_video_stats s[N];
  for (;;) {
    sleep_s(0.05);
    for (int i = 0; i < N; i++)
      s[i] = stats_of(hub, idx[i]);
    if ((s[0].errors >= 3 && s[1].errors >= 1 && s[2].errors >= 2) ||
        now_s() > t_end)
      break;
  }
  /* A waiting camera says when it tries again. */
  argus_video_stats w = {0};
  t_end = now_s() + 5;
  while (now_s() < t_end) {
    w = stats_of(hub, idx[0]);
    if (w.state == ARGUS_VIDEO_WAITING)
      break;
    sleep_s(0.005);
  }
  for (int i = 0; i < N; i++) {
    printf("transient: %-13s %-10s errors %llu, %d failed attempts in a row: "
           "%s\n",
           names[i], argus_video_state_name(s[i].state),
           (unsigned long long)s[i].errors, s[i].failed_attempts,
           s[i].last_error);
    /* A name server that does not answer makes each try of the .invalid
     * host last seconds (getaddrinfo cannot be interrupted): one is enough
     * to see that it is reported and not given up. */
    int min_tries = i == 1 ? 1 : 2;
    CHECK(s[i].state == ARGUS_VIDEO_WAITING ||
          s[i].state == ARGUS_VIDEO_CONNECTING);
    CHECK(s[i].errors >= (uint64_t)min_tries);
    CHECK(s[i].failed_attempts >= min_tries);
    CHECK_INT_EQ(s[i].connects, 0);
    CHECK(strstr(s[i].last_error, why[i]) != NULL);
    CHECK(strstr(s[i].last_error, "w0rd") == NULL); /* credentials hidden */
    CHECK(strstr(s[i].last_error, "not retried") == NULL);
    CHECK(s[i].state_changes >= (uint64_t)min_tries); /* waiting, .. */
  }
  CHECK_INT_EQ(w.state, ARGUS_VIDEO_WAITING);
  CHECK(w.retry_wall_ns > 0);
  CHECK(w.retry_wall_ns - argus_wall_ns() < (int64_t)1000000000);
  argus_video_hub_destroy(hub);
}

/* ---- an HTTP source that stalls ---------------------------------------- */

/* Serves HTTP/1.0 on 127.0.0.1, one client at a time: the headers (with the
 * whole file's length) and the first `send_bytes` of the file, then nothing
 * until the client hangs up. */
typedef struct stall_server {
  int fd;
  const char *file;
  long send_bytes;
  atomic_int stop;
  atomic_int requests;
  atomic_int stalled; /* 1 once the data was sent */
} stall_server;

static void *stall_serve(void *arg) {
  stall_server *h = arg;
  while (!atomic_load(&h->stop)) {
    struct pollfd p = {h->fd, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0)
      continue;
    int c = accept(h->fd, NULL, NULL);
    if (c < 0)
      continue;
    atomic_fetch_add(&h->requests, 1);
    char req[2048];
    size_t n = 0;
    while (n + 1 < sizeof req) {
      struct pollfd q = {c, POLLIN, 0};
      if (poll(&q, 1, 2000) <= 0)
        break;
      ssize_t k = read(c, req + n, sizeof req - 1 - n);
      if (k <= 0)
        break;
      n += (size_t)k;
      req[n] = '\0';
      if (strstr(req, "\r\n\r\n"))
        break;
    }
    FILE *f = fopen(h->file, "rb");
    if (f) {
      fseek(f, 0, SEEK_END);
      long size = ftell(f);
      fseek(f, 0, SEEK_SET);
      char head[256];
      int hn = snprintf(head, sizeof head,
                        "HTTP/1.0 200 OK\r\nContent-Type: video/mp4\r\n"
                        "Content-Length: %ld\r\n\r\n",
                        size);
      int ok = write(c, head, (size_t)hn) == hn;
      char buf[65536];
      long left = h->send_bytes;
      while (ok && left > 0) {
        size_t want = left < (long)sizeof buf ? (size_t)left : sizeof buf;
        size_t k = fread(buf, 1, want, f);
        if (k == 0)
          break;
        ok = write(c, buf, k) == (ssize_t)k;
        left -= (long)k;
      }
      fclose(f);
    }
    atomic_store(&h->stalled, 1);
    /* Silence, until the client goes or the test ends. */
    while (!atomic_load(&h->stop)) {
      struct pollfd q = {c, POLLIN, 0};
      if (poll(&q, 1, 100) > 0) {
        char junk[256];
        if (read(c, junk, sizeof junk) <= 0)
          break;
      }
    }
    close(c);
  }
  return NULL;
}

static void test_http_stall(void) {
  char file[1200], url[128];
  /* Its index is at the front: the first part plays on its own. */
  snprintf(file, sizeof file, "%s/office_one_by_one_139s.mp4", g_video_dir);
  stall_server h;
  memset(&h, 0, sizeof h);
  int port = 0;
  h.fd = listener(&port);
  CHECK(h.fd >= 0);
  if (h.fd < 0)
    return;
  h.file = file;
  h.send_bytes = 400000;
  atomic_init(&h.stop, 0);
  atomic_init(&h.requests, 0);
  atomic_init(&h.stalled, 0);
  pthread_t th;
  pthread_create(&th, NULL, stall_serve, &h);
  snprintf(url, sizeof url, "http://127.0.0.1:%d/office.mp4", port);

  argus_video_hub *hub = NULL;
  CHECK_OK(argus_video_hub_create(1, &hub, NULL));
  argus_video_camera_config c;
  argus_video_camera_config_init(&c);
  c.url = url;
  c.name = "stalls";
  c.open_timeout = 5;
  c.read_timeout = 1.0;
  c.backoff_min = 30; /* one stall is enough: stay WAITING */
  c.backoff_max = 30;
  int cam = -1;
  CHECK_OK(argus_video_hub_add(hub, &c, &cam, NULL));
  double t0 = now_s(), t_last_frame = 0;
  int frames = 0;
  argus_video_stats s = {0};
  while (now_s() - t0 < 20) {
    argus_video_frame *f = NULL;
    argus_video_hub_pop(hub, 0.02, &f);
    if (f) {
      frames++;
      t_last_frame = now_s();
      argus_video_frame_release(f);
    }
    s = stats_of(hub, cam);
    if (s.errors > 0)
      break;
  }
  double t_error = now_s();
  pump(hub, 0.3);
  s = stats_of(hub, cam);
  printf("http stall: %d frames, then '%s' after %.2f s without a frame; "
         "state %s, %llu packets\n",
         frames, s.last_error, t_error - t_last_frame,
         argus_video_state_name(s.state), (unsigned long long)s.packets);
  CHECK(frames > 0);
  CHECK_INT_EQ(s.connects, 1);
  CHECK_INT_EQ(s.errors, 1);
  CHECK_INT_EQ(s.state, ARGUS_VIDEO_WAITING);
  CHECK_INT_EQ(s.last_error_code, ARGUS_E_IO);
  CHECK(strstr(s.last_error, "stalled") != NULL);
  CHECK(strstr(s.last_error, "packets arrive") == NULL);
  /* After read_timeout, not much later (the decoder's frames in flight
   * may come out meanwhile). */
  CHECK(t_error - t_last_frame >= 0.5);
  CHECK(t_error - t_last_frame < 4.0);
  /* streaming -> waiting is in the history */
  CHECK_INT_EQ(s.states[0].state, ARGUS_VIDEO_WAITING);
  CHECK_INT_EQ(s.states[1].state, ARGUS_VIDEO_STREAMING);
  CHECK(s.retry_wall_ns > argus_wall_ns());
  argus_video_hub_destroy(hub);
  atomic_store(&h.stop, 1);
  pthread_join(th, NULL);
  close(h.fd);
}

/* ---- state history of a file ---------------------------------------------- */

static void test_file_history(void) {
  char file[1200];
  snprintf(file, sizeof file, "%s/hamilton_clip_10s.mp4", g_video_dir);
  argus_video_hub *hub = NULL;
  CHECK_OK(argus_video_hub_create(1, &hub, NULL));
  argus_video_camera_config c;
  argus_video_camera_config_init(&c);
  c.url = file;
  c.max_fps = 2;
  int cam = -1;
  CHECK_OK(argus_video_hub_add(hub, &c, &cam, NULL));
  double t_end = now_s() + 30;
  argus_video_stats s = {0};
  while (now_s() < t_end) {
    pump(hub, 0.05);
    s = stats_of(hub, cam);
    if (s.state == ARGUS_VIDEO_FINISHED)
      break;
  }
  CHECK_INT_EQ(s.state, ARGUS_VIDEO_FINISHED);
  CHECK_INT_EQ(s.state_changes, 2);
  CHECK_INT_EQ(s.states[0].state, ARGUS_VIDEO_FINISHED);
  CHECK_INT_EQ(s.states[1].state, ARGUS_VIDEO_STREAMING);
  CHECK_INT_EQ(s.states[2].state, ARGUS_VIDEO_CONNECTING);
  CHECK_INT_EQ(s.failed_attempts, 0);
  argus_video_hub_destroy(hub);
}

int main(void) {
  const char *data = getenv("ARGUS_SHARED_DATA");
  if (!data)
    data = "../shared/data";
  snprintf(g_video_dir, sizeof g_video_dir, "%s/video", data);
  char probe[1200];
  snprintf(probe, sizeof probe, "%s/office_one_by_one_139s.mp4", g_video_dir);
  g_have_data = access(probe, R_OK) == 0;
  signal(SIGPIPE, SIG_IGN);

  test_permanent_errors();
  test_transient_errors();
  if (g_have_data) {
    test_http_stall();
    test_file_history();
  } else {
    printf("SKIP stall and file parts: no sample videos in %s\n", g_video_dir);
  }
  return check_report("test_video_errors");
}
