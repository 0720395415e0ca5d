/* The CLI's JSON printing through the core writer. */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cli_json.h"

#define JSON_BUF_START ((size_t)16 << 10)
#define JSON_BUF_MAX ((size_t)1 << 30)

static char *g_buf;
static size_t g_cap;

int cli_json_print(FILE *f, const char *cmd, cli_json_fn fn, const void *rec) {
  for (;;) {
    if (!g_buf) {
      g_buf = malloc(JSON_BUF_START);
      if (!g_buf) {
        cli_errorf(cmd, "out of memory");
        return -1;
      }
      g_cap = JSON_BUF_START;
    }
    argus_json j;
    argus_json_init(&j, g_buf, g_cap);
    fn(rec, &j);
    size_t n = argus_json_finish(&j);
    if (n) {
      fwrite(g_buf, 1, n, f);
      return 0;
    }
    if (!j.overflow) {
      cli_errorf(cmd, "internal error: JSON output not well formed");
      return -1;
    }
    if (g_cap >= JSON_BUF_MAX) {
      cli_errorf(cmd, "JSON output over %zu MiB", JSON_BUF_MAX >> 20);
      return -1;
    }
    char *nb = realloc(g_buf, g_cap * 2);
    if (!nb) {
      cli_errorf(cmd, "out of memory");
      return -1;
    }
    g_buf = nb;
    g_cap *= 2;
  }
}

int cli_json_print_array(FILE *f, const char *cmd, cli_json_fn fn,
                         const void *recs, size_t n, size_t size) {
  fputc('[', f);
  for (size_t i = 0; i < n; i++) {
    if (i)
      fputs(",\n ", f);
    if (cli_json_print(f, cmd, fn, (const char *)recs + i * size) != 0)
      return -1;
  }
  fputs("]\n", f);
  return 0;
}

int cli_json_utf8_arg(const char *cmd, const char *what, const char *s) {
  if (!s || argus_utf8_valid(s, strlen(s)))
    return 1;
  cli_errorf(cmd,
             "%s is not valid UTF-8 (names and paths that argus stores must "
             "be UTF-8 text)",
             what);
  return 0;
}
