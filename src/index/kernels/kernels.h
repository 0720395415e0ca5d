/*
 * Scoring kernels of the index: a small GEMM-like microkernel per template
 * storage type (fp32, fp16, int8) and ISA, all with one contract, plus the
 * fp16 converter, and the Hamming scan and fp32 dot product of the sketch
 * index (sketch.c).
 * They follow the engine's convention (src/nn/kernels): one kernel per file
 * per ISA, kernels/<isa>/ix_<name>_<isa>.c, with its plain C reference in
 * kernels/ref/; a const table per ISA level (ix_kernels_ref, _avx2,
 * _avx512, _avx512vnni, _avx512icl), one of which ix_kernels_get() picks
 * once from argus_cpu_features() (which honours ARGUS_ISA) and logs.
 * tests/test_index.c, test_index_sketch.c and test_kernels.c check every
 * kernel against its reference.
 *
 * Template storage ("blocks"): templates are grouped 16 to a block and each
 * block is stored dimension-major (struct-of-arrays inside the block), so a
 * SIMD register loads one dimension of 16 templates and a tile of scores is
 * built with broadcast multiply-adds, like a GEMM, without horizontal sums:
 *   fp32/fp16: element (template t, dim j) of a block at  j*16 + t
 *   int8:      element (t, j) at  (j/4)*64 + t*4 + j%4,  dims padded to a
 *              multiple of 4 with zeros; stored as uint8 = value + 128 (the
 *              unsigned operand of VNNI's vpdpbusd), value in [-127, 127].
 * Blocks are ix_block_bytes() apart; unused lanes of the last block are zero.
 *
 * Queries are packed per group of at most `max_q` (ix_pack_* in index.c):
 *   f32: qf[j*nq + q]                     (fp32 and fp16 templates)
 *   s8:  qs[(g*nq + q)*4 + j%4], g = j/4   plus qscale[q] and qsum[q] (sum of
 *        the query's int8 values, for the +128 offset of the templates)
 *
 * Output: scores[q*ld + b*16 + t] for query q, block b, lane t, for every
 * lane of every block (callers ignore the padding lanes). For int8 the score
 * is (float)dot(int8 template, int8 query) * tscale[template] * qscale[q].
 * Kernels never allocate and read only what the contract names.
 */
#ifndef ARGUS_INDEX_KERNELS_H
#define ARGUS_INDEX_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "core/kernels/kernels.h"

#define IX_LANES 16 /* templates per block */
#define IX_MAX_Q 16 /* largest max_q of any kernel */

typedef enum ix_elem { IX_F32 = 0, IX_F16 = 1, IX_S8 = 2 } ix_elem;

typedef struct ix_qpack {
  int nq;              /* 1 .. kernel max_q */
  size_t dim;          /* f32 path: dims; s8 path: dims rounded up to 4 */
  const float *qf;     /* f32/f16 kernels */
  const int8_t *qs;    /* s8 kernels */
  const float *qscale; /* s8: nq */
  const int32_t *qsum; /* s8: nq */
} ix_qpack;

/* Scores nq packed queries against nblocks consecutive blocks starting at
 * `blocks`. tscale: per template scales of those blocks (s8 only, else
 * unused). */
typedef void (*ix_tile_fn)(const ix_qpack *q, const void *blocks,
                           const float *tscale, size_t nblocks, float *scores,
                           size_t ld);

/* fp32 -> fp16 (round to nearest even), n values. */
typedef void (*ix_f32_to_f16_fn)(const float *src, uint16_t *dst, size_t n);

/* Dot product sum_i a[i]*b[i] of two fp32 vectors, n >= 0 (0 gives 0). The
 * sketch re-ranks its candidates with it on the stored unit vectors. The
 * kernels are core's (src/core/kernels: core_f32_dot_*), shared with the
 * engine's table, so the index never reaches into the engine. */
typedef float (*ix_dot_fn)(const float *a, const float *b, size_t n);

/* Hamming scan of the sketch index. Codes are nw 64-bit words, stored 16 to
 * a block, word-major: word w of code t of block b at
 * codes[(b*nw + w)*16 + t]; codes is 64-byte aligned. Scans nblocks blocks
 * from block b0 against the query code q (nw words) and appends (row
 * b*16 + t, distance) of every code whose Hamming distance to q is below
 * thr, in row order, to out_row / out_dist (room for nblocks*16); returns
 * how many. */
typedef size_t (*ix_hamming_scan_fn)(const uint64_t *codes, size_t nw,
                                     size_t b0, size_t nblocks,
                                     const uint64_t *q, uint32_t thr,
                                     uint32_t *out_row, uint32_t *out_dist);

typedef struct ix_kernel {
  const char *isa; /* "ref", "avx2", "avx512", "avx512vnni" */
  int max_q;       /* queries per call */
  ix_tile_fn tile;
} ix_kernel;

typedef struct ix_kernels {
  const char *name; /* "ref", "avx2", "avx512", "avx512vnni" */
  ix_kernel k[3];   /* by ix_elem */
  ix_f32_to_f16_fn to_f16;
  const char *to_f16_isa;
  ix_dot_fn dot;
  const char *dot_isa;
  ix_hamming_scan_fn scan;
  const char *scan_isa; /* "ref", "popcnt", "avx512" */
} ix_kernels;

/* The tables, one per ISA level. Entries without a faster version at a level
 * are those of the level below (the avx512 table scores int8 with the AVX2
 * kernel; avx512vnni is avx512 with the VNNI int8 kernel; avx512icl,
 * AVX-512 with VNNI and VPOPCNTDQ as on Ice Lake and Zen 4, adds the
 * VPOPCNTQ Hamming scan). The x86 tables may only be called when
 * argus_cpu_features() reports their ISA; on other architectures they alias
 * the reference. */
extern const ix_kernels ix_kernels_ref;
extern const ix_kernels ix_kernels_avx2;
extern const ix_kernels ix_kernels_avx512;
extern const ix_kernels ix_kernels_avx512vnni;
extern const ix_kernels ix_kernels_avx512icl;
#define IX_MAX_TABLES 5

/* The best table for this CPU (honouring ARGUS_ISA), chosen once and
 * logged at debug level. Never NULL. */
const ix_kernels *ix_kernels_get(void);
/* Every table this CPU can run, reference first, for the tests: fills up to
 * `max` entries, returns how many. */
int ix_kernel_tables_all(const ix_kernels **out, int max);
/* Every kernel of one element type this CPU can run, reference first, for
 * the tests: fills up to `max` entries, returns how many. */
int ix_kernels_all(ix_elem e, ix_kernel *out, int max);
/* Every fp16 converter this CPU can run (reference first). */
int ix_f16_converters_all(ix_f32_to_f16_fn *out, const char **names, int max);

/* Bytes of one block for `dim` dimensions. */
static inline size_t ix_block_bytes(ix_elem e, size_t dim) {
  switch (e) {
  case IX_F32:
    return dim * IX_LANES * 4;
  case IX_F16:
    return dim * IX_LANES * 2;
  default:
    return (dim + 3) / 4 * 4 * IX_LANES;
  }
}

/* Reference conversions (exact IEEE behaviour, round to nearest even). */
uint16_t ix_f32_to_f16_1(float f);
float ix_f16_to_f32_1(uint16_t h);

/* The kernels. The ISA ones may run only when the CPU has the ISA. */
void ix_f32_tile_ref(const ix_qpack *, const void *, const float *, size_t,
                     float *, size_t);
void ix_f16_tile_ref(const ix_qpack *, const void *, const float *, size_t,
                     float *, size_t);
void ix_s8_tile_ref(const ix_qpack *, const void *, const float *, size_t,
                    float *, size_t);
void ix_f32_to_f16_ref(const float *, uint16_t *, size_t);
size_t ix_hamming_scan_ref(const uint64_t *, size_t, size_t, size_t,
                           const uint64_t *, uint32_t, uint32_t *, uint32_t *);

void ix_f32_tile_avx2(const ix_qpack *, const void *, const float *, size_t,
                      float *, size_t);
void ix_f16_tile_avx2(const ix_qpack *, const void *, const float *, size_t,
                      float *, size_t);
void ix_s8_tile_avx2(const ix_qpack *, const void *, const float *, size_t,
                     float *, size_t);
void ix_f32_to_f16_avx2(const float *, uint16_t *, size_t);
size_t ix_hamming_scan_avx2(const uint64_t *, size_t, size_t, size_t,
                            const uint64_t *, uint32_t, uint32_t *, uint32_t *);

void ix_f32_tile_avx512(const ix_qpack *, const void *, const float *, size_t,
                        float *, size_t);
void ix_f16_tile_avx512(const ix_qpack *, const void *, const float *, size_t,
                        float *, size_t);
void ix_f32_to_f16_avx512(const float *, uint16_t *, size_t);
size_t ix_hamming_scan_avx512(const uint64_t *, size_t, size_t, size_t,
                              const uint64_t *, uint32_t, uint32_t *,
                              uint32_t *);

void ix_s8_tile_avx512vnni(const ix_qpack *, const void *, const float *,
                           size_t, float *, size_t);

#define IX_MAX_Q_REF 8
#define IX_MAX_Q_AVX2 6
#define IX_MAX_Q_AVX2_S8 4
#define IX_MAX_Q_AVX512 12

#endif
