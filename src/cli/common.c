/* Helpers shared by the `argus` subcommands: option parsing, numbers,
 * shapes, error messages. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

void cli_parser_init(cli_parser *p, int argc, char **argv, const char *cmd,
                     const cli_opt *opts) {
  memset(p, 0, sizeof *p);
  p->argc = argc;
  p->argv = argv;
  p->i = 1; /* argv[0] is the command's name */
  p->cmd = cmd;
  p->opts = opts;
}

int cli_parse_next(cli_parser *p) {
  p->arg = NULL;
  if (p->i >= p->argc)
    return CLI_OPT_END;
  char *a = p->argv[p->i++];
  if (p->only_positional || a[0] != '-' || a[1] == '\0') {
    p->arg = a; /* "-" alone is a positional (stdin/stdout by convention) */
    return CLI_OPT_POSITIONAL;
  }
  if (strcmp(a, "--") == 0) {
    p->only_positional = 1;
    return cli_parse_next(p);
  }
  if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)
    return CLI_OPT_HELP;
  if (a[1] != '-') {
    cli_errorf(p->cmd, "unknown option '%s'", a);
    return CLI_OPT_ERROR;
  }
  const char *name = a + 2;
  const char *eq = strchr(name, '=');
  size_t len = eq ? (size_t)(eq - name) : strlen(name);
  for (const cli_opt *o = p->opts; o && o->name; o++) {
    if (strlen(o->name) != len || strncmp(o->name, name, len) != 0)
      continue;
    if (!o->has_arg) {
      if (eq) {
        cli_errorf(p->cmd, "option '--%s' takes no value", o->name);
        return CLI_OPT_ERROR;
      }
      return o->id;
    }
    if (eq) {
      p->arg = eq + 1;
    } else if (p->i < p->argc) {
      p->arg = p->argv[p->i++];
    } else {
      cli_errorf(p->cmd, "option '--%s' needs a value", o->name);
      return CLI_OPT_ERROR;
    }
    return o->id;
  }
  cli_errorf(p->cmd, "unknown option '%.*s'", (int)(len + 2), a);
  return CLI_OPT_ERROR;
}

int cli_parse_long(const char *s, long min, long max, const char *what,
                   long *out) {
  char *end = NULL;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (s[0] == '\0' || end == s || *end != '\0') {
    fprintf(stderr, "argus: %s: '%s' is not a whole number\n", what, s);
    return -1;
  }
  if (errno == ERANGE || v < min || v > max) {
    fprintf(stderr, "argus: %s: %s is out of range [%ld, %ld]\n", what, s, min,
            max);
    return -1;
  }
  *out = v;
  return 0;
}

int cli_parse_int(const char *s, int min, int max, const char *what, int *out) {
  long v;
  if (cli_parse_long(s, min, max, what, &v) != 0)
    return -1;
  *out = (int)v;
  return 0;
}

int cli_parse_shape_arg(char *s, const char *what, argus_nn_input_shape *out) {
  memset(out, 0, sizeof *out);
  char *dims = s;
  char *eq = strrchr(s, '=');
  if (eq) {
    if (eq == s) {
      fprintf(stderr, "argus: %s: empty input name in '%s'\n", what, s);
      return -1;
    }
    *eq = '\0';
    out->name = s;
    dims = eq + 1;
  }
  const char *p = dims;
  for (;;) {
    if (out->rank == ARGUS_NN_MAX_RANK) {
      fprintf(stderr, "argus: %s: more than %d dimensions in '%s'\n", what,
              ARGUS_NN_MAX_RANK, dims);
      return -1;
    }
    char *end = NULL;
    errno = 0;
    if (*p < '0' || *p > '9') {
      fprintf(stderr, "argus: %s: '%s' is not a shape like 1x3x240x320\n", what,
              dims);
      return -1;
    }
    long long v = strtoll(p, &end, 10);
    if (errno == ERANGE || v < 1 || v > INT32_MAX) {
      fprintf(stderr,
              "argus: %s: dimension %.*s in '%s' is out of range "
              "[1, %d]\n",
              what, (int)(end - p), p, dims, INT32_MAX);
      return -1;
    }
    out->dims[out->rank++] = v;
    if (*end == '\0')
      break;
    if (*end != 'x' && *end != ',') {
      fprintf(stderr, "argus: %s: '%s' is not a shape like 1x3x240x320\n", what,
              dims);
      return -1;
    }
    p = end + 1;
  }
  return 0;
}

static void format_dims(char *buf, size_t size, int rank, const int64_t *dims,
                        const char *open, const char *sep, const char *close) {
  size_t n = 0;
  int w = snprintf(buf, size, "%s", open);
  n = w > 0 ? (size_t)w : 0;
  for (int i = 0; i < rank && n < size; i++) {
    w = snprintf(buf + n, size - n, "%s%" PRId64, i ? sep : "", dims[i]);
    if (w < 0)
      return;
    n += (size_t)w;
  }
  if (n < size)
    snprintf(buf + n, size - n, "%s", close);
}

void cli_format_dims(char *buf, size_t size, int rank, const int64_t *dims) {
  format_dims(buf, size, rank, dims, "[", ",", "]");
}

void cli_format_dims_x(char *buf, size_t size, int rank, const int64_t *dims) {
  if (rank == 0) {
    snprintf(buf, size, "scalar");
    return;
  }
  format_dims(buf, size, rank, dims, "", "x", "");
}

int64_t cli_elem_count(int rank, const int64_t *dims) {
  int64_t n = 1;
  for (int i = 0; i < rank; i++) {
    if (dims[i] < 0)
      return -1;
    if (dims[i] != 0 && n > INT64_MAX / dims[i])
      return -1;
    n *= dims[i];
  }
  return n;
}

size_t cli_dtype_size(int dtype) {
  switch (dtype) {
  case ARGUS_NN_FLOAT: return 4;
  case ARGUS_NN_UINT8: return 1;
  case ARGUS_NN_INT8: return 1;
  case ARGUS_NN_INT32: return 4;
  case ARGUS_NN_INT64: return 8;
  case ARGUS_NN_BOOL: return 1;
  case ARGUS_NN_DOUBLE: return 8;
  default: return 0;
  }
}

const char *cli_dtype_name(int dtype) {
  switch (dtype) {
  case ARGUS_NN_FLOAT: return "float32";
  case ARGUS_NN_UINT8: return "uint8";
  case ARGUS_NN_INT8: return "int8";
  case ARGUS_NN_INT32: return "int32";
  case ARGUS_NN_INT64: return "int64";
  case ARGUS_NN_BOOL: return "bool";
  case ARGUS_NN_DOUBLE: return "float64";
  default: return "unknown";
  }
}

const char *cli_dtype_ext(int dtype) {
  switch (dtype) {
  case ARGUS_NN_FLOAT: return "f32";
  case ARGUS_NN_UINT8: return "u8";
  case ARGUS_NN_INT8: return "i8";
  case ARGUS_NN_INT32: return "i32";
  case ARGUS_NN_INT64: return "i64";
  case ARGUS_NN_BOOL: return "bool";
  case ARGUS_NN_DOUBLE: return "f64";
  default: return "bin";
  }
}

void cli_errorf(const char *cmd, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "argus: %s%s", cmd ? cmd : "", cmd ? ": " : "");
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

void cli_report_nn_error(const char *cmd, argus_err e,
                         const argus_nn_error *err) {
  if (err && err->msg[0])
    cli_errorf(cmd, "%s (%s)", err->msg, argus_errname(e));
  else
    cli_errorf(cmd, "%s (%s)", argus_strerror(e), argus_errname(e));
}

void cli_usage_hint(const char *cmd) {
  fprintf(stderr, "Run 'argus %s --help' for usage.\n", cmd);
}

int cli_bad_value(const char *cmd) {
  cli_usage_hint(cmd);
  return CLI_USAGE;
}

void cli_le_swap(void *data, size_t n, size_t size) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  unsigned char *b = data;
  for (size_t i = 0; i < n; i++, b += size)
    for (size_t j = 0; j < size / 2; j++) {
      unsigned char t = b[j];
      b[j] = b[size - 1 - j];
      b[size - 1 - j] = t;
    }
#else
  (void)data;
  (void)n;
  (void)size;
#endif
}

uint32_t cli_rng_seed(uint32_t seed) {
  uint32_t x = seed;
  x ^= x >> 16;
  x *= 0x85ebca6bu;
  x ^= x >> 13;
  x *= 0xc2b2ae35u;
  x ^= x >> 16;
  return x ? x : 0x9e3779b9u;
}

float cli_rng_uniform(uint32_t *state, float lo, float hi) {
  uint32_t x = *state;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  *state = x;
  float u = (float)(x >> 8) * (1.0f / 16777216.0f);
  return lo + (hi - lo) * u;
}

int cli_session_args_add_shape(cli_session_args *a, const char *cmd, char *s) {
  if (a->nshapes == CLI_MAX_SHAPES) {
    cli_errorf(cmd, "at most %d --input-shape options", CLI_MAX_SHAPES);
    return -1;
  }
  if (cli_parse_shape_arg(s, "--input-shape", &a->shapes[a->nshapes]) != 0)
    return -1;
  a->nshapes++;
  return 0;
}

const char *cli_basename(const char *path) {
  const char *slash = strrchr(path, '/');
  return slash ? slash + 1 : path;
}

void cli_json_string(FILE *f, const char *s) {
  argus_json_fputs(f, s, s ? strlen(s) : 0);
}
