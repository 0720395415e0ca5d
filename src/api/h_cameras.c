/* Cameras on the wire (admin changes them; admin, supervisor and operator
 * see them; the snapshot is admin and operator).
 *
 * A camera is addressed by its numeric id. Its JSON is the store's record
 * (the URL's password never leaves the server: argus_store_url_redact)
 * with "updated" and "status": the live state of the running pipeline's
 * camera (state, connected, last error, rates and counters), null when it
 * does not run (disabled, no pipeline, not started yet). Every change is
 * followed by api_cameras_sync, so that the running pipeline follows the
 * store without a restart.
 *
 * URLs are checked as `argus camera add` takes them, stricter where the
 * server cannot know the caller's folder: rtsp://, rtsps://, http://,
 * https:// with a host; /dev/videoN or v4l2:/dev/videoN; an absolute file
 * path or file:/path without ".." segments. Other protocols are refused.
 * Settings must pass argus_store_camera_settings_parse (known members of
 * the right types only).
 *
 * The snapshot (a JPEG of the camera's current frame) shows faces: it is
 * audited ("camera.snapshot") with the user and the address. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "argus/pipeline.h"
#include "argus/video.h"
#include "h_util.h"

/* Seconds a snapshot waits for the camera's next analysed frame. */
#define SNAPSHOT_WAIT 3.0
#define SNAPSHOT_MAX_WIDTH 8192

/* ---- live status ---------------------------------------------------------- */

/* The pipeline's cameras, fetched once per request. */
typedef struct cam_live {
  argus_pipeline_camera_stats *cams;
  int n;
} cam_live;

static void live_fetch(api_req *r, cam_live *l) {
  l->cams = NULL;
  l->n = 0;
  argus_pipeline *p = api_pipeline(r->srv);
  if (!p)
    return;
  argus_pipeline_stats ps;
  int n = 0;
  if (argus_pipeline_get_stats(p, &ps, NULL, 0, &n) != ARGUS_OK || n <= 0)
    return;
  /* Room for a camera or two started meanwhile. */
  int cap = n + 4;
  l->cams = calloc((size_t)cap, sizeof *l->cams);
  if (!l->cams)
    return;
  if (argus_pipeline_get_stats(p, &ps, l->cams, cap, &n) != ARGUS_OK) {
    free(l->cams);
    l->cams = NULL;
    return;
  }
  l->n = n < cap ? n : cap;
}

/* The running camera of a stored one (NULL: not running). */
static const argus_pipeline_camera_stats *
live_of(api_req *r, const cam_live *l, const argus_store_camera *c) {
  if (!l->cams)
    return NULL;
  int index = api_camera_index(r->srv, c->id);
  if (index < 0)
    return NULL;
  for (int i = 0; i < l->n; i++)
    if (l->cams[i].index == index)
      return &l->cams[i];
  return NULL;
}

static void status_json(const argus_pipeline_camera_stats *c, argus_json *j) {
  if (!c) {
    argus_json_null(j, "status");
    return;
  }
  argus_json_obj_begin(j, "status");
  argus_json_str(j, "state", argus_video_state_name(c->video.state));
  argus_json_bool(j, "connected", c->video.connected);
  argus_json_str(j, "error",
                 c->video.last_error[0] ? c->video.last_error : NULL);
  argus_json_num(j, "fps_in", c->video.fps_in, 2);
  argus_json_num(j, "fps_analysed", c->fps_analysed, 2);
  argus_json_uint(j, "frames_decoded", c->video.frames_decoded);
  argus_json_uint(j, "frames_analysed", c->frames_analysed);
  argus_json_uint(j, "frames_dropped", c->video.frames_dropped);
  argus_json_uint(j, "faces", c->faces);
  argus_json_uint(j, "tracks", c->tracks);
  argus_json_uint(j, "alerts", c->alerts);
  /* The recognition policy (settings "policy"): the mode of the last frame
   * and what it held back. */
  argus_json_str(j, "policy_mode", argus_policy_mode_name(c->policy_mode));
  argus_json_uint(j, "frames_policy_off", c->frames_policy_off);
  argus_json_uint(j, "faces_masked", c->faces_masked);
  argus_json_uint(j, "faces_detect_only", c->faces_detect_only);
  /* Motion gating: analysed frames the detector searched whole, in a
   * window, or not at all, and the share of their area it searched. */
  argus_json_uint(j, "detect_whole", c->det_full);
  argus_json_uint(j, "detect_windows", c->det_window);
  argus_json_uint(j, "detect_skipped", c->det_skipped);
  uint64_t searched = c->det_full + c->det_window + c->det_skipped;
  argus_json_num(j, "detect_area",
                 searched ? c->det_area / (double)searched : 0.0, 3);
  argus_json_obj_end(j);
}

/* ---- JSON ----------------------------------------------------------------- */

/* The store's members (argus_store_camera_json: the URL redacted) with
 * "updated" and "status". */
static void camera_json(const argus_store_camera *c,
                        const argus_pipeline_camera_stats *live,
                        argus_json *j) {
  char red[ARGUS_STORE_TEXT_MAX];
  argus_store_url_redact(c->url, red, sizeof red);
  argus_json_obj_begin(j, NULL);
  argus_json_int(j, "id", c->id);
  argus_json_str(j, "name", c->name);
  argus_json_str(j, "url", red);
  size_t n = strlen(c->settings);
  if (n && argus_json_validate(c->settings, n, 0, NULL) == ARGUS_OK)
    argus_json_raw(j, "settings", c->settings, n);
  else
    argus_json_null(j, "settings");
  argus_json_bool(j, "enabled", c->enabled);
  argus_json_str(j, "created", c->created);
  argus_json_str(j, "updated", c->updated);
  status_json(live, j);
  argus_json_obj_end(j);
}

typedef struct one_doc {
  const argus_store_camera *c;
  const argus_pipeline_camera_stats *live;
} one_doc;

static void one_json(void *user, argus_json *j) {
  const one_doc *d = user;
  camera_json(d->c, d->live, j);
}

/* A listed camera (api_page item; ctx: the page's item_ctx). */
typedef struct item_ctx {
  api_req *r;
  const cam_live *live;
} item_ctx;

static void camera_item(const void *row, void *ctx, argus_json *j) {
  const item_ctx *x = ctx;
  const argus_store_camera *c = row;
  camera_json(c, live_of(x->r, x->live, c), j);
}

/* ---- lookups -------------------------------------------------------------- */

/* The camera of path parameter 0 into *out: 1, or 0 after answering (404
 * for a malformed or unknown id). */
static int camera_of_path(api_req *r, argus_store *st,
                          argus_store_camera *out) {
  argus_store_id id;
  if (!api_param_id(r, 0, "camera", &id))
    return 0;
  argus_store_camera *all = NULL;
  size_t n = 0;
  argus_error_detail err = {{0}};
  argus_err e = argus_store_camera_list(st, &all, &n, &err);
  if (e) {
    api_reply_err(r, e, &err);
    return 0;
  }
  const argus_store_camera *row =
      api_row_find(all, n, sizeof *all, offsetof(argus_store_camera, id), id);
  if (row)
    *out = *row;
  argus_store_free(all);
  return api_found(r, row ? ARGUS_OK : ARGUS_E_NOT_FOUND, NULL, "camera", id);
}

/* Answers a camera as it is stored now (after a change). */
static void reply_camera(api_req *r, argus_store *st, int status,
                         const char *name) {
  argus_store_camera c;
  argus_error_detail err = {{0}};
  argus_err e = argus_store_camera_get(st, name, &c, &err);
  if (e) {
    api_reply_err(r, e, &err);
    return;
  }
  cam_live l;
  live_fetch(r, &l);
  one_doc d = {&c, live_of(r, &l, &c)};
  if (status == 201) {
    char loc[64];
    snprintf(loc, sizeof loc, API_PREFIX "/cameras/%lld", (long long)c.id);
    api_add_header(r, "Location", loc);
  }
  api_reply_json(r, status, one_json, &d);
  free(l.cams);
}

/* ---- input checks --------------------------------------------------------- */

static int has_prefix(const char *s, const char *p) {
  return strncmp(s, p, strlen(p)) == 0;
}

/* 1 when a path holds a ".." segment. */
static int dotdot(const char *path) {
  for (const char *p = path; (p = strstr(p, "..")) != NULL; p += 2) {
    int starts = p == path || p[-1] == '/';
    int ends = p[2] == '\0' || p[2] == '/';
    if (starts && ends)
      return 1;
  }
  return 0;
}

/* A camera URL from a client: NULL when it is acceptable, else what is
 * wrong with it (for "field 'url' ..."). */
static const char *url_problem(const char *url) {
  size_t n = strlen(url);
  if (n == 0)
    return "is empty";
  if (n >= ARGUS_STORE_TEXT_MAX)
    return "is longer than 1023 bytes";
  if (!argus_utf8_valid(url, n))
    return "is not valid UTF-8";
  for (const unsigned char *p = (const unsigned char *)url; *p; p++)
    if (*p <= 0x20 || *p == 0x7f)
      return "contains spaces or control characters";
  switch (argus_video_classify_url(url)) {
  case ARGUS_VIDEO_SOURCE_RTSP:
  case ARGUS_VIDEO_SOURCE_HTTP: {
    const char *host = strstr(url, "://") + 3;
    if (!*host || *host == '/' || *host == '?' || *host == '#' ||
        *host == '@' || *host == ':')
      return "has no host";
    return NULL;
  }
  case ARGUS_VIDEO_SOURCE_V4L2: {
    const char *dev = has_prefix(url, "v4l2:") ? url + 5 : url;
    if (!has_prefix(dev, "/dev/video") || !dev[10])
      return "is not a V4L2 device (/dev/videoN or v4l2:/dev/videoN)";
    for (const char *p = dev + 10; *p; p++)
      if (*p < '0' || *p > '9')
        return "is not a V4L2 device (/dev/videoN or v4l2:/dev/videoN)";
    return NULL;
  }
  case ARGUS_VIDEO_SOURCE_FILE: {
    const char *path = has_prefix(url, "file:") ? url + 5 : url;
    if (path[0] != '/')
      return "is a relative file path: give an absolute one (the server's "
             "folder is not the caller's)";
    if (dotdot(path))
      return "must not hold '..' segments";
    return NULL;
  }
  default:
    return "has a scheme the video module does not take (rtsp://, "
           "rtsps://, http://, https://, a file path, /dev/videoN)";
  }
}

static int url_ok(api_req *r, const char *url) {
  const char *why = url_problem(url);
  if (why) {
    api_reply_error(r, 400, "bad_request", "field 'url' %s", why);
    return 0;
  }
  return 1;
}

/* The "settings" member (an object or null) as the store keeps it, checked
 * against the schema (argus_store_camera_settings_parse) into *out
 * (malloc'd; NULL for null/absent). 1, or 0 after answering 400. */
static int settings_of(api_req *r, const char *name, const cJSON *v,
                       char **out) {
  *out = NULL;
  if (!v || cJSON_IsNull(v))
    return 1;
  char *s = cJSON_PrintUnformatted(v);
  if (!s) {
    api_reply_error(r, 500, "internal", "out of memory");
    return 0;
  }
  if (strlen(s) >= ARGUS_STORE_JSON_MAX) {
    api_reply_error(r, 400, "bad_request",
                    "field 'settings' is longer than %d bytes",
                    ARGUS_STORE_JSON_MAX - 1);
    cJSON_free(s);
    return 0;
  }
  argus_store_camera_settings cs;
  argus_error_detail err = {{0}};
  if (argus_store_camera_settings_parse(name, s, &cs, &err) != ARGUS_OK) {
    api_reply_error(r, 400, "bad_request", "field 'settings': %s",
                    err.msg[0] ? err.msg : "not accepted");
    cJSON_free(s);
    return 0;
  }
  *out = strdup(s);
  cJSON_free(s);
  if (!*out) {
    api_reply_error(r, 500, "internal", "out of memory");
    return 0;
  }
  return 1;
}

/* ---- handlers ------------------------------------------------------------- */

API_HANDLER(api_h_cameras_list) {
  size_t limit;
  argus_store_id cursor;
  if (!api_page_args(r, &limit, &cursor))
    return;
  argus_store *st = api_store(r);
  if (!st)
    return;
  argus_store_camera *all = NULL;
  size_t n = 0;
  argus_error_detail err = {{0}};
  argus_err e = argus_store_camera_list(st, &all, &n, &err);
  if (e) {
    api_reply_err(r, e, &err);
    return;
  }
  cam_live l;
  live_fetch(r, &l);
  item_ctx x = {r, &l};
  /* In id order, so that a cursor (the last id) pages stably. */
  api_page d = {.item = camera_item, .ctx = &x};
  api_page_cut(&d, all, n, sizeof *all, offsetof(argus_store_camera, id), 0,
               cursor, limit);
  api_reply_json(r, 200, api_page_json, &d);
  free(l.cams);
  argus_store_free(all);
}

static const api_field create_fields[] = {
    {"name", API_J_STRING, 1, ARGUS_STORE_NAME_MAX - 1},
    {"url", API_J_STRING, 1, ARGUS_STORE_TEXT_MAX - 1},
    {"settings", API_J_OBJECT | API_J_NULL, 0, 0},
    {"enabled", API_J_BOOL, 0, 0},
};

API_HANDLER(api_h_cameras_create) {
  argus_store *st = api_store(r);
  if (!st)
    return;
  cJSON *body = hu_body(r, create_fields, 4);
  if (!body)
    return;
  char *settings = NULL;
  const char *name = hu_get(body, "name")->valuestring;
  const char *url = hu_get(body, "url")->valuestring;
  const cJSON *en = hu_get(body, "enabled");
  int enabled = en ? cJSON_IsTrue(en) : 1;
  if (!hu_name_ok(r, "name", name) || !url_ok(r, url) ||
      !settings_of(r, name, hu_get(body, "settings"), &settings))
    goto out;
  argus_store_camera old;
  argus_error_detail err = {{0}};
  if (argus_store_camera_get(st, name, &old, NULL) == ARGUS_OK) {
    api_reply_error(r, 409, "conflict", "camera '%s' already exists", name);
    goto out;
  }
  argus_err e =
      argus_store_camera_add(st, name, url, settings, enabled, NULL, &err);
  if (e) {
    api_reply_err(r, e, &err); /* "already exists": 409 */
    goto out;
  }
  api_cameras_sync(r->srv);
  reply_camera(r, st, 201, name);
out:
  free(settings);
  cJSON_Delete(body);
}

API_HANDLER(api_h_camera_get) {
  argus_store *st = api_store(r);
  if (!st)
    return;
  argus_store_camera c;
  if (!camera_of_path(r, st, &c))
    return;
  cam_live l;
  live_fetch(r, &l);
  one_doc d = {&c, live_of(r, &l, &c)};
  api_reply_json(r, 200, one_json, &d);
  free(l.cams);
}

static const api_field patch_fields[] = {
    {"name", API_J_STRING, 0, ARGUS_STORE_NAME_MAX - 1},
    {"url", API_J_STRING, 0, ARGUS_STORE_TEXT_MAX - 1},
    {"settings", API_J_OBJECT | API_J_NULL, 0, 0},
    {"enabled", API_J_BOOL, 0, 0},
};

API_HANDLER(api_h_camera_update) {
  argus_store *st = api_store(r);
  if (!st)
    return;
  argus_store_camera c;
  if (!camera_of_path(r, st, &c))
    return;
  cJSON *body = hu_body(r, patch_fields, 4);
  if (!body)
    return;
  char *settings = NULL;
  const cJSON *nm = hu_get(body, "name"), *url = hu_get(body, "url"),
              *set = hu_get(body, "settings"), *en = hu_get(body, "enabled");
  if (!url && !set && !en && !nm) {
    api_reply_error(r, 400, "bad_request",
                    "body: nothing to change (url, settings, enabled)");
    goto out;
  }
  if (nm && strcmp(nm->valuestring, c.name) != 0) {
    api_reply_error(r, 400, "bad_request",
                    "field 'name': a camera cannot be renamed (remove it and "
                    "add it under the new name)");
    goto out;
  }
  if (url && !url_ok(r, url->valuestring))
    goto out;
  if (set && !settings_of(r, c.name, set, &settings))
    goto out;
  /* settings null: back to none ("{}"). */
  const char *set_arg = set ? (settings ? settings : "{}") : NULL;
  if (url || set || en) {
    argus_error_detail err = {{0}};
    argus_err e = argus_store_camera_update(
        st, c.name, url ? url->valuestring : NULL, set_arg,
        en ? cJSON_IsTrue(en) : -1, &err);
    if (e) {
      api_reply_err(r, e, &err);
      goto out;
    }
    api_cameras_sync(r->srv);
  }
  reply_camera(r, st, 200, c.name);
out:
  free(settings);
  cJSON_Delete(body);
}

API_HANDLER(api_h_camera_delete) {
  argus_store *st = api_store(r);
  if (!st)
    return;
  argus_store_camera c;
  if (!camera_of_path(r, st, &c))
    return;
  argus_error_detail err = {{0}};
  argus_err e = argus_store_camera_remove(st, c.name, &err);
  if (e) {
    api_reply_err(r, e, &err);
    return;
  }
  api_cameras_sync(r->srv);
  api_reply_empty(r, 204);
}

static void set_enabled(api_req *r, int enabled) {
  argus_store *st = api_store(r);
  if (!st)
    return;
  argus_store_camera c;
  if (!camera_of_path(r, st, &c))
    return;
  if (c.enabled != enabled) {
    argus_error_detail err = {{0}};
    argus_err e =
        argus_store_camera_update(st, c.name, NULL, NULL, enabled, &err);
    if (e) {
      api_reply_err(r, e, &err);
      return;
    }
    api_cameras_sync(r->srv);
  }
  reply_camera(r, st, 200, c.name);
}

API_HANDLER(api_h_camera_enable) { set_enabled(r, 1); }
API_HANDLER(api_h_camera_disable) { set_enabled(r, 0); }

API_HANDLER(api_h_camera_snapshot) {
  int64_t width = 0;
  if (!api_query_int(r, "width", 0, SNAPSHOT_MAX_WIDTH, &width))
    return;
  argus_store *st = api_store(r);
  if (!st)
    return;
  argus_store_camera c;
  if (!camera_of_path(r, st, &c))
    return;
  argus_pipeline *p = api_pipeline(r->srv);
  int index = p ? api_camera_index(r->srv, c.id) : -1;
  if (index < 0) {
    api_reply_error(r, 409, "not_streaming", "camera '%s' is not running%s",
                    c.name,
                    !p           ? " (the server runs no pipeline)"
                    : !c.enabled ? " (disabled)"
                                 : "");
    return;
  }
  uint8_t *jpeg = NULL;
  size_t size = 0;
  argus_error_detail err = {{0}};
  argus_err e = argus_pipeline_camera_snapshot(p, index, (int)width, &jpeg,
                                               &size, SNAPSHOT_WAIT, &err);
  if (e == ARGUS_E_NOT_FOUND) {
    api_reply_error(r, 409, "not_streaming", "%s",
                    err.msg[0] ? err.msg : "the camera has no frame");
    return;
  }
  if (e) {
    api_reply_err(r, e, &err);
    return;
  }
  char detail[64];
  snprintf(detail, sizeof detail, "\"bytes\":%zu", size);
  api_audit(r, "camera.snapshot", "camera", c.id, detail);
  api_add_header(r, "Cache-Control", "no-store");
  api_reply_bytes(r, 200, "image/jpeg", jpeg, size, 1);
}
