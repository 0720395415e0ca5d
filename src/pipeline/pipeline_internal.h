/* Internal pieces of the composed pipeline: the store sink (sink.c), the
 * housekeeping thread (status.c), latency histograms (latency.c) and the
 * composition (pipeline.c).
 *
 * Threads: the edge's workers publish face events; the matcher handles them
 * on its bus subscription's thread; the sink stores raised alerts on its
 * own subscription's thread; the housekeeping thread publishes status,
 * flushes ended cameras, purges expired unmatched faces and follows the
 * store's change feed. The sink's store handle is used by the sink's thread
 * and the housekeeping thread, one at a time (store_mu). */
#ifndef ARGUS_PIPELINE_INTERNAL_H
#define ARGUS_PIPELINE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "argus/pipeline.h"
#include "edge/histogram.h"

#define PL_MOD "pipeline"

/* ---- latency histogram (latency.c) ---------------------------------------- */

#define PL_LAT_BINS 400 /* 1 ms .. ~5 min in 5 % steps, plus under/over */

typedef struct pl_latency {
  uint64_t bins[PL_LAT_BINS];
  uint64_t count;
  double sum, max;
} pl_latency;

void pl_latency_add(pl_latency *l, double seconds);
void pl_latency_summary(const pl_latency *l, argus_pipeline_latency *out);

/* ---- per-camera match counters ---------------------------------------------- */

/* What the matcher decided for a camera's faces (by camera name). */
typedef struct pl_camcount {
  char name[ARGUS_EVENT_NAME_MAX];
  uint64_t matches, alerts, suppressed;
} pl_camcount;

struct argus_pipeline {
  argus_pipeline_config cfg;
  argus_pipeline_parts parts;
  argus_edge *edge;
  argus_matcher *matcher;
  argus_bus_sub *sink_sub, *unmatched_sub;
  argus_bus_sub *sink_sub2; /* shared bus: alert.suppressed (sink_sub:
                               alert.raised) */

  /* counters of the matcher's decisions per camera, and latency */
  pthread_mutex_t mu;
  pl_camcount *camcounts;
  int ncamcounts, camcounts_cap;
  pl_latency lat_alert, lat_search;
  edge_hist hist_alert; /* capture -> alert published (no lock) */

  /* the sink: the bus handler puts raised alerts into the spool, the
   * writer thread stores them in order, retrying while the database is
   * busy or unavailable (sink.c) */
  struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;     /* to the writer: an alert, a stop, a flush */
    pthread_cond_t idle;   /* from the writer: an alert left the spool
                              (stored, refused for good or lost) */
    const argus_event **q; /* ring of cap, referenced events */
    int cap, head, n;
    int busy;                /* the writer is storing the head */
    uint64_t pushed, popped; /* alerts into and out of the spool so far */
    uint64_t delayed_mark;   /* alerts numbered below it (in push order)
                              waited behind a try the database refused */
    int stop;                /* the writer ends when the spool is empty */
    int detaching;           /* the sink is stopping: handlers stop waiting */
    uint64_t give_up_ns;     /* 0: retry while running; else a failure at or
                             after it makes the spooled alerts lost */
    pthread_t th;
    int started;
  } spool;
  _Atomic uint64_t alerts_delayed, alerts_lost;
  _Atomic uint64_t alerts_cooled; /* not stored: another matcher's cooldown */
  int shared_bus;                 /* parts.bus is not the in-process one */
  pthread_mutex_t store_mu;
  _Atomic uint64_t alerts_stored, store_errors, unmatched_stored,
      unmatched_purged, cpu_sink, cpu_house;
  argus_store_id feed_seq; /* change feed position (housekeeping) */
  int feed_ready;
  int follow_feed; /* a matcher runs here: the change feed is followed */

  /* housekeeping */
  pthread_t house;
  int house_started;
  atomic_int stop;
  pthread_mutex_t house_mu;
  pthread_cond_t house_cv;
  uint64_t t_start;
  /* interval means */
  uint64_t prev_ns_detect, prev_n_detect, prev_ns_track, prev_n_track,
      prev_ns_embed, prev_embedded, prev_batches;
  double detect_ms, track_ms, embed_ms, batch_mean;
};

/* sink.c */
argus_err pl_sink_start(argus_pipeline *p);
/* Unsubscribes, stores what is spooled (argus_pipeline_flush_alerts) and
 * ends the writer thread. */
void pl_sink_stop(argus_pipeline *p);
/* Waits until the spool is empty (1) or deadline_ns passes (0). */
int pl_sink_wait(argus_pipeline *p, uint64_t deadline_ns);
/* The spool's figures into the stats. */
void pl_sink_stats(argus_pipeline *p, argus_pipeline_stats *out);
void pl_sink_purge(argus_pipeline *p);
/* The change feed: publishes a watchlist.change event per change made since
 * the last call (by any process). */
void pl_feed_poll(argus_pipeline *p);

/* status.c */
void *pl_house_main(void *arg);
/* The matcher's observer: per-camera counters and search latency. */
void pl_observe(void *user, const argus_event *face,
                const struct argus_match_result *r);

#endif
