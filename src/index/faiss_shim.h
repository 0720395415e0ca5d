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

/* index_factory(dim, factory, METRIC_INNER_PRODUCT). */
argus_err ix_faiss_create(const char *factory, int dim, ix_faiss **out,
                          char *err, size_t errlen);
void ix_faiss_destroy(ix_faiss *f);
/* "efSearch", "efConstruction" (HNSW), "nprobe" (IVF): set when the index
 * has the parameter, ignored otherwise. */
void ix_faiss_set_param(ix_faiss *f, const char *name, int value);
int ix_faiss_is_trained(const ix_faiss *f);
argus_err ix_faiss_train(ix_faiss *f, size_t n, const float *x, char *err,
                         size_t errlen);
/* Adds n vectors; they get labels ntotal .. ntotal+n-1. */
argus_err ix_faiss_add(ix_faiss *f, size_t n, const float *x, char *err,
                       size_t errlen);
/* k best labels by inner product per query (-1 where fewer), using at most
 * `threads` OpenMP threads; filter may be NULL. */
argus_err ix_faiss_search(const ix_faiss *f, size_t nq, const float *q,
                          size_t k, ix_faiss_filter_fn filter, void *user,
                          int threads, float *scores, int64_t *labels,
                          char *err, size_t errlen);
argus_err ix_faiss_reconstruct(const ix_faiss *f, int64_t label, float *out,
                               char *err, size_t errlen);
size_t ix_faiss_ntotal(const ix_faiss *f);
/* Estimated bytes held (vectors, graph links or list ids). */
size_t ix_faiss_bytes(const ix_faiss *f);
/* Sets OpenMP's thread count for the calling thread (benchmarks). */
void ix_faiss_set_threads(int threads);

#ifdef __cplusplus
}
#endif
#endif
