/* Add: element-wise sum with numpy broadcasting (opset < 7: the legacy
 * broadcast/axis attributes). float, double, int32, int64, int8, uint8.
 * The broadcasting and the loops are shared: see elementwise.h. An Add
 * with a 2x nearest Resize folded in runs nn_add_up2_run (ops/resize.c). */
#include "elementwise.h"

static argus_err add_infer(nn_graph *g, nn_node *n, nn_err *err) {
  return nn_binary_infer(g, n, NN_BINOP_ADD, err);
}

static argus_err add_run(const nn_exec *x, const nn_node *n) {
  if (n->epi.up2)
    return nn_add_up2_run(x, n);
  return nn_binary_run(x, n, NN_BINOP_ADD);
}

const nn_op nn_op_add = {.type = "Add", .infer = add_infer, .run = add_run};
