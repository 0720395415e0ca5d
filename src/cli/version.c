/* `argus version`: the version and the CPU kernels this machine gets. */
#include <stdio.h>

#include "cli/cli.h"

void cli_version_usage(FILE *f) {
  // clang-format off
  fputs("Usage: argus version\n"
        "\n"
        "Prints the argus version, the widest CPU instruction set whose kernels are\n"
        "in use (avx512, avx2 or ref; ARGUS_ISA limits it) and the detected CPU features.\n",
        f);
  // clang-format on
}

int cli_version_main(int argc, char **argv) {
  cli_parser p;
  cli_parser_init(&p, argc, argv, "version", NULL);
  int o = cli_parse_next(&p);
  if (o == CLI_OPT_HELP) {
    cli_version_usage(stdout);
    return CLI_OK;
  }
  if (o != CLI_OPT_END) {
    if (o == CLI_OPT_POSITIONAL)
      cli_errorf("version", "unexpected argument '%s'", p.arg);
    cli_version_usage(stderr);
    return CLI_USAGE;
  }
  unsigned f = argus_cpu_features();
  printf("argus %s\n", argus_version());
  printf("isa: %s (features:%s%s%s%s%s)\n", argus_cpu_isa_name(),
         f & ARGUS_CPU_AVX2 ? " avx2" : "",
         f & ARGUS_CPU_AVX512 ? " avx512" : "",
         f & ARGUS_CPU_AVX512_VNNI ? " avx512-vnni" : "",
         f & ARGUS_CPU_AVX512_BF16 ? " avx512-bf16" : "", f ? "" : " none");
  return CLI_OK;
}
