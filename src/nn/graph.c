/* Shared helpers of the engine's graph: attributes, shapes, allocation. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph.h"

size_t nn_dtype_size(int dtype) {
  switch (dtype) {
  case NN_FLOAT: case NN_INT32: case NN_UINT32: return 4;
  case NN_UINT8: case NN_INT8: case NN_BOOL: return 1;
  case NN_UINT16: case NN_INT16: case NN_FLOAT16: return 2;
  case NN_INT64: case NN_DOUBLE: case NN_UINT64: return 8;
  default: return 0;
  }
}

const char *nn_dtype_name(int dtype) {
  static const char *const names[] = {
      "undefined", "float", "uint8", "int8", "uint16", "int16", "int32",
      "int64", "string", "bool", "float16", "double", "uint32", "uint64"};
  if (dtype >= 0 && dtype < (int)(sizeof names / sizeof names[0]))
    return names[dtype];
  return "unknown";
}

argus_err nn_fail(nn_err *err, argus_err code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  argus_error_detail_setv(err, fmt, ap);
  va_end(ap);
  return code;
}

const nn_attr *nn_attr_find(const nn_node *n, const char *name) {
  for (int i = 0; i < n->nattrs; i++)
    if (strcmp(n->attrs[i].name, name) == 0)
      return &n->attrs[i];
  return NULL;
}

static argus_err attr_type_err(const nn_node *n, const nn_attr *a,
                               const char *want, nn_err *err) {
  return nn_fail(err, ARGUS_E_CORRUPT,
                 "node '%s' (%s): attribute '%s' should be %s", n->name,
                 n->op_type, a->name, want);
}

argus_err nn_attr_int(const nn_node *n, const char *name, int64_t def,
                      int64_t *out, nn_err *err) {
  const nn_attr *a = nn_attr_find(n, name);
  *out = def;
  if (!a)
    return ARGUS_OK;
  if (a->type != NN_ATTR_INT)
    return attr_type_err(n, a, "an int", err);
  *out = a->i;
  return ARGUS_OK;
}

argus_err nn_attr_float(const nn_node *n, const char *name, float def,
                        float *out, nn_err *err) {
  const nn_attr *a = nn_attr_find(n, name);
  *out = def;
  if (!a)
    return ARGUS_OK;
  if (a->type != NN_ATTR_FLOAT)
    return attr_type_err(n, a, "a float", err);
  *out = a->f;
  return ARGUS_OK;
}

argus_err nn_attr_ints(const nn_node *n, const char *name, const int64_t **out,
                       size_t *count, nn_err *err) {
  const nn_attr *a = nn_attr_find(n, name);
  *out = NULL;
  *count = 0;
  if (!a)
    return ARGUS_OK;
  if (a->type != NN_ATTR_INTS)
    return attr_type_err(n, a, "a list of ints", err);
  *out = a->ints;
  *count = a->count;
  return ARGUS_OK;
}

argus_err nn_attr_floats(const nn_node *n, const char *name, const float **out,
                         size_t *count, nn_err *err) {
  const nn_attr *a = nn_attr_find(n, name);
  *out = NULL;
  *count = 0;
  if (!a)
    return ARGUS_OK;
  if (a->type != NN_ATTR_FLOATS)
    return attr_type_err(n, a, "a list of floats", err);
  *out = a->floats;
  *count = a->count;
  return ARGUS_OK;
}

argus_err nn_attr_string(const nn_node *n, const char *name, const char **out,
                         nn_err *err) {
  const nn_attr *a = nn_attr_find(n, name);
  *out = NULL;
  if (!a)
    return ARGUS_OK;
  if (a->type != NN_ATTR_STRING)
    return attr_type_err(n, a, "a string", err);
  *out = a->s;
  return ARGUS_OK;
}

size_t nn_shape_count(int rank, const int64_t *dims) {
  size_t n = 1;
  if (rank < 0 || rank > NN_MAX_RANK)
    return SIZE_MAX;
  for (int i = 0; i < rank; i++) {
    if (dims[i] < 0)
      return SIZE_MAX;
    if (dims[i] == 0)
      return 0;
    if ((uint64_t)dims[i] > NN_MAX_ELEMS || n > NN_MAX_ELEMS / (size_t)dims[i])
      return SIZE_MAX;
    n *= (size_t)dims[i];
  }
  return n;
}

const char *nn_shape_str(int rank, const int64_t *dims, char *buf, size_t len) {
  size_t o = 0;
  if (len == 0)
    return buf;
  buf[0] = 0;
  o += (size_t)snprintf(buf + o, len - o, "[");
  for (int i = 0; i < rank && o < len; i++)
    o += (size_t)snprintf(buf + o, len - o, i ? ",%lld" : "%lld",
                          (long long)dims[i]);
  if (o < len)
    snprintf(buf + o, len - o, "]");
  return buf;
}

argus_err nn_set_shape(nn_value *v, int dtype, int rank, const int64_t *dims,
                       nn_err *err) {
  char buf[128];
  if (rank < 0 || rank > NN_MAX_RANK)
    return nn_fail(err, ARGUS_E_UNSUPPORTED,
                   "value '%s': rank %d exceeds the engine's limit of %d",
                   v->name, rank, NN_MAX_RANK);
  size_t n = nn_shape_count(rank, dims);
  if (n == SIZE_MAX || n > NN_MAX_ELEMS)
    return nn_fail(err, ARGUS_E_LIMIT,
                   "value '%s': shape %s is negative or too large", v->name,
                   nn_shape_str(rank, dims, buf, sizeof buf));
  if (nn_dtype_size(dtype) == 0)
    return nn_fail(err, ARGUS_E_UNSUPPORTED, "value '%s': element type %s",
                   v->name, nn_dtype_name(dtype));
  v->dtype = dtype;
  v->rank = rank;
  for (int i = 0; i < rank; i++)
    v->dims[i] = dims[i];
  v->nelem = n;
  return ARGUS_OK;
}

argus_err nn_broadcast_shape(int ra, const int64_t *da, int rb,
                             const int64_t *db, int *rout, int64_t *dout) {
  int r = ra > rb ? ra : rb;
  if (r > NN_MAX_RANK)
    return ARGUS_E_UNSUPPORTED;
  for (int i = 0; i < r; i++) {
    int ia = i - (r - ra), ib = i - (r - rb);
    int64_t a = ia >= 0 ? da[ia] : 1, b = ib >= 0 ? db[ib] : 1;
    if (a == b || b == 1)
      dout[i] = a;
    else if (a == 1)
      dout[i] = b;
    else
      return ARGUS_E_SHAPE;
  }
  *rout = r;
  return ARGUS_OK;
}

void *nn_alloc(size_t bytes) {
  void *p = NULL;
  if (bytes == 0)
    bytes = 64;
  bytes = (bytes + 63) & ~(size_t)63;
  if (posix_memalign(&p, 64, bytes) != 0)
    return NULL;
  return p;
}

void nn_free(void *p) { free(p); }

int nn_graph_add_value(nn_graph *g, const char *name) {
  if (g->nvalues == g->cap_values) {
    int cap = g->cap_values ? g->cap_values * 2 : 64;
    nn_value *v = realloc(g->values, (size_t)cap * sizeof *v);
    if (!v)
      return -1;
    g->values = v;
    g->cap_values = cap;
  }
  nn_value *v = &g->values[g->nvalues];
  memset(v, 0, sizeof *v);
  v->name = strdup(name ? name : "");
  if (!v->name)
    return -1;
  v->rank = -1;
  v->producer = -1;
  v->last_use = -1;
  return g->nvalues++;
}

int nn_graph_find_value(const nn_graph *g, const char *name) {
  /* Linear scan from the end: names are looked up while parsing, where the
   * most recent values are the likely hits. Graphs have a few thousand
   * values at most, and this runs once per model. */
  for (int i = g->nvalues - 1; i >= 0; i--)
    if (strcmp(g->values[i].name, name) == 0)
      return i;
  return -1;
}

static void attr_clear(nn_attr *a) {
  free(a->name);
  free(a->s);
  free(a->ints);
  free(a->floats);
  if (a->t) {
    nn_free(a->t->data);
    free(a->t);
  }
}

void nn_graph_free(nn_graph *g) {
  if (!g)
    return;
  for (int i = 0; i < g->nnodes; i++) {
    nn_node *n = &g->nodes[i];
    if (n->op && n->op->free_shared && n->shared)
      n->op->free_shared(n->shared);
    for (int j = 0; j < n->nattrs; j++)
      attr_clear(&n->attrs[j]);
    free(n->attrs);
    free(n->name);
    free(n->op_type);
    free(n->domain);
    free(n->in);
    free(n->out);
  }
  for (int i = 0; i < g->nvalues; i++) {
    free(g->values[i].name);
    if (g->values[i].owns_data)
      nn_free(g->values[i].data);
  }
  free(g->values);
  free(g->nodes);
  free(g->inputs);
  free(g->outputs);
  free(g->producer);
  memset(g, 0, sizeof *g);
}

int nn_graph_readers(const nn_graph *g, int v, int *first) {
  int count = 0;
  for (int i = 0; i < g->nnodes; i++) {
    const nn_node *n = &g->nodes[i];
    if (n->dead)
      continue;
    for (int k = 0; k < n->ninputs; k++)
      if (n->in[k] == v && count++ == 0)
        *first = i;
    if (n->epi.residual == v && count++ == 0)
      *first = i;
  }
  return count;
}
