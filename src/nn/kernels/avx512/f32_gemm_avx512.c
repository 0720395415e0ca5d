/* AVX-512 GEMM panel kernel: 8 rows x 32 columns (two zmm) per register
 * block, weights broadcast from the packed panel, B loaded row by row.
 * Column tails use masked loads and stores. */
#if defined(__AVX512F__)
#include "post_avx512.h"

#define MR NN_GEMM_MR_AVX512

/* One block of `m` (1..8) rows x (16 or 32) columns. `m`, `two` (the
 * second vector) and `masked` (masked loads/stores) are constants after
 * inlining, so each call site compiles to a specialised loop without the
 * FMAs of absent rows. */
NN_INLINE void block8(size_t m, size_t k, const float *a, const float *b,
                      size_t ldb, float *c, size_t ldc, const nn_post *p,
                      __mmask16 m0, __mmask16 m1, int two, int masked) {
  __m512 c00 = _mm512_setzero_ps(), c01 = _mm512_setzero_ps();
  __m512 c10 = _mm512_setzero_ps(), c11 = _mm512_setzero_ps();
  __m512 c20 = _mm512_setzero_ps(), c21 = _mm512_setzero_ps();
  __m512 c30 = _mm512_setzero_ps(), c31 = _mm512_setzero_ps();
  __m512 c40 = _mm512_setzero_ps(), c41 = _mm512_setzero_ps();
  __m512 c50 = _mm512_setzero_ps(), c51 = _mm512_setzero_ps();
  __m512 c60 = _mm512_setzero_ps(), c61 = _mm512_setzero_ps();
  __m512 c70 = _mm512_setzero_ps(), c71 = _mm512_setzero_ps();
  for (size_t kk = 0; kk < k; kk++) {
    __m512 b0, b1 = _mm512_setzero_ps();
    if (masked) {
      b0 = _mm512_maskz_loadu_ps(m0, b);
      if (two)
        b1 = _mm512_maskz_loadu_ps(m1, b + 16);
    } else {
      b0 = _mm512_loadu_ps(b);
      if (two)
        b1 = _mm512_loadu_ps(b + 16);
    }
    b += ldb;
#define ROW(r)                                                                 \
  do {                                                                         \
    if (r >= m)                                                                \
      break;                                                                   \
    __m512 av = _mm512_set1_ps(a[r]);                                          \
    c##r##0 = _mm512_fmadd_ps(av, b0, c##r##0);                                \
    if (two)                                                                   \
      c##r##1 = _mm512_fmadd_ps(av, b1, c##r##1);                              \
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
    if (r < m) {                                                               \
      post512 pr = post512_row(p, r);                                          \
      float *cr = c + r * ldc;                                                 \
      const float *rr = res ? res + r * p->ldr : NULL;                         \
      post512_store(&pr, c##r##0, cr, rr, m0, masked);                         \
      if (two)                                                                 \
        post512_store(&pr, c##r##1, cr + 16, rr ? rr + 16 : NULL, m1,          \
                      masked);                                                 \
    }                                                                          \
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

/* All columns of one panel of `m` rows. */
NN_INLINE void panel(size_t m, size_t n, size_t k, const float *a,
                     const float *b, size_t ldb, float *c, size_t ldc,
                     const nn_post *post) {
  size_t j = 0;
  for (; j + 32 <= n; j += 32) {
    nn_post p = *post;
    if (p.res)
      p.res += j;
    block8(m, k, a, b + j, ldb, c + j, ldc, &p, 0xffff, 0xffff, 1, 0);
  }
  if (j < n) {
    size_t r = n - j;
    nn_post p = *post;
    if (p.res)
      p.res += j;
    if (r > 16)
      block8(m, k, a, b + j, ldb, c + j, ldc, &p, 0xffff,
             tail_mask16(r - 16), 1, 1);
    else if (r == 16)
      block8(m, k, a, b + j, ldb, c + j, ldc, &p, 0xffff, 0, 0, 0);
    else
      block8(m, k, a, b + j, ldb, c + j, ldc, &p, tail_mask16(r), 0, 0, 1);
  }
}

void nn_f32_gemm_avx512(size_t m, size_t n, size_t k, const float *a,
                        const float *b, size_t ldb, float *c, size_t ldc,
                        const nn_post *post) {
  switch (m) {
#define CASE(r)                                                                \
  case r:                                                                      \
    panel(r, n, k, a, b, ldb, c, ldc, post);                                   \
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
    panel(MR, n, k, a, b, ldb, c, ldc, post);
    break;
  }
}
#endif
