/* libFuzzer harness for core's JSON and time code: the strict validator on
 * raw bytes, the writer (its output must always validate, and parse with
 * cJSON, at every buffer size), and RFC 3339 parse/format round trips. */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "argus/core.h"

static void write_doc(const char *s, size_t n, char *buf, size_t cap) {
  argus_json j;
  argus_json_init(&j, buf, cap);
  argus_json_obj_begin(&j, NULL);
  argus_json_strn(&j, "s", s, n);
  argus_json_arr_begin(&j, "a");
  argus_json_strn(&j, NULL, s, n / 2);
  argus_json_num(&j, NULL, n ? (double)(unsigned char)s[0] / 3 : 0, 3);
  argus_json_obj_begin(&j, NULL);
  argus_json_str(&j, n ? "k" : "", "v");
  argus_json_obj_end(&j);
  argus_json_arr_end(&j);
  argus_json_obj_end(&j);
  size_t len = argus_json_finish(&j);
  if (cap && strlen(buf) != j.len)
    abort();
  if (!len)
    return;
  if (argus_json_validate(buf, len, 0, NULL) != ARGUS_OK)
    abort();
  cJSON *doc = cJSON_ParseWithLength(buf, len);
  if (!doc)
    abort();
  cJSON *sv = cJSON_GetObjectItemCaseSensitive(doc, "s");
  if (!cJSON_IsString(sv))
    abort();
  cJSON_Delete(doc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *s = (const char *)data;
  argus_json_validate(s, size, 0, NULL);
  argus_utf8_valid(s, size);

  size_t cap = size * 6 + 64;
  char *buf = malloc(cap);
  if (!buf)
    return 0;
  write_doc(s, size, buf, cap);
  /* A few truncated buffers: overflow must leave a clean prefix. */
  for (size_t c = 0; c < 48 && c < cap; c += 7)
    write_doc(s, size, buf, c);
  free(buf);

  char *t = malloc(size + 1);
  if (!t)
    return 0;
  memcpy(t, data, size);
  t[size] = '\0';
  int64_t sec, sec2;
  int32_t ns, ns2;
  if (argus_rfc3339_parse_ts(t, &sec, &ns) == ARGUS_OK) {
    char out[ARGUS_RFC3339_MAX];
    argus_rfc3339_ts(sec, ns, out);
    if (argus_rfc3339_parse_ts(out, &sec2, &ns2) != ARGUS_OK || sec2 != sec ||
        ns2 != ns / 1000000 * 1000000)
      abort();
  }
  int64_t w;
  if (argus_rfc3339_parse(t, &w) == ARGUS_OK) {
    char out[ARGUS_RFC3339_MAX];
    argus_rfc3339(w, out);
  }
  free(t);
  return 0;
}
