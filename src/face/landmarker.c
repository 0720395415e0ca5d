/* The default landmarker: a network that maps a grey crop of the detector
 * box to N points normalised to the crop (fr_landmark: 68 points on a 64x64
 * crop), reduced to the 5 alignment points as the card says. Faces are
 * batched; sessions exist for power-of-two batches. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "face_internal.h"

#define LMK_MAX_BATCH 16

typedef struct lmk_ctx {
  argus_face_card card;
  argus_nn_model *model; /* kept */
  const char *outs[1];
} lmk_ctx;

typedef struct lmk_state {
  face_sess_cache sc;
} lmk_state;

static argus_err lmk_state_create(void *ctx, void **out) {
  (void)ctx;
  lmk_state *s = calloc(1, sizeof *s);
  if (!s)
    return ARGUS_E_NOMEM;
  s->sc.max = FACE_SESS_MAX;
  *out = s;
  return ARGUS_OK;
}

static void lmk_state_free(void *ctx, void *state) {
  (void)ctx;
  lmk_state *s = state;
  if (!s)
    return;
  face_sess_cache_clear(&s->sc);
  free(s);
}

/* The crop of a face: its box scaled about the centre, clamped to the
 * image. Returns 0 when nothing of it is inside. */
static int face_crop(const lmk_ctx *c, const argus_image *img,
                     const argus_face *f, float crop[4]) {
  float cx = 0.5f * (f->box[0] + f->box[2]), cy = 0.5f * (f->box[1] + f->box[3]);
  float hw = 0.5f * (f->box[2] - f->box[0]) * c->card.crop_scale;
  float hh = 0.5f * (f->box[3] - f->box[1]) * c->card.crop_scale;
  crop[0] = fmaxf(cx - hw, 0);
  crop[1] = fmaxf(cy - hh, 0);
  crop[2] = fminf(cx + hw, (float)img->width);
  crop[3] = fminf(cy + hh, (float)img->height);
  return crop[2] - crop[0] >= 1 && crop[3] - crop[1] >= 1 &&
         isfinite(crop[0] + crop[1] + crop[2] + crop[3]);
}

static argus_err lmk_run(void *ctx, void *state, const argus_image *img,
                         argus_face *faces, int n, argus_face_error *err) {
  lmk_ctx *c = ctx;
  lmk_state *s = state;
  const int iw = (int)c->card.input_shape[3], ih = (int)c->card.input_shape[2];
  const int np = c->card.npoints;
  for (int done = 0; done < n;) {
    int b = LMK_MAX_BATCH;
    while (b > n - done)
      b >>= 1;
    face_sess *fs;
    argus_err rc = face_sess_get(&s->sc, c->model, c->card.input_name, iw, ih,
                                 b, c->outs, 1, &fs, err);
    if (rc)
      return rc;
    if (fs->out_dims[0][0] != b ||
        fs->out_dims[0][fs->out_rank[0] - 1] != 2 * np)
      return face_fail(err, ARGUS_E_SHAPE,
                       "%s: output '%s' is not [%d, %d] as the card says",
                       c->card.name, c->outs[0], b, 2 * np);
    float crops[LMK_MAX_BATCH][4];
    int valid[LMK_MAX_BATCH];
    for (int i = 0; i < b; i++) {
      float *in = fs->in + (size_t)i * fs->in_elems;
      valid[i] = face_crop(c, img, &faces[done + i], crops[i]);
      if (!valid[i]) {
        memset(in, 0, fs->in_elems * sizeof *in);
        continue;
      }
      rc = argus_image_to_tensor(img, crops[i], iw, ih, (int)c->card.channels,
                                 c->card.mean, c->card.scale, in);
      if (rc)
        return face_fail(err, rc, "preparing the landmark input: %s",
                         argus_strerror(rc));
    }
    if ((rc = face_sess_run(fs, err)))
      return rc;
    for (int i = 0; i < b; i++) {
      argus_face *f = &faces[done + i];
      f->npoints = 0;
      f->ndense = 0;
      if (!valid[i])
        continue;
      const float *o = fs->out[0] + (size_t)i * 2 * np;
      const float *cr = crops[i];
      float cw = cr[2] - cr[0], ch = cr[3] - cr[1];
      int ok = 1;
      for (int k = 0; k < 2 * np; k++)
        ok &= isfinite(o[k]);
      if (!ok)
        continue;
      int nd = np < ARGUS_FACE_MAX_DENSE ? np : ARGUS_FACE_MAX_DENSE;
      for (int k = 0; k < nd; k++) {
        f->dense[k][0] = cr[0] + o[2 * k] * cw;
        f->dense[k][1] = cr[1] + o[2 * k + 1] * ch;
      }
      f->ndense = nd;
      for (int p = 0; p < ARGUS_FACE_NPOINTS; p++) {
        float x = 0, y = 0;
        for (int k = 0; k < c->card.nfive[p]; k++) {
          int idx = c->card.five[p][k];
          x += cr[0] + o[2 * idx] * cw;
          y += cr[1] + o[2 * idx + 1] * ch;
        }
        f->points[p][0] = x / (float)c->card.nfive[p];
        f->points[p][1] = y / (float)c->card.nfive[p];
      }
      f->npoints = ARGUS_FACE_NPOINTS;
    }
    done += b;
  }
  return ARGUS_OK;
}

static void lmk_destroy(void *ctx) { free(ctx); }

static const argus_face_landmarker_ops lmk_ops = {
    "points_normalised", lmk_state_create, lmk_state_free, lmk_run,
    lmk_destroy,
};

argus_err argus_face_landmarker_create(const argus_face_card *card,
                                       argus_nn_model *model,
                                       argus_face_landmarker *out,
                                       argus_face_error *err) {
  if (!card || !model || !out)
    return face_fail(err, ARGUS_E_INVALID_ARG, "landmarker: missing argument");
  memset(out, 0, sizeof *out);
  if (card->kind != ARGUS_FACE_MODEL_LANDMARKER)
    return face_fail(err, ARGUS_E_INVALID_ARG,
                     "%s: the card is not a landmarker's", card->name);
  argus_err rc = face_check_model_input(card, model, err);
  if (rc)
    return rc;
  lmk_ctx *c = calloc(1, sizeof *c);
  if (!c)
    return ARGUS_E_NOMEM;
  c->card = *card;
  c->model = model;
  c->outs[0] = c->card.output_name;
  /* Check the output once at batch 1. */
  face_sess_cache sc = {.max = 1};
  face_sess *fs;
  rc = face_sess_get(&sc, model, card->input_name, (int)card->input_shape[3],
                     (int)card->input_shape[2], 1, c->outs, 1, &fs, err);
  if (rc == ARGUS_OK && fs->out_dims[0][fs->out_rank[0] - 1] != 2 * card->npoints)
    rc = face_fail(err, ARGUS_E_SHAPE,
                   "%s: output '%s' has %lld values, the card says %d points",
                   card->name, c->outs[0],
                   (long long)fs->out_dims[0][fs->out_rank[0] - 1],
                   card->npoints);
  face_sess_cache_clear(&sc);
  if (rc) {
    free(c);
    return rc;
  }
  out->ops = &lmk_ops;
  out->ctx = c;
  return ARGUS_OK;
}

void argus_face_landmarker_destroy(argus_face_landmarker *l) {
  if (!l)
    return;
  if (l->ops && l->ops->destroy)
    l->ops->destroy(l->ctx);
  memset(l, 0, sizeof *l);
}
