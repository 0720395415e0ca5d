/* AVX2/FMA depthwise 3x3 convolution, stride 2, one channel plane: 8 output
 * pixels per vector from 16 input columns split into even and odd columns
 * with shuffles. */
#if defined(__AVX2__) && defined(__FMA__)
#include "post_avx2.h"

NN_INLINE __m256 evens(__m256 a, __m256 b) {
  return _mm256_castpd_ps(_mm256_permute4x64_pd(
      _mm256_castps_pd(_mm256_shuffle_ps(a, b, 0x88)), 0xD8));
}

NN_INLINE __m256 odds(__m256 a, __m256 b) {
  return _mm256_castpd_ps(_mm256_permute4x64_pd(
      _mm256_castps_pd(_mm256_shuffle_ps(a, b, 0xDD)), 0xD8));
}

void nn_f32_dwconv3x3s2_avx2(const float *x, size_t ih, size_t iw,
                             const float *w, float *y, size_t oh, size_t ow,
                             size_t pad_t, size_t pad_l, const nn_post *post) {
  post256 pr = post256_row(post, 0);
  __m256 wv[9];
  for (int i = 0; i < 9; i++)
    wv[i] = _mm256_set1_ps(w[i]);
  const ptrdiff_t W = (ptrdiff_t)iw, H = (ptrdiff_t)ih;
  const __m256i all = _mm256_set1_epi32(-1);
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
    for (size_t ox = 0; ox < ow; ox += 8) {
      size_t nout = ow - ox < 8 ? ow - ox : 8;
      ptrdiff_t s = 2 * (ptrdiff_t)ox - (ptrdiff_t)pad_l;
      __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
      int inside = s >= 0 && s + 18 <= W;
      __m256i m0 = all, m1 = all, m2 = all, m3 = all;
      if (!inside) {
        m0 = range_mask8(s, W);
        m1 = range_mask8(s + 8, W);
        m2 = range_mask8(s + 2, W);
        m3 = range_mask8(s + 10, W);
      }
      for (int r = 0; r < nrows; r++) {
        const float *p = rows[r] + s;
        const __m256 *wk = wv + 3 * ks[r];
        __m256 l0, l1, l2, l3;
        if (inside) {
          l0 = _mm256_loadu_ps(p);
          l1 = _mm256_loadu_ps(p + 8);
          l2 = _mm256_loadu_ps(p + 2);
          l3 = _mm256_loadu_ps(p + 10);
        } else {
          l0 = _mm256_maskload_ps(p, m0);
          l1 = _mm256_maskload_ps(p + 8, m1);
          l2 = _mm256_maskload_ps(p + 2, m2);
          l3 = _mm256_maskload_ps(p + 10, m3);
        }
        acc0 = _mm256_fmadd_ps(evens(l0, l1), wk[0], acc0);
        acc1 = _mm256_fmadd_ps(odds(l0, l1), wk[1], acc1);
        acc0 = _mm256_fmadd_ps(evens(l2, l3), wk[2], acc0);
      }
      __m256 acc = _mm256_add_ps(acc0, acc1);
      if (nout == 8)
        post256_store(&pr, acc, yr + ox, rr ? rr + ox : NULL, all, 0);
      else
        post256_store(&pr, acc, yr + ox, rr ? rr + ox : NULL,
                      tail_mask8(nout), 1);
    }
  }
}
#endif
