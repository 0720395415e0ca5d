/* What the two halves of the ONNX parser share: onnx.c reads ModelProto,
 * GraphProto, NodeProto and ValueInfoProto; onnx_tensor.c reads TensorProto
 * and AttributeProto. Not part of the engine's interface (see onnx.h). */
#ifndef ARGUS_NN_ONNX_INTERNAL_H
#define ARGUS_NN_ONNX_INTERNAL_H

#include "onnx.h"

/* Longest name or string attribute kept, in bytes. */
#define NN_ONNX_MAX_STRING 65536

/* Start of the model file being parsed on this thread (set by
 * nn_onnx_parse_model), so that messages can give byte offsets. */
extern _Thread_local const uint8_t *nn_onnx_file_base;

/* Writes why the last protobuf read on this thread failed, with its byte
 * offset in the file when known, into buf (len bytes) and returns buf:
 * "varint cut off by the end of the data at byte 1234". */
const char *nn_onnx_pb_why(char *buf, size_t len);

/* Returns a NUL-terminated malloc'd copy of len bytes at p (the caller
 * frees it), or NULL when out of memory. */
char *nn_onnx_dup_bytes(const uint8_t *p, size_t len);

/* Returns nonzero if the len bytes at p cannot be a name: longer than
 * NN_ONNX_MAX_STRING, or holding a NUL byte (two different names would then
 * compare equal). */
int nn_onnx_bad_name(const uint8_t *p, size_t len);

/* Parses the AttributeProto in [p, p+len) into *a, which is zeroed first;
 * node names the node in messages. What *a holds is its own even on error
 * (release it as nn_graph_free does). Errors: ARGUS_E_CORRUPT for malformed
 * or invalid attributes, ARGUS_E_UNSUPPORTED for references, sub-graphs and
 * unsupported types, ARGUS_E_LIMIT for lists over 2^20 values,
 * ARGUS_E_NOMEM. */
argus_err nn_onnx_parse_attr(const uint8_t *p, size_t len, nn_attr *a,
                             const char *node, nn_err *err);

#endif
