/*
 * Gemm: Y = alpha * A' * B' + beta * C, A' = transA ? A^T : A (M x K),
 * B' = transB ? B^T : B (K x N), C broadcast unidirectionally to [M, N] and
 * optional. float32.
 *
 * Runs on the GEMM kernel of the kernel table: rows of alpha*A' are packed
 * panel by panel into per-thread scratch; B' must be row-major K x N, which
 * B already is when transB = 0; a constant B with transB = 1 is transposed
 * once per model in `prepare`, a runtime one once per run into the plan's
 * buffer. beta*C is written into Y first and added back by the kernel's
 * epilogue as an in-place residual, so C of any broadcastable shape costs
 * one pass.
 *
 * In a session of precision int8 (docs/engine.md, "Precision") a product of
 * one row (M = 1: a fully connected layer on one image) with a constant B
 * runs as Y^T = B'^T A'^T on the int8 kernel (kernels.h nn_i8_gemm_fn, whose
 * n = 1 case is a matrix-vector product): B' is quantised per output column
 * once per session, the row of A per run. The landmarker's 512 -> 136
 * layer read 278 KB of float32 weights on every run; int8 reads 70 KB.
 */
#include <stdlib.h>
#include <string.h>

#include "../graph.h"
#include "../kernels/kernels.h"

typedef struct gemm_shared {
  float *bt; /* B^T of a constant B (transB = 1), K x N row-major */
  size_t k, n;
} gemm_shared;

typedef struct gemm_plan {
  const nn_kernels *kt;
  size_t m, n, k;
  int ta, tb;
  float alpha, beta;
  int has_c;
  int64_t cdims[2]; /* C as a [rows, cols] matrix, each 1 or M/N */
  float *bt;        /* runtime B^T (owned) */
  /* int8 sessions, M = 1, constant B: the int8 kernel and B'^T packed
   * for it (nn_i8_pack_a; owned), else NULL */
  nn_i8_gemm_fn i8;
  uint32_t *wq;
} gemm_plan;

/* Depth and width below which an int8 session keeps a one-row product in
 * float32: too small to be worth a quantisation pass. */
#define GEMV_I8_MIN_K 32
#define GEMV_I8_MIN_N 8

static const char *nm(const nn_node *n) { return n->name ? n->name : ""; }

static void transpose(const float *src, size_t rows, size_t cols, float *dst) {
  /* dst[c][r] = src[r][c], in blocks for cache locality */
  for (size_t r0 = 0; r0 < rows; r0 += 32)
    for (size_t c0 = 0; c0 < cols; c0 += 32)
      for (size_t r = r0; r < rows && r < r0 + 32; r++)
        for (size_t c = c0; c < cols && c < c0 + 32; c++)
          dst[c * rows + r] = src[r * cols + c];
}

static void gemm_free_shared(void *p) {
  gemm_shared *s = p;
  if (s) {
    nn_free(s->bt);
    free(s);
  }
}

static void gemm_free_plan(void *p) {
  gemm_plan *pl = p;
  if (pl) {
    nn_free(pl->bt);
    nn_free(pl->wq);
    free(pl);
  }
}

static argus_err gemm_prepare(nn_graph *g, nn_node *n, nn_err *err) {
  const nn_value *b = nn_in(g, n, 1);
  int64_t tb;
  argus_err e = nn_attr_int(n, "transB", 0, &tb, err);
  if (e)
    return e;
  if (!tb || !b || !b->is_const || !b->data || b->dtype != NN_FLOAT ||
      b->rank != 2)
    return ARGUS_OK;
  gemm_shared *s = calloc(1, sizeof *s);
  if (!s)
    return nn_fail(err, ARGUS_E_NOMEM, "Gemm '%s': out of memory", nm(n));
  s->n = (size_t)b->dims[0];
  s->k = (size_t)b->dims[1];
  s->bt = nn_alloc(s->n * s->k * sizeof(float));
  if (!s->bt) {
    free(s);
    return nn_fail(err, ARGUS_E_NOMEM, "Gemm '%s': out of memory", nm(n));
  }
  transpose(b->data, s->n, s->k, s->bt);
  n->shared = s;
  return ARGUS_OK;
}

/* Packs alpha * B'^T (N rows of K: row j is column j of B') for the int8
 * kernel into pl->wq. */
static argus_err pack_i8(gemm_plan *pl, const float *b, const nn_node *n,
                         nn_err *err) {
  const size_t k = pl->k, nc = pl->n;
  /* element (j, kk) of B'^T: B[j][kk] when transB, else B[kk][j] */
  size_t rs = pl->tb ? k : 1, cs = pl->tb ? 1 : nc;
  float *scaled = NULL;
  if (pl->alpha != 1.0f) {
    scaled = nn_alloc(nc * k * sizeof(float));
    if (!scaled)
      return nn_fail(err, ARGUS_E_NOMEM, "Gemm '%s': out of memory", nm(n));
    for (size_t j = 0; j < nc; j++)
      for (size_t kk = 0; kk < k; kk++)
        scaled[j * k + kk] = pl->alpha * b[j * rs + kk * cs];
    b = scaled, rs = k, cs = 1;
  }
  pl->wq = nn_alloc(nn_i8_pack_a_size(nc, k) * sizeof(uint32_t));
  if (pl->wq)
    nn_i8_pack_a(nc, k, b, rs, cs, pl->wq);
  nn_free(scaled);
  if (!pl->wq)
    return nn_fail(err, ARGUS_E_NOMEM, "Gemm '%s': out of memory", nm(n));
  return ARGUS_OK;
}

static argus_err gemm_infer(nn_graph *g, nn_node *n, nn_err *err) {
  const nn_value *a = nn_in(g, n, 0), *b = nn_in(g, n, 1), *c = nn_in(g, n, 2);
  nn_value *y = nn_out(g, n, 0);
  if (!a || !b || !y)
    return nn_fail(err, ARGUS_E_CORRUPT,
                   "Gemm '%s': needs inputs A and B and output Y", nm(n));
  const nn_value *vs[3] = {a, b, c};
  for (int i = 0; i < 3; i++)
    if (vs[i] && vs[i]->dtype != NN_FLOAT)
      return nn_fail(err, ARGUS_E_UNSUPPORTED,
                     "Gemm '%s': input %d has element type %s; only float is "
                     "supported",
                     nm(n), i, nn_dtype_name(vs[i]->dtype));
  if (a->rank != 2 || b->rank != 2)
    return nn_fail(err, ARGUS_E_SHAPE,
                   "Gemm '%s': A and B must be 2-D, have ranks %d and %d",
                   nm(n), a->rank, b->rank);
  int64_t ta, tb;
  float alpha, beta;
  argus_err e;
  if ((e = nn_attr_int(n, "transA", 0, &ta, err)) ||
      (e = nn_attr_int(n, "transB", 0, &tb, err)) ||
      (e = nn_attr_float(n, "alpha", 1.0f, &alpha, err)) ||
      (e = nn_attr_float(n, "beta", 1.0f, &beta, err)))
    return e;
  int64_t m = ta ? a->dims[1] : a->dims[0], k = ta ? a->dims[0] : a->dims[1];
  int64_t kb = tb ? b->dims[1] : b->dims[0], nn = tb ? b->dims[0] : b->dims[1];
  if (k != kb)
    return nn_fail(err, ARGUS_E_SHAPE,
                   "Gemm '%s': inner dimensions differ: A' is %lldx%lld, B' "
                   "is %lldx%lld (transA %lld, transB %lld)",
                   nm(n), (long long)m, (long long)k, (long long)kb,
                   (long long)nn, (long long)ta, (long long)tb);
  int64_t cd[2] = {1, 1};
  if (c) {
    if (c->rank > 2)
      return nn_fail(err, ARGUS_E_SHAPE,
                     "Gemm '%s': C has rank %d, at most 2 allowed", nm(n),
                     c->rank);
    for (int i = 0; i < c->rank; i++)
      cd[2 - c->rank + i] = c->dims[i];
    if ((cd[0] != 1 && cd[0] != m) || (cd[1] != 1 && cd[1] != nn))
      return nn_fail(err, ARGUS_E_SHAPE,
                     "Gemm '%s': C of shape [%lld,%lld] does not broadcast to "
                     "[%lld,%lld]",
                     nm(n), (long long)cd[0], (long long)cd[1], (long long)m,
                     (long long)nn);
  }
  int64_t yd[2] = {m, nn};
  if ((e = nn_set_shape(y, NN_FLOAT, 2, yd, err)))
    return e;
  gemm_plan *pl = calloc(1, sizeof *pl);
  if (!pl)
    return nn_fail(err, ARGUS_E_NOMEM, "Gemm '%s': out of memory", nm(n));
  pl->kt = nn_kernels_get();
  pl->m = (size_t)m;
  pl->n = (size_t)nn;
  pl->k = (size_t)k;
  pl->ta = ta != 0;
  pl->tb = tb != 0;
  pl->alpha = alpha;
  pl->beta = beta;
  pl->has_c = c != NULL && beta != 0.0f;
  pl->cdims[0] = cd[0];
  pl->cdims[1] = cd[1];
  const gemm_shared *sh = n->shared;
  if (pl->tb && !(sh && sh->k == pl->k && sh->n == pl->n)) {
    pl->bt = nn_alloc(pl->k * pl->n * sizeof(float));
    if (!pl->bt) {
      free(pl);
      return nn_fail(err, ARGUS_E_NOMEM, "Gemm '%s': out of memory", nm(n));
    }
    if (b->is_const && b->data)
      transpose(b->data, pl->n, pl->k, pl->bt);
  }
  if (g->precision == ARGUS_NN_PRECISION_INT8 && m == 1 && b->is_const &&
      b->data && k >= GEMV_I8_MIN_K && nn >= GEMV_I8_MIN_N &&
      (pl->i8 = nn_i8_gemm_get()) != NULL &&
      (e = pack_i8(pl, b->data, n, err)) != ARGUS_OK) {
    gemm_free_plan(pl);
    return e;
  }
  n->plan = pl;
  return ARGUS_OK;
}

static size_t gemm_scratch(const nn_graph *g, const nn_node *n) {
  const gemm_plan *pl = n->plan;
  if (pl && pl->wq)
    return nn_i8_bbuf_size(pl->k) * sizeof(uint32_t) + 64;
  return pl ? pl->kt->mr * (pl->k ? pl->k : 1) * sizeof(float) : 0;
}

typedef struct gemm_ctx {
  const gemm_plan *pl;
  const nn_exec *ex;
  const float *a, *b;
  float *y;
} gemm_ctx;

/* Task = one panel of mr rows of Y. */
static void gemm_task(void *ctx, size_t begin, size_t end, int tid) {
  const gemm_ctx *c = ctx;
  const gemm_plan *pl = c->pl;
  const size_t mr = pl->kt->mr;
  float *ap = nn_scratch(c->ex, tid);
  /* A'(i, kk): A[i*K + kk], or A[kk*M + i] when transposed */
  const size_t rs = pl->ta ? 1 : pl->k, cs = pl->ta ? pl->m : 1;
  for (size_t t = begin; t < end; t++) {
    size_t i0 = t * mr, rows = pl->m - i0 < mr ? pl->m - i0 : mr;
    nn_pack_a((unsigned)mr, rows, pl->k, c->a + i0 * rs, rs, cs, pl->alpha,
              ap);
    nn_post p;
    memset(&p, 0, sizeof p);
    float *yr = c->y + i0 * pl->n;
    if (pl->has_c) {
      p.res = yr; /* beta*C already in Y: added in place */
      p.ldr = pl->n;
    }
    pl->kt->gemm(rows, pl->n, pl->k, ap, c->b, pl->n, yr, pl->n, &p);
  }
}

static argus_err gemm_run(const nn_exec *ex, const nn_node *n) {
  const nn_graph *g = ex->g;
  gemm_plan *pl = n->plan;
  if (!pl)
    return ARGUS_E_INTERNAL;
  const nn_value *a = nn_in(g, n, 0), *b = nn_in(g, n, 1), *cv = nn_in(g, n, 2);
  float *y = nn_out(g, n, 0)->data;
  if (pl->m == 0 || pl->n == 0)
    return ARGUS_OK;
  if (pl->has_c) {
    const float *cd = cv->data;
    size_t cr = (size_t)pl->cdims[0], cc = (size_t)pl->cdims[1];
    for (size_t i = 0; i < pl->m; i++) {
      const float *crow = cd + (cr == 1 ? 0 : i) * cc;
      float *yr = y + i * pl->n;
      if (cc == 1)
        for (size_t j = 0; j < pl->n; j++)
          yr[j] = pl->beta * crow[0];
      else
        for (size_t j = 0; j < pl->n; j++)
          yr[j] = pl->beta * crow[j];
    }
  }
  if (pl->wq) {
    /* Y^T = B'^T A'^T: N rows of one column; beta*C (already in Y) is added
     * in place as the residual */
    nn_post p;
    memset(&p, 0, sizeof p);
    if (pl->has_c) {
      p.res = y;
      p.ldr = 1;
    }
    uintptr_t sp = (uintptr_t)nn_scratch(ex, 0);
    pl->i8(pl->n, 1, pl->k, pl->wq, a->data, 1, NULL, 0, y, 1, &p,
           (uint32_t *)(void *)((sp + 63) & ~(uintptr_t)63));
    return ARGUS_OK;
  }
  gemm_ctx c = {pl, ex, a->data, b->data, y};
  if (pl->tb) {
    const gemm_shared *sh = n->shared;
    if (pl->bt) {
      if (!b->is_const)
        transpose(b->data, pl->n, pl->k, pl->bt);
      c.b = pl->bt;
    } else {
      c.b = sh->bt;
    }
  }
  if (pl->k == 0) {
    /* Y = beta*C (or zeros): the kernels need k >= 1 for their contract */
    if (!pl->has_c)
      memset(y, 0, pl->m * pl->n * sizeof(float));
    return ARGUS_OK;
  }
  size_t panels = (pl->m + pl->kt->mr - 1) / pl->kt->mr;
  argus_threadpool_parallel_for(ex->pool, panels, 1, gemm_task, &c);
  return ARGUS_OK;
}

const nn_op nn_op_gemm = {
    .type = "Gemm",
    .prepare = gemm_prepare,
    .infer = gemm_infer,
    .scratch = gemm_scratch,
    .run = gemm_run,
    .free_shared = gemm_free_shared,
    .free_plan = gemm_free_plan,
};
