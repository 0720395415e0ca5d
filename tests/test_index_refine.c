/* Exact re-ranking of the compressed indexes (fp16, int8): with a refine
 * callback their hits must be an fp32 index's, bit for bit, also where the
 * compressed scores order near-ties differently. Every kernel path this CPU
 * has is tested: the program runs itself once per ISA (ARGUS_ISA=ref, avx2,
 * avx512), unless ARGUS_ISA is set already. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "argus/core.h"
#include "argus/index.h"
#include "check.h"
#include "isa_runs.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return (uint32_t)(rng_state >> 16);
}

static double gauss(void) {
  double u = ((double)rnd() + 1.0) / 4294967297.0;
  double v = (double)rnd() / 4294967296.0;
  return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

static void normalize(double *x, size_t d) {
  double s = 0;
  for (size_t j = 0; j < d; j++)
    s += x[j] * x[j];
  s = 1.0 / sqrt(s);
  for (size_t j = 0; j < d; j++)
    x[j] *= s;
}

/* The templates of a test: raw vectors by id (what add was given and what
 * the callback hands back), and the callback's behaviour. */
typedef struct tset {
  size_t dim, n;
  float *vec; /* n x dim */
  int64_t *wl;
  size_t fetches;
  int fail;   /* 1: return IO; 2: another template's vector; 3: NaN */
} tset;

static argus_err fetch(void *user, int64_t id, float *out) {
  tset *t = user;
  if (id < 0 || (size_t)id >= t->n)
    return ARGUS_E_NOT_FOUND;
  t->fetches++;
  if (t->fail == 1)
    return ARGUS_E_IO;
  size_t src = t->fail == 2 ? ((size_t)id + 1) % t->n : (size_t)id;
  memcpy(out, t->vec + src * t->dim, t->dim * sizeof *out);
  if (t->fail == 3)
    out[0] = NAN;
  return ARGUS_OK;
}

/* Makes n templates: nq clusters of near-ties around query directions u_c
 * (cosine to u_c = base + step * rank, ranks shuffled, so fp32 orders them
 * by steps the compressed scores cannot resolve), a few exact duplicates
 * (fp32 ties, ranked by row), and random background; raw vectors get a
 * random length (the index normalises them). queries: u_c times a length,
 * nq x dim. */
static void make_set(tset *t, size_t dim, size_t nq, size_t per, double base,
                     double step, size_t background, float *queries) {
  size_t n = nq * per + background;
  t->dim = dim;
  t->n = n;
  t->vec = malloc(n * dim * sizeof *t->vec);
  t->wl = malloc(n * sizeof *t->wl);
  t->fetches = 0;
  t->fail = 0;
  double *u = malloc(dim * sizeof *u), *w = malloc(dim * sizeof *w);
  size_t *rank = malloc(per * sizeof *rank);
  size_t id = 0;
  for (size_t c = 0; c < nq; c++) {
    for (size_t j = 0; j < dim; j++)
      u[j] = gauss();
    normalize(u, dim);
    double qlen = 0.5 + (double)(rnd() % 1000) / 100.0;
    for (size_t j = 0; j < dim; j++)
      queries[c * dim + j] = (float)(u[j] * qlen);
    for (size_t i = 0; i < per; i++)
      rank[i] = i;
    for (size_t i = per; i > 1; i--) {
      size_t r = rnd() % i, x = rank[i - 1];
      rank[i - 1] = rank[r];
      rank[r] = x;
    }
    for (size_t i = 0; i < per; i++, id++) {
      if (i % 17 == 5) { /* an exact duplicate of the previous template */
        memcpy(t->vec + id * dim, t->vec + (id - 1) * dim,
               dim * sizeof *t->vec);
        t->wl[id] = t->wl[id - 1];
        continue;
      }
      /* w: random, orthogonal to u */
      double dot = 0;
      for (size_t j = 0; j < dim; j++) {
        w[j] = gauss();
        dot += w[j] * u[j];
      }
      for (size_t j = 0; j < dim; j++)
        w[j] -= dot * u[j];
      normalize(w, dim);
      double cs = base + step * (double)rank[i];
      double sn = sqrt(1.0 - cs * cs);
      double len = 0.3 + (double)(rnd() % 1000) / 250.0;
      for (size_t j = 0; j < dim; j++)
        t->vec[id * dim + j] = (float)((cs * u[j] + sn * w[j]) * len);
      t->wl[id] = (int64_t)(rnd() % 3);
    }
  }
  for (; id < n; id++) {
    for (size_t j = 0; j < dim; j++)
      t->vec[id * dim + j] = (float)gauss();
    t->wl[id] = (int64_t)(rnd() % 3);
  }
  free(u);
  free(w);
  free(rank);
}

static void set_free(tset *t) {
  free(t->vec);
  free(t->wl);
}

static argus_index *make_index(argus_index_kind kind, const tset *t,
                               argus_threadpool *pool) {
  argus_index_config cfg;
  argus_index_config_init(&cfg);
  cfg.model_id = "refine";
  cfg.dim = (int)t->dim;
  cfg.kind = kind;
  cfg.pool = pool;
  argus_index *idx = NULL;
  CHECK_OK(argus_index_create(&cfg, &idx, NULL));
  int64_t *ids = malloc(t->n * sizeof *ids);
  for (size_t i = 0; i < t->n; i++)
    ids[i] = (int64_t)i;
  CHECK_OK(argus_index_add_batch(idx, t->n, ids, t->wl, t->vec, NULL));
  free(ids);
  return idx;
}

/* Searches `idx` and the fp32 index `ref` with the same arguments; returns
 * the number of queries whose hits differ (ids and order; scores too when
 * `scores`). Prints the first difference, labelled `what` (NULL: quiet). */
static size_t compare(argus_index *ref, argus_index *idx, const float *q,
                      size_t nq, size_t k, const argus_index_search_opts *so,
                      int scores, const char *what) {
  argus_index_hit *a = malloc(nq * k * sizeof *a);
  argus_index_hit *b = malloc(nq * k * sizeof *b);
  size_t *na = malloc(nq * sizeof *na), *nb = malloc(nq * sizeof *nb);
  size_t differ = 0;
  CHECK_OK(argus_index_search(ref, q, nq, k, so, a, na, NULL));
  CHECK_OK(argus_index_search(idx, q, nq, k, so, b, nb, NULL));
  for (size_t i = 0; i < nq; i++) {
    int d = na[i] != nb[i];
    for (size_t j = 0; j < k && !d; j++) {
      const argus_index_hit *x = &a[i * k + j], *y = &b[i * k + j];
      d = x->id != y->id || x->watchlist != y->watchlist ||
          (scores && x->score != y->score);
      if (d && differ == 0 && what)
        printf("    %s: query %zu hit %zu: f32 id %lld (%.9g), got id %lld "
               "(%.9g)\n",
               what, i, j, (long long)x->id, x->score, (long long)y->id,
               y->score);
    }
    differ += (size_t)d;
  }
  free(a);
  free(b);
  free(na);
  free(nb);
  return differ;
}

/* Refined fp16 / int8 against fp32 on near-ties: without refinement the
 * orders must differ somewhere (else this test proves nothing), with it
 * they must be identical, scores included with exact_scores; for k = 1, 3
 * and 10, with and without a watchlist filter, a pool, and after removals. */
static void test_near_ties(argus_index_kind kind, size_t dim, double step,
                           argus_threadpool *pool) {
  const size_t nq = 6, per = 40;
  float *q = malloc(nq * dim * sizeof *q);
  tset t;
  make_set(&t, dim, nq, per, 0.55, step, 300, q);
  argus_index *ref = make_index(ARGUS_INDEX_F32, &t, NULL);
  argus_index *idx = make_index(kind, &t, NULL);
  argus_index_stats st;
  CHECK_OK(argus_index_get_stats(idx, &st));
  printf("  %s dim %zu, steps of %.1g: %s\n", argus_index_kind_name(kind), dim,
         step, st.backend);
  const int64_t wl02[2] = {0, 2};
  const size_t ks[3] = {1, 3, 10};
  for (int round = 0; round < 2; round++) {
    if (round == 1) {
      /* removals move the last rows into the freed ones: both indexes
       * must follow with the bounds of the moved rows */
      for (size_t i = 0; i < t.n; i += 7) {
        CHECK_OK(argus_index_remove(ref, (int64_t)i, NULL));
        CHECK_OK(argus_index_remove(idx, (int64_t)i, NULL));
      }
    }
    size_t unrefined = 0;
    for (int filt = 0; filt < 2; filt++) {
      for (int usepool = 0; usepool < 2; usepool++) {
        argus_index_search_opts so = {filt ? wl02 : NULL, filt ? 2u : 0u,
                                      usepool ? pool : NULL};
        for (int ki = 0; ki < 3; ki++) {
          size_t k = ks[ki];
          argus_index_refine r = {NULL, &t, 0};
          CHECK_OK(argus_index_set_refine(idx, &r)); /* fetch NULL: off */
          unrefined += compare(ref, idx, q, nq, k, &so, 0, NULL);
          r.fetch = fetch;
          for (int exact = 0; exact < 2; exact++) {
            r.exact_scores = exact;
            CHECK_OK(argus_index_set_refine(idx, &r));
            t.fetches = 0;
            size_t d = compare(ref, idx, q, nq, k, &so, exact, "refined");
            if (d)
              printf("    (k %zu, filter %d, pool %d, exact %d, round %d)\n",
                     k, filt, usepool, exact, round);
            CHECK_INT_EQ(d, 0);
            CHECK(t.fetches > 0);
            /* exact scores: every hit of every query is fetched at least
             * once (some more than once: the two searches of compare) */
            if (exact)
              CHECK(t.fetches >= nq * k);
          }
        }
      }
    }
    printf("    round %d: %zu unrefined searches differ from f32\n", round,
           unrefined);
    CHECK(unrefined > 0);
  }
  argus_index_destroy(ref);
  argus_index_destroy(idx);
  set_free(&t);
  free(q);
}

/* More near-ties than the candidate lists hold (2k + 256): the overflow's
 * second scan must still give fp32's hits. */
static void test_overflow(argus_index_kind kind) {
  const size_t dim = 64, nq = 2, per = 700;
  float *q = malloc(nq * dim * sizeof *q);
  tset t;
  make_set(&t, dim, nq, per, 0.7, 2e-6, 50, q);
  argus_index *ref = make_index(ARGUS_INDEX_F32, &t, NULL);
  argus_index *idx = make_index(kind, &t, NULL);
  argus_index_refine r = {fetch, &t, 0};
  CHECK_OK(argus_index_set_refine(idx, &r));
  const int64_t wl1[1] = {1};
  argus_index_search_opts so = {wl1, 1, NULL};
  CHECK_INT_EQ(compare(ref, idx, q, nq, 1, NULL, 0, "overflow k=1"), 0);
  CHECK_INT_EQ(compare(ref, idx, q, nq, 5, &so, 0, "overflow k=5"), 0);
  r.exact_scores = 1;
  CHECK_OK(argus_index_set_refine(idx, &r));
  CHECK_INT_EQ(compare(ref, idx, q, nq, 20, NULL, 1, "overflow k=20"), 0);
  argus_index_destroy(ref);
  argus_index_destroy(idx);
  set_free(&t);
  free(q);
}

/* A clear winner costs no fetch without exact_scores and one with it. */
static void test_certain(argus_index_kind kind) {
  const size_t dim = 128;
  tset t;
  float *q = malloc(dim * sizeof *q);
  make_set(&t, dim, 0, 0, 0, 0, 200, q);
  for (size_t j = 0; j < dim; j++) /* the query: template 7, a bit off */
    q[j] = t.vec[7 * dim + j] * 1.3f + (float)gauss() * 0.05f;
  argus_index *ref = make_index(ARGUS_INDEX_F32, &t, NULL);
  argus_index *idx = make_index(kind, &t, NULL);
  argus_index_refine r = {fetch, &t, 0};
  CHECK_OK(argus_index_set_refine(idx, &r));
  argus_index_hit h, hr;
  size_t nf = 0;
  CHECK_OK(argus_index_search(idx, q, 1, 1, NULL, &h, &nf, NULL));
  CHECK_OK(argus_index_search(ref, q, 1, 1, NULL, &hr, NULL, NULL));
  CHECK_INT_EQ(nf, 1);
  CHECK_INT_EQ(h.id, 7);
  CHECK_INT_EQ(t.fetches, 0);
  CHECK(fabsf(h.score - hr.score) < 0.02f);
  r.exact_scores = 1;
  CHECK_OK(argus_index_set_refine(idx, &r));
  CHECK_OK(argus_index_search(idx, q, 1, 1, NULL, &h, &nf, NULL));
  CHECK_INT_EQ(h.id, 7);
  CHECK_INT_EQ(t.fetches, 1);
  CHECK(h.score == hr.score);
  argus_index_destroy(ref);
  argus_index_destroy(idx);
  set_free(&t);
  free(q);
}

static char last_log[1024];

static void keep_log(void *user, argus_log_level level, const char *module,
                     const char *line) {
  (void)user;
  (void)level;
  (void)module;
  snprintf(last_log, sizeof last_log, "%s", line);
}

/* The callback's failures fail the search; a vector that is not the
 * template is caught; the config field works like the setter. */
static void test_errors(argus_index_kind kind) {
  const size_t dim = 32;
  float *q = malloc(dim * sizeof *q);
  tset t;
  make_set(&t, dim, 1, 30, 0.5, 1e-5, 20, q);
  argus_index_config cfg;
  argus_index_config_init(&cfg);
  CHECK(cfg.refine.fetch == NULL);
  cfg.model_id = "refine";
  cfg.dim = (int)dim;
  cfg.kind = kind;
  cfg.refine.fetch = fetch;
  cfg.refine.user = &t;
  cfg.refine.exact_scores = 1;
  argus_index *idx = NULL;
  CHECK_OK(argus_index_create(&cfg, &idx, NULL));
  int64_t *ids = malloc(t.n * sizeof *ids);
  for (size_t i = 0; i < t.n; i++)
    ids[i] = (int64_t)i;
  CHECK_OK(argus_index_add_batch(idx, t.n, ids, t.wl, t.vec, NULL));
  argus_index_hit h[3];
  CHECK_OK(argus_index_search(idx, q, 1, 3, NULL, h, NULL, NULL));
  CHECK(t.fetches >= 3);
  argus_log_set_sink(keep_log, NULL);
  t.fail = 1;
  CHECK_INT_EQ(argus_index_search(idx, q, 1, 3, NULL, h, NULL, NULL),
               ARGUS_E_IO);
  t.fail = 2;
  last_log[0] = '\0';
  CHECK_INT_EQ(argus_index_search(idx, q, 1, 3, NULL, h, NULL, NULL),
               ARGUS_E_CORRUPT);
  CHECK(strstr(last_log, "template id") != NULL); /* names the id */
  t.fail = 3;
  CHECK_INT_EQ(argus_index_search(idx, q, 1, 3, NULL, h, NULL, NULL),
               ARGUS_E_CORRUPT);
  argus_log_set_sink(NULL, NULL);
  t.fail = 0;
  CHECK_OK(argus_index_search(idx, q, 1, 3, NULL, h, NULL, NULL));
  CHECK_INT_EQ(argus_index_set_refine(NULL, NULL), ARGUS_E_INVALID_ARG);
  CHECK_OK(argus_index_set_refine(idx, NULL)); /* off: no fetch */
  t.fetches = 0;
  CHECK_OK(argus_index_search(idx, q, 1, 3, NULL, h, NULL, NULL));
  CHECK_INT_EQ(t.fetches, 0);
  argus_index_destroy(idx);
  /* fp32 ignores the callback */
  cfg.kind = ARGUS_INDEX_F32;
  CHECK_OK(argus_index_create(&cfg, &idx, NULL));
  CHECK_OK(argus_index_add_batch(idx, t.n, ids, t.wl, t.vec, NULL));
  CHECK_OK(argus_index_search(idx, q, 1, 3, NULL, h, NULL, NULL));
  CHECK_INT_EQ(t.fetches, 0);
  argus_index_destroy(idx);
  free(ids);
  set_free(&t);
  free(q);
}

static int run_tests(void) {
  printf("isa %s\n", argus_cpu_isa_name());
  argus_threadpool *pool = NULL;
  CHECK_OK(argus_threadpool_create(3, &pool));
  /* steps far above fp32's rounding, below the compression's error */
  test_near_ties(ARGUS_INDEX_I8, 96, 2e-5, pool);
  test_near_ties(ARGUS_INDEX_I8, 37, 3e-5, pool); /* dims padded to 4 */
  test_near_ties(ARGUS_INDEX_F16, 128, 1e-6, pool);
  test_near_ties(ARGUS_INDEX_F16, 45, 1e-6, pool);
  test_overflow(ARGUS_INDEX_I8);
  test_overflow(ARGUS_INDEX_F16);
  test_certain(ARGUS_INDEX_I8);
  test_certain(ARGUS_INDEX_F16);
  test_errors(ARGUS_INDEX_I8);
  test_errors(ARGUS_INDEX_F16);
  argus_threadpool_destroy(pool);
  return check_report("test_index_refine");
}

int main(int argc, char **argv) {
  (void)argc;
  setvbuf(stdout, NULL, _IONBF, 0);
  argus_log_set_level(ARGUS_LOG_ERROR);
  int r = isa_runs(argv, "test_index_refine");
  return r >= 0 ? r : run_tests();
}
