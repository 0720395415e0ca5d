/* Public engine API: model loading, session planning and running.
 *
 * A session holds a shallow copy of the model graph: value names, attributes
 * and shared op state are borrowed from the model; shapes, folded constants,
 * per-node plans and the arena belong to the session. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "model.h"
#include "onnx.h"

#define MOD "nn"

struct argus_nn_session {
  argus_nn_model *model; /* kept */
  nn_graph g;            /* shallow copy, see above */
  int *order;            /* live node indices in run order */
  int norder;
  uint8_t *arena;
  size_t arena_bytes, act_bytes;
  nn_exec exec;
  uint8_t *alone; /* per run-order node: 1 = run on the calling thread */
  uint64_t macs;
  int profile;
  double *prof_ms;
};

/* Nodes under this much work run on the calling thread even in a session
 * with a pool: waking the pool and waiting for it costs more than a second
 * thread saves (about 20 us per node on a virtual machine, against a
 * 4-Mi-MAC convolution's 60 us; the 68-point landmarker's 43 small nodes
 * ran 5x slower on two threads than on one). */
#define NN_ALONE_MACS ((uint64_t)1 << 20)
#define NN_ALONE_ELEMS ((size_t)1 << 14)

static void set_err(argus_nn_error *out, const nn_err *e) {
  if (out)
    *out = *e;
}

/* ---- model ------------------------------------------------------------- */

static void count_ops(argus_nn_model *m) {
  for (int i = 0; i < m->g.nnodes; i++) {
    const char *t = m->g.nodes[i].op->type;
    int k;
    for (k = 0; k < m->nops; k++)
      if (strcmp(m->ops[k].type, t) == 0)
        break;
    if (k == m->nops) {
      if (m->nops == (int)(sizeof m->ops / sizeof m->ops[0]))
        continue;
      m->ops[m->nops].type = t;
      m->ops[m->nops].count = 0;
      m->nops++;
    }
    m->ops[k].count++;
  }
  for (int i = 0; i < m->g.nvalues; i++)
    if (m->g.values[i].is_const && m->g.values[i].owns_data &&
        m->g.values[i].producer < 0)
      m->nparams += m->g.values[i].nelem;
}

argus_err argus_nn_model_load_memory(const void *data, size_t size,
                                     argus_nn_model **out,
                                     argus_nn_error *err) {
  nn_err e = {{0}};
  argus_err rc;
  if (!out)
    return ARGUS_E_INVALID_ARG;
  *out = NULL;
  if (!data && size)
    return ARGUS_E_INVALID_ARG;
  if (size > ARGUS_NN_MAX_MODEL_BYTES) {
    nn_fail(&e, ARGUS_E_LIMIT, "model of %zu bytes exceeds the limit of %zu",
            size, ARGUS_NN_MAX_MODEL_BYTES);
    set_err(err, &e);
    return ARGUS_E_LIMIT;
  }
  argus_nn_model *m = calloc(1, sizeof *m);
  if (!m)
    return ARGUS_E_NOMEM;
  rc = nn_onnx_parse_model(data, size, &m->g, &e);
  if (rc)
    goto fail;
  m->nnodes_file = m->g.nnodes;
  count_ops(m);
  rc = nn_optimize_model(&m->g, &e);
  if (rc)
    goto fail;
  argus_log(ARGUS_LOG_DEBUG, MOD, "model loaded: %d nodes, opset %d, isa %s",
            m->g.nnodes, m->g.opset, argus_cpu_isa_name());
  *out = m;
  return ARGUS_OK;
fail:
  set_err(err, &e);
  argus_nn_model_free(m);
  return rc;
}

argus_err argus_nn_model_load_file(const char *path, argus_nn_model **out,
                                   argus_nn_error *err) {
  nn_err e = {{0}};
  argus_err rc = ARGUS_OK;
  uint8_t *buf = NULL;
  FILE *f = NULL;
  if (!path || !out)
    return ARGUS_E_INVALID_ARG;
  *out = NULL;
  f = fopen(path, "rb");
  if (!f) {
    rc = nn_fail(&e, errno == ENOENT ? ARGUS_E_NOT_FOUND : ARGUS_E_IO,
                 "%s: %s", path, strerror(errno));
    goto done;
  }
  struct stat st;
  if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
    rc = nn_fail(&e, ARGUS_E_IO, "%s: not a regular file", path);
    goto done;
  }
  if ((uint64_t)st.st_size > ARGUS_NN_MAX_MODEL_BYTES) {
    rc = nn_fail(&e, ARGUS_E_LIMIT, "%s: %lld bytes exceeds the model limit",
                 path, (long long)st.st_size);
    goto done;
  }
  size_t size = (size_t)st.st_size;
  buf = malloc(size ? size : 1);
  if (!buf) {
    rc = nn_fail(&e, ARGUS_E_NOMEM, "%s: out of memory", path);
    goto done;
  }
  if (size && fread(buf, 1, size, f) != size) {
    rc = nn_fail(&e, ARGUS_E_IO, "%s: short read", path);
    goto done;
  }
  rc = argus_nn_model_load_memory(buf, size, out, err);
  if (rc && err) {
    char tmp[sizeof err->msg];
    snprintf(tmp, sizeof tmp, "%s", err->msg);
    snprintf(err->msg, sizeof err->msg, "%s: %s", path, tmp);
  }
  free(buf);
  fclose(f);
  return rc;
done:
  set_err(err, &e);
  free(buf);
  if (f)
    fclose(f);
  return rc;
}

void argus_nn_model_free(argus_nn_model *m) {
  if (!m)
    return;
  nn_graph_free(&m->g);
  free(m);
}

int argus_nn_model_input_count(const argus_nn_model *m) {
  return m ? m->g.ninputs : 0;
}
int argus_nn_model_output_count(const argus_nn_model *m) {
  return m ? m->g.noutputs : 0;
}

static void fill_desc(const nn_value *v, argus_nn_tensor_desc *d) {
  d->name = v->name;
  d->dtype = v->dtype;
  d->rank = v->rank < 0 ? 0 : v->rank;
  for (int i = 0; i < d->rank; i++)
    d->dims[i] = v->dims[i];
}

argus_err argus_nn_model_input(const argus_nn_model *m, int i,
                               argus_nn_tensor_desc *out) {
  if (!m || !out || i < 0 || i >= m->g.ninputs)
    return ARGUS_E_INVALID_ARG;
  fill_desc(&m->g.values[m->g.inputs[i]], out);
  return ARGUS_OK;
}

argus_err argus_nn_model_output(const argus_nn_model *m, int i,
                                argus_nn_tensor_desc *out) {
  if (!m || !out || i < 0 || i >= m->g.noutputs)
    return ARGUS_E_INVALID_ARG;
  const nn_value *v = &m->g.values[m->g.outputs[i]];
  fill_desc(v, out);
  if (v->rank < 0)
    out->rank = -1;
  return ARGUS_OK;
}

argus_err argus_nn_model_get_info(const argus_nn_model *m,
                                  argus_nn_model_info *out) {
  if (!m || !out)
    return ARGUS_E_INVALID_ARG;
  out->ir_version = m->g.ir_version;
  out->opset = m->g.opset;
  out->producer = m->g.producer ? m->g.producer : "";
  out->nnodes = m->nnodes_file;
  out->nnodes_optimised = 0;
  for (int i = 0; i < m->g.nnodes; i++)
    out->nnodes_optimised += !m->g.nodes[i].dead;
  out->nparams = m->nparams;
  return ARGUS_OK;
}

argus_err argus_nn_model_op(const argus_nn_model *m, int i, const char **type,
                            int *count) {
  if (!m || !type || !count)
    return ARGUS_E_INVALID_ARG;
  if (i < 0 || i >= m->nops)
    return ARGUS_E_NOT_FOUND;
  *type = m->ops[i].type;
  *count = m->ops[i].count;
  return ARGUS_OK;
}

/* ---- session planning -------------------------------------------------- */

static void session_graph_free(argus_nn_session *s) {
  nn_graph *g = &s->g;
  if (g->nodes) {
    for (int i = 0; i < g->nnodes; i++) {
      nn_node *n = &g->nodes[i];
      if (n->plan && n->op && n->op->free_plan)
        n->op->free_plan(n->plan);
      free(n->in);
      free(n->out);
    }
  }
  if (g->values)
    for (int i = 0; i < g->nvalues; i++) {
      if (g->values[i].owns_data)
        nn_free(g->values[i].data);
      if (g->values[i].owns_name)
        free(g->values[i].name);
    }
  free(g->values);
  free(g->nodes);
  free(g->inputs);
  free(g->outputs);
  memset(g, 0, sizeof *g);
}

static argus_err copy_graph(const nn_graph *src, nn_graph *g) {
  memset(g, 0, sizeof *g);
  g->values = calloc((size_t)src->nvalues, sizeof *g->values);
  g->nodes = calloc((size_t)(src->nnodes ? src->nnodes : 1), sizeof *g->nodes);
  g->inputs = malloc((size_t)(src->ninputs ? src->ninputs : 1) * sizeof(int));
  g->outputs =
      malloc((size_t)(src->noutputs ? src->noutputs : 1) * sizeof(int));
  if (!g->values || !g->nodes || !g->inputs || !g->outputs)
    return ARGUS_E_NOMEM;
  g->nvalues = g->cap_values = src->nvalues;
  memcpy(g->values, src->values, (size_t)src->nvalues * sizeof *g->values);
  for (int i = 0; i < g->nvalues; i++) {
    g->values[i].owns_data = 0;
    g->values[i].owns_name = 0;
  }
  g->nnodes = g->cap_nodes = src->nnodes;
  for (int i = 0; i < src->nnodes; i++) {
    nn_node *n = &g->nodes[i];
    *n = src->nodes[i];
    n->plan = NULL;
    n->in = malloc((size_t)(n->ninputs ? n->ninputs : 1) * sizeof(int));
    n->out = malloc((size_t)(n->noutputs ? n->noutputs : 1) * sizeof(int));
    if (!n->in || !n->out)
      return ARGUS_E_NOMEM;
    if (n->ninputs)
      memcpy(n->in, src->nodes[i].in, (size_t)n->ninputs * sizeof(int));
    if (n->noutputs)
      memcpy(n->out, src->nodes[i].out, (size_t)n->noutputs * sizeof(int));
  }
  g->ninputs = src->ninputs;
  memcpy(g->inputs, src->inputs, (size_t)src->ninputs * sizeof(int));
  g->noutputs = src->noutputs;
  memcpy(g->outputs, src->outputs, (size_t)src->noutputs * sizeof(int));
  g->opset = src->opset;
  g->ir_version = src->ir_version;
  g->producer = NULL;
  return ARGUS_OK;
}

/* Replaces the graph outputs by the named values and drops the nodes that
 * no longer contribute to any output. */
static argus_err select_outputs(nn_graph *g, const argus_nn_session_opts *o,
                                nn_err *err) {
  if (!o || o->noutputs <= 0)
    return ARGUS_OK;
  int *outs = malloc((size_t)o->noutputs * sizeof *outs);
  char *need = calloc((size_t)g->nvalues, 1);
  argus_err rc = ARGUS_OK;
  if (!outs || !need) {
    rc = nn_fail(err, ARGUS_E_NOMEM, "out of memory");
    goto done;
  }
  for (int k = 0; k < o->noutputs; k++) {
    const char *name = o->outputs[k];
    int v = name ? nn_graph_find_value(g, name) : -1;
    if (v < 0) {
      rc = nn_fail(err, ARGUS_E_NOT_FOUND, "the model has no value '%s'",
                   name ? name : "(null)");
      goto done;
    }
    const nn_value *val = &g->values[v];
    if (val->producer < 0 && !val->is_input && !val->is_const) {
      rc = nn_fail(err, ARGUS_E_UNSUPPORTED,
                   "value '%s' no longer exists after optimisation (it was "
                   "fused into its consumer)",
                   name);
      goto done;
    }
    outs[k] = v;
  }
  for (int i = 0; i < g->nvalues; i++)
    g->values[i].is_output = 0;
  for (int k = 0; k < o->noutputs; k++) {
    g->values[outs[k]].is_output = 1;
    need[outs[k]] = 1;
  }
  for (int i = g->nnodes - 1; i >= 0; i--) {
    nn_node *n = &g->nodes[i];
    if (n->dead)
      continue;
    int live = 0;
    for (int k = 0; k < n->noutputs; k++)
      if (n->out[k] >= 0 && need[n->out[k]])
        live = 1;
    if (!live) {
      n->dead = 1;
      continue;
    }
    for (int k = 0; k < n->ninputs; k++)
      if (n->in[k] >= 0)
        need[n->in[k]] = 1;
  }
  int *o2 = realloc(g->outputs, (size_t)o->noutputs * sizeof *o2);
  if (!o2) {
    rc = nn_fail(err, ARGUS_E_NOMEM, "out of memory");
    goto done;
  }
  g->outputs = o2;
  memcpy(g->outputs, outs, (size_t)o->noutputs * sizeof *outs);
  g->noutputs = o->noutputs;
done:
  free(outs);
  free(need);
  return rc;
}

static argus_err set_input_shapes(nn_graph *g, const argus_nn_session_opts *o,
                                  nn_err *err) {
  for (int k = 0; o && k < o->nshapes; k++) {
    const argus_nn_input_shape *sh = &o->shapes[k];
    int found = 0;
    for (int i = 0; i < g->ninputs; i++) {
      nn_value *v = &g->values[g->inputs[i]];
      if (!sh->name || strcmp(v->name, sh->name) != 0)
        continue;
      found = 1;
      if (sh->rank != v->rank)
        return nn_fail(err, ARGUS_E_SHAPE,
                       "input '%s' has rank %d; the shape given has rank %d",
                       v->name, v->rank, sh->rank);
      for (int d = 0; d < v->rank; d++)
        v->dims[d] = sh->dims[d];
    }
    if (!found)
      return nn_fail(err, ARGUS_E_NOT_FOUND, "the model has no input '%s'",
                     sh->name ? sh->name : "(null)");
  }
  for (int i = 0; i < g->ninputs; i++) {
    nn_value *v = &g->values[g->inputs[i]];
    if (o && o->batch > 0 && v->rank > 0)
      v->dims[0] = o->batch;
    char buf[160];
    for (int d = 0; d < v->rank; d++)
      if (v->dims[d] <= 0 && !(v->dims[d] == 0 && o && o->nshapes))
        return nn_fail(err, ARGUS_E_SHAPE,
                       "input '%s' has shape %s: give the free dimensions "
                       "with an input shape",
                       v->name, nn_shape_str(v->rank, v->dims, buf, sizeof buf));
    argus_err e = nn_set_shape(v, v->dtype, v->rank, v->dims, err);
    if (e)
      return e;
  }
  for (int k = 0; o && k < o->nvalues; k++) {
    const argus_nn_input_value *iv = &o->values[k];
    int found = 0;
    for (int i = 0; i < g->ninputs && iv->name; i++) {
      nn_value *v = &g->values[g->inputs[i]];
      if (strcmp(v->name, iv->name) != 0)
        continue;
      found = 1;
      size_t bytes = v->nelem * nn_dtype_size(v->dtype);
      if (iv->bytes != bytes || (bytes && !iv->data))
        return nn_fail(err, ARGUS_E_SHAPE,
                       "input '%s': value of %zu bytes given, its shape "
                       "needs %zu",
                       v->name, iv->bytes, bytes);
      if (v->is_const)
        return nn_fail(err, ARGUS_E_INVALID_ARG,
                       "input '%s': value given twice", v->name);
      v->data = nn_alloc(bytes);
      if (!v->data)
        return nn_fail(err, ARGUS_E_NOMEM, "out of memory");
      if (bytes)
        memcpy(v->data, iv->data, bytes);
      v->owns_data = 1;
      v->is_const = 1;
    }
    if (!found)
      return nn_fail(err, ARGUS_E_NOT_FOUND, "the model has no input '%s'",
                     iv->name ? iv->name : "(null)");
  }
  return ARGUS_OK;
}

/* Runs a node at plan time on freshly allocated outputs (constant folding). */
static argus_err fold_node(nn_graph *g, nn_node *n, nn_err *err) {
  for (int k = 0; k < n->noutputs; k++) {
    if (n->out[k] < 0)
      continue;
    nn_value *v = &g->values[n->out[k]];
    v->data = nn_alloc(v->nelem * nn_dtype_size(v->dtype));
    if (!v->data)
      return nn_fail(err, ARGUS_E_NOMEM, "out of memory folding '%s'",
                     n->name);
    v->owns_data = 1;
  }
  size_t scratch = n->op->scratch ? n->op->scratch(g, n) : 0;
  nn_exec x = {g, NULL, 1, NULL, scratch};
  if (scratch) {
    x.scratch = nn_alloc(scratch);
    if (!x.scratch)
      return nn_fail(err, ARGUS_E_NOMEM, "out of memory folding '%s'",
                     n->name);
  }
  argus_err e = n->op->run(&x, n);
  nn_free(x.scratch);
  if (e)
    return nn_fail(err, e, "node '%s' (%s): failed while folding constants",
                   n->name, n->op_type);
  for (int k = 0; k < n->noutputs; k++)
    if (n->out[k] >= 0) {
      g->values[n->out[k]].is_const = 1;
      g->values[n->out[k]].producer = -1;
    }
  n->dead = 1;
  return ARGUS_OK;
}

/* Exporters often bake the batch size of 1 into Reshape targets
 * (Reshape(x, [1, -1])). When a session runs a larger batch and the data
 * entering such a Reshape carries that batch in dimension 0, the target's
 * leading 1 is the batch: the session gets its own copy with the batch. */
static argus_err generalise_reshape_batch(nn_graph *g, nn_node *n, int batch,
                                          nn_err *err) {
  if (batch <= 1 || strcmp(n->op_type, "Reshape") != 0 || n->ninputs < 2 ||
      n->in[0] < 0 || n->in[1] < 0)
    return ARGUS_OK;
  nn_value *x = &g->values[n->in[0]], *shape = &g->values[n->in[1]];
  if (!shape->is_const || shape->dtype != NN_INT64 || shape->nelem < 1 ||
      x->rank < 1 || x->dims[0] != batch ||
      ((const int64_t *)shape->data)[0] != 1)
    return ARGUS_OK;
  int64_t *copy = nn_alloc(shape->nelem * sizeof *copy);
  if (!copy)
    return nn_fail(err, ARGUS_E_NOMEM, "out of memory");
  memcpy(copy, shape->data, shape->nelem * sizeof *copy);
  copy[0] = batch;
  int v = nn_graph_add_value(g, shape->name);
  if (v < 0) {
    nn_free(copy);
    return nn_fail(err, ARGUS_E_NOMEM, "out of memory");
  }
  nn_value *nv = &g->values[v];
  const nn_value *old = &g->values[n->in[1]];
  char *own_name = nv->name;
  *nv = *old;
  nv->name = own_name;
  nv->data = copy;
  nv->owns_data = 1;
  nv->owns_name = 1;
  n->in[1] = v;
  return ARGUS_OK;
}

static argus_err infer_and_fold(nn_graph *g, int batch, nn_err *err) {
  for (int i = 0; i < g->nnodes; i++) {
    nn_node *n = &g->nodes[i];
    if (n->dead)
      continue;
    argus_err ge = generalise_reshape_batch(g, n, batch, err);
    if (ge)
      return ge;
    for (int k = 0; k < n->ninputs; k++)
      if (n->in[k] >= 0 && g->values[n->in[k]].rank < 0)
        return nn_fail(err, ARGUS_E_INTERNAL,
                       "node '%s' (%s): input '%s' has no shape", n->name,
                       n->op_type, g->values[n->in[k]].name);
    argus_err e = n->op->infer(g, n, err);
    if (e) {
      /* Make sure the message names the node. */
      if (err && !strstr(err->msg, n->name)) {
        char tmp[sizeof err->msg];
        snprintf(tmp, sizeof tmp, "%s", err->msg);
        snprintf(err->msg, sizeof err->msg, "node '%s' (%s): %s", n->name,
                 n->op_type, tmp);
      }
      return e;
    }
    int all_out_const = 1, all_in_const = 1;
    for (int k = 0; k < n->noutputs; k++)
      if (n->out[k] >= 0 && !g->values[n->out[k]].is_const)
        all_out_const = 0;
    for (int k = 0; k < n->ninputs; k++)
      if (n->in[k] >= 0 && !g->values[n->in[k]].is_const)
        all_in_const = 0;
    if (n->epi.act == NN_ACT_PRELU || n->epi.residual >= 0)
      all_in_const = 0; /* keep fused nodes simple: they run */
    if (all_out_const) {
      n->dead = 1; /* infer produced constants itself (Constant) */
    } else if (all_in_const || (n->op->flags & NN_OP_SHAPE_ONLY)) {
      if ((e = fold_node(g, n, err)))
        return e;
    }
  }
  return ARGUS_OK;
}

static int same_shape(const nn_value *a, const nn_value *b) {
  if (a->rank != b->rank || a->dtype != b->dtype)
    return 0;
  for (int d = 0; d < a->rank; d++)
    if (a->dims[d] != b->dims[d])
      return 0;
  return 1;
}

/* Conv -> Add(conv_out, z) becomes Conv with a residual epilogue, and a
 * following Relu folds in after the add when the Conv had no activation. */
static void fuse_residuals(nn_graph *g) {
  for (int i = 0; i < g->nnodes; i++) {
    nn_node *c = &g->nodes[i];
    if (c->dead || strcmp(c->op_type, "Conv") != 0 || c->epi.residual >= 0 ||
        c->noutputs != 1)
      continue;
    int y = c->out[0], j = -1;
    if (g->values[y].is_output || nn_graph_readers(g, y, &j) != 1)
      continue;
    nn_node *a = &g->nodes[j];
    if (strcmp(a->op_type, "Add") != 0 || a->ninputs != 2 || a->noutputs != 1)
      continue;
    int z = a->in[0] == y ? a->in[1] : a->in[0];
    if (z < 0 || z == y || a->in[0] == a->in[1])
      continue;
    const nn_value *zv = &g->values[z];
    if (!same_shape(zv, &g->values[y]) || !same_shape(zv, &g->values[a->out[0]]))
      continue;
    if (zv->dtype != NN_FLOAT)
      continue;
    /* z must be ready before the Conv runs. */
    if (!zv->is_input && !zv->is_const && zv->producer >= i)
      continue;
    c->epi.residual = z;
    c->epi.add_before_act = 0;
    g->values[y].producer = -1;
    c->out[0] = a->out[0];
    g->values[c->out[0]].producer = i;
    a->dead = 1;
    /* Add -> Relu */
    if (c->epi.act == NN_ACT_NONE) {
      int r = -1, y2 = c->out[0];
      if (!g->values[y2].is_output && nn_graph_readers(g, y2, &r) == 1 &&
          strcmp(g->nodes[r].op_type, "Relu") == 0 &&
          g->nodes[r].noutputs == 1 && g->nodes[r].in[0] == y2) {
        c->epi.act = NN_ACT_RELU;
        c->epi.add_before_act = 1;
        g->values[y2].producer = -1;
        c->out[0] = g->nodes[r].out[0];
        g->values[c->out[0]].producer = i;
        g->nodes[r].dead = 1;
      }
    }
  }
}

typedef struct slot {
  int v;
  size_t size;
  int first, last;
  size_t off;
} slot;

static int slot_cmp(const void *a, const void *b) {
  const slot *x = a, *y = b;
  if (x->size != y->size)
    return x->size < y->size ? 1 : -1;
  return x->v - y->v;
}

/* Greedy by size: each buffer takes the lowest offset that does not overlap
 * any already placed buffer whose lifetime intersects its own. */
static argus_err plan_memory(argus_nn_session *s, nn_err *err) {
  nn_graph *g = &s->g;
  int nv = g->nvalues;
  int *alias = malloc((size_t)nv * sizeof *alias);
  int *first = malloc((size_t)nv * sizeof *first);
  int *last = malloc((size_t)nv * sizeof *last);
  slot *slots = malloc((size_t)nv * sizeof *slots);
  argus_err rc = ARGUS_OK;
  if (!alias || !first || !last || !slots) {
    rc = nn_fail(err, ARGUS_E_NOMEM, "out of memory planning");
    goto done;
  }
  int end = s->norder + 1;
  for (int v = 0; v < nv; v++) {
    alias[v] = v;
    first[v] = -1;
    last[v] = -1;
  }
  for (int i = 0; i < g->ninputs; i++) {
    first[g->inputs[i]] = 0;
    last[g->inputs[i]] = end;
  }
  for (int t = 0; t < s->norder; t++) {
    nn_node *n = &g->nodes[s->order[t]];
    int step = t + 1;
    for (int k = 0; k < n->noutputs; k++) {
      int v = n->out[k];
      if (v < 0)
        continue;
      if (first[v] < 0)
        first[v] = step;
      if (last[v] < step)
        last[v] = step;
    }
    if ((n->op->flags & NN_OP_ALIAS) && n->ninputs >= 1 && n->in[0] >= 0 &&
        n->noutputs >= 1 && n->out[0] >= 0 && !g->values[n->in[0]].is_const) {
      int root = alias[n->in[0]];
      alias[n->out[0]] = root;
    }
    for (int k = 0; k <= n->ninputs; k++) {
      int v = k < n->ninputs ? n->in[k] : n->epi.residual;
      if (v < 0 || g->values[v].is_const)
        continue;
      if (last[v] < step)
        last[v] = step;
    }
  }
  for (int i = 0; i < g->noutputs; i++) {
    if (first[g->outputs[i]] < 0)
      first[g->outputs[i]] = 0; /* folded to a constant at planning */
    last[g->outputs[i]] = end;
  }
  /* Fold aliases into their roots' lifetimes. */
  for (int v = 0; v < nv; v++) {
    int r = alias[v];
    if (r == v || first[v] < 0)
      continue;
    if (last[r] < last[v])
      last[r] = last[v];
  }
  int ns = 0;
  for (int v = 0; v < nv; v++) {
    if (alias[v] != v || first[v] < 0 || g->values[v].is_const)
      continue;
    size_t bytes = g->values[v].nelem * nn_dtype_size(g->values[v].dtype);
    slots[ns].v = v;
    slots[ns].size = (bytes + 63) & ~(size_t)63;
    if (slots[ns].size == 0)
      slots[ns].size = 64;
    slots[ns].first = first[v];
    slots[ns].last = last[v];
    ns++;
  }
  qsort(slots, (size_t)ns, sizeof *slots, slot_cmp);
  size_t total = 0;
  for (int i = 0; i < ns; i++) {
    size_t off = 0;
    int moved = 1;
    while (moved) {
      moved = 0;
      for (int j = 0; j < i; j++) {
        if (slots[j].last < slots[i].first || slots[i].last < slots[j].first)
          continue;
        if (off + slots[i].size <= slots[j].off ||
            slots[j].off + slots[j].size <= off)
          continue;
        off = slots[j].off + slots[j].size;
        moved = 1;
      }
    }
    slots[i].off = off;
    if (off + slots[i].size > total)
      total = off + slots[i].size;
  }
  /* Scratch per thread. */
  size_t scratch = 0;
  for (int t = 0; t < s->norder; t++) {
    nn_node *n = &g->nodes[s->order[t]];
    if (n->op->scratch) {
      size_t b = n->op->scratch(g, n);
      if (b > scratch)
        scratch = b;
    }
  }
  scratch = (scratch + 63) & ~(size_t)63;
  int nthreads = s->exec.nthreads;
  s->act_bytes = total;
  s->arena_bytes = total + scratch * (size_t)nthreads;
  s->arena = nn_alloc(s->arena_bytes);
  if (!s->arena) {
    rc = nn_fail(err, ARGUS_E_NOMEM, "out of memory: arena of %zu bytes",
                 s->arena_bytes);
    goto done;
  }
  memset(s->arena, 0, s->arena_bytes);
  for (int i = 0; i < ns; i++)
    g->values[slots[i].v].data = s->arena + slots[i].off;
  for (int v = 0; v < nv; v++)
    if (alias[v] != v && first[v] >= 0)
      g->values[v].data = g->values[alias[v]].data;
  s->exec.g = g;
  s->exec.scratch = s->arena + total;
  s->exec.scratch_stride = scratch;
done:
  free(alias);
  free(first);
  free(last);
  free(slots);
  return rc;
}

static uint64_t node_macs(const nn_graph *g, const nn_node *n) {
  const nn_value *y = n->noutputs ? &g->values[n->out[0]] : NULL;
  if (!y || y->rank < 0)
    return 0;
  int pooled = strcmp(n->op_type, "Conv+MaxPool") == 0;
  if ((strcmp(n->op_type, "Conv") == 0 || pooled) && n->ninputs >= 2) {
    uint64_t per = 0;
    /* a fused 1x1 -> depthwise node (optimize.c) has W1 at 1 and W2 at 3 */
    for (int k = 1; k < n->ninputs && k <= 3; k += 2) {
      if (n->in[k] < 0)
        continue;
      const nn_value *w = &g->values[n->in[k]];
      uint64_t p = 1;
      for (int d = 1; d < w->rank; d++)
        p *= (uint64_t)w->dims[d];
      per += p;
    }
    return (uint64_t)y->nelem * (pooled ? 4 : 1) * per;
  }
  /* QLinearConv and QLinearMatMul carry their weights at input 3 */
  if (strcmp(n->op_type, "QLinearConv") == 0 && n->ninputs >= 4 &&
      n->in[3] >= 0) {
    const nn_value *w = &g->values[n->in[3]];
    uint64_t p = 1;
    for (int d = 1; d < w->rank; d++)
      p *= (uint64_t)w->dims[d];
    return (uint64_t)y->nelem * p;
  }
  int qmm = strcmp(n->op_type, "QLinearMatMul") == 0;
  if ((strcmp(n->op_type, "Gemm") == 0 || strcmp(n->op_type, "MatMul") == 0 ||
       qmm) &&
      n->ninputs >= (qmm ? 4 : 2) && n->in[qmm ? 3 : 1] >= 0) {
    const nn_value *b = &g->values[n->in[qmm ? 3 : 1]];
    if (b->rank < 1)
      return 0;
    int64_t k = b->rank >= 2 ? b->dims[b->rank - 2] : b->dims[0];
    if (strcmp(n->op_type, "Gemm") == 0) {
      int64_t tb = 0;
      nn_attr_int(n, "transB", 0, &tb, NULL);
      if (tb)
        k = b->dims[1];
    }
    return (uint64_t)y->nelem * (uint64_t)k;
  }
  return 0;
}

argus_err argus_nn_precision_parse(const char *text, int *out) {
  if (!text || !out)
    return ARGUS_E_INVALID_ARG;
  if (strcmp(text, "f32") == 0)
    *out = ARGUS_NN_PRECISION_F32;
  else if (strcmp(text, "bf16") == 0)
    *out = ARGUS_NN_PRECISION_BF16;
  else if (strcmp(text, "int8") == 0)
    *out = ARGUS_NN_PRECISION_INT8;
  else
    return ARGUS_E_INVALID_ARG;
  return ARGUS_OK;
}

const char *argus_nn_precision_name(int precision) {
  return precision == ARGUS_NN_PRECISION_BF16   ? "bf16"
         : precision == ARGUS_NN_PRECISION_INT8 ? "int8"
                                                : "f32";
}

argus_err argus_nn_model_set_precision(argus_nn_model *model, int precision) {
  if (!model || precision < ARGUS_NN_PRECISION_DEFAULT ||
      precision > ARGUS_NN_PRECISION_INT8)
    return ARGUS_E_INVALID_ARG;
  model->precision = precision;
  return ARGUS_OK;
}

/* ARGUS_PRECISION, then the options, then the model's; f32 by default. */
static int session_precision(const argus_nn_model *model,
                             const argus_nn_session_opts *opts) {
  int p = opts && opts->precision ? opts->precision : model->precision;
  const char *env = getenv("ARGUS_PRECISION");
  int ep;
  if (env && *env) {
    if (argus_nn_precision_parse(env, &ep) == ARGUS_OK)
      p = ep;
    else
      argus_log(ARGUS_LOG_WARN, MOD,
                "ARGUS_PRECISION='%s' is not f32, bf16 or int8; ignored", env);
  }
  if (p != ARGUS_NN_PRECISION_BF16 && p != ARGUS_NN_PRECISION_INT8)
    p = ARGUS_NN_PRECISION_F32;
  argus_log(ARGUS_LOG_DEBUG, MOD, "session precision: %s",
            argus_nn_precision_name(p));
  return p;
}

argus_err argus_nn_session_create(argus_nn_model *model,
                                  const argus_nn_session_opts *opts,
                                  argus_nn_session **out,
                                  argus_nn_error *err) {
  nn_err e = {{0}};
  argus_err rc;
  if (!model || !out)
    return ARGUS_E_INVALID_ARG;
  *out = NULL;
  if (opts && (opts->batch < 0 || opts->nshapes < 0 || opts->nvalues < 0 ||
               opts->precision < 0 || opts->precision > ARGUS_NN_PRECISION_INT8 ||
               opts->noutputs < 0 || (opts->noutputs > 0 && !opts->outputs) ||
               (opts->nshapes > 0 && !opts->shapes) ||
               (opts->nvalues > 0 && !opts->values)))
    return ARGUS_E_INVALID_ARG;
  argus_nn_session *s = calloc(1, sizeof *s);
  if (!s)
    return ARGUS_E_NOMEM;
  s->model = model;
  s->exec.pool = opts ? opts->pool : NULL;
  s->exec.nthreads = argus_threadpool_size(s->exec.pool);
  s->profile = getenv("ARGUS_NN_PROFILE") != NULL;
  if ((rc = copy_graph(&model->g, &s->g))) {
    nn_fail(&e, rc, "out of memory");
    goto fail;
  }
  s->g.precision = session_precision(model, opts);
  if ((rc = select_outputs(&s->g, opts, &e)))
    goto fail;
  if ((rc = set_input_shapes(&s->g, opts, &e)))
    goto fail;
  if ((rc = infer_and_fold(&s->g, opts ? opts->batch : 0, &e)))
    goto fail;
  fuse_residuals(&s->g);
  if (!getenv("ARGUS_NN_NO_UP2"))
    nn_fuse_upsample_add(&s->g);
  nn_conv_pair_edges(&s->g);
  s->order = malloc((size_t)(s->g.nnodes ? s->g.nnodes : 1) * sizeof(int));
  s->prof_ms = calloc((size_t)(s->g.nnodes ? s->g.nnodes : 1), sizeof(double));
  s->alone = calloc((size_t)(s->g.nnodes ? s->g.nnodes : 1), 1);
  if (!s->order || !s->prof_ms || !s->alone) {
    rc = nn_fail(&e, ARGUS_E_NOMEM, "out of memory");
    goto fail;
  }
  for (int i = 0; i < s->g.nnodes; i++)
    if (!s->g.nodes[i].dead) {
      const nn_node *n = &s->g.nodes[i];
      uint64_t macs = node_macs(&s->g, n);
      const nn_value *y = n->noutputs ? &s->g.values[n->out[0]] : NULL;
      s->alone[s->norder] =
          macs ? macs < NN_ALONE_MACS
               : !y || y->rank < 0 || (size_t)y->nelem < NN_ALONE_ELEMS;
      s->order[s->norder++] = i;
      s->macs += macs;
    }
  /* Graph outputs that folded to constants get their own arena slot, filled
   * once here: runs never write them. */
  int nout = s->g.noutputs ? s->g.noutputs : 1;
  void **folded = calloc((size_t)nout, sizeof *folded);
  int *folded_owned = calloc((size_t)nout, sizeof *folded_owned);
  if (!folded || !folded_owned) {
    free(folded);
    free(folded_owned);
    rc = nn_fail(&e, ARGUS_E_NOMEM, "out of memory");
    goto fail;
  }
  for (int i = 0; i < s->g.noutputs; i++) {
    nn_value *v = &s->g.values[s->g.outputs[i]];
    if (v->is_const && !v->is_input) {
      folded[i] = v->data;
      folded_owned[i] = v->owns_data;
      v->owns_data = 0;
      v->is_const = 0;
    }
  }
  rc = plan_memory(s, &e);
  for (int i = 0; i < s->g.noutputs && !rc; i++) {
    nn_value *v = &s->g.values[s->g.outputs[i]];
    if (folded[i] && v->data != folded[i])
      memcpy(v->data, folded[i], v->nelem * nn_dtype_size(v->dtype));
  }
  for (int i = 0; i < s->g.noutputs; i++)
    if (folded_owned[i])
      nn_free(folded[i]);
  free(folded);
  free(folded_owned);
  if (rc)
    goto fail;
  argus_log(ARGUS_LOG_DEBUG, MOD, "session: %d nodes, arena %zu bytes",
            s->norder, s->arena_bytes);
  *out = s;
  return ARGUS_OK;
fail:
  set_err(err, &e);
  argus_nn_session_free(s);
  return rc;
}

void argus_nn_session_free(argus_nn_session *s) {
  if (!s)
    return;
  session_graph_free(s);
  nn_free(s->arena);
  free(s->order);
  free(s->prof_ms);
  free(s->alone);
  free(s);
}

int argus_nn_session_input_count(const argus_nn_session *s) {
  return s ? s->g.ninputs : 0;
}
int argus_nn_session_output_count(const argus_nn_session *s) {
  return s ? s->g.noutputs : 0;
}

argus_err argus_nn_session_input(argus_nn_session *s, int i,
                                 argus_nn_tensor_desc *desc, void **data) {
  if (!s || i < 0 || i >= s->g.ninputs)
    return ARGUS_E_INVALID_ARG;
  nn_value *v = &s->g.values[s->g.inputs[i]];
  if (desc)
    fill_desc(v, desc);
  if (data)
    *data = v->data;
  return ARGUS_OK;
}

argus_err argus_nn_session_output(argus_nn_session *s, int i,
                                  argus_nn_tensor_desc *desc,
                                  const void **data) {
  if (!s || i < 0 || i >= s->g.noutputs)
    return ARGUS_E_INVALID_ARG;
  nn_value *v = &s->g.values[s->g.outputs[i]];
  if (desc)
    fill_desc(v, desc);
  if (data)
    *data = v->data;
  return ARGUS_OK;
}

int argus_nn_session_find_input(const argus_nn_session *s, const char *name) {
  for (int i = 0; s && name && i < s->g.ninputs; i++)
    if (strcmp(s->g.values[s->g.inputs[i]].name, name) == 0)
      return i;
  return -1;
}

int argus_nn_session_find_output(const argus_nn_session *s, const char *name) {
  for (int i = 0; s && name && i < s->g.noutputs; i++)
    if (strcmp(s->g.values[s->g.outputs[i]].name, name) == 0)
      return i;
  return -1;
}

argus_err argus_nn_session_run(argus_nn_session *s, argus_nn_error *err) {
  if (!s)
    return ARGUS_E_INVALID_ARG;
  argus_cpu_set_ftz();
  nn_exec alone = s->exec;
  alone.pool = NULL;
  alone.nthreads = 1;
  for (int t = 0; t < s->norder; t++) {
    nn_node *n = &s->g.nodes[s->order[t]];
    uint64_t t0 = s->profile ? argus_time_ns() : 0;
    const nn_exec *ex = s->alone[t] && s->exec.pool ? &alone : &s->exec;
    argus_err rc = n->op->run(ex, n);
    if (s->profile)
      s->prof_ms[t] = (double)(argus_time_ns() - t0) / 1e6;
    if (rc) {
      if (err)
        snprintf(err->msg, sizeof err->msg, "node '%s' (%s) failed: %s",
                 n->name, n->op_type, argus_strerror(rc));
      return rc;
    }
  }
  return ARGUS_OK;
}

uint64_t argus_nn_session_macs(const argus_nn_session *s) {
  return s ? s->macs : 0;
}

size_t argus_nn_session_arena_bytes(const argus_nn_session *s) {
  return s ? s->arena_bytes : 0;
}

argus_err argus_nn_session_profile(const argus_nn_session *s, int i,
                                   const char **node, const char **op,
                                   double *ms) {
  if (!s || !node || !op || !ms)
    return ARGUS_E_INVALID_ARG;
  if (!s->profile || i < 0 || i >= s->norder)
    return ARGUS_E_NOT_FOUND;
  const nn_node *n = &s->g.nodes[s->order[i]];
  *node = n->name;
  *op = n->op_type;
  *ms = s->prof_ms[i];
  return ARGUS_OK;
}
