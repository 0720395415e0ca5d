/*
 * Quantised ONNX operators, so that models published already quantised
 * (QDQ form: QuantizeLinear / DequantizeLinear around float ops, or the
 * operator form: QLinearConv, QLinearMatMul) load and run:
 *
 *   QuantizeLinear    y = saturate(round(x / y_scale) + y_zero_point)
 *   DequantizeLinear  y = (x - x_zero_point) * x_scale
 *   QLinearConv       y = saturate(round(((x - x_zp) conv (w - w_zp) + B)
 *                                   * (x_scale * w_scale / y_scale)) + y_zp)
 *   QLinearMatMul     the same for a matrix product (no B)
 *
 * round is to nearest even; saturate clips to the output type (uint8 or
 * int8, the zero point's type; uint8 when QuantizeLinear has none); a NaN
 * quantises to the zero point.
 * Scales and zero points are per tensor, or per channel along `axis`
 * (QuantizeLinear / DequantizeLinear, opset 13) or per output channel
 * (QLinearConv's w_scale / w_zero_point). They may be runtime inputs: they
 * are read when the node runs, and a scale that is not a positive finite
 * number is refused then (logged, ARGUS_E_INVALID_ARG), before anything is
 * written. The multiplier x_scale * w_scale / y_scale is formed in float32
 * and applied to the exact int32 sum in double precision, as ONNX's
 * reference does.
 *
 * These are the reference semantics in plain C loops (QLinearConv over
 * output channels on the thread pool): correct, not fast. QLinearConv is
 * 2-D (N, C, H, W) with group, strides, dilations, pads and auto_pad; other
 * ranks are refused with UNSUPPORTED.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../graph.h"

static const char *qname(const nn_node *n) {
  return n->name && *n->name ? n->name : "";
}

static int is_q8(int dt) { return dt == NN_UINT8 || dt == NN_INT8; }

static int32_t q_at(const nn_value *v, size_t i) {
  if (!v || !v->data)
    return 0;
  switch (v->dtype) {
  case NN_UINT8:
    return ((const uint8_t *)v->data)[i];
  case NN_INT8:
    return ((const int8_t *)v->data)[i];
  case NN_INT32:
    return ((const int32_t *)v->data)[i];
  default:
    return 0;
  }
}

/* Stores saturate(round(r) + zp): rounded before the zero point is added
 * (an odd zero point would otherwise move a tie to the other side). */
static void q_store(void *y, int dt, size_t i, double r, int32_t zp) {
  double lo = dt == NN_UINT8 ? 0 : -128, hi = dt == NN_UINT8 ? 255 : 127;
  if (r != r) /* NaN (a NaN input): the zero point */
    r = 0;
  r = nearbyint(r) + zp; /* the default rounding mode: to nearest even */
  if (r < lo)
    r = lo;
  if (r > hi)
    r = hi;
  if (dt == NN_UINT8)
    ((uint8_t *)y)[i] = (uint8_t)r;
  else
    ((int8_t *)y)[i] = (int8_t)r;
}

/* Checks that a scale (and its zero point, if any) hold 1 or `count`
 * values; sets *per to whether they are per channel. */
static argus_err check_param(const nn_node *n, const char *what,
                             const nn_value *s, const nn_value *zp,
                             size_t count, int *per, nn_err *err) {
  if (!s || s->dtype != NN_FLOAT || s->rank > 1 ||
      (s->nelem != 1 && s->nelem != count))
    return nn_fail(err, ARGUS_E_CORRUPT,
                   "%s '%s': %s scale must be a float scalar or hold %zu "
                   "values",
                   n->op_type, qname(n), what, count);
  if (zp && (zp->rank > 1 || zp->nelem != s->nelem))
    return nn_fail(err, ARGUS_E_CORRUPT,
                   "%s '%s': %s zero point must match its scale's %zu "
                   "value(s)",
                   n->op_type, qname(n), what, s->nelem);
  *per = s->nelem != 1;
  return ARGUS_OK;
}

/* Every scale value positive and finite (checked at run: they may be
 * runtime inputs). */
static int scales_ok(const nn_node *n, const char *what, const nn_value *s) {
  const float *p = s->data;
  for (size_t i = 0; p && i < s->nelem; i++)
    if (!(p[i] > 0) || !isfinite(p[i])) {
      argus_log(ARGUS_LOG_ERROR, "nn",
                "%s '%s': %s scale %zu is %g, not a positive number",
                n->op_type, qname(n), what, i, (double)p[i]);
      return 0;
    }
  return p != NULL;
}

/* Resolves `axis` for per-channel parameters of X. */
static argus_err q_axis(const nn_node *n, const nn_value *x, int *axis,
                        nn_err *err) {
  int64_t a = 1;
  argus_err e = nn_attr_int(n, "axis", 1, &a, err);
  if (e)
    return e;
  if (a < 0)
    a += x->rank;
  if (a < 0 || a >= (x->rank > 0 ? x->rank : 1))
    return nn_fail(err, ARGUS_E_CORRUPT, "%s '%s': axis out of range for rank %d",
                   n->op_type, qname(n), x->rank);
  *axis = (int)a;
  return ARGUS_OK;
}

/* Elements of X before and after `axis` (outer, channels, inner). */
static void q_split(const nn_value *x, int axis, size_t *outer, size_t *ch,
                    size_t *inner) {
  *outer = 1, *ch = 1, *inner = 1;
  for (int d = 0; d < x->rank; d++) {
    size_t v = (size_t)x->dims[d];
    if (d < axis)
      *outer *= v;
    else if (d == axis)
      *ch = v;
    else
      *inner *= v;
  }
}

/* ---- QuantizeLinear / DequantizeLinear ------------------------------- */

static argus_err qdq_infer(nn_graph *g, nn_node *n, int quant, nn_err *err) {
  const nn_value *x = nn_in(g, n, 0), *s = nn_in(g, n, 1),
                 *zp = nn_in(g, n, 2);
  nn_value *y = nn_out(g, n, 0);
  if (n->ninputs < 2 || n->ninputs > 3 || !x || !s || !y)
    return nn_fail(err, ARGUS_E_CORRUPT,
                   "%s '%s': needs inputs x, scale (and zero point) and an "
                   "output",
                   n->op_type, qname(n));
  if (quant ? x->dtype != NN_FLOAT
            : !is_q8(x->dtype) && x->dtype != NN_INT32)
    return nn_fail(err, ARGUS_E_UNSUPPORTED,
                   "%s '%s': input x of type %s is not supported (%s)",
                   n->op_type, qname(n), nn_dtype_name(x->dtype),
                   quant ? "float" : "uint8, int8 or int32");
  int ydt = quant ? (zp ? zp->dtype : NN_UINT8) : NN_FLOAT;
  if (quant && !is_q8(ydt))
    return nn_fail(err, ARGUS_E_UNSUPPORTED,
                   "%s '%s': zero point of type %s is not supported (uint8 "
                   "or int8)",
                   n->op_type, qname(n), nn_dtype_name(ydt));
  if (!quant && zp && zp->dtype != x->dtype)
    return nn_fail(err, ARGUS_E_CORRUPT,
                   "%s '%s': zero point type %s differs from x's %s",
                   n->op_type, qname(n), nn_dtype_name(zp->dtype),
                   nn_dtype_name(x->dtype));
  int axis = 0, per = 0;
  size_t outer, ch, inner;
  argus_err e = ARGUS_OK;
  if (s->nelem != 1 && (e = q_axis(n, x, &axis, err)))
    return e;
  q_split(x, axis, &outer, &ch, &inner);
  if ((e = check_param(n, quant ? "y" : "x", s, zp, s->nelem == 1 ? 1 : ch,
                       &per, err)))
    return e;
  if (!quant && x->dtype == NN_INT32 && zp && zp->data &&
      q_at(zp, 0) != 0)
    return nn_fail(err, ARGUS_E_CORRUPT,
                   "%s '%s': an int32 x takes no zero point other than 0",
                   n->op_type, qname(n));
  return nn_set_shape(y, ydt, x->rank, x->dims, err);
}

static argus_err quant_infer(nn_graph *g, nn_node *n, nn_err *err) {
  return qdq_infer(g, n, 1, err);
}
static argus_err dequant_infer(nn_graph *g, nn_node *n, nn_err *err) {
  return qdq_infer(g, n, 0, err);
}

static argus_err qdq_run(const nn_exec *ex, const nn_node *n, int quant) {
  const nn_graph *g = ex->g;
  const nn_value *x = nn_in(g, n, 0), *s = nn_in(g, n, 1),
                 *zp = nn_in(g, n, 2);
  const nn_value *y = nn_out(g, n, 0);
  if (!scales_ok(n, quant ? "y" : "x", s))
    return ARGUS_E_INVALID_ARG;
  int axis = 0;
  size_t outer, ch, inner;
  if (s->nelem != 1) {
    int64_t a = 1;
    if (nn_attr_int(n, "axis", 1, &a, NULL) != ARGUS_OK)
      return ARGUS_E_CORRUPT;
    axis = (int)(a < 0 ? a + x->rank : a);
  }
  q_split(x, axis, &outer, &ch, &inner);
  const float *sc = s->data;
  size_t i = 0;
  for (size_t o = 0; o < outer; o++)
    for (size_t c = 0; c < ch; c++) {
      size_t k = s->nelem == 1 ? 0 : c;
      float scale = sc[k];
      int32_t z = zp ? q_at(zp, k) : 0;
      for (size_t j = 0; j < inner; j++, i++)
        if (quant) /* x / scale in float32, rounded in double */
          q_store(y->data, y->dtype, i,
                  (double)(((const float *)x->data)[i] / scale), z);
        else
          ((float *)y->data)[i] = (float)(q_at(x, i) - z) * scale;
    }
  return ARGUS_OK;
}

static argus_err quant_run(const nn_exec *ex, const nn_node *n) {
  return qdq_run(ex, n, 1);
}
static argus_err dequant_run(const nn_exec *ex, const nn_node *n) {
  return qdq_run(ex, n, 0);
}

const nn_op nn_op_quantizelinear = {
    .type = "QuantizeLinear", .infer = quant_infer, .run = quant_run};
const nn_op nn_op_dequantizelinear = {
    .type = "DequantizeLinear", .infer = dequant_infer, .run = dequant_run};

/* ---- QLinearConv ----------------------------------------------------- */

typedef struct qconv_plan {
  size_t n, ci, h, w, co, kh, kw, oh, ow, group, sh, sw, dh, dw, pt, pl;
} qconv_plan;

static argus_err ints2(const nn_node *n, const char *name, int64_t def,
                       int64_t v[2], nn_err *err) {
  const int64_t *p = NULL;
  size_t cnt = 0;
  argus_err e = nn_attr_ints(n, name, &p, &cnt, err);
  if (e)
    return e;
  if (!p) {
    v[0] = v[1] = def;
    return ARGUS_OK;
  }
  if (cnt != 2)
    return nn_fail(err, ARGUS_E_CORRUPT,
                   "QLinearConv '%s': %s needs 2 values, has %zu", qname(n),
                   name, cnt);
  v[0] = p[0], v[1] = p[1];
  return ARGUS_OK;
}

static argus_err qconv_infer(nn_graph *g, nn_node *n, nn_err *err) {
  const nn_value *x = nn_in(g, n, 0), *xs = nn_in(g, n, 1),
                 *xz = nn_in(g, n, 2), *w = nn_in(g, n, 3),
                 *ws = nn_in(g, n, 4), *wz = nn_in(g, n, 5),
                 *ys = nn_in(g, n, 6), *yz = nn_in(g, n, 7),
                 *b = nn_in(g, n, 8);
  nn_value *y = nn_out(g, n, 0);
  if (n->ninputs < 8 || !x || !xs || !xz || !w || !ws || !wz || !ys || !yz ||
      !y)
    return nn_fail(err, ARGUS_E_CORRUPT,
                   "QLinearConv '%s': needs x, x_scale, x_zero_point, w, "
                   "w_scale, w_zero_point, y_scale, y_zero_point (and B)",
                   qname(n));
  if (!is_q8(x->dtype) || !is_q8(w->dtype) || !is_q8(yz->dtype) ||
      xz->dtype != x->dtype || wz->dtype != w->dtype)
    return nn_fail(err, ARGUS_E_UNSUPPORTED,
                   "QLinearConv '%s': x, w and y must be uint8 or int8 with "
                   "zero points of their own type",
                   qname(n));
  if (x->rank != 4 || w->rank != 4)
    return nn_fail(err, ARGUS_E_UNSUPPORTED,
                   "QLinearConv '%s': only 2-D convolutions (rank 4 x and "
                   "w) are supported, not rank %d",
                   qname(n), x->rank);
  if (b && (b->dtype != NN_INT32 || b->rank != 1 || b->nelem != (size_t)w->dims[0]))
    return nn_fail(err, ARGUS_E_CORRUPT,
                   "QLinearConv '%s': B must be int32 with one value per "
                   "output channel (%lld)",
                   qname(n), (long long)w->dims[0]);
  int per;
  argus_err e;
  if ((e = check_param(n, "x", xs, xz, 1, &per, err)) ||
      (e = check_param(n, "w", ws, wz, (size_t)w->dims[0], &per, err)) ||
      (e = check_param(n, "y", ys, yz, 1, &per, err)))
    return e;
  int64_t group = 1, st[2], dl[2], ks[2];
  const int64_t *pads = NULL;
  size_t npads = 0;
  const char *ap = NULL;
  if ((e = nn_attr_int(n, "group", 1, &group, err)) ||
      (e = ints2(n, "strides", 1, st, err)) ||
      (e = ints2(n, "dilations", 1, dl, err)) ||
      (e = ints2(n, "kernel_shape", 0, ks, err)) ||
      (e = nn_attr_ints(n, "pads", &pads, &npads, err)) ||
      (e = nn_attr_string(n, "auto_pad", &ap, err)))
    return e;
  qconv_plan pl;
  memset(&pl, 0, sizeof pl);
  pl.n = (size_t)x->dims[0], pl.ci = (size_t)x->dims[1];
  pl.h = (size_t)x->dims[2], pl.w = (size_t)x->dims[3];
  pl.co = (size_t)w->dims[0];
  pl.kh = (size_t)w->dims[2], pl.kw = (size_t)w->dims[3];
  if (group < 1 || pl.ci % (size_t)group || pl.co % (size_t)group ||
      (size_t)w->dims[1] * (size_t)group != pl.ci)
    return nn_fail(err, ARGUS_E_SHAPE,
                   "QLinearConv '%s': group %lld does not fit %zu input and "
                   "%zu output channels (w has %lld per group)",
                   qname(n), (long long)group, pl.ci, pl.co,
                   (long long)w->dims[1]);
  if ((ks[0] && (size_t)ks[0] != pl.kh) || (ks[1] && (size_t)ks[1] != pl.kw))
    return nn_fail(err, ARGUS_E_SHAPE,
                   "QLinearConv '%s': kernel_shape differs from w's", qname(n));
  const int64_t lim = (int64_t)1 << 24;
  int pads_ok = !pads || npads == 4;
  for (size_t i = 0; pads && i < npads && pads_ok; i++)
    pads_ok = pads[i] >= 0 && pads[i] <= lim;
  if (st[0] < 1 || st[1] < 1 || dl[0] < 1 || dl[1] < 1 || st[0] > lim ||
      st[1] > lim || dl[0] > lim || dl[1] > lim || !pads_ok ||
      pl.kh < 1 || pl.kw < 1)
    return nn_fail(err, ARGUS_E_CORRUPT,
                   "QLinearConv '%s': strides and dilations must be 1 to "
                   "2^24, pads 4 values of 0 to 2^24, the kernel at least 1x1",
                   qname(n));
  pl.group = (size_t)group;
  pl.sh = (size_t)st[0], pl.sw = (size_t)st[1];
  pl.dh = (size_t)dl[0], pl.dw = (size_t)dl[1];
  int64_t in[2] = {x->dims[2], x->dims[3]}, k[2], s2[2] = {st[0], st[1]},
          out[2], pb[2];
  k[0] = ((int64_t)pl.kh - 1) * dl[0] + 1;
  k[1] = ((int64_t)pl.kw - 1) * dl[1] + 1;
  for (int a = 0; a < 2; a++) {
    int64_t pbeg = pads ? pads[a] : 0, pend = pads ? pads[a + 2] : 0;
    if (ap && strcmp(ap, "NOTSET") != 0) {
      if (strcmp(ap, "VALID") == 0) {
        pbeg = pend = 0;
      } else if (strcmp(ap, "SAME_UPPER") == 0 ||
                 strcmp(ap, "SAME_LOWER") == 0) {
        int64_t o = (in[a] + s2[a] - 1) / s2[a];
        int64_t tot = (o - 1) * s2[a] + k[a] - in[a];
        if (tot < 0)
          tot = 0;
        pbeg = ap[5] == 'U' ? tot / 2 : tot - tot / 2;
        pend = tot - pbeg;
      } else {
        return nn_fail(err, ARGUS_E_CORRUPT,
                       "QLinearConv '%s': auto_pad '%s' is not one of NOTSET, "
                       "SAME_UPPER, SAME_LOWER, VALID",
                       qname(n), ap);
      }
    }
    if (pbeg < 0 || pend < 0 || in[a] + pbeg + pend < k[a])
      return nn_fail(err, ARGUS_E_SHAPE,
                     "QLinearConv '%s': kernel larger than the padded input",
                     qname(n));
    out[a] = (in[a] + pbeg + pend - k[a]) / s2[a] + 1;
    pb[a] = pbeg;
  }
  pl.oh = (size_t)out[0], pl.ow = (size_t)out[1];
  pl.pt = (size_t)pb[0], pl.pl = (size_t)pb[1];
  int64_t yd[4] = {x->dims[0], (int64_t)pl.co, out[0], out[1]};
  if ((e = nn_set_shape(y, yz->dtype, 4, yd, err)))
    return e;
  qconv_plan *p = malloc(sizeof *p);
  if (!p)
    return nn_fail(err, ARGUS_E_NOMEM, "QLinearConv '%s': out of memory",
                   qname(n));
  *p = pl;
  n->plan = p;
  return ARGUS_OK;
}

typedef struct qconv_ctx {
  const qconv_plan *pl;
  const nn_value *x, *w, *b, *wz, *yv;
  int32_t xz, yz;
  const double *mult; /* per output channel */
} qconv_ctx;

/* Task = (image, output channel). */
static void qconv_task(void *ctx, size_t begin, size_t end, int tid) {
  const qconv_ctx *c = ctx;
  const qconv_plan *p = c->pl;
  const size_t cig = p->ci / p->group, cog = p->co / p->group;
  (void)tid;
  for (size_t t = begin; t < end; t++) {
    size_t img = t / p->co, o = t % p->co, g0 = o / cog * cig;
    int32_t wz = q_at(c->wz, c->wz->nelem == 1 ? 0 : o);
    int32_t bias = c->b ? q_at(c->b, o) : 0;
    size_t ybase = (img * p->co + o) * p->oh * p->ow;
    for (size_t oy = 0; oy < p->oh; oy++)
      for (size_t ox = 0; ox < p->ow; ox++) {
        int64_t acc = bias;
        for (size_t ci = 0; ci < cig; ci++) {
          size_t xbase = (img * p->ci + g0 + ci) * p->h * p->w;
          size_t wbase = (o * cig + ci) * p->kh * p->kw;
          for (size_t ky = 0; ky < p->kh; ky++) {
            size_t iy = oy * p->sh + ky * p->dh - p->pt; /* wraps if < 0 */
            if (iy >= p->h)
              continue;
            for (size_t kx = 0; kx < p->kw; kx++) {
              size_t ix = ox * p->sw + kx * p->dw - p->pl;
              if (ix >= p->w)
                continue;
              acc += (int64_t)(q_at(c->x, xbase + iy * p->w + ix) - c->xz) *
                     (q_at(c->w, wbase + ky * p->kw + kx) - wz);
            }
          }
        }
        q_store(c->yv->data, c->yv->dtype, ybase + oy * p->ow + ox,
                (double)(int32_t)acc * c->mult[o], c->yz);
      }
  }
}

static argus_err qconv_run(const nn_exec *ex, const nn_node *n) {
  const nn_graph *g = ex->g;
  const qconv_plan *p = n->plan;
  const nn_value *xs = nn_in(g, n, 1), *ws = nn_in(g, n, 4),
                 *ys = nn_in(g, n, 6);
  if (!p)
    return ARGUS_E_INTERNAL;
  if (!scales_ok(n, "x", xs) || !scales_ok(n, "w", ws) ||
      !scales_ok(n, "y", ys))
    return ARGUS_E_INVALID_ARG;
  if (p->co == 0 || p->n == 0)
    return ARGUS_OK;
  double *mult = malloc(p->co * sizeof *mult);
  if (!mult)
    return ARGUS_E_NOMEM;
  const float *wsv = ws->data;
  for (size_t o = 0; o < p->co; o++) {
    float m = *(const float *)xs->data * wsv[ws->nelem == 1 ? 0 : o] /
              *(const float *)ys->data;
    mult[o] = (double)m;
  }
  qconv_ctx c = {p,
                 nn_in(g, n, 0),
                 nn_in(g, n, 3),
                 nn_in(g, n, 8),
                 nn_in(g, n, 5),
                 nn_out(g, n, 0),
                 q_at(nn_in(g, n, 2), 0),
                 q_at(nn_in(g, n, 7), 0),
                 mult};
  argus_threadpool_parallel_for(ex->pool, p->n * p->co, 1, qconv_task, &c);
  free(mult);
  return ARGUS_OK;
}

static void qconv_free_plan(void *p) { free(p); }

const nn_op nn_op_qlinearconv = {.type = "QLinearConv",
                                 .infer = qconv_infer,
                                 .run = qconv_run,
                                 .free_plan = qconv_free_plan};

/* ---- QLinearMatMul --------------------------------------------------- */

static argus_err qmm_infer(nn_graph *g, nn_node *n, nn_err *err) {
  const nn_value *a = nn_in(g, n, 0), *as = nn_in(g, n, 1),
                 *az = nn_in(g, n, 2), *b = nn_in(g, n, 3),
                 *bs = nn_in(g, n, 4), *bz = nn_in(g, n, 5),
                 *ys = nn_in(g, n, 6), *yz = nn_in(g, n, 7);
  nn_value *y = nn_out(g, n, 0);
  if (n->ninputs != 8 || !a || !as || !az || !b || !bs || !bz || !ys || !yz ||
      !y)
    return nn_fail(err, ARGUS_E_CORRUPT,
                   "QLinearMatMul '%s': needs 8 inputs (a, its scale and zero "
                   "point, b, its, y's) and an output",
                   qname(n));
  if (!is_q8(a->dtype) || !is_q8(b->dtype) || !is_q8(yz->dtype) ||
      az->dtype != a->dtype || bz->dtype != b->dtype)
    return nn_fail(err, ARGUS_E_UNSUPPORTED,
                   "QLinearMatMul '%s': a, b and y must be uint8 or int8 with "
                   "zero points of their own type",
                   qname(n));
  int per;
  argus_err e;
  if ((e = check_param(n, "a", as, az, 1, &per, err)) ||
      (e = check_param(n, "b", bs, bz, 1, &per, err)) ||
      (e = check_param(n, "y", ys, yz, 1, &per, err)))
    return e;
  if (a->rank < 2 || b->rank < 2 || a->dims[a->rank - 1] != b->dims[b->rank - 2] ||
      (b->rank > 2 && b->rank != a->rank))
    return nn_fail(err, ARGUS_E_SHAPE,
                   "QLinearMatMul '%s': shapes do not multiply (a rank %d, b "
                   "rank %d; only b of rank 2 or of a's rank with the same "
                   "batch dimensions)",
                   qname(n), a->rank, b->rank);
  for (int d = 0; b->rank > 2 && d < a->rank - 2; d++)
    if (a->dims[d] != b->dims[d])
      return nn_fail(err, ARGUS_E_SHAPE,
                     "QLinearMatMul '%s': batch dimension %d differs (%lld vs "
                     "%lld)",
                     qname(n), d, (long long)a->dims[d], (long long)b->dims[d]);
  int64_t yd[NN_MAX_RANK];
  memcpy(yd, a->dims, sizeof(int64_t) * (size_t)a->rank);
  yd[a->rank - 1] = b->dims[b->rank - 1];
  return nn_set_shape(y, yz->dtype, a->rank, yd, err);
}

static argus_err qmm_run(const nn_exec *ex, const nn_node *n) {
  const nn_graph *g = ex->g;
  const nn_value *a = nn_in(g, n, 0), *as = nn_in(g, n, 1),
                 *b = nn_in(g, n, 3), *bs = nn_in(g, n, 4),
                 *ys = nn_in(g, n, 6), *y = nn_out(g, n, 0);
  if (!scales_ok(n, "a", as) || !scales_ok(n, "b", bs) ||
      !scales_ok(n, "y", ys))
    return ARGUS_E_INVALID_ARG;
  const int32_t az = q_at(nn_in(g, n, 2), 0), bz = q_at(nn_in(g, n, 5), 0),
                yz = q_at(nn_in(g, n, 7), 0);
  float m = *(const float *)as->data * *(const float *)bs->data /
            *(const float *)ys->data;
  const size_t M = (size_t)a->dims[a->rank - 2], K = (size_t)a->dims[a->rank - 1],
               N = (size_t)b->dims[b->rank - 1];
  if (M == 0 || N == 0)
    return ARGUS_OK;
  size_t batch = y->nelem / (M * N);
  for (size_t t = 0; t < batch; t++) {
    size_t ab = t * M * K, bb = b->rank > 2 ? t * K * N : 0, yb = t * M * N;
    for (size_t i = 0; i < M; i++)
      for (size_t j = 0; j < N; j++) {
        int64_t acc = 0;
        for (size_t k = 0; k < K; k++)
          acc += (int64_t)(q_at(a, ab + i * K + k) - az) *
                 (q_at(b, bb + k * N + j) - bz);
        q_store(y->data, y->dtype, yb + i * N + j,
                (double)(int32_t)acc * (double)m, yz);
      }
  }
  return ARGUS_OK;
}

const nn_op nn_op_qlinearmatmul = {
    .type = "QLinearMatMul", .infer = qmm_infer, .run = qmm_run};
