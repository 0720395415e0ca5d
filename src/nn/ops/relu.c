/* Relu: y = max(x, 0); NaN stays NaN (as numpy.maximum). float, double,
 * int32, int64, int8. */
#include "elementwise.h"

#define RELU_LOOP(sfx, T)                                                      \
  static void relu_##sfx(size_t n, const void *px, void *py, const void *p) {  \
    (void)p;                                                                   \
    const T *x = px;                                                           \
    T *y = py;                                                                 \
    for (size_t i = 0; i < n; i++)                                             \
      y[i] = (T)0 > x[i] ? (T)0 : x[i];                                        \
  }
RELU_LOOP(f32, float)
RELU_LOOP(f64, double)
RELU_LOOP(i32, int32_t)
RELU_LOOP(i64, int64_t)
RELU_LOOP(i8, int8_t)

static nn_unary_fn relu_fn(int dtype) {
  switch (dtype) {
  case NN_FLOAT:
    return nn_f32_unary_get(NN_UNOP_RELU, relu_f32);
  case NN_DOUBLE:
    return relu_f64;
  case NN_INT32:
    return relu_i32;
  case NN_INT64:
    return relu_i64;
  case NN_INT8:
    return relu_i8;
  default:
    return NULL;
  }
}

static argus_err relu_infer(nn_graph *g, nn_node *n, nn_err *err) {
  static const int dtypes[] = {NN_FLOAT, NN_DOUBLE, NN_INT32,
                               NN_INT64, NN_INT8,   0};
  return nn_unary_infer(g, n, "Relu", 1, 1, dtypes, err);
}

static argus_err relu_run(const nn_exec *x, const nn_node *n) {
  const nn_value *in = nn_in(x->g, n, 0);
  return nn_unary_op_run(x, n, in ? relu_fn(in->dtype) : NULL, NULL, 1);
}

const nn_op nn_op_relu = {.type = "Relu", .infer = relu_infer, .run = relu_run};
