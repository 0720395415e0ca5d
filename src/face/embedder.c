/* The default embedder: 5-point similarity alignment onto the card's
 * template and a network that maps the aligned crop to an embedding
 * (fr_feature: 112x112 BGR -> 512-d), L2-normalised. Crops are batched;
 * sessions exist for power-of-two batches up to the maximum. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "face_internal.h"

typedef struct emb_ctx {
  argus_face_card card;
  argus_nn_model *model; /* kept */
  const char *outs[1];
  int max_batch; /* a power of two */
} emb_ctx;

typedef struct emb_state {
  face_sess_cache sc;
} emb_state;

static argus_err emb_state_create(void *ctx, void **out) {
  (void)ctx;
  emb_state *s = calloc(1, sizeof *s);
  if (!s)
    return ARGUS_E_NOMEM;
  s->sc.max = FACE_SESS_MAX;
  *out = s;
  return ARGUS_OK;
}

static void emb_state_free(void *ctx, void *state) {
  (void)ctx;
  emb_state *s = state;
  if (!s)
    return;
  face_sess_cache_clear(&s->sc);
  free(s);
}

static argus_err emb_align_map(void *ctx, const argus_face *face, float m[6]) {
  emb_ctx *c = ctx;
  if (!face || face->npoints != ARGUS_FACE_NPOINTS)
    return ARGUS_E_INVALID_ARG;
  float fwd[6];
  argus_err rc = argus_face_similarity_fit(
      (const float(*)[2])face->points,
      (const float(*)[2])c->card.align_template, ARGUS_FACE_NPOINTS, fwd);
  if (rc)
    return rc;
  return argus_face_affine_invert(fwd, m);
}

/* Embeds crops into out[n][dim] (normalised as the card says) and/or their
 * raw norms into norms[n]; either may be NULL. */
static argus_err emb_forward(void *ctx, void *state, const argus_image *crops,
                             int n, float *out, float *norms,
                             argus_face_error *err) {
  emb_ctx *c = ctx;
  emb_state *s = state;
  const int aw = c->card.align_width, ah = c->card.align_height;
  const int dim = c->card.dim;
  for (int done = 0; done < n;) {
    int b = c->max_batch;
    while (b > n - done)
      b >>= 1;
    face_sess *fs;
    argus_err rc = face_sess_get(&s->sc, c->model, c->card.input_name, aw, ah,
                                 b, c->outs, 1, &fs, err);
    if (rc)
      return rc;
    if (fs->out_dims[0][0] != b ||
        fs->out_dims[0][fs->out_rank[0] - 1] != dim)
      return face_fail(err, ARGUS_E_SHAPE,
                       "%s: output '%s' is not [%d, %d] as the card says",
                       c->card.name, c->outs[0], b, dim);
    for (int i = 0; i < b; i++) {
      const argus_image *im = &crops[done + i];
      float box[4] = {0, 0, (float)im->width, (float)im->height};
      rc = argus_image_to_tensor(im, box, aw, ah, (int)c->card.channels,
                                 c->card.mean, c->card.scale,
                                 fs->in + (size_t)i * fs->in_elems);
      if (rc)
        return face_fail(err, rc, "preparing embedder input %d (%dx%d %s): %s",
                         done + i, im->width, im->height,
                         argus_pixfmt_name(im->format), argus_strerror(rc));
    }
    if ((rc = face_sess_run(fs, err)))
      return rc;
    for (int i = 0; i < b; i++) {
      const float *e = fs->out[0] + (size_t)i * dim;
      double ss = 0;
      for (int k = 0; k < dim; k++)
        ss += (double)e[k] * e[k];
      if (norms)
        norms[done + i] = (float)sqrt(ss);
      if (!out)
        continue;
      float *o = out + (size_t)(done + i) * dim;
      float inv = c->card.l2_normalize && ss > 0 ? (float)(1.0 / sqrt(ss)) : 1;
      if (!isfinite(inv))
        inv = 0;
      for (int k = 0; k < dim; k++)
        o[k] = e[k] * inv;
    }
    done += b;
  }
  return ARGUS_OK;
}

static argus_err emb_run(void *ctx, void *state, const argus_image *crops,
                         int n, float *out, argus_face_error *err) {
  return emb_forward(ctx, state, crops, n, out, NULL, err);
}

static argus_err emb_norms(void *ctx, void *state, const argus_image *crops,
                           int n, float *norms, argus_face_error *err) {
  return emb_forward(ctx, state, crops, n, NULL, norms, err);
}

static void emb_destroy(void *ctx) { free(ctx); }

static const argus_face_embedder_ops emb_ops = {
    "embedding", emb_state_create, emb_state_free, emb_align_map, emb_run,
    emb_destroy, emb_norms,
};

argus_err argus_face_embedder_create(const argus_face_card *card,
                                     argus_nn_model *model, int max_batch,
                                     argus_face_embedder *out,
                                     argus_face_error *err) {
  if (!card || !model || !out || max_batch < 0 || max_batch > 1024)
    return face_fail(err, ARGUS_E_INVALID_ARG, "embedder: bad argument");
  memset(out, 0, sizeof *out);
  if (card->kind != ARGUS_FACE_MODEL_EMBEDDER)
    return face_fail(err, ARGUS_E_INVALID_ARG,
                     "%s: the card is not an embedder's", card->name);
  argus_err rc = face_check_model_input(card, model, err);
  if (rc)
    return rc;
  emb_ctx *c = calloc(1, sizeof *c);
  if (!c)
    return ARGUS_E_NOMEM;
  c->card = *card;
  c->model = model;
  c->outs[0] = c->card.output_name;
  int mb = max_batch ? max_batch : 16;
  c->max_batch = 1;
  while (c->max_batch * 2 <= mb)
    c->max_batch *= 2;
  face_sess_cache sc = {.max = 1};
  face_sess *fs;
  rc = face_sess_get(&sc, model, card->input_name, card->align_width,
                     card->align_height, 1, c->outs, 1, &fs, err);
  if (rc == ARGUS_OK && fs->out_dims[0][fs->out_rank[0] - 1] != card->dim)
    rc = face_fail(err, ARGUS_E_SHAPE,
                   "%s: output '%s' has %lld values, the card says dim %d",
                   card->name, c->outs[0],
                   (long long)fs->out_dims[0][fs->out_rank[0] - 1], card->dim);
  face_sess_cache_clear(&sc);
  if (rc) {
    free(c);
    return rc;
  }
  out->ops = &emb_ops;
  out->ctx = c;
  out->dim = card->dim;
  out->align_width = card->align_width;
  out->align_height = card->align_height;
  snprintf(out->model_id, sizeof out->model_id, "%s@%s", card->name,
           card->version);
  return ARGUS_OK;
}

void argus_face_embedder_destroy(argus_face_embedder *e) {
  if (!e)
    return;
  if (e->ops && e->ops->destroy)
    e->ops->destroy(e->ctx);
  memset(e, 0, sizeof *e);
}
