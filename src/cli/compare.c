/* `argus compare A B`: the best-matching pair of faces of two images, their
 * similarity, and the decision at a calibrated threshold. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_json.h"
#include "cli/face_cli.h"

enum { OPT_FMR = FACE_OPT_NEXT };

static const cli_opt compare_opts[] = {
    FACE_CLI_OPTS,
    {"fmr", 1, OPT_FMR},
    {NULL, 0, 0},
};

void cli_compare_usage(FILE *f) {
  // clang-format off
  fputs("Usage: argus compare A B [--fmr RATE] [--json] [detection options]\n"
        "\n"
        "Embeds every face of images A and B and reports the most similar pair:\n"
        "its similarity (dot product of L2-normalised embeddings, -1..1) and\n"
        "whether it is the same person at the embedder's threshold for the chosen\n"
        "false-match rate (from the model card; default: the card's default).\n"
        "Exit status 0 whatever the decision; 1 when an image cannot be read or\n"
        "has no face.\n"
        "\n"
        "  --fmr RATE   false-match rate of the threshold, e.g. 1e-3 (the card\n"
        "               lists the calibrated ones)\n",
        f);
  face_cli_usage_common(f, 1);
  // clang-format on
}

typedef struct side {
  const char *path;
  argus_face *faces;
  float *emb;
  int n;
} side;

static int analyze(face_cli *c, side *s) {
  argus_image img;
  if (face_cli_read(c, s->path, &img) != 0)
    return -1;
  argus_face_error err = {{0}};
  argus_err rc = argus_face_engine_analyze(
      c->engine, &img, &c->det,
      ARGUS_FACE_DO_LANDMARKS | ARGUS_FACE_DO_QUALITY | ARGUS_FACE_DO_EMBED,
      s->faces, FACE_CLI_MAX_FACES, &s->n, s->emb, &err);
  argus_image_free(&img);
  if (rc) {
    face_cli_file_error(c, s->path, "%s (%s)",
                        err.msg[0] ? err.msg : argus_strerror(rc),
                        argus_errname(rc));
    return -1;
  }
  /* A face whose landmarks failed has no embedding (all zeros). */
  int usable = 0;
  for (int i = 0; i < s->n; i++)
    usable += s->faces[i].npoints == ARGUS_FACE_NPOINTS;
  if (usable == 0) {
    face_cli_file_error(c, s->path, "no face found");
    return -1;
  }
  return 0;
}

/* What `compare --json` prints. */
typedef struct compare_rec {
  const char *a, *b;
  int faces_a, faces_b, face_a, face_b; /* face_*: 0-based */
  const float *box_a, *box_b;
  double similarity, threshold, fmr;
  int same, provisional;
  const char *model;
} compare_rec;

static void json_box(argus_json *j, const char *key, const float *box) {
  argus_json_arr_begin(j, key);
  for (int k = 0; k < 4; k++)
    argus_json_num(j, NULL, box[k], 1);
  argus_json_arr_end(j);
}

static void compare_json(const void *rec, argus_json *j) {
  const compare_rec *r = rec;
  argus_json_obj_begin(j, NULL);
  argus_json_str(j, "a", r->a);
  argus_json_str(j, "b", r->b);
  argus_json_int(j, "faces_a", r->faces_a);
  argus_json_int(j, "faces_b", r->faces_b);
  argus_json_int(j, "face_a", r->face_a + 1);
  argus_json_int(j, "face_b", r->face_b + 1);
  json_box(j, "box_a", r->box_a);
  json_box(j, "box_b", r->box_b);
  argus_json_num(j, "similarity", r->similarity, 4); /* no pair: null */
  argus_json_num(j, "threshold", r->threshold, 4);
  argus_json_num(j, "fmr", r->fmr, -6);
  argus_json_bool(j, "same", r->same);
  argus_json_bool(j, "provisional", r->provisional);
  argus_json_str(j, "model", r->model);
  argus_json_obj_end(j);
}

int cli_compare_main(int argc, char **argv) {
  face_cli c;
  face_cli_init(&c, "compare");
  const char *files[2] = {NULL, NULL};
  int nfiles = 0;
  double fmr = 0;
  cli_parser p;
  cli_parser_init(&p, argc, argv, "compare", compare_opts);
  for (;;) {
    int id = cli_parse_next(&p);
    if (id == CLI_OPT_END)
      break;
    if (id == CLI_OPT_HELP) {
      cli_compare_usage(stdout);
      return CLI_OK;
    }
    if (id == CLI_OPT_ERROR)
      return cli_bad_value("compare");
    if (id == CLI_OPT_POSITIONAL) {
      if (nfiles == 2) {
        cli_errorf("compare", "more than two images given");
        return cli_bad_value("compare");
      }
      files[nfiles++] = p.arg;
      continue;
    }
    if (id == OPT_FMR) {
      char *end = NULL;
      errno = 0;
      fmr = strtod(p.arg, &end);
      if (end == p.arg || *end || errno == ERANGE || !(fmr > 0 && fmr < 1)) {
        cli_errorf("compare", "--fmr: '%s' is not a rate in (0, 1) like 1e-3",
                   p.arg);
        return cli_bad_value("compare");
      }
      continue;
    }
    if (face_cli_option(&c, id, p.arg) < 0)
      return cli_bad_value("compare");
  }
  if (nfiles != 2) {
    cli_errorf("compare", "two images are needed");
    return cli_bad_value("compare");
  }
  if (face_cli_open(&c, 1) != CLI_OK) {
    face_cli_close(&c);
    return CLI_FAIL;
  }
  const int dim = argus_face_engine_dim(c.engine);
  const argus_face_card *card =
      argus_face_engine_card(c.engine, ARGUS_FACE_MODEL_EMBEDDER);
  float thr = 0;
  double used_fmr = 0;
  if (argus_face_card_threshold(card, fmr, &thr, &used_fmr) != ARGUS_OK) {
    cli_errorf("compare",
               "the card of %s has no threshold at a false-match rate of %g "
               "or below",
               card->name, fmr);
    face_cli_close(&c);
    return CLI_USAGE;
  }
  /* The engine's buffers serve A; B gets its own. */
  side s[2] = {{files[0], c.faces, c.emb, 0}, {files[1], NULL, NULL, 0}};
  s[1].faces = malloc(FACE_CLI_MAX_FACES * sizeof *s[1].faces);
  s[1].emb = malloc((size_t)FACE_CLI_MAX_FACES * (size_t)dim * sizeof(float));
  int rc = CLI_OK;
  if (!s[1].faces || !s[1].emb) {
    cli_errorf("compare", "out of memory");
    rc = CLI_FAIL;
    goto done;
  }
  int bad = 0;
  for (int k = 0; k < 2; k++)
    bad |= analyze(&c, &s[k]) != 0;
  if (bad) {
    rc = CLI_FAIL;
    goto done;
  }
  float best = -INFINITY;
  int ba = 0, bb = 0;
  for (int i = 0; i < s[0].n; i++) {
    if (s[0].faces[i].npoints != ARGUS_FACE_NPOINTS)
      continue;
    for (int j = 0; j < s[1].n; j++) {
      if (s[1].faces[j].npoints != ARGUS_FACE_NPOINTS)
        continue;
      float v = argus_face_similarity(s[0].emb + (size_t)i * dim,
                                      s[1].emb + (size_t)j * dim, dim);
      if (v > best) {
        best = v;
        ba = i;
        bb = j;
      }
    }
  }
  int same = best >= thr;
  if (c.json) {
    compare_rec r = {files[0],
                     files[1],
                     s[0].n,
                     s[1].n,
                     ba,
                     bb,
                     s[0].faces[ba].box,
                     s[1].faces[bb].box,
                     best,
                     thr,
                     used_fmr,
                     same,
                     card->provisional,
                     argus_face_engine_embedder(c.engine)->model_id};
    if (cli_json_print(stdout, c.cmd, compare_json, &r) != 0) {
      rc = CLI_FAIL;
      goto done;
    }
    fputc('\n', stdout);
  } else {
    printf("%s: %d face%s, %s: %d face%s\n", files[0], s[0].n,
           s[0].n == 1 ? "" : "s", files[1], s[1].n, s[1].n == 1 ? "" : "s");
    printf("best pair: face %d of A, face %d of B, similarity %.3f\n", ba + 1,
           bb + 1, best);
    printf("%s (threshold %.3f at false-match rate %g%s)\n",
           same ? "same person" : "different people", thr, used_fmr,
           card->provisional ? ", provisional calibration" : "");
  }
done:
  free(s[1].faces);
  free(s[1].emb);
  face_cli_close(&c);
  return rc;
}
