/* The approximate backend's HNSW on argus's SIMD distances ("HNSW<M>,Flat",
 * "HNSW<M>,SQfp16" and "HNSW<M>,SQ8" in faiss_shim.cpp): results against a
 * double-precision brute force. With efSearch at least the template count the beam walks the
 * whole graph, so ids must equal the exact top-k and scores the exact dot
 * products; at a moderate efSearch every mated query must still find its
 * source. Also: the watchlist filter, single adds after the build, removals
 * (never returned again) and the rebuild they trigger, a pool, k above
 * efSearch, fp16 storage (scores within fp16 rounding), int8 storage (its
 * final candidates re-scored exactly, so exact again). Skipped when argus is
 * built without FAISS. Runs once per ISA this CPU has (int8 rows have a
 * VNNI, an AVX2 and a reference kernel). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "argus/core.h"
#include "argus/index.h"
#include "check.h"
#include "index/faiss_shim.h"
#include "isa_runs.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return (uint32_t)(rng_state >> 11);
}

static float gauss(void) {
  float u = ((float)(rnd() % 1000000) + 0.5f) / 1000000.0f;
  float v = ((float)(rnd() % 1000000) + 0.5f) / 1000000.0f;
  return sqrtf(-2.0f * logf(u)) * cosf(6.2831853f * v);
}

static void make_vec(float *x, size_t d, const float *centre, float noise) {
  double s = 0;
  for (size_t j = 0; j < d; j++) {
    x[j] = (centre ? centre[j] : 0.0f) + noise * gauss();
    s += (double)x[j] * x[j];
  }
  float inv = (float)(1.0 / sqrt(s));
  for (size_t j = 0; j < d; j++)
    x[j] *= inv;
}

/* The templates as the test knows them: unit vectors, ids i + 1000. */
typedef struct model {
  size_t dim, n;
  float *vec;
  int64_t *wl;
  unsigned char *alive;
} model;

typedef struct ref_hit {
  double score;
  int64_t id;
} ref_hit;

static int cmp_ref(const void *a, const void *b) {
  const ref_hit *x = a, *y = b;
  if (x->score != y->score)
    return x->score < y->score ? 1 : -1;
  return x->id < y->id ? -1 : x->id > y->id;
}

/* Exact top-k of query q (any length) over the live templates of watchlist
 * `only` (-1: all); returns how many. */
static size_t brute(const model *m, const float *q, size_t k, int64_t only,
                    ref_hit *out, ref_hit *tmp) {
  double qq = 0;
  for (size_t j = 0; j < m->dim; j++)
    qq += (double)q[j] * q[j];
  double qinv = 1.0 / sqrt(qq);
  size_t c = 0;
  for (size_t i = 0; i < m->n; i++) {
    if (!m->alive[i] || (only >= 0 && m->wl[i] != only))
      continue;
    double s = 0;
    for (size_t j = 0; j < m->dim; j++)
      s += (double)q[j] * m->vec[i * m->dim + j];
    tmp[c].score = s * qinv;
    tmp[c].id = (int64_t)(i + 1000);
    c++;
  }
  qsort(tmp, c, sizeof *tmp, cmp_ref);
  size_t r = c < k ? c : k;
  memcpy(out, tmp, r * sizeof *out);
  return r;
}

/* Searches all queries and compares with the brute force: returns the
 * number of queries whose top-k ids differ (the first few printed when
 * `exact` says none should); every returned score must be the exact score of
 * its id within tol. */
static size_t compare(argus_index *idx, const model *m, const float *q,
                      size_t nq, size_t k, int64_t only, argus_threadpool *pool,
                      double tol, int exact, size_t *top1_miss) {
  argus_index_hit *h = malloc(nq * k * sizeof *h);
  size_t *nf = malloc(nq * sizeof *nf);
  ref_hit *ref = malloc(k * sizeof *ref), *tmp = malloc(m->n * sizeof *tmp);
  argus_index_search_opts o = {only >= 0 ? &only : NULL, only >= 0 ? 1 : 0,
                               pool};
  size_t bad = 0, shown = 0;
  *top1_miss = 0;
  CHECK_OK(argus_index_search(idx, q, nq, k, &o, h, nf, NULL));
  for (size_t i = 0; i < nq; i++) {
    size_t r = brute(m, q + i * m->dim, k, only, ref, tmp);
    int same = nf[i] == r;
    for (size_t j = 0; j < r && j < nf[i]; j++) {
      const argus_index_hit *x = &h[i * k + j];
      same &= x->id == ref[j].id;
      /* the score is the exact score of whatever id it names */
      int64_t t = x->id - 1000;
      CHECK(t >= 0 && (size_t)t < m->n && m->alive[t]);
      if (t < 0 || (size_t)t >= m->n)
        continue;
      if (only >= 0)
        CHECK_INT_EQ(x->watchlist, only);
      ref_hit one;
      double s = 0, qq = 0;
      for (size_t d = 0; d < m->dim; d++) {
        s += (double)q[i * m->dim + d] * m->vec[(size_t)t * m->dim + d];
        qq += (double)q[i * m->dim + d] * q[i * m->dim + d];
      }
      one.score = s / sqrt(qq);
      CHECK_NEAR(x->score, one.score, tol, 0.0);
      if (j > 0)
        CHECK(x->score <= h[i * k + j - 1].score);
    }
    if (r && (nf[i] == 0 || h[i * k].id != ref[0].id))
      (*top1_miss)++;
    if (!same) {
      bad++;
      if (exact && shown++ < 3)
        fprintf(stderr,
                "  query %zu: %zu found (want %zu), top %lld %.6f, exact "
                "%lld %.6f\n",
                i, nf[i], r, nf[i] ? (long long)h[i * k].id : -1LL,
                nf[i] ? (double)h[i * k].score : 0.0,
                r ? (long long)ref[0].id : -1LL, r ? ref[0].score : 0.0);
    }
  }
  free(h);
  free(nf);
  free(ref);
  free(tmp);
  return bad;
}

static void run(const char *factory, size_t dim, argus_threadpool *pool) {
  const size_t n0 = 2400, nadd = 100, nq = 60, half = nq / 2, k = 10;
  int fp16 = strstr(factory, "SQfp16") != NULL;
  double tol = fp16 ? 3e-3 : 1e-5;
  int exact = !fp16;
  model m = {dim, 0, NULL, NULL, NULL};
  size_t cap = n0 + nadd;
  m.vec = malloc(cap * dim * sizeof *m.vec);
  m.wl = malloc(cap * sizeof *m.wl);
  m.alive = calloc(cap, 1);
  int64_t *ids = malloc(cap * sizeof *ids);
  for (size_t i = 0; i < cap; i++) {
    make_vec(m.vec + i * dim, dim, NULL, 1.0f);
    m.wl[i] = (int64_t)(i % 3);
    ids[i] = (int64_t)(i + 1000);
  }
  /* mated queries: a template plus noise (cosine about 0.9), not unit
   * length; the rest random directions */
  float *q = malloc(nq * dim * sizeof *q);
  size_t *src = malloc(nq * sizeof *src);
  for (size_t i = 0; i < nq; i++) {
    src[i] = rnd() % cap;
    make_vec(q + i * dim, dim, i < half ? m.vec + src[i] * dim : NULL,
             i < half ? 0.5f / sqrtf((float)dim) : 1.0f);
    for (size_t j = 0; j < dim; j++)
      q[i * dim + j] *= 3.0f;
  }

  argus_index_config cfg;
  argus_index_config_init(&cfg);
  cfg.model_id = "hnsw";
  cfg.dim = (int)dim;
  cfg.kind = ARGUS_INDEX_APPROX;
  cfg.approx_factory = factory;
  cfg.pool = pool;
  argus_index *idx = NULL;
  CHECK_OK(argus_index_create(&cfg, &idx, NULL));
  if (!idx)
    goto out;
  CHECK_OK(argus_index_add_batch(idx, n0, ids, m.wl, m.vec, NULL));
  for (size_t i = n0; i < cap; i++) /* single adds into the built graph */
    CHECK_OK(argus_index_add(idx, ids[i], m.wl[i], m.vec + i * dim, NULL));
  for (size_t i = 0; i < cap; i++)
    m.alive[i] = 1;
  m.n = cap;
  argus_index_stats st;
  CHECK_OK(argus_index_get_stats(idx, &st));
  CHECK_INT_EQ(st.kind, ARGUS_INDEX_APPROX);
  CHECK_INT_EQ(st.count, cap);
  /* the argus distances are in use, not FAISS's own */
  CHECK(strstr(st.backend, "/argus-") != NULL);
  printf("%s dim %zu: backend %s\n", factory, dim, st.backend);

  /* efSearch >= count: the beam covers the graph, results are exact */
  size_t miss1;
  CHECK_OK(argus_index_set_search_params(idx, (int)(2 * cap), 0));
  size_t bad = compare(idx, &m, q, nq, k, -1, NULL, tol, exact, &miss1);
  printf("  exhaustive ef: %zu/%zu queries differ from exact top-%zu\n", bad,
         nq, k);
  /* fp16 scores may reorder near-ties; its top-1 of mated queries may not */
  CHECK_INT_EQ(fp16 ? 0 : bad, 0);
  CHECK_INT_EQ(fp16 ? 0 : miss1, 0);
  /* the same with a pool splitting the batch, and with a filter */
  bad = compare(idx, &m, q, nq, k, -1, pool, tol, exact, &miss1);
  CHECK_INT_EQ(fp16 ? 0 : bad, 0);
  bad = compare(idx, &m, q, nq, k, 1, NULL, tol, exact, &miss1);
  printf("  exhaustive ef, watchlist 1: %zu/%zu differ\n", bad, nq);
  CHECK_INT_EQ(fp16 ? 0 : bad, 0);

  /* a moderate breadth: every mated query finds its source first; then an
   * efSearch below k */
  CHECK_OK(argus_index_set_search_params(idx, 64, 0));
  bad = compare(idx, &m, q, half, k, -1, NULL, tol, 0, &miss1);
  printf("  ef 64: mated top-1 misses %zu/%zu, top-%zu lists differing "
         "%zu\n",
         miss1, half, k, bad);
  CHECK_INT_EQ(miss1, 0);
  {
    argus_index_hit h[10];
    size_t nf = 0;
    CHECK_OK(argus_index_set_search_params(idx, 4, 0));
    CHECK_OK(argus_index_search(idx, q, 1, 10, NULL, h, &nf, NULL));
    CHECK_INT_EQ(nf, 10); /* efSearch is raised to k */
  }

  /* removals: the sources of the first mated queries and a block of
   * others; removed templates never come back, and enough of them rebuild
   * the graph (still on argus distances) */
  CHECK_OK(argus_index_set_search_params(idx, (int)(2 * cap), 0));
  for (size_t i = 0; i < 10; i++) {
    if (m.alive[src[i]]) {
      CHECK_OK(argus_index_remove(idx, ids[src[i]], NULL));
      m.alive[src[i]] = 0;
    }
  }
  bad = compare(idx, &m, q, nq, k, -1, NULL, tol, exact, &miss1);
  printf("  after 10 removals: %zu/%zu differ\n", bad, nq);
  CHECK_INT_EQ(fp16 ? 0 : bad, 0);
  size_t removed = 0;
  for (size_t i = 0; i < cap; i += 2) {
    if (!m.alive[i])
      continue;
    CHECK_OK(argus_index_remove(idx, ids[i], NULL));
    m.alive[i] = 0;
    removed++;
  }
  CHECK_OK(argus_index_wait_builds(idx));
  CHECK_OK(argus_index_get_stats(idx, &st));
  CHECK_INT_EQ(st.kind, ARGUS_INDEX_APPROX);
  CHECK(st.approx_dead < removed); /* rebuilt on the way */
  CHECK(strstr(st.backend, "/argus-") != NULL);
  bad = compare(idx, &m, q, nq, k, -1, NULL, tol, exact, &miss1);
  printf("  after %zu more removals (dead now %zu): %zu/%zu differ\n", removed,
         st.approx_dead, bad, nq);
  CHECK_INT_EQ(fp16 ? 0 : bad, 0);
  CHECK_INT_EQ(fp16 ? 0 : miss1, 0);
  if (fp16) {
    /* the top-1 of mated queries whose source is still there */
    size_t want = 0, got = 0;
    argus_index_hit h[10];
    for (size_t i = 0; i < half; i++) {
      if (!m.alive[src[i]])
        continue;
      want++;
      CHECK_OK(
          argus_index_search(idx, q + i * dim, 1, 10, NULL, h, NULL, NULL));
      got += h[0].id == ids[src[i]];
    }
    printf("  fp16: mated top-1 %zu/%zu\n", got, want);
    CHECK_INT_EQ(got, want);
    CHECK(want > 0);
  }
out:
  argus_index_destroy(idx);
  free(m.vec);
  free(m.wl);
  free(m.alive);
  free(ids);
  free(q);
  free(src);
}

int main(int argc, char **argv) {
  (void)argc;
  setvbuf(stdout, NULL, _IONBF, 0);
  argus_log_set_level(ARGUS_LOG_ERROR);
  if (!argus_index_approx_available())
    SKIP("argus was built without FAISS: no approximate backend");
  int r = isa_runs(argv, "test_index_hnsw");
  if (r >= 0)
    return r;
#ifdef ARGUS_HAVE_FAISS
  char msg[160] = "";
  int kbad = ix_faiss_check_s8_kernels(msg, sizeof msg);
  if (kbad)
    fprintf(stderr, "int8 kernels: %d mismatches, first: %s\n", kbad, msg);
  CHECK_INT_EQ(kbad, 0);
#endif
  printf("isa %s\n", argus_cpu_isa_name());
  argus_threadpool *pool = NULL;
  CHECK_OK(argus_threadpool_create(2, &pool));
  /* dims with and without SIMD tails (16/32/64-wide loops) */
  run("HNSW16,Flat", 24, pool);
  run("HNSW16,Flat", 37, NULL);
  run("HNSW32,Flat", 130, pool);
  run("HNSW16,SQfp16", 37, pool);
  run("HNSW16,SQfp16", 96, NULL);
  run("HNSW16,SQ8", 37, pool);
  run("HNSW32,SQ8", 130, NULL);
  argus_threadpool_destroy(pool);
  return check_report("test_index_hnsw");
}
