/* The in-process bus backend.
 *
 * Each subscription owns a byte ring (records: a header, then topic, id and
 * document, each NUL-terminated, padded to 8 bytes; a record may wrap around
 * the end of the ring) and a delivery buffer the size of the largest
 * message, both allocated when it is made. Publishing copies a message into
 * the ring of every matching subscription, dropping that ring's oldest
 * records when there is no room: no allocation, and no waiting on a
 * subscriber. A callback subscription has its own dispatcher thread that
 * copies the oldest record into the delivery buffer and runs the handler
 * without holding any lock, so the handler may publish.
 *
 * Typed events (argus_bus_publish_event): a subscription made with `events`
 * gets a record whose body is the event's pointer (the record holds a
 * reference, dropped when the record is dropped or once delivered); the
 * others get the event's JSON document, written once per publication into
 * a per-thread buffer, and only when one of them matches.
 *
 * Duplicate suppression: bus_dedupe (bus_internal.h) over the last
 * `window` messages published, reserved at open: publishing never
 * allocates.
 *
 * Locks: `mu` of the bus guards the subscription list, the dedupe set and the
 * counters; each subscription's `mu` guards its ring. Order: bus, then
 * subscription. Handlers run with neither held. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bus/bus_internal.h"

#define DEFAULT_QUEUE_MSGS 256
#define DEFAULT_QUEUE_BYTES ((size_t)1 << 20)

typedef struct rec_hdr {
  uint32_t total; /* bytes of the record, header included, multiple of 8 */
  uint16_t topic_len, id_len;
  uint32_t data_len, is_event; /* is_event: the body is an argus_event * */
  uint64_t seq;
  int64_t wall_ns;
  uint64_t mono_ns;
} rec_hdr;

typedef struct ip_bus ip_bus;

typedef struct ip_sub {
  ip_bus *bus;
  struct ip_sub *next; /* the bus's list */
  char pattern[ARGUS_BUS_TOPIC_MAX + 3];
  argus_bus_handler handler;
  argus_bus_batch_handler batch_handler; /* with handler: called with 1 */
  void *user;
  int events; /* wants typed events */

  pthread_mutex_t mu;
  pthread_cond_t cv; /* a record came, or stop */
  unsigned char *ring;
  size_t cap, head, used;
  int count, max_msgs;
  uint64_t head_seq; /* seq of the oldest queued record */
  uint64_t busy_seq; /* seq being handled (0: none) */
  char *out;         /* delivery buffer */
  size_t out_cap;
  argus_bus_msg msg;       /* last delivered (polls) */
  const argus_event *held; /* the event of the last delivered record */
  uint64_t received, delivered, dropped;

  pthread_t thread;
  int has_thread;
  int stop;
  int detach; /* unsubscribed from its own handler: the thread frees it */
} ip_sub;

struct ip_bus {
  pthread_mutex_t mu;
  ip_sub *subs;
  uint64_t seq;
  uint64_t published, duplicates;
  uint64_t delivered_gone, dropped_gone; /* of ended subscriptions */
  bus_dedupe seen;                       /* recent (topic, id) */
};

/* ---- rings ----------------------------------------------------------------
 */

static void ring_write(ip_sub *s, size_t off, const void *src, size_t n) {
  off %= s->cap;
  size_t first = s->cap - off < n ? s->cap - off : n;
  memcpy(s->ring + off, src, first);
  if (n > first)
    memcpy(s->ring, (const unsigned char *)src + first, n - first);
}

static void ring_read(const ip_sub *s, size_t off, void *dst, size_t n) {
  off %= s->cap;
  size_t first = s->cap - off < n ? s->cap - off : n;
  memcpy(dst, s->ring + off, first);
  if (n > first)
    memcpy((unsigned char *)dst + first, s->ring, n - first);
}

/* The event pointer of an event record at off (its header h). */
static const argus_event *rec_event(const ip_sub *s, size_t off,
                                    const rec_hdr *h) {
  const argus_event *ev = NULL;
  ring_read(s, off + sizeof *h + h->topic_len + 1 + h->id_len + 1, &ev,
            sizeof ev);
  return ev;
}

static void drop_oldest(ip_sub *s) {
  rec_hdr h;
  ring_read(s, s->head, &h, sizeof h);
  if (h.is_event)
    argus_event_unref(rec_event(s, s->head, &h));
  s->head = (s->head + h.total) % s->cap;
  s->used -= h.total;
  s->count--;
  s->dropped++;
  if (s->count) {
    ring_read(s, s->head, &h, sizeof h);
    s->head_seq = h.seq;
  }
}

static size_t rec_size(size_t tl, size_t il, size_t dl) {
  return (sizeof(rec_hdr) + tl + 1 + il + 1 + dl + 1 + 7) & ~(size_t)7;
}

/* Under s->mu. */
static void enqueue(ip_sub *s, const rec_hdr *h, const char *topic,
                    const char *id, const char *data) {
  s->received++;
  if (h->total > s->cap || h->total - sizeof *h > s->out_cap) {
    s->dropped++;
    return;
  }
  if (h->is_event)
    argus_event_ref(*(const argus_event *const *)(const void *)data);
  while (s->count > 0 &&
         (s->used + h->total > s->cap || s->count >= s->max_msgs))
    drop_oldest(s);
  size_t tail = (s->head + s->used) % s->cap, off = tail;
  ring_write(s, off, h, sizeof *h);
  off += sizeof *h;
  ring_write(s, off, topic, (size_t)h->topic_len + 1);
  off += (size_t)h->topic_len + 1;
  ring_write(s, off, id, (size_t)h->id_len + 1);
  off += (size_t)h->id_len + 1;
  ring_write(s, off, data, h->data_len);
  off += h->data_len;
  ring_write(s, off, "", 1);
  if (s->count == 0) {
    s->head = tail;
    s->head_seq = h->seq;
  }
  s->used += h->total;
  s->count++;
  pthread_cond_signal(&s->cv);
}

/* Takes the oldest record into s->out and s->msg. Under s->mu, count > 0. */
static void dequeue(ip_sub *s) {
  rec_hdr h;
  ring_read(s, s->head, &h, sizeof h);
  size_t body = h.total - sizeof h;
  ring_read(s, s->head + sizeof h, s->out, body);
  s->msg.topic = s->out;
  s->msg.id = s->out + h.topic_len + 1;
  s->msg.data = s->msg.id + h.id_len + 1;
  s->msg.size = h.data_len;
  s->msg.seq = h.seq;
  s->msg.wall_ns = h.wall_ns;
  s->msg.mono_ns = h.mono_ns;
  s->msg.event = NULL;
  if (h.is_event) {
    memcpy(&s->msg.event, s->msg.data, sizeof s->msg.event);
    s->msg.data = "";
    s->msg.size = 0;
  }
  s->held = s->msg.event;
  s->head = (s->head + h.total) % s->cap;
  s->used -= h.total;
  s->count--;
  if (s->count) {
    rec_hdr n;
    ring_read(s, s->head, &n, sizeof n);
    s->head_seq = n.seq;
  }
}

static void sub_free(ip_sub *s) {
  if (!s)
    return;
  while (s->count > 0) {
    drop_oldest(s);
    s->dropped--;
  }
  argus_event_unref(s->held);
  pthread_mutex_destroy(&s->mu);
  pthread_cond_destroy(&s->cv);
  free(s->ring);
  free(s->out);
  free(s);
}

/* ---- dispatcher ------------------------------------------------------------
 */

static void *dispatch_main(void *arg) {
  ip_sub *s = arg;
  pthread_mutex_lock(&s->mu);
  for (;;) {
    while (!s->stop && s->count == 0)
      pthread_cond_wait(&s->cv, &s->mu);
    if (s->stop)
      break;
    dequeue(s);
    s->busy_seq = s->msg.seq;
    pthread_mutex_unlock(&s->mu);
    if (s->batch_handler)
      s->batch_handler(s->user, &s->msg, 1);
    else
      s->handler(s->user, &s->msg);
    argus_event_unref(s->held);
    pthread_mutex_lock(&s->mu);
    s->held = NULL;
    s->busy_seq = 0;
    s->delivered++;
  }
  int detach = s->detach;
  pthread_mutex_unlock(&s->mu);
  if (detach)
    sub_free(s);
  return NULL;
}

/* ---- backend operations ----------------------------------------------------
 */

static argus_err ip_open(const char *url, const argus_bus_options *o,
                         void **ctx) {
  (void)url;
  ip_bus *b = calloc(1, sizeof *b);
  if (!b)
    return ARGUS_E_NOMEM;
  if (bus_dedupe_init(&b->seen, o->dedupe_window) != ARGUS_OK) {
    free(b);
    return ARGUS_E_NOMEM;
  }
  pthread_mutex_init(&b->mu, NULL);
  *ctx = b;
  return ARGUS_OK;
}

static void ip_unsubscribe(void *ctx, void *impl);

static void ip_close(void *ctx) {
  ip_bus *b = ctx;
  if (!b)
    return;
  while (b->subs)
    ip_unsubscribe(b, b->subs);
  pthread_mutex_destroy(&b->mu);
  bus_dedupe_free(&b->seen);
  free(b);
}

static argus_err ip_publish(void *ctx, const char *topic, const char *id,
                            const char *json, size_t size) {
  ip_bus *b = ctx;
  rec_hdr h;
  memset(&h, 0, sizeof h);
  h.topic_len = (uint16_t)strlen(topic);
  h.id_len = (uint16_t)strlen(id);
  h.data_len = (uint32_t)size;
  h.total = (uint32_t)rec_size(h.topic_len, h.id_len, size);
  h.wall_ns = argus_wall_ns();
  h.mono_ns = argus_time_ns();
  uint64_t hash = bus_dedupe_hash(topic, id);
  pthread_mutex_lock(&b->mu);
  if (bus_dedupe_seen(&b->seen, hash)) {
    b->duplicates++;
    pthread_mutex_unlock(&b->mu);
    argus_log(ARGUS_LOG_DEBUG, BUS_MOD, "duplicate %s %s dropped", topic, id);
    return ARGUS_OK;
  }
  h.seq = ++b->seq;
  b->published++;
  for (ip_sub *s = b->subs; s; s = s->next) {
    if (!argus_bus_topic_match(s->pattern, topic))
      continue;
    pthread_mutex_lock(&s->mu);
    enqueue(s, &h, topic, id, json);
    pthread_mutex_unlock(&s->mu);
  }
  pthread_mutex_unlock(&b->mu);
  return ARGUS_OK;
}

static argus_err ip_publish_event(void *ctx, const char *topic,
                                  const argus_event *ev) {
  ip_bus *b = ctx;
  /* The JSON form, for subscribers that read text: per thread, written
   * only when one of them matches. */
  static _Thread_local char doc[ARGUS_BUS_MSG_MAX + 1];
  size_t doc_len = 0;
  int have_doc = 0;
  const char *id = ev->id;
  rec_hdr h, he;
  memset(&h, 0, sizeof h);
  h.topic_len = (uint16_t)strlen(topic);
  h.id_len = (uint16_t)strlen(id);
  h.wall_ns = argus_wall_ns();
  h.mono_ns = argus_time_ns();
  he = h;
  he.is_event = 1;
  he.data_len = (uint32_t)sizeof ev;
  he.total = (uint32_t)rec_size(he.topic_len, he.id_len, sizeof ev);
  uint64_t hash = bus_dedupe_hash(topic, id);
  argus_err rc = ARGUS_OK;
  pthread_mutex_lock(&b->mu);
  if (bus_dedupe_seen(&b->seen, hash)) {
    b->duplicates++;
    pthread_mutex_unlock(&b->mu);
    argus_log(ARGUS_LOG_DEBUG, BUS_MOD, "duplicate %s %s dropped", topic, id);
    return ARGUS_OK;
  }
  h.seq = he.seq = ++b->seq;
  b->published++;
  for (ip_sub *s = b->subs; s; s = s->next) {
    if (!argus_bus_topic_match(s->pattern, topic))
      continue;
    if (!s->events && !have_doc) {
      have_doc = 1;
      rc = argus_event_to_json(ev, doc, sizeof doc, &doc_len);
      if (rc != ARGUS_OK || doc_len > ARGUS_BUS_MSG_MAX) {
        bus_note("publish %s %s: the event's document does not fit in %zu "
                 "bytes; text subscribers miss it",
                 topic, id, ARGUS_BUS_MSG_MAX);
        rc = ARGUS_E_LIMIT;
        doc_len = 0;
      }
      h.data_len = (uint32_t)doc_len;
      h.total = (uint32_t)rec_size(h.topic_len, h.id_len, doc_len);
    }
    pthread_mutex_lock(&s->mu);
    if (s->events)
      enqueue(s, &he, topic, id, (const char *)(const void *)&ev);
    else if (doc_len)
      enqueue(s, &h, topic, id, doc);
    pthread_mutex_unlock(&s->mu);
  }
  pthread_mutex_unlock(&b->mu);
  return rc;
}

static argus_err ip_subscribe(void *ctx, const argus_bus_sub_options *o,
                              void **impl) {
  ip_bus *b = ctx;
  ip_sub *s = calloc(1, sizeof *s);
  if (!s)
    return ARGUS_E_NOMEM;
  s->bus = b;
  snprintf(s->pattern, sizeof s->pattern, "%s", o->pattern);
  s->handler = o->handler;
  s->batch_handler = o->batch_handler;
  s->user = o->user;
  s->events = o->events != 0;
  s->max_msgs = o->queue_msgs > 0 ? o->queue_msgs : DEFAULT_QUEUE_MSGS;
  s->cap = o->queue_bytes ? o->queue_bytes : DEFAULT_QUEUE_BYTES;
  s->cap = (s->cap + 7) & ~(size_t)7;
  /* The delivery buffer holds the largest record that fits the ring. */
  s->out_cap =
      rec_size(ARGUS_BUS_TOPIC_MAX, ARGUS_BUS_ID_MAX, ARGUS_BUS_MSG_MAX);
  if (s->out_cap > s->cap)
    s->out_cap = s->cap;
  s->ring = malloc(s->cap);
  s->out = malloc(s->out_cap);
  pthread_mutex_init(&s->mu, NULL);
  pthread_cond_init(&s->cv, NULL);
  if (!s->ring || !s->out) {
    sub_free(s);
    return ARGUS_E_NOMEM;
  }
  /* Listed before the thread starts; the thread only reads its own ring. */
  pthread_mutex_lock(&b->mu);
  s->next = b->subs;
  b->subs = s;
  pthread_mutex_unlock(&b->mu);
  if (s->handler) {
    if (pthread_create(&s->thread, NULL, dispatch_main, s) != 0) {
      pthread_mutex_lock(&b->mu);
      for (ip_sub **pp = &b->subs; *pp; pp = &(*pp)->next)
        if (*pp == s) {
          *pp = s->next;
          break;
        }
      pthread_mutex_unlock(&b->mu);
      sub_free(s);
      bus_note("subscribe %s: cannot start the dispatcher thread", o->pattern);
      return ARGUS_E_INTERNAL;
    }
    s->has_thread = 1;
  }
  *impl = s;
  return ARGUS_OK;
}

static void ip_unsubscribe(void *ctx, void *impl) {
  ip_bus *b = ctx;
  ip_sub *s = impl;
  pthread_mutex_lock(&b->mu);
  for (ip_sub **pp = &b->subs; *pp; pp = &(*pp)->next)
    if (*pp == s) {
      *pp = s->next;
      break;
    }
  pthread_mutex_lock(&s->mu);
  b->delivered_gone += s->delivered;
  b->dropped_gone += s->dropped;
  pthread_mutex_unlock(&s->mu);
  pthread_mutex_unlock(&b->mu);
  if (!s->has_thread) {
    sub_free(s);
    return;
  }
  pthread_mutex_lock(&s->mu);
  s->stop = 1;
  int self = pthread_equal(pthread_self(), s->thread);
  s->detach = self;
  pthread_cond_signal(&s->cv);
  pthread_mutex_unlock(&s->mu);
  if (self) {
    pthread_detach(s->thread); /* it frees s after this callback */
    return;
  }
  pthread_join(s->thread, NULL);
  sub_free(s);
}

static argus_err ip_next(void *ctx, void *impl, double timeout_s,
                         argus_bus_msg *msg, int *got) {
  (void)ctx;
  ip_sub *s = impl;
  if (s->handler) {
    bus_note("next: subscription '%s' has a handler (it is not polled)",
             s->pattern);
    return ARGUS_E_INVALID_ARG;
  }
  pthread_mutex_lock(&s->mu);
  if (s->count == 0 && timeout_s != 0) {
    if (timeout_s < 0) {
      while (s->count == 0)
        pthread_cond_wait(&s->cv, &s->mu);
    } else {
      struct timespec dl;
      clock_gettime(CLOCK_REALTIME, &dl);
      double whole = (double)(time_t)timeout_s;
      dl.tv_sec += (time_t)timeout_s;
      dl.tv_nsec += (long)((timeout_s - whole) * 1e9);
      if (dl.tv_nsec >= 1000000000L) {
        dl.tv_sec++;
        dl.tv_nsec -= 1000000000L;
      }
      while (s->count == 0)
        if (pthread_cond_timedwait(&s->cv, &s->mu, &dl) == ETIMEDOUT)
          break;
    }
  }
  if (s->count > 0) {
    argus_event_unref(s->held); /* the previous message's */
    s->held = NULL;
    dequeue(s);
    s->delivered++;
    *msg = s->msg;
    *got = 1;
  }
  pthread_mutex_unlock(&s->mu);
  return ARGUS_OK;
}

/* Whether every callback subscription has handled the messages up to seq. */
static int flushed(ip_bus *b, uint64_t seq) {
  int done = 1;
  pthread_mutex_lock(&b->mu);
  for (ip_sub *s = b->subs; s && done; s = s->next) {
    if (!s->handler)
      continue;
    pthread_mutex_lock(&s->mu);
    if ((s->count > 0 && s->head_seq <= seq) ||
        (s->busy_seq && s->busy_seq <= seq))
      done = 0;
    pthread_mutex_unlock(&s->mu);
  }
  pthread_mutex_unlock(&b->mu);
  return done;
}

static argus_err ip_flush(void *ctx, double timeout_s) {
  ip_bus *b = ctx;
  pthread_mutex_lock(&b->mu);
  uint64_t seq = b->seq;
  for (ip_sub *s = b->subs; s; s = s->next)
    if (s->has_thread && pthread_equal(pthread_self(), s->thread)) {
      pthread_mutex_unlock(&b->mu);
      bus_note("flush called from a handler");
      return ARGUS_E_INVALID_ARG;
    }
  pthread_mutex_unlock(&b->mu);
  uint64_t t_end = timeout_s < 0
                       ? UINT64_MAX
                       : argus_time_ns() + (uint64_t)(timeout_s * 1e9);
  /* Flushing is rare (shutdown, tests): a short poll keeps handlers free to
   * publish while we wait. */
  while (!flushed(b, seq)) {
    if (argus_time_ns() >= t_end)
      return ARGUS_E_LIMIT;
    struct timespec ts = {0, 1000000};
    nanosleep(&ts, NULL);
  }
  return ARGUS_OK;
}

static void ip_stats(void *ctx, argus_bus_stats *out) {
  ip_bus *b = ctx;
  pthread_mutex_lock(&b->mu);
  out->published = b->published;
  out->duplicates = b->duplicates;
  out->delivered = b->delivered_gone;
  out->dropped = b->dropped_gone;
  for (ip_sub *s = b->subs; s; s = s->next) {
    pthread_mutex_lock(&s->mu);
    out->delivered += s->delivered;
    out->dropped += s->dropped;
    pthread_mutex_unlock(&s->mu);
    out->subscriptions++;
  }
  pthread_mutex_unlock(&b->mu);
}

static void ip_sub_stats(void *ctx, void *impl, argus_bus_sub_stats *out) {
  (void)ctx;
  ip_sub *s = impl;
  pthread_mutex_lock(&s->mu);
  out->received = s->received;
  out->delivered = s->delivered;
  out->dropped = s->dropped;
  out->queued = s->count;
  out->queued_bytes = s->used;
  pthread_mutex_unlock(&s->mu);
}

/* No lease operations: one process, every take succeeds. */
const bus_backend_ops bus_inproc_ops = {
    .name = "inproc",
    .open = ip_open,
    .close = ip_close,
    .publish = ip_publish,
    .publish_event = ip_publish_event,
    .subscribe = ip_subscribe,
    .unsubscribe = ip_unsubscribe,
    .next = ip_next,
    .flush = ip_flush,
    .stats = ip_stats,
    .sub_stats = ip_sub_stats,
};
