/* Typed pipeline events: allocation with reference counts, and their JSON
 * form (the wire format between processes). See include/argus/event.h. */
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "argus/event.h"
#include "bus/bus_internal.h"

/* The allocation behind an event: the count, then the event, then its
 * trailing data (a face event's embedding and JPEGs). */
typedef struct ev_block {
  _Atomic int refs;
  int pad;
  argus_event ev;
  /* trailing data, 16-byte aligned */
} ev_block;

#define EV_OFF ((offsetof(ev_block, ev) + sizeof(argus_event) + 15) & ~15ul)

static ev_block *block_of(const argus_event *ev) {
  return (ev_block *)((char *)ev - offsetof(ev_block, ev));
}

const char *argus_event_reason_name(argus_event_reason r) {
  switch (r) {
  case ARGUS_EVENT_REASON_EARLY:
    return "early";
  case ARGUS_EVENT_REASON_BETTER:
    return "better";
  case ARGUS_EVENT_REASON_END:
    return "end";
  }
  return "?";
}

static argus_event *ev_alloc(size_t extra) {
  ev_block *b = malloc(EV_OFF + extra);
  if (!b)
    return NULL;
  memset(b, 0, EV_OFF);
  atomic_init(&b->refs, 1);
  b->ev.version = ARGUS_EVENT_VERSION;
  return &b->ev;
}

argus_err argus_event_face_new(int dim, size_t crop_size, size_t thumb_size,
                               argus_event **out, float **emb, uint8_t **crop,
                               uint8_t **thumb) {
  if (!out || dim < 1 || dim > ARGUS_EVENT_MAX_DIM ||
      crop_size > ((size_t)64 << 20) || thumb_size > ((size_t)64 << 20))
    return ARGUS_E_INVALID_ARG;
  *out = NULL;
  size_t fbytes = ((size_t)dim * sizeof(float) + 15) & ~(size_t)15;
  argus_event *ev = ev_alloc(fbytes + crop_size + thumb_size);
  if (!ev)
    return ARGUS_E_NOMEM;
  ev->type = ARGUS_EVENT_FACE;
  unsigned char *tail = (unsigned char *)block_of(ev) + EV_OFF;
  argus_event_face *f = &ev->u.face;
  f->track_start = NAN;
  f->dim = dim;
  f->embedding = (const float *)tail;
  f->crop.data = crop_size ? tail + fbytes : NULL;
  f->crop.size = crop_size;
  f->thumb_rgb = thumb_size ? tail + fbytes + crop_size : NULL;
  if (emb)
    *emb = (float *)tail;
  if (crop)
    *crop = (uint8_t *)f->crop.data;
  if (thumb)
    *thumb = (uint8_t *)f->thumb_rgb;
  *out = ev;
  return ARGUS_OK;
}

argus_err argus_event_new(argus_event_type type, const argus_event *face,
                          argus_event **out) {
  if (!out || (face && face->type != ARGUS_EVENT_FACE) ||
      (type != ARGUS_EVENT_ALERT && type != ARGUS_EVENT_UNMATCHED &&
       type != ARGUS_EVENT_WATCHLIST) ||
      (type == ARGUS_EVENT_WATCHLIST && face))
    return ARGUS_E_INVALID_ARG;
  argus_event *ev = ev_alloc(0);
  if (!ev)
    return ARGUS_E_NOMEM;
  ev->type = type;
  if (type == ARGUS_EVENT_ALERT)
    ev->u.alert.track_start = NAN;
  if (face) {
    argus_event_ref(face);
    if (type == ARGUS_EVENT_ALERT) {
      argus_event_alert *a = &ev->u.alert;
      const argus_event_face *f = &face->u.face;
      a->face = face;
      snprintf(a->face_id, sizeof a->face_id, "%s", face->id);
      memcpy(a->camera, f->camera, sizeof a->camera);
      a->wall_ns = f->wall_ns;
      a->mono_ns = f->mono_ns;
      a->media_time = f->media_time;
      a->track = f->track;
      a->track_start = f->track_start;
      a->quality = f->quality;
      memcpy(a->box, f->box, sizeof a->box);
      memcpy(a->crop_sha256, f->crop.sha256, sizeof a->crop_sha256);
    } else {
      ev->u.unmatched.face = face;
      snprintf(ev->u.unmatched.face_id, sizeof ev->u.unmatched.face_id, "%s",
               face->id);
    }
  }
  *out = ev;
  return ARGUS_OK;
}

argus_err argus_event_clone(const argus_event *ev, argus_event **out) {
  if (!ev || !out || ev->type == ARGUS_EVENT_FACE)
    return ARGUS_E_INVALID_ARG;
  argus_event *c = ev_alloc(0);
  if (!c)
    return ARGUS_E_NOMEM;
  ev_block *b = block_of(c);
  b->ev = *ev;
  const argus_event *face = ev->type == ARGUS_EVENT_ALERT ? ev->u.alert.face
                            : ev->type == ARGUS_EVENT_UNMATCHED
                                ? ev->u.unmatched.face
                                : NULL;
  if (face)
    argus_event_ref(face);
  *out = c;
  return ARGUS_OK;
}

void argus_event_ref(const argus_event *ev) {
  if (ev)
    atomic_fetch_add(&block_of(ev)->refs, 1);
}

void argus_event_unref(const argus_event *ev) {
  if (!ev)
    return;
  ev_block *b = block_of(ev);
  if (atomic_fetch_sub(&b->refs, 1) != 1)
    return;
  if (ev->type == ARGUS_EVENT_ALERT)
    argus_event_unref(ev->u.alert.face);
  else if (ev->type == ARGUS_EVENT_UNMATCHED)
    argus_event_unref(ev->u.unmatched.face);
  free(b);
}

/* ---- JSON ----------------------------------------------------------------- */

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Base64 of n bytes into out (4 * ceil(n / 3) + 1 bytes). */
static size_t b64_encode(const unsigned char *in, size_t n, char *out) {
  size_t o = 0, i = 0;
  for (; i + 2 < n; i += 3) {
    uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
    out[o++] = b64[v >> 18];
    out[o++] = b64[(v >> 12) & 63];
    out[o++] = b64[(v >> 6) & 63];
    out[o++] = b64[v & 63];
  }
  if (i < n) {
    uint32_t v = (uint32_t)in[i] << 16;
    if (i + 1 < n)
      v |= (uint32_t)in[i + 1] << 8;
    out[o++] = b64[v >> 18];
    out[o++] = b64[(v >> 12) & 63];
    out[o++] = i + 1 < n ? b64[(v >> 6) & 63] : '=';
    out[o++] = '=';
  }
  out[o] = '\0';
  return o;
}

static int b64_val(int c) {
  if (c >= 'A' && c <= 'Z')
    return c - 'A';
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 26;
  if (c >= '0' && c <= '9')
    return c - '0' + 52;
  if (c == '+')
    return 62;
  if (c == '/')
    return 63;
  return -1;
}

/* Decodes exactly `want` bytes; returns 0 on success. */
static int b64_decode(const char *s, unsigned char *out, size_t want) {
  size_t n = strlen(s), o = 0;
  if (n % 4 != 0 || n / 4 * 3 < want || n / 4 * 3 > want + 2)
    return -1;
  for (size_t i = 0; i < n; i += 4) {
    int v[4];
    int last = i + 4 == n;
    if (last && s[i + 2] == '=' && s[i + 3] != '=')
      return -1; /* "AA=A" */
    for (int k = 0; k < 4; k++) {
      v[k] = s[i + k] == '=' && last && k >= 2 ? 0 : b64_val(s[i + k]);
      if (v[k] < 0)
        return -1;
    }
    uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 |
                 (uint32_t)v[2] << 6 | (uint32_t)v[3];
    unsigned char b[3] = {(unsigned char)(w >> 16), (unsigned char)(w >> 8),
                          (unsigned char)w};
    for (int k = 0; k < 3 && o < want; k++)
      out[o++] = b[k];
  }
  return o == want ? 0 : -1;
}

static void json_box(argus_json *j, const char *key, const float box[4]) {
  argus_json_arr_begin(j, key);
  for (int i = 0; i < 4; i++)
    argus_json_num(j, NULL, box[i], 1);
  argus_json_arr_end(j);
}

static void json_image(argus_json *j, const char *key,
                       const argus_event_image *im) {
  argus_json_str(j, key, im->sha256[0] ? im->sha256 : NULL);
}

/* A media time, or null when unknown (NAN). */
static void json_time_or_null(argus_json *j, const char *key, double t) {
  if (isfinite(t))
    argus_json_num(j, key, t, 3);
  else
    argus_json_null(j, key);
}

/* Largest crop JPEG a wire document carries (argus_event_to_wire). */
#define WIRE_CROP_MAX ((size_t)24 << 10)

int bus_crop_subject_ok(const char *s) {
  static const char pre[] = "argus.crop.";
  if (!s || strncmp(s, pre, sizeof pre - 1) != 0)
    return 0;
  size_t n = 0;
  for (const char *p = s + sizeof pre - 1; *p; p++, n++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
          (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'))
      return 0;
  return n >= 1 && n <= 40;
}

/* wire: 0 the plain document, 1 the wire form; w: its crop choices (NULL:
 * carry what the event has). extra_crop: bytes of a crop the event lacks
 * (an alert's face fetched from its edge). */
static void json_face(argus_json *j, const argus_event_face *f, int wire,
                      const char *crop_at, const uint8_t *extra_crop,
                      size_t extra_size) {
  char t[ARGUS_RFC3339_MAX];
  argus_rfc3339(f->wall_ns, t);
  argus_json_str(j, "camera", f->camera);
  argus_json_str(j, "time", t);
  argus_json_num(j, "media_time", f->media_time, 3);
  argus_json_uint(j, "track", f->track);
  json_time_or_null(j, "track_start", f->track_start);
  argus_json_str(j, "reason", argus_event_reason_name(f->reason));
  argus_json_num(j, "quality", f->quality, 3);
  json_box(j, "box", f->box);
  argus_json_int(j, "frame_w", f->frame_w);
  argus_json_int(j, "frame_h", f->frame_h);
  json_image(j, "crop_sha256", &f->crop);
  argus_json_str(j, "model", f->model);
  argus_json_int(j, "dim", f->dim);
  /* Little-endian float32 (every target argus builds for). */
  static _Thread_local char enc[(ARGUS_EVENT_MAX_DIM * 4 + 2) / 3 * 4 + 1];
  size_t n = f->embedding && f->dim > 0
                 ? b64_encode((const unsigned char *)f->embedding,
                              (size_t)f->dim * sizeof(float), enc)
                 : 0;
  argus_json_strn(j, "embedding", enc, n);
  if (!wire)
    return;
  const uint8_t *crop = f->crop.data ? f->crop.data : extra_crop;
  size_t crop_size = f->crop.data ? f->crop.size : extra_size;
  if (crop && crop_size > 0 && crop_size <= WIRE_CROP_MAX && !crop_at) {
    static _Thread_local char cenc[(WIRE_CROP_MAX + 2) / 3 * 4 + 1];
    size_t cn = b64_encode(crop, crop_size, cenc);
    argus_json_strn(j, "crop_jpeg", cenc, cn);
  } else if (crop_at) {
    argus_json_str(j, "crop_at", crop_at);
  } else if (f->crop_source[0]) {
    argus_json_str(j, "crop_at", f->crop_source);
  }
}

static void json_alert(argus_json *j, const argus_event_alert *a, int wire,
                       const bus_wire_crop *w) {
  argus_event_alert_json(a, a->crop_sha256[0] ? a->crop_sha256 : NULL,
                         a->thumb_sha256[0] ? a->thumb_sha256 : NULL, j);
  if (wire && a->face) {
    argus_json_str(j, "face_event", a->face->id);
    argus_json_obj_begin(j, "face");
    json_face(j, &a->face->u.face, 1, NULL, w ? w->face_crop : NULL,
              w ? w->face_crop_size : 0);
    argus_json_obj_end(j);
  }
}

void argus_event_alert_json(const argus_event_alert *a, const char *crop,
                            const char *thumb, argus_json *j) {
  char t[ARGUS_RFC3339_MAX];
  argus_rfc3339(a->wall_ns, t);
  if (a->alert_id > 0)
    argus_json_int(j, "id", a->alert_id);
  else
    argus_json_null(j, "id");
  argus_json_str(j, "face_id", a->face_id);
  argus_json_str(j, "camera", a->camera);
  argus_json_str(j, "time", t);
  argus_json_num(j, "media_time", a->media_time, 3);
  argus_json_uint(j, "track", a->track);
  argus_json_str(j, "watchlist", a->watchlist);
  argus_json_str(j, "person", a->person);
  argus_json_num(j, "score", a->score, 4);
  argus_json_str(j, "crop", crop);
  argus_json_str(j, "thumb", thumb);
  argus_json_int(j, "person_id", a->person_id);
  argus_json_int(j, "watchlist_id", a->watchlist_id);
  argus_json_num(j, "threshold", a->threshold, 4);
  if (a->photo_id > 0)
    argus_json_int(j, "photo_id", a->photo_id);
  else
    argus_json_null(j, "photo_id");
  json_time_or_null(j, "track_start", a->track_start);
  argus_json_num(j, "quality", a->quality, 3);
  json_box(j, "box", a->box);
  if (a->latency_ms > 0)
    argus_json_num(j, "latency_ms", a->latency_ms, 1);
  if (a->suppressed[0])
    argus_json_str(j, "suppressed", a->suppressed);
  if (a->fused_shots > 0)
    argus_json_int(j, "fused_shots", a->fused_shots);
  if (a->cooldown > 0)
    argus_json_num(j, "cooldown", a->cooldown, 3);
}

static const char *type_name(argus_event_type t) {
  switch (t) {
  case ARGUS_EVENT_FACE:
    return "face";
  case ARGUS_EVENT_ALERT:
    return "alert";
  case ARGUS_EVENT_UNMATCHED:
    return "face.unmatched";
  case ARGUS_EVENT_WATCHLIST:
    return "watchlist.change";
  }
  return NULL;
}

static const char *change_name(argus_event_change c) {
  switch (c) {
  case ARGUS_EVENT_CHANGE_PERSON:
    return "person";
  case ARGUS_EVENT_CHANGE_WATCHLIST:
    return "watchlist";
  case ARGUS_EVENT_CHANGE_ALL:
    break;
  }
  return "all";
}

static argus_err event_json(const argus_event *ev, char *buf, size_t cap,
                            size_t *len, int wire, const bus_wire_crop *w);

argus_err argus_event_to_json(const argus_event *ev, char *buf, size_t cap,
                              size_t *len) {
  return event_json(ev, buf, cap, len, 0, NULL);
}

argus_err argus_event_to_wire(const argus_event *ev, char *buf, size_t cap,
                              size_t *len) {
  return event_json(ev, buf, cap, len, 1, NULL);
}

argus_err bus_event_wire(const argus_event *ev, const bus_wire_crop *w,
                         char *buf, size_t cap, size_t *len) {
  return event_json(ev, buf, cap, len, 1, w);
}

static argus_err event_json(const argus_event *ev, char *buf, size_t cap,
                            size_t *len, int wire, const bus_wire_crop *w) {
  if (len)
    *len = 0;
  if (!ev || !buf || cap < 2 || !type_name(ev->type))
    return ARGUS_E_INVALID_ARG;
  argus_json j;
  argus_json_init(&j, buf, cap);
  argus_json_obj_begin(&j, NULL);
  argus_json_int(&j, "v", ARGUS_EVENT_VERSION);
  argus_json_str(&j, "type", type_name(ev->type));
  switch (ev->type) {
  case ARGUS_EVENT_FACE:
    json_face(&j, &ev->u.face, wire, w ? w->crop_at : NULL, NULL, 0);
    break;
  case ARGUS_EVENT_ALERT:
    json_alert(&j, &ev->u.alert, wire, w);
    break;
  case ARGUS_EVENT_UNMATCHED:
    argus_json_str(&j, "face_id", ev->u.unmatched.face_id);
    argus_json_num(&j, "best_score", ev->u.unmatched.best_score, 4);
    argus_json_num(&j, "retention", ev->u.unmatched.retention, 1);
    if (ev->u.unmatched.face)
      json_face(&j, &ev->u.unmatched.face->u.face, wire, NULL,
                w ? w->face_crop : NULL, w ? w->face_crop_size : 0);
    break;
  case ARGUS_EVENT_WATCHLIST: {
    const argus_event_watchlist *wl = &ev->u.watchlist;
    argus_json_str(&j, "what", change_name(wl->what));
    argus_json_str(&j, "action", wl->action[0] ? wl->action : NULL);
    argus_json_str(&j, "watchlist", wl->watchlist[0] ? wl->watchlist : NULL);
    argus_json_int(&j, "watchlist_id", wl->watchlist_id);
    argus_json_int(&j, "person_id", wl->person_id);
    argus_json_int(&j, "seq", wl->seq);
    break;
  }
  }
  argus_json_obj_end(&j);
  size_t n = argus_json_finish(&j);
  if (!n)
    return ARGUS_E_LIMIT;
  if (len)
    *len = n;
  return ARGUS_OK;
}

/* ---- parsing -------------------------------------------------------------- */

static argus_err bad(argus_error_detail *err, const char *what) {
  argus_error_detail_set(err, "event document: %s", what);
  return ARGUS_E_CORRUPT;
}

static int get_str(const cJSON *o, const char *k, char *out, size_t cap) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
  if (!cJSON_IsString(v) || strlen(v->valuestring) >= cap)
    return -1;
  memcpy(out, v->valuestring, strlen(v->valuestring) + 1);
  return 0;
}

/* An optional string: "" when absent or null. */
static int opt_str(const cJSON *o, const char *k, char *out, size_t cap) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
  out[0] = '\0';
  if (!v || cJSON_IsNull(v))
    return 0;
  return get_str(o, k, out, cap);
}

static int get_num(const cJSON *o, const char *k, double *out) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
  if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
    return -1;
  *out = v->valuedouble;
  return 0;
}

static int get_box(const cJSON *o, float box[4]) {
  const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, "box");
  if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != 4)
    return -1;
  for (int i = 0; i < 4; i++) {
    const cJSON *v = cJSON_GetArrayItem(a, i);
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
      return -1;
    box[i] = (float)v->valuedouble;
  }
  return 0;
}

static int get_time(const cJSON *o, int64_t *wall_ns) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "time");
  return cJSON_IsString(v) &&
                 argus_rfc3339_parse(v->valuestring, wall_ns) == ARGUS_OK
             ? 0
             : -1;
}

/* A whole number in [lo, hi] (absent: *out = dflt, and 0 unless
 * required). Returns 0, or -1 when missing (required), not a number, not
 * whole or out of range: documents come from other processes. */
static int get_int(const cJSON *o, const char *k, int required, double lo,
                   double hi, int64_t dflt, int64_t *out) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
  if (!v || cJSON_IsNull(v)) {
    *out = dflt;
    return required ? -1 : 0;
  }
  double d = v->valuedouble;
  if (!cJSON_IsNumber(v) || !isfinite(d) || d != floor(d) || d < lo || d > hi)
    return -1;
  *out = (int64_t)d;
  return 0;
}

/* 2^53: the largest range a JSON number carries exactly. */
#define EV_ID_MAX 9007199254740992.0

static int reason_of(const char *s, argus_event_reason *out) {
  if (strcmp(s, "early") == 0)
    *out = ARGUS_EVENT_REASON_EARLY;
  else if (strcmp(s, "better") == 0)
    *out = ARGUS_EVENT_REASON_BETTER;
  else if (strcmp(s, "end") == 0)
    *out = ARGUS_EVENT_REASON_END;
  else
    return -1;
  return 0;
}

/* The face fields of o into the face event *ev (made here). */
static argus_err parse_face(const cJSON *o, argus_event **out,
                            argus_error_detail *err) {
  int64_t dim = 0;
  if (get_int(o, "dim", 1, 1, ARGUS_EVENT_MAX_DIM, 0, &dim))
    return bad(err, "face: \"dim\" missing or out of range");
  const cJSON *e = cJSON_GetObjectItemCaseSensitive(o, "embedding");
  if (!cJSON_IsString(e))
    return bad(err, "face: \"embedding\" missing");
  /* The crop JPEG of a wire document (argus_event_to_wire). */
  const cJSON *cj = cJSON_GetObjectItemCaseSensitive(o, "crop_jpeg");
  size_t crop_n = 0;
  if (cj) {
    size_t sl = cJSON_IsString(cj) ? strlen(cj->valuestring) : 1;
    if (sl % 4 != 0 || sl / 4 * 3 > WIRE_CROP_MAX + 2)
      return bad(err, "face: \"crop_jpeg\" is not base64 of at most 24 KiB");
    crop_n = sl / 4 * 3;
    if (sl >= 1 && cj->valuestring[sl - 1] == '=')
      crop_n--;
    if (sl >= 2 && cj->valuestring[sl - 2] == '=')
      crop_n--;
  }
  argus_event *ev = NULL;
  float *emb = NULL;
  uint8_t *crop = NULL;
  argus_err rc =
      argus_event_face_new((int)dim, crop_n, 0, &ev, &emb, &crop, NULL);
  if (rc)
    return rc;
  argus_event_face *f = &ev->u.face;
  if (crop_n && b64_decode(cj->valuestring, crop, crop_n)) {
    argus_event_unref(ev);
    return bad(err, "face: \"crop_jpeg\" is not base64");
  }
  double mt = 0, q = 0;
  int64_t tr = 0, fw = 0, fh = 0;
  char reason[16] = "";
  const char *why = NULL;
  if (b64_decode(e->valuestring, (unsigned char *)emb,
                 (size_t)dim * sizeof(float)))
    why = "face: \"embedding\" is not base64 of dim float32";
  else if (get_str(o, "camera", f->camera, sizeof f->camera))
    why = "face: \"camera\" missing or too long";
  else if (get_time(o, &f->wall_ns))
    why = "face: \"time\" missing or not RFC 3339";
  else if (get_num(o, "media_time", &mt) || get_num(o, "quality", &q))
    why = "face: \"media_time\" or \"quality\" missing";
  else if (get_int(o, "track", 1, 0, EV_ID_MAX, 0, &tr))
    why = "face: \"track\" missing or not a whole number in range";
  else if (get_int(o, "frame_w", 0, 0, 65536, 0, &fw) ||
           get_int(o, "frame_h", 0, 0, 65536, 0, &fh))
    why = "face: \"frame_w\" or \"frame_h\" out of range";
  else if (get_box(o, f->box))
    why = "face: \"box\" is not 4 numbers";
  else if (get_str(o, "model", f->model, sizeof f->model))
    why = "face: \"model\" missing or too long";
  else if (opt_str(o, "crop_sha256", f->crop.sha256, sizeof f->crop.sha256))
    why = "face: \"crop_sha256\" is not a string";
  else if (opt_str(o, "crop_at", f->crop_source, sizeof f->crop_source) ||
           (f->crop_source[0] && (!bus_crop_subject_ok(f->crop_source) ||
                                  crop_n > 0 || !f->crop.sha256[0])))
    why = "face: \"crop_at\" is not a crop request subject "
          "(argus.crop.NAME) of a face with a crop_sha256 and no crop_jpeg";
  else if (get_str(o, "reason", reason, sizeof reason) ||
           reason_of(reason, &f->reason))
    why = "face: \"reason\" is not early, better or end";
  if (why) {
    argus_event_unref(ev);
    return bad(err, why);
  }
  for (int i = 0; i < (int)dim; i++)
    if (!isfinite(emb[i])) {
      argus_event_unref(ev);
      return bad(err, "face: the embedding has a non-finite value");
    }
  f->media_time = mt;
  f->track = (uint64_t)tr;
  double ts = NAN;
  f->track_start = get_num(o, "track_start", &ts) == 0 ? ts : NAN;
  f->quality = (float)q;
  f->frame_w = (int)fw;
  f->frame_h = (int)fh;
  *out = ev;
  return ARGUS_OK;
}

static argus_err parse_alert(const cJSON *o, argus_event **out,
                             argus_error_detail *err) {
  /* A wire document carries the face it came from: its embedding (the
   * probe) and crop, for a store sink in another process. */
  argus_event *face = NULL;
  const cJSON *fo = cJSON_GetObjectItemCaseSensitive(o, "face");
  if (fo && cJSON_IsObject(fo)) {
    argus_err frc = parse_face(fo, &face, err);
    if (frc)
      return frc;
    const cJSON *fid = cJSON_GetObjectItemCaseSensitive(o, "face_event");
    if (cJSON_IsString(fid))
      snprintf(face->id, sizeof face->id, "%s", fid->valuestring);
  }
  argus_event *ev = NULL;
  argus_err rc = argus_event_new(ARGUS_EVENT_ALERT, face, &ev);
  argus_event_unref(face); /* ev holds it */
  if (rc)
    return rc;
  argus_event_alert *a = &ev->u.alert;
  double mt = 0, sc = 0, th = 0, q = 0, lat = 0;
  int64_t tr = 0, pid = 0, wid = 0, id = 0;
  const char *why = NULL;
  if (get_str(o, "camera", a->camera, sizeof a->camera) ||
      get_str(o, "person", a->person, sizeof a->person) ||
      get_str(o, "watchlist", a->watchlist, sizeof a->watchlist))
    why = "alert: \"camera\", \"person\" or \"watchlist\" missing";
  else if (get_time(o, &a->wall_ns))
    why = "alert: \"time\" missing or not RFC 3339";
  else if (get_num(o, "media_time", &mt) || get_num(o, "score", &sc))
    why = "alert: \"media_time\" or \"score\" missing";
  else if (get_int(o, "track", 1, 0, EV_ID_MAX, 0, &tr) ||
           get_int(o, "person_id", 1, 1, EV_ID_MAX, 0, &pid) ||
           get_int(o, "watchlist_id", 1, 1, EV_ID_MAX, 0, &wid) ||
           get_int(o, "id", 0, 1, EV_ID_MAX, 0, &id))
    why = "alert: \"track\", \"person_id\", \"watchlist_id\" or \"id\" "
          "missing or not a whole number in range";
  else if (opt_str(o, "crop", a->crop_sha256, sizeof a->crop_sha256) ||
           opt_str(o, "thumb", a->thumb_sha256, sizeof a->thumb_sha256) ||
           opt_str(o, "face_id", a->face_id, sizeof a->face_id) ||
           opt_str(o, "suppressed", a->suppressed, sizeof a->suppressed))
    why = "alert: \"crop\", \"thumb\", \"face_id\" or \"suppressed\" is "
          "not a short string";
  if (why) {
    argus_event_unref(ev);
    return bad(err, why);
  }
  get_num(o, "threshold", &th);
  get_num(o, "quality", &q);
  get_num(o, "latency_ms", &lat);
  int64_t fused = 0;
  if (get_int(o, "fused_shots", 0, 0, 1000000, 0, &fused) == 0)
    a->fused_shots = (int)fused;
  double cd = 0;
  if (get_num(o, "cooldown", &cd) == 0 && isfinite(cd) && cd > 0 &&
      cd <= 86400 * 366.0)
    a->cooldown = cd;
  get_box(o, a->box);
  int64_t photo = 0;
  if (get_int(o, "photo_id", 0, 1, EV_ID_MAX, 0, &photo) == 0)
    a->photo_id = photo;
  double ts = NAN;
  a->track_start = get_num(o, "track_start", &ts) == 0 ? ts : NAN;
  a->media_time = mt;
  a->track = (uint64_t)tr;
  a->score = (float)sc;
  a->threshold = (float)th;
  a->quality = (float)q;
  a->latency_ms = lat;
  a->person_id = pid;
  a->watchlist_id = wid;
  a->alert_id = id;
  *out = ev;
  return ARGUS_OK;
}

/* A face.unmatched document: its face fields make the face event it
 * references. */
static argus_err parse_unmatched(const cJSON *o, argus_event **out,
                                 argus_error_detail *err) {
  argus_event *face = NULL;
  argus_err rc = parse_face(o, &face, err);
  if (rc)
    return rc;
  argus_event *ev = NULL;
  rc = argus_event_new(ARGUS_EVENT_UNMATCHED, face, &ev);
  argus_event_unref(face); /* ev holds it now */
  if (rc)
    return rc;
  argus_event_unmatched *u = &ev->u.unmatched;
  double best = -1, ret = 0;
  const char *why = NULL;
  if (opt_str(o, "face_id", u->face_id, sizeof u->face_id))
    why = "face.unmatched: \"face_id\" is not a short string";
  else if (get_num(o, "retention", &ret) || !(ret > 0))
    why = "face.unmatched: \"retention\" missing or not positive";
  if (why) {
    argus_event_unref(ev);
    return bad(err, why);
  }
  get_num(o, "best_score", &best);
  u->best_score = (float)best;
  u->retention = ret;
  *out = ev;
  return ARGUS_OK;
}

static argus_err parse_watchlist(const cJSON *o, argus_event **out,
                                 argus_error_detail *err) {
  argus_event *ev = NULL;
  argus_err rc = argus_event_new(ARGUS_EVENT_WATCHLIST, NULL, &ev);
  if (rc)
    return rc;
  argus_event_watchlist *w = &ev->u.watchlist;
  char what[16] = "";
  if (opt_str(o, "what", what, sizeof what) ||
      opt_str(o, "action", w->action, sizeof w->action) ||
      opt_str(o, "watchlist", w->watchlist, sizeof w->watchlist)) {
    argus_event_unref(ev);
    return bad(err, "watchlist.change: a field is not a short string");
  }
  if (get_int(o, "seq", 0, 0, EV_ID_MAX, 0, &w->seq) ||
      get_int(o, "person_id", 0, 0, EV_ID_MAX, 0, &w->person_id) ||
      get_int(o, "watchlist_id", 0, 0, EV_ID_MAX, 0, &w->watchlist_id)) {
    argus_event_unref(ev);
    return bad(err, "watchlist.change: \"seq\", \"person_id\" or "
                    "\"watchlist_id\" is not a whole number in range");
  }
  /* Version 1 documents said only that something changed. */
  w->what = strcmp(what, "person") == 0 && w->person_id > 0
                ? ARGUS_EVENT_CHANGE_PERSON
            : strcmp(what, "watchlist") == 0 ? ARGUS_EVENT_CHANGE_WATCHLIST
                                             : ARGUS_EVENT_CHANGE_ALL;
  *out = ev;
  return ARGUS_OK;
}

argus_err argus_event_from_json(const char *json, size_t len, argus_event **out,
                                argus_error_detail *err) {
  if (!json || !out)
    return ARGUS_E_INVALID_ARG;
  *out = NULL;
  cJSON *o = cJSON_ParseWithLength(json, len);
  if (!o || !cJSON_IsObject(o)) {
    cJSON_Delete(o);
    return bad(err, "not a JSON object");
  }
  int64_t v = 0;
  char type[32] = "";
  argus_err rc;
  if (get_int(o, "v", 1, 1, 1e9, 0, &v) ||
      get_str(o, "type", type, sizeof type)) {
    rc = bad(err, "no \"v\" (a version from 1) or \"type\"");
  } else if (v > ARGUS_EVENT_VERSION) {
    argus_error_detail_set(err, "event document: version %lld is newer than %d",
                           (long long)v, ARGUS_EVENT_VERSION);
    rc = ARGUS_E_UNSUPPORTED;
  } else if (strcmp(type, "face") == 0) {
    rc = v < 2 ? bad(err, "face: version 1 carries no embedding")
               : parse_face(o, out, err);
  } else if (strcmp(type, "alert") == 0) {
    rc = parse_alert(o, out, err);
  } else if (strcmp(type, "face.unmatched") == 0) {
    rc = parse_unmatched(o, out, err);
  } else if (strcmp(type, "watchlist.change") == 0) {
    rc = parse_watchlist(o, out, err);
  } else {
    argus_error_detail_set(err, "event document: unknown type '%s'", type);
    rc = ARGUS_E_CORRUPT;
  }
  if (rc == ARGUS_OK)
    (*out)->version = (int)v;
  cJSON_Delete(o);
  return rc;
}
