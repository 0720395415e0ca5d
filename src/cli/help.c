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
        "\n"
        "Environment:\n"
        "  ARGUS_ISA=ref|avx2|avx512  limit the CPU kernels used\n"
        "  ARGUS_NN_PROFILE=1         per-node timings (argus nn bench --profile)\n"
        "\n"
        "Run 'argus help COMMAND' or 'argus COMMAND --help' for the options of a command.\n",
        f);
  // clang-format on
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
  if (argc == 3) {
    const cli_command *sub =
        c->run == cli_nn_main ? cli_nn_find_command(argv[2]) : NULL;
    if (!sub) {
      cli_errorf("help", "'%s' has no subcommand '%s'", argv[1], argv[2]);
      return CLI_USAGE;
    }
    sub->usage(stdout);
    return CLI_OK;
  }
  c->usage(stdout);
  return CLI_OK;
}
