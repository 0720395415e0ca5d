/* `argus watch` and its cameras (issue 10 item 4), run as the real binary
 * ($ARGUS_CLI) on loopback sources:
 *
 * - sources that can never open (an unknown protocol, a missing device, a
 *   URL without a host) are given up at once: watch exits non-zero within
 *   seconds, naming each camera and why, also with --quiet-status (it used
 *   to retry them forever);
 * - a refused connection is retried and reported on every status line
 *   (state, failed attempts, the error); at the end "never connected";
 * - --quiet-status still tells every state change: a file that streams and
 *   finishes, a truncated file that streams and fails, an HTTP camera that
 *   streams and then stalls (waiting: stalled), each once;
 * - more than 64 cameras are all watched (65 stored cameras: 64 that fail
 *   and one that finishes, the 65th).
 *
 * Needs the models ($ARGUS_MODELS_DIR) and $ARGUS_SHARED_DATA/video; skips
 * without them. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "argus/core.h"
#include "check.h"

static const char *g_cli, *g_models;
static char g_video_dir[1024];
static char g_tmp[256];

static double now_s(void) { return (double)argus_time_ns() * 1e-9; }

#define OUT_MAX (1 << 20)

typedef struct result {
  int status;     /* exit code, 128 + signal, -1 */
  int timed_out;  /* killed after the time limit */
  double seconds; /* how long it ran */
  char *out, *err;
} result;

static char *slurp(const char *path) {
  char *buf = calloc(1, OUT_MAX);
  FILE *f = buf ? fopen(path, "rb") : NULL;
  if (f) {
    size_t n = fread(buf, 1, OUT_MAX - 1, f);
    buf[n] = '\0';
    fclose(f);
  }
  return buf;
}

/* Runs argus with the NULL-terminated arguments and a fresh database of the
 * test (`db`), killing it after `limit` seconds; stdout and stderr are read
 * back into r (free with result_free). */
static void run(result *r, const char *db, double limit,
                const char *const *args) {
  char out[300], err[300];
  snprintf(out, sizeof out, "%s/stdout", g_tmp);
  snprintf(err, sizeof err, "%s/stderr", g_tmp);
  const char *argv[256];
  int n = 0;
  argv[n++] = g_cli;
  for (int i = 0; args[i] && n < 250; i++)
    argv[n++] = args[i];
  argv[n++] = "--db";
  argv[n++] = db;
  argv[n] = NULL;
  fflush(stdout);
  fflush(stderr);
  memset(r, 0, sizeof *r);
  double t0 = now_s();
  pid_t pid = fork();
  if (pid == 0) {
    int fo = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int fe = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fo < 0 || fe < 0 || dup2(fo, 1) < 0 || dup2(fe, 2) < 0)
      _exit(126);
    execv(g_cli, (char *const *)argv);
    _exit(127);
  }
  int st = 0;
  r->status = -1;
  if (pid > 0) {
    for (;;) {
      pid_t w = waitpid(pid, &st, WNOHANG);
      if (w == pid) {
        r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        break;
      }
      if (w < 0)
        break;
      if (now_s() - t0 > limit && !r->timed_out) {
        r->timed_out = 1;
        kill(pid, SIGKILL);
      }
      struct timespec ts = {0, 20000000};
      nanosleep(&ts, NULL);
    }
  }
  r->seconds = now_s() - t0;
  r->out = slurp(out);
  r->err = slurp(err);
}

static void result_free(result *r) {
  free(r->out);
  free(r->err);
}

static int has(const char *hay, const char *needle) {
  return hay && strstr(hay, needle) != NULL;
}

static int count(const char *hay, const char *needle) {
  int n = 0;
  for (const char *p = hay; p && (p = strstr(p, needle)); p += strlen(needle))
    n++;
  return n;
}

#define CHECK_HAS(hay, needle)                                                 \
  do {                                                                         \
    check_count_++;                                                            \
    if (!has((hay), (needle))) {                                               \
      fprintf(stderr, "%s:%d: '%s' not in %s:\n%s\n", __FILE__, __LINE__,      \
              (needle), #hay, (hay));                                          \
      check_failures_++;                                                       \
    }                                                                          \
  } while (0)

#define CHECK_HASNT(hay, needle)                                               \
  do {                                                                         \
    check_count_++;                                                            \
    if (has((hay), (needle))) {                                                \
      fprintf(stderr, "%s:%d: '%s' in %s:\n%s\n", __FILE__, __LINE__,          \
              (needle), #hay, (hay));                                          \
      check_failures_++;                                                       \
    }                                                                          \
  } while (0)

/* A database path of its own in the temp folder (crops next to it). */
static void db_path(char *out, size_t size, const char *name) {
  char dir[400];
  snprintf(dir, sizeof dir, "%s/%s", g_tmp, name);
  mkdir(dir, 0755);
  snprintf(out, size, "%s/argus.db", dir);
}

/* ---- loopback sockets --------------------------------------------------- */

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

/* HTTP/1.0 on 127.0.0.1, one client at a time: the headers (the whole
 * file's length) and the first send_bytes of the file, then silence until
 * the client hangs up. */
typedef struct stall_server {
  int fd;
  const char *file;
  long send_bytes;
  atomic_int stop;
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

/* Copies the first `keep` (fraction) of a file. */
static int truncated_copy(const char *src, const char *dst, double keep) {
  FILE *in = fopen(src, "rb");
  if (!in)
    return -1;
  fseek(in, 0, SEEK_END);
  long size = ftell(in);
  fseek(in, 0, SEEK_SET);
  long n = (long)((double)size * keep);
  char *buf = malloc((size_t)n);
  int ok = buf && fread(buf, 1, (size_t)n, in) == (size_t)n;
  fclose(in);
  FILE *out = ok ? fopen(dst, "wb") : NULL;
  ok = out && fwrite(buf, 1, (size_t)n, out) == (size_t)n;
  if (out)
    ok = fclose(out) == 0 && ok;
  free(buf);
  return ok ? 0 : -1;
}

/* ---- the cases ------------------------------------------------------------- */

static void test_never_open(void) {
  char db[400];
  db_path(db, sizeof db, "never");
  const char *args[] = {"watch",    "foo://x", "/dev/video97",   "rtsp:///x",
                        "--models", g_models,  "--quiet-status", NULL};
  result r;
  run(&r, db, 40, args);
  printf("never open: exit %d after %.1f s%s\n%s", r.status, r.seconds,
         r.timed_out ? " (killed: still running after 40 s)" : "", r.err);
  CHECK_INT_EQ(r.timed_out, 0);
  CHECK_INT_EQ(r.status, 1);
  CHECK(r.seconds < 30);
  /* Each camera named with its reason, at the end... */
  CHECK_HAS(r.err, "camera 'foo://x' failed: ");
  CHECK_HAS(r.err, "Protocol not found");
  CHECK_HAS(r.err, "camera '/dev/video97' failed: ");
  CHECK_HAS(r.err, "camera 'rtsp:///x' failed: ");
  CHECK_HAS(r.err, "bad URL");
  CHECK_HAS(r.err, "every camera failed");
  /* ... and as it happened, although the status is quiet. */
  CHECK_HAS(r.err, "camera 'foo://x': failed: ");
  CHECK_HAS(r.err, "camera '/dev/video97': failed: ");
  CHECK_HASNT(r.err, "frames analysed");
  result_free(&r);
}

static void test_refused_reported(void) {
  char db[400], url[128];
  db_path(db, sizeof db, "refused");
  snprintf(url, sizeof url, "rtsp://127.0.0.1:%d/cam", free_port());
  const char *args[] = {
      "watch", url,        "--duration", "3", "--status-interval",
      "1",     "--models", g_models,     NULL};
  result r;
  run(&r, db, 40, args);
  printf("refused: exit %d after %.1f s\n%s", r.status, r.seconds, r.err);
  CHECK_INT_EQ(r.timed_out, 0);
  CHECK_INT_EQ(r.status, 1);
  /* Every status line has the camera's state, attempts and error. */
  int status_lines = count(r.err, "camera (");
  int camera_lines = count(r.err, "failed attempt");
  CHECK(status_lines >= 2);
  CHECK(camera_lines >= status_lines);
  CHECK_HAS(r.err, "1 camera (1 waiting)");
  CHECK_HAS(r.err, "Connection refused");
  CHECK_HASNT(r.err, "not retried");
  /* The first failure is told once as it happens, the retries are not. */
  char told[256];
  snprintf(told, sizeof told, "camera '%s': waiting: ", url);
  CHECK_INT_EQ(count(r.err, told), 1);
  char end[256];
  snprintf(end, sizeof end, "camera '%s' never connected", url);
  CHECK_HAS(r.err, end);
  result_free(&r);
}

static void test_quiet_state_changes(void) {
  char db[400], ham[1200], office[1200], cut[400], url[128];
  db_path(db, sizeof db, "quiet");
  snprintf(ham, sizeof ham, "%s/hamilton_clip_10s.mp4", g_video_dir);
  snprintf(office, sizeof office, "%s/office_one_by_one_139s.mp4", g_video_dir);
  /* The office video has its index first: cut, it streams and then ends
   * early (a truncated file: failed). */
  snprintf(cut, sizeof cut, "%s/cut_office.mp4", g_tmp);
  CHECK_OK(truncated_copy(office, cut, 0.05));
  stall_server h;
  memset(&h, 0, sizeof h);
  int port = 0;
  h.fd = listener(&port);
  CHECK(h.fd >= 0);
  if (h.fd < 0)
    return;
  h.file = office;
  h.send_bytes = 400000;
  atomic_init(&h.stop, 0);
  pthread_t th;
  pthread_create(&th, NULL, stall_serve, &h);
  snprintf(url, sizeof url, "http://127.0.0.1:%d/office.mp4", port);
  /* The stall is seen after the read timeout (5 s). */
  const char *args[] = {
      "watch",      url,  ham,        cut,      "--fps",          "2",
      "--duration", "12", "--models", g_models, "--quiet-status", NULL};
  result r;
  run(&r, db, 60, args);
  atomic_store(&h.stop, 1);
  pthread_join(th, NULL);
  close(h.fd);
  printf("quiet: exit %d after %.1f s\n%s", r.status, r.seconds, r.err);
  CHECK_INT_EQ(r.timed_out, 0);
  CHECK_INT_EQ(r.status, 0);
  CHECK_HASNT(r.err, "frames analysed"); /* no periodic status */
  char line[1400];
  /* the file: streaming, then finished, once each */
  snprintf(line, sizeof line, "camera '%s': streaming", ham);
  CHECK_INT_EQ(count(r.err, line), 1);
  const char *p_stream = strstr(r.err, line);
  snprintf(line, sizeof line, "camera '%s': finished", ham);
  CHECK_INT_EQ(count(r.err, line), 1);
  const char *p_fin = strstr(r.err, line);
  CHECK(p_stream && p_fin && p_stream < p_fin);
  /* the cut file: streaming, then failed (truncated) */
  snprintf(line, sizeof line, "camera '%s': streaming", cut);
  CHECK_INT_EQ(count(r.err, line), 1);
  p_stream = strstr(r.err, line);
  snprintf(line, sizeof line, "camera '%s': failed: ", cut);
  CHECK_INT_EQ(count(r.err, line), 1);
  const char *p_failed = strstr(r.err, line);
  CHECK(p_stream && p_failed && p_stream < p_failed);
  CHECK_HAS(r.err, "truncated");
  /* the HTTP camera: streaming, then waiting because it stalled */
  snprintf(line, sizeof line, "camera '%s': streaming", url);
  CHECK(count(r.err, line) >= 1);
  p_stream = strstr(r.err, line);
  snprintf(line, sizeof line, "camera '%s': waiting: ", url);
  CHECK(count(r.err, line) >= 1);
  const char *p_wait = strstr(r.err, line);
  CHECK(p_stream && p_wait && p_stream < p_wait);
  CHECK(p_wait && has(p_wait, "stalled"));
  CHECK_HASNT(r.err, "packets arrive");
  result_free(&r);
  unlink(cut);
}

static void test_many_cameras(void) {
  enum { N = 65 };
  char db[400], empty[400], ham[1200];
  db_path(db, sizeof db, "many");
  snprintf(empty, sizeof empty, "%s/empty.mp4", g_tmp);
  FILE *f = fopen(empty, "wb");
  CHECK(f != NULL);
  if (f)
    fclose(f);
  snprintf(ham, sizeof ham, "%s/hamilton_clip_10s.mp4", g_video_dir);
  /* 64 cameras that fail at once (an empty file), and the 65th that works. */
  for (int i = 0; i < N; i++) {
    char name[16];
    snprintf(name, sizeof name, "cam%02d", i);
    const char *args[] = {"camera", "add", name, i == N - 1 ? ham : empty,
                          NULL};
    result r;
    run(&r, db, 30, args);
    CHECK_INT_EQ(r.status, 0);
    if (r.status != 0)
      fprintf(stderr, "camera add %s: %s", name, r.err);
    result_free(&r);
  }
  const char *args[] = {"watch",  "--fps",          "1", "--models",
                        g_models, "--quiet-status", NULL};
  result r;
  run(&r, db, 120, args);
  printf("%d cameras: exit %d after %.1f s; %d failed lines\n", N, r.status,
         r.seconds, count(r.err, "' failed: "));
  CHECK_INT_EQ(r.timed_out, 0);
  CHECK_INT_EQ(r.status, 0); /* one camera worked */
  CHECK_HASNT(r.err, "hub is full");
  CHECK_HASNT(r.err, "at most");
  CHECK_HAS(r.err, "camera 'cam64': streaming");
  CHECK_HAS(r.err, "camera 'cam64': finished");
  for (int i = 0; i < N - 1; i++) {
    char line[64];
    snprintf(line, sizeof line, "camera 'cam%02d' failed: ", i);
    CHECK_HAS(r.err, line);
  }
  if (check_failures_)
    fprintf(stderr, "%s", r.err);
  result_free(&r);
  unlink(empty);
}

int main(void) {
  g_cli = getenv("ARGUS_CLI");
  g_models = getenv("ARGUS_MODELS_DIR");
  const char *data = getenv("ARGUS_SHARED_DATA");
  if (!g_cli || access(g_cli, X_OK) != 0)
    SKIP("ARGUS_CLI is not set");
  if (!g_models)
    SKIP("ARGUS_MODELS_DIR is not set");
  char probe[1200];
  snprintf(probe, sizeof probe, "%s/fr_detect.card.json", g_models);
  if (access(probe, R_OK) != 0)
    SKIP("no models in %s", g_models);
  snprintf(g_video_dir, sizeof g_video_dir, "%s/video",
           data ? data : "../shared/data");
  snprintf(probe, sizeof probe, "%s/office_one_by_one_139s.mp4", g_video_dir);
  int have_data = access(probe, R_OK) == 0;
  snprintf(g_tmp, sizeof g_tmp, "/tmp/argus_test_watch_cams_XXXXXX");
  if (!mkdtemp(g_tmp)) {
    fprintf(stderr, "cannot make a temp folder\n");
    return 1;
  }
  signal(SIGPIPE, SIG_IGN);
  /* The status lines' clock is local time: the same in every line. */
  setenv("TZ", "UTC", 1);

  test_never_open();
  test_refused_reported();
  if (have_data) {
    test_quiet_state_changes();
    test_many_cameras();
  } else {
    printf("SKIP file and HTTP parts: no sample videos in %s\n", g_video_dir);
  }
  char cmd[400];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_tmp);
  if (system(cmd) != 0)
    fprintf(stderr, "could not remove %s\n", g_tmp);
  return check_report("test_watch_cameras");
}
