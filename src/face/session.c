/* Per-thread caches of engine sessions keyed by input size and batch. */
#include <stdio.h>
#include <string.h>

#include "face_internal.h"

void face_sess_cache_clear(face_sess_cache *c) {
  if (!c)
    return;
  for (int i = 0; i < c->n; i++)
    argus_nn_session_free(c->e[i].s);
  memset(c->e, 0, sizeof c->e);
  c->n = 0;
}

/* Output k of the cache entry is the value outputs[k] (or graph output k). */
static argus_err bind_outputs(face_sess *fs, const char *const *outputs,
                              int noutputs, argus_face_error *err) {
  int nout = outputs ? noutputs : argus_nn_session_output_count(fs->s);
  if (outputs && (noutputs < 0 || noutputs > FACE_SESS_MAX_OUT))
    return face_fail(err, ARGUS_E_LIMIT, "%d outputs asked for (at most %d)",
                     noutputs, FACE_SESS_MAX_OUT);
  for (int k = 0; k < nout && k < FACE_SESS_MAX_OUT; k++) {
    argus_nn_tensor_desc d;
    const void *p;
    int idx = outputs ? argus_nn_session_find_output(fs->s, outputs[k]) : k;
    if (idx < 0)
      return face_fail(err, ARGUS_E_NOT_FOUND, "session has no output '%s'",
                       outputs[k]);
    argus_err rc = argus_nn_session_output(fs->s, idx, &d, &p);
    if (rc)
      return face_fail(err, rc, "session output %d: %s", k,
                       argus_strerror(rc));
    if (d.dtype != ARGUS_NN_FLOAT)
      return face_fail(err, ARGUS_E_UNSUPPORTED,
                       "output '%s' is not float32", d.name);
    fs->out[k] = p;
    fs->out_rank[k] = d.rank;
    memcpy(fs->out_dims[k], d.dims, sizeof d.dims);
  }
  return ARGUS_OK;
}

argus_err face_sess_get(face_sess_cache *c, argus_nn_model *model,
                        const char *input, int w, int h, int batch,
                        const char *const *outputs, int noutputs,
                        face_sess **out, argus_face_error *err) {
  int max = c->max > 0 && c->max <= FACE_SESS_MAX ? c->max : FACE_SESS_MAX;
  c->clock++;
  for (int i = 0; i < c->n; i++) {
    face_sess *e = &c->e[i];
    if (e->w == w && e->h == h && e->batch == batch) {
      e->used = c->clock;
      *out = e;
      return ARGUS_OK;
    }
  }
  /* Plan a new session; evict the least recently used one when full. */
  int slot = c->n;
  if (c->n == max) {
    slot = 0;
    for (int i = 1; i < c->n; i++)
      if (c->e[i].used < c->e[slot].used)
        slot = i;
    argus_nn_session_free(c->e[slot].s);
    memset(&c->e[slot], 0, sizeof c->e[slot]);
  } else {
    c->n++;
  }
  face_sess *fs = &c->e[slot];
  memset(fs, 0, sizeof *fs);
  argus_nn_tensor_desc in;
  int ii = -1;
  for (int i = 0; i < argus_nn_model_input_count(model); i++) {
    if (argus_nn_model_input(model, i, &in) == ARGUS_OK &&
        strcmp(in.name, input) == 0) {
      ii = i;
      break;
    }
  }
  argus_err rc;
  if (ii < 0) {
    rc = face_fail(err, ARGUS_E_NOT_FOUND, "model has no input '%s'", input);
    goto fail;
  }
  argus_nn_input_shape shape;
  memset(&shape, 0, sizeof shape);
  shape.name = input;
  shape.rank = 4;
  shape.dims[0] = batch;
  shape.dims[1] = in.dims[1];
  shape.dims[2] = h;
  shape.dims[3] = w;
  argus_nn_session_opts o;
  memset(&o, 0, sizeof o);
  o.batch = batch;
  o.shapes = &shape;
  o.nshapes = 1;
  o.outputs = outputs;
  o.noutputs = outputs ? noutputs : 0;
  argus_nn_error nerr = {{0}};
  rc = argus_nn_session_create(model, &o, &fs->s, &nerr);
  if (rc) {
    char what[96];
    snprintf(what, sizeof what, "planning a session for %dx%d, batch %d", w,
             h, batch);
    rc = face_fail_nn(err, rc, what, &nerr);
    goto fail;
  }
  int si = argus_nn_session_find_input(fs->s, input);
  argus_nn_tensor_desc d;
  void *p;
  if (si < 0 || (rc = argus_nn_session_input(fs->s, si, &d, &p)) != ARGUS_OK ||
      d.dtype != ARGUS_NN_FLOAT) {
    rc = face_fail(err, ARGUS_E_INTERNAL, "session input '%s' not usable",
                   input);
    goto fail;
  }
  fs->in = p;
  fs->in_elems = (size_t)(d.dims[1] * d.dims[2] * d.dims[3]);
  if ((rc = bind_outputs(fs, outputs, noutputs, err)))
    goto fail;
  fs->w = w;
  fs->h = h;
  fs->batch = batch;
  fs->used = c->clock;
  *out = fs;
  return ARGUS_OK;
fail:
  argus_nn_session_free(fs->s);
  /* Keep the table compact: move the last entry into the hole. */
  c->n--;
  if (slot != c->n)
    c->e[slot] = c->e[c->n];
  memset(&c->e[c->n], 0, sizeof c->e[c->n]);
  return rc;
}

argus_err face_sess_run(face_sess *s, argus_face_error *err) {
  argus_nn_error nerr = {{0}};
  argus_err rc = argus_nn_session_run(s->s, &nerr);
  if (rc)
    return face_fail_nn(err, rc, "running the model", &nerr);
  return ARGUS_OK;
}

argus_err face_check_model_input(const argus_face_card *card,
                                 const argus_nn_model *model,
                                 argus_face_error *err) {
  int n = argus_nn_model_input_count(model);
  for (int i = 0; i < n; i++) {
    argus_nn_tensor_desc d;
    if (argus_nn_model_input(model, i, &d) != ARGUS_OK ||
        strcmp(d.name, card->input_name) != 0)
      continue;
    if (d.dtype != ARGUS_NN_FLOAT || d.rank != card->input_rank ||
        (d.dims[1] >= 0 && d.dims[1] != card->input_shape[1]))
      return face_fail(err, ARGUS_E_SHAPE,
                       "%s: model input '%s' (rank %d, %lld channels) does not "
                       "match the card (rank %d, %lld channels)",
                       card->name, d.name, d.rank, (long long)d.dims[1],
                       card->input_rank, (long long)card->input_shape[1]);
    return ARGUS_OK;
  }
  return face_fail(err, ARGUS_E_NOT_FOUND, "%s: model has no input '%s'",
                   card->name, card->input_name);
}
