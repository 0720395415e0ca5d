/* Encryption at rest: templates and crop files sealed with
 * XChaCha20-Poly1305 under the deployment's key. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

const char store_migration_9_sql[] = "SELECT 1;\n";

static int host_le(void) {
  const uint16_t one = 1;
  return *(const uint8_t *)&one == 1;
}

static void swap32(void *p, int n) {
  uint8_t *b = p;
  for (int i = 0; i < n; i++, b += 4) {
    uint8_t t0 = b[0], t1 = b[1];
    b[0] = b[3];
    b[1] = b[2];
    b[2] = t1;
    b[3] = t0;
  }
}

argus_err store_vec_pack(argus_store *s, const float *v, int dim, void **blob,
                         size_t *size, argus_store_error *err) {
  (void)s;
  *blob = NULL;
  *size = 0;
  if (!v || dim <= 0)
    return store_fail(err, ARGUS_E_INVALID_ARG, "template vector: none");
  size_t n = (size_t)dim * 4;
  uint8_t *b = malloc(n);
  if (!b)
    return store_fail(err, ARGUS_E_NOMEM, "template vector: out of memory");
  memcpy(b, v, n);
  if (!host_le())
    swap32(b, dim);
  *blob = b;
  *size = n;
  return ARGUS_OK;
}

argus_err store_vec_unpack(argus_store *s, const void *blob, size_t size,
                           int dim, float *dst, argus_store_error *err) {
  (void)s;
  if (!blob || dim <= 0 || size != (size_t)dim * 4)
    return store_fail(err, ARGUS_E_CORRUPT,
                      "template vector: %zu bytes where %d floats were "
                      "expected",
                      size, dim);
  memcpy(dst, blob, size);
  if (!host_le())
    swap32(dst, dim);
  return ARGUS_OK;
}
