/* Outbound integrations (src/api/outbound.c), driven directly: no argus
 * server, a temporary database, a webhook receiver in this process
 * (libmicrohttpd on 127.0.0.1, a free port) and Debian's mosquitto broker
 * started by the test.
 *
 * Webhooks: headers and signature (the HMAC recomputed here), several
 * alerts delivered in order, the watchlist filter, a receiver that answers
 * 503 and one that is not listening, then comes back: every alert arrives
 * with a 2xx exactly once; every attempt failing: a dead letter with the
 * last error, retried after the receiver is back (delivered, removed);
 * stopping with a delivery still failing records it as a dead letter.
 * MQTT: one message per alert on "<prefix>/alerts/<watchlist>" (wildcards
 * replaced), a client that connects after the broker comes up, alerts
 * accepted without waiting while the broker is stopped. Without mosquitto
 * the MQTT part is skipped with a message.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>
#include <mosquitto.h>
#include <sodium.h>

#include "api/outbound.h"
#include "api_util.h"
#include "argus/api.h"
#include "argus/bus.h"
#include "argus/event.h"
#include "argus/store.h"
#include "check.h"

#define SECRET_A "secret-of-webhook-a-0123456789"
#define SECRET_B "secret-of-webhook-b-0123456789"
#define SECRET_C "secret-of-webhook-c-0123456789"

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void sleep_s(double s) {
  struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
  nanosleep(&ts, NULL);
}

/* ---- the webhook receiver ------------------------------------------------- */

#define RX_MAX 256

typedef struct rx_req {
  char path[64];
  char event_id[32], timestamp[32], signature[128], ctype[64];
  char *body;
  size_t n;
  int status; /* what it was answered */
} rx_req;

typedef struct rx {
  struct MHD_Daemon *d;
  int port;
  pthread_mutex_t mu;
  rx_req reqs[RX_MAX];
  int nreqs;
  int answer_a; /* status for /a and /b */
  int answer_c; /* status for /c */
} rx;

typedef struct rx_conn {
  char *buf;
  size_t n;
} rx_conn;

static void copy_hdr(struct MHD_Connection *c, const char *name, char *out,
                     size_t cap) {
  const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
  snprintf(out, cap, "%s", v ? v : "");
}

static enum MHD_Result rx_handler(void *cls, struct MHD_Connection *c,
                                  const char *url, const char *method,
                                  const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls) {
  (void)version;
  rx *r = cls;
  rx_conn *st = *con_cls;
  if (!st) {
    st = calloc(1, sizeof *st);
    if (!st)
      return MHD_NO;
    *con_cls = st;
    return MHD_YES;
  }
  if (*upload_size) {
    char *b = realloc(st->buf, st->n + *upload_size + 1);
    if (!b)
      return MHD_NO;
    memcpy(b + st->n, upload, *upload_size);
    st->buf = b;
    st->n += *upload_size;
    st->buf[st->n] = '\0';
    *upload_size = 0;
    return MHD_YES;
  }
  pthread_mutex_lock(&r->mu);
  int status = strcmp(url, "/c") == 0 ? r->answer_c : r->answer_a;
  if (r->nreqs < RX_MAX && strcmp(method, "POST") == 0) {
    rx_req *q = &r->reqs[r->nreqs++];
    snprintf(q->path, sizeof q->path, "%s", url);
    copy_hdr(c, "X-Argus-Event-Id", q->event_id, sizeof q->event_id);
    copy_hdr(c, "X-Argus-Timestamp", q->timestamp, sizeof q->timestamp);
    copy_hdr(c, "X-Argus-Signature", q->signature, sizeof q->signature);
    copy_hdr(c, "Content-Type", q->ctype, sizeof q->ctype);
    q->body = st->buf ? st->buf : strdup("");
    q->n = st->n;
    st->buf = NULL;
    q->status = status;
  }
  pthread_mutex_unlock(&r->mu);
  struct MHD_Response *resp =
      MHD_create_response_from_buffer(2, (void *)"ok", MHD_RESPMEM_PERSISTENT);
  enum MHD_Result ret = MHD_queue_response(c, (unsigned)status, resp);
  MHD_destroy_response(resp);
  return ret;
}

static void rx_done(void *cls, struct MHD_Connection *c, void **con_cls,
                    enum MHD_RequestTerminationCode toe) {
  (void)cls;
  (void)c;
  (void)toe;
  rx_conn *st = *con_cls;
  if (st) {
    free(st->buf);
    free(st);
  }
  *con_cls = NULL;
}

/* Starts listening on `port` (0: a free one). 0 on success. */
static int rx_listen(rx *r, int port) {
  struct sockaddr_in sa;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_port = htons((uint16_t)port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  r->d = MHD_start_daemon(
      MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0, NULL,
      NULL, rx_handler, r, MHD_OPTION_SOCK_ADDR, &sa,
      MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1,
      MHD_OPTION_NOTIFY_COMPLETED, rx_done, r, MHD_OPTION_END);
  if (!r->d)
    return -1;
  const union MHD_DaemonInfo *di =
      MHD_get_daemon_info(r->d, MHD_DAEMON_INFO_BIND_PORT);
  r->port = di ? di->port : 0;
  return r->port > 0 ? 0 : -1;
}

static void rx_stop(rx *r) {
  if (r->d)
    MHD_stop_daemon(r->d);
  r->d = NULL;
}

static void rx_clear(rx *r) {
  pthread_mutex_lock(&r->mu);
  for (int i = 0; i < r->nreqs; i++)
    free(r->reqs[i].body);
  r->nreqs = 0;
  pthread_mutex_unlock(&r->mu);
}

static void rx_set(rx *r, int a, int c) {
  pthread_mutex_lock(&r->mu);
  r->answer_a = a;
  r->answer_c = c;
  pthread_mutex_unlock(&r->mu);
}

/* Requests to `path` answered 2xx (or any, ok_only 0). */
static int rx_count(rx *r, const char *path, int ok_only) {
  int n = 0;
  pthread_mutex_lock(&r->mu);
  for (int i = 0; i < r->nreqs; i++)
    if (strcmp(r->reqs[i].path, path) == 0 &&
        (!ok_only || (r->reqs[i].status >= 200 && r->reqs[i].status < 300)))
      n++;
  pthread_mutex_unlock(&r->mu);
  return n;
}

static int rx_wait(rx *r, const char *path, int n, double secs) {
  double end = now_s() + secs;
  while (now_s() < end) {
    if (rx_count(r, path, 1) >= n)
      return 1;
    sleep_s(0.01);
  }
  return rx_count(r, path, 1) >= n;
}

/* 1 when q's signature is sha256=HMAC(secret, "<ts>.<body>"). */
static int sig_ok(const rx_req *q, const char *secret) {
  crypto_auth_hmacsha256_state st;
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  char hex[2 * sizeof mac + 1], want[8 + sizeof hex];
  crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret,
                              strlen(secret));
  crypto_auth_hmacsha256_update(&st, (const unsigned char *)q->timestamp,
                                strlen(q->timestamp));
  crypto_auth_hmacsha256_update(&st, (const unsigned char *)".", 1);
  crypto_auth_hmacsha256_update(&st, (const unsigned char *)q->body, q->n);
  crypto_auth_hmacsha256_final(&st, mac);
  sodium_bin2hex(hex, sizeof hex, mac, sizeof mac);
  snprintf(want, sizeof want, "sha256=%s", hex);
  return strcmp(want, q->signature) == 0;
}

static void alert(api_outbound *o, int64_t id, const char *wl) {
  char json[256];
  int n = snprintf(json, sizeof json,
                   "{\"alert_id\":%" PRId64 ",\"watchlist\":\"%s\","
                   "\"score\":0.71}",
                   id * 10, wl);
  api_outbound_alert(o, id, wl, json, (size_t)n);
}

static argus_store_deadletter *deadletters(argus_store *st, size_t *n) {
  argus_store_deadletter *d = NULL;
  argus_store_error se = {{0}};
  *n = 0;
  if (argus_store_deadletter_list(st, &d, n, &se) != ARGUS_OK) {
    fprintf(stderr, "deadletter_list: %s\n", se.msg);
    return NULL;
  }
  return d;
}

static size_t wait_deadletters(argus_store *st, size_t want, double secs) {
  double end = now_s() + secs;
  size_t n = 0;
  do {
    argus_store_deadletter *d = deadletters(st, &n);
    argus_store_free(d);
    if (n >= want)
      break;
    sleep_s(0.02);
  } while (now_s() < end);
  return n;
}

/* ---- webhooks ---------------------------------------------------------------- */

static void test_webhooks(const char *dir) {
  char db[600];
  snprintf(db, sizeof db, "%s/argus.db", dir);
  argus_store *st = NULL;
  argus_store_error se = {{0}};
  CHECK_OK(argus_store_open(db, NULL, &st, &se));
  if (!st) {
    fprintf(stderr, "store: %s\n", se.msg);
    return;
  }
  CHECK_OK(argus_store_watchlist_create(st, "wl1", NAN, NULL, NULL, &se));
  CHECK_OK(argus_store_watchlist_create(st, "wl2", NAN, NULL, NULL, &se));
  CHECK_OK(argus_store_watchlist_create(st, "wl3", NAN, NULL, NULL, &se));

  static rx r;
  pthread_mutex_init(&r.mu, NULL);
  rx_set(&r, 200, 200);
  CHECK_OK(rx_listen(&r, 0));
  int port = r.port;
  char url[128];
  argus_store_id wa = 0, wb = 0, wc = 0;
  snprintf(url, sizeof url, "http://127.0.0.1:%d/a", port);
  CHECK_OK(argus_store_webhook_add(st, url, SECRET_A, NULL, &wa, &se));
  snprintf(url, sizeof url, "http://127.0.0.1:%d/b", port);
  CHECK_OK(argus_store_webhook_add(st, url, SECRET_B, "wl2", &wb, &se));

  api_outbound_config c = {0};
  c.db_path = db;
  c.max_attempts = 6; /* 1.15 s of retries (+-20 %) */
  c.backoff_first = 0.05;
  c.backoff_max = 0.4;
  c.timeout = 2;
  api_outbound *o = NULL;
  argus_error_detail err = {{0}};
  CHECK_OK(api_outbound_create(&c, &o, &err));
  if (!o) {
    fprintf(stderr, "create: %s\n", err.msg);
    argus_store_close(st);
    return;
  }

  /* In order, headers, signature, filter. */
  for (int i = 1; i <= 6; i++)
    alert(o, i, i == 3 || i == 5 ? "wl2" : "wl1");
  CHECK(rx_wait(&r, "/a", 6, 10));
  CHECK(rx_wait(&r, "/b", 2, 10));
  sleep_s(0.1);
  CHECK_INT_EQ(rx_count(&r, "/a", 0), 6);
  CHECK_INT_EQ(rx_count(&r, "/b", 0), 2);
  pthread_mutex_lock(&r.mu);
  int na = 0, nb = 0;
  for (int i = 0; i < r.nreqs; i++) {
    rx_req *q = &r.reqs[i];
    int is_a = strcmp(q->path, "/a") == 0;
    int64_t want = is_a ? ++na : (++nb == 1 ? 3 : 5);
    char ev[32], body[256];
    snprintf(ev, sizeof ev, "%" PRId64, want);
    CHECK(strcmp(q->event_id, ev) == 0);
    snprintf(body, sizeof body,
             "{\"alert_id\":%" PRId64 ",\"watchlist\":\"%s\","
             "\"score\":0.71}",
             want * 10, want == 3 || want == 5 ? "wl2" : "wl1");
    CHECK(strcmp(q->body, body) == 0);
    CHECK(strcmp(q->ctype, "application/json") == 0);
    long long ts = strtoll(q->timestamp, NULL, 10);
    CHECK(llabs(ts - (long long)time(NULL)) < 30);
    CHECK(sig_ok(q, is_a ? SECRET_A : SECRET_B));
    CHECK(!sig_ok(q, is_a ? SECRET_B : SECRET_A));
  }
  pthread_mutex_unlock(&r.mu);
  rx_clear(&r);

  /* Receiver answers 503, then 200: each alert once with a 2xx. */
  rx_set(&r, 503, 200);
  for (int i = 7; i <= 9; i++)
    alert(o, i, "wl1");
  for (double e503 = now_s() + 5; now_s() < e503 && rx_count(&r, "/a", 0) < 3;)
    sleep_s(0.01);
  rx_set(&r, 200, 200);
  CHECK(rx_wait(&r, "/a", 3, 10));
  sleep_s(0.3);
  CHECK_INT_EQ(rx_count(&r, "/a", 1), 3);
  CHECK(rx_count(&r, "/a", 0) > 3); /* 503s were seen */
  pthread_mutex_lock(&r.mu);
  for (int ev = 7; ev <= 9; ev++) {
    int ok = 0;
    char s[32];
    snprintf(s, sizeof s, "%d", ev);
    for (int i = 0; i < r.nreqs; i++)
      if (strcmp(r.reqs[i].event_id, s) == 0 && r.reqs[i].status == 200)
        ok++;
    CHECK_INT_EQ(ok, 1);
  }
  pthread_mutex_unlock(&r.mu);
  rx_clear(&r);

  /* Receiver not listening, then back on the same port. */
  rx_stop(&r);
  for (int i = 10; i <= 12; i++)
    alert(o, i, "wl1");
  sleep_s(0.25);
  CHECK_OK(rx_listen(&r, port));
  CHECK(rx_wait(&r, "/a", 3, 10));
  sleep_s(0.3);
  CHECK_INT_EQ(rx_count(&r, "/a", 0), 3);
  /* Each once (retries become due in their own time: a receiver orders
   * by X-Argus-Event-Id). */
  pthread_mutex_lock(&r.mu);
  for (int ev = 10; ev <= 12; ev++) {
    int seen = 0;
    char s[32];
    snprintf(s, sizeof s, "%d", ev);
    for (int i = 0; i < r.nreqs; i++)
      seen += strcmp(r.reqs[i].event_id, s) == 0;
    CHECK_INT_EQ(seen, 1);
  }
  pthread_mutex_unlock(&r.mu);
  rx_clear(&r);

  /* Every attempt fails: a dead letter with the last error; retried once
   * the receiver answers: delivered and removed. */
  snprintf(url, sizeof url, "http://127.0.0.1:%d/c", port);
  CHECK_OK(argus_store_webhook_add(st, url, SECRET_C, "wl3", &wc, &se));
  api_outbound_reload(o);
  rx_set(&r, 200, 500);
  alert(o, 20, "wl3");
  CHECK_INT_EQ(wait_deadletters(st, 1, 10), 1);
  CHECK_INT_EQ(rx_count(&r, "/c", 0), 6);
  CHECK_INT_EQ(rx_count(&r, "/a", 1), 1); /* /a has no filter */
  size_t nd = 0;
  argus_store_deadletter *d = deadletters(st, &nd);
  int64_t dl_id = 0;
  if (d && nd == 1) {
    dl_id = d[0].id;
    CHECK_INT_EQ(d[0].webhook_id, wc);
    CHECK_INT_EQ(d[0].event_id, 20);
    CHECK_INT_EQ(d[0].attempts, 6);
    CHECK(strcmp(d[0].last_error, "HTTP 500") == 0);
  }
  argus_store_free(d);
  api_outbound_stats s;
  api_outbound_stats_get(o, &s);
  CHECK_INT_EQ(s.deadletters, 1);
  CHECK(s.failed_attempts >= 5);
  CHECK_INT_EQ(s.webhooks, 3);
  rx_set(&r, 200, 200);
  CHECK_OK(api_outbound_retry_deadletter(o, dl_id, &err));
  CHECK_INT_EQ(api_outbound_retry_deadletter(o, 999999, &err),
               ARGUS_E_NOT_FOUND);
  CHECK(rx_wait(&r, "/c", 1, 10));
  double end = now_s() + 5;
  do {
    d = deadletters(st, &nd);
    argus_store_free(d);
    if (nd == 0)
      break;
    sleep_s(0.02);
  } while (now_s() < end);
  CHECK_INT_EQ(nd, 0);
  pthread_mutex_lock(&r.mu);
  for (int i = 0; i < r.nreqs; i++)
    if (strcmp(r.reqs[i].path, "/c") == 0 && r.reqs[i].status == 200) {
      CHECK(strcmp(r.reqs[i].event_id, "20") == 0);
      CHECK(sig_ok(&r.reqs[i], SECRET_C));
    }
  pthread_mutex_unlock(&r.mu);
  rx_clear(&r);

  /* A failed retry puts the dead letter back with the new error. */
  rx_set(&r, 200, 502);
  alert(o, 21, "wl3");
  CHECK_INT_EQ(wait_deadletters(st, 1, 10), 1);
  d = deadletters(st, &nd);
  dl_id = d && nd ? d[0].id : 0;
  argus_store_free(d);
  rx_set(&r, 200, 404);
  CHECK_OK(api_outbound_retry_deadletter(o, dl_id, &err));
  end = now_s() + 10;
  int back = 0;
  do {
    d = deadletters(st, &nd);
    if (nd == 1 && d[0].id != dl_id) {
      back = 1;
      CHECK_INT_EQ(d[0].event_id, 21);
      CHECK(strcmp(d[0].last_error, "HTTP 404") == 0);
    }
    argus_store_free(d);
    if (back)
      break;
    sleep_s(0.02);
  } while (now_s() < end);
  CHECK(back);
  rx_clear(&r);

  /* Removed webhook: nothing more for it after the reload. */
  CHECK_OK(argus_store_webhook_remove(st, wb, &se));
  api_outbound_reload(o);
  alert(o, 30, "wl2");
  CHECK(rx_wait(&r, "/a", 1, 10));
  sleep_s(0.2);
  CHECK_INT_EQ(rx_count(&r, "/b", 0), 0);
  rx_clear(&r);

  /* Stopping while a delivery keeps failing: it becomes a dead letter. */
  rx_set(&r, 503, 200);
  alert(o, 40, "wl1");
  sleep_s(0.1);
  double t0 = now_s();
  api_outbound_destroy(o);
  CHECK(now_s() - t0 < 7);
  d = deadletters(st, &nd);
  int found = 0;
  for (size_t i = 0; i < nd; i++)
    if (d[i].event_id == 40) {
      found = 1;
      CHECK(strstr(d[i].last_error, "HTTP 503") != NULL);
    }
  argus_store_free(d);
  CHECK(found);

  /* A full queue: overflow becomes dead letters ("queue full"), and
   * handing over never waits. */
  c.queue = 2;
  c.max_attempts = 100;
  c.backoff_first = 5;
  rx_set(&r, 503, 200);
  CHECK_OK(api_outbound_create(&c, &o, &err));
  if (o) {
    for (int i = 50; i < 60; i++)
      alert(o, i, "wl1");
    size_t before = 0;
    argus_store_free(deadletters(st, &before));
    (void)before;
    double e2 = now_s() + 5;
    int qf = 0;
    do {
      d = deadletters(st, &nd);
      qf = 0;
      for (size_t i = 0; i < nd; i++)
        if (d[i].event_id >= 50 && strcmp(d[i].last_error, "queue full") == 0)
          qf++;
      argus_store_free(d);
      if (qf >= 8)
        break;
      sleep_s(0.02);
    } while (now_s() < e2);
    CHECK_INT_EQ(qf, 8);
    api_outbound_stats_get(o, &s);
    CHECK_INT_EQ(s.queued, 2);
    api_outbound_destroy(o);
  }

  rx_stop(&r);
  rx_clear(&r);
  pthread_mutex_destroy(&r.mu);
  argus_store_close(st);
}

/* ---- MQTT ------------------------------------------------------------------ */

typedef struct sub {
  pthread_mutex_t mu;
  char topic[16][128];
  char payload[16][256];
  int n;
  atomic_int subscribed;
} sub;

static void sub_connect(struct mosquitto *m, void *u, int rc) {
  (void)u;
  if (rc == 0)
    mosquitto_subscribe(m, NULL, "argus-test/#", 1);
}

static void sub_subscribe(struct mosquitto *m, void *u, int mid, int n,
                          const int *q) {
  (void)m;
  (void)mid;
  (void)n;
  (void)q;
  atomic_store(&((sub *)u)->subscribed, 1);
}

static void sub_message(struct mosquitto *m, void *u,
                        const struct mosquitto_message *msg) {
  (void)m;
  sub *s = u;
  pthread_mutex_lock(&s->mu);
  if (s->n < 16) {
    snprintf(s->topic[s->n], sizeof s->topic[0], "%s", msg->topic);
    snprintf(s->payload[s->n], sizeof s->payload[0], "%.*s", msg->payloadlen,
             (const char *)msg->payload);
    s->n++;
  }
  pthread_mutex_unlock(&s->mu);
}

static int free_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof sa;
  int port = 0;
  if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
      getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
    port = ntohs(sa.sin_port);
  if (fd >= 0)
    close(fd);
  return port;
}

static int port_open(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_port = htons((uint16_t)port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int ok = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
  if (fd >= 0)
    close(fd);
  return ok;
}

static const char *mosquitto_bin(void) {
  static const char *const paths[] = {
      "/usr/sbin/mosquitto", "/usr/bin/mosquitto", "/usr/local/sbin/mosquitto"};
  for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
    if (access(paths[i], X_OK) == 0)
      return paths[i];
  return NULL;
}

static pid_t broker_start(const char *bin, const char *conf, int port) {
  pid_t pid = fork();
  if (pid == 0) {
    int fd = open("/dev/null", O_WRONLY);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    execl(bin, bin, "-c", conf, (char *)NULL);
    _exit(127);
  }
  double end = now_s() + 10;
  while (pid > 0 && now_s() < end && !port_open(port))
    sleep_s(0.02);
  return pid;
}

static void broker_stop(pid_t pid) {
  if (pid <= 0)
    return;
  kill(pid, SIGTERM);
  waitpid(pid, NULL, 0);
}

/* 1 when the MQTT part ran. */
static int test_mqtt(const char *dir) {
  const char *bin = mosquitto_bin();
  if (!bin) {
    fprintf(stderr, "MQTT part skipped: Debian's mosquitto is not installed "
                    "(apt-get install mosquitto)\n");
    return 0;
  }
  int port = free_port();
  char conf[600], db[700], url[64];
  snprintf(conf, sizeof conf, "%s/mosquitto.conf", dir);
  char sub_dir[600];
  snprintf(sub_dir, sizeof sub_dir, "%s/mqtt", dir);
  if (mkdir(sub_dir, 0700) != 0)
    CHECK(0);
  snprintf(db, sizeof db, "%s/argus.db", sub_dir);
  FILE *f = fopen(conf, "w");
  CHECK(f != NULL);
  if (!f)
    return 1;
  fprintf(f,
          "listener %d 127.0.0.1\nallow_anonymous true\n"
          "persistence false\n",
          port);
  fclose(f);

  /* The outbound client starts while the broker is down. */
  api_outbound_config c = {0};
  c.db_path = db;
  snprintf(url, sizeof url, "mqtt://127.0.0.1:%d", port);
  c.mqtt_url = url;
  c.mqtt_prefix = "argus-test";
  api_outbound *o = NULL;
  argus_error_detail err = {{0}};
  CHECK_OK(api_outbound_create(&c, &o, &err));
  if (!o) {
    fprintf(stderr, "create: %s\n", err.msg);
    return 1;
  }
  pid_t broker = broker_start(bin, conf, port);
  CHECK(port_open(port));

  static sub s;
  pthread_mutex_init(&s.mu, NULL);
  struct mosquitto *m = mosquitto_new(NULL, true, &s);
  CHECK(m != NULL);
  mosquitto_connect_callback_set(m, sub_connect);
  mosquitto_subscribe_callback_set(m, sub_subscribe);
  mosquitto_message_callback_set(m, sub_message);
  CHECK_INT_EQ(mosquitto_connect(m, "127.0.0.1", port, 30), MOSQ_ERR_SUCCESS);
  CHECK_INT_EQ(mosquitto_loop_start(m), MOSQ_ERR_SUCCESS);
  double end = now_s() + 10;
  api_outbound_stats st;
  do {
    api_outbound_stats_get(o, &st);
    if (st.mqtt_connected && atomic_load(&s.subscribed))
      break;
    sleep_s(0.02);
  } while (now_s() < end);
  CHECK(st.mqtt_connected);
  CHECK(atomic_load(&s.subscribed));

  alert(o, 1, "doors");
  alert(o, 2, "a/b+c#d");
  alert(o, 3, "doors");
  end = now_s() + 10;
  while (now_s() < end) {
    pthread_mutex_lock(&s.mu);
    int n = s.n;
    pthread_mutex_unlock(&s.mu);
    if (n >= 3)
      break;
    sleep_s(0.02);
  }
  sleep_s(0.2);
  pthread_mutex_lock(&s.mu);
  CHECK_INT_EQ(s.n, 3);
  if (s.n >= 3) {
    CHECK(strcmp(s.topic[0], "argus-test/alerts/doors") == 0);
    CHECK(strcmp(s.topic[1], "argus-test/alerts/a_b_c_d") == 0);
    CHECK(strcmp(s.topic[2], "argus-test/alerts/doors") == 0);
    CHECK(strstr(s.payload[0], "\"alert_id\":10") != NULL);
    CHECK(strstr(s.payload[1], "\"alert_id\":20") != NULL);
  }
  pthread_mutex_unlock(&s.mu);
  api_outbound_stats_get(o, &st);
  CHECK_INT_EQ(st.mqtt_published, 3);
  CHECK_INT_EQ(st.mqtt_errors, 0);

  /* Broker gone: alerts are still taken at once. */
  mosquitto_disconnect(m);
  mosquitto_loop_stop(m, false);
  mosquitto_destroy(m);
  broker_stop(broker);
  end = now_s() + 5;
  do {
    api_outbound_stats_get(o, &st);
    if (!st.mqtt_connected)
      break;
    sleep_s(0.01);
  } while (now_s() < end);
  double t0 = now_s(), worst = 0;
  for (int i = 0; i < 200; i++) {
    double a = now_s();
    alert(o, 100 + i, "doors");
    if (now_s() - a > worst)
      worst = now_s() - a;
  }
  double total = now_s() - t0;
  CHECK(total < 1.0);
  CHECK(worst < 0.1);
  api_outbound_stats_get(o, &st);
  printf("200 alerts with the broker down: %.1f ms (slowest %.2f ms); "
         "connected %d, published %llu, not published %llu\n",
         total * 1e3, worst * 1e3, st.mqtt_connected,
         (unsigned long long)st.mqtt_published,
         (unsigned long long)st.mqtt_errors);
  CHECK(!st.mqtt_connected);
  t0 = now_s();
  api_outbound_destroy(o);
  CHECK(now_s() - t0 < 3);
  pthread_mutex_destroy(&s.mu);
  return 1;
}

/* ---- over HTTP: the handlers in argus serve --------------------------------- */

/* 1 when body holds `"key"` anywhere. */
static int has_key(const api_resp *r, const char *key) {
  char k[64];
  snprintf(k, sizeof k, "\"%s\"", key);
  return r->body && strstr(r->body, k) != NULL;
}

static int64_t json_id(const api_resp *r) {
  cJSON *j = api_json(r);
  const cJSON *v = j ? cJSON_GetObjectItemCaseSensitive(j, "id") : NULL;
  int64_t id = cJSON_IsNumber(v) ? (int64_t)v->valuedouble : 0;
  cJSON_Delete(j);
  return id;
}

static int json_items(const api_resp *r) {
  cJSON *j = api_json(r);
  const cJSON *v = j ? cJSON_GetObjectItemCaseSensitive(j, "items") : NULL;
  int n = cJSON_IsArray(v) ? cJSON_GetArraySize(v) : -1;
  const cJSON *nc =
      j ? cJSON_GetObjectItemCaseSensitive(j, "next_cursor") : NULL;
  if (!cJSON_IsNull(nc))
    n = -2;
  cJSON_Delete(j);
  return n;
}

/* 1 when the HTTP part ran. */
static int test_http(void) {
  if (!getenv("ARGUS_CLI")) {
    fprintf(stderr, "HTTP part skipped: ARGUS_CLI is not set (run through "
                    "ctest)\n");
    return 0;
  }
  const char *extra[] = {"--no-pipeline", NULL};
  api_srv srv;
  if (api_srv_start(&srv, extra) != 0) {
    CHECK(0);
    return 1;
  }
  static rx r;
  pthread_mutex_init(&r.mu, NULL);
  rx_set(&r, 200, 200);
  CHECK_OK(rx_listen(&r, 0));
  const int A = ARGUS_ROLE_ADMIN;
  const char *json = "application/json";
  api_resp q;
  char body[512], path[128];

  /* A watchlist for the filter. */
  CHECK_OK(api_call(&srv, "POST", "/api/v1/watchlists", ARGUS_ROLE_SUPERVISOR,
                    "{\"name\":\"wanted\"}", json, &q));
  CHECK_INT_EQ(q.status, 201);
  api_resp_free(&q);

  /* Created without a secret: the server's, shown once. */
  snprintf(body, sizeof body,
           "{\"url\":\"http://127.0.0.1:%d/a\",\"watchlist\":\"wanted\"}",
           r.port);
  CHECK_OK(api_call(&srv, "POST", "/api/v1/webhooks", A, body, json, &q));
  CHECK_INT_EQ(q.status, 201);
  char secret[256] = "", loc[128] = "";
  CHECK(api_json_str(&q, "secret", secret, sizeof secret));
  CHECK_INT_EQ(strlen(secret), 43);
  int64_t wid = json_id(&q);
  CHECK(wid > 0);
  CHECK(api_resp_header(&q, "Location", loc, sizeof loc));
  snprintf(path, sizeof path, "/api/v1/webhooks/%lld", (long long)wid);
  CHECK(strcmp(loc, path) == 0);
  api_resp_free(&q);
  /* With its own secret: not echoed. */
  CHECK_OK(api_call(&srv, "POST", "/api/v1/webhooks", A,
                    "{\"url\":\"https://example.invalid/x\",\"secret\":"
                    "\"0123456789abcdef-own\",\"watchlist\":null}",
                    json, &q));
  CHECK_INT_EQ(q.status, 201);
  CHECK(!has_key(&q, "secret"));
  int64_t wid2 = json_id(&q);
  api_resp_free(&q);
  /* Listed without secrets. */
  CHECK_OK(api_call(&srv, "GET", "/api/v1/webhooks", A, NULL, NULL, &q));
  CHECK_INT_EQ(q.status, 200);
  CHECK_INT_EQ(json_items(&q), 2);
  CHECK(!has_key(&q, "secret"));
  CHECK(strstr(q.body, secret) == NULL);
  api_resp_free(&q);
  CHECK_OK(
      api_call(&srv, "GET", "/api/v1/webhooks?limit=1", A, NULL, NULL, &q));
  CHECK(q.body && strstr(q.body, "\"next_cursor\":\"") != NULL);
  api_resp_free(&q);

  /* Bad input. */
  static const char *const bad[] = {
      "{\"url\":\"http://127.0.0.1:1/\",\"colour\":\"red\"}",
      "{\"url\":\"ftp://127.0.0.1/\"}",
      "{\"url\":\"http://127.0.0.1:1/\",\"watchlist\":\"nope\"}",
      "{\"url\":\"http://127.0.0.1:1/\",\"secret\":\"short\"}",
      "{\"url\":7}",
      "{}",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    CHECK_OK(api_call(&srv, "POST", "/api/v1/webhooks", A, bad[i], json, &q));
    if (q.status != 400)
      fprintf(stderr, "bad body %zu: %ld %s\n", i, q.status, q.body);
    CHECK_INT_EQ(q.status, 400);
    api_resp_free(&q);
  }
  CHECK_OK(api_call(&srv, "POST", "/api/v1/webhooks", ARGUS_ROLE_OPERATOR,
                    "{\"url\":\"http://127.0.0.1:1/\"}", json, &q));
  CHECK_INT_EQ(q.status, 403);
  api_resp_free(&q);

  /* A dead letter (written to the store as the worker would), retried
   * through the API: the server's outbound module delivers it, signed
   * with the generated secret, and removes it. */
  argus_store *st = NULL;
  argus_store_error se = {{0}};
  CHECK_OK(argus_store_open(srv.db, NULL, &st, &se));
  argus_store_id dl = 0;
  const char *payload = "{\"alert_id\":77,\"watchlist\":\"wanted\"}";
  if (st)
    CHECK_OK(argus_store_deadletter_add(st, wid, 4242, payload, 8, "HTTP 503",
                                        &dl, &se));
  CHECK_OK(
      api_call(&srv, "GET", "/api/v1/webhooks/deadletters", A, NULL, NULL, &q));
  CHECK_INT_EQ(q.status, 200);
  CHECK_INT_EQ(json_items(&q), 1);
  CHECK(q.body && strstr(q.body, "HTTP 503") != NULL);
  api_resp_free(&q);
  snprintf(path, sizeof path, "/api/v1/webhooks/deadletters/%lld/retry",
           (long long)dl);
  CHECK_OK(api_call(&srv, "POST", path, A, NULL, NULL, &q));
  CHECK_INT_EQ(q.status, 202);
  api_resp_free(&q);
  CHECK(rx_wait(&r, "/a", 1, 10));
  pthread_mutex_lock(&r.mu);
  if (r.nreqs >= 1) {
    CHECK(strcmp(r.reqs[0].event_id, "4242") == 0);
    CHECK(strcmp(r.reqs[0].body, payload) == 0);
    CHECK(sig_ok(&r.reqs[0], secret));
  }
  pthread_mutex_unlock(&r.mu);
  double end = now_s() + 5;
  int left = -1;
  do {
    CHECK_OK(api_call(&srv, "GET", "/api/v1/webhooks/deadletters", A, NULL,
                      NULL, &q));
    left = json_items(&q);
    api_resp_free(&q);
    if (left == 0)
      break;
    sleep_s(0.05);
  } while (now_s() < end);
  CHECK_INT_EQ(left, 0);
  CHECK_OK(api_call(&srv, "POST", "/api/v1/webhooks/deadletters/999/retry", A,
                    NULL, NULL, &q));
  CHECK_INT_EQ(q.status, 404);
  api_resp_free(&q);

  /* Delete a dead letter; then the webhooks. */
  if (st)
    CHECK_OK(argus_store_deadletter_add(st, wid, 4243, payload, 8, "HTTP 500",
                                        &dl, &se));
  snprintf(path, sizeof path, "/api/v1/webhooks/deadletters/%lld",
           (long long)dl);
  CHECK_OK(api_call(&srv, "DELETE", path, A, NULL, NULL, &q));
  CHECK_INT_EQ(q.status, 204);
  api_resp_free(&q);
  CHECK_OK(api_call(&srv, "DELETE", path, A, NULL, NULL, &q));
  CHECK_INT_EQ(q.status, 404);
  api_resp_free(&q);
  for (int k = 0; k < 2; k++) {
    snprintf(path, sizeof path, "/api/v1/webhooks/%lld",
             (long long)(k ? wid2 : wid));
    CHECK_OK(api_call(&srv, "DELETE", path, A, NULL, NULL, &q));
    CHECK_INT_EQ(q.status, 204);
    api_resp_free(&q);
  }
  CHECK_OK(api_call(&srv, "DELETE", path, A, NULL, NULL, &q));
  CHECK_INT_EQ(q.status, 404);
  api_resp_free(&q);
  CHECK_OK(api_call(&srv, "GET", "/api/v1/webhooks", A, NULL, NULL, &q));
  CHECK_INT_EQ(json_items(&q), 0);
  api_resp_free(&q);
  /* Nor in the audit log, which has the changes. */
  CHECK_OK(api_call(&srv, "GET", "/api/v1/audit?limit=1000", ARGUS_ROLE_AUDITOR,
                    NULL, NULL, &q));
  CHECK_INT_EQ(q.status, 200);
  CHECK(q.body && strstr(q.body, "webhook.add") != NULL);
  CHECK(q.body && strstr(q.body, "webhook.deadletter.retry") != NULL);
  CHECK(q.body && strstr(q.body, secret) == NULL);
  CHECK(q.body && strstr(q.body, "0123456789abcdef-own") == NULL);
  api_resp_free(&q);
  /* The secret is in no line the server logged. */
  CHECK(!api_srv_log_find(&srv, secret, NULL, 0));

  argus_store_close(st);
  api_srv_stop(&srv);
  rx_stop(&r);
  rx_clear(&r);
  pthread_mutex_destroy(&r.mu);
  return 1;
}

/* ---- end to end: a bus alert through argus_api's event module -------------- */

static void bus_alert(argus_bus *bus, int64_t alert_id, const char *wl) {
  argus_event *e = NULL;
  CHECK_OK(argus_event_new(ARGUS_EVENT_ALERT, NULL, &e));
  if (!e)
    return;
  argus_event_alert *a = &e->u.alert;
  snprintf(a->camera, sizeof a->camera, "gate");
  snprintf(a->watchlist, sizeof a->watchlist, "%s", wl);
  snprintf(a->person, sizeof a->person, "Jane Roe");
  a->person_id = 7;
  a->watchlist_id = 3;
  a->score = 0.71f;
  a->threshold = 0.5f;
  a->alert_id = alert_id;
  a->wall_ns = 1700000000000000000LL;
  CHECK_OK(argus_bus_make_id(bus, "alert", e->id));
  CHECK_OK(argus_bus_publish_event(bus, ARGUS_EVENT_TOPIC_ALERT, e));
  argus_event_unref(e);
}

/* The server started in this process on a bus: alerts published on the
 * bus reach the webhook (the event module's alert hook feeds the outbound
 * module) with the event ids of the event stream. */
static void test_e2e(const char *dir) {
  char sub_dir[600], db[700];
  snprintf(sub_dir, sizeof sub_dir, "%s/e2e", dir);
  if (mkdir(sub_dir, 0700) != 0)
    CHECK(0);
  snprintf(db, sizeof db, "%s/argus.db", sub_dir);
  static rx r;
  pthread_mutex_init(&r.mu, NULL);
  rx_set(&r, 200, 200);
  CHECK_OK(rx_listen(&r, 0));
  argus_store *st = NULL;
  argus_store_error se = {{0}};
  CHECK_OK(argus_store_open(db, NULL, &st, &se));
  char url[128];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/a", r.port);
  if (st) {
    CHECK_OK(argus_store_watchlist_create(st, "vip", NAN, NULL, NULL, &se));
    CHECK_OK(argus_store_webhook_add(st, url, SECRET_A, "vip", NULL, &se));
  }
  argus_bus *bus = NULL;
  CHECK_OK(argus_bus_open(NULL, NULL, &bus, NULL));
  argus_api_config cfg;
  argus_api_config_init(&cfg);
  cfg.listen = "127.0.0.1:0";
  cfg.db_path = db;
  cfg.threads = 2;
  argus_api_parts parts = {0};
  parts.bus = bus;
  argus_api *api = NULL;
  argus_error_detail err = {{0}};
  if (argus_api_start(&cfg, &parts, &api, &err) != ARGUS_OK) {
    fprintf(stderr, "argus_api_start: %s\n", err.msg);
    CHECK(0);
  } else {
    for (int i = 1; i <= 3; i++)
      bus_alert(bus, 500 + i, "vip");
    bus_alert(bus, 600, "other");
    CHECK_OK(argus_bus_flush(bus, 10));
    CHECK(rx_wait(&r, "/a", 3, 10));
    sleep_s(0.2);
    CHECK_INT_EQ(rx_count(&r, "/a", 0), 3);
    pthread_mutex_lock(&r.mu);
    long long prev = 0;
    for (int i = 0; i < r.nreqs && i < 3; i++) {
      rx_req *q = &r.reqs[i];
      long long ev = strtoll(q->event_id, NULL, 10);
      CHECK(ev > prev);
      prev = ev;
      char want[64];
      snprintf(want, sizeof want, "{\"id\":%d,", 501 + i);
      if (!strstr(q->body, want))
        fprintf(stderr, "body: %s\n", q->body);
      CHECK(strstr(q->body, want) != NULL);
      CHECK(sig_ok(q, SECRET_A));
    }
    pthread_mutex_unlock(&r.mu);
    argus_api_stop(api);
  }
  argus_bus_close(bus);
  argus_store_close(st);
  rx_stop(&r);
  rx_clear(&r);
  pthread_mutex_destroy(&r.mu);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  if (sodium_init() < 0)
    SKIP("libsodium did not start");
  if (mosquitto_lib_init() != MOSQ_ERR_SUCCESS)
    SKIP("libmosquitto did not start");
  char dir[] = "/tmp/argus_outbound_XXXXXX";
  if (!mkdtemp(dir))
    SKIP("no temporary folder");
  test_webhooks(dir);
  test_e2e(dir);
  int mqtt = test_mqtt(dir);
  int http = test_http();
  mosquitto_lib_cleanup();
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0)
    fprintf(stderr, "could not remove %s\n", dir);
  if (!mqtt)
    printf("test_api_outbound: MQTT part skipped (see above)\n");
  if (!http)
    printf("test_api_outbound: HTTP part skipped (see above)\n");
  return check_report("test_api_outbound");
}
