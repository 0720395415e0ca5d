/*
 * JSON output of the CLI through the core writer (argus_json): a record
 * written by a library function (argus_store_person_json, ...) printed to a
 * stream, in a buffer that grows as the record needs.
 */
#ifndef ARGUS_CLI_JSON_H
#define ARGUS_CLI_JSON_H

#include <stdio.h>

#include "argus/core.h"

/* Writes one JSON value (no key) into j. */
typedef void (*cli_json_fn)(const void *rec, argus_json *j);

/* Prints the value fn writes for rec to f, without a newline. The buffer
 * (kept for the next call; not thread-safe) starts at 16 KiB and doubles
 * up to 1 GiB while the value overflows. Returns 0, or -1 after "argus:
 * CMD: ..." on stderr (out of memory, too large, or a misuse of the
 * writer). */
int cli_json_print(FILE *f, const char *cmd, cli_json_fn fn, const void *rec);

/* Defines `static void NAME(const void *rec, argus_json *j)` calling
 * FN((const TYPE *)rec, j): a cli_json_fn for a record writer. */
#define CLI_JSON_FN(NAME, TYPE, FN)                                            \
  static void NAME(const void *rec, argus_json *j) { FN((const TYPE *)rec, j); }

/* Prints a JSON array of n records (elements of `size` bytes at `recs`),
 * "[a,\n b,\n c]\n", each written by fn. Returns 0 or -1 (reported). */
int cli_json_print_array(FILE *f, const char *cmd, cli_json_fn fn,
                         const void *recs, size_t n, size_t size);

/* Checks that an argument the command stores or prints as text (a name, an
 * id, a path that becomes a photo's source) is valid UTF-8, so that what
 * argus keeps and writes as JSON is text. Returns 1 when it is (s NULL
 * counts as valid); else prints "argus: CMD: WHAT is not valid UTF-8 ..."
 * on stderr and returns 0. */
int cli_json_utf8_arg(const char *cmd, const char *what, const char *s);

#endif
