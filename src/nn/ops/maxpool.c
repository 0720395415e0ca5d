/*
 * MaxPool (ONNX opsets 1-12 semantics) over any number of spatial axes:
 * kernel_shape, strides, pads, dilations, auto_pad, ceil_mode, and the
 * optional Indices output (int64, flattened over the input, row-major for
 * storage_order 0, spatially column-major for storage_order 1). Element
 * types float, int8 and uint8. Positions in the padding never win.
 */
#include <stdlib.h>
#include <string.h>

#include "../graph.h"
#include "../kernels/kernels.h"

#define MP_MAX_SP (NN_MAX_RANK - 2)

typedef struct mp_plan {
  int nsp, dtype, colmajor;
  size_t planes;
  size_t in[MP_MAX_SP], out[MP_MAX_SP], k[MP_MAX_SP], s[MP_MAX_SP],
      d[MP_MAX_SP], pb[MP_MAX_SP];
  size_t isz, osz;
} mp_plan;

static const char *nm(const nn_node *n) { return n->name ? n->name : ""; }

static argus_err ints_attr(const nn_node *n, const char *name, size_t count,
                           const int64_t **out, nn_err *err) {
  size_t c = 0;
  argus_err e = nn_attr_ints(n, name, out, &c, err);
  if (e)
    return e;
  if (*out && c != count)
    return nn_fail(err, ARGUS_E_CORRUPT,
                   "MaxPool '%s': attribute '%s' has %zu values, expected %zu",
                   nm(n), name, c, count);
  return ARGUS_OK;
}

static argus_err mp_infer(nn_graph *g, nn_node *n, nn_err *err) {
  const nn_value *x = nn_in(g, n, 0);
  nn_value *y = nn_out(g, n, 0), *ind = nn_out(g, n, 1);
  if (!x || !y)
    return nn_fail(err, ARGUS_E_CORRUPT,
                   "MaxPool '%s': needs input X and output Y", nm(n));
  if (x->dtype != NN_FLOAT && x->dtype != NN_INT8 && x->dtype != NN_UINT8)
    return nn_fail(err, ARGUS_E_UNSUPPORTED,
                   "MaxPool '%s': element type %s; float, int8 and uint8 are "
                   "supported",
                   nm(n), nn_dtype_name(x->dtype));
  if (x->rank < 3 || x->rank > NN_MAX_RANK)
    return nn_fail(err, ARGUS_E_SHAPE,
                   "MaxPool '%s': X must have rank 3 or more, has %d", nm(n),
                   x->rank);
  int nsp = x->rank - 2;
  const int64_t *ks = NULL, *st = NULL, *di = NULL, *pads = NULL;
  const char *autopad = NULL;
  int64_t ceil_mode, order;
  argus_err e;
  if ((e = ints_attr(n, "kernel_shape", (size_t)nsp, &ks, err)) ||
      (e = ints_attr(n, "strides", (size_t)nsp, &st, err)) ||
      (e = ints_attr(n, "dilations", (size_t)nsp, &di, err)) ||
      (e = ints_attr(n, "pads", 2 * (size_t)nsp, &pads, err)) ||
      (e = nn_attr_string(n, "auto_pad", &autopad, err)) ||
      (e = nn_attr_int(n, "ceil_mode", 0, &ceil_mode, err)) ||
      (e = nn_attr_int(n, "storage_order", 0, &order, err)))
    return e;
  if (!ks)
    return nn_fail(err, ARGUS_E_CORRUPT,
                   "MaxPool '%s': attribute 'kernel_shape' is required",
                   nm(n));
  if (order != 0 && order != 1)
    return nn_fail(err, ARGUS_E_CORRUPT,
                   "MaxPool '%s': attribute 'storage_order' is %lld, must be "
                   "0 or 1",
                   nm(n), (long long)order);
  int mode = 0;
  if (autopad && strcmp(autopad, "NOTSET") != 0) {
    if (strcmp(autopad, "SAME_UPPER") == 0)
      mode = 1;
    else if (strcmp(autopad, "SAME_LOWER") == 0)
      mode = 2;
    else if (strcmp(autopad, "VALID") == 0)
      mode = 3;
    else
      return nn_fail(err, ARGUS_E_CORRUPT,
                     "MaxPool '%s': attribute 'auto_pad' has unknown value "
                     "'%s'",
                     nm(n), autopad);
  }
  mp_plan pl;
  memset(&pl, 0, sizeof pl);
  pl.nsp = nsp;
  pl.dtype = x->dtype;
  pl.colmajor = order == 1;
  pl.planes = (size_t)x->dims[0] * (size_t)x->dims[1];
  pl.isz = pl.osz = 1;
  int64_t yd[NN_MAX_RANK];
  yd[0] = x->dims[0];
  yd[1] = x->dims[1];
  for (int i = 0; i < nsp; i++) {
    int64_t kk = ks[i], ss = st ? st[i] : 1, dd = di ? di[i] : 1;
    int64_t p0 = pads ? pads[i] : 0, p1 = pads ? pads[i + nsp] : 0;
    int64_t xi = x->dims[2 + i];
    if (kk < 1 || ss < 1 || dd < 1 || p0 < 0 || p1 < 0 || kk > (1 << 20) ||
        ss > (1 << 20) || dd > (1 << 20) || p0 > (1 << 20) || p1 > (1 << 20))
      return nn_fail(err, ARGUS_E_CORRUPT,
                     "MaxPool '%s': spatial axis %d has kernel %lld, stride "
                     "%lld, dilation %lld, pads %lld/%lld",
                     nm(n), i, (long long)kk, (long long)ss, (long long)dd,
                     (long long)p0, (long long)p1);
    if (xi < 1)
      return nn_fail(err, ARGUS_E_SHAPE,
                     "MaxPool '%s': X spatial axis %d has size %lld", nm(n), i,
                     (long long)xi);
    int64_t ek = (kk - 1) * dd + 1, o;
    if (mode == 1 || mode == 2) {
      o = (xi + ss - 1) / ss;
      int64_t tot = (o - 1) * ss + ek - xi;
      if (tot < 0)
        tot = 0;
      p0 = mode == 1 ? tot / 2 : tot - tot / 2;
    } else {
      if (mode == 3)
        p0 = p1 = 0;
      int64_t span = xi + p0 + p1 - ek;
      if (span < 0)
        return nn_fail(err, ARGUS_E_SHAPE,
                       "MaxPool '%s': spatial axis %d: input %lld plus pads "
                       "is smaller than the dilated kernel %lld",
                       nm(n), i, (long long)xi, (long long)ek);
      o = (ceil_mode ? (span + ss - 1) / ss : span / ss) + 1;
      /* The last window must start inside the input or the left pad. */
      if (ceil_mode && (o - 1) * ss >= xi + p0)
        o--;
    }
    yd[2 + i] = o;
    pl.in[i] = (size_t)xi;
    pl.out[i] = (size_t)o;
    pl.k[i] = (size_t)kk;
    pl.s[i] = (size_t)ss;
    pl.d[i] = (size_t)dd;
    pl.pb[i] = (size_t)p0;
    pl.isz *= (size_t)xi;
    pl.osz *= (size_t)o;
  }
  if ((e = nn_set_shape(y, x->dtype, x->rank, yd, err)))
    return e;
  if (ind && (e = nn_set_shape(ind, NN_INT64, x->rank, yd, err)))
    return e;
  mp_plan *p = malloc(sizeof *p);
  if (!p)
    return nn_fail(err, ARGUS_E_NOMEM, "MaxPool '%s': out of memory", nm(n));
  *p = pl;
  n->plan = p;
  return ARGUS_OK;
}

typedef struct mp_ctx {
  const mp_plan *pl;
  const void *x;
  void *y;
  int64_t *ind;
  const nn_kernels *kt;
} mp_ctx;

/* One plane for element type T. For each output position, an odometer over
 * the window visits the in-range input positions in row-major order; the
 * first maximum wins. */
#define MP_PLANE(T, NAME)                                                      \
  static void NAME(const mp_plan *pl, const T *x, T *y, int64_t *ind,          \
                   size_t plane) {                                             \
    const int nsp = pl->nsp;                                                   \
    size_t o[MP_MAX_SP] = {0};                                                 \
    for (size_t op = 0; op < pl->osz; op++) {                                  \
      size_t kw[MP_MAX_SP] = {0};                                              \
      int have = 0;                                                            \
      T best = 0;                                                              \
      size_t bidx = 0;                                                         \
      for (;;) {                                                               \
        size_t off = 0, coff = 0, cstr = 1;                                    \
        int ok = 1;                                                            \
        for (int i = 0; i < nsp; i++) {                                        \
          ptrdiff_t pos = (ptrdiff_t)(o[i] * pl->s[i] + kw[i] * pl->d[i]) -    \
                          (ptrdiff_t)pl->pb[i];                                \
          if (pos < 0 || pos >= (ptrdiff_t)pl->in[i]) {                        \
            ok = 0;                                                            \
            break;                                                             \
          }                                                                    \
          off = off * pl->in[i] + (size_t)pos;                                 \
          coff += (size_t)pos * cstr;                                          \
          cstr *= pl->in[i];                                                   \
        }                                                                      \
        if (ok && (!have || x[off] > best)) {                                  \
          best = x[off];                                                       \
          bidx = pl->colmajor ? coff : off;                                    \
          have = 1;                                                            \
        }                                                                      \
        int i = nsp - 1;                                                       \
        for (; i >= 0; i--) {                                                  \
          if (++kw[i] < pl->k[i])                                              \
            break;                                                             \
          kw[i] = 0;                                                           \
        }                                                                      \
        if (i < 0)                                                             \
          break;                                                               \
      }                                                                        \
      y[op] = best;                                                            \
      if (ind)                                                                 \
        ind[op] = (int64_t)(plane * pl->isz + bidx);                           \
      for (int i = nsp - 1; i >= 0; i--) {                                     \
        if (++o[i] < pl->out[i])                                               \
          break;                                                               \
        o[i] = 0;                                                              \
      }                                                                        \
    }                                                                          \
  }

MP_PLANE(float, plane_f32)

/* Two spatial axes, float, no dilation (feature-pyramid pooling such as
 * YuNet's 2x2 stride 2): the same window order and comparisons as the
 * odometer above (first in-range value, then strictly greater ones), with
 * the window clipped once per row and column instead of per position; the
 * odometer took 72 % of YuNet's time at 640x480. */
static void plane_f32_2d(const mp_plan *pl, const nn_kernels *kt,
                         const float *x, float *y) {
  const ptrdiff_t ih = (ptrdiff_t)pl->in[0], iw = (ptrdiff_t)pl->in[1];
  const ptrdiff_t kh = (ptrdiff_t)pl->k[0], kw = (ptrdiff_t)pl->k[1];
  const ptrdiff_t sh = (ptrdiff_t)pl->s[0], sw = (ptrdiff_t)pl->s[1];
  const ptrdiff_t ph = (ptrdiff_t)pl->pb[0], pw = (ptrdiff_t)pl->pb[1];
  if (kh == 2 && kw == 2 && sh == 2 && sw == 2 && ph == 0 && pw == 0 &&
      (ptrdiff_t)pl->out[0] * 2 <= ih && (ptrdiff_t)pl->out[1] * 2 <= iw) {
    /* Every window inside the input: the four values in window order
     * (the SIMD kernel keeps the comparisons of the loop below). */
    for (size_t oy = 0; oy < pl->out[0]; oy++) {
      const float *r0 = x + (ptrdiff_t)(2 * oy) * iw;
      kt->maxpool2x2(r0, r0 + iw, y + oy * pl->out[1], pl->out[1]);
    }
    return;
  }
  for (size_t oy = 0; oy < pl->out[0]; oy++) {
    ptrdiff_t y0 = (ptrdiff_t)oy * sh - ph, y1 = y0 + kh;
    if (y0 < 0)
      y0 = 0;
    if (y1 > ih)
      y1 = ih;
    float *yr = y + oy * pl->out[1];
    for (size_t ox = 0; ox < pl->out[1]; ox++) {
      ptrdiff_t x0 = (ptrdiff_t)ox * sw - pw, x1 = x0 + kw;
      if (x0 < 0)
        x0 = 0;
      if (x1 > iw)
        x1 = iw;
      float best = 0;
      int have = 0;
      for (ptrdiff_t r = y0; r < y1; r++) {
        const float *xr = x + r * iw;
        for (ptrdiff_t c = x0; c < x1; c++)
          if (!have || xr[c] > best) {
            best = xr[c];
            have = 1;
          }
      }
      yr[ox] = best;
    }
  }
}
MP_PLANE(int8_t, plane_i8)
MP_PLANE(uint8_t, plane_u8)

static void mp_task(void *ctx, size_t begin, size_t end, int tid) {
  const mp_ctx *c = ctx;
  const mp_plan *pl = c->pl;
  (void)tid;
  for (size_t t = begin; t < end; t++) {
    int64_t *ind = c->ind ? c->ind + t * pl->osz : NULL;
    switch (pl->dtype) {
    case NN_FLOAT:
      if (pl->nsp == 2 && !ind && pl->d[0] == 1 && pl->d[1] == 1) {
        plane_f32_2d(pl, c->kt, (const float *)c->x + t * pl->isz,
                     (float *)c->y + t * pl->osz);
        break;
      }
      plane_f32(pl, (const float *)c->x + t * pl->isz,
                (float *)c->y + t * pl->osz, ind, t);
      break;
    case NN_INT8:
      plane_i8(pl, (const int8_t *)c->x + t * pl->isz,
               (int8_t *)c->y + t * pl->osz, ind, t);
      break;
    default:
      plane_u8(pl, (const uint8_t *)c->x + t * pl->isz,
               (uint8_t *)c->y + t * pl->osz, ind, t);
      break;
    }
  }
}

static argus_err mp_run(const nn_exec *ex, const nn_node *n) {
  const mp_plan *pl = n->plan;
  if (!pl)
    return ARGUS_E_INTERNAL;
  const nn_value *ind = nn_out(ex->g, n, 1);
  mp_ctx c = {pl, nn_in(ex->g, n, 0)->data, nn_out(ex->g, n, 0)->data,
              ind ? ind->data : NULL, nn_kernels_get()};
  argus_threadpool_parallel_for(ex->pool, pl->planes, 1, mp_task, &c);
  return ARGUS_OK;
}

static void mp_free_plan(void *p) { free(p); }

const nn_op nn_op_maxpool = {
    .type = "MaxPool",
    .infer = mp_infer,
    .run = mp_run,
    .free_plan = mp_free_plan,
};
