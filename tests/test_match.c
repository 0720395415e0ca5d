/* The match stage (include/argus/match.h) on a synthetic gallery of a
 * made-up model: persons with random unit templates in watchlists with
 * their thresholds, face events near one of them or far from all.
 *
 * Decisions: one alert per person per track (camera, track), and at most
 * one per person per camera within the cooldown (the camera's media time);
 * other cameras and other persons are independent; cooldown 0 turns it off.
 * (These replace the tracker's alert tests, removed from test_track.c when
 * the decisions moved here.) The memory ring and its `forgotten` counter.
 * Faces that match nobody (a face.unmatched event with retention on),
 * faces of another model (refused, counted), the watchlists searched, the
 * matcher on a bus (face in, alert.raised out, referencing the face), and
 * enrolment changes made through another store handle: applied by person,
 * by full reload, and by a watchlist.change document on the bus; the
 * store's change feed that tells of them. */
#define _GNU_SOURCE
#include <ftw.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "argus/bus.h"
#include "argus/event.h"
#include "argus/gallery.h"
#include "argus/match.h"
#include "argus/store.h"
#include "check.h"

static char g_root[512];

static int rm_cb(const char *path, const struct stat *sb, int flag,
                 struct FTW *ftw) {
  (void)sb;
  (void)flag;
  (void)ftw;
  return remove(path);
}

static void rm_rf(const char *path) {
  nftw(path, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

static uint32_t rng(uint32_t *s) {
  uint32_t x = *s ? *s : 0x9e3779b9u;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  *s = x;
  return x;
}

static float rnd(uint32_t *s) {
  return (float)(rng(s) >> 8) / 16777216.0f * 2.0f - 1.0f;
}

#define DIM 64
#define MODEL "synth@1"
#define THRESHOLD 0.6f

static void unit(float *v, int n) {
  double ss = 0;
  for (int i = 0; i < n; i++)
    ss += (double)v[i] * v[i];
  float k = (float)(1.0 / sqrt(ss));
  for (int i = 0; i < n; i++)
    v[i] *= k;
}

static void random_unit(uint32_t *s, float *v) {
  for (int i = 0; i < DIM; i++)
    v[i] = rnd(s);
  unit(v, DIM);
}

static void noisy(uint32_t *s, const float *v, float amount, float *out) {
  for (int i = 0; i < DIM; i++)
    out[i] = v[i] + amount * rnd(s);
  unit(out, DIM);
}

/* A synthetic accepted photo: the vector and unique pseudo-JPEG bytes
 * (the store hashes crops, it does not decode them). */
typedef struct synth {
  argus_gallery_photo p;
  float v[DIM];
  unsigned char crop[64];
} synth;

static void synth_photo(synth *s, const float *v, uint32_t tag) {
  memset(s, 0, sizeof *s);
  memcpy(s->v, v, sizeof s->v);
  s->crop[0] = 0xff;
  s->crop[1] = 0xd8;
  for (int i = 2; i < 62; i++)
    s->crop[i] = (unsigned char)(tag * 2654435761u >> (i % 24));
  memcpy(s->crop + 2, &tag, sizeof tag);
  s->crop[62] = 0xff;
  s->crop[63] = 0xd9;
  s->p.reason = ARGUS_GALLERY_ACCEPTED;
  snprintf(s->p.model_id, sizeof s->p.model_id, "%s", MODEL);
  s->p.dim = DIM;
  s->p.vector = s->v;
  s->p.crop = s->crop;
  s->p.crop_size = sizeof s->crop;
  s->p.quality = 0.9f;
  s->p.source = "synthetic";
}

static void db_path(const char *name, char *path, size_t cap) {
  snprintf(path, cap, "%s/%s.d", g_root, name);
  mkdir(path, 0700);
  snprintf(path, cap, "%s/%s.d/%s", g_root, name, name);
}

/* Each database in a folder of its own (its crops live next to it). */
static argus_store *open_store(const char *name) {
  char path[700];
  db_path(name, path, sizeof path);
  argus_store_options o;
  memset(&o, 0, sizeof o);
  o.actor = "test:match";
  argus_store *s = NULL;
  argus_store_error se = {{0}};
  argus_err e = argus_store_open(path, &o, &s, &se);
  CHECK_OK(e);
  if (e)
    fprintf(stderr, "%s\n", se.msg);
  return s;
}

static void synth_config(argus_gallery_config *cfg) {
  memset(cfg, 0, sizeof *cfg);
  snprintf(cfg->model_id, sizeof cfg->model_id, "%s", MODEL);
  cfg->dim = DIM;
  cfg->default_threshold = 0.5f;
  cfg->default_fmr = 1e-3;
}

static argus_store_id add_person(argus_gallery *g, const char *wl,
                                 const char *name, const float *v,
                                 uint32_t tag) {
  synth ph;
  synth_photo(&ph, v, tag);
  argus_store_person_in in = {name, NULL, NULL};
  argus_store_id id = 0;
  argus_gallery_error err = {{0}};
  argus_err e = argus_gallery_person_add(g, wl, &in, &ph.p, 1, &id, &err);
  CHECK_OK(e);
  if (e)
    fprintf(stderr, "add %s: %s\n", name, err.msg);
  return id;
}

/* ---- the synthetic world -------------------------------------------------- */

enum { P_A, P_B, P_C, P_D, NP };
static const char *const P_NAME[NP] = {"Ada", "Bob", "Cyd", "Dee"};
static const char *const P_WL[NP] = {"a", "a", "a", "b"};

typedef struct world {
  argus_store *s;
  argus_gallery *g;
  float v[NP][DIM];
  argus_store_id id[NP];
  argus_store_id wl_a, wl_b;
  uint32_t r;
} world;

static int world_open(world *w, const char *db) {
  memset(w, 0, sizeof *w);
  w->r = 12345;
  w->s = open_store(db);
  if (!w->s)
    return -1;
  argus_store_error se = {{0}};
  CHECK_OK(
      argus_store_watchlist_create(w->s, "a", THRESHOLD, NULL, &w->wl_a, &se));
  CHECK_OK(
      argus_store_watchlist_create(w->s, "b", THRESHOLD, NULL, &w->wl_b, &se));
  argus_gallery_config cfg;
  synth_config(&cfg);
  argus_gallery_error err = {{0}};
  CHECK_OK(argus_gallery_open(w->s, &cfg, &w->g, &err));
  if (!w->g) {
    fprintf(stderr, "gallery: %s\n", err.msg);
    return -1;
  }
  for (int p = 0; p < NP; p++) {
    random_unit(&w->r, w->v[p]);
    w->id[p] = add_person(w->g, P_WL[p], P_NAME[p], w->v[p], 100u + p);
  }
  return 0;
}

static void world_close(world *w) {
  argus_gallery_close(w->g);
  argus_store_close(w->s);
}

static unsigned g_face_seq;

/* A face event of `camera`/`track` at media time t whose embedding is v
 * (NULL: random, far from everyone with overwhelming probability) made by
 * `model` with `dim` floats. */
static argus_event *face_ev(const char *camera, uint64_t track, double t,
                            const float *v, const char *model, int dim) {
  argus_event *ev = NULL;
  float *emb = NULL;
  uint8_t *crop = NULL;
  CHECK_OK(argus_event_face_new(dim, 32, 0, &ev, &emb, &crop, NULL));
  if (!ev)
    return NULL;
  argus_event_face *f = &ev->u.face;
  uint32_t s = 777u + g_face_seq;
  for (int i = 0; i < dim; i++)
    emb[i] = v && i < DIM ? v[i] : rnd(&s);
  unit(emb, dim);
  for (int i = 0; i < 32; i++)
    crop[i] = (uint8_t)(i + g_face_seq);
  argus_sha256_hex(crop, 32, f->crop.sha256);
  snprintf(f->camera, sizeof f->camera, "%s", camera);
  f->wall_ns = argus_wall_ns();
  f->mono_ns = argus_time_ns();
  f->media_time = t;
  f->track = track;
  f->reason = ARGUS_EVENT_REASON_EARLY;
  f->quality = 0.8f;
  f->box[2] = f->box[3] = 100;
  snprintf(f->model, sizeof f->model, "%s", model);
  snprintf(ev->id, sizeof ev->id, "face-%u", ++g_face_seq);
  return ev;
}

/* A face near person p (or far from all: p < 0). */
static argus_event *face_of(world *w, int p, const char *camera, uint64_t track,
                            double t) {
  float q[DIM];
  if (p >= 0)
    noisy(&w->r, w->v[p], 0.05f, q);
  return face_ev(camera, track, t, p >= 0 ? q : NULL, MODEL, DIM);
}

/* Handles a face near p and returns the decision of the one hit (0: none,
 * -1: several or an error). */
static int decide(argus_matcher *m, world *w, int p, const char *camera,
                  uint64_t track, double t) {
  argus_event *ev = face_of(w, p, camera, track, t);
  argus_match_result r;
  argus_error_detail err = {{0}};
  argus_err e = argus_matcher_handle_face(m, ev, &r, &err);
  argus_event_unref(ev);
  CHECK_OK(e);
  if (e) {
    fprintf(stderr, "handle_face: %s\n", err.msg);
    return -1;
  }
  if (r.nhits == 0)
    return 0;
  CHECK_INT_EQ(r.nhits, 1);
  if (r.nhits != 1)
    return -1;
  CHECK_INT_EQ(r.hits[0].cand.person_id, w->id[p]);
  CHECK_INT_EQ(r.nalerts, r.hits[0].decision == ARGUS_MATCH_ALERT);
  return (int)r.hits[0].decision;
}

static argus_matcher *make_matcher(world *w, double cooldown, int memory,
                                   argus_bus *bus) {
  argus_matcher_config c;
  argus_matcher_config_init(&c);
  c.cooldown = cooldown;
  if (memory)
    c.memory = memory;
  argus_matcher *m = NULL;
  argus_error_detail err = {{0}};
  argus_err e = argus_matcher_create(&c, w->g, bus, &m, &err);
  CHECK_OK(e);
  if (e)
    fprintf(stderr, "matcher: %s\n", err.msg);
  return m;
}

/* ---- decisions ------------------------------------------------------------ */

static void test_config(void) {
  argus_matcher_config c;
  argus_matcher_config_init(&c);
  CHECK(c.cooldown < 0); /* the default 30 */
  CHECK_INT_EQ(c.memory, 4096);
  CHECK(c.keep_unmatched == 0);
  CHECK(c.watchlists == NULL && c.nwatchlists == 0);
  CHECK(strcmp(argus_match_decision_name(ARGUS_MATCH_ALERT), "alert") == 0);
  CHECK(strcmp(argus_match_decision_name(ARGUS_MATCH_SUPPRESS_TRACK),
               "track") == 0);
  CHECK(strcmp(argus_match_decision_name(ARGUS_MATCH_SUPPRESS_COOLDOWN),
               "cooldown") == 0);
  CHECK(strcmp(argus_match_decision_name((argus_match_decision)9), "?") == 0);
}

/* One alert per person per track; a cooldown per person per camera across
 * tracks; cameras and persons independent. */
static void test_decisions(world *w) {
  argus_matcher *m = make_matcher(w, -1, 0, NULL); /* cooldown 30 */
  if (!m)
    return;
  /* Person A on camera 1, track 1. */
  CHECK_INT_EQ(decide(m, w, P_A, "cam1", 1, 0.0), ARGUS_MATCH_ALERT);
  /* Again on the same track: never again, even much later. */
  CHECK_INT_EQ(decide(m, w, P_A, "cam1", 1, 0.5), ARGUS_MATCH_SUPPRESS_TRACK);
  CHECK_INT_EQ(decide(m, w, P_A, "cam1", 1, 100), ARGUS_MATCH_SUPPRESS_TRACK);
  /* Another person on the same track alerts. */
  CHECK_INT_EQ(decide(m, w, P_B, "cam1", 1, 0.6), ARGUS_MATCH_ALERT);
  /* A comes back on a new track 5 s later: within the cooldown. */
  CHECK_INT_EQ(decide(m, w, P_A, "cam1", 2, 5.0),
               ARGUS_MATCH_SUPPRESS_COOLDOWN);
  /* Known on that track now: track suppression from here on, even after
   * the cooldown. */
  CHECK_INT_EQ(decide(m, w, P_A, "cam1", 2, 40.0), ARGUS_MATCH_SUPPRESS_TRACK);
  /* A third track after the cooldown (40 s after the alert at 0) alerts. */
  CHECK_INT_EQ(decide(m, w, P_A, "cam1", 3, 40.0), ARGUS_MATCH_ALERT);
  /* Another camera alerts for the same person at once, its own cooldown
   * after that; its track 1 is not camera 1's track 1. */
  CHECK_INT_EQ(decide(m, w, P_A, "cam2", 1, 40.0), ARGUS_MATCH_ALERT);
  CHECK_INT_EQ(decide(m, w, P_A, "cam2", 7, 41.0),
               ARGUS_MATCH_SUPPRESS_COOLDOWN);
  /* The cooldown counts from the newest alert (40 on camera 1): a track at
   * 69.9 is cooled down, an end-of-track shot older than the alert too
   * (|t - 40| < 30), one at 70 is not. */
  CHECK_INT_EQ(decide(m, w, P_A, "cam1", 4, 69.9),
               ARGUS_MATCH_SUPPRESS_COOLDOWN);
  CHECK_INT_EQ(decide(m, w, P_A, "cam1", 5, 15.0),
               ARGUS_MATCH_SUPPRESS_COOLDOWN);
  CHECK_INT_EQ(decide(m, w, P_A, "cam1", 6, 70.0), ARGUS_MATCH_ALERT);
  /* Nobody: no decision. */
  CHECK_INT_EQ(decide(m, w, -1, "cam1", 1, 71), 0);
  argus_matcher_stats st;
  CHECK_OK(argus_matcher_get_stats(m, &st));
  CHECK_INT_EQ(st.faces, 13);
  CHECK_INT_EQ(st.matches, 12);
  CHECK_INT_EQ(st.alerts, 5);
  CHECK_INT_EQ(st.suppressed_track, 3);
  CHECK_INT_EQ(st.suppressed_cooldown, 4);
  CHECK_INT_EQ(st.rejected, 0);
  CHECK_INT_EQ(st.errors, 0);
  CHECK_INT_EQ(st.forgotten, 0);
  CHECK_INT_EQ(st.unmatched_published, 0); /* no bus, no retention */
  CHECK(st.cpu_s >= 0);
  CHECK_INT_EQ(argus_matcher_get_stats(m, NULL), ARGUS_E_INVALID_ARG);
  argus_matcher_destroy(m);

  /* Cooldown 0: every new track alerts; a track still alerts once. */
  m = make_matcher(w, 0, 0, NULL);
  if (!m)
    return;
  for (int k = 1; k <= 4; k++)
    CHECK_INT_EQ(decide(m, w, P_C, "cam1", (uint64_t)k, k * 0.1),
                 ARGUS_MATCH_ALERT);
  CHECK_INT_EQ(decide(m, w, P_C, "cam1", 2, 0.5), ARGUS_MATCH_SUPPRESS_TRACK);
  CHECK_OK(argus_matcher_get_stats(m, &st));
  CHECK_INT_EQ(st.alerts, 4);
  CHECK_INT_EQ(st.suppressed_cooldown, 0);
  argus_matcher_destroy(m);

  /* A short cooldown (10 s). */
  m = make_matcher(w, 10, 0, NULL);
  if (!m)
    return;
  CHECK_INT_EQ(decide(m, w, P_B, "cam9", 1, 100), ARGUS_MATCH_ALERT);
  CHECK_INT_EQ(decide(m, w, P_B, "cam9", 2, 109.5),
               ARGUS_MATCH_SUPPRESS_COOLDOWN);
  CHECK_INT_EQ(decide(m, w, P_B, "cam9", 3, 110.5), ARGUS_MATCH_ALERT);
  argus_matcher_destroy(m);
  argus_matcher_destroy(NULL);
}

/* The memory ring: `memory` decisions; an alerted one still within the
 * cooldown that is overwritten is counted as forgotten, and the person
 * it was of may then be alerted again on the same track. */
static void test_memory(world *w) {
  argus_matcher *m = make_matcher(w, 30, 2, NULL);
  if (!m)
    return;
  CHECK_INT_EQ(decide(m, w, P_A, "cam1", 10, 0), ARGUS_MATCH_ALERT);
  CHECK_INT_EQ(decide(m, w, P_B, "cam1", 10, 1), ARGUS_MATCH_ALERT);
  argus_matcher_stats st;
  CHECK_OK(argus_matcher_get_stats(m, &st));
  CHECK_INT_EQ(st.forgotten, 0);
  /* The third overwrites A's decision (alerted at 0, within 30 s of 2). */
  CHECK_INT_EQ(decide(m, w, P_C, "cam1", 10, 2), ARGUS_MATCH_ALERT);
  CHECK_OK(argus_matcher_get_stats(m, &st));
  CHECK_INT_EQ(st.forgotten, 1);
  /* B and C are still remembered. */
  CHECK_INT_EQ(decide(m, w, P_B, "cam1", 10, 3), ARGUS_MATCH_SUPPRESS_TRACK);
  CHECK_INT_EQ(decide(m, w, P_C, "cam1", 10, 3), ARGUS_MATCH_SUPPRESS_TRACK);
  /* A is forgotten: alerted again on the same track (the price of a memory
   * too small for the alert rate; hence the counter), overwriting B's. */
  CHECK_INT_EQ(decide(m, w, P_A, "cam1", 10, 4), ARGUS_MATCH_ALERT);
  CHECK_OK(argus_matcher_get_stats(m, &st));
  CHECK_INT_EQ(st.forgotten, 2);
  /* Overwriting a decision whose cooldown has passed costs nothing: at 100
   * C's (at 2) goes. */
  CHECK_INT_EQ(decide(m, w, P_B, "cam1", 11, 100), ARGUS_MATCH_ALERT);
  CHECK_OK(argus_matcher_get_stats(m, &st));
  CHECK_INT_EQ(st.forgotten, 2);
  /* Nor does overwriting a cooled-down (not alerted) one: B on track 12 at
   * 101 is cooled down, taking A's slot (alerted at 4: expired); then D
   * alerts, taking B's alerted slot of 100, within the cooldown: counted;
   * then A alerts taking B's cooled-down slot: not counted. */
  CHECK_INT_EQ(decide(m, w, P_B, "cam1", 12, 101),
               ARGUS_MATCH_SUPPRESS_COOLDOWN);
  CHECK_INT_EQ(decide(m, w, P_D, "cam1", 12, 102), ARGUS_MATCH_ALERT);
  CHECK_OK(argus_matcher_get_stats(m, &st));
  CHECK_INT_EQ(st.forgotten, 3);
  CHECK_INT_EQ(decide(m, w, P_A, "cam1", 13, 103), ARGUS_MATCH_ALERT);
  CHECK_OK(argus_matcher_get_stats(m, &st));
  CHECK_INT_EQ(st.forgotten, 3);
  argus_matcher_destroy(m);

  /* Cooldown 0: nothing is ever counted as forgotten. */
  m = make_matcher(w, 0, 1, NULL);
  if (!m)
    return;
  for (int p = 0; p < NP; p++)
    CHECK_INT_EQ(decide(m, w, p, "cam1", 1, p), ARGUS_MATCH_ALERT);
  CHECK_OK(argus_matcher_get_stats(m, &st));
  CHECK_INT_EQ(st.forgotten, 0);
  argus_matcher_destroy(m);
}

/* ---- unmatched, other models, watchlists ---------------------------------- */

static void test_unmatched(world *w) {
  argus_bus *bus = NULL;
  CHECK_OK(argus_bus_open(NULL, NULL, &bus, NULL));
  argus_matcher_config c;
  argus_matcher_config_init(&c);
  argus_matcher *m = NULL;
  argus_error_detail err = {{0}};
  /* Retention off: nothing published even with a bus. */
  CHECK_OK(argus_matcher_create(&c, w->g, bus, &m, &err));
  argus_bus_sub *sub = NULL;
  argus_bus_sub_options o;
  memset(&o, 0, sizeof o);
  o.pattern = ARGUS_EVENT_TOPIC_UNMATCHED;
  o.events = 1;
  CHECK_OK(argus_bus_subscribe(bus, &o, &sub, NULL));
  argus_event *far = face_of(w, -1, "cam1", 1, 0);
  argus_match_result r;
  CHECK_OK(argus_matcher_handle_face(m, far, &r, &err));
  CHECK_INT_EQ(r.nhits, 0);
  CHECK_INT_EQ(r.nalerts, 0);
  CHECK_INT_EQ(r.nfound, NP); /* every person a candidate, none over */
  CHECK(r.best_score > -1 && r.best_score < THRESHOLD);
  argus_bus_msg msg;
  int got = 1;
  CHECK_OK(argus_bus_next(sub, 0, &msg, &got));
  CHECK_INT_EQ(got, 0);
  argus_matcher_destroy(m);

  /* Retention on: a face.unmatched event referencing the face. */
  c.keep_unmatched = 3600;
  m = NULL;
  CHECK_OK(argus_matcher_create(&c, w->g, bus, &m, &err));
  CHECK_OK(argus_matcher_handle_face(m, far, &r, &err));
  CHECK_INT_EQ(r.nhits, 0);
  float best = r.best_score;
  argus_event_unref(far); /* the event (and the bus) keep it */
  got = 0;
  CHECK_OK(argus_bus_next(sub, 1, &msg, &got));
  CHECK_INT_EQ(got, 1);
  if (got && msg.event) {
    const argus_event *u = msg.event;
    CHECK_INT_EQ(u->type, ARGUS_EVENT_UNMATCHED);
    CHECK(u->u.unmatched.face == far);
    CHECK(strcmp(u->u.unmatched.face_id, far->id) == 0);
    CHECK(u->u.unmatched.best_score == best);
    CHECK(u->u.unmatched.retention == 3600);
    CHECK(u->u.unmatched.face->u.face.crop.size == 32);
    CHECK(strcmp(u->u.unmatched.face->u.face.camera, "cam1") == 0);
    CHECK(strncmp(u->id, "unmatched-", 10) == 0);
    CHECK(strcmp(msg.id, u->id) == 0);
  } else {
    CHECK(0);
  }
  /* A face that matches publishes no unmatched event. */
  argus_event *near = face_of(w, P_A, "cam1", 2, 1);
  CHECK_OK(argus_matcher_handle_face(m, near, &r, &err));
  CHECK_INT_EQ(r.nhits, 1);
  argus_event_unref(near);
  got = 1;
  CHECK_OK(argus_bus_next(sub, 0, &msg, &got));
  CHECK_INT_EQ(got, 0);
  argus_matcher_stats st;
  CHECK_OK(argus_matcher_get_stats(m, &st));
  CHECK_INT_EQ(st.unmatched_published, 1);
  CHECK_INT_EQ(st.faces, 2);
  CHECK_INT_EQ(st.matches, 1);
  argus_matcher_destroy(m);
  argus_bus_unsubscribe(sub);
  argus_bus_close(bus);

  /* Retention without a bus: nothing to publish on, not an error. */
  m = NULL;
  CHECK_OK(argus_matcher_create(&c, w->g, NULL, &m, &err));
  far = face_of(w, -1, "cam1", 3, 0);
  CHECK_OK(argus_matcher_handle_face(m, far, NULL, &err));
  argus_event_unref(far);
  CHECK_OK(argus_matcher_get_stats(m, &st));
  CHECK_INT_EQ(st.unmatched_published, 0);
  argus_matcher_destroy(m);
}

static void test_other_model(world *w) {
  argus_matcher *m = make_matcher(w, -1, 0, NULL);
  if (!m)
    return;
  argus_match_result r;
  argus_error_detail err = {{0}};
  /* Another model of the same dim. */
  argus_event *ev = face_ev("cam1", 1, 0, w->v[P_A], "other@2", DIM);
  r.nhits = 99;
  CHECK_INT_EQ(argus_matcher_handle_face(m, ev, &r, &err), ARGUS_E_INVALID_ARG);
  CHECK(strstr(err.msg, "other@2") != NULL);
  CHECK(strstr(err.msg, MODEL) != NULL);
  CHECK_INT_EQ(r.nhits, 0);
  argus_event_unref(ev);
  /* The same model id with another dim. */
  memset(&err, 0, sizeof err);
  ev = face_ev("cam1", 1, 0, w->v[P_A], MODEL, DIM / 2);
  CHECK_INT_EQ(argus_matcher_handle_face(m, ev, &r, &err), ARGUS_E_INVALID_ARG);
  CHECK(strstr(err.msg, MODEL) != NULL);
  argus_event_unref(ev);
  /* Not a face event. */
  argus_event *wl = NULL;
  CHECK_OK(argus_event_new(ARGUS_EVENT_WATCHLIST, NULL, &wl));
  CHECK_INT_EQ(argus_matcher_handle_face(m, wl, &r, &err), ARGUS_E_INVALID_ARG);
  argus_event_unref(wl);
  CHECK_INT_EQ(argus_matcher_handle_face(m, NULL, &r, &err),
               ARGUS_E_INVALID_ARG);
  argus_matcher_stats st;
  CHECK_OK(argus_matcher_get_stats(m, &st));
  CHECK_INT_EQ(st.rejected, 2);
  CHECK_INT_EQ(st.alerts, 0);
  CHECK_INT_EQ(st.matches, 0);
  /* The same face by the right model alerts. */
  CHECK_INT_EQ(decide(m, w, P_A, "cam1", 1, 0), ARGUS_MATCH_ALERT);
  argus_matcher_destroy(m);
}

/* argus_matcher_handle_faces: 150 faces (hits of each person on several
 * cameras and tracks, misses, one of another model) in batches of 1..64
 * decide exactly what the same faces decide one by one on a second
 * matcher: same hits, scores, decisions. */
static void test_batches(world *w) {
  enum { N = 150 };
  argus_matcher *a = make_matcher(w, 5, 0, NULL);
  argus_matcher *b = make_matcher(w, 5, 0, NULL);
  argus_event **ev = calloc(N, sizeof *ev);
  argus_match_result *ra = calloc(N, sizeof *ra), *rb = calloc(N, sizeof *rb);
  if (!a || !b || !ev || !ra || !rb)
    goto out;
  int other = 77;
  for (int i = 0; i < N; i++) {
    char cam[16];
    snprintf(cam, sizeof cam, "bcam%d", i % 3);
    if (i == other)
      ev[i] = face_ev(cam, 1, 0, w->v[P_A], "other@2", DIM);
    else
      ev[i] = face_of(w, i % 5 == 4 ? -1 : i % NP, cam, (uint64_t)(i / 20),
                      0.1 * i);
  }
  int sizes[] = {1, 7, 64, 13, 65};
  argus_error_detail err = {{0}};
  int failed_total = 0;
  for (int i = 0, k = 0; i < N; k++) {
    int n = sizes[k % 5];
    if (n > N - i)
      n = N - i;
    int failed = -1;
    argus_err e = argus_matcher_handle_faces(
        a, (const argus_event *const *)ev + i, n, ra + i, &failed, &err);
    int has_other = i <= other && other < i + n;
    CHECK_INT_EQ(e, has_other ? ARGUS_E_INVALID_ARG : ARGUS_OK);
    CHECK_INT_EQ(failed, has_other);
    if (has_other)
      CHECK(strstr(err.msg, "other@2") != NULL);
    failed_total += failed;
    i += n;
  }
  CHECK_INT_EQ(failed_total, 1);
  int hits = 0, alerts = 0, same = 0;
  for (int i = 0; i < N; i++) {
    argus_error_detail e1 = {{0}};
    argus_err e = argus_matcher_handle_face(b, ev[i], &rb[i], &e1);
    CHECK_INT_EQ(e, i == other ? ARGUS_E_INVALID_ARG : ARGUS_OK);
    int ok = ra[i].nhits == rb[i].nhits && ra[i].nalerts == rb[i].nalerts &&
             ra[i].nfound == rb[i].nfound &&
             fabsf(ra[i].best_score - rb[i].best_score) < 1e-5f;
    for (int h = 0; ok && h < ra[i].nhits; h++)
      ok = ra[i].hits[h].cand.person_id == rb[i].hits[h].cand.person_id &&
           ra[i].hits[h].decision == rb[i].hits[h].decision;
    same += ok;
    hits += ra[i].nhits;
    alerts += ra[i].nalerts;
  }
  printf("batches: %d faces, %d hits, %d alerts; %d of %d alike one by one\n",
         N, hits, alerts, same, N);
  CHECK_INT_EQ(same, N);
  CHECK(hits >= 100);
  CHECK(alerts >= 8 && alerts < hits);
  argus_matcher_stats sa, sb;
  CHECK_OK(argus_matcher_get_stats(a, &sa));
  CHECK_OK(argus_matcher_get_stats(b, &sb));
  CHECK_INT_EQ(sa.faces, N - 1);
  CHECK_INT_EQ(sa.faces, sb.faces);
  CHECK_INT_EQ(sa.rejected, 1);
  CHECK_INT_EQ(sa.alerts, sb.alerts);
  CHECK_INT_EQ(sa.suppressed_track, sb.suppressed_track);
  CHECK_INT_EQ(sa.suppressed_cooldown, sb.suppressed_cooldown);
  /* Bad arguments; an empty batch is nothing to do. */
  CHECK_INT_EQ(argus_matcher_handle_faces(a, NULL, 3, NULL, NULL, &err),
               ARGUS_E_INVALID_ARG);
  CHECK_INT_EQ(argus_matcher_handle_faces(a, NULL, 0, NULL, NULL, &err),
               ARGUS_OK);
out:
  for (int i = 0; ev && i < N; i++)
    argus_event_unref(ev[i]);
  free(ev);
  free(ra);
  free(rb);
  argus_matcher_destroy(a);
  argus_matcher_destroy(b);
}

static void test_watchlists(world *w) {
  argus_matcher_config c;
  argus_matcher_config_init(&c);
  const char *only_b[1] = {"b"};
  c.watchlists = only_b;
  c.nwatchlists = 1;
  argus_matcher *m = NULL;
  argus_error_detail err = {{0}};
  CHECK_OK(argus_matcher_create(&c, w->g, NULL, &m, &err));
  if (m) {
    /* A is in "a": not searched. */
    CHECK_INT_EQ(decide(m, w, P_A, "cam1", 1, 0), 0);
    CHECK_INT_EQ(decide(m, w, P_D, "cam1", 1, 0), ARGUS_MATCH_ALERT);
    argus_match_result r;
    argus_event *ev = face_of(w, P_A, "cam1", 2, 0);
    CHECK_OK(argus_matcher_handle_face(m, ev, &r, &err));
    argus_event_unref(ev);
    CHECK_INT_EQ(r.nfound, 1); /* D only, far below */
    CHECK_INT_EQ(r.nhits, 0);
    argus_matcher_destroy(m);
  }
  /* Both named. */
  const char *both[2] = {"a", "b"};
  c.watchlists = both;
  c.nwatchlists = 2;
  m = NULL;
  CHECK_OK(argus_matcher_create(&c, w->g, NULL, &m, &err));
  if (m) {
    CHECK_INT_EQ(decide(m, w, P_A, "cam1", 1, 0), ARGUS_MATCH_ALERT);
    CHECK_INT_EQ(decide(m, w, P_D, "cam1", 1, 0), ARGUS_MATCH_ALERT);
    argus_matcher_destroy(m);
  }
  /* A watchlist that does not exist: NOT_FOUND at creation, named. */
  const char *zz[2] = {"a", "zz"};
  c.watchlists = zz;
  c.nwatchlists = 2;
  m = (argus_matcher *)(uintptr_t)1;
  memset(&err, 0, sizeof err);
  CHECK_INT_EQ(argus_matcher_create(&c, w->g, NULL, &m, &err),
               ARGUS_E_NOT_FOUND);
  CHECK(m == NULL);
  CHECK(strstr(err.msg, "zz") != NULL);
  /* Bad settings. */
  const char *empty[1] = {""};
  c.watchlists = empty;
  c.nwatchlists = 1;
  CHECK_INT_EQ(argus_matcher_create(&c, w->g, NULL, &m, &err),
               ARGUS_E_INVALID_ARG);
  c.watchlists = NULL;
  CHECK_INT_EQ(argus_matcher_create(&c, w->g, NULL, &m, &err),
               ARGUS_E_INVALID_ARG);
  argus_matcher_config_init(&c);
  c.memory = -1;
  CHECK_INT_EQ(argus_matcher_create(&c, w->g, NULL, &m, &err),
               ARGUS_E_INVALID_ARG);
  argus_matcher_config_init(&c);
  c.keep_unmatched = NAN;
  CHECK_INT_EQ(argus_matcher_create(&c, w->g, NULL, &m, &err),
               ARGUS_E_INVALID_ARG);
  argus_matcher_config_init(&c);
  CHECK_INT_EQ(argus_matcher_create(&c, NULL, NULL, &m, &err),
               ARGUS_E_INVALID_ARG);
  CHECK_INT_EQ(argus_matcher_create(&c, w->g, NULL, NULL, &err),
               ARGUS_E_INVALID_ARG);
  /* Without a bus there is nothing to start. */
  m = NULL;
  CHECK_OK(argus_matcher_create(NULL, w->g, NULL, &m, &err));
  CHECK_INT_EQ(argus_matcher_start(m, 0), ARGUS_E_INVALID_ARG);
  argus_matcher_stop(m);
  argus_matcher_destroy(m);
  argus_matcher_stop(NULL);
}

/* Searches run in parallel; decisions are serialised: many threads
 * reporting the same person on one camera on different tracks within the
 * cooldown give exactly one alert, the rest cooled down. */
enum { CT_THREADS = 4, CT_FACES = 16 };

typedef struct conc_arg {
  argus_matcher *m;
  argus_event *faces[CT_FACES];
  int alerts, cooled, fails;
} conc_arg;

static void *conc_main(void *p) {
  conc_arg *a = p;
  for (int i = 0; i < CT_FACES; i++) {
    argus_match_result r;
    argus_error_detail err = {{0}};
    if (argus_matcher_handle_face(a->m, a->faces[i], &r, &err) != ARGUS_OK ||
        r.nhits != 1) {
      a->fails++;
      continue;
    }
    a->alerts += r.hits[0].decision == ARGUS_MATCH_ALERT;
    a->cooled += r.hits[0].decision == ARGUS_MATCH_SUPPRESS_COOLDOWN;
  }
  return NULL;
}

static void test_concurrent(world *w) {
  argus_matcher *m = make_matcher(w, 30, 0, NULL);
  if (!m)
    return;
  static conc_arg args[CT_THREADS];
  pthread_t th[CT_THREADS];
  int started[CT_THREADS] = {0};
  for (int t = 0; t < CT_THREADS; t++) {
    args[t].m = m;
    for (int i = 0; i < CT_FACES; i++)
      args[t].faces[i] = face_of(
          w, P_C, "busy", 1000u + (uint64_t)(t * CT_FACES + i), 0.01 * i);
  }
  for (int t = 0; t < CT_THREADS; t++)
    started[t] = pthread_create(&th[t], NULL, conc_main, &args[t]) == 0;
  int alerts = 0, cooled = 0, fails = 0;
  for (int t = 0; t < CT_THREADS; t++) {
    CHECK(started[t]);
    if (started[t])
      pthread_join(th[t], NULL);
    alerts += args[t].alerts;
    cooled += args[t].cooled;
    fails += args[t].fails;
    for (int i = 0; i < CT_FACES; i++)
      argus_event_unref(args[t].faces[i]);
  }
  CHECK_INT_EQ(fails, 0);
  CHECK_INT_EQ(alerts, 1);
  CHECK_INT_EQ(cooled, CT_THREADS * CT_FACES - 1);
  argus_matcher_stats st;
  CHECK_OK(argus_matcher_get_stats(m, &st));
  CHECK_INT_EQ(st.faces, CT_THREADS * CT_FACES);
  CHECK_INT_EQ(st.alerts, 1);
  argus_matcher_destroy(m);
}

/* ---- on the bus ----------------------------------------------------------- */

static void test_on_bus(world *w) {
  argus_bus *bus = NULL;
  CHECK_OK(argus_bus_open(NULL, NULL, &bus, NULL));
  if (!bus)
    return;
  argus_matcher *m = make_matcher(w, -1, 0, bus);
  if (!m) {
    argus_bus_close(bus);
    return;
  }
  argus_bus_sub *alerts = NULL, *text = NULL, *sup = NULL;
  argus_bus_sub_options o;
  memset(&o, 0, sizeof o);
  o.pattern = ARGUS_EVENT_TOPIC_ALERT_RAISED;
  o.events = 1;
  CHECK_OK(argus_bus_subscribe(bus, &o, &alerts, NULL));
  o.events = 0;
  CHECK_OK(argus_bus_subscribe(bus, &o, &text, NULL));
  o.pattern = ARGUS_EVENT_TOPIC_ALERT_SUPPRESSED;
  CHECK_OK(argus_bus_subscribe(bus, &o, &sup, NULL));
  CHECK_OK(argus_matcher_start(m, 0));
  CHECK_INT_EQ(argus_matcher_start(m, 0), ARGUS_E_INVALID_ARG); /* again */

  argus_event *face = face_of(w, P_B, "lobby", 5, 10);
  if (!face)
    goto done;
  CHECK_OK(argus_bus_publish_event(bus, ARGUS_EVENT_TOPIC_FACE, face));
  const argus_event *sent = face;
  argus_event_unref(face); /* the bus, then the alert, keep it */
  face = NULL;
  CHECK_OK(argus_bus_flush(bus, 10));
  argus_matcher_stats st;
  CHECK_OK(argus_matcher_get_stats(m, &st));
  CHECK_INT_EQ(st.faces, 1);
  CHECK_INT_EQ(st.alerts, 1);

  argus_bus_msg msg;
  int got = 0;
  CHECK_OK(argus_bus_next(alerts, 1, &msg, &got));
  CHECK_INT_EQ(got, 1);
  if (got && msg.event) {
    const argus_event *ev = msg.event;
    const argus_event_alert *a = &ev->u.alert;
    CHECK_INT_EQ(ev->type, ARGUS_EVENT_ALERT);
    CHECK(a->face == sent);
    CHECK(strcmp(a->face_id, sent->id) == 0);
    CHECK(strcmp(a->camera, "lobby") == 0);
    CHECK_INT_EQ(a->track, 5);
    CHECK(a->media_time == 10);
    CHECK_INT_EQ(a->person_id, w->id[P_B]);
    CHECK(strcmp(a->person, "Bob") == 0);
    CHECK_INT_EQ(a->watchlist_id, w->wl_a);
    CHECK(strcmp(a->watchlist, "a") == 0);
    CHECK_NEAR(a->threshold, THRESHOLD, 1e-6, 0);
    CHECK(a->score >= a->threshold && a->score <= 1.0001f);
    CHECK(strcmp(a->crop_sha256, a->face->u.face.crop.sha256) == 0);
    CHECK(a->face->u.face.crop.size == 32);
    CHECK(strncmp(ev->id, "alert-", 6) == 0);
  } else {
    CHECK(0);
  }
  /* Text subscribers get the alert's document. */
  got = 0;
  CHECK_OK(argus_bus_next(text, 0, &msg, &got));
  CHECK(got && msg.event == NULL && strstr(msg.data, "\"person\":\"Bob\""));

  /* A face published as a document (another process's edge) is parsed. */
  {
    argus_event *f2 = face_of(w, P_B, "lobby", 6, 11);
    static char doc[64 << 10];
    size_t n = 0;
    CHECK_OK(argus_event_to_json(f2, doc, sizeof doc, &n));
    CHECK_OK(argus_bus_publish(bus, ARGUS_EVENT_TOPIC_FACE, f2->id, doc, n));
    argus_event_unref(f2);
    /* and one that is not a face document */
    const char *junk = "{\"v\":2,\"type\":\"nope\"}";
    CHECK_OK(argus_bus_publish(bus, ARGUS_EVENT_TOPIC_FACE, "junk-1", junk,
                               strlen(junk)));
    CHECK_OK(argus_bus_flush(bus, 10));
    CHECK_OK(argus_matcher_get_stats(m, &st));
    CHECK_INT_EQ(st.faces, 2);
    CHECK_INT_EQ(st.alerts, 1);
    CHECK_INT_EQ(st.suppressed_cooldown, 1); /* track 6, 1 s later */
    CHECK_INT_EQ(st.rejected, 1);
    /* The match that raised no alert says why, on alert.suppressed (the
     * raised alert's members plus "suppressed"); a text subscriber parses
     * it back. */
    got = 0;
    CHECK_OK(argus_bus_next(sup, 0, &msg, &got));
    CHECK_INT_EQ(got, 1);
    if (got) {
      CHECK(strstr(msg.data, "\"suppressed\":\"cooldown\"") != NULL);
      CHECK(strstr(msg.data, "\"person\":\"Bob\"") != NULL);
      argus_event *back = NULL;
      CHECK_OK(argus_event_from_json(msg.data, msg.size, &back, NULL));
      if (back) {
        CHECK(strcmp(back->u.alert.suppressed, "cooldown") == 0);
        CHECK_INT_EQ(back->u.alert.track, 6);
        argus_event_unref(back);
      }
    }
    got = 0;
    CHECK_OK(argus_bus_next(sup, 0, &msg, &got));
    CHECK_INT_EQ(got, 0); /* the raised alert is not on it */
  }
  /* A watchlist.change text document (version 1) is applied: a reload. */
  {
    const char *v1 = "{\"v\":1,\"type\":\"watchlist.change\",\"watchlist\":"
                     "\"x\",\"action\":\"person.add\"}";
    CHECK_OK(argus_bus_publish(bus, ARGUS_EVENT_TOPIC_WATCHLIST, "wl-1", v1,
                               strlen(v1)));
    CHECK_OK(argus_bus_flush(bus, 10));
    CHECK_OK(argus_matcher_get_stats(m, &st));
    CHECK_INT_EQ(st.changes, 1);
    CHECK_INT_EQ(st.reloads, 1);
    /* and a typed one */
    argus_event *ch = NULL;
    CHECK_OK(argus_event_new(ARGUS_EVENT_WATCHLIST, NULL, &ch));
    if (ch) {
      ch->u.watchlist.what = ARGUS_EVENT_CHANGE_PERSON;
      ch->u.watchlist.person_id = w->id[P_C];
      snprintf(ch->id, sizeof ch->id, "wl-2");
      CHECK_OK(argus_bus_publish_event(bus, ARGUS_EVENT_TOPIC_WATCHLIST, ch));
      argus_event_unref(ch);
    }
    CHECK_OK(argus_bus_flush(bus, 10));
    CHECK_OK(argus_matcher_get_stats(m, &st));
    CHECK_INT_EQ(st.changes, 2);
    CHECK_INT_EQ(st.reloads, 1);
  }
  /* Stopped: faces are no longer handled. */
  argus_matcher_stop(m);
  face = face_of(w, P_C, "lobby", 9, 50);
  if (face) {
    CHECK_OK(argus_bus_publish_event(bus, ARGUS_EVENT_TOPIC_FACE, face));
    argus_event_unref(face);
  }
  CHECK_OK(argus_bus_flush(bus, 10));
  CHECK_OK(argus_matcher_get_stats(m, &st));
  CHECK_INT_EQ(st.faces, 2);
  /* ... and it may be started again. */
  CHECK_OK(argus_matcher_start(m, 16));
done:
  argus_matcher_destroy(m);
  argus_bus_unsubscribe(alerts);
  argus_bus_unsubscribe(sup);
  argus_bus_close(bus); /* with `text` still subscribed */
}

/* ---- score fusion over a track -------------------------------------------- */

/* A face whose embedding has cosine `sim` with person p's template. */
static argus_event *face_at(world *w, int p, float sim, const char *camera,
                            uint64_t track, double t) {
  float r[DIM], q[DIM];
  random_unit(&w->r, r);
  double d = 0;
  for (int i = 0; i < DIM; i++)
    d += (double)r[i] * w->v[p][i];
  for (int i = 0; i < DIM; i++)
    r[i] -= (float)d * w->v[p][i];
  unit(r, DIM);
  float o = sqrtf(1 - sim * sim);
  for (int i = 0; i < DIM; i++)
    q[i] = sim * w->v[p][i] + o * r[i];
  return face_ev(camera, track, t, q, MODEL, DIM);
}

static int handle(argus_matcher *m, argus_event *ev, argus_match_result *r) {
  argus_error_detail err = {{0}};
  argus_err e = argus_matcher_handle_face(m, ev, r, &err);
  argus_event_unref(ev);
  CHECK_OK(e);
  return e == ARGUS_OK ? r->nhits : -1;
}

/* Three shots of Bob at 0.55 each, under the 0.6 threshold: without fusion
 * never a match; with fusion_margin 0.08 the second shot makes the mean
 * (0.55 >= 0.52) a fused match and an alert, then the third is the same
 * track (suppressed). Shots far from everyone never fuse into a match, nor
 * do one good shot of Bob and one of Cyd on the same track. */
static void test_fusion(world *w) {
  argus_matcher_config c;
  argus_matcher_config_init(&c);
  CHECK(c.fusion_margin == 0 && c.fusion_tracks == 1024);
  c.fusion_margin = 0.6f;
  argus_matcher *m = NULL;
  CHECK_INT_EQ(argus_matcher_create(&c, w->g, NULL, &m, NULL),
               ARGUS_E_INVALID_ARG);
  argus_match_result r;
  argus_matcher *off = make_matcher(w, 0, 0, NULL);
  c.fusion_margin = 0.08f;
  c.cooldown = 0;
  CHECK_OK(argus_matcher_create(&c, w->g, NULL, &m, NULL));
  if (!off || !m) {
    argus_matcher_destroy(off);
    argus_matcher_destroy(m);
    return;
  }
  for (int k = 0; k < 3; k++)
    CHECK_INT_EQ(handle(off, face_at(w, P_B, 0.55f, "gate", 1, k), &r), 0);
  CHECK_INT_EQ(handle(m, face_at(w, P_B, 0.55f, "gate", 1, 0), &r), 0);
  CHECK_INT_EQ(handle(m, face_at(w, P_B, 0.55f, "gate", 1, 1), &r), 1);
  CHECK_INT_EQ(r.hits[0].cand.person_id, w->id[P_B]);
  CHECK_INT_EQ(r.hits[0].fused_shots, 2);
  CHECK_INT_EQ(r.hits[0].decision, ARGUS_MATCH_ALERT);
  CHECK_NEAR(r.hits[0].cand.score, 0.55, 0.01, 0);
  CHECK_INT_EQ(handle(m, face_at(w, P_B, 0.55f, "gate", 1, 2), &r), 1);
  CHECK_INT_EQ(r.hits[0].fused_shots, 3);
  CHECK_INT_EQ(r.hits[0].decision, ARGUS_MATCH_SUPPRESS_TRACK);
  /* another camera's track 1 is another track */
  CHECK_INT_EQ(handle(m, face_at(w, P_B, 0.55f, "door", 1, 0), &r), 0);
  /* far from everyone */
  for (int k = 0; k < 4; k++)
    CHECK_INT_EQ(handle(m, face_at(w, P_B, 0.2f, "gate", 2, k), &r), 0);
  /* Bob, then Cyd, on one track: neither mean clears 0.52 */
  CHECK_INT_EQ(handle(m, face_at(w, P_B, 0.55f, "gate", 3, 0), &r), 0);
  CHECK_INT_EQ(handle(m, face_at(w, P_C, 0.55f, "gate", 3, 1), &r), 0);
  /* a single shot over the threshold is still a plain match */
  CHECK_INT_EQ(handle(m, face_at(w, P_A, 0.8f, "gate", 4, 0), &r), 1);
  CHECK_INT_EQ(r.hits[0].fused_shots, 0);
  argus_matcher_destroy(off);
  argus_matcher_destroy(m);
}

/* ---- enrolment through another handle ------------------------------------- */

static void test_changes(void) {
  world w;
  if (world_open(&w, "changes.db") != 0) {
    world_close(&w);
    return;
  }
  /* The change feed's position before (all of it: creation and
   * enrolment so far). */
  argus_store_change *ch = NULL;
  size_t n = 0;
  argus_store_id pos = -1;
  argus_store_error se = {{0}};
  CHECK_OK(argus_store_changes_since(w.s, 0, 0, &ch, &n, &pos, &se));
  CHECK(n >= 2 + NP); /* two watchlists, the persons */
  int adds = 0;
  for (size_t i = 0; i < n; i++) {
    if (i > 0)
      CHECK(ch[i].seq > ch[i - 1].seq);
    adds += strcmp(ch[i].action, "person.add") == 0;
  }
  CHECK_INT_EQ(adds, NP);
  CHECK(n > 0 && pos >= ch[n - 1].seq);
  argus_store_free(ch);

  argus_matcher *m = make_matcher(&w, -1, 0, NULL);
  /* Another process enrols E through its own store handle (a write-only
   * gallery, as `argus person add` does). */
  argus_store *s2 = open_store("changes.db");
  argus_gallery_config cfg;
  synth_config(&cfg);
  cfg.write_only = 1;
  argus_gallery *g2 = NULL;
  argus_gallery_error gerr = {{0}};
  CHECK_OK(argus_gallery_open(s2, &cfg, &g2, &gerr));
  float ve[DIM];
  random_unit(&w.r, ve);
  argus_store_id eid = g2 ? add_person(g2, "b", "Eve", ve, 900) : 0;
  CHECK(eid > 0);
  if (!m || !eid)
    goto done;

  /* Not known to the running matcher yet. */
  argus_event *ev = face_ev("cam1", 1, 0, ve, MODEL, DIM);
  argus_match_result r;
  argus_error_detail err = {{0}};
  CHECK_OK(argus_matcher_handle_face(m, ev, &r, &err));
  CHECK_INT_EQ(r.nhits, 0);
  argus_event_unref(ev);

  /* The feed tells of it: seq after the position read before, the
   * person's id, and where to continue from. */
  ch = NULL;
  argus_store_id last = -1;
  CHECK_OK(argus_store_changes_since(w.s, pos, 0, &ch, &n, &last, &se));
  int64_t add_seq = 0;
  for (size_t i = 0; i < n; i++) {
    CHECK(ch[i].seq > pos);
    if (strcmp(ch[i].action, "person.add") == 0) {
      CHECK_INT_EQ(ch[i].object_id, eid);
      CHECK(strcmp(ch[i].object_type, "person") == 0);
      add_seq = ch[i].seq;
    }
  }
  CHECK(add_seq > pos);
  /* Not a full page: *last_id is the newest audit id, at or past every
   * change returned. */
  CHECK(n > 0 && last >= ch[n - 1].seq);
  argus_store_free(ch);
  /* Nothing after it. */
  ch = NULL;
  argus_store_id last2 = -1;
  CHECK_OK(argus_store_changes_since(w.s, last, 0, &ch, &n, &last2, &se));
  CHECK_INT_EQ(n, 0);
  CHECK_INT_EQ(last2, last);
  argus_store_free(ch);
  /* A full page (limit 1): *last_id is the last change returned, and
   * continuing from it gives the next. */
  ch = NULL;
  CHECK_OK(argus_store_changes_since(w.s, 0, 1, &ch, &n, &last, &se));
  CHECK_INT_EQ(n, 1);
  argus_store_id first_seq = n ? ch[0].seq : 0;
  CHECK(n == 1 && last == first_seq);
  argus_store_free(ch);
  ch = NULL;
  CHECK_OK(argus_store_changes_since(w.s, last, 1, &ch, &n, &last2, &se));
  CHECK(n == 1 && ch[0].seq > first_seq && last2 == ch[0].seq);
  argus_store_free(ch);
  ch = NULL;
  CHECK_INT_EQ(argus_store_changes_since(w.s, -1, 0, &ch, &n, NULL, &se),
               ARGUS_E_INVALID_ARG);

  /* The change applied: E is found and alerts. */
  argus_event_watchlist c;
  memset(&c, 0, sizeof c);
  c.what = ARGUS_EVENT_CHANGE_PERSON;
  c.person_id = eid;
  c.seq = add_seq;
  CHECK_OK(argus_matcher_apply_change(m, &c, &err));
  ev = face_ev("cam1", 2, 1, ve, MODEL, DIM);
  CHECK_OK(argus_matcher_handle_face(m, ev, &r, &err));
  CHECK_INT_EQ(r.nhits, 1);
  CHECK(r.nhits == 1 && r.hits[0].cand.person_id == eid &&
        r.hits[0].decision == ARGUS_MATCH_ALERT &&
        strcmp(r.hits[0].cand.watchlist, "b") == 0);
  argus_event_unref(ev);
  argus_matcher_stats st;
  CHECK_OK(argus_matcher_get_stats(m, &st));
  CHECK_INT_EQ(st.changes, 1);
  CHECK_INT_EQ(st.reloads, 0);
  /* The same sequence again (a redelivery) is skipped. */
  CHECK_OK(argus_matcher_apply_change(m, &c, &err));
  CHECK_OK(argus_matcher_get_stats(m, &st));
  CHECK_INT_EQ(st.changes, 1);

  /* Removed elsewhere, then everything reloaded (no sequence: applied). */
  CHECK_OK(argus_store_person_remove(s2, eid, &se));
  memset(&c, 0, sizeof c);
  c.what = ARGUS_EVENT_CHANGE_ALL;
  CHECK_OK(argus_matcher_apply_change(m, &c, &err));
  CHECK_OK(argus_matcher_get_stats(m, &st));
  CHECK_INT_EQ(st.changes, 2);
  CHECK_INT_EQ(st.reloads, 1);
  ev = face_ev("cam1", 3, 100, ve, MODEL, DIM);
  CHECK_OK(argus_matcher_handle_face(m, ev, &r, &err));
  CHECK_INT_EQ(r.nhits, 0);
  argus_event_unref(ev);
  /* A person change without an id reloads too. */
  c.what = ARGUS_EVENT_CHANGE_PERSON;
  CHECK_OK(argus_matcher_apply_change(m, &c, &err));
  CHECK_OK(argus_matcher_get_stats(m, &st));
  CHECK_INT_EQ(st.reloads, 2);
  CHECK_INT_EQ(argus_matcher_apply_change(m, NULL, &err), ARGUS_E_INVALID_ARG);
done:
  argus_matcher_destroy(m);
  argus_gallery_close(g2);
  argus_store_close(s2);
  world_close(&w);
}

int main(void) {
  snprintf(g_root, sizeof g_root, "/tmp/argus-test-match-XXXXXX");
  if (!mkdtemp(g_root)) {
    perror("mkdtemp");
    return 1;
  }
  argus_log_set_level(ARGUS_LOG_ERROR);
  test_config();
  world w;
  if (world_open(&w, "match.db") == 0) {
    test_decisions(&w);
    test_memory(&w);
    test_unmatched(&w);
    test_other_model(&w);
    test_batches(&w);
    test_watchlists(&w);
    test_concurrent(&w);
    test_on_bus(&w);
    test_fusion(&w);
  }
  world_close(&w);
  test_changes();
  rm_rf(g_root);
  return check_report("test_match");
}
