/* Clip: y = min(max(x, lo), hi). Opset < 11 takes lo/hi from the float
 * attributes `min`/`max`; opset >= 11 from the optional scalar inputs 1 and
 * 2, which may be computed at run time. An absent bound is the dtype's
 * lowest/highest value. When lo > hi every element becomes hi (the ONNX rule);
 * NaN stays NaN. float, double, int32, int64, int8, uint8. */
#include <float.h>
#include <math.h>
#include <string.h>

#include "elementwise.h"

/* Bounds in the element type: lo at index 0, hi at index 1. */
typedef union clip_bounds {
  float f32[2];
  double f64[2];
  int32_t i32[2];
  int64_t i64[2];
  int8_t i8[2];
  uint8_t u8[2];
} clip_bounds;

#define CLIP_LOOP(sfx, T)                                                      \
  static void clip_##sfx(size_t n, const void *px, void *py, const void *p) {  \
    const T *x = px;                                                           \
    T *y = py;                                                                 \
    const T lo = ((const clip_bounds *)p)->sfx[0];                             \
    const T hi = ((const clip_bounds *)p)->sfx[1];                             \
    for (size_t i = 0; i < n; i++) {                                           \
      T v = x[i];                                                              \
      v = lo > v ? lo : v;                                                     \
      y[i] = v > hi ? hi : v;                                                  \
    }                                                                          \
  }
CLIP_LOOP(f32, float)
CLIP_LOOP(f64, double)
CLIP_LOOP(i32, int32_t)
CLIP_LOOP(i64, int64_t)
CLIP_LOOP(i8, int8_t)
CLIP_LOOP(u8, uint8_t)

static nn_unary_fn clip_fn(int dtype) {
  switch (dtype) {
  case NN_FLOAT:
    return nn_f32_unary_get(NN_UNOP_CLIP, clip_f32);
  case NN_DOUBLE:
    return clip_f64;
  case NN_INT32:
    return clip_i32;
  case NN_INT64:
    return clip_i64;
  case NN_INT8:
    return clip_i8;
  case NN_UINT8:
    return clip_u8;
  default:
    return NULL;
  }
}

/* The dtype's full range. */
static void clip_default(int dtype, clip_bounds *b) {
  switch (dtype) {
  case NN_FLOAT:
    b->f32[0] = -INFINITY, b->f32[1] = INFINITY;
    break;
  case NN_DOUBLE:
    b->f64[0] = -INFINITY, b->f64[1] = INFINITY;
    break;
  case NN_INT32:
    b->i32[0] = INT32_MIN, b->i32[1] = INT32_MAX;
    break;
  case NN_INT64:
    b->i64[0] = INT64_MIN, b->i64[1] = INT64_MAX;
    break;
  case NN_INT8:
    b->i8[0] = INT8_MIN, b->i8[1] = INT8_MAX;
    break;
  case NN_UINT8:
    b->u8[0] = 0, b->u8[1] = UINT8_MAX;
    break;
  default:
    break;
  }
}

/* Bounds from the opset < 11 attributes (float types only there). */
static argus_err clip_attr_bounds(const nn_node *n, int dtype, clip_bounds *b,
                                  nn_err *err) {
  float lo, hi;
  argus_err e;
  if ((e = nn_attr_float(n, "min", -FLT_MAX, &lo, err)) ||
      (e = nn_attr_float(n, "max", FLT_MAX, &hi, err)))
    return e;
  if (dtype == NN_FLOAT) {
    b->f32[0] = lo, b->f32[1] = hi;
  } else if (dtype == NN_DOUBLE) {
    b->f64[0] = lo, b->f64[1] = hi;
  } else {
    return nn_fail(err, ARGUS_E_UNSUPPORTED,
                   "node '%s' (Clip): opset %d supports float and double "
                   "inputs, not %s",
                   nn_ew_name(n), n->opset, nn_dtype_name(dtype));
  }
  return ARGUS_OK;
}

static int legacy(const nn_node *n) { return n->opset > 0 && n->opset < 11; }

static argus_err clip_infer(nn_graph *g, nn_node *n, nn_err *err) {
  static const int dtypes[] = {NN_FLOAT, NN_DOUBLE, NN_INT32, NN_INT64,
                               NN_INT8,  NN_UINT8,  0};
  argus_err e = nn_unary_infer(g, n, "Clip", 1, legacy(n) ? 1 : 3, dtypes, err);
  if (e)
    return e;
  const nn_value *x = nn_in(g, n, 0);
  if (legacy(n)) {
    clip_bounds b;
    return clip_attr_bounds(n, x->dtype, &b, err);
  }
  static const char *const names[3] = {"input", "min", "max"};
  for (int i = 1; i < n->ninputs; i++) {
    const nn_value *v = nn_in(g, n, i);
    if (!v)
      continue; /* omitted optional input */
    if (v->dtype != x->dtype)
      return nn_fail(err, ARGUS_E_CORRUPT,
                     "node '%s' (Clip): input '%s' ('%s') has dtype %s but "
                     "input '%s' has %s",
                     nn_ew_name(n), names[i], v->name, nn_dtype_name(v->dtype),
                     x->name, nn_dtype_name(x->dtype));
    if (v->rank < 0 || v->nelem != 1) {
      char buf[128];
      return nn_fail(err, ARGUS_E_SHAPE,
                     "node '%s' (Clip): input '%s' ('%s') must be a scalar, "
                     "has shape %s",
                     nn_ew_name(n), names[i], v->name,
                     v->rank < 0
                         ? "unknown"
                         : nn_shape_str(v->rank, v->dims, buf, sizeof buf));
    }
  }
  return ARGUS_OK;
}

static argus_err clip_run(const nn_exec *x, const nn_node *n) {
  const nn_value *in = nn_in(x->g, n, 0);
  if (!in)
    return ARGUS_E_INTERNAL;
  clip_bounds b;
  memset(&b, 0, sizeof b);
  clip_default(in->dtype, &b);
  if (legacy(n)) {
    argus_err e = clip_attr_bounds(n, in->dtype, &b, NULL);
    if (e)
      return e;
  } else {
    size_t es = nn_dtype_size(in->dtype);
    for (int i = 1; i < n->ninputs && i < 3; i++) {
      const nn_value *v = nn_in(x->g, n, i);
      if (!v)
        continue;
      if (v->dtype != in->dtype || v->nelem != 1 || !v->data)
        return ARGUS_E_INTERNAL;
      memcpy((char *)&b + (size_t)(i - 1) * es, v->data, es);
    }
  }
  return nn_unary_op_run(x, n, clip_fn(in->dtype), &b, 1);
}

const nn_op nn_op_clip = {.type = "Clip", .infer = clip_infer, .run = clip_run};
