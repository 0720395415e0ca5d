/* Test helpers: a throwaway NATS server with JetStream (Debian's
 * nats-server) on a free loopback port, with its store in a folder of the
 * test's, that can be stopped and started again on the same port and store
 * (fault tests). */
#ifndef ARGUS_TEST_NATS_UTIL_H
#define ARGUS_TEST_NATS_UTIL_H

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static inline double nu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static inline void nu_sleep(double s) {
  struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
  nanosleep(&ts, NULL);
}

static inline int nu_free_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof sa;
  int port = 0;
  if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
      getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
    port = ntohs(sa.sin_port);
  if (fd >= 0)
    close(fd);
  return port;
}

static inline int nu_port_open(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_port = htons((uint16_t)port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int ok = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
  if (fd >= 0)
    close(fd);
  return ok;
}

/* Debian installs it in /usr/sbin, often not on a user's PATH. */
static inline const char *nu_server_bin(void) {
  static const char *const paths[] = {"/usr/sbin/nats-server",
                                      "/usr/bin/nats-server",
                                      "/usr/local/bin/nats-server"};
  for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
    if (access(paths[i], X_OK) == 0)
      return paths[i];
  return NULL;
}

typedef struct nu_server {
  pid_t pid;
  int port;
  char dir[512]; /* its JetStream store */
  char url[64];  /* nats://127.0.0.1:PORT */
} nu_server;

/* Starts (or, with the same struct, restarts) the server; 0 when it
 * answers within 10 s. */
static inline int nu_start(nu_server *s) {
  const char *bin = nu_server_bin();
  if (!bin)
    return -1;
  if (!s->port) {
    s->port = nu_free_port();
    snprintf(s->url, sizeof s->url, "nats://127.0.0.1:%d", s->port);
  }
  char port[16];
  snprintf(port, sizeof port, "%d", s->port);
  char log[600];
  snprintf(log, sizeof log, "%s.log", s->dir);
  pid_t pid = fork();
  if (pid == 0) {
    /* Its log beside its store (nu_print_log shows it on a failure). */
    int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    execl(bin, bin, "-js", "-a", "127.0.0.1", "-p", port, "-sd", s->dir,
          (char *)NULL);
    _exit(127);
  }
  s->pid = pid;
  double end = nu_now() + 10;
  while (pid > 0 && nu_now() < end && !nu_port_open(s->port))
    nu_sleep(0.02);
  return pid > 0 && nu_port_open(s->port) ? 0 : -1;
}

/* The last lines of the server's log, on stderr (after a failure). */
static inline void nu_print_log(const nu_server *s) {
  char log[600];
  snprintf(log, sizeof log, "%s.log", s->dir);
  FILE *f = fopen(log, "r");
  if (!f)
    return;
  static char buf[8192];
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, n > (long)sizeof buf - 1 ? n - (long)sizeof buf + 1 : 0, SEEK_SET);
  size_t got = fread(buf, 1, sizeof buf - 1, f);
  buf[got] = '\0';
  fclose(f);
  fprintf(stderr, "--- nats-server log (%s), last part:\n%s---\n", log, buf);
}

/* sig: SIGTERM (a clean stop) or SIGKILL (a crash). */
static inline void nu_stop(nu_server *s, int sig) {
  if (s->pid <= 0)
    return;
  kill(s->pid, sig);
  waitpid(s->pid, NULL, 0);
  s->pid = 0;
}

#endif
