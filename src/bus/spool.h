/* The bus's on-disk spool: where a NATS bus puts the stored-topic
 * publications it cannot hand to the server (no connection, or never
 * acknowledged), to send them later, in order, under their original ids.
 *
 * A spool is a folder of append-only segment files "spool-<16 hex>.seg"
 * (numbered in order) plus "head", the position up to which the records
 * were sent. A record is framed as
 *
 *   u32 magic "ASP1" | u32 body length | u32 CRC-32 of the body | body
 *   body: u8 subject length | u8 id length | u16 0 | i64 wall_ns (LE) |
 *         subject | id | document
 *
 * so that a record torn by a crash (the last one of the last segment) is
 * recognised and dropped when the spool is opened again; the scan also
 * stops at (and truncates) any other damaged record, logging it.
 *
 * Durability: every record is written with one write() (the page cache: it
 * survives the process being killed); the segment is fdatasync'ed when it
 * is closed (rotation) and at most once a second while records are
 * appended, so a power loss can lose the last second. The head position is
 * written every 64 records sent and when a segment is finished; after a
 * crash the records after the last written position are sent again, under
 * their ids: the server's duplicate window and the subscribers' dedupe make
 * that harmless.
 *
 * Bounded: segments are max_bytes/8 each; when a record does not fit in
 * max_bytes, the oldest segments (whatever was not yet sent in them) are
 * deleted, and their records counted as dropped. Appending never waits for
 * the network.
 *
 * Not thread-safe: the caller (src/bus/nats.c) holds its lock around every
 * call. */
#ifndef ARGUS_BUS_SPOOL_H
#define ARGUS_BUS_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "argus/core.h"

#define BUS_SPOOL_SUBJECT_MAX 255
#define BUS_SPOOL_ID_MAX 255
#define BUS_SPOOL_MIN_BYTES ((uint64_t)16 << 10)
#define BUS_SPOOL_DEFAULT_BYTES ((uint64_t)1 << 30)

typedef struct bus_spool bus_spool;

/* A record read back (bus_spool_peek): the strings point into the spool's
 * buffer, valid until the next call. */
typedef struct bus_spool_rec {
  const char *subject, *id; /* NUL-terminated */
  const char *data;
  size_t size;
  int64_t wall_ns;
} bus_spool_rec;

typedef struct bus_spool_stats {
  uint64_t appended; /* records written since open */
  uint64_t sent;     /* records popped since open */
  uint64_t dropped;  /* oldest dropped for room (or larger than the spool) */
  uint64_t pending;  /* records waiting (found at open included) */
  uint64_t bytes;    /* on disk, segments' total */
  uint64_t torn;     /* damaged records cut off at open */
} bus_spool_stats;

/* Opens (creating when missing) the spool in `dir` (borrowed) of at most
 * max_bytes (at least BUS_SPOOL_MIN_BYTES), scanning what a previous run
 * left. Errors: INVALID_ARG (max_bytes), IO (the folder or a file), NOMEM;
 * logged. */
argus_err bus_spool_open(const char *dir, uint64_t max_bytes, bus_spool **out);
/* Appends a record (strings borrowed, copied). Errors: IO (the write
 * failed: the record is lost and counted dropped), INVALID_ARG (subject or
 * id too long). A record larger than the whole spool is dropped (counted),
 * returning OK. */
argus_err bus_spool_append(bus_spool *s, const char *subject, const char *id,
                           int64_t wall_ns, const char *data, size_t size);
/* The oldest record waiting: *got = 0 when none. Errors: IO. */
argus_err bus_spool_peek(bus_spool *s, bus_spool_rec *rec, int *got);
/* Marks the record returned by the last peek as sent. */
void bus_spool_pop(bus_spool *s);
void bus_spool_get_stats(const bus_spool *s, bus_spool_stats *out);
/* Writes the head position, syncs, closes. Accepts NULL. */
void bus_spool_close(bus_spool *s);

#endif
