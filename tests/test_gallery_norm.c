/* Score normalisation of gallery searches (ARGUS_GALLERY_NORM_TOPN) and
 * watchlist thresholds from a target FPIR (argus_gallery_threshold_for_fpir),
 * on synthetic templates:
 *
 *   - with 60 persons the normalised score of every candidate is
 *     raw - w * (mu_p - mu_ref), with mu_p the mean of the probe's ranks
 *     2..N+1 (from a plain search here) and mu_ref the reference computed
 *     here by brute force over every template searched among the other
 *     persons; the order and raw scores are those of a plain search, and
 *     match is score >= threshold;
 *   - below N+2 persons nothing is normalised;
 *   - fusion (ARGUS_GALLERY_FUSE_MEAN): a person with two photos scores the
 *     cosine with their normalised sum, also when the second photo came
 *     later (argus_gallery_person_add_photos) and after a reload, and the
 *     candidates are re-sorted; a person with one photo keeps its cosine;
 *   - thresholds: the card's own points at n = 1, monotone in n and FPIR,
 *     and errors for bad arguments. */
#define _GNU_SOURCE
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "argus/gallery.h"
#include "check.h"

#define DIM 32
#define MODEL "synth@1"
#define NP 60

static char g_root[512];

static int rm_cb(const char *path, const struct stat *sb, int flag,
                 struct FTW *ftw) {
  (void)sb;
  (void)flag;
  (void)ftw;
  return remove(path);
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

static void unit(float *v) {
  double ss = 0;
  for (int i = 0; i < DIM; i++)
    ss += (double)v[i] * v[i];
  float k = (float)(1.0 / sqrt(ss));
  for (int i = 0; i < DIM; i++)
    v[i] *= k;
}

static float dot(const float *a, const float *b) {
  float s = 0;
  for (int i = 0; i < DIM; i++)
    s += a[i] * b[i];
  return s;
}

static float vecs[NP][DIM];

/* Enrols persons [0, n) with one synthetic photo each. */
static void enrol(argus_gallery *g, int n) {
  for (int i = 0; i < n; i++) {
    unsigned char crop[64];
    memset(crop, 0, sizeof crop);
    crop[0] = 0xff;
    crop[1] = 0xd8;
    crop[2] = (unsigned char)i;
    crop[3] = (unsigned char)(i >> 8);
    crop[62] = 0xff;
    crop[63] = 0xd9;
    argus_gallery_photo p;
    memset(&p, 0, sizeof p);
    p.reason = ARGUS_GALLERY_ACCEPTED;
    snprintf(p.model_id, sizeof p.model_id, "%s", MODEL);
    p.dim = DIM;
    p.vector = vecs[i];
    p.crop = crop;
    p.crop_size = sizeof crop;
    p.quality = 0.9f;
    p.source = "synthetic";
    char name[32];
    snprintf(name, sizeof name, "p%02d", i);
    argus_store_person_in in = {name, name, NULL};
    argus_gallery_error err = {{0}};
    argus_err e = argus_gallery_person_add(g, "w", &in, &p, 1, NULL, &err);
    CHECK_OK(e);
    if (e)
      fprintf(stderr, "%s\n", err.msg);
  }
}

static argus_gallery *open_gallery(const char *name, int enrolled,
                                   argus_store **sp) {
  char path[700];
  snprintf(path, sizeof path, "%s/%s.d", g_root, name);
  mkdir(path, 0700);
  snprintf(path, sizeof path, "%s/%s.d/db", g_root, name);
  argus_store_options o;
  memset(&o, 0, sizeof o);
  o.actor = "test:gallery_norm";
  argus_store_error se = {{0}};
  CHECK_OK(argus_store_open(path, &o, sp, &se));
  CHECK_OK(argus_store_watchlist_create(*sp, "w", 0.4, NULL, NULL, &se));
  argus_gallery_config cfg;
  memset(&cfg, 0, sizeof cfg);
  snprintf(cfg.model_id, sizeof cfg.model_id, "%s", MODEL);
  cfg.dim = DIM;
  cfg.default_threshold = 0.5f;
  cfg.default_fmr = 1e-3;
  argus_gallery *g = NULL;
  argus_gallery_error err = {{0}};
  CHECK_OK(argus_gallery_open(*sp, &cfg, &g, &err));
  enrol(g, enrolled);
  /* The reference is computed at load: reload after enrolling. */
  CHECK_OK(argus_gallery_reload(g, &err));
  return g;
}

static int cmp_desc(const void *a, const void *b) {
  float x = *(const float *)a, y = *(const float *)b;
  return (x < y) - (x > y);
}

/* Mean and sd of ranks 2..33 of the scores of q against the persons in
 * [0, n) other than `skip`. */
static void cohort(const float *q, int n, int skip, double *mu, double *sd) {
  float s[NP];
  int m = 0;
  for (int i = 0; i < n; i++)
    if (i != skip)
      s[m++] = dot(q, vecs[i]);
  qsort(s, (size_t)m, sizeof *s, cmp_desc);
  const int N = ARGUS_GALLERY_NORM_COHORT;
  double a = 0, v = 0;
  for (int j = 1; j <= N; j++)
    a += s[j];
  a /= N;
  for (int j = 1; j <= N; j++)
    v += (s[j] - a) * (s[j] - a);
  *mu = a;
  *sd = sqrt(v / N);
}

static void test_norm(void) {
  uint32_t st = 12345;
  for (int i = 0; i < NP; i++) {
    for (int k = 0; k < DIM; k++)
      vecs[i][k] = rnd(&st);
    unit(vecs[i]);
  }
  argus_store *s = NULL;
  argus_gallery *g = open_gallery("big", NP, &s);
  /* The reference, by brute force: every template (60 < 256: all are
   * sampled) searched among the others. */
  double mu_ref = 0, sd_ref = 0;
  for (int i = 0; i < NP; i++) {
    double mu, sd;
    cohort(vecs[i], NP, i, &mu, &sd);
    mu_ref += mu;
    sd_ref += sd;
  }
  mu_ref /= NP;
  sd_ref /= NP;
  for (int t = 0; t < 3; t++) {
    float q[DIM];
    for (int k = 0; k < DIM; k++)
      q[k] = vecs[t * 7][k] + 0.6f * rnd(&st);
    unit(q);
    argus_gallery_candidate plain[5], norm[5];
    int np1 = 0, nn = 0;
    argus_gallery_search_opts o;
    memset(&o, 0, sizeof o);
    argus_gallery_error err = {{0}};
    CHECK_OK(argus_gallery_search(g, q, 1, 5, &o, plain, &np1, &err));
    o.norm = ARGUS_GALLERY_NORM_TOPN;
    CHECK_OK(argus_gallery_search(g, q, 1, 5, &o, norm, &nn, &err));
    CHECK_INT_EQ(np1, 5);
    CHECK_INT_EQ(nn, 5);
    double mu, sd;
    cohort(q, NP, -1, &mu, &sd);
    for (int i = 0; i < 5 && i < nn && i < np1; i++) {
      CHECK_INT_EQ(norm[i].person_id, plain[i].person_id);
      CHECK_INT_EQ(norm[i].normalised, 1);
      CHECK_INT_EQ(plain[i].normalised, 0);
      CHECK_NEAR(norm[i].raw_score, plain[i].score, 0, 0);
      CHECK_NEAR(plain[i].raw_score, plain[i].score, 0, 0);
      double want = plain[i].score - ARGUS_GALLERY_NORM_WEIGHT * (mu - mu_ref);
      (void)sd;
      (void)sd_ref;
      CHECK_NEAR(norm[i].score, want, 2e-5, 1e-4);
      CHECK_INT_EQ(norm[i].match, norm[i].score >= norm[i].threshold);
    }
    /* Fusion alone (one photo per person here) changes nothing and
     * normalises nothing. */
    argus_gallery_candidate fused[5];
    int nfu = 0;
    o.norm = ARGUS_GALLERY_NORM_NONE;
    o.fuse = ARGUS_GALLERY_FUSE_MEAN;
    CHECK_OK(argus_gallery_search(g, q, 1, 5, &o, fused, &nfu, &err));
    CHECK_INT_EQ(nfu, 5);
    for (int i = 0; i < 5 && i < nfu; i++) {
      CHECK_INT_EQ(fused[i].normalised, 0);
      CHECK_INT_EQ(fused[i].person_id, plain[i].person_id);
      CHECK_NEAR(fused[i].score, plain[i].score, 1e-6, 0);
    }
    o.norm = ARGUS_GALLERY_NORM_TOPN;
    o.fuse = ARGUS_GALLERY_FUSE_MAX;
    /* Batched with k above the cohort: the same. */
    argus_gallery_candidate many[40];
    int nm = 0;
    CHECK_OK(argus_gallery_search(g, q, 1, 40, &o, many, &nm, &err));
    CHECK_INT_EQ(nm, 40);
    CHECK_NEAR(many[0].score, norm[0].score, 1e-6, 0);
  }
  {
    argus_gallery_search_opts o;
    memset(&o, 0, sizeof o);
    o.norm = 7;
    argus_gallery_candidate c[1];
    int n = 0;
    argus_gallery_error err = {{0}};
    CHECK_INT_EQ(argus_gallery_search(g, vecs[0], 1, 1, &o, c, &n, &err),
                 ARGUS_E_INVALID_ARG);
  }
  argus_gallery_close(g);
  argus_store_close(s);

  /* 8 persons: too few for a cohort of 8 besides rank 1; cosines. */
  g = open_gallery("small", ARGUS_GALLERY_NORM_COHORT, &s);
  argus_gallery_search_opts o;
  memset(&o, 0, sizeof o);
  o.norm = ARGUS_GALLERY_NORM_TOPN;
  argus_gallery_candidate c[3];
  int n = 0;
  argus_gallery_error err = {{0}};
  CHECK_OK(argus_gallery_search(g, vecs[3], 1, 3, &o, c, &n, &err));
  CHECK_INT_EQ(n, 3);
  CHECK_INT_EQ(c[0].normalised, 0);
  CHECK_NEAR(c[0].score, dot(vecs[3], vecs[3]), 1e-5, 0);
  CHECK_NEAR(c[0].raw_score, c[0].score, 0, 0);
  argus_gallery_close(g);
  argus_store_close(s);
  CHECK(strcmp(argus_gallery_norm_name(ARGUS_GALLERY_NORM_TOPN), "topn") == 0);
}

static argus_gallery_photo synth(const float *v, int tag, unsigned char *crop) {
  memset(crop, 0, 64);
  crop[0] = 0xff;
  crop[1] = 0xd8;
  crop[2] = (unsigned char)tag;
  crop[3] = (unsigned char)(tag >> 8);
  crop[4] = 0x5a;
  crop[62] = 0xff;
  crop[63] = 0xd9;
  argus_gallery_photo p;
  memset(&p, 0, sizeof p);
  p.reason = ARGUS_GALLERY_ACCEPTED;
  snprintf(p.model_id, sizeof p.model_id, "%s", MODEL);
  p.dim = DIM;
  p.vector = (float *)v;
  p.crop = crop;
  p.crop_size = 64;
  p.quality = 0.9f;
  p.source = "synthetic";
  return p;
}

static void test_fuse(void) {
  uint32_t st = 777;
  for (int i = 0; i < NP; i++) {
    for (int k = 0; k < DIM; k++)
      vecs[i][k] = rnd(&st);
    unit(vecs[i]);
  }
  argus_store *s = NULL;
  argus_gallery *g = open_gallery("fuse", 5, &s); /* p00..p04, one photo */
  /* A sixth person with two photos: vecs[10] and vecs[11]; a seventh that
   * gets its second photo later: vecs[12], then vecs[13]. */
  unsigned char c1[64], c2[64], c3[64], c4[64];
  argus_gallery_photo two[2] = {synth(vecs[10], 1001, c1),
                                synth(vecs[11], 1002, c2)};
  argus_store_person_in in = {"both", "both", NULL};
  argus_store_id both = 0, later = 0;
  argus_gallery_error err = {{0}};
  CHECK_OK(argus_gallery_person_add(g, "w", &in, two, 2, &both, &err));
  argus_gallery_photo one = synth(vecs[12], 1003, c3);
  argus_store_person_in in2 = {"later", "later", NULL};
  CHECK_OK(argus_gallery_person_add(g, "w", &in2, &one, 1, &later, &err));
  argus_gallery_photo more = synth(vecs[13], 1004, c4);
  CHECK_OK(argus_gallery_person_add_photos(g, later, &more, 1, &err));
  float m1[DIM], m2[DIM];
  for (int k = 0; k < DIM; k++) {
    m1[k] = vecs[10][k] + vecs[11][k];
    m2[k] = vecs[12][k] + vecs[13][k];
  }
  unit(m1);
  unit(m2);
  for (int pass = 0; pass < 2; pass++) {
    for (int t = 0; t < 4; t++) {
      float q[DIM];
      for (int k = 0; k < DIM; k++)
        q[k] = vecs[10 + t][k] + 0.5f * rnd(&st);
      unit(q);
      argus_gallery_search_opts o;
      memset(&o, 0, sizeof o);
      o.fuse = ARGUS_GALLERY_FUSE_MEAN;
      argus_gallery_candidate c[7];
      int n = 0;
      CHECK_OK(argus_gallery_search(g, q, 1, 7, &o, c, &n, &err));
      CHECK_INT_EQ(n, 7);
      for (int i = 0; i < n; i++) {
        float want;
        if (c[i].person_id == both)
          want = dot(q, m1);
        else if (c[i].person_id == later)
          want = dot(q, m2);
        else
          want = dot(q, vecs[c[i].person_id - 1]); /* p00 is person 1 */
        CHECK_NEAR(c[i].score, want, 1e-5, 0);
        CHECK_NEAR(c[i].raw_score, c[i].score, 0, 0);
        if (i > 0)
          CHECK(c[i - 1].score >= c[i].score);
      }
    }
    /* The sums are rebuilt from the store by a reload. */
    CHECK_OK(argus_gallery_reload(g, &err));
  }
  argus_gallery_search_opts o;
  memset(&o, 0, sizeof o);
  o.fuse = 5;
  argus_gallery_candidate c[1];
  int n = 0;
  CHECK_INT_EQ(argus_gallery_search(g, vecs[0], 1, 1, &o, c, &n, &err),
               ARGUS_E_INVALID_ARG);
  argus_gallery_close(g);
  argus_store_close(s);
}

static void test_fpir(void) {
  argus_face_card card;
  memset(&card, 0, sizeof card);
  card.kind = ARGUS_FACE_MODEL_EMBEDDER;
  snprintf(card.name, sizeof card.name, "synth");
  card.nthresholds = 3;
  card.thresholds[0].fmr = 1e-2;
  card.thresholds[0].threshold = 0.291f;
  card.thresholds[1].fmr = 1e-3;
  card.thresholds[1].threshold = 0.3876f;
  card.thresholds[2].fmr = 1e-4;
  card.thresholds[2].threshold = 0.4641f;
  float t = 0;
  double fmr = 0;
  argus_gallery_error err = {{0}};
  /* One person: FPIR = FMR, the card's own points. */
  CHECK_OK(argus_gallery_threshold_for_fpir(&card, 1e-3, 1, &t, &fmr, &err));
  CHECK_NEAR(t, 0.3876, 1e-4, 0);
  CHECK_NEAR(fmr, 1e-3, 1e-9, 0);
  CHECK_OK(argus_gallery_threshold_for_fpir(&card, 1e-2, 1, &t, NULL, &err));
  CHECK_NEAR(t, 0.291, 1e-4, 0);
  CHECK_OK(argus_gallery_threshold_for_fpir(&card, 1e-4, 1, &t, NULL, &err));
  CHECK_NEAR(t, 0.4641, 1e-4, 0);
  /* 1,680 persons at FPIR 1 %: FMR ~6e-6, extrapolated beyond 1e-4. */
  float t1 = 0, t2 = 0, t3 = 0;
  CHECK_OK(
      argus_gallery_threshold_for_fpir(&card, 1e-2, 1680, &t1, &fmr, &err));
  CHECK_NEAR(fmr, 1e-2 / 1680, 1e-7, 0.01);
  CHECK(t1 > 0.5f && t1 < 0.6f);
  CHECK_OK(
      argus_gallery_threshold_for_fpir(&card, 1e-3, 1680, &t2, NULL, &err));
  CHECK(t2 > t1);
  CHECK_OK(argus_gallery_threshold_for_fpir(&card, 1e-2, 100, &t3, NULL, &err));
  CHECK(t3 < t1);
  CHECK_INT_EQ(argus_gallery_threshold_for_fpir(&card, 0, 10, &t, NULL, &err),
               ARGUS_E_INVALID_ARG);
  CHECK_INT_EQ(argus_gallery_threshold_for_fpir(&card, 1, 10, &t, NULL, &err),
               ARGUS_E_INVALID_ARG);
  CHECK_INT_EQ(argus_gallery_threshold_for_fpir(&card, 0.01, 0, &t, NULL, &err),
               ARGUS_E_INVALID_ARG);
  card.nthresholds = 1;
  CHECK_INT_EQ(
      argus_gallery_threshold_for_fpir(&card, 0.01, 10, &t, NULL, &err),
      ARGUS_E_INVALID_ARG);
  CHECK(strstr(err.msg, "two are needed") != NULL);
  card.nthresholds = 3;
  card.kind = ARGUS_FACE_MODEL_DETECTOR;
  CHECK_INT_EQ(
      argus_gallery_threshold_for_fpir(&card, 0.01, 10, &t, NULL, &err),
      ARGUS_E_INVALID_ARG);
}

int main(void) {
  snprintf(g_root, sizeof g_root, "/tmp/argus-gnorm-XXXXXX");
  if (!mkdtemp(g_root)) {
    fprintf(stderr, "cannot make a temporary folder\n");
    return 1;
  }
  test_fpir();
  test_norm();
  test_fuse();
  nftw(g_root, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
  return check_report("test_gallery_norm");
}
