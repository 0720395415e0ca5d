/* Reindex: templates of the gallery's model made from the stored crops of
 * photos that have none, in resumable batches. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gallery_internal.h"

#define REINDEX_MAX_FACES 16

/* Embeds the face of one stored crop into vec. Returns OK, NOT_FOUND (no
 * face: `why` says so) or another error of the engine. */
static argus_err embed_crop(argus_face_engine *e, argus_face_worker *w,
                            const argus_image *img, float *vec,
                            argus_face_error *err) {
  const argus_face_embedder *em = argus_face_engine_embedder(e);
  int aligned =
      img->width == em->align_width && img->height == em->align_height;
  if (!aligned) {
    argus_face faces[REINDEX_MAX_FACES];
    float *embs =
        malloc((size_t)REINDEX_MAX_FACES * (size_t)em->dim * sizeof *embs);
    if (!embs)
      return ARGUS_E_NOMEM;
    int n = 0;
    const unsigned what = ARGUS_FACE_DO_LANDMARKS | ARGUS_FACE_DO_EMBED;
    argus_err rc =
        w ? argus_face_worker_analyze(w, img, NULL, what, faces,
                                      REINDEX_MAX_FACES, &n, embs, err)
          : argus_face_engine_analyze(e, img, NULL, what, faces,
                                      REINDEX_MAX_FACES, &n, embs, err);
    int best = -1;
    float area = 0;
    for (int i = 0; rc == ARGUS_OK && i < n; i++) {
      float a = (faces[i].box[2] - faces[i].box[0]) *
                (faces[i].box[3] - faces[i].box[1]);
      if (faces[i].npoints == ARGUS_FACE_NPOINTS && a > area) {
        area = a;
        best = i;
      }
    }
    if (best >= 0)
      memcpy(vec, embs + (size_t)best * (size_t)em->dim,
             (size_t)em->dim * sizeof(float));
    free(embs);
    if (rc)
      return rc;
    if (best >= 0)
      return ARGUS_OK;
    /* An aligned crop of another alignment size (made with an earlier
     * model): small and square. */
    aligned = img->width == img->height && img->width <= 2 * em->align_width;
    if (!aligned) {
      snprintf(err->msg, sizeof err->msg, "no face found in the stored crop");
      return ARGUS_E_NOT_FOUND;
    }
  }
  return w ? argus_face_worker_embed_aligned(w, img, 1, vec, err)
           : argus_face_engine_embed_aligned(e, img, 1, vec, err);
}

static void note_failure(argus_gallery_reindex_report *r, argus_store_id photo,
                         const char *why) {
  r->failed++;
  argus_log(ARGUS_LOG_WARN, GALLERY_MOD, "reindex: photo %lld: %s",
            (long long)photo, why);
  if (!r->first_failure[0])
    snprintf(r->first_failure, sizeof r->first_failure, "photo %lld: %s",
             (long long)photo, why);
}

/* What one reindex run works with; the buffers hold one batch. */
typedef struct reindex_ctx {
  argus_gallery *g;
  argus_face_engine *e;
  argus_face_worker *w; /* or NULL: the engine */
  argus_store *s;
  const argus_store_model *model;
  argus_store_error se; /* the store's last error, for messages */
  size_t dim;
  int batch;
  float *vecs;                    /* batch x dim */
  argus_store_template_in *items; /* batch */
  argus_gallery_reindex_report *report;
} reindex_ctx;

/* Checks the arguments of argus_gallery_reindex; sets *batch's default. */
static argus_err reindex_check(argus_gallery *g, argus_face_engine *e,
                               int *batch, argus_gallery_error *err) {
  if (!g || !e)
    return gallery_fail(err, ARGUS_E_INVALID_ARG, "no gallery or engine");
  if (*batch == 0)
    *batch = 64;
  if (*batch < 1 || *batch > 4096)
    return gallery_fail(err, ARGUS_E_INVALID_ARG, "batch %d outside 1..4096",
                        *batch);
  const argus_gallery_config *cfg = argus_gallery_get_config(g);
  const argus_face_embedder *em = argus_face_engine_embedder(e);
  if (strcmp(em->model_id, cfg->model_id) != 0 || em->dim != cfg->dim)
    return gallery_fail(err, ARGUS_E_INVALID_ARG,
                        "the engine embeds with %s (dim %d), the gallery "
                        "holds %s (dim %d)",
                        em->model_id, em->dim, cfg->model_id, cfg->dim);
  return ARGUS_OK;
}

/* The work: photos minus templates of this model (a photo has at most one
 * per model), into report->total. */
static argus_err count_work(reindex_ctx *c, argus_gallery_error *err) {
  argus_store_person *pl = NULL;
  size_t np = 0;
  int64_t photos = 0, have = 0;
  gallery_lock(c->g);
  argus_err rc = argus_store_person_list(c->s, NULL, NULL, &pl, &np, &c->se);
  if (!rc)
    rc = argus_store_template_count(c->s, c->model, &have, &c->se);
  gallery_unlock(c->g);
  for (size_t i = 0; i < np; i++)
    photos += pl[i].photos;
  argus_store_free(pl);
  if (rc)
    return gallery_fail(err, rc, "counting photos: %s",
                        c->se.msg[0] ? c->se.msg : argus_strerror(rc));
  c->report->total = photos > have ? photos - have : 0;
  return ARGUS_OK;
}

/* Embeds the crops that can be read and hold a face into c->vecs and
 * c->items (*m of them); the others are counted as failures. Only running
 * out of memory stops the batch. */
static argus_err embed_crops(reindex_ctx *c, const argus_store_crop *crops,
                             int n, argus_store_id *after, int *m,
                             argus_gallery_error *err) {
  *m = 0;
  for (int i = 0; i < n; i++) {
    const argus_store_crop *cr = &crops[i];
    if (cr->photo_id > *after)
      *after = cr->photo_id;
    if (cr->status != ARGUS_OK) {
      note_failure(c->report, cr->photo_id,
                   cr->status == ARGUS_E_NOT_FOUND ? "crop file missing"
                   : cr->status == ARGUS_E_CHECKSUM
                       ? "crop file damaged (checksum)"
                       : argus_strerror(cr->status));
      continue;
    }
    argus_image img;
    argus_image_error ie = {{0}};
    argus_err r =
        argus_image_decode(cr->data, cr->size, ARGUS_PIX_RGB8, &img, &ie);
    if (r) {
      note_failure(c->report, cr->photo_id, ie.msg[0] ? ie.msg : "undecodable");
      continue;
    }
    argus_face_error fe = {{0}};
    float *v = c->vecs + (size_t)*m * c->dim;
    r = embed_crop(c->e, c->w, &img, v, &fe);
    argus_image_free(&img);
    if (r == ARGUS_E_NOMEM)
      return gallery_fail(err, r, "out of memory");
    if (r) {
      note_failure(c->report, cr->photo_id,
                   fe.msg[0] ? fe.msg : argus_strerror(r));
      continue;
    }
    c->items[*m].photo_id = cr->photo_id;
    c->items[*m].vector = v;
    (*m)++;
  }
  return ARGUS_OK;
}

/* Stores the m templates of c->items in one transaction. If a photo was
 * removed while it was embedded, stores the others one by one; *stored says
 * how many were written. */
static argus_err store_templates(reindex_ctx *c, int m, int *stored,
                                 argus_gallery_error *err) {
  *stored = m;
  if (m == 0)
    return ARGUS_OK;
  gallery_lock(c->g);
  argus_err rc =
      argus_store_template_replace(c->s, c->model, c->items, m, &c->se);
  gallery_unlock(c->g);
  if (rc == ARGUS_E_NOT_FOUND) {
    int k = 0;
    for (int i = 0; i < m; i++) {
      gallery_lock(c->g);
      argus_err r1 =
          argus_store_template_replace(c->s, c->model, &c->items[i], 1, &c->se);
      gallery_unlock(c->g);
      if (r1 == ARGUS_OK)
        k++;
      else if (r1 != ARGUS_E_NOT_FOUND) {
        rc = r1;
        break;
      }
    }
    if (rc == ARGUS_E_NOT_FOUND)
      rc = ARGUS_OK;
    *stored = k;
  }
  if (rc)
    return gallery_fail(err, rc, "storing templates: %s",
                        c->se.msg[0] ? c->se.msg : argus_strerror(rc));
  return ARGUS_OK;
}

/* One batch: the next crops after photo *after, embedded and stored. *n is
 * the number of crops read (0: the work is done). */
static argus_err reindex_batch(reindex_ctx *c, argus_store_id *after, int *n,
                               argus_gallery_error *err) {
  argus_store_crop *crops = NULL;
  *n = 0;
  gallery_lock(c->g);
  argus_err rc = argus_store_reindex_fetch(c->s, c->model, 1, *after, c->batch,
                                           &crops, n, &c->se);
  gallery_unlock(c->g);
  if (rc)
    return gallery_fail(err, rc, "reading crops: %s",
                        c->se.msg[0] ? c->se.msg : argus_strerror(rc));
  if (*n == 0)
    return ARGUS_OK;
  int m = 0;
  rc = embed_crops(c, crops, *n, after, &m, err);
  argus_store_crops_free(crops, *n);
  if (rc)
    return rc;
  if ((rc = store_templates(c, m, &m, err)))
    return rc;
  c->report->embedded += m;
  c->report->done += *n;
  return ARGUS_OK;
}

argus_err argus_gallery_reindex(argus_gallery *g, argus_face_engine *e,
                                argus_face_worker *w, int batch,
                                argus_gallery_progress_fn progress, void *user,
                                argus_gallery_reindex_report *report,
                                argus_gallery_error *err) {
  if (err)
    err->msg[0] = '\0';
  argus_gallery_reindex_report dummy;
  if (!report)
    report = &dummy;
  memset(report, 0, sizeof *report);
  argus_err rc = reindex_check(g, e, &batch, err);
  if (rc)
    return rc;
  reindex_ctx c;
  memset(&c, 0, sizeof c);
  c.g = g;
  c.e = e;
  c.w = w;
  c.s = gallery_store(g);
  c.model = argus_gallery_model(g);
  c.dim = (size_t)argus_gallery_get_config(g)->dim;
  c.batch = batch;
  c.report = report;
  c.vecs = malloc((size_t)batch * c.dim * sizeof *c.vecs);
  c.items = malloc((size_t)batch * sizeof *c.items);
  if (!c.vecs || !c.items) {
    rc = gallery_fail(err, ARGUS_E_NOMEM, "out of memory");
    goto out;
  }
  if ((rc = count_work(&c, err)))
    goto out;
  if (progress && progress(user, 0, report->total))
    report->stopped = 1;
  argus_store_id after = 0;
  while (!report->stopped) {
    int n = 0;
    if ((rc = reindex_batch(&c, &after, &n, err)))
      goto out;
    if (n == 0)
      break;
    if (progress && progress(user, report->done, report->total))
      report->stopped = 1;
  }
  gallery_lock(g);
  rc = gallery_reload_locked(g, err);
  gallery_unlock(g);
out:
  free(c.vecs);
  free(c.items);
  return rc;
}
