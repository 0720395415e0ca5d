/* Mul: element-wise product with numpy broadcasting (opset < 7: the legacy
 * broadcast/axis attributes). float, double, int32, int64, int8, uint8.
 * The broadcasting and the loops are shared: see elementwise.h. */
#include "elementwise.h"

static argus_err mul_infer(nn_graph *g, nn_node *n, nn_err *err) {
  return nn_binary_infer(g, n, NN_BINOP_MUL, err);
}

static argus_err mul_run(const nn_exec *x, const nn_node *n) {
  return nn_binary_run(x, n, NN_BINOP_MUL);
}

const nn_op nn_op_mul = {.type = "Mul", .infer = mul_infer, .run = mul_run};
