/* `argus user` end to end: users added with --password-stdin (and refused
 * without it when stdin is not a terminal), listed as a table and as JSON,
 * their roles changed, disabled and enabled, passwords changed; the last
 * enabled admin protected; an API token printed once and alone on stdout,
 * listed without its text and revoked. Checks the results through the
 * store API. Runs the binary CTest names in ARGUS_CLI. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "argus/core.h"
#include "argus/store.h"
#include "check.h"

static const char *cli;
static char tmp[256];
static char db[320];

typedef struct result {
  int status; /* exit code, or 128 + signal */
  char out[65536];
  char err[65536];
} result;

static void slurp(const char *path, char *buf, size_t size) {
  buf[0] = '\0';
  FILE *f = fopen(path, "rb");
  if (!f)
    return;
  size_t n = fread(buf, 1, size - 1, f);
  buf[n] = '\0';
  fclose(f);
}

/* Runs argus with the NULL-terminated arguments and `input` on stdin (NULL:
 * /dev/null); stdout and stderr are read back into r. */
static void run(result *r, const char *input, const char *const *args) {
  char in[300], out[300], err[300];
  snprintf(in, sizeof in, "%s/stdin", tmp);
  snprintf(out, sizeof out, "%s/stdout", tmp);
  snprintf(err, sizeof err, "%s/stderr", tmp);
  FILE *f = fopen(in, "wb");
  if (f) {
    if (input)
      fputs(input, f);
    fclose(f);
  }
  const char *argv[32];
  int n = 0;
  argv[n++] = cli;
  for (; args[n - 1] && n < 31; n++)
    argv[n] = args[n - 1];
  argv[n] = NULL;
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid == 0) {
    int fi = open(in, O_RDONLY);
    int fo = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int fe = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fi < 0 || fo < 0 || fe < 0 || dup2(fi, 0) < 0 || dup2(fo, 1) < 0 ||
        dup2(fe, 2) < 0)
      _exit(126);
    execv(cli, (char *const *)argv);
    _exit(127);
  }
  int st = 0;
  r->status = -1;
  if (pid > 0 && waitpid(pid, &st, 0) == pid)
    r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  slurp(out, r->out, sizeof r->out);
  slurp(err, r->err, sizeof r->err);
}

/* Runs `argus user ARGS... --db <db>` with `input` on stdin. */
#define USER(r, input, ...)                                                    \
  do {                                                                         \
    const char *a_[] = {"user", __VA_ARGS__, "--db", db, NULL};                \
    run(r, input, a_);                                                         \
  } while (0)

#define CHECK_HAS(hay, needle)                                                 \
  do {                                                                         \
    check_count_++;                                                            \
    if (!strstr((hay), (needle))) {                                            \
      fprintf(stderr, "%s:%d: '%s' not in %s:\n%s\n", __FILE__, __LINE__,      \
              (needle), #hay, (hay));                                          \
      check_failures_++;                                                       \
    }                                                                          \
  } while (0)

static argus_store *open_store(void) {
  argus_store *s = NULL;
  argus_store_error err = {{0}};
  argus_store_options o = {.actor = "test"};
  if (argus_store_open(db, &o, &s, &err) != ARGUS_OK)
    fprintf(stderr, "open %s: %s\n", db, err.msg);
  return s;
}

static int password_ok(const char *name, const char *pw) {
  argus_store *s = open_store();
  int ok = -1;
  argus_store_error err = {{0}};
  if (s && argus_store_user_verify(s, name, pw, NULL, &ok, &err) != ARGUS_OK)
    ok = -1;
  argus_store_close(s);
  return ok;
}

static result r;

static void test_help(void) {
  const char *a[] = {"user", "--help", NULL};
  run(&r, NULL, a);
  CHECK_INT_EQ(r.status, 0);
  CHECK_HAS(r.out, "Usage: argus user SUBCOMMAND");
  CHECK_HAS(r.out, "passwd");
  CHECK_HAS(r.out, "revoke");
  const char *h[] = {"help", "user", "token", NULL};
  run(&r, NULL, h);
  CHECK_INT_EQ(r.status, 0);
  CHECK_HAS(r.out, "Usage: argus user token NAME");
  const char *top[] = {"--help", NULL};
  run(&r, NULL, top);
  CHECK_HAS(r.out, "user");
  const char *bad[] = {"user", "frobnicate", NULL};
  run(&r, NULL, bad);
  CHECK_INT_EQ(r.status, 2);
}

static void test_users(void) {
  /* stdin is not a terminal: --password-stdin is required */
  USER(&r, "secret password\n", "add", "root", "--role", "admin");
  CHECK_INT_EQ(r.status, 2);
  CHECK_HAS(r.err, "--password-stdin");
  USER(&r, "secret password\n", "add", "root", "--role", "admin",
       "--password-stdin");
  CHECK_INT_EQ(r.status, 0);
  CHECK_HAS(r.out, "added user 'root'");
  CHECK(strstr(r.out, "secret password") == NULL);
  CHECK(strstr(r.err, "secret password") == NULL);
  CHECK_INT_EQ(password_ok("root", "secret password"), 1);

  USER(&r, "another one\n", "add", "root", "--role", "operator",
       "--password-stdin");
  CHECK_INT_EQ(r.status, 1);
  CHECK_HAS(r.err, "already exists");
  USER(&r, "short\n", "add", "op", "--role", "operator", "--password-stdin");
  CHECK_INT_EQ(r.status, 1);
  CHECK_HAS(r.err, "shorter than 8");
  USER(&r, "long enough\n", "add", "op", "--role", "king",
       "--password-stdin");
  CHECK_INT_EQ(r.status, 2);
  CHECK_HAS(r.err, "unknown role");
  USER(&r, "long enough\n", "add", "op", "--password-stdin");
  CHECK_INT_EQ(r.status, 2);
  CHECK_HAS(r.err, "--role");
  USER(&r, "", "add", "op", "--role", "operator", "--password-stdin");
  CHECK_INT_EQ(r.status, 2);
  /* a CRLF line end is not part of the password */
  USER(&r, "operator pw\r\n", "add", "op", "--role", "operator",
       "--password-stdin");
  CHECK_INT_EQ(r.status, 0);
  CHECK_INT_EQ(password_ok("op", "operator pw"), 1);

  USER(&r, NULL, "list");
  CHECK_INT_EQ(r.status, 0);
  CHECK_HAS(r.out, "NAME");
  CHECK_HAS(r.out, "root");
  CHECK_HAS(r.out, "operator");
  USER(&r, NULL, "list", "--json");
  CHECK_INT_EQ(r.status, 0);
  CHECK(argus_json_validate(r.out, strlen(r.out), 0, NULL) == ARGUS_OK);
  CHECK_HAS(r.out, "\"name\":\"op\"");
  CHECK_HAS(r.out, "\"role\":\"admin\"");
  CHECK(strstr(r.out, "argon2") == NULL);

  /* the last enabled admin */
  USER(&r, NULL, "remove", "root");
  CHECK_INT_EQ(r.status, 1);
  CHECK_HAS(r.err, "last enabled admin");
  USER(&r, NULL, "disable", "root");
  CHECK_INT_EQ(r.status, 1);
  USER(&r, NULL, "role", "root", "auditor");
  CHECK_INT_EQ(r.status, 1);

  USER(&r, NULL, "role", "op", "supervisor");
  CHECK_INT_EQ(r.status, 0);
  CHECK_HAS(r.out, "supervisor");
  USER(&r, NULL, "role", "op", "emperor");
  CHECK_INT_EQ(r.status, 2);
  USER(&r, NULL, "role", "op");
  CHECK_INT_EQ(r.status, 2);
  USER(&r, NULL, "disable", "op");
  CHECK_INT_EQ(r.status, 0);
  CHECK_INT_EQ(password_ok("op", "operator pw"), 0);
  USER(&r, NULL, "enable", "op");
  CHECK_INT_EQ(r.status, 0);
  CHECK_INT_EQ(password_ok("op", "operator pw"), 1);
  USER(&r, NULL, "disable", "nobody");
  CHECK_INT_EQ(r.status, 1);
  CHECK_HAS(r.err, "no user 'nobody'");

  USER(&r, "changed password\n", "passwd", "op", "--password-stdin");
  CHECK_INT_EQ(r.status, 0);
  CHECK_INT_EQ(password_ok("op", "operator pw"), 0);
  CHECK_INT_EQ(password_ok("op", "changed password"), 1);
  USER(&r, "changed password\n", "passwd", "op");
  CHECK_INT_EQ(r.status, 2);
  USER(&r, "tiny\n", "passwd", "op", "--password-stdin");
  CHECK_INT_EQ(r.status, 1);
}

static void test_tokens(void) {
  USER(&r, NULL, "token", "op", "--label", "dispatch");
  CHECK_INT_EQ(r.status, 0);
  /* only the token, one line */
  CHECK(strncmp(r.out, "argus_", 6) == 0);
  CHECK_INT_EQ(strlen(r.out), 6 + 43 + 1);
  CHECK(r.out[strlen(r.out) - 1] == '\n');
  char token[80];
  snprintf(token, sizeof token, "%.*s", (int)strcspn(r.out, "\n"), r.out);
  argus_store *s = open_store();
  argus_store_error err = {{0}};
  argus_store_user u;
  int ok = -1;
  CHECK(s != NULL);
  if (s) {
    CHECK_OK(argus_store_token_check(s, token, &u, &ok, &err));
    CHECK_INT_EQ(ok, 1);
    CHECK(strcmp(u.name, "op") == 0);
  }
  argus_store_close(s);

  USER(&r, NULL, "token", "root", "--expires", "2001-01-01T00:00:00Z");
  CHECK_INT_EQ(r.status, 0);
  USER(&r, NULL, "token", "root", "--expires", "tomorrow");
  CHECK_INT_EQ(r.status, 1);
  USER(&r, NULL, "token", "nobody");
  CHECK_INT_EQ(r.status, 1);

  USER(&r, NULL, "tokens");
  CHECK_INT_EQ(r.status, 0);
  CHECK_HAS(r.out, "dispatch");
  CHECK_HAS(r.out, "never");
  CHECK_HAS(r.out, "2001-01-01T00:00:00.000Z");
  CHECK(strstr(r.out, token) == NULL);
  USER(&r, NULL, "tokens", "--json");
  CHECK_INT_EQ(r.status, 0);
  CHECK(argus_json_validate(r.out, strlen(r.out), 0, NULL) == ARGUS_OK);
  CHECK_HAS(r.out, "\"name\":\"dispatch\"");
  CHECK(strstr(r.out, "argus_") == NULL);
  /* the dispatch token is the older one: id 1 */
  USER(&r, NULL, "revoke", "1");
  CHECK_INT_EQ(r.status, 0);
  USER(&r, NULL, "revoke", "1");
  CHECK_INT_EQ(r.status, 1);
  USER(&r, NULL, "revoke", "x");
  CHECK_INT_EQ(r.status, 2);
  s = open_store();
  if (s) {
    CHECK_OK(argus_store_token_check(s, token, &u, &ok, &err));
    CHECK_INT_EQ(ok, 0);
    /* audited by the CLI, never with a secret */
    argus_store_audit *a = NULL;
    size_t n = 0;
    argus_store_audit_filter f = {.action = "token."};
    CHECK_OK(argus_store_audit_query(s, &f, &a, &n, &err));
    CHECK_INT_EQ(n, 3);
    for (size_t i = 0; i < n; i++) {
      CHECK(strncmp(a[i].actor, "cli:", 4) == 0);
      CHECK(strstr(a[i].detail, "argus_") == NULL);
    }
    argus_store_free(a);
  }
  argus_store_close(s);

  /* removing a user takes its tokens */
  USER(&r, NULL, "remove", "op");
  CHECK_INT_EQ(r.status, 0);
  USER(&r, NULL, "list");
  CHECK(strstr(r.out, "supervisor") == NULL);
}

static int rm_cb(const char *path, const struct stat *sb, int flag,
                 struct FTW *ftw) {
  (void)sb;
  (void)flag;
  (void)ftw;
  return remove(path);
}

int main(void) {
  cli = getenv("ARGUS_CLI");
  if (!cli || !*cli)
    SKIP("ARGUS_CLI is not set (CTest sets it to the argus binary)");
  const char *base = getenv("TMPDIR");
  snprintf(tmp, sizeof tmp, "%s/argus-user-cli-XXXXXX",
           base && *base ? base : "/tmp");
  if (!mkdtemp(tmp)) {
    perror("mkdtemp");
    return 1;
  }
  snprintf(db, sizeof db, "%s/argus.db", tmp);
  argus_log_set_level(ARGUS_LOG_ERROR);
  test_help();
  test_users();
  test_tokens();
  int rc = check_report("test_user_cli");
  if (rc == 0)
    nftw(tmp, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
  else
    fprintf(stderr, "kept %s for inspection\n", tmp);
  return rc;
}
