/* Helpers shared by the resource handlers (h_*.c; paging is api_page_args
 * and api_page_json of api_internal.h): strict JSON bodies
 * (api_fields_check of parse.h), the rule for names that come from a
 * client (api_name_check), answers written once into a sized buffer. All
 * static: each file gets its copy of what it uses. */
#ifndef ARGUS_API_H_UTIL_H
#define ARGUS_API_H_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"
#include "api_internal.h"

/* The body as a JSON object whose members pass `spec` (n fields): the
 * object (cJSON_Delete it), or NULL after answering 400/415 naming the
 * field. */
static inline cJSON *hu_body(api_req *r, const api_field *spec, int n) {
  cJSON *body = api_body_object(r);
  if (!body)
    return NULL;
  char msg[256];
  if (api_fields_check(body, spec, n, msg, sizeof msg) != 0) {
    api_reply_error(r, 400, "bad_request", "%s", msg);
    cJSON_Delete(body);
    return NULL;
  }
  return body;
}

/* A name given by a client (camera, watchlist): 1..127 bytes of valid
 * UTF-8, no control characters, no path tricks ('/', '\\', "..", "."), no
 * blank at either end (api_name_check). 1, or 0 after answering 400 naming
 * `field`. */
static inline int hu_name_ok(api_req *r, const char *field, const char *s) {
  char msg[200];
  if (api_name_check(s, "name", msg, sizeof msg) != 0) {
    api_reply_error(r, 400, "bad_request", "field '%s': %s", field, msg);
    return 0;
  }
  return 1;
}

/* A member of a checked body (NULL when absent). */
static inline const cJSON *hu_get(const cJSON *body, const char *key) {
  return cJSON_GetObjectItemCaseSensitive(body, key);
}

/* A finished JSON document written with the core writer into a buffer of
 * about `estimate` bytes (grown when it does not fit), answered without a
 * copy: the document is written once in the usual case. */
static inline void hu_reply_json_sized(api_req *r, int status,
                                       api_json_fn fn, void *user,
                                       size_t estimate) {
  size_t cap = estimate < 4096 ? 4096 : estimate;
  for (int tries = 0; tries < 6; tries++) {
    char *buf = malloc(cap);
    if (!buf)
      break;
    argus_json j;
    argus_json_init(&j, buf, cap);
    fn(user, &j);
    size_t n = argus_json_finish(&j);
    if (n) {
      api_reply_bytes(r, status, "application/json", buf, n, 1);
      return;
    }
    free(buf);
    if (j.misuse)
      break;
    cap *= 4;
  }
  api_reply_error(r, 500, "internal", "the answer could not be written");
}

#endif
