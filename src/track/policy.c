/* The best-shot policy: which shots of a track are worth an embedding and a
 * watchlist search. What a search found is the matcher's business
 * (src/match): the edge does not learn of it, so that edge and match can
 * run in different processes. */
#include <math.h>
#include <string.h>

#include "track/track_internal.h"

void trk_policy_init(trk_policy_state *s) {
  memset(s, 0, sizeof *s);
  s->best_quality = -1;
  s->last_req_quality = -1;
  s->last_req_time = -INFINITY;
}

int trk_policy_shot(const argus_track_policy *p, trk_policy_state *s, double t,
                    const argus_track_det *d) {
  /* Strictly better only: among equals the earliest shot stays the best, so
   * a shot that was already searched is not replaced by an equal one;
   * except that among shots of equal quality (typically 0: every shot
   * flagged) a clearly larger face is better (a face entering the frame is
   * first seen cut by its edge). */
  float area = (d->box[2] - d->box[0]) * (d->box[3] - d->box[1]);
  int better = d->quality > s->best_quality ||
               (d->quality == s->best_quality && area > 1.25f * s->best_area);
  if (!better || (d->quality_flags & p->reject_flags))
    return 0;
  s->best_quality = d->quality;
  s->best_area = area;
  s->best_time = t;
  s->best_flags = d->quality_flags;
  memcpy(s->best_box, d->box, sizeof s->best_box);
  s->best_requested = 0;
  return 1;
}

int trk_policy_request(const argus_track_policy *p, trk_policy_state *s,
                       double t, double age, const argus_track_det *d,
                       int is_best, int stored, trk_policy_pick *pick) {
  if (p->max_requests > 0 && s->nrequests >= p->max_requests)
    return 0;
  /* The candidate: the best shot when it can be searched, else d. */
  int use_stored =
      !is_best && stored && !s->best_requested && s->best_quality >= 0;
  float q = use_stored ? s->best_quality : d->quality;
  unsigned flags = use_stored ? s->best_flags : d->quality_flags;
  if (flags & p->reject_flags)
    return 0;
  /* Under the bar: only the first search of a track that has lived
   * search_after seconds, with its best shot. */
  if (q < p->min_quality &&
      !(s->nrequests == 0 && p->search_after >= 0 && age >= p->search_after))
    return 0;
  int reason;
  if (s->nrequests == 0) {
    reason = ARGUS_TRACK_REQ_EARLY;
  } else {
    if (!(q >= s->last_req_quality + p->better_delta))
      return 0;
    if (!(t - s->last_req_time >= p->better_interval))
      return 0;
    reason = ARGUS_TRACK_REQ_BETTER;
  }
  s->nrequests++;
  s->last_req_quality = q;
  s->last_req_time = t;
  if (is_best || use_stored)
    s->best_requested = 1;
  pick->reason = reason;
  pick->stored = use_stored;
  pick->quality = q;
  pick->time = use_stored ? s->best_time : t;
  return 1;
}

int trk_policy_match_at_end(const argus_track_policy *p,
                            const trk_policy_state *s, int confirmed) {
  if (!confirmed || p->end_min_quality < 0)
    return 0;
  if (s->best_requested)
    return 0;
  if (!(s->best_quality >= p->end_min_quality))
    return 0;
  /* After searches that found nobody, only a clearly better shot is worth
   * another. */
  return s->nrequests == 0 ||
         s->best_quality >= s->last_req_quality + p->better_delta;
}
