/* Quality on synthetic faces: pose from points placed on the alignment
 * template under known roll and shifts, the blur measure on textures and
 * their blurred copies, and the combined value with its reason flags. */
#include <math.h>
#include <string.h>

#include "argus/face.h"
#include "check.h"

static const float tmpl[5][2] = {{38.2946f, 51.6963f},
                                 {73.5318f, 51.5014f},
                                 {56.0252f, 71.7366f},
                                 {41.5493f, 92.3655f},
                                 {70.7299f, 92.2041f}};

/* A face whose points are the template scaled by s, rotated by `deg`
 * about the origin and moved to (tx, ty); box around them. */
static argus_face make_face(float s, float deg, float tx, float ty,
                            float score) {
  argus_face f;
  memset(&f, 0, sizeof f);
  float a = deg * 3.14159265f / 180, c = cosf(a), sn = sinf(a);
  for (int i = 0; i < 5; i++) {
    float x = tmpl[i][0] * s, y = tmpl[i][1] * s;
    f.points[i][0] = c * x - sn * y + tx;
    f.points[i][1] = sn * x + c * y + ty;
  }
  f.npoints = 5;
  f.box[0] = tx;
  f.box[1] = ty;
  f.box[2] = tx + 112 * s;
  f.box[3] = ty + 112 * s;
  f.score = score;
  return f;
}

static void test_pose(void) {
  float yaw, pitch, roll;
  /* The template itself is frontal: every angle about 0 (the template's
   * eyes are not quite level: 0.3 degrees of roll). */
  argus_face f = make_face(1, 0, 0, 0, 1);
  CHECK_OK(argus_face_pose(&f, &yaw, &pitch, &roll));
  CHECK_NEAR(yaw, 0, 0.5, 0);
  CHECK_NEAR(pitch, 0, 0.5, 0);
  CHECK_NEAR(roll, -0.32, 0.05, 0);
  /* Roll is recovered at any scale and position; yaw and pitch stay 0. */
  const float rolls[] = {-40, -10, 25, 60};
  for (int i = 0; i < 4; i++) {
    f = make_face(3.7f, rolls[i], 500, -20, 1);
    CHECK_OK(argus_face_pose(&f, &yaw, &pitch, &roll));
    CHECK_NEAR(roll, rolls[i] - 0.32, 0.05, 0);
    CHECK_NEAR(yaw, 0, 0.5, 0);
    CHECK_NEAR(pitch, 0, 0.5, 0);
  }
  /* Nose moved towards the image's right eye: yaw > 0, and by the model
   * tan(yaw) = offset / (0.5 * ipd). */
  f = make_face(1, 0, 0, 0, 1);
  float ipd = tmpl[1][0] - tmpl[0][0];
  f.points[2][0] += 0.5f * ipd * tanf(30 * 3.14159265f / 180);
  CHECK_OK(argus_face_pose(&f, &yaw, &pitch, &roll));
  CHECK_NEAR(yaw, 30, 1.0, 0);
  f.points[2][0] = tmpl[2][0] - 10;
  CHECK_OK(argus_face_pose(&f, &yaw, &pitch, &roll));
  CHECK(yaw < -20);
  /* Nose raised towards the eyes: looking up (pitch > 0); lowered: down. */
  f = make_face(1, 0, 0, 0, 1);
  f.points[2][1] -= 8;
  CHECK_OK(argus_face_pose(&f, &yaw, &pitch, &roll));
  CHECK(pitch > 15);
  f.points[2][1] += 16;
  CHECK_OK(argus_face_pose(&f, &yaw, &pitch, &roll));
  CHECK(pitch < -15);
  /* The same under roll: angles are measured in the face's own frame. */
  argus_face g = make_face(2, 35, 100, 100, 1);
  float nx = g.points[2][0] - g.points[0][0];
  (void)nx;
  argus_face h = make_face(2, 35, 100, 100, 1);
  float a = 35 * 3.14159265f / 180;
  h.points[2][0] += 10 * cosf(a); /* along the rotated eye line */
  h.points[2][1] += 10 * sinf(a);
  CHECK_OK(argus_face_pose(&h, &yaw, &pitch, &roll));
  CHECK(yaw > 15);
  CHECK_NEAR(pitch, 0, 1.0, 0);

  /* Roll over the full circle. Rotated by 180 degrees with the points
   * keeping their names, the eye line is reversed: 180. A landmark model
   * that names the eyes by their side of the image (the right eye is the
   * one on the image's right) gives an upside-down face a level eye line;
   * the mouth above the eyes still says 180 (before: about 0). */
  f = make_face(2, 180, 400, 400, 1);
  CHECK_OK(argus_face_pose(&f, &yaw, &pitch, &roll));
  CHECK_NEAR(fabsf(roll), 180 - 0.32, 0.1, 0);
  for (int k = 0; k < 2; k++) { /* swap the eyes and the mouth corners */
    int i0 = k == 0 ? 0 : 3, i1 = k == 0 ? 1 : 4;
    float tx = f.points[i0][0], ty = f.points[i0][1];
    f.points[i0][0] = f.points[i1][0];
    f.points[i0][1] = f.points[i1][1];
    f.points[i1][0] = tx;
    f.points[i1][1] = ty;
  }
  CHECK_OK(argus_face_pose(&f, &yaw, &pitch, &roll));
  CHECK(fabsf(roll) > 170);
  f = make_face(2, 150, 400, 400, 1);
  CHECK_OK(argus_face_pose(&f, &yaw, &pitch, &roll));
  CHECK_NEAR(roll, 150 - 0.32, 0.1, 0);

  /* Degenerate input. */
  f.npoints = 0;
  CHECK_INT_EQ(argus_face_pose(&f, &yaw, &pitch, &roll), ARGUS_E_INVALID_ARG);
  f = make_face(1, 0, 0, 0, 1);
  f.points[1][0] = f.points[0][0];
  f.points[1][1] = f.points[0][1];
  CHECK_INT_EQ(argus_face_pose(&f, &yaw, &pitch, &roll), ARGUS_E_INVALID_ARG);
  f.points[3][0] = NAN;
  CHECK_INT_EQ(argus_face_pose(&f, &yaw, &pitch, &roll), ARGUS_E_INVALID_ARG);
}

/* Deterministic face-like texture: large smooth shapes (most of the
 * variance) with fine detail (most of the Laplacian), so that blurring
 * removes the detail as it does on real faces. */
static void texture(argus_image *im) {
  uint32_t s = 12345;
  for (int y = 0; y < im->height; y++)
    for (int x = 0; x < im->width; x++) {
      s ^= s << 13;
      s ^= s >> 17;
      s ^= s << 5;
      double v = 128 + 60 * sin(x / 9.0) * cos(y / 7.0) + (double)(s % 31) - 15;
      uint8_t *p = im->data[0] + (size_t)y * im->stride[0] + 3 * (size_t)x;
      p[0] = p[1] = p[2] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
    }
}

static void box_blur(const argus_image *src, argus_image *dst, int r) {
  for (int y = 0; y < src->height; y++)
    for (int x = 0; x < src->width; x++)
      for (int c = 0; c < 3; c++) {
        int sum = 0, n = 0;
        for (int j = -r; j <= r; j++)
          for (int i = -r; i <= r; i++) {
            int xx = x + i, yy = y + j;
            if (xx < 0 || yy < 0 || xx >= src->width || yy >= src->height)
              continue;
            sum += src->data[0][(size_t)yy * src->stride[0] + 3 * xx + c];
            n++;
          }
        dst->data[0][(size_t)y * dst->stride[0] + 3 * x + c] =
            (uint8_t)(sum / n);
      }
}

static void test_blur_and_quality(void) {
  argus_image sharp, soft, flat;
  CHECK_OK(argus_image_alloc(&sharp, 112, 112, ARGUS_PIX_RGB8));
  CHECK_OK(argus_image_alloc(&soft, 112, 112, ARGUS_PIX_RGB8));
  CHECK_OK(argus_image_alloc(&flat, 112, 112, ARGUS_PIX_RGB8));
  texture(&sharp);
  box_blur(&sharp, &soft, 3);
  for (int y = 0; y < 112; y++)
    memset(flat.data[0] + (size_t)y * flat.stride[0], 90, 3 * 112);
  float ms, mb, mf;
  CHECK_OK(argus_face_blur_measure(&sharp, 0, 0, 112, 112, &ms));
  CHECK_OK(argus_face_blur_measure(&soft, 0, 0, 112, 112, &mb));
  CHECK_OK(argus_face_blur_measure(&flat, 0, 0, 112, 112, &mf));
  CHECK(ms > 0.5f); /* fine detail: Laplacian variance >> variance */
  CHECK(mb < 0.01f * ms);
  CHECK_NEAR(mf, 0, 0, 0);
  /* Contrast does not matter (ratio of variances): halve the texture. */
  argus_image dim;
  CHECK_OK(argus_image_alloc(&dim, 112, 112, ARGUS_PIX_RGB8));
  for (int y = 0; y < 112; y++)
    for (int x = 0; x < 3 * 112; x++)
      dim.data[0][(size_t)y * dim.stride[0] + x] =
          (uint8_t)(sharp.data[0][(size_t)y * sharp.stride[0] + x] / 2);
  float md;
  CHECK_OK(argus_face_blur_measure(&dim, 0, 0, 112, 112, &md));
  CHECK_NEAR(md, ms, 0, 0.1);
  CHECK_INT_EQ(argus_face_blur_measure(&sharp, 0, 0, 2, 50, &md),
               ARGUS_E_INVALID_ARG);
  CHECK_INT_EQ(argus_face_blur_measure(&sharp, 200, 200, 10, 10, &md),
               ARGUS_E_INVALID_ARG);

  argus_face_quality_assessor qa;
  CHECK_OK(argus_face_quality_create(NULL, &qa));
  argus_face_quality_params p;
  argus_face_quality_params_default(&p);
  argus_face_quality q;

  /* Good: large, frontal, sharp, confident. */
  argus_face f = make_face(2, 10, 50, 50, 0.99f);
  CHECK_OK(qa.ops->assess(qa.ctx, NULL, &f, &sharp, &q));
  CHECK_INT_EQ(q.flags, 0);
  CHECK(q.value > 0.9f);
  CHECK(q.value <= 1.0f);
  CHECK_NEAR(q.ipd, 2 * 35.24, 0.1, 0);
  CHECK_NEAR(q.value, q.q_size * q.q_sharpness * q.q_pose * q.q_score, 1e-6,
             0);

  /* Too small: inter-ocular distance below ipd_min. */
  f = make_face(0.25f, 0, 0, 0, 0.99f);
  CHECK_OK(qa.ops->assess(qa.ctx, NULL, &f, &sharp, &q));
  CHECK(q.flags & ARGUS_FACE_Q_TOO_SMALL);
  CHECK_NEAR(q.value, 0, 0, 0);

  /* Blurred crop. */
  f = make_face(2, 0, 0, 0, 0.99f);
  CHECK_OK(qa.ops->assess(qa.ctx, NULL, &f, &soft, &q));
  CHECK_INT_EQ(q.flags, ARGUS_FACE_Q_BLURRED);
  CHECK(q.value < 0.2f);

  /* Profile: nose far to the side. */
  f = make_face(2, 0, 0, 0, 0.99f);
  f.points[2][0] += 60;
  CHECK_OK(qa.ops->assess(qa.ctx, NULL, &f, &sharp, &q));
  CHECK(q.flags & ARGUS_FACE_Q_PROFILE);
  CHECK(q.yaw > p.yaw_max);
  CHECK_NEAR(q.q_pose, 0, 0, 0);

  /* Half-way to the yaw limit: value lowered, not flagged. */
  f = make_face(2, 0, 0, 0, 0.99f);
  f.points[2][0] += 0.5f * 70.5f * tanf(25 * 3.14159265f / 180);
  CHECK_OK(qa.ops->assess(qa.ctx, NULL, &f, &sharp, &q));
  CHECK_INT_EQ(q.flags, 0);
  CHECK_NEAR(q.q_pose, 0.75, 0.05, 0);

  /* Rolled past the limit (70 degrees, and upside down): flagged, q_pose
   * 0; at 40 degrees nothing. */
  f = make_face(2, 70, 200, 50, 0.99f);
  CHECK_OK(qa.ops->assess(qa.ctx, NULL, &f, &sharp, &q));
  CHECK_INT_EQ(q.flags, ARGUS_FACE_Q_ROLLED);
  CHECK_NEAR(q.value, 0, 0, 0);
  f = make_face(2, 180, 300, 300, 0.99f);
  CHECK_OK(qa.ops->assess(qa.ctx, NULL, &f, &sharp, &q));
  CHECK(q.flags & ARGUS_FACE_Q_ROLLED);
  f = make_face(2, 40, 200, 50, 0.99f);
  CHECK_OK(qa.ops->assess(qa.ctx, NULL, &f, &sharp, &q));
  CHECK_INT_EQ(q.flags, 0);
  CHECK(strcmp(argus_face_quality_flag_name(ARGUS_FACE_Q_ROLLED), "rolled") ==
        0);

  /* Low detector score. */
  f = make_face(2, 0, 0, 0, 0.5f);
  CHECK_OK(qa.ops->assess(qa.ctx, NULL, &f, &sharp, &q));
  CHECK_INT_EQ(q.flags, ARGUS_FACE_Q_LOW_SCORE);
  CHECK_NEAR(q.value, 0, 0, 0);

  /* No points, no crop. */
  f = make_face(2, 0, 0, 0, 0.99f);
  f.npoints = 0;
  CHECK_OK(qa.ops->assess(qa.ctx, NULL, &f, NULL, &q));
  CHECK(q.flags & ARGUS_FACE_Q_NO_POINTS);
  CHECK_NEAR(q.value, 0, 0, 0);

  /* Flag names. */
  CHECK(strcmp(argus_face_quality_flag_name(ARGUS_FACE_Q_BLURRED),
               "blurred") == 0);
  CHECK(strcmp(argus_face_quality_flag_name(ARGUS_FACE_Q_TOO_SMALL),
               "too small") == 0);
  CHECK(argus_face_quality_flag_name(3) == NULL);

  /* Bad parameters are refused. */
  argus_face_quality_assessor bad;
  p.ipd_good = p.ipd_min;
  CHECK_INT_EQ(argus_face_quality_create(&p, &bad), ARGUS_E_INVALID_ARG);
  argus_face_quality_destroy(&qa);
  argus_face_quality_destroy(&qa);
  argus_image_free(&sharp);
  argus_image_free(&soft);
  argus_image_free(&flat);
  argus_image_free(&dim);
}

int main(void) {
  test_pose();
  test_blur_and_quality();
  return check_report("test_face_quality");
}
