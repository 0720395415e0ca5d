/* Shared pieces of `argus person add`, `argus import`, `argus identify`
 * and `argus reindex`. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/gallery_cli.h"

void gallery_cli_enrol_usage(FILE *f) {
  // clang-format off
  fputs("Enrolment (quality gate):\n"
        "  --pick largest     enrol the largest face of a photo with several\n"
        "                     (default: such a photo is rejected)\n"
        "  --min-ipd PX       smallest inter-ocular distance accepted (default 24)\n"
        "  --aligned          the photos are faces already aligned to the\n"
        "                     embedder's template (112x112, e.g. LFW-112): no\n"
        "                     detection; only sharpness is checked\n"
        "  --no-quality-gate  accept every photo with exactly one face (size,\n"
        "                     blur, pose and score are not checked): for\n"
        "                     curated data sets\n",
        f);
  // clang-format on
}

int gallery_cli_enrol_option(const char *cmd, argus_gallery_enrol_opts *o,
                             int id, const char *arg) {
  switch (id) {
  case GALLERY_OPT_PICK:
    if (strcmp(arg, "largest") != 0) {
      cli_errorf(cmd, "--pick: only 'largest' is known, not '%s'", arg);
      return -1;
    }
    o->pick_largest = 1;
    return 1;
  case GALLERY_OPT_ALIGNED: o->aligned = 1; return 1;
  case GALLERY_OPT_NO_GATE: o->gate = 0; return 1;
  case GALLERY_OPT_MIN_IPD: {
    char *end = NULL;
    errno = 0;
    double v = strtod(arg, &end);
    if (end == arg || *end || errno || !isfinite(v) || v < 0 || v > 1000) {
      cli_errorf(cmd, "--min-ipd: '%s' is not a number of pixels in [0, 1000]",
                 arg);
      return -1;
    }
    o->min_ipd = (float)v;
    return 1;
  }
  default: return 0;
  }
}

int gallery_cli_error(const char *cmd, argus_err e,
                      const argus_gallery_error *err) {
  cli_errorf(cmd, "%s (%s)", err && err->msg[0] ? err->msg : argus_strerror(e),
             argus_errname(e));
  return CLI_FAIL;
}

int gallery_cli_open(gallery_cli *g, const char *db, int write_only,
                     int with_embeddings) {
  const char *cmd = g->face.cmd;
  if (face_cli_open(&g->face, with_embeddings) != CLI_OK)
    return CLI_FAIL;
  /* a reader (identify) opens only a database that exists */
  if ((write_only ? store_cli_open(cmd, db, &g->store)
                  : store_cli_open_existing(cmd, db, &g->store)) != CLI_OK)
    return CLI_FAIL;
  argus_gallery_config cfg;
  argus_gallery_error err = {{0}};
  argus_err e = argus_gallery_config_from_card(
      argus_face_engine_card(g->face.engine, ARGUS_FACE_MODEL_EMBEDDER), &cfg,
      &err);
  if (e)
    return gallery_cli_error(cmd, e, &err);
  cfg.write_only = write_only;
  e = argus_gallery_open(g->store, &cfg, &g->gallery, &err);
  if (e)
    return gallery_cli_error(cmd, e, &err);
  return CLI_OK;
}

void gallery_cli_close(gallery_cli *g) {
  argus_gallery_close(g->gallery);
  argus_store_close(g->store);
  face_cli_close(&g->face);
  g->gallery = NULL;
  g->store = NULL;
}

/* ---- progress ------------------------------------------------------------ */

void cli_progress_init(cli_progress *p, const char *label, const char *unit) {
  memset(p, 0, sizeof *p);
  p->tty = isatty(STDERR_FILENO);
  p->label = label;
  p->unit = unit;
}

void cli_progress_update(cli_progress *p, int64_t done, int64_t total,
                         const char *extra, int force) {
  if (!p->tty)
    return;
  uint64_t now = argus_time_ns();
  if (!force && p->drawn && now - p->last_ns < 100000000ull)
    return;
  p->last_ns = now;
  enum { W = 24 };
  char bar[W + 1];
  double frac = total > 0 ? (double)done / (double)total : 0;
  if (frac > 1)
    frac = 1;
  int fill = (int)(frac * W);
  for (int i = 0; i < W; i++)
    bar[i] = i < fill ? '#' : ' ';
  bar[W] = '\0';
  fprintf(stderr, "\r%s [%s] %3d%%  %lld/%lld %s%s%s\033[K", p->label, bar,
          (int)(frac * 100), (long long)done, (long long)total, p->unit,
          extra && extra[0] ? "  " : "", extra ? extra : "");
  fflush(stderr);
  p->drawn = 1;
}

void cli_progress_clear(cli_progress *p) {
  if (p->tty && p->drawn) {
    fputs("\r\033[K", stderr);
    p->drawn = 0;
    p->last_ns = 0;
  }
}

void cli_progress_end(cli_progress *p) {
  if (p->tty && p->drawn)
    fputc('\n', stderr);
  p->drawn = 0;
}


int gallery_cli_norm(const char *cmd, const char *arg, int *norm) {
  if (strcmp(arg, "topn") == 0) {
    *norm = ARGUS_GALLERY_NORM_TOPN;
  } else if (strcmp(arg, "none") == 0) {
    *norm = ARGUS_GALLERY_NORM_NONE;
  } else {
    cli_errorf(cmd, "--score-norm: '%s' is not topn or none", arg);
    return -1;
  }
  return 0;
}

int gallery_cli_fuse(const char *cmd, const char *arg, int *fuse) {
  if (strcmp(arg, "mean") == 0) {
    *fuse = ARGUS_GALLERY_FUSE_MEAN;
  } else if (strcmp(arg, "max") == 0) {
    *fuse = ARGUS_GALLERY_FUSE_MAX;
  } else {
    cli_errorf(cmd, "--fuse: '%s' is not mean or max", arg);
    return -1;
  }
  return 0;
}
