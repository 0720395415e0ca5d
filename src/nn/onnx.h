/* ONNX protobuf parsing into the engine's graph (see graph.h). */
#ifndef ARGUS_NN_ONNX_H
#define ARGUS_NN_ONNX_H

#include "graph.h"

/* Parses a ModelProto. Every length, count, type and tensor size is checked
 * against the buffer; external data is refused. On error, err names what is
 * wrong. g is zeroed first; free it with nn_graph_free even on error. */
argus_err nn_onnx_parse_model(const uint8_t *buf, size_t len, nn_graph *g,
                              nn_err *err);

/* Parses a TensorProto (as in the ONNX backend tests' input_*.pb). t->data is
 * allocated with nn_alloc; release with nn_tensor_clear. */
argus_err nn_onnx_parse_tensor(const uint8_t *buf, size_t len, nn_tensor *t,
                               char **name, nn_err *err);
void nn_tensor_clear(nn_tensor *t);

#endif
