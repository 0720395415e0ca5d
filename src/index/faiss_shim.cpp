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
//
// One file of about 1,100 lines on purpose: it is the only C++ in argus
// and the only user of FAISS's headers, kept in one translation unit so
// that the C side sees nothing but faiss_shim.h.
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
#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
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

// Row formats: fp32; IEEE half; int8 (v = round(x / scale), scale =
// max|x| / 127, one scale per row), whose index also keeps the fp32 rows to
// re-score its final candidates exactly. Rows start on 64-byte boundaries
// and are padded with zeros to a multiple of 64 bytes, so a 512-d int8 row
// is exactly eight cache lines and the kernels need no tail code.
enum class Elem { F32, F16, S8 };

inline size_t row_stride(Elem e, size_t d) {
  size_t b = e == Elem::F32 ? d * 4 : e == Elem::F16 ? d * 2 : d;
  return (b + 63) / 64 * 64;
}

// Per int8 row: its scale and the sum of its values (the correction for the
// +128 offset of the unsigned operand of VNNI's vpdpbusd).
struct S8Meta {
  float scale;
  int32_t sum;
};

// Inner product of a fp32 query with one stored row (fp32 or fp16) of d
// values.
typedef float (*dot_fn)(const float *q, const uint8_t *row, size_t d);
// Widens n halves to floats (fp16 rows, for symmetric_dis while building).
typedef void (*widen_fn)(const uint16_t *h, float *x, size_t n);
// Integer inner product of an int8 query with an int8 row over dp bytes (a
// multiple of 64, zero-padded). The query comes in two forms: qs (signed)
// and qu = qs + 128 (unsigned, for VNNI, which subtracts 128 * rsum).
typedef int32_t (*dot_s8_fn)(const int8_t *qs, const uint8_t *qu,
                             const int8_t *r, int32_t rsum, size_t dp);
// Integer inner product of two int8 rows over dp bytes.
typedef int32_t (*dot_ss_fn)(const int8_t *a, const int8_t *b, size_t dp);

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


int32_t dot_s8_ref(const int8_t *qs, const uint8_t *qu, const int8_t *r,
                   int32_t rsum, size_t dp) {
  (void)qu;
  (void)rsum;
  int32_t s = 0;
  for (size_t j = 0; j < dp; j++)
    s += (int32_t)qs[j] * (int32_t)r[j];
  return s;
}

#if IX_SHIM_X86
__attribute__((target("avx2"))) inline int32_t hsum256i(__m256i v) {
  __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v),
                            _mm256_extracti128_si256(v, 1));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
  s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
  return _mm_cvtsi128_si32(s);
}

// Sign-extends to 16 bits and multiply-adds pairs (vpmaddwd): exact.
__attribute__((target("avx2"))) int32_t dot_s8_avx2(const int8_t *qs,
                                                    const uint8_t *qu,
                                                    const int8_t *r,
                                                    int32_t rsum, size_t dp) {
  (void)qu;
  (void)rsum;
  __m256i s0 = _mm256_setzero_si256(), s1 = _mm256_setzero_si256();
  for (size_t j = 0; j < dp; j += 32) {
    __m256i a0 = _mm256_cvtepi8_epi16(
        _mm_loadu_si128(reinterpret_cast<const __m128i *>(qs + j)));
    __m256i b0 = _mm256_cvtepi8_epi16(
        _mm_loadu_si128(reinterpret_cast<const __m128i *>(r + j)));
    __m256i a1 = _mm256_cvtepi8_epi16(
        _mm_loadu_si128(reinterpret_cast<const __m128i *>(qs + j + 16)));
    __m256i b1 = _mm256_cvtepi8_epi16(
        _mm_loadu_si128(reinterpret_cast<const __m128i *>(r + j + 16)));
    s0 = _mm256_add_epi32(s0, _mm256_madd_epi16(a0, b0));
    s1 = _mm256_add_epi32(s1, _mm256_madd_epi16(a1, b1));
  }
  return hsum256i(_mm256_add_epi32(s0, s1));
}

// vpdpbusd: unsigned query bytes (qs + 128) times signed row bytes, four
// products summed into each 32-bit lane; 128 * sum(row) comes off at the
// end. 64 dims per instruction.
__attribute__((target("avx512f,avx512bw,avx512vnni,avx2"))) int32_t
dot_s8_vnni(const int8_t *qs, const uint8_t *qu, const int8_t *r, int32_t rsum,
            size_t dp) {
  (void)qs;
  __m512i s0 = _mm512_setzero_si512(), s1 = _mm512_setzero_si512();
  size_t j = 0;
  for (; j + 128 <= dp; j += 128) {
    s0 = _mm512_dpbusd_epi32(s0, _mm512_loadu_si512(qu + j),
                             _mm512_loadu_si512(r + j));
    s1 = _mm512_dpbusd_epi32(s1, _mm512_loadu_si512(qu + j + 64),
                             _mm512_loadu_si512(r + j + 64));
  }
  if (j < dp)
    s0 = _mm512_dpbusd_epi32(s0, _mm512_loadu_si512(qu + j),
                             _mm512_loadu_si512(r + j));
  alignas(64) int32_t t[16]; // see hsum512
  _mm512_store_si512(t, _mm512_add_epi32(s0, s1));
  __m256i h = _mm256_add_epi32(
      _mm256_load_si256(reinterpret_cast<const __m256i *>(t)),
      _mm256_load_si256(reinterpret_cast<const __m256i *>(t + 8)));
  return hsum256i(h) - 128 * rsum;
}

// Two signed rows (symmetric_dis while building): a.b = |a| . (sign(a) b),
// the unsigned operand being |a| (values are within [-127, 127]).
__attribute__((target("avx512f,avx512bw,avx512vnni,avx2"))) int32_t
dot_ss_vnni(const int8_t *a, const int8_t *b, size_t dp) {
  __m512i s0 = _mm512_setzero_si512(), zero = _mm512_setzero_si512();
  for (size_t j = 0; j < dp; j += 64) {
    __m512i va = _mm512_loadu_si512(a + j), vb = _mm512_loadu_si512(b + j);
    __mmask64 neg = _mm512_movepi8_mask(va);
    vb = _mm512_mask_sub_epi8(vb, neg, zero, vb);
    s0 = _mm512_dpbusd_epi32(s0, _mm512_abs_epi8(va), vb);
  }
  alignas(64) int32_t t[16];
  _mm512_store_si512(t, s0);
  return hsum256i(_mm256_add_epi32(
      _mm256_load_si256(reinterpret_cast<const __m256i *>(t)),
      _mm256_load_si256(reinterpret_cast<const __m256i *>(t + 8))));
}

__attribute__((target("avx2"))) int32_t dot_ss_avx2(const int8_t *a,
                                                    const int8_t *b,
                                                    size_t dp) {
  return dot_s8_avx2(a, nullptr, b, 0, dp);
}
#endif

int32_t dot_ss_ref(const int8_t *a, const int8_t *b, size_t dp) {
  return dot_s8_ref(a, nullptr, b, 0, dp);
}

struct Kernel {
  dot_fn dot; // fp32 query . fp32 / fp16 row
  dot_s8_fn dot_s8;
  dot_ss_fn dot_ss; // int8 row . int8 row
  widen_fn widen;
  const char *isa;
  const char *isa_s8;
  dot_fn dot_f32; // for the exact re-score of int8 rows
};

// The dot products for this CPU, following the index kernels' choice (CPU
// features, OS state, ARGUS_ISA).
Kernel pick_kernel(Elem e) {
  const ix_kernels *ks = ix_kernels_get();
  const char *isa = ks->k[IX_F32].isa, *isa8 = ks->k[IX_S8].isa;
  Kernel k{dot_f32_ref, dot_s8_ref, dot_ss_ref, widen_ref,
           "ref",       "ref",      dot_f32_ref};
  if (e == Elem::F16)
    k.dot = dot_f16_ref;
#if IX_SHIM_X86
  if (std::strcmp(isa, "avx512") == 0) {
    k.dot = e == Elem::F16 ? dot_f16_avx512 : dot_f32_avx512;
    k.dot_f32 = dot_f32_avx512;
    k.widen = widen_avx2;
    k.isa = "avx512";
  } else if (std::strcmp(isa, "avx2") == 0) {
    k.dot = e == Elem::F16 ? dot_f16_avx2 : dot_f32_avx2;
    k.dot_f32 = dot_f32_avx2;
    k.widen = widen_avx2;
    k.isa = "avx2";
  }
  if (std::strcmp(isa8, "avx512vnni") == 0) {
    k.dot_s8 = dot_s8_vnni;
    k.dot_ss = dot_ss_vnni;
    k.isa_s8 = "avx512vnni";
  } else if (std::strcmp(isa8, "ref") != 0) {
    k.dot_s8 = dot_s8_avx2;
    k.dot_ss = dot_ss_avx2;
    k.isa_s8 = "avx2";
  }
#else
  (void)isa;
  (void)isa8;
#endif
  return k;
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

// A growable byte buffer aligned to 64 bytes (std::vector's storage is
// only 16-byte aligned, which would make every 512-byte row touch nine
// cache lines instead of eight), 2 MiB from 4 MiB on.
struct AlignedBuf {
  uint8_t *p = nullptr;
  size_t size = 0, cap = 0;

  AlignedBuf() = default;
  AlignedBuf(const AlignedBuf &) = delete;
  AlignedBuf &operator=(const AlignedBuf &) = delete;
  ~AlignedBuf() { std::free(p); }
  void reserve(size_t n) {
    if (n <= cap)
      return;
    size_t c = std::max(n, cap + cap / 2);
    // Large buffers: 2 MiB aligned and backed by transparent huge pages
    // where the kernel allows (the graph walk reads rows at random).
    const size_t huge = (size_t)2 << 20;
    size_t align = c >= 2 * huge ? huge : 64;
    c = (c + align - 1) / align * align;
    void *q = ::aligned_alloc(align, c);
    if (!q)
      throw std::bad_alloc();
#ifdef MADV_HUGEPAGE
    if (align == huge)
      (void)madvise(q, c, MADV_HUGEPAGE); // a hint: failure is harmless
#endif
    if (size)
      std::memcpy(q, p, size);
    std::free(p);
    p = static_cast<uint8_t *>(q);
    cap = c;
  }
  void clear() { size = 0; }
};

// An int8 query: both operand forms and its scale, in buffers kept between
// queries (padded with zeros to the row stride).
struct QueryS8 {
  std::vector<int8_t> qs;
  std::vector<uint8_t> qu;
  float scale = 1;

  void set(const float *x, size_t d, size_t dp) {
    if (qs.size() < dp) {
      qs.assign(dp, 0);
      qu.assign(dp, 128);
    }
    float mx = 0;
    for (size_t t = 0; t < d; t++)
      mx = std::max(mx, std::fabs(x[t]));
    scale = mx > 0 ? mx / 127.0f : 1.0f;
    float inv = 1.0f / scale;
    for (size_t t = 0; t < d; t++) {
      float v = std::nearbyint(x[t] * inv);
      int8_t c = (int8_t)std::min(127.0f, std::max(-127.0f, v));
      qs[t] = c;
      qu[t] = (uint8_t)(c + 128);
    }
  }
};

// Quantises one row to int8 (scale = max|x| / 127) into a zeroed row.
S8Meta encode_s8(const float *x, size_t d, int8_t *o) {
  float mx = 0;
  for (size_t t = 0; t < d; t++)
    mx = std::max(mx, std::fabs(x[t]));
  float sc = mx > 0 ? mx / 127.0f : 1.0f, inv = 1.0f / sc;
  int32_t sum = 0;
  for (size_t t = 0; t < d; t++) {
    float r = std::nearbyint(x[t] * inv);
    o[t] = (int8_t)std::min(127.0f, std::max(-127.0f, r));
    sum += o[t];
  }
  return {sc, sum};
}

// The stored rows and how to score a query against them. A view: the
// storage owns the memory.
struct Rows {
  Elem elem;
  Kernel kern;
  const uint8_t *base;
  size_t stride, d, n;
  const S8Meta *meta;   // int8 rows
  const float *exact;   // int8 rows: the fp32 rows, for re-scoring

  const uint8_t *row(size_t i) const { return base + i * stride; }
};

// Scores one query against rows: fp32 dot products for fp32 / fp16 rows,
// an integer dot product of the quantised query for int8 rows.
struct Scorer {
  Rows r{};
  const float *q = nullptr;
  QueryS8 q8;

  Scorer() = default;
  explicit Scorer(const Rows &rows) : r(rows) {}

  void set_query(const float *x) {
    q = x;
    if (r.elem == Elem::S8)
      q8.set(x, r.d, r.stride);
  }
  float operator()(size_t i) const {
    const uint8_t *p = r.row(i);
    if (r.elem == Elem::S8)
      return (float)r.kern.dot_s8(q8.qs.data(), q8.qu.data(),
                                  reinterpret_cast<const int8_t *>(p),
                                  r.meta[i].sum, r.stride) *
             (q8.scale * r.meta[i].scale);
    return r.kern.dot(q, p, r.d);
  }
};

// ---- storage: vectors for the HNSW graph --------------------------------

// Scores the current query (or a stored row, for symmetric_dis while
// building) against stored rows. FAISS's IndexHNSW wraps it in a
// NegativeDistanceComputer because the storage's metric is inner product,
// so the graph is built on -dot as a distance.
struct ArgusDis : faiss::FlatCodesDistanceComputer {
  Scorer sc;
  std::vector<float> tmp; // a decoded fp16 row (symmetric_dis)

  explicit ArgusDis(const Rows &rows)
      : FlatCodesDistanceComputer(rows.base, rows.stride), sc(rows),
        tmp(rows.d) {}

  void set_query(const float *x) override { sc.set_query(x); }
  float distance_to_code(const uint8_t *code) override {
    return sc((size_t)(code - sc.r.base) / sc.r.stride);
  }
  float symmetric_dis(idx_t i, idx_t j) override {
    const Rows &r = sc.r;
    const uint8_t *ri = r.row((size_t)i);
    if (r.elem == Elem::S8) {
      int32_t dot = r.kern.dot_ss(
          reinterpret_cast<const int8_t *>(ri),
          reinterpret_cast<const int8_t *>(r.row((size_t)j)), r.stride);
      return (float)dot * (r.meta[i].scale * r.meta[j].scale);
    }
    const float *qi = reinterpret_cast<const float *>(ri);
    if (r.elem == Elem::F16) {
      r.kern.widen(reinterpret_cast<const uint16_t *>(ri), tmp.data(), r.d);
      qi = tmp.data();
    }
    return r.kern.dot(qi, r.row((size_t)j), r.d);
  }
};

// Row-major vectors (Elem), inner-product metric, in the shim's own
// aligned buffer (IndexFlatCodes::codes stays empty). Only the HNSW index
// uses it: its own search() is exhaustive and kept for completeness.
struct ArgusStorage : faiss::IndexFlatCodes {
  Elem elem;
  Kernel kern;
  AlignedBuf rows;
  std::vector<S8Meta> meta;  // int8: per row
  std::vector<float> exact;  // int8: the fp32 rows, for re-scoring

  ArgusStorage(int dim, Elem e)
      : faiss::IndexFlatCodes(row_stride(e, (size_t)dim), dim,
                              faiss::METRIC_INNER_PRODUCT),
        elem(e), kern(pick_kernel(e)) {}

  Rows view() const {
    return {elem,         kern,        rows.p,
            code_size,    (size_t)d,   (size_t)ntotal,
            meta.data(),  elem == Elem::S8 ? exact.data() : nullptr};
  }

  void add(idx_t n, const float *x) override {
    size_t old = (size_t)ntotal, cnt = (size_t)n, dd = (size_t)d;
    // Everything that can fail (allocation) happens before any change.
    rows.reserve((old + cnt) * code_size);
    if (elem == Elem::S8) {
      meta.reserve(old + cnt);
      exact.reserve((old + cnt) * dd);
    }
    uint8_t *dst = rows.p + old * code_size;
    std::memset(dst, 0, cnt * code_size);
    for (size_t i = 0; i < cnt; i++) {
      const float *v = x + i * dd;
      uint8_t *row = dst + i * code_size;
      if (elem == Elem::F32) {
        std::memcpy(row, v, dd * sizeof(float));
      } else if (elem == Elem::F16) {
        ix_kernels_get()->to_f16(v, reinterpret_cast<uint16_t *>(row), dd);
      } else {
        meta.push_back(encode_s8(v, dd, reinterpret_cast<int8_t *>(row)));
        exact.insert(exact.end(), v, v + dd);
      }
    }
    rows.size = (old + cnt) * code_size;
    ntotal += n;
  }
  void reset() override {
    rows.clear();
    meta.clear();
    exact.clear();
    ntotal = 0;
  }
  void reconstruct(idx_t key, float *recons) const override {
    FAISS_THROW_IF_NOT(key >= 0 && key < ntotal);
    const uint8_t *row = rows.p + (size_t)key * code_size;
    if (elem == Elem::S8)
      std::memcpy(recons, exact.data() + (size_t)key * (size_t)d,
                  (size_t)d * sizeof(float));
    else if (elem == Elem::F16)
      kern.widen(reinterpret_cast<const uint16_t *>(row), recons, (size_t)d);
    else
      std::memcpy(recons, row, (size_t)d * sizeof(float));
  }
  size_t bytes() const {
    return rows.size + meta.size() * sizeof(S8Meta) +
           exact.size() * sizeof(float);
  }
  faiss::FlatCodesDistanceComputer *
  get_FlatCodesDistanceComputer() const override {
    return new ArgusDis(view());
  }
  void search(idx_t n, const float *x, idx_t k, float *distances, idx_t *labels,
              const faiss::SearchParameters *params) const override {
    FAISS_THROW_IF_NOT(k > 0);
    const faiss::IDSelector *sel = params ? params->sel : nullptr;
    Scorer sc(view());
    for (idx_t i = 0; i < n; i++) {
      float *D = distances + i * k;
      idx_t *I = labels + i * k;
      std::fill(D, D + k, -std::numeric_limits<float>::infinity());
      std::fill(I, I + k, (idx_t)-1);
      sc.set_query(x + i * d);
      for (idx_t r = 0; r < ntotal; r++) {
        if (sel && !sel->is_member(r))
          continue;
        float s = sc((size_t)r);
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

// Rows scored ahead of the one being scored are prefetched this many rows
// in advance (a row is 8 to 32 cache lines).
constexpr size_t kPrefetchAhead = 2;

// Per-thread search state, kept between calls: an epoch-stamped visited
// table (cleared only when the epoch wraps), the queues and the query's
// int8 form.
struct Scratch {
  std::vector<uint16_t> visited;
  uint16_t epoch = 0;
  std::vector<Node> cand, res;
  std::vector<int> fresh;
  Scorer sc;

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
  Rows rows;
  ix_faiss_filter_fn filter;
  void *user;

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
  const Rows &rw = v.rows;
  int ep = v.g->entry_point;
  if (ep < 0 || rw.n == 0)
    return;
  Scorer &sc = s.sc;
  sc.r = rw;
  sc.set_query(q);
  const int *nb = v.g->neighbors.data();
  float dep = sc((size_t)ep);
  // Greedy descent through the upper levels.
  for (int level = v.g->max_level; level >= 1; level--) {
    bool moved = true;
    while (moved) {
      moved = false;
      size_t b, e;
      v.range(ep, level, &b, &e);
      while (e > b && nb[e - 1] < 0)
        e--;
      for (size_t j = b; j < e && j < b + kPrefetchAhead; j++)
        prefetch_row(rw.row((size_t)nb[j]), rw.stride);
      int best = ep;
      for (size_t j = b; j < e; j++) {
        if (j + kPrefetchAhead < e)
          prefetch_row(rw.row((size_t)nb[j + kPrefetchAhead]), rw.stride);
        float x = sc((size_t)nb[j]);
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
  s.begin(rw.n);
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
    for (size_t j = 0; j < nf && j < kPrefetchAhead; j++)
      prefetch_row(rw.row((size_t)s.fresh[j]), rw.stride);
    for (size_t j = 0; j < nf; j++) {
      int u = s.fresh[j];
      if (j + kPrefetchAhead < nf)
        prefetch_row(rw.row((size_t)s.fresh[j + kPrefetchAhead]), rw.stride);
      float x = sc((size_t)u);
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
  if (rw.exact) {
    // int8 scores are off by up to ~1e-2: re-score the best candidates
    // with the fp32 rows and rank those by their exact scores.
    size_t r =
        std::min(s.res.size(), std::max((size_t)4 * (size_t)k, (size_t)64));
    s.res.resize(r);
    size_t fb = rw.d * sizeof(float);
    auto exact_row = [&](size_t i) {
      return reinterpret_cast<const uint8_t *>(
          rw.exact + (size_t)s.res[i].second * rw.d);
    };
    for (size_t i = 0; i < r && i < kPrefetchAhead; i++)
      prefetch_row(exact_row(i), fb);
    for (size_t i = 0; i < r; i++) {
      if (i + kPrefetchAhead < r)
        prefetch_row(exact_row(i + kPrefetchAhead), fb);
      s.res[i].first = rw.kern.dot_f32(q, exact_row(i), rw.d);
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
    GraphView v{&h->hnsw, f->argus->view(), filter, user};
    int ef = f->ef_search > (int)k ? f->ef_search : (int)k;
    int nt = threads > 1 && nq > 1 ? threads : 1;
    std::atomic<int> failed{0};
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1) if (nt > 1)
    for (size_t i = 0; i < nq; i++) {
      if (failed.load(std::memory_order_relaxed))
        continue;
      try {
        search_one(v, q + i * v.rows.d, (int)k, ef, tls_scratch, scores + i * k,
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
      b += a->bytes();
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
  if (!f->argus)
    return nullptr;
  return f->argus->elem == Elem::S8 ? f->argus->kern.isa_s8
                                    : f->argus->kern.isa;
}

void ix_faiss_set_threads(int threads) {
  omp_set_num_threads(threads > 0 ? threads : 1);
}

int ix_faiss_check_s8_kernels(char *msg, size_t len) {
  struct Named {
    const char *name;
    dot_s8_fn s8;
    dot_ss_fn ss;
  };
  std::vector<Named> ks;
#if IX_SHIM_X86
  unsigned f = argus_cpu_features();
  if (f & ARGUS_CPU_AVX2)
    ks.push_back({"avx2", dot_s8_avx2, dot_ss_avx2});
  if ((f & ARGUS_CPU_AVX512) && (f & ARGUS_CPU_AVX512_VNNI))
    ks.push_back({"avx512vnni", dot_s8_vnni, dot_ss_vnni});
#endif
  int bad = 0;
  uint64_t st = 0x9e3779b97f4a7c15ull;
  auto next = [&st] {
    st ^= st << 13;
    st ^= st >> 7;
    st ^= st << 17;
    return st;
  };
  const size_t lens[] = {64, 128, 192, 512, 1024};
  for (size_t dp : lens) {
    for (int rep = 0; rep < 20; rep++) {
      std::vector<int8_t> a(dp), b(dp);
      std::vector<uint8_t> au(dp);
      int32_t bsum = 0;
      for (size_t j = 0; j < dp; j++) {
        // rep 0 and 1: all at the extremes (-127 / 127)
        int va = rep == 0 ? 127 : rep == 1 ? -127 : (int)(next() % 255) - 127;
        int vb = rep < 2 ? ((j & 1) ? 127 : -127) : (int)(next() % 255) - 127;
        a[j] = (int8_t)va;
        b[j] = (int8_t)vb;
        au[j] = (uint8_t)(va + 128);
        bsum += vb;
      }
      int32_t want = dot_s8_ref(a.data(), au.data(), b.data(), bsum, dp);
      for (const Named &k : ks) {
        int32_t g8 = k.s8(a.data(), au.data(), b.data(), bsum, dp);
        int32_t gs = k.ss(a.data(), b.data(), dp);
        if (g8 != want || gs != want) {
          if (!bad && msg && len)
            std::snprintf(msg, len,
                          "%s, %zu bytes: query . row %d, row . row %d, "
                          "reference %d",
                          k.name, dp, (int)g8, (int)gs, (int)want);
          bad++;
        }
      }
    }
  }
  return bad;
}

} // extern "C"
