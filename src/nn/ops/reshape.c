/*
 * Reshape: the same data under a new shape. The target shape is the `shape`
 * input (opset >= 5, constant at plan time) or attribute (opset 1-4); a 0
 * copies the input dim at that index (unless allowzero, opset 14), one -1 is
 * inferred from the element count.
 */
#include "movement.h"

argus_err nn_reshape_dims(const char *node, int in_rank, const int64_t *in_dims,
                          int n, const int64_t *shape, int allowzero,
                          int *out_rank, int64_t *out_dims, nn_err *err) {
  if (n < 0 || n > NN_MAX_RANK)
    return nn_fail(err, ARGUS_E_LIMIT,
                   "node '%s' (Reshape): target rank %d exceeds %d", node, n,
                   NN_MAX_RANK);
  int infer_at = -1, has_zero = 0;
  for (int i = 0; i < n; i++) {
    int64_t s = shape[i];
    if (s == -1) {
      if (infer_at >= 0)
        return nn_fail(err, ARGUS_E_CORRUPT,
                       "node '%s' (Reshape): shape has more than one -1 "
                       "(entries %d and %d)",
                       node, infer_at, i);
      infer_at = i;
      out_dims[i] = 1;
    } else if (s < -1) {
      return nn_fail(err, ARGUS_E_CORRUPT,
                     "node '%s' (Reshape): shape entry %d is %lld", node, i,
                     (long long)s);
    } else if (s == 0 && !allowzero) {
      if (i >= in_rank)
        return nn_fail(err, ARGUS_E_SHAPE,
                       "node '%s' (Reshape): shape entry %d is 0 (copy the "
                       "input dim) but the input has rank %d",
                       node, i, in_rank);
      out_dims[i] = in_dims[i];
    } else {
      has_zero |= s == 0;
      out_dims[i] = s;
    }
  }
  if (allowzero && has_zero && infer_at >= 0)
    return nn_fail(err, ARGUS_E_CORRUPT,
                   "node '%s' (Reshape): with allowzero, the shape may not "
                   "hold both 0 and -1",
                   node);
  int64_t in_count, known;
  char a[128], b[128];
  if (nn_mv_prod(in_rank, in_dims, &in_count) ||
      nn_mv_prod(n, out_dims, &known))
    return nn_fail(err, ARGUS_E_LIMIT,
                   "node '%s' (Reshape): element count of %s or %s overflows",
                   node, nn_shape_str(in_rank, in_dims, a, sizeof a),
                   nn_shape_str(n, shape, b, sizeof b));
  if (infer_at >= 0) {
    if (known == 0 || in_count % known != 0)
      return nn_fail(err, ARGUS_E_SHAPE,
                     "node '%s' (Reshape): cannot reshape %s into %s (no "
                     "whole value for the -1)",
                     node, nn_shape_str(in_rank, in_dims, a, sizeof a),
                     nn_shape_str(n, shape, b, sizeof b));
    out_dims[infer_at] = in_count / known;
  } else if (known != in_count) {
    return nn_fail(err, ARGUS_E_SHAPE,
                   "node '%s' (Reshape): cannot reshape %s (%lld elements) "
                   "into %s (%lld elements)",
                   node, nn_shape_str(in_rank, in_dims, a, sizeof a),
                   (long long)in_count, nn_shape_str(n, shape, b, sizeof b),
                   (long long)known);
  }
  *out_rank = n;
  return ARGUS_OK;
}

static argus_err reshape_infer(nn_graph *g, nn_node *n, nn_err *err) {
  int legacy = n->opset > 0 && n->opset < 5;
  argus_err e = nn_mv_check_io(g, n, legacy ? 1 : 2, legacy ? 1 : 2, err);
  if (e)
    return e;
  const nn_value *x = nn_in(g, n, 0);
  int64_t shape[NN_MAX_RANK];
  int ns = 0;
  if (legacy) {
    const int64_t *s;
    size_t cnt;
    if ((e = nn_attr_ints(n, "shape", &s, &cnt, err)))
      return e;
    if (!s)
      return nn_fail(err, ARGUS_E_CORRUPT,
                     "node '%s' (Reshape): attribute 'shape' is required",
                     NN_MV_NAME(n));
    if (cnt > NN_MAX_RANK)
      return nn_fail(err, ARGUS_E_LIMIT,
                     "node '%s' (Reshape): target rank %zu exceeds %d",
                     NN_MV_NAME(n), cnt, NN_MAX_RANK);
    for (size_t i = 0; i < cnt; i++)
      shape[i] = s[i];
    ns = (int)cnt;
  } else if ((e = nn_mv_const_ints(g, n, 1, "shape", shape, NN_MAX_RANK, &ns,
                                   err))) {
    return e;
  }
  int64_t allowzero;
  if ((e = nn_attr_int(n, "allowzero", 0, &allowzero, err)))
    return e;
  int rank;
  int64_t dims[NN_MAX_RANK];
  if ((e = nn_reshape_dims(NN_MV_NAME(n), x->rank, x->dims, ns, shape,
                           allowzero != 0, &rank, dims, err)))
    return e;
  return nn_set_shape(nn_out(g, n, 0), x->dtype, rank, dims, err);
}

static argus_err reshape_run(const nn_exec *x, const nn_node *n) {
  const nn_value *in = nn_in(x->g, n, 0);
  const nn_value *y = nn_out(x->g, n, 0);
  nn_mv_copy(x, y->data, in->data, y->nelem * nn_dtype_size(y->dtype));
  return ARGUS_OK;
}

const nn_op nn_op_reshape = {
    .type = "Reshape",
    .infer = reshape_infer,
    .run = reshape_run,
    .flags = NN_OP_ALIAS,
};
