/*
 * Element-wise operators: the shared broadcast helper against a naive
 * reference on fixed and random shapes (every dtype and op, chunked and
 * threaded runs, in place), the ISA float32 kernels against the reference
 * kernels on every length up to a few vectors, and the op hooks (Add, Sub,
 * Mul, Div, PRelu, Relu, Sigmoid, Exp, Clip, Softmax, Identity) on small
 * hand-built graphs, including their error messages.
 */
#include <float.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "nn/graph.h"
#include "nn/ops/elementwise.h"

extern const nn_op nn_op_add, nn_op_sub, nn_op_mul, nn_op_div, nn_op_prelu,
    nn_op_relu, nn_op_sigmoid, nn_op_exp, nn_op_clip, nn_op_softmax,
    nn_op_identity;

/* ---- small deterministic random numbers --------------------------------- */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return (uint32_t)(rng_state >> 16);
}
static int rnd_int(int lo, int hi) {
  return lo + (int)(rnd() % (uint32_t)(hi - lo + 1));
}

static const int all_dtypes[] = {NN_FLOAT, NN_DOUBLE, NN_INT32,
                                 NN_INT64, NN_INT8,   NN_UINT8};

/* Fills n elements of dtype with values that exercise signs, zeros (integer
 * division by zero), -1 and the type's extremes. */
static void fill(int dtype, void *p, size_t n) {
  for (size_t i = 0; i < n; i++) {
    int r = rnd_int(-9, 9);
    int special = rnd() % 16 == 0;
    switch (dtype) {
    case NN_FLOAT:
      ((float *)p)[i] =
          r == 0 ? 0.0f : (float)r * 0.37f + (float)(rnd() % 100) * 0.01f;
      break;
    case NN_DOUBLE:
      ((double *)p)[i] =
          r == 0 ? 0.0 : (double)r * 0.37 + (double)(rnd() % 100) * 0.01;
      break;
    case NN_INT32:
      ((int32_t *)p)[i] = special ? (rnd() & 1 ? INT32_MIN : INT32_MAX) : r;
      break;
    case NN_INT64:
      ((int64_t *)p)[i] = special ? (rnd() & 1 ? INT64_MIN : INT64_MAX) : r;
      break;
    case NN_INT8:
      ((int8_t *)p)[i] =
          special ? (rnd() & 1 ? INT8_MIN : INT8_MAX) : (int8_t)r;
      break;
    case NN_UINT8:
      ((uint8_t *)p)[i] = special ? 255 : (uint8_t)(r + 9);
      break;
    }
  }
}

/* Naive scalar reference of op on element ia of a and ib of b, written
 * independently of the kernels: integers in 64 bits, then wrapped. */
static void ref_elem(nn_binop op, int dtype, const void *a, size_t ia,
                     const void *b, size_t ib, void *y, size_t iy) {
  if (dtype == NN_FLOAT || dtype == NN_DOUBLE) {
    double x =
        dtype == NN_FLOAT ? ((const float *)a)[ia] : ((const double *)a)[ia];
    double z =
        dtype == NN_FLOAT ? ((const float *)b)[ib] : ((const double *)b)[ib];
    if (dtype == NN_FLOAT) {
      float xf = (float)x, zf = (float)z, r;
      switch (op) {
      case NN_BINOP_ADD:
        r = xf + zf;
        break;
      case NN_BINOP_SUB:
        r = xf - zf;
        break;
      case NN_BINOP_MUL:
        r = xf * zf;
        break;
      case NN_BINOP_DIV:
        r = xf / zf;
        break;
      default:
        r = xf < 0 ? xf * zf : xf;
        break;
      }
      ((float *)y)[iy] = r;
    } else {
      double r;
      switch (op) {
      case NN_BINOP_ADD:
        r = x + z;
        break;
      case NN_BINOP_SUB:
        r = x - z;
        break;
      case NN_BINOP_MUL:
        r = x * z;
        break;
      case NN_BINOP_DIV:
        r = x / z;
        break;
      default:
        r = x < 0 ? x * z : x;
        break;
      }
      ((double *)y)[iy] = r;
    }
    return;
  }
  int64_t x, z;
  switch (dtype) {
  case NN_INT32:
    x = ((const int32_t *)a)[ia], z = ((const int32_t *)b)[ib];
    break;
  case NN_INT64:
    x = ((const int64_t *)a)[ia], z = ((const int64_t *)b)[ib];
    break;
  case NN_INT8:
    x = ((const int8_t *)a)[ia], z = ((const int8_t *)b)[ib];
    break;
  default:
    x = ((const uint8_t *)a)[ia], z = ((const uint8_t *)b)[ib];
    break;
  }
  uint64_t ux = (uint64_t)x, uz = (uint64_t)z, r;
  switch (op) {
  case NN_BINOP_ADD:
    r = ux + uz;
    break;
  case NN_BINOP_SUB:
    r = ux - uz;
    break;
  case NN_BINOP_MUL:
    r = ux * uz;
    break;
  case NN_BINOP_DIV:
    r = z == 0 ? 0 : z == -1 ? 0 - ux : (uint64_t)(x / z);
    break;
  default:
    r = x < 0 ? ux * uz : ux;
    break;
  }
  switch (dtype) {
  case NN_INT32:
    ((int32_t *)y)[iy] = (int32_t)(uint32_t)r;
    break;
  case NN_INT64:
    ((int64_t *)y)[iy] = (int64_t)r;
    break;
  case NN_INT8:
    ((int8_t *)y)[iy] = (int8_t)(uint8_t)r;
    break;
  default:
    ((uint8_t *)y)[iy] = (uint8_t)r;
    break;
  }
}

/* Naive broadcast: walks every output index and maps it into a and b. */
static void ref_broadcast(nn_binop op, int dtype, int ra, const int64_t *da,
                          const void *a, int rb, const int64_t *db,
                          const void *b, int ro, const int64_t *dout, void *y) {
  size_t n = nn_shape_count(ro, dout);
  for (size_t p = 0; p < n; p++) {
    size_t rest = p, ia = 0, ib = 0, sa = 1, sb = 1;
    for (int d = ro - 1; d >= 0; d--) {
      size_t i = rest % (size_t)dout[d];
      rest /= (size_t)dout[d];
      int ka = d - (ro - ra), kb = d - (ro - rb);
      if (ka >= 0) {
        ia += (da[ka] == 1 ? 0 : i) * sa;
        sa *= (size_t)da[ka];
      }
      if (kb >= 0) {
        ib += (db[kb] == 1 ? 0 : i) * sb;
        sb *= (size_t)db[kb];
      }
    }
    ref_elem(op, dtype, a, ia, b, ib, y, p);
  }
}

static int ops_for(int dtype, nn_binop *ops) {
  int k = 0;
  ops[k++] = NN_BINOP_ADD;
  ops[k++] = NN_BINOP_SUB;
  ops[k++] = NN_BINOP_MUL;
  ops[k++] = NN_BINOP_DIV;
  if (dtype == NN_FLOAT || dtype == NN_DOUBLE || dtype == NN_INT32 ||
      dtype == NN_INT64)
    ops[k++] = NN_BINOP_PRELU;
  return k;
}

/* Compares two result buffers bit for bit (NaN payloads are identical as
 * both sides compute the same IEEE operation). Reports the first mismatch. */
static int same_bytes(const void *x, const void *y, size_t n, size_t es,
                      const char *what) {
  if (memcmp(x, y, n * es) == 0)
    return 1;
  for (size_t i = 0; i < n; i++)
    if (memcmp((const char *)x + i * es, (const char *)y + i * es, es) != 0) {
      fprintf(stderr, "  %s: first mismatch at element %zu of %zu\n", what, i,
              n);
      break;
    }
  return 0;
}

static argus_threadpool *g_pool;

/* One broadcast case: every dtype and op through the helper (whole, in
 * random chunks, threaded, in place where shapes allow) against the naive
 * reference. */
static void check_case(int ra, const int64_t *da, int rb, const int64_t *db) {
  int ro;
  int64_t dout[NN_MAX_RANK];
  char sa[128], sb[128];
  nn_shape_str(ra, da, sa, sizeof sa);
  nn_shape_str(rb, db, sb, sizeof sb);
  CHECK_OK(nn_broadcast_shape(ra, da, rb, db, &ro, dout));
  size_t na = nn_shape_count(ra, da), nb = nn_shape_count(rb, db);
  size_t n = nn_shape_count(ro, dout);
  nn_bcast bc;
  CHECK_OK(nn_bcast_init(&bc, ra, da, rb, db, ro, dout));
  CHECK_INT_EQ(bc.n, n);
  for (size_t t = 0; t < sizeof all_dtypes / sizeof *all_dtypes; t++) {
    int dtype = all_dtypes[t];
    size_t es = nn_dtype_size(dtype);
    char *a = malloc(na * es + 1), *b = malloc(nb * es + 1);
    char *want = malloc(n * es + 1), *got = malloc(n * es + 1);
    char *inplace = malloc(n * es + 1);
    if (!a || !b || !want || !got || !inplace) {
      CHECK(!"out of memory");
      goto next;
    }
    fill(dtype, a, na);
    fill(dtype, b, nb);
    nn_binop ops[NN_BINOP_COUNT_];
    int nops = ops_for(dtype, ops);
    for (int o = 0; o < nops; o++) {
      const nn_binary_kernels *kr = nn_binary_kernels_ref(ops[o], dtype);
      const nn_binary_kernels *kb = nn_binary_kernels_get(ops[o], dtype);
      CHECK(kr != NULL && kb != NULL);
      if (!kr || !kb)
        continue;
      ref_broadcast(ops[o], dtype, ra, da, a, rb, db, b, ro, dout, want);
      char what[400];
      snprintf(what, sizeof what, "%s %s %s %s", nn_binop_name(ops[o]),
               nn_dtype_name(dtype), sa, sb);
      /* whole range, reference and best kernels */
      memset(got, 0x5a, n * es);
      nn_bcast_apply(&bc, kr, es, a, b, got, 0, n);
      CHECK(same_bytes(got, want, n, es, what));
      memset(got, 0x5a, n * es);
      nn_bcast_apply(&bc, kb, es, a, b, got, 0, n);
      CHECK(same_bytes(got, want, n, es, what));
      /* random chunks, as the pool would cut them */
      memset(got, 0x5a, n * es);
      for (size_t p = 0; p < n;) {
        size_t len = (size_t)rnd_int(1, 40);
        nn_bcast_apply(&bc, kb, es, a, b, got, p, p + len);
        p += len;
      }
      CHECK(same_bytes(got, want, n, es, what));
      /* threaded */
      memset(got, 0x5a, n * es);
      nn_bcast_run(g_pool, &bc, kb, es, a, b, got);
      CHECK(same_bytes(got, want, n, es, what));
      /* in place into whichever operand has the output's size */
      if (na == n) {
        memcpy(inplace, a, n * es);
        nn_bcast_run(g_pool, &bc, kb, es, inplace, b, inplace);
        CHECK(same_bytes(inplace, want, n, es, what));
      }
      if (nb == n) {
        memcpy(inplace, b, n * es);
        nn_bcast_run(g_pool, &bc, kb, es, a, inplace, inplace);
        CHECK(same_bytes(inplace, want, n, es, what));
      }
    }
  next:
    free(a);
    free(b);
    free(want);
    free(got);
    free(inplace);
  }
}

#define SHAPE(...) ((const int64_t[]){__VA_ARGS__})
#define CASE(ra, da, rb, db) check_case(ra, da, rb, db)

static void test_broadcast_fixed(void) {
  static const int64_t none[1] = {0};
  CASE(4, SHAPE(2, 3, 4, 5), 4, SHAPE(2, 3, 4, 5)); /* same shape */
  CASE(4, SHAPE(2, 3, 4, 5), 0, none);              /* scalar b */
  CASE(0, none, 4, SHAPE(2, 3, 4, 5));              /* scalar a */
  CASE(0, none, 0, none);                           /* scalar op scalar */
  CASE(4, SHAPE(2, 3, 4, 5), 3, SHAPE(3, 1, 1));    /* per channel */
  CASE(4, SHAPE(1, 3, 1, 1), 4, SHAPE(2, 3, 4, 5)); /* per channel, first */
  CASE(4, SHAPE(2, 3, 4, 5), 1, SHAPE(5));          /* last axis */
  CASE(4, SHAPE(2, 1, 4, 1), 4, SHAPE(1, 3, 1, 5)); /* both broadcast */
  CASE(2, SHAPE(3, 1), 2, SHAPE(1, 4));             /* outer product */
  CASE(1, SHAPE(1), 1, SHAPE(1));
  CASE(2, SHAPE(0, 3), 1, SHAPE(3)); /* empty */
  CASE(4, SHAPE(2, 3, 4, 37), 4, SHAPE(2, 1, 4, 37));
  CASE(4, SHAPE(2, 16, 1, 1), 4, SHAPE(2, 16, 7, 9)); /* SE block scale */
  CASE(5, SHAPE(8, 1, 9, 1, 7), 5, SHAPE(1, 5, 1, 6, 1));
  CASE(3, SHAPE(1, 1, 1), 3, SHAPE(1, 1, 1));
  CASE(3, SHAPE(1, 1, 67), 1, SHAPE(1)); /* vector with tail */
}

static void test_broadcast_random(void) {
  for (int iter = 0; iter < 150; iter++) {
    int ro = rnd_int(0, 6);
    int64_t full[NN_MAX_RANK], da[NN_MAX_RANK], db[NN_MAX_RANK];
    for (int i = 0; i < ro; i++)
      full[i] = rnd_int(1, 6);
    int ra = rnd_int(0, ro), rb = rnd_int(0, ro);
    if (rnd() & 1)
      *(rnd() & 1 ? &ra : &rb) = ro;
    for (int i = 0; i < ra; i++)
      da[i] = rnd() % 3 == 0 ? 1 : full[ro - ra + i];
    for (int i = 0; i < rb; i++)
      db[i] = rnd() % 3 == 0 ? 1 : full[ro - rb + i];
    check_case(ra, da, rb, db);
  }
}

static void test_bcast_layout(void) {
  nn_bcast bc;
  /* [2,3,4,5] * [3,1,1]: collapses to [2,3,20] with b constant inside. */
  CHECK_OK(nn_bcast_init(&bc, 4, SHAPE(2, 3, 4, 5), 3, SHAPE(3, 1, 1), 4,
                         SHAPE(2, 3, 4, 5)));
  CHECK_INT_EQ(bc.rank, 3);
  CHECK_INT_EQ(bc.dims[0], 2);
  CHECK_INT_EQ(bc.dims[1], 3);
  CHECK_INT_EQ(bc.dims[2], 20);
  CHECK_INT_EQ(bc.sa[2], 1);
  CHECK_INT_EQ(bc.sb[2], 0);
  CHECK_INT_EQ(bc.sb[1], 1);
  CHECK_INT_EQ(bc.sb[0], 0);
  /* same shapes and scalars collapse to one row */
  CHECK_OK(nn_bcast_init(&bc, 3, SHAPE(2, 3, 4), 3, SHAPE(2, 3, 4), 3,
                         SHAPE(2, 3, 4)));
  CHECK_INT_EQ(bc.rank, 1);
  CHECK_INT_EQ(bc.dims[0], 24);
  CHECK_OK(nn_bcast_init(&bc, 3, SHAPE(2, 3, 4), 0, NULL, 3, SHAPE(2, 3, 4)));
  CHECK_INT_EQ(bc.rank, 1);
  CHECK_INT_EQ(bc.sb[0], 0);
  /* operands that do not broadcast to the output */
  CHECK_INT_EQ(nn_bcast_init(&bc, 2, SHAPE(2, 3), 1, SHAPE(4), 2, SHAPE(2, 3)),
               ARGUS_E_SHAPE);
  CHECK_INT_EQ(
      nn_bcast_init(&bc, 2, SHAPE(2, 3), 3, SHAPE(1, 2, 3), 2, SHAPE(2, 3)),
      ARGUS_E_SHAPE);
  CHECK_INT_EQ(nn_bcast_init(&bc, 1, SHAPE(-1), 1, SHAPE(1), 1, SHAPE(-1)),
               ARGUS_E_INVALID_ARG);
}

/* The ISA kernel tables this CPU may run (ARGUS_ISA masks them). */
typedef struct isa_tables {
  const char *name;
  const nn_binary_kernels *(*binary)(nn_binop op);
  nn_unary_fn (*unary)(nn_unop op);
} isa_tables;

static int isa_list(isa_tables *out) {
  unsigned f = argus_cpu_features();
  int k = 0;
  if (f & ARGUS_CPU_AVX2)
    out[k++] = (isa_tables){"avx2", nn_f32_binary_avx2, nn_f32_unary_avx2};
  if (f & ARGUS_CPU_AVX512)
    out[k++] =
        (isa_tables){"avx512", nn_f32_binary_avx512, nn_f32_unary_avx512};
  return k;
}

/* Every float32 binary kernel of every ISA this CPU has against the
 * reference kernel on every length up to 200 (all vector-width tails),
 * misaligned, and in place: bit for bit. */
static void test_f32_binary_kernels(void) {
  enum { N = 200 };
  float a[N + 1], b[N + 1], want[N + 1], got[N + 1], io[N + 1];
  isa_tables isas[2];
  int nisa = isa_list(isas);
  for (int s = 0; s < nisa; s++)
    for (int op = 0; op < NN_BINOP_COUNT_; op++) {
      const nn_binary_kernels *kr =
          nn_binary_kernels_ref((nn_binop)op, NN_FLOAT);
      const nn_binary_kernels *kb = isas[s].binary((nn_binop)op);
      CHECK(kr && kb);
      if (!kr || !kb)
        continue;
      const nn_binary_fn r3[3] = {kr->vv, kr->vs, kr->sv};
      const nn_binary_fn b3[3] = {kb->vv, kb->vs, kb->sv};
      int bad = 0;
      for (size_t n = 0; n <= N && !bad; n++) {
        fill(NN_FLOAT, a, N + 1);
        fill(NN_FLOAT, b, N + 1);
        for (int v = 0; v < 3; v++) {
          memset(want, 0, sizeof want);
          memset(got, 0, sizeof got);
          r3[v](n, a + 1, b + 1, want + 1);
          b3[v](n, a + 1, b + 1, got + 1);
          int diff = memcmp(want, got, sizeof want) != 0;
          /* in place into a (into b for scalar-vector) */
          memcpy(io, v == 2 ? b : a, sizeof io);
          if (v == 2)
            b3[v](n, a + 1, io + 1, io + 1);
          else
            b3[v](n, io + 1, b + 1, io + 1);
          diff |= memcmp(io + 1, want + 1, n * sizeof(float)) != 0;
          if (diff)
            fprintf(stderr, "  %s %s float32 kernel %d differs at n=%zu\n",
                    isas[s].name, nn_binop_name((nn_binop)op), v, n);
          bad |= diff;
        }
      }
      CHECK(!bad);
    }
}

/* |got - want| within 1e-6 relative where want is a normal float; inf, NaN
 * and flushed-to-zero results where those are right. */
static int close_f32(float got, double want) {
  if (isnan(want))
    return isnan(got);
  if (want > FLT_MAX)
    return isinf(got) && got > 0;
  if (want < FLT_MIN)
    return got >= 0 && got <= FLT_MIN;
  return fabs((double)got - want) <= 1e-6 * want;
}

/* Every float32 unary kernel of every ISA against libm in double: a dense
 * sweep over [-110, 100], the specials, every tail length, in place. Relu
 * and Clip bit for bit against their definitions. */
static void test_f32_unary_kernels(void) {
  enum { N = 200003 };
  float *x = malloc(N * sizeof *x), *y = malloc(N * sizeof *y);
  if (!x || !y) {
    CHECK(!"out of memory");
    free(x);
    free(y);
    return;
  }
  const float specials[] = {-INFINITY, INFINITY, NAN,      -0.0f,
                            0.0f,      88.72f,   88.7228f, 88.8f,
                            -87.33f,   -87.34f,  -103.9f,  -104.5f,
                            1e-30f,    -1e-30f,  FLT_MAX,  -FLT_MAX};
  size_t ns = sizeof specials / sizeof *specials;
  for (size_t i = 0; i < N; i++)
    x[i] = i < ns ? specials[i]
                  : -110.0f + 210.0f * (float)(i - ns) / (float)(N - ns);
  isa_tables isas[2];
  int nisa = isa_list(isas);
  for (int s = 0; s < nisa; s++) {
    nn_unary_fn fexp = isas[s].unary(NN_UNOP_EXP);
    nn_unary_fn fsig = isas[s].unary(NN_UNOP_SIGMOID);
    nn_unary_fn frelu = isas[s].unary(NN_UNOP_RELU);
    nn_unary_fn fclip = isas[s].unary(NN_UNOP_CLIP);
    CHECK(fexp && fsig && frelu && fclip);
    if (!fexp || !fsig || !frelu || !fclip)
      continue;
    int bad = 0;
    fexp(N, x, y, NULL);
    for (size_t i = 0; i < N; i++)
      if (!close_f32(y[i], exp((double)x[i]))) {
        if (bad++ < 5)
          fprintf(stderr, "  %s exp(%.9g) = %.9g, want %.9g\n", isas[s].name,
                  x[i], y[i], exp((double)x[i]));
      }
    fsig(N, x, y, NULL);
    for (size_t i = 0; i < N; i++)
      if (!close_f32(y[i], 1.0 / (1.0 + exp(-(double)x[i])))) {
        if (bad++ < 5)
          fprintf(stderr, "  %s sigmoid(%.9g) = %.9g\n", isas[s].name, x[i],
                  y[i]);
      }
    frelu(N, x, y, NULL);
    for (size_t i = 0; i < N; i++) {
      float w = 0.0f > x[i] ? 0.0f : x[i];
      bad += memcmp(&w, &y[i], sizeof w) != 0;
    }
    const float bounds[2] = {-1.5f, 6.0f};
    fclip(N, x, y, bounds);
    for (size_t i = 0; i < N; i++) {
      float w = bounds[0] > x[i] ? bounds[0] : x[i];
      w = w > bounds[1] ? bounds[1] : w;
      bad += memcmp(&w, &y[i], sizeof w) != 0;
    }
    /* tails and in place: each length against the whole-array result */
    float buf[40], whole[40];
    fexp(40, x + 100, whole, NULL);
    for (size_t n = 0; n <= 40; n++) {
      memcpy(buf, x + 100, sizeof buf);
      fexp(n, buf, buf, NULL);
      bad += memcmp(buf, whole, n * sizeof(float)) != 0;
      bad += memcmp(buf + n, x + 100 + n, (40 - n) * sizeof(float)) != 0;
    }
    if (bad)
      fprintf(stderr, "  %s unary kernels: %d wrong\n", isas[s].name, bad);
    CHECK_INT_EQ(bad, 0);
  }
  free(x);
  free(y);
}

/* ---- op hooks on hand-built graphs --------------------------------------- */

typedef struct tgraph {
  nn_graph g;
  nn_value v[8];
  nn_node n;
  int in[4], out[1];
  nn_attr attrs[4];
  nn_err err;
} tgraph;

static void tg_init(tgraph *t, const nn_op *op, int opset, int ninputs) {
  memset(t, 0, sizeof *t);
  t->g.values = t->v;
  t->g.nvalues = ninputs + 1;
  t->g.nodes = &t->n;
  t->g.nnodes = 1;
  t->g.opset = opset;
  static char *names[] = {"in0", "in1", "in2", "in3", "out"};
  for (int i = 0; i < ninputs; i++) {
    t->v[i].name = names[i];
    t->v[i].rank = -1;
    t->in[i] = i;
  }
  t->v[ninputs].name = names[4];
  t->v[ninputs].rank = -1;
  t->out[0] = ninputs;
  t->n.op = op;
  t->n.name = "node0";
  t->n.op_type = (char *)op->type;
  t->n.opset = opset;
  t->n.ninputs = ninputs;
  t->n.noutputs = 1;
  t->n.in = t->in;
  t->n.out = t->out;
  t->n.attrs = t->attrs;
}

static void tg_input(tgraph *t, int i, int dtype, int rank, const int64_t *dims,
                     void *data) {
  nn_value *v = &t->v[i];
  v->dtype = dtype;
  v->rank = rank;
  if (rank)
    memcpy(v->dims, dims, sizeof(int64_t) * (size_t)rank);
  v->nelem = nn_shape_count(rank, dims);
  v->data = data;
}

static void tg_attr_int(tgraph *t, const char *name, int64_t val) {
  nn_attr *a = &t->attrs[t->n.nattrs++];
  a->name = (char *)name;
  a->type = NN_ATTR_INT;
  a->i = val;
}

static void tg_attr_float(tgraph *t, const char *name, float val) {
  nn_attr *a = &t->attrs[t->n.nattrs++];
  a->name = (char *)name;
  a->type = NN_ATTR_FLOAT;
  a->f = val;
}

static nn_value *tg_out(tgraph *t) { return &t->v[t->out[0]]; }

/* infer; on success points the output at buf and runs (with the pool). */
static argus_err tg_run(tgraph *t, void *buf) {
  argus_err e = t->n.op->infer(&t->g, &t->n, &t->err);
  if (e)
    return e;
  tg_out(t)->data = buf;
  nn_exec x = {
      .g = &t->g, .pool = g_pool, .nthreads = argus_threadpool_size(g_pool)};
  return t->n.op->run(&x, &t->n);
}

static void test_integer_semantics(void) {
  tgraph t;
  int32_t a[6] = {7, -7, 5, INT32_MIN, INT32_MAX, -9};
  int32_t b[6] = {-2, 2, 0, -1, 1, 4};
  int32_t y[6];
  tg_init(&t, &nn_op_div, 14, 2);
  tg_input(&t, 0, NN_INT32, 1, SHAPE(6), a);
  tg_input(&t, 1, NN_INT32, 1, SHAPE(6), b);
  CHECK_OK(tg_run(&t, y));
  CHECK_INT_EQ(y[0], -3); /* truncation toward zero */
  CHECK_INT_EQ(y[1], -3);
  CHECK_INT_EQ(y[2], 0);         /* division by zero is 0 */
  CHECK_INT_EQ(y[3], INT32_MIN); /* wraps instead of trapping */
  CHECK_INT_EQ(y[4], INT32_MAX);
  CHECK_INT_EQ(y[5], -2);

  tg_init(&t, &nn_op_add, 14, 2);
  tg_input(&t, 0, NN_INT32, 1, SHAPE(6), a);
  tg_input(&t, 1, NN_INT32, 1, SHAPE(6), b);
  CHECK_OK(tg_run(&t, y));
  CHECK_INT_EQ(y[3], INT32_MAX); /* INT32_MIN + -1 wraps */

  uint8_t ua[3] = {200, 7, 255}, ub[3] = {0, 2, 3}, uy[3];
  tg_init(&t, &nn_op_div, 14, 2);
  tg_input(&t, 0, NN_UINT8, 1, SHAPE(3), ua);
  tg_input(&t, 1, NN_UINT8, 1, SHAPE(3), ub);
  CHECK_OK(tg_run(&t, uy));
  CHECK_INT_EQ(uy[0], 0);
  CHECK_INT_EQ(uy[1], 3);
  CHECK_INT_EQ(uy[2], 85);

  int8_t ia[2] = {-128, 100}, ib[2] = {-1, 0}, iy[2];
  tg_init(&t, &nn_op_div, 14, 2);
  tg_input(&t, 0, NN_INT8, 1, SHAPE(2), ia);
  tg_input(&t, 1, NN_INT8, 1, SHAPE(2), ib);
  CHECK_OK(tg_run(&t, iy));
  CHECK_INT_EQ(iy[0], -128);
  CHECK_INT_EQ(iy[1], 0);
}

static void test_binary_infer(void) {
  tgraph t;
  float a[120], b[120], y[120];
  for (int i = 0; i < 120; i++)
    a[i] = (float)i, b[i] = (float)(i % 7) - 3.0f;

  /* shape and dtype of the output */
  tg_init(&t, &nn_op_mul, 14, 2);
  tg_input(&t, 0, NN_FLOAT, 3, SHAPE(2, 1, 4), a);
  tg_input(&t, 1, NN_FLOAT, 2, SHAPE(3, 1), b);
  CHECK_OK(tg_run(&t, y));
  CHECK_INT_EQ(tg_out(&t)->rank, 3);
  CHECK_INT_EQ(tg_out(&t)->dims[1], 3);
  CHECK_INT_EQ(tg_out(&t)->nelem, 24);
  CHECK_INT_EQ(tg_out(&t)->dtype, NN_FLOAT);
  CHECK_NEAR(y[1 * 12 + 2 * 4 + 3], a[4 + 3] * b[2], 0, 0);

  /* not broadcastable */
  tg_init(&t, &nn_op_sub, 14, 2);
  tg_input(&t, 0, NN_FLOAT, 2, SHAPE(2, 3), a);
  tg_input(&t, 1, NN_FLOAT, 1, SHAPE(4), b);
  CHECK_INT_EQ(tg_run(&t, y), ARGUS_E_SHAPE);
  CHECK(strstr(t.err.msg, "node0") && strstr(t.err.msg, "Sub") &&
        strstr(t.err.msg, "[2,3]") && strstr(t.err.msg, "[4]"));

  /* mixed dtypes */
  int32_t ib[3] = {1, 2, 3};
  tg_init(&t, &nn_op_add, 14, 2);
  tg_input(&t, 0, NN_FLOAT, 1, SHAPE(3), a);
  tg_input(&t, 1, NN_INT32, 1, SHAPE(3), ib);
  CHECK_INT_EQ(tg_run(&t, y), ARGUS_E_CORRUPT);
  CHECK(strstr(t.err.msg, "node0") && strstr(t.err.msg, "int32") &&
        strstr(t.err.msg, "input B"));

  /* unsupported dtype */
  uint16_t h[3] = {0};
  tg_init(&t, &nn_op_add, 14, 2);
  tg_input(&t, 0, NN_FLOAT16, 1, SHAPE(3), h);
  tg_input(&t, 1, NN_FLOAT16, 1, SHAPE(3), h);
  CHECK_INT_EQ(tg_run(&t, y), ARGUS_E_UNSUPPORTED);
  CHECK(strstr(t.err.msg, "node0") != NULL);

  /* wrong input count, missing input */
  tg_init(&t, &nn_op_add, 14, 1);
  tg_input(&t, 0, NN_FLOAT, 1, SHAPE(3), a);
  CHECK_INT_EQ(tg_run(&t, y), ARGUS_E_CORRUPT);
  CHECK(strstr(t.err.msg, "expects 2 inputs") != NULL);
  tg_init(&t, &nn_op_add, 14, 2);
  tg_input(&t, 0, NN_FLOAT, 1, SHAPE(3), a);
  t.in[1] = -1;
  CHECK_INT_EQ(tg_run(&t, y), ARGUS_E_CORRUPT);
  CHECK(strstr(t.err.msg, "input B is missing") != NULL);

  /* opset 6 legacy broadcasting: B [3,4] at axis 1 of A [2,3,4,5] */
  tg_init(&t, &nn_op_add, 6, 2);
  tg_input(&t, 0, NN_FLOAT, 4, SHAPE(2, 3, 4, 5), a);
  tg_input(&t, 1, NN_FLOAT, 2, SHAPE(3, 4), b);
  tg_attr_int(&t, "broadcast", 1);
  tg_attr_int(&t, "axis", 1);
  CHECK_OK(tg_run(&t, y));
  CHECK_INT_EQ(tg_out(&t)->rank, 4);
  for (int i = 0; i < 120; i++) {
    int c = (i / 20) % 3, hh = (i / 5) % 4;
    CHECK_NEAR(y[i], a[i] + b[c * 4 + hh], 0, 0);
  }
  /* opset 6 without broadcast: shapes must match */
  tg_init(&t, &nn_op_add, 6, 2);
  tg_input(&t, 0, NN_FLOAT, 2, SHAPE(2, 3), a);
  tg_input(&t, 1, NN_FLOAT, 1, SHAPE(3), b);
  CHECK_INT_EQ(tg_run(&t, y), ARGUS_E_SHAPE);
  CHECK(strstr(t.err.msg, "broadcast") != NULL);
  /* opset 6 default axis: suffix */
  tg_init(&t, &nn_op_mul, 6, 2);
  tg_input(&t, 0, NN_FLOAT, 2, SHAPE(2, 3), a);
  tg_input(&t, 1, NN_FLOAT, 1, SHAPE(3), b);
  tg_attr_int(&t, "broadcast", 1);
  CHECK_OK(tg_run(&t, y));
  CHECK_NEAR(y[5], a[5] * b[2], 0, 0);
  /* opset 6 axis out of range */
  tg_init(&t, &nn_op_mul, 6, 2);
  tg_input(&t, 0, NN_FLOAT, 2, SHAPE(2, 3), a);
  tg_input(&t, 1, NN_FLOAT, 1, SHAPE(3), b);
  tg_attr_int(&t, "broadcast", 1);
  tg_attr_int(&t, "axis", 2);
  CHECK_INT_EQ(tg_run(&t, y), ARGUS_E_SHAPE);
}

static void test_prelu(void) {
  tgraph t;
  float x[120], s[5] = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f}, y[120];
  for (int i = 0; i < 120; i++)
    x[i] = (float)(i % 11) - 5.0f;
  /* slope [3,1,1] per channel */
  tg_init(&t, &nn_op_prelu, 16, 2);
  tg_input(&t, 0, NN_FLOAT, 4, SHAPE(2, 3, 4, 5), x);
  tg_input(&t, 1, NN_FLOAT, 3, SHAPE(3, 1, 1), s);
  CHECK_OK(tg_run(&t, y));
  int bad = 0;
  for (int i = 0; i < 120; i++) {
    float sl = s[(i / 20) % 3];
    bad += y[i] != (x[i] < 0 ? x[i] * sl : x[i]);
  }
  CHECK_INT_EQ(bad, 0);
  /* slope [3] against [2,3,4,5]: not numpy-broadcastable, so per channel */
  tg_init(&t, &nn_op_prelu, 16, 2);
  tg_input(&t, 0, NN_FLOAT, 4, SHAPE(2, 3, 4, 5), x);
  tg_input(&t, 1, NN_FLOAT, 1, SHAPE(3), s);
  CHECK_OK(tg_run(&t, y));
  bad = 0;
  for (int i = 0; i < 120; i++) {
    float sl = s[(i / 20) % 3];
    bad += y[i] != (x[i] < 0 ? x[i] * sl : x[i]);
  }
  CHECK_INT_EQ(bad, 0);
  /* slope [5]: numpy, along the last axis */
  tg_init(&t, &nn_op_prelu, 16, 2);
  tg_input(&t, 0, NN_FLOAT, 4, SHAPE(2, 3, 4, 5), x);
  tg_input(&t, 1, NN_FLOAT, 1, SHAPE(5), s);
  CHECK_OK(tg_run(&t, y));
  bad = 0;
  for (int i = 0; i < 120; i++) {
    float sl = s[i % 5];
    bad += y[i] != (x[i] < 0 ? x[i] * sl : x[i]);
  }
  CHECK_INT_EQ(bad, 0);
  /* opset 6: [3] on [2,3,5,3] is per channel even though numpy would apply */
  tg_init(&t, &nn_op_prelu, 6, 2);
  tg_input(&t, 0, NN_FLOAT, 4, SHAPE(2, 3, 5, 3), x);
  tg_input(&t, 1, NN_FLOAT, 1, SHAPE(3), s);
  CHECK_OK(tg_run(&t, y));
  CHECK_NEAR(y[15 + 1], x[16] < 0 ? x[16] * s[1] : x[16], 0, 0);
  /* slope [4] fits neither reading */
  tg_init(&t, &nn_op_prelu, 16, 2);
  tg_input(&t, 0, NN_FLOAT, 4, SHAPE(2, 3, 4, 5), x);
  tg_input(&t, 1, NN_FLOAT, 1, SHAPE(4), s);
  CHECK_INT_EQ(tg_run(&t, y), ARGUS_E_SHAPE);
  CHECK(strstr(t.err.msg, "node0") && strstr(t.err.msg, "slope") &&
        strstr(t.err.msg, "[4]") && strstr(t.err.msg, "[2,3,4,5]"));
  /* slope must not grow the output: [2,3] slope on X [3] */
  tg_init(&t, &nn_op_prelu, 16, 2);
  tg_input(&t, 0, NN_FLOAT, 1, SHAPE(3), x);
  tg_input(&t, 1, NN_FLOAT, 2, SHAPE(2, 3), s);
  CHECK_INT_EQ(tg_run(&t, y), ARGUS_E_SHAPE);
}

static void test_unary(void) {
  tgraph t;
  enum { N = 4001 };
  static float x[N], y[N];
  for (int i = 0; i < N; i++)
    x[i] = -100.0f + 200.0f * (float)i / (float)(N - 1);
  x[0] = -INFINITY;
  x[1] = INFINITY;
  x[2] = NAN;
  x[3] = -0.0f;
  x[4] = 88.7f;
  x[5] = -87.5f;

  tg_init(&t, &nn_op_exp, 13, 1);
  tg_input(&t, 0, NN_FLOAT, 2, SHAPE(1, N), x);
  CHECK_OK(tg_run(&t, y));
  int bad = 0;
  for (int i = 0; i < N; i++) {
    double want = exp((double)x[i]);
    if (isnan(x[i]))
      bad += !isnan(y[i]);
    else if (isinf(want) || want > FLT_MAX)
      bad += !(isinf(y[i]) && y[i] > 0);
    else if (want < FLT_MIN)
      bad += !(y[i] >= 0 && y[i] <= FLT_MIN);
    else if (!(fabs(y[i] - want) <= 1e-6 * want)) {
      if (bad < 5)
        fprintf(stderr, "  exp(%.9g) = %.9g, want %.9g\n", x[i], y[i], want);
      bad++;
    }
  }
  CHECK_INT_EQ(bad, 0);

  tg_init(&t, &nn_op_sigmoid, 13, 1);
  tg_input(&t, 0, NN_FLOAT, 1, SHAPE(N), x);
  CHECK_OK(tg_run(&t, y));
  bad = 0;
  for (int i = 0; i < N; i++) {
    double want = 1.0 / (1.0 + exp(-(double)x[i]));
    if (isnan(x[i]))
      bad += !isnan(y[i]);
    else if (want < FLT_MIN)
      bad += !(y[i] >= 0 && y[i] <= FLT_MIN);
    else if (!(fabs(y[i] - want) <= 1e-6 * want)) {
      if (bad < 5)
        fprintf(stderr, "  sigmoid(%.9g) = %.9g, want %.9g\n", x[i], y[i],
                want);
      bad++;
    }
  }
  CHECK_INT_EQ(bad, 0);

  tg_init(&t, &nn_op_relu, 14, 1);
  tg_input(&t, 0, NN_FLOAT, 1, SHAPE(N), x);
  CHECK_OK(tg_run(&t, y));
  bad = 0;
  for (int i = 0; i < N; i++)
    bad += isnan(x[i]) ? !isnan(y[i]) : y[i] != (x[i] > 0 ? x[i] : 0.0f);
  CHECK_INT_EQ(bad, 0);
  int8_t i8[4] = {-128, -1, 0, 127}, o8[4];
  tg_init(&t, &nn_op_relu, 14, 1);
  tg_input(&t, 0, NN_INT8, 1, SHAPE(4), i8);
  CHECK_OK(tg_run(&t, o8));
  CHECK(o8[0] == 0 && o8[1] == 0 && o8[2] == 0 && o8[3] == 127);
  uint8_t u8[2] = {1, 2};
  tg_init(&t, &nn_op_relu, 14, 1);
  tg_input(&t, 0, NN_UINT8, 1, SHAPE(2), u8);
  CHECK_INT_EQ(tg_run(&t, y), ARGUS_E_UNSUPPORTED);
  CHECK(strstr(t.err.msg, "node0") && strstr(t.err.msg, "Relu") &&
        strstr(t.err.msg, "uint8"));

  /* in place, threaded */
  static float io[N];
  memcpy(io, x, sizeof io);
  tg_init(&t, &nn_op_exp, 13, 1);
  tg_input(&t, 0, NN_FLOAT, 1, SHAPE(N), io);
  CHECK_OK(tg_run(&t, io));
  bad = 0;
  for (int i = 6; i < N; i++)
    bad +=
        io[i] != expf(x[i]) && fabsf(io[i] - expf(x[i])) > 1e-6f * expf(x[i]);
  CHECK_INT_EQ(bad, 0);

  /* Identity: copies, and accepts any dtype */
  int64_t l[3] = {1, -2, 3}, lo[3] = {0};
  tg_init(&t, &nn_op_identity, 14, 1);
  tg_input(&t, 0, NN_INT64, 1, SHAPE(3), l);
  CHECK_OK(tg_run(&t, lo));
  CHECK(memcmp(l, lo, sizeof l) == 0);
  CHECK_INT_EQ(tg_out(&t)->dtype, NN_INT64);
  CHECK(nn_op_identity.flags & NN_OP_ALIAS);
  tg_init(&t, &nn_op_identity, 14, 1);
  tg_input(&t, 0, NN_INT64, 1, SHAPE(3), l);
  CHECK_OK(tg_run(&t, l)); /* aliased */
  CHECK_INT_EQ(l[1], -2);
}

static void test_clip(void) {
  tgraph t;
  float x[7] = {-3, -1, 0, 0.5f, 2, 9, NAN}, y[7];
  float lo = -1.5f, hi = 1.0f;
  /* opset 13: both bounds as inputs */
  tg_init(&t, &nn_op_clip, 13, 3);
  tg_input(&t, 0, NN_FLOAT, 1, SHAPE(7), x);
  tg_input(&t, 1, NN_FLOAT, 0, NULL, &lo);
  tg_input(&t, 2, NN_FLOAT, 0, NULL, &hi);
  CHECK_OK(tg_run(&t, y));
  CHECK(y[0] == -1.5f && y[1] == -1 && y[2] == 0 && y[3] == 0.5f && y[4] == 1 &&
        y[5] == 1 && isnan(y[6]));
  /* max only (min omitted) */
  tg_init(&t, &nn_op_clip, 13, 3);
  tg_input(&t, 0, NN_FLOAT, 1, SHAPE(7), x);
  t.in[1] = -1;
  tg_input(&t, 2, NN_FLOAT, 1, SHAPE(1), &hi);
  CHECK_OK(tg_run(&t, y));
  CHECK(y[0] == -3 && y[5] == 1);
  /* min > max: everything becomes max */
  float big = 5, small = 2;
  tg_init(&t, &nn_op_clip, 13, 3);
  tg_input(&t, 0, NN_FLOAT, 1, SHAPE(7), x);
  tg_input(&t, 1, NN_FLOAT, 0, NULL, &big);
  tg_input(&t, 2, NN_FLOAT, 0, NULL, &small);
  CHECK_OK(tg_run(&t, y));
  CHECK(y[0] == 2 && y[3] == 2 && y[5] == 2);
  /* opset 6 attributes */
  tg_init(&t, &nn_op_clip, 6, 1);
  tg_input(&t, 0, NN_FLOAT, 1, SHAPE(7), x);
  tg_attr_float(&t, "min", 0.0f);
  tg_attr_float(&t, "max", 6.0f);
  CHECK_OK(tg_run(&t, y));
  CHECK(y[0] == 0 && y[4] == 2 && y[5] == 6);
  /* int8 with default bounds and a min */
  int8_t i8[4] = {-128, -5, 3, 127}, o8[4], m8 = -4;
  tg_init(&t, &nn_op_clip, 13, 2);
  tg_input(&t, 0, NN_INT8, 1, SHAPE(4), i8);
  tg_input(&t, 1, NN_INT8, 0, NULL, &m8);
  CHECK_OK(tg_run(&t, o8));
  CHECK(o8[0] == -4 && o8[1] == -4 && o8[2] == 3 && o8[3] == 127);
  /* bound of another dtype, bound that is not a scalar */
  double d = 1;
  tg_init(&t, &nn_op_clip, 13, 2);
  tg_input(&t, 0, NN_FLOAT, 1, SHAPE(7), x);
  tg_input(&t, 1, NN_DOUBLE, 0, NULL, &d);
  CHECK_INT_EQ(tg_run(&t, y), ARGUS_E_CORRUPT);
  CHECK(strstr(t.err.msg, "node0") && strstr(t.err.msg, "'min'"));
  tg_init(&t, &nn_op_clip, 13, 2);
  tg_input(&t, 0, NN_FLOAT, 1, SHAPE(7), x);
  tg_input(&t, 1, NN_FLOAT, 1, SHAPE(2), x);
  CHECK_INT_EQ(tg_run(&t, y), ARGUS_E_SHAPE);
  CHECK(strstr(t.err.msg, "scalar") != NULL);
}

/* Naive softmax over [outer, len, inner] in double. */
static void ref_softmax(const float *x, double *y, size_t outer, size_t len,
                        size_t inner) {
  for (size_t o = 0; o < outer; o++)
    for (size_t i = 0; i < inner; i++) {
      const float *xp = x + o * len * inner + i;
      double *yp = y + o * len * inner + i;
      double m = -INFINITY, s = 0;
      for (size_t k = 0; k < len; k++)
        m = xp[k * inner] > m ? xp[k * inner] : m;
      for (size_t k = 0; k < len; k++)
        s += exp(xp[k * inner] - m);
      for (size_t k = 0; k < len; k++)
        yp[k * inner] = exp(xp[k * inner] - m) / s;
    }
}

static void check_softmax(int opset, int rank, const int64_t *dims,
                          int64_t axis, int has_axis, size_t outer, size_t len,
                          size_t inner, int inplace) {
  tgraph t;
  size_t n = outer * len * inner;
  float *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
  double *want = malloc(n * sizeof *want);
  if (!x || !y || !want) {
    CHECK(!"out of memory");
    goto out;
  }
  for (size_t i = 0; i < n; i++)
    x[i] = (float)((int)(rnd() % 2001) - 1000) * 0.01f +
           (i % 3 == 0 ? 1000.0f : 0.0f);
  ref_softmax(x, want, outer, len, inner);
  tg_init(&t, &nn_op_softmax, opset, 1);
  tg_input(&t, 0, NN_FLOAT, rank, dims, x);
  if (has_axis)
    tg_attr_int(&t, "axis", axis);
  CHECK_OK(tg_run(&t, inplace ? x : y));
  const float *got = inplace ? x : y;
  int bad = 0;
  for (size_t i = 0; i < n; i++)
    bad += !(fabs(got[i] - want[i]) <= 1e-7 + 1e-5 * want[i]);
  if (bad)
    fprintf(stderr, "  softmax opset %d axis %lld: %d wrong\n", opset,
            (long long)axis, bad);
  CHECK_INT_EQ(bad, 0);
out:
  free(x);
  free(y);
  free(want);
}

static void test_softmax(void) {
  /* opset 13: along one axis */
  check_softmax(13, 3, SHAPE(2, 3, 4), -1, 0, 6, 4, 1, 0);
  check_softmax(13, 3, SHAPE(2, 3, 4), 1, 1, 2, 3, 4, 0);
  check_softmax(13, 3, SHAPE(2, 3, 4), 0, 1, 1, 2, 12, 0);
  check_softmax(13, 4, SHAPE(2, 7, 300, 3), 1, 1, 2, 7, 900, 0); /* >256 cols */
  check_softmax(13, 4, SHAPE(2, 7, 300, 3), -3, 1, 2, 7, 900, 1); /* in place */
  check_softmax(13, 2, SHAPE(3000, 40), 1, 1, 3000, 40, 1, 1);    /* threaded */
  /* opset 11: coerced to 2-D at axis (default 1) */
  check_softmax(11, 3, SHAPE(2, 3, 4), 1, 0, 2, 12, 1, 0);
  check_softmax(11, 3, SHAPE(2, 3, 4), 0, 1, 1, 24, 1, 0);
  check_softmax(11, 3, SHAPE(2, 3, 4), -1, 1, 6, 4, 1, 0);
  check_softmax(1, 3, SHAPE(2, 3, 4), 2, 1, 6, 4, 1, 0);

  /* bad axis */
  tgraph t;
  float x[24], y[24];
  memset(x, 0, sizeof x);
  tg_init(&t, &nn_op_softmax, 13, 1);
  tg_input(&t, 0, NN_FLOAT, 3, SHAPE(2, 3, 4), x);
  tg_attr_int(&t, "axis", 3);
  CHECK_INT_EQ(tg_run(&t, y), ARGUS_E_CORRUPT);
  CHECK(strstr(t.err.msg, "node0") && strstr(t.err.msg, "axis 3"));
  tg_init(&t, &nn_op_softmax, 13, 1);
  tg_input(&t, 0, NN_FLOAT, 3, SHAPE(2, 3, 4), x);
  tg_attr_int(&t, "axis", -4);
  CHECK_INT_EQ(tg_run(&t, y), ARGUS_E_CORRUPT);
  /* large values stay finite */
  float big[3] = {10000.0f, 10001.0f, 10002.0f}, out[3];
  tg_init(&t, &nn_op_softmax, 13, 1);
  tg_input(&t, 0, NN_FLOAT, 1, SHAPE(3), big);
  CHECK_OK(tg_run(&t, out));
  CHECK_NEAR(out[0], 0.09003057, 1e-6, 0);
  CHECK_NEAR(out[2], 0.66524096, 1e-6, 0);
}

int main(void) {
  CHECK_OK(argus_threadpool_create(4, &g_pool));
  printf("float32 element-wise kernels: %s\n", argus_cpu_isa_name());
  test_bcast_layout();
  test_broadcast_fixed();
  test_broadcast_random();
  test_f32_binary_kernels();
  test_f32_unary_kernels();
  test_integer_semantics();
  test_binary_infer();
  test_prelu();
  test_unary();
  test_clip();
  test_softmax();
  argus_threadpool_destroy(g_pool);
  return check_report("test_elementwise_ops");
}
