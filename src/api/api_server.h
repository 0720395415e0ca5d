/* The server's state (src/api/server.c) and the internal functions of its
 * own files (auth.c, cameras.c, h_system.c). Handlers use api_internal.h
 * only. */
#ifndef ARGUS_API_SERVER_H
#define ARGUS_API_SERVER_H

#include <pthread.h>
#include <stdint.h>

#include "api_internal.h"

#define API_COUNTERS_MAX 512
#define API_RATE_SLOTS 1024
#define API_AUTH_CACHE 256

typedef struct api_counter {
  int route; /* index in api_routes; api_nroutes: none matched */
  int status;
  uint64_t count;
  double seconds;
} api_counter;

/* Failed logins of one key ("u:name" or "a:address") in a window. */
typedef struct api_rate {
  uint64_t key;  /* hash; 0: free */
  uint64_t window_start_ns;
  int failures;
} api_rate;

/* A recently checked credential (SHA-256 of the token) and its user, so
 * that a busy client does not cost a database lookup per request; kept
 * for a second at most, and dropped on any account change. */
typedef struct api_auth_cached {
  uint8_t key[32];
  int used;
  int is_session;
  uint64_t checked_ns;
  argus_store_user user;
  char csrf[ARGUS_STORE_TOKEN_MAX];
} api_auth_cached;

/* A camera the server runs: the stored row it came from and its index in
 * the pipeline. */
typedef struct api_cam {
  argus_store_id id;
  char name[ARGUS_STORE_NAME_MAX];
  char url[ARGUS_STORE_TEXT_MAX];
  char settings[ARGUS_STORE_JSON_MAX];
  int index;
} api_cam;

struct argus_api {
  argus_api_config cfg; /* strings point at the copies below */
  argus_api_parts parts;
  char *db_path, *listen, *web_dir, *mqtt_url, *mqtt_prefix;
  char *tls_cert, *tls_key;
  int tls;
  struct MHD_Daemon *daemon;
  int port;
  /* Store handles, one per request at a time. */
  pthread_mutex_t pool_mu;
  pthread_cond_t pool_cv;
  argus_store **pool;
  int pool_n, pool_open, pool_cap;
  /* Counters per (route, status). */
  pthread_mutex_t count_mu;
  api_counter counters[API_COUNTERS_MAX];
  int ncounters;
  /* Face engine for identify / enrolment. */
  pthread_mutex_t engine_mu;
  argus_face_worker *worker;
  /* Connections (header deadline). */
  pthread_mutex_t sock_mu;
  struct api_sock *socks;
  uint64_t slow_cut;
  /* Housekeeping thread: camera sync, slow headers. */
  pthread_t house;
  int house_started;
  pthread_mutex_t house_mu;
  pthread_cond_t house_cv;
  int stopping, sync_wanted;
  /* Cameras running in the pipeline. */
  pthread_mutex_t cam_mu;
  api_cam *cams;
  int ncams, cams_cap;
  /* Accounts (auth.c). */
  pthread_mutex_t auth_mu;
  int setup_done; /* a user exists (sticky once seen) */
  char setup_code[32];
  api_rate rates[API_RATE_SLOTS];
  api_auth_cached cache[API_AUTH_CACHE];
  uint64_t auth_epoch;
  /* Live events and outbound deliveries. */
  struct api_events *events;
  struct api_outbound *outbound;
};

/* A store handle from the server's pool (NULL when the database cannot be
 * opened) and its return. */
argus_store *api_server_store_get(api_server *s);
void api_server_store_put(api_server *s, argus_store *st);

/* auth.c */
void api_auth_init(api_server *s);
void api_auth_free(api_server *s);
/* 1 when a user exists; else 0 (the caller answers 503). */
int api_setup_done(api_server *s, api_req *r);
/* Authenticates r from its bearer token or session cookie: 1, or 0 after
 * answering 401. */
int api_authenticate(api_server *s, api_req *r);
/* The same without answering (public routes). */
void api_authenticate_optional(api_server *s, api_req *r);
/* The CSRF check of a cookie-authenticated state-changing request: 1, or 0
 * after answering 403. */
int api_csrf_ok(api_server *s, api_req *r);
/* Forgets cached credentials (after a user, session or token change). */
void api_auth_changed(api_server *s);
/* The one-time code that lets POST /api/v1/setup create the first admin
 * (printed by argus serve); "" once a user exists. */
const char *api_setup_code(api_server *s);

/* cameras.c: makes the pipeline's cameras follow the enabled stored ones. */
void api_cameras_reconcile(api_server *s);
void api_cameras_forget(api_server *s);

/* h_system.c: a static console file for GET r->path from web_dir: 1 when
 * answered (found), 0 otherwise. */
int api_static_serve(api_server *s, api_req *r);

#endif
