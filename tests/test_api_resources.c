/* Cameras, watchlists, alerts and decisions over real HTTP (issue 11).
 *
 * - cameras: create (the URL's password never comes back), list with
 *   paging, get, a duplicate name (409), bad URLs (empty, unknown scheme,
 *   relative path, no host, "..", too long, not a V4L2 device), bad
 *   settings (wrong type, unknown member, not an object), unknown fields and
 *   path tricks in names (400 naming them), PATCH (settings, enabled, a
 *   rename refused), enable/disable, the snapshot of a camera that does not
 *   stream (409 not_streaming), delete; roles;
 * - watchlists: create with threshold, colour and ack_required; a duplicate
 *   name (409 conflict), a threshold out of [-1, 1] or of the wrong type,
 *   an unknown field, a bad colour, path tricks (400, nothing stored); the
 *   persons count; PATCH (threshold null, flags); delete taking its persons;
 * - alerts stored directly in the test's database (a watchlist, persons
 *   without photos, alert rows with crops): the list newest first, cursor
 *   paging without gaps or repeats, each filter (camera, watchlist, person,
 *   status, since/until) and bad parameters; one alert with threshold,
 *   track_start, crop/thumb addresses, ack_required and decisions; the crop
 *   bytes (audited with the user and the address); decisions: 201 once, a
 *   second one 409 with the first in the body, bad input, two operators
 *   racing on each of several alerts (exactly one 201 and one 409).
 *
 * The server runs with --no-pipeline: no models or cameras are needed. A
 * second server with the pipeline (when the models and ../shared/data's
 * sample video are there; else that part is skipped, said on stderr) runs
 * a camera added through the API: its live status, snapshots (JPEG,
 * scaled, audited), and disable taking it off the pipeline. */
#include <math.h>
#include <time.h>

#include "api_util.h"

#include "check.h"
#include "api_shape.h"

#define CHECK_MSG(cond, ...)                                                   \
  do {                                                                         \
    check_count_++;                                                            \
    if (!(cond)) {                                                             \
      fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                          \
      fprintf(stderr, __VA_ARGS__);                                            \
      fputc('\n', stderr);                                                     \
      check_failures_++;                                                       \
    }                                                                          \
  } while (0)

enum {
  ADM = ARGUS_ROLE_ADMIN,
  SUP = ARGUS_ROLE_SUPERVISOR,
  OPER = ARGUS_ROLE_OPERATOR,
  AUD = ARGUS_ROLE_AUDITOR
};

/* ---- helpers ------------------------------------------------------------- */

/* A call whose answer is parsed: the status, *j the body (NULL when not
 * JSON; cJSON_Delete it). */
/* The served docs/openapi.json: every 2xx JSON answer of call_json to a
 * documented route is held against it (api_shape.h). */
static cJSON *g_doc;

static long call_json(const api_srv *s, const char *method, const char *path,
                      int role, const char *body, cJSON **j) {
  api_resp r;
  *j = NULL;
  if (api_call(s, method, path, role, body, NULL, &r) != 0)
    return 0;
  long st = r.status;
  char pat[256], m[16];
  api_shape_pattern(path, pat, sizeof pat);
  size_t k = 0;
  for (; method[k] && k + 1 < sizeof m; k++)
    m[k] = (char)tolower((unsigned char)method[k]);
  m[k] = '\0';
  if (g_doc && st >= 200 && st < 300 && r.size &&
      strstr(r.ctype, "application/json") && api_shape_has(g_doc, m, pat))
    api_shape_of(g_doc, method, pat, st, r.body);
  *j = api_json(&r);
  api_resp_free(&r);
  return st;
}

/* 400 (or the status given) whose message names `what`. */
static void check_error_naming(const api_srv *s, const char *method,
                               const char *path, int role, const char *body,
                               long status, const char *code,
                               const char *what) {
  api_resp r;
  CHECK_OK(api_call(s, method, path, role, body, NULL, &r));
  CHECK_MSG(api_is_error(&r, status, code), "%s %s %s", method, path,
            body ? body : "");
  CHECK_MSG(!what || strstr(r.body, what) != NULL,
            "%s %s %s: the message does not name '%s': %s", method, path,
            body ? body : "", what, r.body);
  api_resp_free(&r);
}

static int64_t jint(const cJSON *o, const char *k) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
  return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : -1;
}

static double jnum(const cJSON *o, const char *k) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
  return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static const char *jstr(const cJSON *o, const char *k) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
  return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int jbool(const cJSON *o, const char *k) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
  return cJSON_IsBool(v) ? cJSON_IsTrue(v) : -1;
}

static int jnull(const cJSON *o, const char *k) {
  return cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, k));
}

static const cJSON *jget(const cJSON *o, const char *k) {
  return cJSON_GetObjectItemCaseSensitive(o, k);
}

/* Number of items of a page; *next the next_cursor ("" when null). */
static int page_items(const cJSON *j, char *next, size_t cap) {
  const cJSON *items = jget(j, "items");
  const cJSON *nc = jget(j, "next_cursor");
  if (next) {
    next[0] = '\0';
    if (cJSON_IsString(nc))
      snprintf(next, cap, "%s", nc->valuestring);
  }
  CHECK(cJSON_IsArray(items));
  CHECK(cJSON_IsString(nc) || cJSON_IsNull(nc));
  return cJSON_IsArray(items) ? cJSON_GetArraySize(items) : -1;
}

/* ---- cameras -------------------------------------------------------------- */

static void cameras(const api_srv *s) {
  cJSON *j;
  char next[64];
  CHECK_INT_EQ(call_json(s, "GET", "/api/v1/cameras", ADM, NULL, &j), 200);
  CHECK_INT_EQ(page_items(j, next, sizeof next), 0);
  CHECK(next[0] == '\0');
  cJSON_Delete(j);

  /* Create: 201, Location, the password never comes back. */
  api_resp r;
  CHECK_OK(api_call(s, "POST", "/api/v1/cameras", ADM,
                    "{\"name\":\"gate\",\"url\":\"rtsp://admin:s3cr3tpw@10.0."
                    "0.5/stream\",\"settings\":{\"fps\":5,\"rtsp_transport\":"
                    "\"udp\"}}",
                    NULL, &r));
  CHECK_MSG(r.status == 201, "create camera: %ld %s", r.status, r.body);
  CHECK_MSG(!strstr(r.body, "s3cr3tpw"), "password in the answer: %s", r.body);
  char loc[128] = "";
  CHECK(api_resp_header(&r, "Location", loc, sizeof loc));
  j = api_json(&r);
  api_resp_free(&r);
  int64_t gate = jint(j, "id");
  CHECK(gate > 0);
  CHECK(jstr(j, "url") && strstr(jstr(j, "url"), "10.0.0.5/stream"));
  CHECK_INT_EQ(jbool(j, "enabled"), 1);
  CHECK(jnull(j, "status")); /* no pipeline */
  CHECK_INT_EQ(jint(jget(j, "settings"), "fps"), 5);
  CHECK(jstr(j, "updated") != NULL);
  cJSON_Delete(j);
  char path[256];
  snprintf(path, sizeof path, "/api/v1/cameras/%lld", (long long)gate);
  CHECK_MSG(strstr(loc, path) != NULL, "Location '%s'", loc);

  /* Every role that sees cameras gets it, without the password. */
  const int seers[] = {ADM, SUP, OPER};
  for (int i = 0; i < 3; i++) {
    CHECK_OK(api_call(s, "GET", path, seers[i], NULL, NULL, &r));
    CHECK_INT_EQ(r.status, 200);
    CHECK(!strstr(r.body, "s3cr3tpw"));
    api_resp_free(&r);
  }
  CHECK_OK(api_call(s, "GET", "/api/v1/cameras", AUD, NULL, NULL, &r));
  CHECK(api_is_error(&r, 403, "forbidden"));
  api_resp_free(&r);
  CHECK_OK(api_call(s, "POST", "/api/v1/cameras", OPER,
                    "{\"name\":\"op-cam\",\"url\":\"rtsp://h/x\"}", NULL, &r));
  CHECK(api_is_error(&r, 403, "forbidden"));
  api_resp_free(&r);

  /* A duplicate name: 409. */
  check_error_naming(s, "POST", "/api/v1/cameras", ADM,
                     "{\"name\":\"gate\",\"url\":\"rtsp://10.0.0.6/s\"}", 409,
                     "conflict", "gate");

  /* Bad URLs, settings, fields, names: 400 naming them; nothing stored. */
  static const struct {
    const char *body, *names;
  } bad[] = {
      {"{\"name\":\"c1\",\"url\":\"\"}", "url"},
      {"{\"name\":\"c1\",\"url\":\"udp://10.0.0.1:5000\"}", "url"},
      {"{\"name\":\"c1\",\"url\":\"srt://h:1\"}", "url"},
      {"{\"name\":\"c1\",\"url\":\"videos/gate.mp4\"}", "url"},
      {"{\"name\":\"c1\",\"url\":\"rtsp://\"}", "url"},
      {"{\"name\":\"c1\",\"url\":\"http:///x\"}", "url"},
      {"{\"name\":\"c1\",\"url\":\"/data/../etc/passwd\"}", "url"},
      {"{\"name\":\"c1\",\"url\":\"file:/a/../../x.mp4\"}", "url"},
      {"{\"name\":\"c1\",\"url\":\"/dev/videoX\"}", "url"},
      {"{\"name\":\"c1\",\"url\":\"rtsp://h/a b\"}", "url"},
      {"{\"name\":\"c1\",\"url\":42}", "url"},
      {"{\"name\":\"c1\"}", "url"},
      {"{\"url\":\"rtsp://h/x\"}", "name"},
      {"{\"name\":\"c1\",\"url\":\"rtsp://h/x\",\"settings\":{\"fps\":"
       "\"fast\"}}",
       "fps"},
      {"{\"name\":\"c1\",\"url\":\"rtsp://h/x\",\"settings\":{\"fps\":0}}",
       "fps"},
      {"{\"name\":\"c1\",\"url\":\"rtsp://h/x\",\"settings\":{\"zoom\":2}}",
       "zoom"},
      {"{\"name\":\"c1\",\"url\":\"rtsp://h/x\",\"settings\":{"
       "\"rtsp_transport\":\"sctp\"}}",
       "rtsp_transport"},
      {"{\"name\":\"c1\",\"url\":\"rtsp://h/x\",\"settings\":[1]}", "settings"},
      {"{\"name\":\"c1\",\"url\":\"rtsp://h/x\",\"enabled\":\"yes\"}",
       "enabled"},
      {"{\"name\":\"c1\",\"url\":\"rtsp://h/x\",\"colour\":\"#ffffff\"}",
       "colour"},
      {"{\"name\":\"../c1\",\"url\":\"rtsp://h/x\"}", "name"},
      {"{\"name\":\"a/b\",\"url\":\"rtsp://h/x\"}", "name"},
      {"{\"name\":\"..\",\"url\":\"rtsp://h/x\"}", "name"},
      {"{\"name\":\"a\\\\b\",\"url\":\"rtsp://h/x\"}", "name"},
      {"{\"name\":\"tab\\there\",\"url\":\"rtsp://h/x\"}", "name"},
      {"{\"name\":\"\",\"url\":\"rtsp://h/x\"}", "name"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    check_error_naming(s, "POST", "/api/v1/cameras", ADM, bad[i].body, 400,
                       "bad_request", bad[i].names);
  /* A URL longer than the store takes. */
  char *longb = malloc(1400);
  if (longb) {
    char *p = longb + sprintf(longb, "{\"name\":\"c1\",\"url\":\"rtsp://h/");
    memset(p, 'x', 1100);
    strcpy(p + 1100, "\"}");
    check_error_naming(s, "POST", "/api/v1/cameras", ADM, longb, 400,
                       "bad_request", "url");
    free(longb);
  }
  CHECK_INT_EQ(call_json(s, "GET", "/api/v1/cameras", ADM, NULL, &j), 200);
  CHECK_INT_EQ(page_items(j, NULL, 0), 1);
  cJSON_Delete(j);

  /* Other accepted sources: a file, a device, https, disabled. */
  static const char *const good[] = {
      "{\"name\":\"file-cam\",\"url\":\"/srv/video/gate.mp4\"}",
      "{\"name\":\"usb\",\"url\":\"/dev/video0\",\"enabled\":false}",
      ("{\"name\":\"hls\",\"url\":\"https://cam.example/live.m3u8\","
       "\"settings\":null}"),
      "{\"name\":\"v4l\",\"url\":\"v4l2:/dev/video1\",\"settings\":{}}",
  };
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
    CHECK_OK(api_call(s, "POST", "/api/v1/cameras", ADM, good[i], NULL, &r));
    CHECK_MSG(r.status == 201, "%s: %ld %s", good[i], r.status, r.body);
    api_resp_free(&r);
  }

  /* Paging: 5 cameras by 2, in id order, no repeats. */
  int seen = 0;
  int64_t last = 0;
  char cursor[64] = "";
  for (int page = 0; page < 5; page++) {
    char p[128];
    snprintf(p, sizeof p, "/api/v1/cameras?limit=2%s%s",
             cursor[0] ? "&cursor=" : "", cursor);
    CHECK_INT_EQ(call_json(s, "GET", p, ADM, NULL, &j), 200);
    int n = page_items(j, cursor, sizeof cursor);
    const cJSON *it;
    cJSON_ArrayForEach(it, jget(j, "items")) {
      CHECK(jint(it, "id") > last);
      last = jint(it, "id");
      CHECK(jnull(it, "status"));
    }
    seen += n > 0 ? n : 0;
    cJSON_Delete(j);
    if (!cursor[0])
      break;
  }
  CHECK_INT_EQ(seen, 5);
  check_error_naming(s, "GET", "/api/v1/cameras?cursor=abc", ADM, NULL, 400,
                     "bad_request", "cursor");
  check_error_naming(s, "GET", "/api/v1/cameras?limit=1001", ADM, NULL, 400,
                     "bad_request", "limit");

  /* PATCH. */
  CHECK_INT_EQ(call_json(s, "PATCH", path, ADM, "{\"settings\":{\"fps\":2}}",
                         &j),
               200);
  CHECK_INT_EQ(jint(jget(j, "settings"), "fps"), 2);
  cJSON_Delete(j);
  CHECK_INT_EQ(call_json(s, "PATCH", path, ADM,
                         "{\"url\":\"rtsp://u:n3wpass@10.0.0.7/s\"}", &j),
               200);
  CHECK(jstr(j, "url") && strstr(jstr(j, "url"), "10.0.0.7") &&
        !strstr(jstr(j, "url"), "n3wpass"));
  cJSON_Delete(j);
  CHECK_INT_EQ(call_json(s, "PATCH", path, ADM, "{\"enabled\":false}", &j),
               200);
  CHECK_INT_EQ(jbool(j, "enabled"), 0);
  cJSON_Delete(j);
  CHECK_INT_EQ(call_json(s, "PATCH", path, ADM, "{\"name\":\"gate\"}", &j),
               200);
  cJSON_Delete(j);
  check_error_naming(s, "PATCH", path, ADM, "{\"url\":\"ftp://h/x\"}", 400,
                     "bad_request", "url");
  check_error_naming(s, "PATCH", path, ADM,
                     "{\"settings\":{\"fps\":-1}}", 400, "bad_request", "fps");
  check_error_naming(s, "PATCH", path, ADM, "{\"name\":\"gate2\"}", 400,
                     "bad_request", "name");
  check_error_naming(s, "PATCH", path, ADM, "{\"bogus\":1}", 400,
                     "bad_request", "bogus");
  check_error_naming(s, "PATCH", path, ADM, "{}", 400, "bad_request", NULL);
  check_error_naming(s, "PATCH", "/api/v1/cameras/999999", ADM,
                     "{\"enabled\":true}", 404, "not_found", NULL);
  /* Nothing of the refused changes stuck. */
  CHECK_INT_EQ(call_json(s, "GET", path, ADM, NULL, &j), 200);
  CHECK_INT_EQ(jint(jget(j, "settings"), "fps"), 2);
  CHECK(jstr(j, "url") && strstr(jstr(j, "url"), "10.0.0.7"));
  CHECK_INT_EQ(jbool(j, "enabled"), 0);
  cJSON_Delete(j);

  /* Enable / disable. */
  char ep[300];
  snprintf(ep, sizeof ep, "%s/enable", path);
  CHECK_INT_EQ(call_json(s, "POST", ep, ADM, NULL, &j), 200);
  CHECK_INT_EQ(jbool(j, "enabled"), 1);
  cJSON_Delete(j);
  CHECK_OK(api_call(s, "POST", ep, SUP, NULL, NULL, &r));
  CHECK(api_is_error(&r, 403, "forbidden"));
  api_resp_free(&r);
  snprintf(ep, sizeof ep, "%s/disable", path);
  CHECK_INT_EQ(call_json(s, "POST", ep, ADM, NULL, &j), 200);
  CHECK_INT_EQ(jbool(j, "enabled"), 0);
  cJSON_Delete(j);
  check_error_naming(s, "POST", "/api/v1/cameras/999999/enable", ADM, NULL,
                     404, "not_found", NULL);

  /* Snapshot: nothing streams without a pipeline. */
  snprintf(ep, sizeof ep, "%s/snapshot", path);
  check_error_naming(s, "GET", ep, OPER, NULL, 409, "not_streaming", "gate");
  check_error_naming(s, "GET", "/api/v1/cameras/999999/snapshot", OPER, NULL,
                     404, "not_found", NULL);
  check_error_naming(s, "GET", "/api/v1/cameras/abc/snapshot", OPER, NULL, 404,
                     "not_found", NULL);
  CHECK_OK(api_call(s, "GET", ep, SUP, NULL, NULL, &r));
  CHECK(api_is_error(&r, 403, "forbidden"));
  api_resp_free(&r);

  /* Delete. */
  CHECK_OK(api_call(s, "DELETE", path, ADM, NULL, NULL, &r));
  CHECK_INT_EQ(r.status, 204);
  api_resp_free(&r);
  check_error_naming(s, "GET", path, ADM, NULL, 404, "not_found", NULL);
  check_error_naming(s, "DELETE", path, ADM, NULL, 404, "not_found", NULL);
  check_error_naming(s, "GET", "/api/v1/cameras/abc", ADM, NULL, 404,
                     "not_found", NULL);
  CHECK_INT_EQ(call_json(s, "GET", "/api/v1/cameras?limit=1000", ADM, NULL,
                         &j),
               200);
  CHECK_INT_EQ(page_items(j, NULL, 0), 4);
  cJSON_Delete(j);
}

/* ---- watchlists ------------------------------------------------------------ */

/* The watchlist named `name` in the list (its id; 0 when absent). */
static int64_t watchlist_listed(const api_srv *s, const char *name) {
  cJSON *j;
  int64_t id = 0;
  if (call_json(s, "GET", "/api/v1/watchlists?limit=1000", SUP, NULL, &j) !=
      200) {
    cJSON_Delete(j);
    return -1;
  }
  const cJSON *it;
  cJSON_ArrayForEach(it, jget(j, "items")) {
    if (jstr(it, "name") && strcmp(jstr(it, "name"), name) == 0)
      id = jint(it, "id");
  }
  cJSON_Delete(j);
  return id;
}

static void watchlists(const api_srv *s) {
  cJSON *j;
  api_resp r;
  CHECK_OK(api_call(s, "POST", "/api/v1/watchlists", SUP,
                    "{\"name\":\"vip\",\"threshold\":0.45,\"colour\":"
                    "\"#112233\",\"ack_required\":true}",
                    NULL, &r));
  CHECK_MSG(r.status == 201, "create watchlist: %ld %s", r.status, r.body);
  j = api_json(&r);
  api_resp_free(&r);
  int64_t vip = jint(j, "id");
  CHECK(vip > 0);
  CHECK_NEAR(jnum(j, "threshold"), 0.45, 1e-9, 0);
  CHECK(jstr(j, "colour") && strcmp(jstr(j, "colour"), "#112233") == 0);
  CHECK_INT_EQ(jbool(j, "ack_required"), 1);
  CHECK_INT_EQ(jbool(j, "active"), 1);
  CHECK_INT_EQ(jint(j, "persons"), 0);
  cJSON_Delete(j);

  /* Defaults: threshold null (the model's), not pinned, active. */
  CHECK_INT_EQ(call_json(s, "POST", "/api/v1/watchlists", SUP,
                         "{\"name\":\"plain\",\"threshold\":null,"
                         "\"active\":false}",
                         &j),
               201);
  CHECK(jnull(j, "threshold"));
  CHECK_INT_EQ(jbool(j, "ack_required"), 0);
  CHECK_INT_EQ(jbool(j, "active"), 0);
  int64_t plain = jint(j, "id");
  cJSON_Delete(j);

  /* Refused: 409 for a duplicate, 400 naming the field; nothing stored. */
  check_error_naming(s, "POST", "/api/v1/watchlists", SUP,
                     "{\"name\":\"vip\"}", 409, "conflict", "vip");
  static const struct {
    const char *body, *names;
  } bad[] = {
      {"{\"name\":\"w-bad1\",\"threshold\":1.5}", "threshold"},
      {"{\"name\":\"w-bad2\",\"threshold\":-1.01}", "threshold"},
      {"{\"name\":\"w-bad3\",\"threshold\":\"high\"}", "threshold"},
      {"{\"name\":\"w-bad4\",\"bogus\":true}", "bogus"},
      {"{\"name\":\"w-bad5\",\"colour\":\"red\"}", "colour"},
      {"{\"name\":\"w-bad6\",\"ack_required\":1}", "ack_required"},
      {"{\"name\":\"w-bad7\",\"active\":\"no\"}", "active"},
      {"{\"name\":\"../w-bad8\"}", "name"},
      {"{\"name\":\"w/bad9\"}", "name"},
      {"{\"name\":\" w-bad10\"}", "name"},
      {"{\"name\":17}", "name"},
      {"{\"threshold\":0.5}", "name"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    check_error_naming(s, "POST", "/api/v1/watchlists", SUP, bad[i].body, 400,
                       "bad_request", bad[i].names);
  char nm[16];
  for (int i = 1; i <= 10; i++) {
    snprintf(nm, sizeof nm, "w-bad%d", i);
    CHECK_MSG(watchlist_listed(s, nm) == 0, "%s was stored", nm);
  }
  /* Roles. */
  CHECK_OK(api_call(s, "POST", "/api/v1/watchlists", OPER,
                    "{\"name\":\"op-wl\"}", NULL, &r));
  CHECK(api_is_error(&r, 403, "forbidden"));
  api_resp_free(&r);
  CHECK_OK(api_call(s, "POST", "/api/v1/watchlists", ADM,
                    "{\"name\":\"adm-wl\"}", NULL, &r));
  CHECK(api_is_error(&r, 403, "forbidden"));
  api_resp_free(&r);
  CHECK_OK(api_call(s, "GET", "/api/v1/watchlists", OPER, NULL, NULL, &r));
  CHECK_INT_EQ(r.status, 200);
  api_resp_free(&r);

  /* The persons count follows the store. */
  argus_store *st = NULL;
  argus_store_error err = {{0}};
  CHECK_OK(argus_store_open(s->db, NULL, &st, &err));
  argus_store_person_in p1 = {"Ada Lovelace", NULL, NULL};
  argus_store_person_in p2 = {"Grace Hopper", "gh-1", NULL};
  CHECK_OK(argus_store_person_add(st, "vip", &p1, NULL, NULL, 0, NULL, &err));
  CHECK_OK(argus_store_person_add(st, "vip", &p2, NULL, NULL, 0, NULL, &err));
  char path[128];
  snprintf(path, sizeof path, "/api/v1/watchlists/%lld", (long long)vip);
  CHECK_INT_EQ(call_json(s, "GET", path, OPER, NULL, &j), 200);
  CHECK_INT_EQ(jint(j, "persons"), 2);
  CHECK(jstr(j, "name") && strcmp(jstr(j, "name"), "vip") == 0);
  cJSON_Delete(j);
  check_error_naming(s, "GET", "/api/v1/watchlists/999999", SUP, NULL, 404,
                     "not_found", NULL);

  /* PATCH. */
  CHECK_INT_EQ(call_json(s, "PATCH", path, SUP,
                         "{\"threshold\":null,\"ack_required\":false,"
                         "\"colour\":\"#abcdef\",\"active\":false}",
                         &j),
               200);
  CHECK(jnull(j, "threshold"));
  CHECK_INT_EQ(jbool(j, "ack_required"), 0);
  CHECK_INT_EQ(jbool(j, "active"), 0);
  CHECK(jstr(j, "colour") && strcmp(jstr(j, "colour"), "#abcdef") == 0);
  cJSON_Delete(j);
  CHECK_INT_EQ(call_json(s, "PATCH", path, SUP,
                         "{\"threshold\":-0.25,\"active\":true}", &j),
               200);
  CHECK_NEAR(jnum(j, "threshold"), -0.25, 1e-9,
             0);
  CHECK_INT_EQ(jbool(j, "active"), 1);
  cJSON_Delete(j);
  check_error_naming(s, "PATCH", path, SUP,
                     "{\"threshold\":2,\"colour\":\"#000000\"}", 400,
                     "bad_request", "threshold");
  check_error_naming(s, "PATCH", path, SUP, "{\"name\":\"vip2\"}", 400,
                     "bad_request", "name");
  check_error_naming(s, "PATCH", path, SUP, "{\"persons\":3}", 400,
                     "bad_request", "persons");
  check_error_naming(s, "PATCH", path, SUP, "{}", 400, "bad_request", NULL);
  CHECK_INT_EQ(call_json(s, "GET", path, SUP, NULL, &j), 200);
  CHECK_NEAR(jnum(j, "threshold"), -0.25, 1e-9,
             0);
  CHECK(jstr(j, "colour") && strcmp(jstr(j, "colour"), "#abcdef") == 0);
  cJSON_Delete(j);
  /* fpir: the threshold from the embedder card and the size (503 when the
   * server has no face models). */
  check_error_naming(s, "PATCH", path, SUP, "{\"fpir\":2}", 400, "bad_request",
                     "fpir");
  check_error_naming(s, "PATCH", path, SUP, "{\"fpir\":0.01,\"threshold\":0.5}",
                     400, "bad_request", "fpir");
  {
    int code = call_json(s, "PATCH", path, SUP, "{\"fpir\":0.01}", &j);
    CHECK(code == 200 || code == 503);
    if (code == 200) /* FPIR 1 % over at most a few persons */
      CHECK(jnum(j, "threshold") > 0.2 && jnum(j, "threshold") < 0.5);
    cJSON_Delete(j);
    CHECK_INT_EQ(call_json(s, "PATCH", path, SUP, "{\"threshold\":-0.25}", &j),
                 200);
    cJSON_Delete(j);
  }

  /* Paging by one. */
  CHECK_INT_EQ(call_json(s, "GET", "/api/v1/watchlists?limit=1", SUP, NULL,
                         &j),
               200);
  char next[64];
  CHECK_INT_EQ(page_items(j, next, sizeof next), 1);
  CHECK(next[0] != '\0');
  cJSON_Delete(j);

  /* Delete: its persons go with it. */
  api_resp d;
  CHECK_OK(api_call(s, "DELETE", path, SUP, NULL, NULL, &d));
  CHECK_INT_EQ(d.status, 204);
  api_resp_free(&d);
  check_error_naming(s, "GET", path, SUP, NULL, 404, "not_found", NULL);
  check_error_naming(s, "DELETE", path, SUP, NULL, 404, "not_found", NULL);
  argus_store_person *ps = NULL;
  size_t np = 0;
  CHECK_INT_EQ(argus_store_person_list(st, NULL, "Ada Lovelace", &ps, &np,
                                       NULL),
               ARGUS_OK);
  CHECK_INT_EQ(np, 0);
  argus_store_free(ps);
  snprintf(path, sizeof path, "/api/v1/watchlists/%lld", (long long)plain);
  CHECK_OK(api_call(s, "DELETE", path, SUP, NULL, NULL, &d));
  CHECK_INT_EQ(d.status, 204);
  api_resp_free(&d);
  argus_store_close(st);
}

/* ---- the legal basis of a watchlist and its persons ----------------------- */

/* The server's clock is the real one: the watchlist expires a few seconds
 * after it is created, and the test waits for that. */
static void legal_basis(const api_srv *s) {
  cJSON *j;
  char exp[ARGUS_RFC3339_MAX], body[512], path[128], ppath[128];
  const int64_t exp_ns = argus_wall_ns() + (int64_t)3 * 1000000000;
  argus_rfc3339(exp_ns, exp);
  snprintf(body, sizeof body,
           "{\"name\":\"lawful\",\"purpose\":\"missing persons\","
           "\"legal_ref\":\"Order 7/2026\",\"owner\":\"Insp. Doe\","
           "\"expires\":\"%s\"}",
           exp);
  CHECK_INT_EQ(call_json(s, "POST", "/api/v1/watchlists", SUP, body, &j), 201);
  int64_t id = jint(j, "id");
  CHECK(jstr(j, "purpose") && strcmp(jstr(j, "purpose"), "missing persons") == 0);
  CHECK(jstr(j, "legal_ref") && strcmp(jstr(j, "legal_ref"), "Order 7/2026") == 0);
  CHECK(jstr(j, "owner") && strcmp(jstr(j, "owner"), "Insp. Doe") == 0);
  CHECK(jstr(j, "expires") != NULL);
  CHECK_INT_EQ(jbool(j, "expired"), 0);
  cJSON_Delete(j);
  check_error_naming(s, "POST", "/api/v1/watchlists", SUP,
                     "{\"name\":\"w-date\",\"expires\":\"2030-02-30\"}", 400,
                     "bad_request", "not a date");
  check_error_naming(s, "POST", "/api/v1/watchlists", SUP,
                     "{\"name\":\"w-past\",\"expires\":\"2020-01-01\"}", 400,
                     "bad_request", "not in the future");
  CHECK_MSG(watchlist_listed(s, "w-date") == 0, "w-date was stored");
  /* A person with a reason and a review-by date, before the expiry. */
  CHECK_INT_EQ(call_json(s, "POST", "/api/v1/persons", SUP,
                         "{\"watchlist\":\"lawful\",\"name\":\"Ann\","
                         "\"reason\":\"witness\",\"review_by\":\"2099-01-01\"}",
                         &j),
               201);
  const cJSON *pj = cJSON_GetObjectItemCaseSensitive(j, "person");
  int64_t ann = jint(pj, "id");
  CHECK(jstr(pj, "reason") && strcmp(jstr(pj, "reason"), "witness") == 0);
  CHECK(jstr(pj, "review_by") &&
        strcmp(jstr(pj, "review_by"), "2099-01-01T00:00:00.000Z") == 0);
  CHECK(jstr(pj, "review") && strcmp(jstr(pj, "review"), "ok") == 0);
  cJSON_Delete(j);
  check_error_naming(s, "POST", "/api/v1/persons", SUP,
                     "{\"watchlist\":\"lawful\",\"name\":\"Old\","
                     "\"review_by\":\"2001-01-01\"}",
                     400, "bad_request", "review_by");
  snprintf(ppath, sizeof ppath, "/api/v1/persons/%lld", (long long)ann);
  CHECK_INT_EQ(call_json(s, "PATCH", ppath, SUP, "{\"review_by\":null}", &j),
               200);
  CHECK(jnull(j, "review_by"));
  CHECK(jstr(j, "review") && strcmp(jstr(j, "review"), "none") == 0);
  cJSON_Delete(j);

  /* Expired: read-only (409), GET says so; renewal opens it again. */
  while (argus_wall_ns() < exp_ns + 100000000) {
    struct timespec ts = {0, 100000000};
    nanosleep(&ts, NULL);
  }
  snprintf(path, sizeof path, "/api/v1/watchlists/%lld", (long long)id);
  CHECK_INT_EQ(call_json(s, "GET", path, OPER, NULL, &j), 200);
  CHECK_INT_EQ(jbool(j, "expired"), 1);
  cJSON_Delete(j);
  check_error_naming(s, "PATCH", path, SUP, "{\"threshold\":0.3}", 409,
                     "read_only", "read-only");
  check_error_naming(s, "POST", "/api/v1/persons", SUP,
                     "{\"watchlist\":\"lawful\",\"name\":\"Bob\"}", 409,
                     "read_only", "read-only");
  check_error_naming(s, "PATCH", ppath, SUP, "{\"notes\":\"x\"}", 409,
                     "read_only", "read-only");
  check_error_naming(s, "PATCH", path, OPER, "{\"expires\":null}", 403,
                     "forbidden", NULL);
  CHECK_INT_EQ(call_json(s, "PATCH", path, SUP,
                         "{\"expires\":null,\"owner\":\"Insp. Roe\","
                         "\"threshold\":0.3}",
                         &j),
               200);
  CHECK(jnull(j, "expires"));
  CHECK_INT_EQ(jbool(j, "expired"), 0);
  CHECK(jstr(j, "owner") && strcmp(jstr(j, "owner"), "Insp. Roe") == 0);
  CHECK_NEAR(jnum(j, "threshold"), 0.3, 1e-9, 0);
  cJSON_Delete(j);
  CHECK_INT_EQ(call_json(s, "PATCH", ppath, SUP,
                         "{\"review_by\":\"2098-06-01T12:00:00Z\","
                         "\"reason\":\"renewed\"}",
                         &j),
               200);
  CHECK(jstr(j, "reason") && strcmp(jstr(j, "reason"), "renewed") == 0);
  cJSON_Delete(j);
  api_resp d;
  CHECK_OK(api_call(s, "DELETE", path, SUP, NULL, NULL, &d));
  CHECK_INT_EQ(d.status, 204);
  api_resp_free(&d);
}

/* ---- alerts ----------------------------------------------------------------- */

#define NALERTS 30

/* Small JPEG-looking crops (the store hashes them, never decodes). */
static const unsigned char crop_a[] = {0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10,
                                       'J',  'F',  'I',  'F',  0x00, 0x01,
                                       0x01, 0x00, 0x00, 0x01, 0xff, 0xd9};
static const unsigned char crop_b[] = {0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10,
                                       'J',  'F',  'I',  'F',  0x00, 0x01,
                                       0x01, 0x00, 0x00, 0x02, 0xff, 0xd9};

typedef struct fixture {
  int64_t ids[NALERTS]; /* in insertion order (increasing) */
  int64_t wl_ack, wl_other;
} fixture;

/* Alert i: camera cam-a (even) or cam-b (odd); watchlist "alerts-wl"
 * (person Ada) for i % 3 != 2, else "other-wl" (person Bob); time
 * 2026-01-01T00:00:ii.000Z; crop a/b; a thumbnail for i % 4 == 0. */
static int fill_alerts(const api_srv *s, fixture *fx) {
  argus_store *st = NULL;
  argus_store_error err = {{0}};
  if (argus_store_open(s->db, NULL, &st, &err) != ARGUS_OK) {
    fprintf(stderr, "open %s: %s\n", s->db, err.msg);
    return -1;
  }
  argus_store_id ada = 0, bob = 0;
  argus_store_person_in pa = {"Ada", NULL, NULL}, pb = {"Bob", NULL, NULL};
  argus_err e = argus_store_watchlist_create(st, "alerts-wl", 0.5, NULL,
                                             &fx->wl_ack, &err);
  if (!e)
    e = argus_store_watchlist_set_ack(st, "alerts-wl", 1, &err);
  if (!e)
    e = argus_store_watchlist_create(st, "other-wl", NAN, NULL, &fx->wl_other,
                                     &err);
  if (!e)
    e = argus_store_person_add(st, "alerts-wl", &pa, NULL, NULL, 0, &ada,
                               &err);
  if (!e)
    e = argus_store_person_add(st, "other-wl", &pb, NULL, NULL, 0, &bob, &err);
  for (int i = 0; !e && i < NALERTS; i++) {
    char t[64];
    snprintf(t, sizeof t, "2026-01-01T00:00:%02d.000Z", i);
    argus_store_alert_in a;
    memset(&a, 0, sizeof a);
    a.camera = i % 2 ? "cam-b" : "cam-a";
    a.time = t;
    a.media_time = 10.0 + i;
    a.track_id = 100 + i;
    int other = i % 3 == 2;
    a.watchlist_id = other ? fx->wl_other : fx->wl_ack;
    a.person_id = other ? bob : ada;
    a.score = 0.6 + i * 0.001;
    a.crop = i % 2 ? crop_b : crop_a;
    a.crop_size = sizeof crop_a;
    if (i % 4 == 0) {
      a.thumb = crop_b;
      a.thumb_size = sizeof crop_b;
    }
    a.threshold = 0.5;
    a.photo_id = 0;
    a.track_start = 9.5 + i;
    e = argus_store_alert_insert(st, &a, &fx->ids[i], &err);
  }
  argus_store_close(st);
  if (e) {
    fprintf(stderr, "fill: %s\n", err.msg);
    return -1;
  }
  return 0;
}

/* Every alert id the list gives for `query` (paged by `limit`), newest
 * first, into ids (cap); the count, -1 on a failure. Checks the order and
 * that no id repeats. */
static int list_all(const api_srv *s, const char *query, int limit,
                    int64_t *ids, int cap) {
  char cursor[64] = "";
  int n = 0;
  for (int pages = 0; pages < 100; pages++) {
    char p[512];
    snprintf(p, sizeof p, "/api/v1/alerts?limit=%d%s%s%s%s", limit,
             query[0] ? "&" : "", query, cursor[0] ? "&cursor=" : "", cursor);
    cJSON *j;
    long st = call_json(s, "GET", p, OPER, NULL, &j);
    if (st != 200) {
      fprintf(stderr, "GET %s: %ld\n", p, st);
      cJSON_Delete(j);
      return -1;
    }
    int k = page_items(j, cursor, sizeof cursor);
    CHECK_MSG(k <= limit, "page of %d for limit %d", k, limit);
    CHECK_MSG(k == limit || !cursor[0], "short page %d with a cursor", k);
    const cJSON *it;
    cJSON_ArrayForEach(it, jget(j, "items")) {
      int64_t id = jint(it, "id");
      CHECK_MSG(n == 0 || id < ids[n - 1], "order: %lld after %lld",
                (long long)id, (long long)(n ? ids[n - 1] : 0));
      if (n < cap)
        ids[n] = id;
      n++;
    }
    cJSON_Delete(j);
    if (!cursor[0])
      return n;
  }
  return -1;
}

/* The expected ids (newest first) of the alerts i for which keep(i). */
static int expect(const fixture *fx, int (*keep)(int), int64_t *out) {
  int n = 0;
  for (int i = NALERTS - 1; i >= 0; i--)
    if (keep(i))
      out[n++] = fx->ids[i];
  return n;
}

static int k_all(int i) { return i >= 0; }
static int k_cam_a(int i) { return i % 2 == 0; }
static int k_other(int i) { return i % 3 == 2; }
static int k_ada_cam_b(int i) { return i % 3 != 2 && i % 2 == 1; }
static int k_time(int i) { return i >= 5 && i < 12; }
static int k_three(int i) { return i == 3; }
static int k_decided(int i) { return i == 3 || i == 5 || (i >= 10 && i < 16); }
static int k_pending(int i) { return !k_decided(i); }

static void check_list(const api_srv *s, const fixture *fx, const char *query,
                       int limit, int (*keep)(int)) {
  int64_t got[NALERTS + 8], want[NALERTS];
  int n = list_all(s, query, limit, got, NALERTS + 8);
  int m = expect(fx, keep, want);
  CHECK_MSG(n == m, "alerts?%s (limit %d): %d alerts, want %d", query, limit,
            n, m);
  for (int i = 0; i < n && i < m; i++)
    CHECK_MSG(got[i] == want[i], "alerts?%s: [%d] %lld, want %lld", query, i,
              (long long)got[i], (long long)want[i]);
}

typedef struct racer {
  const api_srv *s;
  const char *path, *body;
  pthread_barrier_t *go;
  long status;
  char body_out[1024];
} racer;

static void *race_main(void *arg) {
  racer *rc = arg;
  pthread_barrier_wait(rc->go);
  api_resp r;
  rc->status = 0;
  if (api_call(rc->s, "POST", rc->path, OPER, rc->body, NULL, &r) == 0) {
    rc->status = r.status;
    snprintf(rc->body_out, sizeof rc->body_out, "%s", r.body);
    api_resp_free(&r);
  }
  return NULL;
}

static void alerts(const api_srv *s) {
  fixture fx;
  memset(&fx, 0, sizeof fx);
  if (fill_alerts(s, &fx) != 0) {
    CHECK_MSG(0, "could not store the test's alerts");
    return;
  }

  /* The list and its filters, newest first, with paging. */
  check_list(s, &fx, "", 50, k_all);
  check_list(s, &fx, "", 7, k_all);
  check_list(s, &fx, "", 1, k_all);
  check_list(s, &fx, "camera=cam-a", 4, k_cam_a);
  check_list(s, &fx, "watchlist=other-wl", 3, k_other);
  check_list(s, &fx, "person=Ada&camera=cam-b", 5, k_ada_cam_b);
  check_list(s, &fx,
             "since=2026-01-01T00:00:05Z&until=2026-01-01T00:00:12.000Z", 2,
             k_time);
  check_list(s, &fx, "since=2026-01-01T01:00:05%2B01:00&until=2026-01-01T00:00:"
                     "12Z",
             50, k_time);
  check_list(s, &fx, "status=pending", 50, k_all);
  cJSON *j;
  CHECK_INT_EQ(call_json(s, "GET", "/api/v1/alerts?camera=nowhere", OPER, NULL,
                         &j),
               200);
  char next[64];
  CHECK_INT_EQ(page_items(j, next, sizeof next), 0);
  CHECK(next[0] == '\0');
  cJSON_Delete(j);
  /* A full last page has no cursor when nothing follows. */
  CHECK_INT_EQ(call_json(s, "GET", "/api/v1/alerts?limit=30", OPER, NULL, &j),
               200);
  CHECK_INT_EQ(page_items(j, next, sizeof next), 30);
  CHECK(next[0] == '\0');
  cJSON_Delete(j);
  /* An item carries the store's members. */
  CHECK_INT_EQ(call_json(s, "GET", "/api/v1/alerts?limit=1", OPER, NULL, &j),
               200);
  const cJSON *first = cJSON_GetArrayItem(jget(j, "items"), 0);
  CHECK_INT_EQ(jint(first, "id"), fx.ids[NALERTS - 1]);
  CHECK(jstr(first, "camera") && jstr(first, "person") &&
        jstr(first, "status") && strcmp(jstr(first, "status"), "pending") == 0);
  CHECK_NEAR(jnum(first, "threshold"), 0.5, 1e-9,
             0);
  cJSON_Delete(j);
  /* Bad parameters. */
  check_error_naming(s, "GET", "/api/v1/alerts?status=maybe", OPER, NULL, 400,
                     "bad_request", "status");
  check_error_naming(s, "GET", "/api/v1/alerts?since=yesterday", OPER, NULL,
                     400, "bad_request", "since");
  check_error_naming(s, "GET", "/api/v1/alerts?until=2026-13-01T00:00:00Z",
                     OPER, NULL, 400, "bad_request", "until");
  check_error_naming(s, "GET", "/api/v1/alerts?cursor=-4", OPER, NULL, 400,
                     "bad_request", "cursor");
  check_error_naming(s, "GET", "/api/v1/alerts?cursor=12abc", OPER, NULL, 400,
                     "bad_request", "cursor");
  check_error_naming(s, "GET", "/api/v1/alerts?limit=1001", OPER, NULL, 400,
                     "bad_request", "limit");
  check_error_naming(s, "GET", "/api/v1/alerts?camera=", OPER, NULL, 400,
                     "bad_request", "camera");
  api_resp r;
  CHECK_OK(api_call(s, "GET", "/api/v1/alerts", AUD, NULL, NULL, &r));
  CHECK(api_is_error(&r, 403, "forbidden"));
  api_resp_free(&r);
  CHECK_OK(api_call(s, "GET", "/api/v1/alerts", SUP, NULL, NULL, &r));
  CHECK_INT_EQ(r.status, 200);
  api_resp_free(&r);

  /* One alert: alert 0 (cam-a, alerts-wl, crop a, a thumbnail). */
  char path[128];
  snprintf(path, sizeof path, "/api/v1/alerts/%lld", (long long)fx.ids[0]);
  CHECK_INT_EQ(call_json(s, "GET", path, OPER, NULL, &j), 200);
  CHECK_INT_EQ(jint(j, "id"), fx.ids[0]);
  CHECK(jstr(j, "camera") && strcmp(jstr(j, "camera"), "cam-a") == 0);
  CHECK(jstr(j, "person") && strcmp(jstr(j, "person"), "Ada") == 0);
  CHECK_NEAR(jnum(j, "threshold"), 0.5, 1e-9, 0);
  CHECK_NEAR(jnum(j, "track_start"), 9.5, 1e-6, 0);
  CHECK_NEAR(jnum(j, "score"), 0.6, 1e-4, 0);
  CHECK(jnull(j, "photo_id"));
  CHECK(jnull(j, "photo_url"));
  CHECK_INT_EQ(jbool(j, "ack_required"), 1);
  char want[160];
  snprintf(want, sizeof want, "/api/v1/alerts/%lld/crop", (long long)fx.ids[0]);
  CHECK(jstr(j, "crop_url") && strcmp(jstr(j, "crop_url"), want) == 0);
  snprintf(want, sizeof want, "/api/v1/alerts/%lld/thumb",
           (long long)fx.ids[0]);
  CHECK(jstr(j, "thumb_url") && strcmp(jstr(j, "thumb_url"), want) == 0);
  CHECK(jnull(j, "decision"));
  CHECK(cJSON_IsArray(jget(j, "decisions")) &&
        cJSON_GetArraySize(jget(j, "decisions")) == 0);
  cJSON_Delete(j);
  /* Alert 2: other-wl (not pinned), no thumbnail. */
  snprintf(path, sizeof path, "/api/v1/alerts/%lld", (long long)fx.ids[2]);
  CHECK_INT_EQ(call_json(s, "GET", path, SUP, NULL, &j), 200);
  CHECK_INT_EQ(jbool(j, "ack_required"), 0);
  CHECK(jnull(j, "thumb_url"));
  cJSON_Delete(j);
  check_error_naming(s, "GET", "/api/v1/alerts/999999", OPER, NULL, 404,
                     "not_found", NULL);
  check_error_naming(s, "GET", "/api/v1/alerts/x1", OPER, NULL, 404,
                     "not_found", NULL);

  /* Crop and thumbnail bytes; audited with the user and the address. */
  snprintf(path, sizeof path, "/api/v1/alerts/%lld/crop", (long long)fx.ids[1]);
  CHECK_OK(api_call(s, "GET", path, OPER, NULL, NULL, &r));
  CHECK_INT_EQ(r.status, 200);
  CHECK(strstr(r.ctype, "image/jpeg") != NULL);
  CHECK(r.size == sizeof crop_b && memcmp(r.body, crop_b, r.size) == 0);
  api_resp_free(&r);
  snprintf(path, sizeof path, "/api/v1/alerts/%lld/thumb",
           (long long)fx.ids[4]);
  CHECK_OK(api_call(s, "GET", path, OPER, NULL, NULL, &r));
  CHECK_INT_EQ(r.status, 200);
  CHECK(r.size == sizeof crop_b && memcmp(r.body, crop_b, r.size) == 0);
  api_resp_free(&r);
  snprintf(path, sizeof path, "/api/v1/alerts/%lld/thumb",
           (long long)fx.ids[1]);
  check_error_naming(s, "GET", path, OPER, NULL, 404, "not_found", "thumbnail");
  check_error_naming(s, "GET", "/api/v1/alerts/999999/crop", OPER, NULL, 404,
                     "not_found", NULL);
  snprintf(path, sizeof path, "/api/v1/alerts/%lld/crop", (long long)fx.ids[1]);
  CHECK_OK(api_call(s, "GET", path, AUD, NULL, NULL, &r));
  CHECK(api_is_error(&r, 403, "forbidden"));
  api_resp_free(&r);
  {
    argus_store *st = NULL;
    CHECK_OK(argus_store_open(s->db, NULL, &st, NULL));
    argus_store_audit_filter f;
    memset(&f, 0, sizeof f);
    f.action = "alert.crop";
    f.object_id = fx.ids[1];
    argus_store_audit *a = NULL;
    size_t n = 0;
    CHECK_OK(argus_store_audit_query(st, &f, &a, &n, NULL));
    CHECK_INT_EQ(n, 1);
    if (n)
      CHECK_MSG(strstr(a[0].detail, "t-operator") &&
                    strstr(a[0].detail, "127.0.0.1"),
                "crop audit: %s", a[0].detail);
    argus_store_free(a);
    argus_store_close(st);
  }

  /* A decision: 201 once; a second one 409 with the first in the body. */
  char dp[128];
  snprintf(dp, sizeof dp, "/api/v1/alerts/%lld/decision",
           (long long)fx.ids[3]);
  CHECK_OK(api_call(s, "POST", dp, OPER,
                    "{\"decision\":\"confirmed\",\"comment\":\"it is Ada\"}",
                    NULL, &r));
  CHECK_MSG(r.status == 201, "decision: %ld %s", r.status, r.body);
  j = api_json(&r);
  api_resp_free(&r);
  CHECK(jstr(j, "decision") && strcmp(jstr(j, "decision"), "confirmed") == 0);
  CHECK(jstr(j, "operator") && strcmp(jstr(j, "operator"), "t-operator") == 0);
  CHECK(jstr(j, "comment") && strcmp(jstr(j, "comment"), "it is Ada") == 0);
  CHECK_INT_EQ(jint(j, "alert_id"), fx.ids[3]);
  CHECK(jstr(j, "time") != NULL);
  int64_t did = jint(j, "id");
  cJSON_Delete(j);
  CHECK_OK(api_call(s, "POST", dp, OPER, "{\"decision\":\"rejected\"}", NULL,
                    &r));
  CHECK(api_is_error(&r, 409, "conflict"));
  j = api_json(&r);
  api_resp_free(&r);
  const cJSON *dj = jget(j, "decision");
  CHECK(cJSON_IsObject(dj));
  CHECK_INT_EQ(jint(dj, "id"), did);
  CHECK(jstr(dj, "decision") && strcmp(jstr(dj, "decision"), "confirmed") == 0);
  CHECK(jstr(dj, "operator") && strcmp(jstr(dj, "operator"), "t-operator") ==
                                    0);
  cJSON_Delete(j);
  snprintf(path, sizeof path, "/api/v1/alerts/%lld", (long long)fx.ids[3]);
  CHECK_INT_EQ(call_json(s, "GET", path, OPER, NULL, &j), 200);
  CHECK(jstr(j, "status") && strcmp(jstr(j, "status"), "confirmed") == 0);
  CHECK_INT_EQ(cJSON_GetArraySize(jget(j, "decisions")), 1);
  CHECK_INT_EQ(jint(jget(j, "decision"), "id"), did);
  cJSON_Delete(j);
  check_list(s, &fx, "status=confirmed", 50, k_three);
  /* Bad decisions: 400 naming the field (nothing decided), 404, 403. */
  snprintf(dp, sizeof dp, "/api/v1/alerts/%lld/decision",
           (long long)fx.ids[5]);
  check_error_naming(s, "POST", dp, OPER, "{\"decision\":\"maybe\"}", 400,
                     "bad_request", "decision");
  check_error_naming(s, "POST", dp, OPER, "{\"decision\":\"pending\"}", 400,
                     "bad_request", "decision");
  check_error_naming(s, "POST", dp, OPER, "{\"comment\":\"x\"}", 400,
                     "bad_request", "decision");
  check_error_naming(s, "POST", dp, OPER,
                     "{\"decision\":\"rejected\",\"by\":\"me\"}", 400,
                     "bad_request", "by");
  check_error_naming(s, "POST", dp, OPER,
                     "{\"decision\":\"rejected\",\"comment\":7}", 400,
                     "bad_request", "comment");
  char *longc = malloc(1200);
  if (longc) {
    char *p = longc + sprintf(longc, "{\"decision\":\"rejected\",\"comment\":\"");
    memset(p, 'c', 1024);
    strcpy(p + 1024, "\"}");
    check_error_naming(s, "POST", dp, OPER, longc, 400, "bad_request",
                       "comment");
    free(longc);
  }
  check_error_naming(s, "POST", "/api/v1/alerts/999999/decision", OPER,
                     "{\"decision\":\"rejected\"}", 404, "not_found", NULL);
  CHECK_OK(api_call(s, "POST", dp, SUP, "{\"decision\":\"rejected\"}", NULL,
                    &r));
  CHECK(api_is_error(&r, 403, "forbidden"));
  api_resp_free(&r);
  snprintf(path, sizeof path, "/api/v1/alerts/%lld", (long long)fx.ids[5]);
  CHECK_INT_EQ(call_json(s, "GET", path, OPER, NULL, &j), 200);
  CHECK(jstr(j, "status") && strcmp(jstr(j, "status"), "pending") == 0);
  cJSON_Delete(j);
  /* A comment up to 1023 bytes is taken. */
  char *okc = malloc(1200);
  if (okc) {
    char *p = okc + sprintf(okc, "{\"decision\":\"rejected\",\"comment\":\"");
    memset(p, 'c', 1023);
    strcpy(p + 1023, "\"}");
    CHECK_OK(api_call(s, "POST", dp, OPER, okc, NULL, &r));
    CHECK_MSG(r.status == 201, "1023-byte comment: %ld", r.status);
    api_resp_free(&r);
    free(okc);
  }

  /* Two operators racing on each of several alerts: one wins. */
  for (int k = 10; k < 16; k++) {
    snprintf(dp, sizeof dp, "/api/v1/alerts/%lld/decision",
             (long long)fx.ids[k]);
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, 2);
    racer rc[2] = {{s, dp, "{\"decision\":\"confirmed\"}", &go, 0, ""},
                   {s, dp, "{\"decision\":\"rejected\"}", &go, 0, ""}};
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
      pthread_create(&th[i], NULL, race_main, &rc[i]);
    for (int i = 0; i < 2; i++)
      pthread_join(th[i], NULL);
    pthread_barrier_destroy(&go);
    int wins = (rc[0].status == 201) + (rc[1].status == 201);
    int conflicts = (rc[0].status == 409) + (rc[1].status == 409);
    CHECK_MSG(wins == 1 && conflicts == 1, "race on alert %lld: %ld and %ld",
              (long long)fx.ids[k], rc[0].status, rc[1].status);
    /* The loser is told the winner's decision. */
    int w = rc[0].status == 201 ? 0 : 1;
    cJSON *win = cJSON_Parse(rc[w].body_out);
    cJSON *lose = cJSON_Parse(rc[1 - w].body_out);
    const cJSON *ld = jget(lose, "decision");
    CHECK_MSG(win && ld && jint(win, "id") == jint(ld, "id") &&
                  jstr(win, "decision") && jstr(ld, "decision") &&
                  strcmp(jstr(win, "decision"), jstr(ld, "decision")) == 0,
              "race: winner %s, loser %s", rc[w].body_out,
              rc[1 - w].body_out);
    cJSON_Delete(win);
    cJSON_Delete(lose);
  }
  /* Decided alerts leave the pending list. */
  check_list(s, &fx, "status=pending", 6, k_pending);
  int64_t ids[NALERTS];
  int nc = list_all(s, "status=confirmed", 50, ids, NALERTS);
  int nr = list_all(s, "status=rejected", 3, ids, NALERTS);
  CHECK_MSG(nc + nr == 8, "decided: %d confirmed + %d rejected", nc, nr);
}

/* ---- a camera the pipeline runs ---------------------------------------------- */

/* Polls GET path until the camera's status is (want 1) or is not (want 0)
 * an object with state `state` (NULL: any); 1 when it came in time. */
static int wait_status(const api_srv *s, const char *path, int want,
                       const char *state, double timeout) {
  for (double t = 0; t < timeout; t += 0.2) {
    cJSON *j;
    int ok = 0;
    if (call_json(s, "GET", path, ADM, NULL, &j) == 200) {
      const cJSON *st = jget(j, "status");
      int is = cJSON_IsObject(st) &&
               (!state || (jstr(st, "state") &&
                           strcmp(jstr(st, "state"), state) == 0));
      ok = is == want;
    }
    cJSON_Delete(j);
    if (ok)
      return 1;
    api_sleep_(0.2);
  }
  return 0;
}

static void live_camera(void) {
  const char *models = getenv("ARGUS_MODELS_DIR");
  const char *shared = getenv("ARGUS_SHARED_DATA");
  char probe[1200], video[1200];
  snprintf(probe, sizeof probe, "%s/fr_feature.onnx",
           models ? models : "models");
  snprintf(video, sizeof video, "%s/video/hamilton_clip_10s.mp4",
           shared ? shared : "../shared/data");
  char *abs = realpath(video, NULL);
  if (access(probe, R_OK) != 0 || !abs) {
    fprintf(stderr, "test_api_resources: live camera part skipped (no models "
                    "or no %s)\n",
            video);
    free(abs);
    return;
  }
  api_srv s;
  const char *extra[] = {"--loop", "--threads", "1", "--fps", "2", NULL};
  if (api_srv_start(&s, extra) != 0) {
    CHECK_MSG(0, "the server with a pipeline did not start");
    free(abs);
    return;
  }
  char body[1600];
  snprintf(body, sizeof body,
           "{\"name\":\"hamilton\",\"url\":\"%s\",\"settings\":{\"fps\":2}}",
           abs);
  free(abs);
  cJSON *j;
  CHECK_INT_EQ(call_json(&s, "POST", "/api/v1/cameras", ADM, body, &j), 201);
  int64_t id = jint(j, "id");
  cJSON_Delete(j);
  char path[128], snap[160];
  snprintf(path, sizeof path, "/api/v1/cameras/%lld", (long long)id);
  snprintf(snap, sizeof snap, "%s/snapshot", path);
  CHECK_MSG(wait_status(&s, path, 1, "streaming", 60),
            "camera never streamed");
  CHECK_INT_EQ(call_json(&s, "GET", "/api/v1/cameras", OPER, NULL, &j), 200);
  const cJSON *st = jget(cJSON_GetArrayItem(jget(j, "items"), 0), "status");
  CHECK(cJSON_IsObject(st));
  CHECK_INT_EQ(jbool(st, "connected"), 1);
  CHECK(jint(st, "frames_decoded") >= 0 && jint(st, "alerts") >= 0);
  CHECK(cJSON_IsNumber(jget(st, "fps_in")));
  cJSON_Delete(j);

  /* Snapshots: a JPEG, full size and scaled; audited. */
  api_resp r;
  CHECK_OK(api_call(&s, "GET", snap, OPER, NULL, NULL, &r));
  CHECK_MSG(r.status == 200 && strstr(r.ctype, "image/jpeg") && r.size > 100 &&
                (unsigned char)r.body[0] == 0xff &&
                (unsigned char)r.body[1] == 0xd8,
            "snapshot: %ld %s %zu", r.status, r.ctype, r.size);
  size_t full = r.size;
  api_resp_free(&r);
  char small[200];
  snprintf(small, sizeof small, "%s?width=160", snap);
  CHECK_OK(api_call(&s, "GET", small, ADM, NULL, NULL, &r));
  CHECK_MSG(r.status == 200 && r.size > 100 && r.size < full,
            "scaled snapshot: %ld %zu (full %zu)", r.status, r.size, full);
  api_resp_free(&r);
  snprintf(small, sizeof small, "%s?width=-1", snap);
  check_error_naming(&s, "GET", small, ADM, NULL, 400, "bad_request", "width");
  argus_store *db = NULL;
  if (argus_store_open(s.db, NULL, &db, NULL) == ARGUS_OK) {
    argus_store_audit_filter f;
    memset(&f, 0, sizeof f);
    f.action = "camera.snapshot";
    argus_store_audit *a = NULL;
    size_t n = 0;
    CHECK_OK(argus_store_audit_query(db, &f, &a, &n, NULL));
    CHECK_INT_EQ(n, 2);
    if (n)
      CHECK_MSG(strstr(a[n - 1].detail, "t-operator") &&
                    strstr(a[n - 1].detail, "127.0.0.1"),
                "snapshot audit: %s", a[n - 1].detail);
    argus_store_free(a);
    argus_store_close(db);
  }

  /* Disabled: off the pipeline, no snapshot. */
  char dis[160];
  snprintf(dis, sizeof dis, "%s/disable", path);
  CHECK_INT_EQ(call_json(&s, "POST", dis, ADM, NULL, &j), 200);
  cJSON_Delete(j);
  CHECK_MSG(wait_status(&s, path, 0, NULL, 20), "disabled camera still runs");
  check_error_naming(&s, "GET", snap, OPER, NULL, 409, "not_streaming",
                     "hamilton");
  api_srv_stop(&s);
}

int main(void) {
  const char *cli = getenv("ARGUS_CLI");
  if (!cli || !cli[0])
    SKIP("ARGUS_CLI is not set (run through ctest)");
  api_srv s;
  const char *extra[] = {"--no-pipeline", NULL};
  if (api_srv_start(&s, extra) != 0) {
    fprintf(stderr, "test_api_resources: the server did not start\n");
    return 1;
  }
  g_doc = api_shape_doc(&s);
  CHECK(g_doc != NULL);
  cameras(&s);
  watchlists(&s);
  legal_basis(&s);
  alerts(&s);
  cJSON_Delete(g_doc);
  g_doc = NULL;
  api_srv_stop(&s);
  live_camera();
  return check_report("test_api_resources");
}
