/* The store's JSON: audit details and camera settings. Writing goes through
 * core's argus_json in lossy mode, so a detail that does not fit loses whole
 * members and stays a valid object; checking goes through core's strict
 * validator (cJSON, the reader, accepts what the store must refuse: leading
 * zeros, raw control characters). */
#include <stdio.h>
#include <string.h>

#include "store_internal.h"

/* Deepest nesting of a stored JSON document. */
#define STORE_JSON_MAX_DEPTH 32

void store_json_begin(store_json *j) {
  j->overflow = 0;
  argus_json_init(&j->w, j->buf, sizeof j->buf);
  argus_json_lossy(&j->w);
  argus_json_obj_begin(&j->w, NULL);
}

void store_json_str(store_json *j, const char *k, const char *v) {
  argus_json_str(&j->w, k, v ? v : "");
}

void store_json_int(store_json *j, const char *k, int64_t v) {
  argus_json_int(&j->w, k, v);
}

void store_json_num(store_json *j, const char *k, double v) {
  argus_json_num(&j->w, k, v, -9); /* float precision */
}

const char *store_json_end(store_json *j) {
  argus_json_obj_end(&j->w);
  /* The buffer always has room for "{}": the object opened. */
  j->overflow = j->w.dropped > 0 || argus_json_finish(&j->w) == 0;
  return j->buf;
}

int store_json_validate_object(const char *s, char *why, size_t why_size) {
  argus_error_detail d;
  const char *p = s;
  while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
    p++;
  if (*p != '{') {
    snprintf(why, why_size, "expected a JSON object");
    return -1;
  }
  if (argus_json_validate(s, strlen(s), STORE_JSON_MAX_DEPTH, &d) !=
      ARGUS_OK) {
    snprintf(why, why_size, "%s", d.msg);
    return -1;
  }
  return 0;
}
