/* Constant-velocity Kalman filter for a face box, one 2-state filter per
 * coordinate (centre x, centre y, width, height). Noise scales with the box
 * height, so that the same settings fit near and far faces: measurement std
 * = measure_noise * h, acceleration std (white noise, continuous) =
 * accel_noise * h per s^2. */
#include <math.h>

#include "track/track_internal.h"

static void box_to_z(const float box[4], double z[TRK_NAXES]) {
  z[TRK_CX] = 0.5 * ((double)box[0] + box[2]);
  z[TRK_CY] = 0.5 * ((double)box[1] + box[3]);
  z[TRK_W] = (double)box[2] - box[0];
  z[TRK_H] = (double)box[3] - box[1];
}

void trk_motion_init(trk_motion *m, const float box[4], float measure_noise,
                     float vel_std) {
  double z[TRK_NAXES];
  box_to_z(box, z);
  double h = z[TRK_H];
  double r = (double)measure_noise * h;
  double vs = (double)vel_std * h;
  for (int i = 0; i < TRK_NAXES; i++) {
    trk_axis *a = &m->ax[i];
    a->p = z[i];
    a->v = 0;
    a->pp = r * r;
    a->pv = 0;
    a->vv = vs * vs;
  }
}

void trk_motion_predict_box(const trk_motion *m, double dt, double max_coast,
                            float box[4]) {
  double dm = dt < max_coast ? dt : max_coast;
  if (dm < 0)
    dm = 0;
  double cx = m->ax[TRK_CX].p + m->ax[TRK_CX].v * dm;
  double cy = m->ax[TRK_CY].p + m->ax[TRK_CY].v * dm;
  double w = m->ax[TRK_W].p + m->ax[TRK_W].v * dm;
  double h = m->ax[TRK_H].p + m->ax[TRK_H].v * dm;
  if (!(w >= 1))
    w = 1;
  if (!(h >= 1))
    h = 1;
  box[0] = (float)(cx - 0.5 * w);
  box[1] = (float)(cy - 0.5 * h);
  box[2] = (float)(cx + 0.5 * w);
  box[3] = (float)(cy + 0.5 * h);
}

void trk_motion_gate_var(const trk_motion *m, double dt, float measure_noise,
                         float accel_noise, double var[2]) {
  if (dt < 0)
    dt = 0;
  double h = m->ax[TRK_H].p;
  if (!(h >= 1))
    h = 1;
  double q = (double)accel_noise * h;
  double r = (double)measure_noise * h;
  for (int i = 0; i < 2; i++) {
    const trk_axis *a = &m->ax[i];
    var[i] = a->pp + 2 * dt * a->pv + dt * dt * a->vv +
             q * q * dt * dt * dt / 3 + r * r;
  }
}

static void axis_predict(trk_axis *a, double dt, double dm, double q) {
  a->p += a->v * dm;
  /* P = F P F' + Q, F = [[1, dt], [0, 1]], Q = q [[dt^3/3, dt^2/2],
   * [dt^2/2, dt]] (white-noise acceleration of spectral density q). */
  double pp = a->pp + 2 * dt * a->pv + dt * dt * a->vv + q * dt * dt * dt / 3;
  double pv = a->pv + dt * a->vv + q * dt * dt / 2;
  double vv = a->vv + q * dt;
  a->pp = pp;
  a->pv = pv;
  a->vv = vv;
}

static void axis_correct(trk_axis *a, double z, double r2) {
  double s = a->pp + r2;
  double k0 = a->pp / s, k1 = a->pv / s;
  double y = z - a->p;
  a->p += k0 * y;
  a->v += k1 * y;
  /* P = (I - K H) P with H = [1, 0]. */
  double pp = (1 - k0) * a->pp;
  double pv = (1 - k0) * a->pv;
  double vv = a->vv - k1 * a->pv;
  a->pp = pp;
  a->pv = pv;
  a->vv = vv > 0 ? vv : 0;
}

void trk_motion_update(trk_motion *m, double dt, double max_coast,
                       const float box[4], float measure_noise,
                       float accel_noise) {
  double z[TRK_NAXES];
  box_to_z(box, z);
  if (dt < 0)
    dt = 0;
  double dm = dt < max_coast ? dt : max_coast;
  double h = z[TRK_H];
  double q = (double)accel_noise * h;
  double r = (double)measure_noise * h;
  for (int i = 0; i < TRK_NAXES; i++) {
    axis_predict(&m->ax[i], dt, dm, q * q);
    axis_correct(&m->ax[i], z[i], r * r);
  }
}
