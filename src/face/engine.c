/* The face engine: the default models behind their interfaces, one worker
 * (per-thread states and buffers) per pool thread, and the pipeline that
 * runs an image through detection passes, landmarks, alignment, quality and
 * embedding. */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "argus/plugin.h"
#include "face_internal.h"

/* Candidates one pass may return (the best scores), and survivors of the
 * per-pass NMS a worker keeps before the final merge. */
#define CAND_CAP 4096
#define KEPT_CAP 4096
#define MAX_PASSES 1024
/* Faces aligned and embedded together by one worker. */
#define CROP_CHUNK 16

enum { K_DET = 0, K_LMK = 1, K_EMB = 2, K_N = 3 };

struct argus_face_worker {
  argus_face_engine *e;
  void *det_state, *lmk_state, *emb_state;
  argus_face_box *boxes;                  /* CAND_CAP: one pass's output */
  float (*points)[ARGUS_FACE_NPOINTS][2]; /* CAND_CAP: its points */
  face_cand *cand;                        /* CAND_CAP */
  face_cand *kept;                        /* KEPT_CAP */
  int nkept;
  argus_image crops[CROP_CHUNK];
  argus_pixfmt crop_fmt;
  float *emb_tmp; /* CROP_CHUNK * dim */
  /* First failure of a task run on this worker. */
  argus_err rc;
  argus_face_error err;
};

struct argus_face_engine {
  argus_face_card cards[K_N];
  argus_nn_model *models[K_N];
  argus_face_detector det;
  argus_face_landmarker lmk;
  argus_face_embedder emb;
  argus_face_quality_assessor qual;
  argus_threadpool *pool; /* borrowed */
  int nworkers;
  argus_face_worker **workers;
  face_cand *merge; /* nworkers * KEPT_CAP */
  argus_face_pass passes[MAX_PASSES];
  argus_plugin *plugin; /* opts.plugin: replaces the detector/embedder */
};

/* ---- workers ------------------------------------------------------------ */

argus_err argus_face_worker_create(argus_face_engine *e,
                                   argus_face_worker **out) {
  if (!e || !out)
    return ARGUS_E_INVALID_ARG;
  *out = NULL;
  argus_face_worker *w = calloc(1, sizeof *w);
  if (!w)
    return ARGUS_E_NOMEM;
  w->e = e;
  argus_err rc = ARGUS_E_NOMEM;
  w->boxes = malloc(CAND_CAP * sizeof *w->boxes);
  w->points = malloc(CAND_CAP * sizeof *w->points);
  w->cand = malloc(CAND_CAP * sizeof *w->cand);
  w->kept = malloc(KEPT_CAP * sizeof *w->kept);
  w->emb_tmp = malloc((size_t)CROP_CHUNK * (size_t)e->emb.dim * sizeof(float));
  if (!w->boxes || !w->points || !w->cand || !w->kept || !w->emb_tmp)
    goto fail;
  if (e->det.ops->state_create &&
      (rc = e->det.ops->state_create(e->det.ctx, &w->det_state)))
    goto fail;
  if (e->lmk.ops && e->lmk.ops->state_create &&
      (rc = e->lmk.ops->state_create(e->lmk.ctx, &w->lmk_state)))
    goto fail;
  if (e->emb.ops->state_create &&
      (rc = e->emb.ops->state_create(e->emb.ctx, &w->emb_state)))
    goto fail;
  *out = w;
  return ARGUS_OK;
fail:
  argus_face_worker_free(w);
  return rc;
}

void argus_face_worker_free(argus_face_worker *w) {
  if (!w)
    return;
  argus_face_engine *e = w->e;
  if (w->det_state && e->det.ops->state_free)
    e->det.ops->state_free(e->det.ctx, w->det_state);
  if (w->lmk_state && e->lmk.ops && e->lmk.ops->state_free)
    e->lmk.ops->state_free(e->lmk.ctx, w->lmk_state);
  if (w->emb_state && e->emb.ops->state_free)
    e->emb.ops->state_free(e->emb.ctx, w->emb_state);
  for (int i = 0; i < CROP_CHUNK; i++)
    argus_image_free(&w->crops[i]);
  free(w->boxes);
  free(w->points);
  free(w->cand);
  free(w->kept);
  free(w->emb_tmp);
  free(w);
}

static void worker_fail(argus_face_worker *w, argus_err rc,
                        const argus_face_error *err) {
  if (w->rc)
    return;
  w->rc = rc;
  if (err && err->msg[0])
    w->err = *err;
  else
    snprintf(w->err.msg, sizeof w->err.msg, "%s", argus_strerror(rc));
}

/* Aligned crops in the image's format, allocated on first use (and when the
 * format changes). */
static argus_err worker_crops(argus_face_worker *w, argus_pixfmt fmt) {
  if (w->crop_fmt == fmt && w->crops[0].data[0])
    return ARGUS_OK;
  for (int i = 0; i < CROP_CHUNK; i++)
    argus_image_free(&w->crops[i]);
  w->crop_fmt = ARGUS_PIX_NONE;
  for (int i = 0; i < CROP_CHUNK; i++) {
    argus_err rc = argus_image_alloc(&w->crops[i], w->e->emb.align_width,
                                     w->e->emb.align_height, fmt);
    if (rc)
      return rc;
  }
  w->crop_fmt = fmt;
  return ARGUS_OK;
}

/* ---- detection ---------------------------------------------------------- */

typedef struct det_job {
  argus_face_engine *e;
  argus_face_worker **workers;
  const argus_image *img;
  const argus_face_pass *passes;
  float min_score, iou, min_size;
} det_job;

static void run_pass(const det_job *j, argus_face_worker *w,
                     const argus_face_pass *pass) {
  argus_face_pass p = *pass;
  if (p.min_face < j->min_size)
    p.min_face = j->min_size;
  int n = 0;
  argus_face_error err = {{0}};
  const argus_face_detector *d = &j->e->det;
  argus_err rc =
      d->detect_pass_points
          ? d->detect_pass_points(d->ctx, w->det_state, j->img, &p,
                                  j->min_score, w->boxes, w->points, CAND_CAP,
                                  &n, &err)
          : d->ops->detect_pass(d->ctx, w->det_state, j->img, &p,
                                j->min_score, w->boxes, CAND_CAP, &n, &err);
  if (rc) {
    worker_fail(w, rc, &err);
    return;
  }
  if (n > CAND_CAP)
    n = CAND_CAP;
  for (int i = 0; i < n; i++) {
    w->cand[i].b = w->boxes[i];
    w->cand[i].npoints = d->detect_pass_points ? ARGUS_FACE_NPOINTS : 0;
    if (d->detect_pass_points)
      memcpy(w->cand[i].points, w->points[i], sizeof w->cand[i].points);
  }
  int kept = 0;
  face_cand_nms(w->cand, n, j->iou, 0, &kept);
  int room = KEPT_CAP - w->nkept;
  if (kept > room)
    kept = room; /* the best of this pass still come first */
  memcpy(w->kept + w->nkept, w->cand, (size_t)kept * sizeof *w->cand);
  w->nkept += kept;
}

static void pass_task(void *ctx, size_t begin, size_t end, int tid) {
  const det_job *j = ctx;
  for (size_t i = begin; i < end; i++)
    run_pass(j, j->workers[tid], &j->passes[i]);
}

static argus_err check_image(const argus_image *img, argus_face_error *err) {
  if (!img || !img->data[0] || img->width < 1 || img->height < 1)
    return face_fail(err, ARGUS_E_INVALID_ARG, "no image (empty or NULL)");
  if (img->format != ARGUS_PIX_GRAY8 && img->format != ARGUS_PIX_RGB8 &&
      img->format != ARGUS_PIX_BGR8)
    return face_fail(err, ARGUS_E_UNSUPPORTED,
                     "image format %s is not packed GRAY8/RGB8/BGR8 (convert "
                     "video frames first)",
                     argus_pixfmt_name(img->format));
  return ARGUS_OK;
}

static float clampf(float v, float lo, float hi) {
  return v < lo ? lo : v > hi ? hi : v;
}

/* Detection over `nw` workers (nw > 1 only with a pool). The final boxes
 * are written into faces. */
static argus_err detect(argus_face_engine *e, argus_face_worker **ws, int nw,
                        argus_threadpool *pool, face_cand *merge,
                        const argus_image *img,
                        const argus_face_detect_opts *opts, argus_face *faces,
                        int cap, int *nfaces, argus_face_error *err) {
  argus_face_detect_opts def;
  if (!opts) {
    argus_face_detect_opts_default(&def);
    opts = &def;
  }
  if (!(opts->min_score >= 0 && opts->min_score <= 1) ||
      !(opts->nms_iou >= 0 && opts->nms_iou <= 1) || !(opts->min_size >= 0) ||
      opts->max_faces < 0)
    return face_fail(err, ARGUS_E_INVALID_ARG,
                     "detection options out of range (min_score and nms_iou "
                     "in [0, 1], min_size and max_faces >= 0)");
  int np = 0;
  argus_err rc = argus_face_plan_passes(&e->det, img->width, img->height,
                                        opts, e->passes, MAX_PASSES, &np);
  if (rc == ARGUS_E_LIMIT)
    return face_fail(err, rc, "detection needs %d passes (at most %d)", np,
                     MAX_PASSES);
  if (rc)
    return face_fail(err, rc,
                     "bad detection options (size, scales, tile) for a %dx%d "
                     "image",
                     img->width, img->height);
  det_job j = {e,
               ws,
               img,
               e->passes,
               opts->min_score > 0 ? opts->min_score : e->det.default_score,
               opts->nms_iou > 0 ? opts->nms_iou : e->det.default_nms_iou,
               opts->min_size};
  for (int i = 0; i < nw; i++) {
    ws[i]->nkept = 0;
    ws[i]->rc = ARGUS_OK;
  }
  argus_threadpool_parallel_for(nw > 1 ? pool : NULL, (size_t)np, 1, pass_task,
                                &j);
  int nm = 0;
  for (int i = 0; i < nw; i++) {
    if (ws[i]->rc) {
      if (err)
        *err = ws[i]->err;
      return ws[i]->rc;
    }
    if (merge != ws[i]->kept)
      memcpy(merge + nm, ws[i]->kept, (size_t)ws[i]->nkept * sizeof *merge);
    nm += ws[i]->nkept;
  }
  int keep = cap;
  if (opts->max_faces > 0 && opts->max_faces < keep)
    keep = opts->max_faces;
  int kept = 0;
  if (keep > 0) /* max_keep 0 would mean "no limit" */
    face_cand_vote(merge, nm, j.iou, opts->vote_iou, keep, &kept);
  const float W = (float)img->width, H = (float)img->height;
  for (int i = 0; i < kept; i++) {
    argus_face *f = &faces[i];
    memset(f, 0, sizeof *f);
    f->box[0] = clampf(merge[i].b.x1, 0, W);
    f->box[1] = clampf(merge[i].b.y1, 0, H);
    f->box[2] = clampf(merge[i].b.x2, 0, W);
    f->box[3] = clampf(merge[i].b.y2, 0, H);
    f->score = merge[i].b.score;
    /* The detector's own points (anchor-free cards): alignment needs no
     * landmarker. They are not clipped (a face cut by the border keeps
     * its geometry). */
    if (merge[i].npoints == ARGUS_FACE_NPOINTS) {
      f->npoints = ARGUS_FACE_NPOINTS;
      memcpy(f->points, merge[i].points, sizeof f->points);
    }
  }
  *nfaces = kept;
  return ARGUS_OK;
}

/* ---- per-face work ------------------------------------------------------ */

typedef struct face_job {
  argus_face_engine *e;
  argus_face_worker **workers;
  const argus_image *img;
  argus_face *faces;
  float *emb; /* NULL or n * dim */
  unsigned what;
} face_job;

/* Aligns faces [begin, end) chunk by chunk, assesses quality on the aligned
 * crops and embeds them. */
static argus_err align_chunk(argus_face_worker *w, const face_job *j,
                             size_t begin, size_t end,
                             argus_face_error *err) {
  argus_face_engine *e = j->e;
  const int dim = e->emb.dim;
  argus_err rc = worker_crops(w, j->img->format);
  if (rc)
    return face_fail(err, rc, "allocating aligned crops: %s",
                     argus_strerror(rc));
  for (size_t c0 = begin; c0 < end; c0 += CROP_CHUNK) {
    size_t c1 = c0 + CROP_CHUNK < end ? c0 + CROP_CHUNK : end;
    int nc = 0;
    int idx[CROP_CHUNK];
    for (size_t i = c0; i < c1; i++) {
      argus_face *f = &j->faces[i];
      float m[6];
      int ok = f->npoints == ARGUS_FACE_NPOINTS &&
               e->emb.ops->align_map(e->emb.ctx, f, m) == ARGUS_OK &&
               argus_image_warp_affine(j->img, m, &w->crops[nc]) == ARGUS_OK;
      if (j->what & ARGUS_FACE_DO_QUALITY) {
        e->qual.ops->assess(e->qual.ctx, j->img, f, ok ? &w->crops[nc] : NULL,
                            &f->quality);
        f->has_quality = 1;
      }
      if (j->emb && !ok)
        memset(j->emb + i * (size_t)dim, 0, (size_t)dim * sizeof(float));
      if (ok)
        idx[nc++] = (int)i;
    }
    if (j->emb && nc > 0) {
      rc = e->emb.ops->embed_aligned(e->emb.ctx, w->emb_state, w->crops, nc,
                                     w->emb_tmp, err);
      if (rc)
        return rc;
      for (int k = 0; k < nc; k++)
        memcpy(j->emb + (size_t)idx[k] * (size_t)dim,
               w->emb_tmp + (size_t)k * (size_t)dim,
               (size_t)dim * sizeof(float));
    }
  }
  return ARGUS_OK;
}

static void face_task(void *ctx, size_t begin, size_t end, int tid) {
  const face_job *j = ctx;
  argus_face_worker *w = j->workers[tid];
  argus_face_engine *e = j->e;
  argus_face_error err = {{0}};
  /* Without a landmarker (a detector that gives the 5 points), the faces
   * already have their points. */
  argus_err rc =
      e->lmk.ops ? e->lmk.ops->landmarks(e->lmk.ctx, w->lmk_state, j->img,
                                         j->faces + begin, (int)(end - begin),
                                         &err)
                 : ARGUS_OK;
  if (rc == ARGUS_OK &&
      (j->what & (ARGUS_FACE_DO_QUALITY | ARGUS_FACE_DO_EMBED)))
    rc = align_chunk(w, j, begin, end, &err);
  if (rc)
    worker_fail(w, rc, &err);
}

static argus_err analyze(argus_face_engine *e, argus_face_worker **ws, int nw,
                         argus_threadpool *pool, face_cand *merge,
                         const argus_image *img,
                         const argus_face_detect_opts *opts, unsigned what,
                         argus_face *faces, int cap, int *n, float *emb,
                         argus_face_error *err) {
  if (err)
    err->msg[0] = '\0';
  if (!n || (!faces && cap) || cap < 0)
    return face_fail(err, ARGUS_E_INVALID_ARG, "no output for the faces");
  *n = 0;
  argus_err rc = check_image(img, err);
  if (rc)
    return rc;
  if (what & ARGUS_FACE_DO_EMBED && !emb)
    return face_fail(err, ARGUS_E_INVALID_ARG,
                     "embedding asked for without an output buffer");
  if (!(what & ARGUS_FACE_DO_EMBED))
    emb = NULL;
  int nf = 0;
  if ((rc = detect(e, ws, nw, pool, merge, img, opts, faces, cap, &nf, err)))
    return rc;
  if (!what) /* boxes and scores only, whichever detector */
    for (int i = 0; i < nf; i++)
      faces[i].npoints = 0;
  if (nf > 0 && what) {
    face_job j = {e, ws, img, faces, emb, what};
    for (int i = 0; i < nw; i++)
      ws[i]->rc = ARGUS_OK;
    /* A worker's chunk is batched through the landmarker and embedder, so
     * faces are only spread over threads in batches of 8. */
    argus_threadpool_parallel_for(nw > 1 ? pool : NULL, (size_t)nf, 8,
                                  face_task, &j);
    for (int i = 0; i < nw; i++)
      if (ws[i]->rc) {
        if (err)
          *err = ws[i]->err;
        return ws[i]->rc;
      }
  }
  *n = nf;
  return ARGUS_OK;
}

argus_err argus_face_engine_analyze(argus_face_engine *e,
                                    const argus_image *img,
                                    const argus_face_detect_opts *opts,
                                    unsigned what, argus_face *faces, int cap,
                                    int *n, float *embeddings,
                                    argus_face_error *err) {
  if (!e)
    return face_fail(err, ARGUS_E_INVALID_ARG, "no engine");
  return analyze(e, e->workers, e->nworkers, e->pool, e->merge, img, opts,
                 what, faces, cap, n, embeddings, err);
}

argus_err argus_face_worker_analyze(argus_face_worker *w,
                                    const argus_image *img,
                                    const argus_face_detect_opts *opts,
                                    unsigned what, argus_face *faces, int cap,
                                    int *n, float *embeddings,
                                    argus_face_error *err) {
  if (!w)
    return face_fail(err, ARGUS_E_INVALID_ARG, "no worker");
  return analyze(w->e, &w, 1, NULL, w->kept, img, opts, what, faces, cap, n,
                 embeddings, err);
}

argus_err argus_face_worker_align(argus_face_worker *w, const argus_image *img,
                                  const argus_face *face, argus_image *dst) {
  if (!w || !img || !face || !dst)
    return ARGUS_E_INVALID_ARG;
  argus_face_engine *e = w->e;
  if (dst->width != e->emb.align_width || dst->height != e->emb.align_height)
    return ARGUS_E_INVALID_ARG;
  float m[6];
  argus_err rc = e->emb.ops->align_map(e->emb.ctx, face, m);
  if (rc)
    return rc;
  return argus_image_warp_affine(img, m, dst);
}

argus_err argus_face_worker_embed_aligned(argus_face_worker *w,
                                          const argus_image *crops, int n,
                                          float *out, argus_face_error *err) {
  if (!w || n < 0 || (n && (!crops || !out)))
    return face_fail(err, ARGUS_E_INVALID_ARG, "embed: bad arguments");
  for (int i = 0; i < n; i++) {
    argus_err rc = check_image(&crops[i], err);
    if (rc)
      return rc;
  }
  argus_face_engine *e = w->e;
  return n ? e->emb.ops->embed_aligned(e->emb.ctx, w->emb_state, crops, n, out,
                                       err)
           : ARGUS_OK;
}

argus_err argus_face_worker_upright(argus_face_worker *w,
                                    const argus_image *img,
                                    const argus_face *face, float *ratio,
                                    argus_face_error *err) {
  if (!w || !img || !face || !ratio)
    return face_fail(err, ARGUS_E_INVALID_ARG, "upright: bad arguments");
  argus_face_engine *e = w->e;
  if (!e->emb.ops->raw_norms)
    return face_fail(err, ARGUS_E_UNSUPPORTED,
                     "upright: the embedder gives no raw norms");
  /* packed formats only: the crop is warped in the image's format */
  size_t bpp = img->format == ARGUS_PIX_GRAY8 ? 1
               : img->format == ARGUS_PIX_RGB8 || img->format == ARGUS_PIX_BGR8
                   ? 3
                   : 0;
  if (!bpp)
    return face_fail(err, ARGUS_E_UNSUPPORTED,
                     "upright: %s images are not supported (packed RGB, BGR "
                     "or grey only)",
                     argus_pixfmt_name(img->format));
  argus_image crops[2];
  memset(crops, 0, sizeof crops);
  argus_err rc = argus_image_alloc(&crops[0], e->emb.align_width,
                                   e->emb.align_height, img->format);
  if (rc == ARGUS_OK)
    rc = argus_image_alloc(&crops[1], e->emb.align_width, e->emb.align_height,
                           img->format);
  if (rc == ARGUS_OK)
    rc = argus_face_worker_align(w, img, face, &crops[0]);
  if (rc == ARGUS_OK) {
    const int cw = crops[0].width, ch = crops[0].height;
    for (int y = 0; y < ch; y++) {
      const uint8_t *src = crops[0].data[0] + (size_t)y * crops[0].stride[0];
      uint8_t *dst =
          crops[1].data[0] + (size_t)(ch - 1 - y) * crops[1].stride[0];
      for (int x = 0; x < cw; x++)
        memcpy(dst + bpp * (size_t)(cw - 1 - x), src + bpp * (size_t)x, bpp);
    }
    float norms[2] = {0, 0};
    rc = e->emb.ops->raw_norms(e->emb.ctx, w->emb_state, crops, 2, norms, err);
    if (rc == ARGUS_OK)
      *ratio = norms[0] > 0 ? norms[1] / norms[0] : INFINITY;
  } else {
    face_fail(err, rc, "upright: cannot make the aligned crops (%s)",
              argus_strerror(rc));
  }
  argus_image_free(&crops[0]);
  argus_image_free(&crops[1]);
  return rc;
}

typedef struct embed_job {
  argus_face_engine *e;
  const argus_image *crops;
  float *out;
} embed_job;

static void embed_task(void *ctx, size_t begin, size_t end, int tid) {
  const embed_job *j = ctx;
  argus_face_worker *w = j->e->workers[tid];
  argus_face_error err = {{0}};
  argus_err rc = argus_face_worker_embed_aligned(
      w, j->crops + begin, (int)(end - begin),
      j->out + begin * (size_t)j->e->emb.dim, &err);
  if (rc)
    worker_fail(w, rc, &err);
}

argus_err argus_face_engine_embed_aligned(argus_face_engine *e,
                                          const argus_image *crops, int n,
                                          float *out, argus_face_error *err) {
  if (!e || n < 0 || (n && (!crops || !out)))
    return face_fail(err, ARGUS_E_INVALID_ARG, "embed: bad arguments");
  for (int i = 0; i < e->nworkers; i++)
    e->workers[i]->rc = ARGUS_OK;
  argus_threadpool_parallel_for(e->nworkers > 1 ? e->pool : NULL, (size_t)n,
                                8, embed_task, &(embed_job){e, crops, out});
  for (int i = 0; i < e->nworkers; i++)
    if (e->workers[i]->rc) {
      if (err)
        *err = e->workers[i]->err;
      return e->workers[i]->rc;
    }
  return ARGUS_OK;
}

/* ---- creation ----------------------------------------------------------- */

static argus_err load_one(const char *dir, const char *name,
                          argus_face_model_kind kind, int allow_unverified,
                          argus_face_card *card, argus_nn_model **model,
                          argus_face_error *err) {
  char path[ARGUS_FACE_CARD_PATH + 64];
  argus_err rc = argus_face_card_find(dir, name, path, sizeof path, err);
  if (rc)
    return rc;
  if ((rc = argus_face_card_load(path, card, err)))
    return rc;
  if (card->kind != kind)
    return face_fail(err, ARGUS_E_INVALID_ARG,
                     "%s: card kind does not fit its use (wanted %s)", path,
                     kind == ARGUS_FACE_MODEL_DETECTOR     ? "detector"
                     : kind == ARGUS_FACE_MODEL_LANDMARKER ? "landmarker"
                                                           : "embedder");
  char mpath[ARGUS_FACE_CARD_PATH * 2 + 2];
  if (card->file[0] == '/')
    snprintf(mpath, sizeof mpath, "%s", card->file);
  else
    snprintf(mpath, sizeof mpath, "%s/%s", dir, card->file);
  if (card->sha256[0]) {
    char hex[65];
    rc = argus_face_file_sha256(mpath, hex);
    if (rc == ARGUS_E_NOT_FOUND)
      return face_fail(err, rc,
                       "model file %s not found (card %s; run "
                       "scripts/fetch-models.sh or pass --models DIR)",
                       mpath, path);
    if (rc)
      return face_fail(err, rc, "cannot read model file %s", mpath);
    if (strcmp(hex, card->sha256) != 0) {
      if (!allow_unverified)
        return face_fail(err, ARGUS_E_CHECKSUM,
                         "model file %s has sha256 %s, its card %s pins %s; "
                         "refusing to load it",
                         mpath, hex, path, card->sha256);
      argus_log(ARGUS_LOG_WARN, FACE_MOD,
                "model file %s has sha256 %s, not the %s of its card; loaded "
                "as asked",
                mpath, hex, card->sha256);
    }
  }
  argus_nn_error nerr = {{0}};
  rc = argus_nn_model_load_file(mpath, model, &nerr);
  if (rc)
    return face_fail_nn(err, rc, mpath, &nerr);
  argus_nn_model_set_precision(*model, card->precision);
  argus_log(ARGUS_LOG_INFO, FACE_MOD, "%s %s from %s (card %s)", card->name,
            card->version, mpath, path);
  return ARGUS_OK;
}

/* A plug-in card: {"name": N, "plugin": "FILE.so", "sha256": HEX} names a
 * shared object (argus/plugin.h) instead of a model file; naming the card as
 * the detector or embedder loads that plug-in's algorithm of that kind. A
 * relative FILE is taken beside the card. The sha256 is checked as a model
 * file's is (a mismatch is refused unless allow_unverified; a card without
 * one loads the file unchecked, logged). Writes the plug-in's path into
 * `so`, or "" when the card is an ordinary model card (or there is no card
 * of that name: load_one reports that). */
static argus_err card_plugin(const char *dir, const char *name,
                             int allow_unverified, char *so, size_t cap,
                             argus_face_error *err) {
  so[0] = '\0';
  char path[ARGUS_FACE_CARD_PATH + 64];
  argus_face_error ignored;
  if (argus_face_card_find(dir, name, path, sizeof path, &ignored))
    return ARGUS_OK;
  char *buf = NULL;
  size_t n = 0;
  if (face_card_read(path, &buf, &n, &ignored))
    return ARGUS_OK; /* load_one reads it again and says what is wrong */
  cJSON *root = cJSON_ParseWithLength(buf, n);
  free(buf);
  const cJSON *pl = cJSON_GetObjectItemCaseSensitive(root, "plugin");
  const cJSON *sh = cJSON_GetObjectItemCaseSensitive(root, "sha256");
  argus_err rc = ARGUS_OK;
  if (!pl)
    goto done; /* a model card (or not JSON: load_one says so) */
  if (!cJSON_IsString(pl) || !pl->valuestring[0]) {
    rc = face_fail(err, ARGUS_E_CORRUPT,
                   "%s: field 'plugin' must be the shared object's file name",
                   path);
    goto done;
  }
  if (sh && (!cJSON_IsString(sh) || strlen(sh->valuestring) != 64)) {
    rc = face_fail(err, ARGUS_E_CORRUPT,
                   "%s: field 'sha256' must be 64 hex digits", path);
    goto done;
  }
  const char *file = pl->valuestring;
  int w;
  if (file[0] == '/') {
    w = snprintf(so, cap, "%s", file);
  } else {
    const char *slash = strrchr(path, '/');
    int dlen = slash ? (int)(slash - path) : 1;
    w = snprintf(so, cap, "%.*s/%s", dlen, slash ? path : ".", file);
  }
  if (w < 0 || (size_t)w >= cap) {
    rc = face_fail(err, ARGUS_E_LIMIT, "%s: plug-in path too long", path);
    goto done;
  }
  char hex[65];
  if ((rc = argus_face_file_sha256(so, hex))) {
    face_fail(err, rc, "plug-in %s of card %s: %s", so, path,
              rc == ARGUS_E_NOT_FOUND ? "not found" : "cannot read it");
    goto done;
  }
  if (!sh) {
    argus_log(ARGUS_LOG_WARN, FACE_MOD,
              "card %s pins no sha256 for plug-in %s (sha256 %s)", path, so,
              hex);
  } else if (strcmp(hex, sh->valuestring) != 0) {
    if (!allow_unverified) {
      rc = face_fail(err, ARGUS_E_CHECKSUM,
                     "plug-in %s has sha256 %s, its card %s pins %s; refusing "
                     "to load it",
                     so, hex, path, sh->valuestring);
      goto done;
    }
    argus_log(ARGUS_LOG_WARN, FACE_MOD,
              "plug-in %s has sha256 %s, not the %s of its card; loaded as "
              "asked",
              so, hex, sh->valuestring);
  }
done:
  cJSON_Delete(root);
  if (rc)
    so[0] = '\0';
  return rc;
}

/* A card detector whose 5 points feed alignment: the 68-point landmarker
 * is then loaded only when asked for by name. */
static int detector_has_points(const argus_face_card *c) {
  return c->kind == ARGUS_FACE_MODEL_DETECTOR &&
         c->decoder == ARGUS_FACE_DECODER_GRID &&
         c->grid.npoints == ARGUS_FACE_NPOINTS;
}

argus_err argus_face_engine_create(const argus_face_engine_opts *opts,
                                   argus_face_engine **out,
                                   argus_face_error *err) {
  if (err)
    err->msg[0] = '\0';
  if (!out)
    return face_fail(err, ARGUS_E_INVALID_ARG, "no output for the engine");
  *out = NULL;
  argus_face_engine_opts o;
  memset(&o, 0, sizeof o);
  if (opts)
    o = *opts;
  if (o.embed_batch < 0 || o.embed_batch > 256)
    return face_fail(err, ARGUS_E_INVALID_ARG,
                     "embed_batch %d is out of range [0, 256]", o.embed_batch);
  const char *dir = o.models_dir;
  if (!dir || !dir[0])
    dir = getenv("ARGUS_MODELS");
  if (!dir || !dir[0])
    dir = "models";
  /* The detector: opts, else $ARGUS_DETECTOR (a card name: fr_detect is
   * the RFB-320 of before), else the default card. */
  const char *det_name = o.detector ? o.detector : getenv("ARGUS_DETECTOR");
  if (!det_name || !det_name[0])
    det_name = ARGUS_FACE_DEFAULT_DETECTOR;
  /* The embedder: opts, else $ARGUS_EMBEDDER, else fr_feature. */
  const char *emb_name = o.embedder ? o.embedder : getenv("ARGUS_EMBEDDER");
  if (!emb_name || !emb_name[0])
    emb_name = "fr_feature";
  const char *names[K_N] = {det_name,
                            o.landmarker ? o.landmarker : "fr_landmark",
                            emb_name};
  const argus_face_model_kind kinds[K_N] = {ARGUS_FACE_MODEL_DETECTOR,
                                            ARGUS_FACE_MODEL_LANDMARKER,
                                            ARGUS_FACE_MODEL_EMBEDDER};
  argus_face_engine *e = calloc(1, sizeof *e);
  if (!e)
    return face_fail(err, ARGUS_E_NOMEM, "out of memory");
  argus_err rc;
  const char *plug = o.plugin ? o.plugin : getenv("ARGUS_PLUGIN");
  if (plug && !plug[0])
    plug = NULL;
  /* Which kinds come from the plug-in: all it provides for --plugin; only
   * the named kinds for a plug-in card. */
  int from_plugin[K_N] = {0};
  char so[K_N][ARGUS_FACE_CARD_PATH * 2];
  for (int k = 0; k < K_N; k++) {
    if (k == K_LMK)
      continue;
    if ((rc = card_plugin(dir, names[k], o.allow_unverified, so[k],
                          sizeof so[k], err)))
      goto fail;
    if (!so[k][0])
      continue;
    if (plug && strcmp(plug, so[k]) != 0) {
      rc = face_fail(err, ARGUS_E_INVALID_ARG,
                     "card %s names plug-in %s, but %s is loaded already "
                     "(one plug-in per engine)",
                     names[k], so[k], plug);
      goto fail;
    }
    plug = so[k];
    from_plugin[k] = 1;
  }
  if (plug && (rc = argus_plugin_open(plug, dir, &e->plugin, err)))
    goto fail;
  const int by_card = from_plugin[K_DET] || from_plugin[K_EMB];
  for (int k = 0; k < K_N; k++) {
    if (from_plugin[k] && !argus_plugin_provides(e->plugin, kinds[k])) {
      rc = face_fail(err, ARGUS_E_UNSUPPORTED,
                     "card %s names plug-in %s, which has no %s", names[k],
                     plug, k == K_DET ? "detector" : "embedder");
      goto fail;
    }
    if (!by_card && k != K_LMK)
      from_plugin[k] = argus_plugin_provides(e->plugin, kinds[k]);
  }
  /* The plug-in's algorithms (made first: the defaults below skip a part
   * that is already made; a plug-in detector that gives points needs no
   * landmarker either). */
  if (from_plugin[K_DET] &&
      (rc = argus_plugin_detector_create(e->plugin, &e->det,
                                         &e->cards[K_DET], err)))
    goto fail;
  for (int k = 0; k < K_N; k++)
    if (!from_plugin[k] &&
        !(k == K_LMK && !o.landmarker &&
          (e->det.detect_pass_points ||
           (!e->det.ops && detector_has_points(&e->cards[K_DET])))) &&
        (rc = load_one(dir, names[k], kinds[k], o.allow_unverified,
                       &e->cards[k], &e->models[k], err)))
      goto fail;
  if (from_plugin[K_EMB] &&
      (rc = argus_plugin_embedder_create(e->plugin, o.embed_batch, &e->emb,
                                         &e->cards[K_EMB], err)))
    goto fail;
  if ((!e->det.ops &&
       (rc = argus_face_detector_create(&e->cards[K_DET], e->models[K_DET],
                                        &e->det, err))) ||
      (e->models[K_LMK] &&
       (rc = argus_face_landmarker_create(&e->cards[K_LMK], e->models[K_LMK],
                                          &e->lmk, err))) ||
      (!e->emb.ops &&
       (rc = argus_face_embedder_create(&e->cards[K_EMB], e->models[K_EMB],
                                        o.embed_batch, &e->emb, err))))
    goto fail;
  if ((rc = argus_face_quality_create(o.quality, &e->qual))) {
    face_fail(err, rc, "bad quality parameters");
    goto fail;
  }
  e->pool = o.pool;
  e->nworkers = argus_threadpool_size(o.pool);
  e->workers = calloc((size_t)e->nworkers, sizeof *e->workers);
  e->merge = malloc((size_t)e->nworkers * KEPT_CAP * sizeof *e->merge);
  if (!e->workers || !e->merge) {
    rc = face_fail(err, ARGUS_E_NOMEM, "out of memory");
    goto fail;
  }
  for (int i = 0; i < e->nworkers; i++)
    if ((rc = argus_face_worker_create(e, &e->workers[i]))) {
      face_fail(err, rc, "creating worker %d: %s", i, argus_strerror(rc));
      goto fail;
    }
  *out = e;
  return ARGUS_OK;
fail:
  argus_face_engine_free(e);
  return rc;
}

void argus_face_engine_free(argus_face_engine *e) {
  if (!e)
    return;
  if (e->workers)
    for (int i = 0; i < e->nworkers; i++)
      argus_face_worker_free(e->workers[i]);
  free(e->workers);
  free(e->merge);
  argus_face_quality_destroy(&e->qual);
  argus_face_embedder_destroy(&e->emb);
  argus_face_landmarker_destroy(&e->lmk);
  argus_face_detector_destroy(&e->det);
  for (int k = 0; k < K_N; k++)
    argus_nn_model_free(e->models[k]);
  argus_plugin_close(e->plugin); /* after everything made from it */
  free(e);
}

const argus_face_card *argus_face_engine_card(const argus_face_engine *e,
                                              argus_face_model_kind kind) {
  if (!e)
    return NULL;
  switch (kind) {
  case ARGUS_FACE_MODEL_DETECTOR: return &e->cards[K_DET];
  case ARGUS_FACE_MODEL_LANDMARKER:
    return e->models[K_LMK] ? &e->cards[K_LMK] : NULL; /* none loaded */
  case ARGUS_FACE_MODEL_EMBEDDER: return &e->cards[K_EMB];
  default: return NULL;
  }
}

const argus_face_detector *argus_face_engine_detector(
    const argus_face_engine *e) {
  return e ? &e->det : NULL;
}

const argus_face_embedder *argus_face_engine_embedder(
    const argus_face_engine *e) {
  return e ? &e->emb : NULL;
}

int argus_face_engine_dim(const argus_face_engine *e) {
  return e ? e->emb.dim : 0;
}
