/* `argus serve`: the live pipeline on every enabled stored camera and the
 * operator service (REST API, live events, accounts) in one process. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "argus/api.h"
#include "argus/pipeline.h"
#include "argus/store.h"
#include "cli/cli.h"
#include "cli/store_cli.h"

void cli_serve_usage(FILE *f) {
  // clang-format off
  fputs("Usage: argus serve [--listen ADDR:PORT] [--db PATH] [--models DIR]\n"
        "                   [--tls-cert FILE --tls-key FILE] [--web DIR]\n"
        "                   [--threads N] [--http-threads N] [--fps N]\n"
        "                   [--mqtt URL] [--no-pipeline] ...\n"
        "\n"
        "Runs the live pipeline on every enabled stored camera and serves the\n"
        "operator service: the REST API under /api/v1 (docs/api.md,\n"
        "/api/v1/openapi.json), live events (/api/v1/events), /healthz,\n"
        "/readyz and /metrics. Cameras, watchlists and persons changed through\n"
        "the API (or by other argus commands) take effect without a restart.\n"
        "SIGTERM or Ctrl-C drains: alerts already raised are stored first.\n"
        "\n"
        "With no user in the database, the server answers only /healthz,\n"
        "/readyz and the setup routes; create the first admin with\n"
        "'argus user add NAME --role admin' or with the setup code it prints.\n"
        "\n"
        "  --listen ADDR:PORT     address to listen on (default 127.0.0.1:8080;\n"
        "                         port 0 picks a free one)\n"
        "  --tls-cert FILE        HTTPS: the certificate chain (PEM)\n"
        "  --tls-key FILE         HTTPS: the private key (PEM)\n"
        "  --web DIR              serve the console's static files from DIR\n"
        "                         (default: share/web of the installation or\n"
        "                         source tree, when present)\n"
        "  --http-threads N       HTTP threads (default: one per core, 2..16)\n"
        "  --max-body BYTES       largest request body (default 33554432)\n"
        "  --timeout S            seconds of silence, or for a request's whole\n"
        "                         header, before a connection is closed\n"
        "                         (default 30)\n"
        "  --max-event-clients N  live event clients at most (default 2048)\n"
        "  --session-ttl S        seconds a login lasts (default 43200)\n"
        "  --mqtt URL             also publish alerts to an MQTT broker\n"
        "                         (mqtt://host:port)\n"
        "  --mqtt-prefix P        MQTT topic prefix (default argus:\n"
        "                         P/alerts/<watchlist>)\n"
        "  --no-pipeline          serve the API only: no models, no cameras\n"
        "  --threads N            analysis threads (default: one per CPU)\n"
        "  --fps N                analysed frames per second per camera\n"
        "                         (default 5; a camera's settings may say)\n"
        "  --loop                 start file cameras again at their end\n"
        "  --cooldown S           per person per camera, seconds (default 30)\n"
        "  --keep-unmatched S     also store searched faces that match nobody,\n"
        "                         for S seconds (default: counts only)\n"
        "  --models DIR           models folder (default $ARGUS_MODELS or\n"
        "                         ./models)\n"
        "  --allow-unverified     load models whose checksum differs from the\n"
        "                         card\n"
        "  --audit-anchor S       log the audit log's head (\"audit head id=N\n"
        "                         sha256=H\") at start and every S seconds,\n"
        "                         for a copy kept outside (default 3600; 0:\n"
        "                         only at start; docs/lawful-use.md)\n"
        "  --bus URL              the pipeline's stages talk over this bus:\n"
        "                         nats://HOST:PORT (NATS JetStream, split roles,\n"
        "                         docs/scale.md; default: in process)\n"
        "  --role R               all (default: cameras, matching and storing\n"
        "                         here) or sink (no cameras or matching here:\n"
        "                         store the alerts that 'argus match' processes\n"
        "                         raise on --bus, and serve them live)\n"
        CLI_PURGE_EVERY_HELP
        STORE_CLI_DB_HELP,
        f);
  // clang-format on
}

enum {
  OPT_LISTEN = STORE_OPT_NEXT,
  OPT_CERT,
  OPT_KEY,
  OPT_WEB,
  OPT_HTTP_THREADS,
  OPT_MAX_BODY,
  OPT_TIMEOUT,
  OPT_MAX_EVENTS,
  OPT_SESSION_TTL,
  OPT_MQTT,
  OPT_MQTT_PREFIX,
  OPT_NO_PIPELINE,
  OPT_THREADS,
  OPT_FPS,
  OPT_LOOP,
  OPT_COOLDOWN,
  OPT_KEEP,
  OPT_MODELS,
  OPT_UNVERIFIED,
  OPT_AUDIT_ANCHOR,
  OPT_PURGE_EVERY,
  OPT_BUS,
  OPT_ROLE,
};

static int parse_seconds(const char *cmd, const char *opt, const char *s,
                         double lo, double hi, double *out) {
  char *end = NULL;
  errno = 0;
  double v = strtod(s, &end);
  if (!*s || *end || errno || !(v >= lo && v <= hi)) {
    cli_errorf(cmd, "%s: expected a number in %g..%g, not '%s'", opt, lo, hi,
               s);
    return -1;
  }
  *out = v;
  return 0;
}

/* The console's files: --web, else share/web of the source tree or of the
 * installation when one exists. */
static const char *default_web_dir(void) {
  static const char *const dirs[] = {
#ifdef ARGUS_WEB_SOURCE_DIR
      ARGUS_WEB_SOURCE_DIR,
#endif
#ifdef ARGUS_WEB_INSTALL_DIR
      ARGUS_WEB_INSTALL_DIR,
#endif
      NULL};
  for (int i = 0; dirs[i]; i++) {
    char index[4096];
    snprintf(index, sizeof index, "%s/index.html", dirs[i]);
    FILE *f = fopen(index, "rb");
    if (f) {
      fclose(f);
      return dirs[i];
    }
  }
  return NULL;
}

/* Each HTTP connection (an event-stream client among them) holds a file
 * descriptor: raise the soft limit towards the hard one so that
 * max_connections plus the process's own files fit (the usual soft limit
 * of 1,024 would refuse the 1,000th event-stream client). */
static void raise_open_files(int max_connections) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
    return;
  rlim_t want = (rlim_t)max_connections + 256;
  if (rl.rlim_max != RLIM_INFINITY && want > rl.rlim_max)
    want = rl.rlim_max;
  if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
    rl.rlim_cur = want;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
      fprintf(stderr,
              "argus serve: cannot raise the open-files limit to "
              "%llu: %s\n",
              (unsigned long long)want, strerror(errno));
  }
}

int cli_serve_main(int argc, char **argv) {
  const char *cmd = "serve";
  static const cli_opt opts[] = {STORE_CLI_DB_OPT,
                                 {"listen", 1, OPT_LISTEN},
                                 {"tls-cert", 1, OPT_CERT},
                                 {"tls-key", 1, OPT_KEY},
                                 {"web", 1, OPT_WEB},
                                 {"http-threads", 1, OPT_HTTP_THREADS},
                                 {"max-body", 1, OPT_MAX_BODY},
                                 {"timeout", 1, OPT_TIMEOUT},
                                 {"max-event-clients", 1, OPT_MAX_EVENTS},
                                 {"session-ttl", 1, OPT_SESSION_TTL},
                                 {"mqtt", 1, OPT_MQTT},
                                 {"mqtt-prefix", 1, OPT_MQTT_PREFIX},
                                 {"no-pipeline", 0, OPT_NO_PIPELINE},
                                 {"threads", 1, OPT_THREADS},
                                 {"fps", 1, OPT_FPS},
                                 {"loop", 0, OPT_LOOP},
                                 {"cooldown", 1, OPT_COOLDOWN},
                                 {"keep-unmatched", 1, OPT_KEEP},
                                 {"models", 1, OPT_MODELS},
                                 {"allow-unverified", 0, OPT_UNVERIFIED},
                                 {"audit-anchor", 1, OPT_AUDIT_ANCHOR},
                                 {"purge-every", 1, OPT_PURGE_EVERY},
                                 {"bus", 1, OPT_BUS},
                                 {"role", 1, OPT_ROLE},
                                 {NULL, 0, 0}};
  argus_api_config ac;
  argus_api_config_init(&ac);
  argus_pipeline_config pc;
  argus_pipeline_config_init(&pc);
  pc.realtime = 1; /* a file camera plays like a live one */
  const char *db = NULL, *models = NULL, *bus_url = NULL;
  int no_pipeline = 0, unverified = 0;
  double anchor_every = 3600, purge_every = 3600;
  long lv = 0;
  double dv = 0;
  cli_parser p;
  cli_parser_init(&p, argc, argv, cmd, opts);
  for (;;) {
    int id = cli_parse_next(&p);
    if (id == CLI_OPT_END)
      break;
    switch (id) {
    case CLI_OPT_HELP:
      cli_serve_usage(stdout);
      return CLI_OK;
    case CLI_OPT_ERROR:
      return cli_bad_value(cmd);
    case CLI_OPT_POSITIONAL:
      cli_errorf(cmd, "unexpected argument '%s'", p.arg);
      return cli_bad_value(cmd);
    case STORE_OPT_DB:
      db = p.arg;
      break;
    case OPT_LISTEN:
      ac.listen = p.arg;
      break;
    case OPT_CERT:
      ac.tls_cert = p.arg;
      break;
    case OPT_KEY:
      ac.tls_key = p.arg;
      break;
    case OPT_WEB:
      ac.web_dir = p.arg;
      break;
    case OPT_HTTP_THREADS:
      if (cli_parse_long(p.arg, 1, 256, "--http-threads", &lv))
        return cli_bad_value(cmd);
      ac.threads = (int)lv;
      break;
    case OPT_MAX_BODY:
      if (cli_parse_long(p.arg, 1024, 1L << 30, "--max-body", &lv))
        return cli_bad_value(cmd);
      ac.max_body = (size_t)lv;
      break;
    case OPT_TIMEOUT:
      if (parse_seconds(cmd, "--timeout", p.arg, 1, 3600, &ac.timeout))
        return cli_bad_value(cmd);
      break;
    case OPT_MAX_EVENTS:
      if (cli_parse_long(p.arg, 1, 100000, "--max-event-clients", &lv))
        return cli_bad_value(cmd);
      ac.max_event_clients = (int)lv;
      break;
    case OPT_SESSION_TTL:
      if (parse_seconds(cmd, "--session-ttl", p.arg, 60, 30 * 86400.0,
                        &ac.session_ttl))
        return cli_bad_value(cmd);
      break;
    case OPT_MQTT:
      ac.mqtt_url = p.arg;
      break;
    case OPT_MQTT_PREFIX:
      ac.mqtt_prefix = p.arg;
      break;
    case OPT_NO_PIPELINE:
      no_pipeline = 1;
      break;
    case OPT_THREADS:
      if (cli_parse_long(p.arg, 1, ARGUS_PIPELINE_MAX_THREADS, "--threads",
                         &lv))
        return cli_bad_value(cmd);
      pc.threads = (int)lv;
      break;
    case OPT_FPS:
      if (parse_seconds(cmd, "--fps", p.arg, 0.01, 1000, &pc.fps))
        return cli_bad_value(cmd);
      break;
    case OPT_LOOP:
      pc.loop = 1;
      break;
    case OPT_COOLDOWN:
      if (parse_seconds(cmd, "--cooldown", p.arg, 0, 86400, &pc.cooldown))
        return cli_bad_value(cmd);
      break;
    case OPT_KEEP:
      if (parse_seconds(cmd, "--keep-unmatched", p.arg, 1, 365 * 86400.0, &dv))
        return cli_bad_value(cmd);
      pc.keep_unmatched = dv;
      break;
    case OPT_MODELS:
      models = p.arg;
      break;
    case OPT_UNVERIFIED:
      unverified = 1;
      break;
    case OPT_AUDIT_ANCHOR:
      if (parse_seconds(cmd, "--audit-anchor", p.arg, 0, 366 * 86400.0,
                        &anchor_every))
        return cli_bad_value(cmd);
      break;
    case OPT_PURGE_EVERY:
      if (parse_seconds(cmd, "--purge-every", p.arg, 0, 366 * 86400.0,
                        &purge_every))
        return cli_bad_value(cmd);
      break;
    case OPT_BUS:
      bus_url = p.arg;
      break;
    case OPT_ROLE:
      pc.role = argus_pipeline_role_parse(p.arg);
      if (pc.role != ARGUS_PIPELINE_ALL && pc.role != ARGUS_PIPELINE_SINK) {
        cli_errorf(cmd,
                   "--role: '%s' is not all or sink (the edge and match "
                   "roles are 'argus edge' and 'argus match')",
                   p.arg);
        return cli_bad_value(cmd);
      }
      break;
    }
  }
  if (pc.role == ARGUS_PIPELINE_SINK && !bus_url) {
    cli_errorf(cmd, "--role sink needs --bus nats://HOST:PORT");
    return CLI_USAGE;
  }
  if (bus_url && no_pipeline) {
    cli_errorf(cmd, "--bus and --no-pipeline: the bus joins the pipeline's "
                    "stages; without a pipeline there is nothing on it");
    return CLI_USAGE;
  }
  if (!ac.web_dir)
    ac.web_dir = default_web_dir();

  /* The database: created when missing (serve is a writer). */
  argus_store *st = NULL;
  if (store_cli_open(cmd, db, &st) != CLI_OK)
    return CLI_FAIL;
  char dbpath[4096];
  snprintf(dbpath, sizeof dbpath, "%s", argus_store_path(st));
  int64_t users = 0;
  argus_store_error serr = {{0}};
  argus_err e = argus_store_user_count(st, &users, NULL, &serr);
  argus_store_close(st);
  if (e)
    return store_cli_error(cmd, e, &serr);
  ac.db_path = dbpath;

  argus_pipeline_parts parts;
  memset(&parts, 0, sizeof parts);
  argus_pipeline *pl = NULL;
  if (!no_pipeline) {
    argus_pipeline_error perr = {{0}};
    e = argus_pipeline_parts_open(models, unverified, dbpath, "pipeline",
                                  &parts, &perr);
    if (e == ARGUS_OK && bus_url) {
      argus_bus *shared = NULL;
      argus_error_detail be = {{0}};
      e = argus_bus_open(bus_url, NULL, &shared, &be);
      if (e == ARGUS_OK) {
        argus_bus_close(parts.bus);
        parts.bus = shared;
      } else {
        snprintf(perr.msg, sizeof perr.msg, "--bus %s: %s", bus_url, be.msg);
      }
    }
    if (e == ARGUS_OK)
      e = argus_pipeline_create(&pc, &parts, &pl, &perr);
    if (e) {
      cli_errorf(cmd, "%s (%s)", perr.msg[0] ? perr.msg : argus_strerror(e),
                 argus_errname(e));
      argus_pipeline_parts_close(&parts);
      return CLI_FAIL;
    }
  }
  raise_open_files(ac.max_connections);
  argus_api_parts ap;
  memset(&ap, 0, sizeof ap);
  ap.pipeline = pl;
  ap.engine = parts.engine;
  ap.gallery = parts.gallery;
  ap.bus = parts.bus;
  argus_api *api = NULL;
  argus_error_detail aerr = {{0}};
  argus_interrupt_install();
  e = argus_api_start(&ac, &ap, &api, &aerr);
  if (e) {
    cli_errorf(cmd, "%s", aerr.msg[0] ? aerr.msg : argus_strerror(e));
    argus_interrupt_restore();
    argus_pipeline_destroy(pl);
    argus_pipeline_parts_close(&parts);
    return CLI_FAIL;
  }
  /* The address as given, with the port actually bound. */
  char host[128];
  snprintf(host, sizeof host, "%s", ac.listen ? ac.listen : "127.0.0.1:8080");
  char *colon = strrchr(host, ':');
  if (colon)
    *colon = '\0';
  if (!host[0])
    snprintf(host, sizeof host, "0.0.0.0");
  int tls = ac.tls_cert && ac.tls_key;
  if (users == 0) {
    fprintf(stderr,
            "argus serve: no user exists yet. Create the first admin with\n"
            "  argus user add NAME --role admin%s%s\n"
            "or open the console and enter the setup code %s\n"
            "(POST /api/v1/setup {\"code\", \"name\", \"password\"}). Until "
            "then only /healthz, /readyz and the setup routes answer.\n",
            db ? " --db " : "", db ? db : "", argus_api_setup_code(api));
  }
  if (ac.web_dir)
    fprintf(stderr, "argus serve: console files from %s\n", ac.web_dir);
  fprintf(stderr, "argus serve: %s; database %s\n",
          !pl ? "no pipeline (API only)"
          : pc.role == ARGUS_PIPELINE_SINK
              ? "sink role: storing the alerts raised on the bus"
              : "live pipeline on the enabled cameras",
          dbpath);
  fprintf(stderr, "argus serve: listening on %s://%s:%d\n",
          tls ? "https" : "http", host, argus_api_port(api));
  cli_audit_anchor_log(dbpath);
  fflush(stderr);

  cli_purge_timer purge;
  cli_purge_timer_init(&purge, dbpath, purge_every);
  struct timespec last_anchor;
  clock_gettime(CLOCK_MONOTONIC, &last_anchor);
  while (!argus_interrupted()) {
    cli_purge_timer_tick(&purge);
    struct timespec ts = {0, 100000000};
    nanosleep(&ts, NULL);
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (anchor_every > 0 &&
        (double)(now.tv_sec - last_anchor.tv_sec) +
                (now.tv_nsec - last_anchor.tv_nsec) * 1e-9 >=
            anchor_every) {
      cli_audit_anchor_log(dbpath);
      last_anchor = now;
    }
  }
  fprintf(stderr, "argus serve: stopping: storing the alerts in flight\n");
  int rc = CLI_OK;
  if (pl) {
    /* Alerts already raised are stored and published before anything
     * stops: a short grace for the frames in flight, then the spool; the
     * live stream and the webhooks get them while the server still runs. */
    argus_pipeline_drain(pl, 2);
    argus_pipeline_error perr = {{0}};
    if (argus_pipeline_flush_alerts(pl, &perr) != ARGUS_OK) {
      fprintf(stderr, "argus serve: %s\n", perr.msg);
      rc = CLI_FAIL;
    }
    struct timespec ts = {0, 300000000};
    nanosleep(&ts, NULL);
    argus_pipeline_stats ps;
    if (argus_pipeline_get_stats(pl, &ps, NULL, 0, NULL) == ARGUS_OK)
      fprintf(
          stderr, "argus serve: %llu alerts raised, %llu stored, %llu lost\n",
          (unsigned long long)ps.alerts, (unsigned long long)ps.alerts_stored,
          (unsigned long long)ps.alerts_lost);
  }
  /* The server stops before the pipeline it refers to. */
  argus_api_stop(api);
  argus_pipeline_destroy(pl);
  argus_pipeline_parts_close(&parts);
  argus_interrupt_restore();
  fprintf(stderr, "argus serve: stopped\n");
  return rc;
}
