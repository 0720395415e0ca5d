/* Internal definition of a loaded model. */
#ifndef ARGUS_NN_MODEL_H
#define ARGUS_NN_MODEL_H

#include "graph.h"

typedef struct nn_op_count {
  const char *type; /* borrowed from the op table */
  int count;
} nn_op_count;

struct argus_nn_model {
  nn_graph g;
  int nnodes_file;
  nn_op_count ops[64];
  int nops;
  size_t nparams;
  int precision; /* argus_nn_precision for sessions that leave it at 0 */
};

/* Model-level rewrites, in place: Constant nodes to values, BatchNorm folded
 * into Conv, activations fused into the Conv epilogue, denormal weights
 * flushed, ops' prepare hooks. */
argus_err nn_optimize_model(nn_graph *g, nn_err *err);

#endif
