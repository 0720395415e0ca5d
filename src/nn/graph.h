/*
 * Internal graph representation of the inference engine.
 *
 * Life of a model:
 *   onnx.c   parses and validates the file into an nn_graph (values + nodes);
 *   optimize.c  rewrites it once per model, independent of input shapes:
 *            folds BatchNormalization into Conv, fuses activations into the
 *            Conv epilogue, flushes denormal weights, and calls each op's
 *            `prepare` hook (e.g. weight packing) whose result is shared by
 *            every session of the model;
 *   session.c  plans each session (fixed input shapes and batch): copies
 *            the graph, infers shapes (`infer` hook), folds constant
 *            sub-graphs (shape chains), fuses residual Adds into Conv and
 *            lays out one arena; then runs the nodes in order (`run` hook).
 *            Nothing allocates while running.
 */
#ifndef ARGUS_NN_GRAPH_H
#define ARGUS_NN_GRAPH_H

#include <stddef.h>
#include <stdint.h>

#include "argus/core.h"
#include "argus/nn.h"

#define NN_MAX_RANK 8
#define NN_MAX_IO 64

/* ONNX TensorProto.DataType values; the engine's dtype ids are the same. */
typedef enum nn_dtype {
  NN_UNDEFINED = 0,
  NN_FLOAT = 1,
  NN_UINT8 = 2,
  NN_INT8 = 3,
  NN_UINT16 = 4,
  NN_INT16 = 5,
  NN_INT32 = 6,
  NN_INT64 = 7,
  NN_STRING = 8,
  NN_BOOL = 9,
  NN_FLOAT16 = 10,
  NN_DOUBLE = 11,
  NN_UINT32 = 12,
  NN_UINT64 = 13,
} nn_dtype;

/* Size in bytes of one element, 0 for types the engine does not hold. */
size_t nn_dtype_size(int dtype);
const char *nn_dtype_name(int dtype);

/* A detailed error message, filled by whoever detects the problem (the
 * same struct as argus_nn_error: core's argus_error_detail). */
typedef argus_error_detail nn_err;

/* Formats into err (if not NULL) and returns code. */
argus_err nn_fail(nn_err *err, argus_err code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

typedef enum nn_attr_type {
  NN_ATTR_UNDEFINED = 0,
  NN_ATTR_FLOAT = 1,
  NN_ATTR_INT = 2,
  NN_ATTR_STRING = 3,
  NN_ATTR_TENSOR = 4,
  NN_ATTR_GRAPH = 5,
  NN_ATTR_FLOATS = 6,
  NN_ATTR_INTS = 7,
  NN_ATTR_STRINGS = 8,
} nn_attr_type;

/* A constant tensor (initializer, Constant value, attribute tensor). */
typedef struct nn_tensor {
  int dtype;
  int rank;
  int64_t dims[NN_MAX_RANK];
  size_t nelem;
  void *data; /* nelem * dtype size bytes, aligned to 64 */
} nn_tensor;

typedef struct nn_attr {
  char *name;
  int type; /* nn_attr_type */
  int64_t i;
  float f;
  char *s; /* NUL-terminated copy; s_len bytes before the NUL */
  size_t s_len;
  int64_t *ints;
  float *floats;
  size_t count; /* elements of ints / floats */
  nn_tensor *t;
} nn_attr;

/* A value (edge) of the graph. */
typedef struct nn_value {
  char *name;
  int dtype;
  int rank; /* -1: not known yet */
  int64_t dims[NN_MAX_RANK];
  size_t nelem;
  int is_input, is_output;
  int is_const;  /* data holds the value at plan time */
  int owns_data; /* data was allocated for this graph and is freed with it */
  int owns_name; /* session graphs: name allocated by the session */
  void *data;    /* const data, or the arena slot once planned */
  int producer;  /* node index, -1 for inputs/constants */
  int nuses;     /* number of node inputs reading it (+1 if graph output) */
  int last_use;  /* plan: index of the last node reading it */
  size_t offset; /* plan: byte offset in the arena */
} nn_value;

/* Activation kinds for fused epilogues. */
typedef enum nn_act {
  NN_ACT_NONE = 0,
  NN_ACT_RELU,
  NN_ACT_PRELU, /* per-channel slope (1 or C values) */
  NN_ACT_CLIP,  /* min/max */
  NN_ACT_SIGMOID,
} nn_act;

/* Post-ops applied by Conv to each output element after bias:
 *   y = conv + bias; if (add_before_act) y += residual; y = act(y);
 *   if (!add_before_act && residual) y += residual.
 * `residual` is a value index (same shape as the output) or -1. */
typedef struct nn_epilogue {
  int act;
  const float *slope; /* PRELU: per channel, nslope == 1 or C */
  int nslope;
  float clip_min, clip_max;
  int residual;
  int add_before_act;
  /* Add only: 1 + the index of the input read upsampled 2x (nearest,
   * rows and columns doubled) from a map of half the output's height and
   * width, a Resize folded in (nn_fuse_upsample_add); 0: none. */
  int up2;
  /* Fused 1x1 -> depthwise node (nn_op_conv_pwdw): 1 when a ReLU follows
   * the 1x1 half (fuse_pointwise_depthwise), applied to the intermediate
   * map; the fields above are the depthwise half's. */
  int pw_relu;
} nn_epilogue;

struct nn_graph;
struct nn_node;
struct nn_exec;

/* An operator implementation. Hooks may be NULL where noted. */
typedef struct nn_op {
  const char *type;
  /* Model level, once (may be NULL): build shape-independent shared state
   * from constant inputs, e.g. packed weights. Stored in node->shared. */
  argus_err (*prepare)(struct nn_graph *g, struct nn_node *n, nn_err *err);
  /* Session level: validate attributes and input dtypes/shapes, set output
   * dtypes and shapes, build node->plan. Inputs' shapes are known; inputs
   * marked is_const have data. */
  argus_err (*infer)(struct nn_graph *g, struct nn_node *n, nn_err *err);
  /* Scratch bytes needed per thread while running (may be NULL: none). */
  size_t (*scratch)(const struct nn_graph *g, const struct nn_node *n);
  /* Computes the outputs. Must not allocate. */
  argus_err (*run)(const struct nn_exec *x, const struct nn_node *n);
  void (*free_shared)(void *shared);
  void (*free_plan)(void *plan);
  /* NN_OP_* flags */
  unsigned flags;
} nn_op;

/* The op's outputs depend only on input shapes (Shape): foldable even when
 * the inputs are not constant. */
#define NN_OP_SHAPE_ONLY 1u
/* The op's output aliases its input data unchanged (Reshape, Flatten,
 * Unsqueeze, Squeeze, Identity): the planner may make it share the buffer. */
#define NN_OP_ALIAS 2u

typedef struct nn_node {
  const nn_op *op;
  char *name;
  char *op_type;
  char *domain;
  int opset; /* opset version of the node's domain */
  int ninputs, noutputs;
  int *in;  /* value indices, -1 for an omitted optional input */
  int *out; /* value indices */
  nn_attr *attrs;
  int nattrs;
  void *shared; /* from prepare: owned by the model */
  void *plan;   /* from infer: owned by the session */
  nn_epilogue epi;
  int dead; /* removed by a rewrite */
} nn_node;

typedef struct nn_graph {
  nn_value *values;
  int nvalues, cap_values;
  nn_node *nodes;
  int nnodes, cap_nodes;
  int *inputs; /* value indices of graph inputs (non-initializer) */
  int ninputs;
  int *outputs;
  int noutputs;
  int opset; /* default-domain opset */
  char *producer;
  int64_t ir_version;
  /* A session's: ARGUS_NN_PRECISION_BF16 lets the Conv GEMM paths run in
   * bf16, ARGUS_NN_PRECISION_INT8 those and a one-row Gemm with constant
   * weights in int8 (when the CPU can); anything else is float32. */
  int precision;
} nn_graph;

/* Execution context handed to run hooks. */
typedef struct nn_exec {
  const nn_graph *g;
  argus_threadpool *pool; /* may be NULL: single thread */
  int nthreads;
  uint8_t *scratch; /* nthreads * scratch_stride bytes */
  size_t scratch_stride;
} nn_exec;

/* ---- helpers for ops -------------------------------------------------- */
static inline nn_value *nn_in(const nn_graph *g, const nn_node *n, int i) {
  return (i < n->ninputs && n->in[i] >= 0) ? &g->values[n->in[i]] : NULL;
}
static inline nn_value *nn_out(const nn_graph *g, const nn_node *n, int i) {
  return (i < n->noutputs && n->out[i] >= 0) ? &g->values[n->out[i]] : NULL;
}
/* Scratch area of thread tid. */
static inline void *nn_scratch(const nn_exec *x, int tid) {
  return x->scratch + (size_t)tid * x->scratch_stride;
}

const nn_attr *nn_attr_find(const nn_node *n, const char *name);
/* Attribute getters: return the default when absent; a present attribute
 * of the wrong type is an error (ARGUS_E_CORRUPT with a message). */
argus_err nn_attr_int(const nn_node *n, const char *name, int64_t def,
                      int64_t *out, nn_err *err);
argus_err nn_attr_float(const nn_node *n, const char *name, float def,
                        float *out, nn_err *err);
/* ints: *out borrowed from the node (NULL, 0 when absent). */
argus_err nn_attr_ints(const nn_node *n, const char *name, const int64_t **out,
                       size_t *count, nn_err *err);
argus_err nn_attr_floats(const nn_node *n, const char *name,
                         const float **out, size_t *count, nn_err *err);
/* string: NULL when absent. */
argus_err nn_attr_string(const nn_node *n, const char *name, const char **out,
                         nn_err *err);

/* Sets an output value's dtype and shape; checks the element count limit. */
argus_err nn_set_shape(nn_value *v, int dtype, int rank, const int64_t *dims,
                       nn_err *err);
/* Number of elements of a shape; SIZE_MAX on overflow or negative dims. */
size_t nn_shape_count(int rank, const int64_t *dims);
/* Writes "[1,3,240,320]" into buf. */
const char *nn_shape_str(int rank, const int64_t *dims, char *buf, size_t len);

/* Numpy-style multidirectional broadcast of a and b into out (rank = max). */
argus_err nn_broadcast_shape(int ra, const int64_t *da, int rb,
                             const int64_t *db, int *rout, int64_t *dout);

/* 64-byte aligned allocation (free with nn_free). */
void *nn_alloc(size_t bytes);
void nn_free(void *p);

/* Registry: returns the op for an (domain, type), or NULL. */
const nn_op *nn_op_find(const char *domain, const char *type);
/* Every registered op, NULL-terminated. */
const nn_op *const *nn_op_all(void);

/* Graph construction helpers (used by the loader and rewrites). */
int nn_graph_add_value(nn_graph *g, const char *name); /* -1 on OOM */
int nn_graph_find_value(const nn_graph *g, const char *name);
/* Reads of value v by live nodes (inputs and fused residuals, a node
 * counted once per read); *first: the first such node, when any. */
int nn_graph_readers(const nn_graph *g, int v, int *first);
void nn_graph_free(nn_graph *g);

/* In a bf16 session, after shapes and fusions are final: each float32 map
 * written by a fused 1x1+depthwise Conv (or by a first conv on the bf16
 * direct 3x3 stride-2 path) and read only as X by fused 1x1+depthwise
 * nodes (all running their GEMM in bf16) is kept as bf16 pairs (kernels.h
 * "BF16 activations in pairs"): the writer converts its output rows as
 * they are made, the readers' GEMM reads them in place. Its arena slot
 * keeps the float32 size; no other code reads it. Returns the number of
 * such maps; ARGUS_NN_NO_PAIRS in the environment turns it off (for
 * comparisons). Implemented in ops/conv.c. */
int nn_conv_pair_edges(nn_graph *g);

/* After shapes are planned: an Add whose other operand comes from a 2x
 * nearest Resize of a 4-D float map (rows and columns doubled, each read
 * only by this Add) reads that map directly (epi.up2); the Resize is
 * dropped, and with it a map of the Add's size written and read once.
 * Returns the number of such Adds. Implemented in ops/resize.c. */
int nn_fuse_upsample_add(nn_graph *g);
/* The run of such an Add (called by the Add op). */
argus_err nn_add_up2_run(const struct nn_exec *x, const nn_node *n);

/* Upper bound on the elements of any one tensor (1 Gi elements). */
#define NN_MAX_ELEMS ((size_t)1 << 30)

#endif
