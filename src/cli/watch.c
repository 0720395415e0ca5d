/* `argus watch`: the live pipeline on cameras (stored names or URLs), one
 * line per alert on stdout, status lines on stderr. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "argus/bus.h"
#include "argus/core.h"
#include "argus/event.h"
#include "argus/policy.h"
#include "argus/store.h"
#include "cli/gallery_cli.h"
#include "cli/store_cli.h"
#include "cli/watch_cli.h"

void cli_watch_usage(FILE *f) {
  // clang-format off
  fputs("Usage: argus watch [CAMERA|URL]... [--watchlist W]... [--json]\n"
        "                   [--db PATH] [--models DIR] [--threads N] [--fps N]\n"
        "                   [--realtime] [--loop] [--keep-unmatched SECONDS]\n"
        "                   [--duration S] [--status-interval S] [--quiet-status]\n"
        "\n"
        "Watches cameras and raises an alert when a face matches a person of a\n"
        "watchlist: one line per alert on stdout, status lines on stderr. Alerts\n"
        "are stored in the database with the face crop and a frame thumbnail.\n"
        "\n"
        "CAMERA is a name from 'argus camera add', URL a video source (rtsp://,\n"
        "http(s)://, a file, /dev/videoN); none: every enabled stored camera.\n"
        "A source that can never open (unknown protocol, bad URL, missing file\n"
        "or device, no video) fails at once; others (refused, unreachable,\n"
        "stalled) are retried. Exit status 1 when no camera worked.\n"
        "\n"
        "  --watchlist W        watch this watchlist (repeatable; default: every\n"
        "                       active one); each uses its own threshold\n"
        "  --json               alerts as JSON lines: {\"id\", \"camera\", \"time\",\n"
        "                       \"media_time\", \"track\", \"watchlist\", \"person\",\n"
        "                       \"score\", \"crop\", ...}\n"
        "  --fps N              analysed frames per second per camera (default 5)\n"
        "  --threads N          analysis threads (default: one per CPU)\n"
        "  --realtime           play files at their native rate (default: as fast\n"
        "                       as they decode)\n"
        "  --loop               start files again at their end\n"
        "  --keep-unmatched S   also store the searched faces that match nobody,\n"
        "                       for S seconds (default: counts only)\n"
        "  --purge-every S      delete what has outlived its retention (argus\n"
        "                       retention) at start and every S seconds\n"
        "                       (default 3600; 0: only at start)\n"
        "  --audit-anchor S     log the audit log's head (\"audit head id=N\n"
        "                       sha256=H\") at start and every S seconds, for a\n"
        "                       copy kept outside (default 3600; 0: only at\n"
        "                       start; docs/lawful-use.md)\n"
        "  --duration S         stop after S seconds (default: when every\n"
        "                       camera has ended -- files finished, sources\n"
        "                       failed for good -- or Ctrl-C)\n"
        "  --status-interval S  seconds between status lines (default 5)\n"
        "  --quiet-status       no periodic status lines (a camera's state\n"
        "                       changes are still told as they happen)\n"
        "  --cooldown S         per person per camera, seconds (default 30)\n"
        "  --suppressed         also print each match that raised no alert, and\n"
        "                       why (already alerted on its track, or cooldown);\n"
        "                       with --json: {\"type\":\"alert.suppressed\",\n"
        "                       \"suppressed\":\"track\"|\"cooldown\",...}\n"
        "  --fusion M           also alert when a person's mean score over a\n"
        "                       track's searched shots is at least the threshold\n"
        "                       minus M (score fusion; 0..0.5, default 0: off;\n"
        "                       eval/fusion_eval.py measures M, docs/walkby.md)\n"
        "  --score-norm M       topn (default): scores shifted against the next\n"
        "                       persons of the search, as argus identify does;\n"
        "                       none: plain cosine similarity (docs/gallery.md)\n"
        "  --fuse F             mean (default): a person with several photos\n"
        "                       scores with their mean template; max: the best\n"
        "                       photo\n"
        "  --size N             detection size, longer side (default 480)\n"
        "  --motion on|off      motion-gated detection (default on): search only\n"
        "                       around what moved and around tracked faces, the\n"
        "                       whole frame at least every --motion-refresh S\n"
        "                       (default 2 s of video); --motion-threshold N: an\n"
        "                       8x8 block's mean luma change that is motion\n"
        "                       (1..255, default 8)\n"
        "  --decode MODE        full: every decoded frame deblocked; fast: frames\n"
        "                       that are not analysed decoded without H.264's\n"
        "                       loop filter; nofilter: none (docs/video.md)\n"
        "  --models DIR         models folder (default $ARGUS_MODELS or ./models)\n"
        "  --allow-unverified   load models whose checksum differs from the card\n"
        "  --plugin PATH        a plug-in whose detector and/or embedder replace the\n"
        "                       default ones (sets $ARGUS_PLUGIN; docs/models.md)\n"
        "  --detector CARD      the detector card (default yunet_n; sets\n"
        "                       $ARGUS_DETECTOR; fr_detect: the RFB-320)\n"
        "  --embedder CARD      the embedder card, e.g. the one a watchlist was\n"
        "                       moved to by 'argus reindex' (sets $ARGUS_EMBEDDER)\n"
        "  --bus URL            the bus between split roles: nats://HOST:PORT\n"
        "                       (NATS JetStream; docs/scale.md; default: in\n"
        "                       process). An edge spools what it publishes\n"
        "                       while NATS is away in $ARGUS_DATA_DIR (or the\n"
        "                       database's folder)/edge-spool-N, unless the\n"
        "                       URL names a spool=DIR\n"
        "  --role R             the stages run here: all (default), edge\n"
        "                       (cameras -> face events), match (face events ->\n"
        "                       alerts raised), sink (alerts raised -> stored);\n"
        "                       edge, match and sink need --bus\n"
        "  --leases             (edge) claim the enabled stored cameras through\n"
        "                       leases on --bus, so that the edges of a\n"
        "                       deployment share them and take over those of an\n"
        "                       edge that died (docs/scale.md)\n"
        "  --capacity N         (edge, --leases) cameras at most (default: all);\n"
        "                       the edges share the cameras in proportion to\n"
        "                       their capacities\n"
        "  --lease-ttl S        (edge, --leases) a lease's time to live, seconds\n"
        "                       (default 10); renewed every S/3\n"
        "  --index KIND         (match) the watchlists' in-memory index: auto\n"
        "                       (default: exact fp32, approximate from 1M\n"
        "                       templates), f32, f16 or i8 (compressed scans\n"
        "                       re-ranked exactly: same results; faster when\n"
        "                       the best scores stand apart), approx\n"
        "  --search-threads N   (match) threads that split each search\n"
        "                       (default 1: the subscriber's own)\n"
        STORE_CLI_DB_HELP,
        f);
  // clang-format on
}

void watch_opts_init(watch_opts *o) {
  memset(o, 0, sizeof *o);
  o->cooldown = -1;
  o->motion = -1;
  o->decode = -1;
  o->score_norm = ARGUS_GALLERY_NORM_TOPN;
  o->fuse = ARGUS_GALLERY_FUSE_MEAN;
}

/* ---- alert output ------------------------------------------------------- */

/* Prints the stored alerts ("alert" events) as they come: a line of text,
 * or a JSON line whose "crop" and "thumb" are the files of the store (for
 * the operator at this terminal; the bus itself carries only hashes). */
typedef struct printer {
  pthread_mutex_t mu;
  int json;
  unsigned long alerts;
  const argus_store *store;
} printer;

static void crop_file(const printer *pr, const char *hash, char *out,
                      size_t cap) {
  out[0] = '\0';
  if (hash[0] &&
      argus_store_crop_path(pr->store, hash, out, cap, NULL) != ARGUS_OK)
    out[0] = '\0';
}

static void on_alert(void *user, const argus_bus_msg *m) {
  printer *pr = user;
  if (!m->event || m->event->type != ARGUS_EVENT_ALERT)
    return;
  const argus_event_alert *a = &m->event->u.alert;
  char t[ARGUS_RFC3339_MAX], crop[4200], thumb[4200];
  argus_rfc3339(a->wall_ns, t);
  crop_file(pr, a->crop_sha256, crop, sizeof crop);
  crop_file(pr, a->thumb_sha256, thumb, sizeof thumb);
  pthread_mutex_lock(&pr->mu);
  pr->alerts++;
  if (pr->json) {
    static char line[16384];
    argus_json j;
    argus_json_init(&j, line, sizeof line);
    argus_json_obj_begin(&j, NULL);
    argus_event_alert_json(a, crop[0] ? crop : NULL, thumb[0] ? thumb : NULL,
                           &j);
    argus_json_str(&j, "crop_sha256",
                   a->crop_sha256[0] ? a->crop_sha256 : NULL);
    argus_json_str(&j, "thumb_sha256",
                   a->thumb_sha256[0] ? a->thumb_sha256 : NULL);
    argus_json_str(&j, "type", "alert");
    argus_json_int(&j, "v", ARGUS_EVENT_VERSION);
    argus_json_obj_end(&j);
    size_t n = argus_json_finish(&j);
    fwrite(line, 1, n, stdout);
    fputc('\n', stdout);
  } else {
    char id[32] = "null";
    if (a->alert_id > 0)
      snprintf(id, sizeof id, "%lld", (long long)a->alert_id);
    printf("ALERT %s  %s  camera '%s' at %.3f s, track %llu: %s (watchlist "
           "'%s'), score %.4f\n      crop %s\n",
           id, t, a->camera, a->media_time, (unsigned long long)a->track,
           a->person, a->watchlist, a->score,
           crop[0] && a->alert_id > 0 ? crop : "(not stored)");
  }
  fflush(stdout);
  pthread_mutex_unlock(&pr->mu);
}

/* The matches that raised no alert ("alert.suppressed" events), with
 * --suppressed: a line that says why (already alerted on this track, or on
 * another track of the camera within the cooldown). Nothing of them is
 * stored; they are not counted as alerts. */
static void on_suppressed(void *user, const argus_bus_msg *m) {
  printer *pr = user;
  if (!m->event || m->event->type != ARGUS_EVENT_ALERT)
    return;
  const argus_event_alert *a = &m->event->u.alert;
  const char *why = strcmp(a->suppressed, "track") == 0
                        ? "already alerted on this track"
                    : strcmp(a->suppressed, "cooldown") == 0
                        ? "alerted on another track of this camera within "
                          "the cooldown"
                        : a->suppressed;
  pthread_mutex_lock(&pr->mu);
  if (pr->json) {
    static char line[16384];
    argus_json j;
    argus_json_init(&j, line, sizeof line);
    argus_json_obj_begin(&j, NULL);
    argus_event_alert_json(a, NULL, NULL, &j);
    argus_json_str(&j, "type", "alert.suppressed");
    argus_json_int(&j, "v", ARGUS_EVENT_VERSION);
    argus_json_obj_end(&j);
    size_t n = argus_json_finish(&j);
    fwrite(line, 1, n, stdout);
    fputc('\n', stdout);
  } else {
    printf("NOT ALERTED  camera '%s' at %.3f s, track %llu: %s (watchlist "
           "'%s'), score %.4f: %s\n",
           a->camera, a->media_time, (unsigned long long)a->track, a->person,
           a->watchlist, a->score, why);
  }
  fflush(stdout);
  pthread_mutex_unlock(&pr->mu);
}

/* ---- status ----------------------------------------------------------------
 */

static void clock_text(int64_t wall_ns, char out[16]) {
  time_t t = wall_ns > 0 ? (time_t)(wall_ns / 1000000000) : time(NULL);
  struct tm tm;
  localtime_r(&t, &tm);
  snprintf(out, 16, "%02d:%02d:%02d", tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* "(2 streaming, 1 waiting, 1 failed)": how many cameras are in each state
 * (states with none left out). */
static void state_counts(const argus_pipeline_camera_stats *cs, int n,
                         char *out, size_t cap) {
  int count[ARGUS_VIDEO_STOPPED + 1] = {0};
  for (int i = 0; i < n; i++)
    if (cs[i].video.state >= 0 && cs[i].video.state <= ARGUS_VIDEO_STOPPED)
      count[cs[i].video.state]++;
  size_t len = 0;
  out[0] = '\0';
  for (int st = 0; st <= ARGUS_VIDEO_STOPPED && len < cap; st++) {
    if (!count[st])
      continue;
    int k = snprintf(out + len, cap - len, "%s%d %s", len ? ", " : "(",
                     count[st], argus_video_state_name((argus_video_state)st));
    if (k < 0)
      break;
    len += (size_t)k;
  }
  if (len && len + 1 < cap) {
    out[len] = ')';
    out[len + 1] = '\0';
  }
}

/* What a camera's state needs said: when a waiting one tries again and how
 * often it failed; the last error (with its age for a camera that has
 * recovered). "" when there is nothing to add. */
static void camera_detail(const argus_video_stats *v, char *out, size_t cap) {
  int64_t now = argus_wall_ns();
  out[0] = '\0';
  size_t len = 0;
  if (v->state == ARGUS_VIDEO_WAITING) {
    double in =
        v->retry_wall_ns > now ? (double)(v->retry_wall_ns - now) * 1e-9 : 0;
    int k = snprintf(out, cap, "; retry in %.1f s, %d failed attempt%s", in,
                     v->failed_attempts, v->failed_attempts == 1 ? "" : "s");
    len = k > 0 ? (size_t)k : 0;
  }
  if (!v->last_error[0] || len >= cap)
    return;
  if (v->state == ARGUS_VIDEO_STREAMING || v->state == ARGUS_VIDEO_FINISHED)
    snprintf(out + len, cap - len, "; last error %.0f s ago: %s",
             (double)(now - v->last_error_wall_ns) * 1e-9, v->last_error);
  else
    snprintf(out + len, cap - len, "; %s", v->last_error);
}

/* Periodic lines show the last interval's means; the final one (final != 0)
 * the means of the whole run. Every camera's line has its state and, when
 * it has one, its last error. */
static void print_status(int role, const argus_pipeline_stats *st,
                         const argus_pipeline_camera_stats *cs, int n, int cap,
                         int final) {
  char t[16], states[160], detail[512];
  clock_text(0, t);
  /* The split roles that run no cameras say what they do. */
  if (role == ARGUS_PIPELINE_MATCH) {
    fprintf(stderr,
            "[%s] match: %llu faces searched (%.2f CPU s), %lld waiting, "
            "%llu matched, %llu "
            "alerts raised, %llu suppressed (track, cooldown), %llu "
            "suppressed by negatives; %d templates of %d persons; %llu "
            "enrolment changes applied; %llu alert crops fetched from "
            "edges, %llu missing\n",
            t, (unsigned long long)st->faces_searched, st->cpu_match,
            (long long)st->faces_backlog, (unsigned long long)st->matches,
            (unsigned long long)st->alerts, (unsigned long long)st->suppressed,
            (unsigned long long)st->suppressed_negative, st->templates,
            st->persons, (unsigned long long)st->changes,
            (unsigned long long)st->crops_fetched,
            (unsigned long long)st->crops_missing);
    return;
  }
  if (role == ARGUS_PIPELINE_SINK) {
    fprintf(stderr,
            "[%s] sink: %llu alerts stored (%llu late, %llu lost), %d "
            "waiting for the database, %llu store errors; %llu not stored "
            "(another matcher's alert within the cooldown); %llu unmatched "
            "faces stored\n",
            t, (unsigned long long)st->alerts_stored,
            (unsigned long long)st->alerts_delayed,
            (unsigned long long)st->alerts_lost, st->alerts_spooled,
            (unsigned long long)st->store_errors,
            (unsigned long long)st->alerts_cooled,
            (unsigned long long)st->unmatched_stored);
    return;
  }
  if (n > cap)
    n = cap;
  state_counts(cs, n, states, sizeof states);
  /* Verdict feedback and the legal basis, when they held anything back. */
  char held[200] = "";
  if (st->suppressed_negative || st->marked_negative || st->withheld_review)
    snprintf(held, sizeof held,
             "; negatives: %llu suppressed, %llu marked; review due: %llu "
             "withheld",
             (unsigned long long)st->suppressed_negative,
             (unsigned long long)st->marked_negative,
             (unsigned long long)st->withheld_review);
  fprintf(stderr,
          "[%s] %d camera%s %s: %llu frames analysed, %llu dropped; "
          "queues: %d frames, %d shots, %d alerts, %d spooled; detect %.1f "
          "ms/frame, embed "
          "%.1f ms/face (batch %.1f); %llu alerts; latency p50 %.0f ms p99 "
          "%.0f ms%s\n",
          t, st->cameras, st->cameras == 1 ? "" : "s", states,
          (unsigned long long)st->frames_analysed,
          (unsigned long long)st->frames_dropped, st->frames_queued,
          st->shots_queued, st->alerts_queued, st->alerts_spooled,
          final ? st->detect_ms_avg : st->detect_ms,
          final ? st->embed_ms_avg : st->embed_ms,
          final ? st->batch_mean_avg : st->batch_mean,
          (unsigned long long)st->alerts, st->alert_latency.p50 * 1e3,
          st->alert_latency.p99 * 1e3, held);
  for (int i = 0; i < n; i++) {
    const argus_pipeline_camera_stats *c = &cs[i];
    camera_detail(&c->video, detail, sizeof detail);
    /* The recognition policy, when it held anything back. */
    char pol[160] = "";
    if (c->policy_mode != ARGUS_POLICY_MATCH || c->frames_policy_off ||
        c->faces_masked || c->faces_detect_only)
      snprintf(pol, sizeof pol,
               ", policy %s (frames off %llu, detect-only faces %llu, masked "
               "%llu)",
               argus_policy_mode_name(c->policy_mode),
               (unsigned long long)c->frames_policy_off,
               (unsigned long long)c->faces_detect_only,
               (unsigned long long)c->faces_masked);
    /* Motion gating, once it saved anything: frames searched whole, in a
     * window, not at all, and the share of the frames' area searched. */
    char gate[160] = "";
    uint64_t searched = c->det_full + c->det_window + c->det_skipped;
    if (c->det_window || c->det_skipped)
      snprintf(gate, sizeof gate,
               ", detector: %llu whole, %llu windows, %llu skipped (%.0f %% of "
               "the area)",
               (unsigned long long)c->det_full,
               (unsigned long long)c->det_window,
               (unsigned long long)c->det_skipped,
               searched ? 100.0 * c->det_area / (double)searched : 0.0);
    fprintf(stderr,
            "  %-20s %-10s in %5.1f fps, analysed %4.1f fps, dropped %llu, "
            "faces %llu, tracks %llu (%d live), matches %llu, alerts "
            "%llu%s%s%s\n",
            c->video.name, argus_video_state_name(c->video.state),
            c->video.fps_in, c->fps_analysed,
            (unsigned long long)c->video.frames_dropped,
            (unsigned long long)c->faces, (unsigned long long)c->tracks,
            c->tracks_live, (unsigned long long)c->matches,
            (unsigned long long)c->alerts, gate, pol, detail);
  }
}

/* What was said about one camera's state, so that each change is told once,
 * also with --quiet-status. seen[i] goes with the i-th camera of the stats
 * (watch neither adds nor removes cameras while it runs). */
typedef struct cam_seen {
  uint64_t changes;       /* video.state_changes already told */
  argus_video_state told; /* the last state told */
  char told_error[256];   /* the error told with it */
} cam_seen;

/* One line per state change since the last look (stderr): streaming,
 * waiting (with why and when it retries), finished, failed (with why),
 * stopped. Connecting is not told (the state after it says how it went),
 * nor a retry that failed as the one before (a camera that stays down says
 * so once; the status lines count the attempts). */
static void print_state_changes(const argus_pipeline_camera_stats *cs, int n,
                                cam_seen *seen) {
  for (int i = 0; i < n; i++) {
    const argus_video_stats *v = &cs[i].video;
    cam_seen *w = &seen[i];
    if (v->state_changes <= w->changes)
      continue;
    uint64_t fresh = v->state_changes - w->changes;
    if (fresh > ARGUS_VIDEO_STATE_HISTORY - 1) {
      fprintf(stderr, "argus: camera '%s': %llu state changes not shown\n",
              v->name,
              (unsigned long long)(fresh - (ARGUS_VIDEO_STATE_HISTORY - 1)));
      fresh = ARGUS_VIDEO_STATE_HISTORY - 1;
    }
    w->changes = v->state_changes;
    for (int k = (int)fresh - 1; k >= 0; k--) {
      const argus_video_state_change *ch = &v->states[k];
      if (ch->state == ARGUS_VIDEO_CONNECTING)
        continue;
      int with_error =
          ch->state == ARGUS_VIDEO_WAITING || ch->state == ARGUS_VIDEO_FAILED;
      if (ch->state == ARGUS_VIDEO_WAITING && w->told == ARGUS_VIDEO_WAITING &&
          strcmp(w->told_error, v->last_error) == 0)
        continue;
      char t[16], retry[64] = "";
      clock_text(ch->wall_ns, t);
      if (k == 0 && ch->state == ARGUS_VIDEO_WAITING && v->retry_wall_ns > 0)
        snprintf(retry, sizeof retry, "; retrying in %.1f s",
                 (double)(v->retry_wall_ns - ch->wall_ns) * 1e-9);
      fprintf(stderr, "[%s] camera '%s': %s%s%s%s\n", t, v->name,
              argus_video_state_name(ch->state),
              with_error && v->last_error[0] ? ": " : "",
              with_error ? v->last_error : "", retry);
      w->told = ch->state;
      snprintf(w->told_error, sizeof w->told_error, "%s",
               with_error ? v->last_error : "");
    }
  }
}

/* ---- cameras ------------------------------------------------------------- */

/* The cameras named (stored names or URLs), or every enabled stored one:
 * argus_store_camera_resolve. *out is the store's (argus_store_free). */
static int resolve_cameras(const char *cmd, const watch_opts *o,
                           argus_store_camera_source **out, size_t *n) {
  argus_store *s = NULL;
  if (store_cli_open(cmd, o->db, &s) != CLI_OK)
    return CLI_FAIL;
  argus_store_error err = {{0}};
  argus_err e = argus_store_camera_resolve(s, o->cameras, o->labels,
                                           (size_t)o->ncameras, out, n, &err);
  argus_store_close(s);
  if (e == ARGUS_E_NOT_FOUND || e == ARGUS_E_INVALID_ARG ||
      e == ARGUS_E_LIMIT) {
    cli_errorf(cmd, "%s%s", err.msg,
               o->ncameras == 0 ? " (add one with 'argus camera add NAME "
                                  "URL', or give a URL)"
                                : "");
    return CLI_USAGE;
  }
  if (e)
    return store_cli_error(cmd, e, &err);
  for (size_t i = 0; i < *n; i++)
    if (!(*out)[i].enabled)
      fprintf(stderr,
              "argus: %s: camera '%s' is disabled; watching it since it was "
              "named\n",
              cmd, (*out)[i].name);
  return CLI_OK;
}

/* ---- the policy of stored cameras, followed -------------------------------- */

/* A stored camera's recognition policy changed in the database by another
 * process (argus camera set, the API of an argus serve on the same
 * database) reaches the running camera within POLICY_POLL_S seconds, as
 * argus serve's cameras follow the store: the new policy is handed to the
 * edge (argus_pipeline_set_policy; the next frames follow it, the file
 * or stream is not reopened) and the change is told on stderr. */
#define POLICY_POLL_S 2.0

typedef struct policy_cam {
  argus_store_id id; /* 0: a direct source (not followed) */
  int index;         /* the pipeline's camera */
  char name[ARGUS_STORE_NAME_MAX];
  char settings[ARGUS_STORE_JSON_MAX]; /* as last applied */
} policy_cam;

typedef struct policy_follow {
  policy_cam *cams;
  int n;
  argus_store *store; /* a read-only handle of its own; NULL: not followed */
  double next;
} policy_follow;

static void policy_follow_tick(policy_follow *f, argus_pipeline *p, double now,
                               int force) {
  if (!f->store || f->n == 0 || (!force && now < f->next))
    return;
  f->next = now + POLICY_POLL_S;
  argus_store_camera *cams = NULL;
  size_t n = 0;
  argus_store_error err = {{0}};
  if (argus_store_camera_list(f->store, &cams, &n, &err) != ARGUS_OK) {
    argus_log(ARGUS_LOG_WARN, "watch", "cameras: %s", err.msg);
    return;
  }
  for (int i = 0; i < f->n; i++) {
    policy_cam *pc = &f->cams[i];
    if (pc->id == 0 || pc->index < 0) /* a URL, or a camera not run here */
      continue;
    const argus_store_camera *c = NULL;
    for (size_t k = 0; k < n; k++)
      if (cams[k].id == pc->id)
        c = &cams[k];
    if (!c || strcmp(c->settings, pc->settings) == 0)
      continue; /* removed: it keeps its last policy */
    /* Only the policy matters here; other settings (fps, transport) take
     * effect at the next start. */
    argus_policy old, pol;
    argus_error_detail why = {{0}};
    argus_policy_from_settings(pc->settings, &old, NULL, NULL);
    snprintf(pc->settings, sizeof pc->settings, "%s", c->settings);
    if (argus_policy_from_settings(c->settings, &pol, NULL, &why) != ARGUS_OK) {
      fprintf(stderr,
              "argus: camera '%s': the stored policy is not valid (%s); "
              "keeping the one in force\n",
              pc->name, why.msg);
      continue;
    }
    if (memcmp(&old, &pol, sizeof pol) == 0)
      continue;
    argus_err e = argus_pipeline_set_policy(p, pc->index, &pol);
    char t[16];
    clock_text(0, t);
    if (e != ARGUS_OK) {
      fprintf(stderr, "[%s] camera '%s': policy change not applied (%s)\n", t,
              pc->name, argus_errname(e));
      continue;
    }
    fprintf(stderr,
            "[%s] camera '%s': recognition policy changed: %s, %d window(s), "
            "%d mask(s)%s%s\n",
            t, pc->name, argus_policy_mode_name(pol.mode), pol.nwindows,
            pol.nmasks, pol.legal_ref[0] ? ": " : "", pol.legal_ref);
    argus_log(ARGUS_LOG_INFO, "watch",
              "camera '%s': recognition policy changed to %s", pc->name,
              argus_policy_mode_name(pol.mode));
  }
  argus_store_free(cams);
}

/* ---- the loop -------------------------------------------------------------
 */

static double now_s(void) { return (double)argus_time_ns() * 1e-9; }

/* An edge on NATS without spool= in its URL gets a spool by default, so
 * that what it analyses while NATS is away is kept on disk (bounded) and
 * sent when NATS is back: the first of <data>/edge-spool-1..8 that no
 * other process holds, where <data> is $ARGUS_DATA_DIR or the database's
 * folder (whatever a folder holds from an earlier run is sent too; any
 * edge may send it). Returns 1 with the bus open on it, 0 to open the URL
 * as given (not an edge on NATS, a spool named, no folder to use, or none
 * free: said why). */
static int edge_default_spool(const watch_opts *o, argus_bus **out,
                              argus_error_detail *be) {
  if (o->role != ARGUS_PIPELINE_EDGE || strncmp(o->bus, "nats://", 7) != 0 ||
      strstr(o->bus, "spool="))
    return 0;
  char data[600] = "";
  const char *env = getenv("ARGUS_DATA_DIR");
  if (env && *env) {
    snprintf(data, sizeof data, "%s", env);
  } else {
    char dbp[600] = "";
    if (o->db)
      snprintf(dbp, sizeof dbp, "%s", o->db);
    else if (argus_store_default_path(dbp, sizeof dbp, NULL) != ARGUS_OK)
      dbp[0] = '\0';
    char *slash = strrchr(dbp, '/');
    if (strstr(dbp, "://") || !dbp[0])
      data[0] = '\0';
    else if (!slash)
      snprintf(data, sizeof data, ".");
    else if (slash == dbp)
      snprintf(data, sizeof data, "/");
    else
      snprintf(data, sizeof data, "%.*s", (int)(slash - dbp), dbp);
  }
  if (!data[0]) {
    fprintf(stderr,
            "argus: edge: no folder for a spool (set ARGUS_DATA_DIR or "
            "add spool=DIR to --bus); face events made while NATS is away "
            "wait in memory only\n");
    return 0;
  }
  for (int n = 1; n <= 8; n++) {
    char dir[700], url[1800];
    snprintf(dir, sizeof dir, "%s/edge-spool-%d", data, n);
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
      break;
    snprintf(url, sizeof url, "%s%sspool=%s", o->bus,
             strchr(o->bus, '?') ? "&" : "?", dir);
    argus_error_detail e1 = {{0}};
    if (argus_bus_open(url, NULL, out, &e1) == ARGUS_OK) {
      fprintf(stderr,
              "argus: edge: spool %s (face events made while NATS "
              "is away wait there)\n",
              dir);
      return 1;
    }
    if (!strstr(e1.msg, "used by another process")) {
      *be = e1;
      fprintf(stderr, "argus: edge: spool %s: %s\n", dir, e1.msg);
      return 0;
    }
  }
  fprintf(stderr,
          "argus: edge: no free spool folder under %s; face events "
          "made while NATS is away wait in memory only\n",
          data);
  return 0;
}

/* Runs until the files end (or every camera has ended otherwise), the
 * duration passes or a signal comes; drains and reports. State changes are
 * told as they come, also with --quiet-status. Returns rc, or CLI_FAIL when
 * no camera worked (each one's reason printed). cs and seen have room for
 * ncams cameras. */
/* ---- cameras claimed through leases (argus edge --leases) ---------------- */

#define LEASE_VIEW_EDGES 256

/* An edge as the lease tables show it: its holder name, its capacity (its
 * registration; 0: not registered) and how many cameras it holds. */
typedef struct lease_edge {
  char name[ARGUS_BUS_ID_MAX + 1];
  int capacity, cameras;
} lease_edge;

typedef struct lease_follow {
  argus_bus_leases *l; /* NULL: no leases, every camera runs here */
  /* This edge's registration (table "edges": key reg_key, value
   * "<holder>#<capacity>"), renewed with the camera leases, so that every
   * edge knows the others' capacities and spreads the cameras by them. */
  argus_bus_leases *reg;
  char holder[ARGUS_BUS_ID_MAX + 1], reg_key[ARGUS_BUS_ID_MAX + 1];
  const argus_store_camera_source *srcs;
  int n, running, capacity;
  double ttl, next;
  double *last_ok; /* per camera: when its lease was last taken or renewed;
                      < 0: not run here */
  lease_edge view[LEASE_VIEW_EDGES];
  int nview;
  char *held_by; /* per camera: 1 when another edge holds it now */
} lease_follow;

static lease_edge *view_edge(lease_follow *lf, const char *name) {
  for (int i = 0; i < lf->nview; i++)
    if (strcmp(lf->view[i].name, name) == 0)
      return &lf->view[i];
  if (lf->nview == LEASE_VIEW_EDGES)
    return NULL;
  lease_edge *e = &lf->view[lf->nview++];
  memset(e, 0, sizeof *e);
  snprintf(e->name, sizeof e->name, "%s", name);
  return e;
}

static void on_edge_lease(void *user, const char *key, const char *value) {
  (void)key;
  lease_follow *lf = user;
  char name[ARGUS_BUS_ID_MAX + 1];
  snprintf(name, sizeof name, "%s", value);
  char *hash = strrchr(name, '#');
  if (!hash)
    return;
  *hash = '\0';
  lease_edge *e = view_edge(lf, name);
  if (e)
    e->capacity = atoi(hash + 1);
}

static void lease_key(const argus_store_camera_source *c, char *key,
                      size_t cap);

static void on_camera_lease(void *user, const char *key, const char *holder) {
  lease_follow *lf = user;
  lease_edge *e = view_edge(lf, holder);
  if (e)
    e->cameras++;
  if (strcmp(holder, lf->holder) == 0)
    return;
  for (int i = 0; i < lf->n; i++) {
    char k[80];
    lease_key(&lf->srcs[i], k, sizeof k);
    if (strcmp(k, key) == 0)
      lf->held_by[i] = 1;
  }
}

/* Whether this edge should take one more camera: it has room, and after
 * taking it its load (cameras / capacity) would be no higher than any
 * other registered edge's after taking one (ties: the smaller name), so
 * that free cameras go to the least loaded edge by capacity. */
static int lease_least_loaded(const lease_follow *lf) {
  if (lf->running >= lf->capacity)
    return 0;
  double mine = (double)(lf->running + 1) / lf->capacity;
  for (int i = 0; i < lf->nview; i++) {
    const lease_edge *e = &lf->view[i];
    if (e->capacity <= 0 || e->cameras >= e->capacity ||
        strcmp(e->name, lf->holder) == 0)
      continue;
    double theirs = (double)(e->cameras + 1) / e->capacity;
    if (theirs < mine || (theirs == mine && strcmp(e->name, lf->holder) < 0))
      return 0;
  }
  return 1;
}

/* Another registered edge that one of this edge's cameras should move to:
 * with it there, that edge's load would still be below this one's now. */
static const lease_edge *lease_unload_to(const lease_follow *lf) {
  if (lf->running < 1)
    return NULL;
  double mine = (double)lf->running / lf->capacity;
  const lease_edge *best = NULL;
  double best_load = 0;
  for (int i = 0; i < lf->nview; i++) {
    const lease_edge *e = &lf->view[i];
    if (e->capacity <= 0 || e->cameras >= e->capacity ||
        strcmp(e->name, lf->holder) == 0)
      continue;
    double after = (double)(e->cameras + 1) / e->capacity;
    if (after < mine && (!best || after < best_load)) {
      best = e;
      best_load = after;
    }
  }
  return best;
}

static void lease_key(const argus_store_camera_source *c, char *key,
                      size_t cap) {
  if (c->camera_id > 0) {
    snprintf(key, cap, "cam.%lld", (long long)c->camera_id);
    return;
  }
  uint32_t h = 2166136261u; /* FNV-1a of the name */
  for (const char *q = c->name; *q; q++)
    h = (h ^ (unsigned char)*q) * 16777619u;
  snprintf(key, cap, "url.%08x", h);
}

/* Stops camera i here (its lease is given back or lost). */
static void lease_stop(lease_follow *lf, policy_follow *pf, argus_pipeline *p,
                       int i) {
  policy_cam *pc = pf->cams ? &pf->cams[i] : NULL;
  if (pc && pc->index >= 0)
    argus_pipeline_remove_camera(p, pc->index);
  if (pc)
    pc->index = -1;
  lf->last_ok[i] = -1;
  lf->running--;
}

/* Renews this edge's registration and the leases of the cameras run here
 * (a camera whose lease is lost, or could not be renewed for a whole time
 * to live, stops at once), then claims free cameras while this edge is the
 * least loaded by capacity, or gives one camera back when another edge has
 * clearly more room (it then takes it). release_all: gives back every
 * lease held (at the end). */
static void lease_tick(lease_follow *lf, policy_follow *pf, argus_pipeline *p,
                       double now, int release_all) {
  if (!lf->l || (!release_all && now < lf->next))
    return;
  lf->next = now + lf->ttl / 3;
  if (release_all && lf->reg)
    argus_bus_lease_release(lf->reg, lf->reg_key);
  /* What the tables show: the registered edges and who runs what. A table
   * that cannot be read leaves the view empty: cameras are then claimed
   * first come, first served, up to the capacity. */
  lf->nview = 0;
  memset(lf->held_by, 0, (size_t)lf->n);
  if (!release_all && lf->reg) {
    int held = 0;
    argus_bus_lease_take(lf->reg, lf->reg_key, &held, NULL, 0);
    if (argus_bus_leases_list(lf->reg, on_edge_lease, lf) != ARGUS_OK ||
        argus_bus_leases_list(lf->l, on_camera_lease, lf) != ARGUS_OK) {
      lf->nview = 0;
      memset(lf->held_by, 0, (size_t)lf->n);
    }
  }
  for (int i = 0; i < lf->n; i++) {
    const argus_store_camera_source *c = &lf->srcs[i];
    char key[80];
    lease_key(c, key, sizeof key);
    int running = lf->last_ok[i] >= 0;
    if (!running)
      continue;
    if (release_all) {
      argus_bus_lease_release(lf->l, key);
      continue;
    }
    int held = 0;
    char other[ARGUS_BUS_ID_MAX + 1] = "";
    argus_err e = argus_bus_lease_take(lf->l, key, &held, other, sizeof other);
    if (e == ARGUS_OK && held) {
      lf->last_ok[i] = now;
      continue;
    }
    /* Lost to another edge, or not renewable for a whole lease: another
     * edge may take it now, so it stops here first. */
    if (e == ARGUS_OK || now - lf->last_ok[i] >= lf->ttl) {
      lease_stop(lf, pf, p, i);
      char t[16];
      clock_text(0, t);
      fprintf(stderr, "[%s] camera '%s': lease %s%s; stopped here\n", t,
              c->name,
              e == ARGUS_OK ? "taken by "
                            : "not renewed for a "
                              "whole lease (bus "
                              "unreachable)",
              e == ARGUS_OK ? other : "");
    }
  }
  if (release_all)
    return;
  /* Free cameras, while this edge is the least loaded one. */
  lease_edge *me = view_edge(lf, lf->holder);
  if (me)
    me->cameras = lf->running;
  for (int i = 0; i < lf->n; i++) {
    const argus_store_camera_source *c = &lf->srcs[i];
    policy_cam *pc = pf->cams ? &pf->cams[i] : NULL;
    if (lf->last_ok[i] >= 0 || lf->held_by[i] || !lease_least_loaded(lf))
      continue;
    char key[80];
    lease_key(c, key, sizeof key);
    int held = 0;
    if (argus_bus_lease_take(lf->l, key, &held, NULL, 0) != ARGUS_OK || !held)
      continue;
    /* Claimed: run it with its latest stored settings (its policy). */
    argus_edge_camera_opts co = {c->name, c->url, c->fps, c->rtsp_udp,
                                 pc ? pc->settings : c->settings};
    int index = -1;
    argus_pipeline_error perr = {{0}};
    if (argus_pipeline_add_camera_opts(p, &co, &index, &perr) != ARGUS_OK) {
      fprintf(stderr, "argus: camera '%s': %s; lease given back\n", c->name,
              perr.msg);
      argus_bus_lease_release(lf->l, key);
      continue;
    }
    if (pc)
      pc->index = index;
    lf->last_ok[i] = now;
    lf->running++;
    if (me)
      me->cameras = lf->running;
    char t[16];
    clock_text(0, t);
    fprintf(stderr, "[%s] camera '%s': lease %s taken; analysed here\n", t,
            c->name, key);
  }
  /* One camera at a time to an edge with clearly more room (a new edge, or
   * one with a larger capacity): given back here, it takes it at its next
   * look, as the least loaded edge. */
  /* Not while a camera is free: the edge it went to has not taken it yet,
   * and this edge's view of the loads is behind. */
  for (int i = 0; i < lf->n; i++)
    if (lf->last_ok[i] < 0 && !lf->held_by[i])
      return;
  const lease_edge *to = lease_unload_to(lf);
  if (!to)
    return;
  for (int i = lf->n - 1; i >= 0; i--) {
    if (lf->last_ok[i] < 0)
      continue;
    char key[80];
    lease_key(&lf->srcs[i], key, sizeof key);
    lease_stop(lf, pf, p, i);
    argus_bus_lease_release(lf->l, key);
    char t[16];
    clock_text(0, t);
    fprintf(stderr,
            "[%s] camera '%s': lease given back for edge %s (%d of %d "
            "cameras there; %d of %d here now)\n",
            t, lf->srcs[i].name, to->name, to->cameras, to->capacity,
            lf->running, lf->capacity);
    break;
  }
}

static int watch_loop(const char *cmd, const watch_opts *o, argus_pipeline *p,
                      double interval, int rc, argus_pipeline_camera_stats *cs,
                      cam_seen *seen, int ncams, policy_follow *pf,
                      lease_follow *lf) {

  argus_pipeline_stats st;
  int ncs = 0;
  argus_interrupt_install();
  double t0 = now_s(), next_status = t0 + interval, next_look = t0;
  int ended = 0;
  cli_purge_timer purge;
  cli_purge_timer_init(&purge, o->db,
                       o->purge_every == 0  ? 3600
                       : o->purge_every < 0 ? 0
                                            : o->purge_every);
  const double anchor_every = o->anchor_every == 0  ? 3600
                              : o->anchor_every < 0 ? 0
                                                    : o->anchor_every;
  cli_audit_anchor_log(o->db);
  double next_anchor = anchor_every > 0 ? t0 + anchor_every : INFINITY;
  while (!argus_interrupted()) {
    cli_purge_timer_tick(&purge);
    if (now_s() >= next_anchor) {
      cli_audit_anchor_log(o->db);
      next_anchor = now_s() + anchor_every;
    }
    struct timespec ts = {0, 50000000};
    nanosleep(&ts, NULL);
    double t = now_s();
    if (o->duration > 0 && t - t0 >= o->duration)
      break;
    policy_follow_tick(pf, p, t, 0);
    lease_tick(lf, pf, p, t, 0);
    /* Files that finished, sources that failed for good: with --loop too
     * (files do not end then, but a source that cannot be opened does). */
    int all_ended =
        !lf->l &&
        (o->role == ARGUS_PIPELINE_ALL || o->role == ARGUS_PIPELINE_EDGE) &&
        argus_pipeline_all_ended(p);
    int status_due = !o->quiet_status && t >= next_status;
    if (t >= next_look || status_due || all_ended) {
      argus_pipeline_get_stats(p, &st, cs, ncams, &ncs);
      print_state_changes(cs, ncs < ncams ? ncs : ncams, seen);
      next_look = t + 0.2;
    }
    if (status_due) {
      print_status(o->role, &st, cs, ncs, ncams, 0);
      next_status = t + interval;
    }
    if (all_ended) {
      ended = 1;
      break;
    }
  }
  /* Finish what is in flight: the last frames, tracks' best shots, alerts
   * being stored. Live cameras never end; a short grace then. */
  argus_err e = argus_pipeline_drain(p, ended ? 120 : 2);
  if (e && ended)
    fprintf(stderr, "argus: %s: still busy after 120 s; stopping\n", cmd);
  /* Alerts still waiting for the database: a bounded last try. */
  argus_pipeline_flush_alerts(p, NULL);
  int interrupted = argus_interrupted();
  argus_interrupt_restore();
  argus_pipeline_get_stats(p, &st, cs, ncams, &ncs);
  if (ncs > ncams)
    ncs = ncams;
  print_state_changes(cs, ncs, seen);
  if (!o->quiet_status) {
    print_status(o->role, &st, cs, ncs, ncams, 1);
    if (o->role == ARGUS_PIPELINE_MATCH)
      fprintf(stderr,
              "argus: %s after %.1f s: %llu faces searched, %llu alerts "
              "raised\n",
              interrupted ? "interrupted" : "done", now_s() - t0,
              (unsigned long long)st.faces_searched,
              (unsigned long long)st.alerts);
    else if (o->role == ARGUS_PIPELINE_SINK)
      fprintf(stderr,
              "argus: %s after %.1f s: %llu alerts stored, %llu not stored "
              "(another matcher's alert of the person on the camera within "
              "the cooldown)\n",
              interrupted ? "interrupted" : "done", now_s() - t0,
              (unsigned long long)st.alerts_stored,
              (unsigned long long)st.alerts_cooled);
    else
      fprintf(
          stderr,
          "argus: %s after %.1f s: %llu alerts (%llu stored), %llu faces "
          "searched, %llu frames analysed\n",
          interrupted ? "interrupted" : "done", now_s() - t0,
          (unsigned long long)st.alerts, (unsigned long long)st.alerts_stored,
          (unsigned long long)st.shots, (unsigned long long)st.frames_analysed);
  }
  /* Errors of cameras: reported; the exit status fails only when no camera
   * worked at all (each failed for good, or never connected). */
  int failed = 0;
  for (int i = 0; i < ncs; i++) {
    const argus_video_stats *v = &cs[i].video;
    if (v->state == ARGUS_VIDEO_FAILED) {
      failed++;
      fprintf(stderr, "argus: %s: camera '%s' failed: %s\n", cmd, v->name,
              v->last_error[0] ? v->last_error : "(no reason given)");
    } else if (v->connects == 0 && v->last_error[0]) {
      failed++;
      fprintf(stderr,
              "argus: %s: camera '%s' never connected (%d failed attempt%s): "
              "%s\n",
              cmd, v->name, v->failed_attempts,
              v->failed_attempts == 1 ? "" : "s", v->last_error);
    }
  }
  if (ncs > 0 && failed == ncs) {
    fprintf(stderr, "argus: %s: %s failed; nothing was watched\n", cmd,
            ncs == 1 ? "the camera" : "every camera");
    rc = CLI_FAIL;
  }
  if (st.store_errors)
    fprintf(stderr, "argus: %s: %llu alerts could not be stored (see above)\n",
            cmd, (unsigned long long)st.store_errors);
  if (st.alerts_delayed)
    fprintf(stderr,
            "argus: %s: %llu alerts waited in the spool for the database, "
            "then were stored\n",
            cmd, (unsigned long long)st.alerts_delayed);
  if (st.alerts_lost) {
    fprintf(stderr,
            "argus: %s: %llu alerts lost: never stored (the spool was full, "
            "or the database did not take them in time; see above)\n",
            cmd, (unsigned long long)st.alerts_lost);
    rc = CLI_FAIL;
  }
  return rc;
}

int watch_run(const char *cmd, const watch_opts *o, unsigned long *nalerts) {
  if (nalerts)
    *nalerts = 0;
  argus_store_camera_source *srcs = NULL;
  size_t nsrc = 0;
  int has_edge =
      o->role == ARGUS_PIPELINE_ALL || o->role == ARGUS_PIPELINE_EDGE;
  if (o->role != ARGUS_PIPELINE_ALL && !o->bus) {
    cli_errorf(cmd,
               "--role %s needs --bus nats://HOST:PORT (the other roles "
               "run in other processes)",
               argus_pipeline_role_name(o->role));
    return CLI_USAGE;
  }
  if (o->leases && (o->role != ARGUS_PIPELINE_EDGE || o->ncameras > 0)) {
    cli_errorf(cmd, "--leases is for 'argus edge' on the stored cameras (no "
                    "camera named)");
    return CLI_USAGE;
  }
  if (!has_edge && o->ncameras > 0) {
    cli_errorf(cmd, "the %s role runs no cameras (give them to 'argus edge')",
               argus_pipeline_role_name(o->role));
    return CLI_USAGE;
  }
  int rc = has_edge ? resolve_cameras(cmd, o, &srcs, &nsrc) : CLI_OK;
  if (rc != CLI_OK)
    return rc;

  argus_pipeline_config cfg;
  argus_pipeline_config_init(&cfg);
  cfg.watchlists = o->nwatchlists ? o->watchlists : NULL;
  cfg.nwatchlists = o->nwatchlists;
  cfg.threads = o->threads;
  if (o->fps > 0)
    cfg.fps = o->fps;
  cfg.realtime = o->realtime;
  cfg.loop = o->loop;
  cfg.keep_unmatched = o->keep_unmatched;
  cfg.cooldown = o->cooldown;
  cfg.fusion_margin = (float)o->fusion;
  cfg.score_norm = o->score_norm;
  cfg.fuse = o->fuse;
  if (o->detect_size > 0)
    cfg.detect_size = o->detect_size;
  if (o->motion >= 0)
    cfg.motion = o->motion;
  if (o->motion_threshold > 0)
    cfg.motion_threshold = o->motion_threshold;
  if (o->motion_refresh > 0)
    cfg.motion_refresh = o->motion_refresh;
  if (o->decode >= 0)
    cfg.decode = o->decode;
  double interval = o->status_interval > 0 ? o->status_interval : 5;
  cfg.status_interval = interval < 1 ? interval : 1;
  /* A file played as fast as it decodes must not lose frames to the
   * analysis: a deeper ring (the decoder still never waits). */
  if (!o->realtime)
    cfg.queue_frames = 32;
  /* The hub and the edge are sized for the cameras (no fixed 64). */
  if (nsrc > WATCH_MAX_CAMERAS) {
    cli_errorf(cmd, "%zu cameras: at most %d can be watched at once", nsrc,
               WATCH_MAX_CAMERAS);
    argus_store_free(srcs);
    return CLI_USAGE;
  }
  if (nsrc > ARGUS_PIPELINE_MAX_CAMERAS)
    cfg.max_cameras = (int)nsrc;
  argus_pipeline_camera_stats *cs = calloc(nsrc, sizeof *cs);
  cam_seen *seen = calloc(nsrc, sizeof *seen);
  if (!cs || !seen) {
    cli_errorf(cmd, "out of memory (%zu cameras)", nsrc);
    free(cs);
    free(seen);
    argus_store_free(srcs);
    return CLI_FAIL;
  }

  /* The parts, then the stages on them, then the printer: a sink of the
   * stored alerts. */
  argus_pipeline_parts parts;
  argus_pipeline *p = NULL;
  argus_pipeline_error perr = {{0}};
  char actor[STORE_CLI_ACTOR_MAX];
  store_cli_actor(actor, sizeof actor);
  cfg.role = o->role;
  argus_pipeline_parts_options po;
  memset(&po, 0, sizeof po);
  po.models_dir = o->models;
  po.allow_unverified = o->allow_unverified;
  po.db_path = o->db;
  po.actor = actor;
  po.index_kind = (argus_index_kind)o->index_kind;
  po.search_threads = o->search_threads;
  /* A sink needs neither models nor the gallery; an edge no gallery. */
  po.skip_engine = o->role == ARGUS_PIPELINE_SINK;
  po.skip_gallery =
      o->role == ARGUS_PIPELINE_SINK || o->role == ARGUS_PIPELINE_EDGE;
  argus_err e = argus_pipeline_parts_open_with(&po, &parts, &perr);
  if (e == ARGUS_OK && o->bus) {
    /* The stages talk over the shared bus instead of the in-process one. */
    argus_bus *shared = NULL;
    argus_error_detail be = {{0}};
    e = edge_default_spool(o, &shared, &be)
            ? ARGUS_OK
            : argus_bus_open(o->bus, NULL, &shared, &be);
    if (e == ARGUS_OK) {
      argus_bus_close(parts.bus);
      parts.bus = shared;
      argus_log(ARGUS_LOG_INFO, "watch", "role %s on the bus %s",
                argus_pipeline_role_name(o->role), o->bus);
    } else {
      snprintf(perr.msg, sizeof perr.msg, "--bus %s: %s", o->bus, be.msg);
    }
  }
  if (e == ARGUS_OK)
    e = argus_pipeline_create(&cfg, &parts, &p, &perr);
  if (e) {
    cli_errorf(cmd, "%s (%s)", perr.msg[0] ? perr.msg : argus_strerror(e),
               argus_errname(e));
    argus_pipeline_parts_close(&parts);
    argus_store_free(srcs);
    free(cs);
    free(seen);
    return CLI_FAIL;
  }
  printer pr;
  memset(&pr, 0, sizeof pr);
  pthread_mutex_init(&pr.mu, NULL);
  pr.json = o->json;
  pr.store = parts.store;
  argus_bus_sub *sub = NULL;
  argus_bus_sub_options so;
  memset(&so, 0, sizeof so);
  so.pattern = ARGUS_EVENT_TOPIC_ALERT;
  so.handler = on_alert;
  so.user = &pr;
  so.queue_msgs = 1024;
  so.events = 1;
  e = argus_bus_subscribe(parts.bus, &so, &sub, NULL);
  argus_bus_sub *sup = NULL;
  if (e == ARGUS_OK && o->suppressed) {
    so.pattern = ARGUS_EVENT_TOPIC_ALERT_SUPPRESSED;
    so.handler = on_suppressed;
    e = argus_bus_subscribe(parts.bus, &so, &sup, NULL);
  }
  if (e) {
    argus_bus_unsubscribe(sub);
    cli_errorf(cmd, "cannot subscribe to alerts (%s)", argus_errname(e));
    argus_pipeline_destroy(p);
    argus_pipeline_parts_close(&parts);
    argus_store_free(srcs);
    free(cs);
    free(seen);
    return CLI_FAIL;
  }
  policy_follow pf;
  memset(&pf, 0, sizeof pf);
  pf.cams = calloc(nsrc, sizeof *pf.cams);
  lease_follow lf;
  memset(&lf, 0, sizeof lf);
  if (o->leases) {
    lf.srcs = srcs;
    lf.n = (int)nsrc;
    lf.capacity = o->capacity > 0 ? o->capacity : (int)nsrc;
    lf.ttl = o->lease_ttl > 0 ? o->lease_ttl : 10;
    lf.last_ok = malloc((nsrc ? nsrc : 1) * sizeof *lf.last_ok);
    lf.held_by = calloc(nsrc ? nsrc : 1, 1);
    char host[64] = "edge", holder[ARGUS_BUS_ID_MAX + 1];
    gethostname(host, sizeof host - 1);
    for (char *q = host; *q; q++)
      if (*q <= ' ' || *q == '"' || *q == '\\')
        *q = '_';
    snprintf(holder, sizeof holder, "%.40s-%ld", host, (long)getpid());
    argus_error_detail le = {{0}};
    char reg_value[ARGUS_BUS_ID_MAX + 1];
    snprintf(lf.holder, sizeof lf.holder, "%s", holder);
    snprintf(reg_value, sizeof reg_value, "%s#%d", holder, lf.capacity);
    /* The registration's key: the holder with what a key cannot hold
     * replaced. */
    snprintf(lf.reg_key, sizeof lf.reg_key, "%s", holder);
    for (char *q = lf.reg_key; *q; q++)
      if (!isalnum((unsigned char)*q) && *q != '-' && *q != '_')
        *q = '_';
    if (!lf.last_ok || !lf.held_by || !pf.cams ||
        argus_bus_leases_open(parts.bus, "cameras", lf.ttl, holder, &lf.l,
                              &le) != ARGUS_OK ||
        argus_bus_leases_open(parts.bus, "edges", lf.ttl, reg_value, &lf.reg,
                              &le) != ARGUS_OK) {
      cli_errorf(cmd, "--leases: %s", le.msg[0] ? le.msg : "out of memory");
      rc = CLI_FAIL;
      goto done;
    }
    for (size_t i = 0; i < nsrc; i++)
      lf.last_ok[i] = -1;
    fprintf(stderr,
            "argus: edge %s: claiming up to %d of %zu stored cameras "
            "through leases of %.0f s\n",
            holder, lf.capacity, nsrc, lf.ttl);
  }
  int f_stored = 0;
  for (size_t i = 0; i < nsrc; i++) {
    argus_edge_camera_opts co = {srcs[i].name, srcs[i].url, srcs[i].fps,
                                 srcs[i].rtsp_udp, srcs[i].settings};
    int index = -1;
    e = o->leases ? ARGUS_OK
                  : argus_pipeline_add_camera_opts(p, &co, &index, &perr);

    if (e) {
      cli_errorf(cmd, "camera '%s': %s", srcs[i].name, perr.msg);
      rc = CLI_FAIL;
      goto done;
    }
    if (pf.cams) {
      policy_cam *pc = &pf.cams[pf.n++];
      pc->id = srcs[i].camera_id;
      pc->index = index;
      snprintf(pc->name, sizeof pc->name, "%s", srcs[i].name);
      snprintf(pc->settings, sizeof pc->settings, "%s", srcs[i].settings);
      if (pc->id)
        f_stored = 1;
    }
  }
  /* Stored cameras: their policy is followed, on a read-only handle of
   * the database (the pipeline's own stays with its stages). */
  if (f_stored && store_cli_open_existing(cmd, o->db, &pf.store) != CLI_OK)
    pf.store = NULL; /* said why; the policies stay as they started */
  pf.next = now_s() + POLICY_POLL_S;
  argus_pipeline_stats st;
  argus_pipeline_get_stats(p, &st, NULL, 0, NULL);
  if (!o->quiet_status && o->role == ARGUS_PIPELINE_MATCH)
    fprintf(stderr,
            "argus: matching the face events of %s against %d persons (%d "
            "templates) in %d watchlist%s\n",
            o->bus, st.persons, st.templates, st.watchlists,
            st.watchlists == 1 ? "" : "s");
  else if (!o->quiet_status && o->role == ARGUS_PIPELINE_SINK)
    fprintf(stderr, "argus: storing the alerts raised on %s\n", o->bus);
  else if (!o->quiet_status)
    fprintf(stderr,
            "argus: watching %d camera%s with %d analysis threads; %d "
            "persons (%d templates) in %d watchlist%s%s\n",
            (int)nsrc, nsrc == 1 ? "" : "s", st.workers, st.persons,
            st.templates, st.watchlists, st.watchlists == 1 ? "" : "s",
            st.templates == 0 ? " -- nothing to match: enrol persons with "
                                "'argus person add'"
                              : "");

  rc = watch_loop(cmd, o, p, interval, rc, cs, seen, (int)nsrc, &pf, &lf);
  lease_tick(&lf, &pf, p, now_s(), 1); /* given back: others take over now */
done:
  argus_bus_leases_close(lf.reg);
  argus_bus_leases_close(lf.l);
  free(lf.last_ok);
  free(lf.held_by);
  if (pf.store)
    argus_store_close(pf.store);
  free(pf.cams);
  /* The stages first (the last alerts reach the printer), then it. */
  argus_pipeline_destroy(p);
  argus_bus_flush(parts.bus, 10);
  argus_bus_unsubscribe(sub);
  argus_bus_unsubscribe(sup);
  argus_pipeline_parts_close(&parts);
  argus_store_free(srcs);
  free(cs);
  free(seen);
  if (nalerts)
    *nalerts = pr.alerts;
  pthread_mutex_destroy(&pr.mu);
  return rc;
}

/* ---- the command -----------------------------------------------------------
 */

enum {
  OPT_WATCHLIST = STORE_OPT_NEXT,
  OPT_MODELS,
  OPT_THREADS,
  OPT_FPS,
  OPT_REALTIME,
  OPT_LOOP,
  OPT_KEEP,
  OPT_PURGE_EVERY,
  OPT_AUDIT_ANCHOR,
  OPT_DURATION,
  OPT_STATUS,
  OPT_QUIET,
  OPT_COOLDOWN,
  OPT_FUSION,
  OPT_NORM,
  OPT_FUSE,
  OPT_SUPPRESSED,
  OPT_SIZE,
  OPT_MOTION,
  OPT_MOTION_THRESHOLD,
  OPT_MOTION_REFRESH,
  OPT_DECODE,
  OPT_UNVERIFIED,
  OPT_PLUGIN,
  OPT_DETECTOR,
  OPT_EMBEDDER,
  OPT_BUS,
  OPT_ROLE,
  OPT_LEASES,
  OPT_CAPACITY,
  OPT_LEASE_TTL,
  OPT_INDEX,
  OPT_SEARCH_THREADS,
};

static int parse_seconds(const char *cmd, const char *what, const char *s,
                         double lo, double hi, double *out) {
  char *end = NULL;
  errno = 0;
  double v = strtod(s, &end);
  if (end == s || *end || errno || !(v >= lo && v <= hi)) {
    cli_errorf(cmd, "%s: '%s' is not a number in [%g, %g]", what, s, lo, hi);
    return -1;
  }
  *out = v;
  return 0;
}

/* Parses the options into *o, the cameras into cams (room for argc).
 * Returns CLI_OPT_END to run, else the exit code (help printed, bad value
 * reported). */
static int cli_watch_parse(int argc, char **argv, const char *cmd,
                           watch_opts *out, const char **cams) {
  static const cli_opt opts[] = {STORE_CLI_DB_OPT,
                                 {"json", 0, STORE_OPT_JSON},
                                 {"watchlist", 1, OPT_WATCHLIST},
                                 {"models", 1, OPT_MODELS},
                                 {"threads", 1, OPT_THREADS},
                                 {"fps", 1, OPT_FPS},
                                 {"realtime", 0, OPT_REALTIME},
                                 {"loop", 0, OPT_LOOP},
                                 {"keep-unmatched", 1, OPT_KEEP},
                                 {"purge-every", 1, OPT_PURGE_EVERY},
                                 {"audit-anchor", 1, OPT_AUDIT_ANCHOR},
                                 {"duration", 1, OPT_DURATION},
                                 {"status-interval", 1, OPT_STATUS},
                                 {"quiet-status", 0, OPT_QUIET},
                                 {"cooldown", 1, OPT_COOLDOWN},
                                 {"fusion", 1, OPT_FUSION},
                                 {"suppressed", 0, OPT_SUPPRESSED},
                                 {"score-norm", 1, OPT_NORM},
                                 {"fuse", 1, OPT_FUSE},
                                 {"size", 1, OPT_SIZE},
                                 {"motion", 1, OPT_MOTION},
                                 {"motion-threshold", 1, OPT_MOTION_THRESHOLD},
                                 {"motion-refresh", 1, OPT_MOTION_REFRESH},
                                 {"decode", 1, OPT_DECODE},
                                 {"allow-unverified", 0, OPT_UNVERIFIED},
                                 {"plugin", 1, OPT_PLUGIN},
                                 {"detector", 1, OPT_DETECTOR},
                                 {"embedder", 1, OPT_EMBEDDER},
                                 {"bus", 1, OPT_BUS},
                                 {"role", 1, OPT_ROLE},
                                 {"leases", 0, OPT_LEASES},
                                 {"capacity", 1, OPT_CAPACITY},
                                 {"lease-ttl", 1, OPT_LEASE_TTL},
                                 {"index", 1, OPT_INDEX},
                                 {"search-threads", 1, OPT_SEARCH_THREADS},
                                 {NULL, 0, 0}};
  watch_opts o = *out;
  o.cameras = cams;
  cli_parser p;
  cli_parser_init(&p, argc, argv, cmd, opts);
  for (;;) {
    int id = cli_parse_next(&p);
    if (id == CLI_OPT_END)
      break;
    switch (id) {
    case CLI_OPT_HELP:
      cli_watch_usage(stdout);
      return CLI_OK;
    case CLI_OPT_ERROR:
      return cli_bad_value(cmd);
    case STORE_OPT_DB:
      o.db = p.arg;
      break;
    case STORE_OPT_JSON:
      o.json = 1;
      break;
    case OPT_WATCHLIST:
      if (o.nwatchlists == ARGUS_PIPELINE_MAX_WATCHLISTS) {
        cli_errorf(cmd, "at most %d watchlists", ARGUS_PIPELINE_MAX_WATCHLISTS);
        return cli_bad_value(cmd);
      }
      o.watchlists[o.nwatchlists++] = p.arg;
      break;
    case OPT_MODELS:
      o.models = p.arg;
      break;
    case OPT_THREADS:
      if (cli_parse_int(p.arg, 1, ARGUS_PIPELINE_MAX_THREADS, "--threads",
                        &o.threads))
        return cli_bad_value(cmd);
      break;
    case OPT_FPS:
      if (parse_seconds(cmd, "--fps", p.arg, 0.01, 1000, &o.fps))
        return cli_bad_value(cmd);
      break;
    case OPT_REALTIME:
      o.realtime = 1;
      break;
    case OPT_LOOP:
      o.loop = 1;
      break;
    case OPT_KEEP:
      if (parse_seconds(cmd, "--keep-unmatched", p.arg, 1, 3.15e8,
                        &o.keep_unmatched))
        return cli_bad_value(cmd);
      break;
    case OPT_PURGE_EVERY:
      if (parse_seconds(cmd, "--purge-every", p.arg, 0, 366 * 86400.0,
                        &o.purge_every))
        return cli_bad_value(cmd);
      if (o.purge_every == 0)
        o.purge_every = -1;
      break;
    case OPT_AUDIT_ANCHOR:
      if (parse_seconds(cmd, "--audit-anchor", p.arg, 0, 366 * 86400.0,
                        &o.anchor_every))
        return cli_bad_value(cmd);
      if (o.anchor_every == 0)
        o.anchor_every = -1;
      break;
    case OPT_DURATION:
      if (parse_seconds(cmd, "--duration", p.arg, 0.1, 1e9, &o.duration))
        return cli_bad_value(cmd);
      break;
    case OPT_STATUS:
      if (parse_seconds(cmd, "--status-interval", p.arg, 0.1, 3600,
                        &o.status_interval))
        return cli_bad_value(cmd);
      break;
    case OPT_QUIET:
      o.quiet_status = 1;
      break;
    case OPT_COOLDOWN:
      if (parse_seconds(cmd, "--cooldown", p.arg, 0, 86400, &o.cooldown))
        return cli_bad_value(cmd);
      break;
    case OPT_NORM:
      if (gallery_cli_norm(cmd, p.arg, &o.score_norm))
        return cli_bad_value(cmd);
      break;
    case OPT_FUSE:
      if (gallery_cli_fuse(cmd, p.arg, &o.fuse))
        return cli_bad_value(cmd);
      break;
    case OPT_SUPPRESSED:
      o.suppressed = 1;
      break;
    case OPT_FUSION:
      if (parse_seconds(cmd, "--fusion", p.arg, 0, 0.5, &o.fusion))
        return cli_bad_value(cmd);
      break;
    case OPT_SIZE:
      /* the detector's network side is at most 4096 (as `argus detect
       * --size`): refuse more here rather than on every frame */
      if (cli_parse_int(p.arg, 32, 4096, "--size", &o.detect_size))
        return cli_bad_value(cmd);
      break;
    case OPT_MOTION:
      if (strcmp(p.arg, "on") == 0) {
        o.motion = 1;
      } else if (strcmp(p.arg, "off") == 0) {
        o.motion = 0;
      } else {
        cli_errorf(cmd, "--motion: '%s' is neither on nor off", p.arg);
        return cli_bad_value(cmd);
      }
      break;
    case OPT_MOTION_THRESHOLD:
      if (cli_parse_int(p.arg, 1, 255, "--motion-threshold",
                        &o.motion_threshold))
        return cli_bad_value(cmd);
      break;
    case OPT_MOTION_REFRESH:
      if (parse_seconds(cmd, "--motion-refresh", p.arg, 0.01, 3600,
                        &o.motion_refresh))
        return cli_bad_value(cmd);
      break;
    case OPT_DECODE: {
      int d = -1;
      for (int k = 0; k < 8 && d < 0; k++)
        if (argus_video_decode_name(k) &&
            !strcmp(argus_video_decode_name(k), p.arg))
          d = k;
      if (d < 0) {
        cli_errorf(cmd, "--decode: '%s' is not full, fast or nofilter", p.arg);
        return cli_bad_value(cmd);
      }
      o.decode = d;
      break;
    }
    case OPT_UNVERIFIED:
      o.allow_unverified = 1;
      break;
    case OPT_PLUGIN:
      /* The pipeline's engine reads it (argus_face_engine_opts.plugin). */
      if (setenv("ARGUS_PLUGIN", p.arg, 1) != 0) {
        cli_errorf(cmd, "--plugin: cannot set ARGUS_PLUGIN");
        return cli_bad_value(cmd);
      }
      break;
    case OPT_DETECTOR:
    case OPT_EMBEDDER: {
      /* The pipeline's engine reads them (argus_face_engine_create). */
      const char *var =
          id == OPT_DETECTOR ? "ARGUS_DETECTOR" : "ARGUS_EMBEDDER";
      if (!p.arg[0] || setenv(var, p.arg, 1) != 0) {
        cli_errorf(cmd, "--%s: cannot set %s to '%s'",
                   id == OPT_DETECTOR ? "detector" : "embedder", var, p.arg);
        return cli_bad_value(cmd);
      }
      break;
    }
    case OPT_BUS:
      o.bus = p.arg;
      break;
    case OPT_LEASES:
      o.leases = 1;
      break;
    case OPT_CAPACITY:
      if (cli_parse_int(p.arg, 1, WATCH_MAX_CAMERAS, "--capacity", &o.capacity))
        return cli_bad_value(cmd);
      break;
    case OPT_LEASE_TTL:
      if (parse_seconds(cmd, "--lease-ttl", p.arg, 1, 3600, &o.lease_ttl))
        return cli_bad_value(cmd);
      break;
    case OPT_ROLE:
      o.role = argus_pipeline_role_parse(p.arg);
      if (o.role < 0) {
        cli_errorf(cmd, "--role: '%s' is not all, edge, match or sink", p.arg);
        return cli_bad_value(cmd);
      }
      break;
    case OPT_INDEX: {
      int k = -1;
      for (int i = ARGUS_INDEX_AUTO; i <= ARGUS_INDEX_APPROX; i++)
        if (strcmp(p.arg, argus_index_kind_name((argus_index_kind)i)) == 0)
          k = i;
      if (k < 0) {
        cli_errorf(cmd, "--index: '%s' is not auto, f32, f16, i8 or approx",
                   p.arg);
        return cli_bad_value(cmd);
      }
      o.index_kind = k;
      break;
    }
    case OPT_SEARCH_THREADS:
      if (cli_parse_int(p.arg, 1, 64, "--search-threads", &o.search_threads))
        return cli_bad_value(cmd);
      break;
    case CLI_OPT_POSITIONAL:
      if (o.ncameras == WATCH_MAX_CAMERAS) {
        cli_errorf(cmd, "at most %d cameras", WATCH_MAX_CAMERAS);
        return cli_bad_value(cmd);
      }
      cams[o.ncameras++] = p.arg;
      break;
    }
  }
  *out = o;
  return CLI_OPT_END;
}

static int watch_main_as(int argc, char **argv, const char *cmd, int role) {
  watch_opts o;
  watch_opts_init(&o);
  o.role = role;
  /* Cameras named on the command line: at most one per argument. */
  const char **cams = calloc((size_t)(argc > 0 ? argc : 1), sizeof *cams);
  if (!cams) {
    cli_errorf(cmd, "out of memory");
    return CLI_FAIL;
  }
  int rc = cli_watch_parse(argc, argv, cmd, &o, cams);
  if (rc == CLI_OPT_END)
    rc = watch_run(cmd, &o, NULL);
  free(cams);
  return rc;
}

int cli_watch_main(int argc, char **argv) {
  return watch_main_as(argc, argv, "watch", ARGUS_PIPELINE_ALL);
}

/* The split roles (docs/scale.md): argus watch with its --role set. */
int cli_edge_main(int argc, char **argv) {
  return watch_main_as(argc, argv, "edge", ARGUS_PIPELINE_EDGE);
}

int cli_match_main(int argc, char **argv) {
  return watch_main_as(argc, argv, "match", ARGUS_PIPELINE_MATCH);
}

int cli_sink_main(int argc, char **argv) {
  return watch_main_as(argc, argv, "sink", ARGUS_PIPELINE_SINK);
}

void cli_role_usage(FILE *f) {
  // clang-format off
  fputs("Usage: argus edge  --bus nats://HOST:PORT [CAMERA|URL]... [watch options]\n"
        "       argus match --bus nats://HOST:PORT [--watchlist W]... [watch options]\n"
        "       argus sink  --bus nats://HOST:PORT [watch options]\n"
        "\n"
        "The live pipeline split into roles that run in separate processes or\n"
        "machines and talk over NATS JetStream (docs/scale.md); each is\n"
        "'argus watch --role R --bus URL':\n"
        "  edge   cameras -> decode -> detect -> track -> best shot -> embed;\n"
        "         publishes face events (stream ARGUS_FACES)\n"
        "  match  takes its share of the face events (every matcher of a\n"
        "         deployment shares one work queue), searches the watchlists of\n"
        "         its database and publishes the alerts raised (ARGUS_RESULTS);\n"
        "         follows enrolment changes (ARGUS_CHANGES)\n"
        "  sink   stores the raised alerts in its database, each once (keyed by\n"
        "         the event id), and publishes them as stored alerts\n"
        "A message is acknowledged only once its effect is done: a matcher or\n"
        "sink killed meanwhile leaves it to another (or to itself, restarted).\n"
        "See 'argus watch --help' for the other options.\n",
        f);
  // clang-format on
}
