/* Internal pieces of the bus: the backend operations table and the objects
 * the public functions (bus.c) hand to a backend. */
#ifndef ARGUS_BUS_INTERNAL_H
#define ARGUS_BUS_INTERNAL_H

#include "argus/bus.h"

#define BUS_MOD "bus"

/* A backend. bus.c validates every argument before calling it. */
typedef struct bus_backend_ops {
  const char *name;
  /* url: what argus_bus_open got (NULL for the default); o: never NULL. */
  argus_err (*open)(const char *url, const argus_bus_options *o, void **ctx);
  /* Ends every subscription still open and frees the context. */
  void (*close)(void *ctx);
  argus_err (*publish)(void *ctx, const char *topic, const char *id,
                       const char *json, size_t size);
  /* A typed event: the backend delivers the struct to subscriptions that
   * asked for events and its JSON document to the others. */
  argus_err (*publish_event)(void *ctx, const char *topic,
                             const argus_event *ev);
  /* Creates the backend side of a subscription; *impl is passed back to the
   * calls below. */
  argus_err (*subscribe)(void *ctx, const argus_bus_sub_options *o,
                         void **impl);
  /* No callback runs once it returns, except the one that called it (which
   * finishes; the backend then frees what is left). */
  void (*unsubscribe)(void *ctx, void *impl);
  argus_err (*next)(void *ctx, void *impl, double timeout_s, argus_bus_msg *msg,
                    int *got);
  argus_err (*flush)(void *ctx, double timeout_s);
  void (*stats)(void *ctx, argus_bus_stats *out);
  void (*sub_stats)(void *ctx, void *impl, argus_bus_sub_stats *out);
  /* Leases (argus_bus_leases_*); NULL: every take succeeds (one process).
   * Arguments are checked by bus.c. */
  argus_err (*lease_open)(void *ctx, const char *table, double ttl_s,
                          void **impl);
  argus_err (*lease_take)(void *impl, const char *holder, const char *key,
                          int *held, char *other, size_t cap);
  argus_err (*lease_release)(void *impl, const char *holder, const char *key);
  argus_err (*lease_list)(void *impl, argus_bus_lease_fn fn, void *user);
  void (*lease_close)(void *impl);
} bus_backend_ops;

/* What a wire document (argus_event_to_wire) says of crops, for a backend
 * that keeps them with their publisher (NATS, crops=request). */
typedef struct bus_wire_crop {
  /* A face event: its crop stays here; the document names this request
   * subject ("crop_at") instead of carrying the bytes. NULL: carried. */
  const char *crop_at;
  /* An alert or unmatched event whose face came without its crop: the
   * crop's bytes, fetched from crop_source, to carry instead (NULL: none). */
  const uint8_t *face_crop;
  size_t face_crop_size;
} bus_wire_crop;

/* argus_event_to_wire with those choices (w may be NULL: the plain wire
 * form). Errors as argus_event_to_wire. */
argus_err bus_event_wire(const argus_event *ev, const bus_wire_crop *w,
                         char *buf, size_t cap, size_t *len);
/* Whether s is a crop request subject ("argus.crop." and 1..40 bytes of
 * [A-Za-z0-9_-]). */
int bus_crop_subject_ok(const char *s);

extern const bus_backend_ops bus_inproc_ops;
extern const bus_backend_ops bus_nats_ops;

/* Logs why a bus call failed and keeps it as the calling thread's last
 * error (argus_bus_last_error); the caller returns the code. */
void bus_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#include <pthread.h>

/* Duplicate suppression: a 64-bit hash of (topic, id) for each of the last
 * `window` messages, in a ring (for expiry) and core's int64 map (for
 * lookup, reserved at init: checking never allocates). Two different ids
 * colliding in 64 bits within the window is the only way a message could be
 * wrongly dropped (probability about window^2 / 2^65). Not thread-safe. */
typedef struct bus_dedupe {
  int window;
  uint64_t *recent; /* ring of window hashes */
  int nrecent, head;
  argus_i64map set; /* the hashes of the ring */
} bus_dedupe;

argus_err bus_dedupe_init(bus_dedupe *d, int window);
void bus_dedupe_free(bus_dedupe *d);
uint64_t bus_dedupe_hash(const char *topic, const char *id);
/* Records h; returns 1 when it was already among the recent ones. */
int bus_dedupe_seen(bus_dedupe *d, uint64_t h);

struct argus_bus_sub {
  argus_bus *bus;
  void *impl;
  struct argus_bus_sub *prev, *next; /* the bus's list */
};

struct argus_bus {
  const bus_backend_ops *ops;
  void *ctx;
  uint64_t id_salt; /* random, for argus_bus_make_id */
  _Atomic uint64_t id_counter;
  pthread_mutex_t subs_mu; /* guards the list */
  argus_bus_sub *subs;
};

#endif
