/* A bounds-checked reader of the protocol-buffers wire format. Every read
 * checks the remaining length; a malformed buffer yields an error, never an
 * over-read. */
#ifndef ARGUS_NN_PB_H
#define ARGUS_NN_PB_H

#include <stddef.h>
#include <stdint.h>

typedef struct pb_reader {
  const uint8_t *p, *end;
} pb_reader;

enum { PB_VARINT = 0, PB_I64 = 1, PB_LEN = 2, PB_I32 = 5 };

/* One field: its number, wire type, and value (varint/fixed in u, bytes in
 * data/len for PB_LEN). */
typedef struct pb_field {
  uint32_t num;
  int wire;
  uint64_t u;
  const uint8_t *data;
  size_t len;
} pb_field;

static inline pb_reader pb_init(const uint8_t *p, size_t len) {
  pb_reader r = {p, p + len};
  return r;
}
static inline int pb_eof(const pb_reader *r) { return r->p >= r->end; }

/* Returns 0 on success, -1 on malformed input. */
int pb_varint(pb_reader *r, uint64_t *out);
/* Reads the next field; returns 1 on success, 0 at the end, -1 if malformed. */
int pb_next(pb_reader *r, pb_field *f);

/* Why and where the last read on this thread failed: a static string and
 * the address of the offending byte. */
const char *pb_last_error(const uint8_t **where);
/* Resets the last error to the reason used when a caller rejects a field
 * that the reader itself accepted (wrong wire type, invalid value). */
void pb_clear_error(void);

#endif
