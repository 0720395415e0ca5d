/* Model cards: the three committed cards parse with the values of
 * MODELS.md; malformed cards are refused with a message naming the field;
 * threshold lookup by false-match rate; card lookup; SHA-256. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "argus/face.h"
#include "check.h"

static const char *src_dir(void) {
  const char *s = getenv("ARGUS_SOURCE_DIR");
  return s ? s : ".";
}

static void load(const char *name, argus_face_card *c) {
  char path[1024];
  snprintf(path, sizeof path, "%s/share/models/%s.card.json", src_dir(), name);
  argus_face_error e = {{0}};
  argus_err rc = argus_face_card_load(path, c, &e);
  if (rc)
    fprintf(stderr, "%s\n", e.msg);
  CHECK_OK(rc);
}

static void test_committed(void) {
  argus_face_card c;
  load("fr_detect", &c);
  CHECK_INT_EQ(c.kind, ARGUS_FACE_MODEL_DETECTOR);
  CHECK(strcmp(c.file, "fr_detect.onnx") == 0);
  CHECK(strcmp(c.sha256, "6c0256ccd3164f844736a401faf936ec2930764a87ae39442"
                         "180887d0c5c8854") == 0);
  CHECK_INT_EQ(c.channels, ARGUS_CH_RGB);
  CHECK_NEAR(c.mean, 127, 0, 0);
  CHECK_NEAR(c.scale, 1.0 / 128, 1e-9, 0);
  CHECK_INT_EQ(c.priors.nlevels, 4);
  CHECK_INT_EQ(c.priors.steps[3], 64);
  CHECK_INT_EQ(c.priors.nsizes[3], 3);
  CHECK_NEAR(c.priors.min_sizes[3][2], 256, 0, 0);
  CHECK_NEAR(c.center_variance, 0.1, 1e-7, 0);
  CHECK_NEAR(c.size_variance, 0.2, 1e-7, 0);
  CHECK(strcmp(c.scores_output, "461") == 0);
  CHECK(strcmp(c.deltas_output, "462") == 0);
  CHECK_NEAR(c.nms_iou, 0.4, 1e-7, 0);

  load("fr_landmark", &c);
  CHECK_INT_EQ(c.kind, ARGUS_FACE_MODEL_LANDMARKER);
  CHECK_INT_EQ(c.channels, ARGUS_CH_GRAY);
  CHECK_NEAR(c.scale, 1.0 / 256, 1e-9, 0);
  CHECK_INT_EQ(c.npoints, 68);
  CHECK_INT_EQ(c.nfive[0], 4);
  CHECK_INT_EQ(c.five[0][0], 37);
  CHECK_INT_EQ(c.five[1][3], 47);
  CHECK_INT_EQ(c.nfive[2], 1);
  CHECK_INT_EQ(c.five[2][0], 30);
  CHECK_INT_EQ(c.five[4][1], 64);

  load("fr_feature", &c);
  CHECK_INT_EQ(c.kind, ARGUS_FACE_MODEL_EMBEDDER);
  CHECK_INT_EQ(c.channels, ARGUS_CH_BGR);
  CHECK_INT_EQ(c.dim, 512);
  CHECK_INT_EQ(c.align_width, 112);
  CHECK_NEAR(c.align_template[0][0], 38.2946, 1e-4, 0);
  CHECK_NEAR(c.align_template[4][1], 92.2041, 1e-4, 0);
  CHECK_INT_EQ(c.nthresholds, 3);
  CHECK(c.thresholds[0].fmr > c.thresholds[1].fmr);
  CHECK(c.thresholds[0].threshold < c.thresholds[2].threshold);
  /* Lookup: exact, in between (the stricter point), default, too strict. */
  float t;
  double f;
  CHECK_OK(argus_face_card_threshold(&c, 1e-3, &t, &f));
  CHECK_NEAR(f, 1e-3, 1e-12, 0);
  CHECK_NEAR(t, c.thresholds[1].threshold, 0, 0);
  CHECK_OK(argus_face_card_threshold(&c, 5e-3, &t, &f));
  CHECK_NEAR(f, 1e-3, 1e-12, 0);
  CHECK_OK(argus_face_card_threshold(&c, 0, &t, &f));
  CHECK_NEAR(f, c.default_fmr, 0, 0);
  CHECK_INT_EQ(argus_face_card_threshold(&c, 1e-9, &t, &f), ARGUS_E_NOT_FOUND);
  CHECK(c.calibration[0] != '\0');
}

/* A minimal valid embedder card with one field replaced by `patch` (a
 * "key": value fragment that comes last and so overrides). */
static argus_err parse_with(const char *patch, argus_face_error *e) {
  char buf[4096];
  snprintf(buf, sizeof buf,
           "{\"card_version\":1,\"kind\":\"embedder\",\"name\":\"x\","
           "\"version\":\"1\",\"file\":\"x.onnx\","
           "\"input\":{\"name\":\"input\",\"shape\":[1,3,112,112],"
           "\"layout\":\"NCHW\",\"channels\":\"BGR\",\"mean\":127,"
           "\"scale\":0.0078125},"
           "\"decoder\":{\"kind\":\"embedding\",\"output\":\"output\","
           "\"dim\":512},"
           "\"alignment\":{\"method\":\"similarity_least_squares\","
           "\"width\":112,\"height\":112,\"template\":[[1,2],[3,4],[5,6],"
           "[7,8],[9,10]]},"
           "\"thresholds\":{\"1e-2\":0.3,\"1e-3\":0.4}%s%s}",
           patch[0] ? "," : "", patch);
  argus_face_card c;
  memset(e, 0, sizeof *e);
  return argus_face_card_parse(buf, strlen(buf), "test.card.json", &c, e);
}

static void expect_bad(const char *patch, argus_err code, const char *needle) {
  argus_face_error e;
  argus_err rc = parse_with(patch, &e);
  CHECK_INT_EQ(rc, code);
  if (needle && !strstr(e.msg, needle)) {
    fprintf(stderr, "message '%s' lacks '%s' (patch %s)\n", e.msg, needle,
            patch);
    CHECK(0);
  }
  CHECK(strstr(e.msg, "test.card.json") != NULL);
}

static void test_malformed(void) {
  argus_face_error e;
  CHECK_OK(parse_with("", &e));
  CHECK_OK(parse_with("\"default_fmr\":\"1e-2\"", &e));
  /* cJSON keeps the first of duplicate keys; replacements use new keys or
   * whole objects where possible, so errors come from the tested field. */
  expect_bad("\"default_fmr\":\"1e-5\"", ARGUS_E_CORRUPT, "default_fmr");
  expect_bad("\"default_fmr\":\"often\"", ARGUS_E_CORRUPT, "default_fmr");
  expect_bad("\"calibration\":{\"method\":\"x\"}", ARGUS_E_CORRUPT,
             "calibration.status");
  expect_bad("\"calibration\":[]", ARGUS_E_CORRUPT, "calibration");
  expect_bad("\"sha256\":\"abc\"", ARGUS_E_CORRUPT, "sha256");

  const char *cases[][2] = {
      {"{", "not valid JSON"},
      {"[]", "JSON object"},
      {"{\"card_version\":2}", "card_version"},
      {"{\"card_version\":1}", "kind"},
      {"{\"card_version\":1,\"kind\":\"oracle\",\"name\":\"x\",\"version\":"
       "\"1\",\"file\":\"f\",\"input\":{\"name\":\"i\",\"shape\":[1,3,4,4],"
       "\"layout\":\"NCHW\",\"channels\":\"RGB\",\"mean\":0,\"scale\":1}}",
       "kind 'oracle'"},
      {"{\"card_version\":1,\"kind\":\"detector\",\"name\":\"x\",\"version\":"
       "\"1\",\"file\":\"f\",\"input\":{\"name\":\"i\",\"shape\":[1,3,4,4],"
       "\"layout\":\"NHWC\",\"channels\":\"RGB\",\"mean\":0,\"scale\":1}}",
       "layout"},
      {"{\"card_version\":1,\"kind\":\"detector\",\"name\":\"x\",\"version\":"
       "\"1\",\"file\":\"f\",\"input\":{\"name\":\"i\",\"shape\":[1,1,4,4],"
       "\"layout\":\"NCHW\",\"channels\":\"RGB\",\"mean\":0,\"scale\":1}}",
       "channels"},
      {"{\"card_version\":1,\"kind\":\"detector\",\"name\":\"x\",\"version\":"
       "\"1\",\"file\":\"f\",\"input\":{\"name\":\"i\",\"shape\":[1,3,4,4],"
       "\"layout\":\"NCHW\",\"channels\":\"RGB\",\"mean\":0,\"scale\":1},"
       "\"decoder\":{\"kind\":\"ssd_priors\",\"scores\":\"a\",\"deltas\":"
       "\"b\",\"steps\":[8,16],\"min_sizes\":[[10]],\"variances\":[0.1,0.2]"
       "}}",
       "min_sizes"},
      {"{\"card_version\":1,\"kind\":\"detector\",\"name\":\"x\",\"version\":"
       "\"1\",\"file\":\"f\",\"input\":{\"name\":\"i\",\"shape\":[1,3,4,4],"
       "\"layout\":\"NCHW\",\"channels\":\"RGB\",\"mean\":0,\"scale\":1},"
       "\"decoder\":{\"kind\":\"ssd_priors\",\"scores\":\"a\",\"deltas\":"
       "\"b\",\"steps\":[8],\"min_sizes\":[[10]],\"variances\":[0.1,-1]}}",
       "variances"},
      {"{\"card_version\":1,\"kind\":\"landmarker\",\"name\":\"x\",\"version\":"
       "\"1\",\"file\":\"f\",\"input\":{\"name\":\"i\",\"shape\":[1,1,64,64],"
       "\"layout\":\"NCHW\",\"channels\":\"GRAY\",\"mean\":0,\"scale\":1},"
       "\"decoder\":{\"kind\":\"points_normalised\",\"output\":\"o\","
       "\"points\":68,\"five_points\":[[1],[2],[3],[4],[68]]}}",
       "five_points[4]"},
      {"{\"card_version\":1,\"kind\":\"embedder\",\"name\":\"x\",\"version\":"
       "\"1\",\"file\":\"f\",\"input\":{\"name\":\"i\",\"shape\":[1,3,112,112],"
       "\"layout\":\"NCHW\",\"channels\":\"BGR\",\"mean\":0,\"scale\":1},"
       "\"decoder\":{\"kind\":\"embedding\",\"output\":\"o\",\"dim\":512},"
       "\"alignment\":{\"method\":\"similarity_least_squares\",\"width\":112,"
       "\"height\":112,\"template\":[[1,2],[3,4]]},\"thresholds\":{\"1e-3\":"
       "0.4}}",
       "template"},
      {"{\"card_version\":1,\"kind\":\"embedder\",\"name\":\"x\",\"version\":"
       "\"1\",\"file\":\"f\",\"input\":{\"name\":\"i\",\"shape\":[1,3,112,112],"
       "\"layout\":\"NCHW\",\"channels\":\"BGR\",\"mean\":0,\"scale\":1},"
       "\"decoder\":{\"kind\":\"embedding\",\"output\":\"o\",\"dim\":512},"
       "\"alignment\":{\"method\":\"similarity_least_squares\",\"width\":112,"
       "\"height\":112,\"template\":[[1,2],[3,4],[5,6],[7,8],[9,10]]},"
       "\"thresholds\":{\"0.5%\":0.4}}",
       "false-match rate"},
      {"{\"card_version\":1,\"kind\":\"embedder\",\"name\":\"x\",\"version\":"
       "\"1\",\"file\":\"f\",\"input\":{\"name\":\"i\",\"shape\":[1,3,112,112],"
       "\"layout\":\"NCHW\",\"channels\":\"BGR\",\"mean\":0,\"scale\":1},"
       "\"decoder\":{\"kind\":\"embedding\",\"output\":\"o\",\"dim\":512},"
       "\"alignment\":{\"method\":\"similarity_least_squares\",\"width\":112,"
       "\"height\":112,\"template\":[[1,2],[3,4],[5,6],[7,8],[9,10]]},"
       "\"thresholds\":{\"1e-3\":\"high\"}}",
       "thresholds['1e-3']"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    argus_face_card c;
    argus_face_error err = {{0}};
    argus_err rc = argus_face_card_parse(cases[i][0], strlen(cases[i][0]),
                                         "bad.json", &c, &err);
    CHECK(rc != ARGUS_OK);
    if (!strstr(err.msg, cases[i][1])) {
      fprintf(stderr, "case %zu: message '%s' lacks '%s'\n", i, err.msg,
              cases[i][1]);
      CHECK(0);
    }
  }
  /* Not NUL-terminated input, NULLs, oversize. */
  argus_face_card c;
  argus_face_error err;
  CHECK(argus_face_card_parse("{}garbage", 2, NULL, &c, &err) != ARGUS_OK);
  CHECK_INT_EQ(argus_face_card_parse(NULL, 0, NULL, &c, &err),
               ARGUS_E_INVALID_ARG);
  CHECK_INT_EQ(argus_face_card_parse("{}", ARGUS_FACE_CARD_MAX_BYTES + 1, NULL,
                                     &c, &err),
               ARGUS_E_LIMIT);
  CHECK_INT_EQ(argus_face_card_load("/nonexistent/x.card.json", &c, &err),
               ARGUS_E_NOT_FOUND);
  CHECK(strstr(err.msg, "/nonexistent/x.card.json") != NULL);
}

/* The YuNet cards (decoder anchor_free_grid). */
static void test_grid_committed(void) {
  argus_face_card c;
  load("yunet_n", &c);
  CHECK_INT_EQ(c.kind, ARGUS_FACE_MODEL_DETECTOR);
  CHECK_INT_EQ(c.decoder, ARGUS_FACE_DECODER_GRID);
  CHECK(strcmp(c.file, "yunet_n_640_640.onnx") == 0);
  CHECK(strcmp(c.sha256, "25a606a145a5b6d7271ae138fbd00eba91dad8b83222ae3f2"
                         "c7ecd0f4a7b0e31") == 0);
  CHECK_INT_EQ(c.channels, ARGUS_CH_BGR);
  CHECK_NEAR(c.mean, 0, 0, 0);
  CHECK_NEAR(c.scale, 1, 0, 0);
  CHECK_INT_EQ(c.grid.nstrides, 3);
  CHECK_INT_EQ(c.grid.strides[0], 8);
  CHECK_INT_EQ(c.grid.strides[2], 32);
  CHECK(strcmp(c.grid.outputs[0][ARGUS_FACE_HEAD_CLS], "cls_8") == 0);
  CHECK(strcmp(c.grid.outputs[1][ARGUS_FACE_HEAD_OBJ], "obj_16") == 0);
  CHECK(strcmp(c.grid.outputs[2][ARGUS_FACE_HEAD_BBOX], "bbox_32") == 0);
  CHECK(strcmp(c.grid.outputs[2][ARGUS_FACE_HEAD_KPS], "kps_32") == 0);
  CHECK_INT_EQ(c.grid.score, ARGUS_FACE_SCORE_SQRT_CLS_OBJ);
  CHECK_INT_EQ(c.grid.npoints, 5);
  CHECK_INT_EQ(c.grid.pad_to, 32);
  CHECK(c.native_max_side >= 640);
  CHECK(c.score_threshold > 0 && c.score_threshold < 1);
  load("yunet_s", &c);
  CHECK_INT_EQ(c.decoder, ARGUS_FACE_DECODER_GRID);
  CHECK(strcmp(c.file, "yunet_s_640_640.onnx") == 0);
  /* The SSD card says which decoder it is too. */
  load("fr_detect", &c);
  CHECK_INT_EQ(c.decoder, ARGUS_FACE_DECODER_SSD_PRIORS);
}

/* A minimal valid anchor-free detector card with the decoder field `key`
 * replaced by `value` (NULL: removed). */
static argus_err parse_grid_with(const char *key, const char *value,
                                 argus_face_error *e) {
  static const char *const keys[] = {"kind",   "strides", "outputs", "score",
                                     "box",    "points",  "pad_to",  "pad"};
  static const char *const vals[] = {
      "\"anchor_free_grid\"",
      "[8,16]",
      "[{\"cls\":\"c8\",\"obj\":\"o8\",\"bbox\":\"b8\",\"kps\":"
      "\"k8\"},{\"cls\":\"c16\",\"obj\":\"o16\",\"bbox\":\"b16\","
      "\"kps\":\"k16\"}]",
      "\"sqrt_cls_obj\"",
      "\"center_offset_log_size\"",
      "5",
      "32",
      "\"right_bottom\""};
  char dec[2048] = "";
  size_t n = 0;
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
    const char *v = strcmp(keys[i], key) == 0 ? value : vals[i];
    if (!v)
      continue;
    int w = snprintf(dec + n, sizeof dec - n, "%s\"%s\":%s", n ? "," : "",
                     keys[i], v);
    if (w > 0)
      n += (size_t)w;
  }
  char buf[4096];
  snprintf(buf, sizeof buf,
           "{\"card_version\":1,\"kind\":\"detector\",\"name\":\"y\","
           "\"version\":\"1\",\"file\":\"y.onnx\","
           "\"input\":{\"name\":\"input\",\"shape\":[1,3,640,640],"
           "\"layout\":\"NCHW\",\"channels\":\"BGR\",\"mean\":0,"
           "\"scale\":1},\"decoder\":{%s},"
           "\"defaults\":{\"score_threshold\":0.6,\"nms_iou\":0.45,"
           "\"native_max_side\":1920}}",
           dec);
  argus_face_card c;
  memset(e, 0, sizeof *e);
  argus_err rc =
      argus_face_card_parse(buf, strlen(buf), "grid.card.json", &c, e);
  if (rc == ARGUS_OK && !key[0]) {
    CHECK_INT_EQ(c.grid.nstrides, 2);
    CHECK(strcmp(c.grid.outputs[1][ARGUS_FACE_HEAD_KPS], "k16") == 0);
    CHECK_INT_EQ(c.native_max_side, 1920);
  }
  return rc;
}

static void expect_grid_bad(const char *key, const char *value,
                            argus_err code, const char *needle) {
  argus_face_error e;
  argus_err rc = parse_grid_with(key, value, &e);
  CHECK_INT_EQ(rc, code);
  if (!strstr(e.msg, needle) || !strstr(e.msg, "grid.card.json")) {
    fprintf(stderr, "message '%s' lacks '%s' (decoder.%s = %s)\n", e.msg,
            needle, key, value ? value : "(none)");
    CHECK(0);
  }
}

static void test_grid_malformed(void) {
  argus_face_error e;
  CHECK_OK(parse_grid_with("", NULL, &e));
  if (e.msg[0])
    fprintf(stderr, "%s\n", e.msg);
  /* score "cls" needs no obj head; points 0 no kps head */
  CHECK_OK(parse_grid_with("score", "\"cls\"", &e));
  CHECK_OK(parse_grid_with("points", "0", &e));
  expect_grid_bad("kind", "\"anchors\"", ARGUS_E_UNSUPPORTED,
                  "decoder.kind 'anchors'");
  expect_grid_bad("strides", NULL, ARGUS_E_CORRUPT, "decoder.strides");
  expect_grid_bad("strides", "[8,12]", ARGUS_E_CORRUPT, "decoder.strides[1]");
  expect_grid_bad("strides", "[8,16,32]", ARGUS_E_CORRUPT, "decoder.outputs");
  expect_grid_bad("outputs", NULL, ARGUS_E_CORRUPT, "decoder.outputs");
  expect_grid_bad("outputs", "[{\"cls\":\"c8\"},{\"cls\":\"c16\"}]",
                  ARGUS_E_CORRUPT, "decoder.outputs[0].obj");
  expect_grid_bad("outputs",
                  "[{\"cls\":\"c8\",\"obj\":\"o8\",\"bbox\":\"b8\","
                  "\"kps\":7},{}]",
                  ARGUS_E_CORRUPT, "decoder.outputs[0].kps");
  expect_grid_bad("outputs", "[1,2]", ARGUS_E_CORRUPT, "decoder.outputs[0]");
  expect_grid_bad("score", "\"max\"", ARGUS_E_UNSUPPORTED, "decoder.score");
  expect_grid_bad("score", NULL, ARGUS_E_CORRUPT, "decoder.score");
  expect_grid_bad("box", "\"corners\"", ARGUS_E_UNSUPPORTED, "decoder.box");
  expect_grid_bad("points", "3", ARGUS_E_CORRUPT, "decoder.points");
  expect_grid_bad("points", "\"five\"", ARGUS_E_CORRUPT, "decoder.points");
  expect_grid_bad("pad_to", "0", ARGUS_E_CORRUPT, "decoder.pad_to");
  expect_grid_bad("pad_to", "48", ARGUS_E_CORRUPT, "input.shape");
  expect_grid_bad("pad", "\"centre\"", ARGUS_E_UNSUPPORTED, "decoder.pad");
  expect_grid_bad("pad", NULL, ARGUS_E_CORRUPT, "decoder.pad");
}

static void test_find_and_sha(void) {
  char path[1024];
  argus_face_error e = {{0}};
  /* Without a models folder the source tree's cards are found. */
  CHECK_OK(argus_face_card_find(NULL, "fr_feature", path, sizeof path, &e));
  CHECK(strstr(path, "fr_feature.card.json") != NULL);
  CHECK_INT_EQ(argus_face_card_find("/nonexistent", "no_such_model", path,
                                    sizeof path, &e),
               ARGUS_E_NOT_FOUND);
  CHECK(strstr(e.msg, "no_such_model.card.json") != NULL);
  CHECK(strstr(e.msg, "/nonexistent") != NULL);
  CHECK_INT_EQ(argus_face_card_find(NULL, "fr_feature", path, 8, &e),
               ARGUS_E_LIMIT);

  /* SHA-256 of known inputs (FIPS 180-4 examples). */
  char tmp[] = "/tmp/argus_face_sha_XXXXXX";
  int fd = mkstemp(tmp);
  CHECK(fd >= 0);
  FILE *f = fdopen(fd, "wb");
  fputs("abc", f);
  fclose(f);
  char hex[65];
  CHECK_OK(argus_face_file_sha256(tmp, hex));
  CHECK(strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61"
                    "f20015ad") == 0);
  f = fopen(tmp, "wb");
  for (int i = 0; i < 1000000; i++)
    fputc('a', f);
  fclose(f);
  CHECK_OK(argus_face_file_sha256(tmp, hex));
  CHECK(strcmp(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39cc"
                    "c7112cd0") == 0);
  f = fopen(tmp, "wb");
  fclose(f);
  CHECK_OK(argus_face_file_sha256(tmp, hex));
  CHECK(strcmp(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b"
                    "7852b855") == 0);
  remove(tmp);
  CHECK_INT_EQ(argus_face_file_sha256("/nonexistent/file", hex),
               ARGUS_E_NOT_FOUND);
}

int main(void) {
  test_committed();
  test_malformed();
  test_grid_committed();
  test_grid_malformed();
  test_find_and_sha();
  return check_report("test_face_card");
}
