/* JSON bodies and query/path values of the operator service (parse.h).
 *
 * cJSON is lenient where a request parser must not be: it passes invalid
 * UTF-8 and raw control characters through, turns "\u0000" into a string
 * cut short, takes numbers as strtod does ("01", "1.", "-.5") and 1e999 as
 * infinity, nests a thousand levels deep and keeps members given twice. A
 * pre-scan of the raw bytes and api_fields_check close those gaps, so that
 * a handler sees only what its field table allows.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "argus/store.h"
#include "parse.h"

/* Writes msg (NULL allowed) like snprintf. */
static void say(char *msg, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void say(char *msg, size_t cap, const char *fmt, ...) {
  if (!msg || cap == 0)
    return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, cap, fmt, ap);
  va_end(ap);
}

/* ---- UTF-8 ----------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at s[0..n) (n > 0), or 0 when invalid
 * (overlong, surrogate, past U+10FFFF, truncated). */
static size_t utf8_seq(const unsigned char *s, size_t n) {
  unsigned c = s[0];
  if (c < 0x80)
    return 1;
  size_t len;
  unsigned cp;
  if (c >= 0xc2 && c <= 0xdf) {
    len = 2;
    cp = c & 0x1f;
  } else if (c >= 0xe0 && c <= 0xef) {
    len = 3;
    cp = c & 0x0f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    len = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (n < len)
    return 0;
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xc0) != 0x80)
      return 0;
    cp = (cp << 6) | (s[i] & 0x3f);
  }
  if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
      (cp >= 0xd800 && cp <= 0xdfff))
    return 0;
  return len;
}

int api_utf8_valid(const char *s, size_t n) {
  const unsigned char *p = (const unsigned char *)s;
  size_t i = 0;
  while (i < n) {
    if (p[i] < 0x80) {
      i++;
      continue;
    }
    size_t k = utf8_seq(p + i, n - i);
    if (k == 0)
      return 0;
    i += k;
  }
  return 1;
}

/* Copies a name from the request into out for a message: at most `max`
 * bytes, cut at a character boundary, control characters and invalid
 * bytes as '?'. */
static void shown(const char *s, size_t max, char *out, size_t cap) {
  const unsigned char *p = (const unsigned char *)(s ? s : "");
  size_t n = strlen((const char *)p), i = 0, o = 0;
  if (cap == 0)
    return;
  while (i < n && o + 1 < cap && i < max) {
    size_t k = p[i] < 0x80 ? 1 : utf8_seq(p + i, n - i);
    if (k == 0 || p[i] < 0x20 || p[i] == 0x7f) {
      out[o++] = '?';
      i++;
      continue;
    }
    if (i + k > max || o + k >= cap)
      break;
    memcpy(out + o, p + i, k);
    o += k;
    i += k;
  }
  out[o] = '\0';
}

/* ---- JSON bodies ----------------------------------------------------------- */

static int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

/* Checks the number at p[i] against JSON's grammar (cJSON takes whatever
 * strtod takes: "01", "1.", "-.5"). Returns (size_t)-1 when valid, else
 * the offset of the first wrong byte. */
static size_t number_end(const unsigned char *p, size_t n, size_t i) {
  if (p[i] == '-')
    i++;
  if (i < n && p[i] == '0')
    i++;
  else if (i < n && p[i] >= '1' && p[i] <= '9')
    while (i < n && is_digit(p[i]))
      i++;
  else
    return i;
  if (i < n && p[i] == '.') {
    i++;
    if (i >= n || !is_digit(p[i]))
      return i;
    while (i < n && is_digit(p[i]))
      i++;
  }
  if (i < n && (p[i] == 'e' || p[i] == 'E')) {
    i++;
    if (i < n && (p[i] == '+' || p[i] == '-'))
      i++;
    if (i >= n || !is_digit(p[i]))
      return i;
    while (i < n && is_digit(p[i]))
      i++;
  }
  if (i < n && (is_digit(p[i]) || p[i] == '.' || p[i] == 'e' || p[i] == 'E' ||
                p[i] == '+' || p[i] == '-'))
    return i;
  return (size_t)-1;
}

/* Checks the raw bytes for what cJSON would let through: NUL bytes,
 * invalid UTF-8, raw control characters and "\u0000" escapes in strings,
 * numbers outside JSON's grammar, nesting past API_JSON_MAX_DEPTH.
 * Returns 0 or -1 with msg. */
static int prescan(const unsigned char *p, size_t n, char *msg, size_t cap) {
  int depth = 0, in_str = 0;
  size_t i = 0;
  while (i < n) {
    unsigned c = p[i];
    if (c == 0) {
      say(msg, cap, "NUL byte at byte %zu", i);
      return -1;
    }
    if (c >= 0x80) {
      size_t k = utf8_seq(p + i, n - i);
      if (k == 0) {
        say(msg, cap, "invalid UTF-8 at byte %zu", i);
        return -1;
      }
      i += k;
      continue;
    }
    if (in_str) {
      if (c < 0x20) {
        say(msg, cap, "control character in a JSON string at byte %zu", i);
        return -1;
      }
      if (c == '"') {
        in_str = 0;
      } else if (c == '\\' && i + 1 < n) {
        if (p[i + 1] == 'u' && i + 5 < n && memcmp(p + i + 2, "0000", 4) == 0) {
          say(msg, cap, "JSON string holds \\u0000 at byte %zu", i);
          return -1;
        }
        /* Skip the backslash and an ASCII escaped character; a NUL or a
         * non-ASCII byte is left to the checks above. */
        i++;
        if (p[i] == 0 || p[i] >= 0x80)
          continue;
      }
    } else if (c == '"') {
      in_str = 1;
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      size_t bad_at = number_end(p, n, i);
      if (bad_at != (size_t)-1) {
        say(msg, cap, "invalid JSON at byte %zu", bad_at);
        return -1;
      }
      while (i < n &&
             (p[i] == '-' || p[i] == '+' || p[i] == '.' || p[i] == 'e' ||
              p[i] == 'E' || (p[i] >= '0' && p[i] <= '9')))
        i++;
      continue;
    } else if (c == '{' || c == '[') {
      if (++depth > API_JSON_MAX_DEPTH) {
        say(msg, cap, "JSON nested deeper than %d levels at byte %zu",
            API_JSON_MAX_DEPTH, i);
        return -1;
      }
    } else if ((c == '}' || c == ']') && depth > 0) {
      depth--;
    }
    i++;
  }
  return 0;
}

cJSON *api_json_parse(const char *body, size_t n, char *msg, size_t cap) {
  say(msg, cap, "%s", "");
  if (!body || n == 0) {
    say(msg, cap, "expected a JSON object");
    return NULL;
  }
  if (prescan((const unsigned char *)body, n, msg, cap) != 0)
    return NULL;
  /* cJSON gets a NUL-terminated copy: its length checks are then a second
   * fence, and require_null_terminated refuses trailing bytes (it needs the
   * NUL inside the length). */
  char *copy = malloc(n + 1);
  if (!copy) {
    say(msg, cap, "out of memory");
    return NULL;
  }
  memcpy(copy, body, n);
  copy[n] = '\0';
  const char *end = NULL;
  cJSON *root = cJSON_ParseWithLengthOpts(copy, n + 1, &end, 1);
  if (!root) {
    size_t at = end && end >= copy ? (size_t)(end - copy) : 0;
    if (at > n)
      at = n;
    /* Only blanks before the failure: nothing was there to parse. */
    size_t k = 0;
    while (k < n && (copy[k] == ' ' || copy[k] == '\t' || copy[k] == '\r' ||
                     copy[k] == '\n'))
      k++;
    if (k == n)
      say(msg, cap, "expected a JSON object");
    else
      say(msg, cap, "invalid JSON at byte %zu", at);
    free(copy);
    return NULL;
  }
  free(copy);
  if (!cJSON_IsObject(root)) {
    cJSON_Delete(root);
    say(msg, cap, "expected a JSON object");
    return NULL;
  }
  return root;
}

/* ---- field tables ---------------------------------------------------------- */

/* The type bit of a value, telling integers from other numbers. */
static unsigned type_of(const cJSON *v, int *is_int) {
  *is_int = 0;
  if (cJSON_IsString(v))
    return API_J_STRING;
  if (cJSON_IsBool(v))
    return API_J_BOOL;
  if (cJSON_IsNull(v))
    return API_J_NULL;
  if (cJSON_IsObject(v))
    return API_J_OBJECT;
  if (cJSON_IsArray(v))
    return API_J_ARRAY;
  if (cJSON_IsNumber(v)) {
    double d = v->valuedouble;
    /* -2^63 <= d < 2^63, integral. */
    *is_int = isfinite(d) && d == floor(d) && d >= -9223372036854775808.0 &&
              d < 9223372036854775808.0;
    return API_J_NUMBER;
  }
  return 0;
}

static const char *type_word(unsigned t) {
  switch (t) {
  case API_J_STRING:
    return "a string";
  case API_J_NUMBER:
    return "a number";
  case API_J_INT:
    return "an integer";
  case API_J_BOOL:
    return "true or false";
  case API_J_OBJECT:
    return "an object";
  case API_J_ARRAY:
    return "an array";
  case API_J_NULL:
    return "null";
  default:
    return "a value";
  }
}

/* "a string or null", "a number", ... from allowed bits. */
static void allowed_words(unsigned types, char *out, size_t cap) {
  static const unsigned order[] = {API_J_STRING, API_J_NUMBER, API_J_INT,
                                   API_J_BOOL,   API_J_OBJECT, API_J_ARRAY,
                                   API_J_NULL};
  unsigned t = types;
  if ((t & API_J_NUMBER) && (t & API_J_INT))
    t &= ~(unsigned)API_J_INT; /* every integer is a number */
  size_t o = 0;
  int count = 0, total = 0;
  for (size_t i = 0; i < sizeof order / sizeof order[0]; i++)
    total += (t & order[i]) != 0;
  out[0] = '\0';
  for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
    if (!(t & order[i]))
      continue;
    const char *sep = count == 0 ? "" : count + 1 == total ? " or " : ", ";
    int k = snprintf(out + o, cap - o, "%s%s", sep, type_word(order[i]));
    if (k < 0 || (size_t)k >= cap - o)
      return;
    o += (size_t)k;
    count++;
  }
}

int api_fields_check(const cJSON *obj, const api_field *spec, int n, char *msg,
                     size_t cap) {
  char name[80], want[96];
  say(msg, cap, "%s", "");
  if (!cJSON_IsObject(obj)) {
    say(msg, cap, "expected a JSON object");
    return -1;
  }
  const cJSON *it;
  cJSON_ArrayForEach(it, obj) {
    const char *k = it->string ? it->string : "";
    shown(k, 64, name, sizeof name);
    if (!api_utf8_valid(k, strlen(k))) {
      say(msg, cap, "field '%s' is not valid UTF-8", name);
      return -1;
    }
    int f = -1;
    for (int i = 0; i < n && f < 0; i++)
      if (spec[i].name && strcmp(spec[i].name, k) == 0)
        f = i;
    if (f < 0) {
      say(msg, cap, "unknown field '%s'", name);
      return -1;
    }
    for (const cJSON *o = obj->child; o != it; o = o->next)
      if (o->string && strcmp(o->string, k) == 0) {
        say(msg, cap, "field '%s' is given twice", name);
        return -1;
      }
    unsigned allowed = spec[f].types;
    int is_int = 0;
    unsigned t = type_of(it, &is_int);
    int ok = (t & allowed) != 0 ||
             (t == API_J_NUMBER && is_int && (allowed & API_J_INT));
    if (!ok) {
      allowed_words(allowed, want, sizeof want);
      if (t == API_J_NUMBER && (allowed & API_J_INT)) {
        if (isfinite(it->valuedouble) &&
            it->valuedouble == floor(it->valuedouble))
          say(msg, cap,
              fabs(it->valuedouble) < 1e21
                  ? "field '%s' must be %s within int64, not %.0f"
                  : "field '%s' must be %s within int64, not %g",
              name, want, it->valuedouble);
        else
          say(msg, cap, "field '%s' must be %s, not a fractional number", name,
              want);
      } else {
        say(msg, cap, "field '%s' must be %s, not %s", name, want,
            type_word(t));
      }
      return -1;
    }
    if (t == API_J_NUMBER && !isfinite(it->valuedouble)) {
      say(msg, cap, "field '%s' is out of range", name);
      return -1;
    }
    if (t == API_J_STRING) {
      const char *s = it->valuestring ? it->valuestring : "";
      size_t len = strlen(s);
      size_t max = spec[f].max_len ? spec[f].max_len : ARGUS_STORE_TEXT_MAX - 1;
      if (!api_utf8_valid(s, len)) {
        say(msg, cap, "field '%s' is not valid UTF-8", name);
        return -1;
      }
      if (len > max) {
        say(msg, cap, "field '%s' is longer than %zu bytes", name, max);
        return -1;
      }
    }
  }
  for (int i = 0; i < n; i++)
    if (spec[i].required && spec[i].name &&
        !cJSON_GetObjectItemCaseSensitive(obj, spec[i].name)) {
      shown(spec[i].name, 64, name, sizeof name);
      say(msg, cap, "missing field '%s'", name);
      return -1;
    }
  return 0;
}

/* ---- accessors ------------------------------------------------------------- */

static const cJSON *member(const cJSON *obj, const char *name) {
  if (!cJSON_IsObject(obj) || !name)
    return NULL;
  return cJSON_GetObjectItemCaseSensitive(obj, name);
}

const char *api_json_str(const cJSON *obj, const char *name) {
  const cJSON *v = member(obj, name);
  return cJSON_IsString(v) ? v->valuestring : NULL;
}

int api_json_num(const cJSON *obj, const char *name, double *out) {
  const cJSON *v = member(obj, name);
  if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
    return 0;
  if (out)
    *out = v->valuedouble;
  return 1;
}

int api_json_int(const cJSON *obj, const char *name, int64_t *out) {
  const cJSON *v = member(obj, name);
  int is_int = 0;
  if (!v || type_of(v, &is_int) != API_J_NUMBER || !is_int)
    return 0;
  if (out)
    *out = (int64_t)v->valuedouble;
  return 1;
}

int api_json_bool(const cJSON *obj, const char *name, int *out) {
  const cJSON *v = member(obj, name);
  if (!cJSON_IsBool(v))
    return 0;
  if (out)
    *out = cJSON_IsTrue(v) ? 1 : 0;
  return 1;
}

int api_json_has(const cJSON *obj, const char *name) {
  return member(obj, name) != NULL;
}

/* ---- query and path values ------------------------------------------------- */

int api_id_parse(const char *s, int64_t *out) {
  if (!s || s[0] < '1' || s[0] > '9')
    return -1;
  uint64_t v = 0;
  for (const char *p = s; *p; p++) {
    if (*p < '0' || *p > '9')
      return -1;
    unsigned d = (unsigned)(*p - '0');
    if (v > (uint64_t)(INT64_MAX - d) / 10)
      return -1;
    v = v * 10 + d;
  }
  if (out)
    *out = (int64_t)v;
  return 0;
}

int api_cursor_parse(const char *s, int64_t *out) {
  if (!s) {
    if (out)
      *out = 0;
    return 0;
  }
  return api_id_parse(s, out);
}

int api_time_param_ok(const char *s) {
  int64_t sec;
  int32_t ns;
  if (!s || strlen(s) >= ARGUS_STORE_TIME_MAX + 8)
    return 0;
  return argus_rfc3339_parse_ts(s, &sec, &ns) == ARGUS_OK;
}

int api_name_check(const char *s, const char *what, char *msg, size_t cap) {
  const char *w = what && *what ? what : "name";
  say(msg, cap, "%s", "");
  if (!s || !*s) {
    say(msg, cap, "%s is empty", w);
    return -1;
  }
  size_t n = strlen(s);
  if (n > ARGUS_STORE_NAME_MAX - 1) {
    say(msg, cap, "%s is longer than %d bytes", w, ARGUS_STORE_NAME_MAX - 1);
    return -1;
  }
  const unsigned char *p = (const unsigned char *)s;
  for (size_t i = 0; i < n;) {
    if (p[i] < 0x20 || p[i] == 0x7f) {
      say(msg, cap, "%s contains a control character", w);
      return -1;
    }
    if (p[i] == '/' || p[i] == '\\') {
      say(msg, cap, "%s contains '%c'", w, p[i]);
      return -1;
    }
    if (p[i] < 0x80) {
      i++;
      continue;
    }
    size_t k = utf8_seq(p + i, n - i);
    if (k == 0) {
      say(msg, cap, "%s is not valid UTF-8", w);
      return -1;
    }
    /* C1 controls U+0080..U+009F are C2 80..C2 9F. */
    if (k == 2 && p[i] == 0xc2 && p[i + 1] < 0xa0) {
      say(msg, cap, "%s contains a control character", w);
      return -1;
    }
    i += k;
  }
  if (strstr(s, "..") || strcmp(s, ".") == 0) {
    say(msg, cap, "%s must not be '.' or contain '..'", w);
    return -1;
  }
  if (p[0] == ' ' || p[n - 1] == ' ') {
    say(msg, cap, "%s begins or ends with a blank", w);
    return -1;
  }
  return 0;
}

int api_name_ok(const char *s) { return api_name_check(s, NULL, NULL, 0) == 0; }
