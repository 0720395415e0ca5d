/* An SSE client for the API tests (header-only): a parser of
 * text/event-stream that keeps every frame (id, type, data) and counts the
 * greetings and pings, and a stream client that runs one GET
 * /api/v1/events with libcurl on its own thread until stopped. */
#ifndef ARGUS_TEST_SSE_UTIL_H
#define ARGUS_TEST_SSE_UTIL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

static inline double sse_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static inline const char *sse_jstr(const cJSON *o, const char *k) {
  const char *v = cJSON_GetStringValue(cJSON_GetObjectItem(o, k));
  return v ? v : "";
}

static inline void sse_sleep(double s) {
  struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
  nanosleep(&ts, NULL);
}

/* ---- an SSE parser ---------------------------------------------------------- */

typedef struct sse_frame {
  int64_t id;
  char type[64];
  char *data;
} sse_frame;

typedef struct sse {
  pthread_mutex_t mu;
  char *line;
  size_t nline, cline;
  int64_t cur_id;
  int have_id;
  char cur_type[64];
  char *cur_data;
  size_t ndata, cdata;
  sse_frame *f;
  int nf, cf;
  int hellos, pings, retries;
  char raw[4096]; /* the first bytes of the body */
  size_t nraw;
} sse;

static inline void sse_init(sse *s) {
  memset(s, 0, sizeof *s);
  pthread_mutex_init(&s->mu, NULL);
}

static inline void sse_free(sse *s) {
  for (int i = 0; i < s->nf; i++)
    free(s->f[i].data);
  free(s->f);
  free(s->line);
  free(s->cur_data);
  pthread_mutex_destroy(&s->mu);
}

static inline void sse_grow_(char **b, size_t *cap, size_t need) {
  if (need <= *cap)
    return;
  size_t n = *cap ? *cap : 256;
  while (n < need)
    n *= 2;
  char *p = realloc(*b, n);
  if (!p)
    abort();
  *b = p;
  *cap = n;
}

static inline void sse_line(sse *s, const char *l, size_t n) {
  if (n == 0) {
    if (s->ndata || s->cur_type[0]) {
      if (s->nf == s->cf) {
        s->cf = s->cf ? s->cf * 2 : 64;
        s->f = realloc(s->f, (size_t)s->cf * sizeof *s->f);
        if (!s->f)
          abort();
      }
      sse_frame *f = &s->f[s->nf++];
      f->id = s->have_id ? s->cur_id : -1;
      snprintf(f->type, sizeof f->type, "%s",
               s->cur_type[0] ? s->cur_type : "message");
      f->data = malloc(s->ndata + 1);
      if (!f->data)
        abort();
      memcpy(f->data, s->cur_data ? s->cur_data : "", s->ndata);
      f->data[s->ndata] = '\0';
    }
    s->have_id = 0;
    s->cur_type[0] = '\0';
    s->ndata = 0;
    return;
  }
  if (l[0] == ':') {
    if (n >= 7 && memcmp(l, ": hello", 7) == 0)
      s->hellos++;
    if (n >= 6 && memcmp(l, ": ping", 6) == 0)
      s->pings++;
    return;
  }
  const char *colon = memchr(l, ':', n);
  size_t fl = colon ? (size_t)(colon - l) : n;
  const char *v = colon ? colon + 1 : l + n;
  if (v < l + n && *v == ' ')
    v++;
  size_t vl = (size_t)(l + n - v);
  if (fl == 5 && memcmp(l, "event", 5) == 0) {
    size_t k = vl < sizeof s->cur_type - 1 ? vl : sizeof s->cur_type - 1;
    memcpy(s->cur_type, v, k);
    s->cur_type[k] = '\0';
  } else if (fl == 4 && memcmp(l, "data", 4) == 0) {
    sse_grow_(&s->cur_data, &s->cdata, s->ndata + vl + 2);
    if (s->ndata)
      s->cur_data[s->ndata++] = '\n';
    memcpy(s->cur_data + s->ndata, v, vl);
    s->ndata += vl;
  } else if (fl == 2 && memcmp(l, "id", 2) == 0) {
    /* The line is not NUL-terminated: parse a terminated copy. */
    char idb[32];
    size_t k = vl < sizeof idb - 1 ? vl : sizeof idb - 1;
    memcpy(idb, v, k);
    idb[k] = '\0';
    s->cur_id = strtoll(idb, NULL, 10);
    s->have_id = 1;
  } else if (fl == 5 && memcmp(l, "retry", 5) == 0) {
    s->retries++;
  }
}

static inline void sse_feed(sse *s, const char *p, size_t n) {
  pthread_mutex_lock(&s->mu);
  size_t k = n < sizeof s->raw - 1 - s->nraw ? n : sizeof s->raw - 1 - s->nraw;
  memcpy(s->raw + s->nraw, p, k);
  s->nraw += k;
  s->raw[s->nraw] = '\0';
  for (size_t i = 0; i < n; i++) {
    if (p[i] == '\n') {
      size_t len = s->nline;
      if (len && s->line[len - 1] == '\r')
        len--;
      sse_line(s, s->line ? s->line : "", len);
      s->nline = 0;
    } else {
      sse_grow_(&s->line, &s->cline, s->nline + 2);
      s->line[s->nline++] = p[i];
    }
  }
  pthread_mutex_unlock(&s->mu);
}

static inline int sse_count(sse *s) {
  pthread_mutex_lock(&s->mu);
  int n = s->nf;
  pthread_mutex_unlock(&s->mu);
  return n;
}

static inline int64_t sse_last_id(sse *s) {
  pthread_mutex_lock(&s->mu);
  int64_t id = s->nf ? s->f[s->nf - 1].id : 0;
  pthread_mutex_unlock(&s->mu);
  return id;
}

/* Ids strictly increasing: 1, else 0 (and says where). */
static inline int sse_ids_increasing(sse *s, const char *what) {
  for (int i = 1; i < s->nf; i++)
    if (s->f[i].id <= s->f[i - 1].id) {
      fprintf(stderr, "%s: frame %d id %lld after %lld\n", what, i,
              (long long)s->f[i].id, (long long)s->f[i - 1].id);
      return 0;
    }
  return 1;
}

/* ---- a stream client (libcurl, on its own thread) ---------------------- */

typedef struct sse_stream {
  sse s;
  char url[512];
  char auth[300];
  char last_id_hdr[64]; /* "" : none */
  pthread_t th;
  int started;
  atomic_int stop;
  atomic_int done;
  long status;
  CURLcode rc;
  char ctype[128];
} sse_stream;

static inline size_t sse_stream_write_(char *p, size_t sz, size_t n, void *u) {
  sse_stream *st = u;
  if (atomic_load(&st->stop))
    return 0;
  sse_feed(&st->s, p, sz * n);
  return sz * n;
}

static inline int sse_stream_progress_(void *u, curl_off_t a, curl_off_t b, curl_off_t c,
                           curl_off_t d) {
  sse_stream *st = u;
  (void)a;
  (void)b;
  (void)c;
  (void)d;
  return atomic_load(&st->stop) ? 1 : 0;
}

static inline void *sse_stream_main_(void *arg) {
  sse_stream *st = arg;
  CURL *h = curl_easy_init();
  if (!h) {
    atomic_store(&st->done, 1);
    return NULL;
  }
  struct curl_slist *hl = curl_slist_append(NULL, st->auth);
  char lh[96];
  if (st->last_id_hdr[0]) {
    snprintf(lh, sizeof lh, "Last-Event-ID: %s", st->last_id_hdr);
    hl = curl_slist_append(hl, lh);
  }
  curl_easy_setopt(h, CURLOPT_URL, st->url);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sse_stream_write_);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, st);
  curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, sse_stream_progress_);
  curl_easy_setopt(h, CURLOPT_XFERINFODATA, st);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  st->rc = curl_easy_perform(h);
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &st->status);
  char *ct = NULL;
  curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ct);
  snprintf(st->ctype, sizeof st->ctype, "%s", ct ? ct : "");
  curl_slist_free_all(hl);
  curl_easy_cleanup(h);
  atomic_store(&st->done, 1);
  return NULL;
}

static inline void sse_stream_start(sse_stream *st, int port, const char *token,
                         const char *query, int64_t last_id) {
  memset(st, 0, sizeof *st);
  sse_init(&st->s);
  snprintf(st->url, sizeof st->url, "http://127.0.0.1:%d/api/v1/events%s",
           port, query ? query : "");
  snprintf(st->auth, sizeof st->auth, "Authorization: Bearer %s", token);
  if (last_id >= 0)
    snprintf(st->last_id_hdr, sizeof st->last_id_hdr, "%lld",
             (long long)last_id);
  st->started = pthread_create(&st->th, NULL, sse_stream_main_, st) == 0;
}

/* Waits until the greeting came (1), or the stream ended / 10 s (0). */
static inline int sse_stream_wait_hello(sse_stream *st) {
  double end = sse_now() + 10;
  while (sse_now() < end) {
    pthread_mutex_lock(&st->s.mu);
    int h = st->s.hellos;
    pthread_mutex_unlock(&st->s.mu);
    if (h)
      return 1;
    if (atomic_load(&st->done))
      return 0;
    sse_sleep(0.01);
  }
  return 0;
}

static inline int sse_stream_wait_frames(sse_stream *st, int n, double timeout) {
  double end = sse_now() + timeout;
  while (sse_now() < end) {
    if (sse_count(&st->s) >= n)
      return 1;
    if (atomic_load(&st->done))
      return sse_count(&st->s) >= n;
    sse_sleep(0.005);
  }
  return 0;
}

static inline void sse_stream_stop(sse_stream *st) {
  atomic_store(&st->stop, 1);
  if (st->started)
    pthread_join(st->th, NULL);
  st->started = 0;
}

static inline int sse_stream_wait_done(sse_stream *st, double timeout) {
  double end = sse_now() + timeout;
  while (sse_now() < end) {
    if (atomic_load(&st->done))
      return 1;
    sse_sleep(0.01);
  }
  return 0;
}


#endif
