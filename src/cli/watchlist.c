/* `argus watchlist create|list|remove|set`: the watchlists of the store,
 * with their legal basis (purpose, legal reference, owner, expiry). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "argus/gallery.h"
#include "cli/cli_json.h"
#include "cli/legal_cli.h"
#include "cli/store_cli.h"

CLI_JSON_FN(watchlist_json, argus_store_watchlist, argus_store_watchlist_json)

static int wl_create_main(int argc, char **argv);
static void wl_create_usage(FILE *f);
static int wl_list_main(int argc, char **argv);
static void wl_list_usage(FILE *f);
static int wl_remove_main(int argc, char **argv);
static void wl_remove_usage(FILE *f);
static int wl_set_main(int argc, char **argv);
static void wl_set_usage(FILE *f);
static int wl_stats_main(int argc, char **argv);
static void wl_stats_usage(FILE *f);

static const cli_command wl_commands[] = {
    {"create", "create a watchlist", wl_create_main, wl_create_usage},
    {"list", "list the watchlists with their person counts", wl_list_main,
     wl_list_usage},
    {"remove", "delete a watchlist and everything enrolled in it",
     wl_remove_main, wl_remove_usage},
    {"set", "change a watchlist's threshold, flags, legal basis, four-eyes",
     wl_set_main, wl_set_usage},
    {"stats", "operators' verdicts: false-alarm rate, suggested threshold",
     wl_stats_main, wl_stats_usage},
    {NULL, NULL, NULL, NULL},
};

void cli_watchlist_usage(FILE *f) {
  // clang-format off
  fputs("Usage: argus watchlist SUBCOMMAND [ARGS...] [--db PATH]\n"
        "\n"
        "Watchlists group the persons that live video is matched against; each\n"
        "has its own similarity threshold and display colour.\n"
        "\n"
        "Subcommands:\n",
        f);
  cli_print_commands(f, wl_commands);
  fputs("\n"
        "Run 'argus watchlist SUBCOMMAND --help' for its options.\n",
        f);
  // clang-format on
}

int cli_watchlist_main(int argc, char **argv) {
  return store_cli_dispatch("watchlist", wl_commands, cli_watchlist_usage, argc,
                            argv);
}

/* Parses a threshold: a number in [-1, 1] or "default" (NAN). */
static int parse_threshold(const char *cmd, const char *s, double *out) {
  if (strcmp(s, "default") == 0) {
    *out = NAN;
    return 0;
  }
  char *end = NULL;
  double v = strtod(s, &end);
  if (end == s || *end != '\0' || !(v >= -1.0 && v <= 1.0)) {
    cli_errorf(cmd,
               "--threshold: '%s' is not a similarity in [-1, 1] or "
               "'default'",
               s);
    return -1;
  }
  *out = v;
  return 0;
}

enum {
  OPT_THRESHOLD = STORE_OPT_NEXT,
  OPT_COLOUR,
  OPT_FORCE,
  OPT_ACTIVE,
  OPT_FPIR,
  OPT_SIZE,
  OPT_MODELS,
  OPT_PURPOSE,
  OPT_LEGAL_REF,
  OPT_OWNER,
  OPT_EXPIRES,
  OPT_NO_EXPIRY,
  OPT_FOUR_EYES,
  OPT_NO_FOUR_EYES,
  OPT_NEGATIVES,
  OPT_TARGET_FAR
};

/* ---- verdict feedback options (create and set share them) ---- */
// clang-format off
#define VERDICT_OPTS                                                           \
  {"four-eyes", 0, OPT_FOUR_EYES}, {"no-four-eyes", 0, OPT_NO_FOUR_EYES},      \
  {"negatives", 1, OPT_NEGATIVES}

#define VERDICT_HELP                                                           \
  "  --four-eyes       an alert is confirmed only when two different\n"        \
  "                    operators confirm it; one rejection closes it\n"       \
  "  --no-four-eyes    one confirmation confirms (the default)\n"             \
  "  --negatives off|suppress|mark\n"                                          \
  "                    what a face nearer a rejected alert's face (a\n"       \
  "                    negative example of the person) than to the person\n"  \
  "                    does: no alert, audited (suppress, the default), an\n" \
  "                    alert marked as such (mark), or nothing (off)\n"
// clang-format on

/* One verdict option; 1 when `id` was one, 0 when not, -1: a bad value. */
static int verdict_option(const char *cmd, int id, const char *arg,
                          int *four_eyes, const char **negatives) {
  switch (id) {
  case OPT_FOUR_EYES:
  case OPT_NO_FOUR_EYES:
    *four_eyes = id == OPT_FOUR_EYES;
    return 1;
  case OPT_NEGATIVES:
    if (strcmp(arg, "off") != 0 && strcmp(arg, "suppress") != 0 &&
        strcmp(arg, "mark") != 0) {
      cli_errorf(cmd, "--negatives: '%s' is not off, suppress or mark", arg);
      return -1;
    }
    *negatives = arg;
    return 1;
  }
  return 0;
}
/* ---- end verdict feedback options ---- */

// clang-format off
/* The legal-basis options (create and set share them). */
#define LEGAL_OPTS                                                             \
  {"purpose", 1, OPT_PURPOSE}, {"legal-ref", 1, OPT_LEGAL_REF},                \
  {"owner", 1, OPT_OWNER}, {"expires", 1, OPT_EXPIRES}

#define LEGAL_HELP                                                             \
  "  --purpose TEXT    why the list exists (its lawful purpose)\n"             \
  "  --legal-ref TEXT  the legal basis: statute, court order, case number\n"   \
  "  --owner TEXT      who answers for the list\n"                            \
  "  --expires DATE    from then on the list matches nothing and is\n"        \
  "                    read-only (no enrolment, no change but a renewal of\n" \
  "                    the expiry, or deletion)\n"                            \
  LEGAL_CLI_DATE_HELP
// clang-format on

/* One legal-basis option into *in; 1 when `id` was one, 0 when not, -1 for
 * a bad value (printed). Texts are checked as the JSON writer needs them. */
static int legal_option(const char *cmd, int id, const char *arg,
                        argus_store_legal_in *in) {
  switch (id) {
  case OPT_PURPOSE:
    in->purpose = arg;
    return cli_json_utf8_arg(cmd, "--purpose", arg) ? 1 : -1;
  case OPT_LEGAL_REF:
    in->legal_ref = arg;
    return cli_json_utf8_arg(cmd, "--legal-ref", arg) ? 1 : -1;
  case OPT_OWNER:
    in->owner = arg;
    return cli_json_utf8_arg(cmd, "--owner", arg) ? 1 : -1;
  case OPT_EXPIRES:
    in->expires = arg;
    return legal_cli_date(cmd, "--expires", arg) == 0 ? 1 : -1;
  case OPT_NO_EXPIRY:
    in->expires = "";
    return 1;
  }
  return 0;
}

/* --fpir: the target share of strangers that raise an alarm. */
static int parse_fpir(const char *cmd, const char *s, double *out) {
  char *end = NULL;
  double v = strtod(s, &end);
  if (end == s || *end != '\0' || !(v > 0 && v < 1)) {
    cli_errorf(cmd, "--fpir: '%s' is not a rate in (0, 1), e.g. 0.001", s);
    return -1;
  }
  *out = v;
  return 0;
}

/* The threshold of a watchlist of n persons at FPIR `fpir` from the
 * embedder card (fr_feature) in `models` (NULL: $ARGUS_MODELS, else
 * ./models, then the installed cards). Prints the derivation. */
static int fpir_threshold(const char *cmd, const char *models, double fpir,
                          int64_t n, double *out) {
  if (!models)
    models = getenv("ARGUS_MODELS");
  if (!models)
    models = "models";
  char path[ARGUS_FACE_CARD_PATH];
  argus_face_error fe = {{0}};
  argus_face_card card;
  argus_err e =
      argus_face_card_find(models, "fr_feature", path, sizeof path, &fe);
  if (e == ARGUS_OK)
    e = argus_face_card_load(path, &card, &fe);
  if (e) {
    cli_errorf(cmd, "the embedder card: %s",
               fe.msg[0] ? fe.msg : argus_strerror(e));
    return -1;
  }
  float t = 0;
  double fmr = 0;
  argus_gallery_error ge = {{0}};
  e = argus_gallery_threshold_for_fpir(&card, fpir, n, &t, &fmr, &ge);
  if (e) {
    cli_errorf(cmd, "%s", ge.msg[0] ? ge.msg : argus_strerror(e));
    return -1;
  }
  printf("FPIR %g over %lld persons: per-comparison FMR %.2e, threshold "
         "%.4f (%s@%s card%s)\n",
         fpir, (long long)n, fmr, (double)t, card.name, card.version,
         card.provisional ? ", provisional calibration" : "");
  *out = t;
  return 0;
}

#define FPIR_HELP                                                              \
  "  --fpir R       set the threshold from a target false-positive\n"          \
  "                 identification rate R (e.g. 0.001: one stranger in\n"      \
  "                 a thousand raises an alarm) and the watchlist's size,\n"   \
  "                 from the embedder card's calibration (a bigger\n"          \
  "                 watchlist needs a higher threshold; set it again\n"        \
  "                 after large enrolments)\n"                                 \
  "  --size N       the size to assume (default: the persons enrolled now)\n"  \
  "  --models DIR   where the embedder card is (default $ARGUS_MODELS or\n"    \
  "                 ./models)\n"

/* ---- create ------------------------------------------------------------- */

static void wl_create_usage(FILE *f) {
  // clang-format off
  fputs("Usage: argus watchlist create NAME [--threshold T] [--colour #RRGGBB]\n"
        "                              [--fpir R --size N] [--purpose TEXT]\n"
        "                              [--legal-ref TEXT] [--owner TEXT]\n"
        "                              [--expires DATE] [--four-eyes]\n"
        "                              [--negatives off|suppress|mark]\n"
        "                              [--db PATH]\n"
        "\n"
        "Creates an empty watchlist.\n"
        "\n"
        "  --threshold T  similarity (-1..1) a match must reach; default: the\n"
        "                 embedder's calibrated threshold (see its model card)\n"
        "  --colour C     display colour of its alerts (default #e53935)\n"
        LEGAL_HELP
        VERDICT_HELP
        FPIR_HELP
        STORE_CLI_DB_HELP,
        f);
  // clang-format on
}

static int wl_create_main(int argc, char **argv) {
  static const cli_opt opts[] = {STORE_CLI_DB_OPT,
                                 {"threshold", 1, OPT_THRESHOLD},
                                 {"colour", 1, OPT_COLOUR},
                                 {"color", 1, OPT_COLOUR},
                                 {"fpir", 1, OPT_FPIR},
                                 {"size", 1, OPT_SIZE},
                                 {"models", 1, OPT_MODELS},
                                 LEGAL_OPTS,
                                 VERDICT_OPTS,
                                 {NULL, 0, 0}};
  const char *cmd = "watchlist create";
  int four_eyes = -1;
  const char *negatives = NULL;
  const char *db = NULL, *name = NULL, *colour = NULL, *models = NULL;
  double threshold = NAN, fpir = 0;
  long size = 0;
  argus_store_legal_in legal = {NULL, NULL, NULL, NULL};
  cli_parser p;
  cli_parser_init(&p, argc, argv, cmd, opts);
  for (;;) {
    int id = cli_parse_next(&p);
    if (id == CLI_OPT_END)
      break;
    int lr = legal_option(cmd, id, p.arg, &legal);
    if (lr == 0)
      lr = verdict_option(cmd, id, p.arg, &four_eyes, &negatives);
    if (lr < 0)
      return cli_bad_value(cmd);
    if (lr > 0)
      continue;
    switch (id) {
    case CLI_OPT_HELP:
      wl_create_usage(stdout);
      return CLI_OK;
    case CLI_OPT_ERROR:
      return cli_bad_value(cmd);
    case STORE_OPT_DB:
      db = p.arg;
      break;
    case OPT_COLOUR:
      colour = p.arg;
      break;
    case OPT_THRESHOLD:
      if (parse_threshold(cmd, p.arg, &threshold) != 0)
        return cli_bad_value(cmd);
      break;
    case OPT_FPIR:
      if (parse_fpir(cmd, p.arg, &fpir) != 0)
        return cli_bad_value(cmd);
      break;
    case OPT_SIZE:
      if (cli_parse_long(p.arg, 1, 1000000000L, "--size", &size))
        return cli_bad_value(cmd);
      break;
    case OPT_MODELS:
      models = p.arg;
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
  if (!name) {
    cli_errorf(cmd, "missing NAME");
    return cli_bad_value(cmd);
  }
  if (!cli_json_utf8_arg(cmd, "NAME", name))
    return cli_bad_value(cmd);
  if (fpir > 0 && (size == 0 || !isnan(threshold))) {
    cli_errorf(cmd, "--fpir needs --size N (an empty watchlist has no size "
                    "yet) and no --threshold");
    return cli_bad_value(cmd);
  }
  if (fpir > 0 && fpir_threshold(cmd, models, fpir, size, &threshold) != 0)
    return CLI_FAIL;
  argus_store *s = NULL;
  if (store_cli_open(cmd, db, &s) != CLI_OK)
    return CLI_FAIL;
  argus_store_error err = {{0}};
  argus_store_id id = 0;
  argus_err e = argus_store_watchlist_create_legal(s, name, threshold, colour,
                                                   &legal, &id, &err);
  if (e == ARGUS_OK && (four_eyes >= 0 || negatives))
    e = argus_store_watchlist_set_verdicts(s, name, four_eyes, negatives, &err);
  argus_store_close(s);
  if (e != ARGUS_OK)
    return store_cli_error(cmd, e, &err);
  char t[32];
  printf("created watchlist '%s' (id %lld, threshold %s%s%s)\n", name,
         (long long)id, store_cli_threshold_text(threshold, t, sizeof t),
         legal.expires ? ", expires " : "", legal.expires ? legal.expires : "");
  return CLI_OK;
}

/* ---- list --------------------------------------------------------------- */

static void wl_list_usage(FILE *f) {
  // clang-format off
  fputs("Usage: argus watchlist list [--json] [--db PATH]\n"
        "\n"
        "Lists the watchlists: name, persons, threshold, colour, active, created,\n"
        "state (active, inactive, or expired: matches nothing and is read-only),\n"
        "expiry, owner, legal reference and purpose.\n"
        "\n"
        "  --json        one JSON array of objects\n"
        STORE_CLI_DB_HELP,
        f);
  // clang-format on
}

static int wl_list_main(int argc, char **argv) {
  static const cli_opt opts[] = {
      STORE_CLI_DB_OPT, {"json", 0, STORE_OPT_JSON}, {NULL, 0, 0}};
  const char *cmd = "watchlist list";
  const char *db = NULL;
  int json = 0;
  cli_parser p;
  cli_parser_init(&p, argc, argv, cmd, opts);
  for (;;) {
    int id = cli_parse_next(&p);
    if (id == CLI_OPT_END)
      break;
    switch (id) {
    case CLI_OPT_HELP:
      wl_list_usage(stdout);
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
      cli_errorf(cmd, "unexpected argument '%s'", p.arg);
      return cli_bad_value(cmd);
    }
  }
  argus_store *s = NULL;
  if (store_cli_open_existing(cmd, db, &s) != CLI_OK)
    return CLI_FAIL;
  argus_store_error err = {{0}};
  argus_store_watchlist *w = NULL;
  size_t n = 0;
  argus_err e = argus_store_watchlist_list(s, &w, &n, &err);
  argus_store_close(s);
  if (e != ARGUS_OK)
    return store_cli_error(cmd, e, &err);
  int rc = CLI_OK;
  if (json) {
    if (cli_json_print_array(stdout, cmd, watchlist_json, w, n, sizeof *w))
      rc = CLI_FAIL;
  } else if (n == 0) {
    printf("no watchlists (create one with 'argus watchlist create NAME')\n");
  } else {
    int width = 4;
    for (size_t i = 0; i < n; i++)
      if ((int)strlen(w[i].name) > width)
        width = (int)strlen(w[i].name);
    printf("%-*s  %8s  %9s  %-7s  %-6s  %-19s  %-8s  %-24s  %-12s  %-12s  "
           "%s\n",
           width, "NAME", "PERSONS", "THRESHOLD", "COLOUR", "ACTIVE", "CREATED",
           "STATE", "EXPIRES", "OWNER", "LEGAL REF", "PURPOSE");
    for (size_t i = 0; i < n; i++) {
      char t[32];
      const char *state = w[i].expired  ? "expired"
                          : w[i].active ? "active"
                                        : "inactive";
      printf("%-*s  %8lld  %9s  %-7s  %-6s  %-19.19s  %-8s  %-24s  %-12s  "
             "%-12s  %s\n",
             width, w[i].name, (long long)w[i].persons,
             store_cli_threshold_text(w[i].threshold, t, sizeof t), w[i].colour,
             w[i].active ? "yes" : "no", w[i].created, state,
             w[i].expires[0] ? w[i].expires : "-",
             w[i].owner[0] ? w[i].owner : "-",
             w[i].legal_ref[0] ? w[i].legal_ref : "-",
             w[i].purpose[0] ? w[i].purpose : "-");
    }
  }
  argus_store_free(w);
  return rc;
}

/* ---- remove ------------------------------------------------------------- */

static void wl_remove_usage(FILE *f) {
  // clang-format off
  fputs("Usage: argus watchlist remove NAME [--force] [--db PATH]\n"
        "\n"
        "Deletes a watchlist with its persons, photos, templates and face crops.\n"
        "Alerts about its persons stay (with the names) until retention removes\n"
        "them.\n"
        "\n"
        "  --force       needed when the watchlist still has persons\n"
        STORE_CLI_DB_HELP,
        f);
  // clang-format on
}

static int wl_remove_main(int argc, char **argv) {
  static const cli_opt opts[] = {
      STORE_CLI_DB_OPT, {"force", 0, OPT_FORCE}, {NULL, 0, 0}};
  const char *cmd = "watchlist remove";
  const char *db = NULL, *name = NULL;
  int force = 0;
  cli_parser p;
  cli_parser_init(&p, argc, argv, cmd, opts);
  for (;;) {
    int id = cli_parse_next(&p);
    if (id == CLI_OPT_END)
      break;
    switch (id) {
    case CLI_OPT_HELP:
      wl_remove_usage(stdout);
      return CLI_OK;
    case CLI_OPT_ERROR:
      return cli_bad_value(cmd);
    case STORE_OPT_DB:
      db = p.arg;
      break;
    case OPT_FORCE:
      force = 1;
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
  if (!name) {
    cli_errorf(cmd, "missing NAME");
    return cli_bad_value(cmd);
  }
  argus_store *s = NULL;
  if (store_cli_open(cmd, db, &s) != CLI_OK)
    return CLI_FAIL;
  argus_store_error err = {{0}};
  argus_store_watchlist w;
  argus_err e = argus_store_watchlist_get(s, name, &w, &err);
  if (e == ARGUS_OK && w.persons > 0 && !force) {
    argus_store_close(s);
    cli_errorf(cmd,
               "watchlist '%s' has %lld persons; add --force to delete it "
               "with them",
               name, (long long)w.persons);
    return CLI_FAIL;
  }
  if (e == ARGUS_OK)
    e = argus_store_watchlist_delete(s, name, &err);
  argus_store_close(s);
  if (e != ARGUS_OK)
    return store_cli_error(cmd, e, &err);
  printf("removed watchlist '%s' (%lld persons)\n", name, (long long)w.persons);
  return CLI_OK;
}

/* ---- set ---------------------------------------------------------------- */

static void wl_set_usage(FILE *f) {
  // clang-format off
  fputs("Usage: argus watchlist set NAME [--threshold T|default]\n"
        "                           [--fpir R [--size N]]\n"
        "                           [--active yes|no] [--purpose TEXT]\n"
        "                           [--legal-ref TEXT] [--owner TEXT]\n"
        "                           [--expires DATE | --no-expiry]\n"
        "                           [--four-eyes | --no-four-eyes]\n"
        "                           [--negatives off|suppress|mark] [--db PATH]\n"
        "\n"
        "Changes a watchlist. An inactive watchlist stays stored but is not\n"
        "searched. An expired watchlist takes no change but a renewal: a new\n"
        "--expires DATE or --no-expiry (other options may come with it).\n"
        "\n"
        LEGAL_HELP
        "  --no-expiry       the list no longer expires\n"
        VERDICT_HELP
        FPIR_HELP
        STORE_CLI_DB_HELP,
        f);
  // clang-format on
}

static int wl_set_main(int argc, char **argv) {
  static const cli_opt opts[] = {STORE_CLI_DB_OPT,
                                 {"threshold", 1, OPT_THRESHOLD},
                                 {"active", 1, OPT_ACTIVE},
                                 {"fpir", 1, OPT_FPIR},
                                 {"size", 1, OPT_SIZE},
                                 {"models", 1, OPT_MODELS},
                                 LEGAL_OPTS,
                                 {"no-expiry", 0, OPT_NO_EXPIRY},
                                 VERDICT_OPTS,
                                 {NULL, 0, 0}};
  const char *cmd = "watchlist set";
  int four_eyes = -1;
  const char *negatives = NULL;
  const char *db = NULL, *name = NULL, *models = NULL;
  double threshold = NAN, fpir = 0;
  long size = 0;
  int set_threshold = 0, active = -1, expiry_opts = 0;
  argus_store_legal_in legal = {NULL, NULL, NULL, NULL};
  cli_parser p;
  cli_parser_init(&p, argc, argv, cmd, opts);
  for (;;) {
    int id = cli_parse_next(&p);
    if (id == CLI_OPT_END)
      break;
    int lr = legal_option(cmd, id, p.arg, &legal);
    if (lr == 0)
      lr = verdict_option(cmd, id, p.arg, &four_eyes, &negatives);
    if (lr < 0)
      return cli_bad_value(cmd);
    expiry_opts += id == OPT_EXPIRES || id == OPT_NO_EXPIRY;
    if (lr > 0)
      continue;
    switch (id) {
    case CLI_OPT_HELP:
      wl_set_usage(stdout);
      return CLI_OK;
    case CLI_OPT_ERROR:
      return cli_bad_value(cmd);
    case STORE_OPT_DB:
      db = p.arg;
      break;
    case OPT_THRESHOLD:
      if (parse_threshold(cmd, p.arg, &threshold) != 0)
        return cli_bad_value(cmd);
      set_threshold = 1;
      break;
    case OPT_FPIR:
      if (parse_fpir(cmd, p.arg, &fpir) != 0)
        return cli_bad_value(cmd);
      break;
    case OPT_SIZE:
      if (cli_parse_long(p.arg, 1, 1000000000L, "--size", &size))
        return cli_bad_value(cmd);
      break;
    case OPT_MODELS:
      models = p.arg;
      break;
    case OPT_ACTIVE:
      if (strcmp(p.arg, "yes") == 0 || strcmp(p.arg, "true") == 0)
        active = 1;
      else if (strcmp(p.arg, "no") == 0 || strcmp(p.arg, "false") == 0)
        active = 0;
      else {
        cli_errorf(cmd, "--active: '%s' is not yes or no", p.arg);
        return cli_bad_value(cmd);
      }
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
  if (!name) {
    cli_errorf(cmd, "missing NAME");
    return cli_bad_value(cmd);
  }
  int set_legal =
      legal.purpose || legal.legal_ref || legal.owner || legal.expires;
  if (!set_threshold && active < 0 && fpir == 0 && !set_legal &&
      four_eyes < 0 && !negatives) {
    cli_errorf(cmd, "nothing to change: give --threshold, --fpir, --active, "
                    "--purpose, --legal-ref, --owner, --expires, "
                    "--no-expiry, --four-eyes, --no-four-eyes or "
                    "--negatives");
    return cli_bad_value(cmd);
  }
  if (expiry_opts > 1) {
    cli_errorf(cmd, "give one of --expires and --no-expiry, once");
    return cli_bad_value(cmd);
  }
  if (fpir > 0 && set_threshold) {
    cli_errorf(cmd, "--fpir and --threshold both set the threshold: give one");
    return cli_bad_value(cmd);
  }
  argus_store *s = NULL;
  if (store_cli_open(cmd, db, &s) != CLI_OK)
    return CLI_FAIL;
  argus_store_error err = {{0}};
  argus_err e = ARGUS_OK;
  /* The legal basis first: a renewal is what lets an expired list take
   * the other changes. */
  if (set_legal)
    e = argus_store_watchlist_set_legal(s, name, &legal, &err);
  if (e != ARGUS_OK) {
    argus_store_close(s);
    return store_cli_error(cmd, e, &err);
  }
  if (fpir > 0) {
    argus_store_watchlist w;
    e = argus_store_watchlist_get(s, name, &w, &err);
    if (e != ARGUS_OK) {
      argus_store_close(s);
      return store_cli_error(cmd, e, &err);
    }
    if (size == 0)
      size = (long)w.persons;
    if (size == 0) {
      argus_store_close(s);
      cli_errorf(cmd, "watchlist '%s' is empty: give --size N for --fpir",
                 name);
      return CLI_FAIL;
    }
    if (fpir_threshold(cmd, models, fpir, size, &threshold) != 0) {
      argus_store_close(s);
      return CLI_FAIL;
    }
    set_threshold = 1;
  }
  if (set_threshold)
    e = argus_store_watchlist_set_threshold(s, name, threshold, &err);
  if (e == ARGUS_OK && active >= 0)
    e = argus_store_watchlist_set_active(s, name, active, &err);
  if (e == ARGUS_OK && (four_eyes >= 0 || negatives))
    e = argus_store_watchlist_set_verdicts(s, name, four_eyes, negatives, &err);
  argus_store_close(s);
  if (e != ARGUS_OK)
    return store_cli_error(cmd, e, &err);
  printf("updated watchlist '%s'\n", name);
  return CLI_OK;
}

/* ---- stats (verdict feedback) --------------------------------------------- */

static void wl_stats_usage(FILE *f) {
  // clang-format off
  fputs("Usage: argus watchlist stats NAME [--target-far X] [--models DIR]\n"
        "                             [--json] [--db PATH]\n"
        "\n"
        "What the operators' verdicts say about a watchlist: its alerts\n"
        "(pending, confirmed, rejected), the false-alarm rate at its current\n"
        "threshold (rejected / decided among the alerts scoring at or above\n"
        "it), its negative examples, the matches they suppressed or marked,\n"
        "and two suggested thresholds for a target false-alarm rate: one from\n"
        "the verdicts (the lowest threshold at which the rejected share of the\n"
        "decided alerts at or above it is at most the target), one from the\n"
        "embedder card's calibration (FPIR = target over the watchlist's\n"
        "persons, as --fpir of 'argus watchlist set').\n"
        "\n"
        "  --target-far X  the false-alarm rate aimed at (default 0.05)\n"
        "  --models DIR    where the embedder card is (default $ARGUS_MODELS\n"
        "                  or ./models)\n"
        "  --json          one JSON object\n"
        STORE_CLI_DB_HELP,
        f);
  // clang-format on
}

/* The card's suggestion (NAN when no card): threshold for FPIR `far` over
 * n persons, and the card's id and default threshold into the buffers. */
static double card_threshold(const char *models, double far, int64_t n,
                             char *card_id, size_t size, double *deflt) {
  card_id[0] = '\0';
  *deflt = NAN;
  if (!models)
    models = getenv("ARGUS_MODELS");
  if (!models)
    models = "models";
  char path[ARGUS_FACE_CARD_PATH];
  argus_face_error fe = {{0}};
  argus_face_card card;
  if (argus_face_card_find(models, "fr_feature", path, sizeof path, &fe) !=
          ARGUS_OK ||
      argus_face_card_load(path, &card, &fe) != ARGUS_OK)
    return NAN;
  snprintf(card_id, size, "%s@%s", card.name, card.version);
  argus_gallery_config gc;
  if (argus_gallery_config_from_card(&card, &gc, NULL) == ARGUS_OK)
    *deflt = gc.default_threshold;
  float t = 0;
  if (n < 1 || argus_gallery_threshold_for_fpir(&card, far, n, &t, NULL,
                                                NULL) != ARGUS_OK)
    return NAN;
  return t;
}

static void json_num_or_null(argus_json *j, const char *k, double v) {
  argus_json_num(j, k, v, -6); /* NAN: null */
}

static int wl_stats_main(int argc, char **argv) {
  static const cli_opt opts[] = {STORE_CLI_DB_OPT,
                                 {"json", 0, STORE_OPT_JSON},
                                 {"target-far", 1, OPT_TARGET_FAR},
                                 {"models", 1, OPT_MODELS},
                                 {NULL, 0, 0}};
  const char *cmd = "watchlist stats";
  const char *db = NULL, *name = NULL, *models = NULL;
  double target = 0.05;
  int json = 0;
  cli_parser p;
  cli_parser_init(&p, argc, argv, cmd, opts);
  for (;;) {
    int id = cli_parse_next(&p);
    if (id == CLI_OPT_END)
      break;
    switch (id) {
    case CLI_OPT_HELP:
      wl_stats_usage(stdout);
      return CLI_OK;
    case CLI_OPT_ERROR:
      return cli_bad_value(cmd);
    case STORE_OPT_DB:
      db = p.arg;
      break;
    case STORE_OPT_JSON:
      json = 1;
      break;
    case OPT_MODELS:
      models = p.arg;
      break;
    case OPT_TARGET_FAR: {
      char *end = NULL;
      target = strtod(p.arg, &end);
      if (end == p.arg || *end != '\0' || !(target > 0 && target < 1)) {
        cli_errorf(cmd, "--target-far: '%s' is not a rate in (0, 1)", p.arg);
        return cli_bad_value(cmd);
      }
      break;
    }
    case CLI_OPT_POSITIONAL:
      if (name) {
        cli_errorf(cmd, "unexpected argument '%s'", p.arg);
        return cli_bad_value(cmd);
      }
      name = p.arg;
      break;
    }
  }
  if (!name) {
    cli_errorf(cmd, "missing NAME");
    return cli_bad_value(cmd);
  }
  argus_store *s = NULL;
  if (store_cli_open_existing(cmd, db, &s) != CLI_OK)
    return CLI_FAIL;
  argus_store_error err = {{0}};
  argus_store_watchlist w;
  memset(&w, 0, sizeof w);
  w.threshold = NAN;
  argus_err e = argus_store_watchlist_get(s, name, &w, &err);
  char card_id[2 * ARGUS_STORE_NAME_MAX + 2];
  double deflt = NAN, card_t = NAN;
  if (e == ARGUS_OK)
    card_t = card_threshold(models, target, w.persons, card_id, sizeof card_id,
                            &deflt);
  /* The threshold in effect: the list's own, else the card's default. */
  double thr = isnan(w.threshold) ? deflt : w.threshold;
  argus_store_verdict_stats st;
  if (e == ARGUS_OK)
    e = argus_store_verdict_stats_get(s, name, thr, target, &st, &err);
  argus_store_close(s);
  if (e != ARGUS_OK)
    return store_cli_error(cmd, e, &err);
  if (json) {
    char buf[4096];
    argus_json j;
    argus_json_init(&j, buf, sizeof buf);
    argus_json_obj_begin(&j, NULL);
    argus_json_str(&j, "watchlist", w.name);
    argus_json_int(&j, "four_eyes", w.four_eyes);
    argus_json_str(&j, "negatives_setting", w.negatives);
    argus_json_int(&j, "alerts", st.alerts);
    argus_json_int(&j, "pending", st.pending);
    argus_json_int(&j, "awaiting_second", st.awaiting_second);
    argus_json_int(&j, "confirmed", st.confirmed);
    argus_json_int(&j, "rejected", st.rejected);
    json_num_or_null(&j, "threshold", thr);
    argus_json_int(&j, "confirmed_at_threshold", st.confirmed_at);
    argus_json_int(&j, "rejected_at_threshold", st.rejected_at);
    json_num_or_null(&j, "false_alarm_rate", st.far);
    argus_json_int(&j, "negatives", st.negatives);
    argus_json_int(&j, "suppressions", st.suppressions);
    argus_json_int(&j, "marked", st.marked);
    argus_json_num(&j, "target_far", target, -6);
    json_num_or_null(&j, "suggested_from_verdicts", st.suggested);
    argus_json_int(&j, "decided", st.decided);
    json_num_or_null(&j, "suggested_from_card", card_t);
    if (card_id[0])
      argus_json_str(&j, "card", card_id);
    else
      argus_json_null(&j, "card");
    argus_json_obj_end(&j);
    if (argus_json_finish(&j) == 0) {
      cli_errorf(cmd, "the JSON output does not fit");
      return CLI_FAIL;
    }
    printf("%s\n", buf);
    return CLI_OK;
  }
  printf("watchlist '%s' (four-eyes %s, negatives %s)\n", w.name,
         w.four_eyes ? "on" : "off", w.negatives);
  printf("alerts: %lld (pending %lld", (long long)st.alerts,
         (long long)st.pending);
  if (st.awaiting_second)
    printf(", of which %lld await a second confirmation",
           (long long)st.awaiting_second);
  printf(", confirmed %lld, rejected %lld)\n", (long long)st.confirmed,
         (long long)st.rejected);
  if (isnan(thr))
    printf("threshold: unknown (no own threshold and no card)\n");
  else
    printf("threshold: %.4f%s\n", thr,
           isnan(w.threshold) ? " (the card's default)" : "");
  if (isnan(st.far))
    printf("false-alarm rate at it: none decided at or above it\n");
  else
    printf("false-alarm rate at it: %.4f (%lld rejected of %lld decided)\n",
           st.far, (long long)st.rejected_at,
           (long long)(st.rejected_at + st.confirmed_at));
  printf("negative examples: %lld; matches suppressed by them: %lld; "
         "alerts marked by them: %lld\n",
         (long long)st.negatives, (long long)st.suppressions,
         (long long)st.marked);
  printf("suggested threshold for a false-alarm rate of %g:\n", target);
  if (isnan(st.suggested))
    printf("  from the verdicts: none (%lld decided alerts; no threshold "
           "keeps the rejected share at or below the target)\n",
           (long long)st.decided);
  else
    printf("  from the verdicts: %.4f (%lld decided alerts of this "
           "watchlist)\n",
           st.suggested, (long long)st.decided);
  if (isnan(card_t))
    printf("  from the model card: none (%s)\n",
           card_id[0] ? "the watchlist has no persons"
                      : "no embedder card found");
  else
    printf("  from the model card: %.4f (%s calibration, FPIR %g over %lld "
           "persons)\n",
           card_t, card_id, target, (long long)w.persons);
  return CLI_OK;
}
