/* match_bench: the face events per second one `argus match` sustains over
 * NATS JetStream at 10k / 100k enrolled templates, the end-to-end latency
 * from a face event's publication to its stored alert, and nats-server's
 * CPU per 1,000 events/s (docs/scale.md, "Match throughput").
 *
 *   match_bench [--templates 10000,100000] [--rates 200,400,...]
 *               [--seconds S] [--matchers 1,2] [--dir DIR] [--cameras N]
 *               [--hit-ratio R] [--photos K] [--index KIND] [--search-threads N]
 *
 * For each template count: a database is filled (once; kept in DIR, default
 * /tmp/argus-match-bench) with one watchlist and that many persons of one
 * photo each, a random unit template each (argus_store_person_add, the
 * public store API: one transaction per person, synchronous=NORMAL). Then a
 * throwaway nats-server (-js, a free loopback port, its monitoring port for
 * the consumer's backlog) runs `argus sink` and M `argus match`
 * (--cooldown 0), and `argus loadgen` publishes at each rate for S seconds
 * (10 cameras, 10 % hits). Measured per step:
 *   - achieved publish rate (loadgen's own count over its time);
 *   - backlog: the ARGUS_FACES consumer "match_face"'s num_pending +
 *     num_ack_pending (GET /jsz?consumers=true) when loadgen stops, and how
 *     long it takes to drain to 0; a rate is sustained when the backlog at
 *     the end is under 0.25 s worth of events and drains within 2 s;
 *   - latency: this program subscribes to topic "alert" (a plain NATS
 *     message the sink publishes after the alert's row is committed) and
 *     takes, per alert, its receipt time minus the face event's wall_ns,
 *     which loadgen sets just before publishing it (one clock: same host).
 *     So: loadgen publish -> JetStream -> matcher search -> alert.raised ->
 *     JetStream -> sink commit -> alert notification -> here;
 *   - CPU: utime+stime of nats-server and of the matchers from
 *     /proc/PID/stat over the step, as cores (CPU seconds per second).
 *
 * The argus binary: $ARGUS_CLI, else ../argus next to this program. Models:
 * $ARGUS_MODELS_DIR, else the source tree's models/. */
#define _GNU_SOURCE /* nftw (tests/pg_util.h) */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../tests/nats_util.h"
#include "../tests/pg_util.h"
#include "argus/bus.h"
#include "argus/core.h"
#include "argus/event.h"
#include "argus/face.h"
#include "argus/gallery.h"
#include "argus/store.h"

#ifndef ARGUS_BENCH_SOURCE_DIR
#define ARGUS_BENCH_SOURCE_DIR "."
#endif

static char g_cli[1024], g_models[1024], g_dir[512];
static int g_cameras = 10;
static double g_hit = 0.1;
static int g_photos = 1; /* templates per person (--photos) */
/* The matchers' --index and --search-threads (NULL: their defaults). */
static const char *g_index, *g_search_threads;
/* --pg: the database is a throwaway PostgreSQL cluster's (crops in
 * g_data_dir, ARGUS_DATA_DIR of the processes). */
static int g_pg;
static pg_cluster g_pgc;
static char g_data_dir[700];

/* ---- filling a database ---------------------------------------------------- */

static uint64_t rng = 0x243f6a8885a308d3ull;
static double rnd01(void) {
  rng ^= rng >> 12;
  rng ^= rng << 25;
  rng ^= rng >> 27;
  return (double)((rng * 0x2545f4914f6cdd1dull) >> 11) * 0x1.0p-53;
}
static double gauss(void) {
  double u = rnd01(), v = rnd01();
  if (u < 1e-300)
    u = 1e-300;
  return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

/* The embedder card's model id and dim (what `argus match` loads). */
static int card_model(char *id, size_t cap, int *dim) {
  char path[1024];
  argus_face_error fe = {{0}};
  argus_face_card card;
  argus_gallery_config gc;
  argus_gallery_error ge = {{0}};
  if (argus_face_card_find(g_models, "fr_feature", path, sizeof path, &fe) ||
      argus_face_card_load(path, &card, &fe) ||
      argus_gallery_config_from_card(&card, &gc, &ge)) {
    fprintf(stderr, "match_bench: embedder card: %s %s\n", fe.msg, ge.msg);
    return -1;
  }
  snprintf(id, cap, "%s", gc.model_id);
  *dim = gc.dim;
  return 0;
}

/* n templates: n / g_photos persons of g_photos photos each. */
static int fill_db(const char *path, int64_t n) {
  char id[128], name[ARGUS_STORE_NAME_MAX], version[ARGUS_STORE_NAME_MAX];
  int dim = 0;
  if (card_model(id, sizeof id, &dim) ||
      argus_store_model_id_split(id, name, version))
    return -1;
  argus_store_model model = {name, version, dim};
  argus_store_options so;
  memset(&so, 0, sizeof so);
  so.actor = "match_bench";
  if (g_pg)
    so.data_dir = g_data_dir;
  argus_store *s = NULL;
  argus_store_error se = {{0}};
  if (argus_store_open(path, &so, &s, &se) ||
      argus_store_watchlist_create(s, "load", NAN, NULL, NULL, &se)) {
    fprintf(stderr, "match_bench: %s: %s\n", path, se.msg);
    argus_store_close(s);
    return -1;
  }
  int k_ph = g_photos;
  float *v = malloc((size_t)dim * (size_t)k_ph * sizeof *v);
  /* Small fake crops, one per photo index (shared by every person). */
  unsigned char crops[64][12];
  argus_store_photo_in ph[64];
  for (int j = 0; j < k_ph; j++) {
    static const unsigned char crop[] = {0xff, 0xd8, 0xff, 0xe0, 'b',  'e',
                                         'n',  'c',  'h',  0,    0xff, 0xd9};
    memcpy(crops[j], crop, sizeof crop);
    crops[j][9] = (unsigned char)j;
    ph[j] = (argus_store_photo_in){crops[j], sizeof crop, 0.9f, "synthetic",
                                   v + (size_t)j * (size_t)dim};
  }
  double t0 = nu_now();
  /* A person's photos are alike: its templates are one random unit
   * vector plus noise of norm ~0.5 each (cosine ~0.8 between them), as
   * photos of one face are; the gallery scores a person by all of them. */
  float *base = malloc((size_t)dim * sizeof *base);
  for (int64_t i = 0; i < n / k_ph; i++) {
    for (int k = 0; k < dim; k++)
      base[k] = (float)(gauss() / sqrt((double)dim));
    for (int j = 0; j < k_ph; j++) {
      float *w = v + (size_t)j * (size_t)dim;
      double ss = 0, sd = k_ph > 1 ? 0.5 / sqrt((double)dim) : 0;
      for (int k = 0; k < dim; k++) {
        w[k] = base[k] + (float)(sd * gauss());
        ss += (double)w[k] * w[k];
      }
      for (int k = 0; k < dim; k++)
        w[k] = (float)(w[k] / sqrt(ss));
    }
    char pname[64];
    snprintf(pname, sizeof pname, "person-%" PRId64, i);
    argus_store_person_in pi = {pname, NULL, NULL};
    if (argus_store_person_add(s, "load", &pi, &model, ph, k_ph, NULL, &se)) {
      fprintf(stderr, "match_bench: person %" PRId64 ": %s\n", i, se.msg);
      free(v);
      free(base);
      argus_store_close(s);
      return -1;
    }
    if ((i + 1) % (20000 / k_ph) == 0)
      fprintf(stderr, "  filled %" PRId64 " persons (%.0f /s)\n", i + 1,
              (double)(i + 1) / (nu_now() - t0));
  }
  fprintf(stderr,
          "match_bench: %s: %" PRId64 " persons of %d templates in %.1f s\n",
          path, n / k_ph, k_ph, nu_now() - t0);
  free(v);
  free(base);
  argus_store_close(s);
  return 0;
}

/* ---- processes --------------------------------------------------------------- */

static pid_t spawn(const char *log, const char *const *args) {
  const char *argv[32];
  int n = 0;
  argv[n++] = g_cli;
  for (; args[n - 1] && n < 31; n++)
    argv[n] = args[n - 1];
  argv[n] = NULL;
  unlink(log); /* a previous run's log must not read as this one's */
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid == 0) {
    int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
      _exit(126);
    setenv("ARGUS_MODELS", g_models, 1);
    if (g_pg)
      setenv("ARGUS_DATA_DIR", g_data_dir, 1);
    execv(g_cli, (char *const *)argv);
    _exit(127);
  }
  return pid;
}

static void stop(pid_t pid) {
  if (pid <= 0)
    return;
  kill(pid, SIGTERM);
  waitpid(pid, NULL, 0);
}

/* CPU seconds (utime + stime) of a process. */
static double cpu_s(pid_t pid) {
  char path[64], buf[2048];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  FILE *f = fopen(path, "r");
  if (!f)
    return 0;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  char *p = strrchr(buf, ')');
  if (!p)
    return 0;
  unsigned long ut = 0, st = 0;
  /* fields after the name: state(3) ... utime(14) stime(15) */
  if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut,
             &st) != 2)
    return 0;
  return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* CPU seconds of the PostgreSQL server: the postmaster (first line of
 * data/postmaster.pid) and every process it started (its backends). */
static double pg_cpu_s(void) {
  if (!g_pg)
    return 0;
  char path[400];
  snprintf(path, sizeof path, "%s/data/postmaster.pid", g_pgc.dir);
  FILE *f = fopen(path, "r");
  int pm = 0;
  if (!f || fscanf(f, "%d", &pm) != 1) {
    if (f)
      fclose(f);
    return 0;
  }
  fclose(f);
  double sum = cpu_s(pm);
  DIR *d = opendir("/proc");
  struct dirent *de;
  while (d && (de = readdir(d))) {
    int pid = atoi(de->d_name);
    if (pid <= 0 || pid == pm)
      continue;
    char sp[64], buf[512];
    snprintf(sp, sizeof sp, "/proc/%d/stat", pid);
    FILE *g = fopen(sp, "r");
    if (!g)
      continue;
    size_t n = fread(buf, 1, sizeof buf - 1, g);
    fclose(g);
    buf[n] = '\0';
    char *q = strrchr(buf, ')');
    int ppid = 0;
    if (q && sscanf(q + 2, "%*c %d", &ppid) == 1 && ppid == pm)
      sum += cpu_s(pid);
  }
  if (d)
    closedir(d);
  return sum;
}

static int file_has(const char *path, const char *text) {
  FILE *f = fopen(path, "r");
  if (!f)
    return 0;
  static char buf[1 << 16];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  return strstr(buf, text) != NULL;
}

/* The match group's backlog: num_pending + num_ack_pending of the consumer
 * match_face (-1: unknown). */
static long json_num_after(const char *from, const char *key) {
  const char *k = strstr(from, key);
  if (!k)
    return -1;
  k += strlen(key);
  while (*k == ' ' || *k == ':')
    k++;
  return atol(k);
}

static long backlog(int mport) {
  char cmd[200];
  snprintf(cmd, sizeof cmd,
           "curl -s 'http://127.0.0.1:%d/"
           "jsz?accounts=true&streams=true&consumers=true' 2>/dev/null",
           mport);
  FILE *f = popen(cmd, "r");
  if (!f)
    return -1;
  static char buf[1 << 18];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  pclose(f);
  buf[n] = '\0';
  const char *c = strstr(buf, "\"match_face\"");
  if (!c)
    return -1;
  long a = json_num_after(c, "\"num_ack_pending\""),
       p = json_num_after(c, "\"num_pending\"");
  return a < 0 || p < 0 ? -1 : a + p;
}

/* ---- latency of stored alerts -------------------------------------------- */

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static double *g_lat;
static size_t g_nlat, g_caplat;

static void on_alert(void *user, const argus_bus_msg *m) {
  (void)user;
  int64_t now = argus_wall_ns();
  argus_event *ev = NULL;
  if (argus_event_from_json(m->data, m->size, &ev, NULL) != ARGUS_OK)
    return;
  if (ev->type == ARGUS_EVENT_ALERT && ev->u.alert.wall_ns > 0) {
    pthread_mutex_lock(&g_mu);
    if (g_nlat == g_caplat) {
      g_caplat = g_caplat ? 2 * g_caplat : 4096;
      g_lat = realloc(g_lat, g_caplat * sizeof *g_lat);
    }
    g_lat[g_nlat++] = (double)(now - ev->u.alert.wall_ns) * 1e-6;
    pthread_mutex_unlock(&g_mu);
  }
  argus_event_unref(ev);
}

static int cmp_d(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double pct(double *v, size_t n, double q) {
  if (!n)
    return NAN;
  size_t i = (size_t)(q * (double)(n - 1) + 0.5);
  return v[i];
}

/* ---- one step: loadgen at a rate -------------------------------------------- */

typedef struct step {
  double asked, achieved;
  long hits, events, alerts, backlog_end;
  double drain_s, p50, p99, nats_cores, match_cores, pg_cores;
  int sustained;
} step;

static int run_step(const char *url, const char *db, int mport, pid_t nats,
                    const pid_t *match, int nm, double rate, double seconds,
                    step *out) {
  memset(out, 0, sizeof *out);
  out->asked = rate;
  pthread_mutex_lock(&g_mu);
  g_nlat = 0;
  pthread_mutex_unlock(&g_mu);
  char r[32], dur[32], cams[16], hit[16], seed[32], log[700];
  snprintf(r, sizeof r, "%g", rate / g_cameras);
  snprintf(dur, sizeof dur, "%g", seconds);
  snprintf(cams, sizeof cams, "%d", g_cameras);
  snprintf(hit, sizeof hit, "%g", g_hit);
  snprintf(seed, sizeof seed, "%ld", (long)(rate * 7 + 1));
  snprintf(log, sizeof log, "%s/loadgen.log", g_dir);
  double n0 = cpu_s(nats), m0 = 0, g0 = pg_cpu_s();
  for (int i = 0; i < nm; i++)
    m0 += cpu_s(match[i]);
  double t0 = nu_now();
  const char *a[] = {"loadgen", "--bus",       url,  "--db",
                     db,        "--cameras",   cams, "--rate",
                     r,         "--hit-ratio", hit,  "--duration",
                     dur,       "--seed",      seed, NULL};
  pid_t lg = spawn(log, a);
  int st = 0;
  waitpid(lg, &st, 0);
  double t1 = nu_now();
  out->backlog_end = backlog(mport);
  if (out->backlog_end < 0)
    fprintf(stderr, "match_bench: no consumer match_face in /jsz of :%d\n",
            mport);
  double n1 = cpu_s(nats), m1 = 0, g1 = pg_cpu_s();
  for (int i = 0; i < nm; i++)
    m1 += cpu_s(match[i]);
  out->pg_cores = (g1 - g0) / (t1 - t0);
  out->nats_cores = (n1 - n0) / (t1 - t0);
  out->match_cores = (m1 - m0) / (t1 - t0);
  /* Drain: until the group's backlog is 0 (at most 120 s). */
  double d0 = nu_now();
  long b = out->backlog_end;
  while (b > 0 && nu_now() - d0 < 120) {
    nu_sleep(0.05);
    b = backlog(mport);
  }
  out->drain_s = b == 0 ? nu_now() - d0 : NAN;
  FILE *f = fopen(log, "r");
  char line[1024] = "";
  if (f) {
    while (fgets(line, sizeof line, f))
      if (strncmp(line, "loadgen: events", 15) == 0)
        break;
    fclose(f);
  }
  double secs = 0;
  if (sscanf(line,
             "loadgen: events %ld hits %ld misses %*d errors %*d "
             "seconds %lf rate %lf",
             &out->events, &out->hits, &secs, &out->achieved) != 4) {
    fprintf(stderr, "match_bench: loadgen failed (see %s)\n", log);
    return -1;
  }
  /* Alerts still on their way to the sink: up to 10 s for all of them. */
  double w0 = nu_now();
  for (;;) {
    pthread_mutex_lock(&g_mu);
    size_t n = g_nlat;
    pthread_mutex_unlock(&g_mu);
    if ((long)n >= out->hits || nu_now() - w0 > 10)
      break;
    nu_sleep(0.05);
  }
  pthread_mutex_lock(&g_mu);
  out->alerts = (long)g_nlat;
  qsort(g_lat, g_nlat, sizeof *g_lat, cmp_d);
  out->p50 = pct(g_lat, g_nlat, 0.5);
  out->p99 = pct(g_lat, g_nlat, 0.99);
  pthread_mutex_unlock(&g_mu);
  out->sustained =
      out->backlog_end >= 0 && out->backlog_end <= (long)(rate * 0.25) + 1 &&
      !isnan(out->drain_s) && out->drain_s <= 2 && out->achieved >= 0.97 * rate;
  return 0;
}

static void print_step(int64_t templates, int nm, const step *s) {
  printf("| %7" PRId64 " | %d | %6.0f | %6.0f | %6ld | %6ld/%-6ld | %6.1f | "
         "%7.0f | %7.0f | %5.2f | %5.3f | %4.2f | ",
         templates, nm, s->asked, s->achieved, s->backlog_end, s->alerts,
         s->hits, s->drain_s, s->p50, s->p99, s->match_cores, s->nats_cores,
         s->achieved > 0 ? s->nats_cores / (s->achieved / 1000) : 0);
  if (g_pg)
    printf("%5.3f | %5.3f | ", s->pg_cores,
           s->achieved > 0 ? s->pg_cores / (s->achieved / 1000) : 0);
  printf("%s |\n", s->sustained ? "yes" : "no");
  fflush(stdout);
}

/* ---- main ---------------------------------------------------------------- */

static void pg_stop_cb(void) { pg_cluster_stop(&g_pgc); }
static void atexit_pg_stop(void) { atexit(pg_stop_cb); }

static int parse_list(const char *s, double *out, int cap) {
  int n = 0;
  while (s && *s && n < cap) {
    char *end;
    out[n++] = strtod(s, &end);
    s = *end == ',' ? end + 1 : NULL;
  }
  return n;
}

int main(int argc, char **argv) {
  double tl[8] = {10000, 100000}, rl[32] = {0}, ml[4] = {1, 2};
  int nt = 2, nr = 0, nmv = 2;
  double seconds = 8;
  snprintf(g_dir, sizeof g_dir, "/tmp/argus-match-bench");
  for (int i = 1; i < argc; i++) {
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(argv[i], "--templates") && v)
      nt = parse_list(argv[++i], tl, 8);
    else if (!strcmp(argv[i], "--rates") && v)
      nr = parse_list(argv[++i], rl, 32);
    else if (!strcmp(argv[i], "--matchers") && v)
      nmv = parse_list(argv[++i], ml, 4);
    else if (!strcmp(argv[i], "--seconds") && v)
      seconds = atof(argv[++i]);
    else if (!strcmp(argv[i], "--dir") && v)
      snprintf(g_dir, sizeof g_dir, "%s", argv[++i]);
    else if (!strcmp(argv[i], "--pg"))
      g_pg = 1;
    else if (!strcmp(argv[i], "--index") && v)
      g_index = argv[++i];
    else if (!strcmp(argv[i], "--search-threads") && v)
      g_search_threads = argv[++i];
    else if (!strcmp(argv[i], "--cameras") && v)
      g_cameras = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--photos") && v) {
      g_photos = atoi(argv[++i]);
      if (g_photos < 1 || g_photos > 64)
        g_photos = 1;
    } else if (!strcmp(argv[i], "--hit-ratio") && v)
      g_hit = atof(argv[++i]);
    else {
      fprintf(stderr,
              "usage: match_bench [--templates 10000,100000] [--rates "
              "R1,R2,...] [--matchers 1,2] [--seconds S] [--dir DIR] "
              "[--cameras N] [--hit-ratio R] [--photos K] [--index KIND] "
              "[--search-threads N] [--pg]\n"
              "(without --rates: doubling from 100 events/s until a rate is "
              "not sustained)\n");
      return 2;
    }
  }
  const char *e = getenv("ARGUS_CLI");
  if (e && *e)
    snprintf(g_cli, sizeof g_cli, "%s", e);
  else {
    char self[900];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    self[n > 0 ? n : 0] = '\0';
    char *slash = strrchr(self, '/');
    if (slash)
      *slash = '\0';
    snprintf(g_cli, sizeof g_cli, "%s/../argus", self);
  }
  e = getenv("ARGUS_MODELS_DIR");
  snprintf(g_models, sizeof g_models, "%s",
           e && *e ? e : ARGUS_BENCH_SOURCE_DIR "/models");
  if (!nu_server_bin() || access(g_cli, X_OK) != 0) {
    fprintf(stderr, "match_bench: needs nats-server and %s\n", g_cli);
    return 1;
  }
  mkdir(g_dir, 0755);
  signal(SIGPIPE, SIG_IGN);
  if (g_pg) {
    int rc = pg_cluster_start(&g_pgc);
    if (rc) {
      fprintf(stderr, "match_bench: --pg: no PostgreSQL cluster\n");
      return 1;
    }
    atexit_pg_stop();
  }
  printf("| templates | matchers | asked ev/s | achieved ev/s | backlog at end "
         "| alerts/hits | drain s | p50 ms | p99 ms | matcher cores | nats "
         "cores | nats cores per 1k ev/s | %ssustained |\n"
         "|---|---|---|---|---|---|---|---|---|---|---|---|%s---|\n",
         g_pg ? "postgres cores | postgres cores per 1k ev/s | " : "",
         g_pg ? "---|---|" : "");
  fflush(stdout);
  for (int ti = 0; ti < nt; ti++) {
    int64_t n = (int64_t)tl[ti];
    char db[700];
    /* Each database in its own folder (its crops beside it). */
    char dsub[40] = "";
    if (g_photos > 1)
      snprintf(dsub, sizeof dsub, "x%d", g_photos);
    snprintf(db, sizeof db, "%s/t%" PRId64 "%s", g_dir, n, dsub);
    mkdir(db, 0755);
    snprintf(db, sizeof db, "%s/t%" PRId64 "%s/argus.db", g_dir, n, dsub);
    char done[760];
    snprintf(done, sizeof done, "%s.filled", db);
    if (g_pg) {
      /* A fresh database of the throwaway cluster, crops in the folder. */
      snprintf(g_data_dir, sizeof g_data_dir, "%s/t%" PRId64 "%s-pg", g_dir,
               n, dsub);
      mkdir(g_data_dir, 0755);
      char url[200];
      if (pg_db_for_path(&g_pgc, g_data_dir, 1, url, sizeof url) != 0) {
        fprintf(stderr, "match_bench: --pg: cannot make a database\n");
        return 1;
      }
      snprintf(db, sizeof db, "%s", url);
      unlink(done);
      snprintf(done, sizeof done, "%s/none", g_data_dir);
    }
    if (access(done, F_OK) != 0) {
      if (!g_pg)
        unlink(db);
      if (fill_db(db, n))
        return 1;
      FILE *f = fopen(done, "w");
      if (f)
        fclose(f);
    }
    double best_one = 0;
    for (int mi = 0; mi < nmv; mi++) {
      int nm = (int)ml[mi];
      nu_server srv;
      memset(&srv, 0, sizeof srv);
      snprintf(srv.dir, sizeof srv.dir, "%s/js-%" PRId64 "-%d", g_dir, n, nm);
      char rm[800];
      snprintf(rm, sizeof rm, "rm -rf '%s' '%s.log'", srv.dir, srv.dir);
      if (system(rm) != 0)
        return 1;
      /* nu_start with the monitoring port: started by hand here. */
      srv.port = nu_free_port();
      int mport = nu_free_port();
      snprintf(srv.url, sizeof srv.url, "nats://127.0.0.1:%d", srv.port);
      char port[16], mp[16], slog[600];
      snprintf(port, sizeof port, "%d", srv.port);
      snprintf(mp, sizeof mp, "%d", mport);
      snprintf(slog, sizeof slog, "%s.log", srv.dir);
      srv.pid = fork();
      if (srv.pid == 0) {
        int fd = open(slog, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
          dup2(fd, 1);
          dup2(fd, 2);
        }
        execl(nu_server_bin(), "nats-server", "-js", "-a", "127.0.0.1", "-p",
              port, "-m", mp, "-sd", srv.dir, (char *)NULL);
        _exit(127);
      }
      double w = nu_now() + 10;
      while (nu_now() < w && !nu_port_open(srv.port))
        nu_sleep(0.02);
      char log[700];
      /* One at a time, the sink last: loading a gallery holds the
       * database's write lock while it reads the templates, and a process
       * that waits for it longer than the busy timeout (5 s; 1M templates)
       * fails with "database is locked". */
      pid_t match[4] = {0};
      double r0 = nu_now();
      for (int k = 0; k < nm; k++) {
        snprintf(log, sizeof log, "%s/match%d.log", g_dir, k);
        const char *ma[16] = {"match", "--bus",      srv.url, "--db",
                              db,      "--cooldown", "0",     "--status-interval",
                              "5",     NULL};
        int na = 9;
        if (g_index) {
          ma[na++] = "--index";
          ma[na++] = g_index;
        }
        if (g_search_threads) {
          ma[na++] = "--search-threads";
          ma[na++] = g_search_threads;
        }
        ma[na] = NULL;
        match[k] = spawn(log, ma);
        while (nu_now() - r0 < 600 && !file_has(log, "argus: matching"))
          nu_sleep(0.1);
      }
      snprintf(log, sizeof log, "%s/sink.log", g_dir);
      const char *sa[] = {
          "sink", "--bus", srv.url, "--db", db, "--status-interval", "5", NULL};
      pid_t sink = spawn(log, sa);
      while (nu_now() - r0 < 600 && !file_has(log, "argus: storing"))
        nu_sleep(0.1);
      fprintf(stderr,
              "match_bench: %" PRId64 " templates, %d matcher%s and the sink "
              "ready after %.1f s\n",
              n, nm, nm == 1 ? "" : "s", nu_now() - r0);
      argus_bus *bus = NULL;
      argus_bus_sub *sub = NULL;
      argus_bus_sub_options so;
      memset(&so, 0, sizeof so);
      so.pattern = ARGUS_EVENT_TOPIC_ALERT;
      so.handler = on_alert;
      so.queue_msgs = 65536;
      so.queue_bytes = (size_t)256 << 20;
      if (argus_bus_open(srv.url, NULL, &bus, NULL) ||
          argus_bus_subscribe(bus, &so, &sub, NULL)) {
        fprintf(stderr, "match_bench: bus %s\n", argus_bus_last_error());
        return 1;
      }
      /* Warm-up (the consumer is made by the first member; pages in). */
      step s;
      run_step(srv.url, db, mport, srv.pid, match, nm, 50, 2, &s);
      if (nr) {
        for (int ri = 0; ri < nr; ri++) {
          if (run_step(srv.url, db, mport, srv.pid, match, nm, rl[ri], seconds,
                       &s) == 0)
            print_step(n, nm, &s);
        }
      } else {
        /* Doubling from 100 (two matchers: from the one's best), then one
         * bisection step between the last sustained and the first not. */
        double r = nm > 1 && best_one > 0 ? best_one : 100, ok = 0, bad = 0;
        for (int k = 0; k < 10; k++) {
          if (run_step(srv.url, db, mport, srv.pid, match, nm, r, seconds, &s))
            break;
          print_step(n, nm, &s);
          if (s.sustained) {
            ok = r;
            r *= 2;
          } else {
            bad = r;
            break;
          }
        }
        for (int k = 0; k < 2 && ok > 0 && bad > 0; k++) {
          double mid = round((ok + bad) / 2);
          if (run_step(srv.url, db, mport, srv.pid, match, nm, mid, seconds,
                       &s))
            break;
          print_step(n, nm, &s);
          if (s.sustained)
            ok = mid;
          else
            bad = mid;
        }
        if (nm == 1)
          best_one = ok;
        printf("| %7" PRId64
               " | %d | sustained: %.0f face events/s |||||||||||\n",
               n, nm, ok);
      }
      argus_bus_unsubscribe(sub);
      argus_bus_close(bus);
      for (int k = 0; k < nm; k++)
        stop(match[k]);
      stop(sink);
      nu_stop(&srv, SIGTERM);
    }
  }
  return 0;
}
