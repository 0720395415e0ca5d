/* Minimal test helpers: every failed check prints both values and the
 * location, and the program exits non-zero at the end. */
#ifndef ARGUS_TEST_CHECK_H
#define ARGUS_TEST_CHECK_H

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static int check_failures_;
static int check_count_;

#define CHECK(cond)                                                            \
  do {                                                                         \
    check_count_++;                                                            \
    if (!(cond)) {                                                             \
      fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
      check_failures_++;                                                       \
    }                                                                          \
  } while (0)

#define CHECK_INT_EQ(a, b)                                                     \
  do {                                                                         \
    long long a_ = (long long)(a), b_ = (long long)(b);                        \
    check_count_++;                                                            \
    if (a_ != b_) {                                                            \
      fprintf(stderr, "%s:%d: %s == %s failed: %lld vs %lld\n", __FILE__,      \
              __LINE__, #a, #b, a_, b_);                                       \
      check_failures_++;                                                       \
    }                                                                          \
  } while (0)

/* |a - b| <= atol + rtol * |b| */
#define CHECK_NEAR(a, b, atol, rtol)                                           \
  do {                                                                         \
    double a_ = (double)(a), b_ = (double)(b);                                 \
    check_count_++;                                                            \
    if (!(fabs(a_ - b_) <= (atol) + (rtol)*fabs(b_))) {                        \
      fprintf(stderr, "%s:%d: %s ~= %s failed: %.9g vs %.9g\n", __FILE__,      \
              __LINE__, #a, #b, a_, b_);                                       \
      check_failures_++;                                                       \
    }                                                                          \
  } while (0)

#define CHECK_OK(expr)                                                         \
  do {                                                                         \
    int e_ = (int)(expr);                                                      \
    check_count_++;                                                            \
    if (e_ != 0) {                                                             \
      fprintf(stderr, "%s:%d: %s returned %d (%s)\n", __FILE__, __LINE__,      \
              #expr, e_, argus_strerror((argus_err)e_));                       \
      check_failures_++;                                                       \
    }                                                                          \
  } while (0)

/* Exit code 77 tells CTest the test was skipped. */
#define SKIP(...)                                                              \
  do {                                                                         \
    fprintf(stderr, "SKIP: " __VA_ARGS__);                                     \
    fputc('\n', stderr);                                                       \
    exit(77);                                                                  \
  } while (0)

static inline int check_report(const char *name) {
  if (check_failures_) {
    fprintf(stderr, "%s: %d of %d checks failed\n", name, check_failures_,
            check_count_);
    return 1;
  }
  printf("%s: %d checks passed\n", name, check_count_);
  return 0;
}

#endif
