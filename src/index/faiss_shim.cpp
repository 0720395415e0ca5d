// C wrapper over the FAISS C++ API (see faiss_shim.h for why).
#include "faiss_shim.h"

#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/IndexIVF.h>
#include <faiss/impl/FaissException.h>
#include <faiss/impl/IDSelector.h>
#include <faiss/index_factory.h>
#include <omp.h>

#include <cstdio>
#include <cstring>
#include <exception>
#include <new>

struct ix_faiss {
  faiss::Index *index;
  int ef_search;
  int nprobe;
};

namespace {

// FAISS 1.7 keeps the label type inside Index; later versions at namespace
// level.
using idx_t = faiss::Index::idx_t;

struct CallbackSelector : faiss::IDSelector {
  ix_faiss_filter_fn fn;
  void *user;
  CallbackSelector(ix_faiss_filter_fn f, void *u) : fn(f), user(u) {}
  bool is_member(idx_t id) const override { return fn(user, id) != 0; }
};

void set_err(char *err, size_t errlen, const char *msg) {
  if (err && errlen) {
    std::snprintf(err, errlen, "%s", msg);
  }
}

// Runs fn, turning exceptions into error codes and messages.
template <class F> argus_err guarded(char *err, size_t errlen, F fn) {
  try {
    fn();
    return ARGUS_OK;
  } catch (const std::bad_alloc &) {
    set_err(err, errlen, "out of memory");
    return ARGUS_E_NOMEM;
  } catch (const std::exception &e) {
    set_err(err, errlen, e.what());
    return ARGUS_E_IO;
  } catch (...) {
    set_err(err, errlen, "unknown FAISS exception");
    return ARGUS_E_INTERNAL;
  }
}

} // namespace

extern "C" {

argus_err ix_faiss_create(const char *factory, int dim, ix_faiss **out,
                          char *err, size_t errlen) {
  *out = nullptr;
  ix_faiss *f = new (std::nothrow) ix_faiss{nullptr, 64, 32};
  if (!f) {
    set_err(err, errlen, "out of memory");
    return ARGUS_E_NOMEM;
  }
  argus_err e = guarded(err, errlen, [&] {
    f->index = faiss::index_factory(dim, factory, faiss::METRIC_INNER_PRODUCT);
    // IVF indexes reconstruct vectors (for rebuilds) through a direct map.
    if (auto *iv = dynamic_cast<faiss::IndexIVF *>(f->index))
      iv->make_direct_map(true);
  });
  if (e != ARGUS_OK) {
    delete f;
    return e == ARGUS_E_IO ? ARGUS_E_INVALID_ARG : e;
  }
  *out = f;
  return ARGUS_OK;
}

void ix_faiss_destroy(ix_faiss *f) {
  if (!f)
    return;
  delete f->index;
  delete f;
}

void ix_faiss_set_param(ix_faiss *f, const char *name, int value) {
  if (std::strcmp(name, "efSearch") == 0) {
    f->ef_search = value;
    // FAISS 1.7.3 sizes the HNSW candidate queue from the index's own
    // efSearch and uses SearchParametersHNSW::efSearch only as a step limit,
    // so both are set. Callers change parameters under the index's write
    // lock, never during a search.
    if (auto *h = dynamic_cast<faiss::IndexHNSW *>(f->index))
      h->hnsw.efSearch = value;
  } else if (std::strcmp(name, "nprobe") == 0) {
    f->nprobe = value;
  } else if (std::strcmp(name, "efConstruction") == 0) {
    if (auto *h = dynamic_cast<faiss::IndexHNSW *>(f->index))
      h->hnsw.efConstruction = value;
  }
}

int ix_faiss_is_trained(const ix_faiss *f) { return f->index->is_trained; }

argus_err ix_faiss_train(ix_faiss *f, size_t n, const float *x, char *err,
                         size_t errlen) {
  return guarded(err, errlen,
                 [&] { f->index->train((idx_t)n, x); });
}

argus_err ix_faiss_add(ix_faiss *f, size_t n, const float *x, char *err,
                       size_t errlen) {
  return guarded(err, errlen, [&] { f->index->add((idx_t)n, x); });
}

argus_err ix_faiss_search(const ix_faiss *f, size_t nq, const float *q,
                          size_t k, ix_faiss_filter_fn filter, void *user,
                          int threads, float *scores, int64_t *labels,
                          char *err, size_t errlen) {
  return guarded(err, errlen, [&] {
    omp_set_num_threads(threads > 0 ? threads : 1);
    CallbackSelector sel(filter, user);
    faiss::SearchParametersHNSW ph;
    faiss::SearchParametersIVF pi;
    faiss::SearchParameters pf;
    faiss::SearchParameters *params = &pf;
    if (dynamic_cast<const faiss::IndexHNSW *>(f->index)) {
      ph.efSearch = f->ef_search > (int)k ? f->ef_search : (int)k;
      params = &ph;
    } else if (dynamic_cast<const faiss::IndexIVF *>(f->index)) {
      pi.nprobe = (size_t)f->nprobe;
      params = &pi;
    }
    params->sel = filter ? &sel : nullptr;
    static_assert(sizeof(idx_t) == sizeof(int64_t), "label size");
    f->index->search((idx_t)nq, q, (idx_t)k, scores,
                     reinterpret_cast<idx_t *>(labels), params);
  });
}

argus_err ix_faiss_reconstruct(const ix_faiss *f, int64_t label, float *out,
                               char *err, size_t errlen) {
  return guarded(err, errlen,
                 [&] { f->index->reconstruct((idx_t)label, out); });
}

size_t ix_faiss_ntotal(const ix_faiss *f) { return (size_t)f->index->ntotal; }

size_t ix_faiss_bytes(const ix_faiss *f) {
  const faiss::Index *ix = f->index;
  size_t n = (size_t)ix->ntotal, d = (size_t)ix->d;
  if (auto *h = dynamic_cast<const faiss::IndexHNSW *>(ix)) {
    const faiss::HNSW &g = h->hnsw;
    size_t b = g.neighbors.size() * sizeof(g.neighbors[0]) +
               g.offsets.size() * sizeof(g.offsets[0]) +
               g.levels.size() * sizeof(g.levels[0]) +
               g.assign_probas.size() * sizeof(double);
    if (auto *s = dynamic_cast<const faiss::IndexFlatCodes *>(h->storage))
      b += s->codes.size();
    else
      b += n * d * sizeof(float);
    return b;
  }
  if (auto *iv = dynamic_cast<const faiss::IndexIVF *>(ix)) {
    size_t b = 0;
    for (size_t l = 0; l < iv->nlist; l++)
      b += iv->invlists->list_size(l) * (iv->code_size + sizeof(idx_t));
    return b + iv->nlist * d * sizeof(float); // coarse centroids
  }
  if (auto *fc = dynamic_cast<const faiss::IndexFlatCodes *>(ix))
    return fc->codes.size();
  return n * d * sizeof(float);
}

void ix_faiss_set_threads(int threads) {
  omp_set_num_threads(threads > 0 ? threads : 1);
}

} // extern "C"
