/* GET /metrics of `argus serve` over HTTP: the Prometheus text format
 * (content type, HELP/TYPE before samples, every line parseable), the roles
 * that may read it, per-camera counters of a sample video camera added by
 * another process, the three histograms with counts that grow, alerts by
 * status and decisions by outcome from the store, HTTP requests by route
 * and status, queue depths; the verdict-feedback counters (0, then a
 * rejected alert's negative example suppressing the clip's matches on a
 * second camera).
 *
 * Skips (77) without the models or ../shared/data, or outside CTest. */
#define _GNU_SOURCE /* memrchr */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api_util.h"
#include "check.h"

static int cli(const api_srv *s, const char *const *args) {
  const char *argv[32];
  int n = 0;
  argv[n++] = getenv("ARGUS_CLI");
  for (int i = 0; args[i] && n < 28; i++)
    argv[n++] = args[i];
  argv[n++] = "--db";
  argv[n++] = s->db;
  argv[n] = NULL;
  return api_run_cli(argv, NULL, NULL, 0);
}

/* The value of the sample whose line starts with `prefix` (name and
 * labels, e.g. "argus_alerts{status=\"pending\"}"); NAN when absent. */
static double sample(const char *body, const char *prefix) {
  size_t n = strlen(prefix);
  for (const char *l = body; l && *l;) {
    if (strncmp(l, prefix, n) == 0 && l[n] == ' ')
      return strtod(l + n + 1, NULL);
    l = strchr(l, '\n');
    if (l)
      l++;
  }
  return NAN;
}

/* Every line is a comment (# HELP / # TYPE) or `name{labels} value`, and a
 * family's TYPE comes before its samples. Returns the number of samples. */
static int check_format(const char *body) {
  int samples = 0, bad = 0;
  char typed[256][96];
  int ntyped = 0;
  for (const char *l = body; *l;) {
    const char *e = strchr(l, '\n');
    if (!e) {
      bad++; /* the last line must end with a newline */
      break;
    }
    size_t len = (size_t)(e - l);
    if (len >= 2 && l[0] == '#') {
      if (strncmp(l, "# TYPE ", 7) == 0 && ntyped < 256) {
        const char *sp = memchr(l + 7, ' ', len - 7);
        size_t k = sp ? (size_t)(sp - (l + 7)) : 0;
        if (k && k < sizeof typed[0]) {
          memcpy(typed[ntyped], l + 7, k);
          typed[ntyped++][k] = '\0';
        }
      } else if (strncmp(l, "# HELP ", 7) != 0) {
        bad++;
      }
    } else {
      size_t k = 0;
      while (k < len &&
             (l[k] == '_' || l[k] == ':' || (l[k] >= 'a' && l[k] <= 'z') ||
              (l[k] >= 'A' && l[k] <= 'Z') ||
              (k > 0 && l[k] >= '0' && l[k] <= '9')))
        k++;
      char name[96];
      if (k == 0 || k >= sizeof name) {
        bad++;
      } else {
        memcpy(name, l, k);
        name[k] = '\0';
        int known = 0;
        for (int i = 0; i < ntyped && !known; i++) {
          size_t tl = strlen(typed[i]);
          known = strcmp(name, typed[i]) == 0 ||
                  (strncmp(name, typed[i], tl) == 0 &&
                   (strcmp(name + tl, "_bucket") == 0 ||
                    strcmp(name + tl, "_sum") == 0 ||
                    strcmp(name + tl, "_count") == 0));
        }
        if (!known)
          bad++;
        const char *sp = memrchr(l, ' ', len);
        if (!sp || sp == l + len - 1)
          bad++;
        samples++;
      }
    }
    if (bad) {
      fprintf(stderr, "bad line: %.*s\n", (int)len, l);
      break;
    }
    l = e + 1;
  }
  CHECK_INT_EQ(bad, 0);
  return samples;
}

static char *get_metrics(const api_srv *s, int role, long *status) {
  api_resp r;
  *status = 0;
  if (api_call(s, "GET", "/metrics", role, NULL, NULL, &r) != 0)
    return NULL;
  *status = r.status;
  char *body = NULL;
  if (r.status == 200) {
    CHECK(strncmp(r.ctype, "text/plain; version=0.0.4", 25) == 0);
    body = strdup(r.body ? r.body : "");
  }
  api_resp_free(&r);
  return body;
}

int main(void) {
  const char *models = getenv("ARGUS_MODELS_DIR");
  const char *shared = getenv("ARGUS_SHARED_DATA");
  if (!getenv("ARGUS_CLI"))
    SKIP("ARGUS_CLI is not set (run through CTest)");
  char probe[1200], photo[1200], video[1200];
  snprintf(probe, sizeof probe, "%s/fr_feature.onnx", models ? models : "");
  if (!models || access(probe, R_OK) != 0)
    SKIP("no models (scripts/fetch-models.sh)");
  if (!shared)
    shared = "../shared/data";
  snprintf(photo, sizeof photo,
           "%s/stills/face_recognition_examples/examples/"
           "lin-manuel-miranda.png",
           shared);
  snprintf(video, sizeof video, "%s/video/hamilton_clip_10s.mp4", shared);
  if (access(photo, R_OK) != 0 || access(video, R_OK) != 0)
    SKIP("%s or %s is absent", photo, video);

  api_srv s;
  const char *extra[] = {"--cooldown", "0", NULL};
  if (api_srv_start(&s, extra) != 0) {
    fprintf(stderr, "test_api_metrics: the server did not start\n");
    return 1;
  }
  /* Who may read it. */
  long status = 0;
  char *body = get_metrics(&s, ARGUS_ROLE_OPERATOR, &status);
  CHECK_INT_EQ(status, 403);
  free(body);
  body = get_metrics(&s, -1, &status);
  CHECK_INT_EQ(status, 401);
  free(body);
  body = get_metrics(&s, ARGUS_ROLE_AUDITOR, &status);
  CHECK_INT_EQ(status, 200);
  if (body) {
    check_format(body);
    CHECK(sample(body, "argus_alerts{status=\"pending\"}") == 0);
    CHECK(sample(body, "argus_decisions{decision=\"confirmed\"}") == 0);
    CHECK(sample(body, "argus_pipeline_cameras") == 0);
    CHECK(sample(body, "argus_detect_seconds_count") == 0);
    CHECK(sample(body, "argus_queue_depth{queue=\"spool\"}") == 0);
    CHECK(sample(body, "argus_pipeline_alerts_suppressed_negative_total") == 0);
    CHECK(sample(body, "argus_pipeline_alerts_marked_total") == 0);
    CHECK(sample(body, "argus_pipeline_candidates_withheld_review_total") == 0);
  }
  free(body);

  /* A camera added by another process, with a person to alert on. */
  const char *wl[] = {"watchlist", "create", "vip", NULL};
  const char *pa[] = {"person", "add",      "--watchlist", "vip", "--name",
                      "Lin",    "--models", models,        photo, NULL};
  const char *ca[] = {"camera", "add", "stage \"one\"", video, NULL};
  CHECK_INT_EQ(cli(&s, wl), 0);
  CHECK_INT_EQ(cli(&s, pa), 0);
  CHECK_INT_EQ(cli(&s, ca), 0);
  const char *cam = "{camera=\"stage \\\"one\\\"\"}";
  char key[256];
  double analysed = 0, alerts = 0, t0 = api_now_();
  body = NULL;
  /* Until the clip has been analysed and alerted on (or 90 s). */
  while (api_now_() - t0 < 90) {
    free(body);
    body = get_metrics(&s, ARGUS_ROLE_ADMIN, &status);
    if (!body)
      break;
    snprintf(key, sizeof key, "argus_camera_frames_analysed_total%s", cam);
    analysed = sample(body, key);
    alerts = sample(body, "argus_pipeline_alerts_stored_total");
    snprintf(key, sizeof key,
             "argus_camera_state{camera=\"stage \\\"one\\\"\","
             "state=\"finished\"}");
    if (sample(body, key) == 1 && alerts >= 1)
      break;
    api_sleep_(0.5);
  }
  CHECK(body != NULL);
  if (body) {
    int n = check_format(body);
    printf("metrics: %d samples, %zu bytes; frames analysed %.0f, alerts "
           "stored %.0f\n",
           n, strlen(body), analysed, alerts);
    /* The 10 s clip offers 50 frames at 5 fps; it plays in real time, so a
     * slow build (sanitizers, a loaded machine) analyses fewer and counts
     * the others as dropped. */
    CHECK(analysed >= 15);
    CHECK(alerts >= 1);
    snprintf(key, sizeof key, "argus_camera_up%s", cam);
    CHECK(sample(body, key) == 0); /* finished */
    snprintf(key, sizeof key, "argus_camera_frames_in_total%s", cam);
    CHECK(sample(body, key) >= analysed);
    snprintf(key, sizeof key, "argus_camera_faces_total%s", cam);
    CHECK(sample(body, key) > 0);
    double detect = sample(body, "argus_detect_seconds_count");
    CHECK(detect >= analysed);
    CHECK(sample(body, "argus_detect_seconds_bucket{le=\"+Inf\"}") == detect);
    CHECK(sample(body, "argus_detect_seconds_sum") > 0);
    CHECK(sample(body, "argus_embed_seconds_count") >= 1);
    CHECK(sample(body, "argus_alert_latency_seconds_count") >= 1);
    CHECK(sample(body, "argus_alerts{status=\"pending\"}") >= 1);
    CHECK(sample(body, "argus_queue_depth{queue=\"frames\"}") >= 0);
    /* The earlier scrapes are counted, by route and status. */
    CHECK(sample(body, "argus_http_requests_total{method=\"GET\",route=\""
                       "/metrics\",status=\"403\"}") == 1);
    CHECK(sample(body, "argus_http_requests_total{method=\"GET\",route=\""
                       "/metrics\",status=\"200\"}") >= 1);
    if (!(analysed >= 15))
      fprintf(stderr, "%s\n", body);
    CHECK(sample(body, "argus_pipeline_alerts_suppressed_negative_total") == 0);
    CHECK(sample(body, "argus_pipeline_alerts_marked_total") == 0);
  }
  free(body);

  /* Verdict feedback: the alerts rejected (their probes become negative
   * examples of the person; the watchlist suppresses by default), the clip
   * again on a second camera: its matches are suppressed, and counted.
   * Every alert of the first pass is rejected: a slow build may split the
   * person's passage into several tracks, each with its own alert. */
  double neg = NAN;
  if (alerts >= 1) {
    api_resp r;
    memset(&r, 0, sizeof r);
    long long aids[32];
    int naids = 0;
    if (api_call(&s, "GET", "/api/v1/alerts?limit=32", ARGUS_ROLE_OPERATOR,
                 NULL, NULL, &r) == 0) {
      cJSON *j = api_json(&r);
      const cJSON *it = NULL;
      const cJSON *items = j ? cJSON_GetObjectItem(j, "items") : NULL;
      cJSON_ArrayForEach(it, items) {
        const cJSON *id = cJSON_GetObjectItem(it, "id");
        if (cJSON_IsNumber(id) && naids < 32)
          aids[naids++] = (long long)id->valuedouble;
      }
      cJSON_Delete(j);
    }
    api_resp_free(&r);
    CHECK(naids >= 1);
    printf("rejecting %d alert(s)\n", naids);
    for (int i = 0; i < naids; i++) {
      char path[96];
      snprintf(path, sizeof path, "/api/v1/alerts/%lld/decision", aids[i]);
      memset(&r, 0, sizeof r);
      CHECK_INT_EQ(api_call(&s, "POST", path, ARGUS_ROLE_OPERATOR,
                            "{\"decision\": \"rejected\"}",
                            "application/json", &r),
                   0);
      CHECK_INT_EQ(r.status, 201);
      api_resp_free(&r);
    }
    const char *cb[] = {"camera", "add", "stage two", video, NULL};
    CHECK_INT_EQ(cli(&s, cb), 0);
    const char *cam2 = "argus_camera_state{camera=\"stage two\","
                       "state=\"finished\"}";
    body = NULL;
    t0 = api_now_();
    while (api_now_() - t0 < 90) {
      free(body);
      body = get_metrics(&s, ARGUS_ROLE_ADMIN, &status);
      if (!body)
        break;
      neg = sample(body, "argus_pipeline_alerts_suppressed_negative_total");
      if (sample(body, cam2) == 1)
        break;
      api_sleep_(0.5);
    }
    printf("suppressed by the negative example: %.0f\n", neg);
    CHECK(neg >= 1);
    if (body) {
      check_format(body);
      CHECK(sample(body, "argus_pipeline_alerts_marked_total") == 0);
      CHECK(sample(body, "argus_pipeline_candidates_withheld_review_total") ==
            0);
    }
    free(body);
  }
  api_srv_stop(&s);
  return check_report("test_api_metrics");
}
