/*
 * argus face: faces in images — detection, landmarks, alignment, embedding
 * and quality.
 *
 * Each algorithm is an interface: a const table of functions (ops) plus a
 * context pointer. The default implementations run the ONNX models of
 * MODELS.md with the argus engine and are described by a **model card**, a
 * small JSON file next to each model (see docs/face.md): input spec,
 * normalisation, output decoder, alignment template, calibrated thresholds.
 * Another vendor's model is a new card, or its own ops table.
 *
 * Memory and threads. Algorithm objects (detector, landmarker, embedder,
 * quality) are read-only after creation and shared by all threads; model
 * weights are loaded once. Everything a thread needs to run them (engine
 * sessions per input size and batch, scratch, aligned crops) lives in a
 * per-thread state, so a thread that owns a state runs without locks and, in
 * steady state (same frame size, same batch sizes), without allocating.
 *
 * The face engine (argus_face_engine) bundles the default models, one state
 * per thread of a thread pool, and runs whole images: detection passes (full
 * frame, tiles) and per-face work are spread over the pool.
 */
#ifndef ARGUS_FACE_H
#define ARGUS_FACE_H

#include <stddef.h>
#include <stdint.h>

#include "argus/core.h"
#include "argus/export.h"
#include "argus/image.h"
#include "argus/nn.h"

ARGUS_BEGIN_DECLS

/* A detailed reason for a failure ("fr_detect.card.json: 'thresholds' ..."). */
typedef argus_error_detail argus_face_error; /* see argus/core.h */

/* ---- faces -------------------------------------------------------------- */

/* Points used for alignment, in this order. */
enum {
  ARGUS_FACE_LEFT_EYE = 0, /* the eye on the image's left */
  ARGUS_FACE_RIGHT_EYE = 1,
  ARGUS_FACE_NOSE = 2,
  ARGUS_FACE_MOUTH_LEFT = 3,
  ARGUS_FACE_MOUTH_RIGHT = 4,
  ARGUS_FACE_NPOINTS = 5
};
/* Most dense landmarks a face carries (the 68-point iBUG layout). */
#define ARGUS_FACE_MAX_DENSE 68

/* Quality reason flags. */
enum {
  ARGUS_FACE_Q_TOO_SMALL = 1u << 0, /* inter-ocular distance below minimum */
  ARGUS_FACE_Q_BLURRED = 1u << 1,   /* sharpness below minimum */
  ARGUS_FACE_Q_PROFILE = 1u << 2,   /* |yaw| or |pitch| beyond the limits */
  ARGUS_FACE_Q_LOW_SCORE = 1u << 3, /* detector score below minimum */
  ARGUS_FACE_Q_NO_POINTS = 1u << 4, /* no landmarks: pose/size not known */
  ARGUS_FACE_Q_ROLLED = 1u << 5,    /* |roll| beyond the limit (tilted far
                                       sideways or upside down) */
  ARGUS_FACE_Q_NFLAGS = 6
};
/* "too small", "blurred", "profile", "low score", "no landmarks", "rolled"
 * for one flag bit; NULL for anything else. */
const char *argus_face_quality_flag_name(unsigned flag);

/* Quality of one face; see docs/face.md for the method. */
typedef struct argus_face_quality {
  float value;        /* combined quality in [0, 1] (product of the parts) */
  float ipd;          /* inter-ocular distance in image pixels */
  float box_width;    /* detector box width in image pixels */
  float sharpness;    /* normalised sharpness in [0, 1] */
  float blur_measure; /* raw: var(Laplacian) / var(grey) on the aligned crop */
  float yaw, pitch, roll; /* degrees; yaw > 0: face turned to the image's
                             right; pitch > 0: looking up; roll > 0: clockwise
                             in the image, in (-180, 180] (an upside-down
                             face is about 180) */
  float score;    /* detector score */
  float q_size, q_sharpness, q_pose, q_score; /* the parts, each in [0, 1] */
  unsigned flags; /* ARGUS_FACE_Q_* */
} argus_face_quality;

/* One face. Coordinates are image pixels with pixel-edge convention (the
 * whole image is [0, width] x [0, height]). */
typedef struct argus_face {
  float box[4]; /* x1, y1, x2, y2 */
  float score;  /* detector probability */
  int npoints;  /* 0 before landmarks, ARGUS_FACE_NPOINTS after */
  float points[ARGUS_FACE_NPOINTS][2];
  int ndense; /* dense landmarks (68 for fr_landmark), 0 if none */
  float dense[ARGUS_FACE_MAX_DENSE][2];
  int has_quality;
  argus_face_quality quality;
} argus_face;

/* ---- model cards -------------------------------------------------------- */

typedef enum argus_face_model_kind {
  ARGUS_FACE_MODEL_DETECTOR = 1,
  ARGUS_FACE_MODEL_LANDMARKER = 2,
  ARGUS_FACE_MODEL_EMBEDDER = 3,
} argus_face_model_kind;

#define ARGUS_FACE_CARD_NAME 64
#define ARGUS_FACE_CARD_PATH 1024
#define ARGUS_FACE_MAX_LEVELS 8
#define ARGUS_FACE_MAX_LEVEL_SIZES 4
#define ARGUS_FACE_MAX_THRESHOLDS 8
/* Largest card file accepted. */
#define ARGUS_FACE_CARD_MAX_BYTES ((size_t)64 << 10)

/* SSD-style prior grid (the detector's "ssd_priors" decoder). */
typedef struct argus_face_prior_spec {
  int nlevels;
  int steps[ARGUS_FACE_MAX_LEVELS]; /* stride of each feature map */
  int nsizes[ARGUS_FACE_MAX_LEVELS];
  float min_sizes[ARGUS_FACE_MAX_LEVELS][ARGUS_FACE_MAX_LEVEL_SIZES];
  int clamp; /* clamp prior centre/size to [0, 1] (the reference does) */
} argus_face_prior_spec;

/* How an anchor-free detector scores a grid cell ("decoder":
 * "anchor_free_grid", card field "score"). */
typedef enum argus_face_grid_score {
  ARGUS_FACE_SCORE_SQRT_CLS_OBJ = 0, /* sqrt(cls * obj) (YuNet) */
  ARGUS_FACE_SCORE_CLS_OBJ = 1,      /* cls * obj */
  ARGUS_FACE_SCORE_CLS = 2,          /* cls alone (no objectness head) */
} argus_face_grid_score;

/* Heads of an anchor-free detector, per stride s: for each cell (row, col)
 * of the (H/s) x (W/s) grid, in row-major order, a class and an objectness
 * probability (already sigmoid), a box (centre offset in cells, log size in
 * cells) and 2 * npoints landmark offsets in cells. Decoding: centre =
 * ((col + b0) * s, (row + b1) * s), size = (exp(b2) * s, exp(b3) * s),
 * point k = ((col + p[2k]) * s, (row + p[2k+1]) * s), in network pixels. */
enum { ARGUS_FACE_HEAD_CLS, ARGUS_FACE_HEAD_OBJ, ARGUS_FACE_HEAD_BBOX,
       ARGUS_FACE_HEAD_KPS, ARGUS_FACE_NHEADS };
typedef struct argus_face_grid_spec {
  int nstrides;
  int strides[ARGUS_FACE_MAX_LEVELS];
  /* Output names per stride and head ("" for a head the model lacks: obj
   * with score CLS, kps with npoints 0). */
  char outputs[ARGUS_FACE_MAX_LEVELS][ARGUS_FACE_NHEADS][ARGUS_FACE_CARD_NAME];
  argus_face_grid_score score;
  int npoints; /* 0, or ARGUS_FACE_NPOINTS: alignment points in the
                  ARGUS_FACE_LEFT_EYE .. MOUTH_RIGHT order */
  int pad_to;  /* network sides are multiples of this; the frame keeps its
                  aspect ratio and is zero-padded right and bottom */
} argus_face_grid_spec;

/* Detector decoders. */
typedef enum argus_face_decoder {
  ARGUS_FACE_DECODER_SSD_PRIORS = 0, /* "ssd_priors" */
  ARGUS_FACE_DECODER_GRID = 1,       /* "anchor_free_grid" */
} argus_face_decoder;

/* One calibrated operating point of an embedder. */
typedef struct argus_face_threshold {
  double fmr;      /* false-match rate, e.g. 1e-3 */
  float threshold; /* similarity at or above which two faces match */
} argus_face_threshold;

/* A parsed model card. Plain data: copy it freely. */
typedef struct argus_face_card {
  argus_face_model_kind kind;
  char name[ARGUS_FACE_CARD_NAME];    /* "fr_detect" */
  char version[ARGUS_FACE_CARD_NAME]; /* "faceplugin-0.0.1" */
  char file[ARGUS_FACE_CARD_PATH];    /* model file name, relative to the
                                         models folder */
  char sha256[65];                    /* lower-case hex; "" = not pinned */
  char input_name[ARGUS_FACE_CARD_NAME];
  int input_rank;
  int64_t input_shape[4]; /* as declared, NCHW */
  argus_channel_order channels;
  float mean, scale; /* tensor value = (p - mean) * scale */
  char output_name[ARGUS_FACE_CARD_NAME]; /* landmarker/embedder output */
  /* "precision": argus_nn_precision (F32 unless the card says "bf16"); the
   * engine sets it on the model it loads for the card. */
  int precision;

  /* detector */
  argus_face_decoder decoder;
  /* Longest side of the automatic whole-frame pass at the frame's own
   * resolution (defaults.native_max_side; 0: the pass is
   * ARGUS_FACE_DEFAULT_SIZE, stretched to the grid as the SSD detector is
   * trained). */
  int native_max_side;
  /* "decoder": "anchor_free_grid" */
  argus_face_grid_spec grid;
  /* "decoder": "ssd_priors" */
  argus_face_prior_spec priors;
  float center_variance, size_variance;
  char scores_output[ARGUS_FACE_CARD_NAME]; /* raw logits [1, A, 2] */
  char deltas_output[ARGUS_FACE_CARD_NAME]; /* raw deltas [1, A, 4] */
  float score_threshold, nms_iou;           /* defaults */

  /* landmarker ("decoder": "points_normalised") */
  float crop_scale; /* crop = box scaled by this about its centre */
  int npoints;      /* points the model outputs (68) */
  /* The 5 alignment points: each the mean of up to 4 model points. */
  int five[ARGUS_FACE_NPOINTS][4];
  int nfive[ARGUS_FACE_NPOINTS];

  /* embedder ("decoder": "embedding") */
  int dim;      /* embedding length */
  int l2_normalize;
  int align_width, align_height;
  float align_template[ARGUS_FACE_NPOINTS][2];
  argus_face_threshold thresholds[ARGUS_FACE_MAX_THRESHOLDS];
  int nthresholds; /* sorted by decreasing fmr */
  double default_fmr;
  char calibration[256]; /* "provisional: ..." or how it was calibrated */
  int provisional;       /* calibration.status == "provisional" */
} argus_face_card;

/* Parses a card. json: borrowed, `len` bytes (not necessarily
 * NUL-terminated). `source` names it in messages (may be NULL).
 * Errors: CORRUPT (not JSON, missing or ill-typed field: err says which),
 * UNSUPPORTED (unknown kind/decoder/layout), LIMIT (too large). */
argus_err argus_face_card_parse(const char *json, size_t len,
                                const char *source, argus_face_card *out,
                                argus_face_error *err);
/* Reads and parses a card file. Errors as above plus NOT_FOUND, IO. */
argus_err argus_face_card_load(const char *path, argus_face_card *out,
                               argus_face_error *err);
/* Finds "<name>.card.json": in models_dir (may be NULL), then in the
 * folders of the source tree and of the installation (share/models,
 * share/argus/models). Writes the path into `path`. Errors: NOT_FOUND (err
 * lists where it looked), LIMIT (path too long). */
argus_err argus_face_card_find(const char *models_dir, const char *name,
                               char *path, size_t path_size,
                               argus_face_error *err);
/* The threshold of the card for false-match rate `fmr` (0: the card's
 * default): the calibrated point with the largest FMR not above `fmr`.
 * *fmr_out (may be NULL) receives that point's FMR. Errors: NOT_FOUND (no
 * point at or below fmr), INVALID_ARG. */
argus_err argus_face_card_threshold(const argus_face_card *card, double fmr,
                                    float *threshold, double *fmr_out);

/* SHA-256 of a file as lower-case hex. Errors: NOT_FOUND, IO. */
argus_err argus_face_file_sha256(const char *path, char hex[65]);

/* ---- geometry building blocks ------------------------------------------ */

/* Number of priors for an input of w x h: sum over levels of
 * ceil(w/step) * ceil(h/step) * nsizes. 0 on bad input. */
size_t argus_face_prior_count(const argus_face_prior_spec *spec, int w, int h);
/* Writes the priors (cx, cy, pw, ph, normalised to the input) for an input
 * of w x h in the order of the Ultra-Light-Fast-Generic-Face-Detector
 * reference (level, row, column, size): with feature maps fw = ceil(w /
 * step), fh = ceil(h / step), centre ((i + 0.5) / fw, (j + 0.5) / fh), size
 * (min_size / w, min_size / h), clamped to [0, 1] when spec->clamp. out:
 * 4 * cap floats. Errors: INVALID_ARG, LIMIT (more than cap priors; *count
 * gets the number needed). */
argus_err argus_face_priors(const argus_face_prior_spec *spec, int w, int h,
                            float *out, size_t cap, size_t *count);

/* A scored box, the unit of non-maximum suppression. */
typedef struct argus_face_box {
  float x1, y1, x2, y2, score;
} argus_face_box;

/* Intersection over union of two corner boxes (0 when either is empty). */
float argus_face_iou(const argus_face_box *a, const argus_face_box *b);
/* Greedy non-maximum suppression in place: sorts by decreasing score,
 * keeps a box unless its IoU with a kept, higher-scoring box is above
 * `iou`; the kept boxes end up first, in decreasing score, their number in
 * *kept. At most `max_keep` are kept (0: no limit). No allocation.
 * Errors: INVALID_ARG. */
argus_err argus_face_nms(argus_face_box *boxes, int n, float iou,
                         int max_keep, int *kept);
/* Box voting: the same greedy suppression as argus_face_nms at `nms_iou`,
 * but each kept box becomes the score-weighted mean of the boxes still
 * standing (itself, and lower scores not yet suppressed) whose IoU with it
 * is at least `vote_iou`; it keeps its own, highest, score. Several
 * passes (scales, tiles, the mirrored frame) that each find a face then
 * agree on one better-placed box. vote_iou 0 or above 1: exactly
 * argus_face_nms. Sorts in place (NaN scores last and dropped); kept boxes
 * first, in decreasing score. No allocation. Errors: INVALID_ARG. */
argus_err argus_face_box_vote(argus_face_box *boxes, int n, float nms_iou,
                              float vote_iou, int max_keep, int *kept);

/* Least-squares similarity transform (rotation, uniform scale,
 * translation; no reflection) taking src points onto dst points, the 2-D
 * case of Umeyama (1991) in closed form: dst ~= [a -b; b a] src + t,
 * m = {a, -b, tx, b, a, ty}. n >= 2. Errors: INVALID_ARG (n < 2, NULL,
 * non-finite points, or all src points (nearly) coincident). */
argus_err argus_face_similarity_fit(const float (*src)[2],
                                    const float (*dst)[2], int n, float m[6]);
/* Inverse of an affine map {m0 m1 m2; m3 m4 m5}. Errors: INVALID_ARG
 * (singular). */
argus_err argus_face_affine_invert(const float m[6], float inv[6]);

/* ---- algorithm interfaces ----------------------------------------------- */

/* A detection pass: the source rectangle `roi` (x1, y1, x2, y2 in image
 * pixels, inside the image) resampled to a net_w x net_h network input. */
typedef struct argus_face_pass {
  float roi[4];
  int net_w, net_h;
  /* Faces whose box width (image px) falls outside [min_face, max_face)
   * are left to other passes (max_face 0: no upper bound). */
  float min_face, max_face;
  /* Faces touching these roi edges (left, top, right, bottom: 1 = drop)
   * are cut by the tile and found whole by the neighbouring tile. */
  unsigned char drop_edge[4];
  /* 1: the network sees the roi mirrored left-right; the boxes come back
   * in image coordinates (test-time augmentation, detect opts `flip`). */
  unsigned char flip;
  /* > 0 (detectors with pad_align): the roi is resampled to content_w x
   * content_h at the top left of the network input and the rest of it is
   * padding (black); 0: the roi fills the whole net_w x net_h input. */
  int content_w, content_h;
} argus_face_pass;

typedef struct argus_face_detector_ops {
  const char *name;
  /* Per-thread state; *state may be NULL for a stateless detector. */
  argus_err (*state_create)(void *ctx, void **state);
  void (*state_free)(void *ctx, void *state);
  /* Runs one pass and writes candidate boxes with score >= min_score, in
   * image coordinates, before NMS: at most `cap` (the highest scores), the
   * number in *n. */
  argus_err (*detect_pass)(void *ctx, void *state, const argus_image *img,
                           const argus_face_pass *pass, float min_score,
                           argus_face_box *out, int cap, int *n,
                           argus_face_error *err);
  void (*destroy)(void *ctx);
} argus_face_detector_ops;

typedef struct argus_face_detector {
  const argus_face_detector_ops *ops;
  void *ctx;
  float default_score, default_nms_iou;
  int default_w, default_h; /* the model's training input size */
  /* 0: network inputs are the roi stretched to a multiple of 32; N > 0: the
   * roi at the pass's scale, padded right and bottom to a multiple of N
   * (argus_face_pass.content_w/h). */
  int pad_align;
  /* > 0: the automatic whole-frame pass (detect opts size 0, no tiles) is
   * the frame at its own resolution, its longer side capped at this. */
  int native_max_side;
  /* Optional (NULL: boxes only): ops->detect_pass that also writes the 5
   * alignment points (image px, ARGUS_FACE_LEFT_EYE .. MOUTH_RIGHT) of
   * candidate i into points[i] (cap entries). Faces then get their points
   * from the detector and need no landmarker. */
  argus_err (*detect_pass_points)(void *ctx, void *state,
                                  const argus_image *img,
                                  const argus_face_pass *pass,
                                  float min_score, argus_face_box *out,
                                  float (*points)[ARGUS_FACE_NPOINTS][2],
                                  int cap, int *n, argus_face_error *err);
} argus_face_detector;

typedef struct argus_face_landmarker_ops {
  const char *name;
  argus_err (*state_create)(void *ctx, void **state);
  void (*state_free)(void *ctx, void *state);
  /* Sets points (and dense points) of faces[0..n) from their boxes. */
  argus_err (*landmarks)(void *ctx, void *state, const argus_image *img,
                         argus_face *faces, int n, argus_face_error *err);
  void (*destroy)(void *ctx);
} argus_face_landmarker_ops;

typedef struct argus_face_landmarker {
  const argus_face_landmarker_ops *ops;
  void *ctx;
} argus_face_landmarker;

typedef struct argus_face_embedder_ops {
  const char *name;
  argus_err (*state_create)(void *ctx, void **state);
  void (*state_free)(void *ctx, void *state);
  /* The dst -> src affine map that aligns a face with 5 points onto the
   * embedder's template (for argus_image_warp_affine). */
  argus_err (*align_map)(void *ctx, const argus_face *face, float m[6]);
  /* Embeds n aligned crops (any packed format; resampled when their size is
   * not the template's) into out[n][dim]. */
  argus_err (*embed_aligned)(void *ctx, void *state,
                             const argus_image *crops, int n, float *out,
                             argus_face_error *err);
  void (*destroy)(void *ctx);
  /* Optional (NULL: none): the L2 norms of the n crops' embeddings before
   * normalisation into norms[n]. With ArcFace-style embedders the norm
   * grows with how face-like the crop is, which tells an upright face from
   * an upside-down one (argus_face_worker_upright). */
  argus_err (*raw_norms)(void *ctx, void *state, const argus_image *crops,
                         int n, float *norms, argus_face_error *err);
} argus_face_embedder_ops;

typedef struct argus_face_embedder {
  const argus_face_embedder_ops *ops;
  void *ctx;
  int dim;
  int align_width, align_height;
  char model_id[2 * ARGUS_FACE_CARD_NAME]; /* "name@version": templates of
                                               different ids never compare */
} argus_face_embedder;

/* Limits of the default quality measure; see docs/face.md. */
typedef struct argus_face_quality_params {
  float ipd_min;       /* below: q_size 0 and "too small" (px) */
  float ipd_good;      /* at or above: q_size 1 (px) */
  float sharp_k;       /* sharpness = m / (m + sharp_k), m = blur_measure */
  float sharp_min;     /* below: "blurred" */
  float yaw_max;       /* |yaw| beyond: q_pose 0 and "profile" (degrees) */
  float pitch_max;     /* |pitch| beyond: idem */
  float roll_max;      /* |roll| beyond (over the full circle, so an
                          upside-down face is 180): q_pose 0 and "rolled"
                          (degrees) */
  float score_min;     /* below: "low score" */
  float score_good;    /* at or above: q_score 1 */
} argus_face_quality_params;

/* The defaults (docs/face.md explains each). */
void argus_face_quality_params_default(argus_face_quality_params *p);

typedef struct argus_face_quality_ops {
  const char *name;
  /* Fills q for a face; `aligned` is its aligned crop (may be NULL: no
   * sharpness). Stateless: may run on any thread. */
  argus_err (*assess)(void *ctx, const argus_image *img,
                      const argus_face *face, const argus_image *aligned,
                      argus_face_quality *q);
  void (*destroy)(void *ctx);
} argus_face_quality_ops;

typedef struct argus_face_quality_assessor {
  const argus_face_quality_ops *ops;
  void *ctx;
} argus_face_quality_assessor;

/* Default implementations. `model` is kept (must outlive the object) and
 * may be shared with other objects; `card` is copied. Each validates that
 * the model's inputs/outputs match the card. Free with the matching
 * *_destroy (accepts NULL and objects already destroyed: zeroes them). */
argus_err argus_face_detector_create(const argus_face_card *card,
                                     argus_nn_model *model,
                                     argus_face_detector *out,
                                     argus_face_error *err);
argus_err argus_face_landmarker_create(const argus_face_card *card,
                                       argus_nn_model *model,
                                       argus_face_landmarker *out,
                                       argus_face_error *err);
/* max_batch: largest embedder batch (sessions are planned for powers of two
 * up to it); 0: 16. */
argus_err argus_face_embedder_create(const argus_face_card *card,
                                     argus_nn_model *model, int max_batch,
                                     argus_face_embedder *out,
                                     argus_face_error *err);
/* params: copied; NULL for the defaults. */
argus_err argus_face_quality_create(const argus_face_quality_params *params,
                                    argus_face_quality_assessor *out);
void argus_face_detector_destroy(argus_face_detector *d);
void argus_face_landmarker_destroy(argus_face_landmarker *l);
void argus_face_embedder_destroy(argus_face_embedder *e);
void argus_face_quality_destroy(argus_face_quality_assessor *q);

/* Pose (degrees) from the 5 points, refined with the dense contour when the
 * face has 68 points; see docs/face.md. Errors: INVALID_ARG (no points). */
argus_err argus_face_pose(const argus_face *face, float *yaw, float *pitch,
                          float *roll);
/* Blur measure of a packed image region (x, y, w, h; clamped): variance of
 * the 4-neighbour Laplacian of grey divided by the variance of grey.
 * Errors: INVALID_ARG (NULL, region smaller than 3x3). */
argus_err argus_face_blur_measure(const argus_image *img, int x, int y, int w,
                                  int h, float *measure);

/* ---- detection options -------------------------------------------------- */

#define ARGUS_FACE_MAX_SCALES 8
/* Longer side of the default full-frame pass (chosen on WIDER FACE dev:
 * docs/face.md). */
#define ARGUS_FACE_DEFAULT_SIZE 480
/* Longer side of the coarsest pass of a tiled pyramid. */
#define ARGUS_FACE_TILED_SIZE 320

typedef struct argus_face_detect_opts {
  float min_score; /* 0: the card's default */
  float nms_iou;   /* 0: the card's default */
  float min_size;  /* drop faces narrower than this (image px); 0: none */
  int max_faces;   /* keep the highest scores; 0: as many as fit */
  /* Full-frame pass: the frame resampled so that its longer side is `size`
   * network pixels, keeping the aspect ratio (0: ARGUS_FACE_DEFAULT_SIZE,
   * or ARGUS_FACE_TILED_SIZE with tiles; -1: no full-frame pass). Ignored
   * when nscales > 0. */
  int size;
  /* Explicit passes: the frame at these scales (network px per image px,
   * e.g. 0.33 and 1.0). Passes whose network image exceeds `tile` are
   * split into overlapping tiles. */
  int nscales;
  float scales[ARGUS_FACE_MAX_SCALES];
  /* Tiles: side of a tile in network px (0: no tiles). With tile > 0 and
   * no scales, a pyramid: the full frame at `size` (0: ARGUS_FACE_TILED_SIZE),
   * then scales doubling up to `tile_scale` (0: 1.0, the frame's own
   * resolution), for faces down to about 20 px; the passes larger than a
   * tile are cut into overlapping tiles. */
  int tile;
  float tile_scale;
  /* Tiled pyramid only: a second whole-frame level with the longer side at
   * mid_size network px (> size; 0: none); the octaves continue from it.
   * (480 then 640 finds large faces better than 320 alone: docs/face.md.) */
  int mid_size;
  /* Test-time augmentation: passes also run on the mirrored frame and
   * their boxes are merged with the others (ARGUS_FACE_FLIP_*). */
  int flip;
  /* > 0: the passes' boxes are merged by box voting at this IoU
   * (argus_face_box_vote) instead of plain NMS; 0: NMS. */
  float vote_iou;
  /* A window of the whole-frame pass (which must then be the only pass:
   * no scales, tiles, flip): x, y, width, height in that pass's network
   * pixels, all multiples of 32 (x + width and y + height within the
   * pass's input, padding included). With width > 0 only the window is
   * searched, on the whole pass's own sampling grid, so a face inside it
   * gets the network input and the box it gets from the whole frame; faces
   * touching an edge of the window inside the frame are left out (cut).
   * Motion-gated detection uses it (docs/pipeline.md). 0: whole frame. */
  int window[4];
} argus_face_detect_opts;

enum {
  ARGUS_FACE_FLIP_NONE = 0,
  ARGUS_FACE_FLIP_WHOLE = 1, /* mirror the whole-frame passes (not tiles) */
  ARGUS_FACE_FLIP_ALL = 2,   /* mirror every pass */
};

/* The `--accurate` preset of `argus detect` (docs/face.md): size 480,
 * mid_size 640, tile 640, flip WHOLE, vote_iou 0.5. Sets those fields
 * only. */
void argus_face_detect_opts_accurate(argus_face_detect_opts *o);

/* Defaults: the card's threshold and IoU, automatic size, no tiles. */
void argus_face_detect_opts_default(argus_face_detect_opts *o);

/* The passes `o` asks for on a w x h frame. passes: cap entries. Errors:
 * INVALID_ARG (bad option value), LIMIT (more than cap passes; *n gets the
 * number needed). */
argus_err argus_face_plan_passes(const argus_face_detector *d, int w, int h,
                                 const argus_face_detect_opts *o,
                                 argus_face_pass *passes, int cap, int *n);

/* ---- the face engine ---------------------------------------------------- */

typedef struct argus_face_engine argus_face_engine;

typedef struct argus_face_engine_opts {
  /* Folder with the models and (or) their cards. NULL: $ARGUS_MODELS, else
   * ./models. Borrowed. */
  const char *models_dir;
  /* Work is spread over this pool (borrowed, must outlive the engine); one
   * per-thread state per pool thread. NULL: the calling thread only. */
  argus_threadpool *pool;
  int embed_batch;       /* largest embedder batch; 0: 16 */
  int allow_unverified;  /* load model files whose sha256 differs from the
                            card (a user's own model); logged */
  const argus_face_quality_params *quality; /* NULL: defaults; borrowed */
  /* Card names. detector NULL: $ARGUS_DETECTOR, else
   * ARGUS_FACE_DEFAULT_DETECTOR. landmarker NULL: fr_landmark, loaded only
   * when the detector gives no alignment points (an "ssd_priors" card);
   * named, it is loaded and its points replace the detector's. embedder
   * NULL: $ARGUS_EMBEDDER, else fr_feature. */
  const char *detector, *landmarker, *embedder;
  /* A plug-in (argus/plugin.h): the shared object whose detector and/or
   * embedder replace the cards' (the plug-in's "name@version" is then the
   * algorithm id). NULL: $ARGUS_PLUGIN; NULL or "": none. Borrowed. */
  const char *plugin;
} argus_face_engine_opts;

/* The detector card the engine loads by default (docs/face.md). */
#define ARGUS_FACE_DEFAULT_DETECTOR "yunet_n"

/* Loads the cards and models, checks checksums and creates the default
 * algorithms. Errors: NOT_FOUND (card or model), CHECKSUM, CORRUPT,
 * UNSUPPORTED, NOMEM; err names the file and the reason. */
argus_err argus_face_engine_create(const argus_face_engine_opts *opts,
                                   argus_face_engine **out,
                                   argus_face_error *err);
void argus_face_engine_free(argus_face_engine *e);

/* Borrowed views of the engine's parts (valid while the engine lives).
 * argus_face_engine_card gives NULL for the landmarker when none is loaded
 * (the detector's points feed alignment). */
const argus_face_card *argus_face_engine_card(const argus_face_engine *e,
                                              argus_face_model_kind kind);
const argus_face_detector *argus_face_engine_detector(
    const argus_face_engine *e);
const argus_face_embedder *argus_face_engine_embedder(
    const argus_face_engine *e);
/* Embedding length of the engine's embedder. */
int argus_face_engine_dim(const argus_face_engine *e);

/* What argus_face_engine_analyze does after detection (0: boxes and scores
 * only, without points even from a detector that gives them). */
enum {
  ARGUS_FACE_DO_LANDMARKS = 1u << 0,
  ARGUS_FACE_DO_QUALITY = 1u << 1, /* implies landmarks and alignment */
  ARGUS_FACE_DO_EMBED = 1u << 2,   /* implies landmarks and alignment */
};

/* Detects faces in img (any packed format; YUV frames must be converted
 * first) and, per `what`, runs landmarks, quality and embedding on each.
 * faces: cap entries (borrowed), the number found in *n (at most cap; the
 * highest scores). embeddings: NULL or cap * dim floats, row i for face i.
 * Not reentrant: one call at a time per engine (it uses the engine's
 * per-thread states); threads of their own use argus_face_worker.
 * Errors: INVALID_ARG, UNSUPPORTED (image format), NOMEM, INTERNAL. */
argus_err argus_face_engine_analyze(argus_face_engine *e,
                                    const argus_image *img,
                                    const argus_face_detect_opts *opts,
                                    unsigned what, argus_face *faces, int cap,
                                    int *n, float *embeddings,
                                    argus_face_error *err);
/* Embeds n already aligned crops (e.g. LFW 112x112 images) into
 * out[n][dim], batched and spread over the pool. Not reentrant. */
argus_err argus_face_engine_embed_aligned(argus_face_engine *e,
                                          const argus_image *crops, int n,
                                          float *out, argus_face_error *err);

/* ---- per-thread worker -------------------------------------------------- */

/* A worker holds one thread's states for the engine's algorithms. Use one
 * worker per thread (e.g. per analysis thread of a live pipeline); all its
 * work runs on the calling thread. */
typedef struct argus_face_worker argus_face_worker;

argus_err argus_face_worker_create(argus_face_engine *e,
                                   argus_face_worker **out);
void argus_face_worker_free(argus_face_worker *w);

/* Same as argus_face_engine_analyze on the calling thread only. */
argus_err argus_face_worker_analyze(argus_face_worker *w,
                                    const argus_image *img,
                                    const argus_face_detect_opts *opts,
                                    unsigned what, argus_face *faces, int cap,
                                    int *n, float *embeddings,
                                    argus_face_error *err);
/* Writes the aligned crop of a face with points into dst, allocated by the
 * caller with the embedder's align size and the image's packed format. */
argus_err argus_face_worker_align(argus_face_worker *w, const argus_image *img,
                                  const argus_face *face, argus_image *dst);
argus_err argus_face_worker_embed_aligned(argus_face_worker *w,
                                          const argus_image *crops, int n,
                                          float *out, argus_face_error *err);
/* Orientation check of a face with points in img: its aligned crop and the
 * same crop turned by 180 degrees go through the embedder, and *ratio is
 * the turned crop's raw embedding norm over the crop's. An upright face
 * gives about 0.75 (LFW-112: median 0.75, at most 1.04 in 40 faces); one
 * upside down, whose five points a detector regressed as if it were
 * upright, gives about 1.3. Allocates the two crops. Errors: INVALID_ARG,
 * UNSUPPORTED (the embedder has no raw_norms), NOMEM, the embedder's. */
argus_err argus_face_worker_upright(argus_face_worker *w,
                                    const argus_image *img,
                                    const argus_face *face, float *ratio,
                                    argus_face_error *err);

/* ---- comparison --------------------------------------------------------- */

/* Similarity of two L2-normalised embeddings: their dot product. */
float argus_face_similarity(const float *a, const float *b, int dim);

/* ---- JSON output -----------------------------------------------------------
 * With the core writer (argus_json), as the CLI's --json output and the REST
 * API write faces. Non-finite numbers are written as 0. Overflow is the
 * writer's. */

/* With ARGUS_FACE_JSON_DENSE, argus_face_json_members also writes the dense
 * landmarks. */
#define ARGUS_FACE_JSON_DENSE 1u

/* Writes the members of face `f` (borrowed) into the object open in `j`
 * (the caller opens it, may add members, and closes it): "box" [x1, y1,
 * x2, y2], "score"; "points" [[x, y] x 5] when it has landmarks; "quality"
 * and "quality_detail" {"ipd", "sharpness", "yaw", "pitch", "roll",
 * "reasons": [flag names]} when assessed; "landmarks<N>" [[x, y] x N] when
 * it has dense landmarks and flags has ARGUS_FACE_JSON_DENSE; "embedding"
 * (argus_face_json_floats) when emb (dim floats, borrowed) is not NULL. */
void argus_face_json_members(const argus_face *f, const float *emb, int dim,
                             unsigned flags, argus_json *j);
/* n floats (borrowed) as an array under `key` (NULL in an array or at the
 * top level), each with 6 significant digits. */
void argus_face_json_floats(argus_json *j, const char *key, const float *v,
                            int n);

ARGUS_END_DECLS
#endif
