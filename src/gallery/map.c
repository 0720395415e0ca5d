/* An int64 -> pointer hash map for the gallery's person and photo tables. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "gallery_internal.h"

static size_t slot_of(int64_t key, size_t cap) {
  /* splitmix64 finaliser: row ids are dense, their low bits alone would
   * cluster. */
  uint64_t x = (uint64_t)key;
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  x ^= x >> 31;
  return (size_t)x & (cap - 1);
}

void gmap_free(gmap *m) {
  if (!m)
    return;
  free(m->keys);
  free(m->vals);
  m->keys = NULL;
  m->vals = NULL;
  m->cap = m->count = 0;
}

void *gmap_get(const gmap *m, int64_t key) {
  if (!m->cap || key <= 0)
    return NULL;
  for (size_t i = slot_of(key, m->cap);; i = (i + 1) & (m->cap - 1)) {
    if (m->keys[i] == key)
      return m->vals[i];
    if (m->keys[i] == 0)
      return NULL;
  }
}

static argus_err grow(gmap *m) {
  size_t cap = m->cap ? m->cap * 2 : 64;
  if (cap > SIZE_MAX / sizeof(void *) / 2)
    return ARGUS_E_NOMEM;
  int64_t *keys = calloc(cap, sizeof *keys);
  void **vals = calloc(cap, sizeof *vals);
  if (!keys || !vals) {
    free(keys);
    free(vals);
    return ARGUS_E_NOMEM;
  }
  for (size_t i = 0; i < m->cap; i++) {
    if (!m->keys[i])
      continue;
    size_t j = slot_of(m->keys[i], cap);
    while (keys[j])
      j = (j + 1) & (cap - 1);
    keys[j] = m->keys[i];
    vals[j] = m->vals[i];
  }
  free(m->keys);
  free(m->vals);
  m->keys = keys;
  m->vals = vals;
  m->cap = cap;
  return ARGUS_OK;
}

argus_err gmap_put(gmap *m, int64_t key, void *val) {
  if (key <= 0)
    return ARGUS_E_INVALID_ARG;
  /* Load factor at most 1/2. */
  if ((m->count + 1) * 2 > m->cap) {
    argus_err e = grow(m);
    if (e)
      return e;
  }
  size_t i = slot_of(key, m->cap);
  while (m->keys[i] && m->keys[i] != key)
    i = (i + 1) & (m->cap - 1);
  if (!m->keys[i])
    m->count++;
  m->keys[i] = key;
  m->vals[i] = val;
  return ARGUS_OK;
}

void *gmap_del(gmap *m, int64_t key) {
  if (!m->cap || key <= 0)
    return NULL;
  const size_t mask = m->cap - 1;
  size_t i = slot_of(key, m->cap);
  while (m->keys[i] != key) {
    if (!m->keys[i])
      return NULL;
    i = (i + 1) & mask;
  }
  void *val = m->vals[i];
  /* Backward shift: move later members of the probe run into the hole
   * when their home slot does not lie (cyclically) between the hole and
   * them. */
  size_t hole = i;
  for (size_t j = (i + 1) & mask; m->keys[j]; j = (j + 1) & mask) {
    size_t home = slot_of(m->keys[j], m->cap);
    int between =
        hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
    if (between)
      continue;
    m->keys[hole] = m->keys[j];
    m->vals[hole] = m->vals[j];
    hole = j;
  }
  m->keys[hole] = 0;
  m->vals[hole] = NULL;
  m->count--;
  return val;
}

void gmap_each(const gmap *m, void (*fn)(void *user, int64_t key, void *val),
               void *user) {
  for (size_t i = 0; i < m->cap; i++)
    if (m->keys[i])
      fn(user, m->keys[i], m->vals[i]);
}

argus_err gallery_fail(argus_gallery_error *err, argus_err e, const char *fmt,
                       ...) {
  if (err) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
  }
  return e;
}
