/* Duration histograms with fixed bounds (argus_edge_histogram): recorded
 * from any thread with relaxed atomics (no lock, no allocation), read as a
 * snapshot whose buckets and count agree (the count is the bins' sum). The
 * edge records detection and embedding times, the pipeline the
 * capture-to-alert latency. */
#ifndef ARGUS_EDGE_HISTOGRAM_H
#define ARGUS_EDGE_HISTOGRAM_H

#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#include "argus/edge.h"

typedef struct edge_hist {
  /* bins[i]: samples in (le[i-1], le[i]]; bins[N]: above the last bound */
  _Atomic uint64_t bins[ARGUS_EDGE_HIST_BOUNDS + 1];
  _Atomic uint64_t sum_ns;
} edge_hist;

static inline const double *edge_hist_bounds(void) {
  static const double le[ARGUS_EDGE_HIST_BOUNDS] = {
      0.0005, 0.001, 0.0025, 0.005, 0.0075, 0.01, 0.025, 0.05,
      0.075,  0.1,   0.25,   0.5,   1,      2.5,  5,     10};
  return le;
}

/* n samples of ns nanoseconds each. */
static inline void edge_hist_add(edge_hist *h, uint64_t ns, uint64_t n) {
  if (!n)
    return;
  const double *le = edge_hist_bounds();
  double s = (double)ns * 1e-9;
  int b = 0;
  while (b < ARGUS_EDGE_HIST_BOUNDS && s > le[b])
    b++;
  atomic_fetch_add_explicit(&h->bins[b], n, memory_order_relaxed);
  atomic_fetch_add_explicit(&h->sum_ns, ns * n, memory_order_relaxed);
}

static inline void edge_hist_read(edge_hist *h, argus_edge_histogram *out) {
  if (!out)
    return;
  memset(out, 0, sizeof *out);
  const double *le = edge_hist_bounds();
  out->nbounds = ARGUS_EDGE_HIST_BOUNDS;
  uint64_t acc = 0;
  for (int b = 0; b <= ARGUS_EDGE_HIST_BOUNDS; b++) {
    acc += atomic_load_explicit(&h->bins[b], memory_order_relaxed);
    if (b < ARGUS_EDGE_HIST_BOUNDS) {
      out->le[b] = le[b];
      out->buckets[b] = acc;
    }
  }
  out->count = acc;
  out->sum = (double)atomic_load_explicit(&h->sum_ns, memory_order_relaxed) *
             1e-9;
}

#endif
