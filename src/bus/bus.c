/* The public bus functions: argument checks, the one place that picks a
 * backend by URL, message ids. The work is done by the backend's table. */
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "bus/bus_internal.h"

/* The backends, by URL scheme. */
static const bus_backend_ops *backend_for(const char *url) {
  if (!url || !*url || strcmp(url, "inproc") == 0 ||
      strncmp(url, "inproc:", 7) == 0)
    return &bus_inproc_ops;
  if (strncmp(url, "nats://", 7) == 0 || strncmp(url, "tls://", 6) == 0)
    return &bus_nats_ops;
  return NULL;
}

static uint64_t random_u64(void) {
  uint64_t v = 0;
  int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    ssize_t n = read(fd, &v, sizeof v);
    close(fd);
    if (n == (ssize_t)sizeof v && v)
      return v;
  }
  /* No urandom (a chroot): time and address bits still make ids unique per
   * run in practice; uniqueness within a bus comes from the counter. */
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  v = (uint64_t)ts.tv_sec * 1000000007ull ^ (uint64_t)ts.tv_nsec ^
      ((uint64_t)(uintptr_t)&v << 17) ^ (uint64_t)getpid() << 40;
  return v ? v : 1;
}

/* Why this thread's last failed bus call failed (argus_bus_last_error). */
static _Thread_local argus_error_detail t_last;

void bus_note(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  argus_error_detail_setv(&t_last, fmt, ap);
  va_end(ap);
  argus_log(ARGUS_LOG_ERROR, BUS_MOD, "%s", t_last.msg);
}

const char *argus_bus_last_error(void) { return t_last.msg; }

/* Copies this thread's last reason into err after a failed call. */
static argus_err with_detail(argus_err rc, argus_error_detail *err) {
  if (rc != ARGUS_OK && err)
    snprintf(err->msg, sizeof err->msg, "%s",
             t_last.msg[0] ? t_last.msg : argus_strerror(rc));
  return rc;
}

static argus_err bus_open(const char *url, const argus_bus_options *opts,
                          argus_bus **out);

argus_err argus_bus_open(const char *url, const argus_bus_options *opts,
                         argus_bus **out, argus_error_detail *err) {
  t_last.msg[0] = '\0';
  return with_detail(bus_open(url, opts, out), err);
}

static argus_err bus_open(const char *url, const argus_bus_options *opts,
                          argus_bus **out) {
  if (!out)
    return ARGUS_E_INVALID_ARG;
  *out = NULL;
  argus_bus_options o = {0};
  if (opts)
    o = *opts;
  if (o.dedupe_window == 0)
    o.dedupe_window = 4096;
  if (o.dedupe_window < 1 || o.dedupe_window > (1 << 20)) {
    bus_note("dedupe_window %d is out of range (1..%d)", o.dedupe_window,
             1 << 20);
    return ARGUS_E_INVALID_ARG;
  }
  const bus_backend_ops *ops = backend_for(url);
  if (!ops) {
    bus_note(
        "no bus backend for '%s' (this build has: inproc, nats://HOST:PORT)",
        url);
    return ARGUS_E_UNSUPPORTED;
  }
  argus_bus *b = calloc(1, sizeof *b);
  if (!b)
    return ARGUS_E_NOMEM;
  b->ops = ops;
  b->id_salt = random_u64();
  atomic_init(&b->id_counter, 0);
  pthread_mutex_init(&b->subs_mu, NULL);
  argus_err rc = ops->open(url, &o, &b->ctx);
  if (rc) {
    pthread_mutex_destroy(&b->subs_mu);
    free(b);
    return rc;
  }
  *out = b;
  return ARGUS_OK;
}

void argus_bus_close(argus_bus *bus) {
  if (!bus)
    return;
  for (;;) {
    pthread_mutex_lock(&bus->subs_mu);
    argus_bus_sub *s = bus->subs;
    pthread_mutex_unlock(&bus->subs_mu);
    if (!s)
      break;
    argus_bus_unsubscribe(s);
  }
  bus->ops->close(bus->ctx);
  pthread_mutex_destroy(&bus->subs_mu);
  free(bus);
}

const char *argus_bus_backend(const argus_bus *bus) {
  return bus ? bus->ops->name : "none";
}

static int topic_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

static int valid_topic(const char *t) {
  size_t n = 0;
  for (; t[n]; n++)
    if (!topic_char(t[n]) || n >= ARGUS_BUS_TOPIC_MAX)
      return 0;
  return n > 0 && t[0] != '.' && t[n - 1] != '.';
}

static int valid_id(const char *id) {
  size_t n = 0;
  for (; id[n]; n++) {
    unsigned char c = (unsigned char)id[n];
    if (c <= ' ' || c >= 127 || c == '"' || c == '\\' || n >= ARGUS_BUS_ID_MAX)
      return 0;
  }
  return n > 0;
}

static int is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

argus_err argus_bus_publish(argus_bus *bus, const char *topic, const char *id,
                            const char *json, size_t size) {
  if (!bus || !topic || !id || (!json && size)) {
    bus_note("publish: NULL argument");
    return ARGUS_E_INVALID_ARG;
  }
  if (!valid_topic(topic)) {
    bus_note("publish: bad topic '%.80s' (1..%d bytes of a-z 0-9 . _ -)", topic,
             ARGUS_BUS_TOPIC_MAX);
    return ARGUS_E_INVALID_ARG;
  }
  if (!valid_id(id)) {
    bus_note("publish %s: bad id '%.80s' (1..%d printable bytes, no spaces "
             "or quotes)",
             topic, id, ARGUS_BUS_ID_MAX);
    return ARGUS_E_INVALID_ARG;
  }
  if (size > ARGUS_BUS_MSG_MAX) {
    bus_note("publish %s %s: document of %zu bytes (at most %zu)", topic, id,
             size, ARGUS_BUS_MSG_MAX);
    return ARGUS_E_LIMIT;
  }
  size_t a = 0, z = size;
  while (a < z && is_space(json[a]))
    a++;
  while (z > a && is_space(json[z - 1]))
    z--;
  if (z - a < 2 || json[a] != '{' || json[z - 1] != '}' ||
      memchr(json, '\0', size)) {
    bus_note("publish %s %s: the document is not a JSON object", topic, id);
    return ARGUS_E_INVALID_ARG;
  }
  return bus->ops->publish(bus->ctx, topic, id, json, size);
}

argus_err argus_bus_publish_event(argus_bus *bus, const char *topic,
                                  const argus_event *ev) {
  if (!bus || !topic || !ev) {
    bus_note("publish event: NULL argument");
    return ARGUS_E_INVALID_ARG;
  }
  if (!valid_topic(topic) || !valid_id(ev->id)) {
    bus_note("publish event: bad topic '%.80s' or id '%.80s'", topic, ev->id);
    return ARGUS_E_INVALID_ARG;
  }
  if (ev->type < ARGUS_EVENT_FACE || ev->type > ARGUS_EVENT_WATCHLIST) {
    bus_note("publish %s %s: unknown event type %d", topic, ev->id,
             (int)ev->type);
    return ARGUS_E_INVALID_ARG;
  }
  return bus->ops->publish_event(bus->ctx, topic, ev);
}

argus_err argus_bus_make_id(argus_bus *bus, const char *prefix,
                            char out[ARGUS_BUS_ID_MAX + 1]) {
  if (!bus || !out)
    return ARGUS_E_INVALID_ARG;
  if (!prefix)
    prefix = "msg";
  if (strlen(prefix) > 24 || !valid_topic(prefix))
    return ARGUS_E_INVALID_ARG;
  uint64_t n = atomic_fetch_add(&bus->id_counter, 1) + 1;
  snprintf(out, ARGUS_BUS_ID_MAX + 1, "%s-%016llx-%llx", prefix,
           (unsigned long long)bus->id_salt, (unsigned long long)n);
  return ARGUS_OK;
}

int argus_bus_topic_match(const char *pattern, const char *topic) {
  if (!pattern || !topic)
    return 0;
  if (strcmp(pattern, "*") == 0)
    return 1;
  size_t n = strlen(pattern);
  if (n >= 2 && pattern[n - 1] == '*' && pattern[n - 2] == '.')
    return strncmp(pattern, topic, n - 1) == 0 && topic[n - 1] != '\0';
  return strcmp(pattern, topic) == 0;
}

static int valid_pattern(const char *p) {
  if (strcmp(p, "*") == 0)
    return 1;
  size_t n = strlen(p);
  if (n >= 2 && p[n - 1] == '*' && p[n - 2] == '.') {
    char tmp[ARGUS_BUS_TOPIC_MAX + 1];
    if (n - 2 > ARGUS_BUS_TOPIC_MAX)
      return 0;
    memcpy(tmp, p, n - 2);
    tmp[n - 2] = '\0';
    return valid_topic(tmp);
  }
  return valid_topic(p);
}

static argus_err bus_subscribe(argus_bus *bus, const argus_bus_sub_options *o,
                               argus_bus_sub **out);

static int valid_group(const char *g) {
  size_t n = strlen(g);
  if (n < 1 || n > 32)
    return 0;
  for (size_t i = 0; i < n; i++) {
    char c = g[i];
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
          c == '-'))
      return 0;
  }
  return 1;
}

argus_err argus_bus_subscribe(argus_bus *bus, const argus_bus_sub_options *o,
                              argus_bus_sub **out, argus_error_detail *err) {
  t_last.msg[0] = '\0';
  return with_detail(bus_subscribe(bus, o, out), err);
}

static argus_err bus_subscribe(argus_bus *bus, const argus_bus_sub_options *o,
                               argus_bus_sub **out) {
  if (!bus || !o || !out || !o->pattern) {
    bus_note("subscribe: NULL argument");
    return ARGUS_E_INVALID_ARG;
  }
  *out = NULL;
  if (!valid_pattern(o->pattern)) {
    bus_note("subscribe: bad pattern '%.80s' (a topic, 'prefix.*' or '*')",
             o->pattern);
    return ARGUS_E_INVALID_ARG;
  }
  if (o->queue_msgs < 0 || o->queue_msgs > (1 << 20) ||
      (o->queue_bytes && o->queue_bytes < 4096) ||
      o->queue_bytes > ((size_t)1 << 30)) {
    bus_note("subscribe %s: queue bounds out of range (messages 0..%d, bytes "
             "0 or 4 KiB..1 GiB)",
             o->pattern, 1 << 20);
    return ARGUS_E_INVALID_ARG;
  }
  if (o->batch_handler &&
      (!o->handler || o->batch_max < 0 || o->batch_max > 64)) {
    bus_note("subscribe %s: a batch handler needs a handler too and "
             "batch_max 0..64 (got %d)",
             o->pattern, o->batch_max);
    return ARGUS_E_INVALID_ARG;
  }
  if (o->group && !valid_group(o->group)) {
    bus_note("subscribe %s: bad group '%.40s' (1..32 bytes of a-z 0-9 _ -)",
             o->pattern, o->group);
    return ARGUS_E_INVALID_ARG;
  }
  argus_bus_sub *s = calloc(1, sizeof *s);
  if (!s)
    return ARGUS_E_NOMEM;
  s->bus = bus;
  argus_err rc = bus->ops->subscribe(bus->ctx, o, &s->impl);
  if (rc) {
    free(s);
    return rc;
  }
  pthread_mutex_lock(&bus->subs_mu);
  s->next = bus->subs;
  if (bus->subs)
    bus->subs->prev = s;
  bus->subs = s;
  pthread_mutex_unlock(&bus->subs_mu);
  *out = s;
  return ARGUS_OK;
}

void argus_bus_unsubscribe(argus_bus_sub *sub) {
  if (!sub)
    return;
  argus_bus *bus = sub->bus;
  pthread_mutex_lock(&bus->subs_mu);
  if (sub->prev)
    sub->prev->next = sub->next;
  else
    bus->subs = sub->next;
  if (sub->next)
    sub->next->prev = sub->prev;
  pthread_mutex_unlock(&bus->subs_mu);
  bus->ops->unsubscribe(bus->ctx, sub->impl);
  free(sub);
}

argus_err argus_bus_next(argus_bus_sub *sub, double timeout_s,
                         argus_bus_msg *msg, int *got) {
  if (got)
    *got = 0;
  if (!sub || !msg || !got)
    return ARGUS_E_INVALID_ARG;
  return sub->bus->ops->next(sub->bus->ctx, sub->impl, timeout_s, msg, got);
}

argus_err argus_bus_flush(argus_bus *bus, double timeout_s) {
  if (!bus)
    return ARGUS_E_INVALID_ARG;
  return bus->ops->flush(bus->ctx, timeout_s);
}

argus_err argus_bus_get_stats(argus_bus *bus, argus_bus_stats *out) {
  if (!bus || !out)
    return ARGUS_E_INVALID_ARG;
  memset(out, 0, sizeof *out);
  bus->ops->stats(bus->ctx, out);
  return ARGUS_OK;
}

argus_err argus_bus_sub_get_stats(argus_bus_sub *sub,
                                  argus_bus_sub_stats *out) {
  if (!sub || !out)
    return ARGUS_E_INVALID_ARG;
  memset(out, 0, sizeof *out);
  out->backlog = -1;
  sub->bus->ops->sub_stats(sub->bus->ctx, sub->impl, out);
  return ARGUS_OK;
}

/* ---- leases --------------------------------------------------------------
 */

struct argus_bus_leases {
  argus_bus *bus;
  void *impl; /* the backend's; NULL: one process, every take succeeds */
  char holder[ARGUS_BUS_ID_MAX + 1];
};

static int lease_name_ok(const char *s, size_t max, int dots) {
  size_t n = strlen(s);
  if (n < 1 || n > max)
    return 0;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
          (c >= '0' && c <= '9') || c == '_' || c == '-' || (dots && c == '.')))
      return 0;
  }
  return 1;
}

argus_err argus_bus_leases_open(argus_bus *bus, const char *table, double ttl_s,
                                const char *holder, argus_bus_leases **out,
                                argus_error_detail *err) {
  t_last.msg[0] = '\0';
  if (!bus || !table || !holder || !out) {
    bus_note("leases: NULL argument");
    return with_detail(ARGUS_E_INVALID_ARG, err);
  }
  *out = NULL;
  if (!lease_name_ok(table, 32, 0) || !valid_id(holder) ||
      !(ttl_s >= 1 && ttl_s <= 3600)) {
    bus_note("leases: bad table '%.40s' (1..32 of A-Z a-z 0-9 _ -), holder "
             "'%.40s' or ttl %g s (1..3600)",
             table, holder, ttl_s);
    return with_detail(ARGUS_E_INVALID_ARG, err);
  }
  argus_bus_leases *l = calloc(1, sizeof *l);
  if (!l)
    return with_detail(ARGUS_E_NOMEM, err);
  l->bus = bus;
  snprintf(l->holder, sizeof l->holder, "%s", holder);
  if (bus->ops->lease_open) {
    argus_err rc = bus->ops->lease_open(bus->ctx, table, ttl_s, &l->impl);
    if (rc) {
      free(l);
      return with_detail(rc, err);
    }
  }
  *out = l;
  return ARGUS_OK;
}

argus_err argus_bus_lease_take(argus_bus_leases *l, const char *key, int *held,
                               char *other, size_t cap) {
  if (held)
    *held = 0;
  if (other && cap)
    other[0] = '\0';
  if (!l || !key || !held || !lease_name_ok(key, 64, 1)) {
    bus_note("lease take: bad key '%.70s' (1..64 of A-Z a-z 0-9 _ - .)",
             key ? key : "(null)");
    return ARGUS_E_INVALID_ARG;
  }
  if (!l->impl) {
    *held = 1;
    return ARGUS_OK;
  }
  return l->bus->ops->lease_take(l->impl, l->holder, key, held, other, cap);
}

argus_err argus_bus_lease_release(argus_bus_leases *l, const char *key) {
  if (!l || !key || !lease_name_ok(key, 64, 1))
    return ARGUS_E_INVALID_ARG;
  if (!l->impl)
    return ARGUS_OK;
  return l->bus->ops->lease_release(l->impl, l->holder, key);
}

argus_err argus_bus_leases_list(argus_bus_leases *l, argus_bus_lease_fn fn,
                                void *user) {
  if (!l || !fn)
    return ARGUS_E_INVALID_ARG;
  if (!l->impl)
    return ARGUS_OK;
  return l->bus->ops->lease_list(l->impl, fn, user);
}

void argus_bus_leases_close(argus_bus_leases *l) {
  if (!l)
    return;
  if (l->impl)
    l->bus->ops->lease_close(l->impl);
  free(l);
}
