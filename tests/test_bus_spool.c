/* The NATS bus's on-disk spool (spool=FOLDER, src/bus/spool.c) against a
 * real nats-server that is killed and started again on the same port and
 * store:
 *   - away: face events and alerts published while the server is down go
 *     to the spool without the publisher waiting; when it is back they all
 *     arrive, each exactly once, in the order of publication per subject;
 *   - bounded: with spool_max=16 KiB the oldest are dropped and counted,
 *     and what is left arrives, in order, after the return;
 *   - restart: a publisher process that spooled (started while the server
 *     was down) is killed with SIGKILL, a torn record is appended to its
 *     last segment; a new process on the same spool sends everything,
 *     each once, in order, and the torn record is dropped.
 * Skipped when nats-server is not installed. */
#define _GNU_SOURCE
#include <dirent.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "argus/bus.h"
#include "check.h"
#include "nats_util.h"

static nu_server g_srv;
static char g_tmp[256];

#define MAXC 2048
typedef struct coll {
  pthread_mutex_t mu;
  const char *prefix; /* only ids with it */
  int n;
  char ids[MAXC][ARGUS_BUS_ID_MAX + 1];
} coll;

static void on_msg(void *user, const argus_bus_msg *m) {
  coll *c = user;
  pthread_mutex_lock(&c->mu);
  if (c->n < MAXC && strncmp(m->id, c->prefix, strlen(c->prefix)) == 0)
    snprintf(c->ids[c->n++], sizeof c->ids[0], "%s", m->id);
  pthread_mutex_unlock(&c->mu);
}

static int coll_n(coll *c) {
  pthread_mutex_lock(&c->mu);
  int n = c->n;
  pthread_mutex_unlock(&c->mu);
  return n;
}

static int wait_n(coll *c, int n, double secs) {
  double end = nu_now() + secs;
  while (coll_n(c) < n && nu_now() < end)
    nu_sleep(0.02);
  return coll_n(c);
}

/* The collected ids must be prefix<first>..prefix<first+n-1>, in order,
 * each once: returns how many are out of place. */
static int check_seq(coll *c, int first, int n) {
  int bad = c->n != n;
  for (int i = 0; i < c->n && i < n; i++) {
    char want[ARGUS_BUS_ID_MAX + 1];
    snprintf(want, sizeof want, "%s%d", c->prefix, first + i);
    if (strcmp(c->ids[i], want) != 0) {
      if (bad < 5)
        fprintf(stderr, "  %s[%d] is %s, expected %s\n", c->prefix, i,
                c->ids[i], want);
      bad++;
    }
  }
  return bad;
}

static argus_bus *open_url(const char *opts) {
  char url[700];
  snprintf(url, sizeof url, "%s%s", g_srv.url, opts ? opts : "");
  argus_bus *b = NULL;
  argus_error_detail e = {{0}};
  argus_err rc = argus_bus_open(url, NULL, &b, &e);
  if (rc != ARGUS_OK)
    fprintf(stderr, "open %s: %s\n", url, e.msg);
  CHECK_OK(rc);
  return b;
}

static argus_bus_sub *sub_group(argus_bus *b, const char *topic,
                                const char *group, coll *c,
                                const char *prefix) {
  memset(c, 0, sizeof *c);
  pthread_mutex_init(&c->mu, NULL);
  c->prefix = prefix;
  argus_bus_sub_options o = {0};
  o.pattern = topic;
  o.group = group;
  o.handler = on_msg;
  o.user = c;
  o.queue_msgs = 1024;
  argus_bus_sub *s = NULL;
  CHECK_OK(argus_bus_subscribe(b, &o, &s, NULL));
  return s;
}

static int publish(argus_bus *b, const char *topic, const char *prefix, int i,
                   int pad) {
  char id[64], doc[1200];
  snprintf(id, sizeof id, "%s%d", prefix, i);
  int n = snprintf(doc, sizeof doc,
                   "{\"v\":1,\"type\":\"test\",\"i\":%d,\"pad\":\"", i);
  for (int k = 0; k < pad && n < (int)sizeof doc - 3; k++)
    doc[n++] = 'x';
  doc[n++] = '"';
  doc[n++] = '}';
  doc[n] = '\0';
  return argus_bus_publish(b, topic, id, doc, (size_t)n);
}

/* Bytes of the spool's segment files in dir; the last one's path in last. */
static long spool_bytes(const char *dir, char *last, size_t cap) {
  DIR *d = opendir(dir);
  if (!d)
    return -1;
  long total = 0;
  struct dirent *e;
  char best[256] = "";
  while ((e = readdir(d))) {
    if (strncmp(e->d_name, "spool-", 6) != 0)
      continue;
    char p[700];
    snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
    struct stat sb;
    if (stat(p, &sb) == 0)
      total += (long)sb.st_size;
    if (strcmp(e->d_name, best) > 0)
      snprintf(best, sizeof best, "%s", e->d_name);
  }
  closedir(d);
  if (last)
    snprintf(last, cap, "%s/%s", dir, best);
  return total;
}

static argus_bus_stats stats(argus_bus *b) {
  argus_bus_stats st;
  memset(&st, 0, sizeof st);
  CHECK_OK(argus_bus_get_stats(b, &st));
  return st;
}

static int wait_waiting(argus_bus *b, uint64_t n, double secs) {
  double end = nu_now() + secs;
  while (stats(b).waiting != n && nu_now() < end)
    nu_sleep(0.02);
  return stats(b).waiting == n;
}

/* ---- away: published while the server is down --------------------------
 */
static void test_away(argus_bus *cons) {
  char opts[600];
  snprintf(opts, sizeof opts, "?spool=%s/away&name=edge", g_tmp);
  argus_bus *pub = open_url(opts);
  if (!pub)
    return;
  static coll faces, alerts;
  argus_bus_sub *sf = sub_group(cons, "face", "match", &faces, "f-");
  argus_bus_sub *sa = sub_group(cons, "alert.raised", "sink", &alerts, "a-");
  enum { UP = 20, DOWN = 300 };
  for (int i = 0; i < UP; i++) {
    CHECK_OK(publish(pub, "face", "f-", i, 100));
    CHECK_OK(publish(pub, "alert.raised", "a-", i, 100));
  }
  CHECK_INT_EQ(wait_n(&faces, UP, 20), UP);
  CHECK_INT_EQ(wait_n(&alerts, UP, 20), UP);
  CHECK_INT_EQ((long)stats(pub).spooled, 0);

  nu_stop(&g_srv, SIGKILL);
  double t_down = nu_now();
  nu_sleep(1.0); /* the client sees its connection closed */
  double worst = 0, t0 = nu_now();
  for (int i = UP; i < UP + DOWN; i++) {
    double t = nu_now();
    CHECK_OK(publish(pub, i % 2 ? "face" : "alert.raised", i % 2 ? "f-" : "a-",
                     i, 1000));
    if (nu_now() - t > worst)
      worst = nu_now() - t;
  }
  double took = nu_now() - t0;
  argus_bus_stats st = stats(pub);
  CHECK_INT_EQ((long)st.spooled, DOWN);
  CHECK_INT_EQ((long)st.waiting, DOWN);
  CHECK(worst < 0.5);
  CHECK(took < 5);
  char dir[600];
  snprintf(dir, sizeof dir, "%s/away", g_tmp);
  long bytes = spool_bytes(dir, NULL, 0);
  CHECK(bytes > DOWN * 1000);
  nu_sleep(1.0);
  CHECK_INT_EQ(coll_n(&faces), UP);

  CHECK_INT_EQ(nu_start(&g_srv), 0);
  double t_up = nu_now();
  int want_f = UP + DOWN / 2, want_a = UP + DOWN / 2;
  CHECK_INT_EQ(wait_n(&faces, want_f, 60), want_f);
  CHECK_INT_EQ(wait_n(&alerts, want_a, 60), want_a);
  double drained = nu_now() - t_up;
  CHECK(wait_waiting(pub, 0, 10));
  nu_sleep(1.0); /* anything doubled would have come by now */
  /* In order per subject, each once: f-0..19 then the odd ones. */
  pthread_mutex_lock(&faces.mu);
  pthread_mutex_lock(&alerts.mu);
  int bad = 0, k = 0;
  for (int i = 0; i < UP + DOWN; i++) {
    if (i >= UP && i % 2 == 0)
      continue;
    char want[32];
    snprintf(want, sizeof want, "f-%d", i);
    bad += k >= faces.n || strcmp(faces.ids[k], want) != 0;
    k++;
  }
  bad += faces.n != k;
  k = 0;
  for (int i = 0; i < UP + DOWN; i++) {
    if (i >= UP && i % 2 == 1)
      continue;
    char want[32];
    snprintf(want, sizeof want, "a-%d", i);
    bad += k >= alerts.n || strcmp(alerts.ids[k], want) != 0;
    k++;
  }
  bad += alerts.n != k;
  pthread_mutex_unlock(&alerts.mu);
  pthread_mutex_unlock(&faces.mu);
  CHECK_INT_EQ(bad, 0);
  st = stats(pub);
  CHECK_INT_EQ((long)st.lost, 0);
  CHECK_INT_EQ((long)st.waiting, 0);
  CHECK(spool_bytes(dir, NULL, 0) == 0);
  printf("away: %d publications (face + alert.raised, ~1 KB) while the "
         "server was down %.1f s: spooled (%ld bytes) in %.3f s, the slowest "
         "call %.2f ms; all delivered %.2f s after the server was back, each "
         "once, in order per subject\n",
         DOWN, t_up - t_down, bytes, took, worst * 1e3, drained);
  argus_bus_unsubscribe(sf);
  argus_bus_unsubscribe(sa);
  argus_bus_close(pub);
}

/* ---- bounded: a full spool drops its oldest ------------------------------
 */
static void test_bounded(argus_bus *cons) {
  char opts[600];
  snprintf(opts, sizeof opts, "?spool=%s/small&spool_max=16384", g_tmp);
  argus_bus *pub = open_url(opts);
  if (!pub)
    return;
  static coll c;
  argus_bus_sub *s = sub_group(cons, "alert.raised", "bounded", &c, "b-");
  nu_stop(&g_srv, SIGKILL);
  nu_sleep(1.0);
  enum { N = 400 };
  for (int i = 0; i < N; i++)
    CHECK_OK(publish(pub, "alert.raised", "b-", i, 200));
  argus_bus_stats st = stats(pub);
  char dir[600];
  snprintf(dir, sizeof dir, "%s/small", g_tmp);
  long bytes = spool_bytes(dir, NULL, 0);
  CHECK(bytes > 0 && bytes <= 16384);
  CHECK(st.lost > 0);
  CHECK_INT_EQ((long)(st.lost + st.waiting), N);
  long kept = (long)st.waiting, lost = (long)st.lost;
  CHECK_INT_EQ(nu_start(&g_srv), 0);
  CHECK_INT_EQ(wait_n(&c, (int)kept, 60), kept);
  CHECK(wait_waiting(pub, 0, 10));
  nu_sleep(0.5);
  pthread_mutex_lock(&c.mu);
  CHECK_INT_EQ(check_seq(&c, (int)lost, (int)kept), 0);
  pthread_mutex_unlock(&c.mu);
  printf("bounded: spool_max 16384 bytes, %d publications of ~300 bytes while "
         "down: the oldest %ld dropped (counted), the newest %ld kept (%ld "
         "bytes on disk) and delivered in order\n",
         N, lost, kept, bytes);
  argus_bus_unsubscribe(s);
  argus_bus_close(pub);
}

/* ---- restart: a killed publisher's spool is sent by the next one ---------
 */
static int child_main(const char *url, int n) {
  argus_bus *b = NULL;
  argus_error_detail e = {{0}};
  if (argus_bus_open(url, NULL, &b, &e) != ARGUS_OK) {
    fprintf(stderr, "child: open %s: %s\n", url, e.msg);
    return 1;
  }
  for (int i = 0; i < n; i++)
    if (publish(b, "alert.raised", "r-", i, 500) != ARGUS_OK)
      return 1;
  argus_bus_stats st;
  argus_bus_get_stats(b, &st);
  printf("spooled %llu\n", (unsigned long long)st.spooled);
  fflush(stdout);
  for (;;) /* killed here, its spool not closed */
    pause();
}

static void test_restart(argus_bus *cons) {
  static coll c;
  argus_bus_sub *s = sub_group(cons, "alert.raised", "restart", &c, "r-");
  nu_stop(&g_srv, SIGKILL);
  char url[700], dir[600];
  snprintf(dir, sizeof dir, "%s/restart", g_tmp);
  snprintf(url, sizeof url, "%s?spool=%s", g_srv.url, dir);
  enum { N = 100 };
  int fds[2];
  CHECK(pipe(fds) == 0);
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], 1);
    close(fds[0]);
    char n[16];
    snprintf(n, sizeof n, "%d", N);
    execl("/proc/self/exe", "test_bus_spool", "--child", url, n, (char *)NULL);
    _exit(127);
  }
  close(fds[1]);
  /* The child started without a server, spooled N, and says so. */
  char line[64] = "";
  FILE *f = fdopen(fds[0], "r");
  if (!f || !fgets(line, sizeof line, f))
    line[0] = '\0';
  CHECK(strncmp(line, "spooled 100", 11) == 0);
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
  if (f)
    fclose(f);
  /* A record torn by the crash: a partial frame after the last one. */
  char last[800];
  long before = spool_bytes(dir, last, sizeof last);
  CHECK(before > N * 500);
  FILE *seg = fopen(last, "ab");
  CHECK(seg != NULL);
  if (seg) {
    fwrite("ASP1\x40\x00\x00", 1, 7, seg);
    fclose(seg);
  }
  CHECK_INT_EQ(nu_start(&g_srv), 0);
  argus_bus *pub = open_url(strchr(url, '?'));
  if (pub) {
    CHECK_INT_EQ(wait_n(&c, N, 60), N);
    CHECK(wait_waiting(pub, 0, 10));
    nu_sleep(0.5);
    pthread_mutex_lock(&c.mu);
    CHECK_INT_EQ(check_seq(&c, 0, N), 0);
    pthread_mutex_unlock(&c.mu);
    argus_bus_stats st = stats(pub);
    CHECK_INT_EQ((long)st.resent, N);
    argus_bus_close(pub);
  }
  CHECK(spool_bytes(dir, NULL, 0) == 0);
  printf("restart: a publisher started without a server spooled %d (%ld "
         "bytes), was killed (SIGKILL), a torn record appended; the next "
         "process on the spool sent all %d, each once, in order\n",
         N, before, N);
  argus_bus_unsubscribe(s);
}

int main(int argc, char **argv) {
  if (argc == 4 && strcmp(argv[1], "--child") == 0)
    return child_main(argv[2], (int)strtol(argv[3], NULL, 10));
  if (!nu_server_bin())
    SKIP("nats-server is not installed (apt-get install nats-server; "
         "scripts/setup.sh installs it)");
  snprintf(g_tmp, sizeof g_tmp, "/tmp/argus-spool-XXXXXX");
  if (!mkdtemp(g_tmp)) {
    perror("mkdtemp");
    return 1;
  }
  snprintf(g_srv.dir, sizeof g_srv.dir, "%s/js", g_tmp);
  if (nu_start(&g_srv) != 0) {
    fprintf(stderr, "nats-server did not start on port %d\n", g_srv.port);
    return 1;
  }
  argus_bus *cons = open_url("?name=consumers");
  if (cons) {
    test_away(cons);
    test_bounded(cons);
    test_restart(cons);
    argus_bus_close(cons);
  }
  nu_stop(&g_srv, SIGTERM);
  if (check_failures_) {
    nu_print_log(&g_srv);
  } else {
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_tmp);
    if (system(cmd) != 0)
      fprintf(stderr, "could not remove %s\n", g_tmp);
  }
  return check_report("test_bus_spool");
}
