/*
 * argus export: which symbols the library shows to its users.
 *
 * The library is compiled with -fvisibility=hidden, so that its internal
 * functions (kernels, backends, helpers shared between its files) are not
 * part of the ABI of libargus.so and cannot clash with a program's own
 * symbols. Every public header wraps its declarations in
 * ARGUS_BEGIN_DECLS / ARGUS_END_DECLS, which give them default visibility
 * (and C linkage for C++), so the public API, and only it, is exported.
 * ARGUS_API marks a single declaration made outside such a block.
 *
 * Static linking is unaffected: tests and the CLI link libargus.a and may
 * call internal functions. The check that every exported symbol starts with
 * argus_ is the CTest test export_symbols (configure with -DARGUS_SHARED=ON).
 */
#ifndef ARGUS_EXPORT_H
#define ARGUS_EXPORT_H

#if defined(__GNUC__) || defined(__clang__)
#define ARGUS_API __attribute__((visibility("default")))
#define ARGUS_VISIBILITY_PUSH_ _Pragma("GCC visibility push(default)")
#define ARGUS_VISIBILITY_POP_ _Pragma("GCC visibility pop")
#else
#define ARGUS_API
#define ARGUS_VISIBILITY_PUSH_
#define ARGUS_VISIBILITY_POP_
#endif

#ifdef __cplusplus
#define ARGUS_BEGIN_DECLS                                                      \
  extern "C" {                                                                 \
  ARGUS_VISIBILITY_PUSH_
#define ARGUS_END_DECLS                                                        \
  ARGUS_VISIBILITY_POP_                                                        \
  }
#else
#define ARGUS_BEGIN_DECLS ARGUS_VISIBILITY_PUSH_
#define ARGUS_END_DECLS ARGUS_VISIBILITY_POP_
#endif

#endif
