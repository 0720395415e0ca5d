/* `argus nn run MODEL --input NAME=FILE.f32 ... --output DIR`: one inference
 * on raw little-endian float32 files, outputs written the same way. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"

enum { OPT_INPUT = 1, OPT_OUTPUT, OPT_BATCH, OPT_THREADS, OPT_INPUT_SHAPE };

static const cli_opt run_opts[] = {
    {"input", 1, OPT_INPUT},
    {"output", 1, OPT_OUTPUT},
    {"batch", 1, OPT_BATCH},
    {"threads", 1, OPT_THREADS},
    {"input-shape", 1, OPT_INPUT_SHAPE},
    {NULL, 0, 0},
};

#define MAX_INPUTS 64

void cli_nn_run_usage(FILE *f) {
  // clang-format off
  fputs("Usage: argus nn run MODEL --input [NAME=]FILE.f32 [...] --output DIR\n"
        "                      [--batch N] [--threads N] [--input-shape [NAME=]DIMS]\n"
        "\n"
        "Runs the model once. Each input is a raw little-endian float32 file whose size\n"
        "is the input's element count x 4 bytes (at the declared shape, or with --batch\n"
        "and --input-shape applied). Writes DIR/<output name>.f32 for every output and\n"
        "prints the output shapes.\n"
        "\n"
        "Options:\n"
        "  --input [NAME=]FILE        data for input NAME (NAME may be left out when the\n"
        "                             model has one input); one per input\n"
        "  --output DIR               folder for the outputs (created if missing)\n"
        "  --batch N                  batch size (dimension 0 of every input)\n"
        "  --threads N                worker threads (default: number of cores)\n"
        "  --input-shape [NAME=]DIMS  run at this input shape, e.g. input=1x3x480x640\n"
        "  -h, --help                 this help\n",
        f);
  // clang-format on
}

typedef struct input_arg {
  const char *name; /* NULL: the model's only input */
  const char *file;
} input_arg;

/* mkdir -p for the output folder. */
static int make_dirs(const char *cmd, const char *dir) {
  char path[4096];
  size_t n = strlen(dir);
  if (n == 0 || n >= sizeof path) {
    cli_errorf(cmd, "bad output folder '%s'", dir);
    return -1;
  }
  memcpy(path, dir, n + 1);
  for (size_t i = 1; i <= n; i++) {
    if (path[i] != '/' && path[i] != '\0')
      continue;
    char c = path[i];
    path[i] = '\0';
    if (mkdir(path, 0755) != 0 && errno != EEXIST) {
      cli_errorf(cmd, "cannot create folder '%s': %s", path, strerror(errno));
      return -1;
    }
    path[i] = c;
  }
  struct stat st;
  if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
    cli_errorf(cmd, "'%s' is not a folder", dir);
    return -1;
  }
  return 0;
}

static int read_input(const char *cmd, const char *name, const char *file,
                      const argus_nn_tensor_desc *d, void *data) {
  char dims[160];
  cli_format_dims_x(dims, sizeof dims, d->rank, d->dims);
  if (d->dtype != ARGUS_NN_FLOAT) {
    cli_errorf(cmd,
               "input '%s' is %s; only float32 inputs can be read from "
               "raw .f32 files",
               name, cli_dtype_name(d->dtype));
    return -1;
  }
  int64_t count = cli_elem_count(d->rank, d->dims);
  int rc = -1;
  FILE *f = fopen(file, "rb");
  if (!f) {
    cli_errorf(cmd, "input '%s': cannot open '%s': %s", name, file,
               strerror(errno));
    return -1;
  }
  struct stat st;
  if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
    cli_errorf(cmd, "input '%s': '%s' is not a regular file", name, file);
    goto out;
  }
  uint64_t want = (uint64_t)count * 4u;
  if ((uint64_t)st.st_size != want) {
    cli_errorf(cmd,
               "input '%s': '%s' has %lld bytes, expected %llu (%s float32 = "
               "%lld elements x 4 bytes)",
               name, file, (long long)st.st_size, (unsigned long long)want,
               dims, (long long)count);
    if (st.st_size % 4 == 0 && count > 0 && d->rank > 0 &&
        (uint64_t)st.st_size % (want / (uint64_t)d->dims[0]) == 0)
      fprintf(stderr,
              "(the file holds %llu items of this shape: try "
              "--batch %llu)\n",
              (unsigned long long)((uint64_t)st.st_size /
                                   (want / (uint64_t)d->dims[0])),
              (unsigned long long)((uint64_t)st.st_size /
                                   (want / (uint64_t)d->dims[0])));
    goto out;
  }
  if (fread(data, 1, (size_t)want, f) != (size_t)want) {
    cli_errorf(cmd, "input '%s': reading '%s' failed: %s", name, file,
               ferror(f) ? strerror(errno) : "file shrank while reading");
    goto out;
  }
  cli_le_swap(data, (size_t)count, 4);
  rc = 0;
out:
  fclose(f);
  return rc;
}

/* Output names may hold characters that are no good in a file name ('/',
 * ':'); they become '_'. */
static void safe_name(char *out, size_t size, const char *name) {
  size_t n = 0;
  for (const char *c = name; *c && n + 1 < size; c++) {
    int ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
             (*c >= '0' && *c <= '9') || *c == '_' || *c == '-' ||
             (*c == '.' && n > 0);
    out[n++] = ok ? *c : '_';
  }
  if (n == 0)
    out[n++] = '_';
  out[n] = '\0';
}

static int write_output(const char *cmd, const char *path, const void *data,
                        size_t count, size_t esize) {
  FILE *f = fopen(path, "wb");
  if (!f) {
    cli_errorf(cmd, "cannot create '%s': %s", path, strerror(errno));
    return -1;
  }
  /* Written through a small buffer so that big-endian hosts can swap. */
  unsigned char buf[1 << 16];
  const unsigned char *src = data;
  size_t per = sizeof buf / esize, done = 0;
  int ok = 1;
  while (done < count && ok) {
    size_t k = count - done < per ? count - done : per;
    memcpy(buf, src + done * esize, k * esize);
    cli_le_swap(buf, k, esize);
    ok = fwrite(buf, esize, k, f) == k;
    done += k;
  }
  if (fclose(f) != 0)
    ok = 0;
  if (!ok) {
    cli_errorf(cmd, "writing '%s' failed: %s", path, strerror(errno));
    return -1;
  }
  return 0;
}

/* Fills the session's inputs from the files given. Returns CLI_OK, or
 * CLI_USAGE / CLI_FAIL (reported). */
static int feed_inputs(const char *cmd, argus_nn_session *s,
                       const input_arg *inputs, int ninputs) {
  int nin = argus_nn_session_input_count(s);
  int given[MAX_INPUTS] = {0};
  int rc = CLI_USAGE;
  for (int i = 0; i < ninputs; i++) {
    int k;
    if (!inputs[i].name) {
      if (nin != 1) {
        cli_errorf(cmd, "the model has %d inputs: write --input NAME=FILE",
                   nin);
        goto out;
      }
      k = 0;
    } else {
      k = argus_nn_session_find_input(s, inputs[i].name);
    }
    if (k < 0 || k >= MAX_INPUTS) {
      cli_errorf(cmd, "the model has no input named '%s'", inputs[i].name);
      fprintf(stderr, "inputs:");
      for (int j = 0; j < nin; j++) {
        argus_nn_tensor_desc d;
        void *data;
        if (argus_nn_session_input(s, j, &d, &data) == ARGUS_OK)
          fprintf(stderr, " %s", d.name);
      }
      fputc('\n', stderr);
      goto out;
    }
    if (given[k]++) {
      cli_errorf(cmd, "input %s given twice",
                 inputs[i].name ? inputs[i].name : "(the only one)");
      goto out;
    }
    argus_nn_tensor_desc d;
    void *data = NULL;
    argus_err e = argus_nn_session_input(s, k, &d, &data);
    if (e != ARGUS_OK) {
      cli_report_nn_error(cmd, e, NULL);
      rc = CLI_FAIL;
      goto out;
    }
    if (read_input(cmd, d.name, inputs[i].file, &d, data) != 0) {
      rc = CLI_FAIL;
      goto out;
    }
  }
  for (int k = 0; k < nin && k < MAX_INPUTS; k++) {
    if (given[k])
      continue;
    argus_nn_tensor_desc d;
    void *data;
    if (argus_nn_session_input(s, k, &d, &data) == ARGUS_OK) {
      char dims[160];
      cli_format_dims_x(dims, sizeof dims, d.rank, d.dims);
      cli_errorf(cmd, "no data for input '%s' (%s %s): add --input %s=FILE",
                 d.name, cli_dtype_name(d.dtype), dims, d.name);
    }
    goto out;
  }

  return CLI_OK;
out:
  return rc;
}

/* Writes every output to DIR/<name>.<type> and lists them. Returns 0, or
 * -1 (reported). */
static int write_outputs(const char *cmd, argus_nn_session *s,
                         const char *outdir) {
  argus_err e;
  int nout = argus_nn_session_output_count(s);
  char names[MAX_INPUTS][200]; /* sanitised names, to keep files apart */
  for (int i = 0; i < nout; i++) {
    argus_nn_tensor_desc d;
    const void *data = NULL;
    e = argus_nn_session_output(s, i, &d, &data);
    if (e != ARGUS_OK) {
      cli_report_nn_error(cmd, e, NULL);
      return -1;
    }
    char base[200], file[4096 + 256];
    safe_name(base, sizeof base, d.name);
    if (i < MAX_INPUTS) {
      for (int j = 0; j < i; j++)
        if (strcmp(names[j], base) == 0) { /* two names sanitised alike */
          size_t n = strlen(base);
          snprintf(base + n, sizeof base - n, "_%d", i);
          break;
        }
      snprintf(names[i], sizeof names[i], "%s", base);
    }
    snprintf(file, sizeof file, "%s/%s.%s", outdir, base,
             cli_dtype_ext(d.dtype));
    int64_t count = cli_elem_count(d.rank, d.dims);
    size_t esize = cli_dtype_size(d.dtype);
    if (count < 0 || esize == 0) {
      cli_errorf(cmd, "output '%s' has no concrete shape or type", d.name);
      return -1;
    }
    if (write_output(cmd, file, data, (size_t)count, esize) != 0)
      return -1;
    char dims[160];
    cli_format_dims(dims, sizeof dims, d.rank, d.dims);
    printf("output %-12s %-8s %-16s -> %s\n", d.name, cli_dtype_name(d.dtype),
           dims, file);
  }
  return 0;
}

int cli_nn_run_main(int argc, char **argv) {
  const char *cmd = "nn run";
  cli_session_args sa;
  memset(&sa, 0, sizeof sa);
  input_arg inputs[MAX_INPUTS];
  int ninputs = 0;
  const char *path = NULL, *outdir = NULL;

  cli_parser p;
  cli_parser_init(&p, argc, argv, cmd, run_opts);
  for (int o; (o = cli_parse_next(&p)) != CLI_OPT_END;) {
    switch (o) {
    case CLI_OPT_HELP: cli_nn_run_usage(stdout); return CLI_OK;
    case CLI_OPT_POSITIONAL:
      if (path) {
        cli_errorf(cmd, "unexpected argument '%s'", p.arg);
        cli_usage_hint(cmd);
        return CLI_USAGE;
      }
      path = p.arg;
      break;
    case OPT_INPUT: {
      if (ninputs == MAX_INPUTS) {
        cli_errorf(cmd, "at most %d --input options", MAX_INPUTS);
        return CLI_USAGE;
      }
      char *a = (char *)p.arg;
      char *eq = strchr(a, '=');
      input_arg *in = &inputs[ninputs++];
      in->name = NULL;
      in->file = a;
      if (eq) {
        *eq = '\0';
        in->name = a;
        in->file = eq + 1;
      }
      if ((in->name && !in->name[0]) || !in->file[0]) {
        cli_errorf(cmd, "--input wants NAME=FILE, got '%s'", p.arg);
        return CLI_USAGE;
      }
      break;
    }
    case OPT_OUTPUT: outdir = p.arg; break;
    case OPT_BATCH:
      if (cli_parse_int(p.arg, 1, 65536, "--batch", &sa.batch) != 0)
        return cli_bad_value(cmd);
      break;
    case OPT_THREADS:
      if (cli_parse_int(p.arg, 1, 1024, "--threads", &sa.threads) != 0)
        return cli_bad_value(cmd);
      break;
    case OPT_INPUT_SHAPE:
      if (cli_session_args_add_shape(&sa, cmd, (char *)p.arg) != 0)
        return cli_bad_value(cmd);
      break;
    default: cli_nn_run_usage(stderr); return CLI_USAGE;
    }
  }
  if (!path || !ninputs || !outdir) {
    cli_errorf(cmd, "missing %s",
               !path      ? "MODEL"
               : !ninputs ? "--input"
                          : "--output DIR");
    cli_nn_run_usage(stderr);
    return CLI_USAGE;
  }

  argus_nn_model *m = NULL;
  argus_threadpool *pool = NULL;
  argus_nn_session *s = NULL;
  int rc = cli_nn_open(cmd, path, &sa, &m, &pool, &s);
  if (rc != CLI_OK)
    return rc;

  rc = feed_inputs(cmd, s, inputs, ninputs);
  if (rc != CLI_OK)
    goto out;

  rc = CLI_FAIL;
  if (make_dirs(cmd, outdir) != 0)
    goto out;
  argus_nn_error nerr;
  memset(&nerr, 0, sizeof nerr);
  uint64_t t0 = argus_time_ns();
  argus_err e = argus_nn_session_run(s, &nerr);
  uint64_t t1 = argus_time_ns();
  if (e != ARGUS_OK) {
    cli_report_nn_error(cmd, e, &nerr);
    goto out;
  }
  printf("ran %s in %.3f ms (%d thread%s, isa %s)\n", cli_basename(path),
         (double)(t1 - t0) / 1e6, argus_threadpool_size(pool),
         argus_threadpool_size(pool) == 1 ? "" : "s", argus_cpu_isa_name());

  if (write_outputs(cmd, s, outdir) != 0)
    goto out;
  rc = CLI_OK;

out:
  argus_nn_session_free(s);
  argus_threadpool_destroy(pool);
  argus_nn_model_free(m);
  return rc;
}
