/* Model cards: the small JSON file that describes how to feed a model and
 * read its outputs (docs/face.md). Parsed with cJSON; every field is checked
 * for presence, type and range, and a failure names the field. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "face_internal.h"

argus_err face_fail(argus_face_error *err, argus_err code, const char *fmt,
                    ...) {
  va_list ap;
  va_start(ap, fmt);
  argus_error_detail_setv(err, fmt, ap);
  va_end(ap);
  return code;
}

argus_err face_fail_nn(argus_face_error *err, argus_err code, const char *what,
                       const argus_nn_error *nerr) {
  return face_fail(err, code, "%s: %s", what,
                   nerr && nerr->msg[0] ? nerr->msg : argus_strerror(code));
}

/* ---- field readers ------------------------------------------------------ */

typedef struct card_ctx {
  const char *src;
  argus_face_error *err;
} card_ctx;

static argus_err bad(card_ctx *c, argus_err code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static argus_err bad(card_ctx *c, argus_err code, const char *fmt, ...) {
  if (c->err) {
    char m[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m, sizeof m, fmt, ap);
    va_end(ap);
    snprintf(c->err->msg, sizeof c->err->msg, "%s: %s", c->src, m);
  }
  return code;
}

static const cJSON *field(const cJSON *obj, const char *name) {
  return cJSON_GetObjectItemCaseSensitive(obj, name);
}

static argus_err get_string(card_ctx *c, const cJSON *obj, const char *path,
                            const char *name, char *out, size_t size,
                            int required) {
  const cJSON *v = field(obj, name);
  if (!v) {
    if (!required) {
      out[0] = '\0';
      return ARGUS_OK;
    }
    return bad(c, ARGUS_E_CORRUPT, "missing field '%s%s'", path, name);
  }
  if (!cJSON_IsString(v) || !v->valuestring)
    return bad(c, ARGUS_E_CORRUPT, "field '%s%s' must be a string", path,
               name);
  size_t n = strlen(v->valuestring);
  if (n >= size)
    return bad(c, ARGUS_E_CORRUPT,
               "field '%s%s' is too long (%zu characters, at most %zu)", path,
               name, n, size - 1);
  memcpy(out, v->valuestring, n + 1);
  return ARGUS_OK;
}

static argus_err get_number(card_ctx *c, const cJSON *obj, const char *path,
                            const char *name, double lo, double hi,
                            double *out, int required) {
  const cJSON *v = field(obj, name);
  if (!v) {
    if (!required)
      return ARGUS_OK; /* keeps *out */
    return bad(c, ARGUS_E_CORRUPT, "missing field '%s%s'", path, name);
  }
  if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
    return bad(c, ARGUS_E_CORRUPT, "field '%s%s' must be a number", path,
               name);
  if (v->valuedouble < lo || v->valuedouble > hi)
    return bad(c, ARGUS_E_CORRUPT, "field '%s%s' = %g is out of range [%g, %g]",
               path, name, v->valuedouble, lo, hi);
  *out = v->valuedouble;
  return ARGUS_OK;
}

static argus_err get_float(card_ctx *c, const cJSON *obj, const char *path,
                           const char *name, double lo, double hi, float *out,
                           int required) {
  double d = *out;
  argus_err rc = get_number(c, obj, path, name, lo, hi, &d, required);
  if (rc == ARGUS_OK)
    *out = (float)d;
  return rc;
}

static argus_err get_int(card_ctx *c, const cJSON *obj, const char *path,
                         const char *name, int lo, int hi, int *out,
                         int required) {
  double d = *out;
  argus_err rc = get_number(c, obj, path, name, lo, hi, &d, required);
  if (rc)
    return rc;
  if (d != floor(d))
    return bad(c, ARGUS_E_CORRUPT, "field '%s%s' must be a whole number", path,
               name);
  *out = (int)d;
  return ARGUS_OK;
}

static argus_err get_bool(card_ctx *c, const cJSON *obj, const char *path,
                          const char *name, int *out) {
  const cJSON *v = field(obj, name);
  if (!v)
    return ARGUS_OK;
  if (!cJSON_IsBool(v))
    return bad(c, ARGUS_E_CORRUPT, "field '%s%s' must be true or false", path,
               name);
  *out = cJSON_IsTrue(v) ? 1 : 0;
  return ARGUS_OK;
}

static const cJSON *get_object(card_ctx *c, const cJSON *obj, const char *name,
                               argus_err *rc) {
  const cJSON *v = field(obj, name);
  if (!v) {
    *rc = bad(c, ARGUS_E_CORRUPT, "missing object '%s'", name);
    return NULL;
  }
  if (!cJSON_IsObject(v)) {
    *rc = bad(c, ARGUS_E_CORRUPT, "'%s' must be an object", name);
    return NULL;
  }
  *rc = ARGUS_OK;
  return v;
}

/* An array of numbers, n in [nmin, nmax]. */
static argus_err get_numbers(card_ctx *c, const cJSON *v, const char *what,
                             int nmin, int nmax, double *out, int *n) {
  if (!v)
    return bad(c, ARGUS_E_CORRUPT, "missing field '%s'", what);
  if (!cJSON_IsArray(v))
    return bad(c, ARGUS_E_CORRUPT, "'%s' must be an array of numbers", what);
  int k = cJSON_GetArraySize(v);
  if (k < nmin || k > nmax)
    return bad(c, ARGUS_E_CORRUPT, "'%s' has %d entries, expected %d to %d",
               what, k, nmin, nmax);
  int i = 0;
  const cJSON *e;
  cJSON_ArrayForEach(e, v) {
    if (!cJSON_IsNumber(e) || !isfinite(e->valuedouble))
      return bad(c, ARGUS_E_CORRUPT, "'%s'[%d] must be a number", what, i);
    out[i++] = e->valuedouble;
  }
  *n = k;
  return ARGUS_OK;
}

/* ---- sections ----------------------------------------------------------- */

static argus_err parse_input(card_ctx *c, const cJSON *root,
                             argus_face_card *o) {
  argus_err rc;
  const cJSON *in = get_object(c, root, "input", &rc);
  if (!in)
    return rc;
  if ((rc = get_string(c, in, "input.", "name", o->input_name,
                       sizeof o->input_name, 1)))
    return rc;
  double dims[4];
  int n = 0;
  if ((rc = get_numbers(c, field(in, "shape"), "input.shape", 4, 4, dims, &n)))
    return rc;
  o->input_rank = n;
  for (int i = 0; i < n; i++) {
    if (dims[i] < 1 || dims[i] > 65536 || dims[i] != floor(dims[i]))
      return bad(c, ARGUS_E_CORRUPT, "input.shape[%d] = %g is not a dimension",
                 i, dims[i]);
    o->input_shape[i] = (int64_t)dims[i];
  }
  char layout[16], ch[16];
  if ((rc = get_string(c, in, "input.", "layout", layout, sizeof layout, 1)))
    return rc;
  if (strcmp(layout, "NCHW") != 0)
    return bad(c, ARGUS_E_UNSUPPORTED,
               "input.layout '%s' is not supported (only NCHW)", layout);
  if ((rc = get_string(c, in, "input.", "channels", ch, sizeof ch, 1)))
    return rc;
  int nch;
  if (strcmp(ch, "RGB") == 0) {
    o->channels = ARGUS_CH_RGB;
    nch = 3;
  } else if (strcmp(ch, "BGR") == 0) {
    o->channels = ARGUS_CH_BGR;
    nch = 3;
  } else if (strcmp(ch, "GRAY") == 0) {
    o->channels = ARGUS_CH_GRAY;
    nch = 1;
  } else {
    return bad(c, ARGUS_E_UNSUPPORTED,
               "input.channels '%s' is not RGB, BGR or GRAY", ch);
  }
  if (o->input_shape[1] != nch)
    return bad(c, ARGUS_E_CORRUPT,
               "input.shape[1] = %lld does not match channels '%s'",
               (long long)o->input_shape[1], ch);
  if ((rc = get_float(c, in, "input.", "mean", -1e6, 1e6, &o->mean, 1)))
    return rc;
  if ((rc = get_float(c, in, "input.", "scale", -1e6, 1e6, &o->scale, 1)))
    return rc;
  if (o->scale == 0)
    return bad(c, ARGUS_E_CORRUPT, "input.scale must not be 0");
  return ARGUS_OK;
}

static argus_err parse_detector_defaults(card_ctx *c, const cJSON *root,
                                         argus_face_card *o);

/* "decoder": {"kind": "anchor_free_grid", ...} (docs/face.md). */
static argus_err parse_grid(card_ctx *c, const cJSON *d, argus_face_card *o) {
  static const char *const heads[ARGUS_FACE_NHEADS] = {"cls", "obj", "bbox",
                                                       "kps"};
  argus_face_grid_spec *g = &o->grid;
  argus_err rc;
  char score[32], pad[32], box[48];
  if ((rc = get_string(c, d, "decoder.", "score", score, sizeof score, 1)))
    return rc;
  if (strcmp(score, "sqrt_cls_obj") == 0)
    g->score = ARGUS_FACE_SCORE_SQRT_CLS_OBJ;
  else if (strcmp(score, "cls_obj") == 0)
    g->score = ARGUS_FACE_SCORE_CLS_OBJ;
  else if (strcmp(score, "cls") == 0)
    g->score = ARGUS_FACE_SCORE_CLS;
  else
    return bad(c, ARGUS_E_UNSUPPORTED,
               "decoder.score '%s' is not sqrt_cls_obj, cls_obj or cls",
               score);
  if ((rc = get_string(c, d, "decoder.", "box", box, sizeof box, 1)))
    return rc;
  if (strcmp(box, "center_offset_log_size") != 0)
    return bad(c, ARGUS_E_UNSUPPORTED,
               "decoder.box '%s' is not supported (center_offset_log_size)",
               box);
  if ((rc = get_int(c, d, "decoder.", "points", 0, ARGUS_FACE_NPOINTS,
                    &g->npoints, 1)))
    return rc;
  if (g->npoints != 0 && g->npoints != ARGUS_FACE_NPOINTS)
    return bad(c, ARGUS_E_CORRUPT,
               "field 'decoder.points' = %d must be 0 or %d", g->npoints,
               ARGUS_FACE_NPOINTS);
  if ((rc = get_int(c, d, "decoder.", "pad_to", 1, 256, &g->pad_to, 1)) ||
      (rc = get_string(c, d, "decoder.", "pad", pad, sizeof pad, 1)))
    return rc;
  if (strcmp(pad, "right_bottom") != 0)
    return bad(c, ARGUS_E_UNSUPPORTED,
               "decoder.pad '%s' is not supported (right_bottom)", pad);
  double strides[ARGUS_FACE_MAX_LEVELS];
  int ns = 0;
  if ((rc = get_numbers(c, field(d, "strides"), "decoder.strides", 1,
                        ARGUS_FACE_MAX_LEVELS, strides, &ns)))
    return rc;
  g->nstrides = ns;
  for (int i = 0; i < ns; i++) {
    if (strides[i] < 1 || strides[i] > 256 ||
        strides[i] != floor(strides[i]) || g->pad_to % (int)strides[i] != 0)
      return bad(c, ARGUS_E_CORRUPT,
                 "decoder.strides[%d] = %g is not a stride that divides "
                 "decoder.pad_to (%d)",
                 i, strides[i], g->pad_to);
    g->strides[i] = (int)strides[i];
  }
  const cJSON *outs = field(d, "outputs");
  if (!outs || !cJSON_IsArray(outs) || cJSON_GetArraySize(outs) != ns)
    return bad(c, ARGUS_E_CORRUPT,
               "decoder.outputs must be an array of %d objects (one per "
               "stride) naming the outputs cls, obj, bbox, kps",
               ns);
  for (int i = 0; i < ns; i++) {
    const cJSON *e = cJSON_GetArrayItem(outs, i);
    char path[48];
    snprintf(path, sizeof path, "decoder.outputs[%d].", i);
    if (!cJSON_IsObject(e))
      return bad(c, ARGUS_E_CORRUPT, "'decoder.outputs[%d]' must be an object",
                 i);
    for (int h = 0; h < ARGUS_FACE_NHEADS; h++) {
      int need = !(h == ARGUS_FACE_HEAD_OBJ &&
                   g->score == ARGUS_FACE_SCORE_CLS) &&
                 !(h == ARGUS_FACE_HEAD_KPS && g->npoints == 0);
      if ((rc = get_string(c, e, path, heads[h], g->outputs[i][h],
                           sizeof g->outputs[i][h], need)))
        return rc;
      if (!need)
        g->outputs[i][h][0] = '\0';
    }
  }
  if (o->input_shape[2] % g->pad_to != 0 || o->input_shape[3] % g->pad_to != 0)
    return bad(c, ARGUS_E_CORRUPT,
               "input.shape %lldx%lld is not a multiple of decoder.pad_to "
               "(%d)",
               (long long)o->input_shape[3], (long long)o->input_shape[2],
               g->pad_to);
  return ARGUS_OK;
}

static argus_err parse_detector(card_ctx *c, const cJSON *root,
                                argus_face_card *o) {
  argus_err rc;
  const cJSON *d = get_object(c, root, "decoder", &rc);
  if (!d)
    return rc;
  char kind[32];
  if ((rc = get_string(c, d, "decoder.", "kind", kind, sizeof kind, 1)))
    return rc;
  if (strcmp(kind, "anchor_free_grid") == 0) {
    o->decoder = ARGUS_FACE_DECODER_GRID;
    if ((rc = parse_grid(c, d, o)))
      return rc;
    return parse_detector_defaults(c, root, o);
  }
  if (strcmp(kind, "ssd_priors") != 0)
    return bad(c, ARGUS_E_UNSUPPORTED,
               "decoder.kind '%s' is not supported for a detector "
               "(expected ssd_priors or anchor_free_grid)",
               kind);
  o->decoder = ARGUS_FACE_DECODER_SSD_PRIORS;
  if ((rc = get_string(c, d, "decoder.", "scores", o->scores_output,
                       sizeof o->scores_output, 1)) ||
      (rc = get_string(c, d, "decoder.", "deltas", o->deltas_output,
                       sizeof o->deltas_output, 1)))
    return rc;
  double steps[ARGUS_FACE_MAX_LEVELS];
  int nsteps = 0;
  if ((rc = get_numbers(c, field(d, "steps"), "decoder.steps", 1,
                        ARGUS_FACE_MAX_LEVELS, steps, &nsteps)))
    return rc;
  const cJSON *ms = field(d, "min_sizes");
  if (!ms || !cJSON_IsArray(ms) || cJSON_GetArraySize(ms) != nsteps)
    return bad(c, ARGUS_E_CORRUPT,
               "decoder.min_sizes must be an array of %d arrays (one per step)",
               nsteps);
  argus_face_prior_spec *p = &o->priors;
  p->nlevels = nsteps;
  for (int i = 0; i < nsteps; i++) {
    if (steps[i] < 1 || steps[i] > 4096 || steps[i] != floor(steps[i]))
      return bad(c, ARGUS_E_CORRUPT, "decoder.steps[%d] = %g is not a stride",
                 i, steps[i]);
    p->steps[i] = (int)steps[i];
    double sz[ARGUS_FACE_MAX_LEVEL_SIZES];
    int nsz = 0;
    char what[48];
    snprintf(what, sizeof what, "decoder.min_sizes[%d]", i);
    if ((rc = get_numbers(c, cJSON_GetArrayItem(ms, i), what, 1,
                          ARGUS_FACE_MAX_LEVEL_SIZES, sz, &nsz)))
      return rc;
    p->nsizes[i] = nsz;
    for (int k = 0; k < nsz; k++) {
      if (!(sz[k] > 0 && sz[k] < 1e5))
        return bad(c, ARGUS_E_CORRUPT, "%s[%d] = %g is not a size", what, k,
                   sz[k]);
      p->min_sizes[i][k] = (float)sz[k];
    }
  }
  double var[2];
  int nvar = 0;
  if ((rc = get_numbers(c, field(d, "variances"), "decoder.variances", 2, 2,
                        var, &nvar)))
    return rc;
  if (!(var[0] > 0 && var[1] > 0))
    return bad(c, ARGUS_E_CORRUPT, "decoder.variances must be positive");
  o->center_variance = (float)var[0];
  o->size_variance = (float)var[1];
  p->clamp = 1;
  if ((rc = get_bool(c, d, "decoder.", "clamp", &p->clamp)))
    return rc;
  return parse_detector_defaults(c, root, o);
}

/* "defaults" of a detector card (optional; each field optional). */
static argus_err parse_detector_defaults(card_ctx *c, const cJSON *root,
                                         argus_face_card *o) {
  argus_err rc;
  o->score_threshold = 0.65f;
  o->nms_iou = 0.4f;
  const cJSON *def = field(root, "defaults");
  if (def) {
    if (!cJSON_IsObject(def))
      return bad(c, ARGUS_E_CORRUPT, "'defaults' must be an object");
    if ((rc = get_float(c, def, "defaults.", "score_threshold", 0, 1,
                        &o->score_threshold, 0)) ||
        (rc = get_float(c, def, "defaults.", "nms_iou", 0, 1, &o->nms_iou,
                        0)) ||
        (rc = get_int(c, def, "defaults.", "native_max_side", 32, 8192,
                      &o->native_max_side, 0)))
      return rc;
  }
  return ARGUS_OK;
}

static argus_err parse_landmarker(card_ctx *c, const cJSON *root,
                                  argus_face_card *o) {
  argus_err rc;
  const cJSON *d = get_object(c, root, "decoder", &rc);
  if (!d)
    return rc;
  char kind[32];
  if ((rc = get_string(c, d, "decoder.", "kind", kind, sizeof kind, 1)))
    return rc;
  if (strcmp(kind, "points_normalised") != 0)
    return bad(c, ARGUS_E_UNSUPPORTED,
               "decoder.kind '%s' is not supported for a landmarker "
               "(expected points_normalised)",
               kind);
  if ((rc = get_string(c, d, "decoder.", "output", o->output_name,
                       sizeof o->output_name, 1)) ||
      (rc = get_int(c, d, "decoder.", "points", ARGUS_FACE_NPOINTS,
                    ARGUS_FACE_MAX_DENSE, &o->npoints, 1)))
    return rc;
  o->crop_scale = 1.0f;
  if ((rc = get_float(c, d, "decoder.", "crop_scale", 0.25, 4, &o->crop_scale,
                      0)))
    return rc;
  const cJSON *fp = field(d, "five_points");
  if (!fp || !cJSON_IsArray(fp) ||
      cJSON_GetArraySize(fp) != ARGUS_FACE_NPOINTS)
    return bad(c, ARGUS_E_CORRUPT,
               "decoder.five_points must be an array of 5 arrays of point "
               "indices (left eye, right eye, nose, mouth left, mouth right)");
  for (int i = 0; i < ARGUS_FACE_NPOINTS; i++) {
    double idx[4];
    int n = 0;
    char what[48];
    snprintf(what, sizeof what, "decoder.five_points[%d]", i);
    if ((rc = get_numbers(c, cJSON_GetArrayItem(fp, i), what, 1, 4, idx, &n)))
      return rc;
    o->nfive[i] = n;
    for (int k = 0; k < n; k++) {
      if (idx[k] < 0 || idx[k] >= o->npoints || idx[k] != floor(idx[k]))
        return bad(c, ARGUS_E_CORRUPT, "%s[%d] = %g is not a point index < %d",
                   what, k, idx[k], o->npoints);
      o->five[i][k] = (int)idx[k];
    }
  }
  return ARGUS_OK;
}

static int cmp_thr(const void *a, const void *b) {
  const argus_face_threshold *x = a, *y = b;
  return x->fmr < y->fmr ? 1 : x->fmr > y->fmr ? -1 : 0;
}

static argus_err parse_fmr(card_ctx *c, const char *s, const char *what,
                           double *out) {
  char *end = NULL;
  errno = 0;
  double v = strtod(s, &end);
  if (end == s || *end != '\0' || errno == ERANGE || !(v > 0 && v < 1))
    return bad(c, ARGUS_E_CORRUPT,
               "%s '%s' is not a false-match rate in (0, 1) like \"1e-3\"",
               what, s);
  *out = v;
  return ARGUS_OK;
}

static argus_err parse_embedder(card_ctx *c, const cJSON *root,
                                argus_face_card *o) {
  argus_err rc;
  const cJSON *d = get_object(c, root, "decoder", &rc);
  if (!d)
    return rc;
  char kind[32];
  if ((rc = get_string(c, d, "decoder.", "kind", kind, sizeof kind, 1)))
    return rc;
  if (strcmp(kind, "embedding") != 0)
    return bad(c, ARGUS_E_UNSUPPORTED,
               "decoder.kind '%s' is not supported for an embedder "
               "(expected embedding)",
               kind);
  o->l2_normalize = 1;
  if ((rc = get_string(c, d, "decoder.", "output", o->output_name,
                       sizeof o->output_name, 1)) ||
      (rc = get_int(c, d, "decoder.", "dim", 1, 65536, &o->dim, 1)) ||
      (rc = get_bool(c, d, "decoder.", "l2_normalize", &o->l2_normalize)))
    return rc;

  const cJSON *a = get_object(c, root, "alignment", &rc);
  if (!a)
    return rc;
  char method[48];
  if ((rc = get_string(c, a, "alignment.", "method", method, sizeof method,
                       1)))
    return rc;
  if (strcmp(method, "similarity_least_squares") != 0)
    return bad(c, ARGUS_E_UNSUPPORTED,
               "alignment.method '%s' is not supported "
               "(expected similarity_least_squares)",
               method);
  if ((rc = get_int(c, a, "alignment.", "width", 8, 4096, &o->align_width,
                    1)) ||
      (rc = get_int(c, a, "alignment.", "height", 8, 4096, &o->align_height,
                    1)))
    return rc;
  if (o->align_width != o->input_shape[3] ||
      o->align_height != o->input_shape[2])
    return bad(c, ARGUS_E_CORRUPT,
               "alignment size %dx%d differs from the input shape %lldx%lld",
               o->align_width, o->align_height, (long long)o->input_shape[3],
               (long long)o->input_shape[2]);
  const cJSON *t = field(a, "template");
  if (!t || !cJSON_IsArray(t) || cJSON_GetArraySize(t) != ARGUS_FACE_NPOINTS)
    return bad(c, ARGUS_E_CORRUPT,
               "alignment.template must be an array of 5 [x, y] points");
  for (int i = 0; i < ARGUS_FACE_NPOINTS; i++) {
    double xy[2];
    int n = 0;
    char what[48];
    snprintf(what, sizeof what, "alignment.template[%d]", i);
    if ((rc = get_numbers(c, cJSON_GetArrayItem(t, i), what, 2, 2, xy, &n)))
      return rc;
    o->align_template[i][0] = (float)xy[0];
    o->align_template[i][1] = (float)xy[1];
  }

  const cJSON *th = field(root, "thresholds");
  if (!th || !cJSON_IsObject(th) || !th->child)
    return bad(c, ARGUS_E_CORRUPT,
               "'thresholds' must be an object of false-match rate -> "
               "similarity, e.g. {\"1e-3\": 0.4}");
  const cJSON *e;
  cJSON_ArrayForEach(e, th) {
    if (o->nthresholds == ARGUS_FACE_MAX_THRESHOLDS)
      return bad(c, ARGUS_E_CORRUPT, "more than %d thresholds",
                 ARGUS_FACE_MAX_THRESHOLDS);
    argus_face_threshold *p = &o->thresholds[o->nthresholds];
    if ((rc = parse_fmr(c, e->string, "thresholds key", &p->fmr)))
      return rc;
    if (!cJSON_IsNumber(e) || !isfinite(e->valuedouble) ||
        e->valuedouble < -1 || e->valuedouble > 1)
      return bad(c, ARGUS_E_CORRUPT,
                 "thresholds['%s'] must be a similarity in [-1, 1]", e->string);
    p->threshold = (float)e->valuedouble;
    o->nthresholds++;
  }
  qsort(o->thresholds, (size_t)o->nthresholds, sizeof o->thresholds[0],
        cmp_thr);
  char def[32];
  if ((rc = get_string(c, root, "", "default_fmr", def, sizeof def, 0)))
    return rc;
  if (def[0]) {
    if ((rc = parse_fmr(c, def, "default_fmr", &o->default_fmr)))
      return rc;
    float thr;
    if (argus_face_card_threshold(o, o->default_fmr, &thr, NULL) != ARGUS_OK)
      return bad(c, ARGUS_E_CORRUPT,
                 "default_fmr %s has no threshold at or below it", def);
  } else {
    o->default_fmr = o->thresholds[o->nthresholds - 1].fmr;
  }
  const cJSON *cal = field(root, "calibration");
  if (cal) {
    if (!cJSON_IsObject(cal))
      return bad(c, ARGUS_E_CORRUPT, "'calibration' must be an object");
    char status[32], how[160];
    if ((rc = get_string(c, cal, "calibration.", "status", status,
                         sizeof status, 1)) ||
        (rc = get_string(c, cal, "calibration.", "method", how,
                         sizeof how, 0)))
      return rc;
    o->provisional = strcmp(status, "provisional") == 0;
    snprintf(o->calibration, sizeof o->calibration, "%s%s%s", status,
             how[0] ? ": " : "", how);
  }
  return ARGUS_OK;
}

argus_err argus_face_card_parse(const char *json, size_t len,
                                const char *source, argus_face_card *out,
                                argus_face_error *err) {
  card_ctx c = {source ? source : "model card", err};
  if (!json || !out)
    return bad(&c, ARGUS_E_INVALID_ARG, "no card data");
  if (len > ARGUS_FACE_CARD_MAX_BYTES)
    return bad(&c, ARGUS_E_LIMIT, "card of %zu bytes exceeds the limit of %zu",
               len, ARGUS_FACE_CARD_MAX_BYTES);
  memset(out, 0, sizeof *out);
  cJSON *root = cJSON_ParseWithLength(json, len);
  if (!root) {
    const char *at = cJSON_GetErrorPtr();
    long off = at && at >= json && at <= json + len ? (long)(at - json) : -1;
    return bad(&c, ARGUS_E_CORRUPT, "not valid JSON (near byte %ld)", off);
  }
  argus_err rc = ARGUS_OK;
  if (!cJSON_IsObject(root)) {
    rc = bad(&c, ARGUS_E_CORRUPT, "the card must be a JSON object");
    goto done;
  }
  int cv = 0;
  if ((rc = get_int(&c, root, "", "card_version", 1, 1000, &cv, 1)))
    goto done;
  if (cv != 1) {
    rc = bad(&c, ARGUS_E_UNSUPPORTED, "card_version %d is not supported (1)",
             cv);
    goto done;
  }
  char kind[32];
  if ((rc = get_string(&c, root, "", "kind", kind, sizeof kind, 1)) ||
      (rc = get_string(&c, root, "", "name", out->name, sizeof out->name, 1)) ||
      (rc = get_string(&c, root, "", "version", out->version,
                       sizeof out->version, 1)) ||
      (rc = get_string(&c, root, "", "file", out->file, sizeof out->file, 1)) ||
      (rc = get_string(&c, root, "", "sha256", out->sha256, sizeof out->sha256,
                       0)))
    goto done;
  if (out->sha256[0]) {
    size_t n = strlen(out->sha256);
    int hex = n == 64;
    for (size_t i = 0; hex && i < n; i++)
      hex = (out->sha256[i] >= '0' && out->sha256[i] <= '9') ||
            (out->sha256[i] >= 'a' && out->sha256[i] <= 'f');
    if (!hex) {
      rc = bad(&c, ARGUS_E_CORRUPT,
               "'sha256' must be 64 lower-case hexadecimal digits");
      goto done;
    }
  }
  /* "precision": "f32" (default), "bf16" or "int8": the engine's arithmetic for
   * the model's convolutions (docs/engine.md, "Precision"). */
  char prec[16];
  if ((rc = get_string(&c, root, "", "precision", prec, sizeof prec, 0)))
    goto done;
  out->precision = ARGUS_NN_PRECISION_F32;
  if (prec[0] && argus_nn_precision_parse(prec, &out->precision) != ARGUS_OK) {
    rc = bad(&c, ARGUS_E_CORRUPT,
             "field 'precision' is '%s'; it must be \"f32\", \"bf16\" or "
             "\"int8\"",
             prec);
    goto done;
  }
  if ((rc = parse_input(&c, root, out)))
    goto done;
  if (strcmp(kind, "detector") == 0) {
    out->kind = ARGUS_FACE_MODEL_DETECTOR;
    rc = parse_detector(&c, root, out);
  } else if (strcmp(kind, "landmarker") == 0) {
    out->kind = ARGUS_FACE_MODEL_LANDMARKER;
    rc = parse_landmarker(&c, root, out);
  } else if (strcmp(kind, "embedder") == 0) {
    out->kind = ARGUS_FACE_MODEL_EMBEDDER;
    rc = parse_embedder(&c, root, out);
  } else {
    rc = bad(&c, ARGUS_E_UNSUPPORTED,
             "kind '%s' is not detector, landmarker or embedder", kind);
  }
done:
  cJSON_Delete(root);
  if (rc)
    memset(out, 0, sizeof *out);
  return rc;
}

argus_err face_card_read(const char *path, char **buf, size_t *len,
                         argus_face_error *err) {
  *buf = NULL;
  *len = 0;
  FILE *f = fopen(path, "rb");
  if (!f)
    return face_fail(err, errno == ENOENT ? ARGUS_E_NOT_FOUND : ARGUS_E_IO,
                     "%s: %s", path, strerror(errno));
  argus_err rc = ARGUS_OK;
  char *b = malloc(ARGUS_FACE_CARD_MAX_BYTES + 1);
  if (!b) {
    rc = face_fail(err, ARGUS_E_NOMEM, "%s: out of memory", path);
    goto done;
  }
  size_t n = fread(b, 1, ARGUS_FACE_CARD_MAX_BYTES + 1, f);
  if (ferror(f)) {
    rc = face_fail(err, ARGUS_E_IO, "%s: read error", path);
    goto done;
  }
  if (n > ARGUS_FACE_CARD_MAX_BYTES) {
    rc = face_fail(err, ARGUS_E_LIMIT, "%s: larger than %zu bytes", path,
                   ARGUS_FACE_CARD_MAX_BYTES);
    goto done;
  }
  b[n] = '\0';
  *buf = b;
  *len = n;
  b = NULL;
done:
  free(b);
  fclose(f);
  return rc;
}

argus_err argus_face_card_load(const char *path, argus_face_card *out,
                               argus_face_error *err) {
  if (!path || !out)
    return face_fail(err, ARGUS_E_INVALID_ARG, "no card path");
  char *buf = NULL;
  size_t n = 0;
  argus_err rc = face_card_read(path, &buf, &n, err);
  if (rc == ARGUS_OK)
    rc = argus_face_card_parse(buf, n, path, out, err);
  free(buf);
  return rc;
}

#ifndef ARGUS_CARD_SOURCE_DIR
#define ARGUS_CARD_SOURCE_DIR ""
#endif
#ifndef ARGUS_CARD_INSTALL_DIR
#define ARGUS_CARD_INSTALL_DIR ""
#endif

argus_err argus_face_card_find(const char *models_dir, const char *name,
                               char *path, size_t path_size,
                               argus_face_error *err) {
  if (!name || !name[0] || !path || path_size == 0)
    return face_fail(err, ARGUS_E_INVALID_ARG, "no card name");
  const char *dirs[3] = {models_dir, ARGUS_CARD_SOURCE_DIR,
                         ARGUS_CARD_INSTALL_DIR};
  char looked[400] = "";
  size_t nl = 0;
  for (int i = 0; i < 3; i++) {
    if (!dirs[i] || !dirs[i][0])
      continue;
    int w = snprintf(path, path_size, "%s/%s.card.json", dirs[i], name);
    if (w < 0 || (size_t)w >= path_size)
      return face_fail(err, ARGUS_E_LIMIT, "card path too long in '%s'",
                       dirs[i]);
    struct stat st;
    if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
      return ARGUS_OK;
    if (nl < sizeof looked) {
      int k = snprintf(looked + nl, sizeof looked - nl, "%s%s", nl ? ", " : "",
                       dirs[i]);
      if (k > 0)
        nl += (size_t)k;
    }
  }
  path[0] = '\0';
  return face_fail(err, ARGUS_E_NOT_FOUND,
                   "no model card %s.card.json (looked in %s)", name, looked);
}

argus_err argus_face_card_threshold(const argus_face_card *card, double fmr,
                                    float *threshold, double *fmr_out) {
  if (!card || !threshold || card->nthresholds <= 0 || fmr < 0)
    return ARGUS_E_INVALID_ARG;
  if (fmr == 0)
    fmr = card->default_fmr;
  /* Thresholds are sorted by decreasing FMR: the first at or below fmr is
   * the loosest one that still meets it. A relative tolerance lets "1e-3"
   * written two ways compare equal. */
  for (int i = 0; i < card->nthresholds; i++) {
    if (card->thresholds[i].fmr <= fmr * (1 + 1e-9)) {
      *threshold = card->thresholds[i].threshold;
      if (fmr_out)
        *fmr_out = card->thresholds[i].fmr;
      return ARGUS_OK;
    }
  }
  return ARGUS_E_NOT_FOUND;
}
