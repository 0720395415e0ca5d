/*
 * Shape: the dims of its input as an int64 vector; opset 15 takes the
 * [start, end) part of it (negative from the back, clamped to the rank).
 * Depends only on the input's shape, so the planner folds it.
 */
#include <string.h>

#include "movement.h"

/* The [start, end) range of dims the node reports for an input of rank r. */
static argus_err shape_range(const nn_node *n, int r, int *start, int *end,
                             nn_err *err) {
  int64_t s, e;
  argus_err rc;
  if ((rc = nn_attr_int(n, "start", 0, &s, err)) ||
      (rc = nn_attr_int(n, "end", r, &e, err)))
    return rc;
  if (s < 0)
    s += r;
  if (e < 0)
    e += r;
  s = s < 0 ? 0 : s > r ? r : s;
  e = e < 0 ? 0 : e > r ? r : e;
  *start = (int)s;
  *end = e < s ? (int)s : (int)e;
  return ARGUS_OK;
}

static argus_err shape_infer(nn_graph *g, nn_node *n, nn_err *err) {
  argus_err e = nn_mv_check_io(g, n, 1, 1, err);
  if (e)
    return e;
  int start, end;
  if ((e = shape_range(n, nn_in(g, n, 0)->rank, &start, &end, err)))
    return e;
  int64_t len = end - start;
  return nn_set_shape(nn_out(g, n, 0), NN_INT64, 1, &len, err);
}

static argus_err shape_run(const nn_exec *x, const nn_node *n) {
  const nn_value *in = nn_in(x->g, n, 0);
  const nn_value *y = nn_out(x->g, n, 0);
  int start, end;
  if (shape_range(n, in->rank, &start, &end, NULL) ||
      y->nelem != (size_t)(end - start))
    return ARGUS_E_INTERNAL;
  if (end > start)
    memcpy(y->data, in->dims + start, (size_t)(end - start) * sizeof(int64_t));
  return ARGUS_OK;
}

const nn_op nn_op_shape = {
    .type = "Shape",
    .infer = shape_infer,
    .run = shape_run,
    .flags = NN_OP_SHAPE_ONLY,
};
