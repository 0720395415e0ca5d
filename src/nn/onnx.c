/* ONNX ModelProto parsing into nn_graph: the model, its graph, nodes and
 * graph inputs/outputs. TensorProto and AttributeProto are read in
 * onnx_tensor.c; onnx_internal.h is what the two share.
 *
 * Only what inference needs is kept. The file is untrusted: every count,
 * length, type and size is validated, sizes are capped, and errors name the
 * node, attribute or tensor at fault. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx_internal.h"
#include "pb.h"

#define MAX_NODES 100000
#define MAX_VALUES 400000
#define MAX_NODE_IO 4096
#define MAX_ATTRS 1024
#define MAX_OPSETS 64

typedef struct span {
  const uint8_t *p;
  size_t len;
} span;

typedef struct span_list {
  span *v;
  int n, cap;
} span_list;

static int span_push(span_list *l, const uint8_t *p, size_t len, int limit) {
  if (l->n >= limit)
    return -1;
  if (l->n == l->cap) {
    int cap = l->cap ? l->cap * 2 : 16;
    span *v = realloc(l->v, (size_t)cap * sizeof *v);
    if (!v)
      return -1;
    l->v = v;
    l->cap = cap;
  }
  l->v[l->n].p = p;
  l->v[l->n].len = len;
  l->n++;
  return 0;
}

/* ---- ValueInfoProto ---------------------------------------------------- */

/* Parses name, elem_type and shape (unknown dims as -1). */
static argus_err parse_value_info(const span *s, char **name, int *dtype,
                                  int *rank, int64_t *dims, nn_err *err) {
  pb_reader r = pb_init(s->p, s->len);
  pb_field f;
  int rc;
  *name = NULL;
  *dtype = 0;
  *rank = -1;
  while ((rc = pb_next(&r, &f)) == 1) {
    if (f.num == 1 && f.wire == PB_LEN) {
      if (nn_onnx_bad_name(f.data, f.len))
        goto malformed;
      free(*name);
      *name = nn_onnx_dup_bytes(f.data, f.len);
      if (!*name)
        return nn_fail(err, ARGUS_E_NOMEM, "out of memory");
    } else if (f.num == 2 && f.wire == PB_LEN) {
      pb_reader tr = pb_init(f.data, f.len);
      pb_field tf;
      int trc;
      while ((trc = pb_next(&tr, &tf)) == 1) {
        if (tf.num != 1 || tf.wire != PB_LEN)
          continue; /* only tensor types */
        pb_reader er = pb_init(tf.data, tf.len);
        pb_field ef;
        int erc;
        while ((erc = pb_next(&er, &ef)) == 1) {
          if (ef.num == 1 && ef.wire == PB_VARINT) {
            *dtype = (int)ef.u;
          } else if (ef.num == 2 && ef.wire == PB_LEN) {
            pb_reader sr = pb_init(ef.data, ef.len);
            pb_field sf;
            int src;
            *rank = 0;
            while ((src = pb_next(&sr, &sf)) == 1) {
              if (sf.num != 1 || sf.wire != PB_LEN)
                continue;
              if (*rank >= NN_MAX_RANK) {
                char nm[80] = "";
                if (*name)
                  snprintf(nm, sizeof nm, "%s", *name);
                return nn_fail(err, ARGUS_E_UNSUPPORTED,
                               "value '%s': rank exceeds the limit of %d", nm,
                               NN_MAX_RANK);
              }
              int64_t d = -1;
              pb_reader dr = pb_init(sf.data, sf.len);
              pb_field df;
              int drc;
              while ((drc = pb_next(&dr, &df)) == 1)
                if (df.num == 1 && df.wire == PB_VARINT)
                  d = (int64_t)df.u;
              if (drc < 0)
                goto malformed;
              dims[(*rank)++] = d;
            }
            if (src < 0)
              goto malformed;
          }
        }
        if (erc < 0)
          goto malformed;
      }
      if (trc < 0)
        goto malformed;
    }
  }
  if (rc < 0)
    goto malformed;
  if (!*name)
    return nn_fail(err, ARGUS_E_CORRUPT, "graph input/output without a name");
  return ARGUS_OK;
malformed: {
  char why[160];
  return nn_fail(err, ARGUS_E_CORRUPT,
                 "malformed graph input/output description (%s)",
                 nn_onnx_pb_why(why, sizeof why));
}
}

/* ---- NodeProto --------------------------------------------------------- */

typedef struct opset_entry {
  char domain[64];
  int version;
} opset_entry;

static int opset_for(const opset_entry *ops, int nops, const char *domain) {
  const char *d = (domain && strcmp(domain, "ai.onnx") == 0) ? "" : domain;
  for (int i = 0; i < nops; i++)
    if (strcmp(ops[i].domain, d ? d : "") == 0)
      return ops[i].version;
  return -1;
}

static argus_err resolve_input(nn_graph *g, nn_node *n, int k,
                               const uint8_t *p, size_t len, nn_err *err) {
  if (len == 0) {
    n->in[k] = -1; /* omitted optional input */
    return ARGUS_OK;
  }
  char *nm = nn_onnx_dup_bytes(p, len);
  if (!nm)
    return nn_fail(err, ARGUS_E_NOMEM, "out of memory");
  int v = nn_graph_find_value(g, nm);
  if (v < 0 || (g->values[v].producer < 0 && !g->values[v].is_input &&
                !g->values[v].is_const)) {
    argus_err e = nn_fail(err, ARGUS_E_CORRUPT,
                          "node '%s' (%s): input '%s' is not a graph input, "
                          "initializer or output of an earlier node",
                          n->name, n->op_type, nm);
    free(nm);
    return e;
  }
  free(nm);
  n->in[k] = v;
  g->values[v].nuses++;
  return ARGUS_OK;
}

static argus_err node_malformed(int index, nn_err *err) {
  char why[160];
  return nn_fail(err, ARGUS_E_CORRUPT, "node #%d: malformed protobuf (%s)",
                 index, nn_onnx_pb_why(why, sizeof why));
}

static argus_err node_nomem(nn_err *err) {
  return nn_fail(err, ARGUS_E_NOMEM, "out of memory");
}

/* First pass: name, op_type and domain into n; inputs, outputs and
 * attributes counted. */
static argus_err node_scan(const span *s, nn_node *n, int index, size_t *nin,
                           size_t *nout, size_t *nattr, nn_err *err) {
  pb_reader r = pb_init(s->p, s->len);
  pb_field f;
  int rc;
  while ((rc = pb_next(&r, &f)) == 1) {
    if (f.wire != PB_LEN)
      continue;
    switch (f.num) {
    case 1: (*nin)++; break;
    case 2: (*nout)++; break;
    case 3:
      if (nn_onnx_bad_name(f.data, f.len))
        return node_malformed(index, err);
      free(n->name);
      n->name = nn_onnx_dup_bytes(f.data, f.len);
      if (!n->name)
        return node_nomem(err);
      break;
    case 4:
      if (nn_onnx_bad_name(f.data, f.len) || f.len > 128)
        return node_malformed(index, err);
      free(n->op_type);
      n->op_type = nn_onnx_dup_bytes(f.data, f.len);
      if (!n->op_type)
        return node_nomem(err);
      break;
    case 5: (*nattr)++; break;
    case 7:
      if (nn_onnx_bad_name(f.data, f.len) || f.len > 128)
        return node_malformed(index, err);
      free(n->domain);
      n->domain = nn_onnx_dup_bytes(f.data, f.len);
      if (!n->domain)
        return node_nomem(err);
      break;
    default: break;
    }
  }
  if (rc < 0)
    return node_malformed(index, err);
  return ARGUS_OK;
}

/* Names an unnamed node "#index", defaults the domain, checks the counts
 * and finds the opset and the operator. */
static argus_err node_check(nn_node *n, int index, size_t nin, size_t nout,
                            size_t nattr, const opset_entry *ops, int nops,
                            nn_err *err) {
  char fallback[32];
  if (!n->name || !*n->name) {
    free(n->name);
    snprintf(fallback, sizeof fallback, "#%d", index);
    n->name = strdup(fallback);
    if (!n->name)
      return node_nomem(err);
  }
  if (!n->op_type)
    return nn_fail(err, ARGUS_E_CORRUPT, "node '%s' has no op_type", n->name);
  if (!n->domain) {
    n->domain = strdup("");
    if (!n->domain)
      return node_nomem(err);
  }
  if (nin > MAX_NODE_IO || nout > MAX_NODE_IO || nattr > MAX_ATTRS)
    return nn_fail(err, ARGUS_E_LIMIT,
                   "node '%s' (%s): too many inputs, outputs or attributes",
                   n->name, n->op_type);
  n->opset = opset_for(ops, nops, n->domain);
  if (n->opset < 0)
    return nn_fail(err, ARGUS_E_CORRUPT,
                   "node '%s' (%s): domain '%s' is not in the model's "
                   "opset_import",
                   n->name, n->op_type, n->domain);
  n->op = nn_op_find(n->domain, n->op_type);
  if (!n->op)
    return nn_fail(err, ARGUS_E_UNSUPPORTED,
                   "node '%s': operator %s%s%s is not supported", n->name,
                   *n->domain ? n->domain : "", *n->domain ? "." : "",
                   n->op_type);
  return ARGUS_OK;
}

/* Second pass: resolves the inputs and parses the attributes, refusing an
 * attribute named twice. */
static argus_err node_inputs_attrs(nn_graph *g, nn_node *n, const span *s,
                                   int index, nn_err *err) {
  pb_reader r = pb_init(s->p, s->len);
  pb_field f;
  while (pb_next(&r, &f) == 1) {
    if (f.wire != PB_LEN)
      continue;
    if (f.num == 1) {
      if (nn_onnx_bad_name(f.data, f.len))
        return node_malformed(index, err);
      argus_err e = resolve_input(g, n, n->ninputs, f.data, f.len, err);
      n->ninputs++;
      if (e)
        return e;
    } else if (f.num == 5) {
      argus_err e = nn_onnx_parse_attr(f.data, f.len, &n->attrs[n->nattrs],
                                       n->name, err);
      n->nattrs++;
      if (e)
        return e;
      for (int j = 0; j < n->nattrs - 1; j++)
        if (strcmp(n->attrs[j].name, n->attrs[n->nattrs - 1].name) == 0)
          return nn_fail(err, ARGUS_E_CORRUPT,
                         "node '%s' (%s): attribute '%s' appears twice",
                         n->name, n->op_type, n->attrs[j].name);
    }
  }
  return ARGUS_OK;
}

/* Third pass: adds the outputs as new values produced by node g->nnodes-1.
 * Outputs come after inputs, so that a node cannot read its own output. */
static argus_err node_outputs(nn_graph *g, nn_node *n, const span *s,
                              int index, nn_err *err) {
  pb_reader r = pb_init(s->p, s->len);
  pb_field f;
  while (pb_next(&r, &f) == 1) {
    if (f.wire != PB_LEN || f.num != 2)
      continue;
    if (nn_onnx_bad_name(f.data, f.len))
      return node_malformed(index, err);
    if (f.len == 0) {
      n->out[n->noutputs++] = -1; /* omitted optional output */
      continue;
    }
    char *nm = nn_onnx_dup_bytes(f.data, f.len);
    if (!nm)
      return node_nomem(err);
    if (nn_graph_find_value(g, nm) >= 0) {
      argus_err e = nn_fail(err, ARGUS_E_CORRUPT,
                            "node '%s' (%s): output '%s' is already defined "
                            "(graphs must be in SSA form)",
                            n->name, n->op_type, nm);
      free(nm);
      return e;
    }
    if (g->nvalues >= MAX_VALUES) {
      free(nm);
      return nn_fail(err, ARGUS_E_LIMIT, "too many values in the graph");
    }
    int v = nn_graph_add_value(g, nm);
    free(nm);
    if (v < 0)
      return node_nomem(err);
    g->values[v].producer = g->nnodes - 1;
    n->out[n->noutputs++] = v;
  }
  return ARGUS_OK;
}

static argus_err parse_node(nn_graph *g, const span *s, int index,
                            const opset_entry *ops, int nops, nn_err *err) {
  nn_node *n = &g->nodes[g->nnodes];
  memset(n, 0, sizeof *n);
  n->epi.residual = -1;
  g->nnodes++; /* counted now so that nn_graph_free releases partial nodes */
  size_t nin = 0, nout = 0, nattr = 0;
  argus_err e;
  if ((e = node_scan(s, n, index, &nin, &nout, &nattr, err)) ||
      (e = node_check(n, index, nin, nout, nattr, ops, nops, err)))
    return e;
  n->in = malloc((nin ? nin : 1) * sizeof *n->in);
  n->out = malloc((nout ? nout : 1) * sizeof *n->out);
  n->attrs = calloc(nattr ? nattr : 1, sizeof *n->attrs);
  if (!n->in || !n->out || !n->attrs)
    return node_nomem(err);
  if ((e = node_inputs_attrs(g, n, s, index, err)))
    return e;
  return node_outputs(g, n, s, index, err);
}

/* ---- GraphProto / ModelProto ------------------------------------------- */

/* The repeated fields of a GraphProto that argus reads, as byte spans into
 * the file. */
typedef struct graph_parts {
  span_list nodes, inits, inputs, outputs;
} graph_parts;

/* Collects the spans of nodes, initializers, inputs and outputs. */
static argus_err graph_scan(const uint8_t *p, size_t len, graph_parts *gp,
                            nn_err *err) {
  pb_reader r = pb_init(p, len);
  pb_field f;
  int rc;
  while ((rc = pb_next(&r, &f)) == 1) {
    if (f.wire != PB_LEN)
      continue;
    int ok = 0;
    switch (f.num) {
    case 1:
      ok = span_push(&gp->nodes, f.data, f.len, MAX_NODES);
      break;
    case 5:
      ok = span_push(&gp->inits, f.data, f.len, MAX_VALUES);
      break;
    case 11:
      ok = span_push(&gp->inputs, f.data, f.len, MAX_NODE_IO);
      break;
    case 12:
      ok = span_push(&gp->outputs, f.data, f.len, MAX_NODE_IO);
      break;
    case 15:
      return nn_fail(err, ARGUS_E_UNSUPPORTED,
                     "sparse initializers are not supported");
    default:
      break;
    }
    if (ok < 0)
      return nn_fail(err, ARGUS_E_LIMIT,
                     "graph has too many nodes, initializers or inputs");
  }
  if (rc < 0) {
    char why[160];
    return nn_fail(err, ARGUS_E_CORRUPT, "malformed graph protobuf (%s)",
                   nn_onnx_pb_why(why, sizeof why));
  }
  if (gp->nodes.n == 0)
    return nn_fail(err, ARGUS_E_CORRUPT, "the graph has no nodes");
  return ARGUS_OK;
}

/* Initializers become constant values. */
static argus_err add_initializers(nn_graph *g, const span_list *inits,
                                  nn_err *err) {
  for (int i = 0; i < inits->n; i++) {
    nn_tensor t;
    char *name = NULL;
    argus_err e =
        nn_onnx_parse_tensor(inits->v[i].p, inits->v[i].len, &t, &name, err);
    if (e)
      return e;
    if (!name || !*name) {
      free(name);
      nn_tensor_clear(&t);
      return nn_fail(err, ARGUS_E_CORRUPT, "initializer #%d has no name", i);
    }
    if (nn_graph_find_value(g, name) >= 0) {
      e = nn_fail(err, ARGUS_E_CORRUPT, "initializer '%s' is defined twice",
                  name);
      free(name);
      nn_tensor_clear(&t);
      return e;
    }
    int v = nn_graph_add_value(g, name);
    free(name);
    if (v < 0) {
      nn_tensor_clear(&t);
      return nn_fail(err, ARGUS_E_NOMEM, "out of memory");
    }
    nn_value *val = &g->values[v];
    val->dtype = t.dtype;
    val->rank = t.rank;
    memcpy(val->dims, t.dims, sizeof t.dims);
    val->nelem = t.nelem;
    val->data = t.data;
    val->is_const = 1;
    val->owns_data = 1;
  }
  return ARGUS_OK;
}

/* Adds one graph input (unless an initializer of that name already holds
 * the constant) and appends it to g->inputs. */
static argus_err add_input(nn_graph *g, const span *s, nn_err *err) {
  char *name;
  int dtype, rank;
  int64_t dims[NN_MAX_RANK];
  argus_err e = parse_value_info(s, &name, &dtype, &rank, dims, err);
  if (e) {
    free(name);
    return e;
  }
  int v = nn_graph_find_value(g, name);
  if (v >= 0 && g->values[v].is_const) {
    free(name);
    return ARGUS_OK;
  }
  if (v >= 0) {
    e = nn_fail(err, ARGUS_E_CORRUPT, "graph input '%s' is listed twice", name);
    free(name);
    return e;
  }
  v = nn_graph_add_value(g, name);
  free(name);
  if (v < 0)
    return nn_fail(err, ARGUS_E_NOMEM, "out of memory");
  nn_value *val = &g->values[v];
  val->is_input = 1;
  val->dtype = dtype;
  val->rank = rank;
  if (rank > 0)
    memcpy(val->dims, dims, (size_t)rank * sizeof dims[0]);
  if (nn_dtype_size(dtype) == 0)
    return nn_fail(err, ARGUS_E_UNSUPPORTED,
                   "graph input '%s': element type %s is not supported",
                   val->name, nn_dtype_name(dtype));
  if (rank < 0)
    return nn_fail(err, ARGUS_E_UNSUPPORTED,
                   "graph input '%s' has no shape; argus needs input ranks",
                   val->name);
  g->inputs[g->ninputs++] = v;
  return ARGUS_OK;
}

/* Graph inputs: those that are initializers too keep the constant (the
 * ONNX IR allows a caller to override them; argus treats them as fixed). */
static argus_err add_inputs(nn_graph *g, const span_list *inputs, nn_err *err) {
  g->inputs = malloc((size_t)(inputs->n ? inputs->n : 1) * sizeof *g->inputs);
  if (!g->inputs)
    return nn_fail(err, ARGUS_E_NOMEM, "out of memory");
  for (int i = 0; i < inputs->n; i++) {
    argus_err e = add_input(g, &inputs->v[i], err);
    if (e)
      return e;
  }
  return ARGUS_OK;
}

static argus_err add_nodes(nn_graph *g, const span_list *nodes,
                           const opset_entry *ops, int nops, nn_err *err) {
  g->nodes = calloc((size_t)nodes->n, sizeof *g->nodes);
  if (!g->nodes)
    return nn_fail(err, ARGUS_E_NOMEM, "out of memory");
  g->cap_nodes = nodes->n;
  for (int i = 0; i < nodes->n; i++) {
    argus_err e = parse_node(g, &nodes->v[i], i, ops, nops, err);
    if (e)
      return e;
  }
  return ARGUS_OK;
}

/* Marks the graph outputs, each of which some node must produce. */
static argus_err add_outputs(nn_graph *g, const span_list *outputs,
                             nn_err *err) {
  g->outputs =
      malloc((size_t)(outputs->n ? outputs->n : 1) * sizeof *g->outputs);
  if (!g->outputs)
    return nn_fail(err, ARGUS_E_NOMEM, "out of memory");
  if (outputs->n == 0)
    return nn_fail(err, ARGUS_E_CORRUPT, "the graph declares no outputs");
  for (int i = 0; i < outputs->n; i++) {
    char *name;
    int dtype, rank;
    int64_t dims[NN_MAX_RANK];
    argus_err e =
        parse_value_info(&outputs->v[i], &name, &dtype, &rank, dims, err);
    if (e) {
      free(name);
      return e;
    }
    int v = nn_graph_find_value(g, name);
    if (v < 0) {
      e = nn_fail(err, ARGUS_E_CORRUPT,
                  "graph output '%s' is not produced by any node", name);
      free(name);
      return e;
    }
    free(name);
    g->values[v].is_output = 1;
    g->values[v].nuses++;
    g->outputs[g->noutputs++] = v;
  }
  return ARGUS_OK;
}

static argus_err parse_graph(nn_graph *g, const uint8_t *p, size_t len,
                             const opset_entry *ops, int nops, nn_err *err) {
  graph_parts gp;
  memset(&gp, 0, sizeof gp);
  argus_err e = graph_scan(p, len, &gp, err);
  if (!e)
    e = add_initializers(g, &gp.inits, err);
  if (!e)
    e = add_inputs(g, &gp.inputs, err);
  if (!e)
    e = add_nodes(g, &gp.nodes, ops, nops, err);
  if (!e)
    e = add_outputs(g, &gp.outputs, err);
  free(gp.nodes.v);
  free(gp.inits.v);
  free(gp.inputs.v);
  free(gp.outputs.v);
  return e;
}

argus_err nn_onnx_parse_model(const uint8_t *buf, size_t len, nn_graph *g,
                              nn_err *err) {
  memset(g, 0, sizeof *g);
  pb_reader r = pb_init(buf, len);
  pb_field f;
  int rc;
  const uint8_t *graph = NULL;
  size_t graph_len = 0;
  opset_entry ops[MAX_OPSETS];
  int nops = 0;
  int have_ir = 0;

  if (!buf || len == 0)
    return nn_fail(err, ARGUS_E_CORRUPT, "empty model file");
  nn_onnx_file_base = buf;
  pb_clear_error();
  while ((rc = pb_next(&r, &f)) == 1) {
    switch (f.num) {
    case 1:
      if (f.wire != PB_VARINT)
        goto malformed;
      g->ir_version = (int64_t)f.u;
      have_ir = 1;
      break;
    case 2:
      if (f.wire != PB_LEN)
        goto malformed;
      free(g->producer);
      g->producer = nn_onnx_dup_bytes(f.data, f.len > 128 ? 128 : f.len);
      if (!g->producer)
        return nn_fail(err, ARGUS_E_NOMEM, "out of memory");
      break;
    case 7:
      if (f.wire != PB_LEN)
        goto malformed;
      graph = f.data;
      graph_len = f.len;
      break;
    case 8: {
      if (f.wire != PB_LEN)
        goto malformed;
      if (nops >= MAX_OPSETS)
        return nn_fail(err, ARGUS_E_LIMIT, "too many opset imports");
      opset_entry *o = &ops[nops];
      memset(o, 0, sizeof *o);
      o->version = -1;
      pb_reader q = pb_init(f.data, f.len);
      pb_field of;
      int orc;
      while ((orc = pb_next(&q, &of)) == 1) {
        if (of.num == 1 && of.wire == PB_LEN) {
          if (of.len >= sizeof o->domain || nn_onnx_bad_name(of.data, of.len))
            goto malformed;
          memcpy(o->domain, of.data, of.len);
          o->domain[of.len] = 0;
        } else if (of.num == 2 && of.wire == PB_VARINT) {
          if (of.u > 1000)
            goto malformed;
          o->version = (int)of.u;
        }
      }
      if (orc < 0 || o->version < 0)
        goto malformed;
      if (strcmp(o->domain, "ai.onnx") == 0)
        o->domain[0] = 0;
      nops++;
      break;
    }
    case 20:
    case 25:
      break; /* training info and functions are ignored */
    default:
      break;
    }
  }
  if (rc < 0)
    goto malformed;
  if (!have_ir || !graph)
    return nn_fail(err, ARGUS_E_CORRUPT,
                   "not an ONNX model (no ir_version or no graph)");
  if (nops == 0) {
    /* IR version 1/2 files without opset_import mean opset 1. */
    memset(&ops[0], 0, sizeof ops[0]);
    ops[0].version = 1;
    nops = 1;
  }
  g->opset = opset_for(ops, nops, "");
  if (g->opset < 0)
    g->opset = 0;
  return parse_graph(g, graph, graph_len, ops, nops, err);
malformed: {
  char why[160];
  return nn_fail(err, ARGUS_E_CORRUPT, "malformed ONNX model protobuf (%s)",
                 nn_onnx_pb_why(why, sizeof why));
}
}
