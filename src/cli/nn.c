/* `argus nn`: the inference engine's subcommands (info, run, bench) and the
 * model/session set-up they share. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

const cli_command cli_nn_commands[] = {
    {"info", "inputs, outputs, ops, parameters and MACs of a model",
     cli_nn_info_main, cli_nn_info_usage},
    {"run", "run a model on raw float32 input files, write its outputs",
     cli_nn_run_main, cli_nn_run_usage},
    {"bench", "time a model on seeded random inputs; prints one JSON line",
     cli_nn_bench_main, cli_nn_bench_usage},
    {NULL, NULL, NULL, NULL},
};

const cli_command *cli_nn_find_command(const char *name) {
  for (const cli_command *c = cli_nn_commands; c->name; c++)
    if (strcmp(c->name, name) == 0)
      return c;
  return NULL;
}

void cli_nn_usage(FILE *f) {
  // clang-format off
  fputs("Usage: argus nn SUBCOMMAND [ARGS...]\n"
        "\n"
        "The argus inference engine on ONNX models.\n"
        "\n"
        "Subcommands:\n",
        f);
  cli_print_commands(f, cli_nn_commands);
  fputs("\n"
        "Run 'argus nn SUBCOMMAND --help' for its options.\n",
        f);
  // clang-format on
}

int cli_nn_main(int argc, char **argv) {
  if (argc < 2) {
    cli_errorf("nn", "missing subcommand");
    cli_nn_usage(stderr);
    return CLI_USAGE;
  }
  if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
    cli_nn_usage(stdout);
    return CLI_OK;
  }
  const cli_command *c = cli_nn_find_command(argv[1]);
  if (!c) {
    cli_errorf("nn", "unknown subcommand '%s'", argv[1]);
    cli_nn_usage(stderr);
    return CLI_USAGE;
  }
  return c->run(argc - 1, argv + 1);
}

/* Gives every --input-shape a name the model knows: a nameless shape goes to
 * the model's only input. */
static int resolve_shapes(const char *cmd, const argus_nn_model *m,
                          cli_session_args *a) {
  int nin = argus_nn_model_input_count(m);
  for (int i = 0; i < a->nshapes; i++) {
    argus_nn_input_shape *sh = &a->shapes[i];
    if (!sh->name) {
      argus_nn_tensor_desc d;
      if (nin != 1 || argus_nn_model_input(m, 0, &d) != ARGUS_OK) {
        cli_errorf(cmd,
                   "the model has %d inputs: write --input-shape NAME=SHAPE",
                   nin);
        return CLI_USAGE;
      }
      sh->name = d.name;
      continue;
    }
    int found = 0;
    for (int k = 0; k < nin && !found; k++) {
      argus_nn_tensor_desc d;
      if (argus_nn_model_input(m, k, &d) == ARGUS_OK &&
          strcmp(d.name, sh->name) == 0)
        found = 1;
    }
    if (!found) {
      cli_errorf(cmd, "--input-shape: the model has no input named '%s'",
                 sh->name);
      fprintf(stderr, "inputs:");
      for (int k = 0; k < nin; k++) {
        argus_nn_tensor_desc d;
        if (argus_nn_model_input(m, k, &d) == ARGUS_OK)
          fprintf(stderr, " %s", d.name);
      }
      fputc('\n', stderr);
      return CLI_USAGE;
    }
    for (int k = 0; k < i; k++)
      if (a->shapes[k].name && strcmp(a->shapes[k].name, sh->name) == 0) {
        cli_errorf(cmd, "--input-shape given twice for '%s'", sh->name);
        return CLI_USAGE;
      }
  }
  return CLI_OK;
}

int cli_nn_open(const char *cmd, const char *path, cli_session_args *a,
                argus_nn_model **model, argus_threadpool **pool,
                argus_nn_session **session) {
  argus_nn_error nerr;
  memset(&nerr, 0, sizeof nerr);
  *model = NULL;
  if (pool)
    *pool = NULL;
  if (session)
    *session = NULL;

  argus_err e = argus_nn_model_load_file(path, model, &nerr);
  if (e != ARGUS_OK) {
    if (nerr.msg[0] && !strstr(nerr.msg, path))
      cli_errorf(cmd, "%s: %s (%s)", path, nerr.msg, argus_errname(e));
    else
      cli_report_nn_error(cmd, e, &nerr);
    return CLI_FAIL;
  }
  int rc = resolve_shapes(cmd, *model, a);
  if (rc != CLI_OK)
    goto fail;
  if (!session)
    return CLI_OK;
  if (pool) {
    e = argus_threadpool_create(a->threads, pool);
    if (e != ARGUS_OK) {
      cli_errorf(cmd, "cannot start %d threads: %s", a->threads,
                 argus_strerror(e));
      rc = CLI_FAIL;
      goto fail;
    }
  }
  argus_nn_session_opts opts;
  memset(&opts, 0, sizeof opts);
  opts.batch = a->batch;
  opts.shapes = a->nshapes ? a->shapes : NULL;
  opts.nshapes = a->nshapes;
  opts.pool = pool ? *pool : NULL;
  memset(&nerr, 0, sizeof nerr);
  e = argus_nn_session_create(*model, &opts, session, &nerr);
  if (e != ARGUS_OK) {
    cli_report_nn_error(cmd, e, &nerr);
    rc = CLI_FAIL;
    goto fail;
  }
  return CLI_OK;

fail:
  if (pool) {
    argus_threadpool_destroy(*pool);
    *pool = NULL;
  }
  argus_nn_model_free(*model);
  *model = NULL;
  return rc;
}
