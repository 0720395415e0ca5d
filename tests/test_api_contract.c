/* The operator service's contract, over real HTTP on loopback (issue 11):
 *
 * - the route table (src/api/routes.c) and docs/openapi.json name the same
 *   method+path pairs with the same roles (x-argus-roles), and the server
 *   serves exactly that file at /api/v1/openapi.json;
 * - response shapes: one real answer per resource (and a few error answers)
 *   held against the schema the document gives for its route and status
 *   (types, required members, no undocumented member; check_shapes);
 * - the whole role x route matrix: every role the table allows is let
 *   through (not 401/403), every other role gets 403, no credentials 401;
 *   public routes never answer 401/403 (ids that do not exist, so nothing
 *   changes);
 * - bad input: a body over --max-body (413, and the server keeps serving),
 *   malformed JSON, unknown and mistyped fields (400 naming them), unknown
 *   ids (404), wrong methods (405 with Allow), path tricks (400/404, never
 *   a file), a client sending its header one byte a second (closed after
 *   --timeout while others are served), more event-stream clients than
 *   --max-event-clients (503), a broken multipart part (nothing stored);
 *   every error is JSON {error, message};
 * - sessions: the cookie's flags (HttpOnly, SameSite=Strict; Secure only
 *   under TLS), CSRF on state-changing requests, logout, the login rate
 *   limit (429 with Retry-After);
 * - the first start (no users): 503 setup_required except /healthz and
 *   /api/v1/setup;
 * - HTTPS with a self-signed certificate made by openssl (skipped, said on
 *   stderr, when openssl is absent).
 *
 * The servers run with --no-pipeline: no models or cameras are needed. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "api_util.h"

#include "api/api_internal.h"
#include "check.h"
#include "api_shape.h"

static const char *const k_methods[] = {"get",   "put",  "post",    "delete",
                                        "patch", "head", "options", "trace"};

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

static char *slurp(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  char *buf = NULL;
  size_t cap = 0, len = 0;
  for (;;) {
    if (len + 4096 + 1 > cap) {
      cap = cap ? cap * 2 : 65536;
      char *p = realloc(buf, cap);
      if (!p) {
        free(buf);
        fclose(f);
        return NULL;
      }
      buf = p;
    }
    size_t got = fread(buf + len, 1, cap - len - 1, f);
    len += got;
    if (got == 0)
      break;
  }
  fclose(f);
  buf[len] = '\0';
  *n = len;
  return buf;
}

static int has_ci(const char *hay, const char *needle) {
  return hay && api_strcasestr_(hay, needle) != NULL;
}

/* The route's path with every {param} replaced by `id`. */
static void route_path(const api_route *rt, const char *id, char *out,
                       size_t cap) {
  size_t o = 0;
  for (const char *p = rt->pattern; *p && o + 1 < cap;) {
    if (*p == '{') {
      const char *e = strchr(p, '}');
      for (const char *c = id; *c && o + 1 < cap; c++)
        out[o++] = *c;
      p = e ? e + 1 : p + strlen(p);
    } else
      out[o++] = *p++;
  }
  out[o] = '\0';
}

static unsigned roles_of(const cJSON *arr, int *ok) {
  unsigned bits = 0;
  *ok = cJSON_IsArray(arr);
  const cJSON *e;
  cJSON_ArrayForEach(e, arr) {
    int found = 0;
    for (int r = 0; r < 4; r++)
      if (cJSON_IsString(e) && strcmp(e->valuestring, api_role_name(r)) == 0) {
        bits |= 1u << r;
        found = 1;
      }
    if (!found)
      *ok = 0;
  }
  return bits;
}

static void lower(const char *in, char *out, size_t cap) {
  size_t i = 0;
  for (; in[i] && i + 1 < cap; i++)
    out[i] = (char)tolower((unsigned char)in[i]);
  out[i] = '\0';
}

/* ---- raw sockets --------------------------------------------------------- */

static int raw_connect(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    return -1;
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

static int raw_send(int fd, const char *s, size_t n) {
  while (n > 0) {
    ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return -1;
    s += w;
    n -= (size_t)w;
  }
  return 0;
}

/* Reads into buf until `until` appears (NULL: until the peer closes) or
 * timeout_s passes; returns the bytes read (NUL-terminated). *closed is set
 * when the peer closed. */
static size_t raw_read(int fd, char *buf, size_t cap, const char *until,
                       double timeout_s, int *closed) {
  size_t n = 0;
  double t_end = api_now_() + timeout_s;
  if (closed)
    *closed = 0;
  buf[0] = '\0';
  while (n + 1 < cap) {
    if (until && strstr(buf, until))
      break;
    double left = t_end - api_now_();
    if (left <= 0)
      break;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int pr = poll(&p, 1, (int)(left * 1000) + 1);
    if (pr <= 0)
      continue;
    ssize_t got = recv(fd, buf + n, cap - n - 1, 0);
    if (got <= 0) {
      if (closed)
        *closed = 1;
      break;
    }
    n += (size_t)got;
    buf[n] = '\0';
  }
  return n;
}

/* The status of a raw HTTP answer ("HTTP/1.1 200 OK"), 0 when none. */
static int raw_status(const char *buf) {
  if (strncmp(buf, "HTTP/1.", 7) != 0 || strlen(buf) < 12)
    return 0;
  return (int)strtol(buf + 9, NULL, 10);
}

/* Opens an event stream with role's token; returns the socket once the
 * answer's header came (*status set), or -1. */
static int open_stream(const api_srv *s, int role, int *status, char *buf,
                       size_t cap) {
  int fd = raw_connect(s->port);
  *status = 0;
  if (fd < 0)
    return -1;
  char req[512];
  snprintf(req, sizeof req,
           "GET /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
           "Accept: text/event-stream\r\n%s%s%s\r\n",
           role >= 0 ? "Authorization: Bearer " : "",
           role >= 0 ? s->token[role] : "", role >= 0 ? "\r\n" : "");
  if (raw_send(fd, req, strlen(req)) != 0) {
    close(fd);
    return -1;
  }
  raw_read(fd, buf, cap, "\r\n\r\n", 10, NULL);
  *status = raw_status(buf);
  return fd;
}

/* ---- the document against the route table and the server ---------------- */

static void check_document(const api_srv *s) {
  const char *src = getenv("ARGUS_SOURCE_DIR");
  char path[1024];
  snprintf(path, sizeof path, "%s/docs/openapi.json", src ? src : ".");
  size_t n = 0;
  char *text = slurp(path, &n);
  CHECK_MSG(text != NULL, "cannot read %s", path);
  if (!text)
    return;

  /* The server serves the same bytes. */
  api_resp r;
  CHECK_OK(api_call(s, "GET", "/api/v1/openapi.json", -1, NULL, NULL, &r));
  CHECK_INT_EQ(r.status, 200);
  CHECK_MSG(strstr(r.ctype, "application/json") != NULL,
            "openapi.json content type '%s'", r.ctype);
  CHECK_MSG(r.size == n && memcmp(r.body, text, n) == 0,
            "/api/v1/openapi.json (%zu bytes) differs from %s (%zu bytes)",
            r.size, path, n);
  api_resp_free(&r);

  cJSON *doc = cJSON_ParseWithLength(text, n);
  CHECK_MSG(doc != NULL, "%s is not valid JSON", path);
  free(text);
  if (!doc)
    return;
  const cJSON *ver = cJSON_GetObjectItemCaseSensitive(doc, "openapi");
  CHECK_MSG(cJSON_IsString(ver) && strncmp(ver->valuestring, "3.1", 3) == 0,
            "openapi version is not 3.1.x");
  const cJSON *paths = cJSON_GetObjectItemCaseSensitive(doc, "paths");
  CHECK(cJSON_IsObject(paths));

  /* Every route is documented, with its roles. */
  for (size_t i = 0; i < api_nroutes; i++) {
    const api_route *rt = &api_routes[i];
    char m[16];
    lower(rt->method, m, sizeof m);
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(paths, rt->pattern);
    const cJSON *op = item ? cJSON_GetObjectItemCaseSensitive(item, m) : NULL;
    CHECK_MSG(op != NULL, "route %s %s is not in docs/openapi.json", rt->method,
              rt->pattern);
    if (!op)
      continue;
    int ok = 0;
    unsigned bits =
        roles_of(cJSON_GetObjectItemCaseSensitive(op, "x-argus-roles"), &ok);
    CHECK_MSG(ok, "%s %s: x-argus-roles missing or naming an unknown role",
              rt->method, rt->pattern);
    CHECK_MSG(bits == rt->roles,
              "%s %s: x-argus-roles bits 0x%x, the route table 0x%x",
              rt->method, rt->pattern, bits, rt->roles);
    CHECK_MSG(cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(op, "responses")),
              "%s %s: no responses", rt->method, rt->pattern);
    /* Public operations say so: security []. */
    const cJSON *sec = cJSON_GetObjectItemCaseSensitive(op, "security");
    if (rt->roles == API_R_PUBLIC)
      CHECK_MSG(cJSON_IsArray(sec) && cJSON_GetArraySize(sec) == 0,
                "%s %s: public but security is not []", rt->method,
                rt->pattern);
    else
      CHECK_MSG(!sec || cJSON_GetArraySize(sec) > 0,
                "%s %s: needs a login but security is []", rt->method,
                rt->pattern);
  }

  /* Every documented operation exists; path parameters are declared. */
  const cJSON *item;
  cJSON_ArrayForEach(item, paths) {
    for (size_t k = 0; k < sizeof k_methods / sizeof k_methods[0]; k++) {
      const cJSON *op = cJSON_GetObjectItemCaseSensitive(item, k_methods[k]);
      if (!op)
        continue;
      int found = 0;
      for (size_t i = 0; i < api_nroutes && !found; i++) {
        char m[16];
        lower(api_routes[i].method, m, sizeof m);
        found = strcmp(m, k_methods[k]) == 0 &&
                strcmp(api_routes[i].pattern, item->string) == 0;
      }
      CHECK_MSG(found, "docs/openapi.json has %s %s, the server has not",
                k_methods[k], item->string);
      /* Each {name} of the path has an "in": "path" parameter. */
      for (const char *p = strchr(item->string, '{'); p;
           p = strchr(p + 1, '{')) {
        const char *e = strchr(p, '}');
        if (!e)
          break;
        char name[64];
        size_t nl = (size_t)(e - p - 1);
        if (nl >= sizeof name)
          nl = sizeof name - 1;
        memcpy(name, p + 1, nl);
        name[nl] = '\0';
        int declared = 0;
        const cJSON *prm;
        const cJSON *params[2] = {
            cJSON_GetObjectItemCaseSensitive(op, "parameters"),
            cJSON_GetObjectItemCaseSensitive(item, "parameters")};
        for (int pi = 0; pi < 2; pi++)
          cJSON_ArrayForEach(prm, params[pi]) {
            const cJSON *pn = cJSON_GetObjectItemCaseSensitive(prm, "name");
            const cJSON *pin = cJSON_GetObjectItemCaseSensitive(prm, "in");
            if (cJSON_IsString(pn) && cJSON_IsString(pin) &&
                strcmp(pn->valuestring, name) == 0 &&
                strcmp(pin->valuestring, "path") == 0)
              declared = 1;
          }
        CHECK_MSG(declared, "%s %s: path parameter {%s} not declared",
                  k_methods[k], item->string, name);
      }
    }
  }
  cJSON_Delete(doc);
}

/* ---- response shapes against the document (api_shape.h) ------------------ */

/* Calls `method path` as `role` and checks the answer's shape against the
 * document's `pattern`; the answer's "id" (0: none). */
static long long shape_call(const api_srv *s, const cJSON *doc,
                            const char *method, const char *pattern,
                            const char *path, int role, const char *body,
                            const char *ctype, long want) {
  api_resp r;
  long long id = 0;
  if (api_call(s, method, path, role, body, ctype, &r) != 0) {
    CHECK_MSG(0, "%s %s: no answer", method, path);
    return 0;
  }
  CHECK_MSG(want == 0 || r.status == want, "%s %s: %ld (want %ld) %s", method,
            path, r.status, want, r.body);
  api_shape_of(doc, method, pattern, r.status, r.body);
  cJSON *j = api_json(&r);
  const cJSON *idv = cJSON_GetObjectItemCaseSensitive(j, "id");
  if (!cJSON_IsNumber(idv)) /* POST /persons: {"person": {...}} */
    idv = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(j, "person"), "id");
  if (cJSON_IsNumber(idv))
    id = (long long)idv->valuedouble;
  cJSON_Delete(j);
  api_resp_free(&r);
  return id;
}

/* One answer per resource (and the error answers a console meets first)
 * against the document. */
static void check_shapes(const api_srv *s) {
  const int adm = ARGUS_ROLE_ADMIN, sup = ARGUS_ROLE_SUPERVISOR,
            op = ARGUS_ROLE_OPERATOR, aud = ARGUS_ROLE_AUDITOR;
  cJSON *doc = api_shape_doc(s);
  CHECK(doc != NULL);
  if (!doc)
    return;
  char path[256];
#define P_ "/api/v1"
  shape_call(s, doc, "GET", "/healthz", "/healthz", -1, NULL, NULL, 200);
  shape_call(s, doc, "GET", P_ "/setup", P_ "/setup", -1, NULL, NULL, 200);
  shape_call(s, doc, "GET", P_ "/auth/me", P_ "/auth/me", op, NULL, NULL,
             200);
  /* Watchlists. */
  long long wl = shape_call(s, doc, "POST", P_ "/watchlists", P_ "/watchlists",
                            sup, "{\"name\":\"shape-wl\",\"colour\":\"#aa0011\"}",
                            NULL, 201);
  shape_call(s, doc, "GET", P_ "/watchlists", P_ "/watchlists", op, NULL, NULL,
             200);
  snprintf(path, sizeof path, P_ "/watchlists/%lld", wl);
  shape_call(s, doc, "PATCH", P_ "/watchlists/{id}", path, sup,
             "{\"threshold\":0.5}", NULL, 200);
  shape_call(s, doc, "GET", P_ "/watchlists/{id}", path, op, NULL, NULL, 200);
  /* Cameras (no pipeline: status null, the snapshot 409). */
  long long cam = shape_call(
      s, doc, "POST", P_ "/cameras", P_ "/cameras", adm,
      "{\"name\":\"shape-cam\",\"url\":\"/nonexistent/shape.mp4\","
      "\"settings\":{\"fps\":5},\"enabled\":false}",
      NULL, 201);
  shape_call(s, doc, "GET", P_ "/cameras", P_ "/cameras", op, NULL, NULL, 200);
  snprintf(path, sizeof path, P_ "/cameras/%lld", cam);
  shape_call(s, doc, "GET", P_ "/cameras/{id}", path, op, NULL, NULL, 200);
  snprintf(path, sizeof path, P_ "/cameras/%lld/snapshot", cam);
  shape_call(s, doc, "GET", P_ "/cameras/{id}/snapshot", path, op, NULL, NULL,
             409);
  /* Persons and photos (without models the upload is 503 no_models; with
   * them a part that is not an image is refused: 422). */
  long long pid = shape_call(
      s, doc, "POST", P_ "/persons", P_ "/persons", sup,
      "{\"watchlist\":\"shape-wl\",\"name\":\"Shape Person\","
      "\"external_id\":\"S-1\",\"notes\":\"n\"}",
      NULL, 201);
  shape_call(s, doc, "GET", P_ "/persons", P_ "/persons", sup, NULL, NULL,
             200);
  snprintf(path, sizeof path, P_ "/persons/%lld", pid);
  shape_call(s, doc, "GET", P_ "/persons/{id}", path, sup, NULL, NULL, 200);
  snprintf(path, sizeof path, P_ "/persons/%lld/photos", pid);
  shape_call(s, doc, "GET", P_ "/persons/{id}/photos", path, sup, NULL, NULL,
             200);
  shape_call(s, doc, "POST", P_ "/persons/{id}/photos", path, sup,
             "--zzz\r\nContent-Disposition: form-data; name=\"photo\"; "
             "filename=\"a.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n"
             "not an image\r\n--zzz--\r\n",
             "multipart/form-data; boundary=zzz", 0);
  /* Alerts, audit, users, tokens, webhooks. */
  shape_call(s, doc, "GET", P_ "/alerts", P_ "/alerts?limit=5", op, NULL, NULL,
             200);
  shape_call(s, doc, "GET", P_ "/audit", P_ "/audit?limit=20", aud, NULL, NULL,
             200);
  shape_call(s, doc, "GET", P_ "/users", P_ "/users", adm, NULL, NULL, 200);
  snprintf(path, sizeof path, P_ "/users/%lld", 1LL);
  shape_call(s, doc, "GET", P_ "/users/{id}", path, adm, NULL, NULL, 200);
  shape_call(s, doc, "POST", P_ "/tokens", P_ "/tokens", adm,
             "{\"user\":\"t-auditor\",\"name\":\"shape-token\"}", NULL, 201);
  shape_call(s, doc, "GET", P_ "/tokens", P_ "/tokens", adm, NULL, NULL, 200);
  shape_call(s, doc, "POST", P_ "/webhooks", P_ "/webhooks", adm,
             "{\"url\":\"http://127.0.0.1:9/hook\",\"watchlist\":null}", NULL,
             201);
  shape_call(s, doc, "GET", P_ "/webhooks", P_ "/webhooks", adm, NULL, NULL,
             200);
  shape_call(s, doc, "GET", P_ "/webhooks/deadletters",
             P_ "/webhooks/deadletters", adm, NULL, NULL, 200);
  /* An error answer. */
  shape_call(s, doc, "GET", P_ "/alerts/{id}", P_ "/alerts/999999", op, NULL,
             NULL, 404);
#undef P_
  cJSON_Delete(doc);
}

/* ---- the role x route matrix --------------------------------------------- */

static int is_state_changing(const char *m) {
  return strcmp(m, "GET") != 0 && strcmp(m, "HEAD") != 0;
}

/* One request of the matrix: the status (0: no answer). */
static long matrix_call(const api_srv *s, const api_route *rt, int role,
                        char *body_out, size_t cap) {
  char path[512];
  route_path(rt, "999999", path, sizeof path);
  body_out[0] = '\0';
  if (rt->flags & API_F_STREAM) {
    char buf[4096];
    int st = 0;
    int fd = open_stream(s, role, &st, buf, sizeof buf);
    if (fd >= 0) {
      /* The rest of a short error answer, for the JSON check. */
      const char *b = strstr(buf, "\r\n\r\n");
      if (st != 200 && b) {
        size_t have = strlen(buf);
        raw_read(fd, buf + have, sizeof buf - have, "}", 2, NULL);
        b = strstr(buf, "\r\n\r\n");
        snprintf(body_out, cap, "%s", b + 4);
      }
      close(fd);
    }
    return st;
  }
  api_resp r;
  const char *body =
      is_state_changing(rt->method) && strcmp(rt->method, "DELETE") != 0 ? "{}"
                                                                         : NULL;
  if (api_call(s, rt->method, path, role, body, NULL, &r) != 0)
    return 0;
  long st = r.status;
  snprintf(body_out, cap, "%s", r.body);
  api_resp_free(&r);
  return st;
}

static int json_error_is(const char *body, const char *code) {
  cJSON *j = cJSON_Parse(body);
  const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
  const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "message");
  int ok = cJSON_IsString(e) && cJSON_IsString(m) &&
           (!code || strcmp(e->valuestring, code) == 0);
  cJSON_Delete(j);
  return ok;
}

static void check_matrix(api_srv *s) {
  size_t logout = api_nroutes;
  int calls = 0;
  for (size_t k = 0; k <= api_nroutes; k++) {
    /* Logout last: with a token it might end more than a session. */
    size_t i = k;
    if (k == api_nroutes) {
      if (logout == api_nroutes)
        break;
      i = logout;
    } else if (strcmp(api_routes[k].pattern, API_PREFIX "/auth/logout") == 0) {
      logout = k;
      continue;
    }
    const api_route *rt = &api_routes[i];
    for (int role = -1; role < 4; role++) {
      char body[2048];
      long st = matrix_call(s, rt, role, body, sizeof body);
      calls++;
      const char *who = role < 0 ? "no credentials" : api_role_name(role);
      CHECK_MSG(st != 0, "%s %s as %s: no answer", rt->method, rt->pattern,
                who);
      if (st == 0)
        continue;
      if (rt->roles == API_R_PUBLIC) {
        CHECK_MSG(st != 401 && st != 403, "%s %s (public) as %s: %ld %s",
                  rt->method, rt->pattern, who, st, body);
      } else if (role < 0) {
        CHECK_MSG(st == 401 && json_error_is(body, NULL),
                  "%s %s without credentials: %ld %s (want 401 JSON)",
                  rt->method, rt->pattern, st, body);
      } else if (rt->roles & (1u << role)) {
        CHECK_MSG(st != 401 && st != 403, "%s %s as %s (allowed): %ld %s",
                  rt->method, rt->pattern, who, st, body);
        if (st >= 500 && st != 503)
          fprintf(stderr, "note: %s %s as %s: %ld %s\n", rt->method,
                  rt->pattern, who, st, body);
      } else {
        CHECK_MSG(st == 403 && json_error_is(body, "forbidden"),
                  "%s %s as %s (not allowed): %ld %s (want 403 forbidden)",
                  rt->method, rt->pattern, who, st, body);
      }
    }
  }
  printf("role x route matrix: %zu routes x 5 callers, %d requests\n",
         api_nroutes, calls);

  /* A token's logout must not have revoked the token (or say so). */
  for (int role = 0; role < 4; role++) {
    api_resp r;
    CHECK_OK(api_call(s, "GET", "/api/v1/auth/me", role, NULL, NULL, &r));
    if (r.status == 401) {
      fprintf(stderr,
              "note: POST /auth/logout with a bearer token revoked the %s "
              "token; taking a new one\n",
              api_role_name(role));
      CHECK_OK(api_user_token(s, api_user_name(role), s->token[role],
                              sizeof s->token[role]));
    } else
      CHECK_INT_EQ(r.status, 200);
    api_resp_free(&r);
  }
}

/* ---- sessions ------------------------------------------------------------ */

static void check_cookie_flags(const api_resp *r, int tls) {
  char sc[1024] = "";
  const char *p = r->headers;
  /* The Set-Cookie of argus_session. */
  while ((p = api_strcasestr_(p, "set-cookie:")) != NULL) {
    p += 11;
    while (*p == ' ')
      p++;
    if (strncmp(p, "argus_session=", 14) == 0) {
      size_t n = strcspn(p, "\r\n");
      if (n >= sizeof sc)
        n = sizeof sc - 1;
      memcpy(sc, p, n);
      sc[n] = '\0';
      break;
    }
  }
  CHECK_MSG(sc[0], "no Set-Cookie argus_session in:\n%s", r->headers);
  CHECK_MSG(has_ci(sc, "; HttpOnly") || has_ci(sc, ";HttpOnly"),
            "session cookie not HttpOnly: %s", sc);
  CHECK_MSG(has_ci(sc, "SameSite=Strict"),
            "session cookie not "
            "SameSite=Strict: %s",
            sc);
  if (tls)
    CHECK_MSG(has_ci(sc, "; Secure") || has_ci(sc, ";Secure"),
              "session cookie not Secure under TLS: %s", sc);
  else
    CHECK_MSG(!has_ci(sc, "; Secure") && !has_ci(sc, ";Secure"),
              "session cookie Secure without TLS: %s", sc);
}

static void check_sessions(const api_srv *s) {
  int op = ARGUS_ROLE_OPERATOR;
  char cookie[API_COOKIE_MAX], csrf[API_CSRF_MAX];
  api_resp r;
  int lr = api_login_ex(s, api_user_name(op), api_user_password(op), cookie,
                        csrf, &r);
  CHECK_INT_EQ(lr, 0);
  if (lr == 0)
    check_cookie_flags(&r, 0);
  api_resp_free(&r);
  if (lr != 0)
    return;

  /* A read needs no CSRF token. */
  CHECK_OK(api_call_cookie(s, "GET", "/api/v1/auth/me", cookie, NULL, NULL,
                           NULL, &r));
  CHECK_INT_EQ(r.status, 200);
  char name[128] = "";
  cJSON *j = api_json(&r);
  const cJSON *u = cJSON_GetObjectItemCaseSensitive(j, "user");
  const cJSON *un = cJSON_GetObjectItemCaseSensitive(u ? u : j, "name");
  if (cJSON_IsString(un))
    snprintf(name, sizeof name, "%s", un->valuestring);
  CHECK_MSG(strcmp(name, api_user_name(op)) == 0, "/auth/me: %s", r.body);
  cJSON_Delete(j);
  api_resp_free(&r);

  /* A state-changing request: 403 without the CSRF token or with a wrong
   * one, let through with it (404: no such alert). */
  const char *dec = "{\"decision\":\"confirmed\",\"comment\":\"csrf test\"}";
  CHECK_OK(api_call_cookie(s, "POST", "/api/v1/alerts/999999/decision", cookie,
                           NULL, dec, NULL, &r));
  CHECK(api_is_error(&r, 403, NULL));
  api_resp_free(&r);
  CHECK_OK(api_call_cookie(s, "POST", "/api/v1/alerts/999999/decision", cookie,
                           "not-the-token", dec, NULL, &r));
  CHECK(api_is_error(&r, 403, NULL));
  api_resp_free(&r);
  CHECK_OK(api_call_cookie(s, "POST", "/api/v1/alerts/999999/decision", cookie,
                           csrf, dec, NULL, &r));
  CHECK(api_is_error(&r, 404, NULL));
  api_resp_free(&r);
  /* Another role's route through the session: 403 forbidden. */
  CHECK_OK(
      api_call_cookie(s, "GET", "/api/v1/users", cookie, NULL, NULL, NULL, &r));
  CHECK(api_is_error(&r, 403, "forbidden"));
  api_resp_free(&r);

  /* Logout (CSRF needed too) ends the session. */
  CHECK_OK(api_call_cookie(s, "POST", "/api/v1/auth/logout", cookie, NULL, NULL,
                           NULL, &r));
  CHECK(api_is_error(&r, 403, NULL));
  api_resp_free(&r);
  CHECK_OK(api_call_cookie(s, "POST", "/api/v1/auth/logout", cookie, csrf, NULL,
                           NULL, &r));
  CHECK_MSG(r.status == 200 || r.status == 204, "logout: %ld %s", r.status,
            r.body);
  api_resp_free(&r);
  CHECK_OK(api_call_cookie(s, "GET", "/api/v1/auth/me", cookie, NULL, NULL,
                           NULL, &r));
  CHECK(api_is_error(&r, 401, NULL));
  api_resp_free(&r);
}

/* Six wrong passwords for one account: the sixth is refused with 429 and
 * Retry-After (5 attempts per minute, the default). */
static void check_login_rate_limit(const api_srv *s) {
  const char *who = api_user_name(ARGUS_ROLE_AUDITOR);
  long last = 0;
  char retry[64] = "";
  for (int i = 0; i < 6; i++) {
    char body[256];
    snprintf(body, sizeof body,
             "{\"name\":\"%s\",\"password\":\"wrong-%d-xxxxxxxx\"}", who, i);
    api_resp r;
    CHECK_OK(api_call(s, "POST", "/api/v1/auth/login", -1, body, NULL, &r));
    last = r.status;
    if (i < 5)
      CHECK_MSG(r.status == 401, "wrong password %d: %ld %s", i + 1, r.status,
                r.body);
    else {
      CHECK(api_is_error(&r, 429, NULL));
      CHECK_MSG(api_resp_header(&r, "Retry-After", retry, sizeof retry) &&
                    strtol(retry, NULL, 10) > 0,
                "429 without a Retry-After > 0: '%s'", retry);
    }
    api_resp_free(&r);
  }
  /* Even the right password waits now. */
  char body[256];
  snprintf(body, sizeof body, "{\"name\":\"%s\",\"password\":\"%s\"}", who,
           api_user_password(ARGUS_ROLE_AUDITOR));
  api_resp r;
  CHECK_OK(api_call(s, "POST", "/api/v1/auth/login", -1, body, NULL, &r));
  CHECK_INT_EQ(r.status, 429);
  api_resp_free(&r);
  printf("login rate limit: 6th wrong password %ld, Retry-After %s\n", last,
         retry);
}

/* ---- event-stream clients ------------------------------------------------ */

static void check_event_clients(const api_srv *s, int max) {
  int fds[16];
  int n = 0;
  char buf[4096];
  for (int i = 0; i < max && i < 15; i++) {
    int st = 0;
    fds[n] = open_stream(s, ARGUS_ROLE_OPERATOR, &st, buf, sizeof buf);
    CHECK_MSG(fds[n] >= 0 && st == 200, "event stream %d: status %d: %.200s",
              i + 1, st, buf);
    if (fds[n] >= 0)
      n++;
    if (st == 200)
      CHECK_MSG(has_ci(buf, "content-type: text/event-stream"),
                "event stream without text/event-stream: %.300s", buf);
  }
  /* One more: 503 JSON. */
  int st = 0;
  int fd = open_stream(s, ARGUS_ROLE_OPERATOR, &st, buf, sizeof buf);
  if (fd >= 0) {
    size_t have = strlen(buf);
    raw_read(fd, buf + have, sizeof buf - have, "}", 3, NULL);
    close(fd);
  }
  CHECK_MSG(st == 503, "event stream %d of at most %d: %d %.300s", max + 1, max,
            st, buf);
  const char *b = strstr(buf, "\r\n\r\n");
  CHECK_MSG(b && json_error_is(b + 4, NULL), "503 not JSON: %.300s", buf);
  for (int i = 0; i < n; i++)
    close(fds[i]);
  /* The server keeps serving, and the closed clients' places come back. */
  api_resp r;
  CHECK_OK(api_call(s, "GET", "/healthz", -1, NULL, NULL, &r));
  CHECK_INT_EQ(r.status, 200);
  api_resp_free(&r);
  double t0 = api_now_();
  st = 0;
  while (api_now_() - t0 < 30) {
    fd = open_stream(s, ARGUS_ROLE_OPERATOR, &st, buf, sizeof buf);
    if (fd >= 0)
      close(fd);
    if (st == 200)
      break;
    api_sleep_(0.5);
  }
  CHECK_MSG(st == 200,
            "no event-stream place came back within 30 s after %d clients "
            "left: %d",
            n, st);
  printf("event clients: %d served, the next 503; a place came back after "
         "%.1f s\n",
         n, api_now_() - t0);
}

/* ---- bad input ----------------------------------------------------------- */

static int list_has_name(const api_srv *s, const char *path, int role,
                         const char *name) {
  api_resp r;
  int found = 0;
  if (api_call(s, "GET", path, role, NULL, NULL, &r) == 0 && r.status == 200) {
    cJSON *j = api_json(&r);
    const cJSON *items = cJSON_GetObjectItemCaseSensitive(j, "items");
    const cJSON *it;
    cJSON_ArrayForEach(it, items) {
      const cJSON *n = cJSON_GetObjectItemCaseSensitive(it, "name");
      if (cJSON_IsString(n) && strcmp(n->valuestring, name) == 0)
        found = 1;
    }
    CHECK_MSG(cJSON_IsArray(items), "GET %s: no items: %s", path, r.body);
    cJSON_Delete(j);
  } else
    CHECK_MSG(0, "GET %s: %ld %s", path, r.status, r.body ? r.body : "");
  api_resp_free(&r);
  return found;
}

/* A 400 whose message names `what` (case-insensitive). */
static void check_400_naming(const api_resp *r, const char *what,
                             const char *ctx) {
  CHECK(api_is_error(r, 400, NULL));
  cJSON *j = api_json(r);
  const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "message");
  CHECK_MSG(cJSON_IsString(m) && has_ci(m->valuestring, what),
            "%s: the message does not name '%s': %s", ctx, what, r->body);
  cJSON_Delete(j);
}

static void check_bad_input(const api_srv *s, size_t max_body) {
  const int sup = ARGUS_ROLE_SUPERVISOR;
  api_resp r;

  /* Over the body limit: 413 JSON; the server keeps serving. */
  size_t big = max_body + 4096;
  char *body = malloc(big + 1);
  if (body) {
    memcpy(body, "{\"name\":\"", 9);
    memset(body + 9, 'x', big - 11);
    memcpy(body + big - 2, "\"}", 2);
    body[big] = '\0';
    CHECK_OK(api_call(s, "POST", "/api/v1/watchlists", sup, body, NULL, &r));
    CHECK(api_is_error(&r, 413, NULL));
    api_resp_free(&r);
    /* Far over it, on a route that takes multipart. */
    char *huge = realloc(body, 4 * max_body + 1);
    if (huge) {
      body = huge;
      memset(body, 'y', 4 * max_body);
      body[4 * max_body] = '\0';
      CHECK_OK(api_call(s, "POST", "/api/v1/photos/check", sup, body,
                        "multipart/form-data; boundary=zzz", &r));
      CHECK(api_is_error(&r, 413, NULL));
      api_resp_free(&r);
    }
    free(body);
  }
  CHECK_OK(api_call(s, "GET", "/healthz", -1, NULL, NULL, &r));
  CHECK_INT_EQ(r.status, 200);
  api_resp_free(&r);

  /* Malformed JSON, unknown and mistyped fields: 400 naming the problem,
   * and nothing stored. */
  CHECK_OK(api_call(s, "POST", "/api/v1/watchlists", sup,
                    "{\"name\": \"contract-bad\", ", NULL, &r));
  check_400_naming(&r, "json", "malformed JSON");
  api_resp_free(&r);
  CHECK_OK(api_call(s, "POST", "/api/v1/watchlists", sup, "[1,2]", NULL, &r));
  CHECK(api_is_error(&r, 400, NULL));
  api_resp_free(&r);
  CHECK_OK(api_call(s, "POST", "/api/v1/watchlists", sup,
                    "{\"name\":\"contract-unknown\",\"bogus_field\":1}", NULL,
                    &r));
  check_400_naming(&r, "bogus_field", "unknown field");
  api_resp_free(&r);
  CHECK_OK(api_call(s, "POST", "/api/v1/watchlists", sup,
                    "{\"name\":\"contract-mistyped\",\"threshold\":\"high\"}",
                    NULL, &r));
  check_400_naming(&r, "threshold", "mistyped field");
  api_resp_free(&r);
  CHECK_OK(api_call(s, "POST", "/api/v1/watchlists", sup, "{\"name\":42}", NULL,
                    &r));
  check_400_naming(&r, "name", "mistyped name");
  api_resp_free(&r);
  CHECK_OK(api_call(s, "POST", "/api/v1/alerts/999999/decision",
                    ARGUS_ROLE_OPERATOR, "{\"decision\":\"confirmed\"", NULL,
                    &r));
  CHECK_MSG((r.status == 400 || r.status == 404) && json_error_is(r.body, NULL),
            "truncated decision: %ld %s", r.status, r.body);
  api_resp_free(&r);
  CHECK_OK(api_call(s, "POST", "/api/v1/users", ARGUS_ROLE_ADMIN,
                    "{\"name\":\"contract-user\",\"role\":\"emperor\","
                    "\"password\":\"pw-contract-12345\"}",
                    NULL, &r));
  check_400_naming(&r, "role", "unknown role");
  api_resp_free(&r);
  CHECK_OK(api_call(s, "POST", "/api/v1/watchlists", sup,
                    "{\"name\":\"contract-ctype\"}", "text/plain", &r));
  CHECK_MSG((r.status == 415 || r.status == 400) && json_error_is(r.body, NULL),
            "text/plain body: %ld %s", r.status, r.body);
  api_resp_free(&r);
  CHECK(
      !list_has_name(s, "/api/v1/watchlists?limit=1000", sup, "contract-bad"));
  CHECK(!list_has_name(s, "/api/v1/watchlists?limit=1000", sup,
                       "contract-unknown"));
  CHECK(!list_has_name(s, "/api/v1/watchlists?limit=1000", sup,
                       "contract-mistyped"));
  CHECK(!list_has_name(s, "/api/v1/watchlists?limit=1000", sup,
                       "contract-ctype"));
  CHECK(!list_has_name(s, "/api/v1/users?limit=1000", ARGUS_ROLE_ADMIN,
                       "contract-user"));

  /* Bad query parameters. */
  CHECK_OK(api_call(s, "GET", "/api/v1/alerts?limit=0", ARGUS_ROLE_OPERATOR,
                    NULL, NULL, &r));
  check_400_naming(&r, "limit", "limit=0");
  api_resp_free(&r);
  CHECK_OK(api_call(s, "GET", "/api/v1/alerts?limit=abc", ARGUS_ROLE_OPERATOR,
                    NULL, NULL, &r));
  check_400_naming(&r, "limit", "limit=abc");
  api_resp_free(&r);

  /* Unknown ids and paths: 404 JSON. */
  const char *const missing[] = {
      "/api/v1/watchlists/999999", "/api/v1/persons/999999",
      "/api/v1/alerts/999999",     "/api/v1/photos/999999/image",
      "/api/v1/watchlists/abc",    "/api/v1/watchlists/-1",
      "/api/v1/watchlists/0",      "/api/v1/watchlists/99999999999999999999999",
      "/api/v1/no-such-route",     NULL};
  for (int i = 0; missing[i]; i++) {
    CHECK_OK(api_call(s, "GET", missing[i], sup, NULL, NULL, &r));
    CHECK_MSG(api_is_error(&r, 404, NULL), "GET %s: %ld", missing[i], r.status);
    api_resp_free(&r);
  }

  /* Wrong methods: 405 with Allow. */
  struct {
    const char *method, *path, *allow[3];
  } const wrong[] = {
      {"PUT", "/api/v1/watchlists", {"GET", "POST", NULL}},
      {"DELETE", "/api/v1/alerts", {"GET", NULL, NULL}},
      {"POST", "/healthz", {"GET", NULL, NULL}},
      {"PUT", "/api/v1/alerts/999999/decision", {"POST", NULL, NULL}},
  };
  for (size_t i = 0; i < sizeof wrong / sizeof wrong[0]; i++) {
    CHECK_OK(api_call(s, wrong[i].method, wrong[i].path, ARGUS_ROLE_ADMIN,
                      strcmp(wrong[i].method, "DELETE") ? "{}" : NULL, NULL,
                      &r));
    CHECK_MSG(api_is_error(&r, 405, NULL), "%s %s: %ld", wrong[i].method,
              wrong[i].path, r.status);
    char allow[256] = "";
    CHECK_MSG(api_resp_header(&r, "Allow", allow, sizeof allow),
              "%s %s: 405 without Allow", wrong[i].method, wrong[i].path);
    for (int k = 0; k < 3 && wrong[i].allow[k]; k++)
      CHECK_MSG(strstr(allow, wrong[i].allow[k]) != NULL,
                "%s %s: Allow '%s' lacks %s", wrong[i].method, wrong[i].path,
                allow, wrong[i].allow[k]);
    CHECK_MSG(strstr(allow, wrong[i].method) == NULL,
              "%s %s: Allow '%s' names the method refused", wrong[i].method,
              wrong[i].path, allow);
    api_resp_free(&r);
  }

  /* Path tricks: 400 or 404, never a file. */
  const char *const tricks[] = {
      "/api/v1/../../etc/passwd",
      "/api/v1/%2e%2e/%2e%2e/etc/passwd",
      "/api/v1/%2E%2E/%2E%2E/%2E%2E/etc/passwd",
      "/api/v1/watchlists/1%2F..%2F..%2Fetc%2Fpasswd",
      "/api/v1/watchlists/..%2F..%2F..%2Fetc%2Fpasswd",
      "/api/v1/photos/..%2f..%2f..%2fetc%2fpasswd/image",
      "/api/v1/alerts/1%2F2/crop",
      "/api/v1/watchlists/%00",
      "/api/v1/watchlists/1%00",
      "/api/v1/alerts/1%00/crop",
      "/api/v1/watchlists/1;rm",
      "/api/v1//watchlists",
      "/../../../../etc/passwd",
      "/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
      "/..%2f..%2f..%2fetc%2fpasswd",
      "/index.html/../../../../etc/passwd",
      "/%00",
      NULL};
  for (int i = 0; tricks[i]; i++) {
    CHECK_OK(api_call(s, "GET", tricks[i], sup, NULL, NULL, &r));
    int api = strncmp(tricks[i], "/api/", 5) == 0;
    CHECK_MSG(!strstr(r.body, "root:"), "GET %s gave a file: %.200s", tricks[i],
              r.body);
    if (api)
      CHECK_MSG((r.status == 400 || r.status == 404) &&
                    json_error_is(r.body, NULL),
                "GET %s: %ld %.200s (want 400/404 JSON)", tricks[i], r.status,
                r.body);
    else
      CHECK_MSG(r.status == 400 || r.status == 404 ||
                    (r.status == 200 && strstr(r.ctype, "text/html")),
                "GET %s: %ld %s %.200s", tricks[i], r.status, r.ctype, r.body);
    api_resp_free(&r);
  }

  /* A multipart person whose photo part is cut off: 400, no person. */
  CHECK_OK(api_call(s, "POST", "/api/v1/watchlists", sup,
                    "{\"name\":\"contract\"}", NULL, &r));
  CHECK_MSG(r.status == 201 || r.status == 200, "create watchlist: %ld %s",
            r.status, r.body);
  api_resp_free(&r);
  static const char mp[] =
      "--XyZb0undary\r\n"
      "Content-Disposition: form-data; name=\"watchlist\"\r\n\r\n"
      "contract\r\n"
      "--XyZb0undary\r\n"
      "Content-Disposition: form-data; name=\"name\"\r\n\r\n"
      "Half Person\r\n"
      "--XyZb0undary\r\n"
      "Content-Disposition: form-data; name=\"photo\"; filename=\"a.jpg\"\r\n"
      "Content-Type: image/jpeg\r\n\r\n"
      "\xff\xd8\xff\xe0 this JPEG and the body end here";
  CHECK_OK(api_call_ex(s, "POST", "/api/v1/persons", sup, NULL, NULL, mp,
                       sizeof mp - 1,
                       "multipart/form-data; boundary=XyZb0undary", NULL, &r));
  CHECK(api_is_error(&r, 400, NULL));
  api_resp_free(&r);
  /* No boundary at all. */
  CHECK_OK(api_call_ex(s, "POST", "/api/v1/persons", sup, NULL, NULL, mp,
                       sizeof mp - 1, "multipart/form-data", NULL, &r));
  CHECK(api_is_error(&r, 400, NULL));
  api_resp_free(&r);
  CHECK(!list_has_name(s, "/api/v1/persons?limit=1000", sup, "Half Person"));

  /* Still serving. */
  CHECK_OK(api_call(s, "GET", "/healthz", -1, NULL, NULL, &r));
  CHECK_INT_EQ(r.status, 200);
  api_resp_free(&r);
}

/* A client that sends its header one byte a second is closed after the
 * server's timeout; others are served meanwhile. */
static void check_slow_client(const api_srv *s, double timeout_s) {
  int fd = raw_connect(s->port);
  CHECK(fd >= 0);
  if (fd < 0)
    return;
  static const char head[] = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                             "X-Slow: ";
  double t0 = api_now_(), worst = 0;
  int closed = 0, served = 0;
  size_t i = 0;
  while (!closed && api_now_() - t0 < 6 * timeout_s + 10) {
    char c = i < sizeof head - 1 ? head[i] : 'a';
    i++;
    if (raw_send(fd, &c, 1) != 0) {
      closed = 1;
      break;
    }
    /* Meanwhile another client. */
    double c0 = api_now_();
    api_resp r;
    if (api_call(s, "GET", "/healthz", -1, NULL, NULL, &r) == 0 &&
        r.status == 200)
      served++;
    api_resp_free(&r);
    if (api_now_() - c0 > worst)
      worst = api_now_() - c0;
    /* Wait out the second, watching for the close. */
    char buf[1024];
    double left = 1.0 - (api_now_() - c0);
    if (left > 0) {
      int cl = 0;
      raw_read(fd, buf, sizeof buf, NULL, left, &cl);
      if (cl)
        closed = 1;
    }
  }
  double took = api_now_() - t0;
  close(fd);
  CHECK_MSG(closed,
            "a client sending a byte a second still connected after %.0f s "
            "(--timeout %.0f)",
            took, timeout_s);
  CHECK_MSG(took <= 4 * timeout_s + 2,
            "the slow client was closed after %.1f s (--timeout %.0f)", took,
            timeout_s);
  CHECK_MSG(served > 0 && worst < 2.0,
            "others meanwhile: %d served, slowest %.2f s", served, worst);
  printf("slow header client: closed after %.1f s (%zu bytes sent); %d other "
         "requests served meanwhile, slowest %.3f s\n",
         took, i, served, worst);
}

/* ---- the first start ----------------------------------------------------- */

static void check_first_start(void) {
  api_srv s;
  const char *extra[] = {"--no-pipeline", NULL};
  CHECK_OK(api_srv_start_ex(&s, extra, API_SRV_NO_USERS));
  if (s.pid <= 0)
    return;
  api_resp r;
  CHECK_OK(api_call(&s, "GET", "/api/v1/cameras", -1, NULL, NULL, &r));
  CHECK(api_is_error(&r, 503, "setup_required"));
  api_resp_free(&r);
  CHECK_OK(api_call(&s, "GET", "/api/v1/alerts", -1, NULL, NULL, &r));
  CHECK(api_is_error(&r, 503, "setup_required"));
  api_resp_free(&r);
  CHECK_OK(api_call(&s, "POST", "/api/v1/auth/login", -1,
                    "{\"name\":\"x\",\"password\":\"y\"}", NULL, &r));
  CHECK(api_is_error(&r, 503, "setup_required"));
  api_resp_free(&r);
  CHECK_OK(api_call(&s, "GET", "/healthz", -1, NULL, NULL, &r));
  CHECK_INT_EQ(r.status, 200);
  api_resp_free(&r);
  CHECK_OK(api_call(&s, "GET", "/api/v1/setup", -1, NULL, NULL, &r));
  CHECK_INT_EQ(r.status, 200);
  cJSON *j = api_json(&r);
  CHECK_MSG(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "required")),
            "GET /api/v1/setup on an empty database: %s", r.body);
  cJSON_Delete(j);
  api_resp_free(&r);
  /* A wrong setup code creates nobody. */
  CHECK_OK(api_call(&s, "POST", "/api/v1/setup", -1,
                    "{\"code\":\"wrong\",\"name\":\"boss\","
                    "\"password\":\"pw-boss-12345\"}",
                    NULL, &r));
  CHECK_MSG(r.status == 403 || r.status == 400 || r.status == 401,
            "POST /api/v1/setup with a wrong code: %ld %s", r.status, r.body);
  api_resp_free(&r);
  CHECK_OK(api_call(&s, "GET", "/api/v1/cameras", -1, NULL, NULL, &r));
  CHECK(api_is_error(&r, 503, "setup_required"));
  api_resp_free(&r);
  /* It said how to create the first admin. */
  CHECK_MSG(api_srv_log_find(&s, "user add", NULL, 0) ||
                api_srv_log_find(&s, "setup", NULL, 0),
            "argus serve on an empty database did not say how to create the "
            "first admin");
  /* The setup code it printed creates the first admin; then the API asks
   * for credentials instead of setup, and setup is closed. */
  char line[512], code[128] = "";
  if (api_srv_log_find(&s, "setup code ", line, sizeof line)) {
    const char *c = strstr(line, "setup code ") + strlen("setup code ");
    size_t n = strcspn(c, " \t.,)");
    if (n < sizeof code) {
      memcpy(code, c, n);
      code[n] = '\0';
    }
  }
  CHECK_MSG(code[0], "no setup code in argus serve's output");
  if (code[0]) {
    char body[512];
    snprintf(body, sizeof body,
             "{\"code\":\"%s\",\"name\":\"t-first\","
             "\"password\":\"pw-t-first-12345\"}",
             code);
    CHECK_OK(api_call(&s, "POST", "/api/v1/setup", -1, body, NULL, &r));
    CHECK_MSG(r.status == 201, "POST /api/v1/setup: %ld %s", r.status, r.body);
    api_resp_free(&r);
    CHECK_OK(api_call(&s, "GET", "/api/v1/cameras", -1, NULL, NULL, &r));
    CHECK(api_is_error(&r, 401, NULL));
    api_resp_free(&r);
    CHECK_OK(api_call(&s, "POST", "/api/v1/setup", -1, body, NULL, &r));
    CHECK(api_is_error(&r, 409, NULL));
    api_resp_free(&r);
    char cookie[API_COOKIE_MAX], csrf[API_CSRF_MAX];
    CHECK_INT_EQ(api_login(&s, "t-first", "pw-t-first-12345", cookie, csrf), 0);
    CHECK_OK(api_call_cookie(&s, "GET", "/api/v1/cameras", cookie, NULL, NULL,
                             NULL, &r));
    CHECK_INT_EQ(r.status, 200);
    api_resp_free(&r);
  }
  CHECK_INT_EQ(api_srv_stop_status(&s, 30), 0);
}

/* ---- HTTPS --------------------------------------------------------------- */

static const char *find_openssl(void) {
  static const char *const c[] = {"/usr/bin/openssl", "/usr/local/bin/openssl",
                                  "/bin/openssl", NULL};
  for (int i = 0; c[i]; i++)
    if (access(c[i], X_OK) == 0)
      return c[i];
  return NULL;
}

static void check_tls(void) {
  const char *openssl = find_openssl();
  if (!openssl) {
    fprintf(stderr, "note: no openssl: the HTTPS checks are skipped\n");
    return;
  }
  char dir[] = "/tmp/argus-tls-XXXXXX";
  if (!mkdtemp(dir)) {
    CHECK_MSG(0, "mkdtemp: %s", strerror(errno));
    return;
  }
  char cert[300], key[300];
  snprintf(cert, sizeof cert, "%s/cert.pem", dir);
  snprintf(key, sizeof key, "%s/key.pem", dir);
  /* An EC key: openssl prints no progress dots for it. */
  const char *args[] = {openssl,
                        "req",
                        "-x509",
                        "-newkey",
                        "ec",
                        "-pkeyopt",
                        "ec_paramgen_curve:prime256v1",
                        "-nodes",
                        "-keyout",
                        key,
                        "-out",
                        cert,
                        "-days",
                        "2",
                        "-subj",
                        "/CN=127.0.0.1",
                        NULL};
  int st = api_run_cli(args, NULL, NULL, 0);
  CHECK_INT_EQ(st, 0);
  if (st == 0) {
    api_srv s;
    const char *extra[] = {"--no-pipeline", "--tls-cert", cert,
                           "--tls-key",     key,          NULL};
    CHECK_OK(api_srv_start(&s, extra));
    if (s.pid > 0) {
      CHECK_MSG(strncmp(s.base, "https://", 8) == 0, "TLS server at %s",
                s.base);
      api_resp r;
      CHECK_OK(api_call(&s, "GET", "/healthz", -1, NULL, NULL, &r));
      CHECK_INT_EQ(r.status, 200);
      api_resp_free(&r);
      CHECK_OK(api_call(&s, "GET", "/api/v1/auth/me", ARGUS_ROLE_AUDITOR, NULL,
                        NULL, &r));
      CHECK_INT_EQ(r.status, 200);
      api_resp_free(&r);
      char cookie[API_COOKIE_MAX], csrf[API_CSRF_MAX];
      int lr = api_login_ex(&s, api_user_name(ARGUS_ROLE_OPERATOR),
                            api_user_password(ARGUS_ROLE_OPERATOR), cookie,
                            csrf, &r);
      CHECK_INT_EQ(lr, 0);
      if (lr == 0)
        check_cookie_flags(&r, 1);
      api_resp_free(&r);
      /* Plain HTTP on the TLS port gets no API answer. */
      int fd = raw_connect(s.port);
      if (fd >= 0) {
        char buf[512];
        const char *req = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
        raw_send(fd, req, strlen(req));
        raw_read(fd, buf, sizeof buf, "\r\n\r\n", 3, NULL);
        CHECK_MSG(raw_status(buf) != 200, "plain HTTP on the TLS port: %s",
                  buf);
        close(fd);
      }
      CHECK_INT_EQ(api_srv_stop_status(&s, 30), 0);
    }
  }
  api_rm_rf(dir);
}

int main(void) {
  if (!getenv("ARGUS_CLI"))
    SKIP("ARGUS_CLI not set (run through CTest)");
  setvbuf(stdout, NULL, _IOLBF, 0);

  /* The main server: small body limit, short timeout, four event clients,
   * and a console folder (path tricks must not leave it). */
  char web[] = "/tmp/argus-web-XXXXXX";
  CHECK(mkdtemp(web) != NULL);
  char index[300];
  snprintf(index, sizeof index, "%s/index.html", web);
  FILE *f = fopen(index, "w");
  if (f) {
    fputs("<!doctype html><title>argus</title>\n", f);
    fclose(f);
  }
  const double timeout_s = 3;
  const int max_clients = 4;
  const size_t max_body = 65536;
  const char *extra[] = {
      "--no-pipeline",       "--max-body", "65536", "--timeout", "3",
      "--max-event-clients", "4",          "--web", web,         NULL};
  api_srv s;
  if (api_srv_start(&s, extra) != 0) {
    api_rm_rf(web);
    fprintf(stderr, "test_api_contract: argus serve did not start\n");
    return 1;
  }
  check_document(&s);
  check_shapes(&s);
  check_sessions(&s);
  check_login_rate_limit(&s);
  check_event_clients(&s, max_clients);
  check_matrix(&s);
  check_bad_input(&s, max_body);
  check_slow_client(&s, timeout_s);
  api_resp r;
  CHECK_OK(api_call(&s, "GET", "/readyz", -1, NULL, NULL, &r));
  CHECK(r.status == 200 || r.status == 503);
  api_resp_free(&r);
  CHECK_INT_EQ(api_srv_stop_status(&s, 30), 0);
  api_rm_rf(web);

  check_first_start();
  check_tls();
  return check_report("test_api_contract");
}
