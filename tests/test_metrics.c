/* The Prometheus text writer of /metrics (src/api/metrics.h): label values
 * escaped as the exposition format wants (backslash, double quote, line
 * feed), HELP text escaped, values (whole numbers, floats, NaN, +Inf), and
 * histograms as cumulative buckets with +Inf, _sum and _count. */
#include <string.h>

#include "api/metrics.h"
#include "check.h"

static void test_labels(void) {
  api_prom p;
  api_prom_init(&p);
  api_prom_family(&p, "argus_camera_up", "gauge", "1 while \\ up\nyes");
  api_prom_begin(&p, "argus_camera_up");
  api_prom_label(&p, "camera", "a \"b\" c\\d\ne");
  api_prom_u64(&p, 1);
  api_prom_begin(&p, "argus_plain");
  api_prom_u64(&p, 18446744073709551615ull);
  api_prom_begin(&p, "argus_two");
  api_prom_label(&p, "a", "");
  api_prom_label(&p, "b", NULL);
  api_prom_f64(&p, 0.25);
  api_prom_begin(&p, "argus_odd");
  api_prom_f64(&p, NAN);
  api_prom_begin(&p, "argus_odd");
  api_prom_f64(&p, INFINITY);
  api_prom_begin(&p, "argus_odd");
  api_prom_f64(&p, -INFINITY);
  CHECK(!p.oom);
  const char *want =
      "# HELP argus_camera_up 1 while \\\\ up\\nyes\n"
      "# TYPE argus_camera_up gauge\n"
      "argus_camera_up{camera=\"a \\\"b\\\" c\\\\d\\ne\"} 1\n"
      "argus_plain 18446744073709551615\n"
      "argus_two{a=\"\",b=\"\"} 0.25\n"
      "argus_odd NaN\n"
      "argus_odd +Inf\n"
      "argus_odd -Inf\n";
  CHECK(p.buf && strcmp(p.buf, want) == 0);
  if (p.buf && strcmp(p.buf, want) != 0)
    fprintf(stderr, "got:\n%s\nwant:\n%s\n", p.buf, want);
  CHECK_INT_EQ(p.n, strlen(want));
  api_prom_free(&p);
  CHECK(p.buf == NULL && p.n == 0);
}

static void test_histogram(void) {
  argus_pipeline_histogram h;
  memset(&h, 0, sizeof h);
  h.nbounds = 3;
  h.le[0] = 0.001;
  h.le[1] = 0.01;
  h.le[2] = 1;
  h.buckets[0] = 2;
  h.buckets[1] = 5;
  h.buckets[2] = 5;
  h.count = 7;
  h.sum = 12.5;
  api_prom p;
  api_prom_init(&p);
  api_prom_histogram(&p, "argus_detect_seconds", "Detection.", &h);
  const char *want = "# HELP argus_detect_seconds Detection.\n"
                     "# TYPE argus_detect_seconds histogram\n"
                     "argus_detect_seconds_bucket{le=\"0.001\"} 2\n"
                     "argus_detect_seconds_bucket{le=\"0.01\"} 5\n"
                     "argus_detect_seconds_bucket{le=\"1\"} 5\n"
                     "argus_detect_seconds_bucket{le=\"+Inf\"} 7\n"
                     "argus_detect_seconds_sum 12.5\n"
                     "argus_detect_seconds_count 7\n";
  CHECK(p.buf && strcmp(p.buf, want) == 0);
  if (p.buf && strcmp(p.buf, want) != 0)
    fprintf(stderr, "got:\n%s\nwant:\n%s\n", p.buf, want);
  api_prom_free(&p);
}

/* Many lines: the buffer grows. */
static void test_grow(void) {
  api_prom p;
  api_prom_init(&p);
  char name[32];
  for (int i = 0; i < 5000; i++) {
    snprintf(name, sizeof name, "cam-%d", i);
    api_prom_begin(&p, "argus_camera_faces_total");
    api_prom_label(&p, "camera", name);
    api_prom_u64(&p, (uint64_t)i);
  }
  CHECK(!p.oom);
  CHECK(p.n > 5000 * 30);
  CHECK(strstr(p.buf, "argus_camera_faces_total{camera=\"cam-4999\"} 4999\n") !=
        NULL);
  CHECK_INT_EQ(strlen(p.buf), p.n);
  api_prom_free(&p);
}

int main(void) {
  test_labels();
  test_histogram();
  test_grow();
  return check_report("test_metrics");
}
