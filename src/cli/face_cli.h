/*
 * What the face subcommands (detect, embed, compare) share: their common
 * options, engine set-up, image reading with per-file error reports, JSON
 * output of faces, and drawing boxes for --draw.
 */
#ifndef ARGUS_CLI_FACE_H
#define ARGUS_CLI_FACE_H

#include <stdio.h>

#include "argus/face.h"
#include "cli/cli.h"

int cli_detect_main(int argc, char **argv);
void cli_detect_usage(FILE *f);
int cli_embed_main(int argc, char **argv);
void cli_embed_usage(FILE *f);
int cli_compare_main(int argc, char **argv);
void cli_compare_usage(FILE *f);

/* Option ids shared by the face commands; commands number theirs from
 * FACE_OPT_NEXT. */
enum {
  FACE_OPT_MODELS = 100,
  FACE_OPT_THREADS,
  FACE_OPT_JSON,
  FACE_OPT_MIN_SCORE,
  FACE_OPT_MIN_SIZE,
  FACE_OPT_MAX_FACES,
  FACE_OPT_SIZE,
  FACE_OPT_SCALES,
  FACE_OPT_TILE,
  FACE_OPT_TILE_SCALE,
  FACE_OPT_NMS,
  FACE_OPT_UNVERIFIED,
  FACE_OPT_PLUGIN,
  FACE_OPT_EMBEDDER,
  FACE_OPT_NEXT
};

/* The shared options as cli_opt entries (no terminator), for commands to
 * copy into their own tables. */
#define FACE_CLI_OPTS                                                          \
  {"models", 1, FACE_OPT_MODELS}, {"threads", 1, FACE_OPT_THREADS},            \
      {"json", 0, FACE_OPT_JSON}, {"min-score", 1, FACE_OPT_MIN_SCORE},        \
      {"min-size", 1, FACE_OPT_MIN_SIZE}, {"max-faces", 1, FACE_OPT_MAX_FACES}, \
      {"size", 1, FACE_OPT_SIZE}, {"scales", 1, FACE_OPT_SCALES},              \
      {"tile", 1, FACE_OPT_TILE}, {"tile-scale", 1, FACE_OPT_TILE_SCALE},      \
      {"nms", 1, FACE_OPT_NMS}, {"allow-unverified", 0, FACE_OPT_UNVERIFIED}, \
      {"plugin", 1, FACE_OPT_PLUGIN}, {"embedder", 1, FACE_OPT_EMBEDDER}

/* Help text of the shared options. */
void face_cli_usage_common(FILE *f, int detection);

typedef struct face_cli {
  const char *cmd;
  const char *models; /* NULL: engine default */
  int threads;
  int json;
  int unverified;
  const char *plugin;   /* --plugin PATH (NULL: $ARGUS_PLUGIN or none) */
  const char *embedder; /* embedder card name (NULL: the default) */
  argus_face_detect_opts det;
  argus_threadpool *pool;
  argus_face_engine *engine;
  argus_face *faces; /* FACE_CLI_MAX_FACES */
  float *emb;        /* FACE_CLI_MAX_FACES * dim, when asked for */
} face_cli;

#define FACE_CLI_MAX_FACES 1024

void face_cli_init(face_cli *c, const char *cmd);
/* Handles a shared option (id from cli_parse_next, value in arg). Returns
 * 1 when it was one, 0 when not, -1 on a bad value (reported). */
int face_cli_option(face_cli *c, int id, const char *arg);
/* Creates the pool and the engine; with_embeddings also allocates the
 * embedding buffer. Returns CLI_OK or CLI_FAIL (reported). */
int face_cli_open(face_cli *c, int with_embeddings);
void face_cli_close(face_cli *c);

/* Reads an image file as RGB8; on failure reports "FILE: reason" on stderr
 * and, in JSON mode, prints {"file":…, "error":…} on stdout. Returns 0 or
 * -1. */
int face_cli_read(face_cli *c, const char *path, argus_image *img);
/* Reports a failure for a file (stderr, and a JSON error line). */
void face_cli_file_error(face_cli *c, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The JSON line of one image: {"file", "width", "height" (when width > 0),
 * "model" (when not NULL), "faces": [argus_face_json_members of each, with
 * its embedding when embs is not NULL]} or, with faces NULL, {"file",
 * "model", "embedding"} of the one aligned crop embs. For cli_json_print. */
typedef struct face_cli_image_json {
  const char *file;
  int width, height;
  const char *model;
  const argus_face *faces; /* n faces, or NULL */
  int n;
  const float *embs; /* n (or 1) rows of dim floats, or NULL */
  int dim;
  unsigned flags; /* ARGUS_FACE_JSON_* */
} face_cli_image_json;
void face_cli_image_json_fn(const void *rec, argus_json *j);
/* Text form of one face, one line. */
void face_cli_text_face(FILE *f, int index, const argus_face *face);

/* Draws boxes (coloured by quality) and points onto an RGB8 image. */
void face_cli_draw(argus_image *img, const argus_face *faces, int n);
/* OUT for one input and OUT-N.jpg (N from 1) for several. */
void face_cli_draw_path(char *buf, size_t size, const char *out, int index,
                        int nfiles);

#endif
