/*
 * libFuzzer harness for nn_onnx_parse_tensor (TensorProto, as in the ONNX
 * backend tests' input_*.pb files and in every initializer).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nn/onnx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  nn_tensor t;
  memset(&t, 0, sizeof t);
  char *name = NULL;
  nn_err err;
  if (nn_onnx_parse_tensor(data, size, &t, &name, &err) == ARGUS_OK) {
    /* What the parser claims must be consistent and readable. */
    if (t.rank < 0 || t.rank > NN_MAX_RANK)
      abort();
    if (nn_shape_count(t.rank, t.dims) != t.nelem)
      abort();
    size_t es = nn_dtype_size(t.dtype);
    if (!es || (t.nelem && !t.data))
      abort();
    volatile uint8_t sink = 0;
    for (size_t k = 0; k < t.nelem * es; k++)
      sink ^= ((const uint8_t *)t.data)[k];
    (void)sink;
    if (name)
      sink ^= (uint8_t)strlen(name);
  }
  free(name);
  nn_tensor_clear(&t);
  return 0;
}
