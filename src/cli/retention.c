/* `argus retention`: the lifetime of each class of stored data; `argus
 * purge`: deletes what has outlived it now, or lists what would go
 * (--dry-run). `argus serve` and `argus watch` run the same purge
 * periodically (cli_retention_purge_log). docs/lawful-use.md, "Retention". */
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_json.h"
#include "cli/store_cli.h"

enum { OPT_DRY_RUN = STORE_OPT_NEXT, OPT_LIST_MAX, OPT_CLASS0 = 300 };

void cli_retention_usage(FILE *f) {
  // clang-format off
  fputs("Usage: argus retention [--json] [--db PATH]\n"
        "       argus retention set [--alerts D] [--decisions D] [--unmatched D]\n"
        "                           [--audit D] [--exports D] [--events D]\n"
        "                           [--negatives D] [--db PATH]\n"
        "\n"
        "Shows or sets how long each class of stored data is kept. D is a\n"
        "duration: a number and a unit, s, m, h, d (days), w (weeks) or y (365\n"
        "days), e.g. 90d, 12h, 5y; or 'keep': kept until removed by hand (the\n"
        "default of every class). Each change is audited.\n"
        "\n"
        "  --alerts D     alerts with their face crops and decisions\n"
        "  --decisions D  operators' decisions (the alert itself stays)\n"
        "  --unmatched D  kept unmatched faces (argus watch --keep-unmatched),\n"
        "                 which also go at their own expiry\n"
        "  --audit D      audit rows (the newest always stays; the hash chain\n"
        "                 then starts after the last row removed)\n"
        "  --exports D    files written by 'argus person export' and\n"
        "                 'argus audit export --out'\n"
        "  --events D     the live-event log that reconnecting clients replay\n"
        "  --negatives D  negative examples: templates of rejected alerts,\n"
        "                 which keep look-alikes from alarming again\n"
        "  --json         print the lifetimes as one JSON object (seconds; 0:\n"
        "                 kept)\n"
        STORE_CLI_DB_HELP,
        f);
  // clang-format on
}

void cli_purge_usage(FILE *f) {
  // clang-format off
  fputs("Usage: argus purge [--dry-run] [--list N] [--json] [--db PATH]\n"
        "\n"
        "Deletes every stored item older than its class's lifetime (argus\n"
        "retention): alerts with their crops, decisions, kept unmatched faces,\n"
        "negative examples, audit rows, exported files and live events, in one\n"
        "transaction, and\n"
        "leaves an audit tombstone with the counts. Crop files of what went are\n"
        "removed. 'argus serve' and 'argus watch' run it periodically\n"
        "(--purge-every).\n"
        "\n"
        "  --dry-run      change nothing: list what would go\n"
        "  --list N       items listed per run (default 1000 with --dry-run,\n"
        "                 0 otherwise; the counts are always complete)\n"
        "  --json         one JSON object: now, per class the cut-off, count\n"
        "                 and items\n"
        STORE_CLI_DB_HELP,
        f);
  // clang-format on
}

/* ---- durations ---------------------------------------------------------- */

/* "90d" into seconds; "keep" or "0" into 0. -1 when it is not a duration. */
static int64_t parse_duration(const char *s) {
  if (strcmp(s, "keep") == 0 || strcmp(s, "0") == 0)
    return 0;
  char *end = NULL;
  long long n = strtoll(s, &end, 10);
  if (end == s || n <= 0 || n > 1000000000LL || !end[0] || end[1])
    return -1;
  static const struct {
    char unit;
    int64_t s;
  } units[] = {{'s', 1},     {'m', 60},        {'h', 3600},
               {'d', 86400}, {'w', 7 * 86400}, {'y', 365 * 86400}};
  for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
    if (*end == units[i].unit) {
      if (n > INT64_MAX / units[i].s)
        return -1;
      return (int64_t)n * units[i].s;
    }
  return -1;
}

/* "90d", "12h", "keep": the largest unit that divides the seconds. */
static void duration_text(int64_t s, char *buf, size_t size) {
  if (s <= 0) {
    snprintf(buf, size, "keep");
    return;
  }
  static const struct {
    char unit;
    int64_t s;
  } units[] = {{'y', 365 * 86400}, {'w', 7 * 86400}, {'d', 86400},
               {'h', 3600},        {'m', 60},        {'s', 1}};
  for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
    if (s % units[i].s == 0) {
      snprintf(buf, size, "%" PRId64 "%c", s / units[i].s, units[i].unit);
      return;
    }
}

/* ---- retention ---------------------------------------------------------- */

static int retention_show(argus_store *s, int json) {
  argus_store_retention r;
  argus_store_error err = {{0}};
  argus_err e = argus_store_retention_get(s, &r, &err);
  if (e != ARGUS_OK)
    return store_cli_error("retention", e, &err);
  if (json) {
    char buf[1024];
    argus_json j;
    argus_json_init(&j, buf, sizeof buf);
    argus_json_obj_begin(&j, NULL);
    for (int c = 0; c < ARGUS_RETAIN_N; c++)
      argus_json_int(&j, argus_retention_class_name(c), r.seconds[c]);
    argus_json_obj_end(&j);
    if (!argus_json_finish(&j) || printf("%s\n", buf) < 0)
      return CLI_FAIL;
    return CLI_OK;
  }
  printf("%-10s %-8s %s\n", "CLASS", "KEEP", "SET");
  for (int c = 0; c < ARGUS_RETAIN_N; c++) {
    char d[32];
    duration_text(r.seconds[c], d, sizeof d);
    printf("%-10s %-8s %s\n", argus_retention_class_name(c), d,
           r.updated[c][0] ? r.updated[c] : "-");
  }
  return CLI_OK;
}

static int retention_set(int argc, char **argv) {
  static const cli_opt opts[] = {STORE_CLI_DB_OPT,
                                 {"alerts", 1, OPT_CLASS0 + 0},
                                 {"decisions", 1, OPT_CLASS0 + 1},
                                 {"unmatched", 1, OPT_CLASS0 + 2},
                                 {"audit", 1, OPT_CLASS0 + 3},
                                 {"exports", 1, OPT_CLASS0 + 4},
                                 {"events", 1, OPT_CLASS0 + 5},
                                 {"negatives", 1, OPT_CLASS0 + 6},
                                 {NULL, 0, 0}};
  const char *cmd = "retention set", *db = NULL;
  int64_t want[ARGUS_RETAIN_N];
  int given[ARGUS_RETAIN_N] = {0}, any = 0;
  cli_parser p;
  cli_parser_init(&p, argc, argv, cmd, opts);
  for (;;) {
    int id = cli_parse_next(&p);
    if (id == CLI_OPT_END)
      break;
    if (id >= OPT_CLASS0 && id < OPT_CLASS0 + ARGUS_RETAIN_N) {
      int c = id - OPT_CLASS0;
      int64_t v = parse_duration(p.arg);
      if (v < 0) {
        cli_errorf(cmd,
                   "--%s: '%s' is not a duration (a number and s, m, h, d, "
                   "w or y, e.g. 90d; or 'keep')",
                   argus_retention_class_name(c), p.arg);
        return cli_bad_value(cmd);
      }
      if (v > 0 && (v < ARGUS_RETENTION_MIN_S || v > ARGUS_RETENTION_MAX_S)) {
        cli_errorf(cmd, "--%s: '%s' is outside 1m .. 100y",
                   argus_retention_class_name(c), p.arg);
        return cli_bad_value(cmd);
      }
      want[c] = v;
      given[c] = any = 1;
      continue;
    }
    switch (id) {
    case CLI_OPT_HELP:
      cli_retention_usage(stdout);
      return CLI_OK;
    case CLI_OPT_ERROR:
      return cli_bad_value(cmd);
    case STORE_OPT_DB:
      db = p.arg;
      break;
    case CLI_OPT_POSITIONAL:
      cli_errorf(cmd, "unexpected argument '%s'", p.arg);
      return cli_bad_value(cmd);
    }
  }
  if (!any) {
    cli_errorf(cmd, "nothing to set: give at least one of --alerts, "
                    "--decisions, --unmatched, --audit, --exports, --events, "
                    "--negatives");
    return cli_bad_value(cmd);
  }
  argus_store *s = NULL;
  if (store_cli_open(cmd, db, &s) != CLI_OK)
    return CLI_FAIL;
  argus_store_error err = {{0}};
  int rc = CLI_OK;
  for (int c = 0; c < ARGUS_RETAIN_N && rc == CLI_OK; c++) {
    if (!given[c])
      continue;
    argus_err e =
        argus_store_retention_set(s, (argus_retention_class)c, want[c], &err);
    if (e != ARGUS_OK)
      rc = store_cli_error(cmd, e, &err);
  }
  if (rc == CLI_OK)
    rc = retention_show(s, 0);
  argus_store_close(s);
  return rc;
}

int cli_retention_main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "set") == 0)
    return retention_set(argc - 1, argv + 1);
  if (argc > 1 && strcmp(argv[1], "show") == 0) {
    argc--;
    argv++;
  }
  static const cli_opt opts[] = {
      STORE_CLI_DB_OPT, {"json", 0, STORE_OPT_JSON}, {NULL, 0, 0}};
  const char *cmd = "retention", *db = NULL;
  int json = 0;
  cli_parser p;
  cli_parser_init(&p, argc, argv, cmd, opts);
  for (;;) {
    int id = cli_parse_next(&p);
    if (id == CLI_OPT_END)
      break;
    switch (id) {
    case CLI_OPT_HELP:
      cli_retention_usage(stdout);
      return CLI_OK;
    case CLI_OPT_ERROR:
      return cli_bad_value(cmd);
    case STORE_OPT_DB:
      db = p.arg;
      break;
    case STORE_OPT_JSON:
      json = 1;
      break;
    case CLI_OPT_POSITIONAL:
      cli_errorf(cmd, "unknown subcommand '%s' (show, set)", p.arg);
      return cli_bad_value(cmd);
    }
  }
  argus_store *s = NULL;
  if (store_cli_open_existing(cmd, db, &s) != CLI_OK)
    return CLI_FAIL;
  int rc = retention_show(s, json);
  argus_store_close(s);
  return rc;
}

/* ---- purge -------------------------------------------------------------- */

typedef struct list_ctx {
  int json;
  long left; /* items still to print */
  int64_t shown[ARGUS_RETAIN_N];
  int first[ARGUS_RETAIN_N];
  /* JSON: items are gathered per class, printed after the counts. */
  char *buf[ARGUS_RETAIN_N];
  size_t len[ARGUS_RETAIN_N], cap[ARGUS_RETAIN_N];
  int oom;
} list_ctx;

static void append(list_ctx *x, int c, const char *s, size_t n) {
  if (x->oom)
    return;
  if (x->len[c] + n + 1 > x->cap[c]) {
    size_t cap = x->cap[c] ? x->cap[c] * 2 : 4096;
    while (cap < x->len[c] + n + 1)
      cap *= 2;
    char *b = realloc(x->buf[c], cap);
    if (!b) {
      x->oom = 1;
      return;
    }
    x->buf[c] = b;
    x->cap[c] = cap;
  }
  memcpy(x->buf[c] + x->len[c], s, n);
  x->len[c] += n;
  x->buf[c][x->len[c]] = '\0';
}

static int list_item(void *user, const argus_store_purge_item *it) {
  list_ctx *x = user;
  if (x->left <= 0)
    return 1;
  x->left--;
  int c = it->cls;
  x->shown[c]++;
  if (!x->json) {
    printf("  %-9s id=%-8" PRId64 " %s  %s\n", argus_retention_class_name(c),
           (int64_t)it->id, it->time, it->what);
    return 0;
  }
  char tmp[2048];
  argus_json j;
  argus_json_init(&j, tmp, sizeof tmp);
  argus_json_obj_begin(&j, NULL);
  argus_json_int(&j, "id", it->id);
  argus_json_str(&j, "time", it->time);
  argus_json_str(&j, "what", it->what);
  argus_json_obj_end(&j);
  size_t n = argus_json_finish(&j);
  if (!n)
    return 0;
  if (x->len[c])
    append(x, c, ",", 1);
  append(x, c, tmp, strlen(tmp));
  return 0;
}

static int print_report_json(const argus_store_purge_report *r, int dry_run,
                             list_ctx *x) {
  char head[512];
  argus_json j;
  argus_json_init(&j, head, sizeof head);
  argus_json_obj_begin(&j, NULL);
  argus_json_bool(&j, "dry_run", dry_run);
  argus_json_str(&j, "now", r->now);
  argus_json_int(&j, "files", r->files);
  argus_json_int(&j, "audit_base_id", r->audit_base_id);
  argus_json_int(&j, "tombstone", r->tombstone_id);
  argus_json_obj_end(&j);
  if (!argus_json_finish(&j))
    return CLI_FAIL;
  /* Splice the classes in before the closing brace. */
  head[strlen(head) - 1] = '\0';
  int bad = fputs(head, stdout) < 0;
  bad |= fputs(",\"classes\":{", stdout) < 0;
  for (int c = 0; c < ARGUS_RETAIN_N; c++) {
    bad |= printf("%s\"%s\":{\"before\":", c ? "," : "",
                  argus_retention_class_name(c)) < 0;
    if (r->before[c][0])
      bad |= printf("\"%s\"", r->before[c]) < 0;
    else
      bad |= fputs("null", stdout) < 0;
    bad |= printf(",\"count\":%" PRId64 ",\"items\":[%s]}", r->count[c],
                  x->buf[c] ? x->buf[c] : "") < 0;
  }
  bad |= fputs("}}\n", stdout) < 0;
  return bad ? CLI_FAIL : CLI_OK;
}

int cli_purge_main(int argc, char **argv) {
  static const cli_opt opts[] = {STORE_CLI_DB_OPT,
                                 {"json", 0, STORE_OPT_JSON},
                                 {"dry-run", 0, OPT_DRY_RUN},
                                 {"list", 1, OPT_LIST_MAX},
                                 {NULL, 0, 0}};
  const char *cmd = "purge", *db = NULL;
  int json = 0, dry = 0;
  long list = -1;
  cli_parser p;
  cli_parser_init(&p, argc, argv, cmd, opts);
  for (;;) {
    int id = cli_parse_next(&p);
    if (id == CLI_OPT_END)
      break;
    switch (id) {
    case CLI_OPT_HELP:
      cli_purge_usage(stdout);
      return CLI_OK;
    case CLI_OPT_ERROR:
      return cli_bad_value(cmd);
    case STORE_OPT_DB:
      db = p.arg;
      break;
    case STORE_OPT_JSON:
      json = 1;
      break;
    case OPT_DRY_RUN:
      dry = 1;
      break;
    case OPT_LIST_MAX:
      if (cli_parse_long(p.arg, 0, 100000000, "--list", &list) != 0)
        return cli_bad_value(cmd);
      break;
    case CLI_OPT_POSITIONAL:
      cli_errorf(cmd, "unexpected argument '%s'", p.arg);
      return cli_bad_value(cmd);
    }
  }
  if (list < 0)
    list = dry ? 1000 : 0;
  argus_store *s = NULL;
  if ((dry ? store_cli_open_existing(cmd, db, &s)
           : store_cli_open(cmd, db, &s)) != CLI_OK)
    return CLI_FAIL;
  list_ctx x;
  memset(&x, 0, sizeof x);
  x.json = json;
  x.left = list;
  if (!json && list > 0)
    printf("%s\n", dry ? "would remove:" : "removing:");
  argus_store_purge_report r;
  argus_store_error err = {{0}};
  argus_err e =
      argus_store_purge(s, dry, list > 0 ? list_item : NULL, &x, &r, &err);
  argus_store_close(s);
  int rc = CLI_OK;
  if (e != ARGUS_OK) {
    rc = store_cli_error(cmd, e, &err);
  } else if (x.oom) {
    cli_errorf(cmd, "out of memory listing the items");
    rc = CLI_FAIL;
  } else if (json) {
    rc = print_report_json(&r, dry, &x);
  } else {
    int64_t total = 0;
    for (int c = 0; c < ARGUS_RETAIN_N; c++)
      total += r.count[c];
    printf("%s at %s:\n", dry ? "would purge" : "purged", r.now);
    for (int c = 0; c < ARGUS_RETAIN_N; c++) {
      if (!r.before[c][0] && c != ARGUS_RETAIN_UNMATCHED)
        printf("  %-9s kept (no lifetime set)\n",
               argus_retention_class_name(c));
      else
        printf("  %-9s %" PRId64 " older than %s%s\n",
               argus_retention_class_name(c), r.count[c],
               r.before[c][0] ? r.before[c] : "their own expiry",
               c == ARGUS_RETAIN_AUDIT && r.audit_base_id
                   ? " (the chain now starts after this cut)"
                   : "");
    }
    if (list > 0 && total > list)
      printf("(%ld items listed of %" PRId64 ": --list N for more)\n", list,
             total);
    if (!dry && total > 0)
      printf("tombstone: audit row %" PRId64 "\n", (int64_t)r.tombstone_id);
  }
  for (int c = 0; c < ARGUS_RETAIN_N; c++)
    free(x.buf[c]);
  return rc;
}

/* ---- periodic purge (serve, watch) -------------------------------------- */

int cli_retention_purge_log(const char *db_path) {
  argus_store *s = NULL;
  if (store_cli_open("purge", db_path, &s) != CLI_OK)
    return -1;
  argus_store_error err = {{0}};
  argus_err e = argus_store_set_actor(s, "system:retention", &err);
  argus_store_purge_report r;
  if (e == ARGUS_OK)
    e = argus_store_purge(s, 0, NULL, NULL, &r, &err);
  argus_store_close(s);
  if (e != ARGUS_OK) {
    cli_errorf("purge", "retention purge failed: %s (%s)", err.msg,
               argus_errname(e));
    return -1;
  }
  int64_t total = 0;
  for (int c = 0; c < ARGUS_RETAIN_N; c++)
    total += r.count[c];
  if (total > 0)
    /* WARN: shown at the default log level; a record of what went, as the
     * audit head is, not a problem. */
    argus_log(ARGUS_LOG_WARN, "retention",
              "purged alerts=%" PRId64 " decisions=%" PRId64
              " unmatched=%" PRId64 " audit=%" PRId64 " exports=%" PRId64
              " events=%" PRId64 " negatives=%" PRId64 " (audit row %" PRId64
              ")",
              r.count[0], r.count[1], r.count[2], r.count[3], r.count[4],
              r.count[5], r.count[6], (int64_t)r.tombstone_id);
  return (int)(total > INT_MAX ? INT_MAX : total);
}

void cli_purge_timer_init(cli_purge_timer *t, const char *db_path,
                          double every) {
  t->db_path = db_path;
  t->every = every;
  t->last = -1;
}

void cli_purge_timer_tick(cli_purge_timer *t) {
  double now = (double)argus_time_ns() * 1e-9;
  if (t->last >= 0 && (t->every <= 0 || now - t->last < t->every))
    return;
  t->last = now;
  cli_retention_purge_log(t->db_path);
}
