/* Exp: y = e^x. float (vectorised, within 1e-6 of expf), double (exp). */
#include <math.h>

#include "elementwise.h"

static void exp_f64(size_t n, const void *px, void *py, const void *p) {
  (void)p;
  const double *x = px;
  double *y = py;
  for (size_t i = 0; i < n; i++)
    y[i] = exp(x[i]);
}

static argus_err exp_infer(nn_graph *g, nn_node *n, nn_err *err) {
  static const int dtypes[] = {NN_FLOAT, NN_DOUBLE, 0};
  return nn_unary_infer(g, n, "Exp", 1, 1, dtypes, err);
}

static argus_err exp_run(const nn_exec *x, const nn_node *n) {
  const nn_value *in = nn_in(x->g, n, 0);
  nn_unary_fn fn = !in ? NULL
                   : in->dtype == NN_FLOAT
                       ? nn_f32_unary_get(NN_UNOP_EXP, nn_f32_exp_ref)
                   : in->dtype == NN_DOUBLE ? exp_f64
                                            : NULL;
  return nn_unary_op_run(x, n, fn, NULL, 4);
}

const nn_op nn_op_exp = {.type = "Exp", .infer = exp_infer, .run = exp_run};
