/* The bus's on-disk spool (see spool.h for the format and the promises). */
#define _GNU_SOURCE
#include "bus/spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bus/bus_internal.h"

#define MAGIC 0x31505341u /* "ASP1" little-endian */
#define HDR 12u
#define BODY_FIXED 12u /* lengths, reserved, wall_ns */
#define BODY_MAX                                                               \
  (BODY_FIXED + BUS_SPOOL_SUBJECT_MAX + BUS_SPOOL_ID_MAX + ARGUS_BUS_MSG_MAX)
#define SEGS_MAX 64
#define HEAD_EVERY 64

typedef struct seg {
  uint64_t seq;   /* file number */
  uint64_t bytes; /* valid bytes */
  uint64_t nrec;  /* records in it */
} seg;

struct bus_spool {
  char dir[512];
  uint64_t max, seg_max;
  seg segs[SEGS_MAX]; /* oldest first; the last one is written */
  int nseg;
  int wfd;           /* the last segment, for appending (-1: none) */
  int rfd;           /* segs[0], for reading (-1: none) */
  uint64_t rseq;     /* rfd's segment */
  uint64_t head_off; /* next record to send in segs[0] */
  uint64_t head_rec; /* records of segs[0] sent */
  int head_fd;       /* "head" */
  int pops;          /* since the head was last written */
  uint64_t next_seq; /* the next segment's number */
  uint64_t peek_seq, peek_off, peek_len; /* the last peek (len 0: none) */
  uint64_t last_sync_ns;
  int dirty; /* written since the last fdatasync */
  bus_spool_stats st;
  unsigned char *wbuf, *rbuf; /* HDR + BODY_MAX (+ 4) */
};

/* ---- CRC-32 (IEEE 802.3, reflected) ---------------------------------------
 */

static uint32_t g_crc_table[256];
static pthread_once_t g_crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void) {
  for (uint32_t i = 0; i < 256; i++) {
    uint32_t c = i;
    for (int k = 0; k < 8; k++)
      c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    g_crc_table[i] = c;
  }
}

static uint32_t crc32_of(const unsigned char *p, size_t n) {
  pthread_once(&g_crc_once, crc_init);
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; i++)
    c = g_crc_table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

static void put32(unsigned char *p, uint32_t v) {
  for (int i = 0; i < 4; i++)
    p[i] = (unsigned char)(v >> (8 * i));
}
static void put64(unsigned char *p, uint64_t v) {
  for (int i = 0; i < 8; i++)
    p[i] = (unsigned char)(v >> (8 * i));
}
static uint32_t get32(const unsigned char *p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; i--)
    v = v << 8 | p[i];
  return v;
}
static uint64_t get64(const unsigned char *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--)
    v = v << 8 | p[i];
  return v;
}

static void seg_path(const bus_spool *s, uint64_t seq, char *out, size_t cap) {
  snprintf(out, cap, "%s/spool-%016llx.seg", s->dir, (unsigned long long)seq);
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The head: segment number, offset, CRC of both, magic. */
static void head_write(bus_spool *s) {
  unsigned char h[24];
  put64(h, s->nseg ? s->segs[0].seq : s->next_seq);
  put64(h + 8, s->nseg ? s->head_off : 0);
  put32(h + 16, crc32_of(h, 16));
  put32(h + 20, MAGIC);
  if (s->head_fd >= 0 &&
      pwrite(s->head_fd, h, sizeof h, 0) != (ssize_t)sizeof h)
    argus_log(ARGUS_LOG_WARN, BUS_MOD, "spool %s: writing its head: %s", s->dir,
              strerror(errno));
  s->pops = 0;
}

/* Reads the record at off of fd into s->rbuf: its total length, or 0 when
 * there is no whole, valid record there. */
static uint64_t read_rec(bus_spool *s, int fd, uint64_t off) {
  unsigned char *h = s->rbuf;
  if (pread(fd, h, HDR, (off_t)off) != (ssize_t)HDR || get32(h) != MAGIC)
    return 0;
  uint32_t len = get32(h + 4);
  if (len < BODY_FIXED || len > BODY_MAX)
    return 0;
  if (pread(fd, h + HDR, len, (off_t)(off + HDR)) != (ssize_t)len ||
      crc32_of(h + HDR, len) != get32(h + 8))
    return 0;
  const unsigned char *b = h + HDR;
  if (BODY_FIXED + (uint32_t)b[0] + b[1] > len)
    return 0;
  return HDR + len;
}

static void drop_oldest(bus_spool *s) {
  seg *g = &s->segs[0];
  uint64_t left = g->nrec - s->head_rec;
  s->st.dropped += left;
  s->st.pending -= left;
  s->st.bytes -= g->bytes;
  char path[600];
  seg_path(s, g->seq, path, sizeof path);
  if (s->rfd >= 0 && s->rseq == g->seq) {
    close(s->rfd);
    s->rfd = -1;
  }
  if (s->nseg == 1 && s->wfd >= 0) {
    close(s->wfd);
    s->wfd = -1;
  }
  unlink(path);
  memmove(&s->segs[0], &s->segs[1], (size_t)(s->nseg - 1) * sizeof s->segs[0]);
  s->nseg--;
  s->head_off = s->head_rec = 0;
  s->peek_len = 0;
  head_write(s);
}

static int seg_filter(const struct dirent *d) {
  unsigned long long seq;
  char tail[8];
  return sscanf(d->d_name, "spool-%16llx.%7s", &seq, tail) == 2 &&
         strcmp(tail, "seg") == 0 && strlen(d->d_name) == 26;
}

argus_err bus_spool_open(const char *dir, uint64_t max_bytes, bus_spool **out) {
  *out = NULL;
  if (!dir || !*dir || strlen(dir) >= 480 || max_bytes < BUS_SPOOL_MIN_BYTES) {
    bus_note("spool: a folder of under 480 bytes and at least %llu bytes are "
             "needed",
             (unsigned long long)BUS_SPOOL_MIN_BYTES);
    return ARGUS_E_INVALID_ARG;
  }
  if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
    bus_note("spool: cannot make %s: %s", dir, strerror(errno));
    return ARGUS_E_IO;
  }
  bus_spool *s = calloc(1, sizeof *s);
  if (!s)
    return ARGUS_E_NOMEM;
  s->wfd = s->rfd = s->head_fd = -1;
  s->wbuf = malloc(HDR + BODY_MAX + 1);
  s->rbuf = malloc(HDR + BODY_MAX + 4); /* + the strings' NULs */
  if (!s->wbuf || !s->rbuf) {
    bus_spool_close(s);
    return ARGUS_E_NOMEM;
  }
  snprintf(s->dir, sizeof s->dir, "%s", dir);
  s->max = max_bytes;
  s->seg_max = max_bytes / 8; /* a larger record gets a segment alone */
  char path[600];
  snprintf(path, sizeof path, "%s/head", dir);
  s->head_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (s->head_fd < 0) {
    bus_note("spool: cannot open %s: %s", path, strerror(errno));
    bus_spool_close(s);
    return ARGUS_E_IO;
  }
  /* One process per spool: two appending to the same segments would mix
   * their records. Released when the process ends, however it ends. */
  if (flock(s->head_fd, LOCK_EX | LOCK_NB) != 0) {
    bus_note("spool: %s is used by another process (%s); give each "
             "publisher its own spool folder",
             dir, strerror(errno));
    close(s->head_fd);
    s->head_fd = -1;
    bus_spool_close(s);
    return ARGUS_E_IO;
  }
  uint64_t hseq = 0, hoff = 0;
  unsigned char h[24];
  if (pread(s->head_fd, h, sizeof h, 0) == (ssize_t)sizeof h &&
      get32(h + 20) == MAGIC && get32(h + 16) == crc32_of(h, 16)) {
    hseq = get64(h);
    hoff = get64(h + 8);
  }
  struct dirent **names = NULL;
  int n = scandir(dir, &names, seg_filter, alphasort);
  if (n < 0) {
    bus_note("spool: cannot read %s: %s", dir, strerror(errno));
    bus_spool_close(s);
    return ARGUS_E_IO;
  }
  for (int i = 0; i < n; i++) {
    unsigned long long seq = 0;
    sscanf(names[i]->d_name, "spool-%16llx", &seq);
    seg_path(s, seq, path, sizeof path);
    free(names[i]);
    if (seq + 1 > s->next_seq)
      s->next_seq = seq + 1;
    if (seq < hseq || s->nseg == SEGS_MAX) { /* sent already (or too many) */
      unlink(path);
      continue;
    }
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
      continue;
    seg g = {seq, 0, 0};
    uint64_t start = 0, start_rec = 0, len;
    while ((len = read_rec(s, fd, g.bytes)) > 0) {
      g.bytes += len;
      g.nrec++;
      if (seq == hseq && g.bytes == hoff) {
        start = g.bytes;
        start_rec = g.nrec;
      }
    }
    struct stat sb;
    if (fstat(fd, &sb) == 0 && (uint64_t)sb.st_size > g.bytes) {
      /* A record torn by a crash (or damaged): cut it off. */
      s->st.torn++;
      argus_log(ARGUS_LOG_WARN, BUS_MOD,
                "spool %s: %llu bytes after the last whole record of %s "
                "dropped (a torn write)",
                dir, (unsigned long long)((uint64_t)sb.st_size - g.bytes),
                path);
      if (ftruncate(fd, (off_t)g.bytes) != 0)
        argus_log(ARGUS_LOG_WARN, BUS_MOD, "spool: truncating %s: %s", path,
                  strerror(errno));
    }
    close(fd);
    if (g.nrec == 0) {
      unlink(path);
      continue;
    }
    if (s->nseg == 0 && seq == hseq) {
      s->head_off = start;
      s->head_rec = start_rec;
    }
    s->segs[s->nseg++] = g;
    s->st.bytes += g.bytes;
    s->st.pending += g.nrec;
  }
  free(names);
  s->st.pending -= s->head_rec;
  if (s->nseg && s->head_rec == s->segs[0].nrec) /* all of it was sent */
    drop_oldest(s);
  while (s->st.bytes > s->max && s->nseg) /* a smaller spool_max than before */
    drop_oldest(s);
  s->st.dropped = 0; /* counts this run's drops */
  if (s->st.pending)
    argus_log(ARGUS_LOG_INFO, BUS_MOD,
              "spool %s: %llu publications left by a previous run, to send",
              dir, (unsigned long long)s->st.pending);
  *out = s;
  return ARGUS_OK;
}

static argus_err new_segment(bus_spool *s) {
  if (s->wfd >= 0) {
    fdatasync(s->wfd);
    close(s->wfd);
    s->wfd = -1;
  }
  if (s->nseg == SEGS_MAX)
    drop_oldest(s);
  char path[600];
  uint64_t seq = s->next_seq++;
  seg_path(s, seq, path, sizeof path);
  s->wfd =
      open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
  if (s->wfd < 0) {
    bus_note("spool: cannot create %s: %s", path, strerror(errno));
    return ARGUS_E_IO;
  }
  s->segs[s->nseg++] = (seg){seq, 0, 0};
  return ARGUS_OK;
}

argus_err bus_spool_append(bus_spool *s, const char *subject, const char *id,
                           int64_t wall_ns, const char *data, size_t size) {
  size_t sl = strlen(subject), il = strlen(id);
  if (sl > BUS_SPOOL_SUBJECT_MAX || il > BUS_SPOOL_ID_MAX ||
      size > ARGUS_BUS_MSG_MAX) {
    bus_note("spool: record %s %s too large", subject, id);
    return ARGUS_E_INVALID_ARG;
  }
  uint32_t len = (uint32_t)(BODY_FIXED + sl + il + size);
  uint64_t rl = HDR + len;
  if (rl > s->max) {
    s->st.dropped++;
    return ARGUS_OK;
  }
  /* Room: the oldest go first. */
  while (s->st.bytes + rl > s->max && s->nseg > 0)
    drop_oldest(s);
  if (s->wfd < 0 || (s->segs[s->nseg - 1].bytes > 0 &&
                     s->segs[s->nseg - 1].bytes + rl > s->seg_max)) {
    argus_err rc = new_segment(s);
    if (rc) {
      s->st.dropped++;
      return rc;
    }
  }
  unsigned char *b = s->wbuf;
  unsigned char *body = b + HDR;
  body[0] = (unsigned char)sl;
  body[1] = (unsigned char)il;
  body[2] = body[3] = 0;
  put64(body + 4, (uint64_t)wall_ns);
  memcpy(body + BODY_FIXED, subject, sl);
  memcpy(body + BODY_FIXED + sl, id, il);
  if (size)
    memcpy(body + BODY_FIXED + sl + il, data, size);
  put32(b, MAGIC);
  put32(b + 4, len);
  put32(b + 8, crc32_of(body, len));
  seg *g = &s->segs[s->nseg - 1];
  ssize_t w = write(s->wfd, b, rl);
  if (w != (ssize_t)rl) {
    /* Disk full, or an I/O error: take back what part was written. */
    bus_note("spool %s: writing a record: %s", s->dir,
             w < 0 ? strerror(errno) : "short write");
    if (ftruncate(s->wfd, (off_t)g->bytes) != 0)
      argus_log(ARGUS_LOG_WARN, BUS_MOD, "spool: truncating: %s",
                strerror(errno));
    s->st.dropped++;
    return ARGUS_E_IO;
  }
  g->bytes += rl;
  g->nrec++;
  s->st.bytes += rl;
  s->st.pending++;
  s->st.appended++;
  s->dirty = 1;
  uint64_t t = now_ns();
  if (t - s->last_sync_ns >= 1000000000u) {
    fdatasync(s->wfd);
    s->last_sync_ns = t;
    s->dirty = 0;
  }
  return ARGUS_OK;
}

argus_err bus_spool_peek(bus_spool *s, bus_spool_rec *rec, int *got) {
  *got = 0;
  s->peek_len = 0;
  while (s->st.pending > 0 && s->nseg > 0) {
    seg *g = &s->segs[0];
    if (s->rfd < 0 || s->rseq != g->seq) {
      if (s->rfd >= 0)
        close(s->rfd);
      char path[600];
      seg_path(s, g->seq, path, sizeof path);
      s->rfd = open(path, O_RDONLY | O_CLOEXEC);
      s->rseq = g->seq;
      if (s->rfd < 0) {
        bus_note("spool: cannot read %s: %s", path, strerror(errno));
        return ARGUS_E_IO;
      }
    }
    uint64_t len =
        s->head_off < g->bytes ? read_rec(s, s->rfd, s->head_off) : 0;
    if (!len) {
      /* Damaged since it was written (it was whole when written or
       * scanned): the rest of this segment is lost. */
      argus_log(ARGUS_LOG_ERROR, BUS_MOD,
                "spool %s: a damaged record in segment %llu: its %llu "
                "remaining records are dropped",
                s->dir, (unsigned long long)g->seq,
                (unsigned long long)(g->nrec - s->head_rec));
      drop_oldest(s);
      continue;
    }
    const unsigned char *b = s->rbuf + HDR;
    size_t sl = b[0], il = b[1];
    /* The strings get their NULs where the next field began: move the
     * data one byte on, the id one byte on too. */
    unsigned char *p = s->rbuf + HDR;
    size_t dl = len - HDR - BODY_FIXED - sl - il;
    memmove(p + BODY_FIXED + sl + il + 2, p + BODY_FIXED + sl + il, dl);
    p[BODY_FIXED + sl + il + 2 + dl] = '\0';
    memmove(p + BODY_FIXED + sl + 1, p + BODY_FIXED + sl, il);
    p[BODY_FIXED + sl + 1 + il] = '\0';
    p[BODY_FIXED + sl] = '\0';
    rec->subject = (const char *)p + BODY_FIXED;
    rec->id = (const char *)p + BODY_FIXED + sl + 1;
    rec->data = (const char *)p + BODY_FIXED + sl + il + 2;
    rec->size = dl;
    rec->wall_ns = (int64_t)get64(p + 4);
    s->peek_seq = g->seq;
    s->peek_off = s->head_off;
    s->peek_len = len;
    *got = 1;
    return ARGUS_OK;
  }
  return ARGUS_OK;
}

void bus_spool_pop(bus_spool *s) {
  /* The record may have been dropped for room since the peek. */
  if (!s->peek_len || !s->nseg || s->segs[0].seq != s->peek_seq ||
      s->head_off != s->peek_off)
    return;
  s->head_off += s->peek_len;
  s->head_rec++;
  s->peek_len = 0;
  s->st.pending--;
  s->st.sent++;
  seg *g = &s->segs[0];
  if (s->head_rec == g->nrec) {
    /* Finished: a segment still written is finished too (all sent). */
    uint64_t keep = s->st.dropped;
    drop_oldest(s); /* nothing left in it: counts no drop */
    s->st.dropped = keep;
  } else if (++s->pops >= HEAD_EVERY) {
    head_write(s);
  }
}

void bus_spool_get_stats(const bus_spool *s, bus_spool_stats *out) {
  *out = s->st;
}

void bus_spool_close(bus_spool *s) {
  if (!s)
    return;
  if (s->head_fd >= 0) {
    head_write(s);
    fdatasync(s->head_fd);
    close(s->head_fd);
  }
  if (s->wfd >= 0) {
    fdatasync(s->wfd);
    close(s->wfd);
  }
  if (s->rfd >= 0)
    close(s->rfd);
  free(s->wbuf);
  free(s->rbuf);
  free(s);
}
