/*
 * What the enrolment and search commands (person add, import, identify,
 * reindex) share: opening the store, the face engine and the gallery
 * together, the enrolment options, a progress line for long operations and
 * an interrupt flag.
 */
#ifndef ARGUS_CLI_GALLERY_H
#define ARGUS_CLI_GALLERY_H

#include <stdint.h>
#include <stdio.h>

#include "argus/gallery.h"
#include "cli/face_cli.h"
#include "cli/store_cli.h"

int cli_person_add_main(int argc, char **argv);
void cli_person_add_usage(FILE *f);
int cli_import_main(int argc, char **argv);
void cli_import_usage(FILE *f);
int cli_identify_main(int argc, char **argv);
void cli_identify_usage(FILE *f);
int cli_reindex_main(int argc, char **argv);
void cli_reindex_usage(FILE *f);
/* `argus eval` (eval.c): A/B comparison of two embedders or detectors. */
int cli_eval_main(int argc, char **argv);
void cli_eval_usage(FILE *f);

/* Option ids of these commands (above the face and store ones). */
enum {
  GALLERY_OPT_WATCHLIST = 300,
  GALLERY_OPT_PICK,
  GALLERY_OPT_ALIGNED,
  GALLERY_OPT_NO_GATE,
  GALLERY_OPT_MIN_IPD,
  GALLERY_OPT_NEXT
};

/* The enrolment options as cli_opt entries (no terminator). */
#define GALLERY_CLI_ENROL_OPTS                                                 \
  {"pick", 1, GALLERY_OPT_PICK}, {"aligned", 0, GALLERY_OPT_ALIGNED},          \
      {"no-quality-gate", 0, GALLERY_OPT_NO_GATE}, {                           \
    "min-ipd", 1, GALLERY_OPT_MIN_IPD                                          \
  }

/* Help text of the enrolment options. */
void gallery_cli_enrol_usage(FILE *f);
/* Handles an enrolment option. Returns 1 when it was one, 0 when not, -1
 * on a bad value (reported). */
int gallery_cli_enrol_option(const char *cmd, argus_gallery_enrol_opts *o,
                             int id, const char *arg);

/* Everything a command needs: the face engine (c), the store and the
 * gallery of the engine's embedder. */
typedef struct gallery_cli {
  face_cli face;
  argus_store *store;
  argus_gallery *gallery;
} gallery_cli;

/* Opens the engine (face_cli_open), the store at `db` (NULL: default) with
 * the actor "cli:<login>", and a gallery for the engine's embedder
 * (write_only: nothing loaded; else the database must exist, as
 * store_cli_open_existing). Returns CLI_OK or CLI_FAIL (reported). */
int gallery_cli_open(gallery_cli *g, const char *db, int write_only,
                     int with_embeddings);
void gallery_cli_close(gallery_cli *g);
/* Prints "argus: CMD: <message> (CODE)" and returns CLI_FAIL. */
int gallery_cli_error(const char *cmd, argus_err e,
                      const argus_gallery_error *err);

/* A progress line on stderr, drawn only when stderr is a terminal:
 * "\r<label> [#####     ]  45%  760/1680 <unit> <extra>", at most ten
 * times a second. */
typedef struct cli_progress {
  int tty;
  uint64_t last_ns;
  const char *label, *unit;
  int drawn;
} cli_progress;

void cli_progress_init(cli_progress *p, const char *label, const char *unit);
void cli_progress_update(cli_progress *p, int64_t done, int64_t total,
                         const char *extra, int force);
/* Clears the line (so that a message can be printed) */
void cli_progress_clear(cli_progress *p);
/* Ends the line with a newline when one was drawn. */
void cli_progress_end(cli_progress *p);

/* --score-norm topn|none into *norm (argus_gallery_norm) and --fuse
 * mean|max into *fuse (argus_gallery_fuse), for identify and watch. On a
 * bad value: prints why and returns non-zero. */
int gallery_cli_norm(const char *cmd, const char *arg, int *norm);
int gallery_cli_fuse(const char *cmd, const char *arg, int *fuse);


#endif
