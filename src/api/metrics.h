/* The Prometheus text exposition format (version 0.0.4), written into a
 * growing buffer: what /metrics answers (metrics.c). Pure functions, no
 * server state, so that tests can check the output (tests/test_metrics.c).
 *
 *   api_prom p;
 *   api_prom_init(&p);
 *   api_prom_family(&p, "argus_camera_up", "gauge", "1 while streaming");
 *   api_prom_begin(&p, "argus_camera_up");
 *   api_prom_label(&p, "camera", name);      // escaped: \\ \" \n
 *   api_prom_u64(&p, 1);                     // closes the labels, newline
 *   ... p.buf / p.n; api_prom_free(&p).
 *
 * A failed allocation makes the buffer sticky-failed (p.oom); the caller
 * checks it once at the end. */
#ifndef ARGUS_API_METRICS_H
#define ARGUS_API_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "argus/pipeline.h"

typedef struct api_prom {
  char *buf; /* NUL-terminated while !oom */
  size_t n, cap;
  int oom;
  int labels; /* labels written for the sample being written */
} api_prom;

void api_prom_init(api_prom *p);
void api_prom_free(api_prom *p);
/* Appends text as is. */
void api_prom_raw(api_prom *p, const char *s, size_t n);
/* "# HELP name help" (help escaped: \\ and \n) and "# TYPE name type". */
void api_prom_family(api_prom *p, const char *name, const char *type,
                     const char *help);
/* Starts a sample line: its metric name. */
void api_prom_begin(api_prom *p, const char *name);
/* Adds a label to the sample being written; the value is escaped as the
 * format wants (backslash, double quote and line feed). NULL: "". */
void api_prom_label(api_prom *p, const char *key, const char *value);
/* Ends the sample with its value: a whole number, or a float (NaN, +Inf
 * and -Inf as the format spells them). */
void api_prom_u64(api_prom *p, uint64_t v);
void api_prom_f64(api_prom *p, double v);
/* A whole histogram family: HELP, TYPE, name_bucket{le="..."} (cumulative,
 * then le="+Inf"), name_sum and name_count; `label`/`value` (may be NULL)
 * go on every line. */
void api_prom_histogram(api_prom *p, const char *name, const char *help,
                        const argus_pipeline_histogram *h);

#endif
