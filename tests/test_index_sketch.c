/* The sketch backend ("SRP<bits>": sign random projections, a Hamming scan
 * and an exact fp32 re-rank; src/index/sketch.c). Its scan kernels against
 * the reference on random codes; with every template a candidate (16 x
 * efSearch >= count) the results must be exact (ids of a double-precision
 * brute force, scores to 1e-5), with and without a watchlist filter and
 * after removals (moved rows) and single adds; with 512 candidates every
 * mated query (cosine ~0.7 to its source) must still find the exact best;
 * the AUTO
 * switch to it (built in the background); bad factory strings. Runs once
 * per ISA this CPU has. Needs no FAISS. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "argus/core.h"
#include "argus/index.h"
#include "check.h"
#include "index/index_internal.h"
#include "isa_runs.h"

typedef size_t (*scan_fn)(const uint64_t *codes, size_t nw, size_t b0,
                          size_t nblocks, const uint64_t *q, uint32_t thr,
                          uint32_t *out_row, uint32_t *out_dist);

static uint64_t st = 0x9e3779b97f4a7c15ull;
static uint64_t next64(void) {
  st ^= st << 13;
  st ^= st >> 7;
  st ^= st << 17;
  return st;
}
static float gauss(void) {
  double u = ((double)(next64() >> 11) + 0.5) * 0x1p-53;
  double v = ((double)(next64() >> 11) + 0.5) * 0x1p-53;
  return (float)(sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v));
}
static void unit(float *x, size_t d) {
  double s = 0;
  for (size_t j = 0; j < d; j++)
    s += (double)x[j] * x[j];
  for (size_t j = 0; j < d; j++)
    x[j] = (float)(x[j] / sqrt(s));
}

static void test_scans(void) {
  ix_sketch_scan ks[4];
  int nk = ix_sketch_scans(ks, 4);
  printf("scan kernels:");
  for (int i = 0; i < nk; i++)
    printf(" %s", ks[i].isa);
  printf("\n");
  CHECK(nk >= 1);
  static const size_t nws[] = {1, 2, 4, 16};
  for (size_t wi = 0; wi < 4; wi++) {
    size_t nw = nws[wi], nblocks = 37, lanes = nblocks * 16;
    uint64_t *codes = aligned_alloc(64, nblocks * nw * 16 * sizeof *codes);
    uint64_t q[16];
    for (size_t i = 0; i < nblocks * nw * 16; i++)
      codes[i] = next64() & next64(); /* skewed bits */
    for (size_t w = 0; w < nw; w++)
      q[w] = next64() & next64();
    uint32_t thr[] = {0, (uint32_t)(nw * 64 / 2), (uint32_t)(nw * 64 / 2 - 6),
                      (uint32_t)(nw * 64 + 1)};
    for (int ti = 0; ti < 4; ti++) {
      uint32_t rr[1024], rd[1024], gr[1024], gd[1024];
      size_t want =
          ((scan_fn)ks[0].fn)(codes, nw, 3, nblocks - 3, q, thr[ti], rr, rd);
      /* the reference against a plain count */
      size_t cnt = 0;
      for (size_t r = 48; r < lanes; r++) {
        uint32_t d = 0;
        for (size_t w = 0; w < nw; w++)
          d += (uint32_t)__builtin_popcountll(codes[r / 16 * nw * 16 + w * 16 +
                                                    r % 16] ^
                                              q[w]);
        cnt += d < thr[ti];
      }
      CHECK_INT_EQ(want, cnt);
      for (int k = 1; k < nk; k++) {
        size_t got =
            ((scan_fn)ks[k].fn)(codes, nw, 3, nblocks - 3, q, thr[ti], gr, gd);
        CHECK_INT_EQ(got, want);
        int same = got == want;
        for (size_t i = 0; same && i < got; i++)
          same = gr[i] == rr[i] && gd[i] == rd[i];
        if (!same)
          fprintf(stderr, "scan %s, %zu words, thr %u differs\n", ks[k].isa, nw,
                  thr[ti]);
        CHECK(same);
      }
    }
    free(codes);
  }
}

/* Brute force in double over alive templates (optionally one watchlist):
 * the best id. */
static int64_t brute_best(const float *g, const int64_t *wl,
                          const unsigned char *alive, size_t n, size_t d,
                          const float *q, int64_t only_wl, double *score) {
  int64_t best = -1;
  double bs = -INFINITY, qn = 0;
  for (size_t j = 0; j < d; j++)
    qn += (double)q[j] * q[j];
  qn = sqrt(qn);
  for (size_t i = 0; i < n; i++) {
    if (!alive[i] || (only_wl >= 0 && wl[i] != only_wl))
      continue;
    double s = 0;
    for (size_t j = 0; j < d; j++)
      s += (double)q[j] * g[i * d + j];
    if (s > bs) {
      bs = s;
      best = (int64_t)i;
    }
  }
  *score = bs / qn;
  return best;
}

static void run(const char *factory, size_t d, size_t n,
                argus_threadpool *pool) {
  printf("%s, dim %zu, %zu templates%s\n", factory, d, n,
         pool ? ", pool" : "");
  float *g = malloc(n * d * sizeof *g);
  int64_t *ids = malloc(n * sizeof *ids), *wl = malloc(n * sizeof *wl);
  unsigned char *alive = calloc(n, 1);
  for (size_t i = 0; i < n; i++) {
    for (size_t j = 0; j < d; j++)
      g[i * d + j] = gauss();
    unit(g + i * d, d);
    ids[i] = (int64_t)i;
    wl[i] = (int64_t)(i % 3);
  }
  size_t nq = 60, half = 30;
  float *q = malloc(nq * d * sizeof *q);
  size_t src[60];
  for (size_t i = 0; i < nq; i++) {
    src[i] = (size_t)(next64() % n);
    for (size_t j = 0; j < d; j++)
      q[i * d + j] = i < half ? g[src[i] * d + j] + gauss() / sqrtf((float)d)
                              : gauss();
  }
  argus_index_config cfg;
  argus_index_config_init(&cfg);
  cfg.model_id = "sketch";
  cfg.dim = (int)d;
  cfg.kind = ARGUS_INDEX_APPROX;
  cfg.approx_factory = factory;
  cfg.pool = pool;
  argus_index *idx = NULL;
  CHECK_OK(argus_index_create(&cfg, &idx, NULL));
  if (!idx)
    goto out;
  /* most at once, the rest one by one */
  CHECK_OK(argus_index_add_batch(idx, n - 20, ids, wl, g, NULL));
  for (size_t i = n - 20; i < n; i++)
    CHECK_OK(argus_index_add(idx, ids[i], wl[i], g + i * d, NULL));
  for (size_t i = 0; i < n; i++)
    alive[i] = 1;
  argus_index_stats stt;
  CHECK_OK(argus_index_get_stats(idx, &stt));
  printf("  backend %s\n", stt.backend);
  CHECK(strncmp(stt.backend, "sketch:", 7) == 0);
  CHECK_INT_EQ(stt.kind, ARGUS_INDEX_APPROX);

  for (int phase = 0; phase < 2; phase++) {
    /* every template a candidate: exact */
    CHECK_OK(argus_index_set_search_params(idx, (int)(n / 16 + 1), 0));
    size_t bad = 0;
    for (int f = -1; f < 3; f++) {
      int64_t w = f;
      argus_index_search_opts o = {&w, 1, NULL};
      argus_index_hit h[3];
      size_t nf;
      for (size_t i = 0; i < nq; i++) {
        CHECK_OK(argus_index_search(idx, q + i * d, 1, 3, f >= 0 ? &o : NULL, h,
                                    &nf, NULL));
        double s;
        int64_t b = brute_best(g, wl, alive, n, d, q + i * d, f, &s);
        if (b < 0) /* nothing alive in that watchlist */
          bad += nf != 0;
        else if (h[0].id != b || fabs(h[0].score - s) > 1e-5 ||
                 (f >= 0 && h[0].watchlist != f))
          bad++;
      }
    }
    printf("  phase %d, all candidates: %zu/%zu differ from brute force\n",
           phase, bad, 4 * nq);
    CHECK_INT_EQ(bad, 0);
    {
      /* one batch (spread over the pool, if any) = one query at a time */
      argus_index_hit *hb = malloc(nq * 3 * sizeof *hb), h1[3];
      size_t *nfb = malloc(nq * sizeof *nfb), nf1, diff = 0;
      CHECK_OK(argus_index_search(idx, q, nq, 3, NULL, hb, nfb, NULL));
      for (size_t i = 0; i < nq; i++) {
        CHECK_OK(
            argus_index_search(idx, q + i * d, 1, 3, NULL, h1, &nf1, NULL));
        diff += nf1 != nfb[i];
        for (size_t j = 0; j < nf1 && j < nfb[i]; j++)
          diff += h1[j].id != hb[i * 3 + j].id ||
                  h1[j].score != hb[i * 3 + j].score;
      }
      CHECK_INT_EQ(diff, 0);
      free(hb);
      free(nfb);
    }
    /* 512 candidates: mated queries still find the exact best (their
     * source, where the dimension is high enough) */
    CHECK_OK(argus_index_set_search_params(idx, 32, 0));
    size_t miss = 0;
    for (size_t i = 0; i < half; i++) {
      argus_index_hit h[1];
      size_t nf;
      double s;
      if (!alive[src[i]]) /* then its best is a near-tie of strangers */
        continue;
      CHECK_OK(argus_index_search(idx, q + i * d, 1, 1, NULL, h, &nf, NULL));
      miss += h[0].id != brute_best(g, wl, alive, n, d, q + i * d, -1, &s);
    }
    printf("  phase %d, 512 candidates: %zu mated misses\n", phase, miss);
    CHECK_INT_EQ(miss, 0);
    if (phase == 0) {
      /* remove a third, the sources of some queries among them */
      for (size_t i = 0; i < n; i += 3) {
        CHECK_OK(argus_index_remove(idx, ids[i], NULL));
        alive[i] = 0;
      }
      if (alive[src[0]]) {
        CHECK_OK(argus_index_remove(idx, ids[src[0]], NULL));
        alive[src[0]] = 0;
      }
      CHECK_OK(argus_index_get_stats(idx, &stt));
      CHECK_INT_EQ(stt.approx_dead, 0);
    }
  }
  argus_index_destroy(idx);
out:
  free(g);
  free(ids);
  free(wl);
  free(alive);
  free(q);
}

static void test_auto_and_bad(void) {
  /* AUTO moves to the sketch at the threshold (in the background) */
  size_t d = 48, n = 3000;
  float *g = malloc(n * d * sizeof *g);
  int64_t *ids = malloc(n * sizeof *ids), *wl = calloc(n, sizeof *wl);
  for (size_t i = 0; i < n; i++) {
    for (size_t j = 0; j < d; j++)
      g[i * d + j] = gauss();
    ids[i] = (int64_t)i;
  }
  argus_index_config cfg;
  argus_index_config_init(&cfg);
  cfg.model_id = "auto";
  cfg.dim = (int)d;
  cfg.approx_threshold = 2000;
  cfg.approx_factory = "SRP64";
  argus_index *idx = NULL;
  CHECK_OK(argus_index_create(&cfg, &idx, NULL));
  CHECK_OK(argus_index_add_batch(idx, n, ids, wl, g, NULL));
  CHECK_OK(argus_index_wait_builds(idx));
  argus_index_stats stt;
  CHECK_OK(argus_index_get_stats(idx, &stt));
  CHECK_INT_EQ(stt.kind, ARGUS_INDEX_APPROX);
  CHECK_INT_EQ(stt.count, n);
  printf("auto: %s\n", stt.backend);
  argus_index_hit h[1];
  size_t nf, wrong = 0;
  for (size_t i = 0; i < n; i += 50) {
    CHECK_OK(argus_index_search(idx, g + i * d, 1, 1, NULL, h, &nf, NULL));
    wrong += h[0].id != ids[i];
  }
  CHECK_INT_EQ(wrong, 0);
  argus_index_destroy(idx);
  /* bad factory strings */
  static const char *const bad[] = {"SRP0", "SRP100", "SRP2048", "SRP64x"};
  for (int i = 0; i < 4; i++) {
    cfg.kind = ARGUS_INDEX_APPROX;
    cfg.approx_factory = bad[i];
    idx = NULL;
    argus_err e = argus_index_create(&cfg, &idx, NULL);
    if (e == ARGUS_OK) /* taken by FAISS's parser? must not be */
      argus_index_destroy(idx);
    CHECK(e != ARGUS_OK);
  }
  free(g);
  free(ids);
  free(wl);
}

int main(int argc, char **argv) {
  (void)argc;
  setvbuf(stdout, NULL, _IONBF, 0);
  argus_log_set_level(ARGUS_LOG_ERROR);
  int r = isa_runs(argv, "test_index_sketch");
  if (r >= 0)
    return r;
  printf("isa %s\n", argus_cpu_isa_name());
  test_scans();
  argus_threadpool *pool = NULL;
  CHECK_OK(argus_threadpool_create(3, &pool));
  run("SRP64", 24, 1500, NULL);
  run("SRP128", 37, 2500, pool);
  run("SRP256", 512, 6000, pool);
  run("SRP192", 130, 2000, NULL);
  test_auto_and_bad();
  argus_threadpool_destroy(pool);
  return check_report("test_index_sketch");
}
