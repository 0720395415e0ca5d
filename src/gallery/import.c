/* Import: a folder per person enrolled into a watchlist, photos prepared in
 * parallel in batches, persons stored one transaction each; and the
 * preparation of a photo file. The rules are in include/argus/import.h. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "argus/import.h"
#include "gallery_internal.h"

/* ---- one photo file ------------------------------------------------------ */

argus_err argus_gallery_photo_prepare_file(argus_face_engine *e,
                                           argus_face_worker *w,
                                           const char *path,
                                           const argus_gallery_enrol_opts *o,
                                           argus_gallery_photo *out,
                                           argus_face_error *err) {
  if (!out)
    return ARGUS_E_INVALID_ARG;
  memset(out, 0, sizeof *out);
  if (!e || !path) {
    if (err)
      snprintf(err->msg, sizeof err->msg, "prepare file: %s is NULL",
               !e ? "engine" : "path");
    return ARGUS_E_INVALID_ARG;
  }
  argus_image img;
  argus_image_error ie = {{0}};
  argus_err rc = argus_image_read_file(path, ARGUS_PIX_RGB8, &img, &ie);
  if (rc) {
    out->reason = ARGUS_GALLERY_REJECT_UNREADABLE;
    out->reasons = 1u << out->reason;
    snprintf(out->detail, sizeof out->detail, "%s",
             ie.msg[0] ? ie.msg : argus_strerror(rc));
    out->source = path;
    return ARGUS_OK;
  }
  rc = argus_gallery_photo_prepare(e, w, &img, o, out, err);
  argus_image_free(&img);
  out->source = path;
  return rc;
}

/* ---- names --------------------------------------------------------------- */

const char *argus_import_status_name(argus_import_status s) {
  switch (s) {
  case ARGUS_IMPORT_PENDING:
    return "pending";
  case ARGUS_IMPORT_ENROLLED:
    return "enrolled";
  case ARGUS_IMPORT_SKIPPED:
    return "skipped";
  case ARGUS_IMPORT_REJECTED:
    return "rejected";
  case ARGUS_IMPORT_FAILED:
    return "failed";
  }
  return "unknown";
}

void argus_import_options_default(argus_import_options *o) {
  if (!o)
    return;
  memset(o, 0, sizeof *o);
  argus_gallery_enrol_opts_default(&o->enrol);
}

void argus_import_summary_free(argus_import_summary *s) {
  if (!s)
    return;
  if (s->persons)
    for (int64_t i = 0; i < s->persons_total; i++) {
      argus_import_person *p = &s->persons[i];
      for (int k = 0; k < p->photos_rejected; k++)
        free(p->rejected[k].path);
      free(p->rejected);
      free(p->folder);
      free(p->name);
    }
  free(s->persons);
  memset(s, 0, sizeof *s);
}

/* ---- folders ------------------------------------------------------------- */

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static int is_image_name(const char *n) {
  const char *dot = strrchr(n, '.');
  return dot && (strcasecmp(dot, ".jpg") == 0 ||
                 strcasecmp(dot, ".jpeg") == 0 || strcasecmp(dot, ".png") == 0);
}

static char *join(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  char *s = malloc(la + lb + 2);
  if (s) {
    memcpy(s, a, la);
    s[la] = '/';
    memcpy(s + la + 1, b, lb + 1);
  }
  return s;
}

static void free_strv(char **v, int n) {
  if (v)
    for (int i = 0; i < n; i++)
      free(v[i]);
  free(v);
}

/* Lists the names in `dir` (no dot files) that are folders (want_dirs) or
 * image files, sorted, into *out (owned by the caller). *loose (may be
 * NULL) counts the image files found when folders were wanted. */
static argus_err list_dir(const char *dir, int want_dirs, char ***out, int *n,
                          int64_t *loose, argus_gallery_error *err) {
  *out = NULL;
  *n = 0;
  DIR *d = opendir(dir);
  if (!d)
    return gallery_fail(err, errno == ENOENT ? ARGUS_E_NOT_FOUND : ARGUS_E_IO,
                        "cannot read folder %s: %s", dir, strerror(errno));
  char **v = NULL;
  int cnt = 0, cap = 0;
  argus_err rc = ARGUS_OK;
  struct dirent *de;
  while ((de = readdir(d))) {
    if (de->d_name[0] == '.')
      continue;
    char *path = join(dir, de->d_name);
    struct stat st;
    int ok = path && stat(path, &st) == 0;
    free(path);
    if (!ok)
      continue;
    int image = S_ISREG(st.st_mode) && is_image_name(de->d_name);
    int keep = want_dirs ? S_ISDIR(st.st_mode) : image;
    if (want_dirs && image && loose)
      (*loose)++;
    if (!keep)
      continue;
    if (cnt == cap) {
      if (cap >= ARGUS_IMPORT_MAX_ENTRIES) {
        rc = gallery_fail(err, ARGUS_E_LIMIT, "%s: more than %d entries", dir,
                          ARGUS_IMPORT_MAX_ENTRIES);
        break;
      }
      cap = cap ? cap * 2 : 16;
      char **nv = realloc(v, (size_t)cap * sizeof *nv);
      if (!nv) {
        rc = gallery_fail(err, ARGUS_E_NOMEM, "out of memory");
        break;
      }
      v = nv;
    }
    if (!(v[cnt] = strdup(de->d_name))) {
      rc = gallery_fail(err, ARGUS_E_NOMEM, "out of memory");
      break;
    }
    cnt++;
  }
  closedir(d);
  if (rc) {
    free_strv(v, cnt);
    return rc;
  }
  if (cnt)
    qsort(v, (size_t)cnt, sizeof *v, cmp_str);
  *out = v;
  *n = cnt;
  return ARGUS_OK;
}

/* ---- the import ---------------------------------------------------------- */

/* What the import keeps of a person besides its result. */
typedef struct imp_person {
  char **files; /* full paths; a rejected one moves to the result */
  int nfiles;
  int first; /* index of its first photo in the batch */
  int known; /* its external id is in the watchlist */
} imp_person;

typedef struct imp_job {
  argus_face_engine *engine;
  argus_face_worker **workers;
  const argus_gallery_enrol_opts *opts;
  const volatile sig_atomic_t *cancel;
  char **paths;
  argus_gallery_photo *photos;
  argus_err *rcs;
  argus_face_error *errs;
} imp_job;

static void imp_task(void *ctx, size_t begin, size_t end, int tid) {
  imp_job *j = ctx;
  for (size_t i = begin; i < end; i++) {
    if (j->cancel && *j->cancel) {
      memset(&j->photos[i], 0, sizeof j->photos[i]);
      j->rcs[i] = ARGUS_E_CANCELLED;
      continue;
    }
    j->errs[i].msg[0] = '\0';
    j->rcs[i] = argus_gallery_photo_prepare_file(j->engine, j->workers[tid],
                                                 j->paths[i], j->opts,
                                                 &j->photos[i], &j->errs[i]);
  }
}

static int id_known(char **ids, size_t n, const char *id) {
  return n && bsearch(&id, ids, n, sizeof *ids, cmp_str) != NULL;
}

/* The sorted external ids of the watchlist's persons, pointing into
 * *persons (both owned by the caller). */
static argus_err known_ids(argus_gallery *g, const char *watchlist,
                           argus_store_person **persons, char ***ids, size_t *n,
                           argus_gallery_error *err) {
  argus_store_error se = {{0}};
  size_t np = 0;
  gallery_lock(g);
  argus_err e = argus_store_person_list(gallery_store(g), watchlist, NULL,
                                        persons, &np, &se);
  gallery_unlock(g);
  if (e)
    return gallery_fail(err, e, "listing the persons of '%s': %s", watchlist,
                        se.msg[0] ? se.msg : argus_strerror(e));
  *ids = malloc((np ? np : 1) * sizeof **ids);
  if (!*ids)
    return gallery_fail(err, ARGUS_E_NOMEM, "out of memory");
  size_t k = 0;
  for (size_t i = 0; i < np; i++)
    if ((*persons)[i].external_id[0])
      (*ids)[k++] = (*persons)[i].external_id;
  if (k)
    qsort(*ids, k, sizeof **ids, cmp_str);
  *n = k;
  return ARGUS_OK;
}

/* Names the persons of the listed folders (taking the names) and lists the
 * photos of each. */
static argus_err list_persons(const char *dir, char **dirs, int n,
                              argus_import_person *res, imp_person *ps,
                              argus_gallery_error *err) {
  for (int i = 0; i < n; i++) {
    argus_import_person *r = &res[i];
    r->folder = dirs[i];
    dirs[i] = NULL;
    char name[ARGUS_STORE_NAME_MAX];
    size_t len = strlen(r->folder);
    if (len >= sizeof name) {
      /* Cut at a character boundary, not inside a UTF-8 sequence. */
      len = sizeof name - 1;
      while (len > 0 && ((unsigned char)r->folder[len] & 0xc0) == 0x80)
        len--;
    }
    memcpy(name, r->folder, len);
    name[len] = '\0';
    for (char *c = name; *c; c++)
      if (*c == '_')
        *c = ' ';
    if (!(r->name = strdup(name)))
      return gallery_fail(err, ARGUS_E_NOMEM, "out of memory");
    char *pd = join(dir, r->folder);
    if (!pd)
      return gallery_fail(err, ARGUS_E_NOMEM, "out of memory");
    argus_err e = list_dir(pd, 0, &ps[i].files, &ps[i].nfiles, NULL, err);
    for (int k = 0; e == ARGUS_OK && k < ps[i].nfiles; k++) {
      char *full = join(pd, ps[i].files[k]);
      if (!full)
        e = gallery_fail(err, ARGUS_E_NOMEM, "out of memory");
      else {
        free(ps[i].files[k]);
        ps[i].files[k] = full;
      }
    }
    free(pd);
    if (e)
      return e;
    r->photos = ps[i].nfiles;
    r->photos_used = ps[i].nfiles < ARGUS_IMPORT_MAX_PHOTOS
                         ? ps[i].nfiles
                         : ARGUS_IMPORT_MAX_PHOTOS;
  }
  return ARGUS_OK;
}

/* State of one import while it runs. */
typedef struct imp_run {
  argus_gallery *g;
  const char *watchlist;
  argus_import_progress_fn cb;
  void *user;
  argus_import_summary *sum;
  int64_t done;
  int cancelled;
} imp_run;

static void emit(imp_run *r, argus_import_event_kind kind,
                 const argus_import_person *p,
                 const argus_import_rejected_photo *ph) {
  if (!r->cb)
    return;
  argus_import_event ev = {kind, p, ph, r->done, r->sum};
  if (r->cb(r->user, &ev))
    r->cancelled = 1;
}

/* Whether the watchlist now holds a person with res's external id (its
 * folder), stored since the import listed it: *id is that person. */
static int enrolled_meanwhile(imp_run *r, const argus_import_person *res,
                              argus_store_id *id) {
  argus_store_person p;
  argus_store_error se = {{0}};
  int found = 0;
  gallery_lock(r->g);
  argus_err e = argus_store_person_find_external(
      gallery_store(r->g), r->watchlist, res->folder, &p, &found, &se);
  gallery_unlock(r->g);
  if (e == ARGUS_OK && found)
    *id = p.id;
  return e == ARGUS_OK && found;
}

/* Classifies the prepared photos of one person and stores it. Returns
 * CANCELLED (its photos were cancelled: it stays pending), OK, or an error
 * of the database that must stop the import. */
static argus_err finish_person(imp_run *r, argus_import_person *res,
                               imp_person *ps, argus_gallery_photo *photos,
                               const argus_err *rcs,
                               const argus_face_error *errs,
                               argus_gallery_error *err) {
  argus_import_summary *sum = r->sum;
  int n = res->photos_used;
  for (int k = 0; k < n; k++)
    if (rcs[ps->first + k] == ARGUS_E_CANCELLED)
      return ARGUS_E_CANCELLED;
  argus_gallery_photo ok[ARGUS_IMPORT_MAX_PHOTOS];
  int nok = 0, nrej = 0;
  for (int k = 0; k < n; k++)
    if (photos[ps->first + k].reason != ARGUS_GALLERY_ACCEPTED ||
        rcs[ps->first + k])
      nrej++;
  if (nrej) {
    res->rejected = calloc((size_t)nrej, sizeof *res->rejected);
    if (!res->rejected)
      return gallery_fail(err, ARGUS_E_NOMEM, "out of memory");
  }
  for (int k = 0; k < n; k++) {
    int i = ps->first + k;
    argus_gallery_photo *ph = &photos[i];
    if (rcs[i]) {
      /* An engine failure on one photo: reported as unreadable. */
      ph->reason = ARGUS_GALLERY_REJECT_UNREADABLE;
      ph->reasons = 1u << ph->reason;
      snprintf(ph->detail, sizeof ph->detail, "%s",
               errs[i].msg[0] ? errs[i].msg : argus_strerror(rcs[i]));
    }
    if (ph->reason == ARGUS_GALLERY_ACCEPTED) {
      ok[nok++] = *ph;
      continue;
    }
    argus_import_rejected_photo *rj = &res->rejected[res->photos_rejected++];
    rj->path = ps->files[k]; /* moves to the result */
    ps->files[k] = NULL;
    rj->reason = ph->reason;
    rj->reasons = ph->reasons;
    snprintf(rj->detail, sizeof rj->detail, "%s", ph->detail);
    rj->nfaces = ph->nfaces;
    sum->photos_rejected++;
    if ((int)ph->reason > 0 && ph->reason < ARGUS_GALLERY_REJECT_N)
      sum->rejected_by_reason[ph->reason]++;
    emit(r, ARGUS_IMPORT_EVENT_PHOTO_REJECTED, res, rj);
  }
  argus_err rc = ARGUS_OK;
  if (nok == 0) {
    res->status = ARGUS_IMPORT_REJECTED;
    sum->persons_rejected++;
  } else {
    argus_store_person_in in = {res->name, res->folder, NULL};
    argus_gallery_error gerr = {{0}};
    argus_err e = argus_gallery_person_add(r->g, r->watchlist, &in, ok, nok,
                                           &res->person_id, &gerr);
    argus_store_id other = 0;
    if (e == ARGUS_OK) {
      res->status = ARGUS_IMPORT_ENROLLED;
      res->photos_enrolled = nok;
      sum->persons_enrolled++;
      sum->photos_enrolled += nok;
    } else if (e != ARGUS_E_IO && e != ARGUS_E_CORRUPT &&
               e != ARGUS_E_NOMEM &&
               enrolled_meanwhile(r, res, &other)) {
      /* Another import (another process) stored this external id after
       * this one listed the watchlist: the store refused the second one.
       * As for a person known at the start: skipped. */
      res->status = ARGUS_IMPORT_SKIPPED;
      res->person_id = 0;
      snprintf(res->message, sizeof res->message,
               "external id '%s' was enrolled meanwhile (person %lld), by "
               "another import",
               res->folder, (long long)other);
      sum->persons_skipped++;
    } else {
      res->status = ARGUS_IMPORT_FAILED;
      res->person_id = 0;
      res->error = e;
      snprintf(res->message, sizeof res->message, "%s",
               gerr.msg[0] ? gerr.msg : argus_strerror(e));
      sum->persons_failed++;
      /* The database itself failing (not this person's data): stop. */
      if (e == ARGUS_E_IO || e == ARGUS_E_CORRUPT || e == ARGUS_E_NOMEM)
        rc = gallery_fail(err, e, "%s: not stored: %s", res->folder,
                          res->message);
    }
  }
  r->done++;
  emit(r, ARGUS_IMPORT_EVENT_PERSON, res, NULL);
  return rc;
}

/* What one batch of an import works with. */
typedef struct imp_batch {
  argus_face_engine *e;
  argus_face_worker **workers;
  argus_threadpool *pool;
  const argus_import_options *o;
  imp_person *ps;
  int ndirs;
  char **paths;
  argus_gallery_photo *photos;
  argus_err *rcs;
  argus_face_error *errs;
  argus_error_detail *err;
} imp_batch;

/* One batch from person *pi on: whole persons, up to
 * ARGUS_IMPORT_MAX_PHOTOS photos, prepared on the pool, then enrolled in
 * order (known ones skipped). Advances *pi. Returns OK, or the store error
 * that stops the import; run->cancelled says whether it was cancelled. */
static argus_err import_batch(imp_run *run, const imp_batch *b, int *pi) {
  argus_import_summary *out = run->sum;
  const argus_import_options *o = b->o;
  imp_person *ps = b->ps;
  argus_err stop = ARGUS_OK;
  int p0 = *pi, np = 0;
  while (*pi < b->ndirs) {
    if (ps[*pi].known) {
      (*pi)++;
      continue;
    }
    int take = out->persons[*pi].photos_used;
    if (np > 0 && np + take > ARGUS_IMPORT_MAX_PHOTOS)
      break;
    ps[*pi].first = np;
    for (int k = 0; k < take; k++)
      b->paths[np++] = ps[*pi].files[k];
    (*pi)++;
  }
  imp_job j = {b->e,      b->workers, &o->enrol, o->cancel,
               b->paths, b->photos,  b->rcs,    b->errs};
  argus_threadpool_parallel_for(b->pool, (size_t)np, 1, imp_task, &j);
  for (int q = p0; q < *pi && !stop; q++) {
    argus_import_person *r = &out->persons[q];
    if (run->cancelled || (o->cancel && *o->cancel)) {
      run->cancelled = 1;
      break;
    }
    if (ps[q].known) {
      r->status = ARGUS_IMPORT_SKIPPED;
      out->persons_skipped++;
      run->done++;
      emit(run, ARGUS_IMPORT_EVENT_PERSON, r, NULL);
      continue;
    }
    argus_err fe =
        finish_person(run, r, &ps[q], b->photos, b->rcs, b->errs, b->err);
    if (fe == ARGUS_E_CANCELLED)
      run->cancelled = 1;
    else if (fe)
      stop = fe;
  }
  for (int i = 0; i < np; i++)
    argus_gallery_photo_free(&b->photos[i]);
  return stop;
}

argus_err argus_gallery_import(argus_gallery *g, argus_face_engine *e,
                               const char *watchlist, const char *dir,
                               const argus_import_options *o,
                               argus_import_progress_fn cb, void *user,
                               argus_import_summary *out,
                               argus_error_detail *err) {
  if (out)
    memset(out, 0, sizeof *out);
  if (!g || !e || !watchlist || !watchlist[0] || !dir || !out)
    return gallery_fail(err, ARGUS_E_INVALID_ARG, "import: %s",
                        !g                            ? "gallery is NULL"
                        : !e                          ? "engine is NULL"
                        : !watchlist || !watchlist[0] ? "no watchlist given"
                        : !dir                        ? "folder is NULL"
                                                      : "summary is NULL");
  argus_import_options defaults;
  if (!o) {
    argus_import_options_default(&defaults);
    o = &defaults;
  }
  const argus_face_embedder *em = argus_face_engine_embedder(e);
  const argus_gallery_config *cfg = argus_gallery_get_config(g);
  if (!em || strcmp(em->model_id, cfg->model_id) != 0)
    return gallery_fail(err, ARGUS_E_INVALID_ARG,
                        "import: the engine's embedder (%s) is not the "
                        "gallery's model (%s)",
                        em ? em->model_id : "none", cfg->model_id);
  float thr;
  argus_err rc = argus_gallery_threshold(g, watchlist, &thr, err);
  if (rc)
    return rc;
  /* An expired watchlist is read-only (docs/lawful-use.md): refused before
   * any photo is read, rather than person by person. */
  argus_store_error we = {{0}};
  gallery_lock(g);
  rc = argus_store_watchlist_check_writable(gallery_store(g), watchlist, &we);
  gallery_unlock(g);
  if (rc)
    return gallery_fail(err, rc, "import: %s",
                        we.msg[0] ? we.msg : argus_strerror(rc));

  uint64_t t0 = argus_time_ns();
  int ndirs = 0, nworkers = 0;
  char **dirs = NULL;
  imp_person *ps = NULL;
  argus_import_person *res = NULL;
  argus_store_person *known = NULL;
  char **ids = NULL;
  size_t nids = 0;
  argus_threadpool *own_pool = NULL, *pool = o->pool;
  argus_face_worker **workers = NULL;
  char *paths[ARGUS_IMPORT_MAX_PHOTOS];
  argus_gallery_photo photos[ARGUS_IMPORT_MAX_PHOTOS];
  argus_err rcs[ARGUS_IMPORT_MAX_PHOTOS];
  argus_face_error *errs = calloc(ARGUS_IMPORT_MAX_PHOTOS, sizeof *errs);
  int64_t loose = 0;
  memset(photos, 0, sizeof photos);
  if (!errs) {
    rc = gallery_fail(err, ARGUS_E_NOMEM, "out of memory");
    goto fail;
  }
  if ((rc = list_dir(dir, 1, &dirs, &ndirs, &loose, err)))
    goto fail;
  res = calloc(ndirs ? (size_t)ndirs : 1, sizeof *res);
  ps = calloc(ndirs ? (size_t)ndirs : 1, sizeof *ps);
  if (!res || !ps) {
    rc = gallery_fail(err, ARGUS_E_NOMEM, "out of memory");
    goto fail;
  }
  if ((rc = list_persons(dir, dirs, ndirs, res, ps, err)))
    goto fail;
  if ((rc = known_ids(g, watchlist, &known, &ids, &nids, err)))
    goto fail;
  for (int i = 0; i < ndirs; i++)
    ps[i].known = id_known(ids, nids, res[i].folder);
  if (!pool && o->threads != 1) {
    if ((rc = argus_threadpool_create(o->threads, &own_pool))) {
      gallery_fail(err, rc, "import: cannot start %d threads", o->threads);
      goto fail;
    }
    pool = own_pool;
  }
  nworkers = argus_threadpool_size(pool);
  workers = calloc((size_t)nworkers, sizeof *workers);
  if (!workers) {
    rc = gallery_fail(err, ARGUS_E_NOMEM, "out of memory");
    goto fail;
  }
  for (int i = 0; i < nworkers; i++)
    if ((rc = argus_face_worker_create(e, &workers[i]))) {
      gallery_fail(err, rc, "import: creating face worker %d: %s", i,
                   argus_strerror(rc));
      goto fail;
    }

  /* Started: from here on the summary is the caller's. */
  out->persons = res;
  out->persons_total = ndirs;
  snprintf(out->watchlist, sizeof out->watchlist, "%s", watchlist);
  out->loose_files = loose;
  res = NULL;
  imp_run run = {g, watchlist, cb, user, out, 0, 0};
  emit(&run, ARGUS_IMPORT_EVENT_START, NULL, NULL);
  argus_err stop = ARGUS_OK;
  int pi = 0;
  while (pi < ndirs && !run.cancelled && !stop) {
    if (o->cancel && *o->cancel) {
      run.cancelled = 1;
      break;
    }
    imp_batch b = {e,     workers, pool, o,     ps,   ndirs,
                   paths, photos,  rcs,  errs, err};
    stop = import_batch(&run, &b, &pi);
  }
  out->cancelled = run.cancelled && !stop;
  out->seconds = (double)(argus_time_ns() - t0) * 1e-9;
  rc = stop ? stop : out->cancelled ? ARGUS_E_CANCELLED : ARGUS_OK;
  if (rc == ARGUS_E_CANCELLED)
    gallery_fail(err, rc, "import cancelled after %lld of %lld persons",
                 (long long)run.done, (long long)ndirs);
  goto done;

fail:
  if (res)
    for (int i = 0; i < ndirs; i++) {
      free(res[i].folder);
      free(res[i].name);
    }
  free(res);
done:
  if (workers)
    for (int i = 0; i < nworkers; i++)
      argus_face_worker_free(workers[i]);
  free(workers);
  argus_threadpool_destroy(own_pool);
  if (ps)
    for (int i = 0; i < ndirs; i++)
      free_strv(ps[i].files, ps[i].nfiles);
  free(ps);
  free_strv(dirs, ndirs);
  free(ids);
  argus_store_free(known);
  free(errs);
  return rc;
}
