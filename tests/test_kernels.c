/* Every optimised kernel against its reference kernel (and the reference
 * against a naive double-precision model) on random shapes with tails,
 * strides, pads and every epilogue, for each ISA this CPU supports: the
 * engine's table (src/nn/kernels) and the index's fp32 dot product
 * (src/index/kernels; its scoring tiles are tested in test_index.c, its
 * Hamming scans in test_index_sketch.c, the image kernels in
 * test_image.c). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "argus/core.h"
#include "check.h"
#include "index/kernels/kernels.h"
#include "nn/kernels/kernels.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return (uint32_t)(rng_state >> 11);
}

/* Uniform integer in [lo, hi]. */
static size_t rint_(size_t lo, size_t hi) { return lo + rnd() % (hi - lo + 1); }

static float rf(void) { return (float)(rnd() % 2001) / 1000.0f - 1.0f; }

static float *rvec(size_t n) {
  float *p = malloc((n ? n : 1) * sizeof *p);
  for (size_t i = 0; i < n; i++)
    p[i] = rf();
  return p;
}

/* Per-row epilogue parameters, randomly chosen. */
typedef struct post_case {
  nn_post p;
  float bias[64], slope[64];
} post_case;

static void random_post(post_case *pc, int allow_res) {
  memset(pc, 0, sizeof *pc);
  for (int i = 0; i < 64; i++) {
    pc->bias[i] = rf();
    pc->slope[i] = rf() * 0.5f;
  }
  pc->p.bias = rnd() % 4 ? pc->bias : NULL;
  pc->p.act = (int)(rnd() % 5);
  pc->p.slope = pc->slope;
  pc->p.slope_stride = rnd() % 2;
  pc->p.lo = -0.3f;
  pc->p.hi = 0.4f + rf() * 0.1f;
  pc->p.res_first = (int)(rnd() % 2);
  (void)allow_res;
}

static double naive_post(const nn_post *p, size_t i, double y,
                         const float *res) {
  if (p->bias)
    y += p->bias[i];
  if (res && p->res_first)
    y += *res;
  switch (p->act) {
  case NN_ACT_RELU:
    y = y > 0 ? y : 0;
    break;
  case NN_ACT_PRELU:
    if (y < 0)
      y *= p->slope[i * p->slope_stride];
    break;
  case NN_ACT_CLIP:
    y = y < p->lo ? p->lo : y;
    y = y > p->hi ? p->hi : y;
    break;
  case NN_ACT_SIGMOID:
    y = 1.0 / (1.0 + exp(-y));
    break;
  default:
    break;
  }
  if (res && !p->res_first)
    y += *res;
  return y;
}

static const nn_kernels *tables[3];
static int ntables;

static void pick_tables(void) {
  unsigned f = argus_cpu_features();
  tables[ntables++] = &nn_kernels_ref;
  if (f & ARGUS_CPU_AVX2)
    tables[ntables++] = &nn_kernels_avx2;
  if (f & ARGUS_CPU_AVX512)
    tables[ntables++] = &nn_kernels_avx512;
  for (int t = 0; t < ntables; t++)
    printf("testing kernel table %s (mr %u)\n", tables[t]->name,
           tables[t]->mr);
}

/* One GEMM case: m x n x k with row strides, random epilogue, residual in a
 * separate buffer or aliasing C (in-place accumulate). Uses nn_gemm_run so
 * that multi-panel m and column blocking are covered too. */
static void gemm_case(size_t m, size_t n, size_t k, size_t nc, int res_mode) {
  size_t ldb = n + rint_(0, 3), ldc = n + rint_(0, 3);
  float *a = rvec(m * k), *b = rvec(k * ldb), *res = rvec(m * ldc);
  float *init = rvec(m * ldc);
  post_case pc;
  random_post(&pc, 1);
  if (m > 64)
    pc.p.slope_stride = 0, pc.p.bias = NULL;
  float alpha = rnd() % 2 ? 1.0f : 0.5f;
  /* naive reference in double */
  double *want = malloc(m * n * sizeof *want);
  for (size_t i = 0; i < m; i++)
    for (size_t j = 0; j < n; j++) {
      double s = 0;
      for (size_t kk = 0; kk < k; kk++)
        s += (double)(alpha * a[i * k + kk]) * b[kk * ldb + j];
      const float *r = res_mode == 1   ? res + i * ldc + j
                       : res_mode == 2 ? init + i * ldc + j
                                       : NULL;
      want[i * n + j] = naive_post(&pc.p, i, s, r);
    }
  float *got_ref = NULL;
  for (int t = 0; t < ntables; t++) {
    const nn_kernels *kt = tables[t];
    float *ap = malloc(nn_pack_a_size(kt->mr, m, k) * sizeof *ap);
    nn_pack_a(kt->mr, m, k, a, k, 1, alpha, ap);
    float *c = malloc(m * ldc * sizeof *c);
    memcpy(c, init, m * ldc * sizeof *c);
    nn_post p = pc.p;
    p.res = res_mode == 1 ? res : res_mode == 2 ? c : NULL;
    p.ldr = ldc;
    nn_gemm_run(kt, m, n, k, ap, b, ldb, c, ldc, &p, nc);
    int bad = 0;
    for (size_t i = 0; i < m && !bad; i++) {
      for (size_t j = 0; j < n; j++) {
        float g = c[i * ldc + j];
        if (t == 0) {
          double tol = 1e-5 + 1e-4 * fabs(want[i * n + j]) + 2e-6 * (double)k;
          if (!(fabs(g - want[i * n + j]) <= tol)) {
            bad = 1;
            CHECK_NEAR(g, want[i * n + j], tol, 0);
            break;
          }
        } else {
          float r = got_ref[i * ldc + j];
          double tol = 1e-5 + 1e-4 * fabs(r) + 1e-6 * (double)k;
          if (!(fabs(g - r) <= tol)) {
            bad = 1;
            CHECK_NEAR(g, r, tol, 0);
            break;
          }
        }
      }
      /* padding columns of C between n and ldc are untouched */
      for (size_t j = n; j < ldc && !bad; j++)
        if (c[i * ldc + j] != init[i * ldc + j]) {
          bad = 1;
          CHECK(c[i * ldc + j] == init[i * ldc + j]);
        }
    }
    check_count_++;
    if (bad)
      fprintf(stderr, "  gemm %s m=%zu n=%zu k=%zu nc=%zu act=%d res=%d\n",
              kt->name, m, n, k, nc, pc.p.act, res_mode);
    free(ap);
    if (t == 0)
      got_ref = c;
    else
      free(c);
  }
  free(got_ref);
  free(want);
  free(a);
  free(b);
  free(res);
  free(init);
}

static void test_gemm(void) {
  /* exhaustive small tails */
  for (size_t m = 1; m <= 9; m++)
    for (size_t n = 1; n <= 40; n++)
      gemm_case(m, n, rint_(1, 7), 0, (int)(rnd() % 3));
  /* random larger shapes, multi-panel, column blocks */
  for (int it = 0; it < 300; it++) {
    size_t m = rint_(1, 70), n = rint_(1, 300), k = rint_(1, 300);
    size_t nc = rnd() % 2 ? 0 : rint_(1, 96);
    gemm_case(m, n, k, nc, (int)(rnd() % 3));
  }
  /* the shapes of the models' 1x1 convolutions */
  gemm_case(128, 3136, 64, 256, 0);
  gemm_case(64, 784, 128, 0, 1);
  gemm_case(128, 49, 512, 0, 2);
  gemm_case(1, 136, 512, 0, 2);
}

/* Indirect GEMM: rows of B scattered in a buffer in random order, read
 * through a pointer array at a column offset; compared with a naive
 * product. One panel (m <= mr) per call, as the convolution uses it. */
static void igemm_case(size_t m, size_t n, size_t k) {
  size_t boff = rint_(0, 5), stride = n + boff + rint_(0, 7);
  float *pool = rvec(k * stride), *a = rvec(m * k);
  const float **rows = malloc(k * sizeof *rows);
  size_t *perm = malloc(k * sizeof *perm);
  for (size_t i = 0; i < k; i++)
    perm[i] = i;
  for (size_t i = k; i > 1; i--) {
    size_t j = rnd() % i, t = perm[i - 1];
    perm[i - 1] = perm[j];
    perm[j] = t;
  }
  for (size_t i = 0; i < k; i++)
    rows[i] = pool + perm[i] * stride;
  post_case pc;
  random_post(&pc, 1);
  float *res = rvec(m * n);
  int use_res = (int)(rnd() % 2);
  pc.p.res = use_res ? res : NULL;
  pc.p.ldr = n;
  for (int t = 0; t < ntables; t++) {
    const nn_kernels *kt = tables[t];
    size_t mm = m > kt->mr ? kt->mr : m;
    float *ap = malloc(nn_pack_a_size(kt->mr, mm, k) * sizeof *ap);
    nn_pack_a(kt->mr, mm, k, a, k, 1, 1.0f, ap);
    float *c = malloc(mm * n * sizeof *c);
    kt->igemm(mm, n, k, ap, rows, boff, c, n, &pc.p);
    int bad = 0;
    for (size_t i = 0; i < mm && !bad; i++)
      for (size_t j = 0; j < n; j++) {
        double sum = 0;
        for (size_t kk = 0; kk < k; kk++)
          sum += (double)a[i * k + kk] * rows[kk][boff + j];
        double want = naive_post(&pc.p, i, sum, use_res ? res + i * n + j : NULL);
        double tol = 1e-5 + 1e-4 * fabs(want) + 2e-6 * (double)k;
        if (!(fabs(c[i * n + j] - want) <= tol)) {
          CHECK_NEAR(c[i * n + j], want, tol, 0);
          bad = 1;
          break;
        }
      }
    check_count_++;
    if (bad)
      fprintf(stderr, "  igemm %s m=%zu n=%zu k=%zu boff=%zu act=%d\n",
              kt->name, mm, n, k, boff, pc.p.act);
    free(ap);
    free(c);
  }
  free(pool);
  free(a);
  free(rows);
  free(perm);
  free(res);
}

static void test_igemm(void) {
  for (size_t n = 1; n <= 100; n++)
    igemm_case(rint_(1, 8), n, rint_(1, 40));
  for (int it = 0; it < 100; it++)
    igemm_case(rint_(1, 8), rint_(1, 300), rint_(1, 600));
}

static void dw_case(size_t ih, size_t iw, size_t stride, size_t pt, size_t pl,
                    size_t oh, size_t ow) {
  float *x = rvec(ih * iw), *w = rvec(9), *res = rvec(oh * ow + 1);
  post_case pc;
  random_post(&pc, 1);
  pc.p.slope_stride = 0;
  int use_res = (int)(rnd() % 2);
  pc.p.res = use_res ? res : NULL;
  pc.p.ldr = ow;
  float *want = malloc(oh * ow * sizeof *want);
  for (size_t oy = 0; oy < oh; oy++)
    for (size_t ox = 0; ox < ow; ox++) {
      double s = 0;
      for (size_t ky = 0; ky < 3; ky++)
        for (size_t kx = 0; kx < 3; kx++) {
          long iy = (long)(oy * stride + ky) - (long)pt;
          long ix = (long)(ox * stride + kx) - (long)pl;
          if (iy >= 0 && iy < (long)ih && ix >= 0 && ix < (long)iw)
            s += (double)w[ky * 3 + kx] * x[iy * (long)iw + ix];
        }
      want[oy * ow + ox] =
          (float)naive_post(&pc.p, 0, s, use_res ? res + oy * ow + ox : NULL);
    }
  float *ref = NULL;
  for (int t = 0; t < ntables; t++) {
    const nn_kernels *kt = tables[t];
    /* one guard float after the plane catches stores past the end */
    float *y = malloc((oh * ow + 1) * sizeof *y);
    y[oh * ow] = 12345.0f;
    (stride == 1 ? kt->dwconv3x3s1 : kt->dwconv3x3s2)(x, ih, iw, w, y, oh, ow,
                                                       pt, pl, &pc.p);
    const float *cmp = t == 0 ? want : ref;
    int bad = 0;
    for (size_t i = 0; i < oh * ow; i++)
      if (!(fabs(y[i] - cmp[i]) <= 1e-5 + 1e-4 * fabs(cmp[i]))) {
        CHECK_NEAR(y[i], cmp[i], 1e-5, 1e-4);
        bad = 1;
        break;
      }
    CHECK(y[oh * ow] == 12345.0f);
    check_count_++;
    if (bad)
      fprintf(stderr,
              "  dwconv3x3 %s s=%zu in=%zux%zu out=%zux%zu pad=%zu,%zu act=%d\n",
              kt->name, stride, ih, iw, oh, ow, pt, pl, pc.p.act);
    if (t == 0)
      ref = y;
    else
      free(y);
  }
  free(ref);
  free(want);
  free(x);
  free(w);
  free(res);
}

static void test_dwconv(void) {
  for (int it = 0; it < 1500; it++) {
    size_t stride = rint_(1, 2);
    size_t ih = rint_(1, 40), iw = rint_(1, 75);
    size_t pt = rint_(0, 2), pl = rint_(0, 2), pb = rint_(0, 2),
           pr = rint_(0, 2);
    if (ih + pt + pb < 3 || iw + pl + pr < 3)
      continue;
    size_t oh = (ih + pt + pb - 3) / stride + 1;
    size_t ow = (iw + pl + pr - 3) / stride + 1;
    dw_case(ih, iw, stride, pt, pl, oh, ow);
  }
  /* the models' planes */
  dw_case(56, 56, 1, 1, 1, 56, 56);
  dw_case(56, 56, 2, 1, 1, 28, 28);
  dw_case(120, 160, 1, 1, 1, 120, 160);
  /* planes over 64K floats: the AVX-512 stride-1 kernel walks them in bands
   * of 32 rows (tail band, bands ending inside the bottom padding) */
  dw_case(300, 260, 1, 1, 1, 300, 260);
  dw_case(270, 251, 1, 2, 0, 273, 250);
  dw_case(15, 20, 2, 1, 1, 8, 10);
  dw_case(7, 7, 1, 1, 1, 7, 7);
  /* 4- and 8-wide planes padded by one (the AVX-512 stride-1 kernel walks
   * them flat), and the same widths padded otherwise */
  for (size_t h = 1; h <= 9; h++) {
    dw_case(h, 4, 1, 1, 1, h, 4);
    dw_case(h, 8, 1, 1, 1, h, 8);
    dw_case(h, 8, 1, 0, 1, h - (h > 1), 8);
    dw_case(h + 2, 4, 1, 1, 0, h + 2, 3);
  }
  /* the AVX-512 stride-2 kernel's whole-plane case (each with a random
   * activation and residual), and its neighbours */
  for (int i = 0; i < 8; i++)
    dw_case(8, 8, 2, 1, 1, 4, 4);
  dw_case(8, 8, 2, 0, 0, 4, 4);
  dw_case(8, 8, 2, 1, 0, 4, 4);
  dw_case(7, 8, 2, 1, 1, 4, 4);
  dw_case(8, 9, 2, 1, 1, 4, 4);
}

/* The direct 3x3 stride-2 conv of few input channels: rows [oy0, oy1) of
 * every channel, against a double-precision sum (reference table) and the
 * reference (others); y has a channel stride ldy > oh*ow and guard floats
 * around the rows written catch stores outside them. */
static void c3s2_case(size_t cin, size_t co, size_t ih, size_t iw, size_t pt,
                      size_t pl, size_t pb, size_t pr, size_t oy0,
                      size_t oy1) {
  size_t oh = (ih + pt + pb - 3) / 2 + 1, ow = (iw + pl + pr - 3) / 2 + 1;
  if (oy1 > oh)
    oy1 = oh;
  if (oy0 > oy1)
    oy0 = oy1;
  size_t osz = oh * ow, ldy = osz + rint_(0, 5);
  float *x = rvec(cin * ih * iw), *w = rvec(co * cin * 9);
  float *res = rvec(co * ldy);
  post_case pc;
  random_post(&pc, 1);
  int use_res = (int)(rnd() % 2);
  pc.p.res = use_res ? res : NULL;
  pc.p.ldr = ldy;
  float *want = malloc(co * ldy * sizeof *want);
  double *wabs = malloc(co * ldy * sizeof *wabs);
  for (size_t o = 0; o < co; o++)
    for (size_t oy = oy0; oy < oy1; oy++)
      for (size_t ox = 0; ox < ow; ox++) {
        double acc = 0;
        double aabs = 0;
        for (size_t c = 0; c < cin; c++)
          for (size_t ky = 0; ky < 3; ky++)
            for (size_t kx = 0; kx < 3; kx++) {
              long iy = (long)(2 * oy + ky) - (long)pt;
              long ix = (long)(2 * ox + kx) - (long)pl;
              if (iy >= 0 && iy < (long)ih && ix >= 0 && ix < (long)iw) {
                double t = (double)w[((o * cin + c) * 3 + ky) * 3 + kx] *
                           x[(c * ih + (size_t)iy) * iw + (size_t)ix];
                acc += t;
                aabs += fabs(t);
              }
            }
        size_t p = oy * ow + ox;
        wabs[o * ldy + p] = aabs;
        want[o * ldy + p] = (float)naive_post(
            &pc.p, o, acc, use_res ? res + o * ldy + p : NULL);
      }
  float *ref = NULL;
  for (int t = 0; t < ntables; t++) {
    const nn_kernels *kt = tables[t];
    float *y = malloc(co * ldy * sizeof *y);
    for (size_t i = 0; i < co * ldy; i++)
      y[i] = 12345.0f;
    kt->conv3x3s2c(x, cin, ih, iw, w, co, y, ldy, ow, oy0, oy1, pt, pl,
                   &pc.p);
    const float *cmp = t == 0 ? want : ref;
    int bad = 0;
    for (size_t o = 0; o < co && !bad; o++)
      for (size_t i = 0; i < ldy; i++) {
        float g = y[o * ldy + i];
        if (i < oy0 * ow || i >= oy1 * ow) {
          if (g != 12345.0f) { /* written outside its rows */
            CHECK(g == 12345.0f);
            bad = 1;
            break;
          }
          continue;
        }
        float e = cmp[o * ldy + i];
        /* the kernels' bound (as the GEMM's): 1e-5 + 1e-4 relative, plus
         * the float32 rounding of a sum of up to 36 terms, k * 2^-24 *
         * sum |w*x| (the epilogues do not widen it) */
        double tol = 1e-5 + 36 * 0x1p-24 * wabs[o * ldy + i];
        if (!(fabs(g - e) <= tol + 1e-4 * fabs(e))) {
          CHECK_NEAR(g, e, tol, 1e-4);
          bad = 1;
          break;
        }
      }
    check_count_++;
    if (bad)
      fprintf(stderr,
              "  conv3x3s2c %s cin=%zu co=%zu in=%zux%zu pad=%zu,%zu,%zu,%zu "
              "rows=%zu..%zu act=%d res=%d\n",
              kt->name, cin, co, ih, iw, pt, pl, pb, pr, oy0, oy1, pc.p.act,
              use_res);
    if (t == 0)
      ref = y;
    else
      free(y);
  }
  free(ref);
  free(want);
  free(wabs);
  free(x);
  free(w);
  free(res);
}

static void test_conv3x3s2c(void) {
  for (int it = 0; it < 600; it++) {
    size_t ih = rint_(1, 30), iw = rint_(1, 80);
    size_t pt = rint_(0, 2), pl = rint_(0, 2), pb = rint_(0, 2),
           pr = rint_(0, 2);
    if (ih + pt + pb < 3 || iw + pl + pr < 3)
      continue;
    size_t oh = (ih + pt + pb - 3) / 2 + 1;
    size_t oy0 = rint_(0, oh), oy1 = rnd() % 2 ? oh : rint_(oy0, oh);
    c3s2_case(rint_(1, NN_CONV3X3S2C_MAX_CIN), rint_(1, 40), ih, iw, pt, pl,
              pb, pr, oy0, oy1);
  }
  /* every epilogue on YuNet's first conv's geometry (odd sizes), and
   * whole channel blocks with a tail */
  for (int it = 0; it < 10; it++)
    c3s2_case(3, 16, 61, 83, 1, 1, 1, 1, 0, 100);
  c3s2_case(3, 32, 48, 64, 1, 1, 1, 1, 0, 100);
  c3s2_case(4, 35, 33, 97, 1, 1, 0, 0, 3, 9);
  c3s2_case(1, 16, 2, 2, 1, 1, 1, 1, 0, 100);
}

static void test_dot(void) {
  for (size_t n = 0; n <= 300; n++) {
    float *a = rvec(n), *b = rvec(n);
    double want = 0;
    for (size_t i = 0; i < n; i++)
      want += (double)a[i] * b[i];
    for (int t = 0; t < ntables; t++) {
      float got = tables[t]->dot(a, b, n);
      CHECK_NEAR(got, want, 1e-5, 1e-4);
    }
    free(a);
    free(b);
  }
}

/* nc dot products of consecutive planes (the global depthwise conv): every
 * table against a double sum, with a guard float after the outputs. */
static void test_dots(void) {
  static const size_t ns[] = {1, 2, 7, 15, 16, 17, 31, 32, 49, 64, 100};
  static const size_t ncs[] = {1, 5, 15, 16, 17, 31, 32, 33, 48, 130};
  for (size_t a = 0; a < sizeof ns / sizeof *ns; a++)
    for (size_t b = 0; b < sizeof ncs / sizeof *ncs; b++) {
      size_t n = ns[a], nc = ncs[b];
      float *x = rvec(n * nc), *w = rvec(n * nc);
      float *y = malloc((nc + 1) * sizeof *y);
      for (int t = 0; t < ntables; t++) {
        y[nc] = 12345.0f;
        tables[t]->dots(x, w, n, nc, y);
        int bad = 0;
        for (size_t c = 0; c < nc && !bad; c++) {
          double want = 0, mag = 0;
          for (size_t i = 0; i < n; i++) {
            want += (double)x[c * n + i] * w[c * n + i];
            mag += fabs((double)x[c * n + i] * w[c * n + i]);
          }
          if (!(fabs(y[c] - want) <= 1e-6 * mag + 1e-7)) {
            fprintf(stderr, "  dots %s n=%zu nc=%zu c=%zu: %.9g vs %.9g\n",
                    tables[t]->name, n, nc, c, y[c], want);
            bad = 1;
          }
        }
        CHECK(!bad);
        CHECK(y[nc] == 12345.0f);
      }
      free(x);
      free(w);
      free(y);
    }
}

static void test_deinterleave2(void) {
  for (size_t n = 0; n <= 100; n++) {
    float *src = rvec(n);
    for (int t = 0; t < ntables; t++) {
      /* guards after each output catch stores past the end */
      size_t ne = (n + 1) / 2, no = n / 2;
      float *e = malloc((ne + 1) * sizeof *e), *o = malloc((no + 1) * sizeof *o);
      e[ne] = o[no] = 777.0f;
      tables[t]->deinterleave2(src, n, e, o);
      int bad = 0;
      for (size_t j = 0; j < ne; j++)
        bad |= e[j] != src[2 * j];
      for (size_t j = 0; j < no; j++)
        bad |= o[j] != src[2 * j + 1];
      CHECK(!bad);
      CHECK(e[ne] == 777.0f && o[no] == 777.0f);
      if (bad)
        fprintf(stderr, "  deinterleave2 %s n=%zu\n", tables[t]->name, n);
      free(e);
      free(o);
    }
    free(src);
  }
}

/* maxpool2x2 of every table against the reference loop, entry by entry
 * and bit for bit, over every row length up to 70 (all tails), with ties,
 * NaNs in every window position and a guard after the output row. */
static void test_maxpool2x2(void) {
  for (size_t n = 0; n <= 70; n++) {
    float *r0 = rvec(2 * n + 1), *r1 = rvec(2 * n + 1);
    for (size_t i = 0; i < 2 * n; i++) {
      uint32_t u = rnd() % 16;
      if (u == 0)
        r0[i] = NAN;
      else if (u == 1)
        r1[i] = NAN;
      else if (u < 4)
        r1[i] = r0[i]; /* a tie */
    }
    float *want = malloc((n + 1) * sizeof *want);
    nn_f32_maxpool2x2_ref(r0, r1, want, n);
    for (int t = 0; t < ntables; t++) {
      float *y = malloc((n + 1) * sizeof *y);
      y[n] = 777.0f;
      tables[t]->maxpool2x2(r0, r1, y, n);
      int bad = 0;
      for (size_t j = 0; j < n; j++) {
        float a = r0[2 * j], b = r0[2 * j + 1], c = r1[2 * j],
              d = r1[2 * j + 1];
        float m = a;
        m = b > m ? b : m;
        m = c > m ? c : m;
        m = d > m ? d : m;
        /* same value, or NaN in both */
        if (memcmp(&y[j], &want[j], sizeof(float)) != 0 ||
            (m == m ? y[j] != m : y[j] == y[j]))
          bad = 1;
      }
      CHECK(!bad);
      CHECK(y[n] == 777.0f);
      if (bad)
        fprintf(stderr, "  maxpool2x2 %s n=%zu\n", tables[t]->name, n);
      free(y);
    }
    free(want);
    free(r0);
    free(r1);
  }
}

/* The index's dot product (the sketch's re-rank): every table this CPU runs
 * against the double model, and each SIMD version within a few ulps of the
 * reference, over every length up to 300 (all tails) and 512 (the embedding
 * size), with unaligned starts. */
static void ix_dot_case(const ix_kernels *const *t, int nt, size_t n) {
  size_t off = n % 3; /* unaligned starts */
  float *a = rvec(n + off), *b = rvec(n + off);
  double want = 0, mag = 0;
  for (size_t i = 0; i < n; i++) {
    want += (double)a[off + i] * b[off + i];
    mag += fabs((double)a[off + i] * b[off + i]);
  }
  float r = ix_kernels_ref.dot(a + off, b + off, n);
  for (int k = 0; k < nt; k++) {
    float got = t[k]->dot(a + off, b + off, n);
    CHECK_NEAR(got, want, 1e-5, 1e-4);
    /* the summation order differs: bounded by the terms' magnitude */
    CHECK_NEAR(got, r, 1e-6 * mag + 1e-6, 0);
    if (n == 0)
      CHECK(got == 0.0f);
  }
  free(a);
  free(b);
}

static void test_ix_dot(void) {
  const ix_kernels *t[IX_MAX_TABLES];
  int nt = ix_kernel_tables_all(t, IX_MAX_TABLES);
  CHECK(nt >= 1 && t[0] == &ix_kernels_ref);
  CHECK(ix_kernels_get() != NULL && ix_kernels_get()->dot != NULL);
  for (size_t n = 0; n <= 300; n++)
    ix_dot_case(t, nt, n);
  ix_dot_case(t, nt, 512);
}

static void test_table(void) {
  const nn_kernels *k = nn_kernels_get();
  CHECK(k != NULL);
  CHECK(k->gemm && k->igemm && k->dwconv3x3s1 && k->dwconv3x3s2 && k->dot &&
        k->dots && k->deinterleave2 && k->maxpool2x2 && k->conv3x3s2c);
  CHECK(strcmp(k->name, argus_cpu_isa_name()) == 0);
}

int main(void) {
  pick_tables();
  test_table();
  test_gemm();
  test_igemm();
  test_dwconv();
  test_conv3x3s2c();
  test_dot();
  test_dots();
  test_deinterleave2();
  test_maxpool2x2();
  test_ix_dot();
  return check_report("test_kernels");
}
