/*
 * ONNX backend conformance runner.
 *
 * Runs every case of the ONNX node tests ($ARGUS_ONNX_TESTDATA/node/test_*:
 * model.onnx plus test_data_set_N/{input,output}_K.pb TensorProtos) through
 * the engine and compares the outputs with the reference ones.
 *
 * A case whose model uses an op the engine does not implement counts as
 * "unsupported" (listed with -v). A case that uses only implemented ops but
 * is refused with ARGUS_E_UNSUPPORTED (training-mode BatchNormalization,
 * float16 tensors, an attribute value an op does not handle...) counts as
 * "unsupported feature" and is always printed, so that the gap stays
 * visible; it does not fail the run. Anything else that goes wrong (a load
 * or plan error other than UNSUPPORTED, a wrong dtype, shape or value, a
 * crash, a timeout) is a failure and the program exits non-zero.
 *
 * Each case runs in a child process, so that a crash or a hang in one case
 * is reported as that case's failure and the run goes on (--no-fork runs in
 * process, for a debugger).
 *
 * usage: test_conformance [-v] [--no-fork] [FILTER]
 *   FILTER  only run cases whose folder name contains this substring
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "argus/nn.h"
#include "nn/graph.h"
#include "nn/onnx.h"

/* Float tolerance: |got - want| <= ATOL + RTOL * |want|. */
#define ATOL 1e-5
#define RTOL 1e-4
/* The ONNX backend test's own default (numpy assert_allclose), reported
 * alongside a mismatch so that a tolerance question is told apart from a
 * wrong result. */
#define ONNX_ATOL 1e-7
#define ONNX_RTOL 1e-3

#define CASE_TIMEOUT_S 120
#define MAX_FILE_BYTES ((size_t)256 << 20)
#define MAX_CASE_OPS 64
#define MAX_OP_NAME 96
#define MAX_INPUTS 64

enum case_status {
  ST_PASS = 0,
  ST_FAIL,
  ST_UNSUP_OP,      /* uses an op the engine does not have */
  ST_UNSUP_FEATURE, /* all ops implemented, refused with UNSUPPORTED */
};

typedef struct case_result {
  int status;
  int not_refused; /* uses an op the engine lacks; load failed otherwise */
  char msg[1536];
} case_result;

typedef struct case_ops {
  char names[MAX_CASE_OPS][MAX_OP_NAME]; /* "Type" or "domain:Type" */
  int supported[MAX_CASE_OPS];
  int count;
  int all_supported;
  int scan_ok;
} case_ops;

static int g_verbose;

/* ---- small helpers ------------------------------------------------------ */

static void set_msg(case_result *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_msg(case_result *r, int status, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(r->msg, sizeof r->msg, fmt, ap);
  va_end(ap);
  r->status = status;
}

static void quiet_sink(void *user, argus_log_level level, const char *module,
                       const char *line) {
  (void)user, (void)level, (void)module, (void)line;
}

/* Reads a whole file (up to MAX_FILE_BYTES). Returns NULL when it is absent
 * or unreadable; *missing tells which. */
static uint8_t *read_file(const char *path, size_t *len, int *missing) {
  *missing = 0;
  FILE *f = fopen(path, "rb");
  if (!f) {
    *missing = (errno == ENOENT);
    return NULL;
  }
  uint8_t *buf = NULL;
  size_t cap = 0, n = 0;
  for (;;) {
    if (n == cap) {
      size_t ncap = cap ? cap * 2 : 65536;
      if (ncap > MAX_FILE_BYTES) {
        free(buf);
        fclose(f);
        return NULL;
      }
      uint8_t *nb = realloc(buf, ncap);
      if (!nb) {
        free(buf);
        fclose(f);
        return NULL;
      }
      buf = nb;
      cap = ncap;
    }
    size_t got = fread(buf + n, 1, cap - n, f);
    n += got;
    if (got == 0)
      break;
  }
  int bad = ferror(f);
  fclose(f);
  if (bad) {
    free(buf);
    return NULL;
  }
  *len = n;
  return buf;
}

/* snprintf for paths: -1 when the result does not fit. */
static int pathf(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int pathf(char *buf, size_t len, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, len, fmt, ap);
  va_end(ap);
  return (n < 0 || (size_t)n >= len) ? -1 : 0;
}

static int file_exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names of the sub-folders of dir that start with prefix. */
static char **list_dirs(const char *dir, const char *prefix, int *count) {
  *count = 0;
  DIR *d = opendir(dir);
  if (!d)
    return NULL;
  char **names = NULL;
  int n = 0, cap = 0;
  struct dirent *e;
  size_t plen = strlen(prefix);
  while ((e = readdir(d))) {
    if (strncmp(e->d_name, prefix, plen) != 0)
      continue;
    char path[4096];
    struct stat st;
    if (pathf(path, sizeof path, "%s/%s", dir, e->d_name) ||
        stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
      continue;
    if (n == cap) {
      cap = cap ? cap * 2 : 256;
      char **nn = realloc(names, (size_t)cap * sizeof *nn);
      if (!nn)
        break;
      names = nn;
    }
    names[n] = strdup(e->d_name);
    if (names[n])
      n++;
  }
  closedir(d);
  if (names)
    qsort(names, (size_t)n, sizeof *names, cmp_str);
  *count = n;
  return names;
}

static void free_list(char **names, int n) {
  for (int i = 0; i < n; i++)
    free(names[i]);
  free(names);
}

/* ---- which ops does a model use? ---------------------------------------
 * A minimal protobuf walk, independent of the engine's loader, so that a
 * model the loader refuses can still be classified. */

typedef struct pbr {
  const uint8_t *p, *end;
} pbr;

static int pbr_varint(pbr *r, uint64_t *v) {
  uint64_t x = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (r->p >= r->end)
      return -1;
    uint8_t b = *r->p++;
    x |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      *v = x;
      return 0;
    }
  }
  return -1;
}

/* Next field: number, wire type, and for wire type 2 the payload. */
static int pbr_field(pbr *r, int *field, int *wt, pbr *sub) {
  uint64_t key, v;
  if (pbr_varint(r, &key))
    return -1;
  *field = (int)(key >> 3);
  *wt = (int)(key & 7);
  switch (*wt) {
  case 0: return pbr_varint(r, &v);
  case 1:
    if (r->end - r->p < 8)
      return -1;
    r->p += 8;
    return 0;
  case 5:
    if (r->end - r->p < 4)
      return -1;
    r->p += 4;
    return 0;
  case 2:
    if (pbr_varint(r, &v) || v > (uint64_t)(r->end - r->p))
      return -1;
    sub->p = r->p;
    sub->end = r->p + v;
    r->p += v;
    return 0;
  default: return -1;
  }
}

static void ops_add(case_ops *ops, const char *domain, size_t dlen,
                    const char *type, size_t tlen) {
  char name[MAX_OP_NAME];
  int is_default =
      dlen == 0 || (dlen == 7 && memcmp(domain, "ai.onnx", 7) == 0);
  if (is_default)
    snprintf(name, sizeof name, "%.*s", (int)tlen, type);
  else
    snprintf(name, sizeof name, "%.*s:%.*s", (int)dlen, domain, (int)tlen,
             type);
  for (int i = 0; i < ops->count; i++)
    if (strcmp(ops->names[i], name) == 0)
      return;
  if (ops->count == MAX_CASE_OPS)
    return;
  snprintf(ops->names[ops->count], MAX_OP_NAME, "%s", name);
  char dom[MAX_OP_NAME], typ[MAX_OP_NAME];
  snprintf(dom, sizeof dom, "%.*s", (int)dlen, domain);
  snprintf(typ, sizeof typ, "%.*s", (int)tlen, type);
  ops->supported[ops->count] = nn_op_find(dom, typ) != NULL;
  ops->count++;
}

static int scan_graph(pbr g, case_ops *ops, int depth);

/* NodeProto: op_type = 4, domain = 7, attribute = 5 (AttributeProto: g = 6,
 * graphs = 11, for the bodies of If/Loop/Scan). */
static int scan_node(pbr n, case_ops *ops, int depth) {
  const char *type = "", *domain = "";
  size_t tlen = 0, dlen = 0;
  int field, wt;
  pbr sub;
  while (n.p < n.end) {
    if (pbr_field(&n, &field, &wt, &sub))
      return -1;
    if (wt != 2)
      continue;
    if (field == 4) {
      type = (const char *)sub.p;
      tlen = (size_t)(sub.end - sub.p);
    } else if (field == 7) {
      domain = (const char *)sub.p;
      dlen = (size_t)(sub.end - sub.p);
    } else if (field == 5) {
      pbr a = sub, gsub;
      while (a.p < a.end) {
        if (pbr_field(&a, &field, &wt, &gsub))
          return -1;
        if (wt == 2 && (field == 6 || field == 11) &&
            scan_graph(gsub, ops, depth + 1))
          return -1;
      }
    }
  }
  ops_add(ops, domain, dlen, type, tlen);
  return 0;
}

static int scan_graph(pbr g, case_ops *ops, int depth) {
  if (depth > 8)
    return -1;
  int field, wt;
  pbr sub;
  while (g.p < g.end) {
    if (pbr_field(&g, &field, &wt, &sub))
      return -1;
    if (wt == 2 && field == 1 && scan_node(sub, ops, depth))
      return -1;
  }
  return 0;
}

/* ModelProto: graph = 7. */
static void scan_model(const uint8_t *buf, size_t len, case_ops *ops) {
  memset(ops, 0, sizeof *ops);
  pbr m = {buf, buf + len}, sub;
  int field, wt, ok = 1;
  while (m.p < m.end) {
    if (pbr_field(&m, &field, &wt, &sub)) {
      ok = 0;
      break;
    }
    if (wt == 2 && field == 7 && scan_graph(sub, ops, 0)) {
      ok = 0;
      break;
    }
  }
  ops->scan_ok = ok;
  ops->all_supported = ok;
  for (int i = 0; i < ops->count; i++)
    if (!ops->supported[i])
      ops->all_supported = 0;
}

static void missing_ops(const case_ops *ops, char *buf, size_t len) {
  size_t n = 0;
  buf[0] = 0;
  for (int i = 0; i < ops->count && n < len; i++) {
    if (ops->supported[i])
      continue;
    int w = snprintf(buf + n, len - n, "%s%s", n ? ", " : "", ops->names[i]);
    if (w < 0)
      break;
    n += (size_t)w;
  }
}

/* ---- comparing tensors -------------------------------------------------- */

static double elem_as_double(const void *data, int dtype, size_t i) {
  switch (dtype) {
  case NN_FLOAT: return ((const float *)data)[i];
  case NN_DOUBLE: return ((const double *)data)[i];
  case NN_UINT8: return ((const uint8_t *)data)[i];
  case NN_INT8: return ((const int8_t *)data)[i];
  case NN_UINT16: return ((const uint16_t *)data)[i];
  case NN_INT16: return ((const int16_t *)data)[i];
  case NN_INT32: return ((const int32_t *)data)[i];
  case NN_INT64: return (double)((const int64_t *)data)[i];
  case NN_UINT32: return ((const uint32_t *)data)[i];
  case NN_UINT64: return (double)((const uint64_t *)data)[i];
  case NN_BOOL: return ((const uint8_t *)data)[i] != 0;
  default: return NAN;
  }
}

/* Exact comparison of integer and boolean elements. */
static int elem_int_equal(const void *a, const void *b, int dtype, size_t i) {
  switch (dtype) {
  case NN_BOOL:
    return (((const uint8_t *)a)[i] != 0) == (((const uint8_t *)b)[i] != 0);
  case NN_INT64: return ((const int64_t *)a)[i] == ((const int64_t *)b)[i];
  case NN_UINT64: return ((const uint64_t *)a)[i] == ((const uint64_t *)b)[i];
  default: {
    size_t es = nn_dtype_size(dtype);
    return memcmp((const uint8_t *)a + i * es, (const uint8_t *)b + i * es,
                  es) == 0;
  }
  }
}

static int float_close(double got, double want, double atol, double rtol) {
  if (isnan(want))
    return isnan(got);
  if (isinf(want) || isinf(got))
    return got == want;
  return fabs(got - want) <= atol + rtol * fabs(want);
}

static void index_str(size_t flat, int rank, const int64_t *dims, char *buf,
                      size_t len) {
  int64_t idx[ARGUS_NN_MAX_RANK];
  size_t rem = flat;
  for (int d = rank - 1; d >= 0; d--) {
    int64_t dim = dims[d] > 0 ? dims[d] : 1;
    idx[d] = (int64_t)(rem % (size_t)dim);
    rem /= (size_t)dim;
  }
  size_t n = 0;
  n += (size_t)snprintf(buf + n, len - n, "[");
  for (int d = 0; d < rank && n < len; d++)
    n += (size_t)snprintf(buf + n, len - n, "%s%" PRId64, d ? "," : "", idx[d]);
  if (n < len)
    snprintf(buf + n, len - n, "]");
}

/* Compares one output; returns 0 when equal, else fills r. */
static int compare_output(const char *label, const argus_nn_tensor_desc *d,
                          const void *got, const nn_tensor *want,
                          case_result *r) {
  char s1[128], s2[128];
  if (d->dtype != want->dtype) {
    set_msg(r, ST_FAIL, "%s: dtype %s, expected %s", label,
            nn_dtype_name(d->dtype), nn_dtype_name(want->dtype));
    return -1;
  }
  int same_shape = d->rank == want->rank;
  for (int i = 0; same_shape && i < d->rank; i++)
    same_shape = d->dims[i] == want->dims[i];
  if (!same_shape) {
    set_msg(r, ST_FAIL, "%s: shape %s, expected %s", label,
            nn_shape_str(d->rank, d->dims, s1, sizeof s1),
            nn_shape_str(want->rank, want->dims, s2, sizeof s2));
    return -1;
  }
  size_t n = want->nelem;
  if (n && !got) {
    set_msg(r, ST_FAIL, "%s: no data", label);
    return -1;
  }
  int is_float = want->dtype == NN_FLOAT || want->dtype == NN_DOUBLE;
  size_t nbad = 0, first = 0;
  double max_abs = 0, max_rel = 0;
  int onnx_ok = 1;
  for (size_t i = 0; i < n; i++) {
    int ok;
    if (is_float) {
      double a = elem_as_double(got, want->dtype, i);
      double b = elem_as_double(want->data, want->dtype, i);
      ok = float_close(a, b, ATOL, RTOL);
      if (!ok) {
        if (!float_close(a, b, ONNX_ATOL, ONNX_RTOL))
          onnx_ok = 0;
        if (isfinite(a) && isfinite(b)) {
          double e = fabs(a - b);
          if (e > max_abs)
            max_abs = e;
          if (b != 0 && e / fabs(b) > max_rel)
            max_rel = e / fabs(b);
        }
      }
    } else {
      ok = elem_int_equal(got, want->data, want->dtype, i);
    }
    if (!ok && nbad++ == 0)
      first = i;
  }
  if (!nbad)
    return 0;
  index_str(first, want->rank, want->dims, s1, sizeof s1);
  if (is_float)
    set_msg(r, ST_FAIL,
            "%s: %zu of %zu values differ; first at %s (flat %zu): got %.9g, "
            "expected %.9g; max abs err %.3g, max rel err %.3g; %s onnx's "
            "rtol 1e-3",
            label, nbad, n, s1, first, elem_as_double(got, want->dtype, first),
            elem_as_double(want->data, want->dtype, first), max_abs, max_rel,
            onnx_ok ? "within" : "outside");
  else
    set_msg(r, ST_FAIL,
            "%s: %zu of %zu values differ; first at %s (flat %zu): got %.17g, "
            "expected %.17g",
            label, nbad, n, s1, first, elem_as_double(got, want->dtype, first),
            elem_as_double(want->data, want->dtype, first));
  return -1;
}

/* ---- running one case --------------------------------------------------- */

/* Reads dir/prefix_K.pb for K = 0.. until one is missing into t[0..*n).
 * Returns 0, or -1 with r filled (*n then counts the tensors to free). */
static int read_tensors(const char *dir, const char *prefix, nn_tensor *t,
                        char **names, int max, int *n, case_result *r) {
  for (*n = 0;; (*n)++) {
    char path[4096];
    if (pathf(path, sizeof path, "%s/%s_%d.pb", dir, prefix, *n)) {
      set_msg(r, ST_FAIL, "path too long: %s", dir);
      return -1;
    }
    if (!file_exists(path))
      return 0;
    if (*n == max) {
      set_msg(r, ST_FAIL, "more than %d %s files", max, prefix);
      return -1;
    }
    size_t len = 0;
    int missing;
    uint8_t *buf = read_file(path, &len, &missing);
    if (!buf) {
      set_msg(r, ST_FAIL, "cannot read %s", path);
      return -1;
    }
    nn_err err = {{0}};
    argus_err e = nn_onnx_parse_tensor(buf, len, &t[*n], &names[*n], &err);
    free(buf);
    if (e != ARGUS_OK) {
      set_msg(r, e == ARGUS_E_UNSUPPORTED ? ST_UNSUP_FEATURE : ST_FAIL,
              "%s_%d.pb: %s: %s", prefix, *n, argus_errname(e), err.msg);
      return -1;
    }
  }
}

static void free_tensors(nn_tensor *t, char **names, int n) {
  for (int i = 0; i < n; i++) {
    nn_tensor_clear(&t[i]);
    free(names[i]);
    names[i] = NULL;
  }
}

static int run_data_set(argus_nn_model *m, const char *dir, const char *set,
                        case_result *r) {
  nn_tensor in[MAX_INPUTS], out[MAX_INPUTS];
  char *in_names[MAX_INPUTS] = {0}, *out_names[MAX_INPUTS] = {0};
  memset(in, 0, sizeof in);
  memset(out, 0, sizeof out);
  argus_nn_input_shape shapes[MAX_INPUTS];
  argus_nn_session *s = NULL;
  argus_nn_error err = {{0}};
  int nin = 0, nout = 0, rc = -1;
  char path[4096];
  if (pathf(path, sizeof path, "%s/%s", dir, set)) {
    set_msg(r, ST_FAIL, "path too long: %s", dir);
    return -1;
  }

  if (read_tensors(path, "input", in, in_names, MAX_INPUTS, &nin, r) ||
      read_tensors(path, "output", out, out_names, MAX_INPUTS, &nout, r))
    goto done;

  int model_in = argus_nn_model_input_count(m);
  if (nin != model_in) {
    set_msg(r, ST_FAIL, "%s: %d input files, the model declares %d inputs", set,
            nin, model_in);
    goto done;
  }
  for (int i = 0; i < nin; i++) {
    argus_nn_tensor_desc d;
    argus_err e = argus_nn_model_input(m, i, &d);
    if (e != ARGUS_OK) {
      set_msg(r, ST_FAIL, "model input %d: %s", i, argus_errname(e));
      goto done;
    }
    if (in_names[i] && *in_names[i] && strcmp(in_names[i], d.name) != 0 &&
        g_verbose)
      printf("  note: input_%d.pb is named '%s', model input %d is '%s'\n", i,
             in_names[i], i, d.name);
    if (in[i].rank > ARGUS_NN_MAX_RANK) {
      set_msg(r, ST_UNSUP_FEATURE, "input %d has rank %d", i, in[i].rank);
      goto done;
    }
    shapes[i].name = d.name;
    shapes[i].rank = in[i].rank;
    memcpy(shapes[i].dims, in[i].dims, sizeof(int64_t) * (size_t)in[i].rank);
  }

  /* Integer inputs carry shapes, axes and indices (Reshape's shape, Slice's
   * starts, Unsqueeze's axes): argus plans with static shapes, so they are
   * given as plan-time values. */
  argus_nn_input_value values[MAX_INPUTS];
  int nvalues = 0;
  for (int i = 0; i < nin; i++)
    if (in[i].dtype == NN_INT64 || in[i].dtype == NN_INT32) {
      values[nvalues].name = shapes[i].name;
      values[nvalues].data = in[i].data;
      values[nvalues].bytes = in[i].nelem * nn_dtype_size(in[i].dtype);
      nvalues++;
    }
  argus_nn_session_opts opts = {0};
  opts.shapes = shapes;
  opts.nshapes = nin;
  opts.values = values;
  opts.nvalues = nvalues;
  argus_err e = argus_nn_session_create(m, &opts, &s, &err);
  if (e != ARGUS_OK) {
    set_msg(r, e == ARGUS_E_UNSUPPORTED ? ST_UNSUP_FEATURE : ST_FAIL,
            "%s: session: %s: %s", set, argus_errname(e), err.msg);
    goto done;
  }

  for (int i = 0; i < nin; i++) {
    int si = argus_nn_session_find_input(s, shapes[i].name);
    if (si < 0) {
      set_msg(r, ST_FAIL, "session has no input '%s'", shapes[i].name);
      goto done;
    }
    argus_nn_tensor_desc d;
    void *data = NULL;
    e = argus_nn_session_input(s, si, &d, &data);
    if (e != ARGUS_OK) {
      set_msg(r, ST_FAIL, "session input %d: %s", si, argus_errname(e));
      goto done;
    }
    char s1[128], s2[128];
    if (d.dtype != in[i].dtype) {
      set_msg(r, ST_FAIL, "input '%s': session dtype %s, data is %s", d.name,
              nn_dtype_name(d.dtype), nn_dtype_name(in[i].dtype));
      goto done;
    }
    int same = d.rank == in[i].rank;
    for (int k = 0; same && k < d.rank; k++)
      same = d.dims[k] == in[i].dims[k];
    if (!same) {
      set_msg(r, ST_FAIL, "input '%s': session shape %s, data is %s", d.name,
              nn_shape_str(d.rank, d.dims, s1, sizeof s1),
              nn_shape_str(in[i].rank, in[i].dims, s2, sizeof s2));
      goto done;
    }
    size_t bytes = in[i].nelem * nn_dtype_size(in[i].dtype);
    if (bytes) {
      if (!data) {
        set_msg(r, ST_FAIL, "input '%s': no buffer", d.name);
        goto done;
      }
      memcpy(data, in[i].data, bytes);
    }
  }

  e = argus_nn_session_run(s, &err);
  if (e != ARGUS_OK) {
    set_msg(r, e == ARGUS_E_UNSUPPORTED ? ST_UNSUP_FEATURE : ST_FAIL,
            "%s: run: %s: %s", set, argus_errname(e), err.msg);
    goto done;
  }

  int sout = argus_nn_session_output_count(s);
  if (nout != sout) {
    set_msg(r, ST_FAIL, "%s: %d output files, the session has %d outputs", set,
            nout, sout);
    goto done;
  }
  for (int i = 0; i < nout; i++) {
    argus_nn_tensor_desc d;
    const void *data = NULL;
    e = argus_nn_session_output(s, i, &d, &data);
    if (e != ARGUS_OK) {
      set_msg(r, ST_FAIL, "session output %d: %s", i, argus_errname(e));
      goto done;
    }
    char label[256];
    snprintf(label, sizeof label, "%s: output %d '%s'", set, i,
             d.name ? d.name : "?");
    if (compare_output(label, &d, data, &out[i], r))
      goto done;
  }
  rc = 0;

done:
  argus_nn_session_free(s);
  free_tensors(in, in_names, nin);
  free_tensors(out, out_names, nout);
  return rc;
}

static void run_case(const char *root, const char *name, const case_ops *ops,
                     case_result *r) {
  char dir[4096], path[4096];
  memset(r, 0, sizeof *r);
  if (pathf(dir, sizeof dir, "%s/%s", root, name) ||
      pathf(path, sizeof path, "%s/model.onnx", dir)) {
    set_msg(r, ST_FAIL, "path too long: %s", name);
    return;
  }

  argus_nn_model *m = NULL;
  argus_nn_error err = {{0}};
  argus_err e = argus_nn_model_load_file(path, &m, &err);
  if (e != ARGUS_OK) {
    char miss[512];
    missing_ops(ops, miss, sizeof miss);
    if (e == ARGUS_E_UNSUPPORTED && !ops->all_supported) {
      set_msg(r, ST_UNSUP_OP, "op %s (loader: %s)", miss, err.msg);
    } else if (e == ARGUS_E_UNSUPPORTED) {
      set_msg(r, ST_UNSUP_FEATURE, "load: %s", err.msg);
    } else if (!ops->all_supported) {
      set_msg(r, ST_FAIL,
              "load: %s: %s (model uses unsupported op %s: the loader should "
              "say UNSUPPORTED)",
              argus_errname(e), err.msg, miss);
      r->not_refused = 1;
    } else {
      set_msg(r, ST_FAIL, "load: %s: %s", argus_errname(e), err.msg);
    }
    return;
  }

  int nsets = 0;
  char **sets = list_dirs(dir, "test_data_set_", &nsets);
  if (nsets == 0)
    set_msg(r, ST_FAIL, "no test_data_set_* folder");
  for (int i = 0; i < nsets; i++)
    if (run_data_set(m, dir, sets[i], r))
      break;
  free_list(sets, nsets);
  argus_nn_model_free(m);
}

/* Runs a case in a child process; a crash, an ASan report or a timeout
 * becomes that case's failure. */
static void run_case_isolated(const char *root, const char *name,
                              const case_ops *ops, case_result *r) {
  int fd[2];
  if (pipe(fd) != 0) {
    run_case(root, name, ops, r);
    return;
  }
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid < 0) {
    close(fd[0]);
    close(fd[1]);
    run_case(root, name, ops, r);
    return;
  }
  if (pid == 0) {
    close(fd[0]);
    alarm(CASE_TIMEOUT_S);
    case_result cr;
    run_case(root, name, ops, &cr);
    const char *p = (const char *)&cr;
    size_t left = sizeof cr;
    while (left) {
      ssize_t w = write(fd[1], p, left);
      if (w < 0 && errno == EINTR)
        continue;
      if (w <= 0)
        break;
      p += w;
      left -= (size_t)w;
    }
    fflush(stdout);
    _exit(0);
  }
  close(fd[1]);
  size_t got = 0;
  char *p = (char *)r;
  while (got < sizeof *r) {
    ssize_t n = read(fd[0], p + got, sizeof *r - got);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    got += (size_t)n;
  }
  close(fd[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (got == sizeof *r && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
    r->msg[sizeof r->msg - 1] = 0;
    return;
  }
  if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM)
    set_msg(r, ST_FAIL, "timed out after %d s", CASE_TIMEOUT_S);
  else if (WIFSIGNALED(status))
    set_msg(r, ST_FAIL, "crashed: signal %d (%s)", WTERMSIG(status),
            strsignal(WTERMSIG(status)));
  else
    set_msg(r, ST_FAIL,
            "the case process exited with status %d without a result (a "
            "sanitizer report above?)",
            WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

/* ---- per-op table ------------------------------------------------------- */

typedef struct op_row {
  char name[MAX_OP_NAME];
  int passed, total, unsup_feature;
} op_row;

static int cmp_row(const void *a, const void *b) {
  return strcmp(((const op_row *)a)->name, ((const op_row *)b)->name);
}

static op_row *row_get(op_row **rows, int *n, int *cap, const char *name) {
  for (int i = 0; i < *n; i++)
    if (strcmp((*rows)[i].name, name) == 0)
      return &(*rows)[i];
  if (*n == *cap) {
    int ncap = *cap ? *cap * 2 : 64;
    op_row *nr = realloc(*rows, (size_t)ncap * sizeof *nr);
    if (!nr)
      return NULL;
    *rows = nr;
    *cap = ncap;
  }
  op_row *row = &(*rows)[(*n)++];
  memset(row, 0, sizeof *row);
  snprintf(row->name, sizeof row->name, "%s", name);
  return row;
}

int main(int argc, char **argv) {
  const char *filter = NULL;
  int use_fork = 1;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "-v") == 0)
      g_verbose = 1;
    else if (strcmp(argv[i], "--no-fork") == 0)
      use_fork = 0;
    else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
      printf("usage: %s [-v] [--no-fork] [FILTER]\n", argv[0]);
      return 0;
    } else
      filter = argv[i];
  }
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (!g_verbose)
    argus_log_set_sink(quiet_sink, NULL);

  const char *data = getenv("ARGUS_ONNX_TESTDATA");
  if (!data || !*data)
    data = "/usr/share/libonnx-testdata/data";
  char root[4096];
  snprintf(root, sizeof root, "%s/node", data);
  struct stat st;
  if (stat(root, &st) != 0 || !S_ISDIR(st.st_mode)) {
    fprintf(stderr,
            "SKIP: no ONNX backend test data at %s (set ARGUS_ONNX_TESTDATA; "
            "Debian package libonnx-testdata)\n",
            root);
    return 77;
  }

  int ncases = 0;
  char **cases = list_dirs(root, "test_", &ncases);
  int passed = 0, failed = 0, unsup = 0, unsup_feature = 0, total = 0;
  int not_refused = 0;
  op_row *rows = NULL, *missing = NULL;
  int nrows = 0, caprows = 0, nmissing = 0, capmissing = 0;

  for (int c = 0; c < ncases; c++) {
    const char *name = cases[c];
    if (filter && !strstr(name, filter))
      continue;
    total++;

    char path[4096];
    size_t len = 0;
    int miss;
    uint8_t *buf = NULL;
    if (!pathf(path, sizeof path, "%s/%s/model.onnx", root, name))
      buf = read_file(path, &len, &miss);
    case_ops ops;
    memset(&ops, 0, sizeof ops);
    if (buf)
      scan_model(buf, len, &ops);
    free(buf);

    case_result r;
    memset(&r, 0, sizeof r);
    if (use_fork)
      run_case_isolated(root, name, &ops, &r);
    else
      run_case(root, name, &ops, &r);

    switch (r.status) {
    case ST_PASS:
      passed++;
      if (g_verbose)
        printf("PASS %s\n", name);
      break;
    case ST_FAIL:
      failed++;
      printf("FAIL %s: %s\n", name, r.msg);
      break;
    case ST_UNSUP_OP:
      unsup++;
      if (g_verbose)
        printf("UNSUPPORTED %s: %s\n", name, r.msg);
      break;
    case ST_UNSUP_FEATURE:
      unsup++;
      unsup_feature++;
      printf("UNSUPPORTED FEATURE %s: %s\n", name, r.msg);
      break;
    }

    /* The table counts cases by every op they use that the engine has. */
    int ran = r.status != ST_UNSUP_OP && !r.not_refused;
    not_refused += r.not_refused;
    for (int i = 0; i < ops.count; i++) {
      if (!ops.supported[i]) {
        op_row *row = row_get(&missing, &nmissing, &capmissing, ops.names[i]);
        if (row)
          row->total++;
        continue;
      }
      if (!ran)
        continue;
      op_row *row = row_get(&rows, &nrows, &caprows, ops.names[i]);
      if (!row)
        continue;
      if (r.status == ST_UNSUP_FEATURE) {
        row->unsup_feature++;
        continue;
      }
      row->total++;
      if (r.status == ST_PASS)
        row->passed++;
    }
  }

  if (nrows) {
    qsort(rows, (size_t)nrows, sizeof *rows, cmp_row);
    printf("\nper op (cases that use it: passed/run, + refused as unsupported "
           "feature):\n");
    for (int i = 0; i < nrows; i++) {
      printf("  %-24s %3d/%-3d", rows[i].name, rows[i].passed, rows[i].total);
      if (rows[i].unsup_feature)
        printf("  +%d unsupported feature", rows[i].unsup_feature);
      if (rows[i].passed != rows[i].total)
        printf("  <-- %d failing", rows[i].total - rows[i].passed);
      printf("\n");
    }
  }
  if (g_verbose && nmissing) {
    qsort(missing, (size_t)nmissing, sizeof *missing, cmp_row);
    printf("\nops the engine does not implement (cases using them):\n");
    for (int i = 0; i < nmissing; i++)
      printf("  %-32s %d\n", missing[i].name, missing[i].total);
  }
  printf("\nconformance: %d passed, %d failed, %d unsupported (of %d cases)\n",
         passed, failed, unsup, total);
  if (unsup_feature)
    printf("  of the unsupported, %d use only implemented ops but were "
           "refused (unsupported feature, listed above)\n",
           unsup_feature);
  if (not_refused)
    printf("  of the failed, %d use an op the engine lacks but were not "
           "refused with UNSUPPORTED\n",
           not_refused);

  free(rows);
  free(missing);
  free_list(cases, ncases);
  return failed ? 1 : 0;
}
