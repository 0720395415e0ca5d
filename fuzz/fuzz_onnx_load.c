/*
 * libFuzzer harness for the ONNX model loader.
 *
 * Every input is loaded with argus_nn_model_load_memory. When it loads, a
 * session is planned with every free dimension set to 1, and run once when
 * the inputs and the work are small, so that the fuzzer stays fast while
 * the planner (shape inference, constant folding) and the ops' run hooks
 * see the mutated graphs too. Input tensors are filled from the fuzz input
 * itself, so that data-dependent paths (Gather indices, Reshape shapes,
 * Slice starts) are explored as well.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "argus/nn.h"
#include "nn/graph.h"

#define MAX_INPUT_ELEMS 100000
#define MAX_DIM 4096
#define MAX_ARENA_BYTES ((size_t)64 << 20)
#define MAX_MACS ((uint64_t)20000000)

static void quiet(void *user, argus_log_level level, const char *module,
                  const char *line) {
  (void)user, (void)level, (void)module, (void)line;
}

static void fill(uint8_t *dst, size_t n, const uint8_t *src, size_t len) {
  if (!len) {
    memset(dst, 0, n);
    return;
  }
  for (size_t i = 0; i < n; i++)
    dst[i] = src[i % len];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static int init;
  if (!init) {
    argus_log_set_sink(quiet, NULL);
    init = 1;
  }
  argus_nn_model *m = NULL;
  argus_nn_session *s = NULL;
  argus_nn_error err;
  if (argus_nn_model_load_memory(data, size, &m, &err) != ARGUS_OK)
    return 0;

  int nin = argus_nn_model_input_count(m);
  if (nin < 0 || nin > NN_MAX_IO)
    goto done;
  argus_nn_input_shape shapes[NN_MAX_IO];
  size_t total = 0;
  for (int i = 0; i < nin; i++) {
    argus_nn_tensor_desc d;
    if (argus_nn_model_input(m, i, &d) != ARGUS_OK)
      goto done;
    size_t count = 1;
    shapes[i].name = d.name;
    shapes[i].rank = d.rank;
    for (int k = 0; k < d.rank && k < ARGUS_NN_MAX_RANK; k++) {
      int64_t v = d.dims[k] < 0 ? 1 : d.dims[k];
      if (v > MAX_DIM)
        goto done;
      shapes[i].dims[k] = v;
      count *= (size_t)v;
      if (count > MAX_INPUT_ELEMS)
        goto done;
    }
    total += count;
    if (total > MAX_INPUT_ELEMS)
      goto done;
  }
  argus_nn_session_opts opts;
  memset(&opts, 0, sizeof opts);
  opts.shapes = shapes;
  opts.nshapes = nin;
  if (argus_nn_session_create(m, &opts, &s, &err) != ARGUS_OK)
    goto done;
  if (argus_nn_session_arena_bytes(s) > MAX_ARENA_BYTES ||
      argus_nn_session_macs(s) > MAX_MACS)
    goto done;
  for (int i = 0; i < argus_nn_session_input_count(s); i++) {
    argus_nn_tensor_desc d;
    void *buf = NULL;
    if (argus_nn_session_input(s, i, &d, &buf) != ARGUS_OK || !buf)
      continue;
    size_t n = nn_shape_count(d.rank, d.dims);
    if (n == SIZE_MAX)
      continue;
    fill(buf, n * nn_dtype_size(d.dtype), data, size);
  }
  if (argus_nn_session_run(s, &err) == ARGUS_OK) {
    /* Read every output so that a bad output descriptor shows up. */
    volatile uint8_t sink = 0;
    for (int i = 0; i < argus_nn_session_output_count(s); i++) {
      argus_nn_tensor_desc d;
      const void *out = NULL;
      if (argus_nn_session_output(s, i, &d, &out) != ARGUS_OK || !out)
        continue;
      size_t n = nn_shape_count(d.rank, d.dims) * nn_dtype_size(d.dtype);
      for (size_t k = 0; k < n; k++)
        sink ^= ((const uint8_t *)out)[k];
    }
    (void)sink;
  }

done:
  argus_nn_session_free(s);
  argus_nn_model_free(m);
  return 0;
}
