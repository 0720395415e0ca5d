/* Bilinear affine warp of 3-channel images, 8 pixels per step with gathers.
 * Same coordinate and fixed-point arithmetic as img_warp_px (kernels.h), so
 * the result is bit-exact; blocks that touch the image border, and
 * 1-channel images, take the scalar path. */
#include <immintrin.h>
#include <string.h>

#include "image/kernels/kernels.h"

#define N_ -128
/* Per dword: low word = byte `a` of the first source, high word = byte `b`
 * of the second (masks applied to p00/p10 and p01/p11 respectively). */
#define PAIR_LO(a)                                                             \
  a, N_, N_, N_, 4 + a, N_, N_, N_, 8 + a, N_, N_, N_, 12 + a, N_, N_, N_
#define PAIR_HI(b)                                                             \
  N_, N_, b, N_, N_, N_, 4 + b, N_, N_, N_, 8 + b, N_, N_, N_, 12 + b, N_
static const int8_t kLo[3][16] = {{PAIR_LO(0)}, {PAIR_LO(1)}, {PAIR_LO(2)}};
static const int8_t kHi[3][16] = {{PAIR_HI(1)}, {PAIR_HI(2)}, {PAIR_HI(3)}};
/* Packs dwords R|G<<8|B<<16 of 4 pixels into 12 bytes. */
static const int8_t kPack[16] = {0,  1,  2,  4,  5,  6,  8,  9,
                                 10, 12, 13, 14, N_, N_, N_, N_};
#undef N_

static inline __m256i mask256(const int8_t *m) {
  return _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)m));
}

static inline __m256i channel(__m256i a, __m256i b, __m256i lo, __m256i hi) {
  return _mm256_or_si256(_mm256_shuffle_epi8(a, lo),
                         _mm256_shuffle_epi8(b, hi));
}

void img_warp_row_avx2(const uint8_t *src, int sw, int sh, int sstride, int cn,
                       float bx, float by, float m0, float m3, uint8_t *dst,
                       int dw) {
  int x = 0;
  if (cn == 3 && sw >= 2 && sh >= 2) {
    const __m256 iota = _mm256_setr_ps(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256 vbx = _mm256_set1_ps(bx), vby = _mm256_set1_ps(by);
    const __m256 vm0 = _mm256_set1_ps(m0), vm3 = _mm256_set1_ps(m3);
    const __m256 one = _mm256_set1_ps((float)IMG_WARP_ONE);
    const __m256i frac = _mm256_set1_epi32(IMG_WARP_ONE - 1);
    const __m256i vone = _mm256_set1_epi32(IMG_WARP_ONE);
    const __m256i neg1 = _mm256_set1_epi32(-1);
    const __m256i xmax = _mm256_set1_epi32(sw - 1); /* x0 < sw-1 */
    const __m256i ymax = _mm256_set1_epi32(sh - 1);
    const __m256i vstride = _mm256_set1_epi32(sstride);
    const __m256i round = _mm256_set1_epi32(1 << 13);
    const __m256i lo[3] = {mask256(kLo[0]), mask256(kLo[1]), mask256(kLo[2])};
    const __m256i hi[3] = {mask256(kHi[0]), mask256(kHi[1]), mask256(kHi[2])};
    const __m256i pack = mask256(kPack);
    const int *base0 = (const int *)(const void *)src;
    const int *base1 = (const int *)(const void *)(src + 2);
    const int *base2 = (const int *)(const void *)(src + sstride);
    const int *base3 = (const int *)(const void *)(src + sstride + 2);
    for (; x + 8 <= dw; x += 8) {
      __m256 xf = _mm256_add_ps(_mm256_set1_ps((float)x), iota);
      __m256 sx = _mm256_add_ps(vbx, _mm256_mul_ps(vm0, xf));
      __m256 sy = _mm256_add_ps(vby, _mm256_mul_ps(vm3, xf));
      __m256i X = _mm256_cvtps_epi32(_mm256_mul_ps(sx, one));
      __m256i Y = _mm256_cvtps_epi32(_mm256_mul_ps(sy, one));
      __m256i x0 = _mm256_srai_epi32(X, IMG_WARP_BITS);
      __m256i y0 = _mm256_srai_epi32(Y, IMG_WARP_BITS);
      __m256i ok =
          _mm256_and_si256(_mm256_and_si256(_mm256_cmpgt_epi32(x0, neg1),
                                            _mm256_cmpgt_epi32(xmax, x0)),
                           _mm256_and_si256(_mm256_cmpgt_epi32(y0, neg1),
                                            _mm256_cmpgt_epi32(ymax, y0)));
      uint8_t *d = dst + 3 * (size_t)x;
      if (_mm256_movemask_epi8(ok) != -1) {
        for (int i = 0; i < 8; i++) {
          float fx = (float)(x + i);
          img_warp_px(src, sw, sh, sstride, 3, bx + m0 * fx, by + m3 * fx,
                      d + 3 * i);
        }
        continue;
      }
      __m256i fx = _mm256_and_si256(X, frac), fy = _mm256_and_si256(Y, frac);
      __m256i wa = _mm256_sub_epi32(vone, fx), wy0 = _mm256_sub_epi32(vone, fy);
      /* All products are at most 2^14: 16-bit multiplies suffice. */
      __m256i wtop =
          _mm256_or_si256(_mm256_mullo_epi16(wa, wy0),
                          _mm256_slli_epi32(_mm256_mullo_epi16(fx, wy0), 16));
      __m256i wbot =
          _mm256_or_si256(_mm256_mullo_epi16(wa, fy),
                          _mm256_slli_epi32(_mm256_mullo_epi16(fx, fy), 16));
      __m256i off =
          _mm256_add_epi32(_mm256_mullo_epi32(y0, vstride),
                           _mm256_add_epi32(x0, _mm256_add_epi32(x0, x0)));
      __m256i p00 = _mm256_i32gather_epi32(base0, off, 1);
      __m256i p01 = _mm256_i32gather_epi32(base1, off, 1);
      __m256i p10 = _mm256_i32gather_epi32(base2, off, 1);
      __m256i p11 = _mm256_i32gather_epi32(base3, off, 1);
      __m256i res = _mm256_setzero_si256();
      for (int c = 0; c < 3; c++) {
        __m256i t = _mm256_madd_epi16(channel(p00, p01, lo[c], hi[c]), wtop);
        __m256i b = _mm256_madd_epi16(channel(p10, p11, lo[c], hi[c]), wbot);
        __m256i v = _mm256_srli_epi32(
            _mm256_add_epi32(_mm256_add_epi32(t, b), round), 14);
        res = _mm256_or_si256(res, _mm256_slli_epi32(v, 8 * c));
      }
      res = _mm256_shuffle_epi8(res, pack);
      __m128i l0 = _mm256_castsi256_si128(res);
      __m128i l1 = _mm256_extracti128_si256(res, 1);
      uint32_t t0 = (uint32_t)_mm_extract_epi32(l0, 2);
      uint32_t t1 = (uint32_t)_mm_extract_epi32(l1, 2);
      _mm_storel_epi64((__m128i *)d, l0);
      memcpy(d + 8, &t0, 4);
      _mm_storel_epi64((__m128i *)(d + 12), l1);
      memcpy(d + 20, &t1, 4);
    }
  }
  for (; x < dw; x++) {
    float fx = (float)x;
    img_warp_px(src, sw, sh, sstride, cn, bx + m0 * fx, by + m3 * fx,
                dst + (size_t)x * cn);
  }
}
