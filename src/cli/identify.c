/* `argus identify IMG...`: every face of the images searched 1:N in a
 * watchlist (or in every active one): candidates and whether the best clears
 * the watchlist's threshold. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_json.h"
#include "cli/gallery_cli.h"

enum { OPT_TOP = GALLERY_OPT_NEXT, OPT_NORM, OPT_FUSE };

/* Aligned crops decoded, embedded and searched together. */
#define ALIGNED_CHUNK 256

void cli_identify_usage(FILE *f) {
  // clang-format off
  fputs("Usage: argus identify [--watchlist W] IMG... [--top K] [--json]\n"
        "       argus identify [--watchlist W] --aligned IMG... [--top K] [--json]\n"
        "       [--score-norm topn|none] [--fuse mean|max]\n"
        "\n"
        "Searches every face of the images among the persons enrolled in watchlist\n"
        "W (default: every active watchlist) and prints, per face, the K most\n"
        "similar persons (one score per person: its best photo) and whether the\n"
        "best clears its watchlist's threshold (the watchlist's own, or the\n"
        "embedder's calibrated default). With --json, one line per image:\n"
        "{\"file\",\"width\",\"height\",\"faces\":[{\"box\",\"score\",\"quality\",\"match\",\n"
        "\"threshold\",\"candidates\":[{\"person_id\",\"name\",\"external_id\",\n"
        "\"watchlist\",\"score\",\"threshold\",\"match\",\"photo_id\"}]}]}.\n"
        "Exit status 0 whatever the matches; 1 when an image cannot be read.\n"
        "\n"
        "  --watchlist W  the watchlist to search\n"
        "  --top K        candidates per face (default 3, at most 256)\n"
        "  --score-norm M topn (default): each face's scores are lowered by half\n"
        "                 of how far its own cohort, the persons at ranks 2..9 of\n"
        "                 its search, scores above a typical face's (fewer false\n"
        "                 alarms at the same threshold; needs 10 persons, else\n"
        "                 cosines); \"raw_score\" is then the cosine. none: cosine\n"
        "                 similarities (docs/gallery.md)\n"
        "  --fuse F       mean (default): a person with several photos scores\n"
        "                 the cosine with its mean template; max: its best\n"
        "                 photo's cosine\n"
        "  --aligned      the images are faces already aligned to the embedder's\n"
        "                 template (e.g. LFW-112): no detection, one face per\n"
        "                 file, searched in batches\n"
        "  --db PATH      the database (default: $XDG_DATA_HOME/argus/argus.db or\n"
        "                 ~/.local/share/argus/argus.db)\n",
        f);
  face_cli_usage_common(f, 1);
  // clang-format on
}

typedef struct ident {
  gallery_cli g;
  const char *watchlist;
  int top;
  argus_gallery_search_opts so;
  argus_gallery_candidate *cands; /* capacity * top */
  int *nfound;
  int64_t images, faces, matches;
} ident;

/* One face: box, score and quality when detected, then the verdict and
 * the candidates (argus_gallery_candidate_json). */
static void json_face(argus_json *j, const argus_face *f,
                      const argus_gallery_candidate *c, int n,
                      const char *skipped) {
  argus_json_obj_begin(j, NULL);
  if (f) {
    argus_json_arr_begin(j, "box");
    for (int k = 0; k < 4; k++)
      argus_json_num(j, NULL, f->box[k], 1);
    argus_json_arr_end(j);
    argus_json_num(j, "score", f->score, 4);
  }
  if (f && f->has_quality)
    argus_json_num(j, "quality", f->quality.value, 3);
  if (skipped) {
    argus_json_bool(j, "match", 0);
    argus_json_null(j, "threshold");
    argus_json_arr_begin(j, "candidates");
    argus_json_arr_end(j);
    argus_json_str(j, "skipped", skipped);
    argus_json_obj_end(j);
    return;
  }
  argus_json_bool(j, "match", n > 0 && c[0].match);
  if (n > 0)
    argus_json_num(j, "threshold", c[0].threshold, 4);
  else
    argus_json_null(j, "threshold");
  argus_json_arr_begin(j, "candidates");
  for (int i = 0; i < n; i++)
    argus_gallery_candidate_json(&c[i], j);
  argus_json_arr_end(j);
  argus_json_obj_end(j);
}

/* The JSON line of one image. */
typedef struct image_rec {
  const ident *d;
  const char *file;
  int width, height;
  /* Detected faces: n faces, which[i] the query of face i (-1: none). */
  const argus_face *faces;
  const int *which;
  int n;
  /* An aligned crop (faces NULL): the candidates of its one face. */
  const argus_gallery_candidate *cands;
  int ncands;
} image_rec;

static void image_json(const void *rec, argus_json *j) {
  const image_rec *r = rec;
  argus_json_obj_begin(j, NULL);
  argus_json_str(j, "file", r->file);
  if (r->faces) {
    argus_json_int(j, "width", r->width);
    argus_json_int(j, "height", r->height);
  }
  argus_json_arr_begin(j, "faces");
  if (r->faces) {
    for (int i = 0; i < r->n; i++) {
      int q = r->which[i];
      json_face(j, &r->faces[i],
                q >= 0 ? r->d->cands + (size_t)q * r->d->top : NULL,
                q >= 0 ? r->d->nfound[q] : 0, q >= 0 ? NULL : "no landmarks");
    }
  } else {
    json_face(j, NULL, r->cands, r->ncands, NULL);
  }
  argus_json_arr_end(j);
  argus_json_obj_end(j);
}

static void text_face(int index, const argus_face *f,
                      const argus_gallery_candidate *c, int n,
                      const char *skipped) {
  printf("  face %d", index);
  if (f)
    printf(" [%.0f,%.0f,%.0f,%.0f]", f->box[0], f->box[1], f->box[2],
           f->box[3]);
  if (skipped) {
    printf(": not searched (%s)\n", skipped);
    return;
  }
  if (n == 0) {
    printf(": no match (no candidates)\n");
    return;
  }
  if (c[0].match)
    printf(": MATCH %s (id %lld, %s) %.3f >= %.3f\n", c[0].person,
           (long long)c[0].person_id, c[0].watchlist, (double)c[0].score,
           (double)c[0].threshold);
  else
    printf(": no match (best %s %.3f < %.3f)\n", c[0].person,
           (double)c[0].score, (double)c[0].threshold);
  for (int i = 0; i < n; i++)
    printf("      %d. %-24s id %-6lld %-12s %.3f%s\n", i + 1, c[i].person,
           (long long)c[i].person_id, c[i].watchlist, (double)c[i].score,
           c[i].match ? "  match" : "");
}

static int search(ident *d, const float *q, int nq) {
  argus_gallery_error err = {{0}};
  argus_err e = argus_gallery_search(d->g.gallery, q, (size_t)nq, d->top,
                                     &d->so, d->cands, d->nfound, &err);
  if (e)
    return gallery_cli_error(d->g.face.cmd, e, &err);
  for (int i = 0; i < nq; i++)
    d->matches += d->nfound[i] > 0 && d->cands[(size_t)i * d->top].match;
  d->faces += nq;
  return CLI_OK;
}

static int identify_images(ident *d, char **files, int nfiles) {
  face_cli *c = &d->g.face;
  const int dim = argus_face_engine_dim(c->engine);
  float *q = malloc((size_t)FACE_CLI_MAX_FACES * (size_t)dim * sizeof *q);
  int *which = malloc(FACE_CLI_MAX_FACES * sizeof *which);
  int failed = 0;
  if (!q || !which) {
    cli_errorf(c->cmd, "out of memory");
    free(q);
    free(which);
    return CLI_FAIL;
  }
  for (int fi = 0; fi < nfiles; fi++) {
    argus_image img;
    if (face_cli_read(c, files[fi], &img) != 0) {
      failed++;
      continue;
    }
    int n = 0;
    argus_face_error err = {{0}};
    argus_err rc = argus_face_engine_analyze(
        c->engine, &img, &c->det,
        ARGUS_FACE_DO_LANDMARKS | ARGUS_FACE_DO_QUALITY | ARGUS_FACE_DO_EMBED,
        c->faces, FACE_CLI_MAX_FACES, &n, c->emb, &err);
    const int w = img.width, h = img.height;
    argus_image_free(&img);
    if (rc) {
      face_cli_file_error(c, files[fi], "%s (%s)",
                          err.msg[0] ? err.msg : argus_strerror(rc),
                          argus_errname(rc));
      failed++;
      continue;
    }
    /* Faces whose landmarks failed have no embedding. */
    int nq = 0;
    for (int i = 0; i < n; i++)
      if (c->faces[i].npoints == ARGUS_FACE_NPOINTS) {
        memcpy(q + (size_t)nq * dim, c->emb + (size_t)i * dim,
               (size_t)dim * sizeof *q);
        which[i] = nq++;
      } else {
        which[i] = -1;
      }
    if (nq > 0 && search(d, q, nq) != CLI_OK) {
      failed++;
      break;
    }
    d->images++;
    if (c->json) {
      image_rec r = {d, files[fi], w, h, c->faces, which, n, NULL, 0};
      if (cli_json_print(stdout, c->cmd, image_json, &r) != 0) {
        failed++;
        break;
      }
      fputc('\n', stdout);
    } else {
      printf("%s: %d face%s\n", files[fi], n, n == 1 ? "" : "s");
      for (int i = 0; i < n; i++) {
        const argus_gallery_candidate *cc =
            which[i] >= 0 ? d->cands + (size_t)which[i] * d->top : NULL;
        int nc = which[i] >= 0 ? d->nfound[which[i]] : 0;
        text_face(i + 1, &c->faces[i], cc, nc,
                  which[i] >= 0 ? NULL : "no landmarks");
      }
    }
    fflush(stdout);
  }
  free(q);
  free(which);
  return failed ? CLI_FAIL : CLI_OK;
}

typedef struct read_job {
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

static int identify_aligned(ident *d, char **files, int nfiles) {
  face_cli *c = &d->g.face;
  const int dim = argus_face_engine_dim(c->engine);
  const argus_face_embedder *em = argus_face_engine_embedder(c->engine);
  argus_image *imgs = calloc(ALIGNED_CHUNK, sizeof *imgs);
  argus_image *ok = calloc(ALIGNED_CHUNK, sizeof *ok);
  argus_image_error *errs = calloc(ALIGNED_CHUNK, sizeof *errs);
  argus_err *rcs = calloc(ALIGNED_CHUNK, sizeof *rcs);
  int *idx = calloc(ALIGNED_CHUNK, sizeof *idx);
  float *emb = malloc((size_t)ALIGNED_CHUNK * (size_t)dim * sizeof *emb);
  int failed = 0, warned = 0;
  if (!imgs || !ok || !errs || !rcs || !idx || !emb) {
    cli_errorf(c->cmd, "out of memory");
    failed = 1;
    goto done;
  }
  for (int c0 = 0; c0 < nfiles && !failed; c0 += ALIGNED_CHUNK) {
    int n = nfiles - c0 < ALIGNED_CHUNK ? nfiles - c0 : ALIGNED_CHUNK;
    read_job rj = {files + c0, imgs, errs, rcs};
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
    argus_err rc =
        argus_face_engine_embed_aligned(c->engine, ok, nok, emb, &err);
    for (int i = 0; i < n; i++)
      argus_image_free(&imgs[i]);
    if (rc) {
      cli_errorf(c->cmd, "embedding files %d..%d: %s (%s)", c0 + 1, c0 + n,
                 err.msg[0] ? err.msg : argus_strerror(rc), argus_errname(rc));
      failed += nok;
      continue;
    }
    if (nok > 0 && search(d, emb, nok) != CLI_OK) {
      failed++;
      break;
    }
    for (int k = 0; k < nok; k++) {
      const char *path = files[c0 + idx[k]];
      const argus_gallery_candidate *cc = d->cands + (size_t)k * d->top;
      d->images++;
      if (c->json) {
        image_rec r = {d, path, 0, 0, NULL, NULL, 0, cc, d->nfound[k]};
        if (cli_json_print(stdout, c->cmd, image_json, &r) != 0) {
          failed++;
          break;
        }
        fputc('\n', stdout);
      } else {
        printf("%s:\n", path);
        text_face(1, NULL, cc, d->nfound[k], NULL);
      }
    }
    fflush(stdout);
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

int cli_identify_main(int argc, char **argv) {
  static const cli_opt opts[] = {FACE_CLI_OPTS,
                                 STORE_CLI_DB_OPT,
                                 {"watchlist", 1, GALLERY_OPT_WATCHLIST},
                                 {"top", 1, OPT_TOP},
                                 {"aligned", 0, GALLERY_OPT_ALIGNED},
                                 {"score-norm", 1, OPT_NORM},
                                 {"fuse", 1, OPT_FUSE},
                                 {NULL, 0, 0}};
  const char *cmd = "identify";
  ident d;
  memset(&d, 0, sizeof d);
  face_cli_init(&d.g.face, cmd);
  d.top = 3;
  d.so.norm = ARGUS_GALLERY_NORM_TOPN;
  d.so.fuse = ARGUS_GALLERY_FUSE_MEAN;
  const char *db = NULL;
  int aligned = 0, nfiles = 0;
  cli_parser p;
  cli_parser_init(&p, argc, argv, cmd, opts);
  for (;;) {
    int id = cli_parse_next(&p);
    if (id == CLI_OPT_END)
      break;
    switch (id) {
    case CLI_OPT_HELP: cli_identify_usage(stdout); return CLI_OK;
    case CLI_OPT_ERROR: return cli_bad_value(cmd);
    case CLI_OPT_POSITIONAL: argv[1 + nfiles++] = (char *)p.arg; continue;
    case STORE_OPT_DB: db = p.arg; continue;
    case GALLERY_OPT_WATCHLIST: d.watchlist = p.arg; continue;
    case GALLERY_OPT_ALIGNED: aligned = 1; continue;
    case OPT_NORM:
      if (gallery_cli_norm(cmd, p.arg, &d.so.norm))
        return cli_bad_value(cmd);
      continue;
    case OPT_FUSE:
      if (gallery_cli_fuse(cmd, p.arg, &d.so.fuse))
        return cli_bad_value(cmd);
      continue;
    case OPT_TOP:
      if (cli_parse_int(p.arg, 1, ARGUS_GALLERY_MAX_K, "--top", &d.top))
        return cli_bad_value(cmd);
      continue;
    }
    if (face_cli_option(&d.g.face, id, p.arg) < 0)
      return cli_bad_value(cmd);
  }
  if (nfiles == 0) {
    cli_errorf(cmd, "no image given");
    return cli_bad_value(cmd);
  }
  int rc = CLI_FAIL;
  argus_store_id wl_id = 0;
  if (gallery_cli_open(&d.g, db, 0, !aligned) != CLI_OK)
    goto out;
  if (d.watchlist) {
    argus_store_watchlist w;
    argus_store_error se = {{0}};
    argus_err e = argus_store_watchlist_get(d.g.store, d.watchlist, &w, &se);
    if (e) {
      store_cli_error(cmd, e, &se);
      goto out;
    }
    wl_id = w.id;
    if (!w.active)
      cli_errorf(cmd, "note: watchlist '%s' is inactive (searched as asked)",
                 d.watchlist);
    d.so.watchlists = &d.watchlist;
    d.so.n_watchlists = 1;
  }
  {
    argus_gallery_stats gs;
    const argus_gallery_config *cfg = argus_gallery_get_config(d.g.gallery);
    if (argus_gallery_get_stats(d.g.gallery, &gs) == ARGUS_OK &&
        gs.other_models > 0)
      cli_errorf(cmd,
                 "note: %lld templates of other models than %s are not "
                 "searched ('argus reindex' makes the missing ones, "
                 "'argus reindex --drop MODEL_ID' deletes old ones)",
                 (long long)gs.other_models, cfg->model_id);
  }
  d.so.pool = d.g.face.pool;
  size_t cap = aligned ? ALIGNED_CHUNK : FACE_CLI_MAX_FACES;
  d.cands = malloc(cap * (size_t)d.top * sizeof *d.cands);
  d.nfound = malloc(cap * sizeof *d.nfound);
  if (!d.cands || !d.nfound) {
    cli_errorf(cmd, "out of memory");
    goto out;
  }
  rc = aligned ? identify_aligned(&d, argv + 1, nfiles)
               : identify_images(&d, argv + 1, nfiles);
  /* One audit row per search run: searching a watchlist is an access to
   * its biometric data. */
  {
    char detail[160];
    snprintf(detail, sizeof detail,
             "{\"images\":%lld,\"faces\":%lld,\"matches\":%lld,\"top\":%d}",
             (long long)d.images, (long long)d.faces, (long long)d.matches,
             d.top);
    argus_store_error se = {{0}};
    argus_err e = argus_store_audit_append(
        d.g.store, "identify", wl_id ? "watchlist" : NULL, wl_id, detail, &se);
    if (e) {
      store_cli_error(cmd, e, &se);
      rc = CLI_FAIL;
    }
  }
out:
  free(d.cands);
  free(d.nfound);
  gallery_cli_close(&d.g);
  return rc;
}
