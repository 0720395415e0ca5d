/* The NATS JetStream bus backend against a real nats-server (Debian's, on a
 * free loopback port, store in a temporary folder): plain topics to every
 * subscriber, stored topics deduplicated by id, a group sharing a work
 * queue across connections, a message redelivered after its consumer
 * process died unacknowledged, catch-up from a stream sequence with typed
 * events, publishing through a server restart with nothing lost or
 * doubled, and the refusals. Skipped when nats-server is not installed. */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "argus/bus.h"
#include "argus/event.h"
#include "check.h"
#include "nats_util.h"

static nu_server g_srv;

/* ---- a collecting handler ------------------------------------------------
 */

#define MAXC 4096
typedef struct coll {
  pthread_mutex_t mu;
  int n;
  char ids[MAXC][ARGUS_BUS_ID_MAX + 1];
  uint64_t seq[MAXC];
  int events; /* messages that came with a parsed event */
} coll;

static void on_msg(void *user, const argus_bus_msg *m) {
  coll *c = user;
  pthread_mutex_lock(&c->mu);
  if (c->n < MAXC) {
    snprintf(c->ids[c->n], sizeof c->ids[0], "%s", m->id);
    c->seq[c->n] = m->seq;
    c->n++;
  }
  if (m->event)
    c->events++;
  pthread_mutex_unlock(&c->mu);
}

static int coll_n(coll *c) {
  pthread_mutex_lock(&c->mu);
  int n = c->n;
  pthread_mutex_unlock(&c->mu);
  return n;
}

static int wait_n(coll *c, int n, double secs) {
  double end = nu_now() + secs;
  while (coll_n(c) < n && nu_now() < end)
    nu_sleep(0.01);
  return coll_n(c);
}

/* How many times id occurs among the collected messages of a and b. */
static int count_id(coll *a, coll *b, const char *id) {
  int k = 0;
  coll *cs[2] = {a, b};
  for (int j = 0; j < 2; j++)
    if (cs[j])
      for (int i = 0; i < cs[j]->n; i++)
        k += strcmp(cs[j]->ids[i], id) == 0;
  return k;
}

static argus_bus *open_bus(const char *opts) {
  char url[160];
  snprintf(url, sizeof url, "%s%s", g_srv.url, opts ? opts : "");
  argus_bus *b = NULL;
  argus_error_detail e = {{0}};
  argus_err rc = argus_bus_open(url, NULL, &b, &e);
  if (rc != ARGUS_OK)
    fprintf(stderr, "open %s: %s\n", url, e.msg);
  CHECK_OK(rc);
  return b;
}

static void doc(char *buf, size_t cap, const char *type, int i) {
  snprintf(buf, cap, "{\"v\":1,\"type\":\"%s\",\"n\":%d}", type, i);
}

/* ---- the parts -----------------------------------------------------------
 */

static void test_plain_topics(void) {
  argus_bus *b = open_bus(NULL);
  if (!b)
    return;
  CHECK(strcmp(argus_bus_backend(b), "nats") == 0);
  coll c;
  memset(&c, 0, sizeof c);
  pthread_mutex_init(&c.mu, NULL);
  argus_bus_sub *cb = NULL, *poll = NULL;
  argus_bus_sub_options o = {0};
  o.pattern = "camera.*";
  o.handler = on_msg;
  o.user = &c;
  CHECK_OK(argus_bus_subscribe(b, &o, &cb, NULL));
  memset(&o, 0, sizeof o);
  o.pattern = "*";
  CHECK_OK(argus_bus_subscribe(b, &o, &poll, NULL));
  char d[128], id[32];
  for (int i = 0; i < 20; i++) {
    doc(d, sizeof d, "camera", i);
    snprintf(id, sizeof id, "cam-%d", i);
    CHECK_OK(argus_bus_publish(b, "camera.status", id, d, strlen(d)));
  }
  doc(d, sizeof d, "pipeline", 0);
  CHECK_OK(argus_bus_publish(b, "pipeline.status", "pl-0", d, strlen(d)));
  CHECK_OK(argus_bus_flush(b, 5));
  CHECK_INT_EQ(wait_n(&c, 20, 5), 20);
  int in_order = 1;
  for (int i = 0; i < c.n; i++) {
    snprintf(id, sizeof id, "cam-%d", i);
    in_order &= strcmp(c.ids[i], id) == 0;
  }
  CHECK(in_order);
  /* The polled "*" subscription sees both topics, with the document. */
  int got = 0, n = 0, pipeline = 0;
  argus_bus_msg m;
  while (argus_bus_next(poll, 1.0, &m, &got) == ARGUS_OK && got) {
    if (n == 0) {
      CHECK(strcmp(m.topic, "camera.status") == 0);
      CHECK(strcmp(m.id, "cam-0") == 0);
      doc(d, sizeof d, "camera", 0);
      CHECK(strcmp(m.data, d) == 0 && m.size == strlen(d));
      CHECK(m.wall_ns > 0);
    }
    pipeline += strcmp(m.topic, "pipeline.status") == 0;
    n++;
  }
  CHECK_INT_EQ(n, 21);
  CHECK_INT_EQ(pipeline, 1);
  argus_bus_stats st;
  CHECK_OK(argus_bus_get_stats(b, &st));
  CHECK_INT_EQ(st.published, 21);
  CHECK_INT_EQ(st.subscriptions, 2);
  argus_bus_close(b);
  printf("plain topics: 21 published, 20 to the callback in order, 21 "
         "polled\n");
}

/* Stored topic: the same id twice is stored once; a group gets each. */
static void test_dedupe(void) {
  argus_bus *b = open_bus(NULL);
  if (!b)
    return;
  char d[128];
  doc(d, sizeof d, "alert", 1);
  CHECK_OK(argus_bus_publish(b, "alert.raised", "alert-a", d, strlen(d)));
  CHECK_OK(argus_bus_publish(b, "alert.raised", "alert-a", d, strlen(d)));
  doc(d, sizeof d, "alert", 2);
  CHECK_OK(argus_bus_publish(b, "alert.raised", "alert-b", d, strlen(d)));
  CHECK_OK(argus_bus_flush(b, 5));
  argus_bus_sub *s = NULL;
  argus_bus_sub_options o = {0};
  o.pattern = "alert.raised";
  o.group = "dedupe";
  CHECK_OK(argus_bus_subscribe(b, &o, &s, NULL));
  argus_bus_msg m;
  int got = 0, n = 0, a = 0, bb = 0;
  while (argus_bus_next(s, 1.0, &m, &got) == ARGUS_OK && got) {
    a += strcmp(m.id, "alert-a") == 0;
    bb += strcmp(m.id, "alert-b") == 0;
    CHECK(m.seq >= 1);
    n++;
  }
  CHECK_INT_EQ(n, 2);
  CHECK_INT_EQ(a, 1);
  CHECK_INT_EQ(bb, 1);
  argus_bus_close(b);
  /* The group's position stays: a new member gets nothing old again. */
  b = open_bus(NULL);
  if (!b)
    return;
  CHECK_OK(argus_bus_subscribe(b, &o, &s, NULL));
  CHECK_OK(argus_bus_next(s, 0.5, &m, &got));
  CHECK_INT_EQ(got, 0);
  argus_bus_close(b);
  printf("stored topic: a repeated id stored once; the group's position "
         "survives its members\n");
}

/* Two connections (as two matcher processes) share one work queue. */
static void test_work_queue(void) {
  argus_bus *pub = open_bus(NULL), *m1 = open_bus(NULL), *m2 = open_bus(NULL);
  if (!pub || !m1 || !m2)
    return;
  static coll c1, c2;
  memset(&c1, 0, sizeof c1);
  memset(&c2, 0, sizeof c2);
  pthread_mutex_init(&c1.mu, NULL);
  pthread_mutex_init(&c2.mu, NULL);
  argus_bus_sub *s1 = NULL, *s2 = NULL;
  argus_bus_sub_options o = {0};
  o.pattern = "face";
  o.group = "match";
  o.queue_msgs = 16;
  o.handler = on_msg;
  o.user = &c1;
  CHECK_OK(argus_bus_subscribe(m1, &o, &s1, NULL));
  o.user = &c2;
  CHECK_OK(argus_bus_subscribe(m2, &o, &s2, NULL));
  enum { N = 600 };
  char d[128], id[32];
  for (int i = 0; i < N; i++) {
    doc(d, sizeof d, "face", i);
    snprintf(id, sizeof id, "face-%d", i);
    CHECK_OK(argus_bus_publish(pub, "face", id, d, strlen(d)));
  }
  CHECK_OK(argus_bus_flush(pub, 10));
  double end = nu_now() + 15;
  while (coll_n(&c1) + coll_n(&c2) < N && nu_now() < end)
    nu_sleep(0.01);
  CHECK_INT_EQ(coll_n(&c1) + coll_n(&c2), N);
  int once = 1;
  for (int i = 0; i < N; i++) {
    snprintf(id, sizeof id, "face-%d", i);
    once &= count_id(&c1, &c2, id) == 1;
  }
  CHECK(once);
  printf("work queue: %d face events, member 1 handled %d, member 2 %d, each "
         "exactly once\n",
         N, c1.n, c2.n);
  argus_bus_close(m1);
  argus_bus_close(m2);
  argus_bus_close(pub);
}

/* Batch handlers and the group's backlog: while the first call is held,
 * the server counts every message of the group as not yet handled; the
 * messages that queued up meanwhile come in one call (not one by one),
 * each once; then the backlog is 0. The in-process bus calls a batch
 * handler with one message and knows no backlog. */
typedef struct batcher {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int held, entered, calls, total, max_n;
  coll *c;
} batcher;

static void on_batch(void *user, const argus_bus_msg *msgs, int n) {
  batcher *b = user;
  pthread_mutex_lock(&b->mu);
  b->entered = 1;
  pthread_cond_broadcast(&b->cv);
  while (b->held)
    pthread_cond_wait(&b->cv, &b->mu);
  b->calls++;
  b->total += n;
  if (n > b->max_n)
    b->max_n = n;
  pthread_mutex_unlock(&b->mu);
  for (int i = 0; i < n; i++)
    on_msg(b->c, &msgs[i]);
}

static void on_single(void *user, const argus_bus_msg *m) {
  (void)user;
  (void)m;
  CHECK(0); /* a batch subscription never calls its one-message handler */
}

static void test_batches(void) {
  argus_bus *pub = open_bus(NULL), *m = open_bus(NULL);
  if (!pub || !m)
    return;
  static coll c;
  memset(&c, 0, sizeof c);
  pthread_mutex_init(&c.mu, NULL);
  batcher b = {
      PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 1, 0, 0, 0, 0, &c};
  argus_bus_sub *s = NULL;
  argus_bus_sub_options o = {0};
  o.pattern = "face";
  o.group = "match"; /* a work queue takes one group per subject */
  o.handler = on_single;
  o.batch_handler = on_batch;
  o.batch_max = 64;
  o.user = &b;
  CHECK_OK(argus_bus_subscribe(m, &o, &s, NULL));
  enum { N = 30 };
  char d[128], id[32];
  for (int i = 0; i < N; i++) {
    doc(d, sizeof d, "face", i);
    snprintf(id, sizeof id, "batch-%d", i);
    CHECK_OK(argus_bus_publish(pub, "face", id, d, strlen(d)));
  }
  CHECK_OK(argus_bus_flush(pub, 10));
  double end = nu_now() + 10;
  pthread_mutex_lock(&b.mu);
  while (!b.entered && nu_now() < end) {
    pthread_mutex_unlock(&b.mu);
    nu_sleep(0.01);
    pthread_mutex_lock(&b.mu);
  }
  pthread_mutex_unlock(&b.mu);
  nu_sleep(1.2); /* the backlog is asked at most once a second */
  argus_bus_sub_stats ss;
  CHECK_OK(argus_bus_sub_get_stats(s, &ss));
  long long held_backlog = (long long)ss.backlog;
  pthread_mutex_lock(&b.mu);
  b.held = 0;
  pthread_cond_broadcast(&b.cv);
  pthread_mutex_unlock(&b.mu);
  CHECK_INT_EQ(wait_n(&c, N, 10), N);
  int once = 1;
  for (int i = 0; i < N; i++) {
    snprintf(id, sizeof id, "batch-%d", i);
    once &= count_id(&c, NULL, id) == 1;
  }
  CHECK(once);
  nu_sleep(1.2);
  CHECK_OK(argus_bus_sub_get_stats(s, &ss));
  printf("batches: %d messages in %d calls (largest %d); backlog %lld while "
         "held, %lld after\n",
         b.total, b.calls, b.max_n, held_backlog, (long long)ss.backlog);
  CHECK_INT_EQ(held_backlog, N);
  CHECK_INT_EQ(ss.backlog, 0);
  CHECK_INT_EQ(b.total, N);
  CHECK(b.max_n >= 2 && b.calls < N);
  argus_bus_close(m);
  argus_bus_close(pub);
  /* In process: one message per call, no backlog known. */
  argus_bus *ip = NULL;
  CHECK_OK(argus_bus_open(NULL, NULL, &ip, NULL));
  static coll ci;
  memset(&ci, 0, sizeof ci);
  pthread_mutex_init(&ci.mu, NULL);
  batcher bi = {
      PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0, 0, 0, &ci};
  o.user = &bi;
  argus_bus_sub *si = NULL;
  CHECK_OK(argus_bus_subscribe(ip, &o, &si, NULL));
  for (int i = 0; i < 5; i++) {
    doc(d, sizeof d, "face", i);
    snprintf(id, sizeof id, "ip-%d", i);
    CHECK_OK(argus_bus_publish(ip, "face", id, d, strlen(d)));
  }
  CHECK_OK(argus_bus_flush(ip, 5));
  CHECK_INT_EQ(wait_n(&ci, 5, 5), 5);
  CHECK_INT_EQ(bi.max_n, 1);
  CHECK_OK(argus_bus_sub_get_stats(si, &ss));
  CHECK_INT_EQ(ss.backlog, -1);
  /* A batch handler needs a handler and batch_max 0..64. */
  o.handler = NULL;
  argus_bus_sub *bad = NULL;
  CHECK_INT_EQ(argus_bus_subscribe(ip, &o, &bad, NULL), ARGUS_E_INVALID_ARG);
  o.handler = on_single;
  o.batch_max = 65;
  CHECK_INT_EQ(argus_bus_subscribe(ip, &o, &bad, NULL), ARGUS_E_INVALID_ARG);
  argus_bus_close(ip);
}

/* A member process that dies holding a message unacknowledged: after
 * ack_wait (1 s, set by the member that makes the group) the message goes
 * to another member. */
static void test_redelivery(void) {
  argus_bus *pub = open_bus(NULL);
  if (!pub)
    return;
  char d[128];
  doc(d, sizeof d, "alert", 7);
  CHECK_OK(argus_bus_publish(pub, "alert.raised", "alert-crash", d, strlen(d)));
  CHECK_OK(argus_bus_flush(pub, 5));
  int pipefd[2];
  CHECK(pipe(pipefd) == 0);
  pid_t pid = fork();
  if (pid == 0) {
    /* The child: take messages up to that one and die without
     * acknowledging any. */
    argus_bus *b = NULL;
    char url[160];
    snprintf(url, sizeof url, "%s?ack_wait=1", g_srv.url);
    char ok = 'n';
    if (argus_bus_open(url, NULL, &b, NULL) == ARGUS_OK) {
      argus_bus_sub *s = NULL;
      argus_bus_sub_options o = {0};
      o.pattern = "alert.raised";
      o.group = "crash";
      argus_bus_msg m;
      int got = 0;
      if (argus_bus_subscribe(b, &o, &s, NULL) == ARGUS_OK)
        while (argus_bus_next(s, 5, &m, &got) == ARGUS_OK && got)
          if (strcmp(m.id, "alert-crash") == 0) {
            ok = 'y';
            break;
          }
    }
    if (write(pipefd[1], &ok, 1) != 1)
      _exit(2);
    _exit(0); /* no unsubscribe, no ack, no close: a crash */
  }
  char ok = 0;
  CHECK(read(pipefd[0], &ok, 1) == 1);
  CHECK(ok == 'y');
  waitpid(pid, NULL, 0);
  close(pipefd[0]);
  close(pipefd[1]);
  double t0 = nu_now();
  argus_bus_sub *s = NULL;
  argus_bus_sub_options o = {0};
  o.pattern = "alert.raised";
  o.group = "crash";
  CHECK_OK(argus_bus_subscribe(pub, &o, &s, NULL));
  argus_bus_msg m;
  int got = 0, found = 0;
  while (!found && argus_bus_next(s, 10, &m, &got) == ARGUS_OK && got) {
    found = strcmp(m.id, "alert-crash") == 0;
  }
  CHECK(found);
  printf("redelivery: the message of a member killed before its ack came "
         "to another member %.1f s later (ack_wait 1 s)\n",
         nu_now() - t0);
  /* Handled now: acknowledged at the next poll, nothing more comes. */
  CHECK_OK(argus_bus_next(s, 1.5, &m, &got));
  CHECK_INT_EQ(got, 0);
  argus_bus_close(pub);
}

/* watchlist.change: typed events, catch-up from a stream sequence. */
static void test_catch_up(void) {
  argus_bus *b = open_bus(NULL);
  if (!b)
    return;
  for (int i = 1; i <= 3; i++) {
    argus_event *ev = NULL;
    CHECK_OK(argus_event_new(ARGUS_EVENT_WATCHLIST, NULL, &ev));
    if (!ev)
      return;
    ev->u.watchlist.what = ARGUS_EVENT_CHANGE_PERSON;
    ev->u.watchlist.person_id = 100 + i;
    ev->u.watchlist.seq = i;
    snprintf(ev->u.watchlist.action, sizeof ev->u.watchlist.action,
             "person.add");
    CHECK_OK(argus_bus_make_id(b, "change", ev->id));
    CHECK_OK(argus_bus_publish_event(b, ARGUS_BUS_TOPIC_WATCHLIST, ev));
    argus_event_unref(ev);
  }
  CHECK_OK(argus_bus_flush(b, 5));
  /* A matcher that saw stream sequence 1 starts again from 2. */
  argus_bus_sub *s = NULL;
  argus_bus_sub_options o = {0};
  o.pattern = ARGUS_BUS_TOPIC_WATCHLIST;
  o.start_seq = 2;
  o.events = 1;
  CHECK_OK(argus_bus_subscribe(b, &o, &s, NULL));
  argus_bus_msg m;
  int got = 0, n = 0;
  while (argus_bus_next(s, 1.0, &m, &got) == ARGUS_OK && got) {
    CHECK_INT_EQ(m.seq, (uint64_t)(2 + n));
    CHECK(m.event && m.event->type == ARGUS_EVENT_WATCHLIST);
    if (m.event)
      CHECK_INT_EQ(m.event->u.watchlist.person_id, 102 + n);
    n++;
  }
  CHECK_INT_EQ(n, 2);
  argus_bus_close(b);
  printf("catch-up: from stream sequence 2, 2 typed change events\n");
}

/* ---- crops travel only with alerts ----------------------------------------
 * crops=request (the default): an edge's face events name where their crop
 * can be asked for instead of carrying it; a matcher publishing an alert for
 * such a face asks the edge and the alert carries the crop (checked against
 * its SHA-256). Once the edge is gone the alert still goes, without a crop,
 * counted. crops=inline: every face event carries its crop. */

static argus_event *crop_face(argus_bus *b, int i, const char *id_prefix) {
  enum { CROP_N = 2500 };
  argus_event *ev = NULL;
  float *emb = NULL;
  uint8_t *crop = NULL;
  CHECK_OK(argus_event_face_new(8, CROP_N, 0, &ev, &emb, &crop, NULL));
  if (!ev)
    return NULL;
  for (int k = 0; k < 8; k++)
    emb[k] = k == i % 8 ? 1.0f : 0.0f;
  for (int k = 0; k < CROP_N; k++)
    crop[k] = (uint8_t)(k * 31 + i * 7);
  uint8_t h[32];
  argus_sha256 sh;
  argus_sha256_init(&sh);
  argus_sha256_update(&sh, crop, CROP_N);
  argus_sha256_final(&sh, h);
  for (int k = 0; k < 32; k++)
    snprintf(ev->u.face.crop.sha256 + 2 * k, 3, "%02x", h[k]);
  argus_event_face *f = &ev->u.face;
  snprintf(f->camera, sizeof f->camera, "gate-%d", i);
  snprintf(f->model, sizeof f->model, "test@1");
  f->wall_ns = (int64_t)1700000000 * 1000000000 + i;
  f->track = (uint64_t)i;
  f->reason = ARGUS_EVENT_REASON_EARLY;
  f->quality = 0.9f;
  f->box[2] = f->box[3] = 50;
  CHECK_OK(argus_bus_make_id(b, id_prefix, ev->id));
  return ev;
}

static void crop_alert(argus_bus *m, const argus_event *face) {
  argus_event *a = NULL;
  CHECK_OK(argus_event_new(ARGUS_EVENT_ALERT, face, &a));
  if (!a)
    return;
  argus_event_alert *al = &a->u.alert;
  snprintf(al->face_id, sizeof al->face_id, "%s", face->id);
  snprintf(al->camera, sizeof al->camera, "%s", face->u.face.camera);
  snprintf(al->person, sizeof al->person, "Lin");
  snprintf(al->watchlist, sizeof al->watchlist, "vip");
  al->wall_ns = face->u.face.wall_ns;
  al->person_id = al->watchlist_id = 1;
  al->score = 0.8f;
  al->threshold = 0.5f;
  al->track_start = NAN;
  CHECK_OK(argus_bus_make_id(m, "alert", a->id));
  CHECK_OK(argus_bus_publish_event(m, ARGUS_EVENT_TOPIC_ALERT_RAISED, a));
  argus_event_unref(a);
}

/* A matcher that takes its next face event a second late and raises an
 * alert for it (on its own thread, while the edge is closing). */
typedef struct late_matcher {
  argus_bus *m;
  argus_bus_sub *faces;
  char got_id[ARGUS_BUS_ID_MAX + 1];
} late_matcher;

static void *late_main(void *arg) {
  late_matcher *lm = arg;
  nu_sleep(1.0);
  argus_bus_msg msg;
  int got = 0;
  if (argus_bus_next(lm->faces, 5, &msg, &got) == ARGUS_OK && got &&
      msg.event) {
    snprintf(lm->got_id, sizeof lm->got_id, "%s", msg.id);
    crop_alert(lm->m, msg.event);
  }
  /* The next poll acknowledges it: the work queue is then empty. */
  argus_bus_next(lm->faces, 0.2, &msg, &got);
  return NULL;
}

static void test_crops(void) {
  argus_bus *edge = open_bus(NULL), *inl = open_bus("?crops=inline"),
            *m = open_bus(NULL), *sink = open_bus(NULL);
  if (!edge || !inl || !m || !sink)
    return;
  argus_bus_sub *faces = NULL, *meter = NULL, *alerts = NULL;
  argus_bus_sub_options o = {0};
  o.pattern = "face";
  o.group = "match"; /* a work queue takes one group per subject */
  o.events = 1;
  CHECK_OK(argus_bus_subscribe(m, &o, &faces, NULL));
  argus_bus_sub_options om = {0};
  om.pattern = "face";
  CHECK_OK(argus_bus_subscribe(sink, &om, &meter, NULL));
  argus_bus_sub_options oa = {0};
  oa.pattern = ARGUS_EVENT_TOPIC_ALERT_RAISED;
  oa.events = 1;
  CHECK_OK(argus_bus_subscribe(sink, &oa, &alerts, NULL));
  /* Two faces from an edge that keeps crops, one from an inline edge. */
  argus_event *sent[3] = {crop_face(edge, 1, "face"),
                          crop_face(edge, 2, "face"),
                          crop_face(inl, 3, "face")};
  if (!sent[0] || !sent[1] || !sent[2])
    return;
  CHECK_OK(argus_bus_publish_event(edge, "face", sent[0]));
  CHECK_OK(argus_bus_publish_event(edge, "face", sent[1]));
  CHECK_OK(argus_bus_publish_event(inl, "face", sent[2]));
  CHECK_OK(argus_bus_flush(edge, 5));
  CHECK_OK(argus_bus_flush(inl, 5));
  /* What travelled: the edge's documents name it, the inline one carries
   * the crop. */
  size_t bytes[3] = {0};
  argus_bus_msg msg;
  int got = 0;
  for (int i = 0; i < 3; i++) {
    CHECK_OK(argus_bus_next(meter, 5, &msg, &got));
    if (!got)
      break;
    int k = strcmp(msg.id, sent[0]->id) == 0   ? 0
            : strcmp(msg.id, sent[1]->id) == 0 ? 1
                                               : 2;
    bytes[k] = msg.size;
    CHECK_INT_EQ(strstr(msg.data, "\"crop_jpeg\"") != NULL, k == 2);
    CHECK_INT_EQ(strstr(msg.data, "\"crop_at\":\"argus.crop.") != NULL, k < 2);
  }
  CHECK(bytes[2] > bytes[0] + 3000); /* 2,500 bytes of JPEG in base64 */
  printf("crops: face event %zu bytes with its crop kept at the edge, %zu "
         "carrying it\n",
         bytes[0], bytes[2]);
  /* The matcher's copies. */
  argus_event *recv[3] = {NULL, NULL, NULL};
  for (int i = 0; i < 3; i++) {
    CHECK_OK(argus_bus_next(faces, 5, &msg, &got));
    if (!got || !msg.event)
      break;
    for (int k = 0; k < 3; k++)
      if (strcmp(msg.id, sent[k]->id) == 0) {
        argus_event_ref(msg.event);
        recv[k] = (argus_event *)msg.event;
      }
  }
  if (!recv[0] || !recv[1] || !recv[2]) {
    CHECK(0);
    return;
  }
  CHECK(recv[0]->u.face.crop.data == NULL);
  CHECK(strncmp(recv[0]->u.face.crop_source, "argus.crop.", 11) == 0);
  CHECK(recv[2]->u.face.crop.data != NULL &&
        recv[2]->u.face.crop_source[0] == '\0');
  /* An alert for face 1 carries the crop the matcher asked the edge for;
   * the inline face's alert carries its own. */
  crop_alert(m, recv[0]);
  crop_alert(m, recv[2]);
  for (int i = 0; i < 2; i++) {
    CHECK_OK(argus_bus_next(alerts, 5, &msg, &got));
    CHECK(got && msg.event && msg.event->u.alert.face);
    if (!got || !msg.event || !msg.event->u.alert.face)
      break;
    const argus_event *f = msg.event->u.alert.face;
    int k = strcmp(f->id, sent[0]->id) == 0 ? 0 : 2;
    CHECK(f->u.face.crop.data != NULL);
    CHECK_INT_EQ(f->u.face.crop.size, sent[k]->u.face.crop.size);
    if (f->u.face.crop.data && f->u.face.crop.size == sent[k]->u.face.crop.size)
      CHECK(memcmp(f->u.face.crop.data, sent[k]->u.face.crop.data,
                   f->u.face.crop.size) == 0);
  }
  argus_bus_stats st;
  CHECK_OK(argus_bus_get_stats(m, &st));
  CHECK_INT_EQ(st.crops_fetched, 1);
  CHECK_INT_EQ(st.crops_missing, 0);
  CHECK_OK(argus_bus_get_stats(edge, &st));
  CHECK_INT_EQ(st.crops_served, 1);
  /* An edge that ends right after its last face event keeps answering crop
   * requests until the matchers have handled it: the alert raised a second
   * after the close began still gets the crop. */
  argus_event *late = crop_face(edge, 4, "face");
  if (late) {
    CHECK_OK(argus_bus_publish_event(edge, "face", late));
    CHECK_OK(argus_bus_flush(edge, 5));
  }
  late_matcher lm = {m, faces, ""};
  pthread_t th;
  CHECK_INT_EQ(pthread_create(&th, NULL, late_main, &lm), 0);
  double tc = nu_now();
  argus_bus_close(edge);
  double closing = nu_now() - tc;
  pthread_join(th, NULL);
  CHECK(late && strcmp(lm.got_id, late->id) == 0);
  CHECK_OK(argus_bus_next(alerts, 5, &msg, &got));
  CHECK(got && msg.event && msg.event->u.alert.face &&
        msg.event->u.alert.face->u.face.crop.data);
  if (late && got && msg.event && msg.event->u.alert.face &&
      msg.event->u.alert.face->u.face.crop.size == late->u.face.crop.size)
    CHECK(memcmp(msg.event->u.alert.face->u.face.crop.data,
                 late->u.face.crop.data, late->u.face.crop.size) == 0);
  CHECK_OK(argus_bus_get_stats(m, &st));
  CHECK_INT_EQ(st.crops_fetched, 2);
  CHECK(closing >= 0.9 && closing < 10);
  printf("crops: a closing edge answered for its last face until the matcher "
         "had handled it (close took %.2f s)\n",
         closing);
  argus_event_unref(late);
  /* The edge is gone: face 2's alert still goes, without its crop. */
  double t0 = nu_now();
  crop_alert(m, recv[1]);
  double waited = nu_now() - t0;
  CHECK_OK(argus_bus_next(alerts, 5, &msg, &got));
  CHECK(got && msg.event && msg.event->u.alert.face &&
        msg.event->u.alert.face->u.face.crop.data == NULL);
  CHECK_OK(argus_bus_get_stats(m, &st));
  CHECK_INT_EQ(st.crops_missing, 1);
  CHECK(waited < 3);
  printf("crops: an alert's crop fetched from its edge; with the edge gone "
         "the alert went without it after %.2f s\n",
         waited);
  for (int k = 0; k < 3; k++) {
    argus_event_unref(recv[k]);
    argus_event_unref(sent[k]);
  }
  argus_bus_close(m);
  argus_bus_close(sink);
  argus_bus_close(inl);
}

/* Alerts published while the server restarts: none lost, none doubled. */
static void test_restart(void) {
  argus_bus *b = open_bus(NULL);
  if (!b)
    return;
  static coll c;
  memset(&c, 0, sizeof c);
  pthread_mutex_init(&c.mu, NULL);
  argus_bus_sub *s = NULL;
  argus_bus_sub_options o = {0};
  o.pattern = "alert.raised";
  o.group = "serve";
  o.handler = on_msg;
  o.user = &c;
  CHECK_OK(argus_bus_subscribe(b, &o, &s, NULL));
  enum { N = 300 };
  char d[128], id[32];
  double t_down = 0, t_up = 0;
  for (int i = 0; i < N; i++) {
    if (i == 100) {
      nu_stop(&g_srv, SIGKILL);
      t_down = nu_now();
    }
    if (i == 200) {
      CHECK_INT_EQ(nu_start(&g_srv), 0);
      t_up = nu_now();
    }
    doc(d, sizeof d, "alert", i);
    snprintf(id, sizeof id, "restart-%d", i);
    argus_err rc = argus_bus_publish(b, "alert.raised", id, d, strlen(d));
    CHECK_OK(rc);
    nu_sleep(0.002);
  }
  CHECK_OK(argus_bus_flush(b, 30));
  /* The earlier alerts (the dedupe test's) were taken by another group;
   * this group starts with all of them: count only this test's ids. */
  double end = nu_now() + 30;
  int mine = 0;
  while (nu_now() < end) {
    mine = 0;
    pthread_mutex_lock(&c.mu);
    for (int i = 0; i < c.n; i++)
      mine += strncmp(c.ids[i], "restart-", 8) == 0;
    pthread_mutex_unlock(&c.mu);
    if (mine >= N)
      break;
    nu_sleep(0.05);
  }
  nu_sleep(0.5); /* anything doubled would have come by now */
  int once = 1, lost = 0;
  for (int i = 0; i < N; i++) {
    snprintf(id, sizeof id, "restart-%d", i);
    int k = count_id(&c, NULL, id);
    once &= k <= 1;
    lost += k == 0;
  }
  CHECK_INT_EQ(lost, 0);
  CHECK(once);
  argus_bus_stats st;
  CHECK_OK(argus_bus_get_stats(b, &st));
  /* The stream itself: each id stored once (a fresh group reads it all). */
  argus_bus_sub *all = NULL;
  o.group = "audit";
  o.handler = NULL;
  o.user = NULL;
  CHECK_OK(argus_bus_subscribe(b, &o, &all, NULL));
  static char seen[N];
  memset(seen, 0, sizeof seen);
  argus_bus_msg m;
  int got = 0, stored = 0, twice = 0;
  while (argus_bus_next(all, 1.0, &m, &got) == ARGUS_OK && got)
    if (strncmp(m.id, "restart-", 8) == 0) {
      int i = atoi(m.id + 8);
      if (i >= 0 && i < N) {
        twice += seen[i];
        seen[i] = 1;
        stored++;
      }
    }
  CHECK_INT_EQ(stored, N);
  CHECK_INT_EQ(twice, 0);
  printf("server restart: %d alerts published, server down %.2f s (killed, "
         "restarted on the same store), %d lost, %d stored, each once; the "
         "group had them %.2f s after the restart, each once (%llu "
         "redeliveries dropped by id)\n",
         N, t_up - t_down, lost, stored, nu_now() - t_up,
         (unsigned long long)st.duplicates);
  argus_bus_close(b);
}

/* Leases: one holder at a time; a lease not renewed is taken over after
 * its time to live, and not before. */
typedef struct lease_seen {
  int n;
  char text[512];
} lease_seen;

static void on_lease_seen(void *user, const char *key, const char *holder) {
  lease_seen *ls = user;
  ls->n++;
  size_t at = strlen(ls->text);
  snprintf(ls->text + at, sizeof ls->text - at, "%s=%s;", key, holder);
}

static void test_leases(void) {
  argus_bus *a = open_bus(NULL), *b = open_bus(NULL);
  if (!a || !b)
    return;
  argus_bus_leases *la = NULL, *lb = NULL;
  argus_error_detail e = {{0}};
  CHECK_OK(argus_bus_leases_open(a, "test", 2.0, "edge-a", &la, &e));
  CHECK_OK(argus_bus_leases_open(b, "test", 2.0, "edge-b", &lb, &e));
  if (!la || !lb)
    return;
  int held = -1;
  char other[64];
  CHECK_OK(argus_bus_lease_take(la, "cam.1", &held, NULL, 0));
  CHECK_INT_EQ(held, 1);
  CHECK_OK(argus_bus_lease_take(lb, "cam.1", &held, other, sizeof other));
  CHECK_INT_EQ(held, 0);
  CHECK(strcmp(other, "edge-a") == 0);
  /* Renewed for 3 s (longer than the time to live): still A's. */
  double end = nu_now() + 3;
  while (nu_now() < end) {
    CHECK_OK(argus_bus_lease_take(la, "cam.1", &held, NULL, 0));
    CHECK_INT_EQ(held, 1);
    nu_sleep(0.5);
  }
  CHECK_OK(argus_bus_lease_take(lb, "cam.1", &held, NULL, 0));
  CHECK_INT_EQ(held, 0);
  /* A stops renewing (as if it died): B takes it once the lease ran out. */
  double t_last = nu_now();
  CHECK_OK(argus_bus_lease_take(la, "cam.1", &held, NULL, 0));
  int got = 0;
  double t_got = 0;
  while (nu_now() < t_last + 10) {
    CHECK_OK(argus_bus_lease_take(lb, "cam.1", &held, NULL, 0));
    if (held) {
      got = 1;
      t_got = nu_now();
      break;
    }
    nu_sleep(0.1);
  }
  CHECK(got);
  CHECK(t_got - t_last >= 1.9);
  CHECK(t_got - t_last <= 5.0);
  /* A comes back: it must not get it (B holds it). */
  CHECK_OK(argus_bus_lease_take(la, "cam.1", &held, other, sizeof other));
  CHECK_INT_EQ(held, 0);
  CHECK(strcmp(other, "edge-b") == 0);
  /* The table as a list: B's cam.1 and A's cam.2, nothing given back. */
  CHECK_OK(argus_bus_lease_take(la, "cam.2", &held, NULL, 0));
  CHECK_OK(argus_bus_lease_take(la, "cam.3", &held, NULL, 0));
  CHECK_OK(argus_bus_lease_release(la, "cam.3"));
  lease_seen seen = {0};
  CHECK_OK(argus_bus_leases_list(lb, on_lease_seen, &seen));
  CHECK_INT_EQ(seen.n, 2);
  CHECK(strstr(seen.text, "cam.1=edge-b;") != NULL);
  CHECK(strstr(seen.text, "cam.2=edge-a;") != NULL);
  CHECK_OK(argus_bus_lease_release(la, "cam.2"));
  /* B gives it back: A takes it at once. */
  CHECK_OK(argus_bus_lease_release(lb, "cam.1"));
  CHECK_OK(argus_bus_lease_take(la, "cam.1", &held, NULL, 0));
  CHECK_INT_EQ(held, 1);
  CHECK_INT_EQ(argus_bus_lease_take(la, "bad key!", &held, NULL, 0),
               ARGUS_E_INVALID_ARG);
  argus_bus_leases *bad = NULL;
  CHECK_INT_EQ(argus_bus_leases_open(a, "bad table", 2, "x", &bad, &e),
               ARGUS_E_INVALID_ARG);
  CHECK(bad == NULL);
  printf("leases: held by one holder at a time; a lease not renewed was "
         "taken over %.2f s after its last renewal (time to live 2 s); "
         "given back, taken at once\n",
         t_got - t_last);
  argus_bus_leases_close(la);
  argus_bus_leases_close(lb);
  argus_bus_close(a);
  argus_bus_close(b);
}

static void test_refusals(void) {
  argus_bus *b = NULL;
  argus_error_detail e = {{0}};
  int port = nu_free_port();
  char url[96];
  snprintf(url, sizeof url, "nats://127.0.0.1:%d", port);
  CHECK_INT_EQ(argus_bus_open(url, NULL, &b, &e), ARGUS_E_IO);
  CHECK(strstr(e.msg, "cannot connect") != NULL);
  CHECK(b == NULL);
  snprintf(url, sizeof url, "%s?replicas=9", g_srv.url);
  CHECK_INT_EQ(argus_bus_open(url, NULL, &b, &e), ARGUS_E_INVALID_ARG);
  CHECK(strstr(e.msg, "replicas") != NULL);
  snprintf(url, sizeof url, "%s?colour=blue", g_srv.url);
  CHECK_INT_EQ(argus_bus_open(url, NULL, &b, &e), ARGUS_E_INVALID_ARG);
  b = open_bus(NULL);
  if (!b)
    return;
  argus_bus_sub *s = NULL;
  argus_bus_sub_options o = {0};
  o.pattern = "camera.status";
  o.group = "match";
  CHECK_INT_EQ(argus_bus_subscribe(b, &o, &s, &e), ARGUS_E_INVALID_ARG);
  CHECK(strstr(e.msg, "stored topic") != NULL);
  o.pattern = "face";
  o.group = "Bad Group";
  CHECK_INT_EQ(argus_bus_subscribe(b, &o, &s, &e), ARGUS_E_INVALID_ARG);
  o.group = NULL;
  o.start_seq = 5;
  CHECK_INT_EQ(argus_bus_subscribe(b, &o, &s, &e), ARGUS_E_INVALID_ARG);
  CHECK(strstr(e.msg, "work-queue") != NULL);
  argus_bus_close(b);
}

int main(void) {
  if (!nu_server_bin())
    SKIP("nats-server is not installed (apt-get install nats-server; "
         "scripts/setup.sh installs it)");
  snprintf(g_srv.dir, sizeof g_srv.dir, "/tmp/argus-nats-XXXXXX");
  if (!mkdtemp(g_srv.dir)) {
    perror("mkdtemp");
    return 1;
  }
  if (nu_start(&g_srv) != 0) {
    fprintf(stderr, "nats-server did not start on port %d\n", g_srv.port);
    return 1;
  }
  void (*parts[])(void) = {test_plain_topics, test_dedupe,     test_work_queue,
                           test_batches,      test_redelivery, test_catch_up,
                           test_crops,        test_restart,    test_leases,
                           test_refusals};
  const char *names[] = {"plain topics", "dedupe",   "work queue", "batches",
                         "redelivery",   "catch-up", "crops",      "restart",
                         "leases",       "refusals"};
  for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
    int before = check_failures_;
    double t0 = nu_now();
    parts[i]();
    if (check_failures_ != before || nu_now() - t0 > 20)
      fprintf(stderr, "part '%s': %d failed checks, %.1f s\n", names[i],
              check_failures_ - before, nu_now() - t0);
  }
  nu_stop(&g_srv, SIGTERM);
  if (check_failures_)
    nu_print_log(&g_srv);
  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -rf '%s' '%s.log'", g_srv.dir, g_srv.dir);
  if (system(cmd) != 0)
    fprintf(stderr, "could not remove %s\n", g_srv.dir);
  return check_report("test_bus_nats");
}
