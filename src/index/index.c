/*
 * The index: ids, watchlists, locking, and the one place that chooses the
 * backend (choose_kind()). Backends (flat.c, approx.c) store rows 0..count-1;
 * this file maps rows to template ids (core's int64 map) and to
 * watchlists (small dense "slots", so a search's watchlist filter is a
 * bitset). Removal moves the last row into the freed one, so rows stay
 * contiguous.
 *
 * Locks: `lock` (rwlock) guards everything a search reads; searches hold it
 * shared. Writers are serialised by `write_mu` and take `lock` exclusively
 * only while they change what searches read. The id map is touched by
 * writers only, under write_mu.
 *
 * Moving the templates into a new backend (approximate index at the size
 * threshold, or a rebuild of one full of removed entries) happens on a
 * builder thread by default: the writer that triggers it copies the
 * templates (a snapshot, under write_mu with `lock` shared) and returns;
 * the builder builds the new backend without holding any lock while the
 * current backend keeps serving searches and writes. Writes made meanwhile
 * are also recorded in a log (adds with their vectors, removals as row
 * moves). When the build is done, the builder takes write_mu, replays the
 * log onto the new backend, so that its rows are the current backend's
 * row for row, and swaps it in under the exclusive lock. With
 * synchronous_builds the triggering write call does all of this itself.
 *
 * One file of about 1,300 lines on purpose: the id map, the watchlist
 * slots, the write log and the background builder all keep one invariant
 * (the backend's rows are the index's rows, row for row, under the same two
 * locks), and splitting them would spread that invariant over files.
 */
#define _GNU_SOURCE /* pthread_rwlockattr_setkind_np */
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "argus/index.h"
#include "index/index_internal.h"

#define MOD "index"
#define DEFAULT_FACTORY "SRP256"
#define MAX_FACTORY 63
/* Rebuild a FAISS index when this share of its entries is dead (the sketch
 * deletes at once and has none). */
#define REBUILD_DEAD_FRACTION 0.25
/* A builder adds the snapshot in chunks, checking for cancellation between
 * them; the first chunk is larger (an IVF index trains on it). */
#define BUILD_FIRST_CHUNK 262144
#define BUILD_CHUNK 65536

/* ---- error details ------------------------------------------------------ */

/* Public functions that can fail for a reason the caller should see take an
 * argus_error_detail *err (may be NULL): they clear it on entry, and on
 * failure it says what failed and why. Input errors are also logged (WARN)
 * as before, since many callers only check the code. */
static void detail_clear(argus_error_detail *err) {
  if (err)
    err->msg[0] = 0;
}

/* Logs the message at WARN and copies it into err; returns code. */
#define fail(err, code, ...)                                                   \
  argus_error_fail(err, code, ARGUS_LOG_WARN, MOD, __VA_ARGS__)

/* For a failure nothing described yet (NOMEM, a backend's error): "<op>:
 * <argus_strerror>" so that err is never empty after an error. */
static argus_err fail_default(argus_error_detail *err, argus_err e,
                              const char *op) {
  if (e != ARGUS_OK && err && !err->msg[0])
    argus_error_detail_set(err, "%s: %s", op, argus_strerror(e));
  return e;
}

/* id -> row and watchlist -> slot: core's int64 map (argus_i64map), with
 * the index's 32-bit rows and slots as values. */
typedef argus_i64map ix_map;

static int map_get(const ix_map *m, int64_t key, uint32_t *val) {
  int64_t v = 0;
  if (!argus_i64map_get(m, key, &v))
    return 0;
  if (val)
    *val = (uint32_t)v;
  return 1;
}

/* Room for n keys: later puts up to n keys neither allocate nor fail. */
static argus_err map_reserve(ix_map *m, size_t n) {
  return argus_i64map_reserve(m, n);
}

static void map_put(ix_map *m, int64_t key, uint32_t val) {
  argus_i64map_put(m, key, (int64_t)val);
}

static void map_del(ix_map *m, int64_t key) {
  argus_i64map_remove(m, key, NULL);
}

static void map_free(ix_map *m) { argus_i64map_free(m); }

/* ---- write log of a background build ------------------------------------ */

/* One write to replay: an add of rows first .. first+n-1 (vectors at
 * vec + voff), or a removal of `row` with `last` moving into it. */
typedef struct ix_logop {
  int add;
  size_t a, b; /* add: first, n; remove: row, last */
  size_t voff;
} ix_logop;

typedef struct ix_oplog {
  ix_logop *op;
  size_t n, cap;
  float *vec;
  size_t nvec, capvec;
  int failed; /* an entry could not be recorded: the build is discarded */
} ix_oplog;

static int oplog_grow(void **p, size_t *cap, size_t need, size_t elem) {
  if (need <= *cap)
    return 0;
  size_t c = *cap ? *cap : 16;
  while (c < need)
    c *= 2;
  void *q = realloc(*p, c * elem);
  if (!q)
    return -1;
  *p = q;
  *cap = c;
  return 0;
}

static void oplog_add(ix_oplog *l, size_t first, size_t n, const float *vecs,
                      size_t dim) {
  if (l->failed)
    return;
  if (oplog_grow((void **)&l->op, &l->cap, l->n + 1, sizeof *l->op) ||
      oplog_grow((void **)&l->vec, &l->capvec, l->nvec + n * dim,
                 sizeof *l->vec)) {
    l->failed = 1;
    return;
  }
  memcpy(l->vec + l->nvec, vecs, n * dim * sizeof *vecs);
  l->op[l->n++] = (ix_logop){1, first, n, l->nvec};
  l->nvec += n * dim;
}

static void oplog_remove(ix_oplog *l, size_t row, size_t last) {
  if (l->failed)
    return;
  if (oplog_grow((void **)&l->op, &l->cap, l->n + 1, sizeof *l->op)) {
    l->failed = 1;
    return;
  }
  l->op[l->n++] = (ix_logop){0, row, last, 0};
}

static void oplog_free(ix_oplog *l) {
  free(l->op);
  free(l->vec);
  memset(l, 0, sizeof *l);
}

/* ---- the index -------------------------------------------------------- */

struct argus_index {
  char model_id[ARGUS_INDEX_MAX_MODEL_ID + 1];
  char factory[MAX_FACTORY + 1];
  argus_index_config cfg; /* strings point at the copies above */
  ix_params params;

  pthread_rwlock_t lock;
  pthread_mutex_t write_mu;
  pthread_mutex_t pool_mu;

  const ix_backend_ops *ops;
  void *be;
  int approx_failed; /* building the approximate index failed: stay exact */
  size_t next_rebuild_dead; /* after a failed rebuild: wait for this many */

  size_t count, cap;
  int64_t *row_id;
  uint32_t *row_slot;
  ix_map ids; /* id -> row (writers only) */

  ix_map wls; /* watchlist -> slot */
  int64_t *slot_wl;
  uint32_t *slot_count;
  uint32_t *free_slots;
  size_t nslots, cap_slots, nfree;

  /* Backend builds; bg_* are guarded by write_mu (the atomics are read
   * without it). */
  int bg_joinable; /* bg_thread ended (or is ending) and is not joined */
  pthread_t bg_thread;
  pthread_cond_t bg_cond; /* signalled under write_mu when a build ends */
  const ix_backend_ops *bg_ops;
  ix_params bg_params;
  float *bg_buf; /* the snapshot: bg_n rows (the builder frees it) */
  size_t bg_n;
  size_t bg_dead; /* dead entries of the backend being rebuilt */
  ix_oplog bg_log;
  atomic_int bg_active; /* a build is running (read by stats too) */
  atomic_int bg_cancel;
  argus_err bg_last; /* result of the last finished build */
  uint64_t bg_started_ns;
  atomic_size_t bg_builds; /* builds swapped in */
};

/* Joins a builder that has ended. Caller holds write_mu. */
static void join_builder(argus_index *idx) {
  if (idx->bg_joinable) {
    pthread_join(idx->bg_thread, NULL);
    idx->bg_joinable = 0;
  }
}

/* The approximate backend for a factory string: the argus sketch for
 * "SRP<bits>", else FAISS (NULL when built without it). */
static const ix_backend_ops *approx_ops_for(const char *factory) {
  return ix_sketch_bits(factory) ? &ix_sketch_ops : ix_approx_ops;
}

static const ix_backend_ops *ops_for(const argus_index *idx,
                                     argus_index_kind kind) {
  switch (kind) {
  case ARGUS_INDEX_F16:
    return &ix_flat_f16_ops;
  case ARGUS_INDEX_I8:
    return &ix_flat_s8_ops;
  case ARGUS_INDEX_APPROX:
    return approx_ops_for(idx->factory);
  default:
    return &ix_flat_f32_ops;
  }
}

/* The one place that decides which backend holds the templates: the
 * configured kind, or for AUTO, exact fp32 below the size threshold and the
 * approximate index from there on (the sketch for "SRP<bits>", always
 * available; FAISS for other factory strings when built in), unless
 * building it has failed. */
static argus_index_kind choose_kind(const argus_index *idx, size_t count) {
  if (idx->cfg.kind != ARGUS_INDEX_AUTO)
    return idx->cfg.kind;
  if (approx_ops_for(idx->factory) && !idx->approx_failed &&
      count >= idx->cfg.approx_threshold)
    return ARGUS_INDEX_APPROX;
  return ARGUS_INDEX_F32;
}

int argus_index_approx_available(void) { return ix_approx_ops != NULL; }

const char *argus_index_kind_name(argus_index_kind kind) {
  switch (kind) {
  case ARGUS_INDEX_AUTO:
    return "auto";
  case ARGUS_INDEX_F32:
    return "f32";
  case ARGUS_INDEX_F16:
    return "f16";
  case ARGUS_INDEX_I8:
    return "i8";
  case ARGUS_INDEX_APPROX:
    return "approx";
  }
  return "?";
}

void argus_index_config_init(argus_index_config *cfg) {
  if (!cfg)
    return;
  memset(cfg, 0, sizeof *cfg);
  cfg->kind = ARGUS_INDEX_AUTO;
  cfg->approx_threshold = ARGUS_INDEX_DEFAULT_APPROX_THRESHOLD;
  cfg->approx_factory = DEFAULT_FACTORY;
  cfg->hnsw_ef_search = 64;
  cfg->hnsw_ef_construction = 80;
  cfg->ivf_nprobe = 32;
  cfg->max_count = ARGUS_INDEX_DEFAULT_MAX_COUNT;
}

argus_err argus_index_create(const argus_index_config *cfg, argus_index **out,
                             argus_error_detail *err) {
  detail_clear(err);
  if (!out)
    return fail(err, ARGUS_E_INVALID_ARG, "create: NULL output pointer");
  *out = NULL;
  if (!cfg)
    return fail(err, ARGUS_E_INVALID_ARG, "create: no configuration");
  if (!cfg->model_id || !cfg->model_id[0] ||
      strlen(cfg->model_id) > ARGUS_INDEX_MAX_MODEL_ID)
    return fail(err, ARGUS_E_INVALID_ARG,
                "create: model id must be 1..%d bytes (got %s)",
                ARGUS_INDEX_MAX_MODEL_ID,
                !cfg->model_id      ? "none"
                : !cfg->model_id[0] ? "an empty one"
                                    : "a longer one");
  if (cfg->dim < 1 || cfg->dim > ARGUS_INDEX_MAX_DIM)
    return fail(err, ARGUS_E_INVALID_ARG, "create: dim %d outside 1..%d",
                cfg->dim, ARGUS_INDEX_MAX_DIM);
  if ((int)cfg->kind < ARGUS_INDEX_AUTO || cfg->kind > ARGUS_INDEX_APPROX)
    return fail(err, ARGUS_E_INVALID_ARG, "create: unknown kind %d",
                (int)cfg->kind);
  const char *factory = cfg->approx_factory && cfg->approx_factory[0]
                            ? cfg->approx_factory
                            : DEFAULT_FACTORY;
  /* "SRP<bits>" is argus's own sketch index; anything else is a FAISS
   * index_factory string. */
  if (cfg->kind == ARGUS_INDEX_APPROX && !approx_ops_for(factory))
    return fail(err, ARGUS_E_UNSUPPORTED,
                "create: the approximate index \"%s\" is not SRP<bits> and "
                "needs FAISS, and argus was built without it",
                factory);
  if (cfg->hnsw_ef_search < 0 || cfg->hnsw_ef_construction < 0 ||
      cfg->ivf_nprobe < 0)
    return fail(err, ARGUS_E_INVALID_ARG,
                "create: negative search parameter (efSearch %d, "
                "efConstruction %d, nprobe %d)",
                cfg->hnsw_ef_search, cfg->hnsw_ef_construction,
                cfg->ivf_nprobe);
  if (strlen(factory) > MAX_FACTORY)
    return fail(err, ARGUS_E_INVALID_ARG,
                "create: approximate index string over %d bytes", MAX_FACTORY);

  argus_index *idx = calloc(1, sizeof *idx);
  if (!idx)
    return fail_default(err, ARGUS_E_NOMEM, "create");
  idx->cfg = *cfg;
  snprintf(idx->model_id, sizeof idx->model_id, "%s", cfg->model_id);
  snprintf(idx->factory, sizeof idx->factory, "%s", factory);
  idx->cfg.model_id = idx->model_id;
  idx->cfg.approx_factory = idx->factory;
  if (!idx->cfg.approx_threshold)
    idx->cfg.approx_threshold = ARGUS_INDEX_DEFAULT_APPROX_THRESHOLD;
  if (!idx->cfg.hnsw_ef_search)
    idx->cfg.hnsw_ef_search = 64;
  if (!idx->cfg.hnsw_ef_construction)
    idx->cfg.hnsw_ef_construction = 80;
  if (!idx->cfg.ivf_nprobe)
    idx->cfg.ivf_nprobe = 32;
  if (!idx->cfg.max_count || idx->cfg.max_count > (size_t)UINT32_MAX - 1)
    idx->cfg.max_count = cfg->max_count ? (size_t)UINT32_MAX - 1
                                        : ARGUS_INDEX_DEFAULT_MAX_COUNT;
  idx->params.dim = (size_t)cfg->dim;
  idx->params.factory = idx->factory;
  idx->params.ef_search = idx->cfg.hnsw_ef_search;
  idx->params.ef_construction = idx->cfg.hnsw_ef_construction;
  idx->params.nprobe = idx->cfg.ivf_nprobe;

  /* Writers first: with glibc's default (readers first) a steady stream of
   * overlapping searches would starve add/remove forever. Searches still
   * never wait for each other, only for a writer that is waiting or
   * running. */
  pthread_rwlockattr_t ra;
  pthread_rwlockattr_init(&ra);
#if defined(__GLIBC__) /* an enum constant, not a macro */
  pthread_rwlockattr_setkind_np(&ra,
                                PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
#endif
  pthread_rwlock_init(&idx->lock, &ra);
  pthread_rwlockattr_destroy(&ra);
  pthread_mutex_init(&idx->write_mu, NULL);
  pthread_mutex_init(&idx->pool_mu, NULL);
  pthread_cond_init(&idx->bg_cond, NULL);
  idx->ops = ops_for(idx, choose_kind(idx, 0));
  argus_err e = idx->ops->create(&idx->params, &idx->be);
  if (e != ARGUS_OK) {
    argus_error_detail_set(err, "create: the %s backend of index \"%s\": %s",
                           argus_index_kind_name(idx->ops->kind), idx->model_id,
                           argus_strerror(e));
    idx->be = NULL;
    argus_index_destroy(idx);
    return e;
  }
  char desc[96];
  idx->ops->describe(idx->be, desc, sizeof desc);
  argus_log(ARGUS_LOG_DEBUG, MOD, "index \"%s\" dim %d: %s", idx->model_id,
            cfg->dim, desc);
  *out = idx;
  return ARGUS_OK;
}

void argus_index_destroy(argus_index *idx) {
  if (!idx)
    return;
  /* A running build stops at its next chunk and is discarded. */
  atomic_store(&idx->bg_cancel, 1);
  pthread_mutex_lock(&idx->write_mu);
  while (atomic_load(&idx->bg_active))
    pthread_cond_wait(&idx->bg_cond, &idx->write_mu);
  join_builder(idx);
  pthread_mutex_unlock(&idx->write_mu);
  oplog_free(&idx->bg_log);
  if (idx->be)
    idx->ops->destroy(idx->be);
  free(idx->row_id);
  free(idx->row_slot);
  map_free(&idx->ids);
  map_free(&idx->wls);
  free(idx->slot_wl);
  free(idx->slot_count);
  free(idx->free_slots);
  pthread_rwlock_destroy(&idx->lock);
  pthread_mutex_destroy(&idx->write_mu);
  pthread_mutex_destroy(&idx->pool_mu);
  pthread_cond_destroy(&idx->bg_cond);
  free(idx);
}

const char *argus_index_model_id(const argus_index *idx) {
  return idx ? idx->model_id : "";
}

int argus_index_dim(const argus_index *idx) { return idx ? idx->cfg.dim : 0; }

size_t argus_index_count(argus_index *idx) {
  if (!idx)
    return 0;
  pthread_rwlock_rdlock(&idx->lock);
  size_t n = idx->count;
  pthread_rwlock_unlock(&idx->lock);
  return n;
}

/* 1/|x| of a query or template, or 0 when x has NaN/Inf or is all zeros. */
static float inv_norm(const float *x, size_t dim) {
  double s = 0.0;
  for (size_t j = 0; j < dim; j++) {
    if (!isfinite(x[j]))
      return 0.0f;
    s += (double)x[j] * (double)x[j];
  }
  if (!(s > 0.0) || !isfinite(s))
    return 0.0f;
  double inv = 1.0 / sqrt(s);
  return isfinite(inv) && inv < 3e38 ? (float)inv : 0.0f;
}

/* Room for `rows` rows in the row arrays and the backend, and for `extra`
 * new watchlists, so that the rest of an add cannot fail. Exclusive lock. */
static argus_err reserve_rows(argus_index *idx, size_t rows, size_t extra) {
  if (rows > idx->cap) {
    size_t cap = idx->cap + idx->cap / 2;
    if (cap < rows)
      cap = rows;
    if (cap < 64)
      cap = 64;
    int64_t *id = realloc(idx->row_id, cap * sizeof *id);
    if (!id)
      return ARGUS_E_NOMEM;
    idx->row_id = id;
    uint32_t *sl = realloc(idx->row_slot, cap * sizeof *sl);
    if (!sl)
      return ARGUS_E_NOMEM;
    idx->row_slot = sl;
    idx->cap = cap;
  }
  size_t slots = idx->nslots + extra;
  if (slots > idx->cap_slots) {
    size_t cap = idx->cap_slots * 2 > slots ? idx->cap_slots * 2 : slots;
    if (cap < 16)
      cap = 16;
    int64_t *w = realloc(idx->slot_wl, cap * sizeof *w);
    if (!w)
      return ARGUS_E_NOMEM;
    idx->slot_wl = w;
    uint32_t *c = realloc(idx->slot_count, cap * sizeof *c);
    if (!c)
      return ARGUS_E_NOMEM;
    idx->slot_count = c;
    uint32_t *f = realloc(idx->free_slots, cap * sizeof *f);
    if (!f)
      return ARGUS_E_NOMEM;
    idx->free_slots = f;
    idx->cap_slots = cap;
  }
  argus_err e = map_reserve(&idx->wls, idx->wls.count + extra);
  if (e != ARGUS_OK)
    return e;
  return idx->ops->reserve(idx->be, rows);
}

/* Slot of a watchlist, created when new (room reserved). */
static uint32_t slot_of(argus_index *idx, int64_t wl) {
  uint32_t s;
  if (map_get(&idx->wls, wl, &s))
    return s;
  s = idx->nfree ? idx->free_slots[--idx->nfree] : (uint32_t)idx->nslots++;
  idx->slot_wl[s] = wl;
  idx->slot_count[s] = 0;
  map_put(&idx->wls, wl, s);
  return s;
}

/* Copies the current backend's rows into a new buffer (*out; NULL when
 * there are none). Caller holds write_mu, so rows cannot change. */
static argus_err snapshot_rows(argus_index *idx, float **out, size_t *n_out) {
  size_t dim = idx->params.dim;
  argus_err e = ARGUS_OK;
  pthread_rwlock_rdlock(&idx->lock);
  size_t n = idx->count;
  float *buf = n ? malloc(n * dim * sizeof *buf) : NULL;
  if (n && !buf)
    e = ARGUS_E_NOMEM;
  for (size_t r = 0; r < n && e == ARGUS_OK; r++)
    e = idx->ops->get(idx->be, r, buf + r * dim);
  pthread_rwlock_unlock(&idx->lock);
  if (e != ARGUS_OK) {
    free(buf);
    buf = NULL;
    n = 0;
  }
  *out = buf;
  *n_out = n;
  return e;
}

/* A new backend of `ops` holding the n rows of buf, added in chunks;
 * gives up with CANCELLED when *cancel is set (cancel may be NULL). */
static argus_err build_backend(const ix_backend_ops *ops, const ix_params *p,
                               const float *buf, size_t n, atomic_int *cancel,
                               void **out) {
  void *nb = NULL;
  argus_err e = ops->create(p, &nb);
  if (e == ARGUS_OK)
    e = ops->reserve(nb, n);
  for (size_t done = 0; e == ARGUS_OK && done < n;) {
    if (cancel && atomic_load(cancel)) {
      e = ARGUS_E_CANCELLED;
      break;
    }
    size_t step = done == 0 ? BUILD_FIRST_CHUNK : BUILD_CHUNK;
    if (step > n - done)
      step = n - done;
    e = ops->add(nb, done, step, buf + done * p->dim);
    done += step;
  }
  if (e != ARGUS_OK && nb) {
    ops->destroy(nb);
    nb = NULL;
  }
  *out = nb;
  return e;
}

/* Makes nb (of ops) the backend; returns the old one for the caller to
 * destroy outside the locks. Caller holds write_mu. */
static void *swap_in(argus_index *idx, const ix_backend_ops *ops, void *nb,
                     const ix_backend_ops **old_ops) {
  pthread_rwlock_wrlock(&idx->lock);
  void *old = idx->be;
  *old_ops = idx->ops;
  idx->be = nb;
  idx->ops = ops;
  if (ops->set_search) /* search parameters may have changed meanwhile */
    ops->set_search(nb, &idx->params);
  pthread_rwlock_unlock(&idx->lock);
  return old;
}

/* A build of `ops` failed: log it and keep the current backend, which is
 * still correct. Caller holds write_mu. */
static void build_failed(argus_index *idx, const ix_backend_ops *ops,
                         argus_err e, size_t dead) {
  if (e == ARGUS_E_CANCELLED)
    return;
  argus_log(ARGUS_LOG_ERROR, MOD,
            "index \"%s\": building the %s backend failed (%s); staying "
            "with the current one",
            idx->model_id, argus_index_kind_name(ops->kind),
            argus_strerror(e));
  if (ops->kind == ARGUS_INDEX_APPROX && ops != idx->ops)
    idx->approx_failed = 1;
  else
    idx->next_rebuild_dead = 2 * dead; /* retry only after twice as many */
}

static void log_built(const char *model_id, const ix_backend_ops *ops,
                      void *nb, size_t n, uint64_t t0, const char *how) {
  char desc[96];
  ops->describe(nb, desc, sizeof desc);
  argus_log(ARGUS_LOG_INFO, MOD,
            "index \"%s\": %zu templates now in %s (%.1f s%s)", model_id, n,
            desc, (double)(argus_time_ns() - t0) * 1e-9, how);
}

/* Moves every template into a new backend of `ops` inside the calling
 * write (synchronous_builds): searches go on meanwhile, writers wait.
 * Caller holds write_mu. */
static argus_err rebuild(argus_index *idx, const ix_backend_ops *ops) {
  uint64_t t0 = argus_time_ns();
  float *buf = NULL;
  size_t n = 0;
  void *nb = NULL;
  argus_err e = snapshot_rows(idx, &buf, &n);
  if (e == ARGUS_OK)
    e = build_backend(ops, &idx->params, buf, n, NULL, &nb);
  free(buf);
  if (e != ARGUS_OK)
    return e;
  const ix_backend_ops *old_ops;
  void *old = swap_in(idx, ops, nb, &old_ops);
  old_ops->destroy(old);
  idx->bg_builds++;
  log_built(idx->model_id, ops, nb, n, t0, "");
  return ARGUS_OK;
}

/* The builder thread: builds from the snapshot with no lock held, then
 * replays the writes logged meanwhile and swaps the result in. */
static void *builder_main(void *arg) {
  argus_index *idx = arg;
  const ix_backend_ops *ops = idx->bg_ops;
  void *nb = NULL;
  argus_err e = build_backend(ops, &idx->bg_params, idx->bg_buf, idx->bg_n,
                              &idx->bg_cancel, &nb);
  free(idx->bg_buf);
  idx->bg_buf = NULL;

  pthread_mutex_lock(&idx->write_mu);
  ix_oplog *l = &idx->bg_log;
  if (e == ARGUS_OK && l->failed)
    e = ARGUS_E_NOMEM;
  for (size_t i = 0; i < l->n && e == ARGUS_OK; i++) {
    const ix_logop *o = &l->op[i];
    if (o->add) {
      e = ops->reserve(nb, o->a + o->b);
      if (e == ARGUS_OK)
        e = ops->add(nb, o->a, o->b, l->vec + o->voff);
    } else {
      ops->remove(nb, o->a, o->b);
    }
  }
  const ix_backend_ops *old_ops = NULL;
  void *old = NULL;
  size_t n = idx->count, replayed = l->n;
  if (e == ARGUS_OK) {
    old = swap_in(idx, ops, nb, &old_ops);
    atomic_fetch_add(&idx->bg_builds, 1);
    idx->next_rebuild_dead = 0;
  } else {
    if (nb)
      ops->destroy(nb);
    nb = NULL;
    build_failed(idx, ops, e, idx->bg_dead);
  }
  oplog_free(l);
  idx->bg_last = e;
  char model_id[ARGUS_INDEX_MAX_MODEL_ID + 1];
  memcpy(model_id, idx->model_id, sizeof model_id);
  uint64_t t0 = idx->bg_started_ns;
  if (nb) { /* described under write_mu: nb is the live backend now */
    char how[64];
    snprintf(how, sizeof how, " in the background, %zu writes replayed",
             replayed);
    log_built(model_id, ops, nb, n, t0, how);
  }
  idx->bg_joinable = 1;
  atomic_store(&idx->bg_active, 0);
  pthread_cond_broadcast(&idx->bg_cond);
  pthread_mutex_unlock(&idx->write_mu);
  /* idx may be destroyed from here on (destroy joins this thread first,
   * but touches nothing this thread still uses). */
  if (old)
    old_ops->destroy(old);
  return NULL;
}

/* Starts a background build of `ops`; falls back to building in place when
 * no thread can be started. Caller holds write_mu. */
static void start_build(argus_index *idx, const ix_backend_ops *ops,
                        size_t dead) {
  join_builder(idx);
  float *buf = NULL;
  size_t n = 0;
  argus_err e = snapshot_rows(idx, &buf, &n);
  if (e != ARGUS_OK) {
    build_failed(idx, ops, e, dead);
    return;
  }
  idx->bg_ops = ops;
  idx->bg_params = idx->params;
  idx->bg_buf = buf;
  idx->bg_n = n;
  idx->bg_dead = dead;
  idx->bg_started_ns = argus_time_ns();
  memset(&idx->bg_log, 0, sizeof idx->bg_log);
  atomic_store(&idx->bg_cancel, 0);
  atomic_store(&idx->bg_active, 1);
  if (pthread_create(&idx->bg_thread, NULL, builder_main, idx) != 0) {
    atomic_store(&idx->bg_active, 0);
    idx->bg_buf = NULL;
    free(buf);
    argus_log(ARGUS_LOG_WARN, MOD,
              "index \"%s\": no builder thread; building in place",
              idx->model_id);
    e = rebuild(idx, ops);
    if (e != ARGUS_OK)
      build_failed(idx, ops, e, dead);
    return;
  }
  argus_log(ARGUS_LOG_INFO, MOD,
            "index \"%s\": building the %s backend for %zu templates in the "
            "background",
            idx->model_id, argus_index_kind_name(ops->kind), n);
}

/* After a write: move to another backend when the size calls for one, or
 * rebuild an approximate index full of removed entries. A failure is logged
 * and leaves the (still correct) current backend in place. Caller holds
 * write_mu. */
static void maybe_migrate(argus_index *idx) {
  if (atomic_load(&idx->bg_active))
    return; /* looked at again on the first write after that build */
  argus_index_kind want = choose_kind(idx, idx->count);
  const ix_backend_ops *ops = ops_for(idx, want);
  /* No way back from the approximate index when removals bring the count
   * under the threshold again: rebuilding both ways would thrash. */
  if (idx->ops->kind == ARGUS_INDEX_APPROX)
    ops = idx->ops;
  size_t dead = idx->ops->dead ? idx->ops->dead(idx->be) : 0;
  int rebuild_dead = dead >= 64 && dead >= idx->next_rebuild_dead &&
                     (double)dead > REBUILD_DEAD_FRACTION *
                                        (double)(idx->count + dead);
  if (ops == idx->ops && !rebuild_dead)
    return;
  if (!idx->cfg.synchronous_builds) {
    start_build(idx, ops, dead);
    return;
  }
  argus_err e = rebuild(idx, ops);
  if (e != ARGUS_OK)
    build_failed(idx, ops, e, dead);
  else
    idx->next_rebuild_dead = 0;
}

argus_err argus_index_wait_builds(argus_index *idx) {
  if (!idx)
    return ARGUS_E_INVALID_ARG;
  pthread_mutex_lock(&idx->write_mu);
  while (atomic_load(&idx->bg_active))
    pthread_cond_wait(&idx->bg_cond, &idx->write_mu);
  join_builder(idx);
  argus_err e = idx->bg_last;
  pthread_mutex_unlock(&idx->write_mu);
  return e;
}

argus_err argus_index_add_batch(argus_index *idx, size_t n, const int64_t *ids,
                                const int64_t *watchlists, const float *vecs,
                                argus_error_detail *err) {
  detail_clear(err);
  if (!idx)
    return fail(err, ARGUS_E_INVALID_ARG, "add: NULL index");
  if (n == 0)
    return ARGUS_OK;
  if (!ids || !watchlists || !vecs)
    return fail(err, ARGUS_E_INVALID_ARG, "add: NULL %s",
                !ids          ? "ids"
                : !watchlists ? "watchlists"
                              : "vectors");
  size_t dim = idx->params.dim;
  if (n > SIZE_MAX / (dim * sizeof(float)))
    return fail(err, ARGUS_E_LIMIT, "add: %zu templates overflow the size", n);
  float *unit = malloc(n * dim * sizeof *unit);
  if (!unit)
    return fail_default(err, ARGUS_E_NOMEM, "add");
  argus_err e = ARGUS_OK;
  size_t inserted = 0;
  for (size_t i = 0; i < n; i++) {
    if (ids[i] < 0 || watchlists[i] < 0) {
      e = fail(err, ARGUS_E_INVALID_ARG,
               "add: template %zu: negative %s (%lld); ids and watchlists "
               "must be >= 0",
               i, ids[i] < 0 ? "id" : "watchlist",
               (long long)(ids[i] < 0 ? ids[i] : watchlists[i]));
      goto done;
    }
    const float *v = vecs + i * dim;
    float inv = inv_norm(v, dim);
    if (inv == 0.0f) {
      e = fail(err, ARGUS_E_INVALID_ARG,
               "add: template id %lld: vector has NaN/Inf values or zero "
               "length",
               (long long)ids[i]);
      goto done;
    }
    for (size_t j = 0; j < dim; j++)
      unit[i * dim + j] = v[j] * inv;
  }

  pthread_mutex_lock(&idx->write_mu);
  size_t base = idx->count;
  if (n > idx->cfg.max_count || base > idx->cfg.max_count - n) {
    e = fail(err, ARGUS_E_LIMIT,
             "add: index \"%s\" would hold %zu templates, over its limit "
             "of %zu",
             idx->model_id, base + n, idx->cfg.max_count);
    goto unlock_w;
  }
  /* Ids first (writer-only map): duplicates fail before anything changes. */
  e = map_reserve(&idx->ids, base + n);
  if (e != ARGUS_OK)
    goto unlock_w;
  for (; inserted < n; inserted++) {
    uint32_t r;
    if (map_get(&idx->ids, ids[inserted], &r)) {
      e = fail(err, ARGUS_E_INVALID_ARG,
               "add: id %lld is already in index \"%s\"%s",
               (long long)ids[inserted], idx->model_id,
               r >= base ? " (twice in this batch)" : "");
      goto rollback;
    }
    map_put(&idx->ids, ids[inserted], (uint32_t)(base + inserted));
  }

  /* Count the batch's new watchlists (the watchlist map changes only under
   * write_mu, so the writer may read it without the rwlock). */
  size_t new_wl = 0;
  ix_map seen = {0};
  for (size_t i = 0; i < n; i++) {
    uint32_t s;
    if (map_get(&idx->wls, watchlists[i], &s) ||
        map_get(&seen, watchlists[i], &s))
      continue;
    e = map_reserve(&seen, seen.count + 1);
    if (e != ARGUS_OK) {
      map_free(&seen);
      goto rollback;
    }
    map_put(&seen, watchlists[i], 0);
    new_wl++;
  }
  map_free(&seen);

  pthread_rwlock_wrlock(&idx->lock);
  e = reserve_rows(idx, base + n, new_wl);
  if (e == ARGUS_OK)
    e = idx->ops->add(idx->be, base, n, unit);
  if (e != ARGUS_OK) {
    pthread_rwlock_unlock(&idx->lock);
    goto rollback;
  }
  if (atomic_load(&idx->bg_active))
    oplog_add(&idx->bg_log, base, n, unit, dim);
  for (size_t i = 0; i < n; i++) {
    uint32_t s = slot_of(idx, watchlists[i]);
    idx->slot_count[s]++;
    idx->row_id[base + i] = ids[i];
    idx->row_slot[base + i] = s;
  }
  idx->count = base + n;
  pthread_rwlock_unlock(&idx->lock);
  maybe_migrate(idx);
  goto unlock_w;

rollback:
  for (size_t i = 0; i < inserted; i++)
    map_del(&idx->ids, ids[i]);
unlock_w:
  pthread_mutex_unlock(&idx->write_mu);
done:
  free(unit);
  return fail_default(err, e, "add");
}

argus_err argus_index_add(argus_index *idx, int64_t id, int64_t watchlist,
                          const float *vec, argus_error_detail *err) {
  return argus_index_add_batch(idx, 1, &id, &watchlist, vec, err);
}

argus_err argus_index_remove(argus_index *idx, int64_t id,
                             argus_error_detail *err) {
  detail_clear(err);
  if (!idx)
    return fail(err, ARGUS_E_INVALID_ARG, "remove: NULL index");
  if (id < 0)
    return fail(err, ARGUS_E_INVALID_ARG, "remove: negative id %lld",
                (long long)id);
  pthread_mutex_lock(&idx->write_mu);
  uint32_t row;
  if (!map_get(&idx->ids, id, &row)) {
    pthread_mutex_unlock(&idx->write_mu);
    /* not logged: callers remove ids they are unsure of */
    argus_error_detail_set(err, "remove: id %lld is not in index \"%s\"",
                           (long long)id, idx->model_id);
    return ARGUS_E_NOT_FOUND;
  }
  pthread_rwlock_wrlock(&idx->lock);
  size_t last = idx->count - 1;
  uint32_t slot = idx->row_slot[row];
  idx->ops->remove(idx->be, row, last);
  if (atomic_load(&idx->bg_active))
    oplog_remove(&idx->bg_log, row, last);
  if (row != last) {
    idx->row_id[row] = idx->row_id[last];
    idx->row_slot[row] = idx->row_slot[last];
    map_put(&idx->ids, idx->row_id[row], row);
  }
  map_del(&idx->ids, id);
  if (--idx->slot_count[slot] == 0) {
    map_del(&idx->wls, idx->slot_wl[slot]);
    idx->free_slots[idx->nfree++] = slot;
  }
  idx->count = last;
  pthread_rwlock_unlock(&idx->lock);
  maybe_migrate(idx);
  pthread_mutex_unlock(&idx->write_mu);
  return ARGUS_OK;
}

/* The refinement's view of the caller's fetch callback: row -> id, and the
 * vector normalised exactly as add normalises it, so that the fp32 kernel
 * scores the very floats an fp32 index would hold. */
typedef struct fetch_ctx {
  argus_index *idx;
  argus_index_refine refine;
  float *buf;   /* dim floats */
  int64_t last; /* id of the last fetch (-1: none), for the log */
} fetch_ctx;

static argus_err fetch_row(void *ctx, uint32_t row, float *unit) {
  fetch_ctx *c = ctx;
  size_t dim = c->idx->params.dim;
  c->last = c->idx->row_id[row];
  argus_err e = c->refine.fetch(c->refine.user, c->last, c->buf);
  if (e != ARGUS_OK) {
    argus_log(ARGUS_LOG_WARN, MOD,
              "search: the refine callback failed for template id %lld: %s",
              (long long)c->last, argus_strerror(e));
    return e;
  }
  float inv = inv_norm(c->buf, dim);
  if (inv == 0.0f) {
    argus_log(ARGUS_LOG_ERROR, MOD,
              "search: the refine callback gave template id %lld a vector "
              "with NaN/Inf values or zero length",
              (long long)c->last);
    return ARGUS_E_CORRUPT;
  }
  for (size_t j = 0; j < dim; j++)
    unit[j] = c->buf[j] * inv;
  return ARGUS_OK;
}

static void fill_empty(argus_index_hit *h, size_t n) {
  for (size_t i = 0; i < n; i++) {
    h[i].id = -1;
    h[i].watchlist = -1;
    h[i].score = -INFINITY;
  }
}

argus_err argus_index_search(argus_index *idx, const float *queries, size_t nq,
                             size_t k, const argus_index_search_opts *opts,
                             argus_index_hit *hits, size_t *nfound,
                             argus_error_detail *err) {
  detail_clear(err);
  if (!idx)
    return fail(err, ARGUS_E_INVALID_ARG, "search: NULL index");
  if (k < 1 || k > ARGUS_INDEX_MAX_K)
    return fail(err, ARGUS_E_INVALID_ARG, "search: k = %zu outside 1..%d", k,
                ARGUS_INDEX_MAX_K);
  if (nq == 0)
    return ARGUS_OK;
  if (!queries || !hits)
    return fail(err, ARGUS_E_INVALID_ARG, "search: NULL %s",
                !queries ? "queries" : "hits");
  if (opts && opts->n_watchlists && !opts->watchlists)
    return fail(err, ARGUS_E_INVALID_ARG,
                "search: %zu watchlists but NULL list", opts->n_watchlists);
  size_t dim = idx->params.dim;
  if (nq > SIZE_MAX / (k * sizeof(argus_index_hit)) ||
      nq > SIZE_MAX / (dim * sizeof(float)))
    return fail(err, ARGUS_E_LIMIT, "search: %zu queries overflow the size",
                nq);

  argus_err e = ARGUS_E_NOMEM;
  /* scratch from the thread's arena: no allocation once warm */
  size_t mark = ix_arena_mark();
  float *qinv = ix_arena_alloc(nq * sizeof *qinv);
  uint32_t *rows = ix_arena_alloc(nq * k * sizeof *rows);
  float *scores = ix_arena_alloc(nq * k * sizeof *scores);
  size_t *nf = ix_arena_alloc(nq * sizeof *nf);
  uint64_t *allow = NULL;
  int pool_taken = 0;
  int locked = 0;
  fetch_ctx fc = {idx, {0}, NULL, -1};
  if (!qinv || !rows || !scores || !nf)
    goto out;
  for (size_t q = 0; q < nq; q++) {
    qinv[q] = inv_norm(queries + q * dim, dim);
    if (qinv[q] == 0.0f) {
      e = fail(err, ARGUS_E_INVALID_ARG,
               "search: query %zu has NaN/Inf values or zero length", q);
      goto out;
    }
  }

  pthread_rwlock_rdlock(&idx->lock);
  locked = 1;
  fc.refine = idx->cfg.refine;
  int refine = fc.refine.fetch && (idx->ops->kind == ARGUS_INDEX_F16 ||
                                   idx->ops->kind == ARGUS_INDEX_I8);
  if (refine && !(fc.buf = ix_arena_alloc(dim * sizeof *fc.buf)))
    goto out;
  ix_filter filter = {idx->row_slot, NULL};
  int any = 1;
  if (opts && opts->n_watchlists) {
    size_t words = (idx->nslots + 63) / 64;
    allow = ix_arena_calloc((words ? words : 1) * sizeof *allow);
    if (!allow)
      goto out;
    any = 0;
    for (size_t i = 0; i < opts->n_watchlists; i++) {
      uint32_t s;
      if (map_get(&idx->wls, opts->watchlists[i], &s)) {
        allow[s >> 6] |= 1ull << (s & 63);
        any = 1;
      }
    }
    filter.allow = allow;
  }
  if (!any || idx->count == 0) {
    for (size_t q = 0; q < nq; q++)
      nf[q] = 0;
  } else {
    argus_threadpool *pool = opts ? opts->pool : NULL;
    if (!pool && idx->cfg.pool &&
        pthread_mutex_trylock(&idx->pool_mu) == 0) {
      pool = idx->cfg.pool;
      pool_taken = 1;
    }
    ix_search_args a = {
        .q = queries,
        .qinv = qinv,
        .nq = nq,
        .dim = dim,
        .k = k,
        .count = idx->count,
        .filter = allow ? &filter : NULL,
        .pool = pool,
        .threads = argus_threadpool_size(pool),
        .fetch = refine ? fetch_row : NULL,
        .fetch_ctx = &fc,
        .exact_scores = fc.refine.exact_scores,
        .rows = rows,
        .scores = scores,
        .nfound = nf,
    };
    e = idx->ops->search(idx->be, &a);
    if (e != ARGUS_OK) {
      if (e == ARGUS_E_CORRUPT && fc.last >= 0)
        argus_log(ARGUS_LOG_ERROR, MOD,
                  "search: refining template id %lld of index \"%s\" "
                  "failed: the refine callback's vector is unusable",
                  (long long)fc.last, idx->model_id);
      if (refine && fc.last >= 0)
        argus_error_detail_set(
            err, "search: refining template id %lld of index \"%s\": %s",
            (long long)fc.last, idx->model_id,
            e == ARGUS_E_CORRUPT ? "the refine callback's vector has "
                                   "NaN/Inf values, zero length or is not "
                                   "the stored template"
                                 : argus_strerror(e));
      goto out;
    }
  }
  for (size_t q = 0; q < nq; q++) {
    argus_index_hit *h = hits + q * k;
    for (size_t i = 0; i < nf[q]; i++) {
      uint32_t r = rows[q * k + i];
      h[i].id = idx->row_id[r];
      h[i].watchlist = idx->slot_wl[idx->row_slot[r]];
      h[i].score = scores[q * k + i];
    }
    fill_empty(h + nf[q], k - nf[q]);
    if (nfound)
      nfound[q] = nf[q];
  }
  e = ARGUS_OK;
out:
  if (pool_taken)
    pthread_mutex_unlock(&idx->pool_mu);
  if (locked)
    pthread_rwlock_unlock(&idx->lock);
  ix_arena_release(mark);
  return fail_default(err, e, "search");
}

argus_err argus_index_set_refine(argus_index *idx,
                                 const argus_index_refine *r) {
  if (!idx) {
    argus_log(ARGUS_LOG_WARN, MOD, "set_refine: NULL index");
    return ARGUS_E_INVALID_ARG;
  }
  argus_index_refine off = {NULL, NULL, 0};
  pthread_rwlock_wrlock(&idx->lock);
  idx->cfg.refine = r && r->fetch ? *r : off;
  pthread_rwlock_unlock(&idx->lock);
  return ARGUS_OK;
}

argus_err argus_index_set_search_params(argus_index *idx, int hnsw_ef_search,
                                        int ivf_nprobe) {
  if (!idx || hnsw_ef_search < 0 || ivf_nprobe < 0) {
    argus_log(ARGUS_LOG_WARN, MOD,
              "set_search_params: negative efSearch %d or nprobe %d",
              hnsw_ef_search, ivf_nprobe);
    return ARGUS_E_INVALID_ARG;
  }
  pthread_mutex_lock(&idx->write_mu);
  pthread_rwlock_wrlock(&idx->lock);
  if (hnsw_ef_search)
    idx->params.ef_search = idx->cfg.hnsw_ef_search = hnsw_ef_search;
  if (ivf_nprobe)
    idx->params.nprobe = idx->cfg.ivf_nprobe = ivf_nprobe;
  if (idx->ops->set_search)
    idx->ops->set_search(idx->be, &idx->params);
  pthread_rwlock_unlock(&idx->lock);
  pthread_mutex_unlock(&idx->write_mu);
  return ARGUS_OK;
}

argus_err argus_index_get_stats(argus_index *idx, argus_index_stats *out) {
  if (!idx || !out)
    return ARGUS_E_INVALID_ARG;
  memset(out, 0, sizeof *out);
  pthread_rwlock_rdlock(&idx->lock);
  out->count = idx->count;
  out->dim = idx->cfg.dim;
  out->kind = idx->ops->kind;
  idx->ops->describe(idx->be, out->backend, sizeof out->backend);
  out->bytes = sizeof *idx + idx->ops->bytes(idx->be) +
               idx->cap * (sizeof *idx->row_id + sizeof *idx->row_slot) +
               idx->ids.cap * (sizeof *idx->ids.keys + sizeof *idx->ids.vals) +
               idx->wls.cap * (sizeof *idx->wls.keys + sizeof *idx->wls.vals) +
               idx->cap_slots * (sizeof *idx->slot_wl +
                                 sizeof *idx->slot_count +
                                 sizeof *idx->free_slots);
  out->approx_dead = idx->ops->dead ? idx->ops->dead(idx->be) : 0;
  out->building = atomic_load(&idx->bg_active);
  out->builds = atomic_load(&idx->bg_builds);
  pthread_rwlock_unlock(&idx->lock);
  return ARGUS_OK;
}

/* ---- catalog ----------------------------------------------------------- */

struct argus_index_catalog {
  pthread_mutex_t mu;
  argus_index_config defaults;
  char factory[MAX_FACTORY + 1];
  argus_index **items;
  size_t n, cap;
};

argus_err argus_index_catalog_create(const argus_index_config *defaults,
                                     argus_index_catalog **out,
                                     argus_error_detail *err) {
  detail_clear(err);
  if (!out)
    return fail(err, ARGUS_E_INVALID_ARG, "catalog: NULL output pointer");
  *out = NULL;
  argus_index_catalog *c = calloc(1, sizeof *c);
  if (!c)
    return fail_default(err, ARGUS_E_NOMEM, "catalog");
  if (defaults)
    c->defaults = *defaults;
  else
    argus_index_config_init(&c->defaults);
  const char *f = c->defaults.approx_factory;
  if (f && strlen(f) > MAX_FACTORY) {
    free(c);
    return fail(err, ARGUS_E_INVALID_ARG,
                "catalog: approximate index string over %d bytes", MAX_FACTORY);
  }
  snprintf(c->factory, sizeof c->factory, "%s", f ? f : "");
  c->defaults.approx_factory = c->factory;
  c->defaults.model_id = NULL;
  c->defaults.dim = 0;
  pthread_mutex_init(&c->mu, NULL);
  *out = c;
  return ARGUS_OK;
}

void argus_index_catalog_destroy(argus_index_catalog *c) {
  if (!c)
    return;
  for (size_t i = 0; i < c->n; i++)
    argus_index_destroy(c->items[i]);
  free(c->items);
  pthread_mutex_destroy(&c->mu);
  free(c);
}

static argus_index *catalog_lookup(argus_index_catalog *c, const char *id) {
  for (size_t i = 0; i < c->n; i++)
    if (strcmp(c->items[i]->model_id, id) == 0)
      return c->items[i];
  return NULL;
}

argus_err argus_index_catalog_find(argus_index_catalog *c, const char *model_id,
                                   argus_index **out) {
  if (!c || !model_id || !out)
    return ARGUS_E_INVALID_ARG;
  pthread_mutex_lock(&c->mu);
  *out = catalog_lookup(c, model_id);
  pthread_mutex_unlock(&c->mu);
  return *out ? ARGUS_OK : ARGUS_E_NOT_FOUND;
}

argus_err argus_index_catalog_open(argus_index_catalog *c, const char *model_id,
                                   int dim, argus_index **out,
                                   argus_error_detail *err) {
  detail_clear(err);
  if (!c || !model_id || !out)
    return fail(err, ARGUS_E_INVALID_ARG, "catalog: NULL %s",
                !c          ? "catalog"
                : !model_id ? "model id"
                            : "output pointer");
  *out = NULL;
  argus_err e = ARGUS_OK;
  pthread_mutex_lock(&c->mu);
  argus_index *idx = catalog_lookup(c, model_id);
  if (idx) {
    if (idx->cfg.dim != dim) {
      e = fail(err, ARGUS_E_SHAPE,
               "catalog: model \"%s\" has %d-d templates, asked for %d",
               model_id, idx->cfg.dim, dim);
    } else {
      *out = idx;
    }
    goto unlock;
  }
  if (c->n == c->cap) {
    size_t cap = c->cap ? c->cap * 2 : 4;
    argus_index **items = realloc(c->items, cap * sizeof *items);
    if (!items) {
      e = ARGUS_E_NOMEM;
      goto unlock;
    }
    c->items = items;
    c->cap = cap;
  }
  argus_index_config cfg = c->defaults;
  cfg.model_id = model_id;
  cfg.dim = dim;
  e = argus_index_create(&cfg, &idx, err);
  if (e == ARGUS_OK) {
    c->items[c->n++] = idx;
    *out = idx;
  }
unlock:
  pthread_mutex_unlock(&c->mu);
  return fail_default(err, e, "catalog");
}
