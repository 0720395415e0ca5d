/* Helpers of the database subcommands: opening the store with the CLI's
 * audit actor, error reports, subcommand dispatch. */
#include <math.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/store_cli.h"

void store_cli_actor(char *buf, size_t cap) {
  char user[64];
  struct passwd pw, *res = NULL;
  char tmp[1024];
  if (getpwuid_r(geteuid(), &pw, tmp, sizeof tmp, &res) == 0 && res &&
      res->pw_name && res->pw_name[0] && strlen(res->pw_name) < sizeof user) {
    snprintf(user, sizeof user, "%s", res->pw_name);
  } else {
    const char *u = getenv("LOGNAME");
    if (!u || !u[0] || strlen(u) >= sizeof user)
      u = getenv("USER");
    if (u && u[0] && strlen(u) < sizeof user)
      snprintf(user, sizeof user, "%s", u);
    else
      snprintf(user, sizeof user, "uid%ld", (long)geteuid());
  }
  snprintf(buf, cap, "cli:%s", user);
}

int store_cli_error(const char *cmd, argus_err e,
                    const argus_store_error *err) {
  if (err && err->msg[0])
    cli_errorf(cmd, "%s (%s)", err->msg, argus_errname(e));
  else
    cli_errorf(cmd, "%s (%s)", argus_strerror(e), argus_errname(e));
  return CLI_FAIL;
}

static int open_store(const char *cmd, const char *db, int must_exist,
                      argus_store **out) {
  char actor[STORE_CLI_ACTOR_MAX];
  store_cli_actor(actor, sizeof actor);
  argus_store_options o;
  memset(&o, 0, sizeof o);
  o.actor = actor;
  o.must_exist = must_exist;
  /* A reader takes no write lock, so it works beside `argus watch` or an
   * import; its audited reads (templates, crops) still get their row. */
  o.read_only = must_exist;
  /* ... and that row waits for another process's write lock (an import, a
   * busy `argus watch`) for up to a minute rather than failing after the
   * writers' 5 s: the command answers once the lock goes. */
  if (must_exist)
    o.busy_timeout_ms = 60000;
  argus_store_error err;
  memset(&err, 0, sizeof err);
  argus_err e = argus_store_open(db, &o, out, &err);
  if (e == ARGUS_E_NOT_FOUND && must_exist) {
    cli_errorf(cmd,
               "%s (create one with 'argus watchlist create NAME --db PATH', "
               "or check --db)",
               err.msg[0] ? err.msg : "no database");
    return CLI_FAIL;
  }
  if (e != ARGUS_OK)
    return store_cli_error(cmd, e, &err);
  return CLI_OK;
}

int store_cli_open(const char *cmd, const char *db, argus_store **out) {
  return open_store(cmd, db, 0, out);
}

int store_cli_open_existing(const char *cmd, const char *db,
                            argus_store **out) {
  return open_store(cmd, db, 1, out);
}

int store_cli_dispatch(const char *cmd, const cli_command *subs,
                       void (*usage)(FILE *), int argc, char **argv) {
  if (argc < 2) {
    cli_errorf(cmd, "missing subcommand");
    usage(stderr);
    return CLI_USAGE;
  }
  if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
    usage(stdout);
    return CLI_OK;
  }
  for (const cli_command *c = subs; c->name; c++)
    if (strcmp(c->name, argv[1]) == 0)
      return c->run(argc - 1, argv + 1);
  cli_errorf(cmd, "unknown subcommand '%s'", argv[1]);
  usage(stderr);
  return CLI_USAGE;
}

const char *store_cli_threshold_text(double t, char *buf, size_t size) {
  if (isnan(t))
    snprintf(buf, size, "default");
  else
    snprintf(buf, size, "%.4g", t);
  return buf;
}
