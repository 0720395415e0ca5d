/* `argus person list|remove`: the persons enrolled in watchlists. (`person
 * add` needs the face engine: it lives in enrol.c.) */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_json.h"
#include "cli/gallery_cli.h"
#include "cli/store_cli.h"

static int person_list_main(int argc, char **argv);
static void person_list_usage(FILE *f);
static int person_remove_main(int argc, char **argv);
static void person_remove_usage(FILE *f);

static const cli_command person_commands[] = {
    {"add", "enrol a person with photos (quality gate)", cli_person_add_main,
     cli_person_add_usage},
    {"list", "list the persons of a watchlist", person_list_main,
     person_list_usage},
    {"remove", "purge a person: photos, templates and face crops",
     person_remove_main, person_remove_usage},
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

enum { OPT_WATCHLIST = STORE_OPT_NEXT, OPT_ID };

static void person_list_usage(FILE *f) {
  // clang-format off
  fputs("Usage: argus person list [--watchlist W] [--json] [--db PATH]\n"
        "\n"
        "Lists persons (of one watchlist, or of all): id, name, external id,\n"
        "photos, templates, created.\n"
        "\n"
        "  --watchlist W  only the persons of watchlist W\n"
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
                                 {NULL, 0, 0}};
  const char *cmd = "person list";
  const char *db = NULL, *watchlist = NULL;
  int json = 0;
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
  int rc = CLI_OK;
  if (json) {
    if (cli_json_print_array(stdout, cmd, person_json, list, n, sizeof *list))
      rc = CLI_FAIL;
  } else if (n == 0) {
    printf("no persons%s%s%s\n", watchlist ? " in '" : "",
           watchlist ? watchlist : "", watchlist ? "'" : "");
  } else {
    int wn = 4, ww = 9;
    for (size_t i = 0; i < n; i++) {
      if ((int)strlen(list[i].name) > wn)
        wn = (int)strlen(list[i].name);
      if ((int)strlen(list[i].watchlist) > ww)
        ww = (int)strlen(list[i].watchlist);
    }
    printf("%6s  %-*s  %-*s  %-12s  %6s  %9s  %s\n", "ID", ww, "WATCHLIST", wn,
           "NAME", "EXTERNAL ID", "PHOTOS", "TEMPLATES", "CREATED");
    for (size_t i = 0; i < n; i++)
      printf("%6lld  %-*s  %-*s  %-12s  %6lld  %9lld  %.19s\n",
             (long long)list[i].id, ww, list[i].watchlist, wn, list[i].name,
             list[i].external_id[0] ? list[i].external_id : "-",
             (long long)list[i].photos, (long long)list[i].templates,
             list[i].created);
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
  if ((name != NULL) == (id != 0)) {
    cli_errorf(cmd, "give either NAME (with --watchlist) or --id");
    return cli_bad_value(cmd);
  }
  if (name && !watchlist) {
    cli_errorf(cmd, "NAME needs --watchlist");
    return cli_bad_value(cmd);
  }
  argus_store *s = NULL;
  if (store_cli_open(cmd, db, &s) != CLI_OK)
    return CLI_FAIL;
  argus_store_error err = {{0}};
  argus_store_person person;
  argus_err e = ARGUS_OK;
  int rc = CLI_OK;
  if (name) {
    argus_store_person *list = NULL;
    size_t n = 0;
    e = argus_store_person_list(s, watchlist, name, &list, &n, &err);
    if (e == ARGUS_OK && n == 0) {
      cli_errorf(cmd, "no person named '%s' in watchlist '%s'", name,
                 watchlist);
      rc = CLI_FAIL;
    } else if (e == ARGUS_OK && n > 1) {
      cli_errorf(cmd, "%zu persons named '%s' in watchlist '%s'; use --id:", n,
                 name, watchlist);
      for (size_t i = 0; i < n; i++)
        fprintf(stderr, "  --id %lld  (external id %s, %lld photos)\n",
                (long long)list[i].id,
                list[i].external_id[0] ? list[i].external_id : "-",
                (long long)list[i].photos);
      rc = CLI_FAIL;
    } else if (e == ARGUS_OK) {
      person = list[0];
    }
    argus_store_free(list);
  } else {
    e = argus_store_person_get(s, (argus_store_id)id, &person, &err);
    if (e == ARGUS_OK && watchlist && strcmp(person.watchlist, watchlist)) {
      cli_errorf(cmd, "person %ld is in watchlist '%s', not '%s'", id,
                 person.watchlist, watchlist);
      rc = CLI_FAIL;
    }
  }
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
