/* GlobalAveragePool, float32: Y[n, c, 1, ...] = mean of X[n, c, ...] over
 * every spatial axis (any number of them). */
#include <stdlib.h>

#include "../graph.h"

static const char *nm(const nn_node *n) { return n->name ? n->name : ""; }

static argus_err gap_infer(nn_graph *g, nn_node *n, nn_err *err) {
  const nn_value *x = nn_in(g, n, 0);
  nn_value *y = nn_out(g, n, 0);
  if (!x || !y)
    return nn_fail(err, ARGUS_E_CORRUPT,
                   "GlobalAveragePool '%s': needs input X and output Y",
                   nm(n));
  if (x->dtype != NN_FLOAT)
    return nn_fail(err, ARGUS_E_UNSUPPORTED,
                   "GlobalAveragePool '%s': element type %s; only float is "
                   "supported",
                   nm(n), nn_dtype_name(x->dtype));
  if (x->rank < 2)
    return nn_fail(err, ARGUS_E_SHAPE,
                   "GlobalAveragePool '%s': X must have rank >= 2, has %d",
                   nm(n), x->rank);
  int64_t d[NN_MAX_RANK];
  for (int i = 0; i < x->rank; i++)
    d[i] = i < 2 ? x->dims[i] : 1;
  return nn_set_shape(y, NN_FLOAT, x->rank, d, err);
}

typedef struct gap_ctx {
  const float *x;
  float *y;
  size_t sp;
} gap_ctx;

static void gap_task(void *ctx, size_t begin, size_t end, int tid) {
  const gap_ctx *c = ctx;
  (void)tid;
  for (size_t t = begin; t < end; t++) {
    const float *x = c->x + t * c->sp;
    /* eight partial sums: vectorisable and more accurate than one */
    float s[8] = {0};
    size_t i = 0;
    for (; i + 8 <= c->sp; i += 8)
      for (int j = 0; j < 8; j++)
        s[j] += x[i + j];
    for (; i < c->sp; i++)
      s[0] += x[i];
    float sum = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
    c->y[t] = c->sp ? sum / (float)c->sp : 0.0f;
  }
}

static argus_err gap_run(const nn_exec *ex, const nn_node *n) {
  const nn_value *x = nn_in(ex->g, n, 0);
  size_t planes = (size_t)x->dims[0] * (size_t)x->dims[1];
  gap_ctx c = {x->data, nn_out(ex->g, n, 0)->data,
               planes ? x->nelem / planes : 0};
  argus_threadpool_parallel_for(ex->pool, planes, 16, gap_task, &c);
  return ARGUS_OK;
}

const nn_op nn_op_globalaveragepool = {
    .type = "GlobalAveragePool",
    .infer = gap_infer,
    .run = gap_run,
};
