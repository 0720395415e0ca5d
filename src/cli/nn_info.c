/* `argus nn info MODEL`: what a model takes, gives and costs. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"

enum { OPT_INPUT_SHAPE = 1, OPT_BATCH };

static const cli_opt info_opts[] = {
    {"input-shape", 1, OPT_INPUT_SHAPE},
    {"batch", 1, OPT_BATCH},
    {NULL, 0, 0},
};

void cli_nn_info_usage(FILE *f) {
  // clang-format off
  fputs("Usage: argus nn info MODEL [--input-shape [NAME=]1x3x240x320] [--batch N]\n"
        "\n"
        "Loads and validates an ONNX model and prints its inputs and outputs with\n"
        "shapes, the ops it uses with counts, its node count before and after\n"
        "optimisation (constant folding, fusion), its parameter count, and the\n"
        "multiply-accumulates of one run at the declared input shapes (or those given).\n"
        "\n"
        "Options:\n"
        "  --input-shape [NAME=]DIMS  plan for this input shape (repeatable; NAME may be\n"
        "                             left out when the model has one input)\n"
        "  --batch N                  plan for batch N (dimension 0 of every input)\n"
        "  -h, --help                 this help\n",
        f);
  // clang-format on
}

static void print_tensor(const argus_nn_tensor_desc *d) {
  char dims[160];
  if (d->dtype == 0 && d->rank == 0) {
    printf("  %-22s (type and shape not declared)\n", d->name);
    return;
  }
  cli_format_dims(dims, sizeof dims, d->rank, d->dims);
  printf("  %-22s %-8s %s\n", d->name, cli_dtype_name(d->dtype), dims);
}

static void print_thousands(uint64_t v) {
  char digits[32];
  snprintf(digits, sizeof digits, "%" PRIu64, v);
  size_t n = strlen(digits);
  for (size_t i = 0; i < n; i++) {
    if (i && (n - i) % 3 == 0)
      putchar(',');
    putchar(digits[i]);
  }
}

int cli_nn_info_main(int argc, char **argv) {
  const char *cmd = "nn info";
  cli_session_args sa;
  memset(&sa, 0, sizeof sa);
  const char *path = NULL;
  cli_parser p;
  cli_parser_init(&p, argc, argv, cmd, info_opts);
  for (int o; (o = cli_parse_next(&p)) != CLI_OPT_END;) {
    switch (o) {
    case CLI_OPT_HELP: cli_nn_info_usage(stdout); return CLI_OK;
    case CLI_OPT_POSITIONAL:
      if (path) {
        cli_errorf(cmd, "unexpected argument '%s'", p.arg);
        cli_usage_hint(cmd);
        return CLI_USAGE;
      }
      path = p.arg;
      break;
    case OPT_INPUT_SHAPE:
      if (cli_session_args_add_shape(&sa, cmd, (char *)p.arg) != 0)
        return cli_bad_value(cmd);
      break;
    case OPT_BATCH:
      if (cli_parse_int(p.arg, 1, 65536, "--batch", &sa.batch) != 0)
        return cli_bad_value(cmd);
      break;
    default: cli_nn_info_usage(stderr); return CLI_USAGE;
    }
  }
  if (!path) {
    cli_errorf(cmd, "missing MODEL");
    cli_nn_info_usage(stderr);
    return CLI_USAGE;
  }

  argus_nn_model *m = NULL;
  int rc = cli_nn_open(cmd, path, &sa, &m, NULL, NULL);
  if (rc != CLI_OK)
    return rc;

  argus_nn_model_info info;
  memset(&info, 0, sizeof info);
  argus_err e = argus_nn_model_get_info(m, &info);
  if (e != ARGUS_OK) {
    cli_report_nn_error(cmd, e, NULL);
    argus_nn_model_free(m);
    return CLI_FAIL;
  }
  struct stat st;
  printf("model      %s", path);
  if (stat(path, &st) == 0)
    printf(" (%.2f MB)", (double)st.st_size / 1e6);
  printf("\nformat     ONNX IR %" PRId64 ", opset %d, producer %s\n",
         info.ir_version, info.opset,
         info.producer && info.producer[0] ? info.producer : "(none)");

  /* Outputs, MACs and arena size belong to a plan for concrete shapes. */
  int free_dims = 0;
  printf("inputs\n");
  for (int i = 0; i < argus_nn_model_input_count(m); i++) {
    argus_nn_tensor_desc d;
    if (argus_nn_model_input(m, i, &d) != ARGUS_OK)
      continue;
    print_tensor(&d);
    for (int k = 0; k < d.rank; k++)
      free_dims |= d.dims[k] < 0;
  }
  argus_nn_session_opts opts;
  memset(&opts, 0, sizeof opts);
  opts.batch = sa.batch;
  opts.shapes = sa.nshapes ? sa.shapes : NULL;
  opts.nshapes = sa.nshapes;
  argus_nn_session *s = NULL;
  argus_nn_error nerr;
  memset(&nerr, 0, sizeof nerr);
  argus_err se = argus_nn_session_create(m, &opts, &s, &nerr);

  if (se == ARGUS_OK) {
    printf("outputs%s\n",
           sa.batch || sa.nshapes ? " (at the given shapes)" : "");
    for (int i = 0; i < argus_nn_session_output_count(s); i++) {
      argus_nn_tensor_desc d;
      const void *data;
      if (argus_nn_session_output(s, i, &d, &data) == ARGUS_OK)
        print_tensor(&d);
    }
  } else {
    printf("outputs (as declared)\n");
    for (int i = 0; i < argus_nn_model_output_count(m); i++) {
      argus_nn_tensor_desc d;
      if (argus_nn_model_output(m, i, &d) == ARGUS_OK)
        print_tensor(&d);
    }
  }

  printf("nodes      %d in the file, %d after optimisation\n", info.nnodes,
         info.nnodes_optimised);
  printf("ops\n");
  for (int i = 0;; i++) {
    const char *type = NULL;
    int count = 0;
    if (argus_nn_model_op(m, i, &type, &count) != ARGUS_OK)
      break;
    printf("  %-22s %d\n", type, count);
  }
  printf("params     ");
  print_thousands((uint64_t)info.nparams);
  printf(" (%.2f MB as float32)\n", (double)info.nparams * 4.0 / 1e6);

  if (se != ARGUS_OK) {
    argus_nn_session_free(s);
    argus_nn_model_free(m);
    if (free_dims && !sa.nshapes) {
      /* Nothing to plan for until the free dimensions are given. */
      printf("MACs       n/a: the inputs have free dimensions; give them with "
             "--input-shape\n");
      return CLI_OK;
    }
    printf("MACs       n/a\n");
    fflush(stdout);
    cli_report_nn_error(cmd, se, &nerr);
    return CLI_FAIL;
  }
  uint64_t macs = argus_nn_session_macs(s);
  printf("MACs       ");
  print_thousands(macs);
  printf(" (%.3f G) per run at", (double)macs / 1e9);
  for (int i = 0; i < argus_nn_session_input_count(s); i++) {
    argus_nn_tensor_desc d;
    void *data;
    if (argus_nn_session_input(s, i, &d, &data) == ARGUS_OK) {
      char dims[160];
      cli_format_dims(dims, sizeof dims, d.rank, d.dims);
      printf("%s %s %s", i ? "," : "", d.name, dims);
    }
  }
  printf("\n");
  printf("arena      %.2f MB\n", (double)argus_nn_session_arena_bytes(s) / 1e6);
  argus_nn_session_free(s);
  argus_nn_model_free(m);
  return CLI_OK;
}
