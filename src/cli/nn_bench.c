/* `argus nn bench MODEL`: times argus_nn_session_run on seeded random inputs
 * and prints one JSON line, the form bench/nn_bench.sh reads. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cli_json.h"

enum {
  OPT_THREADS = 1,
  OPT_BATCH,
  OPT_ITERS,
  OPT_WARMUP,
  OPT_INPUT_SHAPE,
  OPT_SEED,
  OPT_PROFILE,
  OPT_PRECISION
};

static const cli_opt bench_opts[] = {
    {"threads", 1, OPT_THREADS},
    {"batch", 1, OPT_BATCH},
    {"iters", 1, OPT_ITERS},
    {"warmup", 1, OPT_WARMUP},
    {"input-shape", 1, OPT_INPUT_SHAPE},
    {"seed", 1, OPT_SEED},
    {"profile", 0, OPT_PROFILE},
    {"precision", 1, OPT_PRECISION},
    {NULL, 0, 0},
};

void cli_nn_bench_usage(FILE *f) {
  // clang-format off
  fputs("Usage: argus nn bench MODEL [--threads N] [--batch N] [--iters N] [--warmup N]\n"
        "                        [--input-shape [NAME=]DIMS] [--seed N] [--profile]\n"
        "                        [--precision f32|bf16|int8]\n"
        "\n"
        "Fills the inputs with seeded uniform random values in [-1, 1), runs the model\n"
        "--warmup times untimed and --iters times timed, and prints one JSON line:\n"
        "  {\"model\":\"fr_detect.onnx\",\"threads\":1,\"batch\":1,\"ms_median\":...,\"ms_p90\":...,...}\n"
        "\n"
        "Options:\n"
        "  --threads N                worker threads (default: number of cores)\n"
        "  --batch N                  batch size (dimension 0 of every input)\n"
        "  --iters N                  timed runs (default 50)\n"
        "  --warmup N                 untimed runs first (default 5)\n"
        "  --input-shape [NAME=]DIMS  run at this input shape\n"
        "  --seed N                   seed of the input values (default 1)\n"
        "  --profile                  per-op and per-node times of the last run on stderr\n"
        "                             (timing each node slows the run a little)\n"
        "  --precision f32|bf16|int8  arithmetic of the convolutions' matrix products\n"
        "                             (default: f32; bf16 needs AVX512_BF16, int8\n"
        "                             AVX512_VNNI, else f32; docs/engine.md, \"Precision\")\n"
        "  -h, --help                 this help\n",
        f);
  // clang-format on
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

typedef struct op_time {
  const char *op;
  double ms;
  int n;
} op_time;

static int cmp_op_time(const void *a, const void *b) {
  double x = ((const op_time *)a)->ms, y = ((const op_time *)b)->ms;
  return (x < y) - (x > y);
}

/* Per-op totals and the slowest nodes of the last run. */
static void print_profile(const argus_nn_session *s) {
  int n = 0;
  for (;; n++) {
    const char *node, *op;
    double ms;
    if (argus_nn_session_profile(s, n, &node, &op, &ms) != ARGUS_OK)
      break;
  }
  if (n == 0) {
    fprintf(stderr, "profile: the engine recorded no node times\n");
    return;
  }
  op_time *ops = calloc((size_t)n, sizeof *ops);
  op_time *nodes = calloc((size_t)n, sizeof *nodes);
  if (!ops || !nodes) {
    free(ops);
    free(nodes);
    fprintf(stderr, "profile: out of memory\n");
    return;
  }
  int nops = 0;
  double total = 0;
  for (int i = 0; i < n; i++) {
    const char *node, *op;
    double ms;
    argus_nn_session_profile(s, i, &node, &op, &ms);
    nodes[i].op = node;
    nodes[i].ms = ms;
    total += ms;
    int k = 0;
    while (k < nops && strcmp(ops[k].op, op) != 0)
      k++;
    if (k == nops)
      ops[nops++].op = op;
    ops[k].ms += ms;
    ops[k].n++;
  }
  qsort(ops, (size_t)nops, sizeof *ops, cmp_op_time);
  fprintf(stderr, "profile of the last run: %d nodes, %.3f ms\n", n, total);
  fprintf(stderr, "  %-24s %6s %9s %6s\n", "op", "nodes", "ms", "%");
  for (int i = 0; i < nops; i++)
    fprintf(stderr, "  %-24s %6d %9.3f %5.1f%%\n", ops[i].op, ops[i].n,
            ops[i].ms, total > 0 ? 100.0 * ops[i].ms / total : 0.0);
  /* Node order matters for reading the slowest ones; keep the index. */
  for (int i = 0; i < n; i++)
    nodes[i].n = i;
  qsort(nodes, (size_t)n, sizeof *nodes, cmp_op_time);
  int top = n < 15 ? n : 15;
  fprintf(stderr, "  slowest nodes:\n");
  for (int i = 0; i < top; i++) {
    const char *node, *op;
    double ms;
    argus_nn_session_profile(s, nodes[i].n, &node, &op, &ms);
    fprintf(stderr, "  #%-4d %-40s %-16s %9.3f ms\n", nodes[i].n, node, op, ms);
  }
  free(ops);
  free(nodes);
}

/* The JSON line of a benchmark. */
typedef struct bench_rec {
  const char *model;
  int threads, batch;
  double median, p90, min, mean;
  int iters;
  argus_nn_session *session;
  int nin;
  uint64_t macs;
  const char *precision;
} bench_rec;

static void bench_json(const void *rec, argus_json *j) {
  const bench_rec *r = rec;
  argus_json_obj_begin(j, NULL);
  argus_json_str(j, "model", r->model);
  argus_json_int(j, "threads", r->threads);
  argus_json_int(j, "batch", r->batch);
  argus_json_num(j, "ms_median", r->median, 4);
  argus_json_num(j, "ms_p90", r->p90, 4);
  argus_json_num(j, "ms_min", r->min, 4);
  argus_json_num(j, "ms_mean", r->mean, 4);
  argus_json_int(j, "iters", r->iters);
  argus_json_str(j, "isa", argus_cpu_isa_name());
  argus_json_str(j, "precision", r->precision);
  argus_json_obj_begin(j, "inputs");
  for (int i = 0; i < r->nin; i++) {
    argus_nn_tensor_desc d;
    void *data;
    if (argus_nn_session_input(r->session, i, &d, &data) != ARGUS_OK)
      continue;
    argus_json_arr_begin(j, d.name ? d.name : "");
    for (int k = 0; k < d.rank; k++)
      argus_json_int(j, NULL, d.dims[k]);
    argus_json_arr_end(j);
  }
  argus_json_obj_end(j);
  argus_json_uint(j, "macs", r->macs);
  argus_json_num(j, "gmacs_per_s",
                 r->median > 0 ? (double)r->macs / (r->median * 1e6) : 0.0, 2);
  argus_json_obj_end(j);
}

int cli_nn_bench_main(int argc, char **argv) {
  const char *cmd = "nn bench";
  cli_session_args sa;
  memset(&sa, 0, sizeof sa);
  const char *path = NULL;
  int iters = 50, warmup = 5, profile = 0, precision = 0;
  long seed = 1;

  cli_parser p;
  cli_parser_init(&p, argc, argv, cmd, bench_opts);
  for (int o; (o = cli_parse_next(&p)) != CLI_OPT_END;) {
    switch (o) {
    case CLI_OPT_HELP: cli_nn_bench_usage(stdout); return CLI_OK;
    case CLI_OPT_POSITIONAL:
      if (path) {
        cli_errorf(cmd, "unexpected argument '%s'", p.arg);
        cli_usage_hint(cmd);
        return CLI_USAGE;
      }
      path = p.arg;
      break;
    case OPT_THREADS:
      if (cli_parse_int(p.arg, 1, 1024, "--threads", &sa.threads) != 0)
        return cli_bad_value(cmd);
      break;
    case OPT_BATCH:
      if (cli_parse_int(p.arg, 1, 65536, "--batch", &sa.batch) != 0)
        return cli_bad_value(cmd);
      break;
    case OPT_ITERS:
      if (cli_parse_int(p.arg, 1, 1000000, "--iters", &iters) != 0)
        return cli_bad_value(cmd);
      break;
    case OPT_WARMUP:
      if (cli_parse_int(p.arg, 0, 1000000, "--warmup", &warmup) != 0)
        return cli_bad_value(cmd);
      break;
    case OPT_INPUT_SHAPE:
      if (cli_session_args_add_shape(&sa, cmd, (char *)p.arg) != 0)
        return cli_bad_value(cmd);
      break;
    case OPT_SEED:
      if (cli_parse_long(p.arg, 0, 0xffffffffL, "--seed", &seed) != 0)
        return cli_bad_value(cmd);
      break;
    case OPT_PROFILE: profile = 1; break;
    case OPT_PRECISION:
      if (argus_nn_precision_parse(p.arg, &precision) != ARGUS_OK) {
        cli_errorf(cmd, "--precision must be f32, bf16 or int8, not '%s'", p.arg);
        return cli_bad_value(cmd);
      }
      break;
    default: cli_nn_bench_usage(stderr); return CLI_USAGE;
    }
  }
  if (!path) {
    cli_errorf(cmd, "missing MODEL");
    cli_nn_bench_usage(stderr);
    return CLI_USAGE;
  }
  /* The engine reads this when the session is planned. */
  if (profile && setenv("ARGUS_NN_PROFILE", "1", 1) != 0) {
    cli_errorf(cmd, "cannot set ARGUS_NN_PROFILE");
    return CLI_FAIL;
  }

  /* The engine reads ARGUS_PRECISION when the session is planned (it
   * overrides the model's precision, which is f32 for a bare model). */
  if (precision &&
      setenv("ARGUS_PRECISION", argus_nn_precision_name(precision), 1) != 0) {
    cli_errorf(cmd, "cannot set ARGUS_PRECISION");
    return CLI_FAIL;
  }
  const char *pe = getenv("ARGUS_PRECISION");
  int eff = ARGUS_NN_PRECISION_F32;
  if (pe && argus_nn_precision_parse(pe, &eff) != ARGUS_OK)
    eff = ARGUS_NN_PRECISION_F32;
  if (eff == ARGUS_NN_PRECISION_BF16 &&
      !(argus_cpu_features() & ARGUS_CPU_AVX512_BF16)) {
    fprintf(stderr, "argus: %s: this CPU has no AVX512_BF16 (or ARGUS_ISA "
                    "hides it): running in f32\n", cmd);
    eff = ARGUS_NN_PRECISION_F32;
  }
  if (eff == ARGUS_NN_PRECISION_INT8 &&
      !(argus_cpu_features() & ARGUS_CPU_AVX512_VNNI)) {
    fprintf(stderr, "argus: %s: this CPU has no AVX512_VNNI (or ARGUS_ISA "
                    "hides it): running in f32\n", cmd);
    eff = ARGUS_NN_PRECISION_F32;
  }

  argus_nn_model *m = NULL;
  argus_threadpool *pool = NULL;
  argus_nn_session *s = NULL;
  double *ms = NULL;
  int rc = cli_nn_open(cmd, path, &sa, &m, &pool, &s);
  if (rc != CLI_OK)
    return rc;
  rc = CLI_FAIL;

  /* Seeded inputs: one stream per input, so that adding an input leaves the
   * others' values unchanged. */
  int nin = argus_nn_session_input_count(s);
  int batch = 1;
  for (int i = 0; i < nin; i++) {
    argus_nn_tensor_desc d;
    void *data = NULL;
    argus_err e = argus_nn_session_input(s, i, &d, &data);
    if (e != ARGUS_OK) {
      cli_report_nn_error(cmd, e, NULL);
      goto out;
    }
    if (i == 0 && d.rank > 0)
      batch = (int)d.dims[0];
    int64_t count = cli_elem_count(d.rank, d.dims);
    if (count < 0) {
      cli_errorf(cmd, "input '%s' has no concrete shape", d.name);
      goto out;
    }
    if (d.dtype == ARGUS_NN_FLOAT) {
      uint32_t st = cli_rng_seed((uint32_t)seed + 0x9e3779b9u * (uint32_t)i);
      float *x = data;
      for (int64_t k = 0; k < count; k++)
        x[k] = cli_rng_uniform(&st, -1.0f, 1.0f);
    } else {
      memset(data, 0, (size_t)count * cli_dtype_size(d.dtype));
      fprintf(stderr, "argus: %s: input '%s' is %s; filled with zeros\n", cmd,
              d.name, cli_dtype_name(d.dtype));
    }
  }

  ms = malloc((size_t)iters * sizeof *ms);
  if (!ms) {
    cli_errorf(cmd, "out of memory");
    goto out;
  }
  argus_nn_error nerr;
  memset(&nerr, 0, sizeof nerr);
  for (int i = 0; i < warmup + iters; i++) {
    uint64_t t0 = argus_time_ns();
    argus_err e = argus_nn_session_run(s, &nerr);
    uint64_t t1 = argus_time_ns();
    if (e != ARGUS_OK) {
      cli_report_nn_error(cmd, e, &nerr);
      goto out;
    }
    if (i >= warmup)
      ms[i - warmup] = (double)(t1 - t0) / 1e6;
  }
  double sum = 0;
  for (int i = 0; i < iters; i++)
    sum += ms[i];
  qsort(ms, (size_t)iters, sizeof *ms, cmp_double);
  double median =
      iters % 2 ? ms[iters / 2] : 0.5 * (ms[iters / 2 - 1] + ms[iters / 2]);
  int p90i = (int)ceil(0.9 * iters) - 1;
  double p90 = ms[p90i < 0 ? 0 : p90i];
  uint64_t macs = argus_nn_session_macs(s);

  bench_rec br = {cli_basename(path),
                  argus_threadpool_size(pool),
                  batch,
                  median,
                  p90,
                  ms[0],
                  sum / iters,
                  iters,
                  s,
                  nin,
                  macs,
                  argus_nn_precision_name(eff)};
  if (cli_json_print(stdout, cmd, bench_json, &br) != 0)
    goto out;
  putchar('\n');
  fflush(stdout);
  if (profile)
    print_profile(s);
  rc = CLI_OK;

out:
  free(ms);
  argus_nn_session_free(s);
  argus_threadpool_destroy(pool);
  argus_nn_model_free(m);
  return rc;
}
