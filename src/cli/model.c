/* `argus model add FILE.onnx --card CARD.json`: bring your own model. The
 * file is checked against the card's sha256, loaded and held against the
 * card (input name and channels, outputs, embedding length), the card's
 * self-test is run (its optional "self_test" section: a reference input and
 * the output ranges expected from it), and the file and card are copied
 * into the models folder, where argus_face_card_find finds the card first.
 * A file already there with other contents is never overwritten. See
 * docs/models.md. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "argus/face.h"
#include "cli/cli.h"
#include "cli/cli_json.h"

enum { OPT_CARD = 1, OPT_MODELS, OPT_DRY_RUN, OPT_JSON };

void cli_model_usage(FILE *f) {
  // clang-format off
  fputs("Usage: argus model add FILE.onnx --card CARD.json [--models DIR]\n"
        "                       [--dry-run] [--json]\n"
        "\n"
        "Registers a model of another vendor (docs/models.md): checks FILE against\n"
        "the card's sha256, loads it and holds it against the card (input, outputs,\n"
        "embedding length), runs the card's self-test (\"self_test\": a reference\n"
        "input and the output ranges expected from it), then copies FILE and the\n"
        "card into the models folder as the card's \"file\" and NAME.card.json.\n"
        "A file already there with other contents is not overwritten (remove it\n"
        "first); the same contents are 'already registered'. Then use it by its\n"
        "card name: --embedder NAME (identify, import, embed, ...) after moving a\n"
        "watchlist to it with 'argus reindex --model NAME@VERSION'.\n"
        "\n"
        "  --card CARD.json  the model card (required; must pin a sha256)\n"
        "  --models DIR      the models folder (default: $ARGUS_MODELS or ./models)\n"
        "  --dry-run         check and self-test only; register nothing\n"
        "  --json            one JSON object with every check\n",
        f);
  // clang-format on
}

/* ---- self-test ------------------------------------------------------------
 */

#define MAX_CHECKS 40

typedef struct check {
  char what[64];
  double value, lo, hi;
  int ok;
} check;

typedef struct add_report {
  const char *file, *card_path;
  const argus_face_card *card;
  char sha256[65];
  const char *self_test; /* "passed", "failed", "none", "error" */
  char self_test_input[160];
  char self_test_error[ARGUS_ERROR_DETAIL_MAX];
  check checks[MAX_CHECKS];
  int nchecks;
  const char *status; /* "registered", "already registered", "checked" */
  char model_dest[ARGUS_FACE_CARD_PATH + 64];
  char card_dest[ARGUS_FACE_CARD_PATH + 64];
} add_report;

static void add_check(add_report *r, const char *what, double v, double lo,
                      double hi) {
  if (r->nchecks == MAX_CHECKS)
    return;
  check *c = &r->checks[r->nchecks++];
  snprintf(c->what, sizeof c->what, "%s", what);
  c->value = v;
  c->lo = lo;
  c->hi = hi;
  c->ok = v >= lo && v <= hi; /* NaN fails */
}

/* [lo, hi] from a JSON array of two numbers. */
static int get_range(const cJSON *v, double *lo, double *hi) {
  if (!cJSON_IsArray(v) || cJSON_GetArraySize(v) != 2)
    return -1;
  const cJSON *a = cJSON_GetArrayItem(v, 0), *b = cJSON_GetArrayItem(v, 1);
  if (!cJSON_IsNumber(a) || !cJSON_IsNumber(b) || !(a->valuedouble <= b->valuedouble))
    return -1;
  *lo = a->valuedouble;
  *hi = b->valuedouble;
  return 0;
}

/* The generated "gradient" pattern: red along x, green along y, blue along
 * the diagonal; exact integers, the same on every machine. */
static argus_err make_gradient(int w, int h, argus_image *img) {
  argus_err rc = argus_image_alloc(img, w, h, ARGUS_PIX_RGB8);
  if (rc)
    return rc;
  for (int y = 0; y < h; y++) {
    uint8_t *row = img->data[0] + (size_t)y * img->stride[0];
    for (int x = 0; x < w; x++) {
      row[3 * x] = (uint8_t)(w > 1 ? x * 255 / (w - 1) : 0);
      row[3 * x + 1] = (uint8_t)(h > 1 ? y * 255 / (h - 1) : 0);
      row[3 * x + 2] = (uint8_t)(w + h > 2 ? (x + y) * 255 / (w + h - 2) : 0);
    }
  }
  return ARGUS_OK;
}

/* The reference input of the self-test: {"pattern": "gradient", "width",
 * "height"} or {"image": PATH} (relative to the card's folder). */
static int self_test_input(const cJSON *in, const char *card_path,
                           const argus_face_card *card, add_report *r,
                           argus_image *img) {
  const cJSON *pat = cJSON_GetObjectItemCaseSensitive(in, "pattern");
  const cJSON *im = cJSON_GetObjectItemCaseSensitive(in, "image");
  if (cJSON_IsString(pat)) {
    if (strcmp(pat->valuestring, "gradient") != 0) {
      snprintf(r->self_test_error, sizeof r->self_test_error,
               "self_test.input.pattern '%s' is not known (gradient)",
               pat->valuestring);
      return -1;
    }
    int w = card->kind == ARGUS_FACE_MODEL_EMBEDDER ? card->align_width
                                                    : (int)card->input_shape[3];
    int h = card->kind == ARGUS_FACE_MODEL_EMBEDDER ? card->align_height
                                                    : (int)card->input_shape[2];
    const cJSON *jw = cJSON_GetObjectItemCaseSensitive(in, "width");
    const cJSON *jh = cJSON_GetObjectItemCaseSensitive(in, "height");
    double dw = cJSON_IsNumber(jw) ? jw->valuedouble : w;
    double dh = cJSON_IsNumber(jh) ? jh->valuedouble : h;
    if (!(dw >= 8 && dh >= 8 && dw <= 4096 && dh <= 4096)) {
      snprintf(r->self_test_error, sizeof r->self_test_error,
               "self_test.input: pattern size %gx%g is outside 8..4096", dw,
               dh);
      return -1;
    }
    w = (int)dw;
    h = (int)dh;
    snprintf(r->self_test_input, sizeof r->self_test_input,
             "pattern gradient %dx%d", w, h);
    if (make_gradient(w, h, img) != ARGUS_OK) {
      snprintf(r->self_test_error, sizeof r->self_test_error, "out of memory");
      return -1;
    }
    return 0;
  }
  if (cJSON_IsString(im)) {
    char path[ARGUS_FACE_CARD_PATH * 2];
    const char *slash = strrchr(card_path, '/');
    if (im->valuestring[0] == '/' || !slash)
      snprintf(path, sizeof path, "%s", im->valuestring);
    else
      snprintf(path, sizeof path, "%.*s/%s", (int)(slash - card_path),
               card_path, im->valuestring);
    snprintf(r->self_test_input, sizeof r->self_test_input, "image %s",
             im->valuestring);
    argus_image_error ie = {{0}};
    argus_err rc = argus_image_read_file(path, ARGUS_PIX_RGB8, img, &ie);
    if (rc) {
      snprintf(r->self_test_error, sizeof r->self_test_error,
               "self_test.input.image %s: %s", path,
               ie.msg[0] ? ie.msg : argus_strerror(rc));
      return -1;
    }
    return 0;
  }
  snprintf(r->self_test_error, sizeof r->self_test_error,
           "self_test.input needs \"pattern\": \"gradient\" or \"image\": "
           "PATH");
  return -1;
}

static int run_embedder_test(const argus_face_card *card, argus_nn_model *m,
                             const argus_image *img, const cJSON *expect,
                             add_report *r) {
  argus_face_embedder e;
  argus_face_error fe = {{0}};
  argus_err rc = argus_face_embedder_create(card, m, 1, &e, &fe);
  if (rc) {
    snprintf(r->self_test_error, sizeof r->self_test_error, "%s", fe.msg);
    return -1;
  }
  void *st = NULL;
  float *v = malloc((size_t)e.dim * sizeof *v);
  float norm = 0;
  int ret = -1;
  if (!v || (e.ops->state_create && e.ops->state_create(e.ctx, &st))) {
    snprintf(r->self_test_error, sizeof r->self_test_error, "out of memory");
    goto out;
  }
  if ((rc = e.ops->embed_aligned(e.ctx, st, img, 1, v, &fe)) ||
      (e.ops->raw_norms && (rc = e.ops->raw_norms(e.ctx, st, img, 1, &norm,
                                                  &fe)))) {
    snprintf(r->self_test_error, sizeof r->self_test_error, "%s", fe.msg);
    goto out;
  }
  double lo, hi;
  const cJSON *jn = cJSON_GetObjectItemCaseSensitive(expect, "norm");
  if (jn && get_range(jn, &lo, &hi) == 0)
    add_check(r, "raw norm", norm, lo, hi);
  const cJSON *vals = cJSON_GetObjectItemCaseSensitive(expect, "values");
  const cJSON *it;
  cJSON_ArrayForEach(it, vals) {
    /* [index, lo, hi] */
    if (!cJSON_IsArray(it) || cJSON_GetArraySize(it) != 3 ||
        !cJSON_IsNumber(cJSON_GetArrayItem(it, 0)) ||
        !cJSON_IsNumber(cJSON_GetArrayItem(it, 1)) ||
        !cJSON_IsNumber(cJSON_GetArrayItem(it, 2))) {
      snprintf(r->self_test_error, sizeof r->self_test_error,
               "self_test.expect.values must hold [index, min, max] arrays");
      goto out;
    }
    double idx = cJSON_GetArrayItem(it, 0)->valuedouble;
    if (!(idx >= 0 && idx < e.dim) || idx != floor(idx)) {
      snprintf(r->self_test_error, sizeof r->self_test_error,
               "self_test.expect.values: index %g is not in [0, %d)", idx,
               e.dim);
      goto out;
    }
    char what[64];
    snprintf(what, sizeof what, "embedding[%d]", (int)idx);
    add_check(r, what, v[(int)idx], cJSON_GetArrayItem(it, 1)->valuedouble,
              cJSON_GetArrayItem(it, 2)->valuedouble);
  }
  int finite = 1;
  for (int k = 0; k < e.dim; k++)
    finite = finite && isfinite(v[k]);
  add_check(r, "finite values", finite, 1, 1);
  ret = 0;
out:
  if (st && e.ops->state_free)
    e.ops->state_free(e.ctx, st);
  free(v);
  argus_face_embedder_destroy(&e);
  return ret;
}

#define TEST_BOXES 4096

static int run_detector_test(const argus_face_card *card, argus_nn_model *m,
                             const argus_image *img, const cJSON *expect,
                             add_report *r) {
  argus_face_detector d;
  argus_face_error fe = {{0}};
  argus_err rc = argus_face_detector_create(card, m, &d, &fe);
  if (rc) {
    snprintf(r->self_test_error, sizeof r->self_test_error, "%s", fe.msg);
    return -1;
  }
  void *st = NULL;
  int ret = -1, np = 0, total = 0;
  argus_face_pass passes[16];
  argus_face_box *boxes = malloc(TEST_BOXES * sizeof *boxes);
  argus_face_detect_opts o;
  argus_face_detect_opts_default(&o);
  if (!boxes || (d.ops->state_create && d.ops->state_create(d.ctx, &st))) {
    snprintf(r->self_test_error, sizeof r->self_test_error, "out of memory");
    goto out;
  }
  if ((rc = argus_face_plan_passes(&d, img->width, img->height, &o, passes, 16,
                                   &np))) {
    snprintf(r->self_test_error, sizeof r->self_test_error,
             "cannot plan detection passes on a %dx%d input: %s", img->width,
             img->height, argus_strerror(rc));
    goto out;
  }
  for (int i = 0; i < np; i++) {
    int n = 0;
    if ((rc = d.ops->detect_pass(d.ctx, st, img, &passes[i], d.default_score,
                                 boxes + total, TEST_BOXES - total, &n, &fe))) {
      snprintf(r->self_test_error, sizeof r->self_test_error, "%s", fe.msg);
      goto out;
    }
    total += n;
  }
  int kept = 0;
  argus_face_nms(boxes, total, d.default_nms_iou, 0, &kept);
  double lo, hi;
  const cJSON *jf = cJSON_GetObjectItemCaseSensitive(expect, "faces");
  if (jf && get_range(jf, &lo, &hi) == 0)
    add_check(r, "faces", kept, lo, hi);
  const cJSON *js = cJSON_GetObjectItemCaseSensitive(expect, "top_score");
  if (js && get_range(js, &lo, &hi) == 0)
    add_check(r, "top score", kept ? boxes[0].score : 0, lo, hi);
  ret = 0;
out:
  if (st && d.ops->state_free)
    d.ops->state_free(d.ctx, st);
  free(boxes);
  argus_face_detector_destroy(&d);
  return ret;
}

/* Runs the card's "self_test" (if any). Returns 0 when it passed or there
 * is none, 1 when a check failed, -1 on an error (r says which). */
static int self_test(const char *card_path, const argus_face_card *card,
                     argus_nn_model *m, add_report *r) {
  r->self_test = "none";
  FILE *f = fopen(card_path, "rb");
  if (!f)
    return 0; /* read before; a race is not worth an error */
  char *buf = malloc(ARGUS_FACE_CARD_MAX_BYTES + 1);
  size_t n = buf ? fread(buf, 1, ARGUS_FACE_CARD_MAX_BYTES, f) : 0;
  fclose(f);
  cJSON *root = buf ? cJSON_ParseWithLength(buf, n) : NULL;
  free(buf);
  const cJSON *t = cJSON_GetObjectItemCaseSensitive(root, "self_test");
  int ret = 0;
  argus_image img;
  memset(&img, 0, sizeof img);
  if (!t)
    goto done;
  r->self_test = "error";
  ret = -1;
  const cJSON *in = cJSON_GetObjectItemCaseSensitive(t, "input");
  const cJSON *expect = cJSON_GetObjectItemCaseSensitive(t, "expect");
  if (!cJSON_IsObject(t) || !cJSON_IsObject(in) || !cJSON_IsObject(expect)) {
    snprintf(r->self_test_error, sizeof r->self_test_error,
             "'self_test' must be an object with objects 'input' and "
             "'expect'");
    goto done;
  }
  if (self_test_input(in, card_path, card, r, &img))
    goto done;
  if (card->kind == ARGUS_FACE_MODEL_EMBEDDER) {
    if (run_embedder_test(card, m, &img, expect, r))
      goto done;
  } else if (card->kind == ARGUS_FACE_MODEL_DETECTOR) {
    if (run_detector_test(card, m, &img, expect, r))
      goto done;
  } else {
    snprintf(r->self_test_error, sizeof r->self_test_error,
             "self-tests are run for detectors and embedders only");
    goto done;
  }
  if (r->nchecks == 0) {
    snprintf(r->self_test_error, sizeof r->self_test_error,
             "self_test.expect names no range this kind of model has "
             "(embedder: norm, values; detector: faces, top_score)");
    goto done;
  }
  ret = 0;
  for (int i = 0; i < r->nchecks; i++)
    if (!r->checks[i].ok)
      ret = 1;
  r->self_test = ret ? "failed" : "passed";
done:
  argus_image_free(&img);
  cJSON_Delete(root);
  return ret;
}

/* ---- registering --------------------------------------------------------- */

/* 1 when the files have the same contents, 0 when not, -1 on a read error. */
static int same_file(const char *a, const char *b) {
  char ha[65], hb[65];
  if (argus_face_file_sha256(a, ha) || argus_face_file_sha256(b, hb))
    return -1;
  return strcmp(ha, hb) == 0;
}

/* Copies src to dst through dst.tmp and a rename, so that a reader never
 * sees half a file. */
static int copy_file(const char *cmd, const char *src, const char *dst) {
  char tmp[ARGUS_FACE_CARD_PATH + 80];
  snprintf(tmp, sizeof tmp, "%s.tmp%ld", dst, (long)getpid());
  FILE *in = fopen(src, "rb");
  if (!in) {
    cli_errorf(cmd, "%s: %s", src, strerror(errno));
    return -1;
  }
  FILE *out = fopen(tmp, "wb");
  if (!out) {
    cli_errorf(cmd, "%s: %s", tmp, strerror(errno));
    fclose(in);
    return -1;
  }
  char buf[65536];
  size_t n;
  int bad = 0;
  while ((n = fread(buf, 1, sizeof buf, in)) > 0)
    if (fwrite(buf, 1, n, out) != n) {
      bad = 1;
      break;
    }
  bad = bad || ferror(in);
  fclose(in);
  if (fflush(out) != 0 || fsync(fileno(out)) != 0)
    bad = 1;
  if (fclose(out) != 0)
    bad = 1;
  if (bad || rename(tmp, dst) != 0) {
    cli_errorf(cmd, "cannot write %s: %s", dst, strerror(errno));
    remove(tmp);
    return -1;
  }
  return 0;
}

/* Places src at dst unless dst exists: same contents -> 1, other contents ->
 * -1 (refused, reported), copied -> 0. */
static int place(const char *cmd, const char *src, const char *dst,
                 const char *what) {
  struct stat st;
  if (stat(dst, &st) == 0) {
    int same = same_file(src, dst);
    if (same == 1)
      return 1;
    cli_errorf(cmd,
               "%s %s already exists with other contents; not overwriting it "
               "(remove it first to replace that model)",
               what, dst);
    return -1;
  }
  return copy_file(cmd, src, dst) ? -1 : 0;
}

static void report_json(const void *rec, argus_json *j) {
  const add_report *r = rec;
  argus_json_obj_begin(j, NULL);
  argus_json_str(j, "file", r->file);
  argus_json_str(j, "card", r->card_path);
  if (r->card) {
    char id[2 * ARGUS_FACE_CARD_NAME];
    snprintf(id, sizeof id, "%s@%s", r->card->name, r->card->version);
    argus_json_str(j, "id", id);
    argus_json_str(j, "kind",
                   r->card->kind == ARGUS_FACE_MODEL_DETECTOR     ? "detector"
                   : r->card->kind == ARGUS_FACE_MODEL_LANDMARKER ? "landmarker"
                                                                  : "embedder");
  }
  argus_json_str(j, "sha256", r->sha256);
  argus_json_obj_begin(j, "self_test");
  argus_json_str(j, "status", r->self_test ? r->self_test : "none");
  if (r->self_test_input[0])
    argus_json_str(j, "input", r->self_test_input);
  if (r->self_test_error[0])
    argus_json_str(j, "error", r->self_test_error);
  argus_json_arr_begin(j, "checks");
  for (int i = 0; i < r->nchecks; i++) {
    argus_json_obj_begin(j, NULL);
    argus_json_str(j, "what", r->checks[i].what);
    argus_json_num(j, "value", r->checks[i].value, -9);
    argus_json_num(j, "min", r->checks[i].lo, -9);
    argus_json_num(j, "max", r->checks[i].hi, -9);
    argus_json_bool(j, "ok", r->checks[i].ok);
    argus_json_obj_end(j);
  }
  argus_json_arr_end(j);
  argus_json_obj_end(j);
  if (r->status) {
    argus_json_str(j, "status", r->status);
    if (r->model_dest[0])
      argus_json_str(j, "model_path", r->model_dest);
    if (r->card_dest[0])
      argus_json_str(j, "card_path", r->card_dest);
  }
  argus_json_obj_end(j);
}

/* A card's "file" must be a plain name inside the models folder. */
static int plain_name(const char *s) {
  return s[0] && s[0] != '.' && !strchr(s, '/') && !strchr(s, '\\');
}

static int model_add(int argc, char **argv) {
  static const cli_opt opts[] = {{"card", 1, OPT_CARD},
                                 {"models", 1, OPT_MODELS},
                                 {"dry-run", 0, OPT_DRY_RUN},
                                 {"json", 0, OPT_JSON},
                                 {NULL, 0, 0}};
  const char *cmd = "model add";
  const char *file = NULL, *card_path = NULL, *models = NULL;
  int dry = 0, json = 0;
  cli_parser p;
  cli_parser_init(&p, argc, argv, cmd, opts);
  for (;;) {
    int id = cli_parse_next(&p);
    if (id == CLI_OPT_END)
      break;
    switch (id) {
    case CLI_OPT_HELP: cli_model_usage(stdout); return CLI_OK;
    case CLI_OPT_ERROR: return cli_bad_value(cmd);
    case CLI_OPT_POSITIONAL:
      if (file) {
        cli_errorf(cmd, "one model file at a time ('%s' and '%s')", file,
                   p.arg);
        return cli_bad_value(cmd);
      }
      file = p.arg;
      break;
    case OPT_CARD: card_path = p.arg; break;
    case OPT_MODELS: models = p.arg; break;
    case OPT_DRY_RUN: dry = 1; break;
    case OPT_JSON: json = 1; break;
    }
  }
  if (!file || !card_path) {
    cli_errorf(cmd, "%s", !file ? "no model file given" : "--card is required");
    return cli_bad_value(cmd);
  }
  if (!models || !models[0])
    models = getenv("ARGUS_MODELS");
  if (!models || !models[0])
    models = "models";
  add_report r;
  memset(&r, 0, sizeof r);
  r.file = file;
  r.card_path = card_path;
  argus_face_card card;
  argus_face_error fe = {{0}};
  argus_nn_model *m = NULL;
  int rc = CLI_FAIL;
  argus_err e = argus_face_card_load(card_path, &card, &fe);
  if (e) {
    cli_errorf(cmd, "%s (%s)", fe.msg[0] ? fe.msg : argus_strerror(e),
               argus_errname(e));
    return CLI_FAIL;
  }
  r.card = &card;
  if (!card.sha256[0]) {
    cli_errorf(cmd, "%s: the card pins no sha256; a registered model must "
               "(add \"sha256\": \"<64 hex digits>\")", card_path);
    return CLI_FAIL;
  }
  if (!plain_name(card.file)) {
    cli_errorf(cmd, "%s: \"file\" '%s' must be a plain file name (it is "
               "placed in the models folder)", card_path, card.file);
    return CLI_FAIL;
  }
  if ((e = argus_face_file_sha256(file, r.sha256))) {
    cli_errorf(cmd, "%s: %s", file,
               e == ARGUS_E_NOT_FOUND ? "no such file" : argus_strerror(e));
    return CLI_FAIL;
  }
  if (strcmp(r.sha256, card.sha256) != 0) {
    cli_errorf(cmd, "%s has sha256 %s, the card %s pins %s: not the model "
               "the card describes; refusing it (CHECKSUM)",
               file, r.sha256, card_path, card.sha256);
    return CLI_FAIL;
  }
  argus_nn_error ne = {{0}};
  if ((e = argus_nn_model_load_file(file, &m, &ne))) {
    cli_errorf(cmd, "%s: %s (%s)", file, ne.msg[0] ? ne.msg : argus_strerror(e),
               argus_errname(e));
    return CLI_FAIL;
  }
  /* The card against the model (the self-test does it again for the kinds
   * it runs; a landmarker is only checked here). */
  if (card.kind == ARGUS_FACE_MODEL_LANDMARKER) {
    argus_face_landmarker l;
    e = argus_face_landmarker_create(&card, m, &l, &fe);
    argus_face_landmarker_destroy(&l);
    if (e) {
      cli_errorf(cmd, "%s does not fit its card: %s", file, fe.msg);
      goto out;
    }
  }
  int st = self_test(card_path, &card, m, &r);
  if (st < 0) {
    cli_errorf(cmd, "self-test of %s: %s", card_path, r.self_test_error);
  } else if (st > 0) {
    for (int i = 0; i < r.nchecks; i++)
      if (!r.checks[i].ok)
        cli_errorf(cmd, "self-test failed: %s = %.9g, expected [%.9g, %.9g]",
                   r.checks[i].what, r.checks[i].value, r.checks[i].lo,
                   r.checks[i].hi);
  }
  if (st == 0 && !dry) {
    struct stat sd;
    if (stat(models, &sd) != 0 && mkdir(models, 0755) != 0) {
      cli_errorf(cmd, "cannot create the models folder %s: %s", models,
                 strerror(errno));
      goto out;
    }
    snprintf(r.model_dest, sizeof r.model_dest, "%s/%s", models, card.file);
    snprintf(r.card_dest, sizeof r.card_dest, "%s/%s.card.json", models,
             card.name);
    /* Both are checked before either is written. */
    struct stat s1, s2;
    int have_model = stat(r.model_dest, &s1) == 0,
        have_card = stat(r.card_dest, &s2) == 0;
    if ((have_model && same_file(file, r.model_dest) != 1) ||
        (have_card && same_file(card_path, r.card_dest) != 1)) {
      cli_errorf(cmd,
                 "%s already exists with other contents; not overwriting it "
                 "(remove it first to replace that model)",
                 have_model && same_file(file, r.model_dest) != 1
                     ? r.model_dest
                     : r.card_dest);
      goto out;
    }
    int a = place(cmd, file, r.model_dest, "model file");
    int b = a < 0 ? -1 : place(cmd, card_path, r.card_dest, "card");
    if (a < 0 || b < 0)
      goto out;
    r.status = a == 1 && b == 1 ? "already registered" : "registered";
  } else if (st == 0) {
    r.status = "checked";
  }
  if (json) {
    if (cli_json_print(stdout, "model add", report_json, &r) == 0)
      fputc('\n', stdout);
  } else {
    printf("%s: sha256 %s matches the card %s\n", file, r.sha256, card_path);
    printf("  %s %s@%s\n",
           card.kind == ARGUS_FACE_MODEL_DETECTOR     ? "detector"
           : card.kind == ARGUS_FACE_MODEL_LANDMARKER ? "landmarker"
                                                      : "embedder",
           card.name, card.version);
    if (strcmp(r.self_test, "none") == 0)
      printf("  self-test: none in the card (optional; docs/models.md)\n");
    else
      printf("  self-test (%s): %s\n", r.self_test_input, r.self_test);
    for (int i = 0; i < r.nchecks; i++)
      printf("    %-16s %.6g in [%.6g, %.6g]: %s\n", r.checks[i].what,
             r.checks[i].value, r.checks[i].lo, r.checks[i].hi,
             r.checks[i].ok ? "ok" : "FAILED");
    if (r.status && strcmp(r.status, "checked") == 0)
      printf("  checked only (--dry-run): nothing registered\n");
    else if (r.status)
      printf("  %s: %s, %s\n", r.status, r.model_dest, r.card_dest);
  }
  rc = st == 0 ? CLI_OK : CLI_FAIL;
out:
  argus_nn_model_free(m);
  return rc;
}

int cli_model_main(int argc, char **argv) {
  if (argc < 2 || strcmp(argv[1], "-h") == 0 ||
      strcmp(argv[1], "--help") == 0) {
    cli_model_usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? CLI_USAGE : CLI_OK;
  }
  if (strcmp(argv[1], "add") == 0)
    return model_add(argc - 1, argv + 1);
  cli_errorf("model", "unknown subcommand '%s' (add)", argv[1]);
  return cli_bad_value("model");
}
