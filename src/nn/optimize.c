/* Shape-independent rewrites of a loaded model (run once per model). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"

static int is_op(const nn_node *n, const char *type) {
  return !n->dead && strcmp(n->op_type, type) == 0 && *n->domain == 0;
}

/* The single live node reading value v, or -1 (also when v is a graph
 * output or is read more than once). */
static int sole_consumer(const nn_graph *g, int v) {
  const nn_value *val = &g->values[v];
  if (val->is_output || val->nuses != 1)
    return -1;
  int found = -1;
  for (int i = 0; i < g->nnodes; i++) {
    const nn_node *n = &g->nodes[i];
    if (n->dead)
      continue;
    for (int k = 0; k < n->ninputs; k++)
      if (n->in[k] == v) {
        if (found >= 0 && found != i)
          return -1;
        found = i;
      }
  }
  return found;
}

static int const_float(const nn_graph *g, int v, size_t nelem) {
  if (v < 0)
    return 0;
  const nn_value *val = &g->values[v];
  return val->is_const && val->dtype == NN_FLOAT && val->nelem == nelem;
}

/* Adds a new owned constant float value with the given shape. */
static int add_const(nn_graph *g, const char *base, const char *suffix,
                     int rank, const int64_t *dims) {
  char name[512];
  snprintf(name, sizeof name, "%s%s", base, suffix);
  int v = nn_graph_add_value(g, name);
  if (v < 0)
    return -1;
  nn_value *val = &g->values[v];
  val->dtype = NN_FLOAT;
  val->rank = rank;
  memcpy(val->dims, dims, (size_t)rank * sizeof dims[0]);
  val->nelem = nn_shape_count(rank, dims);
  val->data = nn_alloc(val->nelem * sizeof(float));
  if (!val->data)
    return -1;
  val->is_const = 1;
  val->owns_data = 1;
  return v;
}

static void drop_use(nn_graph *g, int v) {
  if (v >= 0 && g->values[v].nuses > 0)
    g->values[v].nuses--;
}

/* Conv(x, W[, B]) -> BatchNormalization(scale, bias, mean, var) becomes one
 * Conv with W' = W * s and B' = (B - mean) * s + bias, s = scale/sqrt(var+eps).
 */
static argus_err fold_batchnorm(nn_graph *g, nn_err *err) {
  for (int i = 0; i < g->nnodes; i++) {
    nn_node *c = &g->nodes[i];
    if (!is_op(c, "Conv") || c->ninputs < 2 || c->noutputs != 1 ||
        c->epi.act != NN_ACT_NONE)
      continue;
    int wv = c->in[1];
    int bv = c->ninputs > 2 ? c->in[2] : -1;
    nn_value *w = &g->values[wv];
    if (!w->is_const || w->dtype != NN_FLOAT || w->rank < 3)
      continue;
    int64_t cout = w->dims[0];
    if (bv >= 0 && !const_float(g, bv, (size_t)cout))
      continue;
    int j = sole_consumer(g, c->out[0]);
    if (j < 0)
      continue;
    nn_node *bn = &g->nodes[j];
    if (!is_op(bn, "BatchNormalization") || bn->ninputs != 5 ||
        bn->in[0] != c->out[0])
      continue;
    int live_outs = 0;
    for (int k = 0; k < bn->noutputs; k++)
      live_outs += bn->out[k] >= 0;
    int64_t training = 0;
    float eps = 1e-5f;
    if (nn_attr_int(bn, "training_mode", 0, &training, NULL) || training ||
        live_outs != 1 || nn_attr_float(bn, "epsilon", 1e-5f, &eps, NULL))
      continue;
    int sv = bn->in[1], bbv = bn->in[2], mv = bn->in[3], vv = bn->in[4];
    if (!const_float(g, sv, (size_t)cout) ||
        !const_float(g, bbv, (size_t)cout) ||
        !const_float(g, mv, (size_t)cout) || !const_float(g, vv, (size_t)cout))
      continue;

    int nw = add_const(g, g->values[wv].name, "/bnfold", g->values[wv].rank,
                       g->values[wv].dims);
    int64_t bdims[1] = {cout};
    int nb = nw < 0 ? -1 : add_const(g, g->values[wv].name, "/bnfold_bias", 1,
                                     bdims);
    if (nw < 0 || nb < 0)
      return nn_fail(err, ARGUS_E_NOMEM, "out of memory folding '%s'",
                     bn->name);
    /* Pointers may have moved with the value array. */
    c = &g->nodes[i];
    bn = &g->nodes[j];
    const float *W = g->values[wv].data;
    const float *B = bv >= 0 ? g->values[bv].data : NULL;
    const float *S = g->values[sv].data, *BB = g->values[bbv].data;
    const float *M = g->values[mv].data, *V = g->values[vv].data;
    float *W2 = g->values[nw].data, *B2 = g->values[nb].data;
    size_t per = g->values[wv].nelem / (size_t)cout;
    for (int64_t o = 0; o < cout; o++) {
      double s = (double)S[o] / sqrt((double)V[o] + (double)eps);
      for (size_t k = 0; k < per; k++)
        W2[(size_t)o * per + k] = (float)(W[(size_t)o * per + k] * s);
      B2[o] = (float)(((B ? (double)B[o] : 0.0) - (double)M[o]) * s +
                      (double)BB[o]);
    }
    /* Rewire: Conv reads the new constants and writes BN's output. */
    if (c->ninputs < 3) {
      int *in = realloc(c->in, 3 * sizeof *in);
      if (!in)
        return nn_fail(err, ARGUS_E_NOMEM, "out of memory");
      c->in = in;
      c->ninputs = 3;
    }
    drop_use(g, wv);
    drop_use(g, bv);
    c->in[1] = nw;
    c->in[2] = nb;
    g->values[nw].nuses++;
    g->values[nb].nuses++;
    for (int k = 1; k < 5; k++)
      drop_use(g, bn->in[k]);
    drop_use(g, c->out[0]);
    g->values[c->out[0]].producer = -1;
    int y = -1;
    for (int k = 0; k < bn->noutputs; k++)
      if (bn->out[k] >= 0)
        y = bn->out[k];
    c->out[0] = y;
    g->values[y].producer = i;
    bn->dead = 1;
  }
  return ARGUS_OK;
}

/* Per-channel slope of a PRelu following a Conv whose weight has rank wr
 * (output rank wr): accepted when the slope is a scalar or has C elements
 * aligned with the channel axis under numpy broadcasting. */
static int prelu_slope_ok(const nn_value *s, int64_t cout, int out_rank) {
  if (!s->is_const || s->dtype != NN_FLOAT)
    return 0;
  if (s->nelem == 1)
    return 1;
  if ((int64_t)s->nelem != cout || s->rank > out_rank)
    return 0;
  int chan = s->rank - (out_rank - 1); /* index of the channel axis in s */
  if (chan < 0)
    return 0;
  for (int k = 0; k < s->rank; k++)
    if (k != chan && s->dims[k] != 1)
      return 0;
  return s->dims[chan] == cout;
}

static argus_err fuse_activations(nn_graph *g, nn_err *err) {
  (void)err;
  for (int i = 0; i < g->nnodes; i++) {
    nn_node *c = &g->nodes[i];
    if (!is_op(c, "Conv") || c->noutputs != 1 || c->epi.act != NN_ACT_NONE ||
        c->ninputs < 2)
      continue;
    const nn_value *w = &g->values[c->in[1]];
    if (w->rank < 3)
      continue;
    int j = sole_consumer(g, c->out[0]);
    if (j < 0)
      continue;
    nn_node *a = &g->nodes[j];
    if (a->in[0] != c->out[0] || a->noutputs != 1)
      continue;
    nn_epilogue epi = c->epi;
    if (is_op(a, "Relu")) {
      epi.act = NN_ACT_RELU;
    } else if (is_op(a, "Sigmoid")) {
      epi.act = NN_ACT_SIGMOID;
    } else if (is_op(a, "PRelu") && a->ninputs == 2) {
      const nn_value *s = &g->values[a->in[1]];
      if (!prelu_slope_ok(s, w->dims[0], w->rank))
        continue;
      epi.act = NN_ACT_PRELU;
      epi.slope = s->data;
      epi.nslope = (int)s->nelem;
    } else if (is_op(a, "Clip")) {
      float lo = -INFINITY, hi = INFINITY;
      if (a->opset < 11) {
        if (nn_attr_float(a, "min", -INFINITY, &lo, NULL) ||
            nn_attr_float(a, "max", INFINITY, &hi, NULL))
          continue;
      } else {
        int ok = 1;
        for (int k = 1; k < a->ninputs && k < 3; k++) {
          if (a->in[k] < 0)
            continue;
          const nn_value *b = &g->values[a->in[k]];
          if (!b->is_const || b->dtype != NN_FLOAT || b->nelem != 1) {
            ok = 0;
            break;
          }
          if (k == 1)
            lo = *(const float *)b->data;
          else
            hi = *(const float *)b->data;
        }
        if (!ok)
          continue;
      }
      epi.act = NN_ACT_CLIP;
      epi.clip_min = lo;
      epi.clip_max = hi;
    } else {
      continue;
    }
    c->epi = epi;
    for (int k = 1; k < a->ninputs; k++)
      if (a->in[k] >= 0 && epi.act != NN_ACT_PRELU)
        drop_use(g, a->in[k]);
    /* A fused PRelu slope stays referenced by the epilogue: keep its use. */
    drop_use(g, c->out[0]);
    g->values[c->out[0]].producer = -1;
    c->out[0] = a->out[0];
    g->values[a->out[0]].producer = i;
    a->dead = 1;
  }
  return ARGUS_OK;
}

/* The fused 1x1 -> depthwise 3x3 Conv (ops/conv.c), and the same followed
 * by MaxPool 2x2; not in the registry. */
extern const nn_op nn_op_conv_pwdw;
extern const nn_op nn_op_conv_pwdw_pool;

/* Whether ints attribute `name` of n is absent or has `count` values all
 * equal to `want`. */
static int ints_all(const nn_node *n, const char *name, size_t count,
                    int64_t want) {
  const int64_t *v = NULL;
  size_t c = 0;
  if (nn_attr_ints(n, name, &v, &c, NULL) != ARGUS_OK)
    return 0;
  if (!v)
    return 1;
  if (c != count)
    return 0;
  for (size_t i = 0; i < c; i++)
    if (v[i] != want)
      return 0;
  return 1;
}

/* Whether n has no auto_pad other than NOTSET and `group` == want. */
static int plain_pads_group(const nn_node *n, int64_t want) {
  const char *ap = NULL;
  int64_t group = 0;
  if (nn_attr_string(n, "auto_pad", &ap, NULL) != ARGUS_OK ||
      (ap && strcmp(ap, "NOTSET") != 0))
    return 0;
  return nn_attr_int(n, "group", 1, &group, NULL) == ARGUS_OK &&
         group == want;
}

/* A fused 1x1 -> depthwise node (index j) whose only reader is a MaxPool
 * with a 2x2 kernel, stride 2, no pads, no dilation, floor mode and no
 * Indices output takes the pooling in: its output becomes the MaxPool's
 * and its op type "Conv+MaxPool" (which also keeps the session from adding
 * a residual to it). Fails only when out of memory. */
static argus_err fuse_maxpool(nn_graph *g, int j, nn_err *err) {
  nn_node *b = &g->nodes[j];
  int k = sole_consumer(g, b->out[0]);
  if (k < 0)
    return ARGUS_OK;
  nn_node *m = &g->nodes[k];
  const int64_t *ks = NULL, *st = NULL;
  size_t nk = 0, ns = 0;
  int64_t ceil_mode = 0;
  if (!is_op(m, "MaxPool") || m->ninputs != 1 || m->in[0] != b->out[0] ||
      m->noutputs != 1 ||
      nn_attr_ints(m, "kernel_shape", &ks, &nk, NULL) != ARGUS_OK ||
      nn_attr_ints(m, "strides", &st, &ns, NULL) != ARGUS_OK || !ks || !st ||
      !ints_all(m, "kernel_shape", 2, 2) || !ints_all(m, "strides", 2, 2) ||
      !ints_all(m, "pads", 4, 0) || !ints_all(m, "dilations", 2, 1) ||
      nn_attr_int(m, "ceil_mode", 0, &ceil_mode, NULL) != ARGUS_OK ||
      ceil_mode != 0 || !plain_pads_group(m, 1))
    return ARGUS_OK;
  char *type = strdup("Conv+MaxPool");
  if (!type)
    return nn_fail(err, ARGUS_E_NOMEM, "out of memory");
  free(b->op_type);
  b->op_type = type;
  drop_use(g, b->out[0]);
  g->values[b->out[0]].producer = -1;
  b->out[0] = m->out[0];
  g->values[m->out[0]].producer = j;
  b->op = &nn_op_conv_pwdw_pool;
  m->dead = 1;
  return ARGUS_OK;
}

/* Conv 1x1 (stride 1, no pads, group 1, no activation or a ReLU, constant
 * W) whose only reader is a depthwise Conv 3x3 (stride 1, dilation 1, pads
 * 1 on every side) becomes one node of nn_op_conv_pwdw with inputs
 * (X, W1, B1, W2, B2) and the ReLU in epi.pw_relu: the intermediate map
 * never goes through memory (see ops/conv.c). ARGUS_NN_NO_PW_RELU=1 leaves
 * the pairs with a ReLU unfused (to compare). */
static argus_err fuse_pointwise_depthwise(nn_graph *g, nn_err *err) {
  const char *nr = getenv("ARGUS_NN_NO_PW_RELU");
  int relu_ok = !(nr && *nr && strcmp(nr, "0") != 0);
  for (int i = 0; i < g->nnodes; i++) {
    nn_node *a = &g->nodes[i];
    if (!is_op(a, "Conv") || a->ninputs < 2 || a->ninputs > 3 ||
        a->noutputs != 1 ||
        !(a->epi.act == NN_ACT_NONE ||
          (relu_ok && a->epi.act == NN_ACT_RELU)) ||
        a->epi.residual >= 0 || a->in[0] < 0 || a->in[1] < 0)
      continue;
    const nn_value *w1 = &g->values[a->in[1]];
    if (!w1->is_const || !w1->data || w1->dtype != NN_FLOAT || w1->rank != 4 ||
        w1->dims[2] != 1 || w1->dims[3] != 1 ||
        !ints_all(a, "kernel_shape", 2, 1) || !ints_all(a, "strides", 2, 1) ||
        !ints_all(a, "pads", 4, 0) || !plain_pads_group(a, 1))
      continue;
    int j = sole_consumer(g, a->out[0]);
    if (j < 0)
      continue;
    nn_node *b = &g->nodes[j];
    if (!is_op(b, "Conv") || b->ninputs < 2 || b->ninputs > 3 ||
        b->noutputs != 1 || b->in[0] != a->out[0] || b->in[1] < 0 ||
        b->epi.residual >= 0)
      continue;
    const nn_value *w2 = &g->values[b->in[1]];
    int64_t c = w1->dims[0];
    if (w2->dtype != NN_FLOAT || w2->rank != 4 || w2->dims[0] != c ||
        w2->dims[1] != 1 || w2->dims[2] != 3 || w2->dims[3] != 3 ||
        !ints_all(b, "kernel_shape", 2, 3) || !ints_all(b, "strides", 2, 1) ||
        !ints_all(b, "dilations", 2, 1) || !plain_pads_group(b, c))
      continue;
    const int64_t *pads = NULL;
    size_t np = 0;
    if (nn_attr_ints(b, "pads", &pads, &np, NULL) != ARGUS_OK || !pads ||
        !ints_all(b, "pads", 4, 1))
      continue;
    int *in = malloc(5 * sizeof *in);
    if (!in)
      return nn_fail(err, ARGUS_E_NOMEM, "out of memory");
    in[0] = a->in[0];
    in[1] = a->in[1];
    in[2] = a->ninputs > 2 ? a->in[2] : -1;
    in[3] = b->in[1];
    in[4] = b->ninputs > 2 ? b->in[2] : -1;
    drop_use(g, a->out[0]);
    g->values[a->out[0]].producer = -1;
    free(b->in);
    b->in = in;
    b->ninputs = 5;
    b->op = &nn_op_conv_pwdw;
    b->epi.pw_relu = a->epi.act == NN_ACT_RELU;
    a->dead = 1;
    argus_err e = fuse_maxpool(g, j, err);
    if (e)
      return e;
  }
  return ARGUS_OK;
}

/* Constant nodes with a `value` tensor become constant values. */
static argus_err inline_constants(nn_graph *g, nn_err *err) {
  for (int i = 0; i < g->nnodes; i++) {
    nn_node *n = &g->nodes[i];
    if (!is_op(n, "Constant") || n->noutputs != 1 || n->out[0] < 0)
      continue;
    const nn_attr *a = nn_attr_find(n, "value");
    if (!a || a->type != NN_ATTR_TENSOR || !a->t || n->nattrs != 1)
      continue;
    nn_value *v = &g->values[n->out[0]];
    size_t bytes = a->t->nelem * nn_dtype_size(a->t->dtype);
    v->data = nn_alloc(bytes);
    if (!v->data)
      return nn_fail(err, ARGUS_E_NOMEM, "out of memory");
    if (bytes)
      memcpy(v->data, a->t->data, bytes);
    v->owns_data = 1;
    v->is_const = 1;
    v->dtype = a->t->dtype;
    v->rank = a->t->rank;
    memcpy(v->dims, a->t->dims, sizeof v->dims);
    v->nelem = a->t->nelem;
    v->producer = -1;
    n->dead = 1;
  }
  return ARGUS_OK;
}

static void flush_denormals(nn_graph *g) {
  for (int i = 0; i < g->nvalues; i++) {
    nn_value *v = &g->values[i];
    if (!v->is_const || !v->owns_data || v->dtype != NN_FLOAT)
      continue;
    float *p = v->data;
    for (size_t k = 0; k < v->nelem; k++)
      if (p[k] != 0.0f && fabsf(p[k]) < 1.17549435e-38f)
        p[k] = 0.0f;
  }
}

argus_err nn_optimize_model(nn_graph *g, nn_err *err) {
  argus_err e;
  if ((e = inline_constants(g, err)) || (e = fold_batchnorm(g, err)) ||
      (e = fuse_activations(g, err)) ||
      (e = fuse_pointwise_depthwise(g, err)))
    return e;
  flush_denormals(g);
  for (int i = 0; i < g->nnodes; i++) {
    nn_node *n = &g->nodes[i];
    if (n->dead || !n->op->prepare)
      continue;
    if ((e = n->op->prepare(g, n, err)))
      return e;
  }
  return ARGUS_OK;
}
