/* Event fan-out of `argus serve`: N clients on GET /api/v1/events (plain
 * sockets, HTTP/1.1, one epoll loop), events triggered through the API at
 * a given rate, and the delay from each trigger to each client's receipt
 * of its frame: p50 / p99 / max over every (client, event), frames missed,
 * and the server's resident memory.
 *
 *   build/bench/sse_bench --port 8080 --token TOKEN --pid $(pidof argus) \
 *       --db ~/.local/share/argus/argus.db --make-alerts 200 \
 *       --clients 1000 --rate 20
 *
 * Triggers: with --make-alerts N (and --db, the server's database) the bench
 * stores N alerts (watchlist "sse-bench", one person) and triggers by
 * POSTing a decision on each ({"decision":"confirmed","comment":
 * "sse-bench-K"}): each makes one "decision" event. Any other trigger:
 * --trigger METHOD PATH BODY, where "{k}" in PATH and BODY becomes the
 * trigger's number (from 0) and "{id}" the k-th made alert's id, with
 * --type the event type it raises. The k-th trigger is matched to a
 * client's frame by "sse-bench-K" in the frame's data when it is there,
 * else by order (the k-th frame of that type the client receives).
 *
 * The token needs a role that may read the stream and make the trigger
 * (operator for decisions). The server should allow enough open files
 * (ulimit -n) for the clients; the bench raises its own limit.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "argus/store.h"

#define MAX_TRIGGERS 100000

typedef struct opts {
  const char *host;
  int port;
  const char *token;
  int pid;
  int clients;
  int events;
  double rate;
  const char *db;
  int make_alerts;
  const char *method, *path, *body;
  const char *type;
  double timeout;
} opts;

/* ---- time ---------------------------------------------------------------- */

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void sleep_until(uint64_t t) {
  for (;;) {
    uint64_t n = now_ns();
    if (n >= t)
      return;
    uint64_t d = t - n;
    struct timespec ts = {(time_t)(d / 1000000000u),
                          (long)(d % 1000000000u)};
    nanosleep(&ts, NULL);
  }
}

/* ---- the clients -------------------------------------------------------------- */

enum { C_CONNECTING, C_HEADERS, C_CHUNK_SIZE, C_CHUNK_DATA, C_CHUNK_CRLF,
       C_RAW, C_DONE };

typedef struct client {
  int fd;
  int state;
  int status;
  int ready; /* received the greeting */
  char hdr[4096];
  size_t nhdr;
  size_t chunk_left;
  char line[512]; /* chunk size line */
  size_t nline;
  /* SSE */
  char *ev;  /* current line being assembled */
  size_t nev, cev;
  char type[64];
  char *data;
  size_t ndata, cdata;
  int64_t id;
  int64_t last_id;
  int matched; /* frames of the measured type so far */
  int ended;
} client;

static _Atomic uint64_t *trig_ns; /* send time per trigger */
static atomic_int trig_sent;
static double *lat_ms;            /* every (client, event) latency */
static size_t nlat, clat;
static uint64_t frames_total, frames_other, frames_unmatched, dropped_clients;

static void lat_add(double ms) {
  if (nlat == clat) {
    size_t n = clat ? clat * 2 : 65536;
    double *p = realloc(lat_ms, n * sizeof *p);
    if (!p)
      return;
    lat_ms = p;
    clat = n;
  }
  lat_ms[nlat++] = ms;
}

static int grow(char **b, size_t *cap, size_t need) {
  if (need <= *cap)
    return 0;
  size_t n = *cap ? *cap : 256;
  while (n < need)
    n *= 2;
  char *p = realloc(*b, n);
  if (!p)
    return -1;
  *b = p;
  *cap = n;
  return 0;
}

static void sse_dispatch(client *c, const opts *o, uint64_t t_recv) {
  if (c->ndata == 0 && c->type[0] == '\0')
    return;
  frames_total++;
  if (strcmp(c->type, o->type) != 0) {
    frames_other++;
  } else {
    int k = c->matched++;
    const char *m = c->data ? memmem(c->data, c->ndata, "sse-bench-", 10)
                            : NULL;
    if (m) {
      char *end = NULL;
      long v = strtol(m + 10, &end, 10);
      if (end != m + 10)
        k = (int)v;
    }
    uint64_t t0 = (k >= 0 && k < MAX_TRIGGERS) ? atomic_load(&trig_ns[k]) : 0;
    if (t0 && t_recv >= t0)
      lat_add((double)(t_recv - t0) / 1e6);
    else
      frames_unmatched++;
  }
  c->type[0] = '\0';
  c->ndata = 0;
}

static void sse_line(client *c, const char *l, size_t n, const opts *o,
                     uint64_t t) {
  if (n == 0) {
    sse_dispatch(c, o, t);
    return;
  }
  if (l[0] == ':') {
    if (n >= 7 && memcmp(l, ": hello", 7) == 0)
      c->ready = 1;
    return;
  }
  const char *colon = memchr(l, ':', n);
  size_t fl = colon ? (size_t)(colon - l) : n;
  const char *v = colon ? colon + 1 : l + n;
  if (v < l + n && *v == ' ')
    v++;
  size_t vl = (size_t)(l + n - v);
  if (fl == 5 && memcmp(l, "event", 5) == 0) {
    size_t k = vl < sizeof c->type - 1 ? vl : sizeof c->type - 1;
    memcpy(c->type, v, k);
    c->type[k] = '\0';
  } else if (fl == 4 && memcmp(l, "data", 4) == 0) {
    if (grow(&c->data, &c->cdata, c->ndata + vl + 2) == 0) {
      if (c->ndata)
        c->data[c->ndata++] = '\n';
      memcpy(c->data + c->ndata, v, vl);
      c->ndata += vl;
    }
  } else if (fl == 2 && memcmp(l, "id", 2) == 0) {
    c->id = strtoll(v, NULL, 10);
    c->last_id = c->id;
  }
}

/* Body bytes into SSE lines. */
static void sse_feed(client *c, const char *p, size_t n, const opts *o,
                     uint64_t t) {
  for (size_t i = 0; i < n; i++) {
    char ch = p[i];
    if (ch == '\n') {
      size_t len = c->nev;
      if (len && c->ev[len - 1] == '\r')
        len--;
      sse_line(c, c->ev, len, o, t);
      c->nev = 0;
    } else if (grow(&c->ev, &c->cev, c->nev + 2) == 0) {
      c->ev[c->nev++] = ch;
    }
  }
}

/* HTTP bytes (headers, chunked framing). 0, or -1 when the stream ended. */
static int http_feed(client *c, const char *p, size_t n, const opts *o,
                     uint64_t t) {
  size_t i = 0;
  while (i < n) {
    switch (c->state) {
    case C_HEADERS: {
      size_t k = n - i;
      if (k > sizeof c->hdr - 1 - c->nhdr)
        k = sizeof c->hdr - 1 - c->nhdr;
      if (k == 0)
        return -1;
      memcpy(c->hdr + c->nhdr, p + i, k);
      c->nhdr += k;
      c->hdr[c->nhdr] = '\0';
      char *end = strstr(c->hdr, "\r\n\r\n");
      if (!end) {
        i += k;
        break;
      }
      size_t used = (size_t)(end + 4 - c->hdr) - (c->nhdr - k);
      i += used;
      c->status = (int)strtol(c->hdr + 9, NULL, 10);
      if (c->status != 200)
        return -1;
      *end = '\0';
      c->state = strcasestr(c->hdr, "transfer-encoding: chunked")
                     ? C_CHUNK_SIZE
                     : C_RAW;
      break;
    }
    case C_CHUNK_SIZE:
      if (p[i] == '\n') {
        c->line[c->nline] = '\0';
        c->chunk_left = strtoul(c->line, NULL, 16);
        c->nline = 0;
        if (c->chunk_left == 0)
          return -1;
        c->state = C_CHUNK_DATA;
      } else if (c->nline < sizeof c->line - 1) {
        c->line[c->nline++] = p[i];
      }
      i++;
      break;
    case C_CHUNK_DATA: {
      size_t k = n - i < c->chunk_left ? n - i : c->chunk_left;
      sse_feed(c, p + i, k, o, t);
      i += k;
      c->chunk_left -= k;
      if (c->chunk_left == 0)
        c->state = C_CHUNK_CRLF;
      break;
    }
    case C_CHUNK_CRLF:
      if (p[i] == '\n')
        c->state = C_CHUNK_SIZE;
      i++;
      break;
    case C_RAW:
      sse_feed(c, p + i, n - i, o, t);
      i = n;
      break;
    default:
      return -1;
    }
  }
  return 0;
}

static int client_connect(client *c, const opts *o, int ep, int idx) {
  c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (c->fd < 0)
    return -1;
  int one = 1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)o->port);
  if (inet_pton(AF_INET, o->host, &a.sin_addr) != 1)
    return -1;
  if (connect(c->fd, (struct sockaddr *)&a, sizeof a) != 0 &&
      errno != EINPROGRESS)
    return -1;
  c->state = C_CONNECTING;
  struct epoll_event e = {.events = EPOLLIN | EPOLLOUT,
                          .data.u32 = (uint32_t)idx};
  return epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &e);
}

static int client_send_request(client *c, const opts *o, int ep, int idx) {
  char req[1024];
  int n = snprintf(req, sizeof req,
                   "GET /api/v1/events HTTP/1.1\r\nHost: %s:%d\r\n"
                   "Authorization: Bearer %s\r\nAccept: text/event-stream\r\n"
                   "\r\n",
                   o->host, o->port, o->token);
  if (n < 0 || (size_t)n >= sizeof req)
    return -1;
  /* A fresh socket's send buffer takes a request this small whole. */
  if (send(c->fd, req, (size_t)n, MSG_NOSIGNAL) != n)
    return -1;
  c->state = C_HEADERS;
  struct epoll_event e = {.events = EPOLLIN, .data.u32 = (uint32_t)idx};
  return epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e);
}

static void client_end(client *c, int ep) {
  if (c->fd >= 0) {
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
  }
  c->fd = -1;
  if (!c->ended && c->ready)
    dropped_clients++;
  c->ended = 1;
  c->state = C_DONE;
}

/* One pass of the loop: waits up to timeout_ms. */
static void loop_once(client *cl, int n, const opts *o, int ep,
                      int timeout_ms) {
  struct epoll_event evs[256];
  int k = epoll_wait(ep, evs, 256, timeout_ms);
  static char buf[65536];
  for (int i = 0; i < k; i++) {
    int idx = (int)evs[i].data.u32;
    if (idx < 0 || idx >= n)
      continue;
    client *c = &cl[idx];
    if (c->fd < 0)
      continue;
    if (c->state == C_CONNECTING) {
      int err = 0;
      socklen_t el = sizeof err;
      getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
      if (err || client_send_request(c, o, ep, idx) != 0)
        client_end(c, ep);
      continue;
    }
    for (;;) {
      ssize_t got = recv(c->fd, buf, sizeof buf, 0);
      /* The time of this read: the loop may take a while over many
       * clients, and later reads get later data. */
      uint64_t t = now_ns();
      if (got > 0) {
        if (http_feed(c, buf, (size_t)got, o, t) != 0) {
          client_end(c, ep);
          break;
        }
        if ((size_t)got < sizeof buf)
          break;
        continue;
      }
      if (got < 0 && (errno == EAGAIN || errno == EINTR))
        break;
      client_end(c, ep);
      break;
    }
  }
}

/* ---- triggers ---------------------------------------------------------------- */

static argus_store_id *alert_ids;

static size_t discard_cb(char *p, size_t s, size_t n, void *u) {
  (void)p;
  (void)u;
  return s * n;
}

/* Writes s with "{k}" and "{id}" replaced into out. */
static void subst(const char *s, int k, char *out, size_t cap) {
  size_t o = 0;
  while (*s && o + 1 < cap) {
    char tmp[32];
    const char *rep = NULL;
    size_t skip = 0;
    if (strncmp(s, "{k}", 3) == 0) {
      snprintf(tmp, sizeof tmp, "%d", k);
      rep = tmp;
      skip = 3;
    } else if (strncmp(s, "{id}", 4) == 0) {
      snprintf(tmp, sizeof tmp, "%lld",
               alert_ids ? (long long)alert_ids[k] : (long long)k);
      rep = tmp;
      skip = 4;
    }
    if (rep) {
      size_t l = strlen(rep);
      if (o + l >= cap)
        break;
      memcpy(out + o, rep, l);
      o += l;
      s += skip;
    } else {
      out[o++] = *s++;
    }
  }
  out[o] = '\0';
}

typedef struct trig_ctx {
  const opts *o;
  int failed;
  long last_status;
  atomic_int done;
} trig_ctx;

static void *trigger_main(void *arg) {
  trig_ctx *tc = arg;
  const opts *o = tc->o;
  CURL *h = curl_easy_init();
  if (!h) {
    tc->failed = o->events;
    atomic_store(&tc->done, 1);
    return NULL;
  }
  char auth[512];
  snprintf(auth, sizeof auth, "Authorization: Bearer %s", o->token);
  struct curl_slist *hl = curl_slist_append(NULL, auth);
  hl = curl_slist_append(hl, "Content-Type: application/json");
  uint64_t start = now_ns();
  for (int k = 0; k < o->events; k++) {
    sleep_until(start + (uint64_t)((double)k / o->rate * 1e9));
    char path[1024], url[1200], body[2048];
    subst(o->path, k, path, sizeof path);
    subst(o->body ? o->body : "", k, body, sizeof body);
    snprintf(url, sizeof url, "http://%s:%d%s", o->host, o->port, path);
    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, o->method);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
    if (o->body) {
      curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
      curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard_cb);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 10L);
    atomic_store(&trig_ns[k], now_ns());
    atomic_fetch_add(&trig_sent, 1);
    long st = 0;
    CURLcode ce = curl_easy_perform(h);
    if (ce == CURLE_OK)
      curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &st);
    if (ce != CURLE_OK || st >= 300) {
      tc->failed++;
      tc->last_status = st;
    }
  }
  curl_slist_free_all(hl);
  curl_easy_cleanup(h);
  atomic_store(&tc->done, 1);
  return NULL;
}

/* Stores o->make_alerts alerts for decisions to be made on. */
static int make_alerts(const opts *o) {
  argus_store *s = NULL;
  argus_store_error err = {{0}};
  argus_store_options so = {0};
  so.actor = "bench:sse";
  so.must_exist = 1;
  if (argus_store_open(o->db, &so, &s, &err) != ARGUS_OK) {
    fprintf(stderr, "sse_bench: %s\n", err.msg);
    return -1;
  }
  int rc = -1;
  argus_store_id wl = 0, person = 0;
  argus_store_watchlist w;
  if (argus_store_watchlist_get(s, "sse-bench", &w, &err) == ARGUS_OK)
    wl = w.id;
  else if (argus_store_watchlist_create(s, "sse-bench", NAN, NULL, &wl,
                                        &err) != ARGUS_OK)
    goto done;
  argus_store_person_in pi = {0};
  char name[64];
  snprintf(name, sizeof name, "sse-bench-%lld", (long long)now_ns());
  pi.name = name;
  if (argus_store_person_add(s, "sse-bench", &pi, NULL, NULL, 0, &person,
                             &err) != ARGUS_OK)
    goto done;
  alert_ids = calloc((size_t)o->make_alerts, sizeof *alert_ids);
  if (!alert_ids)
    goto done;
  for (int k = 0; k < o->make_alerts; k++) {
    argus_store_alert_in a = {0};
    a.camera = "sse-bench";
    a.watchlist_id = wl;
    a.person_id = person;
    a.score = 0.9;
    a.threshold = NAN;
    a.track_start = NAN;
    a.track_id = k;
    if (argus_store_alert_insert(s, &a, &alert_ids[k], &err) != ARGUS_OK)
      goto done;
  }
  rc = 0;
done:
  if (rc != 0)
    fprintf(stderr, "sse_bench: making alerts: %s\n", err.msg);
  argus_store_close(s);
  return rc;
}

/* ---- report ------------------------------------------------------------------------- */

static int cmp_d(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static long rss_kb(int pid, const char *key) {
  if (pid <= 0)
    return -1;
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/status", pid);
  FILE *f = fopen(path, "r");
  if (!f)
    return -1;
  char line[256];
  long v = -1;
  size_t kl = strlen(key);
  while (fgets(line, sizeof line, f))
    if (strncmp(line, key, kl) == 0) {
      v = strtol(line + kl, NULL, 10);
      break;
    }
  fclose(f);
  return v;
}

static void usage(void) {
  fprintf(stderr,
          "usage: sse_bench --token T [--host 127.0.0.1] [--port 8080]\n"
          "         [--clients 1000] [--events 200] [--rate 20] [--pid PID]\n"
          "         [--db PATH --make-alerts N] [--trigger METHOD PATH BODY]\n"
          "         [--type decision] [--timeout 10]\n");
}

int main(int argc, char **argv) {
  opts o = {0};
  o.host = "127.0.0.1";
  o.port = 8080;
  o.clients = 1000;
  o.events = 200;
  o.rate = 20;
  o.type = "decision";
  o.timeout = 10;
  for (int i = 1; i < argc; i += 2) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!v) {
      usage();
      return 2;
    }
    if (!strcmp(a, "--host"))
      o.host = v;
    else if (!strcmp(a, "--port"))
      o.port = (int)strtol(v, NULL, 10);
    else if (!strcmp(a, "--token"))
      o.token = v;
    else if (!strcmp(a, "--pid"))
      o.pid = (int)strtol(v, NULL, 10);
    else if (!strcmp(a, "--clients"))
      o.clients = (int)strtol(v, NULL, 10);
    else if (!strcmp(a, "--events"))
      o.events = (int)strtol(v, NULL, 10);
    else if (!strcmp(a, "--rate"))
      o.rate = strtod(v, NULL);
    else if (!strcmp(a, "--db"))
      o.db = v;
    else if (!strcmp(a, "--make-alerts"))
      o.make_alerts = (int)strtol(v, NULL, 10);
    else if (!strcmp(a, "--type"))
      o.type = v;
    else if (!strcmp(a, "--timeout"))
      o.timeout = strtod(v, NULL);
    else if (!strcmp(a, "--trigger") && i + 3 < argc) {
      o.method = argv[i + 1];
      o.path = argv[i + 2];
      o.body = argv[i + 3];
      i += 2; /* and 2 more below */
    } else {
      usage();
      return 2;
    }
  }
  if (!o.token || o.clients <= 0 || o.events <= 0 || o.rate <= 0 ||
      o.events > MAX_TRIGGERS) {
    usage();
    return 2;
  }
  if (o.make_alerts > 0) {
    if (!o.db) {
      fprintf(stderr, "sse_bench: --make-alerts needs --db\n");
      return 2;
    }
    if (o.events > o.make_alerts)
      o.events = o.make_alerts;
    if (make_alerts(&o) != 0)
      return 1;
    if (!o.method) {
      o.method = "POST";
      o.path = "/api/v1/alerts/{id}/decision";
      o.body = "{\"decision\":\"confirmed\",\"comment\":\"sse-bench-{k}\"}";
    }
  }
  if (!o.method) {
    fprintf(stderr, "sse_bench: give --make-alerts N (with --db) or "
                    "--trigger METHOD PATH BODY\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  trig_ns = calloc((size_t)o.events, sizeof *trig_ns);
  client *cl = calloc((size_t)o.clients, sizeof *cl);
  int ep = epoll_create1(0);
  if (!trig_ns || !cl || ep < 0) {
    fprintf(stderr, "sse_bench: out of memory\n");
    return 1;
  }
  long rss0 = rss_kb(o.pid, "VmRSS:");

  /* Connect in batches of 100 so the listen backlog keeps up. */
  uint64_t t_conn = now_ns();
  int opened = 0;
  for (int i = 0; i < o.clients; i++) {
    cl[i].fd = -1;
    if (client_connect(&cl[i], &o, ep, i) != 0) {
      fprintf(stderr, "sse_bench: client %d: cannot connect: %s\n", i,
              strerror(errno));
      client_end(&cl[i], ep);
    }
    opened++;
    if (opened % 100 == 0)
      for (int k = 0; k < 5; k++)
        loop_once(cl, o.clients, &o, ep, 10);
  }
  int ready = 0;
  uint64_t deadline = now_ns() + (uint64_t)(o.timeout * 1e9);
  while (now_ns() < deadline) {
    loop_once(cl, o.clients, &o, ep, 50);
    ready = 0;
    for (int i = 0; i < o.clients; i++)
      ready += cl[i].ready && !cl[i].ended;
    if (ready == o.clients)
      break;
  }
  double conn_s = (double)(now_ns() - t_conn) / 1e9;
  long rss1 = rss_kb(o.pid, "VmRSS:");
  int refused = 0;
  for (int i = 0; i < o.clients; i++)
    refused += cl[i].status != 200 && cl[i].status != 0;
  printf("clients: %d of %d streaming after %.2f s (%d refused)\n", ready,
         o.clients, conn_s, refused);
  if (ready == 0)
    return 1;

  trig_ctx tc = {0};
  tc.o = &o;
  pthread_t th;
  if (pthread_create(&th, NULL, trigger_main, &tc) != 0)
    return 1;
  uint64_t t_start = now_ns();
  uint64_t end_by = 0;
  for (;;) {
    loop_once(cl, o.clients, &o, ep, 20);
    if (atomic_load(&tc.done)) {
      if (!end_by)
        end_by = now_ns() + (uint64_t)(o.timeout * 1e9);
      int all = 1;
      for (int i = 0; i < o.clients && all; i++)
        if (!cl[i].ended && cl[i].ready && cl[i].matched < o.events)
          all = 0;
      if (all || now_ns() >= end_by)
        break;
    }
  }
  pthread_join(th, NULL);
  double run_s = (double)(now_ns() - t_start) / 1e9;
  long rss2 = rss_kb(o.pid, "VmRSS:");
  long hwm = rss_kb(o.pid, "VmHWM:");

  size_t expected = (size_t)ready * (size_t)o.events;
  qsort(lat_ms, nlat, sizeof *lat_ms, cmp_d);
  printf("events: %d triggered (%d failed%s), %.1f/s over %.2f s\n", o.events,
         tc.failed, tc.failed ? ", see the server log" : "",
         (double)o.events / run_s, run_s);
  printf("frames: %zu of %zu expected delivered (%llu unmatched, %llu of "
         "other types), %llu clients dropped\n",
         nlat, expected, (unsigned long long)frames_unmatched,
         (unsigned long long)frames_other,
         (unsigned long long)dropped_clients);
  if (nlat) {
    printf("latency trigger -> client (ms): p50 %.2f  p90 %.2f  p99 %.2f  "
           "max %.2f\n",
           lat_ms[nlat / 2], lat_ms[(size_t)((double)nlat * 0.90)],
           lat_ms[(size_t)((double)nlat * 0.99)], lat_ms[nlat - 1]);
  }
  if (o.pid > 0)
    printf("server RSS (MiB): %.1f before, %.1f with %d clients, %.1f after "
           "the events, peak %.1f\n",
           rss0 / 1024.0, rss1 / 1024.0, ready, rss2 / 1024.0, hwm / 1024.0);
  for (int i = 0; i < o.clients; i++) {
    if (cl[i].fd >= 0)
      close(cl[i].fd);
    free(cl[i].ev);
    free(cl[i].data);
  }
  free(cl);
  free(trig_ns);
  free(lat_ms);
  free(alert_ids);
  close(ep);
  curl_global_cleanup();
  return nlat == expected ? 0 : 3;
}
