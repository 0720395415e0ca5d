/*
 * Inside the index module: the backend interface (a const ops table plus a
 * context), shared by the exact backends (flat.c) and the approximate ones:
 * the sketch index (sketch.c, "SRP<bits>", the default) and FAISS (approx.c,
 * any other factory string, when built with FAISS). index.c owns ids,
 * watchlists, locking and the choice of backend; a backend only knows rows
 * 0..count-1 holding unit vectors.
 */
#ifndef ARGUS_INDEX_INTERNAL_H
#define ARGUS_INDEX_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "argus/index.h"

#define IX_DEAD_ROW UINT32_MAX

typedef struct ix_params {
  size_t dim;
  const char *factory; /* approximate backend: "SRP<bits>" or FAISS's */
  int ef_search, ef_construction, nprobe;
} ix_params;

/* Which rows are candidates: row r is when bit row_slot[r] of allow is set.
 * A NULL filter pointer means every row. */
typedef struct ix_filter {
  const uint32_t *row_slot;
  const uint64_t *allow;
} ix_filter;

static inline int ix_filter_pass(const ix_filter *f, size_t row) {
  uint32_t s = f->row_slot[row];
  return (int)((f->allow[s >> 6] >> (s & 63)) & 1u);
}

typedef struct ix_search_args {
  const float *q;     /* nq x dim, as the caller gave them */
  const float *qinv;  /* 1 / |q| per query */
  size_t nq, dim, k;
  size_t count;       /* rows in use */
  const ix_filter *filter; /* NULL: all rows */
  argus_threadpool *pool;  /* NULL: the calling thread only */
  int threads;             /* threads the pool has (1 when NULL) */
  /* Exact re-ranking (compressed backends; fetch NULL: off): writes the
   * unit fp32 template of `row`, normalised exactly as add's callers do
   * (index.c), to unit (dim floats). exact_scores: re-score every hit
   * returned (argus_index_refine). */
  argus_err (*fetch)(void *fetch_ctx, uint32_t row, float *unit);
  void *fetch_ctx;
  int exact_scores;
  /* out: nq x k rows and scores (score already divided by |q|), best
   * first, and the number found per query */
  uint32_t *rows;
  float *scores;
  size_t *nfound;
} ix_search_args;

typedef struct ix_backend_ops {
  argus_index_kind kind;
  argus_err (*create)(const ix_params *p, void **ctx);
  void (*destroy)(void *ctx);
  /* Room for `rows` rows (never shrinks). */
  argus_err (*reserve)(void *ctx, size_t rows);
  /* Stores unit vectors vecs[i*dim..] as rows first .. first+n-1 (room was
   * reserved). On error nothing was stored. */
  argus_err (*add)(void *ctx, size_t first, size_t n, const float *vecs);
  /* Drops row `row`: row `last` (the last row in use) moves into its place
   * when they differ. Never fails. */
  void (*remove)(void *ctx, size_t row, size_t last);
  /* Decodes row into dim floats (used to move templates between backends). */
  argus_err (*get)(void *ctx, size_t row, float *out);
  argus_err (*search)(void *ctx, const ix_search_args *a);
  size_t (*bytes)(const void *ctx);
  void (*describe)(const void *ctx, char *buf, size_t len);
  /* Removed rows still taking room (FAISS, which cannot delete from HNSW),
   * else NULL. */
  size_t (*dead)(const void *ctx);
  /* Search parameters (ix_params' ef_search, nprobe), or NULL. */
  void (*set_search)(void *ctx, const ix_params *p);
} ix_backend_ops;

extern const ix_backend_ops ix_flat_f32_ops;
extern const ix_backend_ops ix_flat_f16_ops;
extern const ix_backend_ops ix_flat_s8_ops;
/* FAISS (approx.c): NULL when built without FAISS. */
extern const ix_backend_ops *const ix_approx_ops;
/* Sign-random-projection sketch + exact re-rank ("SRP<bits>", sketch.c);
 * independent of FAISS. */
extern const ix_backend_ops ix_sketch_ops;
/* bits of an "SRP<bits>" factory string, 0 for any other string. */
size_t ix_sketch_bits(const char *factory);
/* Tests: the sketch's Hamming scan kernels this CPU can run, reference
 * first (fn is an ix_hamming_scan_fn, index/kernels/kernels.h). */
typedef struct ix_sketch_scan {
  const char *isa;
  void *fn;
} ix_sketch_scan;
int ix_sketch_scans(ix_sketch_scan *out, int max);

/* Keeps the k best (score, row) pairs seen, best first; ties keep the lower
 * row. */
typedef struct ix_topk {
  float *score;
  uint32_t *row;
  size_t n, k;
} ix_topk;

static inline void ix_topk_push(ix_topk *t, float s, uint32_t row) {
  size_t i = t->n;
  if (i == t->k) {
    if (!(s > t->score[i - 1] ||
          (s == t->score[i - 1] && row < t->row[i - 1])))
      return;
    i--;
  } else {
    t->n++;
  }
  while (i > 0 && (s > t->score[i - 1] ||
                   (s == t->score[i - 1] && row < t->row[i - 1]))) {
    t->score[i] = t->score[i - 1];
    t->row[i] = t->row[i - 1];
    i--;
  }
  t->score[i] = s;
  t->row[i] = row;
}

/* Per-thread scratch for searches (arena.c): ix_arena_alloc returns n
 * bytes, 64-byte aligned, uninitialised (ix_arena_calloc: zeroed), valid
 * until ix_arena_release of a mark taken before it; NULL when out of
 * memory. Every mark is released once, innermost first (a search's mark,
 * then its backend's). After the
 * first search of a given size no call allocates. Not for memory that
 * outlives the call, and a fetch callback must not search (it would reuse
 * the same thread's arena; it already must not, as it runs under the
 * index's lock). */
size_t ix_arena_mark(void);
void *ix_arena_alloc(size_t n);
void *ix_arena_calloc(size_t n);
void ix_arena_release(size_t mark);

/* 64-byte aligned allocation of at least n bytes (zeroed: calloc-like). */
void *ix_alloc(size_t n);
void ix_free(void *p);

#endif
