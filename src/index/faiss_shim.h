/*
 * The few FAISS calls the index needs, as plain C functions.
 *
 * Debian's libfaiss-dev ships the headers of FAISS's C API but not the
 * library that implements it (libfaiss.a holds the C++ classes only), so
 * argus wraps the C++ API in one small C++ file (faiss_shim.cpp) instead.
 * Every function catches FAISS's exceptions and returns an argus_err with the
 * message in `err` (errlen bytes, may be NULL). The file is compiled only
 * when CMake finds FAISS; ARGUS_HAVE_FAISS says so.
 */
#ifndef ARGUS_INDEX_FAISS_SHIM_H
#define ARGUS_INDEX_FAISS_SHIM_H

#include <stddef.h>
#include <stdint.h>

#include "argus/core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ix_faiss ix_faiss;

/* Keeps label `label` as a candidate when it returns nonzero. Called from
 * FAISS's OpenMP threads: must be thread-safe (read-only). */
typedef int (*ix_faiss_filter_fn)(void *user, int64_t label);

/* ix_faiss_create flag: FAISS's own index and distance code even for the
 * HNSW forms below (the benchmark compares the two). */
#define IX_FAISS_STOCK 1u

/* "HNSW<M>,Flat" (or "HNSW<M>"), "HNSW<M>,SQfp16" and "HNSW<M>,SQ8":
 * FAISS's HNSW graph over argus's own fp32 / fp16 / int8 storage, built and
 * searched with argus's SIMD dot products (faiss_shim.cpp); SQ8 walks the
 * graph with an int8 query (VNNI where the CPU has it), keeps the fp32
 * vectors too and re-scores its final candidates with them. Any other
 * string (or IX_FAISS_STOCK): index_factory(dim, factory,
 * METRIC_INNER_PRODUCT). */
argus_err ix_faiss_create(const char *factory, int dim, unsigned flags,
                          ix_faiss **out, char *err, size_t errlen);
void ix_faiss_destroy(ix_faiss *f);
/* "efSearch", "efConstruction" (HNSW), "nprobe" (IVF): set when the index
 * has the parameter, ignored otherwise. */
void ix_faiss_set_param(ix_faiss *f, const char *name, int value);
int ix_faiss_is_trained(const ix_faiss *f);
argus_err ix_faiss_train(ix_faiss *f, size_t n, const float *x, char *err,
                         size_t errlen);
/* Adds n vectors; they get labels ntotal .. ntotal+n-1. Building runs on
 * the OpenMP threads the process started with (OMP_NUM_THREADS, default one
 * per core). */
argus_err ix_faiss_add(ix_faiss *f, size_t n, const float *x, char *err,
                       size_t errlen);
/* k best labels by inner product per query, best first (-1 where fewer),
 * using at most `threads` OpenMP threads; filter may be NULL. The scores of
 * an argus-distance HNSW are the dot products with the stored vectors: exact
 * for Flat and SQ8 (re-scored on fp32), fp16-rounded for SQfp16. */
argus_err ix_faiss_search(const ix_faiss *f, size_t nq, const float *q,
                          size_t k, ix_faiss_filter_fn filter, void *user,
                          int threads, float *scores, int64_t *labels,
                          char *err, size_t errlen);
argus_err ix_faiss_reconstruct(const ix_faiss *f, int64_t label, float *out,
                               char *err, size_t errlen);
size_t ix_faiss_ntotal(const ix_faiss *f);
/* Estimated bytes held (vectors, graph links or list ids). */
size_t ix_faiss_bytes(const ix_faiss *f);
/* "avx512", "avx2" or "ref" ("avx512vnni", "avx2" or "ref" for SQ8): the
 * dot product an argus-distance HNSW uses; NULL for an index on FAISS's own
 * code. */
const char *ix_faiss_distance_isa(const ix_faiss *f);
/* Sets OpenMP's thread count for the calling thread (benchmarks). */
void ix_faiss_set_threads(int threads);
/* Tests: compares every int8 dot product kernel this CPU can run with the
 * reference on random rows of several lengths, extreme values included.
 * Returns the number of mismatches (the first described in msg). */
int ix_faiss_check_s8_kernels(char *msg, size_t len);

#ifdef __cplusplus
}
#endif
#endif
