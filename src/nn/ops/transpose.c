/*
 * Transpose: permutes the axes (default: reverses them).
 *
 * infer reduces the permutation once: size-1 axes are dropped and input axes
 * that stay neighbours in the output are merged, so NCHW->NHWC becomes a
 * 3-d [N, C, HW] -> [N, HW, C]. run then either copies contiguous rows
 * (the last axis stays last), or transposes 2-d tiles so that both the reads
 * and the writes stay within a few cache lines.
 */
#include <stdlib.h>
#include <string.h>

#include "movement.h"

#define TILE 32

typedef struct transpose_plan {
  int rank;                     /* reduced rank, >= 2 when not a copy */
  int64_t odims[NN_MAX_RANK];   /* reduced output dims */
  int64_t istride[NN_MAX_RANK]; /* input stride (elements) per output axis */
  int copy;                     /* the permutation moves nothing */
  int tiled;                    /* last input axis is not last in the output */
  int jrow;                     /* tiled: output axis read with stride 1 */
} transpose_plan;

/* Reads and validates perm (default: reversed axes). */
static argus_err transpose_perm(const nn_node *n, int rank, int *perm,
                                nn_err *err) {
  const int64_t *p;
  size_t np;
  argus_err e = nn_attr_ints(n, "perm", &p, &np, err);
  if (e)
    return e;
  if (!p) {
    for (int i = 0; i < rank; i++)
      perm[i] = rank - 1 - i;
    return ARGUS_OK;
  }
  if (np != (size_t)rank)
    return nn_fail(err, ARGUS_E_CORRUPT,
                   "node '%s' (Transpose): perm has %zu entries for rank %d",
                   NN_MV_NAME(n), np, rank);
  int seen[NN_MAX_RANK] = {0};
  for (int i = 0; i < rank; i++) {
    if (p[i] < 0 || p[i] >= rank || seen[p[i]])
      return nn_fail(err, ARGUS_E_CORRUPT,
                     "node '%s' (Transpose): perm is not a permutation of "
                     "0..%d (entry %d is %lld)",
                     NN_MV_NAME(n), rank - 1, i, (long long)p[i]);
    seen[p[i]] = 1;
    perm[i] = (int)p[i];
  }
  return ARGUS_OK;
}

/* Builds the reduced plan from the input dims and the permutation. */
static void transpose_reduce(int rank, const int64_t *dims, const int *perm,
                             transpose_plan *pl) {
  /* 1. Drop size-1 axes. */
  int keep[NN_MAX_RANK], newidx[NN_MAX_RANK], r1 = 0;
  for (int i = 0; i < rank; i++) {
    newidx[i] = -1;
    if (dims[i] != 1) {
      newidx[i] = r1;
      keep[r1++] = i;
    }
  }
  int p1[NN_MAX_RANK], k1 = 0;
  for (int i = 0; i < rank; i++)
    if (newidx[perm[i]] >= 0)
      p1[k1++] = newidx[perm[i]];
  /* 2. Group runs of consecutive input axes that stay consecutive in the
   *    output; each group becomes one axis. */
  int gfirst[NN_MAX_RANK], glen[NN_MAX_RANK], ng = 0;
  for (int k = 0; k < r1; k++) {
    if (k > 0 && p1[k] == p1[k - 1] + 1) {
      glen[ng - 1]++;
    } else {
      gfirst[ng] = p1[k];
      glen[ng] = 1;
      ng++;
    }
  }
  /* Reduced input axes are the groups ordered by their first input axis. */
  int order[NN_MAX_RANK]; /* order[j]: group of reduced input axis j */
  int gin[NN_MAX_RANK];   /* gin[g]: reduced input axis of group g */
  int64_t rdims[NN_MAX_RANK];
  int j = 0;
  for (int a = 0; a < r1; a++)
    for (int gi = 0; gi < ng; gi++)
      if (gfirst[gi] == a) {
        order[j] = gi;
        gin[gi] = j++;
      }
  for (j = 0; j < ng; j++) {
    int gi = order[j];
    rdims[j] = 1;
    for (int t = 0; t < glen[gi]; t++)
      rdims[j] *= dims[keep[gfirst[gi] + t]];
  }
  int64_t rstride[NN_MAX_RANK];
  int64_t s = 1;
  for (j = ng - 1; j >= 0; j--) {
    rstride[j] = s;
    s *= rdims[j];
  }
  memset(pl, 0, sizeof *pl);
  pl->rank = ng;
  pl->copy = ng <= 1;
  for (int gi = 0; gi < ng; gi++) {
    pl->odims[gi] = rdims[gin[gi]];
    pl->istride[gi] = rstride[gin[gi]];
    if (gin[gi] == ng - 1)
      pl->jrow = gi;
  }
  /* Output groups in input order means no movement at all. */
  if (ng >= 2) {
    int sorted = 1;
    for (int gi = 1; gi < ng; gi++)
      sorted &= gin[gi] > gin[gi - 1];
    pl->copy = sorted;
    pl->tiled = !sorted && pl->jrow != ng - 1;
  }
}

static argus_err transpose_infer(nn_graph *g, nn_node *n, nn_err *err) {
  argus_err e = nn_mv_check_io(g, n, 1, 1, err);
  if (e)
    return e;
  const nn_value *x = nn_in(g, n, 0);
  int perm[NN_MAX_RANK];
  if ((e = transpose_perm(n, x->rank, perm, err)))
    return e;
  int64_t dims[NN_MAX_RANK];
  for (int i = 0; i < x->rank; i++)
    dims[i] = x->dims[perm[i]];
  if ((e = nn_set_shape(nn_out(g, n, 0), x->dtype, x->rank, dims, err)))
    return e;
  transpose_plan *pl = malloc(sizeof *pl);
  if (!pl)
    return nn_fail(err, ARGUS_E_NOMEM, "node '%s' (Transpose): out of memory",
                   NN_MV_NAME(n));
  int empty = 0;
  for (int i = 0; i < x->rank; i++)
    empty |= x->dims[i] == 0;
  if (empty) {
    memset(pl, 0, sizeof *pl);
    pl->copy = 1; /* nothing to move */
  } else {
    transpose_reduce(x->rank, x->dims, perm, pl);
  }
  free(n->plan);
  n->plan = pl;
  return ARGUS_OK;
}

typedef struct tile_ctx {
  const transpose_plan *pl;
  const uint8_t *src;
  uint8_t *dst;
  size_t es;
  int64_t ostride[NN_MAX_RANK]; /* output strides (elements) */
  int64_t rblocks;              /* tiles along the jrow axis */
} tile_ctx;

/* Element types of each size that may alias any data (float, int...). */
typedef uint8_t __attribute__((may_alias)) mv_u8;
typedef uint16_t __attribute__((may_alias)) mv_u16;
typedef uint32_t __attribute__((may_alias)) mv_u32;
typedef uint64_t __attribute__((may_alias)) mv_u64;

/* Copies the tile rows [i0, i1) x cols [c0, c1): out[i*ost + c] =
 * in[i + c*ist], typed so that the compiler sees plain loads and stores
 * (buffers are aligned to their element size). */
#define TILE_FN_(T)                                                            \
  static void tile_##T(const uint8_t *src, uint8_t *dst, int64_t i0,           \
                       int64_t i1, int64_t c0, int64_t c1, int64_t ist,        \
                       int64_t ost) {                                          \
    const T *in = (const T *)(const void *)src;                                \
    T *out = (T *)(void *)dst;                                                 \
    for (int64_t i = i0; i < i1; i++) {                                        \
      const T *ip = in + i + c0 * ist;                                         \
      T *op = out + i * ost;                                                   \
      for (int64_t c = c0; c < c1; c++, ip += ist)                             \
        op[c] = *ip;                                                           \
    }                                                                          \
  }
TILE_FN_(mv_u8)
TILE_FN_(mv_u16)
TILE_FN_(mv_u32)
TILE_FN_(mv_u64)
#undef TILE_FN_

static void tile_bytes(const uint8_t *src, uint8_t *dst, int64_t i0, int64_t i1,
                       int64_t c0, int64_t c1, int64_t ist, int64_t ost,
                       size_t es) {
  for (int64_t i = i0; i < i1; i++)
    for (int64_t c = c0; c < c1; c++)
      memcpy(dst + (size_t)(i * ost + c) * es, src + (size_t)(i + c * ist) * es,
             es);
}

/* One unit = one outer index (all output axes but jrow and the last) times
 * one band of TILE rows along jrow; the band is copied tile by tile. */
static void tile_task(void *ctx, size_t begin, size_t end, int tid) {
  const tile_ctx *c = ctx;
  const transpose_plan *pl = c->pl;
  const int r = pl->rank, jr = pl->jrow;
  const int64_t rows = pl->odims[jr], cols = pl->odims[r - 1];
  const int64_t ost = c->ostride[jr], ist = pl->istride[r - 1];
  const size_t es = c->es;
  for (size_t u = begin; u < end; u++) {
    int64_t band = (int64_t)(u % (size_t)c->rblocks);
    size_t o = u / (size_t)c->rblocks;
    int64_t ioff = 0, ooff = 0;
    for (int k = r - 2; k >= 0; k--) {
      if (k == jr)
        continue;
      int64_t ik = (int64_t)(o % (size_t)pl->odims[k]);
      o /= (size_t)pl->odims[k];
      ioff += ik * pl->istride[k];
      ooff += ik * c->ostride[k];
    }
    const uint8_t *src = c->src + (size_t)ioff * es;
    uint8_t *dst = c->dst + (size_t)ooff * es;
    int64_t i0 = band * TILE, i1 = i0 + TILE < rows ? i0 + TILE : rows;
    for (int64_t c0 = 0; c0 < cols; c0 += TILE) {
      int64_t c1 = c0 + TILE < cols ? c0 + TILE : cols;
      switch (es) {
      case 1:
        tile_mv_u8(src, dst, i0, i1, c0, c1, ist, ost);
        break;
      case 2:
        tile_mv_u16(src, dst, i0, i1, c0, c1, ist, ost);
        break;
      case 4:
        tile_mv_u32(src, dst, i0, i1, c0, c1, ist, ost);
        break;
      case 8:
        tile_mv_u64(src, dst, i0, i1, c0, c1, ist, ost);
        break;
      default:
        tile_bytes(src, dst, i0, i1, c0, c1, ist, ost, es);
        break;
      }
    }
  }
}

static argus_err transpose_run(const nn_exec *x, const nn_node *n) {
  const nn_value *in = nn_in(x->g, n, 0);
  const nn_value *y = nn_out(x->g, n, 0);
  const transpose_plan *pl = n->plan;
  size_t es = nn_dtype_size(y->dtype);
  if (!pl || es == 0)
    return ARGUS_E_INTERNAL;
  if (y->nelem == 0)
    return ARGUS_OK;
  if (pl->copy) {
    nn_mv_copy(x, y->data, in->data, y->nelem * es);
    return ARGUS_OK;
  }
  if (!pl->tiled) {
    nn_mv_strided s = {
        .rank = pl->rank, .src = in->data, .dst = y->data, .esize = es};
    memcpy(s.dims, pl->odims, sizeof s.dims);
    memcpy(s.istride, pl->istride, sizeof s.istride);
    nn_mv_strided_copy(x, &s);
    return ARGUS_OK;
  }
  tile_ctx c = {.pl = pl, .src = in->data, .dst = y->data, .es = es};
  int64_t s = 1;
  size_t outer = 1;
  for (int k = pl->rank - 1; k >= 0; k--) {
    c.ostride[k] = s;
    s *= pl->odims[k];
    if (k != pl->jrow && k != pl->rank - 1)
      outer *= (size_t)pl->odims[k];
  }
  c.rblocks = (pl->odims[pl->jrow] + TILE - 1) / TILE;
  size_t units = outer * (size_t)c.rblocks;
  size_t band_bytes = (size_t)TILE * (size_t)pl->odims[pl->rank - 1] * es;
  size_t grain = ((size_t)128 << 10) / band_bytes + 1;
  argus_threadpool_parallel_for(x->pool, units, grain, tile_task, &c);
  return ARGUS_OK;
}

const nn_op nn_op_transpose = {
    .type = "Transpose",
    .infer = transpose_infer,
    .run = transpose_run,
    .free_plan = free,
};
