/* argus loadgen against the split roles (docs/scale.md, "Match
 * throughput"): a database of 50 synthetic persons (one random unit template
 * each, of the embedder card's model), a throwaway nats-server, `argus sink`
 * and `argus match` (default cooldown: loadgen's events must not trip it),
 * then `argus loadgen` at 2 cameras x 10 events/s for 3 s with 30 % hits.
 * The alerts stored must be exactly the hits loadgen reports: each once
 * (one per track, distinct tracks), none raised by a miss, every one about
 * an enrolled person of the watchlist. Skipped without nats-server or the
 * models' cards. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "argus/face.h"
#include "argus/gallery.h"
#include "argus/store.h"
#include "check.h"
#include "nats_util.h"

#define N_PERSONS 50

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
  snprintf(g_tmp, sizeof g_tmp, "/tmp/argus-loadgen-XXXXXX");
  if (!mkdtemp(g_tmp)) {
    perror("mkdtemp");
    return 1;
  }
  char db[400];
  snprintf(db, sizeof db, "%s/argus.db", g_tmp);
  if (fill(db, gc.model_id, gc.dim, N_PERSONS) != 0)
    return 1;

  nu_server srv;
  memset(&srv, 0, sizeof srv);
  snprintf(srv.dir, sizeof srv.dir, "%s/js", g_tmp);
  if (nu_start(&srv) != 0) {
    fprintf(stderr, "nats-server did not start\n");
    nu_print_log(&srv);
    return 1;
  }
  pid_t sink =
      SPAWN("sink", "sink", "--bus", srv.url, "--db", db, "--quiet-status");
  pid_t match = SPAWN("match", "match", "--bus", srv.url, "--db", db);
  double t0 = nu_now();
  while (nu_now() - t0 < 20 && !(log_has("match", "argus: matching") &&
                                 log_has("sink", "argus: storing")))
    nu_sleep(0.05);
  CHECK(log_has("match", "against 50 persons (50 templates)"));

  /* 2 cameras x 10 events/s for 3 s, 30 % hits. */
  pid_t lg = SPAWN("loadgen", "loadgen", "--bus", srv.url, "--db", db,
                   "--cameras", "2", "--rate", "10", "--hit-ratio", "0.3",
                   "--duration", "3", "--seed", "7");
  CHECK_INT_EQ(wait_exit(lg), 0);
  char path[400], line[512] = "";
  snprintf(path, sizeof path, "%s/loadgen.log", g_tmp);
  FILE *f = fopen(path, "r");
  while (f && fgets(line, sizeof line, f))
    if (strncmp(line, "loadgen: events", 15) == 0)
      break;
  if (f)
    fclose(f);
  long events = -1, hits = -1, misses = -1;
  double rate = 0;
  CHECK_INT_EQ(sscanf(line,
                      "loadgen: events %ld hits %ld misses %ld errors %*d "
                      "seconds %*f rate %lf",
                      &events, &hits, &misses, &rate),
               4);
  printf("%s", line);
  CHECK_INT_EQ(events, 60);
  CHECK_INT_EQ(hits + misses, events);
  CHECK(hits >= 5 && misses >= 20); /* 30 % of 60, seed 7 */
  CHECK_NEAR(rate, 20, 1, 0);

  /* The alerts: as many as the hits (up to 15 s to arrive), then none
   * more. */
  argus_store_alert *a = NULL;
  long n = 0;
  t0 = nu_now();
  while ((n = alerts(db, &a)) >= 0 && n < hits && nu_now() - t0 < 15) {
    argus_store_free(a);
    a = NULL;
    nu_sleep(0.2);
  }
  printf("stored %ld alerts for %ld hits after %.1f s\n", n, hits,
         nu_now() - t0);
  argus_store_free(a);
  nu_sleep(1.5);
  n = alerts(db, &a);
  CHECK_INT_EQ(n, hits);
  /* Each once: distinct (camera, track), loadgen's cameras, enrolled
   * persons of the watchlist, over threshold. */
  for (long i = 0; i < n; i++) {
    CHECK(strncmp(a[i].camera, "load-", 5) == 0);
    CHECK(strcmp(a[i].watchlist, "load") == 0);
    CHECK(a[i].person_id > 0 && strncmp(a[i].person, "person-", 7) == 0);
    CHECK(a[i].score >= a[i].threshold);
    for (long j = 0; j < i; j++)
      CHECK(!(a[j].track_id == a[i].track_id &&
              strcmp(a[j].camera, a[i].camera) == 0));
  }
  argus_store_free(a);

  CHECK_INT_EQ(stop(match), 0);
  CHECK_INT_EQ(stop(sink), 0);
  nu_stop(&srv, SIGTERM);
  if (check_failures_) {
    print_log("match");
    print_log("sink");
    print_log("loadgen");
    nu_print_log(&srv);
  } else {
    char rm[300];
    snprintf(rm, sizeof rm, "rm -rf '%s' '%s.log'", g_tmp, srv.dir);
    if (system(rm) != 0)
      fprintf(stderr, "could not remove %s\n", g_tmp);
  }
  return check_report("test_loadgen");
}
