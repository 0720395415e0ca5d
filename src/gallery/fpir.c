/* Watchlist thresholds from a target false-positive identification rate and
 * the watchlist's size (argus_gallery_threshold_for_fpir).
 *
 * Why the normal quantile: the embedder card calibrates thresholds at a few
 * false-match rates (fr_feature: 1e-2, 1e-3, 1e-4), while a watchlist of
 * 1,680 persons at FPIR 0.1 % needs a per-comparison FMR near 6e-7, far
 * beyond them. Plotted against z = Q^-1(FMR) (Q the standard normal's upper
 * tail), fr_feature's points lie on one line within 0.005 (0.291, 0.388,
 * 0.464 at z = 2.33, 3.09, 3.72: slopes 0.126 and 0.122), as they do when
 * impostor cosines have a Gaussian tail; so the thresholds are interpolated
 * and extrapolated linearly in z. On LFW (docs/gallery.md) the extrapolation
 * lands within 0.01-0.06 of the thresholds measured on 4,069 strangers. */
#include <math.h>

#include "gallery_internal.h"

/* Q^-1(p): the z whose upper normal tail is p (0 < p < 1), by bisection
 * (Q is monotone; 200 halvings of [-40, 40] are far below double's
 * resolution). */
static double upper_quantile(double p) {
  double lo = -40, hi = 40;
  for (int i = 0; i < 200; i++) {
    double mid = 0.5 * (lo + hi);
    if (0.5 * erfc(mid / sqrt(2.0)) > p)
      lo = mid;
    else
      hi = mid;
  }
  return 0.5 * (lo + hi);
}

argus_err argus_gallery_threshold_for_fpir(const argus_face_card *card,
                                           double fpir, int64_t n,
                                           float *threshold, double *fmr,
                                           argus_gallery_error *err) {
  if (!card || !threshold)
    return gallery_fail(err, ARGUS_E_INVALID_ARG, "no card or output");
  if (card->kind != ARGUS_FACE_MODEL_EMBEDDER)
    return gallery_fail(err, ARGUS_E_INVALID_ARG,
                        "card %s is not an embedder's", card->name);
  if (!(fpir > 0 && fpir < 1))
    return gallery_fail(err, ARGUS_E_INVALID_ARG, "FPIR %g is not in (0, 1)",
                        fpir);
  if (n < 1)
    return gallery_fail(err, ARGUS_E_INVALID_ARG,
                        "watchlist size %lld: at least one person is needed",
                        (long long)n);
  if (card->nthresholds < 2)
    return gallery_fail(err, ARGUS_E_INVALID_ARG,
                        "card %s has %d calibrated threshold(s); two are "
                        "needed to extrapolate",
                        card->name, card->nthresholds);
  /* n independent impostor comparisons, none false-matching:
   * 1 - FPIR = (1 - fmr)^n. */
  double f = -expm1(log1p(-fpir) / (double)n);
  if (!(f > 0))
    f = 1e-300;
  double z = upper_quantile(f);
  /* Points sorted by decreasing FMR, i.e. increasing z: the segment that
   * holds z, or the nearest end segment. */
  int m = card->nthresholds;
  int i = 0;
  while (i < m - 2 && upper_quantile(card->thresholds[i + 1].fmr) < z)
    i++;
  double z0 = upper_quantile(card->thresholds[i].fmr);
  double z1 = upper_quantile(card->thresholds[i + 1].fmr);
  double t0 = card->thresholds[i].threshold;
  double t1 = card->thresholds[i + 1].threshold;
  if (!(z1 > z0))
    return gallery_fail(err, ARGUS_E_INVALID_ARG,
                        "card %s: calibrated FMRs %g and %g are not "
                        "decreasing",
                        card->name, card->thresholds[i].fmr,
                        card->thresholds[i + 1].fmr);
  double t = t0 + (t1 - t0) * (z - z0) / (z1 - z0);
  if (t > 1)
    t = 1;
  if (t < -1)
    t = -1;
  *threshold = (float)t;
  if (fmr)
    *fmr = f;
  return ARGUS_OK;
}
