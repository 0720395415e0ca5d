/* Operators' verdicts feed back (docs/alerts.md), on a real SQLite store, a
 * synthetic gallery of a made-up model, the real matcher and the real
 * `argus` binary:
 *
 *   - rejecting an alert that carries its probe stores the probe as a
 *     negative example of the person (audited person.negative_add, which
 *     the change feed carries); a later face nearer that negative than to
 *     the person is not alerted ("suppress", the default), alerted marked
 *     ("mark") or alerted plainly ("off"); a face nearer the person still
 *     alerts; a negative of another model is never compared; the store
 *     sink's record of a suppression (alert.suppressed with the negative
 *     and both scores); a marked alert stored with its negative;
 *   - the four-eyes rule: one confirmation leaves the alert pending, the
 *     same operator twice is refused, a second operator confirms, one
 *     rejection closes, off by default;
 *   - watchlist statistics on a constructed set of alerts and verdicts
 *     (exact counts, the false-alarm rate, the suggested threshold), also
 *     through `argus watchlist stats --json`, and the CLI's four-eyes
 *     messages.
 * With ARGUS_TEST_STORE=postgres (test_verdicts_pg) the stores are
 * databases of a throwaway PostgreSQL cluster (tests/pg_util.h), their
 * data folders given by ARGUS_DATA_DIR (to the CLI as well). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "argus/event.h"
#include "argus/gallery.h"
#include "argus/match.h"
#include "argus/store.h"
#include "check.h"
#include "pg_util.h"

#define DIM 64
#define MODEL "synth@1"
#define THRESHOLD 0.6f

static char g_root[512];
static char g_db[700];
static pg_cluster g_pgc;
static const pg_cluster *g_pg;
static const char *g_cli;

static int rm_cb(const char *path, const struct stat *sb, int flag,
                 struct FTW *ftw) {
  (void)sb;
  (void)flag;
  (void)ftw;
  return remove(path);
}

static uint32_t g_rng = 4242;
static float rnd(void) {
  uint32_t x = g_rng;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  g_rng = x;
  return (float)(x >> 8) / 16777216.0f * 2.0f - 1.0f;
}

static void unit(float *v) {
  double ss = 0;
  for (int i = 0; i < DIM; i++)
    ss += (double)v[i] * v[i];
  for (int i = 0; i < DIM; i++)
    v[i] = (float)(v[i] / sqrt(ss));
}

static void random_unit(float *v) {
  for (int i = 0; i < DIM; i++)
    v[i] = rnd();
  unit(v);
}

static double cosv(const float *a, const float *b) {
  double d = 0;
  for (int i = 0; i < DIM; i++)
    d += (double)a[i] * b[i];
  return d;
}

/* A unit vector whose cosine with unit vector p is c: p*c + r*sqrt(1-c^2)
 * with r a random unit vector orthogonal to p. */
static void at_cosine(const float *p, double c, float *out) {
  float r[DIM];
  random_unit(r);
  double d = cosv(r, p);
  for (int i = 0; i < DIM; i++)
    r[i] = (float)(r[i] - d * p[i]);
  unit(r);
  for (int i = 0; i < DIM; i++)
    out[i] = (float)(c * p[i] + sqrt(1 - c * c) * r[i]);
  unit(out);
}

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

static argus_store *open_store_at(const char *db) {
  argus_store_options o;
  memset(&o, 0, sizeof o);
  o.actor = "test:verdicts";
  argus_store *s = NULL;
  argus_store_error se = {{0}};
  argus_err e = argus_store_open(db, &o, &s, &se);
  CHECK_OK(e);
  if (e)
    fprintf(stderr, "open %s: %s\n", db, se.msg);
  return s;
}

static argus_store *open_store(void) {
  argus_store_options o;
  memset(&o, 0, sizeof o);
  o.actor = "test:verdicts";
  argus_store *s = NULL;
  argus_store_error se = {{0}};
  argus_err e = argus_store_open(g_db, &o, &s, &se);
  CHECK_OK(e);
  if (e)
    fprintf(stderr, "open: %s\n", se.msg);
  return s;
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

/* Stores an alert of person/watchlist with score and probe (NULL: none). */
static argus_store_id add_alert(argus_store *s, argus_store_id wl,
                                argus_store_id person, double score,
                                const float *probe, const char *model,
                                int negative) {
  argus_store_alert_in in;
  memset(&in, 0, sizeof in);
  in.camera = "door";
  in.media_time = 1.0;
  in.track_id = 7;
  in.watchlist_id = wl;
  in.person_id = person;
  in.score = score;
  in.threshold = NAN;
  in.track_start = NAN;
  in.probe = probe;
  in.probe_dim = probe ? DIM : 0;
  in.probe_model = probe ? model : NULL;
  in.negative = negative;
  argus_store_id id = 0;
  argus_store_error se = {{0}};
  argus_err e = argus_store_alert_insert(s, &in, &id, &se);
  CHECK_OK(e);
  if (e)
    fprintf(stderr, "alert insert: %s\n", se.msg);
  return id;
}

static argus_err decide(argus_store *s, argus_store_id alert, const char *op,
                        argus_alert_status d, argus_store_verdict *v,
                        argus_store_error *se) {
  memset(se, 0, sizeof *se);
  return argus_store_decision_add_ex(s, alert, op, d, NULL, v, se);
}

static unsigned g_seq;

static argus_event *face_ev(const float *v) {
  argus_event *ev = NULL;
  float *emb = NULL;
  uint8_t *crop = NULL;
  CHECK_OK(argus_event_face_new(DIM, 32, 0, &ev, &emb, &crop, NULL));
  if (!ev)
    return NULL;
  argus_event_face *f = &ev->u.face;
  memcpy(emb, v, DIM * sizeof *emb);
  for (int i = 0; i < 32; i++)
    crop[i] = (uint8_t)(i + g_seq);
  argus_sha256_hex(crop, 32, f->crop.sha256);
  snprintf(f->camera, sizeof f->camera, "door");
  f->wall_ns = argus_wall_ns();
  f->mono_ns = argus_time_ns();
  f->media_time = 100.0 * ++g_seq; /* beyond every cooldown */
  f->track = g_seq;
  f->reason = ARGUS_EVENT_REASON_EARLY;
  f->quality = 0.8f;
  snprintf(f->model, sizeof f->model, "%s", MODEL);
  snprintf(ev->id, sizeof ev->id, "face-%u", g_seq);
  return ev;
}

/* Matches a face with embedding v; returns the hit of `person` (decision 0
 * when it was no hit). */
static argus_match_hit match_one(argus_matcher *m, const float *v,
                                 argus_store_id person) {
  argus_match_hit none;
  memset(&none, 0, sizeof none);
  argus_event *ev = face_ev(v);
  argus_match_result r;
  argus_error_detail err = {{0}};
  CHECK_OK(argus_matcher_handle_face(m, ev, &r, &err));
  argus_event_unref(ev);
  for (int i = 0; i < r.nhits; i++)
    if (r.hits[i].cand.person_id == person)
      return r.hits[i];
  return none;
}

static int64_t count_audit(argus_store *s, const char *action) {
  argus_store_audit_filter f;
  memset(&f, 0, sizeof f);
  f.action = action;
  f.limit = 1000;
  argus_store_audit *rows = NULL;
  size_t n = 0;
  argus_store_error se = {{0}};
  CHECK_OK(argus_store_audit_query(s, &f, &rows, &n, &se));
  argus_store_free(rows);
  return (int64_t)n;
}

/* The newest audit row of `action`: its detail into buf. */
static void last_audit(argus_store *s, const char *action, char *buf,
                       size_t cap) {
  argus_store_audit_filter f;
  memset(&f, 0, sizeof f);
  f.action = action;
  f.limit = 1000;
  argus_store_audit *rows = NULL;
  size_t n = 0;
  argus_store_error se = {{0}};
  buf[0] = '\0';
  CHECK_OK(argus_store_audit_query(s, &f, &rows, &n, &se));
  if (n > 0)
    snprintf(buf, cap, "%s", rows[0].detail);
  argus_store_free(rows);
}

static void reload(argus_gallery *g) {
  argus_gallery_error ge = {{0}};
  CHECK_OK(argus_gallery_reload(g, &ge));
}

/* ---- negatives ------------------------------------------------------------ */

static void test_negatives(void) {
  argus_store *s = open_store();
  if (!s)
    return;
  argus_store_error se = {{0}};
  argus_store_id wl = 0;
  CHECK_OK(argus_store_watchlist_create(s, "a", THRESHOLD, NULL, &wl, &se));
  argus_store_watchlist w;
  CHECK_OK(argus_store_watchlist_get(s, "a", &w, &se));
  CHECK(strcmp(w.negatives, "suppress") == 0);
  CHECK_INT_EQ(w.four_eyes, 0);

  argus_gallery_config cfg;
  memset(&cfg, 0, sizeof cfg);
  snprintf(cfg.model_id, sizeof cfg.model_id, "%s", MODEL);
  cfg.dim = DIM;
  cfg.default_threshold = 0.5f;
  cfg.default_fmr = 1e-3;
  argus_gallery *g = NULL;
  argus_gallery_error ge = {{0}};
  CHECK_OK(argus_gallery_open(s, &cfg, &g, &ge));
  if (!g) {
    argus_store_close(s);
    return;
  }
  float va[DIM], vb[DIM], x[DIM], y[DIM];
  random_unit(va);
  random_unit(vb);
  argus_store_id ada = add_person(g, "a", "Ada", va, 1);
  argus_store_id bob = add_person(g, "a", "Bob", vb, 2);
  /* A stranger X who looks like Ada (0.75 > 0.6) raised an alert. */
  at_cosine(va, 0.75, x);
  argus_store_id al = add_alert(s, wl, ada, cosv(x, va), x, MODEL, 0);
  argus_store_alert a;
  CHECK_OK(argus_store_alert_get(s, al, &a, &se));
  CHECK_INT_EQ(a.has_probe, 1);
  CHECK_INT_EQ(a.negative_id, 0);

  argus_store_id feed0 = 0;
  {
    argus_store_change *ch = NULL;
    size_t n = 0;
    CHECK_OK(argus_store_changes_since(s, 0, 0, &ch, &n, &feed0, &se));
    argus_store_free(ch);
  }
  argus_store_verdict v;
  CHECK_OK(decide(s, al, "op:ann", ARGUS_ALERT_REJECTED, &v, &se));
  CHECK(v.negative_id > 0);
  CHECK_INT_EQ(v.status, ARGUS_ALERT_REJECTED);
  argus_store_id neg = v.negative_id;
  CHECK_INT_EQ(count_audit(s, "person.negative_add"), 1);
  /* The change feed tells a running matcher of the person's change. */
  {
    argus_store_change *ch = NULL;
    size_t n = 0;
    CHECK_OK(argus_store_changes_since(s, feed0, 0, &ch, &n, NULL, &se));
    int seen = 0;
    for (size_t i = 0; i < n; i++)
      seen |= strcmp(ch[i].action, "person.negative_add") == 0 &&
              strcmp(ch[i].object_type, "person") == 0 &&
              ch[i].object_id == ada;
    CHECK(seen);
    argus_store_free(ch);
  }
  /* An alert without a probe (an older row) adds no negative. */
  argus_store_id old = add_alert(s, wl, ada, 0.7, NULL, NULL, 0);
  CHECK_OK(decide(s, old, "op:ann", ARGUS_ALERT_REJECTED, &v, &se));
  CHECK_INT_EQ(v.negative_id, 0);

  /* A running matcher picks the negative up as the feed's change would
   * make it: the person re-read. */
  argus_matcher_config mc;
  argus_matcher_config_init(&mc);
  argus_matcher *m = NULL;
  argus_error_detail me = {{0}};
  CHECK_OK(argus_matcher_create(&mc, g, NULL, &m, &me));
  argus_event_watchlist chg;
  memset(&chg, 0, sizeof chg);
  chg.what = ARGUS_EVENT_CHANGE_PERSON;
  chg.person_id = ada;
  CHECK_OK(argus_matcher_apply_change(m, &chg, &me));

  float near_x[DIM], near_a[DIM];
  at_cosine(x, 0.97, near_x);
  at_cosine(va, 0.97, near_a);
  /* The premise: X's twin clears Ada's threshold but is nearer X. */
  CHECK(cosv(near_x, va) > THRESHOLD);
  CHECK(cosv(near_x, x) > cosv(near_x, va));
  CHECK(cosv(near_a, va) > cosv(near_a, x));

  argus_gallery_candidate c[4];
  int nf = 0;
  CHECK_OK(argus_gallery_search(g, near_x, 1, 4, NULL, c, &nf, &ge));
  CHECK(nf >= 1 && c[0].person_id == ada);
  CHECK_INT_EQ(c[0].negative_id, neg);
  CHECK_NEAR(c[0].negative_score, cosv(near_x, x), 1e-4, 0);
  CHECK(ARGUS_GALLERY_CANDIDATE_NEGATIVE(&c[0]));

  argus_match_hit h = match_one(m, near_x, ada);
  CHECK_INT_EQ(h.decision, ARGUS_MATCH_SUPPRESS_NEGATIVE);
  h = match_one(m, near_a, ada);
  CHECK_INT_EQ(h.decision, ARGUS_MATCH_ALERT);
  CHECK_INT_EQ(h.negative, 0);
  argus_matcher_stats ms;
  CHECK_OK(argus_matcher_get_stats(m, &ms));
  CHECK_INT_EQ(ms.suppressed_negative, 1);

  /* The store sink's record of a suppression. */
  argus_store_alert_in in;
  memset(&in, 0, sizeof in);
  in.camera = "door";
  in.track_id = 9;
  in.watchlist_id = wl;
  in.person_id = ada;
  in.score = cosv(near_x, va);
  in.threshold = NAN;
  in.track_start = NAN;
  in.probe = near_x;
  in.probe_dim = DIM;
  in.probe_model = MODEL;
  int64_t alerts_before = 0;
  {
    int64_t n3[3];
    CHECK_OK(argus_store_alert_counts(s, n3, NULL, &se));
    alerts_before = n3[0] + n3[1] + n3[2];
  }
  CHECK_OK(argus_store_alert_suppressed(s, &in, &se));
  {
    int64_t n3[3];
    CHECK_OK(argus_store_alert_counts(s, n3, NULL, &se));
    CHECK_INT_EQ(n3[0] + n3[1] + n3[2], alerts_before); /* no alert row */
  }
  char detail[1024];
  last_audit(s, "alert.suppressed", detail, sizeof detail);
  char want[64];
  snprintf(want, sizeof want, "\"negative\":%lld", (long long)neg);
  CHECK(strstr(detail, want) != NULL);
  snprintf(want, sizeof want, "\"person_id\":%lld", (long long)ada);
  CHECK(strstr(detail, want) != NULL);
  CHECK(strstr(detail, "\"negative_score\":") != NULL);
  CHECK(strstr(detail, "\"score\":") != NULL);
  CHECK(strstr(detail, "\"camera\":\"door\"") != NULL);
  if (!strstr(detail, want))
    fprintf(stderr, "alert.suppressed detail: %s\n", detail);

  /* "mark": alerted, marked; the stored alert keeps the negative. */
  CHECK_OK(argus_store_watchlist_set_verdicts(s, "a", -1, "mark", &se));
  reload(g);
  h = match_one(m, near_x, ada);
  CHECK_INT_EQ(h.decision, ARGUS_MATCH_ALERT);
  CHECK_INT_EQ(h.negative, 1);
  argus_store_id marked = add_alert(s, wl, ada, h.cand.score, near_x, MODEL, 1);
  CHECK_OK(argus_store_alert_get(s, marked, &a, &se));
  CHECK_INT_EQ(a.negative_id, neg);
  CHECK_NEAR(a.negative_score, cosv(near_x, x), 1e-4, 0);
  /* "off": negatives ignored. */
  CHECK_OK(argus_store_watchlist_set_verdicts(s, "a", -1, "off", &se));
  reload(g);
  h = match_one(m, near_x, ada);
  CHECK_INT_EQ(h.decision, ARGUS_MATCH_ALERT);
  CHECK_INT_EQ(h.negative, 0);
  CHECK(argus_store_watchlist_set_verdicts(s, "a", -1, "maybe", &se) ==
        ARGUS_E_INVALID_ARG);
  CHECK_OK(argus_store_watchlist_set_verdicts(s, "a", -1, "suppress", &se));
  reload(g);

  /* A negative of another model is never compared: Bob's rejected alert
   * was made by other@1. */
  at_cosine(vb, 0.75, y);
  argus_store_id bal = add_alert(s, wl, bob, cosv(y, vb), y, "other@1", 0);
  CHECK_OK(decide(s, bal, "op:ann", ARGUS_ALERT_REJECTED, &v, &se));
  CHECK(v.negative_id > 0);
  chg.person_id = bob;
  CHECK_OK(argus_matcher_apply_change(m, &chg, &me));
  float near_y[DIM];
  at_cosine(y, 0.97, near_y);
  CHECK(cosv(near_y, vb) > THRESHOLD);
  h = match_one(m, near_y, bob);
  CHECK_INT_EQ(h.decision, ARGUS_MATCH_ALERT);
  CHECK_INT_EQ(h.cand.negative_id, 0);
  /* ... and stays out after a full reload too. */
  reload(g);
  h = match_one(m, near_y, bob);
  CHECK_INT_EQ(h.decision, ARGUS_MATCH_ALERT);
  /* Ada's still suppresses after the reload. */
  h = match_one(m, near_x, ada);
  CHECK_INT_EQ(h.decision, ARGUS_MATCH_SUPPRESS_NEGATIVE);

  /* Removing the person removes its negatives (ON DELETE CASCADE). */
  argus_store_verdict_stats st;
  CHECK_OK(argus_store_verdict_stats_get(s, "a", NAN, NAN, &st, &se));
  CHECK_INT_EQ(st.negatives, 2);
  CHECK_INT_EQ(st.suppressions, 1);
  CHECK_INT_EQ(st.marked, 1);
  CHECK_OK(argus_gallery_person_remove(g, ada, &ge));
  CHECK_OK(argus_store_verdict_stats_get(s, "a", NAN, NAN, &st, &se));
  CHECK_INT_EQ(st.negatives, 1);

  /* Retention: the negatives' lifetime passes. The purge tells the change
   * feed ("person.negative_purge", one row per person), and a matcher
   * that follows the feed drops them: Bob's stranger, suppressed before,
   * is alerted after. */
  {
    float z[DIM], near_z[DIM];
    at_cosine(vb, 0.75, z);
    argus_store_id zal = add_alert(s, wl, bob, cosv(z, vb), z, MODEL, 0);
    CHECK_OK(decide(s, zal, "op:ann", ARGUS_ALERT_REJECTED, &v, &se));
    CHECK(v.negative_id > 0);
    chg.person_id = bob;
    CHECK_OK(argus_matcher_apply_change(m, &chg, &me));
    at_cosine(z, 0.97, near_z);
    CHECK(cosv(near_z, vb) > THRESHOLD);
    CHECK(cosv(near_z, z) > cosv(near_z, vb));
    h = match_one(m, near_z, bob);
    CHECK_INT_EQ(h.decision, ARGUS_MATCH_SUPPRESS_NEGATIVE);

    argus_store_id feed1 = 0;
    argus_store_change *ch = NULL;
    size_t n = 0;
    CHECK_OK(argus_store_changes_since(s, 0, 0, &ch, &n, &feed1, &se));
    argus_store_free(ch);
    CHECK_OK(argus_store_retention_set(s, ARGUS_RETAIN_NEGATIVES,
                                       ARGUS_RETENTION_MIN_S, &se));
    char later[ARGUS_RFC3339_MAX];
    argus_rfc3339(argus_wall_ns() + 2 * ARGUS_RETENTION_MIN_S * 1000000000LL,
                  later);
    setenv("ARGUS_TEST_NOW", later, 1);
    argus_store_purge_report rep;
    CHECK_OK(argus_store_purge(s, 0, NULL, NULL, &rep, &se));
    unsetenv("ARGUS_TEST_NOW");
    CHECK_INT_EQ(rep.count[ARGUS_RETAIN_NEGATIVES], 2); /* Bob's two */
    CHECK_OK(argus_store_verdict_stats_get(s, "a", NAN, NAN, &st, &se));
    CHECK_INT_EQ(st.negatives, 0);
    /* The feed's changes after the purge, applied as the pipeline's feed
     * poll publishes them (person.* -> the person re-read). */
    CHECK_OK(argus_store_changes_since(s, feed1, 0, &ch, &n, NULL, &se));
    int told = 0;
    for (size_t i = 0; i < n; i++) {
      if (strcmp(ch[i].object_type, "person") != 0 || ch[i].object_id <= 0)
        continue;
      told += strcmp(ch[i].action, "person.negative_purge") == 0 &&
              ch[i].object_id == bob;
      chg.person_id = ch[i].object_id;
      CHECK_OK(argus_matcher_apply_change(m, &chg, &me));
    }
    argus_store_free(ch);
    CHECK_INT_EQ(told, 1);
    CHECK_INT_EQ(count_audit(s, "person.negative_purge"), 1);
    h = match_one(m, near_z, bob);
    CHECK_INT_EQ(h.decision, ARGUS_MATCH_ALERT);
    CHECK_INT_EQ(h.cand.negative_id, 0);
  }

  argus_matcher_destroy(m);
  argus_gallery_close(g);
  argus_store_close(s);
}

/* ---- four-eyes ------------------------------------------------------------ */

static void test_four_eyes(void) {
  argus_store *s = open_store();
  if (!s)
    return;
  argus_store_error se = {{0}};
  argus_store_id fe = 0, plain = 0;
  CHECK_OK(argus_store_watchlist_create(s, "fe", NAN, NULL, &fe, &se));
  CHECK_OK(argus_store_watchlist_create(s, "plain", NAN, NULL, &plain, &se));
  CHECK_OK(argus_store_watchlist_set_verdicts(s, "fe", 1, NULL, &se));
  argus_store_person_in pin = {"Cyd", NULL, NULL};
  argus_store_id cyd = 0, dee = 0;
  CHECK_OK(argus_store_person_add(s, "fe", &pin, NULL, NULL, 0, &cyd, &se));
  pin.name = "Dee";
  CHECK_OK(argus_store_person_add(s, "plain", &pin, NULL, NULL, 0, &dee, &se));

  argus_store_verdict v;
  argus_store_alert a;
  /* Off by default: one confirmation confirms. */
  argus_store_id a0 = add_alert(s, plain, dee, 0.8, NULL, NULL, 0);
  CHECK_OK(decide(s, a0, "op:ann", ARGUS_ALERT_CONFIRMED, &v, &se));
  CHECK_INT_EQ(v.status, ARGUS_ALERT_CONFIRMED);
  CHECK_INT_EQ(v.needed, 1);

  argus_store_id a1 = add_alert(s, fe, cyd, 0.8, NULL, NULL, 0);
  CHECK_OK(decide(s, a1, "op:ann", ARGUS_ALERT_CONFIRMED, &v, &se));
  CHECK_INT_EQ(v.status, ARGUS_ALERT_PENDING);
  CHECK_INT_EQ(v.confirmations, 1);
  CHECK_INT_EQ(v.needed, 2);
  CHECK_OK(argus_store_alert_get(s, a1, &a, &se));
  CHECK_INT_EQ(a.status, ARGUS_ALERT_PENDING);
  CHECK_INT_EQ(a.confirmations, 1);
  CHECK_INT_EQ(a.four_eyes, 1);
  /* The same operator again: refused, nothing stored. */
  argus_err e = decide(s, a1, "op:ann", ARGUS_ALERT_CONFIRMED, &v, &se);
  CHECK_INT_EQ(e, ARGUS_E_INVALID_ARG);
  CHECK(strstr(se.msg, "second, different operator") != NULL);
  argus_store_decision *d = NULL;
  size_t nd = 0;
  CHECK_OK(argus_store_decision_list(s, a1, &d, &nd, &se));
  CHECK_INT_EQ(nd, 1);
  argus_store_free(d);
  /* A second operator confirms it. */
  CHECK_OK(decide(s, a1, "op:bob", ARGUS_ALERT_CONFIRMED, &v, &se));
  CHECK_INT_EQ(v.status, ARGUS_ALERT_CONFIRMED);
  CHECK_INT_EQ(v.confirmations, 2);
  CHECK_OK(argus_store_alert_get(s, a1, &a, &se));
  CHECK_INT_EQ(a.status, ARGUS_ALERT_CONFIRMED);
  /* ... and then it is decided: a third is refused. */
  CHECK_INT_EQ(decide(s, a1, "op:cy", ARGUS_ALERT_REJECTED, &v, &se),
               ARGUS_E_INVALID_ARG);
  /* One rejection closes it, after a first confirmation too. */
  argus_store_id a2 = add_alert(s, fe, cyd, 0.8, NULL, NULL, 0);
  CHECK_OK(decide(s, a2, "op:ann", ARGUS_ALERT_CONFIRMED, &v, &se));
  CHECK_OK(decide(s, a2, "op:bob", ARGUS_ALERT_REJECTED, &v, &se));
  CHECK_INT_EQ(v.status, ARGUS_ALERT_REJECTED);
  argus_store_id a3 = add_alert(s, fe, cyd, 0.8, NULL, NULL, 0);
  CHECK_OK(decide(s, a3, "op:ann", ARGUS_ALERT_REJECTED, &v, &se));
  CHECK_OK(argus_store_alert_get(s, a3, &a, &se));
  CHECK_INT_EQ(a.status, ARGUS_ALERT_REJECTED);
  /* Audited with the state. */
  char detail[1024];
  last_audit(s, "alert.decision", detail, sizeof detail);
  CHECK(strstr(detail, "\"four_eyes\":1") != NULL);

  /* The CLI: argus alert confirm shows "1 of 2" and refuses the same
   * operator's second confirmation. */
  argus_store_id a4 = add_alert(s, fe, cyd, 0.8, NULL, NULL, 0);
  argus_store_close(s);
  if (!g_cli)
    return;
  char id[32], out[8192], cmd[2048];
  snprintf(id, sizeof id, "%lld", (long long)a4);
  snprintf(cmd, sizeof cmd, "'%s' alert confirm %s --db '%s' 2>&1", g_cli, id,
           g_db);
  FILE *p = popen(cmd, "r");
  size_t n = p ? fread(out, 1, sizeof out - 1, p) : 0;
  out[n] = '\0';
  int st = p ? pclose(p) : -1;
  CHECK_INT_EQ(WEXITSTATUS(st), 0);
  CHECK(strstr(out, "four-eyes: 1 of 2 confirmations; the alert is pending"));
  if (!strstr(out, "1 of 2"))
    fprintf(stderr, "argus alert confirm said: %s\n", out);
  p = popen(cmd, "r");
  n = p ? fread(out, 1, sizeof out - 1, p) : 0;
  out[n] = '\0';
  st = p ? pclose(p) : -1;
  CHECK_INT_EQ(WEXITSTATUS(st), 1);
  CHECK(strstr(out, "second, different operator") != NULL);
  snprintf(cmd, sizeof cmd, "'%s' alert show %s --json --db '%s' 2>&1", g_cli,
           id, g_db);
  p = popen(cmd, "r");
  n = p ? fread(out, 1, sizeof out - 1, p) : 0;
  out[n] = '\0';
  if (p)
    pclose(p);
  CHECK(strstr(out, "\"confirmations\":1,\"confirmations_needed\":2") != NULL);
}

/* ---- statistics ----------------------------------------------------------- */

static void test_stats(void) {
  argus_store *s = open_store();
  if (!s)
    return;
  argus_store_error se = {{0}};
  argus_store_id wl = 0, eve = 0;
  CHECK_OK(argus_store_watchlist_create(s, "st", 0.72, NULL, &wl, &se));
  argus_store_person_in pin = {"Eve", NULL, NULL};
  CHECK_OK(argus_store_person_add(s, "st", &pin, NULL, NULL, 0, &eve, &se));
  /* score, verdict (0 pending) */
  static const struct {
    double score;
    argus_alert_status d;
  } set[] = {
      {0.90, ARGUS_ALERT_CONFIRMED}, {0.85, ARGUS_ALERT_CONFIRMED},
      {0.80, ARGUS_ALERT_REJECTED},  {0.75, ARGUS_ALERT_CONFIRMED},
      {0.70, ARGUS_ALERT_REJECTED},  {0.65, ARGUS_ALERT_REJECTED},
      {0.62, ARGUS_ALERT_PENDING},
  };
  float probe[DIM];
  random_unit(probe);
  for (size_t i = 0; i < sizeof set / sizeof set[0]; i++) {
    argus_store_id id = add_alert(s, wl, eve, set[i].score, probe, MODEL, 0);
    argus_store_verdict v;
    if (set[i].d != ARGUS_ALERT_PENDING)
      CHECK_OK(decide(s, id, "op:ann", set[i].d, &v, &se));
  }
  argus_store_verdict_stats st;
  CHECK_OK(argus_store_verdict_stats_get(s, "st", 0.72, 0.25, &st, &se));
  CHECK_INT_EQ(st.alerts, 7);
  CHECK_INT_EQ(st.pending, 1);
  CHECK_INT_EQ(st.confirmed, 3);
  CHECK_INT_EQ(st.rejected, 3);
  CHECK_INT_EQ(st.confirmed_at, 3);
  CHECK_INT_EQ(st.rejected_at, 1);
  CHECK_NEAR(st.far, 0.25, 1e-12, 0);
  CHECK_INT_EQ(st.negatives, 3);
  CHECK_INT_EQ(st.decided, 6);
  /* best first: 0.90 0/1, 0.85 0/2, 0.80 1/3, 0.75 1/4, 0.70 2/5, 0.65 3/6 */
  CHECK_NEAR(st.suggested, 0.75, 1e-12, 0);
  CHECK_OK(argus_store_verdict_stats_get(s, "st", 0.72, 0.1, &st, &se));
  CHECK_NEAR(st.suggested, 0.85, 1e-12, 0);
  CHECK_OK(argus_store_verdict_stats_get(s, "st", 0.5, 0.1, &st, &se));
  CHECK_NEAR(st.far, 0.5, 1e-12, 0);
  CHECK(argus_store_verdict_stats_get(s, "nope", 0.5, 0.1, &st, &se) ==
        ARGUS_E_NOT_FOUND);
  argus_store_close(s);

  if (!g_cli)
    return;
  char out[8192], cmd[2048];
  snprintf(cmd, sizeof cmd,
           "'%s' watchlist stats st --target-far 0.25 --json --db '%s' 2>&1",
           g_cli, g_db);
  FILE *p = popen(cmd, "r");
  size_t n = p ? fread(out, 1, sizeof out - 1, p) : 0;
  out[n] = '\0';
  int rc = p ? pclose(p) : -1;
  CHECK_INT_EQ(WEXITSTATUS(rc), 0);
  CHECK(strstr(out, "\"confirmed\":3,\"rejected\":3") != NULL);
  CHECK(strstr(out, "\"false_alarm_rate\":0.25") != NULL);
  CHECK(strstr(out, "\"suggested_from_verdicts\":0.75") != NULL);
  CHECK(strstr(out, "\"negatives\":3") != NULL);
  if (!strstr(out, "\"false_alarm_rate\":0.25"))
    fprintf(stderr, "argus watchlist stats said: %s\n", out);
  /* The settings through the CLI. */
  snprintf(cmd, sizeof cmd,
           "'%s' watchlist set st --four-eyes --negatives mark --db '%s' "
           ">/dev/null 2>&1",
           g_cli, g_db);
  CHECK_INT_EQ(WEXITSTATUS(system(cmd)), 0);
  s = open_store();
  if (!s)
    return;
  argus_store_watchlist w;
  CHECK_OK(argus_store_watchlist_get(s, "st", &w, &se));
  CHECK_INT_EQ(w.four_eyes, 1);
  CHECK(strcmp(w.negatives, "mark") == 0);
  argus_store_close(s);
  snprintf(cmd, sizeof cmd,
           "'%s' watchlist set st --negatives sometimes --db '%s' >/dev/null "
           "2>&1",
           g_cli, g_db);
  CHECK_INT_EQ(WEXITSTATUS(system(cmd)), 2);
}

/* ---- end to end: argus watch, the store sink, argus alert reject --------- */

static int run_quiet(const char *cmd) {
  int st = system(cmd);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* Alerts stored so far, and how many of them are marked by a negative. */
static void alert_tally(const char *db, size_t *n, size_t *marked,
                        argus_store_id *ids, size_t cap) {
  argus_store_options o;
  memset(&o, 0, sizeof o);
  o.actor = "test:verdicts";
  argus_store *s = NULL;
  argus_store_error se = {{0}};
  *n = *marked = 0;
  CHECK_OK(argus_store_open(db, &o, &s, &se));
  if (!s)
    return;
  argus_store_alert_filter f;
  memset(&f, 0, sizeof f);
  f.limit = 1000;
  f.status = -1;
  argus_store_alert *a = NULL;
  CHECK_OK(argus_store_alert_list(s, &f, &a, n, &se));
  for (size_t i = 0; i < *n; i++) {
    *marked += a[i].negative_id > 0;
    CHECK_INT_EQ(a[i].has_probe, 1); /* the sink stores the probe */
    if (ids && i < cap)
      ids[i] = a[i].id;
  }
  argus_store_free(a);
  argus_store_close(s);
}

static void test_watch_e2e(void) {
  const char *models = getenv("ARGUS_MODELS_DIR");
  const char *shared = getenv("ARGUS_SHARED_DATA");
  char photo[1200], video[1200], probe[1200];
  if (!models)
    models = "models";
  if (!shared)
    shared = "../shared/data";
  snprintf(probe, sizeof probe, "%s/fr_feature.onnx", models);
  snprintf(photo, sizeof photo,
           "%s/stills/face_recognition_examples/examples/"
           "lin-manuel-miranda.png",
           shared);
  snprintf(video, sizeof video, "%s/video/hamilton_clip_10s.mp4", shared);
  if (!g_cli || access(probe, R_OK) != 0 || access(photo, R_OK) != 0 ||
      access(video, R_OK) != 0) {
    fprintf(stderr,
            "note: the argus watch checks are skipped: no argus "
            "binary, models in %s, or %s / %s\n",
            models, photo, video);
    return;
  }
  setenv("ARGUS_MODELS", models, 1);
  char dir[700], db[800], cmd[4096];
  snprintf(dir, sizeof dir, "%s/e2e", g_root);
  mkdir(dir, 0700);
  snprintf(db, sizeof db, "%s/argus.db", dir);
  if (g_pg) { /* a database of its own, with its own data folder */
    CHECK_INT_EQ(pg_db_for_path(g_pg, db, 1, db, sizeof db), 0);
    setenv("ARGUS_DATA_DIR", dir, 1);
  }
  snprintf(cmd, sizeof cmd,
           "'%s' watchlist create vip --db '%s' >/dev/null 2>&1 && '%s' "
           "person add --watchlist vip --name Lin '%s' --db '%s' >/dev/null "
           "2>&1",
           g_cli, db, g_cli, photo, db);
  CHECK_INT_EQ(run_quiet(cmd), 0);
  char watch[4096];
  snprintf(watch, sizeof watch,
           "'%s' watch '%s' --json --cooldown 0 --db '%s' >/dev/null 2>&1",
           g_cli, video, db);
  CHECK_INT_EQ(run_quiet(watch), 0);
  size_t n1 = 0, m1 = 0;
  argus_store_id ids[256];
  alert_tally(db, &n1, &m1, ids, 256);
  CHECK(n1 >= 1);
  /* An operator rejects them all: each probe becomes a negative of Lin. */
  argus_store_options o;
  memset(&o, 0, sizeof o);
  o.actor = "test:verdicts";
  argus_store *s = NULL;
  argus_store_error se = {{0}};
  CHECK_OK(argus_store_open(db, &o, &s, &se));
  if (!s)
    return;
  for (size_t i = 0; i < n1 && i < 256; i++) {
    argus_store_verdict v;
    CHECK_OK(decide(s, ids[i], "op:ann", ARGUS_ALERT_REJECTED, &v, &se));
    CHECK(v.negative_id > 0);
  }
  argus_store_close(s);
  /* The same clip again: its faces are its rejected faces, nearer them than
   * to Lin's photo: suppressed, and audited by the store sink. */
  CHECK_INT_EQ(run_quiet(watch), 0);
  size_t n2 = 0, m2 = 0;
  alert_tally(db, &n2, &m2, NULL, 0);
  s = open_store_at(db);
  int64_t sup = s ? count_audit(s, "alert.suppressed") : 0;
  argus_store_close(s);
  printf("argus watch: %zu alerts; after rejecting them, %zu new and %lld "
         "matches suppressed by the negatives\n",
         n1, n2 - n1, (long long)sup);
  CHECK_INT_EQ(n2, n1);
  CHECK(sup >= 1);
  /* "mark": alerted again, each marked. */
  snprintf(cmd, sizeof cmd,
           "'%s' watchlist set vip --negatives mark --db '%s' >/dev/null 2>&1",
           g_cli, db);
  CHECK_INT_EQ(run_quiet(cmd), 0);
  CHECK_INT_EQ(run_quiet(watch), 0);
  size_t n3 = 0, m3 = 0;
  alert_tally(db, &n3, &m3, NULL, 0);
  CHECK(n3 > n2);
  CHECK_INT_EQ(m3, n3 - n2);
}

int main(void) {
  const char *base = getenv("TMPDIR");
  snprintf(g_root, sizeof g_root, "%s/argus_verdicts_XXXXXX",
           base ? base : "/tmp");
  if (!mkdtemp(g_root)) {
    perror("mkdtemp");
    return 1;
  }
  snprintf(g_db, sizeof g_db, "%s/argus.db", g_root);
  if (pg_test_wanted()) {
    int pr = pg_cluster_start(&g_pgc);
    if (pr != 0) {
      fprintf(stderr, "test_verdicts: no PostgreSQL cluster\n");
      return pr == 77 ? 77 : 1;
    }
    g_pg = &g_pgc;
    printf("test_verdicts: on PostgreSQL (port %d)\n", g_pgc.port);
    if (pg_db_for_path(g_pg, g_db, 1, g_db, sizeof g_db) != 0)
      return 1;
    setenv("ARGUS_DATA_DIR", g_root, 1);
  }
  g_cli = getenv("ARGUS_CLI");
  if (g_cli && access(g_cli, X_OK) != 0)
    g_cli = NULL;
  if (!g_cli)
    fprintf(stderr, "note: ARGUS_CLI not set: the CLI checks are skipped\n");
  test_negatives();
  test_four_eyes();
  test_stats();
  test_watch_e2e();
  if (g_pg)
    pg_cluster_stop(&g_pgc);
  nftw(g_root, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
  printf("%d checks, %d failures\n", check_count_, check_failures_);
  return check_failures_ ? 1 : 0;
}
