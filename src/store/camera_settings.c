/* The schema of a camera's settings: which members `argus camera add`
 * accepts, of which type and range. One table, so that the help text, the
 * check and the reader cannot drift apart: a member the table does not know
 * is refused rather than stored and silently ignored at watch time. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "argus/policy.h"
#include "store_internal.h"

/* Highest "fps" a camera's settings may ask for (as camera_resolve.c). */
#define SETTINGS_FPS_MAX 1000.0

/* SETTING_POLICY: a nested object, checked by argus_policy_parse (the same
 * reader the edge enforces it with). */
typedef enum setting_kind {
  SETTING_NUMBER,
  SETTING_ENUM,
  SETTING_POLICY
} setting_kind;

typedef struct setting {
  const char *key;
  setting_kind kind;
  double lo, hi;             /* SETTING_NUMBER: lo < value <= hi */
  const char *const *words;  /* SETTING_ENUM: the allowed strings, NULL-ended */
} setting;

static const char *const transports[] = {"tcp", "udp", NULL};

static const setting schema[] = {
    {"fps", SETTING_NUMBER, 0.0, SETTINGS_FPS_MAX, NULL},
    {"rtsp_transport", SETTING_ENUM, 0, 0, transports},
    {"policy", SETTING_POLICY, 0, 0, NULL},
};
#define NSCHEMA (sizeof schema / sizeof schema[0])

static const char *type_name(const cJSON *v) {
  return cJSON_IsString(v)   ? "a string"
         : cJSON_IsNumber(v) ? "a number"
         : cJSON_IsBool(v)   ? "a boolean"
         : cJSON_IsArray(v)  ? "an array"
         : cJSON_IsObject(v) ? "an object"
                             : "null";
}

/* Stores the value of one known member into out. */
static argus_err apply(const char *name, const setting *def, const cJSON *v,
                       argus_store_camera_settings *out,
                       argus_store_error *err) {
  if (def->kind == SETTING_POLICY) {
    char *text = cJSON_PrintUnformatted(v);
    if (!text)
      return store_fail(err, ARGUS_E_NOMEM,
                        "camera '%s': settings: out of memory", name);
    argus_policy pol;
    argus_error_detail why = {{0}};
    argus_err rc = argus_policy_parse(text, &pol, &why);
    cJSON_free(text);
    if (rc)
      return store_fail(err, rc, "camera '%s': settings: %s", name, why.msg);
    return ARGUS_OK;
  }
  if (def->kind == SETTING_NUMBER) {
    if (!cJSON_IsNumber(v))
      return store_fail(err, ARGUS_E_INVALID_ARG,
                        "camera '%s': settings: \"%s\" must be a number in "
                        "(%g, %g], not %s",
                        name, def->key, def->lo, def->hi, type_name(v));
    double x = v->valuedouble;
    if (!isfinite(x) || !(x > def->lo) || x > def->hi)
      return store_fail(err, ARGUS_E_INVALID_ARG,
                        "camera '%s': settings: \"%s\" must be a number in "
                        "(%g, %g], not %g",
                        name, def->key, def->lo, def->hi, x);
    if (strcmp(def->key, "fps") == 0)
      out->fps = x;
    return ARGUS_OK;
  }
  char allowed[64] = "";
  size_t used = 0;
  for (int i = 0; def->words[i]; i++) {
    int n = snprintf(allowed + used, sizeof allowed - used, "%s\"%s\"",
                     i ? " or " : "", def->words[i]);
    if (n < 0 || (size_t)n >= sizeof allowed - used)
      break;
    used += (size_t)n;
  }
  int which = -1;
  if (cJSON_IsString(v))
    for (int i = 0; def->words[i]; i++)
      if (strcmp(v->valuestring, def->words[i]) == 0)
        which = i;
  if (which < 0)
    return store_fail(err, ARGUS_E_INVALID_ARG,
                      "camera '%s': settings: \"%s\" must be %s, not %s%s%.32s%s",
                      name, def->key, allowed,
                      cJSON_IsString(v) ? "" : type_name(v),
                      cJSON_IsString(v) ? "\"" : "",
                      cJSON_IsString(v) ? v->valuestring : "",
                      cJSON_IsString(v) ? "\"" : "");
  if (strcmp(def->key, "rtsp_transport") == 0)
    out->rtsp_udp = which; /* the order of `transports` */
  return ARGUS_OK;
}

argus_err argus_store_camera_settings_parse(const char *name,
                                            const char *settings,
                                            argus_store_camera_settings *out,
                                            argus_store_error *err) {
  if (!out)
    return store_fail(err, ARGUS_E_INVALID_ARG, "camera settings: out is NULL");
  out->fps = 0;
  out->rtsp_udp = -1;
  if (!name)
    name = "";
  if (!settings || !settings[0])
    return ARGUS_OK;
  char why[192];
  if (strnlen(settings, ARGUS_STORE_JSON_MAX) >= ARGUS_STORE_JSON_MAX)
    return store_fail(err, ARGUS_E_INVALID_ARG,
                      "camera '%s': settings are longer than %d bytes", name,
                      ARGUS_STORE_JSON_MAX - 1);
  if (store_json_validate_object(settings, why, sizeof why) != 0)
    return store_fail(err, ARGUS_E_INVALID_ARG, "camera '%s': settings: %s",
                      name, why);
  cJSON *doc = cJSON_Parse(settings);
  if (!cJSON_IsObject(doc)) {
    cJSON_Delete(doc);
    return store_fail(err, ARGUS_E_INVALID_ARG,
                      "camera '%s': settings: expected a JSON object", name);
  }
  argus_err rc = ARGUS_OK;
  for (const cJSON *m = doc->child; m && rc == ARGUS_OK; m = m->next) {
    for (const cJSON *p = doc->child; p != m; p = p->next)
      if (strcmp(p->string, m->string) == 0) {
        rc = store_fail(err, ARGUS_E_INVALID_ARG,
                        "camera '%s': settings: \"%.64s\" is given twice",
                        name, m->string);
        break;
      }
    if (rc)
      break;
    const setting *def = NULL;
    for (size_t i = 0; i < NSCHEMA; i++)
      if (strcmp(schema[i].key, m->string) == 0)
        def = &schema[i];
    if (!def) {
      char known[128] = "";
      size_t used = 0;
      for (size_t i = 0; i < NSCHEMA; i++) {
        int n = snprintf(known + used, sizeof known - used, "%s\"%s\"",
                         i ? ", " : "", schema[i].key);
        if (n < 0 || (size_t)n >= sizeof known - used)
          break;
        used += (size_t)n;
      }
      rc = store_fail(err, ARGUS_E_INVALID_ARG,
                      "camera '%s': settings: unknown key \"%.64s\" (known: "
                      "%s)",
                      name, m->string, known);
      break;
    }
    if (!cJSON_IsNull(m))
      rc = apply(name, def, m, out, err);
  }
  cJSON_Delete(doc);
  if (rc) {
    out->fps = 0;
    out->rtsp_udp = -1;
  }
  return rc;
}
