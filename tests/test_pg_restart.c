/* Fault test "PostgreSQL stopped and restarted" (docs/scale.md): the split
 * roles on one PostgreSQL database while its server goes away twice.
 *
 * A throwaway PostgreSQL cluster (tests/pg_util.h) with a database of 50
 * synthetic persons, a throwaway nats-server, `argus match` and `argus sink`
 * on that database (ARGUS_DATA_DIR a temporary folder), then `argus
 * loadgen` at 2 cameras x 10 face events/s for 16 s with 80 % hits. During
 * the load the server is stopped twice, each time for ~3 s, and started
 * again on the same data folder and port: first `pg_ctl stop -m fast` (a
 * clean shutdown that disconnects every client), then SIGKILL of the
 * postmaster (its backends die after it; the next start recovers from the
 * WAL). During the second outage the sink is killed as well, with alerts
 * waiting in its spool (not acknowledged to JetStream), and a new sink is
 * started with the server: it stores them.
 *
 * Checked: every hit loadgen reports has its alert stored exactly once
 * (rows = distinct event ids = distinct camera and track = hits), alerts
 * were raised during each outage (so the outage was felt), and the sink
 * lost none. Printed per outage: the time from the restart (the server
 * accepting connections again) to the first alert stored after it, and to
 * the moment every alert of a face event published before the restart was
 * stored (the backlog). Skipped without PostgreSQL, nats-server or the
 * models' cards. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "argus/core.h"
#include "argus/face.h"
#include "argus/gallery.h"
#include "argus/store.h"
#include "check.h"
#include "nats_util.h"
#include "pg_util.h"

#define N_PERSONS 50
#define LOAD_SECONDS 16
#define DOWN_SECONDS 3.0

#include "roles_util.h"

/* The number of alert rows, on a connection of the test's own made again
 * whenever the server was away; -1 while it is away. */
static PGconn *g_conn;

static long count_alerts(const char *url) {
  if (!g_conn || PQstatus(g_conn) != CONNECTION_OK) {
    PQfinish(g_conn);
    g_conn = PQconnectdb(url);
    if (PQstatus(g_conn) != CONNECTION_OK)
      return -1;
  }
  PGresult *r = PQexec(g_conn, "SELECT count(*) FROM alerts");
  long n = -1;
  if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
    n = strtol(PQgetvalue(r, 0, 0), NULL, 10);
  PQclear(r);
  return n;
}

int main(void) {
  g_cli = getenv("ARGUS_CLI");
  g_models = getenv("ARGUS_MODELS_DIR");
  char bin[256];
  if (pg_find_bin(bin, sizeof bin) != 0)
    SKIP("no PostgreSQL server installed (Debian: postgresql)");
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

  pg_cluster pg;
  int prc = pg_cluster_start(&pg);
  if (prc == 77)
    SKIP("no PostgreSQL server installed (Debian: postgresql)");
  if (prc != 0)
    return 1;
  snprintf(g_tmp, sizeof g_tmp, "/tmp/argus-pgrestart-XXXXXX");
  if (!mkdtemp(g_tmp)) {
    perror("mkdtemp");
    pg_cluster_stop(&pg);
    return 1;
  }
  char data[400], db[256];
  snprintf(data, sizeof data, "%s/data", g_tmp);
  mkdir(data, 0700);
  setenv("ARGUS_DATA_DIR", data, 1); /* for fill and the children */
  snprintf(db, sizeof db,
           "postgresql://postgres@127.0.0.1:%d/argus?connect_timeout=5",
           pg.port);
  /* Commit timestamps (pg_xact_commit_timestamp) give the recovery times
   * exactly: the setting needs a restart, made before the load; the
   * restarted server also has synchronous_commit on (pg_cluster_restart),
   * so that a commit acknowledged to the sink survives the SIGKILL. */
  if (pg_exec_url(pg.admin, "CREATE DATABASE argus") != 0 ||
      pg_exec_url(pg.admin, "ALTER SYSTEM SET track_commit_timestamp = on") !=
          0 ||
      pg_cluster_halt(&pg, 0) != 0 || pg_cluster_restart(&pg, 30) != 0 ||
      fill(db, gc.model_id, gc.dim, N_PERSONS) != 0) {
    pg_print_log(&pg);
    pg_cluster_stop(&pg);
    return 1;
  }

  nu_server srv;
  memset(&srv, 0, sizeof srv);
  snprintf(srv.dir, sizeof srv.dir, "%s/js", g_tmp);
  if (nu_start(&srv) != 0) {
    fprintf(stderr, "nats-server did not start\n");
    nu_print_log(&srv);
    pg_cluster_stop(&pg);
    return 1;
  }
  /* A short ack wait: what a killed sink held goes to the next one soon. */
  char url[200];
  snprintf(url, sizeof url, "%s?ack_wait=3", srv.url);
  pid_t sink = SPAWN("sink", "sink", "--bus", url, "--db", db), sink2 = 0;
  pid_t match = SPAWN("match", "match", "--bus", url, "--db", db);
  double t0 = nu_now();
  while (nu_now() - t0 < 60 && !(log_has("match", "argus: matching") &&
                                 log_has("sink", "argus: storing")))
    nu_sleep(0.05);
  CHECK(log_has("match", "against 50 persons (50 templates)"));

  /* 2 cameras x 10 events/s for 16 s, 80 % hits. */
  char dur[16];
  snprintf(dur, sizeof dur, "%d", LOAD_SECONDS);
  pid_t lg = SPAWN("loadgen", "loadgen", "--bus", srv.url, "--db", db,
                   "--cameras", "2", "--rate", "10", "--hit-ratio", "0.8",
                   "--duration", dur, "--seed", "11");
  double lg_start = nu_now();

  /* The two outages, while sampling the alerts table every 0.1 s:
   * outage k halts the server once alerts are being stored (outage 0 at
   * least 2 s into the load, outage 1 at least 3 s after outage 0's
   * restart), keeps it down DOWN_SECONDS, starts it again. */
  double halt_at[2] = {0, 0}, restart_at[2] = {0, 0};
  int64_t restart_wall_ms[2] = {0, 0};
  char restart_time[2][ARGUS_RFC3339_MAX] = {"", ""};
  long at_halt[2] = {0, 0};
  int lg_rc = -1, lg_done = 0;
  for (int k = 0; k < 2; k++) {
    double not_before = k == 0 ? lg_start + 2 : restart_at[0] + 3;
    long need = k == 0 ? 3 : at_halt[0] + 1, total = -1;
    while (nu_now() < not_before || total < need) {
      total = count_alerts(db);
      if (nu_now() - lg_start > 60)
        break;
      nu_sleep(0.1);
    }
    CHECK(total >= need);
    at_halt[k] = total;
    PQfinish(g_conn); /* not the test's connection that a stop waits for */
    g_conn = NULL;
    halt_at[k] = nu_now();
    CHECK_INT_EQ(pg_cluster_halt(&pg, k == 1), 0);
    printf("outage %d: PostgreSQL %s %.1f s into the load with %ld alerts "
           "stored\n",
           k + 1,
           k == 1 ? "killed (SIGKILL to the postmaster)"
                  : "stopped (pg_ctl stop -m fast)",
           halt_at[k] - lg_start, total);
    if (k == 1) {
      /* The sink dies while its alerts wait for the database: they were
       * not acknowledged, so a new sink stores them. */
      nu_sleep(1.0);
      kill(sink, SIGKILL);
      int st = 0;
      waitpid(sink, &st, 0);
      printf("outage 2: the sink killed (SIGKILL) while the database is "
             "away\n");
    }
    while (nu_now() - halt_at[k] < DOWN_SECONDS)
      nu_sleep(0.05);
    CHECK_INT_EQ(pg_cluster_restart(&pg, 30), 0);
    if (k == 1)
      sink2 = SPAWN("sink2", "sink", "--bus", url, "--db", db);
    restart_at[k] = nu_now();
    /* the restart: when the new postmaster started (the server's clock) */
    restart_wall_ms[k] = pg_int_url(
        db, "SELECT (extract(epoch FROM pg_postmaster_start_time()) * 1000)"
            "::bigint");
    CHECK(restart_wall_ms[k] > 0);
    argus_rfc3339(restart_wall_ms[k] * 1000000, restart_time[k]);
    printf("outage %d: PostgreSQL accepting connections again %.1f s after "
           "the halt\n",
           k + 1, restart_at[k] - halt_at[k]);
  }

  /* Until loadgen ends, then until every hit's alert is stored (at most
   * 60 s after it) and 1.5 s more for any duplicate to show. */
  long events = -1, hits = -1, misses = -1, n = -1;
  for (;;) {
    if (!lg_done) {
      int st = 0;
      if (waitpid(lg, &st, WNOHANG) == lg) {
        lg_done = 1;
        lg_rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        char path[400], line[512] = "";
        snprintf(path, sizeof path, "%s/loadgen.log", g_tmp);
        FILE *f = fopen(path, "r");
        while (f && fgets(line, sizeof line, f))
          if (strncmp(line, "loadgen: events", 15) == 0)
            break;
        if (f)
          fclose(f);
        CHECK_INT_EQ(sscanf(line, "loadgen: events %ld hits %ld misses %ld",
                            &events, &hits, &misses),
                     3);
        printf("%s", line);
      }
    }
    long got = count_alerts(db);
    if (got >= 0)
      n = got;
    if (lg_done && (n >= hits || nu_now() - lg_start > LOAD_SECONDS + 60))
      break;
    if (!lg_done && nu_now() - lg_start > LOAD_SECONDS + 120)
      break;
    nu_sleep(0.1);
  }
  CHECK(lg_done);
  CHECK_INT_EQ(lg_rc, 0);
  CHECK_INT_EQ(events, 20 * LOAD_SECONDS);
  CHECK_INT_EQ(hits + misses, events);
  double settled = nu_now();
  while (nu_now() - settled < 1.5) {
    count_alerts(db);
    nu_sleep(0.1);
  }

  /* Each hit's alert once: rows, distinct event ids, distinct (camera,
   * track); no alert without its event id. */
  long rows = count_alerts(db);
  int64_t ids = pg_int_url(db, "SELECT count(DISTINCT event_id) FROM alerts");
  int64_t tracks = pg_int_url(
      db, "SELECT count(*) FROM (SELECT DISTINCT camera, track_id FROM "
          "alerts) AS t");
  int64_t no_id =
      pg_int_url(db, "SELECT count(*) FROM alerts WHERE event_id IS NULL");
  int64_t strays = pg_int_url(
      db, "SELECT count(*) FROM alerts WHERE camera NOT LIKE 'load-%' OR "
          "watchlist <> 'load' OR person NOT LIKE 'person-%'");
  printf("stored %ld alerts (%lld distinct event ids, %lld distinct camera "
         "and track) for %ld hits\n",
         rows, (long long)ids, (long long)tracks, hits);
  CHECK_INT_EQ(rows, hits);
  CHECK_INT_EQ(ids, hits);
  CHECK_INT_EQ(tracks, hits);
  CHECK_INT_EQ(no_id, 0);
  CHECK_INT_EQ(strays, 0);

  /* Recovery per outage, from the rows' commit times (ms since the
   * epoch, the server's clock: the same host's): the first commit after
   * the restart; the last commit of an alert whose face event was
   * published before the restart (alert time = the face event's). */
  for (int k = 0; k < 2; k++) {
    char sql[512];
    const char *ct = "(extract(epoch FROM pg_xact_commit_timestamp(xmin)) "
                     "* 1000)::bigint";
    snprintf(sql, sizeof sql, "SELECT min(%s) FROM alerts WHERE %s > %lld", ct,
             ct, (long long)restart_wall_ms[k]);
    int64_t first_ms = pg_int_url(db, sql);
    snprintf(sql, sizeof sql, "SELECT max(%s) FROM alerts WHERE time < '%s'",
             ct, restart_time[k]);
    int64_t all_ms = pg_int_url(db, sql);
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM alerts WHERE time < '%s' AND %s > %lld",
             restart_time[k], ct, (long long)restart_wall_ms[k]);
    long waited = (long)pg_int_url(db, sql);
    double first = first_ms > 0 ? (first_ms - restart_wall_ms[k]) * 1e-3 : -1;
    double all = all_ms > 0 ? (all_ms - restart_wall_ms[k]) * 1e-3 : -1;
    printf("outage %d (%s): %ld alerts raised before the restart waited; "
           "recovery: first alert stored %.2f s after the restart, the "
           "backlog stored %.2f s after it\n",
           k + 1, k == 1 ? "SIGKILL" : "stop -m fast", waited, first, all);
    CHECK(waited > 0); /* the outage was felt */
    CHECK(first >= 0);
    CHECK(all >= 0);
  }

  /* The sink lost nothing and said that it waited for the database. */
  CHECK_INT_EQ(stop(match), 0);
  CHECK_INT_EQ(stop(sink2), 0);
  CHECK(!log_has("sink", "LOST"));
  CHECK(!log_has("sink2", "LOST"));
  CHECK(log_has("sink", "kept in the spool"));
  CHECK(log_has("sink", "connection re-established"));
  PQfinish(g_conn);
  nu_stop(&srv, SIGTERM);
  if (check_failures_) {
    print_log("match");
    print_log("sink");
    print_log("sink2");
    print_log("loadgen");
    nu_print_log(&srv);
    pg_print_log(&pg);
  } else {
    char rm[300];
    snprintf(rm, sizeof rm, "rm -rf '%s' '%s.log'", g_tmp, srv.dir);
    if (system(rm) != 0)
      fprintf(stderr, "could not remove %s\n", g_tmp);
  }
  pg_cluster_stop(&pg);
  return check_report("test_pg_restart");
}
