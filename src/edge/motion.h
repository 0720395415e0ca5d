/* Motion-gated detection: where in a frame the detector has to look.
 *
 * Each analysed frame's luma plane is reduced to the means of its 8x8
 * blocks (a 1080p frame: 240 x 135 bytes, read once). A block moved when
 * its mean differs from the previous analysed frame's by more than a
 * threshold; the detector then runs only on a window around the moving
 * blocks and the live tracks' predicted boxes, at the scale of the whole
 * frame's pass, so a face is seen at the same size either way. A frame
 * with nothing moving and no live track is not searched at all, and the
 * whole frame is searched at least every `refresh` seconds of media time
 * (someone who stopped before the detector saw them is still found).
 *
 * The window lies on the whole pass's 32 px network grid (the detector then
 * sees a face in it exactly as in the whole frame) and its size is one of a
 * few buckets, so that the detector's per-shape sessions stay cached
 * (src/face/session.c keeps 8).
 * Nothing here allocates after edge_motion_reset has sized the grid. */
#ifndef ARGUS_EDGE_MOTION_H
#define ARGUS_EDGE_MOTION_H

#include <stddef.h>
#include <stdint.h>

#define EDGE_MOTION_BLOCK 8

/* What the detector does with a frame. */
typedef enum edge_motion_plan {
  EDGE_MOTION_SKIP = 0,   /* nothing to look at */
  EDGE_MOTION_REGION = 1, /* the window in edge_motion_decision.win */
  EDGE_MOTION_FULL = 2,   /* the whole frame */
} edge_motion_plan;

typedef struct edge_motion_params {
  int threshold;  /* block mean change that counts as motion (luma levels) */
  int min_blocks; /* fewer moving blocks than this are noise */
  double refresh; /* whole-frame search at least this often (media s) */
  /* The detector's whole-frame pass: its input (padding included) and the
   * frame's part of it, network px (0: windows not used, only skips). */
  int net_w, net_h, content_w, content_h;
  double dt; /* seconds to the next analysed frame (1 / fps) */
} edge_motion_params;

/* A live track's box at the tracker's current time and its velocity. */
typedef struct edge_motion_track {
  float box[4]; /* x1, y1, x2, y2, frame px */
  float vel[2]; /* centre, px per second */
} edge_motion_track;

typedef struct edge_motion_decision {
  edge_motion_plan plan;
  int win[4]; /* REGION: x, y, width, height in the whole pass's network
                    px, multiples of 32 (argus_face_detect_opts.window) */
  int moving; /* blocks that moved */
  float area; /* fraction of the frame searched: 0, 1 or the window's */
} edge_motion_decision;

/* Per camera: the previous analysed frame's block means. */
typedef struct edge_motion {
  int fw, fh;   /* frame size the grid is for (0: none yet) */
  int gw, gh;   /* blocks */
  uint8_t *ref; /* gw * gh means of the previous frame */
  int have_ref;
  double last_full; /* media time of the last whole-frame search */
  int have_full;
} edge_motion;

/* Sizes m for w x h frames (allocates the grid once per size; keeps it
 * when the size is unchanged) and forgets the previous frame. Returns 0, or
 * -1 when out of memory (m is then empty). */
int edge_motion_reset(edge_motion *m, int w, int h);
void edge_motion_free(edge_motion *m);

/* Block means of a w x h luma plane into out[gh][gw] (gw = w / 8,
 * gh = h / 8; the partial blocks at the right and bottom are left out). */
void edge_motion_blocks(const uint8_t *y, size_t stride, int w, int h,
                        uint8_t *out);

/* Compares `blocks` (this frame's means, sized by edge_motion_reset for
 * the frame's w x h) with the previous frame's, makes them the reference,
 * and decides what to search given the live tracks. media_time is the
 * frame's. */
void edge_motion_decide(edge_motion *m, const uint8_t *blocks,
                        double media_time, const edge_motion_track *tracks,
                        int ntracks, const edge_motion_params *p,
                        edge_motion_decision *out);

#endif
