/* Crop file names: the lower-case hex SHA-256 of their bytes
 * (argus_sha256_hex, in core). */
#include <string.h>

#include "store_internal.h"

int store_is_sha256_hex(const char *s) {
  if (!s)
    return 0;
  for (int i = 0; i < 64; i++)
    if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
      return 0;
  return s[64] == '\0';
}
