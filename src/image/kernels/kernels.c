/* Reference pixel kernels and the choice of the kernel table. */
#include "image/kernels/kernels.h"

#include <pthread.h>

#include "argus/core.h"

void img_yuv420_row_ref(const uint8_t *y, const uint8_t *u, const uint8_t *v,
                        uint8_t *dst, int width, int bgr) {
  int ri = bgr ? 2 : 0, bi = bgr ? 0 : 2;
  for (int x = 0; x < width; x++) {
    uint8_t r, g, b;
    img_yuv_px(y[x], u[x >> 1], v[x >> 1], &r, &g, &b);
    dst[3 * x + ri] = r;
    dst[3 * x + 1] = g;
    dst[3 * x + bi] = b;
  }
}

void img_nv12_row_ref(const uint8_t *y, const uint8_t *uv, uint8_t *dst,
                      int width, int bgr) {
  int ri = bgr ? 2 : 0, bi = bgr ? 0 : 2;
  for (int x = 0; x < width; x++) {
    uint8_t r, g, b;
    img_yuv_px(y[x], uv[(x >> 1) * 2], uv[(x >> 1) * 2 + 1], &r, &g, &b);
    dst[3 * x + ri] = r;
    dst[3 * x + 1] = g;
    dst[3 * x + bi] = b;
  }
}

void img_vsum_ref(const uint8_t *const *rows, const float *w, int k,
                  float *out, size_t n) {
  for (size_t i = 0; i < n; i++) {
    float acc = 0.0f;
    for (int j = 0; j < k; j++)
      acc = acc + w[j] * (float)rows[j][i];
    out[i] = acc;
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
    .warp_row = img_warp_row_ref,
};

#if defined(__x86_64__) || defined(__i386__)
const img_kernels img_kernels_avx2 = {
    .name = "avx2",
    .yuv420_row = img_yuv420_row_avx2,
    .nv12_row = img_nv12_row_avx2,
    .vsum = img_vsum_avx2,
    .warp_row = img_warp_row_avx2,
};

/* The warp gathers gain nothing from 512-bit vectors on current cores. */
const img_kernels img_kernels_avx512 = {
    .name = "avx512",
    .yuv420_row = img_yuv420_row_avx512,
    .nv12_row = img_nv12_row_avx512,
    .vsum = img_vsum_avx512,
    .warp_row = img_warp_row_avx2,
};
#else
const img_kernels img_kernels_avx2 = {
    .name = "ref", .yuv420_row = img_yuv420_row_ref,
    .nv12_row = img_nv12_row_ref, .vsum = img_vsum_ref,
    .warp_row = img_warp_row_ref};
const img_kernels img_kernels_avx512 = {
    .name = "ref", .yuv420_row = img_yuv420_row_ref,
    .nv12_row = img_nv12_row_ref, .vsum = img_vsum_ref,
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
