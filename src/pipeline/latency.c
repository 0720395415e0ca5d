/* Latency histograms of the pipeline: log-scale bins, 5 % wide, for p50
 * and p99 without keeping samples. */
#include <math.h>

#include "pipeline/pipeline_internal.h"

/* ---- latency histogram -------------------------------------------------- */

/* Bin 0: below 1 ms; bin i (1..PL_LAT_BINS-2): [1 ms * 1.05^(i-1),
 * 1 ms * 1.05^i); the last: everything above. */
static const double LAT_BASE = 1e-3, LAT_STEP = 1.05;

void pl_latency_add(pl_latency *l, double s) {
  if (!(s >= 0))
    s = 0;
  int b;
  if (s < LAT_BASE) {
    b = 0;
  } else {
    b = 1 + (int)floor(log(s / LAT_BASE) / log(LAT_STEP));
    if (b > PL_LAT_BINS - 1)
      b = PL_LAT_BINS - 1;
  }
  l->bins[b]++;
  l->count++;
  l->sum += s;
  if (s > l->max)
    l->max = s;
}

static double quantile(const pl_latency *l, double q) {
  if (!l->count)
    return 0;
  uint64_t want = (uint64_t)ceil(q * (double)l->count);
  if (want < 1)
    want = 1;
  uint64_t acc = 0;
  for (int b = 0; b < PL_LAT_BINS; b++) {
    acc += l->bins[b];
    if (acc >= want) {
      if (b == 0)
        return LAT_BASE * 0.5;
      /* The bin's geometric middle, but never above the largest sample. */
      double v = LAT_BASE * pow(LAT_STEP, (double)b - 0.5);
      return v < l->max ? v : l->max;
    }
  }
  return l->max;
}

void pl_latency_summary(const pl_latency *l, argus_pipeline_latency *out) {
  out->count = l->count;
  out->p50 = quantile(l, 0.50);
  out->p99 = quantile(l, 0.99);
  out->max = l->max;
  out->mean = l->count ? l->sum / (double)l->count : 0;
}
