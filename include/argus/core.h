/*
 * argus core: error codes and error details, logging, CPU features, thread
 * pool, time and RFC 3339, a bounded JSON writer, an int64-keyed hash map,
 * SHA-256 and the SIGINT/SIGTERM flag: the pieces every module shares.
 *
 * Every public argus function returns an argus_err (ARGUS_OK == 0) and writes
 * results through out-parameters. Nothing in the library aborts on caller input
 * or on out-of-memory.
 */
#ifndef ARGUS_CORE_H
#define ARGUS_CORE_H

#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "argus/export.h"

ARGUS_BEGIN_DECLS

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

/* ---- error detail ----------------------------------------------------- */
/* A detailed, human-readable reason for a failure, filled by the function
 * that returns the error code ("fr_detect.card.json: 'thresholds' ..."). Every
 * module's error type (argus_store_error, argus_image_error, ...) is this
 * struct under its own name. */
#define ARGUS_ERROR_DETAIL_MAX 512
typedef struct argus_error_detail {
  char msg[ARGUS_ERROR_DETAIL_MAX];
} argus_error_detail;

/* Formats a message into e->msg (cut to its size, always NUL-terminated).
 * e may be NULL (nothing happens). */
void argus_error_detail_set(argus_error_detail *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void argus_error_detail_setv(argus_error_detail *e, const char *fmt,
                             va_list ap) __attribute__((format(printf, 2, 0)));

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

/* The failure of a call, in one line: formats the reason into err (may be
 * NULL), logs it at `level` for `module` and returns code. Every module's
 * "fail" is this, so that the reason a caller reads and the one in the log
 * are the same text. */
argus_err argus_error_fail(argus_error_detail *err, argus_err code,
                           argus_log_level level, const char *module,
                           const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

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

/* CPU time of the calling thread in nanoseconds (where a stage's time
 * goes). */
uint64_t argus_thread_cpu_ns(void);

/* Wall clock (CLOCK_REALTIME): UTC nanoseconds since the Unix epoch. */
int64_t argus_wall_ns(void);

/* Longest RFC 3339 text argus writes, with its NUL. */
#define ARGUS_RFC3339_MAX 32

/* Formats a wall time as RFC 3339 UTC with milliseconds (truncated, not
 * rounded): "2026-12-05T07:14:54.123Z". Times before the epoch are fine. */
void argus_rfc3339(int64_t wall_ns, char out[ARGUS_RFC3339_MAX]);
/* The same from seconds since the epoch and nanoseconds (0..999999999), for
 * times outside the int64 nanosecond range (years 1678..2262). Years outside
 * 0000..9999 are clamped to the first or last millisecond of that range. */
void argus_rfc3339_ts(int64_t sec, int32_t nsec, char out[ARGUS_RFC3339_MAX]);

/* Parses RFC 3339: "2024-05-01T12:34:56Z", 'T' or 't' or ' ' between date and
 * time, an optional fraction (digits past nanoseconds are dropped), and 'Z',
 * 'z' or a "+hh:mm"/"-hh:mm" offset. Days are checked against their month
 * (leap years included); a leap second (:60) counts as the next second.
 * Errors: INVALID_ARG (NULL, or not RFC 3339), LIMIT (outside the int64
 * nanosecond range; use argus_rfc3339_parse_ts). */
argus_err argus_rfc3339_parse(const char *s, int64_t *wall_ns);
/* As argus_rfc3339_parse, into seconds since the epoch and nanoseconds;
 * accepts every time whose UTC year lies in 0000..9999, else INVALID_ARG. */
argus_err argus_rfc3339_parse_ts(const char *s, int64_t *sec, int32_t *nsec);

/* ---- JSON writer ------------------------------------------------------ */
/* A bounded JSON writer into a caller's buffer; it allocates nothing.
 * Strings are escaped by one rule everywhere: '"' and '\\' escaped, \b \f
 * \n \r \t in short form, other control characters (and DEL) as \u00xx,
 * and every byte that is not part of valid UTF-8 replaced by U+FFFD, so that
 * the output is always valid JSON in valid UTF-8.
 *
 * Values go into the innermost open container: in an object `key` names the
 * member (it must not be NULL); in an array or at the top level `key` must be
 * NULL. Exactly one top-level value. Each value is written whole or not at
 * all, and room for the closers of every open container is kept, so the text
 * in buf is always a valid prefix. When a value does not fit, `overflow` is
 * set and every later call does nothing (sticky); argus_json_finish() then
 * returns 0. In lossy mode (argus_json_lossy) a scalar value that does not
 * fit is dropped instead (`dropped` counts them) and writing goes on, so the
 * document stays valid but shortened; containers that do not fit still set
 * `overflow`. Misuse (a key where none belongs or none where one must be,
 * unbalanced ends, nesting deeper than ARGUS_JSON_MAX_DEPTH) sets `misuse`
 * and also makes finish return 0. */
#define ARGUS_JSON_MAX_DEPTH 64
typedef struct argus_json {
  char *buf;         /* borrowed; NUL-terminated after every call */
  size_t cap, len;   /* capacity of buf, bytes written */
  int depth;         /* open containers */
  uint64_t first;    /* bit d: no value yet in the container at depth d+1 */
  uint64_t is_arr;   /* bit d: the container at depth d+1 is an array */
  int done;          /* the top-level value is complete */
  int overflow;      /* sticky: something did not fit */
  int misuse;        /* sticky: the calls did not form a valid document */
  int lossy;         /* drop values that do not fit instead of failing */
  size_t dropped;    /* values dropped in lossy mode */
  int pend;          /* internal: the value being written did not fit */
} argus_json;

/* Starts an empty document in buf (borrowed; cap bytes, NUL included). Writes
 * nothing yet. cap 0 or buf NULL: every value overflows. */
void argus_json_init(argus_json *j, char *buf, size_t cap);
/* Switches to lossy mode (see above). */
void argus_json_lossy(argus_json *j);
void argus_json_obj_begin(argus_json *j, const char *key);
void argus_json_obj_end(argus_json *j);
void argus_json_arr_begin(argus_json *j, const char *key);
void argus_json_arr_end(argus_json *j);
/* v: NUL-terminated (NULL writes null). */
void argus_json_str(argus_json *j, const char *key, const char *v);
/* v: n bytes, NULs included (escaped as \u0000); v NULL writes null. */
void argus_json_strn(argus_json *j, const char *key, const char *v, size_t n);
void argus_json_int(argus_json *j, const char *key, int64_t v);
void argus_json_uint(argus_json *j, const char *key, uint64_t v);
/* decimals >= 0: fixed ("%.*f", at most 17); decimals < 0: -decimals
 * significant digits ("%.*g", at most 17). Non-finite values write null. */
void argus_json_num(argus_json *j, const char *key, double v, int decimals);
void argus_json_bool(argus_json *j, const char *key, int v);
void argus_json_null(argus_json *j, const char *key);
/* Copies n bytes of already-valid JSON as one value (not checked). */
void argus_json_raw(argus_json *j, const char *key, const char *json,
                    size_t n);
/* Ends the document: the length of the NUL-terminated text in buf, or 0 when
 * it overflowed, was misused, left containers open or holds no value. */
size_t argus_json_finish(argus_json *j);

/* Writes s[0..n) to f as one JSON string, by the writer's escaping rule (s
 * NULL: null). For output of unbounded size (the CLI's). Returns 0, or -1 on
 * a write error. */
int argus_json_fputs(FILE *f, const char *s, size_t n);

/* Checks that s[0..n) is exactly one RFC 8259 JSON value in valid UTF-8,
 * with optional white space around it, whose containers nest at most
 * max_depth levels (0: ARGUS_JSON_MAX_DEPTH). A NUL byte in s is an error.
 * This is for text argus keeps or passes on (audit details, camera
 * settings): stricter than cJSON's parser, which accepts leading zeros and
 * raw control characters in strings. To read values, parse with cJSON.
 * Errors: INVALID_ARG (s NULL), CORRUPT (with the offset and the reason in
 * why, which may be NULL). */
argus_err argus_json_validate(const char *s, size_t n, int max_depth,
                              argus_error_detail *why);

/* 1 when s[0..n) is valid UTF-8 (no overlong forms, surrogates or code
 * points above U+10FFFF), else 0. */
int argus_utf8_valid(const char *s, size_t n);

/* Copies the NUL-terminated s into out (size bytes, NUL included) as valid
 * UTF-8: every byte that is not part of a valid sequence becomes U+FFFD, by
 * the JSON writer's rule. Text that does not fit is cut at a character
 * boundary. For names made from outside text that must be stored or shown
 * (a direct video source's label from its path). Returns the number of
 * bytes replaced; out is "" when s is NULL; nothing is written when out is
 * NULL or size 0. */
size_t argus_utf8_sanitize(const char *s, char *out, size_t size);

/* ---- int64 hash map ---------------------------------------------------- */
/* An int64 -> int64 map: open addressing, linear probing on a splitmix64
 * hash, backward-shift deletion (no tombstones), load factor at most 1/2.
 * Any key but ARGUS_I64MAP_NO_KEY (INT64_MIN, the empty-slot marker). Values
 * are int64; pointers go through (intptr_t). Zero-initialise or call
 * argus_i64map_init; not thread-safe. */
#define ARGUS_I64MAP_NO_KEY INT64_MIN
typedef struct argus_i64map {
  int64_t *keys;    /* cap slots, ARGUS_I64MAP_NO_KEY when empty */
  int64_t *vals;
  size_t cap;       /* a power of two, or 0 */
  size_t count;
  size_t max_count; /* 0: no cap; else puts of new keys past it fail LIMIT */
} argus_i64map;

/* An empty map holding at most max_count keys (0: unbounded). Allocates
 * nothing. */
void argus_i64map_init(argus_i64map *m, size_t max_count);
/* Frees the slots; the map is empty and usable again. NULL is fine. */
void argus_i64map_free(argus_i64map *m);
/* Makes room for n keys in all, so that puts up to n keys never allocate nor
 * fail. Errors: NOMEM, LIMIT (n above max_count or too large). */
argus_err argus_i64map_reserve(argus_i64map *m, size_t n);
/* Inserts or overwrites (growing as needed). Errors: INVALID_ARG (the key is
 * ARGUS_I64MAP_NO_KEY), LIMIT (max_count reached), NOMEM. */
argus_err argus_i64map_put(argus_i64map *m, int64_t key, int64_t val);
/* 1 and *val (may be NULL) when key is present, else 0. */
int argus_i64map_get(const argus_i64map *m, int64_t key, int64_t *val);
/* Removes key: 1 and its old value in *val (may be NULL), else 0. */
int argus_i64map_remove(argus_i64map *m, int64_t key, int64_t *val);
/* Removes every key, keeping the slots. */
void argus_i64map_clear(argus_i64map *m);
/* Iteration in no particular order: start with *it = 0; returns 1 with the
 * next entry, 0 at the end. The map must not change meanwhile. */
int argus_i64map_next(const argus_i64map *m, size_t *it, int64_t *key,
                      int64_t *val);
/* The splitmix64 finaliser the map hashes keys with. */
uint64_t argus_hash64(uint64_t x);

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
/* A finished digest as 64 lower-case hex digits and a NUL. */
void argus_sha256_digest_hex(const uint8_t digest[32], char out[65]);
/* n bytes as 2n lower-case hex digits and a NUL (out: 2n+1 bytes). */
void argus_hex(const void *data, size_t n, char *out);

/* ---- interrupts ------------------------------------------------------- */
/* SIGINT and SIGTERM set a process-wide flag instead of ending the process,
 * so long commands can stop cleanly. install/restore nest: the first install
 * clears the flag and installs the handler (keeping the previous actions),
 * the matching last restore puts the previous actions back. The handler only
 * stores to a volatile sig_atomic_t (async-signal-safe). Errors: INTERNAL
 * (sigaction failed). */
argus_err argus_interrupt_install(void);
void argus_interrupt_restore(void);
/* 1 after SIGINT or SIGTERM arrived while installed, until reset. Safe from
 * any thread. */
int argus_interrupted(void);
/* The flag itself (never NULL, valid for the whole process), for APIs that
 * poll a `const volatile sig_atomic_t *cancel`. */
const volatile sig_atomic_t *argus_interrupt_flag(void);
void argus_interrupt_reset(void);

/* ---- version ---------------------------------------------------------- */
const char *argus_version(void);

ARGUS_END_DECLS
#endif
