/*
 * argus recognition policy: what the live pipeline may do with one camera's
 * frames, as the "policy" member of the camera's settings says it.
 *
 *   {"mode": "match" | "detect" | "off",
 *    "windows": [{"from": RFC3339, "to": RFC3339, "mode": ...},
 *                {"every": "day", "from": "HH:MM[:SS]", "to": "HH:MM[:SS]",
 *                 "mode": ...}, ...],
 *    "masks": [[[x, y], [x, y], [x, y], ...], ...],
 *    "legal_ref": "court order 123/26"}
 *
 * Modes: "match" (the default) detects, tracks, embeds and searches;
 * "detect" detects, tracks and counts faces but never embeds one (nothing is
 * searched or stored); "off" does not even detect. A window overrides the
 * mode in [from, to) (UTC instants), or every day from one UTC time of day
 * to another ("every": "day"; from after to spans midnight); where windows
 * overlap, the most restrictive of their modes applies (off, then detect,
 * then match).
 * Masks are polygons in the pixel coordinates of the camera's decoded
 * frame: a face whose box centre falls inside one is dropped before
 * tracking and is never embedded.
 *
 * The data type is plain (no allocation, no pointers) so that the store can
 * check settings and the edge can enforce them with the same reader.
 */
#ifndef ARGUS_POLICY_H
#define ARGUS_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "argus/core.h"
#include "argus/export.h"

ARGUS_BEGIN_DECLS

#define ARGUS_POLICY_MAX_WINDOWS 32    /* windows per camera */
#define ARGUS_POLICY_MAX_MASKS 16      /* polygons per camera */
#define ARGUS_POLICY_MAX_POINTS 32     /* vertices per polygon (at least 3) */
#define ARGUS_POLICY_COORD_MAX 65536   /* |x|, |y| of a vertex, pixels */
#define ARGUS_POLICY_LEGAL_REF_MAX 256 /* bytes with the NUL */

/* Ordered from the least to the most restrictive. */
typedef enum argus_policy_mode {
  ARGUS_POLICY_MATCH = 0,
  ARGUS_POLICY_DETECT = 1,
  ARGUS_POLICY_OFF = 2
} argus_policy_mode;

typedef struct argus_policy_window {
  /* daily 0: UTC nanoseconds, from < to; [from, to). daily 1: seconds
   * after UTC midnight (0..86399), from != to; from > to spans midnight. */
  int64_t from_ns, to_ns;
  argus_policy_mode mode;
  int daily;
} argus_policy_window;

typedef struct argus_policy_mask {
  int npoints;                           /* 3..ARGUS_POLICY_MAX_POINTS */
  float pts[ARGUS_POLICY_MAX_POINTS][2]; /* x, y in frame pixels */
  float box[4];                          /* bounding box x0, y0, x1, y1 */
} argus_policy_mask;

typedef struct argus_policy {
  argus_policy_mode mode; /* outside every window */
  int nwindows;
  argus_policy_window windows[ARGUS_POLICY_MAX_WINDOWS];
  int nmasks;
  argus_policy_mask masks[ARGUS_POLICY_MAX_MASKS];
  char legal_ref[ARGUS_POLICY_LEGAL_REF_MAX]; /* "" when not given */
} argus_policy;

/* The default policy: match, no windows, no masks. */
void argus_policy_init(argus_policy *p);

/* "match", "detect" or "off" ("?" for anything else). */
const char *argus_policy_mode_name(argus_policy_mode m);

/* Reads a policy object (JSON text, strict; at most 64 KiB) into *out,
 * checking every member: only "mode", "windows", "masks" and "legal_ref" are
 * known; a mode is one of the three words; a window has exactly "from",
 * "to" (RFC 3339 instants, from < to) and "mode", or also "every": "day"
 * with "from" and "to" UTC times of day "HH:MM" or "HH:MM:SS" (different);
 * a mask has 3 to
 * ARGUS_POLICY_MAX_POINTS vertices [x, y] of finite numbers within
 * +-ARGUS_POLICY_COORD_MAX; at most ARGUS_POLICY_MAX_WINDOWS windows and
 * ARGUS_POLICY_MAX_MASKS masks; legal_ref a string shorter than
 * ARGUS_POLICY_LEGAL_REF_MAX bytes. A member that is null counts as not
 * given. json NULL or "null": the default policy. On error *out holds the
 * default policy and err (may be NULL) says which member and why, e.g.
 * "\"policy\": \"windows\"[0]: \"from\" must be before \"to\"". Errors:
 * INVALID_ARG (out NULL, a refused member), NOMEM. */
argus_err argus_policy_parse(const char *json, argus_policy *out,
                             argus_error_detail *err);

/* The "policy" member of a camera's settings (a JSON object; NULL or "":
 * none) into *out, as argus_policy_parse; absent or null: the default.
 * *present (may be NULL) is set to 1 when the member is there and not null.
 * Errors: as argus_policy_parse; INVALID_ARG also when settings is not a
 * JSON object. */
argus_err argus_policy_from_settings(const char *settings, argus_policy *out,
                                     int *present, argus_error_detail *err);

/* The mode that applies at wall_ns (UTC nanoseconds). p NULL: match. */
argus_policy_mode argus_policy_mode_at(const argus_policy *p, int64_t wall_ns);

/* 1 when the point (x, y) (frame pixels) lies inside one of p's masks
 * (even-odd rule), else 0. p NULL: 0. */
int argus_policy_masked(const argus_policy *p, float x, float y);

/* Writes the policy as a compact JSON object into buf (size bytes; 3 KiB
 * holds any policy) for audit rows: {"mode", "windows": [{"from", "to",
 * "mode"}], "masks": their count, "legal_ref"}. p NULL: the default.
 * Returns the length written, or 0 when it did not fit (buf then holds a
 * valid prefix, not a document). */
size_t argus_policy_summary(const argus_policy *p, char *buf, size_t size);

ARGUS_END_DECLS
#endif
