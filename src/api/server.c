/* The HTTP server of the operator service: a libmicrohttpd daemon (a pool
 * of threads, each with its own epoll loop; connections suspended while an
 * event stream has nothing to send), request bodies read whole up to a
 * limit, routing by the table in routes.c, authentication and the role
 * check before every handler, answers and their counters.
 *
 * Why libmicrohttpd (docs/api.md): it is in Debian, small, mature, does
 * TLS through GnuTLS, has epoll and a thread pool, lets a response be
 * produced by a callback (server-sent events) and a connection be parked
 * without a thread (suspend/resume), and exposes the request at the level
 * a REST API needs (headers, arguments, upload chunks) without imposing a
 * framework. */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>
#include <sodium.h>

#include "api_internal.h"
#include "api_server.h"
#include "parse.h"
#include "argus/face.h"
#include "events.h"
#if __has_include("outbound.h")
#include "outbound.h"
#define HAVE_OUTBOUND 1
#endif
#include "parse.h"

#define JSON_CAP_MAX ((size_t)64 << 20)
#define api_fail(err, code, ...)                                              \
  argus_error_fail(err, code, ARGUS_LOG_ERROR, API_MOD, __VA_ARGS__)

/* ---- configuration -------------------------------------------------------- */

void argus_api_config_init(argus_api_config *c) {
  memset(c, 0, sizeof *c);
  c->listen = "127.0.0.1:8080";
  /* One HTTP thread per core (2..16): on 2 cores, 2 threads answer the
   * alert list at 64 connections with p99 17.6 ms against 45 ms with 4
   * (bench/api_bench.sh). Event streams are suspended and hold none. */
  long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
  c->threads = ncpu < 2 ? 2 : ncpu > 16 ? 16 : (int)ncpu;
  c->max_body = (size_t)32 << 20;
  c->max_connections = 4096;
  c->max_event_clients = 2048;
  c->event_lag = 4096;
  c->session_ttl = 12 * 3600;
  c->timeout = 30;
  c->login_attempts = 5;
  c->login_window = 60;
}

static void config_defaults(argus_api_config *c) {
  argus_api_config d;
  argus_api_config_init(&d);
  if (!c->listen || !*c->listen)
    c->listen = d.listen;
  if (c->threads <= 0)
    c->threads = d.threads;
  if (!c->max_body)
    c->max_body = d.max_body;
  if (c->max_connections <= 0)
    c->max_connections = d.max_connections;
  if (c->max_event_clients <= 0)
    c->max_event_clients = d.max_event_clients;
  if (c->event_lag <= 0)
    c->event_lag = d.event_lag;
  if (c->session_ttl <= 0)
    c->session_ttl = d.session_ttl;
  if (c->timeout <= 0)
    c->timeout = d.timeout;
  if (c->login_attempts <= 0)
    c->login_attempts = d.login_attempts;
  if (c->login_window <= 0)
    c->login_window = d.login_window;
  if (!c->mqtt_prefix || !*c->mqtt_prefix)
    c->mqtt_prefix = "argus";
}

/* Parses "ADDR:PORT", "[IPv6]:PORT" or ":PORT" (all IPv4 addresses). */
static argus_err parse_listen(const char *s, struct sockaddr_storage *ss,
                              socklen_t *len, argus_error_detail *err) {
  char host[128];
  const char *colon;
  memset(ss, 0, sizeof *ss);
  if (s[0] == '[') {
    const char *close = strchr(s, ']');
    if (!close || close[1] != ':')
      return api_fail(err, ARGUS_E_INVALID_ARG,
                              "--listen '%s': expected [ADDR]:PORT", s);
    size_t n = (size_t)(close - s - 1);
    if (n >= sizeof host)
      return api_fail(err, ARGUS_E_INVALID_ARG,
                              "--listen '%s': address too long", s);
    memcpy(host, s + 1, n);
    host[n] = '\0';
    colon = close + 1;
  } else {
    colon = strrchr(s, ':');
    if (!colon)
      return api_fail(err, ARGUS_E_INVALID_ARG,
                              "--listen '%s': expected ADDR:PORT", s);
    size_t n = (size_t)(colon - s);
    if (n >= sizeof host)
      return api_fail(err, ARGUS_E_INVALID_ARG,
                              "--listen '%s': address too long", s);
    memcpy(host, s, n);
    host[n] = '\0';
  }
  char *end = NULL;
  errno = 0;
  long port = strtol(colon + 1, &end, 10);
  if (!colon[1] || *end || errno || port < 0 || port > 65535)
    return api_fail(err, ARGUS_E_INVALID_ARG,
                            "--listen '%s': port must be 0..65535", s);
  struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
  struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
  if (!host[0] || strcmp(host, "0.0.0.0") == 0) {
    a4->sin_family = AF_INET;
    a4->sin_addr.s_addr = htonl(INADDR_ANY);
    a4->sin_port = htons((uint16_t)port);
    *len = sizeof *a4;
  } else if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
    a4->sin_family = AF_INET;
    a4->sin_port = htons((uint16_t)port);
    *len = sizeof *a4;
  } else if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons((uint16_t)port);
    *len = sizeof *a6;
  } else {
    return api_fail(err, ARGUS_E_INVALID_ARG,
                            "--listen '%s': '%s' is not an IP address "
                            "(names are not resolved)",
                            s, host);
  }
  return ARGUS_OK;
}

static char *read_file(const char *path, size_t max, argus_error_detail *err,
                       const char *what) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    argus_error_detail_set(err, "%s '%s': %s", what, path, strerror(errno));
    return NULL;
  }
  char *buf = malloc(max + 1);
  size_t n = buf ? fread(buf, 1, max + 1, f) : 0;
  fclose(f);
  if (!buf || n == 0 || n > max) {
    argus_error_detail_set(err, "%s '%s': %s", what, path,
                           !buf ? "out of memory"
                           : n == 0 ? "empty or unreadable"
                                    : "too large");
    free(buf);
    return NULL;
  }
  buf[n] = '\0';
  return buf;
}

/* ---- store pool ----------------------------------------------------------- */

static argus_store *pool_get(api_server *s) {
  pthread_mutex_lock(&s->pool_mu);
  while (s->pool_n == 0 && s->pool_open >= s->pool_cap)
    pthread_cond_wait(&s->pool_cv, &s->pool_mu);
  if (s->pool_n > 0) {
    argus_store *st = s->pool[--s->pool_n];
    pthread_mutex_unlock(&s->pool_mu);
    return st;
  }
  s->pool_open++;
  pthread_mutex_unlock(&s->pool_mu);
  argus_store_options o = {0};
  o.must_exist = 1;
  o.actor = "api";
  argus_store *st = NULL;
  argus_error_detail e = {{0}};
  if (argus_store_open(s->db_path, &o, &st, &e) != ARGUS_OK) {
    argus_log(ARGUS_LOG_ERROR, API_MOD, "database: %s", e.msg);
    pthread_mutex_lock(&s->pool_mu);
    s->pool_open--;
    pthread_cond_signal(&s->pool_cv);
    pthread_mutex_unlock(&s->pool_mu);
    return NULL;
  }
  return st;
}

static void pool_put(api_server *s, argus_store *st) {
  if (!st)
    return;
  pthread_mutex_lock(&s->pool_mu);
  s->pool[s->pool_n++] = st;
  pthread_cond_signal(&s->pool_cv);
  pthread_mutex_unlock(&s->pool_mu);
}

argus_store *api_server_store_get(api_server *s) { return pool_get(s); }
void api_server_store_put(api_server *s, argus_store *st) { pool_put(s, st); }

/* ---- counters ------------------------------------------------------------- */

static void count_request(api_server *s, const api_route *rt, int status,
                          double seconds) {
  int ri = rt ? (int)(rt - api_routes) : (int)api_nroutes;
  pthread_mutex_lock(&s->count_mu);
  api_counter *c = NULL;
  for (int i = 0; i < s->ncounters; i++)
    if (s->counters[i].route == ri && s->counters[i].status == status) {
      c = &s->counters[i];
      break;
    }
  if (!c && s->ncounters < API_COUNTERS_MAX) {
    c = &s->counters[s->ncounters++];
    c->route = ri;
    c->status = status;
  }
  if (c) {
    c->count++;
    c->seconds += seconds;
  }
  pthread_mutex_unlock(&s->count_mu);
}

void api_http_counters(api_server *s,
                       void (*fn)(void *user, const char *method,
                                  const char *pattern, int status,
                                  uint64_t count, double seconds_sum),
                       void *user) {
  api_counter copy[API_COUNTERS_MAX];
  pthread_mutex_lock(&s->count_mu);
  int n = s->ncounters;
  memcpy(copy, s->counters, (size_t)n * sizeof copy[0]);
  pthread_mutex_unlock(&s->count_mu);
  for (int i = 0; i < n; i++) {
    const api_route *rt =
        copy[i].route < (int)api_nroutes ? &api_routes[copy[i].route] : NULL;
    fn(user, rt ? rt->method : "-", rt ? rt->pattern : "-", copy[i].status,
       copy[i].count, copy[i].seconds);
  }
}

/* ---- answering ------------------------------------------------------------ */

static void reply_set(api_req *r, int status, const char *type, char *data,
                      size_t n) {
  if (r->replied) {
    argus_log(ARGUS_LOG_WARN, API_MOD, "%s %s: answered twice", r->method,
              r->path);
    free(data);
    return;
  }
  r->replied = 1;
  r->status = status;
  r->resp = data;
  r->resp_size = n;
  r->resp_type = type;
}

void api_reply_json(api_req *r, int status, api_json_fn fn, void *user) {
  size_t cap = 16384;
  for (;;) {
    char *buf = malloc(cap);
    if (!buf)
      break;
    argus_json j;
    argus_json_init(&j, buf, cap);
    fn(user, &j);
    size_t n = argus_json_finish(&j);
    if (n) {
      reply_set(r, status, "application/json", buf, n);
      return;
    }
    free(buf);
    if (cap >= JSON_CAP_MAX)
      break;
    cap *= 4;
  }
  api_reply_error(r, 500, "internal", "the answer did not fit in %zu bytes",
                  cap);
}

void api_reply_raw_json(api_req *r, int status, const char *json, size_t n) {
  char *b = malloc(n + 1);
  if (!b) {
    api_reply_error(r, 500, "internal", "out of memory");
    return;
  }
  memcpy(b, json, n);
  b[n] = '\0';
  reply_set(r, status, "application/json", b, n);
}

typedef struct err_doc {
  const char *code, *msg;
} err_doc;

static void write_err(void *user, argus_json *j) {
  const err_doc *d = user;
  argus_json_obj_begin(j, NULL);
  argus_json_str(j, "error", d->code);
  argus_json_str(j, "message", d->msg);
  argus_json_obj_end(j);
}

void api_reply_error(api_req *r, int status, const char *code, const char *fmt,
                     ...) {
  char raw[1024], msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(raw, sizeof raw, fmt, ap);
  va_end(ap);
  /* The message may quote the caller's input: the JSON writer escapes it,
   * and invalid UTF-8 is replaced so the document stays valid. */
  argus_utf8_sanitize(raw, msg, sizeof msg);
  err_doc d = {code, msg};
  if (r->replied)
    return;
  api_reply_json(r, status, write_err, &d);
}

void api_reply_err(api_req *r, argus_err e, const argus_error_detail *err) {
  const char *msg = err && err->msg[0] ? err->msg : argus_strerror(e);
  switch (e) {
  case ARGUS_E_INVALID_ARG:
  case ARGUS_E_CORRUPT:
    if (strstr(msg, "already exists") || strstr(msg, "already in"))
      api_reply_error(r, 409, "conflict", "%s", msg);
    else
      api_reply_error(r, 400, "bad_request", "%s", msg);
    break;
  case ARGUS_E_NOT_FOUND:
    api_reply_error(r, 404, "not_found", "%s", msg);
    break;
  case ARGUS_E_LIMIT:
    api_reply_error(r, 413, "too_large", "%s", msg);
    break;
  case ARGUS_E_UNSUPPORTED:
    api_reply_error(r, 415, "unsupported", "%s", msg);
    break;
  case ARGUS_E_IO:
    if (strstr(msg, "locked"))
      api_reply_error(r, 503, "busy", "%s", msg);
    else
      api_reply_error(r, 500, "io", "%s", msg);
    break;
  default:
    api_reply_error(r, 500, "internal", "%s", msg);
  }
}

void api_reply_bytes(api_req *r, int status, const char *content_type,
                     void *data, size_t n, int take) {
  char *b = data;
  if (!take) {
    b = malloc(n ? n : 1);
    if (!b) {
      api_reply_error(r, 500, "internal", "out of memory");
      return;
    }
    if (n)
      memcpy(b, data, n);
  }
  reply_set(r, status, content_type, b, n);
}

void api_reply_empty(api_req *r, int status) {
  reply_set(r, status, NULL, NULL, 0);
}

void api_add_header(api_req *r, const char *name, const char *value) {
  if (strpbrk(name, "\r\n:") || strpbrk(value, "\r\n"))
    return;
  size_t used = strlen(r->extra_headers);
  snprintf(r->extra_headers + used, sizeof r->extra_headers - used,
           "%s: %s\r\n", name, value);
}

void api_reply_stream(api_req *r, api_stream_reader reader,
                      void (*free_ctx)(void *ctx), void *ctx) {
  if (r->replied) {
    if (free_ctx)
      free_ctx(ctx);
    return;
  }
  r->replied = 1;
  r->status = 200;
  r->stream_reader = reader;
  r->stream_free = free_ctx;
  r->stream_ctx = ctx;
  r->resp_type = "text/event-stream";
}

void *api_req_connection(api_req *r) { return r->conn; }

/* ---- reading the request -------------------------------------------------- */

const char *api_query(api_req *r, const char *key) {
  return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, key);
}

const char *api_header(api_req *r, const char *name) {
  return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

static int parse_id(const char *s, int64_t *out) {
  if (!s || !*s || *s == '0' || strlen(s) > 19)
    return 0;
  int64_t v = 0;
  for (const char *p = s; *p; p++) {
    if (*p < '0' || *p > '9')
      return 0;
    int d = *p - '0';
    if (v > (INT64_MAX - d) / 10)
      return 0;
    v = v * 10 + d;
  }
  *out = v;
  return 1;
}

int api_param_id(api_req *r, int i, const char *what, argus_store_id *out) {
  const char *s = i < r->nparams ? r->params[i] : NULL;
  if (!parse_id(s, out)) {
    api_reply_error(r, 404, "not_found", "no %s with id '%.64s'", what,
                    s ? s : "");
    return 0;
  }
  return 1;
}

int api_found(api_req *r, argus_err e, const argus_error_detail *err,
              const char *what, argus_store_id id) {
  if (e == ARGUS_OK)
    return 1;
  if (e == ARGUS_E_NOT_FOUND)
    api_reply_error(r, 404, "not_found", "no %s with id %lld", what,
                    (long long)id);
  else
    api_reply_err(r, e, err);
  return 0;
}

const void *api_row_find(const void *rows, size_t n, size_t size,
                         size_t id_off, argus_store_id id) {
  const char *p = rows;
  for (size_t i = 0; i < n; i++, p += size) {
    argus_store_id v;
    memcpy(&v, p + id_off, sizeof v);
    if (v == id)
      return p;
  }
  return NULL;
}

int api_query_int(api_req *r, const char *key, int64_t lo, int64_t hi,
                  int64_t *out) {
  const char *s = api_query(r, key);
  if (!s)
    return 1;
  char *end = NULL;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (!*s || *end || errno || v < lo || v > hi) {
    api_reply_error(r, 400, "bad_request",
                    "query parameter '%s' must be an integer in %lld..%lld, "
                    "not '%.64s'",
                    key, (long long)lo, (long long)hi, s);
    return 0;
  }
  *out = v;
  return 1;
}

cJSON *api_body_object(api_req *r) {
  const char *ct = r->content_type;
  if (r->body_size == 0) {
    api_reply_error(r, 400, "bad_request", "body: expected a JSON object");
    return NULL;
  }
  if (ct[0] && strncasecmp(ct, "application/json", 16) != 0) {
    api_reply_error(r, 415, "unsupported",
                    "body: expected Content-Type application/json, not "
                    "'%.64s'",
                    ct);
    return NULL;
  }
  char msg[256];
  cJSON *root = api_json_parse(r->body, r->body_size, msg, sizeof msg);
  if (!root) {
    api_reply_error(r, 400, "bad_request", "body: %s", msg);
    return NULL;
  }
  return root;
}

/* ---- paging ---------------------------------------------------------------- */

int api_page_args(api_req *r, size_t *limit, argus_store_id *cursor) {
  int64_t lim = API_PAGE_LIMIT_DEFAULT;
  if (!api_query_int(r, "limit", 1, API_PAGE_LIMIT_MAX, &lim))
    return 0;
  *limit = (size_t)lim;
  *cursor = 0;
  const char *c = api_query(r, "cursor");
  int64_t v = 0;
  if (api_cursor_parse(c, &v) != 0) {
    api_reply_error(r, 400, "bad_request",
                    "query parameter 'cursor' is not a cursor this server "
                    "gave: '%.64s'",
                    c);
    return 0;
  }
  *cursor = v;
  return 1;
}

void api_page_json(void *user, argus_json *j) {
  const api_page *p = user;
  argus_json_obj_begin(j, NULL);
  argus_json_arr_begin(j, "items");
  for (size_t i = 0; i < p->n; i++)
    p->item((const char *)p->rows + i * p->size, p->ctx, j);
  argus_json_arr_end(j);
  if (p->next > 0) {
    char c[24];
    snprintf(c, sizeof c, "%lld", (long long)p->next);
    argus_json_str(j, "next_cursor", c);
  } else {
    argus_json_null(j, "next_cursor");
  }
  argus_json_obj_end(j);
}

/* The id offset and direction of the rows api_page_cut sorts (qsort has no
 * context argument). */
static _Thread_local size_t page_id_off;
static _Thread_local int page_desc;

static argus_store_id page_row_id(const void *row) {
  argus_store_id id;
  memcpy(&id, (const char *)row + page_id_off, sizeof id);
  return id;
}

static int page_cmp(const void *a, const void *b) {
  argus_store_id x = page_row_id(a), y = page_row_id(b);
  int c = (x > y) - (x < y);
  return page_desc ? -c : c;
}

void api_page_cut(api_page *p, void *rows, size_t n, size_t size,
                  size_t id_off, int desc, argus_store_id cursor,
                  size_t limit) {
  char *base = rows;
  page_id_off = id_off;
  page_desc = desc;
  if (n > 1)
    qsort(base, n, size, page_cmp);
  size_t first = 0;
  while (cursor > 0 && first < n) {
    argus_store_id id = page_row_id(base + first * size);
    if (desc ? id < cursor : id > cursor)
      break;
    first++;
  }
  size_t rest = n - first;
  p->rows = rest ? base + first * size : NULL;
  p->size = size;
  p->n = rest > limit ? limit : rest;
  p->next = rest > limit ? page_row_id(base + (first + limit - 1) * size) : 0;
}

/* ---- the store, audit ----------------------------------------------------- */

argus_store *api_store(api_req *r) {
  if (r->store_)
    return r->store_;
  argus_store *st = pool_get(r->srv);
  if (!st) {
    api_reply_error(r, 503, "unavailable", "the database cannot be opened");
    return NULL;
  }
  argus_store_set_actor(st, r->actor[0] ? r->actor : "api", NULL);
  r->store_ = st;
  return st;
}

void api_audit(api_req *r, const char *action, const char *object_type,
               argus_store_id object_id, const char *detail_members) {
  argus_store *st = api_store(r);
  if (!st)
    return;
  char detail[ARGUS_STORE_JSON_MAX];
  argus_json j;
  argus_json_init(&j, detail, sizeof detail);
  argus_json_obj_begin(&j, NULL);
  argus_json_str(&j, "user", r->authed ? r->user.name : NULL);
  argus_json_str(&j, "address", r->address);
  argus_json_obj_end(&j);
  size_t n = argus_json_finish(&j);
  if (n && detail_members && *detail_members &&
      n + strlen(detail_members) + 2 < sizeof detail) {
    /* "{...}" + ",members" before the closing brace. */
    detail[n - 1] = ',';
    size_t m = strlen(detail_members);
    memcpy(detail + n, detail_members, m);
    detail[n + m] = '}';
    detail[n + m + 1] = '\0';
  }
  argus_error_detail e = {{0}};
  if (argus_store_audit_append(st, action, object_type, object_id,
                               n ? detail : NULL, &e) != ARGUS_OK)
    argus_log(ARGUS_LOG_ERROR, API_MOD, "audit %s: %s", action, e.msg);
}

/* ---- parts ----------------------------------------------------------------- */

const argus_api_config *api_config(api_server *s) { return &s->cfg; }
argus_pipeline *api_pipeline(api_server *s) { return s->parts.pipeline; }
argus_face_engine *api_engine(api_server *s) { return s->parts.engine; }
argus_gallery *api_gallery(api_server *s) { return s->parts.gallery; }
argus_bus *api_bus(api_server *s) { return s->parts.bus; }
void api_engine_lock(api_server *s) { pthread_mutex_lock(&s->engine_mu); }
void api_engine_unlock(api_server *s) { pthread_mutex_unlock(&s->engine_mu); }
argus_face_worker *api_engine_worker(api_server *s) {
  if (!s->worker && s->parts.engine &&
      argus_face_worker_create(s->parts.engine, &s->worker) != ARGUS_OK)
    s->worker = NULL;
  return s->worker;
}
struct api_outbound *api_server_outbound(api_server *s) { return s->outbound; }
struct api_events *api_server_events(api_server *s) { return s->events; }

void api_event_publish(api_server *s, const char *type, const char *json,
                       size_t n) {
  if (s->events)
    api_events_publish(s->events, type, json, n);
}

/* ---- routing ---------------------------------------------------------------- */

/* Matches `path` against `pattern`; fills params. */
static int route_match(const char *pattern, const char *path,
                       const char **params, int *nparams, char *pbuf,
                       size_t pcap) {
  int np = 0;
  size_t used = 0;
  const char *p = pattern, *u = path;
  while (*p && *u) {
    if (*p != '/' || *u != '/')
      return 0;
    p++;
    u++;
    const char *pe = strchr(p, '/'), *ue = strchr(u, '/');
    size_t pl = pe ? (size_t)(pe - p) : strlen(p);
    size_t ul = ue ? (size_t)(ue - u) : strlen(u);
    if (pl >= 2 && p[0] == '{' && p[pl - 1] == '}') {
      if (ul == 0 || np >= API_MAX_PARAMS || used + ul + 1 > pcap)
        return 0;
      memcpy(pbuf + used, u, ul);
      pbuf[used + ul] = '\0';
      params[np++] = pbuf + used;
      used += ul + 1;
    } else if (pl != ul || memcmp(p, u, pl) != 0) {
      return 0;
    }
    p += pl;
    u += ul;
  }
  if (*p || *u)
    return 0;
  *nparams = np;
  return 1;
}

/* ---- per-connection state (header deadline) --------------------------------- */

/* Connections are tracked from accept to close so that a client that
 * trickles its request headers (one byte a second keeps an idle timeout
 * from ever firing) is cut after `timeout` seconds for the whole header. */
typedef struct api_sock {
  struct api_sock *prev, *next;
  int fd;
  uint64_t started_ns; /* when the current request began (or accept) */
  int in_request;      /* headers complete, handler running or answered */
} api_sock;

static void notify_connection(void *cls, struct MHD_Connection *c,
                              void **socket_context,
                              enum MHD_ConnectionNotificationCode code) {
  api_server *s = cls;
  if (code == MHD_CONNECTION_NOTIFY_STARTED) {
    api_sock *k = calloc(1, sizeof *k);
    if (!k)
      return;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    k->fd = ci ? ci->connect_fd : -1;
    k->started_ns = argus_time_ns();
    pthread_mutex_lock(&s->sock_mu);
    k->next = s->socks;
    if (s->socks)
      s->socks->prev = k;
    s->socks = k;
    pthread_mutex_unlock(&s->sock_mu);
    *socket_context = k;
  } else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
    api_sock *k = *socket_context;
    if (!k)
      return;
    pthread_mutex_lock(&s->sock_mu);
    if (k->prev)
      k->prev->next = k->next;
    else
      s->socks = k->next;
    if (k->next)
      k->next->prev = k->prev;
    pthread_mutex_unlock(&s->sock_mu);
    free(k);
    *socket_context = NULL;
  }
}

static api_sock *conn_sock(struct MHD_Connection *c) {
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
  return ci ? (api_sock *)ci->socket_context : NULL;
}

static void sock_state(api_server *s, struct MHD_Connection *c,
                       int in_request) {
  api_sock *k = conn_sock(c);
  if (!k)
    return;
  pthread_mutex_lock(&s->sock_mu);
  k->in_request = in_request;
  k->started_ns = argus_time_ns();
  pthread_mutex_unlock(&s->sock_mu);
}

/* Cuts connections whose request headers took longer than the timeout. */
static void reap_slow_headers(api_server *s) {
  uint64_t now = argus_time_ns(),
           limit = (uint64_t)(s->cfg.timeout * 1e9);
  pthread_mutex_lock(&s->sock_mu);
  for (api_sock *k = s->socks; k; k = k->next)
    if (!k->in_request && k->fd >= 0 && now - k->started_ns > limit) {
      shutdown(k->fd, SHUT_RDWR);
      k->started_ns = now; /* once */
      s->slow_cut++;
    }
  pthread_mutex_unlock(&s->sock_mu);
}

/* ---- request lifecycle ------------------------------------------------------- */

typedef struct api_conn {
  char *body;
  size_t size, cap;
  int too_large;
  uint64_t t0;
} api_conn;

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode toe) {
  api_server *s = cls;
  api_conn *ac = *con_cls;
  if (ac) {
    free(ac->body);
    free(ac);
    *con_cls = NULL;
  }
  sock_state(s, c, 0);
}

static enum MHD_Result queue(api_req *r) {
  struct MHD_Response *resp;
  if (r->stream_reader) {
    resp = MHD_create_response_from_callback(
        MHD_SIZE_UNKNOWN, 16384, (MHD_ContentReaderCallback)r->stream_reader,
        r->stream_ctx, (MHD_ContentReaderFreeCallback)r->stream_free);
    if (!resp) {
      if (r->stream_free)
        r->stream_free(r->stream_ctx);
      return MHD_NO;
    }
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    MHD_add_response_header(resp, "X-Accel-Buffering", "no");
  } else {
    resp = MHD_create_response_from_buffer(r->resp_size, r->resp,
                                           MHD_RESPMEM_MUST_FREE);
    if (!resp) {
      free(r->resp);
      r->resp = NULL;
      return MHD_NO;
    }
    r->resp = NULL;
    MHD_add_response_header(resp, "Cache-Control", "no-store");
  }
  if (r->resp_type)
    MHD_add_response_header(resp, "Content-Type", r->resp_type);
  MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
  MHD_add_response_header(resp, "X-Frame-Options", "DENY");
  MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
  /* extra headers: "Name: value\r\n" lines */
  char *line = r->extra_headers;
  while (*line) {
    char *eol = strstr(line, "\r\n");
    if (!eol)
      break;
    *eol = '\0';
    char *colon = strchr(line, ':');
    if (colon) {
      *colon = '\0';
      const char *v = colon + 1;
      while (*v == ' ')
        v++;
      MHD_add_response_header(resp, line, v);
    }
    line = eol + 2;
  }
  enum MHD_Result ok = MHD_queue_response(r->conn, (unsigned)r->status, resp);
  MHD_destroy_response(resp);
  return ok;
}

/* Percent-decoding of the path and the query (MHD_OPTION_UNESCAPE_CALLBACK),
 * as libmicrohttpd's own except that "%00" becomes 0x01: a decoded NUL
 * would cut the path short ("/watchlists/1%00" read as "/watchlists/1"),
 * while 0x01 is a control character that path_problem refuses. Invalid
 * escapes stay as they are. Decodes in place; the new length. */
static int hex_digit(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

static size_t unescape_cb(void *cls, struct MHD_Connection *c, char *s) {
  (void)cls;
  (void)c;
  char *w = s;
  for (const char *p = s; *p; p++) {
    int hi = p[0] == '%' ? hex_digit(p[1]) : -1;
    int lo = hi >= 0 ? hex_digit(p[2]) : -1;
    if (lo >= 0) {
      int v = hi * 16 + lo;
      *w++ = (char)(v ? v : 0x01);
      p += 2;
    } else
      *w++ = *p;
  }
  *w = '\0';
  return (size_t)(w - s);
}

static int method_safe(const char *m) {
  return strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0;
}

/* Any ".", ".." or empty segment, or a control character: refused before
 * routing (ids and names never contain them; a file path must not). */
static const char *path_problem(const char *path) {
  if (path[0] != '/')
    return "the path must start with '/'";
  for (const unsigned char *p = (const unsigned char *)path; *p; p++)
    if (*p < 0x20 || *p == 0x7f)
      return "the path holds a control character";
  const char *seg = path;
  while (seg && *seg) {
    seg++;
    const char *end = strchr(seg, '/');
    size_t n = end ? (size_t)(end - seg) : strlen(seg);
    if ((n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
      return "'.' and '..' segments are not allowed";
    seg = end;
  }
  return NULL;
}

static void dispatch(api_server *s, api_req *r) {
  const char *why = path_problem(r->path);
  if (why) {
    api_reply_error(r, 400, "bad_request", "path: %s", why);
    return;
  }
  /* Find the route; 405 when the path is known under other methods. */
  char allow[128] = "";
  const api_route *rt = NULL;
  char pbuf[512];
  for (size_t i = 0; i < api_nroutes; i++) {
    const char *params[API_MAX_PARAMS];
    int np = 0;
    if (!route_match(api_routes[i].pattern, r->path, params, &np, pbuf,
                     sizeof pbuf))
      continue;
    if (strcmp(api_routes[i].method, r->method) == 0 ||
        (strcmp(r->method, "HEAD") == 0 &&
         strcmp(api_routes[i].method, "GET") == 0)) {
      rt = &api_routes[i];
      memcpy(r->params, params, sizeof params);
      r->nparams = np;
      break;
    }
    if (!strstr(allow, api_routes[i].method)) {
      size_t u = strlen(allow);
      snprintf(allow + u, sizeof allow - u, "%s%s", u ? ", " : "",
               api_routes[i].method);
    }
  }
  if (!rt) {
    if (allow[0]) {
      api_add_header(r, "Allow", allow);
      api_reply_error(r, 405, "method_not_allowed",
                      "%s is not allowed on %s (allowed: %s)", r->method,
                      r->path, allow);
      return;
    }
    if (s->web_dir && method_safe(r->method) &&
        strncmp(r->path, API_PREFIX "/", strlen(API_PREFIX) + 1) != 0 &&
        api_static_serve(s, r))
      return;
    api_reply_error(r, 404, "not_found", "no route %s %s", r->method,
                    r->path);
    return;
  }
  r->route = rt;
  /* Before the first admin exists only the setup routes answer. */
  if (!(rt->flags & API_F_NO_SETUP) && !api_setup_done(s, r)) {
    if (!r->replied)
      api_reply_error(r, 503, "setup_required",
                      "no user exists yet: create the first admin with "
                      "'argus user add NAME --role admin' or POST "
                      "/api/v1/setup with the setup code the server printed");
    return;
  }
  if (rt->roles != API_R_PUBLIC) {
    if (!api_authenticate(s, r))
      return; /* answered 401/403 */
    if (!(rt->roles & (1u << r->user.role))) {
      api_reply_error(r, 403, "forbidden",
                      "role '%s' may not %s %s", argus_role_name(r->user.role),
                      rt->method, rt->pattern);
      return;
    }
    if (!r->via_token && !method_safe(r->method) && !api_csrf_ok(s, r))
      return; /* answered 403 */
  } else {
    /* Public routes still know who calls when credentials come along. */
    api_authenticate_optional(s, r);
  }
  rt->fn(r);
  if (!r->replied)
    api_reply_error(r, 500, "internal", "the handler gave no answer");
}

static enum MHD_Result access_cb(void *cls, struct MHD_Connection *c,
                                 const char *url, const char *method,
                                 const char *version, const char *upload_data,
                                 size_t *upload_data_size, void **con_cls) {
  api_server *s = cls;
  api_conn *ac = *con_cls;
  if (!ac) {
    ac = calloc(1, sizeof *ac);
    if (!ac)
      return MHD_NO;
    ac->t0 = argus_time_ns();
    *con_cls = ac;
    sock_state(s, c, 1);
    const char *cl =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
    if (cl) {
      char *end = NULL;
      errno = 0;
      unsigned long long v = strtoull(cl, &end, 10);
      if (errno || *end || v > s->cfg.max_body)
        ac->too_large = 1;
    }
    return MHD_YES;
  }
  if (*upload_data_size) {
    size_t n = *upload_data_size;
    *upload_data_size = 0;
    if (ac->too_large || ac->size + n > s->cfg.max_body) {
      ac->too_large = 1;
      free(ac->body);
      ac->body = NULL;
      ac->size = ac->cap = 0;
      return MHD_YES;
    }
    if (ac->size + n + 1 > ac->cap) {
      size_t cap = ac->cap ? ac->cap : 4096;
      while (cap < ac->size + n + 1)
        cap *= 2;
      if (cap > s->cfg.max_body + 1)
        cap = s->cfg.max_body + 1;
      char *b = realloc(ac->body, cap);
      if (!b)
        return MHD_NO;
      ac->body = b;
      ac->cap = cap;
    }
    memcpy(ac->body + ac->size, upload_data, n);
    ac->size += n;
    return MHD_YES;
  }

  /* The whole request is in: answer it. */
  api_req *r = calloc(1, sizeof *r);
  if (!r)
    return MHD_NO;
  r->srv = s;
  r->conn = c;
  r->method = method;
  r->path = url;
  r->body = ac->body ? ac->body : "";
  if (ac->body)
    ac->body[ac->size] = '\0';
  r->body_size = ac->size;
  const char *ct =
      MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
  r->content_type = ct ? ct : "";
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  if (ci && ci->client_addr) {
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET)
      inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr,
                r->address, sizeof r->address);
    else if (sa->sa_family == AF_INET6)
      inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr,
                r->address, sizeof r->address);
  }
  if (ac->too_large)
    api_reply_error(r, 413, "too_large",
                    "the request body is larger than the %zu bytes accepted",
                    s->cfg.max_body);
  else
    dispatch(s, r);
  if (r->store_)
    pool_put(s, r->store_);
  r->store_ = NULL;
  if (strcmp(method, "HEAD") == 0 && !r->stream_reader) {
    free(r->resp);
    r->resp = NULL;
    r->resp_size = 0;
  }
  count_request(s, r->route, r->status,
                (double)(argus_time_ns() - ac->t0) / 1e9);
  enum MHD_Result ok = queue(r);
  free(r->resp);
  free(r);
  return ok;
}

__attribute__((format(printf, 2, 0))) static void log_mhd(void *cls,
                                                          const char *fmt,
                                                          va_list ap) {
  char msg[512];
  vsnprintf(msg, sizeof msg, fmt, ap);
  size_t n = strlen(msg);
  while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
    msg[--n] = '\0';
  argus_log(ARGUS_LOG_DEBUG, API_MOD, "http: %s", msg);
}

/* ---- housekeeping ------------------------------------------------------------ */

static void *house_main(void *arg) {
  api_server *s = arg;
  uint64_t last_sync = 0;
  pthread_mutex_lock(&s->house_mu);
  while (!s->stopping) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 250 * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
      ts.tv_sec++;
      ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&s->house_cv, &s->house_mu, &ts);
    if (s->stopping)
      break;
    int want_sync = s->sync_wanted;
    s->sync_wanted = 0;
    pthread_mutex_unlock(&s->house_mu);
    reap_slow_headers(s);
    uint64_t now = argus_time_ns();
    /* Cameras changed by another process (argus camera add) are picked up
     * every 2 s; API changes at once. */
    if (want_sync || now - last_sync > 2000000000ull) {
      api_cameras_reconcile(s);
      last_sync = now;
    }
    pthread_mutex_lock(&s->house_mu);
  }
  pthread_mutex_unlock(&s->house_mu);
  return NULL;
}

void api_cameras_sync(api_server *s) {
  pthread_mutex_lock(&s->house_mu);
  s->sync_wanted = 1;
  pthread_cond_signal(&s->house_cv);
  pthread_mutex_unlock(&s->house_mu);
}

/* ---- start / stop -------------------------------------------------------------- */

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

int argus_api_port(const argus_api *a) { return a ? a->port : 0; }

static void on_alert_hook(void *user, int64_t event_id, const char *watchlist,
                          const char *json, size_t n) {
  api_server *s = user;
#ifdef HAVE_OUTBOUND
  if (s->outbound)
    api_outbound_alert(s->outbound, event_id, watchlist, json, n);
#else
  (void)s; (void)event_id; (void)watchlist; (void)json; (void)n;
#endif
}

argus_err argus_api_start(const argus_api_config *c,
                          const argus_api_parts *parts, argus_api **out,
                          argus_error_detail *err) {
  if (!out)
    return api_fail(err, ARGUS_E_INVALID_ARG, "out is NULL");
  *out = NULL;
  api_server *s = calloc(1, sizeof *s);
  if (!s)
    return api_fail(err, ARGUS_E_NOMEM, "out of memory");
  argus_err e = ARGUS_OK;
  if (c)
    s->cfg = *c;
  else
    argus_api_config_init(&s->cfg);
  config_defaults(&s->cfg);
  if (parts)
    s->parts = *parts;
  pthread_mutex_init(&s->pool_mu, NULL);
  pthread_cond_init(&s->pool_cv, NULL);
  pthread_mutex_init(&s->count_mu, NULL);
  pthread_mutex_init(&s->engine_mu, NULL);
  pthread_mutex_init(&s->sock_mu, NULL);
  pthread_mutex_init(&s->house_mu, NULL);
  pthread_cond_init(&s->house_cv, NULL);
  pthread_mutex_init(&s->cam_mu, NULL);
  api_auth_init(s);
  s->listen = dup_or_null(s->cfg.listen);
  s->web_dir = dup_or_null(s->cfg.web_dir);
  s->cfg.listen = s->listen;
  s->cfg.web_dir = s->web_dir;
  s->cfg.tls_cert = s->cfg.tls_key = NULL; /* read below, not kept */
  s->mqtt_url = dup_or_null(c ? c->mqtt_url : NULL);
  s->mqtt_prefix = dup_or_null(s->cfg.mqtt_prefix);
  s->cfg.mqtt_url = s->mqtt_url;
  s->cfg.mqtt_prefix = s->mqtt_prefix;

  char dbp[4096];
  if (c && c->db_path) {
    snprintf(dbp, sizeof dbp, "%s", c->db_path);
  } else if (argus_store_default_path(dbp, sizeof dbp, err) != ARGUS_OK) {
    e = ARGUS_E_NOT_FOUND;
    goto fail;
  }
  s->db_path = strdup(dbp);
  s->cfg.db_path = s->db_path;
  s->pool_cap = s->cfg.threads + 4;
  s->pool = calloc((size_t)s->pool_cap, sizeof *s->pool);
  if (!s->db_path || !s->listen || !s->pool) {
    e = api_fail(err, ARGUS_E_NOMEM, "out of memory");
    goto fail;
  }
  /* The database must open now (a bad path fails the start, not every
   * request). It is created when missing: serve is a writer. */
  {
    argus_store *st = NULL;
    argus_store_options o = {0};
    o.actor = "api";
    if ((e = argus_store_open(s->db_path, &o, &st, err)) != ARGUS_OK)
      goto fail;
    pool_put(s, st);
    s->pool_open = 1;
  }

  struct sockaddr_storage ss;
  socklen_t sl = 0;
  if ((e = parse_listen(s->cfg.listen, &ss, &sl, err)) != ARGUS_OK)
    goto fail;
  int tls = (c && c->tls_cert && *c->tls_cert) || (c && c->tls_key && *c->tls_key);
  if (tls && !(c->tls_cert && *c->tls_cert && c->tls_key && *c->tls_key)) {
    e = api_fail(err, ARGUS_E_INVALID_ARG,
                         "HTTPS needs both --tls-cert and --tls-key");
    goto fail;
  }
  if (tls) {
    s->tls_cert = read_file(c->tls_cert, 1 << 20, err, "--tls-cert");
    if (!s->tls_cert) {
      e = ARGUS_E_IO;
      goto fail;
    }
    s->tls_key = read_file(c->tls_key, 1 << 20, err, "--tls-key");
    if (!s->tls_key) {
      e = ARGUS_E_IO;
      goto fail;
    }
    s->tls = 1;
  }

  /* Live events and outbound deliveries. */
  {
    argus_error_detail ee = {{0}};
    s->events = api_events_create(s, s->db_path, s->parts.bus,
                                  s->cfg.max_event_clients, s->cfg.event_lag,
                                  &ee);
    if (!s->events) {
      e = api_fail(err, ARGUS_E_INTERNAL, "live events: %s", ee.msg);
      goto fail;
    }
#ifdef HAVE_OUTBOUND
    api_outbound_config oc = {0};
    oc.db_path = s->db_path;
    oc.mqtt_url = s->cfg.mqtt_url;
    oc.mqtt_prefix = s->cfg.mqtt_prefix;
    if (api_outbound_create(&oc, &s->outbound, &ee) != ARGUS_OK) {
      e = api_fail(err, ARGUS_E_INTERNAL, "outbound: %s", ee.msg);
      goto fail;
    }
#endif
    api_events_set_alert_hook(s->events, on_alert_hook, s);
  }

  unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
                   MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
  if (ss.ss_family == AF_INET6)
    flags |= MHD_USE_IPv6;
  if (s->tls)
    flags |= MHD_USE_TLS;
  struct MHD_OptionItem opts[16];
  int k = 0;
  opts[k++] = (struct MHD_OptionItem){MHD_OPTION_SOCK_ADDR, 0, &ss};
  opts[k++] = (struct MHD_OptionItem){MHD_OPTION_UNESCAPE_CALLBACK,
                                      (intptr_t)unescape_cb, NULL};
  opts[k++] = (struct MHD_OptionItem){MHD_OPTION_THREAD_POOL_SIZE,
                                      (intptr_t)s->cfg.threads, NULL};
  opts[k++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_LIMIT,
                                      (intptr_t)s->cfg.max_connections, NULL};
  opts[k++] = (struct MHD_OptionItem){
      MHD_OPTION_CONNECTION_TIMEOUT,
      (intptr_t)(unsigned)ceil(s->cfg.timeout), NULL};
  opts[k++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_COMPLETED,
                                      (intptr_t)completed, s};
  opts[k++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_CONNECTION,
                                      (intptr_t)notify_connection, s};
  opts[k++] = (struct MHD_OptionItem){MHD_OPTION_EXTERNAL_LOGGER,
                                      (intptr_t)log_mhd, s};
  opts[k++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_MEMORY_LIMIT,
                                      (intptr_t)(64 * 1024), NULL};
  if (s->tls) {
    opts[k++] =
        (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, s->tls_cert};
    opts[k++] =
        (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, s->tls_key};
  }
  opts[k++] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
  s->daemon = MHD_start_daemon(flags, 0, NULL, NULL, access_cb, s,
                               MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
  if (!s->daemon) {
    e = api_fail(err, ARGUS_E_IO,
                         "cannot listen on %s (address in use, not an "
                         "address of this machine, or a bad TLS "
                         "certificate/key)",
                         s->cfg.listen);
    goto fail;
  }
  const union MHD_DaemonInfo *di =
      MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
  s->port = di ? di->port : 0;
  s->cfg.tls_cert = s->cfg.tls_key = NULL;

  if (pthread_create(&s->house, NULL, house_main, s) != 0) {
    e = api_fail(err, ARGUS_E_INTERNAL,
                         "cannot start the housekeeping thread");
    goto fail;
  }
  s->house_started = 1;
  api_cameras_sync(s);
  *out = s;
  return ARGUS_OK;
fail:
  argus_api_stop(s);
  return e;
}

void argus_api_stop(argus_api *s) {
  if (!s)
    return;
  if (s->house_started) {
    pthread_mutex_lock(&s->house_mu);
    s->stopping = 1;
    pthread_cond_signal(&s->house_cv);
    pthread_mutex_unlock(&s->house_mu);
    pthread_join(s->house, NULL);
  }
  /* Event streams end first (their connections are resumed and finish),
   * then the daemon stops and closes every connection. */
  if (s->events)
    api_events_shutdown(s->events);
  if (s->daemon)
    MHD_stop_daemon(s->daemon);
  api_events_destroy(s->events);
#ifdef HAVE_OUTBOUND
  api_outbound_destroy(s->outbound);
#endif
  api_cameras_forget(s);
  if (s->worker)
    argus_face_worker_free(s->worker);
  for (int i = 0; i < s->pool_n; i++)
    argus_store_close(s->pool[i]);
  free(s->pool);
  api_auth_free(s);
  while (s->socks) {
    api_sock *k = s->socks;
    s->socks = k->next;
    free(k);
  }
  free(s->db_path);
  free(s->listen);
  free(s->web_dir);
  free(s->mqtt_url);
  free(s->mqtt_prefix);
  if (s->tls_key)
    sodium_memzero(s->tls_key, strlen(s->tls_key));
  free(s->tls_cert);
  free(s->tls_key);
  pthread_mutex_destroy(&s->pool_mu);
  pthread_cond_destroy(&s->pool_cv);
  pthread_mutex_destroy(&s->count_mu);
  pthread_mutex_destroy(&s->engine_mu);
  pthread_mutex_destroy(&s->sock_mu);
  pthread_mutex_destroy(&s->house_mu);
  pthread_cond_destroy(&s->house_cv);
  pthread_mutex_destroy(&s->cam_mu);
  free(s);
}
