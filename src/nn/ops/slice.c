/*
 * Slice: a strided window of the input. Opset 1-9 take starts/ends/axes as
 * attributes; from opset 10 they are inputs (with optional axes and steps)
 * that must be constant at plan time. Starts and ends are clamped as the
 * spec says for the sign of the step, so out-of-range values are fine.
 */
#include <stdlib.h>
#include <string.h>

#include "movement.h"

void nn_slice_axis(int64_t dim, int64_t start, int64_t end, int64_t step,
                   int64_t *first, int64_t *count) {
  if (dim <= 0 || step == 0) {
    *first = 0;
    *count = 0;
    return;
  }
  if (start < 0)
    start += dim;
  if (end < 0)
    end += dim;
  int64_t span, mag;
  if (step > 0) {
    start = start < 0 ? 0 : start > dim ? dim : start;
    end = end < 0 ? 0 : end > dim ? dim : end;
    span = end - start;
    mag = step;
  } else {
    start = start < 0 ? 0 : start > dim - 1 ? dim - 1 : start;
    end = end < -1 ? -1 : end > dim - 1 ? dim - 1 : end;
    span = start - end;
    mag = step == INT64_MIN ? INT64_MAX : -step;
  }
  *first = start;
  *count = span <= 0 ? 0 : span / mag + (span % mag != 0);
}

typedef struct slice_plan {
  nn_mv_strided s; /* src/dst filled at run */
  int64_t base;    /* element offset of the first element read */
  int empty;
} slice_plan;

/* Gathers starts, ends, axes, steps from attributes or constant inputs. */
static argus_err slice_params(const nn_graph *g, const nn_node *n,
                              int64_t p[4][NN_MV_MAX_LIST], int cnt[4],
                              nn_err *err) {
  static const char *const names[4] = {"starts", "ends", "axes", "steps"};
  argus_err e;
  cnt[2] = cnt[3] = -1; /* absent */
  if (n->opset > 0 && n->opset < 10) {
    for (int k = 0; k < 3; k++) {
      const int64_t *a;
      size_t c;
      if ((e = nn_attr_ints(n, names[k], &a, &c, err)))
        return e;
      if (!a) {
        if (k == 2)
          continue;
        return nn_fail(err, ARGUS_E_CORRUPT,
                       "node '%s' (Slice): attribute '%s' is required",
                       NN_MV_NAME(n), names[k]);
      }
      if (c > NN_MV_MAX_LIST)
        return nn_fail(err, ARGUS_E_LIMIT,
                       "node '%s' (Slice): '%s' has %zu entries, at most %d "
                       "supported",
                       NN_MV_NAME(n), names[k], c, NN_MV_MAX_LIST);
      memcpy(p[k], a, c * sizeof *a);
      cnt[k] = (int)c;
    }
    return ARGUS_OK;
  }
  for (int k = 0; k < 4; k++) {
    if (k >= 2 && !nn_in(g, n, k + 1))
      continue;
    if ((e = nn_mv_const_ints(g, n, k + 1, names[k], p[k], NN_MV_MAX_LIST,
                              &cnt[k], err)))
      return e;
  }
  return ARGUS_OK;
}

static argus_err slice_infer(nn_graph *g, nn_node *n, nn_err *err) {
  int legacy = n->opset > 0 && n->opset < 10;
  argus_err e = nn_mv_check_io(g, n, legacy ? 1 : 3, legacy ? 1 : 5, err);
  if (e)
    return e;
  const nn_value *x = nn_in(g, n, 0);
  const int r = x->rank;
  int64_t p[4][NN_MV_MAX_LIST];
  int cnt[4];
  if ((e = slice_params(g, n, p, cnt, err)))
    return e;
  const int na = cnt[0];
  if (cnt[1] != na || (cnt[2] >= 0 && cnt[2] != na) ||
      (cnt[3] >= 0 && cnt[3] != na))
    return nn_fail(err, ARGUS_E_CORRUPT,
                   "node '%s' (Slice): starts, ends, axes and steps differ in "
                   "length (%d, %d, %d, %d)",
                   NN_MV_NAME(n), cnt[0], cnt[1], cnt[2], cnt[3]);
  int64_t first[NN_MAX_RANK], step[NN_MAX_RANK], dims[NN_MAX_RANK];
  int seen[NN_MAX_RANK] = {0};
  for (int k = 0; k < r; k++) {
    first[k] = 0;
    step[k] = 1;
    dims[k] = x->dims[k];
  }
  for (int i = 0; i < na; i++) {
    int64_t a64 = cnt[2] >= 0 ? p[2][i] : i;
    int64_t st = cnt[3] >= 0 ? p[3][i] : 1;
    int a;
    if (!nn_mv_axis(a64, r, 0, &a))
      return nn_fail(err, ARGUS_E_CORRUPT,
                     "node '%s' (Slice): axis %lld out of range for rank %d",
                     NN_MV_NAME(n), (long long)a64, r);
    if (seen[a])
      return nn_fail(err, ARGUS_E_CORRUPT,
                     "node '%s' (Slice): axis %lld repeats", NN_MV_NAME(n),
                     (long long)a64);
    if (st == 0)
      return nn_fail(err, ARGUS_E_CORRUPT,
                     "node '%s' (Slice): step for axis %d is 0", NN_MV_NAME(n),
                     a);
    seen[a] = 1;
    step[a] = st;
    nn_slice_axis(x->dims[a], p[0][i], p[1][i], st, &first[a], &dims[a]);
  }
  if ((e = nn_set_shape(nn_out(g, n, 0), x->dtype, r, dims, err)))
    return e;
  slice_plan *pl = calloc(1, sizeof *pl);
  if (!pl)
    return nn_fail(err, ARGUS_E_NOMEM, "node '%s' (Slice): out of memory",
                   NN_MV_NAME(n));
  pl->s.rank = r;
  pl->s.esize = nn_dtype_size(x->dtype);
  for (int k = 0; k < r; k++)
    pl->empty |= dims[k] == 0;
  if (!pl->empty) {
    /* The input has no zero dim here, so its strides are within limits. */
    int64_t s = 1;
    for (int k = r - 1; k >= 0; k--) {
      pl->s.dims[k] = dims[k];
      /* A huge step only ever reads one element. */
      pl->s.istride[k] = dims[k] > 1 ? step[k] * s : 0;
      pl->base += first[k] * s;
      s *= x->dims[k];
    }
  }
  free(n->plan);
  n->plan = pl;
  return ARGUS_OK;
}

static argus_err slice_run(const nn_exec *x, const nn_node *n) {
  const nn_value *in = nn_in(x->g, n, 0);
  const nn_value *y = nn_out(x->g, n, 0);
  const slice_plan *pl = n->plan;
  if (!pl)
    return ARGUS_E_INTERNAL;
  if (pl->empty || y->nelem == 0)
    return ARGUS_OK;
  nn_mv_strided s = pl->s;
  s.src = (const uint8_t *)in->data + (size_t)pl->base * s.esize;
  s.dst = y->data;
  nn_mv_strided_copy(x, &s);
  return ARGUS_OK;
}

const nn_op nn_op_slice = {
    .type = "Slice",
    .infer = slice_infer,
    .run = slice_run,
    .free_plan = free,
};
