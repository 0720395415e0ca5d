#include <pthread.h>
#include <stdio.h>

#include "argus/core.h"

static argus_log_sink g_sink;
static void *g_user;
static argus_log_level g_level = ARGUS_LOG_WARN;
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;

void argus_log_set_sink(argus_log_sink sink, void *user) {
  pthread_mutex_lock(&g_lock);
  g_sink = sink;
  g_user = user;
  pthread_mutex_unlock(&g_lock);
}

void argus_log_set_level(argus_log_level level) { g_level = level; }
argus_log_level argus_log_get_level(void) { return g_level; }

static const char *level_name(argus_log_level l) {
  switch (l) {
  case ARGUS_LOG_ERROR: return "error";
  case ARGUS_LOG_WARN: return "warning";
  case ARGUS_LOG_INFO: return "info";
  default: return "debug";
  }
}

__attribute__((format(printf, 3, 0))) void
argus_logv(argus_log_level level, const char *module, const char *fmt,
           va_list ap) {
  if (level > g_level)
    return;
  char line[1024];
  vsnprintf(line, sizeof line, fmt, ap);
  pthread_mutex_lock(&g_lock);
  if (g_sink)
    g_sink(g_user, level, module, line);
  else
    fprintf(stderr, "argus %s: %s: %s\n", level_name(level), module, line);
  pthread_mutex_unlock(&g_lock);
}

void argus_log(argus_log_level level, const char *module, const char *fmt,
               ...) {
  va_list ap;
  va_start(ap, fmt);
  argus_logv(level, module, fmt, ap);
  va_end(ap);
}
