/* Concat: joins tensors of the same rank and dtype along one axis. */
#include <string.h>

#include "movement.h"

/* The axis attribute, normalised against rank. Opset 1-3 default it to 1. */
static argus_err concat_axis(const nn_node *n, int rank, int *axis,
                             nn_err *err) {
  if (!nn_attr_find(n, "axis") && n->opset >= 4)
    return nn_fail(err, ARGUS_E_CORRUPT,
                   "node '%s' (Concat): attribute 'axis' is required",
                   NN_MV_NAME(n));
  int64_t a;
  argus_err e = nn_attr_int(n, "axis", 1, &a, err);
  if (e)
    return e;
  if (!nn_mv_axis(a, rank, 0, axis))
    return nn_fail(err, ARGUS_E_CORRUPT,
                   "node '%s' (Concat): axis %lld out of range for rank %d",
                   NN_MV_NAME(n), (long long)a, rank);
  return ARGUS_OK;
}

static argus_err concat_infer(nn_graph *g, nn_node *n, nn_err *err) {
  argus_err e = nn_mv_check_io(g, n, 1, NN_MAX_IO, err);
  if (e)
    return e;
  const nn_value *x0 = nn_in(g, n, 0);
  int axis;
  if ((e = concat_axis(n, x0->rank, &axis, err)))
    return e;
  int64_t dims[NN_MAX_RANK];
  memcpy(dims, x0->dims, sizeof dims);
  for (int i = 1; i < n->ninputs; i++) {
    const nn_value *x = nn_in(g, n, i);
    if (!x)
      return nn_fail(err, ARGUS_E_CORRUPT,
                     "node '%s' (Concat): input %d is missing", NN_MV_NAME(n),
                     i);
    if (x->dtype != x0->dtype)
      return nn_fail(err, ARGUS_E_CORRUPT,
                     "node '%s' (Concat): input %d has dtype %s, input 0 has "
                     "%s",
                     NN_MV_NAME(n), i, nn_dtype_name(x->dtype),
                     nn_dtype_name(x0->dtype));
    if (x->rank != x0->rank)
      return nn_fail(err, ARGUS_E_SHAPE,
                     "node '%s' (Concat): input %d has rank %d, input 0 has %d",
                     NN_MV_NAME(n), i, x->rank, x0->rank);
    for (int k = 0; k < x0->rank; k++) {
      if (k == axis) {
        if (__builtin_add_overflow(dims[k], x->dims[k], &dims[k]))
          return nn_fail(err, ARGUS_E_LIMIT,
                         "node '%s' (Concat): output dim %d overflows",
                         NN_MV_NAME(n), k);
      } else if (x->dims[k] != x0->dims[k]) {
        char a[128], b[128];
        return nn_fail(err, ARGUS_E_SHAPE,
                       "node '%s' (Concat): input %d shape %s does not match "
                       "input 0 shape %s outside axis %d",
                       NN_MV_NAME(n), i, nn_shape_str(x->rank, x->dims, a, 128),
                       nn_shape_str(x0->rank, x0->dims, b, 128), axis);
      }
    }
  }
  return nn_set_shape(nn_out(g, n, 0), x0->dtype, x0->rank, dims, err);
}

typedef struct concat_ctx {
  const nn_graph *g;
  const nn_node *n;
  uint8_t *dst;
  size_t out_row;  /* output bytes per outer index */
  size_t inner_es; /* bytes per unit of the concat axis */
  int axis;
} concat_ctx;

/* Unit u = (outer index, input): copies one input's block of one row. */
static void concat_task(void *ctx, size_t begin, size_t end, int tid) {
  const concat_ctx *c = ctx;
  const size_t nin = (size_t)c->n->ninputs;
  size_t o = begin / nin, i = begin % nin;
  size_t pos = 0; /* byte offset of input i in an output row */
  for (size_t k = 0; k < i; k++)
    pos += (size_t)nn_in(c->g, c->n, (int)k)->dims[c->axis] * c->inner_es;
  for (size_t u = begin; u < end; u++) {
    const nn_value *x = nn_in(c->g, c->n, (int)i);
    size_t blk = (size_t)x->dims[c->axis] * c->inner_es;
    if (blk)
      memcpy(c->dst + o * c->out_row + pos, (const uint8_t *)x->data + o * blk,
             blk);
    pos += blk;
    if (++i == nin) {
      i = 0;
      pos = 0;
      o++;
    }
  }
}

static argus_err concat_run(const nn_exec *x, const nn_node *n) {
  const nn_graph *g = x->g;
  const nn_value *y = nn_out(g, n, 0);
  if (y->nelem == 0)
    return ARGUS_OK;
  int axis;
  if (concat_axis(n, y->rank, &axis, NULL))
    return ARGUS_E_INTERNAL;
  size_t es = nn_dtype_size(y->dtype);
  size_t outer = 1, inner = 1;
  for (int k = 0; k < axis; k++)
    outer *= (size_t)y->dims[k];
  for (int k = axis + 1; k < y->rank; k++)
    inner *= (size_t)y->dims[k];
  concat_ctx c = {g,          n,   y->data, (size_t)y->dims[axis] * inner * es,
                  inner * es, axis};
  size_t units = outer * (size_t)n->ninputs;
  size_t unit_bytes = c.out_row / (size_t)n->ninputs + 1;
  size_t grain = ((size_t)256 << 10) / unit_bytes + 1;
  argus_threadpool_parallel_for(x->pool, units, grain, concat_task, &c);
  return ARGUS_OK;
}

const nn_op nn_op_concat = {
    .type = "Concat",
    .infer = concat_infer,
    .run = concat_run,
};
