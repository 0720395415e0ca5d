/*
 * Approximate backend on FAISS (HNSW or IVF by index_factory string, inner
 * product). "HNSW<M>,Flat", "HNSW<M>,SQfp16" and "HNSW<M>,SQ8" run FAISS's
 * graph on argus's SIMD distances and search loop (faiss_shim.cpp); other
 * strings run FAISS's own code. FAISS numbers vectors 0, 1, 2, ... in the order they are added
 * ("labels"); a removed template's label stays in the FAISS index as a dead
 * entry (HNSW cannot delete) and is filtered out while searching, together
 * with the watchlist filter, through a callback (a FAISS IDSelector for
 * FAISS's own search). index.c rebuilds the FAISS index when dead entries
 * pile up.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "index/index_internal.h"

#ifdef ARGUS_HAVE_FAISS
#include "index/faiss_shim.h"

typedef struct ix_approx {
  ix_faiss *f;
  size_t dim;
  char factory[64];
  uint32_t *label2row; /* IX_DEAD_ROW once removed */
  size_t nlabels, cap_labels;
  uint32_t *row2label;
  size_t cap_rows;
  size_t dead;
} ix_approx;

static argus_err grow_u32(uint32_t **p, size_t *cap, size_t need) {
  if (need <= *cap)
    return ARGUS_OK;
  size_t n = *cap + *cap / 2;
  if (n < need)
    n = need;
  if (n < 1024)
    n = 1024;
  uint32_t *q = realloc(*p, n * sizeof *q);
  if (!q)
    return ARGUS_E_NOMEM;
  *p = q;
  *cap = n;
  return ARGUS_OK;
}

static void approx_destroy(void *ctx) {
  ix_approx *A = ctx;
  if (!A)
    return;
  ix_faiss_destroy(A->f);
  free(A->label2row);
  free(A->row2label);
  free(A);
}

static argus_err approx_create(const ix_params *p, void **out) {
  char msg[256] = "";
  ix_approx *A = calloc(1, sizeof *A);
  if (!A)
    return ARGUS_E_NOMEM;
  A->dim = p->dim;
  snprintf(A->factory, sizeof A->factory, "%s", p->factory);
  argus_err e =
      ix_faiss_create(p->factory, (int)p->dim, 0, &A->f, msg, sizeof msg);
  if (e != ARGUS_OK) {
    argus_log(ARGUS_LOG_ERROR, "index", "FAISS index \"%s\" (dim %zu): %s",
              p->factory, p->dim, msg);
    free(A);
    return e;
  }
  ix_faiss_set_param(A->f, "efSearch", p->ef_search);
  ix_faiss_set_param(A->f, "efConstruction", p->ef_construction);
  ix_faiss_set_param(A->f, "nprobe", p->nprobe);
  *out = A;
  return ARGUS_OK;
}

static argus_err approx_reserve(void *ctx, size_t rows) {
  ix_approx *A = ctx;
  return grow_u32(&A->row2label, &A->cap_rows, rows);
}

static argus_err approx_add(void *ctx, size_t first, size_t n,
                            const float *vecs) {
  ix_approx *A = ctx;
  char msg[256] = "";
  if (n == 0)
    return ARGUS_OK;
  if (first + n > A->cap_rows || A->nlabels + n > UINT32_MAX)
    return ARGUS_E_LIMIT;
  argus_err e = grow_u32(&A->label2row, &A->cap_labels, A->nlabels + n);
  if (e != ARGUS_OK)
    return e;
  if (!ix_faiss_is_trained(A->f)) {
    /* IVF: the coarse quantiser learns from the first templates added. */
    e = ix_faiss_train(A->f, n, vecs, msg, sizeof msg);
    if (e != ARGUS_OK) {
      argus_log(ARGUS_LOG_ERROR, "index",
                "FAISS \"%s\": training on %zu templates failed: %s",
                A->factory, n, msg);
      return e;
    }
  }
  e = ix_faiss_add(A->f, n, vecs, msg, sizeof msg);
  if (e != ARGUS_OK) {
    argus_log(ARGUS_LOG_ERROR, "index", "FAISS \"%s\": adding %zu: %s",
              A->factory, n, msg);
    /* A failure part-way may have kept some vectors: their labels are
     * dead, so that later labels still line up. */
    size_t nt = ix_faiss_ntotal(A->f);
    for (; A->nlabels < nt && A->nlabels < A->cap_labels; A->nlabels++) {
      A->label2row[A->nlabels] = IX_DEAD_ROW;
      A->dead++;
    }
    return e;
  }
  for (size_t i = 0; i < n; i++) {
    A->label2row[A->nlabels + i] = (uint32_t)(first + i);
    A->row2label[first + i] = (uint32_t)(A->nlabels + i);
  }
  A->nlabels += n;
  return ARGUS_OK;
}

static void approx_remove(void *ctx, size_t row, size_t last) {
  ix_approx *A = ctx;
  A->label2row[A->row2label[row]] = IX_DEAD_ROW;
  A->dead++;
  if (row != last) {
    uint32_t l = A->row2label[last];
    A->label2row[l] = (uint32_t)row;
    A->row2label[row] = l;
  }
}

static argus_err approx_get(void *ctx, size_t row, float *out) {
  ix_approx *A = ctx;
  char msg[256] = "";
  argus_err e = ix_faiss_reconstruct(A->f, A->row2label[row], out, msg,
                                     sizeof msg);
  if (e != ARGUS_OK)
    argus_log(ARGUS_LOG_ERROR, "index", "FAISS \"%s\": reconstruct: %s",
              A->factory, msg);
  return e;
}

typedef struct keep_ctx {
  const ix_approx *A;
  const ix_filter *filter;
} keep_ctx;

static int keep_label(void *user, int64_t label) {
  const keep_ctx *c = user;
  if (label < 0 || (size_t)label >= c->A->nlabels)
    return 0;
  uint32_t row = c->A->label2row[label];
  if (row == IX_DEAD_ROW)
    return 0;
  return !c->filter || ix_filter_pass(c->filter, row);
}

static argus_err approx_search(void *ctx, const ix_search_args *a) {
  ix_approx *A = ctx;
  char msg[256] = "";
  size_t n = a->nq * a->k;
  size_t mark = ix_arena_mark();
  float *sc = ix_arena_alloc(n * sizeof *sc);
  int64_t *lab = ix_arena_alloc(n * sizeof *lab);
  argus_err e = ARGUS_E_NOMEM;
  if (!sc || !lab)
    goto out;
  keep_ctx kc = {A, a->filter};
  int need_sel = a->filter || A->dead;
  e = ix_faiss_search(A->f, a->nq, a->q, a->k, need_sel ? keep_label : NULL,
                      &kc, a->threads, sc, lab, msg, sizeof msg);
  if (e != ARGUS_OK) {
    argus_log(ARGUS_LOG_ERROR, "index", "FAISS \"%s\": search: %s",
              A->factory, msg);
    goto out;
  }
  for (size_t q = 0; q < a->nq; q++) {
    size_t m = 0;
    for (size_t i = 0; i < a->k; i++) {
      int64_t l = lab[q * a->k + i];
      if (l < 0 || (size_t)l >= A->nlabels || A->label2row[l] == IX_DEAD_ROW)
        continue;
      a->rows[q * a->k + m] = A->label2row[l];
      a->scores[q * a->k + m] = sc[q * a->k + i] * a->qinv[q];
      m++;
    }
    a->nfound[q] = m;
  }
  e = ARGUS_OK;
out:
  ix_arena_release(mark);
  return e;
}

static size_t approx_bytes(const void *ctx) {
  const ix_approx *A = ctx;
  return ix_faiss_bytes(A->f) + A->cap_labels * sizeof(uint32_t) +
         A->cap_rows * sizeof(uint32_t) + sizeof *A;
}

static void approx_describe(const void *ctx, char *buf, size_t len) {
  const ix_approx *A = ctx;
  const char *isa = ix_faiss_distance_isa(A->f);
  if (isa)
    snprintf(buf, len, "faiss:%s/argus-%s", A->factory, isa);
  else
    snprintf(buf, len, "faiss:%s", A->factory);
}

static size_t approx_dead(const void *ctx) {
  return ((const ix_approx *)ctx)->dead;
}

static void approx_set_search(void *ctx, const ix_params *p) {
  ix_approx *A = ctx;
  ix_faiss_set_param(A->f, "efSearch", p->ef_search);
  ix_faiss_set_param(A->f, "nprobe", p->nprobe);
}

static const ix_backend_ops approx_ops = {
    .kind = ARGUS_INDEX_APPROX,
    .create = approx_create,
    .destroy = approx_destroy,
    .reserve = approx_reserve,
    .add = approx_add,
    .remove = approx_remove,
    .get = approx_get,
    .search = approx_search,
    .bytes = approx_bytes,
    .describe = approx_describe,
    .dead = approx_dead,
    .set_search = approx_set_search,
};
const ix_backend_ops *const ix_approx_ops = &approx_ops;
#else
const ix_backend_ops *const ix_approx_ops = NULL;
#endif
