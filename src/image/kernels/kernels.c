/* Reference pixel kernels and the choice of the kernel table. */
#include "image/kernels/kernels.h"

#include <pthread.h>

#include "argus/core.h"

/* Two pixels share one chroma sample: its terms are computed once. */
static inline void yuv_pair(const uint8_t *y, int n, int U, int V, uint8_t *d,
                            int ri, int bi) {
  int u7 = (U - 128) * 128, v7 = (V - 128) * 128, u8 = (U - 128) * 256;
  int rv = img_mulhrs16(v7, IMG_YUV_CRV), gu = img_mulhrs16(u7, IMG_YUV_CGU);
  int gv = img_mulhrs16(v7, IMG_YUV_CGV), bu = img_mulhrs16(u8, IMG_YUV_CBU);
  for (int i = 0; i < n; i++, d += 3) {
    int yy = img_mulhrs16((y[i] - 16) * 128, IMG_YUV_CY);
    d[ri] = img_q6_to_u8(img_sat16(yy + rv));
    d[1] = img_q6_to_u8(img_sat16(img_sat16(yy - gu) - gv));
    d[bi] = img_q6_to_u8(img_sat16(yy + bu));
  }
}

void img_yuv420_row_ref(const uint8_t *y, const uint8_t *u, const uint8_t *v,
                        uint8_t *dst, int width, int bgr) {
  int ri = bgr ? 2 : 0, bi = bgr ? 0 : 2;
  for (int x = 0; x < width; x += 2)
    yuv_pair(y + x, width - x < 2 ? 1 : 2, u[x >> 1], v[x >> 1],
             dst + 3 * (size_t)x, ri, bi);
}

void img_nv12_row_ref(const uint8_t *y, const uint8_t *uv, uint8_t *dst,
                      int width, int bgr) {
  int ri = bgr ? 2 : 0, bi = bgr ? 0 : 2;
  for (int x = 0; x < width; x += 2)
    yuv_pair(y + x, width - x < 2 ? 1 : 2, uv[x], uv[x + 1],
             dst + 3 * (size_t)x, ri, bi);
}

void img_vsum_ref(const uint8_t *const *rows, const float *w, int k, float *out,
                  size_t n) {
  for (size_t i = 0; i < n; i++) {
    float acc = 0.0f;
    for (int j = 0; j < k; j++)
      acc = acc + w[j] * (float)rows[j][i];
    out[i] = acc;
  }
}

void img_hsum_ref(const float *v, const int32_t *idx, const float *w, int k,
                  int step, size_t n, float *out) {
  for (size_t e = 0; e < n; e++) {
    float acc = 0.0f;
    const float *p = v + idx[e];
    for (int j = 0; j < k; j++)
      acc = acc + w[(size_t)j * n + e] * p[(size_t)j * (size_t)step];
    out[e] = acc;
  }
}

void img_pack_u8_ref(const float *in, uint8_t *out, size_t n) {
  for (size_t i = 0; i < n; i++) {
    int v = img_rint(in[i]);
    v &= ~(v >> 31);
    v |= (255 - v) >> 31;
    out[i] = (uint8_t)v;
  }
}

void img_warp_row_ref(const uint8_t *src, int sw, int sh, int sstride, int cn,
                      float bx, float by, float m0, float m3, uint8_t *dst,
                      int dw) {
  for (int x = 0; x < dw; x++) {
    float fx = (float)x;
    img_warp_px(src, sw, sh, sstride, cn, bx + m0 * fx, by + m3 * fx,
                dst + (size_t)x * cn);
  }
}

const img_kernels img_kernels_ref = {
    .name = "ref",
    .yuv420_row = img_yuv420_row_ref,
    .nv12_row = img_nv12_row_ref,
    .vsum = img_vsum_ref,
    .hsum = img_hsum_ref,
    .pack_u8 = img_pack_u8_ref,
    .warp_row = img_warp_row_ref,
};

#if defined(__x86_64__) || defined(__i386__)
const img_kernels img_kernels_avx2 = {
    .name = "avx2",
    .yuv420_row = img_yuv420_row_avx2,
    .nv12_row = img_nv12_row_avx2,
    .vsum = img_vsum_avx2,
    .hsum = img_hsum_avx2,
    .pack_u8 = img_pack_u8_avx2,
    .warp_row = img_warp_row_avx2,
};

/* The warp gathers gain nothing from 512-bit vectors on current cores. */
const img_kernels img_kernels_avx512 = {
    .name = "avx512",
    .yuv420_row = img_yuv420_row_avx512,
    .nv12_row = img_nv12_row_avx512,
    .vsum = img_vsum_avx512,
    .hsum = img_hsum_avx512,
    .pack_u8 = img_pack_u8_avx512,
    .warp_row = img_warp_row_avx2,
};
#else
const img_kernels img_kernels_avx2 = {.name = "ref",
                                      .yuv420_row = img_yuv420_row_ref,
                                      .nv12_row = img_nv12_row_ref,
                                      .vsum = img_vsum_ref,
                                      .hsum = img_hsum_ref,
                                      .pack_u8 = img_pack_u8_ref,
                                      .warp_row = img_warp_row_ref};
const img_kernels img_kernels_avx512 = {.name = "ref",
                                        .yuv420_row = img_yuv420_row_ref,
                                        .nv12_row = img_nv12_row_ref,
                                        .vsum = img_vsum_ref,
                                        .hsum = img_hsum_ref,
                                        .pack_u8 = img_pack_u8_ref,
                                        .warp_row = img_warp_row_ref};
#endif

static const img_kernels *g_table;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void choose(void) {
  unsigned f = argus_cpu_features();
  if (f & ARGUS_CPU_AVX512)
    g_table = &img_kernels_avx512;
  else if (f & ARGUS_CPU_AVX2)
    g_table = &img_kernels_avx2;
  else
    g_table = &img_kernels_ref;
  argus_log(ARGUS_LOG_DEBUG, "image", "kernels: %s", g_table->name);
}

const img_kernels *img_kernels_get(void) {
  pthread_once(&g_once, choose);
  return g_table;
}
