/* The gallery: store and index in sync, 1:N search with per-watchlist
 * thresholds, enrolment with the quality gate, reindexing.
 *
 * Part 1 (always): synthetic templates of a made-up model — search order,
 * one candidate per person, thresholds and active flags, store failures that
 * leave the index untouched, removal, templates of other models never
 * loaded, sync and reload after changes by another store handle, a
 * write-only gallery, concurrent searches during enrolment and removal, and
 * the hash map under it.
 *
 * Part 2 (needs the models and ../shared/data/stills/face_recognition_
 * examples, else skipped with a message): enrol Obama and Biden from photos,
 * identify obama2.jpg and both faces of two_people.jpg, nobody among two
 * others; a photo without a face and a group photo are rejected with their
 * reasons and nothing is stored; too small and blurred photos; removal;
 * reindex after the templates were made by "another model". */
#define _GNU_SOURCE
#include <ftw.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "argus/gallery.h"
#include "check.h"
#include "gallery/gallery_internal.h"

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

#define DIM 32
#define MODEL "synth@1"

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

/* Each database in a folder of its own (its crops live next to it). */
static argus_store *open_store(const char *name) {
  char path[700];
  snprintf(path, sizeof path, "%s/%s.d", g_root, name);
  mkdir(path, 0700);
  snprintf(path, sizeof path, "%s/%s.d/%s", g_root, name, name);
  argus_store_options o;
  memset(&o, 0, sizeof o);
  o.actor = "test:gallery";
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

static int64_t count_templates(argus_store *s, const char *name,
                               const char *version) {
  argus_store_model m = {name, version, DIM};
  int64_t n = -1;
  argus_store_error se = {{0}};
  CHECK_OK(argus_store_template_count(s, name ? &m : NULL, &n, &se));
  return n;
}

static size_t count_persons(argus_store *s) {
  argus_store_person *l = NULL;
  size_t n = 0;
  argus_store_error se = {{0}};
  CHECK_OK(argus_store_person_list(s, NULL, NULL, &l, &n, &se));
  argus_store_free(l);
  return n;
}

static argus_store_id add_person(argus_gallery *g, const char *wl,
                                 const char *name, const char *ext,
                                 synth *photos, int n) {
  argus_gallery_photo p[8];
  for (int i = 0; i < n; i++)
    p[i] = photos[i].p;
  argus_store_person_in in = {name, ext, NULL};
  argus_store_id id = 0;
  argus_gallery_error err = {{0}};
  argus_err e = argus_gallery_person_add(g, wl, &in, p, n, &id, &err);
  CHECK_OK(e);
  if (e)
    fprintf(stderr, "add %s: %s\n", name, err.msg);
  return id;
}

/* Top candidate of one query in watchlist wl (NULL: all active). */
static int search1(argus_gallery *g, const char *wl, const float *q, int k,
                   argus_gallery_candidate *c) {
  const char *names[1] = {wl};
  argus_gallery_search_opts o = {wl ? names : NULL, wl ? 1 : 0, NULL,
                                 ARGUS_GALLERY_NORM_NONE,
                                 ARGUS_GALLERY_FUSE_MAX};
  int n = -1;
  argus_gallery_error err = {{0}};
  argus_err e = argus_gallery_search(g, q, 1, k, &o, c, &n, &err);
  CHECK_OK(e);
  if (e)
    fprintf(stderr, "search: %s\n", err.msg);
  return n;
}

static void noisy(uint32_t *s, const float *v, float amount, float *out) {
  for (int i = 0; i < DIM; i++)
    out[i] = v[i] + amount * rnd(s);
  unit(out, DIM);
}

/* ---- the hash map ------------------------------------------------------- */

static void test_map(void) {
  gmap m = {0};
  enum { KEYS = 20000, OPS = 200000 };
  static unsigned char present[KEYS + 1];
  static int64_t vals[KEYS + 1];
  uint32_t s = 7;
  int bad = 0;
  size_t live = 0;
  for (int op = 0; op < OPS; op++) {
    int64_t k = 1 + (int64_t)(rng(&s) % KEYS);
    if (rng(&s) % 3 == 0) {
      void *v = gmap_del(&m, k);
      bad += v != (present[k] ? (void *)&vals[k] : NULL);
      live -= present[k];
      present[k] = 0;
    } else {
      CHECK_OK(gmap_put(&m, k, &vals[k]));
      live += !present[k];
      present[k] = 1;
    }
    if (op % 20000 == 0 || op == OPS - 1)
      for (int64_t j = 1; j <= KEYS; j++)
        bad += gmap_get(&m, j) != (present[j] ? (void *)&vals[j] : NULL);
  }
  CHECK_INT_EQ(bad, 0);
  CHECK_INT_EQ(m.count, live);
  CHECK(gmap_put(&m, 0, NULL) == ARGUS_E_INVALID_ARG);
  CHECK(gmap_get(&m, -5) == NULL);
  gmap_free(&m);
}

/* ---- synthetic gallery --------------------------------------------------- */

typedef struct pf_seen {
  argus_store *s;
  int n, bad, stop_at;
  int reentry; /* what a store call inside the callback returned */
  argus_store_id last;
} pf_seen;

static int pf_cb(void *user, const argus_store_person *p) {
  pf_seen *pf = user;
  if (p->id <= pf->last || !p->watchlist[0] || !p->name[0])
    pf->bad++;
  pf->last = p->id;
  if (pf->n == 0) {
    int64_t n = 0;
    pf->reentry = (int)argus_store_template_count(pf->s, NULL, &n, NULL);
  }
  pf->n++;
  return pf->stop_at && pf->n >= pf->stop_at;
}

static void test_synthetic(void) {
  argus_store *s = open_store("synth.db");
  if (!s)
    return;
  argus_store_error se = {{0}};
  CHECK_OK(argus_store_watchlist_create(s, "a", NAN, NULL, NULL, &se));
  CHECK_OK(argus_store_watchlist_create(s, "b", 0.9, NULL, NULL, &se));
  CHECK_OK(argus_store_watchlist_create(s, "c", NAN, NULL, NULL, &se));
  CHECK_OK(argus_store_watchlist_set_active(s, "c", 0, &se));
  argus_gallery_config cfg;
  synth_config(&cfg);
  argus_gallery *g = NULL;
  argus_gallery_error err = {{0}};
  CHECK_OK(argus_gallery_open(s, &cfg, &g, &err));
  if (!g)
    return;

  uint32_t r = 11;
  enum { NP = 12 };
  static float pv[NP][DIM];
  static synth ph[NP][3];
  argus_store_id ids[NP];
  const char *wl_of[NP];
  for (int i = 0; i < NP; i++) {
    random_unit(&r, pv[i]);
    int n = 1 + i % 3;
    for (int k = 0; k < n; k++) {
      float v[DIM];
      noisy(&r, pv[i], 0.15f, v);
      synth_photo(&ph[i][k], v, (uint32_t)(i * 10 + k + 1));
    }
    char name[32], ext[32];
    snprintf(name, sizeof name, "person %d", i);
    snprintf(ext, sizeof ext, "p%d", i);
    wl_of[i] = i < 8 ? "a" : i < 10 ? "b" : "c";
    ids[i] = add_person(g, wl_of[i], name, ext, ph[i], n);
  }
  argus_gallery_stats gs;
  CHECK_OK(argus_gallery_get_stats(g, &gs));
  CHECK_INT_EQ(gs.persons, NP);
  CHECK_INT_EQ(gs.templates, 4 * 2 + 4 * 3 + 4 * 1); /* 1,2,3 photos */
  /* The store's person iteration (what loading uses): every person once,
   * in id order, with its watchlist; a callback can stop it; no re-entry. */
  {
    pf_seen pf = {s, 0, 0, 0, -1, 0};
    CHECK_OK(argus_store_person_foreach(s, pf_cb, &pf, &se));
    CHECK_INT_EQ(pf.n, NP);
    CHECK_INT_EQ(pf.bad, 0);
    CHECK_INT_EQ(pf.reentry, ARGUS_E_INVALID_ARG);
    pf_seen stop = {s, 0, 0, 5, -1, 0};
    CHECK_OK(argus_store_person_foreach(s, pf_cb, &stop, &se));
    CHECK_INT_EQ(stop.n, 5);
    CHECK_INT_EQ(argus_store_person_foreach(s, NULL, NULL, &se),
                 ARGUS_E_INVALID_ARG);
  }
  CHECK_INT_EQ(gs.watchlists, 3);
  CHECK_INT_EQ(count_templates(s, "synth", "1"), gs.templates);

  /* Each person is found first, in its own watchlist, with its watchlist's
   * threshold; one candidate per person although persons have up to three
   * templates. */
  argus_gallery_candidate c[16];
  for (int i = 0; i < NP; i++) {
    float q[DIM];
    noisy(&r, pv[i], 0.1f, q);
    int n = search1(g, wl_of[i], q, 5, c);
    CHECK(n >= 1);
    CHECK_INT_EQ(c[0].person_id, ids[i]);
    CHECK(strcmp(c[0].watchlist, wl_of[i]) == 0);
    CHECK_NEAR(c[0].threshold, wl_of[i][0] == 'b' ? 0.9 : 0.5, 1e-6, 0);
    CHECK_INT_EQ(c[0].match, c[0].score >= c[0].threshold);
    char ext[32];
    snprintf(ext, sizeof ext, "p%d", i);
    CHECK(strcmp(c[0].external_id, ext) == 0);
    for (int a = 0; a < n; a++)
      for (int b = a + 1; b < n; b++)
        CHECK(c[a].person_id != c[b].person_id);
    for (int a = 1; a < n; a++)
      CHECK(c[a].score <= c[a - 1].score);
  }
  /* All active watchlists: "c" (inactive) is left out unless named. */
  {
    float q[DIM];
    memcpy(q, pv[11], sizeof q);
    int n = search1(g, NULL, q, 16, c);
    CHECK_INT_EQ(n, 10);
    for (int a = 0; a < n; a++)
      CHECK(strcmp(c[a].watchlist, "c") != 0);
    n = search1(g, "c", q, 16, c);
    CHECK_INT_EQ(n, 2);
    CHECK_INT_EQ(c[0].person_id, ids[11]);
    CHECK(c[0].match);
    /* k larger than the persons there: all of them, once. */
    n = search1(g, "a", q, 16, c);
    CHECK_INT_EQ(n, 8);
    /* An exact query of a "b" person scores ~1 >= 0.9. */
    n = search1(g, "b", pv[8], 1, c);
    CHECK_INT_EQ(n, 1);
    CHECK(c[0].match);
  }
  /* Batched search gives the same as single searches. */
  {
    static float qs[NP * DIM];
    static argus_gallery_candidate cb[NP * 3];
    int nf[NP];
    for (int i = 0; i < NP; i++)
      noisy(&r, pv[i], 0.1f, qs + i * DIM);
    const char *ab[2] = {"a", "b"};
    argus_gallery_search_opts o = {ab, 2, NULL, ARGUS_GALLERY_NORM_NONE,
                                   ARGUS_GALLERY_FUSE_MAX};
    CHECK_OK(argus_gallery_search(g, qs, NP, 3, &o, cb, nf, &err));
    for (int i = 0; i < NP; i++) {
      argus_gallery_candidate one[3];
      argus_gallery_search_opts o1 = {ab, 2, NULL, ARGUS_GALLERY_NORM_NONE,
                                      ARGUS_GALLERY_FUSE_MAX};
      int n1 = 0;
      CHECK_OK(
          argus_gallery_search(g, qs + i * DIM, 1, 3, &o1, one, &n1, &err));
      CHECK_INT_EQ(nf[i], n1);
      for (int k = 0; k < n1; k++) {
        CHECK_INT_EQ(cb[i * 3 + k].person_id, one[k].person_id);
        CHECK_NEAR(cb[i * 3 + k].score, one[k].score, 1e-6, 0);
      }
    }
  }
  /* Bad searches. */
  {
    float q[DIM] = {0};
    int n = 0;
    const char *nope[1] = {"nope"};
    argus_gallery_search_opts o = {nope, 1, NULL, ARGUS_GALLERY_NORM_NONE,
                                   ARGUS_GALLERY_FUSE_MAX};
    CHECK(argus_gallery_search(g, pv[0], 1, 3, &o, c, &n, &err) ==
          ARGUS_E_NOT_FOUND);
    CHECK(strstr(err.msg, "nope") != NULL);
    CHECK(argus_gallery_search(g, q, 1, 3, NULL, c, &n, &err) ==
          ARGUS_E_INVALID_ARG);
    q[0] = NAN;
    CHECK(argus_gallery_search(g, q, 1, 3, NULL, c, &n, &err) ==
          ARGUS_E_INVALID_ARG);
    CHECK(argus_gallery_search(g, pv[0], 1, 0, NULL, c, &n, &err) ==
          ARGUS_E_INVALID_ARG);
    CHECK(argus_gallery_search(g, pv[0], 1, ARGUS_GALLERY_MAX_K + 1, NULL, c,
                               &n, &err) == ARGUS_E_INVALID_ARG);
    CHECK_OK(argus_gallery_search(g, pv[0], 0, 3, NULL, c, &n, &err));
  }
  /* Failures of the store leave the index as it was. */
  {
    synth x;
    float v[DIM];
    random_unit(&r, v);
    synth_photo(&x, v, 999);
    argus_store_person_in in = {"dup", "p0", NULL}; /* external id taken */
    argus_store_id id = 0;
    CHECK(argus_gallery_person_add(g, "a", &in, &x.p, 1, &id, &err) ==
          ARGUS_E_INVALID_ARG);
    in.external_id = NULL;
    CHECK(argus_gallery_person_add(g, "zz", &in, &x.p, 1, &id, &err) ==
          ARGUS_E_NOT_FOUND);
    /* A rejected photo, a photo of another model, no photo. */
    synth bad = x;
    bad.p.reason = ARGUS_GALLERY_REJECT_BLURRED;
    CHECK(argus_gallery_person_add(g, "a", &in, &bad.p, 1, &id, &err) ==
          ARGUS_E_INVALID_ARG);
    bad = x;
    snprintf(bad.p.model_id, sizeof bad.p.model_id, "other@2");
    CHECK(argus_gallery_person_add(g, "a", &in, &bad.p, 1, &id, &err) ==
          ARGUS_E_INVALID_ARG);
    CHECK(strstr(err.msg, "other@2") != NULL);
    CHECK(argus_gallery_person_add(g, "a", &in, NULL, 0, &id, &err) ==
          ARGUS_E_INVALID_ARG);
    argus_gallery_stats gs2;
    CHECK_OK(argus_gallery_get_stats(g, &gs2));
    CHECK_INT_EQ(gs2.templates, gs.templates);
    CHECK_INT_EQ(gs2.persons, gs.persons);
    CHECK_INT_EQ(count_persons(s), NP);
    int n = search1(g, NULL, v, 1, c);
    CHECK(n == 1 && strcmp(c[0].person, "dup") != 0);
  }
  /* Removal: store first, then the index. */
  {
    CHECK_OK(argus_gallery_person_remove(g, ids[1], &err));
    int n = search1(g, "a", pv[1], 16, c);
    CHECK_INT_EQ(n, 7);
    for (int a = 0; a < n; a++)
      CHECK(c[a].person_id != ids[1]);
    CHECK_INT_EQ(count_persons(s), NP - 1);
    CHECK(argus_gallery_person_remove(g, ids[1], &err) == ARGUS_E_NOT_FOUND);
    argus_gallery_stats gs2;
    CHECK_OK(argus_gallery_get_stats(g, &gs2));
    CHECK_INT_EQ(gs2.templates, gs.templates - 2);
    CHECK_INT_EQ(count_templates(s, "synth", "1"), gs2.templates);
  }
  /* Photos added to an existing person are searchable. */
  {
    synth x;
    float v[DIM];
    random_unit(&r, v);
    synth_photo(&x, v, 777);
    CHECK_OK(argus_gallery_person_add_photos(g, ids[0], &x.p, 1, &err));
    int n = search1(g, "a", v, 1, c);
    CHECK(n == 1 && c[0].person_id == ids[0] && c[0].score > 0.999f);
  }
  /* Changes made through another handle (another process) show after sync
   * or reload; templates of other models are never loaded. */
  {
    argus_store *s2 = open_store("synth.db");
    float v[DIM], w[DIM];
    random_unit(&r, v);
    random_unit(&r, w);
    synth a, b;
    synth_photo(&a, v, 5001);
    synth_photo(&b, w, 5002);
    argus_store_model m1 = {"synth", "1", DIM}, m2 = {"synth", "2", DIM};
    argus_store_photo_in pa = {a.crop, sizeof a.crop, 0.9f, NULL, v};
    argus_store_photo_in pb = {b.crop, sizeof b.crop, 0.9f, NULL, w};
    argus_store_person_in in1 = {"outside one", NULL, NULL};
    argus_store_person_in in2 = {"other model", NULL, NULL};
    argus_store_id o1 = 0, o2 = 0;
    CHECK_OK(argus_store_person_add(s2, "a", &in1, &m1, &pa, 1, &o1, &se));
    CHECK_OK(argus_store_person_add(s2, "a", &in2, &m2, &pb, 1, &o2, &se));
    CHECK_OK(argus_store_person_remove(s2, ids[2], &se));
    int n = search1(g, "a", v, 1, c);
    CHECK(n == 1 && c[0].person_id != o1);
    CHECK_OK(argus_gallery_sync_person(g, o1, &err));
    n = search1(g, "a", v, 1, c);
    CHECK(n == 1 && c[0].person_id == o1);
    CHECK_OK(argus_gallery_sync_person(g, ids[2], &err));
    n = search1(g, "a", pv[2], 16, c);
    for (int a2 = 0; a2 < n; a2++)
      CHECK(c[a2].person_id != ids[2]);
    /* A watchlist created elsewhere, and a threshold changed elsewhere. */
    CHECK_OK(argus_store_watchlist_create(s2, "late", 0.7, NULL, NULL, &se));
    CHECK_OK(argus_store_watchlist_set_threshold(s2, "b", 0.95, &se));
    CHECK_OK(argus_gallery_reload(g, &err));
    argus_gallery_stats gs2;
    CHECK_OK(argus_gallery_get_stats(g, &gs2));
    CHECK_INT_EQ(gs2.other_models, 1);
    CHECK_INT_EQ(gs2.watchlists, 4);
    float t = 0;
    CHECK_OK(argus_gallery_threshold(g, "b", &t, &err));
    CHECK_NEAR(t, 0.95, 1e-6, 0);
    CHECK_OK(argus_gallery_threshold(g, "a", &t, &err));
    CHECK_NEAR(t, 0.5, 1e-6, 0);
    CHECK(argus_gallery_threshold(g, "zz", &t, &err) == ARGUS_E_NOT_FOUND);
    n = search1(g, NULL, w, 16, c);
    for (int a2 = 0; a2 < n; a2++)
      CHECK(c[a2].person_id != o2); /* other model: not searched */
    n = search1(g, "a", v, 1, c);
    CHECK(n == 1 && c[0].person_id == o1);
    /* A gallery opened afresh agrees with the one kept in sync. */
    argus_gallery *g2 = NULL;
    CHECK_OK(argus_gallery_open(s2, &cfg, &g2, &err));
    argus_gallery_stats gs3;
    CHECK_OK(argus_gallery_get_stats(g2, &gs3));
    CHECK_INT_EQ(gs3.templates, gs2.templates);
    CHECK_INT_EQ(gs3.persons, gs2.persons);
    argus_gallery_close(g2);
    argus_store_close(s2);
  }
  /* Write-only: enrolment goes to the store, search is refused. */
  {
    argus_gallery_config wc = cfg;
    wc.write_only = 1;
    argus_gallery *gw = NULL;
    CHECK_OK(argus_gallery_open(s, &wc, &gw, &err));
    synth x;
    float v[DIM];
    random_unit(&r, v);
    synth_photo(&x, v, 8001);
    argus_store_person_in in = {"write only", NULL, NULL};
    argus_store_id id = 0;
    int64_t before = count_templates(s, "synth", "1");
    CHECK_OK(argus_gallery_person_add(gw, "a", &in, &x.p, 1, &id, &err));
    CHECK(id > 0);
    CHECK_INT_EQ(count_templates(s, "synth", "1"), before + 1);
    int n = 0;
    CHECK(argus_gallery_search(gw, v, 1, 1, NULL, c, &n, &err) ==
          ARGUS_E_INVALID_ARG);
    argus_gallery_close(gw);
    CHECK_OK(argus_gallery_sync_person(g, id, &err));
    n = search1(g, "a", v, 1, c);
    CHECK(n == 1 && c[0].person_id == id);
  }
  /* Bad configurations. */
  {
    argus_gallery *gx = NULL;
    argus_gallery_config bad = cfg;
    bad.dim = 0;
    CHECK(argus_gallery_open(s, &bad, &gx, &err) == ARGUS_E_INVALID_ARG);
    bad = cfg;
    snprintf(bad.model_id, sizeof bad.model_id, "noversion");
    CHECK(argus_gallery_open(s, &bad, &gx, &err) == ARGUS_E_INVALID_ARG);
    bad = cfg;
    bad.default_threshold = NAN;
    CHECK(argus_gallery_open(s, &bad, &gx, &err) == ARGUS_E_INVALID_ARG);
    CHECK(gx == NULL);
  }
  argus_gallery_close(g);
  argus_store_close(s);
}

/* ---- concurrency --------------------------------------------------------- */

enum { ANCHORS = 8, READERS = 3 };
static float anchor_v[ANCHORS][DIM];
static argus_store_id anchor_id[ANCHORS];
static volatile int stop_readers;

typedef struct reader_arg {
  argus_gallery *g;
  uint32_t seed;
  long searches, wrong, errors;
} reader_arg;

static void *reader(void *p) {
  reader_arg *a = p;
  float qs[4 * DIM];
  argus_gallery_candidate c[4 * 3];
  int nf[4];
  while (!stop_readers) {
    int which[4];
    for (int q = 0; q < 4; q++) {
      which[q] = (int)(rng(&a->seed) % ANCHORS);
      noisy(&a->seed, anchor_v[which[q]], 0.05f, qs + q * DIM);
    }
    argus_gallery_error err = {{0}};
    if (argus_gallery_search(a->g, qs, 4, 3, NULL, c, nf, &err)) {
      a->errors++;
      continue;
    }
    for (int q = 0; q < 4; q++) {
      const argus_gallery_candidate *b = &c[q * 3];
      char want[32];
      snprintf(want, sizeof want, "anchor %d", which[q]);
      if (nf[q] < 1 || b->person_id != anchor_id[which[q]] ||
          strcmp(b->person, want) != 0 || !b->match)
        a->wrong++;
    }
    a->searches++;
  }
  return NULL;
}

static void test_concurrent(void) {
  argus_store *s = open_store("conc.db");
  if (!s)
    return;
  argus_store_error se = {{0}};
  CHECK_OK(argus_store_watchlist_create(s, "w", NAN, NULL, NULL, &se));
  argus_gallery_config cfg;
  synth_config(&cfg);
  argus_gallery *g = NULL;
  argus_gallery_error err = {{0}};
  CHECK_OK(argus_gallery_open(s, &cfg, &g, &err));
  if (!g)
    return;
  uint32_t r = 99;
  for (int i = 0; i < ANCHORS; i++) {
    random_unit(&r, anchor_v[i]);
    synth ph;
    synth_photo(&ph, anchor_v[i], (uint32_t)(100 + i));
    char name[32];
    snprintf(name, sizeof name, "anchor %d", i);
    anchor_id[i] = add_person(g, "w", name, NULL, &ph, 1);
  }
  pthread_t th[READERS];
  reader_arg ra[READERS];
  stop_readers = 0;
  for (int i = 0; i < READERS; i++) {
    ra[i] = (reader_arg){g, (uint32_t)(1234 + i), 0, 0, 0};
    pthread_create(&th[i], NULL, reader, &ra[i]);
  }
  /* The writer enrols and removes transient persons (random vectors far
   * from the anchors) and reloads now and then, while the readers search. */
  argus_store_id live[16] = {0};
  for (int step = 0; step < 60; step++) {
    int slot = step % 16;
    if (live[slot]) {
      CHECK_OK(argus_gallery_person_remove(g, live[slot], &err));
      live[slot] = 0;
    }
    synth ph[2];
    for (int k = 0; k < 2; k++) {
      float v[DIM];
      random_unit(&r, v);
      synth_photo(&ph[k], v, (uint32_t)(10000 + step * 2 + k));
    }
    live[slot] = add_person(g, "w", "transient", NULL, ph, 2);
    if (step % 20 == 19)
      CHECK_OK(argus_gallery_reload(g, &err));
  }
  stop_readers = 1;
  long total = 0;
  for (int i = 0; i < READERS; i++) {
    pthread_join(th[i], NULL);
    CHECK_INT_EQ(ra[i].errors, 0);
    CHECK_INT_EQ(ra[i].wrong, 0);
    total += ra[i].searches;
  }
  CHECK(total > 0);
  printf("concurrent: %ld batched searches by %d readers during 60 "
         "enrolments\n",
         total, READERS);
  argus_gallery_close(g);
  argus_store_close(s);
}

/* ---- real faces ---------------------------------------------------------- */

static char data_dir[1024];
static argus_face_engine *eng;

static int read_image(const char *rel, argus_image *img) {
  char path[2048];
  snprintf(path, sizeof path, "%s/%s", data_dir, rel);
  argus_image_error ie = {{0}};
  argus_err e = argus_image_read_file(path, ARGUS_PIX_RGB8, img, &ie);
  CHECK_OK(e);
  if (e)
    fprintf(stderr, "%s: %s\n", rel, ie.msg);
  return e ? -1 : 0;
}

static argus_gallery_reject prepare(const char *rel,
                                    const argus_gallery_enrol_opts *o,
                                    argus_gallery_photo *p) {
  argus_image img;
  memset(p, 0, sizeof *p);
  if (read_image(rel, &img))
    return ARGUS_GALLERY_REJECT_UNREADABLE;
  argus_face_error fe = {{0}};
  argus_err e = argus_gallery_photo_prepare(eng, NULL, &img, o, p, &fe);
  CHECK_OK(e);
  if (e)
    fprintf(stderr, "%s: %s\n", rel, fe.msg);
  argus_image_free(&img);
  p->source = rel;
  return p->reason;
}

/* Faces of an image with embeddings, searched in the gallery. Returns the
 * number of faces searched; c[i*k ..] their candidates. */
static int identify(argus_gallery *g, const char *rel, int k,
                    argus_gallery_candidate *c, int *nf, float *xs) {
  argus_image img;
  if (read_image(rel, &img))
    return 0;
  argus_face faces[16];
  static float emb[16 * 512];
  int n = 0, nq = 0;
  argus_face_error fe = {{0}};
  CHECK_OK(argus_face_engine_analyze(
      eng, &img, NULL, ARGUS_FACE_DO_LANDMARKS | ARGUS_FACE_DO_EMBED, faces, 16,
      &n, emb, &fe));
  argus_image_free(&img);
  const int dim = argus_face_engine_dim(eng);
  static float q[16 * 512];
  for (int i = 0; i < n; i++)
    if (faces[i].npoints == ARGUS_FACE_NPOINTS) {
      memcpy(q + (size_t)nq * dim, emb + (size_t)i * dim, dim * sizeof *q);
      if (xs)
        xs[nq] = 0.5f * (faces[i].box[0] + faces[i].box[2]);
      nq++;
    }
  argus_gallery_error err = {{0}};
  const char *vip[1] = {"vip"};
  argus_gallery_search_opts o = {vip, 1, NULL, ARGUS_GALLERY_NORM_NONE,
                                 ARGUS_GALLERY_FUSE_MAX};
  if (nq)
    CHECK_OK(argus_gallery_search(g, q, (size_t)nq, k, &o, c, nf, &err));
  return nq;
}

static int has_match(const argus_gallery_candidate *c, int n,
                     argus_store_id id) {
  for (int i = 0; i < n; i++)
    if (c[i].person_id == id && c[i].match)
      return 1;
  return 0;
}

/* A picture without a face: smooth colour gradients. */
static void write_noface(const char *path) {
  argus_image img;
  CHECK_OK(argus_image_alloc(&img, 320, 240, ARGUS_PIX_RGB8));
  for (int y = 0; y < 240; y++)
    for (int x = 0; x < 320; x++) {
      uint8_t *p = img.data[0] + (size_t)y * img.stride[0] + 3 * (size_t)x;
      p[0] = (uint8_t)(x * 255 / 319);
      p[1] = (uint8_t)(y * 255 / 239);
      p[2] = (uint8_t)((x + y) & 0xff);
    }
  CHECK_OK(argus_image_write_jpeg(&img, 90, path));
  argus_image_free(&img);
}

static void test_faces(void) {
  const char *shared = getenv("ARGUS_SHARED_DATA");
  const char *models = getenv("ARGUS_MODELS_DIR");
  snprintf(data_dir, sizeof data_dir, "%s/stills/face_recognition_examples",
           shared ? shared : "../shared/data");
  char probe[1200];
  snprintf(probe, sizeof probe, "%s/tests/test_images/obama.jpg", data_dir);
  if (access(probe, R_OK) != 0) {
    printf("SKIP part 2: %s is absent\n", probe);
    return;
  }
  argus_face_engine_opts eo;
  memset(&eo, 0, sizeof eo);
  eo.models_dir = models;
  argus_face_error fe = {{0}};
  if (argus_face_engine_create(&eo, &eng, &fe) != ARGUS_OK) {
    printf("SKIP part 2: no face models (%s)\n", fe.msg);
    return;
  }
  argus_store *s = open_store("faces.db");
  argus_store_error se = {{0}};
  CHECK_OK(argus_store_watchlist_create(s, "vip", NAN, NULL, NULL, &se));
  argus_gallery_config cfg;
  argus_gallery_error err = {{0}};
  CHECK_OK(argus_gallery_config_from_card(
      argus_face_engine_card(eng, ARGUS_FACE_MODEL_EMBEDDER), &cfg, &err));
  CHECK(cfg.default_threshold > 0.1f && cfg.default_threshold < 0.9f);
  argus_gallery *g = NULL;
  CHECK_OK(argus_gallery_open(s, &cfg, &g, &err));
  if (!g)
    goto out;
  argus_gallery_enrol_opts o;
  argus_gallery_enrol_opts_default(&o);

  /* Enrolment. */
  argus_gallery_photo ob, bi;
  CHECK_INT_EQ(prepare("tests/test_images/obama.jpg", &o, &ob),
               ARGUS_GALLERY_ACCEPTED);
  CHECK_INT_EQ(prepare("examples/biden.jpg", &o, &bi), ARGUS_GALLERY_ACCEPTED);
  CHECK(ob.crop && ob.crop_size > 1000 && ob.vector);
  CHECK(ob.crop_width <= 400 && ob.crop_height <= 400);
  CHECK(ob.quality > 0.5f);
  CHECK(strcmp(ob.model_id, cfg.model_id) == 0);
  {
    argus_image ci;
    argus_image_error ie = {{0}};
    CHECK_OK(
        argus_image_decode(ob.crop, ob.crop_size, ARGUS_PIX_RGB8, &ci, &ie));
    CHECK_INT_EQ(ci.width, ob.crop_width);
    argus_image_free(&ci);
  }
  argus_store_person_in pin = {"Barack Obama", "obama", NULL};
  argus_store_id obama = 0, biden = 0;
  CHECK_OK(argus_gallery_person_add(g, "vip", &pin, &ob, 1, &obama, &err));
  pin = (argus_store_person_in){"Joe Biden", "biden", NULL};
  CHECK_OK(argus_gallery_person_add(g, "vip", &pin, &bi, 1, &biden, &err));

  argus_gallery_candidate c[16 * 3];
  int nf[16];
  float xs[16];
  /* obama2.jpg: Obama, above the threshold. */
  int n = identify(g, "tests/test_images/obama2.jpg", 3, c, nf, xs);
  CHECK_INT_EQ(n, 1);
  CHECK(nf[0] >= 1 && c[0].person_id == obama && c[0].match);
  CHECK(nf[0] < 2 || !c[1].match);
  printf("obama2.jpg: best %s %.3f (threshold %.3f)\n", c[0].person,
         (double)c[0].score, (double)c[0].threshold);
  /* two_people.jpg: Obama on the left, Biden on the right; any other face
   * the detector reports matches nobody. */
  n = identify(g, "examples/two_people.jpg", 3, c, nf, xs);
  CHECK(n >= 2);
  int left = -1, right = -1, others = 0;
  for (int i = 0; i < n; i++) {
    if (has_match(&c[i * 3], nf[i], obama))
      left = i;
    else if (has_match(&c[i * 3], nf[i], biden))
      right = i;
    else
      others++;
  }
  CHECK(left >= 0 && right >= 0);
  if (left >= 0 && right >= 0)
    CHECK(xs[left] < xs[right]);
  CHECK_INT_EQ(others, n - 2);
  /* Persons not enrolled: no candidate clears the threshold. */
  const char *strangers[2] = {"examples/lin-manuel-miranda.png",
                              "examples/alex-lacamoire.png"};
  for (int k = 0; k < 2; k++) {
    n = identify(g, strangers[k], 3, c, nf, NULL);
    CHECK(n >= 1);
    for (int i = 0; i < n; i++)
      for (int j = 0; j < nf[i]; j++)
        CHECK(!c[i * 3 + j].match);
  }

  /* Rejections, and nothing half-stored. */
  {
    char nf_path[700];
    snprintf(nf_path, sizeof nf_path, "%s/noface.jpg", g_root);
    write_noface(nf_path);
    argus_image img;
    argus_image_error ie = {{0}};
    CHECK_OK(argus_image_read_file(nf_path, ARGUS_PIX_RGB8, &img, &ie));
    argus_gallery_photo p;
    CHECK_OK(argus_gallery_photo_prepare(eng, NULL, &img, &o, &p, &fe));
    argus_image_free(&img);
    CHECK_INT_EQ(p.reason, ARGUS_GALLERY_REJECT_NO_FACE);
    CHECK(p.vector == NULL && p.crop == NULL);
    CHECK(strcmp(argus_gallery_reject_name(p.reason), "no face") == 0);
    argus_gallery_photo q;
    CHECK_INT_EQ(prepare("examples/two_people.jpg", &o, &q),
                 ARGUS_GALLERY_REJECT_SEVERAL_FACES);
    CHECK(q.nfaces >= 2);
    CHECK(strstr(q.detail, "faces") != NULL);
    int64_t t0 = count_templates(s, NULL, NULL);
    size_t p0 = count_persons(s);
    argus_gallery_photo both[2] = {p, q};
    pin = (argus_store_person_in){"Nobody", NULL, NULL};
    argus_store_id id = 0;
    CHECK(argus_gallery_person_add(g, "vip", &pin, both, 2, &id, &err) ==
          ARGUS_E_INVALID_ARG);
    CHECK_INT_EQ(count_templates(s, NULL, NULL), t0);
    CHECK_INT_EQ(count_persons(s), p0);
    argus_store_photo *pl = NULL;
    size_t np = 0;
    CHECK_OK(argus_store_photo_list(s, 0, 0, 0, &pl, &np, &se));
    CHECK_INT_EQ(np, 2);
    argus_store_free(pl);
    argus_gallery_photo_free(&p);
    argus_gallery_photo_free(&q);
    /* Upside down: a portrait turned by 180 degrees. The detector's points
     * come out upright-shaped (the roll looks small), but the embedder finds
     * the crop turned back more face-like: refused as "rolled"; the photo
     * the right way up is not. */
    {
      argus_image kit;
      if (read_image("examples/knn_examples/test/kit_with_rose.jpg", &kit) ==
          0) {
        argus_gallery_enrol_opts pk = o;
        pk.pick_largest = 1;
        argus_face_error fe2 = {{0}};
        CHECK_OK(argus_gallery_photo_prepare(eng, NULL, &kit, &pk, &q, &fe2));
        CHECK(!(q.reasons & (1u << ARGUS_GALLERY_REJECT_ROLLED)));
        argus_gallery_photo_free(&q);
        for (int y = 0; y < kit.height / 2; y++) {
          uint8_t *a = kit.data[0] + (size_t)y * kit.stride[0];
          uint8_t *b = kit.data[0] + (size_t)(kit.height - 1 - y) * kit.stride[0];
          for (int x = 0; x < kit.width; x++)
            for (int ch = 0; ch < 3; ch++) {
              uint8_t t = a[3 * x + ch];
              a[3 * x + ch] = b[3 * (kit.width - 1 - x) + ch];
              b[3 * (kit.width - 1 - x) + ch] = t;
            }
        }
        CHECK_OK(argus_gallery_photo_prepare(eng, NULL, &kit, &pk, &q, &fe2));
        printf("upside-down portrait: %s (%s)\n",
               argus_gallery_reject_name(q.reason), q.detail);
        CHECK(q.reasons & (1u << ARGUS_GALLERY_REJECT_ROLLED));
        CHECK(strstr(q.detail, "upside down") != NULL);
        argus_gallery_photo_free(&q);
        argus_image_free(&kit);
      }
    }
    /* With --pick largest the group photo is enrolable. */
    argus_gallery_enrol_opts pick = o;
    pick.pick_largest = 1;
    CHECK_INT_EQ(prepare("examples/two_people.jpg", &pick, &q),
                 ARGUS_GALLERY_ACCEPTED);
    argus_gallery_photo_free(&q);
    /* Too small: the portrait at a sixth of its size. */
    argus_image big, small;
    if (read_image("tests/test_images/obama.jpg", &big) == 0) {
      CHECK_OK(argus_image_alloc(&small, big.width / 6, big.height / 6,
                                 ARGUS_PIX_RGB8));
      CHECK_OK(argus_image_resize(&big, &small));
      CHECK_OK(argus_gallery_photo_prepare(eng, NULL, &small, &o, &p, &fe));
      CHECK(p.reasons & (1u << ARGUS_GALLERY_REJECT_TOO_SMALL));
      printf("small: %s (%s)\n", argus_gallery_reject_name(p.reason), p.detail);
      argus_gallery_photo_free(&p);
      /* One dominant face and a small one in the background (the
       * portrait pasted at a third of its size into the top-left corner):
       * enrolled, the largest face, saying so; before, "several faces". */
      {
        argus_image comp, third;
        CHECK_OK(argus_image_alloc(&comp, big.width, big.height,
                                   ARGUS_PIX_RGB8));
        CHECK_OK(argus_image_alloc(&third, big.width / 3, big.height / 3,
                                   ARGUS_PIX_RGB8));
        CHECK_OK(argus_image_resize(&big, &third));
        for (int y = 0; y < big.height; y++)
          memcpy(comp.data[0] + (size_t)y * comp.stride[0],
                 big.data[0] + (size_t)y * big.stride[0],
                 (size_t)big.width * 3);
        for (int y = 0; y < third.height; y++)
          memcpy(comp.data[0] + (size_t)y * comp.stride[0],
                 third.data[0] + (size_t)y * third.stride[0],
                 (size_t)third.width * 3);
        CHECK_OK(argus_gallery_photo_prepare(eng, NULL, &comp, &o, &p, &fe));
        printf("dominant face + background face: %s, %d faces, %d in the "
               "background (%s)\n",
               argus_gallery_reject_name(p.reason), p.nfaces,
               p.background_faces, p.detail);
        CHECK_INT_EQ(p.reason, ARGUS_GALLERY_ACCEPTED);
        CHECK(p.nfaces >= 2);
        CHECK(p.background_faces >= 1);
        CHECK(strstr(p.detail, "largest face") != NULL);
        CHECK(p.face.box[0] > (float)third.width * 0.5f); /* the big one */
        argus_gallery_photo_free(&p);
        argus_image_free(&third);
        argus_image_free(&comp);
      }
      /* Without the gate, only the face count matters. */
      argus_gallery_enrol_opts nogate = o;
      nogate.gate = 0;
      CHECK_OK(
          argus_gallery_photo_prepare(eng, NULL, &small, &nogate, &p, &fe));
      CHECK_INT_EQ(p.reason, ARGUS_GALLERY_ACCEPTED);
      argus_gallery_photo_free(&p);
      argus_image_free(&small);
      /* Blurred: the portrait scaled down 20x and back up (sharpness
       * about 0.24 with the 68-point landmarker's crop, 0.31 with YuNet's
       * points, below 0.4; at 14x still 0.46). Blurring can make the
       * detector see a second "face" in the shirt, so the largest is
       * picked. */
      argus_image tiny;
      CHECK_OK(argus_image_alloc(&tiny, big.width / 20, big.height / 20,
                                 ARGUS_PIX_RGB8));
      CHECK_OK(argus_image_resize(&big, &tiny));
      CHECK_OK(argus_image_resize(&tiny, &big));
      CHECK_OK(argus_gallery_photo_prepare(eng, NULL, &big, &pick, &p, &fe));
      printf("blurred: %s (%s), %d faces, box %.0f,%.0f-%.0f,%.0f score %.2f "
             "sharpness %.3f\n",
             argus_gallery_reject_name(p.reason), p.detail, p.nfaces,
             (double)p.face.box[0], (double)p.face.box[1],
             (double)p.face.box[2], (double)p.face.box[3],
             (double)p.face.score, (double)p.face.quality.sharpness);
      CHECK(p.reasons & (1u << ARGUS_GALLERY_REJECT_BLURRED));
      argus_gallery_photo_free(&p);
      argus_image_free(&tiny);
      argus_image_free(&big);
    }
  }

  /* Aligned input: the embedding of the crop itself. */
  {
    char lfw[1200];
    const char *sh = shared ? shared : "../shared/data";
    snprintf(lfw, sizeof lfw,
             "%s/lfw-112/images/Aaron_Eckhart/Aaron_Eckhart_0001.jpg", sh);
    argus_image img;
    argus_image_error ie = {{0}};
    if (argus_image_read_file(lfw, ARGUS_PIX_RGB8, &img, &ie) == ARGUS_OK) {
      argus_gallery_enrol_opts al = o;
      al.aligned = 1;
      argus_gallery_photo p;
      CHECK_OK(argus_gallery_photo_prepare(eng, NULL, &img, &al, &p, &fe));
      CHECK_INT_EQ(p.reason, ARGUS_GALLERY_ACCEPTED);
      static float ref[512];
      CHECK_OK(argus_face_engine_embed_aligned(eng, &img, 1, ref, &fe));
      if (p.vector)
        CHECK_NEAR(argus_face_similarity(p.vector, ref, p.dim), 1.0, 1e-5, 0);
      CHECK_INT_EQ(p.crop_width, 112);
      argus_gallery_photo_free(&p);
      argus_image_free(&img);
    } else {
      printf("aligned input not tested: %s\n", ie.msg);
    }
  }

  /* Removal: the index follows the store. */
  CHECK_OK(argus_gallery_person_remove(g, obama, &err));
  n = identify(g, "tests/test_images/obama2.jpg", 3, c, nf, NULL);
  CHECK_INT_EQ(n, 1);
  for (int j = 0; j < nf[0]; j++)
    CHECK(c[j].person_id != obama);

  /* Reindex: templates written by "another model" (the same vectors under
   * another model id, stored with the real crops) are not searched until
   * `reindex` makes templates of the current model from the crops. */
  {
    argus_store_model old = {"fr_feature", "old", ob.dim};
    argus_store_photo_in pi = {ob.crop, ob.crop_size, ob.quality, "obama.jpg",
                               ob.vector};
    argus_store_person_in in = {"Barack Obama", "obama-again", NULL};
    argus_store_id again = 0;
    CHECK_OK(argus_store_person_add(s, "vip", &in, &old, &pi, 1, &again, &se));
    CHECK_OK(argus_gallery_reload(g, &err));
    argus_gallery_stats gs;
    CHECK_OK(argus_gallery_get_stats(g, &gs));
    CHECK_INT_EQ(gs.other_models, 1);
    n = identify(g, "tests/test_images/obama2.jpg", 3, c, nf, NULL);
    CHECK(!has_match(c, nf[0], again));
    argus_gallery_reindex_report rep;
    CHECK_OK(argus_gallery_reindex(g, eng, NULL, 0, NULL, NULL, &rep, &err));
    CHECK_INT_EQ(rep.total, 1);
    CHECK_INT_EQ(rep.embedded, 1);
    CHECK_INT_EQ(rep.failed, 0);
    n = identify(g, "tests/test_images/obama2.jpg", 3, c, nf, NULL);
    CHECK_INT_EQ(n, 1);
    CHECK(nf[0] >= 1 && c[0].person_id == again && c[0].match);
    printf("after reindex: obama2.jpg best %s %.3f\n", c[0].person,
           (double)c[0].score);
    /* The re-extracted template is close to the one made at enrolment
     * (the same face, detected again in the stored crop). */
    float best = c[0].score;
    CHECK(best > 0.6f);
    /* Nothing left to do: a second run is a no-op. */
    CHECK_OK(argus_gallery_reindex(g, eng, NULL, 0, NULL, NULL, &rep, &err));
    CHECK_INT_EQ(rep.total, 0);
    CHECK_INT_EQ(rep.embedded, 0);
    /* A gallery of another model refuses an engine that is not its own. */
    argus_gallery_config oc = cfg;
    snprintf(oc.model_id, sizeof oc.model_id, "fr_feature@old");
    argus_gallery *go = NULL;
    CHECK_OK(argus_gallery_open(s, &oc, &go, &err));
    CHECK(argus_gallery_reindex(go, eng, NULL, 0, NULL, NULL, &rep, &err) ==
          ARGUS_E_INVALID_ARG);
    argus_gallery_close(go);
  }
  argus_gallery_photo_free(&ob);
  argus_gallery_photo_free(&bi);
out:
  argus_gallery_close(g);
  argus_store_close(s);
  argus_face_engine_free(eng);
}

/* ---- compressed indexes: exact re-ranking ------------------------------- */

#define RQ 3    /* query directions */
#define RPER 30 /* near-tie persons per direction */

/* Searches both galleries and counts the queries whose candidates differ
 * (person, photo, score bit for bit, match). */
static int compare_galleries(argus_gallery *ref, argus_gallery *g,
                             const float *q, int k, const char *wl) {
  const char *names[1] = {wl};
  argus_gallery_search_opts o = {wl ? names : NULL, wl ? 1 : 0, NULL,
                                 ARGUS_GALLERY_NORM_NONE,
                                 ARGUS_GALLERY_FUSE_MAX};
  argus_gallery_candidate a[RQ * 8], b[RQ * 8];
  int na[RQ], nb[RQ], differ = 0;
  argus_gallery_error err = {{0}};
  CHECK_OK(argus_gallery_search(ref, q, RQ, k, &o, a, na, &err));
  CHECK_OK(argus_gallery_search(g, q, RQ, k, &o, b, nb, &err));
  for (int i = 0; i < RQ; i++) {
    int d = na[i] != nb[i];
    for (int j = 0; j < na[i] && !d; j++) {
      const argus_gallery_candidate *x = &a[i * k + j], *y = &b[i * k + j];
      d = x->person_id != y->person_id || x->photo_id != y->photo_id ||
          x->score != y->score || x->match != y->match;
      if (d)
        fprintf(stderr, "  query %d hit %d: f32 photo %lld (%.9g), got %lld "
                        "(%.9g)\n",
                i, j, (long long)x->photo_id, x->score,
                (long long)y->photo_id, y->score);
    }
    differ += d;
  }
  return differ;
}

/* Top-1 of a plain index of `kind` without refinement differs from fp32's
 * on these near-ties (else the gallery comparison proves nothing). */
static int unrefined_differs(argus_index_kind kind, const float *v, int n,
                             const float *q) {
  argus_index *ix[2] = {NULL, NULL};
  argus_index_kind kinds[2] = {ARGUS_INDEX_F32, kind};
  argus_index_hit h[2][RQ];
  int64_t ids[RQ * RPER], wls[RQ * RPER];
  for (int i = 0; i < n; i++) {
    ids[i] = i;
    wls[i] = 0;
  }
  for (int m = 0; m < 2; m++) {
    argus_index_config ic;
    argus_index_config_init(&ic);
    ic.model_id = MODEL;
    ic.dim = DIM;
    ic.kind = kinds[m];
    CHECK_OK(argus_index_create(&ic, &ix[m], NULL));
    CHECK_OK(argus_index_add_batch(ix[m], (size_t)n, ids, wls, v, NULL));
    CHECK_OK(argus_index_search(ix[m], q, RQ, 1, NULL, h[m], NULL, NULL));
    argus_index_destroy(ix[m]);
  }
  int d = 0;
  for (int i = 0; i < RQ; i++)
    d += h[0][i].id != h[1][i].id;
  return d;
}

static void test_compressed_exact(void) {
  argus_store *s = open_store("refine.db");
  if (!s)
    return;
  argus_store_error se = {{0}};
  CHECK_OK(argus_store_watchlist_create(s, "a", NAN, NULL, NULL, &se));
  CHECK_OK(argus_store_watchlist_create(s, "b", NAN, NULL, NULL, &se));
  argus_gallery_config cfg;
  synth_config(&cfg);
  /* threshold inside the near-ties: match flags must agree too */
  cfg.default_threshold = 0.60005f;
  argus_gallery *g32 = NULL;
  argus_gallery_error err = {{0}};
  CHECK_OK(argus_gallery_open(s, &cfg, &g32, &err));
  if (!g32)
    return;
  uint32_t r = 77;
  static float q[RQ][DIM], v[RQ * RPER][DIM];
  static synth ph[RQ * RPER + 1];
  for (int c = 0; c < RQ; c++) {
    float u[DIM];
    random_unit(&r, u);
    for (int j = 0; j < DIM; j++)
      q[c][j] = u[j] * 2.5f;
    for (int i = 0; i < RPER; i++) {
      /* cosine to u: 0.6 + 3e-6 * rank, far above fp32's rounding and
       * below fp16's and int8's error at 32 dims */
      float w[DIM];
      double dot = 0, cs = 0.6 + 3e-6 * (double)((i * 7) % RPER);
      random_unit(&r, w);
      for (int j = 0; j < DIM; j++)
        dot += (double)w[j] * u[j];
      for (int j = 0; j < DIM; j++)
        w[j] -= (float)(dot * u[j]);
      unit(w, DIM);
      float *x = v[c * RPER + i];
      for (int j = 0; j < DIM; j++)
        x[j] = (float)(cs * u[j] + sqrt(1 - cs * cs) * w[j]);
      synth_photo(&ph[c * RPER + i], x, (uint32_t)(5000 + c * RPER + i));
      char name[32];
      snprintf(name, sizeof name, "tie %d", c * RPER + i);
      add_person(g32, i % 2 ? "a" : "b", name, NULL, &ph[c * RPER + i], 1);
    }
  }
  CHECK(unrefined_differs(ARGUS_INDEX_I8, &v[0][0], RQ * RPER, &q[0][0]) > 0);
  CHECK(unrefined_differs(ARGUS_INDEX_F16, &v[0][0], RQ * RPER, &q[0][0]) > 0);

  argus_index_config ic;
  argus_index_config_init(&ic);
  argus_gallery *gc[2] = {NULL, NULL};
  argus_index_kind kinds[2] = {ARGUS_INDEX_F16, ARGUS_INDEX_I8};
  for (int m = 0; m < 2; m++) {
    ic.kind = kinds[m];
    cfg.index = &ic;
    CHECK_OK(argus_gallery_open(s, &cfg, &gc[m], &err));
    if (!gc[m])
      return;
    argus_gallery_stats gs;
    CHECK_OK(argus_gallery_get_stats(gc[m], &gs));
    CHECK_INT_EQ(gs.templates, RQ * RPER);
    CHECK_INT_EQ(gs.refine_bytes, RQ * RPER * DIM * sizeof(float));
  }
  argus_gallery_stats gs;
  CHECK_OK(argus_gallery_get_stats(g32, &gs));
  CHECK_INT_EQ(gs.refine_bytes, 0);
  for (int round = 0; round < 2; round++) {
    for (int m = 0; m < 2; m++) {
      CHECK_INT_EQ(compare_galleries(g32, gc[m], &q[0][0], 1, NULL), 0);
      CHECK_INT_EQ(compare_galleries(g32, gc[m], &q[0][0], 5, NULL), 0);
      CHECK_INT_EQ(compare_galleries(g32, gc[m], &q[0][0], 8, "a"), 0);
    }
    if (round == 1)
      break;
    /* writers of the int8 gallery: a new near-tie person (attach) and a
     * removed one (detach); the others catch up by reload and sync */
    float x[DIM];
    noisy(&r, v[3], 1e-5f, x);
    synth_photo(&ph[RQ * RPER], x, 9999);
    argus_store_id nid = add_person(gc[1], "a", "late", NULL, &ph[RQ * RPER], 1);
    argus_store_person *pl = NULL;
    size_t np = 0;
    CHECK_OK(argus_store_person_list(s, NULL, NULL, &pl, &np, &se));
    argus_store_id gone = np > 4 ? pl[4].id : 0;
    argus_store_free(pl);
    CHECK_OK(argus_gallery_person_remove(gc[1], gone, &err));
    CHECK_OK(argus_gallery_reload(g32, &err));
    CHECK_OK(argus_gallery_sync_person(gc[0], nid, &err));
    CHECK_OK(argus_gallery_sync_person(gc[0], gone, &err));
    CHECK_OK(argus_gallery_get_stats(gc[1], &gs));
    CHECK_INT_EQ(gs.refine_bytes, RQ * RPER * DIM * sizeof(float));
  }
  argus_gallery_close(gc[0]);
  argus_gallery_close(gc[1]);
  argus_gallery_close(g32);
  argus_store_close(s);
}

int main(void) {
  snprintf(g_root, sizeof g_root, "/tmp/argus-test-gallery-XXXXXX");
  if (!mkdtemp(g_root)) {
    perror("mkdtemp");
    return 1;
  }
  argus_log_set_level(ARGUS_LOG_ERROR);
  test_map();
  test_synthetic();
  test_concurrent();
  test_compressed_exact();
  test_faces();
  rm_rf(g_root);
  return check_report("test_gallery");
}
