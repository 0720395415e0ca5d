/*
 * MatMul with numpy semantics, float32: A [..., M, K] x B [..., K, N] with
 * the batch dimensions broadcast; a 1-D A is a row [1, K] and a 1-D B a
 * column [K, 1], whose unit dimension is dropped from the result.
 *
 * B is read in place (row-major K x N is what the GEMM kernel wants); rows
 * of A are packed panel by panel into per-thread scratch. Work is split
 * over (batch, row panel).
 */
#include <stdlib.h>
#include <string.h>

#include "../graph.h"
#include "../kernels/kernels.h"

typedef struct matmul_plan {
  const nn_kernels *kt;
  size_t m, n, k;
  size_t batch; /* product of the broadcast batch dims */
  int nb;       /* batch rank */
  size_t bdims[NN_MAX_RANK];
  size_t astr[NN_MAX_RANK], bstr[NN_MAX_RANK]; /* per batch dim, in matrices
                                                  (0 where broadcast) */
} matmul_plan;

static const char *nm(const nn_node *n) { return n->name ? n->name : ""; }

static argus_err matmul_infer(nn_graph *g, nn_node *n, nn_err *err) {
  const nn_value *a = nn_in(g, n, 0), *b = nn_in(g, n, 1);
  nn_value *y = nn_out(g, n, 0);
  if (!a || !b || !y)
    return nn_fail(err, ARGUS_E_CORRUPT,
                   "MatMul '%s': needs inputs A and B and output Y", nm(n));
  if (a->dtype != NN_FLOAT || b->dtype != NN_FLOAT)
    return nn_fail(err, ARGUS_E_UNSUPPORTED,
                   "MatMul '%s': element type %s x %s; only float is "
                   "supported",
                   nm(n), nn_dtype_name(a->dtype), nn_dtype_name(b->dtype));
  if (a->rank < 1 || b->rank < 1)
    return nn_fail(err, ARGUS_E_SHAPE,
                   "MatMul '%s': operands must have rank >= 1 (have %d, %d)",
                   nm(n), a->rank, b->rank);
  /* Matrix views of the operands. */
  int64_t ad[NN_MAX_RANK + 1], bd[NN_MAX_RANK + 1];
  int ar = a->rank, br = b->rank;
  if (ar == 1) {
    ad[0] = 1, ad[1] = a->dims[0], ar = 2;
  } else {
    memcpy(ad, a->dims, sizeof(int64_t) * (size_t)ar);
  }
  if (br == 1) {
    bd[0] = b->dims[0], bd[1] = 1, br = 2;
  } else {
    memcpy(bd, b->dims, sizeof(int64_t) * (size_t)br);
  }
  int64_t m = ad[ar - 2], k = ad[ar - 1], kb = bd[br - 2], nn = bd[br - 1];
  if (k != kb)
    return nn_fail(err, ARGUS_E_SHAPE,
                   "MatMul '%s': inner dimensions differ (%lld vs %lld)",
                   nm(n), (long long)k, (long long)kb);
  int rb = 0;
  int64_t yb[NN_MAX_RANK];
  if (nn_broadcast_shape(ar - 2, ad, br - 2, bd, &rb, yb))
    return nn_fail(err, ARGUS_E_SHAPE,
                   "MatMul '%s': batch dimensions do not broadcast", nm(n));
  int64_t yd[NN_MAX_RANK];
  int yr = 0;
  for (int i = 0; i < rb; i++)
    yd[yr++] = yb[i];
  if (a->rank != 1)
    yd[yr++] = m;
  if (b->rank != 1)
    yd[yr++] = nn;
  argus_err e = nn_set_shape(y, NN_FLOAT, yr, yd, err);
  if (e)
    return e;
  matmul_plan *pl = calloc(1, sizeof *pl);
  if (!pl)
    return nn_fail(err, ARGUS_E_NOMEM, "MatMul '%s': out of memory", nm(n));
  pl->kt = nn_kernels_get();
  pl->m = (size_t)m;
  pl->n = (size_t)nn;
  pl->k = (size_t)k;
  pl->nb = rb;
  pl->batch = 1;
  /* Strides in whole matrices, walking the batch dims from the inside. */
  size_t sa = 1, sb = 1;
  for (int i = rb - 1; i >= 0; i--) {
    int ia = i - (rb - (ar - 2)), ib = i - (rb - (br - 2));
    int64_t da = ia >= 0 ? ad[ia] : 1, db = ib >= 0 ? bd[ib] : 1;
    pl->bdims[i] = (size_t)yb[i];
    pl->astr[i] = da == 1 ? 0 : sa;
    pl->bstr[i] = db == 1 ? 0 : sb;
    sa *= (size_t)da;
    sb *= (size_t)db;
    pl->batch *= (size_t)yb[i];
  }
  n->plan = pl;
  return ARGUS_OK;
}

static size_t matmul_scratch(const nn_graph *g, const nn_node *n) {
  const matmul_plan *pl = n->plan;
  return pl ? pl->kt->mr * (pl->k ? pl->k : 1) * sizeof(float) : 0;
}

typedef struct matmul_ctx {
  const matmul_plan *pl;
  const nn_exec *ex;
  const float *a, *b;
  float *y;
  size_t panels;
} matmul_ctx;

/* Task = (batch index, row panel). */
static void matmul_task(void *ctx, size_t begin, size_t end, int tid) {
  const matmul_ctx *c = ctx;
  const matmul_plan *pl = c->pl;
  const size_t mr = pl->kt->mr;
  float *ap = nn_scratch(c->ex, tid);
  nn_post p;
  memset(&p, 0, sizeof p);
  for (size_t t = begin; t < end; t++) {
    size_t panel = t % c->panels, bi = t / c->panels;
    size_t ai = 0, bj = 0, q = bi;
    for (int i = pl->nb - 1; i >= 0; i--) {
      size_t idx = q % pl->bdims[i];
      q /= pl->bdims[i];
      ai += idx * pl->astr[i];
      bj += idx * pl->bstr[i];
    }
    const float *a = c->a + ai * pl->m * pl->k;
    const float *b = c->b + bj * pl->k * pl->n;
    float *y = c->y + bi * pl->m * pl->n;
    size_t i0 = panel * mr, rows = pl->m - i0 < mr ? pl->m - i0 : mr;
    nn_pack_a((unsigned)mr, rows, pl->k, a + i0 * pl->k, pl->k, 1, 1.0f, ap);
    pl->kt->gemm(rows, pl->n, pl->k, ap, b, pl->n, y + i0 * pl->n, pl->n, &p);
  }
}

static argus_err matmul_run(const nn_exec *ex, const nn_node *n) {
  const nn_graph *g = ex->g;
  const matmul_plan *pl = n->plan;
  if (!pl)
    return ARGUS_E_INTERNAL;
  const nn_value *a = nn_in(g, n, 0), *b = nn_in(g, n, 1);
  nn_value *y = nn_out(g, n, 0);
  if (pl->m == 0 || pl->n == 0 || pl->batch == 0)
    return ARGUS_OK;
  if (pl->k == 0) {
    memset(y->data, 0, y->nelem * sizeof(float));
    return ARGUS_OK;
  }
  matmul_ctx c = {pl, ex, a->data, b->data, y->data,
                  (pl->m + pl->kt->mr - 1) / pl->kt->mr};
  argus_threadpool_parallel_for(ex->pool, pl->batch * c.panels, 1,
                                matmul_task, &c);
  return ARGUS_OK;
}

static void matmul_free_plan(void *p) { free(p); }

const nn_op nn_op_matmul = {
    .type = "MatMul",
    .infer = matmul_infer,
    .scratch = matmul_scratch,
    .run = matmul_run,
    .free_plan = matmul_free_plan,
};
