/* AVX2/FMA GEMM panel kernel: 6 rows x 16 columns (two ymm) per register
 * block (12 accumulators, 2 B vectors and a broadcast: 15 of 16 registers).
 * Column tails use vmaskmov loads and stores. */
#if defined(__AVX2__) && defined(__FMA__)
#include "post_avx2.h"

#define MR NN_GEMM_MR_AVX2

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

NN_INLINE bsrc badv(bsrc s, size_t j) {
  if (s.b) /* NULL in indirect mode */
    s.b += j;
  s.off += j;
  return s;
}

NN_INLINE void block6(size_t m, size_t k, const float *a, bsrc bs, int ind,
                      float *c, size_t ldc, const nn_post *p, __m256i m0,
                      __m256i m1, int two, int masked) {
  __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
  __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
  __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
  __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
  __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
  __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
  for (size_t kk = 0; kk < k; kk++) {
    __m256 b0, b1 = _mm256_setzero_ps();
    const float *b = brow(bs, kk, ind);
    if (masked) {
      b0 = _mm256_maskload_ps(b, m0);
      if (two)
        b1 = _mm256_maskload_ps(b + 8, m1);
    } else {
      b0 = _mm256_loadu_ps(b);
      if (two)
        b1 = _mm256_loadu_ps(b + 8);
    }
#define ROW(r)                                                                 \
  do {                                                                         \
    if (r >= m)                                                                \
      break;                                                                   \
    __m256 av = _mm256_broadcast_ss(a + r);                                    \
    c##r##0 = _mm256_fmadd_ps(av, b0, c##r##0);                                \
    if (two)                                                                   \
      c##r##1 = _mm256_fmadd_ps(av, b1, c##r##1);                              \
  } while (0)
    ROW(0);
    ROW(1);
    ROW(2);
    ROW(3);
    ROW(4);
    ROW(5);
#undef ROW
    a += MR;
  }
  const float *res = p->res;
#define STORE(r)                                                               \
  do {                                                                         \
    if (r < m) {                                                               \
      post256 pr = post256_row(p, r);                                          \
      float *cr = c + r * ldc;                                                 \
      const float *rr = res ? res + r * p->ldr : NULL;                         \
      post256_store(&pr, c##r##0, cr, rr, m0, masked);                         \
      if (two)                                                                 \
        post256_store(&pr, c##r##1, cr + 8, rr ? rr + 8 : NULL, m1, masked);   \
    }                                                                          \
  } while (0)
  STORE(0);
  STORE(1);
  STORE(2);
  STORE(3);
  STORE(4);
  STORE(5);
#undef STORE
}

/* All columns of one panel of `m` rows (a constant after inlining). */
NN_INLINE void panel(size_t m, size_t n, size_t k, const float *a, bsrc bs,
                     int ind, float *c, size_t ldc, const nn_post *post) {
  const __m256i all = _mm256_set1_epi32(-1);
  size_t j = 0;
  nn_post p = *post;
  for (; j + 16 <= n; j += 16) {
    p.res = post->res ? post->res + j : NULL;
    block6(m, k, a, badv(bs, j), ind, c + j, ldc, &p, all, all, 1, 0);
  }
  if (j < n) {
    size_t r = n - j;
    p.res = post->res ? post->res + j : NULL;
    bs = badv(bs, j);
    if (r > 8)
      block6(m, k, a, bs, ind, c + j, ldc, &p, all, tail_mask8(r - 8), 1, 1);
    else if (r == 8)
      block6(m, k, a, bs, ind, c + j, ldc, &p, all, all, 0, 0);
    else
      block6(m, k, a, bs, ind, c + j, ldc, &p, tail_mask8(r), all, 0, 1);
  }
}

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
#undef CASE
  default:
    panel(MR, n, k, a, bs, ind, c, ldc, post);
    break;
  }
}

void nn_f32_gemm_avx2(size_t m, size_t n, size_t k, const float *a,
                      const float *b, size_t ldb, float *c, size_t ldc,
                      const nn_post *post) {
  bsrc bs = {b, ldb, NULL, 0};
  rows(m, n, k, a, bs, 0, c, ldc, post);
}

void nn_f32_igemm_avx2(size_t m, size_t n, size_t k, const float *a,
                       const float *const *b, size_t boff, float *c,
                       size_t ldc, const nn_post *post) {
  bsrc bs = {NULL, 0, b, boff};
  rows(m, n, k, a, bs, 1, c, ldc, post);
}
#endif
