/* `argus help [COMMAND [SUBCOMMAND]]` and the top-level usage text. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

void cli_help_usage(FILE *f) {
  // clang-format off
  fputs("argus - live face recognition\n"
        "\n"
        "Usage: argus [-v|--verbose] [-q|--quiet] COMMAND [ARGS...]\n"
        "\n"
        "Commands:\n",
        f);
  cli_print_commands(f, cli_commands);
  fputs("\n"
        "Global options:\n"
        "  -v, --verbose  more log output (twice: debug)\n"
        "  -q, --quiet    only errors\n"
        "  -h, --help     this help\n"
        "      --version  same as 'argus version'\n"
        "      --key-file FILE  the key that encrypts templates and crops at\n"
        "                 rest (as ARGUS_KEY_FILE; argus help key)\n"
        "\n"
        "Environment:\n"
        "  ARGUS_ISA=ref|avx2|avx512  limit the CPU kernels used\n"
        "  ARGUS_NN_PROFILE=1         per-node timings (argus nn bench --profile)\n"
        "  ARGUS_PRECISION=f32|bf16|int8  override the model cards' precision\n"
        "  ARGUS_NN_NO_PAIRS=1        keep bf16 sessions' maps in float32\n"
        "  ARGUS_NN_NO_UP2=1          run 2x Resizes on their own, not in their Add\n"
        "  ARGUS_NN_NO_PW_RELU=1      keep a 1x1 conv with a ReLU apart from its depthwise conv\n"
        "  ARGUS_KEY_FILE=FILE        the encryption key at rest (or ARGUS_KEY=HEX)\n"
        "\n"
        "Run 'argus help COMMAND [SUBCOMMAND]' or 'argus COMMAND --help' for the options\n"
        "of a command.\n",
        f);
  // clang-format on
}

/* Commands whose first argument is a subcommand that answers --help with
 * its own usage (store_cli_dispatch and video's dispatcher). `nn` has an
 * exported table and is looked up directly. */
static const char *const with_subcommands[] = {
    "watchlist", "person", "camera", "video", "alert", "user",
    "key", /* encryption at rest */
    NULL,
};

/* `argus help CMD SUB`: SUB's usage on stdout and CLI_OK, or a usage error
 * naming SUB when CMD has no such subcommand (or none at all). */
static int sub_help(const cli_command *c, char *sub) {
  if (c->run == cli_nn_main) {
    const cli_command *s = cli_nn_find_command(sub);
    if (!s) {
      cli_errorf("help", "'%s' has no subcommand '%s'", c->name, sub);
      return CLI_USAGE;
    }
    s->usage(stdout);
    return CLI_OK;
  }
  int has = 0;
  for (size_t i = 0; with_subcommands[i]; i++)
    if (strcmp(with_subcommands[i], c->name) == 0)
      has = 1;
  if (!has || sub[0] == '-') {
    if (has)
      cli_errorf("help", "'%s' has no subcommand '%s'", c->name, sub);
    else
      cli_errorf("help", "'%s' has no subcommands (got '%s')", c->name, sub);
    fprintf(stderr, "Run 'argus help %s' for its usage.\n", c->name);
    return CLI_USAGE;
  }
  /* The dispatcher finds SUB (or reports it unknown, exit 2) and SUB's
   * option parser prints its usage for --help before doing anything. */
  char name[32], h[] = "--help";
  snprintf(name, sizeof name, "%s", c->name);
  char *args[] = {name, sub, h, NULL};
  return c->run(3, args);
}

int cli_help_main(int argc, char **argv) {
  if (argc <= 1) {
    cli_help_usage(stdout);
    return CLI_OK;
  }
  if (argc > 3) {
    cli_errorf("help", "too many arguments");
    fprintf(stderr, "Usage: argus help [COMMAND [SUBCOMMAND]]\n");
    return CLI_USAGE;
  }
  if (argv[1][0] == '-') {
    if (argc == 2 &&
        (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
      fprintf(stdout, "Usage: argus help [COMMAND [SUBCOMMAND]]\n\n"
                      "Shows the usage of argus or of one of its commands.\n");
      return CLI_OK;
    }
    cli_errorf("help", "unknown option '%s'", argv[1]);
    return CLI_USAGE;
  }
  const cli_command *c = cli_find_command(argv[1]);
  if (!c) {
    cli_errorf("help", "unknown command '%s'", argv[1]);
    fprintf(stderr, "Commands:\n");
    cli_print_commands(stderr, cli_commands);
    return CLI_USAGE;
  }
  if (argc == 3)
    return sub_help(c, argv[2]);
  c->usage(stdout);
  return CLI_OK;
}
