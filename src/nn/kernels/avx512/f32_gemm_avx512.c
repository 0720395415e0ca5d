/* AVX-512 GEMM panel kernel: 8 rows x 48 columns (three zmm) per register
 * block, weights broadcast from the packed panel, B loaded row by row.
 * Column tails use masked loads and stores. */
#if defined(__AVX512F__)
#include "post_avx512.h"

#define MR NN_GEMM_MR_AVX512

/* Where row kk of B is: b + kk*ldb (direct), or bp[kk] + off (indirect:
 * nn_igemm_fn). `ind` is a constant after inlining. */
typedef struct bsrc {
  const float *b;
  size_t ldb;
  const float *const *bp;
  size_t off;
} bsrc;

NN_INLINE const float *brow(bsrc s, size_t kk, int ind) {
  return ind ? s.bp[kk] + s.off : s.b + kk * s.ldb;
}

/* The same source moved right by j columns. */
NN_INLINE bsrc badv(bsrc s, size_t j) {
  if (s.b) /* NULL in indirect mode */
    s.b += j;
  s.off += j;
  return s;
}

/* Stores rows [0, m) of a block's accumulators with the epilogue; `act`
 * and `masked` are constants after inlining. */
NN_INLINE void epilogue_body(size_t m, __m512 t[8][3], float *c, size_t ldc,
                             const nn_post *p, const __mmask16 *mk, int nv,
                             const int masked, const int act) {
  for (size_t r = 0; r < m; r++) {
    post512 pr = post512_row(p, r);
    float *cr = c + r * ldc;
    const float *rr = p->res ? p->res + r * p->ldr : NULL;
    for (int v = 0; v < nv; v++)
      post512_store_act(&pr, act, t[r][v], cr + 16 * v,
                        rr ? rr + 16 * v : NULL, masked ? mk[v] : 0xffff,
                        masked);
  }
}

static __attribute__((noinline)) void epilogue(size_t m, __m512 t[8][3],
                                               float *c, size_t ldc,
                                               const nn_post *p, __mmask16 m0,
                                               __mmask16 m1, __mmask16 m2,
                                               int nv, int masked) {
  const __mmask16 mk[3] = {m0, m1, m2};
#define EPI(act)                                                               \
  do {                                                                         \
    if (masked)                                                                \
      epilogue_body(m, t, c, ldc, p, mk, nv, 1, act);                          \
    else                                                                       \
      epilogue_body(m, t, c, ldc, p, mk, nv, 0, act);                          \
  } while (0)
  switch (p->act) {
  case NN_ACT_NONE:
    EPI(NN_ACT_NONE);
    break;
  case NN_ACT_RELU:
    EPI(NN_ACT_RELU);
    break;
  case NN_ACT_PRELU:
    EPI(NN_ACT_PRELU);
    break;
  case NN_ACT_CLIP:
    EPI(NN_ACT_CLIP);
    break;
  default:
    EPI(p->act);
    break;
  }
#undef EPI
}

/* One block of `m` (1..8) rows x `nv` (1..3) vectors of 16 columns.
 * `m`, `nv` and `masked` (masked loads/stores with m0..m2) are constants
 * after inlining, so each call site compiles to a specialised loop without
 * the FMAs of absent rows or vectors. Three vectors per broadcast matter on
 * CPUs (Zen 4) where a zmm broadcast costs as much as two FMAs. */
NN_INLINE void block8(size_t m, size_t k, const float *a, bsrc bs, int ind,
                      float *c, size_t ldc, const nn_post *p, __mmask16 m0,
                      __mmask16 m1, __mmask16 m2, int nv, int masked) {
#define Z _mm512_setzero_ps()
  __m512 c00 = Z, c01 = Z, c02 = Z, c10 = Z, c11 = Z, c12 = Z;
  __m512 c20 = Z, c21 = Z, c22 = Z, c30 = Z, c31 = Z, c32 = Z;
  __m512 c40 = Z, c41 = Z, c42 = Z, c50 = Z, c51 = Z, c52 = Z;
  __m512 c60 = Z, c61 = Z, c62 = Z, c70 = Z, c71 = Z, c72 = Z;
#undef Z
  for (size_t kk = 0; kk < k; kk++) {
    __m512 b0, b1 = _mm512_setzero_ps(), b2 = _mm512_setzero_ps();
    const float *b = brow(bs, kk, ind);
    if (masked) {
      b0 = _mm512_maskz_loadu_ps(m0, b);
      if (nv > 1)
        b1 = _mm512_maskz_loadu_ps(m1, b + 16);
      if (nv > 2)
        b2 = _mm512_maskz_loadu_ps(m2, b + 32);
    } else {
      b0 = _mm512_loadu_ps(b);
      if (nv > 1)
        b1 = _mm512_loadu_ps(b + 16);
      if (nv > 2)
        b2 = _mm512_loadu_ps(b + 32);
    }
#define ROW(r)                                                                 \
  do {                                                                         \
    if (r >= m)                                                                \
      break;                                                                   \
    __m512 av = _mm512_set1_ps(a[r]);                                          \
    c##r##0 = _mm512_fmadd_ps(av, b0, c##r##0);                                \
    if (nv > 1)                                                                \
      c##r##1 = _mm512_fmadd_ps(av, b1, c##r##1);                              \
    if (nv > 2)                                                                \
      c##r##2 = _mm512_fmadd_ps(av, b2, c##r##2);                              \
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
  }
  /* The epilogue reads the accumulators back from a tile in L1: keeping
   * its code away from the loop's live registers avoids spills inside the
   * loop (GCC otherwise spills half the accumulators). */
  __m512 t[8][3];
#define SAVE(r)                                                                \
  do {                                                                         \
    t[r][0] = c##r##0;                                                         \
    t[r][1] = c##r##1;                                                         \
    t[r][2] = c##r##2;                                                         \
  } while (0)
  SAVE(0);
  SAVE(1);
  SAVE(2);
  SAVE(3);
  SAVE(4);
  SAVE(5);
  SAVE(6);
  SAVE(7);
#undef SAVE
  epilogue(m, t, c, ldc, p, m0, m1, m2, nv, masked);
}

/* The hot block: 8 full rows x 48 columns, unmasked, with the epilogue
 * applied straight from the registers (`act` is a constant after
 * inlining, which keeps the code after the loop simple enough for the
 * accumulators to stay in registers). */
NN_INLINE void block8x48(size_t k, const float *a, bsrc bs, int ind,
                         float *c, size_t ldc, const nn_post *p,
                         const int act) {
#define Z _mm512_setzero_ps()
  __m512 c00 = Z, c01 = Z, c02 = Z, c10 = Z, c11 = Z, c12 = Z;
  __m512 c20 = Z, c21 = Z, c22 = Z, c30 = Z, c31 = Z, c32 = Z;
  __m512 c40 = Z, c41 = Z, c42 = Z, c50 = Z, c51 = Z, c52 = Z;
  __m512 c60 = Z, c61 = Z, c62 = Z, c70 = Z, c71 = Z, c72 = Z;
#undef Z
  for (size_t kk = 0; kk < k; kk++) {
    const float *b = brow(bs, kk, ind);
    __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16),
           b2 = _mm512_loadu_ps(b + 32);
#define ROW(r)                                                                 \
  do {                                                                         \
    __m512 av = _mm512_set1_ps(a[r]);                                          \
    c##r##0 = _mm512_fmadd_ps(av, b0, c##r##0);                                \
    c##r##1 = _mm512_fmadd_ps(av, b1, c##r##1);                                \
    c##r##2 = _mm512_fmadd_ps(av, b2, c##r##2);                                \
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

/* Full 48-column blocks of a full panel for one activation. */
NN_INLINE size_t full_blocks(size_t n, size_t k, const float *a, bsrc bs,
                             int ind, float *c, size_t ldc,
                             const nn_post *post, const int act) {
  size_t j = 0;
  nn_post p = *post;
  for (; j + 48 <= n; j += 48) {
    p.res = post->res ? post->res + j : NULL;
    block8x48(k, a, badv(bs, j), ind, c + j, ldc, &p, act);
  }
  return j;
}

NN_INLINE size_t full_blocks_any(size_t n, size_t k, const float *a, bsrc bs,
                                 int ind, float *c, size_t ldc,
                                 const nn_post *post) {
  switch (post->act) {
  case NN_ACT_NONE:
    return full_blocks(n, k, a, bs, ind, c, ldc, post, NN_ACT_NONE);
  case NN_ACT_RELU:
    return full_blocks(n, k, a, bs, ind, c, ldc, post, NN_ACT_RELU);
  case NN_ACT_PRELU:
    return full_blocks(n, k, a, bs, ind, c, ldc, post, NN_ACT_PRELU);
  default:
    return full_blocks(n, k, a, bs, ind, c, ldc, post, post->act);
  }
}

/* 1 to 8 columns (down to a matrix-vector product): the 8 rows of the
 * panel fill the lanes of a ymm, with one accumulator per column and per k
 * phase (`ph` phases hide the FMA latency when there are few columns). The
 * epilogue runs on the few results in scalar code. */
NN_INLINE void narrow(size_t m, size_t nc, size_t k, const float *a,
                      bsrc bs, int ind, float *c, size_t ldc,
                      const nn_post *p) {
  const size_t ph = nc <= 2 ? 4 : 2;
  __m256 acc[4][8];
#pragma GCC unroll 4
  for (size_t u = 0; u < 4; u++)
#pragma GCC unroll 8
    for (size_t j = 0; j < 8; j++)
      acc[u][j] = _mm256_setzero_ps();
  size_t kk = 0;
  for (; kk + ph <= k; kk += ph) {
#pragma GCC unroll 4
    for (size_t u = 0; u < ph; u++) {
      __m256 av = _mm256_loadu_ps(a + (kk + u) * MR);
      const float *br = brow(bs, kk + u, ind);
#pragma GCC unroll 8
      for (size_t j = 0; j < nc; j++)
        acc[u][j] = _mm256_fmadd_ps(av, _mm256_broadcast_ss(br + j), acc[u][j]);
    }
  }
  for (; kk < k; kk++) {
    __m256 av = _mm256_loadu_ps(a + kk * MR);
    const float *br = brow(bs, kk, ind);
#pragma GCC unroll 8
    for (size_t j = 0; j < nc; j++)
      acc[0][j] = _mm256_fmadd_ps(av, _mm256_broadcast_ss(br + j), acc[0][j]);
  }
  float t[8][8];
#pragma GCC unroll 8
  for (size_t j = 0; j < nc; j++) {
    __m256 s = acc[0][j];
#pragma GCC unroll 4
    for (size_t u = 1; u < ph; u++)
      s = _mm256_add_ps(s, acc[u][j]);
    _mm256_storeu_ps(t[j], s);
  }
  for (size_t i = 0; i < m; i++)
    for (size_t j = 0; j < nc; j++)
      c[i * ldc + j] = nn_post_apply(p, i, t[j][i],
                                     p->res ? p->res + i * p->ldr + j : NULL);
}

/* All columns of one panel of `m` rows: blocks of 48 columns, then the
 * tail as one masked block of 1-3 vectors, or the narrow kernel for up to 8
 * columns, so that e.g. 49 columns (7x7 pixels) cost 48 + 1. */
NN_INLINE void panel(size_t m, size_t n, size_t k, const float *a, bsrc bs,
                     int ind, float *c, size_t ldc, const nn_post *post) {
  size_t j = 0;
  nn_post p = *post;
  const __mmask16 all = 0xffff;
  if (m == MR)
    j = full_blocks_any(n, k, a, bs, ind, c, ldc, post);
  for (; j + 48 <= n; j += 48) {
    p.res = post->res ? post->res + j : NULL;
    block8(m, k, a, badv(bs, j), ind, c + j, ldc, &p, all, all, all, 3, 0);
  }
  if (j == n)
    return;
  size_t r = n - j;
  p.res = post->res ? post->res + j : NULL;
  bs = badv(bs, j);
  c += j;
  if (r > 32)
    block8(m, k, a, bs, ind, c, ldc, &p, all, all, tail_mask16(r - 32), 3, 1);
  else if (r == 32)
    block8(m, k, a, bs, ind, c, ldc, &p, all, all, all, 2, 0);
  else if (r > 16)
    block8(m, k, a, bs, ind, c, ldc, &p, all, tail_mask16(r - 16), all, 2, 1);
  else if (r == 16)
    block8(m, k, a, bs, ind, c, ldc, &p, all, all, all, 1, 0);
  else if (r > 8)
    block8(m, k, a, bs, ind, c, ldc, &p, tail_mask16(r), all, all, 1, 1);
  else
    switch (r) {
#define NARROW(q)                                                              \
  case q:                                                                      \
    narrow(m, q, k, a, bs, ind, c, ldc, &p);                                   \
    break;
      NARROW(8)
      NARROW(7)
      NARROW(6)
      NARROW(5)
      NARROW(4)
      NARROW(3)
      NARROW(2)
#undef NARROW
    default:
      narrow(m, 1, k, a, bs, ind, c, ldc, &p);
      break;
    }
}

/* Dispatches on the row count so that each panel() is specialised. */
NN_INLINE void rows(size_t m, size_t n, size_t k, const float *a, bsrc bs,
                    int ind, float *c, size_t ldc, const nn_post *post) {
  switch (m) {
#define CASE(r)                                                                \
  case r:                                                                      \
    panel(r, n, k, a, bs, ind, c, ldc, post);                                  \
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
    panel(MR, n, k, a, bs, ind, c, ldc, post);
    break;
  }
}

void nn_f32_gemm_avx512(size_t m, size_t n, size_t k, const float *a,
                        const float *b, size_t ldb, float *c, size_t ldc,
                        const nn_post *post) {
  bsrc bs = {b, ldb, NULL, 0};
  rows(m, n, k, a, bs, 0, c, ldc, post);
}

void nn_f32_igemm_avx512(size_t m, size_t n, size_t k, const float *a,
                         const float *const *b, size_t boff, float *c,
                         size_t ldc, const nn_post *post) {
  bsrc bs = {NULL, 0, b, boff};
  rows(m, n, k, a, bs, 1, c, ldc, post);
}
#endif
