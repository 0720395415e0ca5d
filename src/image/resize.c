/* Separable resampling (bilinear or area per axis) of a source rectangle,
 * shared by argus_image_resize and argus_image_to_tensor.
 *
 * For each output row the source rows it needs are first summed with their
 * vertical weights into one float row (the vectorised kernel `vsum`, over
 * only the columns the horizontal taps touch), then each output pixel sums
 * its horizontal taps from that row. Shrinking, the usual case, thus reads
 * each source row about once and does the irregular horizontal work on
 * already reduced rows. Tap tables and row buffers live in the per-thread
 * scratch area: nothing is allocated in steady state. */
#include <math.h>
#include <string.h>

#include "image/image_internal.h"
#include "image/kernels/kernels.h"

/* Area taps whose overlap is below this fraction of a pixel are rounding
 * noise of the cell bounds and are dropped. */
#define AREA_EPS 1e-6

/* Builds (fill != 0) or counts (fill == 0) the taps of one axis: `out`
 * outputs cover [a0, a0 + len) of a source of n samples. */
static void axis_taps(int n, double a0, double len, int out, img_axis *ax,
                      int fill) {
  double sc = len / out;
  int area = sc >= 2.0;
  int ntaps = 0, maxn = 0, lo = n, hi = 0;
  for (int i = 0; i < out; i++) {
    int s = 0, cnt = 0;
    float *w = fill ? ax->w + ntaps : NULL;
    if (!area) {
      double c = a0 + (i + 0.5) * sc; /* sample centre, pixel-edge coords */
      if (c >= 0.0 && c < (double)n) {
        double sx = c - 0.5, fl = floor(sx), f = sx - fl;
        int x0 = (int)fl;
        if (x0 < 0)
          x0 = 0, f = 0.0;
        if (x0 >= n - 1)
          x0 = n - 1, f = 0.0;
        s = x0;
        cnt = f > 0.0 ? 2 : 1;
        if (w) {
          w[0] = (float)(1.0 - f);
          if (cnt == 2)
            w[1] = (float)f;
        }
      }
    } else {
      double ca = a0 + i * sc, cb = a0 + (i + 1) * sc, c = 0.5 * (ca + cb);
      if (c >= 0.0 && c < (double)n) {
        double ia = ca > 0.0 ? ca : 0.0, ib = cb < n ? cb : (double)n;
        int p0 = (int)floor(ia), p1 = (int)ceil(ib);
        if (p1 > n)
          p1 = n;
        /* Trim slivers at both ends, then weight by overlap. */
        while (p0 < p1 - 1 && (p0 + 1.0 < ib ? p0 + 1.0 : ib) - ia < AREA_EPS)
          p0++;
        while (p1 - 1 > p0 && ib - (p1 - 1.0 > ia ? p1 - 1.0 : ia) < AREA_EPS)
          p1--;
        s = p0;
        cnt = p1 - p0;
        if (w) {
          double total = 0.0;
          for (int p = p0; p < p1; p++) {
            double l = p > ia ? p : ia, r = p + 1.0 < ib ? p + 1.0 : ib;
            total += r - l;
          }
          for (int p = p0; p < p1; p++) {
            double l = p > ia ? p : ia, r = p + 1.0 < ib ? p + 1.0 : ib;
            w[p - p0] = (float)((r - l) / total);
          }
        }
      }
    }
    if (fill) {
      ax->s[i] = s;
      ax->n[i] = cnt;
      ax->off[i] = ntaps;
    }
    if (cnt) {
      if (s < lo)
        lo = s;
      if (s + cnt > hi)
        hi = s + cnt;
    }
    ntaps += cnt;
    if (cnt > maxn)
      maxn = cnt;
  }
  ax->count = out;
  ax->ntaps = ntaps;
  ax->maxn = maxn;
  ax->lo = lo < hi ? lo : 0;
  ax->hi = lo < hi ? hi : 0;
}

static void hpass(const img_axis *ax, const float *v, int cn, float *out) {
  const int lo = ax->lo;
  for (int x = 0; x < ax->count; x++) {
    int n = ax->n[x];
    const float *w = ax->w + ax->off[x];
    const float *p = v + (size_t)(ax->s[x] - lo) * cn;
    float *o = out + (size_t)x * cn;
    if (cn == 3) {
      float r = 0.0f, g = 0.0f, b = 0.0f;
      for (int k = 0; k < n; k++, p += 3) {
        r = r + w[k] * p[0];
        g = g + w[k] * p[1];
        b = b + w[k] * p[2];
      }
      o[0] = r, o[1] = g, o[2] = b;
    } else {
      float a = 0.0f;
      for (int k = 0; k < n; k++)
        a = a + w[k] * p[k];
      o[0] = a;
    }
  }
}

/* Expands the horizontal taps to one entry per output element (pixel x
 * channel) with exactly k taps each: windows are shifted left to end within
 * [lo, hi) and padded with zero weights, padding outputs read lo with zero
 * weights. Weights are stored tap-major: w[j*elems + e]. */
static void expand_taps(const img_axis *ax, int cn, int k, int32_t *idx,
                        float *w) {
  size_t elems = (size_t)ax->count * (size_t)cn;
  for (int x = 0; x < ax->count; x++) {
    int n = ax->n[x], s = n ? ax->s[x] : ax->lo;
    if (s > ax->hi - k)
      s = ax->hi - k;
    int shift = n ? ax->s[x] - s : 0;
    for (int c = 0; c < cn; c++) {
      size_t e = (size_t)x * (size_t)cn + (size_t)c;
      idx[e] = (s - ax->lo) * cn + c;
      for (int j = 0; j < k; j++) {
        int t = j - shift;
        w[(size_t)j * elems + e] =
            t >= 0 && t < n ? ax->w[ax->off[x] + t] : 0.0f;
      }
    }
  }
}

/* 1 when every output of the axis averages exactly 4 consecutive source
 * samples (a shrink by 4 with aligned cells): the 4x4 box kernel's case. */
static int axis_box4(const img_axis *ax) {
  for (int i = 0; i < ax->count; i++) {
    const float *w = ax->w + ax->off[i];
    if (ax->n[i] != 4 || ax->s[i] != ax->s[0] + 4 * i || w[0] != 0.25f ||
        w[1] != 0.25f || w[2] != 0.25f || w[3] != 0.25f)
      return 0;
  }
  return 1;
}

static size_t align64(size_t n) { return (n + 63) & ~(size_t)63; }

/* Carves the next 64-byte aligned piece out of the scratch area. */
static void *take(uint8_t **p, size_t bytes) {
  void *r = *p;
  *p += align64(bytes);
  return r;
}

argus_err img_resample(const argus_image *src, const double box[4], int out_w,
                       int out_h, img_emit_fn emit, void *ctx) {
  int cn = argus_pixfmt_channels(src->format);
  if (cn == 0 || out_w < 1 || out_h < 1 || !(box[2] > box[0]) ||
      !(box[3] > box[1]))
    return ARGUS_E_INVALID_ARG;
  img_axis ax, ay;
  memset(&ax, 0, sizeof ax);
  memset(&ay, 0, sizeof ay);
  axis_taps(src->width, box[0], box[2] - box[0], out_w, &ax, 0);
  axis_taps(src->height, box[1], box[3] - box[1], out_h, &ay, 0);
  size_t vlen = (size_t)(ax.hi - ax.lo) * (size_t)cn;
  size_t need = align64(3 * sizeof(int) * (size_t)out_w) +
                align64(3 * sizeof(int) * (size_t)out_h) +
                align64(sizeof(float) * (size_t)ax.ntaps) +
                align64(sizeof(float) * (size_t)ay.ntaps) +
                align64(sizeof(float) * (vlen ? vlen : 1)) +
                align64(sizeof(float) * (size_t)out_w * (size_t)cn) +
                align64((size_t)out_w) +
                align64(sizeof(uint8_t *) * (size_t)(ay.maxn ? ay.maxn : 1));
  /* The vectorised horizontal pass wants every output element's taps
   * padded to the same count; skip it when that table would be huge
   * (extreme boxes of argus_image_to_tensor). */
  size_t elems = (size_t)out_w * (size_t)cn, kx = (size_t)ax.maxn;
  int expanded = kx > 0 && kx * elems <= ((size_t)1 << 22);
  if (expanded)
    need +=
        align64(sizeof(int32_t) * elems) + align64(sizeof(float) * kx * elems);
  uint8_t *p = img_scratch(need);
  if (!p)
    return ARGUS_E_NOMEM;
  ax.s = (int *)(void *)p, ax.n = ax.s + out_w, ax.off = ax.n + out_w;
  p += align64(3 * sizeof(int) * (size_t)out_w);
  ay.s = (int *)(void *)p, ay.n = ay.s + out_h, ay.off = ay.n + out_h;
  p += align64(3 * sizeof(int) * (size_t)out_h);
  ax.w = take(&p, sizeof(float) * (size_t)(ax.ntaps));
  ay.w = take(&p, sizeof(float) * (size_t)(ay.ntaps));
  float *vbuf = take(&p, sizeof(float) * (size_t)(vlen ? vlen : 1));
  float *hrow = take(&p, sizeof(float) * (size_t)((size_t)out_w * (size_t)cn));
  uint8_t *xpad = take(&p, sizeof(uint8_t) * (size_t)(out_w));
  const uint8_t **rows =
      take(&p, sizeof(const uint8_t *) * (size_t)(ay.maxn ? ay.maxn : 1));
  axis_taps(src->width, box[0], box[2] - box[0], out_w, &ax, 1);
  axis_taps(src->height, box[1], box[3] - box[1], out_h, &ay, 1);
  for (int x = 0; x < out_w; x++)
    xpad[x] = ax.n[x] == 0;
  int32_t *eidx = NULL;
  float *ew = NULL;
  if (expanded) {
    eidx = take(&p, sizeof(int32_t) * elems);
    ew = take(&p, sizeof(float) * kx * elems);
    expand_taps(&ax, cn, (int)kx, eidx, ew);
  }

  const img_kernels *k = img_kernels_get();
  size_t stride = (size_t)src->stride[0];
  const uint8_t *base = src->data[0] + (size_t)ax.lo * (size_t)cn;
  /* A shrink by exactly 4 of RGB: rows of four 0.25 taps take the integer
   * box kernel (the same values, without the float passes). */
  int box4 = cn == 3 && axis_box4(&ax);
  for (int y = 0; y < out_h; y++) {
    int n = ay.n[y];
    if (n == 0 || vlen == 0) {
      emit(ctx, y, hrow, 1, xpad);
      continue;
    }
    for (int j = 0; j < n; j++)
      rows[j] = base + (size_t)(ay.s[y] + j) * stride;
    const float *wy = ay.w + ay.off[y];
    if (box4 && n == 4 && wy[0] == 0.25f && wy[1] == 0.25f &&
        wy[2] == 0.25f && wy[3] == 0.25f) {
      k->box4_rgb(rows, out_w, hrow);
      emit(ctx, y, hrow, 0, xpad);
      continue;
    }
    k->vsum(rows, ay.w + ay.off[y], n, vbuf, vlen);
    if (expanded)
      k->hsum(vbuf, eidx, ew, (int)kx, cn, elems, hrow);
    else
      hpass(&ax, vbuf, cn, hrow);
    emit(ctx, y, hrow, 0, xpad);
  }
  return ARGUS_OK;
}

typedef struct resize_ctx {
  uint8_t *dst;
  size_t stride;
  size_t rowlen;
  img_pack_u8_fn pack;
} resize_ctx;

static void emit_u8(void *c, int y, const float *row, int pad,
                    const uint8_t *xpad) {
  resize_ctx *rc = c;
  uint8_t *d = rc->dst + (size_t)y * rc->stride;
  (void)pad, (void)xpad; /* a whole-image box has no padding */
  rc->pack(row, d, rc->rowlen);
}

argus_err argus_image_resize(const argus_image *src, argus_image *dst) {
  if (!src || !dst || !src->data[0] || !dst->data[0] || src->width < 1 ||
      src->height < 1 || dst->width < 1 || dst->height < 1) {
    argus_log(ARGUS_LOG_ERROR, IMG_LOG,
              "resize: invalid source or destination");
    return ARGUS_E_INVALID_ARG;
  }
  int cn = argus_pixfmt_channels(src->format);
  if (cn == 0) {
    argus_log(ARGUS_LOG_ERROR, IMG_LOG,
              "resize: %s is not supported (convert first)",
              argus_pixfmt_name(src->format));
    return ARGUS_E_UNSUPPORTED;
  }
  if (dst->format != src->format) {
    argus_log(ARGUS_LOG_ERROR, IMG_LOG, "resize: formats differ (%s -> %s)",
              argus_pixfmt_name(src->format), argus_pixfmt_name(dst->format));
    return ARGUS_E_INVALID_ARG;
  }
  double box[4] = {0.0, 0.0, src->width, src->height};
  resize_ctx c = {dst->data[0], (size_t)dst->stride[0],
                  (size_t)dst->width * (size_t)cn, img_kernels_get()->pack_u8};
  argus_err rc = img_resample(src, box, dst->width, dst->height, emit_u8, &c);
  if (rc == ARGUS_E_NOMEM)
    argus_log(ARGUS_LOG_ERROR, IMG_LOG, "resize: out of memory for scratch");
  return rc;
}
