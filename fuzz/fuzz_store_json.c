/* libFuzzer harness for the store's parsers of outside input: the JSON
 * validator (camera settings, audit details from the API) and the URL
 * redactor (camera URLs). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *s = malloc(size + 1);
  if (!s)
    return 0;
  memcpy(s, data, size);
  s[size] = '\0';
  char why[128];
  store_json_validate_object(s, why, sizeof why);
  char red[64];
  argus_store_url_redact(s, red, sizeof red);
  /* The builder's output must always validate. */
  store_json j;
  store_json_begin(&j);
  store_json_str(&j, s, s);
  store_json_int(&j, "n", (int64_t)size);
  if (store_json_validate_object(store_json_end(&j), why, sizeof why) != 0)
    abort();
  free(s);
  return 0;
}
