#include <string.h>

#include "pb.h"

int pb_varint(pb_reader *r, uint64_t *out) {
  uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (r->p >= r->end)
      return -1;
    uint8_t b = *r->p++;
    if (shift == 63 && (b & 0x7e))
      return -1; /* more than 64 bits */
    v |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      *out = v;
      return 0;
    }
  }
  return -1;
}

int pb_next(pb_reader *r, pb_field *f) {
  uint64_t key;
  if (r->p >= r->end)
    return 0;
  if (pb_varint(r, &key) < 0)
    return -1;
  if ((key >> 3) == 0 || (key >> 3) > 0x1fffffff)
    return -1;
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
      return -1;
    memcpy(&f->u, r->p, 8);
    r->p += 8;
    return 1;
  case PB_I32: {
    uint32_t v;
    if (r->end - r->p < 4)
      return -1;
    memcpy(&v, r->p, 4);
    f->u = v;
    r->p += 4;
    return 1;
  }
  case PB_LEN: {
    uint64_t len;
    if (pb_varint(r, &len) < 0 || len > (uint64_t)(r->end - r->p))
      return -1;
    f->data = r->p;
    f->len = (size_t)len;
    r->p += len;
    return 1;
  }
  default:
    return -1; /* groups (3, 4) and reserved types are not used by ONNX */
  }
}
