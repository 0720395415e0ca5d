/*
 * Exact backends: every template is scored. One implementation serves fp32,
 * fp16 and int8 storage; only the block layout and the kernel differ (see
 * kernels/kernels.h for the layouts).
 *
 * A search packs the batch of queries into groups the kernel holds in
 * registers, splits the template blocks over the threads, and walks each
 * thread's share in tiles of a few blocks (a tile stays in L2 while every
 * query group is scored against it). Each thread keeps its own top-k per
 * query; the lists are merged at the end. So one pass over the templates
 * (the memory traffic that bounds a single query) serves the whole batch.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "index/index_internal.h"
#include "index/kernels/kernels.h"

/* Tiles aim at this many bytes of templates (half a typical L2). */
#define TILE_BYTES (192u * 1024u)
/* Per-thread top-k memory per pass over the templates (queries beyond it
 * make another pass). */
#define TOPK_BYTES (8u * 1024u * 1024u)

typedef struct ix_flat {
  ix_elem elem;
  ix_kernel kern;
  ix_f32_to_f16_fn to_f16;
  size_t dim;    /* template dimensions */
  size_t kdim;   /* dimensions the kernel sees (int8: rounded up to 4) */
  size_t bbytes; /* bytes per block of 16 templates */
  size_t cap_blocks;
  uint8_t *data;
  float *tscale; /* int8: scale per row; padding rows 0 */
} ix_flat;

void *ix_alloc(size_t n) {
  n = (n + 63) & ~(size_t)63;
  if (n == 0)
    n = 64;
  void *p = aligned_alloc(64, n);
  if (p)
    memset(p, 0, n);
  return p;
}

void ix_free(void *p) { free(p); }

static argus_err flat_create(ix_elem e, const ix_params *p, void **out) {
  ix_flat *f = calloc(1, sizeof *f);
  if (!f)
    return ARGUS_E_NOMEM;
  const ix_kernels *ks = ix_kernels_get();
  f->elem = e;
  f->kern = ks->k[e];
  f->to_f16 = ks->to_f16;
  f->dim = p->dim;
  f->kdim = e == IX_S8 ? (p->dim + 3) / 4 * 4 : p->dim;
  f->bbytes = ix_block_bytes(e, p->dim);
  *out = f;
  return ARGUS_OK;
}

static argus_err flat_create_f32(const ix_params *p, void **out) {
  return flat_create(IX_F32, p, out);
}
static argus_err flat_create_f16(const ix_params *p, void **out) {
  return flat_create(IX_F16, p, out);
}
static argus_err flat_create_s8(const ix_params *p, void **out) {
  return flat_create(IX_S8, p, out);
}

static void flat_destroy(void *ctx) {
  ix_flat *f = ctx;
  if (!f)
    return;
  ix_free(f->data);
  ix_free(f->tscale);
  free(f);
}

static argus_err flat_reserve(void *ctx, size_t rows) {
  ix_flat *f = ctx;
  size_t need = (rows + IX_LANES - 1) / IX_LANES;
  if (need <= f->cap_blocks)
    return ARGUS_OK;
  size_t cap = f->cap_blocks + f->cap_blocks / 2;
  if (cap < need)
    cap = need;
  if (cap > SIZE_MAX / f->bbytes)
    return ARGUS_E_LIMIT;
  uint8_t *data = ix_alloc(cap * f->bbytes);
  float *tscale = NULL;
  if (!data)
    return ARGUS_E_NOMEM;
  if (f->elem == IX_S8) {
    tscale = ix_alloc(cap * IX_LANES * sizeof *tscale);
    if (!tscale) {
      ix_free(data);
      return ARGUS_E_NOMEM;
    }
    /* int8 templates are stored as value + 128: zero is 128 */
    memset(data + f->cap_blocks * f->bbytes, 128,
           (cap - f->cap_blocks) * f->bbytes);
    if (f->cap_blocks)
      memcpy(tscale, f->tscale, f->cap_blocks * IX_LANES * sizeof *tscale);
  }
  if (f->cap_blocks)
    memcpy(data, f->data, f->cap_blocks * f->bbytes);
  ix_free(f->data);
  ix_free(f->tscale);
  f->data = data;
  f->tscale = tscale;
  f->cap_blocks = cap;
  return ARGUS_OK;
}

/* Quantises unit vector v to int8 with one scale: q[j] for j < kdim
 * (zero-padded), returns the scale. */
static float quantise_s8(const float *v, size_t dim, size_t kdim, int8_t *q) {
  float m = 0.0f;
  for (size_t j = 0; j < dim; j++)
    m = fmaxf(m, fabsf(v[j]));
  float inv = m > 0.0f ? 127.0f / m : 0.0f;
  for (size_t j = 0; j < kdim; j++) {
    long x = j < dim ? lrintf(v[j] * inv) : 0;
    q[j] = (int8_t)(x > 127 ? 127 : x < -127 ? -127 : x);
  }
  return m / 127.0f;
}

/* Writes unit vectors vecs[0..n) as rows r0 .. r0+n-1, all inside one block,
 * dimension by dimension so the block is written in order (a bulk load of a
 * million templates would otherwise scatter 4-byte writes over gigabytes).
 * tmp holds n rows converted to the storage type. */
static void flat_put_block(ix_flat *f, size_t r0, size_t n, const float *vecs,
                           void *tmp) {
  uint8_t *blk = f->data + (r0 / IX_LANES) * f->bbytes;
  size_t t0 = r0 % IX_LANES, dim = f->dim, kdim = f->kdim;
  switch (f->elem) {
  case IX_F32: {
    float *b = (float *)(void *)blk;
    for (size_t j = 0; j < dim; j++)
      for (size_t i = 0; i < n; i++)
        b[j * IX_LANES + t0 + i] = vecs[i * dim + j];
    break;
  }
  case IX_F16: {
    uint16_t *h = tmp, *b = (uint16_t *)(void *)blk;
    for (size_t i = 0; i < n; i++)
      f->to_f16(vecs + i * dim, h + i * dim, dim);
    for (size_t j = 0; j < dim; j++)
      for (size_t i = 0; i < n; i++)
        b[j * IX_LANES + t0 + i] = h[i * dim + j];
    break;
  }
  case IX_S8: {
    int8_t *q = tmp;
    for (size_t i = 0; i < n; i++)
      f->tscale[r0 + i] = quantise_s8(vecs + i * dim, dim, kdim, q + i * kdim);
    for (size_t g = 0; g < kdim / 4; g++)
      for (size_t i = 0; i < n; i++)
        for (size_t c = 0; c < 4; c++)
          blk[g * 4 * IX_LANES + (t0 + i) * 4 + c] =
              (uint8_t)(q[i * kdim + g * 4 + c] + 128);
    break;
  }
  }
}

static argus_err flat_add(void *ctx, size_t first, size_t n,
                          const float *vecs) {
  ix_flat *f = ctx;
  if ((first + n + IX_LANES - 1) / IX_LANES > f->cap_blocks)
    return ARGUS_E_INTERNAL;
  void *tmp = NULL;
  if (f->elem != IX_F32) {
    tmp = malloc(IX_LANES * f->kdim * sizeof(uint16_t));
    if (!tmp)
      return ARGUS_E_NOMEM;
  }
  for (size_t i = 0; i < n;) {
    size_t r = first + i;
    size_t m = IX_LANES - r % IX_LANES;
    if (m > n - i)
      m = n - i;
    flat_put_block(f, r, m, vecs + i * f->dim, tmp);
    i += m;
  }
  free(tmp);
  return ARGUS_OK;
}

/* Copies lane `src` to lane `dst` and clears `src`, element by element in
 * the storage type (no requantisation, so a moved template scores exactly as
 * before). */
static void flat_remove(void *ctx, size_t row, size_t last) {
  ix_flat *f = ctx;
  uint8_t *bd = f->data + (row / IX_LANES) * f->bbytes;
  uint8_t *bs = f->data + (last / IX_LANES) * f->bbytes;
  size_t td = row % IX_LANES, ts = last % IX_LANES;
  int move = row != last;
  switch (f->elem) {
  case IX_F32: {
    float *d = (float *)(void *)bd, *s = (float *)(void *)bs;
    for (size_t j = 0; j < f->dim; j++) {
      if (move)
        d[j * IX_LANES + td] = s[j * IX_LANES + ts];
      s[j * IX_LANES + ts] = 0.0f;
    }
    break;
  }
  case IX_F16: {
    uint16_t *d = (uint16_t *)(void *)bd, *s = (uint16_t *)(void *)bs;
    for (size_t j = 0; j < f->dim; j++) {
      if (move)
        d[j * IX_LANES + td] = s[j * IX_LANES + ts];
      s[j * IX_LANES + ts] = 0;
    }
    break;
  }
  case IX_S8:
    for (size_t j = 0; j < f->kdim; j++) {
      size_t o = (j / 4) * 4 * IX_LANES + j % 4;
      if (move)
        bd[o + td * 4] = bs[o + ts * 4];
      bs[o + ts * 4] = 128;
    }
    if (move)
      f->tscale[row] = f->tscale[last];
    f->tscale[last] = 0.0f;
    break;
  }
}

static argus_err flat_get(void *ctx, size_t r, float *out) {
  ix_flat *f = ctx;
  const uint8_t *blk = f->data + (r / IX_LANES) * f->bbytes;
  size_t t = r % IX_LANES;
  for (size_t j = 0; j < f->dim; j++) {
    switch (f->elem) {
    case IX_F32:
      out[j] = ((const float *)(const void *)blk)[j * IX_LANES + t];
      break;
    case IX_F16:
      out[j] =
          ix_f16_to_f32_1(((const uint16_t *)(const void *)blk)[j * IX_LANES + t]);
      break;
    case IX_S8:
      out[j] = (float)((int)blk[(j / 4) * 4 * IX_LANES + t * 4 + j % 4] - 128) *
               f->tscale[r];
      break;
    }
  }
  return ARGUS_OK;
}

static size_t flat_bytes(const void *ctx) {
  const ix_flat *f = ctx;
  return f->cap_blocks * f->bbytes +
         (f->tscale ? f->cap_blocks * IX_LANES * sizeof(float) : 0) +
         sizeof *f;
}

static void flat_describe(const void *ctx, char *buf, size_t len) {
  const ix_flat *f = ctx;
  static const char *const names[] = {"f32", "f16", "i8"};
  snprintf(buf, len, "exact-%s/%s", names[f->elem], f->kern.isa);
}

/* ---- search ----------------------------------------------------------- */

typedef struct qgroup {
  size_t first; /* first query of the group in the pass */
  ix_qpack pack;
} qgroup;

typedef struct flat_job {
  const ix_flat *f;
  const ix_search_args *a;
  size_t nq; /* queries in this pass */
  size_t tile;
  size_t ngroups;
  const qgroup *groups;
  float *scores; /* per thread: max_q x tile*16 */
  ix_topk *topk; /* per thread: nq */
} flat_job;

static void flat_task(void *ctx, size_t begin, size_t end, int tid) {
  const flat_job *J = ctx;
  const ix_flat *f = J->f;
  const ix_search_args *a = J->a;
  size_t ld = J->tile * IX_LANES;
  float *sc = J->scores + (size_t)tid * (size_t)f->kern.max_q * ld;
  ix_topk *tk = J->topk + (size_t)tid * J->nq;
  for (size_t b0 = begin; b0 < end; b0 += J->tile) {
    size_t nb = end - b0 < J->tile ? end - b0 : J->tile;
    size_t r0 = b0 * IX_LANES;
    size_t nr = a->count - r0 < nb * IX_LANES ? a->count - r0 : nb * IX_LANES;
    const void *blk = f->data + b0 * f->bbytes;
    const float *tsc = f->tscale ? f->tscale + r0 : NULL;
    for (size_t g = 0; g < J->ngroups; g++) {
      const qgroup *G = &J->groups[g];
      f->kern.tile(&G->pack, blk, tsc, nb, sc, ld);
      for (int qi = 0; qi < G->pack.nq; qi++) {
        ix_topk *t = &tk[G->first + (size_t)qi];
        const float *s = sc + (size_t)qi * ld;
        float thr = t->n == t->k ? t->score[t->k - 1] : -INFINITY;
        for (size_t i = 0; i < nr; i++) {
          if (s[i] > thr) {
            if (a->filter && !ix_filter_pass(a->filter, r0 + i))
              continue;
            ix_topk_push(t, s[i], (uint32_t)(r0 + i));
            thr = t->n == t->k ? t->score[t->k - 1] : -INFINITY;
          }
        }
      }
    }
  }
}

/* Quantises query x (dim floats) to int8 with one scale: group layout of the
 * s8 kernels for query qi of a group of gn. */
static void pack_s8(const float *x, size_t dim, size_t kdim, int qi, int gn,
                    int8_t *qs, float *scale, int32_t *sum) {
  float m = 0.0f;
  for (size_t j = 0; j < dim; j++)
    m = fmaxf(m, fabsf(x[j]));
  float inv = m > 0.0f ? 127.0f / m : 0.0f;
  int32_t s = 0;
  for (size_t j = 0; j < kdim; j++) {
    long q = j < dim ? lrintf(x[j] * inv) : 0;
    q = q > 127 ? 127 : q < -127 ? -127 : q;
    qs[((j / 4) * (size_t)gn + (size_t)qi) * 4 + j % 4] = (int8_t)q;
    s += (int32_t)q;
  }
  *scale = m / 127.0f;
  *sum = s;
}

static argus_err flat_search(void *ctx, const ix_search_args *a) {
  ix_flat *f = ctx;
  size_t k = a->k, dim = f->dim, kdim = f->kdim;
  int T = a->threads > 0 ? a->threads : 1;
  size_t nblocks = (a->count + IX_LANES - 1) / IX_LANES;
  if (a->count == 0) {
    for (size_t q = 0; q < a->nq; q++)
      a->nfound[q] = 0;
    return ARGUS_OK;
  }
  size_t max_q = (size_t)f->kern.max_q;
  size_t tile = TILE_BYTES / f->bbytes;
  tile = tile < 2 ? 2 : tile & ~(size_t)1;
  /* queries per pass: bounded by the per-thread top-k memory */
  size_t per_q = k * (sizeof(float) + sizeof(uint32_t));
  size_t pass = TOPK_BYTES / (per_q * (size_t)T);
  if (pass < max_q)
    pass = max_q;
  if (pass > a->nq)
    pass = a->nq;

  argus_err err = ARGUS_E_NOMEM;
  size_t ngroups_max = (pass + max_q - 1) / max_q;
  qgroup *groups = calloc(ngroups_max, sizeof *groups);
  float *qf = NULL, *qscale = NULL;
  int8_t *qs = NULL;
  int32_t *qsum = NULL;
  if (f->elem == IX_S8) {
    qs = ix_alloc(pass * kdim);
    qscale = malloc(pass * sizeof *qscale);
    qsum = malloc(pass * sizeof *qsum);
  } else {
    qf = ix_alloc(pass * dim * sizeof *qf);
  }
  float *scores = ix_alloc((size_t)T * max_q * tile * IX_LANES * sizeof *scores);
  ix_topk *topk = calloc((size_t)T * pass, sizeof *topk);
  float *tk_score = malloc((size_t)T * pass * k * sizeof *tk_score);
  uint32_t *tk_row = malloc((size_t)T * pass * k * sizeof *tk_row);
  ix_topk merged = {malloc(k * sizeof(float)), malloc(k * sizeof(uint32_t)),
                    0, k};
  if (!groups || (f->elem == IX_S8 ? !qs || !qscale || !qsum : !qf) ||
      !scores || !topk || !tk_score || !tk_row || !merged.score ||
      !merged.row)
    goto out;

  for (size_t p0 = 0; p0 < a->nq; p0 += pass) {
    size_t nq = a->nq - p0 < pass ? a->nq - p0 : pass;
    /* groups of nearly equal size, each at most max_q */
    size_t ng = (nq + max_q - 1) / max_q, first = 0;
    for (size_t g = 0; g < ng; g++) {
      size_t gn = nq / ng + (g < nq % ng ? 1 : 0);
      qgroup *G = &groups[g];
      G->first = first;
      G->pack.nq = (int)gn;
      G->pack.dim = kdim;
      if (f->elem == IX_S8) {
        int8_t *dst = qs + first * kdim;
        for (size_t i = 0; i < gn; i++)
          pack_s8(a->q + (p0 + first + i) * dim, dim, kdim, (int)i, (int)gn,
                  dst, &qscale[first + i], &qsum[first + i]);
        G->pack.qs = dst;
        G->pack.qscale = qscale + first;
        G->pack.qsum = qsum + first;
      } else {
        float *dst = qf + first * dim;
        for (size_t i = 0; i < gn; i++) {
          const float *x = a->q + (p0 + first + i) * dim;
          for (size_t j = 0; j < dim; j++)
            dst[j * gn + i] = x[j];
        }
        G->pack.qf = dst;
      }
      first += gn;
    }
    for (size_t i = 0; i < (size_t)T * nq; i++) {
      topk[i].score = tk_score + i * k;
      topk[i].row = tk_row + i * k;
      topk[i].n = 0;
      topk[i].k = k;
    }
    flat_job job = {f, a, nq, tile, ng, groups, scores, topk};
    argus_threadpool_parallel_for(T > 1 ? a->pool : NULL, nblocks, tile,
                                  flat_task, &job);
    for (size_t q = 0; q < nq; q++) {
      merged.n = 0;
      for (int t = 0; t < T; t++) {
        const ix_topk *src = &topk[(size_t)t * nq + q];
        for (size_t i = 0; i < src->n; i++)
          ix_topk_push(&merged, src->score[i], src->row[i]);
      }
      size_t qq = p0 + q;
      for (size_t i = 0; i < merged.n; i++) {
        a->rows[qq * k + i] = merged.row[i];
        a->scores[qq * k + i] = merged.score[i] * a->qinv[qq];
      }
      a->nfound[qq] = merged.n;
    }
  }
  err = ARGUS_OK;
out:
  free(groups);
  ix_free(qf);
  ix_free(qs);
  free(qscale);
  free(qsum);
  ix_free(scores);
  free(topk);
  free(tk_score);
  free(tk_row);
  free(merged.score);
  free(merged.row);
  return err;
}

#define FLAT_OPS(name, kindv, createfn)                                        \
  const ix_backend_ops name = {                                                \
      .kind = kindv,                                                           \
      .create = createfn,                                                      \
      .destroy = flat_destroy,                                                 \
      .reserve = flat_reserve,                                                 \
      .add = flat_add,                                                         \
      .remove = flat_remove,                                                   \
      .get = flat_get,                                                         \
      .search = flat_search,                                                   \
      .bytes = flat_bytes,                                                     \
      .describe = flat_describe,                                               \
      .dead = NULL,                                                            \
      .set_search = NULL,                                                      \
  };
FLAT_OPS(ix_flat_f32_ops, ARGUS_INDEX_F32, flat_create_f32)
FLAT_OPS(ix_flat_f16_ops, ARGUS_INDEX_F16, flat_create_f16)
FLAT_OPS(ix_flat_s8_ops, ARGUS_INDEX_I8, flat_create_s8)
