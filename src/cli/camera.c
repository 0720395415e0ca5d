/* `argus camera add|list|remove`: named video sources. URLs may carry
 * passwords: they are stored as given (the video module needs them) and
 * printed with the password masked. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "argus/policy.h"
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
static int camera_set_main(int argc, char **argv);
static void camera_set_usage(FILE *f);

static const cli_command camera_commands[] = {
    {"add", "add a camera: a name for a video source URL", camera_add_main,
     camera_add_usage},
    {"set", "change a camera's settings or recognition policy", camera_set_main,
     camera_set_usage},
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

enum {
  OPT_SETTINGS = STORE_OPT_NEXT,
  OPT_DISABLED,
  OPT_ENABLED,
  OPT_MODE,
  OPT_MASK,
  OPT_WINDOW,
  OPT_LEGAL_REF,
  OPT_NO_MASKS,
  OPT_NO_WINDOWS
};

// clang-format off
#define POLICY_HELP                                                            \
  "                     policy          the recognition policy (below)\n"     \
  "                   any other key, or a value of another type, is\n"        \
  "                   refused\n"                                              \
  "\n"                                                                        \
  "Recognition policy (the \"policy\" member of the settings; these options\n"\
  "change it, see docs/lawful-use.md):\n"                                      \
  "  --mode MODE      match (default: detect, embed, search), detect (faces\n" \
  "                   counted and tracked, never embedded nor searched) or\n"  \
  "                   off (frames not analysed at all)\n"                      \
  "  --window FROM/TO/MODE  MODE applies from FROM to TO (RFC 3339 UTC\n"      \
  "                   instants), e.g. 2026-12-06T10:00:00Z/2026-12-06T22:00:00Z/off;\n" \
  "                   or every day between UTC times of day, e.g.\n"           \
  "                   22:00/06:00/detect;\n"                                  \
  "                   repeatable; overlapping windows: the most restrictive\n" \
  "  --mask \"X,Y X,Y X,Y ...\"  a polygon in the camera's frame pixels: faces\n" \
  "                   centred inside are never embedded; repeatable (3..32\n"  \
  "                   points, at most 16 masks)\n"                             \
  "  --legal-ref TEXT the legal basis (e.g. \"court order 123/26\"), kept\n"  \
  "                   with the policy and in the audit log\n"
// clang-format on

/* Policy options gathered from the command line. */
#define CLI_POLICY_MAX_ARGS 64
typedef struct policy_args {
  const char *mode, *legal_ref;
  const char *masks[CLI_POLICY_MAX_ARGS];
  int nmasks;
  const char *windows[CLI_POLICY_MAX_ARGS];
  int nwindows;
  int no_masks, no_windows;
} policy_args;

static int policy_args_any(const policy_args *a) {
  return a->mode || a->legal_ref || a->nmasks || a->nwindows || a->no_masks ||
         a->no_windows;
}

/* Takes one policy option; returns 1 when id was one. */
static int policy_arg(const char *cmd, policy_args *a, int id, const char *arg,
                      int *bad) {
  switch (id) {
  case OPT_MODE:
    a->mode = arg;
    return 1;
  case OPT_LEGAL_REF:
    a->legal_ref = arg;
    return 1;
  case OPT_NO_MASKS:
    a->no_masks = 1;
    return 1;
  case OPT_NO_WINDOWS:
    a->no_windows = 1;
    return 1;
  case OPT_MASK:
  case OPT_WINDOW: {
    int *n = id == OPT_MASK ? &a->nmasks : &a->nwindows;
    if (*n == CLI_POLICY_MAX_ARGS) {
      cli_errorf(cmd, "too many --%s", id == OPT_MASK ? "mask" : "window");
      *bad = 1;
    } else {
      (id == OPT_MASK ? a->masks : a->windows)[(*n)++] = arg;
    }
    return 1;
  }
  }
  return 0;
}

/* "x,y x,y x,y" into a JSON array of points. NULL after a message. */
static cJSON *mask_json(const char *cmd, const char *text) {
  cJSON *poly = cJSON_CreateArray();
  const char *p = text;
  while (poly && *p) {
    while (*p == ' ' || *p == '\t')
      p++;
    if (!*p)
      break;
    char *end = NULL;
    errno = 0;
    double x = strtod(p, &end);
    if (end == p || *end != ',') {
      cli_errorf(cmd,
                 "--mask \"%s\": expected X,Y pairs separated by "
                 "spaces",
                 text);
      cJSON_Delete(poly);
      return NULL;
    }
    p = end + 1;
    double y = strtod(p, &end);
    if (end == p || (*end && *end != ' ' && *end != '\t') || !isfinite(x) ||
        !isfinite(y)) {
      cli_errorf(cmd,
                 "--mask \"%s\": expected X,Y pairs of finite numbers "
                 "separated by spaces",
                 text);
      cJSON_Delete(poly);
      return NULL;
    }
    p = end;
    cJSON *pt = cJSON_CreateArray();
    if (!pt || !cJSON_AddItemToArray(poly, pt) ||
        !cJSON_AddItemToArray(pt, cJSON_CreateNumber(x)) ||
        !cJSON_AddItemToArray(pt, cJSON_CreateNumber(y))) {
      cJSON_Delete(poly);
      return NULL;
    }
  }
  return poly;
}

/* "FROM/TO/MODE" into a window object. NULL after a message. */
static cJSON *window_json(const char *cmd, const char *text) {
  const char *a = strchr(text, '/');
  const char *b = a ? strchr(a + 1, '/') : NULL;
  if (!a || !b || strchr(b + 1, '/')) {
    cli_errorf(cmd,
               "--window \"%s\": expected FROM/TO/MODE, e.g. "
               "2026-12-06T10:00:00Z/2026-12-06T22:00:00Z/off",
               text);
    return NULL;
  }
  char from[64], to[64];
  if ((size_t)(a - text) >= sizeof from || (size_t)(b - a - 1) >= sizeof to) {
    cli_errorf(cmd, "--window \"%.80s\": an instant is too long", text);
    return NULL;
  }
  snprintf(from, sizeof from, "%.*s", (int)(a - text), text);
  snprintf(to, sizeof to, "%.*s", (int)(b - a - 1), a + 1);
  cJSON *w = cJSON_CreateObject();
  /* Times of day (no date): a window every day. */
  if (w && !strchr(from, 'T') && !strchr(to, 'T') &&
      !cJSON_AddStringToObject(w, "every", "day")) {
    cJSON_Delete(w);
    return NULL;
  }
  if (w && (!cJSON_AddStringToObject(w, "from", from) ||
            !cJSON_AddStringToObject(w, "to", to) ||
            !cJSON_AddStringToObject(w, "mode", b + 1))) {
    cJSON_Delete(w);
    w = NULL;
  }
  return w;
}

/* Replaces member key of obj with v (taken). */
static int put(cJSON *obj, const char *key, cJSON *v) {
  if (!v)
    return -1;
  cJSON_DeleteItemFromObjectCaseSensitive(obj, key);
  if (!cJSON_AddItemToObject(obj, key, v)) {
    cJSON_Delete(v);
    return -1;
  }
  return 0;
}

/* The settings `base` (NULL: "{}") with the policy options applied into
 * out: the policy given by the options changes the base's: --mode and
 * --legal-ref replace theirs, --mask/--window replace the list (--no-masks,
 * --no-windows empty it). Returns 0, or -1 after a message. */
static int apply_policy_args(const char *cmd, const char *base,
                             const policy_args *a, char *out, size_t size) {
  cJSON *doc = cJSON_Parse(base && base[0] ? base : "{}");
  if (!cJSON_IsObject(doc)) {
    cli_errorf(cmd, "--settings: expected a JSON object");
    cJSON_Delete(doc);
    return -1;
  }
  int rc = -1;
  cJSON *pol = cJSON_GetObjectItemCaseSensitive(doc, "policy");
  if (!cJSON_IsObject(pol)) {
    if (put(doc, "policy", cJSON_CreateObject()) != 0)
      goto out;
    pol = cJSON_GetObjectItemCaseSensitive(doc, "policy");
  }
  if (a->mode && put(pol, "mode", cJSON_CreateString(a->mode)) != 0)
    goto out;
  if (a->legal_ref &&
      put(pol, "legal_ref", cJSON_CreateString(a->legal_ref)) != 0)
    goto out;
  if (a->nmasks || a->no_masks) {
    cJSON *arr = cJSON_CreateArray();
    if (put(pol, "masks", arr) != 0)
      goto out;
    for (int i = 0; i < a->nmasks; i++) {
      cJSON *m = mask_json(cmd, a->masks[i]);
      if (!m || !cJSON_AddItemToArray(arr, m))
        goto out;
    }
  }
  if (a->nwindows || a->no_windows) {
    cJSON *arr = cJSON_CreateArray();
    if (put(pol, "windows", arr) != 0)
      goto out;
    for (int i = 0; i < a->nwindows; i++) {
      cJSON *w = window_json(cmd, a->windows[i]);
      if (!w || !cJSON_AddItemToArray(arr, w))
        goto out;
    }
  }
  if (!cJSON_PrintPreallocated(doc, out, (int)size, 0)) {
    cli_errorf(cmd, "settings are longer than %zu bytes", size - 1);
    goto out;
  }
  rc = 0;
out:
  cJSON_Delete(doc);
  return rc;
}

static void camera_add_usage(FILE *f) {
  // clang-format off
  fputs("Usage: argus camera add NAME URL [--settings JSON] [--disabled]\n"
        "                       [--mode MODE] [--window FROM/TO/MODE]...\n"
        "                       [--mask \"X,Y X,Y X,Y\"]... [--legal-ref TEXT]\n"
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
        POLICY_HELP
        "\n"
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
                                 {"mode", 1, OPT_MODE},
                                 {"mask", 1, OPT_MASK},
                                 {"window", 1, OPT_WINDOW},
                                 {"legal-ref", 1, OPT_LEGAL_REF},
                                 {NULL, 0, 0}};
  const char *cmd = "camera add";
  const char *db = NULL, *settings = NULL, *pos[2] = {NULL, NULL};
  int npos = 0, enabled = 1, bad = 0;
  policy_args pa;
  memset(&pa, 0, sizeof pa);
  cli_parser p;
  cli_parser_init(&p, argc, argv, cmd, opts);
  for (;;) {
    int id = cli_parse_next(&p);
    if (id == CLI_OPT_END)
      break;
    if (policy_arg(cmd, &pa, id, p.arg, &bad)) {
      if (bad)
        return cli_bad_value(cmd);
      continue;
    }
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
  static char merged[ARGUS_STORE_JSON_MAX];
  if (policy_args_any(&pa)) {
    if (apply_policy_args(cmd, settings, &pa, merged, sizeof merged) != 0)
      return cli_bad_value(cmd);
    settings = merged;
  }
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

static void camera_set_usage(FILE *f) {
  // clang-format off
  fputs("Usage: argus camera set NAME [--settings JSON] [--mode MODE]\n"
        "                       [--window FROM/TO/MODE]... [--no-windows]\n"
        "                       [--mask \"X,Y X,Y X,Y\"]... [--no-masks]\n"
        "                       [--legal-ref TEXT] [--enabled|--disabled]\n"
        "                       [--db PATH]\n"
        "\n"
        "Changes a camera. --settings replaces its settings; the policy options\n"
        "then change the \"policy\" member of the settings (the stored ones when\n"
        "--settings is not given). The change is audited (camera.update) with\n"
        "the policy, its legal reference and the time it takes effect (now);\n"
        "a running 'argus serve' restarts the camera with it.\n"
        "\n"
        "  --settings JSON  the settings object, as for 'argus camera add'\n"
        POLICY_HELP
        "  --no-windows     remove the policy's windows\n"
        "  --no-masks       remove the policy's masks\n"
        "\n"
        "  --enabled, --disabled  watch it or not\n"
        STORE_CLI_DB_HELP,
        f);
  // clang-format on
}

static int camera_set_main(int argc, char **argv) {
  static const cli_opt opts[] = {STORE_CLI_DB_OPT,
                                 {"settings", 1, OPT_SETTINGS},
                                 {"disabled", 0, OPT_DISABLED},
                                 {"enabled", 0, OPT_ENABLED},
                                 {"mode", 1, OPT_MODE},
                                 {"mask", 1, OPT_MASK},
                                 {"window", 1, OPT_WINDOW},
                                 {"legal-ref", 1, OPT_LEGAL_REF},
                                 {"no-masks", 0, OPT_NO_MASKS},
                                 {"no-windows", 0, OPT_NO_WINDOWS},
                                 {NULL, 0, 0}};
  const char *cmd = "camera set";
  const char *db = NULL, *settings = NULL, *name = NULL;
  int enabled = -1, bad = 0;
  policy_args pa;
  memset(&pa, 0, sizeof pa);
  cli_parser p;
  cli_parser_init(&p, argc, argv, cmd, opts);
  for (;;) {
    int id = cli_parse_next(&p);
    if (id == CLI_OPT_END)
      break;
    if (policy_arg(cmd, &pa, id, p.arg, &bad)) {
      if (bad)
        return cli_bad_value(cmd);
      continue;
    }
    switch (id) {
    case CLI_OPT_HELP:
      camera_set_usage(stdout);
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
    case OPT_ENABLED:
      enabled = 1;
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
  if (!settings && !policy_args_any(&pa) && enabled < 0) {
    cli_errorf(cmd, "nothing to change (--settings, a policy option, "
                    "--enabled or --disabled)");
    return cli_bad_value(cmd);
  }
  argus_store *s = NULL;
  if (store_cli_open_existing(cmd, db, &s) != CLI_OK)
    return CLI_FAIL;
  argus_store_error err = {{0}};
  static argus_store_camera cur;
  static char merged[ARGUS_STORE_JSON_MAX];
  argus_err e = argus_store_camera_get(s, name, &cur, &err);
  if (e != ARGUS_OK) {
    argus_store_close(s);
    return store_cli_error(cmd, e, &err);
  }
  if (policy_args_any(&pa)) {
    if (apply_policy_args(cmd, settings ? settings : cur.settings, &pa, merged,
                          sizeof merged) != 0) {
      argus_store_close(s);
      return cli_bad_value(cmd);
    }
    settings = merged;
  }
  if (settings && argus_store_camera_settings_parse(
                      name, settings, &(argus_store_camera_settings){0},
                      &err) != ARGUS_OK) {
    argus_store_close(s);
    cli_errorf(cmd, "%s", err.msg);
    return cli_bad_value(cmd);
  }
  e = argus_store_camera_update(s, name, NULL, settings, enabled, &err);
  argus_store_close(s);
  if (e != ARGUS_OK)
    return store_cli_error(cmd, e, &err);
  argus_policy pol;
  argus_policy_from_settings(settings ? settings : cur.settings, &pol, NULL,
                             NULL);
  printf("changed camera '%s': recognition %s, %d window(s), %d mask(s)%s%s\n",
         name, argus_policy_mode_name(pol.mode), pol.nwindows, pol.nmasks,
         pol.legal_ref[0] ? "; legal reference: " : "", pol.legal_ref);
  return CLI_OK;
}
