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
  if (!g || !e)
    return gallery_fail(err, ARGUS_E_INVALID_ARG, "no gallery or engine");
  if (batch == 0)
    batch = 64;
  if (batch < 1 || batch > 4096)
    return gallery_fail(err, ARGUS_E_INVALID_ARG, "batch %d outside 1..4096",
                        batch);
  const argus_gallery_config *cfg = argus_gallery_get_config(g);
  const argus_face_embedder *em = argus_face_engine_embedder(e);
  if (strcmp(em->model_id, cfg->model_id) != 0 || em->dim != cfg->dim)
    return gallery_fail(err, ARGUS_E_INVALID_ARG,
                        "the engine embeds with %s (dim %d), the gallery "
                        "holds %s (dim %d)",
                        em->model_id, em->dim, cfg->model_id, cfg->dim);
  argus_store *s = gallery_store(g);
  const argus_store_model *model = argus_gallery_model(g);
  argus_store_error se = {{0}};
  argus_err rc = ARGUS_OK;
  const size_t dim = (size_t)cfg->dim;
  float *vecs = malloc((size_t)batch * dim * sizeof *vecs);
  argus_store_template_in *items = malloc((size_t)batch * sizeof *items);
  if (!vecs || !items) {
    rc = gallery_fail(err, ARGUS_E_NOMEM, "out of memory");
    goto out;
  }

  /* The work: photos minus templates of this model (a photo has at most
   * one per model). */
  {
    argus_store_person *pl = NULL;
    size_t np = 0;
    int64_t photos = 0, have = 0;
    gallery_lock(g);
    rc = argus_store_person_list(s, NULL, NULL, &pl, &np, &se);
    if (!rc)
      rc = argus_store_template_count(s, model, &have, &se);
    gallery_unlock(g);
    for (size_t i = 0; i < np; i++)
      photos += pl[i].photos;
    argus_store_free(pl);
    if (rc) {
      rc = gallery_fail(err, rc, "counting photos: %s",
                        se.msg[0] ? se.msg : argus_strerror(rc));
      goto out;
    }
    report->total = photos > have ? photos - have : 0;
  }
  if (progress && progress(user, 0, report->total))
    report->stopped = 1;

  argus_store_id after = 0;
  while (!report->stopped) {
    argus_store_crop *crops = NULL;
    int n = 0;
    gallery_lock(g);
    rc = argus_store_reindex_fetch(s, model, 1, after, batch, &crops, &n, &se);
    gallery_unlock(g);
    if (rc) {
      rc = gallery_fail(err, rc, "reading crops: %s",
                        se.msg[0] ? se.msg : argus_strerror(rc));
      goto out;
    }
    if (n == 0)
      break;
    int m = 0;
    for (int i = 0; i < n; i++) {
      const argus_store_crop *c = &crops[i];
      if (c->photo_id > after)
        after = c->photo_id;
      if (c->status != ARGUS_OK) {
        note_failure(report, c->photo_id,
                     c->status == ARGUS_E_NOT_FOUND ? "crop file missing"
                     : c->status == ARGUS_E_CHECKSUM
                         ? "crop file damaged (checksum)"
                         : argus_strerror(c->status));
        continue;
      }
      argus_image img;
      argus_image_error ie = {{0}};
      argus_err r =
          argus_image_decode(c->data, c->size, ARGUS_PIX_RGB8, &img, &ie);
      if (r) {
        note_failure(report, c->photo_id, ie.msg[0] ? ie.msg : "undecodable");
        continue;
      }
      argus_face_error fe = {{0}};
      float *v = vecs + (size_t)m * dim;
      r = embed_crop(e, w, &img, v, &fe);
      argus_image_free(&img);
      if (r == ARGUS_E_NOMEM) {
        argus_store_crops_free(crops, n);
        rc = gallery_fail(err, r, "out of memory");
        goto out;
      }
      if (r) {
        note_failure(report, c->photo_id,
                     fe.msg[0] ? fe.msg : argus_strerror(r));
        continue;
      }
      items[m].photo_id = c->photo_id;
      items[m].vector = v;
      m++;
    }
    argus_store_crops_free(crops, n);
    if (m > 0) {
      gallery_lock(g);
      rc = argus_store_template_replace(s, model, items, m, &se);
      gallery_unlock(g);
      if (rc == ARGUS_E_NOT_FOUND) {
        /* A photo was removed while we embedded it: store the others. */
        int k = 0;
        for (int i = 0; i < m; i++) {
          gallery_lock(g);
          argus_err r1 =
              argus_store_template_replace(s, model, &items[i], 1, &se);
          gallery_unlock(g);
          if (r1 == ARGUS_OK)
            k++;
          else if (r1 != ARGUS_E_NOT_FOUND) {
            rc = r1;
            break;
          }
        }
        if (rc == ARGUS_E_NOT_FOUND)
          rc = ARGUS_OK;
        m = k;
      }
      if (rc) {
        rc = gallery_fail(err, rc, "storing templates: %s",
                          se.msg[0] ? se.msg : argus_strerror(rc));
        goto out;
      }
    }
    report->embedded += m;
    report->done += n;
    if (progress && progress(user, report->done, report->total))
      report->stopped = 1;
  }
  gallery_lock(g);
  rc = gallery_reload_locked(g, err);
  gallery_unlock(g);
out:
  free(vecs);
  free(items);
  return rc;
}
