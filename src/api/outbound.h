/* Outbound integrations of the operator service: every stored alert goes
 * out to the dispatch systems that asked for it, as an HTTP POST to each
 * matching webhook (libcurl) and as an MQTT message (libmosquitto).
 *
 * Webhooks (docs/api.md, "Webhooks"): one worker thread drives every
 * transfer with libcurl's multi interface. A delivery (one alert for one
 * webhook) waits in a queue ordered by due time; a webhook has at most one
 * transfer in flight, so a receiver that answers gets its alerts in order,
 * and a receiver that is slow or down never delays the others. A 2xx
 * answer delivers; anything else (status, timeout, refused connection) is
 * retried after backoff_first * 2^(k-1) seconds (capped at backoff_max,
 * times a random factor in [0.8, 1.2]) up to max_attempts attempts, then
 * recorded as a dead letter in the store with the last error. Each POST
 * carries X-Argus-Event-Id, X-Argus-Timestamp and X-Argus-Signature
 * (sha256=HMAC-SHA256 of "<timestamp>.<body>" under the webhook's secret).
 * The secret is never logged.
 *
 * MQTT: when mqtt_url is set, a libmosquitto client connects in the
 * background (its own thread, reconnecting with backoff) and every alert
 * is published at QoS 1 on "<prefix>/alerts/<watchlist>" (the watchlist
 * name with '+', '#' and '/' replaced by '_'). While there is no
 * connection libmosquitto refuses to publish: such alerts are counted in
 * mqtt_errors (the webhooks and the event stream still carry them).
 * Messages it took but the broker did not acknowledge before a connection
 * dropped are sent again after reconnecting; at most `queue` of them wait,
 * past that an alert is not published and counted in mqtt_errors.
 * Publishing never waits for the broker.
 *
 * Threads: every function may be called from any thread; create and
 * destroy once each.
 */
#ifndef ARGUS_API_OUTBOUND_H
#define ARGUS_API_OUTBOUND_H

#include <stddef.h>
#include <stdint.h>

#include "argus/core.h"

typedef struct api_outbound api_outbound;

typedef struct api_outbound_config {
  const char *db_path;     /* the store (NULL: the default path); borrowed */
  const char *mqtt_url;    /* "mqtt://host:port" (port 1883 when absent), or
                              NULL/"": no MQTT; borrowed */
  const char *mqtt_prefix; /* topic prefix; NULL/"": "argus" */
  int max_attempts;        /* attempts per delivery; 0: 8 */
  double backoff_first;    /* seconds before the first retry; 0: 1 */
  double backoff_max;      /* the cap of the doubling delay; 0: 60 */
  double timeout;          /* seconds per POST (connect included); 0: 10 */
  int queue;               /* deliveries waiting at most; 0: 4096 */
} api_outbound_config;

typedef struct api_outbound_stats {
  uint64_t delivered;       /* POSTs answered 2xx */
  uint64_t failed_attempts; /* POSTs that failed (each attempt) */
  uint64_t deadletters;     /* deliveries recorded as dead letters */
  uint64_t dropped;         /* deliveries lost: the queue and the overflow
                               list were both full, or the dead letter
                               could not be stored (logged) */
  int64_t queued;           /* deliveries waiting or in flight now */
  int webhooks;             /* enabled webhooks */
  uint64_t mqtt_published;  /* messages the broker acknowledged */
  uint64_t mqtt_errors;     /* alerts not published (no connection, too
                               many waiting, publish refused) */
  int mqtt_connected;       /* 1 while connected to the broker */
} api_outbound_stats;

/* Starts the module: opens its own store handle on c->db_path, reads the
 * webhooks, starts the delivery thread and (with c->mqtt_url) the MQTT
 * client, which connects in the background (a broker that is down is not
 * an error). c and its strings are copied. Errors: INVALID_ARG (a bad
 * mqtt_url or negative setting), IO (the store cannot be opened), NOMEM,
 * INTERNAL (a library or thread failed to start); err (may be NULL) says
 * why. */
argus_err api_outbound_create(const api_outbound_config *c, api_outbound **out,
                              argus_error_detail *err);

/* Hands one stored alert event to the webhooks whose filter matches
 * `watchlist` (borrowed, may be NULL: matches only webhooks without a
 * filter) and to MQTT. json (n bytes, borrowed, copied) is the body that
 * is POSTed / published. Never blocks on the network or the store: the
 * alert is queued for the delivery thread. When `queue` deliveries already
 * wait (or 64 MiB of bodies), the alert goes onto a bounded overflow list
 * whose deliveries the thread records at once as dead letters with the
 * error "queue full" (retryable from the API); if that list is full too
 * the alert is counted in `dropped` and logged. o NULL: nothing. */
void api_outbound_alert(api_outbound *o, int64_t event_id,
                        const char *watchlist, const char *json, size_t n);

/* Re-reads the webhooks from the store (after the API changed them), on
 * the delivery thread before it looks at any alert handed over after this
 * call. Deliveries waiting for a webhook that was removed are dropped. */
void api_outbound_reload(api_outbound *o);

/* Queues dead letter `id` again as a new delivery (its stored payload, to
 * its webhook, max_attempts attempts). Delivered: the dead letter is
 * removed; failed for good: it is replaced by a new dead letter (new id)
 * with the new error. Until then it stays listed; a second retry while one
 * is queued does nothing. Errors: NOT_FOUND (no such dead letter, or its
 * webhook was removed), IO (store), NOMEM; err (may be NULL) says why. */
argus_err api_outbound_retry_deadletter(api_outbound *o, int64_t id,
                                        argus_error_detail *err);

/* Counters for /metrics. o NULL: zeroes. (Named _get: the struct has the
 * name api_outbound_stats.) */
void api_outbound_stats_get(api_outbound *o, api_outbound_stats *s);

/* Stops: alerts handed over before are still attempted for at most 5
 * seconds (waiting retries become due early: the backoff is skipped while
 * draining); what is not delivered by then is recorded as a dead letter
 * ("not delivered before shutdown: <last error>"), so that nothing handed
 * over is lost. MQTT gets at most 1 second to send what waits. Frees.
 * Accepts NULL. */
void api_outbound_destroy(api_outbound *o);

/* The server's outbound module (src/api/server.c); NULL when it did not
 * start. Declared in api_internal.h too. */
struct argus_api;
struct api_outbound *api_server_outbound(struct argus_api *s);

#endif
