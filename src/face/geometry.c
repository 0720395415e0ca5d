/* Geometry shared by the face algorithms: SSD prior grids, IoU and
 * non-maximum suppression, the least-squares similarity transform used for
 * alignment, affine inversion. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "face_internal.h"

static int spec_ok(const argus_face_prior_spec *s) {
  if (!s || s->nlevels < 1 || s->nlevels > ARGUS_FACE_MAX_LEVELS)
    return 0;
  for (int l = 0; l < s->nlevels; l++)
    if (s->steps[l] < 1 || s->nsizes[l] < 1 ||
        s->nsizes[l] > ARGUS_FACE_MAX_LEVEL_SIZES)
      return 0;
  return 1;
}

static int ceil_div(int a, int b) { return (a + b - 1) / b; }

size_t argus_face_prior_count(const argus_face_prior_spec *s, int w, int h) {
  if (!spec_ok(s) || w < 1 || h < 1 || w > 65536 || h > 65536)
    return 0;
  size_t n = 0;
  for (int l = 0; l < s->nlevels; l++)
    n += (size_t)ceil_div(w, s->steps[l]) * (size_t)ceil_div(h, s->steps[l]) *
         (size_t)s->nsizes[l];
  return n;
}

static float clamp01(float v) { return v < 0 ? 0 : v > 1 ? 1 : v; }

argus_err argus_face_priors(const argus_face_prior_spec *s, int w, int h,
                            float *out, size_t cap, size_t *count) {
  size_t n = argus_face_prior_count(s, w, h);
  if (!n || !count)
    return ARGUS_E_INVALID_ARG;
  *count = n;
  if (n > cap || !out)
    return ARGUS_E_LIMIT;
  /* As generate_priors() of the reference (vision/utils/box_utils.py with
   * the shrinkage of vision/ssd/config/fd_config.py): the feature map is
   * ceil(size / step) and the centre of cell i is (i + 0.5) / feature_map.
   * Where step does not divide the size (240 / 32) this is not quite the
   * cell's position in the input, but it is what the network was trained
   * with and what the graph's own decoder uses (tests/test_face_detect.c). */
  float *p = out;
  for (int l = 0; l < s->nlevels; l++) {
    int fw = ceil_div(w, s->steps[l]), fh = ceil_div(h, s->steps[l]);
    float sx = 1.0f / (float)fw, sy = 1.0f / (float)fh;
    for (int j = 0; j < fh; j++) {
      for (int i = 0; i < fw; i++) {
        float cx = ((float)i + 0.5f) * sx, cy = ((float)j + 0.5f) * sy;
        for (int k = 0; k < s->nsizes[l]; k++) {
          float pw = s->min_sizes[l][k] / (float)w;
          float ph = s->min_sizes[l][k] / (float)h;
          if (s->clamp) {
            cx = clamp01(cx);
            cy = clamp01(cy);
            pw = clamp01(pw);
            ph = clamp01(ph);
          }
          p[0] = cx;
          p[1] = cy;
          p[2] = pw;
          p[3] = ph;
          p += 4;
        }
      }
    }
  }
  return ARGUS_OK;
}

float argus_face_iou(const argus_face_box *a, const argus_face_box *b) {
  float aw = a->x2 - a->x1, ah = a->y2 - a->y1;
  float bw = b->x2 - b->x1, bh = b->y2 - b->y1;
  if (!(aw > 0 && ah > 0 && bw > 0 && bh > 0))
    return 0;
  float iw = fminf(a->x2, b->x2) - fmaxf(a->x1, b->x1);
  float ih = fminf(a->y2, b->y2) - fmaxf(a->y1, b->y1);
  if (!(iw > 0 && ih > 0))
    return 0;
  float inter = iw * ih;
  return inter / (aw * ah + bw * bh - inter);
}

/* Decreasing score; NaN last. Ties keep a deterministic order by position. */
int face_box_cmp_score(const void *pa, const void *pb) {
  const argus_face_box *a = pa, *b = pb;
  float sa = isnan(a->score) ? -INFINITY : a->score;
  float sb = isnan(b->score) ? -INFINITY : b->score;
  if (sa != sb)
    return sa > sb ? -1 : 1;
  if (a->y1 != b->y1)
    return a->y1 < b->y1 ? -1 : 1;
  if (a->x1 != b->x1)
    return a->x1 < b->x1 ? -1 : 1;
  return 0;
}

argus_err argus_face_nms(argus_face_box *boxes, int n, float iou,
                         int max_keep, int *kept) {
  if (!kept || n < 0 || (!boxes && n) || !(iou >= 0) || max_keep < 0)
    return ARGUS_E_INVALID_ARG;
  *kept = 0;
  if (n == 0)
    return ARGUS_OK;
  qsort(boxes, (size_t)n, sizeof *boxes, face_box_cmp_score);
  /* Kept boxes are compacted at the front; each candidate, in decreasing
   * score, is compared with those only, which is exactly greedy NMS. */
  int k = 0;
  for (int i = 0; i < n; i++) {
    if (max_keep && k == max_keep)
      break;
    if (isnan(boxes[i].score))
      break;
    argus_face_box c = boxes[i];
    int keep = 1;
    for (int j = 0; j < k && keep; j++)
      if (argus_face_iou(&boxes[j], &c) > iou)
        keep = 0;
    if (keep)
      boxes[k++] = c;
  }
  *kept = k;
  return ARGUS_OK;
}

argus_err argus_face_similarity_fit(const float (*src)[2],
                                    const float (*dst)[2], int n,
                                    float m[6]) {
  if (!src || !dst || !m || n < 2)
    return ARGUS_E_INVALID_ARG;
  double msx = 0, msy = 0, mdx = 0, mdy = 0;
  for (int i = 0; i < n; i++) {
    if (!isfinite(src[i][0]) || !isfinite(src[i][1]) || !isfinite(dst[i][0]) ||
        !isfinite(dst[i][1]))
      return ARGUS_E_INVALID_ARG;
    msx += src[i][0];
    msy += src[i][1];
    mdx += dst[i][0];
    mdy += dst[i][1];
  }
  msx /= n;
  msy /= n;
  mdx /= n;
  mdy /= n;
  /* With centred points s, d: minimise sum |d - [a -b; b a] s|^2. The normal
   * equations give a = sum(s.d) / sum|s|^2, b = sum(s x d) / sum|s|^2 —
   * Umeyama's solution in 2-D (its SVD reduces to this, with the reflection
   * excluded since a rotation is the only orthogonal part allowed). */
  double ss = 0, sd = 0, sc = 0, dd = 0;
  for (int i = 0; i < n; i++) {
    double sx = src[i][0] - msx, sy = src[i][1] - msy;
    double dx = dst[i][0] - mdx, dy = dst[i][1] - mdy;
    ss += sx * sx + sy * sy;
    dd += dx * dx + dy * dy;
    sd += sx * dx + sy * dy;
    sc += sx * dy - sy * dx;
  }
  /* Points that (nearly) coincide define no rotation or scale. The bound is
   * relative to the spread of dst so that it is scale-free. */
  if (!(ss > 1e-12 * (dd + 1e-30)) || ss < 1e-20)
    return ARGUS_E_INVALID_ARG;
  double a = sd / ss, b = sc / ss;
  m[0] = (float)a;
  m[1] = (float)-b;
  m[2] = (float)(mdx - (a * msx - b * msy));
  m[3] = (float)b;
  m[4] = (float)a;
  m[5] = (float)(mdy - (b * msx + a * msy));
  return ARGUS_OK;
}

argus_err argus_face_affine_invert(const float m[6], float inv[6]) {
  if (!m || !inv)
    return ARGUS_E_INVALID_ARG;
  double det = (double)m[0] * m[4] - (double)m[1] * m[3];
  double scale = fabs((double)m[0]) + fabs((double)m[1]) + fabs((double)m[3]) +
                 fabs((double)m[4]);
  if (!isfinite(det) || !(fabs(det) > 1e-12 * scale * scale))
    return ARGUS_E_INVALID_ARG;
  double a = m[4] / det, b = -m[1] / det, c = -m[3] / det, d = m[0] / det;
  inv[0] = (float)a;
  inv[1] = (float)b;
  inv[2] = (float)(-(a * m[2] + b * m[5]));
  inv[3] = (float)c;
  inv[4] = (float)d;
  inv[5] = (float)(-(c * m[2] + d * m[5]));
  return ARGUS_OK;
}

float argus_face_similarity(const float *a, const float *b, int dim) {
  if (!a || !b || dim <= 0)
    return 0;
  float s = 0;
  for (int i = 0; i < dim; i++)
    s += a[i] * b[i];
  return s;
}
