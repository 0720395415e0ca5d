/*
 * argus plug-ins: face detectors and embedders that are not ONNX models
 * (another inference engine, a vendor's SDK, hand-written code), loaded at
 * run time from a shared object with dlopen.
 *
 * The interface has two halves in this header:
 *
 * 1. The plug-in ABI (what a plug-in implements): plain C, no argus types
 *    and no argus library symbols, so that a plug-in can be built against
 *    this header alone, in C or in C++ (with extern "C"), with any compiler
 *    and runtime. A plug-in exports one function,
 *
 *        const argus_plugin_descriptor *argus_plugin_entry(
 *            const argus_plugin_host *host);
 *
 *    that returns a static descriptor: the ABI version it was built for,
 *    its identity (name, version: "name@version" is the algorithm id that
 *    templates carry), and a detector and/or an embedder, each a table of
 *    create / destroy / run functions with the output sizes the plug-in
 *    declares (most faces per run, embedding length). The host passes a
 *    table of its own (logging, allocation) that stays valid until the
 *    plug-in is unloaded.
 *
 * 2. The host side (what argus does): argus_plugin_open loads and checks a
 *    plug-in, and argus_plugin_detector_create / argus_plugin_embedder_create
 *    wrap its entry points as the face module's ops tables
 *    (argus_face_detector_ops, argus_face_embedder_ops), so a plug-in's
 *    algorithm runs wherever the default ones do (argus_face_engine_opts
 *    .plugin, `--plugin PATH` on the CLI).
 *
 * Versioning. ARGUS_PLUGIN_ABI_MAJOR changes when a structure's layout or a
 * function's meaning changes: a plug-in of another major version is refused
 * at load. ARGUS_PLUGIN_ABI_MINOR changes when fields are appended to the
 * end of a structure: the host reads only the fields of its own minor
 * version, and a plug-in that needs a newer host feature checks
 * host->abi_minor itself.
 *
 * Checks. The host trusts nothing a plug-in returns: a descriptor with
 * missing functions, sizes out of range (embedding length outside
 * 1..ARGUS_PLUGIN_MAX_DIM, max faces outside 1..ARGUS_PLUGIN_MAX_FACES), a
 * run that reports more faces than it declared, or boxes, scores or
 * embedding values that are NaN or infinite are refused with an error that
 * names the plug-in and what was wrong (tests/test_plugin.c builds such
 * plug-ins).
 *
 * Threads. The host calls `create` once per thread that runs the algorithm
 * and uses each instance from one thread at a time; several instances run
 * at once on different threads. `run` must not keep pointers to its inputs
 * or outputs after it returns.
 */
#ifndef ARGUS_PLUGIN_H
#define ARGUS_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

/* ======================= the plug-in ABI (plain C) ======================= */

#define ARGUS_PLUGIN_ABI_MAJOR 1
#define ARGUS_PLUGIN_ABI_MINOR 0
/* The one symbol a plug-in exports (an argus_plugin_entry_fn). */
#define ARGUS_PLUGIN_ENTRY_SYMBOL "argus_plugin_entry"

/* Largest sizes a plug-in may declare. */
#define ARGUS_PLUGIN_MAX_DIM 8192   /* embedding length */
#define ARGUS_PLUGIN_MAX_FACES 4096 /* faces one detector run returns */
#define ARGUS_PLUGIN_MAX_BATCH 256  /* crops one embedder run takes */
#define ARGUS_PLUGIN_MAX_THRESHOLDS 8
#define ARGUS_PLUGIN_NPOINTS 5

/* Marks the entry point exported from a plug-in built with hidden
 * visibility. */
#if defined(__GNUC__) || defined(__clang__)
#define ARGUS_PLUGIN_EXPORT __attribute__((visibility("default")))
#else
#define ARGUS_PLUGIN_EXPORT
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Log levels of argus_plugin_host.log (the host's: error, warn, info,
 * debug). */
enum {
  ARGUS_PLUGIN_LOG_ERROR = 0,
  ARGUS_PLUGIN_LOG_WARN = 1,
  ARGUS_PLUGIN_LOG_INFO = 2,
  ARGUS_PLUGIN_LOG_DEBUG = 3
};

/* Pixel layouts of argus_plugin_image (8 bits per channel, packed). */
enum {
  ARGUS_PLUGIN_PIX_GRAY8 = 1,
  ARGUS_PLUGIN_PIX_RGB8 = 2,
  ARGUS_PLUGIN_PIX_BGR8 = 3
};

/* An image the host lends to a run: `height` rows of `stride` bytes, each
 * starting with `width` pixels of `channels` bytes (1 for GRAY8, 3 for
 * RGB8/BGR8) in the order `format` says. Read-only; valid during the call. */
typedef struct argus_plugin_image {
  const uint8_t *data;
  int width, height;
  int stride;   /* bytes from one row to the next */
  int format;   /* ARGUS_PLUGIN_PIX_* */
  int channels; /* 1 or 3 */
} argus_plugin_image;

/* What the host gives the plug-in: valid from argus_plugin_entry until the
 * plug-in is unloaded; callable from any thread. */
typedef struct argus_plugin_host {
  uint32_t abi_major, abi_minor; /* the host's ABI version */
  /* One line (no newline needed) in the host's log, under the plug-in's
   * name. */
  void (*log)(void *host_ctx, int level, const char *msg);
  /* The host's allocator (a plug-in may use its own; memory it gives the
   * host is never freed by the host). alloc returns NULL when out of
   * memory; free accepts NULL. */
  void *(*alloc)(void *host_ctx, size_t size);
  void (*free)(void *host_ctx, void *ptr);
  void *host_ctx; /* first argument of the functions above */
  /* The models folder the host uses (may be NULL): where a plug-in finds
   * its own model files. */
  const char *models_dir;
} argus_plugin_host;

/* One face found by a detector, in the pixel coordinates of the image it
 * was given (pixel-edge convention: the image is [0, width] x [0, height]).
 * Boxes may reach a little outside the image; the host clips them. */
typedef struct argus_plugin_face {
  float box[4]; /* x1, y1, x2, y2 with x1 <= x2, y1 <= y2 */
  float score;  /* in [0, 1] */
  /* 0, or ARGUS_PLUGIN_NPOINTS: left eye, right eye (as seen in the image),
   * nose, mouth left, mouth right. Used for alignment when the detector
   * declares npoints; then every face must have them. */
  int npoints;
  float points[ARGUS_PLUGIN_NPOINTS][2];
} argus_plugin_face;

/* A face detector. All functions are required. */
typedef struct argus_plugin_detector {
  /* The input size the detector was made for (0, 0: any); the host plans
   * its passes from it as it does from a card's input shape. */
  int input_width, input_height;
  /* Most faces one run returns (1..ARGUS_PLUGIN_MAX_FACES): the host gives
   * run room for exactly this many. */
  int max_faces;
  /* Defaults of the host's detection options: the score threshold and the
   * IoU of non-maximum suppression, both in (0, 1]. */
  float score_threshold, nms_iou;
  /* Pixel layout the plug-in wants its input in (ARGUS_PLUGIN_PIX_*). */
  int image_format;
  /* 0: boxes only (argus' landmarker sets the alignment points); or
   * ARGUS_PLUGIN_NPOINTS: every face run returns carries its 5 points,
   * which feed alignment directly (no landmarker is loaded). */
  int npoints;
  /* Makes an instance for one thread; *inst may be set to NULL. Returns 0,
   * or non-zero with a message in err (err_size bytes, NUL-terminated). */
  int (*create)(void **inst, char *err, size_t err_size);
  /* Frees an instance (accepts NULL). */
  void (*destroy)(void *inst);
  /* Finds faces in img (one pass of the host's detection: the whole frame
   * or a tile, resampled to a network size the host chose from
   * input_width/height and its options, mirrored for a flipped pass):
   * writes at most `cap` (== max_faces) faces with
   * score >= min_score to faces[0..*n), in any order. Returns 0, or
   * non-zero with a message in err. */
  int (*run)(void *inst, const argus_plugin_image *img, float min_score,
             argus_plugin_face *faces, int cap, int *n, char *err,
             size_t err_size);
} argus_plugin_detector;

/* A calibrated operating point of an embedder: at or above `similarity`
 * (the dot product of two L2-normalised embeddings) two faces match, with
 * false-match rate `fmr`. */
typedef struct argus_plugin_threshold {
  double fmr;       /* in (0, 1), e.g. 1e-3 */
  float similarity; /* in [-1, 1] */
} argus_plugin_threshold;

/* A face embedder. The host aligns each face with a similarity transform
 * of its 5 points onto `align_template` in an align_width x align_height
 * crop (as the default embedder does) and passes the crops. All functions
 * are required. */
typedef struct argus_plugin_embedder {
  int dim; /* embedding length, 1..ARGUS_PLUGIN_MAX_DIM */
  int align_width, align_height; /* 8..4096 */
  float align_template[ARGUS_PLUGIN_NPOINTS][2]; /* inside the crop */
  /* Most crops per run, 1..ARGUS_PLUGIN_MAX_BATCH. */
  int max_batch;
  /* Pixel layout the plug-in wants its crops in (ARGUS_PLUGIN_PIX_*). */
  int crop_format;
  /* Operating points, 1..ARGUS_PLUGIN_MAX_THRESHOLDS, and the default
   * false-match rate (one of theirs, or 0: the smallest). */
  int nthresholds;
  argus_plugin_threshold thresholds[ARGUS_PLUGIN_MAX_THRESHOLDS];
  double default_fmr;
  /* How the thresholds were obtained ("provisional: ..." when they were
   * not measured); may be NULL. */
  const char *calibration;
  int (*create)(void **inst, char *err, size_t err_size);
  void (*destroy)(void *inst);
  /* Embeds n crops (1..max_batch) into out[n][dim]. The host L2-normalises
   * the vectors (their norm before that is the "raw norm" the orientation
   * check uses). Returns 0, or non-zero with a message in err. */
  int (*run)(void *inst, const argus_plugin_image *crops, int n, float *out,
             char *err, size_t err_size);
} argus_plugin_embedder;

/* What argus_plugin_entry returns: static data, valid until unloaded. */
typedef struct argus_plugin_descriptor {
  uint32_t abi_major, abi_minor; /* ARGUS_PLUGIN_ABI_* it was built with */
  /* Identity: "name@version" is the algorithm id (1..63 characters each;
   * name without '@'). Embeddings of different ids are never compared. */
  const char *name;
  const char *version;
  const char *description; /* may be NULL */
  const char *license;     /* may be NULL */
  /* What it provides; at least one is not NULL. */
  const argus_plugin_detector *detector;
  const argus_plugin_embedder *embedder;
} argus_plugin_descriptor;

/* The entry point: returns the descriptor, or NULL when the plug-in cannot
 * work (it says why through host->log). `host` is kept by the plug-in. */
typedef const argus_plugin_descriptor *(*argus_plugin_entry_fn)(
    const argus_plugin_host *host);

#ifdef __cplusplus
}
#endif

/* ========================== the host side ================================ */

#ifndef ARGUS_PLUGIN_ABI_ONLY
#include "argus/core.h"
#include "argus/export.h"
#include "argus/face.h"

ARGUS_BEGIN_DECLS

/* A loaded plug-in. */
typedef struct argus_plugin argus_plugin;

/* Loads the shared object at `path` (dlopen, symbols local), finds
 * argus_plugin_entry, calls it and checks the descriptor: ABI major
 * version, identity, every function present, declared sizes and
 * thresholds in range. `models_dir` (may be NULL; copied) is passed to the
 * plug-in in its host table. Errors: NOT_FOUND (no such file),
 * UNSUPPORTED (not loadable, no entry symbol, another ABI major version),
 * CORRUPT (a malformed descriptor); err says which, naming the file. */
argus_err argus_plugin_open(const char *path, const char *models_dir,
                            argus_plugin **out, argus_face_error *err);
/* Closes a plug-in; accepts NULL. Every detector and embedder made from it
 * must have been destroyed first. Its code stays mapped until the process
 * ends (RTLD_NODELETE: engines and C++ runtimes inside plug-ins are often
 * not safe to unload); opening it again reuses it. */
void argus_plugin_close(argus_plugin *p);

/* "name@version" (owned by p). */
const char *argus_plugin_id(const argus_plugin *p);
/* The path it was loaded from (owned by p). */
const char *argus_plugin_path(const argus_plugin *p);
/* 1 when the plug-in provides an algorithm of that kind (detector or
 * embedder), else 0. */
int argus_plugin_provides(const argus_plugin *p, argus_face_model_kind kind);

/* The plug-in's detector as a face detector (ops + context), and a card
 * describing it (kind, name, version, file = the plug-in's path, its
 * sha256, input size, default threshold and IoU). `p` is kept: it must
 * outlive *out; free *out with argus_face_detector_destroy. Errors:
 * UNSUPPORTED (no detector), NOMEM. Runs that return garbage fail with
 * CORRUPT and a message naming the plug-in. */
argus_err argus_plugin_detector_create(argus_plugin *p,
                                       argus_face_detector *out,
                                       argus_face_card *card,
                                       argus_face_error *err);
/* The plug-in's embedder as a face embedder (model_id "name@version",
 * dim, alignment) and a card with its thresholds. max_batch: crops per run
 * at most (0: the plug-in's maximum). `p` is kept; free *out with
 * argus_face_embedder_destroy. Errors: UNSUPPORTED (no embedder),
 * INVALID_ARG, NOMEM. */
argus_err argus_plugin_embedder_create(argus_plugin *p, int max_batch,
                                       argus_face_embedder *out,
                                       argus_face_card *card,
                                       argus_face_error *err);

ARGUS_END_DECLS
#endif /* ARGUS_PLUGIN_ABI_ONLY */

#endif
