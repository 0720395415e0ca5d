/* The split roles on a 3-node NATS JetStream cluster (loopback, streams
 * replicated 3 times), one node killed under load (docs/scale.md, "A node
 * of a 3-node cluster killed"): a database of 50 synthetic persons,
 * `argus sink` and `argus match` on the cluster's server list, `argus
 * loadgen` at 2 cameras x 10 face events/s for 12 s (30 % hits); once 8
 * alerts were stored (~3 s in), the node that leads the face stream
 * (ARGUS_FACES) is killed with SIGKILL. The
 * alerts stored must be exactly the hits loadgen reports, each once (none
 * lost with the node, none doubled by a publisher's resend or a
 * redelivery), and the recovery time is printed: from the kill to the first
 * stored alert of a face event published after the kill (the whole path:
 * publish, replicate, match, publish the alert, store it). Skipped without
 * nats-server or the models' cards. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "argus/bus.h"
#include "argus/event.h"
#include "argus/face.h"
#include "argus/gallery.h"
#include "argus/store.h"
#include "check.h"
#include "nats_util.h"

#define N_PERSONS 50
#define LOAD_SECONDS "12"
#define KILL_AFTER_ALERTS 8

#include "roles_util.h"

/* Stored alerts (up to 1000), newest first; -1 on error. */
static long alerts(const char *db, argus_store_alert **out) {
  argus_store_options so;
  memset(&so, 0, sizeof so);
  so.read_only = 1;
  argus_store *s = NULL;
  argus_store_error se = {{0}};
  argus_store_alert_filter fl;
  memset(&fl, 0, sizeof fl);
  fl.limit = 1000;
  fl.status = -1;
  size_t n = 0;
  *out = NULL;
  long rc = -1;
  if (argus_store_open(db, &so, &s, &se) == ARGUS_OK &&
      argus_store_alert_list(s, &fl, out, &n, &se) == ARGUS_OK)
    rc = (long)n;
  else
    fprintf(stderr, "alerts of %s: %s\n", db, se.msg);
  argus_store_close(s);
  return rc;
}

/* ---- the sink's "alert" notifications (one per stored alert) -------------
 */

#define MAX_SEEN 1024
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static int g_nseen;
static double g_seen_at[MAX_SEEN];         /* nu_now() of receipt */
static int64_t g_seen_face_wall[MAX_SEEN]; /* its face event's publication */

static void on_alert(void *user, const argus_bus_msg *m) {
  (void)user;
  argus_event *ev = NULL;
  if (argus_event_from_json(m->data, m->size, &ev, NULL) != ARGUS_OK)
    return;
  pthread_mutex_lock(&g_mu);
  if (ev->type == ARGUS_EVENT_ALERT && g_nseen < MAX_SEEN) {
    g_seen_at[g_nseen] = nu_now();
    g_seen_face_wall[g_nseen] = ev->u.alert.wall_ns;
    g_nseen++;
  }
  pthread_mutex_unlock(&g_mu);
  argus_event_unref(ev);
}

int main(void) {
  g_cli = getenv("ARGUS_CLI");
  g_models = getenv("ARGUS_MODELS_DIR");
  if (!nu_server_bin())
    SKIP("nats-server is not installed (scripts/setup.sh installs it)");
  if (!g_cli || !g_models)
    SKIP("ARGUS_CLI or ARGUS_MODELS_DIR not set (run through ctest)");
  char card_path[1024];
  argus_face_error fe = {{0}};
  argus_face_card card;
  argus_gallery_config gc;
  argus_gallery_error ge = {{0}};
  if (argus_face_card_find(g_models, "fr_feature", card_path, sizeof card_path,
                           &fe) != ARGUS_OK ||
      argus_face_card_load(card_path, &card, &fe) != ARGUS_OK)
    SKIP("no embedder card in %s: %s", g_models, fe.msg);
  CHECK_OK(argus_gallery_config_from_card(&card, &gc, &ge));
  snprintf(g_tmp, sizeof g_tmp, "/tmp/argus-cluster-XXXXXX");
  if (!mkdtemp(g_tmp)) {
    perror("mkdtemp");
    return 1;
  }
  char db[400];
  snprintf(db, sizeof db, "%s/argus.db", g_tmp);
  if (fill(db, gc.model_id, gc.dim, N_PERSONS) != 0)
    return 1;

  static nu_cluster cl;
  pid_t sink = -1, match = -1, lg = -1;
  argus_bus *bus = NULL;
  argus_bus_sub *sub = NULL;
  int victim = -1;
  if (nu_cluster_start(&cl, g_tmp) != 0) {
    fprintf(stderr, "the cluster's nodes did not start\n");
    CHECK(0);
    goto out;
  }
  double t0 = nu_now();
  int meta = nu_cluster_wait_leader(&cl, 60);
  CHECK(meta >= 0);
  if (meta < 0)
    goto out;
  printf("cluster: 3 nodes, JetStream meta leader n%d after %.1f s\n", meta,
         nu_now() - t0);

  /* The test's own connection makes the streams (3 replicas) — retried
   * while the new cluster settles — and listens to the sink's "alert". */
  char url[400];
  snprintf(url, sizeof url, "%s?replicas=3&ack_wait=5&name=cluster-test",
           cl.urls);
  argus_error_detail e = {{0}};
  t0 = nu_now();
  while (argus_bus_open(url, NULL, &bus, &e) != ARGUS_OK && nu_now() - t0 < 60)
    nu_sleep(0.5);
  if (!bus)
    fprintf(stderr, "open %s: %s\n", url, e.msg);
  CHECK(bus != NULL);
  if (!bus)
    goto out;
  argus_bus_sub_options so = {0};
  so.pattern = ARGUS_BUS_TOPIC_ALERT;
  so.handler = on_alert;
  so.queue_msgs = 4096;
  so.queue_bytes = (size_t)64 << 20;
  CHECK_OK(argus_bus_subscribe(bus, &so, &sub, &e));

  sink = SPAWN("sink", "sink", "--bus", url, "--db", db);
  match = SPAWN("match", "match", "--bus", url, "--db", db);
  t0 = nu_now();
  while (nu_now() - t0 < 90 && !(log_has("match", "argus: matching") &&
                                 log_has("sink", "argus: storing")))
    nu_sleep(0.1);
  CHECK(log_has("match", "against 50 persons (50 templates)"));
  CHECK(log_has("sink", "argus: storing"));

  lg = SPAWN("loadgen", "loadgen", "--bus", url, "--db", db, "--cameras", "2",
             "--rate", "10", "--hit-ratio", "0.3", "--duration", LOAD_SECONDS,
             "--seed", "7");
  /* Under load: once a few alerts went the whole way (a slow start, an
   * ASan build, must not make the kill come before the load). */
  t0 = nu_now();
  for (;;) {
    pthread_mutex_lock(&g_mu);
    int seen = g_nseen;
    pthread_mutex_unlock(&g_mu);
    if (seen >= KILL_AFTER_ALERTS || nu_now() - t0 > 60)
      break;
    nu_sleep(0.02);
  }
  double into = nu_now() - t0;
  /* The node that leads the face stream: its loss forces an election for
   * the stream the edges publish to and the matchers consume. */
  victim = nu_cluster_stream_leader(&cl, "ARGUS_FACES");
  CHECK(victim >= 0);
  if (victim < 0)
    victim = 0;
  int before = 0;
  pthread_mutex_lock(&g_mu);
  before = g_nseen;
  pthread_mutex_unlock(&g_mu);
  int64_t kill_wall = argus_wall_ns();
  double t_kill = nu_now();
  nu_stop(&cl.node[victim], SIGKILL);
  printf("killed node n%d (the leader of ARGUS_FACES) %.1f s after loadgen "
         "started, %d alerts stored before\n",
         victim, into, before);
  CHECK(before >= KILL_AFTER_ALERTS);

  CHECK_INT_EQ(wait_exit(lg), 0);
  lg = -1;
  char path[400], line[512] = "";
  snprintf(path, sizeof path, "%s/loadgen.log", g_tmp);
  FILE *f = fopen(path, "r");
  while (f && fgets(line, sizeof line, f))
    if (strncmp(line, "loadgen: events", 15) == 0)
      break;
  if (f)
    fclose(f);
  long events = -1, hits = -1, misses = -1, errors = -1;
  CHECK_INT_EQ(sscanf(line,
                      "loadgen: events %ld hits %ld misses %ld errors %ld",
                      &events, &hits, &misses, &errors),
               4);
  printf("%s", line);
  CHECK_INT_EQ(events, 240);
  CHECK_INT_EQ(errors, 0);
  CHECK(hits >= 40);

  /* Every hit's alert, stored (up to 60 s: a redelivery waits ack_wait). */
  argus_store_alert *a = NULL;
  long n = 0;
  t0 = nu_now();
  while ((n = alerts(db, &a)) >= 0 && n < hits && nu_now() - t0 < 60) {
    argus_store_free(a);
    a = NULL;
    nu_sleep(0.25);
  }
  argus_store_free(a);
  a = NULL;
  printf("stored %ld alerts for %ld hits %.1f s after loadgen ended\n", n, hits,
         nu_now() - t0);
  /* Anything doubled (a resend, a redelivery after ack_wait) by now. */
  nu_sleep(6);
  n = alerts(db, &a);
  CHECK_INT_EQ(n, hits);
  int doubled = 0;
  for (long i = 0; i < n; i++) {
    CHECK(strncmp(a[i].camera, "load-", 5) == 0);
    for (long j = 0; j < i; j++)
      doubled += a[j].track_id == a[i].track_id &&
                 strcmp(a[j].camera, a[i].camera) == 0;
  }
  CHECK_INT_EQ(doubled, 0);
  argus_store_free(a);

  /* Recovery: the first stored alert of a face published after the kill,
   * and the longest silence between two stored alerts. */
  double recovery = -1, gap = 0;
  pthread_mutex_lock(&g_mu);
  int notified = g_nseen;
  for (int i = 0; i < g_nseen; i++) {
    if (g_seen_face_wall[i] > kill_wall &&
        (recovery < 0 || g_seen_at[i] - t_kill < recovery))
      recovery = g_seen_at[i] - t_kill;
    if (i > 0 && g_seen_at[i] - g_seen_at[i - 1] > gap)
      gap = g_seen_at[i] - g_seen_at[i - 1];
  }
  pthread_mutex_unlock(&g_mu);
  CHECK(recovery >= 0);
  CHECK(notified >= hits);
  printf("node n%d killed under load: %ld alerts stored for %ld hits, none "
         "lost, none doubled; recovery %.2f s (kill to the first stored "
         "alert of a face published after it); longest pause between stored "
         "alerts %.2f s\n",
         victim, n, hits, recovery, gap);

out:
  if (lg > 0)
    stop(lg);
  argus_bus_unsubscribe(sub);
  argus_bus_close(bus);
  if (match > 0)
    CHECK_INT_EQ(stop(match), 0);
  if (sink > 0)
    CHECK_INT_EQ(stop(sink), 0);
  nu_cluster_stop(&cl, SIGTERM);
  if (check_failures_) {
    print_log("match");
    print_log("sink");
    print_log("loadgen");
    for (int i = 0; i < NU_NODES; i++)
      nu_print_log(&cl.node[i]);
  } else {
    char rm[300];
    snprintf(rm, sizeof rm, "rm -rf '%s'", g_tmp);
    if (system(rm) != 0)
      fprintf(stderr, "could not remove %s\n", g_tmp);
  }
  return check_report("test_nats_cluster");
}
