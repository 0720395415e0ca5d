/* Crop files addressed by content: <crops>/ab/<sha256>.jpg.
 *
 * Ordering rules that keep the files and the database consistent across
 * crashes (docs/store.md explains them):
 *  - a file is written (temp file, fsync, rename, fsync folder) inside the
 *    write transaction that inserts the row referring to it, before the
 *    commit: a committed row always has its file;
 *  - a file is removed only after the commit that deleted its last row, by a
 *    purge that re-checks under the write lock that nothing refers to it; the
 *    hashes to remove are queued in crop_purge in the deleting transaction,
 *    so a crash between commit and removal is finished at the next open;
 *  - gc (holding the write lock, which every writer of files also holds)
 *    removes files left by a process killed between write and commit. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store_internal.h"

argus_err store_crop_path(const argus_store *s, const char *hash, char *buf,
                          size_t size, argus_store_error *err) {
  if (!store_is_sha256_hex(hash))
    return store_fail(err, ARGUS_E_INVALID_ARG,
                      "'%.80s' is not a SHA-256 in lower-case hex", hash);
  int w = snprintf(buf, size, "%s/%.2s/%s.jpg", s->crops_dir, hash, hash);
  if (w < 0 || (size_t)w >= size)
    return store_fail(err, ARGUS_E_LIMIT, "crop path too long");
  return ARGUS_OK;
}

static argus_err fsync_dir(const char *dir, argus_store_error *err) {
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return store_fail(err, ARGUS_E_IO, "cannot open folder '%s': %s", dir,
                      strerror(errno));
  int rc = fsync(fd);
  int saved = errno;
  close(fd);
  if (rc != 0 && saved != EINVAL)
    return store_fail(err, ARGUS_E_IO, "cannot sync folder '%s': %s", dir,
                      strerror(saved));
  return ARGUS_OK;
}

static argus_err remember_new(argus_store *s, const char *hash,
                              argus_store_error *err) {
  if (s->n_new_crops == s->cap_new_crops) {
    size_t cap = s->cap_new_crops ? s->cap_new_crops * 2 : 16;
    void *p = realloc(s->new_crops, cap * sizeof *s->new_crops);
    if (!p)
      return store_fail(err, ARGUS_E_NOMEM, "out of memory");
    s->new_crops = p;
    s->cap_new_crops = cap;
  }
  memcpy(s->new_crops[s->n_new_crops++], hash, ARGUS_STORE_SHA256_HEX);
  return ARGUS_OK;
}

static argus_err write_all(int fd, const void *data, size_t n) {
  const char *p = data;
  while (n) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR)
        continue;
      return ARGUS_E_IO;
    }
    p += w;
    n -= (size_t)w;
  }
  return ARGUS_OK;
}

/* ---- intent files ------------------------------------------------------ */

static unsigned pending_seq;

/* Appends hash to the transaction's intent file, creating it first. Not
 * synced: it guards against process crashes; after a power cut the full
 * scan of argus_store_gc is the backstop. */
static argus_err pending_note(argus_store *s, const char *hash,
                              argus_store_error *err) {
  if (s->pending_fd < 0) {
    unsigned seq = __atomic_fetch_add(&pending_seq, 1, __ATOMIC_RELAXED);
    snprintf(s->pending_path, sizeof s->pending_path, "%s/.pending-%ld-%u",
             s->crops_dir, (long)getpid(), seq);
    s->pending_fd =
        open(s->pending_path,
             O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
    if (s->pending_fd < 0) {
      int saved = errno;
      s->pending_path[0] = '\0';
      return store_fail(err, ARGUS_E_IO, "cannot create '%s/.pending-*': %s",
                        s->crops_dir, strerror(saved));
    }
  }
  char line[ARGUS_STORE_SHA256_HEX + 1];
  memcpy(line, hash, 64);
  line[64] = '\n';
  if (write_all(s->pending_fd, line, 65) != ARGUS_OK)
    return store_fail(err, ARGUS_E_IO, "cannot write '%s': %s", s->pending_path,
                      strerror(errno));
  return ARGUS_OK;
}

void store_pending_end(argus_store *s) {
  if (s->pending_fd >= 0) {
    close(s->pending_fd);
    s->pending_fd = -1;
  }
  if (s->pending_path[0]) {
    unlink(s->pending_path);
    s->pending_path[0] = '\0';
  }
}

/* Removes the listed crop files (and their temp files) that no row refers
 * to, then the intent file. */
static argus_err pending_apply(argus_store *s, const char *name,
                               int64_t *removed, argus_store_error *err) {
  char path[STORE_PATH_MAX + 300];
  snprintf(path, sizeof path, "%s/%s", s->crops_dir, name);
  const char *pid = name + strlen(".pending-");
  size_t pidlen = strcspn(pid, "-");
  FILE *f = fopen(path, "r");
  if (!f)
    return errno == ENOENT ? ARGUS_OK
                           : store_fail(err, ARGUS_E_IO, "cannot read '%s': %s",
                                        path, strerror(errno));
  char line[128];
  argus_err e = ARGUS_OK;
  while (e == ARGUS_OK && fgets(line, sizeof line, f)) {
    line[strcspn(line, "\n")] = '\0';
    if (!store_is_sha256_hex(line))
      continue; /* a torn last line */
    int ref = 0;
    if ((e = store_crop_referenced(s, line, &ref, err)) != ARGUS_OK)
      break;
    char file[STORE_PATH_MAX];
    if (!ref && store_crop_path(s, line, file, sizeof file, NULL) == ARGUS_OK &&
        unlink(file) == 0 && removed)
      (*removed)++;
    char tmp[STORE_PATH_MAX + 100];
    snprintf(tmp, sizeof tmp, "%s/%.2s/.tmp-%s-%.*s", s->crops_dir, line, line,
             (int)pidlen, pid);
    unlink(tmp);
  }
  fclose(f);
  if (e == ARGUS_OK && unlink(path) != 0 && errno != ENOENT)
    e = store_fail(err, ARGUS_E_IO, "cannot remove '%s': %s", path,
                   strerror(errno));
  return e;
}

int store_pending_any(const argus_store *s) {
  DIR *d = opendir(s->crops_dir);
  if (!d)
    return errno != ENOENT; /* let the recovery report it */
  int any = 0;
  struct dirent *de;
  while (!any && (de = readdir(d)))
    any = strncmp(de->d_name, ".pending-", 9) == 0;
  closedir(d);
  return any;
}

argus_err store_pending_recover(argus_store *s, int64_t *removed,
                                argus_store_error *err) {
  DIR *d = opendir(s->crops_dir);
  if (!d)
    return store_fail(err, ARGUS_E_IO, "cannot open folder '%s': %s",
                      s->crops_dir, strerror(errno));
  /* Under the write lock no other transaction is writing files: every
   * intent file is either a finished transaction's (its files are
   * referenced) or a killed one's. */
  argus_err e = ARGUS_OK;
  struct dirent *de;
  while (e == ARGUS_OK && (de = readdir(d)))
    if (strncmp(de->d_name, ".pending-", 9) == 0 &&
        strcmp(de->d_name,
               s->pending_path[0] ? strrchr(s->pending_path, '/') + 1 : "") !=
            0)
      e = pending_apply(s, de->d_name, removed, err);
  closedir(d);
  return e;
}

/* tmp, fsync, rename to path, fsync dir. */
static argus_err write_file(const char *tmp, const char *path, const char *dir,
                            const void *data, size_t n,
                            argus_store_error *err) {
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    return store_fail(err, ARGUS_E_IO, "cannot create '%s': %s", tmp,
                      strerror(errno));
  argus_err e = write_all(fd, data, n);
  if (e == ARGUS_OK && fsync(fd) != 0)
    e = ARGUS_E_IO;
  int saved = errno;
  if (close(fd) != 0 && e == ARGUS_OK) {
    e = ARGUS_E_IO;
    saved = errno;
  }
  if (e != ARGUS_OK) {
    unlink(tmp);
    return store_fail(err, ARGUS_E_IO, "cannot write '%s': %s", tmp,
                      strerror(saved));
  }
  if (rename(tmp, path) != 0) {
    saved = errno;
    unlink(tmp);
    return store_fail(err, ARGUS_E_IO, "cannot rename '%s' to '%s': %s", tmp,
                      path, strerror(saved));
  }
  return fsync_dir(dir, err);
}

argus_err store_crop_rewrite(argus_store *s, const char *hash, const void *data,
                             size_t n, argus_store_error *err) {
  char path[STORE_PATH_MAX], dir[STORE_PATH_MAX], tmp[STORE_PATH_MAX + 32];
  argus_err e = store_crop_path(s, hash, path, sizeof path, err);
  if (e != ARGUS_OK)
    return e;
  void *sealed = NULL;
  size_t sn = 0;
  if ((e = store_crop_seal(s, hash, data, n, &sealed, &sn, err)) != ARGUS_OK)
    return e;
  snprintf(dir, sizeof dir, "%s/%.2s", s->crops_dir, hash);
  snprintf(tmp, sizeof tmp, "%s/.tmp-%s-%ld", dir, hash, (long)getpid());
  e = write_file(tmp, path, dir, sealed ? sealed : data, sealed ? sn : n, err);
  free(sealed);
  return e;
}

argus_err store_crop_put(argus_store *s, const void *data, size_t n,
                         char hash[ARGUS_STORE_SHA256_HEX],
                         argus_store_error *err) {
  if (!data || n == 0)
    return store_fail(err, ARGUS_E_INVALID_ARG, "crop is empty");
  if (n > ARGUS_STORE_CROP_MAX)
    return store_fail(err, ARGUS_E_LIMIT, "crop of %zu bytes is above %zu", n,
                      ARGUS_STORE_CROP_MAX);
  argus_sha256_hex(data, n, hash);
  char path[STORE_PATH_MAX], dir[STORE_PATH_MAX], tmp[STORE_PATH_MAX + 32];
  argus_err e = store_crop_path(s, hash, path, sizeof path, err);
  if (e != ARGUS_OK)
    return e;
  struct stat st;
  if (stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
      ((size_t)st.st_size == n ||
       (size_t)st.st_size == n + STORE_SEAL_OVERHEAD))
    return ARGUS_OK; /* same content already stored (plaintext or sealed) */
  int existed = errno != ENOENT;
  if (store_debug_fault())
    return store_fail(err, ARGUS_E_IO, "injected fault writing crop %.12s",
                      hash);
  snprintf(dir, sizeof dir, "%s/%.2s", s->crops_dir, hash);
  if (mkdir(dir, 0700) == 0) {
    if ((e = fsync_dir(s->crops_dir, err)) != ARGUS_OK)
      return e;
  } else if (errno != EEXIST) {
    return store_fail(err, ARGUS_E_IO, "cannot create folder '%s': %s", dir,
                      strerror(errno));
  }
  if ((e = pending_note(s, hash, err)) != ARGUS_OK)
    return e;
  /* With a key, the file holds the sealed crop (seal.c). */
  void *sealed = NULL;
  size_t sn = 0;
  if ((e = store_crop_seal(s, hash, data, n, &sealed, &sn, err)) != ARGUS_OK)
    return e;
  if (sealed) {
    data = sealed;
    n = sn;
  }
  /* Temp names start with ".tmp-" so gc can recognise them. */
  snprintf(tmp, sizeof tmp, "%s/.tmp-%s-%ld", dir, hash, (long)getpid());
  e = write_file(tmp, path, dir, data, n, err);
  free(sealed);
  if (e != ARGUS_OK)
    return e;
  /* A damaged file that was replaced is not new: rows may refer to it. */
  if (!existed)
    return remember_new(s, hash, err);
  return ARGUS_OK;
}

argus_err store_crop_load(const argus_store *s, const char *hash, void **data,
                          size_t *size, argus_store_error *err) {
  *data = NULL;
  *size = 0;
  char path[STORE_PATH_MAX];
  argus_err e = store_crop_path(s, hash, path, sizeof path, err);
  if (e != ARGUS_OK)
    return e;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return store_fail(err, errno == ENOENT ? ARGUS_E_NOT_FOUND : ARGUS_E_IO,
                      "crop file '%s': %s", path, strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return store_fail(err, ARGUS_E_IO, "crop file '%s' is not a file", path);
  }
  if ((size_t)st.st_size > ARGUS_STORE_CROP_MAX + STORE_SEAL_OVERHEAD ||
      st.st_size == 0) {
    close(fd);
    return store_fail(err, ARGUS_E_CHECKSUM, "crop file '%s' has %lld bytes",
                      path, (long long)st.st_size);
  }
  size_t n = (size_t)st.st_size;
  char *buf = malloc(n);
  if (!buf) {
    close(fd);
    return store_fail(err, ARGUS_E_NOMEM, "out of memory");
  }
  size_t got = 0;
  while (got < n) {
    ssize_t r = read(fd, buf + got, n - got);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      break;
    got += (size_t)r;
  }
  close(fd);
  if (got != n) {
    free(buf);
    return store_fail(err, ARGUS_E_IO, "cannot read crop file '%s'", path);
  }
  /* Opens a sealed file and checks the hash either way (seal.c). */
  void *p = buf;
  if ((e = store_crop_unseal(s, hash, path, &p, &n, err)) != ARGUS_OK) {
    free(p);
    return e;
  }
  *data = p;
  *size = n;
  return ARGUS_OK;
}

argus_err store_crop_referenced(argus_store *s, const char *hash, int *ref,
                                argus_store_error *err) {
  int found = 0;
  int64_t v = 0;
  argus_err e = store_query_int(
      s, &found, &v, err,
      "SELECT 1 FROM photos WHERE crop_sha256 = ? UNION ALL "
      "SELECT 1 FROM alerts WHERE crop_sha256 = ? OR thumb_sha256 = ? "
      "UNION ALL "
      "SELECT 1 FROM unmatched WHERE crop_sha256 = ? OR thumb_sha256 = ? "
      "LIMIT 1",
      "sssss", hash, hash, hash, hash, hash);
  *ref = found;
  return e;
}

argus_err store_purge_queue(argus_store *s, argus_store_error *err,
                            const char *select_sql, const char *fmt, ...) {
  /* The caller's SELECT names its column h. */
  char sql[1024];
  int w = snprintf(sql, sizeof sql,
                   "INSERT INTO crop_purge (sha256) SELECT DISTINCT h FROM "
                   "(%s) q WHERE h IS NOT NULL ON CONFLICT DO NOTHING",
                   select_sql);
  if (w < 0 || (size_t)w >= sizeof sql)
    return store_fail(err, ARGUS_E_INTERNAL, "purge query too long");
  /* store_run is variadic; forward through a prepared statement. */
  store_stmt *st = NULL;
  argus_err e = s->ops->prepare(s->db, sql, &st, err);
  if (e != ARGUS_OK)
    return e;
  va_list ap;
  va_start(ap, fmt);
  for (int i = 0; fmt[i] && e == ARGUS_OK; i++) {
    if (fmt[i] == 'i')
      e = s->ops->bind_int64(st, i + 1, va_arg(ap, int64_t));
    else if (fmt[i] == 's')
      e = s->ops->bind_text(st, i + 1, va_arg(ap, const char *));
    else
      e = ARGUS_E_INTERNAL;
  }
  va_end(ap);
  int row = STORE_ROW;
  while (e == ARGUS_OK && row == STORE_ROW)
    e = s->ops->step(st, &row, err);
  s->ops->finalize(st);
  return e;
}

/* Removes up to `batch` queued files in one write transaction; *left = 1
 * when the queue may hold more. */
static argus_err purge_batch(argus_store *s, int *left, int64_t *removed,
                             argus_store_error *err) {
  enum { BATCH = 256 };
  char(*hashes)[ARGUS_STORE_SHA256_HEX] = malloc(BATCH * sizeof *hashes);
  if (!hashes)
    return store_fail(err, ARGUS_E_NOMEM, "out of memory");
  int n = 0;
  *left = 0;
  argus_err e = store_begin(s, STORE_TX_WRITE, err);
  if (e != ARGUS_OK) {
    free(hashes);
    return e;
  }
  store_stmt *st = NULL;
  e = store_prep(s, &st, err,
                 "SELECT sha256 FROM crop_purge ORDER BY sha256 LIMIT ?", "i",
                 (int64_t)BATCH);
  int row = 0;
  while (e == ARGUS_OK && (e = store_step(s, st, &row, err)) == ARGUS_OK &&
         row == STORE_ROW)
    store_copy(hashes[n++], ARGUS_STORE_SHA256_HEX, s->ops->col_text(st, 0));
  s->ops->finalize(st);
  for (int i = 0; i < n && e == ARGUS_OK; i++) {
    int ref = 0;
    e = store_crop_referenced(s, hashes[i], &ref, err);
    if (e != ARGUS_OK)
      break;
    char path[STORE_PATH_MAX];
    if (!ref &&
        store_crop_path(s, hashes[i], path, sizeof path, NULL) == ARGUS_OK) {
      if (unlink(path) == 0) {
        (*removed)++;
        char *slash = strrchr(path, '/');
        *slash = '\0';
        /* Make the removal durable: a deleted person's face must not come
         * back after a power cut. */
        e = fsync_dir(path, err);
      } else if (errno != ENOENT) {
        e = store_fail(err, ARGUS_E_IO, "cannot remove '%s': %s", path,
                       strerror(errno));
      }
    }
    if (e == ARGUS_OK)
      e = store_run(s, err, "DELETE FROM crop_purge WHERE sha256 = ?", "s",
                    hashes[i]);
  }
  free(hashes);
  if (e != ARGUS_OK) {
    store_rollback(s);
    return e;
  }
  *left = n == BATCH;
  return store_commit(s, err);
}

argus_err store_purge_run(argus_store *s, argus_store_error *err) {
  /* Look first (no lock): an empty queue needs no write transaction. */
  int left = 0;
  int64_t removed = 0;
  argus_err e = store_query_int(s, &left, &removed, err,
                                "SELECT 1 FROM crop_purge LIMIT 1", "");
  removed = 0;
  while (left && e == ARGUS_OK)
    e = purge_batch(s, &left, &removed, err);
  if (removed)
    argus_log(ARGUS_LOG_DEBUG, STORE_MOD, "purged %lld crop files",
              (long long)removed);
  return e;
}

void store_purge_after_commit(argus_store *s, const char *what) {
  argus_store_error perr;
  perr.msg[0] = '\0';
  if (store_purge_run(s, &perr) != ARGUS_OK)
    argus_log(ARGUS_LOG_WARN, STORE_MOD,
              "%s done; its crop files will be removed at the next open: %s",
              what, perr.msg);
}

argus_err argus_store_crop_read(argus_store *s, const char *sha256, void **data,
                                size_t *size, argus_store_error *err) {
  if (data)
    *data = NULL;
  if (size)
    *size = 0;
  argus_err e = store_check_handle(s, err);
  if (e != ARGUS_OK)
    return e;
  if (!data || !size)
    return store_fail(err, ARGUS_E_INVALID_ARG, "data or size is NULL");
  if (!store_is_sha256_hex(sha256))
    return store_fail(err, ARGUS_E_INVALID_ARG,
                      "'%.80s' is not a SHA-256 in lower-case hex",
                      sha256 ? sha256 : "(null)");
  if ((e = store_begin(s, STORE_TX_WRITE, err)) != ARGUS_OK)
    return e;
  int ref = 0;
  e = store_crop_referenced(s, sha256, &ref, err);
  if (e == ARGUS_OK && !ref)
    e = store_fail(err, ARGUS_E_NOT_FOUND, "no crop %s is stored", sha256);
  if (e == ARGUS_OK) {
    store_json j;
    store_json_begin(&j);
    store_json_str(&j, "sha256", sha256);
    e = store_audit(s, "crop.read", "crop", 0, store_json_end(&j), NULL, err);
  }
  if (e == ARGUS_OK)
    e = store_crop_load(s, sha256, data, size, err);
  if (e != ARGUS_OK) {
    store_rollback(s);
    return e;
  }
  e = store_commit(s, err);
  if (e != ARGUS_OK) {
    free(*data);
    *data = NULL;
    *size = 0;
  }
  return e;
}

/* ---- gc and check ------------------------------------------------------- */

static int is_hex2(const char *name) {
  return strlen(name) == 2 &&
         ((name[0] >= '0' && name[0] <= '9') ||
          (name[0] >= 'a' && name[0] <= 'f')) &&
         ((name[1] >= '0' && name[1] <= '9') ||
          (name[1] >= 'a' && name[1] <= 'f'));
}

/* Name "<hash>.jpg" -> hash; 0 when the name is something else. */
static int crop_name(const char *name, const char *sub,
                     char hash[ARGUS_STORE_SHA256_HEX]) {
  if (strlen(name) != 68 || strcmp(name + 64, ".jpg") != 0 ||
      strncmp(name, sub, 2) != 0)
    return 0;
  memcpy(hash, name, 64);
  hash[64] = '\0';
  return store_is_sha256_hex(hash);
}

typedef argus_err (*crop_file_fn)(argus_store *s, void *user, const char *dir,
                                  const char *name, int is_tmp,
                                  const char *hash, argus_store_error *err);

/* Walks <crops>/xx/ entries. */
static argus_err walk_crops(argus_store *s, crop_file_fn fn, void *user,
                            argus_store_error *err) {
  DIR *top = opendir(s->crops_dir);
  if (!top)
    return store_fail(err, ARGUS_E_IO, "cannot open folder '%s': %s",
                      s->crops_dir, strerror(errno));
  argus_err e = ARGUS_OK;
  struct dirent *d;
  while (e == ARGUS_OK && (d = readdir(top))) {
    if (!is_hex2(d->d_name))
      continue;
    char dir[STORE_PATH_MAX];
    snprintf(dir, sizeof dir, "%s/%s", s->crops_dir, d->d_name);
    DIR *sub = opendir(dir);
    if (!sub)
      continue;
    struct dirent *f;
    while (e == ARGUS_OK && (f = readdir(sub))) {
      if (f->d_name[0] == '.' &&
          (!f->d_name[1] || (f->d_name[1] == '.' && !f->d_name[2])))
        continue;
      char hash[ARGUS_STORE_SHA256_HEX];
      int is_tmp = strncmp(f->d_name, ".tmp-", 5) == 0;
      int ok = !is_tmp && crop_name(f->d_name, d->d_name, hash);
      if (is_tmp || ok)
        e = fn(s, user, dir, f->d_name, is_tmp, ok ? hash : NULL, err);
    }
    closedir(sub);
  }
  closedir(top);
  return e;
}

typedef struct crop_list {
  char (*h)[ARGUS_STORE_SHA256_HEX];
  size_t n, cap;
} crop_list;

static argus_err list_file(argus_store *s, void *user, const char *dir,
                           const char *name, int is_tmp, const char *hash,
                           argus_store_error *err) {
  (void)s;
  (void)dir;
  (void)name;
  crop_list *l = user;
  if (is_tmp)
    return ARGUS_OK;
  if (l->n == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 256;
    void *p = realloc(l->h, cap * sizeof *l->h);
    if (!p)
      return store_fail(err, ARGUS_E_NOMEM, "out of memory listing crops");
    l->h = p;
    l->cap = cap;
  }
  memcpy(l->h[l->n++], hash, ARGUS_STORE_SHA256_HEX);
  return ARGUS_OK;
}

argus_err store_crop_list(argus_store *s,
                          char (**hashes)[ARGUS_STORE_SHA256_HEX], size_t *n,
                          argus_store_error *err) {
  crop_list l = {NULL, 0, 0};
  *hashes = NULL;
  *n = 0;
  struct stat st;
  if (stat(s->crops_dir, &st) != 0 && errno == ENOENT)
    return ARGUS_OK; /* a reader's store that never wrote a crop */
  argus_err e = walk_crops(s, list_file, &l, err);
  if (e != ARGUS_OK) {
    free(l.h);
    return e;
  }
  *hashes = l.h;
  *n = l.n;
  return ARGUS_OK;
}

static argus_err gc_file(argus_store *s, void *user, const char *dir,
                         const char *name, int is_tmp, const char *hash,
                         argus_store_error *err) {
  int64_t *removed = user;
  int ref = 0;
  if (!is_tmp) {
    argus_err e = store_crop_referenced(s, hash, &ref, err);
    if (e != ARGUS_OK)
      return e;
  }
  if (ref)
    return ARGUS_OK;
  char path[STORE_PATH_MAX + 80];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  if (unlink(path) == 0)
    (*removed)++;
  else if (errno != ENOENT)
    return store_fail(err, ARGUS_E_IO, "cannot remove '%s': %s", path,
                      strerror(errno));
  return fsync_dir(dir, err);
}

argus_err argus_store_gc(argus_store *s, int64_t *removed,
                         argus_store_error *err) {
  if (removed)
    *removed = 0;
  argus_err e = store_check_handle(s, err);
  if (e != ARGUS_OK)
    return e;
  if ((e = store_purge_run(s, err)) != ARGUS_OK)
    return e;
  /* Writers of crop files hold the write lock from before the file is
   * written until their commit, so under it every unreferenced file and
   * every temp file is garbage. */
  if ((e = store_begin(s, STORE_TX_WRITE, err)) != ARGUS_OK)
    return e;
  int64_t n = 0;
  e = store_pending_recover(s, &n, err);
  if (e == ARGUS_OK)
    e = walk_crops(s, gc_file, &n, err);
  if (e == ARGUS_OK && n) {
    store_json j;
    store_json_begin(&j);
    store_json_int(&j, "removed", n);
    e = store_audit(s, "store.gc", "crop", 0, store_json_end(&j), NULL, err);
  }
  if (e != ARGUS_OK) {
    store_rollback(s);
    return e;
  }
  if ((e = store_commit(s, err)) != ARGUS_OK)
    return e;
  if (removed)
    *removed = n;
  return ARGUS_OK;
}

static void note_problem(argus_store_check_report *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void note_problem(argus_store_check_report *r, const char *fmt, ...) {
  r->problems++;
  if (r->first_problem[0])
    return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(r->first_problem, sizeof r->first_problem, fmt, ap);
  va_end(ap);
}

static void integrity_finding(void *user, const char *msg) {
  argus_store_check_report *r = user;
  r->db_errors++;
  note_problem(r, "database: %s", msg);
}

static argus_err check_file(argus_store *s, void *user, const char *dir,
                            const char *name, int is_tmp, const char *hash,
                            argus_store_error *err) {
  argus_store_check_report *r = user;
  if (is_tmp) {
    r->orphan_files++;
    return ARGUS_OK;
  }
  r->crop_files++;
  int ref = 0;
  argus_err e = store_crop_referenced(s, hash, &ref, err);
  if (e == ARGUS_OK && !ref)
    r->orphan_files++;
  return e;
}

static argus_err count_rows(argus_store *s, const char *sql, int64_t *out,
                            argus_store_error *err) {
  int found = 0;
  return store_query_int(s, &found, out, err, sql, "");
}

argus_err argus_store_check(argus_store *s, int hash_files,
                            argus_store_check_report *r,
                            argus_store_error *err) {
  argus_err e = store_check_handle(s, err);
  if (e != ARGUS_OK)
    return e;
  if (!r)
    return store_fail(err, ARGUS_E_INVALID_ARG, "report is NULL");
  memset(r, 0, sizeof *r);
  int64_t n = 0;
  if ((e = s->ops->integrity(s->db, integrity_finding, r, &n, err)) != ARGUS_OK)
    return e;
  if ((e = store_begin(s, STORE_TX_READ, err)) != ARGUS_OK)
    return e;
  store_stmt *st = NULL;
  e = count_rows(s, "SELECT count(*) FROM watchlists", &r->watchlists, err);
  if (e == ARGUS_OK)
    e = count_rows(s, "SELECT count(*) FROM persons", &r->persons, err);
  if (e == ARGUS_OK)
    e = count_rows(s, "SELECT count(*) FROM photos", &r->photos, err);
  if (e == ARGUS_OK)
    e = count_rows(s, "SELECT count(*) FROM templates", &r->templates, err);
  if (e == ARGUS_OK)
    e = count_rows(s, "SELECT count(*) FROM alerts", &r->alerts, err);
  if (e == ARGUS_OK)
    e = count_rows(s,
                   "SELECT count(*) FROM templates t LEFT JOIN photos p "
                   "ON p.id = t.photo_id WHERE p.id IS NULL OR "
                   "p.person_id <> t.person_id OR "
                   "(length(t.vector) <> 4 * t.dim AND "
                   "length(t.vector) <> 4 * t.dim + 53)",
                   &r->bad_templates, err);
  if (e == ARGUS_OK && r->bad_templates)
    note_problem(r, "%lld templates disagree with their photo or dim",
                 (long long)r->bad_templates);
  /* Every referenced crop: the file exists, has the recorded size and (when
   * asked) the right hash. */
  if (e == ARGUS_OK)
    e = store_prep(s, &st, err,
                   "SELECT crop_sha256 AS h, max(crop_size) FROM photos "
                   "GROUP BY crop_sha256 UNION "
                   "SELECT crop_sha256 AS h, 0 FROM alerts "
                   "WHERE crop_sha256 IS NOT NULL UNION "
                   "SELECT thumb_sha256 AS h, 0 FROM alerts "
                   "WHERE thumb_sha256 IS NOT NULL UNION "
                   "SELECT crop_sha256 AS h, 0 FROM unmatched "
                   "WHERE crop_sha256 IS NOT NULL UNION "
                   "SELECT thumb_sha256 AS h, 0 FROM unmatched "
                   "WHERE thumb_sha256 IS NOT NULL",
                   "");
  int row = 0;
  while (e == ARGUS_OK && (e = store_step(s, st, &row, err)) == ARGUS_OK &&
         row == STORE_ROW) {
    char hash[ARGUS_STORE_SHA256_HEX], path[STORE_PATH_MAX];
    store_copy(hash, sizeof hash, s->ops->col_text(st, 0));
    int64_t want = s->ops->col_int64(st, 1);
    if (store_crop_path(s, hash, path, sizeof path, NULL) != ARGUS_OK) {
      r->bad_crops++;
      note_problem(r, "bad crop hash '%s' in the database", hash);
      continue;
    }
    struct stat sb;
    if (stat(path, &sb) != 0) {
      r->missing_crops++;
      note_problem(r, "crop file %s is missing", path);
      continue;
    }
    if (want > 0 && sb.st_size != want &&
        sb.st_size != want + STORE_SEAL_OVERHEAD) {
      r->bad_crops++;
      note_problem(r, "crop file %s has %lld bytes, the database says %lld",
                   path, (long long)sb.st_size, (long long)want);
      continue;
    }
    if (hash_files) {
      void *data = NULL;
      size_t size = 0;
      argus_store_error ferr;
      argus_err fe = store_crop_load(s, hash, &data, &size, &ferr);
      free(data);
      if (fe != ARGUS_OK) {
        r->bad_crops++;
        note_problem(r, "%s", ferr.msg);
      }
    }
  }
  s->ops->finalize(st);
  if (e == ARGUS_OK)
    e = walk_crops(s, check_file, r, err);
  store_rollback(s); /* read-only */
  if (e != ARGUS_OK)
    return e;
  /* Audited apart: the check reads crops but hands none out. */
  if ((e = store_begin(s, STORE_TX_WRITE, err)) != ARGUS_OK)
    return e;
  store_json j;
  store_json_begin(&j);
  store_json_int(&j, "problems", r->problems);
  store_json_int(&j, "hashed", hash_files ? 1 : 0);
  e = store_audit(s, "store.check", "store", 0, store_json_end(&j), NULL, err);
  if (e != ARGUS_OK) {
    store_rollback(s);
    return e;
  }
  return store_commit(s, err);
}

argus_err argus_store_crop_path(const argus_store *s, const char *sha256,
                                char *buf, size_t size,
                                argus_store_error *err) {
  if (!s || !sha256 || !buf || size == 0)
    return store_fail(err, ARGUS_E_INVALID_ARG, "NULL argument");
  return store_crop_path(s, sha256, buf, size, err);
}
