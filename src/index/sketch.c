/*
 * Approximate backend "SRP<bits>": sign random projections and an exact
 * re-rank (index_internal.h's ops; docs/index.md, "Sketch index").
 *
 * Every template gets a bits-long code: bit b is the sign of its dot
 * product with projection b, taken relative to a centre (the mean of the
 * first batch added, when it has at least 256 templates: real embeddings
 * share a common direction that would otherwise make most bits agree for
 * everyone; zero otherwise). Projections are seeded Gaussian vectors,
 * orthonormalised in groups of dim (so for bits <= dim they are a random
 * rotation's first rows). Two vectors at angle θ disagree on each bit with
 * probability θ/π, so the Hamming distance of codes estimates the angle: a
 * probe of an enrolled person (cosine 0.5-0.7 to its template, θ ≈ 45-60°)
 * sits far below the crowd of other templates (θ ≈ 80-90°, half the bits).
 *
 * A search projects the query (the fp32 tile kernel: the projections are
 * stored as 16-wide blocks like exact templates), scans every code (XOR +
 * popcount, 16 templates per step, AVX-512 VPOPCNTQ / POPCNT / C), keeps
 * the `cand` closest codes (a max-heap with a threshold, so the scan skips
 * almost all templates with one compare per 16), and re-ranks those
 * candidates with exact fp32 dot products on the stored unit vectors. The
 * scores returned are exact; recall depends only on whether the best match
 * is among the candidates. cand = 16 x efSearch (1,024 at the default 64:
 * real embeddings have a wider crowd of strangers than uniform random
 * vectors, and matches near the decision threshold need that breadth at
 * scale; a gallery of well-separated probes can run at efSearch 1-4).
 *
 * Codes: blocks of 16 templates, word w of lane t at block*nw*16 + w*16 + t
 * (nw = bits / 64), unused lanes zero. Vectors: row-major, dim floats per
 * row. Removal moves the last row into the freed one, like the flat
 * backends: no dead entries, nothing to rebuild. Building is one projection
 * per template.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "index/index_internal.h"
#include "index/kernels/kernels.h"

#define SK_MAX_BITS 1024
#define SK_SEED 0x5eed5eedu
#define SK_CAND_PER_EF 16
/* The first batch sets the centre when it has at least this many rows. */
#define SK_CENTRE_MIN 256

typedef struct ix_sketch {
  size_t dim, bits, nw;
  float *proj;     /* bits/16 blocks of the fp32 tile layout */
  float *pm;       /* bits: projections of the centre (0 until set) */
  int centred;
  uint64_t *codes; /* cap/16 blocks */
  float *vec;      /* cap rows */
  size_t cap, n;
  int ef;
  ix_hamming_scan_fn scan; /* the index table's (ISA dispatched) */
  const char *scan_isa;
  ix_dot_fn dot; /* the index table's fp32 dot (ISA dispatched) */
  ix_kernel k32;
  char name[32];
} ix_sketch;

/* ---- scan kernels ------------------------------------------------------ */

/* The Hamming scan kernels this CPU can run, reference first (tests): the
 * distinct `scan` entries of the index's kernel tables (kernels/). */
int ix_sketch_scans(ix_sketch_scan *out, int max) {
  const ix_kernels *t[IX_MAX_TABLES];
  int nt = ix_kernel_tables_all(t, IX_MAX_TABLES), n = 0;
  for (int i = 0; i < nt && n < max; i++) {
    int seen = 0;
    for (int j = 0; j < n; j++)
      seen |= out[j].fn == (void *)t[i]->scan;
    if (!seen)
      out[n++] = (ix_sketch_scan){t[i]->scan_isa, (void *)t[i]->scan};
  }
  return n;
}

/* ---- projections -------------------------------------------------------- */

static uint64_t sk_next(uint64_t *s) {
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return *s;
}

static double sk_gauss(uint64_t *s) {
  double u = ((double)(sk_next(s) >> 11) + 0.5) * 0x1p-53;
  double v = ((double)(sk_next(s) >> 11) + 0.5) * 0x1p-53;
  return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

/* bits x dim Gaussian rows, orthonormalised (modified Gram-Schmidt) in
 * groups of dim, written into the tile layout. */
static int make_proj(ix_sketch *S) {
  size_t bits = S->bits, dim = S->dim;
  double *r = malloc(bits * dim * sizeof *r);
  if (!r)
    return -1;
  uint64_t st = SK_SEED;
  for (size_t i = 0; i < bits * dim; i++)
    r[i] = sk_gauss(&st);
  for (size_t i = 0; i < bits; i++) {
    double *x = r + i * dim;
    size_t g0 = i / dim * dim;
    for (size_t j = g0; j < i; j++) {
      const double *y = r + j * dim;
      double p = 0;
      for (size_t t = 0; t < dim; t++)
        p += x[t] * y[t];
      for (size_t t = 0; t < dim; t++)
        x[t] -= p * y[t];
    }
    double nn = 0;
    for (size_t t = 0; t < dim; t++)
      nn += x[t] * x[t];
    nn = nn > 0 ? 1.0 / sqrt(nn) : 0.0;
    for (size_t t = 0; t < dim; t++)
      x[t] *= nn;
  }
  /* block layout: (projection p, dim j) of block p/16 at j*16 + p%16 */
  for (size_t p = 0; p < bits; p++)
    for (size_t j = 0; j < dim; j++)
      S->proj[(p / IX_LANES) * dim * IX_LANES + j * IX_LANES + p % IX_LANES] =
          (float)r[p * dim + j];
  free(r);
  return 0;
}

/* Codes of n vectors (row-major) into codes[i*nw ..]: packs up to max_q of
 * them as a query group for the fp32 tile kernel. qf: dim * max_q floats,
 * sc: max_q * bits floats. */
static void encode(const ix_sketch *S, size_t n, const float *x,
                   uint64_t *codes, float *qf, float *sc) {
  size_t dim = S->dim, bits = S->bits, nw = S->nw;
  size_t max_q = (size_t)S->k32.max_q;
  for (size_t i0 = 0; i0 < n; i0 += max_q) {
    size_t nq = n - i0 < max_q ? n - i0 : max_q;
    for (size_t q = 0; q < nq; q++)
      for (size_t j = 0; j < dim; j++)
        qf[j * nq + q] = x[(i0 + q) * dim + j];
    ix_qpack pk = {(int)nq, dim, qf, NULL, NULL, NULL};
    S->k32.tile(&pk, S->proj, NULL, bits / IX_LANES, sc, bits);
    for (size_t q = 0; q < nq; q++) {
      uint64_t *c = codes + (i0 + q) * nw;
      for (size_t w = 0; w < nw; w++) {
        uint64_t v = 0;
        for (size_t b = 0; b < 64; b++)
          v |= (uint64_t)(sc[q * bits + w * 64 + b] >= S->pm[w * 64 + b])
               << b;
        c[w] = v;
      }
    }
  }
}

/* ---- ops ---------------------------------------------------------------- */

/* "SRP<bits>", bits a multiple of 64 up to SK_MAX_BITS; 0 if not one. */
size_t ix_sketch_bits(const char *factory) {
  unsigned bits = 0;
  int used = 0;
  if (!factory || sscanf(factory, "SRP%u%n", &bits, &used) != 1 ||
      factory[used] != 0 || bits == 0 || bits % 64 || bits > SK_MAX_BITS)
    return 0;
  return bits;
}

static argus_err sk_create(const ix_params *p, void **ctx) {
  size_t bits = ix_sketch_bits(p->factory);
  if (!bits) {
    argus_log(ARGUS_LOG_WARN, "index",
              "sketch: \"%s\" is not SRP<bits> with bits a multiple of 64 "
              "up to %d",
              p->factory ? p->factory : "", SK_MAX_BITS);
    return ARGUS_E_INVALID_ARG;
  }
  ix_sketch *S = calloc(1, sizeof *S);
  if (!S)
    return ARGUS_E_NOMEM;
  S->dim = p->dim;
  S->bits = bits;
  S->nw = bits / 64;
  S->ef = p->ef_search > 0 ? p->ef_search : 64;
  S->k32 = ix_kernels_get()->k[IX_F32];
  S->proj = ix_alloc(bits * p->dim * sizeof *S->proj);
  S->pm = ix_alloc(bits * sizeof *S->pm);
  if (!S->proj || !S->pm || make_proj(S) != 0) {
    ix_free(S->proj);
    ix_free(S->pm);
    free(S);
    return ARGUS_E_NOMEM;
  }
  const ix_kernels *kt = ix_kernels_get();
  S->scan = kt->scan;
  S->scan_isa = kt->scan_isa;
  S->dot = kt->dot;
  snprintf(S->name, sizeof S->name, "SRP%zu", bits);
  *ctx = S;
  return ARGUS_OK;
}

static void sk_destroy(void *ctx) {
  ix_sketch *S = ctx;
  if (!S)
    return;
  ix_free(S->proj);
  ix_free(S->pm);
  ix_free(S->codes);
  ix_free(S->vec);
  free(S);
}

static argus_err sk_reserve(void *ctx, size_t rows) {
  ix_sketch *S = ctx;
  if (rows <= S->cap)
    return ARGUS_OK;
  size_t cap = S->cap + S->cap / 2;
  if (cap < rows)
    cap = rows;
  cap = (cap + IX_LANES - 1) / IX_LANES * IX_LANES;
  uint64_t *codes = ix_alloc(cap * S->nw * sizeof *codes);
  float *vec = ix_alloc(cap * S->dim * sizeof *vec);
  if (!codes || !vec) {
    ix_free(codes);
    ix_free(vec);
    return ARGUS_E_NOMEM;
  }
  if (S->n) {
    memcpy(codes, S->codes, S->cap * S->nw * sizeof *codes);
    memcpy(vec, S->vec, S->n * S->dim * sizeof *vec);
  }
  ix_free(S->codes);
  ix_free(S->vec);
  S->codes = codes;
  S->vec = vec;
  S->cap = cap;
  return ARGUS_OK;
}

static void put_code(ix_sketch *S, size_t row, const uint64_t *c) {
  uint64_t *blk = S->codes + row / IX_LANES * S->nw * IX_LANES;
  for (size_t w = 0; w < S->nw; w++)
    blk[w * IX_LANES + row % IX_LANES] = c[w];
}

static void get_code(const ix_sketch *S, size_t row, uint64_t *c) {
  const uint64_t *blk = S->codes + row / IX_LANES * S->nw * IX_LANES;
  for (size_t w = 0; w < S->nw; w++)
    c[w] = blk[w * IX_LANES + row % IX_LANES];
}

/* Centres the codes on the mean of the first batch added: real embeddings
 * share a common direction, and signs of projections of the centred
 * vectors spend every bit on what tells templates apart. */
static void set_centre(ix_sketch *S, size_t n, const float *vecs, float *qf,
                       float *sc) {
  size_t dim = S->dim;
  double *m = calloc(dim, sizeof *m);
  float *mf = malloc(dim * sizeof *mf);
  if (m && mf) {
    for (size_t i = 0; i < n; i++)
      for (size_t j = 0; j < dim; j++)
        m[j] += vecs[i * dim + j];
    for (size_t j = 0; j < dim; j++)
      mf[j] = (float)(m[j] / (double)n);
    for (size_t j = 0; j < dim; j++)
      qf[j] = mf[j];
    ix_qpack pk = {1, dim, qf, NULL, NULL, NULL};
    S->k32.tile(&pk, S->proj, NULL, S->bits / IX_LANES, sc, S->bits);
    memcpy(S->pm, sc, S->bits * sizeof *sc);
    S->centred = 1;
  }
  free(m);
  free(mf);
}

static argus_err sk_add(void *ctx, size_t first, size_t n, const float *vecs) {
  ix_sketch *S = ctx;
  if (first + n > S->cap)
    return ARGUS_E_INTERNAL;
  size_t max_q = (size_t)S->k32.max_q;
  size_t mark = ix_arena_mark();
  float *qf = ix_arena_alloc(S->dim * max_q * sizeof *qf);
  float *sc = ix_arena_alloc(max_q * S->bits * sizeof *sc);
  uint64_t *c = ix_arena_alloc(max_q * S->nw * sizeof *c);
  if (!qf || !sc || !c) {
    ix_arena_release(mark);
    return ARGUS_E_NOMEM;
  }
  if (!S->centred && S->n == 0 && first == 0 && n >= SK_CENTRE_MIN)
    set_centre(S, n, vecs, qf, sc);
  for (size_t i0 = 0; i0 < n; i0 += max_q) {
    size_t m = n - i0 < max_q ? n - i0 : max_q;
    encode(S, m, vecs + i0 * S->dim, c, qf, sc);
    for (size_t i = 0; i < m; i++)
      put_code(S, first + i0 + i, c + i * S->nw);
  }
  memcpy(S->vec + first * S->dim, vecs, n * S->dim * sizeof *vecs);
  ix_arena_release(mark);
  if (first + n > S->n)
    S->n = first + n;
  return ARGUS_OK;
}

static void sk_remove(void *ctx, size_t row, size_t last) {
  ix_sketch *S = ctx;
  uint64_t c[SK_MAX_BITS / 64], zero[SK_MAX_BITS / 64] = {0};
  if (row != last) {
    get_code(S, last, c);
    put_code(S, row, c);
    memcpy(S->vec + row * S->dim, S->vec + last * S->dim,
           S->dim * sizeof *S->vec);
  }
  put_code(S, last, zero);
  S->n = last;
}

static argus_err sk_get(void *ctx, size_t row, float *out) {
  ix_sketch *S = ctx;
  memcpy(out, S->vec + row * S->dim, S->dim * sizeof *out);
  return ARGUS_OK;
}

/* Candidate heap: max-heap on (dist, row), the worst candidate on top. */
static int cand_worse(uint32_t da, uint32_t ra, uint32_t db, uint32_t rb) {
  return da > db || (da == db && ra > rb);
}

static void heap_swap(uint32_t *d, uint32_t *r, size_t i, size_t j) {
  uint32_t td = d[i], tr = r[i];
  d[i] = d[j];
  r[i] = r[j];
  d[j] = td;
  r[j] = tr;
}

static void heap_sift_down(uint32_t *d, uint32_t *r, size_t n, size_t i) {
  for (;;) {
    size_t l = 2 * i + 1, w = i;
    if (l < n && cand_worse(d[l], r[l], d[w], r[w]))
      w = l;
    if (l + 1 < n && cand_worse(d[l + 1], r[l + 1], d[w], r[w]))
      w = l + 1;
    if (w == i)
      return;
    heap_swap(d, r, i, w);
    i = w;
  }
}

static void heap_push(uint32_t *d, uint32_t *r, size_t *n, uint32_t dist,
                      uint32_t row) {
  size_t i = (*n)++;
  d[i] = dist;
  r[i] = row;
  while (i > 0) {
    size_t p = (i - 1) / 2;
    if (!cand_worse(d[i], r[i], d[p], r[p]))
      break;
    heap_swap(d, r, i, p);
    i = p;
  }
}

#define SK_CHUNK_BLOCKS 256

typedef struct sk_job {
  const ix_sketch *S;
  const ix_search_args *a;
  size_t cand;
  int failed; /* set (by any thread) when scratch ran out */
} sk_job;

/* Keeps (d, r) among the cand best of one query's heap. */
static void heap_offer(uint32_t *hd, uint32_t *hr, size_t *hn, size_t cand,
                       uint32_t *thr, uint32_t d, uint32_t r) {
  if (*hn < cand) {
    heap_push(hd, hr, hn, d, r);
  } else if (cand_worse(hd[0], hr[0], d, r)) {
    hd[0] = d;
    hr[0] = r;
    heap_sift_down(hd, hr, *hn, 0);
  } else {
    return;
  }
  if (*hn == cand)
    *thr = hd[0] + 1; /* ties with the worst may still enter */
}

/* Queries [q0, q1) of a search, on the calling thread's arena. Queries go
 * in groups of up to max_q: each chunk of codes (SK_CHUNK_BLOCKS blocks,
 * 128 KiB at 256 bits) is scanned for every query of the group while it is
 * in cache, so a batch streams the codes from memory once per group. */
static void sk_task(void *ctx, size_t q0, size_t q1, int tid) {
  (void)tid;
  sk_job *J = ctx;
  const ix_sketch *S = J->S;
  const ix_search_args *a = J->a;
  size_t n = a->count, dim = S->dim, nw = S->nw, k = a->k, cand = J->cand;
  size_t nblocks = (n + IX_LANES - 1) / IX_LANES;
  size_t max_q = (size_t)S->k32.max_q;
  size_t mark = ix_arena_mark();
  float *qf = ix_arena_alloc(dim * max_q * sizeof *qf);
  float *sc = ix_arena_alloc(max_q * S->bits * sizeof *sc);
  uint64_t *qc = ix_arena_alloc(max_q * nw * sizeof *qc);
  uint32_t *hd = ix_arena_alloc(max_q * (cand + 1) * sizeof *hd);
  uint32_t *hr = ix_arena_alloc(max_q * (cand + 1) * sizeof *hr);
  size_t *hn = ix_arena_alloc(max_q * sizeof *hn);
  uint32_t *thr = ix_arena_alloc(max_q * sizeof *thr);
  uint32_t *od = ix_arena_alloc(SK_CHUNK_BLOCKS * IX_LANES * sizeof *od);
  uint32_t *orow = ix_arena_alloc(SK_CHUNK_BLOCKS * IX_LANES * sizeof *orow);
  float *tks = ix_arena_alloc(k * sizeof *tks);
  uint32_t *tkr = ix_arena_alloc(k * sizeof *tkr);
  if (!qf || !sc || !qc || !hd || !hr || !hn || !thr || !od || !orow ||
      !tks || !tkr) {
    __atomic_store_n(&J->failed, 1, __ATOMIC_RELAXED);
    ix_arena_release(mark);
    return;
  }
  for (size_t g0 = q0; g0 < q1; g0 += max_q) {
    size_t nq = q1 - g0 < max_q ? q1 - g0 : max_q;
    encode(S, nq, a->q + g0 * dim, qc, qf, sc);
    /* 1. the cand closest codes of every query of the group */
    for (size_t qi = 0; qi < nq; qi++) {
      hn[qi] = 0;
      thr[qi] = (uint32_t)S->bits + 1;
    }
    for (size_t b = 0; b < nblocks; b += SK_CHUNK_BLOCKS) {
      size_t nb = nblocks - b < SK_CHUNK_BLOCKS ? nblocks - b : SK_CHUNK_BLOCKS;
      for (size_t qi = 0; qi < nq; qi++) {
        uint32_t *d_ = hd + qi * (cand + 1), *r_ = hr + qi * (cand + 1);
        size_t m = S->scan(S->codes, nw, b, nb, qc + qi * nw, thr[qi], orow, od);
        for (size_t i = 0; i < m; i++) {
          uint32_t r = orow[i], d = od[i];
          if (r >= n || d >= thr[qi])
            continue;
          if (a->filter && !ix_filter_pass(a->filter, r))
            continue;
          heap_offer(d_, r_, &hn[qi], cand, &thr[qi], d, r);
        }
      }
    }
    /* 2. exact re-rank of each query's candidates (rows prefetched 4
     * ahead) */
    for (size_t qi = 0; qi < nq; qi++) {
      size_t qq = g0 + qi, h = hn[qi];
      const float *x = a->q + qq * dim;
      const uint32_t *rows = hr + qi * (cand + 1);
      ix_topk tk = {tks, tkr, 0, k};
      for (size_t i = 0; i < 4 && i < h; i++)
        for (size_t o = 0; o < dim * sizeof(float); o += 64)
          __builtin_prefetch((const char *)(S->vec + (size_t)rows[i] * dim) +
                             o);
      for (size_t i = 0; i < h; i++) {
        if (i + 4 < h)
          for (size_t o = 0; o < dim * sizeof(float); o += 64)
            __builtin_prefetch(
                (const char *)(S->vec + (size_t)rows[i + 4] * dim) + o);
        float s = S->dot(x, S->vec + (size_t)rows[i] * dim, dim);
        ix_topk_push(&tk, s, rows[i]);
      }
      for (size_t i = 0; i < tk.n; i++) {
        a->rows[qq * k + i] = tk.row[i];
        a->scores[qq * k + i] = tk.score[i] * a->qinv[qq];
      }
      a->nfound[qq] = tk.n;
    }
  }
  ix_arena_release(mark);
}

static argus_err sk_search(void *ctx, const ix_search_args *a) {
  ix_sketch *S = ctx;
  size_t cand = (size_t)S->ef * SK_CAND_PER_EF;
  if (cand < a->k)
    cand = a->k;
  if (cand > a->count)
    cand = a->count;
  sk_job J = {S, a, cand, 0};
  /* queries spread over the pool in groups that share their scans */
  int T = a->threads > 0 ? a->threads : 1;
  size_t max_q = (size_t)S->k32.max_q;
  size_t grain = (a->nq + (size_t)T - 1) / (size_t)T;
  grain = grain < 1 ? 1 : grain > max_q ? max_q : grain;
  argus_threadpool_parallel_for(T > 1 && a->nq > 1 ? a->pool : NULL, a->nq,
                                grain, sk_task, &J);
  return J.failed ? ARGUS_E_NOMEM : ARGUS_OK;
}

static size_t sk_bytes(const void *ctx) {
  const ix_sketch *S = ctx;
  return sizeof *S + S->bits * S->dim * sizeof(float) +
         S->cap * (S->nw * sizeof(uint64_t) + S->dim * sizeof(float));
}

static void sk_describe(const void *ctx, char *buf, size_t len) {
  const ix_sketch *S = ctx;
  snprintf(buf, len, "sketch:%s%s/%s x%d", S->name, S->centred ? "c" : "",
           S->scan_isa, S->ef * SK_CAND_PER_EF);
}

static void sk_set_search(void *ctx, const ix_params *p) {
  ix_sketch *S = ctx;
  if (p->ef_search > 0)
    S->ef = p->ef_search;
}

const ix_backend_ops ix_sketch_ops = {
    .kind = ARGUS_INDEX_APPROX,
    .create = sk_create,
    .destroy = sk_destroy,
    .reserve = sk_reserve,
    .add = sk_add,
    .remove = sk_remove,
    .get = sk_get,
    .search = sk_search,
    .bytes = sk_bytes,
    .describe = sk_describe,
    .dead = NULL,
    .set_search = sk_set_search,
};
