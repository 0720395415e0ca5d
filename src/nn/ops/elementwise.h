/*
 * Shared machinery of the element-wise operators (Add, Sub, Mul, Div, PRelu,
 * Relu, Sigmoid, Exp, Clip): numpy broadcasting with collapsed dimensions,
 * per-dtype inner loops, ISA dispatch of the float32 kernels, and the split
 * of a tensor across the thread pool.
 *
 * A broadcast binary operation y = a (op) b is described by an nn_bcast:
 * the output shape with every size-1 dimension dropped and every run of
 * adjacent dimensions that broadcast the same way merged, and each operand's
 * element strides over that shape (0 where it broadcasts). The innermost
 * dimension is then contiguous in y and either contiguous or constant in each
 * operand, so one of three inner kernels applies: vector-vector,
 * vector-scalar or scalar-vector. The common cases need no special code:
 * same shapes collapse to one vector-vector row, a scalar operand to one
 * vector-scalar row, and a per-channel [C,1,1] operand against [N,C,H,W] to
 * N*C vector-scalar rows of H*W.
 */
#ifndef ARGUS_NN_OPS_ELEMENTWISE_H
#define ARGUS_NN_OPS_ELEMENTWISE_H

#include "../graph.h"

typedef enum nn_binop {
  NN_BINOP_ADD,
  NN_BINOP_SUB,
  NN_BINOP_MUL,
  NN_BINOP_DIV,   /* integers: truncates toward zero; x / 0 == 0 */
  NN_BINOP_PRELU, /* a < 0 ? a * b : a */
  NN_BINOP_COUNT_
} nn_binop;

/* ONNX name of a binary op ("Add"). */
const char *nn_binop_name(nn_binop op);

/* Inner kernels over n elements. vv: a[i] op b[i]; vs: a[i] op b[0];
 * sv: a[0] op b[i]. y may equal a or b (in place) but may not partially
 * overlap them. */
typedef void (*nn_binary_fn)(size_t n, const void *a, const void *b, void *y);
typedef struct nn_binary_kernels {
  nn_binary_fn vv, vs, sv;
} nn_binary_kernels;

/* Kernels for op on dtype: the fastest this CPU runs (chosen once from
 * argus_cpu_features()), or NULL when the dtype is not supported. The
 * returned table is static. */
const nn_binary_kernels *nn_binary_kernels_get(nn_binop op, int dtype);
/* The plain C reference kernels (NULL when unsupported). */
const nn_binary_kernels *nn_binary_kernels_ref(nn_binop op, int dtype);

/* Float32 kernel tables of the ISA-specific files (NULL for an op they do
 * not implement). Call only when argus_cpu_features() reports the ISA. */
const nn_binary_kernels *nn_f32_binary_avx2(nn_binop op);
const nn_binary_kernels *nn_f32_binary_avx512(nn_binop op);

/* Collapsed broadcast layout (see the top of this file). */
typedef struct nn_bcast {
  int rank;                  /* >= 1 */
  int64_t dims[NN_MAX_RANK]; /* collapsed output dims, all >= 1 */
  int64_t sa[NN_MAX_RANK];   /* a's element strides (0: broadcast) */
  int64_t sb[NN_MAX_RANK];   /* b's element strides (0: broadcast) */
  size_t n;                  /* output elements (0: nothing to do) */
} nn_bcast;

/* Builds the layout of a (shape ra, da) op b (shape rb, db) into the output
 * shape (ro, dout), which must be their numpy broadcast (or the shape of a
 * where b broadcasts unidirectionally). Operands are right-aligned. Returns
 * ARGUS_E_SHAPE when an operand does not broadcast to dout and
 * ARGUS_E_INVALID_ARG for a rank outside [0, NN_MAX_RANK] or a negative
 * dimension. Pointers are borrowed. */
argus_err nn_bcast_init(nn_bcast *bc, int ra, const int64_t *da, int rb,
                        const int64_t *db, int ro, const int64_t *dout);

/* Computes output elements [begin, end) of the layout with kernels k on
 * elements of esize bytes. Allocates nothing. */
void nn_bcast_apply(const nn_bcast *bc, const nn_binary_kernels *k,
                    size_t esize, const void *a, const void *b, void *y,
                    size_t begin, size_t end);

/* The whole output, split across pool (may be NULL). */
void nn_bcast_run(argus_threadpool *pool, const nn_bcast *bc,
                  const nn_binary_kernels *k, size_t esize, const void *a,
                  const void *b, void *y);

/* Operator hooks shared by Add, Sub, Mul, Div and PRelu: input/dtype
 * validation, output shape (numpy broadcasting; opset < 7 legacy
 * `broadcast`/`axis` attributes; PRelu's unidirectional slope), and the run. */
argus_err nn_binary_infer(nn_graph *g, nn_node *n, nn_binop op, nn_err *err);
argus_err nn_binary_run(const nn_exec *x, const nn_node *n, nn_binop op);

/* ---- unary ------------------------------------------------------------ */

/* y[i] = f(x[i]) for n elements; params is the op's own (e.g. Clip bounds).
 * y may equal x. */
typedef void (*nn_unary_fn)(size_t n, const void *x, void *y,
                            const void *params);

/* Unary ops with float32 ISA kernels. */
typedef enum nn_unop {
  NN_UNOP_RELU,    /* max(x, 0), NaN stays NaN */
  NN_UNOP_CLIP,    /* params: two floats {lo, hi}; max(x, lo) then min(., hi) */
  NN_UNOP_EXP,     /* within 1e-6 relative of expf */
  NN_UNOP_SIGMOID, /* 1 / (1 + e^-x), within 1e-6 relative */
  NN_UNOP_COUNT_
} nn_unop;

/* The float32 kernel for op on this CPU (chosen once from
 * argus_cpu_features()), or `ref` (the op's plain C loop) when no ISA version
 * applies. */
nn_unary_fn nn_f32_unary_get(nn_unop op, nn_unary_fn ref);
/* Reference float32 exp (expf), shared by Exp and Softmax. */
void nn_f32_exp_ref(size_t n, const void *x, void *y, const void *params);
/* The ISA-specific tables (NULL for an op they do not implement). Call only
 * when argus_cpu_features() reports the ISA. */
nn_unary_fn nn_f32_unary_avx2(nn_unop op);
nn_unary_fn nn_f32_unary_avx512(nn_unop op);

/* Runs fn over n elements of esize bytes, split across pool (may be NULL).
 * `cost` is a rough per-element cost in simple arithmetic operations; it
 * sets how finely the work is split. */
void nn_unary_run(argus_threadpool *pool, nn_unary_fn fn, size_t n,
                  size_t esize, const void *x, void *y, const void *params,
                  int cost);

/* Runs a one-input op with fn over its input 0 into its output 0, after
 * checking that infer set them up (ARGUS_E_INTERNAL otherwise). */
argus_err nn_unary_op_run(const nn_exec *x, const nn_node *n, nn_unary_fn fn,
                          const void *params, int cost);

/* Validates a one-input op whose output has the input's dtype and shape:
 * at least min_in and at most max_in inputs with input 0 present, one
 * output, and an input dtype among `dtypes` (terminated by 0). Sets the
 * output shape. `op` names the op in messages. */
argus_err nn_unary_infer(nn_graph *g, nn_node *n, const char *op, int min_in,
                         int max_in, const int *dtypes, nn_err *err);

/* The node's name for messages, never NULL. */
static inline const char *nn_ew_name(const nn_node *n) {
  return n->name ? n->name : "";
}

#endif
