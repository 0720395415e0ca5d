/* The live event stream: GET /api/v1/events as server-sent events.
 *
 * Publishing (bus dispatcher threads, handlers) is serialised by pub_mu:
 * the event is appended to the store's event log on the module's own
 * handle (its row id becomes the SSE id), formatted once into its SSE
 * frame and put into a ring of the last `lag` frames; then every suspended
 * client is resumed. Holding pub_mu across append and ring insertion keeps
 * the ring in id order, which replay relies on.
 *
 * A client is a libmicrohttpd content reader with a cursor into the ring
 * (next_seq: the ring position of the next frame; last_id: the newest id
 * it was given, so that a frame it already got from the store is skipped).
 * The reader copies whole frames under `mu`; when nothing is new it marks
 * the client suspended and suspends the connection while still holding
 * `mu`, so a publish either happened before the check (and is seen) or
 * comes after the suspension (and resumes it): no wake-up is lost. A
 * connection that is suspended costs no thread and no polling.
 *
 * Replay: a client that names an id older than the ring's oldest frame
 * reads the store's event log in pages (the first page in the handler on
 * the request's store handle, later ones in the reader on a handle of its
 * own). Before each page it notes the ring's head; after the last (short)
 * page it continues in the ring from that head: every event in the ring
 * below it was appended to the store before the page was read, so it was
 * in the page, and everything after it is in the ring (a frame already
 * sent from the store is skipped by id). Nothing is missed or repeated.
 *
 * A client that falls `lag` events behind (its cursor is older than the
 * ring's oldest frame) is dropped: its socket is shut down, so that a
 * client that stopped reading gives its connection back at once instead
 * of after the idle timeout; it reconnects with Last-Event-ID and replays.
 */
#include "events.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <microhttpd.h>

#include "argus/event.h"

#define EV_MOD "api.events"
/* Seconds of silence before a ": ping" comment. */
#define EV_PING_S 15.0
/* A replay page: events and bytes read from the store at a time. */
#define EV_PAGE_EVENTS 256
#define EV_PAGE_BYTES ((size_t)256 << 10)
/* Cameras whose last state is remembered (camera.status changes). */
#define EV_CAMS_MAX 4096
#define EV_STATE_MAX 32
/* The ring's frames hold at most this many bytes (older frames go first),
 * so that `lag` large events cannot take unbounded memory. */
#define EV_RING_BYTES ((size_t)64 << 20)

static const char ev_hello[] = ": hello\nretry: 2000\n\n";
static const char ev_ping[] = ": ping\n\n";

typedef struct ev_frame {
  int64_t id;
  char *buf; /* "id: N\nevent: T\ndata: ...\n\n" */
  size_t len;
} ev_frame;

typedef struct ev_client {
  api_events *ev;
  struct MHD_Connection *conn; /* NULL in unit tests */
  struct ev_client *prev, *next;
  /* Under ev->mu (the publisher and the heartbeat read them). */
  uint64_t next_seq;
  int64_t last_id;
  int suspended;
  int dropped;
  int replaying;
  uint64_t last_write_ns;
  /* The reader's own (one reader call at a time per connection). */
  char *pend; /* bytes to send before anything else */
  size_t pend_len, pend_off, pend_cap;
  argus_store *st; /* replay handle, opened when a replay needs it */
} ev_client;

typedef struct ev_cam {
  char name[ARGUS_EVENT_NAME_MAX];
  char state[EV_STATE_MAX];
  int connected;
} ev_cam;

/* Person changes of this process's gallery remembered to recognise the
 * change feed's report of them. */
#define EV_GALLERY_SEEN 16

struct api_events {
  api_server *srv;
  char *db_path;
  /* Publishing. */
  pthread_mutex_t pub_mu;
  argus_store *st;
  ev_cam *cams; /* under pub_mu */
  int ncams, cams_cap;
  void (*alert_hook)(void *user, int64_t event_id, const char *watchlist,
                     const char *json, size_t n);
  void *alert_user;
  /* The last person changes the gallery reported itself (seq 0), which the
   * change feed reports again from the store (under pub_mu). */
  struct {
    char action[32];
    int64_t person_id;
  } gal[EV_GALLERY_SEEN];
  int ngal, gal_next;
  argus_bus_sub *sub_alert, *sub_cam, *sub_wl;
  /* Ring and clients. */
  pthread_mutex_t mu;
  ev_frame *ring;
  uint64_t cap;        /* slots */
  uint64_t tail, head; /* frames [tail, head), at seq % cap */
  size_t ring_bytes;   /* their frames' bytes, at most EV_RING_BYTES */
  int64_t last_id;    /* newest id known (ring or store) */
  ev_client *clients;
  int nclients, max_clients;
  int closing;
  uint64_t last_sweep_ns; /* see client_open */
  uint64_t clients_total, clients_dropped, clients_refused;
  uint64_t events, events_failed, replayed;
  /* Connections a publisher resumes after letting go of mu (under
   * pub_mu: one publisher at a time), so that readers need not wait for
   * a thousand resumptions; shutdown waits until none is in flight. */
  struct MHD_Connection **wake;
  size_t nwake, cwake;
  int waking;
  pthread_cond_t wake_cv;
  /* Heartbeat. */
  pthread_t hb;
  int hb_started, hb_stop;
  pthread_cond_t hb_cv;
};

/* ---- helpers --------------------------------------------------------------- */

static uint64_t ev_tail(const api_events *ev) { return ev->tail; }

static int buf_reserve(char **buf, size_t *cap, size_t need) {
  if (need <= *cap)
    return 0;
  size_t n = *cap ? *cap : 1024;
  while (n < need)
    n *= 2;
  char *p = realloc(*buf, n);
  if (!p)
    return -1;
  *buf = p;
  *cap = n;
  return 0;
}

static int buf_put(char **buf, size_t *len, size_t *cap, const char *s,
                   size_t n) {
  if (buf_reserve(buf, cap, *len + n + 1) != 0)
    return -1;
  memcpy(*buf + *len, s, n);
  *len += n;
  (*buf)[*len] = '\0';
  return 0;
}

/* Appends one SSE frame: "id: N\nevent: T\n" then the data, one "data: "
 * line per line of it (CR, LF and CRLF end lines, as SSE reads them), and
 * the empty line that ends the event. */
static int frame_put(char **buf, size_t *len, size_t *cap, int64_t id,
                     const char *type, const char *data, size_t n) {
  char head[160];
  int h = snprintf(head, sizeof head, "id: %lld\nevent: %s\n", (long long)id,
                   type);
  if (h < 0 || (size_t)h >= sizeof head)
    return -1;
  if (buf_put(buf, len, cap, head, (size_t)h) != 0)
    return -1;
  size_t i = 0;
  do {
    size_t j = i;
    while (j < n && data[j] != '\n' && data[j] != '\r')
      j++;
    if (buf_put(buf, len, cap, "data: ", 6) != 0 ||
        buf_put(buf, len, cap, data + i, j - i) != 0 ||
        buf_put(buf, len, cap, "\n", 1) != 0)
      return -1;
    if (j < n && data[j] == '\r' && j + 1 < n && data[j + 1] == '\n')
      j++;
    i = j + 1;
  } while (i < n);
  return buf_put(buf, len, cap, "\n", 1);
}

static int type_ok(const char *t) {
  size_t n = t ? strlen(t) : 0;
  if (n == 0 || n > 63)
    return 0;
  for (size_t i = 0; i < n; i++) {
    char c = t[i];
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
          c == '_' || c == '-'))
      return 0;
  }
  return 1;
}

/* Ends the client's connection now (it fell behind): the reader is not
 * called while the socket is full, so shut the socket down; the daemon
 * sees the error and closes the connection. Under ev->mu, while the client
 * is registered: its free callback has not run, so the daemon has not
 * closed the socket yet and the descriptor is still the connection's. */
static void client_cut(ev_client *c) {
  if (!c->conn)
    return;
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(c->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
  if (ci)
    shutdown(ci->connect_fd, SHUT_RDWR);
}

/* Whether the client closed its end (EOF or reset). An event-stream client
 * sends nothing after its request, and a suspended connection is not
 * polled, so a client that went away is noticed here, before suspending,
 * instead of after two more writes. Pipelined bytes (a next request) are
 * left alone. */
static int client_gone(ev_client *c) {
  if (!c->conn)
    return 0;
  const union MHD_ConnectionInfo *ci =
      MHD_get_connection_info(c->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
  if (!ci)
    return 0;
  char b;
  ssize_t r = recv(ci->connect_fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
  return r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
                    errno != EINTR);
}

static void client_resume(ev_client *c) {
  if (!c->suspended)
    return;
  c->suspended = 0;
  if (c->conn)
    MHD_resume_connection(c->conn);
}

/* ---- publishing ------------------------------------------------------------ */

/* Appends, rings and wakes; under pub_mu. watchlist: the alert's (for the
 * hook), else NULL. */
static void publish_locked(api_events *ev, const char *type, const char *json,
                           size_t n, const char *watchlist) {
  argus_store_id id = 0;
  argus_store_error se = {{0}};
  argus_err e = ev->st ? argus_store_event_append(ev->st, type, json, n, &id,
                                                  &se)
                       : ARGUS_E_INTERNAL;
  if (e == ARGUS_E_IO) /* a busy database: one more try */
    e = argus_store_event_append(ev->st, type, json, n, &id, &se);
  char *fb = NULL;
  size_t flen = 0, fcap = 0;
  if (e == ARGUS_OK && frame_put(&fb, &flen, &fcap, id, type, json, n) != 0)
    e = ARGUS_E_NOMEM;
  if (e != ARGUS_OK) {
    free(fb);
    argus_log(ARGUS_LOG_ERROR, EV_MOD, "event %s not published: %s", type,
              se.msg[0] ? se.msg : argus_strerror(e));
    pthread_mutex_lock(&ev->mu);
    ev->events_failed++;
    pthread_mutex_unlock(&ev->mu);
    return;
  }

  pthread_mutex_lock(&ev->mu);
  while (ev->tail < ev->head &&
         (ev->head - ev->tail == ev->cap ||
          ev->ring_bytes + flen > EV_RING_BYTES)) {
    ev_frame *old = &ev->ring[ev->tail % ev->cap];
    ev->ring_bytes -= old->len;
    free(old->buf);
    old->buf = NULL;
    old->len = 0;
    ev->tail++;
  }
  ev_frame *f = &ev->ring[ev->head % ev->cap];
  f->id = id;
  f->buf = fb;
  f->len = flen;
  ev->ring_bytes += flen;
  ev->head++;
  if (id > ev->last_id)
    ev->last_id = id;
  ev->events++;
  uint64_t tail = ev_tail(ev);
  ev->nwake = 0;
  for (ev_client *c = ev->clients; c; c = c->next) {
    if (c->suspended) {
      /* Marked awake now; resumed below without mu. Until then it stays
       * suspended in the daemon, so it cannot end and be freed, and
       * nobody else resumes it (they look at c->suspended). */
      if (c->conn && ev->nwake == ev->cwake) {
        size_t nc = ev->cwake ? ev->cwake * 2 : 256;
        struct MHD_Connection **p = realloc(ev->wake, nc * sizeof *p);
        if (p) {
          ev->wake = p;
          ev->cwake = nc;
        }
      }
      if (c->conn && ev->nwake < ev->cwake) {
        c->suspended = 0;
        ev->wake[ev->nwake++] = c->conn;
      } else {
        client_resume(c);
      }
    } else if (!c->replaying && !c->dropped && c->next_seq < tail) {
      c->dropped = 1;
      ev->clients_dropped++;
      client_cut(c);
    }
  }
  ev->waking = ev->nwake > 0;
  pthread_mutex_unlock(&ev->mu);
  if (ev->nwake > 0) {
    for (size_t i = 0; i < ev->nwake; i++)
      MHD_resume_connection(ev->wake[i]);
    pthread_mutex_lock(&ev->mu);
    ev->waking = 0;
    pthread_cond_broadcast(&ev->wake_cv);
    pthread_mutex_unlock(&ev->mu);
  }

  if (watchlist && ev->alert_hook)
    ev->alert_hook(ev->alert_user, id, watchlist, json, n);
}

void api_events_publish(api_events *ev, const char *type, const char *json,
                        size_t n) {
  if (!ev || !type_ok(type) || !json || n < 2 || json[0] != '{' ||
      json[n - 1] != '}' || n > ARGUS_STORE_EVENT_MAX) {
    argus_log(ARGUS_LOG_ERROR, EV_MOD, "publish %s: bad event",
              type ? type : "(null)");
    return;
  }
  pthread_mutex_lock(&ev->pub_mu);
  publish_locked(ev, type, json, n, strcmp(type, "alert") == 0 ? "" : NULL);
  pthread_mutex_unlock(&ev->pub_mu);
}

void api_events_set_alert_hook(api_events *ev,
                               void (*fn)(void *user, int64_t event_id,
                                          const char *watchlist,
                                          const char *json, size_t n),
                               void *user) {
  if (!ev)
    return;
  pthread_mutex_lock(&ev->pub_mu);
  ev->alert_hook = fn;
  ev->alert_user = user;
  pthread_mutex_unlock(&ev->pub_mu);
}

/* ---- bus sources ------------------------------------------------------------ */

/* A typed event from a message (referenced: unref it), parsing text. */
static const argus_event *msg_event(const argus_bus_msg *m) {
  if (m->event) {
    argus_event_ref(m->event);
    return m->event;
  }
  argus_event *e = NULL;
  argus_error_detail err = {{0}};
  if (argus_event_from_json(m->data, m->size, &e, &err) != ARGUS_OK) {
    argus_log(ARGUS_LOG_WARN, EV_MOD, "%s %s: %s", m->topic, m->id, err.msg);
    return NULL;
  }
  return e;
}

/* "alert": a stored alert (alert_id > 0) becomes an "alert" event whose
 * data is the alert as the API shows it, with its image URLs. */
static void on_alert(void *user, const argus_bus_msg *m) {
  api_events *ev = user;
  const argus_event *e = msg_event(m);
  if (!e)
    return;
  const argus_event_alert *a = &e->u.alert;
  if (e->type == ARGUS_EVENT_ALERT && a->alert_id > 0 && !a->suppressed[0]) {
    char crop[96], thumb[96];
    snprintf(crop, sizeof crop, API_PREFIX "/alerts/%lld/crop",
             (long long)a->alert_id);
    snprintf(thumb, sizeof thumb, API_PREFIX "/alerts/%lld/thumb",
             (long long)a->alert_id);
    char buf[8192];
    argus_json j;
    argus_json_init(&j, buf, sizeof buf);
    argus_json_obj_begin(&j, NULL);
    argus_event_alert_json(a, a->crop_sha256[0] ? crop : NULL,
                           a->thumb_sha256[0] ? thumb : NULL, &j);
    argus_json_str(&j, "status", "pending");
    argus_json_obj_end(&j);
    size_t n = argus_json_finish(&j);
    if (n > 0) {
      pthread_mutex_lock(&ev->pub_mu);
      publish_locked(ev, "alert", buf, n, a->watchlist);
      pthread_mutex_unlock(&ev->pub_mu);
    } else {
      argus_log(ARGUS_LOG_ERROR, EV_MOD, "alert %lld: document too large",
                (long long)a->alert_id);
    }
  }
  argus_event_unref(e);
}

/* The audit actions the API writes next to the store's own row of the
 * same change (with the user and the address): never a change of their
 * own. */
static int api_audit_only(const char *action) {
  return strcmp(action, "person.enrol") == 0 ||
         strcmp(action, "person.photos_add") == 0 ||
         strcmp(action, "person.delete") == 0;
}

/* 1 when a typed watchlist.change reports a change that reached the
 * clients already, so that one change makes one event. The change feed
 * (seq: the audit row) reports every enrolment change in the store; its
 * report is dropped for:
 * - changes to a watchlist itself made through this API (actor "api:*"):
 *   the handler published them, with the user and the name
 *   (h_watchlists.c);
 * - the API's own audit rows of a change (api_audit_only, actor "api:*");
 * - person changes this process's gallery reported already (seq 0: kept
 *   in ev->gal when they passed; one report each).
 * Changes made elsewhere (the CLI, another process) pass. Under pub_mu
 * (the module's store handle, ev->gal). */
static int reported_already(api_events *ev, const argus_event *e) {
  const argus_event_watchlist *w = &e->u.watchlist;
  if (e->type != ARGUS_EVENT_WATCHLIST)
    return 0;
  if (w->seq <= 0) {
    if (w->what == ARGUS_EVENT_CHANGE_PERSON && w->person_id > 0) {
      int k = ev->gal_next;
      snprintf(ev->gal[k].action, sizeof ev->gal[k].action, "%s", w->action);
      ev->gal[k].person_id = w->person_id;
      ev->gal_next = (k + 1) % EV_GALLERY_SEEN;
      if (ev->ngal < EV_GALLERY_SEEN)
        ev->ngal++;
    }
    return 0;
  }
  if (!ev->st)
    return 0;
  argus_store_audit_filter f;
  memset(&f, 0, sizeof f);
  f.before_id = w->seq + 1;
  f.limit = 1;
  argus_store_audit *rows = NULL;
  size_t n = 0;
  if (argus_store_audit_query(ev->st, &f, &rows, &n, NULL) != ARGUS_OK)
    return 0;
  int drop = 0;
  if (n == 1 && rows[0].id == w->seq) {
    const char *a = rows[0].action;
    if (strncmp(rows[0].actor, "api:", 4) == 0)
      drop = strncmp(a, "watchlist.", 10) == 0 || api_audit_only(a);
    /* The gallery writes on its own handle (another actor). */
    for (int i = 0; !drop && i < ev->ngal; i++)
      if (ev->gal[i].person_id == rows[0].object_id &&
          strcmp(ev->gal[i].action, a) == 0) {
        ev->gal[i].person_id = 0; /* one report each */
        drop = 1;
      }
  }
  argus_store_free(rows);
  return drop;
}

/* "watchlist.change": passed on as its document (once per change: see
 * reported_already). */
static void on_watchlist(void *user, const argus_bus_msg *m) {
  api_events *ev = user;
  if (!m->event) {
    if (m->size >= 2 && m->size <= ARGUS_STORE_EVENT_MAX) {
      pthread_mutex_lock(&ev->pub_mu);
      publish_locked(ev, "watchlist.change", m->data, m->size, NULL);
      pthread_mutex_unlock(&ev->pub_mu);
    }
    return;
  }
  char buf[8192];
  size_t n = 0;
  if (argus_event_to_json(m->event, buf, sizeof buf, &n) != ARGUS_OK ||
      n < 2) {
    argus_log(ARGUS_LOG_WARN, EV_MOD, "watchlist.change %s: not written",
              m->id);
    return;
  }
  pthread_mutex_lock(&ev->pub_mu);
  if (!reported_already(ev, m->event))
    publish_locked(ev, "watchlist.change", buf, n, NULL);
  pthread_mutex_unlock(&ev->pub_mu);
}

/* "camera.status": periodic; an event only when a camera's state (or its
 * connected flag) differs from the last one seen, the first one included. */
static void on_camera(void *user, const argus_bus_msg *m) {
  api_events *ev = user;
  if (m->size < 2 || m->size > ARGUS_STORE_EVENT_MAX)
    return;
  cJSON *doc = cJSON_ParseWithLength(m->data, m->size);
  if (!doc)
    return;
  const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(doc, "camera"));
  const char *state = cJSON_GetStringValue(cJSON_GetObjectItem(doc, "state"));
  int connected = cJSON_IsTrue(cJSON_GetObjectItem(doc, "connected"));
  if (!name || !state || strlen(name) >= ARGUS_EVENT_NAME_MAX) {
    cJSON_Delete(doc);
    return;
  }
  pthread_mutex_lock(&ev->pub_mu);
  ev_cam *cam = NULL;
  for (int i = 0; i < ev->ncams; i++)
    if (strcmp(ev->cams[i].name, name) == 0) {
      cam = &ev->cams[i];
      break;
    }
  int changed = 0;
  if (!cam && ev->ncams < EV_CAMS_MAX) {
    if (ev->ncams == ev->cams_cap) {
      int nc = ev->cams_cap ? ev->cams_cap * 2 : 16;
      ev_cam *p = realloc(ev->cams, (size_t)nc * sizeof *p);
      if (p) {
        ev->cams = p;
        ev->cams_cap = nc;
      }
    }
    if (ev->ncams < ev->cams_cap) {
      cam = &ev->cams[ev->ncams++];
      memset(cam, 0, sizeof *cam);
      snprintf(cam->name, sizeof cam->name, "%s", name);
      changed = 1;
    }
  }
  if (cam && (changed || strncmp(cam->state, state, sizeof cam->state) != 0 ||
              cam->connected != connected)) {
    changed = 1;
    snprintf(cam->state, sizeof cam->state, "%s", state);
    cam->connected = connected;
  }
  if (changed)
    publish_locked(ev, "camera.status", m->data, m->size, NULL);
  pthread_mutex_unlock(&ev->pub_mu);
  cJSON_Delete(doc);
}

/* ---- heartbeat --------------------------------------------------------------- */

static void *hb_main(void *arg) {
  api_events *ev = arg;
  pthread_mutex_lock(&ev->mu);
  while (!ev->hb_stop) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += 1;
    pthread_cond_timedwait(&ev->hb_cv, &ev->mu, &ts);
    if (ev->hb_stop)
      break;
    uint64_t now = argus_time_ns();
    for (ev_client *c = ev->clients; c; c = c->next)
      if (c->suspended &&
          now - c->last_write_ns >= (uint64_t)(EV_PING_S * 1e9))
        client_resume(c);
  }
  pthread_mutex_unlock(&ev->mu);
  return NULL;
}

/* ---- life ------------------------------------------------------------------------ */

api_events *api_events_create(api_server *srv, const char *db_path,
                              argus_bus *bus, int max_clients, int lag,
                              argus_error_detail *err) {
  api_events *ev = calloc(1, sizeof *ev);
  if (!ev) {
    argus_error_detail_set(err, "out of memory");
    return NULL;
  }
  ev->srv = srv;
  ev->max_clients = max_clients > 0 ? max_clients : 2048;
  ev->cap = (uint64_t)(lag > 0 ? lag : 4096);
  pthread_mutex_init(&ev->pub_mu, NULL);
  pthread_mutex_init(&ev->mu, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&ev->hb_cv, &ca);
  pthread_condattr_destroy(&ca);
  pthread_cond_init(&ev->wake_cv, NULL);
  ev->ring = calloc((size_t)ev->cap, sizeof *ev->ring);
  if (!ev->ring || (db_path && !(ev->db_path = strdup(db_path)))) {
    argus_error_detail_set(err, "out of memory");
    goto fail;
  }
  argus_store_options so = {0};
  so.actor = "api:events";
  argus_store_error se = {{0}};
  argus_err e = argus_store_open(db_path, &so, &ev->st, &se);
  if (e != ARGUS_OK) {
    argus_error_detail_set(err, "event log: %s", se.msg);
    goto fail;
  }
  argus_store_id last = 0;
  if (argus_store_event_last_id(ev->st, &last, &se) != ARGUS_OK) {
    argus_error_detail_set(err, "event log: %s", se.msg);
    goto fail;
  }
  ev->last_id = last;
  if (bus) {
    argus_bus_sub_options o = {0};
    o.user = ev;
    o.events = 1;
    o.pattern = ARGUS_BUS_TOPIC_ALERT;
    o.queue_msgs = 4096;
    o.queue_bytes = (size_t)16 << 20;
    o.handler = on_alert;
    if (argus_bus_subscribe(bus, &o, &ev->sub_alert, err) != ARGUS_OK)
      goto fail;
    o.pattern = ARGUS_BUS_TOPIC_WATCHLIST;
    o.queue_msgs = 1024;
    o.queue_bytes = (size_t)4 << 20;
    o.handler = on_watchlist;
    if (argus_bus_subscribe(bus, &o, &ev->sub_wl, err) != ARGUS_OK)
      goto fail;
    o.pattern = ARGUS_BUS_TOPIC_CAMERA;
    o.events = 0;
    o.handler = on_camera;
    if (argus_bus_subscribe(bus, &o, &ev->sub_cam, err) != ARGUS_OK)
      goto fail;
  }
  if (pthread_create(&ev->hb, NULL, hb_main, ev) != 0) {
    argus_error_detail_set(err, "cannot start the heartbeat thread");
    goto fail;
  }
  ev->hb_started = 1;
  return ev;
fail:
  api_events_destroy(ev);
  return NULL;
}

void api_events_shutdown(api_events *ev) {
  if (!ev)
    return;
  pthread_mutex_lock(&ev->mu);
  ev->closing = 1;
  for (ev_client *c = ev->clients; c; c = c->next)
    client_resume(c);
  while (ev->waking)
    pthread_cond_wait(&ev->wake_cv, &ev->mu);
  pthread_mutex_unlock(&ev->mu);
}

static void client_free(ev_client *c) {
  argus_store_close(c->st);
  free(c->pend);
  free(c);
}

void api_events_destroy(api_events *ev) {
  if (!ev)
    return;
  /* No callback runs once these return; then nothing publishes. */
  argus_bus_unsubscribe(ev->sub_alert);
  argus_bus_unsubscribe(ev->sub_wl);
  argus_bus_unsubscribe(ev->sub_cam);
  if (ev->hb_started) {
    pthread_mutex_lock(&ev->mu);
    ev->hb_stop = 1;
    pthread_cond_signal(&ev->hb_cv);
    pthread_mutex_unlock(&ev->mu);
    pthread_join(ev->hb, NULL);
  }
  /* The daemon has stopped: every connection's free callback ran. What is
   * left was never handed to one (unit tests). */
  while (ev->clients) {
    ev_client *c = ev->clients;
    ev->clients = c->next;
    client_free(c);
  }
  if (ev->ring)
    for (uint64_t i = 0; i < ev->cap; i++)
      free(ev->ring[i].buf);
  free(ev->ring);
  free(ev->cams);
  argus_store_close(ev->st);
  free(ev->db_path);
  free(ev->wake);
  pthread_cond_destroy(&ev->wake_cv);
  pthread_cond_destroy(&ev->hb_cv);
  pthread_mutex_destroy(&ev->mu);
  pthread_mutex_destroy(&ev->pub_mu);
  free(ev);
}

void api_events_get_stats(api_events *ev, api_events_stats *out) {
  memset(out, 0, sizeof *out);
  if (!ev)
    return;
  pthread_mutex_lock(&ev->mu);
  out->clients = ev->nclients;
  out->clients_total = ev->clients_total;
  out->clients_dropped = ev->clients_dropped;
  out->clients_refused = ev->clients_refused;
  out->events = ev->events;
  out->events_failed = ev->events_failed;
  out->replayed = ev->replayed;
  out->last_id = ev->last_id;
  pthread_mutex_unlock(&ev->mu);
}

/* ---- clients ------------------------------------------------------------------- */

typedef struct page_ctx {
  ev_client *c;
  size_t count;
  int full; /* stopped for bytes */
  int failed;
} page_ctx;

static int page_one(void *user, const argus_store_event *e) {
  page_ctx *p = user;
  ev_client *c = p->c;
  if (e->id <= c->last_id)
    return 0;
  if (frame_put(&c->pend, &c->pend_len, &c->pend_cap, e->id,
                type_ok(e->type) ? e->type : "event", e->data,
                e->size) != 0) {
    p->failed = 1;
    return 1;
  }
  c->last_id = e->id;
  p->count++;
  if (c->pend_len >= EV_PAGE_BYTES) {
    p->full = 1;
    return 1;
  }
  return 0;
}

/* Reads the next page of a replay into c->pend; when the store has no more,
 * the client goes on in the ring from the head noted before the read.
 * 0, or -1 (err says why). */
static int replay_page(api_events *ev, ev_client *c, argus_store *st,
                       argus_store_error *err) {
  pthread_mutex_lock(&ev->mu);
  uint64_t head = ev->head;
  pthread_mutex_unlock(&ev->mu);
  page_ctx p = {c, 0, 0, 0};
  argus_err e = argus_store_event_foreach(st, c->last_id, EV_PAGE_EVENTS,
                                          page_one, &p, err);
  if (e != ARGUS_OK)
    return -1;
  if (p.failed) {
    argus_error_detail_set(err, "out of memory");
    return -1;
  }
  pthread_mutex_lock(&ev->mu);
  ev->replayed += p.count;
  if (!p.full && p.count < EV_PAGE_EVENTS) {
    c->replaying = 0;
    c->next_seq = head;
  }
  pthread_mutex_unlock(&ev->mu);
  return 0;
}

static size_t pend_take(ev_client *c, char *buf, size_t max) {
  size_t n = c->pend_len - c->pend_off;
  if (n > max)
    n = max;
  memcpy(buf, c->pend + c->pend_off, n);
  c->pend_off += n;
  if (c->pend_off == c->pend_len)
    c->pend_off = c->pend_len = 0;
  return n;
}

static int64_t ev_reader(void *ctx, uint64_t pos, char *buf, size_t max) {
  ev_client *c = ctx;
  api_events *ev = c->ev;
  (void)pos;
  pthread_mutex_lock(&ev->mu);
  int closing = ev->closing, dropped = c->dropped;
  pthread_mutex_unlock(&ev->mu);
  if (closing)
    return MHD_CONTENT_READER_END_OF_STREAM;
  if (dropped)
    return MHD_CONTENT_READER_END_WITH_ERROR;
  if (max == 0)
    return 0;

  if (c->pend_len == 0) {
    pthread_mutex_lock(&ev->mu);
    int replaying = c->replaying;
    pthread_mutex_unlock(&ev->mu);
    if (replaying) {
      argus_store_error se = {{0}};
      if (!c->st) {
        argus_store_options so = {0};
        so.read_only = 1;
        so.actor = "api:events";
        if (argus_store_open(ev->db_path, &so, &c->st, &se) != ARGUS_OK) {
          argus_log(ARGUS_LOG_ERROR, EV_MOD, "replay: %s", se.msg);
          return MHD_CONTENT_READER_END_WITH_ERROR;
        }
      }
      if (replay_page(ev, c, c->st, &se) != 0) {
        argus_log(ARGUS_LOG_ERROR, EV_MOD, "replay: %s", se.msg);
        return MHD_CONTENT_READER_END_WITH_ERROR;
      }
      pthread_mutex_lock(&ev->mu);
      replaying = c->replaying;
      pthread_mutex_unlock(&ev->mu);
      if (!replaying) {
        argus_store_close(c->st);
        c->st = NULL;
      }
    }
  }
  size_t n = 0;
  if (c->pend_len > 0)
    n = pend_take(c, buf, max);

  pthread_mutex_lock(&ev->mu);
  if (c->pend_len == 0 && !c->replaying) {
    if (c->next_seq < ev_tail(ev)) {
      if (!c->dropped) {
        c->dropped = 1;
        ev->clients_dropped++;
      }
      pthread_mutex_unlock(&ev->mu);
      /* What was copied goes out; the next call ends the stream. */
      return n > 0 ? (int64_t)n : MHD_CONTENT_READER_END_WITH_ERROR;
    }
    while (c->next_seq < ev->head) {
      const ev_frame *f = &ev->ring[c->next_seq % ev->cap];
      if (f->id <= c->last_id) {
        c->next_seq++;
        continue;
      }
      if (f->len <= max - n) {
        memcpy(buf + n, f->buf, f->len);
        n += f->len;
      } else if (n == 0) {
        /* Larger than what fits now: the rest goes out from pend. */
        if (buf_put(&c->pend, &c->pend_len, &c->pend_cap, f->buf, f->len) !=
            0) {
          pthread_mutex_unlock(&ev->mu);
          return MHD_CONTENT_READER_END_WITH_ERROR;
        }
        c->last_id = f->id;
        c->next_seq++;
        n = pend_take(c, buf, max);
        break;
      } else {
        break;
      }
      c->last_id = f->id;
      c->next_seq++;
    }
  }
  uint64_t now = argus_time_ns();
  if (n == 0 && now - c->last_write_ns >= (uint64_t)(EV_PING_S * 1e9)) {
    size_t k = sizeof ev_ping - 1;
    if (k <= max) {
      memcpy(buf, ev_ping, k);
      n = k;
    }
  }
  if (n == 0) {
    if (client_gone(c)) {
      pthread_mutex_unlock(&ev->mu);
      return MHD_CONTENT_READER_END_WITH_ERROR;
    }
    /* Nothing to send: suspend while holding mu, so that a publish after
     * the checks above finds the client suspended and resumes it. */
    c->suspended = 1;
    if (c->conn)
      MHD_suspend_connection(c->conn);
    pthread_mutex_unlock(&ev->mu);
    return 0;
  }
  c->last_write_ns = now;
  pthread_mutex_unlock(&ev->mu);
  return (int64_t)n;
}

static void ev_client_gone(void *ctx) {
  ev_client *c = ctx;
  api_events *ev = c->ev;
  pthread_mutex_lock(&ev->mu);
  if (c->prev)
    c->prev->next = c->next;
  else if (ev->clients == c)
    ev->clients = c->next;
  if (c->next)
    c->next->prev = c->prev;
  ev->nclients--;
  pthread_mutex_unlock(&ev->mu);
  client_free(c);
}

/* Parses an event id ("0".."9223372036854775807"): 1, or 0 when s is not
 * one. */
static int parse_id(const char *s, int64_t *out) {
  while (*s == ' ' || *s == '\t')
    s++;
  if (*s < '0' || *s > '9')
    return 0;
  int64_t v = 0;
  for (; *s >= '0' && *s <= '9'; s++) {
    if (v > (INT64_MAX - (*s - '0')) / 10)
      return 0;
    v = v * 10 + (*s - '0');
  }
  while (*s == ' ' || *s == '\t')
    s++;
  if (*s)
    return 0;
  *out = v;
  return 1;
}

/* Registers a new client starting after event `after` (-1: new events
 * only). Returns the client, or NULL with *why set ("too_many_clients",
 * "shutting_down", "nomem"). */
static ev_client *client_open(api_events *ev, void *conn, int64_t after,
                              const char **why) {
  ev_client *c = calloc(1, sizeof *c);
  if (!c) {
    *why = "nomem";
    return NULL;
  }
  c->ev = ev;
  c->conn = conn;
  /* The greeting goes first, before any replayed event. */
  if (buf_put(&c->pend, &c->pend_len, &c->pend_cap, ev_hello,
              sizeof ev_hello - 1) != 0) {
    *why = "nomem";
    free(c);
    return NULL;
  }
  pthread_mutex_lock(&ev->mu);
  if (ev->closing || ev->nclients >= ev->max_clients) {
    *why = ev->closing ? "shutting_down" : "too_many_clients";
    if (!ev->closing) {
      ev->clients_refused++;
      /* Some of the clients may have gone while suspended (they are only
       * noticed when resumed): wake the idle ones, at most once a second,
       * so that those end and a retry finds room. */
      uint64_t now = argus_time_ns();
      if (now - ev->last_sweep_ns >= 1000000000ull) {
        ev->last_sweep_ns = now;
        for (ev_client *o = ev->clients; o; o = o->next)
          client_resume(o);
      }
    }
    pthread_mutex_unlock(&ev->mu);
    client_free(c);
    return NULL;
  }
  c->next = ev->clients;
  if (ev->clients)
    ev->clients->prev = c;
  ev->clients = c;
  ev->nclients++;
  ev->clients_total++;
  c->last_write_ns = argus_time_ns();
  uint64_t tail = ev_tail(ev);
  if (after < 0 || after > ev->last_id) {
    /* New events only; an id this server never gave (another database)
     * also starts from now. */
    c->next_seq = ev->head;
    c->last_id = 0;
  } else if (after == ev->last_id) {
    c->next_seq = ev->head;
    c->last_id = after;
  } else if (tail < ev->head && ev->ring[tail % ev->cap].id <= after) {
    /* In the ring: the first frame after `after`. */
    uint64_t lo = tail, hi = ev->head;
    while (lo < hi) {
      uint64_t mid = lo + (hi - lo) / 2;
      if (ev->ring[mid % ev->cap].id <= after)
        lo = mid + 1;
      else
        hi = mid;
    }
    c->next_seq = lo;
    c->last_id = after;
  } else {
    c->replaying = 1;
    c->last_id = after;
  }
  pthread_mutex_unlock(&ev->mu);
  return c;
}

API_HANDLER(api_h_events) {
  api_events *ev = api_server_events(r->srv);
  if (!ev) {
    api_reply_error(r, 503, "unavailable", "the live event stream is off");
    return;
  }
  int64_t after = -1;
  const char *h = api_header(r, "Last-Event-ID");
  const char *what = "Last-Event-ID";
  if (!h || !*h) {
    h = api_query(r, "after");
    what = "after";
  }
  if (h && *h && !parse_id(h, &after)) {
    api_reply_error(r, 400, "bad_request", "%s: expected an event id", what);
    return;
  }
  const char *why = NULL;
  ev_client *c = client_open(ev, api_req_connection(r), after, &why);
  if (!c) {
    if (strcmp(why, "too_many_clients") == 0)
      api_reply_error(r, 503, "too_many_clients",
                      "too many event-stream clients (at most %d)",
                      ev->max_clients);
    else if (strcmp(why, "shutting_down") == 0)
      api_reply_error(r, 503, "shutting_down", "the server is stopping");
    else
      api_reply_error(r, 500, "internal", "out of memory");
    return;
  }
  if (c->replaying) { /* only this thread changes it yet */
    /* The first page here, on the request's store handle: a short outage
     * needs no handle of its own. */
    argus_store *st = api_store(r);
    argus_store_error se = {{0}};
    if (!st) {
      ev_client_gone(c);
      return;
    }
    if (replay_page(ev, c, st, &se) != 0) {
      ev_client_gone(c);
      api_reply_error(r, 500, "internal", "event log: %s", se.msg);
      return;
    }
  }
  api_reply_stream(r, ev_reader, ev_client_gone, c);
}

/* ---- unit-test access --------------------------------------------------------- */

/* For tests/test_api_events.c: a client without a connection, read by
 * calling the reader directly. */
void *api_events_test_open(api_events *ev, int64_t after, argus_store *st);
int64_t api_events_test_read(void *client, char *buf, size_t max);
void api_events_test_close(void *client);

void *api_events_test_open(api_events *ev, int64_t after, argus_store *st) {
  const char *why = NULL;
  ev_client *c = client_open(ev, NULL, after, &why);
  if (c && c->replaying) {
    argus_store_error se = {{0}};
    if (replay_page(ev, c, st, &se) != 0) {
      ev_client_gone(c);
      return NULL;
    }
  }
  return c;
}

int64_t api_events_test_read(void *client, char *buf, size_t max) {
  return ev_reader(client, 0, buf, max);
}

void api_events_test_close(void *client) { ev_client_gone(client); }
