/* Strict JSON bodies for the handlers of h_persons.c and h_admin.c: the
 * field tables and api_fields_check of parse.h (helper B's request
 * parsing). Until parse.h exists this header carries a stand-in with the
 * same interface (every member known, of its type, required ones present,
 * strings within max_len bytes, no member twice). */
#ifndef ARGUS_API_FIELDS_H
#define ARGUS_API_FIELDS_H

#if __has_include("parse.h")
#include "parse.h"
#else
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

typedef struct api_field {
  const char *name;
  unsigned types; /* API_J_* bits */
  int required;
  size_t max_len; /* strings: bytes at most (0: no limit) */
} api_field;
enum {
  API_J_STRING = 1,
  API_J_INT = 2,
  API_J_NUMBER = 4,
  API_J_BOOL = 8,
  API_J_NULL = 16,
  API_J_OBJECT = 32,
  API_J_ARRAY = 64,
};

static inline int api_fields_check(const cJSON *obj, const api_field *spec,
                                   int n, char *msg, size_t cap) {
  const cJSON *it;
  cJSON_ArrayForEach(it, obj) {
    const char *k = it->string ? it->string : "";
    int f = -1;
    for (int i = 0; i < n && f < 0; i++)
      if (strcmp(spec[i].name, k) == 0)
        f = i;
    if (f < 0) {
      snprintf(msg, cap, "unknown field '%.64s'", k);
      return -1;
    }
    for (const cJSON *o = it->next; o; o = o->next)
      if (o->string && strcmp(o->string, k) == 0) {
        snprintf(msg, cap, "field '%.64s' given twice", k);
        return -1;
      }
    unsigned t = spec[f].types;
    int ok = (cJSON_IsString(it) && (t & API_J_STRING)) ||
             (cJSON_IsBool(it) && (t & API_J_BOOL)) ||
             (cJSON_IsNull(it) && (t & API_J_NULL)) ||
             (cJSON_IsObject(it) && (t & API_J_OBJECT)) ||
             (cJSON_IsArray(it) && (t & API_J_ARRAY)) ||
             (cJSON_IsNumber(it) && (t & API_J_NUMBER)) ||
             (cJSON_IsNumber(it) && (t & API_J_INT) &&
              it->valuedouble == (double)(long long)it->valuedouble);
    if (!ok) {
      snprintf(msg, cap, "field '%s' has the wrong type", k);
      return -1;
    }
    if (cJSON_IsString(it) && spec[f].max_len &&
        strlen(it->valuestring) > spec[f].max_len) {
      snprintf(msg, cap, "field '%s' is longer than %zu bytes", k,
               spec[f].max_len);
      return -1;
    }
  }
  for (int i = 0; i < n; i++)
    if (spec[i].required &&
        !cJSON_GetObjectItemCaseSensitive(obj, spec[i].name)) {
      snprintf(msg, cap, "field '%s' is required", spec[i].name);
      return -1;
    }
  return 0;
}
#endif

#endif
