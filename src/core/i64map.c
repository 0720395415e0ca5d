/* The int64 -> int64 hash map shared by the gallery (row id -> person), the
 * index (row id -> template) and anyone else who needs one: linear probing
 * over a splitmix64 hash (row ids are dense; their low bits alone would
 * cluster), backward-shift deletion so that probe runs never hold
 * tombstones, load factor at most 1/2. */
#include <stdlib.h>
#include <string.h>

#include "argus/core.h"

#define EMPTY ARGUS_I64MAP_NO_KEY

uint64_t argus_hash64(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  x ^= x >> 31;
  return x;
}

void argus_i64map_init(argus_i64map *m, size_t max_count) {
  memset(m, 0, sizeof *m);
  m->max_count = max_count;
}

void argus_i64map_free(argus_i64map *m) {
  if (!m)
    return;
  free(m->keys);
  free(m->vals);
  m->keys = NULL;
  m->vals = NULL;
  m->cap = m->count = 0;
}

/* Slot of key, or of the empty slot where it would go; 1 if found. */
static int find(const argus_i64map *m, int64_t key, size_t *pos) {
  size_t mask = m->cap - 1, i = (size_t)argus_hash64((uint64_t)key) & mask;
  while (m->keys[i] != EMPTY) {
    if (m->keys[i] == key) {
      *pos = i;
      return 1;
    }
    i = (i + 1) & mask;
  }
  *pos = i;
  return 0;
}

argus_err argus_i64map_reserve(argus_i64map *m, size_t n) {
  if (m->max_count && n > m->max_count)
    return ARGUS_E_LIMIT;
  if (n > SIZE_MAX / 4 / sizeof(int64_t))
    return ARGUS_E_LIMIT;
  size_t cap = m->cap ? m->cap : 16;
  while (cap < 2 * n)
    cap *= 2;
  if (cap == m->cap)
    return ARGUS_OK;
  argus_i64map nm = *m;
  nm.keys = malloc(cap * sizeof *nm.keys);
  nm.vals = malloc(cap * sizeof *nm.vals);
  if (!nm.keys || !nm.vals) {
    free(nm.keys);
    free(nm.vals);
    return ARGUS_E_NOMEM;
  }
  nm.cap = cap;
  for (size_t i = 0; i < cap; i++)
    nm.keys[i] = EMPTY;
  for (size_t i = 0; i < m->cap; i++) {
    if (m->keys[i] == EMPTY)
      continue;
    size_t pos;
    find(&nm, m->keys[i], &pos);
    nm.keys[pos] = m->keys[i];
    nm.vals[pos] = m->vals[i];
  }
  free(m->keys);
  free(m->vals);
  *m = nm;
  return ARGUS_OK;
}

argus_err argus_i64map_put(argus_i64map *m, int64_t key, int64_t val) {
  if (key == EMPTY)
    return ARGUS_E_INVALID_ARG;
  size_t pos;
  if (m->cap && find(m, key, &pos)) {
    m->vals[pos] = val;
    return ARGUS_OK;
  }
  if (m->max_count && m->count >= m->max_count)
    return ARGUS_E_LIMIT;
  if ((m->count + 1) * 2 > m->cap) {
    argus_err e = argus_i64map_reserve(m, m->count + 1); /* doubles */
    if (e != ARGUS_OK)
      return e;
  }
  find(m, key, &pos);
  m->keys[pos] = key;
  m->vals[pos] = val;
  m->count++;
  return ARGUS_OK;
}

int argus_i64map_get(const argus_i64map *m, int64_t key, int64_t *val) {
  size_t pos;
  if (!m->cap || key == EMPTY || !find(m, key, &pos))
    return 0;
  if (val)
    *val = m->vals[pos];
  return 1;
}

int argus_i64map_remove(argus_i64map *m, int64_t key, int64_t *val) {
  size_t i;
  if (!m->cap || key == EMPTY || !find(m, key, &i))
    return 0;
  if (val)
    *val = m->vals[i];
  size_t mask = m->cap - 1, j = i;
  m->keys[i] = EMPTY;
  m->count--;
  /* Shift back the entries of the probe run that follows the hole: entry j
   * stays unless its home lies cyclically outside (hole, j]. */
  for (;;) {
    j = (j + 1) & mask;
    if (m->keys[j] == EMPTY)
      break;
    size_t home = (size_t)argus_hash64((uint64_t)m->keys[j]) & mask;
    int stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
    if (stays)
      continue;
    m->keys[i] = m->keys[j];
    m->vals[i] = m->vals[j];
    m->keys[j] = EMPTY;
    i = j;
  }
  return 1;
}

void argus_i64map_clear(argus_i64map *m) {
  for (size_t i = 0; i < m->cap; i++)
    m->keys[i] = EMPTY;
  m->count = 0;
}

int argus_i64map_next(const argus_i64map *m, size_t *it, int64_t *key,
                      int64_t *val) {
  for (size_t i = *it; i < m->cap; i++) {
    if (m->keys[i] == EMPTY)
      continue;
    if (key)
      *key = m->keys[i];
    if (val)
      *val = m->vals[i];
    *it = i + 1;
    return 1;
  }
  *it = m->cap;
  return 0;
}
