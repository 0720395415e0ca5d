/* fp32 -> fp16 with F16C vcvtps2ph, round to nearest even; the reference
 * conversion finishes the tail. */
#if defined(__F16C__)
#include <immintrin.h>

#include "../kernels.h"

void ix_f32_to_f16_avx2(const float *src, uint16_t *dst, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm_storeu_si128((__m128i *)(dst + i),
                     _mm256_cvtps_ph(_mm256_loadu_ps(src + i),
                                     _MM_FROUND_TO_NEAREST_INT));
  for (; i < n; i++)
    dst[i] = ix_f32_to_f16_1(src[i]);
}
#endif
