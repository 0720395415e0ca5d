/* Face geometry without models: prior grids (count, first and last priors
 * at 320x240 and 640x480, odd sizes), IoU, NMS and box voting, the
 * least-squares similarity (Umeyama) on known transforms and degenerate
 * input, affine inversion, detection pass planning (mirrored passes, the
 * accurate preset). */
#include <math.h>
#include <string.h>

#include "argus/face.h"
#include "check.h"

static argus_face_prior_spec rfb_spec(void) {
  argus_face_prior_spec s;
  memset(&s, 0, sizeof s);
  s.nlevels = 4;
  int steps[4] = {8, 16, 32, 64};
  float sizes[4][3] = {{10, 16, 24}, {32, 48, 0}, {64, 96, 0}, {128, 192, 256}};
  int ns[4] = {3, 2, 2, 3};
  for (int l = 0; l < 4; l++) {
    s.steps[l] = steps[l];
    s.nsizes[l] = ns[l];
    for (int k = 0; k < ns[l]; k++)
      s.min_sizes[l][k] = sizes[l][k];
  }
  s.clamp = 1;
  return s;
}

static void check_prior(const float *p, double cx, double cy, double w,
                        double h) {
  CHECK_NEAR(p[0], cx, 1e-6, 0);
  CHECK_NEAR(p[1], cy, 1e-6, 0);
  CHECK_NEAR(p[2], w, 1e-6, 0);
  CHECK_NEAR(p[3], h, 1e-6, 0);
}

static void test_priors(void) {
  argus_face_prior_spec s = rfb_spec();
  static float buf[4 * 20000];
  size_t n = 0;

  /* 320x240, the model's own size: 40x30x3 + 20x15x2 + 10x8x2 + 5x4x3. */
  CHECK_INT_EQ(argus_face_prior_count(&s, 320, 240), 4420);
  CHECK_OK(argus_face_priors(&s, 320, 240, buf, 20000, &n));
  CHECK_INT_EQ(n, 4420);
  check_prior(buf, 4.0 / 320, 4.0 / 240, 10.0 / 320, 10.0 / 240);
  check_prior(buf + 4, 4.0 / 320, 4.0 / 240, 16.0 / 320, 16.0 / 240);
  /* second cell of the first row */
  check_prior(buf + 12, 12.0 / 320, 4.0 / 240, 10.0 / 320, 10.0 / 240);
  /* Last: stride 64, cell (4, 3) of 5x4, 256 px: height clamped to 1. */
  check_prior(buf + 4 * 4419, 4.5 / 5, 3.5 / 4, 256.0 / 320, 1.0);
  /* First prior of stride 32 (index 3600 + 600): 240 / 32 = 7.5, the map
   * has 8 rows and the centre of row j is (j + 0.5) / 8, as in the
   * reference and the graph's decoder. */
  check_prior(buf + 4 * 4200, 0.5 / 10, 0.5 / 8, 64.0 / 320, 64.0 / 240);
  check_prior(buf + 4 * (4200 + 2 * (10 * 7 + 0)), 0.5 / 10, 7.5 / 8,
              64.0 / 320, 64.0 / 240);

  /* 640x480: 80x60x3 + 40x30x2 + 20x15x2 + 10x8x3. */
  CHECK_INT_EQ(argus_face_prior_count(&s, 640, 480), 17640);
  CHECK_OK(argus_face_priors(&s, 640, 480, buf, 20000, &n));
  CHECK_INT_EQ(n, 17640);
  check_prior(buf, 4.0 / 640, 4.0 / 480, 10.0 / 640, 10.0 / 480);
  /* Last: cell (9, 7) of 10x8 (480 / 64 = 7.5 rounds up). */
  check_prior(buf + 4 * 17639, 9.5 / 10, 7.5 / 8, 256.0 / 640, 256.0 / 480);

  /* An odd size: feature maps are ceil(size / stride). */
  CHECK_INT_EQ(argus_face_prior_count(&s, 333, 101),
               42 * 13 * 3 + 21 * 7 * 2 + 11 * 4 * 2 + 6 * 2 * 3);
  /* Too small a buffer: LIMIT with the count needed. */
  CHECK_INT_EQ(argus_face_priors(&s, 640, 480, buf, 100, &n), ARGUS_E_LIMIT);
  CHECK_INT_EQ(n, 17640);
  CHECK_INT_EQ(argus_face_priors(&s, 0, 480, buf, 20000, &n),
               ARGUS_E_INVALID_ARG);
  argus_face_prior_spec bad = s;
  bad.steps[1] = 0;
  CHECK_INT_EQ(argus_face_prior_count(&bad, 320, 240), 0);
}

static void test_nms(void) {
  argus_face_box a = {0, 0, 10, 10, 0.9f}, b = {5, 0, 15, 10, 0.8f};
  CHECK_NEAR(argus_face_iou(&a, &b), 50.0 / 150.0, 1e-6, 0);
  argus_face_box c = {20, 20, 30, 30, 0.5f};
  CHECK_NEAR(argus_face_iou(&a, &c), 0, 0, 0);
  argus_face_box empty = {5, 5, 5, 9, 0.5f};
  CHECK_NEAR(argus_face_iou(&a, &empty), 0, 0, 0);

  /* Two clusters and a loner, shuffled. */
  argus_face_box bx[] = {
      {1, 1, 11, 11, 0.7f},     /* overlaps the 0.95 box: suppressed */
      {100, 100, 120, 120, 0.6f},
      {0, 0, 10, 10, 0.95f},
      {50, 50, 70, 70, 0.3f},   /* overlaps 0.6? no: a different place */
      {101, 101, 121, 121, 0.9f}, /* best of the second cluster */
      {0, 0, 10, 10, NAN},      /* NaN scores are dropped */
      {0, 2, 10, 12, 0.5f},     /* IoU with the best 0.667: suppressed */
  };
  int kept = -1;
  CHECK_OK(argus_face_nms(bx, 7, 0.4f, 0, &kept));
  CHECK_INT_EQ(kept, 3);
  CHECK_NEAR(bx[0].score, 0.95, 1e-6, 0);
  CHECK_NEAR(bx[1].score, 0.9, 1e-6, 0);
  CHECK_NEAR(bx[1].x1, 101, 0, 0);
  CHECK_NEAR(bx[2].score, 0.3, 1e-6, 0);

  /* Threshold is strict: IoU exactly at the threshold is kept. */
  argus_face_box t[] = {{0, 0, 10, 10, 0.9f}, {5, 0, 15, 10, 0.8f}};
  CHECK_OK(argus_face_nms(t, 2, 1.0f / 3.0f + 1e-6f, 0, &kept));
  CHECK_INT_EQ(kept, 2);
  CHECK_OK(argus_face_nms(t, 2, 0.3f, 0, &kept));
  CHECK_INT_EQ(kept, 1);

  /* max_keep */
  argus_face_box m[] = {{0, 0, 1, 1, 0.1f}, {2, 2, 3, 3, 0.2f},
                        {4, 4, 5, 5, 0.3f}};
  CHECK_OK(argus_face_nms(m, 3, 0.5f, 2, &kept));
  CHECK_INT_EQ(kept, 2);
  CHECK_NEAR(m[0].score, 0.3, 1e-6, 0);
  CHECK_NEAR(m[1].score, 0.2, 1e-6, 0);

  CHECK_OK(argus_face_nms(NULL, 0, 0.4f, 0, &kept));
  CHECK_INT_EQ(kept, 0);
  CHECK_INT_EQ(argus_face_nms(m, -1, 0.4f, 0, &kept), ARGUS_E_INVALID_ARG);
  CHECK_INT_EQ(argus_face_nms(m, 3, NAN, 0, &kept), ARGUS_E_INVALID_ARG);
}

/* Box voting on constructed boxes: exact score-weighted means. */
static void test_box_vote(void) {
  argus_face_box bx[] = {
      {1, 0, 11, 10, 0.6f},   /* IoU 90/110 with the best: votes */
      {50, 50, 60, 60, 0.5f}, /* alone: kept as it is */
      {0, 0, 10, 10, 0.9f},   /* the best of its cluster */
      {0, 0, 10, 20, 0.3f},   /* IoU 0.5 with it: suppressed, no vote */
      {0, 0, 10, 10, NAN},    /* dropped */
  };
  int kept = -1;
  CHECK_OK(argus_face_box_vote(bx, 5, 0.4f, 0.6f, 0, &kept));
  CHECK_INT_EQ(kept, 2);
  /* (0.9 * (0,0,10,10) + 0.6 * (1,0,11,10)) / 1.5 */
  CHECK_NEAR(bx[0].x1, 0.4, 1e-5, 0);
  CHECK_NEAR(bx[0].y1, 0, 1e-6, 0);
  CHECK_NEAR(bx[0].x2, 10.4, 1e-5, 0);
  CHECK_NEAR(bx[0].y2, 10, 1e-5, 0);
  CHECK_NEAR(bx[0].score, 0.9, 1e-6, 0); /* the highest score stays */
  CHECK_NEAR(bx[1].x1, 50, 0, 0);
  CHECK_NEAR(bx[1].score, 0.5, 1e-6, 0);

  /* At a lower vote IoU the tall box votes too: (0.9 * 10 + 0.6 * 10 +
   * 0.3 * 20) / 1.8 = 11.667 for y2. */
  argus_face_box b2[] = {{1, 0, 11, 10, 0.6f},
                         {0, 0, 10, 10, 0.9f},
                         {0, 0, 10, 20, 0.3f}};
  CHECK_OK(argus_face_box_vote(b2, 3, 0.4f, 0.5f, 0, &kept));
  CHECK_INT_EQ(kept, 1);
  CHECK_NEAR(b2[0].x1, 0.6 / 1.8, 1e-5, 0);
  CHECK_NEAR(b2[0].x2, (9.0 + 6.6 + 3.0) / 1.8, 1e-5, 0);
  CHECK_NEAR(b2[0].y2, 21.0 / 1.8, 1e-5, 0);

  /* A box suppressed by an earlier cluster does not vote in a later one:
   * the middle box goes with the first; the third keeps its own box. */
  argus_face_box ch[] = {{0, 0, 10, 10, 0.9f},
                         {3, 0, 13, 10, 0.8f},  /* IoU 0.538 with the first */
                         {6, 0, 16, 10, 0.7f}}; /* 0.25 with the first */
  CHECK_OK(argus_face_box_vote(ch, 3, 0.4f, 0.5f, 0, &kept));
  CHECK_INT_EQ(kept, 2);
  CHECK_NEAR(ch[0].x1, 0.8 * 3 / 1.7, 1e-5, 0);
  CHECK_NEAR(ch[1].x1, 6, 1e-6, 0);
  CHECK_NEAR(ch[1].x2, 16, 1e-6, 0);

  /* vote_iou 0: plain NMS; max_keep; bad arguments. */
  argus_face_box n1[] = {{1, 0, 11, 10, 0.6f}, {0, 0, 10, 10, 0.9f}};
  CHECK_OK(argus_face_box_vote(n1, 2, 0.4f, 0, 0, &kept));
  CHECK_INT_EQ(kept, 1);
  CHECK_NEAR(n1[0].x1, 0, 0, 0);
  argus_face_box m[] = {{0, 0, 1, 1, 0.1f}, {2, 2, 3, 3, 0.2f},
                        {4, 4, 5, 5, 0.3f}};
  CHECK_OK(argus_face_box_vote(m, 3, 0.4f, 0.5f, 2, &kept));
  CHECK_INT_EQ(kept, 2);
  CHECK_NEAR(m[0].score, 0.3, 1e-6, 0);
  CHECK_NEAR(m[1].score, 0.2, 1e-6, 0);
  CHECK_OK(argus_face_box_vote(NULL, 0, 0.4f, 0.5f, 0, &kept));
  CHECK_INT_EQ(kept, 0);
  CHECK_INT_EQ(argus_face_box_vote(m, -1, 0.4f, 0.5f, 0, &kept),
               ARGUS_E_INVALID_ARG);
  CHECK_INT_EQ(argus_face_box_vote(m, 3, NAN, 0.5f, 0, &kept),
               ARGUS_E_INVALID_ARG);
}

static void apply(const float m[6], const float p[2], float out[2]) {
  out[0] = m[0] * p[0] + m[1] * p[1] + m[2];
  out[1] = m[3] * p[0] + m[4] * p[1] + m[5];
}

static void test_similarity(void) {
  const float tmpl[5][2] = {{38.2946f, 51.6963f},
                            {73.5318f, 51.5014f},
                            {56.0252f, 71.7366f},
                            {41.5493f, 92.3655f},
                            {70.7299f, 92.2041f}};
  /* Known transforms: rotation + scale + translation, recovered exactly. */
  const double cases[][4] = {
      {0.0, 1.0, 0, 0}, {0.3, 2.5, 100, -40}, {-1.2, 0.4, -7.5, 300},
      {3.0, 1.7, 12, 12}, {1.5707963, 3.0, 0.5, 0.25}};
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    double th = cases[c][0], s = cases[c][1];
    float a = (float)(s * cos(th)), b = (float)(s * sin(th));
    float truth[6] = {a, -b, (float)cases[c][2], b, a, (float)cases[c][3]};
    float dst[5][2];
    for (int i = 0; i < 5; i++)
      apply(truth, tmpl[i], dst[i]);
    float m[6];
    CHECK_OK(argus_face_similarity_fit(tmpl, (const float(*)[2])dst, 5, m));
    for (int k = 0; k < 6; k++)
      CHECK_NEAR(m[k], truth[k], 2e-4, 1e-5);
    /* And the inverse maps dst back onto the template. */
    float inv[6];
    CHECK_OK(argus_face_affine_invert(m, inv));
    for (int i = 0; i < 5; i++) {
      float back[2];
      apply(inv, dst[i], back);
      CHECK_NEAR(back[0], tmpl[i][0], 2e-3, 0);
      CHECK_NEAR(back[1], tmpl[i][1], 2e-3, 0);
    }
  }

  /* Least squares with noise: the normal equations by hand give
   * a = sum(s.d) / sum|s|^2 = 390 / 200, b = sum(s x d) / sum|s|^2 = 10 / 200
   * for the centred points. */
  {
    float src[4][2] = {{0, 0}, {10, 0}, {10, 10}, {0, 10}};
    float dst[4][2] = {{0, 0}, {20, 0}, {20, 20}, {0, 20}};
    dst[0][0] += 1;
    dst[2][0] -= 1;
    float m[6];
    CHECK_OK(argus_face_similarity_fit((const float(*)[2])src,
                                       (const float(*)[2])dst, 4, m));
    CHECK_NEAR(m[0], 1.95, 1e-5, 0);
    CHECK_NEAR(m[3], 0.05, 1e-5, 0);
    CHECK_NEAR(m[2], 10 - (1.95 * 5 - 0.05 * 5), 1e-4, 0);
  }

  /* A reflection is not a similarity: the best fit is no reflection. */
  {
    float src[3][2] = {{0, 0}, {1, 0}, {0, 1}};
    float dst[3][2] = {{0, 0}, {-1, 0}, {0, 1}};
    float m[6];
    CHECK_OK(argus_face_similarity_fit((const float(*)[2])src,
                                       (const float(*)[2])dst, 3, m));
    CHECK(m[0] * m[4] - m[1] * m[3] >= 0);
  }

  /* Degenerate input: coincident points, too few, NaN. */
  float same[5][2] = {{3, 3}, {3, 3}, {3, 3}, {3, 3}, {3, 3}};
  float m[6];
  CHECK_INT_EQ(argus_face_similarity_fit((const float(*)[2])same, tmpl, 5, m),
               ARGUS_E_INVALID_ARG);
  CHECK_INT_EQ(argus_face_similarity_fit(tmpl, tmpl, 1, m),
               ARGUS_E_INVALID_ARG);
  float nan5[5][2] = {{0, 0}, {1, 0}, {NAN, 1}, {2, 2}, {3, 1}};
  CHECK_INT_EQ(argus_face_similarity_fit((const float(*)[2])nan5, tmpl, 5, m),
               ARGUS_E_INVALID_ARG);
  CHECK_INT_EQ(argus_face_similarity_fit(NULL, tmpl, 5, m),
               ARGUS_E_INVALID_ARG);
  /* Target points may coincide: scale 0 fit, which is not invertible. */
  CHECK_OK(argus_face_similarity_fit(tmpl, (const float(*)[2])same, 5, m));
  CHECK_NEAR(m[0], 0, 1e-6, 0);
  float inv[6];
  CHECK_INT_EQ(argus_face_affine_invert(m, inv), ARGUS_E_INVALID_ARG);
}

static void test_passes(void) {
  /* A detector object is only read for its defaults here. */
  argus_face_detector d;
  memset(&d, 0, sizeof d);
  d.default_w = 320;
  d.default_h = 240;
  argus_face_detect_opts o;
  argus_face_detect_opts_default(&o);
  argus_face_pass p[64];
  int n = 0;
  CHECK_OK(argus_face_plan_passes(&d, 1920, 1080, &o, p, 64, &n));
  CHECK_INT_EQ(n, 1);
  CHECK_INT_EQ(p[0].net_w, ARGUS_FACE_DEFAULT_SIZE);
  /* The height at the same scale, rounded to the nearest multiple of 32
   * (priors stay on their cells at strides 8 to 32). */
  int want_h = (int)lroundf(1080.0f * ARGUS_FACE_DEFAULT_SIZE / 1920 / 32) * 32;
  CHECK_INT_EQ(p[0].net_h, want_h);
  CHECK_INT_EQ(p[0].net_h % 32, 0);
  CHECK_NEAR(p[0].roi[2], 1920, 0, 0);
  CHECK_NEAR(p[0].min_face, 0, 0, 0); /* a single pass keeps every size */
  CHECK_NEAR(p[0].max_face, 0, 0, 0);
  o.size = 320;
  CHECK_OK(argus_face_plan_passes(&d, 1920, 1080, &o, p, 64, &n));
  CHECK_INT_EQ(p[0].net_w, 320);
  CHECK_INT_EQ(p[0].net_h, 192);
  o.size = 0;

  /* The tiled pyramid on 1080p: the full frame at 320 (scale 1/6), an
   * octave up (1/3, 640x360: fits a tile, runs whole), then scale 1 in
   * tiles of at most 640 (2/3 is skipped: within 1.55x of 1). The tiles
   * cover the frame, share one size, overlap by at least the largest face
   * they keep, and drop cut faces on inner edges only. */
  o.tile = 640;
  CHECK_OK(argus_face_plan_passes(&d, 1920, 1080, &o, p, 64, &n));
  CHECK(n > 4);
  CHECK_INT_EQ(p[0].net_w, ARGUS_FACE_TILED_SIZE);
  CHECK_INT_EQ(p[0].net_h, 192);
  CHECK_INT_EQ(p[1].net_w, 640);
  CHECK_INT_EQ(p[1].net_h, 352);
  float covx = 0, covy = 0, area = 0;
  for (int i = 2; i < n; i++) {
    CHECK_INT_EQ(p[i].net_w, p[2].net_w);
    CHECK_INT_EQ(p[i].net_h, p[2].net_h);
    CHECK(p[i].net_w <= 640 && p[i].net_h <= 640);
    CHECK_INT_EQ(p[i].net_w % 32, 0);
    CHECK_INT_EQ(p[i].net_h % 32, 0);
    CHECK(p[i].roi[0] >= 0 && p[i].roi[2] <= 1920 + 1e-3);
    CHECK(p[i].roi[1] >= 0 && p[i].roi[3] <= 1080 + 1e-3);
    /* scale 1: network px = image px */
    CHECK_NEAR(p[i].net_w, p[i].roi[2] - p[i].roi[0], 1, 0);
    CHECK_INT_EQ(p[i].drop_edge[0], p[i].roi[0] > 0.5f);
    CHECK_INT_EQ(p[i].drop_edge[1], p[i].roi[1] > 0.5f);
    CHECK_INT_EQ(p[i].drop_edge[2], p[i].roi[2] < 1919.5f);
    CHECK_INT_EQ(p[i].drop_edge[3], p[i].roi[3] < 1079.5f);
    covx = fmaxf(covx, p[i].roi[2]);
    covy = fmaxf(covy, p[i].roi[3]);
    area += (float)p[i].net_w * (float)p[i].net_h;
  }
  CHECK_NEAR(covx, 1920, 1e-3, 0);
  CHECK_NEAR(covy, 1080, 1e-3, 0);
  CHECK(p[2].roi[2] - p[3].roi[0] >= p[2].max_face - 1e-3);
  /* Tiles shrunk to what the overlap needs (then aligned): under full
   * 640x640s. */
  CHECK(area < 0.9f * (float)(n - 2) * 640 * 640);
  /* Bands: each level leaves faces under 16 of its network px to the next
   * finer one, and the faces the next coarser one sees at 1.25 x 24
   * network px or more to that one; neighbouring bands overlap. */
  CHECK_NEAR(p[0].min_face, 16 * 6, 1e-2, 0);
  CHECK_NEAR(p[0].max_face, 0, 0, 0);
  CHECK_NEAR(p[1].min_face, 16 * 3, 1e-2, 0);
  CHECK_NEAR(p[1].max_face, 1.25 * 24 * 6, 1e-2, 0);
  CHECK_NEAR(p[2].min_face, 0, 0, 0);
  CHECK_NEAR(p[2].max_face, 1.25 * 24 * 3, 1e-2, 0);
  CHECK(p[1].max_face > p[0].min_face && p[2].max_face > p[1].min_face);
  /* With an explicit size the pyramid starts there. */
  o.size = 640;
  CHECK_OK(argus_face_plan_passes(&d, 1920, 1080, &o, p, 64, &n));
  CHECK_INT_EQ(p[0].net_w, 640);
  CHECK_NEAR(p[1].max_face, 90, 1e-2, 0);

  /* Explicit scales: sorted, whole frames when no tile is given. */
  argus_face_detect_opts_default(&o);
  o.nscales = 2;
  o.scales[0] = 0.5f;
  o.scales[1] = 0.25f;
  CHECK_OK(argus_face_plan_passes(&d, 1000, 800, &o, p, 64, &n));
  CHECK_INT_EQ(n, 2);
  CHECK_INT_EQ(p[0].net_w, 256); /* 250 aligned */
  CHECK_INT_EQ(p[1].net_w, 512);

  /* Mirrored passes: FLIP_ALL repeats every pass with flip set, the same
   * rectangles and bands; FLIP_WHOLE only the two whole-frame levels of
   * the 1080p pyramid (320 and 640), not the tiles. */
  argus_face_detect_opts_default(&o);
  o.tile = 640;
  int nplain = 0;
  CHECK_OK(argus_face_plan_passes(&d, 1920, 1080, &o, p, 64, &nplain));
  o.flip = ARGUS_FACE_FLIP_WHOLE;
  CHECK_OK(argus_face_plan_passes(&d, 1920, 1080, &o, p, 64, &n));
  CHECK_INT_EQ(n, nplain + 2);
  for (int i = 0; i < 2; i++) {
    CHECK_INT_EQ(p[nplain + i].flip, 1);
    CHECK_INT_EQ(p[nplain + i].net_w, p[i].net_w);
    CHECK_NEAR(p[nplain + i].roi[2], 1920, 0, 0);
    CHECK_NEAR(p[nplain + i].min_face, p[i].min_face, 0, 0);
  }
  for (int i = 0; i < nplain; i++)
    CHECK_INT_EQ(p[i].flip, 0);
  /* The accurate preset: whole frames at 480 and 640, then native tiles;
   * the 640 level keeps faces up to 1.25 x 24 px at 480. */
  argus_face_detect_opts_accurate(&o);
  CHECK_OK(argus_face_plan_passes(&d, 1920, 1080, &o, p, 64, &n));
  CHECK_INT_EQ(p[0].net_w, 480);
  CHECK_INT_EQ(p[1].net_w, 640);
  CHECK_NEAR(p[1].max_face, 1.25 * 24 * 4, 1e-2, 0);
  CHECK_NEAR(p[1].min_face, 16 * 3, 1e-2, 0);
  CHECK(p[2].roi[2] < 1920); /* tiles from here */
  CHECK_INT_EQ(p[n - 2].flip, 1);
  CHECK_INT_EQ(p[n - 1].flip, 1);
  CHECK_INT_EQ(p[n - 3].flip, 0);
  CHECK_NEAR(o.vote_iou, 0.5, 0, 0);
  argus_face_detect_opts_default(&o);
  o.tile = 640;
  o.flip = ARGUS_FACE_FLIP_ALL;
  CHECK_OK(argus_face_plan_passes(&d, 1920, 1080, &o, p, 64, &n));
  CHECK_INT_EQ(n, 2 * nplain);
  for (int i = 0; i < nplain; i++) {
    CHECK_INT_EQ(p[i].flip, 0);
    CHECK_INT_EQ(p[nplain + i].flip, 1);
    CHECK(memcmp(p[i].roi, p[nplain + i].roi, sizeof p[i].roi) == 0);
    CHECK_INT_EQ(p[i].net_w, p[nplain + i].net_w);
    CHECK_NEAR(p[i].max_face, p[nplain + i].max_face, 0, 0);
  }
  CHECK_INT_EQ(argus_face_plan_passes(&d, 1920, 1080, &o, p, nplain, &n),
               ARGUS_E_LIMIT);
  CHECK_INT_EQ(n, 2 * nplain);
  o.flip = 0;
  o.vote_iou = 1.5f;
  CHECK_INT_EQ(argus_face_plan_passes(&d, 1920, 1080, &o, p, 64, &n),
               ARGUS_E_INVALID_ARG);

  /* Small images are enlarged to a workable size; bad options refused. */
  argus_face_detect_opts_default(&o);
  CHECK_OK(argus_face_plan_passes(&d, 4000, 10, &o, p, 64, &n));
  CHECK(p[0].net_h >= 32);
  o.nscales = 1;
  o.scales[0] = -1;
  CHECK_INT_EQ(argus_face_plan_passes(&d, 100, 100, &o, p, 64, &n),
               ARGUS_E_INVALID_ARG);
  argus_face_detect_opts_default(&o);
  o.tile = 64;
  o.tile_scale = 4;
  CHECK_INT_EQ(argus_face_plan_passes(&d, 1920, 1080, &o, p, 4, &n),
               ARGUS_E_LIMIT);
  CHECK(n > 4);
}

int main(void) {
  test_priors();
  test_nms();
  test_box_vote();
  test_similarity();
  test_passes();
  return check_report("test_face_geometry");
}
