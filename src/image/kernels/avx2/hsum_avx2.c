/* Horizontal pass of the resampler with gathers, and float -> byte
 * packing; same operation order as the references (bit-exact). */
#include <immintrin.h>

#include "image/kernels/kernels.h"

void img_hsum_avx2(const float *v, const int32_t *idx, const float *w, int k,
                   int step, size_t n, float *out) {
  size_t e = 0;
  const __m256i vstep = _mm256_set1_epi32(step);
  for (; e + 8 <= n; e += 8) {
    __m256i ix = _mm256_loadu_si256((const __m256i *)(idx + e));
    __m256 acc = _mm256_setzero_ps();
    for (int j = 0; j < k; j++, ix = _mm256_add_epi32(ix, vstep)) {
      __m256 x = _mm256_i32gather_ps(v, ix, 4);
      acc = _mm256_add_ps(
          acc, _mm256_mul_ps(_mm256_loadu_ps(w + (size_t)j * n + e), x));
    }
    _mm256_storeu_ps(out + e, acc);
  }
  for (; e < n; e++) {
    float acc = 0.0f;
    const float *p = v + idx[e];
    for (int j = 0; j < k; j++)
      acc = acc + w[(size_t)j * n + e] * p[(size_t)j * (size_t)step];
    out[e] = acc;
  }
}

void img_pack_u8_avx2(const float *in, uint8_t *out, size_t n) {
  size_t i = 0;
  const __m256i perm = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
  for (; i + 32 <= n; i += 32) {
    __m256i a = _mm256_cvtps_epi32(_mm256_loadu_ps(in + i));
    __m256i b = _mm256_cvtps_epi32(_mm256_loadu_ps(in + i + 8));
    __m256i c = _mm256_cvtps_epi32(_mm256_loadu_ps(in + i + 16));
    __m256i d = _mm256_cvtps_epi32(_mm256_loadu_ps(in + i + 24));
    __m256i p =
        _mm256_packus_epi16(_mm256_packs_epi32(a, b), _mm256_packs_epi32(c, d));
    _mm256_storeu_si256((__m256i *)(out + i),
                        _mm256_permutevar8x32_epi32(p, perm));
  }
  img_pack_u8_ref(in + i, out + i, n - i);
}
