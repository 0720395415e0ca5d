/* The event bus (src/bus): topics and patterns, callbacks in publish order on
 * a dispatcher thread, polled subscriptions, duplicate ids dropped, a slow
 * subscriber that loses its own oldest messages and never slows the
 * publisher, handlers that publish and unsubscribe themselves, flush, bad
 * input, and no allocation growth while publishing. */
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "argus/bus.h"
#include "check.h"

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

typedef struct collector {
  pthread_mutex_t mu;
  int n;
  uint64_t last_seq;
  int out_of_order;
  char last_id[64];
  char last_data[256];
  int sleep_ms; /* per message */
} collector;

static void collector_init(collector *c) {
  memset(c, 0, sizeof *c);
  pthread_mutex_init(&c->mu, NULL);
}

static void collect(void *user, const argus_bus_msg *m) {
  collector *c = user;
  if (c->sleep_ms)
    sleep_ms(c->sleep_ms);
  pthread_mutex_lock(&c->mu);
  if (m->seq <= c->last_seq)
    c->out_of_order++;
  c->last_seq = m->seq;
  snprintf(c->last_id, sizeof c->last_id, "%s", m->id);
  snprintf(c->last_data, sizeof c->last_data, "%s", m->data);
  if (strlen(m->data) != m->size)
    c->out_of_order += 1000;
  c->n++;
  pthread_mutex_unlock(&c->mu);
}

static void test_basic(void) {
  argus_bus *bus = NULL;
  CHECK_OK(argus_bus_open(NULL, NULL, &bus, NULL));
  if (!bus)
    return;
  CHECK(strcmp(argus_bus_backend(bus), "inproc") == 0);
  collector all, alerts, cams;
  collector_init(&all);
  collector_init(&alerts);
  collector_init(&cams);
  argus_bus_sub *s_all = NULL, *s_alert = NULL, *s_cam = NULL, *s_poll = NULL;
  argus_bus_sub_options o = {0};
  o.pattern = "*";
  o.handler = collect;
  o.user = &all;
  CHECK_OK(argus_bus_subscribe(bus, &o, &s_all, NULL));
  o.pattern = "alert";
  o.user = &alerts;
  CHECK_OK(argus_bus_subscribe(bus, &o, &s_alert, NULL));
  o.pattern = "camera.*";
  o.user = &cams;
  CHECK_OK(argus_bus_subscribe(bus, &o, &s_cam, NULL));
  argus_bus_sub_options po = {0};
  po.pattern = "alert";
  CHECK_OK(argus_bus_subscribe(bus, &po, &s_poll, NULL));

  char id[ARGUS_BUS_ID_MAX + 1], id2[ARGUS_BUS_ID_MAX + 1];
  CHECK_OK(argus_bus_make_id(bus, "alert", id));
  CHECK_OK(argus_bus_make_id(bus, "alert", id2));
  CHECK(strcmp(id, id2) != 0);
  CHECK(strncmp(id, "alert-", 6) == 0);
  for (int i = 0; i < 100; i++) {
    char doc[128], mid[32];
    snprintf(doc, sizeof doc, "{\"v\":1,\"type\":\"alert\",\"n\":%d}", i);
    snprintf(mid, sizeof mid, "a%d", i);
    CHECK_OK(
        argus_bus_publish(bus, ARGUS_BUS_TOPIC_ALERT, mid, doc, strlen(doc)));
    snprintf(mid, sizeof mid, "c%d", i);
    CHECK_OK(argus_bus_publish(bus, ARGUS_BUS_TOPIC_CAMERA, mid, "{}", 2));
  }
  /* The same ids again: dropped as duplicates. */
  CHECK_OK(argus_bus_publish(bus, "alert", "a5", "{\"x\":1}", 7));
  CHECK_OK(argus_bus_publish(bus, "alert", "a99", "{\"x\":1}", 7));
  /* Same id on another topic is another message. */
  CHECK_OK(argus_bus_publish(bus, "face", "a5", "{}", 2));
  CHECK_OK(argus_bus_flush(bus, 10));
  CHECK_INT_EQ(all.n, 201);
  CHECK_INT_EQ(alerts.n, 100);
  CHECK_INT_EQ(cams.n, 100);
  CHECK_INT_EQ(all.out_of_order + alerts.out_of_order + cams.out_of_order, 0);
  CHECK(strcmp(alerts.last_data, "{\"v\":1,\"type\":\"alert\",\"n\":99}") == 0);
  argus_bus_stats st;
  CHECK_OK(argus_bus_get_stats(bus, &st));
  CHECK_INT_EQ(st.published, 201);
  CHECK_INT_EQ(st.duplicates, 2);
  CHECK_INT_EQ(st.subscriptions, 4);

  /* Polling: 100 alerts queued (default bound 256). */
  int got = 0, npolled = 0;
  argus_bus_msg m;
  uint64_t prev = 0;
  int order_ok = 1;
  for (;;) {
    CHECK_OK(argus_bus_next(s_poll, 0, &m, &got));
    if (!got)
      break;
    order_ok &= m.seq > prev && strcmp(m.topic, "alert") == 0;
    prev = m.seq;
    npolled++;
  }
  CHECK_INT_EQ(npolled, 100);
  CHECK(order_ok);
  /* Timed wait with nothing: returns after about the timeout. */
  uint64_t t0 = argus_time_ns();
  CHECK_OK(argus_bus_next(s_poll, 0.05, &m, &got));
  CHECK_INT_EQ(got, 0);
  CHECK((argus_time_ns() - t0) >= 40000000ull);
  /* next on a callback subscription is refused. */
  CHECK_INT_EQ(argus_bus_next(s_all, 0, &m, &got), ARGUS_E_INVALID_ARG);

  argus_bus_unsubscribe(s_cam);
  CHECK_OK(argus_bus_publish(bus, "camera.status", "late", "{}", 2));
  CHECK_OK(argus_bus_flush(bus, 10));
  CHECK_INT_EQ(cams.n, 100);
  CHECK_INT_EQ(all.n, 202);
  argus_bus_unsubscribe(s_poll);
  argus_bus_close(bus); /* closes s_all and s_alert */
}

static void count_log(void *user, argus_log_level level, const char *module,
                      const char *line) {
  (void)level;
  (void)module;
  (void)line;
  (*(int *)user)++;
}

static void test_bad_input(void) {
  argus_bus *bus = NULL;
  int nlog = 0;
  argus_log_set_sink(count_log, &nlog);
  argus_error_detail why = {{0}};
  CHECK_INT_EQ(argus_bus_open("mqtt://127.0.0.1:1883", NULL, &bus, &why),
               ARGUS_E_UNSUPPORTED);
  CHECK(bus == NULL);
  /* The reason names the URL, in err and for this thread. */
  CHECK(strstr(why.msg, "mqtt://127.0.0.1:1883") != NULL);
  CHECK(strstr(argus_bus_last_error(), "mqtt://") != NULL);
  argus_bus_options bo = {.dedupe_window = -3};
  CHECK_INT_EQ(argus_bus_open(NULL, &bo, &bus, NULL), ARGUS_E_INVALID_ARG);
  CHECK_OK(argus_bus_open("inproc", NULL, &bus, NULL));
  if (!bus)
    return;
  CHECK_INT_EQ(argus_bus_publish(bus, "Alert", "x", "{}", 2),
               ARGUS_E_INVALID_ARG);
  CHECK_INT_EQ(argus_bus_publish(bus, "", "x", "{}", 2), ARGUS_E_INVALID_ARG);
  CHECK_INT_EQ(argus_bus_publish(bus, "alert", "has space", "{}", 2),
               ARGUS_E_INVALID_ARG);
  CHECK_INT_EQ(argus_bus_publish(bus, "alert", "", "{}", 2),
               ARGUS_E_INVALID_ARG);
  CHECK_INT_EQ(argus_bus_publish(bus, "alert", "x", "[1]", 3),
               ARGUS_E_INVALID_ARG);
  CHECK(strstr(argus_bus_last_error(), "not a JSON object") != NULL);
  CHECK_INT_EQ(argus_bus_publish(bus, "alert", "x", "{\0}", 3),
               ARGUS_E_INVALID_ARG);
  CHECK_INT_EQ(argus_bus_publish(bus, "alert", "x", NULL, 2),
               ARGUS_E_INVALID_ARG);
  CHECK_INT_EQ(argus_bus_publish(NULL, "alert", "x", "{}", 2),
               ARGUS_E_INVALID_ARG);
  char *big = malloc(ARGUS_BUS_MSG_MAX + 2);
  if (big) {
    memset(big, ' ', ARGUS_BUS_MSG_MAX + 2);
    big[0] = '{';
    big[ARGUS_BUS_MSG_MAX + 1] = '}';
    CHECK_INT_EQ(
        argus_bus_publish(bus, "alert", "x", big, ARGUS_BUS_MSG_MAX + 2),
        ARGUS_E_LIMIT);
    free(big);
  }
  argus_bus_sub *s = NULL;
  argus_bus_sub_options o = {0};
  o.pattern = "al*";
  CHECK_INT_EQ(argus_bus_subscribe(bus, &o, &s, &why), ARGUS_E_INVALID_ARG);
  CHECK(strstr(why.msg, "al*") != NULL);
  o.pattern = "alert";
  o.queue_bytes = 100;
  CHECK_INT_EQ(argus_bus_subscribe(bus, &o, &s, NULL), ARGUS_E_INVALID_ARG);
  o.queue_bytes = 0;
  o.queue_msgs = -1;
  CHECK_INT_EQ(argus_bus_subscribe(bus, &o, &s, NULL), ARGUS_E_INVALID_ARG);
  CHECK(s == NULL);
  char id[ARGUS_BUS_ID_MAX + 1];
  CHECK_INT_EQ(argus_bus_make_id(bus, "Bad Prefix", id), ARGUS_E_INVALID_ARG);
  CHECK(argus_bus_topic_match("camera.*", "camera.status"));
  CHECK(!argus_bus_topic_match("camera.*", "camera."));
  CHECK(!argus_bus_topic_match("camera.*", "cameras"));
  CHECK(argus_bus_topic_match("*", "x"));
  CHECK(!argus_bus_topic_match("alert", "alerts"));
  argus_bus_close(bus);
  argus_bus_close(NULL);
  argus_bus_unsubscribe(NULL);
  argus_log_set_sink(NULL, NULL);
  /* Every refusal said why. */
  CHECK(nlog >= 14);
}

/* A subscriber that takes 20 ms per message, with a queue of 8: publishing
 * 200 messages takes no time at all, the slow one gets the first and the
 * newest, the others are counted as dropped; a fast subscriber gets all. */
static void test_slow_subscriber(void) {
  argus_bus *bus = NULL;
  CHECK_OK(argus_bus_open(NULL, NULL, &bus, NULL));
  if (!bus)
    return;
  collector slow, fast;
  collector_init(&slow);
  collector_init(&fast);
  slow.sleep_ms = 20;
  argus_bus_sub *ss = NULL, *sf = NULL;
  argus_bus_sub_options o = {0};
  o.pattern = "face";
  o.handler = collect;
  o.user = &slow;
  o.queue_msgs = 8;
  CHECK_OK(argus_bus_subscribe(bus, &o, &ss, NULL));
  o.user = &fast;
  o.queue_msgs = 512;
  CHECK_OK(argus_bus_subscribe(bus, &o, &sf, NULL));
  uint64_t worst = 0;
  for (int i = 0; i < 200; i++) {
    char doc[64], mid[16];
    snprintf(doc, sizeof doc, "{\"i\":%d}", i);
    snprintf(mid, sizeof mid, "f%d", i);
    uint64_t t0 = argus_time_ns();
    CHECK_OK(argus_bus_publish(bus, "face", mid, doc, strlen(doc)));
    uint64_t dt = argus_time_ns() - t0;
    if (dt > worst)
      worst = dt;
  }
  /* A publish is a copy; it never waits for the 20 ms handler. */
  printf("slowest publish with a stuck subscriber: %.3f ms\n", worst * 1e-6);
  CHECK(worst < 15000000ull);
  CHECK_OK(argus_bus_flush(bus, 10));
  argus_bus_sub_stats a, b;
  CHECK_OK(argus_bus_sub_get_stats(ss, &a));
  CHECK_OK(argus_bus_sub_get_stats(sf, &b));
  CHECK_INT_EQ(b.delivered, 200);
  CHECK_INT_EQ(b.dropped, 0);
  CHECK_INT_EQ(a.received, 200);
  CHECK(a.dropped > 150);
  CHECK_INT_EQ(a.delivered + a.dropped, 200);
  CHECK_INT_EQ(slow.n, (int)a.delivered);
  CHECK(strcmp(slow.last_data, "{\"i\":199}") == 0); /* the newest survives */
  CHECK_INT_EQ(slow.out_of_order, 0);
  argus_bus_stats st;
  CHECK_OK(argus_bus_get_stats(bus, &st));
  CHECK_INT_EQ(st.dropped, a.dropped);
  printf("slow subscriber: %llu handled, %llu dropped\n",
         (unsigned long long)a.delivered, (unsigned long long)a.dropped);
  argus_bus_close(bus);
}

/* A byte bound smaller than the messages: oldest dropped to make room; a
 * message larger than the whole queue is dropped itself. */
static void test_byte_bound(void) {
  argus_bus *bus = NULL;
  CHECK_OK(argus_bus_open(NULL, NULL, &bus, NULL));
  if (!bus)
    return;
  argus_bus_sub *s = NULL;
  argus_bus_sub_options o = {0};
  o.pattern = "*";
  o.queue_bytes = 4096;
  CHECK_OK(argus_bus_subscribe(bus, &o, &s, NULL));
  char doc[1500];
  memset(doc, 'x', sizeof doc);
  doc[0] = '{';
  doc[sizeof doc - 1] = '}';
  for (int i = 0; i < 10; i++) {
    char mid[16];
    snprintf(mid, sizeof mid, "m%d", i);
    doc[1] = (char)('0' + i);
    CHECK_OK(argus_bus_publish(bus, "x", mid, doc, sizeof doc));
  }
  argus_bus_sub_stats st;
  CHECK_OK(argus_bus_sub_get_stats(s, &st));
  CHECK_INT_EQ(st.queued, 2); /* 2 x ~1.56 KiB fit in 4 KiB */
  CHECK(st.queued_bytes <= 4096);
  argus_bus_msg m;
  int got = 0;
  CHECK_OK(argus_bus_next(s, 0, &m, &got));
  CHECK(got && m.data[1] == '8' && m.size == sizeof doc);
  CHECK(got && strcmp(m.id, "m8") == 0);
  CHECK_OK(argus_bus_next(s, 0, &m, &got));
  CHECK(got && m.data[1] == '9');
  /* Larger than the queue. */
  char *big = malloc(8000);
  if (big) {
    memset(big, ' ', 8000);
    big[0] = '{';
    big[7999] = '}';
    CHECK_OK(argus_bus_publish(bus, "x", "big", big, 8000));
    free(big);
  }
  CHECK_OK(argus_bus_sub_get_stats(s, &st));
  CHECK_INT_EQ(st.queued, 0);
  CHECK_INT_EQ(st.dropped, 9);
  argus_bus_close(bus);
}

/* Handlers that publish, and one that unsubscribes itself. */
typedef struct relay {
  argus_bus *bus;
  argus_bus_sub *self;
  atomic_int n;
  int stop_after;
} relay;

static void relay_handler(void *user, const argus_bus_msg *m) {
  relay *r = user;
  int n = atomic_fetch_add(&r->n, 1) + 1;
  char id[80];
  snprintf(id, sizeof id, "echo-%s", m->id);
  argus_bus_publish(r->bus, "echo", id, m->data, m->size);
  if (n == r->stop_after)
    argus_bus_unsubscribe(r->self);
}

static void test_reentrant(void) {
  argus_bus *bus = NULL;
  CHECK_OK(argus_bus_open(NULL, NULL, &bus, NULL));
  if (!bus)
    return;
  relay r = {bus, NULL, 0, 5};
  collector echo;
  collector_init(&echo);
  argus_bus_sub_options o = {0};
  o.pattern = "ping";
  o.handler = relay_handler;
  o.user = &r;
  CHECK_OK(argus_bus_subscribe(bus, &o, &r.self, NULL));
  argus_bus_sub *se = NULL;
  o.pattern = "echo";
  o.handler = collect;
  o.user = &echo;
  CHECK_OK(argus_bus_subscribe(bus, &o, &se, NULL));
  for (int i = 0; i < 5; i++) {
    char mid[16];
    snprintf(mid, sizeof mid, "p%d", i);
    CHECK_OK(argus_bus_publish(bus, "ping", mid, "{}", 2));
  }
  /* The relay has unsubscribed itself after 5; wait for the echoes. */
  for (int i = 0; i < 500 && atomic_load(&r.n) < 5; i++)
    sleep_ms(2);
  CHECK_OK(argus_bus_flush(bus, 10));
  CHECK_INT_EQ(atomic_load(&r.n), 5);
  CHECK_INT_EQ(echo.n, 5);
  CHECK_OK(argus_bus_publish(bus, "ping", "p-late", "{}", 2));
  CHECK_OK(argus_bus_flush(bus, 10));
  CHECK_INT_EQ(atomic_load(&r.n), 5);
  argus_bus_stats st;
  CHECK_OK(argus_bus_get_stats(bus, &st));
  CHECK_INT_EQ(st.subscriptions, 1);
  argus_bus_close(bus);
}

/* The dedupe window forgets old ids; concurrent publishers. */
typedef struct pub_arg {
  argus_bus *bus;
  int base;
} pub_arg;

static void *publisher(void *p) {
  pub_arg *a = p;
  for (int i = 0; i < 2000; i++) {
    char mid[32];
    snprintf(mid, sizeof mid, "t%d-%d", a->base, i);
    argus_bus_publish(a->bus, "face", mid, "{\"a\":1}", 7);
  }
  return NULL;
}

static void test_window_and_threads(void) {
  argus_bus *bus = NULL;
  argus_bus_options bo = {.dedupe_window = 16};
  CHECK_OK(argus_bus_open(NULL, &bo, &bus, NULL));
  if (!bus)
    return;
  for (int i = 0; i < 40; i++) {
    char mid[16];
    snprintf(mid, sizeof mid, "w%d", i);
    CHECK_OK(argus_bus_publish(bus, "x", mid, "{}", 2));
  }
  CHECK_OK(argus_bus_publish(bus, "x", "w39", "{}", 2)); /* recent: dup */
  CHECK_OK(argus_bus_publish(bus, "x", "w0", "{}", 2));  /* forgotten */
  argus_bus_stats st;
  CHECK_OK(argus_bus_get_stats(bus, &st));
  CHECK_INT_EQ(st.published, 41);
  CHECK_INT_EQ(st.duplicates, 1);
  argus_bus_close(bus);

  CHECK_OK(argus_bus_open(NULL, NULL, &bus, NULL));
  if (!bus)
    return;
  collector c;
  collector_init(&c);
  argus_bus_sub *s = NULL;
  argus_bus_sub_options o = {0};
  o.pattern = "face";
  o.handler = collect;
  o.user = &c;
  o.queue_msgs = 16384;
  CHECK_OK(argus_bus_subscribe(bus, &o, &s, NULL));
  pthread_t th[4];
  pub_arg args[4];
  struct mallinfo2 m0 = mallinfo2();
  for (int i = 0; i < 4; i++) {
    args[i].bus = bus;
    args[i].base = i;
    pthread_create(&th[i], NULL, publisher, &args[i]);
  }
  for (int i = 0; i < 4; i++)
    pthread_join(th[i], NULL);
  CHECK_OK(argus_bus_flush(bus, 20));
  struct mallinfo2 m1 = mallinfo2();
  CHECK_INT_EQ(c.n, 8000);
  CHECK_INT_EQ(c.out_of_order, 0);
  /* 8000 messages through the bus: the heap did not grow with them. */
  printf("heap in use before/after 8000 messages: %zu / %zu bytes\n",
         m0.uordblks, m1.uordblks);
  CHECK(m1.uordblks <= m0.uordblks + 64 * 1024);
  argus_bus_close(bus);
}

int main(void) {
  test_basic();
  test_bad_input();
  test_slow_subscriber();
  test_byte_bound();
  test_reentrant();
  test_window_and_threads();
  return check_report("test_bus");
}
