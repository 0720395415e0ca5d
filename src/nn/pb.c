#include <string.h>

#include "pb.h"

static _Thread_local const char *last_why = "no error";
static _Thread_local const uint8_t *last_where;

static int fail(const char *why, const uint8_t *where) {
  last_why = why;
  last_where = where;
  return -1;
}

void pb_clear_error(void) {
  last_why = "a field has the wrong wire type or an invalid value";
  last_where = NULL;
}

const char *pb_last_error(const uint8_t **where) {
  if (where)
    *where = last_where;
  return last_why;
}

int pb_varint(pb_reader *r, uint64_t *out) {
  uint64_t v = 0;
  const uint8_t *start = r->p;
  for (int shift = 0; shift < 64; shift += 7) {
    if (r->p >= r->end)
      return fail("varint cut off by the end of the data", start);
    uint8_t b = *r->p++;
    if (shift == 63 && (b & 0x7e))
      return fail("varint longer than 64 bits", start);
    v |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      *out = v;
      return 0;
    }
  }
  return fail("varint longer than 64 bits", start);
}

int pb_next(pb_reader *r, pb_field *f) {
  uint64_t key;
  const uint8_t *start = r->p;
  if (r->p >= r->end)
    return 0;
  if (pb_varint(r, &key) < 0)
    return -1;
  if ((key >> 3) == 0 || (key >> 3) > 0x1fffffff)
    return fail("invalid field number", start);
  f->num = (uint32_t)(key >> 3);
  f->wire = (int)(key & 7);
  f->data = NULL;
  f->len = 0;
  f->u = 0;
  switch (f->wire) {
  case PB_VARINT:
    return pb_varint(r, &f->u) < 0 ? -1 : 1;
  case PB_I64:
    if (r->end - r->p < 8)
      return fail("64-bit field cut off by the end of the data", start);
    memcpy(&f->u, r->p, 8);
    r->p += 8;
    return 1;
  case PB_I32: {
    uint32_t v;
    if (r->end - r->p < 4)
      return fail("32-bit field cut off by the end of the data", start);
    memcpy(&v, r->p, 4);
    f->u = v;
    r->p += 4;
    return 1;
  }
  case PB_LEN: {
    uint64_t len;
    if (pb_varint(r, &len) < 0)
      return -1;
    if (len > (uint64_t)(r->end - r->p))
      return fail("length runs past the end of the enclosing data", start);
    f->data = r->p;
    f->len = (size_t)len;
    r->p += len;
    return 1;
  }
  default: /* groups (3, 4) and reserved types are not used by ONNX */
    return fail("unsupported wire type", start);
  }
}
