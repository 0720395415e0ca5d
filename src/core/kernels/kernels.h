/* Kernels that more than one module uses, one file per ISA with its C
 * reference in ref/ (the convention of nn, image and index). They are not
 * picked here: each module's own dispatch table takes the entry for the ISA
 * it chose (nn's `dot` for 1x1 rows, the index's `dot` for the sketch's
 * exact re-rank), so that one kernel serves both and is tested once
 * (tests/test_kernels.c, against the reference and in double precision). */
#ifndef ARGUS_CORE_KERNELS_H
#define ARGUS_CORE_KERNELS_H

#include <stddef.h>

/* Dot product sum_i a[i]*b[i] of two fp32 vectors, n >= 0 (0 gives 0). */
float core_f32_dot_ref(const float *a, const float *b, size_t n);
float core_f32_dot_avx2(const float *a, const float *b, size_t n);
float core_f32_dot_avx512(const float *a, const float *b, size_t n);

#endif
