/* `argus alert list|show|confirm|reject`: reviewing the stored alerts from
 * the command line (until the web console does it). The first decision on
 * an alert wins; the store refuses a second one atomically. */
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli_json.h"
#include "cli/store_cli.h"

CLI_JSON_FN(alert_json, argus_store_alert, argus_store_alert_json)

static int alert_list_main(int argc, char **argv);
static void alert_list_usage(FILE *f);
static int alert_show_main(int argc, char **argv);
static void alert_show_usage(FILE *f);
static int alert_confirm_main(int argc, char **argv);
static void alert_confirm_usage(FILE *f);
static int alert_reject_main(int argc, char **argv);
static void alert_reject_usage(FILE *f);

static const cli_command alert_commands[] = {
    {"list", "list alerts, newest first, with filters", alert_list_main,
     alert_list_usage},
    {"show", "one alert: person, score, camera, crops and decisions",
     alert_show_main, alert_show_usage},
    {"confirm",
     "decide that an alert is right (first decision wins; four-eyes: two "
     "operators)",
     alert_confirm_main, alert_confirm_usage},
    {"reject", "decide that an alert is wrong (first decision wins)",
     alert_reject_main, alert_reject_usage},
    {NULL, NULL, NULL, NULL},
};

void cli_alert_usage(FILE *f) {
  // clang-format off
  fputs("Usage: argus alert SUBCOMMAND [ARGS...] [--db PATH]\n"
        "\n"
        "Alerts are stored by 'argus watch' when a watchlisted person is seen.\n"
        "An operator reviews each one and confirms or rejects it; the first\n"
        "decision stands. Every decision is in the audit log.\n"
        "\n"
        "Subcommands:\n",
        f);
  cli_print_commands(f, alert_commands);
  fputs("\n"
        "Run 'argus alert SUBCOMMAND --help' for its options.\n",
        f);
  // clang-format on
}

int cli_alert_main(int argc, char **argv) {
  return store_cli_dispatch("alert", alert_commands, cli_alert_usage, argc,
                            argv);
}

enum {
  OPT_STATUS = STORE_OPT_NEXT,
  OPT_CAMERA,
  OPT_WATCHLIST,
  OPT_PERSON,
  OPT_SINCE,
  OPT_UNTIL,
  OPT_LIMIT,
  OPT_BEFORE,
  OPT_COMMENT
};

/* Parses an alert id (a positive integer). Returns 0 or -1 after a
 * message. */
static int parse_id(const char *s, argus_store_id *out) {
  long v = 0;
  if (cli_parse_long(s, 1, LONG_MAX, "ID", &v) != 0)
    return -1;
  *out = (argus_store_id)v;
  return 0;
}

/* Checks an RFC 3339 option value before the store is opened, so that a
 * typo is a usage error. */
static int check_time(const char *cmd, const char *opt, const char *s) {
  int64_t sec = 0;
  int32_t ns = 0;
  if (argus_rfc3339_parse_ts(s, &sec, &ns) == ARGUS_OK)
    return 0;
  cli_errorf(cmd, "%s: '%s' is not an RFC 3339 time (2024-05-01T12:34:56Z)",
             opt, s);
  return -1;
}

/* ---- list --------------------------------------------------------------- */

static void alert_list_usage(FILE *f) {
  // clang-format off
  fputs("Usage: argus alert list [--status pending|confirmed|rejected]\n"
        "                        [--camera NAME] [--watchlist NAME]\n"
        "                        [--person NAME] [--since TIME] [--until TIME]\n"
        "                        [--limit N] [--before ID] [--json] [--db PATH]\n"
        "\n"
        "Lists alerts, newest first: id, time, status, camera, watchlist,\n"
        "person, score and track. Filters combine (all must hold).\n"
        "\n"
        "  --status S      only pending, confirmed or rejected alerts\n"
        "  --camera NAME   only alerts of this camera (name or source URL)\n"
        "  --watchlist W   only alerts of this watchlist\n"
        "  --person NAME   only alerts about this person\n"
        "  --since TIME    only alerts at or after TIME (RFC 3339,\n"
        "                  e.g. 2024-05-01T12:00:00Z or ...+02:00)\n"
        "  --until TIME    only alerts before TIME (RFC 3339)\n"
        "  --limit N       at most N alerts (default 100)\n"
        "  --before ID     only alerts older than alert ID (to page back)\n"
        "  --json          one JSON object per line (JSON lines)\n"
        STORE_CLI_DB_HELP,
        f);
  // clang-format on
}

/* Width of a table column: the longest value, at least the header's, at
 * most `max` (longer values overflow the column rather than being cut). */
static int col_width(const argus_store_alert *a, size_t n, size_t off, int min,
                     int max) {
  int w = min;
  for (size_t i = 0; i < n; i++) {
    size_t len = strlen((const char *)&a[i] + off);
    if (len > (size_t)w)
      w = len > (size_t)max ? max : (int)len;
  }
  return w;
}

static int alert_list_main(int argc, char **argv) {
  static const cli_opt opts[] = {STORE_CLI_DB_OPT,
                                 {"json", 0, STORE_OPT_JSON},
                                 {"status", 1, OPT_STATUS},
                                 {"camera", 1, OPT_CAMERA},
                                 {"watchlist", 1, OPT_WATCHLIST},
                                 {"person", 1, OPT_PERSON},
                                 {"since", 1, OPT_SINCE},
                                 {"until", 1, OPT_UNTIL},
                                 {"limit", 1, OPT_LIMIT},
                                 {"before", 1, OPT_BEFORE},
                                 {NULL, 0, 0}};
  const char *cmd = "alert list";
  const char *db = NULL;
  int json = 0;
  long limit = 100, before = 0;
  argus_store_alert_filter f = {.status = -1};
  cli_parser p;
  cli_parser_init(&p, argc, argv, cmd, opts);
  for (;;) {
    int id = cli_parse_next(&p);
    if (id == CLI_OPT_END)
      break;
    switch (id) {
    case CLI_OPT_HELP:
      alert_list_usage(stdout);
      return CLI_OK;
    case CLI_OPT_ERROR:
      return cli_bad_value(cmd);
    case STORE_OPT_DB:
      db = p.arg;
      break;
    case STORE_OPT_JSON:
      json = 1;
      break;
    case OPT_STATUS: {
      argus_alert_status st;
      if (argus_alert_status_parse(p.arg, &st) != ARGUS_OK) {
        cli_errorf(cmd, "--status: '%s' is not pending, confirmed or rejected",
                   p.arg);
        return cli_bad_value(cmd);
      }
      f.status = (int)st;
      break;
    }
    case OPT_CAMERA:
      f.camera = p.arg;
      break;
    case OPT_WATCHLIST:
      f.watchlist = p.arg;
      break;
    case OPT_PERSON:
      f.person = p.arg;
      break;
    case OPT_SINCE:
      if (check_time(cmd, "--since", p.arg) != 0)
        return cli_bad_value(cmd);
      f.since = p.arg;
      break;
    case OPT_UNTIL:
      if (check_time(cmd, "--until", p.arg) != 0)
        return cli_bad_value(cmd);
      f.until = p.arg;
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
  f.limit = (size_t)limit;
  f.before_id = (argus_store_id)before;
  argus_store *s = NULL;
  if (store_cli_open_existing(cmd, db, &s) != CLI_OK)
    return CLI_FAIL;
  argus_store_error err = {{0}};
  argus_store_alert *a = NULL;
  size_t n = 0;
  argus_err e = argus_store_alert_list(s, &f, &a, &n, &err);
  argus_store_close(s);
  if (e != ARGUS_OK)
    return store_cli_error(cmd, e, &err);
  int rc = CLI_OK;
  if (json) {
    for (size_t i = 0; i < n && rc == CLI_OK; i++) {
      if (cli_json_print(stdout, cmd, alert_json, &a[i]) != 0)
        rc = CLI_FAIL;
      else
        fputc('\n', stdout);
    }
  } else if (n == 0) {
    printf("no alerts\n");
  } else {
    int wc = col_width(a, n, offsetof(argus_store_alert, camera), 6, 24);
    int ww = col_width(a, n, offsetof(argus_store_alert, watchlist), 9, 20);
    int wp = col_width(a, n, offsetof(argus_store_alert, person), 6, 24);
    printf("%6s  %-24s  %-9s  %-*s  %-*s  %-*s  %6s  %s\n", "ID", "TIME",
           "STATUS", wc, "CAMERA", ww, "WATCHLIST", wp, "PERSON", "SCORE",
           "TRACK");
    for (size_t i = 0; i < n; i++)
      printf("%6lld  %-24s  %-9s  %-*s  %-*s  %-*s  %6.3f  %lld\n",
             (long long)a[i].id, a[i].time,
             argus_alert_status_name(a[i].status), wc, a[i].camera, ww,
             a[i].watchlist, wp, a[i].person, a[i].score,
             (long long)a[i].track_id);
  }
  argus_store_free(a);
  return rc;
}

/* ---- show --------------------------------------------------------------- */

static void alert_show_usage(FILE *f) {
  // clang-format off
  fputs("Usage: argus alert show ID [--json] [--db PATH]\n"
        "\n"
        "Shows one alert: person and watchlist, the score against the\n"
        "watchlist's threshold, camera, time and media time, track, the files\n"
        "of the face crop and of the frame thumbnail with their SHA-256, and\n"
        "the operators' decisions.\n"
        "\n"
        "  --json        one JSON object: {\"alert\", \"threshold\" (null: the\n"
        "                model's default), \"crop_path\", \"thumb_path\",\n"
        "                \"decisions\"}\n"
        STORE_CLI_DB_HELP,
        f);
  // clang-format on
}

/* What `alert show` gathers. */
typedef struct alert_view {
  argus_store_alert a;
  int have_wl;      /* the watchlist still exists */
  double threshold; /* NAN: the model's default */
  char crop_path[PATH_MAX];
  char thumb_path[PATH_MAX];
  argus_store_decision *d;
  size_t nd;
} alert_view;

static void alert_view_json(const void *rec, argus_json *j) {
  const alert_view *v = rec;
  /* The alert is written by the store's writer into its own document and
   * copied in as a member. It fits: names are bounded and escape to at
   * most six bytes each. */
  char abuf[8192];
  argus_json aj;
  argus_json_init(&aj, abuf, sizeof abuf);
  argus_store_alert_json(&v->a, &aj);
  size_t an = argus_json_finish(&aj);
  argus_json_obj_begin(j, NULL);
  if (an)
    argus_json_raw(j, "alert", abuf, an);
  else
    argus_json_null(j, "alert");
  if (v->have_wl && !isnan(v->threshold))
    argus_json_num(j, "threshold", v->threshold, 4);
  else
    argus_json_null(j, "threshold");
  argus_json_str(j, "crop_path", v->crop_path[0] ? v->crop_path : NULL);
  argus_json_str(j, "thumb_path", v->thumb_path[0] ? v->thumb_path : NULL);
  argus_json_arr_begin(j, "decisions");
  for (size_t i = 0; i < v->nd; i++)
    argus_store_decision_json(&v->d[i], j);
  argus_json_arr_end(j);
  /* Verdict feedback: the four-eyes state and the negative-example mark. */
  argus_json_int(j, "confirmations", v->a.confirmations);
  argus_json_int(j, "confirmations_needed", v->a.four_eyes ? 2 : 1);
  if (v->a.negative_id > 0) {
    argus_json_obj_begin(j, "negative");
    argus_json_int(j, "id", v->a.negative_id);
    argus_json_num(j, "score", v->a.negative_score, 4);
    argus_json_obj_end(j);
  } else {
    argus_json_null(j, "negative");
  }
  argus_json_obj_end(j);
}

static void print_file(const char *label, const char *sha, const char *path) {
  if (!sha[0])
    printf("  %-10s none\n", label);
  else
    printf("  %-10s %s\n  %-10s sha256 %s\n", label, path, "", sha);
}

static void alert_view_text(const alert_view *v) {
  const argus_store_alert *a = &v->a;
  printf("alert %lld  %s\n", (long long)a->id,
         argus_alert_status_name(a->status));
  if (a->person_id > 0)
    printf("  %-10s %s (id %lld)\n", "person", a->person,
           (long long)a->person_id);
  else
    printf("  %-10s %s (removed since)\n", "person", a->person);
  if (a->watchlist_id > 0)
    printf("  %-10s %s (id %lld)\n", "watchlist", a->watchlist,
           (long long)a->watchlist_id);
  else
    printf("  %-10s %s (removed since)\n", "watchlist", a->watchlist);
  if (v->have_wl && !isnan(v->threshold))
    printf("  %-10s %.4f against the watchlist's threshold %.4f (%+.4f)\n",
           "score", a->score, v->threshold, a->score - v->threshold);
  else if (v->have_wl)
    printf("  %-10s %.4f (the watchlist uses the embedder's default "
           "threshold)\n",
           "score", a->score);
  else
    printf("  %-10s %.4f\n", "score", a->score);
  if (a->camera_id > 0)
    printf("  %-10s %s (id %lld)\n", "camera", a->camera,
           (long long)a->camera_id);
  else
    printf("  %-10s %s\n", "camera", a->camera);
  printf("  %-10s %s\n", "time", a->time);
  printf("  %-10s %.3f s into the stream\n", "media time", a->media_time);
  printf("  %-10s %lld\n", "track", (long long)a->track_id);
  print_file("crop", a->crop_sha256, v->crop_path);
  print_file("thumbnail", a->thumb_sha256, v->thumb_path);
  if (a->negative_id > 0)
    printf("  %-10s marked: the face is nearer negative example %lld "
           "(%.4f, a rejected alert's face) than to the person (%.4f)\n",
           "negative", (long long)a->negative_id, a->negative_score, a->score);
  if (a->four_eyes)
    printf("  %-10s four-eyes: %d of 2 confirmations\n", "review",
           a->confirmations);
  if (v->nd == 0) {
    printf("decisions: none\n");
    return;
  }
  printf("decisions:\n");
  for (size_t i = 0; i < v->nd; i++) {
    const argus_store_decision *d = &v->d[i];
    printf("  %s  %-9s by %s", d->time, argus_alert_status_name(d->decision),
           d->operator_name);
    if (d->comment[0])
      printf(": %s", d->comment);
    printf("\n");
  }
}

static int alert_show_main(int argc, char **argv) {
  static const cli_opt opts[] = {
      STORE_CLI_DB_OPT, {"json", 0, STORE_OPT_JSON}, {NULL, 0, 0}};
  const char *cmd = "alert show";
  const char *db = NULL;
  int json = 0;
  argus_store_id id = 0;
  cli_parser p;
  cli_parser_init(&p, argc, argv, cmd, opts);
  for (;;) {
    int o = cli_parse_next(&p);
    if (o == CLI_OPT_END)
      break;
    switch (o) {
    case CLI_OPT_HELP:
      alert_show_usage(stdout);
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
      if (id) {
        cli_errorf(cmd, "unexpected argument '%s'", p.arg);
        return cli_bad_value(cmd);
      }
      if (parse_id(p.arg, &id) != 0)
        return cli_bad_value(cmd);
      break;
    }
  }
  if (!id) {
    cli_errorf(cmd, "missing ID");
    return cli_bad_value(cmd);
  }
  alert_view *v = calloc(1, sizeof *v);
  if (!v) {
    cli_errorf(cmd, "out of memory");
    return CLI_FAIL;
  }
  v->threshold = NAN;
  argus_store *s = NULL;
  if (store_cli_open_existing(cmd, db, &s) != CLI_OK) {
    free(v);
    return CLI_FAIL;
  }
  argus_store_error err = {{0}};
  argus_err e = argus_store_alert_get(s, id, &v->a, &err);
  if (e == ARGUS_OK && v->a.watchlist_id > 0) {
    argus_store_watchlist w;
    argus_store_error werr = {{0}};
    if (argus_store_watchlist_get(s, v->a.watchlist, &w, &werr) == ARGUS_OK &&
        w.id == v->a.watchlist_id) {
      v->have_wl = 1;
      v->threshold = w.threshold;
    }
  }
  if (e == ARGUS_OK && v->a.crop_sha256[0])
    e = argus_store_crop_path(s, v->a.crop_sha256, v->crop_path,
                              sizeof v->crop_path, &err);
  if (e == ARGUS_OK && v->a.thumb_sha256[0])
    e = argus_store_crop_path(s, v->a.thumb_sha256, v->thumb_path,
                              sizeof v->thumb_path, &err);
  if (e == ARGUS_OK)
    e = argus_store_decision_list(s, id, &v->d, &v->nd, &err);
  argus_store_close(s);
  int rc = CLI_OK;
  if (e != ARGUS_OK)
    rc = store_cli_error(cmd, e, &err);
  else if (json) {
    if (cli_json_print(stdout, cmd, alert_view_json, v) != 0)
      rc = CLI_FAIL;
    else
      fputc('\n', stdout);
  } else {
    alert_view_text(v);
  }
  argus_store_free(v->d);
  free(v);
  return rc;
}

/* ---- confirm / reject ------------------------------------------------- */

static void decide_usage(FILE *f, const char *verb, const char *what) {
  fprintf(f,
          "Usage: argus alert %s ID [--comment TEXT] [--db PATH]\n"
          "\n"
          "Records that alert ID is %s, as operator cli:<login name>.\n"
          "The first decision on an alert wins: deciding an alert that is no\n"
          "longer pending fails (exit status 1) and says who decided it.\n"
          "On a four-eyes watchlist an alert is confirmed by two different\n"
          "operators (the first confirmation leaves it pending, \"1 of 2\");\n"
          "one rejection closes it. A rejection stores the alert's face as a\n"
          "negative example of the person (docs/alerts.md).\n"
          "\n"
          "  --comment TEXT  why (kept with the decision, at most %d bytes)\n",
          verb, what, ARGUS_STORE_TEXT_MAX - 1);
  fputs(STORE_CLI_DB_HELP, f);
}

static void alert_confirm_usage(FILE *f) {
  decide_usage(f, "confirm", "right: the person seen is the watchlisted one");
}

static void alert_reject_usage(FILE *f) {
  decide_usage(f, "reject", "wrong: a false match");
}

static int decide_main(int argc, char **argv, argus_alert_status decision,
                       void (*usage)(FILE *)) {
  static const cli_opt opts[] = {
      STORE_CLI_DB_OPT, {"comment", 1, OPT_COMMENT}, {NULL, 0, 0}};
  const char *cmd =
      decision == ARGUS_ALERT_CONFIRMED ? "alert confirm" : "alert reject";
  const char *db = NULL, *comment = NULL;
  argus_store_id id = 0;
  cli_parser p;
  cli_parser_init(&p, argc, argv, cmd, opts);
  for (;;) {
    int o = cli_parse_next(&p);
    if (o == CLI_OPT_END)
      break;
    switch (o) {
    case CLI_OPT_HELP:
      usage(stdout);
      return CLI_OK;
    case CLI_OPT_ERROR:
      return cli_bad_value(cmd);
    case STORE_OPT_DB:
      db = p.arg;
      break;
    case OPT_COMMENT:
      if (strlen(p.arg) >= ARGUS_STORE_TEXT_MAX) {
        cli_errorf(cmd, "--comment: longer than %d bytes",
                   ARGUS_STORE_TEXT_MAX - 1);
        return cli_bad_value(cmd);
      }
      comment = p.arg;
      break;
    case CLI_OPT_POSITIONAL:
      if (id) {
        cli_errorf(cmd, "unexpected argument '%s'", p.arg);
        return cli_bad_value(cmd);
      }
      if (parse_id(p.arg, &id) != 0)
        return cli_bad_value(cmd);
      break;
    }
  }
  if (!id) {
    cli_errorf(cmd, "missing ID");
    return cli_bad_value(cmd);
  }
  char op[STORE_CLI_ACTOR_MAX];
  store_cli_actor(op, sizeof op);
  argus_store *s = NULL;
  if (store_cli_open(cmd, db, &s) != CLI_OK)
    return CLI_FAIL;
  argus_store_error err = {{0}};
  argus_store_verdict vd;
  memset(&vd, 0, sizeof vd);
  argus_err e =
      argus_store_decision_add_ex(s, id, op, decision, comment, &vd, &err);
  argus_store_alert a;
  memset(&a, 0, sizeof a);
  if (e == ARGUS_OK && argus_store_alert_get(s, id, &a, NULL) != ARGUS_OK)
    a.person[0] = '\0';
  argus_store_close(s);
  if (e != ARGUS_OK)
    return store_cli_error(cmd, e, &err);
  if (a.person[0])
    printf("alert %lld %s by %s (%s in '%s', %s, %s)\n", (long long)id,
           argus_alert_status_name(decision), op, a.person, a.watchlist,
           a.camera, a.time);
  else
    printf("alert %lld %s by %s\n", (long long)id,
           argus_alert_status_name(decision), op);
  if (vd.needed > 1 && decision == ARGUS_ALERT_CONFIRMED)
    printf("four-eyes: %d of %d confirmations; the alert is %s\n",
           vd.confirmations, vd.needed, argus_alert_status_name(vd.status));
  if (vd.negative_id > 0)
    printf("its face is stored as negative example %lld of the person\n",
           (long long)vd.negative_id);
  return CLI_OK;
}

static int alert_confirm_main(int argc, char **argv) {
  return decide_main(argc, argv, ARGUS_ALERT_CONFIRMED, alert_confirm_usage);
}

static int alert_reject_main(int argc, char **argv) {
  return decide_main(argc, argv, ARGUS_ALERT_REJECTED, alert_reject_usage);
}
