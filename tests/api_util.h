/* The harness every API test uses (header-only): starts `argus serve` on a
 * temporary database and a free port, with one user per role and an API
 * token each, and makes HTTP calls with libcurl.
 *
 *   api_srv s;
 *   const char *extra[] = {"--no-pipeline", NULL};
 *   if (api_srv_start(&s, extra) != 0) return 1;
 *   api_resp r;
 *   if (api_call(&s, "GET", "/api/v1/cameras", ARGUS_ROLE_ADMIN, NULL, NULL,
 *                &r) == 0 && r.status == 200) { cJSON *j = api_json(&r); ... }
 *   api_resp_free(&r);
 *   api_srv_stop(&s);
 *
 * The server is the built `argus` binary ($ARGUS_CLI, set by CTest), with
 * --models $ARGUS_MODELS_DIR when that is set. Users are "t-admin",
 * "t-supervisor", "t-operator", "t-auditor", each with the password
 * "pw-<name>-12345" (api_user_name, api_user_password), made with
 * `argus user add NAME --role R --password-stdin --db DB`; tokens come from
 * `argus user token NAME --db DB`.
 *
 * The server's stderr is echoed to the test's stderr (prefixed "[serve] ")
 * and kept (the last 256 KiB) for api_srv_log_find; a thread drains it so the
 * server never blocks on a full pipe. The server dies with the test
 * (PR_SET_PDEATHSIG) when the test dies first.
 *
 * Several servers may run at once (at most API_SRV_MAX). Calls may be made
 * from several threads (api_srv_start and api_srv_stop from one thread).
 */
#ifndef ARGUS_TEST_API_UTIL_H
#define ARGUS_TEST_API_UTIL_H

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "argus/store.h"

#define API_SRV_MAX 8
#define API_COOKIE_MAX 256
#define API_CSRF_MAX 128
#define API_LOG_MAX (256 * 1024)

typedef struct api_srv {
  pid_t pid;
  int port;
  char dir[512];
  char db[600];
  char base[64];     /* "http://127.0.0.1:PORT" (https under TLS) */
  char token[4][80]; /* by argus_role: admin, supervisor, operator, auditor */
} api_srv;

typedef struct api_resp {
  long status;
  char *body; /* malloc'd, NUL-terminated ("" when none) */
  size_t size;
  char ctype[128];    /* Content-Type ("" when none) */
  char headers[8192]; /* every response header line, "Name: value\r\n"
                         (truncated to fit) */
} api_resp;

/* Options of api_srv_start_ex. */
#define API_SRV_NO_USERS 1u /* make no users (first start: setup) */

/* ---- internals ----------------------------------------------------------- */

typedef struct api_srv_slot_ {
  pid_t pid; /* 0: free */
  int fd;    /* the server's stderr */
  pthread_t th;
  int have_th;
  pthread_mutex_t mu;
  char *log; /* API_LOG_MAX bytes */
  size_t nlog;
  int status; /* exit status after api_srv_stop_status */
} api_srv_slot_;

static api_srv_slot_ api_srv_slots_[API_SRV_MAX];
static pthread_mutex_t api_srv_mu_ = PTHREAD_MUTEX_INITIALIZER;

static inline double api_now_(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static inline void api_sleep_(double s) {
  struct timespec ts;
  ts.tv_sec = (time_t)s;
  ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

static inline api_srv_slot_ *api_srv_slot_of_(pid_t pid) {
  for (int i = 0; i < API_SRV_MAX; i++)
    if (api_srv_slots_[i].pid == pid && pid > 0)
      return &api_srv_slots_[i];
  return NULL;
}

/* Appends a line to the slot's log (the oldest half is dropped when full). */
static inline void api_srv_log_add_(api_srv_slot_ *sl, const char *line,
                                    size_t n) {
  pthread_mutex_lock(&sl->mu);
  if (sl->log) {
    if (n + 2 > API_LOG_MAX)
      n = API_LOG_MAX - 2;
    if (sl->nlog + n + 2 > API_LOG_MAX) {
      size_t keep = sl->nlog / 2;
      memmove(sl->log, sl->log + sl->nlog - keep, keep);
      sl->nlog = keep;
    }
    memcpy(sl->log + sl->nlog, line, n);
    sl->nlog += n;
    sl->log[sl->nlog++] = '\n';
    sl->log[sl->nlog] = '\0';
  }
  pthread_mutex_unlock(&sl->mu);
}

/* Reads one line of fd into line (NUL-terminated, without '\n'); waits at
 * most until t_end (< 0: forever). 1 line, 0 EOF, -1 timeout or error.
 * Lines longer than the buffer are cut into pieces. buf/nbuf carry
 * unread bytes between calls. */
static inline int api_read_line_(int fd, char *buf, size_t *nbuf, size_t cap,
                                 char *line, size_t line_cap, double t_end) {
  for (;;) {
    char *nl = memchr(buf, '\n', *nbuf);
    if (nl || *nbuf == cap) {
      size_t n = nl ? (size_t)(nl - buf) : *nbuf;
      size_t c = n < line_cap - 1 ? n : line_cap - 1;
      memcpy(line, buf, c);
      line[c] = '\0';
      if (c > 0 && line[c - 1] == '\r')
        line[c - 1] = '\0';
      size_t used = nl ? n + 1 : n;
      memmove(buf, buf + used, *nbuf - used);
      *nbuf -= used;
      return 1;
    }
    int wait_ms = -1;
    if (t_end >= 0) {
      double left = t_end - api_now_();
      if (left <= 0)
        return -1;
      wait_ms = (int)(left * 1000) + 1;
    }
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int pr = poll(&p, 1, wait_ms);
    if (pr < 0 && errno == EINTR)
      continue;
    if (pr < 0)
      return -1;
    if (pr == 0)
      continue; /* the deadline check above ends it */
    ssize_t got = read(fd, buf + *nbuf, cap - *nbuf);
    if (got < 0 && errno == EINTR)
      continue;
    if (got <= 0) {
      if (*nbuf > 0) { /* a last line without '\n' */
        size_t c = *nbuf < line_cap - 1 ? *nbuf : line_cap - 1;
        memcpy(line, buf, c);
        line[c] = '\0';
        *nbuf = 0;
        return 1;
      }
      return 0;
    }
    *nbuf += (size_t)got;
  }
}

typedef struct api_drain_arg_ {
  api_srv_slot_ *sl;
  char buf[8192];
  size_t nbuf;
} api_drain_arg_;

/* Echoes and keeps the server's stderr until it closes. */
static inline void *api_drain_main_(void *arg) {
  api_drain_arg_ *a = arg;
  char line[8192];
  while (api_read_line_(a->sl->fd, a->buf, &a->nbuf, sizeof a->buf, line,
                        sizeof line, -1) == 1) {
    fprintf(stderr, "[serve %d] %s\n", (int)a->sl->pid, line);
    api_srv_log_add_(a->sl, line, strlen(line));
  }
  free(a);
  return NULL;
}

/* Runs the CLI (argv[0] is the program) with stdin_text (NULL: /dev/null)
 * on its stdin; its stdout into out (NUL-terminated, cut to cap; may be
 * NULL); stderr passes through. The exit status (128 + signal; -1 when it
 * could not run or ran past 120 s). */
static inline int api_run_cli(const char *const *argv, const char *stdin_text,
                              char *out, size_t cap) {
  int in_p[2] = {-1, -1}, out_p[2] = {-1, -1};
  if (pipe(in_p) != 0 || pipe(out_p) != 0) {
    perror("api_run_cli: pipe");
    return -1;
  }
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid < 0) {
    perror("api_run_cli: fork");
    return -1;
  }
  if (pid == 0) {
    if (dup2(in_p[0], 0) < 0 || dup2(out_p[1], 1) < 0)
      _exit(126);
    close(in_p[0]);
    close(in_p[1]);
    close(out_p[0]);
    close(out_p[1]);
    execv(argv[0], (char *const *)argv);
    _exit(127);
  }
  close(in_p[0]);
  close(out_p[1]);
  signal(SIGPIPE, SIG_IGN);
  if (stdin_text) {
    size_t n = strlen(stdin_text), off = 0;
    while (off < n) {
      ssize_t w = write(in_p[1], stdin_text + off, n - off);
      if (w < 0 && errno == EINTR)
        continue;
      if (w <= 0)
        break;
      off += (size_t)w;
    }
  }
  close(in_p[1]);
  size_t nout = 0;
  double t_end = api_now_() + 120;
  for (;;) {
    char tmp[4096];
    struct pollfd p = {.fd = out_p[0], .events = POLLIN};
    int pr = poll(&p, 1, 200);
    if (pr < 0 && errno == EINTR)
      continue;
    if (pr == 0) {
      if (api_now_() > t_end)
        break;
      continue;
    }
    ssize_t got = read(out_p[0], tmp, sizeof tmp);
    if (got < 0 && errno == EINTR)
      continue;
    if (got <= 0)
      break;
    if (out && cap > 0) {
      size_t c = (size_t)got;
      if (nout + c > cap - 1)
        c = cap - 1 - nout;
      memcpy(out + nout, tmp, c);
      nout += c;
    }
  }
  if (out && cap > 0)
    out[nout] = '\0';
  close(out_p[0]);
  int st = 0;
  for (;;) {
    pid_t r = waitpid(pid, &st, WNOHANG);
    if (r == pid)
      break;
    if (r < 0)
      return -1;
    if (api_now_() > t_end) {
      fprintf(stderr, "api_run_cli: %s still running after 120 s: killed\n",
              argv[1] ? argv[1] : argv[0]);
      kill(pid, SIGKILL);
      waitpid(pid, &st, 0);
      return -1;
    }
    api_sleep_(0.02);
  }
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Removes a folder and everything in it (no-op for ""); symbolic links are
 * removed, not followed. */
static inline void api_rm_rf(const char *dir) {
  if (!dir || !dir[0])
    return;
  struct stat st;
  if (lstat(dir, &st) != 0)
    return;
  if (S_ISDIR(st.st_mode)) {
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
      if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
        continue;
      char sub[4096];
      if ((size_t)snprintf(sub, sizeof sub, "%s/%s", dir, e->d_name) <
          sizeof sub)
        api_rm_rf(sub);
    }
    if (d)
      closedir(d);
  }
  if (remove(dir) != 0)
    fprintf(stderr, "api_util: cannot remove %s: %s\n", dir, strerror(errno));
}

/* ---- users --------------------------------------------------------------- */

static inline const char *api_role_name(int role) {
  static const char *const names[4] = {"admin", "supervisor", "operator",
                                       "auditor"};
  return role >= 0 && role < 4 ? names[role] : "none";
}

/* "t-admin", ... (role in 0..3). */
static inline const char *api_user_name(int role) {
  static const char *const names[4] = {"t-admin", "t-supervisor", "t-operator",
                                       "t-auditor"};
  return role >= 0 && role < 4 ? names[role] : "";
}

/* "pw-t-admin-12345", ... */
static inline const char *api_user_password(int role) {
  static const char *const pw[4] = {"pw-t-admin-12345", "pw-t-supervisor-12345",
                                    "pw-t-operator-12345",
                                    "pw-t-auditor-12345"};
  return role >= 0 && role < 4 ? pw[role] : "";
}

/* `argus user add NAME --role ROLE --password-stdin --db DB`: 0 ok. */
static inline int api_user_add(const api_srv *s, const char *name,
                               const char *role, const char *password) {
  const char *cli = getenv("ARGUS_CLI");
  const char *args[12];
  int n = 0;
  args[n++] = cli;
  args[n++] = "user";
  args[n++] = "add";
  args[n++] = name;
  args[n++] = "--role";
  args[n++] = role;
  args[n++] = "--password-stdin";
  args[n++] = "--db";
  args[n++] = s->db;
  args[n] = NULL;
  char pw[256];
  snprintf(pw, sizeof pw, "%s\n", password);
  int st = api_run_cli(args, pw, NULL, 0);
  if (st != 0)
    fprintf(stderr, "api_util: argus user add %s --role %s: status %d\n", name,
            role, st);
  return st;
}

/* `argus user token NAME --db DB` into tok (trimmed): 0 ok. */
static inline int api_user_token(const api_srv *s, const char *name, char *tok,
                                 size_t cap) {
  const char *cli = getenv("ARGUS_CLI");
  const char *args[] = {cli, "user", "token", name, "--db", s->db, NULL};
  char out[1024];
  int st = api_run_cli(args, NULL, out, sizeof out);
  if (st != 0) {
    fprintf(stderr, "api_util: argus user token %s: status %d\n", name, st);
    return st ? st : -1;
  }
  /* The token: the last non-empty line, trimmed. */
  char *p = out + strlen(out);
  while (p > out && isspace((unsigned char)p[-1]))
    *--p = '\0';
  char *start = strrchr(out, '\n');
  start = start ? start + 1 : out;
  while (*start && isspace((unsigned char)*start))
    start++;
  if (!*start || strlen(start) >= cap) {
    fprintf(stderr, "api_util: argus user token %s: no token in '%s'\n", name,
            out);
    return -1;
  }
  snprintf(tok, cap, "%s", start);
  return 0;
}

/* ---- the server ---------------------------------------------------------- */

/* Starts `argus serve --db DB --listen 127.0.0.1:0 --models M extra...`
 * on a new temporary folder, after making the four users and their tokens
 * (unless flags has API_SRV_NO_USERS). extra_args: NULL-terminated, may be
 * NULL. Waits (60 s at most) until the server says it listens. 0 ok; else
 * says why on stderr, leaves nothing running and *s with pid 0. */
static inline int api_srv_start_ex(api_srv *s, const char *const *extra_args,
                                   unsigned flags) {
  memset(s, 0, sizeof *s);
  const char *cli = getenv("ARGUS_CLI");
  const char *models = getenv("ARGUS_MODELS_DIR");
  if (!cli || !cli[0]) {
    fprintf(stderr, "api_util: ARGUS_CLI is not set (run through CTest)\n");
    return -1;
  }
  curl_global_init(CURL_GLOBAL_DEFAULT);
  signal(SIGPIPE, SIG_IGN);
  snprintf(s->dir, sizeof s->dir, "/tmp/argus-api-XXXXXX");
  if (!mkdtemp(s->dir)) {
    perror("api_util: mkdtemp");
    s->dir[0] = '\0';
    return -1;
  }
  snprintf(s->db, sizeof s->db, "%s/argus.db", s->dir);

  if (!(flags & API_SRV_NO_USERS)) {
    for (int r = 0; r < 4; r++) {
      if (api_user_add(s, api_user_name(r), api_role_name(r),
                       api_user_password(r)) != 0 ||
          api_user_token(s, api_user_name(r), s->token[r],
                         sizeof s->token[r]) != 0)
        goto fail;
    }
  }

  const char *args[64];
  int n = 0;
  args[n++] = cli;
  args[n++] = "serve";
  args[n++] = "--db";
  args[n++] = s->db;
  args[n++] = "--listen";
  args[n++] = "127.0.0.1:0";
  if (models && models[0]) {
    args[n++] = "--models";
    args[n++] = models;
  }
  for (int i = 0; extra_args && extra_args[i] && n < 63; i++)
    args[n++] = extra_args[i];
  args[n] = NULL;

  pthread_mutex_lock(&api_srv_mu_);
  api_srv_slot_ *sl = NULL;
  for (int i = 0; !sl && i < API_SRV_MAX; i++)
    if (api_srv_slots_[i].pid == 0)
      sl = &api_srv_slots_[i];
  if (!sl) {
    pthread_mutex_unlock(&api_srv_mu_);
    fprintf(stderr, "api_util: more than %d servers\n", API_SRV_MAX);
    goto fail;
  }
  int ep[2];
  if (pipe(ep) != 0) {
    pthread_mutex_unlock(&api_srv_mu_);
    perror("api_util: pipe");
    goto fail;
  }
  fcntl(ep[0], F_SETFD, FD_CLOEXEC);
  fflush(stdout);
  fflush(stderr);
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    pthread_mutex_unlock(&api_srv_mu_);
    perror("api_util: fork");
    close(ep[0]);
    close(ep[1]);
    goto fail;
  }
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
      _exit(125);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(ep[1], 2) < 0)
      _exit(126);
    close(ep[1]);
    execv(cli, (char *const *)args);
    _exit(127);
  }
  close(ep[1]);
  memset(sl, 0, sizeof *sl);
  pthread_mutex_init(&sl->mu, NULL);
  sl->pid = pid;
  sl->fd = ep[0];
  sl->log = malloc(API_LOG_MAX);
  if (sl->log)
    sl->log[0] = '\0';
  pthread_mutex_unlock(&api_srv_mu_);
  s->pid = pid;

  /* Read stderr until "listening on URL". */
  api_drain_arg_ *da = calloc(1, sizeof *da);
  if (!da)
    goto fail;
  da->sl = sl;
  double t_end = api_now_() + 60;
  const char *const key = "argus serve: listening on ";
  char line[8192];
  int found = 0;
  for (;;) {
    int lr = api_read_line_(sl->fd, da->buf, &da->nbuf, sizeof da->buf, line,
                            sizeof line, t_end);
    if (lr != 1) {
      fprintf(stderr, "api_util: argus serve %s before it listened\n",
              lr == 0 ? "ended" : "said nothing for 60 s");
      break;
    }
    fprintf(stderr, "[serve %d] %s\n", (int)pid, line);
    api_srv_log_add_(sl, line, strlen(line));
    const char *k = strstr(line, key);
    if (k) {
      const char *url = k + strlen(key);
      size_t ul = strcspn(url, " \t");
      const char *colon = NULL;
      for (const char *c = url; c < url + ul; c++)
        if (*c == ':')
          colon = c;
      long port = colon ? strtol(colon + 1, NULL, 10) : 0;
      if (ul >= sizeof s->base || port <= 0 || port > 65535) {
        fprintf(stderr, "api_util: cannot read the address in '%s'\n", line);
        break;
      }
      memcpy(s->base, url, ul);
      s->base[ul] = '\0';
      s->port = (int)port;
      found = 1;
      break;
    }
  }
  if (pthread_create(&sl->th, NULL, api_drain_main_, da) == 0)
    sl->have_th = 1;
  else
    free(da);
  if (!found)
    goto fail;
  return 0;

fail:
  if (s->pid > 0) {
    api_srv tmp = *s;
    kill(tmp.pid, SIGKILL);
    /* api_srv_stop waits, joins the drain thread and removes the folder. */
    api_srv_slot_ *x = api_srv_slot_of_(tmp.pid);
    int st = 0;
    waitpid(tmp.pid, &st, 0);
    if (x) {
      if (x->have_th)
        pthread_join(x->th, NULL);
      close(x->fd);
      free(x->log);
      pthread_mutex_destroy(&x->mu);
      memset(x, 0, sizeof *x);
    }
  }
  api_rm_rf(s->dir);
  memset(s, 0, sizeof *s);
  return -1;
}

/* api_srv_start_ex with the four users. */
static inline int api_srv_start(api_srv *s, const char *const *extra_args) {
  return api_srv_start_ex(s, extra_args, 0);
}

/* Looks for a line of the server's stderr holding needle; copies it into
 * line (may be NULL). 1 found, 0 not. */
static inline int api_srv_log_find(const api_srv *s, const char *needle,
                                   char *line, size_t cap) {
  api_srv_slot_ *sl = api_srv_slot_of_(s->pid);
  int found = 0;
  if (!sl)
    return 0;
  pthread_mutex_lock(&sl->mu);
  const char *hit = sl->log ? strstr(sl->log, needle) : NULL;
  if (hit) {
    found = 1;
    if (line && cap > 0) {
      const char *b = hit;
      while (b > sl->log && b[-1] != '\n')
        b--;
      size_t n = strcspn(b, "\n");
      if (n > cap - 1)
        n = cap - 1;
      memcpy(line, b, n);
      line[n] = '\0';
    }
  }
  pthread_mutex_unlock(&sl->mu);
  return found;
}

/* Sends SIGTERM, waits at most timeout_s (then SIGKILL, said on stderr),
 * removes the folder. The exit status (128 + signal; -1 when it had to be
 * killed or was not running). */
static inline int api_srv_stop_status(api_srv *s, double timeout_s) {
  int ret = -1;
  if (s->pid > 0) {
    api_srv_slot_ *sl = api_srv_slot_of_(s->pid);
    kill(s->pid, SIGTERM);
    double t_end = api_now_() + timeout_s;
    int st = 0;
    for (;;) {
      pid_t r = waitpid(s->pid, &st, WNOHANG);
      if (r == s->pid) {
        ret = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        break;
      }
      if (r < 0)
        break;
      if (api_now_() > t_end) {
        fprintf(stderr,
                "api_util: argus serve (pid %d) still running %.0f s after "
                "SIGTERM: killed\n",
                (int)s->pid, timeout_s);
        kill(s->pid, SIGKILL);
        waitpid(s->pid, &st, 0);
        break;
      }
      api_sleep_(0.02);
    }
    if (sl) {
      if (sl->have_th)
        pthread_join(sl->th, NULL);
      close(sl->fd);
      pthread_mutex_lock(&api_srv_mu_);
      free(sl->log);
      pthread_mutex_destroy(&sl->mu);
      memset(sl, 0, sizeof *sl);
      pthread_mutex_unlock(&api_srv_mu_);
    }
  }
  api_rm_rf(s->dir);
  s->pid = 0;
  s->dir[0] = '\0';
  return ret;
}

/* SIGTERM, waits (30 s at most, then SIGKILL); removes the folder. */
static inline void api_srv_stop(api_srv *s) {
  int st = api_srv_stop_status(s, 30);
  if (st != 0)
    fprintf(stderr, "api_util: argus serve ended with status %d\n", st);
}

/* ---- HTTP ---------------------------------------------------------------- */

typedef struct api_buf_ {
  char *p;
  size_t n, cap;
  int oom;
} api_buf_;

static inline size_t api_body_cb_(char *data, size_t size, size_t nmemb,
                                  void *user) {
  api_buf_ *b = user;
  size_t n = size * nmemb;
  if (b->n + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->n + n + 1)
      cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
      b->oom = 1;
      return 0;
    }
    b->p = p;
    b->cap = cap;
  }
  memcpy(b->p + b->n, data, n);
  b->n += n;
  b->p[b->n] = '\0';
  return n;
}

static inline size_t api_header_cb_(char *data, size_t size, size_t nmemb,
                                    void *user) {
  api_resp *r = user;
  size_t n = size * nmemb;
  /* A new status line (after 100 Continue or a redirect) starts over. */
  if (n >= 5 && memcmp(data, "HTTP/", 5) == 0)
    r->headers[0] = '\0';
  else {
    size_t have = strlen(r->headers);
    size_t c = n;
    if (have + c > sizeof r->headers - 1)
      c = sizeof r->headers - 1 - have;
    memcpy(r->headers + have, data, c);
    r->headers[have + c] = '\0';
  }
  return n;
}

/* The general call: method, path (with the query), credentials (role 0..3:
 * its bearer token; -1: none; cookie: "argus_session=..." or NULL; csrf:
 * X-CSRF-Token or NULL), a body of n bytes (NULL: none) with its content
 * type (NULL: "application/json" when there is a body; "": no Content-Type
 * header), extra request headers ("Name: value", NULL-terminated list, may
 * be NULL). *out is filled (free with api_resp_free) whenever a response
 * came: 0; else -1 (*out then has status 0 and an empty body). Timeout
 * 30 s; TLS certificates are not verified (tests use self-signed ones). */
static inline int api_call_ex(const api_srv *s, const char *method,
                              const char *path, int role, const char *cookie,
                              const char *csrf, const void *body, size_t n,
                              const char *content_type,
                              const char *const *extra_headers, api_resp *out) {
  memset(out, 0, sizeof *out);
  CURL *c = curl_easy_init();
  if (!c)
    return -1;
  char url[4096];
  snprintf(url, sizeof url, "%s%s", s->base, path);
  api_buf_ b = {0};
  struct curl_slist *h = NULL;
  char line[1024];
  if (role >= 0 && role < 4) {
    snprintf(line, sizeof line, "Authorization: Bearer %s", s->token[role]);
    h = curl_slist_append(h, line);
  }
  if (cookie) {
    snprintf(line, sizeof line, "Cookie: %s", cookie);
    h = curl_slist_append(h, line);
  }
  if (csrf) {
    snprintf(line, sizeof line, "X-CSRF-Token: %s", csrf);
    h = curl_slist_append(h, line);
  }
  if (body) {
    if (!content_type)
      content_type = "application/json";
    if (content_type[0])
      snprintf(line, sizeof line, "Content-Type: %s", content_type);
    else
      snprintf(line, sizeof line, "Content-Type:");
    h = curl_slist_append(h, line);
  }
  for (int i = 0; extra_headers && extra_headers[i]; i++)
    h = curl_slist_append(h, extra_headers[i]);

  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
  curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, api_body_cb_);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, api_header_cb_);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, out);
  if (h)
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  if (strcmp(method, "HEAD") == 0)
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  else if (body || strcmp(method, "GET") != 0) {
    if (strcmp(method, "POST") != 0)
      curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (body || strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 ||
        strcmp(method, "PATCH") == 0) {
      curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
                       (curl_off_t)(body ? n : 0));
      curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? (const char *)body : "");
    }
  }
  CURLcode rc = curl_easy_perform(c);
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  char *ct = NULL;
  curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct);
  if (ct)
    snprintf(out->ctype, sizeof out->ctype, "%s", ct);
  curl_slist_free_all(h);
  curl_easy_cleanup(c);
  out->status = status;
  out->body = b.p ? b.p : calloc(1, 1);
  out->size = b.p ? b.n : 0;
  if (rc != CURLE_OK && status == 0) {
    fprintf(stderr, "api_util: %s %s: %s\n", method, path,
            curl_easy_strerror(rc));
    return -1;
  }
  if (rc != CURLE_OK) /* a response came, then the connection failed */
    fprintf(stderr, "api_util: %s %s: status %ld, then %s\n", method, path,
            status, curl_easy_strerror(rc));
  return 0;
}

/* A call with role's bearer token (-1: no credentials); body NUL-terminated
 * (NULL: none), content_type as in api_call_ex. 0: a response came. */
static inline int api_call(const api_srv *s, const char *method,
                           const char *path, int role, const char *body,
                           const char *content_type, api_resp *out) {
  return api_call_ex(s, method, path, role, NULL, NULL, body,
                     body ? strlen(body) : 0, content_type, NULL, out);
}

/* A call with a session cookie ("argus_session=...") and, when csrf is not
 * NULL, the X-CSRF-Token header. */
static inline int api_call_cookie(const api_srv *s, const char *method,
                                  const char *path, const char *cookie,
                                  const char *csrf, const char *body,
                                  const char *content_type, api_resp *out) {
  return api_call_ex(s, method, path, -1, cookie, csrf, body,
                     body ? strlen(body) : 0, content_type, NULL, out);
}

static inline void api_resp_free(api_resp *r) {
  free(r->body);
  r->body = NULL;
  r->size = 0;
}

/* The parsed body, or NULL (cJSON_Delete it). */
static inline cJSON *api_json(const api_resp *r) {
  return r->body ? cJSON_ParseWithLength(r->body, r->size) : NULL;
}

/* The value of the first response header called name (case-insensitive)
 * into buf; 1 found, 0 not. */
static inline int api_resp_header(const api_resp *r, const char *name,
                                  char *buf, size_t cap) {
  size_t nl = strlen(name);
  const char *p = r->headers;
  while (*p) {
    const char *e = strstr(p, "\r\n");
    size_t len = e ? (size_t)(e - p) : strlen(p);
    if (len > nl && p[nl] == ':' && strncasecmp(p, name, nl) == 0) {
      const char *v = p + nl + 1;
      while (*v == ' ' || *v == '\t')
        v++;
      size_t vl = len - (size_t)(v - p);
      if (cap > 0) {
        if (vl > cap - 1)
          vl = cap - 1;
        memcpy(buf, v, vl);
        buf[vl] = '\0';
      }
      return 1;
    }
    p = e ? e + 2 : p + len;
  }
  return 0;
}

/* The string member key of the JSON body into buf: 1 found, 0 not. */
static inline int api_json_str(const api_resp *r, const char *key, char *buf,
                               size_t cap) {
  cJSON *j = api_json(r);
  const cJSON *v = j ? cJSON_GetObjectItemCaseSensitive(j, key) : NULL;
  int ok = cJSON_IsString(v) && v->valuestring;
  if (ok)
    snprintf(buf, cap, "%s", v->valuestring);
  cJSON_Delete(j);
  return ok;
}

static inline const char *api_strcasestr_(const char *hay, const char *needle) {
  size_t n = strlen(needle);
  for (; *hay; hay++)
    if (strncasecmp(hay, needle, n) == 0)
      return hay;
  return NULL;
}

/* POST /api/v1/auth/login {name, password}: the session cookie
 * ("argus_session=VALUE", ready for api_call_cookie) and the CSRF token from
 * the body {"csrf": ...}. 0 on 200 with both; else the status (or -1) and
 * says why on stderr. resp_out (may be NULL) receives the response (free it
 * with api_resp_free). */
static inline int api_login_ex(const api_srv *s, const char *name,
                               const char *password,
                               char cookie_out[API_COOKIE_MAX],
                               char csrf_out[API_CSRF_MAX],
                               api_resp *resp_out) {
  cookie_out[0] = '\0';
  csrf_out[0] = '\0';
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "name", name);
  cJSON_AddStringToObject(o, "password", password);
  char *body = cJSON_PrintUnformatted(o);
  cJSON_Delete(o);
  api_resp r;
  int ret = -1;
  if (api_call(s, "POST", "/api/v1/auth/login", -1, body, NULL, &r) != 0)
    goto out;
  ret = r.status == 200 ? 0 : (int)r.status;
  if (ret != 0) {
    fprintf(stderr, "api_util: login %s: status %ld %s\n", name, r.status,
            r.body);
    goto out;
  }
  /* Set-Cookie: argus_session=VALUE; HttpOnly; ... (any of several). */
  const char *p = r.headers;
  while ((p = api_strcasestr_(p, "set-cookie:")) != NULL) {
    p += strlen("set-cookie:");
    while (*p == ' ')
      p++;
    if (strncmp(p, "argus_session=", 14) == 0) {
      size_t n = strcspn(p, ";\r\n");
      if (n < API_COOKIE_MAX) {
        memcpy(cookie_out, p, n);
        cookie_out[n] = '\0';
      }
      break;
    }
  }
  if (!cookie_out[0] || !api_json_str(&r, "csrf", csrf_out, API_CSRF_MAX)) {
    fprintf(stderr, "api_util: login %s: no session cookie or csrf:\n%s%s\n",
            name, r.headers, r.body);
    ret = -1;
  }
out:
  cJSON_free(body);
  if (resp_out)
    *resp_out = r;
  else
    api_resp_free(&r);
  return ret;
}

static inline int api_login(const api_srv *s, const char *name,
                            const char *password,
                            char cookie_out[API_COOKIE_MAX],
                            char csrf_out[API_CSRF_MAX]) {
  return api_login_ex(s, name, password, cookie_out, csrf_out, NULL);
}

/* Checks that r is a JSON error {error, message} with the given status and
 * (unless NULL) error code; says what differs on stderr. 1 yes, 0 no. */
static inline int api_is_error(const api_resp *r, long status,
                               const char *code) {
  cJSON *j = api_json(r);
  const cJSON *e = j ? cJSON_GetObjectItemCaseSensitive(j, "error") : NULL;
  const cJSON *m = j ? cJSON_GetObjectItemCaseSensitive(j, "message") : NULL;
  int ok = r->status == status && cJSON_IsString(e) && cJSON_IsString(m) &&
           (!code || strcmp(e->valuestring, code) == 0) &&
           strstr(r->ctype, "application/json") != NULL;
  if (!ok)
    fprintf(stderr,
            "api_util: expected %ld {error:%s, message} (JSON), got %ld "
            "(%s): %.300s\n",
            status, code ? code : "*", r->status, r->ctype,
            r->body ? r->body : "");
  cJSON_Delete(j);
  return ok;
}

#endif
