/* Identity: the output is the input. The planner may make them share one
 * buffer (NN_OP_ALIAS); otherwise run copies. */
#include <string.h>

#include "elementwise.h"

static argus_err identity_infer(nn_graph *g, nn_node *n, nn_err *err) {
  return nn_unary_infer(g, n, "Identity", 1, 1, NULL, err);
}

static argus_err identity_run(const nn_exec *x, const nn_node *n) {
  const nn_value *in = nn_in(x->g, n, 0), *out = nn_out(x->g, n, 0);
  if (!in || !out || in->nelem != out->nelem || in->dtype != out->dtype)
    return ARGUS_E_INTERNAL;
  size_t bytes = in->nelem * nn_dtype_size(in->dtype);
  if (bytes && in->data != out->data) {
    if (!in->data || !out->data)
      return ARGUS_E_INTERNAL;
    memmove(out->data, in->data, bytes);
  }
  return ARGUS_OK;
}

const nn_op nn_op_identity = {.type = "Identity",
                              .infer = identity_infer,
                              .run = identity_run,
                              .flags = NN_OP_ALIAS};
