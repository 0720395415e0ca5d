/* AVX2/FMA depthwise 3x3 convolution, stride 1, one channel plane: 8 output
 * pixels of a row per vector; vmaskmov loads give the zero padding at the
 * row edges. */
#if defined(__AVX2__) && defined(__FMA__)
#include "post_avx2.h"

void nn_f32_dwconv3x3s1_avx2(const float *x, size_t ih, size_t iw,
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
      ptrdiff_t iy = (ptrdiff_t)oy + ky - (ptrdiff_t)pad_t;
      if (iy >= 0 && iy < H) {
        rows[nrows] = x + iy * W;
        ks[nrows++] = ky;
      }
    }
    float *yr = y + oy * ow;
    const float *rr = post->res ? post->res + oy * post->ldr : NULL;
    for (size_t ox = 0; ox < ow; ox += 8) {
      size_t nout = ow - ox < 8 ? ow - ox : 8;
      ptrdiff_t s = (ptrdiff_t)ox - (ptrdiff_t)pad_l;
      __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
      if (s >= 0 && s + 10 <= W) {
        for (int r = 0; r < nrows; r++) {
          const float *p = rows[r] + s;
          const __m256 *wk = wv + 3 * ks[r];
          acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(p), wk[0], acc0);
          acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(p + 1), wk[1], acc1);
          acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(p + 2), wk[2], acc0);
        }
      } else {
        __m256i m0 = range_mask8(s, W), m1 = range_mask8(s + 1, W),
                m2 = range_mask8(s + 2, W);
        for (int r = 0; r < nrows; r++) {
          const float *p = rows[r] + s;
          const __m256 *wk = wv + 3 * ks[r];
          acc0 = _mm256_fmadd_ps(_mm256_maskload_ps(p, m0), wk[0], acc0);
          acc1 = _mm256_fmadd_ps(_mm256_maskload_ps(p + 1, m1), wk[1], acc1);
          acc0 = _mm256_fmadd_ps(_mm256_maskload_ps(p + 2, m2), wk[2], acc0);
        }
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
