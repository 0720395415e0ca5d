/* Clocks, and RFC 3339 in one place: every module formats and parses wall
 * times here. The calendar arithmetic is done by hand (days from civil,
 * proleptic Gregorian) so that nothing depends on the C library's time zone
 * state or on timegm(), which is not standard C. */
#include <time.h>

#include "argus/core.h"

uint64_t argus_time_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t argus_thread_cpu_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int64_t argus_wall_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + (int64_t)ts.tv_nsec;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d) {
  z += 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  *d = (int)(doy - (153 * mp + 2) / 5 + 1);
  *m = (int)(mp < 10 ? mp + 3 : mp - 9);
  *y = yoe + era * 400 + (*m <= 2);
}

/* 0000-01-01T00:00:00Z and 10000-01-01T00:00:00Z in seconds. */
#define SEC_MIN (-62167219200ll)
#define SEC_END (253402300800ll)

void argus_rfc3339_ts(int64_t sec, int32_t nsec, char out[ARGUS_RFC3339_MAX]) {
  if (nsec < 0 || nsec > 999999999)
    nsec = 0;
  if (sec < SEC_MIN) {
    sec = SEC_MIN;
    nsec = 0;
  } else if (sec >= SEC_END) {
    sec = SEC_END - 1;
    nsec = 999999999;
  }
  int64_t days = sec / 86400, rem = sec % 86400;
  if (rem < 0) {
    rem += 86400;
    days--;
  }
  int64_t y;
  int m, d;
  civil_from_days(days, &y, &m, &d);
  int hh = (int)(rem / 3600), mm = (int)(rem / 60 % 60), ss = (int)(rem % 60);
  int ms = nsec / 1000000;
  /* Fixed-width digits by hand: no snprintf in a hot formatter, and no
   * truncation warnings to silence. */
  static const char digits[] = "0123456789";
  char *p = out;
  int yi = (int)y;
  *p++ = digits[yi / 1000];
  *p++ = digits[yi / 100 % 10];
  *p++ = digits[yi / 10 % 10];
  *p++ = digits[yi % 10];
  *p++ = '-';
  *p++ = digits[m / 10];
  *p++ = digits[m % 10];
  *p++ = '-';
  *p++ = digits[d / 10];
  *p++ = digits[d % 10];
  *p++ = 'T';
  *p++ = digits[hh / 10];
  *p++ = digits[hh % 10];
  *p++ = ':';
  *p++ = digits[mm / 10];
  *p++ = digits[mm % 10];
  *p++ = ':';
  *p++ = digits[ss / 10];
  *p++ = digits[ss % 10];
  *p++ = '.';
  *p++ = digits[ms / 100];
  *p++ = digits[ms / 10 % 10];
  *p++ = digits[ms % 10];
  *p++ = 'Z';
  *p = '\0';
}

void argus_rfc3339(int64_t wall_ns, char out[ARGUS_RFC3339_MAX]) {
  int64_t sec = wall_ns / 1000000000;
  int64_t ns = wall_ns % 1000000000;
  if (ns < 0) {
    ns += 1000000000;
    sec--;
  }
  argus_rfc3339_ts(sec, (int32_t)ns, out);
}

static int num(const char **p, int n, int *out) {
  int v = 0;
  for (int i = 0; i < n; i++) {
    char c = (*p)[i];
    if (c < '0' || c > '9')
      return -1;
    v = v * 10 + (c - '0');
  }
  *p += n;
  *out = v;
  return 0;
}

static int month_days(int y, int m) {
  static const int len[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return len[m - 1] + (m == 2 && leap);
}

argus_err argus_rfc3339_parse_ts(const char *s, int64_t *sec, int32_t *nsec) {
  if (!s || !sec || !nsec)
    return ARGUS_E_INVALID_ARG;
  const char *p = s;
  int Y, M, D, h, m, ss;
  int32_t ns = 0;
  if (num(&p, 4, &Y) || *p++ != '-' || num(&p, 2, &M) || *p++ != '-' ||
      num(&p, 2, &D) || (*p != 'T' && *p != 't' && *p != ' '))
    return ARGUS_E_INVALID_ARG;
  p++;
  if (num(&p, 2, &h) || *p++ != ':' || num(&p, 2, &m) || *p++ != ':' ||
      num(&p, 2, &ss))
    return ARGUS_E_INVALID_ARG;
  if (*p == '.') {
    p++;
    int n = 0;
    while (*p >= '0' && *p <= '9') {
      if (n < 9)
        ns = ns * 10 + (*p - '0');
      n++;
      p++;
    }
    if (!n)
      return ARGUS_E_INVALID_ARG;
    for (; n < 9; n++)
      ns *= 10;
  }
  int off = 0;
  if (*p == 'Z' || *p == 'z') {
    p++;
  } else if (*p == '+' || *p == '-') {
    int sign = *p++ == '-' ? -1 : 1, oh, om;
    if (num(&p, 2, &oh) || *p++ != ':' || num(&p, 2, &om) || oh > 23 ||
        om > 59)
      return ARGUS_E_INVALID_ARG;
    off = sign * (oh * 60 + om);
  } else {
    return ARGUS_E_INVALID_ARG;
  }
  if (*p || M < 1 || M > 12 || D < 1 || D > month_days(Y, M) || h > 23 ||
      m > 59 || ss > 60)
    return ARGUS_E_INVALID_ARG;
  int64_t t = days_from_civil(Y, M, D) * 86400 + h * 3600 + m * 60 + ss -
              (int64_t)off * 60;
  if (t < SEC_MIN || t >= SEC_END)
    return ARGUS_E_INVALID_ARG;
  *sec = t;
  *nsec = ns;
  return ARGUS_OK;
}

argus_err argus_rfc3339_parse(const char *s, int64_t *wall_ns) {
  int64_t sec;
  int32_t ns;
  if (!wall_ns)
    return ARGUS_E_INVALID_ARG;
  argus_err e = argus_rfc3339_parse_ts(s, &sec, &ns);
  if (e != ARGUS_OK)
    return e;
  /* INT64 nanoseconds reach 2262-04-11T23:47:16.854775807Z. */
  if (sec > INT64_MAX / 1000000000 - 1 || sec < INT64_MIN / 1000000000 + 1)
    return ARGUS_E_LIMIT;
  *wall_ns = sec * 1000000000 + ns;
  return ARGUS_OK;
}
