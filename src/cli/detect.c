/* `argus detect IMG...`: faces with boxes, scores, 5 points and quality,
 * one line (text or JSON) per image. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_json.h"
#include "cli/face_cli.h"

enum {
  OPT_DRAW = FACE_OPT_NEXT,
  OPT_LANDMARKS68,
  OPT_BOXES_ONLY,
  OPT_FLIP,
  OPT_FLIP_ALL,
  OPT_VOTE,
  OPT_MID_SIZE,
  OPT_ACCURATE,
};

static const cli_opt detect_opts[] = {
    FACE_CLI_OPTS,
    {"draw", 1, OPT_DRAW},
    {"landmarks68", 0, OPT_LANDMARKS68},
    {"boxes-only", 0, OPT_BOXES_ONLY},
    {"flip", 0, OPT_FLIP},
    {"flip-all", 0, OPT_FLIP_ALL},
    {"mid-size", 1, OPT_MID_SIZE},
    {"accurate", 0, OPT_ACCURATE},
    {"vote", 1, OPT_VOTE},
    {NULL, 0, 0},
};

void cli_detect_usage(FILE *f) {
  // clang-format off
  fputs("Usage: argus detect IMG... [--json [--landmarks68]] [--draw OUT.jpg]\n"
        "                    [--boxes-only] [--accurate] [--flip|--flip-all]\n"
        "                    [--vote IOU] [--mid-size N]\n"
        "                    [--min-score S] [--min-size PX] [--size N] [--tile N]\n"
        "                    [--scales A,B,...]\n"
        "\n"
        "Finds faces in JPEG/PNG images and prints, per image, each face's box\n"
        "(x1,y1,x2,y2 in pixels), detector score, 5 landmarks (eyes, nose, mouth\n"
        "corners) and quality in [0,1] with its reasons. With --json, one line per\n"
        "image: {\"file\",\"width\",\"height\",\"faces\":[{\"box\",\"score\",\"points\",\n"
        "\"quality\",\"quality_detail\"}]}. An image that cannot be read is reported\n"
        "on stderr (and as {\"file\",\"error\"} with --json); the others are still\n"
        "processed and the exit status is 1.\n"
        "\n"
        "  --draw OUT.jpg    write the image with boxes and points drawn (several\n"
        "                    images: OUT-1.jpg, OUT-2.jpg, ...)\n"
        "  --landmarks68     with --json, each face also gets \"landmarks68\":\n"
        "                    [[x,y],...] the landmarker's 68 points in image pixels\n"
        "  --boxes-only      boxes and scores only: no landmarks, points or quality\n"
        "                    (much faster with many faces; used by the evaluation)\n"
        "\n"
        "Accuracy (docs/face.md has the measured WIDER FACE AP and cost of each):\n"
        "  --accurate        the most accurate preset: --size 480 --mid-size 640\n"
        "                    --tile 640 --flip --vote 0.5 (options after it override\n"
        "                    its values); about 27x the time of the default\n"
        "  --flip            also run the whole-frame passes on the mirrored image\n"
        "                    and merge the boxes (tiles are not mirrored)\n"
        "  --flip-all        mirror every pass, tiles included (2x the time)\n"
        "  --vote IOU        merge the passes' boxes by box voting: each kept box\n"
        "                    becomes the score-weighted mean of the boxes that\n"
        "                    overlap it by IOU or more (0.5 measured best)\n"
        "  --mid-size N      with --tile: a second whole-frame level at N (> --size)\n",
        f);
  face_cli_usage_common(f, 1);
  // clang-format on
}

/* Whether `path` ends in .jpg or .jpeg (any case): the only format the
 * image module encodes, so --draw refuses any other name up front rather
 * than writing JPEG bytes under a .png name. */
static int draw_path_is_jpeg(const char *path) {
  const char *dot = strrchr(path, '.');
  if (!dot || strchr(dot, '/'))
    return 0;
  char ext[6] = {0};
  size_t n = strlen(dot + 1);
  if (n == 0 || n >= sizeof ext)
    return 0;
  for (size_t i = 0; i < n; i++) {
    char ch = dot[1 + i];
    ext[i] = (char)(ch >= 'A' && ch <= 'Z' ? ch - 'A' + 'a' : ch);
  }
  return strcmp(ext, "jpg") == 0 || strcmp(ext, "jpeg") == 0;
}

int cli_detect_main(int argc, char **argv) {
  face_cli c;
  face_cli_init(&c, "detect");
  const char *draw = NULL;
  int dense = 0;
  unsigned what = ARGUS_FACE_DO_LANDMARKS | ARGUS_FACE_DO_QUALITY;
  cli_parser p;
  cli_parser_init(&p, argc, argv, "detect", detect_opts);
  /* Positional arguments are kept in place: argv[first..] compacted. */
  int nfiles = 0;
  for (;;) {
    int id = cli_parse_next(&p);
    if (id == CLI_OPT_END)
      break;
    if (id == CLI_OPT_HELP) {
      cli_detect_usage(stdout);
      return CLI_OK;
    }
    if (id == CLI_OPT_ERROR)
      return cli_bad_value("detect");
    if (id == CLI_OPT_POSITIONAL) {
      argv[1 + nfiles++] = (char *)p.arg;
      continue;
    }
    if (id == OPT_LANDMARKS68) {
      dense = 1;
      continue;
    }
    if (id == OPT_FLIP || id == OPT_FLIP_ALL) {
      c.det.flip = id == OPT_FLIP ? ARGUS_FACE_FLIP_WHOLE : ARGUS_FACE_FLIP_ALL;
      continue;
    }
    if (id == OPT_ACCURATE) {
      argus_face_detect_opts_accurate(&c.det);
      continue;
    }
    if (id == OPT_MID_SIZE) {
      if (cli_parse_int(p.arg, 32, 4096, "--mid-size", &c.det.mid_size))
        return cli_bad_value("detect");
      continue;
    }
    if (id == OPT_VOTE) {
      char *end = NULL;
      double v = strtod(p.arg, &end);
      if (end == p.arg || *end || !(v > 0 && v <= 1)) {
        cli_errorf("detect", "--vote: '%s' is not an IoU in (0, 1]", p.arg);
        return cli_bad_value("detect");
      }
      c.det.vote_iou = (float)v;
      continue;
    }
    if (id == OPT_BOXES_ONLY) {
      what = 0;
      continue;
    }
    if (id == OPT_DRAW) {
      draw = p.arg;
      continue;
    }
    if (face_cli_option(&c, id, p.arg) < 0)
      return cli_bad_value("detect");
  }
  if (draw && !draw_path_is_jpeg(draw)) {
    cli_errorf("detect",
               "--draw: '%s' must end in .jpg or .jpeg (drawings are written "
               "as JPEG)",
               draw);
    return cli_bad_value("detect");
  }
  if (nfiles == 0) {
    cli_errorf("detect", "no image given");
    return cli_bad_value("detect");
  }
  if (face_cli_open(&c, 0) != CLI_OK) {
    face_cli_close(&c);
    return CLI_FAIL;
  }
  int failed = 0;
  for (int i = 0; i < nfiles; i++) {
    const char *path = argv[1 + i];
    argus_image img;
    if (face_cli_read(&c, path, &img) != 0) {
      failed++;
      continue;
    }
    int n = 0;
    argus_face_error err = {{0}};
    argus_err rc = argus_face_engine_analyze(
        c.engine, &img, &c.det, what, c.faces, FACE_CLI_MAX_FACES, &n, NULL,
        &err);
    if (rc) {
      face_cli_file_error(&c, path, "%s (%s)",
                          err.msg[0] ? err.msg : argus_strerror(rc),
                          argus_errname(rc));
      failed++;
      argus_image_free(&img);
      continue;
    }
    if (c.json) {
      face_cli_image_json r = {
          path, img.width, img.height,
          NULL, c.faces,   n,
          NULL, 0,         dense ? ARGUS_FACE_JSON_DENSE : 0u};
      if (cli_json_print(stdout, c.cmd, face_cli_image_json_fn, &r) == 0)
        fputc('\n', stdout);
      else
        failed++;
    } else {
      printf("%s: %d face%s (%dx%d)\n", path, n, n == 1 ? "" : "s", img.width,
             img.height);
      for (int k = 0; k < n; k++)
        face_cli_text_face(stdout, k + 1, &c.faces[k]);
    }
    fflush(stdout);
    if (draw) {
      char out[4096];
      face_cli_draw_path(out, sizeof out, draw, i + 1, nfiles);
      face_cli_draw(&img, c.faces, n);
      rc = argus_image_write_jpeg(&img, 90, out);
      if (rc) {
        cli_errorf("detect", "%s: cannot write %s: %s", path, out,
                   argus_strerror(rc));
        failed++;
      }
    }
    argus_image_free(&img);
  }
  face_cli_close(&c);
  return failed ? CLI_FAIL : CLI_OK;
}
