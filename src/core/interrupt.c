/* The SIGINT/SIGTERM flag long commands poll to stop cleanly (enrolment,
 * reindexing, watching a camera). The handler only stores to a volatile
 * sig_atomic_t, which is async-signal-safe; installs nest so that a command
 * and a helper it calls may both install and restore. */
#include <pthread.h>
#include <signal.h>
#include <string.h>

#include "argus/core.h"

/* volatile sig_atomic_t, not an atomic_int, so that its address can be
 * handed to code that polls a cancel flag (argus_interrupt_flag). */
static volatile sig_atomic_t flag;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int installs;
static struct sigaction old_int, old_term;

static void on_signal(int sig) {
  (void)sig;
  flag = 1;
}

argus_err argus_interrupt_install(void) {
  argus_err e = ARGUS_OK;
  pthread_mutex_lock(&mu);
  if (installs == 0) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    flag = 0;
    if (sigaction(SIGINT, &sa, &old_int) != 0) {
      e = ARGUS_E_INTERNAL;
    } else if (sigaction(SIGTERM, &sa, &old_term) != 0) {
      sigaction(SIGINT, &old_int, NULL);
      e = ARGUS_E_INTERNAL;
    }
  }
  if (e == ARGUS_OK)
    installs++;
  pthread_mutex_unlock(&mu);
  return e;
}

void argus_interrupt_restore(void) {
  pthread_mutex_lock(&mu);
  if (installs > 0 && --installs == 0) {
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
  }
  pthread_mutex_unlock(&mu);
}

int argus_interrupted(void) { return flag != 0; }

const volatile sig_atomic_t *argus_interrupt_flag(void) { return &flag; }

void argus_interrupt_reset(void) { flag = 0; }
