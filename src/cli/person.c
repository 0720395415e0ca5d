/* `argus person list|remove|set`: the persons enrolled in watchlists, with
 * the reason for each entry and its review-by date. (`person add` needs
 * the face engine: it lives in enrol.c.) */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_json.h"
#include "cli/gallery_cli.h"
#include "cli/legal_cli.h"
#include "cli/store_cli.h"

static int person_list_main(int argc, char **argv);
static void person_list_usage(FILE *f);
static int person_remove_main(int argc, char **argv);
static void person_remove_usage(FILE *f);
static int person_set_main(int argc, char **argv);
static void person_set_usage(FILE *f);

static const cli_command person_commands[] = {
    {"add", "enrol a person with photos (quality gate)", cli_person_add_main,
     cli_person_add_usage},
    {"list", "list the persons of a watchlist", person_list_main,
     person_list_usage},
    {"remove", "purge a person: photos, templates and face crops",
     person_remove_main, person_remove_usage},
    {"set", "change a person's reason or review-by date (renew the entry)",
     person_set_main, person_set_usage},
    {"export", "write everything stored about a person to a folder",
     cli_person_export_main, cli_person_export_usage},
    {"erase", "erase a person's biometric data and alerts everywhere",
     cli_person_erase_main, cli_person_erase_usage},
    {NULL, NULL, NULL, NULL},
};

void cli_person_usage(FILE *f) {
  // clang-format off
  fputs("Usage: argus person SUBCOMMAND [ARGS...] [--db PATH]\n"
        "\n"
        "Persons enrolled in watchlists, with their photos and templates.\n"
        "\n"
        "Subcommands:\n",
        f);
  cli_print_commands(f, person_commands);
  fputs("\n"
        "Run 'argus person SUBCOMMAND --help' for its options.\n",
        f);
  // clang-format on
}

int cli_person_main(int argc, char **argv) {
  return store_cli_dispatch("person", person_commands, cli_person_usage, argc,
                            argv);
}

enum {
  OPT_WATCHLIST = STORE_OPT_NEXT,
  OPT_ID,
  OPT_DUE,
  OPT_REASON,
  OPT_REVIEW_BY,
  OPT_NO_REVIEW
};

static void person_list_usage(FILE *f) {
  // clang-format off
  fputs("Usage: argus person list [--watchlist W] [--due DAYS] [--json]\n"
        "                         [--db PATH]\n"
        "\n"
        "Lists persons (of one watchlist, or of all): id, name, external id,\n"
        "photos, templates, created, review-by date, review state and reason.\n"
        "The review state is 'due' within 30 days of the review-by date and\n"
        "'overdue' after it: an overdue entry matches nothing until renewed\n"
        "('argus person set --review-by DATE').\n"
        "\n"
        "  --watchlist W  only the persons of watchlist W\n"
        "  --due DAYS     only the persons whose review-by date lies within\n"
        "                 DAYS days from now (0: overdue ones), overdue included\n"
        "  --json         one JSON array of objects\n"
        STORE_CLI_DB_HELP,
        f);
  // clang-format on
}

CLI_JSON_FN(person_json, argus_store_person, argus_store_person_json)

static int person_list_main(int argc, char **argv) {
  static const cli_opt opts[] = {STORE_CLI_DB_OPT,
                                 {"json", 0, STORE_OPT_JSON},
                                 {"watchlist", 1, OPT_WATCHLIST},
                                 {"due", 1, OPT_DUE},
                                 {NULL, 0, 0}};
  const char *cmd = "person list";
  const char *db = NULL, *watchlist = NULL;
  int json = 0;
  long due = -1;
  cli_parser p;
  cli_parser_init(&p, argc, argv, cmd, opts);
  for (;;) {
    int id = cli_parse_next(&p);
    if (id == CLI_OPT_END)
      break;
    switch (id) {
    case CLI_OPT_HELP:
      person_list_usage(stdout);
      return CLI_OK;
    case CLI_OPT_ERROR:
      return cli_bad_value(cmd);
    case STORE_OPT_DB:
      db = p.arg;
      break;
    case STORE_OPT_JSON:
      json = 1;
      break;
    case OPT_WATCHLIST:
      watchlist = p.arg;
      break;
    case OPT_DUE:
      if (cli_parse_long(p.arg, 0, 100000L, "--due", &due) != 0)
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
  argus_store_person *list = NULL;
  size_t n = 0;
  argus_err e = argus_store_person_list(s, watchlist, NULL, &list, &n, &err);
  argus_store_close(s);
  if (e != ARGUS_OK)
    return store_cli_error(cmd, e, &err);
  if (due >= 0) {
    /* Keep the persons with a review-by date up to DAYS days from now. */
    const int64_t limit =
        argus_store_clock_ns() + (int64_t)due * 86400 * 1000000000;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
      int64_t t = 0;
      if (!list[i].review_by[0])
        continue;
      if (argus_store_date_parse(list[i].review_by, &t, NULL) != ARGUS_OK ||
          t <= limit)
        list[k++] = list[i];
    }
    n = k;
  }
  int rc = CLI_OK;
  if (json) {
    if (cli_json_print_array(stdout, cmd, person_json, list, n, sizeof *list))
      rc = CLI_FAIL;
  } else if (n == 0) {
    printf("no persons%s%s%s%s\n", watchlist ? " in '" : "",
           watchlist ? watchlist : "", watchlist ? "'" : "",
           due >= 0 ? " due for review" : "");
  } else {
    int wn = 4, ww = 9;
    for (size_t i = 0; i < n; i++) {
      if ((int)strlen(list[i].name) > wn)
        wn = (int)strlen(list[i].name);
      if ((int)strlen(list[i].watchlist) > ww)
        ww = (int)strlen(list[i].watchlist);
    }
    printf("%6s  %-*s  %-*s  %-12s  %6s  %9s  %-19s  %-24s  %-7s  %s\n", "ID",
           ww, "WATCHLIST", wn, "NAME", "EXTERNAL ID", "PHOTOS", "TEMPLATES",
           "CREATED", "REVIEW BY", "REVIEW", "REASON");
    for (size_t i = 0; i < n; i++)
      printf("%6lld  %-*s  %-*s  %-12s  %6lld  %9lld  %-19.19s  %-24s  %-7s  "
             "%s\n",
             (long long)list[i].id, ww, list[i].watchlist, wn, list[i].name,
             list[i].external_id[0] ? list[i].external_id : "-",
             (long long)list[i].photos, (long long)list[i].templates,
             list[i].created, list[i].review_by[0] ? list[i].review_by : "-",
             list[i].review == ARGUS_STORE_REVIEW_NONE
                 ? "-"
                 : argus_store_review_name(list[i].review),
             list[i].reason[0] ? list[i].reason : "-");
  }
  argus_store_free(list);
  return rc;
}

static void person_remove_usage(FILE *f) {
  // clang-format off
  fputs("Usage: argus person remove --watchlist W NAME [--db PATH]\n"
        "       argus person remove --id ID [--watchlist W] [--db PATH]\n"
        "\n"
        "Purges a person: its photos, templates and face crop files. Alerts\n"
        "about the person keep the name until retention removes them. When\n"
        "several persons of W have that name, use --id (see 'argus person list').\n"
        STORE_CLI_DB_HELP,
        f);
  // clang-format on
}

/* NAME with --watchlist, or --id: CLI_OK, or non-zero after saying what is
 * missing (the caller answers with cli_bad_value). */
static int person_target_args(const char *cmd, const char *name,
                              const char *watchlist, long id) {
  if ((name != NULL) == (id != 0)) {
    cli_errorf(cmd, "give either NAME (with --watchlist) or --id");
    return CLI_FAIL;
  }
  if (name && !watchlist) {
    cli_errorf(cmd, "NAME needs --watchlist");
    return CLI_FAIL;
  }
  return CLI_OK;
}

/* The person of NAME in watchlist W, or of --id ID (in W when given), into
 * *out: CLI_OK; CLI_FAIL after printing why (none, several of that name,
 * another watchlist); a store error goes to *e and err. */
static int person_find(const char *cmd, argus_store *s, const char *watchlist,
                       const char *name, long id, argus_store_person *out,
                       argus_err *e, argus_store_error *err) {
  int rc = CLI_OK;
  *e = ARGUS_OK;
  if (name) {
    argus_store_person *list = NULL;
    size_t n = 0;
    *e = argus_store_person_list(s, watchlist, name, &list, &n, err);
    if (*e == ARGUS_OK && n == 0) {
      cli_errorf(cmd, "no person named '%s' in watchlist '%s'", name,
                 watchlist);
      rc = CLI_FAIL;
    } else if (*e == ARGUS_OK && n > 1) {
      cli_errorf(cmd, "%zu persons named '%s' in watchlist '%s'; use --id:", n,
                 name, watchlist);
      for (size_t i = 0; i < n; i++)
        fprintf(stderr, "  --id %lld  (external id %s, %lld photos)\n",
                (long long)list[i].id,
                list[i].external_id[0] ? list[i].external_id : "-",
                (long long)list[i].photos);
      rc = CLI_FAIL;
    } else if (*e == ARGUS_OK) {
      *out = list[0];
    }
    argus_store_free(list);
  } else {
    *e = argus_store_person_get(s, (argus_store_id)id, out, err);
    if (*e == ARGUS_OK && watchlist && strcmp(out->watchlist, watchlist)) {
      cli_errorf(cmd, "person %ld is in watchlist '%s', not '%s'", id,
                 out->watchlist, watchlist);
      rc = CLI_FAIL;
    }
  }
  return rc;
}

static int person_remove_main(int argc, char **argv) {
  static const cli_opt opts[] = {STORE_CLI_DB_OPT,
                                 {"watchlist", 1, OPT_WATCHLIST},
                                 {"id", 1, OPT_ID},
                                 {NULL, 0, 0}};
  const char *cmd = "person remove";
  const char *db = NULL, *watchlist = NULL, *name = NULL;
  long id = 0;
  cli_parser p;
  cli_parser_init(&p, argc, argv, cmd, opts);
  for (;;) {
    int o = cli_parse_next(&p);
    if (o == CLI_OPT_END)
      break;
    switch (o) {
    case CLI_OPT_HELP:
      person_remove_usage(stdout);
      return CLI_OK;
    case CLI_OPT_ERROR:
      return cli_bad_value(cmd);
    case STORE_OPT_DB:
      db = p.arg;
      break;
    case OPT_WATCHLIST:
      watchlist = p.arg;
      break;
    case OPT_ID:
      if (cli_parse_long(p.arg, 1, LONG_MAX, "--id", &id) != 0)
        return cli_bad_value(cmd);
      break;
    case CLI_OPT_POSITIONAL:
      if (name) {
        cli_errorf(cmd, "unexpected argument '%s'", p.arg);
        return cli_bad_value(cmd);
      }
      name = p.arg;
      break;
    }
  }
  if (person_target_args(cmd, name, watchlist, id) != CLI_OK)
    return cli_bad_value(cmd);
  argus_store *s = NULL;
  if (store_cli_open(cmd, db, &s) != CLI_OK)
    return CLI_FAIL;
  argus_store_error err = {{0}};
  argus_store_person person;
  argus_err e = ARGUS_OK;
  int rc = person_find(cmd, s, watchlist, name, id, &person, &e, &err);
  if (e == ARGUS_OK && rc == CLI_OK)
    e = argus_store_person_remove(s, person.id, &err);
  argus_store_close(s);
  if (e != ARGUS_OK)
    return store_cli_error(cmd, e, &err);
  if (rc != CLI_OK)
    return rc;
  printf("removed '%s' (id %lld) from '%s': %lld photos, %lld templates\n",
         person.name, (long long)person.id, person.watchlist,
         (long long)person.photos, (long long)person.templates);
  return CLI_OK;
}

/* ---- set ---------------------------------------------------------------- */

static void person_set_usage(FILE *f) {
  // clang-format off
  fputs("Usage: argus person set --watchlist W NAME [--review-by DATE | --no-review]\n"
        "                        [--reason TEXT] [--db PATH]\n"
        "       argus person set --id ID [--watchlist W] ...\n"
        "\n"
        "Changes the reason for a person's entry and its review-by date. From\n"
        "the review-by date on, the entry matches nothing (neither 'argus\n"
        "identify' nor live video) until someone renews it with a new date.\n"
        "The persons of an expired watchlist cannot be changed (renew the\n"
        "watchlist first: 'argus watchlist set W --expires DATE').\n"
        "\n"
        "  --review-by DATE  the new review-by date (renews an overdue entry)\n"
        "  --no-review       the entry no longer has a review-by date\n"
        "  --reason TEXT     why the person is on the list\n"
        LEGAL_CLI_DATE_HELP
        STORE_CLI_DB_HELP,
        f);
  // clang-format on
}

static int person_set_main(int argc, char **argv) {
  static const cli_opt opts[] = {STORE_CLI_DB_OPT,
                                 {"watchlist", 1, OPT_WATCHLIST},
                                 {"id", 1, OPT_ID},
                                 {"review-by", 1, OPT_REVIEW_BY},
                                 {"no-review", 0, OPT_NO_REVIEW},
                                 {"reason", 1, OPT_REASON},
                                 {NULL, 0, 0}};
  const char *cmd = "person set";
  const char *db = NULL, *watchlist = NULL, *name = NULL, *reason = NULL,
             *review_by = NULL;
  long id = 0;
  int dates = 0;
  cli_parser p;
  cli_parser_init(&p, argc, argv, cmd, opts);
  for (;;) {
    int o = cli_parse_next(&p);
    if (o == CLI_OPT_END)
      break;
    switch (o) {
    case CLI_OPT_HELP:
      person_set_usage(stdout);
      return CLI_OK;
    case CLI_OPT_ERROR:
      return cli_bad_value(cmd);
    case STORE_OPT_DB:
      db = p.arg;
      break;
    case OPT_WATCHLIST:
      watchlist = p.arg;
      break;
    case OPT_ID:
      if (cli_parse_long(p.arg, 1, LONG_MAX, "--id", &id) != 0)
        return cli_bad_value(cmd);
      break;
    case OPT_REVIEW_BY:
      if (legal_cli_date(cmd, "--review-by", p.arg) != 0)
        return cli_bad_value(cmd);
      review_by = p.arg;
      dates++;
      break;
    case OPT_NO_REVIEW:
      review_by = "";
      dates++;
      break;
    case OPT_REASON:
      if (!cli_json_utf8_arg(cmd, "--reason", p.arg))
        return cli_bad_value(cmd);
      reason = p.arg;
      break;
    case CLI_OPT_POSITIONAL:
      if (name) {
        cli_errorf(cmd, "unexpected argument '%s'", p.arg);
        return cli_bad_value(cmd);
      }
      name = p.arg;
      break;
    }
  }
  if (person_target_args(cmd, name, watchlist, id) != CLI_OK)
    return cli_bad_value(cmd);
  if (!reason && !review_by) {
    cli_errorf(cmd, "nothing to change: give --review-by, --no-review or "
                    "--reason");
    return cli_bad_value(cmd);
  }
  if (dates > 1) {
    cli_errorf(cmd, "give one of --review-by and --no-review, once");
    return cli_bad_value(cmd);
  }
  argus_store *s = NULL;
  if (store_cli_open(cmd, db, &s) != CLI_OK)
    return CLI_FAIL;
  argus_store_error err = {{0}};
  argus_store_person person;
  argus_err e = ARGUS_OK;
  int rc = person_find(cmd, s, watchlist, name, id, &person, &e, &err);
  if (e == ARGUS_OK && rc == CLI_OK)
    e = argus_store_person_set_review(s, person.id, reason, review_by, &err);
  if (e == ARGUS_OK && rc == CLI_OK)
    e = argus_store_person_get(s, person.id, &person, &err);
  argus_store_close(s);
  if (e != ARGUS_OK)
    return store_cli_error(cmd, e, &err);
  if (rc != CLI_OK)
    return rc;
  printf("updated '%s' (id %lld) in '%s': review by %s (%s)\n", person.name,
         (long long)person.id, person.watchlist,
         person.review_by[0] ? person.review_by : "-",
         argus_store_review_name(person.review));
  return CLI_OK;
}
