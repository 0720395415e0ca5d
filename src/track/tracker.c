/* The multi-face tracker of one camera: track slots, association, track life
 * and the results of an update. See include/argus/track.h and
 * docs/track.md.
 *
 * One file of about a thousand lines on purpose: the association passes,
 * track life and the result arrays share the tracker's scratch memory and
 * invariants (positions, parking, eviction order), which read best side by
 * side; the Kalman filter (kalman.c) and the search policy (policy.c) are
 * apart because they stand alone. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "argus/track.h"
#include "track/track_internal.h"

/* Logs why a call failed and keeps it as the tracker's last error (tr may
 * be NULL: then only the log). */
#define trk_note(tr, ...)                                                      \
  argus_error_fail((tr) ? &(tr)->last_err : NULL, ARGUS_OK, ARGUS_LOG_WARN,     \
                   TRACK_MOD, __VA_ARGS__)

typedef struct trk {
  uint64_t id;
  argus_track_state state;
  double first_time, last_time;
  int hits;
  float box[4];
  trk_motion motion;
  int has_app;
  trk_policy_state pol;
} trk;

/* A candidate association: live position `pos`, detection `det`. */
typedef struct trk_pair {
  float aff;
  int pos, det;
} trk_pair;

struct argus_tracker {
  argus_track_config cfg;
  argus_error_detail last_err; /* the last call's reason for failing */
  int nslots; /* capacity + max_detections: see park() */
  trk *slots;
  float *app;           /* nslots * embed_dim: appearance per slot */
  unsigned char *shots; /* nslots * shot_bytes */
  int *free_slots, nfree;
  int *live, nlive;     /* slots of live tracks, oldest first */
  int *parked, nparked; /* ended in the last call: kept until the next */
  uint64_t next_id;
  double time; /* NaN before the first update */

  /* Scratch, sized at creation. */
  float (*pred)[4]; /* per live position */
  int *pos_det;     /* per live position: matched detection or -1 */
  unsigned char *pos_reid;
  int *cnt_pos;    /* per live position: IoU candidates (needs_embedding) */
  trk_pair *pairs; /* capacity * max_detections */
  int *det_pos;    /* per detection: live position or -1 */
  int *det_cnt;
  float *det_inv; /* per detection: 1 / |embedding| (0: none) */
  int *order;     /* detections by decreasing score */
  unsigned char *det_new, *det_reid;

  argus_track_assignment *assign;
  argus_track_request *req;
  int nreq;
  argus_track_end *ended;
  int nended;

  argus_track_stats st;
};

/* ---- configuration ------------------------------------------------------ */

void argus_track_config_default(argus_track_config *cfg) {
  if (!cfg)
    return;
  memset(cfg, 0, sizeof *cfg);
  cfg->capacity = 256;
  cfg->max_detections = 128;
  cfg->embed_dim = 0;
  cfg->shot_bytes = 0;
  cfg->confirm_hits = 2;
  cfg->max_lost = 1.5;
  cfg->tentative_max_lost = 0.5;
  cfg->max_coast = 0.5;
  cfg->measure_noise = 0.05f;
  cfg->accel_noise = 4.0f;
  cfg->max_speed = 10.0f;
  cfg->iou_gate = 0.3f;
  cfg->distance_gate = 3.0f;
  cfg->size_ratio = 0.67f;
  cfg->distance_max_gap = 0.5;
  cfg->appearance_weight = 0.5f;
  cfg->appearance_veto = 0.2f;
  cfg->reid_similarity = 0.5f;
  cfg->appearance_alpha = 0.3f;
  argus_track_policy *p = &cfg->policy;
  p->min_quality = 0.5f;
  p->better_delta = 0.15f;
  p->better_interval = 1.0;
  p->max_requests = 6;
  p->search_after = 1.0;
  p->reject_flags = 0;
  p->end_min_quality = 0.3f;
}

/* The reason of a bad configuration, for create's err. */
static argus_err bad_config_into(argus_error_detail *err, const char *name,
                                 const char *why) {
  argus_log(ARGUS_LOG_WARN, TRACK_MOD, "create: config.%s %s", name, why);
  argus_error_detail_set(err, "tracker: config.%s %s", name, why);
  return ARGUS_E_INVALID_ARG;
}

/* Checks each parameter; a NaN fails every comparison and is refused. */
static argus_err check_config(const argus_track_config *c,
                              argus_error_detail *err) {
  const argus_track_policy *p = &c->policy;
  if (!(c->capacity >= 1 && c->capacity <= ARGUS_TRACK_MAX_CAPACITY))
    return bad_config_into(err, "capacity", "must be in 1..65536");
  if (!(c->max_detections >= 1 &&
        c->max_detections <= ARGUS_TRACK_MAX_DETECTIONS))
    return bad_config_into(err, "max_detections", "must be in 1..4096");
  if (!(c->embed_dim >= 0 && c->embed_dim <= ARGUS_TRACK_MAX_DIM))
    return bad_config_into(err, "embed_dim", "must be in 0..4096");
  if (c->shot_bytes > ARGUS_TRACK_MAX_SHOT_BYTES)
    return bad_config_into(err, "shot_bytes", "must be at most 16 MiB");
  if (!(c->confirm_hits >= 1 && c->confirm_hits <= 1000))
    return bad_config_into(err, "confirm_hits", "must be in 1..1000");
  if (!(c->max_lost >= 0 && c->max_lost <= 1e6))
    return bad_config_into(err, "max_lost", "must be a number of seconds >= 0");
  if (!(c->tentative_max_lost >= 0 && c->tentative_max_lost <= 1e6))
    return bad_config_into(err, "tentative_max_lost", "must be a number of seconds >= 0");
  if (!(c->max_coast >= 0 && c->max_coast <= 1e6))
    return bad_config_into(err, "max_coast", "must be a number of seconds >= 0");
  if (!(c->measure_noise > 0 && c->measure_noise <= 100))
    return bad_config_into(err, "measure_noise", "must be in (0, 100]");
  if (!(c->accel_noise > 0 && c->accel_noise <= 1e4))
    return bad_config_into(err, "accel_noise", "must be in (0, 10000]");
  if (!(c->max_speed > 0 && c->max_speed <= 1e4))
    return bad_config_into(err, "max_speed", "must be in (0, 10000]");
  if (!(c->distance_gate >= 0 && c->distance_gate <= 100))
    return bad_config_into(err, "distance_gate", "must be in [0, 100]");
  if (!(c->size_ratio > 0 && c->size_ratio <= 1))
    return bad_config_into(err, "size_ratio", "must be in (0, 1]");
  if (!(c->distance_max_gap >= 0 && c->distance_max_gap <= 1e6))
    return bad_config_into(err, "distance_max_gap",
                           "must be a number of seconds >= 0");
  if (!(c->policy.search_after <= 1e6))
    return bad_config_into(err, "policy.search_after",
                           "must be a number of seconds (negative: off)");
  if (!(c->iou_gate > 0 && c->iou_gate <= 1))
    return bad_config_into(err, "iou_gate", "must be in (0, 1]");
  if (!(c->appearance_weight >= 0 && c->appearance_weight <= 100))
    return bad_config_into(err, "appearance_weight", "must be in [0, 100]");
  if (!(c->appearance_veto >= -1 && c->appearance_veto <= 1))
    return bad_config_into(err, "appearance_veto", "must be in [-1, 1]");
  if (!(c->reid_similarity >= -1 && c->reid_similarity <= 1))
    return bad_config_into(err, "reid_similarity", "must be in [-1, 1]");
  if (!(c->appearance_alpha > 0 && c->appearance_alpha <= 1))
    return bad_config_into(err, "appearance_alpha", "must be in (0, 1]");
  if (!(p->min_quality >= 0 && p->min_quality <= 1))
    return bad_config_into(err, "policy.min_quality", "must be in [0, 1]");
  if (!(p->better_delta >= 0 && p->better_delta <= 1))
    return bad_config_into(err, "policy.better_delta", "must be in [0, 1]");
  if (!(p->better_interval >= 0 && p->better_interval <= 1e6))
    return bad_config_into(err, "policy.better_interval",
                      "must be a number of seconds >= 0");
  if (p->max_requests < 0)
    return bad_config_into(err, "policy.max_requests", "must be >= 0");
  if (!(p->end_min_quality <= 1))
    return bad_config_into(err, "policy.end_min_quality",
                      "must be at most 1 (negative: off)");
  return ARGUS_OK;
}

/* ---- creation ----------------------------------------------------------- */

argus_err argus_track_create(const argus_track_config *cfg,
                             argus_tracker **out, argus_error_detail *err_out) {
  argus_err err = ARGUS_OK;
  argus_track_config def;
  if (!out) {
    argus_log(ARGUS_LOG_WARN, TRACK_MOD, "create: out is NULL");
    argus_error_detail_set(err_out, "tracker: no output pointer");
    return ARGUS_E_INVALID_ARG;
  }
  *out = NULL;
  if (!cfg) {
    argus_track_config_default(&def);
    cfg = &def;
  }
  if ((err = check_config(cfg, err_out)) != ARGUS_OK)
    return err;

  argus_tracker *tr = calloc(1, sizeof *tr);
  if (!tr) {
    argus_error_detail_set(err_out, "tracker: out of memory");
    return ARGUS_E_NOMEM;
  }
  tr->cfg = *cfg;
  int cap = cfg->capacity, nd = cfg->max_detections;
  int ns = cap + nd;
  tr->nslots = ns;
  tr->next_id = 1;
  tr->time = NAN;
  tr->st.time = NAN;

  size_t dim = (size_t)cfg->embed_dim;
  int ok = 1;
#define ALLOC_(field, count)                                                   \
  do {                                                                         \
    tr->field = calloc((size_t)(count), sizeof *tr->field);                    \
    ok = ok && tr->field;                                                      \
  } while (0)
  ALLOC_(slots, ns);
  if (dim)
    ALLOC_(app, (size_t)ns * dim);
  if (cfg->shot_bytes)
    ALLOC_(shots, (size_t)ns * cfg->shot_bytes);
  ALLOC_(free_slots, ns);
  ALLOC_(live, cap);
  ALLOC_(parked, ns);
  ALLOC_(pred, cap);
  ALLOC_(pos_det, cap);
  ALLOC_(pos_reid, cap);
  ALLOC_(cnt_pos, cap);
  ALLOC_(pairs, (size_t)cap * nd);
  ALLOC_(det_pos, nd);
  ALLOC_(det_cnt, nd);
  ALLOC_(det_inv, nd);
  ALLOC_(order, nd);
  ALLOC_(det_new, nd);
  ALLOC_(det_reid, nd);
  ALLOC_(assign, nd);
  ALLOC_(req, nd);
  ALLOC_(ended, ns);
#undef ALLOC_
  if (!ok) {
    argus_log(ARGUS_LOG_WARN, TRACK_MOD,
              "create: out of memory for %d tracks, %d detections, "
              "dim %d, %zu-byte shots",
              cap, nd, cfg->embed_dim, cfg->shot_bytes);
    argus_error_detail_set(err_out,
                           "tracker: out of memory for %d tracks, %d "
                           "detections, dim %d, %zu-byte shots",
                           cap, nd, cfg->embed_dim, cfg->shot_bytes);
    err = ARGUS_E_NOMEM;
    goto fail;
  }
  /* Lowest slots are taken first (the free list is a stack). */
  for (int i = 0; i < ns; i++)
    tr->free_slots[i] = ns - 1 - i;
  tr->nfree = ns;
  *out = tr;
  return ARGUS_OK;

fail:
  argus_track_destroy(tr);
  return err;
}

void argus_track_destroy(argus_tracker *tr) {
  if (!tr)
    return;
  free(tr->ended);
  free(tr->req);
  free(tr->assign);
  free(tr->det_reid);
  free(tr->det_new);
  free(tr->order);
  free(tr->det_inv);
  free(tr->det_cnt);
  free(tr->det_pos);
  free(tr->pairs);
  free(tr->cnt_pos);
  free(tr->pos_reid);
  free(tr->pos_det);
  free(tr->pred);
  free(tr->parked);
  free(tr->live);
  free(tr->free_slots);
  free(tr->shots);
  free(tr->app);
  free(tr->slots);
  free(tr);
}

argus_err argus_track_det_from_face(const argus_face *face,
                                    const float *embedding,
                                    argus_track_det *out) {
  if (!face || !out) {
    argus_log(ARGUS_LOG_WARN, TRACK_MOD, "det_from_face: %s is NULL",
              !face ? "face" : "out");
    return ARGUS_E_INVALID_ARG;
  }
  memset(out, 0, sizeof *out);
  memcpy(out->box, face->box, sizeof out->box);
  out->score = face->score;
  if (face->has_quality) {
    out->quality = face->quality.value;
    out->quality_flags = face->quality.flags;
  }
  out->embedding = embedding;
  return ARGUS_OK;
}

/* ---- helpers ------------------------------------------------------------ */

static float *slot_app(argus_tracker *tr, int slot) {
  return tr->app + (size_t)slot * (size_t)tr->cfg.embed_dim;
}

static void *slot_shot(argus_tracker *tr, int slot) {
  return tr->shots ? tr->shots + (size_t)slot * tr->cfg.shot_bytes : NULL;
}

static int find_live(const argus_tracker *tr, uint64_t id) {
  for (int i = 0; i < tr->nlive; i++)
    if (tr->slots[tr->live[i]].id == id)
      return i;
  return -1;
}

static double lost_limit(const argus_tracker *tr, const trk *k) {
  return k->state == ARGUS_TRACK_CONFIRMED ? tr->cfg.max_lost
                                           : tr->cfg.tentative_max_lost;
}

static float iou(const float a[4], const float b[4]) {
  argus_face_box x = {a[0], a[1], a[2], a[3], 0};
  argus_face_box y = {b[0], b[1], b[2], b[3], 0};
  return argus_face_iou(&x, &y);
}

/* Whether detection d may be associated by motion with the track at live
 * position i (predicted box tr->pred[i]) at time t, and with what affinity:
 * the IoU when it clears iou_gate; otherwise, with the distance gate on, a
 * detection of about the predicted height whose centre is within
 * distance_gate standard deviations of the predicted one gets an affinity
 * below iou_gate (so overlapping pairs are always preferred), higher the
 * closer it is. */
static int motion_gate(const argus_tracker *tr, int i, double t,
                       const argus_track_det *d, float *aff) {
  const argus_track_config *c = &tr->cfg;
  const float *p = tr->pred[i];
  float u = iou(p, d->box);
  if (u >= c->iou_gate) {
    *aff = u;
    return 1;
  }
  if (!(c->distance_gate > 0))
    return 0;
  double ph = (double)p[3] - p[1], dh = (double)d->box[3] - d->box[1];
  double lo = ph < dh ? ph : dh, hi = ph < dh ? dh : ph;
  if (!(lo >= (double)c->size_ratio * hi))
    return 0;
  const trk *k = &tr->slots[tr->live[i]];
  double var[2];
  double dt = t - k->last_time;
  /* Only for a track matched in the previous update: a face missed even
   * once may have left, and the one now at that edge is someone else. */
  if (!(dt <= c->distance_max_gap) || k->last_time < tr->time)
    return 0;
  /* Like the predicted centre, the uncertainty grows over at most
   * max_coast: a face lost for longer is found again by appearance, not
   * anywhere near its last path. */
  trk_motion_gate_var(&k->motion, dt < c->max_coast ? dt : c->max_coast,
                      c->measure_noise, c->accel_noise, var);
  double dx = 0.5 * ((double)d->box[0] + d->box[2] - p[0] - p[2]);
  double dy = 0.5 * ((double)d->box[1] + d->box[3] - p[1] - p[3]);
  double d2 = dx * dx / var[0] + dy * dy / var[1];
  double g2 = (double)c->distance_gate * c->distance_gate;
  if (!(d2 <= g2))
    return 0;
  *aff = 0.5f * (u + c->iou_gate * (float)(1.0 - d2 / g2));
  return 1;
}

/* Similarity of a slot's appearance (unit length) with detection j. */
static float app_sim(argus_tracker *tr, int slot, const argus_track_det *d,
                     int j) {
  const float *a = slot_app(tr, slot);
  double s = 0;
  for (int i = 0; i < tr->cfg.embed_dim; i++)
    s += (double)a[i] * d->embedding[i];
  return (float)(s * tr->det_inv[j]);
}

static void app_update(argus_tracker *tr, int slot, const float *emb, float inv,
                       int replace) {
  float *a = slot_app(tr, slot);
  int dim = tr->cfg.embed_dim;
  trk *k = &tr->slots[slot];
  float al = tr->cfg.appearance_alpha;
  double n2 = 0;
  if (!k->has_app || replace) {
    for (int i = 0; i < dim; i++) {
      a[i] = emb[i] * inv;
      n2 += (double)a[i] * a[i];
    }
  } else {
    for (int i = 0; i < dim; i++) {
      a[i] = (1 - al) * a[i] + al * emb[i] * inv;
      n2 += (double)a[i] * a[i];
    }
    /* Opposite vectors can cancel out: take the new one then. */
    if (!(n2 > 1e-12)) {
      app_update(tr, slot, emb, inv, 1);
      return;
    }
  }
  float s = (float)(1.0 / sqrt(n2));
  for (int i = 0; i < dim; i++)
    a[i] *= s;
  k->has_app = 1;
}

/* Validates an update's input and computes the detections' inverse
 * embedding norms. */
static argus_err check_input(argus_tracker *tr, const char *fn, double t,
                             const argus_track_det *dets, int n) {
  if (!isfinite(t)) {
    trk_note(tr, "%s: time %g is not finite", fn, t);
    return ARGUS_E_INVALID_ARG;
  }
  if (t < tr->time) {
    trk_note(tr,
              "%s: time %.6f is before the last update's %.6f", fn, t,
              tr->time);
    return ARGUS_E_INVALID_ARG;
  }
  if (n < 0 || (n > 0 && !dets)) {
    trk_note(tr, "%s: %d detections at %s", fn, n,
              dets ? "a valid pointer" : "NULL");
    return ARGUS_E_INVALID_ARG;
  }
  if (n > tr->cfg.max_detections) {
    trk_note(tr,
              "%s: %d detections, more than max_detections %d", fn, n,
              tr->cfg.max_detections);
    return ARGUS_E_LIMIT;
  }
  for (int j = 0; j < n; j++) {
    const argus_track_det *d = &dets[j];
    const float *b = d->box;
    if (!(isfinite(b[0]) && isfinite(b[1]) && isfinite(b[2]) &&
          isfinite(b[3]))) {
      trk_note(tr,
                "%s: detection %d: box (%g, %g, %g, %g) is not finite", fn, j,
                b[0], b[1], b[2], b[3]);
      return ARGUS_E_INVALID_ARG;
    }
    if (!(b[2] > b[0] && b[3] > b[1])) {
      trk_note(tr,
                "%s: detection %d: box (%g, %g, %g, %g) has size %g x %g, "
                "not positive",
                fn, j, b[0], b[1], b[2], b[3], b[2] - b[0], b[3] - b[1]);
      return ARGUS_E_INVALID_ARG;
    }
    if (!isfinite(d->score)) {
      trk_note(tr,
                "%s: detection %d: score %g is not finite", fn, j, d->score);
      return ARGUS_E_INVALID_ARG;
    }
    if (!(d->quality >= 0 && d->quality <= 1)) {
      trk_note(tr,
                "%s: detection %d: quality %g is not in [0, 1]", fn, j,
                d->quality);
      return ARGUS_E_INVALID_ARG;
    }
    tr->det_inv[j] = 0;
    if (!d->embedding)
      continue;
    if (tr->cfg.embed_dim == 0) {
      trk_note(tr,
                "%s: detection %d has an embedding but the tracker was "
                "created with embed_dim 0",
                fn, j);
      return ARGUS_E_INVALID_ARG;
    }
    double n2 = 0;
    for (int i = 0; i < tr->cfg.embed_dim; i++) {
      float v = d->embedding[i];
      if (!isfinite(v)) {
        trk_note(tr,
                  "%s: detection %d: embedding[%d] = %g is not finite", fn, j,
                  i, v);
        return ARGUS_E_INVALID_ARG;
      }
      n2 += (double)v * v;
    }
    if (!(n2 > 0) || !isfinite(n2)) {
      trk_note(tr,
                "%s: detection %d: embedding has length %g", fn, j, sqrt(n2));
      return ARGUS_E_INVALID_ARG;
    }
    tr->det_inv[j] = (float)(1.0 / sqrt(n2));
  }
  return ARGUS_OK;
}

/* Whether pair a goes before pair b: decreasing affinity, ties by position
 * then detection, a total order, so that the result is deterministic. */
static int pair_before(const trk_pair *a, const trk_pair *b) {
  if (a->aff != b->aff)
    return a->aff > b->aff;
  if (a->pos != b->pos)
    return a->pos < b->pos;
  return a->det < b->det;
}

static void sift_down(trk_pair *p, size_t root, size_t n) {
  for (;;) {
    size_t c = 2 * root + 1;
    if (c >= n)
      return;
    /* A heap with the last-in-order element on top. */
    if (c + 1 < n && pair_before(&p[c], &p[c + 1]))
      c++;
    if (!pair_before(&p[root], &p[c]))
      return;
    trk_pair tmp = p[root];
    p[root] = p[c];
    p[c] = tmp;
    root = c;
  }
}

/* Heapsort: in place and without allocation (glibc's qsort may call malloc,
 * and updates must not allocate). */
static void sort_pairs(trk_pair *p, size_t n) {
  if (n < 2)
    return;
  for (size_t i = n / 2; i-- > 0;)
    sift_down(p, i, n);
  for (size_t end = n - 1; end > 0; end--) {
    trk_pair tmp = p[0];
    p[0] = p[end];
    p[end] = tmp;
    sift_down(p, 0, end);
  }
}

/* Whether live position i may still be associated at time t. */
static int pos_eligible(const argus_tracker *tr, int i, double t) {
  const trk *k = &tr->slots[tr->live[i]];
  return t - k->last_time <= lost_limit(tr, k);
}

/* Whether live position i may be re-identified by appearance at time t. */
static int pos_reid_eligible(const argus_tracker *tr, int i, double t) {
  const trk *k = &tr->slots[tr->live[i]];
  return k->state == ARGUS_TRACK_CONFIRMED && k->has_app &&
         t - k->last_time <= tr->cfg.max_lost;
}

/* Associates the live tracks with the detections at time t: fills pred,
 * pos_det, det_pos, pos_reid/det_reid, and (for needs_embedding) the IoU
 * candidate counts. Changes no track. */
static void associate(argus_tracker *tr, double t, const argus_track_det *dets,
                      int n, int use_app) {
  const argus_track_config *c = &tr->cfg;
  int nl = tr->nlive;
  for (int i = 0; i < nl; i++) {
    const trk *k = &tr->slots[tr->live[i]];
    trk_motion_predict_box(&k->motion, t - k->last_time, c->max_coast,
                           tr->pred[i]);
    tr->pos_det[i] = -1;
    tr->pos_reid[i] = 0;
    tr->cnt_pos[i] = 0;
  }
  for (int j = 0; j < n; j++) {
    tr->det_pos[j] = -1;
    tr->det_reid[j] = 0;
    tr->det_cnt[j] = 0;
  }

  /* Pass 1: motion (IoU with the predicted box), helped by appearance. */
  size_t np = 0;
  for (int i = 0; i < nl; i++) {
    if (!pos_eligible(tr, i, t))
      continue;
    int slot = tr->live[i];
    int app = use_app && tr->slots[slot].has_app;
    for (int j = 0; j < n; j++) {
      float aff;
      if (!motion_gate(tr, i, t, &dets[j], &aff))
        continue;
      tr->cnt_pos[i]++;
      tr->det_cnt[j]++;
      if (app && dets[j].embedding) {
        float s = app_sim(tr, slot, &dets[j], j);
        if (s < c->appearance_veto)
          continue;
        aff += c->appearance_weight * s;
      }
      tr->pairs[np++] = (trk_pair){aff, i, j};
    }
  }
  sort_pairs(tr->pairs, np);
  for (size_t p = 0; p < np; p++) {
    const trk_pair *q = &tr->pairs[p];
    if (tr->pos_det[q->pos] >= 0 || tr->det_pos[q->det] >= 0)
      continue;
    tr->pos_det[q->pos] = q->det;
    tr->det_pos[q->det] = q->pos;
  }
  if (!use_app || c->embed_dim == 0)
    return;

  /* Pass 2: re-identification of unmatched, recently lost tracks by
   * appearance alone, wherever the face is now. */
  np = 0;
  for (int i = 0; i < nl; i++) {
    if (tr->pos_det[i] >= 0 || !pos_reid_eligible(tr, i, t))
      continue;
    for (int j = 0; j < n; j++) {
      if (tr->det_pos[j] >= 0 || !dets[j].embedding)
        continue;
      float s = app_sim(tr, tr->live[i], &dets[j], j);
      if (s >= c->reid_similarity)
        tr->pairs[np++] = (trk_pair){s, i, j};
    }
  }
  sort_pairs(tr->pairs, np);
  for (size_t p = 0; p < np; p++) {
    const trk_pair *q = &tr->pairs[p];
    if (tr->pos_det[q->pos] >= 0 || tr->det_pos[q->det] >= 0)
      continue;
    tr->pos_det[q->pos] = q->det;
    tr->det_pos[q->det] = q->pos;
    tr->pos_reid[q->pos] = 1;
    tr->det_reid[q->det] = 1;
  }
}

/* Moves the slots of tracks ended in the previous call back to the free
 * list. Ended slots are kept one call so that the end events' shot buffers
 * stay valid; capacity + max_detections slots are always enough, since
 * each update parks at most as many slots as live tracks ended plus tracks
 * created. */
static void unpark(argus_tracker *tr) {
  for (int i = 0; i < tr->nparked; i++)
    tr->free_slots[tr->nfree++] = tr->parked[i];
  tr->nparked = 0;
  tr->nended = 0;
  tr->nreq = 0;
}

static void end_track(argus_tracker *tr, int slot,
                      argus_track_end_reason reason) {
  trk *k = &tr->slots[slot];
  argus_track_end *e = &tr->ended[tr->nended++];
  memset(e, 0, sizeof *e);
  e->track_id = k->id;
  e->reason = reason;
  e->confirmed = k->state == ARGUS_TRACK_CONFIRMED;
  e->first_time = k->first_time;
  e->last_time = k->last_time;
  e->hits = k->hits;
  e->nrequests = k->pol.nrequests;
  e->best_quality = k->pol.best_quality;
  e->best_time = k->pol.best_time;
  memcpy(e->best_box, k->pol.best_box, sizeof e->best_box);
  e->best_requested = k->pol.best_requested;
  e->match_best =
      trk_policy_match_at_end(&tr->cfg.policy, &k->pol, e->confirmed);
  e->shot = slot_shot(tr, slot);
  tr->parked[tr->nparked++] = slot;
  tr->st.ended++;
  if (reason == ARGUS_TRACK_END_EVICTED)
    tr->st.evicted++;
  if (e->match_best)
    tr->st.end_matches++;
}

/* Removes live positions whose slot was ended (marked by id 0),
 * keeping the order; the per-position scratch moves along. */
static void compact_live(argus_tracker *tr) {
  int w = 0;
  for (int i = 0; i < tr->nlive; i++) {
    if (tr->slots[tr->live[i]].id == 0)
      continue;
    tr->live[w] = tr->live[i];
    tr->pos_det[w] = tr->pos_det[i];
    tr->pos_reid[w] = tr->pos_reid[i];
    memcpy(tr->pred[w], tr->pred[i], sizeof tr->pred[0]);
    w++;
  }
  tr->nlive = w;
}

/* The live position to evict for a new track: not matched in this update;
 * tentative before confirmed, then the longest unmatched, then the fewest
 * hits, then the oldest. -1 when every track was matched. */
static int pick_victim(const argus_tracker *tr, double t) {
  int best = -1;
  for (int i = 0; i < tr->nlive; i++) {
    if (tr->pos_det[i] >= 0)
      continue;
    if (best < 0) {
      best = i;
      continue;
    }
    const trk *a = &tr->slots[tr->live[i]], *b = &tr->slots[tr->live[best]];
    if (a->state != b->state) {
      if (a->state == ARGUS_TRACK_TENTATIVE)
        best = i;
      continue;
    }
    double la = t - a->last_time, lb = t - b->last_time;
    if (la != lb) {
      if (la > lb)
        best = i;
      continue;
    }
    if (a->hits != b->hits) {
      if (a->hits < b->hits)
        best = i;
      continue;
    }
    if (a->id < b->id)
      best = i;
  }
  return best;
}

/* ---- update ------------------------------------------------------------- */

/* Detections by decreasing score (ties: index), by insertion sort: n is
 * small and this needs no comparison context. */
static void sort_by_score(int *order, const argus_track_det *dets, int n) {
  for (int j = 0; j < n; j++) {
    int v = order[j], k = j;
    while (k > 0) {
      int u = order[k - 1];
      if (dets[u].score > dets[v].score ||
          (dets[u].score == dets[v].score && u < v))
        break;
      order[k] = u;
      k--;
    }
    order[k] = v;
  }
}

static void fill_result(argus_tracker *tr, int n, int evicted, int dropped,
                        argus_track_result *res) {
  res->assign = tr->assign;
  res->nassign = n;
  res->requests = tr->req;
  res->nrequests = tr->nreq;
  res->ended = tr->ended;
  res->nended = tr->nended;
  res->evicted = evicted;
  res->dropped = dropped;
  tr->st.live = tr->nlive;
}

argus_err argus_track_update(argus_tracker *tr, double t,
                             const argus_track_det *dets, int n,
                             argus_track_result *res) {
  if (!tr || !res) {
    trk_note(tr, "update: %s is NULL",
              !tr ? "tracker" : "result");
    return ARGUS_E_INVALID_ARG;
  }
  argus_err err = check_input(tr, "update", t, dets, n);
  if (err != ARGUS_OK)
    return err;
  const argus_track_config *c = &tr->cfg;

  unpark(tr);
  associate(tr, t, dets, n, 1);

  /* Tracks unmatched for too long end before new ones start, so that their
   * room is free. */
  for (int i = 0; i < tr->nlive; i++) {
    int slot = tr->live[i];
    trk *k = &tr->slots[slot];
    if (tr->pos_det[i] < 0 && t - k->last_time > lost_limit(tr, k)) {
      end_track(tr, slot, ARGUS_TRACK_END_TIMEOUT);
      k->id = 0;
    }
  }
  compact_live(tr);

  /* New tracks for the detections left over, best scores first. */
  int evicted = 0, dropped = 0, nu = 0;
  for (int j = 0; j < n; j++) {
    tr->det_new[j] = 0;
    if (tr->det_pos[j] < 0)
      tr->order[nu++] = j;
  }
  sort_by_score(tr->order, dets, nu);
  for (int u = 0; u < nu; u++) {
    int j = tr->order[u];
    if (tr->nlive == c->capacity) {
      int v = pick_victim(tr, t);
      if (v < 0) {
        dropped++;
        continue;
      }
      int vs = tr->live[v];
      end_track(tr, vs, ARGUS_TRACK_END_EVICTED);
      tr->slots[vs].id = 0;
      compact_live(tr);
      evicted++;
    }
    /* nfree > 0 always: see unpark(). */
    int slot = tr->free_slots[--tr->nfree];
    trk *k = &tr->slots[slot];
    memset(k, 0, sizeof *k);
    k->id = tr->next_id++;
    k->state = ARGUS_TRACK_TENTATIVE;
    k->first_time = t;
    k->last_time = t;
    trk_motion_init(&k->motion, dets[j].box, c->measure_noise,
                    c->max_speed / 3.0f);
    trk_policy_init(&k->pol);
    int pos = tr->nlive++;
    tr->live[pos] = slot;
    tr->pos_det[pos] = j;
    tr->pos_reid[pos] = 0;
    tr->det_pos[j] = pos;
    tr->det_new[j] = 1;
    tr->st.created++;
  }
  /* Evictions moved positions: rebuild detection -> position. */
  for (int j = 0; j < n; j++)
    tr->det_pos[j] = -1;
  for (int i = 0; i < tr->nlive; i++)
    if (tr->pos_det[i] >= 0)
      tr->det_pos[tr->pos_det[i]] = i;

  /* Every detection with a track, in detection order: motion, appearance,
   * best shot, policy. */
  for (int j = 0; j < n; j++) {
    argus_track_assignment *a = &tr->assign[j];
    memset(a, 0, sizeof *a);
    int pos = tr->det_pos[j];
    if (pos < 0)
      continue;
    const argus_track_det *d = &dets[j];
    int slot = tr->live[pos];
    trk *k = &tr->slots[slot];
    if (tr->det_new[j]) {
      a->flags |= ARGUS_TRACK_F_NEW;
    } else if (tr->pos_reid[pos]) {
      /* Re-found elsewhere after an occlusion: the old velocity means
       * nothing here. */
      trk_motion_init(&k->motion, d->box, c->measure_noise,
                      c->max_speed / 3.0f);
      a->flags |= ARGUS_TRACK_F_REID;
      tr->st.reid++;
    } else {
      trk_motion_update(&k->motion, t - k->last_time, c->max_coast, d->box,
                        c->measure_noise, c->accel_noise);
    }
    if (!tr->det_new[j])
      k->hits++;
    else
      k->hits = 1;
    k->last_time = t;
    memcpy(k->box, d->box, sizeof k->box);
    if (k->state == ARGUS_TRACK_TENTATIVE && k->hits >= c->confirm_hits) {
      k->state = ARGUS_TRACK_CONFIRMED;
      a->flags |= ARGUS_TRACK_F_CONFIRMED;
      tr->st.confirmed++;
    }
    if (d->embedding)
      app_update(tr, slot, d->embedding, tr->det_inv[j], 0);
    int best = trk_policy_shot(&c->policy, &k->pol, t, d);
    if (best) {
      a->flags |= ARGUS_TRACK_F_BEST;
      a->shot = slot_shot(tr, slot);
    }
    a->track_id = k->id;
    a->state = k->state;
    trk_policy_pick pick;
    if (k->state == ARGUS_TRACK_CONFIRMED &&
        trk_policy_request(&c->policy, &k->pol, t, t - k->first_time, d, best,
                           tr->shots != NULL,
                           &pick)) {
      argus_track_request *q = &tr->req[tr->nreq++];
      q->track_id = k->id;
      q->det = pick.stored ? -1 : j;
      q->shot = pick.stored ? slot_shot(tr, slot) : NULL;
      q->reason = (argus_track_request_reason)pick.reason;
      q->quality = pick.quality;
      q->time = pick.time;
      if (pick.reason == ARGUS_TRACK_REQ_EARLY)
        tr->st.requests_early++;
      else
        tr->st.requests_better++;
    }
  }

  tr->time = t;
  tr->st.time = t;
  tr->st.updates++;
  tr->st.detections += (uint64_t)n;
  tr->st.dropped += (uint64_t)dropped;
  fill_result(tr, n, evicted, dropped, res);
  return ARGUS_OK;
}

argus_err argus_track_needs_embedding(argus_tracker *tr, double t,
                                      const argus_track_det *dets, int n,
                                      unsigned char *need) {
  if (!tr || (n > 0 && !need)) {
    trk_note(tr, "needs_embedding: %s is NULL",
              !tr ? "tracker" : "need");
    return ARGUS_E_INVALID_ARG;
  }
  argus_err err = check_input(tr, "needs_embedding", t, dets, n);
  if (err != ARGUS_OK)
    return err;
  for (int j = 0; j < n; j++)
    need[j] = 0;
  if (tr->cfg.embed_dim == 0 || n == 0)
    return ARGUS_OK;
  associate(tr, t, dets, n, 0);
  int lost = 0;
  for (int i = 0; i < tr->nlive; i++)
    if (tr->pos_det[i] < 0 && pos_reid_eligible(tr, i, t))
      lost++;
  for (int j = 0; j < n; j++)
    if (lost > 0 && tr->det_pos[j] < 0)
      need[j] = 1;
  /* Ambiguous overlaps around a track with an appearance. */
  for (int i = 0; i < tr->nlive; i++) {
    if (!pos_eligible(tr, i, t) || !tr->slots[tr->live[i]].has_app)
      continue;
    for (int j = 0; j < n; j++) {
      float aff;
      if (need[j] || !motion_gate(tr, i, t, &dets[j], &aff))
        continue;
      if (tr->cnt_pos[i] > 1 || tr->det_cnt[j] > 1)
        need[j] = 1;
    }
  }
  return ARGUS_OK;
}

argus_err argus_track_set_embedding(argus_tracker *tr, uint64_t track_id,
                                    const float *emb) {
  if (!tr || !emb) {
    trk_note(tr, "set_embedding: %s is NULL",
              !tr ? "tracker" : "embedding");
    return ARGUS_E_INVALID_ARG;
  }
  if (tr->cfg.embed_dim == 0) {
    trk_note(tr,
              "set_embedding: the tracker was created with embed_dim 0");
    return ARGUS_E_INVALID_ARG;
  }
  double n2 = 0;
  for (int i = 0; i < tr->cfg.embed_dim; i++) {
    if (!isfinite(emb[i])) {
      trk_note(tr,
                "set_embedding: embedding[%d] = %g is not finite", i, emb[i]);
      return ARGUS_E_INVALID_ARG;
    }
    n2 += (double)emb[i] * emb[i];
  }
  if (!(n2 > 0) || !isfinite(n2)) {
    trk_note(tr,
              "set_embedding: embedding has length %g", sqrt(n2));
    return ARGUS_E_INVALID_ARG;
  }
  int pos = find_live(tr, track_id);
  if (pos < 0) {
    argus_log(ARGUS_LOG_DEBUG, TRACK_MOD, "set_embedding: no live track %llu",
              (unsigned long long)track_id);
    return ARGUS_E_NOT_FOUND;
  }
  app_update(tr, tr->live[pos], emb, (float)(1.0 / sqrt(n2)), 0);
  return ARGUS_OK;
}

argus_err argus_track_flush(argus_tracker *tr, double t,
                            argus_track_result *res) {
  if (!tr || !res) {
    trk_note(tr, "flush: %s is NULL",
              !tr ? "tracker" : "result");
    return ARGUS_E_INVALID_ARG;
  }
  argus_err err = check_input(tr, "flush", t, NULL, 0);
  if (err != ARGUS_OK)
    return err;
  unpark(tr);
  for (int i = 0; i < tr->nlive; i++) {
    int slot = tr->live[i];
    end_track(tr, slot, ARGUS_TRACK_END_FLUSH);
    tr->slots[slot].id = 0;
  }
  tr->nlive = 0;
  tr->time = t;
  tr->st.time = t;
  fill_result(tr, 0, 0, 0, res);
  return ARGUS_OK;
}

/* ---- queries ------------------------------------------------------------ */

argus_err argus_track_get(const argus_tracker *tr, uint64_t track_id,
                          argus_track_info *out) {
  if (!tr || !out) {
    argus_log(ARGUS_LOG_WARN, TRACK_MOD, "get: %s is NULL",
              !tr ? "tracker" : "out");
    return ARGUS_E_INVALID_ARG;
  }
  int pos = find_live(tr, track_id);
  if (pos < 0)
    return ARGUS_E_NOT_FOUND;
  const trk *k = &tr->slots[tr->live[pos]];
  memset(out, 0, sizeof *out);
  out->id = k->id;
  out->state = k->state;
  out->first_time = k->first_time;
  out->last_time = k->last_time;
  out->hits = k->hits;
  memcpy(out->box, k->box, sizeof out->box);
  double now = isnan(tr->time) ? k->last_time : tr->time;
  trk_motion_predict_box(&k->motion, now - k->last_time, tr->cfg.max_coast,
                         out->predicted);
  out->velocity[0] = (float)k->motion.ax[TRK_CX].v;
  out->velocity[1] = (float)k->motion.ax[TRK_CY].v;
  out->best_quality = k->pol.best_quality;
  out->best_time = k->pol.best_time;
  out->nrequests = k->pol.nrequests;
  out->has_appearance = k->has_app;
  return ARGUS_OK;
}

argus_err argus_track_list(const argus_tracker *tr, uint64_t *ids, int cap,
                           int *n) {
  if (!tr || !n || cap < 0 || (cap > 0 && !ids)) {
    argus_log(ARGUS_LOG_WARN, TRACK_MOD, "list: bad arguments");
    return ARGUS_E_INVALID_ARG;
  }
  for (int i = 0; i < tr->nlive && i < cap; i++)
    ids[i] = tr->slots[tr->live[i]].id;
  *n = tr->nlive;
  return ARGUS_OK;
}

argus_err argus_track_get_stats(const argus_tracker *tr,
                                argus_track_stats *out) {
  if (!tr || !out) {
    argus_log(ARGUS_LOG_WARN, TRACK_MOD, "get_stats: %s is NULL",
              !tr ? "tracker" : "out");
    return ARGUS_E_INVALID_ARG;
  }
  *out = tr->st;
  out->live = tr->nlive;
  return ARGUS_OK;
}

/* ---- names -------------------------------------------------------------- */

const char *argus_track_state_name(argus_track_state s) {
  switch (s) {
  case ARGUS_TRACK_TENTATIVE:
    return "tentative";
  case ARGUS_TRACK_CONFIRMED:
    return "confirmed";
  }
  return "?";
}

const char *argus_track_request_name(argus_track_request_reason r) {
  switch (r) {
  case ARGUS_TRACK_REQ_EARLY:
    return "early";
  case ARGUS_TRACK_REQ_BETTER:
    return "better";
  }
  return "?";
}

const char *argus_track_end_name(argus_track_end_reason r) {
  switch (r) {
  case ARGUS_TRACK_END_TIMEOUT:
    return "timeout";
  case ARGUS_TRACK_END_EVICTED:
    return "evicted";
  case ARGUS_TRACK_END_FLUSH:
    return "flush";
  }
  return "?";
}

const char *argus_track_last_error(const argus_tracker *tr) {
  return tr ? tr->last_err.msg : "";
}
