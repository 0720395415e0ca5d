/* `argus camera add|list|remove`: named video sources. URLs may carry
 * passwords: they are stored as given (the video module needs them) and
 * printed with the password masked. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "argus/video.h"
#include "cli/cli_json.h"
#include "cli/store_cli.h"

CLI_JSON_FN(camera_json, argus_store_camera, argus_store_camera_json)

static int camera_add_main(int argc, char **argv);
static void camera_add_usage(FILE *f);
static int camera_list_main(int argc, char **argv);
static void camera_list_usage(FILE *f);
static int camera_remove_main(int argc, char **argv);
static void camera_remove_usage(FILE *f);

static const cli_command camera_commands[] = {
    {"add", "add a camera: a name for a video source URL", camera_add_main,
     camera_add_usage},
    {"list", "list the cameras", camera_list_main, camera_list_usage},
    {"remove", "remove a camera (its alerts stay)", camera_remove_main,
     camera_remove_usage},
    {NULL, NULL, NULL, NULL},
};

void cli_camera_usage(FILE *f) {
  // clang-format off
  fputs("Usage: argus camera SUBCOMMAND [ARGS...] [--db PATH]\n"
        "\n"
        "Cameras are named video sources (RTSP, HTTP/HLS, files, V4L2 devices)\n"
        "with their settings.\n"
        "\n"
        "Subcommands:\n",
        f);
  cli_print_commands(f, camera_commands);
  fputs("\n"
        "Run 'argus camera SUBCOMMAND --help' for its options.\n",
        f);
  // clang-format on
}

int cli_camera_main(int argc, char **argv) {
  return store_cli_dispatch("camera", camera_commands, cli_camera_usage, argc,
                            argv);
}

enum { OPT_SETTINGS = STORE_OPT_NEXT, OPT_DISABLED };

static void camera_add_usage(FILE *f) {
  // clang-format off
  fputs("Usage: argus camera add NAME URL [--settings JSON] [--disabled]\n"
        "                       [--db PATH]\n"
        "\n"
        "Adds a camera. URL is anything the video module opens: rtsp://…,\n"
        "http(s)://…, a file, /dev/video0. A relative file path is stored as\n"
        "an absolute one (relative to the current folder).\n"
        "\n"
        "  --settings JSON  a JSON object of per-camera settings, e.g.\n"
        "                   '{\"fps\": 5, \"rtsp_transport\": \"tcp\"}':\n"
        "                     fps             analysed frames per second,\n"
        "                                     a number in (0, 1000]\n"
        "                     rtsp_transport  \"tcp\" (default) or \"udp\"\n"
        "                   any other key, or a value of another type, is\n"
        "                   refused\n"
        "  --disabled       stored but not watched\n"
        STORE_CLI_DB_HELP,
        f);
  // clang-format on
}

/* A file camera's path made absolute (relative to the current folder now,
 * not to wherever `argus watch` runs later); other URLs are copied as they
 * are. Returns 0, or -1 after a message. */
static int absolute_url(const char *cmd, const char *url, char *out,
                        size_t size) {
  int n;
  if (argus_video_classify_url(url) != ARGUS_VIDEO_SOURCE_FILE ||
      url[0] == '/' || strncmp(url, "file:", 5) == 0) {
    n = snprintf(out, size, "%s", url);
  } else {
    char *real = realpath(url, NULL);
    if (real) {
      n = snprintf(out, size, "%s", real);
      free(real);
    } else {
      char cwd[4096];
      if (!getcwd(cwd, sizeof cwd)) {
        cli_errorf(cmd, "cannot make '%s' an absolute path: %s", url,
                   strerror(errno));
        return -1;
      }
      const char *rel = url;
      while (strncmp(rel, "./", 2) == 0)
        rel += 2;
      n = snprintf(out, size, "%s/%s", strcmp(cwd, "/") ? cwd : "", rel);
    }
  }
  if (n < 0 || (size_t)n >= size) {
    cli_errorf(cmd, "URL is longer than %zu bytes", size - 1);
    return -1;
  }
  return 0;
}

static int camera_add_main(int argc, char **argv) {
  static const cli_opt opts[] = {STORE_CLI_DB_OPT,
                                 {"settings", 1, OPT_SETTINGS},
                                 {"disabled", 0, OPT_DISABLED},
                                 {NULL, 0, 0}};
  const char *cmd = "camera add";
  const char *db = NULL, *settings = NULL, *pos[2] = {NULL, NULL};
  int npos = 0, enabled = 1;
  cli_parser p;
  cli_parser_init(&p, argc, argv, cmd, opts);
  for (;;) {
    int id = cli_parse_next(&p);
    if (id == CLI_OPT_END)
      break;
    switch (id) {
    case CLI_OPT_HELP:
      camera_add_usage(stdout);
      return CLI_OK;
    case CLI_OPT_ERROR:
      return cli_bad_value(cmd);
    case STORE_OPT_DB:
      db = p.arg;
      break;
    case OPT_SETTINGS:
      settings = p.arg;
      break;
    case OPT_DISABLED:
      enabled = 0;
      break;
    case CLI_OPT_POSITIONAL:
      if (npos == 2) {
        cli_errorf(cmd, "unexpected argument '%s'", p.arg);
        return cli_bad_value(cmd);
      }
      pos[npos++] = p.arg;
      break;
    }
  }
  if (npos < 2) {
    cli_errorf(cmd, "missing %s", npos ? "URL" : "NAME and URL");
    return cli_bad_value(cmd);
  }
  if (!cli_json_utf8_arg(cmd, "NAME", pos[0]) ||
      !cli_json_utf8_arg(cmd, "URL", pos[1]))
    return cli_bad_value(cmd);
  /* The schema of the settings: a member argus does not know, or a value
   * of the wrong type, is refused here rather than ignored at watch time. */
  argus_store_error err = {{0}};
  argus_store_camera_settings cs;
  if (argus_store_camera_settings_parse(pos[0], settings, &cs, &err) !=
      ARGUS_OK) {
    cli_errorf(cmd, "--settings: %s", err.msg);
    return cli_bad_value(cmd);
  }
  char url[ARGUS_STORE_TEXT_MAX];
  if (absolute_url(cmd, pos[1], url, sizeof url) != 0)
    return cli_bad_value(cmd);
  argus_store *s = NULL;
  if (store_cli_open(cmd, db, &s) != CLI_OK)
    return CLI_FAIL;
  argus_store_id id = 0;
  argus_err e =
      argus_store_camera_add(s, pos[0], url, settings, enabled, &id, &err);
  argus_store_close(s);
  if (e != ARGUS_OK)
    return store_cli_error(cmd, e, &err);
  char red[ARGUS_STORE_TEXT_MAX];
  argus_store_url_redact(url, red, sizeof red);
  printf("added camera '%s' (id %lld): %s%s\n", pos[0], (long long)id, red,
         enabled ? "" : " (disabled)");
  return CLI_OK;
}

static void camera_list_usage(FILE *f) {
  // clang-format off
  fputs("Usage: argus camera list [--json] [--db PATH]\n"
        "\n"
        "Lists the cameras; passwords in URLs are shown as ***.\n"
        "\n"
        "  --json        one JSON array of objects\n"
        STORE_CLI_DB_HELP,
        f);
  // clang-format on
}

static int camera_list_main(int argc, char **argv) {
  static const cli_opt opts[] = {
      STORE_CLI_DB_OPT, {"json", 0, STORE_OPT_JSON}, {NULL, 0, 0}};
  const char *cmd = "camera list";
  const char *db = NULL;
  int json = 0;
  cli_parser p;
  cli_parser_init(&p, argc, argv, cmd, opts);
  for (;;) {
    int id = cli_parse_next(&p);
    if (id == CLI_OPT_END)
      break;
    switch (id) {
    case CLI_OPT_HELP:
      camera_list_usage(stdout);
      return CLI_OK;
    case CLI_OPT_ERROR:
      return cli_bad_value(cmd);
    case STORE_OPT_DB:
      db = p.arg;
      break;
    case STORE_OPT_JSON:
      json = 1;
      break;
    case CLI_OPT_POSITIONAL:
      cli_errorf(cmd, "unexpected argument '%s'", p.arg);
      return cli_bad_value(cmd);
    }
  }
  argus_store *s = NULL;
  if (store_cli_open_existing(cmd, db, &s) != CLI_OK)
    return CLI_FAIL;
  argus_store_error err = {{0}};
  argus_store_camera *c = NULL;
  size_t n = 0;
  argus_err e = argus_store_camera_list(s, &c, &n, &err);
  argus_store_close(s);
  if (e != ARGUS_OK)
    return store_cli_error(cmd, e, &err);
  int rc = CLI_OK;
  if (json) {
    if (cli_json_print_array(stdout, cmd, camera_json, c, n, sizeof *c))
      rc = CLI_FAIL;
  } else if (n == 0) {
    printf("no cameras (add one with 'argus camera add NAME URL')\n");
  } else {
    int width = 4;
    for (size_t i = 0; i < n; i++)
      if ((int)strlen(c[i].name) > width)
        width = (int)strlen(c[i].name);
    printf("%-*s  %-7s  %s\n", width, "NAME", "ENABLED", "URL");
    for (size_t i = 0; i < n; i++) {
      char red[ARGUS_STORE_TEXT_MAX];
      argus_store_url_redact(c[i].url, red, sizeof red);
      printf("%-*s  %-7s  %s%s%s\n", width, c[i].name,
             c[i].enabled ? "yes" : "no", red,
             strcmp(c[i].settings, "{}") ? "  " : "",
             strcmp(c[i].settings, "{}") ? c[i].settings : "");
    }
  }
  argus_store_free(c);
  return rc;
}

static void camera_remove_usage(FILE *f) {
  // clang-format off
  fputs("Usage: argus camera remove NAME [--db PATH]\n"
        "\n"
        "Removes a camera. Its alerts stay, with the camera's name.\n"
        STORE_CLI_DB_HELP,
        f);
  // clang-format on
}

static int camera_remove_main(int argc, char **argv) {
  static const cli_opt opts[] = {STORE_CLI_DB_OPT, {NULL, 0, 0}};
  const char *cmd = "camera remove";
  const char *db = NULL, *name = NULL;
  cli_parser p;
  cli_parser_init(&p, argc, argv, cmd, opts);
  for (;;) {
    int id = cli_parse_next(&p);
    if (id == CLI_OPT_END)
      break;
    switch (id) {
    case CLI_OPT_HELP:
      camera_remove_usage(stdout);
      return CLI_OK;
    case CLI_OPT_ERROR:
      return cli_bad_value(cmd);
    case STORE_OPT_DB:
      db = p.arg;
      break;
    case CLI_OPT_POSITIONAL:
      if (name) {
        cli_errorf(cmd, "unexpected argument '%s'", p.arg);
        return cli_bad_value(cmd);
      }
      name = p.arg;
      break;
    }
  }
  if (!name) {
    cli_errorf(cmd, "missing NAME");
    return cli_bad_value(cmd);
  }
  argus_store *s = NULL;
  if (store_cli_open(cmd, db, &s) != CLI_OK)
    return CLI_FAIL;
  argus_store_error err = {{0}};
  argus_err e = argus_store_camera_remove(s, name, &err);
  argus_store_close(s);
  if (e != ARGUS_OK)
    return store_cli_error(cmd, e, &err);
  printf("removed camera '%s'\n", name);
  return CLI_OK;
}
