/*
 * Gather: picks entries of `data` along `axis` by `indices` (int32/int64,
 * negative from the back). out.shape = data.shape[:axis] + indices.shape +
 * data.shape[axis+1:]. Every index is checked before any byte is read.
 */
#include <string.h>

#include "movement.h"

static argus_err gather_axis(const nn_node *n, int rank, int *axis,
                             nn_err *err) {
  int64_t a;
  argus_err e = nn_attr_int(n, "axis", 0, &a, err);
  if (e)
    return e;
  if (!nn_mv_axis(a, rank, 0, axis))
    return nn_fail(err, ARGUS_E_CORRUPT,
                   "node '%s' (Gather): axis %lld out of range for rank %d",
                   NN_MV_NAME(n), (long long)a, rank);
  return ARGUS_OK;
}

static int64_t index_at(const nn_value *idx, size_t i) {
  if (idx->dtype == NN_INT64) {
    int64_t v;
    memcpy(&v, (const uint8_t *)idx->data + i * 8, 8);
    return v;
  }
  int32_t v;
  memcpy(&v, (const uint8_t *)idx->data + i * 4, 4);
  return v;
}

/* Finds the first index outside [-dim, dim-1]; returns 0 if all are inside,
 * else 1 with the position and value. */
static int find_bad_index(const nn_value *idx, int64_t dim, size_t *pos,
                          int64_t *val) {
  for (size_t i = 0; i < idx->nelem; i++) {
    int64_t v = index_at(idx, i);
    if (v < -dim || v >= dim) {
      *pos = i;
      *val = v;
      return 1;
    }
  }
  return 0;
}

static argus_err gather_infer(nn_graph *g, nn_node *n, nn_err *err) {
  argus_err e = nn_mv_check_io(g, n, 2, 2, err);
  if (e)
    return e;
  const nn_value *x = nn_in(g, n, 0), *idx = nn_in(g, n, 1);
  if (!idx)
    return nn_fail(err, ARGUS_E_CORRUPT,
                   "node '%s' (Gather): input 'indices' is missing",
                   NN_MV_NAME(n));
  if (idx->dtype != NN_INT64 && idx->dtype != NN_INT32)
    return nn_fail(err, ARGUS_E_CORRUPT,
                   "node '%s' (Gather): indices have dtype %s, expected int32 "
                   "or int64",
                   NN_MV_NAME(n), nn_dtype_name(idx->dtype));
  if (idx->rank < 0)
    return nn_fail(err, ARGUS_E_SHAPE,
                   "node '%s' (Gather): indices have no known shape",
                   NN_MV_NAME(n));
  int axis;
  if ((e = gather_axis(n, x->rank, &axis, err)))
    return e;
  int rank = x->rank - 1 + idx->rank;
  if (rank > NN_MAX_RANK)
    return nn_fail(err, ARGUS_E_LIMIT,
                   "node '%s' (Gather): output rank %d exceeds %d",
                   NN_MV_NAME(n), rank, NN_MAX_RANK);
  int64_t dims[NN_MAX_RANK];
  int r = 0;
  for (int k = 0; k < axis; k++)
    dims[r++] = x->dims[k];
  for (int k = 0; k < idx->rank; k++)
    dims[r++] = idx->dims[k];
  for (int k = axis + 1; k < x->rank; k++)
    dims[r++] = x->dims[k];
  size_t pos;
  int64_t val;
  if (idx->is_const && idx->data &&
      find_bad_index(idx, x->dims[axis], &pos, &val))
    return nn_fail(err, ARGUS_E_INVALID_ARG,
                   "node '%s' (Gather): index %lld (entry %zu) out of range "
                   "for axis %d of size %lld",
                   NN_MV_NAME(n), (long long)val, pos, axis,
                   (long long)x->dims[axis]);
  return nn_set_shape(nn_out(g, n, 0), x->dtype, rank, dims, err);
}

typedef struct gather_ctx {
  const nn_value *idx;
  const uint8_t *src;
  uint8_t *dst;
  size_t nidx;
  int64_t dim;  /* size of the gathered axis */
  size_t block; /* bytes of one slice along the axis */
} gather_ctx;

/* Unit u = (outer index, position in indices). */
static void gather_task(void *ctx, size_t begin, size_t end, int tid) {
  const gather_ctx *c = ctx;
  for (size_t u = begin; u < end; u++) {
    size_t o = u / c->nidx;
    int64_t v = index_at(c->idx, u % c->nidx);
    if (v < 0)
      v += c->dim;
    memcpy(c->dst + u * c->block,
           c->src + (o * (size_t)c->dim + (size_t)v) * c->block, c->block);
  }
}

static argus_err gather_run(const nn_exec *x, const nn_node *n) {
  const nn_value *in = nn_in(x->g, n, 0), *idx = nn_in(x->g, n, 1);
  const nn_value *y = nn_out(x->g, n, 0);
  int axis;
  if (gather_axis(n, in->rank, &axis, NULL))
    return ARGUS_E_INTERNAL;
  size_t pos;
  int64_t val;
  if (find_bad_index(idx, in->dims[axis], &pos, &val)) {
    argus_log(ARGUS_LOG_ERROR, "nn",
              "node '%s' (Gather): index %lld (entry %zu) out of range for "
              "axis %d of size %lld",
              NN_MV_NAME(n), (long long)val, pos, axis,
              (long long)in->dims[axis]);
    return ARGUS_E_INVALID_ARG;
  }
  if (y->nelem == 0)
    return ARGUS_OK;
  size_t outer = 1, inner = nn_dtype_size(y->dtype);
  for (int k = 0; k < axis; k++)
    outer *= (size_t)in->dims[k];
  for (int k = axis + 1; k < in->rank; k++)
    inner *= (size_t)in->dims[k];
  gather_ctx c = {idx, in->data, y->data, idx->nelem, in->dims[axis], inner};
  size_t grain = ((size_t)128 << 10) / inner + 1;
  argus_threadpool_parallel_for(x->pool, outer * idx->nelem, grain, gather_task,
                                &c);
  return ARGUS_OK;
}

const nn_op nn_op_gather = {
    .type = "Gather",
    .infer = gather_infer,
    .run = gather_run,
};
