// C wrapper over the FAISS C++ API (see faiss_shim.h for why), and the HNSW
// index on argus's SIMD distances.
//
// Debian's FAISS 1.7.3 is compiled for baseline x86-64: every distance it
// computes goes through scalar code, which makes an HNSW search over 512-d
// vectors cost ~2 ms. For "HNSW<M>,Flat", "HNSW<M>,SQfp16" and "HNSW<M>,SQ8"
// the shim therefore keeps FAISS's graph (its construction code and link
// layout) but stores the vectors (fp32, fp16, or int8 with a scale per
// vector) in its own IndexFlatCodes subclass whose DistanceComputer uses
// AVX-512 / AVX2 dot products (picked with the index kernels, so ARGUS_ISA
// applies), and searches the graph with its own loop: no virtual call per
// distance, the next vector prefetched while the current one is scored, and
// a visited table kept per thread instead of allocated per call. The search
// walks the same graph in the same way as faiss::HNSW::search with a bounded
// queue (greedy descent through the upper levels, a best-first beam of
// efSearch on level 0). SQ8 also keeps the fp32 rows and re-scores its best
// candidates with them, so its scores (and final ranking) are exact.
#include "faiss_shim.h"

#include <faiss/IndexFlat.h>
#include <faiss/IndexFlatCodes.h>
#include <faiss/IndexHNSW.h>
#include <faiss/IndexIVF.h>
#include <faiss/impl/DistanceComputer.h>
#include <faiss/impl/FaissAssert.h>
#include <faiss/impl/FaissException.h>
#include <faiss/impl/IDSelector.h>
#include <faiss/index_factory.h>
#include <omp.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <exception>
#include <limits>
#include <new>
#include <utility>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define IX_SHIM_X86 1
#else
#define IX_SHIM_X86 0
#endif

extern "C" {
#include "kernels/kernels.h"
}

namespace {

// FAISS 1.7 keeps the label type inside Index; later versions at namespace
// level.
using idx_t = faiss::Index::idx_t;

// Row formats: fp32; IEEE half; int8 (a float scale, then d int8 values
// v = round(x / scale), scale = max|x| / 127), whose index also keeps the
// fp32 rows to re-score its final candidates exactly.
enum class Elem { F32, F16, S8 };

inline size_t row_bytes(Elem e, size_t d) {
  return e == Elem::F32 ? d * 4 : e == Elem::F16 ? d * 2 : d + 4;
}

inline float s8_scale(const uint8_t *row) {
  float sc;
  std::memcpy(&sc, row, sizeof sc);
  return sc;
}

// Inner product of a fp32 query with one stored row (fp32 or fp16) of d
// values.
typedef float (*dot_fn)(const float *q, const uint8_t *row, size_t d);
// Widens n halves to floats (fp16 rows, for symmetric_dis while building).
typedef void (*widen_fn)(const uint16_t *h, float *x, size_t n);

float dot_s8_ref(const float *q, const uint8_t *row, size_t d) {
  const int8_t *x = reinterpret_cast<const int8_t *>(row + 4);
  float s = 0;
  for (size_t j = 0; j < d; j++)
    s += q[j] * (float)x[j];
  return s * s8_scale(row);
}

// ---- distance kernels ---------------------------------------------------

float dot_f32_ref(const float *q, const uint8_t *row, size_t d) {
  const float *x = reinterpret_cast<const float *>(row);
  float s[4] = {0, 0, 0, 0};
  size_t j = 0;
  for (; j + 4 <= d; j += 4)
    for (int l = 0; l < 4; l++)
      s[l] += q[j + l] * x[j + l];
  for (; j < d; j++)
    s[0] += q[j] * x[j];
  return (s[0] + s[1]) + (s[2] + s[3]);
}

void widen_ref(const uint16_t *h, float *x, size_t n) {
  for (size_t j = 0; j < n; j++)
    x[j] = ix_f16_to_f32_1(h[j]);
}

float dot_f16_ref(const float *q, const uint8_t *row, size_t d) {
  const uint16_t *x = reinterpret_cast<const uint16_t *>(row);
  float s = 0;
  for (size_t j = 0; j < d; j++)
    s += q[j] * ix_f16_to_f32_1(x[j]);
  return s;
}

#if IX_SHIM_X86
__attribute__((target("avx2,fma"))) inline float hsum256(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

__attribute__((target("avx2,fma"))) float
dot_f32_avx2(const float *q, const uint8_t *row, size_t d) {
  const float *x = reinterpret_cast<const float *>(row);
  __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
  __m256 s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps();
  size_t j = 0;
  for (; j + 32 <= d; j += 32) {
    s0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + j), _mm256_loadu_ps(x + j), s0);
    s1 = _mm256_fmadd_ps(_mm256_loadu_ps(q + j + 8), _mm256_loadu_ps(x + j + 8),
                         s1);
    s2 = _mm256_fmadd_ps(_mm256_loadu_ps(q + j + 16),
                         _mm256_loadu_ps(x + j + 16), s2);
    s3 = _mm256_fmadd_ps(_mm256_loadu_ps(q + j + 24),
                         _mm256_loadu_ps(x + j + 24), s3);
  }
  for (; j + 8 <= d; j += 8)
    s0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + j), _mm256_loadu_ps(x + j), s0);
  float s =
      hsum256(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
  for (; j < d; j++)
    s += q[j] * x[j];
  return s;
}

__attribute__((target("avx2,fma,f16c"))) void widen_avx2(const uint16_t *h,
                                                         float *x, size_t n) {
  size_t j = 0;
  for (; j + 8 <= n; j += 8)
    _mm256_storeu_ps(
        x + j, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(h + j))));
  for (; j < n; j++)
    x[j] = ix_f16_to_f32_1(h[j]);
}

__attribute__((target("avx2,fma"))) float
dot_s8_avx2(const float *q, const uint8_t *row, size_t d) {
  const int8_t *x = reinterpret_cast<const int8_t *>(row + 4);
  __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
  size_t j = 0;
  for (; j + 16 <= d; j += 16) {
    __m128i b = _mm_loadu_si128((const __m128i *)(x + j));
    __m256 a0 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(b));
    __m256 a1 = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(b, 8)));
    s0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + j), a0, s0);
    s1 = _mm256_fmadd_ps(_mm256_loadu_ps(q + j + 8), a1, s1);
  }
  float s = hsum256(_mm256_add_ps(s0, s1));
  for (; j < d; j++)
    s += q[j] * (float)x[j];
  return s * s8_scale(row);
}

__attribute__((target("avx2,fma,f16c"))) float
dot_f16_avx2(const float *q, const uint8_t *row, size_t d) {
  const uint16_t *x = reinterpret_cast<const uint16_t *>(row);
  __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
  size_t j = 0;
  for (; j + 16 <= d; j += 16) {
    __m256 a = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(x + j)));
    __m256 b = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(x + j + 8)));
    s0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + j), a, s0);
    s1 = _mm256_fmadd_ps(_mm256_loadu_ps(q + j + 8), b, s1);
  }
  float s = hsum256(_mm256_add_ps(s0, s1));
  for (; j < d; j++)
    s += q[j] * ix_f16_to_f32_1(x[j]);
  return s;
}

// GCC 12 warns (-Wuninitialized) inside _mm512_reduce_add_ps,
// _mm512_castps512_ps256 and _mm512_cvtph_ps, which start from
// _mm512_undefined_*(); these helpers avoid them.
__attribute__((target("avx512f,avx2,fma"))) inline float hsum512(__m512 v) {
  alignas(64) float t[16];
  _mm512_store_ps(t, v);
  return hsum256(_mm256_add_ps(_mm256_load_ps(t), _mm256_load_ps(t + 8)));
}

__attribute__((target("avx512f,avx2,fma,f16c"))) inline __m512
cvtph512(__m256i h) {
  return _mm512_maskz_cvtph_ps(0xffff, h);
}

__attribute__((target("avx512f,avx2,fma"))) float
dot_f32_avx512(const float *q, const uint8_t *row, size_t d) {
  const float *x = reinterpret_cast<const float *>(row);
  __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
  __m512 s2 = _mm512_setzero_ps(), s3 = _mm512_setzero_ps();
  size_t j = 0;
  for (; j + 64 <= d; j += 64) {
    s0 = _mm512_fmadd_ps(_mm512_loadu_ps(q + j), _mm512_loadu_ps(x + j), s0);
    s1 = _mm512_fmadd_ps(_mm512_loadu_ps(q + j + 16),
                         _mm512_loadu_ps(x + j + 16), s1);
    s2 = _mm512_fmadd_ps(_mm512_loadu_ps(q + j + 32),
                         _mm512_loadu_ps(x + j + 32), s2);
    s3 = _mm512_fmadd_ps(_mm512_loadu_ps(q + j + 48),
                         _mm512_loadu_ps(x + j + 48), s3);
  }
  for (; j + 16 <= d; j += 16)
    s0 = _mm512_fmadd_ps(_mm512_loadu_ps(q + j), _mm512_loadu_ps(x + j), s0);
  if (j < d) {
    __mmask16 m = (__mmask16)((1u << (d - j)) - 1u);
    s1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, q + j),
                         _mm512_maskz_loadu_ps(m, x + j), s1);
  }
  return hsum512(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
}

__attribute__((target("avx512f,avx512bw,avx512vl,avx2,fma,f16c"))) float
dot_f16_avx512(const float *q, const uint8_t *row, size_t d) {
  const uint16_t *x = reinterpret_cast<const uint16_t *>(row);
  __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
  size_t j = 0;
  for (; j + 32 <= d; j += 32) {
    __m512 a = cvtph512(_mm256_loadu_si256((const __m256i *)(x + j)));
    __m512 b = cvtph512(_mm256_loadu_si256((const __m256i *)(x + j + 16)));
    s0 = _mm512_fmadd_ps(_mm512_loadu_ps(q + j), a, s0);
    s1 = _mm512_fmadd_ps(_mm512_loadu_ps(q + j + 16), b, s1);
  }
  if (j < d) {
    for (; j + 16 <= d; j += 16) {
      __m512 a = cvtph512(_mm256_loadu_si256((const __m256i *)(x + j)));
      s0 = _mm512_fmadd_ps(_mm512_loadu_ps(q + j), a, s0);
    }
    if (j < d) {
      __mmask16 m = (__mmask16)((1u << (d - j)) - 1u);
      __m512 a = cvtph512(_mm256_maskz_loadu_epi16(m, (const void *)(x + j)));
      s1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, q + j), a, s1);
    }
  }
  return hsum512(_mm512_add_ps(s0, s1));
}
#endif

#if IX_SHIM_X86
// Sixteen int8 values as floats (zero-masked forms: see hsum512).
__attribute__((target("avx512f,avx2,fma"))) inline __m512
s8x16(const int8_t *p) {
  __m512i w = _mm512_maskz_cvtepi8_epi32(
      0xffff, _mm_loadu_si128(reinterpret_cast<const __m128i *>(p)));
  return _mm512_maskz_cvtepi32_ps(0xffff, w);
}

__attribute__((target("avx512f,avx2,fma"))) float
dot_s8_avx512(const float *q, const uint8_t *row, size_t d) {
  const int8_t *x = reinterpret_cast<const int8_t *>(row + 4);
  __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
  size_t j = 0;
  for (; j + 32 <= d; j += 32) {
    __m512 a0 = s8x16(x + j);
    __m512 a1 = s8x16(x + j + 16);
    s0 = _mm512_fmadd_ps(_mm512_loadu_ps(q + j), a0, s0);
    s1 = _mm512_fmadd_ps(_mm512_loadu_ps(q + j + 16), a1, s1);
  }
  for (; j + 16 <= d; j += 16) {
    __m512 a0 = s8x16(x + j);
    s0 = _mm512_fmadd_ps(_mm512_loadu_ps(q + j), a0, s0);
  }
  float s = hsum512(_mm512_add_ps(s0, s1));
  for (; j < d; j++)
    s += q[j] * (float)x[j];
  return s * s8_scale(row);
}
#endif

struct Kernel {
  dot_fn dot;
  widen_fn widen;
  const char *isa;
  dot_fn dot_f32; // for the exact re-score of int8 rows
};

// The dot product of this element type for this CPU, following the index
// kernels' choice (CPU features, OS state, ARGUS_ISA).
Kernel pick_kernel(Elem e) {
  const char *isa = ix_kernels_get()->k[IX_F32].isa;
#if IX_SHIM_X86
  if (std::strcmp(isa, "avx512") == 0)
    return {e == Elem::F32   ? dot_f32_avx512
            : e == Elem::F16 ? dot_f16_avx512
                             : dot_s8_avx512,
            widen_avx2, "avx512", dot_f32_avx512};
  if (std::strcmp(isa, "avx2") == 0)
    return {e == Elem::F32   ? dot_f32_avx2
            : e == Elem::F16 ? dot_f16_avx2
                             : dot_s8_avx2,
            widen_avx2, "avx2", dot_f32_avx2};
#endif
  (void)isa;
  return {e == Elem::F32   ? dot_f32_ref
          : e == Elem::F16 ? dot_f16_ref
                           : dot_s8_ref,
          widen_ref, "ref", dot_f32_ref};
}

inline void prefetch_row(const uint8_t *p, size_t bytes) {
#if IX_SHIM_X86
  for (size_t o = 0; o < bytes; o += 64)
    _mm_prefetch(reinterpret_cast<const char *>(p + o), _MM_HINT_T0);
#else
  (void)p;
  (void)bytes;
#endif
}

// ---- storage: vectors for the HNSW graph --------------------------------

// Scores the current query (or a stored row, for symmetric_dis while
// building) against stored rows. FAISS's IndexHNSW wraps it in a
// NegativeDistanceComputer because the storage's metric is inner product,
// so the graph is built on -dot as a distance.
struct ArgusDis : faiss::FlatCodesDistanceComputer {
  size_t d;
  Elem elem;
  Kernel kern;
  const float *q = nullptr;
  std::vector<float> tmp; // a decoded row (symmetric_dis)

  ArgusDis(const uint8_t *c, size_t cs, size_t dim, Elem e, Kernel k)
      : FlatCodesDistanceComputer(c, cs), d(dim), elem(e), kern(k), tmp(dim) {}

  void set_query(const float *x) override { q = x; }
  float distance_to_code(const uint8_t *code) override {
    return kern.dot(q, code, d);
  }
  float symmetric_dis(idx_t i, idx_t j) override {
    const uint8_t *ri = codes + (size_t)i * code_size;
    const float *qi = reinterpret_cast<const float *>(ri);
    if (elem == Elem::F16) {
      kern.widen(reinterpret_cast<const uint16_t *>(ri), tmp.data(), d);
      qi = tmp.data();
    } else if (elem == Elem::S8) {
      const int8_t *v = reinterpret_cast<const int8_t *>(ri + 4);
      float sc = s8_scale(ri);
      for (size_t t = 0; t < d; t++)
        tmp[t] = sc * (float)v[t];
      qi = tmp.data();
    }
    return kern.dot(qi, codes + (size_t)j * code_size, d);
  }
};

// Row-major vectors (Elem), inner-product metric. Only the HNSW index uses
// it: its own search() is exhaustive and kept for completeness.
struct ArgusStorage : faiss::IndexFlatCodes {
  Elem elem;
  Kernel kern;
  std::vector<float> exact; // int8: the fp32 rows, for re-scoring

  ArgusStorage(int dim, Elem e)
      : faiss::IndexFlatCodes(row_bytes(e, (size_t)dim), dim,
                              faiss::METRIC_INNER_PRODUCT),
        elem(e), kern(pick_kernel(e)) {}

  void add(idx_t n, const float *x) override {
    if (elem != Elem::S8) {
      faiss::IndexFlatCodes::add(n, x);
      return;
    }
    size_t old = exact.size();
    exact.insert(exact.end(), x, x + (size_t)n * (size_t)d);
    try {
      faiss::IndexFlatCodes::add(n, x);
    } catch (...) {
      exact.resize(old);
      throw;
    }
  }
  void reset() override {
    exact.clear();
    faiss::IndexFlatCodes::reset();
  }
  void reconstruct(idx_t key, float *recons) const override {
    if (elem == Elem::S8) {
      FAISS_THROW_IF_NOT(key >= 0 && key < ntotal);
      std::memcpy(recons, exact.data() + (size_t)key * (size_t)d,
                  (size_t)d * sizeof(float));
      return;
    }
    faiss::IndexFlatCodes::reconstruct(key, recons);
  }
  void sa_encode(idx_t n, const float *x, uint8_t *bytes) const override {
    size_t cnt = (size_t)n * (size_t)d;
    if (elem == Elem::F32) {
      std::memcpy(bytes, x, cnt * sizeof(float));
    } else if (elem == Elem::F16) {
      ix_kernels_get()->to_f16(x, reinterpret_cast<uint16_t *>(bytes), cnt);
    } else {
      for (idx_t i = 0; i < n; i++) {
        const float *v = x + (size_t)i * (size_t)d;
        uint8_t *row = bytes + (size_t)i * code_size;
        float mx = 0;
        for (idx_t t = 0; t < d; t++)
          mx = std::max(mx, std::fabs(v[t]));
        float sc = mx > 0 ? mx / 127.0f : 1.0f, inv = 1.0f / sc;
        std::memcpy(row, &sc, sizeof sc);
        int8_t *o = reinterpret_cast<int8_t *>(row + 4);
        for (idx_t t = 0; t < d; t++) {
          float r = std::nearbyint(v[t] * inv);
          o[t] = (int8_t)std::min(127.0f, std::max(-127.0f, r));
        }
      }
    }
  }
  void sa_decode(idx_t n, const uint8_t *bytes, float *x) const override {
    size_t cnt = (size_t)n * (size_t)d;
    if (elem == Elem::F32) {
      std::memcpy(x, bytes, cnt * sizeof(float));
    } else if (elem == Elem::F16) {
      kern.widen(reinterpret_cast<const uint16_t *>(bytes), x, cnt);
    } else {
      for (idx_t i = 0; i < n; i++) {
        const uint8_t *row = bytes + (size_t)i * code_size;
        const int8_t *v = reinterpret_cast<const int8_t *>(row + 4);
        float sc = s8_scale(row);
        for (idx_t t = 0; t < d; t++)
          x[(size_t)i * (size_t)d + (size_t)t] = sc * (float)v[t];
      }
    }
  }
  faiss::FlatCodesDistanceComputer *
  get_FlatCodesDistanceComputer() const override {
    return new ArgusDis(codes.data(), code_size, (size_t)d, elem, kern);
  }
  void search(idx_t n, const float *x, idx_t k, float *distances, idx_t *labels,
              const faiss::SearchParameters *params) const override {
    FAISS_THROW_IF_NOT(k > 0);
    const faiss::IDSelector *sel = params ? params->sel : nullptr;
    for (idx_t i = 0; i < n; i++) {
      float *D = distances + i * k;
      idx_t *I = labels + i * k;
      std::fill(D, D + k, -std::numeric_limits<float>::infinity());
      std::fill(I, I + k, (idx_t)-1);
      for (idx_t r = 0; r < ntotal; r++) {
        if (sel && !sel->is_member(r))
          continue;
        float s = kern.dot(x + i * d, codes.data() + r * code_size, d);
        if (!(s > D[k - 1]))
          continue;
        idx_t p = k - 1;
        for (; p > 0 && s > D[p - 1]; p--) {
          D[p] = D[p - 1];
          I[p] = I[p - 1];
        }
        D[p] = s;
        I[p] = r;
      }
    }
  }
};

// ---- search over FAISS's graph ------------------------------------------

typedef std::pair<float, int> Node; // (inner product, label)

struct NodeLess { // max-heap: best candidate on top
  bool operator()(const Node &a, const Node &b) const {
    return a.first < b.first || (a.first == b.first && a.second > b.second);
  }
};
struct NodeMore { // min-heap: worst result on top
  bool operator()(const Node &a, const Node &b) const {
    return a.first > b.first || (a.first == b.first && a.second < b.second);
  }
};

// Per-thread search state, kept between calls: an epoch-stamped visited
// table (cleared only when the epoch wraps) and the queues.
struct Scratch {
  std::vector<uint16_t> visited;
  uint16_t epoch = 0;
  std::vector<Node> cand, res;
  std::vector<int> fresh;

  void begin(size_t n) {
    if (visited.size() < n) {
      visited.assign(n, 0);
      epoch = 0;
    }
    if (++epoch == 0) {
      std::fill(visited.begin(), visited.end(), 0);
      epoch = 1;
    }
    cand.clear();
    res.clear();
  }
};

thread_local Scratch tls_scratch;

struct GraphView {
  const faiss::HNSW *g;
  const uint8_t *codes;
  size_t code_size, d, n;
  dot_fn dot;
  ix_faiss_filter_fn filter;
  void *user;
  const float *exact; // fp32 rows to re-score the final candidates, or NULL
  dot_fn dot_f32;

  const uint8_t *row(int i) const { return codes + (size_t)i * code_size; }
  // Neighbours of node i on `level`: [b, e) of g->neighbors, -1 ends early.
  void range(int i, int level, size_t *b, size_t *e) const {
    size_t o = g->offsets[(size_t)i];
    *b = o + (size_t)g->cum_nneighbor_per_level[(size_t)level];
    *e = o + (size_t)g->cum_nneighbor_per_level[(size_t)level + 1];
  }
};

// One query: k best labels, best first, -1 / -inf past the end.
void search_one(const GraphView &v, const float *q, int k, int ef, Scratch &s,
                float *D, idx_t *I) {
  for (int i = 0; i < k; i++) {
    D[i] = -std::numeric_limits<float>::infinity();
    I[i] = -1;
  }
  int ep = v.g->entry_point;
  if (ep < 0 || v.n == 0)
    return;
  const int *nb = v.g->neighbors.data();
  float dep = v.dot(q, v.row(ep), v.d);
  // Greedy descent through the upper levels.
  for (int level = v.g->max_level; level >= 1; level--) {
    bool moved = true;
    while (moved) {
      moved = false;
      size_t b, e;
      v.range(ep, level, &b, &e);
      for (size_t j = b; j < e && nb[j] >= 0; j++)
        prefetch_row(v.row(nb[j]), 64);
      int best = ep;
      for (size_t j = b; j < e && nb[j] >= 0; j++) {
        if (j + 1 < e && nb[j + 1] >= 0)
          prefetch_row(v.row(nb[j + 1]), v.code_size);
        float x = v.dot(q, v.row(nb[j]), v.d);
        if (x > dep) {
          dep = x;
          best = nb[j];
        }
      }
      if (best != ep) {
        ep = best;
        moved = true;
      }
    }
  }
  // Best-first beam on level 0; filtered-out nodes are walked through but
  // never kept.
  s.begin(v.n);
  size_t efz = (size_t)ef;
  s.visited[(size_t)ep] = s.epoch;
  s.cand.push_back({dep, ep});
  if (!v.filter || v.filter(v.user, ep))
    s.res.push_back({dep, ep});
  float lower = s.res.empty() ? -std::numeric_limits<float>::infinity()
                              : s.res.front().first;
  while (!s.cand.empty()) {
    Node c = s.cand.front();
    if (c.first < lower && s.res.size() >= efz)
      break;
    std::pop_heap(s.cand.begin(), s.cand.end(), NodeLess());
    s.cand.pop_back();
    size_t b, e;
    v.range(c.second, 0, &b, &e);
    s.fresh.clear();
    for (size_t j = b; j < e && nb[j] >= 0; j++) {
      int u = nb[j];
      if (s.visited[(size_t)u] == s.epoch)
        continue;
      s.visited[(size_t)u] = s.epoch;
      s.fresh.push_back(u);
    }
    size_t nf = s.fresh.size();
    if (nf)
      prefetch_row(v.row(s.fresh[0]), v.code_size);
    for (size_t j = 0; j < nf; j++) {
      int u = s.fresh[j];
      if (j + 1 < nf)
        prefetch_row(v.row(s.fresh[j + 1]), v.code_size);
      float x = v.dot(q, v.row(u), v.d);
      if (s.res.size() < efz || x > lower) {
        s.cand.push_back({x, u});
        std::push_heap(s.cand.begin(), s.cand.end(), NodeLess());
        if (!v.filter || v.filter(v.user, u)) {
          s.res.push_back({x, u});
          std::push_heap(s.res.begin(), s.res.end(), NodeMore());
          if (s.res.size() > efz) {
            std::pop_heap(s.res.begin(), s.res.end(), NodeMore());
            s.res.pop_back();
          }
        }
        if (!s.res.empty())
          lower = s.res.front().first;
      }
    }
  }
  std::sort(s.res.begin(), s.res.end(), NodeMore());
  if (v.exact) {
    // int8 scores are off by up to ~1e-2: re-score the best candidates
    // with the fp32 rows and rank those by their exact scores.
    size_t r =
        std::min(s.res.size(), std::max((size_t)4 * (size_t)k, (size_t)64));
    s.res.resize(r);
    for (size_t i = 0; i < r; i++) {
      const float *x = v.exact + (size_t)s.res[i].second * v.d;
      if (i + 1 < r)
        prefetch_row(reinterpret_cast<const uint8_t *>(
                         v.exact + (size_t)s.res[i + 1].second * v.d),
                     v.d * sizeof(float));
      s.res[i].first = v.dot_f32(q, reinterpret_cast<const uint8_t *>(x), v.d);
    }
    std::sort(s.res.begin(), s.res.end(), NodeMore());
  }
  size_t m = std::min(s.res.size(), (size_t)k);
  for (size_t i = 0; i < m; i++) {
    D[i] = s.res[i].first;
    I[i] = s.res[i].second;
  }
}

// ---- errors ---------------------------------------------------------------

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

// "HNSW<M>,Flat" (or "HNSW<M>") and "HNSW<M>,SQfp16": the forms the argus
// storage serves. Returns M, or 0 for any other string.
int parse_hnsw(const char *factory, Elem *elem) {
  int m = 0, used = 0;
  if (std::sscanf(factory, "HNSW%d%n", &m, &used) != 1 || m < 2 || m > 512)
    return 0;
  const char *rest = factory + used;
  if (*rest == 0 || std::strcmp(rest, ",Flat") == 0) {
    *elem = Elem::F32;
    return m;
  }
  if (std::strcmp(rest, ",SQfp16") == 0) {
    *elem = Elem::F16;
    return m;
  }
  if (std::strcmp(rest, ",SQ8") == 0) {
    *elem = Elem::S8;
    return m;
  }
  return 0;
}

// OpenMP threads the calling thread had before the shim first changed them
// (OMP_NUM_THREADS or the processor count): builds use this many.
int build_threads() {
  static const int n = omp_get_max_threads();
  return n;
}

} // namespace

struct ix_faiss {
  faiss::Index *index;
  int ef_search;
  int nprobe;
  ArgusStorage *argus; // HNSW on argus distances (owned by index), or NULL
};

extern "C" {

argus_err ix_faiss_create(const char *factory, int dim, unsigned flags,
                          ix_faiss **out, char *err, size_t errlen) {
  *out = nullptr;
  (void)build_threads();
  ix_faiss *f = new (std::nothrow) ix_faiss{nullptr, 64, 32, nullptr};
  if (!f) {
    set_err(err, errlen, "out of memory");
    return ARGUS_E_NOMEM;
  }
  argus_err e = guarded(err, errlen, [&] {
    Elem elem = Elem::F32;
    int m = (flags & IX_FAISS_STOCK) ? 0 : parse_hnsw(factory, &elem);
    if (m > 0) {
      ArgusStorage *st = new ArgusStorage(dim, elem);
      faiss::IndexHNSW *h = nullptr;
      try {
        h = new faiss::IndexHNSW(st, m);
      } catch (...) {
        delete st;
        throw;
      }
      h->own_fields = true;
      f->index = h;
      f->argus = st;
      return;
    }
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
  return guarded(err, errlen, [&] { f->index->train((idx_t)n, x); });
}

argus_err ix_faiss_add(ix_faiss *f, size_t n, const float *x, char *err,
                       size_t errlen) {
  return guarded(err, errlen, [&] {
    // A search may have lowered this thread's OpenMP team size.
    omp_set_num_threads(build_threads());
    f->index->add((idx_t)n, x);
  });
}

argus_err ix_faiss_search(const ix_faiss *f, size_t nq, const float *q,
                          size_t k, ix_faiss_filter_fn filter, void *user,
                          int threads, float *scores, int64_t *labels,
                          char *err, size_t errlen) {
  static_assert(sizeof(idx_t) == sizeof(int64_t), "label size");
  idx_t *lab = reinterpret_cast<idx_t *>(labels);
  if (f->argus) {
    const auto *h = static_cast<const faiss::IndexHNSW *>(f->index);
    GraphView v{&h->hnsw,
                f->argus->codes.data(),
                f->argus->code_size,
                (size_t)f->argus->d,
                (size_t)f->argus->ntotal,
                f->argus->kern.dot,
                filter,
                user,
                f->argus->elem == Elem::S8 ? f->argus->exact.data() : nullptr,
                f->argus->kern.dot_f32};
    int ef = f->ef_search > (int)k ? f->ef_search : (int)k;
    int nt = threads > 1 && nq > 1 ? threads : 1;
    std::atomic<int> failed{0};
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1) if (nt > 1)
    for (size_t i = 0; i < nq; i++) {
      if (failed.load(std::memory_order_relaxed))
        continue;
      try {
        search_one(v, q + i * v.d, (int)k, ef, tls_scratch, scores + i * k,
                   lab + i * k);
      } catch (const std::bad_alloc &) {
        failed.store(1);
      } catch (...) {
        failed.store(2);
      }
    }
    if (failed.load() == 1) {
      set_err(err, errlen, "out of memory");
      return ARGUS_E_NOMEM;
    }
    if (failed.load()) {
      set_err(err, errlen, "HNSW search failed");
      return ARGUS_E_INTERNAL;
    }
    return ARGUS_OK;
  }
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
    f->index->search((idx_t)nq, q, (idx_t)k, scores, lab, params);
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
    if (auto *a = dynamic_cast<const ArgusStorage *>(h->storage))
      b += a->codes.size() + a->exact.size() * sizeof(float);
    else if (auto *s = dynamic_cast<const faiss::IndexFlatCodes *>(h->storage))
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

const char *ix_faiss_distance_isa(const ix_faiss *f) {
  return f->argus ? f->argus->kern.isa : nullptr;
}

void ix_faiss_set_threads(int threads) {
  omp_set_num_threads(threads > 0 ? threads : 1);
}

} // extern "C"
