/* argus loadgen: synthetic face events on a NATS bus, for load tests of the
 * split roles (docs/scale.md, "Match throughput"; bench/match_bench.c).
 *
 * Each event is a real face event (argus_event_face_new), published with
 * argus_bus_publish_event on topic "face" under an id of
 * argus_bus_make_id(bus, "face", ...): what `argus edge` publishes, without
 * cameras or models running. A hit is an enrolled template of the database
 * (sampled through argus_store_template_foreach) plus a little noise, so it
 * clears any watchlist threshold (cosine ~0.96 with its template); a miss is
 * a random unit vector (cosine ~N(0, 1/sqrt(dim)) with every template).
 *
 * So that each hit is exactly one alert: every event has its own track id
 * (one alert per person per track), and the events of one camera are
 * LOADGEN_MEDIA_STEP seconds of media time apart (more than any cooldown
 * the matcher is likely to run with: the cooldown is per person per camera
 * on the media time line). */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "argus/bus.h"
#include "argus/core.h"
#include "argus/event.h"
#include "argus/face.h"
#include "argus/gallery.h"
#include "argus/store.h"
#include "cli/cli.h"
#include "cli/store_cli.h"

#define LOADGEN_SAMPLE 10000      /* templates kept to draw hits near */
#define LOADGEN_MEDIA_STEP 3600.0 /* media seconds between a camera's events */

void cli_loadgen_usage(FILE *f) {
  fprintf(
      f,
      "usage: argus loadgen --bus nats://HOST:PORT --db DB [--cameras N]\n"
      "                     [--rate F] [--hit-ratio R] [--duration S]\n"
      "                     [--model ID] [--models DIR] [--seed N]\n"
      "\n"
      "Publishes synthetic face events on the bus of split roles (topic\n"
      "'face', what 'argus edge' publishes) at a paced rate, for load tests\n"
      "of 'argus match' and 'argus sink'. A hit is an enrolled template of DB\n"
      "plus a little noise (it clears the watchlist threshold); a miss is a\n"
      "random unit vector. Every event has its own track, and a camera's\n"
      "events are an hour of media time apart, so that each hit raises\n"
      "exactly one alert (no track or cooldown suppression). Cameras are\n"
      "named load-0 .. load-N-1. Prints a summary: events, hits, rate.\n"
      "\n"
      "options:\n"
      "  --bus URL        the NATS bus (nats://HOST:PORT), required\n"
      "  --db PATH        the database whose templates hits are drawn near\n"
      "  --cameras N      cameras (default 1)\n"
      "  --rate F         face events per second per camera (default 10)\n"
      "  --hit-ratio R    share of events near an enrolled template (0..1,\n"
      "                   default 0.1)\n"
      "  --duration S     seconds to publish (default 10)\n"
      "  --model ID       the embedder model id \"name@version\" of the\n"
      "                   templates (default: the fr_feature card's, found\n"
      "                   in --models)\n"
      "  --models DIR     models folder (default $ARGUS_MODELS or ./models)\n"
      "  --seed N         random seed (default 1)\n");
}

/* ---- random numbers (xorshift64*, Box-Muller) ---------------------------- */

static uint64_t rng_state = 1;

static uint64_t rnd(void) {
  uint64_t x = rng_state;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  rng_state = x;
  return x * 0x2545f4914f6cdd1dull;
}

static double rnd01(void) { return (double)(rnd() >> 11) * 0x1.0p-53; }

static double gauss(void) {
  double u = rnd01(), v = rnd01();
  if (u < 1e-300)
    u = 1e-300;
  return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

static void normalise(float *v, int dim) {
  double s = 0;
  for (int i = 0; i < dim; i++)
    s += (double)v[i] * v[i];
  float inv = s > 0 ? (float)(1 / sqrt(s)) : 0;
  for (int i = 0; i < dim; i++)
    v[i] *= inv;
}

/* ---- the templates hits are drawn near ----------------------------------- */

typedef struct sample {
  float *vec; /* cap * dim */
  int dim, n, cap;
  int64_t seen;
  int bad_dim;
} sample;

/* Reservoir sampling: up to cap templates, uniformly over all of them. */
static int on_template(void *user, const argus_store_template *t) {
  sample *s = user;
  if (!s->dim)
    s->dim = t->dim;
  if (t->dim != s->dim) {
    s->bad_dim = 1;
    return 1;
  }
  if (!s->vec) {
    s->vec = malloc((size_t)s->cap * (size_t)s->dim * sizeof(float));
    if (!s->vec)
      return 1;
  }
  int64_t k = s->seen++;
  int slot = -1;
  if (s->n < s->cap)
    slot = s->n++;
  else {
    int64_t j = (int64_t)(rnd() % (uint64_t)(k + 1));
    if (j < s->cap)
      slot = (int)j;
  }
  if (slot >= 0)
    memcpy(s->vec + (size_t)slot * (size_t)s->dim, t->vector,
           (size_t)s->dim * sizeof(float));
  return 0;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void sleep_until(double t) {
  double d = t - now_s();
  if (d <= 0)
    return;
  struct timespec ts = {(time_t)d, (long)((d - (double)(time_t)d) * 1e9)};
  nanosleep(&ts, NULL);
}

enum {
  OPT_BUS = 1,
  OPT_DB,
  OPT_CAMERAS,
  OPT_RATE,
  OPT_HIT,
  OPT_DURATION,
  OPT_MODEL,
  OPT_MODELS,
  OPT_SEED
};

static int parse_double(const char *cmd, const char *what, const char *s,
                        double lo, double hi, double *out) {
  char *end = NULL;
  errno = 0;
  double v = strtod(s, &end);
  if (errno || end == s || *end || !(v >= lo && v <= hi)) {
    cli_errorf(cmd, "%s: '%s' is not a number in %g..%g", what, s, lo, hi);
    return -1;
  }
  *out = v;
  return 0;
}

int cli_loadgen_main(int argc, char **argv) {
  const char *cmd = "loadgen";
  static const cli_opt opts[] = {
      {"bus", 1, OPT_BUS},         {"db", 1, OPT_DB},
      {"cameras", 1, OPT_CAMERAS}, {"rate", 1, OPT_RATE},
      {"hit-ratio", 1, OPT_HIT},   {"duration", 1, OPT_DURATION},
      {"model", 1, OPT_MODEL},     {"models", 1, OPT_MODELS},
      {"seed", 1, OPT_SEED},       {NULL, 0, 0}};
  const char *bus_url = NULL, *db = NULL, *model_id = NULL;
  const char *models = getenv("ARGUS_MODELS");
  if (!models || !*models)
    models = "models";
  int cameras = 1;
  double rate = 10, hit_ratio = 0.1, duration = 10;
  long seed = 1;
  cli_parser p;
  cli_parser_init(&p, argc, argv, cmd, opts);
  for (int id; (id = cli_parse_next(&p)) != CLI_OPT_END;) {
    switch (id) {
    case CLI_OPT_HELP:
      cli_loadgen_usage(stdout);
      return CLI_OK;
    case CLI_OPT_ERROR:
      cli_usage_hint(cmd);
      return CLI_USAGE;
    case CLI_OPT_POSITIONAL:
      cli_errorf(cmd, "unexpected argument '%s'", p.arg);
      cli_usage_hint(cmd);
      return CLI_USAGE;
    case OPT_BUS:
      bus_url = p.arg;
      break;
    case OPT_DB:
      db = p.arg;
      break;
    case OPT_CAMERAS:
      if (cli_parse_int(p.arg, 1, 100000, "--cameras", &cameras))
        return cli_bad_value(cmd);
      break;
    case OPT_RATE:
      if (parse_double(cmd, "--rate", p.arg, 1e-3, 1e6, &rate))
        return cli_bad_value(cmd);
      break;
    case OPT_HIT:
      if (parse_double(cmd, "--hit-ratio", p.arg, 0, 1, &hit_ratio))
        return cli_bad_value(cmd);
      break;
    case OPT_DURATION:
      if (parse_double(cmd, "--duration", p.arg, 0.001, 86400, &duration))
        return cli_bad_value(cmd);
      break;
    case OPT_MODEL:
      model_id = p.arg;
      break;
    case OPT_MODELS:
      models = p.arg;
      break;
    case OPT_SEED:
      if (cli_parse_long(p.arg, 0, LONG_MAX, "--seed", &seed))
        return cli_bad_value(cmd);
      break;
    }
  }
  if (!bus_url) {
    cli_errorf(cmd, "--bus nats://HOST:PORT is required");
    cli_usage_hint(cmd);
    return CLI_USAGE;
  }
  rng_state = 0x9e3779b97f4a7c15ull ^ ((uint64_t)seed * 0xbf58476d1ce4e5b9ull);
  if (!rng_state)
    rng_state = 1;

  /* The embedder's model id (and dim): --model, else the card's. */
  char mid[ARGUS_EVENT_MODEL_MAX];
  int card_dim = 0;
  if (model_id) {
    snprintf(mid, sizeof mid, "%s", model_id);
  } else {
    char path[1024];
    argus_face_error fe = {{0}};
    argus_face_card card;
    argus_gallery_config gc;
    argus_gallery_error ge = {{0}};
    if (argus_face_card_find(models, "fr_feature", path, sizeof path, &fe) ||
        argus_face_card_load(path, &card, &fe)) {
      cli_errorf(cmd, "embedder card: %s (give --model ID)", fe.msg);
      return CLI_FAIL;
    }
    if (argus_gallery_config_from_card(&card, &gc, &ge)) {
      cli_errorf(cmd, "embedder card %s: %s", path, ge.msg);
      return CLI_FAIL;
    }
    snprintf(mid, sizeof mid, "%s", gc.model_id);
    card_dim = gc.dim;
  }
  char mname[ARGUS_STORE_NAME_MAX], mversion[ARGUS_STORE_NAME_MAX];
  if (argus_store_model_id_split(mid, mname, mversion)) {
    cli_errorf(cmd, "--model: '%s' is not name@version", mid);
    return CLI_USAGE;
  }

  argus_store_model sm;
  memset(&sm, 0, sizeof sm);
  sm.name = mname;
  sm.version = mversion;
  /* Templates to draw hits near. */
  sample s = {.cap = LOADGEN_SAMPLE};
  if (db) {
    argus_store *st = NULL;
    if (store_cli_open_existing(cmd, db, &st) != CLI_OK)
      return CLI_FAIL;
    argus_store_error se = {{0}};
    argus_err e =
        argus_store_template_foreach(st, &sm, 0, on_template, &s, &se);
    argus_store_close(st);
    if (e)
      return store_cli_error(cmd, e, &se);
    if (s.bad_dim) {
      cli_errorf(cmd, "templates of %s with different sizes", mid);
      free(s.vec);
      return CLI_FAIL;
    }
  }
  if (hit_ratio > 0 && s.n == 0) {
    cli_errorf(cmd,
               "no templates of model %s in %s to draw hits near (give --db, "
               "or --hit-ratio 0)",
               mid, db ? db : "(no --db)");
    free(s.vec);
    return CLI_FAIL;
  }
  int dim = s.dim ? s.dim : card_dim ? card_dim : 512;

  argus_bus *bus = NULL;
  argus_error_detail be = {{0}};
  argus_err e = argus_bus_open(bus_url, NULL, &bus, &be);
  if (e) {
    cli_errorf(cmd, "bus %s: %s", bus_url,
               be.msg[0] ? be.msg : argus_strerror(e));
    free(s.vec);
    return CLI_FAIL;
  }
  fprintf(stderr,
          "argus: loadgen: %d camera%s x %g events/s for %g s, hits %.0f %% "
          "near %d of %" PRId64 " templates of %s (dim %d)\n",
          cameras, cameras == 1 ? "" : "s", rate, duration, hit_ratio * 100,
          s.n, s.seen, mid, dim);

  double total_rate = rate * cameras;
  double noise = 0.3 / sqrt((double)dim); /* |noise| ~0.3: cosine ~0.96 */
  uint64_t events = 0, hits = 0, errors = 0;
  uint64_t *per_cam = calloc((size_t)cameras, sizeof *per_cam);
  if (!per_cam) {
    argus_bus_close(bus);
    free(s.vec);
    return CLI_FAIL;
  }
  double t0 = now_s(), end = t0 + duration, late_max = 0;
  for (;;) {
    double due = t0 + (double)events / total_rate;
    if (due >= end)
      break;
    double t = now_s();
    if (due > t)
      sleep_until(due);
    else if (t - due > late_max)
      late_max = t - due;
    int cam = (int)(events % (uint64_t)cameras);
    argus_event *ev = NULL;
    float *emb = NULL;
    if (argus_event_face_new(dim, 0, 0, &ev, &emb, NULL, NULL)) {
      errors++;
      events++;
      continue;
    }
    argus_event_face *f = &ev->u.face;
    snprintf(f->camera, sizeof f->camera, "load-%d", cam);
    f->wall_ns = argus_wall_ns();
    f->mono_ns = argus_time_ns();
    f->media_time = (double)per_cam[cam]++ * LOADGEN_MEDIA_STEP;
    f->track = events + 1;
    f->track_start = f->media_time;
    f->reason = ARGUS_EVENT_REASON_EARLY;
    f->quality = 0.9f;
    f->box[0] = 800;
    f->box[1] = 300;
    f->box[2] = 912;
    f->box[3] = 440;
    f->frame_w = 1920;
    f->frame_h = 1080;
    snprintf(f->model, sizeof f->model, "%s", mid);
    f->dim = dim;
    int hit = rnd01() < hit_ratio;
    if (hit) {
      const float *tv = s.vec + (size_t)(rnd() % (uint64_t)s.n) * (size_t)dim;
      for (int i = 0; i < dim; i++)
        emb[i] = tv[i] + (float)(noise * gauss());
    } else {
      for (int i = 0; i < dim; i++)
        emb[i] = (float)gauss();
    }
    normalise(emb, dim);
    if (argus_bus_make_id(bus, "face", ev->id) ||
        argus_bus_publish_event(bus, ARGUS_BUS_TOPIC_FACE, ev))
      errors++;
    else
      hits += (uint64_t)hit;
    argus_event_unref(ev);
    events++;
  }
  double elapsed = now_s() - t0;
  argus_bus_close(bus); /* waits for the server's acknowledgements */
  double acked = now_s() - t0;
  free(per_cam);
  free(s.vec);
  uint64_t sent = events - errors;
  printf("loadgen: events %" PRIu64 " hits %" PRIu64 " misses %" PRIu64
         " errors %" PRIu64 " seconds %.3f rate %.1f/s (asked %.1f/s) "
         "acked_after %.3f s late_max %.3f s\n",
         sent, hits, sent - hits, errors, elapsed,
         elapsed > 0 ? (double)events / elapsed : 0, total_rate, acked,
         late_max);
  fflush(stdout);
  return errors ? CLI_FAIL : CLI_OK;
}
