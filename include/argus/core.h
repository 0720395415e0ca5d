/*
 * argus core: error codes, logging, CPU features, thread pool, time.
 *
 * Every public argus function returns an argus_err (ARGUS_OK == 0) and writes
 * results through out-parameters. Nothing in the library aborts on caller input
 * or on out-of-memory.
 */
#ifndef ARGUS_CORE_H
#define ARGUS_CORE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* X-macro: (NAME, message). One table feeds the enum and argus_strerror(). */
#define ARGUS_ERRNO_MAP(X)                                                     \
  X(OK, "success")                                                             \
  X(INVALID_ARG, "invalid argument")                                           \
  X(NOMEM, "out of memory")                                                    \
  X(IO, "input/output error")                                                  \
  X(NOT_FOUND, "not found")                                                    \
  X(CORRUPT, "corrupt or malformed data")                                      \
  X(UNSUPPORTED, "unsupported feature")                                        \
  X(LIMIT, "size limit exceeded")                                              \
  X(SHAPE, "tensor shape mismatch")                                            \
  X(CHECKSUM, "checksum mismatch")                                             \
  X(INTERNAL, "internal error")                                                \
  X(CANCELLED, "operation cancelled")

typedef enum argus_err {
#define ARGUS_ERR_ENUM_(name, msg) ARGUS_E_##name,
  ARGUS_ERRNO_MAP(ARGUS_ERR_ENUM_)
#undef ARGUS_ERR_ENUM_
  ARGUS_E_COUNT_
} argus_err;

#define ARGUS_OK ARGUS_E_OK

/* Static message for an error code; never NULL. */
const char *argus_strerror(argus_err err);
/* Upper-case symbolic name of an error code ("CORRUPT"); never NULL. */
const char *argus_errname(argus_err err);

/* ---- logging ---------------------------------------------------------- */
typedef enum argus_log_level {
  ARGUS_LOG_ERROR = 0,
  ARGUS_LOG_WARN = 1,
  ARGUS_LOG_INFO = 2,
  ARGUS_LOG_DEBUG = 3
} argus_log_level;

/* A log sink receives one formatted line (no trailing newline). */
typedef void (*argus_log_sink)(void *user, argus_log_level level,
                               const char *module, const char *line);

/* Replace the process-wide sink (NULL restores stderr). `user` is borrowed. */
void argus_log_set_sink(argus_log_sink sink, void *user);
void argus_log_set_level(argus_log_level level);
argus_log_level argus_log_get_level(void);
void argus_log(argus_log_level level, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void argus_logv(argus_log_level level, const char *module, const char *fmt,
                va_list ap) __attribute__((format(printf, 3, 0)));

/* ---- CPU features ----------------------------------------------------- */
enum {
  ARGUS_CPU_AVX2 = 1u << 0,   /* AVX2 + FMA + F16C, with OS YMM state */
  ARGUS_CPU_AVX512 = 1u << 1, /* AVX-512 F/BW/DQ/VL, with OS ZMM state */
  ARGUS_CPU_AVX512_VNNI = 1u << 2,
  ARGUS_CPU_AVX512_BF16 = 1u << 3,
  ARGUS_CPU_AVX512_VPOPCNTDQ = 1u << 4, /* vpopcntq (with ARGUS_CPU_AVX512) */
};

/* Detected features of this CPU, masked by ARGUS_ISA (env: "ref", "avx2",
 * "avx512") when it is set, so that every code path can be forced in tests. */
unsigned argus_cpu_features(void);
/* Short name of the widest ISA in use: "avx512", "avx2" or "ref". */
const char *argus_cpu_isa_name(void);

/* Flush denormals to zero for the calling thread (MXCSR FTZ+DAZ). */
void argus_cpu_set_ftz(void);

/* ---- thread pool ------------------------------------------------------ */
typedef struct argus_threadpool argus_threadpool;

/* Work item: processes indices [begin, end) of a range; `tid` is the index
 * of the executing thread (0 .. threads-1), usable for per-thread scratch. */
typedef void (*argus_task_fn)(void *ctx, size_t begin, size_t end, int tid);

/* Creates a pool of `threads` workers (the caller counts as one; 0 = number
 * of online CPUs). Every worker sets FTZ/DAZ. */
argus_err argus_threadpool_create(int threads, argus_threadpool **out);
void argus_threadpool_destroy(argus_threadpool *pool);
int argus_threadpool_size(const argus_threadpool *pool);
/* Runs fn over [0, n) split in chunks of at least `grain` items and waits for
 * all of them. pool may be NULL (runs inline on the caller, tid 0). Not
 * re-entrant: a task must not call parallel_for on the same pool. */
void argus_threadpool_parallel_for(argus_threadpool *pool, size_t n,
                                   size_t grain, argus_task_fn fn, void *ctx);

/* ---- time ------------------------------------------------------------- */
/* Monotonic clock in nanoseconds. */
uint64_t argus_time_ns(void);

/* ---- SHA-256 (FIPS 180-4) --------------------------------------------- */
typedef struct argus_sha256 {
  uint32_t h[8];
  uint64_t len;
  uint8_t buf[64];
  size_t nbuf;
} argus_sha256;
void argus_sha256_init(argus_sha256 *s);
void argus_sha256_update(argus_sha256 *s, const void *data, size_t n);
void argus_sha256_final(argus_sha256 *s, uint8_t out[32]);
/* Digest of a buffer as 64 lower-case hex digits and a NUL. */
void argus_sha256_hex(const void *data, size_t n, char out[65]);

/* ---- version ---------------------------------------------------------- */
const char *argus_version(void);

#ifdef __cplusplus
}
#endif
#endif
