/* Retention through the REST API and inside `argus serve`
 * (docs/lawful-use.md, "Retention"): GET /retention for admin and auditor
 * only, PATCH /retention for admin only, with bad lifetimes and unknown
 * classes refused and the changes audited; POST /retention/purge?dry_run=1
 * lists an old alert without touching it, POST /retention/purge removes it
 * with its crop files and answers the tombstone; and the server's own
 * periodic purge (--purge-every 1) removes an alert that grows old while
 * it runs. Every 2xx answer is held against docs/openapi.json. */
#define _GNU_SOURCE
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api_shape.h"
#include "api_util.h"
#include "argus/store.h"
#include "check.h"

static cJSON *g_doc;

static long call(const api_srv *s, int role, const char *method,
                 const char *path, const char *body, api_resp *r) {
  if (api_call(s, method, path, role, body, NULL, r) != 0)
    return 0;
  char pat[256];
  api_shape_pattern(path, pat, sizeof pat);
  char m[16];
  size_t k = 0;
  for (; method[k] && k + 1 < sizeof m; k++)
    m[k] = (char)(method[k] | 0x20);
  m[k] = '\0';
  if (g_doc && r->status >= 200 && r->status < 300 && r->size &&
      api_shape_has(g_doc, m, pat))
    api_shape_of(g_doc, method, pat, r->status, r->body);
  return r->status;
}

static long status_of(const api_srv *s, int role, const char *method,
                      const char *path, const char *body, const char *want) {
  api_resp r;
  long st = call(s, role, method, path, body, &r);
  if (want && !strstr(r.body ? r.body : "", want)) {
    fprintf(stderr, "%s %s %s\n  answer: %s\n  wanted: %s\n", method, path,
            body ? body : "", r.body ? r.body : "", want);
    CHECK(!"the answer lacks the expected text");
  }
  api_resp_free(&r);
  return st;
}

static int count_files(const char *dir) {
  int n = 0;
  DIR *d = opendir(dir);
  if (!d)
    return 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.')
      continue;
    char p[1200];
    snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
    if (e->d_type == DT_DIR)
      n += count_files(p);
    else
      n++;
  }
  closedir(d);
  return n;
}

/* An alert `days_old` days old with a crop of its own, written into the
 * server's database by this process (as another argus process would). */
static argus_store_id old_alert(const api_srv *s, int days_old, uint32_t tag) {
  argus_store_options o = {.actor = "test:retention-api"};
  argus_store *st = NULL;
  argus_store_error err = {{0}};
  argus_store_id wl = 0, person = 0, id = 0;
  if (argus_store_open(s->db, &o, &st, &err) != ARGUS_OK) {
    fprintf(stderr, "open: %s\n", err.msg);
    return 0;
  }
  argus_store_watchlist w;
  if (argus_store_watchlist_get(st, "wanted", &w, &err) == ARGUS_OK)
    wl = w.id;
  else
    CHECK_OK(argus_store_watchlist_create(st, "wanted", NAN, NULL, &wl, &err));
  unsigned char crop[256];
  for (size_t i = 0; i < sizeof crop; i++)
    crop[i] = (unsigned char)(i * 7 + tag);
  crop[0] = 0xff;
  crop[1] = 0xd8;
  float v[8] = {1, 0, 0, 0, 0, 0, 0, 0};
  argus_store_model m = {"synth", "1", 8};
  argus_store_photo_in ph = {.crop = crop,
                             .crop_size = sizeof crop,
                             .quality = 0.9f,
                             .source = "t",
                             .vector = v};
  char name[32];
  snprintf(name, sizeof name, "person %u", tag);
  argus_store_person_in pin = {name, NULL, ""};
  CHECK_OK(argus_store_person_add(st, "wanted", &pin, &m, &ph, 1, &person,
                                  &err));
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  char t[ARGUS_RFC3339_MAX];
  argus_rfc3339(((int64_t)ts.tv_sec - (int64_t)days_old * 86400) * 1000000000LL,
                t);
  crop[5] ^= 0x55; /* the alert's crop differs from the photo's */
  argus_store_alert_in ai = {.threshold = NAN,
                             .track_start = NAN,
                             .camera = "gate",
                             .time = t,
                             .watchlist_id = wl,
                             .person_id = person,
                             .score = 0.8,
                             .crop = crop,
                             .crop_size = sizeof crop};
  CHECK_OK(argus_store_alert_insert(st, &ai, &id, &err));
  argus_store_close(st);
  return id;
}

static int64_t alert_count(const api_srv *s) {
  argus_store_options o = {.read_only = 1};
  argus_store *st = NULL;
  argus_store_error err = {{0}};
  int64_t n = -1;
  if (argus_store_open(s->db, &o, &st, &err) == ARGUS_OK) {
    argus_store_alert *a = NULL;
    size_t k = 0;
    if (argus_store_alert_list(st, NULL, &a, &k, &err) == ARGUS_OK)
      n = (int64_t)k;
    argus_store_free(a);
  }
  argus_store_close(st);
  return n;
}

int main(void) {
  const char *cli = getenv("ARGUS_CLI");
  if (!cli || !cli[0])
    SKIP("ARGUS_CLI is not set (run through ctest)");
  api_srv s;
  const char *extra[] = {"--no-pipeline", "--purge-every", "1", NULL};
  if (api_srv_start(&s, extra) != 0) {
    fprintf(stderr, "test_retention_api: the server did not start\n");
    return 1;
  }
  g_doc = api_shape_doc(&s);
  CHECK(g_doc != NULL);
  const char *R = "/api/v1/retention", *P = "/api/v1/retention/purge";

  /* Roles. */
  CHECK_INT_EQ(status_of(&s, ARGUS_ROLE_AUDITOR, "GET", R, NULL,
                         "\"alerts\":0"),
               200);
  CHECK_INT_EQ(status_of(&s, ARGUS_ROLE_OPERATOR, "GET", R, NULL, NULL), 403);
  CHECK_INT_EQ(status_of(&s, ARGUS_ROLE_AUDITOR, "PATCH", R,
                         "{\"alerts\":86400}", NULL),
               403);
  CHECK_INT_EQ(status_of(&s, ARGUS_ROLE_SUPERVISOR, "POST", P, NULL, NULL),
               403);
  /* Refusals. */
  CHECK_INT_EQ(status_of(&s, ARGUS_ROLE_ADMIN, "PATCH", R, "{\"alerts\":30}",
                         "field 'alerts'"),
               400);
  CHECK_INT_EQ(status_of(&s, ARGUS_ROLE_ADMIN, "PATCH", R,
                         "{\"faces\":86400}", "faces"),
               400);
  CHECK_INT_EQ(status_of(&s, ARGUS_ROLE_ADMIN, "PATCH", R, "{}",
                         "nothing to change"),
               400);
  CHECK_INT_EQ(status_of(&s, ARGUS_ROLE_ADMIN, "PATCH", R,
                         "{\"alerts\":\"30d\"}", "alerts"),
               400);
  CHECK_INT_EQ(status_of(&s, ARGUS_ROLE_ADMIN, "POST",
                         "/api/v1/retention/purge?dry_run=2", NULL, "dry_run"),
               400);

  /* An alert 40 days old, with no lifetime set: the periodic purge keeps
   * it. */
  argus_store_id a1 = old_alert(&s, 40, 1);
  CHECK(a1 > 0);
  char crops[700];
  snprintf(crops, sizeof crops, "%s/crops", s.dir);
  int files = count_files(crops);
  api_sleep_(1.5);
  CHECK_INT_EQ(alert_count(&s), 1);

  /* Alerts kept 30 days: a dry run lists it and changes nothing. */
  CHECK_INT_EQ(status_of(&s, ARGUS_ROLE_ADMIN, "PATCH", R,
                         "{\"alerts\":2592000,\"audit\":157680000}",
                         "\"alerts\":2592000"),
               200);
  api_resp r;
  CHECK_INT_EQ(call(&s, ARGUS_ROLE_ADMIN, "POST",
                    "/api/v1/retention/purge?dry_run=1", NULL, &r),
               200);
  cJSON *j = api_json(&r);
  const cJSON *cls = cJSON_GetObjectItemCaseSensitive(j, "classes");
  const cJSON *al = cJSON_GetObjectItemCaseSensitive(cls, "alerts");
  const cJSON *cnt = cJSON_GetObjectItemCaseSensitive(al, "count");
  int64_t dry_count = cJSON_IsNumber(cnt) ? (int64_t)cnt->valuedouble : -1;
  const cJSON *items = cJSON_GetObjectItemCaseSensitive(j, "items");
  const cJSON *it0 = cJSON_GetArrayItem(items, 0);
  const cJSON *what = cJSON_GetObjectItemCaseSensitive(it0, "what");
  /* The periodic purge may have taken it in between: then the dry run
   * found nothing and the alert is gone. */
  int64_t left = alert_count(&s);
  if (left == 1) {
    CHECK_INT_EQ(dry_count, 1);
    CHECK(cJSON_IsString(what) && strstr(what->valuestring, "camera=gate"));
    CHECK(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "dry_run")));
    CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(j, "tombstone")));
  }
  cJSON_Delete(j);
  api_resp_free(&r);

  /* The purge on demand (or the periodic one, whichever came first). */
  CHECK_INT_EQ(call(&s, ARGUS_ROLE_ADMIN, "POST", P, NULL, &r), 200);
  j = api_json(&r);
  cls = cJSON_GetObjectItemCaseSensitive(j, "classes");
  al = cJSON_GetObjectItemCaseSensitive(cls, "alerts");
  cnt = cJSON_GetObjectItemCaseSensitive(al, "count");
  CHECK(cJSON_IsNumber(cnt));
  CHECK(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(j, "dry_run")));
  cJSON_Delete(j);
  api_resp_free(&r);
  CHECK_INT_EQ(alert_count(&s), 0);
  CHECK_INT_EQ(count_files(crops), files - 1); /* the alert's crop went */

  /* An alert that is old when written goes by the server's own purge
   * within a few seconds. */
  argus_store_id a2 = old_alert(&s, 45, 2);
  CHECK(a2 > 0);
  int gone = 0;
  for (int i = 0; i < 100 && !gone; i++) {
    api_sleep_(0.1);
    gone = alert_count(&s) == 0;
  }
  CHECK(gone);
  char line[512];
  int logged = 0;
  for (int i = 0; i < 50 && !logged; i++) {
    logged = api_srv_log_find(&s, "purged alerts=1", line, sizeof line);
    if (!logged)
      api_sleep_(0.1);
  }
  CHECK(logged);

  /* The changes and the purges are audited; the chain holds. */
  CHECK_INT_EQ(call(&s, ARGUS_ROLE_AUDITOR, "GET",
                    "/api/v1/audit?action=retention.set", NULL, &r),
               200);
  CHECK(strstr(r.body, "\"class\":\"audit\"") != NULL);
  api_resp_free(&r);
  CHECK_INT_EQ(call(&s, ARGUS_ROLE_AUDITOR, "GET",
                    "/api/v1/audit?action=retention.purge", NULL, &r),
               200);
  CHECK(strstr(r.body, "retention.purge") != NULL);
  CHECK(strstr(r.body, "system:retention") != NULL);
  api_resp_free(&r);
  CHECK_INT_EQ(status_of(&s, ARGUS_ROLE_AUDITOR, "GET", "/api/v1/audit/verify",
                         NULL, "\"intact\":true"),
               200);

  cJSON_Delete(g_doc);
  api_srv_stop(&s);
  return check_report("test_retention_api");
}
