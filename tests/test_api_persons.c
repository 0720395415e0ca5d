/* Persons, photos and identify over real HTTP (issue 11): a person made by
 * JSON without photos and one made by a multipart upload from real photos
 * (accepted ones enrolled, refused ones with their reason: no face,
 * several faces, a part that is not an image; a face too small and a
 * duplicate in "check"), search by name and
 * watchlist with paging, the photos listed and their crops served,
 * "check" verdicts that store nothing, identify finding the enrolled
 * person over threshold (multipart and raw body, k, watchlist filter),
 * photos added (422 when none passes) and removed, a rename the index
 * follows, the person's removal taking its crops with it, and the audit
 * rows of identify and enrolment carrying the user and the address.
 *
 * Skips (77) without the models or ../shared/data/stills/
 * face_recognition_examples. */
#include <sys/stat.h>

#include "api_util.h"

#include "argus/image.h"
#include "check.h"
#include "api_shape.h"

#define CHECK_MSG(cond, ...)                                                   \
  do {                                                                         \
    check_count_++;                                                            \
    if (!(cond)) {                                                             \
      fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);                          \
      fprintf(stderr, __VA_ARGS__);                                            \
      fputc('\n', stderr);                                                     \
      check_failures_++;                                                       \
    }                                                                          \
  } while (0)

enum { SUP = ARGUS_ROLE_SUPERVISOR, OPER = ARGUS_ROLE_OPERATOR };

static char data[1024];
static char noface_path[600], tiny_path[600];

/* ---- helpers ------------------------------------------------------------- */

static char *slurp(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  fseek(f, 0, SEEK_END);
  long sz = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *b = malloc(sz > 0 ? (size_t)sz : 1);
  if (b && sz > 0 && fread(b, 1, (size_t)sz, f) != (size_t)sz) {
    free(b);
    b = NULL;
  }
  fclose(f);
  *n = sz > 0 ? (size_t)sz : 0;
  return b;
}

/* A multipart body being built. */
typedef struct mp {
  char *p;
  size_t n, cap;
} mp;

#define BOUNDARY "argusTestBoundary7x"
#define MP_TYPE "multipart/form-data; boundary=" BOUNDARY

static void mp_add(mp *m, const void *d, size_t n) {
  if (m->n + n + 1 > m->cap) {
    size_t cap = m->cap ? m->cap : 65536;
    while (cap < m->n + n + 1)
      cap *= 2;
    m->p = realloc(m->p, cap);
    m->cap = cap;
  }
  memcpy(m->p + m->n, d, n);
  m->n += n;
  m->p[m->n] = '\0';
}

static void mp_text(mp *m, const char *name, const char *value) {
  char h[512];
  int n = snprintf(h, sizeof h,
                   "--" BOUNDARY "\r\nContent-Disposition: form-data; "
                   "name=\"%s\"\r\n\r\n%s\r\n",
                   name, value);
  mp_add(m, h, (size_t)n);
}

static void mp_bytes(mp *m, const char *name, const char *filename,
                     const char *ctype, const void *d, size_t size) {
  char h[768];
  int n = snprintf(h, sizeof h,
                   "--" BOUNDARY "\r\nContent-Disposition: form-data; "
                   "name=\"%s\"; filename=\"%s\"\r\nContent-Type: %s\r\n\r\n",
                   name, filename, ctype);
  mp_add(m, h, (size_t)n);
  mp_add(m, d, size);
  mp_add(m, "\r\n", 2);
}

/* A photo file (path relative to the examples folder, or absolute). */
static void mp_file(mp *m, const char *rel) {
  char path[1600];
  if (rel[0] == '/')
    snprintf(path, sizeof path, "%s", rel);
  else
    snprintf(path, sizeof path, "%s/%s", data, rel);
  size_t n = 0;
  char *b = slurp(path, &n);
  CHECK_MSG(b != NULL, "cannot read %s", path);
  if (!b)
    return;
  const char *base = strrchr(rel, '/') ? strrchr(rel, '/') + 1 : rel;
  mp_bytes(m, "photo", base, strstr(base, ".png") ? "image/png" : "image/jpeg",
           b, n);
  free(b);
}

static void mp_end(mp *m) {
  mp_add(m, "--" BOUNDARY "--\r\n", 4 + strlen(BOUNDARY) + 2);
}

static void mp_free(mp *m) {
  free(m->p);
  memset(m, 0, sizeof *m);
}

/* A call with a body of n bytes; the parsed answer (NULL when not JSON).
 * *status gets the status. */
static cJSON *call_raw(const api_srv *s, const char *method, const char *path,
                       int role, const void *body, size_t n, const char *ctype,
                       long *status) {
  api_resp r;
  *status = 0;
  if (api_call_ex(s, method, path, role, NULL, NULL, body, n, ctype, NULL,
                  &r) != 0) {
    CHECK_MSG(0, "%s %s: no answer", method, path);
    return NULL;
  }
  *status = r.status;
  cJSON *j = api_json(&r);
  if (!j && r.status != 204 && r.size)
    fprintf(stderr, "%s %s: %ld not JSON: %.200s\n", method, path, r.status,
            r.body);
  api_resp_free(&r);
  return j;
}

static cJSON *call(const api_srv *s, const char *method, const char *path,
                   int role, const char *body, long want) {
  api_resp r;
  if (api_call(s, method, path, role, body, NULL, &r) != 0) {
    CHECK_MSG(0, "%s %s: no answer", method, path);
    return NULL;
  }
  CHECK_MSG(r.status == want, "%s %s %s: %ld (want %ld) %.400s", method, path,
            body ? body : "", r.status, want, r.body);
  cJSON *j = api_json(&r);
  api_resp_free(&r);
  return j;
}

/* The served docs/openapi.json: every multipart answer is held against it
 * (api_shape.h). */
static cJSON *g_doc;

static cJSON *call_mp(const api_srv *s, const char *path, int role, const mp *m,
                      long want) {
  long st;
  cJSON *j = call_raw(s, "POST", path, role, m->p, m->n, MP_TYPE, &st);
  char *txt = j ? cJSON_PrintUnformatted(j) : NULL;
  CHECK_MSG(st == want, "POST %s (multipart): %ld (want %ld) %.600s", path, st,
            want, txt ? txt : "");
  if (g_doc && txt) {
    char pat[256];
    api_shape_pattern(path, pat, sizeof pat);
    api_shape_of(g_doc, "POST", pat, st, txt);
  }
  free(txt);
  return j;
}

static const char *jstr(const cJSON *o, const char *k) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
  return cJSON_IsString(v) ? v->valuestring : NULL;
}
static int64_t jint(const cJSON *o, const char *k) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
  return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : -1;
}
static double jnum(const cJSON *o, const char *k) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
  return cJSON_IsNumber(v) ? v->valuedouble : -1e9;
}
static const cJSON *jget(const cJSON *o, const char *k) {
  return cJSON_GetObjectItemCaseSensitive(o, k);
}

static int person_count(const api_srv *s) {
  cJSON *j = call(s, "GET", "/api/v1/persons?limit=1000", SUP, NULL, 200);
  int n = cJSON_GetArraySize(jget(j, "items"));
  cJSON_Delete(j);
  return n;
}

/* The verdict i of an answer's "photos". */
static const cJSON *verdict(const cJSON *j, int i) {
  return cJSON_GetArrayItem(jget(j, "photos"), i);
}

static void check_refused(const cJSON *v, const char *reason,
                          const char *detail_has) {
  const char *r = jstr(v, "reason"), *d = jstr(v, "detail");
  CHECK_MSG(cJSON_IsFalse(jget(v, "accepted")) && r && !strcmp(r, reason) &&
                (!detail_has || (d && strstr(d, detail_has))),
            "want refused '%s' (%s): file %s reason %s detail %s", reason,
            detail_has ? detail_has : "", jstr(v, "file"), r ? r : "-",
            d ? d : "-");
  int listed = 0;
  const cJSON *it;
  cJSON_ArrayForEach(it, jget(v, "reasons")) listed |=
      cJSON_IsString(it) && !strcmp(it->valuestring, reason);
  CHECK_MSG(listed, "reason '%s' not among 'reasons'", reason);
}

/* ---- the flow ------------------------------------------------------------ */

static void make_noface(const char *dir) {
  snprintf(noface_path, sizeof noface_path, "%s/noface.jpg", dir);
  argus_image im;
  CHECK_OK(argus_image_alloc(&im, 320, 240, ARGUS_PIX_RGB8));
  for (int y = 0; y < 240; y++)
    memset(im.data[0] + (size_t)y * im.stride[0], 40 + y / 2, 3 * 320);
  CHECK_OK(argus_image_write_jpeg(&im, 90, noface_path));
  argus_image_free(&im);
  /* Obama at a sixth of his size: a face too small to enrol. */
  char src[1400];
  snprintf(src, sizeof src, "%s/tests/test_images/obama.jpg", data);
  snprintf(tiny_path, sizeof tiny_path, "%s/tiny.jpg", dir);
  argus_image big, small;
  CHECK_OK(argus_image_read_file(src, ARGUS_PIX_RGB8, &big, NULL));
  CHECK_OK(
      argus_image_alloc(&small, big.width / 6, big.height / 6, ARGUS_PIX_RGB8));
  CHECK_OK(argus_image_resize(&big, &small));
  CHECK_OK(argus_image_write_jpeg(&small, 92, tiny_path));
  argus_image_free(&big);
  argus_image_free(&small);
}

static void make_watchlist(const api_srv *s) {
  api_resp r;
  CHECK_OK(api_call(s, "POST", "/api/v1/watchlists", SUP, "{\"name\":\"vip\"}",
                    NULL, &r));
  CHECK_MSG(r.status == 201 || r.status == 200, "create watchlist: %ld %s",
            r.status, r.body);
  api_resp_free(&r);
}

/* Identify obama3.jpg (multipart): the first face's first candidate. */
static cJSON *identify(const api_srv *s, const char *query, int role,
                       long want) {
  mp m = {0};
  mp_file(&m, "tests/test_images/obama3.jpg");
  mp_end(&m);
  char path[256];
  snprintf(path, sizeof path, "/api/v1/identify%s", query);
  cJSON *j = call_mp(s, path, role, &m, want);
  mp_free(&m);
  return j;
}

static const cJSON *best(const cJSON *ident) {
  const cJSON *face = cJSON_GetArrayItem(jget(ident, "faces"), 0);
  return cJSON_GetArrayItem(jget(face, "candidates"), 0);
}

static void flow(const api_srv *s) {
  make_watchlist(s);

  /* JSON, no photos. */
  cJSON *j = call(s, "POST", "/api/v1/persons", SUP,
                  "{\"watchlist\":\"vip\",\"name\":\"Empty Person\","
                  "\"notes\":\"none yet\"}",
                  201);
  const cJSON *p = jget(j, "person");
  int64_t empty_id = jint(p, "id");
  CHECK(empty_id > 0 && jint(p, "photos") == 0);
  CHECK(jstr(p, "watchlist") && !strcmp(jstr(p, "watchlist"), "vip"));
  cJSON_Delete(j);
  /* Strict input. */
  j = call(s, "POST", "/api/v1/persons", SUP,
           "{\"watchlist\":\"vip\",\"name\":\"X\",\"age\":3}", 400);
  CHECK(jstr(j, "message") && strstr(jstr(j, "message"), "age"));
  cJSON_Delete(j);
  j = call(s, "POST", "/api/v1/persons", SUP,
           "{\"watchlist\":\"vip\",\"name\":[1]}", 400);
  CHECK(jstr(j, "message") && strstr(jstr(j, "message"), "name"));
  cJSON_Delete(j);
  cJSON_Delete(call(s, "POST", "/api/v1/persons", SUP,
                    "{\"watchlist\":\"nosuch\",\"name\":\"X\"}", 404));
  CHECK_INT_EQ(person_count(s), 1);

  /* Multipart with photos: two accepted, three refused with reasons. */
  mp m = {0};
  mp_text(&m, "watchlist", "vip");
  mp_text(&m, "name", "Barack Obama");
  mp_text(&m, "external_id", "obama");
  mp_file(&m, "tests/test_images/obama.jpg");
  mp_file(&m, "tests/test_images/obama2.jpg");
  mp_file(&m, noface_path);
  static const char text[] = "these are not the pixels you are looking for";
  mp_bytes(&m, "photo", "notes.txt", "image/jpeg", text, sizeof text - 1);
  mp_file(&m, "examples/two_people.jpg");
  mp_end(&m);
  j = call_mp(s, "/api/v1/persons", SUP, &m, 201);
  mp_free(&m);
  p = jget(j, "person");
  int64_t obama = jint(p, "id");
  CHECK(obama > 0 && jint(p, "photos") == 2 && jint(p, "templates") == 2);
  CHECK_INT_EQ(cJSON_GetArraySize(jget(j, "photos")), 5);
  int64_t photo1 = jint(verdict(j, 0), "photo_id");
  int64_t photo2 = jint(verdict(j, 1), "photo_id");
  CHECK(cJSON_IsTrue(jget(verdict(j, 0), "accepted")) && photo1 > 0);
  CHECK(cJSON_IsTrue(jget(verdict(j, 1), "accepted")) && photo2 > 0);
  CHECK(jnum(verdict(j, 0), "quality") > 0);
  CHECK(jstr(verdict(j, 0), "file") &&
        !strcmp(jstr(verdict(j, 0), "file"), "obama.jpg"));
  check_refused(verdict(j, 2), "no face", NULL);
  check_refused(verdict(j, 3), "unreadable", "not a JPEG or PNG image");
  check_refused(verdict(j, 4), "several faces", NULL);
  cJSON_Delete(j);

  /* None accepted: 422, nothing stored. */
  int before = person_count(s);
  memset(&m, 0, sizeof m);
  mp_text(&m, "watchlist", "vip");
  mp_text(&m, "name", "Nobody");
  mp_file(&m, noface_path);
  mp_end(&m);
  j = call_mp(s, "/api/v1/persons", SUP, &m, 422);
  mp_free(&m);
  CHECK(jstr(j, "error") && !strcmp(jstr(j, "error"), "no_photo_accepted"));
  check_refused(verdict(j, 0), "no face", NULL);
  cJSON_Delete(j);
  CHECK_INT_EQ(person_count(s), before);
  /* The same photo again in the watchlist: a duplicate. */
  memset(&m, 0, sizeof m);
  mp_text(&m, "watchlist", "vip");
  mp_text(&m, "name", "Obama Twice");
  mp_file(&m, "tests/test_images/obama.jpg");
  mp_end(&m);
  j = call_mp(s, "/api/v1/persons", SUP, &m, 422);
  mp_free(&m);
  check_refused(verdict(j, 0), "duplicate", "already enrolled");
  cJSON_Delete(j);
  CHECK_INT_EQ(person_count(s), before);

  /* Search and paging. */
  j = call(s, "GET", "/api/v1/persons?q=OBAMA", SUP, NULL, 200);
  CHECK_INT_EQ(cJSON_GetArraySize(jget(j, "items")), 1);
  CHECK(jint(cJSON_GetArrayItem(jget(j, "items"), 0), "id") == obama);
  cJSON_Delete(j);
  j = call(s, "GET", "/api/v1/persons?watchlist=vip&limit=1", SUP, NULL, 200);
  CHECK_INT_EQ(cJSON_GetArraySize(jget(j, "items")), 1);
  const char *next = jstr(j, "next_cursor");
  CHECK(next != NULL);
  if (next) {
    char path[128];
    snprintf(path, sizeof path,
             "/api/v1/persons?watchlist=vip&limit=1&"
             "cursor=%s",
             next);
    cJSON *j2 = call(s, "GET", path, SUP, NULL, 200);
    CHECK_INT_EQ(cJSON_GetArraySize(jget(j2, "items")), 1);
    CHECK(cJSON_IsNull(jget(j2, "next_cursor")));
    cJSON_Delete(j2);
  }
  cJSON_Delete(j);
  cJSON_Delete(
      call(s, "GET", "/api/v1/persons?watchlist=nosuch", SUP, NULL, 404));
  cJSON_Delete(call(s, "GET", "/api/v1/persons", OPER, NULL, 403));

  /* Photos and their crops. */
  char path[160];
  snprintf(path, sizeof path, "/api/v1/persons/%lld/photos", (long long)obama);
  j = call(s, "GET", path, SUP, NULL, 200);
  CHECK_INT_EQ(cJSON_GetArraySize(jget(j, "items")), 2);
  const cJSON *ph = cJSON_GetArrayItem(jget(j, "items"), 0);
  char url[160];
  snprintf(url, sizeof url, "/api/v1/photos/%lld/image", (long long)photo1);
  CHECK(jstr(ph, "image_url") && !strcmp(jstr(ph, "image_url"), url));
  cJSON_Delete(j);
  api_resp r;
  CHECK_OK(api_call(s, "GET", url, OPER, NULL, NULL, &r));
  CHECK_MSG(r.status == 200 && strstr(r.ctype, "image/jpeg") && r.size > 100 &&
                (unsigned char)r.body[0] == 0xff &&
                (unsigned char)r.body[1] == 0xd8,
            "GET %s: %ld %s %zu bytes", url, r.status, r.ctype, r.size);
  api_resp_free(&r);
  CHECK_OK(api_call(s, "GET", url, ARGUS_ROLE_AUDITOR, NULL, NULL, &r));
  CHECK_INT_EQ(r.status, 403);
  api_resp_free(&r);

  /* Check: verdicts, nothing stored. */
  before = person_count(s);
  memset(&m, 0, sizeof m);
  mp_file(&m, "tests/test_images/obama3.jpg");
  mp_file(&m, noface_path);
  mp_bytes(&m, "photo", "x.bin", "application/octet-stream", "\0\1\2\3", 4);
  mp_file(&m, "tests/test_images/obama.jpg");
  mp_file(&m, tiny_path);
  mp_end(&m);
  j = call_mp(s, "/api/v1/photos/check?watchlist=vip", SUP, &m, 200);
  mp_free(&m);

  CHECK(cJSON_IsTrue(jget(verdict(j, 0), "accepted")));
  CHECK(cJSON_IsNull(jget(verdict(j, 0), "photo_id")));
  check_refused(verdict(j, 1), "no face", NULL);
  check_refused(verdict(j, 2), "unreadable", "not a JPEG or PNG image");
  check_refused(verdict(j, 3), "duplicate", "Barack Obama");
  check_refused(verdict(j, 4), "too small", "inter-ocular");
  cJSON_Delete(j);
  CHECK_INT_EQ(person_count(s), before);
  snprintf(path, sizeof path, "/api/v1/persons/%lld", (long long)obama);
  j = call(s, "GET", path, SUP, NULL, 200);
  CHECK_INT_EQ(jint(j, "photos"), 2);
  cJSON_Delete(j);

  /* Identify: Obama on top, over threshold. */
  j = identify(s, "", OPER, 200);
  const cJSON *c = best(j);
  CHECK_MSG(c && jint(c, "person_id") == obama &&
                cJSON_IsTrue(jget(c, "match")) &&
                jnum(c, "score") >= jnum(c, "threshold") &&
                jstr(c, "watchlist") && !strcmp(jstr(c, "watchlist"), "vip"),
            "identify: best candidate %s score %.3f thr %.3f",
            c ? jstr(c, "name") : "none", c ? jnum(c, "score") : 0,
            c ? jnum(c, "threshold") : 0);
  const cJSON *face = cJSON_GetArrayItem(jget(j, "faces"), 0);
  CHECK(cJSON_GetArraySize(jget(face, "box")) == 4 &&
        jnum(face, "quality") > 0);
  CHECK(cJSON_IsTrue(jget(face, "match")));
  cJSON_Delete(j);
  j = identify(s, "?k=1&watchlist=vip", SUP, 200);
  face = cJSON_GetArrayItem(jget(j, "faces"), 0);
  CHECK_INT_EQ(cJSON_GetArraySize(jget(face, "candidates")), 1);
  cJSON_Delete(j);
  cJSON_Delete(identify(s, "?watchlist=nosuch", SUP, 404));
  cJSON_Delete(identify(s, "?k=0", SUP, 400));
  cJSON_Delete(identify(s, "", ARGUS_ROLE_AUDITOR, 403));
  {
    char probe[1400];
    snprintf(probe, sizeof probe, "%s/tests/test_images/obama3.jpg", data);
    size_t n = 0;
    char *b = slurp(probe, &n);
    long st;
    j = call_raw(s, "POST", "/api/v1/identify?k=2", OPER, b, n, "image/jpeg",
                 &st);
    CHECK_INT_EQ(st, 200);
    c = best(j);
    CHECK(c && jint(c, "person_id") == obama);
    cJSON_Delete(j);
    free(b);
    j = call_raw(s, "POST", "/api/v1/identify", OPER, text, sizeof text - 1,
                 "image/png", &st);
    CHECK_INT_EQ(st, 400);
    CHECK(jstr(j, "message") && strstr(jstr(j, "message"), "not a JPEG"));
    cJSON_Delete(j);
  }

  /* Photos added to the empty person: 422 when none passes, then 201. */
  snprintf(path, sizeof path, "/api/v1/persons/%lld/photos",
           (long long)empty_id);
  memset(&m, 0, sizeof m);
  mp_file(&m, noface_path);
  mp_end(&m);
  j = call_mp(s, path, SUP, &m, 422);
  mp_free(&m);
  check_refused(verdict(j, 0), "no face", NULL);
  cJSON_Delete(j);
  memset(&m, 0, sizeof m);
  mp_file(&m, "examples/biden.jpg");
  mp_file(&m, noface_path);
  mp_end(&m);
  j = call_mp(s, path, SUP, &m, 201);
  mp_free(&m);
  CHECK(cJSON_IsTrue(jget(verdict(j, 0), "accepted")) &&
        jint(verdict(j, 0), "photo_id") > 0);
  check_refused(verdict(j, 1), "no face", NULL);
  CHECK_INT_EQ(jint(jget(j, "person"), "photos"), 1);
  cJSON_Delete(j);

  /* Rename: the index follows. */
  snprintf(path, sizeof path, "/api/v1/persons/%lld", (long long)obama);
  j = call(s, "PATCH", path, SUP, "{\"name\":\"Barack H. Obama\"}", 200);
  CHECK(jstr(j, "name") && !strcmp(jstr(j, "name"), "Barack H. Obama"));
  cJSON_Delete(j);
  cJSON_Delete(call(s, "PATCH", path, SUP, "{\"shoe\":1}", 400));
  j = identify(s, "", OPER, 200);
  c = best(j);
  CHECK_MSG(c && jstr(c, "name") && !strcmp(jstr(c, "name"), "Barack H. Obama"),
            "after the rename: %s", c ? jstr(c, "name") : "none");
  cJSON_Delete(j);

  /* Photo removal: its crop goes. */
  snprintf(path, sizeof path, "/api/v1/persons/%lld/photos/%lld",
           (long long)empty_id, (long long)photo2);
  cJSON_Delete(call(s, "DELETE", path, SUP, NULL, 404)); /* not its photo */
  snprintf(path, sizeof path, "/api/v1/persons/%lld/photos/%lld",
           (long long)obama, (long long)photo2);
  cJSON_Delete(call(s, "DELETE", path, SUP, NULL, 204));
  cJSON_Delete(call(s, "DELETE", path, SUP, NULL, 404));
  snprintf(url, sizeof url, "/api/v1/photos/%lld/image", (long long)photo2);
  cJSON_Delete(call(s, "GET", url, SUP, NULL, 404));
  snprintf(path, sizeof path, "/api/v1/persons/%lld", (long long)obama);
  j = call(s, "GET", path, SUP, NULL, 200);
  CHECK_INT_EQ(jint(j, "photos"), 1);
  CHECK_INT_EQ(jint(j, "templates"), 1);
  cJSON_Delete(j);

  /* Person removal: crops and templates go; identify no longer finds it. */
  cJSON_Delete(call(s, "DELETE", path, SUP, NULL, 204));
  cJSON_Delete(call(s, "GET", path, SUP, NULL, 404));
  cJSON_Delete(call(s, "DELETE", path, SUP, NULL, 404));
  snprintf(url, sizeof url, "/api/v1/photos/%lld/image", (long long)photo1);
  cJSON_Delete(call(s, "GET", url, SUP, NULL, 404));
  j = identify(s, "", OPER, 200);
  c = best(j);
  CHECK_MSG(!c || jint(c, "person_id") != obama,
            "a removed person is still found");
  cJSON_Delete(j);
}

static int audit_row_ok(const cJSON *it, const char *user) {
  const cJSON *d = jget(it, "detail");
  const char *u = jstr(d, "user"), *a = jstr(d, "address");
  return u && !strcmp(u, user) && a && strstr(a, "127.0.0.1");
}

/* The audit rows of identify and enrolment name the user and address. */
static void audit(const api_srv *s) {
  static const struct {
    const char *action, *user;
  } want[] = {{"identify", "t-operator"},
              {"person.enrol", "t-supervisor"},
              {"person.photos_add", "t-supervisor"},
              {"photo.check", "t-supervisor"},
              {"photo.image", "t-operator"},
              {"photo.delete", "t-supervisor"},
              {"person.delete", "t-supervisor"}};
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
    char path[160];
    snprintf(path, sizeof path, "/api/v1/audit?action=%s&limit=1000",
             want[i].action);
    cJSON *j = call(s, "GET", path, ARGUS_ROLE_AUDITOR, NULL, 200);
    int n = 0, ok = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, jget(j, "items")) {
      n++;
      ok += audit_row_ok(it, want[i].user);
    }
    CHECK_MSG(ok >= 1, "audit %s: %d rows, none by %s from 127.0.0.1",
              want[i].action, n, want[i].user);
    cJSON_Delete(j);
  }
  /* The prefix filter sees the person rows of the store and the API. */
  cJSON *j = call(s, "GET", "/api/v1/audit?action=person.&limit=1000",
                  ARGUS_ROLE_ADMIN, NULL, 200);
  int n = 0;
  const cJSON *it;
  cJSON_ArrayForEach(it, jget(j, "items")) {
    const char *a = jstr(it, "action");
    CHECK(a && !strncmp(a, "person.", 7));
    n++;
  }
  CHECK_MSG(n >= 4, "person.* rows: %d", n);
  cJSON_Delete(j);
}

int main(void) {
  const char *cli = getenv("ARGUS_CLI");
  const char *models = getenv("ARGUS_MODELS_DIR");
  const char *shared = getenv("ARGUS_SHARED_DATA");
  if (!cli || !cli[0])
    SKIP("ARGUS_CLI is not set (run through ctest)");
  char probe[1400];
  snprintf(probe, sizeof probe, "%s/fr_feature.onnx",
           models ? models : "models");
  if (access(probe, R_OK) != 0)
    SKIP("no models in %s (scripts/fetch-models.sh)",
         models ? models : "models");
  snprintf(data, sizeof data, "%s/stills/face_recognition_examples",
           shared ? shared : "../shared/data");
  snprintf(probe, sizeof probe, "%s/tests/test_images/obama.jpg", data);
  if (access(probe, R_OK) != 0)
    SKIP("%s is absent", probe);
  char tmp[] = "/tmp/argus-test-persons-XXXXXX";
  if (!mkdtemp(tmp)) {
    perror("mkdtemp");
    return 1;
  }
  make_noface(tmp);
  api_srv s;
  if (api_srv_start(&s, NULL) != 0) {
    fprintf(stderr, "test_api_persons: the server did not start\n");
    return 1;
  }
  g_doc = api_shape_doc(&s);
  CHECK(g_doc != NULL);
  flow(&s);
  audit(&s);
  cJSON_Delete(g_doc);
  api_srv_stop(&s);
  api_rm_rf(tmp);
  return check_report("test_api_persons");
}
