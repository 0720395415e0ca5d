/* Response shapes against docs/openapi.json, for the API tests
 * (header-only; include after api_util.h and check.h).
 *
 * A light check, not a validator: a real answer is held against the schema
 * the document gives for its route and status — the type of each value,
 * the required members present, no member the schema does not list
 * (unless it allows more), into arrays' items and through $ref, allOf and
 * oneOf (a null or the first branch of the right type). Enums, formats and
 * bounds are not checked.
 *
 *   cJSON *doc = api_shape_doc(&s);
 *   api_shape_of(doc, "POST", "/api/v1/persons/{id}/photos", r.status,
 *                r.body);
 */
#ifndef ARGUS_TEST_API_SHAPE_H
#define ARGUS_TEST_API_SHAPE_H

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "api_util.h"
#include "check.h"

#define API_SHAPE_CHECK(cond, ...)                                             \
  do {                                                                         \
    check_count_++;                                                            \
    if (!(cond)) {                                                             \
      fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                          \
      fprintf(stderr, __VA_ARGS__);                                            \
      fputc('\n', stderr);                                                     \
      check_failures_++;                                                       \
    }                                                                          \
  } while (0)

/* `sch` with its $ref followed (NULL when it names nothing). */
static inline const cJSON *api_shape_deref(const cJSON *doc, const cJSON *sch) {
  for (int hops = 0; sch && hops < 8; hops++) {
    const cJSON *ref = cJSON_GetObjectItemCaseSensitive(sch, "$ref");
    if (!cJSON_IsString(ref))
      return sch;
    const char *p = ref->valuestring;
    if (strncmp(p, "#/", 2) != 0)
      return NULL;
    p += 2;
    const cJSON *at = doc;
    while (*p && at) {
      char seg[128];
      size_t n = strcspn(p, "/");
      if (n >= sizeof seg)
        return NULL;
      memcpy(seg, p, n);
      seg[n] = '\0';
      at = cJSON_GetObjectItemCaseSensitive(at, seg);
      p += n;
      if (*p == '/')
        p++;
    }
    sch = at;
  }
  return NULL;
}

static inline int api_shape_type_is(const cJSON *v, const char *t) {
  if (strcmp(t, "null") == 0)
    return cJSON_IsNull(v);
  if (strcmp(t, "boolean") == 0)
    return cJSON_IsBool(v);
  if (strcmp(t, "string") == 0)
    return cJSON_IsString(v);
  if (strcmp(t, "object") == 0)
    return cJSON_IsObject(v);
  if (strcmp(t, "array") == 0)
    return cJSON_IsArray(v);
  if (strcmp(t, "number") == 0)
    return cJSON_IsNumber(v);
  if (strcmp(t, "integer") == 0)
    return cJSON_IsNumber(v) &&
           v->valuedouble == (double)(long long)v->valuedouble;
  return 1;
}

/* 1 when v has the schema's "type" (a name or a list; none: any). */
static inline int api_shape_type_ok(const cJSON *sch, const cJSON *v) {
  const cJSON *type = cJSON_GetObjectItemCaseSensitive(sch, "type");
  if (!type)
    return 1;
  if (cJSON_IsString(type))
    return api_shape_type_is(v, type->valuestring);
  const cJSON *t;
  cJSON_ArrayForEach(t, type) {
    if (cJSON_IsString(t) && api_shape_type_is(v, t->valuestring))
      return 1;
  }
  return 0;
}

/* 1 when the schema (or a part of its allOf) lists member `name`, or
 * allows any member (no properties, or additionalProperties true). */
static inline int api_shape_member_known(const cJSON *doc, const cJSON *sch,
                                         const char *name, int depth) {
  sch = api_shape_deref(doc, sch);
  if (!sch || depth > 8)
    return 1;
  const cJSON *all = cJSON_GetObjectItemCaseSensitive(sch, "allOf");
  if (all) {
    const cJSON *part;
    cJSON_ArrayForEach(part, all) {
      if (api_shape_member_known(doc, part, name, depth + 1))
        return 1;
    }
    return 0;
  }
  const cJSON *props = cJSON_GetObjectItemCaseSensitive(sch, "properties");
  if (!props || cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(
                    sch, "additionalProperties")))
    return 1;
  return cJSON_GetObjectItemCaseSensitive(props, name) != NULL;
}

static inline void api_shape_check(const cJSON *doc, const cJSON *sch,
                                   const cJSON *v, const char *where, int extra,
                                   int depth) {
  sch = api_shape_deref(doc, sch);
  API_SHAPE_CHECK(sch != NULL, "%s: the schema's $ref does not resolve", where);
  if (!sch || depth > 12)
    return;
  const cJSON *one = cJSON_GetObjectItemCaseSensitive(sch, "oneOf");
  if (one) {
    const cJSON *b, *pick = NULL;
    cJSON_ArrayForEach(b, one) {
      const cJSON *bs = api_shape_deref(doc, b);
      if (!pick && bs && api_shape_type_ok(bs, v))
        pick = bs;
    }
    API_SHAPE_CHECK(pick != NULL, "%s: no oneOf branch takes this value",
                    where);
    if (pick)
      api_shape_check(doc, pick, v, where, extra, depth + 1);
    return;
  }
  const cJSON *all = cJSON_GetObjectItemCaseSensitive(sch, "allOf");
  if (all) {
    const cJSON *part;
    cJSON_ArrayForEach(part, all) {
      api_shape_check(doc, part, v, where, 0, depth + 1);
    }
  }
  API_SHAPE_CHECK(api_shape_type_ok(sch, v), "%s: not of the documented type",
                  where);
  char sub[256];
  if (cJSON_IsObject(v)) {
    const cJSON *req = cJSON_GetObjectItemCaseSensitive(sch, "required");
    const cJSON *k;
    cJSON_ArrayForEach(k, req) {
      if (cJSON_IsString(k))
        API_SHAPE_CHECK(
            cJSON_GetObjectItemCaseSensitive(v, k->valuestring) != NULL,
            "%s: required member '%s' missing", where, k->valuestring);
    }
    const cJSON *props = cJSON_GetObjectItemCaseSensitive(sch, "properties");
    const cJSON *m;
    cJSON_ArrayForEach(m, v) {
      if (extra)
        API_SHAPE_CHECK(api_shape_member_known(doc, sch, m->string, 0),
                        "%s: member '%s' is not in the document", where,
                        m->string);
      const cJSON *ps = cJSON_GetObjectItemCaseSensitive(props, m->string);
      if (ps) {
        snprintf(sub, sizeof sub, "%s.%s", where, m->string);
        api_shape_check(doc, ps, m, sub, 1, depth + 1);
      }
    }
  } else if (cJSON_IsArray(v)) {
    const cJSON *items = cJSON_GetObjectItemCaseSensitive(sch, "items");
    const cJSON *e;
    int i = 0;
    cJSON_ArrayForEach(e, v) {
      if (items) {
        snprintf(sub, sizeof sub, "%s[%d]", where, i);
        api_shape_check(doc, items, e, sub, 1, depth + 1);
      }
      i++;
    }
  }
}

/* Holds answer `body` (status `status`) of `method pattern` against the
 * document's schema of that status (application/json). */
static inline void api_shape_of(const cJSON *doc, const char *method,
                                const char *pattern, long status,
                                const char *body) {
  char m[16], st[8], where[300];
  size_t k = 0;
  for (; method[k] && k + 1 < sizeof m; k++)
    m[k] = (char)tolower((unsigned char)method[k]);
  m[k] = '\0';
  snprintf(st, sizeof st, "%ld", status);
  snprintf(where, sizeof where, "%s %s %ld", method, pattern, status);
  const cJSON *paths = cJSON_GetObjectItemCaseSensitive(doc, "paths");
  const cJSON *op = cJSON_GetObjectItemCaseSensitive(
      cJSON_GetObjectItemCaseSensitive(paths, pattern), m);
  const cJSON *resp = api_shape_deref(
      doc, cJSON_GetObjectItemCaseSensitive(
               cJSON_GetObjectItemCaseSensitive(op, "responses"), st));
  API_SHAPE_CHECK(resp != NULL, "%s: status not documented (%.300s)", where,
                  body);
  if (!resp)
    return;
  const cJSON *sch = cJSON_GetObjectItemCaseSensitive(
      cJSON_GetObjectItemCaseSensitive(
          cJSON_GetObjectItemCaseSensitive(resp, "content"),
          "application/json"),
      "schema");
  API_SHAPE_CHECK(sch != NULL, "%s: no application/json schema", where);
  cJSON *v = cJSON_Parse(body);
  API_SHAPE_CHECK(v != NULL, "%s: the answer is not JSON: %.300s", where, body);
  if (sch && v)
    api_shape_check(doc, sch, v, where, 1, 0);
  cJSON_Delete(v);
}

/* The route pattern of a path: the query dropped, every all-digit segment
 * "{id}" (for routes with one path parameter at most). */
static inline void api_shape_pattern(const char *path, char *out, size_t cap) {
  size_t k = 0;
  for (const char *p = path; *p && *p != '?' && k + 5 < cap;) {
    if (p > path && p[-1] == '/' && isdigit((unsigned char)*p)) {
      while (isdigit((unsigned char)*p))
        p++;
      memcpy(out + k, "{id}", 4);
      k += 4;
    } else
      out[k++] = *p++;
  }
  out[k] = '\0';
}

/* 1 when the document has operation `method pattern` (method lower case). */
static inline int api_shape_has(const cJSON *doc, const char *m,
                                const char *pattern) {
  return cJSON_GetObjectItemCaseSensitive(
             cJSON_GetObjectItemCaseSensitive(
                 cJSON_GetObjectItemCaseSensitive(doc, "paths"), pattern),
             m) != NULL;
}

/* The document the server serves (GET /api/v1/openapi.json; cJSON_Delete
 * it), NULL when it cannot be had. */
static inline cJSON *api_shape_doc(const api_srv *s) {
  api_resp r;
  if (api_call(s, "GET", "/api/v1/openapi.json", -1, NULL, NULL, &r) != 0)
    return NULL;
  cJSON *doc = r.status == 200 ? cJSON_Parse(r.body) : NULL;
  api_resp_free(&r);
  return doc;
}

#endif
