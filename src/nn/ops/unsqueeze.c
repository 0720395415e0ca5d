/*
 * Unsqueeze: inserts size-1 dims. Axes come from the `axes` attribute
 * (opset < 13) or input (opset >= 13, constant at plan time), refer to the
 * output rank, may be negative and in any order.
 */
#include "movement.h"

argus_err nn_unsqueeze_dims(const char *node, int in_rank,
                            const int64_t *in_dims, int naxes,
                            const int64_t *axes, int *out_rank,
                            int64_t *out_dims, nn_err *err) {
  if (naxes < 0 || in_rank + naxes > NN_MAX_RANK)
    return nn_fail(err, ARGUS_E_LIMIT,
                   "node '%s' (Unsqueeze): output rank %d exceeds %d", node,
                   in_rank + naxes, NN_MAX_RANK);
  int r = in_rank + naxes;
  int mark[NN_MAX_RANK] = {0};
  for (int i = 0; i < naxes; i++) {
    int a;
    if (!nn_mv_axis(axes[i], r, 0, &a))
      return nn_fail(err, ARGUS_E_CORRUPT,
                     "node '%s' (Unsqueeze): axis %lld out of range for "
                     "output rank %d",
                     node, (long long)axes[i], r);
    if (mark[a])
      return nn_fail(err, ARGUS_E_CORRUPT,
                     "node '%s' (Unsqueeze): axis %lld repeats", node,
                     (long long)axes[i]);
    mark[a] = 1;
  }
  for (int k = 0, j = 0; k < r; k++)
    out_dims[k] = mark[k] ? 1 : in_dims[j++];
  *out_rank = r;
  return ARGUS_OK;
}

static argus_err unsqueeze_infer(nn_graph *g, nn_node *n, nn_err *err) {
  int legacy = n->opset > 0 && n->opset < 13;
  argus_err e = nn_mv_check_io(g, n, legacy ? 1 : 2, legacy ? 1 : 2, err);
  if (e)
    return e;
  const nn_value *x = nn_in(g, n, 0);
  int64_t axes[NN_MAX_RANK];
  int na = 0;
  if (legacy) {
    const int64_t *a;
    size_t cnt;
    if ((e = nn_attr_ints(n, "axes", &a, &cnt, err)))
      return e;
    if (!a)
      return nn_fail(err, ARGUS_E_CORRUPT,
                     "node '%s' (Unsqueeze): attribute 'axes' is required",
                     NN_MV_NAME(n));
    if (cnt > NN_MAX_RANK)
      return nn_fail(err, ARGUS_E_LIMIT,
                     "node '%s' (Unsqueeze): %zu axes, at most %d supported",
                     NN_MV_NAME(n), cnt, NN_MAX_RANK);
    for (size_t i = 0; i < cnt; i++)
      axes[i] = a[i];
    na = (int)cnt;
  } else if ((e = nn_mv_const_ints(g, n, 1, "axes", axes, NN_MAX_RANK, &na,
                                   err))) {
    return e;
  }
  int rank;
  int64_t dims[NN_MAX_RANK];
  if ((e = nn_unsqueeze_dims(NN_MV_NAME(n), x->rank, x->dims, na, axes, &rank,
                             dims, err)))
    return e;
  return nn_set_shape(nn_out(g, n, 0), x->dtype, rank, dims, err);
}

static argus_err unsqueeze_run(const nn_exec *x, const nn_node *n) {
  const nn_value *in = nn_in(x->g, n, 0);
  const nn_value *y = nn_out(x->g, n, 0);
  nn_mv_copy(x, y->data, in->data, y->nelem * nn_dtype_size(y->dtype));
  return ARGUS_OK;
}

const nn_op nn_op_unsqueeze = {
    .type = "Unsqueeze",
    .infer = unsqueeze_infer,
    .run = unsqueeze_run,
    .flags = NN_OP_ALIAS,
};
