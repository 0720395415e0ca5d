/*
 * argus nn: the neural-network inference engine.
 *
 * A model (argus_nn_model) holds a validated ONNX graph with its weights,
 * optimised and packed once; it is read-only after loading and may be shared
 * by any number of sessions on any threads. A session (argus_nn_session) is a
 * plan for fixed input shapes and batch size with one memory arena; it is
 * used by one thread at a time and allocates nothing while running.
 */
#ifndef ARGUS_NN_H
#define ARGUS_NN_H

#include <stddef.h>
#include <stdint.h>

#include "argus/core.h"
#include "argus/export.h"

ARGUS_BEGIN_DECLS

typedef struct argus_nn_model argus_nn_model;
typedef struct argus_nn_session argus_nn_session;

#define ARGUS_NN_MAX_RANK 8

/* Element types (the ONNX TensorProto numbering). */
typedef enum argus_nn_dtype {
  ARGUS_NN_FLOAT = 1,
  ARGUS_NN_UINT8 = 2,
  ARGUS_NN_INT8 = 3,
  ARGUS_NN_INT32 = 6,
  ARGUS_NN_INT64 = 7,
  ARGUS_NN_BOOL = 9,
  ARGUS_NN_DOUBLE = 11,
} argus_nn_dtype;

typedef struct argus_nn_tensor_desc {
  const char *name; /* borrowed from the model or session */
  int dtype;        /* argus_nn_dtype */
  int rank;
  int64_t dims[ARGUS_NN_MAX_RANK]; /* -1 for a dimension the model leaves free */
} argus_nn_tensor_desc;

/* A detailed, human-readable reason for a failure. */
typedef argus_error_detail argus_nn_error; /* see argus/core.h */

/* Upper bound on a model file (bytes). */
#define ARGUS_NN_MAX_MODEL_BYTES ((size_t)1 << 30)

/* Loads and validates an ONNX model from a file. On failure returns an error
 * code, and when `err` is not NULL a message naming what is wrong (node, op,
 * attribute, tensor). `path` is borrowed. */
argus_err argus_nn_model_load_file(const char *path, argus_nn_model **out,
                                   argus_nn_error *err);
/* Same from memory; `data` is borrowed (copied where needed). */
argus_err argus_nn_model_load_memory(const void *data, size_t size,
                                     argus_nn_model **out,
                                     argus_nn_error *err);
void argus_nn_model_free(argus_nn_model *model);

int argus_nn_model_input_count(const argus_nn_model *model);
int argus_nn_model_output_count(const argus_nn_model *model);
/* Declared input/output i (as in the file). Errors: INVALID_ARG. */
argus_err argus_nn_model_input(const argus_nn_model *model, int i,
                               argus_nn_tensor_desc *out);
argus_err argus_nn_model_output(const argus_nn_model *model, int i,
                                argus_nn_tensor_desc *out);

/* Summary of a model for `argus nn info`. */
typedef struct argus_nn_model_info {
  int64_t ir_version;
  int opset;
  const char *producer; /* borrowed */
  int nnodes;           /* nodes in the file */
  int nnodes_optimised; /* after folding and fusion */
  size_t nparams;       /* weight elements */
} argus_nn_model_info;
argus_err argus_nn_model_get_info(const argus_nn_model *model,
                                  argus_nn_model_info *out);
/* Op types used by the file and their counts, i = 0.. until NOT_FOUND. */
argus_err argus_nn_model_op(const argus_nn_model *model, int i,
                            const char **type, int *count);

/* Arithmetic of the convolutions' matrix products (docs/engine.md,
 * "Precision"). BF16 rounds weights and activations to bfloat16 and
 * accumulates in float32 (AVX512_BF16). INT8 quantises weights per output
 * channel and activations per block of 48 positions (range measured as the
 * block is read) and sums in int32 (AVX512_VNNI). A CPU without the
 * instructions runs float32. */
typedef enum argus_nn_precision {
  ARGUS_NN_PRECISION_DEFAULT = 0, /* the model's, else F32 */
  ARGUS_NN_PRECISION_F32 = 1,
  ARGUS_NN_PRECISION_BF16 = 2,
  ARGUS_NN_PRECISION_INT8 = 3,
} argus_nn_precision;

/* "f32", "bf16" or "int8" to ARGUS_NN_PRECISION_*. Errors: INVALID_ARG
 * (other text, or NULL). */
argus_err argus_nn_precision_parse(const char *text, int *out);
/* "f32", "bf16" or "int8" (DEFAULT reads "f32"). */
const char *argus_nn_precision_name(int precision);

/* The precision of sessions whose options leave it at DEFAULT (a model card's
 * "precision"). Call before creating sessions, not while another thread
 * creates one. The environment variable ARGUS_PRECISION (f32/bf16/int8), when
 * set, overrides both this and the session options (for experiments).
 * Errors: INVALID_ARG. */
argus_err argus_nn_model_set_precision(argus_nn_model *model, int precision);

typedef struct argus_nn_input_shape {
  const char *name; /* input name */
  int rank;
  int64_t dims[ARGUS_NN_MAX_RANK];
} argus_nn_input_shape;

/* An input whose value is fixed when the session is planned, e.g. the
 * target shape of a Reshape or the starts of a Slice that a model takes as
 * graph inputs. It becomes a constant: later writes to it have no effect. */
typedef struct argus_nn_input_value {
  const char *name;
  const void *data; /* borrowed; copied at planning */
  size_t bytes;     /* must equal the input's element count x element size */
} argus_nn_input_value;

typedef struct argus_nn_session_opts {
  int batch; /* overrides dim 0 of every input (0: as declared) */
  const argus_nn_input_shape *shapes; /* optional overrides; borrowed */
  int nshapes;
  const argus_nn_input_value *values; /* optional plan-time values; borrowed */
  int nvalues;
  /* Optional: names of the values to expose as the session's outputs
   * instead of the graph's (e.g. raw detector heads before a baked-in
   * decoder); nodes not needed for them are not run. Borrowed. */
  const char *const *outputs;
  int noutputs;
  argus_threadpool *pool; /* borrowed; NULL: run on the calling thread */
  int precision; /* argus_nn_precision; 0: the model's */
} argus_nn_session_opts;

/* Plans a session for the given shapes. `model` is kept (must outlive the
 * session), `opts` is borrowed (may be NULL). */
argus_err argus_nn_session_create(argus_nn_model *model,
                                  const argus_nn_session_opts *opts,
                                  argus_nn_session **out, argus_nn_error *err);
void argus_nn_session_free(argus_nn_session *s);

int argus_nn_session_input_count(const argus_nn_session *s);
int argus_nn_session_output_count(const argus_nn_session *s);
/* Concrete shape of input/output i, and a pointer to its buffer in the
 * session arena (valid until the session is freed; fill inputs before run,
 * read outputs after). */
argus_err argus_nn_session_input(argus_nn_session *s, int i,
                                 argus_nn_tensor_desc *desc, void **data);
argus_err argus_nn_session_output(argus_nn_session *s, int i,
                                  argus_nn_tensor_desc *desc,
                                  const void **data);
/* Index of the input/output named `name`, or -1. */
int argus_nn_session_find_input(const argus_nn_session *s, const char *name);
int argus_nn_session_find_output(const argus_nn_session *s, const char *name);

/* Runs the graph on the current input buffers. */
argus_err argus_nn_session_run(argus_nn_session *s, argus_nn_error *err);

/* Multiply-accumulate count of one run of this session. */
uint64_t argus_nn_session_macs(const argus_nn_session *s);
/* Bytes of the session's arena (activations and scratch). */
size_t argus_nn_session_arena_bytes(const argus_nn_session *s);

/* Per-node profile of the last run when ARGUS_NN_PROFILE is set in the
 * environment: i = 0.. until NOT_FOUND. */
argus_err argus_nn_session_profile(const argus_nn_session *s, int i,
                                   const char **node, const char **op,
                                   double *ms);

ARGUS_END_DECLS
#endif
