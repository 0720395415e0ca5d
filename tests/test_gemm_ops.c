/* Gemm and MatMul ops against naive products on random shapes: Gemm with
 * every transA/transB, alpha, beta and C broadcast, constant (prepared) or
 * runtime B; MatMul with 1-D operands and broadcast batch dimensions. One
 * thread and a pool. In an int8 session, Gemm of one row with a constant B
 * (the int8 kernel's matrix-vector path) against the quantisation's error
 * bound. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "argus/core.h"
#include "check.h"
#include "nn/graph.h"
#include "nn/kernels/kernels.h"

extern const nn_op nn_op_gemm, nn_op_matmul;

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (uint32_t)(rng >> 11);
}
static int ri(int lo, int hi) { return lo + (int)(rnd() % (unsigned)(hi - lo + 1)); }
static float rf(void) { return (float)(rnd() % 2001) / 1000.0f - 1.0f; }

static argus_threadpool *pool;

static void set_val(nn_value *v, const char *name, int rank, const int64_t *d,
                    int is_const) {
  memset(v, 0, sizeof *v);
  v->name = (char *)name;
  v->dtype = NN_FLOAT;
  v->rank = rank;
  v->nelem = 1;
  for (int i = 0; i < rank; i++)
    v->dims[i] = d[i], v->nelem *= (size_t)d[i];
  v->data = nn_alloc(v->nelem * 4 + 4);
  for (size_t i = 0; i < v->nelem; i++)
    ((float *)v->data)[i] = rf();
  v->is_const = is_const;
  v->producer = -1;
}

/* Runs a node through prepare/infer/scratch/run. */
static int exec_node(const nn_op *op, nn_graph *g, nn_node *n) {
  nn_err err = {{0}};
  if (op->prepare && op->prepare(g, n, &err))
    return fprintf(stderr, "prepare: %s\n", err.msg), 1;
  if (op->infer(g, n, &err))
    return fprintf(stderr, "infer: %s\n", err.msg), 1;
  nn_value *y = &g->values[n->out[0]];
  y->data = nn_alloc(y->nelem * 4 + 4);
  int nt = pool ? argus_threadpool_size(pool) : 1;
  size_t scr = op->scratch ? op->scratch(g, n) : 0;
  scr = (scr + 63) & ~(size_t)63;
  nn_exec ex = {g, pool, nt, nn_alloc(scr * (size_t)nt + 64), scr};
  argus_err e = op->run(&ex, n);
  nn_free(ex.scratch);
  if (n->shared && op->free_shared)
    op->free_shared(n->shared);
  if (n->plan && op->free_plan)
    op->free_plan(n->plan);
  return e != ARGUS_OK;
}

/* i8: an int8 session's one-row product with a constant B (m = 1, k >= 32,
 * n >= 8), checked against the quantisation's bound and, where the CPU has
 * the int8 kernel, required to differ from float32 somewhere (the path was
 * taken). */
static void gemm_case(int i8) {
  int m = i8 ? 1 : ri(1, 40), nn = i8 ? ri(8, 150) : ri(1, 70),
      k = i8 ? ri(32, 300) : ri(1, 90);
  int ta = (int)(rnd() % 2), tb = (int)(rnd() % 2), cmode = ri(0, 4);
  float alpha = rnd() % 2 ? 1.0f : rf(), beta = rnd() % 2 ? 1.0f : rf();
  nn_value v[4];
  int64_t ad[2] = {ta ? k : m, ta ? m : k}, bd[2] = {tb ? nn : k, tb ? k : nn};
  set_val(&v[0], "A", 2, ad, 0);
  set_val(&v[1], "B", 2, bd, i8 ? 1 : (int)(rnd() % 2));
  int64_t cd[2];
  int crank = 2;
  switch (cmode) {
  case 0: cd[0] = m, cd[1] = nn; break;
  case 1: cd[0] = 1, cd[1] = nn; break;
  case 2: cd[0] = m, cd[1] = 1; break;
  case 3: crank = 1, cd[0] = nn; break;
  default: crank = 0; break;
  }
  set_val(&v[2], "C", crank, cd, 1);
  memset(&v[3], 0, sizeof v[3]);
  v[3].name = "Y", v[3].rank = -1;
  int has_c = rnd() % 5 != 0;
  int in[3] = {0, 1, has_c ? 2 : -1}, out[1] = {3};
  nn_attr at[4];
  memset(at, 0, sizeof at);
  at[0].name = "transA", at[0].type = NN_ATTR_INT, at[0].i = ta;
  at[1].name = "transB", at[1].type = NN_ATTR_INT, at[1].i = tb;
  at[2].name = "alpha", at[2].type = NN_ATTR_FLOAT, at[2].f = alpha;
  at[3].name = "beta", at[3].type = NN_ATTR_FLOAT, at[3].f = beta;
  nn_node n;
  memset(&n, 0, sizeof n);
  n.op = &nn_op_gemm, n.name = "gemm", n.op_type = "Gemm";
  n.ninputs = has_c ? 3 : 2, n.noutputs = 1, n.in = in, n.out = out;
  n.attrs = at, n.nattrs = 4, n.epi.residual = -1;
  nn_graph g;
  memset(&g, 0, sizeof g);
  g.values = v, g.nvalues = 4, g.nodes = &n, g.nnodes = 1;
  g.precision = i8 ? ARGUS_NN_PRECISION_INT8 : 0;
  CHECK(exec_node(&nn_op_gemm, &g, &n) == 0);
  const float *A = v[0].data, *B = v[1].data, *C = v[2].data, *Y = v[3].data;
  /* int8: the row's step (its range over 255) and each column's (max |w|
   * over 127, w = alpha * B') */
  double sx = 0;
  if (i8) {
    double lo = 0, hi = 0;
    for (int kk = 0; kk < k; kk++)
      lo = fmin(lo, A[kk]), hi = fmax(hi, A[kk]);
    sx = (hi - lo) / 255.0;
  }
  int bad = 0, differs = 0;
  for (int i = 0; i < m && !bad && Y; i++)
    for (int j = 0; j < nn; j++) {
      double s = 0, e = 0, sw = 0;
      for (int kk = 0; kk < k; kk++)
        sw = fmax(sw, fabs(alpha * (tb ? B[j * k + kk] : B[kk * nn + j])));
      sw /= 127.0;
      for (int kk = 0; kk < k; kk++) {
        double a = ta ? A[kk * m + i] : A[i * k + kk],
               b = tb ? B[j * k + kk] : B[kk * nn + j];
        s += a * b;
        e += fabs(alpha * b) * sx + (fabs(a) + sx) * sw * 0.5;
      }
      s *= alpha;
      if (has_c) {
        float cv = cmode == 0 ? C[i * nn + j]
                   : cmode == 1 || cmode == 3 ? C[j]
                   : cmode == 2              ? C[i]
                                             : C[0];
        s += (double)beta * cv;
      }
      double tol = i8 ? e * 1.001 + 1e-4 : 1e-4 + 1e-4 * fabs(s);
      differs += fabs(Y[i * nn + j] - s) > 1e-4 + 1e-4 * fabs(s);
      if (!(fabs(Y[i * nn + j] - s) <= tol)) {
        CHECK_NEAR(Y[i * nn + j], s, tol, 0);
        fprintf(stderr, "  gemm%s m=%d n=%d k=%d ta=%d tb=%d c=%d\n",
                i8 ? " int8" : "", m, nn, k, ta, tb, cmode);
        bad = 1;
        break;
      }
    }
  if (i8 && nn_i8_gemm_get() && alpha != 0.0f) /* (alpha 0: exact) */
    CHECK(differs > 0);
  for (int i = 0; i < 4; i++)
    nn_free(v[i].data);
}

static void matmul_case(void) {
  int m = ri(1, 20), nn = ri(1, 40), k = ri(1, 50);
  int ar = ri(1, 4), br = ri(1, 4);
  int64_t ad[4], bd[4];
  /* batch dims: each side 1 or the common size, missing dims broadcast */
  int64_t batch[2] = {ri(1, 3), ri(1, 3)};
  int nba = ar > 2 ? ar - 2 : 0, nbb = br > 2 ? br - 2 : 0;
  for (int i = 0; i < nba; i++)
    ad[i] = rnd() % 3 == 0 ? 1 : batch[2 - nba + i];
  for (int i = 0; i < nbb; i++)
    bd[i] = rnd() % 3 == 0 ? 1 : batch[2 - nbb + i];
  if (ar == 1)
    ad[0] = k;
  else
    ad[ar - 2] = m, ad[ar - 1] = k;
  if (br == 1)
    bd[0] = k;
  else
    bd[br - 2] = k, bd[br - 1] = nn;
  nn_value v[3];
  set_val(&v[0], "A", ar, ad, 0);
  set_val(&v[1], "B", br, bd, (int)(rnd() % 2));
  memset(&v[2], 0, sizeof v[2]);
  v[2].name = "Y", v[2].rank = -1;
  int in[2] = {0, 1}, out[1] = {2};
  nn_node n;
  memset(&n, 0, sizeof n);
  n.op = &nn_op_matmul, n.name = "mm", n.op_type = "MatMul";
  n.ninputs = 2, n.noutputs = 1, n.in = in, n.out = out, n.epi.residual = -1;
  nn_graph g;
  memset(&g, 0, sizeof g);
  g.values = v, g.nvalues = 3, g.nodes = &n, g.nnodes = 1;
  CHECK(exec_node(&nn_op_matmul, &g, &n) == 0);
  /* expected shape and values */
  int nb = nba > nbb ? nba : nbb;
  int64_t yb[2] = {1, 1};
  for (int i = 0; i < nb; i++) {
    int ia = i - (nb - nba), ib = i - (nb - nbb);
    int64_t da = ia >= 0 ? ad[ia] : 1, db = ib >= 0 ? bd[ib] : 1;
    yb[i] = da > db ? da : db;
  }
  int yr = nb + (ar > 1) + (br > 1);
  CHECK_INT_EQ(v[2].rank, yr);
  const float *A = v[0].data, *B = v[1].data, *Y = v[2].data;
  int mm = ar > 1 ? m : 1, nnn = br > 1 ? nn : 1;
  size_t nbatch = (size_t)(nb > 0 ? yb[0] : 1) * (size_t)(nb > 1 ? yb[1] : 1);
  CHECK_INT_EQ(v[2].nelem, nbatch * (size_t)mm * (size_t)nnn);
  int bad = 0;
  for (size_t bi = 0; bi < nbatch && !bad && Y; bi++) {
    int64_t idx[2] = {0, 0};
    if (nb == 2)
      idx[0] = (int64_t)bi / yb[1], idx[1] = (int64_t)bi % yb[1];
    else if (nb == 1)
      idx[0] = (int64_t)bi;
    size_t ao = 0, bo = 0;
    for (int i = 0; i < nb; i++) {
      int ia = i - (nb - nba), ib = i - (nb - nbb);
      if (ia >= 0)
        ao = ao * (size_t)ad[ia] + (size_t)(ad[ia] == 1 ? 0 : idx[i]);
      if (ib >= 0)
        bo = bo * (size_t)bd[ib] + (size_t)(bd[ib] == 1 ? 0 : idx[i]);
    }
    const float *a = A + ao * (size_t)mm * (size_t)k;
    const float *b = B + bo * (size_t)k * (size_t)nnn;
    for (int i = 0; i < mm && !bad; i++)
      for (int j = 0; j < nnn; j++) {
        double s = 0;
        for (int kk = 0; kk < k; kk++)
          s += (double)a[i * k + kk] * b[kk * nnn + j];
        float got = Y[(bi * (size_t)mm + (size_t)i) * (size_t)nnn + (size_t)j];
        if (!(fabs(got - s) <= 1e-4 + 1e-4 * fabs(s))) {
          CHECK_NEAR(got, s, 1e-4, 1e-4);
          fprintf(stderr, "  matmul ar=%d br=%d m=%d n=%d k=%d\n", ar, br, m,
                  nn, k);
          bad = 1;
          break;
        }
      }
  }
  for (int i = 0; i < 3; i++)
    nn_free(v[i].data);
}

int main(void) {
  for (int pass = 0; pass < 2; pass++) {
    pool = NULL;
    if (pass == 1 && argus_threadpool_create(3, &pool) != ARGUS_OK)
      break;
    for (int it = 0; it < 300; it++) {
      gemm_case(0);
      matmul_case();
    }
    if (!getenv("ARGUS_PRECISION"))
      for (int it = 0; it < 60; it++)
        gemm_case(1);
    argus_threadpool_destroy(pool);
  }
  return check_report("test_gemm_ops");
}
