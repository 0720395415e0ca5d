/* Softmax: y = exp(x - max) / sum(exp(x - max)), float.
 * Opset < 13 coerces the input to 2-D at `axis` (default 1) and normalises
 * each row of the flattened tail; opset >= 13 normalises along `axis`
 * (default -1) alone. Both are one loop over [outer, len, inner]: the legacy
 * form is the case inner == 1. Subtracting the maximum keeps exp finite. */
#include <math.h>

#include "elementwise.h"

/* Columns of a strided (inner > 1) softmax handled together, with their
 * running maxima and sums on the stack. */
#define SM_COLS 256

typedef struct sm_layout {
  size_t outer, len, inner;
} sm_layout;

static argus_err sm_resolve(const nn_node *n, const nn_value *x, sm_layout *l,
                            nn_err *err) {
  int legacy = n->opset > 0 && n->opset < 13;
  int64_t axis;
  argus_err e = nn_attr_int(n, "axis", legacy ? 1 : -1, &axis, err);
  if (e)
    return e;
  int r = x->rank;
  /* The coerced 2-D form accepts axis == rank (a tail of size 1). */
  if (axis < -r || axis > (legacy ? r : r - 1))
    return nn_fail(err, ARGUS_E_CORRUPT,
                   "node '%s' (Softmax): axis %lld is out of range for input "
                   "'%s' of rank %d",
                   nn_ew_name(n), (long long)axis, x->name, r);
  if (axis < 0)
    axis += r;
  l->outer = l->len = l->inner = 1;
  for (int i = 0; i < r; i++) {
    size_t d = (size_t)x->dims[i];
    if (i < axis)
      l->outer *= d;
    else if (i == axis || legacy)
      l->len *= d;
    else
      l->inner *= d;
  }
  return ARGUS_OK;
}

static argus_err softmax_infer(nn_graph *g, nn_node *n, nn_err *err) {
  static const int dtypes[] = {NN_FLOAT, 0};
  argus_err e = nn_unary_infer(g, n, "Softmax", 1, 1, dtypes, err);
  if (e)
    return e;
  sm_layout l;
  return sm_resolve(n, nn_in(g, n, 0), &l, err);
}

typedef struct sm_task {
  sm_layout l;
  size_t col_blocks; /* ceil(inner / SM_COLS) */
  const float *x;
  float *y;
  nn_unary_fn exp_fn;
} sm_task;

/* One contiguous row. y may equal x: each element is read before it is
 * written. exp is the vectorised float32 kernel (within 1e-6 of expf). */
static void sm_row(size_t len, const float *x, float *y, nn_unary_fn exp_fn) {
  float m = -INFINITY;
  for (size_t i = 0; i < len; i++)
    m = x[i] > m ? x[i] : m;
  for (size_t i = 0; i < len; i++)
    y[i] = x[i] - m;
  exp_fn(len, y, y, NULL);
  float s = 0;
  for (size_t i = 0; i < len; i++)
    s += y[i];
  for (size_t i = 0; i < len; i++)
    y[i] /= s;
}

/* Columns [c0, c0 + nc) of one outer slice with stride `inner`. */
static void sm_cols(size_t len, size_t inner, size_t nc, const float *x,
                    float *y, nn_unary_fn exp_fn) {
  float m[SM_COLS], s[SM_COLS];
  for (size_t j = 0; j < nc; j++) {
    m[j] = -INFINITY;
    s[j] = 0;
  }
  for (size_t k = 0; k < len; k++) {
    const float *xr = x + k * inner;
    for (size_t j = 0; j < nc; j++)
      m[j] = xr[j] > m[j] ? xr[j] : m[j];
  }
  for (size_t k = 0; k < len; k++) {
    const float *xr = x + k * inner;
    float *yr = y + k * inner;
    for (size_t j = 0; j < nc; j++)
      yr[j] = xr[j] - m[j];
    exp_fn(nc, yr, yr, NULL);
    for (size_t j = 0; j < nc; j++)
      s[j] += yr[j];
  }
  for (size_t k = 0; k < len; k++) {
    float *yr = y + k * inner;
    for (size_t j = 0; j < nc; j++)
      yr[j] /= s[j];
  }
}

static void sm_task_fn(void *ctx, size_t begin, size_t end, int tid) {
  (void)tid;
  const sm_task *t = ctx;
  const sm_layout *l = &t->l;
  for (size_t w = begin; w < end; w++) {
    if (l->inner == 1) {
      sm_row(l->len, t->x + w * l->len, t->y + w * l->len, t->exp_fn);
      continue;
    }
    size_t o = w / t->col_blocks, c0 = (w % t->col_blocks) * SM_COLS;
    size_t nc = l->inner - c0 < SM_COLS ? l->inner - c0 : SM_COLS;
    size_t base = o * l->len * l->inner + c0;
    sm_cols(l->len, l->inner, nc, t->x + base, t->y + base, t->exp_fn);
  }
}

static argus_err softmax_run(const nn_exec *x, const nn_node *n) {
  const nn_value *in = nn_in(x->g, n, 0), *out = nn_out(x->g, n, 0);
  if (!in || !out || in->dtype != NN_FLOAT || out->nelem != in->nelem)
    return ARGUS_E_INTERNAL;
  if (in->nelem == 0)
    return ARGUS_OK;
  if (!in->data || !out->data)
    return ARGUS_E_INTERNAL;
  sm_task t;
  argus_err e = sm_resolve(n, in, &t.l, NULL);
  if (e)
    return e;
  t.col_blocks = (t.l.inner + SM_COLS - 1) / SM_COLS;
  t.x = in->data;
  t.y = out->data;
  t.exp_fn = nn_f32_unary_get(NN_UNOP_EXP, nn_f32_exp_ref);
  /* Work items: rows, or (outer slice, column block) pairs. About 16 exps
   * worth of work per element; keep chunks above ~2k elements. */
  size_t items = t.l.inner == 1 ? t.l.outer : t.l.outer * t.col_blocks;
  size_t per_item = t.l.len * (t.l.inner == 1 ? 1 : SM_COLS);
  size_t grain = per_item >= 2048 ? 1 : 2048 / per_item;
  argus_threadpool_parallel_for(x->pool, items, grain, sm_task_fn, &t);
  return ARGUS_OK;
}

const nn_op nn_op_softmax = {
    .type = "Softmax", .infer = softmax_infer, .run = softmax_run};
