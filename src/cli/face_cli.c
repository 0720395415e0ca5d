/* Shared pieces of `argus detect`, `argus embed` and `argus compare`. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_json.h"
#include "cli/face_cli.h"

void face_cli_usage_common(FILE *f, int detection) {
  // clang-format off
  if (detection)
    fputs("\nDetection:\n"
          "  --min-score S     face probability threshold (default: the card's, 0.7)\n"
          "  --min-size PX     drop faces narrower than PX image pixels\n"
          "  --max-faces N     keep the N highest scores\n"
          "  --nms IOU         non-maximum suppression overlap (default: 0.4)\n"
          "  --size N          full-frame pass with the longer side at N network\n"
          "                    pixels (default 480; 320 is 2x faster, for large faces)\n"
          "  --tile N          small faces (down to about 20 px): a pyramid from the\n"
          "                    full frame (--size, default 320 here) up to the image's\n"
          "                    own resolution in octaves; passes larger than N x N\n"
          "                    network pixels run as overlapping tiles (e.g. 640)\n"
          "  --tile-scale S    finest level of the pyramid (default 1: native)\n"
          "  --scales A,B,...  instead of --size: passes at these scales (network\n"
          "                    pixels per image pixel), tiled when larger than --tile\n",
          f);
  fputs("\nCommon:\n"
        "  --json            one JSON object per line\n"
        "  --models DIR      models and model cards (default: $ARGUS_MODELS or ./models)\n"
        "  --threads N       worker threads (default: number of cores)\n"
        "  --allow-unverified  load model files whose sha256 differs from their card\n"
        "  --plugin PATH     a plug-in (shared object, docs/models.md) whose detector\n"
        "                    and/or embedder replace the default ones (default:\n"
        "                    $ARGUS_PLUGIN)\n"
        "  --embedder NAME   the embedder card NAME.card.json (default fr_feature;\n"
        "                    e.g. one registered with 'argus model add')\n"
        "  -h, --help        this help\n",
        f);
  // clang-format on
}

void face_cli_init(face_cli *c, const char *cmd) {
  memset(c, 0, sizeof *c);
  c->cmd = cmd;
  argus_face_detect_opts_default(&c->det);
}

static int parse_float(const char *s, double lo, double hi, const char *what,
                       float *out) {
  char *end = NULL;
  errno = 0;
  double v = strtod(s, &end);
  if (end == s || *end != '\0' || errno == ERANGE || !isfinite(v)) {
    fprintf(stderr, "argus: %s: '%s' is not a number\n", what, s);
    return -1;
  }
  if (v < lo || v > hi) {
    fprintf(stderr, "argus: %s: %s is out of range [%g, %g]\n", what, s, lo,
            hi);
    return -1;
  }
  *out = (float)v;
  return 0;
}

static int parse_scales(face_cli *c, const char *s) {
  char buf[256];
  if (strlen(s) >= sizeof buf) {
    cli_errorf(c->cmd, "--scales: too long");
    return -1;
  }
  memcpy(buf, s, strlen(s) + 1);
  c->det.nscales = 0;
  char *p = buf;
  for (;;) {
    char *comma = strchr(p, ',');
    if (comma)
      *comma = '\0';
    if (c->det.nscales == ARGUS_FACE_MAX_SCALES) {
      cli_errorf(c->cmd, "--scales: at most %d scales", ARGUS_FACE_MAX_SCALES);
      return -1;
    }
    if (parse_float(p, 0.01, 16, "--scales", &c->det.scales[c->det.nscales]))
      return -1;
    c->det.nscales++;
    if (!comma)
      break;
    p = comma + 1;
  }
  return 0;
}

int face_cli_option(face_cli *c, int id, const char *arg) {
  switch (id) {
  case FACE_OPT_MODELS: c->models = arg; return 1;
  case FACE_OPT_THREADS:
    return cli_parse_int(arg, 0, 1024, "--threads", &c->threads) ? -1 : 1;
  case FACE_OPT_JSON: c->json = 1; return 1;
  case FACE_OPT_UNVERIFIED: c->unverified = 1; return 1;
  case FACE_OPT_PLUGIN: c->plugin = arg; return 1;
  case FACE_OPT_EMBEDDER: c->embedder = arg; return 1;
  case FACE_OPT_MIN_SCORE:
    return parse_float(arg, 0.001, 1, "--min-score", &c->det.min_score) ? -1
                                                                          : 1;
  case FACE_OPT_NMS:
    return parse_float(arg, 0.01, 1, "--nms", &c->det.nms_iou) ? -1 : 1;
  case FACE_OPT_MIN_SIZE:
    return parse_float(arg, 0, 100000, "--min-size", &c->det.min_size) ? -1
                                                                         : 1;
  case FACE_OPT_MAX_FACES:
    return cli_parse_int(arg, 1, FACE_CLI_MAX_FACES, "--max-faces",
                         &c->det.max_faces)
               ? -1
               : 1;
  case FACE_OPT_SIZE:
    return cli_parse_int(arg, 32, 4096, "--size", &c->det.size) ? -1 : 1;
  case FACE_OPT_TILE:
    return cli_parse_int(arg, 64, 4096, "--tile", &c->det.tile) ? -1 : 1;
  case FACE_OPT_TILE_SCALE:
    return parse_float(arg, 0.05, 16, "--tile-scale", &c->det.tile_scale) ? -1
                                                                           : 1;
  case FACE_OPT_SCALES: return parse_scales(c, arg) ? -1 : 1;
  default: return 0;
  }
}

int face_cli_open(face_cli *c, int with_embeddings) {
  argus_err rc = argus_threadpool_create(c->threads, &c->pool);
  if (rc) {
    cli_errorf(c->cmd, "cannot start %d threads: %s", c->threads,
               argus_strerror(rc));
    return CLI_FAIL;
  }
  argus_face_engine_opts o;
  memset(&o, 0, sizeof o);
  o.models_dir = c->models;
  o.pool = c->pool;
  o.allow_unverified = c->unverified;
  o.plugin = c->plugin;
  o.embedder = c->embedder;
  argus_face_error err = {{0}};
  rc = argus_face_engine_create(&o, &c->engine, &err);
  if (rc) {
    cli_errorf(c->cmd, "%s (%s)", err.msg[0] ? err.msg : argus_strerror(rc),
               argus_errname(rc));
    return CLI_FAIL;
  }
  c->faces = malloc(FACE_CLI_MAX_FACES * sizeof *c->faces);
  if (with_embeddings)
    c->emb = malloc((size_t)FACE_CLI_MAX_FACES *
                    (size_t)argus_face_engine_dim(c->engine) * sizeof(float));
  if (!c->faces || (with_embeddings && !c->emb)) {
    cli_errorf(c->cmd, "out of memory");
    return CLI_FAIL;
  }
  return CLI_OK;
}

void face_cli_close(face_cli *c) {
  argus_face_engine_free(c->engine);
  argus_threadpool_destroy(c->pool);
  free(c->faces);
  free(c->emb);
  c->engine = NULL;
  c->pool = NULL;
  c->faces = NULL;
  c->emb = NULL;
}

/* {"file", "error"} */
typedef struct file_error {
  const char *file, *msg;
} file_error;

static void file_error_json(const void *rec, argus_json *j) {
  const file_error *r = rec;
  argus_json_obj_begin(j, NULL);
  argus_json_str(j, "file", r->file);
  argus_json_str(j, "error", r->msg);
  argus_json_obj_end(j);
}

void face_cli_file_error(face_cli *c, const char *path, const char *fmt, ...) {
  char msg[600];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  /* Messages from the image reader may already start with the path. */
  size_t n = strlen(path);
  if (strncmp(msg, path, n) == 0 && msg[n] == ':')
    cli_errorf(c->cmd, "%s", msg);
  else
    cli_errorf(c->cmd, "%s: %s", path, msg);
  if (c->json) {
    file_error r = {path, msg};
    if (cli_json_print(stdout, c->cmd, file_error_json, &r) == 0)
      fputc('\n', stdout);
    fflush(stdout);
  }
}

int face_cli_read(face_cli *c, const char *path, argus_image *img) {
  argus_image_error ie = {{0}};
  argus_err rc = argus_image_read_file(path, ARGUS_PIX_RGB8, img, &ie);
  if (rc) {
    face_cli_file_error(c, path, "%s (%s)",
                        ie.msg[0] ? ie.msg : argus_strerror(rc),
                        argus_errname(rc));
    return -1;
  }
  return 0;
}

void face_cli_image_json_fn(const void *rec, argus_json *j) {
  const face_cli_image_json *r = rec;
  argus_json_obj_begin(j, NULL);
  argus_json_str(j, "file", r->file);
  if (r->width > 0) {
    argus_json_int(j, "width", r->width);
    argus_json_int(j, "height", r->height);
  }
  if (r->model)
    argus_json_str(j, "model", r->model);
  if (r->faces) {
    argus_json_arr_begin(j, "faces");
    for (int k = 0; k < r->n; k++) {
      argus_json_obj_begin(j, NULL);
      argus_face_json_members(
          &r->faces[k], r->embs ? r->embs + (size_t)k * (size_t)r->dim : NULL,
          r->dim, r->flags, j);
      argus_json_obj_end(j);
    }
    argus_json_arr_end(j);
  } else {
    argus_face_json_floats(j, "embedding", r->embs, r->dim);
  }
  argus_json_obj_end(j);
}

void face_cli_text_face(FILE *f, int index, const argus_face *fc) {
  fprintf(f, "  face %d: box %.0f,%.0f,%.0f,%.0f score %.3f", index,
          fc->box[0], fc->box[1], fc->box[2], fc->box[3], fc->score);
  if (fc->has_quality) {
    const argus_face_quality *q = &fc->quality;
    fprintf(f, " quality %.2f (ipd %.0f px, sharpness %.2f, yaw %.0f, pitch "
               "%.0f, roll %.0f)",
            q->value, q->ipd, q->sharpness, q->yaw, q->pitch, q->roll);
    int k = 0;
    for (int b = 0; b < ARGUS_FACE_Q_NFLAGS; b++)
      if (q->flags & (1u << b))
        fprintf(f, "%s%s", k++ ? ", " : " [",
                argus_face_quality_flag_name(1u << b));
    if (k)
      fputc(']', f);
  }
  fputc('\n', f);
}

static void put(argus_image *im, int x, int y, const uint8_t rgb[3]) {
  if (x < 0 || y < 0 || x >= im->width || y >= im->height)
    return;
  uint8_t *p = im->data[0] + (size_t)y * im->stride[0] + 3 * (size_t)x;
  p[0] = rgb[0];
  p[1] = rgb[1];
  p[2] = rgb[2];
}

static void rect(argus_image *im, int x1, int y1, int x2, int y2, int t,
                 const uint8_t rgb[3]) {
  for (int k = 0; k < t; k++) {
    for (int x = x1 - k; x <= x2 + k; x++) {
      put(im, x, y1 - k, rgb);
      put(im, x, y2 + k, rgb);
    }
    for (int y = y1 - k; y <= y2 + k; y++) {
      put(im, x1 - k, y, rgb);
      put(im, x2 + k, y, rgb);
    }
  }
}

void face_cli_draw(argus_image *img, const argus_face *faces, int n) {
  static const uint8_t green[3] = {40, 220, 60}, yellow[3] = {250, 210, 0},
                       red[3] = {240, 40, 40}, cyan[3] = {0, 220, 255};
  int t = (img->width > img->height ? img->width : img->height) / 500 + 1;
  for (int i = 0; i < n; i++) {
    const argus_face *f = &faces[i];
    const uint8_t *col = green;
    if (f->has_quality)
      col = f->quality.flags ? red : f->quality.value < 0.5f ? yellow : green;
    rect(img, (int)lroundf(f->box[0]), (int)lroundf(f->box[1]),
         (int)lroundf(f->box[2]) - 1, (int)lroundf(f->box[3]) - 1, t, col);
    if (f->npoints == ARGUS_FACE_NPOINTS)
      for (int p = 0; p < ARGUS_FACE_NPOINTS; p++) {
        int x = (int)lroundf(f->points[p][0]), y = (int)lroundf(f->points[p][1]);
        rect(img, x - t, y - t, x + t, y + t, 1, cyan);
      }
  }
}

void face_cli_draw_path(char *buf, size_t size, const char *out, int index,
                        int nfiles) {
  if (nfiles <= 1) {
    snprintf(buf, size, "%s", out);
    return;
  }
  const char *slash = strrchr(out, '/');
  const char *dot = strrchr(out, '.');
  if (!dot || (slash && dot < slash))
    snprintf(buf, size, "%s-%d", out, index);
  else
    snprintf(buf, size, "%.*s-%d%s", (int)(dot - out), out, index, dot);
}
