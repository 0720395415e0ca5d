/* AVX-512 depthwise 3x3 convolution, stride 2, one channel plane: 16
 * output pixels per vector from 32 input columns, split into even and odd
 * columns with two-source permutes. */
#if defined(__AVX512F__)
#include "post_avx512.h"

void nn_f32_dwconv3x3s2_avx512(const float *x, size_t ih, size_t iw,
                               const float *w, float *y, size_t oh,
                               size_t ow, size_t pad_t, size_t pad_l,
                               const nn_post *post) {
  post512 pr = post512_row(post, 0);
  __m512 wv[9];
  for (int i = 0; i < 9; i++)
    wv[i] = _mm512_set1_ps(w[i]);
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18,
                                         20, 22, 24, 26, 28, 30);
  const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21,
                                        23, 25, 27, 29, 31);
  const ptrdiff_t W = (ptrdiff_t)iw, H = (ptrdiff_t)ih;
  for (size_t oy = 0; oy < oh; oy++) {
    const float *rows[3];
    int nrows = 0, ks[3];
    for (int ky = 0; ky < 3; ky++) {
      ptrdiff_t iy = 2 * (ptrdiff_t)oy + ky - (ptrdiff_t)pad_t;
      if (iy >= 0 && iy < H) {
        rows[nrows] = x + iy * W;
        ks[nrows++] = ky;
      }
    }
    float *yr = y + oy * ow;
    const float *rr = post->res ? post->res + oy * post->ldr : NULL;
    for (size_t ox = 0; ox < ow; ox += 16) {
      size_t nout = ow - ox < 16 ? ow - ox : 16;
      ptrdiff_t s = 2 * (ptrdiff_t)ox - (ptrdiff_t)pad_l;
      __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
      int inside = s >= 0 && s + 34 <= W;
      __mmask16 m0 = 0xffff, m1 = 0xffff, m2 = 0xffff, m3 = 0xffff;
      if (!inside) {
        m0 = range_mask16(s, W);
        m1 = range_mask16(s + 16, W);
        m2 = range_mask16(s + 2, W);
        m3 = range_mask16(s + 18, W);
      }
      for (int r = 0; r < nrows; r++) {
        const float *p = rows[r] + s;
        const __m512 *wk = wv + 3 * ks[r];
        __m512 l0, l1, l2, l3;
        if (inside) {
          l0 = _mm512_loadu_ps(p);
          l1 = _mm512_loadu_ps(p + 16);
          l2 = _mm512_loadu_ps(p + 2);
          l3 = _mm512_loadu_ps(p + 18);
        } else {
          l0 = _mm512_maskz_loadu_ps(m0, p);
          l1 = _mm512_maskz_loadu_ps(m1, p + 16);
          l2 = _mm512_maskz_loadu_ps(m2, p + 2);
          l3 = _mm512_maskz_loadu_ps(m3, p + 18);
        }
        acc0 = _mm512_fmadd_ps(_mm512_permutex2var_ps(l0, even, l1), wk[0],
                               acc0);
        acc1 =
            _mm512_fmadd_ps(_mm512_permutex2var_ps(l0, odd, l1), wk[1], acc1);
        acc0 = _mm512_fmadd_ps(_mm512_permutex2var_ps(l2, even, l3), wk[2],
                               acc0);
      }
      __m512 acc = _mm512_add_ps(acc0, acc1);
      if (nout == 16)
        post512_store(&pr, acc, yr + ox, rr ? rr + ox : NULL, 0xffff, 0);
      else
        post512_store(&pr, acc, yr + ox, rr ? rr + ox : NULL,
                      tail_mask16(nout), 1);
    }
  }
}
#endif
