/* The recognition policy of a camera (argus/policy.h): its strict reader,
 * the mode at a given instant and the mask test. One reader for the store's
 * settings check and the edge's enforcement, so that what is accepted is
 * exactly what is enforced. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "argus/policy.h"

#define POLICY_JSON_MAX 65536

static const char *const mode_words[] = {"match", "detect", "off"};

void argus_policy_init(argus_policy *p) {
  if (p)
    memset(p, 0, sizeof *p);
}

const char *argus_policy_mode_name(argus_policy_mode m) {
  return (int)m >= 0 && (int)m < 3 ? mode_words[m] : "?";
}

#define FAIL(...)                                                              \
  do {                                                                         \
    argus_error_detail_set(err, __VA_ARGS__);                                  \
    return ARGUS_E_INVALID_ARG;                                                \
  } while (0)

static const char *kind(const cJSON *v) {
  return cJSON_IsString(v)   ? "a string"
         : cJSON_IsNumber(v) ? "a number"
         : cJSON_IsBool(v)   ? "a boolean"
         : cJSON_IsArray(v)  ? "an array"
         : cJSON_IsObject(v) ? "an object"
                             : "null";
}

/* A mode word; `where` names the member for messages. */
static argus_err read_mode(const cJSON *v, const char *where,
                           argus_policy_mode *out, argus_error_detail *err) {
  if (!cJSON_IsString(v))
    FAIL("\"policy\": %s must be \"match\", \"detect\" or \"off\", not %s",
         where, kind(v));
  for (int i = 0; i < 3; i++)
    if (strcmp(v->valuestring, mode_words[i]) == 0) {
      *out = (argus_policy_mode)i;
      return ARGUS_OK;
    }
  FAIL("\"policy\": unknown mode \"%.32s\" in %s (known: \"match\", "
       "\"detect\", \"off\")",
       v->valuestring, where);
}

/* Refuses a member given twice (cJSON keeps both). */
static argus_err no_twice(const cJSON *obj, const char *where,
                          argus_error_detail *err) {
  for (const cJSON *m = obj->child; m; m = m->next)
    for (const cJSON *q = obj->child; q != m; q = q->next)
      if (strcmp(q->string, m->string) == 0)
        FAIL("\"policy\": %s\"%.64s\" is given twice", where, m->string);
  return ARGUS_OK;
}

static argus_err read_instant(const cJSON *v, int i, const char *key,
                              int64_t *ns, argus_error_detail *err) {
  if (!cJSON_IsString(v))
    FAIL("\"policy\": \"windows\"[%d]: \"%s\" must be an RFC 3339 instant "
         "(\"2026-12-06T10:00:00Z\"), not %s",
         i, key, kind(v));
  if (argus_rfc3339_parse(v->valuestring, ns) != ARGUS_OK)
    FAIL("\"policy\": \"windows\"[%d]: \"%s\": bad instant \"%.40s\" (want "
         "RFC 3339 UTC, e.g. \"2026-12-06T10:00:00Z\")",
         i, key, v->valuestring);
  return ARGUS_OK;
}

/* "HH:MM" or "HH:MM:SS" (an optional trailing 'Z') into seconds after
 * midnight; -1 when it is not one. */
static int time_of_day(const char *s) {
  int v[3] = {0, 0, 0}, n = 0;
  const char *p = s;
  while (n < 3) {
    if (!(p[0] >= '0' && p[0] <= '9' && p[1] >= '0' && p[1] <= '9'))
      return -1;
    v[n++] = (p[0] - '0') * 10 + (p[1] - '0');
    p += 2;
    if (*p != ':')
      break;
    p++;
  }
  if (*p == 'Z')
    p++;
  if (*p || n < 2 || v[0] > 23 || v[1] > 59 || v[2] > 59)
    return -1;
  return v[0] * 3600 + v[1] * 60 + v[2];
}

static argus_err read_daily(const cJSON *v, int i, const char *key,
                            int64_t *sec, argus_error_detail *err) {
  int t = cJSON_IsString(v) ? time_of_day(v->valuestring) : -1;
  if (t < 0)
    FAIL("\"policy\": \"windows\"[%d]: \"%s\" of a daily window must be a UTC "
         "time of day \"HH:MM\" or \"HH:MM:SS\", not %s%.40s%s",
         i, key, cJSON_IsString(v) ? "\"" : kind(v),
         cJSON_IsString(v) ? v->valuestring : "",
         cJSON_IsString(v) ? "\"" : "");
  *sec = t;
  return ARGUS_OK;
}

static argus_err read_windows(const cJSON *arr, argus_policy *p,
                              argus_error_detail *err) {
  if (!cJSON_IsArray(arr))
    FAIL("\"policy\": \"windows\" must be an array of {\"from\", \"to\", "
         "\"mode\"}, not %s",
         kind(arr));
  int n = cJSON_GetArraySize(arr);
  if (n > ARGUS_POLICY_MAX_WINDOWS)
    FAIL("\"policy\": %d windows, more than %d", n, ARGUS_POLICY_MAX_WINDOWS);
  int i = 0;
  for (const cJSON *w = arr->child; w; w = w->next, i++) {
    if (!cJSON_IsObject(w))
      FAIL("\"policy\": \"windows\"[%d] must be an object {\"from\", \"to\", "
           "\"mode\"}, not %s",
           i, kind(w));
    char where[48];
    snprintf(where, sizeof where, "\"windows\"[%d]: ", i);
    argus_err rc = no_twice(w, where, err);
    if (rc)
      return rc;
    const cJSON *from = NULL, *to = NULL, *mode = NULL, *every = NULL;
    for (const cJSON *m = w->child; m; m = m->next) {
      if (strcmp(m->string, "every") == 0)
        every = m;
      else if (strcmp(m->string, "from") == 0)
        from = m;
      else if (strcmp(m->string, "to") == 0)
        to = m;
      else if (strcmp(m->string, "mode") == 0)
        mode = m;
      else
        FAIL("\"policy\": \"windows\"[%d]: unknown key \"%.64s\" (known: "
             "\"from\", \"to\", \"mode\", \"every\")",
             i, m->string);
    }
    if (!from || !to || !mode)
      FAIL("\"policy\": \"windows\"[%d]: \"%s\" is missing", i,
           !from ? "from"
           : !to ? "to"
                 : "mode");
    argus_policy_window *pw = &p->windows[i];
    if (every &&
        !(cJSON_IsString(every) && strcmp(every->valuestring, "day") == 0))
      FAIL("\"policy\": \"windows\"[%d]: \"every\" must be \"day\"", i);
    pw->daily = every != NULL;
    if (pw->daily) {
      if ((rc = read_daily(from, i, "from", &pw->from_ns, err)) ||
          (rc = read_daily(to, i, "to", &pw->to_ns, err)))
        return rc;
      if (pw->from_ns == pw->to_ns)
        FAIL("\"policy\": \"windows\"[%d]: a daily window from %.40s to "
             "%.40s is empty",
             i, from->valuestring, to->valuestring);
    } else {
      if ((rc = read_instant(from, i, "from", &pw->from_ns, err)) ||
          (rc = read_instant(to, i, "to", &pw->to_ns, err)))
        return rc;
      if (!(pw->from_ns < pw->to_ns))
        FAIL("\"policy\": \"windows\"[%d]: \"from\" (%.40s) must be before "
             "\"to\" (%.40s)",
             i, from->valuestring, to->valuestring);
    }
    char mw[40];
    snprintf(mw, sizeof mw, "\"windows\"[%d].mode", i);
    if ((rc = read_mode(mode, mw, &pw->mode, err)))
      return rc;
  }
  p->nwindows = n;
  return ARGUS_OK;
}

static argus_err read_masks(const cJSON *arr, argus_policy *p,
                            argus_error_detail *err) {
  if (!cJSON_IsArray(arr))
    FAIL("\"policy\": \"masks\" must be an array of polygons [[x, y], ...], "
         "not %s",
         kind(arr));
  int n = cJSON_GetArraySize(arr);
  if (n > ARGUS_POLICY_MAX_MASKS)
    FAIL("\"policy\": %d masks, more than %d", n, ARGUS_POLICY_MAX_MASKS);
  int i = 0;
  for (const cJSON *poly = arr->child; poly; poly = poly->next, i++) {
    if (!cJSON_IsArray(poly))
      FAIL("\"policy\": \"masks\"[%d] must be an array of points [x, y], not "
           "%s",
           i, kind(poly));
    int np = cJSON_GetArraySize(poly);
    if (np < 3)
      FAIL("\"policy\": \"masks\"[%d]: a polygon needs at least 3 points, not "
           "%d",
           i, np);
    if (np > ARGUS_POLICY_MAX_POINTS)
      FAIL("\"policy\": \"masks\"[%d]: %d points, more than %d", i, np,
           ARGUS_POLICY_MAX_POINTS);
    argus_policy_mask *m = &p->masks[i];
    int k = 0;
    for (const cJSON *pt = poly->child; pt; pt = pt->next, k++) {
      if (!cJSON_IsArray(pt) || cJSON_GetArraySize(pt) != 2 ||
          !cJSON_IsNumber(pt->child) || !cJSON_IsNumber(pt->child->next))
        FAIL("\"policy\": \"masks\"[%d][%d] must be a point [x, y] of two "
             "numbers",
             i, k);
      double x = pt->child->valuedouble, y = pt->child->next->valuedouble;
      if (!isfinite(x) || !isfinite(y) || fabs(x) > ARGUS_POLICY_COORD_MAX ||
          fabs(y) > ARGUS_POLICY_COORD_MAX)
        FAIL("\"policy\": \"masks\"[%d][%d]: coordinates must be finite and "
             "within +-%d pixels, not [%g, %g]",
             i, k, ARGUS_POLICY_COORD_MAX, x, y);
      m->pts[k][0] = (float)x;
      m->pts[k][1] = (float)y;
      if (k == 0 || x < m->box[0])
        m->box[0] = (float)x;
      if (k == 0 || y < m->box[1])
        m->box[1] = (float)y;
      if (k == 0 || x > m->box[2])
        m->box[2] = (float)x;
      if (k == 0 || y > m->box[3])
        m->box[3] = (float)y;
    }
    m->npoints = np;
  }
  p->nmasks = n;
  return ARGUS_OK;
}

static argus_err read_policy(const cJSON *doc, argus_policy *p,
                             argus_error_detail *err) {
  if (!cJSON_IsObject(doc))
    FAIL("\"policy\" must be an object {\"mode\", \"windows\", \"masks\", "
         "\"legal_ref\"}, not %s",
         kind(doc));
  argus_err rc = no_twice(doc, "", err);
  if (rc)
    return rc;
  for (const cJSON *m = doc->child; m; m = m->next) {
    const char *k = m->string;
    if (strcmp(k, "mode") != 0 && strcmp(k, "windows") != 0 &&
        strcmp(k, "masks") != 0 && strcmp(k, "legal_ref") != 0)
      FAIL("\"policy\": unknown key \"%.64s\" (known: \"mode\", \"windows\", "
           "\"masks\", \"legal_ref\")",
           k);
    if (cJSON_IsNull(m))
      continue;
    if (strcmp(k, "mode") == 0)
      rc = read_mode(m, "\"mode\"", &p->mode, err);
    else if (strcmp(k, "windows") == 0)
      rc = read_windows(m, p, err);
    else if (strcmp(k, "masks") == 0)
      rc = read_masks(m, p, err);
    else {
      if (!cJSON_IsString(m))
        FAIL("\"policy\": \"legal_ref\" must be a string, not %s", kind(m));
      size_t n = strlen(m->valuestring);
      if (n >= sizeof p->legal_ref)
        FAIL("\"policy\": \"legal_ref\" is %zu bytes, more than %zu", n,
             sizeof p->legal_ref - 1);
      memcpy(p->legal_ref, m->valuestring, n + 1);
    }
    if (rc)
      return rc;
  }
  return ARGUS_OK;
}

argus_err argus_policy_parse(const char *json, argus_policy *out,
                             argus_error_detail *err) {
  if (!out) {
    argus_error_detail_set(err, "policy: out is NULL");
    return ARGUS_E_INVALID_ARG;
  }
  argus_policy_init(out);
  if (!json)
    return ARGUS_OK;
  size_t n = strnlen(json, POLICY_JSON_MAX);
  if (n >= POLICY_JSON_MAX)
    FAIL("\"policy\" is longer than %d bytes", POLICY_JSON_MAX - 1);
  argus_error_detail why = {{0}};
  if (argus_json_validate(json, n, 8, &why) != ARGUS_OK)
    FAIL("\"policy\": %s", why.msg);
  cJSON *doc = cJSON_ParseWithLength(json, n);
  if (!doc) {
    argus_error_detail_set(err, "\"policy\": out of memory");
    return ARGUS_E_NOMEM;
  }
  argus_err rc = cJSON_IsNull(doc) ? ARGUS_OK : read_policy(doc, out, err);
  cJSON_Delete(doc);
  if (rc)
    argus_policy_init(out);
  return rc;
}

argus_err argus_policy_from_settings(const char *settings, argus_policy *out,
                                     int *present, argus_error_detail *err) {
  if (present)
    *present = 0;
  if (!out) {
    argus_error_detail_set(err, "policy: out is NULL");
    return ARGUS_E_INVALID_ARG;
  }
  argus_policy_init(out);
  if (!settings || !settings[0])
    return ARGUS_OK;
  cJSON *doc = cJSON_Parse(settings);
  if (!cJSON_IsObject(doc)) {
    cJSON_Delete(doc);
    FAIL("settings: expected a JSON object");
  }
  argus_err rc = ARGUS_OK;
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(doc, "policy");
  if (v && !cJSON_IsNull(v)) {
    if (present)
      *present = 1;
    rc = read_policy(v, out, err);
  }
  cJSON_Delete(doc);
  if (rc)
    argus_policy_init(out);
  return rc;
}

argus_policy_mode argus_policy_mode_at(const argus_policy *p, int64_t wall_ns) {
  if (!p)
    return ARGUS_POLICY_MATCH;
  int any = 0;
  argus_policy_mode m = ARGUS_POLICY_MATCH;
  int64_t day_ns = (int64_t)86400 * 1000000000;
  int64_t sod = ((wall_ns % day_ns) + day_ns) % day_ns / 1000000000;
  for (int i = 0; i < p->nwindows; i++) {
    const argus_policy_window *w = &p->windows[i];
    int in = w->daily
                 ? (w->from_ns < w->to_ns ? sod >= w->from_ns && sod < w->to_ns
                                          : sod >= w->from_ns || sod < w->to_ns)
                 : wall_ns >= w->from_ns && wall_ns < w->to_ns;
    if (in) {
      if (!any || w->mode > m)
        m = w->mode;
      any = 1;
    }
  }
  return any ? m : p->mode;
}

int argus_policy_masked(const argus_policy *p, float x, float y) {
  if (!p)
    return 0;
  for (int i = 0; i < p->nmasks; i++) {
    const argus_policy_mask *m = &p->masks[i];
    if (x < m->box[0] || x > m->box[2] || y < m->box[1] || y > m->box[3])
      continue;
    int in = 0;
    for (int a = 0, b = m->npoints - 1; a < m->npoints; b = a++) {
      float xa = m->pts[a][0], ya = m->pts[a][1];
      float xb = m->pts[b][0], yb = m->pts[b][1];
      if ((ya > y) != (yb > y) && x < (xb - xa) * (y - ya) / (yb - ya) + xa)
        in = !in;
    }
    if (in)
      return 1;
  }
  return 0;
}

size_t argus_policy_summary(const argus_policy *p, char *buf, size_t size) {
  argus_json j;
  argus_json_init(&j, buf, size);
  argus_policy def;
  if (!p) {
    argus_policy_init(&def);
    p = &def;
  }
  argus_json_obj_begin(&j, NULL);
  argus_json_str(&j, "mode", argus_policy_mode_name(p->mode));
  argus_json_arr_begin(&j, "windows");
  for (int i = 0; i < p->nwindows; i++) {
    char t[ARGUS_RFC3339_MAX];
    const argus_policy_window *w = &p->windows[i];
    argus_json_obj_begin(&j, NULL);
    if (w->daily) {
      argus_json_str(&j, "every", "day");
      snprintf(t, sizeof t, "%02d:%02d:%02d", (int)(w->from_ns / 3600),
               (int)(w->from_ns / 60 % 60), (int)(w->from_ns % 60));
      argus_json_str(&j, "from", t);
      snprintf(t, sizeof t, "%02d:%02d:%02d", (int)(w->to_ns / 3600),
               (int)(w->to_ns / 60 % 60), (int)(w->to_ns % 60));
      argus_json_str(&j, "to", t);
    } else {
      argus_rfc3339(w->from_ns, t);
      argus_json_str(&j, "from", t);
      argus_rfc3339(w->to_ns, t);
      argus_json_str(&j, "to", t);
    }
    argus_json_str(&j, "mode", argus_policy_mode_name(p->windows[i].mode));
    argus_json_obj_end(&j);
  }
  argus_json_arr_end(&j);
  argus_json_int(&j, "masks", p->nmasks);
  argus_json_str(&j, "legal_ref", p->legal_ref);
  argus_json_obj_end(&j);
  return argus_json_finish(&j); /* 0: did not fit */
}
