/* The NATS JetStream bus backend (libnats, the NATS C client), for split
 * roles: edges, matchers and the server in different processes or machines
 * (docs/scale.md).
 *
 * Subjects: topic T is subject "argus.T". The topics between the roles are
 * stored in JetStream streams, created at open when missing:
 *   face              -> ARGUS_FACES    work queue: edges' face events, each
 *                                       removed once a matcher acknowledged
 *                                       it
 *   alert.raised,     -> ARGUS_RESULTS  limits (kept max_age): what the
 *   alert.suppressed,                   matchers found, for the server's
 *   face.unmatched                      store sink
 *   watchlist.change  -> ARGUS_CHANGES  limits (kept max_age): enrolment
 *                                       changes; a matcher that starts late
 *                                       catches up from a sequence
 * The others (alert: an alert once stored, for live views in the server's
 * process; camera.status, pipeline.status: heartbeats that nobody needs
 * after the next one) are plain NATS messages.
 *
 * Publishing a stored topic is an asynchronous JetStream publish with the
 * message id as Nats-Msg-Id, so the server drops a repeated id within its
 * duplicate window (2 minutes): a publisher that retries produces one
 * stored message. A publish the server did not take (no acknowledgement
 * within PUB_WAIT_MS, a restarting server, a cluster electing a new stream
 * leader: "no responders") goes to the resend queue, which a thread sends
 * again in order, under the same id, until the server takes it (in memory,
 * or on disk with spool=DIR: see spool.h; with a spool, publications made
 * while the connection is down go there too and the publisher never
 * waits). While the queue is not empty, new publications join it behind
 * the older ones. Every message carries its id
 * (Argus-Id) and publication time (Argus-Wall, UTC ns) as headers; the body
 * is the JSON document.
 *
 * Subscriptions:
 *   - without group/start_seq: a plain NATS subscription on the subject
 *     (pattern "x.*" is "argus.x.>", "*" is "argus.>"): every subscriber
 *     gets every message published while it runs; libnats delivers on the
 *     subscription's own thread, in order, with pending limits from the
 *     queue bounds (beyond them messages are dropped and counted).
 *   - with a group (stored topic only): a durable JetStream pull consumer
 *     named after the group, shared by every member in every process; a
 *     dispatcher thread fetches batches, runs the handler and acknowledges
 *     each message after its handler returned. A member that stops with
 *     messages fetched but not handled gives them back (NAK) at once; one
 *     that dies leaves them to be delivered again after ack_wait.
 *   - with start_seq (stored topic, no group): an ephemeral pull consumer
 *     from that stream sequence (catching up), then live.
 * Subscriptions with `events` get the parsed event (argus_event_from_json)
 * in argus_bus_msg.event and the document in data.
 *
 * Crops (crops=request, the default): a face event's crop JPEG stays with
 * the process that published it, in a ring of its last crop_keep crops,
 * and the document names the subject to ask for it ("crop_at":
 * "argus.crop.<random>", a plain NATS request/reply subscription of this
 * bus). Publishing an alert (alert.raised), or a kept unmatched face
 * (face.unmatched: retention on), whose face came
 * without its crop asks that subject for it (CROP_WAIT_MS), checks it
 * against the face's crop_sha256 and carries it in the document: only the
 * faces that alert send their image, once. A crop that is no longer there
 * (its edge ended or its ring moved on) leaves the alert without a crop,
 * counted in argus_bus_stats.crops_missing and logged; the alert itself is
 * never held back. Publications that go to the spool carry their crop (the
 * ring does not survive the process). crops=inline: every face event
 * carries its crop.
 *
 * At-least-once transport, deduplicated on both ends: the server drops a
 * repeated publication of an id, and each subscription drops an id it
 * delivered among its last dedupe_window messages (a message delivered
 * again after a server crash lost its acknowledgement), acknowledging it.
 * A redelivery to another process (this one died) is the subscriber's to
 * make idempotent: the store keys what it writes by the event id.
 *
 * Locks: the bus `mu` guards the subscription list and the counters; a
 * subscription's `mu` guards its state for polls and unsubscription. */
#include <nats/nats.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "argus/event.h"
#include "bus/bus_internal.h"
#include "bus/spool.h"

#define SUBJ_PREFIX "argus."
#define PUB_WAIT_MS 4000 /* an unacknowledged publication is sent again */
#define FETCH_WAIT_MS 250
#define RESEND_WAIT_MS 5000 /* a resend's wait for its acknowledgement */
#define RESEND_PAUSE_MS 250 /* between failed resends */
#define MEMQ_MAX_BYTES ((size_t)64 << 20) /* the resend queue without spool */
#define CLOSE_DRAIN_S 30  /* close waits this long for the resend queue */
#define CROP_WAIT_MS 1000 /* a crop request's wait for its edge */
#define CROP_KEEP_DEFAULT 16384
#define CROP_MAX ((size_t)24 << 10) /* the wire form's largest crop */
#define CROP_LINGER_S                                                          \
  30                   /* close: crop requests are answered this long at most */
#define CROP_QUIET_S 3 /* ... or until nothing was published or asked */

/* A crop kept for requests (crops=request): the ring's slot. */
typedef struct crop_slot {
  char id[ARGUS_BUS_ID_MAX + 1]; /* the face event's id; "" when empty */
  uint8_t *data;                 /* grown to the largest crop it held */
  size_t size, cap;
} crop_slot;

typedef struct stored_stream {
  const char *name;
  const char *topics[3];
  jsRetentionPolicy retention;
} stored_stream;

static const stored_stream k_streams[] = {
    {"ARGUS_FACES", {ARGUS_EVENT_TOPIC_FACE}, js_WorkQueuePolicy},
    {"ARGUS_RESULTS",
     {ARGUS_EVENT_TOPIC_ALERT_RAISED, ARGUS_EVENT_TOPIC_ALERT_SUPPRESSED,
      ARGUS_EVENT_TOPIC_UNMATCHED},
     js_LimitsPolicy},
    {"ARGUS_CHANGES", {ARGUS_EVENT_TOPIC_WATCHLIST}, js_LimitsPolicy},
};
#define N_STREAMS (sizeof k_streams / sizeof k_streams[0])

/* The stream that stores `topic` (NULL: a plain topic). */
static const stored_stream *stored_of(const char *topic) {
  for (size_t i = 0; i < N_STREAMS; i++)
    for (int j = 0; j < 3 && k_streams[i].topics[j]; j++)
      if (strcmp(k_streams[i].topics[j], topic) == 0)
        return &k_streams[i];
  return NULL;
}

typedef struct nb_bus nb_bus;

typedef struct nb_sub {
  nb_bus *bus;
  struct nb_sub *next; /* the bus's list */
  char pattern[ARGUS_BUS_TOPIC_MAX + 3];
  char subject[ARGUS_BUS_TOPIC_MAX + 16];
  /* A group's durable consumer: "<group>_<topic>" (a stream may store
   * several topics; one consumer per group and topic). */
  char durable[32 + ARGUS_BUS_TOPIC_MAX + 2];
  argus_bus_handler handler;
  argus_bus_batch_handler batch_handler; /* pull: one call per fetch */
  void *user;
  int events;
  int pull; /* a JetStream pull consumer (group or start_seq) */
  int batch;
  natsSubscription *sub;

  pthread_mutex_t mu;
  pthread_cond_t cv;
  int complete;     /* core async: the delivery thread has ended */
  int busy;         /* a handler runs */
  pthread_t cb_th;  /* the thread running the handler (when busy) */
  int detach;       /* unsubscribed from its own handler */
  _Atomic int stop; /* pull: the dispatcher must end */
  pthread_t th;     /* pull + handler: the dispatcher */
  int has_thread;

  /* delivery */
  char *buf; /* the document, NUL-terminated (ARGUS_BUS_MSG_MAX + 1) */
  char topic[ARGUS_BUS_TOPIC_MAX + 1], id[ARGUS_BUS_ID_MAX + 1];
  natsMsg *held; /* polled pull: delivered, acknowledged at the next */
  argus_event *held_ev;
  uint64_t own_seq;
  bus_dedupe seen;     /* ids delivered lately */
  const char *stream;  /* pull: the stream's name (static) */
  int64_t backlog;     /* the group's, last asked (nb_sub_stats) */
  uint64_t backlog_at; /* when (argus_time_ns), 0: never */
  _Atomic uint64_t received, delivered, dropped;
} nb_sub;

/* A publication waiting in memory to be sent again (no spool). */
typedef struct mem_rec {
  struct mem_rec *next;
  int64_t wall_ns;
  size_t size;
  char *subject, *id, *data; /* in the same allocation */
} mem_rec;

struct nb_bus {
  natsConnection *nc;
  jsCtx *js;
  int64_t ack_wait_ns, max_age_ns;
  int replicas, window;
  /* The resend queue: stored-topic publications the server did not take
   * (refused, no stream leader, unacknowledged), and with a spool those
   * made while disconnected, sent again in order under their ids by the
   * resend thread. While it is not empty new publications join it, so a
   * subject's order is kept. In the spool (on disk) when spool= is given,
   * else in memory (MEMQ_MAX_BYTES; beyond, new ones are lost, counted). */
  pthread_mutex_t rq_mu;
  pthread_cond_t rq_cv;
  bus_spool *spool;
  char spool_dir[480];
  uint64_t spool_max;
  mem_rec *mq_head, *mq_tail;
  size_t mq_bytes;
  uint64_t mq_n;
  pthread_t rq_th;
  int has_rq;
  _Atomic int streams_ready; /* ensure_streams succeeded */
  _Atomic uint64_t resent, lost, spooled;
  _Atomic int closing;
  pthread_mutex_t mu;
  pthread_cond_t closed_cv; /* on_closed ran (closed) */
  int closed;
  nb_sub *subs;
  int nsubs;
  _Atomic uint64_t published, delivered, dropped, pub_errors, duplicates;
  uint64_t delivered_gone, dropped_gone;
  /* Crops kept for requests (crops=request): a ring of crop_keep slots
   * under cc_mu, served on crop_subject. */
  int crops_inline;
  int crop_keep;
  char crop_subject[48];
  natsSubscription *crop_sub;
  pthread_mutex_t cc_mu;
  crop_slot *cc;
  int cc_next;
  _Atomic uint64_t crops_served, crops_fetched, crops_missing;
  /* When a face event naming crop_subject was last published, and a crop
   * last served (argus_time_ns; 0: never). */
  _Atomic uint64_t last_crop_face_ns, last_crop_served_ns;
};

static const char *status_text(natsStatus s) {
  const char *t = nats_GetLastError(NULL);
  /* The client's thread-local text, else the status's. */
  return t && *t ? t : natsStatus_GetText(s);
}

/* ---- open / close --------------------------------------------------------
 */

static int rq_empty(nb_bus *b) {
  if (b->spool) {
    bus_spool_stats st;
    bus_spool_get_stats(b->spool, &st);
    return st.pending == 0;
  }
  return b->mq_head == NULL;
}

/* Queues a publication to be sent again (rq_mu held). */
static argus_err rq_put(nb_bus *b, const char *subject, const char *id,
                        int64_t wall_ns, const char *data, size_t size) {
  argus_err rc = ARGUS_OK;
  if (b->spool) {
    bus_spool_stats before, after;
    bus_spool_get_stats(b->spool, &before);
    rc = bus_spool_append(b->spool, subject, id, wall_ns, data, size);
    bus_spool_get_stats(b->spool, &after);
    if (after.dropped > before.dropped)
      argus_log(ARGUS_LOG_WARN, BUS_MOD,
                "nats: spool %s full (%llu bytes): %llu oldest publications "
                "dropped",
                b->spool_dir, (unsigned long long)b->spool_max,
                (unsigned long long)(after.dropped - before.dropped));
    if (rc == ARGUS_OK)
      atomic_fetch_add(&b->spooled, 1);
  } else {
    size_t sl = strlen(subject) + 1, il = strlen(id) + 1;
    mem_rec *r = NULL;
    if (b->mq_bytes + size + sl + il > MEMQ_MAX_BYTES ||
        !(r = malloc(sizeof *r + sl + il + size + 1))) {
      atomic_fetch_add(&b->lost, 1);
      argus_log(ARGUS_LOG_ERROR, BUS_MOD,
                "nats: %s %s lost: the resend queue is full (%zu bytes; a "
                "spool= folder keeps more)",
                subject, id, b->mq_bytes);
      return ARGUS_E_LIMIT;
    }
    r->next = NULL;
    r->wall_ns = wall_ns;
    r->size = size;
    r->subject = (char *)(r + 1);
    r->id = r->subject + sl;
    r->data = r->id + il;
    memcpy(r->subject, subject, sl);
    memcpy(r->id, id, il);
    if (size)
      memcpy(r->data, data, size);
    r->data[size] = '\0';
    if (b->mq_tail)
      b->mq_tail->next = r;
    else
      b->mq_head = r;
    b->mq_tail = r;
    b->mq_bytes += size + sl + il;
    b->mq_n++;
  }
  pthread_cond_broadcast(&b->rq_cv);
  return rc;
}

/* Publishes that the server did not take go to the resend queue. */
static void on_pub_error(jsCtx *js, jsPubAckErr *pae, void *closure) {
  (void)js;
  nb_bus *b = closure;
  const char *id = NULL, *wall = NULL;
  natsMsgHeader_Get(pae->Msg, "Argus-Id", &id);
  natsMsgHeader_Get(pae->Msg, "Argus-Wall", &wall);
  const char *subj = natsMsg_GetSubject(pae->Msg);
  int len = natsMsg_GetDataLength(pae->Msg);
  argus_err rc = ARGUS_E_IO;
  if (id && subj && len >= 0) {
    pthread_mutex_lock(&b->rq_mu);
    if (b->spool || !b->has_rq || !atomic_load(&b->closing))
      rc = rq_put(b, subj, id, wall ? strtoll(wall, NULL, 10) : 0,
                  natsMsg_GetData(pae->Msg), (size_t)len);
    pthread_mutex_unlock(&b->rq_mu);
  }
  if (rc == ARGUS_OK)
    return;
  atomic_fetch_add(&b->pub_errors, 1);
  atomic_fetch_add(&b->lost, 1);
  argus_log(ARGUS_LOG_ERROR, BUS_MOD, "nats: %s %s was not stored: %s",
            subj ? subj : "?", id ? id : "?",
            pae->ErrText && *pae->ErrText ? pae->ErrText
                                          : natsStatus_GetText(pae->Err));
}

static argus_err ensure_streams(nb_bus *b);

static int connected(nb_bus *b) {
  return natsConnection_Status(b->nc) == NATS_CONN_STATUS_CONNECTED;
}

/* The resend thread: sends the queue's oldest publication, synchronously
 * (one at a time: the order is kept), pausing after a failure. */
static void *rq_main(void *arg) {
  nb_bus *b = arg;
  int pause_ms = 0, failures = 0;
  pthread_mutex_lock(&b->rq_mu);
  while (!atomic_load(&b->closing)) {
    int ready = atomic_load(&b->streams_ready);
    if (pause_ms || (ready && rq_empty(b)) || !connected(b)) {
      struct timespec dl;
      clock_gettime(CLOCK_REALTIME, &dl);
      int64_t ns = (int64_t)(pause_ms ? pause_ms : 100) * 1000000 + dl.tv_nsec;
      dl.tv_sec += (time_t)(ns / 1000000000);
      dl.tv_nsec = (long)(ns % 1000000000);
      pthread_cond_timedwait(&b->rq_cv, &b->rq_mu, &dl);
      pause_ms = 0;
      continue;
    }
    if (!ready) {
      pthread_mutex_unlock(&b->rq_mu);
      argus_err rc = ensure_streams(b);
      pthread_mutex_lock(&b->rq_mu);
      if (rc == ARGUS_OK)
        atomic_store(&b->streams_ready, 1);
      else
        pause_ms = RESEND_PAUSE_MS * 2;
      continue;
    }
    bus_spool_rec rec;
    int got = 0;
    if (b->spool) {
      if (bus_spool_peek(b->spool, &rec, &got) != ARGUS_OK || !got) {
        pause_ms = RESEND_PAUSE_MS;
        continue;
      }
    } else {
      /* Only this thread takes from the queue: the head stays. */
      mem_rec *r = b->mq_head;
      rec = (bus_spool_rec){r->subject, r->id, r->data, r->size, r->wall_ns};
    }
    pthread_mutex_unlock(&b->rq_mu);
    char wall[24];
    snprintf(wall, sizeof wall, "%lld", (long long)rec.wall_ns);
    natsMsg *m = NULL;
    natsStatus st =
        natsMsg_Create(&m, rec.subject, NULL, rec.data, (int)rec.size);
    if (st == NATS_OK)
      st = natsMsgHeader_Set(m, "Argus-Id", rec.id);
    if (st == NATS_OK && rec.wall_ns)
      st = natsMsgHeader_Set(m, "Argus-Wall", wall);
    jsPubAck *ack = NULL;
    if (st == NATS_OK) {
      jsPubOptions po;
      jsPubOptions_Init(&po);
      po.MsgId = rec.id; /* a resend of a stored one is dropped */
      po.MaxWait = RESEND_WAIT_MS;
      jsErrCode jerr = 0;
      st = js_PublishMsg(&ack, b->js, m, &po, &jerr);
    }
    jsPubAck_Destroy(ack);
    natsMsg_Destroy(m);
    pthread_mutex_lock(&b->rq_mu);
    if (st == NATS_OK) {
      if (b->spool) {
        bus_spool_pop(b->spool);
      } else {
        mem_rec *r = b->mq_head;
        b->mq_head = r->next;
        if (!b->mq_head)
          b->mq_tail = NULL;
        b->mq_bytes -= r->size + strlen(r->subject) + strlen(r->id) + 2;
        b->mq_n--;
        free(r);
      }
      atomic_fetch_add(&b->resent, 1);
      if (failures)
        argus_log(ARGUS_LOG_INFO, BUS_MOD,
                  "nats: publishing again after %d failed tries", failures);
      failures = 0;
      pthread_cond_broadcast(&b->rq_cv);
    } else {
      if (failures++ == 0)
        argus_log(ARGUS_LOG_WARN, BUS_MOD,
                  "nats: %s %s not taken (%s); trying again every %d ms",
                  rec.subject, rec.id, natsStatus_GetText(st), RESEND_PAUSE_MS);
      /* The streams may be gone with a server that lost its store. */
      if (st == NATS_NO_RESPONDERS)
        atomic_store(&b->streams_ready, 0);
      pause_ms = RESEND_PAUSE_MS;
    }
  }
  pthread_mutex_unlock(&b->rq_mu);
  return NULL;
}

static void on_disconnected(natsConnection *nc, void *closure) {
  (void)nc;
  nb_bus *b = closure;
  if (!atomic_load(&b->closing))
    argus_log(ARGUS_LOG_WARN, BUS_MOD,
              "nats: connection lost; reconnecting (publications are "
              "buffered meanwhile)");
}

/* The connection's last callback: after it none comes (nb_close waits for
 * it before freeing what the callbacks use). */
static void on_closed(natsConnection *nc, void *closure) {
  (void)nc;
  nb_bus *b = closure;
  pthread_mutex_lock(&b->mu);
  b->closed = 1;
  pthread_cond_broadcast(&b->closed_cv);
  pthread_mutex_unlock(&b->mu);
}

static void on_reconnected(natsConnection *nc, void *closure) {
  (void)closure;
  char url[256] = "";
  natsConnection_GetConnectedUrl(nc, url, sizeof url);
  argus_log(ARGUS_LOG_WARN, BUS_MOD, "nats: reconnected to %s", url);
}

/* Splits "nats://a:1,nats://b:2?replicas=3&ack_wait=5" into the server list
 * (in `servers`, modified) and the options. */
static argus_err parse_url(char *servers, nb_bus *b, char *name, size_t cap) {
  char *q = strchr(servers, '?');
  if (!q)
    return ARGUS_OK;
  *q++ = '\0';
  for (char *save = NULL, *kv = strtok_r(q, "&", &save); kv;
       kv = strtok_r(NULL, "&", &save)) {
    char *eq = strchr(kv, '=');
    if (!eq) {
      bus_note("nats: option '%.60s' has no value (name=value)", kv);
      return ARGUS_E_INVALID_ARG;
    }
    *eq++ = '\0';
    char *end = NULL;
    double v = strtod(eq, &end);
    int numeric = end && end != eq && *end == '\0';
    if (strcmp(kv, "replicas") == 0 && numeric && v >= 1 && v <= 5 &&
        v == (int)v) {
      b->replicas = (int)v;
    } else if (strcmp(kv, "ack_wait") == 0 && numeric && v >= 0.1 &&
               v <= 86400) {
      b->ack_wait_ns = (int64_t)(v * 1e9);
    } else if (strcmp(kv, "max_age") == 0 && numeric && v >= 1 && v <= 3.2e7) {
      b->max_age_ns = (int64_t)(v * 1e9);
    } else if (strcmp(kv, "name") == 0 && *eq) {
      snprintf(name, cap, "%s", eq);
    } else if (strcmp(kv, "spool") == 0 && *eq &&
               strlen(eq) < sizeof b->spool_dir) {
      snprintf(b->spool_dir, sizeof b->spool_dir, "%s", eq);
    } else if (strcmp(kv, "spool_max") == 0 && numeric &&
               v >= (double)BUS_SPOOL_MIN_BYTES && v <= 1e15) {
      b->spool_max = (uint64_t)v;
    } else if (strcmp(kv, "crops") == 0 &&
               (strcmp(eq, "inline") == 0 || strcmp(eq, "request") == 0)) {
      b->crops_inline = strcmp(eq, "inline") == 0;
    } else if (strcmp(kv, "crop_keep") == 0 && numeric && v >= 16 &&
               v <= 1048576 && v == (int)v) {
      b->crop_keep = (int)v;
    } else {
      bus_note("nats: bad option %s=%.60s (replicas=1..5, ack_wait=0.1..86400 "
               "s, max_age=1..3.2e7 s, name=TEXT, spool=FOLDER, "
               "spool_max=%llu..1e15 bytes, crops=request|inline, "
               "crop_keep=16..1048576 faces)",
               kv, eq, (unsigned long long)BUS_SPOOL_MIN_BYTES);
      return ARGUS_E_INVALID_ARG;
    }
  }
  return ARGUS_OK;
}

static argus_err ensure_streams(nb_bus *b) {
  for (size_t i = 0; i < N_STREAMS; i++) {
    const stored_stream *ss = &k_streams[i];
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    natsStatus s = js_GetStreamInfo(&si, b->js, ss->name, NULL, &jerr);
    if (s == NATS_OK) {
      jsStreamInfo_Destroy(si);
      continue;
    }
    if (s != NATS_NOT_FOUND) {
      bus_note("nats: stream %s: %s", ss->name, status_text(s));
      return ARGUS_E_IO;
    }
    char subj[3][ARGUS_BUS_TOPIC_MAX + 16];
    const char *subjects[3];
    int n = 0;
    for (; n < 3 && ss->topics[n]; n++) {
      snprintf(subj[n], sizeof subj[n], SUBJ_PREFIX "%s", ss->topics[n]);
      subjects[n] = subj[n];
    }
    jsStreamConfig cfg;
    jsStreamConfig_Init(&cfg);
    cfg.Name = ss->name;
    cfg.Subjects = subjects;
    cfg.SubjectsLen = n;
    cfg.Retention = ss->retention;
    cfg.Storage = js_FileStorage;
    cfg.Replicas = b->replicas;
    cfg.MaxAge = b->max_age_ns;
    cfg.MaxMsgSize = (int32_t)ARGUS_BUS_MSG_MAX + 1024;
    cfg.Duplicates = (int64_t)120 * 1000000000;
    cfg.Discard = js_DiscardOld;
    s = js_AddStream(&si, b->js, &cfg, NULL, &jerr);
    if (s != NATS_OK && jerr != JSStreamNameExistErr) {
      bus_note("nats: cannot create stream %s (%d replicas): %s", ss->name,
               b->replicas, status_text(s));
      return ARGUS_E_IO;
    }
    jsStreamInfo_Destroy(si);
  }
  return ARGUS_OK;
}

static void nb_close(void *ctx);

/* ---- crops kept for requests ---------------------------------------------
 */

/* Keeps the crop of face event `id` in the ring (its oldest goes). The
 * slot's buffer grows to the largest crop it held: no allocation once the
 * ring has gone round. Returns 0, or -1 (no memory: the caller carries the
 * crop instead). */
static int crop_keep(nb_bus *b, const char *id, const uint8_t *data,
                     size_t size) {
  pthread_mutex_lock(&b->cc_mu);
  crop_slot *c = &b->cc[b->cc_next];
  if (c->cap < size) {
    uint8_t *nd = realloc(c->data, size);
    if (!nd) {
      pthread_mutex_unlock(&b->cc_mu);
      return -1;
    }
    c->data = nd;
    c->cap = size;
  }
  memcpy(c->data, data, size);
  c->size = size;
  snprintf(c->id, sizeof c->id, "%s", id);
  b->cc_next = (b->cc_next + 1) % b->crop_keep;
  pthread_mutex_unlock(&b->cc_mu);
  return 0;
}

/* A crop request: the body is a face event's id; the answer is its crop
 * JPEG, or an empty body when it is no longer kept. On the connection's
 * delivery thread. */
static void on_crop_request(natsConnection *nc, natsSubscription *sub,
                            natsMsg *m, void *closure) {
  (void)sub;
  nb_bus *b = closure;
  static _Thread_local uint8_t out[CROP_MAX];
  char id[ARGUS_BUS_ID_MAX + 1];
  const char *reply = natsMsg_GetReply(m);
  int len = natsMsg_GetDataLength(m);
  size_t n = 0;
  if (reply && len > 0 && len <= ARGUS_BUS_ID_MAX) {
    memcpy(id, natsMsg_GetData(m), (size_t)len);
    id[len] = '\0';
    pthread_mutex_lock(&b->cc_mu);
    /* Newest first: a request comes soon after its face event. */
    for (int k = 0; k < b->crop_keep; k++) {
      int i = (b->cc_next - 1 - k + b->crop_keep) % b->crop_keep;
      if (!b->cc[i].id[0])
        break;
      if (strcmp(b->cc[i].id, id) == 0) {
        n = b->cc[i].size <= sizeof out ? b->cc[i].size : 0;
        memcpy(out, b->cc[i].data, n);
        break;
      }
    }
    pthread_mutex_unlock(&b->cc_mu);
  }
  if (reply) {
    natsConnection_Publish(nc, reply, out, (int)n);
    if (n) {
      atomic_fetch_add(&b->crops_served, 1);
      atomic_store(&b->last_crop_served_ns, argus_time_ns());
    }
  }
  natsMsg_Destroy(m);
}

/* A closing edge whose face events named its crops keeps answering crop
 * requests while matchers may still raise alerts for them: until the faces
 * work queue is empty (every face event handled, its alert's crop fetched),
 * or nothing was published or asked for CROP_QUIET_S (other edges keep the
 * queue busy), CROP_LINGER_S at most. An edge that analysed a file and
 * ends would otherwise leave the alerts of its last faces without crops. */
static void crop_linger(nb_bus *b) {
  uint64_t t0 = argus_time_ns(), next_look = 0;
  int said = 0;
  for (;;) {
    uint64_t now = argus_time_ns();
    if (now - t0 >= (uint64_t)CROP_LINGER_S * 1000000000ull)
      break;
    uint64_t last = atomic_load(&b->last_crop_face_ns);
    uint64_t served = atomic_load(&b->last_crop_served_ns);
    if (served > last)
      last = served;
    if (now - last >= (uint64_t)CROP_QUIET_S * 1000000000ull)
      break;
    if (now >= next_look) {
      next_look = now + 500000000ull;
      jsStreamInfo *si = NULL;
      jsErrCode jerr = 0;
      jsOptions jo;
      jsOptions_Init(&jo);
      jo.Wait = 1000;
      int empty =
          js_GetStreamInfo(&si, b->js, "ARGUS_FACES", &jo, &jerr) == NATS_OK &&
          si && si->State.Msgs == 0;
      jsStreamInfo_Destroy(si);
      if (empty)
        break;
      if (!said) {
        said = 1;
        argus_log(ARGUS_LOG_INFO, BUS_MOD,
                  "nats: answering crop requests until the matchers have "
                  "handled this edge's last face events (%d s at most)",
                  CROP_LINGER_S);
      }
    }
    struct timespec ts = {0, 50000000};
    nanosleep(&ts, NULL);
  }
}

/* Asks the edge that published `face` (it came without its crop) for the
 * crop: into out (CROP_MAX bytes), checked against its crop_sha256.
 * Returns the size, or 0 (logged and counted: the alert goes without). */
static size_t crop_fetch(nb_bus *b, const argus_event *face, uint8_t *out) {
  const argus_event_face *f = &face->u.face;
  natsMsg *r = NULL;
  natsStatus s = natsConnection_Request(&r, b->nc, f->crop_source, face->id,
                                        (int)strlen(face->id), CROP_WAIT_MS);
  const char *why = NULL;
  size_t n = 0;
  if (s != NATS_OK) {
    why = s == NATS_TIMEOUT || s == NATS_NO_RESPONDERS
              ? "its edge did not answer (ended?)"
              : status_text(s);
  } else {
    int len = natsMsg_GetDataLength(r);
    if (len <= 0) {
      why = "its edge no longer keeps it (crop_keep)";
    } else if ((size_t)len > CROP_MAX) {
      why = "the answer is too large";
    } else {
      uint8_t h[32];
      char hex[65];
      argus_sha256 sh;
      argus_sha256_init(&sh);
      argus_sha256_update(&sh, natsMsg_GetData(r), (size_t)len);
      argus_sha256_final(&sh, h);
      for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", h[i]);
      if (strcmp(hex, f->crop.sha256) != 0) {
        why = "the answer is not the crop of that face (SHA-256 differs)";
      } else {
        n = (size_t)len;
        memcpy(out, natsMsg_GetData(r), n);
      }
    }
  }
  natsMsg_Destroy(r);
  if (n) {
    atomic_fetch_add(&b->crops_fetched, 1);
  } else {
    atomic_fetch_add(&b->crops_missing, 1);
    argus_log(ARGUS_LOG_WARN, BUS_MOD,
              "nats: the crop of face %s (camera '%s') from %s: %s; its alert "
              "goes without a crop",
              face->id, f->camera, f->crop_source, why);
  }
  return n;
}

static argus_err nb_open(const char *url, const argus_bus_options *o,
                         void **ctx) {
  nb_bus *b = calloc(1, sizeof *b);
  if (!b)
    return ARGUS_E_NOMEM;
  b->window = o->dedupe_window;
  pthread_mutex_init(&b->mu, NULL);
  pthread_cond_init(&b->closed_cv, NULL);
  pthread_mutex_init(&b->rq_mu, NULL);
  pthread_cond_init(&b->rq_cv, NULL);
  b->spool_max = BUS_SPOOL_DEFAULT_BYTES;
  b->ack_wait_ns = (int64_t)30 * 1000000000;
  b->max_age_ns = (int64_t)86400 * 1000000000;
  b->replicas = 1;
  b->crop_keep = CROP_KEEP_DEFAULT;
  pthread_mutex_init(&b->cc_mu, NULL);
  char servers[1024], name[128] = "argus";
  if (strlen(url) >= sizeof servers) {
    bus_note("nats: URL of %zu bytes (at most %zu)", strlen(url),
             sizeof servers - 1);
    nb_close(b);
    return ARGUS_E_INVALID_ARG;
  }
  snprintf(servers, sizeof servers, "%s", url);
  argus_err rc = parse_url(servers, b, name, sizeof name);
  if (!rc && b->spool_dir[0])
    rc = bus_spool_open(b->spool_dir, b->spool_max, &b->spool);
  if (!rc && !b->crops_inline) {
    b->cc = calloc((size_t)b->crop_keep, sizeof *b->cc);
    if (!b->cc)
      rc = ARGUS_E_NOMEM;
  }
  if (rc) {
    nb_close(b);
    return rc;
  }
  /* A cluster: every listed server is tried (in random order, as the
   * client does), and the connection moves to another when its server
   * goes; the servers a cluster gossips are added to the list. */
  char list[sizeof servers];
  const char *urls[16];
  int nurls = 0;
  snprintf(list, sizeof list, "%s", servers);
  for (char *save = NULL, *u = strtok_r(list, ",", &save); u;
       u = strtok_r(NULL, ",", &save)) {
    while (*u == ' ')
      u++;
    size_t sl = strncmp(u, "nats://", 7) == 0  ? 7
                : strncmp(u, "tls://", 6) == 0 ? 6
                                               : 0;
    if (nurls == 16 || !sl || !u[sl]) {
      bus_note("nats: bad server list '%.200s' (up to 16 nats://HOST:PORT or "
               "tls://HOST:PORT, comma-separated)",
               servers);
      nb_close(b);
      return ARGUS_E_INVALID_ARG;
    }
    urls[nurls++] = u;
  }
  natsOptions *no = NULL;
  natsStatus s = natsOptions_Create(&no);
  if (s == NATS_OK)
    s = natsOptions_SetServers(no, urls, nurls);
  if (s == NATS_OK)
    s = natsOptions_SetName(no, name);
  if (s == NATS_OK)
    s = natsOptions_SetTimeout(no, 5000);
  if (s == NATS_OK)
    s = natsOptions_SetMaxReconnect(no, -1); /* forever */
  if (s == NATS_OK)
    s = natsOptions_SetReconnectWait(no, 250);
  if (s == NATS_OK)
    s = natsOptions_SetReconnectBufSize(no, 8 << 20);
  if (s == NATS_OK)
    s = natsOptions_SetDisconnectedCB(no, on_disconnected, b);
  if (s == NATS_OK)
    s = natsOptions_SetReconnectedCB(no, on_reconnected, b);
  if (s == NATS_OK)
    s = natsOptions_SetClosedCB(no, on_closed, b);
  /* With a spool an edge starts without NATS: it connects later, and what
   * it publishes meanwhile waits in the spool. */
  if (s == NATS_OK && b->spool)
    s = natsOptions_SetRetryOnFailedConnect(no, true, on_reconnected, b);
  if (s != NATS_OK) {
    bus_note("nats: options for %s: %s", servers, status_text(s));
    natsOptions_Destroy(no);
    nb_close(b);
    return ARGUS_E_INVALID_ARG;
  }
  s = natsConnection_Connect(&b->nc, no);
  natsOptions_Destroy(no);
  int later = s == NATS_NOT_YET_CONNECTED;
  if (later) {
    argus_log(ARGUS_LOG_WARN, BUS_MOD,
              "nats: no server at %s yet; publications go to the spool %s "
              "until one answers",
              servers, b->spool_dir);
    s = NATS_OK;
  }
  if (s != NATS_OK) {
    bus_note("nats: cannot connect to %s: %s", servers, status_text(s));
    nb_close(b);
    return ARGUS_E_IO;
  }
  jsOptions jo;
  jsOptions_Init(&jo);
  jo.Wait = 5000;
  jo.PublishAsync.MaxPending = 4096;
  jo.PublishAsync.ErrHandler = on_pub_error;
  jo.PublishAsync.ErrHandlerClosure = b;
  jo.PublishAsync.StallWait = 5000;
  s = natsConnection_JetStream(&b->js, b->nc, &jo);
  if (s != NATS_OK) {
    bus_note("nats: JetStream context: %s", status_text(s));
    nb_close(b);
    return ARGUS_E_IO;
  }
  if (b->cc) {
    /* The subject this process answers crop requests on. */
    uint64_t r = 0;
    FILE *f = fopen("/dev/urandom", "rb");
    if (!f || fread(&r, sizeof r, 1, f) != 1)
      r = (uint64_t)argus_wall_ns() ^ ((uint64_t)getpid() << 32);
    if (f)
      fclose(f);
    snprintf(b->crop_subject, sizeof b->crop_subject, "argus.crop.%016llx",
             (unsigned long long)r);
    s = natsConnection_Subscribe(&b->crop_sub, b->nc, b->crop_subject,
                                 on_crop_request, b);
    if (s != NATS_OK) {
      bus_note("nats: cannot answer crop requests on %s: %s", b->crop_subject,
               status_text(s));
      nb_close(b);
      return ARGUS_E_IO;
    }
  }
  if (!later) {
    rc = ensure_streams(b);
    if (rc && !b->spool) {
      nb_close(b);
      return rc;
    }
    atomic_store(&b->streams_ready, rc == ARGUS_OK);
  }
  if (pthread_create(&b->rq_th, NULL, rq_main, b) != 0) {
    bus_note("nats: cannot start the resend thread");
    nb_close(b);
    return ARGUS_E_INTERNAL;
  }
  b->has_rq = 1;
  *ctx = b;
  return ARGUS_OK;
}

static void nb_close(void *ctx) {
  nb_bus *b = ctx;
  if (!b)
    return;
  if (b->js) {
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = 5000;
    js_PublishAsyncComplete(b->js, &po);
  }
  if (b->has_rq) {
    /* What waits for a resend: in memory it would be lost, so wait for it
     * (while a server is there); a spool keeps it for the next run. */
    double limit = b->spool ? 2 : CLOSE_DRAIN_S;
    uint64_t end = argus_time_ns() + (uint64_t)(limit * 1e9);
    pthread_mutex_lock(&b->rq_mu);
    while (!rq_empty(b) && argus_time_ns() < end &&
           (connected(b) || !b->spool)) {
      struct timespec dl;
      clock_gettime(CLOCK_REALTIME, &dl);
      dl.tv_sec += 1;
      pthread_cond_timedwait(&b->rq_cv, &b->rq_mu, &dl);
    }
    atomic_store(&b->closing, 1);
    pthread_cond_broadcast(&b->rq_cv);
    pthread_mutex_unlock(&b->rq_mu);
    pthread_join(b->rq_th, NULL);
  }
  atomic_store(&b->closing, 1);
  if (b->crop_sub && atomic_load(&b->last_crop_face_ns) && connected(b))
    crop_linger(b);
  if (b->crop_sub) {
    natsSubscription_Unsubscribe(b->crop_sub);
    natsSubscription_Destroy(b->crop_sub);
    b->crop_sub = NULL;
  }
  if (b->js)
    jsCtx_Destroy(b->js);
  if (b->nc) {
    natsConnection_FlushTimeout(b->nc, 2000);
    natsConnection_Close(b->nc);
    /* The connection's callbacks run on the library's thread and use b:
     * wait for the last one (closed) before freeing it. */
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += 5;
    pthread_mutex_lock(&b->mu);
    while (!b->closed &&
           pthread_cond_timedwait(&b->closed_cv, &b->mu, &dl) == 0)
      ;
    int closed = b->closed;
    pthread_mutex_unlock(&b->mu);
    natsConnection_Destroy(b->nc);
    if (!closed) {
      /* Never seen in practice; leaking beats a use after free. */
      argus_log(ARGUS_LOG_WARN, BUS_MOD,
                "nats: the connection did not report its close in 5 s");
      return;
    }
  }
  if (b->mq_n)
    argus_log(ARGUS_LOG_ERROR, BUS_MOD,
              "nats: %llu publications lost: never taken by the server "
              "before the bus closed (a spool= folder keeps them)",
              (unsigned long long)b->mq_n);
  while (b->mq_head) {
    mem_rec *r = b->mq_head;
    b->mq_head = r->next;
    free(r);
  }
  if (b->spool) {
    bus_spool_stats st;
    bus_spool_get_stats(b->spool, &st);
    if (st.pending)
      argus_log(ARGUS_LOG_WARN, BUS_MOD,
                "nats: %llu publications stay in the spool %s for the next "
                "run",
                (unsigned long long)st.pending, b->spool_dir);
    bus_spool_close(b->spool);
  }
  if (b->cc) {
    for (int i = 0; i < b->crop_keep; i++)
      free(b->cc[i].data);
    free(b->cc);
  }
  pthread_mutex_destroy(&b->cc_mu);
  pthread_cond_destroy(&b->rq_cv);
  pthread_mutex_destroy(&b->rq_mu);
  pthread_cond_destroy(&b->closed_cv);
  pthread_mutex_destroy(&b->mu);
  free(b);
}

/* ---- publish -------------------------------------------------------------
 */

static argus_err nb_publish(void *ctx, const char *topic, const char *id,
                            const char *json, size_t size) {
  nb_bus *b = ctx;
  char subj[ARGUS_BUS_TOPIC_MAX + 16], wall[24];
  snprintf(subj, sizeof subj, SUBJ_PREFIX "%s", topic);
  snprintf(wall, sizeof wall, "%lld", (long long)argus_wall_ns());
  natsMsg *m = NULL;
  natsStatus s = natsMsg_Create(&m, subj, NULL, json, (int)size);
  if (s == NATS_OK)
    s = natsMsgHeader_Set(m, "Argus-Id", id);
  if (s == NATS_OK)
    s = natsMsgHeader_Set(m, "Argus-Wall", wall);
  if (s == NATS_OK && stored_of(topic)) {
    /* Behind publications waiting for a resend (their order), or without
     * a connection when there is a spool: to the resend queue. */
    pthread_mutex_lock(&b->rq_mu);
    int queue = !rq_empty(b) || !atomic_load(&b->streams_ready) ||
                (b->spool && !connected(b));
    argus_err rc = ARGUS_OK;
    if (queue)
      rc = rq_put(b, subj, id, strtoll(wall, NULL, 10), json, size);
    pthread_mutex_unlock(&b->rq_mu);
    if (queue) {
      natsMsg_Destroy(m);
      if (rc != ARGUS_OK && rc != ARGUS_E_LIMIT) {
        atomic_fetch_add(&b->pub_errors, 1);
        return rc;
      }
      atomic_fetch_add(&b->published, 1);
      return ARGUS_OK; /* a full memory queue: counted lost, logged */
    }
  }
  if (s == NATS_OK) {
    if (stored_of(topic)) {
      jsPubOptions po;
      jsPubOptions_Init(&po);
      po.MsgId = id;
      /* Without a wait, a publication lost with a dying server would never
       * be acknowledged nor reported: after PUB_WAIT_MS it is reported to
       * on_pub_error, which sends it again under the same id. */
      po.MaxWait = PUB_WAIT_MS;
      s = js_PublishMsgAsync(b->js, &m, &po);
    } else {
      s = natsConnection_PublishMsg(b->nc, m);
    }
  }
  natsMsg_Destroy(m); /* NULL once JetStream took it */
  if (s != NATS_OK) {
    atomic_fetch_add(&b->pub_errors, 1);
    bus_note("publish %s %s over nats: %s", topic, id, status_text(s));
    return ARGUS_E_IO;
  }
  atomic_fetch_add(&b->published, 1);
  return ARGUS_OK;
}

static argus_err nb_publish_event(void *ctx, const char *topic,
                                  const argus_event *ev) {
  nb_bus *b = ctx;
  /* One document per publishing thread: no allocation per message. */
  static _Thread_local char doc[ARGUS_BUS_MSG_MAX + 1];
  static _Thread_local uint8_t crop[CROP_MAX];
  size_t len = 0;
  /* The wire form: an alert's face travels to the other roles; a face's
   * crop stays here until an alert asks for it (crops=request). */
  bus_wire_crop w = {0};
  const argus_event *face = ev->type == ARGUS_EVENT_ALERT ? ev->u.alert.face
                            : ev->type == ARGUS_EVENT_UNMATCHED
                                ? ev->u.unmatched.face
                                : NULL;
  if (ev->type == ARGUS_EVENT_FACE && b->cc && ev->u.face.crop.data &&
      ev->u.face.crop.size > 0 && ev->u.face.crop.size <= CROP_MAX &&
      ev->u.face.crop.sha256[0]) {
    /* What goes to the spool carries its crop: the ring does not outlive
     * the process. */
    pthread_mutex_lock(&b->rq_mu);
    int direct = rq_empty(b) && atomic_load(&b->streams_ready) &&
                 (!b->spool || connected(b));
    pthread_mutex_unlock(&b->rq_mu);
    if (direct &&
        crop_keep(b, ev->id, ev->u.face.crop.data, ev->u.face.crop.size) == 0) {
      w.crop_at = b->crop_subject;
      atomic_store(&b->last_crop_face_ns, argus_time_ns());
    }
  } else if (face && face->type == ARGUS_EVENT_FACE &&
             (strcmp(topic, ARGUS_EVENT_TOPIC_ALERT_RAISED) == 0 ||
              strcmp(topic, ARGUS_EVENT_TOPIC_UNMATCHED) == 0) &&
             !face->u.face.crop.data && face->u.face.crop_source[0] &&
             face->u.face.crop.sha256[0]) {
    w.face_crop_size = crop_fetch(b, face, crop);
    w.face_crop = w.face_crop_size ? crop : NULL;
  }
  argus_err rc = bus_event_wire(ev, &w, doc, ARGUS_BUS_MSG_MAX + 1, &len);
  if (rc) {
    bus_note("publish %s %s: the event does not fit a document (%s)", topic,
             ev->id, argus_strerror(rc));
    return rc == ARGUS_E_LIMIT ? ARGUS_E_LIMIT : ARGUS_E_INVALID_ARG;
  }
  return nb_publish(ctx, topic, ev->id, doc, len);
}

/* ---- delivery ------------------------------------------------------------
 */

/* Fills *out from a NATS message: into the subscription's buffers, or
 * (in_place) pointing into the message itself (libnats NUL-terminates the
 * payload), valid while it lives. The event, when the subscription wants
 * events, is returned in *ev (one reference, the caller drops it). Returns
 * 1, 0 for a message that is not an argus message (no id, too large:
 * counted as dropped), 2 for an id this subscription delivered lately
 * (counted as a duplicate). */
static int convert(nb_sub *s, natsMsg *m, argus_bus_msg *out, argus_event **ev,
                   int in_place) {
  *ev = NULL;
  const char *subj = natsMsg_GetSubject(m);
  const char *id = NULL, *wall = NULL;
  int len = natsMsg_GetDataLength(m);
  if (!subj || strncmp(subj, SUBJ_PREFIX, strlen(SUBJ_PREFIX)) != 0 ||
      natsMsgHeader_Get(m, "Argus-Id", &id) != NATS_OK || !id || len < 0 ||
      (size_t)len > ARGUS_BUS_MSG_MAX)
    return 0;
  const char *topic = subj + strlen(SUBJ_PREFIX);
  if (strlen(topic) > ARGUS_BUS_TOPIC_MAX || strlen(id) > ARGUS_BUS_ID_MAX)
    return 0;
  if (bus_dedupe_seen(&s->seen, bus_dedupe_hash(topic, id)))
    return 2;
  const char *data = natsMsg_GetData(m);
  if (!in_place) {
    snprintf(s->topic, sizeof s->topic, "%s", topic);
    snprintf(s->id, sizeof s->id, "%s", id);
    if (len)
      memcpy(s->buf, data, (size_t)len);
    s->buf[len] = '\0';
    topic = s->topic;
    id = s->id;
    data = s->buf;
  } else if (!data) {
    data = "";
  }
  memset(out, 0, sizeof *out);
  out->topic = topic;
  out->id = id;
  out->data = data;
  out->size = (size_t)len;
  out->mono_ns = argus_time_ns();
  out->wall_ns = argus_wall_ns();
  if (natsMsgHeader_Get(m, "Argus-Wall", &wall) == NATS_OK && wall) {
    /* Publication time on the publisher's clock; mono_ns is shifted by the
     * same age so that latencies measured here stay meaningful. */
    int64_t w = strtoll(wall, NULL, 10);
    if (w > 0 && w <= out->wall_ns) {
      out->mono_ns -= (uint64_t)(out->wall_ns - w);
      out->wall_ns = w;
    }
  }
  jsMsgMetaData *meta = NULL;
  if (s->pull && natsMsg_GetMetaData(&meta, m) == NATS_OK && meta) {
    out->seq = meta->Sequence.Stream;
    jsMsgMetaData_Destroy(meta);
  } else {
    out->seq = ++s->own_seq;
  }
  if (s->events) {
    argus_error_detail e = {{0}};
    if (argus_event_from_json(data, (size_t)len, ev, &e) == ARGUS_OK) {
      /* The event's id is the message's (what keys its effects). */
      snprintf((*ev)->id, sizeof(*ev)->id, "%s", id);
      out->event = *ev;
    } else
      *ev = NULL; /* the subscriber gets the text and says what is wrong */
  }
  return 1;
}

/* Runs the handler on one message (any dispatcher). */
static void deliver(nb_sub *s, natsMsg *m) {
  argus_bus_msg msg;
  argus_event *ev = NULL;
  atomic_fetch_add(&s->received, 1);
  int c = convert(s, m, &msg, &ev, 0);
  if (c != 1) {
    atomic_fetch_add(c == 2 ? &s->bus->duplicates : &s->dropped, 1);
    return;
  }
  pthread_mutex_lock(&s->mu);
  s->busy = 1;
  s->cb_th = pthread_self();
  pthread_mutex_unlock(&s->mu);
  s->handler(s->user, &msg);
  argus_event_unref(ev);
  atomic_fetch_add(&s->delivered, 1);
  atomic_fetch_add(&s->bus->delivered, 1);
  pthread_mutex_lock(&s->mu);
  s->busy = 0;
  pthread_cond_broadcast(&s->cv);
  pthread_mutex_unlock(&s->mu);
}

/* Pull consumers with a batch handler: the messages of one fetch go to one
 * call, then are acknowledged (or, when the subscription is stopping
 * first, handed back at once). Those that are not delivered (duplicates,
 * not argus's) are acknowledged and counted. */
static void deliver_batch(nb_sub *s, natsMsg **ms, int n) {
  argus_bus_msg msgs[64];
  argus_event *evs[64];
  natsMsg *took[64];
  int k = 0;
  for (int i = 0; i < n; i++) {
    atomic_fetch_add(&s->received, 1);
    int c = k < 64 ? convert(s, ms[i], &msgs[k], &evs[k], 1) : 0;
    if (c != 1) {
      atomic_fetch_add(c == 2 ? &s->bus->duplicates : &s->dropped, 1);
      natsMsg_Ack(ms[i], NULL);
      continue;
    }
    took[k++] = ms[i];
  }
  if (k && !atomic_load(&s->stop)) {
    pthread_mutex_lock(&s->mu);
    s->busy = 1;
    s->cb_th = pthread_self();
    pthread_mutex_unlock(&s->mu);
    s->batch_handler(s->user, msgs, k);
    atomic_fetch_add(&s->delivered, (uint64_t)k);
    atomic_fetch_add(&s->bus->delivered, (uint64_t)k);
    pthread_mutex_lock(&s->mu);
    s->busy = 0;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    /* Their effects are done — unless the subscription was being stopped
     * meanwhile: a handler may then have returned early, so they go back
     * (effects are keyed by message id: a second delivery changes
     * nothing). */
    int back = atomic_load(&s->stop);
    for (int i = 0; i < k; i++) {
      if (back)
        natsMsg_Nak(took[i], NULL);
      else
        natsMsg_Ack(took[i], NULL);
    }
  } else {
    for (int i = 0; i < k; i++)
      natsMsg_Nak(took[i], NULL); /* another member takes them at once */
  }
  for (int i = 0; i < k; i++)
    argus_event_unref(evs[i]);
}

static void free_sub(nb_sub *s) {
  bus_dedupe_free(&s->seen);
  if (s->held)
    natsMsg_Destroy(s->held);
  argus_event_unref(s->held_ev);
  natsSubscription_Destroy(s->sub);
  pthread_cond_destroy(&s->cv);
  pthread_mutex_destroy(&s->mu);
  free(s->buf);
  free(s);
}

/* Core NATS subscription: libnats' delivery thread. */
static void on_core_msg(natsConnection *nc, natsSubscription *sub, natsMsg *m,
                        void *closure) {
  (void)nc;
  (void)sub;
  nb_sub *s = closure;
  if (!s->detach)
    deliver(s, m);
  natsMsg_Destroy(m);
}

static void on_core_complete(void *closure) {
  nb_sub *s = closure;
  pthread_mutex_lock(&s->mu);
  int detach = s->detach;
  s->complete = 1;
  pthread_cond_broadcast(&s->cv);
  pthread_mutex_unlock(&s->mu);
  if (detach)
    free_sub(s);
}

/* JetStream pull consumer: the dispatcher thread. */
static void *pull_main(void *arg) {
  nb_sub *s = arg;
  while (!atomic_load(&s->stop)) {
    if (!connected(s->bus)) {
      /* No fetch while disconnected: its pull request would wait in the
       * client's reconnect buffer and be answered after the reconnection
       * beside the next fetch's. */
      struct timespec ts = {0, 100 * 1000000};
      nanosleep(&ts, NULL);
      continue;
    }
    natsMsgList list = {0};
    jsErrCode jerr = 0;
    natsStatus st;
    if (s->batch_handler) {
      /* A batch is what has queued up meanwhile (no waiting for it to
       * fill: that would add up to a batch's worth of latency); when
       * nothing has, wait for the next message. */
      jsFetchRequest fr;
      jsFetchRequest_Init(&fr);
      fr.Batch = s->batch;
      fr.NoWait = true;
      fr.Expires = (int64_t)FETCH_WAIT_MS * 1000000;
      st = natsSubscription_FetchRequest(&list, s->sub, &fr);
      if (st != NATS_OK || list.Count == 0) {
        natsMsgList_Destroy(&list);
        memset(&list, 0, sizeof list);
        st = natsSubscription_Fetch(&list, s->sub, 1, FETCH_WAIT_MS, &jerr);
      }
    } else {
      st =
          natsSubscription_Fetch(&list, s->sub, s->batch, FETCH_WAIT_MS, &jerr);
    }
    if (st == NATS_TIMEOUT)
      continue;
    if (st != NATS_OK) {
      if (atomic_load(&s->stop) || atomic_load(&s->bus->closing))
        break;
      /* A server restarting, a lost connection: try again shortly. */
      struct timespec ts = {0, 200 * 1000000};
      nanosleep(&ts, NULL);
      continue;
    }
    if (s->batch_handler) {
      deliver_batch(s, list.Msgs, list.Count);
      natsMsgList_Destroy(&list);
      continue;
    }
    for (int i = 0; i < list.Count; i++) {
      natsMsg *m = list.Msgs[i];
      if (atomic_load(&s->stop)) {
        natsMsg_Nak(m, NULL); /* another member takes it at once */
        continue;
      }
      deliver(s, m);
      /* Acknowledged after the handler returned: its effect is done (handed
       * back when a stop came meanwhile, as in deliver_batch). */
      if (atomic_load(&s->stop))
        natsMsg_Nak(m, NULL);
      else
        natsMsg_Ack(m, NULL);
    }
    natsMsgList_Destroy(&list);
  }
  if (s->detach)
    free_sub(s);
  return NULL;
}

static argus_err nb_subscribe(void *ctx, const argus_bus_sub_options *o,
                              void **impl) {
  nb_bus *b = ctx;
  const stored_stream *st = stored_of(o->pattern);
  int pull = o->group || o->start_seq;
  if (pull && !st) {
    bus_note("subscribe %s: a group or start sequence needs a stored topic "
             "(face, alert.raised, alert.suppressed, face.unmatched, "
             "watchlist.change)",
             o->pattern);
    return ARGUS_E_INVALID_ARG;
  }
  if (o->start_seq && o->group) {
    bus_note("subscribe %s: a group keeps its own position (no start "
             "sequence)",
             o->pattern);
    return ARGUS_E_INVALID_ARG;
  }
  if (o->start_seq && st->retention == js_WorkQueuePolicy) {
    bus_note("subscribe %s: a work-queue topic is read by a group only",
             o->pattern);
    return ARGUS_E_INVALID_ARG;
  }
  nb_sub *s = calloc(1, sizeof *s);
  if (!s || !(s->buf = malloc(ARGUS_BUS_MSG_MAX + 1))) {
    if (s)
      free(s);
    return ARGUS_E_NOMEM;
  }
  s->bus = b;
  if (bus_dedupe_init(&s->seen, b->window) != ARGUS_OK) {
    free(s->buf);
    free(s);
    return ARGUS_E_NOMEM;
  }
  snprintf(s->pattern, sizeof s->pattern, "%s", o->pattern);
  size_t n = strlen(o->pattern);
  if (strcmp(o->pattern, "*") == 0)
    snprintf(s->subject, sizeof s->subject, "argus.>");
  else if (n >= 2 && o->pattern[n - 1] == '*')
    snprintf(s->subject, sizeof s->subject, SUBJ_PREFIX "%.*s>", (int)n - 1,
             o->pattern);
  else
    snprintf(s->subject, sizeof s->subject, SUBJ_PREFIX "%s", o->pattern);
  if (o->group) {
    snprintf(s->durable, sizeof s->durable, "%s_%s", o->group, o->pattern);
    for (char *c = s->durable; *c; c++)
      if (*c == '.')
        *c = '_';
  }
  s->handler = o->handler;
  s->user = o->user;
  s->events = o->events;
  s->pull = pull;
  int qmsgs = o->queue_msgs ? o->queue_msgs : 256;
  size_t qbytes = o->queue_bytes ? o->queue_bytes : (size_t)1 << 20;
  s->batch = qmsgs < 64 ? qmsgs : 64;
  if (pull && o->handler && o->batch_handler) {
    s->batch_handler = o->batch_handler;
    if (o->batch_max > 0 && o->batch_max < s->batch)
      s->batch = o->batch_max;
  }
  pthread_mutex_init(&s->mu, NULL);
  pthread_cond_init(&s->cv, NULL);
  natsStatus ns;
  if (pull) {
    s->stream = st->name;
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = st->name;
    so.ManualAck = true;
    so.Config.AckPolicy = js_AckExplicit;
    so.Config.AckWait = b->ack_wait_ns;
    so.Config.MaxAckPending = qmsgs * 4;
    if (o->group) {
      so.Config.DeliverPolicy = js_DeliverAll; /* the group's own position */
    } else {
      so.Config.DeliverPolicy = js_DeliverByStartSequence;
      so.Config.OptStartSeq = o->start_seq;
    }
    jsErrCode jerr = 0;
    ns = NATS_OK;
    if (o->group) {
      /* The group's durable consumer is made by its first member (an
       * existing one is kept as it is, with its position and settings: a
       * create with other settings would change them) and every member
       * binds to it, so that a member leaving never deletes it. */
      jsConsumerInfo *ci = NULL;
      if (js_GetConsumerInfo(&ci, b->js, st->name, s->durable, NULL, &jerr) ==
          NATS_NOT_FOUND) {
        jsConsumerConfig cc = so.Config;
        cc.Durable = s->durable;
        cc.FilterSubject = s->subject;
        js_AddConsumer(&ci, b->js, st->name, &cc, NULL, &jerr);
      }
      jsConsumerInfo_Destroy(ci);
      jsSubOptions_Init(&so);
      so.Stream = st->name;
      so.Consumer = s->durable;
      so.ManualAck = true;
    }
    ns = js_PullSubscribe(&s->sub, b->js, s->subject,
                          o->group ? s->durable : NULL, NULL, &so, &jerr);
  } else if (o->handler) {
    ns = natsConnection_Subscribe(&s->sub, b->nc, s->subject, on_core_msg, s);
    if (ns == NATS_OK)
      ns = natsSubscription_SetOnCompleteCB(s->sub, on_core_complete, s);
  } else {
    ns = natsConnection_SubscribeSync(&s->sub, b->nc, s->subject);
  }
  if (ns == NATS_OK && !pull)
    ns = natsSubscription_SetPendingLimits(
        s->sub, qmsgs, qbytes > (size_t)1 << 30 ? 1 << 30 : (int)qbytes);
  if (ns == NATS_OK && !pull)
    ns = natsConnection_Flush(b->nc); /* the server knows it: none missed */
  if (ns != NATS_OK) {
    bus_note("subscribe %s over nats%s%s: %s", o->pattern,
             o->group ? " as group " : "", o->group ? o->group : "",
             status_text(ns));
    free_sub(s);
    return ARGUS_E_IO;
  }
  if (pull && o->handler) {
    if (pthread_create(&s->th, NULL, pull_main, s) != 0) {
      bus_note("subscribe %s: cannot start its thread", o->pattern);
      natsSubscription_Unsubscribe(s->sub);
      free_sub(s);
      return ARGUS_E_INTERNAL;
    }
    s->has_thread = 1;
  }
  pthread_mutex_lock(&b->mu);
  s->next = b->subs;
  b->subs = s;
  b->nsubs++;
  pthread_mutex_unlock(&b->mu);
  *impl = s;
  return ARGUS_OK;
}

static void nb_unsubscribe(void *ctx, void *impl) {
  nb_bus *b = ctx;
  nb_sub *s = impl;
  pthread_mutex_lock(&b->mu);
  for (nb_sub **pp = &b->subs; *pp; pp = &(*pp)->next)
    if (*pp == s) {
      *pp = s->next;
      break;
    }
  b->nsubs--;
  b->delivered_gone += atomic_load(&s->delivered);
  b->dropped_gone += atomic_load(&s->dropped);
  pthread_mutex_unlock(&b->mu);

  pthread_mutex_lock(&s->mu);
  int own = s->busy && pthread_equal(s->cb_th, pthread_self());
  if (own)
    s->detach = 1; /* the dispatcher frees it after this handler */
  pthread_mutex_unlock(&s->mu);

  if (s->pull) {
    atomic_store(&s->stop, 1);
    if (own)
      return;
    if (s->has_thread)
      pthread_join(s->th, NULL);
    if (s->held) { /* polled: the last message was handled */
      natsMsg_Ack(s->held, NULL);
      natsMsg_Destroy(s->held);
      s->held = NULL;
    }
    /* A group's durable consumer stays on the server (the group's
     * position); the ephemeral one of a start sequence goes. */
    natsSubscription_Unsubscribe(s->sub);
    free_sub(s);
    return;
  }
  natsSubscription_Unsubscribe(s->sub);
  if (own)
    return; /* freed by on_core_complete */
  if (s->handler) {
    pthread_mutex_lock(&s->mu);
    while (!s->complete)
      pthread_cond_wait(&s->cv, &s->mu);
    pthread_mutex_unlock(&s->mu);
  }
  free_sub(s);
}

static argus_err nb_next(void *ctx, void *impl, double timeout_s,
                         argus_bus_msg *msg, int *got) {
  nb_bus *b = ctx;
  nb_sub *s = impl;
  if (s->handler)
    return ARGUS_E_INVALID_ARG;
  if (s->held) {
    if (s->pull)
      natsMsg_Ack(s->held, NULL);
    natsMsg_Destroy(s->held);
    s->held = NULL;
  }
  argus_event_unref(s->held_ev);
  s->held_ev = NULL;
  int64_t ms = timeout_s < 0 ? INT32_MAX : (int64_t)(timeout_s * 1000 + 0.5);
  uint64_t deadline = argus_time_ns() + (uint64_t)ms * 1000000;
  for (;;) {
    natsMsg *m = NULL;
    natsStatus st;
    if (s->pull) {
      natsMsgList list = {0};
      jsErrCode jerr = 0;
      int64_t left = (int64_t)((deadline - argus_time_ns()) / 1000000);
      st = natsSubscription_Fetch(&list, s->sub, 1, left > 0 ? left : 1, &jerr);
      if (st == NATS_OK && list.Count > 0) {
        m = list.Msgs[0];
        list.Msgs[0] = NULL;
      }
      natsMsgList_Destroy(&list);
    } else {
      st = natsSubscription_NextMsg(&m, s->sub, ms > 0 ? ms : 1);
    }
    if (st == NATS_TIMEOUT || (st == NATS_OK && !m))
      return ARGUS_OK;
    if (st != NATS_OK) {
      if (argus_time_ns() >= deadline)
        return ARGUS_OK;
      bus_note("nats: polling %s: %s", s->pattern, status_text(st));
      return ARGUS_E_IO;
    }
    atomic_fetch_add(&s->received, 1);
    int c = convert(s, m, msg, &s->held_ev, 0);
    if (c != 1) {
      atomic_fetch_add(c == 2 ? &b->duplicates : &s->dropped, 1);
      if (s->pull) /* not an argus message, or one handled already */
        natsMsg_Ack(m, NULL);
      natsMsg_Destroy(m);
      if (argus_time_ns() >= deadline)
        return ARGUS_OK;
      continue;
    }
    s->held = m;
    atomic_fetch_add(&s->delivered, 1);
    atomic_fetch_add(&b->delivered, 1);
    *got = 1;
    return ARGUS_OK;
  }
}

static argus_err nb_flush(void *ctx, double timeout_s) {
  nb_bus *b = ctx;
  int64_t ms =
      timeout_s < 0 ? (int64_t)3600 * 1000 : (int64_t)(timeout_s * 1e3);
  uint64_t deadline = argus_time_ns() + (uint64_t)ms * 1000000;
  jsPubOptions po;
  jsPubOptions_Init(&po);
  po.MaxWait = ms > 0 ? ms : 1;
  if (js_PublishAsyncComplete(b->js, &po) != NATS_OK)
    return ARGUS_E_LIMIT;
  if (natsConnection_FlushTimeout(b->nc, ms > 0 ? ms : 1) != NATS_OK)
    return ARGUS_E_LIMIT;
  /* Then this process's callback subscriptions: nothing pending, no
   * handler running (messages in flight from the server to a pull
   * consumer are not counted: they belong to the group, not to us). */
  for (;;) {
    int idle = 1;
    pthread_mutex_lock(&b->mu);
    for (nb_sub *s = b->subs; s && idle; s = s->next) {
      if (!s->handler)
        continue;
      int pending = 0;
      if (!s->pull)
        natsSubscription_GetPending(s->sub, &pending, NULL);
      pthread_mutex_lock(&s->mu);
      idle = pending == 0 && !s->busy;
      pthread_mutex_unlock(&s->mu);
    }
    pthread_mutex_unlock(&b->mu);
    if (idle)
      return ARGUS_OK;
    if (argus_time_ns() >= deadline)
      return ARGUS_E_LIMIT;
    struct timespec ts = {0, 1000000};
    nanosleep(&ts, NULL);
  }
}

static void nb_stats(void *ctx, argus_bus_stats *out) {
  nb_bus *b = ctx;
  out->published = atomic_load(&b->published);
  out->duplicates = atomic_load(&b->duplicates);
  out->crops_served = atomic_load(&b->crops_served);
  out->crops_fetched = atomic_load(&b->crops_fetched);
  out->crops_missing = atomic_load(&b->crops_missing);
  out->resent = atomic_load(&b->resent);
  out->spooled = atomic_load(&b->spooled);
  pthread_mutex_lock(&b->rq_mu);
  out->lost = atomic_load(&b->lost);
  if (b->spool) {
    bus_spool_stats ss;
    bus_spool_get_stats(b->spool, &ss);
    out->lost += ss.dropped;
    out->waiting = ss.pending;
  } else {
    out->waiting = b->mq_n;
  }
  pthread_mutex_unlock(&b->rq_mu);
  pthread_mutex_lock(&b->mu);
  out->delivered = b->delivered_gone;
  out->dropped = b->dropped_gone;
  for (nb_sub *s = b->subs; s; s = s->next) {
    out->delivered += atomic_load(&s->delivered);
    int64_t d = 0;
    if (!s->pull && natsSubscription_GetDropped(s->sub, &d) == NATS_OK)
      out->dropped += (uint64_t)d;
    out->dropped += atomic_load(&s->dropped);
  }
  out->subscriptions = b->nsubs;
  pthread_mutex_unlock(&b->mu);
}

static void nb_sub_stats(void *ctx, void *impl, argus_bus_sub_stats *out) {
  (void)ctx;
  nb_sub *s = impl;
  int pending = 0, bytes = 0;
  int64_t d = 0;
  if (!s->pull) {
    natsSubscription_GetPending(s->sub, &pending, &bytes);
    natsSubscription_GetDropped(s->sub, &d);
  }
  out->received = atomic_load(&s->received) + (uint64_t)d;
  out->delivered = atomic_load(&s->delivered);
  out->dropped = atomic_load(&s->dropped) + (uint64_t)d;
  out->queued = pending;
  out->queued_bytes = (size_t)bytes;
  out->backlog = -1;
  if (s->pull && s->durable[0]) {
    /* The server's count for the group, asked at most once a second (the
     * status paths call this often). */
    uint64_t now = argus_time_ns();
    pthread_mutex_lock(&s->mu);
    int ask = now - s->backlog_at >= 1000000000ull || !s->backlog_at;
    if (ask)
      s->backlog_at = now;
    int64_t have = s->backlog;
    pthread_mutex_unlock(&s->mu);
    if (ask) {
      jsConsumerInfo *ci = NULL;
      jsErrCode jerr = 0;
      have = -1;
      /* Briefly: a status line must not stall while the server is away. */
      jsOptions jo;
      jsOptions_Init(&jo);
      jo.Wait = 500;
      if (js_GetConsumerInfo(&ci, s->bus->js, s->stream, s->durable, &jo,
                             &jerr) == NATS_OK &&
          ci) {
        have = (int64_t)ci->NumPending + ci->NumAckPending;
        jsConsumerInfo_Destroy(ci);
      }
      pthread_mutex_lock(&s->mu);
      s->backlog = have;
      pthread_mutex_unlock(&s->mu);
    }
    out->backlog = have;
  }
}

/* ---- leases: a key-value bucket with a time to live ----------------------
 */

#define LEASE_KEYS 1024

typedef struct nb_leases {
  kvStore *kv;
  pthread_mutex_t mu;
  int n;
  struct {
    char key[65];
    uint64_t rev; /* our last write */
  } mine[LEASE_KEYS];
} nb_leases;

static argus_err nb_lease_open(void *ctx, const char *table, double ttl_s,
                               void **impl) {
  nb_bus *b = ctx;
  nb_leases *l = calloc(1, sizeof *l);
  if (!l)
    return ARGUS_E_NOMEM;
  pthread_mutex_init(&l->mu, NULL);
  char bucket[48];
  snprintf(bucket, sizeof bucket, "ARGUS_%s", table);
  natsStatus s = js_KeyValue(&l->kv, b->js, bucket);
  if (s == NATS_NOT_FOUND) {
    kvConfig kc;
    kvConfig_Init(&kc);
    kc.Bucket = bucket;
    kc.History = 1;
    kc.TTL = (int64_t)(ttl_s * 1e9); /* nanoseconds */
    kc.Replicas = b->replicas;
    kc.StorageType = js_FileStorage;
    s = js_CreateKeyValue(&l->kv, b->js, &kc);
  }
  if (s != NATS_OK) {
    bus_note("nats: lease table %s: %s", bucket, status_text(s));
    pthread_mutex_destroy(&l->mu);
    free(l);
    return ARGUS_E_IO;
  }
  *impl = l;
  return ARGUS_OK;
}

/* Our last revision of key (0: none); slot index in *slot (-1: none). */
static uint64_t lease_rev(nb_leases *l, const char *key, int *slot) {
  for (int i = 0; i < l->n; i++)
    if (strcmp(l->mine[i].key, key) == 0) {
      *slot = i;
      return l->mine[i].rev;
    }
  *slot = -1;
  return 0;
}

static void lease_set(nb_leases *l, int slot, const char *key, uint64_t rev) {
  if (slot < 0) {
    if (rev == 0)
      return;
    if (l->n == LEASE_KEYS)
      return; /* renewals then go through a read: slower, still right */
    slot = l->n++;
    snprintf(l->mine[slot].key, sizeof l->mine[slot].key, "%s", key);
  }
  if (rev == 0) { /* forget it */
    l->mine[slot] = l->mine[--l->n];
    return;
  }
  l->mine[slot].rev = rev;
}

static argus_err nb_lease_take(void *impl, const char *holder, const char *key,
                               int *held, char *other, size_t cap) {
  nb_leases *l = impl;
  int hl = (int)strlen(holder);
  pthread_mutex_lock(&l->mu);
  int slot = -1;
  uint64_t last = lease_rev(l, key, &slot), rev = 0;
  natsStatus s = NATS_ERR;
  /* Ours at our last write: renew with compare-and-set. */
  if (last && kvStore_Update(&rev, l->kv, key, holder, hl, last) == NATS_OK) {
    lease_set(l, slot, key, rev);
    *held = 1;
    pthread_mutex_unlock(&l->mu);
    return ARGUS_OK;
  }
  kvEntry *e = NULL;
  s = kvStore_Get(&e, l->kv, key);
  if (s == NATS_NOT_FOUND) {
    /* Free (never taken, given back, or expired): create, which fails when
     * another holder was faster. */
    s = kvStore_Create(&rev, l->kv, key, holder, hl);
    if (s == NATS_OK) {
      lease_set(l, slot, key, rev);
      *held = 1;
    } else {
      lease_set(l, slot, key, 0);
      *held = 0;
      s = NATS_OK; /* taken meanwhile */
    }
  } else if (s == NATS_OK) {
    const char *v = kvEntry_ValueString(e);
    if (v && strcmp(v, holder) == 0 &&
        kvStore_Update(&rev, l->kv, key, holder, hl, kvEntry_Revision(e)) ==
            NATS_OK) {
      lease_set(l, slot, key, rev); /* ours (a restart with the same name) */
      *held = 1;
    } else {
      lease_set(l, slot, key, 0);
      *held = 0;
      if (other && cap)
        snprintf(other, cap, "%s", v ? v : "?");
    }
  }
  kvEntry_Destroy(e);
  pthread_mutex_unlock(&l->mu);
  if (s != NATS_OK) {
    bus_note("nats: lease %s: %s", key, status_text(s));
    return ARGUS_E_IO;
  }
  return ARGUS_OK;
}

static argus_err nb_lease_release(void *impl, const char *holder,
                                  const char *key) {
  nb_leases *l = impl;
  pthread_mutex_lock(&l->mu);
  int slot = -1;
  uint64_t last = lease_rev(l, key, &slot);
  natsStatus s = NATS_OK;
  if (last) {
    /* Only when it is still ours: a compare-and-set of an empty value
     * (then the delete) would race; the revision check is enough here. */
    kvEntry *e = NULL;
    if (kvStore_Get(&e, l->kv, key) == NATS_OK && kvEntry_Revision(e) == last &&
        kvEntry_ValueString(e) && strcmp(kvEntry_ValueString(e), holder) == 0)
      s = kvStore_Delete(l->kv, key);
    kvEntry_Destroy(e);
    lease_set(l, slot, key, 0);
  }
  pthread_mutex_unlock(&l->mu);
  if (s != NATS_OK) {
    bus_note("nats: giving lease %s back: %s", key, status_text(s));
    return ARGUS_E_IO;
  }
  return ARGUS_OK;
}

/* Every live key with its value: a watcher's initial values (deletions
 * left out), which end with a NULL entry. */
static argus_err nb_lease_list(void *impl, argus_bus_lease_fn fn, void *user) {
  nb_leases *l = impl;
  kvWatchOptions wo;
  kvWatchOptions_Init(&wo);
  wo.IgnoreDeletes = true;
  kvWatcher *w = NULL;
  natsStatus s = kvStore_WatchAll(&w, l->kv, &wo);
  while (s == NATS_OK) {
    kvEntry *e = NULL;
    s = kvWatcher_Next(&e, w, 5000);
    if (s != NATS_OK || !e)
      break;
    if (kvEntry_Operation(e) == kvOp_Put && kvEntry_Key(e) &&
        kvEntry_ValueString(e))
      fn(user, kvEntry_Key(e), kvEntry_ValueString(e));
    kvEntry_Destroy(e);
  }
  kvWatcher_Destroy(w);
  if (s != NATS_OK) {
    bus_note("nats: listing leases: %s", status_text(s));
    return ARGUS_E_IO;
  }
  return ARGUS_OK;
}

static void nb_lease_close(void *impl) {
  nb_leases *l = impl;
  kvStore_Destroy(l->kv);
  pthread_mutex_destroy(&l->mu);
  free(l);
}

const bus_backend_ops bus_nats_ops = {
    .name = "nats",
    .open = nb_open,
    .close = nb_close,
    .publish = nb_publish,
    .publish_event = nb_publish_event,
    .subscribe = nb_subscribe,
    .unsubscribe = nb_unsubscribe,
    .next = nb_next,
    .flush = nb_flush,
    .stats = nb_stats,
    .sub_stats = nb_sub_stats,
    .lease_open = nb_lease_open,
    .lease_take = nb_lease_take,
    .lease_release = nb_lease_release,
    .lease_list = nb_lease_list,
    .lease_close = nb_lease_close,
};
