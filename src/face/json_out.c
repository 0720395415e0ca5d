/* JSON output of faces with the core writer (argus_json). */
#include <math.h>
#include <stdio.h>

#include "argus/face.h"

/* Non-finite values as 0, as the CLI has always printed them. */
static double fin(double v) { return isfinite(v) ? v : 0.0; }

static void point_list(argus_json *j, const char *key, const float (*pts)[2],
                       int n) {
  argus_json_arr_begin(j, key);
  for (int i = 0; i < n; i++) {
    argus_json_arr_begin(j, NULL);
    argus_json_num(j, NULL, fin(pts[i][0]), 1);
    argus_json_num(j, NULL, fin(pts[i][1]), 1);
    argus_json_arr_end(j);
  }
  argus_json_arr_end(j);
}

void argus_face_json_floats(argus_json *j, const char *key, const float *v,
                            int n) {
  argus_json_arr_begin(j, key);
  for (int i = 0; v && i < n; i++)
    argus_json_num(j, NULL, fin(v[i]), -6);
  argus_json_arr_end(j);
}

void argus_face_json_members(const argus_face *f, const float *emb, int dim,
                             unsigned flags, argus_json *j) {
  argus_json_arr_begin(j, "box");
  for (int k = 0; k < 4; k++)
    argus_json_num(j, NULL, fin(f->box[k]), 1);
  argus_json_arr_end(j);
  argus_json_num(j, "score", fin(f->score), 4);
  if (f->npoints == ARGUS_FACE_NPOINTS)
    point_list(j, "points", f->points, ARGUS_FACE_NPOINTS);
  if (f->has_quality) {
    const argus_face_quality *q = &f->quality;
    argus_json_num(j, "quality", fin(q->value), 3);
    argus_json_obj_begin(j, "quality_detail");
    argus_json_num(j, "ipd", fin(q->ipd), 1);
    argus_json_num(j, "sharpness", fin(q->sharpness), 3);
    argus_json_num(j, "yaw", fin(q->yaw), 1);
    argus_json_num(j, "pitch", fin(q->pitch), 1);
    argus_json_num(j, "roll", fin(q->roll), 1);
    argus_json_arr_begin(j, "reasons");
    for (int b = 0; b < ARGUS_FACE_Q_NFLAGS; b++)
      if (q->flags & (1u << b))
        argus_json_str(j, NULL, argus_face_quality_flag_name(1u << b));
    argus_json_arr_end(j);
    argus_json_obj_end(j);
  }
  if ((flags & ARGUS_FACE_JSON_DENSE) && f->ndense > 0 &&
      f->ndense <= ARGUS_FACE_MAX_DENSE) {
    char key[32];
    snprintf(key, sizeof key, "landmarks%d", f->ndense);
    point_list(j, key, f->dense, f->ndense);
  }
  if (emb)
    argus_face_json_floats(j, "embedding", emb, dim);
}
