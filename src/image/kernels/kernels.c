/* The image module's kernel tables and the choice among them. The kernels
 * live one per file: kernels/ref/<name>_ref.c (the plain C reference),
 * kernels/avx2/<name>_avx2.c, kernels/avx512/<name>_avx512.c. */
#include "image/kernels/kernels.h"

#include <pthread.h>

#include "argus/core.h"

const img_kernels img_kernels_ref = {
    .name = "ref",
    .yuv420_row = img_yuv420_row_ref,
    .nv12_row = img_nv12_row_ref,
    .vsum = img_vsum_ref,
    .hsum = img_hsum_ref,
    .pack_u8 = img_pack_u8_ref,
    .warp_row = img_warp_row_ref,
    .box4_rgb = img_box4_rgb_ref,
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
    .box4_rgb = img_box4_rgb_avx2,
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
    .box4_rgb = img_box4_rgb_avx512,
};
#else
const img_kernels img_kernels_avx2 = {.name = "ref",
                                      .yuv420_row = img_yuv420_row_ref,
                                      .nv12_row = img_nv12_row_ref,
                                      .vsum = img_vsum_ref,
                                      .hsum = img_hsum_ref,
                                      .pack_u8 = img_pack_u8_ref,
                                      .warp_row = img_warp_row_ref,
                                      .box4_rgb = img_box4_rgb_ref};
const img_kernels img_kernels_avx512 = {.name = "ref",
                                        .yuv420_row = img_yuv420_row_ref,
                                        .nv12_row = img_nv12_row_ref,
                                        .vsum = img_vsum_ref,
                                        .hsum = img_hsum_ref,
                                        .pack_u8 = img_pack_u8_ref,
                                        .warp_row = img_warp_row_ref,
                                      .box4_rgb = img_box4_rgb_ref};
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
