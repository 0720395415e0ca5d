/* multipart/form-data bodies (RFC 7578 over RFC 2046) and the header check
 * of uploaded images (parse.h).
 *
 * The reader never copies part data: a part is a (pointer, size) into the
 * body, which the server has already read whole and capped. Delimiters are
 * found by scanning line starts (memchr for '\n'), so binary data costs one
 * pass, and a line that merely begins like a delimiter ("--boundaryX") is
 * data. Every limit is checked before the work it bounds: the part count at
 * the delimiter that would open one part too many, a header line's length
 * before it is parsed, an image's pixel count before anyone allocates them.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "argus/image.h"
#include "parse.h"

#define BOUNDARY_MAX 70

static argus_err fail(argus_error_detail *err, argus_err code, const char *fmt,
                      ...) __attribute__((format(printf, 3, 4)));
static argus_err fail(argus_error_detail *err, argus_err code, const char *fmt,
                      ...) {
  va_list ap;
  va_start(ap, fmt);
  argus_error_detail_setv(err, fmt, ap);
  va_end(ap);
  return code;
}

static int is_blank(char c) { return c == ' ' || c == '\t'; }

/* RFC 7230 tchar. */
static int is_tchar(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
         (c >= 'A' && c <= 'Z') || (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* RFC 2046 bchars (space allowed, not last: checked by the caller). */
static int is_bchar(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
         (c >= 'A' && c <= 'Z') || (c && strchr("'()+_,-./:=? ", c));
}

/* Length of a valid UTF-8 sequence at s[0..n) (n > 0), 0 when invalid. */
static size_t utf8_len(const unsigned char *s, size_t n) {
  if (s[0] < 0x80)
    return 1;
  size_t k = s[0] >= 0xc2 && s[0] <= 0xdf   ? 2
             : s[0] >= 0xe0 && s[0] <= 0xef ? 3
             : s[0] >= 0xf0 && s[0] <= 0xf4 ? 4
                                            : 0;
  if (k == 0 || k > n)
    return 0;
  return api_utf8_valid((const char *)s, k) ? k : 0;
}

/* ---- header parameters ----------------------------------------------------- */

/* The next "; key=value" of a header value at *pp (before end): key
 * lower-cased into key, value unquoted into val (quoted strings: a
 * backslash escapes only '"' and '\\'; before another character it stays,
 * as in the Windows paths old browsers send as filenames). Returns 1 with
 * a parameter, 0 at the end, -1 when malformed or too long. */
static int next_param(const char **pp, const char *end, char *key, size_t kcap,
                      char *val, size_t vcap) {
  const char *p = *pp;
  while (p < end && is_blank(*p))
    p++;
  if (p == end)
    return 0;
  if (*p != ';')
    return -1;
  p++;
  while (p < end && is_blank(*p))
    p++;
  if (p == end) /* a trailing ';' */
    return 0;
  size_t k = 0;
  while (p < end && is_tchar((unsigned char)*p)) {
    if (k + 1 >= kcap)
      return -1;
    char c = *p++;
    key[k++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
  }
  key[k] = '\0';
  if (k == 0)
    return -1;
  while (p < end && is_blank(*p))
    p++;
  if (p == end || *p != '=')
    return -1;
  p++;
  while (p < end && is_blank(*p))
    p++;
  size_t v = 0;
  if (p < end && *p == '"') {
    p++;
    for (;;) {
      if (p == end)
        return -1; /* unterminated quoted string */
      char c = *p++;
      if (c == '"')
        break;
      if (c == '\\' && p < end && (*p == '"' || *p == '\\'))
        c = *p++;
      if (v + 1 >= vcap)
        return -1;
      val[v++] = c;
    }
  } else {
    while (p < end && *p != ';' && !is_blank(*p)) {
      if (v + 1 >= vcap || !is_tchar((unsigned char)*p))
        return -1;
      val[v++] = *p++;
    }
    if (v == 0)
      return -1;
  }
  val[v] = '\0';
  *pp = p;
  return 1;
}

/* The media type at the start of a header value: [s, *tend) trimmed; *rest
 * points at the first ';' or the end. */
static void media_type(const char *s, const char *end, const char **ts,
                       const char **tend, const char **rest) {
  while (s < end && is_blank(*s))
    s++;
  const char *e = s;
  while (e < end && *e != ';')
    e++;
  *rest = e;
  while (e > s && is_blank(e[-1]))
    e--;
  *ts = s;
  *tend = e;
}

int api_media_type_is(const char *content_type, const char *type) {
  if (!content_type || !type)
    return 0;
  const char *ts, *te, *rest;
  media_type(content_type, content_type + strlen(content_type), &ts, &te,
             &rest);
  size_t n = strlen(type);
  return (size_t)(te - ts) == n && strncasecmp(ts, type, n) == 0;
}

/* The boundary of a multipart/form-data Content-Type into b (71 bytes). */
static argus_err get_boundary(const char *ct, char b[BOUNDARY_MAX + 1],
                              size_t *blen, argus_error_detail *err) {
  const char *end = ct + strlen(ct), *ts, *te, *p;
  media_type(ct, end, &ts, &te, &p);
  if ((size_t)(te - ts) != 19 || strncasecmp(ts, "multipart/form-data", 19))
    return fail(err, ARGUS_E_UNSUPPORTED,
                "multipart: Content-Type '%.*s' is not multipart/form-data",
                (int)(te - ts > 64 ? 64 : te - ts), ts);
  char key[32], val[API_MULTIPART_LINE_MAX];
  int r, found = 0;
  while ((r = next_param(&p, end, key, sizeof key, val, sizeof val)) == 1) {
    if (strcmp(key, "boundary") != 0)
      continue;
    if (found)
      return fail(err, ARGUS_E_CORRUPT,
                  "multipart: boundary given twice in the Content-Type");
    size_t n = strlen(val);
    if (n < 1 || n > BOUNDARY_MAX)
      return fail(err, ARGUS_E_CORRUPT,
                  "multipart: boundary of %zu characters (1..%d allowed)", n,
                  BOUNDARY_MAX);
    for (size_t i = 0; i < n; i++)
      if (!is_bchar((unsigned char)val[i]))
        return fail(err, ARGUS_E_CORRUPT,
                    "multipart: invalid character in the boundary");
    if (val[n - 1] == ' ')
      return fail(err, ARGUS_E_CORRUPT,
                  "multipart: boundary ends with a blank");
    memcpy(b, val, n + 1);
    *blen = n;
    found = 1;
  }
  if (r < 0)
    return fail(err, ARGUS_E_CORRUPT,
                "multipart: malformed Content-Type parameters");
  if (!found)
    return fail(err, ARGUS_E_CORRUPT,
                "multipart: no boundary in the Content-Type");
  return ARGUS_OK;
}

/* ---- delimiters ------------------------------------------------------------ */

enum { DELIM_NEXT = 1, DELIM_CLOSE = 2 };

/* The first delimiter line "--b" at a line start in [from, end): at `from`
 * itself when from_is_line_start, else right after a '\n' at or past
 * `from`. A match must go on with "--" (close) or blanks and a line end.
 * Returns the "--b" position (NULL: none) with *kind and *after (past the
 * delimiter's line end, or past the closing "--"). */
static const char *find_delim(const char *from, int from_is_line_start,
                              const char *end, const char *b, size_t blen,
                              int *kind, const char **after) {
  const char *q = from;
  int at_line = from_is_line_start;
  for (;;) {
    if (!at_line) {
      const char *nl = memchr(q, '\n', (size_t)(end - q));
      if (!nl)
        return NULL;
      q = nl + 1;
    }
    at_line = 0;
    if ((size_t)(end - q) < blen + 2)
      return NULL;
    if (q[0] != '-' || q[1] != '-' || memcmp(q + 2, b, blen) != 0)
      continue;
    const char *p = q + 2 + blen;
    if (end - p >= 2 && p[0] == '-' && p[1] == '-') {
      *kind = DELIM_CLOSE;
      *after = p + 2;
      return q;
    }
    while (p < end && is_blank(*p))
      p++;
    if (p < end && *p == '\r')
      p++;
    if (p < end && *p == '\n') {
      *kind = DELIM_NEXT;
      *after = p + 1;
      return q;
    }
    /* "--bX...": data, go on from this line. */
  }
}

/* ---- part headers ---------------------------------------------------------- */

/* Copies a filename's base name into out: after the last '/' or '\\',
 * control characters dropped, invalid UTF-8 as '_', cut at a character
 * boundary to fit; "." and ".." become "". */
static void sanitize_filename(const char *in, char *out, size_t cap) {
  const char *base = in;
  for (const char *p = in; *p; p++)
    if (*p == '/' || *p == '\\')
      base = p + 1;
  const unsigned char *s = (const unsigned char *)base;
  size_t n = strlen(base), o = 0;
  for (size_t i = 0; i < n;) {
    if (s[i] < 0x20 || s[i] == 0x7f) {
      i++;
      continue;
    }
    size_t k = utf8_len(s + i, n - i);
    if (k == 0) {
      if (o + 1 >= cap)
        break;
      out[o++] = '_';
      i++;
      continue;
    }
    /* C1 controls (U+0080..U+009F). */
    if (k == 2 && s[i] == 0xc2 && s[i + 1] < 0xa0) {
      i += 2;
      continue;
    }
    if (o + k >= cap)
      break;
    memcpy(out + o, s + i, k);
    o += k;
    i += k;
  }
  out[o] = '\0';
  if (strcmp(out, ".") == 0 || strcmp(out, "..") == 0)
    out[0] = '\0';
}

/* The Content-Disposition value [v, end) into part. */
static argus_err parse_disposition(const char *v, const char *end, int no,
                                   api_part *part, argus_error_detail *err) {
  const char *ts, *te, *p;
  media_type(v, end, &ts, &te, &p);
  if ((size_t)(te - ts) != 9 || strncasecmp(ts, "form-data", 9) != 0)
    return fail(err, ARGUS_E_CORRUPT,
                "part %d: Content-Disposition is not form-data", no);
  char key[64], val[API_MULTIPART_LINE_MAX];
  int r, have_name = 0, have_file = 0;
  while ((r = next_param(&p, end, key, sizeof key, val, sizeof val)) == 1) {
    if (strcmp(key, "name") == 0) {
      if (have_name)
        return fail(err, ARGUS_E_CORRUPT,
                    "part %d: Content-Disposition name given twice", no);
      have_name = 1;
      size_t n = strlen(val);
      if (n >= API_PART_NAME_MAX)
        return fail(err, ARGUS_E_LIMIT, "part %d: name longer than %d bytes",
                    no, API_PART_NAME_MAX - 1);
      for (size_t i = 0; i < n; i++)
        if ((unsigned char)val[i] < 0x20 || val[i] == 0x7f)
          return fail(err, ARGUS_E_CORRUPT,
                      "part %d: control character in the name", no);
      if (!api_utf8_valid(val, n))
        return fail(err, ARGUS_E_CORRUPT, "part %d: name is not valid UTF-8",
                    no);
      memcpy(part->name, val, n + 1);
    } else if (strcmp(key, "filename") == 0) {
      if (have_file)
        return fail(err, ARGUS_E_CORRUPT,
                    "part %d: Content-Disposition filename given twice", no);
      have_file = 1;
      sanitize_filename(val, part->filename, sizeof part->filename);
    }
    /* filename* (RFC 5987) and other parameters are ignored. */
  }
  if (r < 0)
    return fail(err, ARGUS_E_CORRUPT,
                "part %d: malformed Content-Disposition parameters", no);
  if (!part->name[0])
    return fail(err, ARGUS_E_CORRUPT, "part %d: no Content-Disposition name",
                no);
  return ARGUS_OK;
}

/* Reads part no's header lines from *pp up to and including the blank
 * line; *pp is left at the part's data. */
static argus_err parse_headers(const char **pp, const char *end, int no,
                               const char *b, size_t blen, api_part *part,
                               argus_error_detail *err) {
  const char *p = *pp;
  int lines = 0, have_disp = 0, have_type = 0;
  for (;;) {
    size_t room = (size_t)(end - p);
    size_t look =
        room < API_MULTIPART_LINE_MAX + 2 ? room : API_MULTIPART_LINE_MAX + 2;
    const char *nl = memchr(p, '\n', look);
    if (!nl) {
      if (room > API_MULTIPART_LINE_MAX + 1)
        return fail(err, ARGUS_E_LIMIT,
                    "part %d: header line longer than %d bytes", no,
                    API_MULTIPART_LINE_MAX);
      return fail(err, ARGUS_E_CORRUPT,
                  "multipart: no closing boundary (part %d's headers are cut "
                  "short)",
                  no);
    }
    const char *le = nl > p && nl[-1] == '\r' ? nl - 1 : nl;
    if ((size_t)(le - p) > API_MULTIPART_LINE_MAX)
      return fail(err, ARGUS_E_LIMIT,
                  "part %d: header line longer than %d bytes", no,
                  API_MULTIPART_LINE_MAX);
    if (le == p) { /* the blank line */
      *pp = nl + 1;
      break;
    }
    if (++lines > API_MULTIPART_HEADERS_MAX)
      return fail(err, ARGUS_E_LIMIT, "part %d: more than %d header lines", no,
                  API_MULTIPART_HEADERS_MAX);
    if ((size_t)(le - p) >= blen + 2 && p[0] == '-' && p[1] == '-' &&
        memcmp(p + 2, b, blen) == 0)
      return fail(err, ARGUS_E_CORRUPT,
                  "part %d: no blank line after the headers", no);
    if (is_blank(*p))
      return fail(err, ARGUS_E_CORRUPT, "part %d: folded header line", no);
    for (const char *c = p; c < le; c++)
      if (((unsigned char)*c < 0x20 && *c != '\t') || *c == 0x7f)
        return fail(err, ARGUS_E_CORRUPT,
                    "part %d: control character in a header line", no);
    const char *colon = p;
    while (colon < le && is_tchar((unsigned char)*colon))
      colon++;
    if (colon == p || colon == le || *colon != ':')
      return fail(err, ARGUS_E_CORRUPT, "part %d: malformed header line", no);
    size_t nlen = (size_t)(colon - p);
    const char *v = colon + 1;
    while (v < le && is_blank(*v))
      v++;
    const char *ve = le;
    while (ve > v && is_blank(ve[-1]))
      ve--;
    if (nlen == 19 && strncasecmp(p, "Content-Disposition", 19) == 0) {
      if (have_disp)
        return fail(err, ARGUS_E_CORRUPT,
                    "part %d: Content-Disposition given twice", no);
      have_disp = 1;
      argus_err e = parse_disposition(v, ve, no, part, err);
      if (e != ARGUS_OK)
        return e;
    } else if (nlen == 12 && strncasecmp(p, "Content-Type", 12) == 0) {
      if (have_type)
        return fail(err, ARGUS_E_CORRUPT, "part %d: Content-Type given twice",
                    no);
      have_type = 1;
      size_t n = (size_t)(ve - v);
      if (n >= API_PART_TYPE_MAX)
        return fail(err, ARGUS_E_LIMIT,
                    "part %d: Content-Type longer than %d bytes", no,
                    API_PART_TYPE_MAX - 1);
      if (!api_utf8_valid(v, n))
        return fail(err, ARGUS_E_CORRUPT,
                    "part %d: Content-Type is not valid UTF-8", no);
      memcpy(part->content_type, v, n);
      part->content_type[n] = '\0';
    } else if (nlen == 25 &&
               strncasecmp(p, "Content-Transfer-Encoding", 25) == 0) {
      size_t n = (size_t)(ve - v);
      if (!((n == 4 && strncasecmp(v, "7bit", 4) == 0) ||
            (n == 4 && strncasecmp(v, "8bit", 4) == 0) ||
            (n == 6 && strncasecmp(v, "binary", 6) == 0))) {
        char shown[40];
        size_t k = 0;
        for (const char *c = v; c < ve && k + 1 < sizeof shown; c++)
          shown[k++] = (unsigned char)*c < 0x80 ? *c : '?';
        shown[k] = '\0';
        return fail(err, ARGUS_E_UNSUPPORTED,
                    "part %d: Content-Transfer-Encoding '%s' is not supported",
                    no, shown);
      }
    }
    p = nl + 1;
  }
  if (!have_disp)
    return fail(err, ARGUS_E_CORRUPT, "part %d: no Content-Disposition header",
                no);
  return ARGUS_OK;
}

/* ---- the body -------------------------------------------------------------- */

argus_err api_multipart_parse(const char *content_type, const char *body,
                              size_t n, api_part *parts, int max_parts,
                              int *nparts, argus_error_detail *err) {
  if (nparts)
    *nparts = 0;
  if (!content_type || (!body && n) || !parts || !nparts || max_parts < 1)
    return fail(err, ARGUS_E_INVALID_ARG,
                "multipart: NULL argument or max_parts < 1");
  char b[BOUNDARY_MAX + 1];
  size_t blen = 0;
  argus_err e = get_boundary(content_type, b, &blen, err);
  if (e != ARGUS_OK)
    return e;
  if (n == 0)
    return fail(err, ARGUS_E_CORRUPT, "multipart: empty body");
  const char *end = body + n, *after = NULL;
  int kind = 0;
  const char *q = find_delim(body, 1, end, b, blen, &kind, &after);
  if (!q)
    return fail(err, ARGUS_E_CORRUPT, "multipart: no opening boundary");
  int count = 0;
  while (kind == DELIM_NEXT) {
    int no = count + 1;
    if (count == max_parts)
      return fail(err, ARGUS_E_LIMIT, "multipart: more than %d parts",
                  max_parts);
    api_part *part = &parts[count];
    memset(part, 0, sizeof *part);
    const char *p = after;
    e = parse_headers(&p, end, no, b, blen, part, err);
    if (e != ARGUS_OK)
      return e;
    /* The delimiter's line end may be the headers' blank line (an empty
     * part without its own line end): search from that '\n'. */
    q = find_delim(p - 1, 0, end, b, blen, &kind, &after);
    if (!q)
      return fail(err, ARGUS_E_CORRUPT,
                  "multipart: no closing boundary (part %d is cut short)", no);
    const char *de = q - 1; /* the '\n' before "--b" */
    if (de > p && de[-1] == '\r')
      de--;
    part->data = p;
    part->size = de > p ? (size_t)(de - p) : 0;
    *nparts = ++count;
  }
  return ARGUS_OK;
}

const api_part *api_part_find(const api_part *parts, int nparts,
                              const char *name) {
  if (!parts || !name)
    return NULL;
  for (int i = 0; i < nparts; i++)
    if (strcmp(parts[i].name, name) == 0)
      return &parts[i];
  return NULL;
}

/* ---- upload images --------------------------------------------------------- */

static unsigned be16(const unsigned char *p) {
  return (unsigned)p[0] << 8 | p[1];
}
static uint32_t be32(const unsigned char *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
         p[3];
}

static argus_err jpeg_size(const unsigned char *d, size_t n, uint32_t *w,
                           uint32_t *h, argus_error_detail *err) {
  size_t i = 2; /* past SOI */
  for (;;) {
    if (i >= n)
      return fail(err, ARGUS_E_CORRUPT,
                  "truncated JPEG header (no frame header in %zu bytes)", n);
    if (d[i] != 0xff)
      return fail(err, ARGUS_E_CORRUPT, "JPEG: no marker at byte %zu", i);
    while (i < n && d[i] == 0xff) /* fill bytes */
      i++;
    if (i >= n)
      return fail(err, ARGUS_E_CORRUPT, "truncated JPEG header");
    unsigned m = d[i++];
    if (m == 0x01 || m == 0xd8 || (m >= 0xd0 && m <= 0xd7))
      continue; /* markers without a segment */
    if (m == 0xd9)
      return fail(err, ARGUS_E_CORRUPT,
                  "JPEG: image ends before its frame header");
    if (m == 0xda)
      return fail(err, ARGUS_E_CORRUPT, "JPEG: scan before the frame header");
    if (m == 0x00)
      return fail(err, ARGUS_E_CORRUPT, "JPEG: invalid marker at byte %zu",
                  i - 1);
    if (n - i < 2)
      return fail(err, ARGUS_E_CORRUPT, "truncated JPEG header");
    size_t len = be16(d + i);
    if (len < 2)
      return fail(err, ARGUS_E_CORRUPT, "JPEG: segment length %zu at byte %zu",
                  len, i);
    if (m >= 0xc0 && m <= 0xcf && m != 0xc4 && m != 0xc8 && m != 0xcc) {
      /* SOFn: length, precision, height, width, components. */
      if (len < 8)
        return fail(err, ARGUS_E_CORRUPT, "JPEG: frame header too short");
      if (n - i < 8)
        return fail(err, ARGUS_E_CORRUPT, "truncated JPEG header");
      *h = be16(d + i + 3);
      *w = be16(d + i + 5);
      return ARGUS_OK;
    }
    if (n - i < len)
      return fail(err, ARGUS_E_CORRUPT, "truncated JPEG header");
    i += len;
  }
}

static argus_err png_size(const unsigned char *d, size_t n, uint32_t *w,
                          uint32_t *h, argus_error_detail *err) {
  if (n < 24)
    return fail(err, ARGUS_E_CORRUPT, "truncated PNG header");
  if (be32(d + 8) != 13 || memcmp(d + 12, "IHDR", 4) != 0)
    return fail(err, ARGUS_E_CORRUPT, "PNG: first chunk is not IHDR");
  *w = be32(d + 16);
  *h = be32(d + 20);
  if (*w > 0x7fffffffu || *h > 0x7fffffffu)
    return fail(err, ARGUS_E_CORRUPT, "PNG: width or height over 2^31-1");
  return ARGUS_OK;
}

argus_err api_image_check(const void *data, size_t n, long max_pixels, int *w,
                          int *h, argus_error_detail *err) {
  static const unsigned char png_sig[8] = {0x89, 'P',  'N',  'G',
                                           '\r', '\n', 0x1a, '\n'};
  const unsigned char *d = data;
  if (!d && n)
    return fail(err, ARGUS_E_INVALID_ARG, "image: NULL data");
  if (max_pixels <= 0)
    max_pixels = API_IMAGE_MAX_PIXELS;
  uint32_t iw = 0, ih = 0;
  argus_err e;
  if (n >= 3 && d[0] == 0xff && d[1] == 0xd8 && d[2] == 0xff)
    e = jpeg_size(d, n, &iw, &ih, err);
  else if (n >= 8 && memcmp(d, png_sig, 8) == 0)
    e = png_size(d, n, &iw, &ih, err);
  else
    return fail(err, ARGUS_E_UNSUPPORTED, "not a JPEG or PNG image");
  if (e != ARGUS_OK)
    return e;
  if (iw == 0 || ih == 0)
    return fail(err, ARGUS_E_CORRUPT, "image is %ux%u pixels (empty)",
                (unsigned)iw, (unsigned)ih);
  unsigned long long px = (unsigned long long)iw * ih;
  if (px > (unsigned long long)max_pixels) {
    if (max_pixels % 1000000 == 0)
      return fail(err, ARGUS_E_LIMIT,
                  "image is %ux%u pixels, more than the %ld megapixels "
                  "accepted",
                  (unsigned)iw, (unsigned)ih, max_pixels / 1000000);
    return fail(err, ARGUS_E_LIMIT,
                "image is %ux%u pixels, more than the %ld pixels accepted",
                (unsigned)iw, (unsigned)ih, max_pixels);
  }
  if (iw > ARGUS_IMAGE_MAX_SIDE || ih > ARGUS_IMAGE_MAX_SIDE)
    return fail(err, ARGUS_E_LIMIT,
                "image is %ux%u pixels, more than %d on a side", (unsigned)iw,
                (unsigned)ih, ARGUS_IMAGE_MAX_SIDE);
  if (w)
    *w = (int)iw;
  if (h)
    *h = (int)ih;
  return ARGUS_OK;
}
