/* The pieces the split-role tests share (test_loadgen, test_nats_cluster,
 * test_pg_restart): argus processes in the background with their logs in
 * g_tmp/<name>.log, and a database of synthetic persons. The includer sets
 * g_cli, g_models and g_tmp. */
#ifndef ARGUS_TEST_ROLES_UTIL_H
#define ARGUS_TEST_ROLES_UTIL_H

#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "argus/store.h"

static const char *g_cli, *g_models;
static char g_tmp[256];

static inline pid_t spawn(const char *name, const char *const *args) {
  char log[400];
  snprintf(log, sizeof log, "%s/%s.log", g_tmp, name);
  const char *argv[32];
  int n = 0;
  argv[n++] = g_cli;
  for (; args[n - 1] && n < 31; n++)
    argv[n] = args[n - 1];
  argv[n] = NULL;
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid == 0) {
    int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
      _exit(126);
    setenv("ARGUS_MODELS", g_models, 1);
    unsetenv("ARGUS_PLUGIN");
    execv(g_cli, (char *const *)argv);
    _exit(127);
  }
  return pid;
}

#define SPAWN(name, ...)                                                       \
  ({                                                                           \
    const char *a_[] = {__VA_ARGS__, NULL};                                    \
    spawn(name, a_);                                                           \
  })

static inline int wait_exit(pid_t pid) {
  int st = 0;
  waitpid(pid, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static inline int stop(pid_t pid) {
  if (pid <= 0)
    return -1;
  kill(pid, SIGTERM);
  return wait_exit(pid);
}

static inline void print_log(const char *name) {
  char path[400], buf[4096];
  snprintf(path, sizeof path, "%s/%s.log", g_tmp, name);
  FILE *f = fopen(path, "r");
  if (!f)
    return;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, n > 4000 ? n - 4000 : 0, SEEK_SET);
  size_t got = fread(buf, 1, sizeof buf - 1, f);
  buf[got] = '\0';
  fclose(f);
  fprintf(stderr, "--- %s, last part:\n%s---\n", path, buf);
}

static inline int log_has(const char *name, const char *text) {
  char path[400];
  snprintf(path, sizeof path, "%s/%s.log", g_tmp, name);
  FILE *f = fopen(path, "r");
  if (!f)
    return 0;
  static char buf[4 << 20];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  return strstr(buf, text) != NULL;
}

static uint64_t g_rng = 0x9e3779b97f4a7c15ull;
static inline double rnd01(void) { /* xorshift64* */
  g_rng ^= g_rng >> 12;
  g_rng ^= g_rng << 25;
  g_rng ^= g_rng >> 27;
  return (double)((g_rng * 0x2545f4914f6cdd1dull) >> 11) * 0x1.0p-53;
}
static inline double gauss(void) {
  double u = rnd01(), v = rnd01();
  if (u < 1e-300)
    u = 1e-300;
  return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

static inline int fill(const char *db, const char *model_id, int dim,
                       int persons) {
  char name[ARGUS_STORE_NAME_MAX], version[ARGUS_STORE_NAME_MAX];
  if (argus_store_model_id_split(model_id, name, version))
    return -1;
  argus_store_model model = {name, version, dim};
  argus_store *s = NULL;
  argus_store_error se = {{0}};
  int rc = -1;
  if (argus_store_open(db, NULL, &s, &se) ||
      argus_store_watchlist_create(s, "load", NAN, NULL, NULL, &se))
    goto done;
  float v[4096];
  static const unsigned char crop[] = {0xff, 0xd8, 0xff, 0xe0, 't',
                                       'e',  's',  't',  0xff, 0xd9};
  for (int i = 0; i < persons; i++) {
    double ss = 0;
    for (int k = 0; k < dim; k++) {
      v[k] = (float)gauss();
      ss += (double)v[k] * v[k];
    }
    for (int k = 0; k < dim; k++)
      v[k] = (float)(v[k] / sqrt(ss));
    char pname[32];
    snprintf(pname, sizeof pname, "person-%d", i);
    argus_store_person_in pi = {pname, NULL, NULL};
    argus_store_photo_in ph = {crop, sizeof crop, 0.9f, "synthetic", v};
    if (argus_store_person_add(s, "load", &pi, &model, &ph, 1, NULL, &se))
      goto done;
  }
  rc = 0;
done:
  if (rc)
    fprintf(stderr, "fill %s: %s\n", db, se.msg);
  argus_store_close(s);
  return rc;
}


#endif
