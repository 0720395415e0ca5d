/* Request parsing of the operator service: pure functions over borrowed
 * bytes, without the server, so that tests and fuzz/fuzz_api_*.c can call
 * them directly.
 *
 *   multipart.c  multipart/form-data bodies (RFC 7578 over RFC 2046),
 *                upload image checks (JPEG/PNG header, decompression bombs)
 *   json_in.c    JSON bodies (position of errors, depth, NUL), strict field
 *                tables, ids, cursors, times and names of the query and path
 *
 * Every message is a sentence fragment meant for the "message" member of a
 * 400/413/415 answer; it never holds raw control characters or invalid
 * UTF-8 copied from the request (such bytes are shown as '?').
 */
#ifndef ARGUS_API_PARSE_H
#define ARGUS_API_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "argus/core.h"

/* ---- multipart/form-data ------------------------------------------------- */

#define API_PART_NAME_MAX 128
#define API_PART_FILENAME_MAX 256
#define API_PART_TYPE_MAX 128
/* Longest header line of a part (without its line end), and most header
 * lines per part. */
#define API_MULTIPART_LINE_MAX 1024
#define API_MULTIPART_HEADERS_MAX 32

/* One part of a multipart/form-data body. */
typedef struct api_part {
  char name[API_PART_NAME_MAX];         /* Content-Disposition name, never
                                           empty */
  char filename[API_PART_FILENAME_MAX]; /* sanitized base name ("" when the
                                           part has no filename or it was
                                           empty) */
  char content_type[API_PART_TYPE_MAX]; /* the part's Content-Type as sent,
                                           trimmed ("" when absent) */
  const char *data;                     /* points INTO the body (borrowed) */
  size_t size;
} api_part;

/* Splits a multipart/form-data body into its parts, without copying data.
 *
 * content_type: the request's Content-Type ("multipart/form-data;
 *   boundary=..."; media type case-insensitive; boundary quoted or not,
 *   1..70 characters of RFC 2046's bchars). body/n: the request body
 *   (borrowed; need not be NUL-terminated; parts[i].data points into it, so
 *   it must outlive parts). parts: room for max_parts (>= 1) parts.
 * Line ends: CRLF as the RFC says; a bare LF is accepted too, in headers and
 *   before delimiters (a CR right before the LF of a delimiter belongs to the
 *   delimiter). A line that starts with "--boundary" but goes on with other
 *   characters is data, not a delimiter. Preamble and epilogue are ignored;
 *   a body with only the close delimiter has 0 parts.
 * Part headers: Content-Disposition (form-data; name, filename; quoted
 *   strings where a backslash escapes '"' and '\\' and is kept before
 *   anything else, as in Windows paths; filename* ignored), Content-Type,
 *   Content-Transfer-Encoding (only 7bit/8bit/binary); others are ignored.
 *   Filenames keep only their base name (after the last '/' or '\\'),
 *   without control characters (C1; C0 and DEL are refused in any header
 *   line), invalid UTF-8 bytes as '_'; "." and ".." become "". Part names
 *   must be valid UTF-8 without control characters.
 * *nparts: parts found (also on failure: the parts complete so far).
 * Errors (message in err, may be NULL): INVALID_ARG (NULL arguments,
 *   max_parts < 1); UNSUPPORTED (not multipart/form-data, a transfer
 *   encoding other than 7bit/8bit/binary); LIMIT ("more than N parts",
 *   header line over API_MULTIPART_LINE_MAX bytes, more than
 *   API_MULTIPART_HEADERS_MAX header lines, name or Content-Type too long);
 *   CORRUPT (everything malformed: "multipart: no boundary in the
 *   Content-Type", "multipart: no opening boundary", "multipart: no closing
 *   boundary", "part 3: no Content-Disposition name", ...). */
argus_err api_multipart_parse(const char *content_type, const char *body,
                              size_t n, api_part *parts, int max_parts,
                              int *nparts, argus_error_detail *err);

/* The first part named `name` (NULL when none). */
const api_part *api_part_find(const api_part *parts, int nparts,
                              const char *name);

/* 1 when the media type of a Content-Type header value (before any ';',
 * case-insensitive, surrounding blanks ignored) is `type`, e.g.
 * api_media_type_is(ct, "application/json"); 0 otherwise or for NULL. */
int api_media_type_is(const char *content_type, const char *type);

/* ---- upload images ------------------------------------------------------- */

/* Default pixel limit of api_image_check (50 megapixels). */
#define API_IMAGE_MAX_PIXELS 50000000L

/* Checks an uploaded image before anyone decodes it: JPEG (FF D8 FF) or PNG
 * (its 8-byte signature) by magic bytes, and its width and height read from
 * the header (JPEG: the first SOFn frame header; PNG: IHDR) without
 * decoding. Sizes are those of the stored pixels (before any EXIF
 * rotation).
 * data/n: borrowed. max_pixels: most width*height accepted (<= 0: the
 *   default API_IMAGE_MAX_PIXELS). w, h: may be NULL; written on success.
 * Errors: UNSUPPORTED ("not a JPEG or PNG image"); CORRUPT (truncated or
 *   malformed header, zero width or height); LIMIT ("image is 30000x30000
 *   pixels, more than the 50 megapixels accepted", or a side over
 *   ARGUS_IMAGE_MAX_SIDE, which the decoder would refuse anyway). */
argus_err api_image_check(const void *data, size_t n, long max_pixels, int *w,
                          int *h, argus_error_detail *err);

/* ---- JSON bodies ----------------------------------------------------------- */

/* Most nesting of arrays and objects api_json_parse accepts. */
#define API_JSON_MAX_DEPTH 32

/* Parses a JSON body that must be one object (nothing but blanks after it),
 * stricter than cJSON alone. body/n: borrowed, need not be NUL-terminated.
 * Rejects, with msg: a NUL byte ("NUL byte at byte N"), invalid UTF-8
 * ("invalid UTF-8 at byte N"), a \u0000 escape in a string ("JSON string
 * holds \u0000 at byte N"), a raw control character in a string ("control
 * character in a JSON string at byte N"), numbers outside JSON's grammar
 * such as "01", "1." or "-.5" and any other invalid JSON ("invalid JSON at
 * byte N"), nesting deeper than API_JSON_MAX_DEPTH ("JSON nested deeper
 * than 32 levels at byte N"), an empty body or another value than an
 * object ("expected a JSON object"). Byte offsets count from 0 (for syntax
 * errors cJSON's: at or just past the offending byte). Returns the object
 * (cJSON_Delete it) or NULL with msg written (msg may be NULL; cap is its
 * size). */
cJSON *api_json_parse(const char *body, size_t n, char *msg, size_t cap);

/* Allowed JSON types of a field (bits). API_J_INT: a number that is an
 * integer within int64 (integers beyond 2^53 are as exact as a double). */
typedef enum {
  API_J_STRING = 1,
  API_J_NUMBER = 2,
  API_J_INT = 4,
  API_J_BOOL = 8,
  API_J_OBJECT = 16,
  API_J_ARRAY = 32,
  API_J_NULL = 64
} api_jtype;

/* One member of a body object. */
typedef struct api_field {
  const char *name;
  unsigned types; /* api_jtype bits */
  int required;   /* must be present (null counts as present when
                     API_J_NULL is allowed) */
  size_t max_len; /* strings: most bytes (0: ARGUS_STORE_TEXT_MAX - 1) */
} api_field;

/* Checks obj (a JSON object) against a field table: every member known and
 * given once, of an allowed type, numbers finite, strings valid UTF-8 (no
 * NUL: api_json_parse refuses \u0000; a tree built otherwise is checked up
 * to the C string's end) and at most max_len bytes, required members
 * present. Returns 0, or -1 with msg (may be NULL) naming the first
 * problem: "unknown field 'x'", "field 'threshold' must be a number, not a
 * string", "missing field 'name'", "field 'name' is longer than 127 bytes",
 * "field 'name' is given twice", "field 'name' is not valid UTF-8",
 * "expected a JSON object". */
int api_fields_check(const cJSON *obj, const api_field *spec, int n, char *msg,
                     size_t cap);

/* Accessors for checked objects (first member of that name). */
/* The string member (NULL when absent, null or not a string). */
const char *api_json_str(const cJSON *obj, const char *name);
/* 1 and *out when the member is a finite number; 0 when absent, null or of
 * another type (*out unchanged). */
int api_json_num(const cJSON *obj, const char *name, double *out);
/* 1 and *out when the member is an integer within int64; else 0. */
int api_json_int(const cJSON *obj, const char *name, int64_t *out);
/* 1 and *out (0/1) when the member is true or false; else 0. */
int api_json_bool(const cJSON *obj, const char *name, int *out);
/* 1 when the member is present (null included); else 0. */
int api_json_has(const cJSON *obj, const char *name);

/* ---- query and path values ----------------------------------------------- */

/* A row id: decimal digits only, 1..INT64_MAX, no sign, no leading zero, no
 * blanks. 0 and *out on success; -1 otherwise (*out unchanged). */
int api_id_parse(const char *s, int64_t *out);
/* A paging cursor (the last id of the previous page): NULL gives *out = 0
 * (first page); otherwise as api_id_parse. 0 or -1. */
int api_cursor_parse(const char *s, int64_t *out);
/* 1 when s is a time the store's filters accept (RFC 3339 as
 * argus_rfc3339_parse_ts reads it: "2024-05-01T12:34:56Z", fractions,
 * "+02:00" offsets, years 0000..9999); 0 otherwise or NULL. */
int api_time_param_ok(const char *s);
/* 1 when s is a valid name for a camera, watchlist, person, user or token:
 * 1..127 bytes of valid UTF-8, no control characters (C0, DEL, C1), no '/'
 * or '\\', not "." and no "..", no leading or trailing blank. 0 otherwise. */
int api_name_ok(const char *s);
/* The same with the reason in msg ("name is empty", "name contains '/'",
 * ...; `what` names the value, e.g. "camera name"). 0 ok, -1 bad. */
int api_name_check(const char *s, const char *what, char *msg, size_t cap);
/* 1 when s[0..n) is valid UTF-8 (no overlong forms, surrogates or code
 * points past U+10FFFF); NUL bytes are valid here. */
int api_utf8_valid(const char *s, size_t n);

#endif
