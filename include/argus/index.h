/*
 * argus index: in-memory 1:N search over face templates.
 *
 * An index is one collection of templates made by one embedding model (its
 * model id) with one dimension; templates of different models never meet in
 * one index. A catalog holds one index per model id. Each template has a
 * caller-chosen id (>= 0, e.g. the database row of the template) and the id of
 * the watchlist it belongs to (>= 0).
 *
 * Scores are cosine similarities: templates are normalised to unit length when
 * added, and each query's scores are divided by the query's length, so neither
 * needs to be normalised by the caller.
 *
 * Backends, chosen in one place (index.c, choose_kind()) by the configured
 * kind and the number of templates:
 *   - exact fp32: every template compared, SIMD dot products (AVX-512, AVX2
 *     or plain C, picked at run time from the CPU; ARGUS_ISA forces one);
 *   - exact fp16: templates stored as IEEE half floats (half the memory and
 *     memory traffic; F16C / AVX-512 conversion while scoring);
 *   - exact int8: templates and queries quantised to int8 with one scale per
 *     vector (a quarter of the memory; AVX-512 VNNI where available);
 *   fp16 and int8 score the compressed vectors: each score lies within a
 *   per-template error bound of fp32's. With a refine callback (below) the
 *   search re-scores the candidates whose rank that bound cannot settle from
 *   their fp32 templates, and its ids and order are then exactly an fp32
 *   index's; without one they are fp32's except where fp32's own scores are
 *   closer than the bound (near-ties);
 *   - approximate: "SRP<bits>" (the default, SRP256), argus's sketch index:
 *     sign-random-projection codes scanned by Hamming distance, the closest
 *     16 x efSearch re-ranked exactly on the fp32 templates (exact scores);
 *     or a FAISS index (HNSW on argus's distances, IVF, any index_factory
 *     string, inner product) when argus was built with FAISS
 *     (argus_index_approx_available()).
 * ARGUS_INDEX_AUTO uses exact fp32 and switches to the approximate backend
 * once the index holds approx_threshold templates.
 *
 * Errors: the functions that can fail for a reason the caller should see
 * take an argus_error_detail *err last (argus/core.h; may be NULL). It is
 * cleared on entry and, when the function fails, says what failed and why
 * ("add: id 7 is already in index \"m\""). Input errors are also logged.
 *
 * Thread safety: any number of threads may search at once (they share a read
 * lock and never wait for each other); add and remove take the write lock and
 * are serialised with each other. Moving the templates into a new backend
 * (when the size threshold is crossed, or when many removals call for a
 * rebuild) runs on a background thread while searches and writes go on
 * (see synchronous_builds), and blocks them only for the final swap.
 */
#ifndef ARGUS_INDEX_H
#define ARGUS_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "argus/core.h"
#include "argus/export.h"

ARGUS_BEGIN_DECLS

#define ARGUS_INDEX_MAX_DIM 4096       /* largest template dimension */
#define ARGUS_INDEX_MAX_K 1024         /* most hits per query */
#define ARGUS_INDEX_MAX_MODEL_ID 127   /* longest model id, in bytes */
#define ARGUS_INDEX_DEFAULT_MAX_COUNT 100000000u /* templates per index */
#define ARGUS_INDEX_DEFAULT_APPROX_THRESHOLD 1000000u

typedef enum argus_index_kind {
  ARGUS_INDEX_AUTO = 0, /* exact fp32, approximate from approx_threshold on */
  ARGUS_INDEX_F32,      /* exact, fp32 templates */
  ARGUS_INDEX_F16,      /* exact, fp16 templates */
  ARGUS_INDEX_I8,       /* exact, int8 templates with a scale per vector */
  ARGUS_INDEX_APPROX,   /* approx_factory: the sketch (SRP<bits>, default) or
                           FAISS (UNSUPPORTED when built without it) */
} argus_index_kind;

/* Supplies the fp32 template of `id` to the refinement of a compressed
 * (fp16, int8) index: writes dim floats to vec. For ids, order and scores
 * bit-identical to an fp32 index, they must be the floats given to
 * argus_index_add for that id (or any vector with the same unit
 * normalisation); a copy that differs by rounding gives scores that differ by
 * rounding. Called by argus_index_search on the calling thread while the
 * index's read lock is held: it runs concurrently for concurrent searches,
 * must not add to or remove from this index, and should be fast (it runs for
 * the few uncertain candidates of each query). Return ARGUS_OK, or an error,
 * which fails the search with that error. */
typedef argus_err (*argus_index_fetch_fn)(void *user, int64_t id, float *vec);

/* Exact re-ranking of a compressed index (ignored by fp32 and approximate
 * indexes, which score exactly or approximately by their own rules). */
typedef struct argus_index_refine {
  argus_index_fetch_fn fetch; /* NULL: no refinement (the default) */
  void *user;                 /* passed to fetch; kept, not owned */
  /* 0: a hit whose rank the error bound settles without its fp32 template is
   * not fetched and keeps its compressed score (within the bound of fp32's;
   * ids and order are fp32's all the same). Nonzero: every hit returned is
   * re-scored, so its score is fp32's too (at least one fetch per hit);
   * for callers that compare scores with thresholds. */
  int exact_scores;
} argus_index_refine;

typedef struct argus_index_config {
  const char *model_id; /* borrowed, copied at creation; required */
  int dim;              /* 1 .. ARGUS_INDEX_MAX_DIM; required */
  argus_index_kind kind;
  /* AUTO: template count at which the approximate backend takes over. */
  size_t approx_threshold;
  /* The approximate backend: "SRP<bits>" (argus's sketch index, bits a
   * multiple of 64 up to 1024; default "SRP256"), or a FAISS index_factory
   * string, e.g. "HNSW64,SQ8" (HNSW on argus distances) or "IVF1024,Flat"
   * (trained on the templates present when it is built). Borrowed, copied. */
  const char *approx_factory;
  /* Search breadth of the approximate backends (default 64): HNSW's
   * efSearch; the sketch re-ranks 16 x this many candidates. */
  int hnsw_ef_search;
  int hnsw_ef_construction; /* HNSW build breadth (default 80) */
  int ivf_nprobe;           /* IVF lists searched (default 32) */
  size_t max_count;         /* add fails with LIMIT beyond this */
  /* Searches split their work over this pool when it is free (a search that
   * finds it busy runs on its own thread rather than wait). Borrowed: must
   * outlive the index. NULL: searches run on the calling thread unless the
   * call names a pool. */
  argus_threadpool *pool;
  /* Exact re-ranking for ARGUS_INDEX_F16 / I8 (docs/index.md, "Exact
   * re-ranking"); zeroed by argus_index_config_init (off). */
  argus_index_refine refine;
  /* 0 (default): moving the templates into a new backend (the approximate
   * one at approx_threshold, or a rebuild of one with many removed
   * entries) runs on a background thread while the current backend keeps
   * serving searches and writes (argus_index_wait_builds waits for it).
   * Nonzero: the add or remove that triggers it builds it before returning,
   * and writers wait meanwhile. */
  int synchronous_builds;
} argus_index_config;

/* Fills *cfg with the defaults (kind AUTO, thresholds above); model_id and
 * dim are left empty for the caller. */
void argus_index_config_init(argus_index_config *cfg);

typedef struct argus_index argus_index;

/* Creates an empty index. cfg is borrowed (its strings are copied).
 * Errors: INVALID_ARG (missing/oversized model id, dim out of range, bad
 * numbers), UNSUPPORTED (kind APPROX with a FAISS factory string, argus
 * built without FAISS), NOMEM; err (may be NULL) says which. */
argus_err argus_index_create(const argus_index_config *cfg, argus_index **out,
                             argus_error_detail *err);
/* Frees the index and its templates; NULL is allowed. No search or write may
 * be running on it. */
void argus_index_destroy(argus_index *idx);

/* Adds one template. vec (dim floats) is borrowed and copied.
 * Errors: INVALID_ARG (negative id or watchlist, vector with NaN/Inf or of
 * zero length, id already present), LIMIT (max_count reached), NOMEM, IO
 * (the approximate backend failed); err (may be NULL) says which template
 * and why. On error nothing was added. */
argus_err argus_index_add(argus_index *idx, int64_t id, int64_t watchlist,
                          const float *vec, argus_error_detail *err);
/* Adds n templates at once: ids[i], watchlists[i], vecs[i*dim ..]. All are
 * validated first (including duplicates inside the batch); on error nothing
 * was added. Faster than n single adds (one reservation, one backend add).
 * Errors as argus_index_add. */
argus_err argus_index_add_batch(argus_index *idx, size_t n, const int64_t *ids,
                                const int64_t *watchlists, const float *vecs,
                                argus_error_detail *err);
/* Removes the template with this id (the last template takes its slot).
 * Errors: NOT_FOUND (err names the id and index), INVALID_ARG. A rebuild of
 * the approximate backend that the removal triggers runs in the background
 * (or, with synchronous_builds, before returning); if it fails, that is
 * logged, the template is removed all the same and the old backend kept. */
argus_err argus_index_remove(argus_index *idx, int64_t id,
                             argus_error_detail *err);

/* One search result. Unused entries have id -1, watchlist -1 and score
 * -INFINITY. */
typedef struct argus_index_hit {
  int64_t id;
  int64_t watchlist;
  float score; /* cosine similarity */
} argus_index_hit;

typedef struct argus_index_search_opts {
  /* Only templates of these watchlists are candidates; NULL or 0: all.
   * Borrowed. Unknown watchlist ids match nothing. */
  const int64_t *watchlists;
  size_t n_watchlists;
  /* Pool for this call (borrowed; the caller guarantees no other
   * parallel_for runs on it meanwhile). NULL: the index's pool if free. */
  argus_threadpool *pool;
} argus_index_search_opts;

/* Searches nq queries (queries[q*dim ..], borrowed) at once: one pass over
 * the templates serves the whole batch. Writes the best k hits of query q,
 * best first, to hits[q*k .. q*k+k-1] and, when nfound is not NULL, their
 * number to nfound[q] (fewer than k when fewer templates match). opts may be
 * NULL. nq == 0 is a no-op. Equal scores are ranked by storage slot, so
 * indexes given the same adds and removes rank them alike.
 * A compressed index with a refine callback returns the k hits an fp32
 * index holding the same templates would return, in the same order, with
 * fp32's scores for every hit it re-scored (all hits with exact_scores).
 * Errors: INVALID_ARG (k outside 1..ARGUS_INDEX_MAX_K, a query with NaN/Inf
 * or of zero length, NULL arrays), NOMEM, IO (the approximate backend
 * failed), the refine callback's error, CORRUPT (the callback gave a vector
 * with NaN/Inf or of zero length, or one that is not the stored template:
 * farther from its compressed copy than the stored bound); err (may be
 * NULL) names the query or the template id. */
argus_err argus_index_search(argus_index *idx, const float *queries, size_t nq,
                             size_t k, const argus_index_search_opts *opts,
                             argus_index_hit *hits, size_t *nfound,
                             argus_error_detail *err);

/* Sets (or with NULL / a NULL fetch, turns off) the refinement of later
 * searches, like argus_index_config.refine; *r is copied. Waits for running
 * searches. For indexes made by a catalog, whose defaults cannot name a
 * per-model callback. Errors: INVALID_ARG (NULL idx). */
argus_err argus_index_set_refine(argus_index *idx,
                                 const argus_index_refine *r);

/* Sets the approximate backend's search breadth for later searches
 * (efSearch: the sketch re-ranks 16 x this many candidates, FAISS HNSW's
 * efSearch; IVF nprobe; 0 keeps a value): more is slower and finds more of
 * the true best matches. Also kept for a later rebuild. Exact backends
 * ignore it. Errors: INVALID_ARG (negative values; logged). */
argus_err argus_index_set_search_params(argus_index *idx, int hnsw_ef_search,
                                        int ivf_nprobe);

typedef struct argus_index_stats {
  size_t count;           /* templates */
  int dim;
  argus_index_kind kind;  /* backend now in use (never AUTO) */
  char backend[96];       /* e.g. "exact-f32/avx512", "sketch:SRP256/avx512
                             x256", "faiss:HNSW32,Flat/argus-avx512" */
  size_t bytes;           /* memory held: templates, ids, maps, backend */
  size_t approx_dead;     /* removed templates still in a FAISS index (the
                             other backends drop them at once: 0) */
  int building;           /* a backend build is running in the background */
  size_t builds;          /* backend builds swapped in so far */
} argus_index_stats;

/* Snapshot of the index's state. Errors: INVALID_ARG. */
argus_err argus_index_get_stats(argus_index *idx, argus_index_stats *out);
/* Waits until no backend build is running; returns the result of the last
 * one (OK when none ran or it succeeded; on failure the index kept its
 * previous backend). Errors: INVALID_ARG. */
argus_err argus_index_wait_builds(argus_index *idx);
/* The model id the index was created with (owned by the index). */
const char *argus_index_model_id(const argus_index *idx);
int argus_index_dim(const argus_index *idx);
size_t argus_index_count(argus_index *idx);
/* Nonzero when argus was built with FAISS, so that approx_factory may be a
 * FAISS index_factory string. The sketch index (SRP<bits>, the default
 * approximate backend) is always available. */
int argus_index_approx_available(void);
/* "auto", "f32", "f16", "i8", "approx". */
const char *argus_index_kind_name(argus_index_kind kind);

/* ---- catalog: one index per embedding model --------------------------- */
typedef struct argus_index_catalog argus_index_catalog;

/* Creates an empty catalog; indexes it creates use a copy of *defaults
 * (model_id and dim are set per index; a refine callback in the defaults
 * serves every model, so ids must be unique across them, else set one per
 * index with argus_index_set_refine). defaults may be NULL (library
 * defaults). Strings in defaults are copied. Errors: INVALID_ARG (an
 * oversized approx_factory), NOMEM; err (may be NULL) says which. */
argus_err argus_index_catalog_create(const argus_index_config *defaults,
                                     argus_index_catalog **out,
                                     argus_error_detail *err);
/* Destroys the catalog and every index in it; NULL is allowed. */
void argus_index_catalog_destroy(argus_index_catalog *cat);
/* The index of this model, created when absent. *out is owned by the
 * catalog. Errors: SHAPE (the model's index exists with another dim),
 * INVALID_ARG, NOMEM, argus_index_create's; err (may be NULL) says which.
 * Thread-safe. */
argus_err argus_index_catalog_open(argus_index_catalog *cat,
                                   const char *model_id, int dim,
                                   argus_index **out, argus_error_detail *err);
/* The index of this model or NOT_FOUND. Thread-safe. */
argus_err argus_index_catalog_find(argus_index_catalog *cat,
                                   const char *model_id, argus_index **out);

ARGUS_END_DECLS
#endif
