/* The record writers of the store, the gallery, the import and faces
 * (argus_store_*_json, argus_gallery_*_json, argus_import_*_json,
 * argus_face_json_members): every output parses with cJSON and has the
 * members the CLI's --json output has always had, with the values of the
 * record; strings with quotes, control characters and bytes that are not
 * UTF-8 stay valid JSON; a NaN threshold, a missing external id or object
 * id are null; stored JSON text (settings, details) is copied as JSON, or
 * null when it is not valid; a record in an array; overflow of a small
 * buffer; a face's members in a caller's object. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "argus/face.h"
#include "argus/import.h"
#include "argus/store.h"
#include "check.h"

static char buf[1 << 16];

/* Parses buf[0..n); n == 0 is a failure. */
static cJSON *parse(size_t n) {
  CHECK(n > 0);
  if (!n)
    return NULL;
  CHECK_INT_EQ(strlen(buf), n);
  cJSON *doc = cJSON_Parse(buf);
  CHECK(doc != NULL);
  if (!doc)
    fprintf(stderr, "not JSON: %s\n", buf);
  return doc;
}

static const cJSON *get(const cJSON *o, const char *k) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
  if (!v)
    fprintf(stderr, "no member '%s' in %s\n", k, buf);
  CHECK(v != NULL);
  return v;
}

static int str_is(const cJSON *o, const char *k, const char *want) {
  const cJSON *v = get(o, k);
  return cJSON_IsString(v) && strcmp(v->valuestring, want) == 0;
}

static int num_is(const cJSON *o, const char *k, double want) {
  const cJSON *v = get(o, k);
  return cJSON_IsNumber(v) && fabs(v->valuedouble - want) < 1e-9;
}

static int is_null(const cJSON *o, const char *k) {
  return cJSON_IsNull(get(o, k));
}

static int nmembers(const cJSON *o) { return cJSON_GetArraySize(o); }

static void test_watchlist(void) {
  argus_store_watchlist w;
  memset(&w, 0, sizeof w);
  w.id = 7;
  snprintf(w.name, sizeof w.name, "vip \"a\"\n\x01 \xff end");
  w.threshold = 0.4512341;
  snprintf(w.colour, sizeof w.colour, "#e53935");
  w.active = 1;
  w.ack_required = 1;
  w.persons = 12;
  snprintf(w.created, sizeof w.created, "2026-12-05T07:00:00.000Z");
  snprintf(w.updated, sizeof w.updated, "2026-12-05T07:00:01.000Z");
  argus_json j;
  argus_json_init(&j, buf, sizeof buf);
  argus_store_watchlist_json(&w, &j);
  cJSON *d = parse(argus_json_finish(&j));
  if (d) {
    /* 9 members, and the legal basis (migration 6): purpose, legal_ref,
     * owner, expires, expired. */
    CHECK_INT_EQ(nmembers(d), 9 + 5);
    CHECK(str_is(d, "purpose", "") && str_is(d, "owner", ""));
    CHECK(is_null(d, "expires"));
    CHECK(cJSON_IsFalse(get(d, "expired")));
    CHECK(num_is(d, "id", 7));
    CHECK(cJSON_IsTrue(get(d, "ack_required")));
    /* The invalid byte became U+FFFD; the rest is kept. */
    CHECK(str_is(d, "name", "vip \"a\"\n\x01 \xef\xbf\xbd end"));
    CHECK(num_is(d, "threshold", 0.451234));
    CHECK(str_is(d, "colour", "#e53935"));
    CHECK(cJSON_IsTrue(get(d, "active")));
    CHECK(num_is(d, "persons", 12));
    CHECK(str_is(d, "created", "2026-12-05T07:00:00.000Z"));
    CHECK(str_is(d, "updated", "2026-12-05T07:00:01.000Z"));
  }
  cJSON_Delete(d);
  w.threshold = NAN;
  w.active = 0;
  argus_json_init(&j, buf, sizeof buf);
  argus_store_watchlist_json(&w, &j);
  d = parse(argus_json_finish(&j));
  if (d) {
    CHECK(is_null(d, "threshold"));
    CHECK(cJSON_IsFalse(get(d, "active")));
  }
  cJSON_Delete(d);
  /* Too small a buffer: overflow, finish 0. */
  char tiny[32];
  argus_json_init(&j, tiny, sizeof tiny);
  argus_store_watchlist_json(&w, &j);
  CHECK_INT_EQ(argus_json_finish(&j), 0);
  CHECK(j.overflow);
}

static void test_person(void) {
  argus_store_person p;
  memset(&p, 0, sizeof p);
  p.id = 3;
  p.watchlist_id = 1;
  snprintf(p.watchlist, sizeof p.watchlist, "vip");
  snprintf(p.name, sizeof p.name, "Joe Biden");
  snprintf(p.notes, sizeof p.notes, "tab\there");
  p.photos = 2;
  p.templates = 2;
  argus_json j;
  /* Two persons in an array; the first without an external id. */
  argus_json_init(&j, buf, sizeof buf);
  argus_json_arr_begin(&j, NULL);
  argus_store_person_json(&p, &j);
  snprintf(p.external_id, sizeof p.external_id, "Joe_Biden");
  argus_store_person_json(&p, &j);
  argus_json_arr_end(&j);
  cJSON *d = parse(argus_json_finish(&j));
  if (d) {
    CHECK_INT_EQ(cJSON_GetArraySize(d), 2);
    const cJSON *a = cJSON_GetArrayItem(d, 0), *b = cJSON_GetArrayItem(d, 1);
    /* 9 members, and reason, review_by, review (migration 6). */
    CHECK_INT_EQ(nmembers(a), 9 + 3);
    CHECK(is_null(a, "review_by"));
    CHECK(str_is(a, "review", "none"));
    CHECK(num_is(a, "id", 3));
    CHECK(str_is(a, "watchlist", "vip"));
    CHECK(str_is(a, "name", "Joe Biden"));
    CHECK(is_null(a, "external_id"));
    CHECK(str_is(b, "external_id", "Joe_Biden"));
    CHECK(str_is(a, "notes", "tab\there"));
    CHECK(num_is(a, "photos", 2));
    CHECK(num_is(a, "templates", 2));
    CHECK(str_is(a, "created", "") && str_is(a, "updated", ""));
  }
  cJSON_Delete(d);
}

static void test_camera(void) {
  argus_store_camera c;
  memset(&c, 0, sizeof c);
  c.id = 2;
  snprintf(c.name, sizeof c.name, "lobby");
  snprintf(c.url, sizeof c.url, "rtsp://admin:secret@10.0.0.5/stream");
  snprintf(c.settings, sizeof c.settings, "{\"fps\": 5, \"tcp\": true}");
  c.enabled = 1;
  snprintf(c.created, sizeof c.created, "2026-12-05T07:00:00.000Z");
  argus_json j;
  argus_json_init(&j, buf, sizeof buf);
  argus_store_camera_json(&c, &j);
  cJSON *d = parse(argus_json_finish(&j));
  if (d) {
    CHECK_INT_EQ(nmembers(d), 6);
    CHECK(num_is(d, "id", 2));
    CHECK(str_is(d, "name", "lobby"));
    CHECK(strstr(get(d, "url")->valuestring, "secret") == NULL);
    CHECK(strstr(get(d, "url")->valuestring, "10.0.0.5") != NULL);
    const cJSON *s = get(d, "settings");
    CHECK(cJSON_IsObject(s) && num_is(s, "fps", 5));
    CHECK(cJSON_IsTrue(get(d, "enabled")));
    CHECK(str_is(d, "created", "2026-12-05T07:00:00.000Z"));
  }
  cJSON_Delete(d);
  /* Settings that are not valid JSON do not break the document. */
  snprintf(c.settings, sizeof c.settings, "{\"fps\": 05,");
  argus_json_init(&j, buf, sizeof buf);
  argus_store_camera_json(&c, &j);
  d = parse(argus_json_finish(&j));
  if (d)
    CHECK(is_null(d, "settings"));
  cJSON_Delete(d);
}

static void test_audit_alert(void) {
  argus_store_audit a;
  memset(&a, 0, sizeof a);
  a.id = 9;
  snprintf(a.time, sizeof a.time, "2026-12-05T07:00:00.000Z");
  snprintf(a.actor, sizeof a.actor, "cli:root");
  snprintf(a.action, sizeof a.action, "person.add");
  snprintf(a.object_type, sizeof a.object_type, "person");
  a.object_id = 4;
  snprintf(a.detail, sizeof a.detail, "{\"name\":\"x\",\"n\":[1,2]}");
  argus_json j;
  argus_json_init(&j, buf, sizeof buf);
  argus_store_audit_json(&a, &j);
  cJSON *d = parse(argus_json_finish(&j));
  if (d) {
    CHECK_INT_EQ(nmembers(d), 7);
    CHECK(num_is(d, "id", 9));
    CHECK(str_is(d, "time", "2026-12-05T07:00:00.000Z"));
    CHECK(str_is(d, "actor", "cli:root"));
    CHECK(str_is(d, "action", "person.add"));
    CHECK(str_is(d, "object_type", "person"));
    CHECK(num_is(d, "object_id", 4));
    CHECK(str_is(get(d, "detail"), "name", "x"));
  }
  cJSON_Delete(d);
  a.object_id = 0;
  argus_json_init(&j, buf, sizeof buf);
  argus_store_audit_json(&a, &j);
  d = parse(argus_json_finish(&j));
  if (d)
    CHECK(is_null(d, "object_id"));
  cJSON_Delete(d);

  argus_store_alert al;
  memset(&al, 0, sizeof al);
  al.id = 5;
  snprintf(al.camera, sizeof al.camera, "lobby");
  al.camera_id = 2;
  al.media_time = 12.3456;
  al.track_id = 17;
  snprintf(al.watchlist, sizeof al.watchlist, "vip");
  snprintf(al.person, sizeof al.person, "Joe Biden");
  al.person_id = 3;
  al.score = 0.61234;
  snprintf(al.crop_sha256, sizeof al.crop_sha256, "%064d", 0);
  al.status = ARGUS_ALERT_PENDING;
  al.threshold = NAN; /* not recorded: null */
  al.photo_id = 9;
  al.track_start = 10.5;
  argus_json_init(&j, buf, sizeof buf);
  argus_store_alert_json(&al, &j);
  d = parse(argus_json_finish(&j));
  if (d) {
    CHECK_INT_EQ(nmembers(d), 17);
    CHECK(is_null(d, "threshold"));
    CHECK(num_is(d, "photo_id", 9));
    CHECK(num_is(d, "track_start", 10.5));
    CHECK(num_is(d, "id", 5));
    CHECK(num_is(d, "camera_id", 2));
    CHECK(num_is(d, "media_time", 12.346));
    CHECK(num_is(d, "track", 17));
    CHECK(is_null(d, "watchlist_id"));
    CHECK(num_is(d, "person_id", 3));
    CHECK(num_is(d, "score", 0.6123));
    CHECK(str_is(d, "crop_sha256", al.crop_sha256));
    CHECK(is_null(d, "thumb_sha256"));
    CHECK(str_is(d, "status", argus_alert_status_name(ARGUS_ALERT_PENDING)));
  }
  cJSON_Delete(d);
}

static void test_gallery_import(void) {
  argus_gallery_candidate c;
  memset(&c, 0, sizeof c);
  c.person_id = 1;
  c.photo_id = 8;
  c.score = 0.71234f;
  c.threshold = 0.45f;
  c.match = 1;
  snprintf(c.person, sizeof c.person, "Barack Obama");
  snprintf(c.watchlist, sizeof c.watchlist, "vip");
  argus_json j;
  argus_json_init(&j, buf, sizeof buf);
  argus_gallery_candidate_json(&c, &j);
  size_t n = argus_json_finish(&j);
  /* The CLI's tests look for this prefix. */
  CHECK(strncmp(buf, "{\"person_id\":1,\"name\":\"Barack Obama\"", 36) == 0);
  cJSON *d = parse(n);
  if (d) {
    CHECK_INT_EQ(nmembers(d), 8);
    CHECK(is_null(d, "external_id"));
    CHECK(str_is(d, "watchlist", "vip"));
    CHECK(num_is(d, "score", 0.7123));
    CHECK(num_is(d, "threshold", 0.45));
    CHECK(cJSON_IsTrue(get(d, "match")));
    CHECK(num_is(d, "photo_id", 8));
  }
  cJSON_Delete(d);

  argus_gallery_photo p;
  memset(&p, 0, sizeof p);
  p.source = "a.jpg";
  p.quality = 0.8f;
  p.nfaces = 1;
  argus_json_init(&j, buf, sizeof buf);
  argus_gallery_photo_json(&p, &j);
  d = parse(argus_json_finish(&j));
  if (d) {
    CHECK_INT_EQ(nmembers(d), 4);
    CHECK(str_is(d, "file", "a.jpg"));
    CHECK(cJSON_IsTrue(get(d, "accepted")));
    CHECK(num_is(d, "quality", 0.8));
    CHECK(num_is(d, "faces", 1));
  }
  cJSON_Delete(d);
  p.reason = ARGUS_GALLERY_REJECT_SEVERAL_FACES;
  p.reasons = 1u << ARGUS_GALLERY_REJECT_SEVERAL_FACES |
              1u << ARGUS_GALLERY_REJECT_BLURRED;
  p.nfaces = 3;
  snprintf(p.detail, sizeof p.detail, "3 faces");
  argus_json_init(&j, buf, sizeof buf);
  argus_gallery_photo_json(&p, &j);
  d = parse(argus_json_finish(&j));
  if (d) {
    CHECK_INT_EQ(nmembers(d), 6);
    CHECK(cJSON_IsFalse(get(d, "accepted")));
    CHECK(str_is(d, "reason", "several faces"));
    const cJSON *r = get(d, "reasons");
    CHECK_INT_EQ(cJSON_GetArraySize(r), 2);
    CHECK(str_is(d, "detail", "3 faces"));
    CHECK(num_is(d, "faces", 3));
  }
  cJSON_Delete(d);

  /* An import summary: one enrolled, one rejected, one failed person. */
  argus_import_rejected_photo rj = {
      "p/Nobody/blank.jpg", ARGUS_GALLERY_REJECT_NO_FACE,
      1u << ARGUS_GALLERY_REJECT_NO_FACE, "no face found", 0};
  argus_import_person ps[3];
  memset(ps, 0, sizeof ps);
  ps[0].folder = "Joe_Biden";
  ps[0].name = "Joe Biden";
  ps[0].status = ARGUS_IMPORT_ENROLLED;
  ps[0].person_id = 4;
  ps[0].photos = ps[0].photos_used = ps[0].photos_enrolled = 1;
  ps[1].folder = "Nobody";
  ps[1].name = "Nobody";
  ps[1].status = ARGUS_IMPORT_REJECTED;
  ps[1].photos = ps[1].photos_used = ps[1].photos_rejected = 1;
  ps[1].rejected = &rj;
  ps[2].folder = "Bad";
  ps[2].name = "Bad";
  ps[2].status = ARGUS_IMPORT_FAILED;
  ps[2].error = ARGUS_E_INVALID_ARG;
  snprintf(ps[2].message, sizeof ps[2].message, "external id too long");
  argus_import_summary s;
  memset(&s, 0, sizeof s);
  snprintf(s.watchlist, sizeof s.watchlist, "vip");
  s.persons_total = 3;
  s.persons_enrolled = s.persons_rejected = s.persons_failed = 1;
  s.photos_enrolled = s.photos_rejected = 1;
  s.rejected_by_reason[ARGUS_GALLERY_REJECT_NO_FACE] = 1;
  s.seconds = 1.5;
  s.persons = ps;
  argus_json_init(&j, buf, sizeof buf);
  argus_import_summary_json(&s, &j);
  d = parse(argus_json_finish(&j));
  if (d) {
    CHECK_INT_EQ(nmembers(d), 13);
    CHECK(str_is(d, "watchlist", "vip"));
    CHECK(num_is(d, "persons", 3));
    CHECK(num_is(d, "persons_enrolled", 1));
    CHECK(num_is(d, "persons_skipped", 0));
    CHECK(num_is(d, "persons_rejected", 1));
    CHECK(num_is(d, "persons_failed", 1));
    CHECK(num_is(d, "photos_enrolled", 1));
    CHECK(num_is(d, "photos_rejected", 1));
    const cJSON *br = get(d, "rejected_by_reason");
    CHECK_INT_EQ(nmembers(br), 1);
    CHECK(num_is(br, "no face", 1));
    CHECK(cJSON_IsFalse(get(d, "interrupted")));
    CHECK(num_is(d, "seconds", 1.5));
    const cJSON *r = get(d, "rejected");
    CHECK_INT_EQ(cJSON_GetArraySize(r), 1);
    CHECK(str_is(cJSON_GetArrayItem(r, 0), "file", "p/Nobody/blank.jpg"));
    CHECK(str_is(cJSON_GetArrayItem(r, 0), "reason", "no face"));
    const cJSON *f = get(d, "failed");
    CHECK_INT_EQ(cJSON_GetArraySize(f), 1);
    CHECK(str_is(cJSON_GetArrayItem(f, 0), "person", "Bad"));
    CHECK(str_is(cJSON_GetArrayItem(f, 0), "error", "external id too long"));
  }
  cJSON_Delete(d);
  argus_json_init(&j, buf, sizeof buf);
  argus_import_person_json(&ps[2], &j);
  d = parse(argus_json_finish(&j));
  if (d) {
    CHECK(str_is(d, "status", "failed"));
    CHECK(is_null(d, "person_id"));
    CHECK(str_is(d, "error", "INVALID_ARG"));
    CHECK(str_is(d, "message", "external id too long"));
  }
  cJSON_Delete(d);
  argus_json_init(&j, buf, sizeof buf);
  argus_import_person_json(&ps[1], &j);
  d = parse(argus_json_finish(&j));
  if (d) {
    CHECK(str_is(d, "status", "rejected"));
    CHECK_INT_EQ(cJSON_GetArraySize(get(d, "rejected")), 1);
    CHECK(cJSON_GetObjectItemCaseSensitive(d, "error") == NULL);
  }
  cJSON_Delete(d);
}

static void test_face(void) {
  argus_face f;
  memset(&f, 0, sizeof f);
  f.box[0] = 10.04f;
  f.box[1] = 20.0f;
  f.box[2] = 110.0f;
  f.box[3] = NAN; /* written as 0 */
  f.score = 0.9f;
  f.npoints = ARGUS_FACE_NPOINTS;
  for (int i = 0; i < ARGUS_FACE_NPOINTS; i++) {
    f.points[i][0] = (float)i;
    f.points[i][1] = (float)(2 * i);
  }
  f.ndense = 3;
  f.has_quality = 1;
  f.quality.value = 0.5f;
  f.quality.ipd = 30.0f;
  f.quality.sharpness = 0.25f;
  f.quality.flags = ARGUS_FACE_Q_BLURRED;
  float emb[4] = {0.5f, -0.25f, INFINITY, 1e-7f};
  argus_json j;
  argus_json_init(&j, buf, sizeof buf);
  argus_json_obj_begin(&j, NULL);
  argus_face_json_members(&f, emb, 4, ARGUS_FACE_JSON_DENSE, &j);
  argus_json_str(&j, "extra", "x");
  argus_json_obj_end(&j);
  cJSON *d = parse(argus_json_finish(&j));
  if (d) {
    CHECK(strncmp(buf, "{\"box\":[10.0,20.0,110.0,0.0],\"score\":0.9000,",
                  44) == 0);
    CHECK_INT_EQ(cJSON_GetArraySize(get(d, "points")), 5);
    CHECK(num_is(d, "quality", 0.5));
    const cJSON *q = get(d, "quality_detail");
    CHECK(num_is(q, "ipd", 30) && num_is(q, "sharpness", 0.25));
    CHECK_INT_EQ(cJSON_GetArraySize(get(q, "reasons")), 1);
    CHECK(cJSON_IsString(cJSON_GetArrayItem(get(q, "reasons"), 0)) &&
          strcmp(cJSON_GetArrayItem(get(q, "reasons"), 0)->valuestring,
                 "blurred") == 0);
    CHECK_INT_EQ(cJSON_GetArraySize(get(d, "landmarks3")), 3);
    const cJSON *e = get(d, "embedding");
    CHECK_INT_EQ(cJSON_GetArraySize(e), 4);
    CHECK(cJSON_GetArrayItem(e, 1)->valuedouble == -0.25);
    CHECK(cJSON_GetArrayItem(e, 2)->valuedouble == 0);
    CHECK(str_is(d, "extra", "x"));
  }
  cJSON_Delete(d);
  /* Without landmarks, quality, dense flag or embedding: box and score. */
  f.npoints = 0;
  f.has_quality = 0;
  argus_json_init(&j, buf, sizeof buf);
  argus_json_obj_begin(&j, NULL);
  argus_face_json_members(&f, NULL, 0, 0, &j);
  argus_json_obj_end(&j);
  d = parse(argus_json_finish(&j));
  if (d)
    CHECK_INT_EQ(nmembers(d), 2);
  cJSON_Delete(d);
}

static void test_reindex(void) {
  argus_gallery_reindex_report r;
  memset(&r, 0, sizeof r);
  r.total = 10;
  r.done = 9;
  r.embedded = 8;
  r.failed = 1;
  r.stopped = 1;
  argus_json j;
  argus_json_init(&j, buf, sizeof buf);
  argus_json_obj_begin(&j, NULL);
  argus_gallery_reindex_report_json_members(&r, &j);
  argus_json_obj_end(&j);
  cJSON *d = parse(argus_json_finish(&j));
  if (d) {
    CHECK_INT_EQ(nmembers(d), 6);
    CHECK(num_is(d, "to_do", 10) && num_is(d, "processed", 9));
    CHECK(num_is(d, "embedded", 8) && num_is(d, "failed", 1));
    CHECK(cJSON_IsTrue(get(d, "interrupted")));
    CHECK(is_null(d, "first_failure"));
  }
  cJSON_Delete(d);
  snprintf(r.first_failure, sizeof r.first_failure, "photo 3: no face");
  argus_json_init(&j, buf, sizeof buf);
  argus_json_obj_begin(&j, NULL);
  argus_gallery_reindex_report_json_members(&r, &j);
  argus_json_obj_end(&j);
  d = parse(argus_json_finish(&j));
  if (d)
    CHECK(str_is(d, "first_failure", "photo 3: no face"));
  cJSON_Delete(d);
}

int main(void) {
  test_watchlist();
  test_person();
  test_camera();
  test_audit_alert();
  test_gallery_import();
  test_face();
  test_reindex();
  return check_report("test_json_out");
}
