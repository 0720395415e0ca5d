/* The live event stream of the operator service: GET /api/v1/events as
 * server-sent events (text/event-stream).
 *
 * Sources: the bus ("alert": stored alerts; "camera.status": only when a
 * camera's state changes; "watchlist.change") and api_events_publish from
 * handlers ("decision", "camera.change", ...). Every event is appended to
 * the store's event log first (argus_store_event_append, on the module's
 * own store handle); its row id is its SSE `id:`. Then it goes into an
 * in-memory ring of the last `lag` events, from which every client's
 * reader copies frames ("id: 12\nevent: alert\ndata: {...}\n\n").
 *
 * Clients: a connection with nothing to send is suspended (no thread, no
 * polling); every publish resumes the suspended ones. A client whose
 * cursor falls behind the ring's oldest event (it did not read `lag`
 * events) is dropped; it reconnects with Last-Event-ID and replays from
 * the store. Publishing never waits for clients. `Last-Event-ID` (or
 * `?after=ID`) replays what was missed, from the store when the ring no
 * longer holds it: every event once, in order. Without it a client gets
 * new events only. ": ping" comments every 15 s of silence.
 *
 * Threads: every function may be called from any thread.
 */
#ifndef ARGUS_API_EVENTS_H
#define ARGUS_API_EVENTS_H

#include <stddef.h>
#include <stdint.h>

#include "api_internal.h"
#include "argus/bus.h"

typedef struct api_events api_events;

/* Starts the module: opens its store handle on db_path (NULL: the default
 * path), subscribes to the bus (may be NULL: only api_events_publish
 * feeds it), starts the heartbeat thread. max_clients (<= 0: 2048)
 * bounds concurrent streams (one more gets 503); lag (<= 0: 4096) is the
 * ring's size. srv is kept (may be NULL in tests). NULL on failure, err
 * (may be NULL) says why. */
api_events *api_events_create(api_server *srv, const char *db_path,
                              argus_bus *bus, int max_clients, int lag,
                              argus_error_detail *err);
/* Ends every stream (suspended ones are resumed; readers return
 * end-of-stream) and refuses new ones (503). Call before the HTTP daemon
 * stops. Idempotent; accepts NULL. */
void api_events_shutdown(api_events *ev);
/* Unsubscribes, stops the heartbeat thread, frees. Call after the HTTP
 * daemon stopped (no reader runs). Accepts NULL. */
void api_events_destroy(api_events *ev);

/* Publishes an event: type 1..63 bytes of [a-z0-9._-]; json a JSON object
 * of n bytes (at most ARGUS_STORE_EVENT_MAX), borrowed. Appended to the
 * event log, then sent to every client. Blocks for the append only (the
 * store's write, serialised with the other publishers); never on clients.
 * An event that cannot be stored is logged, counted and not sent. */
void api_events_publish(api_events *ev, const char *type, const char *json,
                        size_t n);

/* Called (on the publishing thread, in id order) after each stored alert
 * event was appended: its event id, the alert's watchlist name and the
 * event's JSON (the SSE data). fn NULL: none. Set it before events flow
 * (e.g. right after create). */
void api_events_set_alert_hook(api_events *ev,
                               void (*fn)(void *user, int64_t event_id,
                                          const char *watchlist,
                                          const char *json, size_t n),
                               void *user);

typedef struct api_events_stats {
  int clients;              /* streams open now */
  uint64_t clients_total;   /* streams opened since start */
  uint64_t clients_dropped; /* dropped for falling behind */
  uint64_t clients_refused; /* 503: too many */
  uint64_t events;          /* events published (stored and sent) */
  uint64_t events_failed;   /* events that could not be stored */
  uint64_t replayed;        /* events replayed from the store */
  int64_t last_id;          /* newest event id */
} api_events_stats;

/* Counters for /metrics. ev NULL: zeroes. */
void api_events_get_stats(api_events *ev, api_events_stats *out);

#endif
