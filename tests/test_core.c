/* Core's shared pieces: the JSON writer, RFC 3339, the int64 hash map, the
 * interrupt flag, error details and the SHA-256 hex encoder. */
#include <cjson/cJSON.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "argus/core.h"
#include "argus/gallery.h"
#include "argus/image.h"
#include "argus/store.h"
#include "check.h"

/* Parses with cJSON and checks the UTF-8: 1 when text is valid JSON. */
static int json_ok(const char *text, size_t n) {
  if (!argus_utf8_valid(text, n))
    return 0;
  cJSON *doc = cJSON_ParseWithLength(text, n);
  int ok = doc != NULL;
  cJSON_Delete(doc);
  return ok;
}

static void test_json_basic(void) {
  char buf[512];
  argus_json j;
  argus_json_init(&j, buf, sizeof buf);
  argus_json_obj_begin(&j, NULL);
  argus_json_str(&j, "s", "a\"b\\c\n\t\x01\x7f/");
  argus_json_str(&j, "nul", NULL);
  argus_json_strn(&j, "n", "x\0y", 3);
  argus_json_int(&j, "i", -42);
  argus_json_uint(&j, "u", UINT64_MAX);
  argus_json_num(&j, "f", 0.125, 2);
  argus_json_num(&j, "g", 0.1, -9);
  argus_json_num(&j, "inf", 1.0 / 0.0, 3);
  argus_json_num(&j, "nan", nan(""), -9);
  argus_json_bool(&j, "t", 1);
  argus_json_bool(&j, "F", 0);
  argus_json_null(&j, "z");
  argus_json_arr_begin(&j, "a");
  argus_json_int(&j, NULL, 1);
  argus_json_obj_begin(&j, NULL);
  argus_json_arr_begin(&j, "e");
  argus_json_arr_end(&j);
  argus_json_obj_end(&j);
  argus_json_raw(&j, NULL, "[1,2]", 5);
  argus_json_arr_end(&j);
  argus_json_obj_begin(&j, "o");
  argus_json_obj_end(&j);
  argus_json_obj_end(&j);
  size_t n = argus_json_finish(&j);
  CHECK(n > 0);
  CHECK_INT_EQ(n, strlen(buf));
  CHECK(json_ok(buf, n));
  CHECK(strstr(buf, "\"s\":\"a\\\"b\\\\c\\n\\t\\u0001\\u007f/\"") != NULL);
  CHECK(strstr(buf, "\"n\":\"x\\u0000y\"") != NULL);
  CHECK(strstr(buf, "\"u\":18446744073709551615") != NULL);
  CHECK(strstr(buf, "\"f\":0.12") != NULL || strstr(buf, "\"f\":0.13"));
  CHECK(strstr(buf, "\"g\":0.1,") != NULL);
  CHECK(strstr(buf, "\"inf\":null,\"nan\":null") != NULL);
  CHECK(strstr(buf, "\"a\":[1,{\"e\":[]},[1,2]],\"o\":{}}") != NULL);

  /* A bare top-level scalar and array. */
  argus_json_init(&j, buf, sizeof buf);
  argus_json_str(&j, NULL, "x");
  CHECK_INT_EQ(argus_json_finish(&j), 3);
  CHECK(strcmp(buf, "\"x\"") == 0);
  argus_json_init(&j, buf, sizeof buf);
  argus_json_arr_begin(&j, NULL);
  argus_json_arr_end(&j);
  CHECK_INT_EQ(argus_json_finish(&j), 2);
  CHECK(strcmp(buf, "[]") == 0);
}

static void test_json_utf8(void) {
  /* Valid multi-byte text passes through; every invalid byte becomes
   * U+FFFD. */
  const char *valid = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80";
  const char *bad[] = {"\xff",         "\xc3",         "\xc0\xaf",
                       "\xe0\x80\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80",
                       "a\x80z",       "\xf0\x9f\x98", "\xc3\xa9\xc3"};
  char buf[256];
  argus_json j;
  argus_json_init(&j, buf, sizeof buf);
  argus_json_str(&j, NULL, valid);
  size_t n = argus_json_finish(&j);
  CHECK(n == strlen(valid) + 2);
  CHECK(strncmp(buf + 1, valid, strlen(valid)) == 0);
  CHECK(argus_utf8_valid(valid, strlen(valid)));
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    CHECK(!argus_utf8_valid(bad[i], strlen(bad[i])));
    argus_json_init(&j, buf, sizeof buf);
    argus_json_obj_begin(&j, NULL);
    argus_json_str(&j, bad[i], bad[i]); /* keys are escaped the same way */
    argus_json_obj_end(&j);
    n = argus_json_finish(&j);
    CHECK(n > 0);
    CHECK(json_ok(buf, n));
    CHECK(strstr(buf, "\xef\xbf\xbd") != NULL);
  }
  argus_json_init(&j, buf, sizeof buf);
  argus_json_str(&j, NULL, "a\x80z");
  n = argus_json_finish(&j);
  CHECK(strcmp(buf, "\"a\xef\xbf\xbdz\"") == 0);
  /* Random bytes always give valid JSON. */
  srand(7);
  for (int it = 0; it < 2000; it++) {
    char in[64];
    size_t len = (size_t)(rand() % 64);
    for (size_t i = 0; i < len; i++)
      in[i] = (char)(rand() & 0xff);
    char out[1024];
    argus_json_init(&j, out, sizeof out);
    argus_json_arr_begin(&j, NULL);
    argus_json_strn(&j, NULL, in, len);
    argus_json_arr_end(&j);
    n = argus_json_finish(&j);
    CHECK(n > 0);
    if (!json_ok(out, n) || argus_json_validate(out, n, 0, NULL) != ARGUS_OK) {
      CHECK(0);
      break;
    }
  }
}

static void test_json_fputs(void) {
  char *text = NULL;
  size_t size = 0;
  FILE *f = open_memstream(&text, &size);
  CHECK(f != NULL);
  if (!f)
    return;
  const char in[] = "a\"\\\n\x01\x7f\xff caf\xc3\xa9";
  CHECK_INT_EQ(argus_json_fputs(f, in, sizeof in - 1), 0);
  fputc(' ', f);
  CHECK_INT_EQ(argus_json_fputs(f, NULL, 0), 0);
  fclose(f);
  /* The same bytes as the buffer writer. */
  char buf[128];
  argus_json j;
  argus_json_init(&j, buf, sizeof buf);
  argus_json_strn(&j, NULL, in, sizeof in - 1);
  size_t n = argus_json_finish(&j);
  CHECK(n > 0 && size == n + 5);
  CHECK(text && strncmp(text, buf, n) == 0);
  CHECK(text && strcmp(text + n, " null") == 0);
  free(text);
}

static void test_json_overflow(void) {
  /* Every prefix size: either the whole document or 0, and the buffer always
   * holds a NUL-terminated valid prefix that closes. */
  char full[256];
  size_t want = 0;
  for (size_t cap = 0; cap <= sizeof full; cap++) {
    char buf[256];
    argus_json j;
    argus_json_init(&j, cap ? buf : NULL, cap);
    argus_json_obj_begin(&j, NULL);
    argus_json_str(&j, "name", "caf\xc3\xa9\n");
    argus_json_arr_begin(&j, "list");
    for (int i = 0; i < 5; i++)
      argus_json_int(&j, NULL, i * 1000);
    argus_json_arr_end(&j);
    argus_json_num(&j, "x", 1.5, 3);
    argus_json_obj_end(&j);
    size_t n = argus_json_finish(&j);
    if (cap == sizeof full) {
      want = n;
      memcpy(full, buf, n + 1);
    }
    if (n) {
      CHECK(j.len + 1 <= cap);
      CHECK(!j.overflow);
    } else {
      CHECK(j.overflow);
      if (cap)
        CHECK(strlen(buf) == j.len && j.len < cap);
    }
  }
  CHECK(want > 0);
  CHECK(json_ok(full, want));
  /* Sticky: nothing after the first overflow is written, even if small. */
  char buf[16];
  argus_json j;
  argus_json_init(&j, buf, sizeof buf);
  argus_json_obj_begin(&j, NULL);
  argus_json_str(&j, "k", "a long value that does not fit");
  CHECK(j.overflow);
  size_t len = j.len;
  argus_json_int(&j, "i", 1);
  CHECK_INT_EQ(j.len, len);
  argus_json_obj_end(&j);
  CHECK_INT_EQ(argus_json_finish(&j), 0);
  /* Lossy: the member that does not fit is dropped, later ones go in. */
  char big[64];
  argus_json_init(&j, big, sizeof big);
  argus_json_lossy(&j);
  argus_json_obj_begin(&j, NULL);
  argus_json_str(&j, "a", "1");
  argus_json_str(&j, "k", "a long value that does not fit in sixty-four bytes at all");
  argus_json_int(&j, "i", 7);
  argus_json_obj_end(&j);
  size_t n = argus_json_finish(&j);
  CHECK_INT_EQ(j.dropped, 1);
  CHECK(strcmp(big, "{\"a\":\"1\",\"i\":7}") == 0);
  CHECK_INT_EQ(n, strlen(big));
}

static void test_json_misuse(void) {
  char buf[128];
  argus_json j;
  /* A key at the top level. */
  argus_json_init(&j, buf, sizeof buf);
  argus_json_int(&j, "k", 1);
  CHECK(j.misuse);
  CHECK_INT_EQ(argus_json_finish(&j), 0);
  /* No key in an object. */
  argus_json_init(&j, buf, sizeof buf);
  argus_json_obj_begin(&j, NULL);
  argus_json_int(&j, NULL, 1);
  CHECK_INT_EQ(argus_json_finish(&j), 0);
  /* A key in an array. */
  argus_json_init(&j, buf, sizeof buf);
  argus_json_arr_begin(&j, NULL);
  argus_json_int(&j, "k", 1);
  CHECK_INT_EQ(argus_json_finish(&j), 0);
  /* Unbalanced: left open, wrong closer, closed twice, two top values. */
  argus_json_init(&j, buf, sizeof buf);
  argus_json_obj_begin(&j, NULL);
  CHECK_INT_EQ(argus_json_finish(&j), 0);
  argus_json_init(&j, buf, sizeof buf);
  argus_json_obj_begin(&j, NULL);
  argus_json_arr_end(&j);
  CHECK_INT_EQ(argus_json_finish(&j), 0);
  argus_json_init(&j, buf, sizeof buf);
  argus_json_obj_begin(&j, NULL);
  argus_json_obj_end(&j);
  argus_json_obj_end(&j);
  CHECK_INT_EQ(argus_json_finish(&j), 0);
  argus_json_init(&j, buf, sizeof buf);
  argus_json_int(&j, NULL, 1);
  argus_json_int(&j, NULL, 2);
  CHECK_INT_EQ(argus_json_finish(&j), 0);
  /* Nothing written. */
  argus_json_init(&j, buf, sizeof buf);
  CHECK_INT_EQ(argus_json_finish(&j), 0);
  /* Depth limit. */
  char deep[512];
  argus_json_init(&j, deep, sizeof deep);
  for (int i = 0; i < ARGUS_JSON_MAX_DEPTH; i++)
    argus_json_arr_begin(&j, NULL);
  CHECK(!j.misuse);
  argus_json_arr_begin(&j, NULL);
  CHECK(j.misuse);
}

static void test_json_validate(void) {
  const char *good[] = {"{}", " [1] ", "\"x\"", "0", "-0.5e-3", "true",
                        ("{\"a\":[1,2.5e3,-0.1,true,null],\"b\":{\"c\":"
                         "\"\\u00e9\\n caf\xc3\xa9\"}}")};
  const char *bad[] = {"",         "{",          "{\"a\"}",     "{\"a\":01}",
                       "[1,]",     "\"\x01\"",  "{} x",          "tru",
                       "\"\xff\"", "\"\xed\xa0\x80\"", "\"\\x\"",
                       "\"\\u12g4\"", "1.", "-", "[1 2]"};
  argus_error_detail d;
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
    CHECK_OK(argus_json_validate(good[i], strlen(good[i]), 0, &d));
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    CHECK_INT_EQ(argus_json_validate(bad[i], strlen(bad[i]), 0, &d),
                 ARGUS_E_CORRUPT);
    CHECK(strstr(d.msg, "invalid JSON at offset") == d.msg);
  }
  CHECK_INT_EQ(argus_json_validate("[0]\0", 4, 0, NULL), ARGUS_E_CORRUPT);
  CHECK_INT_EQ(argus_json_validate(NULL, 0, 0, NULL), ARGUS_E_INVALID_ARG);
  /* Depth: 3 levels pass a limit of 3, 4 do not. */
  CHECK_OK(argus_json_validate("[[[1]]]", 7, 3, NULL));
  CHECK_INT_EQ(argus_json_validate("[[[[1]]]]", 9, 3, NULL), ARGUS_E_CORRUPT);
  /* What the writer produces always validates. */
  char buf[128];
  argus_json j;
  argus_json_init(&j, buf, sizeof buf);
  argus_json_obj_begin(&j, NULL);
  argus_json_str(&j, "k\x01", "\xc3(\x7f\"");
  argus_json_num(&j, "n", 1e300, -17);
  argus_json_obj_end(&j);
  size_t n = argus_json_finish(&j);
  CHECK(n > 0);
  CHECK_OK(argus_json_validate(buf, n, 0, NULL));
}

static void test_rfc3339(void) {
  char t[ARGUS_RFC3339_MAX];
  argus_rfc3339(0, t);
  CHECK(strcmp(t, "1970-01-01T00:00:00.000Z") == 0);
  argus_rfc3339(1796454894123456789ll, t);
  CHECK(strcmp(t, "2026-12-05T07:14:54.123Z") == 0);
  argus_rfc3339(-1, t); /* floor, not toward zero */
  CHECK(strcmp(t, "1969-12-31T23:59:59.999Z") == 0);
  argus_rfc3339(951782400000000000ll, t); /* leap day of a 400 year */
  CHECK(strcmp(t, "2000-02-29T00:00:00.000Z") == 0);

  int64_t ns;
  CHECK_OK(argus_rfc3339_parse("2026-12-05T07:14:54.123456789Z", &ns));
  CHECK_INT_EQ(ns, 1796454894123456789ll);
  CHECK_OK(argus_rfc3339_parse("2026-12-05t09:14:54.1+02:00", &ns));
  CHECK_INT_EQ(ns, 1796454894100000000ll);
  CHECK_OK(argus_rfc3339_parse("2026-12-04 23:44:54.1234567891-07:30", &ns));
  CHECK_INT_EQ(ns, 1796454894123456789ll);
  CHECK_OK(argus_rfc3339_parse("1969-12-31T23:59:59.999Z", &ns));
  CHECK_INT_EQ(ns, -1000000);
  CHECK_OK(argus_rfc3339_parse("2016-12-31T23:59:60Z", &ns));
  argus_rfc3339(ns, t);
  CHECK(strcmp(t, "2017-01-01T00:00:00.000Z") == 0);
  /* Round trip over a spread of times, both directions. */
  for (int64_t s = -4000000000ll; s < 9000000000ll; s += 123456789) {
    int64_t w = s * 1000000000 + (s & 0x3ff) * 1000000, back;
    argus_rfc3339(w, t);
    CHECK_OK(argus_rfc3339_parse(t, &back));
    CHECK_INT_EQ(back, w);
  }
  const char *bad[] = {"",
                       "2024-05-01",
                       "2024-05-01T12:34:56",
                       "2024-05-01T12:34Z",
                       "2024-5-01T12:34:56Z",
                       "2024-05-01X12:34:56Z",
                       "2024-13-01T00:00:00Z",
                       "2024-00-01T00:00:00Z",
                       "2023-02-29T00:00:00Z",
                       "2024-04-31T00:00:00Z",
                       "2024-05-01T24:00:00Z",
                       "2024-05-01T12:60:00Z",
                       "2024-05-01T12:00:61Z",
                       "2024-05-01T12:00:00.Z",
                       "2024-05-01T12:00:00+0200",
                       "2024-05-01T12:00:00+24:00",
                       "2024-05-01T12:00:00Z ",
                       "0000-01-01T00:00:00+00:01"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    int64_t sec;
    int32_t nsec;
    CHECK_INT_EQ(argus_rfc3339_parse(bad[i], &ns), ARGUS_E_INVALID_ARG);
    CHECK_INT_EQ(argus_rfc3339_parse_ts(bad[i], &sec, &nsec),
                 ARGUS_E_INVALID_ARG);
  }
  CHECK_INT_EQ(argus_rfc3339_parse(NULL, &ns), ARGUS_E_INVALID_ARG);
  CHECK_INT_EQ(argus_rfc3339_parse("2024-02-29T00:00:00Z", NULL),
               ARGUS_E_INVALID_ARG);
  /* Beyond int64 nanoseconds: LIMIT here, fine in seconds. */
  CHECK_INT_EQ(argus_rfc3339_parse("2999-01-01T00:00:00Z", &ns),
               ARGUS_E_LIMIT);
  int64_t sec;
  int32_t nsec;
  CHECK_OK(argus_rfc3339_parse_ts("9999-12-31T23:59:59.999999999Z", &sec,
                                  &nsec));
  argus_rfc3339_ts(sec, nsec, t);
  CHECK(strcmp(t, "9999-12-31T23:59:59.999Z") == 0);
  CHECK_OK(argus_rfc3339_parse_ts("0000-01-01T00:00:00Z", &sec, &nsec));
  argus_rfc3339_ts(sec, nsec, t);
  CHECK(strcmp(t, "0000-01-01T00:00:00.000Z") == 0);
  argus_rfc3339_ts(INT64_MAX, 0, t);
  CHECK(strcmp(t, "9999-12-31T23:59:59.999Z") == 0);
  argus_rfc3339_ts(INT64_MIN, 0, t);
  CHECK(strcmp(t, "0000-01-01T00:00:00.000Z") == 0);
  /* The wall clock is after this code was written. */
  CHECK(argus_wall_ns() > 1796454894000000000ll);
}

static void test_i64map(void) {
  argus_i64map m;
  argus_i64map_init(&m, 0);
  int64_t v = 0;
  CHECK(!argus_i64map_get(&m, 1, &v));
  CHECK(!argus_i64map_remove(&m, 1, &v));
  CHECK_INT_EQ(argus_i64map_put(&m, ARGUS_I64MAP_NO_KEY, 1),
               ARGUS_E_INVALID_ARG);
  /* Keys that collide in a small table: multiples of the table size after
   * hashing are hard to pick, so use many dense and negative keys. */
  const int N = 20000;
  for (int i = 0; i < N; i++)
    CHECK_OK(argus_i64map_put(&m, (int64_t)i * 7 - 5000, i));
  CHECK_INT_EQ(m.count, N);
  CHECK_OK(argus_i64map_put(&m, -5000, -1)); /* overwrite */
  CHECK_INT_EQ(m.count, N);
  CHECK(argus_i64map_get(&m, -5000, &v) && v == -1);
  CHECK(argus_i64map_get(&m, 0, NULL) == 0 ||
        argus_i64map_get(&m, 0, NULL) == 1); /* 0 is an ordinary key */
  int bad = 0;
  for (int i = 1; i < N; i++)
    if (!argus_i64map_get(&m, (int64_t)i * 7 - 5000, &v) || v != i)
      bad++;
  CHECK_INT_EQ(bad, 0);
  /* Remove every other key; the rest stay reachable across the holes. */
  for (int i = 0; i < N; i += 2)
    CHECK(argus_i64map_remove(&m, (int64_t)i * 7 - 5000, NULL));
  CHECK_INT_EQ(m.count, N / 2);
  bad = 0;
  for (int i = 0; i < N; i++) {
    int has = argus_i64map_get(&m, (int64_t)i * 7 - 5000, &v);
    if (has != (i & 1) || (has && v != i))
      bad++;
  }
  CHECK_INT_EQ(bad, 0);
  /* Iteration sees each remaining key once. */
  size_t it = 0, seen = 0;
  int64_t k, sum = 0;
  while (argus_i64map_next(&m, &it, &k, &v)) {
    seen++;
    sum += v;
  }
  CHECK_INT_EQ(seen, N / 2);
  CHECK_INT_EQ(sum, (int64_t)(N / 2) * (N / 2)); /* 1+3+...+(N-1) */
  argus_i64map_clear(&m);
  CHECK_INT_EQ(m.count, 0);
  CHECK(!argus_i64map_get(&m, 1 * 7 - 5000, NULL));
  argus_i64map_free(&m);

  /* Random churn against a plain array. */
  argus_i64map_init(&m, 0);
  enum { R = 512 };
  int64_t ref[R];
  for (int i = 0; i < R; i++)
    ref[i] = -1;
  srand(11);
  bad = 0;
  for (int step = 0; step < 100000; step++) {
    int key = rand() % R, op = rand() % 3;
    if (op == 0) {
      int64_t val = rand();
      if (argus_i64map_put(&m, key * 0x100000001ll, val) != ARGUS_OK)
        bad++;
      ref[key] = val;
    } else if (op == 1) {
      int had = argus_i64map_remove(&m, key * 0x100000001ll, &v);
      if (had != (ref[key] >= 0) || (had && v != ref[key]))
        bad++;
      ref[key] = -1;
    } else {
      int has = argus_i64map_get(&m, key * 0x100000001ll, &v);
      if (has != (ref[key] >= 0) || (has && v != ref[key]))
        bad++;
    }
  }
  CHECK_INT_EQ(bad, 0);
  argus_i64map_free(&m);

  /* Forced collisions in a 16-slot table: a run of keys with one home slot
   * that wraps past the end, keys homed inside the run, then removals from
   * the front, the middle and the end of the run. */
  argus_i64map_init(&m, 0);
  int64_t same[5], next[2];
  int ns = 0, nn = 0;
  for (int64_t c = 1; ns < 5 || nn < 2; c++) {
    size_t home = (size_t)argus_hash64((uint64_t)c) & 15;
    if (home == 14 && ns < 5)
      same[ns++] = c;
    else if (home == 15 && nn < 2)
      next[nn++] = c;
  }
  for (int i = 0; i < 5; i++)
    CHECK_OK(argus_i64map_put(&m, same[i], 100 + i));
  for (int i = 0; i < 2; i++)
    CHECK_OK(argus_i64map_put(&m, next[i], 200 + i));
  CHECK_INT_EQ(m.cap, 16);
  CHECK(argus_i64map_remove(&m, same[0], &v) && v == 100);
  CHECK(argus_i64map_remove(&m, same[2], &v) && v == 102);
  CHECK(argus_i64map_remove(&m, next[1], &v) && v == 201);
  bad = 0;
  for (int i = 0; i < 5; i++)
    if (argus_i64map_get(&m, same[i], &v) != (i != 0 && i != 2) ||
        (i != 0 && i != 2 && v != 100 + i))
      bad++;
  if (!argus_i64map_get(&m, next[0], &v) || v != 200)
    bad++;
  if (argus_i64map_get(&m, next[1], NULL))
    bad++;
  CHECK_INT_EQ(bad, 0);
  CHECK_INT_EQ(m.count, 4);
  argus_i64map_free(&m);

  /* A capped map; reserve makes puts allocation-free. */
  argus_i64map_init(&m, 3);
  CHECK_OK(argus_i64map_put(&m, 1, 1));
  CHECK_OK(argus_i64map_put(&m, 2, 2));
  CHECK_OK(argus_i64map_put(&m, 3, 3));
  CHECK_INT_EQ(argus_i64map_put(&m, 4, 4), ARGUS_E_LIMIT);
  CHECK_OK(argus_i64map_put(&m, 3, 30)); /* overwrite is fine */
  CHECK_INT_EQ(argus_i64map_reserve(&m, 4), ARGUS_E_LIMIT);
  argus_i64map_free(&m);
  argus_i64map_init(&m, 0);
  CHECK_OK(argus_i64map_reserve(&m, 1000));
  int64_t *keys = m.keys;
  for (int i = 0; i < 1000; i++)
    CHECK_OK(argus_i64map_put(&m, i, i));
  CHECK(m.keys == keys);
  argus_i64map_free(&m);
  argus_i64map_free(NULL);
}

static void test_interrupt(void) {
  CHECK_OK(argus_interrupt_install());
  CHECK(!argus_interrupted());
  raise(SIGINT);
  CHECK(argus_interrupted());
  CHECK(*argus_interrupt_flag() != 0);
  argus_interrupt_reset();
  CHECK(*argus_interrupt_flag() == 0);
  CHECK(!argus_interrupted());
  /* Nested: the inner restore keeps the handler. */
  CHECK_OK(argus_interrupt_install());
  argus_interrupt_restore();
  raise(SIGTERM);
  CHECK(argus_interrupted());
  argus_interrupt_restore();
  /* Restored: SIGINT goes to the previous action again (ignore it here). */
  signal(SIGINT, SIG_IGN);
  argus_interrupt_reset();
  CHECK_OK(argus_interrupt_install());
  argus_interrupt_restore();
  raise(SIGINT);
  CHECK(!argus_interrupted());
  signal(SIGINT, SIG_DFL);
}

static void test_error_detail(void) {
  argus_error_detail e;
  argus_error_detail_set(&e, "no watchlist '%s' (%d)", "vip", 3);
  CHECK(strcmp(e.msg, "no watchlist 'vip' (3)") == 0);
  argus_error_detail_set(NULL, "ignored %d", 1);
  char big[1000];
  memset(big, 'x', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  argus_error_detail_set(&e, "%s", big);
  CHECK_INT_EQ(strlen(e.msg), ARGUS_ERROR_DETAIL_MAX - 1);
  /* Every module's error is the same struct. */
  argus_store_error se;
  argus_image_error ie;
  argus_gallery_error ge;
  argus_error_detail_set(&se, "s");
  argus_error_detail_set(&ie, "i");
  argus_error_detail_set(&ge, "g");
  CHECK_INT_EQ(sizeof ie.msg, ARGUS_ERROR_DETAIL_MAX);
  CHECK(se.msg[0] == 's' && ie.msg[0] == 'i' && ge.msg[0] == 'g');

  char h[65];
  argus_sha256_hex("abc", 3, h);
  CHECK(strcmp(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61"
                  "f20015ad") == 0);
  uint8_t d[32];
  argus_sha256 s;
  argus_sha256_init(&s);
  argus_sha256_update(&s, "ab", 2);
  argus_sha256_update(&s, "c", 1);
  argus_sha256_final(&s, d);
  char h2[65];
  argus_sha256_digest_hex(d, h2);
  CHECK(strcmp(h, h2) == 0);
  const uint8_t raw[3] = {0x00, 0xab, 0xf1};
  argus_hex(raw, 3, h2);
  CHECK(strcmp(h2, "00abf1") == 0);
  argus_hex(raw, 0, h2);
  CHECK(h2[0] == '\0');
}

int main(void) {
  test_json_basic();
  test_json_utf8();
  test_json_overflow();
  test_json_misuse();
  test_json_fputs();
  test_json_validate();
  test_rfc3339();
  test_i64map();
  test_interrupt();
  test_error_detail();
  return check_report("test_core");
}
