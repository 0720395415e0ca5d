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
#include <sys/mman.h>

#include "index/index_internal.h"
#include "index/kernels/kernels.h"

/* Tiles aim at this many bytes of templates (half a typical L2). */
#define TILE_BYTES (192u * 1024u)
/* Per-thread top-k memory per pass over the templates (queries beyond it
 * make another pass). */
#define TOPK_BYTES (8u * 1024u * 1024u)
/* Refinement: candidates each thread keeps per query beyond k (a query
 * with more near-ties than that is collected again by a second scan). */
#define REFINE_EXTRA 256u

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
  /* Compressed elems, for the refinement's error bound (flat_search): per
   * row ||g - ĝ|| and ||ĝ|| (g the unit fp32 template, ĝ its stored copy
   * decoded exactly), computed in double and rounded up; their maxima over
   * every row ever stored (never lowered on removal: still bounds). */
  float *rres, *rnorm;
  float res_max, norm_max;
  ix_kernel kern32; /* the fp32 kernel: refined scores are fp32's, bit for bit */
} ix_flat;

/* Large arrays (templates, codes: megabytes to gigabytes, read at random
 * rows by the approximate search) are 2 MiB aligned and asked to be backed
 * by transparent huge pages, which spares most TLB misses of random row
 * reads (the kernel's "madvise" THP mode does nothing without the hint). */
#define IX_HUGE_MIN ((size_t)4 << 20)
#define IX_HUGE_ALIGN ((size_t)2 << 20)

void *ix_alloc(size_t n) {
  n = (n + 63) & ~(size_t)63;
  if (n == 0)
    n = 64;
  void *p;
  if (n >= IX_HUGE_MIN) {
    n = (n + IX_HUGE_ALIGN - 1) & ~(IX_HUGE_ALIGN - 1);
    p = aligned_alloc(IX_HUGE_ALIGN, n);
#ifdef MADV_HUGEPAGE
    if (p)
      (void)madvise(p, n, MADV_HUGEPAGE); /* a hint: failure is harmless */
#endif
  } else {
    p = aligned_alloc(64, n);
  }
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
  f->kern32 = ks->k[IX_F32];
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
  ix_free(f->rres);
  ix_free(f->rnorm);
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
  float *tscale = NULL, *rres = NULL, *rnorm = NULL;
  if (!data)
    return ARGUS_E_NOMEM;
  if (f->elem != IX_F32) {
    rres = ix_alloc(cap * IX_LANES * sizeof *rres);
    rnorm = ix_alloc(cap * IX_LANES * sizeof *rnorm);
    if (!rres || !rnorm) {
      ix_free(data);
      ix_free(rres);
      ix_free(rnorm);
      return ARGUS_E_NOMEM;
    }
    if (f->cap_blocks) {
      memcpy(rres, f->rres, f->cap_blocks * IX_LANES * sizeof *rres);
      memcpy(rnorm, f->rnorm, f->cap_blocks * IX_LANES * sizeof *rnorm);
    }
  }
  if (f->elem == IX_S8) {
    tscale = ix_alloc(cap * IX_LANES * sizeof *tscale);
    if (!tscale) {
      ix_free(data);
      ix_free(rres);
      ix_free(rnorm);
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
  ix_free(f->rres);
  ix_free(f->rnorm);
  f->data = data;
  f->tscale = tscale;
  f->rres = rres;
  f->rnorm = rnorm;
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

/* x rounded up to a float (the bounds must not shrink in the rounding). */
static float round_up(double x) {
  float r = (float)x;
  return (double)r < x ? nextafterf(r, INFINITY) : r;
}

/* ||g - ĝ|| and ||ĝ|| of row r for unit vector g, with ĝ the stored copy
 * decoded exactly (int8: value times the float scale, a product double holds
 * exactly). In double: the rounding of these sums (about dim * 2^-53
 * relative) is far below the slack of the bound. */
static void row_error(const ix_flat *f, size_t r, const float *g, double *res,
                      double *norm) {
  const uint8_t *blk = f->data + (r / IX_LANES) * f->bbytes;
  size_t t = r % IX_LANES;
  double sr = 0.0, sn = 0.0;
  for (size_t j = 0; j < f->dim; j++) {
    double h;
    if (f->elem == IX_F16)
      h = (double)ix_f16_to_f32_1(
          ((const uint16_t *)(const void *)blk)[j * IX_LANES + t]);
    else
      h = (double)((int)blk[(j / 4) * 4 * IX_LANES + t * 4 + j % 4] - 128) *
          (double)f->tscale[r];
    double d = (double)g[j] - h;
    sr += d * d;
    sn += h * h;
  }
  *res = sqrt(sr);
  *norm = sqrt(sn);
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
  if (f->elem != IX_F32) {
    for (size_t i = 0; i < n; i++) {
      double res, norm;
      row_error(f, first + i, vecs + i * f->dim, &res, &norm);
      f->rres[first + i] = round_up(res);
      f->rnorm[first + i] = round_up(norm);
      f->res_max = fmaxf(f->res_max, f->rres[first + i]);
      f->norm_max = fmaxf(f->norm_max, f->rnorm[first + i]);
    }
  }
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
  if (f->elem != IX_F32) {
    if (move) {
      f->rres[row] = f->rres[last];
      f->rnorm[row] = f->rnorm[last];
    }
    f->rres[last] = 0.0f;
    f->rnorm[last] = 0.0f;
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
         (f->rres ? 2 * f->cap_blocks * IX_LANES * sizeof(float) : 0) +
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
  /* Refinement (win NULL: off): the lists keep up to their capacity every
   * row within win[q] below the k-th best compressed score; over[t*nq + q]
   * is set when thread t had to drop one. */
  const float *win;
  size_t k;
  uint8_t *over;
} flat_job;

/* The refinement's scan of one query's scores: keeps in t every row whose
 * score is at least the running k-th best minus win (rows below that are
 * beaten for certain by the k best, see flat_search), trimming the rows
 * the rising k-th leaves behind, so t holds only live candidates and a
 * full t means one is lost (*over). */
static inline void collect(ix_topk *t, const float *s, size_t nr, size_t r0,
                           const ix_filter *flt, size_t k, float win,
                           uint8_t *over) {
  float thr = t->n >= k ? t->score[k - 1] - win : -INFINITY;
  for (size_t i = 0; i < nr; i++) {
    if (!(s[i] >= thr))
      continue;
    if (flt && !ix_filter_pass(flt, r0 + i))
      continue;
    if (t->n == t->k)
      *over = 1;
    ix_topk_push(t, s[i], (uint32_t)(r0 + i));
    if (t->n >= k) {
      thr = t->score[k - 1] - win;
      while (t->n > k && t->score[t->n - 1] < thr)
        t->n--;
    }
  }
}

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
        size_t q = G->first + (size_t)qi;
        ix_topk *t = &tk[q];
        const float *s = sc + (size_t)qi * ld;
        if (J->win) {
          collect(t, s, nr, r0, a->filter, J->k, J->win[q],
                  &J->over[(size_t)tid * J->nq + q]);
          continue;
        }
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
 * s8 kernels for query qi of a group of gn. err (may be NULL) gets
 * ||x - x̂||, x̂ the dequantised query (value times the float scale). */
static void pack_s8(const float *x, size_t dim, size_t kdim, int qi, int gn,
                    int8_t *qs, float *scale, int32_t *sum, double *err) {
  float m = 0.0f;
  for (size_t j = 0; j < dim; j++)
    m = fmaxf(m, fabsf(x[j]));
  float inv = m > 0.0f ? 127.0f / m : 0.0f;
  int32_t s = 0;
  float sc = m / 127.0f;
  double e2 = 0.0;
  for (size_t j = 0; j < kdim; j++) {
    long q = j < dim ? lrintf(x[j] * inv) : 0;
    q = q > 127 ? 127 : q < -127 ? -127 : q;
    qs[((j / 4) * (size_t)gn + (size_t)qi) * 4 + j % 4] = (int8_t)q;
    s += (int32_t)q;
    if (j < dim) {
      double d = (double)x[j] - (double)q * (double)sc;
      e2 += d * d;
    }
  }
  *scale = sc;
  *sum = s;
  if (err)
    *err = sqrt(e2);
}

/* ---- refinement --------------------------------------------------------
 *
 * Why a compressed score says where fp32's is. With q the query as given,
 * g the unit template the fp32 backend would store and ĝ the stored copy
 * decoded exactly (q̂ the dequantised query for int8, q̂ = q for fp16):
 *   q·g - q̂·ĝ = q·(g - ĝ) + (q - q̂)·ĝ,
 * so by Cauchy-Schwarz |q·g - q̂·ĝ| <= ||q||·||g - ĝ|| + ||q - q̂||·||ĝ||.
 * Rounding: the fp32 kernel's sum of dim products differs from q·g by at
 * most γ·||q||·||g|| (γ = n·2^-24 / (1 - n·2^-24), n >= dim, any summation
 * order, FMA or not; ||g|| <= 1.001 for a normalised float vector), the
 * fp16 kernel's from q·ĝ by γ·||q||·||ĝ||, and the int8 score (an exact
 * integer dot product, converted and scaled: three roundings) from q̂·ĝ by
 * 3·2^-24·||q̂||·||ĝ|| <= γ·(||q|| + ||q - q̂||)·||ĝ||. Hence fp32's score s
 * of the row and the compressed one ŝ satisfy |s - ŝ| <= e with
 *   e = ||q - q̂||·||ĝ|| + ||q||·||g - ĝ||
 *       + γ·(1.001·||q|| + (||q|| + ||q - q̂||)·||ĝ||) + dim·2^-100,
 * the last term for flushed subnormals. n is dim + 8 (slack); the norms are
 * computed in double and rounded up; each e is widened by 1e-6 relative
 * for the double arithmetic around it.
 *
 * The scan keeps every row whose ŝ is within w = 2·E·1.001 (+ float slack),
 * E the bound with the index-wide maxima of ||g - ĝ|| and ||ĝ||, below the
 * k-th best ŝ: a row farther down has an upper bound ŝ + E below the lower
 * bound ŝ - E of each of the k best, so k rows beat it in fp32 too. Those
 * candidates go best-first by upper bound (refined rows: their fp32 score)
 * through a heap: the top is the next hit for certain when it is refined
 * or when its lower bound beats every other upper bound (ties broken by
 * row, as the fp32 backend breaks them); otherwise its fp32 template is
 * fetched and scored with the fp32 kernel, which gives the fp32 backend's
 * score bit for bit. So only rows whose rank the bound leaves open are
 * fetched, and the hits are fp32's. */

typedef struct rcand {
  double lo, hi; /* bounds on fp32's score; equal once refined */
  float val;     /* the compressed score, or fp32's once refined */
  uint32_t row;
  int done;      /* refined */
} rcand;

/* a ranks above b in the heap: higher upper bound, then lower row */
static inline int rc_above(const rcand *a, const rcand *b) {
  return a->hi > b->hi || (a->hi == b->hi && a->row < b->row);
}

static void rc_sift(rcand *h, size_t n, size_t i) {
  for (;;) {
    size_t l = 2 * i + 1, r = l + 1, m = i;
    if (l < n && rc_above(&h[l], &h[m]))
      m = l;
    if (r < n && rc_above(&h[r], &h[m]))
      m = r;
    if (m == i)
      return;
    rcand t = h[i];
    h[i] = h[m];
    h[m] = t;
    i = m;
  }
}

/* The error bound e of a row (see above) for a query of norm qn and
 * quantisation error qe. */
static double bound(const ix_flat *f, double qn, double qe, double res,
                    double norm) {
  double n = (double)(f->kdim + 8);
  double gam = n * 0x1p-24;
  gam /= 1.0 - gam;
  return qe * norm + qn * res + gam * (1.001 * qn + (qn + qe) * norm) +
         n * 0x1p-100;
}

/* Scratch of the refinement, allocated once per search. */
typedef struct rscratch {
  float *unit;  /* dim floats: the fetched template */
  float *blk;   /* one fp32 block (lane 0 used; the others stay zero) */
  float *sc;    /* IX_LANES scores */
  rcand *fb;    /* second-scan candidates (grown as needed) */
  size_t fb_cap;
  int8_t *qs;   /* int8: one query packed alone */
} rscratch;

/* Fetches row c's fp32 template and scores it like the fp32 backend. */
static argus_err refine_one(const ix_flat *f, const ix_search_args *a,
                            size_t qq, rscratch *rs, rcand *c) {
  argus_err e = a->fetch(a->fetch_ctx, c->row, rs->unit);
  if (e != ARGUS_OK)
    return e;
  double res, norm;
  row_error(f, c->row, rs->unit, &res, &norm);
  /* The bound rests on ||g - ĝ|| <= the stored value; a vector that breaks
   * it is not this row's template (a stale or wrong copy), beyond rounding. */
  if (!(res <= (double)f->rres[c->row] * 1.01 + 1e-6)) {
    argus_log(ARGUS_LOG_ERROR, "index",
              "refine: the fp32 vector supplied for row %u is %.3g from its "
              "stored copy, which was %.3g from the template added: not the "
              "same template",
              (unsigned)c->row, res, (double)f->rres[c->row]);
    return ARGUS_E_CORRUPT;
  }
  for (size_t j = 0; j < f->dim; j++)
    rs->blk[j * IX_LANES] = rs->unit[j];
  ix_qpack p = {.nq = 1, .dim = f->dim, .qf = a->q + qq * f->dim};
  f->kern32.tile(&p, rs->blk, NULL, 1, rs->sc, IX_LANES);
  c->val = rs->sc[0];
  c->lo = c->hi = (double)rs->sc[0];
  c->done = 1;
  return ARGUS_OK;
}

/* Ranks query qq's candidates c[0..n) (lo, hi set) best-first, refining
 * where needed, and writes its hits. */
static argus_err refine_query(const ix_flat *f, const ix_search_args *a,
                              size_t qq, rscratch *rs, rcand *c, size_t n) {
  size_t k = a->k, out = 0;
  for (size_t i = n / 2; i-- > 0;)
    rc_sift(c, n, i);
  while (out < k && n > 0) {
    rcand *top = &c[0];
    if (!top->done) {
      int certain = 1;
      if (n > 1) {
        const rcand *sec = n > 2 && rc_above(&c[2], &c[1]) ? &c[2] : &c[1];
        certain = top->lo > sec->hi ||
                  (top->lo == sec->hi && top->row < sec->row);
      }
      if (!certain || a->exact_scores) {
        argus_err e = refine_one(f, a, qq, rs, top);
        if (e != ARGUS_OK)
          return e;
        rc_sift(c, n, 0);
        continue;
      }
    }
    a->rows[qq * k + out] = top->row;
    a->scores[qq * k + out] = top->val * a->qinv[qq];
    out++;
    c[0] = c[--n];
    rc_sift(c, n, 0);
  }
  a->nfound[qq] = out;
  return ARGUS_OK;
}

/* A query that overflowed its candidate lists: scans every row again on the
 * calling thread and gathers those with a score >= thr into rs->fb. */
static argus_err collect_all(const ix_flat *f, const ix_search_args *a,
                             size_t qq, float thr, size_t tile, float *sc,
                             rscratch *rs, size_t *nout) {
  size_t dim = f->dim, n = 0;
  const float *x = a->q + qq * dim;
  float qscale;
  int32_t qsum;
  ix_qpack p = {.nq = 1, .dim = f->kdim};
  if (f->elem == IX_S8) {
    pack_s8(x, dim, f->kdim, 0, 1, rs->qs, &qscale, &qsum, NULL);
    p.qs = rs->qs;
    p.qscale = &qscale;
    p.qsum = &qsum;
  } else {
    p.qf = x;
  }
  size_t nblocks = (a->count + IX_LANES - 1) / IX_LANES, ld = tile * IX_LANES;
  for (size_t b0 = 0; b0 < nblocks; b0 += tile) {
    size_t nb = nblocks - b0 < tile ? nblocks - b0 : tile;
    size_t r0 = b0 * IX_LANES;
    size_t nr = a->count - r0 < nb * IX_LANES ? a->count - r0 : nb * IX_LANES;
    f->kern.tile(&p, f->data + b0 * f->bbytes,
                 f->tscale ? f->tscale + r0 : NULL, nb, sc, ld);
    for (size_t i = 0; i < nr; i++) {
      if (!(sc[i] >= thr) || (a->filter && !ix_filter_pass(a->filter, r0 + i)))
        continue;
      if (n == rs->fb_cap) {
        size_t cap = rs->fb_cap ? rs->fb_cap * 2 : 4096;
        rcand *nf = realloc(rs->fb, cap * sizeof *nf);
        if (!nf)
          return ARGUS_E_NOMEM;
        rs->fb = nf;
        rs->fb_cap = cap;
      }
      rs->fb[n].val = sc[i];
      rs->fb[n].row = (uint32_t)(r0 + i);
      n++;
    }
  }
  *nout = n;
  return ARGUS_OK;
}

/* Packs the queries p0 .. p0 + nq of a pass into groups of nearly equal
 * size, each at most max_q, in the layout the scan kernels take. Returns
 * the number of groups. */
static size_t pack_pass(const ix_flat *f, const ix_search_args *a, size_t p0,
                        size_t nq, size_t max_q, int refine, qgroup *groups,
                        int8_t *qs, float *qscale, int32_t *qsum, float *qf,
                        double *qe) {
  size_t dim = f->dim, kdim = f->kdim;
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
                dst, &qscale[first + i], &qsum[first + i],
                refine ? &qe[first + i] : NULL);
      G->pack.qs = dst;
      G->pack.qscale = qscale + first;
      G->pack.qsum = qsum + first;
    } else {
      float *dst = qf + first * dim;
      for (size_t i = 0; i < gn; i++) {
        const float *x = a->q + (p0 + first + i) * dim;
        for (size_t j = 0; j < dim; j++)
          dst[j * gn + i] = x[j];
        if (refine)
          qe[first + i] = 0.0;
      }
      G->pack.qf = dst;
    }
    first += gn;
  }
  return ng;
}

/* Each query's norm and the window below the k-th compressed score in
 * which a candidate may still be among the exact top k. */
static void refine_windows(const ix_flat *f, const ix_search_args *a,
                           size_t p0, size_t nq, const double *qe, double *qn,
                           float *win) {
  size_t dim = f->dim;
  for (size_t q = 0; q < nq; q++) {
    const float *x = a->q + (p0 + q) * dim;
    double s2 = 0.0;
    for (size_t j = 0; j < dim; j++)
      s2 += (double)x[j] * (double)x[j];
    qn[q] = sqrt(s2) * (1.0 + 1e-12);
    double E = bound(f, qn[q], qe[q], f->res_max, f->norm_max);
    /* + the rounding of k-th - w in float (|k-th| <= (qn+qe)·norm_max) */
    win[q] = round_up(2.0 * E * 1.001 +
                      4 * 0x1p-24 * (qn[q] + qe[q]) * f->norm_max);
  }
}

/* What the exact re-ranking of one query of a pass needs. */
typedef struct refine_ctx {
  ix_flat *f;
  const ix_search_args *a;
  size_t q, nq; /* the query within the pass, and the pass's size */
  int T;
  size_t tile;
  float *scores;
  const ix_topk *topk; /* per thread and query */
  const uint8_t *over; /* per thread and query: a top-k overflowed */
  double qn, qe;
  float win;
  rcand *cand;
  rscratch *rs;
} refine_ctx;

/* Query qq of a compressed index: the candidates within the window of the
 * merged k-th score (or, when a thread's top k overflowed it, every row
 * over the threshold), each with its error bound, re-ranked exactly. */
static argus_err finish_refined(const refine_ctx *r, const ix_topk *merged,
                                size_t qq) {
  size_t k = r->a->k;
  float thr = merged->n == k ? merged->score[k - 1] - r->win : -INFINITY;
  int lost = 0;
  for (int t = 0; t < r->T; t++)
    lost |= r->over[(size_t)t * r->nq + r->q];
  rcand *c = r->cand;
  size_t nc = 0;
  if (lost) {
    argus_err err =
        collect_all(r->f, r->a, qq, thr, r->tile, r->scores, r->rs, &nc);
    if (err != ARGUS_OK)
      return err;
    c = r->rs->fb;
  } else {
    for (int t = 0; t < r->T; t++) {
      const ix_topk *src = &r->topk[(size_t)t * r->nq + r->q];
      for (size_t i = 0; i < src->n; i++) {
        if (src->score[i] >= thr) {
          c[nc].val = src->score[i];
          c[nc].row = src->row[i];
          nc++;
        }
      }
    }
  }
  for (size_t i = 0; i < nc; i++) {
    double e = bound(r->f, r->qn, r->qe, r->f->rres[c[i].row],
                     r->f->rnorm[c[i].row]) *
               (1.0 + 1e-6);
    c[i].lo = (double)c[i].val - e;
    c[i].hi = (double)c[i].val + e;
    c[i].done = 0;
  }
  return refine_query(r->f, r->a, qq, r->rs, c, nc);
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
  int refine = a->fetch && f->elem != IX_F32;
  /* candidates kept per thread and query */
  size_t cap = refine ? 2 * k + REFINE_EXTRA : k;
  size_t max_q = (size_t)f->kern.max_q;
  size_t tile = TILE_BYTES / f->bbytes;
  tile = tile < 2 ? 2 : tile & ~(size_t)1;
  /* queries per pass: bounded by the per-thread top-k memory */
  size_t per_q = cap * (sizeof(float) + sizeof(uint32_t));
  size_t pass = TOPK_BYTES / (per_q * (size_t)T);
  if (pass < max_q)
    pass = max_q;
  if (pass > a->nq)
    pass = a->nq;

  argus_err err = ARGUS_E_NOMEM;
  /* all scratch from the thread's arena (no allocation once warm) */
  size_t mark = ix_arena_mark();
  size_t ngroups_max = (pass + max_q - 1) / max_q;
  qgroup *groups = ix_arena_calloc(ngroups_max * sizeof *groups);
  float *qf = NULL, *qscale = NULL;
  int8_t *qs = NULL;
  int32_t *qsum = NULL;
  double *qn = NULL, *qe = NULL;
  float *win = NULL;
  uint8_t *over = NULL;
  rcand *cand = NULL;
  rscratch rs = {0};
  if (f->elem == IX_S8) {
    qs = ix_arena_calloc(pass * kdim);
    qscale = ix_arena_alloc(pass * sizeof *qscale);
    qsum = ix_arena_alloc(pass * sizeof *qsum);
  } else {
    qf = ix_arena_calloc(pass * dim * sizeof *qf);
  }
  float *scores =
      ix_arena_alloc((size_t)T * max_q * tile * IX_LANES * sizeof *scores);
  ix_topk *topk = ix_arena_calloc((size_t)T * pass * sizeof *topk);
  float *tk_score = ix_arena_alloc((size_t)T * pass * cap * sizeof *tk_score);
  uint32_t *tk_row = ix_arena_alloc((size_t)T * pass * cap * sizeof *tk_row);
  ix_topk merged = {ix_arena_alloc(k * sizeof(float)), ix_arena_alloc(k * sizeof(uint32_t)),
                    0, k};
  if (!groups || (f->elem == IX_S8 ? !qs || !qscale || !qsum : !qf) ||
      !scores || !topk || !tk_score || !tk_row || !merged.score ||
      !merged.row)
    goto out;
  if (refine) {
    qn = ix_arena_alloc(pass * sizeof *qn);
    qe = ix_arena_alloc(pass * sizeof *qe);
    win = ix_arena_alloc(pass * sizeof *win);
    over = ix_arena_alloc((size_t)T * pass);
    cand = ix_arena_alloc((size_t)T * cap * sizeof *cand);
    rs.unit = ix_arena_alloc(dim * sizeof *rs.unit);
    rs.blk = ix_arena_calloc(dim * IX_LANES * sizeof *rs.blk);
    rs.sc = ix_arena_calloc(IX_LANES * sizeof *rs.sc);
    rs.qs = ix_arena_calloc(kdim);
    if (!qn || !qe || !win || !over || !cand || !rs.unit || !rs.blk ||
        !rs.sc || !rs.qs)
      goto out;
  }

  for (size_t p0 = 0; p0 < a->nq; p0 += pass) {
    size_t nq = a->nq - p0 < pass ? a->nq - p0 : pass;
    size_t ng = pack_pass(f, a, p0, nq, max_q, refine, groups, qs, qscale,
                          qsum, qf, qe);
    if (refine) {
      refine_windows(f, a, p0, nq, qe, qn, win);
      memset(over, 0, (size_t)T * nq);
    }
    for (size_t i = 0; i < (size_t)T * nq; i++) {
      topk[i].score = tk_score + i * cap;
      topk[i].row = tk_row + i * cap;
      topk[i].n = 0;
      topk[i].k = cap;
    }
    flat_job job = {f, a, nq, tile, ng, groups, scores, topk,
                    refine ? win : NULL, k, over};
    argus_threadpool_parallel_for(T > 1 ? a->pool : NULL, nblocks, tile,
                                  flat_task, &job);
    for (size_t q = 0; q < nq; q++) {
      merged.n = 0;
      for (int t = 0; t < T; t++) {
        const ix_topk *src = &topk[(size_t)t * nq + q];
        for (size_t i = 0; i < src->n && i < k; i++)
          ix_topk_push(&merged, src->score[i], src->row[i]);
      }
      size_t qq = p0 + q;
      if (!refine) {
        for (size_t i = 0; i < merged.n; i++) {
          a->rows[qq * k + i] = merged.row[i];
          a->scores[qq * k + i] = merged.score[i] * a->qinv[qq];
        }
        a->nfound[qq] = merged.n;
        continue;
      }
      refine_ctx rc = {f,  a,    q,    nq,      T,     tile, scores, topk,
                       over, qn[q], qe[q], win[q], cand, &rs};
      err = finish_refined(&rc, &merged, qq);
      if (err != ARGUS_OK)
        goto out;
    }
  }
  err = ARGUS_OK;
out:
  free(rs.fb);
  ix_arena_release(mark);
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
