/* The INT8 precision path (kernels.h nn_i8_gemm_fn, Conv with
 * "precision": "int8").
 *
 * 1. The reference kernel against a double-precision product of the
 *    unquantised operands, within the bound its quantisation allows
 *    (per output: sum_k |a| * sb + (|b| + sb) * sa / 2, sa the row's weight
 *    step, sb the block's activation step), and the AVX-512 VNNI kernel
 *    against the reference bit for bit, on odd m/n/k, direct and indirect
 *    B, every epilogue, residual aliasing C, blocks with no negative
 *    values, all zeros and a NaN; the weight packing (scales, row sums,
 *    the quads' bytes) against its definition. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "argus/core.h"
#include "argus/nn.h"
#include "bits_check.h"
#include "check.h"
#include "nn/kernels/kernels.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return (uint32_t)(rng_state >> 11);
}

static size_t rint_(size_t lo, size_t hi) { return lo + rnd() % (hi - lo + 1); }

static float rf(void) {
  return ((float)(rnd() & 0xffffff) / 8388608.0f - 1.0f) *
         (rnd() % 8 ? 1.0f : 16.0f);
}

/* kind 0: signed values; 1: >= 0 (after a ReLU); 2: all zero. */
static float *rvec(size_t n, int kind) {
  float *p = malloc((n ? n : 1) * sizeof *p);
  for (size_t i = 0; i < n; i++)
    p[i] = kind == 2 ? 0.0f : kind == 1 ? fabsf(rf()) : rf();
  return p;
}

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

/* The packed panels against their definition. */
static void check_pack(size_t m, size_t k, const float *a,
                       const uint32_t *ap) {
  int bad = 0;
  for (size_t i = 0; i < m && !bad; i++) {
    const uint32_t *pa = ap + i / NN_I8_MR * nn_i8_panel_size(k);
    size_t r = i % NN_I8_MR;
    float mx = 0.0f;
    for (size_t kk = 0; kk < k; kk++)
      mx = fmaxf(mx, fabsf(a[i * k + kk]));
    float sa;
    memcpy(&sa, pa + r, 4);
    int32_t rs = (int32_t)pa[NN_I8_MR + r], sum = 0;
    if (sa != mx / 127.0f)
      bad = 1;
    for (size_t kk = 0; kk < k && !bad; kk++) {
      int8_t q = (int8_t)(uint8_t)(pa[2 * NN_I8_MR + kk / 4 * NN_I8_MR + r] >>
                                   (8 * (kk % 4)));
      sum += q;
      /* within half a step of the value, and never past +-127 */
      if (q < -127 || fabs((double)q * sa - a[i * k + kk]) > 0.5001 * sa)
        bad = 1;
    }
    if (sum != rs)
      bad = 1;
    if (bad)
      fprintf(stderr, "pack m=%zu k=%zu row %zu wrong\n", m, k, i);
  }
  CHECK(!bad);
}

/* One GEMM case: ref vs the double product (no epilogue), then the
 * AVX-512 kernel vs ref bit for bit (random epilogue). */
static void gemm_case(nn_i8_gemm_fn fast, size_t m, size_t n, size_t k,
                      int indirect, int alias_res, int kind) {
  size_t ldb = n + rint_(0, 5), ldc = n + rint_(0, 3);
  float *a = rvec(m * k, 0), *b = rvec(k * ldb, kind);
  float *bias = rvec(m, 0), *slope = rvec(m, 0);
  if (kind == 3) /* one NaN: every kernel must skip it in the range */
    b[rint_(0, k - 1) * ldb + rint_(0, n - 1)] = NAN;
  uint32_t *ap = malloc(nn_i8_pack_a_size(m, k) * sizeof *ap);
  uint32_t *bbuf = malloc(nn_i8_bbuf_size(k) * sizeof *bbuf);
  const float **bp = malloc(k * sizeof *bp);
  float *bi = malloc(k * ldb * sizeof *bi);
  for (size_t kk = 0; kk < k; kk++) {
    memcpy(bi + (k - 1 - kk) * ldb, b + kk * ldb, ldb * sizeof(float));
    bp[kk] = bi + (k - 1 - kk) * ldb;
  }
  nn_i8_pack_a(m, k, a, k, 1, ap);
  check_pack(m, k, a, ap);
  float *c0 = calloc(m * ldc, sizeof *c0), *c1 = calloc(m * ldc, sizeof *c1);
  float *res = rvec(m * ldc, 0);
  nn_post none;
  memset(&none, 0, sizeof none);
  nn_i8_gemm_ref(m, n, k, ap, indirect ? NULL : b, ldb, indirect ? bp : NULL,
                 0, c0, ldc, &none, bbuf);
  int bad = 0;
  for (size_t j0 = 0; j0 < n && kind != 3; j0 += NN_I8_NB) {
    size_t j1 = j0 + NN_I8_NB < n ? j0 + NN_I8_NB : n;
    double lo = 0, hi = 0;
    for (size_t kk = 0; kk < k; kk++)
      for (size_t j = j0; j < j1; j++)
        lo = fmin(lo, b[kk * ldb + j]), hi = fmax(hi, b[kk * ldb + j]);
    double sb = (hi - lo) / 255.0;
    for (size_t i = 0; i < m && !bad; i++) {
      double sa = 0;
      for (size_t kk = 0; kk < k; kk++)
        sa = fmax(sa, fabs(a[i * k + kk]));
      sa /= 127.0;
      for (size_t j = j0; j < j1 && !bad; j++) {
        double s = 0, e = 0;
        for (size_t kk = 0; kk < k; kk++) {
          double x = a[i * k + kk], y = b[kk * ldb + j];
          s += x * y;
          e += fabs(x) * sb + (fabs(y) + sb) * sa * 0.5;
        }
        double d = fabs(c0[i * ldc + j] - s);
        if (d > e * 1.001 + 1e-6 * fabs(s) + 1e-30) {
          fprintf(stderr,
                  "ref m=%zu n=%zu k=%zu (%zu,%zu): %.9g vs %.9g (bound %g)\n",
                  m, n, k, i, j, c0[i * ldc + j], s, e);
          bad = 1;
        }
      }
    }
  }
  CHECK(!bad);
  if (kind == 2)
    for (size_t i = 0; i < m; i++)
      for (size_t j = 0; j < n; j++)
        if (c0[i * ldc + j] != 0.0f)
          bad = 1;
  CHECK(!bad);
  if (fast) {
    nn_post p = random_post(bias, slope);
    p.ldr = ldc;
    if (alias_res) {
      memcpy(c0, res, m * ldc * sizeof(float));
      memcpy(c1, res, m * ldc * sizeof(float));
    }
    p.res = alias_res ? c0 : (rnd() % 2 ? res : NULL);
    nn_i8_gemm_ref(m, n, k, ap, indirect ? NULL : b, ldb,
                   indirect ? bp : NULL, 0, c0, ldc, &p, bbuf);
    if (alias_res)
      p.res = c1;
    fast(m, n, k, ap, indirect ? NULL : b, ldb, indirect ? bp : NULL, 0, c1,
         ldc, &p, bbuf);
    char what[128];
    snprintf(what, sizeof what,
             "avx512 int8 m=%zu n=%zu k=%zu ind=%d act=%d kind=%d", m, n, k,
             indirect, p.act, kind);
    CHECK_INT_EQ(bits_differ(what, c1, c0, m, n, ldc), 0);
  }
  free(a), free(b), free(bi), free(bias), free(slope), free(ap), free(bbuf);
  free(bp), free(c0), free(c1), free(res);
}

static void test_gemm(void) {
  nn_i8_gemm_fn fast = nn_i8_gemm_get();
  if (!fast)
    fprintf(stderr, "note: no AVX512_VNNI on this CPU (or ARGUS_ISA): only "
                    "the reference kernel is checked\n");
  static const size_t ms[] = {1, 3, 7, 8, 9, 16, 21};
  static const size_t ns[] = {1, 5, 15, 16, 17, 33, 47, 48, 49, 97, 150};
  static const size_t ks[] = {1, 2, 3, 4, 5, 16, 17, 63, 144, 301};
  for (size_t a = 0; a < sizeof ms / sizeof *ms; a++)
    for (size_t b = 0; b < sizeof ns / sizeof *ns; b++) {
      size_t k = ks[(a * 3 + b) % (sizeof ks / sizeof *ks)];
      gemm_case(fast, ms[a], ns[b], k, (int)((a + b) % 2), 0, (int)(b % 2));
    }
  for (int t = 0; t < 80; t++)
    gemm_case(fast, rint_(1, 40), rint_(1, 200), rint_(1, 200),
              (int)(rnd() % 2), t % 5 == 0, (int)(rnd() % 4));
  /* n = 1: the matrix-vector path (a fully connected layer on one row,
   * run as W x): odd and even quad counts, a landmarker's 512 -> 136 */
  static const size_t gk[] = {1, 3, 4, 7, 8, 9, 12, 32, 130, 511, 512};
  for (size_t i = 0; i < sizeof gk / sizeof *gk; i++)
    gemm_case(fast, i % 2 ? 136 : rint_(1, 40), 1, gk[i], (int)(i % 2),
              i % 3 == 0, (int)(i % 4));
}

int main(int argc, char **argv) {
  (void)argc;
  (void)argv;
  if (getenv("ARGUS_PRECISION"))
    SKIP("ARGUS_PRECISION is set: it overrides the sessions' precision");
  argus_cpu_set_ftz();
  test_gemm();
  return check_report("test_int8");
}
