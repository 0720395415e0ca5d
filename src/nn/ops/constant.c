/*
 * Constant: a value given by one attribute: `value` (a tensor),
 * `value_float(s)` or `value_int(s)`. infer makes the output a plan-time
 * constant pointing at the attribute's data (owned by the model, which
 * outlives every session) or, for a scalar, at a copy in the node's plan;
 * the planner then drops the node. (The model-level optimizer already turns
 * most `value` Constants into plain constant values.)
 */
#include <stdlib.h>
#include <string.h>

#include "movement.h"

typedef struct constant_plan {
  const void *src; /* the constant's bytes */
  union {
    float f;
    int64_t i;
  } scalar; /* value_float / value_int */
} constant_plan;

static argus_err constant_infer(nn_graph *g, nn_node *n, nn_err *err) {
  argus_err e = nn_mv_check_io(g, n, 0, 0, err);
  if (e)
    return e;
  const nn_attr *a = NULL;
  for (int i = 0; i < n->nattrs; i++) {
    const nn_attr *t = &n->attrs[i];
    if (!t->name || (strncmp(t->name, "value", 5) != 0 &&
                     strcmp(t->name, "sparse_value") != 0))
      continue; /* other attributes carry no value */
    if (a)
      return nn_fail(err, ARGUS_E_CORRUPT,
                     "node '%s' (Constant): has both '%s' and '%s'",
                     NN_MV_NAME(n), a->name, t->name);
    a = t;
  }
  if (!a)
    return nn_fail(err, ARGUS_E_CORRUPT,
                   "node '%s' (Constant): no value attribute", NN_MV_NAME(n));
  constant_plan *pl = calloc(1, sizeof *pl);
  if (!pl)
    return nn_fail(err, ARGUS_E_NOMEM, "node '%s' (Constant): out of memory",
                   NN_MV_NAME(n));
  int dtype, rank = 0;
  int64_t dims[NN_MAX_RANK];
  const char *nm = a->name;
  if (strcmp(nm, "value") == 0 && a->type == NN_ATTR_TENSOR && a->t) {
    dtype = a->t->dtype;
    rank = a->t->rank;
    if (nn_dtype_size(dtype) == 0 || rank < 0 || rank > NN_MAX_RANK) {
      e = nn_fail(err, ARGUS_E_UNSUPPORTED,
                  "node '%s' (Constant): value of dtype %s is not supported",
                  NN_MV_NAME(n), nn_dtype_name(dtype));
      goto fail;
    }
    memcpy(dims, a->t->dims, (size_t)rank * sizeof dims[0]);
    pl->src = a->t->data;
  } else if (strcmp(nm, "value_float") == 0 && a->type == NN_ATTR_FLOAT) {
    dtype = NN_FLOAT;
    pl->scalar.f = a->f;
    pl->src = &pl->scalar.f;
  } else if (strcmp(nm, "value_int") == 0 && a->type == NN_ATTR_INT) {
    dtype = NN_INT64;
    pl->scalar.i = a->i;
    pl->src = &pl->scalar.i;
  } else if (strcmp(nm, "value_floats") == 0 && a->type == NN_ATTR_FLOATS) {
    dtype = NN_FLOAT;
    rank = 1;
    dims[0] = (int64_t)a->count;
    pl->src = a->floats;
  } else if (strcmp(nm, "value_ints") == 0 && a->type == NN_ATTR_INTS) {
    dtype = NN_INT64;
    rank = 1;
    dims[0] = (int64_t)a->count;
    pl->src = a->ints;
  } else if (strcmp(nm, "value_string") == 0 ||
             strcmp(nm, "value_strings") == 0 ||
             strcmp(nm, "sparse_value") == 0) {
    e = nn_fail(err, ARGUS_E_UNSUPPORTED,
                "node '%s' (Constant): attribute '%s' is not supported",
                NN_MV_NAME(n), nm);
    goto fail;
  } else {
    e = nn_fail(err, ARGUS_E_CORRUPT,
                "node '%s' (Constant): attribute '%s' is unknown or of the "
                "wrong type",
                NN_MV_NAME(n), nm);
    goto fail;
  }
  if (!pl->src)
    pl->src = &pl->scalar; /* an empty list: any valid pointer */
  nn_value *y = nn_out(g, n, 0);
  if ((e = nn_set_shape(y, dtype, rank, dims, err)))
    goto fail;
  free(n->plan);
  n->plan = pl;
  if (y->owns_data)
    nn_free(y->data);
  y->data = (void *)pl->src;
  y->owns_data = 0;
  y->is_const = 1;
  y->producer = -1;
  return ARGUS_OK;
fail:
  free(pl);
  return e;
}

static argus_err constant_run(const nn_exec *x, const nn_node *n) {
  const constant_plan *pl = n->plan;
  const nn_value *y = nn_out(x->g, n, 0);
  if (!pl)
    return ARGUS_E_INTERNAL;
  nn_mv_copy(x, y->data, pl->src, y->nelem * nn_dtype_size(y->dtype));
  return ARGUS_OK;
}

const nn_op nn_op_constant = {
    .type = "Constant",
    .infer = constant_infer,
    .run = constant_run,
    .free_plan = free,
};
