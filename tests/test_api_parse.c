/*
 * Tests of the operator service's request parsing (src/api/parse.h):
 * multipart/form-data bodies good and bad, JSON bodies and field tables
 * (every message), ids, cursors, times, names, and the upload image check
 * (real tiny JPEG and PNG files, forged headers, other formats, truncation).
 * Pure functions: no server, no files.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <png.h>

#include "api/parse.h"
#include "argus/image.h"
#include "argus/store.h"
#include "check.h"

#define CHECK_STR_EQ(a, b)                                                     \
  do {                                                                         \
    const char *a_ = (a), *b_ = (b);                                           \
    check_count_++;                                                            \
    if (!a_ || !b_ || strcmp(a_, b_) != 0) {                                   \
      fprintf(stderr, "%s:%d: %s == %s failed: '%s' vs '%s'\n", __FILE__,      \
              __LINE__, #a, #b, a_ ? a_ : "(null)", b_ ? b_ : "(null)");       \
      check_failures_++;                                                       \
    }                                                                          \
  } while (0)

#define CHECK_HAS(hay, needle)                                                 \
  do {                                                                         \
    const char *h_ = (hay), *n_ = (needle);                                    \
    check_count_++;                                                            \
    if (!h_ || !strstr(h_, n_)) {                                              \
      fprintf(stderr, "%s:%d: '%s' does not contain '%s'\n", __FILE__,         \
              __LINE__, h_ ? h_ : "(null)", n_);                               \
      check_failures_++;                                                       \
    }                                                                          \
  } while (0)

#define JP(s) api_json_parse((s), strlen(s), m, sizeof m)
#define CT "multipart/form-data; boundary=XyZ"

/* ---- multipart ------------------------------------------------------------- */

static argus_err mp(const char *ct, const char *body, size_t n, api_part *parts,
                    int max, int *np, argus_error_detail *err) {
  memset(err, 0, sizeof *err);
  return api_multipart_parse(ct, body, n, parts, max, np, err);
}

static int part_is(const api_part *p, const char *data) {
  return p->size == strlen(data) && memcmp(p->data, data, p->size) == 0;
}

static void test_multipart_good(void) {
  api_part parts[8];
  int np = -1;
  argus_error_detail err;

  /* Several parts, a preamble and an epilogue, a file with a path. */
  const char body[] =
      "This is the preamble.\r\n"
      "--XyZ\r\n"
      "Content-Disposition: form-data; name=\"person\"\r\n"
      "\r\n"
      "Ada Lovelace\r\n"
      "--XyZ\r\n"
      "content-disposition: form-data; name=\"photo\"; "
      "filename=\"C:\\Users\\ada\\me.jpg\"\r\n"
      "Content-Type:   image/jpeg  \r\n"
      "\r\n"
      "\xff\xd8\xff\r\n--XyZZ not a delimiter\r\n-- XyZ\r\n--\r\n\r\n"
      "--XyZ\r\n"
      "Content-Disposition: form-data; name=empty\r\n"
      "\r\n"
      "\r\n"
      "--XyZ--\r\n"
      "epilogue --XyZ\r\n";
  CHECK_INT_EQ(mp(CT, body, sizeof body - 1, parts, 8, &np, &err), ARGUS_OK);
  CHECK_INT_EQ(np, 3);
  CHECK_STR_EQ(parts[0].name, "person");
  CHECK_STR_EQ(parts[0].filename, "");
  CHECK_STR_EQ(parts[0].content_type, "");
  CHECK(part_is(&parts[0], "Ada Lovelace"));
  CHECK_STR_EQ(parts[1].name, "photo");
  CHECK_STR_EQ(parts[1].filename, "me.jpg");
  CHECK_STR_EQ(parts[1].content_type, "image/jpeg");
  /* Binary data with CRLF and "--" inside, ending in CRLF of its own. */
  CHECK(part_is(&parts[1],
                "\xff\xd8\xff\r\n--XyZZ not a delimiter\r\n-- XyZ\r\n--\r\n"));
  CHECK(parts[1].data > body && parts[1].data < body + sizeof body);
  CHECK_STR_EQ(parts[2].name, "empty");
  CHECK_INT_EQ(parts[2].size, 0);
  CHECK(api_part_find(parts, np, "photo") == &parts[1]);
  CHECK(api_part_find(parts, np, "nope") == NULL);

  /* Quoted boundary with characters a token may not hold, upper-case type,
   * other parameters around it. */
  const char body2[] = "--a b:c?\r\n"
                       "Content-Disposition: form-data; name=\"x\\\"y\"\r\n"
                       "\r\n"
                       "1\r\n"
                       "--a b:c?--";
  CHECK_INT_EQ(
      mp("Multipart/Form-Data ; charset=utf-8; boundary=\"a b:c?\"; x=y", body2,
         sizeof body2 - 1, parts, 8, &np, &err),
      ARGUS_OK);
  CHECK_INT_EQ(np, 1);
  CHECK_STR_EQ(parts[0].name, "x\"y");
  CHECK(part_is(&parts[0], "1"));

  /* Bare LF line ends; an empty part whose delimiter follows the blank
   * line directly; transport padding after a delimiter. */
  const char body3[] = "--XyZ \t\n"
                       "Content-Disposition: form-data; name=a\n"
                       "\n"
                       "--XyZ\n"
                       "Content-Disposition: form-data; name=b; "
                       "filename=\"../../etc/pa\xc2\x85sswd\"\n"
                       "\n"
                       "line\n"
                       "--XyZ--";
  CHECK_INT_EQ(mp(CT, body3, sizeof body3 - 1, parts, 8, &np, &err), ARGUS_OK);
  CHECK_INT_EQ(np, 2);
  CHECK_INT_EQ(parts[0].size, 0);
  CHECK(part_is(&parts[1], "line"));
  CHECK_STR_EQ(parts[1].filename, "passwd");

  /* Filenames: "..", a bare name, control characters. */
  const char body4[] =
      "--XyZ\r\nContent-Disposition: form-data; name=f; filename=\"..\"\r\n\r\n"
      "x\r\n--XyZ\r\nContent-Disposition: form-data; name=g; filename=\"\"; "
      "filename*=UTF-8''%e2%82%ac.jpg\r\n\r\ny\r\n--XyZ\r\n"
      "Content-Disposition: form-data; name=h; filename=\"\xff.jpg\"\r\n\r\n"
      "\r\n--XyZ--\r\n";
  CHECK_INT_EQ(mp(CT, body4, sizeof body4 - 1, parts, 8, &np, &err), ARGUS_OK);
  CHECK_INT_EQ(np, 3);
  CHECK_STR_EQ(parts[0].filename, "");
  CHECK_STR_EQ(parts[1].filename, "");
  CHECK_STR_EQ(parts[2].filename, "_.jpg");

  /* Only a close delimiter: no parts. */
  CHECK_INT_EQ(mp(CT, "--XyZ--\r\n", 9, parts, 8, &np, &err), ARGUS_OK);
  CHECK_INT_EQ(np, 0);

  /* Exactly max_parts parts. */
  const char two[] = "--XyZ\r\nContent-Disposition: form-data; name=a\r\n\r\n1"
                     "\r\n--XyZ\r\nContent-Disposition: form-data; name=b\r\n"
                     "\r\n2\r\n--XyZ--";
  CHECK_INT_EQ(mp(CT, two, sizeof two - 1, parts, 2, &np, &err), ARGUS_OK);
  CHECK_INT_EQ(np, 2);
  /* One more than allowed. */
  CHECK_INT_EQ(mp(CT, two, sizeof two - 1, parts, 1, &np, &err), ARGUS_E_LIMIT);
  CHECK_STR_EQ(err.msg, "multipart: more than 1 parts");
  CHECK_INT_EQ(np, 1);

  CHECK(api_media_type_is(" application/JSON ; charset=utf-8",
                          "application/json"));
  CHECK(!api_media_type_is("application/jsonx", "application/json"));
  CHECK(!api_media_type_is(NULL, "application/json"));
}

/* Random forms written as a client would (CRLF, random boundary, binary
 * data full of CR, LF and dashes) read back identically. */
static uint64_t rng = 0x2545f4914f6cdd1dull;
static unsigned rnd(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (unsigned)(rng >> 11);
}

static void test_multipart_roundtrip(void) {
  static const char bch[] = "0123456789abcdefghijklmnopqrstuvwxyz'()+_,-./:=?";
  static const char alpha[] = "\r\n-ab\0\xff";
  enum { MAXP = 6, MAXD = 300 };
  char *body = malloc(MAXP * (MAXD + 256) + 256);
  char data[MAXP][MAXD];
  size_t dn[MAXP];
  char names[MAXP][16];
  int bad_rounds = 0;
  for (int round = 0; round < 300; round++) {
    char b[72], ct[128];
    size_t bl = 1 + rnd() % 70;
    for (size_t i = 0; i < bl; i++)
      b[i] = bch[rnd() % (sizeof bch - 1)];
    b[bl] = '\0';
    snprintf(ct, sizeof ct, "multipart/form-data; boundary=\"%s\"", b);
    int np = 1 + (int)(rnd() % MAXP);
    size_t n = 0;
    int clash = 0;
    for (int i = 0; i < np; i++) {
      snprintf(names[i], sizeof names[i], "f%d", i);
      dn[i] = rnd() % MAXD;
      for (size_t k = 0; k < dn[i]; k++)
        data[i][k] =
            rnd() % 4 ? alpha[rnd() % (sizeof alpha - 1)] : (char)rnd();
      /* A delimiter inside the data would be the client's fault. */
      for (size_t k = 0; k + 2 + bl <= dn[i] && !clash; k++)
        clash = data[i][k] == '-' && data[i][k + 1] == '-' &&
                memcmp(data[i] + k + 2, b, bl) == 0;
      n += (size_t)snprintf(body + n, 256,
                            "--%s\r\nContent-Disposition: form-data; "
                            "name=\"%s\"%s\r\n\r\n",
                            b, names[i], i % 2 ? "; filename=\"x.bin\"" : "");
      memcpy(body + n, data[i], dn[i]);
      n += dn[i];
      n += (size_t)snprintf(body + n, 8, "\r\n");
    }
    n += (size_t)snprintf(body + n, 128, "--%s--\r\n", b);
    if (clash)
      continue;
    api_part parts[MAXP];
    int got = 0;
    argus_error_detail err;
    argus_err e = mp(ct, body, n, parts, MAXP, &got, &err);
    int ok = e == ARGUS_OK && got == np;
    for (int i = 0; ok && i < np; i++)
      ok = strcmp(parts[i].name, names[i]) == 0 && parts[i].size == dn[i] &&
           memcmp(parts[i].data, data[i], dn[i]) == 0 &&
           strcmp(parts[i].filename, i % 2 ? "x.bin" : "") == 0;
    if (!ok && bad_rounds++ < 3)
      fprintf(stderr, "round trip %d failed: %s %d/%d '%s'\n", round,
              argus_errname(e), got, np, err.msg);
  }
  CHECK_INT_EQ(bad_rounds, 0);
  free(body);
}

static void bad(const char *ct, const char *body, argus_err want,
                const char *msg, int line) {
  api_part parts[4];
  int np = 0;
  argus_error_detail err;
  argus_err e = mp(ct, body, strlen(body), parts, 4, &np, &err);
  check_count_++;
  if (e != want || !strstr(err.msg, msg)) {
    fprintf(stderr, "%s:%d: multipart gave %s '%s', expected %s '%s'\n",
            __FILE__, line, argus_errname(e), err.msg, argus_errname(want),
            msg);
    check_failures_++;
  }
}
#define BAD(ct, body, want, msg) bad(ct, body, want, msg, __LINE__)

static void test_multipart_bad(void) {
  const char *cd = "Content-Disposition: form-data; name=a\r\n\r\n";
  char buf[4096];

  BAD("application/json", "{}", ARGUS_E_UNSUPPORTED,
      "is not multipart/form-data");
  BAD("multipart/form-data", "--x\r\n", ARGUS_E_CORRUPT,
      "multipart: no boundary in the Content-Type");
  BAD("multipart/form-data; boundary=", "--x\r\n", ARGUS_E_CORRUPT,
      "malformed Content-Type parameters");
  BAD("multipart/form-data; boundary=\"abc", "--x\r\n", ARGUS_E_CORRUPT,
      "malformed Content-Type parameters");
  BAD("multipart/form-data; boundary=a; boundary=b", "--a--", ARGUS_E_CORRUPT,
      "boundary given twice");
  BAD("multipart/form-data; boundary=\"a\x01\"", "--a--", ARGUS_E_CORRUPT,
      "invalid character in the boundary");
  BAD("multipart/form-data; boundary=\"ab \"", "--ab --", ARGUS_E_CORRUPT,
      "ends with a blank");
  BAD("multipart/form-data; boundary="
      "12345678901234567890123456789012345678901234567890123456789012345678901",
      "--", ARGUS_E_CORRUPT, "boundary of 71 characters");
  BAD(CT, "", ARGUS_E_CORRUPT, "multipart: empty body");
  BAD(CT, "hello\r\n--XyZZ\r\n", ARGUS_E_CORRUPT,
      "multipart: no opening boundary");
  /* Missing final boundary. */
  snprintf(buf, sizeof buf, "--XyZ\r\n%sdata\r\n", cd);
  BAD(CT, buf, ARGUS_E_CORRUPT, "multipart: no closing boundary");
  snprintf(buf, sizeof buf, "--XyZ\r\n%sdata\r\n--XyZ", cd);
  BAD(CT, buf, ARGUS_E_CORRUPT, "multipart: no closing boundary");
  BAD(CT, "--XyZ\r\nContent-Disposition: form-data; name=a\r\n",
      ARGUS_E_CORRUPT, "multipart: no closing boundary");
  /* A part without a name, the 3rd. */
  snprintf(buf, sizeof buf,
           "--XyZ\r\n%s1\r\n--XyZ\r\n%s2\r\n--XyZ\r\n"
           "Content-Disposition: form-data; filename=\"a.jpg\"\r\n\r\n3\r\n"
           "--XyZ--",
           cd, cd);
  BAD(CT, buf, ARGUS_E_CORRUPT, "part 3: no Content-Disposition name");
  BAD(CT,
      "--XyZ\r\nContent-Disposition: form-data; name=\"\"\r\n\r\n1\r\n--XyZ--",
      ARGUS_E_CORRUPT, "part 1: no Content-Disposition name");
  BAD(CT, "--XyZ\r\nContent-Type: text/plain\r\n\r\n1\r\n--XyZ--",
      ARGUS_E_CORRUPT, "part 1: no Content-Disposition header");
  BAD(CT,
      "--XyZ\r\nContent-Disposition: attachment; name=a\r\n\r\n1\r\n--XyZ--",
      ARGUS_E_CORRUPT, "part 1: Content-Disposition is not form-data");
  BAD(CT,
      "--XyZ\r\nContent-Disposition: form-data; name=a; name=b\r\n\r\n1\r\n"
      "--XyZ--",
      ARGUS_E_CORRUPT, "name given twice");
  BAD(CT,
      "--XyZ\r\nContent-Disposition: form-data; name=\"a\r\n\r\n1\r\n--XyZ--",
      ARGUS_E_CORRUPT, "malformed Content-Disposition parameters");
  BAD(CT, "--XyZ\r\nContent-Disposition form-data\r\n\r\n1\r\n--XyZ--",
      ARGUS_E_CORRUPT, "part 1: malformed header line");
  BAD(CT,
      "--XyZ\r\nContent-Disposition: form-data; name=a\r\n more\r\n\r\n1\r\n"
      "--XyZ--",
      ARGUS_E_CORRUPT, "folded header line");
  BAD(CT, "--XyZ\r\nContent-Disposition: form-data; name=a\r\n--XyZ--\r\n",
      ARGUS_E_CORRUPT, "part 1: no blank line after the headers");
  BAD(CT,
      "--XyZ\r\nContent-Disposition: form-data; name=a\r\nX: \x01\r\n\r\n1\r\n"
      "--XyZ--",
      ARGUS_E_CORRUPT, "control character in a header line");
  BAD(CT,
      "--XyZ\r\nContent-Disposition: form-data; name=a\r\n"
      "Content-Transfer-Encoding: base64\r\n\r\nMQ==\r\n--XyZ--",
      ARGUS_E_UNSUPPORTED, "Content-Transfer-Encoding 'base64'");
  BAD(CT,
      "--XyZ\r\nContent-Disposition: form-data; name=\"\xff\"\r\n\r\n1\r\n"
      "--XyZ--",
      ARGUS_E_CORRUPT, "name is not valid UTF-8");
  /* A header line over 1 KiB. */
  int k =
      snprintf(buf, sizeof buf,
               "--XyZ\r\nContent-Disposition: form-data; name=a\r\nX-Long: ");
  memset(buf + k, 'a', 1100);
  snprintf(buf + k + 1100, sizeof buf - (size_t)k - 1100,
           "\r\n\r\n1\r\n--XyZ--");
  BAD(CT, buf, ARGUS_E_LIMIT, "part 1: header line longer than 1024 bytes");
  /* Too many header lines. */
  k = snprintf(buf, sizeof buf,
               "--XyZ\r\nContent-Disposition: form-data; name=a\r\n");
  for (int i = 0; i < 40; i++)
    k += snprintf(buf + k, sizeof buf - (size_t)k, "X-%d: y\r\n", i);
  snprintf(buf + k, sizeof buf - (size_t)k, "\r\n1\r\n--XyZ--");
  BAD(CT, buf, ARGUS_E_LIMIT, "more than 32 header lines");
  /* A name too long. */
  k = snprintf(buf, sizeof buf,
               "--XyZ\r\nContent-Disposition: form-data; name=");
  memset(buf + k, 'n', 200);
  snprintf(buf + k + 200, sizeof buf - (size_t)k - 200, "\r\n\r\n1\r\n--XyZ--");
  BAD(CT, buf, ARGUS_E_LIMIT, "part 1: name longer than 127 bytes");

  /* NULL arguments. */
  api_part parts[2];
  int np;
  argus_error_detail err;
  CHECK_INT_EQ(api_multipart_parse(CT, "x", 1, parts, 0, &np, &err),
               ARGUS_E_INVALID_ARG);
  CHECK_INT_EQ(api_multipart_parse(NULL, "x", 1, parts, 2, &np, &err),
               ARGUS_E_INVALID_ARG);
  CHECK_INT_EQ(api_multipart_parse(CT, "x", 1, parts, 2, NULL, &err),
               ARGUS_E_INVALID_ARG);
}

/* ---- JSON ------------------------------------------------------------------ */

static void json_bad(const char *body, const char *msg, int line) {
  char m[256] = "";
  cJSON *j = api_json_parse(body, strlen(body), m, sizeof m);
  check_count_++;
  if (j || strcmp(m, msg) != 0) {
    fprintf(stderr, "%s:%d: api_json_parse('%s') gave %s '%s', expected '%s'\n",
            __FILE__, line, body, j ? "an object" : "NULL", m, msg);
    check_failures_++;
  }
  cJSON_Delete(j);
}
#define JSON_BAD(body, msg) json_bad(body, msg, __LINE__)

static void test_json_parse(void) {
  char m[256];
  cJSON *j = JP("{\"a\": 1, \"b\": [true, null]}  \n");
  CHECK(cJSON_IsObject(j));
  cJSON_Delete(j);
  /* Not NUL-terminated: only n bytes are read. */
  const char raw[] = {'{', '}', 'x'};
  j = api_json_parse(raw, 2, m, sizeof m);
  CHECK(cJSON_IsObject(j));
  cJSON_Delete(j);

  JSON_BAD("", "expected a JSON object");
  JSON_BAD("   ", "expected a JSON object");
  JSON_BAD("[1,2]", "expected a JSON object");
  JSON_BAD("\"s\"", "expected a JSON object");
  JSON_BAD("{\"a\":1,}", "invalid JSON at byte 8");
  JSON_BAD("{\"a\":1} x", "invalid JSON at byte 8");
  JSON_BAD("{\"a\" 1}", "invalid JSON at byte 5");
  JSON_BAD("{\"a\":\"x\\u0000y\"}", "JSON string holds \\u0000 at byte 7");
  JSON_BAD("{\"a\":01}", "invalid JSON at byte 6");
  JSON_BAD("{\"a\":1.}", "invalid JSON at byte 7");
  JSON_BAD("{\"a\":-.5}", "invalid JSON at byte 6");
  JSON_BAD("{\"a\":1e}", "invalid JSON at byte 7");
  JSON_BAD("{\"a\":1.5.2}", "invalid JSON at byte 8");
  JSON_BAD("{\"a\":\"x\ny\"}", "control character in a JSON string at byte 7");
  j = JP("{\"a\":-0.5e+3,\"b\":[0,1E2,-7]}");
  CHECK(j != NULL);
  cJSON_Delete(j);
  JSON_BAD("{\"a\":\"\xc3\x28\"}", "invalid UTF-8 at byte 6");
  JSON_BAD("{\"a\":\"\xed\xa0\x80\"}", "invalid UTF-8 at byte 6");
  /* An escaped backslash before u0000 is text, not the escape. */
  j = JP("{\"a\":\"\\\\u0000\"}");
  CHECK(j && strcmp(api_json_str(j, "a"), "\\u0000") == 0);
  cJSON_Delete(j);
  /* A NUL byte. */
  const char nul[] = "{\"a\":\"x\0\"}";
  j = api_json_parse(nul, sizeof nul - 1, m, sizeof m);
  CHECK(j == NULL);
  CHECK_STR_EQ(m, "NUL byte at byte 7");
  /* Depth: 32 levels fine, 33 refused. */
  char deep[128];
  int k = 0;
  deep[k++] = '{';
  k += snprintf(deep + k, sizeof deep - (size_t)k, "\"a\":");
  for (int i = 0; i < 31; i++)
    deep[k++] = '[';
  for (int i = 0; i < 31; i++)
    deep[k++] = ']';
  deep[k++] = '}';
  deep[k] = '\0';
  j = api_json_parse(deep, (size_t)k, m, sizeof m);
  CHECK(j != NULL);
  cJSON_Delete(j);
  k = 0;
  deep[k++] = '{';
  k += snprintf(deep + k, sizeof deep - (size_t)k, "\"a\":");
  for (int i = 0; i < 32; i++)
    deep[k++] = '[';
  for (int i = 0; i < 32; i++)
    deep[k++] = ']';
  deep[k++] = '}';
  deep[k] = '\0';
  JSON_BAD(deep, "JSON nested deeper than 32 levels at byte 36");
  /* Brackets inside strings do not count. */
  j = JP("{\"a\":\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\"}");
  CHECK(j != NULL);
  cJSON_Delete(j);
  CHECK(api_json_parse(NULL, 0, NULL, 0) == NULL);
}

static const api_field spec[] = {
    {"name", API_J_STRING, 1, 127},
    {"threshold", API_J_NUMBER, 0, 0},
    {"limit", API_J_INT, 0, 0},
    {"enabled", API_J_BOOL, 0, 0},
    {"notes", API_J_STRING | API_J_NULL, 0, 0},
    {"tags", API_J_ARRAY, 0, 0},
    {"settings", API_J_OBJECT | API_J_NULL, 0, 0},
    {"id", API_J_INT | API_J_STRING, 0, 20},
};
#define NSPEC ((int)(sizeof spec / sizeof spec[0]))

static void fields_bad(const char *body, const char *msg, int line) {
  char m[256] = "";
  cJSON *j = api_json_parse(body, strlen(body), m, sizeof m);
  int r = j ? api_fields_check(j, spec, NSPEC, m, sizeof m) : 99;
  check_count_++;
  if (r != -1 || strcmp(m, msg) != 0) {
    fprintf(stderr, "%s:%d: fields of '%s' gave %d '%s', expected '%s'\n",
            __FILE__, line, body, r, m, msg);
    check_failures_++;
  }
  cJSON_Delete(j);
}
#define FIELDS_BAD(body, msg) fields_bad(body, msg, __LINE__)

static void test_fields(void) {
  char m[256];
  const char *good = "{\"name\":\"cam \xc3\xa9\",\"threshold\":0.5,"
                     "\"limit\":-3,\"enabled\":false,\"notes\":null,"
                     "\"tags\":[],\"settings\":{\"x\":1},\"id\":7}";
  cJSON *j = api_json_parse(good, strlen(good), m, sizeof m);
  CHECK(j != NULL);
  CHECK_INT_EQ(api_fields_check(j, spec, NSPEC, m, sizeof m), 0);
  CHECK_STR_EQ(api_json_str(j, "name"), "cam \xc3\xa9");
  CHECK(api_json_str(j, "notes") == NULL);
  CHECK(api_json_str(j, "absent") == NULL);
  double d = 0;
  CHECK_INT_EQ(api_json_num(j, "threshold", &d), 1);
  CHECK_NEAR(d, 0.5, 0, 0);
  CHECK_INT_EQ(api_json_num(j, "name", &d), 0);
  int64_t v = 0;
  CHECK_INT_EQ(api_json_int(j, "limit", &v), 1);
  CHECK_INT_EQ(v, -3);
  CHECK_INT_EQ(api_json_int(j, "threshold", &v), 0);
  int bv = 7;
  CHECK_INT_EQ(api_json_bool(j, "enabled", &bv), 1);
  CHECK_INT_EQ(bv, 0);
  CHECK_INT_EQ(api_json_bool(j, "limit", &bv), 0);
  CHECK_INT_EQ(api_json_has(j, "notes"), 1);
  CHECK_INT_EQ(api_json_has(j, "nope"), 0);
  cJSON_Delete(j);

  /* Integers are numbers too; only required members are needed. */
  j = JP("{\"name\":\"a\",\"threshold\":1}");
  CHECK_INT_EQ(api_fields_check(j, spec, NSPEC, m, sizeof m), 0);
  cJSON_Delete(j);
  j = JP("{\"name\":\"a\",\"limit\":1e3}");
  CHECK_INT_EQ(api_fields_check(j, spec, NSPEC, m, sizeof m), 0);
  cJSON_Delete(j);

  FIELDS_BAD("{\"name\":\"a\",\"x\":1}", "unknown field 'x'");
  FIELDS_BAD("{\"name\":\"a\",\"threshold\":\"0.5\"}",
             "field 'threshold' must be a number, not a string");
  FIELDS_BAD("{\"name\":\"a\",\"enabled\":1}",
             "field 'enabled' must be true or false, not a number");
  FIELDS_BAD("{\"name\":\"a\",\"notes\":5}",
             "field 'notes' must be a string or null, not a number");
  FIELDS_BAD("{\"name\":\"a\",\"settings\":[]}",
             "field 'settings' must be an object or null, not an array");
  FIELDS_BAD("{\"name\":\"a\",\"tags\":{}}",
             "field 'tags' must be an array, not an object");
  FIELDS_BAD("{\"name\":null}", "field 'name' must be a string, not null");
  FIELDS_BAD("{\"name\":\"a\",\"limit\":2.5}",
             "field 'limit' must be an integer, not a fractional number");
  FIELDS_BAD("{\"name\":\"a\",\"limit\":1e19}",
             "field 'limit' must be an integer within int64, not "
             "10000000000000000000");
  FIELDS_BAD("{\"name\":\"a\",\"id\":true}",
             "field 'id' must be a string or an integer, not true or false");
  FIELDS_BAD("{\"name\":\"a\",\"threshold\":1e999}",
             "field 'threshold' is out of range");
  FIELDS_BAD("{}", "missing field 'name'");
  FIELDS_BAD("{\"threshold\":1}", "missing field 'name'");
  FIELDS_BAD("{\"name\":\"a\",\"name\":\"b\"}", "field 'name' is given twice");
  FIELDS_BAD("{\"name\":\"a\",\"limit\":1,\"limit\":1}",
             "field 'limit' is given twice");
  char big[400];
  int k = snprintf(big, sizeof big, "{\"name\":\"");
  memset(big + k, 'a', 128);
  snprintf(big + k + 128, sizeof big - (size_t)k - 128, "\"}");
  FIELDS_BAD(big, "field 'name' is longer than 127 bytes");
  big[k + 127] = '"';
  big[k + 128] = '}';
  big[k + 129] = '\0';
  j = api_json_parse(big, strlen(big), m, sizeof m);
  CHECK_INT_EQ(api_fields_check(j, spec, NSPEC, m, sizeof m), 0);
  cJSON_Delete(j);
  FIELDS_BAD("{\"name\":\"a\",\"id\":\"123456789012345678901\"}",
             "field 'id' is longer than 20 bytes");
  /* A long unknown name is cut in the message; control characters shown
   * as '?'. */
  FIELDS_BAD("{\"a\\nb\":1}", "unknown field 'a?b'");

  /* A tree built without api_json_parse: invalid UTF-8 in a value, a
   * value that is not an object. */
  j = cJSON_CreateObject();
  cJSON_AddStringToObject(j, "name", "\xff");
  CHECK_INT_EQ(api_fields_check(j, spec, NSPEC, m, sizeof m), -1);
  CHECK_STR_EQ(m, "field 'name' is not valid UTF-8");
  cJSON_Delete(j);
  j = cJSON_CreateArray();
  CHECK_INT_EQ(api_fields_check(j, spec, NSPEC, m, sizeof m), -1);
  CHECK_STR_EQ(m, "expected a JSON object");
  cJSON_Delete(j);
  CHECK_INT_EQ(api_fields_check(NULL, spec, NSPEC, NULL, 0), -1);
  /* Default string limit: ARGUS_STORE_TEXT_MAX - 1. */
  static const api_field notes_only[] = {{"notes", API_J_STRING, 1, 0}};
  char *txt = malloc(2000);
  memset(txt, 'n', 1023);
  txt[1023] = '\0';
  j = cJSON_CreateObject();
  cJSON_AddStringToObject(j, "notes", txt);
  CHECK_INT_EQ(api_fields_check(j, notes_only, 1, m, sizeof m), 0);
  cJSON_Delete(j);
  memset(txt, 'n', 1024);
  txt[1024] = '\0';
  j = cJSON_CreateObject();
  cJSON_AddStringToObject(j, "notes", txt);
  CHECK_INT_EQ(api_fields_check(j, notes_only, 1, m, sizeof m), -1);
  CHECK_STR_EQ(m, "field 'notes' is longer than 1023 bytes");
  cJSON_Delete(j);
  free(txt);
}

/* ---- ids, times, names ----------------------------------------------------- */

static void test_values(void) {
  int64_t v = 42;
  CHECK_INT_EQ(api_id_parse("1", &v), 0);
  CHECK_INT_EQ(v, 1);
  CHECK_INT_EQ(api_id_parse("9223372036854775807", &v), 0);
  CHECK(v == INT64_MAX);
  v = 42;
  const char *badids[] = {"0",
                          "-1",
                          "+1",
                          "01",
                          "00",
                          "",
                          " 1",
                          "1 ",
                          "1a",
                          "9223372036854775808",
                          "99999999999999999999",
                          "0x10",
                          "1.0",
                          "１"};
  for (size_t i = 0; i < sizeof badids / sizeof badids[0]; i++) {
    if (api_id_parse(badids[i], &v) != -1) {
      fprintf(stderr, "api_id_parse('%s') accepted\n", badids[i]);
      check_failures_++;
    }
    check_count_++;
  }
  CHECK_INT_EQ(v, 42);
  CHECK_INT_EQ(api_id_parse(NULL, &v), -1);
  CHECK_INT_EQ(api_cursor_parse(NULL, &v), 0);
  CHECK_INT_EQ(v, 0);
  CHECK_INT_EQ(api_cursor_parse("77", &v), 0);
  CHECK_INT_EQ(v, 77);
  CHECK_INT_EQ(api_cursor_parse("", &v), -1);
  CHECK_INT_EQ(api_cursor_parse("0", &v), -1);

  char now[ARGUS_STORE_TIME_MAX];
  argus_store_now(now);
  CHECK(api_time_param_ok(now));
  CHECK(api_time_param_ok("2024-05-01T12:34:56Z"));
  CHECK(api_time_param_ok("2024-05-01T12:34:56.789Z"));
  CHECK(api_time_param_ok("2024-05-01T12:34:56+02:00"));
  CHECK(!api_time_param_ok("2024-05-01"));
  CHECK(!api_time_param_ok("2024-02-30T00:00:00Z"));
  CHECK(!api_time_param_ok("yesterday"));
  CHECK(!api_time_param_ok(""));
  CHECK(!api_time_param_ok(NULL));
  CHECK(!api_time_param_ok("2024-05-01T12:34:56Z; DROP TABLE alerts"));

  CHECK(api_name_ok("Entrance 1"));
  CHECK(api_name_ok("caf\xc3\xa9-north_2.v"));
  CHECK(api_name_ok("a"));
  char m[128];
  const struct {
    const char *s, *msg;
  } badnames[] = {
      {"", "camera name is empty"},
      {"../etc", "camera name contains '/'"},
      {"a\\b", "camera name contains '\\'"},
      {"..", "camera name must not be '.' or contain '..'"},
      {"a..b", "camera name must not be '.' or contain '..'"},
      {".", "camera name must not be '.' or contain '..'"},
      {"a\tb", "camera name contains a control character"},
      {"a\x7f", "camera name contains a control character"},
      {"a\xc2\x85", "camera name contains a control character"},
      {"\xc3\x28", "camera name is not valid UTF-8"},
      {" a", "camera name begins or ends with a blank"},
      {"a ", "camera name begins or ends with a blank"},
  };
  for (size_t i = 0; i < sizeof badnames / sizeof badnames[0]; i++) {
    CHECK(!api_name_ok(badnames[i].s));
    CHECK_INT_EQ(api_name_check(badnames[i].s, "camera name", m, sizeof m), -1);
    CHECK_STR_EQ(m, badnames[i].msg);
  }
  char longname[200];
  memset(longname, 'x', 127);
  longname[127] = '\0';
  CHECK(api_name_ok(longname));
  longname[127] = 'x';
  longname[128] = '\0';
  CHECK(!api_name_ok(longname));
  CHECK_INT_EQ(api_name_check(longname, NULL, m, sizeof m), -1);
  CHECK_STR_EQ(m, "name is longer than 127 bytes");
  CHECK(!api_name_ok(NULL));

  CHECK(api_utf8_valid("\xf0\x9f\x98\x80", 4));
  CHECK(!api_utf8_valid("\xf0\x9f\x98", 3));
  CHECK(!api_utf8_valid("\xc0\xaf", 2));         /* overlong '/' */
  CHECK(!api_utf8_valid("\xf4\x90\x80\x80", 4)); /* past U+10FFFF */
}

/* ---- images ---------------------------------------------------------------- */

static argus_err img(const void *d, size_t n, long max, int *w, int *h,
                     argus_error_detail *err) {
  memset(err, 0, sizeof *err);
  return api_image_check(d, n, max, w, h, err);
}

static void test_images(void) {
  argus_error_detail err;
  int w = 0, h = 0;

  /* A real JPEG from the argus encoder. */
  argus_image im;
  CHECK_OK(argus_image_alloc(&im, 37, 21, ARGUS_PIX_RGB8));
  for (int y = 0; y < im.height; y++)
    memset(im.data[0] + (size_t)y * im.stride[0], y * 9, (size_t)im.width * 3);
  uint8_t *jpg = NULL;
  size_t jn = 0;
  CHECK_OK(argus_image_encode_jpeg(&im, 90, &jpg, &jn));
  CHECK_INT_EQ(img(jpg, jn, 0, &w, &h, &err), ARGUS_OK);
  CHECK_INT_EQ(w, 37);
  CHECK_INT_EQ(h, 21);
  /* Truncated inside the headers, and before the frame header. */
  for (size_t cut = 3; cut < 40 && cut < jn; cut += 5) {
    argus_err e = img(jpg, cut, 0, &w, &h, &err);
    CHECK_INT_EQ(e, ARGUS_E_CORRUPT);
  }
  CHECK_INT_EQ(img(jpg, 2, 0, &w, &h, &err), ARGUS_E_UNSUPPORTED);
  /* A frame header that declares a bomb: patch SOF0's size. */
  uint8_t *bomb = malloc(jn);
  memcpy(bomb, jpg, jn);
  int patched = 0;
  for (size_t i = 2; i + 9 < jn; i++)
    if (bomb[i] == 0xff && bomb[i + 1] >= 0xc0 && bomb[i + 1] <= 0xc2) {
      bomb[i + 5] = 30000 >> 8, bomb[i + 6] = 30000 & 255;
      bomb[i + 7] = 30000 >> 8, bomb[i + 8] = 30000 & 255;
      patched = 1;
      break;
    }
  CHECK(patched);
  CHECK_INT_EQ(img(bomb, jn, 0, &w, &h, &err), ARGUS_E_LIMIT);
  CHECK_STR_EQ(err.msg,
               "image is 30000x30000 pixels, more than the 50 megapixels "
               "accepted");
  free(bomb);
  /* A caller's own limit. */
  CHECK_INT_EQ(img(jpg, jn, 500, &w, &h, &err), ARGUS_E_LIMIT);
  CHECK_STR_EQ(err.msg, "image is 37x21 pixels, more than the 500 pixels "
                        "accepted");
  free(jpg);

  /* A real PNG from libpng. */
  png_image pi;
  memset(&pi, 0, sizeof pi);
  pi.version = PNG_IMAGE_VERSION;
  pi.width = 37;
  pi.height = 21;
  pi.format = PNG_FORMAT_RGB;
  png_alloc_size_t pn = 0;
  CHECK(png_image_write_to_memory(&pi, NULL, &pn, 0, im.data[0], im.stride[0],
                                  NULL));
  uint8_t *png = malloc(pn);
  CHECK(png_image_write_to_memory(&pi, png, &pn, 0, im.data[0], im.stride[0],
                                  NULL));
  argus_image_free(&im);
  w = h = 0;
  CHECK_INT_EQ(img(png, pn, 0, &w, &h, &err), ARGUS_OK);
  CHECK_INT_EQ(w, 37);
  CHECK_INT_EQ(h, 21);
  /* The same data decodes: the check agrees with the decoder. */
  argus_image dec;
  CHECK_OK(argus_image_decode(png, pn, ARGUS_PIX_RGB8, &dec, NULL));
  CHECK_INT_EQ(dec.width, 37);
  argus_image_free(&dec);
  CHECK_INT_EQ(img(png, 20, 0, &w, &h, &err), ARGUS_E_CORRUPT);
  CHECK_STR_EQ(err.msg, "truncated PNG header");
  CHECK_INT_EQ(img(png, 7, 0, &w, &h, &err), ARGUS_E_UNSUPPORTED);
  /* Forged IHDR: 60000 x 60000. */
  png[16] = 0, png[17] = 0, png[18] = 60000 >> 8, png[19] = 60000 & 255;
  png[20] = 0, png[21] = 0, png[22] = 60000 >> 8, png[23] = 60000 & 255;
  w = h = -1;
  CHECK_INT_EQ(img(png, pn, 0, &w, &h, &err), ARGUS_E_LIMIT);
  CHECK_STR_EQ(err.msg, "image is 60000x60000 pixels, more than the 50 "
                        "megapixels accepted");
  CHECK_INT_EQ(w, -1);
  /* Within the pixel count but one side past the decoder's limit. */
  png[18] = 0, png[19] = 1;                    /* width 1 */
  png[21] = 0x01, png[22] = 0x00, png[23] = 0; /* height 65536 */
  CHECK_INT_EQ(img(png, pn, 0, &w, &h, &err), ARGUS_E_LIMIT);
  CHECK_HAS(err.msg, "more than 16384 on a side");
  /* Zero, and over 2^31-1. */
  png[16] = png[17] = png[18] = png[19] = 0;
  CHECK_INT_EQ(img(png, pn, 0, &w, &h, &err), ARGUS_E_CORRUPT);
  png[16] = 0x80;
  CHECK_INT_EQ(img(png, pn, 0, &w, &h, &err), ARGUS_E_CORRUPT);
  /* First chunk not IHDR. */
  png[12] = 'I', png[13] = 'D', png[14] = 'A', png[15] = 'T';
  CHECK_INT_EQ(img(png, pn, 0, &w, &h, &err), ARGUS_E_CORRUPT);
  CHECK_STR_EQ(err.msg, "PNG: first chunk is not IHDR");
  free(png);

  /* Other formats and nothing. */
  CHECK_INT_EQ(img("GIF89a\x01\x00\x01\x00\x00\x00\x00", 13, 0, &w, &h, &err),
               ARGUS_E_UNSUPPORTED);
  CHECK_STR_EQ(err.msg, "not a JPEG or PNG image");
  CHECK_INT_EQ(img("BM", 2, 0, &w, &h, &err), ARGUS_E_UNSUPPORTED);
  CHECK_INT_EQ(img("", 0, 0, &w, &h, &err), ARGUS_E_UNSUPPORTED);
  CHECK_INT_EQ(img(NULL, 0, 0, &w, &h, &err), ARGUS_E_UNSUPPORTED);
  /* JPEG oddities: EOI or SOS before the frame, a zero length. */
  CHECK_INT_EQ(img("\xff\xd8\xff\xd9", 4, 0, &w, &h, &err), ARGUS_E_CORRUPT);
  CHECK_HAS(err.msg, "ends before its frame header");
  CHECK_INT_EQ(img("\xff\xd8\xff\xda\x00\x02", 6, 0, &w, &h, &err),
               ARGUS_E_CORRUPT);
  CHECK_INT_EQ(img("\xff\xd8\xff\xe0\x00\x00", 6, 0, &w, &h, &err),
               ARGUS_E_CORRUPT);
  CHECK_INT_EQ(img("\xff\xd8\xff\xe0\x00\x04zz\x00", 9, 0, &w, &h, &err),
               ARGUS_E_CORRUPT);
  CHECK_HAS(err.msg, "no marker at byte 8");
  /* A hand-made SOF2 (progressive) after fill bytes: 640x480. */
  const unsigned char sof2[] = {0xff, 0xd8, 0xff, 0xff, 0xc2, 0x00, 0x11,
                                0x08, 0x01, 0xe0, 0x02, 0x80, 0x03};
  CHECK_INT_EQ(img(sof2, sizeof sof2, 0, &w, &h, &err), ARGUS_OK);
  CHECK_INT_EQ(w, 640);
  CHECK_INT_EQ(h, 480);
  /* Its height zero (DNL): refused. */
  const unsigned char sof0z[] = {0xff, 0xd8, 0xff, 0xc0, 0x00, 0x11,
                                 0x08, 0x00, 0x00, 0x02, 0x80, 0x03};
  CHECK_INT_EQ(img(sof0z, sizeof sof0z, 0, &w, &h, &err), ARGUS_E_CORRUPT);
}

int main(void) {
  test_multipart_good();
  test_multipart_bad();
  test_multipart_roundtrip();
  test_json_parse();
  test_fields();
  test_values();
  test_images();
  return check_report("test_api_parse");
}
