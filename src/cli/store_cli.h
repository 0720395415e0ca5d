/*
 * What the database subcommands (watchlist, person, camera, audit, user)
 * share: the --db option, opening the store with the CLI's audit actor,
 * error reports, subcommand dispatch and a few output helpers.
 */
#ifndef ARGUS_CLI_STORE_H
#define ARGUS_CLI_STORE_H

#include <stdio.h>

#include "argus/store.h"
#include "cli/cli.h"

int cli_watchlist_main(int argc, char **argv);
void cli_watchlist_usage(FILE *f);
int cli_person_main(int argc, char **argv);
void cli_person_usage(FILE *f);
int cli_camera_main(int argc, char **argv);
void cli_camera_usage(FILE *f);
int cli_audit_main(int argc, char **argv);
void cli_audit_usage(FILE *f);
/* Logs the audit log's head, "audit head id=N sha256=H", through argus's
 * logger at the default level (argus_store_audit_anchor_log) from a
 * read-only handle of its own on the database at db_path (NULL: the
 * default path), for a copy of the log kept outside (docs/lawful-use.md).
 * For long-running commands (serve, watch): at start and every so often.
 * A failure is printed and ignored. */
void cli_audit_anchor_log(const char *db_path);
int cli_retention_main(int argc, char **argv);
void cli_retention_usage(FILE *f);
int cli_purge_main(int argc, char **argv);
void cli_purge_usage(FILE *f);
/* One retention purge (argus_store_purge) on its own handle of the
 * database at db_path (NULL: the default), as actor "system:retention",
 * for the periodic purge of serve and watch. Logs what went; returns the
 * number of items purged, -1 on failure (printed). */
int cli_retention_purge_log(const char *db_path);
/* The periodic purge of a long-running command: the first call purges,
 * later calls purge again once `every` seconds (0: never again) have
 * passed on the monotonic clock. */
typedef struct cli_purge_timer {
  const char *db_path; /* borrowed */
  double every;        /* seconds */
  double last;         /* monotonic seconds of the last purge; < 0: none */
} cli_purge_timer;
void cli_purge_timer_init(cli_purge_timer *t, const char *db_path,
                          double every);
void cli_purge_timer_tick(cli_purge_timer *t);
/* Help lines for --purge-every, shared by serve and watch. */
#define CLI_PURGE_EVERY_HELP                                                   \
  "  --purge-every S        delete what has outlived its retention (argus\n"  \
  "                         retention) at start and every S seconds\n"        \
  "                         (default 3600; 0: only at start)\n"
int cli_user_main(int argc, char **argv);
void cli_user_usage(FILE *f);

/* Option id of --db; commands number theirs from STORE_OPT_NEXT. */
enum { STORE_OPT_DB = 200, STORE_OPT_JSON, STORE_OPT_NEXT };
#define STORE_CLI_DB_OPT                                                       \
  { "db", 1, STORE_OPT_DB }
/* One line of help for --db. */
#define STORE_CLI_DB_HELP                                                      \
  "  --db PATH     the database (default: $XDG_DATA_HOME/argus/argus.db or\n"  \
  "                ~/.local/share/argus/argus.db; crops live next to it)\n"

/* Size of a buffer that holds any store_cli_actor text. */
#define STORE_CLI_ACTOR_MAX 80
/* Writes the CLI's audit actor, "cli:<login name>", into buf (cap bytes,
 * STORE_CLI_ACTOR_MAX is enough; truncated to fit, always terminated when
 * cap > 0). The login name is the effective user's password entry, else
 * LOGNAME or USER, else "uid<N>". Every command that writes the store
 * names itself this way. */
void store_cli_actor(char *buf, size_t cap);

/* Opens the store at `db` (NULL: the default) with the audit actor
 * "cli:<login name>". Prints what went wrong; returns CLI_OK or CLI_FAIL. */
int store_cli_open(const char *cmd, const char *db, argus_store **out);
/* As store_cli_open, for the commands that only read: a database that does
 * not exist is "no database at PATH (create one with ...)", CLI_FAIL, and
 * nothing (file or folder) is created; an empty file is "not an argus
 * database yet". The store is opened read_only: no write lock is taken
 * (lists work while another process holds a long write transaction) until
 * an audited read (templates, crops) must append its audit row. */
int store_cli_open_existing(const char *cmd, const char *db, argus_store **out);
/* Prints "argus: CMD: <message> (CODE)" and returns CLI_FAIL. */
int store_cli_error(const char *cmd, argus_err e, const argus_store_error *err);

/* Runs the subcommand argv[1] of `cmd` from `subs`; prints `usage` for
 * --help or a missing/unknown subcommand. */
int store_cli_dispatch(const char *cmd, const cli_command *subs,
                       void (*usage)(FILE *), int argc, char **argv);

/* Text form of a threshold: "0.45" or "default". */
const char *store_cli_threshold_text(double t, char *buf, size_t size);

#endif
