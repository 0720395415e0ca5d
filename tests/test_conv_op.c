/* The Conv op (every path: gemm1x1, igemm, im2col, dw3x3, dwdot, dwdirect,
 * direct3x3s2)
 * against a naive convolution in double precision, on random geometries
 * with groups, strides, dilations, pads, 1-D/2-D/3-D, batches, fused
 * epilogues and residuals, with constant (prepared) and runtime weights,
 * on one thread and on a pool, for every kernel table this CPU supports
 * (ARGUS_ISA is set by re-running the binary); then the same in a graph of
 * precision bf16, where the GEMM paths round W and X to bf16: there the
 * bound adds 2^-7 * sum |w*x| per output (each product is off by at most
 * about 2^-8 of its size, twice that as margin), and some output must be off
 * by more than the float32 bound (else bf16 was not used). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "argus/core.h"
#include "check.h"
#include "nn/graph.h"

extern const nn_op nn_op_conv;
extern const nn_op nn_op_conv_pwdw;
extern const nn_op nn_op_conv_pwdw_pool;

static uint64_t rng = 0x2545f4914f6cdd1dull;
static uint32_t rnd(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (uint32_t)(rng >> 11);
}
static int ri(int lo, int hi) { return lo + (int)(rnd() % (unsigned)(hi - lo + 1)); }
static float rf(void) { return (float)(rnd() % 2001) / 1000.0f - 1.0f; }

typedef struct geo {
  int nsp, n, c, co, group;
  int in[3], k[3], s[3], d[3], pb[3], pe[3];
  int act, res, res_first, bias, const_w;
} geo;

static void set_ints(nn_attr *a, const char *name, const int64_t *v, int n) {
  a->name = (char *)name;
  a->type = NN_ATTR_INTS;
  a->ints = (int64_t *)v;
  a->count = (size_t)n;
}

static argus_threadpool *pool;
/* The graphs' precision, and outputs beyond the float32 bound in bf16. */
static int precision = ARGUS_NN_PRECISION_F32;
static size_t bf16_beyond_f32;
#define BF16_TOL 0x1p-7

static void run_case(const geo *q) {
  int nsp = q->nsp, rank = nsp + 2;
  int64_t xd[5] = {q->n, q->c}, wd[5] = {q->co, q->c / q->group};
  int out[3];
  size_t isz = 1, osz = 1, kel = 1;
  for (int i = 0; i < nsp; i++) {
    xd[2 + i] = q->in[i];
    wd[2 + i] = q->k[i];
    int ek = (q->k[i] - 1) * q->d[i] + 1;
    out[i] = (q->in[i] + q->pb[i] + q->pe[i] - ek) / q->s[i] + 1;
    isz *= (size_t)q->in[i];
    osz *= (size_t)out[i];
    kel *= (size_t)q->k[i];
  }
  size_t cig = (size_t)(q->c / q->group), cog = (size_t)(q->co / q->group);
  size_t nx = (size_t)q->n * q->c * isz, nw = (size_t)q->co * cig * kel;
  size_t ny = (size_t)q->n * q->co * osz;
  float *x = nn_alloc(nx * 4), *w = nn_alloc(nw * 4), *b = nn_alloc(q->co * 4);
  float *y = nn_alloc(ny * 4), *r = nn_alloc(ny * 4), *slope = nn_alloc(q->co * 4);
  for (size_t i = 0; i < nx; i++)
    x[i] = rf();
  for (size_t i = 0; i < nw; i++)
    w[i] = rf();
  for (int i = 0; i < q->co; i++)
    b[i] = rf(), slope[i] = rf() * 0.3f;
  for (size_t i = 0; i < ny; i++)
    r[i] = rf();

  nn_value vals[5];
  memset(vals, 0, sizeof vals);
  const char *names[5] = {"X", "W", "B", "Y", "R"};
  for (int i = 0; i < 5; i++) {
    vals[i].name = (char *)names[i];
    vals[i].producer = -1;
  }
  vals[0].dtype = NN_FLOAT, vals[0].rank = rank, vals[0].data = x;
  memcpy(vals[0].dims, xd, sizeof xd), vals[0].nelem = nx;
  vals[1].dtype = NN_FLOAT, vals[1].rank = rank, vals[1].data = w;
  memcpy(vals[1].dims, wd, sizeof wd), vals[1].nelem = nw;
  vals[1].is_const = q->const_w;
  vals[2].dtype = NN_FLOAT, vals[2].rank = 1, vals[2].dims[0] = q->co;
  vals[2].nelem = (size_t)q->co, vals[2].data = b, vals[2].is_const = 1;
  vals[3].rank = -1;
  vals[4].dtype = NN_FLOAT, vals[4].data = r, vals[4].nelem = ny;
  int64_t ks[3], st[3], di[3], pads[6];
  for (int i = 0; i < nsp; i++) {
    ks[i] = q->k[i], st[i] = q->s[i], di[i] = q->d[i];
    pads[i] = q->pb[i], pads[nsp + i] = q->pe[i];
  }
  nn_attr attrs[5];
  memset(attrs, 0, sizeof attrs);
  set_ints(&attrs[0], "kernel_shape", ks, nsp);
  set_ints(&attrs[1], "strides", st, nsp);
  set_ints(&attrs[2], "dilations", di, nsp);
  set_ints(&attrs[3], "pads", pads, 2 * nsp);
  attrs[4].name = "group";
  attrs[4].type = NN_ATTR_INT;
  attrs[4].i = q->group;
  int in[3] = {0, 1, q->bias ? 2 : -1}, outv[1] = {3};
  nn_node node;
  memset(&node, 0, sizeof node);
  node.op = &nn_op_conv;
  node.name = "conv";
  node.op_type = "Conv";
  node.ninputs = 3, node.noutputs = 1, node.in = in, node.out = outv;
  node.attrs = attrs, node.nattrs = 5;
  node.epi.residual = q->res ? 4 : -1;
  node.epi.add_before_act = q->res_first;
  node.epi.act = q->act;
  node.epi.slope = slope;
  node.epi.nslope = q->co > 1 && (rnd() & 1) ? q->co : 1;
  node.epi.clip_min = -0.2f, node.epi.clip_max = 0.5f;
  nn_graph g;
  memset(&g, 0, sizeof g);
  g.values = vals, g.nvalues = 5, g.nodes = &node, g.nnodes = 1;
  g.precision = precision;

  nn_err err = {{0}};
  CHECK_OK(nn_op_conv.prepare(&g, &node, &err));
  argus_err e = nn_op_conv.infer(&g, &node, &err);
  CHECK_OK(e);
  if (e) {
    fprintf(stderr, "  infer: %s\n", err.msg);
    goto done;
  }
  CHECK_INT_EQ(vals[3].nelem, ny);
  vals[3].data = y;
  vals[4].rank = vals[3].rank;
  memcpy(vals[4].dims, vals[3].dims, sizeof vals[3].dims);
  int nthreads = pool ? argus_threadpool_size(pool) : 1;
  size_t scr = nn_op_conv.scratch(&g, &node);
  scr = (scr + 63) & ~(size_t)63;
  nn_exec ex = {&g, pool, nthreads, nn_alloc(scr * (size_t)nthreads + 64), scr};
  CHECK_OK(nn_op_conv.run(&ex, &node));
  /* naive reference */
  int bad = 0;
  for (int img = 0; img < q->n && !bad; img++)
    for (int co = 0; co < q->co && !bad; co++) {
      int grp = co / (int)cog;
      for (size_t p = 0; p < osz; p++) {
        int o[3] = {0, 0, 0};
        size_t t = p;
        for (int i = nsp - 1; i >= 0; i--)
          o[i] = (int)(t % (size_t)out[i]), t /= (size_t)out[i];
        double acc = 0, aabs = 0;
        for (size_t ci = 0; ci < cig; ci++)
          for (size_t kk = 0; kk < kel; kk++) {
            int kidx[3] = {0, 0, 0};
            size_t u = kk;
            for (int i = nsp - 1; i >= 0; i--)
              kidx[i] = (int)(u % (size_t)q->k[i]), u /= (size_t)q->k[i];
            size_t off = 0;
            int ok = 1;
            for (int i = 0; i < nsp; i++) {
              int pos = o[i] * q->s[i] + kidx[i] * q->d[i] - q->pb[i];
              if (pos < 0 || pos >= q->in[i])
                ok = 0;
              off = off * (size_t)q->in[i] + (size_t)(pos < 0 ? 0 : pos);
            }
            if (!ok)
              continue;
            size_t xc = (size_t)img * q->c + (size_t)grp * cig + ci;
            double pr = (double)w[((size_t)co * cig + ci) * kel + kk] *
                        x[xc * isz + off];
            acc += pr;
            aabs += fabs(pr);
          }
        size_t yi = ((size_t)img * q->co + co) * osz + p;
        double v = acc + (q->bias ? b[co] : 0);
        if (q->res && q->res_first)
          v += r[yi];
        switch (q->act) {
        case NN_ACT_RELU:
          v = v > 0 ? v : 0;
          break;
        case NN_ACT_PRELU:
          if (v < 0)
            v *= slope[node.epi.nslope == 1 ? 0 : co];
          break;
        case NN_ACT_CLIP:
          v = v < -0.2 ? -0.2 : v > 0.5 ? 0.5 : v;
          break;
        case NN_ACT_SIGMOID:
          v = 1 / (1 + exp(-v));
          break;
        }
        if (q->res && !q->res_first)
          v += r[yi];
        double tol = 1e-4 + 1e-4 * fabs(v) + 1e-6 * (double)(cig * kel);
        if (precision == ARGUS_NN_PRECISION_BF16) {
          bf16_beyond_f32 += !(fabs(y[yi] - v) <= tol);
          tol += BF16_TOL * aabs;
        }
        if (!(fabs(y[yi] - v) <= tol)) {
          CHECK_NEAR(y[yi], v, tol, 0);
          bad = 1;
          break;
        }
      }
    }
  check_count_++;
  if (bad) {
    fprintf(stderr,
            "  conv nsp=%d n=%d c=%d co=%d g=%d in=%dx%dx%d k=%dx%dx%d "
            "s=%d,%d,%d d=%d,%d,%d pb=%d,%d,%d pe=%d,%d,%d act=%d res=%d "
            "constw=%d threads=%d\n",
            nsp, q->n, q->c, q->co, q->group, q->in[0], q->in[1], q->in[2],
            q->k[0], q->k[1], q->k[2], q->s[0], q->s[1], q->s[2], q->d[0],
            q->d[1], q->d[2], q->pb[0], q->pb[1], q->pb[2], q->pe[0],
            q->pe[1], q->pe[2], q->act, q->res, q->const_w, nthreads);
  }
  nn_free(ex.scratch);
done:
  if (node.shared)
    nn_op_conv.free_shared(node.shared);
  if (node.plan)
    nn_op_conv.free_plan(node.plan);
  nn_free(x), nn_free(w), nn_free(b), nn_free(y), nn_free(r), nn_free(slope);
}

/* A random geometry; `kind` biases it towards one path. */
static void random_case(int kind) {
  geo q;
  memset(&q, 0, sizeof q);
  q.nsp = kind == 5 ? 3 : (rnd() % 5 == 0 ? 1 : 2);
  q.n = ri(1, 2);
  for (int i = 0; i < 3; i++)
    q.in[i] = 1, q.k[i] = 1, q.s[i] = 1, q.d[i] = 1;
  for (int i = 0; i < q.nsp; i++) {
    q.in[i] = q.nsp == 3 ? ri(1, 6) : ri(1, 30);
    q.k[i] = ri(1, 4);
    q.s[i] = ri(1, 3);
    q.d[i] = rnd() % 3 == 0 ? ri(1, 3) : 1;
    q.pb[i] = ri(0, 2);
    q.pe[i] = ri(0, 2);
  }
  switch (kind) {
  case 0: /* 1x1 */
    for (int i = 0; i < q.nsp; i++)
      q.k[i] = 1, q.s[i] = 1, q.pb[i] = q.pe[i] = 0;
    q.group = 1, q.c = ri(1, 40), q.co = ri(1, 40);
    break;
  case 1: /* depthwise 3x3 */
    q.nsp = 2;
    for (int i = 0; i < 2; i++)
      q.k[i] = 3, q.d[i] = 1, q.in[i] = ri(1, 40);
    q.s[1] = q.s[0] = ri(1, 2);
    q.c = q.co = q.group = ri(1, 20);
    break;
  case 2: /* depthwise, anything */
    q.c = q.co = q.group = ri(1, 10);
    break;
  case 3: /* global depthwise */
    q.c = q.co = q.group = ri(1, 20);
    for (int i = 0; i < q.nsp; i++)
      q.k[i] = q.in[i], q.pb[i] = q.pe[i] = 0, q.d[i] = 1;
    break;
  case 6: /* direct 3x3 stride 2 of 1 to 4 input channels */
    q.nsp = 2;
    for (int i = 0; i < 2; i++)
      q.k[i] = 3, q.s[i] = 2, q.d[i] = 1, q.in[i] = ri(1, i ? 70 : 30);
    q.group = 1, q.c = ri(1, 4), q.co = ri(1, 40);
    break;
  default: /* grouped or plain */
    q.group = ri(1, 3);
    q.c = q.group * ri(1, 6);
    q.co = q.group * ri(1, 12);
    break;
  }
  for (int i = 0; i < q.nsp; i++) {
    int ek = (q.k[i] - 1) * q.d[i] + 1;
    while (q.in[i] + q.pb[i] + q.pe[i] < ek)
      q.pe[i]++;
  }
  q.act = ri(0, 4);
  q.res = (int)(rnd() % 2);
  q.res_first = (int)(rnd() % 2);
  q.bias = rnd() % 4 != 0;
  q.const_w = rnd() % 3 != 0;
  run_case(&q);
}

/* The fused 1x1 -> depthwise 3x3 node (nn_op_conv_pwdw, made by
 * optimize.c) against the two convolutions in double precision: random
 * channels and sizes (bands, halo rows and chunk edges included), with and
 * without biases, every epilogue and residual; with `pooled`, the node that
 * also does MaxPool 2x2 stride 2 (nn_op_conv_pwdw_pool, odd sizes drop the
 * last row or column). */
static void pwdw_case(int n, int cin, int c, int h, int w, int act, int res,
                      int res_first, int bias1, int bias2, int pooled) {
  const nn_op *op = pooled ? &nn_op_conv_pwdw_pool : &nn_op_conv_pwdw;
  if (pooled)
    res = 0;
  size_t hw = (size_t)h * w, nx = (size_t)n * cin * hw, ny = (size_t)n * c * hw;
  const int ph = pooled ? h / 2 : h, pw = pooled ? w / 2 : w;
  size_t phw = (size_t)ph * pw, nyo = (size_t)n * c * phw;
  float *x = nn_alloc(nx * 4), *w1 = nn_alloc((size_t)c * cin * 4),
        *b1 = nn_alloc((size_t)c * 4), *w2 = nn_alloc((size_t)c * 9 * 4),
        *b2 = nn_alloc((size_t)c * 4), *y = nn_alloc(ny * 4),
        *r = nn_alloc(ny * 4), *slope = nn_alloc((size_t)c * 4);
  double *t = malloc(hw * sizeof *t), *full = malloc(hw * sizeof *full),
         *tols = malloc(hw * sizeof *tols), *ta = malloc(hw * sizeof *ta);
  for (size_t i = 0; i < nx; i++)
    x[i] = rf();
  for (int i = 0; i < c * cin; i++)
    w1[i] = rf();
  for (int i = 0; i < c * 9; i++)
    w2[i] = rf();
  for (int i = 0; i < c; i++)
    b1[i] = rf(), b2[i] = rf(), slope[i] = rf() * 0.3f;
  for (size_t i = 0; i < ny; i++)
    r[i] = rf();
  nn_value vals[7];
  memset(vals, 0, sizeof vals);
  const char *names[7] = {"X", "W1", "B1", "W2", "B2", "Y", "R"};
  for (int i = 0; i < 7; i++) {
    vals[i].name = (char *)names[i];
    vals[i].producer = -1;
    vals[i].dtype = NN_FLOAT;
  }
  int64_t xd[4] = {n, cin, h, w}, w1d[4] = {c, cin, 1, 1}, w2d[4] = {c, 1, 3, 3};
  vals[0].rank = 4, memcpy(vals[0].dims, xd, sizeof xd), vals[0].nelem = nx;
  vals[0].data = x;
  vals[1].rank = 4, memcpy(vals[1].dims, w1d, sizeof w1d);
  vals[1].nelem = (size_t)c * cin, vals[1].data = w1, vals[1].is_const = 1;
  vals[3].rank = 4, memcpy(vals[3].dims, w2d, sizeof w2d);
  vals[3].nelem = (size_t)c * 9, vals[3].data = w2, vals[3].is_const = 1;
  for (int i = 2; i <= 4; i += 2) {
    vals[i].rank = 1, vals[i].dims[0] = c, vals[i].nelem = (size_t)c;
    vals[i].data = i == 2 ? b1 : b2, vals[i].is_const = 1;
  }
  vals[5].rank = -1;
  vals[6].data = r, vals[6].nelem = ny;
  int64_t ks[2] = {3, 3}, one[2] = {1, 1}, pads[4] = {1, 1, 1, 1};
  nn_attr attrs[4];
  memset(attrs, 0, sizeof attrs);
  set_ints(&attrs[0], "kernel_shape", ks, 2);
  set_ints(&attrs[1], "strides", one, 2);
  set_ints(&attrs[2], "pads", pads, 4);
  attrs[3].name = "group";
  attrs[3].type = NN_ATTR_INT;
  attrs[3].i = c;
  int in[5] = {0, 1, bias1 ? 2 : -1, 3, bias2 ? 4 : -1}, outv[1] = {5};
  nn_node node;
  memset(&node, 0, sizeof node);
  node.op = op;
  node.name = "pwdw";
  node.op_type = "Conv";
  node.ninputs = 5, node.noutputs = 1, node.in = in, node.out = outv;
  node.attrs = attrs, node.nattrs = 4;
  node.epi.residual = res ? 6 : -1;
  node.epi.add_before_act = res_first;
  node.epi.act = act;
  node.epi.slope = slope;
  node.epi.nslope = c > 1 && (rnd() & 1) ? c : 1;
  node.epi.clip_min = -0.2f, node.epi.clip_max = 0.5f;
  nn_graph g;
  memset(&g, 0, sizeof g);
  g.values = vals, g.nvalues = 7, g.nodes = &node, g.nnodes = 1;
  g.precision = precision;
  nn_err err = {{0}};
  CHECK_OK(op->prepare(&g, &node, &err));
  argus_err e = op->infer(&g, &node, &err);
  CHECK_OK(e);
  if (e) {
    fprintf(stderr, "  infer: %s\n", err.msg);
    goto done;
  }
  CHECK_INT_EQ(vals[5].nelem, nyo);
  vals[5].data = y;
  vals[6].rank = 4;
  memcpy(vals[6].dims, vals[5].dims, sizeof vals[5].dims);
  int nthreads = pool ? argus_threadpool_size(pool) : 1;
  size_t scr = op->scratch(&g, &node);
  scr = (scr + 63) & ~(size_t)63;
  nn_exec ex = {&g, pool, nthreads, nn_alloc(scr * (size_t)nthreads + 64), scr};
  CHECK_OK(op->run(&ex, &node));
  int bad = 0;
  for (int img = 0; img < n && !bad; img++)
    for (int co = 0; co < c && !bad; co++) {
      for (size_t p = 0; p < hw; p++) {
        double acc = bias1 ? b1[co] : 0, aabs = 0;
        for (int ci = 0; ci < cin; ci++) {
          double pr =
              (double)w1[co * cin + ci] * x[((size_t)img * cin + ci) * hw + p];
          acc += pr;
          aabs += fabs(pr);
        }
        t[p] = acc;
        ta[p] = aabs;
      }
      for (int oy = 0; oy < h; oy++)
        for (int ox = 0; ox < w; ox++) {
          double v = bias2 ? b2[co] : 0, va = 0;
          for (int ky = 0; ky < 3; ky++)
            for (int kx = 0; kx < 3; kx++) {
              int iy = oy + ky - 1, ix = ox + kx - 1;
              if (iy >= 0 && iy < h && ix >= 0 && ix < w) {
                v += (double)w2[co * 9 + ky * 3 + kx] * t[(size_t)iy * w + ix];
                va += fabs((double)w2[co * 9 + ky * 3 + kx]) *
                      ta[(size_t)iy * w + ix];
              }
            }
          size_t yi = ((size_t)img * c + co) * hw + (size_t)oy * w + ox;
          if (res && res_first)
            v += r[yi];
          switch (act) {
          case NN_ACT_RELU:
            v = v > 0 ? v : 0;
            break;
          case NN_ACT_PRELU:
            if (v < 0)
              v *= slope[node.epi.nslope == 1 ? 0 : co];
            break;
          case NN_ACT_CLIP:
            v = v < -0.2 ? -0.2 : v > 0.5 ? 0.5 : v;
            break;
          case NN_ACT_SIGMOID:
            v = 1 / (1 + exp(-v));
            break;
          }
          if (res && !res_first)
            v += r[yi];
          full[(size_t)oy * w + ox] = v;
          tols[(size_t)oy * w + ox] = 1e-4 + 1e-4 * fabs(v) + 1e-5 * (double)cin +
                                      (precision == ARGUS_NN_PRECISION_BF16
                                           ? BF16_TOL * va
                                           : 0);
        }
      for (int oy = 0; oy < ph && !bad; oy++)
        for (int ox = 0; ox < pw; ox++) {
          size_t q = (size_t)oy * w + ox;
          double v = full[q], tol = tols[q];
          if (pooled) {
            q = (size_t)(2 * oy) * w + 2 * ox;
            size_t qs[4] = {q, q + 1, q + w, q + w + 1};
            v = full[q], tol = tols[q];
            for (int u = 1; u < 4; u++) {
              v = full[qs[u]] > v ? full[qs[u]] : v;
              tol = tols[qs[u]] > tol ? tols[qs[u]] : tol;
            }
          }
          size_t yi = ((size_t)img * c + co) * phw + (size_t)oy * pw + ox;
          if (!(fabs(y[yi] - v) <= tol)) {
            CHECK_NEAR(y[yi], v, tol, 0);
            bad = 1;
            break;
          }
        }
    }
  check_count_++;
  if (bad)
    fprintf(stderr,
            "  pwdw n=%d cin=%d c=%d %dx%d act=%d res=%d/%d bias=%d/%d "
            "pool=%d threads=%d\n",
            n, cin, c, h, w, act, res, res_first, bias1, bias2, pooled,
            nthreads);
  nn_free(ex.scratch);
done:
  if (node.shared)
    op->free_shared(node.shared);
  if (node.plan)
    op->free_plan(node.plan);
  free(t);
  free(full);
  free(tols);
  free(ta);
  nn_free(x), nn_free(w1), nn_free(b1), nn_free(w2), nn_free(b2);
  nn_free(y), nn_free(r), nn_free(slope);
}

static void random_pwdw_case(int pooled) {
  pwdw_case(ri(1, 2), ri(1, 20), ri(1, 20), ri(pooled ? 2 : 1, 30),
            ri(pooled ? 2 : 1, 40), ri(0, 4), (int)(rnd() % 2),
            (int)(rnd() % 2), rnd() % 4 != 0, rnd() % 4 != 0, pooled);
}

int main(void) {
  if (getenv("ARGUS_PRECISION"))
    SKIP("ARGUS_PRECISION is set: it would override the test's precision");
  /* passes: f32 on one thread, f32 on a pool, bf16 on one thread, bf16 on
   * a pool */
  for (int pass = 0; pass < 4; pass++) {
    pool = NULL;
    precision = pass < 2 ? ARGUS_NN_PRECISION_F32 : ARGUS_NN_PRECISION_BF16;
    if (pass % 2 == 1 && argus_threadpool_create(3, &pool) != ARGUS_OK)
      break;
    for (int it = 0; it < 150; it++)
      for (int kind = 0; kind <= 6; kind++)
        random_case(kind);
    for (int it = 0; it < 60; it++)
      random_pwdw_case(it % 2);
    /* several bands per chunk: 64 channels of 272 rows, 100 wide (bands of
     * 38 rows), and a full-resolution 16-channel shape */
    pwdw_case(1, 64, 64, 272, 100, NN_ACT_RELU, 0, 0, 1, 1, 0);
    pwdw_case(1, 16, 16, 97, 960, NN_ACT_RELU, 1, 0, 1, 1, 0);
    pwdw_case(1, 64, 64, 272, 100, NN_ACT_RELU, 0, 0, 1, 1, 1);
    pwdw_case(2, 16, 16, 97, 961, NN_ACT_NONE, 0, 0, 1, 0, 1);
    /* model-like shapes */
    geo q = {.nsp = 2, .n = 1, .c = 3, .co = 16, .group = 1,
             .in = {61, 83, 1}, .k = {3, 3, 1}, .s = {2, 2, 1},
             .d = {1, 1, 1}, .pb = {1, 1, 0}, .pe = {1, 1, 0},
             .act = NN_ACT_RELU, .bias = 1, .const_w = 1};
    run_case(&q);
    /* the direct 3x3 stride-2 path: whole channel blocks and a tail,
     * batches (a pool splits each image's rows into bands), odd sizes,
     * asymmetric pads */
    geo d1 = {.nsp = 2, .n = 2, .c = 3, .co = 35, .group = 1,
              .in = {67, 101, 1}, .k = {3, 3, 1}, .s = {2, 2, 1},
              .d = {1, 1, 1}, .pb = {1, 0, 0}, .pe = {0, 2, 0},
              .act = NN_ACT_PRELU, .res = 1, .bias = 1, .const_w = 1};
    run_case(&d1);
    geo d2 = {.nsp = 2, .n = 1, .c = 4, .co = 32, .group = 1,
              .in = {40, 64, 1}, .k = {3, 3, 1}, .s = {2, 2, 1},
              .d = {1, 1, 1}, .pb = {1, 1, 0}, .pe = {1, 1, 0},
              .act = NN_ACT_CLIP, .res = 1, .res_first = 1, .const_w = 0};
    run_case(&d2);
    geo q2 = {.nsp = 2, .n = 2, .c = 16, .co = 16, .group = 1,
              .in = {15, 20, 1}, .k = {3, 3, 1}, .s = {1, 1, 1},
              .d = {3, 3, 1}, .pb = {3, 3, 0}, .pe = {3, 3, 0},
              .act = NN_ACT_NONE, .bias = 1, .const_w = 1};
    run_case(&q2);
    geo q3 = {.nsp = 2, .n = 1, .c = 64, .co = 64, .group = 64,
              .in = {7, 7, 1}, .k = {7, 7, 1}, .s = {1, 1, 1},
              .d = {1, 1, 1}, .act = NN_ACT_NONE, .bias = 1, .const_w = 1};
    run_case(&q3);
    if (precision == ARGUS_NN_PRECISION_BF16) {
      /* each GEMM path with 16 or more output channels per group, where
       * bf16 applies: 1x1, grouped strided dilated igemm, 3-D im2col */
      geo b1 = {.nsp = 2, .n = 2, .c = 37, .co = 24, .group = 1,
                .in = {13, 17, 1}, .k = {1, 1, 1}, .s = {1, 1, 1},
                .d = {1, 1, 1}, .act = NN_ACT_PRELU, .res = 1, .bias = 1,
                .const_w = 1};
      run_case(&b1);
      geo b2 = {.nsp = 2, .n = 1, .c = 10, .co = 34, .group = 2,
                .in = {19, 23, 1}, .k = {3, 3, 1}, .s = {2, 2, 1},
                .d = {2, 1, 1}, .pb = {2, 1, 0}, .pe = {1, 1, 0},
                .act = NN_ACT_CLIP, .bias = 1, .const_w = 1};
      run_case(&b2);
      geo b3 = {.nsp = 3, .n = 1, .c = 5, .co = 17, .group = 1,
                .in = {6, 7, 9}, .k = {3, 3, 3}, .s = {1, 2, 1},
                .d = {1, 1, 1}, .pb = {1, 1, 1}, .pe = {1, 0, 1},
                .act = NN_ACT_RELU, .res = 1, .res_first = 1, .bias = 1,
                .const_w = 1};
      run_case(&b3);
    }
    argus_threadpool_destroy(pool);
  }
  if (argus_cpu_features() & ARGUS_CPU_AVX512_BF16)
    CHECK(bf16_beyond_f32 > 0);
  printf("bf16: %zu outputs beyond the float32 bound (within the bf16 one)\n",
         bf16_beyond_f32);
  return check_report("test_conv_op");
}
