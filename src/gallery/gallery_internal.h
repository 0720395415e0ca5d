/* Internals of the gallery module: an int64 -> pointer hash map and
 * message helpers. */
#ifndef ARGUS_GALLERY_INTERNAL_H
#define ARGUS_GALLERY_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "argus/gallery.h"

#define GALLERY_MOD "gallery"

/* Store row id (> 0) -> pointer: core's argus_i64map holding pointers as
 * intptr_t values. Zero-initialised is empty; `count` is the entry count. */
typedef argus_i64map gmap;

void gmap_free(gmap *m);
/* The value of key, or NULL. */
void *gmap_get(const gmap *m, int64_t key);
/* Inserts or replaces. Errors: INVALID_ARG (key <= 0), NOMEM. */
argus_err gmap_put(gmap *m, int64_t key, void *val);
/* Removes key; returns its value (NULL when absent). */
void *gmap_del(gmap *m, int64_t key);
/* Calls fn for every entry (in no particular order); fn must not change m. */
void gmap_each(const gmap *m, void (*fn)(void *user, int64_t key, void *val),
               void *user);

/* Writes a message into err (may be NULL) and returns e. */
argus_err gallery_fail(argus_gallery_error *err, argus_err e, const char *fmt,
                       ...) __attribute__((format(printf, 3, 4)));

/* For reindex.c (defined in gallery.c): the gallery's store,
 * its writer lock (held around every use of the store), and a reload with
 * that lock held. */
argus_store *gallery_store(argus_gallery *g);
void gallery_lock(argus_gallery *g);
void gallery_unlock(argus_gallery *g);
argus_err gallery_reload_locked(argus_gallery *g, argus_gallery_error *err);

#endif
