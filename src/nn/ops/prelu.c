/* PRelu: y = x < 0 ? slope * x : x, with slope broadcast unidirectionally to
 * X (numpy rules), or one slope per channel (axis 1) as in opset < 7 and in
 * models converted from Caffe/MXNet. float, double, int32, int64. Shares the
 * broadcast machinery of the binary ops: see elementwise.h. */
#include "elementwise.h"

static argus_err prelu_infer(nn_graph *g, nn_node *n, nn_err *err) {
  return nn_binary_infer(g, n, NN_BINOP_PRELU, err);
}

static argus_err prelu_run(const nn_exec *x, const nn_node *n) {
  return nn_binary_run(x, n, NN_BINOP_PRELU);
}

const nn_op nn_op_prelu = {
    .type = "PRelu", .infer = prelu_infer, .run = prelu_run};
