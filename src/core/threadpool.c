/* A fixed pool of worker threads. parallel_for publishes one job at a time;
 * the caller and the workers take chunks from a shared atomic counter, so an
 * uneven chunk cost balances itself. Workers sleep on a condition variable
 * between jobs. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "argus/core.h"

struct argus_threadpool {
  int nthreads; /* including the caller */
  pthread_t *threads;
  pthread_mutex_t lock;
  pthread_cond_t wake, done;
  uint64_t generation;
  int stop;
  int busy; /* workers still on the current job */
  /* current job */
  argus_task_fn fn;
  void *ctx;
  size_t n, chunk, nchunks;
  atomic_size_t next;
};

typedef struct worker_arg {
  argus_threadpool *pool;
  int tid;
} worker_arg;

static void run_chunks(argus_threadpool *p, int tid) {
  for (;;) {
    size_t c = atomic_fetch_add_explicit(&p->next, 1, memory_order_relaxed);
    if (c >= p->nchunks)
      break;
    size_t b = c * p->chunk, e = b + p->chunk;
    if (e > p->n)
      e = p->n;
    p->fn(p->ctx, b, e, tid);
  }
}

static void *worker_main(void *arg) {
  worker_arg *wa = arg;
  argus_threadpool *p = wa->pool;
  int tid = wa->tid;
  free(wa);
  argus_cpu_set_ftz();
  uint64_t seen = 0;
  pthread_mutex_lock(&p->lock);
  for (;;) {
    while (!p->stop && p->generation == seen)
      pthread_cond_wait(&p->wake, &p->lock);
    if (p->stop)
      break;
    seen = p->generation;
    pthread_mutex_unlock(&p->lock);
    run_chunks(p, tid);
    pthread_mutex_lock(&p->lock);
    if (--p->busy == 0)
      pthread_cond_signal(&p->done);
  }
  pthread_mutex_unlock(&p->lock);
  return NULL;
}

argus_err argus_threadpool_create(int threads, argus_threadpool **out) {
  if (!out || threads < 0 || threads > 1024)
    return ARGUS_E_INVALID_ARG;
  *out = NULL;
  if (threads == 0) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    threads = n > 0 ? (int)n : 1;
  }
  argus_threadpool *p = calloc(1, sizeof *p);
  if (!p)
    return ARGUS_E_NOMEM;
  p->nthreads = 1;
  pthread_mutex_init(&p->lock, NULL);
  pthread_cond_init(&p->wake, NULL);
  pthread_cond_init(&p->done, NULL);
  if (threads > 1) {
    p->threads = calloc((size_t)threads - 1, sizeof *p->threads);
    if (!p->threads)
      goto fail;
    for (int i = 1; i < threads; i++) {
      worker_arg *wa = malloc(sizeof *wa);
      if (!wa)
        goto fail;
      wa->pool = p;
      wa->tid = i;
      if (pthread_create(&p->threads[i - 1], NULL, worker_main, wa) != 0) {
        free(wa);
        goto fail;
      }
      p->nthreads++;
    }
  }
  argus_cpu_set_ftz();
  *out = p;
  return ARGUS_OK;
fail:
  argus_threadpool_destroy(p);
  return ARGUS_E_NOMEM;
}

void argus_threadpool_destroy(argus_threadpool *p) {
  if (!p)
    return;
  pthread_mutex_lock(&p->lock);
  p->stop = 1;
  pthread_cond_broadcast(&p->wake);
  pthread_mutex_unlock(&p->lock);
  for (int i = 1; i < p->nthreads; i++)
    pthread_join(p->threads[i - 1], NULL);
  pthread_mutex_destroy(&p->lock);
  pthread_cond_destroy(&p->wake);
  pthread_cond_destroy(&p->done);
  free(p->threads);
  free(p);
}

int argus_threadpool_size(const argus_threadpool *p) {
  return p ? p->nthreads : 1;
}

void argus_threadpool_parallel_for(argus_threadpool *p, size_t n, size_t grain,
                                   argus_task_fn fn, void *ctx) {
  if (n == 0)
    return;
  if (grain == 0)
    grain = 1;
  if (!p || p->nthreads == 1 || n <= grain) {
    fn(ctx, 0, n, 0);
    return;
  }
  /* About four chunks per thread, never smaller than grain. */
  size_t chunk = n / ((size_t)p->nthreads * 4);
  if (chunk < grain)
    chunk = grain;
  pthread_mutex_lock(&p->lock);
  p->fn = fn;
  p->ctx = ctx;
  p->n = n;
  p->chunk = chunk;
  p->nchunks = (n + chunk - 1) / chunk;
  atomic_store(&p->next, 0);
  p->busy = p->nthreads - 1;
  p->generation++;
  pthread_cond_broadcast(&p->wake);
  pthread_mutex_unlock(&p->lock);
  run_chunks(p, 0);
  pthread_mutex_lock(&p->lock);
  while (p->busy > 0)
    pthread_cond_wait(&p->done, &p->lock);
  pthread_mutex_unlock(&p->lock);
}
