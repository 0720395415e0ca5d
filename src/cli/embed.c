/* `argus embed IMG...`: detection plus one embedding per face, or with
 * --aligned one embedding per already aligned crop, batched. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_json.h"
#include "cli/face_cli.h"

enum { OPT_ALIGNED = FACE_OPT_NEXT };

static const cli_opt embed_opts[] = {
    FACE_CLI_OPTS,
    {"aligned", 0, OPT_ALIGNED},
    {NULL, 0, 0},
};

/* Aligned crops decoded and embedded together. */
#define ALIGNED_CHUNK 256

void cli_embed_usage(FILE *f) {
  // clang-format off
  fputs("Usage: argus embed IMG... [--json] [detection options]\n"
        "       argus embed --aligned IMG... [--json]\n"
        "\n"
        "Prints an L2-normalised embedding for every face (compare two with their\n"
        "dot product). With --json, one line per image like 'argus detect' plus\n"
        "\"model\" and, per face, \"embedding\":[...]. Without, one line per face:\n"
        "FILE FACE x1 y1 x2 y2 v1 ... vN (tab before the values).\n"
        "\n"
        "  --aligned   the images are faces already aligned to the embedder's\n"
        "              template (112x112, e.g. LFW-112); no detection, one\n"
        "              embedding per file ({\"file\",\"model\",\"embedding\"} or\n"
        "              FILE<TAB>v1 ... vN), computed in batches\n",
        f);
  face_cli_usage_common(f, 1);
  // clang-format on
}

static void print_text_vec(const float *v, int dim) {
  for (int k = 0; k < dim; k++)
    printf(k ? " %.6g" : "%.6g", (double)v[k]);
}

typedef struct read_job {
  face_cli *c;
  char **files;
  argus_image *imgs;
  argus_image_error *errs;
  argus_err *rcs;
} read_job;

static void read_task(void *ctx, size_t begin, size_t end, int tid) {
  (void)tid;
  read_job *j = ctx;
  for (size_t i = begin; i < end; i++)
    j->rcs[i] = argus_image_read_file(j->files[i], ARGUS_PIX_RGB8, &j->imgs[i],
                                      &j->errs[i]);
}

static int embed_aligned(face_cli *c, char **files, int nfiles) {
  const int dim = argus_face_engine_dim(c->engine);
  const argus_face_embedder *em = argus_face_engine_embedder(c->engine);
  argus_image *imgs = calloc(ALIGNED_CHUNK, sizeof *imgs);
  argus_image *ok = calloc(ALIGNED_CHUNK, sizeof *ok);
  argus_image_error *errs = calloc(ALIGNED_CHUNK, sizeof *errs);
  argus_err *rcs = calloc(ALIGNED_CHUNK, sizeof *rcs);
  int *idx = calloc(ALIGNED_CHUNK, sizeof *idx);
  float *emb = malloc((size_t)ALIGNED_CHUNK * (size_t)dim * sizeof(float));
  int failed = 0, warned = 0;
  if (!imgs || !ok || !errs || !rcs || !idx || !emb) {
    cli_errorf(c->cmd, "out of memory");
    failed = 1;
    goto done;
  }
  for (int c0 = 0; c0 < nfiles; c0 += ALIGNED_CHUNK) {
    int n = nfiles - c0 < ALIGNED_CHUNK ? nfiles - c0 : ALIGNED_CHUNK;
    /* Decoding is independent per file: spread it over the pool too. */
    read_job rj = {c, files + c0, imgs, errs, rcs};
    argus_threadpool_parallel_for(c->pool, (size_t)n, 4, read_task, &rj);
    int nok = 0;
    for (int i = 0; i < n; i++) {
      if (rcs[i]) {
        face_cli_file_error(c, files[c0 + i], "%s (%s)",
                            errs[i].msg[0] ? errs[i].msg
                                           : argus_strerror(rcs[i]),
                            argus_errname(rcs[i]));
        failed++;
        continue;
      }
      if (!warned && (imgs[i].width != em->align_width ||
                      imgs[i].height != em->align_height)) {
        cli_errorf(c->cmd,
                   "warning: %s is %dx%d, not the embedder's %dx%d: "
                   "resampled (aligned crops are expected)",
                   files[c0 + i], imgs[i].width, imgs[i].height,
                   em->align_width, em->align_height);
        warned = 1;
      }
      ok[nok] = imgs[i];
      idx[nok++] = i;
    }
    argus_face_error err = {{0}};
    argus_err rc = argus_face_engine_embed_aligned(c->engine, ok, nok, emb, &err);
    if (rc) {
      cli_errorf(c->cmd, "embedding files %d..%d: %s (%s)", c0 + 1, c0 + n,
                 err.msg[0] ? err.msg : argus_strerror(rc), argus_errname(rc));
      failed += nok;
    } else {
      for (int k = 0; k < nok; k++) {
        const char *path = files[c0 + idx[k]];
        const float *v = emb + (size_t)k * (size_t)dim;
        if (c->json) {
          face_cli_image_json r = {path, 0,   0, em->model_id, NULL, 0,
                                   v,    dim, 0};
          if (cli_json_print(stdout, c->cmd, face_cli_image_json_fn, &r) == 0)
            fputc('\n', stdout);
          else
            failed++;
        } else {
          printf("%s\t", path);
          print_text_vec(v, dim);
          putchar('\n');
        }
      }
    }
    fflush(stdout);
    for (int i = 0; i < n; i++)
      argus_image_free(&imgs[i]);
  }
done:
  free(imgs);
  free(ok);
  free(errs);
  free(rcs);
  free(idx);
  free(emb);
  return failed ? CLI_FAIL : CLI_OK;
}

static int embed_faces(face_cli *c, char **files, int nfiles) {
  const int dim = argus_face_engine_dim(c->engine);
  const argus_face_embedder *em = argus_face_engine_embedder(c->engine);
  int failed = 0;
  for (int i = 0; i < nfiles; i++) {
    const char *path = files[i];
    argus_image img;
    if (face_cli_read(c, path, &img) != 0) {
      failed++;
      continue;
    }
    int n = 0;
    argus_face_error err = {{0}};
    argus_err rc = argus_face_engine_analyze(
        c->engine, &img, &c->det,
        ARGUS_FACE_DO_LANDMARKS | ARGUS_FACE_DO_QUALITY | ARGUS_FACE_DO_EMBED,
        c->faces, FACE_CLI_MAX_FACES, &n, c->emb, &err);
    if (rc) {
      face_cli_file_error(c, path, "%s (%s)",
                          err.msg[0] ? err.msg : argus_strerror(rc),
                          argus_errname(rc));
      failed++;
      argus_image_free(&img);
      continue;
    }
    if (c->json) {
      face_cli_image_json r = {path,         img.width, img.height,
                               em->model_id, c->faces,  n,
                               c->emb,       dim,       0};
      if (cli_json_print(stdout, c->cmd, face_cli_image_json_fn, &r) == 0)
        fputc('\n', stdout);
      else
        failed++;
    } else {
      for (int k = 0; k < n; k++) {
        const argus_face *f = &c->faces[k];
        printf("%s %d %.1f %.1f %.1f %.1f\t", path, k + 1, f->box[0],
               f->box[1], f->box[2], f->box[3]);
        print_text_vec(c->emb + (size_t)k * (size_t)dim, dim);
        putchar('\n');
      }
    }
    fflush(stdout);
    argus_image_free(&img);
  }
  return failed ? CLI_FAIL : CLI_OK;
}

int cli_embed_main(int argc, char **argv) {
  face_cli c;
  face_cli_init(&c, "embed");
  int aligned = 0, nfiles = 0;
  cli_parser p;
  cli_parser_init(&p, argc, argv, "embed", embed_opts);
  for (;;) {
    int id = cli_parse_next(&p);
    if (id == CLI_OPT_END)
      break;
    if (id == CLI_OPT_HELP) {
      cli_embed_usage(stdout);
      return CLI_OK;
    }
    if (id == CLI_OPT_ERROR)
      return cli_bad_value("embed");
    if (id == CLI_OPT_POSITIONAL) {
      argv[1 + nfiles++] = (char *)p.arg;
      continue;
    }
    if (id == OPT_ALIGNED) {
      aligned = 1;
      continue;
    }
    if (face_cli_option(&c, id, p.arg) < 0)
      return cli_bad_value("embed");
  }
  if (nfiles == 0) {
    cli_errorf("embed", "no image given");
    return cli_bad_value("embed");
  }
  int rc = face_cli_open(&c, !aligned);
  if (rc == CLI_OK)
    rc = aligned ? embed_aligned(&c, argv + 1, nfiles)
                 : embed_faces(&c, argv + 1, nfiles);
  face_cli_close(&c);
  return rc;
}
