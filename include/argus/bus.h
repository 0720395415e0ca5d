/*
 * argus bus: publish/subscribe of versioned JSON documents between the parts
 * of argus (the live pipeline, the store writer, the API's live stream, a
 * NATS publisher, webhooks).
 *
 * A message is a topic ("alert", "face", "camera.status", ...), an id and a
 * JSON document (a UTF-8 object text, at most ARGUS_BUS_MSG_MAX bytes; every
 * document argus writes carries "v": ARGUS_BUS_VERSION and "type", see
 * docs/bus.md for their fields). Ids make delivery idempotent: a bus drops a
 * message whose (topic, id) it has seen among the last `dedupe_window`
 * messages (counted as a duplicate), so a publisher that retries after an
 * error, or an at-least-once transport that redelivers, never produces the
 * same event twice; subscribers of a transport without that guarantee dedupe
 * by id themselves.
 *
 * Backends are a const table of operations plus a context, chosen by the URL
 * given to argus_bus_open in one place (src/bus/bus.c): "inproc" (the
 * default: in-process, no I/O) now; "nats://host:port" (NATS JetStream, for
 * split roles) later, with the same semantics.
 *
 * Subscribers never slow the publisher down. Each subscription owns a bounded
 * queue (messages and bytes, allocated when it is made); publishing copies
 * the message into the queue of each matching subscription and returns. When
 * a queue is full its oldest message is dropped and counted, so a slow or
 * stuck subscriber loses its own old messages and nothing else. A
 * subscription either gets callbacks on its own dispatcher thread, in
 * publish order, or is polled with argus_bus_next. Publishing allocates
 * nothing.
 *
 * Threads: every function may be called from any thread; a handler may
 * publish (to any topic) and may unsubscribe itself.
 */
#ifndef ARGUS_BUS_H
#define ARGUS_BUS_H

#include <stddef.h>
#include <stdint.h>

#include "argus/core.h"
#include "argus/event.h"
#include "argus/export.h"

ARGUS_BEGIN_DECLS

/* Version ("v") of the documents this argus writes. */
#define ARGUS_BUS_VERSION 1
/* Largest document, topic and id (bytes, without the NUL). */
#define ARGUS_BUS_MSG_MAX ((size_t)64 << 10)
#define ARGUS_BUS_TOPIC_MAX 63
#define ARGUS_BUS_ID_MAX 63

/* The topics argus publishes (NATS subjects "argus.<topic>"). */
#define ARGUS_BUS_TOPIC_ALERT "alert"                /* a watchlist alert */
#define ARGUS_BUS_TOPIC_FACE "face"                  /* a searched best shot */
#define ARGUS_BUS_TOPIC_CAMERA "camera.status"       /* per camera, periodic */
#define ARGUS_BUS_TOPIC_PIPELINE "pipeline.status"   /* periodic */
#define ARGUS_BUS_TOPIC_WATCHLIST "watchlist.change" /* enrolment changed */

typedef struct argus_bus argus_bus;
typedef struct argus_bus_sub argus_bus_sub;

/* A delivered message. Strings are NUL-terminated; everything is owned by
 * the subscription and valid during the callback, or until the next
 * argus_bus_next / argus_bus_unsubscribe for a polled subscription. */
typedef struct argus_bus_msg {
  const char *topic;
  const char *id;
  const char *data; /* the JSON document */
  size_t size;      /* strlen(data) */
  uint64_t seq;     /* publish order on this bus, from 1 (NATS: the
                       stream sequence of a stored topic's message, or the
                       subscription's own count for the others) */
  int64_t wall_ns;  /* when it was published, UTC nanoseconds */
  uint64_t mono_ns; /* the same on the argus_time_ns() clock */
  /* A typed event (argus_bus_publish_event) delivered to a subscription
   * made with `events` set: the publisher's struct itself (data is then ""
   * and size 0), referenced by the subscription for as long as the message
   * is (take argus_event_ref to keep it longer). NULL otherwise. */
  const argus_event *event;
} argus_bus_msg;

/* A callback. `user` is the subscription's; msg is borrowed. */
typedef void (*argus_bus_handler)(void *user, const argus_bus_msg *msg);
/* A callback for n >= 1 messages that arrived together, in publish order;
 * msgs[] is borrowed for the call. */
typedef void (*argus_bus_batch_handler)(void *user, const argus_bus_msg *msgs,
                                        int n);

typedef struct argus_bus_options {
  /* Ids remembered for duplicate suppression (0: 4096; at most 1 << 20). */
  int dedupe_window;
} argus_bus_options;

/* Opens a bus. url: NULL or "inproc" (in-process), or
 * "nats://host:port[,nats://host2:port2...][?options]" (NATS JetStream;
 * options, '&'-separated: replicas=N (stream replicas, default 1),
 * ack_wait=S (seconds before an unacknowledged group message is delivered
 * again, default 30), max_age=S (how long stored topics keep a message,
 * default 86400), name=TEXT (the connection's name on the server),
 * spool=FOLDER (publications of stored topics that cannot be handed to the
 * server -- no connection, or not acknowledged -- are written there and
 * sent, in order and under their ids, when it answers again: publishing
 * never waits for the network; they survive a restart of the process),
 * spool_max=BYTES (the spool's bound, default 1 GiB, at least 16 KiB: when
 * full, the oldest are dropped and counted in argus_bus_stats.lost),
 * crops=request|inline (request, the default: a face event's crop stays
 * with its publisher and travels only with an alert or a kept unmatched
 * face, asked for by the publisher of that; inline: every face event
 * carries its crop), crop_keep=N (how many recent faces' crops a publisher
 * keeps for those requests, default 16384)).
 * Several servers (a cluster) are tried in turn, and the connection moves
 * to another when its server goes.
 * Opening a NATS bus connects (refused with a clear error when no server
 * answers within 5 s, except with a spool: then it connects later and
 * publications wait in the spool) and creates the streams that are
 * missing. opts may be
 * NULL; err (may be NULL) says what failed. Errors: INVALID_ARG,
 * UNSUPPORTED (unknown scheme; err names the URL), IO (no server, or the
 * server refused the streams), NOMEM. */
argus_err argus_bus_open(const char *url, const argus_bus_options *opts,
                         argus_bus **out, argus_error_detail *err);
/* Unsubscribes every remaining subscription (joining their dispatchers) and
 * frees the bus. Must not be called from a handler, nor while another thread
 * publishes, polls or unsubscribes. Accepts NULL. */
void argus_bus_close(argus_bus *bus);
/* Name of the backend ("inproc", "nats"). */
const char *argus_bus_backend(const argus_bus *bus);

/* Publishes a document. topic: 1..ARGUS_BUS_TOPIC_MAX bytes of [a-z0-9._-];
 * id: 1..ARGUS_BUS_ID_MAX printable bytes (no spaces), unique per event
 * (argus_bus_make_id); json: `size` bytes (a JSON object: starts with '{',
 * ends with '}', no NUL), borrowed and copied. A (topic, id) already seen
 * within the dedupe window is dropped and counted; the call still returns
 * OK. Errors: INVALID_ARG (bad topic, id or document; logged), LIMIT
 * (document larger than ARGUS_BUS_MSG_MAX). */
argus_err argus_bus_publish(argus_bus *bus, const char *topic, const char *id,
                            const char *json, size_t size);
/* Publishes a typed event under its id (ev->id, set by the caller, e.g.
 * with argus_bus_make_id; the event must not change once published). The
 * bus takes its own references: subscriptions made with `events` receive
 * the struct itself (in-process: nothing is serialised); the others receive
 * its JSON document (argus_event_to_json), written once per publication and
 * only when such a subscription matches. Duplicates as for
 * argus_bus_publish. Errors: INVALID_ARG (bad topic, id or event; logged),
 * LIMIT (its document is larger than ARGUS_BUS_MSG_MAX). */
argus_err argus_bus_publish_event(argus_bus *bus, const char *topic,
                                  const argus_event *ev);

/* Writes a fresh id "<prefix>-<random 64 bits>-<counter>" (prefix may be
 * NULL: "msg") into out. Unique per process run with overwhelming
 * probability; never repeats within one bus. Errors: INVALID_ARG (prefix
 * longer than 24 bytes or not a topic-like word). */
argus_err argus_bus_make_id(argus_bus *bus, const char *prefix,
                            char out[ARGUS_BUS_ID_MAX + 1]);

typedef struct argus_bus_sub_options {
  /* Topics: an exact topic, "prefix.*" (any topic starting with
   * "prefix."), or "*" (all). Required. Borrowed, copied. */
  const char *pattern;
  /* Queue bounds (0: 256 messages, 1 MiB). queue_bytes is at least 4 KiB;
   * a message larger than the whole queue is dropped (counted). */
  int queue_msgs;
  size_t queue_bytes;
  /* Non-NULL: called on the subscription's own dispatcher thread for each
   * message, in publish order. NULL: poll with argus_bus_next. */
  argus_bus_handler handler;
  void *user; /* kept, passed to the handler */
  /* Nonzero: typed events (argus_bus_publish_event) arrive as
   * argus_bus_msg.event, without serialisation; documents published with
   * argus_bus_publish still arrive as text. Zero: everything as text. */
  int events;
  /* Shared, acknowledged consumption (the NATS backend, split roles):
   * subscriptions with the same group name, in any process, share the
   * messages of a stored topic (face, alert.raised, alert.suppressed,
   * face.unmatched, watchlist.change): each
   * message goes to one of them, and it is acknowledged only after its
   * handler returned (polled: at the next argus_bus_next or the
   * unsubscription), so a message whose process died before that is
   * delivered again to another member (at-least-once; effects must be
   * idempotent by message id). A group keeps its position while no member
   * runs: a member that starts later gets what was published meanwhile.
   * 1..32 bytes of [a-z0-9_-]; NULL: every subscription gets every
   * message. The in-process bus has one process: the group is checked and
   * otherwise ignored. */
  const char *group;
  /* Stored topics without a group: start with the message of this stream
   * sequence (argus_bus_msg.seq of an earlier delivery + 1), to catch up
   * after a restart. 0: messages published from now on. In-process:
   * ignored. */
  uint64_t start_seq;
  /* Optional, with `handler`: the messages of one delivery round (NATS
   * pull consumers: one fetch, at most batch_max, 1..64; 0: 64) go to this
   * callback at once, so that a subscriber can handle them together (a
   * matcher searches a batch of faces in one pass over its templates); a
   * group acknowledges them after it returns. Backends that deliver one
   * message at a time (in-process) call it with n = 1. */
  argus_bus_batch_handler batch_handler;
  int batch_max;
} argus_bus_sub_options;

/* Subscribes. Messages published after the call are queued. err (may be
 * NULL) says what failed. Errors: INVALID_ARG (NULL, bad pattern or
 * bounds), NOMEM, INTERNAL (thread). */
argus_err argus_bus_subscribe(argus_bus *bus, const argus_bus_sub_options *o,
                              argus_bus_sub **out, argus_error_detail *err);
/* Why the calling thread's last failed bus call (any function of this
 * header) failed: "publish alert x: the document is not a JSON object";
 * "" when none did. Per thread, so that publishers on many threads each
 * see their own reason; also logged. open and subscribe copy it into their
 * err. */
const char *argus_bus_last_error(void);
/* Ends a subscription: no further callbacks once it returns (a running
 * callback is waited for, except when a handler unsubscribes its own
 * subscription: then the dispatcher ends after that callback). Queued
 * messages are discarded. Accepts NULL. */
void argus_bus_unsubscribe(argus_bus_sub *sub);

/* Polled subscriptions: takes the oldest queued message, waiting up to
 * timeout_s seconds (0: don't wait; < 0: until a message comes). Returns OK
 * with *got = 0 when none came. The message stays valid until the next call
 * or the unsubscription. One thread polls a subscription at a time, and it
 * is not unsubscribed (nor the bus closed) while a poll runs. Errors:
 * INVALID_ARG (NULL, or a callback subscription). */
argus_err argus_bus_next(argus_bus_sub *sub, double timeout_s,
                         argus_bus_msg *msg, int *got);

/* Waits until every callback subscription has handled everything queued
 * before the call (or timeout_s seconds passed; < 0: no limit). Returns OK,
 * or LIMIT on timeout. Must not be called from a handler (INVALID_ARG). */
argus_err argus_bus_flush(argus_bus *bus, double timeout_s);

typedef struct argus_bus_stats {
  uint64_t published;  /* accepted messages */
  uint64_t duplicates; /* dropped as already seen */
  uint64_t delivered;  /* handed to subscribers (callbacks run, polls) */
  uint64_t dropped;    /* dropped by full subscriber queues */
  int subscriptions;
  /* NATS: publications of stored topics the server did not take at once
   * (refused, unacknowledged, no stream leader; with a spool also those
   * made without a connection), sent again in order by the resend thread;
   * waiting for that now (in memory, or in the spool: including what a
   * previous run left there); written to the spool since open; lost (a
   * full spool dropped its oldest, a full memory queue refused new ones,
   * or the bus closed without a spool while they waited). 0 in process. */
  uint64_t resent;
  uint64_t waiting;
  uint64_t spooled;
  uint64_t lost;
  /* NATS, crops=request: crops this process sent to a requester (an edge),
   * fetched for an alert it published (a matcher), and could not fetch
   * (the alert went without its crop). 0 in process. */
  uint64_t crops_served, crops_fetched, crops_missing;
} argus_bus_stats;

typedef struct argus_bus_sub_stats {
  uint64_t received;  /* messages that matched the pattern */
  uint64_t delivered; /* handed to the subscriber */
  uint64_t dropped;   /* oldest dropped for room, or too large */
  int queued;         /* messages waiting */
  size_t queued_bytes;
  /* A group on a stored topic (NATS): how far behind the group is — the
   * stream's messages it has not acknowledged yet (not delivered, or
   * delivered and not acknowledged), as the server counts them, asked at
   * most once a second. -1: not known (no group, in-process, no answer). */
  int64_t backlog;
} argus_bus_sub_stats;

/* Counters. Errors: INVALID_ARG. */
argus_err argus_bus_get_stats(argus_bus *bus, argus_bus_stats *out);
argus_err argus_bus_sub_get_stats(argus_bus_sub *sub, argus_bus_sub_stats *out);

/* ---- leases --------------------------------------------------------------
 * Exclusive claims on named things (a camera analysed by one edge), with a
 * time to live: a holder renews its lease by taking it again before the
 * time runs out; a lease not renewed expires and another holder may take
 * it. NATS: a key-value bucket "ARGUS_<table>" (JetStream), the bucket's
 * time to live, compare-and-set writes (two holders never both succeed).
 * In process there is one holder: every take succeeds.
 *
 * Fencing is the holder's: one that could not renew for a whole ttl_s must
 * assume the lease is gone (stop using the thing) before another can have
 * taken it -- so a thing is never used by two holders for longer than the
 * time between two renewals. */
typedef struct argus_bus_leases argus_bus_leases;

/* Opens (creating when missing) the lease table `table` (1..32 bytes of
 * [A-Za-z0-9_-]) with leases of ttl_s seconds (1..3600; the first opener's
 * value stays the table's) for `holder` (1..63 printable bytes, unique per
 * process: the value written under each key). Errors: INVALID_ARG, IO,
 * NOMEM; err says what. */
argus_err argus_bus_leases_open(argus_bus *bus, const char *table, double ttl_s,
                                const char *holder, argus_bus_leases **out,
                                argus_error_detail *err);
/* Takes or renews the lease on `key` (1..64 bytes of [A-Za-z0-9_-.]):
 * *held = 1 when this holder has it now, 0 when another does (its name in
 * other, when not NULL, cap bytes). Errors: INVALID_ARG, IO (the table
 * could not be reached: the caller fences as above). */
argus_err argus_bus_lease_take(argus_bus_leases *l, const char *key, int *held,
                               char *other, size_t cap);
/* Gives the lease on `key` back when this holder has it, so that another
 * may take it at once. Errors: INVALID_ARG, IO. */
argus_err argus_bus_lease_release(argus_bus_leases *l, const char *key);
/* The leases of the table that are live now (taken and neither expired nor
 * given back), by any holder: fn(user, key, holder) for each, in no
 * particular order (an edge sees how many cameras each edge runs). In
 * process: none (one holder, which knows its own). Errors: INVALID_ARG, IO
 * (the table could not be read). */
typedef void (*argus_bus_lease_fn)(void *user, const char *key,
                                   const char *holder);
argus_err argus_bus_leases_list(argus_bus_leases *l, argus_bus_lease_fn fn,
                                void *user);
/* Frees the table handle (leases still held expire by themselves).
 * Accepts NULL. */
void argus_bus_leases_close(argus_bus_leases *l);

/* Whether `topic` matches a subscription pattern (see above). */
int argus_bus_topic_match(const char *pattern, const char *topic);

ARGUS_END_DECLS
#endif
