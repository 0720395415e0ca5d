/*
 * Resize (ONNX opsets 11 and later), mode "nearest": each output element
 * copies one input element, chosen per axis. The target is the `scales`
 * input (output dim = floor(input dim * scale)) or the `sizes` input (scale
 * = size / input dim), constant at plan time; exactly one of them is given
 * (an empty tensor counts as absent). Every coordinate transformation of
 * the nearest mode but tf_crop_and_resize is handled (half_pixel,
 * pytorch_half_pixel, align_corners, asymmetric, tf_half_pixel_for_nn), and
 * every nearest_mode (round_prefer_floor, round_prefer_ceil, floor, ceil).
 *
 * Why only nearest: the models argus runs use Resize for the 2x nearest
 * upsampling of feature pyramids (YuNet: asymmetric, floor); linear and
 * cubic interpolation, tf_crop_and_resize, opset 18's `axes` and
 * keep_aspect_ratio_policy other than "stretch" are refused with
 * UNSUPPORTED at plan time, naming the attribute. Resize-10 (different
 * defaults, no nearest_mode) is refused too.
 *
 * The source index of every output position is computed once per session
 * (per axis, in float arithmetic as ONNX Runtime does, so that ties round
 * the same way) into tables; running is then a gather of rows: the row's
 * source offset from the tables of the outer axes, the row's elements from
 * the table of the last axis. Any dtype is moved by element size.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "movement.h"

enum {
  RS_HALF_PIXEL,
  RS_PYTORCH_HALF_PIXEL,
  RS_ALIGN_CORNERS,
  RS_ASYMMETRIC,
  RS_TF_HALF_PIXEL_FOR_NN,
};

enum {
  RS_ROUND_PREFER_FLOOR,
  RS_ROUND_PREFER_CEIL,
  RS_FLOOR,
  RS_CEIL,
};

typedef struct rs_plan {
  int rank;
  size_t esize;
  int64_t out[NN_MAX_RANK];
  int64_t istride[NN_MAX_RANK]; /* input strides in elements */
  /* Per axis: output index -> input index (out[k] entries). */
  int64_t *map[NN_MAX_RANK];
  int64_t *maps; /* the one allocation behind map[] */
  size_t rows;   /* product of out[0 .. rank-2] */
  int twice;     /* 4-byte elements, last axis maps i -> i / 2 (2x) */
} rs_plan;

static const char *rs_name(const nn_node *n) { return NN_MV_NAME(n); }

static int find_str(const char *s, const char *const *names, int count) {
  for (int i = 0; i < count; i++)
    if (strcmp(s, names[i]) == 0)
      return i;
  return -1;
}

/* The input coordinate of output coordinate xr (ONNX's formulas). */
static float rs_coord(int mode, float xr, float scale, int64_t len_out,
                      int64_t len_in) {
  switch (mode) {
  case RS_PYTORCH_HALF_PIXEL:
    return len_out > 1 ? (xr + 0.5f) / scale - 0.5f : 0.0f;
  case RS_ALIGN_CORNERS:
    return len_out == 1 ? 0.0f
                        : xr * (float)(len_in - 1) / (float)(len_out - 1);
  case RS_ASYMMETRIC: return xr / scale;
  case RS_TF_HALF_PIXEL_FOR_NN: return (xr + 0.5f) / scale;
  default: return (xr + 0.5f) / scale - 0.5f; /* half_pixel */
  }
}

static int64_t rs_nearest(int mode, float x) {
  switch (mode) {
  case RS_ROUND_PREFER_CEIL: return (int64_t)roundf(x);
  case RS_FLOOR: return (int64_t)floorf(x);
  case RS_CEIL: return (int64_t)ceilf(x);
  default: /* round_prefer_floor: halves go down */
    if (x == (float)(int64_t)x + 0.5f)
      return (int64_t)floorf(x);
    return (int64_t)roundf(x);
  }
}

/* A present input with elements, or NULL (omitted, or an empty tensor as
 * opset 11 writes for an unused roi/scales). */
static const nn_value *rs_opt_in(const nn_graph *g, const nn_node *n, int i) {
  const nn_value *v = nn_in(g, n, i);
  return v && v->rank >= 0 && v->nelem > 0 ? v : NULL;
}

static argus_err rs_infer(nn_graph *g, nn_node *n, nn_err *err) {
  const char *nm = rs_name(n);
  if (n->opset > 0 && n->opset < 11)
    return nn_fail(err, ARGUS_E_UNSUPPORTED,
                   "Resize '%s': opset %d (Resize-10) is not supported; "
                   "export the model with opset 11 or later",
                   nm, n->opset);
  argus_err e = nn_mv_check_io(g, n, 1, 4, err);
  if (e)
    return e;
  const nn_value *x = nn_in(g, n, 0);
  if (x->rank < 1)
    return nn_fail(err, ARGUS_E_SHAPE, "Resize '%s': X must have rank >= 1",
                   nm);

  const char *mode = NULL, *ctm = NULL, *nmode = NULL, *ratio = NULL;
  const int64_t *axes = NULL;
  size_t naxes = 0;
  if ((e = nn_attr_string(n, "mode", &mode, err)) ||
      (e = nn_attr_string(n, "coordinate_transformation_mode", &ctm, err)) ||
      (e = nn_attr_string(n, "nearest_mode", &nmode, err)) ||
      (e = nn_attr_string(n, "keep_aspect_ratio_policy", &ratio, err)) ||
      (e = nn_attr_ints(n, "axes", &axes, &naxes, err)))
    return e;
  if (mode && strcmp(mode, "nearest") != 0)
    return nn_fail(err, ARGUS_E_UNSUPPORTED,
                   "Resize '%s': mode '%s' is not supported (only nearest)",
                   nm, mode);
  static const char *const ctms[] = {"half_pixel", "pytorch_half_pixel",
                                     "align_corners", "asymmetric",
                                     "tf_half_pixel_for_nn"};
  int cmode = RS_HALF_PIXEL;
  if (ctm && (cmode = find_str(ctm, ctms, 5)) < 0)
    return nn_fail(err, ARGUS_E_UNSUPPORTED,
                   "Resize '%s': coordinate_transformation_mode '%s' is not "
                   "supported (half_pixel, pytorch_half_pixel, "
                   "align_corners, asymmetric, tf_half_pixel_for_nn)",
                   nm, ctm);
  static const char *const nms[] = {"round_prefer_floor", "round_prefer_ceil",
                                    "floor", "ceil"};
  int rmode = RS_ROUND_PREFER_FLOOR;
  if (nmode && (rmode = find_str(nmode, nms, 4)) < 0)
    return nn_fail(err, ARGUS_E_CORRUPT,
                   "Resize '%s': nearest_mode '%s' is not one of "
                   "round_prefer_floor, round_prefer_ceil, floor, ceil",
                   nm, nmode);
  if (axes)
    return nn_fail(err, ARGUS_E_UNSUPPORTED,
                   "Resize '%s': attribute 'axes' is not supported (give "
                   "scales or sizes for every axis)",
                   nm);
  if (ratio && strcmp(ratio, "stretch") != 0)
    return nn_fail(err, ARGUS_E_UNSUPPORTED,
                   "Resize '%s': keep_aspect_ratio_policy '%s' is not "
                   "supported (only stretch)",
                   nm, ratio);

  const nn_value *sc = rs_opt_in(g, n, 2), *sz = rs_opt_in(g, n, 3);
  if (!sc == !sz)
    return nn_fail(err, ARGUS_E_CORRUPT,
                   "Resize '%s': exactly one of the inputs scales and sizes "
                   "must be given (%s)",
                   nm, sc ? "both are" : "neither is");
  const nn_value *t = sc ? sc : sz;
  if (!t->is_const || !t->data)
    return nn_fail(err, ARGUS_E_UNSUPPORTED,
                   "Resize '%s': input %s must be constant at plan time", nm,
                   sc ? "scales" : "sizes");
  if (t->rank != 1 || t->nelem != (size_t)x->rank ||
      t->dtype != (sc ? NN_FLOAT : NN_INT64))
    return nn_fail(err, ARGUS_E_CORRUPT,
                   "Resize '%s': input %s must be a 1-D %s tensor of %d "
                   "values (one per axis of X)",
                   nm, sc ? "scales" : "sizes", sc ? "float" : "int64",
                   x->rank);

  rs_plan pl;
  memset(&pl, 0, sizeof pl);
  pl.rank = x->rank;
  pl.esize = nn_dtype_size(x->dtype);
  float scale[NN_MAX_RANK];
  size_t total = 0;
  for (int k = 0; k < x->rank; k++) {
    int64_t in = x->dims[k], o;
    if (sc) {
      float s = ((const float *)sc->data)[k];
      if (!(s > 0) || !isfinite(s))
        return nn_fail(err, ARGUS_E_CORRUPT,
                       "Resize '%s': scales[%d] = %g is not positive", nm, k,
                       (double)s);
      float f = floorf((float)in * s);
      o = f < 1 ? 0 : f > (float)(1 << 30) ? (int64_t)1 << 31 : (int64_t)f;
      scale[k] = s;
    } else {
      o = ((const int64_t *)sz->data)[k];
      scale[k] = in > 0 ? (float)o / (float)in : 1.0f;
    }
    if (o < 1 || o > (int64_t)1 << 30 || in < 1)
      return nn_fail(err, ARGUS_E_SHAPE,
                     "Resize '%s': axis %d of size %lld would become %lld", nm,
                     k, (long long)in, (long long)o);
    pl.out[k] = o;
    total += (size_t)o;
  }
  int64_t stride = 1;
  for (int k = x->rank - 1; k >= 0; k--) {
    pl.istride[k] = stride;
    stride *= x->dims[k];
  }
  if ((e = nn_set_shape(nn_out(g, n, 0), x->dtype, x->rank, pl.out, err)))
    return e;
  pl.rows = 1;
  for (int k = 0; k + 1 < x->rank; k++)
    pl.rows *= (size_t)pl.out[k];

  rs_plan *p = malloc(sizeof *p);
  int64_t *maps = malloc(total * sizeof *maps);
  if (!p || !maps) {
    free(p);
    free(maps);
    return nn_fail(err, ARGUS_E_NOMEM, "Resize '%s': out of memory", nm);
  }
  *p = pl;
  p->maps = maps;
  for (int k = 0; k < x->rank; k++) {
    p->map[k] = maps;
    for (int64_t i = 0; i < p->out[k]; i++) {
      float c = rs_coord(cmode, (float)i, scale[k], p->out[k], x->dims[k]);
      int64_t j = rs_nearest(rmode, c);
      maps[i] = j < 0 ? 0 : j >= x->dims[k] ? x->dims[k] - 1 : j;
    }
    maps += p->out[k];
  }
  const int64_t *last = p->map[x->rank - 1];
  p->twice = p->esize == 4;
  for (int64_t i = 0; i < p->out[x->rank - 1] && p->twice; i++)
    p->twice = last[i] == i / 2;
  n->plan = p;
  return ARGUS_OK;
}

typedef struct rs_ctx {
  const rs_plan *pl;
  const uint8_t *x;
  uint8_t *y;
} rs_ctx;

#define RS_ROW(T)                                                              \
  do {                                                                         \
    const T *s_ = (const T *)src;                                              \
    T *d_ = (T *)dst;                                                          \
    for (int64_t i = 0; i < w; i++)                                            \
      d_[i] = s_[last[i]];                                                     \
  } while (0)

static void rs_task(void *ctx, size_t begin, size_t end, int tid) {
  const rs_ctx *c = ctx;
  const rs_plan *pl = c->pl;
  const int r = pl->rank;
  const int64_t w = pl->out[r - 1];
  const int64_t *last = pl->map[r - 1];
  const size_t es = pl->esize;
  (void)tid;
  int64_t prev = -1; /* the source offset of row - 1, if in this task */
  for (size_t row = begin; row < end; row++) {
    /* The source offset of this output row from the outer axes' tables. */
    size_t q = row;
    int64_t off = 0;
    for (int k = r - 2; k >= 0; k--) {
      size_t i = q % (size_t)pl->out[k];
      q /= (size_t)pl->out[k];
      off += pl->map[k][i] * pl->istride[k];
    }
    const uint8_t *src = c->x + (size_t)off * es;
    uint8_t *dst = c->y + row * (size_t)w * es;
    const int same = off == prev;
    prev = off;
    if (same) {
      memcpy(dst, dst - (size_t)w * es, (size_t)w * es);
      continue;
    }
    if (pl->twice) {
      const uint32_t *s4 = (const uint32_t *)src;
      uint32_t *d4 = (uint32_t *)dst;
      int64_t i = 0;
      for (; i + 1 < w; i += 2)
        d4[i] = d4[i + 1] = s4[i / 2];
      if (i < w)
        d4[i] = s4[i / 2];
      continue;
    }
    switch (es) {
    case 4: RS_ROW(uint32_t); break;
    case 1: RS_ROW(uint8_t); break;
    case 2: RS_ROW(uint16_t); break;
    case 8: RS_ROW(uint64_t); break;
    default:
      for (int64_t i = 0; i < w; i++)
        memcpy(dst + (size_t)i * es, src + (size_t)last[i] * es, es);
      break;
    }
  }
}

static argus_err rs_run(const nn_exec *ex, const nn_node *n) {
  const rs_plan *pl = n->plan;
  if (!pl)
    return ARGUS_E_INTERNAL;
  rs_ctx c = {pl, nn_in(ex->g, n, 0)->data, nn_out(ex->g, n, 0)->data};
  /* Rows of a feature map are short (tens of elements): hand them out in
   * groups so that a task is worth its scheduling. */
  size_t grain = 4096 / (size_t)pl->out[pl->rank - 1] + 1;
  argus_threadpool_parallel_for(ex->pool, pl->rows, grain, rs_task, &c);
  return ARGUS_OK;
}

static void rs_free_plan(void *plan) {
  rs_plan *p = plan;
  if (!p)
    return;
  free(p->maps);
  free(p);
}

const nn_op nn_op_resize = {
    .type = "Resize",
    .infer = rs_infer,
    .run = rs_run,
    .free_plan = rs_free_plan,
};

/* ---- Resize (2x nearest) folded into the Add that reads it --------------- */

/* 1 when the planned Resize n doubles the last two axes of a 4-D float map
 * by repetition (y[.., i, j] = x[.., i / 2, j / 2]) and keeps the others. */
static int rs_is_up2(const nn_graph *g, const nn_node *n) {
  const rs_plan *p = n->plan;
  const nn_value *x = nn_in(g, n, 0);
  if (!p || !x || p->rank != 4 || x->rank != 4 || x->dtype != NN_FLOAT ||
      p->esize != 4)
    return 0;
  for (int k = 0; k < 4; k++) {
    int64_t f = k < 2 ? 1 : 2;
    if (p->out[k] != f * x->dims[k])
      return 0;
    for (int64_t i = 0; i < p->out[k]; i++)
      if (p->map[k][i] != i / f)
        return 0;
  }
  return 1;
}

int nn_fuse_upsample_add(nn_graph *g) {
  int fused = 0;
  for (int i = 0; i < g->nnodes; i++) {
    nn_node *z = &g->nodes[i];
    if (z->dead || strcmp(z->op_type, "Resize") != 0 || z->noutputs != 1 ||
        !rs_is_up2(g, z))
      continue;
    int r = z->out[0], j = -1;
    if (g->values[r].is_output || nn_graph_readers(g, r, &j) != 1)
      continue;
    nn_node *a = &g->nodes[j];
    if (strcmp(a->op_type, "Add") != 0 || a->ninputs != 2 ||
        a->noutputs != 1 || a->epi.up2 || a->in[0] == a->in[1])
      continue;
    int k = a->in[0] == r ? 0 : 1;
    const nn_value *o = nn_in(g, a, 1 - k), *y = nn_out(g, a, 0);
    const nn_value *rv = &g->values[r];
    if (!o || !y || o->dtype != NN_FLOAT || y->dtype != NN_FLOAT ||
        o->rank != 4 || y->rank != 4)
      continue;
    int same = 1;
    for (int d = 0; d < 4; d++)
      same &= o->dims[d] == rv->dims[d] && y->dims[d] == rv->dims[d];
    if (!same)
      continue;
    a->in[k] = z->in[0];
    a->epi.up2 = 1 + k;
    g->values[r].producer = -1;
    z->dead = 1;
    argus_log(ARGUS_LOG_DEBUG, "nn", "Add '%s': Resize '%s' (2x nearest) folded in",
              a->name ? a->name : "", z->name ? z->name : "");
    fused++;
  }
  return fused;
}

typedef struct up2_ctx {
  const float *a, *b; /* a: full size, b: half height and width */
  float *y;
  size_t h, w; /* the output's */
} up2_ctx;

static void up2_task(void *ctx, size_t begin, size_t end, int tid) {
  const up2_ctx *c = ctx;
  const size_t hw = c->w / 2;
  (void)tid;
  for (size_t row = begin; row < end; row++) { /* row: plane * h + y */
    size_t plane = row / c->h, yy = row % c->h;
    const float *a = c->a + row * c->w;
    const float *b = c->b + (plane * (c->h / 2) + yy / 2) * hw;
    float *y = c->y + row * c->w;
    size_t x = 0;
#if defined(__SSE2__)
    for (; x + 4 <= hw; x += 4) { /* b0 b0 b1 b1 | b2 b2 b3 b3 */
      __m128 v = _mm_loadu_ps(b + x);
      _mm_storeu_ps(y + 2 * x,
                    _mm_add_ps(_mm_loadu_ps(a + 2 * x), _mm_unpacklo_ps(v, v)));
      _mm_storeu_ps(y + 2 * x + 4, _mm_add_ps(_mm_loadu_ps(a + 2 * x + 4),
                                              _mm_unpackhi_ps(v, v)));
    }
#endif
    for (; x < hw; x++) {
      const float v = b[x];
      y[2 * x] = a[2 * x] + v;
      y[2 * x + 1] = a[2 * x + 1] + v;
    }
  }
}

argus_err nn_add_up2_run(const nn_exec *ex, const nn_node *n) {
  const nn_graph *g = ex->g;
  int k = n->epi.up2 - 1;
  const nn_value *b = nn_in(g, n, k), *a = nn_in(g, n, 1 - k);
  const nn_value *y = nn_out(g, n, 0);
  if (!a || !b || !y || !a->data || !b->data || !y->data || y->rank != 4 ||
      y->dims[2] != 2 * b->dims[2] || y->dims[3] != 2 * b->dims[3])
    return ARGUS_E_INTERNAL;
  up2_ctx c = {a->data, b->data, y->data, (size_t)y->dims[2],
               (size_t)y->dims[3]};
  size_t rows = (size_t)(y->dims[0] * y->dims[1] * y->dims[2]);
  argus_threadpool_parallel_for(ex->pool, rows, 4096 / c.w + 1, up2_task, &c);
  return ARGUS_OK;
}
