/* The `argus` command: dispatches to one subcommand per file. */
#include <stdio.h>
#include <stdlib.h> /* setenv: --key-file */
#include <string.h>

#include "cli/cli.h"
#include "cli/face_cli.h"
#include "cli/video_cli.h"
#include "cli/store_cli.h"
#include "cli/gallery_cli.h"
#include "cli/watch_cli.h"

/* ---- encryption at rest (key.c) ---- */
int cli_key_main(int argc, char **argv);
void cli_key_usage(FILE *f);
/* ---- end encryption at rest ---- */

const cli_command cli_commands[] = {
    {"help", "show help for argus or for a command", cli_help_main,
     cli_help_usage},
    {"version", "print the version and the CPU instruction set in use",
     cli_version_main, cli_version_usage},
    {"nn", "inference engine: inspect, run and benchmark ONNX models",
     cli_nn_main, cli_nn_usage},
    {"detect", "find faces in images: boxes, landmarks, quality",
     cli_detect_main, cli_detect_usage},
    {"embed", "face embeddings of images or of aligned crops",
     cli_embed_main, cli_embed_usage},
    {"compare", "similarity of the best face pair of two images",
     cli_compare_main, cli_compare_usage},
    {"watchlist", "create, list, change and remove watchlists",
     cli_watchlist_main, cli_watchlist_usage},
    {"person", "enrol, list and remove persons", cli_person_main,
     cli_person_usage},
    {"import", "enrol a folder per person into a watchlist", cli_import_main,
     cli_import_usage},
    {"identify", "search the faces of images in the watchlists",
     cli_identify_main, cli_identify_usage},
    {"reindex", "make templates of the current model from stored crops",
     cli_reindex_main, cli_reindex_usage},
    {"eval", "A/B accuracy of two embedders or detectors on labelled data",
     cli_eval_main, cli_eval_usage},
    {"model", "register a model of another vendor with its card",
     cli_model_main, cli_model_usage},
    {"camera", "add, list and remove cameras", cli_camera_main,
     cli_camera_usage},
    {"alert", "review alerts: list, show, confirm, reject", cli_alert_main,
     cli_alert_usage},
    {"audit", "show the audit log", cli_audit_main, cli_audit_usage},
    {"key", "the key that encrypts templates and crops at rest",
     cli_key_main, cli_key_usage}, /* encryption at rest */
    {"retention", "how long each class of stored data is kept",
     cli_retention_main, cli_retention_usage},
    {"purge", "delete what has outlived its retention (--dry-run: list)",
     cli_purge_main, cli_purge_usage},
    {"user", "accounts of argus serve: users, roles, API tokens",
     cli_user_main, cli_user_usage},
    {"video", "camera sources: probe a URL, show stream and counters",
     cli_video_main, cli_video_usage},
    {"watch", "watch cameras and alert on watchlisted faces", cli_watch_main,
     cli_watch_usage},
    {"edge", "split role: cameras -> face events on NATS", cli_edge_main,
     cli_role_usage},
    {"match", "split role: face events on NATS -> alerts raised",
     cli_match_main, cli_role_usage},
    {"sink", "split role: alerts raised on NATS -> stored", cli_sink_main,
     cli_role_usage},
    {"loadgen", "synthetic face events on NATS, for load tests of match/sink",
     cli_loadgen_main, cli_loadgen_usage},
    {"demo", "set up a demo watchlist and camera and watch it live",
     cli_demo_main, cli_demo_usage},
    {"serve", "the operator service: REST API, live events, console",
     cli_serve_main, cli_serve_usage},
    {NULL, NULL, NULL, NULL},
};

const cli_command *cli_find_command(const char *name) {
  for (const cli_command *c = cli_commands; c->name; c++)
    if (strcmp(c->name, name) == 0)
      return c;
  return NULL;
}

void cli_print_commands(FILE *f, const cli_command *cmds) {
  for (const cli_command *c = cmds; c->name; c++)
    fprintf(f, "  %-10s %s\n", c->name, c->summary);
}

int main(int argc, char **argv) {
  int i = 1;
  /* Global options come before the command. */
  for (; i < argc && argv[i][0] == '-'; i++) {
    const char *a = argv[i];
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
      cli_help_usage(stdout);
      return CLI_OK;
    } else if (strcmp(a, "--version") == 0) {
      char *args[] = {"version", NULL};
      return cli_version_main(1, args);
    } else if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
      argus_log_set_level(argus_log_get_level() < ARGUS_LOG_INFO
                              ? ARGUS_LOG_INFO
                              : ARGUS_LOG_DEBUG);
    } else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
      argus_log_set_level(ARGUS_LOG_ERROR);
    } else if (strcmp(a, "--key-file") == 0 ||
               strncmp(a, "--key-file=", 11) == 0) {
      /* ---- encryption at rest: every store this process opens reads
       * its key from here (as ARGUS_KEY_FILE) */
      const char *f = a[10] == '=' ? a + 11 : (i + 1 < argc ? argv[++i] : NULL);
      if (!f || !f[0] || setenv("ARGUS_KEY_FILE", f, 1) != 0) {
        cli_errorf(NULL, "--key-file needs a FILE");
        return CLI_USAGE;
      }
      /* ---- end encryption at rest */
    } else {
      cli_errorf(NULL, "unknown option '%s'", a);
      cli_help_usage(stderr);
      return CLI_USAGE;
    }
  }
  if (i >= argc) {
    cli_help_usage(stderr);
    return CLI_USAGE;
  }
  const cli_command *c = cli_find_command(argv[i]);
  if (!c) {
    cli_errorf(NULL, "unknown command '%s'", argv[i]);
    fprintf(stderr, "Commands:\n");
    cli_print_commands(stderr, cli_commands);
    fprintf(stderr, "Run 'argus help' for usage.\n");
    return CLI_USAGE;
  }
  return c->run(argc - i, argv + i);
}
