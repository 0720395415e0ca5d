/* The index: every scoring kernel against its reference (random dims, block
 * counts and query counts, for each ISA this CPU has), fp16 conversion, exact
 * search against a double-precision brute force (single and batched queries,
 * watchlist filters, after adds and removes, with and without threads),
 * fp16/int8 top-1 agreement on clustered data, bad input, the catalog,
 * concurrent readers with a writer, and the FAISS backend when built in. */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "argus/core.h"
#include "argus/index.h"
#include "check.h"
#include "index/index_internal.h"
#include "index/kernels/kernels.h"

static uint64_t rng_state = 0x2545f4914f6cdd1dull;

static uint32_t rnd(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return (uint32_t)(rng_state >> 11);
}

static size_t rint_(size_t lo, size_t hi) { return lo + rnd() % (hi - lo + 1); }
static float rf(void) { return (float)(rnd() % 2000001) / 1000000.0f - 1.0f; }

static float gauss(void) {
  float u = ((float)(rnd() % 1000000) + 0.5f) / 1000000.0f;
  float v = ((float)(rnd() % 1000000) + 0.5f) / 1000000.0f;
  return sqrtf(-2.0f * logf(u)) * cosf(6.2831853f * v);
}

static void normalize(float *x, size_t d) {
  double s = 0;
  for (size_t j = 0; j < d; j++)
    s += (double)x[j] * x[j];
  float inv = (float)(1.0 / sqrt(s));
  for (size_t j = 0; j < d; j++)
    x[j] *= inv;
}

/* ---- kernels ---------------------------------------------------------- */

/* Random blocks of element type e and a packed query group, then every
 * kernel against the reference and the reference against double. */
static void test_kernels_elem(ix_elem e) {
  ix_kernel ks[4];
  int nk = ix_kernels_all(e, ks, 4);
  CHECK(nk >= 1);
  static const char *const en[] = {"f32", "f16", "s8"};
  for (int trial = 0; trial < 60; trial++) {
    size_t dim = trial == 0 ? 512 : rint_(1, 300);
    size_t kdim = e == IX_S8 ? (dim + 3) / 4 * 4 : dim;
    size_t nblocks = rint_(1, 7);
    size_t bb = ix_block_bytes(e, dim);
    uint8_t *blocks = aligned_alloc(64, (nblocks * bb + 63) / 64 * 64);
    float *tscale = malloc(nblocks * IX_LANES * sizeof *tscale);
    /* templates in double for the model */
    double *tv = malloc(nblocks * IX_LANES * kdim * sizeof *tv);
    for (size_t b = 0; b < nblocks; b++)
      for (size_t t = 0; t < IX_LANES; t++) {
        size_t r = b * IX_LANES + t;
        tscale[r] = 0.001f + (float)(rnd() % 1000) / 100000.0f;
        for (size_t j = 0; j < kdim; j++) {
          double v;
          if (e == IX_F32) {
            float f = rf();
            ((float *)(void *)(blocks + b * bb))[j * IX_LANES + t] = f;
            v = f;
          } else if (e == IX_F16) {
            uint16_t h = ix_f32_to_f16_1(rf());
            ((uint16_t *)(void *)(blocks + b * bb))[j * IX_LANES + t] = h;
            v = ix_f16_to_f32_1(h);
          } else {
            int q = (int)(rnd() % 255) - 127; /* -127 .. 127 */
            blocks[b * bb + (j / 4) * 64 + t * 4 + j % 4] = (uint8_t)(q + 128);
            v = q;
          }
          tv[r * kdim + j] = v;
        }
      }
    for (int ki = 0; ki < nk; ki++) {
      int nq = (int)rint_(1, (size_t)ks[ki].max_q);
      float *qf = malloc((size_t)nq * kdim * sizeof *qf);
      int8_t *qs = malloc((size_t)nq * kdim);
      float qscale[IX_MAX_Q];
      int32_t qsum[IX_MAX_Q];
      double *qv = malloc((size_t)nq * kdim * sizeof *qv);
      for (int i = 0; i < nq; i++) {
        qscale[i] = 0.002f + (float)(rnd() % 1000) / 50000.0f;
        qsum[i] = 0;
        for (size_t j = 0; j < kdim; j++) {
          if (e == IX_S8) {
            int q = (int)(rnd() % 255) - 127;
            qs[((j / 4) * (size_t)nq + (size_t)i) * 4 + j % 4] = (int8_t)q;
            qsum[i] += q;
            qv[(size_t)i * kdim + j] = q;
          } else {
            float f = rf();
            qf[j * (size_t)nq + (size_t)i] = f;
            qv[(size_t)i * kdim + j] = f;
          }
        }
      }
      ix_qpack pk = {nq, kdim, qf, qs, qscale, qsum};
      size_t ld = nblocks * IX_LANES + rint_(0, 5);
      size_t ns = (size_t)nq * ld + 16;
      float *s_ref = malloc(ns * sizeof(float));
      float *s_k = malloc(ns * sizeof(float));
      for (size_t i = 0; i < ns; i++)
        s_ref[i] = s_k[i] = 12345.0f; /* canary */
      ks[0].tile(&pk, blocks, tscale, nblocks, s_ref, ld);
      ks[ki].tile(&pk, blocks, tscale, nblocks, s_k, ld);
      int bad = 0;
      for (int i = 0; i < nq; i++) {
        for (size_t c = 0; c < ld; c++) {
          size_t o = (size_t)i * ld + c;
          if (c >= nblocks * IX_LANES) { /* stride gap untouched */
            if (s_k[o] != 12345.0f || s_ref[o] != 12345.0f)
              bad++;
            continue;
          }
          double model = 0, mag = 0;
          for (size_t j = 0; j < kdim; j++) {
            double p = qv[(size_t)i * kdim + j] * tv[c * kdim + j];
            model += p;
            mag += fabs(p);
          }
          if (e == IX_S8) {
            model *= (double)tscale[c] * qscale[i];
            mag *= (double)tscale[c] * qscale[i];
            /* integer dot exact: kernels agree bit for bit */
            if (s_k[o] != s_ref[o])
              bad++;
          }
          double tol = 1e-6 * mag + 1e-6;
          if (fabs(s_ref[o] - model) > tol || fabs(s_k[o] - model) > tol)
            bad++;
        }
      }
      if (s_k[ns - 1] != 12345.0f)
        bad++;
      if (bad)
        fprintf(stderr, "kernel %s/%s dim %zu blocks %zu nq %d: %d bad\n",
                en[e], ks[ki].isa, dim, nblocks, nq, bad);
      CHECK_INT_EQ(bad, 0);
      free(qf);
      free(qs);
      free(qv);
      free(s_ref);
      free(s_k);
    }
    free(blocks);
    free(tscale);
    free(tv);
  }
  printf("kernels %s:", en[e]);
  for (int i = 0; i < nk; i++)
    printf(" %s(q<=%d)", ks[i].isa, ks[i].max_q);
  printf("\n");
}

static void test_f16_convert(void) {
  ix_f32_to_f16_fn fns[4];
  const char *names[4];
  int n = ix_f16_converters_all(fns, names, 4);
  size_t len = 1000 + 13;
  float *src = malloc(len * sizeof *src);
  uint16_t *ref = malloc(len * sizeof *ref), *got = malloc(len * sizeof *got);
  static const float special[] = {0.0f,      -0.0f,     1.0f,      -1.0f,
                                  65504.0f,  65520.0f,  1e9f,      -1e9f,
                                  6.1e-5f,   5.96e-8f,  2.98e-8f,  1e-10f,
                                  1.00048828125f, 1.00146484375f, INFINITY,
                                  -INFINITY, NAN};
  size_t ns = sizeof special / sizeof special[0];
  for (int trial = 0; trial < 20; trial++) {
    for (size_t i = 0; i < len; i++) {
      uint32_t bits = rnd() ^ (rnd() << 21);
      float f;
      memcpy(&f, &bits, sizeof f);
      src[i] = i < ns ? special[i] : (trial % 2 ? f : rf() * 2.0f);
    }
    size_t m = rint_(1, len);
    ix_f32_to_f16_ref(src, ref, m);
    for (int k = 1; k < n; k++) {
      memset(got, 0, len * sizeof *got);
      fns[k](src, got, m);
      int bad = 0;
      for (size_t i = 0; i < m; i++) {
        int nan_r = (ref[i] & 0x7c00) == 0x7c00 && (ref[i] & 0x3ff);
        int nan_g = (got[i] & 0x7c00) == 0x7c00 && (got[i] & 0x3ff);
        if (nan_r ? !nan_g : ref[i] != got[i]) {
          if (bad++ < 3)
            fprintf(stderr, "f16 %s: %.9g -> %04x, ref %04x\n", names[k],
                    (double)src[i], got[i], ref[i]);
        }
      }
      CHECK_INT_EQ(bad, 0);
    }
  }
  /* every half converts to float and back unchanged (NaNs stay NaN) */
  int bad = 0;
  for (uint32_t h = 0; h < 65536; h++) {
    float f = ix_f16_to_f32_1((uint16_t)h);
    uint16_t back = ix_f32_to_f16_1(f);
    if (isnan(f) ? !((back & 0x7c00) == 0x7c00 && (back & 0x3ff))
                 : back != h)
      bad++;
  }
  CHECK_INT_EQ(bad, 0);
  free(src);
  free(ref);
  free(got);
}

/* ---- search against brute force --------------------------------------- */

typedef struct model {
  size_t dim, n;  /* n: ids 0..n-1 ever created */
  float *vec;     /* n x dim (unit) */
  int64_t *wl;
  int *alive;
} model;

static void model_init(model *m, size_t dim, size_t cap) {
  m->dim = dim;
  m->n = 0;
  m->vec = malloc(cap * dim * sizeof *m->vec);
  m->wl = malloc(cap * sizeof *m->wl);
  m->alive = calloc(cap, sizeof *m->alive);
}

static void model_free(model *m) {
  free(m->vec);
  free(m->wl);
  free(m->alive);
}

/* Clustered unit vectors: nc centres, each vector a centre plus noise. */
static void make_vec(float *x, size_t d, const float *centre, float noise) {
  for (size_t j = 0; j < d; j++)
    x[j] = (centre ? centre[j] : 0.0f) + noise * gauss();
  normalize(x, d);
}

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

static int allowed(const model *m, int64_t id, const int64_t *wls,
                   size_t nw) {
  if (!nw)
    return 1;
  for (size_t i = 0; i < nw; i++)
    if (m->wl[id] == wls[i])
      return 1;
  return 0;
}

/* Compares one query's hits with the brute force over the model. Scores
 * within tol; ids equal except among near-ties. Returns mismatches. */
static int compare_query(const model *m, const float *q, size_t k,
                         const int64_t *wls, size_t nw,
                         const argus_index_hit *h, size_t nfound, double tol,
                         ref_hit *buf) {
  double qn = 0;
  for (size_t j = 0; j < m->dim; j++)
    qn += (double)q[j] * q[j];
  qn = sqrt(qn);
  size_t nr = 0;
  for (size_t id = 0; id < m->n; id++) {
    if (!m->alive[id] || !allowed(m, (int64_t)id, wls, nw))
      continue;
    double s = 0;
    for (size_t j = 0; j < m->dim; j++)
      s += (double)q[j] * m->vec[id * m->dim + j];
    buf[nr].score = s / qn;
    buf[nr].id = (int64_t)id;
    nr++;
  }
  qsort(buf, nr, sizeof *buf, cmp_ref);
  size_t want = nr < k ? nr : k;
  int bad = 0;
  if (nfound != want)
    bad++;
  for (size_t i = 0; i < want && i < nfound; i++) {
    if (fabs(h[i].score - buf[i].score) > tol)
      bad++;
    if (h[i].id != buf[i].id) {
      /* a near-tie may swap places: the id must score the same */
      int64_t id = h[i].id;
      double s = -2;
      if (id >= 0 && (size_t)id < m->n && m->alive[id]) {
        s = 0;
        for (size_t j = 0; j < m->dim; j++)
          s += (double)q[j] * m->vec[(size_t)id * m->dim + j];
        s /= qn;
      }
      if (fabs(s - buf[i].score) > tol)
        bad++;
    }
    if (h[i].id >= 0 && (size_t)h[i].id < m->n && h[i].watchlist != m->wl[h[i].id])
      bad++;
  }
  for (size_t i = nfound; i < k; i++)
    if (h[i].id != -1 || h[i].watchlist != -1 || !(h[i].score == -INFINITY))
      bad++;
  return bad;
}

static size_t count_alive(const model *m) {
  size_t c = 0;
  for (size_t i = 0; i < m->n; i++)
    c += m->alive[i] != 0;
  return c;
}

static void search_and_compare(argus_index *idx, const model *m,
                               argus_threadpool *pool, double tol,
                               const char *what) {
  static const size_t batches[] = {1, 3, 13, 40};
  static const size_t ks[] = {1, 5, 17};
  size_t dim = m->dim;
  ref_hit *buf = malloc((m->n + 1) * sizeof *buf);
  for (size_t bi = 0; bi < 4; bi++) {
    size_t nq = batches[bi], k = ks[bi % 3];
    float *q = malloc(nq * dim * sizeof *q);
    for (size_t i = 0; i < nq; i++) {
      /* a perturbed template or a random direction, not normalised */
      size_t id = rint_(0, m->n - 1);
      float scale = 0.5f + (float)(rnd() % 100) / 25.0f;
      for (size_t j = 0; j < dim; j++)
        q[i * dim + j] =
            scale * ((i % 3 ? m->vec[id * dim + j] : 0.0f) + 0.05f * gauss());
    }
    argus_index_hit *hits = malloc(nq * k * sizeof *hits);
    size_t *nf = malloc(nq * sizeof *nf);
    for (int filt = 0; filt < 3; filt++) {
      int64_t wls[3] = {1, 3, 777};
      size_t nw = filt == 0 ? 0 : filt == 1 ? 1 : 3;
      argus_index_search_opts o = {wls, nw, pool};
      CHECK_OK(argus_index_search(idx, q, nq, k, &o, hits, nf, NULL));
      int bad = 0;
      for (size_t i = 0; i < nq; i++)
        bad += compare_query(m, q + i * dim, k, wls, nw, hits + i * k, nf[i],
                             tol, buf);
      if (bad)
        fprintf(stderr, "%s: nq %zu k %zu filter %d: %d mismatches\n", what,
                nq, k, filt, bad);
      CHECK_INT_EQ(bad, 0);
    }
    free(q);
    free(hits);
    free(nf);
  }
  free(buf);
}

static void test_exact(argus_index_kind kind, size_t dim, argus_threadpool *pool,
                       double tol) {
  argus_index_config cfg;
  argus_index_config_init(&cfg);
  cfg.model_id = "test-model";
  cfg.dim = (int)dim;
  cfg.kind = kind;
  argus_index *idx = NULL;
  CHECK_OK(argus_index_create(&cfg, &idx, NULL));
  if (!idx)
    return;
  model m;
  size_t cap = 3000;
  model_init(&m, dim, cap);
  /* batch add */
  size_t n0 = 1000 + rint_(0, 40);
  int64_t *ids = malloc(cap * sizeof *ids);
  for (size_t i = 0; i < n0; i++) {
    make_vec(m.vec + i * dim, dim, NULL, 1.0f);
    m.wl[i] = (int64_t)(i % 5);
    m.alive[i] = 1;
    ids[i] = (int64_t)i;
  }
  m.n = n0;
  CHECK_OK(argus_index_add_batch(idx, n0, ids, m.wl, m.vec, NULL));
  CHECK_INT_EQ(argus_index_count(idx), n0);
  char what[64];
  snprintf(what, sizeof what, "%s dim %zu pool %d", argus_index_kind_name(kind),
           dim, pool ? argus_threadpool_size(pool) : 0);
  search_and_compare(idx, &m, pool, tol, what);
  /* remove about a third, including the last row and whole watchlist 3 */
  for (size_t i = 0; i < n0; i++) {
    if (rnd() % 3 == 0 || i == n0 - 1 || m.wl[i] == 3) {
      CHECK_OK(argus_index_remove(idx, (int64_t)i, NULL));
      m.alive[i] = 0;
    }
  }
  CHECK_INT_EQ(argus_index_remove(idx, 5, NULL),
               m.alive[5] ? ARGUS_OK : ARGUS_E_NOT_FOUND);
  m.alive[5] = 0;
  CHECK_INT_EQ(argus_index_count(idx), count_alive(&m));
  search_and_compare(idx, &m, pool, tol, what);
  /* single adds, a new watchlist, re-adding a removed id */
  for (size_t i = 0; i < 300; i++) {
    size_t id = m.n++;
    make_vec(m.vec + id * dim, dim, NULL, 1.0f);
    m.wl[id] = i % 2 ? 777 : 3;
    m.alive[id] = 1;
    /* scaled: the index normalises */
    float v[1024];
    for (size_t j = 0; j < dim; j++)
      v[j] = m.vec[id * dim + j] * 3.5f;
    CHECK_OK(argus_index_add(idx, (int64_t)id, m.wl[id], v, NULL));
  }
  if (m.alive[0])
    CHECK_OK(argus_index_remove(idx, 0, NULL));
  CHECK_OK(argus_index_add(idx, 0, 1, m.vec, NULL));
  m.alive[0] = 1;
  m.wl[0] = 1;
  CHECK_INT_EQ(argus_index_count(idx), count_alive(&m));
  search_and_compare(idx, &m, pool, tol, what);
  argus_index_stats st;
  CHECK_OK(argus_index_get_stats(idx, &st));
  CHECK_INT_EQ(st.count, count_alive(&m));
  CHECK_INT_EQ(st.kind, kind == ARGUS_INDEX_AUTO ? ARGUS_INDEX_F32 : kind);
  CHECK(st.bytes > st.count * dim / 4);
  free(ids);
  model_free(&m);
  argus_index_destroy(idx);
}

/* fp16 / int8 against fp32: identical top-1 for perturbed copies of
 * clustered templates (the real-data check is bench/index_bench --check). */
static void test_compressed_top1(void) {
  size_t dim = 512, n = 4000, nc = 200, nq = 400;
  float *centres = malloc(nc * dim * sizeof *centres);
  float *vec = malloc(n * dim * sizeof *vec);
  int64_t *ids = malloc(n * sizeof *ids), *wl = calloc(n, sizeof *wl);
  float *q = malloc(nq * dim * sizeof *q);
  for (size_t c = 0; c < nc; c++)
    make_vec(centres + c * dim, dim, NULL, 1.0f);
  for (size_t i = 0; i < n; i++) {
    /* identities cluster around centres (as relatives or look-alikes do) */
    make_vec(vec + i * dim, dim, centres + (i % nc) * dim, 0.06f);
    ids[i] = (int64_t)i;
  }
  for (size_t i = 0; i < nq; i++) {
    size_t id = rint_(0, n - 1);
    make_vec(q + i * dim, dim, vec + id * dim, 0.03f);
  }
  argus_index_kind kinds[3] = {ARGUS_INDEX_F32, ARGUS_INDEX_F16,
                               ARGUS_INDEX_I8};
  argus_index_hit *hits[3];
  for (int k = 0; k < 3; k++) {
    argus_index_config cfg;
    argus_index_config_init(&cfg);
    cfg.model_id = "m";
    cfg.dim = (int)dim;
    cfg.kind = kinds[k];
    argus_index *idx = NULL;
    hits[k] = malloc(nq * 2 * sizeof *hits[k]);
    CHECK_OK(argus_index_create(&cfg, &idx, NULL));
    CHECK_OK(argus_index_add_batch(idx, n, ids, wl, vec, NULL));
    CHECK_OK(argus_index_search(idx, q, nq, 2, NULL, hits[k], NULL, NULL));
    argus_index_destroy(idx);
  }
  for (int k = 1; k < 3; k++) {
    size_t agree = 0;
    double maxd = 0;
    for (size_t i = 0; i < nq; i++) {
      agree += hits[k][i * 2].id == hits[0][i * 2].id;
      double d = fabs(hits[k][i * 2].score - hits[0][i * 2].score);
      maxd = d > maxd ? d : maxd;
    }
    printf("top-1 %s vs f32: %zu/%zu identical, max |score diff| %.2g\n",
           argus_index_kind_name(kinds[k]), agree, nq, maxd);
    CHECK_INT_EQ(agree, nq);
    CHECK(maxd < (k == 1 ? 2e-3 : 1e-2));
  }
  for (int k = 0; k < 3; k++)
    free(hits[k]);
  free(centres);
  free(vec);
  free(ids);
  free(wl);
  free(q);
}

/* ---- bad input --------------------------------------------------------- */

/* err->msg contains `sub` (printed both when not). */
#define CHECK_MSG(err, sub)                                                    \
  do {                                                                         \
    check_count_++;                                                            \
    if (!strstr((err).msg, (sub))) {                                           \
      fprintf(stderr, "%s:%d: error detail \"%s\" lacks \"%s\"\n", __FILE__,  \
              __LINE__, (err).msg, (sub));                                     \
      check_failures_++;                                                       \
    }                                                                          \
  } while (0)

/* The error details of failed calls name what failed and why; a success
 * leaves the detail empty. */
static void test_error_details(void) {
  argus_error_detail err;
  argus_index_config cfg;
  argus_index_config_init(&cfg);
  argus_index *idx = NULL;
  cfg.model_id = "m";
  cfg.dim = 0;
  CHECK_INT_EQ(argus_index_create(&cfg, &idx, &err), ARGUS_E_INVALID_ARG);
  CHECK_MSG(err, "dim 0 outside 1..4096");
  cfg.dim = 8;
  cfg.model_id = "";
  CHECK_INT_EQ(argus_index_create(&cfg, &idx, &err), ARGUS_E_INVALID_ARG);
  CHECK_MSG(err, "model id must be 1..127 bytes (got an empty one)");
  cfg.model_id = "m";
  cfg.kind = ARGUS_INDEX_APPROX;
  cfg.approx_factory = "SRP100"; /* not a multiple of 64: a FAISS string */
  if (!argus_index_approx_available()) {
    CHECK_INT_EQ(argus_index_create(&cfg, &idx, &err), ARGUS_E_UNSUPPORTED);
    CHECK_MSG(err, "\"SRP100\" is not SRP<bits> and needs FAISS");
  }
  cfg.approx_factory = NULL;
  cfg.kind = ARGUS_INDEX_F32;
  CHECK_OK(argus_index_create(&cfg, &idx, &err));
  CHECK_INT_EQ(err.msg[0], 0);
  float v[8] = {1, 2, 3, 4, 5, 6, 7, 8}, z[8] = {0};
  CHECK_OK(argus_index_add(idx, 5, 0, v, &err));
  CHECK_INT_EQ(argus_index_add(idx, 5, 0, v, &err), ARGUS_E_INVALID_ARG);
  CHECK_MSG(err, "add: id 5 is already in index \"m\"");
  CHECK_INT_EQ(argus_index_add(idx, 6, 0, z, &err), ARGUS_E_INVALID_ARG);
  CHECK_MSG(err, "template id 6: vector has NaN/Inf values or zero length");
  int64_t ids[2] = {8, 8}, wls[2] = {0, 0};
  float vv[16];
  for (int i = 0; i < 16; i++)
    vv[i] = (float)(i + 1);
  CHECK_INT_EQ(argus_index_add_batch(idx, 2, ids, wls, vv, &err),
               ARGUS_E_INVALID_ARG);
  CHECK_MSG(err, "id 8 is already in index \"m\" (twice in this batch)");
  CHECK_INT_EQ(argus_index_remove(idx, 99, &err), ARGUS_E_NOT_FOUND);
  CHECK_MSG(err, "remove: id 99 is not in index \"m\"");
  argus_index_hit h[2];
  size_t nf[2];
  CHECK_INT_EQ(argus_index_search(idx, v, 1, 0, NULL, h, nf, &err),
               ARGUS_E_INVALID_ARG);
  CHECK_MSG(err, "search: k = 0 outside 1..1024");
  float q2[16] = {1, 2, 3, 4, 5, 6, 7, 8};
  CHECK_INT_EQ(argus_index_search(idx, q2, 2, 1, NULL, h, nf, &err),
               ARGUS_E_INVALID_ARG);
  CHECK_MSG(err, "search: query 1 has NaN/Inf values or zero length");
  CHECK_OK(argus_index_search(idx, v, 1, 1, NULL, h, nf, &err));
  CHECK_INT_EQ(err.msg[0], 0);
  argus_index_destroy(idx);

  argus_index_catalog *cat = NULL;
  CHECK_OK(argus_index_catalog_create(NULL, &cat, &err));
  argus_index *a = NULL;
  CHECK_OK(argus_index_catalog_open(cat, "sface@2", 128, &a, &err));
  CHECK_INT_EQ(argus_index_catalog_open(cat, "sface@2", 64, &a, &err),
               ARGUS_E_SHAPE);
  CHECK_MSG(err, "model \"sface@2\" has 128-d templates, asked for 64");
  CHECK_INT_EQ(argus_index_catalog_open(cat, "x", 0, &a, &err),
               ARGUS_E_INVALID_ARG);
  CHECK_MSG(err, "create: dim 0 outside");
  argus_index_catalog_destroy(cat);
}

static void test_bad_input(void) {
  argus_index_config cfg;
  argus_index_config_init(&cfg);
  argus_index *idx = (argus_index *)1;
  CHECK_INT_EQ(argus_index_create(&cfg, &idx, NULL), ARGUS_E_INVALID_ARG);
  CHECK(idx == NULL);
  cfg.model_id = "m";
  cfg.dim = 0;
  CHECK_INT_EQ(argus_index_create(&cfg, &idx, NULL), ARGUS_E_INVALID_ARG);
  cfg.dim = ARGUS_INDEX_MAX_DIM + 1;
  CHECK_INT_EQ(argus_index_create(&cfg, &idx, NULL), ARGUS_E_INVALID_ARG);
  char longid[200];
  memset(longid, 'x', sizeof longid - 1);
  longid[sizeof longid - 1] = 0;
  cfg.dim = 8;
  cfg.model_id = longid;
  CHECK_INT_EQ(argus_index_create(&cfg, &idx, NULL), ARGUS_E_INVALID_ARG);
  cfg.model_id = "m";
  cfg.kind = (argus_index_kind)99;
  CHECK_INT_EQ(argus_index_create(&cfg, &idx, NULL), ARGUS_E_INVALID_ARG);
  cfg.kind = ARGUS_INDEX_APPROX;
  if (!argus_index_approx_available())
    CHECK_INT_EQ(argus_index_create(&cfg, &idx, NULL), ARGUS_E_UNSUPPORTED);
  CHECK_INT_EQ(argus_index_create(NULL, &idx, NULL), ARGUS_E_INVALID_ARG);
  CHECK_INT_EQ(argus_index_create(&cfg, NULL, NULL), ARGUS_E_INVALID_ARG);

  cfg.kind = ARGUS_INDEX_F32;
  cfg.max_count = 3;
  CHECK_OK(argus_index_create(&cfg, &idx, NULL));
  float v[8] = {1, 2, 3, 4, 5, 6, 7, 8}, z[8] = {0};
  float nanv[8] = {1, 2, NAN, 4, 5, 6, 7, 8};
  float infv[8] = {1, 2, INFINITY, 4, 5, 6, 7, 8};
  CHECK_OK(argus_index_add(idx, 1, 0, v, NULL));
  CHECK_INT_EQ(argus_index_add(idx, 1, 0, v, NULL), ARGUS_E_INVALID_ARG);
  CHECK_INT_EQ(argus_index_add(idx, 2, 0, z, NULL), ARGUS_E_INVALID_ARG);
  CHECK_INT_EQ(argus_index_add(idx, 2, 0, nanv, NULL), ARGUS_E_INVALID_ARG);
  CHECK_INT_EQ(argus_index_add(idx, 2, 0, infv, NULL), ARGUS_E_INVALID_ARG);
  CHECK_INT_EQ(argus_index_add(idx, -2, 0, v, NULL), ARGUS_E_INVALID_ARG);
  CHECK_INT_EQ(argus_index_add(idx, 2, -1, v, NULL), ARGUS_E_INVALID_ARG);
  CHECK_INT_EQ(argus_index_add(idx, 2, 0, NULL, NULL), ARGUS_E_INVALID_ARG);
  CHECK_INT_EQ(argus_index_add(NULL, 2, 0, v, NULL), ARGUS_E_INVALID_ARG);
  /* a batch with a duplicate inside adds nothing */
  int64_t ids[3] = {7, 7, 9}, wls[3] = {0, 0, 0};
  float vv[24];
  for (int i = 0; i < 24; i++)
    vv[i] = (float)(i + 1);
  CHECK_INT_EQ(argus_index_add_batch(idx, 2, ids, wls, vv, NULL),
               ARGUS_E_INVALID_ARG);
  CHECK_INT_EQ(argus_index_count(idx), 1);
  ids[1] = 8;
  CHECK_INT_EQ(argus_index_add_batch(idx, 3, ids, wls, vv, NULL),
               ARGUS_E_LIMIT);
  CHECK_INT_EQ(argus_index_count(idx), 1);
  CHECK_OK(argus_index_add_batch(idx, 2, ids, wls, vv, NULL));
  CHECK_INT_EQ(argus_index_add(idx, 10, 0, v, NULL), ARGUS_E_LIMIT);
  CHECK_OK(argus_index_add_batch(idx, 0, NULL, NULL, NULL, NULL));

  argus_index_hit h[4];
  size_t nf[2];
  CHECK_INT_EQ(argus_index_search(idx, v, 1, 0, NULL, h, nf, NULL),
               ARGUS_E_INVALID_ARG);
  CHECK_INT_EQ(
      argus_index_search(idx, v, 1, ARGUS_INDEX_MAX_K + 1, NULL, h, nf, NULL),
      ARGUS_E_INVALID_ARG);
  CHECK_INT_EQ(argus_index_search(idx, z, 1, 1, NULL, h, nf, NULL),
               ARGUS_E_INVALID_ARG);
  CHECK_INT_EQ(argus_index_search(idx, nanv, 1, 1, NULL, h, nf, NULL),
               ARGUS_E_INVALID_ARG);
  CHECK_INT_EQ(argus_index_search(idx, NULL, 1, 1, NULL, h, nf, NULL),
               ARGUS_E_INVALID_ARG);
  CHECK_INT_EQ(argus_index_search(idx, v, 1, 1, NULL, NULL, nf, NULL),
               ARGUS_E_INVALID_ARG);
  argus_index_search_opts o = {NULL, 2, NULL};
  CHECK_INT_EQ(argus_index_search(idx, v, 1, 1, &o, h, nf, NULL),
               ARGUS_E_INVALID_ARG);
  CHECK_OK(argus_index_search(idx, v, 0, 1, NULL, NULL, NULL, NULL));
  /* k larger than the index; an unknown watchlist matches nothing */
  CHECK_OK(argus_index_search(idx, v, 1, 4, NULL, h, nf, NULL));
  CHECK_INT_EQ(nf[0], 3);
  CHECK_INT_EQ(h[0].id, 1);
  CHECK_NEAR(h[0].score, 1.0, 1e-5, 0);
  CHECK_INT_EQ(h[3].id, -1);
  int64_t unknown = 12345;
  argus_index_search_opts o2 = {&unknown, 1, NULL};
  CHECK_OK(argus_index_search(idx, v, 1, 2, &o2, h, nf, NULL));
  CHECK_INT_EQ(nf[0], 0);
  CHECK_INT_EQ(h[0].id, -1);
  CHECK_INT_EQ(argus_index_remove(idx, 99, NULL), ARGUS_E_NOT_FOUND);
  CHECK_INT_EQ(argus_index_remove(idx, -1, NULL), ARGUS_E_INVALID_ARG);
  CHECK_INT_EQ(argus_index_remove(NULL, 1, NULL), ARGUS_E_INVALID_ARG);
  CHECK_INT_EQ(argus_index_get_stats(idx, NULL), ARGUS_E_INVALID_ARG);
  /* empty after removing everything */
  CHECK_OK(argus_index_remove(idx, 1, NULL));
  CHECK_OK(argus_index_remove(idx, 7, NULL));
  CHECK_OK(argus_index_remove(idx, 8, NULL));
  CHECK_OK(argus_index_search(idx, v, 1, 2, NULL, h, nf, NULL));
  CHECK_INT_EQ(nf[0], 0);
  argus_index_destroy(idx);
  argus_index_destroy(NULL);
}

static void test_catalog(void) {
  argus_index_catalog *cat = NULL;
  CHECK_OK(argus_index_catalog_create(NULL, &cat, NULL));
  argus_index *a = NULL, *b = NULL, *c = NULL;
  CHECK_OK(argus_index_catalog_open(cat, "arcface-r100@1", 512, &a, NULL));
  CHECK_OK(argus_index_catalog_open(cat, "arcface-r100@1", 512, &b, NULL));
  CHECK(a == b && a != NULL);
  CHECK_INT_EQ(argus_index_catalog_open(cat, "arcface-r100@1", 128, &c, NULL),
               ARGUS_E_SHAPE);
  CHECK_OK(argus_index_catalog_open(cat, "sface@2", 128, &c, NULL));
  CHECK(c != a);
  CHECK(strcmp(argus_index_model_id(c), "sface@2") == 0);
  CHECK_INT_EQ(argus_index_dim(c), 128);
  argus_index *f = NULL;
  CHECK_OK(argus_index_catalog_find(cat, "sface@2", &f));
  CHECK(f == c);
  CHECK_INT_EQ(argus_index_catalog_find(cat, "nope", &f), ARGUS_E_NOT_FOUND);
  CHECK_INT_EQ(argus_index_catalog_open(cat, "x", 0, &f, NULL),
               ARGUS_E_INVALID_ARG);
  argus_index_catalog_destroy(cat);
  argus_index_catalog_destroy(NULL);
}

/* ---- concurrency ------------------------------------------------------ */

typedef struct conc {
  argus_index *idx;
  size_t dim, nstable;
  float tol;
  const float *stable; /* never removed: ids 0..nstable-1 */
  atomic_int stop;
  int errors;
  int approx; /* top-1 misses allowed (counted apart) */
  long searches, misses;
  pthread_mutex_t mu;
} conc;

static void *reader(void *arg) {
  conc *c = arg;
  uint64_t seed = (uint64_t)(uintptr_t)&arg;
  float q[4 * 64];
  argus_index_hit h[4 * 8];
  size_t nf[4];
  int errors = 0;
  long n = 0, misses = 0;
  while (!atomic_load(&c->stop)) {
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    size_t nq = 1 + (seed >> 33) % 4;
    size_t ids[4];
    for (size_t i = 0; i < nq; i++) {
      ids[i] = (size_t)((seed >> (8 + i * 8)) % c->nstable);
      memcpy(q + i * c->dim, c->stable + ids[i] * c->dim, c->dim * sizeof *q);
    }
    int64_t wl = 0;
    argus_index_search_opts o = {&wl, (seed >> 40) % 2, NULL};
    if (argus_index_search(c->idx, q, nq, 8, &o, h, nf, NULL) != ARGUS_OK) {
      errors++;
      continue;
    }
    for (size_t i = 0; i < nq; i++) {
      /* its own stable template must come first with score 1 */
      if (nf[i] < 1 || h[i * 8].id != (int64_t)ids[i] ||
          fabsf(h[i * 8].score - 1.0f) > c->tol) {
        misses++;
        if (!c->approx && errors++ < 3)
          fprintf(stderr, "reader: query of id %zu: %zu found, top %lld %g\n",
                  ids[i], nf[i], (long long)h[i * 8].id,
                  (double)h[i * 8].score);
      }
      for (size_t j = 1; j < nf[i]; j++)
        if (h[i * 8 + j].score > h[i * 8 + j - 1].score ||
            h[i * 8 + j].id < 0 ||
            (o.n_watchlists && h[i * 8 + j].watchlist != 0))
          errors++;
    }
    n++;
  }
  pthread_mutex_lock(&c->mu);
  c->errors += errors;
  c->searches += n;
  c->misses += misses;
  pthread_mutex_unlock(&c->mu);
  return NULL;
}

static void test_concurrent(argus_index_kind kind, argus_threadpool *pool) {
  size_t dim = 64, nstable = 200;
  argus_index_config cfg;
  argus_index_config_init(&cfg);
  cfg.model_id = "conc";
  cfg.dim = (int)dim;
  cfg.kind = kind;
  cfg.pool = pool;
  argus_index *idx = NULL;
  CHECK_OK(argus_index_create(&cfg, &idx, NULL));
  float *stable = malloc(nstable * dim * sizeof *stable);
  int64_t *ids = malloc(nstable * sizeof *ids), *wl = calloc(nstable, sizeof *wl);
  for (size_t i = 0; i < nstable; i++) {
    make_vec(stable + i * dim, dim, NULL, 1.0f);
    ids[i] = (int64_t)i;
  }
  CHECK_OK(argus_index_add_batch(idx, nstable, ids, wl, stable, NULL));
  conc c = {idx,    dim, nstable, kind == ARGUS_INDEX_I8 ? 2e-2f : 1e-4f,
            stable, 0,   0,       kind == ARGUS_INDEX_APPROX,
            0,      0,   PTHREAD_MUTEX_INITIALIZER};
  pthread_t th[3];
  for (int i = 0; i < 3; i++)
    pthread_create(&th[i], NULL, reader, &c);
  /* the writer: churn through other ids (growing and shrinking storage) */
  int werr = 0;
  float v[64];
  for (int round = 0; round < 30; round++) {
    for (int i = 0; i < 100; i++) {
      make_vec(v, dim, NULL, 1.0f);
      werr += argus_index_add(idx, 1000 + round * 100 + i, i % 3, v, NULL) !=
              ARGUS_OK;
    }
    for (int i = 0; i < 100; i += 1 + round % 2)
      werr += argus_index_remove(idx, 1000 + round * 100 + i, NULL) != ARGUS_OK;
  }
  atomic_store(&c.stop, 1);
  for (int i = 0; i < 3; i++)
    pthread_join(th[i], NULL);
  printf("concurrent %s (pool %d): %ld searches by 3 readers, %d errors, "
         "%ld top-1 misses\n",
         argus_index_kind_name(kind), pool ? argus_threadpool_size(pool) : 0,
         c.searches, c.errors, c.misses);
  CHECK_INT_EQ(werr, 0);
  CHECK_INT_EQ(c.errors, 0);
  /* HNSW may miss an exact copy now and then (its build is multi-threaded
   * and not deterministic); exact backends never */
  CHECK(c.misses <= (c.approx ? c.searches / 100 : 0));
  CHECK(c.searches > 0);
  free(stable);
  free(ids);
  free(wl);
  argus_index_destroy(idx);
}


/* The search arena: nested marks, growth past the block, reuse. From the
 * second round of the same sizes on, every pointer is the same as in the
 * round before (the block is reused, nothing allocated). */
static void test_arena(void) {
  static const size_t sizes[] = {100, 4096, 1, 70000, 64, 300000};
  void *prev[6] = {0}, *cur[6];
  int same_rounds = 0;
  for (int round = 0; round < 4; round++) {
    size_t outer = ix_arena_mark();
    CHECK_INT_EQ(outer, 0);
    cur[0] = ix_arena_alloc(sizes[0]);
    cur[1] = ix_arena_calloc(sizes[1]);
    size_t inner = ix_arena_mark();
    for (int i = 2; i < 6; i++)
      cur[i] = ix_arena_alloc(sizes[i]);
    int ok = 1;
    for (int i = 0; i < 6; i++) {
      ok &= cur[i] != NULL && ((uintptr_t)cur[i] & 63) == 0;
      if (cur[i])
        memset(cur[i], 0x5a, sizes[i]); /* writable, no overlap (ASan) */
    }
    CHECK(ok);
    ix_arena_release(inner);
    /* after the inner release the outer allocations are intact */
    CHECK_INT_EQ(((unsigned char *)cur[0])[sizes[0] - 1], 0x5a);
    ix_arena_release(outer);
    if (round > 0) {
      int same = 1;
      for (int i = 0; i < 6; i++)
        same &= cur[i] == prev[i];
      same_rounds += same;
    }
    memcpy(prev, cur, sizeof prev);
  }
  /* round 0 spills to the side; rounds 1-3 run in the grown block, and
   * rounds 2 and 3 reuse round 1's pointers exactly */
  CHECK_INT_EQ(same_rounds, 2);
  /* calloc zeroes what an earlier round wrote */
  size_t m = ix_arena_mark();
  unsigned char *p = ix_arena_alloc(sizes[0]);
  unsigned char *q = ix_arena_calloc(sizes[1]);
  CHECK(p != NULL && q != NULL);
  int zero = 1;
  for (size_t i = 0; q && i < sizes[1]; i++)
    zero &= q[i] == 0;
  CHECK(zero);
  ix_arena_release(m);
}

/* ---- FAISS ------------------------------------------------------------ */

static void test_approx(void) {
  if (!argus_index_approx_available()) {
    printf("approx: FAISS not built in, skipped\n");
    return;
  }
  size_t dim = 96, n = 3000, nq = 200;
  float *vec = malloc(n * dim * sizeof *vec);
  int64_t *ids = malloc(n * sizeof *ids), *wl = malloc(n * sizeof *wl);
  for (size_t i = 0; i < n; i++) {
    make_vec(vec + i * dim, dim, NULL, 1.0f);
    ids[i] = (int64_t)(i + 100);
    wl[i] = (int64_t)(i % 4);
  }
  float *q = malloc(nq * dim * sizeof *q);
  size_t *truth = malloc(nq * sizeof *truth);
  for (size_t i = 0; i < nq; i++) {
    truth[i] = rint_(0, n - 1);
    make_vec(q + i * dim, dim, vec + truth[i] * dim, 0.04f);
  }
  static const char *const factories[] = {"HNSW32,Flat", "IVF16,Flat"};
  for (int fi = 0; fi < 2; fi++) {
    argus_index_config cfg;
    argus_index_config_init(&cfg);
    cfg.model_id = "approx";
    cfg.dim = (int)dim;
    cfg.kind = ARGUS_INDEX_AUTO;
    cfg.approx_threshold = 2000;
    cfg.approx_factory = factories[fi];
    cfg.ivf_nprobe = 4;
    /* HNSW: built in the background (the default); IVF: in the write */
    cfg.synchronous_builds = fi == 1;
    argus_index *idx = NULL;
    CHECK_OK(argus_index_create(&cfg, &idx, NULL));
    /* below the threshold: exact; crossing it moves to FAISS */
    CHECK_OK(argus_index_add_batch(idx, 1500, ids, wl, vec, NULL));
    argus_index_stats st;
    CHECK_OK(argus_index_get_stats(idx, &st));
    CHECK_INT_EQ(st.kind, ARGUS_INDEX_F32);
    CHECK_OK(argus_index_add_batch(idx, n - 1500, ids + 1500, wl + 1500,
                                   vec + 1500 * dim, NULL));
    CHECK_OK(argus_index_get_stats(idx, &st));
    if (cfg.synchronous_builds)
      CHECK_INT_EQ(st.kind, ARGUS_INDEX_APPROX);
    CHECK_OK(argus_index_wait_builds(idx));
    CHECK_OK(argus_index_get_stats(idx, &st));
    CHECK_INT_EQ(st.kind, ARGUS_INDEX_APPROX);
    CHECK_INT_EQ(st.building, 0);
    CHECK_INT_EQ(st.builds, 1);
    CHECK_INT_EQ(st.count, n);
    argus_index_hit *h = malloc(nq * 5 * sizeof *h);
    size_t *nf = malloc(nq * sizeof *nf);
    CHECK_OK(argus_index_search(idx, q, nq, 5, NULL, h, nf, NULL));
    size_t ok = 0;
    for (size_t i = 0; i < nq; i++)
      ok += h[i * 5].id == ids[truth[i]];
    printf("approx %s (%s): recall@1 %zu/%zu\n", factories[fi], st.backend, ok,
           nq);
    CHECK(ok >= nq * 95 / 100);
    /* filter: only watchlist 2 */
    int64_t w2 = 2;
    argus_index_search_opts o = {&w2, 1, NULL};
    CHECK_OK(argus_index_search(idx, q, nq, 5, &o, h, nf, NULL));
    int badf = 0;
    for (size_t i = 0; i < nq * 5; i++)
      if (h[i].id >= 0 && h[i].watchlist != 2)
        badf++;
    CHECK_INT_EQ(badf, 0);
    /* remove the true matches of the first 50 queries: never returned
     * again; enough removals trigger a rebuild */
    for (size_t i = 0; i < 50; i++) {
      argus_err e = argus_index_remove(idx, ids[truth[i]], NULL);
      CHECK(e == ARGUS_OK || e == ARGUS_E_NOT_FOUND);
    }
    CHECK_OK(argus_index_search(idx, q, 50, 5, NULL, h, nf, NULL));
    int badr = 0;
    for (size_t i = 0; i < 50 * 5; i++)
      for (size_t j = 0; j < 50; j++)
        if (h[i].id == ids[truth[j]])
          badr++;
    CHECK_INT_EQ(badr, 0);
    for (size_t i = 0; i < 1200; i++)
      argus_index_remove(idx, ids[i], NULL);
    CHECK_OK(argus_index_wait_builds(idx));
    CHECK_OK(argus_index_get_stats(idx, &st));
    CHECK_INT_EQ(st.kind, ARGUS_INDEX_APPROX);
    CHECK(st.approx_dead < 1200); /* rebuilt on the way */
    CHECK_OK(argus_index_search(idx, q + 150 * dim, 50, 5, NULL, h, nf, NULL));
    ok = 0;
    size_t want = 0;
    for (size_t i = 150; i < 200; i++) {
      if (truth[i] < 1200)
        continue;
      int gone = 0;
      for (size_t j = 0; j < 50; j++)
        gone |= truth[j] == truth[i];
      if (gone)
        continue;
      want++;
      ok += h[(i - 150) * 5].id == ids[truth[i]];
    }
    CHECK(ok + 1 >= want);
    free(h);
    free(nf);
    argus_index_destroy(idx);
  }
  /* a bad factory string fails cleanly */
  argus_index_config cfg;
  argus_index_config_init(&cfg);
  cfg.model_id = "bad";
  cfg.dim = 16;
  cfg.kind = ARGUS_INDEX_APPROX;
  cfg.approx_factory = "NoSuchIndex99";
  argus_index *idx = NULL;
  CHECK(argus_index_create(&cfg, &idx, NULL) != ARGUS_OK);
  CHECK(idx == NULL);
  free(vec);
  free(ids);
  free(wl);
  free(q);
  free(truth);
}


/* Background build: crossing the threshold returns at once and the exact
 * backend keeps serving; adds and removals made during the build are
 * replayed onto the new backend before it is swapped in, so afterwards the
 * index holds exactly the templates that are alive. Also: destroying the
 * index while a build runs cancels it. */
typedef struct bg_reader {
  argus_index *idx;
  const float *q;
  size_t dim, nq;
  atomic_int stop;
  long searches, errors;
} bg_reader;

static void *bg_read(void *arg) {
  bg_reader *r = arg;
  argus_index_hit h[5];
  size_t nf;
  while (!atomic_load(&r->stop)) {
    for (size_t i = 0; i < r->nq && !atomic_load(&r->stop); i++) {
      r->errors += argus_index_search(r->idx, r->q + i * r->dim, 1, 5, NULL, h,
                                      &nf, NULL) != ARGUS_OK;
      r->searches++;
    }
  }
  return NULL;
}

static void test_background_build(void) {
  if (!argus_index_approx_available())
    return;
  size_t dim = 128, n = 12000, extra = 600;
  float *vec = malloc((n + extra) * dim * sizeof *vec);
  int64_t *ids = malloc((n + extra) * sizeof *ids);
  int64_t *wl = calloc(n + extra, sizeof *wl);
  unsigned char *alive = calloc(n + extra, 1);
  for (size_t i = 0; i < n + extra; i++) {
    make_vec(vec + i * dim, dim, NULL, 1.0f);
    ids[i] = (int64_t)i;
  }
  argus_index_config cfg;
  argus_index_config_init(&cfg);
  cfg.model_id = "bg";
  cfg.dim = (int)dim;
  cfg.approx_threshold = n;
  cfg.approx_factory = "HNSW16,Flat";
  cfg.hnsw_ef_search = (int)(n + extra); /* the beam walks the whole graph */
  argus_index *idx = NULL;
  CHECK_OK(argus_index_create(&cfg, &idx, NULL));
  CHECK_OK(argus_index_add_batch(idx, n, ids, wl, vec, NULL));
  for (size_t i = 0; i < n; i++)
    alive[i] = 1;
  argus_index_stats st;
  CHECK_OK(argus_index_get_stats(idx, &st));
  int was_building = st.building;
  bg_reader r = {idx, vec, dim, 64, 0, 0, 0};
  pthread_t th;
  pthread_create(&th, NULL, bg_read, &r);
  /* writes while the graph is built: new templates, removals of old and
   * new ones (moving rows around) */
  size_t during = 0;
  for (size_t i = 0; i < extra; i++) {
    CHECK_OK(argus_index_get_stats(idx, &st));
    during += st.building && st.kind == ARGUS_INDEX_F32;
    CHECK_OK(argus_index_add(idx, ids[n + i], 0, vec + (n + i) * dim, NULL));
    alive[n + i] = 1;
    size_t victim = i % 3 == 0 ? n + i / 2 : i * 17 % n;
    if (alive[victim]) {
      CHECK_OK(argus_index_remove(idx, ids[victim], NULL));
      alive[victim] = 0;
    }
  }
  CHECK_OK(argus_index_wait_builds(idx));
  atomic_store(&r.stop, 1);
  pthread_join(th, NULL);
  CHECK_OK(argus_index_get_stats(idx, &st));
  size_t nalive = 0;
  for (size_t i = 0; i < n + extra; i++)
    nalive += alive[i];
  printf("background build: building after the crossing add %d, %zu of %zu "
         "writes made during the build, %ld searches meanwhile; now %s, %zu "
         "templates\n",
         was_building, during, extra, r.searches, st.backend, st.count);
  CHECK_INT_EQ(was_building, 1);
  CHECK(during > 0);
  CHECK_INT_EQ(r.errors, 0);
  CHECK_INT_EQ(st.kind, ARGUS_INDEX_APPROX);
  CHECK_INT_EQ(st.builds, 1);
  CHECK_INT_EQ(st.count, nalive);
  /* every template is itself's best hit when alive, never found when not */
  size_t wrong = 0;
  argus_index_hit h[1];
  size_t nf;
  for (size_t i = 0; i < n + extra; i += 7) {
    CHECK_OK(argus_index_search(idx, vec + i * dim, 1, 1, NULL, h, &nf, NULL));
    if (alive[i] ? h[0].id != ids[i] : h[0].id == ids[i])
      wrong++;
  }
  CHECK_INT_EQ(wrong, 0);
  argus_index_destroy(idx);

  /* destroy during a build: cancelled, nothing leaks (ASan) */
  CHECK_OK(argus_index_create(&cfg, &idx, NULL));
  CHECK_OK(argus_index_add_batch(idx, n, ids, wl, vec, NULL));
  CHECK_OK(argus_index_get_stats(idx, &st));
  CHECK_INT_EQ(st.building, 1);
  argus_index_destroy(idx);

  free(vec);
  free(ids);
  free(wl);
  free(alive);
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  argus_log_set_level(ARGUS_LOG_ERROR);
  printf("isa %s\n", argus_cpu_isa_name());
  test_kernels_elem(IX_F32);
  test_kernels_elem(IX_F16);
  test_kernels_elem(IX_S8);
  test_f16_convert();
  test_arena();

  argus_threadpool *pool = NULL;
  CHECK_OK(argus_threadpool_create(3, &pool));
  test_exact(ARGUS_INDEX_F32, 512, NULL, 1e-5);
  test_exact(ARGUS_INDEX_AUTO, 37, pool, 1e-5);
  test_exact(ARGUS_INDEX_F32, 1, NULL, 1e-5);
  test_exact(ARGUS_INDEX_F16, 130, pool, 2e-3);
  test_exact(ARGUS_INDEX_I8, 99, pool, 2e-2);
  test_compressed_top1();
  test_bad_input();
  test_error_details();
  test_catalog();
  test_concurrent(ARGUS_INDEX_F32, NULL);
  test_concurrent(ARGUS_INDEX_I8, pool);
  if (argus_index_approx_available())
    test_concurrent(ARGUS_INDEX_APPROX, NULL);
  test_approx();
  test_background_build();
  argus_threadpool_destroy(pool);
  return check_report("test_index");
}
