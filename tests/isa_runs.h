/* Runs a test program once per ISA this CPU has (ARGUS_ISA=ref, avx2,
 * avx512), each in a fresh process, since kernels are chosen once per
 * process. */
#ifndef ARGUS_TEST_ISA_RUNS_H
#define ARGUS_TEST_ISA_RUNS_H

#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "argus/core.h"

/* When ARGUS_ISA is set, returns -1: the caller runs its tests in this
 * process. Otherwise re-runs the program (argv) under each ISA and returns
 * 0 when every run passed, else 1. */
static inline int isa_runs(char **argv, const char *name) {
  const char *forced = getenv("ARGUS_ISA");
  if (forced && *forced)
    return -1;
  unsigned f = argus_cpu_features();
  const char *isas[3] = {"ref", "avx2", "avx512"};
  int have[3] = {1, (f & ARGUS_CPU_AVX2) != 0, (f & ARGUS_CPU_AVX512) != 0};
  int failed = 0;
  for (int i = 0; i < 3; i++) {
    if (!have[i]) {
      printf("(no %s on this CPU)\n", isas[i]);
      continue;
    }
    printf("--- ARGUS_ISA=%s\n", isas[i]);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
      setenv("ARGUS_ISA", isas[i], 1);
      execv("/proc/self/exe", argv);
      _exit(127);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0) {
      fprintf(stderr, "%s: the ARGUS_ISA=%s run failed\n", name, isas[i]);
      failed++;
    }
  }
  return failed ? 1 : 0;
}

#endif
