/* YUV 4:2:0 (planar and NV12) -> packed RGB8/BGR8, 64 pixels per step.
 * Same fixed-point arithmetic as img_yuv_px (kernels.h): bit-exact. */
#include <immintrin.h>

#include "image/kernels/kernels.h"

#define N_ -128
/* pshufb masks that interleave 16 R, G, B bytes into 48 bytes (see the
 * AVX2 kernel): kShuf[o][c] picks channel c's bytes for output block o. */
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

static inline __m512i bcast_mask(int o, int c) {
  return _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)kShuf[o][c]));
}

/* yl/yh: Y of pixels [0-7|16-23|32-39|48-55] and [8-15|24-31|40-47|56-63]
 * as 16-bit; ul/uh, vl/vh: matching chroma. Stores 64 pixels. */
static inline void yuv64(__m512i yl, __m512i yh, __m512i ul, __m512i uh,
                         __m512i vl, __m512i vh, uint8_t *dst, int bgr) {
  const __m512i c16 = _mm512_set1_epi16(16), c128 = _mm512_set1_epi16(128);
  const __m512i cy = _mm512_set1_epi16(IMG_YUV_CY);
  const __m512i crv = _mm512_set1_epi16(IMG_YUV_CRV);
  const __m512i cgu = _mm512_set1_epi16(IMG_YUV_CGU);
  const __m512i cgv = _mm512_set1_epi16(IMG_YUV_CGV);
  const __m512i cbu = _mm512_set1_epi16(IMG_YUV_CBU);
  const __m512i r32 = _mm512_set1_epi16(32);
  __m512i ch[3][2];
  for (int h = 0; h < 2; h++) {
    __m512i yv = h ? yh : yl, uv = h ? uh : ul, vv = h ? vh : vl;
    __m512i yy = _mm512_mulhrs_epi16(
        _mm512_slli_epi16(_mm512_sub_epi16(yv, c16), 7), cy);
    __m512i u = _mm512_sub_epi16(uv, c128), v = _mm512_sub_epi16(vv, c128);
    __m512i u7 = _mm512_slli_epi16(u, 7), v7 = _mm512_slli_epi16(v, 7);
    __m512i u8 = _mm512_slli_epi16(u, 8);
    __m512i r = _mm512_adds_epi16(yy, _mm512_mulhrs_epi16(v7, crv));
    __m512i g =
        _mm512_subs_epi16(_mm512_subs_epi16(yy, _mm512_mulhrs_epi16(u7, cgu)),
                          _mm512_mulhrs_epi16(v7, cgv));
    __m512i b = _mm512_adds_epi16(yy, _mm512_mulhrs_epi16(u8, cbu));
    ch[0][h] = _mm512_srai_epi16(_mm512_adds_epi16(r, r32), 6);
    ch[1][h] = _mm512_srai_epi16(_mm512_adds_epi16(g, r32), 6);
    ch[2][h] = _mm512_srai_epi16(_mm512_adds_epi16(b, r32), 6);
  }
  __m512i c0 = _mm512_packus_epi16(ch[0][0], ch[0][1]);
  __m512i c1 = _mm512_packus_epi16(ch[1][0], ch[1][1]);
  __m512i c2 = _mm512_packus_epi16(ch[2][0], ch[2][1]);
  if (bgr) {
    __m512i t = c0;
    c0 = c2;
    c2 = t;
  }
  __m512i o[3];
  for (int k = 0; k < 3; k++)
    o[k] = _mm512_or_si512(
        _mm512_or_si512(_mm512_shuffle_epi8(c0, bcast_mask(k, 0)),
                        _mm512_shuffle_epi8(c1, bcast_mask(k, 1))),
        _mm512_shuffle_epi8(c2, bcast_mask(k, 2)));
  /* Lane L of o[k] is output block k of pixel group L; reorder the twelve
   * 16-byte blocks A0 A1 A2 B0 | B1 B2 C0 C1 | C2 D0 D1 D2. */
  __m512i t0 = _mm512_permutex2var_epi64(
      o[0], _mm512_setr_epi64(0, 1, 8, 9, 0, 0, 2, 3), o[1]);
  __m512i r0 = _mm512_permutex2var_epi64(
      t0, _mm512_setr_epi64(0, 1, 2, 3, 8, 9, 6, 7), o[2]);
  __m512i t1 = _mm512_permutex2var_epi64(
      o[1], _mm512_setr_epi64(2, 3, 0, 0, 12, 13, 4, 5), o[0]);
  __m512i r1 = _mm512_permutex2var_epi64(
      t1, _mm512_setr_epi64(0, 1, 10, 11, 4, 5, 6, 7), o[2]);
  __m512i t2 = _mm512_permutex2var_epi64(
      o[0], _mm512_setr_epi64(0, 0, 6, 7, 14, 15, 0, 0), o[1]);
  __m512i r2 = _mm512_permutex2var_epi64(
      t2, _mm512_setr_epi64(12, 13, 2, 3, 4, 5, 14, 15), o[2]);
  _mm512_storeu_si512(dst, r0);
  _mm512_storeu_si512(dst + 64, r1);
  _mm512_storeu_si512(dst + 128, r2);
}

void img_yuv420_row_avx512(const uint8_t *y, const uint8_t *u, const uint8_t *v,
                           uint8_t *dst, int width, int bgr) {
  const __m512i z = _mm512_setzero_si512();
  int x = 0;
  for (; x + 64 <= width; x += 64) {
    __m512i yb = _mm512_loadu_si512(y + x);
    __m512i u16 =
        _mm512_cvtepu8_epi16(_mm256_loadu_si256((const __m256i *)(u + x / 2)));
    __m512i v16 =
        _mm512_cvtepu8_epi16(_mm256_loadu_si256((const __m256i *)(v + x / 2)));
    yuv64(_mm512_unpacklo_epi8(yb, z), _mm512_unpackhi_epi8(yb, z),
          _mm512_unpacklo_epi16(u16, u16), _mm512_unpackhi_epi16(u16, u16),
          _mm512_unpacklo_epi16(v16, v16), _mm512_unpackhi_epi16(v16, v16),
          dst + 3 * (size_t)x, bgr);
  }
  if (x < width)
    img_yuv420_row_avx2(y + x, u + x / 2, v + x / 2, dst + 3 * (size_t)x,
                        width - x, bgr);
}

void img_nv12_row_avx512(const uint8_t *y, const uint8_t *uv, uint8_t *dst,
                         int width, int bgr) {
  const __m512i z = _mm512_setzero_si512();
  const __m512i lo = _mm512_set1_epi16(0xff);
  int x = 0;
  for (; x + 64 <= width; x += 64) {
    __m512i yb = _mm512_loadu_si512(y + x);
    __m512i c = _mm512_loadu_si512(uv + x);
    __m512i u16 = _mm512_and_si512(c, lo), v16 = _mm512_srli_epi16(c, 8);
    yuv64(_mm512_unpacklo_epi8(yb, z), _mm512_unpackhi_epi8(yb, z),
          _mm512_unpacklo_epi16(u16, u16), _mm512_unpackhi_epi16(u16, u16),
          _mm512_unpacklo_epi16(v16, v16), _mm512_unpackhi_epi16(v16, v16),
          dst + 3 * (size_t)x, bgr);
  }
  if (x < width)
    img_nv12_row_avx2(y + x, uv + x, dst + 3 * (size_t)x, width - x, bgr);
}
