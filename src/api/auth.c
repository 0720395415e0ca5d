/* Accounts on the wire: login (session cookie + CSRF token), logout, the
 * first admin, API tokens, the role check's "who is calling", and login
 * rate limits.
 *
 * Credentials: `Authorization: Bearer <token>` (machines; no CSRF, a
 * browser never sends it by itself) or the cookie `argus_session`
 * (browsers: HttpOnly, SameSite=Strict, Secure under TLS), with the
 * session's CSRF token in `X-CSRF-Token` on every state-changing request
 * (double defence with SameSite). The store keeps only hashes (argon2id for
 * passwords, SHA-256 for random tokens). A credential checked in the last
 * second is taken from a small cache, so a busy client costs no database
 * lookup per request; a change of users or tokens through the API empties
 * it, and one made elsewhere is seen within that second. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>
#include <sodium.h>

#include "api_server.h"
#include "parse.h"

#define CACHE_NS 1000000000ull

void api_auth_init(api_server *s) {
  pthread_mutex_init(&s->auth_mu, NULL);
  if (sodium_init() < 0)
    argus_log(ARGUS_LOG_ERROR, API_MOD, "libsodium failed to initialise");
  uint8_t raw[12];
  randombytes_buf(raw, sizeof raw);
  sodium_bin2base64(s->setup_code, sizeof s->setup_code, raw, sizeof raw,
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

void api_auth_free(api_server *s) {
  sodium_memzero(s->cache, sizeof s->cache);
  pthread_mutex_destroy(&s->auth_mu);
}

void api_auth_changed(api_server *s) {
  pthread_mutex_lock(&s->auth_mu);
  memset(s->cache, 0, sizeof s->cache);
  s->auth_epoch++;
  pthread_mutex_unlock(&s->auth_mu);
}

const char *argus_api_setup_code(const argus_api *a) {
  return a && !a->setup_done ? a->setup_code : "";
}

int api_setup_done(api_server *s, api_req *r) {
  if (s->setup_done)
    return 1;
  argus_store *st = api_server_store_get(s);
  if (!st) {
    api_reply_error(r, 503, "unavailable", "the database cannot be opened");
    return 0;
  }
  int64_t users = 0;
  argus_err e = argus_store_user_count(st, &users, NULL, NULL);
  api_server_store_put(s, st);
  if (e == ARGUS_OK && users > 0) {
    s->setup_done = 1;
    return 1;
  }
  return 0;
}

/* ---- credential cache ----------------------------------------------------- */

static int cache_get(api_server *s, const uint8_t key[32], int is_session,
                     argus_store_user *user, char *csrf) {
  uint64_t now = argus_time_ns();
  unsigned slot = (unsigned)(key[0] | key[1] << 8) % API_AUTH_CACHE;
  int hit = 0;
  pthread_mutex_lock(&s->auth_mu);
  api_auth_cached *c = &s->cache[slot];
  if (c->used && c->is_session == is_session &&
      now - c->checked_ns < CACHE_NS && sodium_memcmp(c->key, key, 32) == 0) {
    *user = c->user;
    if (csrf)
      memcpy(csrf, c->csrf, ARGUS_STORE_TOKEN_MAX);
    hit = 1;
  }
  pthread_mutex_unlock(&s->auth_mu);
  return hit;
}

static void cache_put(api_server *s, const uint8_t key[32], int is_session,
                      const argus_store_user *user, const char *csrf,
                      uint64_t epoch) {
  unsigned slot = (unsigned)(key[0] | key[1] << 8) % API_AUTH_CACHE;
  pthread_mutex_lock(&s->auth_mu);
  if (epoch == s->auth_epoch) {
    api_auth_cached *c = &s->cache[slot];
    memcpy(c->key, key, 32);
    c->used = 1;
    c->is_session = is_session;
    c->checked_ns = argus_time_ns();
    c->user = *user;
    if (csrf)
      memcpy(c->csrf, csrf, ARGUS_STORE_TOKEN_MAX);
    else
      c->csrf[0] = '\0';
  }
  pthread_mutex_unlock(&s->auth_mu);
}

/* ---- authentication ------------------------------------------------------- */

static const char *bearer(api_req *r) {
  const char *h = api_header(r, "Authorization");
  if (!h || strncasecmp(h, "Bearer ", 7) != 0)
    return NULL;
  h += 7;
  while (*h == ' ')
    h++;
  return *h ? h : NULL;
}

static const char *session_cookie(api_req *r) {
  return MHD_lookup_connection_value(r->conn, MHD_COOKIE_KIND,
                                     "argus_session");
}

/* 1: authenticated; 0: no credentials; -1: bad credentials; -2: the
 * database failed. */
static int identify(api_server *s, api_req *r) {
  const char *tok = bearer(r);
  const char *ses = tok ? NULL : session_cookie(r);
  if (!tok && !ses)
    return 0;
  const char *cred = tok ? tok : ses;
  if (strlen(cred) >= ARGUS_STORE_TOKEN_MAX)
    return -1;
  uint8_t key[32];
  argus_sha256 h;
  argus_sha256_init(&h);
  argus_sha256_update(&h, cred, strlen(cred));
  argus_sha256_final(&h, key);
  argus_store_user u;
  char csrf[ARGUS_STORE_TOKEN_MAX] = "";
  if (!cache_get(s, key, !tok, &u, csrf)) {
    pthread_mutex_lock(&s->auth_mu);
    uint64_t epoch = s->auth_epoch;
    pthread_mutex_unlock(&s->auth_mu);
    argus_store *st = api_server_store_get(s);
    if (!st)
      return -2;
    int ok = 0;
    argus_err e = tok ? argus_store_token_check(st, tok, &u, &ok, NULL)
                      : argus_store_session_check(st, ses, &u, csrf, &ok, NULL);
    api_server_store_put(s, st);
    if (e != ARGUS_OK)
      return -2;
    if (!ok)
      return -1;
    cache_put(s, key, !tok, &u, tok ? NULL : csrf, epoch);
  }
  r->user = u;
  r->authed = 1;
  r->via_token = tok != NULL;
  snprintf(r->actor, sizeof r->actor, "api:%s", u.name);
  if (!tok)
    memcpy(r->csrf_, csrf, sizeof r->csrf_);
  return 1;
}

int api_authenticate(api_server *s, api_req *r) {
  int k = identify(s, r);
  if (k == 1)
    return 1;
  if (k == -2) {
    api_reply_error(r, 503, "unavailable", "the database cannot be opened");
    return 0;
  }
  api_add_header(r, "WWW-Authenticate", "Bearer realm=\"argus\"");
  api_reply_error(r, 401, "unauthorized",
                  k == 0 ? "log in (POST /api/v1/auth/login) or send an API "
                           "token (Authorization: Bearer ...)"
                         : "the session or token is unknown, expired or "
                           "revoked");
  return 0;
}

void api_authenticate_optional(api_server *s, api_req *r) {
  (void)identify(s, r);
}

int api_csrf_ok(api_server *s, api_req *r) {
  (void)s;
  const char *h = api_header(r, "X-CSRF-Token");
  size_t n = h ? strlen(h) : 0;
  if (!h || !r->csrf_[0] || n != strlen(r->csrf_) ||
      sodium_memcmp(h, r->csrf_, n) != 0) {
    api_reply_error(r, 403, "csrf",
                    "a state-changing request with a session cookie needs "
                    "the session's CSRF token in the X-CSRF-Token header");
    return 0;
  }
  return 1;
}

/* ---- login rate limit ------------------------------------------------------ */

static uint64_t key_hash(char kind, const char *s) {
  uint64_t h = 1469598103934665603ull ^ (uint64_t)(unsigned char)kind;
  for (const unsigned char *p = (const unsigned char *)s; *p; p++)
    h = (h ^ *p) * 1099511628211ull;
  h = argus_hash64(h);
  return h ? h : 1;
}

/* Seconds until `key` may try again (0: now). */
static int rate_wait(api_server *s, uint64_t key) {
  uint64_t now = argus_time_ns(),
           win = (uint64_t)(s->cfg.login_window * 1e9);
  int wait = 0;
  pthread_mutex_lock(&s->auth_mu);
  api_rate *r = &s->rates[key % API_RATE_SLOTS];
  if (r->key == key && now - r->window_start_ns < win &&
      r->failures >= s->cfg.login_attempts)
    wait = (int)((win - (now - r->window_start_ns)) / 1000000000ull) + 1;
  pthread_mutex_unlock(&s->auth_mu);
  return wait;
}

static void rate_fail(api_server *s, uint64_t key) {
  uint64_t now = argus_time_ns(),
           win = (uint64_t)(s->cfg.login_window * 1e9);
  pthread_mutex_lock(&s->auth_mu);
  api_rate *r = &s->rates[key % API_RATE_SLOTS];
  if (r->key != key || now - r->window_start_ns >= win) {
    r->key = key;
    r->window_start_ns = now;
    r->failures = 0;
  }
  r->failures++;
  pthread_mutex_unlock(&s->auth_mu);
}

static void rate_clear(api_server *s, uint64_t key) {
  pthread_mutex_lock(&s->auth_mu);
  api_rate *r = &s->rates[key % API_RATE_SLOTS];
  if (r->key == key)
    memset(r, 0, sizeof *r);
  pthread_mutex_unlock(&s->auth_mu);
}

/* ---- handlers -------------------------------------------------------------- */

typedef struct me_doc {
  const argus_store_user *u;
  const char *csrf;
  int setup_required;
} me_doc;

static void write_me(void *user, argus_json *j) {
  const me_doc *d = user;
  argus_json_obj_begin(j, NULL);
  argus_json_obj_begin(j, "user");
  argus_json_int(j, "id", d->u->id);
  argus_json_str(j, "name", d->u->name);
  argus_json_str(j, "role", argus_role_name(d->u->role));
  argus_json_obj_end(j);
  argus_json_str(j, "csrf", d->csrf && d->csrf[0] ? d->csrf : NULL);
  argus_json_obj_end(j);
}

static void set_cookie(api_req *r, const char *value, double max_age) {
  char c[256];
  snprintf(c, sizeof c,
           "argus_session=%s; Path=/; HttpOnly; SameSite=Strict; "
           "Max-Age=%.0f%s",
           value, max_age, r->srv->tls ? "; Secure" : "");
  api_add_header(r, "Set-Cookie", c);
}

static const api_field login_fields[] = {
    {"name", API_J_STRING, 1, ARGUS_STORE_NAME_MAX - 1},
    {"password", API_J_STRING, 1, ARGUS_STORE_PASSWORD_MAX - 1},
};

API_HANDLER(api_h_login) {
  api_server *s = r->srv;
  cJSON *body = api_body_object(r);
  if (!body)
    return;
  char msg[256];
  if (api_fields_check(body, login_fields, 2, msg, sizeof msg) != 0) {
    cJSON_Delete(body);
    api_reply_error(r, 400, "bad_request", "%s", msg);
    return;
  }
  const char *name = cJSON_GetObjectItemCaseSensitive(body, "name")->valuestring;
  const char *pw =
      cJSON_GetObjectItemCaseSensitive(body, "password")->valuestring;
  uint64_t ku = key_hash('u', name), ka = key_hash('a', r->address);
  int wait = rate_wait(s, ku);
  int wa = rate_wait(s, ka);
  if (wa > wait)
    wait = wa;
  if (wait > 0) {
    char ra[16];
    snprintf(ra, sizeof ra, "%d", wait);
    api_add_header(r, "Retry-After", ra);
    api_reply_error(r, 429, "too_many_attempts",
                    "too many failed logins for this account or address: "
                    "try again in %d s",
                    wait);
    cJSON_Delete(body);
    return;
  }
  argus_store *st = api_store(r);
  if (!st) {
    cJSON_Delete(body);
    return;
  }
  argus_store_user u;
  int ok = 0;
  argus_error_detail err = {{0}};
  argus_err e = argus_store_user_verify(st, name, pw, &u, &ok, &err);
  if (e != ARGUS_OK) {
    cJSON_Delete(body);
    api_reply_err(r, e, &err);
    return;
  }
  if (!ok) {
    rate_fail(s, ku);
    rate_fail(s, ka);
    char det[2 * ARGUS_STORE_NAME_MAX + 32];
    argus_json j;
    argus_json_init(&j, det, sizeof det);
    argus_json_obj_begin(&j, NULL);
    argus_json_str(&j, "name", name);
    argus_json_obj_end(&j);
    size_t n = argus_json_finish(&j);
    if (n >= 2)
      det[n - 1] = '\0'; /* the members without braces: det + 1 */
    argus_store_set_actor(st, "api:-", NULL);
    api_audit(r, "login.failed", "user", 0, n >= 2 ? det + 1 : NULL);
    cJSON_Delete(body);
    api_reply_error(r, 401, "unauthorized", "wrong name or password");
    return;
  }
  rate_clear(s, ku);
  char token[ARGUS_STORE_TOKEN_MAX], csrf[ARGUS_STORE_TOKEN_MAX];
  char actor[ARGUS_STORE_NAME_MAX + 8];
  snprintf(actor, sizeof actor, "api:%s", u.name);
  argus_store_set_actor(st, actor, NULL);
  e = argus_store_session_create(st, u.id, r->address, s->cfg.session_ttl,
                                 token, csrf, &err);
  cJSON_Delete(body);
  if (e != ARGUS_OK) {
    api_reply_err(r, e, &err);
    return;
  }
  r->user = u;
  r->authed = 1;
  set_cookie(r, token, s->cfg.session_ttl);
  sodium_memzero(token, sizeof token);
  me_doc d = {&u, csrf, 0};
  api_reply_json(r, 200, write_me, &d);
}

API_HANDLER(api_h_logout) {
  const char *ses = session_cookie(r);
  if (ses && !r->via_token) {
    argus_store *st = api_store(r);
    if (!st)
      return;
    argus_error_detail err = {{0}};
    argus_err e = argus_store_session_end(st, ses, &err);
    if (e != ARGUS_OK) {
      api_reply_err(r, e, &err);
      return;
    }
    api_auth_changed(r->srv);
  }
  set_cookie(r, "", 0);
  api_reply_empty(r, 204);
}

API_HANDLER(api_h_me) {
  me_doc d = {&r->user, r->via_token ? NULL : r->csrf_, 0};
  api_reply_json(r, 200, write_me, &d);
}

static void write_setup(void *user, argus_json *j) {
  argus_json_obj_begin(j, NULL);
  argus_json_bool(j, "required", *(const int *)user);
  argus_json_obj_end(j);
}

API_HANDLER(api_h_setup_get) {
  int required = !api_setup_done(r->srv, r);
  if (r->replied)
    return;
  api_reply_json(r, 200, write_setup, &required);
}

static const api_field setup_fields[] = {
    {"code", API_J_STRING, 1, 63},
    {"name", API_J_STRING, 1, ARGUS_STORE_NAME_MAX - 1},
    {"password", API_J_STRING, 1, ARGUS_STORE_PASSWORD_MAX - 1},
};

API_HANDLER(api_h_setup_post) {
  api_server *s = r->srv;
  if (api_setup_done(s, r)) {
    api_reply_error(r, 409, "conflict",
                    "the first admin exists already: log in");
    return;
  }
  if (r->replied)
    return;
  cJSON *body = api_body_object(r);
  if (!body)
    return;
  char msg[256];
  if (api_fields_check(body, setup_fields, 3, msg, sizeof msg) != 0) {
    cJSON_Delete(body);
    api_reply_error(r, 400, "bad_request", "%s", msg);
    return;
  }
  const char *code = cJSON_GetObjectItemCaseSensitive(body, "code")->valuestring;
  uint64_t ka = key_hash('a', r->address);
  int wait = rate_wait(s, ka);
  if (wait > 0) {
    char ra[16];
    snprintf(ra, sizeof ra, "%d", wait);
    api_add_header(r, "Retry-After", ra);
    api_reply_error(r, 429, "too_many_attempts",
                    "too many wrong setup codes: try again in %d s", wait);
    cJSON_Delete(body);
    return;
  }
  size_t n = strlen(code);
  if (n != strlen(s->setup_code) ||
      sodium_memcmp(code, s->setup_code, n) != 0) {
    rate_fail(s, ka);
    cJSON_Delete(body);
    api_reply_error(r, 403, "forbidden",
                    "wrong setup code (argus serve printed it when it "
                    "started)");
    return;
  }
  argus_store *st = api_store(r);
  if (!st) {
    cJSON_Delete(body);
    return;
  }
  const char *name = cJSON_GetObjectItemCaseSensitive(body, "name")->valuestring;
  char actor[ARGUS_STORE_NAME_MAX + 16];
  snprintf(actor, sizeof actor, "api-setup:%s", name);
  argus_store_set_actor(st, actor, NULL);
  argus_store_id id = 0;
  argus_error_detail err = {{0}};
  argus_err e = argus_store_user_add(
      st, name, cJSON_GetObjectItemCaseSensitive(body, "password")->valuestring,
      ARGUS_ROLE_ADMIN, &id, &err);
  cJSON_Delete(body);
  if (e != ARGUS_OK) {
    api_reply_err(r, e, &err);
    return;
  }
  s->setup_done = 1;
  argus_store_user u;
  if (argus_store_user_get_id(st, id, &u, &err) != ARGUS_OK) {
    api_reply_err(r, ARGUS_E_INTERNAL, &err);
    return;
  }
  me_doc d = {&u, NULL, 0};
  api_reply_json(r, 201, write_me, &d);
}
