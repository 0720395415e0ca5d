/* SHA-256 of a model file, to check it against its card. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "face_internal.h"

argus_err argus_face_file_sha256(const char *path, char hex[65]) {
  if (!path || !hex)
    return ARGUS_E_INVALID_ARG;
  FILE *f = fopen(path, "rb");
  if (!f)
    return errno == ENOENT ? ARGUS_E_NOT_FOUND : ARGUS_E_IO;
  argus_sha256 s;
  argus_sha256_init(&s);
  uint8_t buf[65536];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0)
    argus_sha256_update(&s, buf, n);
  int bad = ferror(f);
  fclose(f);
  if (bad)
    return ARGUS_E_IO;
  uint8_t d[32];
  argus_sha256_final(&s, d);
  argus_sha256_digest_hex(d, hex);
  return ARGUS_OK;
}
