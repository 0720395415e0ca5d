/* An alert raised by a real sample video camera arrives on the live event
 * stream of `argus serve`.
 *
 * A database gets a watchlist with Lin-Manuel Miranda enrolled from
 * ../shared/data (`argus person add`), a camera playing
 * hamilton_clip_10s.mp4 (`argus camera add`) and an operator with an API
 * token; then `argus serve` runs on it. A stream client connected with
 * `?after=0` (so that nothing raised before it connected is lost) must see
 * an "alert" event for him on that camera, with the stored alert's id and
 * its image paths, and "camera.status" events for the camera's state
 * changes; the alert is then readable at GET /api/v1/alerts/{id} (when
 * that handler exists). A second client that reconnects after the first
 * alert's event id gets the same later events.
 *
 * Skips (77) without the models or ../shared/data. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "api_util.h"
#include "argus/store.h"
#include "check.h"
#include "sse_util.h"

static int run(const char *const *argv) {
  char out[4096];
  int st = api_run_cli(argv, NULL, out, sizeof out);
  if (st != 0)
    fprintf(stderr, "%s %s: status %d: %s\n", argv[1], argv[2], st, out);
  return st;
}

typedef struct serve {
  pid_t pid;
  int fd;
  int port;
  pthread_t th;
  int have_th;
} serve;

static void *drain_main(void *arg) {
  serve *s = arg;
  char buf[4096];
  ssize_t n;
  while ((n = read(s->fd, buf, sizeof buf)) > 0)
    fwrite(buf, 1, (size_t)n, stderr);
  return NULL;
}

/* `argus serve --db DB --listen 127.0.0.1:0 --models M` until it says where
 * it listens. */
static int serve_start(serve *s, const char *cli, const char *db,
                       const char *models) {
  memset(s, 0, sizeof *s);
  int ep[2];
  if (pipe(ep) != 0)
    return -1;
  fflush(stderr);
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0)
    return -1;
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
      _exit(125);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(ep[1], 2) < 0)
      _exit(126);
    close(ep[0]);
    close(ep[1]);
    const char *args[] = {cli,      "serve",    "--db",   db,
                          "--listen", "127.0.0.1:0", "--models", models,
                          NULL};
    execv(cli, (char *const *)args);
    _exit(127);
  }
  close(ep[1]);
  s->pid = pid;
  s->fd = ep[0];
  char buf[8192], line[8192];
  size_t nbuf = 0;
  double end = api_now_() + 120;
  const char *key = "argus serve: listening on ";
  for (;;) {
    int r = api_read_line_(s->fd, buf, &nbuf, sizeof buf, line, sizeof line,
                           end);
    if (r != 1) {
      fprintf(stderr, "argus serve did not start\n");
      return -1;
    }
    fprintf(stderr, "[serve] %s\n", line);
    const char *k = strstr(line, key);
    if (k) {
      const char *colon = strrchr(k + strlen(key), ':');
      s->port = colon ? (int)strtol(colon + 1, NULL, 10) : 0;
      break;
    }
  }
  if (nbuf)
    fwrite(buf, 1, nbuf, stderr);
  s->have_th = pthread_create(&s->th, NULL, drain_main, s) == 0;
  return s->port > 0 ? 0 : -1;
}

static int serve_stop(serve *s) {
  if (s->pid <= 0)
    return -1;
  kill(s->pid, SIGTERM);
  int st = 0;
  double end = api_now_() + 30;
  pid_t w = 0;
  while ((w = waitpid(s->pid, &st, WNOHANG)) == 0 && api_now_() < end)
    sse_sleep(0.05);
  if (w == 0) {
    kill(s->pid, SIGKILL);
    waitpid(s->pid, &st, 0);
  }
  if (s->have_th)
    pthread_join(s->th, NULL);
  close(s->fd);
  s->pid = 0;
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* The index of the first "alert" frame for `person` at or after frame
 * `from`, or -1. */
static int find_alert(sse *s, int from, const char *person) {
  for (int i = from; i < s->nf; i++) {
    if (strcmp(s->f[i].type, "alert") != 0)
      continue;
    cJSON *j = cJSON_Parse(s->f[i].data);
    int ok = j && strcmp(sse_jstr(j, "person"), person) == 0;
    cJSON_Delete(j);
    if (ok)
      return i;
  }
  return -1;
}

int main(void) {
  const char *cli = getenv("ARGUS_CLI");
  const char *models = getenv("ARGUS_MODELS_DIR");
  const char *data = getenv("ARGUS_SHARED_DATA");
  if (!cli || !models || !data)
    SKIP("ARGUS_CLI, ARGUS_MODELS_DIR or ARGUS_SHARED_DATA not set");
  char clip[1024], photo[1024];
  snprintf(clip, sizeof clip, "%s/video/hamilton_clip_10s.mp4", data);
  snprintf(photo, sizeof photo,
           "%s/stills/face_recognition_examples/examples/"
           "lin-manuel-miranda.png",
           data);
  if (access(clip, R_OK) != 0 || access(photo, R_OK) != 0)
    SKIP("no %s or %s", clip, photo);
  DIR *md = opendir(models);
  if (!md)
    SKIP("no models in %s", models);
  closedir(md);
  signal(SIGPIPE, SIG_IGN);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  setenv("ARGUS_MODELS", models, 1);

  char dir[] = "/tmp/argus-events-e2e-XXXXXX";
  if (!mkdtemp(dir)) {
    perror("mkdtemp");
    return 1;
  }
  char db[600];
  snprintf(db, sizeof db, "%s/argus.db", dir);

  /* The watchlist, the person, the camera. */
  const char *wl[] = {cli, "watchlist", "create", "vip", "--db", db, NULL};
  CHECK_INT_EQ(run(wl), 0);
  const char *pa[] = {cli,  "person",    "add",    "--watchlist",
                      "vip", "--name",   "Lin-Manuel Miranda",
                      "--models", models, "--db", db, photo, NULL};
  CHECK_INT_EQ(run(pa), 0);
  const char *ca[] = {cli, "camera", "add", "stage", clip, "--db", db, NULL};
  CHECK_INT_EQ(run(ca), 0);

  /* An operator and a token. */
  char token[ARGUS_STORE_TOKEN_MAX] = "";
  {
    argus_store *st = NULL;
    argus_store_error se = {{0}};
    CHECK_OK(argus_store_open(db, NULL, &st, &se));
    argus_store_id uid = 0;
    if (st) {
      CHECK_OK(argus_store_user_add(st, "op", "pw-op-123456789",
                                    ARGUS_ROLE_OPERATOR, &uid, &se));
      CHECK_OK(
          argus_store_token_create(st, uid, "e2e", NULL, token, NULL, &se));
    }
    argus_store_close(st);
    if (se.msg[0])
      fprintf(stderr, "store: %s\n", se.msg);
  }

  serve sv;
  if (serve_start(&sv, cli, db, models) != 0) {
    CHECK(0);
    serve_stop(&sv);
    api_rm_rf(dir);
    return check_report("test_api_events_e2e");
  }

  /* From the start of the event log: nothing raised before the client
   * connected is missed. */
  sse_stream a;
  sse_stream_start(&a, sv.port, token, "?after=0", -1);
  CHECK(sse_stream_wait_hello(&a));
  int at = -1;
  double end = sse_now() + 180;
  while (sse_now() < end && at < 0 && !atomic_load(&a.done)) {
    sse_sleep(0.2);
    pthread_mutex_lock(&a.s.mu);
    at = find_alert(&a.s, 0, "Lin-Manuel Miranda");
    pthread_mutex_unlock(&a.s.mu);
  }
  CHECK(at >= 0);
  int64_t alert_id = 0, event_id = 0;
  if (at >= 0) {
    pthread_mutex_lock(&a.s.mu);
    sse_frame *f = &a.s.f[at];
    event_id = f->id;
    cJSON *j = cJSON_Parse(f->data);
    CHECK(j != NULL);
    alert_id = (int64_t)cJSON_GetNumberValue(cJSON_GetObjectItem(j, "id"));
    CHECK(alert_id > 0);
    CHECK(strcmp(sse_jstr(j, "camera"), "stage") == 0);
    CHECK(strcmp(sse_jstr(j, "watchlist"), "vip") == 0);
    char want[96];
    snprintf(want, sizeof want, "/api/v1/alerts/%lld/crop",
             (long long)alert_id);
    CHECK(strcmp(sse_jstr(j, "crop"), want) == 0);
    CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(j, "score")) > 0);
    cJSON_Delete(j);
    /* The camera's state changes came too. */
    int cams = 0;
    for (int i = 0; i < a.s.nf; i++)
      if (strcmp(a.s.f[i].type, "camera.status") == 0 &&
          strstr(a.s.f[i].data, "\"stage\""))
        cams++;
    CHECK(cams >= 1);
    CHECK(sse_ids_increasing(&a.s, "e2e"));
    pthread_mutex_unlock(&a.s.mu);
  }

  /* The stored alert, through the API (when the handler is there). */
  if (alert_id > 0) {
    api_srv fake;
    memset(&fake, 0, sizeof fake);
    fake.port = sv.port;
    snprintf(fake.base, sizeof fake.base, "http://127.0.0.1:%d", sv.port);
    snprintf(fake.token[ARGUS_ROLE_OPERATOR],
             sizeof fake.token[ARGUS_ROLE_OPERATOR], "%s", token);
    char path[96];
    snprintf(path, sizeof path, "/api/v1/alerts/%lld", (long long)alert_id);
    api_resp r;
    if (api_call(&fake, "GET", path, ARGUS_ROLE_OPERATOR, NULL, NULL, &r) ==
        0) {
      if (r.status == 501)
        fprintf(stderr, "note: GET /alerts/{id} is not there yet\n");
      else
        CHECK_INT_EQ(r.status, 200);
      api_resp_free(&r);
    }
  }

  /* A client resuming after that event gets what the first got after it. */
  if (event_id > 0) {
    sse_sleep(1.0);
    sse_stream b;
    sse_stream_start(&b, sv.port, token, NULL, event_id);
    CHECK(sse_stream_wait_hello(&b));
    pthread_mutex_lock(&a.s.mu);
    int want = a.s.nf - at - 1;
    pthread_mutex_unlock(&a.s.mu);
    CHECK(sse_stream_wait_frames(&b, want, 20));
    pthread_mutex_lock(&a.s.mu);
    pthread_mutex_lock(&b.s.mu);
    for (int i = 0; i < want && i < b.s.nf; i++)
      CHECK_INT_EQ(b.s.f[i].id, a.s.f[at + 1 + i].id);
    pthread_mutex_unlock(&b.s.mu);
    pthread_mutex_unlock(&a.s.mu);
    sse_stream_stop(&b);
    sse_free(&b.s);
  }

  /* SIGTERM ends the stream and the server. */
  CHECK_INT_EQ(serve_stop(&sv), 0);
  CHECK(sse_stream_wait_done(&a, 10));
  sse_stream_stop(&a);
  sse_free(&a.s);
  api_rm_rf(dir);
  curl_global_cleanup();
  return check_report("test_api_events_e2e");
}
