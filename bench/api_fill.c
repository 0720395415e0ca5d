/* Fills a database for bench/api_bench.sh: the store's schema (made by
 * opening it once through the store API), then, with SQLite directly inside
 * one transaction (the store API stores one alert per transaction, far too
 * slow for a million): 3 watchlists, 20 cameras (disabled, so `argus serve`
 * runs none), 500 persons, and N alerts (default 1,000,000) spread over the
 * last 30 days, newest last, about 10 % of them decided (with their
 * decision rows).
 *
 *   build/bench/api_fill DB [N]
 *
 * The rows are like real ones (names, scores, thresholds, crop and thumbnail
 * hashes, track times); the crop files themselves are not written: the
 * benchmark lists alerts, it does not fetch their images. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "argus/core.h"
#include "argus/store.h"

#define N_CAMERAS 20
#define N_WATCHLISTS 3
#define N_PERSONS 500

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void) { /* splitmix64 */
  uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static double rnd01(void) { return (double)(rnd() >> 11) * 0x1.0p-53; }

static void hex64(char out[65]) {
  static const char digits[] = "0123456789abcdef";
  for (int i = 0; i < 64; i += 16) {
    uint64_t v = rnd();
    for (int k = 0; k < 16; k++)
      out[i + k] = digits[(v >> (4 * k)) & 15];
  }
  out[64] = '\0';
}

static void rfc3339(time_t t, int ms, char *out, size_t cap) {
  struct tm tm;
  gmtime_r(&t, &tm);
  char base[32];
  strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(out, cap, "%s.%03dZ", base, ms);
}

static int exec_sql(sqlite3 *db, const char *sql) {
  char *msg = NULL;
  if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
    fprintf(stderr, "api_fill: %s: %s\n", sql, msg ? msg : "?");
    sqlite3_free(msg);
    return -1;
  }
  return 0;
}

static int prepare(sqlite3 *db, const char *sql, sqlite3_stmt **st) {
  if (sqlite3_prepare_v2(db, sql, -1, st, NULL) != SQLITE_OK) {
    fprintf(stderr, "api_fill: %s: %s\n", sql, sqlite3_errmsg(db));
    return -1;
  }
  return 0;
}

static int step(sqlite3 *db, sqlite3_stmt *st) {
  int rc = sqlite3_step(st);
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  if (rc != SQLITE_DONE) {
    fprintf(stderr, "api_fill: insert: %s\n", sqlite3_errmsg(db));
    return -1;
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2 || argc > 3) {
    fprintf(stderr, "usage: api_fill DB [N_ALERTS]\n");
    return 2;
  }
  const char *path = argv[1];
  long long n_alerts = 1000000;
  if (argc == 3) {
    char *end = NULL;
    n_alerts = strtoll(argv[2], &end, 10);
    if (!end || *end || n_alerts < 0) {
      fprintf(stderr, "api_fill: bad N_ALERTS '%s'\n", argv[2]);
      return 2;
    }
  }

  /* The schema, through the store. */
  argus_store *store = NULL;
  argus_store_error serr;
  memset(&serr, 0, sizeof serr);
  argus_err e = argus_store_open(path, NULL, &store, &serr);
  if (e != ARGUS_OK) {
    fprintf(stderr, "api_fill: cannot open %s: %s (%s)\n", path,
            argus_strerror(e), serr.msg);
    return 1;
  }
  argus_store_close(store);

  sqlite3 *db = NULL;
  if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
    fprintf(stderr, "api_fill: %s: %s\n", path, sqlite3_errmsg(db));
    sqlite3_close(db);
    return 1;
  }
  sqlite3_stmt *ins_wl = NULL, *ins_cam = NULL, *ins_person = NULL,
               *ins_alert = NULL, *ins_dec = NULL;
  int ret = 1;
  time_t now = time(NULL);
  char ts[40];
  rfc3339(now - 31 * 86400, 0, ts, sizeof ts);
  static const char *const wl_names[N_WATCHLISTS] = {"wanted", "missing",
                                                     "banned"};
  static const char *const wl_colours[N_WATCHLISTS] = {"#d32f2f", "#1976d2",
                                                       "#f57c00"};
  static const double wl_thresholds[N_WATCHLISTS] = {0.42, 0.38, 0.45};
  static const char *const first[] = {
      "Anna", "Boris", "Chen",  "Dana", "Emil",  "Farah", "Goran", "Hana",
      "Ivan", "Julia", "Karim", "Lena", "Marco", "Nadia", "Omar",  "Petra"};
  static const char *const last[] = {"Novak",  "Schmidt", "Rossi",  "Kowalski",
                                     "Silva",  "Haddad",  "Tanaka", "Moreau",
                                     "Jensen", "Petrov",  "Okafor", "Larsen"};
  char person_names[N_PERSONS][64];
  int person_wl[N_PERSONS];

  /* A big page cache: the hash indexes (crop, thumbnail) take random
   * inserts. */
  if (exec_sql(db, "PRAGMA synchronous=OFF") ||
      exec_sql(db, "PRAGMA cache_size=-262144") || exec_sql(db, "BEGIN") ||
      prepare(db,
              "INSERT INTO watchlists (name, threshold, colour, active, "
              "created, updated, ack_required) VALUES (?, ?, ?, 1, ?, ?, ?)",
              &ins_wl) ||
      prepare(db,
              "INSERT INTO cameras (name, url, settings, enabled, created, "
              "updated) VALUES (?, ?, '{\"fps\":5}', 0, ?, ?)",
              &ins_cam) ||
      prepare(db,
              "INSERT INTO persons (watchlist_id, name, external_id, notes, "
              "created, updated) VALUES (?, ?, ?, ?, ?, ?)",
              &ins_person) ||
      prepare(db,
              "INSERT INTO alerts (camera_id, camera, time, media_time, "
              "track_id, watchlist_id, watchlist, person_id, person, score, "
              "crop_sha256, thumb_sha256, status, threshold, track_start) "
              "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
              &ins_alert) ||
      prepare(db,
              "INSERT INTO decisions (alert_id, operator, decision, comment, "
              "time) VALUES (?, ?, ?, ?, ?)",
              &ins_dec))
    goto done;

  for (int i = 0; i < N_WATCHLISTS; i++) {
    sqlite3_bind_text(ins_wl, 1, wl_names[i], -1, SQLITE_STATIC);
    sqlite3_bind_double(ins_wl, 2, wl_thresholds[i]);
    sqlite3_bind_text(ins_wl, 3, wl_colours[i], -1, SQLITE_STATIC);
    sqlite3_bind_text(ins_wl, 4, ts, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(ins_wl, 5, ts, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(ins_wl, 6, i == 0);
    if (step(db, ins_wl))
      goto done;
  }
  for (int i = 0; i < N_CAMERAS; i++) {
    char name[64], url[160];
    snprintf(name, sizeof name, "cam-%02d-%s", i + 1,
             i % 3 == 0   ? "entrance"
             : i % 3 == 1 ? "hall"
                          : "platform");
    snprintf(url, sizeof url, "rtsp://10.0.%d.%d:554/stream1", i / 10, 20 + i);
    sqlite3_bind_text(ins_cam, 1, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(ins_cam, 2, url, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(ins_cam, 3, ts, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(ins_cam, 4, ts, -1, SQLITE_TRANSIENT);
    if (step(db, ins_cam))
      goto done;
  }
  for (int i = 0; i < N_PERSONS; i++) {
    person_wl[i] = i % N_WATCHLISTS;
    snprintf(person_names[i], sizeof person_names[i], "%s %s %d",
             first[rnd() % (sizeof first / sizeof first[0])],
             last[rnd() % (sizeof last / sizeof last[0])], i + 1);
    char ext[32];
    snprintf(ext, sizeof ext, "EXT-%06d", 100000 + i);
    sqlite3_bind_int64(ins_person, 1, person_wl[i] + 1);
    sqlite3_bind_text(ins_person, 2, person_names[i], -1, SQLITE_STATIC);
    sqlite3_bind_text(ins_person, 3, ext, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(ins_person, 4, "enrolled for the API benchmark", -1,
                      SQLITE_STATIC);
    sqlite3_bind_text(ins_person, 5, ts, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(ins_person, 6, ts, -1, SQLITE_TRANSIENT);
    if (step(db, ins_person))
      goto done;
  }

  /* Alerts, oldest first (ids grow with time, as they do live). */
  double span = 30.0 * 86400.0;
  time_t t0 = now - (time_t)span;
  long long n_decided = 0;
  for (long long a = 0; a < n_alerts; a++) {
    double at = span * (double)a / (double)(n_alerts ? n_alerts : 1);
    time_t t = t0 + (time_t)at;
    int ms = (int)((at - (double)(int64_t)at) * 1000.0);
    char when[40];
    rfc3339(t, ms, when, sizeof when);
    int cam = (int)(rnd() % N_CAMERAS);
    int p = (int)(rnd() % N_PERSONS);
    int wl = person_wl[p];
    char cam_name[64];
    snprintf(cam_name, sizeof cam_name, "cam-%02d-%s", cam + 1,
             cam % 3 == 0   ? "entrance"
             : cam % 3 == 1 ? "hall"
                            : "platform");
    double media = 3600.0 * rnd01() * 8;
    double score = wl_thresholds[wl] + 0.5 * rnd01() * (1 - wl_thresholds[wl]);
    char crop[65], thumb[65];
    hex64(crop);
    hex64(thumb);
    uint64_t u = rnd() % 100;
    const char *status = u < 90 ? "pending" : u < 97 ? "confirmed" : "rejected";
    sqlite3_bind_int64(ins_alert, 1, cam + 1);
    sqlite3_bind_text(ins_alert, 2, cam_name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(ins_alert, 3, when, -1, SQLITE_TRANSIENT);
    sqlite3_bind_double(ins_alert, 4, media);
    sqlite3_bind_int64(ins_alert, 5, (int64_t)(a / 3 + 1));
    sqlite3_bind_int64(ins_alert, 6, wl + 1);
    sqlite3_bind_text(ins_alert, 7, wl_names[wl], -1, SQLITE_STATIC);
    sqlite3_bind_int64(ins_alert, 8, p + 1);
    sqlite3_bind_text(ins_alert, 9, person_names[p], -1, SQLITE_STATIC);
    sqlite3_bind_double(ins_alert, 10, score);
    sqlite3_bind_text(ins_alert, 11, crop, 64, SQLITE_TRANSIENT);
    sqlite3_bind_text(ins_alert, 12, thumb, 64, SQLITE_TRANSIENT);
    sqlite3_bind_text(ins_alert, 13, status, -1, SQLITE_STATIC);
    sqlite3_bind_double(ins_alert, 14, wl_thresholds[wl]);
    sqlite3_bind_double(ins_alert, 15, media - 0.5 - 3 * rnd01());
    if (step(db, ins_alert))
      goto done;
    if (u >= 90) {
      char dtime[40];
      rfc3339(t + 20 + (time_t)(rnd() % 300), 0, dtime, sizeof dtime);
      sqlite3_bind_int64(ins_dec, 1, sqlite3_last_insert_rowid(db));
      sqlite3_bind_text(ins_dec, 2, "api:operator-1", -1, SQLITE_STATIC);
      sqlite3_bind_text(ins_dec, 3, status, -1, SQLITE_STATIC);
      sqlite3_bind_text(ins_dec, 4, u < 97 ? "seen on site" : "look-alike", -1,
                        SQLITE_STATIC);
      sqlite3_bind_text(ins_dec, 5, dtime, -1, SQLITE_TRANSIENT);
      if (step(db, ins_dec))
        goto done;
      n_decided++;
    }
  }
  if (exec_sql(db, "COMMIT") || exec_sql(db, "ANALYZE"))
    goto done;
  printf("api_fill: %s: %d watchlists, %d cameras (disabled), %d persons, "
         "%lld alerts (%lld decided)\n",
         path, N_WATCHLISTS, N_CAMERAS, N_PERSONS, n_alerts, n_decided);
  ret = 0;
done:
  sqlite3_finalize(ins_wl);
  sqlite3_finalize(ins_cam);
  sqlite3_finalize(ins_person);
  sqlite3_finalize(ins_alert);
  sqlite3_finalize(ins_dec);
  sqlite3_close(db);
  return ret;
}
