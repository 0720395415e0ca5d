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
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
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
    /* Ends with the test, even one that crashed (no server left behind
     * holding the port and the store). */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
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

/* ---- a 3-node JetStream cluster on loopback ------------------------------
 * Each node has its own store (<dir>/nI), client port, cluster (route) port
 * and monitoring port, a server name "nI", and routes to the two others.
 * JetStream in a cluster needs a meta leader before any stream can be made:
 * nu_cluster_wait_leader polls the nodes' monitoring endpoint (/jsz). */

#define NU_NODES 3

typedef struct nu_cluster {
  nu_server node[NU_NODES]; /* node[i].dir: its store; .port: client port */
  int cport[NU_NODES], mport[NU_NODES];
  char urls[NU_NODES * 32]; /* "nats://127.0.0.1:P1,nats://...:P2,..." */
} nu_cluster;

/* Starts (or restarts, same ports and store) node i; 0 when its client port
 * answers within 20 s. */
static inline int nu_cluster_start_node(nu_cluster *c, int i) {
  const char *bin = nu_server_bin();
  if (!bin)
    return -1;
  nu_server *s = &c->node[i];
  char port[16], cluster[64], routes[160], mon[16], name[8];
  snprintf(port, sizeof port, "%d", s->port);
  snprintf(cluster, sizeof cluster, "nats://127.0.0.1:%d", c->cport[i]);
  snprintf(mon, sizeof mon, "%d", c->mport[i]);
  snprintf(name, sizeof name, "n%d", i);
  routes[0] = '\0';
  for (int j = 0; j < NU_NODES; j++)
    if (j != i) {
      size_t l = strlen(routes);
      snprintf(routes + l, sizeof routes - l, "%snats://127.0.0.1:%d",
               l ? "," : "", c->cport[j]);
    }
  char log[600];
  snprintf(log, sizeof log, "%s.log", s->dir);
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL); /* ends with the test */
    int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    execl(bin, bin, "-js", "-a", "127.0.0.1", "-p", port, "-sd", s->dir, "-n",
          name, "-m", mon, "--cluster_name", "argus", "--cluster", cluster,
          "--routes", routes, (char *)NULL);
    _exit(127);
  }
  s->pid = pid;
  double end = nu_now() + 20;
  while (pid > 0 && nu_now() < end && !nu_port_open(s->port))
    nu_sleep(0.02);
  return pid > 0 && nu_port_open(s->port) ? 0 : -1;
}

/* Starts the 3 nodes with their stores under `dir` (an existing folder). */
static inline int nu_cluster_start(nu_cluster *c, const char *dir) {
  memset(c, 0, sizeof *c);
  for (int i = 0; i < NU_NODES; i++) {
    /* Distinct ports: each taken from the kernel while the others are
     * still unknown to it, so check against those chosen already. */
    int *ports[3] = {&c->node[i].port, &c->cport[i], &c->mport[i]};
    for (int k = 0; k < 3; k++) {
      int p, dup;
      do {
        p = nu_free_port();
        dup = p == 0;
        for (int j = 0; j <= i && !dup; j++)
          dup = p == c->node[j].port || p == c->cport[j] || p == c->mport[j];
      } while (dup);
      *ports[k] = p;
    }
    snprintf(c->node[i].dir, sizeof c->node[i].dir, "%s/n%d", dir, i);
    snprintf(c->node[i].url, sizeof c->node[i].url, "nats://127.0.0.1:%d",
             c->node[i].port);
    size_t l = strlen(c->urls);
    snprintf(c->urls + l, sizeof c->urls - l, "%s%s", l ? "," : "",
             c->node[i].url);
  }
  for (int i = 0; i < NU_NODES; i++)
    if (nu_cluster_start_node(c, i) != 0)
      return -1;
  return 0;
}

static inline void nu_cluster_stop(nu_cluster *c, int sig) {
  for (int i = 0; i < NU_NODES; i++)
    nu_stop(&c->node[i], sig);
}

/* GET http://127.0.0.1:port/path into buf (the body, NUL-terminated);
 * 0 on success. A plain HTTP/1.0 request: the server closes after it. */
static inline int nu_http_get(int port, const char *path, char *buf,
                              size_t cap) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    return -1;
  struct timeval tv = {5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  struct sockaddr_in sa;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_port = htons((uint16_t)port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  char req[512];
  int rl = snprintf(req, sizeof req,
                    "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", path);
  size_t n = 0;
  int ok = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
           write(fd, req, (size_t)rl) == rl;
  while (ok && n + 1 < cap) {
    ssize_t r = read(fd, buf + n, cap - 1 - n);
    if (r <= 0)
      break;
    n += (size_t)r;
  }
  close(fd);
  buf[n] = '\0';
  char *body = strstr(buf, "\r\n\r\n");
  if (!ok || !body)
    return -1;
  memmove(buf, body + 4, strlen(body + 4) + 1);
  return 0;
}

/* The server name "nI" of `"key": "nI"` following `after` (NULL: from the start)
 * in text, as a node index (name "nI"), or -1. */
static inline int nu_json_node(const char *text, const char *after,
                               const char *key) {
  const char *p = after ? strstr(text, after) : text;
  char k[64];
  snprintf(k, sizeof k, "\"%s\":", key);
  p = p ? strstr(p, k) : NULL;
  if (!p)
    return -1;
  p += strlen(k);
  while (*p == ' ')
    p++;
  if (p[0] != '"' || p[1] != 'n' || p[3] != '"')
    return -1;
  int i = p[2] - '0';
  return i >= 0 && i < NU_NODES ? i : -1;
}

/* Waits (up to secs) until a running node reports a JetStream meta leader;
 * returns its index or -1. */
static inline int nu_cluster_wait_leader(nu_cluster *c, double secs) {
  static char buf[1 << 16];
  double end = nu_now() + secs;
  do {
    for (int i = 0; i < NU_NODES; i++) {
      if (c->node[i].pid <= 0 ||
          nu_http_get(c->mport[i], "/jsz", buf, sizeof buf) != 0)
        continue;
      int l = nu_json_node(buf, "\"meta_cluster\"", "leader");
      if (l >= 0)
        return l;
    }
    nu_sleep(0.1);
  } while (nu_now() < end);
  return -1;
}

/* The node that leads stream `name` (as a running node reports it), or -1
 * when none is known. */
static inline int nu_cluster_stream_leader(nu_cluster *c, const char *name) {
  static char buf[1 << 18];
  char after[96];
  snprintf(after, sizeof after, "\"%s\"", name);
  for (int i = 0; i < NU_NODES; i++) {
    if (c->node[i].pid <= 0 ||
        nu_http_get(c->mport[i], "/jsz?accounts=true&streams=true", buf,
                    sizeof buf) != 0)
      continue;
    int l = nu_json_node(buf, after, "leader");
    if (l >= 0)
      return l;
  }
  return -1;
}

#endif
