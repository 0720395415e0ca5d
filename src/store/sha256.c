/* SHA-256 of a buffer in memory, as lower-case hex: the name of a crop
 * file (the digest itself lives in core). */
#include <string.h>

#include "store_internal.h"

void store_sha256_hex(const void *data, size_t n,
                      char out[ARGUS_STORE_SHA256_HEX]) {
  argus_sha256_hex(data, n, out);
}

int store_is_sha256_hex(const char *s) {
  if (!s)
    return 0;
  for (int i = 0; i < 64; i++)
    if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
      return 0;
  return s[64] == '\0';
}
