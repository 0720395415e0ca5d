/* Links against libargus.so (ARGUS_SHARED=ON) and uses the public API
 * through it; internal functions must not be reachable. */
#define _GNU_SOURCE /* RTLD_DEFAULT */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "argus/core.h"
#include "argus/index.h"

int main(void) {
  int failed = 0;
  if (strcmp(argus_errname(ARGUS_E_NOMEM), "NOMEM") != 0) {
    fprintf(stderr, "argus_errname: %s\n", argus_errname(ARGUS_E_NOMEM));
    failed = 1;
  }
  argus_index_config cfg;
  argus_index_config_init(&cfg);
  cfg.model_id = "m";
  cfg.dim = 4;
  argus_index *idx = NULL;
  argus_error_detail err;
  float v[4] = {1, 2, 3, 4};
  argus_index_hit hit;
  size_t nf = 0;
  if (argus_index_create(&cfg, &idx, &err) != ARGUS_OK ||
      argus_index_add(idx, 7, 0, v, &err) != ARGUS_OK ||
      argus_index_search(idx, v, 1, 1, NULL, &hit, &nf, &err) != ARGUS_OK ||
      nf != 1 || hit.id != 7) {
    fprintf(stderr, "index through libargus.so failed: %s\n", err.msg);
    failed = 1;
  }
  argus_index_destroy(idx);
  /* Internal functions of several modules stay hidden. */
  static const char *const internal[] = {"ix_kernels_get", "nn_kernels_get",
                                         "img_kernels_get"};
  for (size_t i = 0; i < sizeof internal / sizeof *internal; i++) {
    if (dlsym(RTLD_DEFAULT, internal[i])) {
      fprintf(stderr, "internal symbol %s is exported\n", internal[i]);
      failed = 1;
    }
  }
  if (!dlsym(RTLD_DEFAULT, "argus_index_create")) {
    fprintf(stderr, "argus_index_create is not exported\n");
    failed = 1;
  }
  printf("shared_link: %s\n", failed ? "FAILED" : "ok");
  return failed;
}
