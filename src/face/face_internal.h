/* Internal helpers shared by the files of the face module. */
#ifndef ARGUS_FACE_INTERNAL_H
#define ARGUS_FACE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "argus/face.h"

#define FACE_MOD "face"

/* Formats a message into err (when not NULL) and returns code. */
argus_err face_fail(argus_face_error *err, argus_err code, const char *fmt,
                    ...) __attribute__((format(printf, 3, 4)));
/* Copies an engine error message into err and returns code. */
argus_err face_fail_nn(argus_face_error *err, argus_err code,
                       const char *what, const argus_nn_error *nerr);

/* A small cache of engine sessions keyed by (width, height, batch), least
 * recently used evicted. A session is planned on first use of a key; in
 * steady state lookups allocate nothing. */
#define FACE_SESS_MAX 8
/* Outputs a cached session binds: 4 heads per stride of an anchor-free
 * detector. */
#define FACE_SESS_MAX_OUT (ARGUS_FACE_MAX_LEVELS * ARGUS_FACE_NHEADS)

typedef struct face_sess {
  argus_nn_session *s;
  int w, h, batch;
  uint64_t used;
  float *in;       /* input buffer in the session arena */
  size_t in_elems; /* per batch item */
  const float *out[FACE_SESS_MAX_OUT];
  int64_t out_dims[FACE_SESS_MAX_OUT][ARGUS_NN_MAX_RANK];
  int out_rank[FACE_SESS_MAX_OUT];
} face_sess;

typedef struct face_sess_cache {
  face_sess e[FACE_SESS_MAX];
  int n;
  uint64_t clock;
  int max; /* entries kept (<= FACE_SESS_MAX) */
} face_sess_cache;

/* Returns the session for the key, planning it when missing: the model's
 * input `input` gets shape [batch, C, h, w] (C from the model), the outputs
 * are `outputs` (noutputs <= FACE_SESS_MAX_OUT; NULL: the graph's first
 * FACE_SESS_MAX_OUT). */
argus_err face_sess_get(face_sess_cache *c, argus_nn_model *model,
                        const char *input, int w, int h, int batch,
                        const char *const *outputs, int noutputs,
                        face_sess **out, argus_face_error *err);
void face_sess_cache_clear(face_sess_cache *c);

/* Runs a session; fills the output pointers. */
argus_err face_sess_run(face_sess *s, argus_face_error *err);

/* Reads a card file whole into *buf (malloc'd, NUL-terminated; the caller
 * frees it), its length into *len. Errors: NOT_FOUND, IO, LIMIT (larger
 * than ARGUS_FACE_CARD_MAX_BYTES), NOMEM; err says which file. */
argus_err face_card_read(const char *path, char **buf, size_t *len,
                         argus_face_error *err);

/* Checks that the model has an input named as the card says, with the
 * card's rank and channel count. */
argus_err face_check_model_input(const argus_face_card *card,
                                 const argus_nn_model *model,
                                 argus_face_error *err);


/* qsort order of boxes shared by NMS and box voting: decreasing score, NaN
 * last, ties by position (y1, then x1) so that results are deterministic. */
int face_box_cmp_score(const void *a, const void *b);

/* A detection candidate with the detector's alignment points (npoints 0 or
 * ARGUS_FACE_NPOINTS), as the engine carries it through NMS and the merge
 * of passes. */
typedef struct face_cand {
  argus_face_box b; /* first: face_box_cmp_score orders candidates too */
  int npoints;
  float points[ARGUS_FACE_NPOINTS][2];
} face_cand;

/* argus_face_nms and argus_face_box_vote on candidates: the same boxes and
 * order; points travel with their box (voting averages the points of the
 * boxes it averages, weighted alike, when they all have points). */
argus_err face_cand_nms(face_cand *c, int n, float iou, int max_keep,
                        int *kept);
argus_err face_cand_vote(face_cand *c, int n, float nms_iou, float vote_iou,
                         int max_keep, int *kept);

#endif
