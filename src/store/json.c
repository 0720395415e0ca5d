/* Small JSON helpers for audit details and camera settings: a bounded
 * object builder and a validator (RFC 8259 syntax, depth-limited). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "store_internal.h"

/* Keeps room for the closing brace. */
static void put(store_json *j, const char *s, size_t n) {
  if (j->overflow)
    return;
  if (j->len + n + 2 > sizeof j->buf) {
    j->overflow = 1;
    return;
  }
  memcpy(j->buf + j->len, s, n);
  j->len += n;
  j->buf[j->len] = '\0';
}

static void put_str(store_json *j, const char *s) {
  /* Build the escaped string aside so that an overflow drops the whole
   * member and the object stays valid. */
  char tmp[sizeof j->buf];
  size_t n = 0;
  tmp[n++] = '"';
  for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
    char esc[8];
    const char *add = esc;
    size_t k;
    switch (*c) {
    case '"':
      add = "\\\"";
      k = 2;
      break;
    case '\\':
      add = "\\\\";
      k = 2;
      break;
    case '\n':
      add = "\\n";
      k = 2;
      break;
    case '\t':
      add = "\\t";
      k = 2;
      break;
    case '\r':
      add = "\\r";
      k = 2;
      break;
    default:
      if (*c < 0x20 || *c == 0x7f) {
        snprintf(esc, sizeof esc, "\\u%04x", *c);
        k = 6;
      } else {
        esc[0] = (char)*c;
        k = 1;
      }
    }
    if (n + k + 2 > sizeof tmp) {
      j->overflow = 1;
      return;
    }
    memcpy(tmp + n, add, k);
    n += k;
  }
  tmp[n++] = '"';
  put(j, tmp, n);
}

void store_json_begin(store_json *j) {
  j->len = 0;
  j->first = 1;
  j->overflow = 0;
  put(j, "{", 1);
}

static void key(store_json *j, const char *k) {
  size_t save = j->len;
  if (!j->first)
    put(j, ",", 1);
  put_str(j, k);
  put(j, ":", 1);
  if (j->overflow) {
    j->len = save;
    j->buf[save] = '\0';
  }
}

void store_json_str(store_json *j, const char *k, const char *v) {
  if (j->overflow)
    return;
  size_t save = j->len;
  key(j, k);
  put_str(j, v ? v : "");
  if (j->overflow) {
    j->len = save;
    j->buf[save] = '\0';
    return;
  }
  j->first = 0;
}

void store_json_int(store_json *j, const char *k, int64_t v) {
  char num[32];
  int n = snprintf(num, sizeof num, "%lld", (long long)v);
  if (j->overflow)
    return;
  size_t save = j->len;
  key(j, k);
  put(j, num, (size_t)n);
  if (j->overflow) {
    j->len = save;
    j->buf[save] = '\0';
    return;
  }
  j->first = 0;
}

void store_json_num(store_json *j, const char *k, double v) {
  char num[40];
  int n = isfinite(v) ? snprintf(num, sizeof num, "%.9g", v)
                      : snprintf(num, sizeof num, "null");
  if (j->overflow)
    return;
  size_t save = j->len;
  key(j, k);
  put(j, num, (size_t)n);
  if (j->overflow) {
    j->len = save;
    j->buf[save] = '\0';
    return;
  }
  j->first = 0;
}

const char *store_json_end(store_json *j) {
  /* put() always leaves room for this brace. */
  j->buf[j->len++] = '}';
  j->buf[j->len] = '\0';
  return j->buf;
}

/* ---- validator ---------------------------------------------------------- */

typedef struct jv {
  const char *p;
  const char *why;
} jv;

static void ws(jv *v) {
  while (*v->p == ' ' || *v->p == '\t' || *v->p == '\n' || *v->p == '\r')
    v->p++;
}

static int hexd(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
         (c >= 'A' && c <= 'F');
}

static int str(jv *v) {
  if (*v->p != '"') {
    v->why = "expected a string";
    return -1;
  }
  v->p++;
  for (;;) {
    unsigned char c = (unsigned char)*v->p;
    if (c == '"') {
      v->p++;
      return 0;
    }
    if (c == '\0' || c < 0x20) {
      v->why = c ? "control character in a string" : "unterminated string";
      return -1;
    }
    if (c == '\\') {
      v->p++;
      char e = *v->p;
      if (e == 'u') {
        for (int i = 1; i <= 4; i++)
          if (!hexd(v->p[i])) {
            v->why = "bad \\u escape";
            return -1;
          }
        v->p += 5;
        continue;
      }
      if (!e || !strchr("\"\\/bfnrt", e)) {
        v->why = "bad escape in a string";
        return -1;
      }
    }
    v->p++;
  }
}

static int digits(jv *v) {
  if (*v->p < '0' || *v->p > '9')
    return -1;
  while (*v->p >= '0' && *v->p <= '9')
    v->p++;
  return 0;
}

static int number(jv *v) {
  if (*v->p == '-')
    v->p++;
  if (*v->p == '0')
    v->p++;
  else if (digits(v) != 0)
    goto bad;
  if (*v->p == '.') {
    v->p++;
    if (digits(v) != 0)
      goto bad;
  }
  if (*v->p == 'e' || *v->p == 'E') {
    v->p++;
    if (*v->p == '+' || *v->p == '-')
      v->p++;
    if (digits(v) != 0)
      goto bad;
  }
  return 0;
bad:
  v->why = "bad number";
  return -1;
}

static int value(jv *v, int depth);

static int container(jv *v, int depth, char close) {
  if (depth > 32) {
    v->why = "nested deeper than 32 levels";
    return -1;
  }
  v->p++;
  ws(v);
  if (*v->p == close) {
    v->p++;
    return 0;
  }
  for (;;) {
    ws(v);
    if (close == '}') {
      if (str(v) != 0)
        return -1;
      ws(v);
      if (*v->p != ':') {
        v->why = "expected ':'";
        return -1;
      }
      v->p++;
    }
    if (value(v, depth + 1) != 0)
      return -1;
    ws(v);
    if (*v->p == ',') {
      v->p++;
      continue;
    }
    if (*v->p == close) {
      v->p++;
      return 0;
    }
    v->why = close == '}' ? "expected ',' or '}'" : "expected ',' or ']'";
    return -1;
  }
}

static int value(jv *v, int depth) {
  ws(v);
  switch (*v->p) {
  case '{':
    return container(v, depth, '}');
  case '[':
    return container(v, depth, ']');
  case '"':
    return str(v);
  case 't':
    if (strncmp(v->p, "true", 4) == 0) {
      v->p += 4;
      return 0;
    }
    break;
  case 'f':
    if (strncmp(v->p, "false", 5) == 0) {
      v->p += 5;
      return 0;
    }
    break;
  case 'n':
    if (strncmp(v->p, "null", 4) == 0) {
      v->p += 4;
      return 0;
    }
    break;
  default:
    if (*v->p == '-' || (*v->p >= '0' && *v->p <= '9'))
      return number(v);
  }
  v->why = *v->p ? "unexpected character" : "unexpected end";
  return -1;
}

int store_json_validate_object(const char *s, char *why, size_t why_size) {
  jv v = {s, NULL};
  ws(&v);
  if (*v.p != '{') {
    snprintf(why, why_size, "expected a JSON object");
    return -1;
  }
  if (value(&v, 0) != 0) {
    snprintf(why, why_size, "invalid JSON at offset %ld: %s", (long)(v.p - s),
             v.why ? v.why : "syntax error");
    return -1;
  }
  ws(&v);
  if (*v.p) {
    snprintf(why, why_size, "invalid JSON at offset %ld: trailing text",
             (long)(v.p - s));
    return -1;
  }
  return 0;
}
