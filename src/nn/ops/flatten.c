/* Flatten: [d0 .. d(axis-1)] and [d(axis) ..] each collapse into one dim. */
#include "movement.h"

static argus_err flatten_infer(nn_graph *g, nn_node *n, nn_err *err) {
  argus_err e = nn_mv_check_io(g, n, 1, 1, err);
  if (e)
    return e;
  const nn_value *x = nn_in(g, n, 0);
  int64_t a;
  int axis;
  if ((e = nn_attr_int(n, "axis", 1, &a, err)))
    return e;
  if (!nn_mv_axis(a, x->rank, 1, &axis))
    return nn_fail(err, ARGUS_E_CORRUPT,
                   "node '%s' (Flatten): axis %lld out of range for rank %d",
                   NN_MV_NAME(n), (long long)a, x->rank);
  int64_t dims[2];
  if (nn_mv_prod(axis, x->dims, &dims[0]) ||
      nn_mv_prod(x->rank - axis, x->dims + axis, &dims[1]))
    return nn_fail(err, ARGUS_E_LIMIT,
                   "node '%s' (Flatten): output dims overflow", NN_MV_NAME(n));
  return nn_set_shape(nn_out(g, n, 0), x->dtype, 2, dims, err);
}

static argus_err flatten_run(const nn_exec *x, const nn_node *n) {
  const nn_value *in = nn_in(x->g, n, 0);
  const nn_value *y = nn_out(x->g, n, 0);
  nn_mv_copy(x, y->data, in->data, y->nelem * nn_dtype_size(y->dtype));
  return ARGUS_OK;
}

const nn_op nn_op_flatten = {
    .type = "Flatten",
    .infer = flatten_infer,
    .run = flatten_run,
    .flags = NN_OP_ALIAS,
};
