/*
 * Per-thread scratch memory for searches (index_internal.h, ix_arena_*).
 *
 * Each thread has one 64-byte aligned block. Allocations bump through it;
 * one that does not fit is malloc'ed on the side and remembered. Marks
 * nest; when the outermost one is released, the side allocations are freed
 * and the block is regrown to the high-water mark, so from the second
 * search of a given shape on, a search allocates nothing. The block is
 * freed when the thread exits.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "index/index_internal.h"

typedef struct arena {
  uint8_t *block;
  size_t cap, used;
  int depth;    /* marks taken and not yet released */
  size_t high;  /* bytes the last searches needed (block + side) */
  size_t want;  /* bytes asked for since mark 0 */
  void **side;  /* allocations that did not fit */
  size_t nside, capside;
} arena;

static pthread_key_t g_key;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static int g_key_ok;

static void arena_free(void *p) {
  arena *a = p;
  if (!a)
    return;
  for (size_t i = 0; i < a->nside; i++)
    free(a->side[i]);
  free(a->side);
  free(a->block);
  free(a);
}

static void make_key(void) { g_key_ok = pthread_key_create(&g_key, arena_free) == 0; }

static arena *get_arena(void) {
  pthread_once(&g_once, make_key);
  if (!g_key_ok)
    return NULL;
  arena *a = pthread_getspecific(g_key);
  if (!a) {
    a = calloc(1, sizeof *a);
    if (!a)
      return NULL;
    if (pthread_setspecific(g_key, a) != 0) {
      free(a);
      return NULL;
    }
  }
  return a;
}

size_t ix_arena_mark(void) {
  arena *a = get_arena();
  if (!a)
    return 0;
  a->depth++;
  return a->used;
}

void *ix_arena_alloc(size_t n) {
  n = (n + 63) & ~(size_t)63;
  if (n == 0)
    n = 64;
  arena *a = get_arena();
  if (!a)
    return NULL;
  a->want += n;
  if (a->cap - a->used >= n) {
    void *p = a->block + a->used;
    a->used += n;
    return p;
  }
  if (a->nside == a->capside) {
    size_t c = a->capside ? 2 * a->capside : 8;
    void **s = realloc(a->side, c * sizeof *s);
    if (!s)
      return NULL;
    a->side = s;
    a->capside = c;
  }
  void *p = aligned_alloc(64, n);
  if (p)
    a->side[a->nside++] = p;
  return p;
}

void *ix_arena_calloc(size_t n) {
  void *p = ix_arena_alloc(n);
  if (p)
    memset(p, 0, n);
  return p;
}

void ix_arena_release(size_t mark) {
  arena *a = get_arena();
  if (!a)
    return;
  if (a->depth > 0)
    a->depth--;
  if (mark <= a->used)
    a->used = mark;
  if (a->depth > 0)
    return;
  /* outermost release: drop side allocations, size the block for next time */
  a->used = 0;
  for (size_t i = 0; i < a->nside; i++)
    free(a->side[i]);
  a->nside = 0;
  if (a->want > a->high)
    a->high = a->want;
  a->want = 0;
  if (a->high > a->cap) {
    uint8_t *b = aligned_alloc(64, (a->high + 63) & ~(size_t)63);
    if (b) {
      free(a->block);
      a->block = b;
      a->cap = (a->high + 63) & ~(size_t)63;
    }
  }
}
