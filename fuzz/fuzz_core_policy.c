/* libFuzzer harness for the recognition policy reader (argus/policy.h), the
 * code that checks the "policy" member of camera settings coming from the
 * CLI, the REST API and the database: argus_policy_parse on raw bytes and
 * argus_policy_from_settings on them as a settings object; an accepted
 * policy must hold within its limits, summarise into valid JSON (or report
 * that it did not fit), and answer mode and mask queries anywhere. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "argus/policy.h"

static void check(const argus_policy *p, const uint8_t *data, size_t size) {
  if (p->nwindows < 0 || p->nwindows > ARGUS_POLICY_MAX_WINDOWS ||
      p->nmasks < 0 || p->nmasks > ARGUS_POLICY_MAX_MASKS ||
      (unsigned)p->mode > ARGUS_POLICY_OFF ||
      !memchr(p->legal_ref, '\0', sizeof p->legal_ref))
    abort();
  for (int i = 0; i < p->nwindows; i++) {
    const argus_policy_window *w = &p->windows[i];
    if ((unsigned)w->mode > ARGUS_POLICY_OFF)
      abort();
    if (w->daily ? (w->from_ns < 0 || w->from_ns >= 86400 || w->to_ns < 0 ||
                    w->to_ns >= 86400 || w->from_ns == w->to_ns)
                 : !(w->from_ns < w->to_ns))
      abort();
  }
  for (int i = 0; i < p->nmasks; i++)
    if (p->masks[i].npoints < 3 ||
        p->masks[i].npoints > ARGUS_POLICY_MAX_POINTS)
      abort();
  char buf[3072];
  size_t n = argus_policy_summary(p, buf, sizeof buf);
  if (n && argus_json_validate(buf, n, 0, NULL) != ARGUS_OK)
    abort();
  /* Queries at times and points taken from the input. */
  int64_t t = 0;
  float x = 0, y = 0;
  if (size >= 16) {
    memcpy(&t, data, sizeof t);
    memcpy(&x, data + 8, sizeof x);
    memcpy(&y, data + 12, sizeof y);
  }
  if ((unsigned)argus_policy_mode_at(p, t) > ARGUS_POLICY_OFF)
    abort();
  if (isfinite(x) && isfinite(y))
    argus_policy_masked(p, x, y);
  argus_policy_masked(p, 50, 50);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *s = malloc(size + 1);
  if (!s)
    return 0;
  memcpy(s, data, size);
  s[size] = '\0';
  argus_policy p;
  if (argus_policy_parse(s, &p, NULL) == ARGUS_OK)
    check(&p, data, size);
  int present = 0;
  if (argus_policy_from_settings(s, &p, &present, NULL) == ARGUS_OK)
    check(&p, data, size);
  free(s);
  return 0;
}
