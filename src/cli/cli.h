/*
 * Shared pieces of the `argus` command: the command table type, exit codes,
 * a small option parser and helpers for numbers, shapes and raw tensor files.
 * Nothing here is library logic; subcommands call the public argus API.
 */
#ifndef ARGUS_CLI_H
#define ARGUS_CLI_H

#include <stdint.h>
#include <stdio.h>

#include "argus/core.h"
#include "argus/nn.h"

/* Exit codes: 0 success, 1 a failure while doing the work, 2 bad usage. */
enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2 };

/* A (sub)command. `run` gets argv with argv[0] = the command's own name. */
typedef struct cli_command {
  const char *name;
  const char *summary;
  int (*run)(int argc, char **argv);
  void (*usage)(FILE *f);
} cli_command;

/* Top-level commands (main.c) and their handlers. */
int cli_help_main(int argc, char **argv);
void cli_help_usage(FILE *f);
int cli_version_main(int argc, char **argv);
void cli_version_usage(FILE *f);
int cli_nn_main(int argc, char **argv);
void cli_nn_usage(FILE *f);

/* `argus alert`: reviewing stored alerts (alert.c). */
int cli_alert_main(int argc, char **argv);
void cli_alert_usage(FILE *f);

/* `argus nn` subcommands. */
int cli_nn_info_main(int argc, char **argv);
void cli_nn_info_usage(FILE *f);
int cli_nn_run_main(int argc, char **argv);
void cli_nn_run_usage(FILE *f);
int cli_nn_bench_main(int argc, char **argv);
void cli_nn_bench_usage(FILE *f);

/* `argus model add` (src/cli/model.c). */
int cli_model_main(int argc, char **argv);
void cli_model_usage(FILE *f);

/* `argus serve` (src/cli/serve.c). */
int cli_serve_main(int argc, char **argv);
void cli_serve_usage(FILE *f);

/* argus person export|erase (person_rights.c): subject requests. */
int cli_person_export_main(int argc, char **argv);
void cli_person_export_usage(FILE *f);
int cli_person_erase_main(int argc, char **argv);
void cli_person_erase_usage(FILE *f);

/* `argus loadgen` (loadgen.c): synthetic face events on a NATS bus. */
int cli_loadgen_main(int argc, char **argv);
void cli_loadgen_usage(FILE *f);

/* Lookups used by `argus help CMD [SUB]`. */
const cli_command *cli_find_command(const char *name);
const cli_command *cli_nn_find_command(const char *name);
void cli_print_commands(FILE *f, const cli_command *cmds);
extern const cli_command cli_commands[];
extern const cli_command cli_nn_commands[];

/* ---- option parsing ---------------------------------------------------- */
/* Long options only ("--name VALUE" or "--name=VALUE"), plus "-h". Options
 * and positional arguments may be mixed; "--" ends the options. */
typedef struct cli_opt {
  const char *name; /* without the leading "--" */
  int has_arg;
  int id; /* returned by cli_parse_next */
} cli_opt;

typedef struct cli_parser {
  int argc;
  char **argv;
  int i;
  int only_positional;
  const char *cmd; /* for messages: "nn run" */
  const cli_opt *opts;
  const char *arg; /* the value of the last option or positional */
} cli_parser;

enum {
  CLI_OPT_END = -1,        /* no more arguments */
  CLI_OPT_POSITIONAL = -2, /* p->arg is a positional argument */
  CLI_OPT_ERROR = -3,      /* message printed to stderr */
  CLI_OPT_HELP = -4        /* -h or --help */
};

void cli_parser_init(cli_parser *p, int argc, char **argv, const char *cmd,
                     const cli_opt *opts);
/* Returns the id of the next option (p->arg holds its value, or NULL), or
 * one of the CLI_OPT_* codes above. */
int cli_parse_next(cli_parser *p);

/* ---- values ------------------------------------------------------------ */
/* Parses a decimal integer in [min, max]; on failure prints a message naming
 * `what` to stderr and returns -1. */
int cli_parse_long(const char *s, long min, long max, const char *what,
                   long *out);
int cli_parse_int(const char *s, int min, int max, const char *what, int *out);

/* Parses "NAME=1x3x480x640" or "1x3x480x640" (name left NULL) into `out`;
 * the '=' in `s` is overwritten and the name points into `s`, which must
 * outlive `out`. Returns 0 or -1 after a message on stderr. */
int cli_parse_shape_arg(char *s, const char *what, argus_nn_input_shape *out);

/* Writes "[1,3,240,320]" into buf. */
void cli_format_dims(char *buf, size_t size, int rank, const int64_t *dims);
/* "1x3x240x320". */
void cli_format_dims_x(char *buf, size_t size, int rank, const int64_t *dims);
/* Number of elements; -1 when a dimension is negative or the count overflows.
 */
int64_t cli_elem_count(int rank, const int64_t *dims);
size_t cli_dtype_size(int dtype);
const char *cli_dtype_name(int dtype);
/* File extension for raw tensor files of this type ("f32", "i64", ...). */
const char *cli_dtype_ext(int dtype);

/* Prints "argus: CMD: <message>" to stderr, using err->msg when it is set
 * and the code's description otherwise. */
void cli_report_nn_error(const char *cmd, argus_err e,
                         const argus_nn_error *err);
void cli_errorf(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Prints a one-line hint after a usage error. */
void cli_usage_hint(const char *cmd);
/* After a bad option value (already reported): the hint; returns CLI_USAGE. */
int cli_bad_value(const char *cmd);

/* Converts `n` little-endian elements of `size` bytes to host order in place
 * (and back: the operation is its own inverse). No-op on little-endian hosts.
 */
void cli_le_swap(void *data, size_t n, size_t size);

/* Deterministic inputs for `nn bench`: xorshift32 stream seeded through the
 * murmur3 finaliser, uniform floats in [lo, hi). */
uint32_t cli_rng_seed(uint32_t seed);
float cli_rng_uniform(uint32_t *state, float lo, float hi);

/* Shared options of run/bench/info: shapes, batch, threads. */
#define CLI_MAX_SHAPES 16
typedef struct cli_session_args {
  int batch;   /* 0: as declared */
  int threads; /* 0: number of cores */
  argus_nn_input_shape shapes[CLI_MAX_SHAPES];
  int nshapes;
} cli_session_args;

/* Adds one --input-shape value. Returns 0 or -1 after a message. */
int cli_session_args_add_shape(cli_session_args *a, const char *cmd, char *s);

/* Loads the model at `path` and, when `session` is not NULL, plans a session
 * with the shapes, batch and (when `pool` is not NULL) a thread pool of
 * a->threads. Shapes given without a name apply to the model's only input.
 * Prints what went wrong and returns CLI_FAIL or CLI_USAGE; on success
 * returns CLI_OK and the caller frees what it got (session, pool, model). */
int cli_nn_open(const char *cmd, const char *path, cli_session_args *a,
                argus_nn_model **model, argus_threadpool **pool,
                argus_nn_session **session);

/* Base name of a path ("models/fr_detect.onnx" -> "fr_detect.onnx"). */
const char *cli_basename(const char *path);
/* Writes `s` as a JSON string literal, with quotes (NULL: null), by core's
 * one escaping rule (argus_json_fputs). */
void cli_json_string(FILE *f, const char *s);

#endif
