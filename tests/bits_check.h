/* Bit-for-bit comparison of a fast kernel's float output with its C
 * reference's (tests of the bf16 and int8 kernels). */
#ifndef ARGUS_TESTS_BITS_CHECK_H
#define ARGUS_TESTS_BITS_CHECK_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

static inline uint32_t float_bits(float f) {
  uint32_t u;
  memcpy(&u, &f, 4);
  return u;
}

/* Elements (i, j), i < rows, j < cols, at i*ld + j of got and ref that
 * differ in any bit; the first one is printed after `what`. */
static inline size_t bits_differ(const char *what, const float *got,
                                 const float *ref, size_t rows, size_t cols,
                                 size_t ld) {
  size_t diff = 0;
  for (size_t i = 0; i < rows; i++)
    for (size_t j = 0; j < cols; j++) {
      float g = got[i * ld + j], r = ref[i * ld + j];
      if (float_bits(g) == float_bits(r))
        continue;
      if (!diff)
        fprintf(stderr, "%s (%zu,%zu): %.9g (%08x) vs ref %.9g (%08x)\n", what,
                i, j, g, float_bits(g), r, float_bits(r));
      diff++;
    }
  return diff;
}

#endif
