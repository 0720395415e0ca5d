/*
 * Unit checks of the data-movement ops: the pure shape logic (Reshape 0/-1,
 * Slice clamping, Unsqueeze/Squeeze axes) and the ops' infer+run on small
 * hand-built graphs, compared with naive index arithmetic for random shapes
 * and permutations, on one thread and on a pool (so the split paths run).
 * Resize (nearest) is compared with its index formula for the 2x
 * upsampling of feature pyramids (the doubled-row and doubled-column fast
 * paths, odd widths) and for other factors (the table path).
 * QuantizeLinear / DequantizeLinear: rounding, saturation, refusals (the
 * ONNX node tests in test_conformance cover the rest of the quantised ops).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "argus/core.h"
#include "check.h"
#include "nn/graph.h"
#include "nn/ops/movement.h"

extern const nn_op nn_op_concat, nn_op_transpose, nn_op_reshape, nn_op_flatten,
    nn_op_shape, nn_op_gather, nn_op_unsqueeze, nn_op_squeeze, nn_op_slice,
    nn_op_constant, nn_op_resize, nn_op_quantizelinear,
    nn_op_dequantizelinear;

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return (uint32_t)(rng_state >> 16);
}
static int64_t rnd_range(int64_t lo, int64_t hi) { /* [lo, hi] */
  return lo + (int64_t)(rnd() % (uint64_t)(hi - lo + 1));
}

/* ---- pure shape logic --------------------------------------------------- */

static void test_reshape_dims(void) {
  nn_err err;
  int r;
  int64_t d[NN_MAX_RANK];
  const int64_t in[3] = {2, 3, 4};

  const int64_t s1[2] = {0, -1};
  CHECK_OK(nn_reshape_dims("t", 3, in, 2, s1, 0, &r, d, &err));
  CHECK_INT_EQ(r, 2);
  CHECK_INT_EQ(d[0], 2);
  CHECK_INT_EQ(d[1], 12);

  const int64_t s2[3] = {-1, 0, 2};
  CHECK_OK(nn_reshape_dims("t", 3, in, 3, s2, 0, &r, d, &err));
  CHECK_INT_EQ(d[0], 4);
  CHECK_INT_EQ(d[1], 3);
  CHECK_INT_EQ(d[2], 2);

  const int64_t s3[1] = {-1};
  CHECK_OK(nn_reshape_dims("t", 3, in, 1, s3, 0, &r, d, &err));
  CHECK_INT_EQ(r, 1);
  CHECK_INT_EQ(d[0], 24);

  /* Errors: two -1, a count mismatch, 0 past the input rank, < -1. */
  const int64_t s4[2] = {-1, -1};
  CHECK_INT_EQ(nn_reshape_dims("t", 3, in, 2, s4, 0, &r, d, &err),
               ARGUS_E_CORRUPT);
  CHECK(strstr(err.msg, "more than one -1") != NULL);
  const int64_t s5[2] = {5, 5};
  CHECK_INT_EQ(nn_reshape_dims("t", 3, in, 2, s5, 0, &r, d, &err),
               ARGUS_E_SHAPE);
  const int64_t s6[4] = {2, 3, 4, 0};
  CHECK_INT_EQ(nn_reshape_dims("t", 3, in, 4, s6, 0, &r, d, &err),
               ARGUS_E_SHAPE);
  const int64_t s7[2] = {-2, 12};
  CHECK_INT_EQ(nn_reshape_dims("t", 3, in, 2, s7, 0, &r, d, &err),
               ARGUS_E_CORRUPT);
  const int64_t s8[2] = {5, -1};
  CHECK_INT_EQ(nn_reshape_dims("t", 3, in, 2, s8, 0, &r, d, &err),
               ARGUS_E_SHAPE);

  /* allowzero: 0 is a real zero; with -1 it is refused. */
  const int64_t z[2] = {0, 3};
  const int64_t s9[3] = {3, 0, 1};
  CHECK_OK(nn_reshape_dims("t", 2, z, 3, s9, 1, &r, d, &err));
  CHECK_INT_EQ(d[0], 3);
  CHECK_INT_EQ(d[1], 0);
  CHECK_INT_EQ(d[2], 1);
  CHECK_INT_EQ(nn_reshape_dims("t", 2, z, 2, s1, 1, &r, d, &err),
               ARGUS_E_CORRUPT);
  /* Without allowzero the same 0 copies the input dim. */
  const int64_t s10[2] = {0, 1};
  CHECK_INT_EQ(nn_reshape_dims("t", 3, in, 2, s10, 0, &r, d, &err),
               ARGUS_E_SHAPE);
  /* A -1 next to a zero dim has no whole value. */
  const int64_t s11[2] = {0, -1};
  CHECK_INT_EQ(nn_reshape_dims("t", 2, z, 2, s11, 0, &r, d, &err),
               ARGUS_E_SHAPE);
  /* Hostile sizes overflow cleanly. */
  const int64_t s12[3] = {INT64_MAX, INT64_MAX, 0};
  CHECK_INT_EQ(nn_reshape_dims("t", 3, in, 3, s12, 1, &r, d, &err),
               ARGUS_E_LIMIT);
  CHECK_INT_EQ(
      nn_reshape_dims("t", 3, in, NN_MAX_RANK + 1, s12, 0, &r, d, &err),
      ARGUS_E_LIMIT);
}

static void slice1(int64_t dim, int64_t s, int64_t e, int64_t st,
                   int64_t want_first, int64_t want_count, int line) {
  int64_t f = -7, c = -7;
  nn_slice_axis(dim, s, e, st, &f, &c);
  check_count_++;
  if (c != want_count || (want_count > 0 && f != want_first)) {
    fprintf(stderr,
            "line %d: slice(dim %lld, %lld:%lld:%lld) gave first %lld count "
            "%lld, want %lld, %lld\n",
            line, (long long)dim, (long long)s, (long long)e, (long long)st,
            (long long)f, (long long)c, (long long)want_first,
            (long long)want_count);
    check_failures_++;
  }
}

static void test_slice_axis(void) {
  slice1(10, 0, INT64_MAX, 1, 0, 10, __LINE__);
  slice1(10, 2, 8, 3, 2, 2, __LINE__);            /* 2, 5 */
  slice1(10, -3, -1, 1, 7, 2, __LINE__);          /* 7, 8 */
  slice1(10, -100, 3, 1, 0, 3, __LINE__);         /* start clamps to 0 */
  slice1(10, 1000, 1000, 1, 0, 0, __LINE__);      /* start past the end */
  slice1(10, 3, 1, 1, 0, 0, __LINE__);            /* empty */
  slice1(10, -1, INT64_MIN, -1, 9, 10, __LINE__); /* full reverse */
  slice1(10, 20, -20, -3, 9, 4, __LINE__);        /* 9, 6, 3, 0 */
  slice1(10, 8, 2, -2, 8, 3, __LINE__);           /* 8, 6, 4 */
  slice1(10, 0, -1, -1, 0, 0, __LINE__);          /* end -1 means 9: empty */
  slice1(10, 5, 5, -1, 0, 0, __LINE__);
  slice1(10, INT64_MAX, INT64_MIN, INT64_MIN, 9, 1, __LINE__);
  slice1(10, INT64_MIN, INT64_MAX, INT64_MAX, 0, 1, __LINE__);
  slice1(0, 0, 10, 1, 0, 0, __LINE__);
  slice1(0, -1, INT64_MIN, -1, 0, 0, __LINE__);
  slice1(1, -1, INT64_MIN, -1, 0, 1, __LINE__);
  /* Brute force against the spec's element-by-element definition. */
  for (int t = 0; t < 2000; t++) {
    int64_t dim = rnd_range(0, 9);
    int64_t s = rnd_range(-13, 13), e = rnd_range(-13, 13);
    int64_t st = rnd_range(-4, 4);
    if (st == 0)
      st = 1;
    /* Reference: python-style range over the clamped values. */
    int64_t cs = s < 0 ? s + dim : s, ce = e < 0 ? e + dim : e;
    if (st > 0) {
      cs = cs < 0 ? 0 : cs > dim ? dim : cs;
      ce = ce < 0 ? 0 : ce > dim ? dim : ce;
    } else {
      cs = cs < 0 ? 0 : cs > dim - 1 ? dim - 1 : cs;
      ce = ce < -1 ? -1 : ce > dim - 1 ? dim - 1 : ce;
    }
    int64_t cnt = 0;
    for (int64_t i = cs; st > 0 ? i < ce : i > ce; i += st)
      cnt++;
    if (dim == 0)
      cnt = 0;
    slice1(dim, s, e, st, cs, cnt, __LINE__);
  }
}

static void test_unsqueeze_squeeze_dims(void) {
  nn_err err;
  int r;
  int64_t d[NN_MAX_RANK];
  const int64_t in[2] = {3, 4};
  const int64_t a1[2] = {2, 0}; /* unsorted */
  CHECK_OK(nn_unsqueeze_dims("t", 2, in, 2, a1, &r, d, &err));
  CHECK_INT_EQ(r, 4);
  CHECK_INT_EQ(d[0], 1);
  CHECK_INT_EQ(d[1], 3);
  CHECK_INT_EQ(d[2], 1);
  CHECK_INT_EQ(d[3], 4);
  const int64_t a2[1] = {-1};
  CHECK_OK(nn_unsqueeze_dims("t", 2, in, 1, a2, &r, d, &err));
  CHECK_INT_EQ(r, 3);
  CHECK_INT_EQ(d[2], 1);
  const int64_t a3[2] = {0, -4}; /* the same axis twice (rank 4) */
  CHECK_INT_EQ(nn_unsqueeze_dims("t", 2, in, 2, a3, &r, d, &err),
               ARGUS_E_CORRUPT);
  const int64_t a4[1] = {3}; /* output rank 3 */
  CHECK_INT_EQ(nn_unsqueeze_dims("t", 2, in, 1, a4, &r, d, &err),
               ARGUS_E_CORRUPT);
  const int64_t a5[1] = {-4};
  CHECK_INT_EQ(nn_unsqueeze_dims("t", 2, in, 1, a5, &r, d, &err),
               ARGUS_E_CORRUPT);
  const int64_t many[NN_MAX_RANK] = {0, 1, 2, 3, 4, 5, 6, 7};
  CHECK_INT_EQ(nn_unsqueeze_dims("t", 2, in, NN_MAX_RANK, many, &r, d, &err),
               ARGUS_E_LIMIT);

  const int64_t sq[4] = {1, 3, 1, 2};
  CHECK_OK(nn_squeeze_dims("t", 4, sq, -1, NULL, &r, d, &err));
  CHECK_INT_EQ(r, 2);
  CHECK_INT_EQ(d[0], 3);
  CHECK_INT_EQ(d[1], 2);
  const int64_t b1[1] = {-2};
  CHECK_OK(nn_squeeze_dims("t", 4, sq, 1, b1, &r, d, &err));
  CHECK_INT_EQ(r, 3);
  CHECK_INT_EQ(d[0], 1);
  CHECK_INT_EQ(d[1], 3);
  CHECK_INT_EQ(d[2], 2);
  const int64_t b2[1] = {1}; /* size 3 */
  CHECK_INT_EQ(nn_squeeze_dims("t", 4, sq, 1, b2, &r, d, &err), ARGUS_E_SHAPE);
  const int64_t b3[2] = {0, -4};
  CHECK_INT_EQ(nn_squeeze_dims("t", 4, sq, 2, b3, &r, d, &err),
               ARGUS_E_CORRUPT);
  const int64_t b4[1] = {4};
  CHECK_INT_EQ(nn_squeeze_dims("t", 4, sq, 1, b4, &r, d, &err),
               ARGUS_E_CORRUPT);
}

/* ---- ops on hand-built graphs ------------------------------------------- */

#define TG_VALUES 6

typedef struct test_graph {
  nn_graph g;
  nn_value v[TG_VALUES];
  nn_node n;
  int in[TG_VALUES], out[1];
  nn_attr attrs[4];
  int64_t ints[4][NN_MAX_RANK];
  char names[TG_VALUES][8];
} test_graph;

/* One node reading values 1..nin and writing value 0. */
static void tg_init(test_graph *t, const nn_op *op, int opset, int nin) {
  memset(t, 0, sizeof *t);
  for (int i = 0; i < TG_VALUES; i++) {
    snprintf(t->names[i], sizeof t->names[i], "v%d", i);
    t->v[i].name = t->names[i];
    t->v[i].rank = -1;
    t->v[i].producer = -1;
  }
  t->g.values = t->v;
  t->g.nvalues = TG_VALUES;
  t->g.nodes = &t->n;
  t->g.nnodes = 1;
  t->g.opset = opset;
  t->n.op = op;
  t->n.name = "node";
  t->n.op_type = (char *)op->type;
  t->n.domain = "";
  t->n.opset = opset;
  t->n.ninputs = nin;
  t->n.noutputs = 1;
  t->n.in = t->in;
  t->n.out = t->out;
  t->n.attrs = t->attrs;
  for (int i = 0; i < nin; i++)
    t->in[i] = i + 1;
  t->out[0] = 0;
}

static void tg_input(test_graph *t, int i, int dtype, int rank,
                     const int64_t *dims, void *data, int is_const) {
  nn_value *v = &t->v[i + 1];
  v->dtype = dtype;
  v->rank = rank;
  memcpy(v->dims, dims, (size_t)rank * sizeof *dims);
  v->nelem = nn_shape_count(rank, dims);
  v->data = data;
  v->is_const = is_const;
}

static void tg_attr_ints(test_graph *t, const char *name, int count,
                         const int64_t *vals) {
  nn_attr *a = &t->attrs[t->n.nattrs];
  memcpy(t->ints[t->n.nattrs], vals, (size_t)count * sizeof *vals);
  a->name = (char *)name;
  a->type = NN_ATTR_INTS;
  a->ints = t->ints[t->n.nattrs];
  a->count = (size_t)count;
  t->n.nattrs++;
}

static void tg_attr_str(test_graph *t, const char *name, const char *val) {
  nn_attr *a = &t->attrs[t->n.nattrs++];
  a->name = (char *)name;
  a->type = NN_ATTR_STRING;
  a->s = (char *)val;
  a->s_len = strlen(val);
}

static void tg_attr_int(test_graph *t, const char *name, int64_t val) {
  nn_attr *a = &t->attrs[t->n.nattrs++];
  a->name = (char *)name;
  a->type = NN_ATTR_INT;
  a->i = val;
}

/* infer, allocate the output (never aliased) and run. */
static argus_err tg_run(test_graph *t, argus_threadpool *pool, nn_err *err) {
  argus_err e = t->n.op->infer(&t->g, &t->n, err);
  if (e)
    return e;
  nn_value *y = &t->v[0];
  if (!y->is_const) {
    y->data = nn_alloc(y->nelem * nn_dtype_size(y->dtype));
    y->owns_data = 1;
  }
  nn_exec x = {&t->g, pool, pool ? argus_threadpool_size(pool) : 1, NULL, 0};
  return t->n.op->run(&x, &t->n);
}

static void tg_free(test_graph *t) {
  if (t->n.plan && t->n.op->free_plan)
    t->n.op->free_plan(t->n.plan);
  t->n.plan = NULL;
  if (t->v[0].owns_data)
    nn_free(t->v[0].data);
  t->v[0].data = NULL;
}

static uint8_t *random_bytes(size_t n) {
  uint8_t *p = malloc(n ? n : 1);
  for (size_t i = 0; i < n; i++)
    p[i] = (uint8_t)rnd();
  return p;
}

static int dtype_of_size(size_t es) {
  return es == 1   ? NN_UINT8
         : es == 2 ? NN_INT16
         : es == 4 ? NN_FLOAT
                   : NN_INT64;
}

static void strides_of(int rank, const int64_t *dims, int64_t *st) {
  int64_t s = 1;
  for (int k = rank - 1; k >= 0; k--) {
    st[k] = s;
    s *= dims[k];
  }
}

/* Multi-index of linear index i in dims (row-major). */
static void unravel(size_t i, int rank, const int64_t *dims, int64_t *idx) {
  for (int k = rank - 1; k >= 0; k--) {
    idx[k] = (int64_t)(i % (size_t)dims[k]);
    i /= (size_t)dims[k];
  }
}

static void test_transpose(argus_threadpool *pool) {
  static const size_t sizes[4] = {1, 2, 4, 8};
  int bad = 0;
  for (int t = 0; t < 300 && !bad; t++) {
    int rank = (int)rnd_range(1, 6);
    int64_t dims[NN_MAX_RANK], perm[NN_MAX_RANK];
    for (int k = 0; k < rank; k++) {
      dims[k] = rnd_range(1, rank <= 3 ? 40 : 7);
      perm[k] = k;
    }
    if (t % 10 == 0 && rank >= 2 && rank <= 3) {
      /* Big enough for several tiles and a split over the pool. */
      dims[rank - 1] = dims[0] = 200;
      if (rank == 3)
        dims[1] = rnd_range(1, 4);
    }
    for (int k = rank - 1; k > 0; k--) {
      int j = (int)rnd_range(0, k);
      int64_t s = perm[k];
      perm[k] = perm[j];
      perm[j] = s;
    }
    size_t es = sizes[rnd() % 4];
    size_t ne = nn_shape_count(rank, dims);
    uint8_t *src = random_bytes(ne * es);
    test_graph tg;
    tg_init(&tg, &nn_op_transpose, 13, 1);
    tg_input(&tg, 0, dtype_of_size(es), rank, dims, src, 0);
    if (t % 7 != 0)
      tg_attr_ints(&tg, "perm", rank, perm);
    else
      for (int k = 0; k < rank; k++)
        perm[k] = rank - 1 - k; /* the default */
    nn_err err = {{0}};
    argus_err e = tg_run(&tg, t % 2 ? pool : NULL, &err);
    CHECK_OK(e);
    if (e) {
      fprintf(stderr, "%s\n", err.msg);
      bad = 1;
    } else {
      const nn_value *y = &tg.v[0];
      int64_t ist[NN_MAX_RANK], idx[NN_MAX_RANK];
      strides_of(rank, dims, ist);
      for (int k = 0; k < rank; k++)
        CHECK_INT_EQ(y->dims[k], dims[perm[k]]);
      for (size_t i = 0; i < ne && !bad; i++) {
        unravel(i, rank, y->dims, idx);
        size_t off = 0;
        for (int k = 0; k < rank; k++)
          off += (size_t)(idx[k] * ist[perm[k]]);
        if (memcmp((uint8_t *)y->data + i * es, src + off * es, es) != 0) {
          fprintf(stderr,
                  "transpose case %d (rank %d, esize %zu): output "
                  "%zu differs\n",
                  t, rank, es, i);
          bad = 1;
        }
      }
      CHECK(!bad);
    }
    tg_free(&tg);
    free(src);
  }
  /* A bad perm is refused with a message. */
  test_graph tg;
  const int64_t dims[3] = {2, 3, 4}, perm[3] = {0, 2, 2};
  tg_init(&tg, &nn_op_transpose, 13, 1);
  tg_input(&tg, 0, NN_FLOAT, 3, dims, NULL, 0);
  tg_attr_ints(&tg, "perm", 3, perm);
  nn_err err;
  CHECK_INT_EQ(tg_run(&tg, NULL, &err), ARGUS_E_CORRUPT);
  CHECK(strstr(err.msg, "perm") != NULL);
  tg_free(&tg);
}

static void test_slice_op(argus_threadpool *pool) {
  int bad = 0;
  for (int t = 0; t < 300 && !bad; t++) {
    int rank = (int)rnd_range(1, 4);
    int64_t dims[NN_MAX_RANK];
    for (int k = 0; k < rank; k++)
      dims[k] = rnd_range(1, 9);
    if (t % 10 == 0) /* a longer run along the last axis, and more rows */
      dims[rank - 1] = rnd_range(100, 300);
    if (t % 10 == 0 && rank > 1)
      dims[0] = rnd_range(20, 60);
    int na = (int)rnd_range(1, rank);
    int64_t starts[NN_MAX_RANK], ends[NN_MAX_RANK], axes[NN_MAX_RANK],
        steps[NN_MAX_RANK];
    int used[NN_MAX_RANK] = {0};
    for (int i = 0; i < na; i++) {
      int a;
      do
        a = (int)rnd_range(0, rank - 1);
      while (used[a]);
      used[a] = 1;
      axes[i] = rnd() % 2 ? a : a - rank;
      int64_t d = dims[a];
      starts[i] = rnd_range(-d - 3, d + 3);
      ends[i] = rnd() % 5 ? rnd_range(-d - 3, d + 3)
                          : (rnd() % 2 ? INT64_MAX : INT64_MIN);
      steps[i] = rnd_range(-3, 3);
      if (steps[i] == 0)
        steps[i] = -1;
    }
    int64_t pd[1] = {na};
    size_t ne = nn_shape_count(rank, dims);
    uint8_t *src = random_bytes(ne * 4);
    test_graph tg;
    tg_init(&tg, &nn_op_slice, 13, 5);
    tg_input(&tg, 0, NN_FLOAT, rank, dims, src, 0);
    tg_input(&tg, 1, NN_INT64, 1, pd, starts, 1);
    tg_input(&tg, 2, NN_INT64, 1, pd, ends, 1);
    tg_input(&tg, 3, NN_INT64, 1, pd, axes, 1);
    tg_input(&tg, 4, NN_INT64, 1, pd, steps, 1);
    nn_err err = {{0}};
    argus_err e = tg_run(&tg, t % 2 ? pool : NULL, &err);
    CHECK_OK(e);
    if (e) {
      fprintf(stderr, "%s\n", err.msg);
      bad = 1;
    } else {
      int64_t first[NN_MAX_RANK], step[NN_MAX_RANK], cnt[NN_MAX_RANK];
      for (int k = 0; k < rank; k++) {
        first[k] = 0;
        step[k] = 1;
        cnt[k] = dims[k];
      }
      for (int i = 0; i < na; i++) {
        int a = (int)(axes[i] < 0 ? axes[i] + rank : axes[i]);
        step[a] = steps[i];
        nn_slice_axis(dims[a], starts[i], ends[i], steps[i], &first[a],
                      &cnt[a]);
      }
      const nn_value *y = &tg.v[0];
      int64_t ist[NN_MAX_RANK], idx[NN_MAX_RANK];
      strides_of(rank, dims, ist);
      for (int k = 0; k < rank; k++)
        CHECK_INT_EQ(y->dims[k], cnt[k]);
      for (size_t i = 0; i < y->nelem && !bad; i++) {
        unravel(i, rank, y->dims, idx);
        int64_t off = 0;
        for (int k = 0; k < rank; k++) {
          int64_t p = first[k] + idx[k] * step[k];
          if (p < 0 || p >= dims[k])
            bad = 1;
          off += p * ist[k];
        }
        if (bad || memcmp((uint8_t *)y->data + i * 4, src + off * 4, 4)) {
          fprintf(stderr, "slice case %d: output %zu differs\n", t, i);
          bad = 1;
        }
      }
      CHECK(!bad);
    }
    tg_free(&tg);
    free(src);
  }
  /* Non-constant starts are refused, with the input named. */
  test_graph tg;
  const int64_t dims[2] = {4, 5}, one[1] = {1};
  int64_t s[1] = {0}, e[1] = {2};
  tg_init(&tg, &nn_op_slice, 13, 3);
  tg_input(&tg, 0, NN_FLOAT, 2, dims, NULL, 0);
  tg_input(&tg, 1, NN_INT64, 1, one, s, 0);
  tg_input(&tg, 2, NN_INT64, 1, one, e, 1);
  nn_err err;
  CHECK_INT_EQ(tg_run(&tg, NULL, &err), ARGUS_E_UNSUPPORTED);
  CHECK(strstr(err.msg, "starts") != NULL);
  tg_free(&tg);
  /* A zero step is an error. */
  int64_t z[1] = {0};
  tg_init(&tg, &nn_op_slice, 13, 5);
  tg_input(&tg, 0, NN_FLOAT, 2, dims, NULL, 0);
  tg_input(&tg, 1, NN_INT64, 1, one, s, 1);
  tg_input(&tg, 2, NN_INT64, 1, one, e, 1);
  tg.in[3] = -1; /* axes omitted */
  tg_input(&tg, 4, NN_INT64, 1, one, z, 1);
  CHECK_INT_EQ(tg_run(&tg, NULL, &err), ARGUS_E_CORRUPT);
  tg_free(&tg);
}

/* Keeps the last error line logged (Gather reports bad indices there). */
static char last_log[512];
static void keep_log(void *user, argus_log_level level, const char *module,
                     const char *line) {
  snprintf(last_log, sizeof last_log, "%s", line);
}

static void test_gather_op(argus_threadpool *pool) {
  /* data [3, 4] int32, axis -1, indices [[-1, 0], [2, -4]]. */
  int32_t data[12];
  for (int i = 0; i < 12; i++)
    data[i] = i;
  const int64_t dd[2] = {3, 4}, id[2] = {2, 2};
  int64_t idx[4] = {-1, 0, 2, -4};
  test_graph tg;
  tg_init(&tg, &nn_op_gather, 13, 2);
  tg_input(&tg, 0, NN_INT32, 2, dd, data, 0);
  tg_input(&tg, 1, NN_INT64, 2, id, idx, 0);
  tg_attr_int(&tg, "axis", -1);
  nn_err err = {{0}};
  CHECK_OK(tg_run(&tg, pool, &err));
  const nn_value *y = &tg.v[0];
  CHECK_INT_EQ(y->rank, 3);
  CHECK_INT_EQ(y->dims[0], 3);
  CHECK_INT_EQ(y->dims[1], 2);
  CHECK_INT_EQ(y->dims[2], 2);
  static const int32_t want[12] = {3, 0, 2, 0, 7, 4, 6, 4, 11, 8, 10, 8};
  for (int i = 0; i < 12 && y->data; i++)
    CHECK_INT_EQ(((int32_t *)y->data)[i], want[i]);
  /* An index out of range at run time is an error, not an over-read. */
  argus_log_set_sink(keep_log, NULL);
  idx[2] = 4;
  nn_exec x = {&tg.g, pool, 1, NULL, 0};
  CHECK_INT_EQ(nn_op_gather.run(&x, &tg.n), ARGUS_E_INVALID_ARG);
  CHECK(strstr(last_log, "index 4 (entry 2) out of range") != NULL);
  idx[2] = -5;
  CHECK_INT_EQ(nn_op_gather.run(&x, &tg.n), ARGUS_E_INVALID_ARG);
  CHECK(strstr(last_log, "index -5") != NULL);
  argus_log_set_sink(NULL, NULL);
  tg_free(&tg);
  /* ... and at plan time when the indices are constant. */
  int32_t ci[1] = {3};
  const int64_t cd[1] = {1};
  tg_init(&tg, &nn_op_gather, 13, 2);
  tg_input(&tg, 0, NN_INT32, 2, dd, data, 0);
  tg_input(&tg, 1, NN_INT32, 1, cd, ci, 1);
  CHECK_INT_EQ(tg_run(&tg, NULL, &err), ARGUS_E_INVALID_ARG);
  CHECK(strstr(err.msg, "out of range") != NULL);
  tg_free(&tg);
  /* Axis out of range. */
  tg_init(&tg, &nn_op_gather, 13, 2);
  tg_input(&tg, 0, NN_INT32, 2, dd, data, 0);
  tg_input(&tg, 1, NN_INT32, 1, cd, ci, 0);
  tg_attr_int(&tg, "axis", 2);
  CHECK_INT_EQ(tg_run(&tg, NULL, &err), ARGUS_E_CORRUPT);
  CHECK(strstr(err.msg, "axis 2 out of range for rank 2") != NULL);
  tg_free(&tg);
}

static void test_concat_op(argus_threadpool *pool) {
  /* [2, 1, 3] + [2, 2, 3] + [2, 0, 3] along axis -2, int64 and large. */
  for (int big = 0; big < 2; big++) {
    int64_t n3 = big ? 5000 : 3;
    int64_t d0[3] = {2, 1, n3}, d1[3] = {2, 2, n3}, d2[3] = {2, 0, n3};
    size_t n0 = (size_t)(2 * n3), n1 = (size_t)(4 * n3);
    int64_t *a = malloc(n0 * 8), *b = malloc(n1 * 8);
    for (size_t i = 0; i < n0; i++)
      a[i] = (int64_t)i;
    for (size_t i = 0; i < n1; i++)
      b[i] = 100000 + (int64_t)i;
    test_graph tg;
    tg_init(&tg, &nn_op_concat, 13, 3);
    tg_input(&tg, 0, NN_INT64, 3, d0, a, 0);
    tg_input(&tg, 1, NN_INT64, 3, d1, b, 0);
    tg_input(&tg, 2, NN_INT64, 3, d2, NULL, 0);
    tg_attr_int(&tg, "axis", -2);
    nn_err err = {{0}};
    CHECK_OK(tg_run(&tg, pool, &err));
    const nn_value *y = &tg.v[0];
    CHECK_INT_EQ(y->dims[1], 3);
    int ok = y->data != NULL;
    for (int64_t o = 0; o < 2 && ok; o++)
      for (int64_t j = 0; j < 3; j++)
        for (int64_t k = 0; k < n3; k++) {
          int64_t got = ((int64_t *)y->data)[(o * 3 + j) * n3 + k];
          int64_t w = j == 0 ? a[o * n3 + k] : b[(o * 2 + j - 1) * n3 + k];
          ok &= got == w;
        }
    CHECK(ok);
    tg_free(&tg);
    free(a);
    free(b);
  }
  /* Mismatched dims outside the axis. */
  const int64_t d0[2] = {2, 3}, d1[2] = {3, 3};
  test_graph tg;
  tg_init(&tg, &nn_op_concat, 13, 2);
  tg_input(&tg, 0, NN_FLOAT, 2, d0, NULL, 0);
  tg_input(&tg, 1, NN_FLOAT, 2, d1, NULL, 0);
  tg_attr_int(&tg, "axis", 1);
  nn_err err;
  CHECK_INT_EQ(tg_run(&tg, NULL, &err), ARGUS_E_SHAPE);
  tg_free(&tg);
}

static void test_alias_ops_copy(void) {
  /* Reshape/Flatten/Unsqueeze/Squeeze copy when the output is not aliased. */
  float data[24];
  for (int i = 0; i < 24; i++)
    data[i] = (float)i * 0.5f;
  const int64_t dims[3] = {2, 3, 4}, sd[1] = {2};
  int64_t shape[2] = {0, -1};
  test_graph tg;
  nn_err err = {{0}};
  tg_init(&tg, &nn_op_reshape, 14, 2);
  tg_input(&tg, 0, NN_FLOAT, 3, dims, data, 0);
  tg_input(&tg, 1, NN_INT64, 1, sd, shape, 1);
  CHECK_OK(tg_run(&tg, NULL, &err));
  CHECK_INT_EQ(tg.v[0].dims[1], 12);
  CHECK(tg.v[0].data && memcmp(tg.v[0].data, data, sizeof data) == 0);
  tg_free(&tg);

  tg_init(&tg, &nn_op_flatten, 13, 1);
  tg_input(&tg, 0, NN_FLOAT, 3, dims, data, 0);
  tg_attr_int(&tg, "axis", -1);
  CHECK_OK(tg_run(&tg, NULL, &err));
  CHECK_INT_EQ(tg.v[0].dims[0], 6);
  CHECK_INT_EQ(tg.v[0].dims[1], 4);
  CHECK(tg.v[0].data && memcmp(tg.v[0].data, data, sizeof data) == 0);
  tg_free(&tg);

  int64_t axes[2] = {-1, 1};
  tg_init(&tg, &nn_op_unsqueeze, 13, 2);
  tg_input(&tg, 0, NN_FLOAT, 3, dims, data, 0);
  tg_input(&tg, 1, NN_INT64, 1, sd, axes, 1);
  CHECK_OK(tg_run(&tg, NULL, &err));
  CHECK_INT_EQ(tg.v[0].rank, 5);
  CHECK_INT_EQ(tg.v[0].dims[1], 1);
  CHECK_INT_EQ(tg.v[0].dims[4], 1);
  CHECK(tg.v[0].data && memcmp(tg.v[0].data, data, sizeof data) == 0);
  tg_free(&tg);

  /* opset 11: axes as an attribute. */
  tg_init(&tg, &nn_op_unsqueeze, 11, 1);
  tg_input(&tg, 0, NN_FLOAT, 3, dims, data, 0);
  tg_attr_ints(&tg, "axes", 1, (const int64_t[]){0});
  CHECK_OK(tg_run(&tg, NULL, &err));
  CHECK_INT_EQ(tg.v[0].rank, 4);
  tg_free(&tg);

  const int64_t d1[4] = {1, 24, 1, 1};
  tg_init(&tg, &nn_op_squeeze, 13, 1);
  tg_input(&tg, 0, NN_FLOAT, 4, d1, data, 0);
  CHECK_OK(tg_run(&tg, NULL, &err));
  CHECK_INT_EQ(tg.v[0].rank, 1);
  CHECK_INT_EQ(tg.v[0].dims[0], 24);
  CHECK(tg.v[0].data && memcmp(tg.v[0].data, data, sizeof data) == 0);
  tg_free(&tg);

  /* Reshape with a product mismatch names both shapes. */
  int64_t bad[2] = {5, 5};
  tg_init(&tg, &nn_op_reshape, 13, 2);
  tg_input(&tg, 0, NN_FLOAT, 3, dims, data, 0);
  tg_input(&tg, 1, NN_INT64, 1, sd, bad, 1);
  CHECK_INT_EQ(tg_run(&tg, NULL, &err), ARGUS_E_SHAPE);
  CHECK(strstr(err.msg, "[2,3,4]") != NULL);
  tg_free(&tg);
}

static void test_shape_op(void) {
  const int64_t dims[4] = {2, 3, 4, 5};
  static const struct {
    int has_start, has_end;
    int64_t start, end;
    int first, count;
  } cases[] = {
      {0, 0, 0, 0, 0, 4},    {1, 0, 1, 0, 1, 3}, {0, 1, 0, -1, 0, 3},
      {1, 1, -10, 10, 0, 4}, {1, 1, 3, 1, 3, 0}, {1, 0, -1, 0, 3, 1},
  };
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    test_graph tg;
    tg_init(&tg, &nn_op_shape, 15, 1);
    tg_input(&tg, 0, NN_FLOAT, 4, dims, NULL, 0); /* data not needed */
    if (cases[c].has_start)
      tg_attr_int(&tg, "start", cases[c].start);
    if (cases[c].has_end)
      tg_attr_int(&tg, "end", cases[c].end);
    nn_err err = {{0}};
    CHECK_OK(tg_run(&tg, NULL, &err));
    CHECK_INT_EQ(tg.v[0].dtype, NN_INT64);
    CHECK_INT_EQ(tg.v[0].dims[0], cases[c].count);
    for (int i = 0; i < cases[c].count && tg.v[0].data; i++)
      CHECK_INT_EQ(((int64_t *)tg.v[0].data)[i], dims[cases[c].first + i]);
    tg_free(&tg);
  }
}

static void test_constant_op(void) {
  test_graph tg;
  nn_err err = {{0}};
  tg_init(&tg, &nn_op_constant, 13, 0);
  tg_attr_ints(&tg, "value_ints", 3, (const int64_t[]){7, -8, 9});
  CHECK_OK(tg.n.op->infer(&tg.g, &tg.n, &err));
  CHECK(tg.v[0].is_const);
  CHECK_INT_EQ(tg.v[0].dtype, NN_INT64);
  CHECK_INT_EQ(tg.v[0].rank, 1);
  CHECK_INT_EQ(tg.v[0].dims[0], 3);
  CHECK(tg.v[0].data && ((int64_t *)tg.v[0].data)[1] == -8);
  tg_free(&tg);

  tg_init(&tg, &nn_op_constant, 13, 0);
  tg_attr_int(&tg, "value_int", 42);
  CHECK_OK(tg.n.op->infer(&tg.g, &tg.n, &err));
  CHECK_INT_EQ(tg.v[0].rank, 0);
  CHECK(tg.v[0].data && *(int64_t *)tg.v[0].data == 42);
  tg_free(&tg);

  tg_init(&tg, &nn_op_constant, 13, 0);
  tg_attr_int(&tg, "value_int", 1);
  tg_attr_ints(&tg, "value_ints", 1, (const int64_t[]){1});
  CHECK_INT_EQ(tg.n.op->infer(&tg.g, &tg.n, &err), ARGUS_E_CORRUPT);
  tg_free(&tg);
}


/* Resize nearest, asymmetric + floor (YuNet's): y[.., i, j] = x[.., i*ih/oh,
 * j*iw/ow] with the exact rational index, which for the sizes here equals
 * ONNX's float formula. */
static void resize_case(argus_threadpool *pool, const int64_t *xd,
                        const int64_t *od, int by_scales) {
  size_t nx = (size_t)nn_shape_count(4, xd);
  float *x = malloc(nx * sizeof *x);
  for (size_t i = 0; i < nx; i++)
    x[i] = (float)i;
  float sc[4];
  int64_t sz[4];
  for (int k = 0; k < 4; k++) {
    sc[k] = (float)od[k] / (float)xd[k];
    sz[k] = od[k];
  }
  const int64_t one[1] = {4}, none[1] = {0};
  test_graph tg;
  tg_init(&tg, &nn_op_resize, 13, by_scales ? 3 : 4);
  tg_input(&tg, 0, NN_FLOAT, 4, xd, x, 0);
  tg_input(&tg, 1, NN_FLOAT, 1, none, NULL, 1);
  if (by_scales) {
    tg_input(&tg, 2, NN_FLOAT, 1, one, sc, 1);
  } else {
    tg_input(&tg, 2, NN_FLOAT, 1, none, NULL, 1);
    tg_input(&tg, 3, NN_INT64, 1, one, sz, 1);
  }
  tg_attr_str(&tg, "mode", "nearest");
  tg_attr_str(&tg, "coordinate_transformation_mode", "asymmetric");
  tg_attr_str(&tg, "nearest_mode", "floor");
  nn_err err = {{0}};
  CHECK_OK(tg_run(&tg, pool, &err));
  const nn_value *y = &tg.v[0];
  for (int k = 0; k < 4; k++)
    CHECK_INT_EQ(y->dims[k], od[k]);
  int bad = 0;
  const float *yd = y->data;
  for (int64_t a = 0; a < od[0] && yd; a++)
    for (int64_t b = 0; b < od[1]; b++)
      for (int64_t i = 0; i < od[2]; i++)
        for (int64_t j = 0; j < od[3]; j++) {
          int64_t sa = a * xd[0] / od[0], sb = b * xd[1] / od[1],
                  si = i * xd[2] / od[2], sj = j * xd[3] / od[3];
          float want = x[((sa * xd[1] + sb) * xd[2] + si) * xd[3] + sj];
          float got = yd[((a * od[1] + b) * od[2] + i) * od[3] + j];
          if (got != want && bad++ < 3)
            fprintf(stderr,
                    "Resize %lldx%lld -> %lldx%lld at (%lld,%lld,%lld,%lld): "
                    "%g, want %g\n",
                    (long long)xd[2], (long long)xd[3], (long long)od[2],
                    (long long)od[3], (long long)a, (long long)b, (long long)i,
                    (long long)j, (double)got, (double)want);
        }
  CHECK(bad == 0);
  tg_free(&tg);
  free(x);
}

static void test_resize_op(argus_threadpool *pool) {
  /* 2x in both axes (the fast paths), by scales and by sizes */
  const int64_t x1[4] = {2, 3, 5, 7}, o1[4] = {2, 3, 10, 14};
  resize_case(pool, x1, o1, 1);
  resize_case(NULL, x1, o1, 0);
  /* odd output width 2w-1 (the doubled column's tail) and height 2h-1 */
  const int64_t o2[4] = {2, 3, 9, 13};
  resize_case(pool, x1, o2, 0);
  resize_case(NULL, x1, o2, 0);
  /* 3x columns, 2x rows and channels: the table path, repeated rows */
  const int64_t o3[4] = {2, 6, 10, 21};
  resize_case(pool, x1, o3, 1);
  /* one column */
  const int64_t x4[4] = {1, 2, 3, 1}, o4[4] = {1, 2, 6, 2};
  resize_case(pool, x4, o4, 1);
}

/* QuantizeLinear rounds half to even before adding the zero point (an odd
 * zero point must not move a tie), saturates to int8, refuses a zero scale
 * at run time without writing; DequantizeLinear undoes it. */
static void test_quantize_ops(void) {
  float x[6] = {0.5f, 1.5f, 2.5f, -0.5f, 300.0f, -300.0f}, scale = 1.0f;
  int8_t zp = 1;
  const int64_t d6[1] = {6}, d1[1] = {1};
  test_graph tg;
  tg_init(&tg, &nn_op_quantizelinear, 13, 3);
  tg_input(&tg, 0, NN_FLOAT, 1, d6, x, 0);
  tg_input(&tg, 1, NN_FLOAT, 1, d1, &scale, 0);
  tg_input(&tg, 2, NN_INT8, 1, d1, &zp, 0);
  nn_err err = {{0}};
  CHECK_OK(tg_run(&tg, NULL, &err));
  CHECK_INT_EQ(tg.v[0].dtype, NN_INT8);
  static const int8_t want[6] = {1, 3, 3, 1, 127, -128};
  for (int i = 0; i < 6 && tg.v[0].data; i++)
    CHECK_INT_EQ(((int8_t *)tg.v[0].data)[i], want[i]);
  /* a zero scale: refused, output untouched */
  memset(tg.v[0].data, 0x55, 6);
  scale = 0.0f;
  argus_log_set_sink(keep_log, NULL);
  nn_exec ex = {&tg.g, NULL, 1, NULL, 0};
  CHECK_INT_EQ(nn_op_quantizelinear.run(&ex, &tg.n), ARGUS_E_INVALID_ARG);
  CHECK(strstr(last_log, "not a positive number") != NULL);
  argus_log_set_sink(NULL, NULL);
  for (int i = 0; i < 6; i++)
    CHECK_INT_EQ(((uint8_t *)tg.v[0].data)[i], 0x55);
  /* DequantizeLinear of the quantised values */
  int8_t q[6];
  memcpy(q, want, sizeof q);
  scale = 0.25f;
  test_graph td;
  tg_init(&td, &nn_op_dequantizelinear, 13, 3);
  tg_input(&td, 0, NN_INT8, 1, d6, q, 0);
  tg_input(&td, 1, NN_FLOAT, 1, d1, &scale, 0);
  tg_input(&td, 2, NN_INT8, 1, d1, &zp, 0);
  CHECK_OK(tg_run(&td, NULL, &err));
  for (int i = 0; i < 6 && td.v[0].data; i++)
    CHECK(((float *)td.v[0].data)[i] == (float)(want[i] - 1) * 0.25f);
  tg_free(&td);
  tg_free(&tg);
  /* a float zero point is refused at plan time */
  float fz = 0;
  tg_init(&tg, &nn_op_quantizelinear, 13, 3);
  tg_input(&tg, 0, NN_FLOAT, 1, d6, x, 0);
  tg_input(&tg, 1, NN_FLOAT, 1, d1, &scale, 0);
  tg_input(&tg, 2, NN_FLOAT, 1, d1, &fz, 0);
  CHECK_INT_EQ(tg_run(&tg, NULL, &err), ARGUS_E_UNSUPPORTED);
  CHECK(strstr(err.msg, "zero point of type") != NULL);
  tg_free(&tg);
}

int main(void) {
  argus_threadpool *pool = NULL;
  CHECK_OK(argus_threadpool_create(3, &pool));
  test_reshape_dims();
  test_slice_axis();
  test_unsqueeze_squeeze_dims();
  test_transpose(pool);
  test_slice_op(pool);
  test_gather_op(pool);
  test_concat_op(pool);
  test_alias_ops_copy();
  test_shape_op();
  test_constant_op();
  test_resize_op(pool);
  test_resize_op(NULL);
  test_quantize_ops();
  argus_threadpool_destroy(pool);
  return check_report("test_shape_ops");
}
