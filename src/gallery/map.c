/* The gallery's person and photo tables: row id -> pointer over core's
 * int64 hash map. */
#include <stdarg.h>
#include <stdint.h>

#include "gallery_internal.h"

void gmap_free(gmap *m) { argus_i64map_free(m); }

void *gmap_get(const gmap *m, int64_t key) {
  int64_t v;
  if (key <= 0 || !argus_i64map_get(m, key, &v))
    return NULL;
  return (void *)(intptr_t)v;
}

argus_err gmap_put(gmap *m, int64_t key, void *val) {
  if (key <= 0)
    return ARGUS_E_INVALID_ARG;
  return argus_i64map_put(m, key, (int64_t)(intptr_t)val);
}

void *gmap_del(gmap *m, int64_t key) {
  int64_t v;
  if (key <= 0 || !argus_i64map_remove(m, key, &v))
    return NULL;
  return (void *)(intptr_t)v;
}

void gmap_each(const gmap *m, void (*fn)(void *user, int64_t key, void *val),
               void *user) {
  size_t it = 0;
  int64_t key, v;
  while (argus_i64map_next(m, &it, &key, &v))
    fn(user, key, (void *)(intptr_t)v);
}

argus_err gallery_fail(argus_gallery_error *err, argus_err e, const char *fmt,
                       ...) {
  va_list ap;
  va_start(ap, fmt);
  argus_error_detail_setv(err, fmt, ap);
  va_end(ap);
  return e;
}
