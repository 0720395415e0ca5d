/*
 * argus api: the operator service of `argus serve` — a REST API under
 * /api/v1 (JSON in and out, described by docs/openapi.json, served at
 * /api/v1/openapi.json), a live event stream (server-sent events with
 * replay from the store's event log), accounts with roles, operators'
 * decisions, Prometheus metrics, and outbound webhooks and MQTT.
 *
 * The HTTP server is libmicrohttpd (docs/api.md says why): a pool of
 * threads each running an epoll loop; event-stream connections are
 * suspended while they have nothing to send, so a thousand clients cost
 * no threads. Every handler checks the caller's role against the route
 * table (src/api/routes.c) before it runs; every request that reads or
 * writes biometric data is audited with the user and the client address.
 *
 * The server owns none of the parts it is given (pipeline, engine,
 * gallery, bus): `argus serve` makes them. It opens its own store handles
 * on the database (one per HTTP thread) and never blocks the pipeline: its
 * bus subscriptions have bounded queues.
 */
#ifndef ARGUS_API_H
#define ARGUS_API_H

#include <stddef.h>
#include <stdint.h>

#include "argus/bus.h"
#include "argus/core.h"
#include "argus/export.h"
#include "argus/face.h"
#include "argus/gallery.h"
#include "argus/pipeline.h"

ARGUS_BEGIN_DECLS

typedef struct argus_api argus_api;

typedef struct argus_api_config {
  const char *listen;    /* "ADDR:PORT" (NULL: "127.0.0.1:8080"); port 0
                            picks a free one (argus_api_port) */
  const char *tls_cert;  /* PEM files; both or neither (HTTPS) */
  const char *tls_key;
  const char *db_path;   /* the database (NULL: the default path) */
  int threads;           /* HTTP threads (0: one per core, 2..16) */
  size_t max_body;       /* largest request body, bytes (0: 32 MiB) */
  int max_connections;   /* open connections at most (0: 4096) */
  int max_event_clients; /* event-stream clients at most (0: 2048); one
                            more gets 503 */
  int event_lag;         /* events a stream client may fall behind before
                            it is dropped (it reconnects and replays from
                            the store) (0: 4096) */
  double session_ttl;    /* seconds a login lasts (0: 12 hours) */
  double timeout;        /* seconds of silence before a connection is
                            closed, also while a request's headers arrive
                            (0: 30) */
  const char *web_dir;   /* static console files served at / (NULL: none) */
  const char *mqtt_url;  /* "mqtt://host:port" (NULL: no MQTT) */
  const char *mqtt_prefix; /* topic prefix (NULL: "argus") */
  int login_attempts;    /* failed logins per account and per address in
                            login_window seconds before 429 (0: 5) */
  double login_window;   /* (0: 60) */
} argus_api_config;

/* Fills *c with the defaults above (zeroes mean "default"). */
void argus_api_config_init(argus_api_config *c);

typedef struct argus_api_parts {
  argus_pipeline *pipeline;  /* may be NULL: no cameras, no live stats */
  argus_face_engine *engine; /* identify and enrolment; may be NULL (those
                                routes answer 503) */
  argus_gallery *gallery;    /* the pipeline's gallery (enrolment goes
                                through it, so the index stays in sync) */
  argus_bus *bus;            /* the pipeline's bus (live events) */
} argus_api_parts;

/* Starts the server: opens its store handles, subscribes to the bus,
 * listens. Parts are kept (must outlive the server). Errors: INVALID_ARG
 * (bad address, one TLS file without the other), IO (cannot listen: err
 * says why, e.g. "address in use"), the store's errors; err says what. */
argus_err argus_api_start(const argus_api_config *c,
                          const argus_api_parts *parts, argus_api **out,
                          argus_error_detail *err);
/* The one-time code that lets POST /api/v1/setup create the first admin
 * while no user exists ("" once one does); argus serve prints it. */
const char *argus_api_setup_code(const argus_api *a);
/* The port it listens on. */
int argus_api_port(const argus_api *a);
/* Stops accepting, closes every connection (event streams end), delivers
 * what the outbound queues hold (bounded wait) and frees the server.
 * Accepts NULL. */
void argus_api_stop(argus_api *a);

ARGUS_END_DECLS
#endif
