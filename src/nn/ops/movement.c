/* Helpers shared by the data-movement ops (see movement.h). */
#include <string.h>

#include "movement.h"

int nn_mv_axis(int64_t axis, int rank, int inclusive, int *out) {
  int64_t hi = inclusive ? rank : rank - 1;
  if (axis < -(int64_t)rank || axis > hi)
    return 0;
  *out = (int)(axis < 0 ? axis + rank : axis);
  return 1;
}

argus_err nn_mv_check_io(const nn_graph *g, const nn_node *n, int min_in,
                         int max_in, nn_err *err) {
  const char *op = n->op ? n->op->type : n->op_type;
  if (n->ninputs < min_in || n->ninputs > max_in) {
    if (min_in == max_in)
      return nn_fail(err, ARGUS_E_CORRUPT,
                     "node '%s' (%s): has %d inputs, expected %d",
                     NN_MV_NAME(n), op, n->ninputs, min_in);
    return nn_fail(err, ARGUS_E_CORRUPT,
                   "node '%s' (%s): has %d inputs, expected %d to %d",
                   NN_MV_NAME(n), op, n->ninputs, min_in, max_in);
  }
  if (n->noutputs < 1 || !nn_out(g, n, 0))
    return nn_fail(err, ARGUS_E_CORRUPT, "node '%s' (%s): has no output",
                   NN_MV_NAME(n), op);
  if (min_in == 0)
    return ARGUS_OK;
  const nn_value *x = nn_in(g, n, 0);
  if (!x)
    return nn_fail(err, ARGUS_E_CORRUPT, "node '%s' (%s): input 0 is missing",
                   NN_MV_NAME(n), op);
  if (x->rank < 0 || x->rank > NN_MAX_RANK)
    return nn_fail(err, ARGUS_E_SHAPE,
                   "node '%s' (%s): input '%s' has no known shape",
                   NN_MV_NAME(n), op, x->name ? x->name : "");
  if (nn_dtype_size(x->dtype) == 0)
    return nn_fail(err, ARGUS_E_UNSUPPORTED,
                   "node '%s' (%s): input '%s' has unsupported dtype %s",
                   NN_MV_NAME(n), op, x->name ? x->name : "",
                   nn_dtype_name(x->dtype));
  return ARGUS_OK;
}

argus_err nn_mv_const_ints(const nn_graph *g, const nn_node *n, int idx,
                           const char *what, int64_t *out, int max, int *count,
                           nn_err *err) {
  const char *op = n->op ? n->op->type : n->op_type;
  const nn_value *v = nn_in(g, n, idx);
  if (!v)
    return nn_fail(err, ARGUS_E_CORRUPT, "node '%s' (%s): input '%s' missing",
                   NN_MV_NAME(n), op, what);
  if (!v->is_const || (!v->data && v->nelem > 0))
    return nn_fail(err, ARGUS_E_UNSUPPORTED,
                   "node '%s' (%s): input '%s' ('%s') must be constant at plan "
                   "time; dynamic %s is not supported",
                   NN_MV_NAME(n), op, what, v->name ? v->name : "", what);
  if (v->dtype != NN_INT64 && v->dtype != NN_INT32)
    return nn_fail(err, ARGUS_E_CORRUPT,
                   "node '%s' (%s): input '%s' has dtype %s, expected int64",
                   NN_MV_NAME(n), op, what, nn_dtype_name(v->dtype));
  if (v->rank > 1)
    return nn_fail(err, ARGUS_E_CORRUPT,
                   "node '%s' (%s): input '%s' has rank %d, expected 1",
                   NN_MV_NAME(n), op, what, v->rank);
  size_t ne =
      v->rank == 1 ? (v->dims[0] < 0 ? SIZE_MAX : (size_t)v->dims[0]) : 1;
  if (ne != v->nelem)
    return nn_fail(err, ARGUS_E_INTERNAL,
                   "node '%s' (%s): input '%s' holds %zu elements for shape "
                   "of %zu",
                   NN_MV_NAME(n), op, what, v->nelem, ne);
  if (ne > (size_t)max)
    return nn_fail(err, ARGUS_E_LIMIT,
                   "node '%s' (%s): input '%s' has %zu entries, at most %d "
                   "supported",
                   NN_MV_NAME(n), op, what, ne, max);
  for (size_t i = 0; i < ne; i++) {
    if (v->dtype == NN_INT64) {
      memcpy(&out[i], (const uint8_t *)v->data + i * 8, 8);
    } else {
      int32_t t;
      memcpy(&t, (const uint8_t *)v->data + i * 4, 4);
      out[i] = t;
    }
  }
  *count = (int)ne;
  return ARGUS_OK;
}

int nn_mv_prod(int rank, const int64_t *dims, int64_t *out) {
  int64_t p = 1;
  for (int i = 0; i < rank; i++) {
    if (dims[i] < 0 || __builtin_mul_overflow(p, dims[i], &p))
      return -1;
  }
  *out = p;
  return 0;
}

/* ---- plain copy ------------------------------------------------------- */

#define NN_MV_COPY_CHUNK ((size_t)256 << 10)

typedef struct copy_ctx {
  uint8_t *dst;
  const uint8_t *src;
  size_t bytes;
} copy_ctx;

static void copy_task(void *ctx, size_t begin, size_t end, int tid) {
  const copy_ctx *c = ctx;
  size_t b = begin * NN_MV_COPY_CHUNK;
  size_t e = end * NN_MV_COPY_CHUNK;
  if (e > c->bytes)
    e = c->bytes;
  memcpy(c->dst + b, c->src + b, e - b);
}

void nn_mv_copy(const nn_exec *x, void *dst, const void *src, size_t bytes) {
  if (bytes == 0 || dst == src)
    return;
  if (bytes < 4 * NN_MV_COPY_CHUNK || !x || !x->pool) {
    memcpy(dst, src, bytes);
    return;
  }
  copy_ctx c = {dst, src, bytes};
  size_t chunks = (bytes + NN_MV_COPY_CHUNK - 1) / NN_MV_COPY_CHUNK;
  argus_threadpool_parallel_for(x->pool, chunks, 1, copy_task, &c);
}

/* ---- strided copy ------------------------------------------------------ */

typedef struct strided_ctx {
  const nn_mv_strided *s;
  int outer_rank;   /* axes iterated by rows */
  int64_t inner;    /* elements per row */
  int64_t inner_st; /* input stride along the row */
} strided_ctx;

static void strided_task(void *ctx, size_t begin, size_t end, int tid) {
  const strided_ctx *c = ctx;
  const nn_mv_strided *s = c->s;
  const size_t es = s->esize;
  int64_t idx[NN_MAX_RANK];
  int64_t off = 0;
  /* Multi-index of row `begin` and its input offset. */
  size_t r = begin;
  for (int k = c->outer_rank - 1; k >= 0; k--) {
    idx[k] = (int64_t)(r % (size_t)s->dims[k]);
    r /= (size_t)s->dims[k];
    off += idx[k] * s->istride[k];
  }
  uint8_t *out = s->dst + begin * (size_t)c->inner * es;
  for (size_t row = begin; row < end; row++) {
    const uint8_t *in = s->src + off * (ptrdiff_t)es;
    if (c->inner_st == 1) {
      memcpy(out, in, (size_t)c->inner * es);
    } else {
      const ptrdiff_t st = (ptrdiff_t)c->inner_st * (ptrdiff_t)es;
      switch (es) {
#define NN_MV_ROW_(T)                                                          \
  for (int64_t i = 0; i < c->inner; i++) {                                     \
    T v;                                                                       \
    memcpy(&v, in + i * st, sizeof v);                                         \
    memcpy(out + i * (ptrdiff_t)sizeof v, &v, sizeof v);                       \
  }                                                                            \
  break;
      case 1:
        NN_MV_ROW_(uint8_t)
      case 2:
        NN_MV_ROW_(uint16_t)
      case 4:
        NN_MV_ROW_(uint32_t)
      case 8:
        NN_MV_ROW_(uint64_t)
#undef NN_MV_ROW_
      default:
        for (int64_t i = 0; i < c->inner; i++)
          memcpy(out + i * (ptrdiff_t)es, in + i * st, es);
        break;
      }
    }
    out += (size_t)c->inner * es;
    /* Next row: increment the multi-index with carry. */
    for (int k = c->outer_rank - 1; k >= 0; k--) {
      off += s->istride[k];
      if (++idx[k] < s->dims[k])
        break;
      off -= idx[k] * s->istride[k];
      idx[k] = 0;
    }
  }
}

void nn_mv_strided_copy(const nn_exec *x, const nn_mv_strided *s) {
  strided_ctx c = {s, 0, 1, 1};
  size_t rows = 1;
  if (s->rank > 0) {
    c.outer_rank = s->rank - 1;
    c.inner = s->dims[s->rank - 1];
    c.inner_st = s->istride[s->rank - 1];
  }
  for (int k = 0; k < c.outer_rank; k++)
    rows *= (size_t)s->dims[k];
  if (rows == 0 || c.inner == 0)
    return;
  size_t row_bytes = (size_t)c.inner * s->esize;
  size_t grain = (NN_MV_COPY_CHUNK + row_bytes - 1) / row_bytes;
  argus_threadpool_parallel_for(x ? x->pool : NULL, rows, grain, strided_task,
                                &c);
}
