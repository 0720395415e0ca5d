/* `argus audit`: the newest rows of the audit log (who did what to which
 * object, including every read of templates and face crops); `argus audit
 * verify` checks its hash chain and `argus audit export` writes the chain
 * as JSON lines for an outside party to check (docs/lawful-use.md). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli_json.h"
#include "cli/store_cli.h"

CLI_JSON_FN(audit_json, argus_store_audit, argus_store_audit_json)

enum { OPT_LIMIT = STORE_OPT_NEXT, OPT_BEFORE };

void cli_audit_usage(FILE *f) {
  // clang-format off
  fputs("Usage: argus audit [--limit N] [--before ID] [--json] [--db PATH]\n"
        "       argus audit verify [--anchor ID:SHA256] [--json] [--db PATH]\n"
        "       argus audit export [--out FILE|-] [--after ID] [--db PATH]\n"
        "\n"
        "Prints the audit log, newest first: time, actor, action, object and\n"
        "details. Every change and every access to templates or face crops has\n"
        "a row.\n"
        "\n"
        "  --limit N     rows to print (default 50)\n"
        "  --before ID   only rows older than row ID (to page back)\n"
        "  --json        one JSON array of objects\n"
        STORE_CLI_DB_HELP
        "\n"
        "The rows form a hash chain: each holds the SHA-256 of its own content\n"
        "and of the row before it (docs/lawful-use.md).\n"
        "\n"
        "verify: recomputes the chain; exits 0 when it is intact, else 1 with\n"
        "the first row that was altered, deleted or inserted.\n"
        "  --anchor ID:SHA256  also check that row ID still has this hash (a\n"
        "                copy of an 'audit head' line kept outside argus)\n"
        "  --json        one JSON object: intact, rows, fault, bad_id, ...\n"
        "\n"
        "export: writes every row, oldest first, with its prev_sha256 and\n"
        "row_sha256, one JSON object a line, so that anyone can check it.\n"
        "  --out FILE    write to FILE (created mode 0600; '-' or none: stdout)\n"
        "  --after ID    only rows with id > ID\n",
        f);
  // clang-format on
}

/* ---- verify ------------------------------------------------------------- */

enum { OPT_ANCHOR = OPT_BEFORE + 1, OPT_OUT, OPT_AFTER };

/* "ID:SHA256" into id and hash (64 lower-case hex digits). */
static int parse_anchor(const char *cmd, const char *s, long *id,
                        char hash[ARGUS_STORE_SHA256_HEX]) {
  const char *colon = strchr(s, ':');
  char num[32];
  size_t n = colon ? (size_t)(colon - s) : 0;
  int ok = colon && n > 0 && n < sizeof num && strlen(colon + 1) == 64;
  for (int i = 0; ok && i < 64; i++) {
    char c = colon[1 + i];
    ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
  }
  if (ok) {
    memcpy(num, s, n);
    num[n] = '\0';
    ok = cli_parse_long(num, 1, LONG_MAX, "--anchor", id) == 0;
  }
  if (!ok) {
    cli_errorf(cmd, "--anchor: expected ID:SHA256 (a row id and 64 "
                    "lower-case hex digits), not '%s'",
               s);
    return -1;
  }
  memcpy(hash, colon + 1, 64);
  hash[64] = '\0';
  return 0;
}

static int audit_verify(int argc, char **argv) {
  static const cli_opt opts[] = {STORE_CLI_DB_OPT,
                                 {"json", 0, STORE_OPT_JSON},
                                 {"anchor", 1, OPT_ANCHOR},
                                 {NULL, 0, 0}};
  const char *cmd = "audit verify";
  const char *db = NULL;
  int json = 0;
  long anchor_id = 0;
  char anchor[ARGUS_STORE_SHA256_HEX] = "";
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
    case OPT_ANCHOR:
      if (parse_anchor(cmd, p.arg, &anchor_id, anchor) != 0)
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
  argus_store_audit_check c;
  argus_err e = argus_store_audit_verify(s, (argus_store_id)anchor_id,
                                         anchor_id ? anchor : NULL, &c, &err);
  argus_store_close(s);
  if (e != ARGUS_OK)
    return store_cli_error(cmd, e, &err);
  int intact = c.fault == ARGUS_AUDIT_INTACT;
  if (json) {
    char buf[1024];
    argus_json j;
    argus_json_init(&j, buf, sizeof buf);
    argus_json_obj_begin(&j, NULL);
    argus_json_bool(&j, "intact", intact);
    argus_json_int(&j, "rows", c.rows);
    argus_json_str(&j, "fault", argus_store_audit_fault_name(c.fault));
    if (intact) {
      argus_json_null(&j, "bad_id");
    } else {
      argus_json_int(&j, "bad_id", c.bad_id);
    }
    argus_json_int(&j, "good_id", c.good_id);
    argus_json_int(&j, "head_id", c.head_id);
    argus_json_str(&j, "head_sha256", c.head_sha256);
    argus_json_str(&j, "message", c.msg);
    argus_json_obj_end(&j);
    if (!argus_json_finish(&j) || printf("%s\n", buf) < 0)
      return CLI_FAIL;
  } else if (intact) {
    printf("audit log %s\n", c.msg);
  }
  if (!intact) {
    cli_errorf(cmd, "TAMPERED: %s (rows up to %lld check out)", c.msg,
               (long long)c.good_id);
    return CLI_FAIL;
  }
  return CLI_OK;
}

/* ---- anchoring ---------------------------------------------------------- */

void cli_audit_anchor_log(const char *db_path) {
  argus_store_options o = {.read_only = 1};
  argus_store *s = NULL;
  argus_store_error err = {{0}};
  argus_err e = argus_store_open(db_path, &o, &s, &err);
  /* WARN: shown at the default log level; a record for whoever keeps the
   * log, not a problem. */
  if (e == ARGUS_OK)
    e = argus_store_audit_anchor_log(s, ARGUS_LOG_WARN, &err);
  argus_store_close(s);
  if (e != ARGUS_OK)
    cli_errorf("audit", "cannot log the audit head: %s (%s)", err.msg,
               argus_errname(e));
}

/* ---- export ------------------------------------------------------------- */

typedef struct export_ctx {
  FILE *f;
  int failed;
  int64_t rows;
} export_ctx;

/* One JSON line per row. Strings go through argus_json_fputs (no size
 * limit): the text the store holds is valid UTF-8 (argus checks what it
 * writes), so the JSON string gives back the exact bytes that were hashed. */
static int export_row(void *user, const argus_store_audit_link *l) {
  export_ctx *x = user;
  FILE *f = x->f;
  int bad = fprintf(f, "{\"id\":%lld,\"time\":", (long long)l->id) < 0;
  bad |= argus_json_fputs(f, l->time, strlen(l->time));
  bad |= fputs(",\"actor\":", f) < 0;
  bad |= argus_json_fputs(f, l->actor, strlen(l->actor));
  bad |= fputs(",\"action\":", f) < 0;
  bad |= argus_json_fputs(f, l->action, strlen(l->action));
  bad |= fputs(",\"object_type\":", f) < 0;
  bad |= argus_json_fputs(f, l->object_type, strlen(l->object_type));
  if (l->has_object_id)
    bad |= fprintf(f, ",\"object_id\":%lld", (long long)l->object_id) < 0;
  else
    bad |= fputs(",\"object_id\":null", f) < 0;
  bad |= fputs(",\"detail\":", f) < 0;
  bad |= argus_json_fputs(f, l->detail, strlen(l->detail));
  bad |= fputs(",\"prev_sha256\":", f) < 0;
  bad |= argus_json_fputs(f, l->prev_sha256,
                          l->prev_sha256 ? strlen(l->prev_sha256) : 0);
  bad |= fputs(",\"row_sha256\":", f) < 0;
  bad |= argus_json_fputs(f, l->row_sha256,
                          l->row_sha256 ? strlen(l->row_sha256) : 0);
  bad |= fputs("}\n", f) < 0;
  x->rows++;
  x->failed = bad != 0;
  return x->failed;
}

static int audit_export(int argc, char **argv) {
  static const cli_opt opts[] = {STORE_CLI_DB_OPT,
                                 {"out", 1, OPT_OUT},
                                 {"after", 1, OPT_AFTER},
                                 {NULL, 0, 0}};
  const char *cmd = "audit export";
  const char *db = NULL, *out = NULL;
  long after = 0;
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
    case OPT_OUT:
      out = p.arg;
      break;
    case OPT_AFTER:
      if (cli_parse_long(p.arg, 0, LONG_MAX, "--after", &after) != 0)
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
  export_ctx x = {.f = stdout};
  int to_file = out && strcmp(out, "-") != 0;
  if (to_file) {
    /* The log names people and what was done to their data: 0600. */
    int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    x.f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!x.f) {
      cli_errorf(cmd, "cannot write '%s': %s", out, strerror(errno));
      if (fd >= 0)
        close(fd);
      argus_store_close(s);
      return CLI_FAIL;
    }
  }
  argus_store_error err = {{0}};
  argus_err e = argus_store_audit_chain_foreach(s, (argus_store_id)after,
                                                export_row, &x, &err);
  int rc = CLI_OK;
  if (e != ARGUS_OK)
    rc = store_cli_error(cmd, e, &err);
  if (fflush(x.f) != 0 || ferror(x.f))
    x.failed = 1;
  if (to_file && fclose(x.f) != 0)
    x.failed = 1;
  if (x.failed && rc == CLI_OK) {
    cli_errorf(cmd, "writing '%s' failed: %s", to_file ? out : "stdout",
               strerror(errno));
    rc = CLI_FAIL;
  }
  if (rc == CLI_OK && to_file) {
    /* So that the exports' retention can remove it (argus retention). */
    e = argus_store_export_record(s, "audit", out, 1, &err);
    if (e != ARGUS_OK) {
      cli_errorf(cmd, "%s is complete but could not be recorded for "
                      "retention: remove it by hand when done",
                 out);
      rc = store_cli_error(cmd, e, &err);
    }
  }
  argus_store_close(s);
  if (rc == CLI_OK && to_file)
    fprintf(stderr, "argus audit export: %lld rows to %s\n",
            (long long)x.rows, out);
  return rc;
}

int cli_audit_main(int argc, char **argv) {
  /* Subcommands; with none (or options first) the listing, as before. */
  if (argc > 1 && strcmp(argv[1], "verify") == 0)
    return audit_verify(argc - 1, argv + 1);
  if (argc > 1 && strcmp(argv[1], "export") == 0)
    return audit_export(argc - 1, argv + 1);
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
