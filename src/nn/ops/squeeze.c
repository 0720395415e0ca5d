/*
 * Squeeze: removes size-1 dims; the listed `axes` (attribute before opset
 * 13, optional constant input from 13) or, without axes, all of them.
 */
#include "movement.h"

argus_err nn_squeeze_dims(const char *node, int in_rank, const int64_t *in_dims,
                          int naxes, const int64_t *axes, int *out_rank,
                          int64_t *out_dims, nn_err *err) {
  int drop[NN_MAX_RANK] = {0};
  if (in_rank < 0 || in_rank > NN_MAX_RANK || naxes > in_rank)
    return nn_fail(err, ARGUS_E_CORRUPT,
                   "node '%s' (Squeeze): %d axes for rank %d", node, naxes,
                   in_rank);
  if (naxes < 0) {
    for (int k = 0; k < in_rank; k++)
      drop[k] = in_dims[k] == 1;
  }
  for (int i = 0; i < naxes; i++) {
    int a;
    if (!nn_mv_axis(axes[i], in_rank, 0, &a))
      return nn_fail(err, ARGUS_E_CORRUPT,
                     "node '%s' (Squeeze): axis %lld out of range for rank %d",
                     node, (long long)axes[i], in_rank);
    if (drop[a])
      return nn_fail(err, ARGUS_E_CORRUPT,
                     "node '%s' (Squeeze): axis %lld repeats", node,
                     (long long)axes[i]);
    if (in_dims[a] != 1)
      return nn_fail(err, ARGUS_E_SHAPE,
                     "node '%s' (Squeeze): axis %lld has size %lld, not 1",
                     node, (long long)axes[i], (long long)in_dims[a]);
    drop[a] = 1;
  }
  int r = 0;
  for (int k = 0; k < in_rank; k++)
    if (!drop[k])
      out_dims[r++] = in_dims[k];
  *out_rank = r;
  return ARGUS_OK;
}

static argus_err squeeze_infer(nn_graph *g, nn_node *n, nn_err *err) {
  int legacy = n->opset > 0 && n->opset < 13;
  argus_err e = nn_mv_check_io(g, n, 1, legacy ? 1 : 2, err);
  if (e)
    return e;
  const nn_value *x = nn_in(g, n, 0);
  int64_t axes[NN_MAX_RANK];
  int na = -1; /* no axes: squeeze every size-1 dim */
  if (legacy) {
    const int64_t *a;
    size_t cnt;
    if ((e = nn_attr_ints(n, "axes", &a, &cnt, err)))
      return e;
    if (a) {
      if (cnt > (size_t)x->rank)
        return nn_fail(err, ARGUS_E_CORRUPT,
                       "node '%s' (Squeeze): %zu axes for rank %d",
                       NN_MV_NAME(n), cnt, x->rank);
      for (size_t i = 0; i < cnt; i++)
        axes[i] = a[i];
      na = (int)cnt;
    }
  } else if (nn_in(g, n, 1) && (e = nn_mv_const_ints(g, n, 1, "axes", axes,
                                                     NN_MAX_RANK, &na, err))) {
    return e;
  }
  int rank;
  int64_t dims[NN_MAX_RANK];
  if ((e = nn_squeeze_dims(NN_MV_NAME(n), x->rank, x->dims, na, axes, &rank,
                           dims, err)))
    return e;
  return nn_set_shape(nn_out(g, n, 0), x->dtype, rank, dims, err);
}

static argus_err squeeze_run(const nn_exec *x, const nn_node *n) {
  const nn_value *in = nn_in(x->g, n, 0);
  const nn_value *y = nn_out(x->g, n, 0);
  nn_mv_copy(x, y->data, in->data, y->nelem * nn_dtype_size(y->dtype));
  return ARGUS_OK;
}

const nn_op nn_op_squeeze = {
    .type = "Squeeze",
    .infer = squeeze_infer,
    .run = squeeze_run,
    .flags = NN_OP_ALIAS,
};
