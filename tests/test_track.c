/* The tracker and its best-shot policy on synthetic scenes in media time:
 * ids kept through jitter and missed detections, two faces crossing (with
 * embeddings), an occlusion bridged by appearance (embeddings on every face,
 * or only where argus_track_needs_embedding asks), track end after the
 * timeout, the match-request policy (early match, better-shot re-match,
 * best shot at the end), capacity (eviction, dropped detections), bad input, a random stress
 * run checking invariants and determinism, and no allocation per update. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "argus/core.h"
#include "argus/track.h"
#include "check.h"

/* ---- helpers ------------------------------------------------------------ */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return (uint32_t)(rng_state >> 11);
}

static double runif(void) { return (rnd() % 1000000) / 1000000.0; }

static double gauss(void) {
  double u = ((rnd() % 1000000) + 0.5) / 1000000.0;
  double v = ((rnd() % 1000000) + 0.5) / 1000000.0;
  return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

#define DIM 64

static void normalize(float *x, int d) {
  double s = 0;
  for (int i = 0; i < d; i++)
    s += (double)x[i] * x[i];
  for (int i = 0; i < d; i++)
    x[i] = (float)(x[i] / sqrt(s));
}

/* Random unit vectors, each orthogonal to the ones before (Gram-Schmidt),
 * standing for different people. */
static void make_people(float (*e)[DIM], int n) {
  for (int p = 0; p < n; p++) {
    for (int i = 0; i < DIM; i++)
      e[p][i] = (float)gauss();
    for (int q = 0; q < p; q++) {
      double d = 0;
      for (int i = 0; i < DIM; i++)
        d += (double)e[p][i] * e[q][i];
      for (int i = 0; i < DIM; i++)
        e[p][i] -= (float)(d * e[q][i]);
    }
    normalize(e[p], DIM);
  }
}

/* A noisy view of a person (similarity about 0.95 to the base, not unit
 * length on purpose: the tracker normalises). */
static void view_of(const float *base, float *out) {
  for (int i = 0; i < DIM; i++)
    out[i] = 3.0f * (base[i] + (float)(0.3 * gauss() / sqrt(DIM)));
}

static argus_track_det det_at(double cx, double cy, double size, float score,
                              float quality, const float *emb) {
  argus_track_det d;
  memset(&d, 0, sizeof d);
  d.box[0] = (float)(cx - size / 2);
  d.box[1] = (float)(cy - size / 2);
  d.box[2] = (float)(cx + size / 2);
  d.box[3] = (float)(cy + size / 2);
  d.score = score;
  d.quality = quality;
  d.embedding = emb;
  return d;
}

static argus_tracker *make_tracker(int embed_dim, size_t shot_bytes) {
  argus_track_config cfg;
  argus_track_config_default(&cfg);
  cfg.embed_dim = embed_dim;
  cfg.shot_bytes = shot_bytes;
  argus_tracker *tr = NULL;
  CHECK_OK(argus_track_create(&cfg, &tr, NULL));
  return tr;
}

/* ---- configuration ------------------------------------------------------ */

static void test_config(void) {
  argus_tracker *tr = NULL;
  CHECK_OK(argus_track_create(NULL, &tr, NULL));
  CHECK(tr != NULL);
  argus_track_stats st;
  CHECK_OK(argus_track_get_stats(tr, &st));
  CHECK_INT_EQ(st.live, 0);
  CHECK(isnan(st.time));
  argus_track_destroy(tr);
  argus_track_destroy(NULL);

  argus_track_config def;
  argus_track_config_default(&def);
  CHECK_INT_EQ(def.capacity, 256);
  CHECK_INT_EQ(def.confirm_hits, 2);
  CHECK_NEAR(def.max_lost, 1.5, 0, 0);
  CHECK_NEAR(def.policy.min_quality, 0.5, 1e-6, 0);

  CHECK_INT_EQ(argus_track_create(&def, NULL, NULL), ARGUS_E_INVALID_ARG);
  /* One parameter out of range at a time. */
  for (int k = 0; k < 16; k++) {
    argus_track_config c = def;
    switch (k) {
    case 0:
      c.capacity = 0;
      break;
    case 1:
      c.capacity = ARGUS_TRACK_MAX_CAPACITY + 1;
      break;
    case 2:
      c.max_detections = 0;
      break;
    case 3:
      c.embed_dim = -1;
      break;
    case 4:
      c.embed_dim = ARGUS_TRACK_MAX_DIM + 1;
      break;
    case 5:
      c.confirm_hits = 0;
      break;
    case 6:
      c.max_lost = NAN;
      break;
    case 7:
      c.max_lost = -1;
      break;
    case 8:
      c.iou_gate = 0;
      break;
    case 9:
      c.iou_gate = NAN;
      break;
    case 10:
      c.appearance_alpha = 0;
      break;
    case 11:
      c.measure_noise = 0;
      break;
    case 12:
      c.policy.min_quality = 1.5f;
      break;
    case 13:
      c.policy.better_interval = -1;
      break;
    case 14:
      c.policy.max_requests = -1;
      break;
    case 15:
      c.shot_bytes = ARGUS_TRACK_MAX_SHOT_BYTES + 1;
      break;
    }
    tr = (argus_tracker *)1;
    argus_error_detail why = {{0}};
    argus_err e = argus_track_create(&c, &tr, &why);
    if (e != ARGUS_E_INVALID_ARG)
      fprintf(stderr, "bad config case %d accepted\n", k);
    CHECK_INT_EQ(e, ARGUS_E_INVALID_ARG);
    CHECK(tr == NULL);
    /* The detail names the setting. */
    CHECK(strstr(why.msg, "config.") != NULL);
  }
  CHECK(strcmp(argus_track_state_name(ARGUS_TRACK_CONFIRMED), "confirmed") ==
        0);
  CHECK(strcmp(argus_track_end_name(ARGUS_TRACK_END_EVICTED), "evicted") == 0);
  CHECK(strcmp(argus_track_request_name(ARGUS_TRACK_REQ_BETTER), "better") ==
        0);
  CHECK(strcmp(argus_track_end_name((argus_track_end_reason)99), "?") == 0);
}

static void test_det_from_face(void) {
  argus_face f;
  memset(&f, 0, sizeof f);
  f.box[0] = 10;
  f.box[1] = 20;
  f.box[2] = 50;
  f.box[3] = 70;
  f.score = 0.9f;
  argus_track_det d;
  float emb[4] = {1, 0, 0, 0};
  CHECK_OK(argus_track_det_from_face(&f, emb, &d));
  CHECK_NEAR(d.box[3], 70, 0, 0);
  CHECK_NEAR(d.score, 0.9, 1e-6, 0);
  CHECK_NEAR(d.quality, 0, 0, 0);
  CHECK(d.embedding == emb);
  f.has_quality = 1;
  f.quality.value = 0.7f;
  f.quality.flags = ARGUS_FACE_Q_BLURRED;
  CHECK_OK(argus_track_det_from_face(&f, NULL, &d));
  CHECK_NEAR(d.quality, 0.7, 1e-6, 0);
  CHECK_INT_EQ(d.quality_flags, ARGUS_FACE_Q_BLURRED);
  CHECK(d.embedding == NULL);
  CHECK_INT_EQ(argus_track_det_from_face(NULL, NULL, &d), ARGUS_E_INVALID_ARG);
  CHECK_INT_EQ(argus_track_det_from_face(&f, NULL, NULL), ARGUS_E_INVALID_ARG);
}

/* ---- motion and ids ----------------------------------------------------- */

/* One face moving at constant velocity: new, confirmed, the filter learns
 * the velocity and predicts ahead. */
static void test_single_track(void) {
  argus_tracker *tr = make_tracker(0, 0);
  argus_track_result res;
  uint64_t id = 0;
  for (int k = 0; k <= 20; k++) {
    double t = k / 10.0;
    argus_track_det d =
        det_at(100 + 120 * t, 200 - 40 * t, 90, 0.9f, 0.3f, NULL);
    CHECK_OK(argus_track_update(tr, t, &d, 1, &res));
    CHECK_INT_EQ(res.nassign, 1);
    if (k == 0) {
      id = res.assign[0].track_id;
      CHECK_INT_EQ(id, 1);
      CHECK(res.assign[0].flags & ARGUS_TRACK_F_NEW);
      CHECK(res.assign[0].flags & ARGUS_TRACK_F_BEST);
      CHECK_INT_EQ(res.assign[0].state, ARGUS_TRACK_TENTATIVE);
    } else {
      CHECK_INT_EQ(res.assign[0].track_id, id);
      CHECK(!(res.assign[0].flags & ARGUS_TRACK_F_NEW));
    }
    if (k == 1) {
      CHECK(res.assign[0].flags & ARGUS_TRACK_F_CONFIRMED);
      CHECK_INT_EQ(res.assign[0].state, ARGUS_TRACK_CONFIRMED);
    }
    CHECK_INT_EQ(res.nended, 0);
  }
  argus_track_info info;
  CHECK_OK(argus_track_get(tr, id, &info));
  CHECK_INT_EQ(info.hits, 21);
  CHECK_NEAR(info.velocity[0], 120, 6, 0);
  CHECK_NEAR(info.velocity[1], -40, 6, 0);
  CHECK_NEAR(info.first_time, 0, 0, 0);
  CHECK_NEAR(info.last_time, 2, 0, 0);
  CHECK_INT_EQ(argus_track_get(tr, 99, &info), ARGUS_E_NOT_FOUND);
  /* Coasting: after 0.3 s without detections the prediction moved on. */
  for (int k = 21; k <= 23; k++)
    CHECK_OK(argus_track_update(tr, k / 10.0, NULL, 0, &res));
  CHECK_OK(argus_track_get(tr, id, &info));
  double cx = 0.5 * (info.predicted[0] + info.predicted[2]);
  CHECK_NEAR(cx, 100 + 120 * 2.3, 5, 0);
  argus_track_destroy(tr);
}

/* Three faces with jittered boxes and a quarter of the detections missed,
 * for 20 s at 10 fps: each keeps one id; the ids differ. */
static void test_jitter_and_misses(void) {
  argus_tracker *tr = make_tracker(0, 0);
  argus_track_result res;
  uint64_t ids[3] = {0, 0, 0};
  int changes = 0;
  for (int k = 0; k < 200; k++) {
    double t = k / 10.0;
    argus_track_det d[3];
    int who[3], n = 0;
    for (int f = 0; f < 3; f++) {
      /* Slow wandering paths that stay apart. */
      double cx = 200 + 400 * f + 60 * sin(0.4 * t + f);
      double cy = 300 + 50 * cos(0.3 * t + 2 * f);
      double s = 100 + 10 * sin(0.2 * t);
      if (k > 0 && runif() < 0.25)
        continue;
      d[n] = det_at(cx + 3 * gauss(), cy + 3 * gauss(), s + 3 * gauss(), 0.8f,
                    0.4f, NULL);
      who[n++] = f;
    }
    CHECK_OK(argus_track_update(tr, t, d, n, &res));
    for (int j = 0; j < n; j++) {
      uint64_t id = res.assign[j].track_id;
      CHECK(id != 0);
      if (ids[who[j]] == 0)
        ids[who[j]] = id;
      else if (ids[who[j]] != id)
        changes++;
    }
    CHECK_INT_EQ(res.nended, 0);
  }
  CHECK_INT_EQ(changes, 0);
  CHECK(ids[0] != ids[1] && ids[1] != ids[2] && ids[0] != ids[2]);
  argus_track_stats st;
  CHECK_OK(argus_track_get_stats(tr, &st));
  CHECK_INT_EQ(st.created, 3);
  CHECK_INT_EQ(st.live, 3);
  argus_track_destroy(tr);
}

/* Two faces whose paths cross, at 10 fps for 3.5 s; returns the number of
 * id changes. Scene 0: they walk through each other (boxes overlapping
 * almost fully at t = 5/3 s). Scene 1: they meet, stand on the very same
 * spot for half a second (identical boxes), and walk back the way they
 * came, which a motion model mistakes for walking on. `order` lists them
 * in the other order (scene 1: alternating every frame). */
static int run_crossing(int scene, int order, int use_emb,
                        float (*people)[DIM]) {
  argus_tracker *tr = make_tracker(use_emb ? DIM : 0, 0);
  argus_track_result res;
  uint64_t ids[2] = {0, 0};
  int changes = 0;
  float emb[2][DIM];
  for (int k = 0; k <= 35; k++) {
    double t = k / 10.0;
    double x[2], y[2];
    if (scene == 0) {
      x[0] = 100 + 150 * t;
      x[1] = 600 - 150 * t;
      y[0] = 200;
      y[1] = 210;
    } else {
      double u = t < 1.6 ? t - 1.6 : t < 2.1 ? 0 : 2.1 - t;
      x[0] = 340 + 150 * u;
      x[1] = 340 - 150 * u;
      y[0] = y[1] = 200;
    }
    int swap = scene == 0 ? order : (order ^ (k & 1));
    argus_track_det d[2];
    int who[2];
    for (int j = 0; j < 2; j++) {
      int f = swap ? 1 - j : j;
      view_of(people[f], emb[j]);
      d[j] = det_at(x[f], y[f], 80, 0.9f, 0.5f, use_emb ? emb[j] : NULL);
      who[j] = f;
    }
    CHECK_OK(argus_track_update(tr, t, d, 2, &res));
    for (int j = 0; j < 2; j++) {
      uint64_t id = res.assign[j].track_id;
      if (!ids[who[j]])
        ids[who[j]] = id;
      else if (ids[who[j]] != id)
        changes++;
    }
  }
  CHECK(ids[0] != ids[1]);
  argus_track_stats st;
  CHECK_OK(argus_track_get_stats(tr, &st));
  CHECK_INT_EQ(st.created, 2);
  argus_track_destroy(tr);
  return changes;
}

static void test_crossing(void) {
  float people[2][DIM];
  make_people(people, 2);
  for (int scene = 0; scene < 2; scene++)
    for (int order = 0; order < 2; order++)
      CHECK_INT_EQ(run_crossing(scene, order, 1, people), 0);
  /* Motion alone swaps the ids in scene 1: the embeddings are what keeps
   * them there. */
  CHECK(run_crossing(1, 0, 0, people) > 0);
}

/* Walkers seen at 5 analysed frames per second (issue 10): a face 80 px
 * high crossing at 600 px/s moves 120 px between two frames, so its boxes
 * never overlap. It must stay one track, be confirmed at its second
 * detection and searched early; with IoU alone (distance_gate 0) every
 * detection starts a new track and nothing is ever searched. A second face
 * walking the other way in its own lane keeps its own track. */
static int run_walkers(float distance_gate, int *requests) {
  argus_track_config cfg;
  argus_track_config_default(&cfg);
  cfg.distance_gate = distance_gate;
  argus_tracker *tr = NULL;
  CHECK_OK(argus_track_create(&cfg, &tr, NULL));
  argus_track_result res;
  uint64_t ids[2] = {0, 0};
  int changes = 0;
  *requests = 0;
  for (int k = 0; k < 10; k++) {
    double t = k * 0.2;
    argus_track_det d[2];
    d[0] = det_at(60 + 600 * t, 200 + 10 * t, 80, 0.9f, 0.7f, NULL);
    d[1] = det_at(1220 - 700 * t, 420, 100, 0.9f, 0.7f, NULL);
    CHECK_OK(argus_track_update(tr, t, d, 2, &res));
    for (int j = 0; j < 2; j++) {
      uint64_t id = res.assign[j].track_id;
      if (k > 0 && id != ids[j])
        changes++;
      ids[j] = id;
    }
    *requests += res.nrequests;
  }
  CHECK(ids[0] != ids[1]);
  argus_track_destroy(tr);
  return changes;
}

/* Someone leaves by the right edge; someone else then comes in at the same
 * edge, walking the other way: 1.2 s later (two empty updates), or 0.4 s
 * later (one empty update). The first track is lost but not ended
 * (max_lost 1.5 s) and its coasted prediction is near the newcomer: the
 * distance gate must not hand it the newcomer, whose track would then never
 * be searched (the old track already was). A walker matched in every
 * update keeps its track (test_fast_walkers). */
static void test_exit_and_enter(void) {
  for (int late = 0; late < 2; late++) {
    argus_tracker *tr = make_tracker(0, 0);
    argus_track_result res;
    uint64_t first = 0;
    double t = 7.0;
    for (int k = 0; k <= 5; k++, t += 0.2) {
      argus_track_det d = det_at(700 + 100 * k, 465, 100, 0.9f, 0.9f, NULL);
      CHECK_OK(argus_track_update(tr, t, &d, 1, &res));
      first = res.assign[0].track_id;
    }
    for (int k = 0; k < (late ? 2 : 1); k++, t += 0.2)
      CHECK_OK(argus_track_update(tr, t, NULL, 0, &res));
    if (late)
      t += 0.2;
    argus_track_det in = det_at(1245, 485, 105, 0.9f, 0.75f, NULL);
    CHECK_OK(argus_track_update(tr, t, &in, 1, &res));
    CHECK(res.assign[0].track_id != first);
    CHECK(res.assign[0].flags & ARGUS_TRACK_F_NEW);
    argus_track_destroy(tr);
  }
}

/* Every track that lives long enough is searched once: shots all flagged
 * "profile" (quality 0) are not searched early, but after search_after
 * (1 s) the best of them is, and the best is the largest face (the first
 * one is cut by the frame's edge). With search_after -1: never. */
static void test_search_after(void) {
  for (int off = 0; off < 2; off++) {
    argus_track_config cfg;
    argus_track_config_default(&cfg);
    cfg.shot_bytes = 8;
    if (off)
      cfg.policy.search_after = -1;
    argus_tracker *tr = NULL;
    CHECK_OK(argus_track_create(&cfg, &tr, NULL));
    argus_track_result res;
    int requests = 0;
    double req_t = -1;
    for (int k = 0; k < 10; k++) {
      double t = 0.2 * k;
      argus_track_det d =
          det_at(40 + 60 * k, 300, k == 0 ? 100 : 130, 0.9f, 0.0f, NULL);
      d.quality_flags = ARGUS_FACE_Q_PROFILE;
      CHECK_OK(argus_track_update(tr, t, &d, 1, &res));
      for (int r = 0; r < res.nrequests; r++) {
        requests++;
        req_t = t;
        CHECK_INT_EQ(res.requests[r].reason, ARGUS_TRACK_REQ_EARLY);
        CHECK(res.requests[r].time >= 0.2); /* not the cut first shot */
      }
    }
    CHECK_INT_EQ(requests, off ? 0 : 1);
    if (!off)
      CHECK_NEAR(req_t, 1.0, 1e-9, 0);
    argus_track_destroy(tr);
  }
}

static void test_fast_walkers(void) {
  int requests = 0;
  CHECK_INT_EQ(run_walkers(3.0f, &requests), 0);
  CHECK_INT_EQ(requests, 2); /* one early search per walker */
  CHECK(run_walkers(0.0f, &requests) >= 18);
  CHECK_INT_EQ(requests, 0);
  /* A face of another size, or far off the predicted path, is someone
   * else. */
  argus_tracker *tr = make_tracker(0, 0);
  argus_track_result res;
  argus_track_det d = det_at(100, 200, 80, 0.9f, 0.7f, NULL);
  CHECK_OK(argus_track_update(tr, 0.0, &d, 1, &res));
  uint64_t id = res.assign[0].track_id;
  d = det_at(220, 200, 160, 0.9f, 0.7f, NULL); /* twice the height */
  CHECK_OK(argus_track_update(tr, 0.2, &d, 1, &res));
  CHECK(res.assign[0].track_id != id);
  id = res.assign[0].track_id;
  d = det_at(1000, 600, 160, 0.9f, 0.7f, NULL); /* 5 heights away */
  CHECK_OK(argus_track_update(tr, 0.4, &d, 1, &res));
  CHECK(res.assign[0].track_id != id);
  argus_track_destroy(tr);
}

/* A face walks behind something for 0.5 s and comes out 400 px off its
 * predicted path (further than motion can explain). Appearance keeps its id; without embeddings it gets a new
 * one. A second, still face must not steal it. */
static void run_occlusion(int mode, float (*people)[DIM], int *same_id,
                          int *reid_flag) {
  /* mode 0: embeddings on every detection; 1: no embeddings; 2: sparse:
   * the appearance comes from requested shots (set_embedding), and the
   * reappearing face is embedded because needs_embedding asks for it. */
  argus_tracker *tr = make_tracker(mode == 1 ? 0 : DIM, 0);
  argus_track_result res;
  uint64_t id_a = 0, id_b = 0, id_after = 0;
  *reid_flag = 0;
  float emb[2][DIM];
  for (int k = 0; k <= 35; k++) {
    double t = k / 10.0;
    argus_track_det d[2];
    int n = 0, ja = -1;
    view_of(people[1], emb[1]);
    d[n++] = det_at(900, 500, 100, 0.9f, 0.6f, mode == 0 ? emb[1] : NULL);
    int hidden = k > 20 && k < 25;
    if (!hidden) {
      double x = k <= 20 ? 100 + 100 * t : 100 + 100 * t + 400;
      double y = k <= 20 ? 200 : 260;
      view_of(people[0], emb[0]);
      ja = n;
      d[n++] = det_at(x, y, 80, 0.9f, 0.6f, mode == 0 ? emb[0] : NULL);
    }
    if (mode == 2) {
      unsigned char need[2] = {9, 9};
      CHECK_OK(argus_track_needs_embedding(tr, t, d, n, need));
      for (int j = 0; j < n; j++) {
        /* Only the reappearance needs one; tracking by motion does not. */
        CHECK_INT_EQ(need[j], k == 25 && j == ja);
        if (need[j])
          d[j].embedding = emb[j == ja ? 0 : 1];
      }
    }
    CHECK_OK(argus_track_update(tr, t, d, n, &res));
    if (mode == 2) {
      /* The pipeline embeds the requested shots and hands them back. */
      for (int r = 0; r < res.nrequests; r++) {
        int j = res.requests[r].det;
        CHECK_OK(argus_track_set_embedding(tr, res.requests[r].track_id,
                                           emb[j == ja ? 0 : 1]));
      }
    }
    if (k == 0) {
      id_b = res.assign[0].track_id;
      id_a = res.assign[1].track_id;
    }
    CHECK_INT_EQ(res.assign[0].track_id, id_b);
    if (k == 25) {
      id_after = res.assign[ja].track_id;
      *reid_flag = (res.assign[ja].flags & ARGUS_TRACK_F_REID) != 0;
    } else if (ja >= 0 && k < 25) {
      CHECK_INT_EQ(res.assign[ja].track_id, id_a);
    }
    CHECK_INT_EQ(res.nended, 0);
  }
  *same_id = id_after == id_a;
  argus_track_destroy(tr);
}

static void test_occlusion(void) {
  float people[2][DIM];
  make_people(people, 2);
  int same, reid;
  run_occlusion(0, people, &same, &reid);
  CHECK(same);
  CHECK(reid);
  run_occlusion(1, people, &same, &reid);
  CHECK(!same);
  CHECK(!reid);
  run_occlusion(2, people, &same, &reid);
  CHECK(same);
  CHECK(reid);
}

/* Two faces side by side overlapping a track's predicted box: ambiguous,
 * so needs_embedding asks for both when the track has an appearance. */
static void test_needs_ambiguous(void) {
  float people[2][DIM];
  make_people(people, 2);
  argus_tracker *tr = make_tracker(DIM, 0);
  argus_track_result res;
  argus_track_det d = det_at(300, 300, 100, 0.9f, 0.6f, NULL);
  CHECK_OK(argus_track_update(tr, 0, &d, 1, &res));
  unsigned char need[2] = {7, 7};
  argus_track_det two[2] = {det_at(285, 300, 100, 0.9f, 0.6f, NULL),
                            det_at(315, 300, 100, 0.9f, 0.6f, NULL)};
  /* No appearance yet: nothing to gain from embeddings. */
  CHECK_OK(argus_track_needs_embedding(tr, 0.1, two, 2, need));
  CHECK(need[0] == 0 && need[1] == 0);
  CHECK_OK(argus_track_set_embedding(tr, res.assign[0].track_id, people[0]));
  CHECK_OK(argus_track_needs_embedding(tr, 0.1, two, 2, need));
  CHECK(need[0] == 1 && need[1] == 1);
  CHECK_OK(argus_track_needs_embedding(tr, 0.1, two, 1, need));
  CHECK(need[0] == 0);
  /* With the embeddings the right face wins although the other overlaps as
   * much. */
  float ea[DIM], eb[DIM];
  view_of(people[1], ea);
  view_of(people[0], eb);
  two[0].embedding = ea;
  two[1].embedding = eb;
  CHECK_OK(argus_track_update(tr, 0.1, two, 2, &res));
  CHECK_INT_EQ(res.assign[1].track_id, 1);
  CHECK_INT_EQ(res.assign[0].track_id, 2);
  CHECK_INT_EQ(argus_track_set_embedding(tr, 77, people[0]), ARGUS_E_NOT_FOUND);
  float zero[DIM] = {0};
  CHECK_INT_EQ(argus_track_set_embedding(tr, 1, zero), ARGUS_E_INVALID_ARG);
  argus_track_destroy(tr);
}

/* ---- track end ---------------------------------------------------------- */

static void test_timeout(void) {
  argus_tracker *tr = make_tracker(0, 0);
  argus_track_result res;
  argus_track_det d = det_at(300, 300, 100, 0.9f, 0.2f, NULL);
  for (int k = 0; k <= 10; k++)
    CHECK_OK(argus_track_update(tr, k / 10.0, &d, 1, &res));
  /* A one-frame false detection elsewhere: tentative, ends sooner. */
  argus_track_det ghost = det_at(900, 100, 60, 0.6f, 0.1f, NULL);
  CHECK_OK(argus_track_update(tr, 1.1, &ghost, 1, &res));
  uint64_t ghost_id = res.assign[0].track_id;
  CHECK_INT_EQ(ghost_id, 2);
  int ended_main_at = -1, ended_ghost_at = -1;
  for (int k = 12; k <= 30; k++) {
    CHECK_OK(argus_track_update(tr, k / 10.0, NULL, 0, &res));
    for (int e = 0; e < res.nended; e++) {
      const argus_track_end *ev = &res.ended[e];
      CHECK_INT_EQ(ev->reason, ARGUS_TRACK_END_TIMEOUT);
      if (ev->track_id == 1) {
        ended_main_at = k;
        CHECK_INT_EQ(ev->confirmed, 1);
        CHECK_INT_EQ(ev->hits, 11);
        CHECK_NEAR(ev->first_time, 0, 0, 0);
        CHECK_NEAR(ev->last_time, 1.0, 0, 0);
        CHECK_NEAR(ev->best_quality, 0.2, 1e-6, 0);
        /* under min_quality, but it lived 1 s: searched once anyway
         * (policy.search_after) */
        CHECK_INT_EQ(ev->nrequests, 1);
        CHECK(ev->shot == NULL);
      } else if (ev->track_id == ghost_id) {
        ended_ghost_at = k;
        CHECK_INT_EQ(ev->confirmed, 0);
        CHECK_INT_EQ(ev->match_best, 0);
      } else {
        CHECK(0);
      }
    }
  }
  /* Ends at the first update more than max_lost (1.5 s) after its last
   * match at 1.0 s; the ghost more than 0.5 s after 1.1 s. */
  CHECK_INT_EQ(ended_main_at, 26);
  CHECK_INT_EQ(ended_ghost_at, 17);
  argus_track_info info;
  CHECK_INT_EQ(argus_track_get(tr, 1, &info), ARGUS_E_NOT_FOUND);
  /* The same place later: a new, larger id. */
  CHECK_OK(argus_track_update(tr, 3.1, &d, 1, &res));
  CHECK_INT_EQ(res.assign[0].track_id, 3);
  /* Flush: the end of the stream ends every live track. */
  CHECK_OK(argus_track_flush(tr, 3.2, &res));
  CHECK_INT_EQ(res.nended, 1);
  CHECK_INT_EQ(res.nassign, 0);
  CHECK_INT_EQ(res.ended[0].reason, ARGUS_TRACK_END_FLUSH);
  argus_track_stats st;
  CHECK_OK(argus_track_get_stats(tr, &st));
  CHECK_INT_EQ(st.live, 0);
  CHECK_INT_EQ(st.ended, 3);
  CHECK_INT_EQ(argus_track_flush(tr, 3.0, &res), ARGUS_E_INVALID_ARG);
  argus_track_destroy(tr);
}

/* ---- the match policy --------------------------------------------------- */

static int count_reason(const argus_track_result *res, int reason) {
  int c = 0;
  for (int i = 0; i < res->nrequests; i++)
    c += res->requests[i].reason == (argus_track_request_reason)reason;
  return c;
}

/* Early match once confirmed and over the bar; re-match only for a shot
 * better by delta and not sooner than the interval. */
static void test_policy_requests(void) {
  argus_tracker *tr = make_tracker(0, 0);
  argus_track_result res;
  int early_at = -1, better_at[4], nbetter = 0;
  for (int k = 0; k <= 30; k++) {
    double t = k / 10.0;
    float q;
    if (k == 0)
      q = 0.9f; /* tentative: not requested, but the best shot */
    else if (k == 1)
      q = 0.55f; /* confirmed now, over 0.5: early */
    else if (k == 2)
      q = 0.65f; /* only 0.1 better */
    else if (k < 12)
      q = 0.75f; /* 0.2 better but too soon until t = 1.1 */
    else if (k < 25)
      q = 0.8f; /* less than delta over 0.75 */
    else
      q = 0.95f; /* 0.2 over 0.75, 1.4 s later */
    argus_track_det d = det_at(400, 300, 100, 0.9f, q, NULL);
    CHECK_OK(argus_track_update(tr, t, &d, 1, &res));
    if (k == 0)
      CHECK(res.assign[0].flags & ARGUS_TRACK_F_BEST);
    if (k == 1)
      CHECK(!(res.assign[0].flags & ARGUS_TRACK_F_BEST));
    for (int r = 0; r < res.nrequests; r++) {
      CHECK_INT_EQ(res.requests[r].det, 0);
      CHECK_INT_EQ(res.requests[r].track_id, 1);
      if (res.requests[r].reason == ARGUS_TRACK_REQ_EARLY) {
        CHECK_INT_EQ(early_at, -1);
        early_at = k;
        CHECK_NEAR(res.requests[r].quality, 0.55, 1e-6, 0);
      } else if (nbetter < 4) {
        better_at[nbetter++] = k;
      }
    }
  }
  CHECK_INT_EQ(early_at, 1);
  CHECK_INT_EQ(nbetter, 2);
  if (nbetter == 2) {
    CHECK_INT_EQ(better_at[0], 11);
    CHECK_INT_EQ(better_at[1], 25);
  }
  argus_track_stats st;
  CHECK_OK(argus_track_get_stats(tr, &st));
  CHECK_INT_EQ(st.requests_early, 1);
  CHECK_INT_EQ(st.requests_better, 2);
  /* The best shot (0.95 at 2.5 s) was requested: nothing to do at the end. */
  CHECK_OK(argus_track_flush(tr, 3.1, &res));
  CHECK_INT_EQ(res.nended, 1);
  CHECK_INT_EQ(res.ended[0].best_requested, 1);
  CHECK_INT_EQ(res.ended[0].match_best, 0);
  CHECK_NEAR(res.ended[0].best_time, 2.5, 1e-12, 0);
  CHECK_INT_EQ(res.ended[0].nrequests, 3);
  argus_track_destroy(tr);
}

/* With shot buffers, the best shot is searched even when it came before
 * the track was confirmed, or while a re-match had to wait for the
 * interval. */
static void test_policy_stored_shots(void) {
  argus_tracker *tr = make_tracker(0, sizeof(int));
  argus_track_result res;
  /* quality per frame (10 fps): 0.7 while tentative, then 0.3: the early
   * request is frame 0's stored shot, at frame 1. Later 0.95 at 0.5 s comes
   * too soon after it (interval 1 s) and is searched at 1.1 s, the first
   * matched frame after the interval, from the buffer. */
  static const float q[] = {0.7f, 0.3f, 0.3f, 0.3f, 0.3f, 0.95f, 0.6f,
                            0.6f, 0.6f, 0.6f, 0.6f, 0.6f, 0.6f,  0.6f};
  int nq = (int)(sizeof q / sizeof q[0]);
  int seen = 0;
  for (int k = 0; k < nq; k++) {
    argus_track_det d = det_at(400, 300, 100, 0.9f, q[k], NULL);
    CHECK_OK(argus_track_update(tr, k / 10.0, &d, 1, &res));
    if (res.assign[0].flags & ARGUS_TRACK_F_BEST)
      memcpy(res.assign[0].shot, &k, sizeof k);
    for (int r = 0; r < res.nrequests; r++) {
      const argus_track_request *rq = &res.requests[r];
      int frame = -1;
      CHECK(rq->det == -1);
      CHECK(rq->shot != NULL);
      if (rq->shot)
        memcpy(&frame, rq->shot, sizeof frame);
      if (seen == 0) {
        CHECK_INT_EQ(k, 1);
        CHECK_INT_EQ(rq->reason, ARGUS_TRACK_REQ_EARLY);
        CHECK_INT_EQ(frame, 0);
        CHECK_NEAR(rq->quality, 0.7, 1e-6, 0);
        CHECK_NEAR(rq->time, 0, 0, 0);
      } else {
        CHECK_INT_EQ(seen, 1);
        CHECK_INT_EQ(k, 11);
        CHECK_INT_EQ(rq->reason, ARGUS_TRACK_REQ_BETTER);
        CHECK_INT_EQ(frame, 5);
        CHECK_NEAR(rq->quality, 0.95, 1e-6, 0);
        CHECK_NEAR(rq->time, 0.5, 0, 0);
      }
      seen++;
    }
  }
  CHECK_INT_EQ(seen, 2);
  /* Both best shots were searched: nothing left for the end. */
  CHECK_OK(argus_track_flush(tr, 2, &res));
  CHECK_INT_EQ(res.nended, 1);
  CHECK_INT_EQ(res.ended[0].match_best, 0);
  CHECK_INT_EQ(res.ended[0].best_requested, 1);
  argus_track_destroy(tr);
}

/* max_requests and reject_flags. (stop_after_match went with the match
 * bookkeeping to src/match: the edge no longer learns of matches.) */
static void test_policy_options(void) {
  for (int variant = 0; variant < 3; variant++) {
    argus_track_config cfg;
    argus_track_config_default(&cfg);
    cfg.policy.better_interval = 0;
    cfg.policy.better_delta = 0.005f;
    cfg.policy.max_requests = 0;
    if (variant == 0)
      cfg.policy.max_requests = 3;
    if (variant == 1)
      continue;
    if (variant == 2)
      cfg.policy.reject_flags = ARGUS_FACE_Q_PROFILE;
    argus_tracker *tr = NULL;
    CHECK_OK(argus_track_create(&cfg, &tr, NULL));
    argus_track_result res;
    int nreq = 0;
    for (int k = 0; k < 40; k++) {
      argus_track_det d = det_at(400, 300, 100, 0.9f, 0.5f + 0.01f * k, NULL);
      if (variant == 2 && k < 20)
        d.quality_flags = ARGUS_FACE_Q_PROFILE;
      CHECK_OK(argus_track_update(tr, k / 10.0, &d, 1, &res));
      if (variant == 2 && k < 20)
        CHECK_INT_EQ(res.nrequests, 0);
      if (variant == 2 && k == 20)
        CHECK_INT_EQ(count_reason(&res, ARGUS_TRACK_REQ_EARLY), 1);
      nreq += res.nrequests;
    }
    if (variant == 0)
      CHECK_INT_EQ(nreq, 3);
    if (variant == 2)
      CHECK_INT_EQ(nreq, 20); /* frames 20 .. 39 */
    argus_track_destroy(tr);
  }
}

/* One alert per person per track and the cooldown per person per camera
 * are the matcher's now: tests/test_match.c. */

/* Best shot at the end: the shot buffer holds what the caller stored for
 * the best shot; match_best only for a confirmed, unmatched track whose
 * best shot was not searched and clears the lower bar. */
static void test_best_shot_at_end(void) {
  argus_tracker *tr = make_tracker(0, 2 * sizeof(float));
  argus_track_result res;
  /* Four faces far apart with quality profiles:
   *   0: up to 0.4 (never over 0.5): match_best
   *   1: up to 0.2 (under the end bar 0.3): nothing
   *   2: 0.6 from the start, matched: nothing
   *   3: 0.6 from the start, requested, no match (best requested): nothing */
  for (int k = 0; k < 10; k++) {
    double t = k / 10.0;
    argus_track_det d[4];
    float q0 = k == 4 ? 0.4f : 0.35f - 0.01f * k;
    float q1 = k == 6 ? 0.2f : 0.1f;
    float q3 = k == 0 ? 0.5f : 0.6f;
    d[0] = det_at(100, 100, 80, 0.9f, q0, NULL);
    d[1] = det_at(400, 100, 80, 0.9f, q1, NULL);
    d[2] = det_at(100, 400, 80, 0.9f, 0.6f, NULL);
    d[3] = det_at(400, 400, 80, 0.9f, q3, NULL);
    CHECK_OK(argus_track_update(tr, t, d, 4, &res));
    for (int j = 0; j < 4; j++) {
      const argus_track_assignment *a = &res.assign[j];
      if (a->flags & ARGUS_TRACK_F_BEST) {
        CHECK(a->shot != NULL);
        float rec[2] = {(float)t, d[j].quality};
        memcpy(a->shot, rec, sizeof rec);
      } else {
        CHECK(a->shot == NULL);
      }
    }
    for (int r = 0; r < res.nrequests; r++) {
      const argus_track_request *q = &res.requests[r];
      CHECK_INT_EQ(q->reason, ARGUS_TRACK_REQ_EARLY);
      CHECK_INT_EQ(k, 1);
      /* Face 3 is best now; face 2's best (0.6, not improved on) came while
       * tentative: its stored shot is requested. */
      if (q->track_id == 4) {
        CHECK_INT_EQ(q->det, 3);
        CHECK(q->shot == NULL);
        CHECK_NEAR(q->time, 0.1, 0, 0);
      } else {
        CHECK_INT_EQ(q->track_id, 3);
        CHECK_INT_EQ(q->det, -1);
        CHECK(q->shot == res.assign[2].shot || res.assign[2].shot == NULL);
        CHECK(q->shot != NULL);
        CHECK_NEAR(q->time, 0, 0, 0);
        float rec[2] = {-1, -1};
        if (q->shot)
          memcpy(rec, q->shot, sizeof rec);
        CHECK_NEAR(rec[0], 0, 0, 0);
        CHECK_NEAR(rec[1], 0.6, 1e-6, 0);
      }
    }
  }
  int seen = 0;
  for (int k = 10; k <= 30 && !seen; k++) {
    CHECK_OK(argus_track_update(tr, k / 10.0, NULL, 0, &res));
    if (!res.nended)
      continue;
    seen = 1;
    CHECK_INT_EQ(res.nended, 4);
    for (int e = 0; e < res.nended; e++) {
      const argus_track_end *ev = &res.ended[e];
      float rec[2];
      CHECK(ev->shot != NULL);
      memcpy(rec, ev->shot, sizeof rec);
      CHECK_NEAR(rec[0], ev->best_time, 1e-6, 0);
      CHECK_NEAR(rec[1], ev->best_quality, 0, 0);
      switch (ev->track_id) {
      case 1:
        CHECK_INT_EQ(ev->match_best, 1);
        CHECK_NEAR(ev->best_quality, 0.4, 1e-6, 0);
        CHECK_NEAR(ev->best_time, 0.4, 1e-9, 0);
        CHECK_INT_EQ(ev->nrequests, 0);
        break;
      case 2:
        CHECK_INT_EQ(ev->match_best, 0);
        CHECK_NEAR(ev->best_quality, 0.2, 1e-6, 0);
        break;
      case 3:
        CHECK_INT_EQ(ev->match_best, 0);
        CHECK_INT_EQ(ev->best_requested, 1);
        break;
      case 4:
        CHECK_INT_EQ(ev->match_best, 0);
        CHECK_INT_EQ(ev->best_requested, 1);
        break;
      default:
        CHECK(0);
      }
    }
  }
  CHECK(seen);
  argus_track_stats st;
  CHECK_OK(argus_track_get_stats(tr, &st));
  CHECK_INT_EQ(st.end_matches, 1);
  /* After a search that found nobody: a best shot only a little better is
   * not searched again at the end (face A: 0.55 searched, best 0.6), a
   * clearly better one is (face B: 0.55 searched, 0.75 came too soon for a
   * re-match). */
  argus_tracker *tr3 = make_tracker(0, 0);
  static const float qa[] = {0.4f, 0.55f, 0.6f, 0.6f};
  static const float qb[] = {0.4f, 0.55f, 0.75f, 0.6f};
  for (int k = 0; k < 4; k++) {
    argus_track_det two[2] = {det_at(100, 100, 80, 0.9f, qa[k], NULL),
                              det_at(500, 100, 80, 0.9f, qb[k], NULL)};
    CHECK_OK(argus_track_update(tr3, k / 10.0, two, 2, &res));
    CHECK_INT_EQ(res.nrequests, k == 1 ? 2 : 0);
  }
  CHECK_OK(argus_track_flush(tr3, 1, &res));
  CHECK_INT_EQ(res.nended, 2);
  for (int e = 0; e < res.nended; e++) {
    CHECK_INT_EQ(res.ended[e].nrequests, 1);
    CHECK_INT_EQ(res.ended[e].match_best, res.ended[e].track_id == 2);
  }
  argus_track_destroy(tr3);

  /* Off when end_min_quality < 0. */
  argus_track_config cfg;
  argus_track_config_default(&cfg);
  cfg.policy.end_min_quality = -1;
  argus_tracker *tr2 = NULL;
  CHECK_OK(argus_track_create(&cfg, &tr2, NULL));
  argus_track_det d = det_at(100, 100, 80, 0.9f, 0.45f, NULL);
  CHECK_OK(argus_track_update(tr2, 0, &d, 1, &res));
  CHECK_OK(argus_track_update(tr2, 0.1, &d, 1, &res));
  CHECK_OK(argus_track_flush(tr2, 0.2, &res));
  CHECK_INT_EQ(res.nended, 1);
  CHECK_INT_EQ(res.ended[0].match_best, 0);
  CHECK(res.ended[0].shot == NULL);
  argus_track_destroy(tr2);
  argus_track_destroy(tr);
}

/* ---- capacity ----------------------------------------------------------- */

static void test_capacity(void) {
  argus_track_config cfg;
  argus_track_config_default(&cfg);
  cfg.capacity = 4;
  cfg.max_detections = 8;
  cfg.shot_bytes = 8;
  argus_tracker *tr = NULL;
  CHECK_OK(argus_track_create(&cfg, &tr, NULL));
  argus_track_result res;
  argus_track_det f[8];
  for (int i = 0; i < 8; i++)
    f[i] = det_at(100 + 200 * i, 300, 80, 0.9f - 0.01f * i, 0.2f, NULL);
  CHECK_OK(argus_track_update(tr, 0, f, 4, &res));
  CHECK_OK(argus_track_update(tr, 0.1, f, 5, &res));
  /* Full of tracks all matched in this update: the fifth face is dropped. */
  CHECK_INT_EQ(res.assign[4].track_id, 0);
  CHECK_INT_EQ(res.dropped, 1);
  CHECK_INT_EQ(res.evicted, 0);
  /* Track 4 not seen, a new face: track 4 (the only unmatched one) makes
   * room; its end event comes with this update. */
  argus_track_det g[4] = {f[0], f[1], f[2], f[5]};
  CHECK_OK(argus_track_update(tr, 0.2, g, 4, &res));
  CHECK_INT_EQ(res.evicted, 1);
  CHECK_INT_EQ(res.nended, 1);
  CHECK_INT_EQ(res.ended[0].track_id, 4);
  CHECK_INT_EQ(res.ended[0].reason, ARGUS_TRACK_END_EVICTED);
  CHECK_INT_EQ(res.ended[0].confirmed, 1);
  CHECK_INT_EQ(res.assign[3].track_id, 5);
  /* The new track's shot buffer is not the evicted one's. */
  CHECK(res.assign[3].shot != NULL);
  CHECK(res.assign[3].shot != res.ended[0].shot);
  /* Now track 3 (confirmed) and track 5 (tentative) are unmatched: the
   * tentative one goes first. */
  argus_track_det h[3] = {f[0], f[1], f[6]};
  CHECK_OK(argus_track_update(tr, 0.3, h, 3, &res));
  CHECK_INT_EQ(res.nended, 1);
  CHECK_INT_EQ(res.ended[0].track_id, 5);
  CHECK_INT_EQ(res.ended[0].confirmed, 0);
  CHECK_INT_EQ(res.assign[2].track_id, 6);
  /* Two new faces, two victims among the unmatched tracks 3 (confirmed,
   * lost 0.2 s) and 6 (tentative): the tentative one first. */
  argus_track_det m[4] = {f[0], f[1], f[3], f[7]};
  CHECK_OK(argus_track_update(tr, 0.4, m, 4, &res));
  CHECK_INT_EQ(res.evicted, 2);
  CHECK_INT_EQ(res.nended, 2);
  CHECK_INT_EQ(res.ended[0].track_id, 6);
  CHECK_INT_EQ(res.ended[1].track_id, 3);
  /* Highest score first gets a track: f[3] (0.87) before f[7] (0.83). */
  CHECK_INT_EQ(res.assign[2].track_id, 7);
  CHECK_INT_EQ(res.assign[3].track_id, 8);
  argus_track_stats st;
  CHECK_OK(argus_track_get_stats(tr, &st));
  CHECK_INT_EQ(st.live, 4);
  CHECK_INT_EQ(st.evicted, 4);
  CHECK_INT_EQ(st.dropped, 1);
  CHECK_INT_EQ(st.created, 8);
  uint64_t ids[8];
  int n = 0;
  CHECK_OK(argus_track_list(tr, ids, 8, &n));
  CHECK_INT_EQ(n, 4);
  if (n == 4) {
    CHECK_INT_EQ(ids[0], 1);
    CHECK_INT_EQ(ids[1], 2);
    CHECK_INT_EQ(ids[2], 7);
    CHECK_INT_EQ(ids[3], 8);
  }
  /* Too many detections for the configuration. */
  argus_track_det many[9];
  for (int i = 0; i < 9; i++)
    many[i] = f[i % 8];
  CHECK_INT_EQ(argus_track_update(tr, 0.5, many, 9, &res), ARGUS_E_LIMIT);
  argus_track_destroy(tr);
}

/* ---- bad input ---------------------------------------------------------- */

static void test_invalid_input(void) {
  argus_tracker *tr = make_tracker(0, 0);
  argus_track_result res;
  argus_track_det d = det_at(300, 300, 100, 0.9f, 0.5f, NULL);
  CHECK_OK(argus_track_update(tr, 1.0, &d, 1, &res));
  argus_track_stats before, after;
  CHECK_OK(argus_track_get_stats(tr, &before));

  argus_track_det bad[8];
  int nbad = 0;
  bad[nbad] = d;
  bad[nbad++].box[0] = NAN;
  bad[nbad] = d;
  bad[nbad++].box[3] = INFINITY;
  bad[nbad] = d;
  bad[nbad].box[2] = bad[nbad].box[0] - 10; /* negative width */
  nbad++;
  bad[nbad] = d;
  bad[nbad].box[3] = bad[nbad].box[1]; /* zero height */
  nbad++;
  bad[nbad] = d;
  bad[nbad++].score = NAN;
  bad[nbad] = d;
  bad[nbad++].quality = 1.5f;
  bad[nbad] = d;
  bad[nbad++].quality = NAN;
  static const float emb[4] = {1, 0, 0, 0};
  bad[nbad] = d;
  bad[nbad++].embedding = emb; /* embed_dim is 0 */
  for (int i = 0; i < nbad; i++) {
    /* The bad one second: nothing of the first applies either. */
    argus_track_det two[2] = {d, bad[i]};
    CHECK_INT_EQ(argus_track_update(tr, 1.1, two, 2, &res),
                 ARGUS_E_INVALID_ARG);
    /* The reason names the detection. */
    CHECK(strstr(argus_track_last_error(tr), "detection 1") != NULL);
  }
  CHECK(strstr(argus_track_last_error(tr), "embed_dim 0") != NULL);
  CHECK_INT_EQ(argus_track_update(tr, NAN, &d, 1, &res), ARGUS_E_INVALID_ARG);
  CHECK_INT_EQ(argus_track_update(tr, INFINITY, &d, 1, &res),
               ARGUS_E_INVALID_ARG);
  CHECK_INT_EQ(argus_track_update(tr, 0.9, &d, 1, &res), ARGUS_E_INVALID_ARG);
  CHECK(strstr(argus_track_last_error(tr), "before the last update") != NULL);
  CHECK(strcmp(argus_track_last_error(NULL), "") == 0);
  CHECK_INT_EQ(argus_track_update(tr, 1.1, NULL, 1, &res), ARGUS_E_INVALID_ARG);
  CHECK_INT_EQ(argus_track_update(tr, 1.1, &d, -1, &res), ARGUS_E_INVALID_ARG);
  CHECK_INT_EQ(argus_track_update(tr, 1.1, &d, 1, NULL), ARGUS_E_INVALID_ARG);
  CHECK_INT_EQ(argus_track_update(NULL, 1.1, &d, 1, &res), ARGUS_E_INVALID_ARG);
  unsigned char need[1];
  CHECK_INT_EQ(argus_track_needs_embedding(tr, 1.1, bad, 1, need),
               ARGUS_E_INVALID_ARG);
  CHECK_INT_EQ(argus_track_needs_embedding(tr, 1.1, &d, 1, NULL),
               ARGUS_E_INVALID_ARG);
  CHECK_INT_EQ(argus_track_set_embedding(tr, 1, emb), ARGUS_E_INVALID_ARG);
  CHECK_INT_EQ(argus_track_get(tr, 1, NULL), ARGUS_E_INVALID_ARG);
  CHECK_INT_EQ(argus_track_list(tr, NULL, 4, &(int){0}), ARGUS_E_INVALID_ARG);
  CHECK_INT_EQ(argus_track_get_stats(tr, NULL), ARGUS_E_INVALID_ARG);
  CHECK_INT_EQ(argus_track_flush(tr, NAN, &res), ARGUS_E_INVALID_ARG);

  CHECK_OK(argus_track_get_stats(tr, &after));
  CHECK_INT_EQ(after.updates, before.updates);
  CHECK_INT_EQ(after.created, before.created);
  CHECK_NEAR(after.time, 1.0, 0, 0);
  argus_track_info info;
  CHECK_OK(argus_track_get(tr, 1, &info));
  CHECK_INT_EQ(info.hits, 1);
  /* Same time again is fine (dt = 0). */
  CHECK_OK(argus_track_update(tr, 1.0, &d, 1, &res));
  CHECK_INT_EQ(res.assign[0].track_id, 1);
  argus_track_destroy(tr);

  /* Embeddings: non-finite or zero length. */
  tr = make_tracker(4, 0);
  float nan_emb[4] = {1, NAN, 0, 0}, zero[4] = {0, 0, 0, 0};
  argus_track_det e = d;
  e.embedding = nan_emb;
  CHECK_INT_EQ(argus_track_update(tr, 0, &e, 1, &res), ARGUS_E_INVALID_ARG);
  e.embedding = zero;
  CHECK_INT_EQ(argus_track_update(tr, 0, &e, 1, &res), ARGUS_E_INVALID_ARG);
  e.embedding = emb;
  CHECK_OK(argus_track_update(tr, 0, &e, 1, &res));
  CHECK_INT_EQ(argus_track_set_embedding(tr, 1, nan_emb), ARGUS_E_INVALID_ARG);
  CHECK_OK(argus_track_set_embedding(tr, 1, emb));
  CHECK_INT_EQ(argus_track_set_embedding(tr, 1, NULL), ARGUS_E_INVALID_ARG);
  argus_track_destroy(tr);
}

/* ---- stress ------------------------------------------------------------- */

/* Random crowds (overlaps, births, deaths, embeddings on some faces,
 * requests and reports) on a small tracker: invariants hold on every
 * update, and the whole run is a pure function of its input. */
static uint64_t stress_run(uint64_t seed, int check_alloc) {
  rng_state = seed;
  argus_track_config cfg;
  argus_track_config_default(&cfg);
  cfg.capacity = 16;
  cfg.max_detections = 24;
  cfg.embed_dim = 8;
  cfg.shot_bytes = 4;
  argus_tracker *tr = NULL;
  CHECK_OK(argus_track_create(&cfg, &tr, NULL));
  if (!tr)
    return 0;
  uint64_t hash = 1469598103934665603ull;
#define MIX_(v)                                                                \
  do {                                                                         \
    hash ^= (uint64_t)(v);                                                     \
    hash *= 1099511628211ull;                                                  \
  } while (0)
  enum { NF = 30 };
  double fx[NF], fy[NF], vx[NF], vy[NF];
  int alive[NF];
  float emb[24][8];
  for (int f = 0; f < NF; f++) {
    fx[f] = runif() * 1600;
    fy[f] = runif() * 900;
    vx[f] = (runif() - 0.5) * 300;
    vy[f] = (runif() - 0.5) * 100;
    alive[f] = runif() < 0.5;
  }
  uint64_t max_id = 0;
  int bad = 0, nstored = 0;
#ifdef __GLIBC__
  size_t heap0 = 0;
#endif
  for (int k = 0; k < 1500; k++) {
    double t = k / 5.0;
#ifdef __GLIBC__
    if (check_alloc && k == 100)
      heap0 = mallinfo2().uordblks;
#endif
    argus_track_det d[24];
    int n = 0;
    for (int f = 0; f < NF; f++) {
      if (runif() < 0.01)
        alive[f] = !alive[f];
      fx[f] += vx[f] / 5;
      fy[f] += vy[f] / 5;
      if (fx[f] < 0 || fx[f] > 1600)
        vx[f] = -vx[f];
      if (fy[f] < 0 || fy[f] > 900)
        vy[f] = -vy[f];
      if (!alive[f] || n == 24 || runif() < 0.1)
        continue;
      const float *e = NULL;
      if (runif() < 0.5) {
        for (int i = 0; i < 8; i++)
          emb[n][i] = (float)(sin(f * 1.3 + i) + 0.2 * gauss());
        e = emb[n];
      }
      d[n] = det_at(fx[f], fy[f], 60 + 5 * (f % 7), (float)runif(),
                    (float)runif(), e);
      n++;
    }
    unsigned char need[24];
    CHECK_OK(argus_track_needs_embedding(tr, t, d, n, need));
    argus_track_result res;
    argus_err err = argus_track_update(tr, t, d, n, &res);
    CHECK_OK(err);
    if (err)
      break;
    /* Ids in one frame are distinct; new tracks take the next ids. */
    uint64_t prev_max = max_id;
    int nnew = 0;
    for (int j = 0; j < n; j++) {
      uint64_t id = res.assign[j].track_id;
      MIX_(id);
      MIX_(res.assign[j].flags);
      if (id == 0)
        continue;
      if (res.assign[j].flags & ARGUS_TRACK_F_NEW) {
        nnew++;
        if (id <= prev_max)
          bad++;
      } else if (id > prev_max) {
        bad++;
      }
      if (id > max_id)
        max_id = id;
      for (int i = 0; i < j; i++)
        if (res.assign[i].track_id == id)
          bad++;
      if (res.assign[j].shot)
        memcpy(res.assign[j].shot, &k, sizeof k);
    }
    if (max_id != prev_max + (uint64_t)nnew)
      bad++;
    for (int r = 0; r < res.nrequests; r++) {
      const argus_track_request *q = &res.requests[r];
      if (q->det == -1) {
        /* A stored shot of a track matched in this frame. */
        int found = 0;
        for (int j = 0; j < n; j++)
          found += res.assign[j].track_id == q->track_id &&
                   res.assign[j].state == ARGUS_TRACK_CONFIRMED;
        if (found != 1 || !q->shot || !(q->time < t))
          bad++;
        nstored++;
      } else if (q->det < 0 || q->det >= n ||
                 res.assign[q->det].track_id != q->track_id ||
                 res.assign[q->det].state != ARGUS_TRACK_CONFIRMED || q->shot ||
                 q->time != t) {
        bad++;
      }
      for (int i = 0; i < r; i++)
        if (res.requests[i].track_id == q->track_id)
          bad++;
      MIX_(q->track_id);
      MIX_(q->reason);
    }
    argus_track_info info;
    for (int e = 0; e < res.nended; e++) {
      MIX_(res.ended[e].track_id);
      MIX_(res.ended[e].reason);
      MIX_(res.ended[e].match_best);
      if (argus_track_get(tr, res.ended[e].track_id, &info) !=
          ARGUS_E_NOT_FOUND)
        bad++;
    }
    argus_track_stats st;
    CHECK_OK(argus_track_get_stats(tr, &st));
    if (st.live > cfg.capacity || st.live < 0)
      bad++;
  }
#ifdef __GLIBC__
  if (check_alloc) {
    size_t heap1 = mallinfo2().uordblks;
    CHECK_INT_EQ(heap1, heap0);
  }
#endif
  argus_track_stats st;
  CHECK_OK(argus_track_get_stats(tr, &st));
  CHECK(st.evicted > 0 || st.dropped > 0); /* the capacity was exercised */
  CHECK(st.reid > 0);
  CHECK(st.ended > 10);
  CHECK(nstored > 0);
  CHECK_INT_EQ(bad, 0);
  MIX_(st.created);
  MIX_(st.ended);
#undef MIX_
  argus_track_destroy(tr);
  return hash;
}

static void test_stress(void) {
  uint64_t a = stress_run(12345, 1);
  uint64_t b = stress_run(12345, 0);
  CHECK(a == b);
  CHECK(a != 0);
}

int main(void) {
  /* Bad-input tests log on purpose; keep the output for failures. */
  argus_log_set_level(ARGUS_LOG_ERROR);
  test_config();
  test_det_from_face();
  test_single_track();
  test_jitter_and_misses();
  test_crossing();
  test_occlusion();
  test_fast_walkers();
  test_exit_and_enter();
  test_search_after();
  test_needs_ambiguous();
  test_timeout();
  test_policy_requests();
  test_policy_stored_shots();
  test_policy_options();
  test_best_shot_at_end();
  test_capacity();
  test_invalid_input();
  test_stress();
  return check_report("test_track");
}
