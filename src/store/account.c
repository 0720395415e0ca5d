/* Accounts of the operator service: users with roles and argon2id password
 * hashes, login sessions with their CSRF tokens, and API tokens.
 *
 * Secrets never reach the database, a log line or an audit detail: a
 * password is kept only as its libsodium crypto_pwhash_str hash (argon2id,
 * interactive limits), a session or API token only as the SHA-256 of its
 * text. The tokens carry 256 random bits, so a plain hash is enough to make
 * a stolen database useless for logging in, and lets a lookup by hash use
 * the unique index. Expiry times are compared as text: the store's
 * canonical RFC 3339 form sorts as time. */
#include <math.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

/* ---- roles --------------------------------------------------------------- */

static const char *const role_names[ARGUS_ROLE_N] = {"admin", "supervisor",
                                                     "operator", "auditor"};

const char *argus_role_name(argus_role r) {
  return (unsigned)r < ARGUS_ROLE_N ? role_names[r] : "unknown";
}

argus_err argus_role_parse(const char *name, argus_role *out) {
  if (!name || !out)
    return ARGUS_E_INVALID_ARG;
  for (int i = 0; i < ARGUS_ROLE_N; i++)
    if (strcmp(name, role_names[i]) == 0) {
      *out = (argus_role)i;
      return ARGUS_OK;
    }
  argus_log(ARGUS_LOG_DEBUG, STORE_MOD,
            "unknown role '%.64s' (admin, supervisor, operator, auditor)",
            name);
  return ARGUS_E_INVALID_ARG;
}

static argus_err parse_role_col(const char *text, argus_role *out) {
  argus_role r = ARGUS_ROLE_AUDITOR;
  argus_err e = argus_role_parse(text, &r);
  *out = r; /* an unknown text (a hand-edited row) gets the least power */
  return e;
}

/* ---- libsodium ---------------------------------------------------------- */

static pthread_once_t sodium_once = PTHREAD_ONCE_INIT;
static int sodium_ok;

static void sodium_start(void) { sodium_ok = sodium_init() >= 0; }

static argus_err need_sodium(argus_store_error *err) {
  pthread_once(&sodium_once, sodium_start);
  if (!sodium_ok)
    return store_fail(err, ARGUS_E_INTERNAL, "libsodium failed to initialise");
  return ARGUS_OK;
}

/* A hash of a random password, made once: an unknown user name is checked
 * against it so that it costs the same time as a wrong password. */
static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;
static char dummy_hash[crypto_pwhash_STRBYTES];
static int dummy_ok;

static void dummy_make(void) {
  unsigned char pw[24];
  randombytes_buf(pw, sizeof pw);
  dummy_ok = crypto_pwhash_str(dummy_hash, (const char *)pw, sizeof pw,
                               crypto_pwhash_OPSLIMIT_INTERACTIVE,
                               crypto_pwhash_MEMLIMIT_INTERACTIVE) == 0;
  sodium_memzero(pw, sizeof pw);
}

/* ---- input checks ------------------------------------------------------- */

static argus_err check_user_name(const char *name, argus_store_error *err) {
  if (!name)
    return store_fail(err, ARGUS_E_INVALID_ARG, "user name is NULL");
  size_t n = strnlen(name, ARGUS_STORE_NAME_MAX);
  if (n == 0 || n >= ARGUS_STORE_NAME_MAX)
    return store_fail(err, ARGUS_E_INVALID_ARG,
                      "user name must be 1 to %d bytes",
                      ARGUS_STORE_NAME_MAX - 1);
  for (size_t i = 0; i < n; i++) {
    char c = name[i];
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
          (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '@' ||
          c == '-'))
      return store_fail(err, ARGUS_E_INVALID_ARG,
                        "user name '%.64s' may hold only letters, digits "
                        "and . _ @ -",
                        name);
  }
  return ARGUS_OK;
}

static argus_err check_password(const char *pw, argus_store_error *err) {
  if (!pw)
    return store_fail(err, ARGUS_E_INVALID_ARG, "password is NULL");
  size_t n = strnlen(pw, ARGUS_STORE_PASSWORD_MAX);
  if (n < ARGUS_STORE_PASSWORD_MIN)
    return store_fail(err, ARGUS_E_INVALID_ARG,
                      "password is shorter than %d bytes",
                      ARGUS_STORE_PASSWORD_MIN);
  if (n >= ARGUS_STORE_PASSWORD_MAX)
    return store_fail(err, ARGUS_E_INVALID_ARG,
                      "password is longer than %d bytes",
                      ARGUS_STORE_PASSWORD_MAX - 1);
  return ARGUS_OK;
}

static argus_err check_role(argus_role role, argus_store_error *err) {
  if ((unsigned)role >= ARGUS_ROLE_N)
    return store_fail(err, ARGUS_E_INVALID_ARG,
                      "unknown role %d (admin, supervisor, operator, "
                      "auditor)",
                      (int)role);
  return ARGUS_OK;
}

/* Hashes outside any transaction: argon2id takes tens of milliseconds and
 * 64 MiB, which must not be spent holding the write lock. */
static argus_err hash_password(const char *pw,
                               char out[crypto_pwhash_STRBYTES],
                               argus_store_error *err) {
  argus_err e = need_sodium(err);
  if (e != ARGUS_OK)
    return e;
  if (crypto_pwhash_str(out, pw, strlen(pw),
                        crypto_pwhash_OPSLIMIT_INTERACTIVE,
                        crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
    return store_fail(err, ARGUS_E_NOMEM,
                      "hashing the password failed (out of memory)");
  return ARGUS_OK;
}

/* A random token: 32 bytes from the CSPRNG as base64url without padding
 * (43 characters) after `prefix`. */
static argus_err random_token(const char *prefix,
                              char out[ARGUS_STORE_TOKEN_MAX],
                              argus_store_error *err) {
  argus_err e = need_sodium(err);
  if (e != ARGUS_OK)
    return e;
  unsigned char raw[32];
  randombytes_buf(raw, sizeof raw);
  size_t pl = strlen(prefix);
  memcpy(out, prefix, pl);
  sodium_bin2base64(out + pl, ARGUS_STORE_TOKEN_MAX - pl, raw, sizeof raw,
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  sodium_memzero(raw, sizeof raw);
  return ARGUS_OK;
}

/* The stored form of a token: SHA-256 of its text, in hex. */
static void token_hash(const char *token, char out[ARGUS_STORE_SHA256_HEX]) {
  argus_sha256_hex(token, strlen(token), out);
}

/* A token text that may be ours: 1..TOKEN_MAX-1 bytes. Anything else is
 * simply not a valid token (*ok = 0), never an error worth a message. */
static int token_plausible(const char *token) {
  if (!token)
    return 0;
  size_t n = strnlen(token, ARGUS_STORE_TOKEN_MAX);
  return n > 0 && n < ARGUS_STORE_TOKEN_MAX;
}

/* ---- users ---------------------------------------------------------------- */

#define USER_COLUMNS "SELECT id, name, role, disabled, created, updated "

/* Reads the USER_COLUMNS starting at column c0. */
static void read_user(argus_store *s, store_stmt *st, int c0,
                      argus_store_user *u) {
  const store_backend_ops *o = s->ops;
  memset(u, 0, sizeof *u);
  u->id = o->col_int64(st, c0);
  store_copy(u->name, sizeof u->name, o->col_text(st, c0 + 1));
  parse_role_col(o->col_text(st, c0 + 2), &u->role);
  u->disabled = (int)o->col_int64(st, c0 + 3);
  store_copy(u->created, sizeof u->created, o->col_text(st, c0 + 4));
  store_copy(u->updated, sizeof u->updated, o->col_text(st, c0 + 5));
}

/* One user by name (WHERE name = ?) or id; *found = 0 when none. */
static argus_err user_select(argus_store *s, const char *name, argus_store_id id,
                             argus_store_user *out, int *found,
                             argus_store_error *err) {
  store_stmt *st = NULL;
  *found = 0;
  argus_err e =
      name ? store_prep(s, &st, err, USER_COLUMNS "FROM users WHERE name = ?",
                        "s", name)
           : store_prep(s, &st, err, USER_COLUMNS "FROM users WHERE id = ?",
                        "i", (int64_t)id);
  if (e != ARGUS_OK)
    return e;
  int row = 0;
  e = store_step(s, st, &row, err);
  if (e == ARGUS_OK && row == STORE_ROW) {
    read_user(s, st, 0, out);
    *found = 1;
  }
  s->ops->finalize(st);
  return e;
}

/* Inside a write transaction: INVALID_ARG when `u` is the last enabled
 * admin, whom `what` would take away. */
static argus_err keep_last_admin(argus_store *s, const argus_store_user *u,
                                 const char *what, argus_store_error *err) {
  if (u->role != ARGUS_ROLE_ADMIN || u->disabled)
    return ARGUS_OK;
  int found = 0;
  int64_t admins = 0;
  argus_err e = store_query_int(
      s, &found, &admins, err,
      "SELECT count(*) FROM users WHERE role = 'admin' AND disabled = 0", "");
  if (e == ARGUS_OK && admins <= 1)
    e = store_fail(err, ARGUS_E_INVALID_ARG,
                   "cannot %s '%s': the last enabled admin (add another "
                   "admin first)",
                   what, u->name);
  return e;
}

argus_err argus_store_user_add(argus_store *s, const char *name,
                               const char *password, argus_role role,
                               argus_store_id *out_id, argus_store_error *err) {
  argus_err e = store_check_handle(s, err);
  if (e == ARGUS_OK)
    e = check_user_name(name, err);
  if (e == ARGUS_OK)
    e = check_role(role, err);
  if (e == ARGUS_OK)
    e = check_password(password, err);
  if (e != ARGUS_OK)
    return e;
  char hash[crypto_pwhash_STRBYTES];
  if ((e = hash_password(password, hash, err)) != ARGUS_OK)
    return e;
  if ((e = store_begin(s, STORE_TX_WRITE, err)) != ARGUS_OK)
    return e;
  int found = 0;
  int64_t id = 0;
  e = store_query_int(s, &found, &id, err,
                      "SELECT id FROM users WHERE name = ?", "s", name);
  if (e == ARGUS_OK && found)
    e = store_fail(err, ARGUS_E_INVALID_ARG, "user '%s' already exists", name);
  if (e == ARGUS_OK) {
    char t[ARGUS_STORE_TIME_MAX];
    argus_store_now(t);
    e = store_query_int(s, &found, &id, err,
                        "INSERT INTO users (name, role, password_hash, "
                        "disabled, created, updated) VALUES (?, ?, ?, 0, ?, "
                        "?) RETURNING id",
                        "sssss", name, role_names[role], hash, t, t);
  }
  if (e == ARGUS_OK) {
    store_json j;
    store_json_begin(&j);
    store_json_str(&j, "name", name);
    store_json_str(&j, "role", role_names[role]);
    e = store_audit(s, "user.add", "user", id, store_json_end(&j), NULL, err);
  }
  sodium_memzero(hash, sizeof hash);
  if (e != ARGUS_OK) {
    store_rollback(s);
    return e;
  }
  if ((e = store_commit(s, err)) != ARGUS_OK)
    return e;
  if (out_id)
    *out_id = id;
  return ARGUS_OK;
}

argus_err argus_store_user_list(argus_store *s, argus_store_user **out,
                                size_t *n, argus_store_error *err) {
  if (out)
    *out = NULL;
  if (n)
    *n = 0;
  argus_err e = store_check_handle(s, err);
  if (e != ARGUS_OK)
    return e;
  if (!out || !n)
    return store_fail(err, ARGUS_E_INVALID_ARG, "out or n is NULL");
  store_stmt *st = NULL;
  if ((e = store_prep(s, &st, err, USER_COLUMNS "FROM users ORDER BY name",
                      "")) != ARGUS_OK)
    return e;
  store_vec v = {.item = sizeof(argus_store_user)};
  int row = 0;
  while ((e = store_step(s, st, &row, err)) == ARGUS_OK && row == STORE_ROW) {
    argus_store_user *u = store_vec_push(&v);
    if (!u) {
      e = store_fail(err, ARGUS_E_NOMEM, "out of memory listing users");
      break;
    }
    read_user(s, st, 0, u);
  }
  s->ops->finalize(st);
  if (e != ARGUS_OK) {
    free(v.data);
    return e;
  }
  *out = v.data;
  *n = v.n;
  return ARGUS_OK;
}

argus_err argus_store_user_get(argus_store *s, const char *name,
                               argus_store_user *out, argus_store_error *err) {
  argus_err e = store_check_handle(s, err);
  if (e == ARGUS_OK)
    e = check_user_name(name, err);
  if (e == ARGUS_OK && !out)
    e = store_fail(err, ARGUS_E_INVALID_ARG, "out is NULL");
  if (e != ARGUS_OK)
    return e;
  int found = 0;
  e = user_select(s, name, 0, out, &found, err);
  if (e == ARGUS_OK && !found)
    e = store_fail(err, ARGUS_E_NOT_FOUND, "no user '%s'", name);
  return e;
}

argus_err argus_store_user_get_id(argus_store *s, argus_store_id id,
                                  argus_store_user *out,
                                  argus_store_error *err) {
  argus_err e = store_check_handle(s, err);
  if (e == ARGUS_OK && !out)
    e = store_fail(err, ARGUS_E_INVALID_ARG, "out is NULL");
  if (e != ARGUS_OK)
    return e;
  int found = 0;
  e = user_select(s, NULL, id, out, &found, err);
  if (e == ARGUS_OK && !found)
    e = store_fail(err, ARGUS_E_NOT_FOUND, "no user with id %lld",
                   (long long)id);
  return e;
}

argus_err argus_store_user_count(argus_store *s, int64_t *users,
                                 int64_t *admins, argus_store_error *err) {
  argus_err e = store_check_handle(s, err);
  if (e != ARGUS_OK)
    return e;
  store_stmt *st = NULL;
  e = store_prep(s, &st, err,
                 "SELECT count(*), coalesce(sum(CASE WHEN role = 'admin' AND "
                 "disabled = 0 THEN 1 ELSE 0 END), 0) FROM users",
                 "");
  if (e != ARGUS_OK)
    return e;
  int row = 0;
  e = store_step(s, st, &row, err);
  if (e == ARGUS_OK && row == STORE_ROW) {
    if (users)
      *users = s->ops->col_int64(st, 0);
    if (admins)
      *admins = s->ops->col_int64(st, 1);
  }
  s->ops->finalize(st);
  return e;
}

/* Opens a write transaction and reads the user `name` into *u:
 * NOT_FOUND when there is none (the transaction then rolled back). */
static argus_err begin_on_user(argus_store *s, const char *name,
                               argus_store_user *u, argus_store_error *err) {
  argus_err e = store_begin(s, STORE_TX_WRITE, err);
  if (e != ARGUS_OK)
    return e;
  int found = 0;
  e = user_select(s, name, 0, u, &found, err);
  if (e == ARGUS_OK && !found)
    e = store_fail(err, ARGUS_E_NOT_FOUND, "no user '%s'", name);
  if (e != ARGUS_OK)
    store_rollback(s);
  return e;
}

/* Audits `action` on user u with detail {"name", extra_key: extra}, inside
 * the caller's transaction. */
static argus_err audit_user(argus_store *s, const char *action,
                            const argus_store_user *u, const char *extra_key,
                            const char *extra, argus_store_error *err) {
  store_json j;
  store_json_begin(&j);
  store_json_str(&j, "name", u->name);
  if (extra_key)
    store_json_str(&j, extra_key, extra);
  return store_audit(s, action, "user", u->id, store_json_end(&j), NULL, err);
}

/* Audits `action` on user u (audit_user) and commits; rolls back on
 * e != OK. */
static argus_err finish_user(argus_store *s, argus_err e, const char *action,
                             const argus_store_user *u, const char *extra_key,
                             const char *extra, argus_store_error *err) {
  if (e == ARGUS_OK)
    e = audit_user(s, action, u, extra_key, extra, err);
  if (e != ARGUS_OK) {
    store_rollback(s);
    return e;
  }
  return store_commit(s, err);
}

argus_err argus_store_user_update(argus_store *s, const char *name, int role,
                                  const char *password, int disabled,
                                  argus_store_error *err) {
  argus_err e = store_check_handle(s, err);
  if (e == ARGUS_OK)
    e = check_user_name(name, err);
  if (e == ARGUS_OK && role >= 0)
    e = check_role((argus_role)role, err);
  if (e == ARGUS_OK && password)
    e = check_password(password, err);
  if (e == ARGUS_OK && disabled != -1 && disabled != 0 && disabled != 1)
    e = store_fail(err, ARGUS_E_INVALID_ARG, "disabled %d is not -1, 0 or 1",
                   disabled);
  if (e != ARGUS_OK)
    return e;
  char hash[crypto_pwhash_STRBYTES];
  if (password && (e = hash_password(password, hash, err)) != ARGUS_OK)
    return e;
  argus_store_user u;
  if ((e = begin_on_user(s, name, &u, err)) != ARGUS_OK) {
    sodium_memzero(hash, sizeof hash);
    return e;
  }
  /* The rule on the result, not on each step. */
  int admin = role >= 0 ? role == ARGUS_ROLE_ADMIN : u.role == ARGUS_ROLE_ADMIN;
  int off = disabled >= 0 ? disabled : u.disabled;
  if (!admin || off)
    e = keep_last_admin(s, &u, !admin ? "change the role of" : "disable", err);
  char t[ARGUS_STORE_TIME_MAX];
  argus_store_now(t);
  if (e == ARGUS_OK && role >= 0) {
    e = store_run(s, err, "UPDATE users SET role = ?, updated = ? WHERE id = ?",
                  "ssi", role_names[role], t, (int64_t)u.id);
    if (e == ARGUS_OK)
      e = audit_user(s, "user.set_role", &u, "role", role_names[role], err);
  }
  if (e == ARGUS_OK && password) {
    e = store_run(s, err,
                  "UPDATE users SET password_hash = ?, updated = ? WHERE id = ?",
                  "ssi", hash, t, (int64_t)u.id);
    if (e == ARGUS_OK)
      e = store_run(s, err, "DELETE FROM sessions WHERE user_id = ?", "i",
                    (int64_t)u.id);
    if (e == ARGUS_OK)
      e = audit_user(s, "user.set_password", &u, NULL, NULL, err);
  }
  sodium_memzero(hash, sizeof hash);
  if (e == ARGUS_OK && disabled >= 0) {
    e = store_run(s, err,
                  "UPDATE users SET disabled = ?, updated = ? WHERE id = ?",
                  "isi", (int64_t)disabled, t, (int64_t)u.id);
    if (e == ARGUS_OK && disabled)
      e = store_run(s, err, "DELETE FROM sessions WHERE user_id = ?", "i",
                    (int64_t)u.id);
    if (e == ARGUS_OK)
      e = audit_user(s, disabled ? "user.disable" : "user.enable", &u, NULL,
                     NULL, err);
  }
  if (e != ARGUS_OK) {
    store_rollback(s);
    return e;
  }
  return store_commit(s, err);
}

argus_err argus_store_user_remove(argus_store *s, const char *name,
                                  argus_store_error *err) {
  argus_err e = store_check_handle(s, err);
  if (e == ARGUS_OK)
    e = check_user_name(name, err);
  argus_store_user u;
  if (e == ARGUS_OK)
    e = begin_on_user(s, name, &u, err);
  if (e != ARGUS_OK)
    return e;
  e = keep_last_admin(s, &u, "remove", err);
  /* Sessions and tokens go by ON DELETE CASCADE. */
  if (e == ARGUS_OK)
    e = store_run(s, err, "DELETE FROM users WHERE id = ?", "i",
                  (int64_t)u.id);
  return finish_user(s, e, "user.remove", &u, NULL, NULL, err);
}

argus_err argus_store_user_set_password(argus_store *s, const char *name,
                                        const char *password,
                                        argus_store_error *err) {
  argus_err e = store_check_handle(s, err);
  if (e == ARGUS_OK)
    e = check_user_name(name, err);
  if (e == ARGUS_OK)
    e = check_password(password, err);
  if (e != ARGUS_OK)
    return e;
  char hash[crypto_pwhash_STRBYTES];
  if ((e = hash_password(password, hash, err)) != ARGUS_OK)
    return e;
  argus_store_user u;
  if ((e = begin_on_user(s, name, &u, err)) != ARGUS_OK) {
    sodium_memzero(hash, sizeof hash);
    return e;
  }
  char t[ARGUS_STORE_TIME_MAX];
  argus_store_now(t);
  e = store_run(s, err,
                "UPDATE users SET password_hash = ?, updated = ? WHERE id = ?",
                "ssi", hash, t, (int64_t)u.id);
  sodium_memzero(hash, sizeof hash);
  /* A changed password ends every session made with the old one. */
  if (e == ARGUS_OK)
    e = store_run(s, err, "DELETE FROM sessions WHERE user_id = ?", "i",
                  (int64_t)u.id);
  return finish_user(s, e, "user.set_password", &u, NULL, NULL, err);
}

argus_err argus_store_user_set_role(argus_store *s, const char *name,
                                    argus_role role, argus_store_error *err) {
  argus_err e = store_check_handle(s, err);
  if (e == ARGUS_OK)
    e = check_user_name(name, err);
  if (e == ARGUS_OK)
    e = check_role(role, err);
  argus_store_user u;
  if (e == ARGUS_OK)
    e = begin_on_user(s, name, &u, err);
  if (e != ARGUS_OK)
    return e;
  if (role != ARGUS_ROLE_ADMIN)
    e = keep_last_admin(s, &u, "change the role of", err);
  char t[ARGUS_STORE_TIME_MAX];
  argus_store_now(t);
  if (e == ARGUS_OK)
    e = store_run(s, err,
                  "UPDATE users SET role = ?, updated = ? WHERE id = ?", "ssi",
                  role_names[role], t, (int64_t)u.id);
  return finish_user(s, e, "user.set_role", &u, "role", role_names[role], err);
}

argus_err argus_store_user_set_disabled(argus_store *s, const char *name,
                                        int disabled, argus_store_error *err) {
  argus_err e = store_check_handle(s, err);
  if (e == ARGUS_OK)
    e = check_user_name(name, err);
  if (e == ARGUS_OK && disabled != 0 && disabled != 1)
    e = store_fail(err, ARGUS_E_INVALID_ARG, "disabled %d is not 0 or 1",
                   disabled);
  argus_store_user u;
  if (e == ARGUS_OK)
    e = begin_on_user(s, name, &u, err);
  if (e != ARGUS_OK)
    return e;
  if (disabled)
    e = keep_last_admin(s, &u, "disable", err);
  char t[ARGUS_STORE_TIME_MAX];
  argus_store_now(t);
  if (e == ARGUS_OK)
    e = store_run(s, err,
                  "UPDATE users SET disabled = ?, updated = ? WHERE id = ?",
                  "isi", (int64_t)disabled, t, (int64_t)u.id);
  /* Sessions end; tokens stay but do not pass while the user is disabled
   * (token_check joins the user). */
  if (e == ARGUS_OK && disabled)
    e = store_run(s, err, "DELETE FROM sessions WHERE user_id = ?", "i",
                  (int64_t)u.id);
  return finish_user(s, e, disabled ? "user.disable" : "user.enable", &u, NULL,
                     NULL, err);
}

argus_err argus_store_user_verify(argus_store *s, const char *name,
                                  const char *password, argus_store_user *out,
                                  int *ok, argus_store_error *err) {
  if (ok)
    *ok = 0;
  argus_err e = store_check_handle(s, err);
  if (e == ARGUS_OK && (!name || !password || !ok))
    e = store_fail(err, ARGUS_E_INVALID_ARG, "name, password or ok is NULL");
  if (e == ARGUS_OK)
    e = need_sodium(err);
  if (e != ARGUS_OK)
    return e;
  pthread_once(&dummy_once, dummy_make);
  /* A name that cannot exist is looked up like any unknown one: the
   * answer and its time must not tell which names exist. */
  argus_store_user u;
  char hash[crypto_pwhash_STRBYTES] = "";
  int found = 0, plausible = check_user_name(name, NULL) == ARGUS_OK;
  if (plausible) {
    store_stmt *st = NULL;
    e = store_prep(s, &st, err,
                   USER_COLUMNS ", password_hash FROM users WHERE name = ?",
                   "s", name);
    int row = 0;
    if (e == ARGUS_OK)
      e = store_step(s, st, &row, err);
    if (e == ARGUS_OK && row == STORE_ROW) {
      read_user(s, st, 0, &u);
      store_copy(hash, sizeof hash, s->ops->col_text(st, 6));
      found = 1;
    }
    s->ops->finalize(st);
    if (e != ARGUS_OK)
      return e;
  }
  size_t pl = strnlen(password, ARGUS_STORE_PASSWORD_MAX);
  int match = 0;
  if (found && hash[0])
    match = crypto_pwhash_str_verify(hash, password, pl) == 0;
  else if (dummy_ok) { /* for the time only: never a match */
    int spent = crypto_pwhash_str_verify(dummy_hash, password, pl);
    (void)spent;
  }
  sodium_memzero(hash, sizeof hash);
  if (found && match && !u.disabled && pl < ARGUS_STORE_PASSWORD_MAX) {
    *ok = 1;
    if (out)
      *out = u;
  }
  return ARGUS_OK;
}

/* ---- sessions ------------------------------------------------------------- */

/* now + seconds, in the store's canonical form. */
static void time_after(double seconds, char out[ARGUS_STORE_TIME_MAX]) {
  int64_t now = argus_wall_ns();
  double add = seconds * 1e9;
  int64_t ns = add >= (double)(INT64_MAX - now) ? INT64_MAX
                                                : now + (int64_t)add;
  argus_rfc3339(ns, out);
}

argus_err argus_store_session_create(argus_store *s, argus_store_id user_id,
                                     const char *address, double ttl,
                                     char token[ARGUS_STORE_TOKEN_MAX],
                                     char csrf[ARGUS_STORE_TOKEN_MAX],
                                     argus_store_error *err) {
  argus_err e = store_check_handle(s, err);
  if (e == ARGUS_OK && (!token || !csrf))
    e = store_fail(err, ARGUS_E_INVALID_ARG, "token or csrf is NULL");
  if (e == ARGUS_OK && !(ttl > 0 && isfinite(ttl)))
    e = store_fail(err, ARGUS_E_INVALID_ARG,
                   "session lifetime %g s is not positive", ttl);
  if (e == ARGUS_OK && address)
    e = store_check_text(address, "address", ARGUS_STORE_NAME_MAX, err);
  if (e != ARGUS_OK)
    return e;
  char tok[ARGUS_STORE_TOKEN_MAX], cs[ARGUS_STORE_TOKEN_MAX];
  char sha[ARGUS_STORE_SHA256_HEX];
  if ((e = random_token("", tok, err)) != ARGUS_OK ||
      (e = random_token("", cs, err)) != ARGUS_OK)
    return e;
  token_hash(tok, sha);
  if ((e = store_begin(s, STORE_TX_WRITE, err)) != ARGUS_OK)
    goto out;
  argus_store_user u;
  int found = 0;
  e = user_select(s, NULL, user_id, &u, &found, err);
  if (e == ARGUS_OK && !found)
    e = store_fail(err, ARGUS_E_NOT_FOUND, "no user with id %lld",
                   (long long)user_id);
  if (e == ARGUS_OK && u.disabled)
    e = store_fail(err, ARGUS_E_INVALID_ARG, "user '%s' is disabled", u.name);
  if (e == ARGUS_OK) {
    char now[ARGUS_STORE_TIME_MAX], exp[ARGUS_STORE_TIME_MAX];
    argus_store_now(now);
    time_after(ttl, exp);
    int64_t id = 0;
    e = store_query_int(s, &found, &id, err,
                        "INSERT INTO sessions (user_id, token_sha256, csrf, "
                        "address, created, expires) VALUES (?, ?, ?, ?, ?, ?) "
                        "RETURNING id",
                        "isssss", (int64_t)user_id, sha, cs,
                        address ? address : "", now, exp);
  }
  if (e == ARGUS_OK) {
    store_json j;
    store_json_begin(&j);
    store_json_str(&j, "user", u.name);
    store_json_str(&j, "address", address ? address : "");
    store_json_num(&j, "ttl", ttl);
    e = store_audit(s, "session.create", "user", u.id, store_json_end(&j),
                    NULL, err);
  }
  if (e != ARGUS_OK) {
    store_rollback(s);
    goto out;
  }
  if ((e = store_commit(s, err)) != ARGUS_OK)
    goto out;
  memcpy(token, tok, sizeof tok);
  memcpy(csrf, cs, sizeof cs);
out:
  sodium_memzero(tok, sizeof tok);
  sodium_memzero(cs, sizeof cs);
  return e;
}

argus_err argus_store_session_check(argus_store *s, const char *token,
                                    argus_store_user *user,
                                    char csrf[ARGUS_STORE_TOKEN_MAX], int *ok,
                                    argus_store_error *err) {
  if (ok)
    *ok = 0;
  argus_err e = store_check_handle(s, err);
  if (e == ARGUS_OK && !ok)
    e = store_fail(err, ARGUS_E_INVALID_ARG, "ok is NULL");
  if (e != ARGUS_OK || !token_plausible(token))
    return e;
  char sha[ARGUS_STORE_SHA256_HEX], now[ARGUS_STORE_TIME_MAX];
  token_hash(token, sha);
  argus_store_now(now);
  store_stmt *st = NULL;
  e = store_prep(s, &st, err,
                 "SELECT u.id, u.name, u.role, u.disabled, u.created, "
                 "u.updated, s.csrf FROM sessions s JOIN users u ON u.id = "
                 "s.user_id WHERE s.token_sha256 = ? AND s.expires > ? AND "
                 "u.disabled = 0",
                 "ss", sha, now);
  if (e != ARGUS_OK)
    return e;
  int row = 0;
  e = store_step(s, st, &row, err);
  if (e == ARGUS_OK && row == STORE_ROW) {
    *ok = 1;
    if (user)
      read_user(s, st, 0, user);
    if (csrf)
      store_copy(csrf, ARGUS_STORE_TOKEN_MAX, s->ops->col_text(st, 6));
  }
  s->ops->finalize(st);
  return e;
}

argus_err argus_store_session_end(argus_store *s, const char *token,
                                  argus_store_error *err) {
  argus_err e = store_check_handle(s, err);
  if (e != ARGUS_OK)
    return e;
  char sha[ARGUS_STORE_SHA256_HEX] = "", now[ARGUS_STORE_TIME_MAX];
  if (token_plausible(token))
    token_hash(token, sha);
  argus_store_now(now);
  if ((e = store_begin(s, STORE_TX_WRITE, err)) != ARGUS_OK)
    return e;
  argus_store_user u;
  int found = 0;
  if (sha[0]) {
    store_stmt *st = NULL;
    e = store_prep(s, &st, err,
                   "SELECT u.id, u.name, u.role, u.disabled, u.created, "
                   "u.updated FROM sessions s JOIN users u ON u.id = "
                   "s.user_id WHERE s.token_sha256 = ?",
                   "s", sha);
    int row = 0;
    if (e == ARGUS_OK)
      e = store_step(s, st, &row, err);
    if (e == ARGUS_OK && row == STORE_ROW) {
      read_user(s, st, 0, &u);
      found = 1;
    }
    s->ops->finalize(st);
  }
  if (e == ARGUS_OK && found)
    e = store_run(s, err, "DELETE FROM sessions WHERE token_sha256 = ?", "s",
                  sha);
  if (e == ARGUS_OK)
    e = store_run(s, err, "DELETE FROM sessions WHERE expires <= ?", "s", now);
  if (e == ARGUS_OK && found) {
    store_json j;
    store_json_begin(&j);
    store_json_str(&j, "user", u.name);
    e = store_audit(s, "session.end", "user", u.id, store_json_end(&j), NULL,
                    err);
  }
  if (e != ARGUS_OK) {
    store_rollback(s);
    return e;
  }
  return store_commit(s, err);
}

/* ---- API tokens ----------------------------------------------------------- */

#define TOKEN_PREFIX "argus_"

argus_err argus_store_token_create(argus_store *s, argus_store_id user_id,
                                   const char *name, const char *expires,
                                   char token[ARGUS_STORE_TOKEN_MAX],
                                   argus_store_id *out_id,
                                   argus_store_error *err) {
  argus_err e = store_check_handle(s, err);
  if (e == ARGUS_OK && !token)
    e = store_fail(err, ARGUS_E_INVALID_ARG, "token is NULL");
  if (e == ARGUS_OK)
    e = store_check_name(name, "token name", ARGUS_STORE_NAME_MAX, err);
  char exp[ARGUS_STORE_TIME_MAX] = "";
  if (e == ARGUS_OK && expires &&
      (e = store_time_canonical(expires, exp, err)) != ARGUS_OK)
    store_wrap(err, e, "token expiry");
  if (e != ARGUS_OK)
    return e;
  char tok[ARGUS_STORE_TOKEN_MAX], sha[ARGUS_STORE_SHA256_HEX];
  if ((e = random_token(TOKEN_PREFIX, tok, err)) != ARGUS_OK)
    return e;
  token_hash(tok, sha);
  if ((e = store_begin(s, STORE_TX_WRITE, err)) != ARGUS_OK)
    goto out;
  argus_store_user u;
  int found = 0;
  int64_t id = 0;
  e = user_select(s, NULL, user_id, &u, &found, err);
  if (e == ARGUS_OK && !found)
    e = store_fail(err, ARGUS_E_NOT_FOUND, "no user with id %lld",
                   (long long)user_id);
  if (e == ARGUS_OK) {
    char now[ARGUS_STORE_TIME_MAX];
    argus_store_now(now);
    e = store_query_int(s, &found, &id, err,
                        "INSERT INTO api_tokens (user_id, name, token_sha256, "
                        "created, expires) VALUES (?, ?, ?, ?, ?) RETURNING id",
                        "issss", (int64_t)user_id, name, sha, now,
                        exp[0] ? exp : NULL);
  }
  if (e == ARGUS_OK) {
    store_json j;
    store_json_begin(&j);
    store_json_str(&j, "user", u.name);
    store_json_str(&j, "name", name);
    if (exp[0])
      store_json_str(&j, "expires", exp);
    e = store_audit(s, "token.create", "token", id, store_json_end(&j), NULL,
                    err);
  }
  if (e != ARGUS_OK) {
    store_rollback(s);
    goto out;
  }
  if ((e = store_commit(s, err)) != ARGUS_OK)
    goto out;
  memcpy(token, tok, sizeof tok);
  if (out_id)
    *out_id = id;
out:
  sodium_memzero(tok, sizeof tok);
  return e;
}

argus_err argus_store_token_check(argus_store *s, const char *token,
                                  argus_store_user *user, int *ok,
                                  argus_store_error *err) {
  if (ok)
    *ok = 0;
  argus_err e = store_check_handle(s, err);
  if (e == ARGUS_OK && !ok)
    e = store_fail(err, ARGUS_E_INVALID_ARG, "ok is NULL");
  if (e != ARGUS_OK || !token_plausible(token) ||
      strncmp(token, TOKEN_PREFIX, sizeof TOKEN_PREFIX - 1) != 0)
    return e;
  char sha[ARGUS_STORE_SHA256_HEX], now[ARGUS_STORE_TIME_MAX];
  token_hash(token, sha);
  argus_store_now(now);
  store_stmt *st = NULL;
  e = store_prep(s, &st, err,
                 "SELECT u.id, u.name, u.role, u.disabled, u.created, "
                 "u.updated FROM api_tokens t JOIN users u ON u.id = "
                 "t.user_id WHERE t.token_sha256 = ? AND u.disabled = 0 AND "
                 "(t.expires IS NULL OR t.expires > ?)",
                 "ss", sha, now);
  if (e != ARGUS_OK)
    return e;
  int row = 0;
  e = store_step(s, st, &row, err);
  if (e == ARGUS_OK && row == STORE_ROW) {
    *ok = 1;
    if (user)
      read_user(s, st, 0, user);
  }
  s->ops->finalize(st);
  return e;
}

argus_err argus_store_token_list(argus_store *s, argus_store_id user_id,
                                 argus_store_token **out, size_t *n,
                                 argus_store_error *err) {
  if (out)
    *out = NULL;
  if (n)
    *n = 0;
  argus_err e = store_check_handle(s, err);
  if (e != ARGUS_OK)
    return e;
  if (!out || !n)
    return store_fail(err, ARGUS_E_INVALID_ARG, "out or n is NULL");
  store_stmt *st = NULL;
  const char *cols = "SELECT t.id, t.user_id, u.name, t.name, t.created, "
                     "t.expires FROM api_tokens t JOIN users u ON u.id = "
                     "t.user_id ";
  char sql[256];
  snprintf(sql, sizeof sql, "%s%sORDER BY t.id DESC", cols,
           user_id > 0 ? "WHERE t.user_id = ? " : "");
  e = user_id > 0 ? store_prep(s, &st, err, sql, "i", (int64_t)user_id)
                  : store_prep(s, &st, err, sql, "");
  if (e != ARGUS_OK)
    return e;
  store_vec v = {.item = sizeof(argus_store_token)};
  int row = 0;
  const store_backend_ops *o = s->ops;
  while ((e = store_step(s, st, &row, err)) == ARGUS_OK && row == STORE_ROW) {
    argus_store_token *t = store_vec_push(&v);
    if (!t) {
      e = store_fail(err, ARGUS_E_NOMEM, "out of memory listing tokens");
      break;
    }
    t->id = o->col_int64(st, 0);
    t->user_id = o->col_int64(st, 1);
    store_copy(t->user, sizeof t->user, o->col_text(st, 2));
    store_copy(t->name, sizeof t->name, o->col_text(st, 3));
    store_copy(t->created, sizeof t->created, o->col_text(st, 4));
    store_copy(t->expires, sizeof t->expires, o->col_text(st, 5));
  }
  o->finalize(st);
  if (e != ARGUS_OK) {
    free(v.data);
    return e;
  }
  *out = v.data;
  *n = v.n;
  return ARGUS_OK;
}

argus_err argus_store_token_revoke(argus_store *s, argus_store_id id,
                                   argus_store_error *err) {
  argus_err e = store_check_handle(s, err);
  if (e != ARGUS_OK)
    return e;
  if ((e = store_begin(s, STORE_TX_WRITE, err)) != ARGUS_OK)
    return e;
  store_stmt *st = NULL;
  char user[ARGUS_STORE_NAME_MAX] = "", name[ARGUS_STORE_NAME_MAX] = "";
  e = store_prep(s, &st, err,
                 "SELECT u.name, t.name FROM api_tokens t JOIN users u ON "
                 "u.id = t.user_id WHERE t.id = ?",
                 "i", (int64_t)id);
  int row = 0;
  if (e == ARGUS_OK)
    e = store_step(s, st, &row, err);
  if (e == ARGUS_OK && row == STORE_ROW) {
    store_copy(user, sizeof user, s->ops->col_text(st, 0));
    store_copy(name, sizeof name, s->ops->col_text(st, 1));
  } else if (e == ARGUS_OK) {
    e = store_fail(err, ARGUS_E_NOT_FOUND, "no token with id %lld",
                   (long long)id);
  }
  s->ops->finalize(st);
  if (e == ARGUS_OK)
    e = store_run(s, err, "DELETE FROM api_tokens WHERE id = ?", "i",
                  (int64_t)id);
  if (e == ARGUS_OK) {
    store_json j;
    store_json_begin(&j);
    store_json_str(&j, "user", user);
    store_json_str(&j, "name", name);
    e = store_audit(s, "token.revoke", "token", id, store_json_end(&j), NULL,
                    err);
  }
  if (e != ARGUS_OK) {
    store_rollback(s);
    return e;
  }
  return store_commit(s, err);
}

/* ---- JSON ----------------------------------------------------------------- */

void argus_store_user_json(const argus_store_user *u, argus_json *j) {
  argus_json_obj_begin(j, NULL);
  argus_json_int(j, "id", u->id);
  argus_json_str(j, "name", u->name);
  argus_json_str(j, "role", argus_role_name(u->role));
  argus_json_bool(j, "disabled", u->disabled);
  argus_json_str(j, "created", u->created);
  argus_json_str(j, "updated", u->updated);
  argus_json_obj_end(j);
}

void argus_store_token_json(const argus_store_token *t, argus_json *j) {
  argus_json_obj_begin(j, NULL);
  argus_json_int(j, "id", t->id);
  argus_json_int(j, "user_id", t->user_id);
  argus_json_str(j, "user", t->user);
  argus_json_str(j, "name", t->name);
  argus_json_str(j, "created", t->created);
  if (t->expires[0])
    argus_json_str(j, "expires", t->expires);
  else
    argus_json_null(j, "expires");
  argus_json_obj_end(j);
}
