/*
 * Pixel kernels of the image module: a const table of function pointers per
 * instruction set, chosen once from argus_cpu_features() (img_kernels_get).
 *
 * One kernel per file per ISA: kernels/ref/<name>_ref.c holds the plain C
 * reference (img_kernels_ref), kernels/avx2/<name>_avx2.c and
 * kernels/avx512/<name>_avx512.c the SIMD versions, which compute exactly
 * the same integer or float operations in the same order (their files are
 * built with -ffp-contract=off), so their results are bit-identical to the
 * reference; tests/test_image.c checks that on random sizes including
 * tails. Kernels never allocate.
 */
#ifndef ARGUS_IMAGE_KERNELS_H
#define ARGUS_IMAGE_KERNELS_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#if defined(__SSE__) || defined(__x86_64__)
#include <xmmintrin.h>
#endif

/* Rounds to the nearest integer, ties to even (the current rounding mode),
 * like cvtps2dq in the SIMD kernels; lrintf is a library call. The value
 * must fit an int. */
static inline int img_rint(float v) {
#if defined(__SSE__) || defined(__x86_64__)
  return _mm_cvt_ss2si(_mm_set_ss(v));
#else
  return (int)lrintf(v);
#endif
}

/* One row of YUV 4:2:0 -> packed RGB8 (bgr == 0) or BGR8 (bgr == 1), BT.601
 * limited range. yuv420: u/v hold (width+1)/2 samples; nv12: uv holds
 * (width+1)/2 interleaved U,V pairs. dst: 3*width bytes. */
typedef void (*img_yuv420_row_fn)(const uint8_t *y, const uint8_t *u,
                                  const uint8_t *v, uint8_t *dst, int width,
                                  int bgr);
typedef void (*img_nv12_row_fn)(const uint8_t *y, const uint8_t *uv,
                                uint8_t *dst, int width, int bgr);

/* Vertical pass of the resampler: out[i] = sum_{j<k} w[j] * rows[j][i] for
 * i < n, summed in order j = 0, 1, ... starting from 0.0f. k >= 1. */
typedef void (*img_vsum_fn)(const uint8_t *const *rows, const float *w, int k,
                            float *out, size_t n);

/* Horizontal pass of the resampler over an expanded tap table: for each
 * output element e < n,
 *   out[e] = sum_{j<k} w[j*n + e] * v[idx[e] + j*step]
 * summed in order j = 0, 1, ... starting from 0.0f. Every index read must
 * be valid (zero-weight taps included). */
typedef void (*img_hsum_fn)(const float *v, const int32_t *idx, const float *w,
                            int k, int step, size_t n, float *out);

/* Rounds floats to bytes: nearest, ties to even, saturated to 0..255
 * (NaN and out-of-range values give 0 or 255 as cvtps2dq + packing do). */
typedef void (*img_pack_u8_fn)(const float *in, uint8_t *out, size_t n);

/* The 4x4 box mean of packed RGB8 (a shrink by exactly 4 on both axes):
 * out[3x+c] = (sum over r < 4, j < 4 of rows[r][12x + 3j + c]) / 16 for
 * x < npx; reads 12*npx bytes of each row. The sums are integers, so the
 * value is the resampler's vsum + hsum with weights 1/4, bit for bit. */
typedef void (*img_box4_rgb_fn)(const uint8_t *const *rows, int npx,
                                float *out);

/* One output row of a bilinear affine warp of a packed image with `cn`
 * channels (1 or 3): pixel x samples the source at
 *   sx = bx + m0 * (float)x,  sy = by + m3 * (float)x
 * (see img_warp_px). src: sw x sh with row stride sstride. dst: dw*cn. */
typedef void (*img_warp_row_fn)(const uint8_t *src, int sw, int sh, int sstride,
                                int cn, float bx, float by, float m0, float m3,
                                uint8_t *dst, int dw);

typedef struct img_kernels {
  const char *name;
  img_yuv420_row_fn yuv420_row;
  img_nv12_row_fn nv12_row;
  img_vsum_fn vsum;
  img_hsum_fn hsum;
  img_pack_u8_fn pack_u8;
  img_warp_row_fn warp_row;
  img_box4_rgb_fn box4_rgb;
} img_kernels;

extern const img_kernels img_kernels_ref;
extern const img_kernels img_kernels_avx2;
extern const img_kernels img_kernels_avx512;

/* The table for this CPU (honours ARGUS_ISA); logged once at debug level. */
const img_kernels *img_kernels_get(void);

/* ---- YUV fixed point ---------------------------------------------------
 * Values are computed in Q6 with 16-bit saturating arithmetic, the way the
 * SIMD kernels do with pmulhrsw: mulhrs(a, c) = (a*c + 2^14) >> 15.
 *   yy = mulhrs((Y-16) << 7, CY)          R = yy + mulhrs((V-128) << 7, CRV)
 *   G  = yy - mulhrs((U-128) << 7, CGU) - mulhrs((V-128) << 7, CGV)
 *   B  = yy + mulhrs((U-128) << 8, CBU)   out = clamp((X + 32) >> 6)
 * with coefficients 255/219, 1.402*255/224, 0.344136*255/224,
 * 0.714136*255/224 (times 2^14) and 1.772*255/224 (times 2^13). */
#define IMG_YUV_CY 19077
#define IMG_YUV_CRV 26149
#define IMG_YUV_CGU 6419
#define IMG_YUV_CGV 13320
#define IMG_YUV_CBU 16525

static inline int img_mulhrs16(int a, int c) { return (a * c + 0x4000) >> 15; }
static inline int img_sat16(int v) {
  return v < -32768 ? -32768 : v > 32767 ? 32767 : v;
}
static inline uint8_t img_q6_to_u8(int v) {
  v = img_sat16(v + 32) >> 6;
  /* Branchless clamp to 0..255 (arithmetic shifts): branches on pixel
   * values mispredict on noisy images. */
  v &= ~(v >> 31);
  v |= (255 - v) >> 31;
  return (uint8_t)v;
}
static inline void img_yuv_px(int Y, int U, int V, uint8_t *r, uint8_t *g,
                              uint8_t *b) {
  int yy = img_mulhrs16((Y - 16) * 128, IMG_YUV_CY);
  int u7 = (U - 128) * 128, v7 = (V - 128) * 128, u8 = (U - 128) * 256;
  *r = img_q6_to_u8(img_sat16(yy + img_mulhrs16(v7, IMG_YUV_CRV)));
  *g = img_q6_to_u8(img_sat16(img_sat16(yy - img_mulhrs16(u7, IMG_YUV_CGU)) -
                              img_mulhrs16(v7, IMG_YUV_CGV)));
  *b = img_q6_to_u8(img_sat16(yy + img_mulhrs16(u8, IMG_YUV_CBU)));
}

/* ---- warp fixed point --------------------------------------------------
 * Source coordinates are rounded to 1/128 pixel (X = rint(sx * 128)); the
 * four neighbours get weights (128-fx)(128-fy), fx(128-fy), (128-fx)fy,
 * fx*fy (sum 2^14); out = (sum + 2^13) >> 14. Neighbours outside the image
 * are 0; a pixel with no neighbour inside is 0. */
#define IMG_WARP_BITS 7
#define IMG_WARP_ONE (1 << IMG_WARP_BITS)

static inline void img_warp_px(const uint8_t *src, int sw, int sh, int sstride,
                               int cn, float sx, float sy, uint8_t *dst) {
  /* The range test also rejects NaN; inside it sx*128 fits an int. */
  if (!(sx > -2.0f && sx < (float)sw + 1.0f && sy > -2.0f &&
        sy < (float)sh + 1.0f)) {
    for (int c = 0; c < cn; c++)
      dst[c] = 0;
    return;
  }
  int X = img_rint(sx * (float)IMG_WARP_ONE);
  int Y = img_rint(sy * (float)IMG_WARP_ONE);
  int x0 = X >> IMG_WARP_BITS, y0 = Y >> IMG_WARP_BITS;
  int fx = X & (IMG_WARP_ONE - 1), fy = Y & (IMG_WARP_ONE - 1);
  int w[4] = {(IMG_WARP_ONE - fx) * (IMG_WARP_ONE - fy),
              fx * (IMG_WARP_ONE - fy), (IMG_WARP_ONE - fx) * fy, fx * fy};
  int acc[3] = {0, 0, 0};
  for (int j = 0; j < 4; j++) {
    int xi = x0 + (j & 1), yi = y0 + (j >> 1);
    if (xi < 0 || xi >= sw || yi < 0 || yi >= sh)
      continue;
    const uint8_t *p = src + (size_t)yi * (size_t)sstride + (size_t)xi * cn;
    for (int c = 0; c < cn; c++)
      acc[c] += w[j] * p[c];
  }
  for (int c = 0; c < cn; c++)
    dst[c] = (uint8_t)((acc[c] + (1 << 13)) >> 14);
}

/* Reference kernels (also the scalar tails of the SIMD ones). */
void img_yuv420_row_ref(const uint8_t *y, const uint8_t *u, const uint8_t *v,
                        uint8_t *dst, int width, int bgr);
void img_nv12_row_ref(const uint8_t *y, const uint8_t *uv, uint8_t *dst,
                      int width, int bgr);
void img_vsum_ref(const uint8_t *const *rows, const float *w, int k, float *out,
                  size_t n);
void img_warp_row_ref(const uint8_t *src, int sw, int sh, int sstride, int cn,
                      float bx, float by, float m0, float m3, uint8_t *dst,
                      int dw);
void img_hsum_ref(const float *v, const int32_t *idx, const float *w, int k,
                  int step, size_t n, float *out);
void img_pack_u8_ref(const float *in, uint8_t *out, size_t n);
void img_box4_rgb_ref(const uint8_t *const *rows, int npx, float *out);

#if defined(__x86_64__) || defined(__i386__)
void img_yuv420_row_avx2(const uint8_t *y, const uint8_t *u, const uint8_t *v,
                         uint8_t *dst, int width, int bgr);
void img_nv12_row_avx2(const uint8_t *y, const uint8_t *uv, uint8_t *dst,
                       int width, int bgr);
void img_vsum_avx2(const uint8_t *const *rows, const float *w, int k,
                   float *out, size_t n);
void img_warp_row_avx2(const uint8_t *src, int sw, int sh, int sstride, int cn,
                       float bx, float by, float m0, float m3, uint8_t *dst,
                       int dw);
void img_hsum_avx2(const float *v, const int32_t *idx, const float *w, int k,
                   int step, size_t n, float *out);
void img_pack_u8_avx2(const float *in, uint8_t *out, size_t n);
void img_box4_rgb_avx2(const uint8_t *const *rows, int npx, float *out);
void img_hsum_avx512(const float *v, const int32_t *idx, const float *w, int k,
                     int step, size_t n, float *out);
void img_pack_u8_avx512(const float *in, uint8_t *out, size_t n);
void img_yuv420_row_avx512(const uint8_t *y, const uint8_t *u, const uint8_t *v,
                           uint8_t *dst, int width, int bgr);
void img_nv12_row_avx512(const uint8_t *y, const uint8_t *uv, uint8_t *dst,
                         int width, int bgr);
void img_box4_rgb_avx512(const uint8_t *const *rows, int npx, float *out);
void img_vsum_avx512(const uint8_t *const *rows, const float *w, int k,
                     float *out, size_t n);
#endif

#endif
