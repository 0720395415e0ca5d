/* Plug-ins (include/argus/plugin.h): loading a shared object, checking what
 * it declares, and wrapping its detector and embedder as the face module's
 * ops tables. Nothing a plug-in returns is trusted: counts, sizes, boxes,
 * scores and embedding values are checked on every run, and a failure
 * names the plug-in and the value. */
#include <dlfcn.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "argus/plugin.h"
#include "face_internal.h"

#define PLUGIN_MOD "plugin"
#define PLUGIN_ERR 256 /* message buffer given to the plug-in's functions */

struct argus_plugin {
  void *dl;
  const argus_plugin_descriptor *d;
  argus_plugin_host host; /* kept by the plug-in: stable address */
  char path[ARGUS_FACE_CARD_PATH];
  char models_dir[ARGUS_FACE_CARD_PATH];
  char name[ARGUS_FACE_CARD_NAME], version[ARGUS_FACE_CARD_NAME];
  char id[2 * ARGUS_FACE_CARD_NAME];
  char sha256[65];
};

/* ---- the host table ------------------------------------------------------ */

static void host_log(void *host_ctx, int level, const char *msg) {
  const argus_plugin *p = host_ctx;
  if (level < ARGUS_PLUGIN_LOG_ERROR)
    level = ARGUS_PLUGIN_LOG_ERROR;
  if (level > ARGUS_PLUGIN_LOG_DEBUG)
    level = ARGUS_PLUGIN_LOG_DEBUG;
  /* The name is known once the descriptor is read; before, the file. */
  argus_log((argus_log_level)level, PLUGIN_MOD, "[%s] %s",
            p->id[0] ? p->id : p->path, msg ? msg : "(null)");
}

static void *host_alloc(void *host_ctx, size_t size) {
  (void)host_ctx;
  return malloc(size ? size : 1);
}

static void host_free(void *host_ctx, void *ptr) {
  (void)host_ctx;
  free(ptr);
}

/* ---- checking a descriptor ----------------------------------------------- */

/* A name or version: 1..63 printable ASCII characters without spaces or
 * quotes (they end up in model ids, file names and JSON); names also
 * without '@' (the id is split at its first '@'). */
static int good_ident(const char *s, int is_name) {
  if (!s)
    return 0;
  size_t n = strnlen(s, ARGUS_FACE_CARD_NAME);
  if (n == 0 || n >= ARGUS_FACE_CARD_NAME)
    return 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c <= ' ' || c >= 0x7f || c == '"' || c == '\\' || c == '/' ||
        (is_name && c == '@'))
      return 0;
  }
  return 1;
}

static int good_format(int f) {
  return f == ARGUS_PLUGIN_PIX_GRAY8 || f == ARGUS_PLUGIN_PIX_RGB8 ||
         f == ARGUS_PLUGIN_PIX_BGR8;
}

static argus_err check_detector(const argus_plugin *p,
                                const argus_plugin_detector *d,
                                argus_face_error *err) {
  const char *missing = !d->create    ? "create"
                        : !d->destroy ? "destroy"
                        : !d->run     ? "run"
                                      : NULL;
  if (missing)
    return face_fail(err, ARGUS_E_CORRUPT,
                     "plug-in %s: its detector has no '%s' function", p->path,
                     missing);
  if (!good_format(d->image_format))
    return face_fail(err, ARGUS_E_CORRUPT,
                     "plug-in %s: detector image_format %d is not GRAY8, "
                     "RGB8 or BGR8",
                     p->path, d->image_format);
  if (d->npoints != 0 && d->npoints != ARGUS_PLUGIN_NPOINTS)
    return face_fail(err, ARGUS_E_CORRUPT,
                     "plug-in %s: detector npoints %d is not 0 or %d",
                     p->path, d->npoints, ARGUS_PLUGIN_NPOINTS);
  if (d->max_faces < 1 || d->max_faces > ARGUS_PLUGIN_MAX_FACES)
    return face_fail(err, ARGUS_E_CORRUPT,
                     "plug-in %s: detector max_faces %d is out of range [1, "
                     "%d]",
                     p->path, d->max_faces, ARGUS_PLUGIN_MAX_FACES);
  int w = d->input_width, h = d->input_height;
  if (!((w == 0 && h == 0) || (w >= 16 && w <= 8192 && h >= 16 && h <= 8192)))
    return face_fail(err, ARGUS_E_CORRUPT,
                     "plug-in %s: detector input size %dx%d is not 0x0 or "
                     "16..8192 on both sides",
                     p->path, w, h);
  if (!(d->score_threshold > 0 && d->score_threshold <= 1) ||
      !(d->nms_iou > 0 && d->nms_iou <= 1))
    return face_fail(err, ARGUS_E_CORRUPT,
                     "plug-in %s: detector score_threshold %g and nms_iou %g "
                     "must be in (0, 1]",
                     p->path, (double)d->score_threshold, (double)d->nms_iou);
  return ARGUS_OK;
}

static argus_err check_embedder(const argus_plugin *p,
                                const argus_plugin_embedder *e,
                                argus_face_error *err) {
  const char *missing = !e->create    ? "create"
                        : !e->destroy ? "destroy"
                        : !e->run     ? "run"
                                      : NULL;
  if (missing)
    return face_fail(err, ARGUS_E_CORRUPT,
                     "plug-in %s: its embedder has no '%s' function", p->path,
                     missing);
  if (e->dim < 1 || e->dim > ARGUS_PLUGIN_MAX_DIM)
    return face_fail(err, ARGUS_E_CORRUPT,
                     "plug-in %s: embedding dim %d is out of range [1, %d]",
                     p->path, e->dim, ARGUS_PLUGIN_MAX_DIM);
  if (e->align_width < 8 || e->align_width > 4096 || e->align_height < 8 ||
      e->align_height > 4096)
    return face_fail(err, ARGUS_E_CORRUPT,
                     "plug-in %s: alignment size %dx%d is out of range "
                     "[8, 4096]",
                     p->path, e->align_width, e->align_height);
  for (int i = 0; i < ARGUS_PLUGIN_NPOINTS; i++) {
    float x = e->align_template[i][0], y = e->align_template[i][1];
    if (!(x >= 0 && x <= (float)e->align_width && y >= 0 &&
          y <= (float)e->align_height))
      return face_fail(err, ARGUS_E_CORRUPT,
                       "plug-in %s: alignment template point %d (%g, %g) is "
                       "not inside the %dx%d crop",
                       p->path, i, (double)x, (double)y, e->align_width,
                       e->align_height);
  }
  if (e->max_batch < 1 || e->max_batch > ARGUS_PLUGIN_MAX_BATCH)
    return face_fail(err, ARGUS_E_CORRUPT,
                     "plug-in %s: embedder max_batch %d is out of range "
                     "[1, %d]",
                     p->path, e->max_batch, ARGUS_PLUGIN_MAX_BATCH);
  if (!good_format(e->crop_format))
    return face_fail(err, ARGUS_E_CORRUPT,
                     "plug-in %s: embedder crop_format %d is not GRAY8, RGB8 "
                     "or BGR8",
                     p->path, e->crop_format);
  if (e->nthresholds < 1 || e->nthresholds > ARGUS_PLUGIN_MAX_THRESHOLDS)
    return face_fail(err, ARGUS_E_CORRUPT,
                     "plug-in %s: %d thresholds (1 to %d needed)", p->path,
                     e->nthresholds, ARGUS_PLUGIN_MAX_THRESHOLDS);
  double min_fmr = 1;
  for (int i = 0; i < e->nthresholds; i++) {
    const argus_plugin_threshold *t = &e->thresholds[i];
    if (!(t->fmr > 0 && t->fmr < 1) ||
        !(t->similarity >= -1 && t->similarity <= 1))
      return face_fail(err, ARGUS_E_CORRUPT,
                       "plug-in %s: threshold %d (fmr %g, similarity %g) is "
                       "not a false-match rate in (0, 1) and a similarity in "
                       "[-1, 1]",
                       p->path, i, t->fmr, (double)t->similarity);
    if (t->fmr < min_fmr)
      min_fmr = t->fmr;
  }
  if (!(e->default_fmr == 0 || (e->default_fmr > 0 && e->default_fmr < 1)) ||
      (e->default_fmr > 0 && e->default_fmr * (1 + 1e-9) < min_fmr))
    return face_fail(err, ARGUS_E_CORRUPT,
                     "plug-in %s: default_fmr %g has no threshold at or "
                     "below it",
                     p->path, e->default_fmr);
  return ARGUS_OK;
}

static argus_err check_descriptor(argus_plugin *p,
                                  const argus_plugin_descriptor *d,
                                  argus_face_error *err) {
  if (!d)
    return face_fail(err, ARGUS_E_CORRUPT,
                     "plug-in %s: %s returned no descriptor (its log lines "
                     "may say why)",
                     p->path, ARGUS_PLUGIN_ENTRY_SYMBOL);
  if (d->abi_major != ARGUS_PLUGIN_ABI_MAJOR)
    return face_fail(err, ARGUS_E_UNSUPPORTED,
                     "plug-in %s: built for plug-in ABI %u.%u, this argus "
                     "has ABI %d.%d (the major versions must match; rebuild "
                     "it against this argus/plugin.h)",
                     p->path, (unsigned)d->abi_major, (unsigned)d->abi_minor,
                     ARGUS_PLUGIN_ABI_MAJOR, ARGUS_PLUGIN_ABI_MINOR);
  if (d->abi_minor > ARGUS_PLUGIN_ABI_MINOR)
    argus_log(ARGUS_LOG_INFO, PLUGIN_MOD,
              "plug-in %s: built for ABI %u.%u, newer than this argus's "
              "%d.%d; the fields added since are ignored",
              p->path, (unsigned)d->abi_major, (unsigned)d->abi_minor,
              ARGUS_PLUGIN_ABI_MAJOR, ARGUS_PLUGIN_ABI_MINOR);
  if (!good_ident(d->name, 1) || !good_ident(d->version, 0))
    return face_fail(err, ARGUS_E_CORRUPT,
                     "plug-in %s: its name and version must be 1 to %d "
                     "printable characters without spaces or quotes (and "
                     "the name without '@')",
                     p->path, ARGUS_FACE_CARD_NAME - 1);
  if (!d->detector && !d->embedder)
    return face_fail(err, ARGUS_E_CORRUPT,
                     "plug-in %s: provides neither a detector nor an embedder",
                     p->path);
  argus_err rc;
  if (d->detector && (rc = check_detector(p, d->detector, err)))
    return rc;
  if (d->embedder && (rc = check_embedder(p, d->embedder, err)))
    return rc;
  return ARGUS_OK;
}

/* ---- loading ------------------------------------------------------------- */

argus_err argus_plugin_open(const char *path, const char *models_dir,
                            argus_plugin **out, argus_face_error *err) {
  if (err)
    err->msg[0] = '\0';
  if (!out)
    return face_fail(err, ARGUS_E_INVALID_ARG, "plug-in: no output pointer");
  *out = NULL;
  if (!path || !path[0])
    return face_fail(err, ARGUS_E_INVALID_ARG, "plug-in: no path");
  argus_plugin *p = calloc(1, sizeof *p);
  if (!p)
    return face_fail(err, ARGUS_E_NOMEM, "plug-in %s: out of memory", path);
  argus_err rc;
  /* dlopen searches the library path for a bare name; a plug-in is a file. */
  int w = snprintf(p->path, sizeof p->path, "%s%s",
                   strchr(path, '/') ? "" : "./", path);
  if (w < 0 || (size_t)w >= sizeof p->path) {
    rc = face_fail(err, ARGUS_E_LIMIT, "plug-in path too long: %s", path);
    goto fail;
  }
  if (models_dir)
    snprintf(p->models_dir, sizeof p->models_dir, "%s", models_dir);
  struct stat st;
  errno = 0;
  if (stat(p->path, &st) != 0 || !S_ISREG(st.st_mode)) {
    rc = face_fail(err, errno == ENOENT || errno == 0 ? ARGUS_E_NOT_FOUND
                                                      : ARGUS_E_IO,
                   "plug-in %s: %s", p->path,
                   errno == 0 ? "not a file" : strerror(errno));
    goto fail;
  }
  rc = argus_face_file_sha256(p->path, p->sha256);
  if (rc) {
    face_fail(err, rc, "plug-in %s: cannot read it (%s)", p->path,
              argus_strerror(rc));
    goto fail;
  }
  dlerror();
  /* Symbols resolved now (a missing one fails here, not in a run), kept
   * local; never unmapped (RTLD_NODELETE): a plug-in's C++ runtime or
   * inference engine may keep threads, thread-locals or atexit handlers
   * that must not outlive its code. */
  int flags = RTLD_NOW | RTLD_LOCAL;
#ifdef RTLD_NODELETE
  flags |= RTLD_NODELETE;
#endif
  p->dl = dlopen(p->path, flags);
  if (!p->dl) {
    const char *why = dlerror();
    rc = face_fail(err, ARGUS_E_UNSUPPORTED,
                   "plug-in %s: cannot load it: %s", p->path,
                   why ? why : "unknown dlopen error");
    goto fail;
  }
  dlerror();
  void *sym = dlsym(p->dl, ARGUS_PLUGIN_ENTRY_SYMBOL);
  if (!sym) {
    rc = face_fail(err, ARGUS_E_UNSUPPORTED,
                   "plug-in %s: missing symbol '%s' (not an argus plug-in, or "
                   "built without exporting it: ARGUS_PLUGIN_EXPORT)",
                   p->path, ARGUS_PLUGIN_ENTRY_SYMBOL);
    goto fail;
  }
  argus_plugin_entry_fn entry;
  /* ISO C has no conversion from void * to a function pointer; POSIX
   * guarantees this copy works for dlsym. */
  memcpy(&entry, &sym, sizeof entry);
  p->host.abi_major = ARGUS_PLUGIN_ABI_MAJOR;
  p->host.abi_minor = ARGUS_PLUGIN_ABI_MINOR;
  p->host.log = host_log;
  p->host.alloc = host_alloc;
  p->host.free = host_free;
  p->host.host_ctx = p;
  p->host.models_dir = p->models_dir[0] ? p->models_dir : NULL;
  const argus_plugin_descriptor *d = entry(&p->host);
  if ((rc = check_descriptor(p, d, err)))
    goto fail;
  p->d = d;
  snprintf(p->name, sizeof p->name, "%s", d->name);
  snprintf(p->version, sizeof p->version, "%s", d->version);
  snprintf(p->id, sizeof p->id, "%s@%s", p->name, p->version);
  argus_log(ARGUS_LOG_INFO, PLUGIN_MOD,
            "plug-in %s from %s (ABI %u.%u, sha256 %.12s...):%s%s", p->id,
            p->path, (unsigned)d->abi_major, (unsigned)d->abi_minor, p->sha256,
            d->detector ? " detector" : "", d->embedder ? " embedder" : "");
  *out = p;
  return ARGUS_OK;
fail:
  argus_plugin_close(p);
  return rc;
}

void argus_plugin_close(argus_plugin *p) {
  if (!p)
    return;
  if (p->dl)
    dlclose(p->dl);
  free(p);
}

const char *argus_plugin_id(const argus_plugin *p) { return p ? p->id : ""; }

const char *argus_plugin_path(const argus_plugin *p) {
  return p ? p->path : "";
}

int argus_plugin_provides(const argus_plugin *p, argus_face_model_kind kind) {
  if (!p || !p->d)
    return 0;
  if (kind == ARGUS_FACE_MODEL_DETECTOR)
    return p->d->detector != NULL;
  if (kind == ARGUS_FACE_MODEL_EMBEDDER)
    return p->d->embedder != NULL;
  return 0;
}

/* The card every wrapped algorithm gets: identity and file. */
static void card_base(const argus_plugin *p, argus_face_model_kind kind,
                      argus_face_card *c) {
  memset(c, 0, sizeof *c);
  c->kind = kind;
  snprintf(c->name, sizeof c->name, "%s", p->name);
  snprintf(c->version, sizeof c->version, "%s", p->version);
  snprintf(c->file, sizeof c->file, "%s", p->path);
  memcpy(c->sha256, p->sha256, sizeof c->sha256);
  snprintf(c->input_name, sizeof c->input_name, "plugin");
  c->input_rank = 4;
  c->input_shape[0] = 1;
  c->mean = 0;
  c->scale = 1;
}

static argus_pixfmt pixfmt_of(int f) {
  return f == ARGUS_PLUGIN_PIX_GRAY8  ? ARGUS_PIX_GRAY8
         : f == ARGUS_PLUGIN_PIX_BGR8 ? ARGUS_PIX_BGR8
                                      : ARGUS_PIX_RGB8;
}

static void image_view(const argus_image *im, argus_plugin_image *v) {
  v->data = im->data[0];
  v->width = im->width;
  v->height = im->height;
  v->stride = im->stride[0];
  v->format = im->format == ARGUS_PIX_GRAY8  ? ARGUS_PLUGIN_PIX_GRAY8
              : im->format == ARGUS_PIX_BGR8 ? ARGUS_PLUGIN_PIX_BGR8
                                             : ARGUS_PLUGIN_PIX_RGB8;
  v->channels = im->format == ARGUS_PIX_GRAY8 ? 1 : 3;
}

/* ---- the detector -------------------------------------------------------- */

typedef struct pdet_ctx {
  argus_plugin *p; /* kept */
  const argus_plugin_detector *d;
} pdet_ctx;

typedef struct pdet_state {
  void *inst;
  int w, h;          /* size of the buffers below */
  float *planes;     /* 3 x w x h: the pass's input as floats */
  argus_image net;   /* the pass's input, packed, what the plug-in sees */
  argus_plugin_face *faces; /* max_faces */
} pdet_state;

static void pdet_state_free(void *ctx, void *state) {
  pdet_ctx *c = ctx;
  pdet_state *s = state;
  if (!s)
    return;
  if (s->inst)
    c->d->destroy(s->inst);
  free(s->planes);
  argus_image_free(&s->net);
  free(s->faces);
  free(s);
}

static argus_err pdet_state_create(void *ctx, void **out) {
  pdet_ctx *c = ctx;
  pdet_state *s = calloc(1, sizeof *s);
  if (!s)
    return ARGUS_E_NOMEM;
  s->faces = calloc((size_t)c->d->max_faces, sizeof *s->faces);
  if (!s->faces) {
    free(s);
    return ARGUS_E_NOMEM;
  }
  char msg[PLUGIN_ERR] = "";
  if (c->d->create(&s->inst, msg, sizeof msg) != 0) {
    msg[sizeof msg - 1] = '\0';
    argus_log(ARGUS_LOG_ERROR, PLUGIN_MOD,
              "plug-in %s: detector create failed: %s", c->p->id,
              msg[0] ? msg : "(no message)");
    s->inst = NULL;
    pdet_state_free(ctx, s);
    return ARGUS_E_INTERNAL;
  }
  *out = s;
  return ARGUS_OK;
}

/* The pass's input: its roi resampled to net_w x net_h exactly as the
 * default detector's input is (argus_image_to_tensor: bilinear, area
 * averaging when shrinking 2x or more), packed in the format the plug-in
 * asked for, mirrored for a flipped pass. */
static argus_err pdet_input(const pdet_ctx *c, pdet_state *s,
                            const argus_image *img,
                            const argus_face_pass *pass,
                            argus_face_error *err) {
  const int w = pass->net_w, h = pass->net_h;
  const argus_pixfmt fmt = pixfmt_of(c->d->image_format);
  if (s->w != w || s->h != h) {
    free(s->planes);
    argus_image_free(&s->net);
    s->w = s->h = 0;
    s->planes = malloc((size_t)3 * (size_t)w * (size_t)h * sizeof(float));
    if (!s->planes ||
        argus_image_alloc(&s->net, w, h, fmt) != ARGUS_OK)
      return face_fail(err, ARGUS_E_NOMEM, "plug-in detector: out of memory "
                                           "for a %dx%d input", w, h);
    s->w = w;
    s->h = h;
  }
  const int nch = fmt == ARGUS_PIX_GRAY8 ? 1 : 3;
  /* The planes come out in the plug-in's channel order. */
  const int order = fmt == ARGUS_PIX_GRAY8  ? ARGUS_CH_GRAY
                    : fmt == ARGUS_PIX_BGR8 ? ARGUS_CH_BGR
                                            : ARGUS_CH_RGB;
  argus_err rc = argus_image_to_tensor(img, pass->roi, w, h, order, 0.0f, 1.0f,
                                       s->planes);
  if (rc)
    return face_fail(err, rc, "plug-in detector: resampling the input: %s",
                     argus_strerror(rc));
  const size_t plane = (size_t)w * (size_t)h;
  for (int y = 0; y < h; y++) {
    uint8_t *row = s->net.data[0] + (size_t)y * s->net.stride[0];
    for (int x = 0; x < w; x++) {
      int sx = pass->flip ? w - 1 - x : x;
      for (int ch = 0; ch < nch; ch++) {
        float v = s->planes[(size_t)ch * plane + (size_t)y * w + sx];
        v = v < 0 ? 0 : v > 255 ? 255 : v;
        row[(size_t)x * nch + ch] = (uint8_t)lrintf(v);
      }
    }
  }
  return ARGUS_OK;
}

/* One pass; boxes into out and, when pts is not NULL, the 5 points of each
 * into pts (both cap entries). */
static argus_err pdet_run(void *ctx, void *state, const argus_image *img,
                          const argus_face_pass *pass, float min_score,
                          argus_face_box *out,
                          float (*pts)[ARGUS_FACE_NPOINTS][2], int cap,
                          int *nout, argus_face_error *err) {
  pdet_ctx *c = ctx;
  pdet_state *s = state;
  *nout = 0;
  if (!s || !img || !pass || pass->net_w < 1 || pass->net_h < 1)
    return face_fail(err, ARGUS_E_INVALID_ARG, "plug-in detector: bad pass");
  argus_err rc = pdet_input(c, s, img, pass, err);
  if (rc)
    return rc;
  argus_plugin_image view;
  image_view(&s->net, &view);
  const int max = c->d->max_faces;
  int n = -1;
  char msg[PLUGIN_ERR] = "";
  if (c->d->run(s->inst, &view, min_score, s->faces, max, &n, msg,
                sizeof msg) != 0) {
    msg[sizeof msg - 1] = '\0';
    return face_fail(err, ARGUS_E_INTERNAL,
                     "plug-in %s: detector failed on a %dx%d input: %s",
                     c->p->id, view.width, view.height,
                     msg[0] ? msg : "(no message)");
  }
  if (n < 0 || n > max)
    return face_fail(err, ARGUS_E_CORRUPT,
                     "plug-in %s: detector returned %d faces, more than the "
                     "%d it declared (max_faces) or negative",
                     c->p->id, n, max);
  const float rx = pass->roi[0], ry = pass->roi[1];
  const float rw = pass->roi[2] - pass->roi[0], rh = pass->roi[3] - pass->roi[1];
  const float sx = rw / (float)pass->net_w, sy = rh / (float)pass->net_h;
  const float mx = 4.0f * sx, my = 4.0f * sy; /* as the default detector */
  int k = 0;
  for (int i = 0; i < n; i++) {
    const argus_plugin_face *f = &s->faces[i];
    int finite = isfinite(f->score);
    for (int j = 0; j < 4; j++)
      finite = finite && isfinite(f->box[j]);
    if (!finite || !(f->score >= 0 && f->score <= 1))
      return face_fail(err, ARGUS_E_CORRUPT,
                       "plug-in %s: detector returned face %d with a score "
                       "%g or box (%g, %g, %g, %g) that is NaN, infinite or "
                       "(score) outside [0, 1]",
                       c->p->id, i, (double)f->score, (double)f->box[0],
                       (double)f->box[1], (double)f->box[2],
                       (double)f->box[3]);
    const float W = (float)view.width, H = (float)view.height;
    if (f->box[2] < f->box[0] || f->box[3] < f->box[1] || f->box[0] < -W ||
        f->box[2] > 2 * W || f->box[1] < -H || f->box[3] > 2 * H ||
        (f->npoints != 0 && f->npoints != ARGUS_PLUGIN_NPOINTS) ||
        (c->d->npoints && f->npoints != c->d->npoints))
      return face_fail(err, ARGUS_E_CORRUPT,
                       "plug-in %s: detector returned face %d with box "
                       "(%g, %g, %g, %g) on a %dx%d input and %d points: "
                       "not a box inside the input (or not 0 or 5 points, "
                       "or not the points it declared)",
                       c->p->id, i, (double)f->box[0], (double)f->box[1],
                       (double)f->box[2], (double)f->box[3], view.width,
                       view.height, f->npoints);
    if (f->npoints)
      for (int q = 0; q < ARGUS_PLUGIN_NPOINTS; q++)
        if (!isfinite(f->points[q][0]) || !isfinite(f->points[q][1]))
          return face_fail(err, ARGUS_E_CORRUPT,
                           "plug-in %s: detector returned face %d with point "
                           "%d NaN or infinite",
                           c->p->id, i, q);
    if (f->score < min_score)
      continue;
    float l = f->box[0], r = f->box[2];
    if (pass->flip) {
      float t = W - r;
      r = W - l;
      l = t;
    }
    argus_face_box b = {rx + l * sx, ry + f->box[1] * sy, rx + r * sx,
                        ry + f->box[3] * sy, f->score};
    float bw = b.x2 - b.x1;
    if (!(bw > 0 && b.y2 > b.y1) || bw < pass->min_face ||
        (pass->max_face > 0 && bw >= pass->max_face))
      continue;
    if ((pass->drop_edge[0] && b.x1 <= rx + mx) ||
        (pass->drop_edge[1] && b.y1 <= ry + my) ||
        (pass->drop_edge[2] && b.x2 >= pass->roi[2] - mx) ||
        (pass->drop_edge[3] && b.y2 >= pass->roi[3] - my))
      continue;
    /* out has room for cap candidates: keep the best cap */
    int slot = k;
    if (k < cap) {
      k++;
    } else {
      slot = 0;
      for (int j = 1; j < k; j++)
        if (out[j].score < out[slot].score)
          slot = j;
      if (!(b.score > out[slot].score))
        continue;
    }
    out[slot] = b;
    if (pts)
      for (int q = 0; q < ARGUS_FACE_NPOINTS; q++) {
        /* A mirrored face has its image-left and image-right points
         * exchanged: eyes 0 <-> 1, mouth corners 3 <-> 4. */
        int t = pass->flip && q != ARGUS_FACE_NOSE
                    ? (q == 0 ? 1 : q == 1 ? 0 : q == 3 ? 4 : 3)
                    : q;
        float px = f->points[q][0];
        pts[slot][t][0] = rx + (pass->flip ? W - px : px) * sx;
        pts[slot][t][1] = ry + f->points[q][1] * sy;
      }
  }
  *nout = k;
  return ARGUS_OK;
}

static argus_err pdet_pass(void *ctx, void *state, const argus_image *img,
                           const argus_face_pass *pass, float min_score,
                           argus_face_box *out, int cap, int *nout,
                           argus_face_error *err) {
  return pdet_run(ctx, state, img, pass, min_score, out, NULL, cap, nout, err);
}

static argus_err pdet_pass_points(void *ctx, void *state,
                                  const argus_image *img,
                                  const argus_face_pass *pass, float min_score,
                                  argus_face_box *out,
                                  float (*points)[ARGUS_FACE_NPOINTS][2],
                                  int cap, int *nout, argus_face_error *err) {
  return pdet_run(ctx, state, img, pass, min_score, out, points, cap, nout,
                  err);
}

static void pdet_destroy(void *ctx) { free(ctx); }

static const argus_face_detector_ops pdet_ops = {
    "plugin", pdet_state_create, pdet_state_free, pdet_pass, pdet_destroy,
};

argus_err argus_plugin_detector_create(argus_plugin *p,
                                       argus_face_detector *out,
                                       argus_face_card *card,
                                       argus_face_error *err) {
  if (!p || !out || !card)
    return face_fail(err, ARGUS_E_INVALID_ARG, "plug-in detector: bad "
                                               "argument");
  memset(out, 0, sizeof *out);
  if (!argus_plugin_provides(p, ARGUS_FACE_MODEL_DETECTOR))
    return face_fail(err, ARGUS_E_UNSUPPORTED,
                     "plug-in %s (%s) provides no detector", p->id, p->path);
  const argus_plugin_detector *d = p->d->detector;
  pdet_ctx *c = calloc(1, sizeof *c);
  if (!c)
    return face_fail(err, ARGUS_E_NOMEM, "out of memory");
  c->p = p;
  c->d = d;
  card_base(p, ARGUS_FACE_MODEL_DETECTOR, card);
  /* A detector for any size plans its passes as the default one at its
   * training size; 320x240 is what the default detector declares. */
  int w = d->input_width ? d->input_width : 320;
  int h = d->input_height ? d->input_height : 240;
  card->input_shape[1] = 3;
  card->input_shape[2] = h;
  card->input_shape[3] = w;
  card->channels = d->image_format == ARGUS_PLUGIN_PIX_GRAY8  ? ARGUS_CH_GRAY
                   : d->image_format == ARGUS_PLUGIN_PIX_BGR8 ? ARGUS_CH_BGR
                                                              : ARGUS_CH_RGB;
  if (card->channels == ARGUS_CH_GRAY)
    card->input_shape[1] = 1;
  card->score_threshold = d->score_threshold;
  card->nms_iou = d->nms_iou;
  out->ops = &pdet_ops;
  out->ctx = c;
  out->default_score = d->score_threshold;
  out->default_nms_iou = d->nms_iou;
  out->default_w = w;
  out->default_h = h;
  if (d->npoints == ARGUS_PLUGIN_NPOINTS)
    out->detect_pass_points = pdet_pass_points;
  return ARGUS_OK;
}

/* ---- the embedder -------------------------------------------------------- */

typedef struct pemb_ctx {
  argus_plugin *p; /* kept */
  const argus_plugin_embedder *e;
  int max_batch;
} pemb_ctx;

typedef struct pemb_state {
  void *inst;
  argus_image *conv;        /* max_batch crops in the plug-in's format */
  argus_plugin_image *views; /* max_batch */
  float *raw;               /* max_batch * dim */
} pemb_state;

static void pemb_state_free(void *ctx, void *state) {
  pemb_ctx *c = ctx;
  pemb_state *s = state;
  if (!s)
    return;
  if (s->inst)
    c->e->destroy(s->inst);
  if (s->conv)
    for (int i = 0; i < c->max_batch; i++)
      argus_image_free(&s->conv[i]);
  free(s->conv);
  free(s->views);
  free(s->raw);
  free(s);
}

static argus_err pemb_state_create(void *ctx, void **out) {
  pemb_ctx *c = ctx;
  pemb_state *s = calloc(1, sizeof *s);
  if (!s)
    return ARGUS_E_NOMEM;
  const size_t mb = (size_t)c->max_batch;
  s->conv = calloc(mb, sizeof *s->conv);
  s->views = calloc(mb, sizeof *s->views);
  s->raw = malloc(mb * (size_t)c->e->dim * sizeof(float));
  if (!s->conv || !s->views || !s->raw) {
    pemb_state_free(ctx, s);
    return ARGUS_E_NOMEM;
  }
  char msg[PLUGIN_ERR] = "";
  if (c->e->create(&s->inst, msg, sizeof msg) != 0) {
    msg[sizeof msg - 1] = '\0';
    argus_log(ARGUS_LOG_ERROR, PLUGIN_MOD,
              "plug-in %s: embedder create failed: %s", c->p->id,
              msg[0] ? msg : "(no message)");
    s->inst = NULL;
    pemb_state_free(ctx, s);
    return ARGUS_E_INTERNAL;
  }
  *out = s;
  return ARGUS_OK;
}

static argus_err pemb_align_map(void *ctx, const argus_face *face,
                                float m[6]) {
  pemb_ctx *c = ctx;
  if (!face || face->npoints != ARGUS_FACE_NPOINTS)
    return ARGUS_E_INVALID_ARG;
  float fwd[6];
  argus_err rc = argus_face_similarity_fit(
      (const float(*)[2])face->points,
      (const float(*)[2])c->e->align_template, ARGUS_FACE_NPOINTS, fwd);
  if (rc)
    return rc;
  return argus_face_affine_invert(fwd, m);
}

/* A crop as the plug-in wants it: its format and the alignment size
 * (converted and/or resized into s->conv[i] when it is not). */
static argus_err pemb_view(pemb_ctx *c, pemb_state *s, int i,
                           const argus_image *im, argus_face_error *err) {
  const argus_pixfmt want = pixfmt_of(c->e->crop_format);
  const int aw = c->e->align_width, ah = c->e->align_height;
  if (im->format == want && im->width == aw && im->height == ah) {
    image_view(im, &s->views[i]);
    return ARGUS_OK;
  }
  argus_image *dst = &s->conv[i];
  argus_err rc = ARGUS_OK;
  if (!dst->data[0]) {
    if ((rc = argus_image_alloc(dst, aw, ah, want)))
      return face_fail(err, rc, "plug-in embedder: out of memory");
  }
  argus_image tmp;
  memset(&tmp, 0, sizeof tmp);
  if (im->width == aw && im->height == ah) {
    rc = argus_image_convert(im, dst);
  } else if (im->format == want) {
    rc = argus_image_resize(im, dst);
  } else {
    rc = argus_image_alloc(&tmp, im->width, im->height, want);
    if (rc == ARGUS_OK)
      rc = argus_image_convert(im, &tmp);
    if (rc == ARGUS_OK)
      rc = argus_image_resize(&tmp, dst);
    argus_image_free(&tmp);
  }
  if (rc)
    return face_fail(err, rc,
                     "plug-in embedder: crop %d (%dx%d %s) cannot be made "
                     "%dx%d %s: %s",
                     i, im->width, im->height, argus_pixfmt_name(im->format),
                     aw, ah, argus_pixfmt_name(want), argus_strerror(rc));
  image_view(dst, &s->views[i]);
  return ARGUS_OK;
}

static argus_err pemb_forward(void *ctx, void *state, const argus_image *crops,
                              int n, float *out, float *norms,
                              argus_face_error *err) {
  pemb_ctx *c = ctx;
  pemb_state *s = state;
  const int dim = c->e->dim;
  if (!s || n < 0 || (n && !crops))
    return face_fail(err, ARGUS_E_INVALID_ARG, "plug-in embedder: bad "
                                               "arguments");
  for (int done = 0; done < n;) {
    int b = n - done < c->max_batch ? n - done : c->max_batch;
    for (int i = 0; i < b; i++) {
      argus_err rc = pemb_view(c, s, i, &crops[done + i], err);
      if (rc)
        return rc;
    }
    char msg[PLUGIN_ERR] = "";
    if (c->e->run(s->inst, s->views, b, s->raw, msg, sizeof msg) != 0) {
      msg[sizeof msg - 1] = '\0';
      return face_fail(err, ARGUS_E_INTERNAL,
                       "plug-in %s: embedder failed on %d crops: %s", c->p->id,
                       b, msg[0] ? msg : "(no message)");
    }
    for (int i = 0; i < b; i++) {
      const float *e = s->raw + (size_t)i * (size_t)dim;
      double ss = 0;
      for (int k = 0; k < dim; k++) {
        if (!isfinite(e[k]))
          return face_fail(err, ARGUS_E_CORRUPT,
                           "plug-in %s: embedder returned %g at value %d of "
                           "embedding %d (NaN or infinite)",
                           c->p->id, (double)e[k], k, done + i);
        ss += (double)e[k] * e[k];
      }
      if (!(ss > 0) || !isfinite(ss))
        return face_fail(err, ARGUS_E_CORRUPT,
                         "plug-in %s: embedder returned an embedding of "
                         "length %g for crop %d (zero or overflowing)",
                         c->p->id, sqrt(ss), done + i);
      if (norms)
        norms[done + i] = (float)sqrt(ss);
      if (out) {
        float *o = out + (size_t)(done + i) * (size_t)dim;
        const float inv = (float)(1.0 / sqrt(ss));
        for (int k = 0; k < dim; k++)
          o[k] = e[k] * inv;
      }
    }
    done += b;
  }
  return ARGUS_OK;
}

static argus_err pemb_run(void *ctx, void *state, const argus_image *crops,
                          int n, float *out, argus_face_error *err) {
  return pemb_forward(ctx, state, crops, n, out, NULL, err);
}

static argus_err pemb_norms(void *ctx, void *state, const argus_image *crops,
                            int n, float *norms, argus_face_error *err) {
  return pemb_forward(ctx, state, crops, n, NULL, norms, err);
}

static void pemb_destroy(void *ctx) { free(ctx); }

static const argus_face_embedder_ops pemb_ops = {
    "plugin", pemb_state_create, pemb_state_free, pemb_align_map, pemb_run,
    pemb_destroy, pemb_norms,
};

static int cmp_thr(const void *a, const void *b) {
  const argus_face_threshold *x = a, *y = b;
  return x->fmr < y->fmr ? 1 : x->fmr > y->fmr ? -1 : 0;
}

argus_err argus_plugin_embedder_create(argus_plugin *p, int max_batch,
                                       argus_face_embedder *out,
                                       argus_face_card *card,
                                       argus_face_error *err) {
  if (!p || !out || !card || max_batch < 0)
    return face_fail(err, ARGUS_E_INVALID_ARG, "plug-in embedder: bad "
                                               "argument");
  memset(out, 0, sizeof *out);
  if (!argus_plugin_provides(p, ARGUS_FACE_MODEL_EMBEDDER))
    return face_fail(err, ARGUS_E_UNSUPPORTED,
                     "plug-in %s (%s) provides no embedder", p->id, p->path);
  const argus_plugin_embedder *e = p->d->embedder;
  pemb_ctx *c = calloc(1, sizeof *c);
  if (!c)
    return face_fail(err, ARGUS_E_NOMEM, "out of memory");
  c->p = p;
  c->e = e;
  c->max_batch =
      max_batch > 0 && max_batch < e->max_batch ? max_batch : e->max_batch;
  card_base(p, ARGUS_FACE_MODEL_EMBEDDER, card);
  card->input_shape[1] = e->crop_format == ARGUS_PLUGIN_PIX_GRAY8 ? 1 : 3;
  card->input_shape[2] = e->align_height;
  card->input_shape[3] = e->align_width;
  card->channels = e->crop_format == ARGUS_PLUGIN_PIX_GRAY8  ? ARGUS_CH_GRAY
                   : e->crop_format == ARGUS_PLUGIN_PIX_BGR8 ? ARGUS_CH_BGR
                                                             : ARGUS_CH_RGB;
  card->dim = e->dim;
  card->l2_normalize = 1;
  card->align_width = e->align_width;
  card->align_height = e->align_height;
  memcpy(card->align_template, e->align_template,
         sizeof card->align_template);
  card->nthresholds = e->nthresholds;
  for (int i = 0; i < e->nthresholds; i++) {
    card->thresholds[i].fmr = e->thresholds[i].fmr;
    card->thresholds[i].threshold = e->thresholds[i].similarity;
  }
  qsort(card->thresholds, (size_t)card->nthresholds,
        sizeof card->thresholds[0], cmp_thr);
  card->default_fmr = e->default_fmr > 0
                          ? e->default_fmr
                          : card->thresholds[card->nthresholds - 1].fmr;
  const char *cal = e->calibration ? e->calibration : "provisional: not "
                                                      "stated by the plug-in";
  snprintf(card->calibration, sizeof card->calibration, "%s", cal);
  card->provisional = strncmp(cal, "provisional", 11) == 0;
  out->ops = &pemb_ops;
  out->ctx = c;
  out->dim = e->dim;
  out->align_width = e->align_width;
  out->align_height = e->align_height;
  snprintf(out->model_id, sizeof out->model_id, "%s", p->id);
  return ARGUS_OK;
}
