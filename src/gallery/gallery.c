/* The gallery: the store and an in-memory index of one model's templates,
 * kept in sync; 1:N search per watchlist with per-watchlist thresholds.
 *
 * One file of about 1,100 lines on purpose: loading, enrolment, removal,
 * sync and reload all change the same in-memory state under the same two
 * locks, and their undo paths (store vs index) must be read together;
 * photo preparation (enrol.c), reindexing (reindex.c) and folder import
 * (import.c) stand apart.
 *
 * Locks: `wmu` serialises writers (enrol, remove, sync, reload, reindex)
 * and every use of the store handle; `rw` guards the in-memory state (index
 * contents, person and photo tables, watchlists). Searches take `rw` for
 * reading only, so they never wait for the store. A writer does its store
 * work under `wmu` alone and takes `rw` for writing only to apply the
 * result to memory. Lock order: wmu, then rw. */
#define _GNU_SOURCE
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gallery_internal.h"

typedef struct gperson {
  argus_store_id id, watchlist_id;
  char *name, *external_id;
  int64_t *photos; /* photo ids of the templates in the index */
  int nphotos;
  /* Sum of the person's unit templates when it has two or more (the mean
   * template's direction, for ARGUS_GALLERY_FUSE_MEAN), else NULL. */
  float *sum;
  /* Review-by date (argus_store_clock_ns() time; INT64_MAX: none): from
   * then on the person is not a candidate (docs/lawful-use.md). */
  int64_t review_ns;
  /* Negative examples of the person (rejected alerts' probes of the
   * gallery's model): nneg vectors of dim floats, and their ids. */
  float *negs;
  int64_t *neg_ids;
  int nneg;
} gperson;

typedef struct gwatchlist {
  argus_store_id id;
  char name[ARGUS_STORE_NAME_MAX];
  double own;      /* the stored threshold; NAN: the default */
  float threshold; /* in effect */
  int active;
  /* Expiry (INT64_MAX: none): from then on the list is not searched, even
   * when a search names it. Checked at each search, so a list that expires
   * while the process runs stops matching without a reload. */
  int64_t expires_ns;
  int negatives; /* ARGUS_GALLERY_NEGATIVES_* */
} gwatchlist;

typedef struct gstate {
  argus_index *index; /* NULL in a write-only gallery */
  gwatchlist *wls;
  size_t nwls;
  gmap persons; /* person id -> gperson* (persons with templates) */
  gmap photos;  /* photo id -> gperson* */
  /* photo id -> float[dim], the fp32 template, kept when the index is
   * compressed (fp16, int8) for its exact re-ranking (gallery_fetch) */
  gmap vecs;
  int64_t other_models;
  /* Reference of the top-N normalisation (argus_gallery_norm): the mean
   * cohort mean and standard deviation of non-mated searches of the
   * gallery's own templates; norm_ok 0: not available. */
  float norm_mu, norm_sd;
  int norm_ok;
} gstate;

struct argus_gallery {
  argus_gallery_config cfg;
  argus_index_config icfg;
  char factory[128]; /* copy of icfg.approx_factory */
  argus_store_model model;
  char model_name[ARGUS_STORE_NAME_MAX], model_version[ARGUS_STORE_NAME_MAX];
  argus_store *store;
  int keep_vecs; /* the index is compressed: keep fp32 copies in st.vecs */
  pthread_mutex_t wmu;
  pthread_rwlock_t rw;
  gstate st;
  /* Told of every enrolment change this gallery makes (under wmu). */
  argus_gallery_change_fn hook;
  void *hook_user;
  /* Candidates left out because the person's review-by date passed. */
  atomic_llong withheld;
};

/* Under wmu, after a change was stored. */
static void notify(argus_gallery *g, const char *action,
                   argus_store_id person_id, const char *watchlist) {
  if (!g->hook)
    return;
  argus_gallery_change c;
  memset(&c, 0, sizeof c);
  c.action = action;
  c.person_id = person_id;
  c.watchlist = watchlist ? watchlist : "";
  g->hook(g->hook_user, &c);
}

void argus_gallery_set_change_hook(argus_gallery *g, argus_gallery_change_fn fn,
                                   void *user) {
  if (!g)
    return;
  pthread_mutex_lock(&g->wmu);
  g->hook = fn;
  g->hook_user = user;
  pthread_mutex_unlock(&g->wmu);
}

/* Index ids are photo ids: a photo has at most one template per model. */

/* ---- state ---------------------------------------------------------------
 */

static void person_free(gperson *p) {
  if (!p)
    return;
  free(p->name);
  free(p->external_id);
  free(p->photos);
  free(p->sum);
  free(p->negs);
  free(p->neg_ids);
  free(p);
}

/* Adds n vectors (dim floats each), each scaled to unit length, to *sum
 * (allocated zeroed when NULL). Errors: NOMEM. */
static argus_err sum_add(float **sum, int dim, const float *v, int n) {
  if (!*sum && !(*sum = calloc((size_t)dim, sizeof **sum)))
    return ARGUS_E_NOMEM;
  for (int i = 0; i < n; i++) {
    const float *x = v + (size_t)i * (size_t)dim;
    double ss = 0;
    for (int k = 0; k < dim; k++)
      ss += (double)x[k] * x[k];
    if (!(ss > 0))
      continue;
    float inv = (float)(1.0 / sqrt(ss));
    for (int k = 0; k < dim; k++)
      (*sum)[k] += x[k] * inv;
  }
  return ARGUS_OK;
}

static void free_person_cb(void *user, int64_t key, void *val) {
  (void)user;
  (void)key;
  person_free(val);
}

static void free_vec_cb(void *user, int64_t key, void *val) {
  (void)user;
  (void)key;
  free(val);
}

static void state_free(gstate *st) {
  argus_index_destroy(st->index);
  gmap_each(&st->persons, free_person_cb, NULL);
  gmap_each(&st->vecs, free_vec_cb, NULL);
  gmap_free(&st->persons);
  gmap_free(&st->photos);
  gmap_free(&st->vecs);
  free(st->wls);
  memset(st, 0, sizeof *st);
}

/* Keeps a copy of photo's template for the refinement (when kept at all).
 * Errors: NOMEM. */
static argus_err vec_keep(const argus_gallery *g, gstate *st, int64_t photo,
                          const float *v) {
  if (!g->keep_vecs)
    return ARGUS_OK;
  size_t bytes = (size_t)g->cfg.dim * sizeof(float);
  float *c = malloc(bytes);
  if (!c)
    return ARGUS_E_NOMEM;
  memcpy(c, v, bytes);
  free(gmap_del(&st->vecs, photo));
  argus_err e = gmap_put(&st->vecs, photo, c);
  if (e)
    free(c);
  return e;
}

static void vec_drop(gstate *st, int64_t photo) {
  free(gmap_del(&st->vecs, photo));
}

/* The refine callback of a compressed index: the fp32 template of a photo,
 * as added. Runs inside argus_index_search, which the gallery calls only
 * on g->st.index with g->rw held for reading, so g->st is that index's
 * state and no writer changes it meanwhile. */
static argus_err gallery_fetch(void *user, int64_t id, float *vec) {
  const argus_gallery *g = user;
  const float *v = gmap_get(&g->st.vecs, id);
  if (!v)
    return ARGUS_E_NOT_FOUND; /* cannot happen: index and vecs change together */
  memcpy(vec, v, (size_t)g->cfg.dim * sizeof *vec);
  return ARGUS_OK;
}

static gperson *person_new(const argus_store_person *sp) {
  gperson *p = calloc(1, sizeof *p);
  if (!p)
    return NULL;
  p->review_ns = argus_store_legal_ns(sp->review_by);
  p->id = sp->id;
  p->watchlist_id = sp->watchlist_id;
  p->name = strdup(sp->name);
  p->external_id = strdup(sp->external_id);
  if (!p->name || !p->external_id) {
    person_free(p);
    return NULL;
  }
  return p;
}

static argus_err person_add_photo_id(gperson *p, int64_t photo_id) {
  /* Grow by doubling from 2: persons have a handful of photos. */
  int n = p->nphotos;
  if ((n & (n - 1)) == 0 && n >= 2) {
    int64_t *np = realloc(p->photos, (size_t)n * 2 * sizeof *np);
    if (!np)
      return ARGUS_E_NOMEM;
    p->photos = np;
  } else if (n == 0) {
    p->photos = malloc(2 * sizeof *p->photos);
    if (!p->photos)
      return ARGUS_E_NOMEM;
  }
  p->photos[p->nphotos++] = photo_id;
  return ARGUS_OK;
}

static const gwatchlist *wl_by_id(const gstate *st, argus_store_id id) {
  for (size_t i = 0; i < st->nwls; i++)
    if (st->wls[i].id == id)
      return &st->wls[i];
  return NULL;
}

static const gwatchlist *wl_by_name(const gstate *st, const char *name) {
  for (size_t i = 0; i < st->nwls; i++)
    if (strcmp(st->wls[i].name, name) == 0)
      return &st->wls[i];
  return NULL;
}

static argus_err store_fail(argus_gallery_error *err, argus_err e,
                            const argus_store_error *se, const char *what) {
  return gallery_fail(err, e, "%s: %s", what,
                      se->msg[0] ? se->msg : argus_strerror(e));
}

/* Reads the watchlists into a new array. */
static argus_err load_watchlists(argus_gallery *g, gwatchlist **out,
                                 size_t *nout, argus_gallery_error *err) {
  argus_store_watchlist *list = NULL;
  size_t n = 0;
  argus_store_error se = {{0}};
  argus_err e = argus_store_watchlist_list(g->store, &list, &n, &se);
  if (e)
    return store_fail(err, e, &se, "reading watchlists");
  gwatchlist *w = calloc(n ? n : 1, sizeof *w);
  if (!w) {
    argus_store_free(list);
    return gallery_fail(err, ARGUS_E_NOMEM, "out of memory");
  }
  for (size_t i = 0; i < n; i++) {
    w[i].id = list[i].id;
    snprintf(w[i].name, sizeof w[i].name, "%s", list[i].name);
    w[i].own = list[i].threshold;
    w[i].threshold = isnan(list[i].threshold) ? g->cfg.default_threshold
                                              : (float)list[i].threshold;
    w[i].active = list[i].active;
    w[i].expires_ns = argus_store_legal_ns(list[i].expires);
    w[i].negatives = strcmp(list[i].negatives, "off") == 0
                         ? ARGUS_GALLERY_NEGATIVES_OFF
                     : strcmp(list[i].negatives, "mark") == 0
                         ? ARGUS_GALLERY_NEGATIVES_MARK
                         : ARGUS_GALLERY_NEGATIVES_SUPPRESS;
  }
  argus_store_free(list);
  *out = w;
  *nout = n;
  return ARGUS_OK;
}

static argus_err new_index(argus_gallery *g, argus_index **out,
                           argus_gallery_error *err) {
  argus_err e = argus_index_create(&g->icfg, out, NULL);
  if (e)
    return gallery_fail(err, e, "creating the index for %s (dim %d): %s",
                        g->cfg.model_id, g->cfg.dim, argus_strerror(e));
  return ARGUS_OK;
}

/* Templates gathered by the store iteration and added in batches. */
#define LOAD_BATCH 1024
/* Templates sampled at load for the normalisation's reference. */
#define NORM_SAMPLES 256

typedef struct load_ctx {
  argus_gallery *g;
  gstate *st;
  argus_index *index;
  int64_t *ids, *wls;
  float *vecs;
  size_t n;
  /* Every template loaded: (photo id, person id). */
  int64_t *pairs;
  size_t npairs, cap;
  int64_t wrong_dim;
  argus_err e;
  /* Reservoir sample of the templates (vectors and person ids) for the
   * normalisation's reference; deterministic (fixed seed, store order). */
  float *samp;
  int64_t *samp_person;
  size_t nsamp;
  uint64_t seen, rng;
  /* person id -> float[dim], the sum of its templates (every person while
   * loading; kept for those with two or more) */
  gmap sums;
} load_ctx;

static int load_flush(load_ctx *c) {
  if (c->n == 0)
    return 0;
  argus_err e =
      argus_index_add_batch(c->index, c->n, c->ids, c->wls, c->vecs, NULL);
  if (e) {
    c->e = e;
    return 1;
  }
  c->n = 0;
  return 0;
}

static int load_cb(void *user, const argus_store_template *t) {
  load_ctx *c = user;
  const int dim = c->g->cfg.dim;
  if (t->dim != dim) {
    c->wrong_dim++;
    return 0;
  }
  if (c->npairs == c->cap) {
    size_t cap = c->cap ? c->cap * 2 : 4096;
    int64_t *np = realloc(c->pairs, cap * 2 * sizeof *np);
    if (!np) {
      c->e = ARGUS_E_NOMEM;
      return 1;
    }
    c->pairs = np;
    c->cap = cap;
  }
  c->pairs[2 * c->npairs] = t->photo_id;
  c->pairs[2 * c->npairs + 1] = t->person_id;
  c->npairs++;
  argus_err e = vec_keep(c->g, c->st, t->photo_id, t->vector);
  if (e) {
    c->e = e;
    return 1;
  }
  {
    float *sum = gmap_get(&c->sums, t->person_id);
    int fresh = sum == NULL;
    if (sum_add(&sum, dim, t->vector, 1) != ARGUS_OK ||
        (fresh && gmap_put(&c->sums, t->person_id, sum) != ARGUS_OK)) {
      if (fresh)
        free(sum);
      c->e = ARGUS_E_NOMEM;
      return 1;
    }
  }
  if (c->samp) {
    size_t slot = NORM_SAMPLES;
    if (c->seen < NORM_SAMPLES) {
      slot = (size_t)c->seen;
    } else {
      c->rng ^= c->rng << 13;
      c->rng ^= c->rng >> 7;
      c->rng ^= c->rng << 17;
      uint64_t r = c->rng % (c->seen + 1);
      if (r < NORM_SAMPLES)
        slot = (size_t)r;
    }
    if (slot < NORM_SAMPLES) {
      memcpy(c->samp + slot * (size_t)dim, t->vector,
             (size_t)dim * sizeof(float));
      c->samp_person[slot] = t->person_id;
      if (slot >= c->nsamp)
        c->nsamp = slot + 1;
    }
    c->seen++;
  }
  c->ids[c->n] = t->photo_id;
  c->wls[c->n] = t->watchlist_id;
  memcpy(c->vecs + c->n * (size_t)dim, t->vector, (size_t)dim * sizeof(float));
  c->n++;
  return c->n == LOAD_BATCH ? load_flush(c) : 0;
}

/* The normalisation's reference: each sampled template searched among the
 * other persons (a non-mated search), its cohort (ranks 2..N+1 of those
 * persons) summarised by mean and standard deviation, averaged. Leaves
 * norm_ok 0 when the gallery is too small or the searches fail (the
 * normalisation is then not applied; logged). */
static void norm_reference(const argus_gallery *g, gstate *st,
                           const float *samp, const int64_t *owner, size_t n) {
  const int N = ARGUS_GALLERY_NORM_COHORT;
  st->norm_ok = 0;
  if (n < 16 || st->persons.count < (size_t)N + 2)
    return;
  size_t kt = (size_t)(N + 2) * 8;
  if (kt > ARGUS_INDEX_MAX_K)
    kt = ARGUS_INDEX_MAX_K;
  argus_index_hit *hits = malloc(n * kt * sizeof *hits);
  size_t *nf = malloc(n * sizeof *nf);
  double smu = 0, ssd = 0;
  size_t used = 0;
  if (!hits || !nf ||
      argus_index_search(st->index, samp, n, kt, NULL, hits, nf, NULL) !=
          ARGUS_OK) {
    argus_log(ARGUS_LOG_WARN, GALLERY_MOD,
              "score normalisation: the reference searches failed; scores "
              "stay cosines");
    goto out;
  }
  for (size_t q = 0; q < n; q++) {
    int64_t seen[ARGUS_GALLERY_NORM_COHORT + 1];
    float sc[ARGUS_GALLERY_NORM_COHORT + 1];
    int m = 0;
    for (size_t i = 0; i < nf[q] && m < N + 1; i++) {
      const argus_index_hit *h = &hits[q * kt + i];
      const gperson *p = gmap_get(&st->photos, h->id);
      if (!p || p->id == owner[q])
        continue;
      int dup = 0;
      for (int j = 0; j < m && !dup; j++)
        dup = seen[j] == p->id;
      if (dup)
        continue;
      seen[m] = p->id;
      sc[m++] = h->score;
    }
    if (m < N + 1)
      continue; /* persons with many photos filled the hits: skipped */
    double mu = 0, var = 0;
    for (int j = 1; j <= N; j++)
      mu += sc[j];
    mu /= N;
    for (int j = 1; j <= N; j++)
      var += (sc[j] - mu) * (sc[j] - mu);
    smu += mu;
    ssd += sqrt(var / N);
    used++;
  }
  if (used >= 16 && ssd > 0) {
    st->norm_mu = (float)(smu / (double)used);
    st->norm_sd = (float)(ssd / (double)used);
    st->norm_ok = 1;
    argus_log(ARGUS_LOG_DEBUG, GALLERY_MOD,
              "score normalisation reference of %s: cohort mean %.4f, sd "
              "%.4f (%zu searches)",
              g->cfg.model_id, (double)st->norm_mu, (double)st->norm_sd, used);
  }
out:
  free(hits);
  free(nf);
}

/* ---- negative examples ------------------------------------------------------
 * Kept with the person they belong to, of the gallery's model only (the
 * store selects by model: templates of different models are never
 * compared). */

static argus_err person_add_negative(gperson *p, int dim, int64_t id,
                                     const float *v) {
  float *nv =
      realloc(p->negs, (size_t)(p->nneg + 1) * (size_t)dim * sizeof *nv);
  if (!nv)
    return ARGUS_E_NOMEM;
  p->negs = nv;
  int64_t *ni = realloc(p->neg_ids, (size_t)(p->nneg + 1) * sizeof *ni);
  if (!ni)
    return ARGUS_E_NOMEM;
  p->neg_ids = ni;
  memcpy(p->negs + (size_t)p->nneg * (size_t)dim, v, (size_t)dim * sizeof *v);
  p->neg_ids[p->nneg++] = id;
  return ARGUS_OK;
}

typedef struct neg_ctx {
  const gmap *persons; /* person id -> gperson* */
  gperson *only;       /* or the one person */
  int dim;
  argus_err e;
} neg_ctx;

static int neg_cb(void *user, const argus_store_negative *n) {
  neg_ctx *c = user;
  if (n->dim != c->dim)
    return 0;
  gperson *p = c->only ? (c->only->id == n->person_id ? c->only : NULL)
                       : gmap_get(c->persons, n->person_id);
  if (!p)
    return 0; /* a person without templates of this model */
  if ((c->e = person_add_negative(p, c->dim, n->id, n->vector)))
    return 1;
  return 0;
}

/* Reads the negatives of every person in `persons` (or of `only`). Caller
 * holds wmu. */
static argus_err load_negatives(argus_gallery *g, const gmap *persons,
                                gperson *only, argus_gallery_error *err) {
  neg_ctx c = {persons, only, g->cfg.dim, ARGUS_OK};
  argus_store_error se = {{0}};
  argus_err e = argus_store_negative_foreach(
      g->store, &g->model, only ? only->id : 0, neg_cb, &c, &se);
  if (e)
    return store_fail(err, e, &se, "reading negative examples");
  if (c.e)
    return gallery_fail(err, c.e, "out of memory");
  return ARGUS_OK;
}

/* The nearest negative example of p to q (cosine); *id 0: none. */
static void nearest_negative(const gperson *p, const float *q, size_t dim,
                             int64_t *id, float *score) {
  *id = 0;
  *score = -2;
  double qq = 0;
  for (size_t k = 0; k < dim; k++)
    qq += (double)q[k] * q[k];
  for (int i = 0; i < p->nneg; i++) {
    const float *v = p->negs + (size_t)i * dim;
    double d = 0, vv = 0;
    for (size_t k = 0; k < dim; k++) {
      d += (double)q[k] * v[k];
      vv += (double)v[k] * v[k];
    }
    if (!(vv > 0) || !(qq > 0))
      continue;
    float c = (float)(d / sqrt(qq * vv));
    if (*id == 0 || c > *score) {
      *id = p->neg_ids[i];
      *score = c;
    }
  }
}

/* Loads the watchlists and, unless write-only, the persons and templates of
 * the gallery's model into a new state. Caller holds wmu. */

/* Loading: persons with a template of the gallery's model join the map. */
typedef struct person_load {
  gmap *has; /* person ids with a template */
  gmap *persons;
  argus_err e;
} person_load;

static int person_load_cb(void *user, const argus_store_person *sp) {
  person_load *pl = user;
  if (!gmap_get(pl->has, sp->id))
    return 0;
  gperson *p = person_new(sp);
  if (!p || gmap_put(pl->persons, p->id, p)) {
    person_free(p);
    pl->e = ARGUS_E_NOMEM;
    return 1;
  }
  return 0;
}

static argus_err load_state(argus_gallery *g, gstate *st,
                            argus_gallery_error *err) {
  memset(st, 0, sizeof *st);
  argus_err e = load_watchlists(g, &st->wls, &st->nwls, err);
  if (e || g->cfg.write_only)
    return e;
  load_ctx c;
  memset(&c, 0, sizeof c);
  c.g = g;
  argus_store_error se = {{0}};
  if ((e = new_index(g, &st->index, err)))
    goto done;
  c.index = st->index;
  c.st = st;
  c.ids = malloc(LOAD_BATCH * sizeof *c.ids);
  c.wls = malloc(LOAD_BATCH * sizeof *c.wls);
  c.vecs = malloc((size_t)LOAD_BATCH * (size_t)g->cfg.dim * sizeof(float));
  c.samp = malloc((size_t)NORM_SAMPLES * (size_t)g->cfg.dim * sizeof(float));
  c.samp_person = malloc(NORM_SAMPLES * sizeof *c.samp_person);
  c.rng = 0x9e3779b97f4a7c15ull;
  if (!c.ids || !c.wls || !c.vecs || !c.samp || !c.samp_person) {
    e = gallery_fail(err, ARGUS_E_NOMEM, "out of memory");
    goto done;
  }
  e = argus_store_template_foreach(g->store, &g->model, 0, load_cb, &c, &se);
  if (e) {
    e = store_fail(err, e, &se, "reading templates");
    goto done;
  }
  if (!c.e)
    load_flush(&c);
  if (c.e) {
    e = gallery_fail(err, c.e, "loading templates of %s into the index: %s",
                     g->cfg.model_id, argus_strerror(c.e));
    goto done;
  }
  if (c.wrong_dim)
    argus_log(ARGUS_LOG_WARN, GALLERY_MOD,
              "%lld templates of %s have another dimension than %d: not "
              "loaded (run argus reindex)",
              (long long)c.wrong_dim, g->cfg.model_id, g->cfg.dim);
  /* Persons are listed after the templates were read: a person removed in
   * between has templates but no entry, and those are dropped again. */
  gmap byid = {0};
  for (size_t i = 0; i < c.npairs && !e; i++)
    e = gmap_put(&byid, c.pairs[2 * i + 1], &byid); /* marks "has one" */
  /* One at a time (millions of persons are not listed in memory); only
   * those with a template of this model are kept. */
  person_load pl = {&byid, &st->persons, ARGUS_OK};
  if (!e) {
    argus_err le =
        argus_store_person_foreach(g->store, person_load_cb, &pl, &se);
    if (le) {
      gmap_free(&byid);
      e = store_fail(err, le, &se, "reading persons");
      goto done;
    }
    e = pl.e;
  }
  gmap_free(&byid);
  for (size_t i = 0; i < c.npairs && !e; i++) {
    int64_t photo = c.pairs[2 * i], pid = c.pairs[2 * i + 1];
    gperson *p = gmap_get(&st->persons, pid);
    if (!p) {
      argus_index_remove(st->index, photo, NULL);
      vec_drop(st, photo);
      continue;
    }
    if ((e = person_add_photo_id(p, photo)) ||
        (e = gmap_put(&st->photos, photo, p)))
      break;
    if (p->nphotos == 2 && !p->sum)
      p->sum = gmap_del(&c.sums, pid); /* taken */
  }
  if (e) {
    e = gallery_fail(err, e, "out of memory");
    goto done;
  }
  if ((e = load_negatives(g, &st->persons, NULL, err)))
    goto done;
  norm_reference(g, st, c.samp, c.samp_person, c.nsamp);
  int64_t all = 0, mine = 0;
  if (argus_store_template_count(g->store, NULL, &all, &se) == ARGUS_OK &&
      argus_store_template_count(g->store, &g->model, &mine, &se) == ARGUS_OK)
    st->other_models = all - mine;
  if (st->other_models > 0)
    argus_log(ARGUS_LOG_INFO, GALLERY_MOD,
              "%lld templates of other models than %s are not searched; "
              "'argus reindex' makes templates of %s from their crops",
              (long long)st->other_models, g->cfg.model_id, g->cfg.model_id);
  argus_log(ARGUS_LOG_INFO, GALLERY_MOD,
            "loaded %zu templates of %zu persons in %zu watchlists (%s)",
            argus_index_count(st->index), st->persons.count, st->nwls,
            g->cfg.model_id);
done:
  free(c.ids);
  free(c.wls);
  free(c.vecs);
  free(c.pairs);
  free(c.samp);
  free(c.samp_person);
  gmap_each(&c.sums, free_vec_cb, NULL);
  gmap_free(&c.sums);
  if (e)
    state_free(st);
  return e;
}

/* ---- open / close ----------------------------------------------------------
 */

argus_err argus_gallery_config_from_card(const argus_face_card *card,
                                         argus_gallery_config *cfg,
                                         argus_gallery_error *err) {
  if (!card || !cfg)
    return gallery_fail(err, ARGUS_E_INVALID_ARG, "no card or config");
  if (card->kind != ARGUS_FACE_MODEL_EMBEDDER)
    return gallery_fail(err, ARGUS_E_INVALID_ARG,
                        "card %s is not an embedder's", card->name);
  memset(cfg, 0, sizeof *cfg);
  int n = snprintf(cfg->model_id, sizeof cfg->model_id, "%s@%s", card->name,
                   card->version);
  if (n < 0 || (size_t)n >= sizeof cfg->model_id)
    return gallery_fail(err, ARGUS_E_INVALID_ARG, "model id %s@%s too long",
                        card->name, card->version);
  cfg->dim = card->dim;
  float t = 0;
  double fmr = 0;
  argus_err e = argus_face_card_threshold(card, 0, &t, &fmr);
  if (e)
    return gallery_fail(err, e,
                        "card %s has no threshold at its default FMR %g",
                        card->name, card->default_fmr);
  cfg->default_threshold = t;
  cfg->default_fmr = fmr;
  cfg->provisional = card->provisional;
  return ARGUS_OK;
}

argus_err argus_gallery_open(argus_store *store,
                             const argus_gallery_config *cfg,
                             argus_gallery **out, argus_gallery_error *err) {
  if (err)
    err->msg[0] = '\0';
  if (!store || !cfg || !out)
    return gallery_fail(err, ARGUS_E_INVALID_ARG, "no store, config or output");
  *out = NULL;
  if (cfg->dim < 1 || cfg->dim > ARGUS_INDEX_MAX_DIM ||
      cfg->dim > ARGUS_STORE_DIM_MAX)
    return gallery_fail(err, ARGUS_E_INVALID_ARG, "dim %d out of range",
                        cfg->dim);
  if (!isfinite(cfg->default_threshold) || cfg->default_threshold < -1 ||
      cfg->default_threshold > 1)
    return gallery_fail(err, ARGUS_E_INVALID_ARG,
                        "default threshold %g not in [-1, 1]",
                        (double)cfg->default_threshold);
  if (!memchr(cfg->model_id, '\0', sizeof cfg->model_id))
    return gallery_fail(err, ARGUS_E_INVALID_ARG, "model id not terminated");
  argus_gallery *g = calloc(1, sizeof *g);
  if (!g)
    return gallery_fail(err, ARGUS_E_NOMEM, "out of memory");
  g->cfg = *cfg;
  g->cfg.index = NULL;
  if (argus_store_model_id_split(cfg->model_id, g->model_name,
                                 g->model_version) != ARGUS_OK) {
    free(g);
    return gallery_fail(err, ARGUS_E_INVALID_ARG,
                        "model id '%s' is not name@version", cfg->model_id);
  }
  g->model.name = g->model_name;
  g->model.version = g->model_version;
  g->model.dim = cfg->dim;
  if (cfg->index)
    g->icfg = *cfg->index;
  else
    argus_index_config_init(&g->icfg);
  if (g->icfg.approx_factory) {
    snprintf(g->factory, sizeof g->factory, "%s", g->icfg.approx_factory);
    g->icfg.approx_factory = g->factory;
  }
  g->icfg.model_id = g->cfg.model_id;
  g->icfg.dim = cfg->dim;
  /* A compressed index re-ranks its uncertain candidates from the fp32
   * templates, kept in memory (the store is no option while searching: its
   * handle is the writers', and every template read writes an audit row).
   * Exact scores, because hits are compared with thresholds. */
  g->keep_vecs =
      g->icfg.kind == ARGUS_INDEX_F16 || g->icfg.kind == ARGUS_INDEX_I8;
  if (g->keep_vecs) {
    g->icfg.refine.fetch = gallery_fetch;
    g->icfg.refine.user = g;
    g->icfg.refine.exact_scores = 1;
  } else {
    memset(&g->icfg.refine, 0, sizeof g->icfg.refine);
  }
  g->store = store;
  pthread_mutex_init(&g->wmu, NULL);
  /* Searches arrive continuously from many threads in a live pipeline: a
   * reader-preferring lock (glibc's default) could keep a writer waiting
   * for ever. No path takes `rw` for reading twice, so writer preference
   * cannot deadlock. */
  pthread_rwlockattr_t ra;
  pthread_rwlockattr_init(&ra);
#ifdef __GLIBC__
  pthread_rwlockattr_setkind_np(&ra,
                                PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
#endif
  pthread_rwlock_init(&g->rw, &ra);
  pthread_rwlockattr_destroy(&ra);
  pthread_mutex_lock(&g->wmu);
  argus_err e = load_state(g, &g->st, err);
  pthread_mutex_unlock(&g->wmu);
  if (e) {
    argus_gallery_close(g);
    return e;
  }
  *out = g;
  return ARGUS_OK;
}

void argus_gallery_close(argus_gallery *g) {
  if (!g)
    return;
  state_free(&g->st);
  pthread_rwlock_destroy(&g->rw);
  pthread_mutex_destroy(&g->wmu);
  free(g);
}

const argus_gallery_config *argus_gallery_get_config(const argus_gallery *g) {
  return g ? &g->cfg : NULL;
}

argus_err argus_gallery_get_stats(argus_gallery *g, argus_gallery_stats *out) {
  if (!g || !out)
    return ARGUS_E_INVALID_ARG;
  memset(out, 0, sizeof *out);
  pthread_rwlock_rdlock(&g->rw);
  out->watchlists = g->st.nwls;
  out->persons = g->st.persons.count;
  out->other_models = g->st.other_models;
  out->withheld = atomic_load(&g->withheld);
  if (g->st.index) {
    argus_index_stats is;
    if (argus_index_get_stats(g->st.index, &is) == ARGUS_OK) {
      out->templates = is.count;
      snprintf(out->backend, sizeof out->backend, "%s", is.backend);
      out->index_bytes = is.bytes;
      out->refine_bytes = g->st.vecs.count * (size_t)g->cfg.dim * sizeof(float);
    }
  } else {
    snprintf(out->backend, sizeof out->backend, "none (write-only)");
  }
  pthread_rwlock_unlock(&g->rw);
  return ARGUS_OK;
}

argus_err argus_gallery_threshold(argus_gallery *g, const char *watchlist,
                                  float *threshold, argus_gallery_error *err) {
  if (!g || !watchlist || !threshold)
    return gallery_fail(err, ARGUS_E_INVALID_ARG, "no gallery, name or output");
  pthread_rwlock_rdlock(&g->rw);
  const gwatchlist *w = wl_by_name(&g->st, watchlist);
  if (w)
    *threshold = w->threshold;
  pthread_rwlock_unlock(&g->rw);
  return w ? ARGUS_OK
           : gallery_fail(err, ARGUS_E_NOT_FOUND, "no watchlist '%s'",
                          watchlist);
}

/* ---- search ----------------------------------------------------------------
 */

static void fill_candidate(const gstate *st, const gperson *p,
                           const argus_index_hit *h,
                           argus_gallery_candidate *c) {
  const gwatchlist *w = wl_by_id(st, p->watchlist_id);
  memset(c, 0, sizeof *c);
  c->person_id = p->id;
  c->watchlist_id = p->watchlist_id;
  c->photo_id = h->id;
  c->score = h->score;
  c->raw_score = h->score;
  c->threshold = w ? w->threshold : INFINITY;
  c->match = w && h->score >= w->threshold;
  c->negatives = w ? w->negatives : ARGUS_GALLERY_NEGATIVES_OFF;
  snprintf(c->person, sizeof c->person, "%s", p->name);
  snprintf(c->external_id, sizeof c->external_id, "%s", p->external_id);
  if (w)
    snprintf(c->watchlist, sizeof c->watchlist, "%s", w->name);
}

/* Collapses template hits (best first) into one candidate per person.
 * Returns the number of candidates written (at most k). */
static int collapse(const gstate *st, const argus_index_hit *hits, size_t nh,
                    int k, int64_t now, long long *withheld,
                    argus_gallery_candidate *out) {
  int n = 0;
  for (size_t i = 0; i < nh && n < k; i++) {
    const gperson *p = gmap_get(&st->photos, hits[i].id);
    if (!p)
      continue; /* cannot happen: photos and index change together */
    if (p->review_ns <= now) {
      /* Past its review-by date: no candidate until renewed. */
      (*withheld)++;
      continue;
    }
    int seen = 0;
    for (int j = 0; j < n && !seen; j++)
      seen = out[j].person_id == p->id;
    if (!seen)
      fill_candidate(st, p, &hits[i], &out[n++]);
  }
  return n;
}

/* Re-scores the n candidates of persons with two or more photos by their
 * mean template (ARGUS_GALLERY_FUSE_MEAN) and sorts them again, best first
 * (stable). Caller holds rw. */
static void fuse_mean(const gstate *st, const float *q, size_t dim,
                      argus_gallery_candidate *c, int n) {
  double qq = 0;
  for (size_t k = 0; k < dim; k++)
    qq += (double)q[k] * q[k];
  const double qn = sqrt(qq);
  int changed = 0;
  for (int i = 0; i < n; i++) {
    const gperson *p = gmap_get(&st->persons, c[i].person_id);
    if (!p || !p->sum)
      continue;
    double d = 0, ss = 0;
    for (size_t k = 0; k < dim; k++) {
      d += (double)q[k] * p->sum[k];
      ss += (double)p->sum[k] * p->sum[k];
    }
    if (!(ss > 0) || !(qn > 0))
      continue;
    float sc = (float)(d / (qn * sqrt(ss)));
    c[i].score = sc;
    c[i].raw_score = sc;
    c[i].match = sc >= c[i].threshold;
    changed = 1;
  }
  if (!changed)
    return;
  for (int i = 1; i < n; i++) {
    argus_gallery_candidate t = c[i];
    int j = i;
    for (; j > 0 && c[j - 1].score < t.score; j--)
      c[j] = c[j - 1];
    c[j] = t;
  }
}

/* The normalisation's reference of the state searched. */
typedef struct norm_ref {
  float mu, sd;
  int ok;
} norm_ref;

/* The search without normalisation (k persons per query, 1 <= k <=
 * ARGUS_GALLERY_MAX_K); *ref gets the
 * normalisation's reference of the state searched, read under the same
 * lock. */
static argus_err search_persons(argus_gallery *g, const float *queries,
                                size_t nq, int k,
                                const argus_gallery_search_opts *opts,
                                argus_gallery_candidate *out, int *nfound,
                                norm_ref *ref, argus_gallery_error *err) {
  if (!g || (nq && (!queries || !out || !nfound)))
    return gallery_fail(err, ARGUS_E_INVALID_ARG, "search: NULL argument");
  if (g->cfg.write_only)
    return gallery_fail(err, ARGUS_E_INVALID_ARG,
                        "search: the gallery was opened write-only");
  if (opts && opts->n_watchlists && !opts->watchlists)
    return gallery_fail(err, ARGUS_E_INVALID_ARG,
                        "search: %zu watchlists but no names",
                        opts->n_watchlists);
  if (nq == 0)
    return ARGUS_OK;
  const size_t dim = (size_t)g->cfg.dim;
  for (size_t q = 0; q < nq; q++) {
    double ss = 0;
    for (size_t i = 0; i < dim; i++)
      ss += (double)queries[q * dim + i] * queries[q * dim + i];
    if (!isfinite(ss) || ss == 0)
      return gallery_fail(err, ARGUS_E_INVALID_ARG,
                          "search: query %zu has NaN/Inf values or zero "
                          "length",
                          q);
  }
  /* Several templates per person: ask the index for more hits than
   * persons wanted, and widen the search for a query that comes back
   * short. */
  size_t kt = (size_t)k * 2 < (size_t)k + 8 ? (size_t)k + 8 : (size_t)k * 2;
  if (kt > ARGUS_INDEX_MAX_K)
    kt = ARGUS_INDEX_MAX_K;
  argus_err e = ARGUS_OK;
  int64_t *wl = NULL;
  argus_index_hit *hits = NULL, *more = NULL;
  size_t *nf = NULL;

  const int64_t now = argus_store_clock_ns();
  long long withheld = 0;
  pthread_rwlock_rdlock(&g->rw);
  const gstate *st = &g->st;
  ref->mu = st->norm_mu;
  ref->sd = st->norm_sd;
  ref->ok = st->norm_ok;
  size_t nwl = 0;
  wl = malloc((st->nwls + (opts ? opts->n_watchlists : 0) + 1) * sizeof *wl);
  hits = malloc(nq * kt * sizeof *hits);
  nf = malloc(nq * sizeof *nf);
  if (!wl || !hits || !nf) {
    e = gallery_fail(err, ARGUS_E_NOMEM, "out of memory");
    goto out;
  }
  if (opts && opts->n_watchlists) {
    for (size_t i = 0; i < opts->n_watchlists; i++) {
      const gwatchlist *w =
          opts->watchlists[i] ? wl_by_name(st, opts->watchlists[i]) : NULL;
      if (!w) {
        e = gallery_fail(err, ARGUS_E_NOT_FOUND, "no watchlist '%s'",
                         opts->watchlists[i] ? opts->watchlists[i] : "(null)");
        goto out;
      }
      /* An expired list is read-only and matches nothing, also when a
       * search names it. */
      if (w->expires_ns > now)
        wl[nwl++] = w->id;
    }
  } else {
    for (size_t i = 0; i < st->nwls; i++)
      if (st->wls[i].active && st->wls[i].expires_ns > now)
        wl[nwl++] = st->wls[i].id;
  }
  if (nwl == 0 || argus_index_count(st->index) == 0) {
    for (size_t q = 0; q < nq; q++)
      nfound[q] = 0;
    goto out;
  }
  argus_index_search_opts so = {wl, nwl, opts ? opts->pool : NULL};
  e = argus_index_search(st->index, queries, nq, kt, &so, hits, nf, NULL);
  if (e) {
    e = gallery_fail(err, e, "index search failed: %s", argus_strerror(e));
    goto out;
  }
  for (size_t q = 0; q < nq; q++) {
    argus_gallery_candidate *c = out + q * (size_t)k;
    /* Withheld candidates are counted once, in the first pass. */
    nfound[q] = collapse(st, hits + q * kt, nf[q], k, now, &withheld, c);
    /* Fewer persons than asked although the index had more hits: the top
     * templates belong to few persons; search this query wider. */
    size_t kw = kt;
    while (nfound[q] < k && nf[q] == kw && kw < ARGUS_INDEX_MAX_K) {
      kw = kw * 4 > ARGUS_INDEX_MAX_K ? ARGUS_INDEX_MAX_K : kw * 4;
      free(more);
      more = malloc(kw * sizeof *more);
      size_t n1 = 0;
      if (!more) {
        e = gallery_fail(err, ARGUS_E_NOMEM, "out of memory");
        goto out;
      }
      e = argus_index_search(st->index, queries + q * dim, 1, kw, &so, more,
                             &n1, NULL);
      if (e) {
        e = gallery_fail(err, e, "index search failed: %s", argus_strerror(e));
        goto out;
      }
      long long again = 0;
      nfound[q] = collapse(st, more, n1, k, now, &again, c);
      if (n1 < kw)
        break;
    }
    if (opts && opts->fuse == ARGUS_GALLERY_FUSE_MEAN)
      fuse_mean(st, queries + q * dim, dim, c, nfound[q]);
    for (int i = 0; i < nfound[q]; i++) {
      const gperson *p = gmap_get(&st->persons, c[i].person_id);
      if (p && p->nneg > 0) {
        int64_t nid = 0;
        nearest_negative(p, queries + q * dim, dim, &nid, &c[i].negative_score);
        c[i].negative_id = nid;
      }
    }
  }
out:
  pthread_rwlock_unlock(&g->rw);
  if (withheld)
    atomic_fetch_add(&g->withheld, withheld);
  free(wl);
  free(hits);
  free(more);
  free(nf);
  return e;
}

const char *argus_gallery_norm_name(argus_gallery_norm n) {
  switch (n) {
  case ARGUS_GALLERY_NORM_NONE:
    return "none";
  case ARGUS_GALLERY_NORM_TOPN:
    return "topn";
  }
  return "unknown";
}

/* Normalises the n candidates of one query (best first) against their
 * ranks 2..N+1 (argus_gallery_norm). */
static void normalise(argus_gallery_candidate *c, int n, const norm_ref *ref) {
  const int N = ARGUS_GALLERY_NORM_COHORT;
  if (!ref->ok || n < N + 1)
    return;
  double mu = 0;
  for (int j = 1; j <= N; j++)
    mu += c[j].raw_score;
  mu /= N;
  const double shift = ARGUS_GALLERY_NORM_WEIGHT * (mu - ref->mu);
  for (int i = 0; i < n; i++) {
    c[i].score = (float)(c[i].raw_score - shift);
    c[i].normalised = 1;
    c[i].match = c[i].score >= c[i].threshold;
  }
}

argus_err argus_gallery_search(argus_gallery *g, const float *queries,
                               size_t nq, int k,
                               const argus_gallery_search_opts *opts,
                               argus_gallery_candidate *out, int *nfound,
                               argus_gallery_error *err) {
  if (err)
    err->msg[0] = '\0';
  if (k < 1 || k > ARGUS_GALLERY_MAX_K)
    return gallery_fail(err, ARGUS_E_INVALID_ARG,
                        "search: k = %d outside 1..%d", k, ARGUS_GALLERY_MAX_K);
  int norm = opts ? opts->norm : ARGUS_GALLERY_NORM_NONE;
  if (norm != ARGUS_GALLERY_NORM_NONE && norm != ARGUS_GALLERY_NORM_TOPN)
    return gallery_fail(err, ARGUS_E_INVALID_ARG,
                        "search: unknown score normalisation %d", norm);
  int fuse = opts ? opts->fuse : ARGUS_GALLERY_FUSE_MAX;
  if (fuse != ARGUS_GALLERY_FUSE_MAX && fuse != ARGUS_GALLERY_FUSE_MEAN)
    return gallery_fail(err, ARGUS_E_INVALID_ARG,
                        "search: unknown template fusion %d", fuse);
  norm_ref ref = {0, 0, 0};
  /* Persons searched: the cohort needs N+1; fusion re-ranks a few more
   * than asked, since a person's mean template can score above persons
   * whose best photo scored higher. */
  int kin = k;
  if (norm && kin < ARGUS_GALLERY_NORM_COHORT + 1)
    kin = ARGUS_GALLERY_NORM_COHORT + 1;
  if (fuse && kin < k + 8)
    kin = k + 8 > ARGUS_GALLERY_MAX_K ? ARGUS_GALLERY_MAX_K : k + 8;
  if (kin == k || nq == 0) {
    argus_err e =
        search_persons(g, queries, nq, k, opts, out, nfound, &ref, err);
    if (e == ARGUS_OK && norm)
      for (size_t q = 0; q < nq; q++)
        normalise(out + q * (size_t)k, nfound[q], &ref);
    return e;
  }
  /* The cohort needs more persons than asked for: search them into a
   * buffer of kin per query. */
  argus_gallery_candidate *buf = malloc(nq * (size_t)kin * sizeof *buf);
  if (!buf)
    return gallery_fail(err, ARGUS_E_NOMEM, "out of memory");
  argus_err e =
      search_persons(g, queries, nq, kin, opts, buf, nfound, &ref, err);
  if (e == ARGUS_OK) {
    for (size_t q = 0; q < nq; q++) {
      argus_gallery_candidate *c = buf + q * (size_t)kin;
      if (norm)
        normalise(c, nfound[q], &ref);
      if (nfound[q] > k)
        nfound[q] = k;
      memcpy(out + q * (size_t)k, c, (size_t)nfound[q] * sizeof *c);
    }
  }
  free(buf);
  return e;
}

/* ---- writers ---------------------------------------------------------------
 */

/* Removes a person's templates from the index and the tables and frees it.
 * Caller holds rw for writing. */
static void detach_person(gstate *st, argus_store_id id) {
  gperson *p = gmap_del(&st->persons, id);
  if (!p)
    return;
  for (int i = 0; i < p->nphotos; i++) {
    gmap_del(&st->photos, p->photos[i]);
    vec_drop(st, p->photos[i]);
    argus_err e = argus_index_remove(st->index, p->photos[i], NULL);
    if (e && e != ARGUS_E_NOT_FOUND)
      argus_log(ARGUS_LOG_WARN, GALLERY_MOD,
                "removing photo %lld of person %lld from the index: %s",
                (long long)p->photos[i], (long long)id, argus_strerror(e));
  }
  person_free(p);
}

/* Adds n templates (photo ids, vectors) of person p to the index and the
 * tables (and their fp32 copies when kept); p is taken when it is new (not yet in the table) and the call
 * succeeds. All or nothing. Caller holds rw for writing. */
static argus_err attach(const argus_gallery *g, gstate *st, gperson *p,
                        int is_new, int n, const int64_t *photo_ids,
                        const float *vecs, const float *sum) {
  const size_t dim = (size_t)g->cfg.dim;
  int64_t *wls = malloc((size_t)(n ? n : 1) * sizeof *wls);
  if (!wls)
    return ARGUS_E_NOMEM;
  for (int i = 0; i < n; i++)
    wls[i] = p->watchlist_id;
  argus_err e = n ? argus_index_add_batch(st->index, (size_t)n, photo_ids, wls,
                                          vecs, NULL)
                  : ARGUS_OK;
  free(wls);
  if (e)
    return e;
  int old_n = p->nphotos;
  if (is_new && (e = gmap_put(&st->persons, p->id, p)))
    goto undo;
  for (int i = 0; i < n; i++) {
    if ((e = person_add_photo_id(p, photo_ids[i])) ||
        (e = gmap_put(&st->photos, photo_ids[i], p)) ||
        (e = vec_keep(g, st, photo_ids[i], vecs + (size_t)i * dim)))
      goto undo;
  }
  /* The mean template's sum: given whole (sum), or this call's templates
   * added to it. Out of memory here only costs the fusion (the person is
   * then scored by its best template): logged, not failed. */
  if (p->nphotos >= 2) {
    argus_err es = ARGUS_OK;
    if (sum) {
      free(p->sum);
      p->sum = malloc(dim * sizeof *p->sum);
      if (p->sum)
        memcpy(p->sum, sum, dim * sizeof *p->sum);
      else
        es = ARGUS_E_NOMEM;
    } else if (p->sum || p->nphotos == n) {
      es = sum_add(&p->sum, (int)dim, vecs, n);
    }
    if (es)
      argus_log(ARGUS_LOG_WARN, GALLERY_MOD,
                "person %lld: no memory for its mean template; scored by "
                "its best photo",
                (long long)p->id);
  }
  return ARGUS_OK;
undo:
  /* Photo ids are new to the tables (the index refused duplicates), so
   * deleting all of them removes exactly what this call put there. */
  for (int i = 0; i < n; i++) {
    argus_index_remove(st->index, photo_ids[i], NULL);
    gmap_del(&st->photos, photo_ids[i]);
    vec_drop(st, photo_ids[i]);
  }
  p->nphotos = old_n;
  if (is_new)
    gmap_del(&st->persons, p->id);
  return e;
}

/* Checks photos for enrolment and gathers their store input. */
static argus_err photos_in(argus_gallery *g, const argus_gallery_photo *photos,
                           int n, argus_store_photo_in **out, float **vecs,
                           argus_gallery_error *err) {
  if (!photos || n < 1)
    return gallery_fail(err, ARGUS_E_INVALID_ARG,
                        "no photo to enrol (at least one accepted photo is "
                        "needed)");
  const size_t dim = (size_t)g->cfg.dim;
  for (int i = 0; i < n; i++) {
    const argus_gallery_photo *p = &photos[i];
    if (p->reason != ARGUS_GALLERY_ACCEPTED || !p->vector || !p->crop)
      return gallery_fail(
          err, ARGUS_E_INVALID_ARG, "photo %d%s%s%s was not accepted (%s)",
          i + 1, p->source ? " (" : "", p->source ? p->source : "",
          p->source ? ")" : "", argus_gallery_reject_name(p->reason));
    if (strcmp(p->model_id, g->cfg.model_id) != 0 || p->dim != g->cfg.dim)
      return gallery_fail(err, ARGUS_E_INVALID_ARG,
                          "photo %d was embedded by %s (dim %d); the gallery "
                          "holds %s (dim %d)",
                          i + 1, p->model_id, p->dim, g->cfg.model_id,
                          g->cfg.dim);
  }
  argus_store_photo_in *in = calloc((size_t)n, sizeof *in);
  float *v = malloc((size_t)n * dim * sizeof *v);
  if (!in || !v) {
    free(in);
    free(v);
    return gallery_fail(err, ARGUS_E_NOMEM, "out of memory");
  }
  for (int i = 0; i < n; i++) {
    in[i].crop = photos[i].crop;
    in[i].crop_size = photos[i].crop_size;
    in[i].quality = photos[i].quality;
    in[i].source = photos[i].source;
    in[i].vector = photos[i].vector;
    memcpy(v + (size_t)i * dim, photos[i].vector, dim * sizeof *v);
  }
  *out = in;
  *vecs = v;
  return ARGUS_OK;
}

/* Re-reads the watchlists when `id` is not known (created since the last
 * load). Caller holds wmu. */
static argus_err ensure_watchlist(argus_gallery *g, argus_store_id id,
                                  argus_gallery_error *err) {
  pthread_rwlock_rdlock(&g->rw);
  int known = wl_by_id(&g->st, id) != NULL;
  pthread_rwlock_unlock(&g->rw);
  if (known)
    return ARGUS_OK;
  gwatchlist *w = NULL;
  size_t n = 0;
  argus_err e = load_watchlists(g, &w, &n, err);
  if (e)
    return e;
  pthread_rwlock_wrlock(&g->rw);
  gwatchlist *old = g->st.wls;
  g->st.wls = w;
  g->st.nwls = n;
  pthread_rwlock_unlock(&g->rw);
  free(old);
  return ARGUS_OK;
}

argus_err argus_gallery_person_add(argus_gallery *g, const char *watchlist,
                                   const argus_store_person_in *person,
                                   const argus_gallery_photo *photos, int n,
                                   argus_store_id *out_id,
                                   argus_gallery_error *err) {
  if (err)
    err->msg[0] = '\0';
  if (!g || !watchlist || !person)
    return gallery_fail(err, ARGUS_E_INVALID_ARG,
                        "no gallery, watchlist or person");
  argus_store_photo_in *in = NULL;
  float *vecs = NULL;
  argus_err e = photos_in(g, photos, n, &in, &vecs, err);
  if (e)
    return e;
  argus_store_error se = {{0}};
  argus_store_id pid = 0;
  argus_store_photo *plist = NULL;
  size_t np = 0;
  int64_t *ids = NULL;
  gperson *p = NULL;
  pthread_mutex_lock(&g->wmu);
  e = argus_store_person_add(g->store, watchlist, person, &g->model, in, n,
                             &pid, &se);
  if (e) {
    e = store_fail(err, e, &se, "enrolling");
    goto out;
  }
  if (g->cfg.write_only)
    goto out;
  /* The photos were inserted in order, in one transaction: the person's
   * first n photos are ours. */
  argus_store_person sp;
  if ((e = argus_store_person_get(g->store, pid, &sp, &se)) ||
      (e = argus_store_photo_list(g->store, pid, 0, (size_t)n, &plist, &np,
                                  &se))) {
    store_fail(err, e, &se, "reading back the enrolled person");
    goto undo;
  }
  if (np != (size_t)n) {
    e = gallery_fail(err, ARGUS_E_INTERNAL,
                     "person %lld: %zu photos read back, %d stored",
                     (long long)pid, np, n);
    goto undo;
  }
  if ((e = ensure_watchlist(g, sp.watchlist_id, err)))
    goto undo;
  ids = malloc((size_t)n * sizeof *ids);
  p = person_new(&sp);
  if (!ids || !p) {
    e = gallery_fail(err, ARGUS_E_NOMEM, "out of memory");
    goto undo;
  }
  for (int i = 0; i < n; i++)
    ids[i] = plist[i].id;
  pthread_rwlock_wrlock(&g->rw);
  e = attach(g, &g->st, p, 1, n, ids, vecs, NULL);
  pthread_rwlock_unlock(&g->rw);
  if (e) {
    gallery_fail(err, e, "adding person %lld to the index: %s", (long long)pid,
                 argus_strerror(e));
    goto undo;
  }
  p = NULL; /* taken */
  goto out;
undo:
  /* The index could not take the person: undo the enrolment so that store
   * and index agree. */
  {
    argus_store_error se2 = {{0}};
    argus_err e2 = argus_store_person_remove(g->store, pid, &se2);
    if (e2)
      argus_log(ARGUS_LOG_ERROR, GALLERY_MOD,
                "person %lld is stored but not searchable, and removing it "
                "failed too (%s): reload the gallery",
                (long long)pid, se2.msg[0] ? se2.msg : argus_strerror(e2));
    pid = 0;
  }
out:
  if (e == ARGUS_OK)
    notify(g, "person.add", pid, watchlist);
  pthread_mutex_unlock(&g->wmu);
  if (e == ARGUS_OK && out_id)
    *out_id = pid;
  person_free(p);
  argus_store_free(plist);
  free(ids);
  free(in);
  free(vecs);
  return e;
}

typedef struct person_sum_ctx {
  int dim;
  float **sum;
  argus_err e;
} person_sum_ctx;

static int person_sum_cb(void *user, const argus_store_template *t) {
  person_sum_ctx *c = user;
  if (t->dim != c->dim)
    return 0;
  c->e = sum_add(c->sum, c->dim, t->vector, 1);
  return c->e != ARGUS_OK;
}

argus_err argus_gallery_person_add_photos(argus_gallery *g,
                                          argus_store_id person_id,
                                          const argus_gallery_photo *photos,
                                          int n, argus_gallery_error *err) {
  if (err)
    err->msg[0] = '\0';
  if (!g || person_id <= 0)
    return gallery_fail(err, ARGUS_E_INVALID_ARG, "no gallery or person id");
  argus_store_photo_in *in = NULL;
  float *vecs = NULL;
  argus_err e = photos_in(g, photos, n, &in, &vecs, err);
  if (e)
    return e;
  argus_store_error se = {{0}};
  int64_t *ids = malloc((size_t)n * sizeof *ids);
  gperson *fresh = NULL;
  if (!ids) {
    free(in);
    free(vecs);
    return gallery_fail(err, ARGUS_E_NOMEM, "out of memory");
  }
  pthread_mutex_lock(&g->wmu);
  e = argus_store_person_add_photos(g->store, person_id, &g->model, in, n, ids,
                                    &se);
  if (e) {
    e = store_fail(err, e, &se, "adding photos");
    goto out;
  }
  if (g->cfg.write_only)
    goto out;
  pthread_rwlock_rdlock(&g->rw);
  int known = gmap_get(&g->st.persons, person_id) != NULL;
  pthread_rwlock_unlock(&g->rw);
  if (!known) {
    /* A person without templates of this model until now. */
    argus_store_person sp;
    if ((e = argus_store_person_get(g->store, person_id, &sp, &se))) {
      e = store_fail(err, e, &se, "reading the person back");
      goto out;
    }
    if ((e = ensure_watchlist(g, sp.watchlist_id, err)))
      goto out;
    if (!(fresh = person_new(&sp))) {
      e = gallery_fail(err, ARGUS_E_NOMEM, "out of memory");
      goto out;
    }
  }
  /* The person's mean template over all its photos, old and new (the
   * in-memory state has no copy of the old templates). */
  float *sum = NULL;
  {
    person_sum_ctx sc = {g->cfg.dim, &sum, ARGUS_OK};
    argus_store_error se2 = {{0}};
    if (argus_store_template_foreach(g->store, &g->model, person_id,
                                     person_sum_cb, &sc, &se2) != ARGUS_OK ||
        sc.e != ARGUS_OK) {
      free(sum);
      sum = NULL; /* attach adds the new ones to what it has */
    }
  }
  pthread_rwlock_wrlock(&g->rw);
  gperson *p = fresh ? fresh : gmap_get(&g->st.persons, person_id);
  e = attach(g, &g->st, p, fresh != NULL, n, ids, vecs, sum);
  free(sum);
  pthread_rwlock_unlock(&g->rw);
  if (e) {
    /* The store has no call to remove single photos: the new photos stay
     * stored and are picked up by the next reload. */
    gallery_fail(err, e,
                 "photos of person %lld are stored but could not be added to "
                 "the index (%s); reload the gallery",
                 (long long)person_id, argus_strerror(e));
    goto out;
  }
  fresh = NULL;
out:
  if (e == ARGUS_OK)
    notify(g, "person.add_photos", person_id, NULL);
  pthread_mutex_unlock(&g->wmu);
  person_free(fresh);
  free(ids);
  free(in);
  free(vecs);
  return e;
}

argus_err argus_gallery_person_remove(argus_gallery *g,
                                      argus_store_id person_id,
                                      argus_gallery_error *err) {
  if (err)
    err->msg[0] = '\0';
  if (!g || person_id <= 0)
    return gallery_fail(err, ARGUS_E_INVALID_ARG, "no gallery or person id");
  argus_store_error se = {{0}};
  pthread_mutex_lock(&g->wmu);
  argus_err e = argus_store_person_remove(g->store, person_id, &se);
  if ((e == ARGUS_OK || e == ARGUS_E_NOT_FOUND) && !g->cfg.write_only) {
    pthread_rwlock_wrlock(&g->rw);
    detach_person(&g->st, person_id);
    pthread_rwlock_unlock(&g->rw);
  }
  if (e == ARGUS_OK)
    notify(g, "person.remove", person_id, NULL);
  pthread_mutex_unlock(&g->wmu);
  if (e)
    return store_fail(err, e, &se, "removing");
  return ARGUS_OK;
}

typedef struct sync_ctx {
  int dim;
  int64_t *ids;
  float *vecs;
  int n, cap;
  argus_err e;
} sync_ctx;

static int sync_cb(void *user, const argus_store_template *t) {
  sync_ctx *c = user;
  if (t->dim != c->dim)
    return 0;
  if (c->n == c->cap) {
    int cap = c->cap ? c->cap * 2 : 8;
    int64_t *ni = realloc(c->ids, (size_t)cap * sizeof *ni);
    if (ni)
      c->ids = ni;
    float *nv = realloc(c->vecs, (size_t)cap * (size_t)c->dim * sizeof *nv);
    if (nv)
      c->vecs = nv;
    if (!ni || !nv) {
      c->e = ARGUS_E_NOMEM;
      return 1;
    }
    c->cap = cap;
  }
  c->ids[c->n] = t->photo_id;
  memcpy(c->vecs + (size_t)c->n * (size_t)c->dim, t->vector,
         (size_t)c->dim * sizeof(float));
  c->n++;
  return 0;
}

argus_err argus_gallery_sync_person(argus_gallery *g, argus_store_id person_id,
                                    argus_gallery_error *err) {
  if (err)
    err->msg[0] = '\0';
  if (!g || person_id <= 0)
    return gallery_fail(err, ARGUS_E_INVALID_ARG, "no gallery or person id");
  if (g->cfg.write_only)
    return ARGUS_OK;
  argus_store_error se = {{0}};
  sync_ctx c = {g->cfg.dim, NULL, NULL, 0, 0, ARGUS_OK};
  gperson *p = NULL;
  pthread_mutex_lock(&g->wmu);
  argus_store_person sp;
  argus_err e = argus_store_person_get(g->store, person_id, &sp, &se);
  if (e == ARGUS_E_NOT_FOUND) {
    pthread_rwlock_wrlock(&g->rw);
    detach_person(&g->st, person_id);
    pthread_rwlock_unlock(&g->rw);
    e = ARGUS_OK;
    goto out;
  }
  if (e) {
    e = store_fail(err, e, &se, "reading the person");
    goto out;
  }
  e = argus_store_template_foreach(g->store, &g->model, person_id, sync_cb, &c,
                                   &se);
  if (e || c.e) {
    e = e ? store_fail(err, e, &se, "reading templates")
          : gallery_fail(err, c.e, "out of memory");
    goto out;
  }
  if ((e = ensure_watchlist(g, sp.watchlist_id, err)))
    goto out;
  if (c.n > 0 && !(p = person_new(&sp))) {
    e = gallery_fail(err, ARGUS_E_NOMEM, "out of memory");
    goto out;
  }
  if (p && (e = load_negatives(g, NULL, p, err)))
    goto out;
  pthread_rwlock_wrlock(&g->rw);
  detach_person(&g->st, person_id);
  if (p)
    e = attach(g, &g->st, p, 1, c.n, c.ids, c.vecs, NULL);
  pthread_rwlock_unlock(&g->rw);
  if (e)
    gallery_fail(err, e, "adding person %lld to the index: %s",
                 (long long)person_id, argus_strerror(e));
  else
    p = NULL;
out:
  pthread_mutex_unlock(&g->wmu);
  person_free(p);
  free(c.ids);
  free(c.vecs);
  return e;
}

argus_err gallery_reload_locked(argus_gallery *g, argus_gallery_error *err) {
  if (g->cfg.write_only)
    return ARGUS_OK;
  gstate fresh;
  argus_err e = load_state(g, &fresh, err);
  if (e)
    return e;
  pthread_rwlock_wrlock(&g->rw);
  gstate old = g->st;
  g->st = fresh;
  pthread_rwlock_unlock(&g->rw);
  state_free(&old);
  return ARGUS_OK;
}

argus_err argus_gallery_reload(argus_gallery *g, argus_gallery_error *err) {
  if (err)
    err->msg[0] = '\0';
  if (!g)
    return gallery_fail(err, ARGUS_E_INVALID_ARG, "no gallery");
  pthread_mutex_lock(&g->wmu);
  argus_err e = gallery_reload_locked(g, err);
  pthread_mutex_unlock(&g->wmu);
  return e;
}

argus_store *gallery_store(argus_gallery *g) { return g->store; }
const argus_store_model *argus_gallery_model(const argus_gallery *g) {
  return g ? &g->model : NULL;
}
void gallery_lock(argus_gallery *g) { pthread_mutex_lock(&g->wmu); }
void gallery_unlock(argus_gallery *g) { pthread_mutex_unlock(&g->wmu); }
