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
  /* the eight rows' scales sa * sb and additive terms (nn_i8_offset's
   * bias - (float)(zp * sum) * sc, the same operations in the same order),
   * computed together; each row then broadcasts its own */
  const __m256 sc8 =
      _mm256_mul_ps(_mm256_loadu_ps((const float *)(const void *)pa),
                    _mm256_set1_ps(q->scale));
  const __m256 corr = _mm256_mul_ps(
      _mm256_cvtepi32_ps(_mm256_mullo_epi32(
          _mm256_loadu_si256((const __m256i *)(const void *)(pa + MR)),
          _mm256_set1_epi32(q->zp))),
      sc8);
  const __m256 bias8 =
      p->bias ? _mm256_maskz_loadu_ps((__mmask8)((1u << m) - 1u), p->bias)
              : _mm256_setzero_ps();
  float scv[8], offv[8];
  _mm256_storeu_ps(scv, sc8);
  _mm256_storeu_ps(offv, _mm256_sub_ps(bias8, corr));
  for (size_t r = 0; r < m; r++) {
    post512 pr = post512_row(p, r);
    const __m512 sc = _mm512_set1_ps(scv[r]);
    const __m512 off = _mm512_set1_ps(offv[r]);
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

/* n = 1, a matrix-vector product (a fully connected layer on one row,
 * run as W x): the 48-column block would leave 15 of 16 lanes idle.
 * The column is quantised as one block (its floats gathered into bbuf
 * first when they are not contiguous), its quads are laid out two per
 * vector (xd[h] = quad 2h in lanes 0-7, quad 2h+1 in lanes 8-15), so that
 * one VPDPBUSD takes two quads of a whole 8-row panel (16 uint32 in a
 * row: the panel's layout). Lanes 0-7 and 8-15 are added at the end; the
 * epilogue is the reference's, row by row, which gives its values bit for
 * bit (int32 sums are exact in any order).
 * bbuf (nn_i8_bbuf_size(k) >= 12k uint32 for k >= 4, 48 for k < 4) holds
 * xd ((kq + 1) / 2 * 16 uint32), the bytes (k rounded up to 16) and, when
 * gathered, the k floats. */
static void gemv(size_t m, size_t k, const uint32_t *a, const brows *s,
                 float *c, size_t ldc, const nn_post *post, uint32_t *bbuf) {
  const size_t kq = (k + 3) / 4, nh = (kq + 1) / 2, panel = nn_i8_panel_size(k);
  uint32_t *xd = bbuf;
  uint8_t *ub = (uint8_t *)(void *)(xd + nh * 16);
  const float *x = brow(s, 0);
  if (s->bp || (k > 1 && s->ldb != 1)) {
    float *xf = (float *)(void *)(ub + (k + 15) / 16 * 16);
    for (size_t kk = 0; kk < k; kk++)
      xf[kk] = brow(s, kk)[0];
    x = xf;
  }
  /* the range (a NaN keeps the old bound, the second operand) */
  __m512 lo = _mm512_setzero_ps(), hi = lo;
  for (size_t kk = 0; kk < k; kk += 16) {
    __m512 v = _mm512_maskz_loadu_ps(tail_mask16(k - kk), x + kk);
    lo = _mm512_min_ps(v, lo);
    hi = _mm512_max_ps(v, hi);
  }
  const nn_i8_q q =
      nn_i8_block_q(_mm512_reduce_min_ps(lo), _mm512_reduce_max_ps(hi));
  const __m512 inv = _mm512_set1_ps(q.inv);
  const __m512i zp = _mm512_set1_epi32(q.zp), z = _mm512_setzero_si512(),
                u8max = _mm512_set1_epi32(255);
  /* u = clamp(round(x * inv) + zp, 0, 255); the pad past k reads as 0 (its
   * weights are 0) */
  for (size_t kk = 0; kk < k; kk += 16) {
    __m512 v = _mm512_maskz_loadu_ps(tail_mask16(k - kk), x + kk);
    __m512i u = _mm512_add_epi32(_mm512_cvtps_epi32(_mm512_mul_ps(v, inv)), zp);
    u = _mm512_min_epi32(_mm512_max_epi32(u, z), u8max);
    _mm_storeu_si128((__m128i *)(void *)(ub + kk), _mm512_cvtepi32_epi8(u));
  }
  for (size_t t = k; t < 4 * kq; t++)
    ub[t] = 0;
  const uint32_t *xq = (const uint32_t *)(const void *)ub;
  const __m512i idx =
      _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
  for (size_t h = 0; h < nh; h++) {
    uint64_t pair = xq[2 * h];
    if (2 * h + 1 < kq)
      pair |= (uint64_t)xq[2 * h + 1] << 32;
    _mm512_storeu_si512(
        xd + 16 * h,
        _mm512_permutexvar_epi32(
            idx, _mm512_castsi128_si512(_mm_cvtsi64_si128((long long)pair))));
  }
  nn_post nobias = *post; /* the bias is in the fma's additive term */
  nobias.bias = NULL;
  /* the last pair of an odd kq has one quad: its other 8 lanes would read
   * past the panel (the next panel's head, or past the last panel) */
  const __mmask16 last = (kq % 2) ? (__mmask16)0x00ff : (__mmask16)0xffff;
  for (size_t i0 = 0; i0 < m; i0 += MR) {
    const uint32_t *pa = a + i0 / MR * panel, *w = pa + 2 * MR;
    __m512i s0 = z, s1 = z, s2 = z, s3 = z;
    size_t h = 0;
    for (; h + 4 <= nh - 1; h += 4) {
      s0 = _mm512_dpbusd_epi32(s0, _mm512_loadu_si512(xd + 16 * h),
                               _mm512_loadu_si512(w + 16 * h));
      s1 = _mm512_dpbusd_epi32(s1, _mm512_loadu_si512(xd + 16 * h + 16),
                               _mm512_loadu_si512(w + 16 * h + 16));
      s2 = _mm512_dpbusd_epi32(s2, _mm512_loadu_si512(xd + 16 * h + 32),
                               _mm512_loadu_si512(w + 16 * h + 32));
      s3 = _mm512_dpbusd_epi32(s3, _mm512_loadu_si512(xd + 16 * h + 48),
                               _mm512_loadu_si512(w + 16 * h + 48));
    }
    for (; h + 1 < nh; h++)
      s0 = _mm512_dpbusd_epi32(s0, _mm512_loadu_si512(xd + 16 * h),
                               _mm512_loadu_si512(w + 16 * h));
    s1 = _mm512_dpbusd_epi32(s1, _mm512_loadu_si512(xd + 16 * h),
                             _mm512_maskz_loadu_epi32(last, w + 16 * h));
    __m512i t =
        _mm512_add_epi32(_mm512_add_epi32(s0, s1), _mm512_add_epi32(s2, s3));
    int32_t acc[8];
    _mm256_storeu_si256((__m256i *)(void *)acc,
                        _mm256_add_epi32(_mm512_castsi512_si256(t),
                                         _mm512_extracti64x4_epi64(t, 1)));
    const float *sa = (const float *)(const void *)pa;
    const int32_t *rs = (const int32_t *)(const void *)(pa + MR);
    for (size_t r = 0; r < MR && i0 + r < m; r++) {
      const size_t i = i0 + r;
      const float sc = sa[r] * q.scale;
      const float y =
          fmaf((float)acc[r], sc, nn_i8_offset(post, i, q.zp * rs[r], sc));
      const float *rr = post->res ? post->res + i * post->ldr : NULL;
      c[i * ldc] = nn_post_apply(&nobias, i, y, rr);
    }
  }
}

void nn_i8_gemm_avx512(size_t m, size_t n, size_t k, const uint32_t *a,
                       const float *b, size_t ldb, const float *const *bp,
                       size_t boff, float *c, size_t ldc, const nn_post *post,
                       uint32_t *bbuf) {
  const brows s = {b, ldb, bp, boff};
  const size_t kq = (k + 3) / 4, panel = nn_i8_panel_size(k);
  if (n == 1) {
    gemv(m, k, a, &s, c, ldc, post, bbuf);
    return;
  }
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
