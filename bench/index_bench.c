/*
 * index_bench: search speed, memory and agreement of the index backends,
 * side by side with FAISS's IndexFlatIP in the same run.
 *
 *   index_bench [--quick] [--sizes 10000,100000,1000000] [--dim 512]
 *               [--threads 1,2] [--batches 1,16,64]
 *               [--modes f32,f16,i8,approx,faiss|faiss-flat,faiss-hnsw]
 *               [--approx-max N] [--stock-max N] [--factory SRP256]
 *               [--ef 32,64,128,256] [--queries 256] [--noise 1]
 *               [--seed S]
 *   index_bench --check EMB.f32|EMB.npy [--probes PROBES.f32|.npy] [--dim D]
 *
 * Synthetic data: unit vectors from a seeded PRNG. Queries (--queries, 256
 * by default; more give recall@1 a finer resolution): half are
 * perturbed copies of gallery vectors (a gallery vector plus Gaussian noise
 * of --noise times its length: cosine about 1 / sqrt(1 + noise^2) to their
 * source, 0.7 by default, 0.5 at --noise 1.73; a probe of an enrolled
 * person), half random directions. "top1=f32" compares
 * each mode's best hit with exact fp32's, separately for the two halves
 * (recall@1 of the approximate modes); for the random half, whose best
 * matches are near-ties, "rand d-best" is the largest amount by which a
 * mode's best score exceeds exact fp32's best (an approximate search scores
 * a subset of the templates exactly, so it must not be above rounding).
 *
 * "approx" is the index's approximate backend (the --factory string:
 * SRP<bits>, argus's sketch index, by default; for HNSW<M>,Flat|SQfp16|SQ8
 * FAISS's graph on argus's SIMD distances), built through
 * argus_index_add_batch; "faiss-hnsw" is the same factory string on FAISS's
 * own code (stock FAISS; not for SRP), "faiss-flat" FAISS's IndexFlatIP. The
 * approximate modes are measured at each --ef (the sketch re-ranks 16 x ef
 * candidates); approx up to --approx-max templates, stock HNSW (whose build
 * is slow) up to --stock-max.
 *
 * Timing: every cell is the best of several rounds (the machine may be
 * shared). ms/query is wall time amortised over the batch; cpu-ms/q is the
 * process's CPU time (all threads) per query, the cost per core, which a
 * busy machine distorts far less than wall time; queries/s and GB/s (the
 * template bytes one pass reads / wall time of one pass) follow wall time.
 *
 * --check compares the top-1 of fp16 / int8 (and approximate, when built)
 * with exact fp32 on real embeddings: a raw little-endian float32 matrix
 * (rows of --dim values) or a 2-D float32 .npy file. Without --probes every
 * row is searched against all the others (leave-one-out).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "argus/core.h"
#include "argus/index.h"
#ifdef ARGUS_BENCH_FAISS
#include "index/faiss_shim.h"
#endif

#define MAX_LIST 8

typedef struct opts {
  size_t sizes[MAX_LIST];
  int nsizes;
  int threads[MAX_LIST];
  int nthreads;
  size_t batches[MAX_LIST];
  int nbatches;
  int dim;
  int quick;
  unsigned modes; /* bit per mode */
  size_t approx_max, stock_max;
  const char *factory;
  int ef[MAX_LIST];
  int nef, ef_given;
  uint64_t seed;
  size_t queries;
  float noise;
  const char *check, *probes;
} opts;

enum { M_F32, M_F16, M_I8, M_APPROX, M_FAISS, M_FAISS_HNSW, M_COUNT };
static const char *const mode_name[M_COUNT] = {
    "f32", "f16", "i8", "approx", "faiss-flat", "faiss-hnsw"};

/* ---- data --------------------------------------------------------------- */

static uint64_t rng;

static inline uint64_t next64(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}

/* Near-Gaussian from four uniforms (Irwin-Hall): cheap and isotropic enough
 * for unit vectors in 512 dimensions. */
static inline float gauss(void) {
  uint64_t r = next64();
  float s = (float)(r & 0xffff) + (float)((r >> 16) & 0xffff) +
            (float)((r >> 32) & 0xffff) + (float)(r >> 48);
  return (s / 65536.0f - 2.0f) * 1.7320508f;
}

static double dotself(const float *x, size_t d) {
  double s = 0;
  for (size_t j = 0; j < d; j++)
    s += (double)x[j] * x[j];
  return s;
}

static void normalize(float *x, size_t d) {
  float inv = (float)(1.0 / sqrt(dotself(x, d)));
  for (size_t j = 0; j < d; j++)
    x[j] *= inv;
}

static void random_unit(float *x, size_t d) {
  for (size_t j = 0; j < d; j++)
    x[j] = gauss();
  normalize(x, d);
}

/* ---- options ------------------------------------------------------------ */

static int parse_list(const char *s, size_t *out, int max) {
  int n = 0;
  while (*s && n < max) {
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s || errno)
      return -1;
    out[n++] = (size_t)v;
    s = *end == ',' ? end + 1 : end;
    if (*end && *end != ',')
      return -1;
  }
  return n;
}

static void usage(void) {
  fprintf(stderr,
          "usage: index_bench [--quick] [--sizes N,N,..] [--dim D] "
          "[--threads T,T] [--batches B,B,..]\n"
          "                   [--modes f32,f16,i8,approx,faiss,faiss-flat,"
          "faiss-hnsw] [--approx-max N] [--stock-max N]\n"
          "                   [--factory STR] [--ef N,N,..] [--queries N] "
          "[--noise X] [--seed S]\n"
          "       index_bench --check EMB.f32|EMB.npy [--probes P.f32|P.npy] "
          "[--dim D]\n");
}

static int parse_args(int argc, char **argv, opts *o) {
  memset(o, 0, sizeof *o);
  o->dim = 512;
  o->seed = 0x1234567u;
  o->queries = 256;
  o->noise = 1.0f;
  o->factory = "SRP256";
  o->approx_max = 100000;
  o->stock_max = 100000;
  o->modes = (1u << M_COUNT) - 1;
  size_t tmp[MAX_LIST];
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "--quick") == 0) {
      o->quick = 1;
      continue;
    }
    if (!v) {
      usage();
      return -1;
    }
    i++;
    if (strcmp(a, "--sizes") == 0) {
      if ((o->nsizes = parse_list(v, o->sizes, MAX_LIST)) <= 0)
        return -1;
    } else if (strcmp(a, "--threads") == 0) {
      if ((o->nthreads = parse_list(v, tmp, MAX_LIST)) <= 0)
        return -1;
      for (int k = 0; k < o->nthreads; k++)
        o->threads[k] = tmp[k] < 1 ? 1 : tmp[k] > 256 ? 256 : (int)tmp[k];
    } else if (strcmp(a, "--batches") == 0) {
      if ((o->nbatches = parse_list(v, o->batches, MAX_LIST)) <= 0)
        return -1;
    } else if (strcmp(a, "--dim") == 0) {
      o->dim = atoi(v);
    } else if (strcmp(a, "--approx-max") == 0) {
      o->approx_max = strtoull(v, NULL, 10);
    } else if (strcmp(a, "--stock-max") == 0) {
      o->stock_max = strtoull(v, NULL, 10);
    } else if (strcmp(a, "--factory") == 0) {
      o->factory = v;
    } else if (strcmp(a, "--ef") == 0) {
      if ((o->nef = parse_list(v, tmp, MAX_LIST)) <= 0)
        return -1;
      o->ef_given = 1;
      for (int k = 0; k < o->nef; k++)
        o->ef[k] = tmp[k] < 1 ? 1 : tmp[k] > 4096 ? 4096 : (int)tmp[k];
    } else if (strcmp(a, "--queries") == 0) {
      o->queries = strtoull(v, NULL, 10);
      if (o->queries < 2 || o->queries > 1000000) {
        fprintf(stderr, "index_bench: --queries must be 2 .. 1000000\n");
        return -1;
      }
    } else if (strcmp(a, "--noise") == 0) {
      o->noise = strtof(v, NULL);
      if (!(o->noise >= 0.0f && o->noise <= 10.0f)) {
        fprintf(stderr, "index_bench: --noise must be 0 .. 10\n");
        return -1;
      }
    } else if (strcmp(a, "--seed") == 0) {
      o->seed = strtoull(v, NULL, 0);
    } else if (strcmp(a, "--check") == 0) {
      o->check = v;
    } else if (strcmp(a, "--probes") == 0) {
      o->probes = v;
    } else if (strcmp(a, "--modes") == 0) {
      /* comma-separated names; "faiss" is both FAISS modes */
      o->modes = 0;
      const char *p = v;
      while (*p) {
        size_t l = strcspn(p, ",");
        int found = 0;
        for (int m = 0; m < M_COUNT; m++)
          if (strlen(mode_name[m]) == l && strncmp(p, mode_name[m], l) == 0) {
            o->modes |= 1u << m;
            found = 1;
          }
        if (l == 5 && strncmp(p, "faiss", 5) == 0) {
          o->modes |= 1u << M_FAISS | 1u << M_FAISS_HNSW;
          found = 1;
        }
        if (!found) {
          fprintf(stderr, "index_bench: unknown mode '%.*s'\n", (int)l, p);
          return -1;
        }
        p += l;
        if (*p == ',')
          p++;
      }
      if (!o->modes)
        return -1;
    } else {
      usage();
      return -1;
    }
  }
  if (o->dim < 1 || o->dim > ARGUS_INDEX_MAX_DIM) {
    fprintf(stderr, "index_bench: --dim %d outside 1..%d\n", o->dim,
            ARGUS_INDEX_MAX_DIM);
    return -1;
  }
  if (!o->nsizes) {
    size_t def[] = {10000, 100000, 1000000};
    o->nsizes = o->quick ? 2 : 3;
    memcpy(o->sizes, def, sizeof def);
  }
  if (!o->nthreads) {
    o->threads[0] = 1;
    o->threads[1] = 2;
    o->nthreads = 2;
  }
  if (!o->nbatches) {
    size_t def[] = {1, 16, 64};
    memcpy(o->batches, def, sizeof def);
    o->nbatches = 3;
  }
  if (!o->nef) {
    int def[] = {32, 64, 128, 256};
    memcpy(o->ef, def, sizeof def);
    o->nef = 4;
  }
  if (o->quick && o->approx_max > 20000)
    o->approx_max = 20000;
  if (o->quick && o->stock_max > 20000)
    o->stock_max = 20000;
  return 0;
}

/* ---- the searchers ------------------------------------------------------ */

typedef struct searcher {
  int mode;
  argus_index *idx;
#ifdef ARGUS_BENCH_FAISS
  ix_faiss *faiss;
#endif
  size_t dim;
  float *fs;   /* faiss scratch */
  int64_t *fl; /* faiss labels */
} searcher;

/* Searches nq queries with k hits; writes best ids into top1 and their
 * scores into best (both may be NULL). */
static int run_search(searcher *s, argus_threadpool *pool, int threads,
                      const float *q, size_t nq, size_t k,
                      argus_index_hit *hits, int64_t *top1, float *best) {
  if (s->mode == M_FAISS || s->mode == M_FAISS_HNSW) {
#ifdef ARGUS_BENCH_FAISS
    char err[256];
    if (ix_faiss_search(s->faiss, nq, q, k, NULL, NULL, threads, s->fs, s->fl,
                        err, sizeof err) != ARGUS_OK) {
      fprintf(stderr, "faiss search: %s\n", err);
      return -1;
    }
    for (size_t i = 0; i < nq; i++) {
      if (top1)
        top1[i] = s->fl[i * k];
      if (best) /* FAISS does not divide by the query's length */
        best[i] = (float)(s->fs[i * k] / sqrt(dotself(q + i * s->dim, s->dim)));
    }
    return 0;
#else
    (void)threads;
    return -1;
#endif
  }
  argus_index_search_opts o = {NULL, 0, pool};
  argus_err e = argus_index_search(s->idx, q, nq, k, &o, hits, NULL, NULL);
  if (e != ARGUS_OK) {
    fprintf(stderr, "search: %s\n", argus_strerror(e));
    return -1;
  }
  for (size_t i = 0; i < nq; i++) {
    if (top1)
      top1[i] = hits[i * k].id;
    if (best)
      best[i] = hits[i * k].score;
  }
  return 0;
}

static double now_s(void) { return (double)argus_time_ns() * 1e-9; }

/* CPU time of the whole process (every thread), in seconds: on a shared
 * machine this is the work done, whatever share of the cores it got. */
static double cpu_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Wall and CPU seconds per batch of B queries, each the best of a few
 * rounds of several batches (one round when a batch takes seconds); -1 on
 * error. */
static int measure(searcher *s, argus_threadpool *pool, int T, const float *q,
                   size_t nq, size_t B, argus_index_hit *hits, int quick,
                   double *wall, double *cpu) {
  double t0 = now_s(), c0 = cpu_s();
  if (run_search(s, pool, T, q, B, 10, hits, NULL, NULL) != 0)
    return -1;
  *wall = now_s() - t0;
  *cpu = cpu_s() - c0;
  if (*wall > 2.0)
    return 0;
  double budget = quick ? 0.15 : 0.4;
  size_t per = *wall > 0 ? (size_t)(budget / *wall) : 8;
  per = per < 1 ? 1 : per > 64 ? 64 : per;
  size_t off = B;
  for (int r = 0; r < 3; r++) {
    double r0 = now_s(), rc = cpu_s();
    for (size_t p = 0; p < per; p++) {
      if (off + B > nq)
        off = 0;
      if (run_search(s, pool, T, q + off * s->dim, B, 10, hits, NULL,
                     NULL) != 0)
        return -1;
      off += B;
    }
    double dt = (now_s() - r0) / (double)per;
    double dc = (cpu_s() - rc) / (double)per;
    *wall = dt < *wall ? dt : *wall;
    *cpu = dc < *cpu ? dc : *cpu;
  }
  return 0;
}

static void print_header(void) {
  printf("%9s  %-40s %3s %5s  %9s %9s %10s %7s %8s %8s  %-15s %s\n",
         "templates", "mode", "thr", "batch", "ms/query", "cpu-ms/q",
         "queries/s", "GB/s", "MB/1M", "build s", "top1=f32 mated/rand",
         "rand d-best");
}

/* ---- synthetic benchmark ------------------------------------------------ */

static int bench_size(const opts *o, size_t n, argus_threadpool **pools) {
  size_t dim = (size_t)o->dim;
  size_t nq = o->queries, half = nq / 2, maxb = 1;
  for (int b = 0; b < o->nbatches; b++)
    maxb = o->batches[b] > maxb ? o->batches[b] : maxb;
  if (maxb > nq)
    maxb = nq;
  rng = o->seed ^ (n * 0x9e3779b97f4a7c15ull);
  if (!rng)
    rng = 1;
  float *g = malloc(n * dim * sizeof *g);
  int64_t *ids = malloc(n * sizeof *ids), *wl = calloc(n, sizeof *wl);
  float *q = malloc(nq * dim * sizeof *q);
  int64_t *ref_top1 = malloc(nq * sizeof *ref_top1);
  int64_t *top1 = malloc(nq * sizeof *top1);
  float *ref_best = malloc(nq * sizeof *ref_best);
  float *best1 = malloc(nq * sizeof *best1);
  argus_index_hit *hits = malloc(nq * 10 * sizeof *hits);
  if (!g || !ids || !wl || !q || !ref_top1 || !top1 || !ref_best || !best1 ||
      !hits) {
    fprintf(stderr, "index_bench: out of memory for %zu templates\n", n);
    return -1;
  }
  for (size_t i = 0; i < n; i++) {
    random_unit(g + i * dim, dim);
    ids[i] = (int64_t)i;
  }
  /* mated: source + noise of about --noise times the source's length ->
   * cosine 1 / sqrt(1 + noise^2), ~0.7 by default */
  float sigma = o->noise / sqrtf((float)dim);
  for (size_t i = 0; i < nq; i++) {
    float *x = q + i * dim;
    if (i < half) {
      const float *src = g + (next64() % n) * dim;
      for (size_t j = 0; j < dim; j++)
        x[j] = src[j] + sigma * gauss();
    } else {
      random_unit(x, dim);
    }
  }
  int have_ref = 0;
  for (int m = 0; m < M_COUNT; m++) {
    if (!(o->modes & (1u << m)))
      continue;
    int sketch = strncmp(o->factory, "SRP", 3) == 0;
    if (m == M_APPROX &&
        ((!sketch && !argus_index_approx_available()) || n > o->approx_max))
      continue;
    if (m == M_FAISS_HNSW && sketch)
      continue;
    if (m == M_FAISS_HNSW && n > o->stock_max)
      continue;
#ifndef ARGUS_BENCH_FAISS
    if (m == M_FAISS || m == M_FAISS_HNSW)
      continue;
#endif
    searcher s = {m, NULL,
#ifdef ARGUS_BENCH_FAISS
                  NULL,
#endif
                  dim, NULL, NULL};
    double t0 = now_s();
    size_t bytes = 0, scan_bytes = 0;
    char backend[96] = "";
    if (m == M_FAISS || m == M_FAISS_HNSW) {
#ifdef ARGUS_BENCH_FAISS
      char err[256];
      const char *fac = m == M_FAISS ? "Flat" : o->factory;
      argus_index_config dc;
      argus_index_config_init(&dc);
      if (ix_faiss_create(fac, (int)dim, IX_FAISS_STOCK, &s.faiss, err,
                          sizeof err)) {
        fprintf(stderr, "faiss %s: %s\n", fac, err);
        continue;
      }
      /* the same build breadth as the index's approximate backend */
      ix_faiss_set_param(s.faiss, "efConstruction", dc.hnsw_ef_construction);
      if (ix_faiss_add(s.faiss, n, g, err, sizeof err)) {
        fprintf(stderr, "faiss %s: %s\n", fac, err);
        ix_faiss_destroy(s.faiss);
        continue;
      }
      s.fs = malloc(nq * 10 * sizeof *s.fs);
      s.fl = malloc(nq * 10 * sizeof *s.fl);
      bytes = ix_faiss_bytes(s.faiss);
      scan_bytes = m == M_FAISS ? n * dim * sizeof(float) : 0;
      snprintf(backend, sizeof backend, "faiss:IndexFlatIP");
#endif
    } else {
      argus_index_config cfg;
      argus_index_config_init(&cfg);
      cfg.model_id = "bench";
      cfg.dim = (int)dim;
      cfg.kind = m == M_F32   ? ARGUS_INDEX_F32
                 : m == M_F16 ? ARGUS_INDEX_F16
                 : m == M_I8  ? ARGUS_INDEX_I8
                              : ARGUS_INDEX_APPROX;
      cfg.approx_factory = o->factory;
      cfg.hnsw_ef_search = o->ef[0];
      argus_err e = argus_index_create(&cfg, &s.idx, NULL);
      if (e == ARGUS_OK)
        e = argus_index_add_batch(s.idx, n, ids, wl, g, NULL);
      if (e != ARGUS_OK) {
        fprintf(stderr, "index %s: %s\n", mode_name[m], argus_strerror(e));
        argus_index_destroy(s.idx);
        continue;
      }
      argus_index_stats st;
      argus_index_get_stats(s.idx, &st);
      bytes = st.bytes;
      snprintf(backend, sizeof backend, "%s", st.backend);
      size_t per = m == M_F32 ? 4 : m == M_F16 ? 2 : 1;
      scan_bytes = m == M_APPROX ? 0 : n * dim * per;
    }
    double build = now_s() - t0;

    /* the HNSW modes are measured at each search breadth */
    char base[96];
    snprintf(base, sizeof base, "%s", backend);
    int nvar = m == M_APPROX || m == M_FAISS_HNSW ? o->nef : 1;
    for (int var = 0; var < nvar; var++) {
      if (m == M_APPROX) {
        argus_index_set_search_params(s.idx, o->ef[var], 0);
        snprintf(backend, sizeof backend, "%s ef=%d", base, o->ef[var]);
      } else if (m == M_FAISS_HNSW) {
#ifdef ARGUS_BENCH_FAISS
        ix_faiss_set_param(s.faiss, "efSearch", o->ef[var]);
#endif
        snprintf(backend, sizeof backend, "stock-faiss:%s ef=%d", o->factory,
                 o->ef[var]);
      }
      /* agreement with exact fp32 (which runs first) */
      if (run_search(&s, NULL, 1, q, nq, 1, hits, top1, best1) != 0)
        goto next;
      char agree[32] = "ref", dbest[16] = "";
      if (m == M_F32) {
        memcpy(ref_top1, top1, nq * sizeof *top1);
        memcpy(ref_best, best1, nq * sizeof *best1);
        have_ref = 1;
      } else if (have_ref) {
        size_t am = 0, ar = 0;
        double worst = -INFINITY;
        for (size_t i = 0; i < nq; i++) {
          *(i < half ? &am : &ar) += top1[i] == ref_top1[i];
          if (i >= half && (double)best1[i] - ref_best[i] > worst)
            worst = (double)best1[i] - ref_best[i];
        }
        snprintf(agree, sizeof agree, "%.3f / %.3f", (double)am / half,
                 (double)ar / (nq - half));
        snprintf(dbest, sizeof dbest, "%+.1e", worst);
      } else {
        snprintf(agree, sizeof agree, "-");
      }
      int first = 1;
      for (int ti = 0; ti < o->nthreads; ti++) {
        int T = o->threads[ti];
        for (int bi = 0; bi < o->nbatches; bi++) {
          size_t B = o->batches[bi] > nq ? nq : o->batches[bi];
          double best, cpu;
          if (measure(&s, pools[ti], T, q, nq, B, hits, o->quick, &best,
                      &cpu) != 0)
            goto next;
          double msq = best * 1e3 / (double)B;
          char gbs[16] = "-", mb[16] = "", bs[16] = "";
          if (scan_bytes)
            snprintf(gbs, sizeof gbs, "%.1f", (double)scan_bytes / best * 1e-9);
          if (first && var == 0) {
            snprintf(mb, sizeof mb, "%.0f",
                     (double)bytes / (double)n * 1e6 / 1048576.0);
            snprintf(bs, sizeof bs, "%.2f", build);
          }
          printf("%9zu  %-40s %3d %5zu  %9.3f %9.3f %10.1f %7s %8s %8s  "
                 "%-19s %s\n",
                 n, backend, T, B, msq, cpu * 1e3 / (double)B, 1e3 / msq, gbs,
                 mb, bs, first ? agree : "", first ? dbest : "");
          fflush(stdout);
          first = 0;
        }
      }
    }
  next:
    argus_index_destroy(s.idx);
#ifdef ARGUS_BENCH_FAISS
    ix_faiss_destroy(s.faiss);
#endif
    free(s.fs);
    free(s.fl);
  }
  free(g);
  free(ids);
  free(wl);
  free(q);
  free(ref_top1);
  free(top1);
  free(ref_best);
  free(best1);
  free(hits);
  return 0;
}

/* ---- --check on real embeddings ------------------------------------------ */

/* Reads a float32 matrix: .npy (2-D, '<f4', C order) or raw rows of dim. */
static float *load_matrix(const char *path, int *dim, size_t *rows) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "index_bench: %s: %s\n", path, strerror(errno));
    return NULL;
  }
  float *data = NULL;
  fseek(f, 0, SEEK_END);
  long size = ftell(f);
  fseek(f, 0, SEEK_SET);
  unsigned char magic[10];
  long off = 0;
  if (size >= 10 && fread(magic, 1, 10, f) == 10 &&
      memcmp(magic, "\x93NUMPY", 6) == 0) {
    size_t hl = magic[8] | (size_t)magic[9] << 8;
    off = 10;
    if (magic[6] >= 2) { /* version 2: 4-byte header length */
      unsigned char b[2];
      if (fread(b, 1, 2, f) != 2)
        goto bad;
      hl |= (size_t)b[0] << 16 | (size_t)b[1] << 24;
      off = 12;
    }
    if (hl > 65536)
      goto bad;
    char hdr[65537];
    if (fread(hdr, 1, hl, f) != hl)
      goto bad;
    hdr[hl] = 0;
    off += (long)hl;
    unsigned long r = 0, c = 0;
    const char *sh = strstr(hdr, "'shape':");
    if (!strstr(hdr, "'<f4'") || strstr(hdr, "'fortran_order': True") || !sh ||
        sscanf(sh, "'shape': (%lu, %lu)", &r, &c) != 2) {
      fprintf(stderr, "index_bench: %s: need a 2-D little-endian float32 "
                      "array in C order (header: %s)\n", path, hdr);
      fclose(f);
      return NULL;
    }
    *dim = (int)c;
    *rows = r;
  } else {
    fseek(f, 0, SEEK_SET);
    if (*dim < 1 || size % ((long)*dim * 4) != 0) {
      fprintf(stderr, "index_bench: %s: %ld bytes is not a whole number of "
                      "%d-float rows\n", path, size, *dim);
      fclose(f);
      return NULL;
    }
    *rows = (size_t)size / ((size_t)*dim * 4);
  }
  if (*dim < 1 || *dim > ARGUS_INDEX_MAX_DIM || *rows == 0 ||
      (long)(*rows * (size_t)*dim * 4) > size - off)
    goto bad;
  data = malloc(*rows * (size_t)*dim * sizeof *data);
  if (!data || fread(data, sizeof *data, *rows * (size_t)*dim, f) !=
                   *rows * (size_t)*dim)
    goto bad;
  fclose(f);
  return data;
bad:
  fprintf(stderr, "index_bench: %s: unreadable or malformed matrix\n", path);
  free(data);
  fclose(f);
  return NULL;
}

/* --check with refinement: the refine callback hands out the gallery's fp32
 * rows (the vectors given to add) and counts its calls. */
typedef struct check_src {
  const float *g;
  size_t n, dim;
  size_t fetches;
} check_src;

static argus_err check_fetch(void *user, int64_t id, float *vec) {
  check_src *s = user;
  if (id < 0 || (size_t)id >= s->n)
    return ARGUS_E_NOT_FOUND;
  memcpy(vec, s->g + (size_t)id * s->dim, s->dim * sizeof *vec);
  s->fetches++; /* one search call at a time: no race */
  return ARGUS_OK;
}

/* Builds a `kind` index with refinement (exact_scores as given), searches
 * the probes and compares with fp32's hits `ref`: top-1 (the best hit that
 * is not the probe itself, leave-one-out), the whole top-k (ids and order),
 * and the scores (bit for bit where exact). Returns the number of probes
 * whose top-k differs, or -1 when the index failed. */
static long check_refined(argus_index_kind kind, int exact, const float *g,
                          size_t n, size_t dim, const int64_t *ids,
                          const int64_t *wl, const float *p, size_t np,
                          size_t k, int loo, argus_threadpool *pool,
                          const argus_index_hit *ref, size_t kref) {
  check_src src = {g, n, dim, 0};
  argus_index_config cfg;
  argus_index_config_init(&cfg);
  cfg.model_id = "check";
  cfg.dim = (int)dim;
  cfg.kind = kind;
  cfg.refine.fetch = check_fetch;
  cfg.refine.user = &src;
  cfg.refine.exact_scores = exact;
  argus_index *idx = NULL;
  argus_index_hit *h = malloc(np * k * sizeof *h);
  argus_index_search_opts so = {NULL, 0, pool};
  double t0 = now_s();
  if (!h || argus_index_create(&cfg, &idx, NULL) != ARGUS_OK ||
      argus_index_add_batch(idx, n, ids, wl, g, NULL) != ARGUS_OK ||
      argus_index_search(idx, p, np, k, &so, h, NULL, NULL) != ARGUS_OK) {
    fprintf(stderr, "index_bench: %s with refinement failed\n",
            argus_index_kind_name(kind));
    argus_index_destroy(idx);
    free(h);
    return -1;
  }
  double secs = now_s() - t0;
  argus_index_destroy(idx);
  size_t top1 = 0, lists = 0, scores = 0;
  double maxd = 0;
  for (size_t i = 0; i < np; i++) {
    const argus_index_hit *a = ref + i * kref, *b = h + i * k;
    int ja = 0, jb = 0;
    if (loo && a[0].id == (int64_t)i)
      ja = 1;
    if (loo && b[0].id == (int64_t)i)
      jb = 1;
    top1 += a[ja].id != b[jb].id;
    int list = 0, sc = 0;
    for (size_t j = 0; j < k; j++) {
      list |= a[j].id != b[j].id;
      sc |= a[j].score != b[j].score;
      double d = fabs((double)a[j].score - b[j].score);
      maxd = d > maxd ? d : maxd;
    }
    lists += list;
    scores += sc;
  }
  printf("  %s + refine%s: top-1 differing from f32 %zu / %zu, top-%zu lists "
         "(ids, order) differing %zu, ",
         argus_index_kind_name(kind), exact ? " (exact scores)" : "", top1, np,
         k, lists);
  if (exact)
    printf("scores not bit-identical %zu; ", scores);
  else
    printf("max |score diff| %.2g; ", maxd);
  printf("%.2f fp32 fetches per query (%.1f s)\n", (double)src.fetches / np,
         secs);
  return (long)(lists + (exact ? scores : 0));
}

static int run_check(const opts *o) {
  int dim = o->dim, pdim = o->dim;
  size_t n = 0, np = 0;
  float *g = load_matrix(o->check, &dim, &n);
  if (!g)
    return 1;
  float *p = g;
  int loo = !o->probes;
  if (o->probes) {
    p = load_matrix(o->probes, &pdim, &np);
    if (!p || pdim != dim) {
      if (p)
        fprintf(stderr, "index_bench: probes have %d dims, gallery %d\n",
                pdim, dim);
      free(g);
      free(p);
      return 1;
    }
  } else {
    np = n;
  }
  printf("check: gallery %zu x %d, %zu probes%s\n", n, dim, np,
         loo ? " (leave-one-out: each row against all others)" : "");
  int64_t *ids = malloc(n * sizeof *ids), *wl = calloc(n, sizeof *wl);
  for (size_t i = 0; i < n; i++)
    ids[i] = (int64_t)i;
  const size_t k = 3;
  argus_index_hit *hits[4] = {0};
  argus_index_kind kinds[4] = {ARGUS_INDEX_F32, ARGUS_INDEX_F16, ARGUS_INDEX_I8,
                               ARGUS_INDEX_APPROX};
  int nk = argus_index_approx_available() || strncmp(o->factory, "SRP", 3) == 0
               ? 4
               : 3;
  argus_threadpool *pool = NULL;
  argus_threadpool_create(0, &pool);
  int rc = 0;
  for (int m = 0; m < nk; m++) {
    argus_index_config cfg;
    argus_index_config_init(&cfg);
    cfg.model_id = "check";
    cfg.dim = dim;
    cfg.kind = kinds[m];
    cfg.approx_factory = o->factory;
    cfg.hnsw_ef_search = o->ef_given ? o->ef[0] : 0; /* 0: index default */
    argus_index *idx = NULL;
    hits[m] = malloc(np * k * sizeof *hits[m]);
    argus_index_search_opts so = {NULL, 0, pool};
    double t0 = now_s();
    if (argus_index_create(&cfg, &idx, NULL) != ARGUS_OK ||
        argus_index_add_batch(idx, n, ids, wl, g, NULL) != ARGUS_OK ||
        argus_index_search(idx, p, np, k, &so, hits[m], NULL, NULL) !=
            ARGUS_OK) {
      fprintf(stderr, "index_bench: %s failed\n", argus_index_kind_name(kinds[m]));
      rc = 1;
      argus_index_destroy(idx);
      free(hits[m]);
      hits[m] = NULL;
      continue;
    }
    argus_index_destroy(idx);
    printf("  %s: built and searched in %.1f s\n", argus_index_kind_name(kinds[m]),
           now_s() - t0);
  }
  /* compare the best hit that is not the probe itself (leave-one-out) */
  for (int m = 1; m < nk; m++) {
    if (!hits[0] || !hits[m])
      continue;
    size_t same = 0, shown = 0, dis_at[3] = {0, 0, 0};
    static const double levels[3] = {0.3, 0.4, 0.5};
    double maxd = 0, dis_margin = 0, dis_score = -1;
    for (size_t i = 0; i < np; i++) {
      const argus_index_hit *a = NULL, *b = NULL, *a2 = NULL;
      for (size_t j = 0, r = 0; j < k; j++) {
        const argus_index_hit *h = &hits[0][i * k + j];
        if (loo && h->id == (int64_t)i)
          continue;
        if (r == 0)
          a = h;
        else if (r == 1)
          a2 = h;
        r++;
      }
      for (size_t j = 0; j < k; j++) {
        const argus_index_hit *h = &hits[m][i * k + j];
        if (loo && h->id == (int64_t)i)
          continue;
        b = h;
        break;
      }
      if (a && b && a->id == b->id) {
        same++;
        double d = fabs((double)a->score - b->score);
        maxd = d > maxd ? d : maxd;
      } else {
        /* how close a call was it for fp32 itself? */
        if (a && a2 && a->score - a2->score > dis_margin)
          dis_margin = a->score - a2->score;
        if (a && a->score > dis_score)
          dis_score = a->score;
        for (int l = 0; l < 3; l++)
          dis_at[l] += a && a->score >= levels[l];
      }
      if (!(a && b && a->id == b->id) && shown++ < 5) {
        printf("    probe %zu: f32 top-1 %lld (%.5f, runner-up %.5f), %s top-1 "
               "%lld (%.5f)\n",
               i, a ? (long long)a->id : -1LL, a ? a->score : 0.0,
               a2 ? a2->score : 0.0, argus_index_kind_name(kinds[m]),
               b ? (long long)b->id : -1LL, b ? b->score : 0.0);
      }
    }
    printf("  identical top-1, %s vs f32: %zu / %zu (%.4f%%), max |score "
           "diff| on agreeing %.2g\n",
           argus_index_kind_name(kinds[m]), same, np, 100.0 * same / np, maxd);
    if (same != np) {
      printf("    every disagreement is a near-tie for fp32 itself: top-1 - "
             "runner-up <= %.5f, top-1 score <= %.5f\n",
             dis_margin, dis_score);
      printf("    disagreements where fp32's top-1 scores >= 0.3 / 0.4 / 0.5: "
             "%zu / %zu / %zu\n",
             dis_at[0], dis_at[1], dis_at[2]);
    }
  }
  /* The same with exact re-ranking: must equal fp32 (ids and order; all
   * scores too with exact_scores). The unrefined differences above are the
   * documented near-ties within the compression's error bound. */
  for (int m = 1; m < 3 && hits[0]; m++) {
    for (int exact = 0; exact < 2; exact++) {
      long d = check_refined(kinds[m], exact, g, n, (size_t)dim, ids, wl, p,
                             np, k, loo, pool, hits[0], k);
      if (d != 0)
        rc = 2;
    }
    /* k = 1, the identification decision (leave-one-out: the probe itself) */
    if (!loo && check_refined(kinds[m], 0, g, n, (size_t)dim, ids, wl, p, np,
                              1, loo, pool, hits[0], k) != 0)
      rc = 2;
  }
  for (int m = 0; m < 4; m++)
    free(hits[m]);
  argus_threadpool_destroy(pool);
  free(ids);
  free(wl);
  if (p != g)
    free(p);
  free(g);
  return rc;
}

int main(int argc, char **argv) {
  /* FAISS's OpenMP threads spin while waiting by default, which ruins
   * timings on a shared machine; libgomp reads this only at start-up, so
   * set it and start again. */
  if (!getenv("OMP_WAIT_POLICY")) {
    char self[4096];
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
    if (len > 0) {
      self[len] = 0;
      execv(self, argv); /* returns only on failure: go on as we are */
    }
  }
  opts o;
  if (parse_args(argc, argv, &o) != 0) {
    usage();
    return 2;
  }
  argus_log_set_level(ARGUS_LOG_WARN);
  if (o.check)
    return run_check(&o);

  double load[3] = {0};
  FILE *la = fopen("/proc/loadavg", "r");
  if (la) {
    if (fscanf(la, "%lf %lf %lf", &load[0], &load[1], &load[2]) != 3)
      load[0] = -1;
    fclose(la);
  }
  printf("index_bench: dim %d, cpu isa %s, %ld online cpus, load average "
         "%.2f; FAISS %s; best of rounds\n",
         o.dim, argus_cpu_isa_name(), sysconf(_SC_NPROCESSORS_ONLN), load[0],
         argus_index_approx_available() ? "built in (Debian 1.7.3)" : "absent");
  argus_threadpool *pools[MAX_LIST] = {0};
  for (int i = 0; i < o.nthreads; i++)
    if (o.threads[i] > 1 &&
        argus_threadpool_create(o.threads[i], &pools[i]) != ARGUS_OK)
      return 1;
  print_header();
  for (int i = 0; i < o.nsizes; i++)
    if (bench_size(&o, o.sizes[i], pools) != 0)
      return 1;
  for (int i = 0; i < o.nthreads; i++)
    argus_threadpool_destroy(pools[i]);
  return 0;
}
