/* The low-precision GEMM kernels side by side: bf16 (nn_bf16_gemm_fn) and
 * int8 (nn_i8_gemm_fn), both reading float32 B as a Conv's 1x1 path hands
 * it over (B converted or quantised per block inside), on one thread, on
 * the product shapes of the default models' 1x1 convs (m output channels,
 * k input channels, n pixels). Prints microseconds (minimum of 30 rounds of
 * 10 calls), GMAC/s and int8 / bf16.
 *
 *   build/bench/gemm_bench [M K N ...]
 *
 * Needs AVX512_BF16 and AVX512_VNNI (else says which is missing). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nn/kernels/kernels.h"

static double now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

static void run(size_t m, size_t k, size_t n, nn_bf16_gemm_fn f16,
                nn_i8_gemm_fn f8) {
  float *a = malloc(m * k * sizeof *a), *b = malloc(k * n * sizeof *b),
        *c = malloc(m * n * sizeof *c), *bias = malloc(m * sizeof *bias);
  uint32_t *a16 = malloc(nn_bf16_pack_a_size(m, k) * sizeof *a16);
  uint32_t *a8 = malloc(nn_i8_pack_a_size(m, k) * sizeof *a8);
  size_t bb = (nn_bf16_bbuf_size(k) * sizeof(uint32_t) + 63) / 64 * 64;
  uint32_t *bbuf = aligned_alloc(64, bb);
  if (!a || !b || !c || !bias || !a16 || !a8 || !bbuf) {
    fprintf(stderr, "gemm_bench: out of memory\n");
    exit(1);
  }
  unsigned s = 12345;
  for (size_t i = 0; i < m * k; i++)
    a[i] = (float)((s = s * 1103515245u + 12345u) >> 16 & 2047) / 1024 - 1;
  for (size_t i = 0; i < k * n; i++) /* after a ReLU: >= 0 */
    b[i] = (float)((s = s * 1103515245u + 12345u) >> 16 & 2047) / 1024;
  for (size_t i = 0; i < m; i++)
    bias[i] = 0.01f * (float)i;
  nn_bf16_pack_a(m, k, a, k, 1, a16);
  nn_i8_pack_a(m, k, a, k, 1, a8);
  nn_post p;
  memset(&p, 0, sizeof p);
  p.bias = bias;
  p.act = NN_ACT_RELU;
  double t16 = 1e30, t8 = 1e30;
  for (int r = 0; r < 30; r++) {
    double t = now_us();
    for (int i = 0; i < 10; i++)
      f16(m, n, k, a16, b, n, NULL, 0, c, n, &p, bbuf);
    t = (now_us() - t) / 10;
    t16 = t < t16 ? t : t16;
    t = now_us();
    for (int i = 0; i < 10; i++)
      f8(m, n, k, a8, b, n, NULL, 0, c, n, &p, bbuf);
    t = (now_us() - t) / 10;
    t8 = t < t8 ? t : t8;
  }
  double macs = (double)m * (double)n * (double)k;
  printf("%5zu %5zu %6zu   %8.1f %6.0f   %8.1f %6.0f   %5.2f\n", m, k, n, t16,
         macs / t16 / 1e3, t8, macs / t8 / 1e3, t8 / t16);
  free(a), free(b), free(c), free(bias), free(a16), free(a8), free(bbuf);
}

int main(int argc, char **argv) {
  nn_bf16_gemm_fn f16 = nn_bf16_gemm_get();
  nn_i8_gemm_fn f8 = nn_i8_gemm_get();
  if (!f16 || !f8) {
    fprintf(stderr, "gemm_bench: this CPU has no %s (or ARGUS_ISA hides it)\n",
            !f16 ? "AVX512_BF16" : "AVX512_VNNI");
    return 1;
  }
  /* YuNet n at 640x480 (16-64 channels), fr_landmark (32-128 at 32x32 to
   * 4x4), fr_feature (64-512 at 56x56 to 7x7) */
  static const size_t dflt[][3] = {
      {16, 16, 19200}, {32, 32, 4800}, {64, 64, 1200}, {64, 32, 1024},
      {64, 128, 64},   {128, 64, 64},  {128, 64, 3136}, {128, 128, 784},
      {256, 128, 196}, {512, 128, 49}};
  printf("    m     k      n    bf16 us GMAC/s    int8 us GMAC/s   int8/bf16\n");
  if (argc > 1) {
    for (int i = 1; i + 2 < argc; i += 3)
      run((size_t)atol(argv[i]), (size_t)atol(argv[i + 1]),
          (size_t)atol(argv[i + 2]), f16, f8);
    return 0;
  }
  for (size_t i = 0; i < sizeof dflt / sizeof *dflt; i++)
    run(dflt[i][0], dflt[i][1], dflt[i][2], f16, f8);
  return 0;
}
