/* Shared machinery of the element-wise operators; see elementwise.h. */
#include "elementwise.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

/* Work is handed to the pool in blocks of this many elements, so that chunk
 * boundaries fall on cache lines for every dtype. */
#define EW_BLOCK 4096
/* Cheap operations (one add) are split in chunks of at least this many
 * elements; costlier ones (exp) proportionally finer. */
#define EW_GRAIN_ELEMS ((size_t)1 << 15)

const char *nn_binop_name(nn_binop op) {
  static const char *const names[NN_BINOP_COUNT_] = {"Add", "Sub", "Mul", "Div",
                                                     "PRelu"};
  return (unsigned)op < NN_BINOP_COUNT_ ? names[op] : "?";
}

/* ---- reference kernels ------------------------------------------------- */

/* Three inner loops (vector-vector, vector-scalar, scalar-vector) of one
 * expression in x (from a) and z (from b), and their table. */
#define EW_LOOPS(name, T, EXPR)                                                \
  static void name##_vv(size_t n, const void *pa, const void *pb, void *py) {  \
    const T *a = pa, *b = pb;                                                  \
    T *y = py;                                                                 \
    for (size_t i = 0; i < n; i++) {                                           \
      T x = a[i], z = b[i];                                                    \
      y[i] = (EXPR);                                                           \
    }                                                                          \
  }                                                                            \
  static void name##_vs(size_t n, const void *pa, const void *pb, void *py) {  \
    const T *a = pa;                                                           \
    const T z = *(const T *)pb;                                                \
    T *y = py;                                                                 \
    for (size_t i = 0; i < n; i++) {                                           \
      T x = a[i];                                                              \
      y[i] = (EXPR);                                                           \
    }                                                                          \
  }                                                                            \
  static void name##_sv(size_t n, const void *pa, const void *pb, void *py) {  \
    const T x = *(const T *)pa;                                                \
    const T *b = pb;                                                           \
    T *y = py;                                                                 \
    for (size_t i = 0; i < n; i++) {                                           \
      T z = b[i];                                                              \
      y[i] = (EXPR);                                                           \
    }                                                                          \
  }                                                                            \
  static const nn_binary_kernels name = {name##_vv, name##_vs, name##_sv};

/* Floating point: IEEE semantics as written. */
#define EW_FLOAT(sfx, T)                                                       \
  EW_LOOPS(add_##sfx, T, x + z)                                                \
  EW_LOOPS(sub_##sfx, T, x - z)                                                \
  EW_LOOPS(mul_##sfx, T, (x) * (z))                                            \
  EW_LOOPS(div_##sfx, T, x / z)                                                \
  EW_LOOPS(prelu_##sfx, T, x < 0 ? x * z : x)

/* Signed integers wrap on overflow (computed in the unsigned type U, since
 * signed overflow is undefined in C). Division truncates toward zero like C;
 * x / 0 is defined as 0 and MIN / -1 wraps to MIN instead of trapping. */
#define EW_SIGNED(sfx, T, U)                                                   \
  EW_LOOPS(add_##sfx, T, (T)((U)x + (U)z))                                     \
  EW_LOOPS(sub_##sfx, T, (T)((U)x - (U)z))                                     \
  EW_LOOPS(mul_##sfx, T, (T)((U)x * (U)z))                                     \
  EW_LOOPS(div_##sfx, T,                                                       \
           z == 0    ? (T)0                                                    \
           : z == -1 ? (T)((U)0 - (U)x)                                        \
                     : (T)(x / z))

EW_FLOAT(f32, float)
EW_FLOAT(f64, double)
EW_SIGNED(i32, int32_t, uint32_t)
EW_SIGNED(i64, int64_t, uint64_t)
EW_SIGNED(i8, int8_t, uint8_t)
EW_LOOPS(prelu_i32, int32_t, x < 0 ? (int32_t)((uint32_t)x * (uint32_t)z) : x)
EW_LOOPS(prelu_i64, int64_t, x < 0 ? (int64_t)((uint64_t)x * (uint64_t)z) : x)
EW_LOOPS(add_u8, uint8_t, (uint8_t)(x + z))
EW_LOOPS(sub_u8, uint8_t, (uint8_t)(x - z))
EW_LOOPS(mul_u8, uint8_t, (uint8_t)((x) * (z)))
EW_LOOPS(div_u8, uint8_t, z == 0 ? (uint8_t)0 : (uint8_t)(x / z))

#define EW_ARITH_ROW(kind)                                                     \
  {                                                                            \
    [NN_FLOAT] = &kind##_f32, [NN_DOUBLE] = &kind##_f64,                       \
    [NN_INT32] = &kind##_i32, [NN_INT64] = &kind##_i64,                        \
    [NN_INT8] = &kind##_i8, [NN_UINT8] = &kind##_u8,                           \
  }

#define EW_NDTYPES (NN_UINT64 + 1)
static const nn_binary_kernels *const ref_kernels[NN_BINOP_COUNT_][EW_NDTYPES] =
    {
        [NN_BINOP_ADD] = EW_ARITH_ROW(add),
        [NN_BINOP_SUB] = EW_ARITH_ROW(sub),
        [NN_BINOP_MUL] = EW_ARITH_ROW(mul),
        [NN_BINOP_DIV] = EW_ARITH_ROW(div),
        [NN_BINOP_PRELU] = {[NN_FLOAT] = &prelu_f32,
                            [NN_DOUBLE] = &prelu_f64,
                            [NN_INT32] = &prelu_i32,
                            [NN_INT64] = &prelu_i64},
};

const nn_binary_kernels *nn_binary_kernels_ref(nn_binop op, int dtype) {
  if ((unsigned)op >= NN_BINOP_COUNT_ || dtype < 0 || dtype >= EW_NDTYPES)
    return NULL;
  return ref_kernels[op][dtype];
}

/* Float32 kernels picked once for this CPU. */
static const nn_binary_kernels *f32_best[NN_BINOP_COUNT_];
static nn_unary_fn f32_unary_best[NN_UNOP_COUNT_];
static pthread_once_t f32_once = PTHREAD_ONCE_INIT;

static void pick_f32_kernels(void) {
  unsigned f = argus_cpu_features();
  const char *isa = "ref";
  for (int op = 0; op < NN_BINOP_COUNT_; op++) {
    const nn_binary_kernels *k = NULL;
    if (f & ARGUS_CPU_AVX512) {
      k = nn_f32_binary_avx512((nn_binop)op);
      if (k)
        isa = "avx512";
    }
    if (!k && (f & ARGUS_CPU_AVX2)) {
      k = nn_f32_binary_avx2((nn_binop)op);
      if (k)
        isa = "avx2";
    }
    f32_best[op] = k ? k : ref_kernels[op][NN_FLOAT];
  }
  for (int op = 0; op < NN_UNOP_COUNT_; op++) {
    nn_unary_fn fn = NULL;
    if (f & ARGUS_CPU_AVX512)
      fn = nn_f32_unary_avx512((nn_unop)op);
    if (!fn && (f & ARGUS_CPU_AVX2))
      fn = nn_f32_unary_avx2((nn_unop)op);
    f32_unary_best[op] = fn;
  }
  argus_log(ARGUS_LOG_DEBUG, "nn", "element-wise float32 kernels: %s", isa);
}

const nn_binary_kernels *nn_binary_kernels_get(nn_binop op, int dtype) {
  if (dtype == NN_FLOAT && (unsigned)op < NN_BINOP_COUNT_) {
    pthread_once(&f32_once, pick_f32_kernels);
    return f32_best[op];
  }
  return nn_binary_kernels_ref(op, dtype);
}

void nn_f32_exp_ref(size_t n, const void *px, void *py, const void *params) {
  (void)params;
  const float *x = px;
  float *y = py;
  for (size_t i = 0; i < n; i++)
    y[i] = expf(x[i]);
}

nn_unary_fn nn_f32_unary_get(nn_unop op, nn_unary_fn ref) {
  if ((unsigned)op >= NN_UNOP_COUNT_)
    return ref;
  pthread_once(&f32_once, pick_f32_kernels);
  return f32_unary_best[op] ? f32_unary_best[op] : ref;
}

/* ---- broadcast layout -------------------------------------------------- */

argus_err nn_bcast_init(nn_bcast *bc, int ra, const int64_t *da, int rb,
                        const int64_t *db, int ro, const int64_t *dout) {
  memset(bc, 0, sizeof *bc);
  if (ro < 0 || ro > NN_MAX_RANK || ra < 0 || rb < 0)
    return ARGUS_E_INVALID_ARG;
  if (ra > ro || rb > ro)
    return ARGUS_E_SHAPE;
  /* Class of a dimension: bit 0 set when a broadcasts along it, bit 1 when
   * b does. Adjacent dimensions of one class merge into one. */
  int cls[NN_MAX_RANK];
  int r = 0;
  size_t n = 1;
  for (int i = 0; i < ro; i++) {
    int ia = i - (ro - ra), ib = i - (ro - rb);
    int64_t o = dout[i], xa = ia >= 0 ? da[ia] : 1, xb = ib >= 0 ? db[ib] : 1;
    if (o < 0 || xa < 0 || xb < 0)
      return ARGUS_E_INVALID_ARG;
    if ((xa != o && xa != 1) || (xb != o && xb != 1))
      return ARGUS_E_SHAPE;
    if (__builtin_mul_overflow(n, (size_t)o, &n))
      return ARGUS_E_LIMIT;
    if (o == 1)
      continue;
    int c = (xa != o) | (xb != o) << 1;
    if (r > 0 && cls[r - 1] == c) {
      bc->dims[r - 1] *= o;
    } else {
      bc->dims[r] = o;
      cls[r] = c;
      r++;
    }
  }
  if (r == 0) {
    bc->dims[0] = 1;
    cls[0] = 0;
    r = 1;
  }
  int64_t stride_a = 1, stride_b = 1;
  for (int i = r - 1; i >= 0; i--) {
    bc->sa[i] = (cls[i] & 1) ? 0 : stride_a;
    bc->sb[i] = (cls[i] & 2) ? 0 : stride_b;
    if (!(cls[i] & 1))
      stride_a *= bc->dims[i];
    if (!(cls[i] & 2))
      stride_b *= bc->dims[i];
  }
  bc->rank = r;
  bc->n = n;
  return ARGUS_OK;
}

void nn_bcast_apply(const nn_bcast *bc, const nn_binary_kernels *k,
                    size_t esize, const void *a, const void *b, void *y,
                    size_t begin, size_t end) {
  if (end > bc->n)
    end = bc->n;
  if (begin >= end)
    return;
  const int r = bc->rank;
  const size_t inner = (size_t)bc->dims[r - 1];
  const int64_t ia = bc->sa[r - 1], ib = bc->sb[r - 1];
  nn_binary_fn fn = (ia && !ib) ? k->vs : (!ia && ib) ? k->sv : k->vv;

  /* Unravel begin into the outer index and the operands' offsets. */
  int64_t idx[NN_MAX_RANK];
  size_t rest = begin / inner, i0 = begin % inner;
  int64_t off_a = 0, off_b = 0;
  for (int d = r - 2; d >= 0; d--) {
    idx[d] = (int64_t)(rest % (size_t)bc->dims[d]);
    rest /= (size_t)bc->dims[d];
    off_a += idx[d] * bc->sa[d];
    off_b += idx[d] * bc->sb[d];
  }

  const char *pa = a, *pb = b;
  char *py = y;
  for (size_t pos = begin; pos < end;) {
    size_t len = inner - i0;
    if (len > end - pos)
      len = end - pos;
    fn(len, pa + (size_t)(off_a + (int64_t)i0 * ia) * esize,
       pb + (size_t)(off_b + (int64_t)i0 * ib) * esize, py + pos * esize);
    pos += len;
    i0 = 0;
    for (int d = r - 2; d >= 0; d--) {
      off_a += bc->sa[d];
      off_b += bc->sb[d];
      if (++idx[d] < bc->dims[d])
        break;
      off_a -= bc->sa[d] * bc->dims[d];
      off_b -= bc->sb[d] * bc->dims[d];
      idx[d] = 0;
    }
  }
}

typedef struct bcast_task {
  const nn_bcast *bc;
  const nn_binary_kernels *k;
  size_t esize;
  const void *a, *b;
  void *y;
} bcast_task;

static void bcast_task_fn(void *ctx, size_t begin, size_t end, int tid) {
  (void)tid;
  const bcast_task *t = ctx;
  nn_bcast_apply(t->bc, t->k, t->esize, t->a, t->b, t->y, begin * EW_BLOCK,
                 end * EW_BLOCK);
}

void nn_bcast_run(argus_threadpool *pool, const nn_bcast *bc,
                  const nn_binary_kernels *k, size_t esize, const void *a,
                  const void *b, void *y) {
  if (!pool || bc->n <= EW_GRAIN_ELEMS) {
    nn_bcast_apply(bc, k, esize, a, b, y, 0, bc->n);
    return;
  }
  bcast_task t = {bc, k, esize, a, b, y};
  size_t nblocks = (bc->n + EW_BLOCK - 1) / EW_BLOCK;
  argus_threadpool_parallel_for(pool, nblocks, EW_GRAIN_ELEMS / EW_BLOCK,
                                bcast_task_fn, &t);
}

/* ---- binary operator hooks --------------------------------------------- */

static const char *shape_str(const nn_value *v, char *buf, size_t len) {
  return nn_shape_str(v->rank, v->dims, buf, len);
}

/* Resolves the effective shape of b (rank *rb, dims db) and the output shape
 * of node n from its inputs a and b. err may be NULL (at run time, after
 * infer has validated the same computation). */
static argus_err binary_shapes(const nn_node *n, nn_binop op, const nn_value *a,
                               const nn_value *b, int *rb, int64_t *db, int *ro,
                               int64_t *dout, nn_err *err) {
  const char *opn = nn_binop_name(op);
  char sa[128], sb[128];
  argus_err e;
  *rb = b->rank;
  memcpy(db, b->dims, sizeof(int64_t) * (size_t)b->rank);

  if (op == NN_BINOP_PRELU) {
    /* ONNX: slope broadcasts unidirectionally to X (numpy rules). Opset < 7
     * (and models converted from Caffe/MXNet) instead give one slope per
     * channel, axis 1, as a vector [C]; accept that form when the numpy
     * reading does not apply, or first under opset < 7. */
    *ro = a->rank;
    memcpy(dout, a->dims, sizeof(int64_t) * (size_t)a->rank);
    int numpy_ok = 0, chan_ok = 0;
    int rt;
    int64_t dt[NN_MAX_RANK];
    if (b->rank <= a->rank &&
        nn_broadcast_shape(a->rank, a->dims, b->rank, b->dims, &rt, dt) ==
            ARGUS_OK &&
        memcmp(dt, a->dims, sizeof(int64_t) * (size_t)a->rank) == 0)
      numpy_ok = 1;
    if (a->rank >= 2 && b->nelem == (size_t)a->dims[1] && a->dims[1] > 1) {
      int nontrivial = 0;
      for (int i = 0; i < b->rank; i++)
        nontrivial += b->dims[i] != 1;
      chan_ok = nontrivial == 1;
    }
    if (chan_ok && (!numpy_ok || (n->opset > 0 && n->opset < 7))) {
      *rb = a->rank;
      for (int i = 0; i < a->rank; i++)
        db[i] = i == 1 ? a->dims[1] : 1;
      return ARGUS_OK;
    }
    if (numpy_ok)
      return ARGUS_OK;
    return nn_fail(err, ARGUS_E_SHAPE,
                   "node '%s' (PRelu): slope shape %s does not broadcast to "
                   "X shape %s, nor is it one value per channel",
                   nn_ew_name(n), shape_str(b, sb, sizeof sb),
                   shape_str(a, sa, sizeof sa));
  }

  if (n->opset > 0 && n->opset < 7) {
    /* Legacy broadcasting: the output has A's shape; with broadcast=1, B's
     * dims match a run of A's starting at `axis` (default: A's suffix). */
    int64_t bcast, axis;
    if ((e = nn_attr_int(n, "broadcast", 0, &bcast, err)))
      return e;
    if ((e = nn_attr_int(n, "axis", a->rank - b->rank, &axis, err)))
      return e;
    *ro = a->rank;
    memcpy(dout, a->dims, sizeof(int64_t) * (size_t)a->rank);
    if (!bcast) {
      if (a->rank == b->rank &&
          memcmp(a->dims, b->dims, sizeof(int64_t) * (size_t)a->rank) == 0)
        return ARGUS_OK;
      return nn_fail(err, ARGUS_E_SHAPE,
                     "node '%s' (%s): input shapes %s and %s differ and "
                     "attribute 'broadcast' is 0 (opset %d)",
                     nn_ew_name(n), opn, shape_str(a, sa, sizeof sa),
                     shape_str(b, sb, sizeof sb), n->opset);
    }
    if (axis < 0)
      axis += a->rank;
    if (b->rank > a->rank || axis < 0 || axis + b->rank > a->rank)
      return nn_fail(err, ARGUS_E_SHAPE,
                     "node '%s' (%s): input B shape %s cannot broadcast to A "
                     "shape %s at axis %lld (opset %d)",
                     nn_ew_name(n), opn, shape_str(b, sb, sizeof sb),
                     shape_str(a, sa, sizeof sa), (long long)axis, n->opset);
    *rb = a->rank;
    for (int i = 0; i < a->rank; i++)
      db[i] = (i >= axis && i < axis + b->rank) ? b->dims[i - axis] : 1;
    for (int i = 0; i < a->rank; i++)
      if (db[i] != 1 && db[i] != a->dims[i])
        return nn_fail(err, ARGUS_E_SHAPE,
                       "node '%s' (%s): input B shape %s does not match A "
                       "shape %s at axis %lld (opset %d)",
                       nn_ew_name(n), opn, shape_str(b, sb, sizeof sb),
                       shape_str(a, sa, sizeof sa), (long long)axis, n->opset);
    return ARGUS_OK;
  }

  e = nn_broadcast_shape(a->rank, a->dims, b->rank, b->dims, ro, dout);
  if (e == ARGUS_E_SHAPE)
    return nn_fail(err, e,
                   "node '%s' (%s): input shapes %s and %s do not broadcast",
                   nn_ew_name(n), opn, shape_str(a, sa, sizeof sa),
                   shape_str(b, sb, sizeof sb));
  if (e)
    return nn_fail(err, e, "node '%s' (%s): cannot broadcast %s and %s: %s",
                   nn_ew_name(n), opn, shape_str(a, sa, sizeof sa),
                   shape_str(b, sb, sizeof sb), argus_strerror(e));
  return ARGUS_OK;
}

argus_err nn_binary_infer(nn_graph *g, nn_node *n, nn_binop op, nn_err *err) {
  const char *opn = nn_binop_name(op);
  const char *na = op == NN_BINOP_PRELU ? "X" : "A";
  const char *nb = op == NN_BINOP_PRELU ? "slope" : "B";
  if (n->ninputs != 2)
    return nn_fail(err, ARGUS_E_CORRUPT,
                   "node '%s' (%s): expects 2 inputs, got %d", nn_ew_name(n),
                   opn, n->ninputs);
  if (n->noutputs != 1 || !nn_out(g, n, 0))
    return nn_fail(err, ARGUS_E_CORRUPT,
                   "node '%s' (%s): expects 1 output, got %d", nn_ew_name(n),
                   opn, n->noutputs);
  const nn_value *a = nn_in(g, n, 0), *b = nn_in(g, n, 1);
  if (!a || !b)
    return nn_fail(err, ARGUS_E_CORRUPT, "node '%s' (%s): input %s is missing",
                   nn_ew_name(n), opn, a ? nb : na);
  if (a->rank < 0 || b->rank < 0)
    return nn_fail(err, ARGUS_E_INTERNAL,
                   "node '%s' (%s): shape of input %s ('%s') is not known",
                   nn_ew_name(n), opn, a->rank < 0 ? na : nb,
                   a->rank < 0 ? a->name : b->name);
  if (a->dtype != b->dtype)
    return nn_fail(err, ARGUS_E_CORRUPT,
                   "node '%s' (%s): input %s ('%s') has dtype %s but input %s "
                   "('%s') has %s",
                   nn_ew_name(n), opn, nb, b->name, nn_dtype_name(b->dtype), na,
                   a->name, nn_dtype_name(a->dtype));
  if (!nn_binary_kernels_ref(op, a->dtype))
    return nn_fail(err, ARGUS_E_UNSUPPORTED,
                   "node '%s' (%s): input %s ('%s') has dtype %s; supported: "
                   "%s",
                   nn_ew_name(n), opn, na, a->name, nn_dtype_name(a->dtype),
                   op == NN_BINOP_PRELU
                       ? "float, double, int32, int64"
                       : "float, double, int32, int64, int8, uint8");
  int rb, ro;
  int64_t db[NN_MAX_RANK], dout[NN_MAX_RANK];
  argus_err e = binary_shapes(n, op, a, b, &rb, db, &ro, dout, err);
  if (e)
    return e;
  return nn_set_shape(nn_out(g, n, 0), a->dtype, ro, dout, err);
}

argus_err nn_binary_run(const nn_exec *x, const nn_node *n, nn_binop op) {
  const nn_graph *g = x->g;
  const nn_value *a = nn_in(g, n, 0), *b = nn_in(g, n, 1);
  const nn_value *y = nn_out(g, n, 0);
  if (!a || !b || !y)
    return ARGUS_E_INTERNAL;
  if (y->nelem == 0)
    return ARGUS_OK;
  const nn_binary_kernels *k = nn_binary_kernels_get(op, a->dtype);
  if (!k || b->dtype != a->dtype || y->dtype != a->dtype)
    return ARGUS_E_UNSUPPORTED;
  int rb, ro;
  int64_t db[NN_MAX_RANK], dout[NN_MAX_RANK];
  argus_err e = binary_shapes(n, op, a, b, &rb, db, &ro, dout, NULL);
  if (e)
    return e;
  nn_bcast bc;
  if ((e = nn_bcast_init(&bc, a->rank, a->dims, rb, db, ro, dout)))
    return e;
  /* The output must be exactly what infer set up, or we would write past
   * its arena slot. */
  if (bc.n != y->nelem || !a->data || !b->data || !y->data)
    return ARGUS_E_INTERNAL;
  nn_bcast_run(x->pool, &bc, k, nn_dtype_size(a->dtype), a->data, b->data,
               y->data);
  return ARGUS_OK;
}

/* ---- unary -------------------------------------------------------------- */

typedef struct unary_task {
  nn_unary_fn fn;
  size_t n, esize;
  const char *x;
  char *y;
  const void *params;
} unary_task;

static void unary_task_fn(void *ctx, size_t begin, size_t end, int tid) {
  (void)tid;
  const unary_task *t = ctx;
  size_t b = begin * EW_BLOCK, e = end * EW_BLOCK;
  if (e > t->n)
    e = t->n;
  if (b < e)
    t->fn(e - b, t->x + b * t->esize, t->y + b * t->esize, t->params);
}

void nn_unary_run(argus_threadpool *pool, nn_unary_fn fn, size_t n,
                  size_t esize, const void *x, void *y, const void *params,
                  int cost) {
  size_t grain = EW_GRAIN_ELEMS / (size_t)(cost > 1 ? cost : 1);
  if (grain < EW_BLOCK)
    grain = EW_BLOCK;
  if (!pool || n <= grain) {
    if (n)
      fn(n, x, y, params);
    return;
  }
  unary_task t = {fn, n, esize, x, y, params};
  argus_threadpool_parallel_for(pool, (n + EW_BLOCK - 1) / EW_BLOCK,
                                grain / EW_BLOCK, unary_task_fn, &t);
}

argus_err nn_unary_op_run(const nn_exec *x, const nn_node *n, nn_unary_fn fn,
                          const void *params, int cost) {
  const nn_value *in = nn_in(x->g, n, 0), *out = nn_out(x->g, n, 0);
  if (!fn || !in || !out || in->nelem != out->nelem || in->dtype != out->dtype)
    return ARGUS_E_INTERNAL;
  if (in->nelem == 0)
    return ARGUS_OK;
  if (!in->data || !out->data)
    return ARGUS_E_INTERNAL;
  nn_unary_run(x->pool, fn, in->nelem, nn_dtype_size(in->dtype), in->data,
               out->data, params, cost);
  return ARGUS_OK;
}

argus_err nn_unary_infer(nn_graph *g, nn_node *n, const char *op, int min_in,
                         int max_in, const int *dtypes, nn_err *err) {
  if (n->ninputs < min_in || n->ninputs > max_in) {
    if (min_in == max_in)
      return nn_fail(
          err, ARGUS_E_CORRUPT, "node '%s' (%s): expects %d input%s, got %d",
          nn_ew_name(n), op, min_in, min_in == 1 ? "" : "s", n->ninputs);
    return nn_fail(err, ARGUS_E_CORRUPT,
                   "node '%s' (%s): expects %d to %d inputs, got %d",
                   nn_ew_name(n), op, min_in, max_in, n->ninputs);
  }
  const nn_value *x = nn_in(g, n, 0);
  if (!x)
    return nn_fail(err, ARGUS_E_CORRUPT, "node '%s' (%s): input 0 is missing",
                   nn_ew_name(n), op);
  if (n->noutputs != 1 || !nn_out(g, n, 0))
    return nn_fail(err, ARGUS_E_CORRUPT,
                   "node '%s' (%s): expects 1 output, got %d", nn_ew_name(n),
                   op, n->noutputs);
  if (x->rank < 0)
    return nn_fail(err, ARGUS_E_INTERNAL,
                   "node '%s' (%s): shape of input '%s' is not known",
                   nn_ew_name(n), op, x->name);
  if (dtypes) {
    int ok = 0;
    char list[160] = "";
    size_t used = 0;
    for (int i = 0; dtypes[i]; i++) {
      ok |= dtypes[i] == x->dtype;
      int w = snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "",
                       nn_dtype_name(dtypes[i]));
      if (w > 0 && (size_t)w < sizeof list - used)
        used += (size_t)w;
    }
    if (!ok)
      return nn_fail(err, ARGUS_E_UNSUPPORTED,
                     "node '%s' (%s): input '%s' has dtype %s; supported: %s",
                     nn_ew_name(n), op, x->name, nn_dtype_name(x->dtype), list);
  }
  return nn_set_shape(nn_out(g, n, 0), x->dtype, x->rank, x->dims, err);
}
