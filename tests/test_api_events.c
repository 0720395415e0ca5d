/* The live event stream (src/api/events.c).
 *
 * Part 1 drives the module directly (clients without a connection, read by
 * calling the content reader): frames and ids, multi-line data, the bus
 * sources (stored alerts with the outbound hook, camera.status only on a
 * change, watchlist.change, once per change: the change feed's report of
 * a change the API or the gallery reported already is dropped), the
 * client limit, resuming from the ring and
 * from the store (also across pages and while events keep coming), the
 * drop of a client that falls `lag` events behind, an unknown id, shutdown.
 *
 * Part 2 runs the HTTP server in this process (argus_api_start on a bus
 * the test publishes to) and talks to it over loopback with libcurl: a
 * client killed mid-stream reconnects with Last-Event-ID and gets every
 * missed event once, in order (the ring no longer holds them: they come
 * from the store), and the same with ?after=; more clients than the limit
 * get 503; a client that never reads is dropped while another receives
 * everything; a decision made through the API arrives as an event (when
 * that handler exists); stopping the server ends the streams.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
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
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <microhttpd.h>

#include "api/api_internal.h"
#include "api/events.h"
#include "argus/api.h"
#include "argus/bus.h"
#include "argus/event.h"
#include "argus/store.h"
#include "check.h"

/* events.c's access for tests. */
void *api_events_test_open(api_events *ev, int64_t after, argus_store *st);
int64_t api_events_test_read(void *client, char *buf, size_t max);
void api_events_test_close(void *client);

#include "sse_util.h"

/* ---- part 1: the module alone ----------------------------------------------- */

/* Reads until the reader suspends (0) or ends (< 0); returns that. */
static int64_t drain(void *c, sse *s, size_t chunk) {
  char *buf = malloc(chunk);
  if (!buf)
    abort();
  int64_t r;
  for (int guard = 0; guard < 1000000; guard++) {
    r = api_events_test_read(c, buf, chunk);
    if (r <= 0)
      break;
    sse_feed(s, buf, (size_t)r);
  }
  free(buf);
  return r;
}

typedef struct hook_rec {
  int calls;
  int64_t last_id;
  char watchlist[64];
  char json[256];
} hook_rec;

static void on_hook(void *user, int64_t event_id, const char *watchlist,
                    const char *json, size_t n) {
  hook_rec *h = user;
  h->calls++;
  h->last_id = event_id;
  snprintf(h->watchlist, sizeof h->watchlist, "%s", watchlist);
  snprintf(h->json, sizeof h->json, "%.*s", (int)(n < 200 ? n : 200), json);
}

static void pub(api_events *ev, const char *type, int k) {
  char j[128];
  int n = snprintf(j, sizeof j, "{\"k\":%d}", k);
  api_events_publish(ev, type, j, (size_t)n);
}

static void bus_camera(argus_bus *bus, const char *cam, const char *state,
                       int connected) {
  char j[256], id[ARGUS_BUS_ID_MAX + 1];
  int n = snprintf(j, sizeof j,
                   "{\"v\":1,\"type\":\"camera.status\",\"camera\":\"%s\","
                   "\"state\":\"%s\",\"connected\":%s,\"fps_in\":25}",
                   cam, state, connected ? "true" : "false");
  CHECK_OK(argus_bus_make_id(bus, "cam", id));
  CHECK_OK(argus_bus_publish(bus, ARGUS_BUS_TOPIC_CAMERA, id, j, (size_t)n));
}

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
  snprintf(a->crop_sha256, sizeof a->crop_sha256, "%064d", 1);
  CHECK_OK(argus_bus_make_id(bus, "alert", e->id));
  CHECK_OK(argus_bus_publish_event(bus, ARGUS_EVENT_TOPIC_ALERT, e));
  argus_event_unref(e);
}

typedef struct race_arg {
  api_events *ev;
  int n;
} race_arg;

static void *race_pub(void *arg) {
  race_arg *r = arg;
  for (int i = 0; i < r->n; i++) {
    pub(r->ev, "race", i);
    if (i % 16 == 0)
      sse_sleep(0.001);
  }
  return NULL;
}

/* A typed watchlist.change about person `pid` on the bus (seq 0: the
 * gallery's own report; else the change feed's, of that audit row). */
static void pub_person_change(argus_bus *bus, const char *action, int64_t pid,
                              int64_t seq) {
  argus_event *e = NULL;
  CHECK_OK(argus_event_new(ARGUS_EVENT_WATCHLIST, NULL, &e));
  if (!e)
    return;
  e->u.watchlist.what = ARGUS_EVENT_CHANGE_PERSON;
  e->u.watchlist.person_id = pid;
  e->u.watchlist.seq = seq;
  snprintf(e->u.watchlist.action, sizeof e->u.watchlist.action, "%s", action);
  CHECK_OK(argus_bus_make_id(bus, "wl", e->id));
  CHECK_OK(argus_bus_publish_event(bus, ARGUS_EVENT_TOPIC_WATCHLIST, e));
  argus_event_unref(e);
  CHECK_OK(argus_bus_flush(bus, 10));
}

/* The id of the newest audit row. */
static int64_t newest_audit_id(argus_store *st) {
  argus_store_audit_filter af;
  memset(&af, 0, sizeof af);
  af.limit = 1;
  argus_store_audit *rows = NULL;
  size_t n = 0;
  argus_store_error se = {{0}};
  CHECK_OK(argus_store_audit_query(st, &af, &rows, &n, &se));
  int64_t id = n == 1 ? rows[0].id : 0;
  argus_store_free(rows);
  return id;
}

static void part_module(const char *dir) {
  char db[600];
  /* Each database has its own folder (its crops). */
  snprintf(db, sizeof db, "%s/module", dir);
  mkdir(db, 0700);
  snprintf(db, sizeof db, "%s/module/argus.db", dir);
  argus_store *st = NULL;
  argus_store_error se = {{0}};
  CHECK_OK(argus_store_open(db, NULL, &st, &se));
  argus_bus *bus = NULL;
  CHECK_OK(argus_bus_open(NULL, NULL, &bus, NULL));
  argus_error_detail err = {{0}};
  api_events *ev = api_events_create(NULL, db, bus, 3, 8, &err);
  if (!ev || !st || !bus) {
    fprintf(stderr, "api_events_create: %s / %s\n", err.msg, se.msg);
    CHECK(0);
    return;
  }
  hook_rec hook = {0};
  api_events_set_alert_hook(ev, on_hook, &hook);

  /* A new client: the greeting, then nothing (suspended). */
  sse s1;
  sse_init(&s1);
  void *c1 = api_events_test_open(ev, -1, st);
  CHECK(c1 != NULL);
  CHECK_INT_EQ(drain(c1, &s1, 1000), 0);
  CHECK_INT_EQ(s1.hellos, 1);
  CHECK_INT_EQ(s1.retries, 1);
  CHECK_INT_EQ(s1.nf, 0);

  /* Published events arrive in order, ids increasing; data with line
   * breaks is sent as several data lines and reads back the same. */
  pub(ev, "decision", 1);
  pub(ev, "decision", 2);
  const char ml[] = "{\n\"b\": 1,\r\n\"c\": 2\r}";
  api_events_publish(ev, "watchlist.change", ml, sizeof ml - 1);
  api_events_publish(ev, "Bad Type", "{}", 2);  /* refused */
  api_events_publish(ev, "decision", "[1]", 3); /* not an object */
  CHECK_INT_EQ(drain(c1, &s1, 1000), 0);
  CHECK_INT_EQ(s1.nf, 3);
  if (s1.nf == 3) {
    CHECK(s1.f[0].id > 0);
    CHECK(sse_ids_increasing(&s1, "published"));
    CHECK(strcmp(s1.f[0].type, "decision") == 0);
    CHECK(strcmp(s1.f[1].data, "{\"k\":2}") == 0);
    CHECK(strcmp(s1.f[2].type, "watchlist.change") == 0);
    CHECK(strcmp(s1.f[2].data, "{\n\"b\": 1,\n\"c\": 2\n}") == 0);
  }

  /* A frame larger than the reader's buffer goes out in pieces. */
  {
    size_t big = 20000;
    char *j = malloc(big);
    if (j) {
      memset(j, 'x', big);
      memcpy(j, "{\"pad\":\"", 8);
      memcpy(j + big - 2, "\"}", 2);
      api_events_publish(ev, "big", j, big);
      CHECK_INT_EQ(drain(c1, &s1, 1000), 0);
      CHECK_INT_EQ(s1.nf, 4);
      if (s1.nf == 4) {
        CHECK(strlen(s1.f[3].data) == big);
        CHECK(memcmp(s1.f[3].data, j, big) == 0);
      }
      free(j);
    }
  }

  /* camera.status: an event only when a camera's state changes (the first
   * status of a camera included). */
  bus_camera(bus, "cam1", "connecting", 0);
  bus_camera(bus, "cam1", "connecting", 0);
  bus_camera(bus, "cam1", "streaming", 1);
  bus_camera(bus, "cam1", "streaming", 1);
  bus_camera(bus, "cam2", "connecting", 0);
  bus_camera(bus, "cam1", "streaming", 1);
  CHECK_OK(argus_bus_flush(bus, 10));
  int before = s1.nf;
  CHECK_INT_EQ(drain(c1, &s1, 4096), 0);
  CHECK_INT_EQ(s1.nf - before, 3);
  if (s1.nf - before == 3) {
    CHECK(strcmp(s1.f[before].type, "camera.status") == 0);
    CHECK(strstr(s1.f[before].data, "\"connecting\"") != NULL);
    CHECK(strstr(s1.f[before + 1].data, "\"streaming\"") != NULL);
    CHECK(strstr(s1.f[before + 2].data, "\"cam2\"") != NULL);
  }

  /* Stored alerts become "alert" events with the alert's id and image
   * URLs, and go to the outbound hook; an alert the store refused (id 0)
   * does not. */
  bus_alert(bus, 42, "vip");
  bus_alert(bus, 0, "vip");
  CHECK_OK(argus_bus_flush(bus, 10));
  before = s1.nf;
  CHECK_INT_EQ(drain(c1, &s1, 4096), 0);
  CHECK_INT_EQ(s1.nf - before, 1);
  if (s1.nf - before == 1) {
    sse_frame *f = &s1.f[before];
    CHECK(strcmp(f->type, "alert") == 0);
    cJSON *j = cJSON_Parse(f->data);
    CHECK(j != NULL);
    CHECK_INT_EQ(cJSON_GetNumberValue(cJSON_GetObjectItem(j, "id")), 42);
    CHECK(strcmp(sse_jstr(j, "watchlist"), "vip") == 0);
    CHECK(strcmp(sse_jstr(j, "crop"), "/api/v1/alerts/42/crop") == 0);
    CHECK(cJSON_IsNull(cJSON_GetObjectItem(j, "thumb")));
    cJSON_Delete(j);
    CHECK_INT_EQ(hook.calls, 1);
    CHECK_INT_EQ(hook.last_id, f->id);
    CHECK(strcmp(hook.watchlist, "vip") == 0);
  }

  /* watchlist.change from the bus (the gallery's typed event). */
  {
    argus_event *e = NULL;
    CHECK_OK(argus_event_new(ARGUS_EVENT_WATCHLIST, NULL, &e));
    if (e) {
      e->u.watchlist.what = ARGUS_EVENT_CHANGE_PERSON;
      e->u.watchlist.person_id = 5;
      snprintf(e->u.watchlist.action, sizeof e->u.watchlist.action,
               "person.add");
      CHECK_OK(argus_bus_make_id(bus, "wl", e->id));
      CHECK_OK(argus_bus_publish_event(bus, ARGUS_EVENT_TOPIC_WATCHLIST, e));
      argus_event_unref(e);
    }
    CHECK_OK(argus_bus_flush(bus, 10));
    before = s1.nf;
    CHECK_INT_EQ(drain(c1, &s1, 4096), 0);
    CHECK_INT_EQ(s1.nf - before, 1);
    if (s1.nf - before == 1) {
      CHECK(strcmp(s1.f[before].type, "watchlist.change") == 0);
      CHECK(strstr(s1.f[before].data, "person.add") != NULL);
    }
  }

  /* The change feed's report of a watchlist change (seq: its audit row):
   * passed on when another process made it, not when it was made through
   * the API (whose handler published it already: one change, one event). */
  for (int via_api = 0; via_api < 2; via_api++) {
    CHECK_OK(argus_store_set_actor(st, via_api ? "api:t-sup" : "cli", &se));
    argus_store_id wid = 0;
    CHECK_OK(argus_store_watchlist_create(st, via_api ? "feed-api" : "feed-cli",
                                          NAN, NULL, &wid, &se));
    argus_store_audit_filter af;
    memset(&af, 0, sizeof af);
    af.limit = 1;
    argus_store_audit *rows = NULL;
    size_t nrows = 0;
    CHECK_OK(argus_store_audit_query(st, &af, &rows, &nrows, &se));
    CHECK(nrows == 1 && strcmp(rows[0].action, "watchlist.create") == 0);
    argus_event *e = NULL;
    CHECK_OK(argus_event_new(ARGUS_EVENT_WATCHLIST, NULL, &e));
    if (e && nrows == 1) {
      e->u.watchlist.what = ARGUS_EVENT_CHANGE_WATCHLIST;
      e->u.watchlist.watchlist_id = wid;
      e->u.watchlist.seq = rows[0].id;
      snprintf(e->u.watchlist.action, sizeof e->u.watchlist.action,
               "watchlist.create");
      CHECK_OK(argus_bus_make_id(bus, "wl", e->id));
      CHECK_OK(argus_bus_publish_event(bus, ARGUS_EVENT_TOPIC_WATCHLIST, e));
    }
    argus_event_unref(e);
    argus_store_free(rows);
    CHECK_OK(argus_bus_flush(bus, 10));
    before = s1.nf;
    CHECK_INT_EQ(drain(c1, &s1, 4096), 0);
    CHECK_INT_EQ(s1.nf - before, via_api ? 0 : 1);
  }

  /* Person changes: the gallery's own report (seq 0) passes and the change
   * feed's report of the same store row does not (the gallery writes as
   * "pipeline"); the API's audit row next to a change (person.enrol) never
   * passes; a change another process made does. */
  {
    CHECK_OK(argus_store_set_actor(st, "pipeline", &se));
    CHECK_OK(argus_store_audit_append(st, "person.add", "person", 77, NULL,
                                      &se));
    int64_t seq_add = newest_audit_id(st);
    CHECK_OK(argus_store_set_actor(st, "api:t-sup", &se));
    CHECK_OK(argus_store_audit_append(st, "person.enrol", "person", 77, NULL,
                                      &se));
    int64_t seq_enrol = newest_audit_id(st);
    CHECK_OK(argus_store_set_actor(st, "cli:someone", &se));
    CHECK_OK(argus_store_audit_append(st, "person.add", "person", 78, NULL,
                                      &se));
    int64_t seq_cli = newest_audit_id(st);
    before = s1.nf;
    pub_person_change(bus, "person.add", 77, 0);
    pub_person_change(bus, "person.add", 77, seq_add);
    pub_person_change(bus, "person.enrol", 77, seq_enrol);
    pub_person_change(bus, "person.add", 78, seq_cli);
    CHECK_INT_EQ(drain(c1, &s1, 4096), 0);
    CHECK_INT_EQ(s1.nf - before, 2);
    if (s1.nf - before == 2) {
      CHECK(strstr(s1.f[before].data, "\"person_id\":77") != NULL);
      CHECK(strstr(s1.f[before + 1].data, "\"person_id\":78") != NULL);
    }
  }

  /* At most 3 clients. */
  void *c2 = api_events_test_open(ev, -1, st);
  void *c3 = api_events_test_open(ev, -1, st);
  void *c4 = api_events_test_open(ev, -1, st);
  CHECK(c2 && c3);
  CHECK(c4 == NULL);
  api_events_stats stats;
  api_events_get_stats(ev, &stats);
  CHECK_INT_EQ(stats.clients, 3);
  CHECK_INT_EQ(stats.clients_refused, 1);
  if (c2)
    api_events_test_close(c2);
  if (c3)
    api_events_test_close(c3);
  if (c4)
    api_events_test_close(c4);

  /* Resume from the ring: the client goes away, 5 events pass (the ring
   * holds 8), it comes back after the last id it saw. */
  CHECK(sse_ids_increasing(&s1, "c1"));
  int64_t last1 = sse_last_id(&s1);
  api_events_test_close(c1);
  for (int i = 0; i < 5; i++)
    pub(ev, "ring", i);
  sse s2;
  sse_init(&s2);
  void *c = api_events_test_open(ev, last1, st);
  CHECK_INT_EQ(drain(c, &s2, 700), 0);
  CHECK_INT_EQ(s2.nf, 5);
  if (s2.nf == 5) {
    CHECK(s2.f[0].id > last1);
    CHECK(sse_ids_increasing(&s2, "ring resume"));
    for (int i = 0; i < 5; i++)
      CHECK(strcmp(s2.f[i].type, "ring") == 0);
  }
  int64_t last2 = sse_last_id(&s2);
  api_events_test_close(c);

  /* Resume from the store: 20 events pass, more than the ring holds. */
  for (int i = 0; i < 20; i++)
    pub(ev, "store", i);
  sse s3;
  sse_init(&s3);
  c = api_events_test_open(ev, last2, st);
  CHECK_INT_EQ(drain(c, &s3, 700), 0);
  CHECK_INT_EQ(s3.nf, 20);
  if (s3.nf == 20) {
    CHECK(s3.f[0].id > last2);
    CHECK(sse_ids_increasing(&s3, "store resume"));
    for (int i = 0; i < 20; i++) {
      char want[32];
      snprintf(want, sizeof want, "{\"k\":%d}", i);
      CHECK(strcmp(s3.f[i].data, want) == 0);
    }
  }
  /* ... and goes on live. */
  pub(ev, "live", 0);
  pub(ev, "live", 1);
  CHECK_INT_EQ(drain(c, &s3, 700), 0);
  CHECK_INT_EQ(s3.nf, 22);
  CHECK(sse_ids_increasing(&s3, "store resume, live"));
  api_events_test_close(c);

  /* A client that falls more than 8 events behind is dropped. */
  sse s4;
  sse_init(&s4);
  c = api_events_test_open(ev, -1, st);
  CHECK_INT_EQ(drain(c, &s4, 700), 0);
  for (int i = 0; i < 9; i++)
    pub(ev, "flood", i);
  CHECK_INT_EQ(drain(c, &s4, 700), MHD_CONTENT_READER_END_WITH_ERROR);
  api_events_get_stats(ev, &stats);
  CHECK_INT_EQ(stats.clients_dropped, 1);
  api_events_test_close(c);

  /* Over 256 events (several store pages) from the start, read while the
   * reader pages with its own store handle: every event once, in order. */
  for (int i = 0; i < 300; i++)
    pub(ev, "bulk", i);
  api_events_get_stats(ev, &stats);
  sse s5;
  sse_init(&s5);
  c = api_events_test_open(ev, 0, st);
  CHECK_INT_EQ(drain(c, &s5, 1500), 0);
  CHECK_INT_EQ(s5.nf, (int)stats.events);
  CHECK(sse_ids_increasing(&s5, "replay from 0"));
  CHECK_INT_EQ(s5.nf ? s5.f[s5.nf - 1].id : 0, stats.last_id);
  api_events_test_close(c);

  /* An id this server never gave starts from now. */
  sse s6;
  sse_init(&s6);
  c = api_events_test_open(ev, stats.last_id + 1000, st);
  CHECK_INT_EQ(drain(c, &s6, 700), 0);
  CHECK_INT_EQ(s6.nf, 0);
  pub(ev, "after", 0);
  CHECK_INT_EQ(drain(c, &s6, 700), 0);
  CHECK_INT_EQ(s6.nf, 1);
  api_events_test_close(c);

  /* Shutdown ends the streams and refuses new ones. */
  sse s7;
  sse_init(&s7);
  c = api_events_test_open(ev, -1, st);
  CHECK_INT_EQ(drain(c, &s7, 700), 0);
  api_events_shutdown(ev);
  CHECK_INT_EQ(drain(c, &s7, 700), MHD_CONTENT_READER_END_OF_STREAM);
  CHECK(api_events_test_open(ev, -1, st) == NULL);
  api_events_test_close(c);
  api_events_destroy(ev);

  /* The race of replay and publishing: a second module on the same
   * database (ring 4096) publishes 400 events while a client replays
   * everything from the start; it ends with all of them, once, in
   * order. */
  ev = api_events_create(NULL, db, NULL, 8, 4096, &err);
  CHECK(ev != NULL);
  if (ev) {
    sse s8;
    sse_init(&s8);
    race_arg ra = {ev, 400};
    pthread_t th;
    int started = pthread_create(&th, NULL, race_pub, &ra) == 0;
    c = api_events_test_open(ev, 0, st);
    CHECK(c != NULL);
    if (c) {
      for (int i = 0; i < 50; i++) {
        CHECK(drain(c, &s8, 900) == 0);
        sse_sleep(0.002);
      }
    }
    if (started)
      pthread_join(th, NULL);
    if (c) {
      CHECK_INT_EQ(drain(c, &s8, 900), 0);
      argus_store_id last = 0;
      CHECK_OK(argus_store_event_last_id(st, &last, NULL));
      CHECK_INT_EQ(s8.nf ? s8.f[s8.nf - 1].id : 0, last);
      CHECK(sse_ids_increasing(&s8, "race"));
      int races = 0;
      for (int i = 0; i < s8.nf; i++)
        races += strcmp(s8.f[i].type, "race") == 0;
      CHECK_INT_EQ(races, 400);
      api_events_test_close(c);
    }
    api_events_destroy(ev);
    sse_free(&s8);
  }
  sse_free(&s1);
  sse_free(&s2);
  sse_free(&s3);
  sse_free(&s4);
  sse_free(&s5);
  sse_free(&s6);
  sse_free(&s7);
  argus_bus_close(bus);
  argus_store_close(st);
}

/* ---- part 2: over HTTP ----------------------------------------------------------- */

/* The frames of `b` after id `after`, compared with all of `a`'s. */
static int same_after(sse *a, sse *b, int64_t after, const char *what) {
  int j = 0;
  while (j < b->nf && b->f[j].id <= after)
    j++;
  int ok = 1;
  if (b->nf - j != a->nf) {
    fprintf(stderr, "%s: %d frames, the reference has %d after %lld\n", what,
            a->nf, b->nf - j, (long long)after);
    ok = 0;
  }
  for (int i = 0; ok && i < a->nf; i++, j++)
    if (a->f[i].id != b->f[j].id || strcmp(a->f[i].data, b->f[j].data) != 0) {
      fprintf(stderr, "%s: frame %d is id %lld, the reference's %lld\n", what,
              i, (long long)a->f[i].id, (long long)b->f[j].id);
      ok = 0;
    }
  return ok;
}

static long http_post(int port, const char *token, const char *path,
                      const char *body, char *out, size_t cap) {
  CURL *h = curl_easy_init();
  if (!h)
    return -1;
  char url[512], auth[300];
  snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
  snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
  struct curl_slist *hl = curl_slist_append(NULL, auth);
  hl = curl_slist_append(hl, "Content-Type: application/json");
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
  FILE *mem = fmemopen(out, cap, "w");
  if (mem)
    curl_easy_setopt(h, CURLOPT_WRITEDATA, mem);
  long st = -1;
  if (curl_easy_perform(h) == CURLE_OK)
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &st);
  if (mem)
    fclose(mem);
  curl_slist_free_all(hl);
  curl_easy_cleanup(h);
  return st;
}

/* A raw client that asks for the stream with a small receive buffer and
 * never reads. */
static int slow_client(int port, const char *token) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    return -1;
  int rb = 4096;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rb, sizeof rb);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
    close(fd);
    return -1;
  }
  char req[512];
  int n = snprintf(req, sizeof req,
                   "GET /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                   "Authorization: Bearer %s\r\n\r\n",
                   token);
  if (send(fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
    close(fd);
    return -1;
  }
  return fd;
}

/* A stream whose client went away while its connection was suspended is
 * noticed at the next write: publish one event and wait until at most n
 * clients remain. */
static int wait_clients(argus_api *api, api_events *ev, int n) {
  api_event_publish(api, "tick", "{}", 2);
  double end = sse_now() + 10;
  do {
    api_events_stats s;
    api_events_get_stats(ev, &s);
    if (s.clients <= n)
      return 1;
    sse_sleep(0.01);
  } while (sse_now() < end);
  return 0;
}

static void part_http(const char *dir) {
  char db[600];
  snprintf(db, sizeof db, "%s/http", dir);
  mkdir(db, 0700);
  snprintf(db, sizeof db, "%s/http/argus.db", dir);
  argus_store *st = NULL;
  argus_store_error se = {{0}};
  CHECK_OK(argus_store_open(db, NULL, &st, &se));
  if (!st) {
    fprintf(stderr, "%s: %s\n", db, se.msg);
    return;
  }
  argus_store_id uid = 0;
  char token[ARGUS_STORE_TOKEN_MAX] = "";
  CHECK_OK(argus_store_user_add(st, "op", "pw-op-123456789",
                                ARGUS_ROLE_OPERATOR, &uid, &se));
  CHECK_OK(argus_store_token_create(st, uid, "test", NULL, token, NULL, &se));
  /* An alert to decide on (the decision event). */
  argus_store_id wl = 0, person = 0, alert = 0;
  CHECK_OK(argus_store_watchlist_create(st, "vip", NAN, NULL, &wl, &se));
  argus_store_person_in pi = {0};
  pi.name = "Jane Roe";
  CHECK_OK(argus_store_person_add(st, "vip", &pi, NULL, NULL, 0, &person, &se));
  argus_store_alert_in ai = {0};
  ai.camera = "gate";
  ai.watchlist_id = wl;
  ai.person_id = person;
  ai.score = 0.8;
  ai.threshold = NAN;
  ai.track_start = NAN;
  CHECK_OK(argus_store_alert_insert(st, &ai, &alert, &se));

  argus_bus *bus = NULL;
  CHECK_OK(argus_bus_open(NULL, NULL, &bus, NULL));
  argus_api_config cfg;
  argus_api_config_init(&cfg);
  cfg.listen = "127.0.0.1:0";
  cfg.db_path = db;
  cfg.threads = 2;
  cfg.max_event_clients = 4;
  cfg.event_lag = 64;
  argus_api_parts parts = {0};
  parts.bus = bus;
  argus_api *api = NULL;
  argus_error_detail err = {{0}};
  argus_err e = argus_api_start(&cfg, &parts, &api, &err);
  if (e != ARGUS_OK) {
    fprintf(stderr, "argus_api_start: %s\n", err.msg);
    CHECK(0);
    argus_bus_close(bus);
    argus_store_close(st);
    return;
  }
  int port = argus_api_port(api);
  api_events *ev = api_server_events(api);
  CHECK(ev != NULL);

  /* B stays connected throughout: the reference. */
  sse_stream b;
  sse_stream_start(&b, port, token, NULL, -1);
  CHECK(sse_stream_wait_hello(&b));
  CHECK_INT_EQ(b.s.nf, 0);

  /* A sees 5 alerts, then is killed mid-stream. */
  sse_stream a;
  sse_stream_start(&a, port, token, NULL, -1);
  CHECK(sse_stream_wait_hello(&a));
  for (int i = 1; i <= 5; i++)
    bus_alert(bus, 100 + i, "vip");
  CHECK(sse_stream_wait_frames(&a, 5, 10));
  CHECK(sse_stream_wait_frames(&b, 5, 10));
  sse_stream_stop(&a);
  CHECK(strncmp(a.ctype, "text/event-stream", 17) == 0);
  CHECK_INT_EQ(a.status, 200);
  CHECK(sse_ids_increasing(&a.s, "A"));
  int64_t a_last = sse_last_id(&a.s);

  /* 100 events while A is away: more than the ring (64) holds. */
  /* In steps of 25 that B takes in before the next: B is the reference and
   * must never fall event_lag (64) behind, which a burst of 100 published
   * faster than a loaded machine schedules the server's threads would do. */
  for (int i = 0; i < 50; i++) {
    bus_alert(bus, 200 + i, "vip");
    if ((i + 1) % 25 == 0) {
      CHECK_OK(argus_bus_flush(bus, 10));
      CHECK(sse_stream_wait_frames(&b, 5 + i + 1, 10));
    }
  }
  for (int i = 0; i < 50; i++) {
    api_event_publish(api, "decision", "{\"alert_id\":1,\"decision\":\"x\"}",
                      strlen("{\"alert_id\":1,\"decision\":\"x\"}"));
    if ((i + 1) % 25 == 0)
      CHECK(sse_stream_wait_frames(&b, 55 + i + 1, 10));
  }
  CHECK(sse_stream_wait_frames(&b, 105, 10));

  /* A comes back with Last-Event-ID: the 100 it missed, once, in order. */
  sse_stream a2;
  sse_stream_start(&a2, port, token, NULL, a_last);
  CHECK(sse_stream_wait_frames(&a2, 100, 10));
  sse_sleep(0.2);
  CHECK_INT_EQ(sse_count(&a2.s), 100);
  /* ... and with ?after= (clients that cannot set headers). */
  sse_stream a3;
  char q[64];
  snprintf(q, sizeof q, "?after=%lld", (long long)a_last);
  sse_stream_start(&a3, port, token, q, -1);
  CHECK(sse_stream_wait_frames(&a3, 100, 10));
  /* Both go on live with B. */
  for (int i = 0; i < 3; i++)
    api_event_publish(api, "camera.change", "{\"id\":1}", 8);
  CHECK(sse_stream_wait_frames(&b, 108, 10));
  CHECK(sse_stream_wait_frames(&a2, 103, 10));
  CHECK(sse_stream_wait_frames(&a3, 103, 10));
  sse_sleep(0.2);
  pthread_mutex_lock(&b.s.mu);
  pthread_mutex_lock(&a2.s.mu);
  CHECK(sse_ids_increasing(&b.s, "B"));
  CHECK(same_after(&a2.s, &b.s, a_last, "A (Last-Event-ID)"));
  pthread_mutex_unlock(&a2.s.mu);
  pthread_mutex_lock(&a3.s.mu);
  CHECK(same_after(&a3.s, &b.s, a_last, "A (?after=)"));
  pthread_mutex_unlock(&a3.s.mu);
  pthread_mutex_unlock(&b.s.mu);
  sse_stream_stop(&a3);
  CHECK(wait_clients(api, ev, 2));

  /* The limit: B, A2 and two more stream; a fifth gets 503. */
  sse_stream c, d, x;
  sse_stream_start(&c, port, token, NULL, -1);
  sse_stream_start(&d, port, token, NULL, -1);
  CHECK(sse_stream_wait_hello(&c));
  CHECK(sse_stream_wait_hello(&d));
  sse_stream_start(&x, port, token, NULL, -1);
  CHECK(sse_stream_wait_done(&x, 10));
  CHECK_INT_EQ(x.status, 503);
  CHECK(strstr(x.s.raw, "too_many_clients") != NULL);
  sse_stream_stop(&x);
  sse_stream_stop(&c);
  sse_stream_stop(&d);
  /* C and D went while suspended: a new client may be refused once, but
   * that wakes the idle streams, the gone ones end, and a retry within a
   * few seconds gets in, without any event published. */
  {
    int in = 0;
    double end0 = sse_now() + 5;
    while (!in && sse_now() < end0) {
      sse_stream e2;
      sse_stream_start(&e2, port, token, NULL, -1);
      in = sse_stream_wait_hello(&e2);
      if (!in) {
        CHECK_INT_EQ(e2.status, 503);
        fprintf(stderr, "refused once (gone clients still counted)\n");
      }
      sse_stream_stop(&e2);
      sse_free(&e2.s);
      if (!in)
        sse_sleep(0.3);
    }
    CHECK(in);
  }
  /* A bad Last-Event-ID. */
  sse_stream y;
  sse_stream_start(&y, port, token, "?after=12x", -1);
  CHECK(sse_stream_wait_done(&y, 10));
  CHECK_INT_EQ(y.status, 400);
  sse_stream_stop(&y);

  /* A client that never reads is dropped; B gets every event. */
  sse_stream_stop(&a2);
  CHECK(wait_clients(api, ev, 1));
  int slow = slow_client(port, token);
  CHECK(slow >= 0);
  sse_sleep(0.3);
  api_events_stats stats;
  api_events_get_stats(ev, &stats);
  uint64_t dropped0 = stats.clients_dropped;
  int b0 = sse_count(&b.s);
  size_t big = 32 << 10;
  char *j = malloc(big);
  if (j) {
    memset(j, 'y', big);
    memcpy(j, "{\"pad\":\"", 8);
    memcpy(j + big - 2, "\"}", 2);
    /* in steps of 32 that B takes in (B must stay within event_lag; the
     * client that never reads falls behind all the same) */
    for (int i = 0; i < 300; i++) {
      api_event_publish(api, "big", j, big);
      if ((i + 1) % 32 == 0)
        CHECK(sse_stream_wait_frames(&b, b0 + i + 1, 30));
    }
    free(j);
  }
  CHECK(sse_stream_wait_frames(&b, b0 + 300, 30));
  double end = sse_now() + 10;
  do {
    api_events_get_stats(ev, &stats);
    if (stats.clients_dropped > dropped0)
      break;
    sse_sleep(0.05);
  } while (sse_now() < end);
  CHECK(stats.clients_dropped > dropped0);
  if (slow >= 0)
    close(slow);

  /* A decision through the API arrives as a "decision" event (once the
   * decision handler publishes it). */
  {
    char path[128], out[1024] = "";
    snprintf(path, sizeof path, "/api/v1/alerts/%lld/decision",
             (long long)alert);
    int nb = sse_count(&b.s);
    long status =
        http_post(port, token, path,
                  "{\"decision\":\"confirmed\",\"comment\":\"seen\"}", out,
                  sizeof out);
    if (status == 501) {
      fprintf(stderr, "note: the decision handler is not there yet: the "
                      "decision event is not checked\n");
    } else {
      if (status != 200 && status != 201)
        fprintf(stderr, "decision: %ld %s\n", status, out);
      CHECK(status == 200 || status == 201);
      CHECK(sse_stream_wait_frames(&b, nb + 1, 10));
      pthread_mutex_lock(&b.s.mu);
      int found = 0;
      for (int i = nb; i < b.s.nf; i++)
        found += strcmp(b.s.f[i].type, "decision") == 0;
      pthread_mutex_unlock(&b.s.mu);
      CHECK_INT_EQ(found, 1);
    }
  }

  /* 15 s of silence bring a ": ping" comment; the stream stays open. */
  {
    pthread_mutex_lock(&b.s.mu);
    int p0 = b.s.pings;
    pthread_mutex_unlock(&b.s.mu);
    double end2 = sse_now() + 20;
    int p1 = p0;
    while (sse_now() < end2 && p1 == p0 && !atomic_load(&b.done)) {
      sse_sleep(0.1);
      pthread_mutex_lock(&b.s.mu);
      p1 = b.s.pings;
      pthread_mutex_unlock(&b.s.mu);
    }
    CHECK(p1 > p0);
    CHECK(!atomic_load(&b.done));
    int nb = sse_count(&b.s);
    api_event_publish(api, "after.ping", "{}", 2);
    CHECK(sse_stream_wait_frames(&b, nb + 1, 10));
  }

  /* Stopping the server ends the stream. */
  double t0 = sse_now();
  argus_api_stop(api);
  CHECK(sse_stream_wait_done(&b, 10));
  CHECK(sse_now() - t0 < 10);
  sse_stream_stop(&b);
  CHECK(sse_ids_increasing(&b.s, "B at the end"));

  sse_free(&a.s);
  sse_free(&a2.s);
  sse_free(&a3.s);
  sse_free(&b.s);
  sse_free(&c.s);
  sse_free(&d.s);
  sse_free(&x.s);
  sse_free(&y.s);
  argus_bus_close(bus);
  argus_store_close(st);
}

static void rm_rf(const char *dir) {
  char cmd[700];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0)
    fprintf(stderr, "could not remove %s\n", dir);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  char dir[] = "/tmp/argus-events-XXXXXX";
  if (!mkdtemp(dir)) {
    perror("mkdtemp");
    return 1;
  }
  part_module(dir);
  part_http(dir);
  rm_rf(dir);
  curl_global_cleanup();
  return check_report("test_api_events");
}
