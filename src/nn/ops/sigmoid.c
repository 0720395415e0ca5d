/* Sigmoid: y = 1 / (1 + e^-x). float (AVX2/AVX-512 kernels where the CPU
 * has them, within 1e-6 relative), double. The reference loops compute
 * negative x as e^x / (1 + e^x), which stays accurate where e^-x would
 * overflow. */
#include <math.h>

#include "elementwise.h"

static void sigmoid_f32(size_t n, const void *px, void *py, const void *p) {
  (void)p;
  const float *x = px;
  float *y = py;
  for (size_t i = 0; i < n; i++) {
    float v = x[i];
    if (v >= 0) {
      y[i] = 1.0f / (1.0f + expf(-v));
    } else {
      float e = expf(v);
      y[i] = e / (1.0f + e);
    }
  }
}

static void sigmoid_f64(size_t n, const void *px, void *py, const void *p) {
  (void)p;
  const double *x = px;
  double *y = py;
  for (size_t i = 0; i < n; i++) {
    double v = x[i];
    if (v >= 0) {
      y[i] = 1.0 / (1.0 + exp(-v));
    } else {
      double e = exp(v);
      y[i] = e / (1.0 + e);
    }
  }
}

static argus_err sigmoid_infer(nn_graph *g, nn_node *n, nn_err *err) {
  static const int dtypes[] = {NN_FLOAT, NN_DOUBLE, 0};
  return nn_unary_infer(g, n, "Sigmoid", 1, 1, dtypes, err);
}

static argus_err sigmoid_run(const nn_exec *x, const nn_node *n) {
  const nn_value *in = nn_in(x->g, n, 0);
  nn_unary_fn fn = !in ? NULL
                   : in->dtype == NN_FLOAT
                       ? nn_f32_unary_get(NN_UNOP_SIGMOID, sigmoid_f32)
                   : in->dtype == NN_DOUBLE ? sigmoid_f64
                                            : NULL;
  return nn_unary_op_run(x, n, fn, NULL, 4);
}

const nn_op nn_op_sigmoid = {
    .type = "Sigmoid", .infer = sigmoid_infer, .run = sigmoid_run};
