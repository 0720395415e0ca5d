/* The bounded JSON writer every module uses (bus documents, audit details,
 * CLI output), and a UTF-8 check. Nothing here allocates.
 *
 * Each value is written straight into the caller's buffer; when any piece of
 * it does not fit, the buffer is rolled back to where the value began, so the
 * text is always a valid prefix of the document. Room for one closer per open
 * container and the NUL is kept at all times: finish can always close. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "argus/core.h"

#define BIT(d) ((uint64_t)1 << (d))

void argus_json_init(argus_json *j, char *buf, size_t cap) {
  memset(j, 0, sizeof *j);
  j->buf = buf;
  j->cap = buf ? cap : 0;
  if (j->cap)
    buf[0] = '\0';
}

void argus_json_lossy(argus_json *j) { j->lossy = 1; }

static int stopped(const argus_json *j) { return j->overflow || j->misuse; }

/* Appends n bytes of the value being written, keeping room for `extra`
 * closers beyond the open ones and the NUL. */
static void put(argus_json *j, const char *s, size_t n, size_t extra) {
  if (j->pend)
    return;
  size_t need = (size_t)j->depth + extra + 1;
  if (j->len > j->cap || n > j->cap - j->len || need > j->cap - j->len - n) {
    j->pend = 1;
    return;
  }
  memcpy(j->buf + j->len, s, n);
  j->len += n;
}

/* The one escaping rule, one unit at a time: the escaped form of the
 * character at p (a byte, or a whole UTF-8 sequence) into e (up to 6 bytes);
 * returns its length and sets *used to the input bytes it stands for. */
static size_t esc_one(const unsigned char *p, const unsigned char *end,
                      char e[6], size_t *used) {
  static const char hex[] = "0123456789abcdef";
  unsigned char c = *p;
  *used = 1;
  if (c == '"' || c == '\\') {
    e[0] = '\\';
    e[1] = (char)c;
    return 2;
  }
  if (c < 0x20 || c == 0x7f) {
    const char *sh = c == '\b'   ? "b"
                     : c == '\f' ? "f"
                     : c == '\n' ? "n"
                     : c == '\r' ? "r"
                     : c == '\t' ? "t"
                                 : NULL;
    e[0] = '\\';
    if (sh) {
      e[1] = sh[0];
      return 2;
    }
    memcpy(e + 1, "u00", 3);
    e[4] = hex[c >> 4];
    e[5] = hex[c & 15];
    return 6;
  }
  if (c < 0x80) {
    e[0] = (char)c;
    return 1;
  }
  /* A multi-byte sequence: copied when valid, else its first byte becomes
   * U+FFFD and decoding resumes at the next byte. */
  size_t k = c >= 0xc2 && c <= 0xdf   ? 2
             : c >= 0xe0 && c <= 0xef ? 3
             : c >= 0xf0 && c <= 0xf4 ? 4
                                      : 0;
  if (k && (size_t)(end - p) >= k && argus_utf8_valid((const char *)p, k)) {
    memcpy(e, p, k);
    *used = k;
    return k;
  }
  memcpy(e, "\xef\xbf\xbd", 3);
  return 3;
}

/* Bytes that go out as they are, without escaping. */
static int plain(unsigned char c) {
  return c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
}

static void put_esc_string(argus_json *j, const char *s, size_t n,
                           size_t extra) {
  const unsigned char *p = (const unsigned char *)s, *end = p + n;
  put(j, "\"", 1, extra);
  while (p < end && !j->pend) {
    /* A run of bytes that need no escaping goes in one copy. */
    const unsigned char *run = p;
    while (p < end && plain(*p))
      p++;
    if (p > run)
      put(j, (const char *)run, (size_t)(p - run), extra);
    if (p == end)
      break;
    char e[6];
    size_t used, k = esc_one(p, end, e, &used);
    put(j, e, k, extra);
    p += used;
  }
  put(j, "\"", 1, extra);
}

int argus_json_fputs(FILE *f, const char *s, size_t n) {
  if (!s)
    return fputs("null", f) < 0 ? -1 : 0;
  const unsigned char *p = (const unsigned char *)s, *end = p + n;
  if (fputc('"', f) == EOF)
    return -1;
  while (p < end) {
    const unsigned char *run = p;
    while (p < end && plain(*p))
      p++;
    if (p > run && fwrite(run, 1, (size_t)(p - run), f) != (size_t)(p - run))
      return -1;
    if (p == end)
      break;
    char e[6];
    size_t used, k = esc_one(p, end, e, &used);
    if (fwrite(e, 1, k, f) != k)
      return -1;
    p += used;
  }
  return fputc('"', f) == EOF ? -1 : 0;
}

/* Starts a value: checks the key against the container, writes the comma and
 * the key. Returns the length to roll back to, or SIZE_MAX when stopped. */
static size_t value_begin(argus_json *j, const char *key) {
  if (stopped(j))
    return SIZE_MAX;
  int in_obj = j->depth > 0 && !(j->is_arr & BIT(j->depth - 1));
  if ((in_obj && !key) || (!in_obj && key) || (j->depth == 0 && j->done)) {
    j->misuse = 1;
    return SIZE_MAX;
  }
  size_t save = j->len;
  j->pend = 0;
  if (j->depth > 0 && !(j->first & BIT(j->depth - 1)))
    put(j, ",", 1, 0);
  if (key) {
    put_esc_string(j, key, strlen(key), 0);
    put(j, ":", 1, 0);
  }
  return save;
}

/* Ends a value: commits it, or rolls back to `save` when it did not fit. */
static void value_end(argus_json *j, size_t save, int container) {
  if (j->pend) {
    j->pend = 0;
    j->len = save;
    if (j->cap)
      j->buf[j->len] = '\0';
    if (j->lossy && !container)
      j->dropped++;
    else
      j->overflow = 1;
    return;
  }
  if (j->depth > 0)
    j->first &= ~BIT(j->depth - 1);
  else if (!container)
    j->done = 1;
  j->buf[j->len] = '\0';
}

static void scalar(argus_json *j, const char *key, const char *text,
                   size_t n) {
  size_t save = value_begin(j, key);
  if (save == SIZE_MAX)
    return;
  put(j, text, n, 0);
  value_end(j, save, 0);
}

static void open_container(argus_json *j, const char *key, int arr) {
  if (!stopped(j) && j->depth >= ARGUS_JSON_MAX_DEPTH) {
    j->misuse = 1;
    return;
  }
  size_t save = value_begin(j, key);
  if (save == SIZE_MAX)
    return;
  put(j, arr ? "[" : "{", 1, 1); /* and room for its closer */
  value_end(j, save, 1);
  if (stopped(j))
    return;
  int d = j->depth++;
  j->first |= BIT(d);
  if (arr)
    j->is_arr |= BIT(d);
  else
    j->is_arr &= ~BIT(d);
}

static void close_container(argus_json *j, int arr) {
  if (stopped(j))
    return;
  if (j->depth == 0 || !!(j->is_arr & BIT(j->depth - 1)) != arr) {
    j->misuse = 1;
    return;
  }
  /* Room for this closer was kept when the container opened. */
  j->buf[j->len++] = arr ? ']' : '}';
  j->buf[j->len] = '\0';
  j->depth--;
  if (j->depth == 0)
    j->done = 1;
}

void argus_json_obj_begin(argus_json *j, const char *key) {
  open_container(j, key, 0);
}
void argus_json_obj_end(argus_json *j) { close_container(j, 0); }
void argus_json_arr_begin(argus_json *j, const char *key) {
  open_container(j, key, 1);
}
void argus_json_arr_end(argus_json *j) { close_container(j, 1); }

void argus_json_strn(argus_json *j, const char *key, const char *v, size_t n) {
  if (!v) {
    argus_json_null(j, key);
    return;
  }
  size_t save = value_begin(j, key);
  if (save == SIZE_MAX)
    return;
  put_esc_string(j, v, n, 0);
  value_end(j, save, 0);
}

void argus_json_str(argus_json *j, const char *key, const char *v) {
  argus_json_strn(j, key, v, v ? strlen(v) : 0);
}

void argus_json_int(argus_json *j, const char *key, int64_t v) {
  char t[24];
  int n = snprintf(t, sizeof t, "%lld", (long long)v);
  scalar(j, key, t, (size_t)n);
}

void argus_json_uint(argus_json *j, const char *key, uint64_t v) {
  char t[24];
  int n = snprintf(t, sizeof t, "%llu", (unsigned long long)v);
  scalar(j, key, t, (size_t)n);
}

void argus_json_num(argus_json *j, const char *key, double v, int decimals) {
  if (!isfinite(v)) {
    scalar(j, key, "null", 4);
    return;
  }
  /* %.17f of 1e308 is 326 characters. */
  char t[352];
  int n;
  if (decimals >= 0)
    n = snprintf(t, sizeof t, "%.*f", decimals > 17 ? 17 : decimals, v);
  else
    n = snprintf(t, sizeof t, "%.*g", decimals < -17 ? 17 : -decimals, v);
  if (n < 0 || (size_t)n >= sizeof t) {
    scalar(j, key, "null", 4);
    return;
  }
  /* "-0" style output is valid JSON; nothing else to fix. */
  scalar(j, key, t, (size_t)n);
}

void argus_json_bool(argus_json *j, const char *key, int v) {
  if (v)
    scalar(j, key, "true", 4);
  else
    scalar(j, key, "false", 5);
}

void argus_json_null(argus_json *j, const char *key) {
  scalar(j, key, "null", 4);
}

void argus_json_raw(argus_json *j, const char *key, const char *json,
                    size_t n) {
  if (!json) {
    argus_json_null(j, key);
    return;
  }
  scalar(j, key, json, n);
}

size_t argus_json_finish(argus_json *j) {
  if (stopped(j) || j->depth != 0 || !j->done)
    return 0;
  return j->len;
}

int argus_utf8_valid(const char *s, size_t n) {
  const unsigned char *p = (const unsigned char *)s, *end = p + n;
  while (p < end) {
    unsigned char c = *p;
    if (c < 0x80) {
      p++;
      continue;
    }
    size_t k;
    unsigned char lo = 0x80, hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) {
      k = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
      k = 3;
      if (c == 0xe0)
        lo = 0xa0; /* overlong */
      else if (c == 0xed)
        hi = 0x9f; /* surrogates */
    } else if (c >= 0xf0 && c <= 0xf4) {
      k = 4;
      if (c == 0xf0)
        lo = 0x90; /* overlong */
      else if (c == 0xf4)
        hi = 0x8f; /* above U+10FFFF */
    } else {
      return 0;
    }
    if ((size_t)(end - p) < k || p[1] < lo || p[1] > hi)
      return 0;
    for (size_t i = 2; i < k; i++)
      if (p[i] < 0x80 || p[i] > 0xbf)
        return 0;
    p += k;
  }
  return 1;
}

size_t argus_utf8_sanitize(const char *s, char *out, size_t size) {
  if (!out || size == 0)
    return 0;
  out[0] = '\0';
  if (!s)
    return 0;
  const unsigned char *p = (const unsigned char *)s,
                      *end = p + strlen(s);
  size_t len = 0, bad = 0;
  while (p < end) {
    /* One character: a valid sequence, or one bad byte as U+FFFD. */
    size_t k = *p < 0x80                  ? 1
               : *p >= 0xc2 && *p <= 0xdf ? 2
               : *p >= 0xe0 && *p <= 0xef ? 3
               : *p >= 0xf0 && *p <= 0xf4 ? 4
                                          : 0;
    const char *c = (const char *)p;
    size_t used = k;
    if (k == 0 || (size_t)(end - p) < k || !argus_utf8_valid(c, k)) {
      c = "\xef\xbf\xbd";
      k = 3;
      used = 1;
      bad++;
    }
    if (k >= size - len)
      break;
    memcpy(out + len, c, k);
    len += k;
    p += used;
  }
  out[len] = '\0';
  return bad;
}

/* ---- validator ---------------------------------------------------------- */

typedef struct jv {
  const char *p, *end;
  int max_depth;
  const char *why;
} jv;

static int at(const jv *v) { return v->p < v->end ? (unsigned char)*v->p : -1; }

static void ws(jv *v) {
  while (v->p < v->end &&
         (*v->p == ' ' || *v->p == '\t' || *v->p == '\n' || *v->p == '\r'))
    v->p++;
}

static int hexd(int c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
         (c >= 'A' && c <= 'F');
}

static int vstr(jv *v) {
  if (at(v) != '"') {
    v->why = "expected a string";
    return -1;
  }
  v->p++;
  for (;;) {
    int c = at(v);
    if (c == '"') {
      v->p++;
      return 0;
    }
    if (c < 0x20) {
      v->why = c < 0 ? "unterminated string" : "control character in a string";
      return -1;
    }
    if (c == '\\') {
      v->p++;
      int e = at(v);
      if (e == 'u') {
        for (int i = 1; i <= 4; i++)
          if (v->end - v->p <= i || !hexd((unsigned char)v->p[i])) {
            v->why = "bad \\u escape";
            return -1;
          }
        v->p += 5;
        continue;
      }
      if (e < 0 || !strchr("\"\\/bfnrt", e)) {
        v->why = "bad escape in a string";
        return -1;
      }
      v->p++;
      continue;
    }
    if (c >= 0x80) {
      /* One UTF-8 sequence, checked whole. */
      size_t k = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
      if ((size_t)(v->end - v->p) < k || !argus_utf8_valid(v->p, k)) {
        v->why = "invalid UTF-8 in a string";
        return -1;
      }
      v->p += k;
      continue;
    }
    v->p++;
  }
}

static int digits(jv *v) {
  int c = at(v);
  if (c < '0' || c > '9')
    return -1;
  while ((c = at(v)) >= '0' && c <= '9')
    v->p++;
  return 0;
}

static int vnumber(jv *v) {
  if (at(v) == '-')
    v->p++;
  if (at(v) == '0')
    v->p++;
  else if (digits(v) != 0)
    goto bad;
  if (at(v) == '.') {
    v->p++;
    if (digits(v) != 0)
      goto bad;
  }
  if (at(v) == 'e' || at(v) == 'E') {
    v->p++;
    if (at(v) == '+' || at(v) == '-')
      v->p++;
    if (digits(v) != 0)
      goto bad;
  }
  return 0;
bad:
  v->why = "bad number";
  return -1;
}

static int vvalue(jv *v, int depth);

static int vcontainer(jv *v, int depth, char close) {
  if (depth >= v->max_depth) {
    v->why = "nested too deep";
    return -1;
  }
  v->p++;
  ws(v);
  if (at(v) == close) {
    v->p++;
    return 0;
  }
  for (;;) {
    ws(v);
    if (close == '}') {
      if (vstr(v) != 0)
        return -1;
      ws(v);
      if (at(v) != ':') {
        v->why = "expected ':'";
        return -1;
      }
      v->p++;
    }
    if (vvalue(v, depth + 1) != 0)
      return -1;
    ws(v);
    if (at(v) == ',') {
      v->p++;
      continue;
    }
    if (at(v) == close) {
      v->p++;
      return 0;
    }
    v->why = close == '}' ? "expected ',' or '}'" : "expected ',' or ']'";
    return -1;
  }
}

static int word(jv *v, const char *w, size_t n) {
  if ((size_t)(v->end - v->p) < n || memcmp(v->p, w, n) != 0)
    return -1;
  v->p += n;
  return 0;
}

static int vvalue(jv *v, int depth) {
  ws(v);
  switch (at(v)) {
  case '{':
    return vcontainer(v, depth, '}');
  case '[':
    return vcontainer(v, depth, ']');
  case '"':
    return vstr(v);
  case 't':
    if (word(v, "true", 4) == 0)
      return 0;
    break;
  case 'f':
    if (word(v, "false", 5) == 0)
      return 0;
    break;
  case 'n':
    if (word(v, "null", 4) == 0)
      return 0;
    break;
  default:
    if (at(v) == '-' || (at(v) >= '0' && at(v) <= '9'))
      return vnumber(v);
  }
  v->why = at(v) >= 0 ? "unexpected character" : "unexpected end";
  return -1;
}

argus_err argus_json_validate(const char *s, size_t n, int max_depth,
                              argus_error_detail *why) {
  if (!s) {
    argus_error_detail_set(why, "no JSON text");
    return ARGUS_E_INVALID_ARG;
  }
  jv v = {s, s + n, max_depth > 0 ? max_depth : ARGUS_JSON_MAX_DEPTH, NULL};
  if (vvalue(&v, 0) != 0) {
    argus_error_detail_set(why, "invalid JSON at offset %zu: %s",
                           (size_t)(v.p - s), v.why ? v.why : "syntax error");
    return ARGUS_E_CORRUPT;
  }
  ws(&v);
  if (v.p != v.end) {
    argus_error_detail_set(why, "invalid JSON at offset %zu: trailing text",
                           (size_t)(v.p - s));
    return ARGUS_E_CORRUPT;
  }
  return ARGUS_OK;
}
