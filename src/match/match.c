/* The match stage: face events -> gallery search -> alert decisions ->
 * alert events (include/argus/match.h).
 *
 * Decisions are kept in one ring of the last `memory` persons reported per
 * (camera, track): one alert per person per track, and the cooldown per
 * (camera, person) looks for the newest alert of that person on that
 * camera. A linear scan is enough: only faces over a threshold reach it (a
 * few per minute per camera), and 4096 entries are scanned in
 * microseconds; it allocates nothing after creation. */
#define _GNU_SOURCE
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "argus/match.h"

#define MATCH_MOD "match"

typedef struct decision {
  uint64_t cam; /* hash of the camera name; 0: unused entry */
  uint64_t track;
  int64_t person;
  double t;    /* media time of the searched shot */
  int alerted; /* 0: suppressed by the cooldown (the track still counts) */
} decision;

/* Score fusion (fusion_margin > 0): per (camera, track), the number of
 * searched shots, the sum of each shot's lowest candidate score (the floor:
 * an upper bound for anyone not returned), and per person seen the sum of
 * its scores and of the floors of the shots where it was returned, so that
 * its mean over all shots is (sum + floors_total - floors_seen) / n. */
#define FUSE_PERSONS 16
typedef struct fuse_person {
  int64_t person;
  float sum, floor_seen;
} fuse_person;
typedef struct fuse_track {
  uint64_t cam, track; /* cam 0: unused */
  uint64_t used;       /* last use (a counter): the oldest is reused */
  int n, np;
  float floor_total;
  fuse_person p[FUSE_PERSONS];
} fuse_track;

struct argus_matcher {
  argus_matcher_config cfg;
  argus_gallery *g;
  argus_bus *bus;
  char model[ARGUS_EVENT_MODEL_MAX];
  int dim;
  char wl_names[ARGUS_MATCH_MAX_WATCHLISTS][ARGUS_STORE_NAME_MAX];
  const char *wl_ptrs[ARGUS_MATCH_MAX_WATCHLISTS];
  argus_gallery_search_opts search;

  pthread_mutex_t mu; /* decisions, applied sequence */
  decision *ring;
  int ring_cap, ring_next;
  fuse_track *fuse; /* fusion_tracks entries, or NULL (fusion off) */
  uint64_t fuse_clock;
  int64_t applied_seq;

  argus_bus_sub *face_sub, *change_sub;

  /* argus_matcher_handle_faces: the batch's queries and candidates. */
  pthread_mutex_t batch_mu;
  float *bq;                   /* ARGUS_MATCH_BATCH_MAX * dim */
  argus_gallery_candidate *bc; /* ARGUS_MATCH_BATCH_MAX * ARGUS_MATCH_K */
  int bn[ARGUS_MATCH_BATCH_MAX];

  _Atomic uint64_t faces, matches, alerts, sup_track, sup_cooldown, unmatched,
      rejected, errors, changes, reloads, forgotten, cpu_ns, sup_negative,
      marked_negative;
};

static uint64_t name_hash(const char *s) {
  uint64_t h = 1469598103934665603ull; /* FNV-1a 64 */
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h ? h : 1;
}

const char *argus_match_decision_name(argus_match_decision d) {
  switch (d) {
  case ARGUS_MATCH_ALERT:
    return "alert";
  case ARGUS_MATCH_SUPPRESS_TRACK:
    return "track";
  case ARGUS_MATCH_SUPPRESS_COOLDOWN:
    return "cooldown";
  case ARGUS_MATCH_SUPPRESS_NEGATIVE:
    return "negative";
  }
  return "?";
}

void argus_matcher_config_init(argus_matcher_config *c) {
  if (!c)
    return;
  memset(c, 0, sizeof *c);
  c->cooldown = -1;
  c->memory = 4096;
  c->publish_suppressed = 1;
  c->fusion_tracks = 1024;
}

argus_err argus_matcher_create(const argus_matcher_config *c, argus_gallery *g,
                               argus_bus *bus, argus_matcher **out,
                               argus_error_detail *err) {
  argus_matcher_config def;
  if (!c) {
    argus_matcher_config_init(&def);
    c = &def;
  }
  if (!g || !out) {
    argus_error_detail_set(err, "matcher: no gallery or output pointer");
    return ARGUS_E_INVALID_ARG;
  }
  *out = NULL;
  if (c->nwatchlists < 0 || c->nwatchlists > ARGUS_MATCH_MAX_WATCHLISTS ||
      (c->nwatchlists && !c->watchlists) || c->memory < 0 ||
      c->memory > (1 << 24) || !(c->keep_unmatched >= 0) ||
      !(c->fusion_margin >= 0 && c->fusion_margin <= 0.5f) ||
      c->fusion_tracks < 0 || c->fusion_tracks > (1 << 20) ||
      !(c->cooldown < 0 || c->cooldown <= 86400 * 365.0) ||
      (c->score_norm != ARGUS_GALLERY_NORM_NONE &&
       c->score_norm != ARGUS_GALLERY_NORM_TOPN) ||
      (c->fuse != ARGUS_GALLERY_FUSE_MAX &&
       c->fuse != ARGUS_GALLERY_FUSE_MEAN)) {
    argus_error_detail_set(err,
                           "matcher: a setting is out of range (watchlists "
                           "0..%d, memory 0..%d, cooldown, keep_unmatched, "
                           "fusion_margin 0..0.5, fusion_tracks, "
                           "score_norm, fuse)",
                           ARGUS_MATCH_MAX_WATCHLISTS, 1 << 24);
    return ARGUS_E_INVALID_ARG;
  }
  const argus_gallery_config *gc = argus_gallery_get_config(g);
  if (!gc || gc->write_only) {
    argus_error_detail_set(err, "matcher: the gallery is write-only");
    return ARGUS_E_INVALID_ARG;
  }
  argus_matcher *m = calloc(1, sizeof *m);
  if (!m) {
    argus_error_detail_set(err, "matcher: out of memory");
    return ARGUS_E_NOMEM;
  }
  m->cfg = *c;
  if (m->cfg.cooldown < 0)
    m->cfg.cooldown = 30;
  if (m->cfg.memory == 0)
    m->cfg.memory = 4096;
  if (m->cfg.fusion_tracks == 0)
    m->cfg.fusion_tracks = 1024;
  m->cfg.watchlists = NULL;
  m->g = g;
  m->bus = bus;
  snprintf(m->model, sizeof m->model, "%s", gc->model_id);
  m->dim = gc->dim;
  pthread_mutex_init(&m->mu, NULL);
  pthread_mutex_init(&m->batch_mu, NULL);
  argus_err rc = ARGUS_OK;
  for (int i = 0; i < c->nwatchlists; i++) {
    const char *n = c->watchlists[i];
    float th = 0;
    argus_gallery_error ge = {{0}};
    if (!n || !*n || strlen(n) >= ARGUS_STORE_NAME_MAX) {
      argus_error_detail_set(err,
                             "matcher: watchlist name %d is empty or "
                             "too long",
                             i + 1);
      rc = ARGUS_E_INVALID_ARG;
      goto fail;
    }
    if ((rc = argus_gallery_threshold(g, n, &th, &ge)) != ARGUS_OK) {
      argus_error_detail_set(err, "watchlist: %s",
                             ge.msg[0] ? ge.msg : argus_strerror(rc));
      goto fail;
    }
    snprintf(m->wl_names[i], sizeof m->wl_names[i], "%s", n);
    m->wl_ptrs[i] = m->wl_names[i];
  }
  m->cfg.nwatchlists = c->nwatchlists;
  m->search.watchlists = c->nwatchlists ? m->wl_ptrs : NULL;
  m->search.n_watchlists = (size_t)c->nwatchlists;
  m->search.norm = c->score_norm;
  m->search.fuse = c->fuse;
  m->ring_cap = m->cfg.memory;
  m->ring = calloc((size_t)m->ring_cap, sizeof *m->ring);
  if (m->cfg.fusion_margin > 0)
    m->fuse = calloc((size_t)m->cfg.fusion_tracks, sizeof *m->fuse);
  m->bq =
      malloc((size_t)ARGUS_MATCH_BATCH_MAX * (size_t)m->dim * sizeof *m->bq);
  m->bc = malloc((size_t)ARGUS_MATCH_BATCH_MAX * ARGUS_MATCH_K * sizeof *m->bc);
  if (!m->ring || (m->cfg.fusion_margin > 0 && !m->fuse) || !m->bq || !m->bc) {
    argus_error_detail_set(err, "matcher: out of memory");
    rc = ARGUS_E_NOMEM;
    goto fail;
  }
  *out = m;
  return ARGUS_OK;
fail:
  argus_matcher_destroy(m);
  return rc;
}

void argus_matcher_destroy(argus_matcher *m) {
  if (!m)
    return;
  argus_matcher_stop(m);
  pthread_mutex_destroy(&m->mu);
  pthread_mutex_destroy(&m->batch_mu);
  free(m->ring);
  free(m->fuse);
  free(m->bq);
  free(m->bc);
  free(m);
}

/* ---- decisions ------------------------------------------------------------ */

/* Under m->mu. */
static argus_match_decision decide(argus_matcher *m, uint64_t cam,
                                   uint64_t track, int64_t person, double t) {
  const decision *newest = NULL;
  for (int i = 0; i < m->ring_cap; i++) {
    const decision *d = &m->ring[i];
    if (d->cam != cam || d->person != person)
      continue;
    if (d->track == track)
      return ARGUS_MATCH_SUPPRESS_TRACK;
    if (d->alerted && (!newest || d->t > newest->t))
      newest = d;
  }
  /* fabs: a shot may be older than the last alert (end-of-track shots). */
  int cool =
      newest && m->cfg.cooldown > 0 && fabs(t - newest->t) < m->cfg.cooldown;
  decision *slot = &m->ring[m->ring_next];
  if (slot->cam && slot->alerted && m->cfg.cooldown > 0 &&
      fabs(t - slot->t) < m->cfg.cooldown)
    atomic_fetch_add(&m->forgotten, 1);
  slot->cam = cam;
  slot->track = track;
  slot->person = person;
  slot->t = t;
  slot->alerted = !cool;
  m->ring_next = (m->ring_next + 1) % m->ring_cap;
  return cool ? ARGUS_MATCH_SUPPRESS_COOLDOWN : ARGUS_MATCH_ALERT;
}

/* The id of what a face event raised, derived so that the same outcome
 * has the same id wherever it is computed: an alert is "one per person per
 * track", so its id is the edge run's (the salt of the face's id,
 * "face-<salt>-<n>"), the camera's, the track's and the person's. A face
 * event redelivered to another matcher (one died before acknowledging it),
 * or the shots of one track handled by different matchers of a shared
 * queue, raise the same id, which the bus and the store sink (keyed by it)
 * keep once. A suppressed match's id is its face's and person's, an
 * unmatched face's its face's. A face id of another shape gets a fresh
 * id. */
static argus_err derived_id(argus_matcher *m, const char *prefix,
                            const argus_event *face, int64_t person,
                            int per_track, char out[ARGUS_BUS_ID_MAX + 1]) {
  const argus_event_face *f = &face->u.face;
  const char *salt = strncmp(face->id, "face-", 5) == 0 ? face->id + 5 : NULL;
  const char *dash = salt ? strchr(salt, '-') : NULL;
  int n = -1;
  if (per_track && dash && dash - salt <= 16 && person > 0) {
    uint32_t h = 2166136261u; /* FNV-1a of the camera's name */
    for (const char *c = f->camera; *c; c++)
      h = (h ^ (unsigned char)*c) * 16777619u;
    n = snprintf(out, ARGUS_BUS_ID_MAX + 1, "%s-%.*s-%08x-%llu-%lld", prefix,
                 (int)(dash - salt), salt, h, (unsigned long long)f->track,
                 (long long)person);
  } else if (face->id[0] && person > 0) {
    n = snprintf(out, ARGUS_BUS_ID_MAX + 1, "%s-%s-%lld", prefix, face->id,
                 (long long)person);
  } else if (face->id[0]) {
    n = snprintf(out, ARGUS_BUS_ID_MAX + 1, "%s-%s", prefix, face->id);
  }
  if (n > 0 && n <= ARGUS_BUS_ID_MAX)
    return ARGUS_OK;
  return argus_bus_make_id(m->bus, prefix, out);
}

/* An alert.raised event, or with a suppression reason an alert.suppressed
 * one (the same members plus "suppressed"). */
static void publish_alert(argus_matcher *m, const argus_event *face,
                          const argus_match_hit *h) {
  const argus_gallery_candidate *c = &h->cand;
  argus_match_decision d = h->decision;
  argus_event *ev = NULL;
  if (argus_event_new(ARGUS_EVENT_ALERT, face, &ev) != ARGUS_OK) {
    argus_log(ARGUS_LOG_ERROR, MATCH_MOD,
              "camera '%s': out of memory: alert for person %lld lost",
              face->u.face.camera, (long long)c->person_id);
    return;
  }
  argus_event_alert *a = &ev->u.alert;
  a->person_id = c->person_id;
  a->watchlist_id = c->watchlist_id;
  snprintf(a->person, sizeof a->person, "%s", c->person);
  snprintf(a->watchlist, sizeof a->watchlist, "%s", c->watchlist);
  a->score = c->score;
  a->threshold = c->threshold;
  a->photo_id = c->photo_id;
  a->fused_shots = h->fused_shots;
  a->cooldown = m->cfg.cooldown > 0 ? m->cfg.cooldown : 0;
  if (d != ARGUS_MATCH_ALERT)
    snprintf(a->suppressed, sizeof a->suppressed, "%s",
             argus_match_decision_name(d));
  /* A marked alert: "marked" on alert.raised (the store sink stores the
   * alert with its mark and clears the member again before it publishes
   * the stored alert). */
  if (d == ARGUS_MATCH_ALERT && h->negative)
    snprintf(a->suppressed, sizeof a->suppressed, "marked");
  if (derived_id(m, d == ARGUS_MATCH_ALERT ? "alert" : "suppressed", face,
                 c->person_id, d == ARGUS_MATCH_ALERT, ev->id) == ARGUS_OK)
    argus_bus_publish_event(m->bus,
                            d == ARGUS_MATCH_ALERT
                                ? ARGUS_EVENT_TOPIC_ALERT_RAISED
                                : ARGUS_EVENT_TOPIC_ALERT_SUPPRESSED,
                            ev);
  argus_event_unref(ev);
}

static void publish_unmatched(argus_matcher *m, const argus_event *face,
                              float best) {
  argus_event *ev = NULL;
  if (argus_event_new(ARGUS_EVENT_UNMATCHED, face, &ev) != ARGUS_OK)
    return;
  ev->u.unmatched.best_score = best;
  ev->u.unmatched.retention = m->cfg.keep_unmatched;
  if (derived_id(m, "unmatched", face, 0, 0, ev->id) == ARGUS_OK &&
      argus_bus_publish_event(m->bus, ARGUS_EVENT_TOPIC_UNMATCHED, ev) ==
          ARGUS_OK)
    atomic_fetch_add(&m->unmatched, 1);
  argus_event_unref(ev);
}

/* Adds this shot's candidates to its track's fusion entry and appends a
 * fused hit for each candidate under its own threshold whose mean over the
 * track's shots clears threshold - fusion_margin. Under m->mu. */
static void fuse_shot(argus_matcher *m, uint64_t cam, uint64_t track,
                      const argus_gallery_candidate *cands, int n,
                      argus_match_result *r) {
  if (n <= 0)
    return;
  fuse_track *t = NULL, *oldest = &m->fuse[0];
  for (int i = 0; i < m->cfg.fusion_tracks; i++) {
    fuse_track *e = &m->fuse[i];
    if (e->cam == cam && e->track == track) {
      t = e;
      break;
    }
    if (e->used < oldest->used)
      oldest = e;
  }
  if (!t) {
    t = oldest;
    memset(t, 0, sizeof *t);
    t->cam = cam;
    t->track = track;
  }
  t->used = ++m->fuse_clock;
  float floor = cands[n - 1].score;
  t->n++;
  t->floor_total += floor;
  for (int i = 0; i < n; i++) {
    fuse_person *p = NULL;
    for (int k = 0; k < t->np && !p; k++)
      if (t->p[k].person == cands[i].person_id)
        p = &t->p[k];
    if (!p) {
      if (t->np < FUSE_PERSONS) {
        p = &t->p[t->np++];
      } else { /* replace the weakest */
        p = &t->p[0];
        for (int k = 1; k < t->np; k++)
          if (t->p[k].sum - t->p[k].floor_seen < p->sum - p->floor_seen)
            p = &t->p[k];
      }
      p->person = cands[i].person_id;
      p->sum = 0;
      p->floor_seen = 0;
    }
    p->sum += cands[i].score;
    p->floor_seen += floor;
  }
  if (t->n < 2)
    return;
  for (int i = 0; i < n && r->nhits < ARGUS_MATCH_K; i++) {
    if (cands[i].match)
      continue;
    const fuse_person *p = NULL;
    for (int k = 0; k < t->np && !p; k++)
      if (t->p[k].person == cands[i].person_id)
        p = &t->p[k];
    if (!p)
      continue;
    float mean = (p->sum + t->floor_total - p->floor_seen) / (float)t->n;
    if (!(mean >= cands[i].threshold - m->cfg.fusion_margin))
      continue;
    argus_match_hit *h = &r->hits[r->nhits++];
    h->cand = cands[i];
    h->cand.score = mean;
    h->cand.match = 1;
    h->fused_shots = t->n;
  }
}

/* Whether a face event can be searched in this gallery; counts and says
 * why not. */
static argus_err face_check(argus_matcher *m, const argus_event *face,
                            argus_error_detail *err) {
  if (!face || face->type != ARGUS_EVENT_FACE) {
    argus_error_detail_set(err, "match: not a face event");
    return ARGUS_E_INVALID_ARG;
  }
  const argus_event_face *f = &face->u.face;
  if (f->dim != m->dim || strcmp(f->model, m->model) != 0 || !f->embedding) {
    atomic_fetch_add(&m->rejected, 1);
    argus_error_detail_set(err,
                           "match: face of camera '%s' made by model '%s' "
                           "(dim %d); the gallery holds '%s' (dim %d)",
                           f->camera, f->model, f->dim, m->model, m->dim);
    return ARGUS_E_INVALID_ARG;
  }
  return ARGUS_OK;
}

/* Everything after the search of one face: fusion over its track, the
 * decisions, the publications. r holds the search's candidates count and
 * best score; cands its candidates. */
static void after_search(argus_matcher *m, const argus_event *face,
                         const argus_gallery_candidate *cands,
                         argus_match_result *r) {
  const argus_event_face *f = &face->u.face;
  if (r->nfound > 0)
    r->best_score = cands[0].score;
  for (int i = 0; i < r->nfound; i++)
    if (cands[i].match)
      r->hits[r->nhits++].cand = cands[i];
  uint64_t cam = name_hash(f->camera);
  if (m->fuse) {
    pthread_mutex_lock(&m->mu);
    fuse_shot(m, cam, f->track, cands, r->nfound, r);
    pthread_mutex_unlock(&m->mu);
  }
  if (r->nhits) {
    atomic_fetch_add(&m->matches, 1);
    pthread_mutex_lock(&m->mu);
    for (int i = 0; i < r->nhits; i++) {
      argus_match_hit *h = &r->hits[i];
      /* Verdict feedback: a probe nearer one of the person's negative
       * examples than to the person is not alerted (it does not count
       * for the track or the cooldown either), or alerted marked. */
      if (ARGUS_GALLERY_CANDIDATE_NEGATIVE(&h->cand)) {
        if (h->cand.negatives == ARGUS_GALLERY_NEGATIVES_SUPPRESS) {
          h->decision = ARGUS_MATCH_SUPPRESS_NEGATIVE;
          continue;
        }
        h->negative = 1;
      }
      h->decision = decide(m, cam, f->track, h->cand.person_id, f->media_time);
    }
    pthread_mutex_unlock(&m->mu);
  }
  for (int i = 0; i < r->nhits; i++) {
    switch (r->hits[i].decision) {
    case ARGUS_MATCH_ALERT:
      r->nalerts++;
      atomic_fetch_add(&m->alerts, 1);
      if (r->hits[i].negative)
        atomic_fetch_add(&m->marked_negative, 1);
      if (m->bus)
        publish_alert(m, face, &r->hits[i]);
      break;
    case ARGUS_MATCH_SUPPRESS_NEGATIVE:
      /* Published whatever publish_suppressed says: the store sink
       * audits it. */
      atomic_fetch_add(&m->sup_negative, 1);
      if (m->bus)
        publish_alert(m, face, &r->hits[i]);
      continue;
    case ARGUS_MATCH_SUPPRESS_TRACK:
      atomic_fetch_add(&m->sup_track, 1);
      break;
    case ARGUS_MATCH_SUPPRESS_COOLDOWN:
      atomic_fetch_add(&m->sup_cooldown, 1);
      break;
    }
    if (r->hits[i].decision != ARGUS_MATCH_ALERT && m->bus &&
        m->cfg.publish_suppressed)
      publish_alert(m, face, &r->hits[i]);
  }
  if (r->nhits == 0 && m->cfg.keep_unmatched > 0 && m->bus)
    publish_unmatched(m, face, r->best_score);
  if (m->cfg.observe)
    m->cfg.observe(m->cfg.observe_user, face, r);
}

argus_err argus_matcher_handle_face(argus_matcher *m, const argus_event *face,
                                    argus_match_result *out,
                                    argus_error_detail *err) {
  argus_match_result local;
  argus_match_result *r = out ? out : &local;
  memset(r, 0, sizeof *r);
  r->best_score = -1;
  if (!m) {
    argus_error_detail_set(err, "match: no matcher");
    return ARGUS_E_INVALID_ARG;
  }
  uint64_t c0 = argus_thread_cpu_ns();
  argus_err rc = face_check(m, face, err);
  if (rc)
    return rc;
  atomic_fetch_add(&m->faces, 1);
  argus_gallery_candidate cands[ARGUS_MATCH_K];
  argus_gallery_error ge = {{0}};
  rc = argus_gallery_search(m->g, face->u.face.embedding, 1, ARGUS_MATCH_K,
                            &m->search, cands, &r->nfound, &ge);
  if (rc) {
    atomic_fetch_add(&m->errors, 1);
    argus_error_detail_set(err, "match: search failed: %s",
                           ge.msg[0] ? ge.msg : argus_strerror(rc));
    return rc;
  }
  after_search(m, face, cands, r);
  atomic_fetch_add(&m->cpu_ns, argus_thread_cpu_ns() - c0);
  return ARGUS_OK;
}

argus_err argus_matcher_handle_faces(argus_matcher *m,
                                     const argus_event *const *faces, int n,
                                     argus_match_result *out, int *nfailed,
                                     argus_error_detail *err) {
  if (nfailed)
    *nfailed = 0;
  if (!m || n < 0 || (n && !faces)) {
    argus_error_detail_set(err, "match: bad batch");
    return ARGUS_E_INVALID_ARG;
  }
  uint64_t c0 = argus_thread_cpu_ns();
  argus_err first = ARGUS_OK;
  int bad = 0;
  pthread_mutex_lock(&m->batch_mu);
  for (int i0 = 0; i0 < n; i0 += ARGUS_MATCH_BATCH_MAX) {
    int nb = n - i0 < ARGUS_MATCH_BATCH_MAX ? n - i0 : ARGUS_MATCH_BATCH_MAX;
    /* The faces that can be searched, packed: slot[k] is the batch index
     * of query k. */
    int slot[ARGUS_MATCH_BATCH_MAX], nq = 0;
    for (int i = 0; i < nb; i++) {
      if (out) {
        memset(&out[i0 + i], 0, sizeof out[i0 + i]);
        out[i0 + i].best_score = -1;
      }
      argus_error_detail e1 = {{0}};
      argus_err rc = face_check(m, faces[i0 + i], &e1);
      if (rc) {
        bad++;
        if (first == ARGUS_OK) {
          first = rc;
          if (err)
            *err = e1;
        }
        continue;
      }
      memcpy(m->bq + (size_t)nq * (size_t)m->dim,
             faces[i0 + i]->u.face.embedding, (size_t)m->dim * sizeof *m->bq);
      slot[nq++] = i;
    }
    if (nq == 0)
      continue;
    atomic_fetch_add(&m->faces, (uint64_t)nq);
    argus_gallery_error ge = {{0}};
    argus_err rc = argus_gallery_search(m->g, m->bq, (size_t)nq, ARGUS_MATCH_K,
                                        &m->search, m->bc, m->bn, &ge);
    if (rc) {
      atomic_fetch_add(&m->errors, (uint64_t)nq);
      bad += nq;
      if (first == ARGUS_OK) {
        first = rc;
        argus_error_detail_set(err, "match: search failed: %s",
                               ge.msg[0] ? ge.msg : argus_strerror(rc));
      }
      continue;
    }
    for (int k = 0; k < nq; k++) {
      argus_match_result local;
      argus_match_result *r = out ? &out[i0 + slot[k]] : &local;
      memset(r, 0, sizeof *r);
      r->best_score = -1;
      r->nfound = m->bn[k];
      after_search(m, faces[i0 + slot[k]], m->bc + (size_t)k * ARGUS_MATCH_K,
                   r);
    }
  }
  pthread_mutex_unlock(&m->batch_mu);
  atomic_fetch_add(&m->cpu_ns, argus_thread_cpu_ns() - c0);
  if (nfailed)
    *nfailed = bad;
  return first;
}

/* ---- enrolment changes ----------------------------------------------------- */

argus_err argus_matcher_apply_change(argus_matcher *m,
                                     const argus_event_watchlist *c,
                                     argus_error_detail *err) {
  if (!m || !c)
    return ARGUS_E_INVALID_ARG;
  pthread_mutex_lock(&m->mu);
  int skip = c->seq > 0 && c->seq <= m->applied_seq;
  pthread_mutex_unlock(&m->mu);
  if (skip)
    return ARGUS_OK;
  argus_gallery_error ge = {{0}};
  argus_err rc;
  if (c->what == ARGUS_EVENT_CHANGE_PERSON && c->person_id > 0) {
    rc = argus_gallery_sync_person(m->g, c->person_id, &ge);
  } else {
    rc = argus_gallery_reload(m->g, &ge);
    if (rc == ARGUS_OK)
      atomic_fetch_add(&m->reloads, 1);
  }
  if (rc) {
    argus_error_detail_set(err, "match: applying an enrolment change: %s",
                           ge.msg[0] ? ge.msg : argus_strerror(rc));
    return rc;
  }
  atomic_fetch_add(&m->changes, 1);
  pthread_mutex_lock(&m->mu);
  if (c->seq > m->applied_seq)
    m->applied_seq = c->seq;
  pthread_mutex_unlock(&m->mu);
  return ARGUS_OK;
}

/* ---- on the bus ------------------------------------------------------------ */

/* The event of a message: its struct, or parsed from its document (a
 * message of another process, or of a publisher that writes text). */
static const argus_event *event_of(const argus_bus_msg *msg,
                                   argus_event **parsed) {
  *parsed = NULL;
  if (msg->event)
    return msg->event;
  argus_error_detail e = {{0}};
  if (argus_event_from_json(msg->data, msg->size, parsed, &e) != ARGUS_OK) {
    argus_log(ARGUS_LOG_WARN, MATCH_MOD, "%s %s ignored: %s", msg->topic,
              msg->id, e.msg);
    return NULL;
  }
  return *parsed;
}

static void on_face(void *user, const argus_bus_msg *msg) {
  argus_matcher *m = user;
  argus_event *parsed = NULL;
  const argus_event *ev = event_of(msg, &parsed);
  if (ev) {
    argus_error_detail e = {{0}};
    if (argus_matcher_handle_face(m, ev, NULL, &e) != ARGUS_OK)
      argus_log(ARGUS_LOG_WARN, MATCH_MOD, "%s", e.msg);
  } else {
    atomic_fetch_add(&m->rejected, 1);
  }
  argus_event_unref(parsed);
}

/* The face events of one delivery round (NATS: one fetch), searched
 * together. */
static void on_faces(void *user, const argus_bus_msg *msgs, int n) {
  argus_matcher *m = user;
  const argus_event *evs[ARGUS_MATCH_BATCH_MAX];
  argus_event *parsed[ARGUS_MATCH_BATCH_MAX];
  for (int i0 = 0; i0 < n; i0 += ARGUS_MATCH_BATCH_MAX) {
    int nb = n - i0 < ARGUS_MATCH_BATCH_MAX ? n - i0 : ARGUS_MATCH_BATCH_MAX,
        k = 0;
    for (int i = 0; i < nb; i++) {
      parsed[i] = NULL;
      const argus_event *ev = event_of(&msgs[i0 + i], &parsed[i]);
      if (ev)
        evs[k++] = ev;
      else
        atomic_fetch_add(&m->rejected, 1);
    }
    argus_error_detail e = {{0}};
    int failed = 0;
    if (argus_matcher_handle_faces(m, evs, k, NULL, &failed, &e) != ARGUS_OK)
      argus_log(ARGUS_LOG_WARN, MATCH_MOD, "%s%s", e.msg,
                failed > 1 ? " (and others of the batch)" : "");
    for (int i = 0; i < nb; i++)
      argus_event_unref(parsed[i]);
  }
}

static void on_change(void *user, const argus_bus_msg *msg) {
  argus_matcher *m = user;
  argus_event *parsed = NULL;
  const argus_event *ev = event_of(msg, &parsed);
  if (ev && ev->type == ARGUS_EVENT_WATCHLIST) {
    argus_error_detail e = {{0}};
    if (argus_matcher_apply_change(m, &ev->u.watchlist, &e) != ARGUS_OK)
      argus_log(ARGUS_LOG_ERROR, MATCH_MOD, "%s", e.msg);
    else
      argus_log(ARGUS_LOG_INFO, MATCH_MOD,
                "enrolment changed (%s%s%s): applied",
                ev->u.watchlist.action[0] ? ev->u.watchlist.action : "change",
                ev->u.watchlist.watchlist[0] ? " in " : "",
                ev->u.watchlist.watchlist);
  }
  argus_event_unref(parsed);
}

argus_err argus_matcher_start(argus_matcher *m, int queue) {
  if (!m || !m->bus || m->face_sub || queue < 0)
    return ARGUS_E_INVALID_ARG;
  argus_bus_sub_options o;
  memset(&o, 0, sizeof o);
  o.pattern = ARGUS_EVENT_TOPIC_FACE;
  /* Over a shared bus, the matchers of a deployment share the face events
   * (each handled by one of them, acknowledged once handled). */
  o.group = "match";
  o.queue_msgs = queue ? queue : 256;
  o.handler = on_face;
  o.batch_handler = on_faces;
  o.batch_max = ARGUS_MATCH_BATCH_MAX;
  o.user = m;
  o.events = 1;
  argus_err rc = argus_bus_subscribe(m->bus, &o, &m->face_sub, NULL);
  if (rc)
    return rc;
  memset(&o, 0, sizeof o);
  o.pattern = ARGUS_EVENT_TOPIC_WATCHLIST;
  o.queue_msgs = 1024;
  o.handler = on_change;
  o.user = m;
  o.events = 1;
  rc = argus_bus_subscribe(m->bus, &o, &m->change_sub, NULL);
  if (rc) {
    argus_bus_unsubscribe(m->face_sub);
    m->face_sub = NULL;
  }
  return rc;
}

void argus_matcher_stop(argus_matcher *m) {
  if (!m)
    return;
  argus_bus_unsubscribe(m->face_sub);
  argus_bus_unsubscribe(m->change_sub);
  m->face_sub = m->change_sub = NULL;
}

argus_err argus_matcher_get_stats(argus_matcher *m, argus_matcher_stats *out) {
  if (!m || !out)
    return ARGUS_E_INVALID_ARG;
  memset(out, 0, sizeof *out);
  out->faces = atomic_load(&m->faces);
  out->matches = atomic_load(&m->matches);
  out->alerts = atomic_load(&m->alerts);
  out->suppressed_track = atomic_load(&m->sup_track);
  out->suppressed_cooldown = atomic_load(&m->sup_cooldown);
  out->unmatched_published = atomic_load(&m->unmatched);
  out->rejected = atomic_load(&m->rejected);
  out->errors = atomic_load(&m->errors);
  out->changes = atomic_load(&m->changes);
  out->reloads = atomic_load(&m->reloads);
  out->forgotten = atomic_load(&m->forgotten);
  out->cpu_s = (double)atomic_load(&m->cpu_ns) * 1e-9;
  out->suppressed_negative = atomic_load(&m->sup_negative);
  out->marked_negative = atomic_load(&m->marked_negative);
  argus_bus_sub_stats ss;
  out->backlog = -1;
  if (m->face_sub && argus_bus_sub_get_stats(m->face_sub, &ss) == ARGUS_OK) {
    out->dropped = ss.dropped;
    out->backlog = ss.backlog;
  }
  return ARGUS_OK;
}
