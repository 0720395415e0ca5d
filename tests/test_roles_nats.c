/* The live pipeline split into roles over NATS JetStream, end to end with
 * the real binary, models, video and database (docs/scale.md):
 *
 *   nats-server -js (throwaway, loopback) + argus sink + 2 x argus match +
 *   argus edge on hamilton_clip_10s.mp4 (Lin-Manuel Miranda enrolled)
 *
 * must store the same alerts as `argus watch` in one process (cooldown off:
 * one alert per person per track, a deterministic set), each once, with
 * its crop (asked by the matchers from the edge: face events carry none).
 * Then the same with the clip played in real time and one
 * matcher frozen (SIGSTOP) then killed (SIGKILL) in the middle of the
 * stream: nothing lost,
 * nothing doubled, the recovery time printed. The face events seen on the
 * bus are measured (bytes per event). `argus serve --role sink` as the sink.
 * Two `argus edge --leases` share the stored cameras by their capacities;
 * one killed, the other takes its cameras over within a lease. Skipped without nats-server, the
 * models or ../shared/data. */
#define _GNU_SOURCE
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "argus/bus.h"
#include "argus/store.h"
#include "check.h"
#include "cli_util.h"
#include "nats_util.h"

static const char *g_cli, *g_models;
static char g_tmp[256], g_clip[600], g_photo[600];
static nu_server g_srv;
static cli_result g_r;

/* A role in the background, its output in dir/<name>.log. */
static pid_t spawn(const char *name, const char *const *args) {
  char log[400];
  snprintf(log, sizeof log, "%s/%s.log", g_tmp, name);
  const char *argv[64];
  int n = 0;
  argv[n++] = g_cli;
  for (; args[n - 1] && n < 63; n++)
    argv[n] = args[n - 1];
  argv[n] = NULL;
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid == 0) {
    int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
      _exit(126);
    setenv("ARGUS_MODELS", g_models, 1);
    unsetenv("ARGUS_PLUGIN");
    execv(g_cli, (char *const *)argv);
    _exit(127);
  }
  return pid;
}

#define SPAWN(name, ...)                                                       \
  ({                                                                           \
    const char *a_[] = {__VA_ARGS__, NULL};                                    \
    spawn(name, a_);                                                           \
  })

static int stop(pid_t pid, int sig) {
  if (pid <= 0)
    return -1;
  kill(pid, sig);
  int st = 0;
  waitpid(pid, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* A database with the watchlist and Lin-Manuel Miranda enrolled. */
static int make_db(const char *db) {
  CLI_RUN(g_cli, g_tmp, g_models, 1, &g_r, "watchlist", "create", "hamilton",
          "--db", db);
  if (g_r.status != 0)
    return -1;
  CLI_RUN(g_cli, g_tmp, g_models, 1, &g_r, "person", "add", "--watchlist",
          "hamilton", "--name", "Lin-Manuel Miranda", "--db", db, g_photo);
  return g_r.status == 0 ? 0 : -1;
}

typedef struct alerts {
  int n, dup, with_crop;
  int64_t track[256], person[256];
} alerts;

/* The alerts stored in db: how many, (track, person) pairs seen twice,
 * those with a crop file on disk. */
static void read_alerts(const char *db, alerts *out) {
  memset(out, 0, sizeof *out);
  argus_store *s = NULL;
  argus_store_error e = {{0}};
  if (argus_store_open(db, NULL, &s, &e) != ARGUS_OK) {
    fprintf(stderr, "open %s: %s\n", db, e.msg);
    out->n = -1;
    return;
  }
  argus_store_alert_filter f;
  memset(&f, 0, sizeof f);
  f.status = -1;
  f.limit = 256;
  argus_store_alert *a = NULL;
  size_t n = 0;
  if (argus_store_alert_list(s, &f, &a, &n, &e) == ARGUS_OK) {
    char dir[512];
    snprintf(dir, sizeof dir, "%s", db);
    char *slash = strrchr(dir, '/');
    if (slash)
      *slash = '\0';
    for (size_t i = 0; i < n && i < 256; i++) {
      for (int k = 0; k < out->n; k++)
        out->dup +=
            out->track[k] == a[i].track_id && out->person[k] == a[i].person_id;
      out->track[out->n] = a[i].track_id;
      out->person[out->n] = a[i].person_id;
      out->n++;
      char crop[700];
      snprintf(crop, sizeof crop, "%s/crops/%.2s/%s.jpg", dir, a[i].crop_sha256,
               a[i].crop_sha256);
      out->with_crop += a[i].crop_sha256[0] && access(crop, R_OK) == 0;
    }
    argus_store_free(a);
  }
  argus_store_close(s);
}

/* The face events on the bus: count and bytes (a plain subscription sees
 * what the edge publishes; the matchers' work queue is not touched). */
typedef struct face_meter {
  pthread_mutex_t mu;
  long n;
  double bytes;
  long with_jpeg, with_crop_at; /* carrying the crop; naming the edge */
} face_meter;

static void on_face(void *user, const argus_bus_msg *m) {
  face_meter *fm = user;
  pthread_mutex_lock(&fm->mu);
  fm->n++;
  fm->bytes += (double)m->size;
  fm->with_jpeg += strstr(m->data, "\"crop_jpeg\"") != NULL;
  fm->with_crop_at += strstr(m->data, "\"crop_at\":\"argus.crop.") != NULL;
  pthread_mutex_unlock(&fm->mu);
}

/* One split run on `db` (a fresh copy): sink, two matchers, the edge on the
 * clip. kill_at > 0: matcher A is killed that many seconds after the edge
 * started. Returns the wall time from the edge's start until the database
 * held `want` alerts (or the timeout). */
/* The number before `what` in the last line of the role's log that starts
 * with "argus: " (its final summary); -1 when there is none. */
static long long final_count(const char *name, const char *what) {
  char log[400];
  snprintf(log, sizeof log, "%s/%s.log", g_tmp, name);
  static char buf[1 << 16];
  cli_slurp(log, buf, sizeof buf);
  const char *line = NULL;
  for (const char *p = strstr(buf, "argus: "); p; p = strstr(p + 1, "argus: "))
    line = p;
  const char *w = line ? strstr(line, what) : NULL;
  if (!w)
    return -1;
  while (w > line && w[-1] == ' ')
    w--;
  while (w > line && w[-1] >= '0' && w[-1] <= '9')
    w--;
  return strtoll(w, NULL, 10);
}

static double split_run(const char *db, int realtime, double kill_at, int want,
                        alerts *got, face_meter *fm, int serve) {
  char url[160];
  /* A short ack wait: a dead matcher's face events go to the other soon. */
  snprintf(url, sizeof url, "%s?ack_wait=2", g_srv.url);
  pid_t sink = serve ? SPAWN("serve", "serve", "--role", "sink", "--bus", url,
                             "--db", db, "--listen", "127.0.0.1:0")
                     : SPAWN("sink", "sink", "--bus", url, "--db", db,
                             "--status-interval", "2");
  pid_t ma = SPAWN("match-a", "match", "--bus", url, "--db", db, "--cooldown",
                   "0", "--status-interval", "2");
  /* The second matcher scans an fp16 index re-ranked exactly, split over
   * two threads: the same alerts. */
  pid_t mb = SPAWN("match-b", "match", "--bus", url, "--db", db, "--cooldown",
                   "0", "--status-interval", "2", "--index", "f16",
                   "--search-threads", "2");
  nu_sleep(2.0); /* subscribed, galleries loaded */
  argus_bus *b = NULL;
  argus_bus_sub *sub = NULL;
  if (fm && argus_bus_open(g_srv.url, NULL, &b, NULL) == ARGUS_OK) {
    argus_bus_sub_options o = {0};
    o.pattern = "face";
    o.handler = on_face;
    o.user = fm;
    o.queue_msgs = 4096;
    o.queue_bytes = (size_t)64 << 20;
    CHECK_OK(argus_bus_subscribe(b, &o, &sub, NULL));
  }
  double t0 = nu_now();
  pid_t edge = realtime
                   ? SPAWN("edge", "edge", "--bus", url, "--db", db,
                           "--realtime", g_clip)
                   : SPAWN("edge", "edge", "--bus", url, "--db", db, g_clip);
  if (kill_at > 0) {
    /* Frozen first (whatever it fetched stays unacknowledged), then
     * killed: its face events must reach matcher B. */
    nu_sleep(kill_at);
    kill(ma, SIGSTOP);
    printf("  matcher A frozen %.1f s after the edge started", nu_now() - t0);
    nu_sleep(3.0);
    CHECK_INT_EQ(stop(ma, SIGKILL), 128 + SIGKILL);
    ma = 0;
    printf(", killed at %.1f s\n", nu_now() - t0);
  }
  int est = 0;
  waitpid(edge, &est, 0);
  CHECK(WIFEXITED(est) && WEXITSTATUS(est) == 0);
  double t_edge = nu_now() - t0;
  double end = nu_now() + 40;
  while (nu_now() < end) {
    read_alerts(db, got);
    if (got->n >= want)
      break;
    nu_sleep(0.2);
  }
  double t_all = nu_now() - t0;
  nu_sleep(2.5); /* past an ack wait: anything doubled would show now */
  read_alerts(db, got);
  printf("  edge done after %.1f s; %d alert(s) stored %.1f s after the "
         "edge started\n",
         t_edge, got->n, t_all);
  if (ma)
    CHECK_INT_EQ(stop(ma, SIGTERM), 0);
  CHECK_INT_EQ(stop(mb, SIGTERM), 0);
  CHECK_INT_EQ(stop(sink, SIGTERM), 0);
  /* The roles' summaries say what each did: the matchers searched faces
   * (every face event once between them; the frozen one's count is lost
   * with it), the sink stored the alerts. */
  long long fa = ma || kill_at <= 0 ? final_count("match-a", "faces searched")
                                    : 0,
            fb = final_count("match-b", "faces searched");
  printf("  faces searched by matcher A %lld, B %lld; face events %ld\n", fa,
         fb, fm ? fm->n : -1L);
  CHECK(fb >= 0 && fa >= 0 && fa + fb >= 1);
  if (fm && kill_at <= 0)
    CHECK_INT_EQ(fa + fb, fm->n);
  if (!serve)
    CHECK(final_count("sink", "alerts stored") >= got->n);
  argus_bus_close(b);
  return t_all;
}

/* The in-process reference: argus watch on its own copy. */
static int reference(const char *db, int realtime) {
  if (realtime)
    CLI_RUN(g_cli, g_tmp, g_models, 1, &g_r, "watch", "--db", db, "--cooldown",
            "0", "--quiet-status", "--realtime", g_clip);
  else
    CLI_RUN(g_cli, g_tmp, g_models, 1, &g_r, "watch", "--db", db, "--cooldown",
            "0", "--quiet-status", g_clip);
  CHECK_INT_EQ(g_r.status, 0);
  alerts a;
  read_alerts(db, &a);
  return a.n;
}

/* Whether the role's log holds `what`. */
static int log_has(const char *name, const char *what) {
  char log[400];
  snprintf(log, sizeof log, "%s/%s.log", g_tmp, name);
  static char buf[1 << 16];
  cli_slurp(log, buf, sizeof buf);
  return strstr(buf, what) != NULL;
}

/* How many "lease ... taken" lines the log holds. */
static int leases_taken(const char *name) {
  char log[400];
  snprintf(log, sizeof log, "%s/%s.log", g_tmp, name);
  static char buf[1 << 16];
  cli_slurp(log, buf, sizeof buf);
  int n = 0;
  for (const char *q = buf; (q = strstr(q, "taken; analysed here")); q++)
    n++;
  return n;
}

/* An alert.raised of Lin (person 1 of watchlist 1 in a fresh database)
 * as a matcher publishes it. */
static void raise_alert(argus_bus *b, const char *id, const char *camera,
                        uint64_t track, double media_time, int64_t wall_ns,
                        double cooldown) {
  argus_event *a = NULL;
  CHECK_OK(argus_event_new(ARGUS_EVENT_ALERT, NULL, &a));
  if (!a)
    return;
  argus_event_alert *al = &a->u.alert;
  snprintf(a->id, sizeof a->id, "%s", id);
  snprintf(al->camera, sizeof al->camera, "%s", camera);
  snprintf(al->person, sizeof al->person, "Lin-Manuel Miranda");
  snprintf(al->watchlist, sizeof al->watchlist, "hamilton");
  al->person_id = al->watchlist_id = 1;
  al->track = track;
  al->media_time = media_time;
  al->wall_ns = wall_ns;
  al->score = 0.7f;
  al->threshold = 0.4f;
  al->track_start = NAN;
  al->cooldown = cooldown;
  CHECK_OK(argus_bus_publish_event(b, ARGUS_EVENT_TOPIC_ALERT_RAISED, a));
  argus_event_unref(a);
}

/* Two matchers each keep the cooldown for the faces they handle; the sink
 * sees every alert and makes it exact: of two tracks of one person on one
 * camera 1 s apart (raised by different matchers), it stores the first.
 * Alerts outside the cooldown, on another camera, raised without a
 * cooldown, and a redelivery of a stored alert are stored (once). */
static void cooldown_run(const char *db) {
  pid_t sink = SPAWN("sink-cd", "sink", "--bus", g_srv.url, "--db", db);
  double end = nu_now() + 30;
  while (!log_has("sink-cd", "storing the alerts") && nu_now() < end)
    nu_sleep(0.1);
  argus_bus *b = NULL;
  argus_error_detail e = {{0}};
  CHECK_OK(argus_bus_open(g_srv.url, NULL, &b, &e));
  if (!b)
    return;
  int64_t now = argus_wall_ns();
  const int64_t s1 = 1000000000;
  raise_alert(b, "alert-cd-1", "gate", 1, 5.0, now, 30);
  raise_alert(b, "alert-cd-2", "gate", 2, 6.0, now + s1, 30);  /* cooled */
  raise_alert(b, "alert-cd-3", "gate", 3, 45.0, now + s1, 30); /* later */
  raise_alert(b, "alert-cd-4", "door", 4, 6.0, now + s1, 30);  /* camera */
  raise_alert(b, "alert-cd-5", "gate", 5, 6.5, now + s1, 0);   /* none */
  CHECK_OK(argus_bus_flush(b, 5));
  argus_bus_close(b);
  /* A redelivery of the first (a matcher died before its acknowledgement):
   * the same id again, from another connection (no publisher dedupe). */
  nu_sleep(0.5);
  CHECK_OK(argus_bus_open(g_srv.url, NULL, &b, &e));
  if (b) {
    nu_sleep(2.2); /* past nothing: the server's duplicate window is 2 min,
                      so this one is dropped there or by the sink's store */
    raise_alert(b, "alert-cd-1", "gate", 1, 5.0, now, 30);
    CHECK_OK(argus_bus_flush(b, 5));
    argus_bus_close(b);
  }
  alerts got;
  end = nu_now() + 20;
  do {
    nu_sleep(0.2);
    read_alerts(db, &got);
  } while (got.n < 4 && nu_now() < end);
  nu_sleep(1.0);
  read_alerts(db, &got);
  CHECK_INT_EQ(stop(sink, SIGTERM), 0);
  CHECK_INT_EQ(got.n, 4);
  CHECK_INT_EQ(got.dup, 0);
  int tracks = 0;
  for (int i = 0; i < got.n && i < 256; i++)
    tracks |= 1 << (int)got.track[i];
  CHECK_INT_EQ(tracks, (1 << 1) | (1 << 3) | (1 << 4) | (1 << 5));
  CHECK_INT_EQ(final_count("sink-cd", "not stored"), 1);
  printf("cooldown across matchers: of 5 alerts raised, the sink stored 4 "
         "(tracks 1, 3, 4, 5): track 2, 1 s after track 1 of the same "
         "person on the same camera, was not stored\n");
}

/* Lines of a role's log that contain `what`. */
static int log_count(const char *name, const char *what) {
  char log[400];
  snprintf(log, sizeof log, "%s/%s.log", g_tmp, name);
  static char buf[1 << 16];
  cli_slurp(log, buf, sizeof buf);
  int n = 0;
  for (const char *q = buf; (q = strstr(q, what)); q++)
    n++;
  return n;
}

/* Three stored cameras, two edges through leases (time to live 3 s) with
 * capacities 3 and 6: the first, alone, takes all three; once the second
 * has registered, the first gives cameras back one at a time until the
 * loads by capacity are even (1 of 3 there, 2 of 6 here) and then keeps
 * still; the first killed, the second takes its camera within a lease and
 * a renewal period. */
static void lease_run(const char *db) {
  const char *names[] = {"gate-1", "gate-2", "gate-3"};
  for (int i = 0; i < 3; i++) {
    CLI_RUN(g_cli, g_tmp, g_models, 1, &g_r, "camera", "add", names[i], g_clip,
            "--db", db);
    CHECK_INT_EQ(g_r.status, 0);
  }
  pid_t ea =
      SPAWN("edge-a", "edge", "--bus", g_srv.url, "--db", db, "--leases",
            "--lease-ttl", "3", "--loop", "--realtime", "--quiet-status");
  double end = nu_now() + 30;
  while (leases_taken("edge-a") < 3 && nu_now() < end)
    nu_sleep(0.1);
  CHECK_INT_EQ(leases_taken("edge-a"), 3);
  pid_t eb = SPAWN("edge-b", "edge", "--bus", g_srv.url, "--db", db, "--leases",
                   "--lease-ttl", "3", "--capacity", "6", "--loop",
                   "--realtime", "--quiet-status");
  end = nu_now() + 60;
  while (!log_has("edge-b", "claiming up to") && nu_now() < end)
    nu_sleep(0.1);
  if (!log_has("edge-b", "claiming up to")) {
    /* Where it is stuck, for the log. */
    char cmd[200];
    snprintf(cmd, sizeof cmd,
             "cat /proc/%d/wchan; echo; gdb -p %d -batch -ex 'thread apply "
             "all bt' 2>&1 | grep -E '^#|^Thread' | head -80",
             (int)eb, (int)eb);
    fprintf(stderr, "edge B not ready after 60 s:\n");
    if (system(cmd) != 0)
      fprintf(stderr, "(no stack)\n");
    CHECK(0);
  }
  /* Each edge has a spool by default: B the next free folder. */
  CHECK(log_has("edge-a", "edge-spool-1"));
  CHECK(log_has("edge-b", "edge-spool-2"));
  double t_b = nu_now();
  end = t_b + 30;
  while (leases_taken("edge-b") < 2 && nu_now() < end)
    nu_sleep(0.1);
  double spread = nu_now() - t_b;
  /* Then more than a lease of calm: nothing moves any more. */
  nu_sleep(4.0);
  const char *back = "lease given back for edge";
  CHECK_INT_EQ(log_count("edge-a", back), 2);
  CHECK_INT_EQ(leases_taken("edge-b"), 2);
  CHECK_INT_EQ(leases_taken("edge-a"), 3);
  CHECK_INT_EQ(log_count("edge-b", back), 0);
  printf("leases: edge A (capacity 3) ran all 3 cameras alone; edge B "
         "(capacity 6) had 2 of them %.1f s after it was ready, A kept 1, "
         "and nothing moved after that\n",
         spread);
  CHECK_INT_EQ(stop(ea, SIGKILL), 128 + SIGKILL);
  double t_kill = nu_now();
  end = t_kill + 20;
  while (leases_taken("edge-b") < 3 && nu_now() < end)
    nu_sleep(0.05);
  double took = nu_now() - t_kill;
  CHECK_INT_EQ(leases_taken("edge-b"), 3);
  /* At most a lease (3 s) after A's last renewal, plus B's renewal period
   * (1 s) and scheduling. */
  CHECK(took <= 3 + 1 + 1.5);
  printf("leases: edge B took over the camera of the killed edge A %.1f s "
         "after the kill (lease 3 s, renewed every 1 s)\n",
         took);
  CHECK_INT_EQ(stop(eb, SIGTERM), 0);
}

static void copy_file(const char *from, const char *to) {
  char cmd[1400];
  snprintf(cmd, sizeof cmd, "cp '%s' '%s'", from, to);
  CHECK_INT_EQ(system(cmd), 0);
}

int main(void) {
  g_cli = getenv("ARGUS_CLI");
  g_models = getenv("ARGUS_MODELS_DIR");
  const char *data = getenv("ARGUS_SHARED_DATA");
  if (!nu_server_bin())
    SKIP("nats-server is not installed (scripts/setup.sh installs it)");
  if (!g_cli || !g_models || !data)
    SKIP("ARGUS_CLI, ARGUS_MODELS_DIR or ARGUS_SHARED_DATA not set (run "
         "through ctest)");
  snprintf(g_clip, sizeof g_clip, "%s/video/hamilton_clip_10s.mp4", data);
  snprintf(g_photo, sizeof g_photo,
           "%s/stills/face_recognition_examples/examples/"
           "lin-manuel-miranda.png",
           data);
  if (access(g_clip, R_OK) != 0 || access(g_photo, R_OK) != 0)
    SKIP("../shared/data is absent (%s)", g_clip);
  snprintf(g_tmp, sizeof g_tmp, "/tmp/argus-roles-XXXXXX");
  if (!mkdtemp(g_tmp)) {
    perror("mkdtemp");
    return 1;
  }
  snprintf(g_srv.dir, sizeof g_srv.dir, "%s/js", g_tmp);
  if (nu_start(&g_srv) != 0) {
    fprintf(stderr, "nats-server did not start\n");
    return 1;
  }
  char base[400], db[7][400], dirs[7][300];
  snprintf(base, sizeof base, "%s/base.db", g_tmp);
  if (make_db(base) != 0) {
    fprintf(stderr, "enrolment failed\n");
    return 1;
  }
  /* Each run in its own folder (its crops beside its database). */
  for (int i = 0; i < 7; i++) {
    snprintf(dirs[i], sizeof dirs[i], "%s/run%d", g_tmp, i);
    mkdir(dirs[i], 0700);
    snprintf(db[i], sizeof db[i], "%s/argus.db", dirs[i]);
    copy_file(base, db[i]);
    char from[500], to[500];
    snprintf(from, sizeof from, "%s/crops", g_tmp);
    snprintf(to, sizeof to, "%s/crops", dirs[i]);
    char cmd[1100];
    snprintf(cmd, sizeof cmd, "cp -r '%s' '%s' 2>/dev/null", from, to);
    if (system(cmd) != 0) {
      /* no enrolment crops folder: nothing to copy */
    }
  }

  /* 1. As fast as the clip decodes. */
  int want = reference(db[0], 0);
  printf("in one process: %d alert(s) (cooldown off: one per person per "
         "track)\n",
         want);
  CHECK(want >= 1);
  face_meter fm;
  memset(&fm, 0, sizeof fm);
  pthread_mutex_init(&fm.mu, NULL);
  alerts got;
  printf("split roles (sink + 2 matchers + edge):\n");
  split_run(db[1], 0, 0, want, &got, &fm, 0);
  CHECK_INT_EQ(got.n, want);
  CHECK_INT_EQ(got.dup, 0);
  /* Every alert has its crop, yet no face event carried one: the
   * matchers asked the edge for the crops of the faces that alerted. */
  CHECK_INT_EQ(got.with_crop, got.n);
  if (fm.n > 0)
    printf("face events on the bus: %ld, %.0f bytes each on average "
           "(embedding, base64; the crop stays with the edge until an "
           "alert asks for it)\n",
           fm.n, fm.bytes / (double)fm.n);
  CHECK(fm.n >= 1);
  CHECK_INT_EQ(fm.with_jpeg, 0);
  CHECK_INT_EQ(fm.with_crop_at, fm.n);

  /* 2. Real time, one matcher killed in the middle of the stream. */
  int want_rt = reference(db[2], 1);
  printf("in one process, real time: %d alert(s)\n", want_rt);
  printf("split roles, real time, matcher A frozen then killed "
         "mid-stream:\n");
  split_run(db[3], 1, 1.0, want_rt, &got, NULL, 0);
  CHECK_INT_EQ(got.n, want_rt);
  CHECK_INT_EQ(got.dup, 0);
  CHECK_INT_EQ(got.with_crop, got.n);

  /* 3. argus serve as the sink of the split deployment. */
  printf("split roles with argus serve --role sink:\n");
  split_run(db[4], 0, 0, want, &got, NULL, 1);
  CHECK_INT_EQ(got.n, want);
  CHECK_INT_EQ(got.dup, 0);
  CHECK_INT_EQ(got.with_crop, got.n);

  /* 4. The cooldown across matchers, at the sink. */
  cooldown_run(db[6]);

  /* 5. Cameras spread over edges by leases (last: its face events stay in
   * the work queue, no matcher runs). */
  lease_run(db[5]);

  nu_stop(&g_srv, SIGTERM);
  if (check_failures_)
    nu_print_log(&g_srv);
  if (check_failures_ == 0)
    cli_rm_tree(g_tmp);
  else
    fprintf(stderr, "logs kept in %s\n", g_tmp);
  return check_report("test_roles_nats");
}
