/* A bounded JSON object writer for the pipeline's bus documents, RFC 3339
 * times, and the latency histogram. Nothing here allocates. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "pipeline/pipeline_internal.h"

static void put(pl_json *j, const char *s, size_t n) {
  if (j->overflow)
    return;
  if (j->len + n + 2 > j->cap) { /* room for the closing brace and NUL */
    j->overflow = 1;
    return;
  }
  memcpy(j->buf + j->len, s, n);
  j->len += n;
  j->buf[j->len] = '\0';
}

__attribute__((format(printf, 2, 3))) static void putf(pl_json *j,
                                                       const char *fmt, ...) {
  char tmp[64];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n < 0 || (size_t)n >= sizeof tmp) {
    j->overflow = 1;
    return;
  }
  put(j, tmp, (size_t)n);
}

static void put_string(pl_json *j, const char *s) {
  put(j, "\"", 1);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    unsigned char c = *p;
    if (c == '"' || c == '\\') {
      char e[2] = {'\\', (char)c};
      put(j, e, 2);
    } else if (c < 0x20) {
      char e[8];
      snprintf(e, sizeof e, "\\u%04x", c);
      put(j, e, 6);
    } else {
      put(j, (const char *)p, 1);
    }
  }
  put(j, "\"", 1);
}

static void key(pl_json *j, const char *k) {
  if (!j->first)
    put(j, ",", 1);
  j->first = 0;
  put_string(j, k);
  put(j, ":", 1);
}

void pl_json_begin(pl_json *j, char *buf, size_t cap) {
  j->buf = buf;
  j->cap = cap;
  j->len = 0;
  j->first = 1;
  j->overflow = cap < 3;
  if (!j->overflow) {
    buf[0] = '{';
    buf[1] = '\0';
    j->len = 1;
  }
}

void pl_json_str(pl_json *j, const char *k, const char *v) {
  key(j, k);
  if (v)
    put_string(j, v);
  else
    put(j, "null", 4);
}

void pl_json_int(pl_json *j, const char *k, int64_t v) {
  key(j, k);
  putf(j, "%lld", (long long)v);
}

void pl_json_uint(pl_json *j, const char *k, uint64_t v) {
  key(j, k);
  putf(j, "%llu", (unsigned long long)v);
}

void pl_json_num(pl_json *j, const char *k, double v, int decimals) {
  key(j, k);
  if (!isfinite(v))
    put(j, "null", 4);
  else
    putf(j, "%.*f", decimals, v);
}

void pl_json_bool(pl_json *j, const char *k, int v) {
  key(j, k);
  if (v)
    put(j, "true", 4);
  else
    put(j, "false", 5);
}

void pl_json_null(pl_json *j, const char *k) {
  key(j, k);
  put(j, "null", 4);
}

void pl_json_box(pl_json *j, const char *k, const float b[4]) {
  key(j, k);
  putf(j, "[%.1f,%.1f,%.1f,%.1f]", b[0], b[1], b[2], b[3]);
}

size_t pl_json_end(pl_json *j) {
  if (j->overflow)
    return 0;
  /* put() kept room for this. */
  j->buf[j->len++] = '}';
  j->buf[j->len] = '\0';
  return j->len;
}

int64_t pl_wall_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void pl_rfc3339(int64_t wall_ns, char out[32]) {
  time_t s = (time_t)(wall_ns / 1000000000);
  int ms = (int)((wall_ns % 1000000000) / 1000000);
  if (ms < 0) {
    ms += 1000;
    s--;
  }
  struct tm u;
  if (!gmtime_r(&s, &u)) {
    snprintf(out, 32, "1970-01-01T00:00:00.000Z");
    return;
  }
  snprintf(out, 32, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", u.tm_year + 1900,
           u.tm_mon + 1, u.tm_mday, u.tm_hour, u.tm_min, u.tm_sec, ms);
}

/* ---- latency histogram -------------------------------------------------- */

/* Bin 0: below 1 ms; bin i (1..PL_LAT_BINS-2): [1 ms * 1.05^(i-1),
 * 1 ms * 1.05^i); the last: everything above. */
static const double LAT_BASE = 1e-3, LAT_STEP = 1.05;

void pl_latency_add(pl_latency *l, double s) {
  if (!(s >= 0))
    s = 0;
  int b;
  if (s < LAT_BASE) {
    b = 0;
  } else {
    b = 1 + (int)floor(log(s / LAT_BASE) / log(LAT_STEP));
    if (b > PL_LAT_BINS - 1)
      b = PL_LAT_BINS - 1;
  }
  l->bins[b]++;
  l->count++;
  l->sum += s;
  if (s > l->max)
    l->max = s;
}

static double quantile(const pl_latency *l, double q) {
  if (!l->count)
    return 0;
  uint64_t want = (uint64_t)ceil(q * (double)l->count);
  if (want < 1)
    want = 1;
  uint64_t acc = 0;
  for (int b = 0; b < PL_LAT_BINS; b++) {
    acc += l->bins[b];
    if (acc >= want) {
      if (b == 0)
        return LAT_BASE * 0.5;
      /* The bin's geometric middle, but never above the largest sample. */
      double v = LAT_BASE * pow(LAT_STEP, (double)b - 0.5);
      return v < l->max ? v : l->max;
    }
  }
  return l->max;
}

void pl_latency_summary(const pl_latency *l, argus_pipeline_latency *out) {
  out->count = l->count;
  out->p50 = quantile(l, 0.50);
  out->p99 = quantile(l, 0.99);
  out->max = l->max;
  out->mean = l->count ? l->sum / (double)l->count : 0;
}
