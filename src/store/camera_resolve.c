/* Camera resolution: what `argus watch CAMERA|URL...` and the REST API turn
 * their camera arguments into (stored cameras by name, or video sources
 * given directly), with the analysis rate of each camera's settings read
 * with cJSON. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "store_internal.h"

/* Highest "fps" a camera's settings may ask for. */
#define RESOLVE_FPS_MAX 1000.0

int argus_store_looks_like_url(const char *s) {
  if (!s || !s[0])
    return 0;
  struct stat sb;
  return strstr(s, "://") != NULL || strncmp(s, "/dev/video", 10) == 0 ||
         strncmp(s, "v4l2:", 5) == 0 || stat(s, &sb) == 0;
}

argus_err argus_store_camera_settings_fps(const char *name,
                                          const char *settings, double *fps,
                                          argus_store_error *err) {
  if (!fps)
    return store_fail(err, ARGUS_E_INVALID_ARG, "camera settings: fps is NULL");
  *fps = 0;
  if (!settings || !settings[0])
    return ARGUS_OK;
  if (!name)
    name = "";
  cJSON *doc = cJSON_Parse(settings);
  argus_err rc = ARGUS_OK;
  if (!cJSON_IsObject(doc)) {
    rc = store_fail(err, ARGUS_E_CORRUPT,
                    "camera '%s': settings: expected a JSON object", name);
    goto out;
  }
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(doc, "fps");
  if (!v || cJSON_IsNull(v))
    goto out;
  if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) ||
      !(v->valuedouble > 0) || v->valuedouble > RESOLVE_FPS_MAX) {
    rc = store_fail(err, ARGUS_E_INVALID_ARG,
                    "camera '%s': settings: \"fps\" must be a number in "
                    "(0, %g]",
                    name, RESOLVE_FPS_MAX);
    goto out;
  }
  *fps = v->valuedouble;
out:
  cJSON_Delete(doc);
  return rc;
}

/* The "rtsp_transport" member of stored settings into *udp (1 "udp", 0
 * "tcp", -1 absent or null). Other members are left alone: settings stored
 * before `camera add` checked them against the schema still resolve. */
static argus_err settings_transport(const char *name, const char *settings,
                                    int *udp, argus_store_error *err) {
  *udp = -1;
  if (!settings || !settings[0])
    return ARGUS_OK;
  cJSON *doc = cJSON_Parse(settings);
  argus_err rc = ARGUS_OK;
  const cJSON *v = cJSON_IsObject(doc)
                       ? cJSON_GetObjectItemCaseSensitive(doc, "rtsp_transport")
                       : NULL;
  if (v && !cJSON_IsNull(v)) {
    if (cJSON_IsString(v) && strcmp(v->valuestring, "udp") == 0)
      *udp = 1;
    else if (cJSON_IsString(v) && strcmp(v->valuestring, "tcp") == 0)
      *udp = 0;
    else
      rc = store_fail(err, ARGUS_E_INVALID_ARG,
                      "camera '%s': settings: \"rtsp_transport\" must be "
                      "\"tcp\" or \"udp\"",
                      name);
  }
  cJSON_Delete(doc);
  return rc;
}

/* Fills a source from a stored camera. */
static argus_err from_camera(const argus_store_camera *c,
                             argus_store_camera_source *out,
                             argus_store_error *err) {
  memset(out, 0, sizeof *out);
  out->camera_id = c->id;
  store_copy(out->name, sizeof out->name, c->name);
  store_copy(out->url, sizeof out->url, c->url);
  store_copy(out->settings, sizeof out->settings, c->settings);
  out->enabled = c->enabled;
  argus_err rc =
      argus_store_camera_settings_fps(c->name, c->settings, &out->fps, err);
  if (rc == ARGUS_OK)
    rc = settings_transport(c->name, c->settings, &out->rtsp_udp, err);
  return rc;
}

argus_err argus_store_camera_resolve(argus_store *s, const char *const *names,
                                     const char *const *labels, size_t n,
                                     argus_store_camera_source **out,
                                     size_t *nout, argus_store_error *err) {
  if (out)
    *out = NULL;
  if (nout)
    *nout = 0;
  if (!out || !nout || (n && !names))
    return store_fail(err, ARGUS_E_INVALID_ARG, "camera resolve: %s is NULL",
                      !out    ? "out"
                      : !nout ? "nout"
                              : "names");
  argus_err rc = store_check_handle(s, err);
  if (rc)
    return rc;
  argus_store_camera *cams = NULL;
  argus_store_camera_source *res = NULL;
  size_t nres = 0;
  if (n == 0) {
    size_t nc = 0;
    if ((rc = argus_store_camera_list(s, &cams, &nc, err)))
      goto fail;
    res = calloc(nc ? nc : 1, sizeof *res);
    if (!res) {
      rc = store_fail(err, ARGUS_E_NOMEM, "out of memory");
      goto fail;
    }
    for (size_t i = 0; i < nc; i++) {
      if (!cams[i].enabled)
        continue;
      if ((rc = from_camera(&cams[i], &res[nres], err)))
        goto fail;
      nres++;
    }
    if (nres == 0) {
      rc = store_fail(err, ARGUS_E_NOT_FOUND,
                      "no camera given and no enabled camera stored");
      goto fail;
    }
    goto done;
  }
  res = calloc(n, sizeof *res);
  if (!res) {
    rc = store_fail(err, ARGUS_E_NOMEM, "out of memory");
    goto fail;
  }
  for (size_t i = 0; i < n; i++) {
    const char *arg = names[i];
    if (!arg || !arg[0]) {
      rc = store_fail(err, ARGUS_E_INVALID_ARG, "camera %zu: empty name", i);
      goto fail;
    }
    argus_store_camera sc;
    argus_store_error ge = {{0}};
    argus_err e = argus_store_camera_get(s, arg, &sc, &ge);
    if (e == ARGUS_OK) {
      if ((rc = from_camera(&sc, &res[nres], err)))
        goto fail;
      nres++;
      continue;
    }
    if (e != ARGUS_E_NOT_FOUND && e != ARGUS_E_INVALID_ARG) {
      if (err)
        *err = ge;
      rc = e;
      goto fail;
    }
    if (!argus_store_looks_like_url(arg)) {
      rc = store_fail(err, ARGUS_E_NOT_FOUND,
                      "'%s' is neither a stored camera nor a URL or an "
                      "existing file",
                      arg);
      goto fail;
    }
    argus_store_camera_source *c = &res[nres];
    if (strlen(arg) >= sizeof c->url) {
      rc = store_fail(err, ARGUS_E_LIMIT, "URL too long: '%.60s...'", arg);
      goto fail;
    }
    store_copy(c->url, sizeof c->url, arg);
    char label[ARGUS_STORE_TEXT_MAX];
    if (labels && labels[i] && labels[i][0])
      store_copy(label, sizeof label, labels[i]);
    else
      argus_store_url_redact(arg, label, sizeof label);
    /* The name goes into alerts (the store takes only UTF-8 names) and
     * onto screens: a path's bytes that are not UTF-8 become U+FFFD there,
     * while the URL keeps them to open the file. */
    argus_utf8_sanitize(label, c->name, sizeof c->name);
    store_copy(c->settings, sizeof c->settings, "{}");
    c->enabled = 1;
    c->rtsp_udp = -1;
    nres++;
  }
done:
  argus_store_free(cams);
  *out = res;
  *nout = nres;
  return ARGUS_OK;
fail:
  argus_store_free(cams);
  free(res);
  return rc;
}
