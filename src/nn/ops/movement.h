/*
 * Shared helpers of the data-movement ops (Concat, Transpose, Reshape,
 * Flatten, Shape, Gather, Unsqueeze, Squeeze, Slice, Constant), and the
 * pure shape functions they are built on, exposed for unit tests.
 *
 * These ops only move bytes, so they handle every dtype by element size.
 */
#ifndef ARGUS_NN_OPS_MOVEMENT_H
#define ARGUS_NN_OPS_MOVEMENT_H

#include "../graph.h"

/* Node name for messages (never NULL). */
#define NN_MV_NAME(n) ((n)->name ? (n)->name : "")

/* Most entries an axes/shape/starts/... list may have. */
#define NN_MV_MAX_LIST NN_MAX_RANK

/* Normalises `axis` from [-rank, rank-1] to [0, rank-1] (with `inclusive`,
 * from [-rank, rank] to [0, rank]). Returns 0 when out of range. */
int nn_mv_axis(int64_t axis, int rank, int inclusive, int *out);

/* Checks the node has between min_in and max_in inputs with input 0
 * present, shaped and of a dtype with a size, and an output 0. */
argus_err nn_mv_check_io(const nn_graph *g, const nn_node *n, int min_in,
                         int max_in, nn_err *err);

/* Reads input `idx` (an int32/int64 tensor of rank 0 or 1, constant at plan
 * time) into out[0..*count). `what` names the input in messages. Errors:
 * UNSUPPORTED when the input is not constant, CORRUPT for a wrong dtype or
 * rank, LIMIT when it has more than `max` entries. */
argus_err nn_mv_const_ints(const nn_graph *g, const nn_node *n, int idx,
                           const char *what, int64_t *out, int max, int *count,
                           nn_err *err);

/* Product of dims[0..rank) into *out; 0 on success, -1 when it overflows
 * int64 (a negative dim also fails). */
int nn_mv_prod(int rank, const int64_t *dims, int64_t *out);

/* Copies `bytes` from src to dst (nothing when they are the same buffer),
 * split over the pool when large. */
void nn_mv_copy(const nn_exec *x, void *dst, const void *src, size_t bytes);

/* A strided gather into a contiguous output: out element at index
 * (i0, .., ir-1) of `dims` (row-major) is the element of `src` at
 *   sum_k ik * istride[k]   (in elements, strides may be negative).
 * Slice and Transpose both reduce to it. */
typedef struct nn_mv_strided {
  int rank; /* 0 .. NN_MAX_RANK */
  int64_t dims[NN_MAX_RANK];
  int64_t istride[NN_MAX_RANK];
  const uint8_t *src; /* the element read for output index 0 */
  uint8_t *dst;
  size_t esize;
} nn_mv_strided;

void nn_mv_strided_copy(const nn_exec *x, const nn_mv_strided *s);

/* ---- shape logic of single ops (pure functions) ------------------------ */

/* Reshape: resolves the target `shape` (n entries; 0 copies the input dim
 * at the same index unless allowzero, -1 is inferred) against the input
 * shape. Fails with SHAPE (element counts differ, or a 0 copies past the
 * input rank) or CORRUPT (a second -1, a dim < -1, 0 with -1 under
 * allowzero), naming `node`. */
argus_err nn_reshape_dims(const char *node, int in_rank, const int64_t *in_dims,
                          int n, const int64_t *shape, int allowzero,
                          int *out_rank, int64_t *out_dims, nn_err *err);

/* Slice along one axis of size `dim`: clamps start/end as the ONNX spec does
 * for the sign of `step` (not 0) and gives the first index read and the
 * number of elements. */
void nn_slice_axis(int64_t dim, int64_t start, int64_t end, int64_t step,
                   int64_t *first, int64_t *count);

/* Unsqueeze: inserts size-1 dims at `axes` (each in [-r', r'-1] for the
 * output rank r' = in_rank + naxes, any order, no repeats). */
argus_err nn_unsqueeze_dims(const char *node, int in_rank,
                            const int64_t *in_dims, int naxes,
                            const int64_t *axes, int *out_rank,
                            int64_t *out_dims, nn_err *err);

/* Squeeze: removes `axes` (each in [-r, r-1], of size 1, no repeats); with
 * naxes < 0 removes every size-1 dim. */
argus_err nn_squeeze_dims(const char *node, int in_rank, const int64_t *in_dims,
                          int naxes, const int64_t *axes, int *out_rank,
                          int64_t *out_dims, nn_err *err);

#endif
