/* Float -> byte packing: cvtps2dq rounds to nearest even like the
 * reference, then saturating packs; the tail is the reference. */
#include <immintrin.h>

#include "image/kernels/kernels.h"

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
