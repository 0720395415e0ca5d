/* Outbound integrations: webhooks (libcurl multi) and MQTT (libmosquitto).
 *
 * Hand-over: api_outbound_alert (any thread, often the event publisher's)
 * only copies the body into a job and appends it to `incoming` under `mu`,
 * publishes to MQTT (libmosquitto queues it for its own thread) and wakes
 * the worker with curl_multi_wakeup. Nothing there waits on the network
 * or the store.
 *
 * The worker owns everything else: the webhooks (`targets`, re-read from
 * the store when a reload was asked for, before the jobs handed over after
 * the request are expanded), the deliveries (one per alert and matching
 * webhook) in a min-heap by (due time, sequence), each webhook's FIFO of
 * deliveries that are due, and the transfers. A webhook has at most one
 * transfer in flight: a due delivery waits in its webhook's FIFO (ordered
 * as it became due), so a healthy receiver gets alerts in order while a
 * failing one waits out its backoff in the heap without holding anyone.
 *
 * Counting: `queued` is the deliveries not finished plus the alerts not yet
 * expanded (under `mu`); api_outbound_alert compares it with the
 * configured bound. The body of an alert is shared by its deliveries (a
 * reference count the worker alone touches).
 */
#include "outbound.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <mosquitto.h>
#include <sodium.h>

#include "argus/store.h"

#define OB_MOD "api.outbound"
#define OB_DRAIN_S 5.0
#define OB_MQTT_DRAIN_S 1.0
/* Transfers in flight at once (over all webhooks). */
#define OB_INFLIGHT_MAX 64
/* Bytes of queued bodies at most. */
#define OB_BYTES_MAX ((size_t)64 << 20)
#define OB_ERR_MAX 256

#define ob_fail(err, code, ...)                                                \
  argus_error_fail(err, code, ARGUS_LOG_ERROR, OB_MOD, __VA_ARGS__)

/* ---- library init, once per process while modules exist ---------------- */

static pthread_mutex_t ob_lib_mu = PTHREAD_MUTEX_INITIALIZER;
static int ob_lib_refs;

static int ob_lib_ref(void) {
  int rc = 0;
  pthread_mutex_lock(&ob_lib_mu);
  if (ob_lib_refs == 0) {
    if (sodium_init() < 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
      rc = -1;
    else if (mosquitto_lib_init() != MOSQ_ERR_SUCCESS) {
      curl_global_cleanup();
      rc = -1;
    }
  }
  if (rc == 0)
    ob_lib_refs++;
  pthread_mutex_unlock(&ob_lib_mu);
  return rc;
}

static void ob_lib_unref(void) {
  pthread_mutex_lock(&ob_lib_mu);
  if (ob_lib_refs > 0 && --ob_lib_refs == 0) {
    mosquitto_lib_cleanup();
    curl_global_cleanup();
  }
  pthread_mutex_unlock(&ob_lib_mu);
}

/* ---- types ---------------------------------------------------------------- */

/* An alert's body, shared by its deliveries (refs: worker only). */
typedef struct ob_body {
  int refs;
  int64_t event_id;
  char *watchlist; /* "" when none */
  char *data;      /* NUL-terminated */
  size_t n;
} ob_body;

enum { OB_JOB_ALERT, OB_JOB_OVERFLOW, OB_JOB_RETRY };

/* Handed from api_outbound_alert / _retry_deadletter to the worker. */
typedef struct ob_job {
  struct ob_job *next;
  int kind;
  ob_body *body;
  int64_t webhook_id;    /* OB_JOB_RETRY */
  int64_t deadletter_id; /* OB_JOB_RETRY */
} ob_job;

typedef struct ob_delivery {
  struct ob_delivery *next; /* in its target's FIFO */
  ob_body *body;
  int64_t webhook_id;
  int64_t deadletter_id; /* > 0: a retried dead letter */
  int attempts;
  uint64_t due_ns, seq;
  char last_error[OB_ERR_MAX];
  /* In flight. */
  CURL *easy;
  struct curl_slist *headers;
  char curl_err[CURL_ERROR_SIZE];
} ob_delivery;

typedef struct ob_target {
  int64_t id;
  char url[ARGUS_STORE_TEXT_MAX];
  char secret[ARGUS_STORE_NAME_MAX];
  char watchlist[ARGUS_STORE_NAME_MAX];
  int enabled;
  ob_delivery *busy; /* its transfer in flight, or NULL */
  ob_delivery *fifo_head, *fifo_tail;
} ob_target;

struct api_outbound {
  /* Settings. */
  char *db_path;
  char *mqtt_host;
  int mqtt_port;
  char *mqtt_prefix;
  int max_attempts;
  double backoff_first, backoff_max, timeout;
  int64_t queue_max;
  /* Shared with the callers, under mu. */
  pthread_mutex_t mu;
  ob_job *in_head, *in_tail;
  int64_t queued;      /* deliveries + alerts not expanded */
  int64_t overflow;    /* overflow jobs not yet handled */
  size_t queued_bytes; /* bodies of the jobs and deliveries */
  int reload_wanted;
  int stopping;
  int64_t *retrying; /* dead letters being retried */
  size_t nretrying, retrying_cap;
  uint64_t delivered, failed_attempts, deadletters, dropped;
  int nwebhooks;
  uint64_t last_drop_log_ns;
  /* The store handle (worker; retry_deadletter reads with it too). */
  pthread_mutex_t st_mu;
  argus_store *st;
  /* Worker only. */
  CURLM *multi;
  pthread_t thread;
  int thread_started;
  ob_target *targets;
  size_t ntargets;
  ob_delivery **heap;
  size_t nheap, heap_cap;
  int inflight;
  uint64_t seq;
  uint64_t quiet_letters, quiet_log_ns; /* dead letters logged in sum */
  /* MQTT. */
  struct mosquitto *mq;
  int mq_loop; /* mq_thread runs */
  pthread_t mq_thread;
  atomic_int mq_stop, mq_reset_delay;
  atomic_int mq_connected;
  atomic_llong mq_outstanding;
  atomic_ullong mq_published, mq_errors;
  atomic_ullong mq_last_log_ns;
};

/* ---- small helpers -------------------------------------------------------- */

static uint64_t ob_secs_ns(double s) {
  if (!(s > 0))
    return 0;
  if (s > 1e9)
    s = 1e9;
  return (uint64_t)(s * 1e9);
}

static void ob_body_unref(ob_body *b) {
  if (b && --b->refs == 0) {
    free(b->watchlist);
    free(b->data);
    free(b);
  }
}

static ob_body *ob_body_new(int64_t event_id, const char *watchlist,
                            const char *json, size_t n) {
  ob_body *b = calloc(1, sizeof *b);
  if (!b)
    return NULL;
  b->refs = 1;
  b->event_id = event_id;
  b->watchlist = strdup(watchlist ? watchlist : "");
  b->data = malloc(n + 1);
  if (!b->watchlist || !b->data) {
    free(b->watchlist);
    free(b->data);
    free(b);
    return NULL;
  }
  if (n)
    memcpy(b->data, json, n);
  b->data[n] = '\0';
  b->n = n;
  return b;
}

static void ob_wake(api_outbound *o) {
  if (o->multi)
    curl_multi_wakeup(o->multi);
}

/* ---- the heap of waiting deliveries (worker) ------------------------------ */

static int ob_before(const ob_delivery *a, const ob_delivery *b) {
  return a->due_ns < b->due_ns || (a->due_ns == b->due_ns && a->seq < b->seq);
}

static int ob_heap_push(api_outbound *o, ob_delivery *d) {
  if (o->nheap == o->heap_cap) {
    size_t cap = o->heap_cap ? o->heap_cap * 2 : 64;
    ob_delivery **h = realloc(o->heap, cap * sizeof *h);
    if (!h)
      return -1;
    o->heap = h;
    o->heap_cap = cap;
  }
  size_t i = o->nheap++;
  while (i > 0) {
    size_t p = (i - 1) / 2;
    if (!ob_before(d, o->heap[p]))
      break;
    o->heap[i] = o->heap[p];
    i = p;
  }
  o->heap[i] = d;
  return 0;
}

static ob_delivery *ob_heap_pop(api_outbound *o) {
  if (o->nheap == 0)
    return NULL;
  ob_delivery *top = o->heap[0];
  ob_delivery *last = o->heap[--o->nheap];
  size_t i = 0, n = o->nheap;
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= n)
      break;
    if (c + 1 < n && ob_before(o->heap[c + 1], o->heap[c]))
      c++;
    if (!ob_before(o->heap[c], last))
      break;
    o->heap[i] = o->heap[c];
    i = c;
  }
  if (n)
    o->heap[i] = last;
  return top;
}

/* ---- webhooks (worker) ---------------------------------------------------- */

static ob_target *ob_target_find(api_outbound *o, int64_t id) {
  for (size_t i = 0; i < o->ntargets; i++)
    if (o->targets[i].id == id)
      return &o->targets[i];
  return NULL;
}

static int ob_matches(const ob_target *t, const char *watchlist) {
  return t->enabled && (t->watchlist[0] == '\0' ||
                        strcmp(t->watchlist, watchlist ? watchlist : "") == 0);
}

/* A delivery leaves the module: the count and the body go. */
static void ob_delivery_free(api_outbound *o, ob_delivery *d) {
  pthread_mutex_lock(&o->mu);
  o->queued--;
  o->queued_bytes -= d->body->n;
  if (d->deadletter_id > 0)
    for (size_t i = 0; i < o->nretrying; i++)
      if (o->retrying[i] == d->deadletter_id) {
        o->retrying[i] = o->retrying[--o->nretrying];
        break;
      }
  pthread_mutex_unlock(&o->mu);
  ob_body_unref(d->body);
  free(d);
}

/* Records d as a dead letter with `why` and frees it. */
static void ob_deadletter(api_outbound *o, ob_delivery *d, const char *why) {
  argus_store_error se = {{0}};
  argus_store_id id = 0;
  pthread_mutex_lock(&o->st_mu);
  argus_err e =
      argus_store_deadletter_add(o->st, d->webhook_id, d->body->event_id,
                                 d->body->data, d->attempts, why, &id, &se);
  if (e == ARGUS_OK && d->deadletter_id > 0) {
    argus_store_error se2 = {{0}};
    if (argus_store_deadletter_remove(o->st, d->deadletter_id, &se2) !=
        ARGUS_OK)
      argus_log(ARGUS_LOG_WARN, OB_MOD,
                "webhook %" PRId64 ": old dead letter %" PRId64
                " not removed: %s",
                d->webhook_id, d->deadletter_id, se2.msg);
  }
  pthread_mutex_unlock(&o->st_mu);
  pthread_mutex_lock(&o->mu);
  if (e == ARGUS_OK)
    o->deadletters++;
  else
    o->dropped++;
  pthread_mutex_unlock(&o->mu);
  if (e == ARGUS_OK && d->attempts == 0) {
    /* "queue full": a flood; one line per 10 s says how many. */
    uint64_t now = argus_time_ns();
    o->quiet_letters++;
    if (now - o->quiet_log_ns > 10000000000ull) {
      argus_log(ARGUS_LOG_WARN, OB_MOD,
                "%" PRIu64 " delivery(ies) recorded as dead letters without "
                "an attempt (%s) since the last such line, the last for event "
                "%" PRId64 ", webhook %" PRId64,
                o->quiet_letters, why, d->body->event_id, d->webhook_id);
      o->quiet_log_ns = now;
      o->quiet_letters = 0;
    }
  } else if (e == ARGUS_OK)
    argus_log(ARGUS_LOG_WARN, OB_MOD,
              "webhook %" PRId64 ": event %" PRId64
              " not delivered after %d attempt(s) (%s): dead letter %" PRId64,
              d->webhook_id, d->body->event_id, d->attempts, why, (int64_t)id);
  else
    argus_log(ARGUS_LOG_ERROR, OB_MOD,
              "webhook %" PRId64 ": event %" PRId64
              " not delivered (%s) and its dead letter not stored: %s",
              d->webhook_id, d->body->event_id, why, se.msg);
  ob_delivery_free(o, d);
}

static void ob_delivered(api_outbound *o, ob_delivery *d) {
  pthread_mutex_lock(&o->mu);
  o->delivered++;
  pthread_mutex_unlock(&o->mu);
  if (d->deadletter_id > 0) {
    argus_store_error se = {{0}};
    pthread_mutex_lock(&o->st_mu);
    argus_err e = argus_store_deadletter_remove(o->st, d->deadletter_id, &se);
    pthread_mutex_unlock(&o->st_mu);
    if (e != ARGUS_OK && e != ARGUS_E_NOT_FOUND)
      argus_log(ARGUS_LOG_WARN, OB_MOD,
                "dead letter %" PRId64 " delivered but not removed: %s",
                d->deadletter_id, se.msg);
  }
  ob_delivery_free(o, d);
}

/* Re-reads the webhooks. Targets keep their FIFO and transfer; a removed
 * one's waiting deliveries are dropped (its dead letters went with it). */
static void ob_reload(api_outbound *o) {
  argus_store_webhook *w = NULL;
  size_t n = 0;
  argus_store_error se = {{0}};
  pthread_mutex_lock(&o->st_mu);
  argus_err e = argus_store_webhook_list(o->st, &w, &n, &se);
  pthread_mutex_unlock(&o->st_mu);
  if (e != ARGUS_OK) {
    argus_log(ARGUS_LOG_ERROR, OB_MOD, "webhooks not read: %s", se.msg);
    return;
  }
  ob_target *t = n ? calloc(n, sizeof *t) : NULL;
  if (n && !t) {
    argus_store_free(w);
    argus_log(ARGUS_LOG_ERROR, OB_MOD, "webhooks not read: out of memory");
    return;
  }
  int enabled = 0;
  for (size_t i = 0; i < n; i++) {
    ob_target *old = ob_target_find(o, w[i].id);
    if (old) {
      t[i] = *old;
      old->id = 0; /* taken */
      old->busy = NULL;
      old->fifo_head = old->fifo_tail = NULL;
    }
    t[i].id = w[i].id;
    snprintf(t[i].url, sizeof t[i].url, "%s", w[i].url);
    snprintf(t[i].secret, sizeof t[i].secret, "%s", w[i].secret);
    snprintf(t[i].watchlist, sizeof t[i].watchlist, "%s", w[i].watchlist);
    t[i].enabled = w[i].enabled != 0;
    enabled += t[i].enabled;
  }
  sodium_memzero(w, n * sizeof *w);
  argus_store_free(w);
  /* Targets that are gone: drop what waits; a transfer in flight finds no
   * target when it ends and is dropped then. */
  for (size_t i = 0; i < o->ntargets; i++) {
    ob_target *g = &o->targets[i];
    if (g->id == 0)
      continue;
    for (ob_delivery *d = g->fifo_head, *nx; d; d = nx) {
      nx = d->next;
      ob_delivery_free(o, d);
    }
  }
  if (o->targets)
    sodium_memzero(o->targets, o->ntargets * sizeof *o->targets);
  free(o->targets);
  o->targets = t;
  o->ntargets = n;
  /* Waiting deliveries of webhooks that are gone. */
  size_t k = 0;
  ob_delivery **gone = NULL;
  size_t ngone = 0;
  for (size_t i = 0; i < o->nheap; i++) {
    if (ob_target_find(o, o->heap[i]->webhook_id))
      o->heap[k++] = o->heap[i];
    else {
      ob_delivery **g = realloc(gone, (ngone + 1) * sizeof *g);
      if (!g) { /* keep it: it is dropped when it comes due */
        o->heap[k++] = o->heap[i];
        continue;
      }
      gone = g;
      gone[ngone++] = o->heap[i];
    }
  }
  if (k != o->nheap) {
    o->nheap = k;
    /* Re-heapify. */
    size_t m = o->nheap;
    o->nheap = 0;
    for (size_t i = 0; i < m; i++)
      ob_heap_push(o, o->heap[i]); /* room exists: no realloc */
  }
  for (size_t i = 0; i < ngone; i++)
    ob_delivery_free(o, gone[i]);
  free(gone);
  pthread_mutex_lock(&o->mu);
  o->nwebhooks = enabled;
  pthread_mutex_unlock(&o->mu);
  argus_log(ARGUS_LOG_INFO, OB_MOD, "%d webhook(s) enabled of %zu", enabled, n);
}

static ob_delivery *ob_delivery_new(api_outbound *o, ob_body *b,
                                    int64_t webhook_id, uint64_t now) {
  ob_delivery *d = calloc(1, sizeof *d);
  if (!d)
    return NULL;
  d->body = b;
  b->refs++;
  d->webhook_id = webhook_id;
  d->due_ns = now;
  d->seq = ++o->seq;
  return d;
}

/* Expands the handed-over jobs into deliveries: an alert into one per
 * matching webhook, a retried dead letter into one for its webhook, an
 * alert that overflowed the queue into dead letters at once. */
static void ob_expand(api_outbound *o, ob_job *jobs, uint64_t now) {
  for (ob_job *j = jobs, *nx; j; j = nx) {
    nx = j->next;
    ob_body *b = j->body;
    int64_t made = 0;
    for (size_t i = 0; i < o->ntargets; i++) {
      ob_target *t = &o->targets[i];
      if (j->kind == OB_JOB_RETRY ? t->id != j->webhook_id
                                  : !ob_matches(t, b->watchlist))
        continue;
      ob_delivery *d = ob_delivery_new(o, b, t->id, now);
      if (!d) {
        pthread_mutex_lock(&o->mu);
        o->dropped++;
        pthread_mutex_unlock(&o->mu);
        argus_log(ARGUS_LOG_ERROR, OB_MOD,
                  "event %" PRId64 " for webhook %" PRId64
                  " dropped: out of memory",
                  b->event_id, t->id);
        continue;
      }
      if (j->kind == OB_JOB_RETRY)
        d->deadletter_id = j->deadletter_id;
      pthread_mutex_lock(&o->mu);
      o->queued++;
      o->queued_bytes += b->n;
      pthread_mutex_unlock(&o->mu);
      made++;
      if (j->kind == OB_JOB_OVERFLOW) {
        ob_deadletter(o, d, "queue full");
      } else if (ob_heap_push(o, d) != 0) {
        snprintf(d->last_error, sizeof d->last_error, "out of memory");
        ob_deadletter(o, d, "out of memory");
      }
    }
    pthread_mutex_lock(&o->mu);
    o->queued--;
    o->queued_bytes -= b->n;
    if (j->kind == OB_JOB_OVERFLOW)
      o->overflow--;
    if (j->kind == OB_JOB_RETRY && made == 0)
      for (size_t i = 0; i < o->nretrying; i++)
        if (o->retrying[i] == j->deadletter_id) {
          o->retrying[i] = o->retrying[--o->nretrying];
          break;
        }
    pthread_mutex_unlock(&o->mu);
    if (j->kind == OB_JOB_RETRY && made == 0)
      argus_log(ARGUS_LOG_WARN, OB_MOD,
                "dead letter %" PRId64 ": webhook %" PRId64
                " is gone; not retried",
                j->deadletter_id, j->webhook_id);
    ob_body_unref(b);
    free(j);
  }
}

/* ---- transfers (worker) --------------------------------------------------- */

static size_t ob_discard(char *p, size_t size, size_t n, void *user) {
  (void)p;
  (void)user;
  return size * n;
}

/* Signature of one attempt: hex HMAC-SHA256 of "<ts>.<body>". */
static void ob_sign(const char *secret, const char *ts, const ob_body *b,
                    char hex[2 * crypto_auth_hmacsha256_BYTES + 1]) {
  crypto_auth_hmacsha256_state st;
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret,
                              strlen(secret));
  crypto_auth_hmacsha256_update(&st, (const unsigned char *)ts, strlen(ts));
  crypto_auth_hmacsha256_update(&st, (const unsigned char *)".", 1);
  crypto_auth_hmacsha256_update(&st, (const unsigned char *)b->data, b->n);
  crypto_auth_hmacsha256_final(&st, mac);
  sodium_bin2hex(hex, 2 * crypto_auth_hmacsha256_BYTES + 1, mac, sizeof mac);
  sodium_memzero(&st, sizeof st);
}

static struct curl_slist *ob_header(struct curl_slist *l, int *ok,
                                    const char *line) {
  struct curl_slist *n = curl_slist_append(l, line);
  if (!n) {
    *ok = 0;
    return l;
  }
  return n;
}

static void ob_attempt_failed(api_outbound *o, ob_delivery *d, int draining,
                              uint64_t now);

/* Starts the attempt of d to t (t->busy is d afterwards, or d is
 * rescheduled / dead-lettered when the transfer could not start). */
static void ob_start(api_outbound *o, ob_target *t, ob_delivery *d,
                     uint64_t now, int draining) {
  d->attempts++;
  char ts[32], line[256];
  char sig[2 * crypto_auth_hmacsha256_BYTES + 1];
  snprintf(ts, sizeof ts, "%" PRId64, argus_wall_ns() / 1000000000);
  ob_sign(t->secret, ts, d->body, sig);
  int ok = 1;
  struct curl_slist *h = NULL;
  h = ob_header(h, &ok, "Content-Type: application/json");
  h = ob_header(h, &ok, "Expect:");
  snprintf(line, sizeof line, "X-Argus-Event-Id: %" PRId64, d->body->event_id);
  h = ob_header(h, &ok, line);
  snprintf(line, sizeof line, "X-Argus-Timestamp: %s", ts);
  h = ob_header(h, &ok, line);
  snprintf(line, sizeof line, "X-Argus-Signature: sha256=%s", sig);
  h = ob_header(h, &ok, line);
  snprintf(line, sizeof line, "X-Argus-Attempt: %d", d->attempts);
  h = ob_header(h, &ok, line);
  sodium_memzero(line, sizeof line);
  CURL *c = ok ? curl_easy_init() : NULL;
  long tmo = (long)(o->timeout * 1000.0);
  if (tmo < 1)
    tmo = 1;
  d->curl_err[0] = '\0';
  if (!c || curl_easy_setopt(c, CURLOPT_URL, t->url) != CURLE_OK ||
      curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK ||
      curl_easy_setopt(c, CURLOPT_POST, 1L) != CURLE_OK ||
      curl_easy_setopt(c, CURLOPT_POSTFIELDS, d->body->data) != CURLE_OK ||
      curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
                       (curl_off_t)d->body->n) != CURLE_OK ||
      curl_easy_setopt(c, CURLOPT_HTTPHEADER, h) != CURLE_OK ||
      curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, tmo) != CURLE_OK ||
      curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
      curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
      curl_easy_setopt(c, CURLOPT_USERAGENT, "argus-webhook/1") != CURLE_OK ||
      curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, ob_discard) != CURLE_OK ||
      curl_easy_setopt(c, CURLOPT_ERRORBUFFER, d->curl_err) != CURLE_OK ||
      curl_easy_setopt(c, CURLOPT_PRIVATE, d) != CURLE_OK ||
      curl_multi_add_handle(o->multi, c) != CURLM_OK) {
    if (c)
      curl_easy_cleanup(c);
    curl_slist_free_all(h);
    snprintf(d->last_error, sizeof d->last_error,
             "the transfer could not start");
    ob_attempt_failed(o, d, draining, now);
    return;
  }
  d->easy = c;
  d->headers = h;
  t->busy = d;
  o->inflight++;
}

static void ob_transfer_end(api_outbound *o, ob_delivery *d) {
  curl_multi_remove_handle(o->multi, d->easy);
  curl_easy_cleanup(d->easy);
  curl_slist_free_all(d->headers);
  d->easy = NULL;
  d->headers = NULL;
  o->inflight--;
  ob_target *t = ob_target_find(o, d->webhook_id);
  if (t && t->busy == d)
    t->busy = NULL;
}

static uint64_t ob_backoff_ns(const api_outbound *o, int attempts) {
  double s = o->backoff_first;
  for (int i = 1; i < attempts && s < o->backoff_max; i++)
    s *= 2;
  if (s > o->backoff_max)
    s = o->backoff_max;
  s *= 0.8 + 0.4 * (double)randombytes_uniform(1000001) / 1e6;
  return ob_secs_ns(s);
}

static void ob_attempt_failed(api_outbound *o, ob_delivery *d, int draining,
                              uint64_t now) {
  pthread_mutex_lock(&o->mu);
  o->failed_attempts++;
  pthread_mutex_unlock(&o->mu);
  argus_log(ARGUS_LOG_DEBUG, OB_MOD,
            "webhook %" PRId64 ": event %" PRId64 " attempt %d failed: %s",
            d->webhook_id, d->body->event_id, d->attempts, d->last_error);
  if (draining) {
    char why[OB_ERR_MAX + 48];
    snprintf(why, sizeof why, "not delivered before shutdown: %s",
             d->last_error);
    ob_deadletter(o, d, why);
  } else if (d->attempts >= o->max_attempts) {
    ob_deadletter(o, d, d->last_error);
  } else {
    d->due_ns = now + ob_backoff_ns(o, d->attempts);
    if (ob_heap_push(o, d) != 0)
      ob_deadletter(o, d, d->last_error);
  }
}

/* Handles finished transfers. */
static void ob_completions(api_outbound *o, int draining) {
  CURLMsg *m;
  int left;
  while ((m = curl_multi_info_read(o->multi, &left))) {
    if (m->msg != CURLMSG_DONE)
      continue;
    ob_delivery *d = NULL;
    curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&d);
    CURLcode rc = m->data.result;
    long status = 0;
    if (rc == CURLE_OK)
      curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &status);
    ob_transfer_end(o, d);
    if (!ob_target_find(o, d->webhook_id)) {
      ob_delivery_free(o, d); /* the webhook was removed meanwhile */
      continue;
    }
    if (rc == CURLE_OK && status >= 200 && status < 300) {
      ob_delivered(o, d);
      continue;
    }
    if (rc == CURLE_OK)
      snprintf(d->last_error, sizeof d->last_error, "HTTP %ld", status);
    else
      snprintf(d->last_error, sizeof d->last_error, "%s",
               d->curl_err[0] ? d->curl_err : curl_easy_strerror(rc));
    ob_attempt_failed(o, d, draining, argus_time_ns());
  }
}

/* Moves due deliveries to their webhook's FIFO and starts a transfer for
 * every webhook that has none. While draining every waiting delivery is
 * due. */
static void ob_dispatch(api_outbound *o, uint64_t now, int draining) {
  while (o->nheap && (draining || o->heap[0]->due_ns <= now)) {
    ob_delivery *d = ob_heap_pop(o);
    ob_target *t = ob_target_find(o, d->webhook_id);
    if (!t) {
      ob_delivery_free(o, d);
      continue;
    }
    d->next = NULL;
    if (t->fifo_tail)
      t->fifo_tail->next = d;
    else
      t->fifo_head = d;
    t->fifo_tail = d;
  }
  for (size_t i = 0; i < o->ntargets && o->inflight < OB_INFLIGHT_MAX; i++) {
    ob_target *t = &o->targets[i];
    while (!t->busy && t->fifo_head && o->inflight < OB_INFLIGHT_MAX) {
      ob_delivery *d = t->fifo_head;
      t->fifo_head = d->next;
      if (!t->fifo_head)
        t->fifo_tail = NULL;
      d->next = NULL;
      ob_start(o, t, d, now, draining);
    }
  }
}

static int ob_idle(const api_outbound *o) {
  if (o->nheap || o->inflight)
    return 0;
  for (size_t i = 0; i < o->ntargets; i++)
    if (o->targets[i].fifo_head)
      return 0;
  return 1;
}

/* After the drain: whatever is left becomes a dead letter. */
static void ob_abandon(api_outbound *o) {
  for (size_t i = 0; i < o->ntargets; i++) {
    ob_target *t = &o->targets[i];
    if (t->busy) {
      ob_delivery *d = t->busy;
      ob_transfer_end(o, d);
      if (!d->last_error[0])
        snprintf(d->last_error, sizeof d->last_error, "no answer yet");
      ob_heap_push(o, d);
    }
  }
  ob_delivery *d;
  while (1) {
    d = NULL;
    for (size_t i = 0; i < o->ntargets && !d; i++) {
      ob_target *t = &o->targets[i];
      if (t->fifo_head) {
        d = t->fifo_head;
        t->fifo_head = d->next;
        if (!t->fifo_head)
          t->fifo_tail = NULL;
      }
    }
    if (!d)
      d = ob_heap_pop(o);
    if (!d)
      break;
    char why[OB_ERR_MAX + 48];
    snprintf(why, sizeof why, "not delivered before shutdown%s%s",
             d->last_error[0] ? ": " : "", d->last_error);
    ob_deadletter(o, d, why);
  }
}

static void *ob_main(void *arg) {
  api_outbound *o = arg;
  uint64_t deadline = 0;
  for (;;) {
    pthread_mutex_lock(&o->mu);
    int reload = o->reload_wanted;
    o->reload_wanted = 0;
    ob_job *jobs = o->in_head;
    o->in_head = o->in_tail = NULL;
    int stopping = o->stopping;
    pthread_mutex_unlock(&o->mu);
    uint64_t now = argus_time_ns();
    if (reload)
      ob_reload(o);
    ob_expand(o, jobs, now);
    if (stopping && !deadline)
      deadline = now + ob_secs_ns(OB_DRAIN_S);
    ob_dispatch(o, now, stopping);
    if (stopping && (ob_idle(o) || now >= deadline))
      break;
    int wait_ms = stopping ? 50 : 1000;
    if (o->nheap && !stopping) {
      uint64_t due = o->heap[0]->due_ns;
      uint64_t ms = due > now ? (due - now + 999999) / 1000000 : 0;
      if (ms < (uint64_t)wait_ms)
        wait_ms = (int)ms;
    }
    if (o->inflight == 0 || wait_ms > 0)
      curl_multi_poll(o->multi, NULL, 0, wait_ms, NULL);
    int running = 0;
    curl_multi_perform(o->multi, &running);
    ob_completions(o, stopping);
  }
  /* Jobs handed over after the last look, then everything left. */
  pthread_mutex_lock(&o->mu);
  ob_job *jobs = o->in_head;
  o->in_head = o->in_tail = NULL;
  pthread_mutex_unlock(&o->mu);
  ob_expand(o, jobs, argus_time_ns());
  ob_abandon(o);
  return NULL;
}

/* ---- MQTT ------------------------------------------------------------------ */

static void ob_mq_connect(struct mosquitto *m, void *user, int rc) {
  (void)m;
  api_outbound *o = user;
  if (rc == 0) {
    atomic_store(&o->mq_connected, 1);
    atomic_store(&o->mq_reset_delay, 1);
    argus_log(ARGUS_LOG_INFO, OB_MOD, "MQTT: connected to %s:%d", o->mqtt_host,
              o->mqtt_port);
  } else {
    argus_log(ARGUS_LOG_WARN, OB_MOD, "MQTT: %s:%d refused the connection: %s",
              o->mqtt_host, o->mqtt_port, mosquitto_connack_string(rc));
  }
}

static void ob_mq_disconnect(struct mosquitto *m, void *user, int rc) {
  (void)m;
  api_outbound *o = user;
  int was = atomic_exchange(&o->mq_connected, 0);
  if (rc != 0 && was)
    argus_log(ARGUS_LOG_WARN, OB_MOD,
              "MQTT: connection to %s:%d lost; reconnecting", o->mqtt_host,
              o->mqtt_port);
}

static void ob_mq_publish(struct mosquitto *m, void *user, int mid) {
  (void)m;
  (void)mid;
  api_outbound *o = user;
  atomic_fetch_add(&o->mq_published, 1);
  atomic_fetch_sub(&o->mq_outstanding, 1);
}

/* "mqtt://host[:port][/]" */
static argus_err ob_mq_parse(api_outbound *o, const char *url,
                             argus_error_detail *err) {
  const char *p = url;
  if (strncmp(p, "mqtt://", 7) != 0)
    return ob_fail(err, ARGUS_E_INVALID_ARG,
                   "mqtt url '%.200s': expected mqtt://host:port", url);
  p += 7;
  size_t hl;
  const char *rest;
  if (*p == '[') {
    const char *e = strchr(p, ']');
    if (!e)
      return ob_fail(err, ARGUS_E_INVALID_ARG, "mqtt url '%.200s': bad host",
                     url);
    hl = (size_t)(e - p - 1);
    p++;
    rest = e + 1;
  } else {
    hl = strcspn(p, ":/");
    rest = p + hl;
  }
  if (hl == 0 || hl > 253)
    return ob_fail(err, ARGUS_E_INVALID_ARG, "mqtt url '%.200s': bad host",
                   url);
  int port = 1883;
  if (*rest == ':') {
    char *end = NULL;
    errno = 0;
    long v = strtol(rest + 1, &end, 10);
    if (errno || end == rest + 1 || v < 1 || v > 65535 ||
        (*end && strcmp(end, "/") != 0))
      return ob_fail(err, ARGUS_E_INVALID_ARG, "mqtt url '%.200s': bad port",
                     url);
    port = (int)v;
  } else if (*rest && strcmp(rest, "/") != 0) {
    return ob_fail(err, ARGUS_E_INVALID_ARG,
                   "mqtt url '%.200s': expected mqtt://host:port", url);
  }
  o->mqtt_host = strndup(p, hl);
  if (!o->mqtt_host)
    return ob_fail(err, ARGUS_E_NOMEM, "out of memory");
  o->mqtt_port = port;
  return ARGUS_OK;
}

/* The MQTT thread: runs the client's network loop and reconnects with
 * backoff (0.5 s doubling to 30 s) whenever there is no connection.
 * (libmosquitto's own loop thread gives up for good when the very first
 * connection attempt fails, e.g. a broker that starts after argus.) */
static void *ob_mq_main(void *arg) {
  api_outbound *o = arg;
  double delay = 0.5;
  uint64_t next_try = 0;
  int have_sock = 0, logged = 0;
  while (!atomic_load(&o->mq_stop)) {
    uint64_t now = argus_time_ns();
    if (atomic_exchange(&o->mq_reset_delay, 0)) {
      delay = 0.5;
      logged = 0;
    }
    if (!have_sock) {
      if (now < next_try) {
        struct timespec ts = {0, 20000000};
        nanosleep(&ts, NULL);
        continue;
      }
      int rc = mosquitto_connect_async(o->mq, o->mqtt_host, o->mqtt_port, 30);
      if (rc == MOSQ_ERR_SUCCESS) {
        have_sock = 1;
      } else {
        if (!logged)
          argus_log(ARGUS_LOG_WARN, OB_MOD,
                    "MQTT: %s:%d not reachable (%s); retrying in the "
                    "background",
                    o->mqtt_host, o->mqtt_port,
                    rc == MOSQ_ERR_ERRNO ? strerror(errno)
                                         : mosquitto_strerror(rc));
        logged = 1;
        next_try = now + ob_secs_ns(delay);
        delay = delay * 2 > 30 ? 30 : delay * 2;
        continue;
      }
    }
    int rc = mosquitto_loop(o->mq, 100, 1);
    if (rc != MOSQ_ERR_SUCCESS) {
      have_sock = 0;
      atomic_store(&o->mq_connected, 0);
      next_try = argus_time_ns() + ob_secs_ns(delay);
      delay = delay * 2 > 30 ? 30 : delay * 2;
    }
  }
  if (have_sock) {
    mosquitto_disconnect(o->mq);
    for (int i = 0; i < 3; i++)
      if (mosquitto_loop(o->mq, 10, 1) != MOSQ_ERR_SUCCESS)
        break;
  }
  return NULL;
}

static argus_err ob_mq_start(api_outbound *o, argus_error_detail *err) {
  char id[64];
  snprintf(id, sizeof id, "argus-%ld-%08x", (long)getpid(),
           (unsigned)randombytes_random());
  o->mq = mosquitto_new(id, true, o);
  if (!o->mq)
    return ob_fail(err, ARGUS_E_NOMEM, "MQTT: client not created");
  mosquitto_threaded_set(o->mq, true);
  mosquitto_int_option(o->mq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
  mosquitto_connect_callback_set(o->mq, ob_mq_connect);
  mosquitto_disconnect_callback_set(o->mq, ob_mq_disconnect);
  mosquitto_publish_callback_set(o->mq, ob_mq_publish);
  if (pthread_create(&o->mq_thread, NULL, ob_mq_main, o) != 0)
    return ob_fail(err, ARGUS_E_INTERNAL, "MQTT: thread not started");
  o->mq_loop = 1;
  return ARGUS_OK;
}

/* Counts an alert not published; a log line per 10 s at most. */
static void ob_mq_not_sent(api_outbound *o, const char *why) {
  unsigned long long n = atomic_fetch_add(&o->mq_errors, 1) + 1;
  uint64_t now = argus_time_ns();
  unsigned long long last = atomic_load(&o->mq_last_log_ns);
  if (now - last > 10000000000ull &&
      atomic_compare_exchange_strong(&o->mq_last_log_ns, &last, now))
    argus_log(ARGUS_LOG_WARN, OB_MOD,
              "MQTT: alert not published (%s); %llu not published so far", why,
              n);
}

static void ob_mq_send(api_outbound *o, const char *watchlist, const char *json,
                       size_t n) {
  if (atomic_load(&o->mq_outstanding) >= o->queue_max ||
      n > (size_t)INT32_MAX) {
    ob_mq_not_sent(o, "too many messages wait for the broker");
    return;
  }
  char topic[512];
  size_t k =
      (size_t)snprintf(topic, sizeof topic, "%s/alerts/", o->mqtt_prefix);
  const char *w = watchlist && *watchlist ? watchlist : "_";
  for (; *w && k + 1 < sizeof topic; w++)
    topic[k++] = (*w == '+' || *w == '#' || *w == '/') ? '_' : *w;
  topic[k] = '\0';
  atomic_fetch_add(&o->mq_outstanding, 1);
  int rc = mosquitto_publish(o->mq, NULL, topic, (int)n, json, 1, false);
  if (rc != MOSQ_ERR_SUCCESS) {
    atomic_fetch_sub(&o->mq_outstanding, 1);
    ob_mq_not_sent(o, mosquitto_strerror(rc));
  }
}

/* ---- public --------------------------------------------------------------- */

argus_err api_outbound_create(const api_outbound_config *c, api_outbound **out,
                              argus_error_detail *err) {
  argus_err e = ARGUS_OK;
  int lib = 0, mu = 0;
  *out = NULL;
  if (!c || c->max_attempts < 0 || c->backoff_first < 0 || c->backoff_max < 0 ||
      c->timeout < 0 || c->queue < 0 || !isfinite(c->backoff_first) ||
      !isfinite(c->backoff_max) || !isfinite(c->timeout))
    return ob_fail(err, ARGUS_E_INVALID_ARG,
                   "outbound: negative or missing setting");
  api_outbound *o = calloc(1, sizeof *o);
  if (!o)
    return ob_fail(err, ARGUS_E_NOMEM, "out of memory");
  o->max_attempts = c->max_attempts ? c->max_attempts : 8;
  o->backoff_first = c->backoff_first > 0 ? c->backoff_first : 1.0;
  o->backoff_max = c->backoff_max > 0 ? c->backoff_max : 60.0;
  if (o->backoff_max < o->backoff_first)
    o->backoff_max = o->backoff_first;
  o->timeout = c->timeout > 0 ? c->timeout : 10.0;
  o->queue_max = c->queue ? c->queue : 4096;
  o->db_path = c->db_path ? strdup(c->db_path) : NULL;
  o->mqtt_prefix =
      strdup(c->mqtt_prefix && *c->mqtt_prefix ? c->mqtt_prefix : "argus");
  if ((c->db_path && !o->db_path) || !o->mqtt_prefix) {
    e = ob_fail(err, ARGUS_E_NOMEM, "out of memory");
    goto fail;
  }
  if (strlen(o->mqtt_prefix) > 200) {
    e = ob_fail(err, ARGUS_E_INVALID_ARG, "mqtt prefix longer than 200 bytes");
    goto fail;
  }
  if (c->mqtt_url && *c->mqtt_url) {
    e = ob_mq_parse(o, c->mqtt_url, err);
    if (e != ARGUS_OK)
      goto fail;
  }
  if (ob_lib_ref() != 0) {
    e = ob_fail(err, ARGUS_E_INTERNAL,
                "outbound: libsodium, libcurl or libmosquitto did not start");
    goto fail;
  }
  lib = 1;
  if (pthread_mutex_init(&o->mu, NULL) != 0) {
    e = ob_fail(err, ARGUS_E_INTERNAL, "outbound: mutex");
    goto fail;
  }
  if (pthread_mutex_init(&o->st_mu, NULL) != 0) {
    pthread_mutex_destroy(&o->mu);
    e = ob_fail(err, ARGUS_E_INTERNAL, "outbound: mutex");
    goto fail;
  }
  mu = 1;
  {
    argus_store_error se = {{0}};
    e = argus_store_open(o->db_path, NULL, &o->st, &se);
    if (e != ARGUS_OK) {
      e = ob_fail(err, e, "outbound: store: %s", se.msg);
      goto fail;
    }
    argus_store_set_actor(o->st, "api:outbound", NULL);
  }
  o->multi = curl_multi_init();
  if (!o->multi) {
    e = ob_fail(err, ARGUS_E_INTERNAL, "outbound: curl_multi_init failed");
    goto fail;
  }
  ob_reload(o);
  if (pthread_create(&o->thread, NULL, ob_main, o) != 0) {
    e = ob_fail(err, ARGUS_E_INTERNAL, "outbound: thread not started");
    goto fail;
  }
  o->thread_started = 1;
  if (o->mqtt_host) {
    e = ob_mq_start(o, err);
    if (e != ARGUS_OK)
      goto fail;
  }
  *out = o;
  return ARGUS_OK;
fail:
  if (o->thread_started || o->mq) {
    /* Everything set up: the ordinary way out. */
    api_outbound_destroy(o);
    return e;
  }
  if (o->multi)
    curl_multi_cleanup(o->multi);
  free(o->targets);
  argus_store_close(o->st);
  if (mu) {
    pthread_mutex_destroy(&o->st_mu);
    pthread_mutex_destroy(&o->mu);
  }
  if (lib)
    ob_lib_unref();
  free(o->mqtt_host);
  free(o->mqtt_prefix);
  free(o->db_path);
  free(o);
  return e;
}

/* Appends a job (under o->mu). */
static void ob_push_job(api_outbound *o, ob_job *j) {
  j->next = NULL;
  if (o->in_tail)
    o->in_tail->next = j;
  else
    o->in_head = j;
  o->in_tail = j;
}

void api_outbound_alert(api_outbound *o, int64_t event_id,
                        const char *watchlist, const char *json, size_t n) {
  if (!o || !json)
    return;
  if (o->mq)
    ob_mq_send(o, watchlist, json, n);
  ob_body *b = ob_body_new(event_id, watchlist, json, n);
  ob_job *j = b ? calloc(1, sizeof *j) : NULL;
  if (!j) {
    if (b)
      ob_body_unref(b);
    pthread_mutex_lock(&o->mu);
    o->dropped++;
    pthread_mutex_unlock(&o->mu);
    argus_log(ARGUS_LOG_ERROR, OB_MOD,
              "event %" PRId64 " not handed to the webhooks: out of memory",
              event_id);
    return;
  }
  j->body = b;
  j->kind = OB_JOB_ALERT;
  int log_drop = 0;
  pthread_mutex_lock(&o->mu);
  if (o->nwebhooks == 0 && !o->reload_wanted) {
    /* Nobody to deliver to: skip the copy's trip through the worker. */
    pthread_mutex_unlock(&o->mu);
    ob_body_unref(b);
    free(j);
    return;
  }
  if (o->queued >= o->queue_max || o->queued_bytes + n > OB_BYTES_MAX) {
    /* The overflow list holds a quarter of the queue (bodies included in
     * the byte bound's double). */
    if (o->overflow < o->queue_max / 4 + 16 &&
        o->queued_bytes + n <= 2 * OB_BYTES_MAX) {
      j->kind = OB_JOB_OVERFLOW;
      o->overflow++;
    } else {
      o->dropped++;
      uint64_t now = argus_time_ns();
      if (now - o->last_drop_log_ns > 10000000000ull) {
        o->last_drop_log_ns = now;
        log_drop = 1;
      }
      pthread_mutex_unlock(&o->mu);
      if (log_drop)
        argus_log(ARGUS_LOG_ERROR, OB_MOD,
                  "webhook queue and overflow full: event %" PRId64
                  " dropped for the webhooks",
                  event_id);
      ob_body_unref(b);
      free(j);
      return;
    }
  }
  o->queued++;
  o->queued_bytes += n;
  ob_push_job(o, j);
  pthread_mutex_unlock(&o->mu);
  ob_wake(o);
}

void api_outbound_reload(api_outbound *o) {
  if (!o)
    return;
  pthread_mutex_lock(&o->mu);
  o->reload_wanted = 1;
  pthread_mutex_unlock(&o->mu);
  ob_wake(o);
}

argus_err api_outbound_retry_deadletter(api_outbound *o, int64_t id,
                                        argus_error_detail *err) {
  if (!o)
    return ob_fail(err, ARGUS_E_INVALID_ARG, "outbound: not running");
  argus_store_deadletter dl;
  char *payload = NULL;
  argus_store_error se = {{0}};
  pthread_mutex_lock(&o->mu);
  for (size_t i = 0; i < o->nretrying; i++)
    if (o->retrying[i] == id) {
      pthread_mutex_unlock(&o->mu);
      return ARGUS_OK; /* already queued */
    }
  pthread_mutex_unlock(&o->mu);
  pthread_mutex_lock(&o->st_mu);
  argus_err e = argus_store_deadletter_payload(o->st, id, &dl, &payload, &se);
  pthread_mutex_unlock(&o->st_mu);
  if (e != ARGUS_OK) {
    argus_error_detail_set(err, "%s", se.msg);
    return e;
  }
  if (dl.webhook_id <= 0) {
    argus_store_free(payload);
    argus_error_detail_set(err, "dead letter %" PRId64 ": its webhook is gone",
                           id);
    return ARGUS_E_NOT_FOUND;
  }
  size_t n = strlen(payload);
  ob_body *b = ob_body_new(dl.event_id, "", payload, n);
  argus_store_free(payload);
  ob_job *j = b ? calloc(1, sizeof *j) : NULL;
  if (!j) {
    if (b)
      ob_body_unref(b);
    return ob_fail(err, ARGUS_E_NOMEM, "out of memory");
  }
  j->body = b;
  j->kind = OB_JOB_RETRY;
  j->webhook_id = dl.webhook_id;
  j->deadletter_id = id;
  pthread_mutex_lock(&o->mu);
  for (size_t i = 0; i < o->nretrying; i++)
    if (o->retrying[i] == id) { /* a concurrent retry won */
      pthread_mutex_unlock(&o->mu);
      ob_body_unref(b);
      free(j);
      return ARGUS_OK;
    }
  if (o->nretrying == o->retrying_cap) {
    size_t cap = o->retrying_cap ? 2 * o->retrying_cap : 16;
    int64_t *r = realloc(o->retrying, cap * sizeof *r);
    if (!r) {
      pthread_mutex_unlock(&o->mu);
      ob_body_unref(b);
      free(j);
      return ob_fail(err, ARGUS_E_NOMEM, "out of memory");
    }
    o->retrying = r;
    o->retrying_cap = cap;
  }
  o->retrying[o->nretrying++] = id;
  o->queued++;
  o->queued_bytes += n;
  ob_push_job(o, j);
  pthread_mutex_unlock(&o->mu);
  ob_wake(o);
  argus_log(ARGUS_LOG_INFO, OB_MOD,
            "dead letter %" PRId64 " (event %" PRId64 ", webhook %" PRId64
            ") queued again",
            id, dl.event_id, dl.webhook_id);
  return ARGUS_OK;
}

void api_outbound_stats_get(api_outbound *o, api_outbound_stats *s) {
  memset(s, 0, sizeof *s);
  if (!o)
    return;
  pthread_mutex_lock(&o->mu);
  s->delivered = o->delivered;
  s->failed_attempts = o->failed_attempts;
  s->deadletters = o->deadletters;
  s->dropped = o->dropped;
  s->queued = o->queued;
  s->webhooks = o->nwebhooks;
  pthread_mutex_unlock(&o->mu);
  s->mqtt_published = atomic_load(&o->mq_published);
  s->mqtt_errors = atomic_load(&o->mq_errors);
  s->mqtt_connected = atomic_load(&o->mq_connected);
}

void api_outbound_destroy(api_outbound *o) {
  if (!o)
    return;
  if (o->thread_started) {
    pthread_mutex_lock(&o->mu);
    o->stopping = 1;
    pthread_mutex_unlock(&o->mu);
    ob_wake(o);
    pthread_join(o->thread, NULL);
  }
  if (o->mq) {
    if (o->mq_loop) {
      uint64_t end = argus_time_ns() + ob_secs_ns(OB_MQTT_DRAIN_S);
      while (atomic_load(&o->mq_connected) &&
             atomic_load(&o->mq_outstanding) > 0 && argus_time_ns() < end) {
        struct timespec ts = {0, 10000000};
        nanosleep(&ts, NULL);
      }
      atomic_store(&o->mq_stop, 1);
      pthread_join(o->mq_thread, NULL);
    }
    if (atomic_load(&o->mq_outstanding) > 0)
      argus_log(ARGUS_LOG_WARN, OB_MOD,
                "MQTT: %lld alert(s) not acknowledged by the broker at stop",
                (long long)atomic_load(&o->mq_outstanding));
    mosquitto_destroy(o->mq);
  }
  /* Jobs nobody expanded (the thread did not start). */
  for (ob_job *j = o->in_head, *nx; j; j = nx) {
    nx = j->next;
    ob_body_unref(j->body);
    free(j);
  }
  if (o->multi)
    curl_multi_cleanup(o->multi);
  if (o->targets)
    sodium_memzero(o->targets, o->ntargets * sizeof *o->targets);
  free(o->targets);
  free(o->heap);
  free(o->retrying);
  argus_store_close(o->st);
  pthread_mutex_destroy(&o->st_mu);
  pthread_mutex_destroy(&o->mu);
  ob_lib_unref();
  free(o->mqtt_host);
  free(o->mqtt_prefix);
  free(o->db_path);
  free(o);
}
