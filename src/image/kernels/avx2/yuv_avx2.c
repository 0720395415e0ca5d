/* YUV 4:2:0 (planar and NV12) -> packed RGB8/BGR8, 32 pixels per step.
 * Same fixed-point arithmetic as img_yuv_px (kernels.h): bit-exact. */
#include <immintrin.h>

#include "image/kernels/kernels.h"

#define N_ -128
/* pshufb masks that interleave 16 R, G, B bytes into 48 bytes: kShuf[o][c]
 * picks channel c's bytes for output block o (bytes 16*o .. 16*o+15). */
static const int8_t kShuf[3][3][16] = {
    {{0, N_, N_, 1, N_, N_, 2, N_, N_, 3, N_, N_, 4, N_, N_, 5},
     {N_, 0, N_, N_, 1, N_, N_, 2, N_, N_, 3, N_, N_, 4, N_, N_},
     {N_, N_, 0, N_, N_, 1, N_, N_, 2, N_, N_, 3, N_, N_, 4, N_}},
    {{N_, N_, 6, N_, N_, 7, N_, N_, 8, N_, N_, 9, N_, N_, 10, N_},
     {5, N_, N_, 6, N_, N_, 7, N_, N_, 8, N_, N_, 9, N_, N_, 10},
     {N_, 5, N_, N_, 6, N_, N_, 7, N_, N_, 8, N_, N_, 9, N_, N_}},
    {{N_, 11, N_, N_, 12, N_, N_, 13, N_, N_, 14, N_, N_, 15, N_, N_},
     {N_, N_, 11, N_, N_, 12, N_, N_, 13, N_, N_, 14, N_, N_, 15, N_},
     {10, N_, N_, 11, N_, N_, 12, N_, N_, 13, N_, N_, 14, N_, N_, 15}}};
#undef N_

static inline __m256i bcast_mask(int o, int c) {
  return _mm256_broadcastsi128_si256(
      _mm_loadu_si128((const __m128i *)kShuf[o][c]));
}

/* yl/yh: Y of pixels [0-7|16-23] and [8-15|24-31] as 16-bit; ul/uh, vl/vh:
 * the matching chroma (each sample twice). Stores 32 pixels. */
static inline void yuv32(__m256i yl, __m256i yh, __m256i ul, __m256i uh,
                         __m256i vl, __m256i vh, uint8_t *dst, int bgr) {
  const __m256i c16 = _mm256_set1_epi16(16), c128 = _mm256_set1_epi16(128);
  const __m256i cy = _mm256_set1_epi16(IMG_YUV_CY);
  const __m256i crv = _mm256_set1_epi16(IMG_YUV_CRV);
  const __m256i cgu = _mm256_set1_epi16(IMG_YUV_CGU);
  const __m256i cgv = _mm256_set1_epi16(IMG_YUV_CGV);
  const __m256i cbu = _mm256_set1_epi16(IMG_YUV_CBU);
  const __m256i r32 = _mm256_set1_epi16(32);
  __m256i ch[3][2];
  for (int h = 0; h < 2; h++) {
    __m256i yv = h ? yh : yl, uv = h ? uh : ul, vv = h ? vh : vl;
    __m256i yy = _mm256_mulhrs_epi16(
        _mm256_slli_epi16(_mm256_sub_epi16(yv, c16), 7), cy);
    __m256i u = _mm256_sub_epi16(uv, c128), v = _mm256_sub_epi16(vv, c128);
    __m256i u7 = _mm256_slli_epi16(u, 7), v7 = _mm256_slli_epi16(v, 7);
    __m256i u8 = _mm256_slli_epi16(u, 8);
    __m256i r = _mm256_adds_epi16(yy, _mm256_mulhrs_epi16(v7, crv));
    __m256i g =
        _mm256_subs_epi16(_mm256_subs_epi16(yy, _mm256_mulhrs_epi16(u7, cgu)),
                          _mm256_mulhrs_epi16(v7, cgv));
    __m256i b = _mm256_adds_epi16(yy, _mm256_mulhrs_epi16(u8, cbu));
    ch[0][h] = _mm256_srai_epi16(_mm256_adds_epi16(r, r32), 6);
    ch[1][h] = _mm256_srai_epi16(_mm256_adds_epi16(g, r32), 6);
    ch[2][h] = _mm256_srai_epi16(_mm256_adds_epi16(b, r32), 6);
  }
  /* packus gives [0-15 | 16-31] per channel. */
  __m256i c0 = _mm256_packus_epi16(ch[0][0], ch[0][1]);
  __m256i c1 = _mm256_packus_epi16(ch[1][0], ch[1][1]);
  __m256i c2 = _mm256_packus_epi16(ch[2][0], ch[2][1]);
  if (bgr) {
    __m256i t = c0;
    c0 = c2;
    c2 = t;
  }
  __m256i o[3];
  for (int k = 0; k < 3; k++)
    o[k] = _mm256_or_si256(
        _mm256_or_si256(_mm256_shuffle_epi8(c0, bcast_mask(k, 0)),
                        _mm256_shuffle_epi8(c1, bcast_mask(k, 1))),
        _mm256_shuffle_epi8(c2, bcast_mask(k, 2)));
  /* Lane 0 holds bytes 0..47 of the output, lane 1 bytes 48..95. */
  _mm256_storeu_si256((__m256i *)dst,
                      _mm256_permute2x128_si256(o[0], o[1], 0x20));
  _mm256_storeu_si256((__m256i *)(dst + 32),
                      _mm256_permute2x128_si256(o[2], o[0], 0x30));
  _mm256_storeu_si256((__m256i *)(dst + 64),
                      _mm256_permute2x128_si256(o[1], o[2], 0x31));
}

void img_yuv420_row_avx2(const uint8_t *y, const uint8_t *u, const uint8_t *v,
                         uint8_t *dst, int width, int bgr) {
  const __m256i z = _mm256_setzero_si256();
  int x = 0;
  for (; x + 32 <= width; x += 32) {
    __m256i yb = _mm256_loadu_si256((const __m256i *)(y + x));
    __m256i u16 =
        _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(u + x / 2)));
    __m256i v16 =
        _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(v + x / 2)));
    yuv32(_mm256_unpacklo_epi8(yb, z), _mm256_unpackhi_epi8(yb, z),
          _mm256_unpacklo_epi16(u16, u16), _mm256_unpackhi_epi16(u16, u16),
          _mm256_unpacklo_epi16(v16, v16), _mm256_unpackhi_epi16(v16, v16),
          dst + 3 * (size_t)x, bgr);
  }
  if (x < width)
    img_yuv420_row_ref(y + x, u + x / 2, v + x / 2, dst + 3 * (size_t)x,
                       width - x, bgr);
}

void img_nv12_row_avx2(const uint8_t *y, const uint8_t *uv, uint8_t *dst,
                       int width, int bgr) {
  const __m256i z = _mm256_setzero_si256();
  const __m256i lo = _mm256_set1_epi16(0xff);
  int x = 0;
  for (; x + 32 <= width; x += 32) {
    __m256i yb = _mm256_loadu_si256((const __m256i *)(y + x));
    __m256i c = _mm256_loadu_si256((const __m256i *)(uv + x));
    __m256i u16 = _mm256_and_si256(c, lo), v16 = _mm256_srli_epi16(c, 8);
    yuv32(_mm256_unpacklo_epi8(yb, z), _mm256_unpackhi_epi8(yb, z),
          _mm256_unpacklo_epi16(u16, u16), _mm256_unpackhi_epi16(u16, u16),
          _mm256_unpacklo_epi16(v16, v16), _mm256_unpackhi_epi16(v16, v16),
          dst + 3 * (size_t)x, bgr);
  }
  if (x < width)
    img_nv12_row_ref(y + x, uv + x, dst + 3 * (size_t)x, width - x, bgr);
}
