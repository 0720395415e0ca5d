/* Running the argus command from a test: the binary CTest names in
 * ARGUS_CLI, with its standard output and error captured through files in a
 * test's temporary folder, and removing that folder afterwards.
 *
 *   static const char *cli, *models;
 *   static char tmp[256];
 *   #define RUN(r, ...) CLI_RUN(cli, tmp, models, 0, r, __VA_ARGS__)
 *   static cli_result r;    (large: keep it static)
 *   RUN(&r, "watchlist", "create", "w", "--db", db);
 *
 * Header-only (static functions) for the tests that include it. */
#ifndef ARGUS_TESTS_CLI_UTIL_H
#define ARGUS_TESTS_CLI_UTIL_H

#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct cli_result {
  int status; /* exit status; 128 + signal; -1 when it could not run */
  char out[1 << 20];
  char err[1 << 16];
} cli_result;

/* The file at path into buf (NUL-terminated, cut at size - 1); "" when it
 * cannot be read. */
static void cli_slurp(const char *path, char *buf, size_t size) {
  buf[0] = '\0';
  FILE *f = fopen(path, "rb");
  if (!f)
    return;
  size_t n = fread(buf, 1, size - 1, f);
  buf[n] = '\0';
  fclose(f);
}

/* Runs `cli args...` (args ends with NULL, at most 126 of them) with its
 * output in dir/stdout and dir/stderr, read back into r. models: when not
 * NULL, the child's ARGUS_MODELS, and ARGUS_PLUGIN is unset for it.
 * verbose: a non-zero exit prints the command's stderr. */
static void cli_run(const char *cli, const char *dir, const char *models,
                    int verbose, cli_result *r, const char *const *args) {
  char out[300], err[300];
  snprintf(out, sizeof out, "%s/stdout", dir);
  snprintf(err, sizeof err, "%s/stderr", dir);
  const char *argv[128];
  int n = 0;
  argv[n++] = cli;
  for (; args[n - 1] && n < 127; n++)
    argv[n] = args[n - 1];
  argv[n] = NULL;
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid == 0) {
    int fo = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int fe = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fo < 0 || fe < 0 || dup2(fo, 1) < 0 || dup2(fe, 2) < 0)
      _exit(126);
    if (models) {
      setenv("ARGUS_MODELS", models, 1);
      unsetenv("ARGUS_PLUGIN");
    }
    execv(cli, (char *const *)argv);
    _exit(127);
  }
  int st = 0;
  r->status = -1;
  if (pid > 0 && waitpid(pid, &st, 0) == pid)
    r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  cli_slurp(out, r->out, sizeof r->out);
  cli_slurp(err, r->err, sizeof r->err);
  if (verbose && r->status != 0)
    fprintf(stderr, "exit %d, stderr:\n%.2000s\n", r->status, r->err);
}

#define CLI_RUN(cli, dir, models, verbose, r, ...)                             \
  do {                                                                         \
    const char *cli_a_[] = {__VA_ARGS__, NULL};                                \
    cli_run(cli, dir, models, verbose, r, cli_a_);                             \
  } while (0)

static int cli_rm_cb(const char *path, const struct stat *sb, int flag,
                     struct FTW *ftw) {
  (void)sb;
  (void)flag;
  (void)ftw;
  return remove(path);
}

/* Removes dir and everything under it (symbolic links are not followed). */
static void cli_rm_tree(const char *dir) {
  nftw(dir, cli_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

#endif
