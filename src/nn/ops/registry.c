/* The table of operators the engine implements (default ONNX domain). */
#include <string.h>

#include "../graph.h"

#define NN_OPS(X)                                                              \
  X(add) X(batchnormalization) X(clip) X(concat) X(constant) X(conv) X(div)   \
  X(dequantizelinear) X(exp) X(flatten) X(gather) X(gemm)                      \
  X(globalaveragepool) X(identity) X(matmul) X(maxpool) X(mul) X(prelu)        \
  X(qlinearconv) X(qlinearmatmul) X(quantizelinear) X(relu) X(reshape)         \
  X(resize) X(shape) X(sigmoid) X(slice) X(softmax) X(squeeze) X(sub)          \
  X(transpose) X(unsqueeze)

#define NN_DECLARE_OP_(name) extern const nn_op nn_op_##name;
NN_OPS(NN_DECLARE_OP_)
#undef NN_DECLARE_OP_

static const nn_op *const all_ops[] = {
#define NN_LIST_OP_(name) &nn_op_##name,
    NN_OPS(NN_LIST_OP_)
#undef NN_LIST_OP_
    NULL};

const nn_op *const *nn_op_all(void) { return all_ops; }

const nn_op *nn_op_find(const char *domain, const char *type) {
  if (domain && *domain && strcmp(domain, "ai.onnx") != 0)
    return NULL;
  for (int i = 0; all_ops[i]; i++)
    if (strcmp(all_ops[i]->type, type) == 0)
      return all_ops[i];
  return NULL;
}
