/* The legal basis per watchlist (docs/lawful-use.md): purpose, legal
 * reference, owner and expiry of a watchlist; reason and review-by date of
 * a person. Time passes through the test clock, ARGUS_TEST_NOW, which
 * argus_store_clock_ns() reads (and a child argus process inherits).
 *
 * Part 1 (always): store and gallery with synthetic templates — the fields
 * round-trip and appear in the JSON; bad and past dates are refused; a
 * person past its review-by date stops being a candidate while the others
 * of its list still match, and matches again once renewed; a watchlist
 * past its expiry stops matching (also when a search names it) without a
 * reload, refuses enrolment and edits but a renewal, and matches again once
 * renewed; review states none/ok/due/overdue; every change audited and the
 * audit chain intact.
 *
 * Part 2 (needs ARGUS_CLI): the commands — watchlist create/set/list with
 * the options and states, bad dates refused with a message, person set
 * and person list with --due. With the models and ../shared/data (else
 * skipped with a message): argus identify does not match an expired list or
 * an overdue person, argus person add refuses an expired list, and renewal
 * makes the match come back.
 * With ARGUS_TEST_STORE=postgres (test_legal_basis_pg) the stores are
 * databases of a throwaway PostgreSQL cluster (tests/pg_util.h). */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "argus/gallery.h"
#include "check.h"
#include "cli_util.h"
#include "pg_util.h"

static pg_cluster g_pgc;
static const pg_cluster *g_pg;

#define DIM 32
#define MODEL "synth@1"

/* CHECK with a message printed when it fails. */
#define CHECK_MSG(cond, ...)                                                   \
  do {                                                                         \
    check_count_++;                                                            \
    if (!(cond)) {                                                             \
      check_failures_++;                                                       \
      fprintf(stderr, "%s:%d: CHECK(%s) failed: ", __FILE__, __LINE__, #cond); \
      fprintf(stderr, __VA_ARGS__);                                            \
      fputc('\n', stderr);                                                     \
    }                                                                          \
  } while (0)

static char g_root[512];

static void set_now(const char *t) { setenv("ARGUS_TEST_NOW", t, 1); }

static uint32_t rng(uint32_t *s) {
  uint32_t x = *s ? *s : 0x9e3779b9u;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  *s = x;
  return x;
}

static void random_unit(uint32_t *s, float *v) {
  double ss = 0;
  for (int i = 0; i < DIM; i++) {
    v[i] = (float)(rng(s) >> 8) / 16777216.0f * 2.0f - 1.0f;
    ss += (double)v[i] * v[i];
  }
  for (int i = 0; i < DIM; i++)
    v[i] = (float)(v[i] / sqrt(ss));
}

/* A synthetic accepted photo (the store hashes crops, never decodes). */
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

static argus_store *open_store(const char *name) {
  char path[700];
  snprintf(path, sizeof path, "%s/%s.d", g_root, name);
  mkdir(path, 0700);
  snprintf(path, sizeof path, "%s/%s.d/%s", g_root, name, name);
  argus_store_options o;
  memset(&o, 0, sizeof o);
  o.actor = "test:legal";
  argus_store *s = NULL;
  argus_store_error se = {{0}};
  argus_err e = pg_test_store_open(g_pg, path, &o, &s, &se);
  CHECK_OK(e);
  if (e)
    fprintf(stderr, "%s\n", se.msg);
  return s;
}

/* The person that tops a search of q (NULL: all active lists), or 0 when
 * nobody matches. */
static argus_store_id top_match(argus_gallery *g, const char *wl,
                                const float *q) {
  const char *names[1] = {wl};
  argus_gallery_search_opts o = {wl ? names : NULL, wl ? 1 : 0, NULL,
                                 ARGUS_GALLERY_NORM_NONE,
                                 ARGUS_GALLERY_FUSE_MAX};
  argus_gallery_candidate c[4];
  int n = -1;
  argus_gallery_error err = {{0}};
  argus_err e = argus_gallery_search(g, q, 1, 4, &o, c, &n, &err);
  CHECK_OK(e);
  if (e)
    fprintf(stderr, "search: %s\n", err.msg);
  return n > 0 && c[0].match ? c[0].person_id : 0;
}

/* 1 when person id is among the candidates of q at all. */
static int is_candidate(argus_gallery *g, const float *q, argus_store_id id) {
  argus_gallery_candidate c[8];
  int n = 0;
  argus_gallery_error err = {{0}};
  CHECK_OK(argus_gallery_search(g, q, 1, 8, NULL, c, &n, &err));
  for (int i = 0; i < n; i++)
    if (c[i].person_id == id)
      return 1;
  return 0;
}

static int audit_has(argus_store *s, const char *action, const char *text) {
  argus_store_audit_filter f;
  memset(&f, 0, sizeof f);
  f.action = action;
  argus_store_audit *a = NULL;
  size_t n = 0;
  argus_store_error se = {{0}};
  int found = 0;
  if (argus_store_audit_query(s, &f, &a, &n, &se) == ARGUS_OK)
    for (size_t i = 0; i < n && !found; i++)
      found = !text || strstr(a[i].detail, text) != NULL;
  argus_store_free(a);
  return found;
}

static void test_dates(void) {
  int64_t ns = 0;
  char c[ARGUS_STORE_TIME_MAX];
  CHECK_OK(argus_store_date_parse("2030-01-31", &ns, c));
  CHECK(strcmp(c, "2030-01-31T00:00:00.000Z") == 0);
  CHECK_OK(argus_store_date_parse("2030-01-31T18:00:00+01:00", &ns, c));
  CHECK(strcmp(c, "2030-01-31T17:00:00.000Z") == 0);
  CHECK_OK(argus_store_date_parse("2030-01-31T18:00:00.250Z", NULL, c));
  CHECK(strcmp(c, "2030-01-31T18:00:00.250Z") == 0);
  static const char *bad[] = {"",           "2030-13-01", "2030-02-30",
                              "31.01.2030", "tomorrow",   "2030-01-31T25:00Z",
                              "2030-01-3",  "1969-12-31"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    CHECK_MSG(argus_store_date_parse(bad[i], &ns, c) == ARGUS_E_INVALID_ARG,
              "'%s' should be refused", bad[i]);
  /* The test clock, and the real one when it is not set. */
  set_now("2030-01-01T00:00:00Z");
  CHECK(argus_store_clock_ns() == (int64_t)1893456000 * 1000000000);
  unsetenv("ARGUS_TEST_NOW");
  CHECK(argus_store_clock_ns() > (int64_t)1700000000 * 1000000000);
  /* Review states around a date. */
  const int64_t day = (int64_t)86400 * 1000000000;
  const int64_t t0 = (int64_t)1893456000 * 1000000000;
  CHECK(argus_store_review_at("", t0) == ARGUS_STORE_REVIEW_NONE);
  CHECK(argus_store_review_at("2030-03-01", t0) == ARGUS_STORE_REVIEW_OK);
  CHECK(argus_store_review_at("2030-01-20", t0) == ARGUS_STORE_REVIEW_DUE);
  CHECK(argus_store_review_at("2030-01-01", t0) == ARGUS_STORE_REVIEW_OVERDUE);
  CHECK(argus_store_review_at("garbage", t0) == ARGUS_STORE_REVIEW_OVERDUE);
  CHECK(argus_store_review_at("2030-01-31", t0 + day) ==
        ARGUS_STORE_REVIEW_DUE);
  CHECK(strcmp(argus_store_review_name(ARGUS_STORE_REVIEW_DUE), "due") == 0);
}

static void test_store_gallery(void) {
  set_now("2030-01-01T00:00:00Z");
  argus_store *s = open_store("lb");
  if (!s)
    return;
  CHECK_INT_EQ(argus_store_schema_version(s), ARGUS_STORE_SCHEMA_VERSION);
  argus_store_error se = {{0}};

  /* Round trip. */
  argus_store_legal_in legal = {"find missing persons", "Court order 12/2030",
                                "Insp. Doe", "2030-06-01"};
  CHECK_OK(argus_store_watchlist_create_legal(s, "legal", NAN, NULL, &legal,
                                              NULL, &se));
  CHECK_OK(argus_store_watchlist_create(s, "plain", NAN, NULL, NULL, &se));
  argus_store_watchlist w;
  CHECK_OK(argus_store_watchlist_get(s, "legal", &w, &se));
  CHECK(strcmp(w.purpose, "find missing persons") == 0);
  CHECK(strcmp(w.legal_ref, "Court order 12/2030") == 0);
  CHECK(strcmp(w.owner, "Insp. Doe") == 0);
  CHECK(strcmp(w.expires, "2030-06-01T00:00:00.000Z") == 0);
  CHECK_INT_EQ(w.expired, 0);
  CHECK_OK(argus_store_watchlist_get(s, "plain", &w, &se));
  CHECK(w.expires[0] == '\0' && w.purpose[0] == '\0' && !w.expired);
  char buf[4096];
  argus_json j;
  CHECK_OK(argus_store_watchlist_get(s, "legal", &w, &se));
  argus_json_init(&j, buf, sizeof buf);
  argus_store_watchlist_json(&w, &j);
  CHECK(argus_json_finish(&j) > 0);
  CHECK(strstr(buf, "\"legal_ref\":\"Court order 12/2030\"") != NULL);
  CHECK(strstr(buf, "\"expires\":\"2030-06-01T00:00:00.000Z\"") != NULL);
  CHECK(strstr(buf, "\"expired\":false") != NULL);
  CHECK(audit_has(s, "watchlist.create", "\"expires\":\"2030-06-01"));

  /* Bad input. */
  argus_store_legal_in bad = {NULL, NULL, NULL, "2030-02-30"};
  CHECK(argus_store_watchlist_create_legal(s, "x", NAN, NULL, &bad, NULL,
                                           &se) == ARGUS_E_INVALID_ARG);
  CHECK(strstr(se.msg, "not a date") != NULL);
  bad.expires = "2029-12-31";
  CHECK(argus_store_watchlist_set_legal(s, "plain", &bad, &se) ==
        ARGUS_E_INVALID_ARG);
  CHECK(strstr(se.msg, "not in the future") != NULL);
  argus_store_legal_in nothing = {NULL, NULL, NULL, NULL};
  CHECK(argus_store_watchlist_set_legal(s, "plain", &nothing, &se) ==
        ARGUS_E_INVALID_ARG);
  CHECK(argus_store_watchlist_set_legal(s, "nope", &legal, &se) ==
        ARGUS_E_NOT_FOUND);

  /* A gallery: A and B in "legal", C in "plain". */
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
  uint32_t seed = 11;
  float va[DIM], vb[DIM], vc[DIM];
  random_unit(&seed, va);
  random_unit(&seed, vb);
  random_unit(&seed, vc);
  synth pa, pb, pc;
  synth_photo(&pa, va, 1);
  synth_photo(&pb, vb, 2);
  synth_photo(&pc, vc, 3);
  argus_store_person_in ia = {"A", NULL, NULL}, ib = {"B", NULL, NULL},
                        ic = {"C", NULL, NULL};
  argus_store_id a = 0, b = 0, c = 0;
  CHECK_OK(argus_gallery_person_add(g, "legal", &ia, &pa.p, 1, &a, &ge));
  CHECK_OK(argus_gallery_person_add(g, "legal", &ib, &pb.p, 1, &b, &ge));
  CHECK_OK(argus_gallery_person_add(g, "plain", &ic, &pc.p, 1, &c, &ge));
  CHECK_OK(argus_store_person_set_review(s, a, "suspect in case 7",
                                         "2030-03-01", &se));
  CHECK_OK(argus_gallery_sync_person(g, a, &ge));
  CHECK(audit_has(s, "person.set_review", "\"review_by\":\"2030-03-01"));
  CHECK(argus_store_person_set_review(s, a, NULL, "2029-01-01", &se) ==
        ARGUS_E_INVALID_ARG);
  CHECK(argus_store_person_set_review(s, a, NULL, "soon", &se) ==
        ARGUS_E_INVALID_ARG);
  CHECK(argus_store_person_set_review(s, 999999, NULL, "2031-01-01", &se) ==
        ARGUS_E_NOT_FOUND);
  argus_store_person p;
  CHECK_OK(argus_store_person_get(s, a, &p, &se));
  CHECK(strcmp(p.reason, "suspect in case 7") == 0);
  CHECK(strcmp(p.review_by, "2030-03-01T00:00:00.000Z") == 0);
  CHECK(p.review == ARGUS_STORE_REVIEW_OK);
  argus_json_init(&j, buf, sizeof buf);
  argus_store_person_json(&p, &j);
  CHECK(argus_json_finish(&j) > 0);
  CHECK(strstr(buf, "\"review\":\"ok\"") != NULL);
  CHECK(strstr(buf, "\"reason\":\"suspect in case 7\"") != NULL);

  CHECK(top_match(g, NULL, va) == a);
  CHECK(top_match(g, NULL, vb) == b);
  CHECK(top_match(g, NULL, vc) == c);

  /* Due within 30 days, then overdue: A is no candidate, B and C match,
   * without any reload. */
  set_now("2030-02-15T00:00:00Z");
  CHECK_OK(argus_store_person_get(s, a, &p, &se));
  CHECK(p.review == ARGUS_STORE_REVIEW_DUE);
  CHECK(top_match(g, NULL, va) == a);
  set_now("2030-03-02T00:00:00Z");
  CHECK_OK(argus_store_person_get(s, a, &p, &se));
  CHECK(p.review == ARGUS_STORE_REVIEW_OVERDUE);
  argus_gallery_stats gs;
  CHECK_OK(argus_gallery_get_stats(g, &gs));
  int64_t withheld0 = gs.withheld;
  CHECK(top_match(g, NULL, va) != a);
  CHECK(!is_candidate(g, va, a));
  CHECK(top_match(g, "legal", va) != a);
  CHECK(top_match(g, NULL, vb) == b);
  CHECK(top_match(g, NULL, vc) == c);
  CHECK_OK(argus_gallery_get_stats(g, &gs));
  CHECK(gs.withheld > withheld0);
  /* A reload does not bring it back either. */
  CHECK_OK(argus_gallery_reload(g, &ge));
  CHECK(!is_candidate(g, va, a));
  /* Renewed: matches again once the gallery re-reads the person. */
  CHECK_OK(argus_store_person_set_review(s, a, NULL, "2030-09-01", &se));
  CHECK_OK(argus_gallery_sync_person(g, a, &ge));
  CHECK(top_match(g, NULL, va) == a);
  CHECK(audit_has(s, "person.set_review", "\"review_by_was\":\"2030-03-01"));

  /* The list expires while the gallery runs: nobody of it matches, also
   * when a search names it; "plain" still does. */
  set_now("2030-06-01T00:00:01Z");
  CHECK(top_match(g, NULL, va) == 0);
  CHECK(top_match(g, NULL, vb) == 0);
  CHECK(top_match(g, "legal", vb) == 0);
  CHECK(!is_candidate(g, vb, b));
  CHECK(top_match(g, NULL, vc) == c);
  CHECK_OK(argus_store_watchlist_get(s, "legal", &w, &se));
  CHECK_INT_EQ(w.expired, 1);
  /* Read-only: no enrolment, no edit, but delete and renewal. */
  synth pd;
  float vd[DIM];
  random_unit(&seed, vd);
  synth_photo(&pd, vd, 4);
  argus_store_person_in id_ = {"D", NULL, NULL};
  argus_store_id d = 0;
  CHECK(argus_gallery_person_add(g, "legal", &id_, &pd.p, 1, &d, &ge) ==
        ARGUS_E_INVALID_ARG);
  CHECK(strstr(ge.msg, "read-only") != NULL);
  CHECK(argus_store_person_add(s, "legal", &id_, NULL, NULL, 0, NULL, &se) ==
        ARGUS_E_INVALID_ARG);
  CHECK(argus_gallery_person_add_photos(g, b, &pd.p, 1, &ge) ==
        ARGUS_E_INVALID_ARG);
  CHECK(argus_store_watchlist_check_writable(s, "legal", &se) ==
        ARGUS_E_INVALID_ARG);
  CHECK(strstr(se.msg, "expired at 2030-06-01T00:00:00.000Z") != NULL);
  CHECK_OK(argus_store_watchlist_check_writable(s, "plain", &se));
  CHECK(argus_store_watchlist_set_threshold(s, "legal", 0.3, &se) ==
        ARGUS_E_INVALID_ARG);
  CHECK(argus_store_watchlist_set_active(s, "legal", 0, &se) ==
        ARGUS_E_INVALID_ARG);
  CHECK(argus_store_watchlist_set_colour(s, "legal", "#00ff00", &se) ==
        ARGUS_E_INVALID_ARG);
  CHECK(argus_store_watchlist_set_ack(s, "legal", 1, &se) ==
        ARGUS_E_INVALID_ARG);
  CHECK(argus_store_person_update(s, b, "B2", NULL, &se) ==
        ARGUS_E_INVALID_ARG);
  CHECK(argus_store_person_set_review(s, b, NULL, "2031-01-01", &se) ==
        ARGUS_E_INVALID_ARG);
  argus_store_legal_in owner_only = {NULL, NULL, "someone else", NULL};
  CHECK(argus_store_watchlist_set_legal(s, "legal", &owner_only, &se) ==
        ARGUS_E_INVALID_ARG);
  /* Renewal (with a change of owner): writable and matching again after
   * the reload that follows a watchlist change. */
  argus_store_legal_in renew = {NULL, NULL, "Insp. Roe", "2031-01-01"};
  CHECK_OK(argus_store_watchlist_set_legal(s, "legal", &renew, &se));
  CHECK(audit_has(s, "watchlist.set_legal",
                  "\"expires_was\":\"2030-06-01T00:00:00.000Z\""));
  CHECK_OK(argus_gallery_reload(g, &ge));
  CHECK(top_match(g, NULL, vb) == b);
  CHECK(top_match(g, NULL, va) == a);
  CHECK_OK(argus_store_watchlist_get(s, "legal", &w, &se));
  CHECK(strcmp(w.owner, "Insp. Roe") == 0 && !w.expired);
  CHECK(strcmp(w.purpose, "find missing persons") == 0);
  CHECK_OK(argus_gallery_person_add(g, "legal", &id_, &pd.p, 1, &d, &ge));
  /* No expiry at all. */
  argus_store_legal_in forever = {NULL, NULL, NULL, ""};
  CHECK_OK(argus_store_watchlist_set_legal(s, "legal", &forever, &se));
  CHECK_OK(argus_store_watchlist_get(s, "legal", &w, &se));
  CHECK(w.expires[0] == '\0');
  set_now("2100-01-01T00:00:00Z");
  CHECK_OK(argus_gallery_reload(g, &ge));
  CHECK(top_match(g, NULL, vb) == b);
  /* Deleting an expired list works. */
  set_now("2030-06-02T00:00:00Z");
  argus_store_legal_in shortly = {NULL, NULL, NULL, "2030-06-03"};
  CHECK_OK(argus_store_watchlist_set_legal(s, "legal", &shortly, &se));
  set_now("2030-06-04T00:00:00Z");
  CHECK_OK(argus_store_watchlist_delete(s, "legal", &se));

  argus_store_audit_check ac;
  CHECK_OK(argus_store_audit_verify(s, 0, NULL, &ac, &se));
  CHECK_MSG(ac.fault == ARGUS_AUDIT_INTACT, "%s", ac.msg);
  argus_gallery_close(g);
  argus_store_close(s);
  unsetenv("ARGUS_TEST_NOW");
}

/* ---- the commands ---------------------------------------------------------- */

static const char *cli, *models;
static char tmp[600];
static cli_result r;
#define RUN(...) CLI_RUN(cli, tmp, models, 0, &r, __VA_ARGS__)

static int has(const char *hay, const char *needle) {
  return strstr(hay, needle) != NULL;
}

/* The line of `out` that contains `key`, into line (empty when none). */
static void line_with(const char *out, const char *key, char *line,
                      size_t size) {
  line[0] = '\0';
  const char *p = strstr(out, key);
  if (!p)
    return;
  while (p > out && p[-1] != '\n')
    p--;
  size_t n = strcspn(p, "\n");
  if (n >= size)
    n = size - 1;
  memcpy(line, p, n);
  line[n] = '\0';
}

static void test_cli(void) {
  char db[700], line[1024];
  snprintf(tmp, sizeof tmp, "%s/cli", g_root);
  mkdir(tmp, 0700);
  snprintf(db, sizeof db, "%s/argus.db", tmp);
  if (g_pg) { /* the CLI: a URL, the data folder from the environment */
    CHECK_INT_EQ(pg_db_for_path(g_pg, db, 1, db, sizeof db), 0);
    setenv("ARGUS_DATA_DIR", tmp, 1);
  }
  set_now("2030-01-01T00:00:00Z");

  RUN("watchlist", "create", "vip", "--purpose", "missing persons",
      "--legal-ref", "Order 7/2030", "--owner", "Insp. Doe", "--expires",
      "2030-06-01", "--db", db);
  CHECK_INT_EQ(r.status, 0);
  RUN("watchlist", "create", "old", "--expires", "2029-12-31", "--db", db);
  CHECK_INT_EQ(r.status, 2);
  CHECK(has(r.err, "--expires") && has(r.err, "not in the future"));
  RUN("watchlist", "create", "bad", "--expires", "31/12/2030", "--db", db);
  CHECK_INT_EQ(r.status, 2);
  CHECK(has(r.err, "is not a date"));
  RUN("watchlist", "create", "other", "--db", db);
  CHECK_INT_EQ(r.status, 0);
  RUN("watchlist", "list", "--db", db);
  CHECK_INT_EQ(r.status, 0);
  line_with(r.out, "vip", line, sizeof line);
  CHECK_MSG(has(line, "active") && has(line, "2030-06-01T00:00:00.000Z") &&
                has(line, "Insp. Doe") && has(line, "Order 7/2030") &&
                has(line, "missing persons"),
            "%s", line);
  RUN("watchlist", "list", "--json", "--db", db);
  CHECK(has(r.out, "\"purpose\":\"missing persons\""));
  CHECK(has(r.out, "\"expired\":false"));

  /* Persons without photos (the store's own call: no models needed). */
  argus_store *s = NULL;
  argus_store_error se = {{0}};
  argus_store_options o;
  memset(&o, 0, sizeof o);
  CHECK_OK(argus_store_open(db, &o, &s, &se));
  argus_store_person_in pa = {"Ann", NULL, NULL}, pb = {"Bob", NULL, NULL};
  argus_store_id ann = 0, bob = 0;
  if (s) {
    CHECK_OK(argus_store_person_add(s, "vip", &pa, NULL, NULL, 0, &ann, &se));
    CHECK_OK(argus_store_person_add(s, "vip", &pb, NULL, NULL, 0, &bob, &se));
    argus_store_close(s);
  }
  char ann_id[32];
  snprintf(ann_id, sizeof ann_id, "%lld", (long long)ann);
  RUN("person", "set", "--watchlist", "vip", "Ann", "--review-by", "2030-01-20",
      "--reason", "witness", "--db", db);
  CHECK_INT_EQ(r.status, 0);
  CHECK(has(r.out, "due"));
  RUN("person", "set", "--id", ann_id, "--review-by", "someday", "--db", db);
  CHECK_INT_EQ(r.status, 2);
  CHECK(has(r.err, "--review-by") && has(r.err, "is not a date"));
  RUN("person", "set", "--id", ann_id, "--db", db);
  CHECK_INT_EQ(r.status, 2);
  RUN("person", "set", "--watchlist", "vip", "Bob", "--review-by", "2030-05-01",
      "--db", db);
  CHECK_INT_EQ(r.status, 0);
  RUN("person", "list", "--db", db);
  line_with(r.out, "Ann", line, sizeof line);
  CHECK_MSG(has(line, "2030-01-20T00:00:00.000Z") && has(line, "due") &&
                has(line, "witness"),
            "%s", line);
  line_with(r.out, "Bob", line, sizeof line);
  CHECK_MSG(has(line, " ok "), "%s", line);
  RUN("person", "list", "--due", "30", "--db", db);
  CHECK(has(r.out, "Ann") && !has(r.out, "Bob"));
  RUN("person", "list", "--due", "200", "--db", db);
  CHECK(has(r.out, "Ann") && has(r.out, "Bob"));
  RUN("person", "list", "--json", "--db", db);
  CHECK(has(r.out, "\"review\":\"due\"") &&
        has(r.out, "\"reason\":\"witness\""));

  /* Time passes: Ann overdue, then the list expired. */
  set_now("2030-02-01T00:00:00Z");
  RUN("person", "list", "--due", "0", "--db", db);
  CHECK(has(r.out, "Ann") && has(r.out, "overdue") && !has(r.out, "Bob"));
  set_now("2030-07-01T00:00:00Z");
  RUN("watchlist", "list", "--db", db);
  line_with(r.out, "vip", line, sizeof line);
  CHECK_MSG(has(line, "expired"), "%s", line);
  line_with(r.out, "other", line, sizeof line);
  CHECK_MSG(has(line, "active"), "%s", line);
  RUN("watchlist", "list", "--json", "--db", db);
  CHECK(has(r.out, "\"expired\":true"));
  RUN("watchlist", "set", "vip", "--threshold", "0.4", "--db", db);
  CHECK_INT_EQ(r.status, 1);
  CHECK(has(r.err, "read-only"));
  RUN("person", "set", "--id", ann_id, "--review-by", "2031-01-01", "--db", db);
  CHECK_INT_EQ(r.status, 1);
  CHECK(has(r.err, "read-only"));
  RUN("watchlist", "set", "vip", "--expires", "2030-08-01", "--no-expiry",
      "--db", db);
  CHECK_INT_EQ(r.status, 2);
  RUN("watchlist", "set", "vip", "--expires", "2031-01-01", "--threshold",
      "0.4", "--db", db);
  CHECK_INT_EQ(r.status, 0);
  RUN("watchlist", "list", "--db", db);
  line_with(r.out, "vip", line, sizeof line);
  CHECK_MSG(has(line, "active") && has(line, "0.4"), "%s", line);
  RUN("watchlist", "set", "vip", "--no-expiry", "--db", db);
  CHECK_INT_EQ(r.status, 0);
  RUN("watchlist", "list", "--json", "--db", db);
  CHECK(has(r.out, "\"expires\":null"));
  RUN("person", "set", "--id", ann_id, "--review-by", "2031-01-01", "--db", db);
  CHECK_INT_EQ(r.status, 0);
  RUN("audit", "--db", db);
  if (r.status == 0)
    CHECK(has(r.out, "watchlist.set_legal") && has(r.out, "person.set_review"));

  /* identify and person add, with the models and the test photos. */
  const char *shared = getenv("ARGUS_SHARED_DATA");
  char ex[800], obama[900], obama2[900], biden[900];
  snprintf(ex, sizeof ex, "%s/stills/face_recognition_examples",
           shared ? shared : "../shared/data");
  snprintf(obama, sizeof obama, "%s/tests/test_images/obama.jpg", ex);
  snprintf(obama2, sizeof obama2, "%s/tests/test_images/obama2.jpg", ex);
  snprintf(biden, sizeof biden, "%s/examples/biden.jpg", ex);
  char card[900];
  snprintf(card, sizeof card, "%s/fr_feature.card.json",
           models ? models : "models");
  if (!models || access(obama, R_OK) != 0 || access(card, R_OK) != 0) {
    fprintf(stderr, "identify checks skipped: no models or no %s\n", obama);
    unsetenv("ARGUS_TEST_NOW");
    return;
  }
  set_now("2030-01-01T00:00:00Z");
  RUN("watchlist", "create", "faces", "--expires", "2030-06-01", "--db", db);
  CHECK_INT_EQ(r.status, 0);
  RUN("person", "add", "--watchlist", "faces", "--name", "Obama", "--review-by",
      "2030-03-01", "--reason", "test", "--models", models, "--db", db, obama);
  CHECK_INT_EQ(r.status, 0);
  RUN("person", "add", "--watchlist", "faces", "--name", "Biden", "--models",
      models, "--db", db, biden);
  CHECK_INT_EQ(r.status, 0);
  RUN("person", "add", "--watchlist", "faces", "--name", "X", "--review-by",
      "2020-01-01", "--models", models, "--db", db, biden);
  CHECK_INT_EQ(r.status, 2);
  RUN("person", "list", "--watchlist", "faces", "--db", db);
  line_with(r.out, "Obama", line, sizeof line);
  CHECK_MSG(has(line, "2030-03-01T00:00:00.000Z") && has(line, "test"), "%s",
            line);
  RUN("identify", "--watchlist", "faces", "--json", "--models", models, "--db",
      db, obama2);
  CHECK_INT_EQ(r.status, 0);
  CHECK_MSG(has(r.out, "\"name\":\"Obama\"") && has(r.out, "\"match\":true"),
            "%.500s", r.out);
  /* Obama overdue: not a candidate; Biden still is. */
  set_now("2030-03-02T00:00:00Z");
  RUN("identify", "--watchlist", "faces", "--json", "--models", models, "--db",
      db, obama2);
  CHECK_INT_EQ(r.status, 0);
  CHECK_MSG(!has(r.out, "\"name\":\"Obama\"") && has(r.out, "Biden") &&
                !has(r.out, "\"match\":true"),
            "%.500s", r.out);
  RUN("person", "set", "--watchlist", "faces", "Obama", "--review-by",
      "2030-09-01", "--db", db);
  CHECK_INT_EQ(r.status, 0);
  RUN("identify", "--json", "--models", models, "--db", db, obama2);
  CHECK_MSG(has(r.out, "\"name\":\"Obama\"") && has(r.out, "\"match\":true"),
            "%.500s", r.out);
  /* The list expired: no match, no enrolment; renewed: matches again. */
  set_now("2030-06-02T00:00:00Z");
  RUN("identify", "--json", "--models", models, "--db", db, obama2);
  CHECK_INT_EQ(r.status, 0);
  CHECK_MSG(!has(r.out, "\"name\":\"Obama\"") && !has(r.out, "Biden"), "%.500s",
            r.out);
  RUN("person", "add", "--watchlist", "faces", "--name", "Biden2", "--models",
      models, "--db", db, biden);
  CHECK_INT_EQ(r.status, 1);
  CHECK_MSG(has(r.err, "read-only"), "%s", r.err);
  /* argus import refuses it before reading a photo. */
  char imp[800], dst[900];
  snprintf(imp, sizeof imp, "%s/import", tmp);
  mkdir(imp, 0700);
  snprintf(dst, sizeof dst, "%s/Joe_Biden", imp);
  mkdir(dst, 0700);
  snprintf(dst, sizeof dst, "%s/Joe_Biden/biden.jpg", imp);
  CHECK(symlink(biden, dst) == 0);
  RUN("import", "--watchlist", "faces", "--models", models, "--db", db, imp);
  CHECK(r.status != 0);
  CHECK_MSG(has(r.err, "read-only"), "%s", r.err);
  RUN("watchlist", "set", "faces", "--expires", "2031-01-01", "--db", db);
  CHECK_INT_EQ(r.status, 0);
  RUN("identify", "--json", "--models", models, "--db", db, obama2);
  CHECK_MSG(has(r.out, "\"name\":\"Obama\"") && has(r.out, "\"match\":true"),
            "%.500s", r.out);
  unsetenv("ARGUS_TEST_NOW");
}

int main(void) {
  const char *base = getenv("TMPDIR");
  snprintf(g_root, sizeof g_root, "%s/argus-legal-XXXXXX",
           base ? base : "/tmp");
  if (!mkdtemp(g_root)) {
    perror("mkdtemp");
    return 1;
  }
  if (pg_test_wanted()) {
    int pr = pg_cluster_start(&g_pgc);
    if (pr != 0) {
      fprintf(stderr, "test_legal_basis: no PostgreSQL cluster\n");
      return pr == 77 ? 77 : 1;
    }
    g_pg = &g_pgc;
    printf("test_legal_basis: on PostgreSQL (port %d)\n", g_pgc.port);
  }
  test_dates();
  test_store_gallery();
  cli = getenv("ARGUS_CLI");
  models = getenv("ARGUS_MODELS_DIR");
  if (cli && access(cli, X_OK) == 0)
    test_cli();
  else
    fprintf(stderr, "CLI checks skipped: ARGUS_CLI not set\n");
  int rc =
      check_report(g_pg ? "test_legal_basis (PostgreSQL)" : "test_legal_basis");
  if (g_pg)
    pg_cluster_stop(&g_pgc);
  cli_rm_tree(g_root);
  return rc;
}
