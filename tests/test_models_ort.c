/* argus against ONNX Runtime on the default face models.
 *
 * For each case of scripts/ort-reference.js (the table below is the same),
 * regenerates the seeded input bit for bit, runs argus on one thread and on a
 * pool of two, and compares every output element with the ONNX Runtime 1.30
 * reference in tests/ref/<case>/: |a - b| <= 1e-5 + 1e-4 * |b|. A batch case
 * also checks every batch item against argus's own batch-1 run of that item.
 *
 * Run without ARGUS_ISA set, the test then re-runs itself with ARGUS_ISA=avx2
 * and ARGUS_ISA=ref where this CPU has wider kernels, so every kernel family
 * is held to the same reference.
 *
 * Needs the models (scripts/fetch-models.sh) in ARGUS_MODELS_DIR; skips
 * (exit 77) when none is there. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "argus/core.h"
#include "argus/nn.h"
#include "check.h"

#define ATOL 1e-5
#define RTOL 1e-4

typedef struct ref_case {
  const char *name;  /* folder under tests/ref */
  const char *model; /* file in ARGUS_MODELS_DIR */
  const char *input; /* input name */
  float lo, hi;      /* value range of the input */
  uint32_t seed;     /* item b uses seed + b */
  int items;         /* batch size */
} ref_case;

static const ref_case cases[] = {
    {"fr_detect", "fr_detect.onnx", "input", -1.0f, 1.0f, 101, 1},
    {"fr_landmark", "fr_landmark.onnx", "input", 0.0f, 1.0f, 202, 1},
    {"fr_feature", "fr_feature.onnx", "input", -1.0f, 1.0f, 303, 1},
    {"fr_feature_b4", "fr_feature.onnx", "input", -1.0f, 1.0f, 303, 4},
    {"fr_liveness", "fr_liveness.onnx", "input", -1.0f, 1.0f, 404, 1},
};
#define NCASES (int)(sizeof cases / sizeof cases[0])

/* The input recipe (tests/ref/README.md): murmur3's finaliser spreads the
 * seed, xorshift32 gives one value per element in C order, and the top 24
 * bits become a float in [0, 1) exactly, scaled to [lo, hi). With lo/hi of
 * -1/1 or 0/1 every step is exact, so JavaScript and C agree bit for bit. */
static uint32_t fmix32(uint32_t x) {
  x ^= x >> 16;
  x *= 0x85ebca6bu;
  x ^= x >> 13;
  x *= 0xc2b2ae35u;
  x ^= x >> 16;
  return x ? x : 0x9e3779b9u;
}

static void fill(float *out, size_t n, uint32_t seed, float lo, float hi) {
  uint32_t s = fmix32(seed);
  for (size_t i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >> 17;
    s ^= s << 5;
    float u = (float)(s >> 8) * (1.0f / 16777216.0f);
    out[i] = lo + (hi - lo) * u;
  }
}

static size_t elems(const argus_nn_tensor_desc *d) {
  size_t n = 1;
  for (int i = 0; i < d->rank; i++)
    n *= (size_t)d->dims[i];
  return n;
}

static int file_exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Reads a raw little-endian float32 file of exactly n values. */
static float *read_f32(const char *path, size_t n) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr,
            "cannot open %s: %s (the reference outputs are made by "
            "scripts/ort-reference.js and committed with the sources)\n",
            path, strerror(errno));
    return NULL;
  }
  float *v = malloc(n * sizeof *v + 1);
  size_t got = v ? fread(v, sizeof *v, n, f) : 0;
  int extra = fgetc(f) != EOF;
  fclose(f);
  if (!v || got != n || extra) {
    fprintf(stderr, "%s: expected %zu float32 values (%s)\n", path, n,
            got != n ? "file too short" : "file too long");
    free(v);
    return NULL;
  }
  return v;
}

/* Compares n values; prints the worst error and the first mismatches.
 * Returns the number of values out of tolerance. */
static size_t compare(const char *what, const float *got, const float *want,
                      size_t n) {
  size_t bad = 0, worst_i = 0;
  double worst_abs = 0, worst_ratio = 0;
  for (size_t i = 0; i < n; i++) {
    double a = got[i], b = want[i], d = fabs(a - b);
    double tol = ATOL + RTOL * fabs(b);
    if (!(d <= tol)) { /* also catches NaN */
      if (bad < 5)
        fprintf(stderr,
                "  %s[%zu]: argus %.9g, reference %.9g (|diff| %.3g > %.3g)\n",
                what, i, a, b, d, tol);
      bad++;
    }
    if (d > worst_abs || d != d)
      worst_abs = d;
    if (d / tol > worst_ratio || d != d) {
      worst_ratio = d / tol;
      worst_i = i;
    }
  }
  printf("  %-48s %7zu values, max |a-b| %.3g, worst at [%zu]: %.9g vs %.9g "
         "(%.3f of tolerance)%s\n",
         what, n, worst_abs, worst_i, n ? got[worst_i] : 0.0,
         n ? want[worst_i] : 0.0, worst_ratio, bad ? "  FAIL" : "");
  return bad;
}

/* Runs `m` at batch `items` on the case's input; returns the session (the
 * caller frees it) or NULL after a failed check. */
static argus_nn_session *run_case(argus_nn_model *m, const ref_case *c,
                                  int items, uint32_t seed,
                                  argus_threadpool *pool) {
  argus_nn_session_opts opts;
  memset(&opts, 0, sizeof opts);
  opts.batch = items;
  opts.pool = pool;
  argus_nn_session *s = NULL;
  argus_nn_error err;
  memset(&err, 0, sizeof err);
  argus_err e = argus_nn_session_create(m, &opts, &s, &err);
  CHECK_OK(e);
  if (e != ARGUS_OK) {
    fprintf(stderr, "  %s: session: %s\n", c->name, err.msg);
    return NULL;
  }
  int k = argus_nn_session_find_input(s, c->input);
  CHECK(k >= 0);
  argus_nn_tensor_desc d;
  void *data = NULL;
  if (k < 0 || argus_nn_session_input(s, k, &d, &data) != ARGUS_OK) {
    argus_nn_session_free(s);
    return NULL;
  }
  CHECK_INT_EQ(d.dtype, ARGUS_NN_FLOAT);
  CHECK_INT_EQ(d.dims[0], items);
  size_t per = elems(&d) / (size_t)items;
  for (int b = 0; b < items; b++)
    fill((float *)data + (size_t)b * per, per, seed + (uint32_t)b, c->lo,
         c->hi);
  e = argus_nn_session_run(s, &err);
  CHECK_OK(e);
  if (e != ARGUS_OK) {
    fprintf(stderr, "  %s: run: %s\n", c->name, err.msg);
    argus_nn_session_free(s);
    return NULL;
  }
  return s;
}

static void ref_file(char *buf, size_t size, const char *refdir,
                     const char *casename, const char *output) {
  char safe[256];
  size_t n = 0;
  for (const char *p = output; *p && n + 1 < sizeof safe; p++) {
    int ok = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
             (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' || *p == '-';
    safe[n++] = ok ? *p : '_';
  }
  safe[n] = '\0';
  int w = snprintf(buf, size, "%s/%s/output_%s.f32", refdir, casename, safe);
  if (w < 0 || (size_t)w >= size)
    buf[0] = '\0'; /* too long: read_f32 reports it */
}

/* One case: against the reference on 1 and 2 threads, and for a batch, item
 * by item against batch-1 runs. */
static void test_case(const ref_case *c, const char *path, const char *refdir,
                      argus_threadpool *pool2) {
  argus_nn_model *m = NULL;
  argus_nn_error err;
  memset(&err, 0, sizeof err);
  argus_err e = argus_nn_model_load_file(path, &m, &err);
  CHECK_OK(e);
  if (e != ARGUS_OK) {
    fprintf(stderr, "%s: %s\n", path, err.msg);
    return;
  }
  for (int variant = 0; variant < 2; variant++) {
    argus_threadpool *pool = variant ? pool2 : NULL;
    argus_nn_session *s = run_case(m, c, c->items, c->seed, pool);
    if (!s)
      continue;
    for (int i = 0; i < argus_nn_session_output_count(s); i++) {
      argus_nn_tensor_desc d;
      const void *out = NULL;
      CHECK_OK(argus_nn_session_output(s, i, &d, &out));
      char file[4096], what[256];
      ref_file(file, sizeof file, refdir, c->name, d.name);
      float *want = read_f32(file, elems(&d));
      CHECK(want != NULL);
      if (!want)
        continue;
      snprintf(what, sizeof what, "%s/%s %d thread%s", c->name, d.name,
               argus_threadpool_size(pool), variant ? "s" : "");
      CHECK_INT_EQ(compare(what, out, want, elems(&d)), 0);
      free(want);
    }

    /* Each batch item must equal a batch-1 run of the same input. */
    for (int b = 1 - (c->items > 1); c->items > 1 && b < c->items; b++) {
      argus_nn_session *s1 = run_case(m, c, 1, c->seed + (uint32_t)b, NULL);
      if (!s1)
        continue;
      for (int i = 0; i < argus_nn_session_output_count(s); i++) {
        argus_nn_tensor_desc d, d1;
        const void *out = NULL, *out1 = NULL;
        CHECK_OK(argus_nn_session_output(s, i, &d, &out));
        int k = argus_nn_session_find_output(s1, d.name);
        CHECK(k >= 0);
        if (k < 0 || argus_nn_session_output(s1, k, &d1, &out1) != ARGUS_OK)
          continue;
        size_t per = elems(&d1);
        CHECK_INT_EQ(elems(&d), per * (size_t)c->items);
        if (elems(&d) != per * (size_t)c->items)
          continue;
        char what[256];
        snprintf(what, sizeof what, "%s/%s item %d vs batch 1 (%d thr)",
                 c->name, d.name, b, argus_threadpool_size(pool));
        CHECK_INT_EQ(
            compare(what, (const float *)out + (size_t)b * per, out1, per), 0);
      }
      argus_nn_session_free(s1);
    }
    argus_nn_session_free(s);
  }
  argus_nn_model_free(m);
}

/* Re-runs this program with ARGUS_ISA=isa; returns its exit status. */
static int run_child(const char *self, const char *isa) {
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid < 0) {
    perror("fork");
    return 1;
  }
  if (pid == 0) {
    setenv("ARGUS_ISA", isa, 1);
    execl(self, self, (char *)NULL);
    perror("execl");
    _exit(127);
  }
  int status = 0;
  if (waitpid(pid, &status, 0) < 0)
    return 1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int main(int argc, char **argv) {
  (void)argc;
  const char *src = getenv("ARGUS_SOURCE_DIR");
  char models_buf[4096], ref_buf[4096];
  const char *models = getenv("ARGUS_MODELS_DIR");
  if (!models || !*models) {
    snprintf(models_buf, sizeof models_buf, "%s/models", src ? src : ".");
    models = models_buf;
  }
  snprintf(ref_buf, sizeof ref_buf, "%s/tests/ref", src ? src : ".");

  char paths[NCASES][4096];
  int have = 0;
  for (int i = 0; i < NCASES; i++) {
    int w =
        snprintf(paths[i], sizeof paths[i], "%s/%s", models, cases[i].model);
    if (w < 0 || (size_t)w >= sizeof paths[i])
      paths[i][0] = '\0';
    have += file_exists(paths[i]);
  }
  if (!have)
    SKIP("no default models in %s (run scripts/fetch-models.sh)", models);

  printf("isa %s, tolerance |a-b| <= %g + %g*|b|\n", argus_cpu_isa_name(), ATOL,
         RTOL);
  argus_threadpool *pool2 = NULL;
  CHECK_OK(argus_threadpool_create(2, &pool2));
  for (int i = 0; i < NCASES; i++) {
    if (!file_exists(paths[i])) {
      printf("  %s: %s missing, case skipped (run scripts/fetch-models.sh)\n",
             cases[i].name, paths[i]);
      continue;
    }
    test_case(&cases[i], paths[i], ref_buf, pool2);
  }
  argus_threadpool_destroy(pool2);
  int rc = check_report("test_models_ort");

  /* The narrower kernel families, each in a process of its own because the
   * ISA is chosen once at start-up. */
  if (!getenv("ARGUS_ISA")) {
    unsigned f = argus_cpu_features();
    const char *isas[2];
    int n = 0;
    if (f & ARGUS_CPU_AVX512)
      isas[n++] = "avx2";
    if (f & ARGUS_CPU_AVX2)
      isas[n++] = "ref";
    for (int i = 0; i < n; i++) {
      printf("--- ARGUS_ISA=%s\n", isas[i]);
      int st = run_child("/proc/self/exe", isas[i]);
      if (st != 0) {
        fprintf(stderr, "test_models_ort: ARGUS_ISA=%s failed (exit %d)\n",
                isas[i], st);
        rc = 1;
      }
    }
  }
  (void)argv;
  return rc;
}
