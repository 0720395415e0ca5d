/* Recognition policy per camera through the REST API (argus serve
 * --no-pipeline): POST and PATCH /api/v1/cameras check the "policy" member
 * of the settings with the same reader as the CLI and the store (400 naming
 * what is wrong), answer it back as docs/openapi.json documents it (the
 * CameraPolicy schema, api_shape.h), and audit the change with the acting
 * user, the legal reference and the time it takes effect. Skips (77)
 * without $ARGUS_CLI. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_util.h"
#include "check.h"
#include "api_shape.h"

static cJSON *g_doc;

/* A call whose 2xx JSON answer is held against the document. */
static long call(const api_srv *s, const char *method, const char *path,
                 const char *body, api_resp *r) {
  if (api_call(s, method, path, ARGUS_ROLE_ADMIN, body, NULL, r) != 0)
    return 0;
  char pat[256];
  api_shape_pattern(path, pat, sizeof pat);
  char m[16];
  size_t k = 0;
  for (; method[k] && k + 1 < sizeof m; k++)
    m[k] = (char)(method[k] | 0x20);
  m[k] = '\0';
  if (g_doc && r->status >= 200 && r->status < 300 && r->size &&
      api_shape_has(g_doc, m, pat))
    api_shape_of(g_doc, method, pat, r->status, r->body);
  return r->status;
}

static void refused(const api_srv *s, const char *method, const char *path,
                    const char *body, const char *want) {
  api_resp r;
  long st = call(s, method, path, body, &r);
  CHECK_INT_EQ(st, 400);
  if (!strstr(r.body, want)) {
    fprintf(stderr, "%s %s %s\n  answer: %s\n  wanted: %s\n", method, path,
            body, r.body, want);
    CHECK(strstr(r.body, want) != NULL);
  }
  api_resp_free(&r);
}

int main(void) {
  const char *cli = getenv("ARGUS_CLI");
  if (!cli || !cli[0])
    SKIP("ARGUS_CLI is not set (run through ctest)");
  api_srv s;
  const char *extra[] = {"--no-pipeline", NULL};
  if (api_srv_start(&s, extra) != 0) {
    fprintf(stderr, "test_camera_policy_api: the server did not start\n");
    return 1;
  }
  g_doc = api_shape_doc(&s);
  CHECK(g_doc != NULL);

  refused(&s, "POST", "/api/v1/cameras",
          "{\"name\":\"square\",\"url\":\"rtsp://cam/1\",\"settings\":"
          "{\"policy\":{\"mode\":\"spy\"}}}",
          "unknown mode \\\"spy\\\"");
  refused(&s, "POST", "/api/v1/cameras",
          "{\"name\":\"square\",\"url\":\"rtsp://cam/1\",\"settings\":"
          "{\"policy\":{\"masks\":[[[0,0],[1,1]]]}}}",
          "at least 3 points, not 2");

  api_resp r;
  long st = call(&s, "POST", "/api/v1/cameras",
                 "{\"name\":\"square\",\"url\":\"rtsp://u:pw@cam/1\","
                 "\"settings\":{\"fps\":5,\"policy\":{\"mode\":\"detect\","
                 "\"masks\":[[[0,0],[100,0],[100,50]]],\"legal_ref\":\"DPIA "
                 "2026-14\"}}}",
                 &r);
  CHECK_INT_EQ(st, 201);
  cJSON *j = api_json(&r);
  api_resp_free(&r);
  const cJSON *id = cJSON_GetObjectItemCaseSensitive(j, "id");
  long long cam = cJSON_IsNumber(id) ? (long long)id->valuedouble : 0;
  CHECK(cam > 0);
  const cJSON *pol = cJSON_GetObjectItemCaseSensitive(
      cJSON_GetObjectItemCaseSensitive(j, "settings"), "policy");
  CHECK(cJSON_IsObject(pol));
  const cJSON *mode = cJSON_GetObjectItemCaseSensitive(pol, "mode");
  CHECK(cJSON_IsString(mode) && strcmp(mode->valuestring, "detect") == 0);
  cJSON_Delete(j);

  char path[128];
  snprintf(path, sizeof path, "/api/v1/cameras/%lld", cam);
  refused(&s, "PATCH", path,
          "{\"settings\":{\"policy\":{\"windows\":[{\"from\":\"2026-12-06T22:"
          "00:00Z\",\"to\":\"2026-12-06T10:00:00Z\",\"mode\":\"off\"}]}}}",
          "must be before \\\"to\\\"");
  st = call(&s, "PATCH", path,
            "{\"settings\":{\"policy\":{\"mode\":\"match\",\"windows\":[{"
            "\"from\":\"2026-12-06T10:00:00Z\",\"to\":\"2026-12-06T22:00:00Z\","
            "\"mode\":\"off\"}],\"legal_ref\":\"court order 123/26\"}}}",
            &r);
  CHECK_INT_EQ(st, 200);
  api_resp_free(&r);

  /* The audit row of the change: who, the legal reference, when. */
  st = call(&s, "GET", "/api/v1/audit?limit=5", NULL, &r);
  CHECK_INT_EQ(st, 200);
  const char *row = strstr(r.body, "camera.update");
  CHECK(row != NULL);
  printf("audit: %.1200s\n", r.body);
  CHECK(strstr(r.body, "court order 123/26") != NULL);
  CHECK(strstr(r.body, "effective") != NULL);
  CHECK(strstr(r.body, "2026-12-06T22:00:00.000Z") != NULL);
  CHECK(strstr(r.body, "DPIA 2026-14") != NULL); /* the add's */
  CHECK(strstr(r.body, api_user_name(ARGUS_ROLE_ADMIN)) != NULL);
  api_resp_free(&r);

  cJSON_Delete(g_doc);
  g_doc = NULL;
  api_srv_stop(&s);
  return check_report("test_camera_policy_api");
}
