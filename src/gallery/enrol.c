/* Photos for enrolment: detection, the quality gate with its reasons, the
 * stored face crop and the template. The policy is described in
 * docs/gallery.md. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gallery_internal.h"

/* Faces looked at per photo (the highest detector scores). */
#define PREP_MAX_FACES 64
/* A second face counts as a possible subject (making the photo ambiguous)
 * when the detector is this sure of it ... */
#define OTHER_FACE_SCORE 0.9f
/* ... and at most this fraction of it lies inside the chosen face's box (a
 * box mostly inside another is a duplicate detection of the same face). */
#define OTHER_FACE_INSIDE 0.5f
/* ... and it is not a background face: one whose box is at most this
 * fraction of the chosen face's height (the subject is clearly dominant;
 * the photo is enrolled, saying how many such faces were ignored). */
#define BACKGROUND_FACE_HEIGHT 0.6f
/* Upside down: the face's aligned crop turned by 180 degrees gives a raw
 * embedding norm this many times the crop's (argus_face_worker_upright;
 * upright LFW faces: at most 1.04, median 0.75; turned: median 1.33). */
#define UPSIDE_DOWN_RATIO 1.10f
/* Without landmarks, a face's inter-ocular distance is estimated from its
 * box width (about 0.4 of it for this detector's boxes). */
#define IPD_PER_BOX_WIDTH 0.4f
/* The stored crop: the face box's longer side, this many times, centred on
 * the box (a head-and-shoulders portrait), clipped to the image. */
#define CROP_MARGIN 2.0f

static const char *const reject_names[ARGUS_GALLERY_REJECT_N] = {
    "accepted", "unreadable", "no face",   "several faces", "too small",
    "blurred",  "profile",    "low score", "no landmarks", "rolled",
};

const char *argus_gallery_reject_name(argus_gallery_reject r) {
  return (unsigned)r < ARGUS_GALLERY_REJECT_N ? reject_names[r] : "unknown";
}

void argus_gallery_enrol_opts_default(argus_gallery_enrol_opts *o) {
  if (!o)
    return;
  memset(o, 0, sizeof *o);
  argus_face_detect_opts_default(&o->det);
  o->min_ipd = 24.0f;
  o->gate = 1;
  o->crop_max_side = 400;
  o->jpeg_quality = 92;
}

void argus_gallery_photo_free(argus_gallery_photo *p) {
  if (!p)
    return;
  free(p->vector);
  free(p->crop);
  memset(p, 0, sizeof *p);
}

static argus_err face_failf(argus_face_error *err, argus_err e, const char *fmt,
                            ...) __attribute__((format(printf, 3, 4)));
static argus_err face_failf(argus_face_error *err, argus_err e, const char *fmt,
                            ...) {
  va_list ap;
  va_start(ap, fmt);
  argus_error_detail_setv(err, fmt, ap);
  va_end(ap);
  return e;
}

static void reject(argus_gallery_photo *p, argus_gallery_reject r) {
  p->reasons |= 1u << r;
  if (p->reason == ARGUS_GALLERY_ACCEPTED)
    p->reason = r;
}

static void add_detail(argus_gallery_photo *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void add_detail(argus_gallery_photo *p, const char *fmt, ...) {
  size_t len = strlen(p->detail);
  if (len + 3 >= sizeof p->detail)
    return;
  if (len) {
    memcpy(p->detail + len, "; ", 3);
    len += 2;
  }
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(p->detail + len, sizeof p->detail - len, fmt, ap);
  va_end(ap);
}

static float box_area(const float *b) {
  return fmaxf(b[2] - b[0], 0) * fmaxf(b[3] - b[1], 0);
}

/* Fraction of box a that lies inside box b. */
static float inside(const float *a, const float *b) {
  float w = fminf(a[2], b[2]) - fmaxf(a[0], b[0]);
  float h = fminf(a[3], b[3]) - fmaxf(a[1], b[1]);
  float area = box_area(a);
  return w > 0 && h > 0 && area > 0 ? w * h / area : 0;
}

static float face_ipd(const argus_face *f) {
  if (f->npoints == ARGUS_FACE_NPOINTS && f->has_quality)
    return f->quality.ipd;
  return IPD_PER_BOX_WIDTH * (f->box[2] - f->box[0]);
}

/* Encodes img (or a resized copy when its longer side exceeds max_side) as
 * JPEG. A crop must not come out at exactly the embedder's alignment size:
 * reindexing takes crops of that size as aligned faces. */
static argus_err encode_crop(const argus_image *img, int max_side, int quality,
                             int avoid_w, int avoid_h, argus_gallery_photo *p,
                             argus_face_error *err) {
  int w = img->width, h = img->height;
  int longer = w > h ? w : h;
  if (max_side > 0 && longer > max_side) {
    w = (int)lround((double)w * max_side / longer);
    h = (int)lround((double)h * max_side / longer);
    w = w < 1 ? 1 : w;
    h = h < 1 ? 1 : h;
  }
  if (avoid_w > 0 && w == avoid_w && h == avoid_h)
    w++;
  argus_image small = {0};
  const argus_image *src = img;
  argus_err e;
  if (w != img->width || h != img->height) {
    if ((e = argus_image_alloc(&small, w, h, img->format)) ||
        (e = argus_image_resize(img, &small))) {
      argus_image_free(&small);
      return face_failf(err, e, "resizing the face crop to %dx%d: %s", w, h,
                        argus_strerror(e));
    }
    src = &small;
  }
  e = argus_image_encode_jpeg(src, quality, &p->crop, &p->crop_size);
  argus_image_free(&small);
  if (e)
    return face_failf(err, e, "encoding the face crop: %s", argus_strerror(e));
  if (p->crop_size > ARGUS_STORE_CROP_MAX) {
    free(p->crop);
    p->crop = NULL;
    return face_failf(err, ARGUS_E_LIMIT, "face crop of %zu bytes too large",
                      p->crop_size);
  }
  p->crop_width = w;
  p->crop_height = h;
  return ARGUS_OK;
}

/* Aligned input: the image is the face. */
static argus_err prepare_aligned(argus_face_engine *e, argus_face_worker *w,
                                 const argus_image *img,
                                 const argus_gallery_enrol_opts *o,
                                 argus_gallery_photo *p,
                                 argus_face_error *err) {
  const argus_face_embedder *em = argus_face_engine_embedder(e);
  argus_face_quality_params qp;
  argus_face_quality_params_default(&qp);
  p->nfaces = 1;
  p->face.box[2] = (float)img->width;
  p->face.box[3] = (float)img->height;
  p->face.score = 1;
  /* The sharpness measure of the face module, over the same central part
   * of the crop (eyes, nose, mouth). */
  float m = 0;
  argus_err rc =
      argus_face_blur_measure(img, img->width / 4, img->height * 35 / 100,
                              img->width / 2, img->height * 55 / 100, &m);
  float s = rc == ARGUS_OK ? m / (m + qp.sharp_k) : 1.0f;
  p->face.has_quality = 1;
  p->face.quality.sharpness = s;
  p->face.quality.blur_measure = m;
  p->quality = fminf(fmaxf((s - qp.sharp_min) / (0.5f - qp.sharp_min), 0), 1);
  p->face.quality.value = p->quality;
  if (o->gate && s < qp.sharp_min) {
    reject(p, ARGUS_GALLERY_REJECT_BLURRED);
    add_detail(p, "sharpness %.2f < %.2f", s, qp.sharp_min);
    return ARGUS_OK;
  }
  p->vector = malloc((size_t)em->dim * sizeof(float));
  if (!p->vector)
    return face_failf(err, ARGUS_E_NOMEM, "out of memory");
  rc = w ? argus_face_worker_embed_aligned(w, img, 1, p->vector, err)
         : argus_face_engine_embed_aligned(e, img, 1, p->vector, err);
  if (rc)
    return rc;
  /* Kept at its own size: a crop of the alignment size is re-embedded as
   * is by a reindex. */
  return encode_crop(img, 0, o->jpeg_quality, 0, 0, p, err);
}

argus_err argus_gallery_photo_prepare(argus_face_engine *e,
                                      argus_face_worker *w,
                                      const argus_image *img,
                                      const argus_gallery_enrol_opts *opts,
                                      argus_gallery_photo *p,
                                      argus_face_error *err) {
  if (err)
    err->msg[0] = '\0';
  if (!e || !img || !p)
    return face_failf(err, ARGUS_E_INVALID_ARG, "no engine, image or output");
  memset(p, 0, sizeof *p);
  argus_gallery_enrol_opts o;
  if (opts)
    o = *opts;
  else
    argus_gallery_enrol_opts_default(&o);
  if (o.crop_max_side == 0)
    o.crop_max_side = 400;
  if (o.jpeg_quality == 0)
    o.jpeg_quality = 92;
  if (!(o.min_ipd >= 0 && o.min_ipd < 10000) || o.crop_max_side < 16 ||
      o.crop_max_side > ARGUS_IMAGE_MAX_SIDE || o.jpeg_quality < 1 ||
      o.jpeg_quality > 100)
    return face_failf(err, ARGUS_E_INVALID_ARG,
                      "enrolment options out of range (min_ipd %g, "
                      "crop_max_side %d, jpeg_quality %d)",
                      (double)o.min_ipd, o.crop_max_side, o.jpeg_quality);
  const argus_face_embedder *em = argus_face_engine_embedder(e);
  const int dim = em->dim;
  p->dim = dim;
  snprintf(p->model_id, sizeof p->model_id, "%s", em->model_id);
  argus_err rc;
  if (o.aligned) {
    rc = prepare_aligned(e, w, img, &o, p, err);
    goto done;
  }

  argus_face *faces = malloc(PREP_MAX_FACES * sizeof *faces);
  float *embs = malloc((size_t)PREP_MAX_FACES * (size_t)dim * sizeof *embs);
  if (!faces || !embs) {
    free(faces);
    free(embs);
    return face_failf(err, ARGUS_E_NOMEM, "out of memory");
  }
  const unsigned what =
      ARGUS_FACE_DO_LANDMARKS | ARGUS_FACE_DO_QUALITY | ARGUS_FACE_DO_EMBED;
  int n = 0;
  rc = w ? argus_face_worker_analyze(w, img, &o.det, what, faces,
                                     PREP_MAX_FACES, &n, embs, err)
         : argus_face_engine_analyze(e, img, &o.det, what, faces,
                                     PREP_MAX_FACES, &n, embs, err);
  if (rc)
    goto free_faces;
  p->nfaces = n;
  if (n == 0) {
    reject(p, ARGUS_GALLERY_REJECT_NO_FACE);
    goto free_faces;
  }
  int best = 0;
  for (int i = 1; i < n; i++)
    if (box_area(faces[i].box) > box_area(faces[best].box))
      best = i;
  const argus_face *f = &faces[best];
  p->face = *f;
  int others = 0, background = 0;
  const float fh = f->box[3] - f->box[1];
  for (int i = 0; i < n; i++) {
    if (i == best || !(faces[i].score >= OTHER_FACE_SCORE) ||
        !(face_ipd(&faces[i]) >= o.min_ipd) ||
        !(inside(faces[i].box, f->box) <= OTHER_FACE_INSIDE))
      continue;
    if (faces[i].box[3] - faces[i].box[1] <= BACKGROUND_FACE_HEIGHT * fh)
      background++;
    else
      others++;
  }
  p->background_faces = background;
  if (others > 0 && !o.pick_largest) {
    reject(p, ARGUS_GALLERY_REJECT_SEVERAL_FACES);
    add_detail(p, "%d faces could be the subject", others + 1);
  }
  if (f->npoints != ARGUS_FACE_NPOINTS) {
    reject(p, ARGUS_GALLERY_REJECT_NO_LANDMARKS);
    add_detail(p, "landmarks failed");
  }
  const argus_face_quality *q = &f->quality;
  if (o.gate && f->npoints == ARGUS_FACE_NPOINTS && f->has_quality) {
    if (q->ipd < o.min_ipd || (q->flags & ARGUS_FACE_Q_TOO_SMALL)) {
      reject(p, ARGUS_GALLERY_REJECT_TOO_SMALL);
      add_detail(p, "inter-ocular distance %.0f px < %.0f", q->ipd,
                 (double)o.min_ipd);
    }
    if (q->flags & ARGUS_FACE_Q_BLURRED) {
      reject(p, ARGUS_GALLERY_REJECT_BLURRED);
      add_detail(p, "sharpness %.2f", q->sharpness);
    }
    if (q->flags & ARGUS_FACE_Q_PROFILE) {
      reject(p, ARGUS_GALLERY_REJECT_PROFILE);
      add_detail(p, "yaw %.0f, pitch %.0f degrees", q->yaw, q->pitch);
    }
    if (q->flags & ARGUS_FACE_Q_ROLLED) {
      reject(p, ARGUS_GALLERY_REJECT_ROLLED);
      add_detail(p, "roll %.0f degrees", q->roll);
    } else {
      /* A detector regresses an upside-down face's points as if it were
       * upright, so the roll looks small: ask the embedder which way up
       * the crop looks more like a face. */
      argus_face_worker *tw = NULL;
      argus_face_worker *uw = w;
      if (!uw && argus_face_worker_create(e, &tw) == ARGUS_OK)
        uw = tw;
      float ratio = 0;
      argus_face_error ue = {{0}};
      if (uw && argus_face_worker_upright(uw, img, f, &ratio, &ue) == ARGUS_OK &&
          ratio > UPSIDE_DOWN_RATIO) {
        reject(p, ARGUS_GALLERY_REJECT_ROLLED);
        add_detail(p, "upside down (turned by 180 degrees it looks %.2f times "
                      "more like a face)",
                   (double)ratio);
      }
      argus_face_worker_free(tw);
    }
    if (q->flags & ARGUS_FACE_Q_LOW_SCORE) {
      reject(p, ARGUS_GALLERY_REJECT_LOW_SCORE);
      add_detail(p, "detector score %.2f", f->score);
    }
  }
  p->quality = f->has_quality ? q->value : 0;
  if (p->reason != ARGUS_GALLERY_ACCEPTED)
    goto free_faces;
  if (background > 0 || (others > 0 && o.pick_largest))
    add_detail(p, "enrolled the largest face; %d smaller face%s ignored",
               background + others, background + others == 1 ? "" : "s");

  p->vector = malloc((size_t)dim * sizeof(float));
  if (!p->vector) {
    rc = face_failf(err, ARGUS_E_NOMEM, "out of memory");
    goto free_faces;
  }
  memcpy(p->vector, embs + (size_t)best * (size_t)dim,
         (size_t)dim * sizeof(float));
  {
    const float bw = f->box[2] - f->box[0], bh = f->box[3] - f->box[1];
    const float side = CROP_MARGIN * (bw > bh ? bw : bh);
    const float cx = 0.5f * (f->box[0] + f->box[2]);
    const float cy = 0.5f * (f->box[1] + f->box[3]);
    int x0 = (int)floorf(cx - side / 2), y0 = (int)floorf(cy - side / 2);
    int x1 = (int)ceilf(cx + side / 2), y1 = (int)ceilf(cy + side / 2);
    x0 = x0 < 0 ? 0 : x0;
    y0 = y0 < 0 ? 0 : y0;
    x1 = x1 > img->width ? img->width : x1;
    y1 = y1 > img->height ? img->height : y1;
    argus_image crop = {0};
    rc = argus_image_crop(img, x0, y0, x1 - x0, y1 - y0, &crop);
    if (rc) {
      rc = face_failf(err, rc, "cropping the face: %s", argus_strerror(rc));
      goto free_faces;
    }
    rc = encode_crop(&crop, o.crop_max_side, o.jpeg_quality, em->align_width,
                     em->align_height, p, err);
    argus_image_free(&crop);
  }
free_faces:
  free(faces);
  free(embs);
done:
  if (rc) {
    argus_gallery_photo_free(p);
    return rc;
  }
  if (p->reason != ARGUS_GALLERY_ACCEPTED) {
    free(p->vector);
    free(p->crop);
    p->vector = NULL;
    p->crop = NULL;
    p->crop_size = 0;
  }
  return ARGUS_OK;
}
