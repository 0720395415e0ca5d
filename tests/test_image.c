/*
 * Tests of the image module: every operation against simple references on
 * small synthetic images, the SIMD kernels against their C references
 * (bit-exact, random sizes with tails), JPEG/PNG round trips, EXIF
 * orientations, corrupt and truncated files, limits; real files from
 * ../shared/data when it is present. Prints timings of the hot paths.
 */
#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jpeglib.h>
#include <png.h>

#include "argus/image.h"
#include "check.h"
#include "image/image_internal.h"
#include "image/kernels/kernels.h"

/* ---- helpers ------------------------------------------------------------ */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return (uint32_t)(rng_state >> 16);
}
static int rnd_in(int lo, int hi) {
  return lo + (int)(rnd() % (unsigned)(hi - lo + 1));
}

static void quiet(void *user, argus_log_level level, const char *module,
                  const char *line) {
  (void)user, (void)level, (void)module, (void)line;
}

static uint8_t *px(const argus_image *im, int x, int y) {
  return im->data[0] + (size_t)y * im->stride[0] +
         (size_t)x * argus_pixfmt_channels(im->format);
}

static void fill_random(argus_image *im) {
  int rows[3] = {im->height, (im->height + 1) / 2, (im->height + 1) / 2};
  for (int p = 0; p < 3 && im->data[p]; p++)
    for (int y = 0; y < rows[p]; y++)
      for (int x = 0; x < im->stride[p]; x++)
        im->data[p][(size_t)y * im->stride[p] + x] = (uint8_t)rnd();
}

/* A smooth colour pattern that JPEG keeps well. */
static void fill_smooth(argus_image *im) {
  int cn = argus_pixfmt_channels(im->format);
  for (int y = 0; y < im->height; y++)
    for (int x = 0; x < im->width; x++)
      for (int c = 0; c < cn; c++)
        px(im, x, y)[c] =
            (uint8_t)(128 + 100 * sin(0.07 * x + 0.05 * y + 2.0 * c));
}

static int images_equal(const argus_image *a, const argus_image *b) {
  if (a->width != b->width || a->height != b->height || a->format != b->format)
    return 0;
  size_t n = (size_t)a->width * argus_pixfmt_channels(a->format);
  for (int y = 0; y < a->height; y++)
    if (memcmp(px(a, 0, y), px(b, 0, y), n) != 0)
      return 0;
  return 1;
}

static int max_abs_diff(const argus_image *a, const argus_image *b) {
  int m = 0, cn = argus_pixfmt_channels(a->format);
  for (int y = 0; y < a->height; y++)
    for (int i = 0; i < a->width * cn; i++) {
      int d = abs((int)px(a, 0, y)[i] - (int)px(b, 0, y)[i]);
      if (d > m)
        m = d;
    }
  return m;
}

static double psnr(const argus_image *a, const argus_image *b) {
  double se = 0;
  int cn = argus_pixfmt_channels(a->format);
  for (int y = 0; y < a->height; y++)
    for (int i = 0; i < a->width * cn; i++) {
      double d = (double)px(a, 0, y)[i] - px(b, 0, y)[i];
      se += d * d;
    }
  double mse = se / ((double)a->width * a->height * cn);
  return mse == 0 ? 99.0 : 10.0 * log10(255.0 * 255.0 / mse);
}

static double now_ms(void) { return (double)argus_time_ns() / 1e6; }

typedef struct buf {
  uint8_t *p;
  size_t n;
} buf;

/* ---- image type -----------------------------------------------------------
 */

static void test_alloc_wrap_crop(void) {
  argus_image im;
  CHECK_OK(argus_image_alloc(&im, 33, 7, ARGUS_PIX_RGB8));
  CHECK_INT_EQ(im.stride[0] % 64, 0);
  CHECK(im.stride[0] >= 99);
  CHECK_INT_EQ((uintptr_t)im.data[0] % 64, 0);
  CHECK(im.owner != NULL);
  argus_image_free(&im);
  CHECK(im.data[0] == NULL);
  argus_image_free(NULL);

  CHECK_OK(argus_image_alloc(&im, 5, 3, ARGUS_PIX_YUV420P));
  CHECK(im.data[1] && im.data[2]);
  CHECK_INT_EQ(im.stride[1] % 64, 0);
  argus_image_free(&im);
  CHECK_OK(argus_image_alloc(&im, 5, 3, ARGUS_PIX_NV12));
  CHECK(im.data[1] && !im.data[2]);
  argus_image_free(&im);

  CHECK_INT_EQ(argus_image_alloc(&im, 0, 5, ARGUS_PIX_GRAY8),
               ARGUS_E_INVALID_ARG);
  CHECK_INT_EQ(argus_image_alloc(&im, 5, 5, ARGUS_PIX_NONE),
               ARGUS_E_INVALID_ARG);
  CHECK_INT_EQ(argus_image_alloc(&im, 20000, 5, ARGUS_PIX_GRAY8),
               ARGUS_E_LIMIT);
  CHECK_INT_EQ(argus_image_alloc(&im, 16384, 16384, ARGUS_PIX_GRAY8),
               ARGUS_E_LIMIT);

  uint8_t pix[4 * 10];
  uint8_t *d[3] = {pix, NULL, NULL};
  int st[3] = {10, 0, 0};
  CHECK_OK(argus_image_wrap(&im, 3, 4, ARGUS_PIX_RGB8, d, st));
  CHECK(im.owner == NULL);
  argus_image_free(&im); /* borrowed: must not free */
  st[0] = 8;
  CHECK_INT_EQ(argus_image_wrap(&im, 3, 4, ARGUS_PIX_RGB8, d, st),
               ARGUS_E_INVALID_ARG);

  CHECK(strcmp(argus_pixfmt_name(ARGUS_PIX_NV12), "NV12") == 0);
  CHECK(strcmp(argus_pixfmt_name((argus_pixfmt)99), "NONE") == 0);

  /* Crop: clamped, contents copied. */
  argus_image src, c;
  CHECK_OK(argus_image_alloc(&src, 20, 10, ARGUS_PIX_RGB8));
  for (int y = 0; y < 10; y++)
    for (int x = 0; x < 20; x++)
      px(&src, x, y)[0] = (uint8_t)x, px(&src, x, y)[1] = (uint8_t)y,
                  px(&src, x, y)[2] = 7;
  CHECK_OK(argus_image_crop(&src, 15, -3, 10, 6, &c));
  CHECK_INT_EQ(c.width, 5);
  CHECK_INT_EQ(c.height, 3);
  CHECK_INT_EQ(px(&c, 0, 0)[0], 15);
  CHECK_INT_EQ(px(&c, 4, 2)[1], 2);
  argus_image_free(&c);
  CHECK_INT_EQ(argus_image_crop(&src, 30, 0, 5, 5, &c), ARGUS_E_INVALID_ARG);
  CHECK_INT_EQ(argus_image_crop(&src, 0, 0, 0, 5, &c), ARGUS_E_INVALID_ARG);
  argus_image_free(&src);

  CHECK_OK(argus_image_alloc(&src, 9, 7, ARGUS_PIX_NV12));
  fill_random(&src);
  CHECK_OK(argus_image_crop(&src, 3, 3, 5, 4, &c));
  CHECK_INT_EQ(c.width, 6); /* x, y rounded down to 2 */
  CHECK_INT_EQ(c.height, 5);
  CHECK_INT_EQ(c.data[0][0], src.data[0][2 * src.stride[0] + 2]);
  CHECK_INT_EQ(c.data[1][0], src.data[1][1 * src.stride[1] + 2]);
  CHECK_INT_EQ(c.data[1][5], src.data[1][1 * src.stride[1] + 7]);
  argus_image_free(&c);
  argus_image_free(&src);
}

/* ---- colour conversion ------------------------------------------------- */

static void yuv_float(int Y, int U, int V, double rgb[3]) {
  double y = (Y - 16) * 255.0 / 219.0, u = (U - 128) * 255.0 / 224.0,
         v = (V - 128) * 255.0 / 224.0;
  rgb[0] = y + 1.402 * v;
  rgb[1] = y - 0.344136 * u - 0.714136 * v;
  rgb[2] = y + 1.772 * u;
  for (int i = 0; i < 3; i++)
    rgb[i] = rgb[i] < 0 ? 0 : rgb[i] > 255 ? 255 : rgb[i];
}

static void test_convert(void) {
  /* The fixed-point pixel formula is within 1 of the exact one everywhere. */
  double worst = 0;
  for (int Y = 0; Y < 256; Y++)
    for (int U = 0; U < 256; U += 3)
      for (int V = 0; V < 256; V += 3) {
        uint8_t o[3];
        double e[3];
        img_yuv_px(Y, U, V, &o[0], &o[1], &o[2]);
        yuv_float(Y, U, V, e);
        for (int i = 0; i < 3; i++)
          worst = fmax(worst, fabs(o[i] - e[i]));
      }
  printf("yuv fixed point: worst error %.3f\n", worst);
  CHECK(worst <= 1.0);
  uint8_t r, g, b;
  img_yuv_px(16, 128, 128, &r, &g, &b);
  CHECK(r == 0 && g == 0 && b == 0);
  img_yuv_px(235, 128, 128, &r, &g, &b);
  CHECK(r == 255 && g == 255 && b == 255);
  img_yuv_px(81, 90, 240, &r, &g, &b); /* BT.601 red */
  CHECK(r >= 253 && g <= 2 && b <= 2);

  /* Whole images: YUV420P and NV12 of the same picture agree, RGB and BGR
   * are mirror images, grey expands Y. Odd sizes exercise chroma edges. */
  int w = 77, h = 9;
  argus_image yuv, nv, rgb, bgr, rgb2, gray;
  CHECK_OK(argus_image_alloc(&yuv, w, h, ARGUS_PIX_YUV420P));
  CHECK_OK(argus_image_alloc(&nv, w, h, ARGUS_PIX_NV12));
  CHECK_OK(argus_image_alloc(&rgb, w, h, ARGUS_PIX_RGB8));
  CHECK_OK(argus_image_alloc(&rgb2, w, h, ARGUS_PIX_RGB8));
  CHECK_OK(argus_image_alloc(&bgr, w, h, ARGUS_PIX_BGR8));
  CHECK_OK(argus_image_alloc(&gray, w, h, ARGUS_PIX_GRAY8));
  fill_random(&yuv);
  memcpy(nv.data[0], yuv.data[0], (size_t)yuv.stride[0] * h);
  for (int y = 0; y < (h + 1) / 2; y++)
    for (int x = 0; x < (w + 1) / 2; x++) {
      nv.data[1][y * nv.stride[1] + 2 * x] = yuv.data[1][y * yuv.stride[1] + x];
      nv.data[1][y * nv.stride[1] + 2 * x + 1] =
          yuv.data[2][y * yuv.stride[2] + x];
    }
  CHECK_OK(argus_image_convert(&yuv, &rgb));
  CHECK_OK(argus_image_convert(&nv, &rgb2));
  CHECK(images_equal(&rgb, &rgb2));
  int bad = 0;
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      double e[3];
      yuv_float(yuv.data[0][y * yuv.stride[0] + x],
                yuv.data[1][(y / 2) * yuv.stride[1] + x / 2],
                yuv.data[2][(y / 2) * yuv.stride[2] + x / 2], e);
      for (int c = 0; c < 3; c++)
        bad += fabs(px(&rgb, x, y)[c] - e[c]) > 1.0;
    }
  CHECK_INT_EQ(bad, 0);
  CHECK_OK(argus_image_convert(&nv, &bgr));
  bad = 0;
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      bad += px(&bgr, x, y)[0] != px(&rgb, x, y)[2] ||
             px(&bgr, x, y)[2] != px(&rgb, x, y)[0];
  CHECK_INT_EQ(bad, 0);
  CHECK_OK(argus_image_convert(&yuv, &gray));
  CHECK_INT_EQ(
      gray.data[0][0],
      (int)fmin(255, fmax(0, lrint((yuv.data[0][0] - 16) * 255.0 / 219.0))));

  /* Packed conversions: grey weights, RGB <-> BGR round trip, in place. */
  fill_random(&rgb);
  CHECK_OK(argus_image_convert(&rgb, &bgr));
  CHECK_OK(argus_image_convert(&bgr, &rgb2));
  CHECK(images_equal(&rgb, &rgb2));
  CHECK_OK(argus_image_convert(&rgb, &gray));
  bad = 0;
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      const uint8_t *p = px(&rgb, x, y);
      double e = 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2];
      bad += fabs(px(&gray, x, y)[0] - e) > 0.51;
    }
  CHECK_INT_EQ(bad, 0);
  argus_image gbgr;
  CHECK_OK(argus_image_alloc(&gbgr, w, h, ARGUS_PIX_GRAY8));
  CHECK_OK(argus_image_convert(&bgr, &gbgr));
  CHECK(images_equal(&gray, &gbgr));
  CHECK_OK(argus_image_convert(&gray, &rgb2));
  CHECK(px(&rgb2, 5, 5)[0] == px(&gray, 5, 5)[0] &&
        px(&rgb2, 5, 5)[2] == px(&gray, 5, 5)[0]);
  argus_image inplace = rgb2;
  inplace.format = ARGUS_PIX_BGR8;
  CHECK_OK(argus_image_convert(&rgb, &rgb2));
  CHECK_OK(argus_image_convert(&rgb2, &inplace)); /* RGB -> BGR in place */
  CHECK(images_equal(&inplace, &bgr));

  /* Errors. */
  argus_image small;
  CHECK_OK(argus_image_alloc(&small, 3, 3, ARGUS_PIX_RGB8));
  CHECK_INT_EQ(argus_image_convert(&rgb, &small), ARGUS_E_INVALID_ARG);
  CHECK_INT_EQ(argus_image_convert(&rgb, &yuv), ARGUS_E_UNSUPPORTED);
  argus_image_free(&small);
  argus_image_free(&gbgr);
  argus_image_free(&yuv);
  argus_image_free(&nv);
  argus_image_free(&rgb);
  argus_image_free(&rgb2);
  argus_image_free(&bgr);
  argus_image_free(&gray);
}

/* ---- SIMD kernels against the reference ---------------------------------- */

static void test_kernels(void) {
  const img_kernels *tables[2];
  int nt = 0;
  unsigned f = argus_cpu_features();
  if (f & ARGUS_CPU_AVX2)
    tables[nt++] = &img_kernels_avx2;
  if (f & ARGUS_CPU_AVX512)
    tables[nt++] = &img_kernels_avx512;
  printf("image kernels: in use %s; testing %d SIMD table(s)\n",
         img_kernels_get()->name, nt);
  const img_kernels *ref = &img_kernels_ref;
  enum { W = 300 };
  static uint8_t y[W + 64], u[W + 64], v[W + 64], uv[2 * W + 64];
  static uint8_t o1[3 * W + 64], o2[3 * W + 64];
  for (int t = 0; t < nt; t++) {
    const img_kernels *k = tables[t];
    int bad = 0;
    for (int iter = 0; iter < 300; iter++) {
      int w = iter < 200 ? iter + 1 : rnd_in(1, W);
      for (int i = 0; i < W + 64; i++)
        y[i] = (uint8_t)rnd(), u[i] = (uint8_t)rnd(), v[i] = (uint8_t)rnd();
      for (int i = 0; i < 2 * W + 64; i++)
        uv[i] = (uint8_t)rnd();
      int bgr = iter & 1;
      memset(o1, 0xaa, sizeof o1);
      memset(o2, 0xaa, sizeof o2);
      ref->yuv420_row(y, u, v, o1, w, bgr);
      k->yuv420_row(y, u, v, o2, w, bgr);
      bad += memcmp(o1, o2, sizeof o1) != 0; /* also: no write past 3*w */
      ref->nv12_row(y, uv, o1, w, bgr);
      k->nv12_row(y, uv, o2, w, bgr);
      bad += memcmp(o1, o2, sizeof o1) != 0;
    }
    CHECK_INT_EQ(bad, 0);

    /* vsum: random k, n, weights. */
    static uint8_t rows_data[9][W + 8];
    static float f1[W + 8], f2[W + 8];
    bad = 0;
    for (int iter = 0; iter < 300; iter++) {
      int kk = rnd_in(1, 9), n = iter < 100 ? iter + 1 : rnd_in(1, W);
      const uint8_t *rows[9];
      float w[9];
      for (int j = 0; j < kk; j++) {
        for (int i = 0; i < W + 8; i++)
          rows_data[j][i] = (uint8_t)rnd();
        rows[j] = rows_data[j] + rnd_in(0, 7);
        w[j] = (float)(rnd() % 10000) / 7777.0f;
      }
      f1[n] = f2[n] = -1.0f;
      ref->vsum(rows, w, kk, f1, (size_t)n);
      k->vsum(rows, w, kk, f2, (size_t)n);
      bad += memcmp(f1, f2, sizeof(float) * (size_t)(n + 1)) != 0;
    }
    CHECK_INT_EQ(bad, 0);

    /* hsum over random tables; pack_u8 over values around and beyond the
     * byte range, NaN and infinities. */
    static float hv[4 * W], hw[7 * W], h1[W + 1], h2[W + 1];
    static int32_t hidx[W];
    static uint8_t b1[W + 1], b2[W + 1];
    bad = 0;
    for (int iter = 0; iter < 300; iter++) {
      int kk = rnd_in(1, 7), n = iter < 100 ? iter + 1 : rnd_in(1, W);
      int step = rnd_in(1, 3);
      for (int i = 0; i < 4 * W; i++)
        hv[i] = (float)(rnd() % 25500) / 100.0f;
      for (int i = 0; i < kk * n; i++)
        hw[i] = (float)(rnd() % 1000) / 999.0f;
      for (int e = 0; e < n; e++)
        hidx[e] = rnd_in(0, 4 * W - 1 - (kk - 1) * step);
      h1[n] = h2[n] = -1.0f;
      ref->hsum(hv, hidx, hw, kk, step, (size_t)n, h1);
      k->hsum(hv, hidx, hw, kk, step, (size_t)n, h2);
      bad += memcmp(h1, h2, sizeof(float) * (size_t)(n + 1)) != 0;
      for (int i = 0; i < n; i++)
        h1[i] = (float)((int)(rnd() % 40000) - 10000) / 100.0f;
      h1[rnd() % n] = (float)(rnd() % 512) + 0.5f; /* ties */
      if (n > 3)
        h1[0] = NAN, h1[1] = INFINITY, h1[2] = -INFINITY;
      b1[n] = b2[n] = 0x77;
      ref->pack_u8(h1, b1, (size_t)n);
      k->pack_u8(h1, b2, (size_t)n);
      bad += memcmp(b1, b2, (size_t)n + 1) != 0;
    }
    CHECK_INT_EQ(bad, 0);

    /* 4x4 box of RGB rows: any width (tails of the 4-pixel groups), rows
     * at odd offsets; no write past 3*npx floats. */
    static uint8_t brow[4][12 * W + 16];
    static float bo1[3 * W + 1], bo2[3 * W + 1];
    bad = 0;
    for (int iter = 0; iter < 300; iter++) {
      int npx = iter < 40 ? iter + 1 : rnd_in(1, W);
      const uint8_t *r4[4];
      for (int r = 0; r < 4; r++) {
        for (int i = 0; i < 12 * W + 16; i++)
          brow[r][i] = (uint8_t)rnd();
        r4[r] = brow[r] + rnd_in(0, 15);
      }
      bo1[3 * npx] = bo2[3 * npx] = -1.0f;
      ref->box4_rgb(r4, npx, bo1);
      k->box4_rgb(r4, npx, bo2);
      bad += memcmp(bo1, bo2, sizeof(float) * (size_t)(3 * npx + 1)) != 0;
    }
    CHECK_INT_EQ(bad, 0);

    /* warp rows: random similarity maps, including ones that leave the
     * image, both channel counts. */
    argus_image src;
    CHECK_OK(argus_image_alloc(&src, 57, 41, ARGUS_PIX_RGB8));
    fill_random(&src);
    bad = 0;
    for (int iter = 0; iter < 400; iter++) {
      int cn = iter % 4 == 0 ? 1 : 3;
      int dw = rnd_in(1, 120);
      float ang = (float)(rnd() % 628) / 100.0f,
            s = 0.3f + (float)(rnd() % 300) / 100.0f;
      float m0 = s * cosf(ang), m3 = s * sinf(ang);
      float bx = (float)rnd_in(-80, 120) + (float)(rnd() % 1000) / 1000.0f;
      float by = (float)rnd_in(-60, 90) + (float)(rnd() % 1000) / 1000.0f;
      if (iter % 5 == 0) /* mostly inside: exercises the gather path */
        m0 = 0.37f, m3 = 0.11f, bx = 3.3f, by = 7.7f;
      int sw = cn == 1 ? 57 * 3 : 57;
      memset(o1, 0x55, sizeof o1);
      memset(o2, 0x55, sizeof o2);
      ref->warp_row(src.data[0], sw, 41, src.stride[0], cn, bx, by, m0, m3, o1,
                    dw);
      k->warp_row(src.data[0], sw, 41, src.stride[0], cn, bx, by, m0, m3, o2,
                  dw);
      bad += memcmp(o1, o2, sizeof o1) != 0;
    }
    CHECK_INT_EQ(bad, 0);
    argus_image_free(&src);
  }
}

/* ---- resize ----------------------------------------------------------- */

/* Dense weights of one axis (reference): bilinear with half-pixel centres
 * and clamped edges, or exact area overlap when shrinking 2x or more. */
static void ref_weights(int n, int out, double *W /* out x n */) {
  double sc = (double)n / out;
  memset(W, 0, sizeof(double) * (size_t)n * out);
  for (int i = 0; i < out; i++) {
    if (sc >= 2.0) {
      double a = i * sc, b = (i + 1) * sc;
      for (int p = 0; p < n; p++) {
        double l = fmax(a, p), r = fmin(b, p + 1.0);
        if (r > l)
          W[(size_t)i * n + p] = (r - l) / sc;
      }
    } else {
      double s = (i + 0.5) * sc - 0.5;
      int x0 = (int)floor(s);
      double fr = s - x0;
      int xa = x0 < 0 ? 0 : x0 > n - 1 ? n - 1 : x0;
      int xb = x0 + 1 < 0 ? 0 : x0 + 1 > n - 1 ? n - 1 : x0 + 1;
      W[(size_t)i * n + xa] += 1.0 - fr;
      W[(size_t)i * n + xb] += fr;
    }
  }
}

static void ref_resize(const argus_image *s, argus_image *d) {
  int cn = argus_pixfmt_channels(s->format);
  double *wx = malloc(sizeof(double) * s->width * d->width);
  double *wy = malloc(sizeof(double) * s->height * d->height);
  ref_weights(s->width, d->width, wx);
  ref_weights(s->height, d->height, wy);
  for (int y = 0; y < d->height; y++)
    for (int x = 0; x < d->width; x++)
      for (int c = 0; c < cn; c++) {
        double acc = 0;
        for (int sy = 0; sy < s->height; sy++) {
          double a = wy[(size_t)y * s->height + sy];
          if (a == 0)
            continue;
          for (int sx = 0; sx < s->width; sx++) {
            double b = wx[(size_t)x * s->width + sx];
            if (b != 0)
              acc += a * b * px(s, sx, sy)[c];
          }
        }
        px(d, x, y)[c] = (uint8_t)fmin(255, fmax(0, lrint(acc)));
      }
  free(wx);
  free(wy);
}

static void test_resize(void) {
  /* Same size: an exact copy, both formats. */
  argus_image a, b, e;
  CHECK_OK(argus_image_alloc(&a, 31, 17, ARGUS_PIX_RGB8));
  CHECK_OK(argus_image_alloc(&b, 31, 17, ARGUS_PIX_RGB8));
  fill_random(&a);
  CHECK_OK(argus_image_resize(&a, &b));
  CHECK(images_equal(&a, &b));
  argus_image_free(&b);

  /* Against the dense reference on random sizes (all mixes of modes). */
  int worst = 0;
  for (int iter = 0; iter < 60; iter++) {
    argus_pixfmt fmt = iter % 3 == 0 ? ARGUS_PIX_GRAY8 : ARGUS_PIX_BGR8;
    int sw = rnd_in(1, 90), sh = rnd_in(1, 70), dw = rnd_in(1, 100),
        dh = rnd_in(1, 80);
    argus_image s, d, r;
    CHECK_OK(argus_image_alloc(&s, sw, sh, fmt));
    CHECK_OK(argus_image_alloc(&d, dw, dh, fmt));
    CHECK_OK(argus_image_alloc(&r, dw, dh, fmt));
    if (iter & 1)
      fill_random(&s);
    else
      fill_smooth(&s);
    CHECK_OK(argus_image_resize(&s, &d));
    ref_resize(&s, &r);
    int m = max_abs_diff(&d, &r);
    if (m > worst)
      worst = m;
    argus_image_free(&s);
    argus_image_free(&d);
    argus_image_free(&r);
  }
  CHECK(worst <= 1);

  /* Constant stays constant; 2x area halves 2x2 blocks exactly; a linear
   * ramp stays linear under bilinear enlargement. */
  argus_image c, c2;
  CHECK_OK(argus_image_alloc(&c, 40, 30, ARGUS_PIX_GRAY8));
  CHECK_OK(argus_image_alloc(&c2, 13, 7, ARGUS_PIX_GRAY8));
  memset(c.data[0], 77, (size_t)c.stride[0] * c.height);
  CHECK_OK(argus_image_resize(&c, &c2));
  int bad = 0;
  for (int y = 0; y < 7; y++)
    for (int x = 0; x < 13; x++)
      bad += px(&c2, x, y)[0] != 77;
  CHECK_INT_EQ(bad, 0);
  argus_image_free(&c2);
  for (int y = 0; y < 30; y++)
    for (int x = 0; x < 40; x++)
      px(&c, x, y)[0] = (uint8_t)rnd();
  CHECK_OK(argus_image_alloc(&c2, 20, 15, ARGUS_PIX_GRAY8));
  CHECK_OK(argus_image_resize(&c, &c2));
  bad = 0;
  for (int y = 0; y < 15; y++)
    for (int x = 0; x < 20; x++) {
      double m =
          (px(&c, 2 * x, 2 * y)[0] + px(&c, 2 * x + 1, 2 * y)[0] +
           px(&c, 2 * x, 2 * y + 1)[0] + px(&c, 2 * x + 1, 2 * y + 1)[0]) /
          4.0;
      bad += px(&c2, x, y)[0] != (int)lrint(m);
    }
  CHECK_INT_EQ(bad, 0);
  argus_image_free(&c2);
  for (int y = 0; y < 30; y++)
    for (int x = 0; x < 40; x++)
      px(&c, x, y)[0] = (uint8_t)(4 * x + 20);
  CHECK_OK(argus_image_alloc(&c2, 80, 30, ARGUS_PIX_GRAY8));
  CHECK_OK(argus_image_resize(&c, &c2));
  bad = 0; /* sx = x/2 - 0.25, so value 4*sx + 20 away from the edges */
  for (int x = 1; x < 79; x++)
    bad += fabs(px(&c2, x, 3)[0] - (4.0 * (x / 2.0 - 0.25) + 20)) > 0.5;
  CHECK_INT_EQ(bad, 0);
  CHECK_INT_EQ(px(&c2, 0, 0)[0], 20); /* replicated edge */
  argus_image_free(&c2);
  argus_image_free(&c);

  /* Errors. */
  CHECK_OK(argus_image_alloc(&e, 10, 10, ARGUS_PIX_GRAY8));
  CHECK_INT_EQ(argus_image_resize(&a, &e), ARGUS_E_INVALID_ARG);
  argus_image yuv;
  CHECK_OK(argus_image_alloc(&yuv, 10, 10, ARGUS_PIX_YUV420P));
  CHECK_INT_EQ(argus_image_resize(&yuv, &e), ARGUS_E_UNSUPPORTED);
  argus_image_free(&yuv);
  argus_image_free(&e);
  argus_image_free(&a);
}

/* ---- warp -----------------------------------------------------------------
 */

static void test_warp(void) {
  argus_image s, d, r;
  int w = 37, h = 23;
  CHECK_OK(argus_image_alloc(&s, w, h, ARGUS_PIX_RGB8));
  fill_random(&s);

  /* Identity: exact copy. */
  const float id[6] = {1, 0, 0, 0, 1, 0};
  CHECK_OK(argus_image_alloc(&d, w, h, ARGUS_PIX_RGB8));
  CHECK_OK(argus_image_warp_affine(&s, id, &d));
  CHECK(images_equal(&s, &d));

  /* Integer translation: shifted copy, zeros where the source is missing. */
  const float tr[6] = {1, 0, 3, 0, 1, -2};
  CHECK_OK(argus_image_warp_affine(&s, tr, &d));
  int bad = 0;
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      for (int c = 0; c < 3; c++) {
        int sx = x + 3, sy = y - 2;
        int e = sx < w && sy >= 0 ? px(&s, sx, sy)[c] : 0;
        bad += px(&d, x, y)[c] != e;
      }
  CHECK_INT_EQ(bad, 0);

  /* Half-pixel translation: the mean of two neighbours (within 1). */
  const float half[6] = {1, 0, 0.5f, 0, 1, 0};
  CHECK_OK(argus_image_warp_affine(&s, half, &d));
  bad = 0;
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w - 1; x++)
      for (int c = 0; c < 3; c++)
        bad += abs(px(&d, x, y)[c] -
                   (px(&s, x, y)[c] + px(&s, x + 1, y)[c] + 1) / 2) > 1;
  CHECK_INT_EQ(bad, 0);
  argus_image_free(&d);

  /* 90 degree rotation (clockwise): dst(x, y) = src(y, h-1-x). */
  const float rot[6] = {0, 1, 0, -1, 0, (float)(h - 1)};
  CHECK_OK(argus_image_alloc(&d, h, w, ARGUS_PIX_RGB8));
  CHECK_OK(argus_image_warp_affine(&s, rot, &d));
  bad = 0;
  for (int y = 0; y < w; y++)
    for (int x = 0; x < h; x++)
      bad += memcmp(px(&d, x, y), px(&s, y, h - 1 - x), 3) != 0;
  CHECK_INT_EQ(bad, 0);
  argus_image_free(&d);

  /* Scale 2 with pixel-centre alignment equals a bilinear 2x enlargement
   * away from the border. */
  const float up[6] = {0.5f, 0, -0.25f, 0, 0.5f, -0.25f};
  CHECK_OK(argus_image_alloc(&d, 2 * w, 2 * h, ARGUS_PIX_RGB8));
  CHECK_OK(argus_image_alloc(&r, 2 * w, 2 * h, ARGUS_PIX_RGB8));
  CHECK_OK(argus_image_warp_affine(&s, up, &d));
  CHECK_OK(argus_image_resize(&s, &r));
  bad = 0;
  for (int y = 1; y < 2 * h - 1; y++)
    for (int x = 1; x < 2 * w - 1; x++)
      for (int c = 0; c < 3; c++)
        bad += abs(px(&d, x, y)[c] - px(&r, x, y)[c]) > 1;
  CHECK_INT_EQ(bad, 0);
  /* At the border the outside counts as 0: darker than the edge pixel. */
  CHECK(px(&d, 0, 0)[0] <= px(&s, 0, 0)[0]);
  argus_image_free(&d);
  argus_image_free(&r);

  /* 112x112 alignment-like similarity on a grey image, and far outside. */
  argus_image g, gd;
  CHECK_OK(argus_image_alloc(&g, 200, 150, ARGUS_PIX_GRAY8));
  fill_smooth(&g);
  CHECK_OK(argus_image_alloc(&gd, 112, 112, ARGUS_PIX_GRAY8));
  const float sim[6] = {0.9f, -0.2f, 40.0f, 0.2f, 0.9f, 20.0f};
  CHECK_OK(argus_image_warp_affine(&g, sim, &gd));
  bad = 0;
  for (int y = 0; y < 112; y += 7)
    for (int x = 0; x < 112; x += 7) {
      double sx = 0.9 * x - 0.2 * y + 40, sy = 0.2 * x + 0.9 * y + 20;
      int x0 = (int)floor(sx), y0 = (int)floor(sy);
      double fx = sx - x0, fy = sy - y0;
      double e = (1 - fx) * (1 - fy) * px(&g, x0, y0)[0] +
                 fx * (1 - fy) * px(&g, x0 + 1, y0)[0] +
                 (1 - fx) * fy * px(&g, x0, y0 + 1)[0] +
                 fx * fy * px(&g, x0 + 1, y0 + 1)[0];
      bad += fabs(px(&gd, x, y)[0] - e) > 1.5;
    }
  CHECK_INT_EQ(bad, 0);
  const float away[6] = {1, 0, 1e7f, 0, 1, 0};
  CHECK_OK(argus_image_warp_affine(&g, away, &gd));
  bad = 0;
  for (int y = 0; y < 112; y++)
    for (int x = 0; x < 112; x++)
      bad += px(&gd, x, y)[0] != 0;
  CHECK_INT_EQ(bad, 0);
  const float nan[6] = {NAN, 0, 0, 0, 1, 0};
  CHECK_INT_EQ(argus_image_warp_affine(&g, nan, &gd), ARGUS_E_INVALID_ARG);
  CHECK_INT_EQ(argus_image_warp_affine(&s, id, &gd), ARGUS_E_INVALID_ARG);
  argus_image_free(&g);
  argus_image_free(&gd);
  argus_image_free(&s);
}

/* ---- to_tensor ------------------------------------------------------------
 */

/* A shrink by exactly 4 (the live detector's 1080p -> 480 input) takes the
 * integer box kernel: every value is the exact mean of its 4x4 cell, for
 * rows inside the image, beside padding rows (box taller than the image)
 * and through the general passes (box wider than the image). */
static void test_box4_shrink(void) {
  argus_image s;
  CHECK_OK(argus_image_alloc(&s, 4 * 37, 4 * 9, ARGUS_PIX_RGB8));
  fill_random(&s);
  const float boxes[3][4] = {{0, 0, 4 * 37, 4 * 9},
                             {0, 0, 4 * 37, 4 * 12},
                             {0, 0, 4 * 40, 4 * 9}};
  const int ow[3] = {37, 37, 40}, oh[3] = {9, 12, 9};
  for (int t = 0; t < 3; t++) {
    float *out = malloc(sizeof(float) * 3 * (size_t)(ow[t] * oh[t]));
    CHECK_OK(argus_image_to_tensor(&s, boxes[t], ow[t], oh[t], ARGUS_CH_RGB,
                                   0.0f, 1.0f, out));
    int bad = 0;
    for (int c = 0; c < 3; c++)
      for (int y = 0; y < oh[t]; y++)
        for (int x = 0; x < ow[t]; x++) {
          float want = 0.0f;
          if (4 * y < s.height && 4 * x < s.width) {
            int sum = 0;
            for (int j = 0; j < 4; j++)
              for (int i = 0; i < 4; i++)
                sum += px(&s, 4 * x + i, 4 * y + j)[c];
            want = (float)sum / 16.0f;
          }
          float got = out[((size_t)c * oh[t] + y) * ow[t] + x];
          if (got != want && bad++ < 3)
            fprintf(stderr, "box4 case %d (%d,%d,%d): %g, want %g\n", t, x, y,
                    c, (double)got, (double)want);
        }
    CHECK_INT_EQ(bad, 0);
    free(out);
  }
  argus_image_free(&s);
}

static void test_to_tensor(void) {
  const float mean = 127.0f, scale = 1.0f / 128.0f;
  int sizes[][4] = {{64, 48, 32, 24},
                    {50, 40, 112, 112},
                    {300, 200, 64, 64},
                    {33, 77, 20, 31},
                    {1920 / 8, 1080 / 8, 40, 30}};
  for (size_t t = 0; t < sizeof sizes / sizeof sizes[0]; t++) {
    int sw = sizes[t][0], sh = sizes[t][1], ow = sizes[t][2], oh = sizes[t][3];
    argus_image s, r;
    CHECK_OK(argus_image_alloc(&s, sw, sh, ARGUS_PIX_RGB8));
    CHECK_OK(argus_image_alloc(&r, ow, oh, ARGUS_PIX_RGB8));
    fill_smooth(&s);
    CHECK_OK(argus_image_resize(&s, &r));
    float *out = malloc(sizeof(float) * 3 * ow * oh);
    const float box[4] = {0, 0, (float)sw, (float)sh};
    /* Whole image, BGR order: resize + normalise, within the rounding. */
    CHECK_OK(
        argus_image_to_tensor(&s, box, ow, oh, ARGUS_CH_BGR, mean, scale, out));
    int bad = 0;
    for (int c = 0; c < 3; c++)
      for (int y = 0; y < oh; y++)
        for (int x = 0; x < ow; x++) {
          float e = (px(&r, x, y)[2 - c] - mean) * scale;
          bad += fabsf(out[(c * oh + y) * ow + x] - e) > 0.5001f * scale;
        }
    CHECK_INT_EQ(bad, 0);
    /* RGB order, from a BGR source. */
    argus_image sb;
    CHECK_OK(argus_image_alloc(&sb, sw, sh, ARGUS_PIX_BGR8));
    CHECK_OK(argus_image_convert(&s, &sb));
    float *out2 = malloc(sizeof(float) * 3 * ow * oh);
    CHECK_OK(argus_image_to_tensor(&sb, box, ow, oh, ARGUS_CH_RGB, mean, scale,
                                   out2));
    bad = 0;
    for (int c = 0; c < 3; c++)
      for (int i = 0; i < ow * oh; i++)
        bad += out2[c * ow * oh + i] != out[(2 - c) * ow * oh + i];
    CHECK_INT_EQ(bad, 0);
    /* Grey from colour vs convert, then resize. */
    argus_image g, gr;
    CHECK_OK(argus_image_alloc(&g, sw, sh, ARGUS_PIX_GRAY8));
    CHECK_OK(argus_image_alloc(&gr, ow, oh, ARGUS_PIX_GRAY8));
    CHECK_OK(argus_image_convert(&s, &g));
    CHECK_OK(argus_image_resize(&g, &gr));
    CHECK_OK(argus_image_to_tensor(&s, box, ow, oh, ARGUS_CH_GRAY, 0.0f,
                                   1.0f / 256, out2));
    bad = 0;
    for (int y = 0; y < oh; y++)
      for (int x = 0; x < ow; x++)
        bad += fabsf(out2[y * ow + x] * 256 - px(&gr, x, y)[0]) > 1.01f;
    CHECK_INT_EQ(bad, 0);
    /* Grey source to three planes replicates. */
    CHECK_OK(
        argus_image_to_tensor(&g, box, ow, oh, ARGUS_CH_RGB, 0.0f, 1.0f, out));
    bad = 0;
    for (int i = 0; i < ow * oh; i++)
      bad += out[i] != out[ow * oh + i] || out[i] != out[2 * ow * oh + i] ||
             fabsf(out[i] - px(&gr, i % ow, i / ow)[0]) > 0.5001f;
    CHECK_INT_EQ(bad, 0);
    argus_image_free(&g);
    argus_image_free(&gr);
    argus_image_free(&sb);
    free(out);
    free(out2);
    argus_image_free(&s);
    argus_image_free(&r);
  }

  /* A same-size box at an integer offset is a crop; outside is padding. */
  argus_image s;
  CHECK_OK(argus_image_alloc(&s, 20, 10, ARGUS_PIX_GRAY8));
  fill_random(&s);
  float out[20 * 10];
  const float box[4] = {10, -2, 26, 6};
  CHECK_OK(
      argus_image_to_tensor(&s, box, 16, 8, ARGUS_CH_GRAY, 10.0f, 2.0f, out));
  int bad = 0;
  for (int y = 0; y < 8; y++)
    for (int x = 0; x < 16; x++) {
      int sx = 10 + x, sy = y - 2;
      float e =
          sx < 20 && sy >= 0 ? (px(&s, sx, sy)[0] - 10.0f) * 2.0f : -20.0f;
      bad += out[y * 16 + x] != e;
    }
  CHECK_INT_EQ(bad, 0);
  /* Entirely outside: all padding. */
  const float far[4] = {100, 100, 140, 120};
  CHECK_OK(
      argus_image_to_tensor(&s, far, 16, 8, ARGUS_CH_GRAY, 10.0f, 2.0f, out));
  bad = 0;
  for (int i = 0; i < 16 * 8; i++)
    bad += out[i] != -20.0f;
  CHECK_INT_EQ(bad, 0);
  /* Shrinking a partly outside box by 4x: cells outside pad, inside ones
   * average their pixels only. */
  const float big[4] = {-40, -20, 40, 20};
  memset(s.data[0], 200, (size_t)s.stride[0] * s.height);
  CHECK_OK(
      argus_image_to_tensor(&s, big, 20, 10, ARGUS_CH_GRAY, 0.0f, 1.0f, out));
  CHECK(out[0] == 0.0f);
  CHECK(fabsf(out[5 * 20 + 12] - 200.0f) < 1e-3f);
  CHECK(out[5 * 20 + 9] == 0.0f);
  /* A box so wide that the padded tap table would be huge takes the plain
   * horizontal pass: one cell covers the whole row and averages it. */
  argus_image wide;
  CHECK_OK(argus_image_alloc(&wide, 2048, 2, ARGUS_PIX_GRAY8));
  double sum = 0;
  for (int x = 0; x < 2048; x++)
    sum += px(&wide, x, 0)[0] = px(&wide, x, 1)[0] = (uint8_t)(x * 13);
  float *wout = malloc(sizeof(float) * 4096);
  const float wbox[4] = {-1e7f + 1024, 0, 1e7f + 1024, 2};
  CHECK_OK(argus_image_to_tensor(&wide, wbox, 4095, 1, ARGUS_CH_GRAY, 0.0f,
                                 1.0f, wout));
  int inside = 0;
  for (int x = 0; x < 4095; x++) /* the middle cell's centre is 1024 */
    if (wout[x] != 0.0f) {
      inside++;
      CHECK_NEAR(wout[x], sum / 2048, 1e-2, 0);
    }
  CHECK_INT_EQ(inside, 1);
  free(wout);
  argus_image_free(&wide);

  /* Errors. */
  const float empty[4] = {5, 5, 5, 9};
  const float inf[4] = {0, 0, INFINITY, 9};
  CHECK_INT_EQ(argus_image_to_tensor(&s, empty, 4, 4, ARGUS_CH_GRAY, 0, 1, out),
               ARGUS_E_INVALID_ARG);
  CHECK_INT_EQ(argus_image_to_tensor(&s, inf, 4, 4, ARGUS_CH_GRAY, 0, 1, out),
               ARGUS_E_INVALID_ARG);
  CHECK_INT_EQ(argus_image_to_tensor(&s, box, 4, 4, 7, 0, 1, out),
               ARGUS_E_INVALID_ARG);
  CHECK_INT_EQ(argus_image_to_tensor(&s, box, 0, 4, ARGUS_CH_GRAY, 0, 1, out),
               ARGUS_E_INVALID_ARG);
  argus_image_free(&s);
}

/* ---- JPEG -----------------------------------------------------------------
 */

/* Encodes with libjpeg directly (progressive when asked). */
static buf encode_jpeg_lib(const argus_image *im, int progressive) {
  struct jpeg_compress_struct c;
  struct jpeg_error_mgr e;
  unsigned char *out = NULL;
  unsigned long n = 0;
  c.err = jpeg_std_error(&e);
  jpeg_create_compress(&c);
  jpeg_mem_dest(&c, &out, &n);
  c.image_width = (JDIMENSION)im->width;
  c.image_height = (JDIMENSION)im->height;
  c.input_components = argus_pixfmt_channels(im->format);
  c.in_color_space = c.input_components == 1 ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_set_defaults(&c);
  jpeg_set_quality(&c, 90, TRUE);
  if (progressive)
    jpeg_simple_progression(&c);
  jpeg_start_compress(&c, TRUE);
  while (c.next_scanline < c.image_height) {
    JSAMPROW row = px(im, 0, (int)c.next_scanline);
    jpeg_write_scanlines(&c, &row, 1);
  }
  jpeg_finish_compress(&c);
  jpeg_destroy_compress(&c);
  return (buf){out, n};
}

/* Inserts an APP1 Exif segment with IFD0 orientation o after SOI. */
static buf with_exif(buf j, int o, int big_endian) {
  uint8_t tiff[26];
  if (big_endian) {
    const uint8_t t[26] = {'M', 'M',        0,    42, 0, 0, 0, 8, 0,
                           1,   0x01,       0x12, 0,  3, 0, 0, 0, 1,
                           0,   (uint8_t)o, 0,    0,  0, 0, 0, 0};
    memcpy(tiff, t, 26);
  } else {
    const uint8_t t[26] = {'I',        'I',  42,   0, 8, 0, 0, 0, 1,
                           0,          0x12, 0x01, 3, 0, 1, 0, 0, 0,
                           (uint8_t)o, 0,    0,    0, 0, 0, 0, 0};
    memcpy(tiff, t, 26);
  }
  size_t seg = 2 + 6 + sizeof tiff;
  buf r = {malloc(j.n + 2 + seg), j.n + 2 + seg};
  memcpy(r.p, j.p, 2);
  uint8_t *q = r.p + 2;
  *q++ = 0xff, *q++ = 0xe1, *q++ = (uint8_t)(seg >> 8), *q++ = (uint8_t)seg;
  memcpy(q, "Exif\0\0", 6);
  memcpy(q + 6, tiff, sizeof tiff);
  memcpy(r.p + 4 + seg, j.p + 2, j.n - 2);
  return r;
}

static void check_color(const argus_image *im, int x, int y, int ch,
                        const char *what) {
  const uint8_t *p = px(im, x, y);
  int ok = 1;
  for (int c = 0; c < 3; c++)
    ok &= c == ch ? p[c] > 150 : p[c] < 100;
  if (!ok)
    fprintf(stderr, "%s: pixel (%d,%d) = %d,%d,%d, expected channel %d\n", what,
            x, y, p[0], p[1], p[2], ch);
  CHECK(ok);
}

static void test_jpeg(void) {
  argus_image im, dec, dec2;
  argus_image_error err;
  CHECK_OK(argus_image_alloc(&im, 64, 48, ARGUS_PIX_RGB8));
  fill_smooth(&im);
  uint8_t *j = NULL;
  size_t jn = 0;
  CHECK_OK(argus_image_encode_jpeg(&im, 95, &j, &jn));
  CHECK(jn > 100 && j[0] == 0xff && j[1] == 0xd8);
  CHECK_OK(argus_image_decode(j, jn, ARGUS_PIX_RGB8, &dec, &err));
  CHECK_INT_EQ(dec.width, 64);
  CHECK_INT_EQ(dec.height, 48);
  double q = psnr(&im, &dec);
  printf("jpeg q95 round trip: %.1f dB\n", q);
  CHECK(q > 35.0);
  CHECK_OK(argus_image_decode(j, jn, ARGUS_PIX_BGR8, &dec2, &err));
  int bad = 0;
  for (int y = 0; y < 48; y++)
    for (int x = 0; x < 64; x++)
      bad += px(&dec, x, y)[0] != px(&dec2, x, y)[2] ||
             px(&dec, x, y)[1] != px(&dec2, x, y)[1];
  CHECK_INT_EQ(bad, 0);
  argus_image_free(&dec2);
  CHECK_OK(argus_image_decode(j, jn, ARGUS_PIX_GRAY8, &dec2, &err));
  argus_image g;
  CHECK_OK(argus_image_alloc(&g, 64, 48, ARGUS_PIX_GRAY8));
  CHECK_OK(argus_image_convert(&dec, &g));
  CHECK(max_abs_diff(&g, &dec2) <= 3);
  argus_image_free(&dec2);
  argus_image_free(&dec);
  free(j);

  /* Lower quality still decodes; grey and BGR inputs encode. */
  CHECK_OK(argus_image_encode_jpeg(&im, 30, &j, &jn));
  CHECK_OK(argus_image_decode(j, jn, ARGUS_PIX_RGB8, &dec, &err));
  CHECK(psnr(&im, &dec) > 25.0);
  argus_image_free(&dec);
  free(j);
  CHECK_OK(argus_image_convert(&im, &g));
  CHECK_OK(argus_image_encode_jpeg(&g, 90, &j, &jn));
  CHECK_OK(argus_image_decode(j, jn, ARGUS_PIX_GRAY8, &dec, &err));
  CHECK(psnr(&g, &dec) > 35.0);
  argus_image_free(&dec);
  free(j);
  argus_image bgr;
  CHECK_OK(argus_image_alloc(&bgr, 64, 48, ARGUS_PIX_BGR8));
  CHECK_OK(argus_image_convert(&im, &bgr));
  CHECK_OK(argus_image_encode_jpeg(&bgr, 95, &j, &jn));
  CHECK_OK(argus_image_decode(j, jn, ARGUS_PIX_RGB8, &dec, &err));
  CHECK(psnr(&im, &dec) > 35.0);
  argus_image_free(&dec);
  free(j);
  argus_image_free(&bgr);
  argus_image_free(&g);
  CHECK_INT_EQ(argus_image_encode_jpeg(&im, 0, &j, &jn), ARGUS_E_INVALID_ARG);
  argus_image yuv;
  CHECK_OK(argus_image_alloc(&yuv, 8, 8, ARGUS_PIX_NV12));
  CHECK_INT_EQ(argus_image_encode_jpeg(&yuv, 90, &j, &jn), ARGUS_E_UNSUPPORTED);
  argus_image_free(&yuv);

  /* Progressive files decode to the same picture. */
  buf pj = encode_jpeg_lib(&im, 1);
  CHECK_OK(argus_image_decode(pj.p, pj.n, ARGUS_PIX_RGB8, &dec, &err));
  CHECK(psnr(&im, &dec) > 30.0);
  argus_image_free(&dec);

  /* A scan bomb: the last scan of a progressive file repeated 1100 times. */
  size_t last_sos = 0;
  for (size_t i = 2; i + 1 < pj.n; i++)
    if (pj.p[i] == 0xff && pj.p[i + 1] == 0xda)
      last_sos = i;
  CHECK(last_sos > 0);
  size_t scan = pj.n - 2 - last_sos;
  buf bomb = {malloc(pj.n + 1100 * scan), 0};
  memcpy(bomb.p, pj.p, pj.n - 2);
  bomb.n = pj.n - 2;
  for (int i = 0; i < 1100; i++, bomb.n += scan)
    memcpy(bomb.p + bomb.n, pj.p + last_sos, scan);
  bomb.p[bomb.n++] = 0xff, bomb.p[bomb.n++] = 0xd9;
  argus_err rc = argus_image_decode(bomb.p, bomb.n, ARGUS_PIX_RGB8, &dec, &err);
  CHECK_INT_EQ(rc, ARGUS_E_LIMIT);
  CHECK(strstr(err.msg, "scans") != NULL);
  printf("scan bomb: %s\n", err.msg);
  free(bomb.p);

  /* Truncated progressive data is an error. */
  rc = argus_image_decode(pj.p, pj.n * 2 / 3, ARGUS_PIX_RGB8, &dec, &err);
  CHECK_INT_EQ(rc, ARGUS_E_CORRUPT);
  CHECK(strstr(err.msg, "truncated") != NULL);
  free(pj.p);

  /* Truncation at many points: errors (or, within the last rows, a whole
   * image), never a crash. */
  argus_image big;
  CHECK_OK(argus_image_alloc(&big, 96, 512, ARGUS_PIX_RGB8));
  fill_random(&big); /* noise: the data is spread over the whole file */
  CHECK_OK(argus_image_encode_jpeg(&big, 90, &j, &jn));
  int fails = 0, early_ok = 0, cuts = 0;
  for (size_t cut = 0; cut < jn; cut += jn / 150 + 1, cuts++) {
    rc = argus_image_decode(j, cut, ARGUS_PIX_RGB8, &dec, &err);
    if (rc == ARGUS_OK) {
      early_ok += cut < jn * 95 / 100; /* the last of 32 MCU rows is ~3 % */
      argus_image_free(&dec);
    } else {
      fails++;
      CHECK(rc == ARGUS_E_CORRUPT || rc == ARGUS_E_UNSUPPORTED);
      CHECK(err.msg[0] != '\0');
      CHECK(dec.data[0] == NULL);
    }
  }
  CHECK_INT_EQ(early_ok, 0);
  CHECK(fails >= cuts * 95 / 100 - 1);
  rc = argus_image_decode(j, jn / 2, ARGUS_PIX_RGB8, &dec, &err);
  CHECK(strcmp(err.msg, "truncated JPEG data") == 0);
  /* Without its end marker, a complete file still decodes. */
  CHECK_OK(argus_image_decode(j, jn - 2, ARGUS_PIX_RGB8, &dec, &err));
  argus_image_free(&dec);
  /* Random corruption: no crash, no leak. */
  uint8_t *cj = malloc(jn);
  for (int iter = 0; iter < 300; iter++) {
    memcpy(cj, j, jn);
    int flips = rnd_in(1, 8);
    for (int k = 0; k < flips; k++)
      cj[rnd() % jn] = (uint8_t)rnd();
    if (argus_image_decode(cj, jn, ARGUS_PIX_RGB8, &dec, &err) == ARGUS_OK)
      argus_image_free(&dec);
  }
  free(cj);
  free(j);
  argus_image_free(&big);

  /* Oversize dimensions in the header are refused before decoding. */
  argus_image tiny;
  CHECK_OK(argus_image_alloc(&tiny, 8, 8, ARGUS_PIX_GRAY8));
  memset(tiny.data[0], 100, (size_t)tiny.stride[0] * 8);
  CHECK_OK(argus_image_encode_jpeg(&tiny, 90, &j, &jn));
  size_t sof = 0;
  for (size_t i = 2; i + 9 < jn; i++)
    if (j[i] == 0xff && j[i + 1] == 0xc0) {
      sof = i;
      break;
    }
  CHECK(sof > 0);
  j[sof + 5] = 20000 >> 8, j[sof + 6] = 20000 & 0xff; /* height */
  j[sof + 7] = 20000 >> 8, j[sof + 8] = 20000 & 0xff; /* width */
  rc = argus_image_decode(j, jn, ARGUS_PIX_RGB8, &dec, &err);
  CHECK_INT_EQ(rc, ARGUS_E_LIMIT);
  CHECK(strstr(err.msg, "20000x20000") != NULL);
  printf("oversize: %s\n", err.msg);
  free(j);
  argus_image_free(&tiny);

  /* Atomic file writing and reading back. */
  char dir[] = "/tmp/argus_test_image_XXXXXX";
  CHECK(mkdtemp(dir) != NULL);
  char path[256];
  snprintf(path, sizeof path, "%s/out.jpg", dir);
  CHECK_OK(argus_image_write_jpeg(&im, 92, path));
  CHECK_OK(argus_image_write_jpeg(&im, 92, path)); /* replaces */
  CHECK_OK(argus_image_read_file(path, ARGUS_PIX_RGB8, &dec, &err));
  CHECK(psnr(&im, &dec) > 35.0);
  argus_image_free(&dec);
  int entries = 0;
  DIR *dd = opendir(dir);
  for (struct dirent *de; dd && (de = readdir(dd));)
    entries += de->d_name[0] != '.';
  if (dd)
    closedir(dd);
  CHECK_INT_EQ(entries, 1); /* no temporary file left */
  char bad_path[300];
  snprintf(bad_path, sizeof bad_path, "%s/missing/out.jpg", dir);
  CHECK_INT_EQ(argus_image_write_jpeg(&im, 92, bad_path), ARGUS_E_IO);
  CHECK_INT_EQ(argus_image_read_file(bad_path, ARGUS_PIX_RGB8, &dec, &err),
               ARGUS_E_NOT_FOUND);
  CHECK(strstr(err.msg, "missing/out.jpg") != NULL);
  CHECK_INT_EQ(argus_image_read_file(dir, ARGUS_PIX_RGB8, &dec, &err),
               ARGUS_E_IO);
  char empty_path[300];
  snprintf(empty_path, sizeof empty_path, "%s/empty.jpg", dir);
  FILE *ef = fopen(empty_path, "wb");
  if (ef)
    fclose(ef);
  CHECK_INT_EQ(argus_image_read_file(empty_path, ARGUS_PIX_RGB8, &dec, &err),
               ARGUS_E_CORRUPT);
  CHECK(strstr(err.msg, "empty") != NULL);
  printf("empty file: %s\n", err.msg);
  unlink(empty_path);
  unlink(path);
  rmdir(dir);
  argus_image_free(&im);
}

static void test_exif(void) {
  /* 64x32 picture with marks: red at the stored top-left, green at the
   * top-right, blue at the bottom-left. */
  argus_image im, dec;
  argus_image_error err;
  CHECK_OK(argus_image_alloc(&im, 64, 32, ARGUS_PIX_RGB8));
  for (int y = 0; y < 32; y++)
    for (int x = 0; x < 64; x++) {
      uint8_t *p = px(&im, x, y);
      p[0] = p[1] = p[2] = 60;
      if (y < 16 && x < 16)
        p[0] = 255, p[1] = p[2] = 0;
      if (y < 16 && x >= 48)
        p[1] = 255, p[0] = p[2] = 0;
      if (y >= 16 && x < 16)
        p[2] = 255, p[0] = p[1] = 0;
    }
  uint8_t *j;
  size_t jn;
  CHECK_OK(argus_image_encode_jpeg(&im, 95, &j, &jn));
  /* Display corner (0 TL, 1 TR, 2 BR, 3 BL) of each mark per orientation. */
  static const int corner[9][3] = {{0, 0, 0}, {0, 1, 3}, {1, 0, 2},
                                   {2, 3, 1}, {3, 2, 0}, {0, 3, 1},
                                   {1, 2, 0}, {2, 1, 3}, {3, 0, 2}};
  for (int be = 0; be < 2; be++)
    for (int o = 1; o <= 8; o++) {
      buf e = with_exif((buf){j, jn}, o, be);
      CHECK_OK(argus_image_decode(e.p, e.n, ARGUS_PIX_RGB8, &dec, &err));
      int rot = o >= 5;
      CHECK_INT_EQ(dec.width, rot ? 32 : 64);
      CHECK_INT_EQ(dec.height, rot ? 64 : 32);
      char what[64];
      snprintf(what, sizeof what, "orientation %d (%s)", o, be ? "MM" : "II");
      for (int m = 0; m < 3; m++) {
        int cx = corner[o][m] == 1 || corner[o][m] == 2 ? dec.width - 8 : 7;
        int cy = corner[o][m] >= 2 ? dec.height - 8 : 7;
        check_color(&dec, cx, cy, m, what);
      }
      argus_image_free(&dec);
      free(e.p);
    }
  /* Malformed Exif blocks are ignored (orientation 1), never read past. */
  for (int iter = 0; iter < 200; iter++) {
    buf e = with_exif((buf){j, jn}, 6, iter & 1);
    for (int k = 0; k < 3; k++)
      e.p[4 + 6 + rnd() % 26 + 2] = (uint8_t)rnd();
    if (argus_image_decode(e.p, e.n, ARGUS_PIX_RGB8, &dec, &err) == ARGUS_OK) {
      CHECK(dec.width == 64 || dec.width == 32);
      argus_image_free(&dec);
    }
    free(e.p);
  }
  /* The parser directly: bad offsets, short data, odd types. */
  const uint8_t bad_off[] = {'I', 'I', 42, 0, 0xff, 0xff, 0, 0};
  CHECK_INT_EQ(img_exif_orientation_tiff(bad_off, sizeof bad_off), 1);
  const uint8_t many[] = {'M', 'M', 0, 42, 0, 0, 0, 8, 0xff, 0xff, 1, 0x12};
  CHECK_INT_EQ(img_exif_orientation_tiff(many, sizeof many), 1);
  const uint8_t ok[] = {'M',  'M', 0, 42, 0, 0, 0, 8, 0, 1, 1,
                        0x12, 0,   3, 0,  0, 0, 1, 0, 8, 0, 0};
  CHECK_INT_EQ(img_exif_orientation_tiff(ok, sizeof ok), 8);
  CHECK_INT_EQ(img_exif_orientation_tiff(ok, sizeof ok - 3), 1);
  free(j);
  argus_image_free(&im);
}

/* ---- PNG -------------------------------------------------------------- */

typedef struct pngw {
  buf b;
  size_t cap;
} pngw;

static void pngw_write(png_structp png, png_bytep data, size_t n) {
  pngw *w = png_get_io_ptr(png);
  if (w->b.n + n > w->cap) {
    w->cap = (w->b.n + n) * 2;
    w->b.p = realloc(w->b.p, w->cap);
  }
  memcpy(w->b.p + w->b.n, data, n);
  w->b.n += n;
}
static void pngw_flush(png_structp png) { (void)png; }

/* Writes a PNG from raw samples (rows of w*channels*bytes, big-endian
 * 16-bit) with libpng. */
static buf make_png(int w, int h, int color_type, int depth, int interlace,
                    const uint8_t *samples, const png_color *pal, int npal,
                    const uint8_t *trns, int ntrns) {
  pngw out = {{NULL, 0}, 0};
  png_structp png =
      png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
  png_infop info = png_create_info_struct(png);
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    free(out.b.p);
    return (buf){NULL, 0};
  }
  png_set_write_fn(png, &out, pngw_write, pngw_flush);
  png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, depth, color_type,
               interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  if (pal)
    png_set_PLTE(png, info, pal, npal);
  if (trns)
    png_set_tRNS(png, info, trns, ntrns, NULL);
  png_write_info(png, info);
  int ch = color_type == PNG_COLOR_TYPE_RGB    ? 3
           : color_type == PNG_COLOR_TYPE_RGBA ? 4
           : color_type == PNG_COLOR_TYPE_GA   ? 2
                                               : 1;
  size_t rowbytes = ((size_t)w * ch * depth + 7) / 8;
  png_bytep *rows = malloc(sizeof(png_bytep) * h);
  for (int y = 0; y < h; y++)
    rows[y] = (png_bytep)samples + (size_t)y * rowbytes;
  png_write_image(png, rows);
  png_write_end(png, NULL);
  png_destroy_write_struct(&png, &info);
  free(rows);
  return out.b;
}

static void test_png(void) {
  argus_image dec, dec2;
  argus_image_error err;
  int w = 37, h = 21;
  uint8_t *s = malloc((size_t)w * h * 8);

  /* RGB, plain and interlaced: exact. */
  for (int i = 0; i < w * h * 3; i++)
    s[i] = (uint8_t)rnd();
  buf p = make_png(w, h, PNG_COLOR_TYPE_RGB, 8, 0, s, NULL, 0, NULL, 0);
  buf pi = make_png(w, h, PNG_COLOR_TYPE_RGB, 8, 1, s, NULL, 0, NULL, 0);
  CHECK(p.p && pi.p);
  CHECK_OK(argus_image_decode(p.p, p.n, ARGUS_PIX_RGB8, &dec, &err));
  int bad = 0;
  for (int y = 0; y < h; y++)
    bad += memcmp(px(&dec, 0, y), s + (size_t)y * w * 3, (size_t)w * 3) != 0;
  CHECK_INT_EQ(bad, 0);
  CHECK_OK(argus_image_decode(pi.p, pi.n, ARGUS_PIX_RGB8, &dec2, &err));
  CHECK(images_equal(&dec, &dec2));
  argus_image_free(&dec2);
  CHECK_OK(argus_image_decode(pi.p, pi.n, ARGUS_PIX_BGR8, &dec2, &err));
  CHECK_INT_EQ(px(&dec2, 3, 4)[0], px(&dec, 3, 4)[2]);
  argus_image_free(&dec2);
  CHECK_OK(argus_image_decode(p.p, p.n, ARGUS_PIX_GRAY8, &dec2, &err));
  const uint8_t *q = px(&dec, 5, 6);
  CHECK(abs(px(&dec2, 5, 6)[0] -
            (int)lrint(0.299 * q[0] + 0.587 * q[1] + 0.114 * q[2])) <= 1);
  argus_image_free(&dec2);
  argus_image_free(&dec);

  /* Truncation at every few bytes and random corruption: errors, no crash. */
  int cuts = 0, fails = 0;
  for (size_t cut = 0; cut < p.n; cut += 7, cuts++) {
    argus_err rc = argus_image_decode(p.p, cut, ARGUS_PIX_RGB8, &dec, &err);
    if (rc == ARGUS_OK)
      argus_image_free(&dec);
    else {
      fails++;
      CHECK(err.msg[0] != '\0');
    }
  }
  CHECK(fails >= cuts - 2); /* only cuts in the trailing IEND may pass */
  CHECK_INT_EQ(argus_image_decode(p.p, p.n / 2, ARGUS_PIX_RGB8, &dec, &err),
               ARGUS_E_CORRUPT);
  printf("truncated png: %s\n", err.msg);
  uint8_t *cp = malloc(pi.n);
  for (int iter = 0; iter < 300; iter++) {
    memcpy(cp, pi.p, pi.n);
    for (int k = rnd_in(1, 6); k > 0; k--)
      cp[rnd() % pi.n] = (uint8_t)rnd();
    if (argus_image_decode(cp, pi.n, ARGUS_PIX_RGB8, &dec, &err) == ARGUS_OK)
      argus_image_free(&dec);
  }
  free(cp);
  free(pi.p);

  /* Oversize and empty IHDR sizes are refused from the header. */
  p.p[16] = 0, p.p[17] = 0, p.p[18] = 0x4e, p.p[19] = 0x20; /* width 20000 */
  p.p[20] = 0, p.p[21] = 0, p.p[22] = 0x4e, p.p[23] = 0x20;
  CHECK_INT_EQ(argus_image_decode(p.p, p.n, ARGUS_PIX_RGB8, &dec, &err),
               ARGUS_E_LIMIT);
  CHECK(strstr(err.msg, "20000x20000") != NULL);
  p.p[18] = p.p[19] = 0;
  CHECK_INT_EQ(argus_image_decode(p.p, p.n, ARGUS_PIX_RGB8, &dec, &err),
               ARGUS_E_CORRUPT);
  free(p.p);

  /* RGBA composited over white. */
  for (int i = 0; i < w * h; i++) {
    s[4 * i] = 200, s[4 * i + 1] = 100, s[4 * i + 2] = 0;
    s[4 * i + 3] = (uint8_t)(i % 3 == 0 ? 0 : i % 3 == 1 ? 255 : 128);
  }
  p = make_png(w, h, PNG_COLOR_TYPE_RGBA, 8, 0, s, NULL, 0, NULL, 0);
  CHECK_OK(argus_image_decode(p.p, p.n, ARGUS_PIX_RGB8, &dec, &err));
  for (int i = 0; i < 3; i++) {
    const uint8_t *o = px(&dec, i, 0);
    if (i == 0)
      CHECK(o[0] == 255 && o[1] == 255 && o[2] == 255);
    else if (i == 1)
      CHECK(o[0] == 200 && o[1] == 100 && o[2] == 0);
    else {
      CHECK(abs(o[0] - (200 * 128 + 255 * 127) / 255) <= 1);
      CHECK(abs(o[2] - (255 * 127) / 255) <= 1);
    }
  }
  argus_image_free(&dec);
  free(p.p);

  /* 16-bit grey: v * 257 scales back to v; to RGB replicates. */
  for (int i = 0; i < w * h; i++) {
    unsigned v = (unsigned)(i * 7 % 256) * 257u;
    s[2 * i] = (uint8_t)(v >> 8), s[2 * i + 1] = (uint8_t)v;
  }
  p = make_png(w, h, PNG_COLOR_TYPE_GRAY, 16, 0, s, NULL, 0, NULL, 0);
  CHECK_OK(argus_image_decode(p.p, p.n, ARGUS_PIX_GRAY8, &dec, &err));
  bad = 0;
  for (int i = 0; i < w * h; i++)
    bad += px(&dec, i % w, i / w)[0] != i * 7 % 256;
  CHECK_INT_EQ(bad, 0);
  argus_image_free(&dec);
  CHECK_OK(argus_image_decode(p.p, p.n, ARGUS_PIX_RGB8, &dec, &err));
  CHECK(px(&dec, 3, 0)[0] == 21 && px(&dec, 3, 0)[1] == 21 &&
        px(&dec, 3, 0)[2] == 21);
  argus_image_free(&dec);
  free(p.p);

  /* Palette with a transparent entry; 1-bit grey. */
  png_color pal[3] = {{255, 0, 0}, {0, 0, 255}, {10, 20, 30}};
  uint8_t trns[3] = {255, 255, 0};
  for (int i = 0; i < w * h; i++)
    s[i] = (uint8_t)(i % 3);
  p = make_png(w, h, PNG_COLOR_TYPE_PALETTE, 8, 0, s, pal, 3, trns, 3);
  CHECK_OK(argus_image_decode(p.p, p.n, ARGUS_PIX_BGR8, &dec, &err));
  CHECK(px(&dec, 0, 0)[2] == 255 && px(&dec, 0, 0)[0] == 0);
  CHECK(px(&dec, 1, 0)[0] == 255 && px(&dec, 1, 0)[2] == 0);
  CHECK(px(&dec, 2, 0)[0] == 255 && px(&dec, 2, 0)[1] == 255); /* white */
  argus_image_free(&dec);
  free(p.p);
  memset(s, 0, (size_t)w * h);
  int rb = (w + 7) / 8;
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      if ((x + y) & 1)
        s[y * rb + x / 8] |= (uint8_t)(0x80 >> (x % 8));
  p = make_png(w, h, PNG_COLOR_TYPE_GRAY, 1, 1, s, NULL, 0, NULL, 0);
  CHECK_OK(argus_image_decode(p.p, p.n, ARGUS_PIX_GRAY8, &dec, &err));
  bad = 0;
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      bad += px(&dec, x, y)[0] != (((x + y) & 1) ? 255 : 0);
  CHECK_INT_EQ(bad, 0);
  argus_image_free(&dec);
  free(p.p);
  free(s);

  /* Not an image, empty. */
  const uint8_t gif[] = "GIF89a....";
  CHECK_INT_EQ(argus_image_decode(gif, sizeof gif, ARGUS_PIX_RGB8, &dec, &err),
               ARGUS_E_UNSUPPORTED);
  CHECK(strstr(err.msg, "not a JPEG or PNG") != NULL);
  CHECK_INT_EQ(argus_image_decode(gif, 0, ARGUS_PIX_RGB8, &dec, &err),
               ARGUS_E_CORRUPT);
  CHECK_INT_EQ(argus_image_decode(gif, 3, ARGUS_PIX_NV12, &dec, &err),
               ARGUS_E_INVALID_ARG);
}

/* ---- real files -------------------------------------------------------- */

static void test_shared_data(void) {
  const char *root = getenv("ARGUS_SHARED_DATA");
  char path[1024];
  struct stat st;
  if (!root || snprintf(path, sizeof path, "%s/stills", root) <= 0 ||
      stat(path, &st) != 0) {
    printf("shared data absent: real-file checks skipped\n");
    return;
  }
  struct {
    const char *file;
    int w, h;
  } files[] = {
      {"face_recognition_examples/examples/two_people.jpg", 1126, 661},
      {"face_recognition_examples/examples/biden.jpg", 970, 2204},
      {"face_recognition_examples/examples/lin-manuel-miranda.png", 704, 612},
      {"face_recognition_examples/tests/test_images/32bit.png", 626, 1200},
  };
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
    snprintf(path, sizeof path, "%s/stills/%s", root, files[i].file);
    if (stat(path, &st) != 0) {
      printf("missing %s: skipped\n", path);
      continue;
    }
    argus_image im;
    argus_image_error err;
    double t0 = now_ms();
    argus_err rc = argus_image_read_file(path, ARGUS_PIX_RGB8, &im, &err);
    double t1 = now_ms();
    CHECK_OK(rc);
    if (rc != ARGUS_OK) {
      fprintf(stderr, "%s\n", err.msg);
      continue;
    }
    CHECK_INT_EQ(im.width, files[i].w);
    CHECK_INT_EQ(im.height, files[i].h);
    /* A real photo is not flat. */
    int lo = 255, hi = 0;
    for (int y = 0; y < im.height; y += 7)
      for (int x = 0; x < im.width * 3; x += 11) {
        int v = px(&im, 0, y)[x];
        lo = v < lo ? v : lo, hi = v > hi ? v : hi;
      }
    CHECK(hi - lo > 100);
    printf("decoded %s: %dx%d in %.1f ms\n", files[i].file, im.width, im.height,
           t1 - t0);
    argus_image_free(&im);
  }
}

/* ---- timings ----------------------------------------------------------- */

static double time_it(void (*fn)(void *), void *ctx, int reps) {
  fn(ctx); /* warm up */
  double best = 1e30;
  for (int r = 0; r < reps; r++) {
    double t0 = now_ms();
    fn(ctx);
    double t = now_ms() - t0;
    best = t < best ? t : best;
  }
  return best;
}

typedef struct bench {
  argus_image *a, *b;
  const img_kernels *k;
  float m[6];
  float *t;
} bench;

static void run_yuv(void *c) {
  bench *b = c;
  argus_image *s = b->a, *d = b->b;
  for (int y = 0; y < s->height; y++)
    b->k->yuv420_row(s->data[0] + (size_t)y * s->stride[0],
                     s->data[1] + (size_t)(y / 2) * s->stride[1],
                     s->data[2] + (size_t)(y / 2) * s->stride[2],
                     d->data[0] + (size_t)y * d->stride[0], s->width, 0);
}
static void run_resize(void *c) {
  bench *b = c;
  argus_image_resize(b->a, b->b);
}
static void run_tensor(void *c) {
  bench *b = c;
  const float box[4] = {0, 0, (float)b->a->width, (float)b->a->height};
  argus_image_to_tensor(b->a, box, 320, 240, ARGUS_CH_RGB, 127.0f, 1.0f / 128,
                        b->t);
}
/* the live detector's input: 1080p shrunk by 4 (the box kernel) */
static void run_tensor4(void *c) {
  bench *b = c;
  const float box[4] = {0, 0, (float)b->a->width, (float)b->a->height};
  argus_image_to_tensor(b->a, box, b->a->width / 4, b->a->height / 4,
                        ARGUS_CH_RGB, 127.0f, 1.0f / 128, b->t);
}
static void run_warp(void *c) {
  bench *b = c;
  argus_image *s = b->a, *d = b->b;
  for (int y = 0; y < d->height; y++) {
    float fy = (float)y;
    b->k->warp_row(s->data[0], s->width, s->height, s->stride[0], 3,
                   b->m[1] * fy + b->m[2], b->m[4] * fy + b->m[5], b->m[0],
                   b->m[3], d->data[0] + (size_t)y * d->stride[0], d->width);
  }
}

static void test_timing(void) {
  argus_image yuv, rgb, small, face;
  CHECK_OK(argus_image_alloc(&yuv, 1920, 1080, ARGUS_PIX_YUV420P));
  CHECK_OK(argus_image_alloc(&rgb, 1920, 1080, ARGUS_PIX_RGB8));
  CHECK_OK(argus_image_alloc(&small, 320, 240, ARGUS_PIX_RGB8));
  CHECK_OK(argus_image_alloc(&face, 112, 112, ARGUS_PIX_RGB8));
  fill_random(&yuv);
  fill_smooth(&rgb);
  const img_kernels *tabs[3] = {&img_kernels_ref, NULL, NULL};
  int nt = 1;
  if (argus_cpu_features() & ARGUS_CPU_AVX2)
    tabs[nt++] = &img_kernels_avx2;
  if (argus_cpu_features() & ARGUS_CPU_AVX512)
    tabs[nt++] = &img_kernels_avx512;
  for (int t = 0; t < nt; t++) {
    bench b = {.a = &yuv,
               .b = &rgb,
               .k = tabs[t],
               .m = {0.45f, -0.12f, 900.0f, 0.12f, 0.45f, 400.0f}};
    double ty = time_it(run_yuv, &b, 5);
    b.a = &rgb, b.b = &face;
    double tw = time_it(run_warp, &b, 20);
    printf("timing %-6s: yuv420p->rgb 1920x1080 %.2f ms, warp 112x112 rgb %.3f "
           "ms\n",
           tabs[t]->name, ty, tw);
  }
  bench b = {.a = &rgb, .b = &small};
  printf("timing %-6s: resize rgb 1920x1080 -> 320x240 %.2f ms\n",
         img_kernels_get()->name, time_it(run_resize, &b, 5));
  float *tensor = malloc(sizeof(float) * 3 * 480 * 270);
  b.t = tensor;
  printf("timing %-6s: to_tensor rgb 1920x1080 -> 3x240x320 %.2f ms\n",
         img_kernels_get()->name, time_it(run_tensor, &b, 5));
  printf("timing %-6s: to_tensor rgb 1920x1080 -> 3x270x480 %.2f ms\n",
         img_kernels_get()->name, time_it(run_tensor4, &b, 5));
  free(tensor);
  argus_image mid;
  CHECK_OK(argus_image_alloc(&mid, 1280, 720, ARGUS_PIX_RGB8));
  b.b = &mid;
  printf("timing %-6s: resize rgb 1920x1080 -> 1280x720 %.2f ms\n",
         img_kernels_get()->name, time_it(run_resize, &b, 5));
  argus_image_free(&mid);
  argus_image_free(&yuv);
  argus_image_free(&rgb);
  argus_image_free(&small);
  argus_image_free(&face);
}

/* ---- fuzzing seeds ------------------------------------------------------- */

static void save(const char *dir, const char *name, const void *p, size_t n) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  if (!f || fwrite(p, 1, n, f) != n)
    fprintf(stderr, "cannot write %s\n", path);
  if (f)
    fclose(f);
}

/* With ARGUS_IMAGE_CORPUS_DIR set, writes small seed files of every kind the
 * decoder handles for fuzz/fuzz_image_decode. */
static void write_corpus(const char *dir) {
  mkdir(dir, 0777);
  argus_image im, g;
  CHECK_OK(argus_image_alloc(&im, 24, 16, ARGUS_PIX_RGB8));
  CHECK_OK(argus_image_alloc(&g, 16, 16, ARGUS_PIX_GRAY8));
  fill_smooth(&im);
  fill_smooth(&g);
  uint8_t *j;
  size_t jn;
  if (argus_image_encode_jpeg(&im, 75, &j, &jn) == ARGUS_OK) {
    save(dir, "baseline.jpg", j, jn);
    buf e = with_exif((buf){j, jn}, 6, 0);
    save(dir, "exif6.jpg", e.p, e.n);
    free(e.p);
    e = with_exif((buf){j, jn}, 3, 1);
    save(dir, "exif3_be.jpg", e.p, e.n);
    free(e.p);
    free(j);
  }
  if (argus_image_encode_jpeg(&im, 95, &j, &jn) == ARGUS_OK) {
    save(dir, "q95_444.jpg", j, jn);
    free(j);
  }
  if (argus_image_encode_jpeg(&g, 80, &j, &jn) == ARGUS_OK) {
    save(dir, "gray.jpg", j, jn);
    free(j);
  }
  buf pj = encode_jpeg_lib(&im, 1);
  save(dir, "progressive.jpg", pj.p, pj.n);
  free(pj.p);
  uint8_t s[24 * 16 * 8];
  for (size_t i = 0; i < sizeof s; i++)
    s[i] = (uint8_t)(i * 37);
  png_color pal[4] = {{255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {9, 9, 9}};
  uint8_t trns[4] = {255, 128, 0, 255};
  struct {
    const char *name;
    int type, depth, interlace;
  } pngs[] = {{"rgb.png", PNG_COLOR_TYPE_RGB, 8, 0},
              {"rgba.png", PNG_COLOR_TYPE_RGBA, 8, 0},
              {"ga.png", PNG_COLOR_TYPE_GA, 8, 1},
              {"gray16.png", PNG_COLOR_TYPE_GRAY, 16, 0},
              {"rgb16_interlaced.png", PNG_COLOR_TYPE_RGB, 16, 1},
              {"gray1.png", PNG_COLOR_TYPE_GRAY, 1, 1},
              {"palette.png", PNG_COLOR_TYPE_PALETTE, 2, 0}};
  for (size_t i = 0; i < sizeof pngs / sizeof pngs[0]; i++) {
    int pal_ = pngs[i].type == PNG_COLOR_TYPE_PALETTE;
    buf p = make_png(24, 16, pngs[i].type, pngs[i].depth, pngs[i].interlace, s,
                     pal_ ? pal : NULL, 4, pal_ ? trns : NULL, 4);
    if (p.p)
      save(dir, pngs[i].name, p.p, p.n);
    free(p.p);
  }
  argus_image_free(&im);
  argus_image_free(&g);
  printf("wrote fuzzing seeds to %s\n", dir);
}

int main(void) {
  argus_log_set_sink(quiet, NULL);
  test_alloc_wrap_crop();
  test_convert();
  test_kernels();
  test_resize();
  test_warp();
  test_to_tensor();
  test_box4_shrink();
  test_jpeg();
  test_exif();
  test_png();
  test_shared_data();
  test_timing();
  const char *corpus = getenv("ARGUS_IMAGE_CORPUS_DIR");
  if (corpus && *corpus)
    write_corpus(corpus);
  return check_report("test_image");
}
