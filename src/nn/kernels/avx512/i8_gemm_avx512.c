/* AVX-512 VNNI INT8 GEMM (kernels.h, nn_i8_gemm_fn). Each block of 48
 * columns of B is quantised once to uint8 quads (four k rows per 32-bit
 * lane, the layout VPDPBUSD multiplies with four int8 of a weight row):
 * one pass finds the block's range, a second scales, rounds and packs
 * (saturating packs then one byte shuffle per 16 columns). Every 8-row
 * panel of A then runs over the block from L1: 8 rows x 3 zmm of int32
 * accumulators, one broadcast of four weights per row and quad. The
 * epilogue turns each sum into float32 with the zero-point correction and
 * the two scales, then applies post. Compiled with -mavx512vnni
 * (CMakeLists.txt). */
#if defined(__AVX512VNNI__)
#include "post_avx512.h"

#define MR NN_I8_MR
#define NB NN_I8_NB
/* Prefetch distance in columns (as in bf16_gemm_avx512.c). */
#define PF (2 * NB)

typedef struct brows {
  const float *b;
  size_t ldb;
  const float *const *bp;
  size_t off;
} brows;

NN_INLINE const float *brow(const brows *s, size_t kk) {
  return s->bp ? s->bp[kk] + s->off : s->b + kk * s->ldb;
}

/* Sixteen columns of four rows (rounded int32 values v) as uint8 quads:
 * lane j = u0[j] | u1[j] << 8 | u2[j] << 16 | u3[j] << 24 with
 * u = clamp(v + zp, 0, 255). The zero point is added after the first
 * (saturating) pack, in 16 bits: the same values, as |v| <= 32767 - 255
 * unless v is CVTPS2DQ's INT32_MIN, which gives 0 either way. */
NN_INLINE __m512i quads16(__m512i u0, __m512i u1, __m512i u2, __m512i u3,
                          __m512i zp16) {
  /* per 128-bit lane l: bytes u0[4l..4l+3], u1[..], u2[..], u3[..] */
  __m512i p = _mm512_packus_epi16(
      _mm512_adds_epi16(_mm512_packs_epi32(u0, u1), zp16),
      _mm512_adds_epi16(_mm512_packs_epi32(u2, u3), zp16));
  const __m512i idx = _mm512_broadcast_i32x4(
      _mm_setr_epi8(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15));
  return _mm512_shuffle_epi8(p, idx);
}

/* Quantises columns [j, j + cols) (cols <= 48) of B into dst (quad q,
 * vector v at dst + q*48 + 16*v); returns the block's quantisation. */
static nn_i8_q pack_b(size_t k, const brows *s, size_t j, size_t cols,
                      uint32_t *dst) {
  const size_t nv = (cols + 15) / 16, kq = (k + 3) / 4;
  __mmask16 mk[3];
  for (size_t v = 0; v < 3; v++)
    mk[v] = cols > 16 * v ? tail_mask16(cols - 16 * v) : 0;
  /* three min and max chains (one per vector): their latency, not the
   * loads, bounds this pass */
  __m512 lo0 = _mm512_setzero_ps(), lo1 = lo0, lo2 = lo0, hi0 = lo0,
         hi1 = lo0, hi2 = lo0;
  for (size_t kk = 0; kk < k; kk++) {
    const float *r = brow(s, kk) + j;
    for (size_t l = 0; l < NB; l += 16)
      _mm_prefetch((const char *)(r + PF + l), _MM_HINT_T0);
    /* a NaN keeps the old bound (the second operand) */
    __m512 x0 = _mm512_maskz_loadu_ps(mk[0], r);
    lo0 = _mm512_min_ps(x0, lo0);
    hi0 = _mm512_max_ps(x0, hi0);
    if (nv > 1) {
      __m512 x1 = _mm512_maskz_loadu_ps(mk[1], r + 16);
      lo1 = _mm512_min_ps(x1, lo1);
      hi1 = _mm512_max_ps(x1, hi1);
    }
    if (nv > 2) {
      __m512 x2 = _mm512_maskz_loadu_ps(mk[2], r + 32);
      lo2 = _mm512_min_ps(x2, lo2);
      hi2 = _mm512_max_ps(x2, hi2);
    }
  }
  nn_i8_q q = nn_i8_block_q(
      _mm512_reduce_min_ps(_mm512_min_ps(_mm512_min_ps(lo0, lo1), lo2)),
      _mm512_reduce_max_ps(_mm512_max_ps(_mm512_max_ps(hi0, hi1), hi2)));
  const __m512 inv = _mm512_set1_ps(q.inv);
  const __m512i zp16 = _mm512_set1_epi16((short)q.zp);
  const size_t kfull = k / 4;
#define U(t, v, m)                                                             \
  _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_maskz_loadu_ps(m, r##t + 16 * v), inv))
  for (size_t qq = 0; qq < kfull; qq++) {
    const float *r0 = brow(s, 4 * qq) + j, *r1 = brow(s, 4 * qq + 1) + j,
                *r2 = brow(s, 4 * qq + 2) + j, *r3 = brow(s, 4 * qq + 3) + j;
    uint32_t *d = dst + qq * NB;
    if (cols == NB) {
#pragma GCC unroll 3
      for (size_t v = 0; v < 3; v++)
        _mm512_storeu_si512(d + 16 * v,
                            quads16(U(0, v, 0xffff), U(1, v, 0xffff),
                                    U(2, v, 0xffff), U(3, v, 0xffff), zp16));
      continue;
    }
    for (size_t v = 0; v < nv; v++)
      _mm512_storeu_si512(d + 16 * v,
                          quads16(U(0, v, mk[v]), U(1, v, mk[v]),
                                  U(2, v, mk[v]), U(3, v, mk[v]), zp16));
  }
#undef U
  if (kfull < kq) { /* the last 1..3 rows; the missing ones read as 0 */
    const float *r[4];
    for (size_t t = 0; t < 4; t++)
      r[t] = 4 * kfull + t < k ? brow(s, 4 * kfull + t) + j : NULL;
    uint32_t *d = dst + kfull * NB;
    for (size_t v = 0; v < nv; v++) {
      __m512i u[4];
      for (size_t t = 0; t < 4; t++) {
        __m512 x = r[t] ? _mm512_maskz_loadu_ps(mk[v], r[t] + 16 * v)
                        : _mm512_setzero_ps();
        u[t] = _mm512_cvtps_epi32(_mm512_mul_ps(x, inv));
      }
      _mm512_storeu_si512(d + 16 * v, quads16(u[0], u[1], u[2], u[3], zp16));
    }
  }
  return q;
}

/* Stores rows [0, m) of a block: int32 sums to float32 (zero-point
 * correction, scales), then post with `act` a compile-time constant; masked
 * (mk) over nv vectors. */
NN_INLINE void epilogue_act(size_t m, __m512i t[8][3], const uint32_t *pa,
                            const nn_i8_q *q, float *c, size_t ldc,
                            const nn_post *p, const __mmask16 *mk,
                            const int nv, const int masked, const int act) {
  const float *sa = (const float *)(const void *)pa;
  const int32_t *rs = (const int32_t *)(const void *)(pa + MR);
  for (size_t r = 0; r < m; r++) {
    post512 pr = post512_row(p, r);
    float scr = sa[r] * q->scale;
    const __m512 sc = _mm512_set1_ps(scr);
    const __m512 off = _mm512_set1_ps(nn_i8_offset(p, r, q->zp * rs[r], scr));
    float *cr = c + r * ldc;
    const float *rr = p->res ? p->res + r * p->ldr : NULL;
    for (int v = 0; v < nv; v++) {
      __m512 y = _mm512_fmadd_ps(_mm512_cvtepi32_ps(t[r][v]), sc, off);
      post512_apply(&pr, act, y, cr + 16 * v, rr ? rr + 16 * v : NULL, mk[v],
                    masked, 0);
    }
  }
}

/* Out of line, so that the block's loop keeps its accumulators in
 * registers (as in f32_gemm_avx512.c). */
static __attribute__((noinline)) void epilogue(size_t m, __m512i t[8][3],
                                               const uint32_t *pa,
                                               const nn_i8_q *q, float *c,
                                               size_t ldc, const nn_post *p,
                                               const __mmask16 *mk, int nv) {
  /* a whole block (8 rows, 48 columns) unmasked, with the models' usual
   * activations as constants; anything else through the general loop */
  if (m == MR && nv == 3 && mk[0] == 0xffff && mk[1] == 0xffff &&
      mk[2] == 0xffff) {
    if (p->act == NN_ACT_RELU)
      epilogue_act(MR, t, pa, q, c, ldc, p, mk, 3, 0, NN_ACT_RELU);
    else if (p->act == NN_ACT_NONE)
      epilogue_act(MR, t, pa, q, c, ldc, p, mk, 3, 0, NN_ACT_NONE);
    else if (p->act == NN_ACT_PRELU)
      epilogue_act(MR, t, pa, q, c, ldc, p, mk, 3, 0, NN_ACT_PRELU);
    else
      epilogue_act(MR, t, pa, q, c, ldc, p, mk, 3, 0, p->act);
    return;
  }
  epilogue_act(m, t, pa, q, c, ldc, p, mk, nv, 1, p->act);
}

/* One block: `m` (1..8) rows x `nv` (1..3) vectors of 16 columns,
 * compile-time constants after inlining. */
NN_INLINE void block(size_t m, size_t kq, const uint32_t *pa,
                     const uint32_t *b, const nn_i8_q *q, float *c,
                     size_t ldc, const nn_post *p, const __mmask16 *mk,
                     const int nv) {
  const __m512i z = _mm512_setzero_si512();
  NN_ACC8X3_DECL(__m512i, z);
  const uint32_t *a = pa + 2 * MR;
  for (size_t qq = 0; qq < kq; qq++) {
    __m512i b0 = _mm512_loadu_si512(b), b1 = b0, b2 = b0;
    if (nv > 1)
      b1 = _mm512_loadu_si512(b + 16);
    if (nv > 2)
      b2 = _mm512_loadu_si512(b + 32);
#define ROW(r)                                                                 \
  do {                                                                         \
    if (r >= m)                                                                \
      break;                                                                   \
    __m512i av = _mm512_set1_epi32((int)a[r]);                                 \
    c##r##0 = _mm512_dpbusd_epi32(c##r##0, b0, av);                            \
    if (nv > 1)                                                                \
      c##r##1 = _mm512_dpbusd_epi32(c##r##1, b1, av);                          \
    if (nv > 2)                                                                \
      c##r##2 = _mm512_dpbusd_epi32(c##r##2, b2, av);                          \
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
    b += NB;
  }
  __m512i t[8][3];
  NN_ACC8X3_SAVE(t);
  epilogue(m, t, pa, q, c, ldc, p, mk, nv);
}

/* The hot block. (Its epilogue stays out of line, as in `block`: inlined
 * from the registers, GCC 12 copied the accumulators to the stack on every
 * quad.) */
static void full8x48(size_t kq, const uint32_t *pa, const uint32_t *b,
                     const nn_i8_q *q, float *c, size_t ldc,
                     const nn_post *p) {
  const __mmask16 mk[3] = {0xffff, 0xffff, 0xffff};
  block(MR, kq, pa, b, q, c, ldc, p, mk, 3);
}

NN_INLINE void tail_rows(size_t m, size_t kq, const uint32_t *pa,
                         const uint32_t *b, const nn_i8_q *q, float *c,
                         size_t ldc, const nn_post *p, const __mmask16 *mk,
                         int nv) {
  if (nv == 3)
    block(m, kq, pa, b, q, c, ldc, p, mk, 3);
  else if (nv == 2)
    block(m, kq, pa, b, q, c, ldc, p, mk, 2);
  else
    block(m, kq, pa, b, q, c, ldc, p, mk, 1);
}

static void tail(size_t m, size_t kq, const uint32_t *pa, const uint32_t *b,
                 const nn_i8_q *q, float *c, size_t ldc, const nn_post *p,
                 size_t cols) {
  const int nv = (int)((cols + 15) / 16);
  __mmask16 mk[3];
  for (size_t v = 0; v < 3; v++)
    mk[v] = cols > 16 * v ? tail_mask16(cols - 16 * v) : 0;
  switch (m) {
#define CASE(r)                                                                \
  case r:                                                                      \
    tail_rows(r, kq, pa, b, q, c, ldc, p, mk, nv);                             \
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
    tail_rows(MR, kq, pa, b, q, c, ldc, p, mk, nv);
    break;
  }
}

void nn_i8_gemm_avx512(size_t m, size_t n, size_t k, const uint32_t *a,
                       const float *b, size_t ldb, const float *const *bp,
                       size_t boff, float *c, size_t ldc, const nn_post *post,
                       uint32_t *bbuf) {
  const brows s = {b, ldb, bp, boff};
  const size_t kq = (k + 3) / 4, panel = nn_i8_panel_size(k);
  for (size_t j = 0; j < n; j += NB) {
    size_t cols = n - j < NB ? n - j : NB;
    nn_i8_q q = pack_b(k, &s, j, cols, bbuf);
    for (size_t i = 0; i < m; i += MR) {
      size_t rows = m - i < MR ? m - i : MR;
      nn_post p = nn_post_at(post, i, j);
      const uint32_t *pa = a + i / MR * panel;
      if (rows == MR && cols == NB)
        full8x48(kq, pa, bbuf, &q, c + i * ldc + j, ldc, &p);
      else
        tail(rows, kq, pa, bbuf, &q, c + i * ldc + j, ldc, &p, cols);
    }
  }
}
#endif
