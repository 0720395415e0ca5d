/* libFuzzer harness for the operator service's multipart/form-data reader
 * (src/api/multipart.c) and the image check it feeds uploads to.
 *
 * Input: byte 0 chooses the mode and the part limit (bits 1-3: max_parts =
 * 1 + 2 * value).
 *   bit 0 set:   the Content-Type is the bytes up to the first '\n' (any
 *                text: parameters, quoting, junk), the body the rest;
 *   bit 0 clear: byte 1 gives the boundary's length (1 + b % 70), the next
 *                bytes its characters (mapped onto RFC 2046 bchars; bit 4
 *                of byte 0 quotes it), the body the rest. This mode keeps
 *                the fuzzer inside the body parser.
 * The body is copied to a buffer of its exact size, so that ASan sees any
 * read past it. Checked invariants: parts lie inside the body, in order,
 * without overlap; names are non-empty; filenames hold no path separator
 * or control character; the count stays within max_parts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/parse.h"

static const char bchars[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLM"
                             "NOPQRSTUVWXYZ'()+_,-./:=?";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2)
    return 0;
  unsigned mode = data[0];
  int max_parts = 1 + 2 * (int)((mode >> 1) & 7);
  char ct[256];
  const uint8_t *p = data + 1, *end = data + size;
  if (mode & 1) {
    const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
    if (!nl)
      return 0;
    size_t n = (size_t)(nl - p);
    if (n >= sizeof ct || memchr(p, '\0', n))
      return 0;
    memcpy(ct, p, n);
    ct[n] = '\0';
    p = nl + 1;
  } else {
    size_t bl = 1 + p[0] % 70;
    p++;
    if ((size_t)(end - p) < bl)
      return 0;
    char b[80];
    for (size_t i = 0; i < bl; i++)
      b[i] = bchars[p[i] % (sizeof bchars - 1)];
    b[bl] = '\0';
    p += bl;
    snprintf(ct, sizeof ct,
             (mode & 16) ? "multipart/form-data; boundary=\"%s\""
                         : "multipart/form-data; boundary=%s",
             b);
  }
  size_t n = (size_t)(end - p);
  char *body = malloc(n ? n : 1);
  if (!body)
    return 0;
  if (n)
    memcpy(body, p, n);
  api_part parts[16];
  int np = -1;
  argus_error_detail err;
  err.msg[0] = '\0';
  argus_err e = api_multipart_parse(ct, body, n, parts, max_parts, &np, &err);
  if (np < 0 || np > max_parts)
    abort();
  if (e != ARGUS_OK && !err.msg[0])
    abort(); /* every failure says why */
  const char *prev_end = body;
  for (int i = 0; i < np; i++) {
    const api_part *q = &parts[i];
    if (q->data < prev_end || q->size > n || q->data + q->size > body + n)
      abort();
    prev_end = q->data + q->size;
    if (!q->name[0] || memchr(q->name, '\0', sizeof q->name) == NULL)
      abort();
    for (const char *f = q->filename; *f; f++)
      if (*f == '/' || *f == '\\' || (unsigned char)*f < 0x20 || *f == 0x7f)
        abort();
    if (!api_utf8_valid(q->filename, strlen(q->filename)) ||
        !api_utf8_valid(q->name, strlen(q->name)))
      abort();
    if (api_part_find(parts, np, q->name) == NULL)
      abort();
    api_media_type_is(q->content_type, "image/jpeg");
    int w = 0, h = 0;
    argus_error_detail ierr;
    if (api_image_check(q->data, q->size, 0, &w, &h, &ierr) == ARGUS_OK &&
        (w < 1 || h < 1 || (long long)w * h > API_IMAGE_MAX_PIXELS))
      abort();
  }
  free(body);
  return 0;
}
