/*
 * `argus watch` and `argus demo`: the live pipeline on the command line. The
 * demo prepares a watchlist and a simulated camera and then runs the same
 * watch loop (watch_run).
 */
#ifndef ARGUS_CLI_WATCH_H
#define ARGUS_CLI_WATCH_H

#include <stdio.h>

#include "argus/pipeline.h"

int cli_watch_main(int argc, char **argv);
void cli_watch_usage(FILE *f);
int cli_demo_main(int argc, char **argv);
void cli_demo_usage(FILE *f);

/* Cameras watched at once: the video hub's limit. */
#define WATCH_MAX_CAMERAS ARGUS_VIDEO_MAX_CAMERAS

/* What the watch loop runs. Strings and arrays are borrowed. */
typedef struct watch_opts {
  const char *db;     /* NULL: the default database */
  const char *models; /* NULL: $ARGUS_MODELS or ./models */
  const char *watchlists[ARGUS_PIPELINE_MAX_WATCHLISTS];
  int nwatchlists;
  /* Cameras: stored names or URLs, cameras[0..ncameras); none: every
   * enabled stored camera. At most WATCH_MAX_CAMERAS in all. */
  const char *const *cameras;
  int ncameras;
  /* Labels for URL cameras, labels[0..ncameras) (NULL, or a NULL entry:
   * the URL with any password masked). */
  const char *const *labels;
  int json;
  int threads;
  double fps; /* 0: 5 */
  int realtime, loop;
  double keep_unmatched;
  double purge_every; /* retention purge period, seconds; 0: 3600; < 0:
                         only at start */
  double anchor_every; /* audit head logged at start and every so many
                          seconds (docs/lawful-use.md); 0: 3600; < 0: only
                          at start */
  double duration;        /* seconds; 0: until the files end or Ctrl-C */
  double status_interval; /* seconds; 0: 5 (2 for the demo) */
  int quiet_status;
  double cooldown; /* < 0: default */
  double fusion;   /* score fusion margin; 0: off */
  int score_norm;  /* argus_gallery_norm (default topn, as identify) */
  int fuse;        /* argus_gallery_fuse (default mean, as identify) */
  int suppressed;  /* also print the matches not alerted, and why */
  int detect_size; /* 0: default */
  int motion;      /* -1: default (on); 0 off; 1 on */
  int motion_threshold; /* 0: default */
  double motion_refresh; /* 0: default */
  int decode;            /* argus_video_decode; -1: default */
  int allow_unverified;
  int banner; /* print a line per alert in colour-free text framing */
  /* Split roles (docs/scale.md): the bus between the processes (NULL: in
   * process) and the stages run here (argus_pipeline_role). */
  const char *bus;
  int role;
  /* Edge role: the stored cameras are claimed through leases on the bus
   * (docs/scale.md), at most `capacity` at once (0: all), leases of
   * lease_ttl seconds (0: 10). */
  int leases;
  int capacity;
  double lease_ttl;
  /* Matcher search (match, all): the index kind (0: auto) and threads. */
  int index_kind, search_threads;
} watch_opts;

void watch_opts_init(watch_opts *o);
/* argus edge / argus match / argus sink: argus watch with --role. */
int cli_edge_main(int argc, char **argv);
int cli_match_main(int argc, char **argv);
int cli_sink_main(int argc, char **argv);
void cli_role_usage(FILE *f);
/* Runs the pipeline until the duration ends, every camera has ended (files
 * finished without --loop, sources failed on a permanent error) or
 * SIGINT/SIGTERM. Alerts go to stdout (JSON lines with o->json), status
 * lines and a line per camera state change to stderr. Returns a CLI exit
 * code (CLI_FAIL when no camera worked: each one's reason is printed);
 * *alerts (may be NULL) receives the number of alerts. */
int watch_run(const char *cmd, const watch_opts *o, unsigned long *alerts);

#endif
