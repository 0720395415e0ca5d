/* libFuzzer harness for the operator service's request values
 * (src/api/json_in.c, src/api/multipart.c): the JSON body parser and a
 * fixed field table, the accessors, ids, cursors, times, names and the
 * upload image check, all on the same bytes.
 *
 * The input is copied to a buffer of its exact size (ASan sees reads past
 * it) and, for the string helpers, to a NUL-terminated copy. Checked
 * invariants: a parse failure always says why; an accepted body, printed
 * again by cJSON, is accepted again; an accepted id prints back to the
 * same text; an accepted name holds no '/', '\\' or ".."; an accepted
 * image is within the pixel limit.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/parse.h"

static const api_field spec[] = {
    {"name", API_J_STRING, 1, 127},
    {"threshold", API_J_NUMBER | API_J_NULL, 0, 0},
    {"limit", API_J_INT, 0, 0},
    {"enabled", API_J_BOOL, 0, 0},
    {"notes", API_J_STRING | API_J_NULL, 0, 0},
    {"tags", API_J_ARRAY, 0, 0},
    {"settings", API_J_OBJECT, 0, 0},
    {"watchlist", API_J_STRING | API_J_INT, 0, 127},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *buf = malloc(size ? size : 1);
  char *str = malloc(size + 1);
  if (!buf || !str)
    goto out;
  if (size)
    memcpy(buf, data, size);
  memcpy(str, data, size);
  str[size] = '\0';

  char msg[256];
  msg[0] = '\0';
  cJSON *j = api_json_parse(buf, size, msg, sizeof msg);
  if (!j && !msg[0])
    abort();
  if (j) {
    if (!cJSON_IsObject(j))
      abort();
    /* What was accepted, printed by cJSON, is accepted again. */
    char *again = cJSON_PrintUnformatted(j);
    if (again) {
      char m2[256];
      cJSON *k = api_json_parse(again, strlen(again), m2, sizeof m2);
      if (!k) {
        fprintf(stderr, "reprinted JSON refused: %s\n", m2);
        abort();
      }
      cJSON_Delete(k);
      cJSON_free(again);
    }
    msg[0] = '\0';
    int r = api_fields_check(j, spec, (int)(sizeof spec / sizeof spec[0]), msg,
                             sizeof msg);
    if (r != 0 && !msg[0])
      abort();
    if (r == 0) {
      const char *name = api_json_str(j, "name");
      if (!name || strlen(name) > 127)
        abort();
      double d;
      int64_t v;
      int b;
      api_json_num(j, "threshold", &d);
      api_json_int(j, "limit", &v);
      api_json_bool(j, "enabled", &b);
      api_json_has(j, "notes");
    }
    cJSON_Delete(j);
  }

  int64_t id = 0;
  if (api_id_parse(str, &id) == 0) {
    char back[32];
    snprintf(back, sizeof back, "%" PRId64, id);
    if (id < 1 || strcmp(back, str) != 0)
      abort();
  }
  api_cursor_parse(str, &id);
  api_time_param_ok(str);
  if (api_name_ok(str) &&
      (strchr(str, '/') || strchr(str, '\\') || strstr(str, "..") ||
       strlen(str) > 127 || !api_utf8_valid(str, strlen(str))))
    abort();
  msg[0] = '\0';
  if (api_name_check(str, "name", msg, sizeof msg) != 0 && !msg[0])
    abort();
  api_media_type_is(str, "application/json");

  int w = 0, h = 0;
  argus_error_detail err;
  if (api_image_check(buf, size, 0, &w, &h, &err) == ARGUS_OK &&
      (w < 1 || h < 1 || (long long)w * h > API_IMAGE_MAX_PIXELS))
    abort();
  api_image_check(buf, size, 1000, &w, &h, &err);
out:
  free(buf);
  free(str);
  return 0;
}
