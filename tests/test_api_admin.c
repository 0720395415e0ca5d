/* Administration over real HTTP (issue 11): users (list, create, get,
 * change role / password / disabled, delete; duplicates, short passwords,
 * unknown fields and roles refused; passwords never echoed), the last
 * enabled admin kept, API tokens (created once with the secret, usable as
 * a Bearer token, listed without it, revoked: 401), and the audit log
 * (filters by action, prefix, actor, object, time; cursor paging; only
 * auditor and admin); without models, identify and enrolment answer 503
 * no_models.
 *
 * The server runs with --no-pipeline: no models or cameras are needed. */
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

enum { ADMIN = ARGUS_ROLE_ADMIN, AUDITOR = ARGUS_ROLE_AUDITOR };

/* A call whose answer must have status `want`; the parsed body (NULL when
 * not JSON), cJSON_Delete it. */
/* The served docs/openapi.json: every JSON answer of call() to a documented
 * route, errors included, is held against it (api_shape.h). */
static cJSON *g_doc;

static cJSON *call(const api_srv *s, const char *method, const char *path,
                   int role, const char *body, long want) {
  api_resp r;
  cJSON *j = NULL;
  if (api_call(s, method, path, role, body, NULL, &r) != 0) {
    CHECK_MSG(0, "%s %s: no answer", method, path);
    return NULL;
  }
  CHECK_MSG(r.status == want, "%s %s %s: %ld (want %ld) %.400s", method, path,
            body ? body : "", r.status, want, r.body);
  char pat[256], m[16];
  api_shape_pattern(path, pat, sizeof pat);
  size_t k = 0;
  for (; method[k] && k + 1 < sizeof m; k++)
    m[k] = (char)tolower((unsigned char)method[k]);
  m[k] = '\0';
  if (g_doc && r.size && strstr(r.ctype, "application/json") &&
      api_shape_has(g_doc, m, pat))
    api_shape_of(g_doc, method, pat, r.status, r.body);
  j = api_json(&r);
  api_resp_free(&r);
  return j;
}

static const char *jstr(const cJSON *o, const char *k) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
  return cJSON_IsString(v) ? v->valuestring : NULL;
}
static int64_t jint(const cJSON *o, const char *k) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
  return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : -1;
}

/* A 400 whose message names `what`. */
static void check_400(const api_srv *s, const char *method, const char *path,
                      const char *body, const char *what) {
  api_resp r;
  if (api_call(s, method, path, ADMIN, body, NULL, &r) != 0) {
    CHECK_MSG(0, "%s %s: no answer", method, path);
    return;
  }
  cJSON *j = api_json(&r);
  const char *m = jstr(j, "message");
  CHECK_MSG(r.status == 400 && m && strstr(m, what),
            "%s %s %s: want 400 naming '%s', got %ld %.300s", method, path,
            body, what, r.status, r.body);
  cJSON_Delete(j);
  api_resp_free(&r);
}

/* The id of user `name` from GET /users (-1 when absent). */
static int64_t user_id(const api_srv *s, const char *name) {
  cJSON *j = call(s, "GET", "/api/v1/users?limit=1000", ADMIN, NULL, 200);
  int64_t id = -1;
  const cJSON *it;
  cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(j, "items")) {
    const char *n = jstr(it, "name");
    if (n && strcmp(n, name) == 0)
      id = jint(it, "id");
  }
  cJSON_Delete(j);
  return id;
}

static void test_users(const api_srv *s) {
  cJSON *j = call(s, "GET", "/api/v1/users", ADMIN, NULL, 200);
  const cJSON *items = cJSON_GetObjectItemCaseSensitive(j, "items");
  CHECK_MSG(cJSON_GetArraySize(items) == 4, "users: %d",
            cJSON_GetArraySize(items));
  CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(j, "next_cursor")));
  cJSON_Delete(j);
  /* Paging: two pages of two. */
  j = call(s, "GET", "/api/v1/users?limit=2", ADMIN, NULL, 200);
  const char *next = jstr(j, "next_cursor");
  CHECK_MSG(next != NULL, "users?limit=2: no next_cursor");
  if (next) {
    char path[128];
    snprintf(path, sizeof path, "/api/v1/users?limit=2&cursor=%s", next);
    cJSON *j2 = call(s, "GET", path, ADMIN, NULL, 200);
    CHECK_INT_EQ(
        cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j2, "items")), 2);
    CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(j2, "next_cursor")));
    cJSON_Delete(j2);
  }
  cJSON_Delete(j);

  /* Create; the password is never echoed. */
  api_resp r;
  CHECK_OK(api_call(s, "POST", "/api/v1/users", ADMIN,
                    "{\"name\":\"t-new\",\"password\":\"pw-new-123456\","
                    "\"role\":\"operator\"}",
                    NULL, &r));
  CHECK_MSG(r.status == 201, "create user: %ld %s", r.status, r.body);
  CHECK_MSG(!strstr(r.body, "pw-new-123456") && !strstr(r.body, "password"),
            "the answer shows the password: %s", r.body);
  j = api_json(&r);
  int64_t id = jint(j, "id");
  CHECK_MSG(id > 0 && jstr(j, "role") && !strcmp(jstr(j, "role"), "operator"),
            "created user: %s", r.body);
  cJSON_Delete(j);
  api_resp_free(&r);

  /* Refusals: duplicate 409, short password, unknown role, unknown and
   * mistyped fields 400 naming them. */
  cJSON_Delete(call(s, "POST", "/api/v1/users", ADMIN,
                    "{\"name\":\"t-new\",\"password\":\"pw-other-123456\","
                    "\"role\":\"auditor\"}",
                    409));
  check_400(s, "POST", "/api/v1/users",
            "{\"name\":\"t-short\",\"password\":\"short\",\"role\":"
            "\"auditor\"}",
            "password");
  check_400(s, "POST", "/api/v1/users",
            "{\"name\":\"t-emperor\",\"password\":\"pw-emperor-1234\","
            "\"role\":\"emperor\"}",
            "role");
  check_400(s, "POST", "/api/v1/users",
            "{\"name\":\"t-x\",\"password\":\"pw-x-12345678\",\"role\":"
            "\"operator\",\"shoe_size\":44}",
            "shoe_size");
  check_400(s, "POST", "/api/v1/users",
            "{\"name\":7,\"password\":\"pw-x-12345678\",\"role\":\"operator\"}",
            "name");
  CHECK(user_id(s, "t-short") < 0);
  CHECK(user_id(s, "t-emperor") < 0);
  CHECK(user_id(s, "t-x") < 0);

  /* Get, change role, reset the password, disable. */
  char path[96];
  snprintf(path, sizeof path, "/api/v1/users/%lld", (long long)id);
  j = call(s, "GET", path, ADMIN, NULL, 200);
  CHECK(jstr(j, "name") && !strcmp(jstr(j, "name"), "t-new"));
  cJSON_Delete(j);
  cJSON_Delete(call(s, "GET", "/api/v1/users/999999", ADMIN, NULL, 404));
  j = call(s, "PATCH", path, ADMIN, "{\"role\":\"auditor\"}", 200);
  CHECK(jstr(j, "role") && !strcmp(jstr(j, "role"), "auditor"));
  cJSON_Delete(j);
  check_400(s, "PATCH", path, "{\"password\":\"short\"}", "password");
  check_400(s, "PATCH", path, "{\"colour\":\"red\"}", "colour");
  check_400(s, "PATCH", path, "{\"disabled\":\"yes\"}", "disabled");
  CHECK_OK(api_call(s, "PATCH", path, ADMIN,
                    "{\"password\":\"pw-reset-654321\"}", NULL, &r));
  CHECK_MSG(r.status == 200 && !strstr(r.body, "pw-reset") &&
                !strstr(r.body, "password"),
            "password reset: %ld %s", r.status, r.body);
  api_resp_free(&r);
  char cookie[API_COOKIE_MAX], csrf[API_CSRF_MAX];
  CHECK_MSG(api_login(s, "t-new", "pw-reset-654321", cookie, csrf) == 0,
            "login with the new password failed");
  CHECK_MSG(api_login(s, "t-new", "pw-new-123456", cookie, csrf) != 0,
            "the old password still works");
  j = call(s, "PATCH", path, ADMIN, "{\"disabled\":true}", 200);
  CHECK(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "disabled")));
  cJSON_Delete(j);
  CHECK_MSG(api_login(s, "t-new", "pw-reset-654321", cookie, csrf) != 0,
            "a disabled user can log in");

  /* The last enabled admin keeps its role, stays enabled and stays. */
  int64_t admin = user_id(s, "t-admin");
  CHECK(admin > 0);
  char apath[96];
  snprintf(apath, sizeof apath, "/api/v1/users/%lld", (long long)admin);
  cJSON_Delete(call(s, "PATCH", apath, ADMIN, "{\"role\":\"operator\"}", 400));
  cJSON_Delete(call(s, "PATCH", apath, ADMIN, "{\"disabled\":true}", 400));
  cJSON_Delete(call(s, "DELETE", apath, ADMIN, NULL, 400));
  /* Several fields are one change: refused whole (the new password is not
   * set when disabling is refused). */
  cJSON_Delete(call(s, "PATCH", apath, ADMIN,
                    "{\"password\":\"pw-never-set-123\",\"disabled\":true}",
                    400));
  CHECK_MSG(api_login(s, "t-admin", "pw-never-set-123", cookie, csrf) != 0,
            "a refused PATCH changed the password");
  CHECK_MSG(api_login(s, "t-admin", api_user_password(ARGUS_ROLE_ADMIN),
                      cookie, csrf) == 0,
            "a refused PATCH changed the password");
  j = call(s, "GET", apath, ADMIN, NULL, 200);
  CHECK(jstr(j, "role") && !strcmp(jstr(j, "role"), "admin"));
  cJSON_Delete(j);

  /* Delete. */
  cJSON_Delete(call(s, "DELETE", path, ADMIN, NULL, 204));
  cJSON_Delete(call(s, "GET", path, ADMIN, NULL, 404));
  cJSON_Delete(call(s, "DELETE", path, ADMIN, NULL, 404));
  /* Only admins. */
  cJSON_Delete(call(s, "GET", "/api/v1/users", AUDITOR, NULL, 403));
  cJSON_Delete(
      call(s, "GET", "/api/v1/users", ARGUS_ROLE_SUPERVISOR, NULL, 403));
}

/* GET /auth/me with a raw token: the status. */
static long me_with(const api_srv *s, const char *token) {
  api_srv t = *s;
  snprintf(t.token[0], sizeof t.token[0], "%s", token);
  api_resp r;
  long st = -1;
  if (api_call(&t, "GET", "/api/v1/auth/me", 0, NULL, NULL, &r) == 0)
    st = r.status;
  api_resp_free(&r);
  return st;
}

static void test_tokens(const api_srv *s) {
  api_resp r;
  CHECK_OK(api_call(s, "POST", "/api/v1/tokens", ADMIN,
                    "{\"user\":\"t-operator\",\"name\":\"robot\"}", NULL, &r));
  CHECK_MSG(r.status == 201, "create token: %ld %s", r.status, r.body);
  cJSON *j = api_json(&r);
  char token[128] = "";
  const char *t = jstr(j, "token");
  if (t)
    snprintf(token, sizeof token, "%s", t);
  int64_t id = jint(j, "id");
  CHECK_MSG(strncmp(token, "argus_", 6) == 0, "token: %s", r.body);
  CHECK(jstr(j, "user") && !strcmp(jstr(j, "user"), "t-operator"));
  CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(j, "expires")));
  cJSON_Delete(j);
  api_resp_free(&r);

  /* Usable as a Bearer token, for the operator. */
  CHECK_INT_EQ(me_with(s, token), 200);
  /* Listed without the secret. */
  CHECK_OK(
      api_call(s, "GET", "/api/v1/tokens?limit=1000", ADMIN, NULL, NULL, &r));
  CHECK_INT_EQ(r.status, 200);
  CHECK_MSG(token[0] && !strstr(r.body, token) && !strstr(r.body, "\"token\""),
            "the list shows a secret: %s", r.body);
  CHECK(strstr(r.body, "\"robot\"") != NULL);
  api_resp_free(&r);
  /* Paging, newest first. */
  j = call(s, "GET", "/api/v1/tokens?limit=1", ADMIN, NULL, 200);
  const cJSON *first =
      cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "items"), 0);
  CHECK_MSG(jint(first, "id") == id, "newest token first: %lld vs %lld",
            (long long)jint(first, "id"), (long long)id);
  const char *next = jstr(j, "next_cursor");
  CHECK(next != NULL);
  if (next) {
    char path[128];
    snprintf(path, sizeof path, "/api/v1/tokens?limit=1&cursor=%s", next);
    cJSON *j2 = call(s, "GET", path, ADMIN, NULL, 200);
    const cJSON *second =
        cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j2, "items"), 0);
    CHECK(second && jint(second, "id") < id);
    cJSON_Delete(j2);
  }
  cJSON_Delete(j);

  /* By user id, with an expiry; bad input. */
  int64_t sup = user_id(s, "t-supervisor");
  char body[256];
  snprintf(body, sizeof body,
           "{\"user_id\":%lld,\"name\":\"later\",\"expires\":"
           "\"2999-01-01T00:00:00Z\"}",
           (long long)sup);
  j = call(s, "POST", "/api/v1/tokens", ADMIN, body, 201);
  CHECK(jstr(j, "expires") != NULL);
  CHECK(jstr(j, "token") != NULL && jint(j, "user_id") == sup);
  cJSON_Delete(j);
  check_400(s, "POST", "/api/v1/tokens",
            "{\"user\":\"t-operator\",\"name\":\"x\",\"expires\":\"soon\"}",
            "expires");
  check_400(s, "POST", "/api/v1/tokens",
            "{\"user\":\"nobody-here\",\"name\":\"x\"}", "user");
  check_400(s, "POST", "/api/v1/tokens",
            "{\"user\":\"t-operator\",\"name\":\"x\",\"scope\":\"all\"}",
            "scope");
  check_400(s, "POST", "/api/v1/tokens", "{\"user\":\"t-operator\"}", "name");

  /* Revoked: 401 at once. */
  char path[96];
  snprintf(path, sizeof path, "/api/v1/tokens/%lld", (long long)id);
  cJSON_Delete(call(s, "DELETE", path, ADMIN, NULL, 204));
  CHECK_INT_EQ(me_with(s, token), 401);
  cJSON_Delete(call(s, "DELETE", path, ADMIN, NULL, 404));
  cJSON_Delete(call(s, "GET", "/api/v1/tokens", AUDITOR, NULL, 403));
}

/* Every item of an audit page satisfies pred; their number. */
static int audit_all(const api_srv *s, const char *query, int role,
                     int (*pred)(const cJSON *it, const void *arg),
                     const void *arg) {
  char path[512];
  snprintf(path, sizeof path, "/api/v1/audit?%s", query);
  cJSON *j = call(s, "GET", path, role, NULL, 200);
  int n = 0;
  const cJSON *it;
  cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(j, "items")) {
    CHECK_MSG(pred(it, arg), "%s: row %s", query,
              jstr(it, "action") ? jstr(it, "action") : "?");
    n++;
  }
  cJSON_Delete(j);
  return n;
}

static int action_is(const cJSON *it, const void *arg) {
  const char *a = jstr(it, "action");
  return a && strcmp(a, arg) == 0;
}
static int action_prefix(const cJSON *it, const void *arg) {
  const char *a = jstr(it, "action");
  return a && strncmp(a, arg, strlen(arg)) == 0;
}
static int actor_is(const cJSON *it, const void *arg) {
  const char *a = jstr(it, "actor");
  return a && strcmp(a, arg) == 0;
}
static int object_is(const cJSON *it, const void *arg) {
  const char *t = jstr(it, "object_type");
  return t && strcmp(t, "user") == 0 &&
         jint(it, "object_id") == *(const int64_t *)arg;
}

static void test_audit(const api_srv *s) {
  /* The changes above are in the log. */
  int n = audit_all(s, "action=user.add&limit=1000", AUDITOR, action_is,
                    "user.add");
  CHECK_MSG(n >= 5, "user.add rows: %d", n);
  n = audit_all(s, "action=user.&limit=1000", ADMIN, action_prefix, "user.");
  CHECK_MSG(n >= 7, "user.* rows: %d", n);
  n = audit_all(s, "actor=api:t-admin&limit=1000", AUDITOR, actor_is,
                "api:t-admin");
  CHECK_MSG(n >= 3, "rows of api:t-admin: %d", n);
  int64_t sup = user_id(s, "t-supervisor");
  char q[128];
  snprintf(q, sizeof q, "object_type=user&object_id=%lld&limit=1000",
           (long long)sup);
  n = audit_all(s, q, AUDITOR, object_is, &sup);
  CHECK_MSG(n >= 1, "rows of user %lld: %d", (long long)sup, n);
  n = audit_all(s, "since=2999-01-01T00:00:00Z", AUDITOR, action_is, "");
  CHECK_INT_EQ(n, 0);
  n = audit_all(s, "until=2000-01-01T00:00:00Z", AUDITOR, action_is, "");
  CHECK_INT_EQ(n, 0);
  cJSON_Delete(
      call(s, "GET", "/api/v1/audit?since=yesterday", AUDITOR, NULL, 400));
  cJSON_Delete(call(s, "GET", "/api/v1/audit?limit=0", AUDITOR, NULL, 400));
  cJSON_Delete(call(s, "GET", "/api/v1/audit?cursor=abc", AUDITOR, NULL, 400));

  /* Paging: newest first, pages join without overlap or gap. */
  cJSON *all = call(s, "GET", "/api/v1/audit?limit=1000", AUDITOR, NULL, 200);
  const cJSON *items = cJSON_GetObjectItemCaseSensitive(all, "items");
  int total = cJSON_GetArraySize(items);
  CHECK_MSG(total >= 10, "audit rows: %d", total);
  int64_t prev = INT64_MAX;
  const cJSON *it;
  cJSON_ArrayForEach(it, items) {
    CHECK(jint(it, "id") < prev);
    prev = jint(it, "id");
    CHECK(jstr(it, "time") && jstr(it, "actor"));
    CHECK(cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(it, "detail")));
  }
  char cursor[32] = "";
  int seen = 0, pages = 0;
  for (;;) {
    char path[128];
    snprintf(path, sizeof path, "/api/v1/audit?limit=3%s%s",
             cursor[0] ? "&cursor=" : "", cursor);
    cJSON *p = call(s, "GET", path, AUDITOR, NULL, 200);
    if (!p)
      break;
    const cJSON *pi;
    cJSON_ArrayForEach(pi, cJSON_GetObjectItemCaseSensitive(p, "items")) {
      const cJSON *want = cJSON_GetArrayItem(items, seen);
      CHECK_MSG(want && jint(want, "id") == jint(pi, "id"),
                "page %d row %d: %lld", pages, seen, (long long)jint(pi, "id"));
      seen++;
    }
    pages++;
    const char *nc = jstr(p, "next_cursor");
    if (nc)
      snprintf(cursor, sizeof cursor, "%s", nc);
    cJSON_Delete(p);
    /* Rows added meanwhile would only come before the first page. */
    if (!nc || pages > 1000)
      break;
  }
  CHECK_MSG(seen == total, "paged %d rows of %d", seen, total);
  cJSON_Delete(all);

  /* Auditor and admin only. */
  cJSON_Delete(call(s, "GET", "/api/v1/audit", ARGUS_ROLE_OPERATOR, NULL, 403));
  cJSON_Delete(
      call(s, "GET", "/api/v1/audit", ARGUS_ROLE_SUPERVISOR, NULL, 403));
  cJSON_Delete(call(s, "GET", "/api/v1/audit", -1, NULL, 401));

  /* The hash chain (docs/lawful-use.md): intact, and its head anchors. */
  cJSON *v = call(s, "GET", "/api/v1/audit/verify", AUDITOR, NULL, 200);
  CHECK(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(v, "intact")));
  CHECK(jstr(v, "fault") && !strcmp(jstr(v, "fault"), "intact"));
  CHECK(jint(v, "rows") >= total);
  char vq[200];
  snprintf(vq, sizeof vq,
           "/api/v1/audit/verify?anchor_id=%lld&anchor_sha256=%s",
           (long long)jint(v, "head_id"),
           jstr(v, "head_sha256") ? jstr(v, "head_sha256") : "");
  cJSON_Delete(v);
  v = call(s, "GET", vq, ADMIN, NULL, 200);
  CHECK(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(v, "intact")));
  cJSON_Delete(v);
  cJSON_Delete(
      call(s, "GET", "/api/v1/audit/verify?anchor_id=1", AUDITOR, NULL, 400));
  cJSON_Delete(call(s, "GET", "/api/v1/audit/verify?anchor_id=1&"
                              "anchor_sha256=zz",
                    AUDITOR, NULL, 400));
  cJSON_Delete(
      call(s, "GET", "/api/v1/audit/verify", ARGUS_ROLE_OPERATOR, NULL, 403));
}

/* Without models (--no-pipeline) identify and enrolment answer 503
 * no_models; persons without photos still work. */
static void test_no_models(const api_srv *s) {
  api_resp r;
  static const char jpeg[] = "\xff\xd8\xff\xe0 not really";
  CHECK_OK(api_call_ex(s, "POST", "/api/v1/identify", ARGUS_ROLE_OPERATOR, NULL,
                       NULL, jpeg, sizeof jpeg - 1, "image/jpeg", NULL, &r));
  CHECK(api_is_error(&r, 503, "no_models"));
  api_resp_free(&r);
  static const char mp[] =
      "--b0\r\nContent-Disposition: form-data; name=\"photo\"; "
      "filename=\"a.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n"
      "\xff\xd8\xff\xe0 not really\r\n--b0--\r\n";
  CHECK_OK(api_call_ex(s, "POST", "/api/v1/photos/check", ARGUS_ROLE_SUPERVISOR,
                       NULL, NULL, mp, sizeof mp - 1,
                       "multipart/form-data; boundary=b0", NULL, &r));
  CHECK(api_is_error(&r, 503, "no_models"));
  api_resp_free(&r);
  cJSON_Delete(
      call(s, "GET", "/api/v1/persons", ARGUS_ROLE_SUPERVISOR, NULL, 200));
}

int main(void) {
  const char *cli = getenv("ARGUS_CLI");
  if (!cli || !cli[0])
    SKIP("ARGUS_CLI is not set (run through ctest)");
  api_srv s;
  const char *extra[] = {"--no-pipeline", NULL};
  if (api_srv_start(&s, extra) != 0) {
    fprintf(stderr, "test_api_admin: the server did not start\n");
    return 1;
  }
  g_doc = api_shape_doc(&s);
  CHECK(g_doc != NULL);
  test_users(&s);
  test_tokens(&s);
  test_audit(&s);
  test_no_models(&s);
  cJSON_Delete(g_doc);
  api_srv_stop(&s);
  return check_report("test_api_admin");
}
