/* The running cameras follow the store: a camera added, changed, enabled,
 * disabled or removed (through the API at once, by another process within
 * two seconds) is added to, restarted in or removed from the pipeline, with
 * no restart of the server. */
#include <stdlib.h>
#include <string.h>

#include "api_server.h"

static int find_cam(const api_server *s, argus_store_id id) {
  for (int i = 0; i < s->ncams; i++)
    if (s->cams[i].id == id)
      return i;
  return -1;
}

static void drop_cam(api_server *s, int i) {
  argus_pipeline_remove_camera(s->parts.pipeline, s->cams[i].index);
  argus_log(ARGUS_LOG_INFO, API_MOD, "camera '%s' stopped", s->cams[i].name);
  s->cams[i] = s->cams[--s->ncams];
}

void api_cameras_reconcile(api_server *s) {
  /* No pipeline, or one whose role runs no cameras (a sink of split roles:
   * the cameras are the edges'). */
  if (!s->parts.pipeline ||
      (argus_pipeline_get_role(s->parts.pipeline) != ARGUS_PIPELINE_ALL &&
       argus_pipeline_get_role(s->parts.pipeline) != ARGUS_PIPELINE_EDGE))
    return;
  argus_store *st = api_server_store_get(s);
  if (!st)
    return;
  argus_store_camera *cams = NULL;
  size_t n = 0;
  argus_error_detail err = {{0}};
  argus_err e = argus_store_camera_list(st, &cams, &n, &err);
  api_server_store_put(s, st);
  if (e != ARGUS_OK) {
    argus_log(ARGUS_LOG_WARN, API_MOD, "cameras: %s", err.msg);
    return;
  }
  pthread_mutex_lock(&s->cam_mu);
  /* Stop what is gone, disabled or changed. */
  for (int i = s->ncams - 1; i >= 0; i--) {
    const argus_store_camera *c = NULL;
    for (size_t k = 0; k < n; k++)
      if (cams[k].id == s->cams[i].id)
        c = &cams[k];
    if (!c || !c->enabled || strcmp(c->url, s->cams[i].url) != 0 ||
        strcmp(c->settings, s->cams[i].settings) != 0 ||
        strcmp(c->name, s->cams[i].name) != 0)
      drop_cam(s, i);
  }
  /* Start what is enabled and not running. */
  for (size_t k = 0; k < n; k++) {
    const argus_store_camera *c = &cams[k];
    if (!c->enabled || find_cam(s, c->id) >= 0)
      continue;
    argus_store_camera_settings set;
    if (argus_store_camera_settings_parse(c->name, c->settings, &set, &err) !=
        ARGUS_OK) {
      argus_log(ARGUS_LOG_WARN, API_MOD, "%s", err.msg);
      continue;
    }
    if (s->ncams == s->cams_cap) {
      int cap = s->cams_cap ? 2 * s->cams_cap : 16;
      api_cam *nc = realloc(s->cams, (size_t)cap * sizeof *nc);
      if (!nc)
        break;
      s->cams = nc;
      s->cams_cap = cap;
    }
    argus_edge_camera_opts o = {0};
    o.name = c->name;
    o.url = c->url;
    o.fps = set.fps;
    o.rtsp_udp = set.rtsp_udp;
    o.settings = c->settings; /* its recognition policy */
    int index = -1;
    if (argus_pipeline_add_camera_opts(s->parts.pipeline, &o, &index, &err) !=
        ARGUS_OK) {
      argus_log(ARGUS_LOG_WARN, API_MOD, "camera '%s': %s", c->name, err.msg);
      continue;
    }
    api_cam *a = &s->cams[s->ncams++];
    memset(a, 0, sizeof *a);
    a->id = c->id;
    a->index = index;
    memcpy(a->name, c->name, sizeof a->name);
    memcpy(a->url, c->url, sizeof a->url);
    memcpy(a->settings, c->settings, sizeof a->settings);
    char red[ARGUS_STORE_TEXT_MAX];
    argus_store_url_redact(c->url, red, sizeof red);
    argus_log(ARGUS_LOG_INFO, API_MOD, "camera '%s' started (%s)", c->name,
              red);
  }
  pthread_mutex_unlock(&s->cam_mu);
  argus_store_free(cams);
}

void api_cameras_forget(api_server *s) {
  free(s->cams);
  s->cams = NULL;
  s->ncams = s->cams_cap = 0;
}

/* The pipeline index of a stored camera (-1: not running). */
int api_camera_index(api_server *s, argus_store_id id) {
  pthread_mutex_lock(&s->cam_mu);
  int i = find_cam(s, id);
  int index = i >= 0 ? s->cams[i].index : -1;
  pthread_mutex_unlock(&s->cam_mu);
  return index;
}
