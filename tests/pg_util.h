/* Test helpers: a throwaway PostgreSQL cluster (Debian's postgresql
 * package: /usr/lib/postgresql/<version>/bin) in a temporary folder,
 * listening on a free loopback port and a socket in that folder only, with
 * trust authentication; removed again by pg_cluster_stop.
 *
 * A store test runs against it when ARGUS_TEST_STORE=postgres (the tests'
 * `_pg` variants): pg_test_store_open maps the test's database file path
 * to a database of the cluster (one per path, made on first use) and the
 * file's folder to the store's data_dir, so that a test written for files
 * runs unchanged. As root, the server's commands run as the `postgres`
 * user (initdb refuses root). */
#ifndef ARGUS_TEST_PG_UTIL_H
#define ARGUS_TEST_PG_UTIL_H

#include <arpa/inet.h>
#include <fcntl.h>
#include <ftw.h>
#include <glob.h>
#include <grp.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "argus/store.h"

typedef struct pg_cluster {
  char dir[256]; /* the temporary folder: data/, the socket, logs */
  char bin[256]; /* /usr/lib/postgresql/<version>/bin */
  int port;
  int started;
  char admin[128]; /* URL of the maintenance database "postgres" */
} pg_cluster;

/* 1 when the tests' environment asks for the PostgreSQL backend. */
static inline int pg_test_wanted(void) {
  const char *v = getenv("ARGUS_TEST_STORE");
  return v && strcmp(v, "postgres") == 0;
}

/* The newest installed server's bin folder, or -1. */
static inline int pg_find_bin(char *out, size_t size) {
  glob_t g;
  int found = -1;
  if (glob("/usr/lib/postgresql/*/bin/initdb", 0, NULL, &g) == 0) {
    /* glob sorts: the last is the newest of same-width versions */
    const char *best = g.gl_pathv[g.gl_pathc - 1];
    size_t n = strlen(best) - strlen("/initdb");
    if (n < size) {
      memcpy(out, best, n);
      out[n] = '\0';
      found = 0;
    }
  }
  globfree(&g);
  return found;
}

static inline int pg_free_port(void) {
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

/* Runs argv (as `postgres` when we are root) with its output appended to
 * log; returns its exit status (-1: could not run). */
static inline int pg_run(char *const argv[], const char *log) {
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid < 0)
    return -1;
  if (pid == 0) {
    int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      close(fd);
    }
    if (geteuid() == 0) {
      struct passwd *pw = getpwnam("postgres");
      if (!pw || setgroups(0, NULL) != 0 || setgid(pw->pw_gid) != 0 ||
          setuid(pw->pw_uid) != 0)
        _exit(126);
    }
    execv(argv[0], argv);
    _exit(127);
  }
  int status = 0;
  if (waitpid(pid, &status, 0) != pid)
    return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static inline int pg_rm_cb(const char *path, const struct stat *sb, int flag,
                           struct FTW *ftw) {
  (void)sb;
  (void)flag;
  (void)ftw;
  return remove(path);
}

/* The server's log, on stderr (after a failure). */
static inline void pg_print_log(const pg_cluster *c) {
  static const char *const logs[] = {"initdb.log", "server.log"};
  for (size_t i = 0; i < 2; i++) {
    char p[300];
    snprintf(p, sizeof p, "%s/%s", c->dir, logs[i]);
    FILE *f = fopen(p, "r");
    if (!f)
      continue;
    fprintf(stderr, "--- %s:\n", p);
    char line[512];
    while (fgets(line, sizeof line, f))
      fputs(line, stderr);
    fclose(f);
  }
}

/* Stops the server and removes its folder. Accepts a cluster never
 * started. */
static inline void pg_cluster_stop(pg_cluster *c) {
  if (c->started) {
    char data[300], log[300];
    snprintf(data, sizeof data, "%s/data", c->dir);
    snprintf(log, sizeof log, "%s/ctl.log", c->dir);
    char ctl[300];
    snprintf(ctl, sizeof ctl, "%s/pg_ctl", c->bin);
    char *argv[] = {ctl, "-D", data, "-m", "immediate", "-w", "stop", NULL};
    pg_run(argv, log);
    c->started = 0;
  }
  if (c->dir[0])
    nftw(c->dir, pg_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
  c->dir[0] = '\0';
}

/* initdb + pg_ctl start; 0 when the server accepts connections, 77 when
 * no PostgreSQL server is installed (a test then skips), -1 on another
 * failure (the logs are printed and everything is removed again). */
static inline int pg_cluster_start(pg_cluster *c) {
  memset(c, 0, sizeof *c);
  if (pg_find_bin(c->bin, sizeof c->bin) != 0) {
    fprintf(stderr, "pg_util: no /usr/lib/postgresql/*/bin/initdb (Debian: "
                    "postgresql)\n");
    return 77;
  }
  /* Always under /tmp: the postgres user must reach it (a TMPDIR under
   * /root would not do), and the socket path must stay short. */
  snprintf(c->dir, sizeof c->dir, "/tmp/argus-pg-XXXXXX");
  if (!mkdtemp(c->dir)) {
    c->dir[0] = '\0';
    return -1;
  }
  if (geteuid() == 0) {
    struct passwd *pw = getpwnam("postgres");
    if (!pw || chown(c->dir, pw->pw_uid, pw->pw_gid) != 0) {
      fprintf(stderr, "pg_util: running as root and no user 'postgres'\n");
      pg_cluster_stop(c);
      return -1;
    }
  }
  char data[300], log[300], initdb[300], ctl[300];
  snprintf(data, sizeof data, "%s/data", c->dir);
  snprintf(log, sizeof log, "%s/initdb.log", c->dir);
  snprintf(initdb, sizeof initdb, "%s/initdb", c->bin);
  snprintf(ctl, sizeof ctl, "%s/pg_ctl", c->bin);
  char *iargv[] = {initdb,     "-D", data,   "-A",         "trust",     "-U",
                   "postgres", "-E", "UTF8", "--locale=C", "--no-sync", NULL};
  if (pg_run(iargv, log) != 0) {
    fprintf(stderr, "pg_util: initdb failed\n");
    pg_print_log(c);
    pg_cluster_stop(c);
    return -1;
  }
  /* A port taken between the probe and the start fails the start: then
   * try another. fsync off: a test cluster need not survive a power
   * cut, and the tests run on a small machine. */
  for (int attempt = 0; attempt < 3 && !c->started; attempt++) {
    c->port = pg_free_port();
    char opts[512], slog[300];
    snprintf(opts, sizeof opts,
             "-k %s -h 127.0.0.1 -p %d -c fsync=off -c synchronous_commit=off "
             "-c full_page_writes=off -c max_connections=40 "
             "-c shared_buffers=16MB",
             c->dir, c->port);
    snprintf(slog, sizeof slog, "%s/server.log", c->dir);
    snprintf(log, sizeof log, "%s/ctl.log", c->dir);
    char *sargv[] = {ctl,  "-D", data, "-l", slog,    "-w",
                     "-t", "60", "-o", opts, "start", NULL};
    if (pg_run(sargv, log) == 0)
      c->started = 1;
  }
  if (!c->started) {
    fprintf(stderr, "pg_util: the server did not start\n");
    pg_print_log(c);
    pg_cluster_stop(c);
    return -1;
  }
  snprintf(c->admin, sizeof c->admin,
           "postgresql://postgres@127.0.0.1:%d/postgres", c->port);
  return 0;
}

/* Runs sql on url; 0 when it succeeded. */
static inline int pg_exec_url(const char *url, const char *sql) {
  PGconn *conn = PQconnectdb(url);
  int rc = -1;
  if (PQstatus(conn) == CONNECTION_OK) {
    PGresult *r = PQexec(conn, sql);
    ExecStatusType st = PQresultStatus(r);
    rc = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK ? 0 : -1;
    if (rc != 0)
      fprintf(stderr, "pg_util: %s: %s", sql, PQerrorMessage(conn));
    PQclear(r);
  } else {
    fprintf(stderr, "pg_util: %s", PQerrorMessage(conn));
  }
  PQfinish(conn);
  return rc;
}

/* The first column of the first row of sql on url as an integer, or -1. */
static inline int64_t pg_int_url(const char *url, const char *sql) {
  PGconn *conn = PQconnectdb(url);
  int64_t v = -1;
  if (PQstatus(conn) == CONNECTION_OK) {
    PGresult *r = PQexec(conn, sql);
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0 &&
        !PQgetisnull(r, 0, 0))
      v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    else if (PQresultStatus(r) != PGRES_TUPLES_OK)
      fprintf(stderr, "pg_util: %s: %s", sql, PQerrorMessage(conn));
    PQclear(r);
  }
  PQfinish(conn);
  return v;
}

/* The URL of the cluster's database for a test's database file `path`
 * (named by a hash of the path, made when `create` and missing). 0 on
 * success. */
static inline int pg_db_for_path(const pg_cluster *c, const char *path,
                                 int create, char *url, size_t size) {
  uint64_t h = 1469598103934665603ull; /* FNV-1a */
  for (const unsigned char *p = (const unsigned char *)path; *p; p++)
    h = (h ^ *p) * 1099511628211ull;
  char name[32];
  snprintf(name, sizeof name, "t%016llx", (unsigned long long)h);
  snprintf(url, size, "postgresql://postgres@127.0.0.1:%d/%s", c->port, name);
  if (!create)
    return 0;
  char sql[128];
  snprintf(sql, sizeof sql,
           "SELECT count(*) FROM pg_database WHERE datname "
           "= '%s'",
           name);
  int64_t have = pg_int_url(c->admin, sql);
  if (have < 0)
    return -1;
  if (have > 0)
    return 0;
  snprintf(sql, sizeof sql, "CREATE DATABASE %s", name);
  return pg_exec_url(c->admin, sql);
}

/* The CLI's --db for a test's database file `path`: the path itself when c
 * is NULL; else the URL of the cluster's database for it (made when
 * missing), with ARGUS_DATA_DIR set to the path's folder for the commands
 * that follow. The URL is in one of four rotating static buffers, so a few
 * may be used at once. NULL when the database could not be had. */
static inline const char *pg_test_db_arg(const pg_cluster *c,
                                         const char *path) {
  static char urls[4][160];
  static int next;
  if (!c)
    return path;
  char *url = urls[next++ % 4];
  if (pg_db_for_path(c, path, 1, url, sizeof urls[0]) != 0)
    return NULL;
  char dir[400];
  snprintf(dir, sizeof dir, "%s", path);
  char *slash = strrchr(dir, '/');
  if (slash)
    *slash = '\0';
  setenv("ARGUS_DATA_DIR", slash ? dir : ".", 1);
  return url;
}

/* argus_store_open on the cluster in place of the file `path`: its
 * database, and the file's folder as data_dir (unless the options name
 * one). A NULL or empty path, or c NULL, opens as given. */
static inline argus_err pg_test_store_open(const pg_cluster *c,
                                           const char *path,
                                           const argus_store_options *opts,
                                           argus_store **s,
                                           argus_store_error *err) {
  if (!c || !path || !path[0] || strncmp(path, "postgres", 8) == 0)
    return argus_store_open(path, opts, s, err);
  argus_store_options o;
  memset(&o, 0, sizeof o);
  if (opts)
    o = *opts;
  char url[160], dir[1024];
  if (pg_db_for_path(c, path, 1, url, sizeof url) != 0) {
    if (err)
      snprintf(err->msg, sizeof err->msg, "pg_util: no database for %s", path);
    return ARGUS_E_IO;
  }
  if (!o.data_dir) {
    const char *slash = strrchr(path, '/');
    size_t n = slash ? (size_t)(slash - path) : 1;
    if (n >= sizeof dir)
      return ARGUS_E_LIMIT;
    memcpy(dir, slash ? path : ".", n);
    dir[n] = '\0';
    o.data_dir = dir;
  }
  return argus_store_open(url, &o, s, err);
}

/* ---- a server stopped and started again (tests/test_pg_restart.c) ---- */

/* The postmaster's process id (the first line of data/postmaster.pid), or
 * -1. */
static inline pid_t pg_cluster_pid(const pg_cluster *c) {
  char path[300], line[32] = "";
  snprintf(path, sizeof path, "%s/data/postmaster.pid", c->dir);
  FILE *f = fopen(path, "r");
  if (!f)
    return -1;
  if (!fgets(line, sizeof line, f))
    line[0] = '\0';
  fclose(f);
  long v = strtol(line, NULL, 10);
  return v > 0 ? (pid_t)v : -1;
}

/* Stops the server and keeps its data: `pg_ctl stop -m fast` (clients
 * disconnected, a clean shutdown) or, with kill9, SIGKILL to the postmaster
 * (its backends notice and exit by themselves; the next start recovers
 * from the WAL). 0 on success. */
static inline int pg_cluster_halt(pg_cluster *c, int kill9) {
  if (kill9) {
    pid_t pid = pg_cluster_pid(c);
    return pid > 0 ? kill(pid, SIGKILL) : -1;
  }
  char data[300], log[300], ctl[300];
  snprintf(data, sizeof data, "%s/data", c->dir);
  snprintf(log, sizeof log, "%s/ctl.log", c->dir);
  snprintf(ctl, sizeof ctl, "%s/pg_ctl", c->bin);
  char *argv[] = {ctl, "-D", data, "-m", "fast", "-w", "stop", NULL};
  return pg_run(argv, log) == 0 ? 0 : -1;
}

/* Starts a halted server again on the same data folder and port, trying
 * for up to timeout_s seconds: after a SIGKILL the start is refused while a
 * backend of the dead postmaster still holds its shared memory. 0 once it
 * accepts connections. The options are pg_cluster_start's but for
 * synchronous_commit, left on (the default): with it off a commit is
 * acknowledged before its WAL is written, and a SIGKILL of the server loses
 * the last acknowledged commits (seen: one alert the sink had stored). A
 * test that kills the server restarts it once before its load. */
static inline int pg_cluster_restart(pg_cluster *c, double timeout_s) {
  char data[300], log[300], ctl[300], slog[300], opts[512];
  snprintf(data, sizeof data, "%s/data", c->dir);
  snprintf(log, sizeof log, "%s/ctl.log", c->dir);
  snprintf(ctl, sizeof ctl, "%s/pg_ctl", c->bin);
  snprintf(slog, sizeof slog, "%s/server.log", c->dir);
  snprintf(opts, sizeof opts,
           "-k %s -h 127.0.0.1 -p %d -c fsync=off "
           "-c full_page_writes=off -c max_connections=40 "
           "-c shared_buffers=16MB",
           c->dir, c->port);
  char *argv[] = {ctl,  "-D", data, "-l", slog,    "-w",
                  "-t", "60", "-o", opts, "start", NULL};
  for (int waited_ms = 0;; waited_ms += 200) {
    if (pg_run(argv, log) == 0)
      return 0;
    if (waited_ms >= timeout_s * 1000)
      return -1;
    usleep(200 * 1000);
  }
}

#endif
