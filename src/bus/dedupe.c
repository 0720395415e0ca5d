/* Duplicate suppression by (topic, id) over a window of recent messages
 * (bus_internal.h), shared by the backends. */
#include <stdlib.h>

#include "bus/bus_internal.h"

argus_err bus_dedupe_init(bus_dedupe *d, int window) {
  d->window = window;
  d->nrecent = d->head = 0;
  argus_i64map_init(&d->set, 0);
  d->recent = calloc((size_t)window, sizeof *d->recent);
  if (!d->recent ||
      argus_i64map_reserve(&d->set, (size_t)window + 1) != ARGUS_OK) {
    bus_dedupe_free(d);
    return ARGUS_E_NOMEM;
  }
  return ARGUS_OK;
}

void bus_dedupe_free(bus_dedupe *d) {
  free(d->recent);
  d->recent = NULL;
  argus_i64map_free(&d->set);
}

uint64_t bus_dedupe_hash(const char *topic, const char *id) {
  uint64_t h = 1469598103934665603ull; /* FNV-1a 64 */
  for (const char *p = topic; *p; p++)
    h = (h ^ (unsigned char)*p) * 1099511628211ull;
  h = (h ^ 0xffu) * 1099511628211ull;
  for (const char *p = id; *p; p++)
    h = (h ^ (unsigned char)*p) * 1099511628211ull;
  /* INT64_MIN is the map's empty-slot marker. */
  return h == 0x8000000000000000ull ? 1 : h;
}

int bus_dedupe_seen(bus_dedupe *d, uint64_t h) {
  if (argus_i64map_get(&d->set, (int64_t)h, NULL))
    return 1;
  if (d->nrecent == d->window) {
    argus_i64map_remove(&d->set, (int64_t)d->recent[d->head], NULL);
    d->head = (d->head + 1) % d->window;
    d->nrecent--;
  }
  /* Room for `window` keys was reserved: this never allocates nor fails. */
  argus_i64map_put(&d->set, (int64_t)h, 0);
  d->recent[(d->head + d->nrecent) % d->window] = h;
  d->nrecent++;
  return 0;
}
