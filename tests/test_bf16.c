/* The BF16 precision path (kernels.h nn_bf16_gemm_fn, Conv with
 * "precision": "bf16"), and the INT8 one on whole models (its kernel:
 * test_int8.c).
 *
 * 1. The reference kernel against a double-precision model of the same
 *    bf16-rounded operands (|diff| <= k * 2^-24 * sum|a*b|, the float32
 *    accumulation bound),
 *    and the AVX-512 BF16 kernel against the reference bit for bit, on odd
 *    m/n/k, direct and indirect B, every epilogue, residual aliasing C;
 *    the same two checks for the direct 3x3 stride-2 conv
 *    (nn_bf16_conv3x3s2c_fn) on random geometries, channel tails and rows;
 *    bf16 pairs (nn_bf16_pairs_fn, nn_bf16_gemm_pairs_fn) bit for bit
 *    against the GEMM on the float32 B they came from.
 * 2. nn_bf16_from_f32 on special values (ties, denormals, NaN, Inf).
 * 3. yunet_n on a real photo from ../shared/data/stills at 640x480, bf16 vs
 *    f32: scores within 0.03, boxes and points (in grid cells) within
 *    0.06 + 2 %, and the same faces found (each face of score >= 0.6 in one
 *    matched in the other with IoU >= 0.9 and a score within 0.05); and the
 *    bf16 session with maps kept as pairs between fused nodes bit for bit
 *    the same as without them (ARGUS_NN_NO_PAIRS), and the f32 session
 *    with its two Resizes folded into their Adds bit for bit the same as
 *    with them run on their own (ARGUS_NN_NO_UP2). int8 vs f32 on the same
 *    photo: scores within 0.12, boxes and points within 0.25 + 2 %
 *    (measured 0.081 and 0.173), the same faces.
 * 4. fr_landmark on 100 real faces (LFW-112), bf16 vs f32: each face's 68
 *    points within 0.005 of the inter-ocular distance on average and 0.02
 *    at most (measured: 0.0013 and 0.0032); int8 vs f32 within the same
 *    bounds (measured: 0.0025 and 0.0062). Its 1x1 -> ReLU -> depthwise
 *    pairs fused change no output in f32 and bf16 (ARGUS_NN_NO_PW_RELU).
 *    Parts 3 and 4 skip, saying
 *    so, without the model or the photos. */
#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "argus/core.h"
#include "argus/image.h"
#include "argus/nn.h"
#include "bits_check.h"
#include "check.h"
#include "nn/kernels/kernels.h"

static uint64_t rng_state = 0x243f6a8885a308d3ull;

static uint32_t rnd(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return (uint32_t)(rng_state >> 11);
}

static size_t rint_(size_t lo, size_t hi) { return lo + rnd() % (hi - lo + 1); }

/* Values with full float32 mantissas, so that rounding to bf16 matters. */
static float rf(void) {
  return ((float)(rnd() & 0xffffff) / 8388608.0f - 1.0f) *
         (rnd() % 8 ? 1.0f : 16.0f);
}

static float *rvec(size_t n) {
  float *p = malloc((n ? n : 1) * sizeof *p);
  for (size_t i = 0; i < n; i++)
    p[i] = rf();
  return p;
}

static double bf(float x) {
  uint32_t u = (uint32_t)nn_bf16_from_f32(x) << 16;
  float f;
  memcpy(&f, &u, 4);
  return f;
}

/* A random epilogue (bias or none, any activation, per-row or shared
 * slope, residual before or after it); res and ldr are the caller's. */
static nn_post random_post(const float *bias, const float *slope) {
  nn_post p;
  memset(&p, 0, sizeof p);
  p.bias = rnd() % 4 ? bias : NULL;
  p.act = (int)(rnd() % 5);
  p.slope = slope;
  p.slope_stride = rnd() % 2;
  p.lo = -0.3f;
  p.hi = 0.4f;
  p.res_first = (int)(rnd() % 2);
  return p;
}

/* One GEMM case: ref vs a double model (on outputs before the epilogue,
 * post = none) and the AVX-512 kernel vs ref (with a random epilogue). */
static void gemm_case(nn_bf16_gemm_fn fast, size_t m, size_t n, size_t k,
                      int indirect, int alias_res) {
  size_t ldb = n + rint_(0, 5), ldc = n + rint_(0, 3);
  float *a = rvec(m * k), *b = rvec(k * ldb);
  float *bias = rvec(m), *slope = rvec(m);
  uint32_t *ap = malloc(nn_bf16_pack_a_size(m, k) * sizeof *ap);
  uint32_t *bbuf = malloc(nn_bf16_bbuf_size(k) * sizeof *bbuf);
  const float **bp = malloc(k * sizeof *bp);
  /* indirect: rows of B in reverse order through the pointer array */
  float *bi = rvec(k * ldb);
  for (size_t kk = 0; kk < k; kk++) {
    memcpy(bi + (k - 1 - kk) * ldb, b + kk * ldb, ldb * sizeof(float));
    bp[kk] = bi + (k - 1 - kk) * ldb;
  }
  nn_bf16_pack_a(m, k, a, k, 1, ap);
  float *c0 = calloc(m * ldc, sizeof *c0), *c1 = calloc(m * ldc, sizeof *c1);
  float *res = rvec(m * ldc);
  /* 1. ref, no epilogue, against doubles */
  nn_post none;
  memset(&none, 0, sizeof none);
  nn_bf16_gemm_ref(m, n, k, ap, indirect ? NULL : b, ldb,
                   indirect ? bp : NULL, 0, c0, ldc, &none, bbuf);
  int bad = 0;
  for (size_t i = 0; i < m && !bad; i++)
    for (size_t j = 0; j < n && !bad; j++) {
      double s = 0, sa = 0;
      for (size_t kk = 0; kk < k; kk++) {
        double t = bf(a[i * k + kk]) * bf(b[kk * ldb + j]);
        s += t;
        sa += fabs(t);
      }
      double d = fabs(c0[i * ldc + j] - s);
      if (d > sa * (double)k * 0x1p-24 + 1e-30) {
        fprintf(stderr, "ref m=%zu n=%zu k=%zu (%zu,%zu): %.9g vs %.9g\n", m,
                n, k, i, j, c0[i * ldc + j], s);
        bad = 1;
      }
    }
  CHECK(!bad);
  /* 2. fast vs ref with an epilogue */
  if (fast) {
    nn_post p = random_post(bias, slope);
    p.ldr = ldc;
    if (alias_res) {
      memcpy(c0, res, m * ldc * sizeof(float));
      memcpy(c1, res, m * ldc * sizeof(float));
    }
    p.res = alias_res ? c0 : (rnd() % 2 ? res : NULL);
    nn_bf16_gemm_ref(m, n, k, ap, indirect ? NULL : b, ldb,
                     indirect ? bp : NULL, 0, c0, ldc, &p, bbuf);
    if (alias_res)
      p.res = c1;
    fast(m, n, k, ap, indirect ? NULL : b, ldb, indirect ? bp : NULL, 0, c1,
         ldc, &p, bbuf);
    char what[128];
    snprintf(what, sizeof what, "avx512 bf16 m=%zu n=%zu k=%zu ind=%d act=%d",
             m, n, k, indirect, p.act);
    CHECK_INT_EQ(bits_differ(what, c1, c0, m, n, ldc), 0);
  }
  free(a), free(b), free(bi), free(bias), free(slope), free(ap), free(bbuf);
  free(bp), free(c0), free(c1), free(res);
}

static void test_gemm(void) {
  nn_bf16_gemm_fn fast = nn_bf16_gemm_get();
  if (!fast)
    fprintf(stderr, "note: no AVX512_BF16 on this CPU (or ARGUS_ISA): only "
                    "the reference kernel is checked\n");
  static const size_t ms[] = {1, 3, 7, 8, 9, 16, 21};
  static const size_t ns[] = {1, 5, 15, 16, 17, 33, 47, 48, 49, 97, 150};
  static const size_t ks[] = {1, 2, 3, 16, 17, 63, 144, 301};
  for (size_t a = 0; a < sizeof ms / sizeof *ms; a++)
    for (size_t b = 0; b < sizeof ns / sizeof *ns; b++) {
      size_t k = ks[(a * 3 + b) % (sizeof ks / sizeof *ks)];
      gemm_case(fast, ms[a], ns[b], k, (int)((a + b) % 2), 0);
    }
  for (int t = 0; t < 60; t++)
    gemm_case(fast, rint_(1, 40), rint_(1, 200), rint_(1, 200),
              (int)(rnd() % 2), t % 5 == 0);
}

/* One direct 3x3 stride-2 case: the reference against a double model of
 * the same rounded operands (k = 9 * cin terms; the zero-weight product of
 * the fourth column adds nothing), and the AVX-512 kernel against the
 * reference bit for bit with a random epilogue, rows [oy0, oy1) only. */
static void c3_case(nn_bf16_conv3x3s2c_fn fast, size_t cin, size_t co,
                    size_t ih, size_t iw, size_t pt, size_t pl, size_t oy0,
                    size_t oy1) {
  size_t oh = (ih + 2 * pt - 3) / 2 + 1, ow = (iw + 2 * pl - 3) / 2 + 1;
  if (oy1 > oh)
    oy1 = oh;
  if (oy0 > oy1)
    oy0 = oy1;
  size_t osz = oh * ow, ldy = osz + rint_(0, 5);
  float *x = rvec(cin * ih * iw), *w = rvec(co * cin * 9);
  float *bias = rvec(co), *slope = rvec(co), *res = rvec(co * ldy);
  uint32_t *wp = malloc(nn_bf16_conv3x3s2c_pack_size(co, cin) * sizeof *wp);
  nn_bf16_conv3x3s2c_pack(w, co, cin, wp);
  float *c0 = malloc(co * ldy * sizeof *c0), *c1 = malloc(co * ldy * sizeof *c1);
  for (size_t i = 0; i < co * ldy; i++)
    c0[i] = c1[i] = 12345.0f;
  nn_post none;
  memset(&none, 0, sizeof none);
  nn_bf16_conv3x3s2c_ref(x, cin, ih, iw, wp, co, c0, ldy, ow, oy0, oy1, pt, pl,
                         &none);
  int bad = 0;
  for (size_t o = 0; o < co && !bad; o++)
    for (size_t oy = oy0; oy < oy1 && !bad; oy++)
      for (size_t ox = 0; ox < ow && !bad; ox++) {
        double sum = 0, sa = 0;
        for (size_t c = 0; c < cin; c++)
          for (size_t ky = 0; ky < 3; ky++)
            for (size_t kx = 0; kx < 3; kx++) {
              long iy = (long)(2 * oy + ky) - (long)pt;
              long ix = (long)(2 * ox + kx) - (long)pl;
              if (iy < 0 || iy >= (long)ih || ix < 0 || ix >= (long)iw)
                continue;
              double t = bf(w[((o * cin + c) * 3 + ky) * 3 + kx]) *
                         bf(x[(c * ih + (size_t)iy) * iw + (size_t)ix]);
              sum += t;
              sa += fabs(t);
            }
        double got = c0[o * ldy + oy * ow + ox];
        if (fabs(got - sum) > sa * (double)(9 * cin) * 0x1p-24 + 1e-30) {
          fprintf(stderr, "c3 ref cin=%zu co=%zu (%zu,%zu,%zu): %.9g vs %.9g\n",
                  cin, co, o, oy, ox, got, sum);
          bad = 1;
        }
      }
  CHECK(!bad);
  if (fast) {
    nn_post p = random_post(bias, slope);
    p.ldr = ldy;
    p.res = rnd() % 2 ? res : NULL;
    for (size_t i = 0; i < co * ldy; i++)
      c0[i] = c1[i] = 12345.0f;
    nn_bf16_conv3x3s2c_ref(x, cin, ih, iw, wp, co, c0, ldy, ow, oy0, oy1, pt,
                           pl, &p);
    fast(x, cin, ih, iw, wp, co, c1, ldy, ow, oy0, oy1, pt, pl, &p);
    char what[160];
    snprintf(what, sizeof what,
             "avx512 bf16 conv3x3s2c cin=%zu co=%zu in=%zux%zu pad=%zu,%zu "
             "rows %zu..%zu act=%d",
             cin, co, ih, iw, pt, pl, oy0, oy1, p.act);
    CHECK_INT_EQ(bits_differ(what, c1, c0, co, ldy, ldy), 0);
    /* the pairs form: the float32 form's values rounded into channel pairs
     * (no residual there) */
    nn_bf16_conv3x3s2c_pairs_fn fp = nn_bf16_conv3x3s2c_pairs_get();
    if (fp) {
      p.res = NULL;
      size_t cp = (co + 1) / 2, pd = 0;
      uint32_t *y2 = malloc(cp * ldy * sizeof *y2),
               *want = malloc(cp * ldy * sizeof *want);
      for (size_t i = 0; i < cp * ldy; i++)
        y2[i] = want[i] = 0xdeadbeefu;
      fast(x, cin, ih, iw, wp, co, c1, ldy, ow, oy0, oy1, pt, pl, &p);
      for (size_t q = 0; q < cp; q++)
        nn_bf16_pairs_ref(c1 + 2 * q * ldy + oy0 * ow,
                          2 * q + 1 < co ? c1 + (2 * q + 1) * ldy + oy0 * ow
                                         : NULL,
                          want + q * ldy + oy0 * ow, (oy1 - oy0) * ow);
      fp(x, cin, ih, iw, wp, co, y2, ldy, ow, oy0, oy1, pt, pl, &p);
      for (size_t i = 0; i < cp * ldy; i++)
        pd += y2[i] != want[i];
      if (pd)
        fprintf(stderr, "bf16 conv3x3s2c pairs cin=%zu co=%zu act=%d: %zu "
                        "values differ\n",
                cin, co, p.act, pd);
      CHECK_INT_EQ(pd, 0);
      free(y2), free(want);
    }
  }
  free(x), free(w), free(bias), free(slope), free(res), free(wp), free(c0);
  free(c1);
}

/* nn_bf16_pairs_fn against its reference, and nn_bf16_gemm_pairs_fn (ref
 * and AVX-512) against nn_bf16_gemm_ref on the float32 B the pairs came
 * from: bit for bit. B's pair rows are exactly n wide at the end of their
 * allocation, so a read past column n would leave it. */
static void pairs_case(size_t m, size_t n, size_t k, int alias_res) {
  nn_bf16_pairs_fn cvt = nn_bf16_pairs_get();
  nn_bf16_gemm_pairs_fn gp = nn_bf16_gemm_pairs_get();
  size_t kp = (k + 1) / 2, ldb = n + (k % 3 ? rint_(0, 4) : 0);
  size_t ldc = n + rint_(0, 3);
  float *a = rvec(m * k), *b = rvec(k * ldb), *bias = rvec(m),
        *slope = rvec(m), *res = rvec(m * ldc);
  uint32_t *ap = malloc(nn_bf16_pack_a_size(m, k) * sizeof *ap);
  uint32_t *bbuf = malloc(nn_bf16_bbuf_size(k) * sizeof *bbuf);
  /* pair rows: the last one exactly n long */
  uint32_t *bq = malloc(((kp - 1) * ldb + n) * sizeof *bq);
  uint32_t *bq2 = malloc(((kp - 1) * ldb + n) * sizeof *bq2);
  nn_bf16_pack_a(m, k, a, k, 1, ap);
  for (size_t q = 0; q < kp; q++) {
    const float *hi = 2 * q + 1 < k ? b + (2 * q + 1) * ldb : NULL;
    nn_bf16_pairs_ref(b + 2 * q * ldb, hi, bq + q * ldb, n);
    if (cvt) {
      cvt(b + 2 * q * ldb, hi, bq2 + q * ldb, n);
      CHECK(memcmp(bq + q * ldb, bq2 + q * ldb, n * sizeof *bq) == 0);
    }
  }
  float *c0 = calloc(m * ldc, sizeof *c0), *c1 = calloc(m * ldc, sizeof *c1),
        *c2 = calloc(m * ldc, sizeof *c2);
  nn_post p = random_post(bias, slope);
  p.ldr = ldc;
  if (alias_res) {
    memcpy(c0, res, m * ldc * sizeof(float));
    memcpy(c1, res, m * ldc * sizeof(float));
    memcpy(c2, res, m * ldc * sizeof(float));
  }
  nn_post p0 = p, p1 = p, p2 = p;
  p0.res = alias_res ? c0 : (rnd() % 2 ? res : NULL);
  p1.res = alias_res ? c1 : p0.res;
  p2.res = alias_res ? c2 : p0.res;
  nn_bf16_gemm_ref(m, n, k, ap, b, ldb, NULL, 0, c0, ldc, &p0, bbuf);
  nn_bf16_gemm_pairs_ref(m, n, k, ap, bq, ldb, c1, ldc, &p1);
  if (gp)
    gp(m, n, k, ap, bq, ldb, c2, ldc, &p2);
  size_t d1 = 0, d2 = 0;
  for (size_t i = 0; i < m; i++)
    for (size_t j = 0; j < n; j++) {
      d1 += float_bits(c0[i * ldc + j]) != float_bits(c1[i * ldc + j]);
      d2 += gp && float_bits(c0[i * ldc + j]) != float_bits(c2[i * ldc + j]);
    }
  if (d1 || d2)
    fprintf(stderr, "bf16 pairs m=%zu n=%zu k=%zu act=%d: ref %zu, avx512 %zu "
                    "values differ from the float32-B GEMM\n",
            m, n, k, p.act, d1, d2);
  CHECK_INT_EQ(d1, 0);
  CHECK_INT_EQ(d2, 0);
  free(a), free(b), free(bias), free(slope), free(res), free(ap), free(bbuf);
  free(bq), free(bq2), free(c0), free(c1), free(c2);
}

static void test_pairs(void) {
  static const size_t ms[] = {1, 7, 8, 16, 21, 64};
  static const size_t ns[] = {1, 15, 16, 17, 47, 48, 49, 100, 160};
  static const size_t ks[] = {1, 2, 3, 16, 17, 64};
  for (size_t a = 0; a < sizeof ms / sizeof *ms; a++)
    for (size_t b = 0; b < sizeof ns / sizeof *ns; b++)
      pairs_case(ms[a], ns[b], ks[(a + 2 * b) % (sizeof ks / sizeof *ks)],
                 (int)((a + b) % 5 == 0));
  for (int t = 0; t < 40; t++)
    pairs_case(rint_(1, 70), rint_(1, 200), rint_(1, 130), t % 6 == 0);
}

static void test_conv3x3s2c(void) {
  nn_bf16_conv3x3s2c_fn fast = nn_bf16_conv3x3s2c_get();
  for (int it = 0; it < 300; it++) {
    size_t ih = rint_(1, 30), iw = rint_(1, 80), pt = rint_(0, 1),
           pl = rint_(0, 1);
    if (ih + 2 * pt < 3 || iw + 2 * pl < 3)
      continue;
    size_t oh = (ih + 2 * pt - 3) / 2 + 1;
    size_t oy0 = rint_(0, oh), oy1 = rnd() % 2 ? oh : rint_(oy0, oh);
    c3_case(fast, rint_(1, NN_CONV3X3S2C_MAX_CIN), rint_(1, 40), ih, iw, pt,
            pl, oy0, oy1);
  }
  /* YuNet's first conv's geometry (odd sizes), a channel tail */
  for (int it = 0; it < 5; it++)
    c3_case(fast, 3, 16, 61, 83, 1, 1, 0, 100);
  c3_case(fast, 4, 35, 33, 97, 1, 1, 3, 9);
}

static void test_convert(void) {
  struct {
    uint32_t in;
    uint16_t out;
  } cs[] = {
      {0x3f800000u, 0x3f80}, /* 1 */
      {0x3f808000u, 0x3f80}, /* tie, even stays */
      {0x3f818000u, 0x3f82}, /* tie, odd rounds up */
      {0x3f808001u, 0x3f81}, /* above the tie */
      {0x3f80ffffu, 0x3f81},
      {0xbf80ffffu, 0xbf81},
      {0x00000001u, 0x0000}, /* denormal -> 0 */
      {0x807fffffu, 0x8000}, /* negative denormal -> -0 */
      {0x00800000u, 0x0080}, /* smallest normal */
      {0x7f800000u, 0x7f80}, /* inf */
      {0x7f7fffffu, 0x7f80}, /* max float rounds to inf */
      {0x7fc00000u, 0x7fc0}, /* qNaN */
      {0x7f800001u, 0x7fc0}, /* sNaN made quiet */
  };
  for (size_t i = 0; i < sizeof cs / sizeof *cs; i++) {
    float f;
    memcpy(&f, &cs[i].in, 4);
    CHECK_INT_EQ(nn_bf16_from_f32(f), cs[i].out);
  }
}

/* ---- 3. yunet_n on a photo, bf16 vs f32 --------------------------------- */

#define YW 640
#define YH 480
/* Output bounds, |bf16 - f32| <= atol + rtol * |f32|: scores (cls, obj:
 * probabilities) within 0.03; boxes and points (offsets and log sizes in
 * grid cells) within 0.06 + 2 %. Measured on this photo: 0.020 and 0.045
 * (docs/engine.md, "Precision"). */
#define SCORE_ATOL 0.03
#define GEOM_ATOL 0.06
#define GEOM_RTOL 0.02
/* int8 (measured: 0.081 and 0.173) */
#define SCORE_ATOL_I8 0.12
#define GEOM_ATOL_I8 0.25
/* Faces kept by the decoder, and those that must be found by both. */
#define DECODE_MIN 0.5f
#define MATCH_MIN 0.6f

typedef struct face {
  float x0, y0, x1, y1, score;
} face;

static float iou(const face *a, const face *b) {
  float ix = fminf(a->x1, b->x1) - fmaxf(a->x0, b->x0);
  float iy = fminf(a->y1, b->y1) - fmaxf(a->y0, b->y0);
  if (ix <= 0 || iy <= 0)
    return 0;
  float in = ix * iy;
  return in / ((a->x1 - a->x0) * (a->y1 - a->y0) +
               (b->x1 - b->x0) * (b->y1 - b->y0) - in);
}

/* The card's decoder (sqrt(cls*obj), centre offset and log size in cells),
 * score >= 0.5, greedy NMS at 0.45; returns the face count (<= cap). */
static int decode(argus_nn_session *s, face *out, int cap) {
  static const int strides[3] = {8, 16, 32};
  face cand[4096];
  int nc = 0;
  for (int si = 0; si < 3; si++) {
    char nm[4][16];
    const float *h[4];
    const char *heads[4] = {"cls", "obj", "bbox", "kps"};
    for (int k = 0; k < 4; k++) {
      snprintf(nm[k], sizeof nm[k], "%s_%d", heads[k], strides[si]);
      int oi = argus_nn_session_find_output(s, nm[k]);
      argus_nn_tensor_desc d;
      const void *p = NULL;
      if (oi < 0 || argus_nn_session_output(s, oi, &d, &p) != ARGUS_OK)
        return -1;
      h[k] = p;
    }
    int st = strides[si], gw = YW / st, gh = YH / st;
    for (int r = 0; r < gh; r++)
      for (int c = 0; c < gw; c++) {
        int i = r * gw + c;
        float cl = h[0][i] < 0 ? 0 : h[0][i], ob = h[1][i] < 0 ? 0 : h[1][i];
        float sc = sqrtf(cl * ob);
        if (sc < DECODE_MIN || nc >= 4096)
          continue;
        const float *b = h[2] + 4 * i;
        float cx = (c + b[0]) * st, cy = (r + b[1]) * st;
        float w = expf(b[2]) * st, hh = expf(b[3]) * st;
        cand[nc++] = (face){cx - w / 2, cy - hh / 2, cx + w / 2, cy + hh / 2,
                            sc};
      }
  }
  /* sort by score, then NMS */
  for (int i = 1; i < nc; i++)
    for (int j = i; j > 0 && cand[j].score > cand[j - 1].score; j--) {
      face t = cand[j];
      cand[j] = cand[j - 1];
      cand[j - 1] = t;
    }
  int n = 0;
  for (int i = 0; i < nc && n < cap; i++) {
    int keep = 1;
    for (int j = 0; j < n && keep; j++)
      keep = iou(&cand[i], &out[j]) <= 0.45f;
    if (keep)
      out[n++] = cand[i];
  }
  return n;
}

/* The photo resized to 640x480 as the BGR planes YuNet takes (0..255). */
static int load_photo(const char *path, float *dst) {
  argus_image img, small;
  argus_image_error ie;
  memset(&ie, 0, sizeof ie);
  if (argus_image_read_file(path, ARGUS_PIX_BGR8, &img, &ie) != ARGUS_OK)
    return -1;
  if (argus_image_alloc(&small, YW, YH, ARGUS_PIX_BGR8) != ARGUS_OK) {
    argus_image_free(&img);
    return -1;
  }
  int rc = argus_image_resize(&img, &small) == ARGUS_OK ? 0 : -1;
  for (int y = 0; y < YH && !rc; y++) {
    const uint8_t *row = small.data[0] + (size_t)y * small.stride[0];
    for (int x = 0; x < YW; x++)
      for (int ch = 0; ch < 3; ch++)
        dst[(size_t)ch * YW * YH + (size_t)y * YW + x] = row[3 * x + ch];
  }
  argus_image_free(&small);
  argus_image_free(&img);
  return rc;
}

static argus_nn_session *yunet_session(argus_nn_model *m, int precision) {
  argus_nn_input_shape shape;
  memset(&shape, 0, sizeof shape);
  shape.name = "input";
  shape.rank = 4;
  shape.dims[0] = 1;
  shape.dims[1] = 3;
  shape.dims[2] = YH;
  shape.dims[3] = YW;
  argus_nn_session_opts so;
  memset(&so, 0, sizeof so);
  so.shapes = &shape;
  so.nshapes = 1;
  so.precision = precision;
  argus_nn_session *s = NULL;
  argus_nn_error ne;
  memset(&ne, 0, sizeof ne);
  CHECK_OK(argus_nn_session_create(m, &so, &s, &ne));
  if (!s)
    fprintf(stderr, "session (%s): %s\n", argus_nn_precision_name(precision),
            ne.msg);
  return s;
}

/* Debug lines of the session planner that report a map kept in pairs, and
 * a Resize folded into an Add. */
static int pair_lines, up2_lines, relu_lines;
static void count_pairs(void *user, argus_log_level level, const char *module,
                        const char *line) {
  (void)user, (void)level, (void)module;
  if (strstr(line, "kept as bf16 pairs"))
    pair_lines++;
  if (strstr(line, "(2x nearest) folded in"))
    up2_lines++;
  if (strstr(line, "+relu+dw3x3"))
    relu_lines++;
}

/* Outputs of two sessions run on the same input whose bits differ. */
static size_t outputs_differ(argus_nn_session *a, argus_nn_session *b,
                             size_t *total) {
  size_t ndiff = 0;
  *total = 0;
  for (int o = 0; o < argus_nn_session_output_count(a); o++) {
    argus_nn_tensor_desc d0, d1;
    const void *p0, *p1;
    CHECK_OK(argus_nn_session_output(a, o, &d0, &p0));
    CHECK_OK(argus_nn_session_output(b, o, &d1, &p1));
    size_t n = 1;
    for (int r = 0; r < d0.rank; r++)
      n *= (size_t)d0.dims[r];
    for (size_t i = 0; i < n; i++)
      ndiff += float_bits(((const float *)p0)[i]) != float_bits(((const float *)p1)[i]);
    *total += n;
  }
  return ndiff;
}

/* Runs s on `in` (3 x YH x YW floats). */
static void run_on(argus_nn_session *s, const float *in) {
  argus_nn_tensor_desc d;
  void *p;
  argus_nn_error ne;
  memset(&ne, 0, sizeof ne);
  CHECK_OK(argus_nn_session_input(s, 0, &d, &p));
  memcpy(p, in, (size_t)3 * YW * YH * sizeof *in);
  CHECK_OK(argus_nn_session_run(s, &ne));
}

/* Runs b on `in` (ref has run on it) and requires every output bit for bit
 * the same as ref's. */
static void check_same_outputs(argus_nn_session *ref, argus_nn_session *b,
                               const float *in, const char *what) {
  CHECK(b != NULL);
  if (!b)
    return;
  run_on(b, in);
  size_t total, ndiff = outputs_differ(ref, b, &total);
  printf("  %s: %zu of %zu outputs differ\n", what, ndiff, total);
  CHECK_INT_EQ(ndiff, 0);
}

/* rel under $env (or dflt) into buf; 0, after saying that `part` skips,
 * when it cannot be read. */
static int data_path(char *buf, size_t n, const char *env, const char *dflt,
                     const char *rel, const char *part) {
  const char *root = getenv(env);
  snprintf(buf, n, "%s/%s", root ? root : dflt, rel);
  if (access(buf, R_OK) == 0)
    return 1;
  fprintf(stderr, "SKIP %s: no %s (%s)\n", part, buf, env);
  return 0;
}

/* YuNet's outputs of a lower-precision session `lo` against the f32 session
 * `hi` on the same input: every value within the bounds, some value
 * different when the CPU runs that precision (`runs`), and the same faces. */
static void compare_yunet(argus_nn_session *hi, argus_nn_session *lo,
                          const char *name, int runs, double score_atol,
                          double geom_atol) {
  argus_nn_session *s[2] = {hi, lo};
  int nout = argus_nn_session_output_count(s[0]);
  CHECK_INT_EQ(nout, 12);
  int differ = 0;
  for (int o = 0; o < nout; o++) {
    argus_nn_tensor_desc d0, d1;
    const void *p0, *p1;
    CHECK_OK(argus_nn_session_output(s[0], o, &d0, &p0));
    CHECK_OK(argus_nn_session_output(s[1], o, &d1, &p1));
    size_t n = 1;
    for (int r = 0; r < d0.rank; r++)
      n *= (size_t)d0.dims[r];
    const float *a = p0, *b = p1;
    double maxd = 0, maxrel = 0;
    size_t over = 0;
    int geom = strncmp(d0.name, "bbox", 4) == 0 || strncmp(d0.name, "kps", 3) == 0;
    double atol = geom ? geom_atol : score_atol, rtol = geom ? GEOM_RTOL : 0;
    for (size_t i = 0; i < n; i++) {
      double dd = fabs((double)b[i] - a[i]);
      if (dd > maxd)
        maxd = dd;
      if (dd / (fabs(a[i]) + 1e-3) > maxrel)
        maxrel = dd / (fabs(a[i]) + 1e-3);
      if (!(dd <= atol + rtol * fabs(a[i])))
        over++;
      differ |= dd != 0;
    }
    printf("  %-8s %6zu values: max |%s-f32| %.5f, max rel %.4f, %zu over "
           "the bound\n",
           d0.name, n, name, maxd, maxrel, over);
    CHECK_INT_EQ(over, 0);
  }
  /* the session really rounds (else the comparison proves nothing) */
  if (runs)
    CHECK(differ);
  /* Every face of score >= MATCH_MIN in one is in the other (decoded down
   * to DECODE_MIN, so that a score near the line cannot flip the test). */
  face f[2][64];
  int nf[2] = {decode(s[0], f[0], 64), decode(s[1], f[1], 64)};
  printf("  faces >= %.1f: f32 %d, %s %d\n", DECODE_MIN, nf[0], name, nf[1]);
  int strong = 0;
  for (int i = 0; i < nf[0]; i++)
    strong += f[0][i].score >= MATCH_MIN;
  CHECK(strong >= 2); /* two people in the photo */
  for (int a = 0; a < 2; a++)
    for (int i = 0; i < nf[a]; i++) {
      if (f[a][i].score < MATCH_MIN)
        continue;
      float best = 0, ds = 1;
      for (int j = 0; j < nf[!a]; j++)
        if (iou(&f[a][i], &f[!a][j]) > best) {
          best = iou(&f[a][i], &f[!a][j]);
          ds = fabsf(f[a][i].score - f[!a][j].score);
        }
      printf("  %s face %d: score %.4f, best IoU %.4f, score diff %.4f\n",
             a ? name : "f32", i, f[a][i].score, best, ds);
      CHECK(best >= 0.9f);
      CHECK(ds <= 0.05f);
    }
}

static void test_yunet(void) {
  char mpath[4096], ppath[4096];
  if (!data_path(mpath, sizeof mpath, "ARGUS_MODELS_DIR", "models",
                 "yunet_n_640_640.onnx", "part 3") ||
      !data_path(ppath, sizeof ppath, "ARGUS_SHARED_DATA", "../shared/data",
                 "stills/face_recognition_examples/examples/two_people.jpg",
                 "part 3"))
    return;
  if (!(argus_cpu_features() & ARGUS_CPU_AVX512_BF16))
    fprintf(stderr, "note: no AVX512_BF16: the bf16 session runs in f32, "
                    "part 3 compares f32 with itself\n");
  argus_nn_model *m = NULL;
  argus_nn_error ne;
  memset(&ne, 0, sizeof ne);
  CHECK_OK(argus_nn_model_load_file(mpath, &m, &ne));
  if (!m)
    return;
  argus_log_level lvl = argus_log_get_level();
  argus_log_set_level(ARGUS_LOG_DEBUG);
  argus_log_set_sink(count_pairs, NULL);
  argus_nn_session *s[2] = {yunet_session(m, ARGUS_NN_PRECISION_F32),
                            yunet_session(m, ARGUS_NN_PRECISION_BF16)};
  argus_log_set_sink(NULL, NULL);
  argus_log_set_level(lvl);
  /* the same bf16 session with every map in float32; the f32 session with
   * the Resizes run on their own */
  setenv("ARGUS_NN_NO_PAIRS", "1", 1);
  argus_nn_session *sp = yunet_session(m, ARGUS_NN_PRECISION_BF16);
  unsetenv("ARGUS_NN_NO_PAIRS");
  setenv("ARGUS_NN_NO_UP2", "1", 1);
  argus_nn_session *su = yunet_session(m, ARGUS_NN_PRECISION_F32);
  unsetenv("ARGUS_NN_NO_UP2");
  argus_nn_session *s8 = yunet_session(m, ARGUS_NN_PRECISION_INT8);
  float *in = malloc((size_t)3 * YW * YH * sizeof *in);
  CHECK(in && load_photo(ppath, in) == 0);
  if (!s[0] || !s[1] || !in)
    goto out;
  for (int k = 0; k < 2; k++)
    run_on(s[k], in);
  compare_yunet(s[0], s[1], "bf16",
                !!(argus_cpu_features() & ARGUS_CPU_AVX512_BF16), SCORE_ATOL,
                GEOM_ATOL);
  /* int8: wider bounds, the same faces */
  if (s8) {
    run_on(s8, in);
    compare_yunet(s[0], s8, "int8",
                  !!(argus_cpu_features() & ARGUS_CPU_AVX512_VNNI),
                  SCORE_ATOL_I8, GEOM_ATOL_I8);
  }
  /* Maps kept as bf16 pairs between fused nodes change nothing: the
   * outputs are bit for bit those of the same session without them. */
  if (argus_cpu_features() & ARGUS_CPU_AVX512_BF16) {
    printf("  maps kept as bf16 pairs: %d\n", pair_lines);
    CHECK(pair_lines >= 4);
  }
  check_same_outputs(s[1], sp, in, "pairs vs float32 maps");
  /* The Resizes folded into their Adds (two in YuNet's feature pyramid)
   * change nothing either. */
  printf("  Resizes folded into Adds: %d (each of two sessions)\n",
         up2_lines / 2);
  CHECK_INT_EQ(up2_lines, 4);
  check_same_outputs(s[0], su, in, "Resize + Add vs folded");
out:
  free(in);
  argus_nn_session_free(sp);
  argus_nn_session_free(su);
  argus_nn_session_free(s8);
  argus_nn_session_free(s[0]);
  argus_nn_session_free(s[1]);
  argus_nn_model_free(m);
}

/* ---- 4. fr_landmark on real faces, bf16 vs f32 -------------------------- */

/* Bounds on the 68 points (in units of the inter-ocular distance, outer eye
 * corners 36 and 45, of the f32 points): the mean over a face's points
 * within LM_MEAN, any one point within LM_MAX. */
#define LM_MEAN 0.005
#define LM_MAX 0.02
#define LM_FACES 100

static argus_nn_session *lm_session(argus_nn_model *m, int precision) {
  argus_nn_session_opts so;
  memset(&so, 0, sizeof so);
  so.precision = precision;
  argus_nn_session *s = NULL;
  argus_nn_error ne;
  memset(&ne, 0, sizeof ne);
  CHECK_OK(argus_nn_session_create(m, &so, &s, &ne));
  return s;
}

static int lm_cmp_name(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The landmarker's 1x1 convs followed by a ReLU and a depthwise 3x3 run
 * fused (epi.pw_relu, nine in fr_landmark): in f32 and in bf16 every output
 * is bit for bit that of the same model with the pairs left unfused
 * (ARGUS_NN_NO_PW_RELU=1), on a smooth synthetic input. */
static void check_pw_relu_fusion(const char *mpath) {
  argus_nn_model *m[2] = {NULL, NULL};
  argus_nn_error ne;
  memset(&ne, 0, sizeof ne);
  CHECK_OK(argus_nn_model_load_file(mpath, &m[0], &ne));
  setenv("ARGUS_NN_NO_PW_RELU", "1", 1);
  CHECK_OK(argus_nn_model_load_file(mpath, &m[1], &ne));
  unsetenv("ARGUS_NN_NO_PW_RELU");
  static const int prec[2] = {ARGUS_NN_PRECISION_F32, ARGUS_NN_PRECISION_BF16};
  for (int k = 0; k < 2 && m[0] && m[1]; k++) {
    argus_log_level lvl = argus_log_get_level();
    argus_log_set_level(ARGUS_LOG_DEBUG);
    argus_log_set_sink(count_pairs, NULL);
    relu_lines = 0;
    argus_nn_session *s[2] = {lm_session(m[0], prec[k]),
                              lm_session(m[1], prec[k])};
    argus_log_set_sink(NULL, NULL);
    argus_log_set_level(lvl);
    CHECK_INT_EQ(relu_lines, 9); /* in the first session only */
    for (int i = 0; i < 2 && s[i]; i++) {
      argus_nn_tensor_desc td;
      void *in = NULL;
      CHECK_OK(argus_nn_session_input(s[i], 0, &td, &in));
      for (int j = 0; j < 64 * 64; j++)
        ((float *)in)[j] = 0.5f + 0.4f * sinf(0.11f * (float)j) *
                                      cosf(0.07f * (float)(j / 64));
      CHECK_OK(argus_nn_session_run(s[i], &ne));
    }
    if (s[0] && s[1]) {
      size_t total, nd = outputs_differ(s[0], s[1], &total);
      printf("  fr_landmark %s, 1x1+ReLU+dw3x3 fused vs not: %zu of %zu "
             "outputs differ\n",
             argus_nn_precision_name(prec[k]), nd, total);
      CHECK_INT_EQ(nd, 0);
    }
    argus_nn_session_free(s[0]);
    argus_nn_session_free(s[1]);
  }
  argus_nn_model_free(m[0]);
  argus_nn_model_free(m[1]);
}

/* The first LM_FACES person folders of LFW-112 (sorted), the first photo
 * of each: a grey 64x64 crop of the whole 112x112 aligned face, as the
 * landmarker's card feeds it (scale 1/256). */
static void test_landmarker(int precision) {
  char mpath[4096], dir[4096];
  if (!data_path(mpath, sizeof mpath, "ARGUS_MODELS_DIR", "models",
                 "fr_landmark.onnx", "part 4") ||
      !data_path(dir, sizeof dir, "ARGUS_SHARED_DATA", "../shared/data",
                 "lfw-112/images", "part 4"))
    return;
  DIR *d = opendir(dir);
  if (!d) {
    fprintf(stderr, "SKIP part 4: cannot list %s\n", dir);
    return;
  }
  char *names[6000];
  int nn = 0;
  struct dirent *de;
  while ((de = readdir(d)) && nn < 6000)
    if (de->d_name[0] != '.')
      names[nn++] = strdup(de->d_name);
  closedir(d);
  qsort(names, (size_t)nn, sizeof names[0], lm_cmp_name);
  if (precision == ARGUS_NN_PRECISION_BF16)
    check_pw_relu_fusion(mpath);
  argus_nn_model *m = NULL;
  argus_nn_error ne;
  memset(&ne, 0, sizeof ne);
  CHECK_OK(argus_nn_model_load_file(mpath, &m, &ne));
  argus_nn_session *s[2] = {NULL, NULL};
  if (m) {
    s[0] = lm_session(m, ARGUS_NN_PRECISION_F32);
    s[1] = lm_session(m, precision);
  }
  int faces = 0, bad = 0;
  double worst_mean = 0, worst_pt = 0, sum_mean = 0;
  for (int i = 0; i < nn && faces < LM_FACES && s[0] && s[1]; i++) {
    char sub[8192], photo[8192];
    snprintf(sub, sizeof sub, "%s/%s", dir, names[i]);
    DIR *pd = opendir(sub);
    if (!pd)
      continue;
    char first[1024] = "";
    while ((de = readdir(pd)))
      if (de->d_name[0] != '.' && (!first[0] || strcmp(de->d_name, first) < 0))
        snprintf(first, sizeof first, "%s", de->d_name);
    closedir(pd);
    if (!first[0])
      continue;
    snprintf(photo, sizeof photo, "%s/%s", sub, first);
    argus_image img;
    argus_image_error ie;
    memset(&ie, 0, sizeof ie);
    if (argus_image_read_file(photo, ARGUS_PIX_RGB8, &img, &ie) != ARGUS_OK)
      continue;
    const float box[4] = {0, 0, (float)img.width, (float)img.height};
    const float *out[2] = {NULL, NULL};
    for (int k = 0; k < 2; k++) {
      argus_nn_tensor_desc td;
      void *in = NULL;
      const void *o = NULL;
      CHECK_OK(argus_nn_session_input(s[k], 0, &td, &in));
      CHECK_OK(argus_image_to_tensor(&img, box, 64, 64, ARGUS_CH_GRAY, 0.0f,
                                     1.0f / 256.0f, in));
      CHECK_OK(argus_nn_session_run(s[k], &ne));
      CHECK_OK(argus_nn_session_output(s[k], 0, &td, &o));
      out[k] = o;
    }
    argus_image_free(&img);
    if (!out[0] || !out[1])
      break;
    const float *a = out[0], *b = out[1];
    double iod = hypot(a[2 * 45] - a[2 * 36], a[2 * 45 + 1] - a[2 * 36 + 1]);
    double mean = 0, mx = 0;
    for (int p = 0; p < 68; p++) {
      double e = hypot(b[2 * p] - a[2 * p], b[2 * p + 1] - a[2 * p + 1]) / iod;
      mean += e / 68;
      mx = e > mx ? e : mx;
    }
    bad += !(mean <= LM_MEAN && mx <= LM_MAX);
    worst_mean = mean > worst_mean ? mean : worst_mean;
    worst_pt = mx > worst_pt ? mx : worst_pt;
    sum_mean += mean;
    faces++;
  }
  printf("fr_landmark %s vs f32 on %d LFW faces: mean point error %.5f of "
         "the inter-ocular distance (worst face %.5f, worst point %.5f)\n",
         argus_nn_precision_name(precision), faces,
         faces ? sum_mean / faces : 0.0, worst_mean, worst_pt);
  CHECK_INT_EQ(faces, LM_FACES);
  CHECK_INT_EQ(bad, 0);
  argus_nn_session_free(s[0]);
  argus_nn_session_free(s[1]);
  argus_nn_model_free(m);
  for (int i = 0; i < nn; i++)
    free(names[i]);
}

/* ---- 5. the precision's names and the session option ------------------- */

static void test_names(void) {
  int p = -1;
  CHECK_OK(argus_nn_precision_parse("bf16", &p));
  CHECK_INT_EQ(p, ARGUS_NN_PRECISION_BF16);
  CHECK_OK(argus_nn_precision_parse("f32", &p));
  CHECK_INT_EQ(p, ARGUS_NN_PRECISION_F32);
  CHECK_OK(argus_nn_precision_parse("int8", &p));
  CHECK_INT_EQ(p, ARGUS_NN_PRECISION_INT8);
  CHECK(strcmp(argus_nn_precision_name(ARGUS_NN_PRECISION_INT8), "int8") == 0);
  CHECK(argus_nn_precision_parse("fp16", &p) == ARGUS_E_INVALID_ARG);
  CHECK(argus_nn_precision_parse("int4", &p) == ARGUS_E_INVALID_ARG);
  CHECK(strcmp(argus_nn_precision_name(ARGUS_NN_PRECISION_BF16), "bf16") == 0);
  CHECK(argus_nn_model_set_precision(NULL, ARGUS_NN_PRECISION_BF16) ==
        ARGUS_E_INVALID_ARG);
}

int main(int argc, char **argv) {
  (void)argc;
  (void)argv;
  if (getenv("ARGUS_PRECISION"))
    SKIP("ARGUS_PRECISION is set: it overrides the sessions' precision");
  argus_cpu_set_ftz();
  test_convert();
  test_names();
  test_gemm();
  test_conv3x3s2c();
  test_pairs();
  test_yunet();
  test_landmarker(ARGUS_NN_PRECISION_BF16);
  test_landmarker(ARGUS_NN_PRECISION_INT8);
  return check_report("test_bf16");
}
