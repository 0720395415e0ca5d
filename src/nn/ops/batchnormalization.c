/*
 * BatchNormalization, inference mode, float32:
 *   Y = (X - mean) / sqrt(var + epsilon) * scale + B
 * per channel (axis 1) for X [N, C, D...]; with the opset 7-8 `spatial = 0`
 * the parameters may instead hold one value per (channel, position).
 * Training mode (training_mode = 1, or the statistics outputs) is refused.
 * The optimizer folds a BatchNormalization that follows a Conv into the
 * Conv's weights; this op handles the rest (e.g. after a Gemm).
 */
#include <math.h>
#include <stdlib.h>

#include "../graph.h"

typedef struct bn_plan {
  size_t n, c, sp; /* batch, channels, spatial elements */
  int per_elem;    /* parameters per (channel, position) */
  float eps;
} bn_plan;

static const char *nm(const nn_node *n) { return n->name ? n->name : ""; }

static argus_err bn_infer(nn_graph *g, nn_node *n, nn_err *err) {
  static const char *const names[5] = {"X", "scale", "B", "mean", "var"};
  const nn_value *v[5];
  for (int i = 0; i < 5; i++) {
    v[i] = nn_in(g, n, i);
    if (!v[i])
      return nn_fail(err, ARGUS_E_CORRUPT,
                     "BatchNormalization '%s': input %s is missing", nm(n),
                     names[i]);
    if (v[i]->dtype != NN_FLOAT)
      return nn_fail(err, ARGUS_E_UNSUPPORTED,
                     "BatchNormalization '%s': input %s has element type %s; "
                     "only float is supported",
                     nm(n), names[i], nn_dtype_name(v[i]->dtype));
  }
  int64_t training;
  float eps;
  int64_t spatial;
  argus_err e;
  if ((e = nn_attr_int(n, "training_mode", 0, &training, err)) ||
      (e = nn_attr_float(n, "epsilon", 1e-5f, &eps, err)) ||
      (e = nn_attr_int(n, "spatial", 1, &spatial, err)))
    return e;
  if (training)
    return nn_fail(err, ARGUS_E_UNSUPPORTED,
                   "BatchNormalization '%s': training_mode=1 is not "
                   "supported (inference only)",
                   nm(n));
  for (int i = 1; i < n->noutputs; i++)
    if (n->out[i] >= 0)
      return nn_fail(err, ARGUS_E_UNSUPPORTED,
                     "BatchNormalization '%s': output %d (training "
                     "statistics) is not supported (inference only)",
                     nm(n), i);
  const nn_value *x = v[0];
  if (x->rank < 2)
    return nn_fail(err, ARGUS_E_SHAPE,
                   "BatchNormalization '%s': X must have rank >= 2, has %d",
                   nm(n), x->rank);
  bn_plan *pl = calloc(1, sizeof *pl);
  if (!pl)
    return nn_fail(err, ARGUS_E_NOMEM, "BatchNormalization '%s': out of memory",
                   nm(n));
  pl->n = (size_t)x->dims[0];
  pl->c = (size_t)x->dims[1];
  pl->sp = 1;
  for (int i = 2; i < x->rank; i++)
    pl->sp *= (size_t)x->dims[i];
  pl->eps = eps;
  size_t want = pl->c;
  if (spatial == 0 && v[1]->nelem == pl->c * pl->sp && pl->sp != 1) {
    pl->per_elem = 1;
    want = pl->c * pl->sp;
  }
  for (int i = 1; i < 5; i++)
    if (v[i]->nelem != want) {
      free(pl);
      return nn_fail(err, ARGUS_E_SHAPE,
                     "BatchNormalization '%s': %s has %zu values, expected "
                     "%zu",
                     nm(n), names[i], v[i]->nelem, want);
    }
  if ((e = nn_set_shape(nn_out(g, n, 0), NN_FLOAT, x->rank, x->dims, err))) {
    free(pl);
    return e;
  }
  n->plan = pl;
  return ARGUS_OK;
}

typedef struct bn_ctx {
  const bn_plan *pl;
  const float *x, *scale, *bias, *mean, *var;
  float *y;
} bn_ctx;

/* Task = one (image, channel) plane. */
static void bn_task(void *ctx, size_t begin, size_t end, int tid) {
  const bn_ctx *c = ctx;
  const bn_plan *pl = c->pl;
  (void)tid;
  for (size_t t = begin; t < end; t++) {
    size_t ch = t % pl->c;
    const float *x = c->x + t * pl->sp;
    float *y = c->y + t * pl->sp;
    if (pl->per_elem) {
      size_t o = ch * pl->sp;
      for (size_t i = 0; i < pl->sp; i++)
        y[i] = (x[i] - c->mean[o + i]) / sqrtf(c->var[o + i] + pl->eps) *
                   c->scale[o + i] +
               c->bias[o + i];
    } else {
      float a = c->scale[ch] / sqrtf(c->var[ch] + pl->eps);
      float b = c->bias[ch] - c->mean[ch] * a;
      for (size_t i = 0; i < pl->sp; i++)
        y[i] = x[i] * a + b;
    }
  }
}

static argus_err bn_run(const nn_exec *ex, const nn_node *n) {
  const nn_graph *g = ex->g;
  const bn_plan *pl = n->plan;
  if (!pl)
    return ARGUS_E_INTERNAL;
  bn_ctx c = {pl,
              nn_in(g, n, 0)->data,
              nn_in(g, n, 1)->data,
              nn_in(g, n, 2)->data,
              nn_in(g, n, 3)->data,
              nn_in(g, n, 4)->data,
              nn_out(g, n, 0)->data};
  argus_threadpool_parallel_for(ex->pool, pl->n * pl->c, 1, bn_task, &c);
  return ARGUS_OK;
}

static void bn_free_plan(void *p) { free(p); }

const nn_op nn_op_batchnormalization = {
    .type = "BatchNormalization",
    .infer = bn_infer,
    .run = bn_run,
    .free_plan = bn_free_plan,
};
