/* Typed pipeline events (include/argus/event.h) and their delivery on the
 * in-process bus (argus_bus_publish_event).
 *
 * Face events: allocation with room for the embedding and the JPEGs, the
 * JSON round trip (every field the document carries, the embedding
 * bit-exact, crops by hash, image bytes never carried), documents that are
 * refused (bad dim, bad base64, a newer version, an unknown type, a version
 * 1 face), invalid UTF-8 in a camera name still giving valid JSON.
 * Alert events: made from a face event (fields copied, the face referenced
 * and kept alive after its publisher lets go), clones, the JSON round trip
 * with the store's alert id. Watchlist changes of version 1 and 2.
 * The bus: a callback subscription with `events` gets the publisher's very
 * struct, a text one its document, a small polled queue drops the oldest
 * events and lets go of their references; duplicates, bad ids.
 * Run under ASan (CI does): every reference taken is dropped, no event is
 * read after it was freed. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "argus/bus.h"
#include "argus/core.h"
#include "argus/event.h"
#include "check.h"

#define DIM 512

static uint32_t rng(uint32_t *s) {
  uint32_t x = *s ? *s : 0x9e3779b9u;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  *s = x;
  return x;
}

static float rnd(uint32_t *s) {
  return (float)(rng(s) >> 8) / 16777216.0f * 2.0f - 1.0f;
}

static const int64_t WALL = 1764920094123456789LL; /* 2025-12-05T07:34:54.123 */

/* A filled face event with `crop_n` bytes of pseudo-JPEG (its SHA-256 set
 * as the edge sets it) and `thumb_n` bytes of thumbnail pixels. */
static argus_event *make_face(const char *camera, size_t crop_n, size_t thumb_n,
                              uint32_t seed) {
  argus_event *ev = NULL;
  float *emb = NULL;
  uint8_t *crop = NULL, *thumb = NULL;
  CHECK_OK(
      argus_event_face_new(DIM, crop_n, thumb_n, &ev, &emb, &crop, &thumb));
  if (!ev)
    return NULL;
  CHECK(emb != NULL);
  CHECK(crop_n == 0 ? crop == NULL : crop != NULL);
  CHECK(thumb_n == 0 ? thumb == NULL : thumb != NULL);
  argus_event_face *f = &ev->u.face;
  CHECK_INT_EQ(ev->type, ARGUS_EVENT_FACE);
  CHECK_INT_EQ(ev->version, ARGUS_EVENT_VERSION);
  CHECK_INT_EQ(f->dim, DIM);
  CHECK(f->embedding == emb);
  CHECK(f->crop.data == crop && f->crop.size == crop_n);
  CHECK(f->thumb_rgb == thumb);
  uint32_t s = seed;
  double ss = 0;
  for (int i = 0; i < DIM; i++) {
    emb[i] = rnd(&s);
    ss += (double)emb[i] * emb[i];
  }
  for (int i = 0; i < DIM; i++)
    emb[i] = (float)(emb[i] / sqrt(ss));
  /* Values whose bits a decimal round trip would not keep. */
  emb[0] = 1.0f / 3.0f;
  emb[1] = -1e-30f;
  emb[2] = 0.0f;
  emb[3] = -0.0f;
  for (size_t i = 0; i < crop_n; i++)
    crop[i] = (uint8_t)(rng(&s) >> 24);
  for (size_t i = 0; i < thumb_n; i++)
    thumb[i] = (uint8_t)(rng(&s) >> 24);
  if (crop_n)
    argus_sha256_hex(crop, crop_n, f->crop.sha256);
  f->crop.width = f->crop.height = 112;
  /* thumb_n bytes of RGB8: a row of thumb_n / 3 pixels */
  f->thumb_w = (int)(thumb_n / 3);
  f->thumb_h = thumb_n ? 1 : 0;
  snprintf(f->camera, sizeof f->camera, "%s", camera);
  f->wall_ns = WALL;
  f->mono_ns = 987654321;
  f->media_time = 12.345;
  f->track = 123456;
  f->reason = ARGUS_EVENT_REASON_BETTER;
  f->quality = 0.875f;
  f->box[0] = 10.5f;
  f->box[1] = 20.5f;
  f->box[2] = 110.0f;
  f->box[3] = 140.5f;
  f->frame_w = 1920;
  f->frame_h = 1080;
  snprintf(f->model, sizeof f->model, "%s", "synth@1");
  snprintf(ev->id, sizeof ev->id, "face-%u", (unsigned)seed);
  return ev;
}

static size_t to_json(const argus_event *ev, char *buf, size_t cap) {
  size_t n = 0;
  CHECK_OK(argus_event_to_json(ev, buf, cap, &n));
  CHECK(n > 0 && n == strlen(buf));
  argus_error_detail why = {{0}};
  argus_err e = argus_json_validate(buf, n, 0, &why);
  CHECK_OK(e);
  if (e)
    fprintf(stderr, "invalid JSON: %s\n%s\n", why.msg, buf);
  return n;
}

/* Replaces the first `from` in buf (NUL-terminated, cap bytes) by `to`;
 * returns 0 when done. */
static int replace(char *buf, size_t cap, const char *from, const char *to) {
  char *p = strstr(buf, from);
  size_t n = strlen(buf), fl = strlen(from), tl = strlen(to);
  if (!p || n - fl + tl + 1 > cap)
    return -1;
  memmove(p + tl, p + fl, n - (size_t)(p - buf) - fl + 1);
  memcpy(p, to, tl);
  return 0;
}

static char g_doc[128 << 10];
static char g_doc2[128 << 10];

/* ---- face events ---------------------------------------------------------- */

static void test_face_new(void) {
  argus_event *ev = NULL;
  CHECK_INT_EQ(argus_event_face_new(0, 0, 0, &ev, NULL, NULL, NULL),
               ARGUS_E_INVALID_ARG);
  CHECK(ev == NULL);
  CHECK_INT_EQ(argus_event_face_new(-3, 0, 0, &ev, NULL, NULL, NULL),
               ARGUS_E_INVALID_ARG);
  CHECK_INT_EQ(argus_event_face_new(ARGUS_EVENT_MAX_DIM + 1, 0, 0, &ev, NULL,
                                    NULL, NULL),
               ARGUS_E_INVALID_ARG);
  CHECK_INT_EQ(argus_event_face_new(DIM, 0, 0, NULL, NULL, NULL, NULL),
               ARGUS_E_INVALID_ARG);
  /* The largest dim, no images, no pointers wanted. */
  CHECK_OK(
      argus_event_face_new(ARGUS_EVENT_MAX_DIM, 0, 0, &ev, NULL, NULL, NULL));
  CHECK(ev && ev->u.face.embedding && !ev->u.face.crop.data &&
        !ev->u.face.thumb_rgb && ev->u.face.crop.sha256[0] == '\0');
  argus_event_unref(ev);
  argus_event_unref(NULL); /* fine */
  /* Face events are not cloned (their data is immutable: take a ref). */
  argus_event *f = make_face("cam", 16, 0, 1);
  argus_event *c = NULL;
  CHECK_INT_EQ(argus_event_clone(f, &c), ARGUS_E_INVALID_ARG);
  CHECK(c == NULL);
  /* Other bad constructions. */
  CHECK_INT_EQ(argus_event_new(ARGUS_EVENT_FACE, NULL, &c),
               ARGUS_E_INVALID_ARG);
  CHECK_INT_EQ(argus_event_new(ARGUS_EVENT_WATCHLIST, f, &c),
               ARGUS_E_INVALID_ARG);
  CHECK_INT_EQ(argus_event_new(ARGUS_EVENT_ALERT, f, NULL),
               ARGUS_E_INVALID_ARG);
  argus_event *a = NULL;
  CHECK_OK(argus_event_new(ARGUS_EVENT_ALERT, f, &a));
  /* An alert is not a face to build an alert of. */
  CHECK_INT_EQ(argus_event_new(ARGUS_EVENT_ALERT, a, &c), ARGUS_E_INVALID_ARG);
  argus_event_unref(a);
  argus_event_unref(f);
  CHECK(strcmp(argus_event_reason_name(ARGUS_EVENT_REASON_EARLY), "early") ==
        0);
  CHECK(strcmp(argus_event_reason_name(ARGUS_EVENT_REASON_END), "end") == 0);
  CHECK(strcmp(argus_event_reason_name((argus_event_reason)42), "?") == 0);
}

static void test_face_json(void) {
  argus_event *ev = make_face("gate-1", 3000, 30000, 7);
  if (!ev)
    return;
  const argus_event_face *f = &ev->u.face;
  size_t n = to_json(ev, g_doc, sizeof g_doc);
  /* Image bytes never travel; the hashes do. */
  CHECK(n < 4000);
  CHECK(strstr(g_doc, "\"v\":2") != NULL);
  CHECK(strstr(g_doc, "\"type\":\"face\"") != NULL);
  CHECK(strstr(g_doc, f->crop.sha256) != NULL);
  CHECK(strstr(g_doc, "\"time\":\"2025-12-05T07:34:54.123Z\"") != NULL);

  argus_event *back = NULL;
  argus_error_detail err = {{0}};
  CHECK_OK(argus_event_from_json(g_doc, n, &back, &err));
  if (!back) {
    fprintf(stderr, "%s\n", err.msg);
    argus_event_unref(ev);
    return;
  }
  const argus_event_face *b = &back->u.face;
  CHECK_INT_EQ(back->type, ARGUS_EVENT_FACE);
  CHECK_INT_EQ(back->version, 2);
  CHECK(strcmp(b->camera, "gate-1") == 0);
  CHECK_INT_EQ(b->wall_ns, WALL - WALL % 1000000); /* to the millisecond */
  CHECK_INT_EQ(b->mono_ns, 0);                     /* this process only */
  CHECK(b->media_time == 12.345);
  CHECK_INT_EQ(b->track, 123456);
  CHECK_INT_EQ(b->reason, ARGUS_EVENT_REASON_BETTER);
  CHECK(b->quality == 0.875f);
  CHECK(memcmp(b->box, f->box, sizeof b->box) == 0);
  CHECK_INT_EQ(b->frame_w, 1920);
  CHECK_INT_EQ(b->frame_h, 1080);
  CHECK(strcmp(b->model, "synth@1") == 0);
  CHECK_INT_EQ(b->dim, DIM);
  CHECK(b->embedding != NULL && b->embedding != f->embedding);
  CHECK(b->embedding &&
        memcmp(b->embedding, f->embedding, DIM * sizeof(float)) == 0);
  CHECK(strcmp(b->crop.sha256, f->crop.sha256) == 0);
  CHECK(b->crop.data == NULL && b->crop.size == 0);
  CHECK(b->thumb_rgb == NULL);
  /* And the decoded event writes the same document again. */
  size_t n2 = to_json(back, g_doc2, sizeof g_doc2);
  /* (only the time differs: it lost its sub-millisecond part, which the
   * text never had) */
  CHECK(n2 == n && strcmp(g_doc, g_doc2) == 0);
  argus_event_unref(back);

  /* Every reason survives; the frame's size is optional. */
  argus_event_reason reasons[3] = {ARGUS_EVENT_REASON_EARLY,
                                   ARGUS_EVENT_REASON_BETTER,
                                   ARGUS_EVENT_REASON_END};
  for (int r = 0; r < 3; r++) {
    ev->u.face.reason = reasons[r];
    n = to_json(ev, g_doc, sizeof g_doc);
    back = NULL;
    CHECK_OK(argus_event_from_json(g_doc, n, &back, &err));
    CHECK(back && back->u.face.reason == reasons[r]);
    argus_event_unref(back);
  }
  /* No crops: null hashes, decoded as "". */
  {
    argus_event *e2 = make_face("x", 0, 0, 8);
    n = to_json(e2, g_doc, sizeof g_doc);
    CHECK(strstr(g_doc, "\"crop_sha256\":null") != NULL);
    back = NULL;
    CHECK_OK(argus_event_from_json(g_doc, n, &back, &err));
    CHECK(back && back->u.face.crop.sha256[0] == '\0');
    argus_event_unref(back);
    argus_event_unref(e2);
  }
  /* A buffer too small: LIMIT, never a cut document. */
  n = 0;
  CHECK_INT_EQ(argus_event_to_json(ev, g_doc, 200, &n), ARGUS_E_LIMIT);
  CHECK_INT_EQ(n, 0);
  CHECK_INT_EQ(argus_event_to_json(NULL, g_doc, sizeof g_doc, &n),
               ARGUS_E_INVALID_ARG);
  argus_event_unref(ev);
}

/* Documents that must be refused, each with a message. */
static void expect_refused(const char *doc, argus_err want, const char *what,
                           const char *in_msg) {
  argus_event *back = (argus_event *)(uintptr_t)1;
  argus_error_detail err = {{0}};
  argus_err e = argus_event_from_json(doc, strlen(doc), &back, &err);
  CHECK_INT_EQ(e, want);
  CHECK(back == NULL);
  CHECK(err.msg[0] != '\0');
  if (in_msg)
    CHECK(strstr(err.msg, in_msg) != NULL);
  if (e != want || (in_msg && !strstr(err.msg, in_msg)))
    fprintf(stderr, "  (%s: got %d '%s')\n", what, (int)e, err.msg);
  if (e == ARGUS_OK)
    argus_event_unref(back);
}

static void test_face_json_errors(void) {
  argus_event *ev = make_face("gate-1", 64, 0, 9);
  if (!ev)
    return;
  char num[64];
  to_json(ev, g_doc, sizeof g_doc);

  /* dim: 0, too large, not an integer, not matching the embedding. */
  const char *dims[] = {"0", "4097", "1.5", "511", "513", "\"512\""};
  for (size_t i = 0; i < sizeof dims / sizeof dims[0]; i++) {
    memcpy(g_doc2, g_doc, strlen(g_doc) + 1);
    snprintf(num, sizeof num, "\"dim\":%s", dims[i]);
    CHECK(replace(g_doc2, sizeof g_doc2, "\"dim\":512", num) == 0);
    expect_refused(g_doc2, ARGUS_E_CORRUPT, dims[i], NULL);
  }
  /* crop_at (split roles: where the crop can be asked for): a crop request
   * subject of a face with a crop_sha256 is read back; anything else is
   * refused (a document from another process must not make the bus send a
   * request to an arbitrary subject). */
  {
    static const char sha[] = "\"crop_sha256\":\"0123456789abcdef0123456789"
                              "abcdef0123456789abcdef0123456789abcdef\",";
    char field[256];
    snprintf(field, sizeof field, "%s\"crop_at\":\"argus.crop.00ff1e\",\"dim\"",
             sha);
    memcpy(g_doc2, g_doc, strlen(g_doc) + 1);
    CHECK(replace(g_doc2, sizeof g_doc2, "\"dim\"", field) == 0);
    argus_event *back = NULL;
    argus_error_detail err = {{0}};
    CHECK_OK(argus_event_from_json(g_doc2, strlen(g_doc2), &back, &err));
    if (back) {
      CHECK(strcmp(back->u.face.crop_source, "argus.crop.00ff1e") == 0);
      CHECK(back->u.face.crop.data == NULL);
      argus_event_unref(back);
    }
    const char *bad[] = {"\"argus.crop.a b\"", "\"nats.js.api\"",
                         "\"argus.crop.\"", "\"argus.crop.a.b\"", "7"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
      snprintf(field, sizeof field, "%s\"crop_at\":%s,\"dim\"", sha, bad[i]);
      memcpy(g_doc2, g_doc, strlen(g_doc) + 1);
      CHECK(replace(g_doc2, sizeof g_doc2, "\"dim\"", field) == 0);
      expect_refused(g_doc2, ARGUS_E_CORRUPT, bad[i], "crop_at");
    }
    /* Without the crop's hash there is nothing to check an answer against. */
    memcpy(g_doc2, g_doc, strlen(g_doc) + 1);
    CHECK(replace(g_doc2, sizeof g_doc2, "\"dim\"",
                  "\"crop_at\":\"argus.crop.00ff1e\",\"dim\"") == 0);
    if (!strstr(g_doc, "\"crop_sha256\":\""))
      expect_refused(g_doc2, ARGUS_E_CORRUPT, "no sha", "crop_at");
  }
  /* base64: a character outside the alphabet; a missing quartet; padding
   * in the middle. */
  {
    const char *emb = strstr(g_doc, "\"embedding\":\"");
    CHECK(emb != NULL);
    if (emb) {
      size_t at = (size_t)(emb - g_doc) + strlen("\"embedding\":\"") + 10;
      memcpy(g_doc2, g_doc, strlen(g_doc) + 1);
      g_doc2[at] = '!';
      expect_refused(g_doc2, ARGUS_E_CORRUPT, "bad base64", "embedding");
      memcpy(g_doc2, g_doc, strlen(g_doc) + 1);
      g_doc2[at] = '=';
      expect_refused(g_doc2, ARGUS_E_CORRUPT, "= inside", "embedding");
      memcpy(g_doc2, g_doc, strlen(g_doc) + 1);
      /* drop 4 characters: 3 bytes short */
      memmove(g_doc2 + at, g_doc2 + at + 4, strlen(g_doc2 + at + 4) + 1);
      expect_refused(g_doc2, ARGUS_E_CORRUPT, "short base64", "embedding");
    }
  }
  /* A newer version: UNSUPPORTED, naming it. */
  memcpy(g_doc2, g_doc, strlen(g_doc) + 1);
  CHECK(replace(g_doc2, sizeof g_doc2, "\"v\":2", "\"v\":3") == 0);
  expect_refused(g_doc2, ARGUS_E_UNSUPPORTED, "v3", "3");
  /* Version 1 face documents carry no embedding. */
  memcpy(g_doc2, g_doc, strlen(g_doc) + 1);
  CHECK(replace(g_doc2, sizeof g_doc2, "\"v\":2", "\"v\":1") == 0);
  expect_refused(g_doc2, ARGUS_E_CORRUPT, "v1 face", "version 1");
  /* An unknown type, named in the message. */
  memcpy(g_doc2, g_doc, strlen(g_doc) + 1);
  CHECK(replace(g_doc2, sizeof g_doc2, "\"type\":\"face\"",
                "\"type\":\"facade\"") == 0);
  expect_refused(g_doc2, ARGUS_E_CORRUPT, "unknown type", "facade");
  /* Missing or broken fields. */
  const char *gone[][2] = {
      {"\"camera\":\"gate-1\"", "\"camera\":7"},
      {"\"time\":\"", "\"tim\":\""},
      {"\"model\":\"synth@1\"", "\"model\":null"},
      {"\"box\":[", "\"box\":[1,"},
      {"\"reason\":\"", "\"rzason\":\""},
  };
  for (size_t i = 0; i < sizeof gone / sizeof gone[0]; i++) {
    memcpy(g_doc2, g_doc, strlen(g_doc) + 1);
    CHECK(replace(g_doc2, sizeof g_doc2, gone[i][0], gone[i][1]) == 0);
    expect_refused(g_doc2, ARGUS_E_CORRUPT, gone[i][1], "face");
  }
  /* A non-finite value in the embedding (the bits of +Inf). */
  {
    argus_event *inf = NULL;
    float *emb = NULL;
    CHECK_OK(argus_event_face_new(4, 0, 0, &inf, &emb, NULL, NULL));
    emb[0] = emb[1] = emb[2] = 0.5f;
    emb[3] = INFINITY;
    snprintf(inf->u.face.camera, sizeof inf->u.face.camera, "c");
    snprintf(inf->u.face.model, sizeof inf->u.face.model, "m@1");
    inf->u.face.reason = ARGUS_EVENT_REASON_END;
    size_t n = to_json(inf, g_doc2, sizeof g_doc2);
    argus_event *back = NULL;
    argus_error_detail err = {{0}};
    CHECK_INT_EQ(argus_event_from_json(g_doc2, n, &back, &err),
                 ARGUS_E_CORRUPT);
    CHECK(back == NULL && strstr(err.msg, "non-finite") != NULL);
    argus_event_unref(inf);
  }
  /* Not documents at all. */
  expect_refused("", ARGUS_E_CORRUPT, "empty", NULL);
  expect_refused("[1,2]", ARGUS_E_CORRUPT, "array", NULL);
  expect_refused("{\"type\":\"face\"}", ARGUS_E_CORRUPT, "no v", NULL);
  expect_refused("{\"v\":2}", ARGUS_E_CORRUPT, "no type", NULL);
  /* Arguments. */
  argus_event *back = NULL;
  CHECK_INT_EQ(argus_event_from_json(NULL, 0, &back, NULL),
               ARGUS_E_INVALID_ARG);
  CHECK_INT_EQ(argus_event_from_json("{}", 2, NULL, NULL), ARGUS_E_INVALID_ARG);
  argus_event_unref(ev);
}

/* Bytes that are not UTF-8 in a camera name: the document stays valid JSON
 * (each replaced by U+FFFD) and parses back. */
static void test_face_json_utf8(void) {
  argus_event *ev = make_face("cam\xff\xfe-\xc3(-\xe2\x82", 0, 0, 11);
  if (!ev)
    return;
  size_t n = to_json(ev, g_doc, sizeof g_doc); /* validates it */
  CHECK(argus_utf8_valid(g_doc, n));
  argus_event *back = NULL;
  argus_error_detail err = {{0}};
  CHECK_OK(argus_event_from_json(g_doc, n, &back, &err));
  if (back) {
    const char *cam = back->u.face.camera;
    CHECK(argus_utf8_valid(cam, strlen(cam)));
    CHECK(strncmp(cam, "cam\xef\xbf\xbd", 6) == 0);
    CHECK(strstr(cam, "-\xef\xbf\xbd(") != NULL);
  }
  argus_event_unref(back);
  /* Quotes, backslashes and control characters escaped. */
  snprintf(ev->u.face.camera, sizeof ev->u.face.camera, "a\"b\\c\n\x01");
  n = to_json(ev, g_doc, sizeof g_doc);
  back = NULL;
  CHECK_OK(argus_event_from_json(g_doc, n, &back, &err));
  CHECK(back && strcmp(back->u.face.camera, "a\"b\\c\n\x01") == 0);
  argus_event_unref(back);
  argus_event_unref(ev);
}

/* ---- alert events --------------------------------------------------------- */

static argus_event *make_alert(const argus_event *face, const char *person,
                               int64_t pid) {
  argus_event *a = NULL;
  CHECK_OK(argus_event_new(ARGUS_EVENT_ALERT, face, &a));
  if (!a)
    return NULL;
  argus_event_alert *al = &a->u.alert;
  al->person_id = pid;
  al->watchlist_id = 3;
  snprintf(al->person, sizeof al->person, "%s", person);
  snprintf(al->watchlist, sizeof al->watchlist, "vip");
  al->score = 0.8125f;
  al->threshold = 0.5f;
  snprintf(a->id, sizeof a->id, "alert-%lld", (long long)pid);
  return a;
}

static void test_alert(void) {
  argus_event *face = make_face("door", 4096, 999, 21);
  if (!face)
    return;
  const argus_event_face *f = &face->u.face;
  uint8_t first = f->crop.data[0], last = f->crop.data[4095];
  argus_event *a = make_alert(face, "Ada", 17);
  if (!a) {
    argus_event_unref(face);
    return;
  }
  const argus_event_alert *al = &a->u.alert;
  CHECK_INT_EQ(a->type, ARGUS_EVENT_ALERT);
  CHECK(al->face == face);
  CHECK(strcmp(al->face_id, face->id) == 0);
  CHECK(strcmp(al->camera, "door") == 0);
  CHECK_INT_EQ(al->wall_ns, WALL);
  CHECK_INT_EQ(al->mono_ns, 987654321);
  CHECK(al->media_time == 12.345);
  CHECK_INT_EQ(al->track, 123456);
  CHECK(al->quality == 0.875f);
  CHECK(memcmp(al->box, f->box, sizeof al->box) == 0);
  CHECK(strcmp(al->crop_sha256, f->crop.sha256) == 0 && al->crop_sha256[0]);
  /* the thumbnail is pixels: only the sink that stores the alert encodes
   * it and sets thumb_sha256 */
  CHECK(al->thumb_sha256[0] == '\0');
  CHECK_INT_EQ(al->alert_id, 0);

  /* The publisher lets go of the face: the alert keeps it (ASan: no
   * use-after-free here). */
  argus_event_unref(face);
  const argus_event_face *kept = &al->face->u.face;
  CHECK(kept->crop.size == 4096 && kept->crop.data[0] == first &&
        kept->crop.data[4095] == last);
  CHECK(strcmp(kept->camera, "door") == 0);
  CHECK(kept->embedding[0] == 1.0f / 3.0f);

  /* A clone (the store sink adds the store's id) keeps the face too. */
  argus_event *c = NULL;
  CHECK_OK(argus_event_clone(a, &c));
  if (c) {
    CHECK(c != a);
    CHECK(c->u.alert.face == al->face);
    c->u.alert.alert_id = 4242;
    c->u.alert.latency_ms = 12.5;
    argus_sha256_hex("thumb", 5, c->u.alert.thumb_sha256);
    CHECK_INT_EQ(al->alert_id, 0);
    argus_event_unref(a); /* the original goes; the clone's face stays */
    a = NULL;
    CHECK(c->u.alert.face->u.face.crop.data[0] == first);
    CHECK(strcmp(c->u.alert.person, "Ada") == 0);

    /* JSON round trip with the store's id. */
    size_t n = to_json(c, g_doc, sizeof g_doc);
    CHECK(strstr(g_doc, "\"id\":4242") != NULL);
    CHECK(strstr(g_doc, "\"type\":\"alert\"") != NULL);
    CHECK(strstr(g_doc, "embedding") == NULL); /* alerts carry no template */
    argus_event *back = NULL;
    argus_error_detail err = {{0}};
    CHECK_OK(argus_event_from_json(g_doc, n, &back, &err));
    if (back) {
      const argus_event_alert *b = &back->u.alert;
      CHECK_INT_EQ(back->type, ARGUS_EVENT_ALERT);
      CHECK(b->face == NULL);
      CHECK_INT_EQ(b->alert_id, 4242);
      CHECK(strcmp(b->face_id, c->u.alert.face_id) == 0 && b->face_id[0]);
      CHECK(strcmp(b->camera, "door") == 0);
      CHECK_INT_EQ(b->wall_ns, WALL - WALL % 1000000);
      CHECK(b->media_time == 12.345);
      CHECK_INT_EQ(b->track, 123456);
      CHECK(strcmp(b->person, "Ada") == 0);
      CHECK(strcmp(b->watchlist, "vip") == 0);
      CHECK_INT_EQ(b->person_id, 17);
      CHECK_INT_EQ(b->watchlist_id, 3);
      CHECK(b->score == 0.8125f);
      CHECK(b->threshold == 0.5f);
      CHECK(b->quality == 0.875f);
      CHECK(memcmp(b->box, c->u.alert.box, sizeof b->box) == 0);
      CHECK(strcmp(b->crop_sha256, c->u.alert.crop_sha256) == 0);
      CHECK(strcmp(b->thumb_sha256, c->u.alert.thumb_sha256) == 0);
      /* A decoded alert clones (no face to reference). */
      argus_event *c2 = NULL;
      CHECK_OK(argus_event_clone(back, &c2));
      CHECK(c2 && c2->u.alert.face == NULL && c2->u.alert.alert_id == 4242);
      argus_event_unref(c2);
    }
    argus_event_unref(back);
    /* Not yet stored: "id" is null and reads back as 0; the cooldown is
     * written only when set, and read back. */
    CHECK(strstr(g_doc, "\"cooldown\"") == NULL);
    c->u.alert.alert_id = 0;
    c->u.alert.cooldown = 30;
    n = to_json(c, g_doc, sizeof g_doc);
    CHECK(strstr(g_doc, "\"id\":null") != NULL);
    CHECK(strstr(g_doc, "\"cooldown\":30") != NULL);
    back = NULL;
    CHECK_OK(argus_event_from_json(g_doc, n, &back, &err));
    CHECK(back && back->u.alert.alert_id == 0);
    CHECK(back && back->u.alert.cooldown == 30);
    argus_event_unref(back);
    /* An alert without a person is refused. */
    CHECK(replace(g_doc, sizeof g_doc, "\"person\":", "\"persona\":") == 0);
    expect_refused(g_doc, ARGUS_E_CORRUPT, "alert without person", "alert");
  }
  argus_event_unref(a);
  argus_event_unref(c); /* frees the face too (ASan: no leak) */

  /* An alert made without a face (e.g. rebuilt from JSON) and its clone. */
  argus_event *bare = NULL;
  CHECK_OK(argus_event_new(ARGUS_EVENT_ALERT, NULL, &bare));
  CHECK(bare && bare->u.alert.face == NULL && bare->u.alert.camera[0] == 0);
  argus_event *bc = NULL;
  CHECK_OK(argus_event_clone(bare, &bc));
  argus_event_unref(bare);
  argus_event_unref(bc);

  /* An unmatched event references its face the same way, and its document
   * carries the face. */
  face = make_face("hall", 100, 0, 22);
  argus_event *u = NULL;
  CHECK_OK(argus_event_new(ARGUS_EVENT_UNMATCHED, face, &u));
  argus_event_unref(face);
  if (u) {
    CHECK(u->u.unmatched.face == face);
    CHECK(strcmp(u->u.unmatched.face_id, "face-22") == 0);
    u->u.unmatched.best_score = 0.25f;
    u->u.unmatched.retention = 3600;
    to_json(u, g_doc, sizeof g_doc);
    CHECK(strstr(g_doc, "\"type\":\"face.unmatched\"") != NULL);
    CHECK(strstr(g_doc, "\"camera\":\"hall\"") != NULL);
    CHECK(strstr(g_doc, "\"embedding\":\"") != NULL);
    argus_event *uc = NULL;
    CHECK_OK(argus_event_clone(u, &uc));
    argus_event_unref(u);
    CHECK(uc && uc->u.unmatched.face->u.face.crop.size == 100);
    argus_event_unref(uc);
  }
}

/* ---- watchlist changes ---------------------------------------------------- */

static void test_watchlist_change(void) {
  argus_event *ev = NULL;
  argus_error_detail err = {{0}};
  const char *v1 = "{\"v\":1,\"type\":\"watchlist.change\",\"watchlist\":\"x\","
                   "\"action\":\"person.add\"}";
  CHECK_OK(argus_event_from_json(v1, strlen(v1), &ev, &err));
  if (ev) {
    CHECK_INT_EQ(ev->type, ARGUS_EVENT_WATCHLIST);
    CHECK_INT_EQ(ev->version, 1);
    CHECK_INT_EQ(ev->u.watchlist.what, ARGUS_EVENT_CHANGE_ALL);
    CHECK(strcmp(ev->u.watchlist.watchlist, "x") == 0);
    CHECK(strcmp(ev->u.watchlist.action, "person.add") == 0);
    CHECK_INT_EQ(ev->u.watchlist.person_id, 0);
    CHECK_INT_EQ(ev->u.watchlist.seq, 0);
  }
  argus_event_unref(ev);

  const char *v2 = "{\"v\":2,\"type\":\"watchlist.change\",\"what\":\"person\","
                   "\"action\":\"person.remove\",\"watchlist\":\"vip\","
                   "\"watchlist_id\":4,\"person_id\":99,\"seq\":1234}";
  ev = NULL;
  CHECK_OK(argus_event_from_json(v2, strlen(v2), &ev, &err));
  if (ev) {
    const argus_event_watchlist *w = &ev->u.watchlist;
    CHECK_INT_EQ(ev->version, 2);
    CHECK_INT_EQ(w->what, ARGUS_EVENT_CHANGE_PERSON);
    CHECK_INT_EQ(w->person_id, 99);
    CHECK_INT_EQ(w->watchlist_id, 4);
    CHECK_INT_EQ(w->seq, 1234);
    CHECK(strcmp(w->action, "person.remove") == 0);
    /* Written and read back the same. */
    size_t n = to_json(ev, g_doc, sizeof g_doc);
    argus_event *back = NULL;
    CHECK_OK(argus_event_from_json(g_doc, n, &back, &err));
    CHECK(back && back->u.watchlist.what == ARGUS_EVENT_CHANGE_PERSON &&
          back->u.watchlist.person_id == 99 && back->u.watchlist.seq == 1234 &&
          strcmp(back->u.watchlist.watchlist, "vip") == 0);
    argus_event_unref(back);
    /* Watchlist changes clone (a plain copy). */
    argus_event *c = NULL;
    CHECK_OK(argus_event_clone(ev, &c));
    CHECK(c && c->u.watchlist.person_id == 99);
    argus_event_unref(c);
  }
  argus_event_unref(ev);

  /* "person" without a person id: nothing to re-read but everything. */
  const char *np =
      "{\"v\":2,\"type\":\"watchlist.change\",\"what\":\"person\"}";
  ev = NULL;
  CHECK_OK(argus_event_from_json(np, strlen(np), &ev, &err));
  CHECK(ev && ev->u.watchlist.what == ARGUS_EVENT_CHANGE_ALL);
  argus_event_unref(ev);
  const char *wl = "{\"v\":2,\"type\":\"watchlist.change\",\"what\":"
                   "\"watchlist\",\"watchlist\":\"vip\"}";
  ev = NULL;
  CHECK_OK(argus_event_from_json(wl, strlen(wl), &ev, &err));
  CHECK(ev && ev->u.watchlist.what == ARGUS_EVENT_CHANGE_WATCHLIST);
  argus_event_unref(ev);
  /* A change made here writes "all" for CHANGE_ALL. */
  ev = NULL;
  CHECK_OK(argus_event_new(ARGUS_EVENT_WATCHLIST, NULL, &ev));
  if (ev) {
    ev->u.watchlist.what = ARGUS_EVENT_CHANGE_ALL;
    to_json(ev, g_doc, sizeof g_doc);
    CHECK(strstr(g_doc, "\"what\":\"all\"") != NULL);
    CHECK(strstr(g_doc, "\"watchlist\":null") != NULL);
  }
  argus_event_unref(ev);
  expect_refused("{\"v\":2,\"type\":\"watchlist.change\",\"what\":7}",
                 ARGUS_E_CORRUPT, "what not a string", "watchlist.change");
}

/* ---- on the bus ----------------------------------------------------------- */

typedef struct cb_state {
  pthread_mutex_t mu;
  int n;
  const argus_event *last;
  int data_empty, person_ok;
  char last_id[ARGUS_BUS_ID_MAX + 1];
  int text; /* messages that came as text */
} cb_state;

static void on_event(void *user, const argus_bus_msg *msg) {
  cb_state *s = user;
  pthread_mutex_lock(&s->mu);
  s->n++;
  s->last = msg->event;
  s->data_empty = msg->data && msg->data[0] == '\0' && msg->size == 0;
  /* Read through the pointer while the message holds it. */
  s->person_ok = msg->event && msg->event->type == ARGUS_EVENT_ALERT &&
                 msg->event->u.alert.person[0] != '\0' &&
                 msg->event->u.alert.face &&
                 msg->event->u.alert.face->u.face.crop.size == 500;
  snprintf(s->last_id, sizeof s->last_id, "%s", msg->id);
  if (!msg->event)
    s->text++;
  pthread_mutex_unlock(&s->mu);
}

static void test_bus(void) {
  argus_bus *bus = NULL;
  CHECK_OK(argus_bus_open(NULL, NULL, &bus, NULL));
  if (!bus)
    return;
  cb_state cs;
  memset(&cs, 0, sizeof cs);
  pthread_mutex_init(&cs.mu, NULL);

  argus_bus_sub *cb = NULL, *text = NULL, *small = NULL;
  argus_bus_sub_options o;
  memset(&o, 0, sizeof o);
  o.pattern = "alert.*";
  o.handler = on_event;
  o.user = &cs;
  o.events = 1;
  CHECK_OK(argus_bus_subscribe(bus, &o, &cb, NULL));
  memset(&o, 0, sizeof o);
  o.pattern = ARGUS_EVENT_TOPIC_ALERT_RAISED;
  CHECK_OK(argus_bus_subscribe(bus, &o, &text, NULL));
  memset(&o, 0, sizeof o);
  o.pattern = ARGUS_EVENT_TOPIC_ALERT_RAISED;
  o.queue_msgs = 2;
  o.events = 1;
  CHECK_OK(argus_bus_subscribe(bus, &o, &small, NULL));

  argus_event *face = make_face("door", 500, 0, 31);
  argus_event *a = make_alert(face, "Ada", 1);
  if (!face || !a || !cb || !text || !small)
    goto done;

  /* (a) the callback gets the publisher's struct itself. */
  CHECK_OK(argus_bus_publish_event(bus, ARGUS_EVENT_TOPIC_ALERT_RAISED, a));
  CHECK_OK(argus_bus_flush(bus, 10));
  pthread_mutex_lock(&cs.mu);
  CHECK_INT_EQ(cs.n, 1);
  CHECK(cs.last == a);
  CHECK(cs.data_empty);
  CHECK(cs.person_ok);
  CHECK(strcmp(cs.last_id, "alert-1") == 0);
  pthread_mutex_unlock(&cs.mu);

  /* (b) the text subscription gets its document, and no struct. */
  argus_bus_msg m;
  int got = 0;
  CHECK_OK(argus_bus_next(text, 0, &m, &got));
  CHECK_INT_EQ(got, 1);
  if (got) {
    CHECK(m.event == NULL);
    CHECK(strcmp(m.topic, "alert.raised") == 0);
    CHECK(strcmp(m.id, "alert-1") == 0);
    size_t n = to_json(a, g_doc, sizeof g_doc);
    CHECK(m.size == n && strcmp(m.data, g_doc) == 0);
    argus_event *back = NULL;
    argus_error_detail err = {{0}};
    CHECK_OK(argus_event_from_json(m.data, m.size, &back, &err));
    CHECK(back && strcmp(back->u.alert.person, "Ada") == 0);
    argus_event_unref(back);
  }
  /* A document published as text reaches an events subscription as text. */
  {
    const char *doc = "{\"v\":1,\"type\":\"alert\",\"note\":\"text\"}";
    CHECK_OK(
        argus_bus_publish(bus, "alert.raised", "text-1", doc, strlen(doc)));
    CHECK_OK(argus_bus_flush(bus, 10));
    pthread_mutex_lock(&cs.mu);
    CHECK_INT_EQ(cs.n, 2);
    CHECK(cs.last == NULL);
    CHECK_INT_EQ(cs.text, 1);
    pthread_mutex_unlock(&cs.mu);
    got = 0;
    CHECK_OK(argus_bus_next(text, 0, &m, &got));
    CHECK(got && m.event == NULL && strcmp(m.data, doc) == 0);
    /* The small queue: the alert (the struct), then the text. */
    got = 0;
    CHECK_OK(argus_bus_next(small, 0, &m, &got));
    CHECK(got && m.event == a && m.size == 0);
    got = 0;
    CHECK_OK(argus_bus_next(small, 0, &m, &got));
    CHECK(got && m.event == NULL && strcmp(m.data, doc) == 0);
  }

  /* Duplicate (topic, id): dropped, counted, still OK. */
  argus_bus_stats bs;
  CHECK_OK(argus_bus_get_stats(bus, &bs));
  uint64_t pub0 = bs.published, dup0 = bs.duplicates;
  CHECK_OK(argus_bus_publish_event(bus, ARGUS_EVENT_TOPIC_ALERT_RAISED, a));
  CHECK_OK(argus_bus_get_stats(bus, &bs));
  CHECK_INT_EQ(bs.published, pub0);
  CHECK_INT_EQ(bs.duplicates, dup0 + 1);
  /* The same id on another topic is another message. */
  CHECK_OK(argus_bus_publish_event(bus, ARGUS_EVENT_TOPIC_ALERT, a));
  CHECK_OK(argus_bus_flush(bus, 10));
  pthread_mutex_lock(&cs.mu);
  CHECK_INT_EQ(cs.n, 2); /* "alert.*" does not match "alert" */
  pthread_mutex_unlock(&cs.mu);

  /* Bad ids and events. */
  {
    argus_event *bad = make_alert(face, "Bob", 2);
    if (bad) {
      bad->id[0] = '\0';
      CHECK_INT_EQ(argus_bus_publish_event(bus, "alert.raised", bad),
                   ARGUS_E_INVALID_ARG);
      snprintf(bad->id, sizeof bad->id, "has space");
      CHECK_INT_EQ(argus_bus_publish_event(bus, "alert.raised", bad),
                   ARGUS_E_INVALID_ARG);
      snprintf(bad->id, sizeof bad->id, "ok-id");
      CHECK_INT_EQ(argus_bus_publish_event(bus, "Bad Topic", bad),
                   ARGUS_E_INVALID_ARG);
      CHECK_INT_EQ(argus_bus_publish_event(bus, "alert.raised", NULL),
                   ARGUS_E_INVALID_ARG);
      CHECK_INT_EQ(argus_bus_publish_event(NULL, "alert.raised", bad),
                   ARGUS_E_INVALID_ARG);
      argus_event_unref(bad);
    }
  }

  /* (c) many alerts, each let go by the publisher at once: the small queue
   * keeps the newest two and lets go of the others. */
  enum { MANY = 50 };
  for (int i = 0; i < MANY; i++) {
    char who[32];
    snprintf(who, sizeof who, "p%d", i);
    argus_event *e = make_alert(face, who, 100 + i);
    if (!e)
      continue;
    CHECK_OK(argus_bus_publish_event(bus, ARGUS_EVENT_TOPIC_ALERT_RAISED, e));
    argus_event_unref(e);
  }
  argus_bus_sub_stats ss;
  CHECK_OK(argus_bus_sub_get_stats(small, &ss));
  /* received: alert-1, text-1 (both polled), then MANY, all dropped but
   * the last two. */
  CHECK_INT_EQ(ss.received, 2 + MANY);
  CHECK_INT_EQ(ss.delivered, 2);
  CHECK_INT_EQ(ss.queued, 2);
  CHECK_INT_EQ(ss.dropped, MANY - 2);
  for (int k = 0; k < 2; k++) {
    got = 0;
    CHECK_OK(argus_bus_next(small, 0, &m, &got));
    CHECK_INT_EQ(got, 1);
    if (!got || !m.event)
      continue;
    /* The queue's reference keeps it alive: the publisher let go. */
    char want[32];
    snprintf(want, sizeof want, "p%d", MANY - 2 + k);
    CHECK(strcmp(m.event->u.alert.person, want) == 0);
    CHECK(m.event->u.alert.face == face);
    CHECK_INT_EQ(m.event->u.alert.person_id, 100 + MANY - 2 + k);
    CHECK(m.size == 0 && m.data[0] == '\0');
  }
  got = 1;
  CHECK_OK(argus_bus_next(small, 0, &m, &got));
  CHECK_INT_EQ(got, 0);
  CHECK_OK(argus_bus_flush(bus, 10));
  pthread_mutex_lock(&cs.mu);
  CHECK_INT_EQ(cs.n, 2 + MANY);
  CHECK(cs.person_ok);
  pthread_mutex_unlock(&cs.mu);
  CHECK_OK(argus_bus_sub_get_stats(text, &ss));
  CHECK_INT_EQ(ss.queued, MANY);

  /* One event left queued in a polled events subscription: its reference
   * goes when the bus closes. */
  {
    argus_event *e = make_alert(face, "last", 999);
    if (e) {
      CHECK_OK(argus_bus_publish_event(bus, ARGUS_EVENT_TOPIC_ALERT_RAISED, e));
      argus_event_unref(e);
    }
  }

done:
  argus_bus_unsubscribe(cb);
  argus_bus_close(bus); /* text and small still subscribed */
  /* Every reference the bus took is back: the publisher's alert and face
   * are readable (ASan: no use-after-free), and the last unrefs free them
   * all (ASan: no leak). */
  if (a)
    CHECK(strcmp(a->u.alert.person, "Ada") == 0 && a->u.alert.face == face);
  if (face)
    CHECK(face->u.face.crop.size == 500);
  argus_event_unref(a);
  argus_event_unref(face);
  pthread_mutex_destroy(&cs.mu);
}

/* ---- regressions ---------------------------------------------------------- */

/* face.unmatched documents are read back (a store sink in another process
 * needs them): parse_unmatched. */
static void test_unmatched_json(void) {
  argus_event *face = make_face("hall", 10, 0, 41);
  argus_event *u = NULL;
  CHECK_OK(argus_event_new(ARGUS_EVENT_UNMATCHED, face, &u));
  argus_event_unref(face);
  if (!u)
    return;
  u->u.unmatched.best_score = 0.25f;
  u->u.unmatched.retention = 3600;
  snprintf(u->id, sizeof u->id, "unmatched-1");
  size_t n = to_json(u, g_doc, sizeof g_doc);
  argus_event *back = NULL;
  argus_error_detail err = {{0}};
  argus_err e = argus_event_from_json(g_doc, n, &back, &err);
  CHECK_OK(e);
  if (back) {
    CHECK_INT_EQ(back->type, ARGUS_EVENT_UNMATCHED);
    CHECK(strcmp(back->u.unmatched.face_id, "face-41") == 0);
    CHECK(back->u.unmatched.best_score == 0.25f);
    CHECK(back->u.unmatched.retention == 3600);
  }
  argus_event_unref(back);
  argus_event_unref(u);
}

/* Numbers of a document from another process are range-checked before
 * they become integers (get_int in event.c): a "track":1e30 used to be
 * undefined behaviour (C11 6.3.1.4) and aborted the sanitizer build. */
static void test_out_of_range(void) {
  argus_event *ev = make_face("gate", 0, 0, 51);
  argus_event *a = make_alert(ev, "Ada", 5);
  argus_event *w = NULL;
  CHECK_OK(argus_event_new(ARGUS_EVENT_WATCHLIST, NULL, &w));
  if (!ev || !a || !w)
    goto done;
  w->u.watchlist.what = ARGUS_EVENT_CHANGE_PERSON;
  w->u.watchlist.person_id = 7;
  w->u.watchlist.seq = 9;
  struct {
    const argus_event *ev;
    const char *from, *to;
  } cases[] = {
      {ev, "\"track\":123456", "\"track\":1e30"},
      {ev, "\"frame_w\":1920", "\"frame_w\":1e30"},
      {a, "\"track\":123456", "\"track\":-1"},
      {a, "\"track\":123456", "\"track\":1e30"},
      {a, "\"person_id\":5", "\"person_id\":1e300"},
      {w, "\"seq\":9", "\"seq\":-1e300"},
      {w, "\"person_id\":7", "\"person_id\":1e30"},
      {w, "\"v\":2", "\"v\":-1e30"}, /* (int)v for the version */
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    to_json(cases[i].ev, g_doc, sizeof g_doc);
    CHECK(replace(g_doc, sizeof g_doc, cases[i].from, cases[i].to) == 0);
    expect_refused(g_doc, ARGUS_E_CORRUPT, cases[i].to, NULL);
  }
done:
  argus_event_unref(w);
  argus_event_unref(a);
  argus_event_unref(ev);
}

/* The match details (issue 11): the track's first-seen media time on face
 * and alert events (NAN: unknown, null in JSON) and the enrolled photo the
 * alert matched (0: unknown, null). */
static void test_match_details(void) {
  argus_event *face = make_face("hall", 16, 0, 31);
  if (!face)
    return;
  /* A new face event has no track start until the edge sets one. */
  argus_event *fresh = NULL;
  CHECK_OK(argus_event_face_new(DIM, 0, 0, &fresh, NULL, NULL, NULL));
  CHECK(fresh && isnan(fresh->u.face.track_start));
  argus_event_unref(fresh);

  face->u.face.track_start = 10.5;
  size_t n = to_json(face, g_doc, sizeof g_doc);
  CHECK(strstr(g_doc, "\"track_start\":10.500") != NULL);
  argus_event *back = NULL;
  argus_error_detail err = {{0}};
  CHECK_OK(argus_event_from_json(g_doc, n, &back, &err));
  CHECK(back && back->u.face.track_start == 10.5);
  argus_event_unref(back);

  /* The alert copies it from its face; the matcher sets the photo. */
  argus_event *a = make_alert(face, "Grace", 5);
  if (a) {
    argus_event_alert *al = &a->u.alert;
    CHECK(al->track_start == 10.5);
    CHECK_INT_EQ(al->photo_id, 0);
    n = to_json(a, g_doc, sizeof g_doc);
    CHECK(strstr(g_doc, "\"photo_id\":null") != NULL);
    CHECK(strstr(g_doc, "\"track_start\":10.500") != NULL);
    al->photo_id = 77;
    n = to_json(a, g_doc, sizeof g_doc);
    CHECK(strstr(g_doc, "\"photo_id\":77") != NULL);
    back = NULL;
    CHECK_OK(argus_event_from_json(g_doc, n, &back, &err));
    CHECK(back && back->u.alert.photo_id == 77 &&
          back->u.alert.track_start == 10.5);
    argus_event_unref(back);
    /* Unknown: null, decoded as NAN. */
    al->track_start = NAN;
    n = to_json(a, g_doc, sizeof g_doc);
    CHECK(strstr(g_doc, "\"track_start\":null") != NULL);
    back = NULL;
    CHECK_OK(argus_event_from_json(g_doc, n, &back, &err));
    CHECK(back && isnan(back->u.alert.track_start));
    argus_event_unref(back);
    argus_event_unref(a);
  }
  /* An alert made without a face, and older documents without the
   * members: unknown. */
  argus_event *bare = NULL;
  CHECK_OK(argus_event_new(ARGUS_EVENT_ALERT, NULL, &bare));
  CHECK(bare && isnan(bare->u.alert.track_start) &&
        bare->u.alert.photo_id == 0);
  argus_event_unref(bare);
  static const char old_doc[] =
      "{\"v\":2,\"type\":\"alert\",\"id\":3,\"camera\":\"c\","
      "\"time\":\"2025-12-05T07:34:54.123Z\",\"media_time\":1.5,\"track\":2,"
      "\"watchlist\":\"w\",\"person\":\"p\",\"score\":0.5,\"person_id\":1,"
      "\"watchlist_id\":1}";
  back = NULL;
  CHECK_OK(argus_event_from_json(old_doc, sizeof old_doc - 1, &back, &err));
  CHECK(back && isnan(back->u.alert.track_start) &&
        back->u.alert.photo_id == 0);
  argus_event_unref(back);
  argus_event_unref(face);
}

/* The wire form (split roles): a face's crop travels, and an alert brings
 * its face (probe and crop) to a store sink in another process. */
static void test_wire(void) {
  argus_event *face = make_face("gate", 5000, 300, 77);
  if (!face)
    return;
  size_t n = 0;
  CHECK_OK(argus_event_to_wire(face, g_doc, sizeof g_doc, &n));
  CHECK(strstr(g_doc, "\"crop_jpeg\"") != NULL);
  size_t plain = 0;
  CHECK_OK(argus_event_to_json(face, g_doc2, sizeof g_doc2, &plain));
  CHECK(strstr(g_doc2, "crop_jpeg") == NULL);
  CHECK(n > plain + 5000 * 4 / 3);
  argus_event *back = NULL;
  argus_error_detail e = {{0}};
  CHECK_OK(argus_event_from_json(g_doc, n, &back, &e));
  if (back) {
    const argus_event_face *a = &face->u.face, *b = &back->u.face;
    CHECK_INT_EQ(b->crop.size, 5000);
    CHECK(b->crop.data && memcmp(a->crop.data, b->crop.data, 5000) == 0);
    CHECK(memcmp(a->embedding, b->embedding, DIM * sizeof(float)) == 0);
    CHECK(b->thumb_rgb == NULL); /* never carried */
    argus_event_unref(back);
  }
  /* An alert with its face. */
  argus_event *al = NULL;
  CHECK_OK(argus_event_new(ARGUS_EVENT_ALERT, face, &al));
  if (al) {
    snprintf(al->id, sizeof al->id, "alert-1");
    argus_event_alert *a = &al->u.alert;
    a->person_id = 3;
    a->watchlist_id = 2;
    snprintf(a->person, sizeof a->person, "Lin");
    snprintf(a->watchlist, sizeof a->watchlist, "wanted");
    a->score = 0.5f;
    CHECK_OK(argus_event_to_wire(al, g_doc, sizeof g_doc, &n));
    CHECK_OK(argus_event_from_json(g_doc, n, &back, &e));
    if (back) {
      const argus_event_alert *b = &back->u.alert;
      CHECK(b->face != NULL);
      if (b->face) {
        CHECK(strcmp(b->face->id, face->id) == 0);
        CHECK_INT_EQ(b->face->u.face.crop.size, 5000);
        CHECK(memcmp(b->face->u.face.embedding, face->u.face.embedding,
                     DIM * sizeof(float)) == 0);
      }
      CHECK(strcmp(b->person, "Lin") == 0 && b->person_id == 3);
      argus_event_unref(back);
    }
    /* The plain form has no face. */
    CHECK_OK(argus_event_to_json(al, g_doc, sizeof g_doc, &n));
    CHECK_OK(argus_event_from_json(g_doc, n, &back, &e));
    if (back) {
      CHECK(back->u.alert.face == NULL);
      argus_event_unref(back);
    }
    argus_event_unref(al);
  }
  /* A crop that is not base64 is refused with a reason. */
  CHECK_OK(argus_event_to_wire(face, g_doc, sizeof g_doc, &n));
  char *c = strstr(g_doc, "\"crop_jpeg\":\"");
  if (c)
    c[13] = '!';
  CHECK_INT_EQ(argus_event_from_json(g_doc, n, &back, &e), ARGUS_E_CORRUPT);
  CHECK(strstr(e.msg, "crop_jpeg") != NULL);
  argus_event_unref(face);
}

int main(void) {
  argus_log_set_level(ARGUS_LOG_ERROR);
  test_match_details();
  test_face_new();
  test_face_json();
  test_face_json_errors();
  test_face_json_utf8();
  test_alert();
  test_watchlist_change();
  test_bus();
  test_unmatched_json();
  test_out_of_range();
  test_wire();
  return check_report("test_event");
}
