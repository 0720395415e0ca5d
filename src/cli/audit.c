/* `argus audit`: the newest rows of the audit log (who did what to which
 * object, including every read of templates and face crops). */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_json.h"
#include "cli/store_cli.h"

CLI_JSON_FN(audit_json, argus_store_audit, argus_store_audit_json)

enum { OPT_LIMIT = STORE_OPT_NEXT, OPT_BEFORE };

void cli_audit_usage(FILE *f) {
  // clang-format off
  fputs("Usage: argus audit [--limit N] [--before ID] [--json] [--db PATH]\n"
        "\n"
        "Prints the audit log, newest first: time, actor, action, object and\n"
        "details. Every change and every access to templates or face crops has\n"
        "a row.\n"
        "\n"
        "  --limit N     rows to print (default 50)\n"
        "  --before ID   only rows older than row ID (to page back)\n"
        "  --json        one JSON array of objects\n"
        STORE_CLI_DB_HELP,
        f);
  // clang-format on
}

int cli_audit_main(int argc, char **argv) {
  static const cli_opt opts[] = {STORE_CLI_DB_OPT,
                                 {"json", 0, STORE_OPT_JSON},
                                 {"limit", 1, OPT_LIMIT},
                                 {"before", 1, OPT_BEFORE},
                                 {NULL, 0, 0}};
  const char *cmd = "audit";
  const char *db = NULL;
  int json = 0;
  long limit = 50, before = 0;
  cli_parser p;
  cli_parser_init(&p, argc, argv, cmd, opts);
  for (;;) {
    int id = cli_parse_next(&p);
    if (id == CLI_OPT_END)
      break;
    switch (id) {
    case CLI_OPT_HELP:
      cli_audit_usage(stdout);
      return CLI_OK;
    case CLI_OPT_ERROR:
      return cli_bad_value(cmd);
    case STORE_OPT_DB:
      db = p.arg;
      break;
    case STORE_OPT_JSON:
      json = 1;
      break;
    case OPT_LIMIT:
      if (cli_parse_long(p.arg, 1, 1000000, "--limit", &limit) != 0)
        return cli_bad_value(cmd);
      break;
    case OPT_BEFORE:
      if (cli_parse_long(p.arg, 1, LONG_MAX, "--before", &before) != 0)
        return cli_bad_value(cmd);
      break;
    case CLI_OPT_POSITIONAL:
      cli_errorf(cmd, "unexpected argument '%s'", p.arg);
      return cli_bad_value(cmd);
    }
  }
  argus_store *s = NULL;
  if (store_cli_open_existing(cmd, db, &s) != CLI_OK)
    return CLI_FAIL;
  argus_store_error err = {{0}};
  argus_store_audit *a = NULL;
  size_t n = 0;
  argus_err e = argus_store_audit_list(s, (argus_store_id)before, (size_t)limit,
                                       &a, &n, &err);
  argus_store_close(s);
  if (e != ARGUS_OK)
    return store_cli_error(cmd, e, &err);
  int rc = CLI_OK;
  if (json) {
    if (cli_json_print_array(stdout, cmd, audit_json, a, n, sizeof *a))
      rc = CLI_FAIL;
  } else {
    if (n)
      printf("%6s  %-24s  %-16s  %-23s  %-14s  %s\n", "ID", "TIME", "ACTOR",
             "ACTION", "OBJECT", "DETAIL");
    for (size_t i = 0; i < n; i++) {
      char obj[64] = "-";
      if (a[i].object_type[0] && a[i].object_id > 0)
        snprintf(obj, sizeof obj, "%.40s %lld", a[i].object_type,
                 (long long)a[i].object_id);
      else if (a[i].object_type[0])
        snprintf(obj, sizeof obj, "%.60s", a[i].object_type);
      printf("%6lld  %-24s  %-16s  %-23s  %-14s  %s\n", (long long)a[i].id,
             a[i].time, a[i].actor, a[i].action, obj, a[i].detail);
    }
  }
  argus_store_free(a);
  return rc;
}
