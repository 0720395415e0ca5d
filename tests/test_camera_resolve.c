/* argus_store_camera_resolve and its helpers: every enabled stored camera
 * when none is named; names, URLs, files and labels in the order given; a
 * disabled camera named explicitly; the "fps" of the settings read with
 * cJSON (absent, valid, out of range, not a number, nested elsewhere, in a
 * string value); more than 64 cameras; the errors with their messages. */
#define _GNU_SOURCE
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "argus/store.h"
#include "check.h"

static char tmp[256];

static int rm_cb(const char *path, const struct stat *sb, int flag,
                 struct FTW *ftw) {
  (void)sb;
  (void)flag;
  (void)ftw;
  return remove(path);
}

static void test_settings_fps(void) {
  argus_store_error err = {{0}};
  double fps = -1;
  CHECK_OK(argus_store_camera_settings_fps("a", NULL, &fps, &err));
  CHECK(fps == 0);
  CHECK_OK(argus_store_camera_settings_fps("a", "{}", &fps, &err));
  CHECK(fps == 0);
  CHECK_OK(argus_store_camera_settings_fps("a", "{\"fps\": 12.5}", &fps, &err));
  CHECK(fps == 12.5);
  CHECK_OK(argus_store_camera_settings_fps("a", "{\"fps\": null}", &fps, &err));
  CHECK(fps == 0);
  /* A key inside a string or a nested object is not the field (the old
   * strstr reader found both). */
  CHECK_OK(argus_store_camera_settings_fps(
      "a", "{\"note\": \"\\\"fps\\\":9\", \"x\": {\"fps\": 3}}", &fps, &err));
  CHECK(fps == 0);
  CHECK(argus_store_camera_settings_fps("lobby", "{\"fps\": 0}", &fps, &err) ==
        ARGUS_E_INVALID_ARG);
  CHECK(strstr(err.msg, "camera 'lobby'") != NULL);
  CHECK(strstr(err.msg, "fps") != NULL);
  CHECK(argus_store_camera_settings_fps("a", "{\"fps\": 5000}", &fps, &err) ==
        ARGUS_E_INVALID_ARG);
  CHECK(argus_store_camera_settings_fps("a", "{\"fps\": \"5\"}", &fps, &err) ==
        ARGUS_E_INVALID_ARG);
  CHECK(argus_store_camera_settings_fps("a", "[1]", &fps, &err) ==
        ARGUS_E_CORRUPT);
  CHECK(argus_store_camera_settings_fps("a", "{", &fps, &err) ==
        ARGUS_E_CORRUPT);
  CHECK(argus_store_camera_settings_fps("a", "{}", NULL, &err) ==
        ARGUS_E_INVALID_ARG);
}

static void test_looks_like_url(void) {
  CHECK(argus_store_looks_like_url("rtsp://10.0.0.5/stream"));
  CHECK(argus_store_looks_like_url("/dev/video0"));
  CHECK(argus_store_looks_like_url("v4l2:/dev/video1"));
  CHECK(argus_store_looks_like_url(tmp)); /* an existing path */
  CHECK(!argus_store_looks_like_url("lobby"));
  CHECK(!argus_store_looks_like_url(""));
  CHECK(!argus_store_looks_like_url(NULL));
}

static void test_resolve(argus_store *s) {
  argus_store_error err = {{0}};
  argus_store_camera_source *src = NULL;
  size_t n = 0;

  /* Nothing stored, nothing named. */
  CHECK(argus_store_camera_resolve(s, NULL, NULL, 0, &src, &n, &err) ==
        ARGUS_E_NOT_FOUND);
  CHECK(strstr(err.msg, "no enabled camera") != NULL);
  CHECK(src == NULL && n == 0);

  CHECK_OK(argus_store_camera_add(s, "lobby", "rtsp://u:secret@10.0.0.5/a",
                                  "{\"fps\": 5, \"tcp\": true}", 1, NULL,
                                  &err));
  CHECK_OK(argus_store_camera_add(s, "back", "file.mp4", NULL, 0, NULL, &err));
  CHECK_OK(argus_store_camera_add(s, "gate", "rtsp://10.0.0.6/b",
                                  "{\"fps\": 2500}", 1, NULL, &err));

  /* A stored camera's bad "fps" is an error naming the camera. */
  CHECK(argus_store_camera_resolve(s, NULL, NULL, 0, &src, &n, &err) ==
        ARGUS_E_INVALID_ARG);
  CHECK(strstr(err.msg, "camera 'gate'") != NULL);
  CHECK_OK(argus_store_camera_remove(s, "gate", &err));

  /* None named: the enabled ones. */
  CHECK_OK(argus_store_camera_resolve(s, NULL, NULL, 0, &src, &n, &err));
  CHECK_INT_EQ(n, 1);
  if (n == 1) {
    CHECK(strcmp(src[0].name, "lobby") == 0);
    CHECK(strcmp(src[0].url, "rtsp://u:secret@10.0.0.5/a") == 0);
    CHECK(src[0].fps == 5);
    CHECK(src[0].camera_id > 0 && src[0].enabled == 1);
    CHECK(strstr(src[0].settings, "tcp") != NULL);
  }
  argus_store_free(src);

  /* Named: a disabled camera, a URL with a password (redacted name), a URL
   * with a label, an existing file; in the order given. */
  const char *names[] = {"back", "rtsp://admin:pw@10.0.0.9/s",
                         "http://example.com/x.mjpg", tmp};
  const char *labels[] = {"ignored", NULL, "door", ""};
  CHECK_OK(argus_store_camera_resolve(s, names, labels, 4, &src, &n, &err));
  CHECK_INT_EQ(n, 4);
  if (n == 4) {
    CHECK(strcmp(src[0].name, "back") == 0 && src[0].enabled == 0);
    CHECK(src[0].fps == 0 && src[0].camera_id > 0);
    CHECK(strcmp(src[1].url, names[1]) == 0);
    CHECK(strstr(src[1].name, "pw") == NULL);
    CHECK(strstr(src[1].name, "10.0.0.9") != NULL);
    CHECK(src[1].camera_id == 0 && src[1].enabled == 1);
    CHECK(strcmp(src[1].settings, "{}") == 0);
    CHECK(strcmp(src[2].name, "door") == 0);
    CHECK(strcmp(src[3].name, tmp) == 0);
  }
  argus_store_free(src);

  /* Neither a camera nor a source. */
  const char *bad[] = {"lobby", "nosuchcamera"};
  src = (argus_store_camera_source *)1;
  CHECK(argus_store_camera_resolve(s, bad, NULL, 2, &src, &n, &err) ==
        ARGUS_E_NOT_FOUND);
  CHECK(strstr(err.msg, "'nosuchcamera' is neither") != NULL);
  CHECK(src == NULL && n == 0);

  /* A URL too long. */
  static char longurl[ARGUS_STORE_TEXT_MAX + 40];
  memcpy(longurl, "rtsp://", 7);
  memset(longurl + 7, 'a', sizeof longurl - 8);
  longurl[sizeof longurl - 1] = '\0';
  const char *lu[] = {longurl};
  CHECK(argus_store_camera_resolve(s, lu, NULL, 1, &src, &n, &err) ==
        ARGUS_E_LIMIT);
  CHECK(strstr(err.msg, "URL too long") != NULL);

  /* Bad arguments. */
  CHECK(argus_store_camera_resolve(s, NULL, NULL, 1, &src, &n, &err) ==
        ARGUS_E_INVALID_ARG);
  CHECK(argus_store_camera_resolve(s, NULL, NULL, 0, NULL, &n, &err) ==
        ARGUS_E_INVALID_ARG);
  CHECK(argus_store_camera_resolve(NULL, NULL, NULL, 0, &src, &n, &err) ==
        ARGUS_E_INVALID_ARG);
  const char *empty[] = {""};
  CHECK(argus_store_camera_resolve(s, empty, NULL, 1, &src, &n, &err) ==
        ARGUS_E_INVALID_ARG);

  /* No fixed limit: 100 stored cameras, and 100 named. */
  char name[32], url[64];
  for (int i = 0; i < 100; i++) {
    snprintf(name, sizeof name, "cam%03d", i);
    snprintf(url, sizeof url, "rtsp://10.1.0.%d/s", i);
    CHECK_OK(
        argus_store_camera_add(s, name, url, "{\"fps\": 3}", 1, NULL, &err));
  }
  CHECK_OK(argus_store_camera_resolve(s, NULL, NULL, 0, &src, &n, &err));
  CHECK_INT_EQ(n, 101);
  argus_store_free(src);
  static char names100[100][32];
  const char *np[100];
  for (int i = 0; i < 100; i++) {
    snprintf(names100[i], sizeof names100[i], "cam%03d", 99 - i);
    np[i] = names100[i];
  }
  CHECK_OK(argus_store_camera_resolve(s, np, NULL, 100, &src, &n, &err));
  CHECK_INT_EQ(n, 100);
  if (n == 100) {
    CHECK(strcmp(src[0].name, "cam099") == 0);
    CHECK(strcmp(src[99].name, "cam000") == 0);
    CHECK(src[50].fps == 3);
  }
  argus_store_free(src);
}

int main(void) {
  snprintf(tmp, sizeof tmp, "/tmp/argus-test-camres-XXXXXX");
  if (!mkdtemp(tmp)) {
    perror("mkdtemp");
    return 1;
  }
  test_settings_fps();
  test_looks_like_url();
  char db[400];
  snprintf(db, sizeof db, "%s/argus.db", tmp);
  argus_store_options o;
  memset(&o, 0, sizeof o);
  o.actor = "test:camera";
  argus_store *s = NULL;
  argus_store_error err = {{0}};
  CHECK_OK(argus_store_open(db, &o, &s, &err));
  if (s)
    test_resolve(s);
  argus_store_close(s);
  nftw(tmp, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
  return check_report("test_camera_resolve");
}
