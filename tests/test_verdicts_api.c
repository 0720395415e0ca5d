/* Verdict feedback over the operator service (docs/alerts.md), real HTTP on
 * loopback against `argus serve --no-pipeline` and its SQLite database:
 *
 * - PATCH /api/v1/watchlists/{id} sets "four_eyes" and "negatives" (a bad
 *   value is 400); the watchlist JSON carries them;
 * - four-eyes: an operator's confirmation leaves the alert pending with
 *   "confirmations": 1 of "confirmations_needed": 2; the same operator
 *   again is refused (409 conflict, naming the rule, with their
 *   confirmation); a second operator confirms;
 * - a rejection of an alert with its probe stores a negative example, and
 *   GET /api/v1/watchlists/{id} reports it in "verdicts" with the counts
 *   and the false-alarm rate; a marked alert's detail names its negative;
 * - every answer holds to the schema docs/openapi.json gives it. */
#include <math.h>

#include "api_util.h"

#include "api_shape.h"
#include "check.h"

enum { SUP = ARGUS_ROLE_SUPERVISOR, OPER = ARGUS_ROLE_OPERATOR };

#define DIM 16

static cJSON *g_doc;

/* A call whose answer is checked against the document; its JSON (the
 * caller deletes it) or NULL. */
static cJSON *call(const api_srv *s, const char *method, const char *path,
                   const char *pattern, int role, const char *body, long want) {
  api_resp r;
  memset(&r, 0, sizeof r);
  if (api_call(s, method, path, role, body, body ? "application/json" : NULL,
               &r) != 0) {
    CHECK(0);
    return NULL;
  }
  CHECK_INT_EQ(r.status, want);
  if (r.status != want)
    fprintf(stderr, "%s %s: %ld %s\n", method, path, r.status, r.body);
  if (g_doc && r.status < 300)
    api_shape_of(g_doc, method, pattern, r.status, r.body);
  cJSON *j = api_json(&r);
  api_resp_free(&r);
  return j;
}

static double num(const cJSON *o, const char *k) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
  return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static const char *str(const cJSON *o, const char *k) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
  return cJSON_IsString(v) ? v->valuestring : "";
}

static argus_store_id add_alert(argus_store *st, argus_store_id wl,
                                argus_store_id person, double score,
                                const float *probe, int negative) {
  argus_store_alert_in in;
  memset(&in, 0, sizeof in);
  in.camera = "door";
  in.watchlist_id = wl;
  in.person_id = person;
  in.score = score;
  in.threshold = NAN;
  in.track_start = NAN;
  in.probe = probe;
  in.probe_dim = probe ? DIM : 0;
  in.probe_model = probe ? "synth@1" : NULL;
  in.negative = negative;
  argus_store_id id = 0;
  argus_store_error se = {{0}};
  CHECK_OK(argus_store_alert_insert(st, &in, &id, &se));
  return id;
}

int main(void) {
  const char *cli = getenv("ARGUS_CLI");
  if (!cli || !cli[0])
    SKIP("ARGUS_CLI is not set (run through ctest)");
  api_srv s;
  const char *extra[] = {"--no-pipeline", NULL};
  if (api_srv_start(&s, extra) != 0) {
    fprintf(stderr, "test_verdicts_api: the server did not start\n");
    return 1;
  }
  g_doc = api_shape_doc(&s);
  CHECK(g_doc != NULL);

  /* The data: a watchlist, a person and alerts, written beside the
   * server (SQLite: one writer at a time, readers never block). */
  argus_store_options o;
  memset(&o, 0, sizeof o);
  o.actor = "test:verdicts_api";
  argus_store *st = NULL;
  argus_store_error se = {{0}};
  CHECK_OK(argus_store_open(s.db, &o, &st, &se));
  argus_store_id wl = 0, pid = 0;
  CHECK_OK(argus_store_watchlist_create(st, "fe", 0.5, NULL, &wl, &se));
  argus_store_person_in pin = {"Cyd", NULL, NULL};
  CHECK_OK(argus_store_person_add(st, "fe", &pin, NULL, NULL, 0, &pid, &se));
  float probe[DIM];
  for (int i = 0; i < DIM; i++)
    probe[i] = (float)(i + 1) / DIM;
  argus_store_id a1 = add_alert(st, wl, pid, 0.8, probe, 0);
  argus_store_id a2 = add_alert(st, wl, pid, 0.7, probe, 0);

  char path[128];
  snprintf(path, sizeof path, "/api/v1/watchlists/%lld", (long long)wl);
  cJSON *j = call(&s, "PATCH", path, "/api/v1/watchlists/{id}", SUP,
                  "{\"four_eyes\": true}", 200);
  CHECK(j && cJSON_IsTrue(cJSON_GetObjectItem(j, "four_eyes")));
  CHECK(j && strcmp(str(j, "negatives"), "suppress") == 0);
  cJSON_Delete(j);
  j = call(&s, "PATCH", path, "/api/v1/watchlists/{id}", SUP,
           "{\"negatives\": \"maybe\"}", 400);
  cJSON_Delete(j);

  /* Four-eyes. */
  char apath[128], dpath[160];
  snprintf(apath, sizeof apath, "/api/v1/alerts/%lld", (long long)a1);
  snprintf(dpath, sizeof dpath, "%s/decision", apath);
  j = call(&s, "POST", dpath, "/api/v1/alerts/{id}/decision", OPER,
           "{\"decision\": \"confirmed\"}", 201);
  double first_id = j ? num(j, "id") : NAN;
  char first_op[64];
  snprintf(first_op, sizeof first_op, "%s", j ? str(j, "operator") : "");
  cJSON_Delete(j);
  j = call(&s, "GET", apath, "/api/v1/alerts/{id}", OPER, NULL, 200);
  CHECK(j && strcmp(str(j, "status"), "pending") == 0);
  CHECK_INT_EQ(j ? num(j, "confirmations") : -1, 1);
  CHECK_INT_EQ(j ? num(j, "confirmations_needed") : -1, 2);
  cJSON_Delete(j);
  api_resp r;
  memset(&r, 0, sizeof r);
  CHECK_OK(api_call(&s, "POST", dpath, OPER, "{\"decision\": \"confirmed\"}",
                    "application/json", &r));
  /* A conflict with the state (their confirmation stands), not a bad
   * request: 409 with the message and that confirmation. */
  CHECK_INT_EQ(r.status, 409);
  CHECK(r.body && strstr(r.body, "second, different operator") != NULL);
  if (g_doc && r.status == 409)
    api_shape_of(g_doc, "POST", "/api/v1/alerts/{id}/decision", 409, r.body);
  {
    cJSON *c = api_json(&r);
    const cJSON *d = c ? cJSON_GetObjectItemCaseSensitive(c, "decision") : NULL;
    CHECK(c && strcmp(str(c, "error"), "conflict") == 0);
    CHECK(cJSON_IsObject(d));
    CHECK(d && num(d, "id") == first_id);
    CHECK(d && first_op[0] && strcmp(str(d, "operator"), first_op) == 0);
    CHECK(d && strcmp(str(d, "decision"), "confirmed") == 0);
    cJSON_Delete(c);
  }
  api_resp_free(&r);
  /* Still pending, still one confirmation. */
  j = call(&s, "GET", apath, "/api/v1/alerts/{id}", OPER, NULL, 200);
  CHECK(j && strcmp(str(j, "status"), "pending") == 0);
  CHECK_INT_EQ(j ? num(j, "confirmations") : -1, 1);
  cJSON_Delete(j);
  /* A second operator. */
  CHECK_INT_EQ(
      api_user_add(&s, "t-operator2", "operator", "pw-t-operator2-12345"), 0);
  char tok[80], mine[80];
  CHECK_INT_EQ(api_user_token(&s, "t-operator2", tok, sizeof tok), 0);
  memcpy(mine, s.token[OPER], sizeof mine);
  snprintf(s.token[OPER], sizeof s.token[OPER], "%s", tok);
  j = call(&s, "POST", dpath, "/api/v1/alerts/{id}/decision", OPER,
           "{\"decision\": \"confirmed\"}", 201);
  cJSON_Delete(j);
  memcpy(s.token[OPER], mine, sizeof mine);
  j = call(&s, "GET", apath, "/api/v1/alerts/{id}", OPER, NULL, 200);
  CHECK(j && strcmp(str(j, "status"), "confirmed") == 0);
  CHECK_INT_EQ(j ? num(j, "confirmations") : -1, 2);
  CHECK(j && cJSON_IsNull(cJSON_GetObjectItem(j, "negative")));
  cJSON_Delete(j);

  /* A rejection stores a negative; the statistics say so. */
  snprintf(dpath, sizeof dpath, "/api/v1/alerts/%lld/decision", (long long)a2);
  j = call(&s, "POST", dpath, "/api/v1/alerts/{id}/decision", OPER,
           "{\"decision\": \"rejected\"}", 201);
  cJSON_Delete(j);
  j = call(&s, "GET", path, "/api/v1/watchlists/{id}", OPER, NULL, 200);
  const cJSON *v = j ? cJSON_GetObjectItem(j, "verdicts") : NULL;
  CHECK(v != NULL);
  if (v) {
    CHECK_INT_EQ(num(v, "alerts"), 2);
    CHECK_INT_EQ(num(v, "confirmed"), 1);
    CHECK_INT_EQ(num(v, "rejected"), 1);
    CHECK_INT_EQ(num(v, "pending"), 0);
    CHECK_INT_EQ(num(v, "negatives"), 1);
    CHECK_NEAR(num(v, "false_alarm_rate"), 0.5, 1e-9, 0);
    CHECK_NEAR(num(v, "threshold"), 0.5, 1e-9, 0);
    CHECK_NEAR(num(v, "suggested_threshold"), 0.8, 1e-9, 0);
  }
  cJSON_Delete(j);

  /* A marked alert names its negative. */
  argus_store_id a3 = add_alert(st, wl, pid, 0.75, probe, 1);
  snprintf(apath, sizeof apath, "/api/v1/alerts/%lld", (long long)a3);
  j = call(&s, "GET", apath, "/api/v1/alerts/{id}", OPER, NULL, 200);
  const cJSON *neg = j ? cJSON_GetObjectItem(j, "negative") : NULL;
  CHECK(cJSON_IsObject(neg));
  if (cJSON_IsObject(neg))
    CHECK_NEAR(num(neg, "score"), 1.0, 1e-5, 0);
  cJSON_Delete(j);

  argus_store_close(st);
  cJSON_Delete(g_doc);
  api_srv_stop(&s);
  return check_report("test_verdicts_api");
}
