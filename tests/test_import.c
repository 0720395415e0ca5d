/* argus_gallery_import: a folder of persons (LFW-112 aligned crops, linked
 * into a temporary folder) enrolled with per-person results and progress
 * events; a re-run that skips everyone already enrolled; a bad image
 * rejected as unreadable with its reason; a person the store refuses
 * (failed, with the store's code and message); cancellation by the callback
 * and by the flag, and a resumed run. Also argus_gallery_photo_prepare_file
 * and argument errors. Skips without the models or
 * ../shared/data/lfw-112. */
#define _GNU_SOURCE
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "argus/import.h"
#include "check.h"

static char tmp[256], lfw[1024], people[400];
static argus_face_engine *eng;

static int rm_cb(const char *path, const struct stat *sb, int flag,
                 struct FTW *ftw) {
  (void)sb;
  (void)flag;
  (void)ftw;
  return remove(path);
}

/* Links the first `n` photos of LFW person `who` into <root>/<as>/. */
static void add_person_in(const char *root, const char *who, const char *as,
                          int n) {
  char d[1400], src[2400], dst[2400];
  snprintf(d, sizeof d, "%s/%s", root, as);
  mkdir(d, 0700);
  for (int i = 1; i <= n; i++) {
    snprintf(src, sizeof src, "%s/%s/%s_%04d.jpg", lfw, who, who, i);
    snprintf(dst, sizeof dst, "%s/%s_%04d.jpg", d, who, i);
    CHECK(symlink(src, dst) == 0);
  }
}

static void add_person(const char *who, const char *as, int n) {
  add_person_in(people, who, as, n);
}

static void write_file(const char *rel, const char *text) {
  char p[1400];
  snprintf(p, sizeof p, "%s/%s", people, rel);
  FILE *f = fopen(p, "w");
  CHECK(f != NULL);
  if (f) {
    fputs(text, f);
    fclose(f);
  }
}

/* Records what the callback saw; cancels after `cancel_after` persons. */
typedef struct seen {
  int starts, rejected, persons, enrolled, skipped;
  int64_t last_done;
  int64_t cancel_after; /* 0: never */
  int order_ok;
  char last_folder[256];
} seen;

static int on_event(void *user, const argus_import_event *ev) {
  seen *s = user;
  switch (ev->kind) {
  case ARGUS_IMPORT_EVENT_START:
    s->starts++;
    CHECK(ev->person == NULL);
    break;
  case ARGUS_IMPORT_EVENT_PHOTO_REJECTED:
    s->rejected++;
    CHECK(ev->photo != NULL && ev->person != NULL);
    break;
  case ARGUS_IMPORT_EVENT_PERSON:
    s->persons++;
    s->enrolled += ev->person->status == ARGUS_IMPORT_ENROLLED;
    s->skipped += ev->person->status == ARGUS_IMPORT_SKIPPED;
    if (ev->done != s->last_done + 1 ||
        strcmp(ev->person->folder, s->last_folder) <= 0)
      s->order_ok = 0;
    s->last_done = ev->done;
    snprintf(s->last_folder, sizeof s->last_folder, "%s", ev->person->folder);
    break;
  }
  return s->cancel_after && ev->kind == ARGUS_IMPORT_EVENT_PERSON &&
         ev->done >= s->cancel_after;
}

static void seen_init(seen *s, int64_t cancel_after) {
  memset(s, 0, sizeof *s);
  s->order_ok = 1;
  s->cancel_after = cancel_after;
}

static const argus_import_person *find(const argus_import_summary *st,
                                       const char *folder) {
  for (int64_t i = 0; i < st->persons_total; i++)
    if (strcmp(st->persons[i].folder, folder) == 0)
      return &st->persons[i];
  return NULL;
}

static void test_prepare_file(argus_import_options *o) {
  argus_gallery_photo p;
  argus_face_error fe = {{0}};
  char path[1400];
  snprintf(path, sizeof path, "%s/Aaron_Sorkin/Aaron_Sorkin_0001.jpg", lfw);
  CHECK_OK(
      argus_gallery_photo_prepare_file(eng, NULL, path, &o->enrol, &p, &fe));
  CHECK_INT_EQ(p.reason, ARGUS_GALLERY_ACCEPTED);
  CHECK(p.vector != NULL && p.source == path);
  argus_gallery_photo_free(&p);
  CHECK_OK(argus_gallery_photo_prepare_file(eng, NULL, "/nonexistent.jpg",
                                            &o->enrol, &p, &fe));
  CHECK_INT_EQ(p.reason, ARGUS_GALLERY_REJECT_UNREADABLE);
  CHECK(p.detail[0] != '\0');
  argus_gallery_photo_free(&p);
  CHECK(argus_gallery_photo_prepare_file(NULL, NULL, path, NULL, &p, &fe) ==
        ARGUS_E_INVALID_ARG);
}

static void test_import(argus_gallery *g, argus_import_options *o) {
  argus_import_summary st;
  argus_gallery_error err = {{0}};
  seen s;

  /* Argument errors and a missing watchlist or folder: nothing started. */
  CHECK(argus_gallery_import(g, eng, "vip", people, o, NULL, NULL, NULL,
                             &err) == ARGUS_E_INVALID_ARG);
  CHECK(argus_gallery_import(g, eng, "nope", people, o, NULL, NULL, &st,
                             &err) == ARGUS_E_NOT_FOUND);
  CHECK(strstr(err.msg, "no watchlist 'nope'") != NULL);
  CHECK(st.persons == NULL && st.persons_total == 0);
  CHECK(argus_gallery_import(g, eng, "vip", "/nonexistent-dir", o, NULL, NULL,
                             &st, &err) == ARGUS_E_NOT_FOUND);
  CHECK(strstr(err.msg, "/nonexistent-dir") != NULL);

  /* Cancelled by the callback after the second person: two stored, the
   * rest pending. */
  seen_init(&s, 2);
  CHECK(argus_gallery_import(g, eng, "vip", people, o, on_event, &s, &st,
                             &err) == ARGUS_E_CANCELLED);
  CHECK_INT_EQ(st.cancelled, 1);
  CHECK_INT_EQ(st.persons_total, 6);
  CHECK_INT_EQ(s.starts, 1);
  CHECK_INT_EQ(s.persons, 2);
  CHECK_INT_EQ(st.persons_enrolled, 2);
  CHECK_INT_EQ(st.persons[0].status, ARGUS_IMPORT_ENROLLED);
  CHECK_INT_EQ(st.persons[1].status, ARGUS_IMPORT_ENROLLED);
  for (int i = 2; i < 6; i++)
    CHECK_INT_EQ(st.persons[i].status, ARGUS_IMPORT_PENDING);
  argus_import_summary_free(&st);
  CHECK(st.persons == NULL);

  /* Cancelled by the flag before anything is done. */
  volatile sig_atomic_t flag = 1;
  argus_import_options oc = *o;
  oc.cancel = &flag;
  seen_init(&s, 0);
  CHECK(argus_gallery_import(g, eng, "vip", people, &oc, on_event, &s, &st,
                             &err) == ARGUS_E_CANCELLED);
  CHECK_INT_EQ(st.cancelled, 1);
  CHECK_INT_EQ(s.persons, 0);
  CHECK_INT_EQ(st.persons_enrolled, 0);
  argus_import_summary_free(&st);

  /* The rest: the two stored are skipped; a bad image rejected with its
   * reason; a person with only a bad image rejected; a folder name too
   * long for an external id failed with the store's message. */
  seen_init(&s, 0);
  CHECK_OK(
      argus_gallery_import(g, eng, "vip", people, o, on_event, &s, &st, &err));
  CHECK_INT_EQ(st.cancelled, 0);
  CHECK_INT_EQ(st.persons_total, 6);
  CHECK_INT_EQ(st.loose_files, 1);
  CHECK_INT_EQ(st.persons_skipped, 2);
  CHECK_INT_EQ(st.persons_enrolled, 2);
  CHECK_INT_EQ(st.persons_rejected, 1);
  CHECK_INT_EQ(st.persons_failed, 1);
  CHECK_INT_EQ(st.photos_rejected, 2);
  CHECK_INT_EQ(st.rejected_by_reason[ARGUS_GALLERY_REJECT_UNREADABLE], 2);
  CHECK_INT_EQ(s.persons, 6);
  CHECK_INT_EQ(s.skipped, 2);
  CHECK_INT_EQ(s.enrolled, 2);
  CHECK_INT_EQ(s.rejected, 2);
  CHECK(s.order_ok);
  const argus_import_person *p = find(&st, "Abdullah_al-Attiyah");
  CHECK(p != NULL);
  if (p) {
    CHECK_INT_EQ(p->status, ARGUS_IMPORT_ENROLLED);
    CHECK(strcmp(p->name, "Abdullah al-Attiyah") == 0);
    CHECK(p->person_id > 0);
    CHECK_INT_EQ(p->photos, 4);
    CHECK_INT_EQ(p->photos_enrolled, 3);
    CHECK_INT_EQ(p->photos_rejected, 1);
    if (p->photos_rejected == 1) {
      CHECK_INT_EQ(p->rejected[0].reason, ARGUS_GALLERY_REJECT_UNREADABLE);
      CHECK(strstr(p->rejected[0].path, "broken.jpg") != NULL);
      CHECK(p->rejected[0].detail[0] != '\0');
    }
  }
  p = find(&st, "Nobody");
  CHECK(p != NULL && p->status == ARGUS_IMPORT_REJECTED);
  CHECK(p != NULL && p->person_id == 0 && p->photos_rejected == 1);
  CHECK(find(&st, "Aaron_Sorkin")->status == ARGUS_IMPORT_SKIPPED);
  int failed = 0;
  for (int64_t i = 0; i < st.persons_total; i++)
    if (st.persons[i].status == ARGUS_IMPORT_FAILED) {
      failed++;
      CHECK_INT_EQ(st.persons[i].error, ARGUS_E_INVALID_ARG);
      CHECK(strstr(st.persons[i].message, "external id") != NULL);
    }
  CHECK_INT_EQ(failed, 1);
  CHECK(strcmp(argus_import_status_name(ARGUS_IMPORT_FAILED), "failed") == 0);
  argus_import_summary_free(&st);

  /* Again: everyone enrolled is skipped; the others fail as before. */
  seen_init(&s, 0);
  CHECK_OK(
      argus_gallery_import(g, eng, "vip", people, o, on_event, &s, &st, &err));
  CHECK_INT_EQ(st.persons_skipped, 4);
  CHECK_INT_EQ(st.persons_enrolled, 0);
  CHECK_INT_EQ(st.persons_rejected, 1);
  CHECK_INT_EQ(st.persons_failed, 1);
  CHECK_INT_EQ(s.skipped, 4);
  argus_import_summary_free(&st);

  /* The stored persons can be found: a search for a photo of one. */
  argus_gallery_photo q;
  argus_face_error fe = {{0}};
  char path[1400];
  snprintf(path, sizeof path, "%s/Abdoulaye_Wade/Abdoulaye_Wade_0004.jpg", lfw);
  CHECK_OK(
      argus_gallery_photo_prepare_file(eng, NULL, path, &o->enrol, &q, &fe));
  argus_gallery_candidate c[3];
  int nf = 0;
  CHECK_OK(argus_gallery_reload(g, &err));
  CHECK_OK(argus_gallery_search(g, q.vector, 1, 3, NULL, c, &nf, &err));
  CHECK(nf >= 1 && strcmp(c[0].external_id, "Abdoulaye_Wade") == 0);
  argus_gallery_photo_free(&q);
}

/* A person with more photos than a batch holds: the first
 * ARGUS_IMPORT_MAX_PHOTOS in name order are used, in a batch of its own. */
static void test_many(argus_gallery *g, argus_import_options *o) {
  char dir[400], d[500], src[1400], dst[700];
  snprintf(dir, sizeof dir, "%s/many", tmp);
  mkdir(dir, 0700);
  add_person_in(dir, "Aaron_Sorkin", "A_Small", 2);
  snprintf(d, sizeof d, "%s/Many_Photos", dir);
  mkdir(d, 0700);
  snprintf(src, sizeof src, "%s/AJ_Cook/AJ_Cook_0001.jpg", lfw);
  for (int i = 0; i < ARGUS_IMPORT_MAX_PHOTOS + 6; i++) {
    snprintf(dst, sizeof dst, "%s/p%03d.jpg", d, i);
    CHECK(symlink(src, dst) == 0);
  }
  argus_import_summary st;
  argus_error_detail err = {{0}};
  CHECK_OK(argus_gallery_import(g, eng, "vip", dir, o, NULL, NULL, &st, &err));
  CHECK_INT_EQ(st.persons_total, 2);
  CHECK_INT_EQ(st.persons_enrolled, 2);
  CHECK_INT_EQ(st.photos_enrolled, 2 + ARGUS_IMPORT_MAX_PHOTOS);
  const argus_import_person *p = find(&st, "Many_Photos");
  CHECK(p != NULL);
  if (p) {
    CHECK_INT_EQ(p->photos, ARGUS_IMPORT_MAX_PHOTOS + 6);
    CHECK_INT_EQ(p->photos_used, ARGUS_IMPORT_MAX_PHOTOS);
    CHECK_INT_EQ(p->photos_enrolled, ARGUS_IMPORT_MAX_PHOTOS);
  }
  argus_import_summary_free(&st);
}

int main(void) {
  const char *shared = getenv("ARGUS_SHARED_DATA");
  const char *models = getenv("ARGUS_MODELS_DIR");
  snprintf(lfw, sizeof lfw, "%s/lfw-112/images",
           shared ? shared : "../shared/data");
  char probe[1200];
  snprintf(probe, sizeof probe, "%s/Abdoulaye_Wade/Abdoulaye_Wade_0004.jpg",
           lfw);
  if (access(probe, R_OK) != 0)
    SKIP("%s is absent (../shared/data/lfw-112)", probe);
  argus_face_engine_opts eo;
  memset(&eo, 0, sizeof eo);
  eo.models_dir = models ? models : "models";
  argus_face_error fe = {{0}};
  if (argus_face_engine_create(&eo, &eng, &fe) != ARGUS_OK)
    SKIP("no face models (%s)", fe.msg);
  snprintf(tmp, sizeof tmp, "/tmp/argus-test-import-XXXXXX");
  if (!mkdtemp(tmp)) {
    perror("mkdtemp");
    return 1;
  }
  snprintf(people, sizeof people, "%s/people", tmp);
  mkdir(people, 0700);
  /* In name order: Aaron_Sorkin, Abdoulaye_Wade, Abdullah_al-Attiyah,
   * Nobody, XXX...(too long), Zz_single. */
  add_person("Aaron_Sorkin", "Aaron_Sorkin", 2);
  add_person("Abdoulaye_Wade", "Abdoulaye_Wade", 3);
  add_person("Abdullah_al-Attiyah", "Abdullah_al-Attiyah", 3);
  write_file("Abdullah_al-Attiyah/broken.jpg", "not a JPEG\n");
  char d[400];
  snprintf(d, sizeof d, "%s/Nobody", people);
  mkdir(d, 0700);
  write_file("Nobody/blank.png", "not a PNG either\n");
  write_file("Nobody/notes.txt", "ignored\n");
  char longname[ARGUS_STORE_NAME_MAX + 20];
  memset(longname, 'X', sizeof longname - 1);
  longname[sizeof longname - 1] = '\0';
  add_person("AJ_Cook", longname, 1);
  add_person("Aaron_Eckhart", "Zz_single", 1);
  write_file("loose.jpg", "a loose file\n");

  argus_store_options so;
  memset(&so, 0, sizeof so);
  so.actor = "test:import";
  argus_store *s = NULL;
  argus_store_error se = {{0}};
  char dbp[400];
  snprintf(dbp, sizeof dbp, "%s/argus.db", tmp);
  CHECK_OK(argus_store_open(dbp, &so, &s, &se));
  CHECK_OK(argus_store_watchlist_create(s, "vip", NAN, NULL, NULL, &se));
  argus_gallery_config cfg;
  argus_gallery_error err = {{0}};
  CHECK_OK(argus_gallery_config_from_card(
      argus_face_engine_card(eng, ARGUS_FACE_MODEL_EMBEDDER), &cfg, &err));
  argus_gallery *g = NULL;
  CHECK_OK(argus_gallery_open(s, &cfg, &g, &err));
  argus_import_options o;
  argus_import_options_default(&o);
  o.enrol.aligned = 1;
  o.threads = 2;
  if (g) {
    test_prepare_file(&o);
    test_import(g, &o);
    test_many(g, &o);
  }
  argus_gallery_close(g);
  argus_store_close(s);
  argus_face_engine_free(eng);
  nftw(tmp, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
  return check_report("test_import");
}
