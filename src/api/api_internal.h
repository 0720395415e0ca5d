/* Internals of the operator service shared by its files: the request a
 * handler sees, the route table, the helpers that answer.
 *
 *   server.c    libmicrohttpd daemon, request bodies (capped), routing,
 *               authentication, role check, metrics per route, errors
 *   routes.c    the route table: method, path pattern, roles, handler
 *   auth.c      login/logout, sessions, CSRF, API tokens, rate limits
 *   events.c    live event stream (SSE), event log, replay
 *   h_*.c       handlers by resource
 *   multipart.c, json_in.c   request parsing (fuzzed: fuzz/fuzz_api_*.c)
 *   outbound.c  webhooks (libcurl) and MQTT (libmosquitto)
 *   metrics.c   /metrics in Prometheus text format
 *
 * A handler runs on one of the HTTP threads with a request whose user is
 * authenticated and whose role the route allows (public routes: user NULL).
 * It answers with exactly one api_reply_* call (or returns without one:
 * the server then answers 500) and returns. It may block briefly (store,
 * face engine): the thread's other connections wait meanwhile.
 */
#ifndef ARGUS_API_INTERNAL_H
#define ARGUS_API_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "argus/api.h"
#include "argus/core.h"
#include "argus/store.h"

#define API_MOD "api"
#define API_PREFIX "/api/v1"
#define API_MAX_PARAMS 4

/* Role bits of a route (bit r = argus_role r may call it). */
#define API_R_ADMIN (1u << ARGUS_ROLE_ADMIN)
#define API_R_SUPERVISOR (1u << ARGUS_ROLE_SUPERVISOR)
#define API_R_OPERATOR (1u << ARGUS_ROLE_OPERATOR)
#define API_R_AUDITOR (1u << ARGUS_ROLE_AUDITOR)
#define API_R_ANY                                                              \
  (API_R_ADMIN | API_R_SUPERVISOR | API_R_OPERATOR | API_R_AUDITOR)
/* No login needed. */
#define API_R_PUBLIC 0u

/* Route flags. */
#define API_F_STREAM 1u   /* the handler answers with a stream (events) */
#define API_F_MULTIPART 2u /* accepts multipart/form-data bodies */
#define API_F_NO_SETUP 4u /* served also before the first admin exists */

typedef struct argus_api api_server;
typedef struct api_req api_req;
typedef void (*api_handler)(api_req *r);
/* A streamed answer's content reader (api_reply_stream). */
typedef int64_t (*api_stream_reader)(void *ctx, uint64_t pos, char *buf,
                                     size_t max);

typedef struct api_route {
  const char *method;  /* "GET", "POST", "PUT", "PATCH", "DELETE" */
  const char *pattern; /* "/api/v1/alerts/{id}/decision": {name} matches
                          one non-empty segment without '/' */
  unsigned roles;      /* API_R_* bits, or API_R_PUBLIC */
  unsigned flags;      /* API_F_* */
  api_handler fn;
} api_route;

extern const api_route api_routes[];
extern const size_t api_nroutes;

/* One request, valid during the handler. */
struct api_req {
  api_server *srv;
  void *conn;              /* struct MHD_Connection * */
  const api_route *route;
  const char *method;
  const char *path;        /* decoded path, without the query */
  const char *params[API_MAX_PARAMS]; /* the {name} segments, in order */
  int nparams;
  const char *body;        /* NUL-terminated; "" when none */
  size_t body_size;
  const char *content_type; /* "" when none */
  char address[64];        /* the client's address */
  /* The caller (route roles != PUBLIC): user->id > 0. */
  argus_store_user user;
  int authed;
  int via_token;           /* authenticated by an API token (no CSRF) */
  char csrf_[ARGUS_STORE_TOKEN_MAX]; /* the session's CSRF token */
  char actor[ARGUS_STORE_NAME_MAX + 8]; /* "api:<user>" for audit rows */
  /* Answer (set by api_reply_*). */
  int status;
  char *resp;              /* malloc'd */
  size_t resp_size;
  const char *resp_type;
  char extra_headers[1024]; /* "Name: value\r\n" lines */
  int replied;
  /* Internal: the store handle checked out for this request; a streamed
   * answer. */
  argus_store *store_;
  api_stream_reader stream_reader;
  void (*stream_free)(void *ctx);
  void *stream_ctx;
};

/* ---- answering ----------------------------------------------------------- */

/* A JSON answer written by fn into j; the buffer grows (and fn is called
 * again) until the document fits (at most 64 MiB). */
typedef void (*api_json_fn)(void *user, argus_json *j);
void api_reply_json(api_req *r, int status, api_json_fn fn, void *user);
/* A JSON answer from a finished string (copied). */
void api_reply_raw_json(api_req *r, int status, const char *json, size_t n);
/* {"error": code, "message": printf(fmt)}; code is a short word
 * ("bad_request", "not_found", "forbidden", "conflict", ...). */
void api_reply_error(api_req *r, int status, const char *code,
                     const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Maps a library error to an HTTP answer: INVALID_ARG 400, NOT_FOUND 404,
 * LIMIT 413, UNSUPPORTED 415, CORRUPT 400 (bad input) or 500 (stored
 * data), others 500; message from err (may be NULL). */
void api_reply_err(api_req *r, argus_err e, const argus_error_detail *err);
/* Bytes (copied when take is 0; taken, i.e. freed with free(), when 1). */
void api_reply_bytes(api_req *r, int status, const char *content_type,
                     void *data, size_t n, int take);
/* 204 No Content. */
void api_reply_empty(api_req *r, int status);
/* Adds a response header (name and value must not hold CR/LF). */
void api_add_header(api_req *r, const char *name, const char *value);

/* A streamed answer (the live event stream): `reader` is libmicrohttpd's
 * content reader (return bytes written, 0 after suspending the connection
 * when nothing is ready — see events.c —, or
 * MHD_CONTENT_READER_END_OF_STREAM / _END_WITH_ERROR); free_ctx is called
 * once when the connection ends. Sent as text/event-stream, not cached. */
void api_reply_stream(api_req *r, api_stream_reader reader,
                      void (*free_ctx)(void *ctx), void *ctx);
/* The request's struct MHD_Connection (for suspend/resume). */
void *api_req_connection(api_req *r);

/* ---- reading the request ------------------------------------------------- */

/* A query argument (NULL when absent). */
const char *api_query(api_req *r, const char *key);
/* A request header (NULL when absent). */
const char *api_header(api_req *r, const char *name);
/* Path parameter i as a row id (> 0): 1 on success; else answers 404
 * ("no <what> with id 'x'") and returns 0. */
int api_param_id(api_req *r, int i, const char *what, argus_store_id *out);
/* Query argument `key` as an integer in [lo, hi] (*out unchanged when
 * absent): 1 on success or absent; else answers 400 naming it and returns
 * 0. */
int api_query_int(api_req *r, const char *key, int64_t lo, int64_t hi,
                  int64_t *out);
/* After a store lookup of the <what> of row id `id` that returned e: 1
 * when e is OK; else 0 after answering 404 "no <what> with id N" for
 * NOT_FOUND, or as api_reply_err (err may be NULL). */
int api_found(api_req *r, argus_err e, const argus_error_detail *err,
              const char *what, argus_store_id id);
/* The row of id `id` among n rows of `size` bytes whose argus_store_id is
 * at byte offset id_off; NULL when none. */
const void *api_row_find(const void *rows, size_t n, size_t size,
                         size_t id_off, argus_store_id id);
/* The body as a JSON object (cJSON_Delete the result): NULL after
 * answering 400 ("body: expected a JSON object", "body: invalid JSON at
 * byte N") or 415 (content type not application/json). */
cJSON *api_body_object(api_req *r);

/* ---- paging (every list route) ------------------------------------------- */

/* Largest page (`limit`) and the default. */
#define API_PAGE_LIMIT_MAX 1000
#define API_PAGE_LIMIT_DEFAULT 50

/* The paging arguments of a list route: `limit` (1..1000, default 50) and
 * `cursor` (a positive id this server gave as next_cursor; 0 when absent).
 * 1, or 0 after answering 400 naming the parameter. */
int api_page_args(api_req *r, size_t *limit, argus_store_id *cursor);

/* One page of rows for api_page_json: `item` writes rows[i] (at
 * rows + i * size) as one array element, with ctx; `next` is the id to
 * continue after (the last listed row's), 0 on the last page. Nothing is
 * owned. */
typedef struct api_page {
  const void *rows;
  size_t size, n;
  void (*item)(const void *row, void *ctx, argus_json *j);
  void *ctx;
  argus_store_id next;
} api_page;

/* The api_json_fn of a page (user: const api_page *): {"items": [...],
 * "next_cursor": "<id>" | null}. */
void api_page_json(void *user, argus_json *j);

/* Makes *p a page of `rows` (n rows of `size` bytes, each with its
 * argus_store_id at byte offset id_off): the rows in id order (ascending,
 * or descending when desc), those at or before `cursor` dropped (cursor 0:
 * none), at most `limit` kept; p->next is the last kept row's id when more
 * follow, else 0. The rows are reordered in place (p->rows points into
 * them); p->item and p->ctx are left as they are. */
void api_page_cut(api_page *p, void *rows, size_t n, size_t size,
                  size_t id_off, int desc, argus_store_id cursor,
                  size_t limit);

/* Defines `static void name(const void *row, void *ctx, argus_json *j)`,
 * an api_page item that writes a `type` row with fn(const type *,
 * argus_json *) (the store's record writers). */
#define API_PAGE_ITEM(name, type, fn)                                          \
  static void name(const void *row, void *ctx, argus_json *j) {                \
    (void)ctx;                                                                 \
    fn((const type *)row, j);                                                  \
  }

/* ---- the store, audit ---------------------------------------------------- */

/* A store handle for this request (checked out of the server's pool, its
 * actor set to r->actor; returned when the request ends). NULL after
 * answering 503 when the database cannot be opened. */
argus_store *api_store(api_req *r);
/* An audit row with the user and the address in its detail (detail_json
 * NULL or a JSON object's members without braces, e.g. "\"n\":3"). */
void api_audit(api_req *r, const char *action, const char *object_type,
               argus_store_id object_id, const char *detail_members);

/* ---- server parts handlers may use --------------------------------------- */

const argus_api_config *api_config(api_server *s);
argus_pipeline *api_pipeline(api_server *s);
argus_face_engine *api_engine(api_server *s);
argus_gallery *api_gallery(api_server *s);
argus_bus *api_bus(api_server *s);
/* Serialises use of the face engine by handlers (identify, enrolment run
 * on one engine worker). */
void api_engine_lock(api_server *s);
void api_engine_unlock(api_server *s);
argus_face_worker *api_engine_worker(api_server *s);

/* Publishes a live event (appended to the event log, then sent to every
 * stream client): type "alert", "decision", "camera.status",
 * "watchlist.change", ...; data a JSON object. */
void api_event_publish(api_server *s, const char *type, const char *json,
                       size_t n);
/* After a camera was added, changed or removed in the store: makes the
 * running pipeline's cameras follow the store. */
void api_cameras_sync(api_server *s);
/* The pipeline's index of a stored camera that runs (-1: not running). */
int api_camera_index(api_server *s, argus_store_id camera_id);

/* Calls fn for every (route, status) counted so far: requests and the sum
 * of their handling times. Routes are the table's patterns ("-" for
 * requests that matched no route). */
void api_http_counters(api_server *s,
                       void (*fn)(void *user, const char *method,
                                  const char *pattern, int status,
                                  uint64_t count, double seconds_sum),
                       void *user);
/* The outbound module (webhooks, MQTT; src/api/outbound.h); NULL when it
 * could not start. */
struct api_outbound *api_server_outbound(api_server *s);
/* The live event module (src/api/events.h). */
struct api_events *api_server_events(api_server *s);

/* ---- handlers (h_*.c), named in routes.c --------------------------------- */

#define API_HANDLER(name) void name(api_req *r)

#endif
