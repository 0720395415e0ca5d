/* `argus reindex`: templates of the current embedder made from the stored
 * face crops of photos that have none (after a model change). */
#include <stdlib.h>
#include <string.h>

#include "cli/cli_json.h"
#include "cli/gallery_cli.h"

enum { OPT_BATCH = GALLERY_OPT_NEXT, OPT_DROP, OPT_MODEL };

void cli_reindex_usage(FILE *f) {
  // clang-format off
  fputs("Usage: argus reindex [--model ID] [--batch N] [--drop MODEL_ID] [--json]\n"
        "\n"
        "Gives every enrolled photo a template of the current embedder (the model\n"
        "of --models), made from its stored face crop: the face is detected again\n"
        "in the crop, aligned and embedded. Searches only use templates of the\n"
        "current model, so run this after changing the model. Works in batches,\n"
        "each stored in one transaction: an interrupted reindex (Ctrl-C) resumes\n"
        "where it stopped when run again. Photos whose crop is missing, damaged or\n"
        "shows no face are counted and left without a template.\n"
        "\n"
        "  --model ID        the embedder to move to, name@version: the card NAME\n"
        "                    (in --models or share/models), or the plug-in of\n"
        "                    --plugin; refused when what loads has another id\n"
        "  --batch N         photos per transaction (default 64)\n"
        "  --drop MODEL_ID   afterwards, delete the templates of that older model\n"
        "                    (name@version, e.g. fr_feature@old)\n"
        "  --db PATH         the database (default: $XDG_DATA_HOME/argus/argus.db\n"
        "                    or ~/.local/share/argus/argus.db)\n",
        f);
  face_cli_usage_common(f, 0);
  // clang-format on
}

static int on_progress(void *user, int64_t done, int64_t total) {
  cli_progress_update(user, done, total, NULL, done == total);
  return argus_interrupted();
}

/* What `reindex --json` prints. */
typedef struct reindex_rec {
  const char *model;
  const argus_gallery_reindex_report *rep;
  int64_t templates, other_models, dropped;
  double seconds;
} reindex_rec;

static void reindex_json(const void *rec, argus_json *j) {
  const reindex_rec *r = rec;
  argus_json_obj_begin(j, NULL);
  argus_json_str(j, "model", r->model);
  argus_gallery_reindex_report_json_members(r->rep, j);
  argus_json_int(j, "templates", r->templates);
  argus_json_int(j, "other_models", r->other_models);
  argus_json_int(j, "dropped", r->dropped);
  argus_json_num(j, "seconds", r->seconds, 3);
  argus_json_obj_end(j);
}

int cli_reindex_main(int argc, char **argv) {
  static const cli_opt opts[] = {FACE_CLI_OPTS,
                                 STORE_CLI_DB_OPT,
                                 {"batch", 1, OPT_BATCH},
                                 {"drop", 1, OPT_DROP},
                                 {"model", 1, OPT_MODEL},
                                 {NULL, 0, 0}};
  const char *cmd = "reindex";
  gallery_cli g;
  memset(&g, 0, sizeof g);
  face_cli_init(&g.face, cmd);
  const char *db = NULL, *drop = NULL, *model = NULL;
  int batch = 64;
  cli_parser p;
  cli_parser_init(&p, argc, argv, cmd, opts);
  for (;;) {
    int id = cli_parse_next(&p);
    if (id == CLI_OPT_END)
      break;
    switch (id) {
    case CLI_OPT_HELP: cli_reindex_usage(stdout); return CLI_OK;
    case CLI_OPT_ERROR: return cli_bad_value(cmd);
    case CLI_OPT_POSITIONAL:
      cli_errorf(cmd, "unexpected argument '%s'", p.arg);
      return cli_bad_value(cmd);
    case STORE_OPT_DB: db = p.arg; continue;
    case OPT_DROP: drop = p.arg; continue;
    case OPT_MODEL: model = p.arg; continue;
    case OPT_BATCH:
      if (cli_parse_int(p.arg, 1, 4096, "--batch", &batch))
        return cli_bad_value(cmd);
      continue;
    }
    if (face_cli_option(&g.face, id, p.arg) < 0)
      return cli_bad_value(cmd);
  }
  char dname[ARGUS_STORE_NAME_MAX] = "", dversion[ARGUS_STORE_NAME_MAX] = "";
  if (drop && argus_store_model_id_split(drop, dname, dversion) != ARGUS_OK) {
    cli_errorf(cmd, "--drop: '%s' is not a model id name@version", drop);
    return cli_bad_value(cmd);
  }
  /* --model name@version: the embedder card `name`, unless a plug-in is
   * given (its id is checked below either way). */
  char mname[ARGUS_STORE_NAME_MAX] = "", mversion[ARGUS_STORE_NAME_MAX] = "";
  if (model && argus_store_model_id_split(model, mname, mversion) != ARGUS_OK) {
    cli_errorf(cmd, "--model: '%s' is not a model id name@version", model);
    return cli_bad_value(cmd);
  }
  if (model && !g.face.plugin && !getenv("ARGUS_PLUGIN"))
    g.face.embedder = mname;
  int rc = CLI_FAIL;
  if (gallery_cli_open(&g, db, 1, 0) != CLI_OK)
    goto out;
  const argus_gallery_config *cfg = argus_gallery_get_config(g.gallery);
  if (model && strcmp(model, cfg->model_id) != 0) {
    cli_errorf(cmd,
               "--model: the embedder loaded is %s, not %s (the card "
               "%s.card.json or the plug-in names another version)",
               cfg->model_id, model, mname);
    rc = CLI_USAGE;
    goto out;
  }
  if (drop && strcmp(drop, cfg->model_id) == 0) {
    cli_errorf(cmd, "--drop: %s is the current model", drop);
    rc = CLI_USAGE;
    goto out;
  }
  cli_progress prog;
  cli_progress_init(&prog, "reindex", "photos");
  argus_gallery_reindex_report rep;
  argus_gallery_error gerr = {{0}};
  uint64_t t0 = argus_time_ns();
  argus_interrupt_install(); /* SIGINT/SIGTERM: stop after this batch */
  argus_err e = argus_gallery_reindex(g.gallery, g.face.engine, NULL, batch,
                                      on_progress, &prog, &rep, &gerr);
  argus_interrupt_restore();
  cli_progress_end(&prog);
  double secs = (double)(argus_time_ns() - t0) * 1e-9;
  if (e) {
    gallery_cli_error(cmd, e, &gerr);
    goto out;
  }
  argus_store_error se = {{0}};
  int64_t have = 0, all = 0, dropped = 0;
  const argus_store_model cur = *argus_gallery_model(g.gallery);
  if (drop && !rep.stopped) {
    argus_store_model dm = {dname, dversion, 0};
    if ((e = argus_store_template_delete_model(g.store, &dm, &dropped, &se))) {
      store_cli_error(cmd, e, &se);
      goto out;
    }
  }
  if ((e = argus_store_template_count(g.store, &cur, &have, &se)) ||
      (e = argus_store_template_count(g.store, NULL, &all, &se))) {
    store_cli_error(cmd, e, &se);
    goto out;
  }
  if (g.face.json) {
    reindex_rec r = {cfg->model_id, &rep, have, all - have, dropped, secs};
    if (cli_json_print(stdout, cmd, reindex_json, &r) != 0)
      goto out;
    fputc('\n', stdout);
  } else {
    printf("reindex to %s: %lld of %lld photos embedded, %lld failed, in "
           "%.1f s\n",
           cfg->model_id, (long long)rep.embedded, (long long)rep.total,
           (long long)rep.failed, secs);
    if (rep.failed)
      printf("  first failure: %s\n", rep.first_failure);
    printf("  templates of %s: %lld; of other models: %lld%s\n", cfg->model_id,
           (long long)have, (long long)(all - have),
           all > have && !drop ? " (delete them with --drop MODEL_ID)" : "");
    if (drop)
      printf("  dropped %lld templates of %s\n", (long long)dropped, drop);
    if (rep.stopped)
      printf("  interrupted: run 'argus reindex' again to resume\n");
  }
  rc = rep.stopped ? CLI_FAIL : CLI_OK;
out:
  gallery_cli_close(&g);
  return rc;
}
