/* Div: element-wise quotient with numpy broadcasting (opset < 7: the legacy
 * broadcast/axis attributes). float, double, int32, int64, int8, uint8.
 * Integer division truncates toward zero like C; x / 0 is defined as 0 and
 * INT_MIN / -1 wraps, so bad data never traps. The broadcasting and the
 * loops are shared: see elementwise.h. */
#include "elementwise.h"

static argus_err div_infer(nn_graph *g, nn_node *n, nn_err *err) {
  return nn_binary_infer(g, n, NN_BINOP_DIV, err);
}

static argus_err div_run(const nn_exec *x, const nn_node *n) {
  return nn_binary_run(x, n, NN_BINOP_DIV);
}

const nn_op nn_op_div = {.type = "Div", .infer = div_infer, .run = div_run};
