/* Face quality: size, sharpness, pose from landmarks and detector score,
 * combined into one value in [0, 1]. The method and its limits are in
 * docs/face.md; the constants below are explained there. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "face_internal.h"

#define RAD2DEG 57.29577951308232f

/* Frontal-face ratios of the 112x112 alignment template of MODELS.md: the
 * nose sits at 0.495 of the way from the eye line to the mouth line, and
 * the eye-to-mouth height is 1.156 inter-ocular distances. */
#define NOSE_T0 0.495f
/* Depth of the nose tip in front of the eyes and mouth, in inter-ocular
 * distances (anthropometric average: about 32 mm for 63 mm). */
#define NOSE_DEPTH 0.5f
#define EYE_MOUTH 1.156f

const char *argus_face_quality_flag_name(unsigned flag) {
  switch (flag) {
  case ARGUS_FACE_Q_TOO_SMALL: return "too small";
  case ARGUS_FACE_Q_BLURRED: return "blurred";
  case ARGUS_FACE_Q_PROFILE: return "profile";
  case ARGUS_FACE_Q_LOW_SCORE: return "low score";
  case ARGUS_FACE_Q_NO_POINTS: return "no landmarks";
  case ARGUS_FACE_Q_ROLLED: return "rolled";
  default: return NULL;
  }
}

void argus_face_quality_params_default(argus_face_quality_params *p) {
  if (!p)
    return;
  p->ipd_min = 12.0f;
  p->ipd_good = 32.0f;
  p->sharp_k = 0.04f;
  /* 0.4: a portrait blurred by scaling it down 20x and back up measures
   * 0.38 with YuNet's points (which spread on a blurred face, so the crop
   * takes in more of the image) and 0.29 with the 68-point landmarker's;
   * of 626 real stills (../shared/data/stills) no face with an inter-ocular
   * distance of 24 px or more lies between 0.3 and 0.5. */
  p->sharp_min = 0.4f;
  p->yaw_max = 50.0f;
  p->pitch_max = 40.0f;
  p->roll_max = 60.0f;
  p->score_min = 0.6f;
  p->score_good = 0.95f;
}

static float clamp01(float v) { return v < 0 ? 0 : v > 1 ? 1 : v; }
static int finite2(const float p[2]) { return isfinite(p[0]) && isfinite(p[1]); }

argus_err argus_face_pose(const argus_face *f, float *yaw, float *pitch,
                          float *roll) {
  if (!f || !yaw || !pitch || !roll || f->npoints != ARGUS_FACE_NPOINTS)
    return ARGUS_E_INVALID_ARG;
  for (int i = 0; i < ARGUS_FACE_NPOINTS; i++)
    if (!finite2(f->points[i]))
      return ARGUS_E_INVALID_ARG;
  const float *l = f->points[ARGUS_FACE_LEFT_EYE];
  const float *r = f->points[ARGUS_FACE_RIGHT_EYE];
  float ux = r[0] - l[0], uy = r[1] - l[1];
  float ipd = sqrtf(ux * ux + uy * uy);
  if (!(ipd > 1e-3f))
    return ARGUS_E_INVALID_ARG;
  /* Roll: angle of the eye line (image y points down: positive is a
   * clockwise tilt), checked over the full circle against the face's
   * vertical (eye midpoint to mouth midpoint), which points down the image
   * on an upright face. A landmark model that names the eyes by their side
   * of the image gives an upside-down face a level eye line; its vertical
   * then points up, more than 90 degrees off, and gives the roll. Then
   * every point is expressed in the face's frame: x along the eye line, y
   * across it, origin at the eye midpoint. */
  float ang = atan2f(uy, ux);
  {
    const float *ml0 = f->points[ARGUS_FACE_MOUTH_LEFT];
    const float *mr0 = f->points[ARGUS_FACE_MOUTH_RIGHT];
    float dx = 0.5f * (ml0[0] + mr0[0] - l[0] - r[0]);
    float dy = 0.5f * (ml0[1] + mr0[1] - l[1] - r[1]);
    if (dx * dx + dy * dy > 1e-6f) {
      float vert = atan2f(-dx, dy);
      float diff = remainderf(vert - ang, 2 * 3.14159265f);
      if (fabsf(diff) > 0.5f * 3.14159265f)
        ang = vert;
    }
  }
  *roll = ang * RAD2DEG;
  float cs = ux / ipd, sn = uy / ipd;
  float ex = 0.5f * (l[0] + r[0]), ey = 0.5f * (l[1] + r[1]);
#define FX(p) (((p)[0] - ex) * cs + ((p)[1] - ey) * sn)
#define FY(p) (-((p)[0] - ex) * sn + ((p)[1] - ey) * cs)
  const float *n = f->points[ARGUS_FACE_NOSE];
  const float *ml = f->points[ARGUS_FACE_MOUTH_LEFT];
  const float *mr = f->points[ARGUS_FACE_MOUTH_RIGHT];
  float nx = FX(n), ny = FY(n);
  float mx = 0.5f * (FX(ml) + FX(mr)), my = 0.5f * (FY(ml) + FY(mr));
  /* Pitch: a nose tip NOSE_DEPTH in front of the eye/mouth plane moves
   * along the face's vertical axis by depth * sin(pitch), the eye-mouth
   * height shrinks by cos(pitch): t = t0 - (depth / height) tan(pitch). */
  float h = my; /* eye line to mouth line, in the face frame */
  float t = h > 1e-3f ? ny / h : NOSE_T0;
  float ratio = NOSE_DEPTH / EYE_MOUTH;
  *pitch = atanf((NOSE_T0 - t) / ratio) * RAD2DEG;
  /* Yaw: the nose tip leaves the midline (eye midpoint to mouth midpoint,
   * taken at the nose's height) by depth * sin(yaw) while the apparent
   * inter-ocular distance shrinks by cos(yaw). */
  float mid = h > 1e-3f ? mx * (ny / h) : 0;
  float yaw5 = atanf((nx - mid) / (NOSE_DEPTH * ipd)) * RAD2DEG;
  *yaw = yaw5;
  if (f->ndense >= 68) {
    /* With the 68-point contour: the nose tip (30) between the cheek
     * contour points at eye height (1 and 15), a head modelled as a
     * cylinder with the nose on its surface: (L - R) / (L + R) = sin(yaw). */
    float cl = FX(f->dense[1]), cr = FX(f->dense[15]), cn = FX(f->dense[30]);
    float L = cn - cl, R = cr - cn;
    if (L + R > 1e-3f && finite2(f->dense[1]) && finite2(f->dense[15]) &&
        finite2(f->dense[30])) {
      float s = (L - R) / (L + R);
      float yawc = asinf(s < -1 ? -1 : s > 1 ? 1 : s) * RAD2DEG;
      *yaw = 0.5f * (yaw5 + yawc);
    }
  }
#undef FX
#undef FY
  return ARGUS_OK;
}

static float grey_at(const argus_image *im, int x, int y) {
  const uint8_t *p = im->data[0] + (size_t)y * (size_t)im->stride[0];
  switch (im->format) {
  case ARGUS_PIX_GRAY8: return p[x];
  case ARGUS_PIX_RGB8:
    p += 3 * x;
    return 0.299f * p[0] + 0.587f * p[1] + 0.114f * p[2];
  case ARGUS_PIX_BGR8:
    p += 3 * x;
    return 0.114f * p[0] + 0.587f * p[1] + 0.299f * p[2];
  default: return 0;
  }
}

argus_err argus_face_blur_measure(const argus_image *img, int x, int y, int w,
                                  int h, float *measure) {
  if (!img || !measure || !img->data[0] ||
      (img->format != ARGUS_PIX_GRAY8 && img->format != ARGUS_PIX_RGB8 &&
       img->format != ARGUS_PIX_BGR8))
    return ARGUS_E_INVALID_ARG;
  int x1 = x < 0 ? 0 : x, y1 = y < 0 ? 0 : y;
  int x2 = x + w > img->width ? img->width : x + w;
  int y2 = y + h > img->height ? img->height : y + h;
  if (x2 - x1 < 3 || y2 - y1 < 3)
    return ARGUS_E_INVALID_ARG;
  /* Laplacian on the interior of the region; grey statistics on the same
   * pixels. Single pass with running sums in double. */
  double sl = 0, sll = 0, sg = 0, sgg = 0;
  long cnt = 0;
  for (int j = y1 + 1; j < y2 - 1; j++) {
    for (int i = x1 + 1; i < x2 - 1; i++) {
      float g = grey_at(img, i, j);
      float lap = grey_at(img, i - 1, j) + grey_at(img, i + 1, j) +
                  grey_at(img, i, j - 1) + grey_at(img, i, j + 1) - 4 * g;
      sl += lap;
      sll += (double)lap * lap;
      sg += g;
      sgg += (double)g * g;
      cnt++;
    }
  }
  double vl = sll / cnt - (sl / cnt) * (sl / cnt);
  double vg = sgg / cnt - (sg / cnt) * (sg / cnt);
  /* A flat region has no detail at all: as blurred as it gets. */
  *measure = vg > 1.0 ? (float)(vl / vg) : 0.0f;
  return ARGUS_OK;
}

typedef struct qual_ctx {
  argus_face_quality_params p;
} qual_ctx;

static argus_err qual_assess(void *ctx, const argus_image *img,
                             const argus_face *f, const argus_image *aligned,
                             argus_face_quality *q) {
  const argus_face_quality_params *p = &((qual_ctx *)ctx)->p;
  (void)img;
  if (!f || !q)
    return ARGUS_E_INVALID_ARG;
  memset(q, 0, sizeof *q);
  q->score = f->score;
  q->box_width = f->box[2] - f->box[0];
  q->q_score = clamp01((f->score - p->score_min) /
                       fmaxf(p->score_good - p->score_min, 1e-6f));
  if (f->score < p->score_min)
    q->flags |= ARGUS_FACE_Q_LOW_SCORE;
  /* Sharpness on the aligned crop: the central part that holds the eyes,
   * nose and mouth (not the background, nor the black fill where the crop
   * leaves the image). */
  if (aligned && aligned->width >= 8 && aligned->height >= 8) {
    int aw = aligned->width, ah = aligned->height;
    float m;
    if (argus_face_blur_measure(aligned, aw / 4, (int)(0.35f * ah), aw / 2,
                                (int)(0.55f * ah), &m) == ARGUS_OK) {
      q->blur_measure = m;
      q->sharpness = m / (m + p->sharp_k);
      q->q_sharpness = clamp01((q->sharpness - p->sharp_min) /
                               fmaxf(0.5f - p->sharp_min, 1e-6f));
      if (q->sharpness < p->sharp_min)
        q->flags |= ARGUS_FACE_Q_BLURRED;
    }
  } else {
    q->q_sharpness = 1; /* not measured: does not lower the value */
  }
  float yaw, pitch, roll;
  if (argus_face_pose(f, &yaw, &pitch, &roll) != ARGUS_OK) {
    q->flags |= ARGUS_FACE_Q_NO_POINTS;
    q->value = 0;
    return ARGUS_OK;
  }
  q->yaw = yaw;
  q->pitch = pitch;
  q->roll = roll;
  const float *l = f->points[ARGUS_FACE_LEFT_EYE];
  const float *r = f->points[ARGUS_FACE_RIGHT_EYE];
  q->ipd = hypotf(r[0] - l[0], r[1] - l[1]);
  q->q_size = clamp01((q->ipd - p->ipd_min) /
                      fmaxf(p->ipd_good - p->ipd_min, 1e-6f));
  if (q->ipd < p->ipd_min)
    q->flags |= ARGUS_FACE_Q_TOO_SMALL;
  float dev = fmaxf(fabsf(yaw) / fmaxf(p->yaw_max, 1e-6f),
                    fabsf(pitch) / fmaxf(p->pitch_max, 1e-6f));
  q->q_pose = clamp01(1 - dev * dev);
  if (dev > 1)
    q->flags |= ARGUS_FACE_Q_PROFILE;
  if (fabsf(roll) > p->roll_max) {
    q->q_pose = 0;
    q->flags |= ARGUS_FACE_Q_ROLLED;
  }
  q->value = q->q_size * q->q_sharpness * q->q_pose * q->q_score;
  return ARGUS_OK;
}

static void qual_destroy(void *ctx) { free(ctx); }

static const argus_face_quality_ops qual_ops = {"landmark_pose_laplacian",
                                                qual_assess, qual_destroy};

argus_err argus_face_quality_create(const argus_face_quality_params *params,
                                    argus_face_quality_assessor *out) {
  if (!out)
    return ARGUS_E_INVALID_ARG;
  memset(out, 0, sizeof *out);
  qual_ctx *c = calloc(1, sizeof *c);
  if (!c)
    return ARGUS_E_NOMEM;
  if (params)
    c->p = *params;
  else
    argus_face_quality_params_default(&c->p);
  const argus_face_quality_params *p = &c->p;
  if (!(p->ipd_good > p->ipd_min && p->ipd_min >= 0 && p->sharp_k > 0 &&
        p->sharp_min >= 0 && p->sharp_min < 0.5f && p->yaw_max > 0 &&
        p->pitch_max > 0 && p->roll_max > 0 && p->score_good > p->score_min)) {
    free(c);
    return ARGUS_E_INVALID_ARG;
  }
  out->ops = &qual_ops;
  out->ctx = c;
  return ARGUS_OK;
}

void argus_face_quality_destroy(argus_face_quality_assessor *q) {
  if (!q)
    return;
  if (q->ops && q->ops->destroy)
    q->ops->destroy(q->ctx);
  memset(q, 0, sizeof *q);
}
