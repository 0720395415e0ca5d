/* The face detectors of model cards: an SSD-style network with a prior grid
 * (fr_detect, the Ultra-Light-Fast-Generic-Face-Detector RFB-320), run at
 * any input size from its raw heads; an anchor-free network with per-stride
 * class/objectness/box/landmark heads on a grid (YuNet), whose landmarks
 * feed alignment directly; and the planning of detection passes (full
 * frame, tiles) that any detector shares. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "face_internal.h"

#define PRIOR_CACHE FACE_SESS_MAX

typedef struct det_ctx {
  argus_face_card card;
  argus_nn_model *model; /* kept */
  const char *outs[2];
} det_ctx;

typedef struct prior_entry {
  int w, h;
  uint64_t used;
  size_t count;
  float *priors;        /* 4 per prior */
  argus_face_box *cand; /* scratch, one per prior */
} prior_entry;

typedef struct det_state {
  face_sess_cache sc;
  prior_entry pe[PRIOR_CACHE];
  int npe;
  uint64_t clock;
} det_state;

static argus_err det_state_create(void *ctx, void **out) {
  (void)ctx;
  det_state *s = calloc(1, sizeof *s);
  if (!s)
    return ARGUS_E_NOMEM;
  /* A tiled pyramid on one frame size uses up to 4 input sizes. */
  s->sc.max = 6;
  *out = s;
  return ARGUS_OK;
}

static void det_state_free(void *ctx, void *state) {
  (void)ctx;
  det_state *s = state;
  if (!s)
    return;
  face_sess_cache_clear(&s->sc);
  for (int i = 0; i < s->npe; i++) {
    free(s->pe[i].priors);
    free(s->pe[i].cand);
  }
  free(s);
}

static argus_err get_priors(det_ctx *c, det_state *s, int w, int h,
                            prior_entry **out, argus_face_error *err) {
  s->clock++;
  for (int i = 0; i < s->npe; i++)
    if (s->pe[i].w == w && s->pe[i].h == h) {
      s->pe[i].used = s->clock;
      *out = &s->pe[i];
      return ARGUS_OK;
    }
  int slot = s->npe;
  if (s->npe == PRIOR_CACHE) {
    slot = 0;
    for (int i = 1; i < s->npe; i++)
      if (s->pe[i].used < s->pe[slot].used)
        slot = i;
    free(s->pe[slot].priors);
    free(s->pe[slot].cand);
  } else {
    s->npe++;
  }
  prior_entry *e = &s->pe[slot];
  memset(e, 0, sizeof *e);
  size_t n = argus_face_prior_count(&c->card.priors, w, h);
  e->priors = n ? malloc(n * 4 * sizeof(float)) : NULL;
  e->cand = n ? malloc(n * sizeof(argus_face_box)) : NULL;
  argus_err rc = ARGUS_OK;
  if (!e->priors || !e->cand) {
    rc = n ? ARGUS_E_NOMEM : ARGUS_E_INVALID_ARG;
    face_fail(err, rc, "no prior grid for a %dx%d input", w, h);
  } else {
    rc = argus_face_priors(&c->card.priors, w, h, e->priors, n, &e->count);
  }
  if (rc) {
    free(e->priors);
    free(e->cand);
    s->npe--;
    if (slot != s->npe)
      s->pe[slot] = s->pe[s->npe];
    memset(&s->pe[s->npe], 0, sizeof s->pe[s->npe]);
    return rc;
  }
  e->w = w;
  e->h = h;
  e->used = s->clock;
  *out = e;
  return ARGUS_OK;
}

/* Mirrors every row of a planar tensor (rows of `width` values). */
static void flip_rows(float *t, size_t n, int width) {
  for (size_t r = 0; r + (size_t)width <= n; r += (size_t)width) {
    float *a = t + r, *b = t + r + (size_t)width - 1;
    for (; a < b; a++, b--) {
      float v = *a;
      *a = *b;
      *b = v;
    }
  }
}

static argus_err det_pass(void *ctx, void *state, const argus_image *img,
                          const argus_face_pass *p, float min_score,
                          argus_face_box *out, int cap, int *nout,
                          argus_face_error *err) {
  det_ctx *c = ctx;
  det_state *s = state;
  *nout = 0;
  face_sess *fs;
  argus_err rc = face_sess_get(&s->sc, c->model, c->card.input_name, p->net_w,
                               p->net_h, 1, c->outs, 2, &fs, err);
  if (rc)
    return rc;
  prior_entry *pe;
  if ((rc = get_priors(c, s, p->net_w, p->net_h, &pe, err)))
    return rc;
  size_t A = pe->count;
  if (fs->out_rank[0] != 3 || fs->out_rank[1] != 3 ||
      fs->out_dims[0][1] != (int64_t)A || fs->out_dims[0][2] != 2 ||
      fs->out_dims[1][1] != (int64_t)A || fs->out_dims[1][2] != 4)
    return face_fail(err, ARGUS_E_SHAPE,
                     "%s at %dx%d: raw outputs '%s' [%lld,%lld] and '%s' "
                     "[%lld,%lld] do not match the %zu priors of the card",
                     c->card.name, p->net_w, p->net_h, c->outs[0],
                     (long long)fs->out_dims[0][1],
                     (long long)fs->out_dims[0][2], c->outs[1],
                     (long long)fs->out_dims[1][1],
                     (long long)fs->out_dims[1][2], A);
  rc = argus_image_to_tensor(img, p->roi, p->net_w, p->net_h,
                             (int)c->card.channels, c->card.mean,
                             c->card.scale, fs->in);
  if (rc)
    return face_fail(err, rc, "preparing the %dx%d detector input: %s",
                     p->net_w, p->net_h, argus_strerror(rc));
  if (p->flip)
    flip_rows(fs->in, fs->in_elems, p->net_w);
  if ((rc = face_sess_run(fs, err)))
    return rc;

  const float *logit = fs->out[0], *loc = fs->out[1], *pr = pe->priors;
  const float cv = c->card.center_variance, sv = c->card.size_variance;
  const float rx = p->roi[0], ry = p->roi[1];
  const float rw = p->roi[2] - p->roi[0], rh = p->roi[3] - p->roi[1];
  /* Softmax over two classes is a logistic of the difference; comparing
   * logits first skips the exp for the many priors far below threshold. */
  float ms = fminf(fmaxf(min_score, 1e-6f), 1.0f - 1e-6f);
  float min_diff = logf(ms / (1.0f - ms));
  /* Boxes touching a dropped tile edge within this margin are cut faces. */
  float mx = 4.0f * rw / (float)p->net_w, my = 4.0f * rh / (float)p->net_h;
  size_t n = 0;
  for (size_t a = 0; a < A; a++) {
    float diff = logit[2 * a + 1] - logit[2 * a];
    if (!(diff >= min_diff))
      continue;
    float score = 1.0f / (1.0f + expf(-diff));
    const float *d = loc + 4 * a, *q = pr + 4 * a;
    float cx = d[0] * cv * q[2] + q[0];
    float cy = d[1] * cv * q[3] + q[1];
    float bw = expf(d[2] * sv) * q[2], bh = expf(d[3] * sv) * q[3];
    argus_face_box b;
    float l = cx - 0.5f * bw, r = cx + 0.5f * bw;
    if (p->flip) {
      float t = 1.0f - r;
      r = 1.0f - l;
      l = t;
    }
    b.x1 = rx + l * rw;
    b.y1 = ry + (cy - 0.5f * bh) * rh;
    b.x2 = rx + r * rw;
    b.y2 = ry + (cy + 0.5f * bh) * rh;
    b.score = score;
    float w = b.x2 - b.x1;
    if (!(w > 0 && b.y2 > b.y1) || !isfinite(w) || w < p->min_face ||
        (p->max_face > 0 && w >= p->max_face))
      continue;
    if ((p->drop_edge[0] && b.x1 <= rx + mx) ||
        (p->drop_edge[1] && b.y1 <= ry + my) ||
        (p->drop_edge[2] && b.x2 >= p->roi[2] - mx) ||
        (p->drop_edge[3] && b.y2 >= p->roi[3] - my))
      continue;
    pe->cand[n++] = b;
  }
  if ((int)n > cap) {
    /* Keep the best `cap`: NMS with iou 1 sorts and suppresses nothing. */
    int kept;
    argus_face_nms(pe->cand, (int)n, 1.0f, cap, &kept);
    n = (size_t)kept;
  }
  memcpy(out, pe->cand, n * sizeof *out);
  *nout = (int)n;
  return ARGUS_OK;
}

argus_err argus_face_box_vote(argus_face_box *boxes, int n, float nms_iou,
                              float vote_iou, int max_keep, int *kept) {
  if (!(vote_iou > 0 && vote_iou <= 1))
    return argus_face_nms(boxes, n, nms_iou, max_keep, kept);
  if (!kept || n < 0 || (!boxes && n) || !(nms_iou >= 0) || max_keep < 0)
    return ARGUS_E_INVALID_ARG;
  *kept = 0;
  if (n == 0)
    return ARGUS_OK;
  qsort(boxes, (size_t)n, sizeof *boxes, face_box_cmp_score);
  /* Boxes out of the running get a NaN score. Kept boxes are compacted at
   * the front: slot k <= i only ever holds a box already handled. */
  int k = 0;
  for (int i = 0; i < n; i++) {
    if (max_keep && k == max_keep)
      break;
    argus_face_box c = boxes[i];
    if (isnan(c.score))
      continue;
    double w = c.score, sx1 = w * c.x1, sy1 = w * c.y1, sx2 = w * c.x2,
           sy2 = w * c.y2, sw = w;
    for (int j = i + 1; j < n; j++) {
      if (isnan(boxes[j].score))
        continue;
      float o = argus_face_iou(&c, &boxes[j]);
      if (o >= vote_iou) {
        w = boxes[j].score;
        sx1 += w * boxes[j].x1;
        sy1 += w * boxes[j].y1;
        sx2 += w * boxes[j].x2;
        sy2 += w * boxes[j].y2;
        sw += w;
      }
      if (o > nms_iou)
        boxes[j].score = NAN;
    }
    if (sw > 0) {
      c.x1 = (float)(sx1 / sw);
      c.y1 = (float)(sy1 / sw);
      c.x2 = (float)(sx2 / sw);
      c.y2 = (float)(sy2 / sw);
    }
    boxes[k++] = c;
  }
  *kept = k;
  return ARGUS_OK;
}

static void det_destroy(void *ctx) { free(ctx); }

static const argus_face_detector_ops det_ops = {
    "ssd_priors", det_state_create, det_state_free, det_pass, det_destroy,
};

/* ---- candidates with points: NMS and voting ------------------------------ */

argus_err face_cand_nms(face_cand *c, int n, float iou, int max_keep,
                        int *kept) {
  if (!kept || n < 0 || (!c && n) || !(iou >= 0) || max_keep < 0)
    return ARGUS_E_INVALID_ARG;
  *kept = 0;
  if (n == 0)
    return ARGUS_OK;
  qsort(c, (size_t)n, sizeof *c, face_box_cmp_score);
  int k = 0;
  for (int i = 0; i < n; i++) {
    if (max_keep && k == max_keep)
      break;
    if (isnan(c[i].b.score))
      break;
    int keep = 1;
    for (int j = 0; j < k && keep; j++)
      if (argus_face_iou(&c[j].b, &c[i].b) > iou)
        keep = 0;
    if (keep) {
      if (k != i)
        c[k] = c[i];
      k++;
    }
  }
  *kept = k;
  return ARGUS_OK;
}

/* The same steps as argus_face_box_vote (keep the two in step). */
argus_err face_cand_vote(face_cand *cs, int n, float nms_iou, float vote_iou,
                         int max_keep, int *kept) {
  if (!(vote_iou > 0 && vote_iou <= 1))
    return face_cand_nms(cs, n, nms_iou, max_keep, kept);
  if (!kept || n < 0 || (!cs && n) || !(nms_iou >= 0) || max_keep < 0)
    return ARGUS_E_INVALID_ARG;
  *kept = 0;
  if (n == 0)
    return ARGUS_OK;
  qsort(cs, (size_t)n, sizeof *cs, face_box_cmp_score);
  int k = 0;
  for (int i = 0; i < n; i++) {
    if (max_keep && k == max_keep)
      break;
    face_cand c = cs[i];
    if (isnan(c.b.score))
      continue;
    double w = c.b.score, sx1 = w * c.b.x1, sy1 = w * c.b.y1,
           sx2 = w * c.b.x2, sy2 = w * c.b.y2, sw = w;
    double sp[ARGUS_FACE_NPOINTS][2];
    int pts = c.npoints == ARGUS_FACE_NPOINTS;
    for (int q = 0; q < ARGUS_FACE_NPOINTS; q++) {
      sp[q][0] = w * c.points[q][0];
      sp[q][1] = w * c.points[q][1];
    }
    for (int j = i + 1; j < n; j++) {
      face_cand *o = &cs[j];
      if (isnan(o->b.score))
        continue;
      float ov = argus_face_iou(&c.b, &o->b);
      if (ov >= vote_iou) {
        w = o->b.score;
        sx1 += w * o->b.x1;
        sy1 += w * o->b.y1;
        sx2 += w * o->b.x2;
        sy2 += w * o->b.y2;
        sw += w;
        pts = pts && o->npoints == ARGUS_FACE_NPOINTS;
        for (int q = 0; q < ARGUS_FACE_NPOINTS; q++) {
          sp[q][0] += w * o->points[q][0];
          sp[q][1] += w * o->points[q][1];
        }
      }
      if (ov > nms_iou)
        o->b.score = NAN;
    }
    if (sw > 0) {
      c.b.x1 = (float)(sx1 / sw);
      c.b.y1 = (float)(sy1 / sw);
      c.b.x2 = (float)(sx2 / sw);
      c.b.y2 = (float)(sy2 / sw);
      /* Points are averaged only when every voter has them; otherwise the
       * kept box's own points stay. */
      if (pts)
        for (int q = 0; q < ARGUS_FACE_NPOINTS; q++) {
          c.points[q][0] = (float)(sp[q][0] / sw);
          c.points[q][1] = (float)(sp[q][1] / sw);
        }
    }
    cs[k++] = c;
  }
  *kept = k;
  return ARGUS_OK;
}

/* ---- anchor-free grid detector (YuNet) ---------------------------------- */

typedef struct grid_ctx {
  argus_face_card card;
  argus_nn_model *model; /* kept */
  const char *outs[FACE_SESS_MAX_OUT];
  int nouts;
  int head_out[ARGUS_FACE_MAX_LEVELS][ARGUS_FACE_NHEADS]; /* index in outs
                                                             or -1 */
} grid_ctx;

typedef struct grid_state {
  face_sess_cache sc;
  face_cand *cand; /* one per grid cell of the largest input seen */
  size_t ncand;
} grid_state;

static argus_err grid_state_create(void *ctx, void **out) {
  (void)ctx;
  grid_state *s = calloc(1, sizeof *s);
  if (!s)
    return ARGUS_E_NOMEM;
  s->sc.max = 6;
  *out = s;
  return ARGUS_OK;
}

static void grid_state_free(void *ctx, void *state) {
  (void)ctx;
  grid_state *s = state;
  if (!s)
    return;
  face_sess_cache_clear(&s->sc);
  free(s->cand);
  free(s);
}

/* Checks the shapes of the heads of a session planned at net_w x net_h:
 * [1, cells, k] with k = 1 (cls, obj), 4 (bbox), 2 * npoints (kps). */
static argus_err grid_check(const grid_ctx *c, const face_sess *fs,
                            int net_w, int net_h, size_t *cells,
                            argus_face_error *err) {
  static const char *const hn[ARGUS_FACE_NHEADS] = {"cls", "obj", "bbox",
                                                    "kps"};
  const argus_face_grid_spec *g = &c->card.grid;
  size_t total = 0;
  for (int l = 0; l < g->nstrides; l++) {
    int64_t n = (int64_t)(net_w / g->strides[l]) * (net_h / g->strides[l]);
    total += (size_t)n;
    for (int h = 0; h < ARGUS_FACE_NHEADS; h++) {
      int k = c->head_out[l][h];
      if (k < 0)
        continue;
      int64_t want = h == ARGUS_FACE_HEAD_BBOX  ? 4
                     : h == ARGUS_FACE_HEAD_KPS ? 2 * g->npoints
                                                : 1;
      const int64_t *d = fs->out_dims[k];
      if (fs->out_rank[k] != 3 || d[0] != 1 || d[1] != n || d[2] != want)
        return face_fail(err, ARGUS_E_SHAPE,
                         "%s at %dx%d: output '%s' (%s, stride %d) has shape "
                         "[%lld,%lld,%lld], expected [1,%lld,%lld]",
                         c->card.name, net_w, net_h, c->outs[k], hn[h],
                         g->strides[l], (long long)d[0],
                         (long long)(fs->out_rank[k] > 1 ? d[1] : 0),
                         (long long)(fs->out_rank[k] > 2 ? d[2] : 0),
                         (long long)n, (long long)want);
    }
  }
  *cells = total;
  return ARGUS_OK;
}

static float clip01(float v) { return v < 0 ? 0 : v > 1 ? 1 : v; }

static argus_err grid_run(void *ctx, void *state, const argus_image *img,
                          const argus_face_pass *p, float min_score,
                          argus_face_box *out,
                          float (*points)[ARGUS_FACE_NPOINTS][2], int cap,
                          int *nout, argus_face_error *err) {
  grid_ctx *c = ctx;
  grid_state *s = state;
  const argus_face_grid_spec *g = &c->card.grid;
  *nout = 0;
  if (p->net_w % g->pad_to != 0 || p->net_h % g->pad_to != 0)
    return face_fail(err, ARGUS_E_INVALID_ARG,
                     "%s: network input %dx%d is not a multiple of %d",
                     c->card.name, p->net_w, p->net_h, g->pad_to);
  face_sess *fs;
  argus_err rc = face_sess_get(&s->sc, c->model, c->card.input_name, p->net_w,
                               p->net_h, 1, c->outs, c->nouts, &fs, err);
  if (rc)
    return rc;
  size_t cells;
  if ((rc = grid_check(c, fs, p->net_w, p->net_h, &cells, err)))
    return rc;
  if (cells > s->ncand) {
    face_cand *nc = malloc(cells * sizeof *nc);
    if (!nc)
      return face_fail(err, ARGUS_E_NOMEM, "out of memory");
    free(s->cand);
    s->cand = nc;
    s->ncand = cells;
  }
  /* The roi at the pass's scale in the top left corner (the top right one
   * when mirrored: the rows are flipped afterwards); the rest of the input
   * lies outside the roi and, for a whole frame, outside the image, where
   * argus_image_to_tensor writes black: the padding the model expects. */
  const int cw = p->content_w > 0 ? p->content_w : p->net_w;
  const int ch = p->content_h > 0 ? p->content_h : p->net_h;
  const float rx = p->roi[0], ry = p->roi[1];
  const float rw = p->roi[2] - p->roi[0], rh = p->roi[3] - p->roi[1];
  const float sx = rw / (float)cw, sy = rh / (float)ch;
  const float span_w = sx * (float)p->net_w, span_h = sy * (float)p->net_h;
  float box[4] = {p->flip ? p->roi[2] - span_w : rx, ry,
                  p->flip ? p->roi[2] : rx + span_w, ry + span_h};
  rc = argus_image_to_tensor(img, box, p->net_w, p->net_h,
                             (int)c->card.channels, c->card.mean,
                             c->card.scale, fs->in);
  if (rc)
    return face_fail(err, rc, "preparing the %dx%d detector input: %s",
                     p->net_w, p->net_h, argus_strerror(rc));
  if (p->flip)
    flip_rows(fs->in, fs->in_elems, p->net_w);
  if ((rc = face_sess_run(fs, err)))
    return rc;

  /* Score >= min_score without the square root; boxes touching a dropped
   * tile edge within 4 network px are cut faces. */
  const float ms = min_score > 0 ? min_score : 0;
  const float ms2 = ms * ms;
  const float mx = 4.0f * sx, my = 4.0f * sy;
  const float x0 = p->flip ? p->roi[2] : rx, dx = p->flip ? -sx : sx;
  size_t n = 0;
  for (int l = 0; l < g->nstrides; l++) {
    const int st = g->strides[l], fw = p->net_w / st, fh = p->net_h / st;
    const float *cls = fs->out[c->head_out[l][ARGUS_FACE_HEAD_CLS]];
    const int oi = c->head_out[l][ARGUS_FACE_HEAD_OBJ];
    const int ki = c->head_out[l][ARGUS_FACE_HEAD_KPS];
    const float *obj = oi >= 0 ? fs->out[oi] : NULL;
    const float *bb = fs->out[c->head_out[l][ARGUS_FACE_HEAD_BBOX]];
    const float *kp = ki >= 0 ? fs->out[ki] : NULL;
    for (int row = 0; row < fh; row++) {
      for (int col = 0; col < fw; col++) {
        size_t a = (size_t)row * (size_t)fw + (size_t)col;
        float pc = clip01(cls[a]), score;
        switch (g->score) {
        case ARGUS_FACE_SCORE_CLS:
          if (!(pc >= ms))
            continue;
          score = pc;
          break;
        case ARGUS_FACE_SCORE_CLS_OBJ:
          score = pc * clip01(obj[a]);
          if (!(score >= ms))
            continue;
          break;
        default:
          score = pc * clip01(obj[a]);
          if (!(score >= ms2))
            continue;
          score = sqrtf(score);
          break;
        }
        const float *d = bb + 4 * a;
        float cx = ((float)col + d[0]) * (float)st;
        float cy = ((float)row + d[1]) * (float)st;
        float bw = expf(d[2]) * (float)st, bh = expf(d[3]) * (float)st;
        face_cand *fc = &s->cand[n];
        /* network px -> image px (mirrored: x counts from the right) */
        float l1 = x0 + (cx - 0.5f * bw) * dx, l2 = x0 + (cx + 0.5f * bw) * dx;
        fc->b.x1 = fminf(l1, l2);
        fc->b.x2 = fmaxf(l1, l2);
        fc->b.y1 = ry + (cy - 0.5f * bh) * sy;
        fc->b.y2 = ry + (cy + 0.5f * bh) * sy;
        fc->b.score = score;
        float w = fc->b.x2 - fc->b.x1;
        if (!(w > 0 && fc->b.y2 > fc->b.y1) || !isfinite(w) ||
            !isfinite(fc->b.y2 - fc->b.y1) || w < p->min_face ||
            (p->max_face > 0 && w >= p->max_face))
          continue;
        if ((p->drop_edge[0] && fc->b.x1 <= rx + mx) ||
            (p->drop_edge[1] && fc->b.y1 <= ry + my) ||
            (p->drop_edge[2] && fc->b.x2 >= p->roi[2] - mx) ||
            (p->drop_edge[3] && fc->b.y2 >= p->roi[3] - my))
          continue;
        fc->npoints = 0;
        if (kp) {
          const float *k = kp + 2 * (size_t)g->npoints * a;
          for (int q = 0; q < ARGUS_FACE_NPOINTS; q++) {
            /* A mirrored face has its image-left and image-right points
             * exchanged: eyes 0 <-> 1, mouth corners 3 <-> 4. */
            int t = p->flip && q != ARGUS_FACE_NOSE
                        ? (q == 0 ? 1 : q == 1 ? 0 : q == 3 ? 4 : 3)
                        : q;
            fc->points[t][0] = x0 + ((float)col + k[2 * q]) * (float)st * dx;
            fc->points[t][1] = ry + ((float)row + k[2 * q + 1]) * (float)st * sy;
          }
          fc->npoints = ARGUS_FACE_NPOINTS;
        }
        n++;
      }
    }
  }
  int kept = (int)n;
  if ((int)n > cap)
    face_cand_nms(s->cand, (int)n, 1.0f, cap, &kept);
  for (int i = 0; i < kept; i++) {
    out[i] = s->cand[i].b;
    if (points)
      memcpy(points[i], s->cand[i].points, sizeof points[i]);
  }
  *nout = kept;
  return ARGUS_OK;
}

static argus_err grid_pass(void *ctx, void *state, const argus_image *img,
                           const argus_face_pass *p, float min_score,
                           argus_face_box *out, int cap, int *nout,
                           argus_face_error *err) {
  return grid_run(ctx, state, img, p, min_score, out, NULL, cap, nout, err);
}

static const argus_face_detector_ops grid_ops = {
    "anchor_free_grid", grid_state_create, grid_state_free, grid_pass,
    det_destroy,
};

static argus_err grid_create(const argus_face_card *card,
                             argus_nn_model *model, argus_face_detector *out,
                             argus_face_error *err) {
  grid_ctx *c = calloc(1, sizeof *c);
  if (!c)
    return face_fail(err, ARGUS_E_NOMEM, "out of memory");
  c->card = *card;
  c->model = model;
  const argus_face_grid_spec *g = &c->card.grid;
  for (int l = 0; l < g->nstrides; l++)
    for (int h = 0; h < ARGUS_FACE_NHEADS; h++) {
      c->head_out[l][h] = -1;
      if (!g->outputs[l][h][0])
        continue;
      c->head_out[l][h] = c->nouts;
      c->outs[c->nouts++] = g->outputs[l][h];
    }
  /* Plan once at the card's size to check that the heads exist with the
   * shapes of the grid; the session is not kept. */
  grid_state *s = NULL;
  argus_err rc = grid_state_create(c, (void **)&s);
  if (rc)
    goto fail;
  face_sess *fs;
  size_t cells;
  int w = (int)card->input_shape[3], h = (int)card->input_shape[2];
  rc = face_sess_get(&s->sc, model, card->input_name, w, h, 1, c->outs,
                     c->nouts, &fs, err);
  if (rc == ARGUS_OK)
    rc = grid_check(c, fs, w, h, &cells, err);
  grid_state_free(c, s);
  if (rc)
    goto fail;
  out->ops = &grid_ops;
  out->ctx = c;
  out->default_score = card->score_threshold;
  out->default_nms_iou = card->nms_iou;
  out->default_w = w;
  out->default_h = h;
  out->pad_align = g->pad_to;
  out->native_max_side = card->native_max_side;
  if (g->npoints == ARGUS_FACE_NPOINTS)
    out->detect_pass_points = grid_run;
  return ARGUS_OK;
fail:
  free(c);
  return rc;
}

argus_err argus_face_detector_create(const argus_face_card *card,
                                     argus_nn_model *model,
                                     argus_face_detector *out,
                                     argus_face_error *err) {
  if (!card || !model || !out)
    return face_fail(err, ARGUS_E_INVALID_ARG, "detector: missing argument");
  memset(out, 0, sizeof *out);
  if (card->kind != ARGUS_FACE_MODEL_DETECTOR)
    return face_fail(err, ARGUS_E_INVALID_ARG,
                     "%s: the card is not a detector's", card->name);
  argus_err rc = face_check_model_input(card, model, err);
  if (rc)
    return rc;
  if (card->decoder == ARGUS_FACE_DECODER_GRID)
    return grid_create(card, model, out, err);
  det_ctx *c = calloc(1, sizeof *c);
  if (!c)
    return ARGUS_E_NOMEM;
  c->card = *card;
  c->model = model;
  c->outs[0] = c->card.scores_output;
  c->outs[1] = c->card.deltas_output;
  /* Plan once at the card's size to check that the raw outputs exist and
   * agree with the prior grid; the session is not kept. */
  det_state *s = NULL;
  if ((rc = det_state_create(c, (void **)&s)))
    goto fail;
  face_sess *fs;
  rc = face_sess_get(&s->sc, model, card->input_name,
                     (int)card->input_shape[3], (int)card->input_shape[2], 1,
                     c->outs, 2, &fs, err);
  if (rc == ARGUS_OK) {
    size_t A = argus_face_prior_count(&card->priors, (int)card->input_shape[3],
                                      (int)card->input_shape[2]);
    if (fs->out_dims[0][1] != (int64_t)A || fs->out_dims[1][1] != (int64_t)A)
      rc = face_fail(err, ARGUS_E_SHAPE,
                     "%s: raw outputs have %lld anchors, the card's priors "
                     "%zu",
                     card->name, (long long)fs->out_dims[0][1], A);
  }
  det_state_free(c, s);
  if (rc)
    goto fail;
  out->ops = &det_ops;
  out->ctx = c;
  out->default_score = card->score_threshold;
  out->default_nms_iou = card->nms_iou;
  out->default_w = (int)card->input_shape[3];
  out->default_h = (int)card->input_shape[2];
  return ARGUS_OK;
fail:
  free(c);
  return rc;
}

void argus_face_detector_destroy(argus_face_detector *d) {
  if (!d)
    return;
  if (d->ops && d->ops->destroy)
    d->ops->destroy(d->ctx);
  memset(d, 0, sizeof *d);
}

/* ---- passes ------------------------------------------------------------- */

void argus_face_detect_opts_default(argus_face_detect_opts *o) {
  if (!o)
    return;
  memset(o, 0, sizeof *o); /* size 0: 640, or 320 as the top of a pyramid */
}

void argus_face_detect_opts_accurate(argus_face_detect_opts *o) {
  if (!o)
    return;
  o->size = 480;
  o->mid_size = 640;
  o->tile = 640;
  o->flip = ARGUS_FACE_FLIP_WHOLE;
  o->vote_iou = 0.5f;
}

static int clampi(long v, int lo, int hi) {
  return v < lo ? lo : v > hi ? hi : (int)v;
}

/* Smallest network side planned; tiny or very elongated frames are
 * enlarged to this. */
#define MIN_NET 32
#define MAX_NET 4096

/* Covers [0, len) with the fewest windows of length at most *t that overlap
 * by at least `overlap`, then shrinks the windows to the smallest common
 * length that keeps that overlap (less area to run than full windows
 * spread evenly: 29 % on 1080p at scale 1). Writes the positions and the
 * length into *t; returns the count. */
static int axis_tiles(float len, float *t, float overlap, float *pos,
                      int cap) {
  if (*t >= len) {
    pos[0] = 0;
    *t = len;
    return 1;
  }
  int n = (int)ceilf((len - overlap) / (*t - overlap));
  if (n < 2)
    n = 2;
  if (n > cap)
    return n; /* too many: the caller reports LIMIT */
  float tl = ceilf((len + (float)(n - 1) * overlap) / (float)n);
  if (tl < *t)
    *t = tl;
  for (int i = 0; i < n; i++)
    pos[i] = (len - *t) * (float)i / (float)(n - 1);
  return n;
}

#define MAX_AXIS_TILES 256

/* Multi-scale detection: a pass leaves the faces narrower than BAND_LO
 * network px to the next finer pass (when there is one): the smallest priors
 * (10 px) are where the detector is least reliable, and the finer pass sees
 * those faces larger. Measured on WIDER dev (docs/face.md): +0.4 AP easy,
 * +0.5 medium, -0.2 hard for --size 640 --tile 640. */
#define BAND_LO 16.0f

/* Appends the passes of one scale, for faces of image width in [lo, hi)
 * (hi 0: no bound); returns the count needed. */
/* Network sizes are multiples of NET_ALIGN. The prior grid puts the centre
 * of cell j at (j + 0.5) / ceil(size / step) (as the model was trained);
 * when the step does not divide the size, the priors drift from the cells
 * they belong to, by up to a step at the far edge. Sizes that are multiples
 * of 32 keep the strides 8, 16 and 32 exact (the ones small faces use);
 * measured on WIDER dev: tiles of 539x368 lost 0.09 AP on hard faces. */
#define NET_ALIGN 32

static int align_nearest(float v) {
  long n = lroundf(v / NET_ALIGN) * NET_ALIGN;
  return clampi(n, MIN_NET, MAX_NET);
}

static int align_up(float v) {
  long n = (long)ceilf(v / NET_ALIGN - 1e-4f) * NET_ALIGN;
  return clampi(n, MIN_NET, MAX_NET);
}

/* Padding detectors (pad > 0): the content at the pass's scale, its
 * network side padded up to a multiple of pad. */
static void pad_side(float v, int pad, int *content, int *net) {
  long c = lroundf(v);
  c = c < 1 ? 1 : c > MAX_NET ? MAX_NET : c;
  long n = (c + pad - 1) / pad * pad;
  while (n > MAX_NET)
    n -= pad;
  if (c > n)
    c = n;
  *content = (int)c;
  *net = (int)n;
}

static int scale_passes(int w, int h, float scale, int tile, int pad,
                        float lo, float hi, argus_face_pass *ps, int cap,
                        int k) {
  float nw = (float)w * scale, nh = (float)h * scale;
  if (tile <= 0 || (nw <= (float)tile && nh <= (float)tile)) {
    if (k < cap) {
      /* The whole frame: stretched by at most 16 px to the alignment (the
       * reference pipeline stretches any frame to 320x240), or, for a
       * padding detector, kept at its scale and padded right and bottom. */
      argus_face_pass *p = &ps[k];
      memset(p, 0, sizeof *p);
      p->roi[2] = (float)w;
      p->roi[3] = (float)h;
      if (pad > 0) {
        pad_side(nw, pad, &p->content_w, &p->net_w);
        pad_side(nh, pad, &p->content_h, &p->net_h);
      } else {
        p->net_w = align_nearest(nw);
        p->net_h = align_nearest(nh);
      }
      p->min_face = lo;
      p->max_face = hi;
    }
    return k + 1;
  }
  /* Overlap: every face of the band must fit whole in some tile. Without
   * an upper bound (no coarser pass), a quarter tile. */
  float ov_net = hi > 0 ? 1.1f * hi * scale : 0.25f * (float)tile;
  if (ov_net < 32)
    ov_net = 32;
  if (ov_net > 0.5f * (float)tile)
    ov_net = 0.5f * (float)tile;
  float t_img = (float)tile / scale, ov_img = ov_net / scale;
  if (hi > ov_img)
    hi = ov_img;
  float tw = t_img < (float)w ? t_img : (float)w;
  float th = t_img < (float)h ? t_img : (float)h;
  float xs[MAX_AXIS_TILES], ys[MAX_AXIS_TILES];
  int nx = axis_tiles((float)w, &tw, ov_img, xs, MAX_AXIS_TILES);
  int ny = axis_tiles((float)h, &th, ov_img, ys, MAX_AXIS_TILES);
  if (nx > MAX_AXIS_TILES || ny > MAX_AXIS_TILES)
    return k + (cap + 1) + nx * ny; /* more than any cap: LIMIT */
  /* Tiles grow to an aligned network size at the same scale (more overlap);
   * only where that exceeds the frame is the tile stretched. */
  int net_w = align_up(tw * scale), net_h = align_up(th * scale);
  float tw2 = fminf((float)net_w / scale, (float)w);
  float th2 = fminf((float)net_h / scale, (float)h);
  for (int i = 0; i < nx; i++)
    xs[i] = nx > 1 ? ((float)w - tw2) * (float)i / (float)(nx - 1) : 0;
  for (int j = 0; j < ny; j++)
    ys[j] = ny > 1 ? ((float)h - th2) * (float)j / (float)(ny - 1) : 0;
  tw = tw2;
  th = th2;
  for (int j = 0; j < ny; j++) {
    for (int i = 0; i < nx; i++, k++) {
      if (k >= cap)
        continue;
      argus_face_pass *p = &ps[k];
      memset(p, 0, sizeof *p);
      p->roi[0] = xs[i];
      p->roi[1] = ys[j];
      p->roi[2] = xs[i] + tw;
      p->roi[3] = ys[j] + th;
      p->net_w = net_w;
      p->net_h = net_h;
      if (pad > 0) {
        /* Tiles at the frame's edge may be shorter than the network side. */
        p->content_w = clampi(lroundf(tw * scale), 1, net_w);
        p->content_h = clampi(lroundf(th * scale), 1, net_h);
      }
      p->min_face = lo;
      p->max_face = hi;
      p->drop_edge[0] = i > 0;
      p->drop_edge[1] = j > 0;
      p->drop_edge[2] = i < nx - 1;
      p->drop_edge[3] = j < ny - 1;
    }
  }
  return k;
}

argus_err argus_face_plan_passes(const argus_face_detector *d, int w, int h,
                                 const argus_face_detect_opts *o,
                                 argus_face_pass *passes, int cap, int *n) {
  if (!d || !o || !n || w < 1 || h < 1 || cap < 0 || (!passes && cap))
    return ARGUS_E_INVALID_ARG;
  *n = 0;
  if (o->nscales < 0 || o->nscales > ARGUS_FACE_MAX_SCALES || o->tile < 0 ||
      (o->tile > 0 && o->tile < MIN_NET) || o->tile > MAX_NET ||
      o->size < -1 || o->size > MAX_NET || !(o->tile_scale >= 0) ||
      o->tile_scale > 16 || o->flip < ARGUS_FACE_FLIP_NONE ||
      o->flip > ARGUS_FACE_FLIP_ALL || o->mid_size < 0 ||
      o->mid_size > MAX_NET ||
      !(o->vote_iou >= 0 && o->vote_iou <= 1))
    return ARGUS_E_INVALID_ARG;
  float scales[ARGUS_FACE_MAX_SCALES + 1];
  int ns = 0, tile = o->tile;
  int first_tiled = 0; /* index of the first scale that may be tiled */
  if (o->nscales > 0) {
    for (int i = 0; i < o->nscales; i++) {
      if (!(o->scales[i] > 0 && o->scales[i] <= 16))
        return ARGUS_E_INVALID_ARG;
      scales[ns++] = o->scales[i];
    }
    /* Ascending: the coarsest pass sees every large face. */
    for (int i = 1; i < ns; i++)
      for (int j = i; j > 0 && scales[j] < scales[j - 1]; j--) {
        float t = scales[j];
        scales[j] = scales[j - 1];
        scales[j - 1] = t;
      }
  } else {
    /* With tiles, a pyramid: the full frame at `size` (320 by default)
     * and at `mid_size` when given, then octaves up to the tile scale.
     * Three levels (320, 640, native on WIDER's 1024 px images) measured
     * better than two at every difficulty for the same time (docs/face.md).
     */
    int size = o->size != 0    ? o->size
               : o->tile > 0 ? ARGUS_FACE_TILED_SIZE
                             : ARGUS_FACE_DEFAULT_SIZE;
    if (o->size == 0 && o->tile <= 0 && d->native_max_side > 0) {
      /* A detector that runs at any size (padded): the frame at its own
       * resolution, its longer side capped. */
      int side = w > h ? w : h;
      scales[ns++] = side > d->native_max_side
                         ? (float)d->native_max_side / (float)side
                         : 1.0f;
      first_tiled = 1;
      size = 0;
    }
    if (size > 0) {
      scales[ns++] = (float)size / (float)(w > h ? w : h);
      first_tiled = 1;
      if (o->tile > 0 && o->mid_size > size)
        scales[ns++] = (float)o->mid_size / (float)(w > h ? w : h);
    }
    if (o->tile > 0) {
      float ts = o->tile_scale > 0 ? o->tile_scale : 1.0f;
      if (ns > 0)
        for (float s = 2 * scales[ns - 1];
             s * 1.55f < ts && ns < ARGUS_FACE_MAX_SCALES - 1; s *= 2)
          scales[ns++] = s;
      /* The finest level is always the tile scale itself. */
      if (ns == 0 || ts > scales[ns - 1] * 1.25f)
        scales[ns++] = ts;
    }
    if (ns == 0)
      return ARGUS_E_INVALID_ARG;
  }
  /* Bands: pass i keeps faces of image width [lo_i, hi_i). A tiled pass
   * leaves the faces its coarser neighbour sees at 24 network px or more
   * (x 1.25) to it, and its tiles overlap by that much; the bands of
   * neighbours overlap (16 < 24). */
  int k = 0;
  for (int i = 0; i < ns; i++) {
    int t = i < first_tiled ? 0 : tile;
    float lo = 0, hi = 0;
    if (i + 1 < ns)
      lo = BAND_LO / scales[i];
    /* A wider upper band (128 network px) was measured worse: the tiles
     * then duplicate the coarse pass's faces with other boxes. */
    if (i > 0 && t > 0)
      hi = 1.25f * 24.0f / scales[i - 1];
    k = scale_passes(w, h, scales[i], t, d->pad_align, lo, hi, passes, cap,
                     k);
  }
  if (o->window[2] > 0 || o->window[3] > 0) {
    /* One window of the single whole-frame pass, on that pass's grid. */
    const int *wn = o->window;
    if (k != 1 || o->flip != ARGUS_FACE_FLIP_NONE || cap < 1)
      return ARGUS_E_INVALID_ARG;
    argus_face_pass *p = &passes[0];
    int cw = p->content_w > 0 ? p->content_w : p->net_w;
    int ch = p->content_h > 0 ? p->content_h : p->net_h;
    if (wn[0] < 0 || wn[1] < 0 || wn[2] <= 0 || wn[3] <= 0 ||
        wn[0] % 32 || wn[1] % 32 || wn[2] % 32 || wn[3] % 32 ||
        wn[0] + wn[2] > p->net_w || wn[1] + wn[3] > p->net_h)
      return ARGUS_E_INVALID_ARG;
    /* Image px per network px of the whole pass (content: the frame). */
    float ex = (float)w / (float)cw, ey = (float)h / (float)ch;
    p->roi[0] = (float)wn[0] * ex;
    p->roi[1] = (float)wn[1] * ey;
    p->roi[2] = (float)(wn[0] + wn[2]) * ex;
    p->roi[3] = (float)(wn[1] + wn[3]) * ey;
    p->net_w = wn[2];
    p->net_h = wn[3];
    if (p->content_w > 0) {
      p->content_w = wn[2];
      p->content_h = wn[3];
    }
    p->drop_edge[0] = wn[0] > 0;
    p->drop_edge[1] = wn[1] > 0;
    p->drop_edge[2] = wn[0] + wn[2] < cw;
    p->drop_edge[3] = wn[1] + wn[3] < ch;
  }
  if (o->flip != ARGUS_FACE_FLIP_NONE) {
    /* Mirrored copies of the passes after them (of the whole-frame ones
     * only: full tiles cost much more and measured no better). */
    int m = k;
    for (int i = 0; i < k; i++) {
      if (i < cap && o->flip == ARGUS_FACE_FLIP_WHOLE &&
          (passes[i].roi[0] > 0 || passes[i].roi[1] > 0 ||
           passes[i].roi[2] < (float)w || passes[i].roi[3] < (float)h))
        continue;
      if (m < cap) {
        passes[m] = passes[i];
        passes[m].flip = 1;
      }
      m++;
    }
    k = m;
  }
  *n = k;
  return k > cap ? ARGUS_E_LIMIT : ARGUS_OK;
}
