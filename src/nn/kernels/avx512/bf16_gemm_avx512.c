/* AVX-512 BF16 GEMM (kernels.h, nn_bf16_gemm_fn): B is converted to bf16
 * pairs one block of 48 columns at a time (rows kk and kk+1 interleaved, so
 * that one 32-bit lane holds the pair VDPBF16PS multiplies with a pair of
 * A), and every 8-row panel of A then runs over that block from L1: 8 rows
 * x 3 zmm of float32 accumulators, one broadcast of an A pair per row and
 * k pair. Compiled with -mavx512bf16 (CMakeLists.txt). */
#if defined(__AVX512BF16__)
#include "bf16_avx512.h"

#define MR NN_BF16_MR
#define NB NN_BF16_NB
/* Prefetch distance in columns (see pack_b). */
#ifndef PF
#define PF (2 * NB)
#endif

typedef struct brows {
  const float *b;
  size_t ldb;
  const float *const *bp;
  size_t off;
} brows;

NN_INLINE const float *brow(const brows *s, size_t kk) {
  return s->bp ? s->bp[kk] + s->off : s->b + kk * s->ldb;
}

NN_INLINE __m512bh as_bh(__m512i v) { return (__m512bh)v; }

/* Converts columns [j, j + cols) (cols <= 48) of B into dst: pair q,
 * vector v at dst + q*48 + 16*v, lanes past cols zero. */
static void pack_b(size_t k, const brows *s, size_t j, size_t cols,
                   uint32_t *dst) {
  const size_t nv = (cols + 15) / 16, kp = k / 2;
  __mmask16 mk[3];
  for (size_t v = 0; v < 3; v++)
    mk[v] = cols > 16 * v ? tail_mask16(cols - 16 * v) : 0;
  for (size_t q = 0; q < kp; q++) {
    const float *r0 = brow(s, 2 * q) + j, *r1 = brow(s, 2 * q + 1) + j;
    uint32_t *d = dst + q * NB;
    /* The next block's columns: B comes straight from large planes (one
     * row per input channel), too many streams for the hardware
     * prefetcher; the panels' work on this block hides the fetch. */
    for (size_t l = 0; l < NB; l += 16) {
      _mm_prefetch((const char *)(r0 + PF + l), _MM_HINT_T0);
      _mm_prefetch((const char *)(r1 + PF + l), _MM_HINT_T0);
    }
    if (cols == NB) {
#pragma GCC unroll 3
      for (size_t v = 0; v < 3; v++) {
        __m512 lo = _mm512_loadu_ps(r0 + 16 * v);
        __m512 hi = _mm512_loadu_ps(r1 + 16 * v);
        _mm512_storeu_si512(d + 16 * v, bf16_pairs16(lo, hi));
      }
      continue;
    }
    for (size_t v = 0; v < nv; v++) {
      __m512 lo = _mm512_maskz_loadu_ps(mk[v], r0 + 16 * v);
      __m512 hi = _mm512_maskz_loadu_ps(mk[v], r1 + 16 * v);
      _mm512_storeu_si512(d + 16 * v, bf16_pairs16(lo, hi));
    }
  }
  if (k & 1) {
    const float *r0 = brow(s, k - 1) + j;
    uint32_t *d = dst + kp * NB;
    for (size_t l = 0; l < NB; l += 16)
      _mm_prefetch((const char *)(r0 + PF + l), _MM_HINT_T0);
    for (size_t v = 0; v < nv; v++) {
      __m512 lo = _mm512_maskz_loadu_ps(mk[v], r0 + 16 * v);
      _mm512_storeu_si512(d + 16 * v, bf16_pairs16(lo, _mm512_setzero_ps()));
    }
  }
}

/* Stores rows [0, m) of a block's accumulators with the epilogue, masked
 * (m0..m2) over nv vectors. Out of line so that the loop keeps its
 * accumulators in registers (as in f32_gemm_avx512.c). */
static __attribute__((noinline)) void epilogue(size_t m, __m512 t[8][3],
                                               float *c, size_t ldc,
                                               const nn_post *p,
                                               const __mmask16 *mk, int nv) {
  for (size_t r = 0; r < m; r++) {
    post512 pr = post512_row(p, r);
    float *cr = c + r * ldc;
    const float *rr = p->res ? p->res + r * p->ldr : NULL;
    for (int v = 0; v < nv; v++)
      post512_store(&pr, t[r][v], cr + 16 * v, rr ? rr + 16 * v : NULL, mk[v],
                    1);
  }
}

#define ACC_DECL NN_ACC8X3_DECL(__m512, Z)

/* A tail block: `m` (1..8) rows x `nv` (1..3) vectors, compile-time
 * constants after inlining. */
NN_INLINE __m512bh load_b(const uint32_t *b, __mmask16 m, const int masked) {
  return as_bh(masked ? _mm512_maskz_loadu_epi32(m, b) : _mm512_loadu_si512(b));
}

/* `bs`: uint32 from one pair row of B to the next (NB in a converted
 * block); `masked`: load only the block's columns (B read in place, where
 * the lanes past them may lie past the tensor). */
NN_INLINE void block(size_t m, size_t kp, const uint32_t *a,
                     const uint32_t *b, size_t bs, float *c, size_t ldc,
                     const nn_post *p, const __mmask16 *mk, int nv,
                     const int masked) {
#define Z _mm512_setzero_ps()
  ACC_DECL;
#undef Z
  for (size_t q = 0; q < kp; q++) {
    __m512bh b0 = load_b(b, mk[0], masked), b1 = b0, b2 = b0;
    if (nv > 1)
      b1 = load_b(b + 16, mk[1], masked);
    if (nv > 2)
      b2 = load_b(b + 32, mk[2], masked);
#define ROW(r)                                                                 \
  do {                                                                         \
    if (r >= m)                                                                \
      break;                                                                   \
    __m512bh av = as_bh(_mm512_set1_epi32((int)a[r]));                         \
    c##r##0 = _mm512_dpbf16_ps(c##r##0, av, b0);                               \
    if (nv > 1)                                                                \
      c##r##1 = _mm512_dpbf16_ps(c##r##1, av, b1);                             \
    if (nv > 2)                                                                \
      c##r##2 = _mm512_dpbf16_ps(c##r##2, av, b2);                             \
  } while (0)
    ROW(0);
    ROW(1);
    ROW(2);
    ROW(3);
    ROW(4);
    ROW(5);
    ROW(6);
    ROW(7);
#undef ROW
    a += MR;
    b += bs;
  }
  __m512 t[8][3];
  NN_ACC8X3_SAVE(t);
  epilogue(m, t, c, ldc, p, mk, nv);
}

/* The hot block: 8 rows x 48 columns, epilogue from the registers with
 * `act` a compile-time constant. */
NN_INLINE void block8x48(size_t kp, const uint32_t *a, const uint32_t *b,
                         size_t bs, float *c, size_t ldc, const nn_post *p,
                         const int act) {
#define Z _mm512_setzero_ps()
  ACC_DECL;
#undef Z
  for (size_t q = 0; q < kp; q++) {
    __m512bh b0 = as_bh(_mm512_loadu_si512(b)),
             b1 = as_bh(_mm512_loadu_si512(b + 16)),
             b2 = as_bh(_mm512_loadu_si512(b + 32));
#define ROW(r)                                                                 \
  do {                                                                         \
    __m512bh av = as_bh(_mm512_set1_epi32((int)a[r]));                         \
    c##r##0 = _mm512_dpbf16_ps(c##r##0, av, b0);                               \
    c##r##1 = _mm512_dpbf16_ps(c##r##1, av, b1);                               \
    c##r##2 = _mm512_dpbf16_ps(c##r##2, av, b2);                               \
  } while (0)
    ROW(0);
    ROW(1);
    ROW(2);
    ROW(3);
    ROW(4);
    ROW(5);
    ROW(6);
    ROW(7);
#undef ROW
    a += MR;
    b += bs;
  }
  const float *res = p->res;
#define STORE(r)                                                               \
  do {                                                                         \
    post512 pr = post512_row(p, r);                                            \
    float *cr = c + r * ldc;                                                   \
    const float *rr = res ? res + r * p->ldr : NULL;                           \
    post512_store_act(&pr, act, c##r##0, cr, rr, 0xffff, 0);                   \
    post512_store_act(&pr, act, c##r##1, cr + 16, rr ? rr + 16 : NULL, 0xffff, \
                      0);                                                      \
    post512_store_act(&pr, act, c##r##2, cr + 32, rr ? rr + 32 : NULL, 0xffff, \
                      0);                                                      \
  } while (0)
  STORE(0);
  STORE(1);
  STORE(2);
  STORE(3);
  STORE(4);
  STORE(5);
  STORE(6);
  STORE(7);
#undef STORE
}

static void full8x48(size_t kp, const uint32_t *a, const uint32_t *b,
                     size_t bs, float *c, size_t ldc, const nn_post *p) {
  switch (p->act) {
  case NN_ACT_NONE:
    block8x48(kp, a, b, bs, c, ldc, p, NN_ACT_NONE);
    break;
  case NN_ACT_RELU:
    block8x48(kp, a, b, bs, c, ldc, p, NN_ACT_RELU);
    break;
  case NN_ACT_PRELU:
    block8x48(kp, a, b, bs, c, ldc, p, NN_ACT_PRELU);
    break;
  default:
    block8x48(kp, a, b, bs, c, ldc, p, p->act);
    break;
  }
}

/* Any other block: dispatch on rows and vectors so each is specialised. */
NN_INLINE void tail_rows(size_t m, size_t kp, const uint32_t *a,
                         const uint32_t *b, size_t bs, float *c, size_t ldc,
                         const nn_post *p, const __mmask16 *mk, int nv,
                         const int masked) {
  if (nv == 3)
    block(m, kp, a, b, bs, c, ldc, p, mk, 3, masked);
  else if (nv == 2)
    block(m, kp, a, b, bs, c, ldc, p, mk, 2, masked);
  else
    block(m, kp, a, b, bs, c, ldc, p, mk, 1, masked);
}

NN_INLINE void tail_any(size_t m, size_t kp, const uint32_t *a,
                        const uint32_t *b, size_t bs, float *c, size_t ldc,
                        const nn_post *p, size_t cols, const int masked) {
  const int nv = (int)((cols + 15) / 16);
  __mmask16 mk[3];
  for (size_t v = 0; v < 3; v++)
    mk[v] = cols > 16 * v ? tail_mask16(cols - 16 * v) : 0;
  switch (m) {
#define CASE(r)                                                                \
  case r:                                                                      \
    tail_rows(r, kp, a, b, bs, c, ldc, p, mk, nv, masked);                     \
    break;
    CASE(1)
    CASE(2)
    CASE(3)
    CASE(4)
    CASE(5)
    CASE(6)
    CASE(7)
#undef CASE
  default:
    tail_rows(MR, kp, a, b, bs, c, ldc, p, mk, nv, masked);
    break;
  }
}

static void tail(size_t m, size_t kp, const uint32_t *a, const uint32_t *b,
                 float *c, size_t ldc, const nn_post *p, size_t cols) {
  tail_any(m, kp, a, b, NB, c, ldc, p, cols, 0);
}

static void tail_direct(size_t m, size_t kp, const uint32_t *a,
                        const uint32_t *b, size_t bs, float *c, size_t ldc,
                        const nn_post *p, size_t cols) {
  tail_any(m, kp, a, b, bs, c, ldc, p, cols, 1);
}

/* A block one vector wide (the last <= 16 columns) over two row panels:
 * 16 accumulator chains instead of 8, so the dot products' latency is
 * hidden; each output sums its pairs in the same order as `block`. */
NN_INLINE void block16x16(size_t kp, const uint32_t *a0, const uint32_t *a1,
                          const uint32_t *b, size_t bs, float *c, size_t ldc,
                          const nn_post *p0, const nn_post *p1, __mmask16 mk,
                          const int masked) {
#define Z _mm512_setzero_ps()
  __m512 c00 = Z, c10 = Z, c20 = Z, c30 = Z, c40 = Z, c50 = Z, c60 = Z,
         c70 = Z;
  __m512 d00 = Z, d10 = Z, d20 = Z, d30 = Z, d40 = Z, d50 = Z, d60 = Z,
         d70 = Z;
#undef Z
  for (size_t q = 0; q < kp; q++) {
    __m512bh b0 = load_b(b, mk, masked);
#define ROW(r)                                                                 \
  do {                                                                         \
    c##r##0 =                                                                  \
        _mm512_dpbf16_ps(c##r##0, as_bh(_mm512_set1_epi32((int)a0[r])), b0);   \
    d##r##0 =                                                                  \
        _mm512_dpbf16_ps(d##r##0, as_bh(_mm512_set1_epi32((int)a1[r])), b0);   \
  } while (0)
    ROW(0);
    ROW(1);
    ROW(2);
    ROW(3);
    ROW(4);
    ROW(5);
    ROW(6);
    ROW(7);
#undef ROW
    a0 += MR;
    a1 += MR;
    b += bs;
  }
  const __mmask16 mks[3] = {mk, 0, 0};
  __m512 t[8][3];
#define SAVE(x, r) t[r][0] = x##r##0
  SAVE(c, 0), SAVE(c, 1), SAVE(c, 2), SAVE(c, 3);
  SAVE(c, 4), SAVE(c, 5), SAVE(c, 6), SAVE(c, 7);
  epilogue(MR, t, c, ldc, p0, mks, 1);
  SAVE(d, 0), SAVE(d, 1), SAVE(d, 2), SAVE(d, 3);
  SAVE(d, 4), SAVE(d, 5), SAVE(d, 6), SAVE(d, 7);
#undef SAVE
  epilogue(MR, t, c + MR * ldc, ldc, p1, mks, 1);
}

static void tail16x16(size_t kp, const uint32_t *a0, const uint32_t *a1,
                      const uint32_t *b, size_t bs, float *c, size_t ldc,
                      const nn_post *p0, const nn_post *p1, size_t cols,
                      int masked) {
  __mmask16 mk = tail_mask16(cols);
  if (masked)
    block16x16(kp, a0, a1, b, bs, c, ldc, p0, p1, mk, 1);
  else
    block16x16(kp, a0, a1, b, bs, c, ldc, p0, p1, mk, 0);
}

void nn_bf16_gemm_avx512(size_t m, size_t n, size_t k, const uint32_t *a,
                         const float *b, size_t ldb, const float *const *bp,
                         size_t boff, float *c, size_t ldc,
                         const nn_post *post, uint32_t *bbuf) {
  const brows s = {b, ldb, bp, boff};
  const size_t kp = (k + 1) / 2, panel = nn_bf16_panel_size(k);
  for (size_t j = 0; j < n; j += NB) {
    size_t cols = n - j < NB ? n - j : NB;
    pack_b(k, &s, j, cols, bbuf);
    for (size_t i = 0; i < m; i += MR) {
      size_t rows = m - i < MR ? m - i : MR;
      nn_post p = nn_post_at(post, i, j);
      const uint32_t *ap = a + i / MR * panel;
      if (rows == MR && cols == NB) {
        full8x48(kp, ap, bbuf, NB, c + i * ldc + j, ldc, &p);
      } else if (cols <= 16 && i + 2 * MR <= m) {
        nn_post p1 = nn_post_at(post, i + MR, j);
        tail16x16(kp, ap, ap + panel, bbuf, NB, c + i * ldc + j, ldc, &p, &p1,
                  cols, 0);
        i += MR;
      } else {
        tail(rows, kp, ap, bbuf, c + i * ldc + j, ldc, &p, cols);
      }
    }
  }
}

void nn_bf16_gemm_pairs_avx512(size_t m, size_t n, size_t k,
                               const uint32_t *a, const uint32_t *b,
                               size_t ldb, float *c, size_t ldc,
                               const nn_post *post) {
  const size_t kp = (k + 1) / 2, panel = nn_bf16_panel_size(k);
  for (size_t j = 0; j < n; j += NB) {
    size_t cols = n - j < NB ? n - j : NB;
    /* the next block's pair rows, as pack_b does for float32 B */
    if (j + NB < n)
      for (size_t q = 0; q < kp; q++)
        for (size_t l = 0; l < NB; l += 16)
          _mm_prefetch((const char *)(b + q * ldb + j + NB + l), _MM_HINT_T0);
    for (size_t i = 0; i < m; i += MR) {
      size_t rows = m - i < MR ? m - i : MR;
      nn_post p = nn_post_at(post, i, j);
      const uint32_t *ap = a + i / MR * panel;
      if (rows == MR && cols == NB) {
        full8x48(kp, ap, b + j, ldb, c + i * ldc + j, ldc, &p);
      } else if (cols <= 16 && i + 2 * MR <= m) {
        nn_post p1 = nn_post_at(post, i + MR, j);
        tail16x16(kp, ap, ap + panel, b + j, ldb, c + i * ldc + j, ldc, &p,
                  &p1, cols, 1);
        i += MR;
      } else {
        tail_direct(rows, kp, ap, b + j, ldb, c + i * ldc + j, ldc, &p, cols);
      }
    }
  }
}

void nn_bf16_pairs_avx512(const float *lo, const float *hi, uint32_t *dst,
                          size_t n) {
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m512 l = _mm512_loadu_ps(lo + i);
    __m512 h = hi ? _mm512_loadu_ps(hi + i) : _mm512_setzero_ps();
    _mm512_storeu_si512(dst + i, bf16_pairs16(l, h));
  }
  if (i < n) {
    __mmask16 m = tail_mask16(n - i);
    __m512 l = _mm512_maskz_loadu_ps(m, lo + i);
    __m512 h = hi ? _mm512_maskz_loadu_ps(m, hi + i) : _mm512_setzero_ps();
    _mm512_mask_storeu_epi32(dst + i, m, bf16_pairs16(l, h));
  }
}
#endif
