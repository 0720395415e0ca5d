/* The tracker's private parts, shared by its files: the per-coordinate
 * Kalman filter (kalman.c) and the best-shot policy
 * (policy.c), and the tracker itself (tracker.c). */
#ifndef ARGUS_TRACK_INTERNAL_H
#define ARGUS_TRACK_INTERNAL_H

#include <stdint.h>

#include "argus/track.h"

#define TRACK_MOD "track"

/* ---- motion ------------------------------------------------------------- */

/* One coordinate with constant velocity: position p, velocity v, and their
 * covariance [[pp, pv], [pv, vv]]. */
typedef struct trk_axis {
  double p, v;
  double pp, pv, vv;
} trk_axis;

/* The box as four independent axes: centre x, centre y, width, height.
 * Process and measurement noise are diagonal across axes, so the 8-state
 * filter splits exactly into four 2-state filters. */
enum { TRK_CX = 0, TRK_CY = 1, TRK_W = 2, TRK_H = 3, TRK_NAXES = 4 };

typedef struct trk_motion {
  trk_axis ax[TRK_NAXES];
} trk_motion;

/* Starts the filter at a measured box (x1, y1, x2, y2): positions measured,
 * velocities 0 with a std of vel_std box heights per second. */
void trk_motion_init(trk_motion *m, const float box[4], float measure_noise,
                     float vel_std);
/* The box predicted dt seconds after the filter's time, with velocity
 * extrapolated over at most max_coast seconds; width and height at least 1. */
void trk_motion_predict_box(const trk_motion *m, double dt, double max_coast,
                            float box[4]);
/* The variance of the predicted centre dt seconds after the filter's time,
 * per axis (var[0]: x, var[1]: y), plus the measurement noise of a box of
 * the predicted height: the covariance of the innovation of a detection. */
void trk_motion_gate_var(const trk_motion *m, double dt, float measure_noise,
                         float accel_noise, double var[2]);
/* Advances the filter by dt (mean over min(dt, max_coast), covariance over
 * dt) and corrects it with a measured box. */
void trk_motion_update(trk_motion *m, double dt, double max_coast,
                       const float box[4], float measure_noise,
                       float accel_noise);

/* ---- best-shot policy --------------------------------------------------- */

/* What the policy keeps per track. */
typedef struct trk_policy_state {
  int nrequests;
  float last_req_quality;
  double last_req_time;
  float best_quality; /* -1 before the first shot */
  double best_time;
  float best_box[4];
  float best_area;
  unsigned best_flags;
  int best_requested;
} trk_policy_state;

void trk_policy_init(trk_policy_state *s);
/* Records a shot; returns 1 when it is the track's new best. Shots with a
 * flag of p->reject_flags never become the best. */
int trk_policy_shot(const argus_track_policy *p, trk_policy_state *s, double t,
                    const argus_track_det *d);

/* A shot the policy wants searched. */
typedef struct trk_policy_pick {
  int reason; /* ARGUS_TRACK_REQ_* */
  int stored; /* 1: the stored best shot; 0: the current detection */
  float quality;
  double time; /* media time of the shot */
} trk_policy_pick;

/* Decides whether to request a search for a confirmed track matched by
 * detection d at time t, `age` seconds after its first detection (is_best:
 * d just became the best shot). The
 * candidate is the track's best shot: d itself, or, with `stored` (the
 * caller keeps best shots), an earlier best shot not yet searched; without
 * stored shots an earlier best cannot be searched and d is the candidate.
 * On yes records the request, fills *pick and returns 1. */
int trk_policy_request(const argus_track_policy *p, trk_policy_state *s,
                       double t, double age, const argus_track_det *d,
                       int is_best, int stored, trk_policy_pick *pick);
/* Whether the best shot should be searched when the track ends. */
int trk_policy_match_at_end(const argus_track_policy *p,
                            const trk_policy_state *s, int confirmed);

#endif
