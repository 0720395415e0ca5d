/*
 * Robustness of the ONNX loader on generated input.
 *
 * A tiny protobuf writer builds a small valid model (x[2,3] + bias -> Add ->
 * Relu -> y) and variants of it that are broken in one precise way. Every
 * broken input must be refused with an error code and a message that names
 * what is wrong, without a crash or a sanitizer report; the valid model must
 * load, plan and run and give the right numbers. Run it in the sanitizer
 * build (-DARGUS_SANITIZE=ON) for the memory checks to mean something.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "argus/nn.h"
#include "check.h"
#include "nn/graph.h"
#include "nn/onnx.h"

/* ---- protobuf writer ---------------------------------------------------- */

typedef struct pbw {
  uint8_t *b;
  size_t n, cap;
} pbw;

static void pbw_raw(pbw *w, const void *p, size_t n) {
  if (w->n + n > w->cap) {
    size_t cap = w->cap ? w->cap : 256;
    while (cap < w->n + n)
      cap *= 2;
    uint8_t *nb = realloc(w->b, cap);
    if (!nb) {
      fprintf(stderr, "out of memory in the test's protobuf writer\n");
      exit(1);
    }
    w->b = nb;
    w->cap = cap;
  }
  if (n)
    memcpy(w->b + w->n, p, n);
  w->n += n;
}

static void pbw_varint(pbw *w, uint64_t v) {
  uint8_t tmp[10];
  size_t n = 0;
  do {
    tmp[n] = (uint8_t)(v & 0x7f);
    v >>= 7;
    if (v)
      tmp[n] |= 0x80;
    n++;
  } while (v);
  pbw_raw(w, tmp, n);
}

enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_I32 = 5 };

static void pbw_key(pbw *w, unsigned field, unsigned wt) {
  pbw_varint(w, ((uint64_t)field << 3) | wt);
}
static void pbw_int(pbw *w, unsigned field, int64_t v) {
  pbw_key(w, field, WT_VARINT);
  pbw_varint(w, (uint64_t)v);
}
static void pbw_bytes(pbw *w, unsigned field, const void *p, size_t n) {
  pbw_key(w, field, WT_LEN);
  pbw_varint(w, n);
  pbw_raw(w, p, n);
}
static void pbw_str(pbw *w, unsigned field, const char *s) {
  pbw_bytes(w, field, s, strlen(s));
}
static void pbw_f32(pbw *w, unsigned field, float f) {
  pbw_key(w, field, WT_I32);
  pbw_raw(w, &f, 4); /* little-endian host, as protobuf's fixed32 */
}
/* Embeds sub as field and releases it. */
static void pbw_sub(pbw *w, unsigned field, pbw *sub) {
  pbw_bytes(w, field, sub->b, sub->n);
  free(sub->b);
  memset(sub, 0, sizeof *sub);
}

/* ---- ONNX messages ------------------------------------------------------ */

/* TensorProto fields. */
enum {
  T_DIMS = 1,
  T_DATA_TYPE = 2,
  T_FLOAT_DATA = 4,
  T_INT32_DATA = 5,
  T_INT64_DATA = 7,
  T_NAME = 8,
  T_RAW_DATA = 9,
  T_DOUBLE_DATA = 10,
  T_EXTERNAL_DATA = 13,
  T_DATA_LOCATION = 14,
};

/* How the model's initializer "bias_w" is written. */
typedef struct init_spec {
  int dtype;
  int rank;
  int64_t dims[4];
  const void *raw; /* raw_data; NULL: none */
  size_t raw_len;
  int external; /* data_location = EXTERNAL with a location entry */
} init_spec;

static void tensor_proto(pbw *t, const char *name, const init_spec *s) {
  pbw_str(t, T_NAME, name);
  for (int i = 0; i < s->rank; i++)
    pbw_int(t, T_DIMS, s->dims[i]);
  pbw_int(t, T_DATA_TYPE, s->dtype);
  if (s->external) {
    pbw e = {0};
    pbw_str(&e, 1, "location");
    pbw_str(&e, 2, "bias_w.bin");
    pbw_sub(t, T_EXTERNAL_DATA, &e);
    pbw_int(t, T_DATA_LOCATION, 1);
  }
  if (s->raw)
    pbw_bytes(t, T_RAW_DATA, s->raw, s->raw_len);
}

/* ValueInfoProto for a float tensor; a negative dim is written as the
 * symbolic dimension "N". */
static void value_info(pbw *v, const char *name, int rank,
                       const int64_t *dims) {
  pbw shape = {0}, tensor = {0}, type = {0};
  for (int i = 0; i < rank; i++) {
    pbw dim = {0};
    if (dims[i] < 0)
      pbw_str(&dim, 2, "N");
    else
      pbw_int(&dim, 1, dims[i]);
    pbw_sub(&shape, 1, &dim);
  }
  pbw_int(&tensor, 1, NN_FLOAT);
  pbw_sub(&tensor, 2, &shape);
  pbw_sub(&type, 1, &tensor);
  pbw_str(v, 1, name);
  pbw_sub(v, 2, &type);
}

static void node_proto(pbw *n, const char *name, const char *op,
                       const char *in0, const char *in1, const char *out) {
  if (in0)
    pbw_str(n, 1, in0);
  if (in1)
    pbw_str(n, 1, in1);
  pbw_str(n, 2, out);
  pbw_str(n, 3, name);
  pbw_str(n, 4, op);
}

/* The model and its variants. */
typedef struct model_spec {
  const char *add_b;     /* Add's second input ("bias_w") */
  const char *op2;       /* second node's op ("Relu") */
  const char *node2;     /* second node's name ("relu_node") */
  const char *out2;      /* second node's output ("y") */
  const char *graph_out; /* the graph output ("y") */
  int64_t x_dims[2];     /* {2, 3}; -1: symbolic "N" */
  init_spec init;
  int no_graph;
} model_spec;

static const float k_bias[3] = {0.5f, -1.0f, 2.0f};

static model_spec spec_default(void) {
  model_spec s;
  memset(&s, 0, sizeof s);
  s.add_b = "bias_w";
  s.op2 = "Relu";
  s.node2 = "relu_node";
  s.out2 = "y";
  s.graph_out = "y";
  s.x_dims[0] = 2;
  s.x_dims[1] = 3;
  s.init.dtype = NN_FLOAT;
  s.init.rank = 1;
  s.init.dims[0] = 3;
  s.init.raw = k_bias;
  s.init.raw_len = sizeof k_bias;
  return s;
}

/* ModelProto; the graph is the last field, so that every truncation of the
 * file loses part of the graph. */
static pbw build_model(const model_spec *s) {
  pbw m = {0}, g = {0}, n = {0}, v = {0}, opset = {0};
  pbw_int(&m, 1, 8); /* ir_version */
  pbw_str(&m, 2, "argus-test");
  pbw_int(&opset, 2, 13);
  pbw_sub(&m, 8, &opset);

  node_proto(&n, "add_node", "Add", "x", s->add_b, "t");
  pbw_sub(&g, 1, &n);
  node_proto(&n, s->node2, s->op2, "t", NULL, s->out2);
  pbw_sub(&g, 1, &n);
  pbw_str(&g, 2, "loader_test");
  tensor_proto(&n, "bias_w", &s->init);
  pbw_sub(&g, 5, &n);
  value_info(&v, "x", 2, s->x_dims);
  pbw_sub(&g, 11, &v);
  value_info(&v, s->graph_out, 2, s->x_dims);
  pbw_sub(&g, 12, &v);
  if (!s->no_graph)
    pbw_sub(&m, 7, &g);
  free(g.b);
  return m;
}

/* ---- helpers ------------------------------------------------------------ */

static int contains_ci(const char *hay, const char *needle) {
  size_t nl = strlen(needle);
  for (; *hay; hay++) {
    size_t i = 0;
    while (i < nl && hay[i] &&
           tolower((unsigned char)hay[i]) == tolower((unsigned char)needle[i]))
      i++;
    if (i == nl)
      return 1;
  }
  return 0;
}

/* Loads buf expecting a refusal; checks that the message is not empty and
 * contains each of the NULL-terminated words (case-insensitive). Returns
 * the error code. */
static argus_err expect_refused(const char *what, const void *buf, size_t len,
                                const char *const *words) {
  argus_nn_model *m = NULL;
  argus_nn_error err;
  memset(&err, 0, sizeof err);
  argus_err e = argus_nn_model_load_memory(buf, len, &m, &err);
  check_count_++;
  if (e == ARGUS_OK) {
    fprintf(stderr, "%s: the loader accepted it\n", what);
    check_failures_++;
    argus_nn_model_free(m);
    return e;
  }
  CHECK(m == NULL);
  printf("  %-28s %-12s %s\n", what, argus_errname(e), err.msg);
  check_count_++;
  if (!err.msg[0]) {
    fprintf(stderr, "%s: %s with an empty message\n", what, argus_errname(e));
    check_failures_++;
  }
  for (int i = 0; words && words[i]; i++) {
    check_count_++;
    if (!contains_ci(err.msg, words[i])) {
      fprintf(stderr, "%s: the message does not mention '%s': %s\n", what,
              words[i], err.msg);
      check_failures_++;
    }
  }
  return e;
}

static argus_err expect_spec_refused(const char *what, const model_spec *s,
                                     const char *const *words) {
  pbw m = build_model(s);
  argus_err e = expect_refused(what, m.b, m.n, words);
  free(m.b);
  return e;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rng(void) {
  uint64_t x = rng_state;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  return rng_state = x;
}

/* Plans and runs a model that loaded, with every free dim set to 1, when
 * its inputs are small; a mutated model may well be refused at planning. */
static void try_run(argus_nn_model *m) {
  int nin = argus_nn_model_input_count(m);
  if (nin < 0 || nin > 8)
    return;
  argus_nn_input_shape shapes[8];
  for (int i = 0; i < nin; i++) {
    argus_nn_tensor_desc d;
    if (argus_nn_model_input(m, i, &d) != ARGUS_OK)
      return;
    size_t count = 1;
    shapes[i].name = d.name;
    shapes[i].rank = d.rank;
    for (int k = 0; k < d.rank; k++) {
      shapes[i].dims[k] = d.dims[k] < 0 ? 1 : d.dims[k];
      if (shapes[i].dims[k] > 1024)
        return;
      count *= (size_t)shapes[i].dims[k];
      if (count > 4096)
        return;
    }
  }
  argus_nn_session_opts opts = {0};
  opts.shapes = shapes;
  opts.nshapes = nin;
  argus_nn_session *s = NULL;
  argus_nn_error err;
  if (argus_nn_session_create(m, &opts, &s, &err) != ARGUS_OK)
    return;
  if (argus_nn_session_arena_bytes(s) < ((size_t)64 << 20)) {
    for (int i = 0; i < argus_nn_session_input_count(s); i++) {
      argus_nn_tensor_desc d;
      void *data;
      if (argus_nn_session_input(s, i, &d, &data) == ARGUS_OK && data) {
        size_t bytes = nn_shape_count(d.rank, d.dims) * nn_dtype_size(d.dtype);
        memset(data, 0, bytes);
      }
    }
    (void)argus_nn_session_run(s, &err);
  }
  argus_nn_session_free(s);
}

/* ---- the valid model ---------------------------------------------------- */

static void test_valid_model(void) {
  model_spec spec = spec_default();
  pbw buf = build_model(&spec);
  argus_nn_model *m = NULL;
  argus_nn_error err = {{0}};
  argus_err e = argus_nn_model_load_memory(buf.b, buf.n, &m, &err);
  CHECK_OK(e);
  free(buf.b);
  if (e != ARGUS_OK) {
    fprintf(stderr, "valid model refused: %s\n", err.msg);
    return;
  }

  CHECK_INT_EQ(argus_nn_model_input_count(m), 1);
  CHECK_INT_EQ(argus_nn_model_output_count(m), 1);
  argus_nn_tensor_desc d;
  CHECK_OK(argus_nn_model_input(m, 0, &d));
  CHECK(d.name && strcmp(d.name, "x") == 0);
  CHECK_INT_EQ(d.dtype, ARGUS_NN_FLOAT);
  CHECK_INT_EQ(d.rank, 2);
  CHECK_INT_EQ(d.dims[0], 2);
  CHECK_INT_EQ(d.dims[1], 3);
  CHECK_OK(argus_nn_model_output(m, 0, &d));
  CHECK(d.name && strcmp(d.name, "y") == 0);
  CHECK(argus_nn_model_input(m, 1, &d) != ARGUS_OK);
  CHECK(argus_nn_model_input(m, -1, &d) != ARGUS_OK);

  argus_nn_model_info info;
  CHECK_OK(argus_nn_model_get_info(m, &info));
  CHECK_INT_EQ(info.ir_version, 8);
  CHECK_INT_EQ(info.opset, 13);
  CHECK_INT_EQ(info.nnodes, 2);
  CHECK(info.producer && strcmp(info.producer, "argus-test") == 0);
  CHECK_INT_EQ(info.nparams, 3);
  int seen_add = 0, seen_relu = 0;
  const char *type;
  int count;
  for (int i = 0; argus_nn_model_op(m, i, &type, &count) == ARGUS_OK; i++) {
    if (strcmp(type, "Add") == 0)
      seen_add += count;
    if (strcmp(type, "Relu") == 0)
      seen_relu += count;
    CHECK(i < 100);
    if (i >= 100)
      break;
  }
  CHECK_INT_EQ(seen_add, 1);
  CHECK_INT_EQ(seen_relu, 1);

  argus_nn_session *s = NULL;
  CHECK_OK(argus_nn_session_create(m, NULL, &s, &err));
  if (s) {
    CHECK_INT_EQ(argus_nn_session_input_count(s), 1);
    CHECK_INT_EQ(argus_nn_session_output_count(s), 1);
    CHECK_INT_EQ(argus_nn_session_find_input(s, "x"), 0);
    CHECK_INT_EQ(argus_nn_session_find_input(s, "nope"), -1);
    CHECK_INT_EQ(argus_nn_session_find_output(s, "y"), 0);
    void *in = NULL;
    CHECK_OK(argus_nn_session_input(s, 0, &d, &in));
    CHECK_INT_EQ(d.rank, 2);
    CHECK_INT_EQ(d.dims[0], 2);
    CHECK_INT_EQ(d.dims[1], 3);
    const float x[6] = {1, 2, -3, -0.25f, 1.5f, 0};
    const float want[6] = {1.5f, 1, 0, 0.25f, 0.5f, 2};
    if (in) {
      memcpy(in, x, sizeof x);
      CHECK_OK(argus_nn_session_run(s, &err));
      const void *out = NULL;
      CHECK_OK(argus_nn_session_output(s, 0, &d, &out));
      CHECK_INT_EQ(d.dtype, ARGUS_NN_FLOAT);
      CHECK_INT_EQ(d.rank, 2);
      CHECK_INT_EQ(d.dims[0], 2);
      CHECK_INT_EQ(d.dims[1], 3);
      for (int i = 0; out && i < 6; i++)
        CHECK_NEAR(((const float *)out)[i], want[i], 0, 0);
      /* A second run on new inputs. */
      for (int i = 0; i < 6; i++)
        ((float *)in)[i] = -x[i];
      CHECK_OK(argus_nn_session_run(s, &err));
      for (int i = 0; out && i < 6; i++) {
        float w = -x[i] + k_bias[i % 3];
        CHECK_NEAR(((const float *)out)[i], w > 0 ? w : 0, 0, 0);
      }
    }
    argus_nn_session_free(s);
  }

  /* Shapes that do not fit the model are refused at planning. */
  argus_nn_input_shape sh = {"x", 2, {2, 4}};
  argus_nn_session_opts opts = {0};
  opts.shapes = &sh;
  opts.nshapes = 1;
  s = NULL;
  memset(&err, 0, sizeof err);
  e = argus_nn_session_create(m, &opts, &s, &err);
  CHECK(e != ARGUS_OK);
  CHECK(s == NULL);
  CHECK(err.msg[0] != 0);
  printf("  %-28s %-12s %s\n", "x [2,4] + bias [3]", argus_errname(e), err.msg);
  sh.name = "no_such_input";
  sh.dims[1] = 3;
  e = argus_nn_session_create(m, &opts, &s, &err);
  CHECK(e != ARGUS_OK);
  printf("  %-28s %-12s %s\n", "shape for unknown input", argus_errname(e),
         err.msg);
  argus_nn_session_free(s);

  argus_nn_model_free(m);
}

/* Symbolic batch dimension: planned from the session options. */
static void test_dynamic_batch(void) {
  model_spec spec = spec_default();
  spec.x_dims[0] = -1;
  pbw buf = build_model(&spec);
  argus_nn_model *m = NULL;
  argus_nn_error err = {{0}};
  argus_err e = argus_nn_model_load_memory(buf.b, buf.n, &m, &err);
  free(buf.b);
  CHECK_OK(e);
  if (e != ARGUS_OK) {
    fprintf(stderr, "model with batch N refused: %s\n", err.msg);
    return;
  }
  argus_nn_tensor_desc d;
  CHECK_OK(argus_nn_model_input(m, 0, &d));
  CHECK_INT_EQ(d.dims[0], -1);
  CHECK_INT_EQ(d.dims[1], 3);

  for (int variant = 0; variant < 2; variant++) {
    argus_nn_input_shape sh = {"x", 2, {4, 3}};
    argus_nn_session_opts opts = {0};
    if (variant == 0) {
      opts.shapes = &sh;
      opts.nshapes = 1;
    } else {
      opts.batch = 4;
    }
    argus_nn_session *s = NULL;
    e = argus_nn_session_create(m, &opts, &s, &err);
    CHECK_OK(e);
    if (e != ARGUS_OK) {
      fprintf(stderr, "batch 4 (%s): %s\n", variant ? "batch" : "shapes",
              err.msg);
      continue;
    }
    void *in = NULL;
    CHECK_OK(argus_nn_session_input(s, 0, &d, &in));
    CHECK_INT_EQ(d.dims[0], 4);
    for (int i = 0; in && i < 12; i++)
      ((float *)in)[i] = (float)i - 6;
    CHECK_OK(argus_nn_session_run(s, &err));
    const void *out = NULL;
    CHECK_OK(argus_nn_session_output(s, 0, &d, &out));
    CHECK_INT_EQ(d.rank, 2);
    CHECK_INT_EQ(d.dims[0], 4);
    CHECK_INT_EQ(d.dims[1], 3);
    for (int i = 0; in && out && i < 12; i++) {
      float w = (float)i - 6 + k_bias[i % 3];
      CHECK_NEAR(((const float *)out)[i], w > 0 ? w : 0, 0, 0);
    }
    argus_nn_session_free(s);
  }

  /* A batch whose activations exceed the element limit is refused at
   * planning, not allocated. */
  argus_nn_input_shape big = {"x", 2, {(int64_t)1 << 31, 3}};
  argus_nn_session_opts opts = {0};
  opts.shapes = &big;
  opts.nshapes = 1;
  argus_nn_session *s = NULL;
  e = argus_nn_session_create(m, &opts, &s, &err);
  CHECK(e != ARGUS_OK);
  printf("  %-28s %-12s %s\n", "batch 2^31", argus_errname(e), err.msg);
  argus_nn_session_free(s);
  big.dims[0] = -5;
  e = argus_nn_session_create(m, &opts, &s, &err);
  CHECK(e != ARGUS_OK);
  printf("  %-28s %-12s %s\n", "batch -5", argus_errname(e), err.msg);
  argus_nn_session_free(s);

  argus_nn_model_free(m);
}

/* ---- refusals ----------------------------------------------------------- */

static void test_api_edges(void) {
  argus_nn_model *m = NULL;
  argus_nn_error err = {{0}};
  expect_refused("empty buffer", "", 0, NULL);
  CHECK(argus_nn_model_load_memory(NULL, 10, &m, &err) == ARGUS_E_INVALID_ARG);
  CHECK(m == NULL);
  model_spec spec = spec_default();
  pbw buf = build_model(&spec);
  CHECK(argus_nn_model_load_memory(buf.b, buf.n, NULL, &err) ==
        ARGUS_E_INVALID_ARG);
  /* err may be NULL. */
  const uint8_t junk[3] = {0xff, 0xff, 0xff};
  CHECK(argus_nn_model_load_memory(junk, sizeof junk, &m, NULL) != ARGUS_OK);
  CHECK(m == NULL);
  free(buf.b);

  argus_err e =
      argus_nn_model_load_file("/nonexistent/argus/model.onnx", &m, &err);
  CHECK(e != ARGUS_OK);
  CHECK(strstr(err.msg, "/nonexistent/argus/model.onnx") != NULL);
  printf("  %-28s %-12s %s\n", "missing file", argus_errname(e), err.msg);
  argus_nn_model_free(NULL);
  argus_nn_session_free(NULL);
}

static void test_random_bytes(void) {
  uint8_t buf[600];
  int loaded = 0;
  for (int iter = 0; iter < 3000; iter++) {
    size_t len = (size_t)(rng() % sizeof buf);
    for (size_t i = 0; i < len; i++)
      buf[i] = (uint8_t)rng();
    /* Half of them start like a ModelProto (ir_version, then a graph). */
    if (iter & 1 && len > 4) {
      buf[0] = 0x08;
      buf[1] = 0x07;
      buf[2] = 0x3a;
      buf[3] = (uint8_t)((len - 4) & 0x7f);
    }
    argus_nn_model *m = NULL;
    argus_nn_error err;
    memset(&err, 0, sizeof err);
    argus_err e = argus_nn_model_load_memory(buf, len, &m, &err);
    if (e == ARGUS_OK) {
      loaded++;
      try_run(m);
      argus_nn_model_free(m);
      continue;
    }
    check_count_++;
    if (!err.msg[0]) {
      fprintf(stderr, "random bytes #%d (len %zu): %s without a message\n",
              iter, len, argus_errname(e));
      check_failures_++;
    }
  }
  printf("  random bytes: 3000 buffers, %d loaded\n", loaded);
}

static void test_truncations(void) {
  model_spec spec = spec_default();
  pbw buf = build_model(&spec);
  int refused = 0;
  for (size_t len = 0; len < buf.n; len++) {
    /* A copy of exactly len bytes, so that ASan sees any over-read. */
    uint8_t *cut = malloc(len ? len : 1);
    if (!cut)
      exit(1);
    memcpy(cut, buf.b, len);
    argus_nn_model *m = NULL;
    argus_nn_error err;
    memset(&err, 0, sizeof err);
    argus_err e = argus_nn_model_load_memory(cut, len, &m, &err);
    check_count_++;
    if (e == ARGUS_OK) {
      fprintf(stderr, "truncated to %zu of %zu bytes: accepted\n", len, buf.n);
      check_failures_++;
      argus_nn_model_free(m);
    } else if (!err.msg[0]) {
      fprintf(stderr, "truncated to %zu of %zu bytes: %s without a message\n",
              len, buf.n, argus_errname(e));
      check_failures_++;
    } else {
      refused++;
    }
    free(cut);
  }
  printf("  truncations: %d of %zu refused with a message\n", refused, buf.n);
  free(buf.b);
}

/* Flips a few bytes of the valid model; whatever loads is also planned and
 * run. Nothing may crash. */
static void test_mutations(void) {
  model_spec spec = spec_default();
  pbw buf = build_model(&spec);
  uint8_t *mut = malloc(buf.n);
  if (!mut)
    exit(1);
  int loaded = 0;
  for (int iter = 0; iter < 5000; iter++) {
    memcpy(mut, buf.b, buf.n);
    int flips = 1 + (int)(rng() % 4);
    for (int k = 0; k < flips; k++) {
      size_t at = (size_t)(rng() % buf.n);
      switch (rng() % 3) {
      case 0: mut[at] = (uint8_t)rng(); break;
      case 1: mut[at] ^= (uint8_t)(1u << (rng() % 8)); break;
      default: mut[at] = (rng() & 1) ? 0xff : 0x00; break;
      }
    }
    argus_nn_model *m = NULL;
    argus_nn_error err;
    memset(&err, 0, sizeof err);
    argus_err e = argus_nn_model_load_memory(mut, buf.n, &m, &err);
    if (e == ARGUS_OK) {
      loaded++;
      try_run(m);
      argus_nn_model_free(m);
      continue;
    }
    check_count_++;
    if (!err.msg[0]) {
      fprintf(stderr, "mutation #%d: %s without a message\n", iter,
              argus_errname(e));
      check_failures_++;
    }
  }
  printf("  mutations: 5000 variants, %d loaded\n", loaded);
  free(mut);
  free(buf.b);
}

static void test_wire_errors(void) {
  /* ir_version with an 11-byte varint. */
  const uint8_t overlong[] = {0x08, 0xff, 0xff, 0xff, 0xff, 0xff,
                              0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
  expect_refused("varint of 11 bytes", overlong, sizeof overlong, NULL);
  /* 10 bytes, but bits beyond 64. */
  const uint8_t overflow[] = {0x08, 0xff, 0xff, 0xff, 0xff, 0xff,
                              0xff, 0xff, 0xff, 0xff, 0x7f};
  expect_refused("varint beyond 64 bits", overflow, sizeof overflow, NULL);
  const uint8_t cut_varint[] = {0x08, 0x80};
  expect_refused("varint cut at the end", cut_varint, sizeof cut_varint, NULL);
  /* An overlong key. */
  const uint8_t long_key[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                              0xff, 0xff, 0xff, 0xff, 0xff, 0x00};
  expect_refused("key of 12 bytes", long_key, sizeof long_key, NULL);
  /* Wire types 3, 4 (groups), 6 and 7 do not exist in ONNX files. */
  const uint8_t group[] = {0x0b, 0x0c};
  expect_refused("wire type 3 (group)", group, sizeof group, NULL);
  const uint8_t wt7[] = {0x0f, 0x00};
  expect_refused("wire type 7", wt7, sizeof wt7, NULL);
  /* Field number 0. */
  const uint8_t field0[] = {0x00, 0x01};
  expect_refused("field number 0", field0, sizeof field0, NULL);

  /* graph: length 1000 with 4 bytes behind it. */
  const uint8_t past_end[] = {0x08, 0x08, 0x3a, 0xe8, 0x07,
                              0x0a, 0x02, 0x08, 0x01};
  expect_refused("length past the end", past_end, sizeof past_end, NULL);
  /* graph: length 2^63. */
  const uint8_t huge_len[] = {0x3a, 0x80, 0x80, 0x80, 0x80, 0x80,
                              0x80, 0x80, 0x80, 0x80, 0x01, 0x00};
  expect_refused("length 2^63", huge_len, sizeof huge_len, NULL);

  /* A node whose length runs past the end of its graph but not past the end
   * of the file: the nested length must be checked against the enclosing
   * message. */
  pbw g = {0}, node = {0}, m = {0};
  node_proto(&node, "add_node", "Add", "x", "bias_w", "t");
  pbw_key(&g, 1, WT_LEN);
  pbw_varint(&g, node.n + 40); /* claims 40 bytes more than the graph holds */
  pbw_raw(&g, node.b, node.n);
  free(node.b);
  pbw_int(&m, 1, 8);
  pbw opset = {0};
  pbw_int(&opset, 2, 13);
  pbw_sub(&m, 8, &opset);
  pbw_sub(&m, 7, &g);
  pbw_str(&m, 2, "some padding so that the node fits in the file.....");
  expect_refused("node past its graph's end", m.b, m.n, NULL);
  free(m.b);

  model_spec spec = spec_default();
  spec.no_graph = 1;
  expect_spec_refused("model without a graph", &spec,
                      (const char *[]){"graph", NULL});
}

static void test_tensor_errors(void) {
  const char *const name[] = {"bias_w", NULL};
  /* A size mismatch names the tensor and the dims it declares. */
  const char *const name_dims[] = {"bias_w", "[3]", NULL};
  model_spec s = spec_default();
  s.init.raw_len = 8;
  expect_spec_refused("raw_data shorter than dims", &s, name_dims);

  s = spec_default();
  s.init.raw_len = 16;
  static const float five[4] = {1, 2, 3, 4};
  s.init.raw = five;
  expect_spec_refused("raw_data longer than dims", &s, name_dims);

  s = spec_default();
  s.init.rank = 3;
  s.init.dims[0] = s.init.dims[1] = s.init.dims[2] = (int64_t)1 << 40;
  expect_spec_refused("dims overflow", &s, name);

  s = spec_default();
  s.init.rank = 2;
  s.init.dims[0] = INT64_MAX;
  s.init.dims[1] = 2;
  expect_spec_refused("dims INT64_MAX x 2", &s, name);

  s = spec_default();
  s.init.rank = 2;
  s.init.dims[0] = (int64_t)1 << 20;
  s.init.dims[1] = (int64_t)1 << 20;
  expect_spec_refused("2^40 elements", &s, name);

  s = spec_default();
  s.init.dims[0] = -3;
  expect_spec_refused("negative dim", &s, name);

  /* Rank 9, over the engine's limit of 8. */
  {
    pbw t = {0}, g = {0}, n = {0}, v = {0}, m = {0}, opset = {0};
    pbw_str(&t, T_NAME, "bias_w");
    for (int i = 0; i < 9; i++)
      pbw_int(&t, T_DIMS, 1);
    pbw_int(&t, T_DATA_TYPE, NN_FLOAT);
    pbw_bytes(&t, T_RAW_DATA, k_bias, 4);
    pbw_int(&m, 1, 8);
    pbw_int(&opset, 2, 13);
    pbw_sub(&m, 8, &opset);
    node_proto(&n, "add_node", "Add", "x", "bias_w", "y");
    pbw_sub(&g, 1, &n);
    pbw_sub(&g, 5, &t);
    const int64_t dims[2] = {2, 3};
    value_info(&v, "x", 2, dims);
    pbw_sub(&g, 11, &v);
    value_info(&v, "y", 2, dims);
    pbw_sub(&g, 12, &v);
    pbw_sub(&m, 7, &g);
    expect_refused("rank 9 tensor", m.b, m.n, name);
    free(m.b);
  }

  s = spec_default();
  s.init.raw = NULL;
  s.init.external = 1;
  argus_err e = expect_spec_refused("external data", &s,
                                    (const char *[]){"external", NULL});
  CHECK_INT_EQ(e, ARGUS_E_UNSUPPORTED);

  s = spec_default();
  s.init.dtype = 99;
  expect_spec_refused("data_type 99", &s, name);

  s = spec_default();
  s.init.dtype = NN_UNDEFINED;
  expect_spec_refused("data_type 0", &s, name);

  s = spec_default();
  s.init.raw = NULL;
  expect_spec_refused("no data at all", &s, name_dims);

  /* float_data with 2 values for 3 elements. */
  {
    pbw t = {0}, g = {0}, n = {0}, v = {0}, m = {0}, opset = {0}, fd = {0};
    pbw_str(&t, T_NAME, "bias_w");
    pbw_int(&t, T_DIMS, 3);
    pbw_int(&t, T_DATA_TYPE, NN_FLOAT);
    pbw_raw(&fd, k_bias, 8);
    pbw_sub(&t, T_FLOAT_DATA, &fd);
    pbw_int(&m, 1, 8);
    pbw_int(&opset, 2, 13);
    pbw_sub(&m, 8, &opset);
    node_proto(&n, "add_node", "Add", "x", "bias_w", "y");
    pbw_sub(&g, 1, &n);
    pbw_sub(&g, 5, &t);
    const int64_t dims[2] = {2, 3};
    value_info(&v, "x", 2, dims);
    pbw_sub(&g, 11, &v);
    value_info(&v, "y", 2, dims);
    pbw_sub(&g, 12, &v);
    pbw_sub(&m, 7, &g);
    expect_refused("float_data 2 of 3", m.b, m.n, name_dims);
    free(m.b);
  }
}

static void test_graph_errors(void) {
  model_spec s = spec_default();
  s.op2 = "FrobnicateXYZ";
  s.node2 = "frob_node";
  argus_err e = expect_spec_refused(
      "unknown op", &s, (const char *[]){"FrobnicateXYZ", "frob_node", NULL});
  CHECK_INT_EQ(e, ARGUS_E_UNSUPPORTED);

  s = spec_default();
  s.add_b = "nowhere_value";
  expect_spec_refused("unknown input value", &s,
                      (const char *[]){"nowhere_value", NULL});

  s = spec_default();
  s.graph_out = "ghost_out";
  expect_spec_refused("output nobody produces", &s,
                      (const char *[]){"ghost_out", NULL});

  /* Relu writes "t", which Add already produced. */
  s = spec_default();
  s.out2 = "t";
  s.graph_out = "t";
  expect_spec_refused("value produced twice", &s, (const char *[]){"t", NULL});

  /* Relu writes "x", the graph input. */
  s = spec_default();
  s.out2 = "x";
  s.graph_out = "x";
  expect_spec_refused("node overwrites an input", &s,
                      (const char *[]){"x", NULL});
}

/* A tensor that declares far more elements than the file holds must be
 * refused before its buffer is allocated: otherwise a file of a few hundred
 * bytes makes the loader allocate and clear gigabytes (found by
 * fuzz_onnx_load). Measured by the growth of the peak resident set. */
static long peak_rss_mb(void) {
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) != 0)
    return -1;
  return ru.ru_maxrss / 1024;
}

static void test_no_alloc_before_size_check(void) {
  long before = peak_rss_mb();
  model_spec s = spec_default();
  s.init.rank = 1;
  s.init.dims[0] = (int64_t)1 << 27; /* 512 MiB of float */
  s.init.raw_len = 4;
  expect_spec_refused("2^27 elements, 4 bytes", &s,
                      (const char *[]){"bias_w", NULL});
  s.init.raw = NULL; /* and with no data field at all */
  expect_spec_refused("2^27 elements, no data", &s,
                      (const char *[]){"bias_w", NULL});

  pbw t = {0};
  pbw_str(&t, T_NAME, "big");
  pbw_int(&t, T_DIMS, (int64_t)1 << 27);
  pbw_int(&t, T_DATA_TYPE, NN_FLOAT);
  pbw_bytes(&t, T_RAW_DATA, k_bias, 4);
  nn_tensor tt;
  memset(&tt, 0, sizeof tt);
  char *tname = NULL;
  nn_err err = {{0}};
  CHECK(nn_onnx_parse_tensor(t.b, t.n, &tt, &tname, &err) != ARGUS_OK);
  free(tname);
  nn_tensor_clear(&tt);
  free(t.b);

  long after = peak_rss_mb();
  check_count_++;
  if (before >= 0 && after - before > 256) {
    fprintf(stderr,
            "refusing tensors of 2^27 floats with 4 bytes of data raised the "
            "peak RSS by %ld MiB: the loader allocates before checking the "
            "data size\n",
            after - before);
    check_failures_++;
  }
}

/* ---- nn_onnx_parse_tensor ---------------------------------------------- */

static void check_tensor_ok(const char *what, const pbw *buf, int dtype,
                            int rank, const int64_t *dims, const void *want,
                            const char *want_name) {
  nn_tensor t;
  memset(&t, 0, sizeof t);
  char *name = NULL;
  nn_err err = {{0}};
  argus_err e = nn_onnx_parse_tensor(buf->b, buf->n, &t, &name, &err);
  check_count_++;
  if (e != ARGUS_OK) {
    fprintf(stderr, "%s: %s: %s\n", what, argus_errname(e), err.msg);
    check_failures_++;
    return;
  }
  CHECK_INT_EQ(t.dtype, dtype);
  CHECK_INT_EQ(t.rank, rank);
  size_t n = 1;
  for (int i = 0; i < rank && i < t.rank; i++) {
    CHECK_INT_EQ(t.dims[i], dims[i]);
    n *= (size_t)dims[i];
  }
  CHECK_INT_EQ(t.nelem, n);
  if (t.nelem == n && n && want) {
    check_count_++;
    if (!t.data || memcmp(t.data, want, n * nn_dtype_size(dtype)) != 0) {
      fprintf(stderr, "%s: wrong values\n", what);
      check_failures_++;
    }
  }
  if (want_name)
    CHECK(name && strcmp(name, want_name) == 0);
  free(name);
  nn_tensor_clear(&t);
}

static void test_parse_tensor(void) {
  const float f6[6] = {1, -2, 3.5f, 0, 1e-3f, -7};
  const int64_t d23[2] = {2, 3};

  /* raw_data, dims unpacked (as ONNX's proto2 writers do). */
  pbw t = {0};
  pbw_str(&t, T_NAME, "x");
  pbw_int(&t, T_DIMS, 2);
  pbw_int(&t, T_DIMS, 3);
  pbw_int(&t, T_DATA_TYPE, NN_FLOAT);
  pbw_bytes(&t, T_RAW_DATA, f6, sizeof f6);
  check_tensor_ok("float raw_data", &t, NN_FLOAT, 2, d23, f6, "x");

  /* Every truncation of it is refused (the data is the last field). */
  for (size_t len = 0; len < t.n; len++) {
    uint8_t *cut = malloc(len ? len : 1);
    if (!cut)
      exit(1);
    memcpy(cut, t.b, len);
    nn_tensor tt;
    memset(&tt, 0, sizeof tt);
    char *name = NULL;
    nn_err err = {{0}};
    argus_err e = nn_onnx_parse_tensor(cut, len, &tt, &name, &err);
    check_count_++;
    if (e == ARGUS_OK) {
      fprintf(stderr, "tensor truncated to %zu of %zu bytes: accepted\n", len,
              t.n);
      check_failures_++;
    } else if (!err.msg[0]) {
      fprintf(stderr, "tensor truncated to %zu: no message\n", len);
      check_failures_++;
    }
    free(name);
    nn_tensor_clear(&tt);
    free(cut);
  }
  free(t.b);

  /* float_data packed, dims packed. */
  memset(&t, 0, sizeof t);
  pbw packed = {0};
  pbw_varint(&packed, 2);
  pbw_varint(&packed, 3);
  pbw_sub(&t, T_DIMS, &packed);
  pbw_int(&t, T_DATA_TYPE, NN_FLOAT);
  pbw_raw(&packed, f6, sizeof f6);
  pbw_sub(&t, T_FLOAT_DATA, &packed);
  check_tensor_ok("float_data packed", &t, NN_FLOAT, 2, d23, f6, NULL);
  free(t.b);

  /* float_data unpacked (one fixed32 per value). */
  memset(&t, 0, sizeof t);
  pbw_int(&t, T_DIMS, 2);
  pbw_int(&t, T_DIMS, 3);
  pbw_int(&t, T_DATA_TYPE, NN_FLOAT);
  for (int i = 0; i < 6; i++)
    pbw_f32(&t, T_FLOAT_DATA, f6[i]);
  check_tensor_ok("float_data unpacked", &t, NN_FLOAT, 2, d23, f6, NULL);
  free(t.b);

  /* int64_data packed, with negative values. */
  const int64_t i3[3] = {-1, 0, (int64_t)1 << 40};
  const int64_t d3[1] = {3};
  memset(&t, 0, sizeof t);
  pbw_int(&t, T_DIMS, 3);
  pbw_int(&t, T_DATA_TYPE, NN_INT64);
  for (int i = 0; i < 3; i++)
    pbw_varint(&packed, (uint64_t)i3[i]);
  pbw_sub(&t, T_INT64_DATA, &packed);
  check_tensor_ok("int64_data", &t, NN_INT64, 1, d3, i3, NULL);
  free(t.b);

  /* uint8 and bool live in int32_data. */
  const uint8_t u3[3] = {0, 200, 255};
  memset(&t, 0, sizeof t);
  pbw_int(&t, T_DIMS, 3);
  pbw_int(&t, T_DATA_TYPE, NN_UINT8);
  for (int i = 0; i < 3; i++)
    pbw_varint(&packed, u3[i]);
  pbw_sub(&t, T_INT32_DATA, &packed);
  check_tensor_ok("uint8 in int32_data", &t, NN_UINT8, 1, d3, u3, NULL);
  free(t.b);

  const uint8_t b3[3] = {1, 0, 1};
  memset(&t, 0, sizeof t);
  pbw_int(&t, T_DIMS, 3);
  pbw_int(&t, T_DATA_TYPE, NN_BOOL);
  for (int i = 0; i < 3; i++)
    pbw_varint(&packed, b3[i]);
  pbw_sub(&t, T_INT32_DATA, &packed);
  check_tensor_ok("bool in int32_data", &t, NN_BOOL, 1, d3, b3, NULL);
  free(t.b);

  /* A scalar (no dims) and an empty tensor. */
  const float one = 42.0f;
  memset(&t, 0, sizeof t);
  pbw_int(&t, T_DATA_TYPE, NN_FLOAT);
  pbw_bytes(&t, T_RAW_DATA, &one, 4);
  check_tensor_ok("scalar", &t, NN_FLOAT, 0, NULL, &one, NULL);
  free(t.b);

  const int64_t d0[2] = {0, 3};
  memset(&t, 0, sizeof t);
  pbw_int(&t, T_DIMS, 0);
  pbw_int(&t, T_DIMS, 3);
  pbw_int(&t, T_DATA_TYPE, NN_FLOAT);
  check_tensor_ok("empty [0,3]", &t, NN_FLOAT, 2, d0, NULL, NULL);
  free(t.b);

  /* Refusals. */
  struct {
    const char *what;
    int64_t dim0;
    int dtype;
    size_t raw;
  } bad[] = {
      {"tensor: raw short", 3, NN_FLOAT, 8},
      {"tensor: negative dim", -3, NN_FLOAT, 12},
      {"tensor: dtype 99", 3, 99, 12},
      {"tensor: dim 2^62", (int64_t)1 << 62, NN_FLOAT, 12},
  };
  for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
    memset(&t, 0, sizeof t);
    pbw_str(&t, T_NAME, "tname");
    pbw_int(&t, T_DIMS, bad[k].dim0);
    pbw_int(&t, T_DATA_TYPE, bad[k].dtype);
    pbw_bytes(&t, T_RAW_DATA, f6, bad[k].raw);
    nn_tensor tt;
    memset(&tt, 0, sizeof tt);
    char *name = NULL;
    nn_err err = {{0}};
    argus_err e = nn_onnx_parse_tensor(t.b, t.n, &tt, &name, &err);
    CHECK(e != ARGUS_OK);
    CHECK(err.msg[0] != 0);
    printf("  %-28s %-12s %s\n", bad[k].what, argus_errname(e), err.msg);
    free(name);
    nn_tensor_clear(&tt);
    free(t.b);
  }
}


/* The session's multiply-accumulate count (which bounds the fuzzer's work)
 * includes the quantised convolution and matrix product: ONNX's node tests
 * QLinearConv (7x7 output, 1x1x1x1 weights: 49) and QLinearMatMul 2-D
 * ([2,4] x [4,3]: 24). Skipped without the ONNX test data. */
static void test_quantised_macs(void) {
  const char *data = getenv("ARGUS_ONNX_TESTDATA");
  if (!data || !*data)
    data = "/usr/share/libonnx-testdata/data";
  static const struct {
    const char *name;
    uint64_t macs;
  } cases[] = {{"test_qlinearconv", 49}, {"test_qlinearmatmul_2D", 24}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char path[1024];
    snprintf(path, sizeof path, "%s/node/%s/model.onnx", data, cases[i].name);
    FILE *f = fopen(path, "rb");
    if (!f) {
      printf("  SKIP %s: %s not found (set ARGUS_ONNX_TESTDATA)\n",
             cases[i].name, path);
      continue;
    }
    fclose(f);
    argus_nn_model *m = NULL;
    argus_nn_session *s = NULL;
    argus_nn_error err = {{0}};
    CHECK_OK(argus_nn_model_load_file(path, &m, &err));
    if (m)
      CHECK_OK(argus_nn_session_create(m, NULL, &s, &err));
    if (s) {
      uint64_t got = argus_nn_session_macs(s);
      if (got != cases[i].macs)
        fprintf(stderr, "%s: %llu MACs, want %llu\n", cases[i].name,
                (unsigned long long)got, (unsigned long long)cases[i].macs);
      CHECK(got == cases[i].macs);
    }
    argus_nn_session_free(s);
    argus_nn_model_free(m);
  }
}
int main(void) {
  printf("valid model:\n");
  test_valid_model();
  test_dynamic_batch();
  test_quantised_macs();
  printf("refusals:\n");
  test_no_alloc_before_size_check();
  test_api_edges();
  test_wire_errors();
  test_tensor_errors();
  test_graph_errors();
  test_truncations();
  test_random_bytes();
  test_mutations();
  printf("tensors:\n");
  test_parse_tensor();
  return check_report("test_onnx_loader");
}
