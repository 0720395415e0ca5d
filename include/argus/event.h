/*
 * argus events: the typed messages the stages of the live pipeline exchange
 * on the bus (docs/bus.md, docs/pipeline.md).
 *
 *   edge  --face-->  match  --alert.raised-->  store sink  --alert-->  API,
 *                          --face.unmatched-->  (store sink,        CLI, ...
 *                                               when retention is on)
 *   enrolment (gallery hook, store change feed) --watchlist.change--> match
 *
 * An event is immutable once published and reference-counted: on the
 * in-process bus every subscriber that asks for events
 * (argus_bus_sub_options.events) receives the same struct, so nothing is
 * serialised between stages of one process. Subscribers that read JSON
 * (and, later, the NATS backend) get the document argus_event_to_json()
 * writes, which is the wire format between processes: it carries the
 * embedding (base64 of little-endian float32) but never image bytes; crops
 * are referred to by the SHA-256 of their JPEG, the key under which the
 * store keeps them (argus_store_crop_read, audited).
 *
 * Ownership: argus_event_*_new returns an event with one reference, owned
 * by the caller; argus_bus_publish_event takes its own references;
 * argus_event_unref drops one (freeing at zero; NULL is fine). Events are
 * allocated once per searched face (a few per second per camera), not per
 * frame.
 */
#ifndef ARGUS_EVENT_H
#define ARGUS_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include "argus/core.h"
#include "argus/export.h"

ARGUS_BEGIN_DECLS

/* Version ("v") of the event documents this argus writes: 2 since face
 * events carry the embedding and crops travel by hash. */
#define ARGUS_EVENT_VERSION 2

#define ARGUS_EVENT_NAME_MAX 128 /* camera, person, watchlist names + NUL */
#define ARGUS_EVENT_ID_MAX 64    /* bus ids + NUL */
#define ARGUS_EVENT_MODEL_MAX 96 /* "name@version" + NUL */
#define ARGUS_EVENT_MAX_DIM 4096

/* Topics of the typed events (the status topics stay JSON documents). */
#define ARGUS_EVENT_TOPIC_FACE "face"
#define ARGUS_EVENT_TOPIC_UNMATCHED "face.unmatched"
#define ARGUS_EVENT_TOPIC_ALERT_RAISED "alert.raised"
#define ARGUS_EVENT_TOPIC_ALERT "alert"
/* A match over threshold that did not become an alert, with the reason in
 * the alert event's `suppressed` ("track": this person was already alerted
 * on this track; "cooldown": alerted on another track of the same camera
 * within the cooldown). Not stored; for operators' and tools' insight. */
#define ARGUS_EVENT_TOPIC_ALERT_SUPPRESSED "alert.suppressed"
#define ARGUS_EVENT_TOPIC_WATCHLIST "watchlist.change"

typedef enum argus_event_type {
  ARGUS_EVENT_FACE = 1,      /* a searched best shot, with its embedding */
  ARGUS_EVENT_ALERT = 2,     /* a match over threshold that became an alert */
  ARGUS_EVENT_UNMATCHED = 3, /* a searched shot that matched nobody (only
                                published when retention is on) */
  ARGUS_EVENT_WATCHLIST = 4, /* enrolment changed */
} argus_event_type;

/* Why the edge asked for a face to be searched. */
typedef enum argus_event_reason {
  ARGUS_EVENT_REASON_EARLY = 1,  /* first good shot of a track */
  ARGUS_EVENT_REASON_BETTER = 2, /* a clearly better shot */
  ARGUS_EVENT_REASON_END = 3,    /* the best shot of a track that ended */
} argus_event_reason;

/* "early", "better", "end" ("?" for anything else). */
const char *argus_event_reason_name(argus_event_reason r);

/* A JPEG the event refers to: its SHA-256 (hex, the store's key) and, in
 * the process that made it, its bytes (NULL/0 once decoded from JSON). */
typedef struct argus_event_image {
  char sha256[65]; /* "" when there is none */
  const uint8_t *data;
  size_t size;
  int width, height;
} argus_event_image;

typedef struct argus_event_face {
  char camera[ARGUS_EVENT_NAME_MAX];
  int64_t wall_ns;    /* capture, UTC */
  uint64_t mono_ns;   /* capture of the frame that triggered the search,
                        on argus_time_ns() (the latency clock; this process
                        only, 0 when decoded from JSON) */
  double media_time;  /* the camera's time line, seconds */
  uint64_t track;     /* the edge tracker's id (per camera) */
  double track_start; /* media time the track was first seen (NAN: unknown;
                         JSON "track_start", null when unknown) */
  argus_event_reason reason;
  float quality;
  float box[4]; /* x1, y1, x2, y2 in frame pixels */
  int frame_w, frame_h;
  char model[ARGUS_EVENT_MODEL_MAX]; /* the embedder's model id */
  int dim;
  const float *embedding; /* dim floats, L2-normalised */
  argus_event_image crop; /* the aligned face (JPEG) */
  /* Split roles (NATS): where the crop's bytes can be asked for when the
   * face event did not carry them -- the publishing edge's request subject
   * ("argus.crop.<edge>", JSON "crop_at"); "" otherwise. The bus asks for
   * the crop only when an alert (or a kept unmatched face) is published for
   * the face, so that non-matching faces never send their image
   * (docs/scale.md, "What travels"). */
  char crop_source[ARGUS_EVENT_ID_MAX];
  /* The frame thumbnail with the face's box drawn, as packed RGB8 pixels
   * (this process only; NULL when none or decoded). It is encoded to JPEG
   * only by a sink that stores the face (an alert), so a face that matches
   * nobody costs no thumbnail encoding. */
  const uint8_t *thumb_rgb;
  int thumb_w, thumb_h;
} argus_event_face;

typedef struct argus_event_alert {
  char face_id[ARGUS_EVENT_ID_MAX]; /* the face event it came from */
  const struct argus_event *face;   /* that event, referenced (this process
                                       only; NULL when decoded) */
  char camera[ARGUS_EVENT_NAME_MAX];
  int64_t wall_ns;
  uint64_t mono_ns;
  double media_time;
  uint64_t track;
  float quality;
  float box[4];
  int64_t person_id, watchlist_id;
  char person[ARGUS_EVENT_NAME_MAX];
  char watchlist[ARGUS_EVENT_NAME_MAX];
  float score, threshold;
  /* The enrolled photo whose template matched best (0: unknown; JSON
   * "photo_id", null when unknown) and the track's first-seen media time
   * (copied from the face event; NAN: unknown; JSON "track_start"). */
  int64_t photo_id;
  double track_start;
  /* Set by the store sink on the stored alert (topic "alert"): the store's
   * id (0: the database refused it; the alert is still published). */
  int64_t alert_id;
  char crop_sha256[65], thumb_sha256[65];
  double latency_ms; /* capture -> publication of the stored alert */
  /* "" for an alert; on topic alert.suppressed, why the match was not
   * alerted: "track" or "cooldown" (JSON member "suppressed"). */
  char suppressed[16];
  /* 0: one shot cleared the threshold; n >= 2: the score is the mean over
   * the track's n searched shots (score fusion; JSON "fused_shots"). */
  int fused_shots;
  /* The raising matcher's cooldown, seconds (0: none; JSON "cooldown",
   * absent when 0): a store sink fed by several matchers (split roles)
   * does not store an alert of a person on a camera where another matcher
   * alerted that person within it. */
  double cooldown;
} argus_event_alert;

typedef struct argus_event_unmatched {
  char face_id[ARGUS_EVENT_ID_MAX];
  const struct argus_event *face; /* referenced; NULL when decoded */
  float best_score;               /* best candidate's score (-1: none) */
  double retention;               /* seconds to keep it */
} argus_event_unmatched;

typedef enum argus_event_change {
  ARGUS_EVENT_CHANGE_PERSON = 1,    /* a person added, changed or removed */
  ARGUS_EVENT_CHANGE_WATCHLIST = 2, /* a watchlist created/changed/removed */
  ARGUS_EVENT_CHANGE_ALL = 3,       /* anything: reload everything */
} argus_event_change;

typedef struct argus_event_watchlist {
  argus_event_change what;
  int64_t seq; /* the store's change-feed sequence (0: unknown) */
  int64_t person_id;
  int64_t watchlist_id;
  char watchlist[ARGUS_EVENT_NAME_MAX];
  char action[32]; /* "person.add", "person.remove", ... */
} argus_event_watchlist;

typedef struct argus_event {
  argus_event_type type;
  int version;                 /* ARGUS_EVENT_VERSION, or what was decoded */
  char id[ARGUS_EVENT_ID_MAX]; /* the bus id it was published with */
  union {
    argus_event_face face;
    argus_event_alert alert;
    argus_event_unmatched unmatched;
    argus_event_watchlist watchlist;
  } u;
} argus_event;

/* A face event with room for dim floats, the crop JPEG (crop_size bytes)
 * and the thumbnail's pixels (thumb_size bytes: thumb_w * thumb_h * 3),
 * copied in by the caller through the returned pointers (*emb, *crop,
 * *thumb may be NULL when not wanted). Errors: INVALID_ARG (dim outside
 * 1..ARGUS_EVENT_MAX_DIM), NOMEM. */
argus_err argus_event_face_new(int dim, size_t crop_size, size_t thumb_size,
                               argus_event **out, float **emb, uint8_t **crop,
                               uint8_t **thumb);
/* An alert or unmatched event of `face` (a face event; referenced until the
 * new event is freed; NULL is allowed for events made from JSON), or a
 * watchlist change. Fields other than the reference are the caller's to
 * fill. Errors: INVALID_ARG, NOMEM. */
argus_err argus_event_new(argus_event_type type, const argus_event *face,
                          argus_event **out);
/* A copy of an alert event (same face reference), e.g. for the store sink
 * to add the store's id. Errors: INVALID_ARG, NOMEM. */
argus_err argus_event_clone(const argus_event *ev, argus_event **out);
/* Reference counting (thread-safe). unref accepts NULL. */
void argus_event_ref(const argus_event *ev);
void argus_event_unref(const argus_event *ev);

/* Writes the event's JSON document (topic-independent) into buf (cap
 * bytes); *len receives its length. Errors: INVALID_ARG, LIMIT (does not
 * fit). */
argus_err argus_event_to_json(const argus_event *ev, char *buf, size_t cap,
                              size_t *len);
/* argus_event_to_json, plus what a process elsewhere needs (the wire form
 * of split roles, docs/scale.md): a face's crop JPEG ("crop_jpeg", base64,
 * when at most 24 KiB) and an alert's face event ("face": its members,
 * with the embedding as the probe, and the crop; "face_event": its id).
 * argus_event_from_json reads both forms. Errors as argus_event_to_json. */
argus_err argus_event_to_wire(const argus_event *ev, char *buf, size_t cap,
                              size_t *len);
/* Writes an alert's members (not the braces, "v" or "type") into j, with
 * `crop` and `thumb` as the values of "crop" and "thumb" (NULL: null): the
 * hashes in the event document, the store's file paths in `argus watch
 * --json`. */
void argus_event_alert_json(const argus_event_alert *a, const char *crop,
                            const char *thumb, argus_json *j);

/* Parses a document written by argus_event_to_json (of this or an earlier
 * version where the fields exist) into a new event (one reference; the
 * embedding, and the crop of a wire document, are owned by the event; a
 * thumbnail is never carried). Errors:
 * CORRUPT (not such a document; err says what), UNSUPPORTED (a newer
 * version), NOMEM. */
argus_err argus_event_from_json(const char *json, size_t len, argus_event **out,
                                argus_error_detail *err);

ARGUS_END_DECLS
#endif
