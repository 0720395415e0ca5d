/* Encryption at rest: template vectors and crop files sealed with
 * XChaCha20-Poly1305 (libsodium) under the deployment's key.
 *
 * A sealed blob or file is
 *
 *     magic "AS\xC1\xFF" | version 1 | key id (8) | nonce (24) | ciphertext | tag (16)
 *
 * (STORE_SEAL_OVERHEAD = 53 bytes more than the plaintext). The header is
 * authenticated with a context string as associated data: "argus.vector"
 * for vectors, "argus.crop:<sha256>" for crop files, so a sealed vector
 * cannot be passed off as a crop, nor a crop file as another crop. The
 * magic read as a little-endian float32 is a NaN, and the store never
 * keeps a template with a NaN, so a plaintext vector is never mistaken for
 * a sealed one; a plaintext crop file is recognised by its SHA-256 (its
 * name).
 *
 * The key id is the first 8 bytes of a keyed BLAKE2b of a fixed label under
 * the key: it names the key without revealing it. Each blob and file says
 * which key sealed it, so a rotation (argus_store_key_rotate) knows what is
 * left to do after an interruption. meta holds `encryption` (the id of the
 * key new data is sealed with) and, while a rotation is unfinished,
 * `encryption_old`. docs/lawful-use.md, "Encryption at rest". */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store_internal.h"

/* Migration 9: sealed template vectors are 53 bytes longer than 4 * dim,
 * which the CHECK of migration 1 refuses. SQLite cannot change a CHECK, so
 * the table is rebuilt (create, copy, drop, rename) with one that allows
 * both sizes; ids are copied, so nothing that names a template changes.
 * Nothing refers to templates, so dropping it with foreign keys on deletes
 * nothing else. */
const char store_migration_9_sql[] =
    "CREATE TABLE templates_sealed (\n"
    "  id @ID@,\n"
    "  person_id BIGINT NOT NULL REFERENCES persons (id) ON DELETE CASCADE,\n"
    "  photo_id BIGINT NOT NULL,\n"
    "  model_name TEXT NOT NULL,\n"
    "  model_version TEXT NOT NULL,\n"
    "  dim INTEGER NOT NULL CHECK (dim > 0),\n"
    "  vector @BLOB@ NOT NULL CHECK (length(vector) = 4 * dim OR\n"
    "                                length(vector) = 4 * dim + 53),\n"
    "  created TEXT NOT NULL,\n"
    "  UNIQUE (photo_id, model_name, model_version),\n"
    "  FOREIGN KEY (photo_id, person_id)\n"
    "    REFERENCES photos (id, person_id) ON DELETE CASCADE\n"
    ");\n"
    "INSERT INTO templates_sealed (id, person_id, photo_id, model_name,\n"
    "  model_version, dim, vector, created)\n"
    "  SELECT id, person_id, photo_id, model_name, model_version, dim,\n"
    "  vector, created FROM templates ORDER BY id;\n"
    "DROP TABLE templates;\n"
    "ALTER TABLE templates_sealed RENAME TO templates;\n"
    "CREATE INDEX templates_by_model ON templates (model_name, "
    "model_version);\n"
    "CREATE INDEX templates_by_person ON templates (person_id);\n";

/* ---- format ------------------------------------------------------------- */

#define SEAL_MAGIC "AS\xC1\xFF"
#define SEAL_VERSION 1
#define SEAL_ID_AT 5
#define SEAL_NONCE_AT 13
#define SEAL_HEADER 37
#define SEAL_TAG 16
#define VEC_CONTEXT "argus.vector"

typedef struct store_key {
  uint8_t id[8];
  char hex[ARGUS_STORE_KEY_ID_HEX];
  uint8_t key[32];
} store_key;

/* In sodium_malloc'd memory (guard pages, not swapped, wiped when freed). */
struct store_keyring {
  int n;
  store_key k[2];
  int seal;    /* index of the key new data is sealed with, -1: none */
  int primary; /* index of the key_file/ARGUS_KEY key, -1: none */
};

static pthread_once_t sodium_once = PTHREAD_ONCE_INIT;
static int sodium_ok;
static void sodium_start(void) { sodium_ok = sodium_init() >= 0; }

static argus_err need_sodium(argus_store_error *err) {
  pthread_once(&sodium_once, sodium_start);
  return sodium_ok ? ARGUS_OK
                   : store_fail(err, ARGUS_E_INTERNAL,
                                "libsodium could not be initialised");
}

static void key_id(const uint8_t key[32], uint8_t id[8],
                   char hex[ARGUS_STORE_KEY_ID_HEX]) {
  static const char label[] = "argus.key.id.v1";
  uint8_t h[16];
  crypto_generichash(h, sizeof h, (const uint8_t *)label, sizeof label - 1, key,
                     32);
  memcpy(id, h, 8);
  argus_hex(id, 8, hex);
}

static int is_sealed(const void *b, size_t n) {
  return n >= SEAL_HEADER + SEAL_TAG && memcmp(b, SEAL_MAGIC, 4) == 0 &&
         ((const uint8_t *)b)[4] == SEAL_VERSION;
}

static const store_key *find_key(const argus_store *s, const uint8_t id[8]) {
  const struct store_keyring *r = s->keys;
  for (int i = 0; r && i < r->n; i++)
    if (memcmp(r->k[i].id, id, 8) == 0)
      return &r->k[i];
  return NULL;
}

static int find_hex(const struct store_keyring *r, const char *hex) {
  for (int i = 0; r && i < r->n; i++)
    if (strcmp(r->k[i].hex, hex) == 0)
      return i;
  return -1;
}

/* The associated data: the header and the context. */
static size_t make_ad(uint8_t *ad, size_t cap, const uint8_t *header,
                      const char *ctx) {
  size_t c = strlen(ctx);
  if (SEAL_HEADER + c > cap)
    c = cap - SEAL_HEADER;
  memcpy(ad, header, SEAL_HEADER);
  memcpy(ad + SEAL_HEADER, ctx, c);
  return SEAL_HEADER + c;
}

/* Seals n bytes under k into out[n + STORE_SEAL_OVERHEAD]. */
static void seal_into(const store_key *k, const char *ctx, const void *in,
                      size_t n, uint8_t *out) {
  memcpy(out, SEAL_MAGIC, 4);
  out[4] = SEAL_VERSION;
  memcpy(out + SEAL_ID_AT, k->id, 8);
  randombytes_buf(out + SEAL_NONCE_AT, 24);
  uint8_t ad[SEAL_HEADER + 96];
  size_t adn = make_ad(ad, sizeof ad, out, ctx);
  unsigned long long cn = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(out + SEAL_HEADER, &cn, in, n, ad,
                                             adn, NULL, out + SEAL_NONCE_AT,
                                             k->key);
}

/* Opens a sealed blob into out[n - STORE_SEAL_OVERHEAD]. NOT_FOUND: the
 * key that sealed it is not held; CORRUPT: it does not open. */
static argus_err open_into(const argus_store *s, const char *ctx,
                           const uint8_t *in, size_t n, void *out,
                           char kid[ARGUS_STORE_KEY_ID_HEX]) {
  argus_hex(in + SEAL_ID_AT, 8, kid);
  const store_key *k = find_key(s, in + SEAL_ID_AT);
  if (!k)
    return ARGUS_E_NOT_FOUND;
  uint8_t ad[SEAL_HEADER + 96];
  size_t adn = make_ad(ad, sizeof ad, in, ctx);
  unsigned long long mn = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          out, &mn, NULL, in + SEAL_HEADER, n - SEAL_HEADER, ad, adn,
          in + SEAL_NONCE_AT, k->key) != 0)
    return ARGUS_E_CORRUPT;
  return ARGUS_OK;
}

static argus_err open_fail(argus_err e, const char *what, const char *kid,
                           argus_store_error *err) {
  if (e == ARGUS_E_NOT_FOUND)
    return store_fail(err, ARGUS_E_CORRUPT,
                      "%s is sealed with key id %s, which this process does "
                      "not hold (ARGUS_KEY_FILE, ARGUS_OLD_KEY_FILE)",
                      what, kid);
  return store_fail(err, ARGUS_E_CORRUPT,
                    "%s does not open with key id %s: damaged or altered", what,
                    kid);
}

/* ---- keys --------------------------------------------------------------- */

static int hexval(int c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* 64 hex digits (surrounding white space allowed) or 32 raw bytes. */
static int parse_key(const uint8_t *b, size_t n, uint8_t key[32]) {
  if (n == 32) {
    int hex = 1;
    for (size_t i = 0; i < n && hex; i++)
      hex = hexval(b[i]) >= 0;
    if (!hex) {
      memcpy(key, b, 32);
      return 0;
    }
  }
  while (n && (b[n - 1] == '\n' || b[n - 1] == '\r' || b[n - 1] == ' ' ||
               b[n - 1] == '\t'))
    n--;
  while (n && (b[0] == ' ' || b[0] == '\t')) {
    b++;
    n--;
  }
  if (n != 64)
    return -1;
  for (int i = 0; i < 32; i++) {
    int hi = hexval(b[2 * i]), lo = hexval(b[2 * i + 1]);
    if (hi < 0 || lo < 0)
      return -1;
    key[i] = (uint8_t)(hi << 4 | lo);
  }
  return 0;
}

static argus_err read_key_file(const char *path, uint8_t key[32],
                               argus_store_error *err) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return store_fail(err, errno == ENOENT ? ARGUS_E_NOT_FOUND : ARGUS_E_IO,
                      "key file '%s': %s", path, strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return store_fail(err, ARGUS_E_INVALID_ARG, "key file '%s' is not a file",
                      path);
  }
  if (st.st_mode & 077) {
    close(fd);
    return store_fail(err, ARGUS_E_INVALID_ARG,
                      "key file '%s' is accessible to group or others (mode "
                      "%03o): run 'chmod 600 %s'",
                      path, (unsigned)(st.st_mode & 0777), path);
  }
  uint8_t buf[160];
  ssize_t got = read(fd, buf, sizeof buf);
  close(fd);
  int bad = got <= 0 || (size_t)got >= sizeof buf ||
            parse_key(buf, (size_t)got, key) != 0;
  sodium_memzero(buf, sizeof buf);
  if (bad)
    return store_fail(err, ARGUS_E_INVALID_ARG,
                      "key file '%s' holds neither 32 bytes nor 64 hex digits "
                      "(make one with 'argus key generate --out FILE')",
                      path);
  return ARGUS_OK;
}

/* One key from an option or the environment: *have = 0 when none given. */
static argus_err load_key(const char *file, const char *env_file,
                          const char *env_hex, uint8_t key[32], int *have,
                          argus_store_error *err) {
  *have = 0;
  const char *f = file && file[0] ? file : getenv(env_file);
  if (f && f[0]) {
    argus_err e = read_key_file(f, key, err);
    if (e != ARGUS_OK)
      return e;
    *have = 1;
    return ARGUS_OK;
  }
  const char *h = getenv(env_hex);
  if (h && h[0]) {
    if (parse_key((const uint8_t *)h, strlen(h), key) != 0 || strlen(h) < 64)
      return store_fail(err, ARGUS_E_INVALID_ARG, "%s is not 64 hex digits",
                        env_hex);
    *have = 1;
  }
  return ARGUS_OK;
}

static argus_err meta_get(argus_store *s, const char *key, char *out,
                          size_t size, int *found, argus_store_error *err) {
  store_stmt *st = NULL;
  *found = 0;
  out[0] = '\0';
  argus_err e =
      store_prep(s, &st, err, "SELECT value FROM meta WHERE key = ?", "s", key);
  int row = 0;
  if (e == ARGUS_OK)
    e = store_step(s, st, &row, err);
  if (e == ARGUS_OK && row == STORE_ROW) {
    store_copy(out, size, s->ops->col_text(st, 0));
    *found = 1;
  }
  s->ops->finalize(st);
  return e;
}

void store_keys_free(argus_store *s) {
  if (s && s->keys) {
    sodium_free(s->keys);
    s->keys = NULL;
  }
}

argus_err store_keys_open(argus_store *s, const argus_store_options *o,
                          argus_store_error *err) {
  argus_err e = need_sodium(err);
  if (e != ARGUS_OK)
    return e;
  uint8_t k1[32], k2[32];
  int have1 = 0, have2 = 0;
  e = load_key(o->key_file, "ARGUS_KEY_FILE", "ARGUS_KEY", k1, &have1, err);
  if (e == ARGUS_OK)
    e = load_key(o->old_key_file, "ARGUS_OLD_KEY_FILE", "ARGUS_OLD_KEY", k2,
                 &have2, err);
  if (e == ARGUS_OK && (have1 || have2)) {
    struct store_keyring *r = sodium_malloc(sizeof *r);
    if (!r) {
      e = store_fail(err, ARGUS_E_NOMEM, "out of memory for the key");
    } else {
      memset(r, 0, sizeof *r);
      r->seal = r->primary = -1;
      if (have1) {
        memcpy(r->k[r->n].key, k1, 32);
        key_id(k1, r->k[r->n].id, r->k[r->n].hex);
        r->primary = r->seal = r->n++;
      }
      if (have2) {
        store_key *k = &r->k[r->n];
        memcpy(k->key, k2, 32);
        key_id(k2, k->id, k->hex);
        if (find_hex(r, k->hex) < 0 && ++r->n && r->seal < 0)
          r->seal = 0;
      }
      sodium_mprotect_readonly(r);
      s->keys = r;
    }
  }
  sodium_memzero(k1, sizeof k1);
  sodium_memzero(k2, sizeof k2);
  if (e != ARGUS_OK)
    return e;
  /* What the database says, read before anything is written. */
  int has_meta = 0, empty = 0;
  if ((e = s->ops->probe(s->db, "meta", &has_meta, &empty, err)) != ARGUS_OK ||
      !has_meta)
    return e;
  char cur[64], old[64];
  int fc = 0, fo = 0;
  if ((e = meta_get(s, "encryption", cur, sizeof cur, &fc, err)) != ARGUS_OK ||
      (e = meta_get(s, "encryption_old", old, sizeof old, &fo, err)) !=
          ARGUS_OK)
    return e;
  struct store_keyring *r = s->keys;
  if (fc && find_hex(r, cur) < 0) {
    if (!r)
      return store_fail(err, ARGUS_E_INVALID_ARG,
                        "database %s is encrypted with key id %s: set "
                        "ARGUS_KEY_FILE (or ARGUS_KEY, or --key-file) to that "
                        "key",
                        s->path, cur);
    return store_fail(err, ARGUS_E_INVALID_ARG,
                      "database %s is encrypted with key id %s, and the key "
                      "given has id %s: set ARGUS_KEY_FILE to the right key",
                      s->path, cur, r->k[0].hex);
  }
  if (fo && find_hex(r, old) < 0)
    return store_fail(err, ARGUS_E_INVALID_ARG,
                      "database %s: a key rotation from key id %s to %s is "
                      "unfinished: finish it with 'argus key rotate' (the old "
                      "key in ARGUS_KEY_FILE, the new one in --new-key-file), "
                      "or give the old key in ARGUS_OLD_KEY_FILE",
                      s->path, old, cur);
  if (fc) {
    sodium_mprotect_readwrite(r);
    r->seal = find_hex(r, cur);
    sodium_mprotect_readonly(r);
  }
  return ARGUS_OK;
}

argus_err store_keys_begin(argus_store *s, argus_store_error *err) {
  char cur[64];
  int found = 0;
  argus_err e = meta_get(s, "encryption", cur, sizeof cur, &found, err);
  if (e != ARGUS_OK)
    return e;
  struct store_keyring *r = s->keys;
  if (found) {
    int i = find_hex(r, cur);
    if (i < 0)
      return store_fail(err, ARGUS_E_INVALID_ARG,
                        "database %s is now encrypted with key id %s (since "
                        "this process opened it): open it again with that "
                        "key",
                        s->path, cur);
    if (i != r->seal) {
      sodium_mprotect_readwrite(r);
      r->seal = i;
      sodium_mprotect_readonly(r);
    }
    return ARGUS_OK;
  }
  if (!r || r->seal < 0)
    return ARGUS_OK;
  /* The first write of a handle with a key makes the database an
   * encrypted one: from now on it opens only with this key. */
  return store_run(s, err, "INSERT INTO meta (key, value) VALUES (?, ?)", "ss",
                   "encryption", r->k[r->seal].hex);
}

const char *store_seal_key_id(const argus_store *s) {
  return s->keys && s->keys->seal >= 0 ? s->keys->k[s->keys->seal].hex : "";
}

/* ---- vectors ------------------------------------------------------------ */

static int host_le(void) {
  const uint16_t one = 1;
  return *(const uint8_t *)&one == 1;
}

static void swap32(void *p, int n) {
  uint8_t *b = p;
  for (int i = 0; i < n; i++, b += 4) {
    uint8_t t0 = b[0], t1 = b[1];
    b[0] = b[3];
    b[1] = b[2];
    b[2] = t1;
    b[3] = t0;
  }
}

argus_err store_vec_pack(argus_store *s, const float *v, int dim, void **blob,
                         size_t *size, argus_store_error *err) {
  *blob = NULL;
  *size = 0;
  if (!v || dim <= 0)
    return store_fail(err, ARGUS_E_INVALID_ARG, "template vector: none");
  size_t n = (size_t)dim * 4;
  int seal = s && s->keys && s->keys->seal >= 0;
  uint8_t *b = malloc(seal ? n + STORE_SEAL_OVERHEAD : n);
  if (!b)
    return store_fail(err, ARGUS_E_NOMEM, "template vector: out of memory");
  if (!seal) {
    memcpy(b, v, n);
    if (!host_le())
      swap32(b, dim);
    *blob = b;
    *size = n;
    return ARGUS_OK;
  }
  const float *le = v;
  float *tmp = NULL;
  if (!host_le()) {
    if (!(tmp = malloc(n))) {
      free(b);
      return store_fail(err, ARGUS_E_NOMEM, "template vector: out of memory");
    }
    memcpy(tmp, v, n);
    swap32(tmp, dim);
    le = tmp;
  }
  seal_into(&s->keys->k[s->keys->seal], VEC_CONTEXT, le, n, b);
  free(tmp);
  *blob = b;
  *size = n + STORE_SEAL_OVERHEAD;
  return ARGUS_OK;
}

argus_err store_vec_unpack(argus_store *s, const void *blob, size_t size,
                           int dim, float *dst, argus_store_error *err) {
  if (blob && dim > 0 && size == (size_t)dim * 4 + STORE_SEAL_OVERHEAD &&
      is_sealed(blob, size)) {
    char kid[ARGUS_STORE_KEY_ID_HEX];
    argus_err e = open_into(s, VEC_CONTEXT, blob, size, dst, kid);
    if (e != ARGUS_OK)
      return open_fail(e, "a template vector", kid, err);
  } else if (!blob || dim <= 0 || size != (size_t)dim * 4) {
    return store_fail(err, ARGUS_E_CORRUPT,
                      "template vector: %zu bytes where %d floats were "
                      "expected",
                      size, dim);
  } else {
    memcpy(dst, blob, size);
  }
  if (!host_le())
    swap32(dst, dim);
  return ARGUS_OK;
}

/* ---- crop files --------------------------------------------------------- */

static void crop_context(const char *hash, char *ctx, size_t size) {
  snprintf(ctx, size, "argus.crop:%s", hash);
}

argus_err store_crop_seal(const argus_store *s, const char *hash,
                          const void *data, size_t n, void **out, size_t *outn,
                          argus_store_error *err) {
  *out = NULL;
  *outn = 0;
  if (!s->keys || s->keys->seal < 0)
    return ARGUS_OK;
  uint8_t *b = malloc(n + STORE_SEAL_OVERHEAD);
  if (!b)
    return store_fail(err, ARGUS_E_NOMEM, "out of memory sealing a crop");
  char ctx[96];
  crop_context(hash, ctx, sizeof ctx);
  seal_into(&s->keys->k[s->keys->seal], ctx, data, n, b);
  *out = b;
  *outn = n + STORE_SEAL_OVERHEAD;
  return ARGUS_OK;
}

argus_err store_crop_unseal(const argus_store *s, const char *hash,
                            const char *path, void **buf, size_t *n,
                            argus_store_error *err) {
  char have[ARGUS_STORE_SHA256_HEX];
  if (is_sealed(*buf, *n)) {
    size_t pn = *n - STORE_SEAL_OVERHEAD;
    uint8_t *plain = malloc(pn ? pn : 1);
    if (!plain)
      return store_fail(err, ARGUS_E_NOMEM, "out of memory");
    char ctx[96], kid[ARGUS_STORE_KEY_ID_HEX];
    crop_context(hash, ctx, sizeof ctx);
    argus_err e = open_into(s, ctx, *buf, *n, plain, kid);
    if (e == ARGUS_OK) {
      argus_sha256_hex(plain, pn, have);
      if (strcmp(have, hash) == 0) {
        free(*buf);
        *buf = plain;
        *n = pn;
        return ARGUS_OK;
      }
    }
    free(plain);
    /* A plaintext crop may start like a sealed one: its hash decides. */
    argus_sha256_hex(*buf, *n, have);
    if (strcmp(have, hash) == 0)
      return ARGUS_OK;
    if (e == ARGUS_E_NOT_FOUND)
      return store_fail(err, ARGUS_E_CORRUPT,
                        "crop file '%s' is sealed with key id %s, which this "
                        "process does not hold (ARGUS_KEY_FILE, "
                        "ARGUS_OLD_KEY_FILE)",
                        path, kid);
    return store_fail(err, ARGUS_E_CHECKSUM,
                      "crop file '%s' is damaged (it does not open with key "
                      "id %s)",
                      path, kid);
  }
  argus_sha256_hex(*buf, *n, have);
  if (strcmp(have, hash) != 0)
    return store_fail(err, ARGUS_E_CHECKSUM,
                      "crop file '%s' is damaged (its SHA-256 is %s)", path,
                      have);
  return ARGUS_OK;
}

/* ---- key generate ------------------------------------------------------- */

argus_err argus_store_key_generate(const char *path,
                                   char key_id_out[ARGUS_STORE_KEY_ID_HEX],
                                   argus_store_error *err) {
  if (err)
    err->msg[0] = '\0';
  if (!path || !path[0])
    return store_fail(err, ARGUS_E_INVALID_ARG, "key file path is empty");
  argus_err e = need_sodium(err);
  if (e != ARGUS_OK)
    return e;
  uint8_t key[32];
  char text[66];
  randombytes_buf(key, sizeof key);
  argus_hex(key, 32, text);
  text[64] = '\n';
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    sodium_memzero(key, sizeof key);
    sodium_memzero(text, sizeof text);
    return store_fail(err, errno == EEXIST ? ARGUS_E_INVALID_ARG : ARGUS_E_IO,
                      "cannot create key file '%s': %s", path, strerror(errno));
  }
  int ok = fchmod(fd, 0600) == 0 && write(fd, text, 65) == 65 && fsync(fd) == 0;
  int saved = errno;
  ok = close(fd) == 0 && ok;
  uint8_t id[8];
  char hex[ARGUS_STORE_KEY_ID_HEX];
  key_id(key, id, hex);
  sodium_memzero(key, sizeof key);
  sodium_memzero(text, sizeof text);
  if (!ok) {
    unlink(path);
    return store_fail(err, ARGUS_E_IO, "cannot write key file '%s': %s", path,
                      strerror(saved));
  }
  if (key_id_out)
    memcpy(key_id_out, hex, sizeof hex);
  return ARGUS_OK;
}

argus_err argus_store_key_file_id(const char *path,
                                  char key_id_out[ARGUS_STORE_KEY_ID_HEX],
                                  argus_store_error *err) {
  if (err)
    err->msg[0] = '\0';
  argus_err e = need_sodium(err);
  if (e != ARGUS_OK)
    return e;
  if (!path || !key_id_out)
    return store_fail(err, ARGUS_E_INVALID_ARG, "NULL argument");
  uint8_t key[32], id[8];
  if ((e = read_key_file(path, key, err)) != ARGUS_OK)
    return e;
  key_id(key, id, key_id_out);
  sodium_memzero(key, sizeof key);
  return ARGUS_OK;
}

/* ---- status and rotation ------------------------------------------------ */

/* Every column that holds template vectors through store_vec_pack. A
 * column whose table this database lacks is skipped. */
static const struct vec_column {
  const char *table, *column;
} vec_columns[] = {
    {"templates", "vector"},
    {"alerts", "probe"},
    {"negatives", "vector"},
};

/* 1 sealed with `want`, 2 sealed with another key, 0 plaintext. */
static int classify(const void *b, size_t n, const char *want) {
  if (!is_sealed(b, n))
    return 0;
  char kid[ARGUS_STORE_KEY_ID_HEX];
  argus_hex((const uint8_t *)b + SEAL_ID_AT, 8, kid);
  return want && strcmp(kid, want) == 0 ? 1 : 2;
}

static argus_err column_select(argus_store *s, const struct vec_column *c,
                               store_stmt **st, int64_t after, int64_t limit,
                               int *missing, argus_store_error *err) {
  char sql[256];
  snprintf(sql, sizeof sql,
           "SELECT id, %s FROM %s WHERE id > ? AND %s IS NOT NULL ORDER BY id "
           "LIMIT ?",
           c->column, c->table, c->column);
  argus_store_error perr;
  argus_err e = store_prep(s, st, &perr, sql, "ii", after, limit);
  *missing = 0;
  if (e != ARGUS_OK && strstr(perr.msg, "no such")) {
    *missing = 1;
    return ARGUS_OK;
  }
  if (e != ARGUS_OK && err)
    *err = perr;
  return e;
}

argus_err argus_store_key_status(argus_store *s, argus_store_key_info *info,
                                 argus_store_error *err) {
  argus_err e = store_check_handle(s, err);
  if (e != ARGUS_OK)
    return e;
  if (!info)
    return store_fail(err, ARGUS_E_INVALID_ARG, "info is NULL");
  memset(info, 0, sizeof *info);
  store_copy(info->handle_key_id, sizeof info->handle_key_id,
             store_seal_key_id(s));
  if ((e = store_begin(s, STORE_TX_READ, err)) != ARGUS_OK)
    return e;
  int found = 0;
  e = meta_get(s, "encryption", info->key_id, sizeof info->key_id, &found, err);
  if (e == ARGUS_OK)
    e = meta_get(s, "encryption_old", info->rotating_from,
                 sizeof info->rotating_from, &found, err);
  const char *want = info->key_id[0] ? info->key_id : NULL;
  for (size_t i = 0;
       e == ARGUS_OK && i < sizeof vec_columns / sizeof *vec_columns; i++) {
    store_stmt *st = NULL;
    int missing = 0;
    e = column_select(s, &vec_columns[i], &st, 0, INT64_MAX, &missing, err);
    int row = 0;
    while (e == ARGUS_OK && !missing &&
           (e = store_step(s, st, &row, err)) == ARGUS_OK && row == STORE_ROW) {
      size_t n = 0;
      const void *b = s->ops->col_blob(st, 1, &n);
      int c = b ? classify(b, n, want) : 0;
      if (c == 1)
        info->blobs_sealed++;
      else if (c == 2)
        info->blobs_other++;
      else
        info->blobs_plain++;
    }
    s->ops->finalize(st);
  }
  store_rollback(s);
  if (e != ARGUS_OK)
    return e;
  char(*hashes)[ARGUS_STORE_SHA256_HEX] = NULL;
  size_t nh = 0;
  if ((e = store_crop_list(s, &hashes, &nh, err)) != ARGUS_OK)
    return e;
  for (size_t i = 0; i < nh; i++) {
    char path[STORE_PATH_MAX];
    uint8_t head[SEAL_HEADER + SEAL_TAG];
    if (store_crop_path(s, hashes[i], path, sizeof path, NULL) != ARGUS_OK)
      continue;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
      continue;
    ssize_t got = read(fd, head, sizeof head);
    close(fd);
    int c = got > 0 ? classify(head, (size_t)got, want) : 0;
    if (c == 1)
      info->crops_sealed++;
    else if (c == 2)
      info->crops_other++;
    else
      info->crops_plain++;
  }
  free(hashes);
  return ARGUS_OK;
}

/* Test hook: ARGUS_TEST_ROTATE_KILL_AFTER=N makes the process SIGKILL
 * itself after N committed batches (tests/test_encryption.c). */
static void rotate_test_kill(int *batches) {
  const char *v = getenv("ARGUS_TEST_ROTATE_KILL_AFTER");
  if (v && v[0] && ++*batches >= atoi(v))
    raise(SIGKILL);
}

static int64_t rotate_batch_size(void) {
  const char *v = getenv("ARGUS_KEY_ROTATE_BATCH");
  long n = v ? strtol(v, NULL, 10) : 0;
  return n > 0 && n <= 100000 ? n : 256;
}

/* Reseals one vector blob under the handle's sealing key. */
static argus_err reseal_vec(argus_store *s, const void *b, size_t n,
                            uint8_t **out, size_t *outn,
                            argus_store_error *err) {
  const store_key *k = &s->keys->k[s->keys->seal];
  size_t pn = is_sealed(b, n) ? n - STORE_SEAL_OVERHEAD : n;
  uint8_t *plain = malloc(pn ? pn : 1),
          *sealed = malloc(pn + STORE_SEAL_OVERHEAD);
  argus_err e = plain && sealed
                    ? ARGUS_OK
                    : store_fail(err, ARGUS_E_NOMEM, "out of memory");
  if (e == ARGUS_OK && is_sealed(b, n)) {
    char kid[ARGUS_STORE_KEY_ID_HEX];
    argus_err oe = open_into(s, VEC_CONTEXT, b, n, plain, kid);
    if (oe != ARGUS_OK)
      e = open_fail(oe, "a template vector", kid, err);
  } else if (e == ARGUS_OK) {
    memcpy(plain, b, n);
  }
  if (e == ARGUS_OK)
    seal_into(k, VEC_CONTEXT, plain, pn, sealed);
  if (plain)
    sodium_memzero(plain, pn);
  free(plain);
  if (e != ARGUS_OK) {
    free(sealed);
    return e;
  }
  *out = sealed;
  *outn = pn + STORE_SEAL_OVERHEAD;
  return ARGUS_OK;
}

typedef struct reseal_item {
  int64_t id;
  uint8_t *blob;
  size_t n;
} reseal_item;

static argus_err rotate_column(argus_store *s, const struct vec_column *c,
                               int64_t batch, int64_t *count, int *batches,
                               argus_store_error *err) {
  const char *want = store_seal_key_id(s);
  int64_t after = 0;
  reseal_item *items = calloc((size_t)batch, sizeof *items);
  if (!items)
    return store_fail(err, ARGUS_E_NOMEM, "out of memory");
  argus_err e = ARGUS_OK;
  for (;;) {
    if ((e = store_begin(s, STORE_TX_WRITE, err)) != ARGUS_OK)
      break;
    store_stmt *st = NULL;
    int missing = 0, row = 0;
    int64_t seen = 0, ni = 0;
    e = column_select(s, c, &st, after, batch, &missing, err);
    while (e == ARGUS_OK && !missing &&
           (e = store_step(s, st, &row, err)) == ARGUS_OK && row == STORE_ROW) {
      int64_t id = s->ops->col_int64(st, 0);
      size_t n = 0;
      const void *b = s->ops->col_blob(st, 1, &n);
      seen++;
      after = id;
      if (!b || classify(b, n, want) == 1)
        continue;
      items[ni].id = id;
      e = reseal_vec(s, b, n, &items[ni].blob, &items[ni].n, err);
      if (e == ARGUS_OK)
        ni++;
      else
        store_wrap(err, e, "%s %lld", c->table, (long long)id);
    }
    s->ops->finalize(st);
    char sql[160];
    snprintf(sql, sizeof sql, "UPDATE %s SET %s = ? WHERE id = ?", c->table,
             c->column);
    for (int64_t i = 0; e == ARGUS_OK && i < ni; i++)
      e = store_run(s, err, sql, "bi", (const void *)items[i].blob, items[i].n,
                    items[i].id);
    for (int64_t i = 0; i < ni; i++) {
      free(items[i].blob);
      items[i].blob = NULL;
    }
    if (e != ARGUS_OK) {
      store_rollback(s);
      break;
    }
    if ((e = store_commit(s, err)) != ARGUS_OK)
      break;
    *count += ni;
    if (missing || seen < batch)
      break;
    if (ni)
      rotate_test_kill(batches);
  }
  free(items);
  return e;
}

static argus_err rotate_crops(argus_store *s, int64_t batch, int64_t *count,
                              int *batches, argus_store_error *err) {
  char(*hashes)[ARGUS_STORE_SHA256_HEX] = NULL;
  size_t nh = 0;
  argus_err e = store_crop_list(s, &hashes, &nh, err);
  if (e != ARGUS_OK)
    return e;
  const char *want = store_seal_key_id(s);
  size_t i = 0;
  while (e == ARGUS_OK && i < nh) {
    /* Under the write lock, as every writer of crop files. */
    if ((e = store_begin(s, STORE_TX_WRITE, err)) != ARGUS_OK)
      break;
    int64_t done = 0;
    for (int64_t k = 0; e == ARGUS_OK && k < batch && i < nh; k++, i++) {
      char path[STORE_PATH_MAX];
      if (store_crop_path(s, hashes[i], path, sizeof path, NULL) != ARGUS_OK)
        continue;
      uint8_t head[SEAL_HEADER + SEAL_TAG];
      int fd = open(path, O_RDONLY | O_CLOEXEC);
      if (fd < 0)
        continue; /* purged meanwhile */
      ssize_t got = read(fd, head, sizeof head);
      close(fd);
      if (got > 0 && classify(head, (size_t)got, want) == 1)
        continue;
      void *plain = NULL;
      size_t pn = 0;
      e = store_crop_load(s, hashes[i], &plain, &pn, err);
      if (e == ARGUS_E_NOT_FOUND) {
        e = ARGUS_OK;
        continue;
      }
      if (e == ARGUS_OK)
        e = store_crop_rewrite(s, hashes[i], plain, pn, err);
      if (plain)
        sodium_memzero(plain, pn);
      free(plain);
      if (e == ARGUS_OK)
        done++;
    }
    if (e != ARGUS_OK) {
      store_rollback(s);
      break;
    }
    if ((e = store_commit(s, err)) != ARGUS_OK)
      break;
    *count += done;
    if (done && i < nh)
      rotate_test_kill(batches);
  }
  free(hashes);
  return e;
}

argus_err argus_store_key_rotate(argus_store *s,
                                 argus_store_key_rotate_report *rep,
                                 argus_store_error *err) {
  argus_err e = store_check_handle(s, err);
  if (e != ARGUS_OK)
    return e;
  argus_store_key_rotate_report r;
  memset(&r, 0, sizeof r);
  struct store_keyring *kr = s->keys;
  if (!kr || kr->primary < 0)
    return store_fail(err, ARGUS_E_INVALID_ARG,
                      "no new key: give it as the store's key_file");
  const char *to = kr->k[kr->primary].hex;
  store_copy(r.to, sizeof r.to, to);
  /* Start (or resume): meta names the new key, and the old one while
   * blobs sealed with it may remain. */
  if ((e = store_begin(s, STORE_TX_WRITE, err)) != ARGUS_OK)
    return e;
  char cur[64], old[64];
  int fc = 0, fo = 0;
  e = meta_get(s, "encryption", cur, sizeof cur, &fc, err);
  if (e == ARGUS_OK)
    e = meta_get(s, "encryption_old", old, sizeof old, &fo, err);
  if (e == ARGUS_OK && fo && strcmp(cur, to) != 0)
    e = store_fail(err, ARGUS_E_INVALID_ARG,
                   "a rotation from key id %s to %s is unfinished: finish it "
                   "with the key %s first",
                   old, cur, cur);
  if (e == ARGUS_OK && fc && strcmp(cur, to) == 0) {
    /* Resumed, already done, or a plaintext database (the write hook has
     * just recorded the new key). */
    r.resumed = fo;
    store_copy(r.from, sizeof r.from, fo ? old : "");
  } else if (e == ARGUS_OK) {
    store_copy(r.from, sizeof r.from, fc ? cur : "");
    if (fc)
      e = store_run(s, err, "UPDATE meta SET value = ? WHERE key = ?", "ss", to,
                    "encryption");
    else
      e = store_run(s, err, "INSERT INTO meta (key, value) VALUES (?, ?)", "ss",
                    "encryption", to);
    if (e == ARGUS_OK && fc)
      e = store_run(s, err, "INSERT INTO meta (key, value) VALUES (?, ?)", "ss",
                    "encryption_old", cur);
  }
  if (e == ARGUS_OK) {
    store_json j;
    store_json_begin(&j);
    store_json_str(&j, "phase", "start");
    store_json_str(&j, "from", r.from);
    store_json_str(&j, "to", to);
    store_json_int(&j, "resumed", r.resumed);
    e = store_audit(s, "key.rotate", "store", 0, store_json_end(&j), NULL, err);
  }
  if (e != ARGUS_OK) {
    store_rollback(s);
    return e;
  }
  if ((e = store_commit(s, err)) != ARGUS_OK)
    return e;
  sodium_mprotect_readwrite(kr);
  kr->seal = kr->primary;
  sodium_mprotect_readonly(kr);
  int64_t batch = rotate_batch_size();
  int batches = 0;
  for (size_t i = 0;
       e == ARGUS_OK && i < sizeof vec_columns / sizeof *vec_columns; i++)
    e = rotate_column(s, &vec_columns[i], batch, &r.blobs, &batches, err);
  if (e == ARGUS_OK)
    e = rotate_crops(s, batch, &r.crops, &batches, err);
  if (e != ARGUS_OK)
    return store_wrap(err, e,
                      "key rotation interrupted (run it again to finish)");
  if ((e = store_begin(s, STORE_TX_WRITE, err)) != ARGUS_OK)
    return e;
  e = store_run(s, err, "DELETE FROM meta WHERE key = ?", "s",
                "encryption_old");
  if (e == ARGUS_OK) {
    store_json j;
    store_json_begin(&j);
    store_json_str(&j, "phase", "finish");
    store_json_str(&j, "from", r.from);
    store_json_str(&j, "to", to);
    store_json_int(&j, "blobs", r.blobs);
    store_json_int(&j, "crops", r.crops);
    e = store_audit(s, "key.rotate", "store", 0, store_json_end(&j), NULL, err);
  }
  if (e != ARGUS_OK) {
    store_rollback(s);
    return e;
  }
  if ((e = store_commit(s, err)) != ARGUS_OK)
    return e;
  /* The rewritten values' old versions (plaintext, or sealed with the old
   * key) stay in the database's free pages (SQLite) or dead row versions
   * (PostgreSQL) until they are reused: rewrite the tables so that nothing
   * of them is left at rest. A failure here leaves a finished rotation. */
  argus_store_error ve = {0};
  argus_err vr =
      s->ops->files
          ? s->ops->exec(s->db,
                         "PRAGMA wal_checkpoint(TRUNCATE); VACUUM; "
                         "PRAGMA wal_checkpoint(TRUNCATE)",
                         &ve)
          : s->ops->exec(s->db, "VACUUM FULL templates, alerts, negatives",
                         &ve);
  if (vr != ARGUS_OK)
    argus_log(ARGUS_LOG_WARN, STORE_MOD,
              "key rotation: compacting the database failed (old versions of "
              "the rewritten values may stay in its free space until reused): "
              "%s",
              ve.msg);
  if (rep)
    *rep = r;
  return ARGUS_OK;
}
