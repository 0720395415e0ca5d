/* libFuzzer harness for the model-card parser: cards are files a user can
 * point argus at (their own models), so any bytes must give a card or a
 * clear error. A card that parses must parse again, to the same card, from
 * the same bytes; its strings must be NUL-terminated within their fields. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "argus/face.h"

static void check_str(const char *s, size_t cap) {
  if (memchr(s, '\0', cap) == NULL)
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  argus_face_card a, b;
  argus_face_error err;
  memset(&a, 0, sizeof a);
  argus_err rc =
      argus_face_card_parse((const char *)data, size, "fuzz", &a, &err);
  if (rc != ARGUS_OK) {
    /* A refusal names its reason. */
    check_str(err.msg, sizeof err.msg);
    if (err.msg[0] == '\0')
      abort();
    return 0;
  }
  check_str(a.name, sizeof a.name);
  check_str(a.version, sizeof a.version);
  check_str(a.calibration, sizeof a.calibration);
  memset(&b, 0, sizeof b);
  if (argus_face_card_parse((const char *)data, size, "fuzz", &b, &err) !=
          ARGUS_OK ||
      memcmp(&a, &b, sizeof a) != 0)
    abort();
  return 0;
}
