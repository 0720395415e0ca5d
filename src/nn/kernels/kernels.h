/*
 * Compute kernels of the inference engine: a const table of function
 * pointers per instruction set, chosen once at start-up.
 *
 * Every table entry has a plain C reference (nn_kernels_ref); the AVX2 and
 * AVX-512 tables hold optimised versions with exactly the same contract, so
 * tests can compare them entry by entry (tests/test_kernels.c). Ops ask for
 * the table with nn_kernels_get() and keep the pointer with any data packed
 * for it (the GEMM weight layout depends on the table's `mr`).
 *
 * All kernels work on float32 and never allocate.
 */
#ifndef ARGUS_NN_KERNELS_H
#define ARGUS_NN_KERNELS_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "core/kernels/kernels.h"

#include "nn/graph.h" /* nn_act */

/* Output post-processing fused into the kernels' store loop (see
 * nn_epilogue in graph.h). Row i of a GEMM tile (one output channel of a
 * convolution) computes
 *   y = acc + bias[i];  if (res && res_first) y += res[i*ldr + j];
 *   y = act(y);         if (res && !res_first) y += res[i*ldr + j];
 * `res` may alias the output exactly (same pointer and stride): each element
 * is read before it is written. The depthwise kernels see one channel: they
 * use bias[0] and slope[0], and res is that channel's plane. */
typedef struct nn_post {
  const float *bias;  /* per row; NULL: none */
  const float *slope; /* NN_ACT_PRELU: slope of row i is slope[i*slope_stride] */
  size_t slope_stride; /* 0: one slope for every row, 1: per row */
  const float *res;   /* residual, NULL: none */
  size_t ldr;         /* residual row stride in floats */
  int act;            /* nn_act (graph.h) */
  int res_first;      /* add the residual before the activation */
  float lo, hi;       /* NN_ACT_CLIP bounds */
} nn_post;

/* C[m x n] = A[m x k] * B[k x n], then post.
 * a: one packed panel of A: element (i, kk) at a[kk*mr + i] for the table's
 *    `mr`; rows m..mr-1 are zero (see nn_pack_a). 1 <= m <= mr.
 * b: row kk starts at b + kk*ldb; columns contiguous.
 * c: row i starts at c + i*ldc. n >= 1, k >= 1. All pointers borrowed. */
typedef void (*nn_gemm_fn)(size_t m, size_t n, size_t k, const float *a,
                           const float *b, size_t ldb, float *c, size_t ldc,
                           const nn_post *post);

/* The same with B given indirectly: row kk of B starts at b[kk] + boff
 * (an "indirection buffer": a convolution points the rows of its virtual
 * im2col matrix into one zero-padded copy of the input instead of
 * materialising every row). */
typedef void (*nn_igemm_fn)(size_t m, size_t n, size_t k, const float *a,
                            const float *const *b, size_t boff, float *c,
                            size_t ldc, const nn_post *post);

/* Depthwise 3x3 convolution of one channel plane (dilation 1), zero padding:
 *   y[oy][ox] = post(sum_{ky,kx} w[ky*3+kx] *
 *                    x[oy*S - pad_t + ky][ox*S - pad_l + kx])
 * for S = 1 (dwconv3x3s1) or 2 (dwconv3x3s2). x is ih x iw, y is oh x ow,
 * both contiguous; pad_t/pad_l may be any value >= 0 (positions outside x
 * read as zero). post->res, if any, is an oh x ow plane with row stride
 * post->ldr. */
typedef void (*nn_dwconv3x3_fn)(const float *x, size_t ih, size_t iw,
                                const float *w, float *y, size_t oh,
                                size_t ow, size_t pad_t, size_t pad_l,
                                const nn_post *post);

/* Dot product sum_i a[i]*b[i] (the "global depthwise" convolution whose
 * kernel covers the whole input plane). */
typedef float (*nn_dot_fn)(const float *a, const float *b, size_t n);

/* nc such dot products of consecutive planes of n floats (a global
 * depthwise convolution's channels): y[c] = sum_i x[c*n + i] * w[c*n + i].
 * The AVX-512 version sums 16 channels at once and reduces their 16
 * vectors in one transposing tree (45 shuffles and adds where one
 * reduction per channel took 8 dependent steps each). */
typedef void (*nn_dots_fn)(const float *x, const float *w, size_t n, size_t nc,
                           float *y);

/* Splits src[0, n) into its even and odd elements: even[j] = src[2j]
 * (ceil(n/2) values), odd[j] = src[2j+1] (floor(n/2) values). Used to turn
 * a stride-2 convolution's column gathers into contiguous runs. */
typedef void (*nn_deinterleave2_fn)(const float *src, size_t n, float *even,
                                    float *odd);

/* 2x2 max pooling with stride 2 of one output row: y[j] is the largest of
 * r0[2j], r0[2j+1], r1[2j], r1[2j+1], compared in that order with `>` (the
 * first value wins ties; a NaN wins only in first place and is then kept
 * by every comparison, as in MaxPool's generic loop). r0 and r1 hold 2n
 * floats each. n >= 0. */
typedef void (*nn_maxpool2x2_fn)(const float *r0, const float *r1, float *y,
                                 size_t n);

/* Direct 3x3 convolution, stride 2, dilation 1, group 1, of few input
 * channels (1 <= cin <= NN_CONV3X3S2C_MAX_CIN) into co >= 1 output channels,
 * output rows [oy0, oy1) of every channel, zero padding:
 *   y[o*ldy + oy*ow + ox] = post_o(sum_{c, ky, kx} w[((o*cin + c)*3 + ky)*3 + kx]
 *                          * x[c][2*oy - pad_t + ky][2*ox - pad_l + kx])
 * summed in that order (c, then ky, then kx) in float32; positions outside
 * x add nothing. x: cin contiguous ih x iw planes; w: ONNX layout
 * [co][cin][3][3]; y: channel o's plane at y + o*ldy, rows of ow floats;
 * post: per output channel o (bias[o], slope of row o), residual of channel
 * o pixel p at post->res[o*post->ldr + p]. All pointers borrowed. */
typedef void (*nn_conv3x3s2c_fn)(const float *x, size_t cin, size_t ih,
                                 size_t iw, const float *w, size_t co,
                                 float *y, size_t ldy, size_t ow, size_t oy0,
                                 size_t oy1, size_t pad_t, size_t pad_l,
                                 const nn_post *post);

#define NN_CONV3X3S2C_MAX_CIN 4

typedef struct nn_kernels {
  const char *name; /* "ref", "avx2", "avx512" */
  unsigned mr;      /* rows of a packed GEMM A panel */
  unsigned nr;      /* natural column block of the GEMM kernel */
  nn_gemm_fn gemm;
  nn_igemm_fn igemm;
  nn_dwconv3x3_fn dwconv3x3s1;
  nn_dwconv3x3_fn dwconv3x3s2;
  nn_dot_fn dot;
  nn_dots_fn dots;
  nn_deinterleave2_fn deinterleave2;
  nn_maxpool2x2_fn maxpool2x2;
  /* the reference in tables without an optimised version (avx2): Conv
   * then keeps its GEMM path */
  nn_conv3x3s2c_fn conv3x3s2c;
} nn_kernels;

/* The tables. The AVX2/AVX-512 ones may only be called when
 * argus_cpu_features() reports the ISA; on other architectures their
 * pointers are the reference kernels. */
extern const nn_kernels nn_kernels_ref;
extern const nn_kernels nn_kernels_avx2;
extern const nn_kernels nn_kernels_avx512;

/* The widest table the CPU supports (honouring ARGUS_ISA), chosen once and
 * logged at debug level. Never NULL. */
const nn_kernels *nn_kernels_get(void);

/* Packs rows [0, m) x columns [0, k) of a matrix A, element (i, kk) at
 * src[i*rs + kk*cs], multiplied by alpha, into ceil(m/mr) panels of
 * k*mr floats each (panel p holds rows p*mr .. p*mr+mr-1, zero-padded).
 * dst must hold nn_pack_a_size(mr, m, k) floats. */
void nn_pack_a(unsigned mr, size_t m, size_t k, const float *src, size_t rs,
               size_t cs, float alpha, float *dst);

/* Floats needed by nn_pack_a. */
static inline size_t nn_pack_a_size(unsigned mr, size_t m, size_t k) {
  return (m + mr - 1) / mr * mr * k;
}

/* C[m x n] = packed A[m x k] * B[k x n] + post, over every panel of A:
 * loops over column blocks of `nc` (0: all n at once) and, inside each, over
 * the panels, so that a block of B stays in cache while all rows use it.
 * post->bias/slope/res are for row 0 and are advanced per panel. */
void nn_gemm_run(const nn_kernels *kt, size_t m, size_t n, size_t k,
                 const float *apack, const float *b, size_t ldb, float *c,
                 size_t ldc, const nn_post *post, size_t nc);

/* 1 / (1 + exp(-x)), the sigmoid every kernel uses. */
float nn_sigmoidf_(float x);

/* The post-ops of a block whose rows start at i and columns at j of C. */
static inline nn_post nn_post_at(const nn_post *post, size_t i, size_t j) {
  nn_post p = *post;
  if (p.bias)
    p.bias += i;
  if (p.slope)
    p.slope += i * p.slope_stride;
  if (p.res)
    p.res += i * p.ldr + j;
  return p;
}

/* Reference epilogue for one value y of row i; res points at the residual
 * element or is NULL. Used by the reference kernels and by scalar tails. */
static inline float nn_post_apply(const nn_post *p, size_t i, float y,
                                  const float *res) {
  if (p->bias)
    y += p->bias[i];
  if (res && p->res_first)
    y += *res;
  switch (p->act) {
  case NN_ACT_RELU:
    y = y > 0.0f ? y : 0.0f;
    break;
  case NN_ACT_PRELU:
    if (y < 0.0f)
      y *= p->slope[i * p->slope_stride];
    break;
  case NN_ACT_CLIP:
    /* numpy.clip order: an empty range [lo > hi] gives hi */
    y = y < p->lo ? p->lo : y;
    y = y > p->hi ? p->hi : y;
    break;
  case NN_ACT_SIGMOID:
    y = nn_sigmoidf_(y);
    break;
  default:
    break;
  }
  if (res && !p->res_first)
    y += *res;
  return y;
}

/* Per-ISA kernels (declared for the tables and the tests). */
void nn_f32_gemm_ref(size_t, size_t, size_t, const float *, const float *,
                     size_t, float *, size_t, const nn_post *);
void nn_f32_igemm_ref(size_t, size_t, size_t, const float *,
                      const float *const *, size_t, float *, size_t,
                      const nn_post *);
void nn_f32_dwconv3x3s1_ref(const float *, size_t, size_t, const float *,
                            float *, size_t, size_t, size_t, size_t,
                            const nn_post *);
void nn_f32_dwconv3x3s2_ref(const float *, size_t, size_t, const float *,
                            float *, size_t, size_t, size_t, size_t,
                            const nn_post *);
void nn_f32_deinterleave2_ref(const float *, size_t, float *, float *);
void nn_f32_maxpool2x2_ref(const float *, const float *, float *, size_t);
void nn_f32_conv3x3s2c_ref(const float *, size_t, size_t, size_t,
                           const float *, size_t, float *, size_t, size_t,
                           size_t, size_t, size_t, size_t, const nn_post *);

void nn_f32_gemm_avx2(size_t, size_t, size_t, const float *, const float *,
                      size_t, float *, size_t, const nn_post *);
void nn_f32_igemm_avx2(size_t, size_t, size_t, const float *,
                      const float *const *, size_t, float *, size_t,
                      const nn_post *);
void nn_f32_dwconv3x3s1_avx2(const float *, size_t, size_t, const float *,
                             float *, size_t, size_t, size_t, size_t,
                             const nn_post *);
void nn_f32_dwconv3x3s2_avx2(const float *, size_t, size_t, const float *,
                             float *, size_t, size_t, size_t, size_t,
                             const nn_post *);
void nn_f32_deinterleave2_avx2(const float *, size_t, float *, float *);
void nn_f32_maxpool2x2_avx2(const float *, const float *, float *, size_t);

void nn_f32_gemm_avx512(size_t, size_t, size_t, const float *, const float *,
                        size_t, float *, size_t, const nn_post *);
void nn_f32_igemm_avx512(size_t, size_t, size_t, const float *,
                      const float *const *, size_t, float *, size_t,
                      const nn_post *);
void nn_f32_dots_ref(const float *, const float *, size_t, size_t, float *);
void nn_f32_dots_avx2(const float *, const float *, size_t, size_t, float *);
void nn_f32_dots_avx512(const float *, const float *, size_t, size_t, float *);
void nn_f32_dwconv3x3s1_avx512(const float *, size_t, size_t, const float *,
                               float *, size_t, size_t, size_t, size_t,
                               const nn_post *);
void nn_f32_dwconv3x3s2_avx512(const float *, size_t, size_t, const float *,
                               float *, size_t, size_t, size_t, size_t,
                               const nn_post *);
void nn_f32_deinterleave2_avx512(const float *, size_t, float *, float *);
void nn_f32_maxpool2x2_avx512(const float *, const float *, float *, size_t);
void nn_f32_conv3x3s2c_avx512(const float *, size_t, size_t, size_t,
                              const float *, size_t, float *, size_t, size_t,
                              size_t, size_t, size_t, size_t,
                              const nn_post *);

/* ---- BF16 GEMM ----------------------------------------------------------
 *
 * C[m x n] = A[m x k] * B[k x n], then post, with both operands rounded to
 * bfloat16 (round to nearest even; a denormal reads as a signed zero, as
 * VCVTNE2PS2BF16 does) and every product accumulated in float32, pairs of k
 * at a time in the order of VDPBF16PS: acc += a[kk+1]*b[kk+1], then
 * acc += a[kk]*b[kk] (each product of two bf16 is exact in float32; each sum
 * is rounded to float32, a denormal sum flushed to zero).
 *
 * a: every panel of A packed by nn_bf16_pack_a (NN_BF16_MR rows each).
 * B: row kk at b + kk*ldb, or at bp[kk] + boff when bp is not NULL (the
 *    indirection buffer of nn_igemm_fn); float32, converted per block of
 *    NN_BF16_NB columns into bbuf, which then serves every panel of A.
 * bbuf: scratch of nn_bf16_bbuf_size(k) uint32 (64-byte aligned is best).
 * post: as for nn_gemm_fn, for row 0; advanced per panel inside.
 * All pointers borrowed; m, n, k >= 1. */
typedef void (*nn_bf16_gemm_fn)(size_t m, size_t n, size_t k,
                                const uint32_t *a, const float *b, size_t ldb,
                                const float *const *bp, size_t boff, float *c,
                                size_t ldc, const nn_post *post,
                                uint32_t *bbuf);

#define NN_BF16_MR 8  /* rows of a packed bf16 A panel */
#define NN_BF16_NB 48 /* columns of a converted B block */

/* uint32 of one packed panel row-pair block: ceil(k/2) pairs x MR rows. */
static inline size_t nn_bf16_panel_size(size_t k) {
  return (k + 1) / 2 * NN_BF16_MR;
}
/* uint32 needed by nn_bf16_pack_a for m rows. */
static inline size_t nn_bf16_pack_a_size(size_t m, size_t k) {
  return (m + NN_BF16_MR - 1) / NN_BF16_MR * nn_bf16_panel_size(k);
}
/* uint32 of the B block scratch. */
static inline size_t nn_bf16_bbuf_size(size_t k) {
  return (k + 1) / 2 * NN_BF16_NB;
}

/* float32 -> bfloat16 bits, as VCVTNE2PS2BF16: round to nearest even,
 * denormals to signed zero, NaN kept quiet. */
static inline uint16_t nn_bf16_from_f32(float f) {
  union {
    float f;
    uint32_t u;
  } v = {f};
  uint32_t u = v.u;
  if ((u & 0x7fffffffu) > 0x7f800000u)
    return (uint16_t)((u >> 16) | 0x40u);
  if ((u & 0x7f800000u) == 0)
    return (uint16_t)((u >> 16) & 0x8000u);
  u += 0x7fffu + ((u >> 16) & 1u);
  return (uint16_t)(u >> 16);
}

/* Packs rows [0, m) x columns [0, k) of A (element (i, kk) at
 * src[i*rs + kk*cs]) into bf16 panels: pair q of row i of panel p at
 * dst[p*nn_bf16_panel_size(k) + q*NN_BF16_MR + i], A[i][2q] in the low
 * half, A[i][2q+1] (0 past k) in the high half; rows past m are zero. */
void nn_bf16_pack_a(size_t m, size_t k, const float *src, size_t rs,
                    size_t cs, uint32_t *dst);

/* The bf16 GEMM this CPU runs (honouring ARGUS_ISA), chosen once and logged
 * at debug level, or NULL when the CPU has no AVX512_BF16: callers then run
 * in float32. */
nn_bf16_gemm_fn nn_bf16_gemm_get(void);

void nn_bf16_gemm_ref(size_t, size_t, size_t, const uint32_t *,
                      const float *, size_t, const float *const *, size_t,
                      float *, size_t, const nn_post *, uint32_t *);
void nn_bf16_gemm_avx512(size_t, size_t, size_t, const uint32_t *,
                         const float *, size_t, const float *const *, size_t,
                         float *, size_t, const nn_post *, uint32_t *);

/* ---- BF16 activations in pairs ----------------------------------------
 *
 * A float32 map of C channels can be kept as ceil(C/2) planes of uint32:
 * channel 2q's value (bf16, rounded as above) in the low half and channel
 * 2q+1's (0 past C) in the high half, which is the layout VDPBF16PS
 * multiplies and nn_bf16_gemm_fn builds per block of B. A conv that writes
 * its output so and a GEMM that reads B so (nn_bf16_gemm_pairs_fn) skip
 * that conversion and move half the bytes; the products are bit for bit
 * those of nn_bf16_gemm_fn on the float32 map. */

/* dst[i] = bf16(lo[i]) | bf16(hi[i]) << 16 for i < n (hi NULL: zeros). */
typedef void (*nn_bf16_pairs_fn)(const float *lo, const float *hi,
                                 uint32_t *dst, size_t n);

/* nn_bf16_gemm_fn with B already in pairs: pair row q (rows 2q, 2q+1) of
 * B at b + q*ldb, n columns each. Reads only columns [0, n) of each. */
typedef void (*nn_bf16_gemm_pairs_fn)(size_t m, size_t n, size_t k,
                                      const uint32_t *a, const uint32_t *b,
                                      size_t ldb, float *c, size_t ldc,
                                      const nn_post *post);

/* The kernels this CPU runs, or NULL without AVX512_BF16. */
nn_bf16_pairs_fn nn_bf16_pairs_get(void);
nn_bf16_gemm_pairs_fn nn_bf16_gemm_pairs_get(void);

void nn_bf16_pairs_ref(const float *, const float *, uint32_t *, size_t);
void nn_bf16_pairs_avx512(const float *, const float *, uint32_t *, size_t);
void nn_bf16_gemm_pairs_ref(size_t, size_t, size_t, const uint32_t *,
                            const uint32_t *, size_t, float *, size_t,
                            const nn_post *);
void nn_bf16_gemm_pairs_avx512(size_t, size_t, size_t, const uint32_t *,
                               const uint32_t *, size_t, float *, size_t,
                               const nn_post *);

/* ---- BF16 direct 3x3 stride-2 conv of a few input channels -------------
 *
 * nn_conv3x3s2c_fn in bf16: x and w rounded as for the GEMM, each (c, ky)
 * summed in two VDPBF16PS steps in this order:
 *   acc = dp(acc, (x0, x1), (w0, w1));  acc = dp(acc, (x2, x3), (w2, 0))
 * where xk = x[c][2*oy - pad_t + ky][2*ox - pad_l + kx] (0 outside x), and
 * dp adds the high product, then the low one, as VDPBF16PS does (so the
 * fourth column, read for the pair, adds a product with a zero weight).
 * The point: a stride-2 row holds pixel ox's pair of columns 2ox, 2ox+1
 * side by side, so converting the row to bf16 lays the pairs out for
 * VDPBF16PS with no shuffle; 6 dot products per (o, c) where float32 needs
 * 9 FMAs and three permutes per row.
 * wp: nn_bf16_conv3x3s2c_pack's layout: pair j (0: w0|w1<<16, 1: w2) of
 * (o, c, ky) at wp[((o*cin + c)*3 + ky)*2 + j]. */
typedef void (*nn_bf16_conv3x3s2c_fn)(const float *x, size_t cin, size_t ih,
                                      size_t iw, const uint32_t *wp,
                                      size_t co, float *y, size_t ldy,
                                      size_t ow, size_t oy0, size_t oy1,
                                      size_t pad_t, size_t pad_l,
                                      const nn_post *post);

/* The same writing its output as bf16 pairs ("BF16 activations in pairs"):
 * channels 2q, 2q+1 of pixel p at y[q*ldy + p] (ldy in uint32), the second
 * 0 past co; the values are those the float32 form stores, rounded to
 * bf16. post->res must be NULL. */
typedef void (*nn_bf16_conv3x3s2c_pairs_fn)(
    const float *x, size_t cin, size_t ih, size_t iw, const uint32_t *wp,
    size_t co, uint32_t *y, size_t ldy, size_t ow, size_t oy0, size_t oy1,
    size_t pad_t, size_t pad_l, const nn_post *post);
nn_bf16_conv3x3s2c_pairs_fn nn_bf16_conv3x3s2c_pairs_get(void);
void nn_bf16_conv3x3s2c_pairs_avx512(const float *, size_t, size_t, size_t,
                                     const uint32_t *, size_t, uint32_t *,
                                     size_t, size_t, size_t, size_t, size_t,
                                     size_t, const nn_post *);

static inline size_t nn_bf16_conv3x3s2c_pack_size(size_t co, size_t cin) {
  return co * cin * 6;
}
/* w in ONNX layout [co][cin][3][3] -> wp (pack_size uint32). */
void nn_bf16_conv3x3s2c_pack(const float *w, size_t co, size_t cin,
                             uint32_t *wp);

/* The kernel this CPU runs, or NULL without AVX512_BF16 (as
 * nn_bf16_gemm_get). */
nn_bf16_conv3x3s2c_fn nn_bf16_conv3x3s2c_get(void);

void nn_bf16_conv3x3s2c_ref(const float *, size_t, size_t, size_t,
                            const uint32_t *, size_t, float *, size_t, size_t,
                            size_t, size_t, size_t, size_t, const nn_post *);
void nn_bf16_conv3x3s2c_avx512(const float *, size_t, size_t, size_t,
                               const uint32_t *, size_t, float *, size_t,
                               size_t, size_t, size_t, size_t, size_t,
                               const nn_post *);

/* ---- INT8 GEMM ----------------------------------------------------------
 *
 * C[m x n] = A[m x k] * B[k x n], then post, in 8-bit integers:
 * - A (the weights) is quantised once, per row i: scale sa[i] =
 *   max|A[i][.]| / 127, q = round(A / sa) in [-127, 127] (nn_i8_pack_a);
 * - B (the activations) is quantised as the kernel reaches it, per block of
 *   NN_I8_NB columns (all k rows): over the block's range [lo, hi] widened
 *   to hold 0, scale sb = (hi - lo) / 255, zero point zp = round(-lo / sb),
 *   u = clamp(round(x / sb) + zp, 0, 255) (nn_i8_block_q; "round" is to
 *   nearest even, as CVTPS2DQ);
 * - every product is summed exactly in int32 (VPDPBUSD: u8 x s8, four k at
 *   a time), and c = fma((float)acc, sc, bias[i] - (float)(zp * sum_k
 *   q[i][k]) * sc) with sc = sa[i] * sb (= sc * (acc - zp * sum) + bias),
 *   then the rest of post (residual, activation), for row i.
 * Same signature and B access as nn_bf16_gemm_fn; a: panels of
 * nn_i8_pack_a; bbuf: nn_i8_bbuf_size(k) uint32 of scratch. The AVX-512
 * kernel gives the C reference's values bit for bit. */
typedef nn_bf16_gemm_fn nn_i8_gemm_fn;

#define NN_I8_MR 8  /* rows of a packed int8 A panel */
#define NN_I8_NB 48 /* columns of a quantised B block */

/* uint32 of one packed panel: MR float scales, MR int32 row sums, then
 * ceil(k/4) quads x MR rows (4 int8 of row i, k = 4q..4q+3, low byte
 * first). */
static inline size_t nn_i8_panel_size(size_t k) {
  return 2 * NN_I8_MR + (k + 3) / 4 * NN_I8_MR;
}
static inline size_t nn_i8_pack_a_size(size_t m, size_t k) {
  return (m + NN_I8_MR - 1) / NN_I8_MR * nn_i8_panel_size(k);
}
static inline size_t nn_i8_bbuf_size(size_t k) {
  return (k + 3) / 4 * NN_I8_NB;
}

/* The quantisation of a B block whose values lie in [lo, hi]. */
typedef struct nn_i8_q {
  float inv;   /* 255 / (hi - lo), or 0 when the block is all zero */
  float scale; /* (hi - lo) / 255 */
  int32_t zp;  /* round(-lo * inv), 0..255 */
} nn_i8_q;

static inline nn_i8_q nn_i8_block_q(float lo, float hi) {
  nn_i8_q q = {0.0f, 0.0f, 0};
  if (lo > 0.0f)
    lo = 0.0f;
  if (hi < 0.0f)
    hi = 0.0f;
  float span = hi - lo;
  if (!(span > 0.0f) || !(span < 3.0e38f))
    return q; /* all zero, or not finite: every value quantises to 0 */
  q.inv = 255.0f / span;
  q.scale = span / 255.0f;
  q.zp = (int32_t)nearbyintf(-lo * q.inv);
  if (q.zp > 255)
    q.zp = 255;
  return q;
}

/* The additive term of row i's epilogue (above): the bias minus the zero
 * point's share, zpsum = zp * (sum of the row's int8 weights). */
static inline float nn_i8_offset(const nn_post *p, size_t i, int32_t zpsum,
                                 float sc) {
  float corr = (float)zpsum * sc;
  return (p->bias ? p->bias[i] : 0.0f) - corr;
}

/* Packs rows [0, m) x columns [0, k) of A (element (i, kk) at
 * src[i*rs + kk*cs]) into int8 panels (layout above); rows past m and k
 * past the end are zero. */
void nn_i8_pack_a(size_t m, size_t k, const float *src, size_t rs, size_t cs,
                  uint32_t *dst);

/* The int8 GEMM this CPU runs (honouring ARGUS_ISA), chosen once, or NULL
 * when the CPU has no AVX512_VNNI: callers then run in float32. */
nn_i8_gemm_fn nn_i8_gemm_get(void);

void nn_i8_gemm_ref(size_t, size_t, size_t, const uint32_t *, const float *,
                    size_t, const float *const *, size_t, float *, size_t,
                    const nn_post *, uint32_t *);
void nn_i8_gemm_avx512(size_t, size_t, size_t, const uint32_t *,
                       const float *, size_t, const float *const *, size_t,
                       float *, size_t, const nn_post *, uint32_t *);

#define NN_GEMM_MR_REF 8
#define NN_GEMM_MR_AVX2 6
#define NN_GEMM_MR_AVX512 8

#endif
