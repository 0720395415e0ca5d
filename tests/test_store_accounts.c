/* The store's additions for the operator service (migration 4): users,
 * sessions, API tokens, the live event log, webhooks and dead letters,
 * audit queries, person/photo/camera updates, the watchlist flags and the
 * alert's match details; and the upgrade of a schema-3 database. */
#define _GNU_SOURCE
#include <ftw.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "argus/store.h"
#include "check.h"
#include "pg_util.h"
#include "store/store_internal.h"

static char g_root[512];

/* ARGUS_TEST_STORE=postgres (test_store_accounts_pg): the databases are
 * databases of a throwaway PostgreSQL cluster (tests/pg_util.h). */
static pg_cluster g_pgc;
static const pg_cluster *g_pg;

static int rm_cb(const char *path, const struct stat *sb, int flag,
                 struct FTW *ftw) {
  (void)sb;
  (void)flag;
  (void)ftw;
  return remove(path);
}

static void rm_rf(const char *path) {
  nftw(path, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

static argus_store *open_db(const char *name) {
  char dir[600], path[700];
  snprintf(dir, sizeof dir, "%s/%s", g_root, name);
  rm_rf(dir);
  mkdir(dir, 0700);
  snprintf(path, sizeof path, "%s/a.db", dir);
  argus_store *s = NULL;
  argus_store_error err = {{0}};
  argus_store_options o = {.actor = "test"};
  if (pg_test_store_open(g_pg, path, &o, &s, &err) != ARGUS_OK)
    fprintf(stderr, "open %s: %s\n", path, err.msg);
  return s;
}

static int64_t sql_int(argus_store *s, const char *sql) {
  if (g_pg)
    return pg_int_url(argus_store_path(s), sql);
  sqlite3 *h = NULL;
  int64_t v = -1;
  if (sqlite3_open_v2(argus_store_path(s), &h, SQLITE_OPEN_READWRITE, NULL) ==
      SQLITE_OK) {
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
      v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
  }
  sqlite3_close(h);
  return v;
}

/* 1 when any audit row's detail or object holds `needle`. */
static int audit_mentions(argus_store *s, const char *needle) {
  argus_store_audit *a = NULL;
  size_t n = 0;
  int hit = 0;
  if (argus_store_audit_list(s, 0, 100000, &a, &n, NULL) != ARGUS_OK)
    return -1;
  for (size_t i = 0; i < n; i++)
    if (strstr(a[i].detail, needle) || strstr(a[i].action, needle))
      hit = 1;
  argus_store_free(a);
  return hit;
}

static const char *to_json(void (*fn)(const void *, argus_json *),
                           const void *rec, char *buf, size_t size) {
  argus_json j;
  argus_json_init(&j, buf, size);
  fn(rec, &j);
  if (argus_json_finish(&j) == 0)
    buf[0] = '\0';
  return buf;
}
static void user_json_fn(const void *r, argus_json *j) {
  argus_store_user_json(r, j);
}
static void token_json_fn(const void *r, argus_json *j) {
  argus_store_token_json(r, j);
}
static void alert_json_fn(const void *r, argus_json *j) {
  argus_store_alert_json(r, j);
}
static void wl_json_fn(const void *r, argus_json *j) {
  argus_store_watchlist_json(r, j);
}
static void webhook_json_fn(const void *r, argus_json *j) {
  argus_store_webhook_json(r, j);
}
static void dl_json_fn(const void *r, argus_json *j) {
  argus_store_deadletter_json(r, j);
}

/* ---- roles and users ------------------------------------------------------ */

static void test_roles(void) {
  argus_role r = ARGUS_ROLE_N;
  for (int i = 0; i < ARGUS_ROLE_N; i++) {
    CHECK_OK(argus_role_parse(argus_role_name((argus_role)i), &r));
    CHECK_INT_EQ(r, i);
  }
  CHECK(strcmp(argus_role_name(ARGUS_ROLE_SUPERVISOR), "supervisor") == 0);
  CHECK(strcmp(argus_role_name((argus_role)42), "unknown") == 0);
  CHECK_INT_EQ(argus_role_parse("root", &r), ARGUS_E_INVALID_ARG);
  CHECK_INT_EQ(argus_role_parse(NULL, &r), ARGUS_E_INVALID_ARG);
}

static void test_users(void) {
  argus_store *s = open_db("users");
  CHECK(s != NULL);
  if (!s)
    return;
  argus_store_error err = {{0}};
  int64_t users = -1, admins = -1;
  CHECK_OK(argus_store_user_count(s, &users, &admins, &err));
  CHECK_INT_EQ(users, 0);
  CHECK_INT_EQ(admins, 0);

  argus_store_id alice = 0, bob = 0;
  CHECK_OK(argus_store_user_add(s, "alice", "correct horse", ARGUS_ROLE_ADMIN,
                                &alice, &err));
  CHECK(alice > 0);
  CHECK_OK(argus_store_user_add(s, "bob@example.org", "battery staple",
                                ARGUS_ROLE_OPERATOR, &bob, &err));
  /* errors */
  CHECK_INT_EQ(argus_store_user_add(s, "alice", "whatever1", ARGUS_ROLE_ADMIN,
                                    NULL, &err),
               ARGUS_E_INVALID_ARG);
  CHECK(strstr(err.msg, "already exists") != NULL);
  CHECK_INT_EQ(argus_store_user_add(s, "carol", "short", ARGUS_ROLE_AUDITOR,
                                    NULL, &err),
               ARGUS_E_INVALID_ARG);
  CHECK(strstr(err.msg, "shorter") != NULL);
  CHECK_INT_EQ(argus_store_user_add(s, "bad name", "whatever1",
                                    ARGUS_ROLE_AUDITOR, NULL, &err),
               ARGUS_E_INVALID_ARG);
  CHECK_INT_EQ(argus_store_user_add(s, "", "whatever1", ARGUS_ROLE_AUDITOR,
                                    NULL, &err),
               ARGUS_E_INVALID_ARG);
  CHECK_INT_EQ(argus_store_user_add(s, "dave", "whatever1", (argus_role)9,
                                    NULL, &err),
               ARGUS_E_INVALID_ARG);
  char longpw[ARGUS_STORE_PASSWORD_MAX + 8];
  memset(longpw, 'x', sizeof longpw - 1);
  longpw[sizeof longpw - 1] = '\0';
  CHECK_INT_EQ(argus_store_user_add(s, "dave", longpw, ARGUS_ROLE_AUDITOR, NULL,
                                    &err),
               ARGUS_E_INVALID_ARG);

  /* the hash is argon2id, never the password */
  CHECK_INT_EQ(sql_int(s, "SELECT count(*) FROM users WHERE password_hash "
                          "LIKE '$argon2id$%'"),
               2);
  CHECK_INT_EQ(sql_int(s, "SELECT count(*) FROM users WHERE password_hash "
                          "LIKE '%correct horse%'"),
               0);
  CHECK_INT_EQ(audit_mentions(s, "correct horse"), 0);
  CHECK_INT_EQ(audit_mentions(s, "argon2"), 0);

  argus_store_user *list = NULL;
  size_t n = 0;
  CHECK_OK(argus_store_user_list(s, &list, &n, &err));
  CHECK_INT_EQ(n, 2);
  if (n == 2) {
    CHECK(strcmp(list[0].name, "alice") == 0); /* by name */
    CHECK_INT_EQ(list[0].role, ARGUS_ROLE_ADMIN);
    CHECK_INT_EQ(list[1].role, ARGUS_ROLE_OPERATOR);
    char buf[512];
    to_json(user_json_fn, &list[0], buf, sizeof buf);
    CHECK(strstr(buf, "\"role\":\"admin\"") != NULL);
    CHECK(strstr(buf, "\"disabled\":false") != NULL);
    CHECK(strstr(buf, "\"id\":") != NULL && strstr(buf, "\"updated\":"));
    CHECK(strstr(buf, "hash") == NULL);
  }
  argus_store_free(list);
  argus_store_user u;
  CHECK_OK(argus_store_user_get(s, "bob@example.org", &u, &err));
  CHECK_INT_EQ(u.id, bob);
  CHECK_OK(argus_store_user_get_id(s, alice, &u, &err));
  CHECK(strcmp(u.name, "alice") == 0);
  CHECK_INT_EQ(argus_store_user_get(s, "nobody", &u, &err),
               ARGUS_E_NOT_FOUND);
  CHECK_INT_EQ(argus_store_user_get_id(s, 999, &u, &err), ARGUS_E_NOT_FOUND);
  CHECK_OK(argus_store_user_count(s, &users, &admins, &err));
  CHECK_INT_EQ(users, 2);
  CHECK_INT_EQ(admins, 1);

  /* verify */
  int ok = -1;
  memset(&u, 0, sizeof u);
  CHECK_OK(argus_store_user_verify(s, "alice", "correct horse", &u, &ok, &err));
  CHECK_INT_EQ(ok, 1);
  CHECK_INT_EQ(u.id, alice);
  CHECK_OK(argus_store_user_verify(s, "alice", "wrong horse", &u, &ok, &err));
  CHECK_INT_EQ(ok, 0);
  /* an unknown name costs about what a wrong password costs */
  struct timespec t0, t1, t2;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  CHECK_OK(argus_store_user_verify(s, "nobody", "correct horse", NULL, &ok,
                                   &err));
  clock_gettime(CLOCK_MONOTONIC, &t1);
  CHECK_INT_EQ(ok, 0);
  CHECK_OK(argus_store_user_verify(s, "alice", "wrong horse", NULL, &ok, &err));
  clock_gettime(CLOCK_MONOTONIC, &t2);
  double unknown = (double)(t1.tv_sec - t0.tv_sec) +
                   (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
  double wrong = (double)(t2.tv_sec - t1.tv_sec) +
                 (double)(t2.tv_nsec - t1.tv_nsec) * 1e-9;
  CHECK(unknown > wrong * 0.3); /* both pay argon2id; loose for noisy CI */
  CHECK_OK(argus_store_user_verify(s, "not a name!", "correct horse", NULL,
                                   &ok, &err));
  CHECK_INT_EQ(ok, 0);
  CHECK_INT_EQ(argus_store_user_verify(s, NULL, "x", NULL, &ok, &err),
               ARGUS_E_INVALID_ARG);

  /* last enabled admin */
  CHECK_INT_EQ(argus_store_user_remove(s, "alice", &err), ARGUS_E_INVALID_ARG);
  CHECK(strstr(err.msg, "last enabled admin") != NULL);
  CHECK_INT_EQ(argus_store_user_set_disabled(s, "alice", 1, &err),
               ARGUS_E_INVALID_ARG);
  CHECK_INT_EQ(argus_store_user_set_role(s, "alice", ARGUS_ROLE_OPERATOR, &err),
               ARGUS_E_INVALID_ARG);
  CHECK_OK(argus_store_user_set_role(s, "alice", ARGUS_ROLE_ADMIN, &err));
  CHECK_OK(argus_store_user_set_role(s, "bob@example.org", ARGUS_ROLE_ADMIN,
                                     &err));
  CHECK_OK(argus_store_user_set_disabled(s, "alice", 1, &err));
  CHECK_INT_EQ(argus_store_user_set_disabled(s, "bob@example.org", 1, &err),
               ARGUS_E_INVALID_ARG); /* now the last enabled one */
  CHECK_OK(argus_store_user_count(s, &users, &admins, &err));
  CHECK_INT_EQ(admins, 1);
  /* a disabled user does not log in, even with the right password */
  CHECK_OK(argus_store_user_verify(s, "alice", "correct horse", NULL, &ok,
                                   &err));
  CHECK_INT_EQ(ok, 0);
  CHECK_OK(argus_store_user_set_disabled(s, "alice", 0, &err));
  CHECK_OK(argus_store_user_verify(s, "alice", "correct horse", NULL, &ok,
                                   &err));
  CHECK_INT_EQ(ok, 1);
  CHECK_INT_EQ(argus_store_user_set_disabled(s, "nobody", 1, &err),
               ARGUS_E_NOT_FOUND);

  /* password change */
  CHECK_INT_EQ(argus_store_user_set_password(s, "alice", "short", &err),
               ARGUS_E_INVALID_ARG);
  CHECK_INT_EQ(argus_store_user_set_password(s, "nobody", "long enough", &err),
               ARGUS_E_NOT_FOUND);
  CHECK_OK(argus_store_user_set_password(s, "alice", "new password", &err));
  CHECK_OK(argus_store_user_verify(s, "alice", "correct horse", NULL, &ok,
                                   &err));
  CHECK_INT_EQ(ok, 0);
  CHECK_OK(argus_store_user_verify(s, "alice", "new password", NULL, &ok,
                                   &err));
  CHECK_INT_EQ(ok, 1);
  CHECK_INT_EQ(audit_mentions(s, "new password"), 0);

  /* several changes in one transaction: all or none, the last-admin rule
   * on the result (argus_store_user_update) */
  {
    argus_store_user uu;
    CHECK_OK(argus_store_user_set_disabled(s, "bob@example.org", 1, &err));
    /* alice is the last enabled admin: a demotion with a new password is
     * refused whole, the password stays */
    CHECK_INT_EQ(argus_store_user_update(s, "alice", ARGUS_ROLE_OPERATOR,
                                         "other password", -1, &err),
                 ARGUS_E_INVALID_ARG);
    CHECK(strstr(err.msg, "last enabled admin") != NULL);
    CHECK_OK(argus_store_user_verify(s, "alice", "new password", NULL, &ok,
                                     &err));
    CHECK_INT_EQ(ok, 1);
    CHECK_INT_EQ(argus_store_user_update(s, "alice", -1, "short", 1, &err),
                 ARGUS_E_INVALID_ARG);
    CHECK_INT_EQ(argus_store_user_update(s, "alice", -1, NULL, 2, &err),
                 ARGUS_E_INVALID_ARG);
    CHECK_INT_EQ(argus_store_user_update(s, "nobody", -1, NULL, 0, &err),
                 ARGUS_E_NOT_FOUND);
    CHECK_OK(argus_store_user_get(s, "alice", &uu, &err));
    CHECK_INT_EQ(uu.role, ARGUS_ROLE_ADMIN);
    CHECK_INT_EQ(uu.disabled, 0);
    /* bob enabled again: alice demoted and disabled at once */
    CHECK_OK(argus_store_user_update(s, "bob@example.org", -1, NULL, 0, &err));
    CHECK_OK(argus_store_user_update(s, "alice", ARGUS_ROLE_OPERATOR, NULL, 1,
                                     &err));
    CHECK_OK(argus_store_user_get(s, "alice", &uu, &err));
    CHECK_INT_EQ(uu.role, ARGUS_ROLE_OPERATOR);
    CHECK_INT_EQ(uu.disabled, 1);
    CHECK_OK(argus_store_user_update(s, "alice", ARGUS_ROLE_ADMIN, NULL, 0,
                                     &err));
    CHECK_OK(argus_store_user_get(s, "alice", &uu, &err));
    CHECK_INT_EQ(uu.role, ARGUS_ROLE_ADMIN);
    CHECK_INT_EQ(uu.disabled, 0);
    CHECK_INT_EQ(audit_mentions(s, "other password"), 0);
  }

  /* remove: now allowed (bob is an enabled admin) */
  CHECK_OK(argus_store_user_remove(s, "alice", &err));
  CHECK_INT_EQ(argus_store_user_remove(s, "alice", &err), ARGUS_E_NOT_FOUND);
  CHECK_INT_EQ(audit_mentions(s, "user.remove"), 1);
  CHECK_INT_EQ(audit_mentions(s, "user.set_password"), 1);
  argus_store_close(s);
}

/* ---- sessions and tokens -------------------------------------------------- */

static void test_sessions_tokens(void) {
  argus_store *s = open_db("sessions");
  CHECK(s != NULL);
  if (!s)
    return;
  argus_store_error err = {{0}};
  argus_store_id admin = 0, op = 0;
  CHECK_OK(argus_store_user_add(s, "admin", "admin password",
                                ARGUS_ROLE_ADMIN, &admin, &err));
  CHECK_OK(argus_store_user_add(s, "op", "operator password",
                                ARGUS_ROLE_OPERATOR, &op, &err));

  char tok[ARGUS_STORE_TOKEN_MAX], csrf[ARGUS_STORE_TOKEN_MAX];
  char csrf2[ARGUS_STORE_TOKEN_MAX];
  CHECK_OK(argus_store_session_create(s, op, "127.0.0.1", 3600, tok, csrf,
                                      &err));
  CHECK_INT_EQ(strlen(tok), 43);
  CHECK_INT_EQ(strlen(csrf), 43);
  CHECK(strcmp(tok, csrf) != 0);
  CHECK_INT_EQ(strspn(tok, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                           "0123456789-_"),
               43);
  /* only the hash is stored */
  char q[300];
  snprintf(q, sizeof q,
           "SELECT count(*) FROM sessions WHERE token_sha256 = '%s'", tok);
  CHECK_INT_EQ(sql_int(s, q), 0);
  CHECK_INT_EQ(audit_mentions(s, tok), 0);
  CHECK_INT_EQ(audit_mentions(s, "session.create"), 1);

  argus_store_user u;
  int ok = -1;
  CHECK_OK(argus_store_session_check(s, tok, &u, csrf2, &ok, &err));
  CHECK_INT_EQ(ok, 1);
  CHECK_INT_EQ(u.id, op);
  CHECK(strcmp(csrf2, csrf) == 0);
  CHECK_OK(argus_store_session_check(s, "nonsense", &u, NULL, &ok, &err));
  CHECK_INT_EQ(ok, 0);
  CHECK_OK(argus_store_session_check(s, "", &u, NULL, &ok, &err));
  CHECK_INT_EQ(ok, 0);
  CHECK_INT_EQ(argus_store_session_create(s, 999, NULL, 60, tok, csrf, &err),
               ARGUS_E_NOT_FOUND);
  CHECK_INT_EQ(argus_store_session_create(s, op, NULL, 0, csrf2, csrf, &err),
               ARGUS_E_INVALID_ARG);
  CHECK_INT_EQ(argus_store_session_create(s, op, NULL, NAN, csrf2, csrf, &err),
               ARGUS_E_INVALID_ARG);

  /* expiry: a session of 50 ms is gone after 100 ms */
  char shortlived[ARGUS_STORE_TOKEN_MAX];
  CHECK_OK(argus_store_session_create(s, op, NULL, 0.05, shortlived, csrf2,
                                      &err));
  CHECK_OK(argus_store_session_check(s, shortlived, &u, NULL, &ok, &err));
  CHECK_INT_EQ(ok, 1);
  usleep(100000);
  CHECK_OK(argus_store_session_check(s, shortlived, &u, NULL, &ok, &err));
  CHECK_INT_EQ(ok, 0);

  /* disabling ends sessions; a password change too */
  CHECK_OK(argus_store_user_set_disabled(s, "op", 1, &err));
  CHECK_OK(argus_store_session_check(s, tok, &u, NULL, &ok, &err));
  CHECK_INT_EQ(ok, 0);
  CHECK_INT_EQ(argus_store_session_create(s, op, NULL, 60, csrf2, csrf, &err),
               ARGUS_E_INVALID_ARG); /* disabled */
  CHECK_OK(argus_store_user_set_disabled(s, "op", 0, &err));
  CHECK_OK(argus_store_session_check(s, tok, &u, NULL, &ok, &err));
  CHECK_INT_EQ(ok, 0); /* it ended; enabling does not revive it */
  CHECK_OK(argus_store_session_create(s, op, NULL, 3600, tok, csrf, &err));
  CHECK_OK(argus_store_user_set_password(s, "op", "another password", &err));
  CHECK_OK(argus_store_session_check(s, tok, &u, NULL, &ok, &err));
  CHECK_INT_EQ(ok, 0);

  /* logout; expired rows are deleted on the way */
  CHECK_OK(argus_store_session_create(s, op, NULL, 3600, tok, csrf, &err));
  CHECK_OK(argus_store_session_end(s, tok, &err));
  CHECK_OK(argus_store_session_check(s, tok, &u, NULL, &ok, &err));
  CHECK_INT_EQ(ok, 0);
  CHECK_OK(argus_store_session_end(s, tok, &err)); /* unknown: fine */
  CHECK_OK(argus_store_session_end(s, NULL, &err));
  CHECK_INT_EQ(sql_int(s, "SELECT count(*) FROM sessions"), 0);
  CHECK_INT_EQ(audit_mentions(s, "session.end"), 1);

  /* API tokens */
  char api[ARGUS_STORE_TOKEN_MAX], api2[ARGUS_STORE_TOKEN_MAX];
  argus_store_id t1 = 0, t2 = 0, t3 = 0;
  CHECK_OK(argus_store_token_create(s, op, "dispatch", NULL, api, &t1, &err));
  CHECK(strncmp(api, "argus_", 6) == 0);
  CHECK_INT_EQ(strlen(api), 49);
  CHECK_INT_EQ(audit_mentions(s, api), 0);
  snprintf(q, sizeof q,
           "SELECT count(*) FROM api_tokens WHERE token_sha256 = '%s'", api);
  CHECK_INT_EQ(sql_int(s, q), 0);
  CHECK_OK(argus_store_token_check(s, api, &u, &ok, &err));
  CHECK_INT_EQ(ok, 1);
  CHECK_INT_EQ(u.id, op);
  CHECK_INT_EQ(u.role, ARGUS_ROLE_OPERATOR);
  CHECK_OK(argus_store_token_check(s, "argus_nope", &u, &ok, &err));
  CHECK_INT_EQ(ok, 0);
  CHECK_OK(argus_store_token_check(s, api + 6, &u, &ok, &err));
  CHECK_INT_EQ(ok, 0); /* without its prefix */
  CHECK_INT_EQ(argus_store_token_create(s, 999, "x", NULL, api2, NULL, &err),
               ARGUS_E_NOT_FOUND);
  CHECK_INT_EQ(argus_store_token_create(s, op, "", NULL, api2, NULL, &err),
               ARGUS_E_INVALID_ARG);
  CHECK_INT_EQ(argus_store_token_create(s, op, "x", "yesterday", api2, NULL,
                                        &err),
               ARGUS_E_INVALID_ARG);
  /* an expired token */
  CHECK_OK(argus_store_token_create(s, op, "old", "2001-01-01T00:00:00Z", api2,
                                    &t2, &err));
  CHECK_OK(argus_store_token_check(s, api2, &u, &ok, &err));
  CHECK_INT_EQ(ok, 0);
  char api3[ARGUS_STORE_TOKEN_MAX];
  CHECK_OK(argus_store_token_create(s, admin, "future",
                                    "2999-01-01T00:00:00+02:00", api3, &t3,
                                    &err));
  CHECK_OK(argus_store_token_check(s, api3, &u, &ok, &err));
  CHECK_INT_EQ(ok, 1);
  CHECK_INT_EQ(u.id, admin);

  argus_store_token *tl = NULL;
  size_t n = 0;
  CHECK_OK(argus_store_token_list(s, 0, &tl, &n, &err));
  CHECK_INT_EQ(n, 3);
  if (n == 3) {
    CHECK_INT_EQ(tl[0].id, t3); /* newest first */
    CHECK(strcmp(tl[0].user, "admin") == 0);
    CHECK(strcmp(tl[0].expires, "2998-12-31T22:00:00.000Z") == 0);
    CHECK(tl[2].expires[0] == '\0');
    char buf[512];
    to_json(token_json_fn, &tl[2], buf, sizeof buf);
    CHECK(strstr(buf, "\"expires\":null") != NULL);
    CHECK(strstr(buf, "\"name\":\"dispatch\"") != NULL);
    CHECK(strstr(buf, "argus_") == NULL);
  }
  argus_store_free(tl);
  CHECK_OK(argus_store_token_list(s, op, &tl, &n, &err));
  CHECK_INT_EQ(n, 2);
  argus_store_free(tl);

  /* a disabled user's token does not pass; enabled again, it does */
  CHECK_OK(argus_store_user_set_disabled(s, "op", 1, &err));
  CHECK_OK(argus_store_token_check(s, api, &u, &ok, &err));
  CHECK_INT_EQ(ok, 0);
  CHECK_OK(argus_store_user_set_disabled(s, "op", 0, &err));
  CHECK_OK(argus_store_token_check(s, api, &u, &ok, &err));
  CHECK_INT_EQ(ok, 1);

  /* revoke */
  CHECK_OK(argus_store_token_revoke(s, t1, &err));
  CHECK_OK(argus_store_token_check(s, api, &u, &ok, &err));
  CHECK_INT_EQ(ok, 0);
  CHECK_INT_EQ(argus_store_token_revoke(s, t1, &err), ARGUS_E_NOT_FOUND);
  CHECK_INT_EQ(audit_mentions(s, "token.revoke"), 1);

  /* removing a user takes its sessions and tokens */
  CHECK_OK(argus_store_session_create(s, op, NULL, 3600, tok, csrf, &err));
  CHECK_OK(argus_store_user_remove(s, "op", &err));
  CHECK_INT_EQ(sql_int(s, "SELECT count(*) FROM sessions"), 0);
  CHECK_INT_EQ(sql_int(s, "SELECT count(*) FROM api_tokens"), 1);
  argus_store_close(s);
}

/* ---- event log -------------------------------------------------------------- */

typedef struct seen {
  argus_store_id ids[16];
  char types[16][64];
  int n, stop_at;
} seen;

static int collect(void *user, const argus_store_event *ev) {
  seen *c = user;
  if (c->n < 16) {
    c->ids[c->n] = ev->id;
    snprintf(c->types[c->n], sizeof c->types[c->n], "%s", ev->type);
  }
  c->n++;
  CHECK(ev->size == strlen(ev->data) && ev->data[0] == '{');
  CHECK(ev->time[0] == '2');
  return c->stop_at && c->n >= c->stop_at;
}

static void test_events(void) {
  argus_store *s = open_db("events");
  CHECK(s != NULL);
  if (!s)
    return;
  argus_store_error err = {{0}};
  argus_store_id last = -1;
  CHECK_OK(argus_store_event_last_id(s, &last, &err));
  CHECK_INT_EQ(last, 0);
  argus_store_id ids[5];
  for (int i = 0; i < 5; i++) {
    char doc[64];
    int n = snprintf(doc, sizeof doc, "{\"i\":%d}", i);
    CHECK_OK(argus_store_event_append(s, i % 2 ? "alert.raised" : "camera.status",
                                      doc, (size_t)n, &ids[i], &err));
    if (i)
      CHECK(ids[i] > ids[i - 1]);
  }
  /* not NUL-terminated: only `size` bytes count */
  const char raw[] = "{\"x\":1}garbage";
  argus_store_id rid = 0;
  CHECK_OK(argus_store_event_append(s, "raw", raw, 7, &rid, &err));
  CHECK_INT_EQ(argus_store_event_append(s, "Bad Type", "{}", 2, NULL, &err),
               ARGUS_E_INVALID_ARG);
  CHECK_INT_EQ(argus_store_event_append(s, "", "{}", 2, NULL, &err),
               ARGUS_E_INVALID_ARG);
  CHECK_INT_EQ(argus_store_event_append(s, "t", "[1]", 3, NULL, &err),
               ARGUS_E_INVALID_ARG);
  CHECK_INT_EQ(argus_store_event_append(s, "t", "{\"a\":", 5, NULL, &err),
               ARGUS_E_INVALID_ARG);
  char *big = malloc(ARGUS_STORE_EVENT_MAX + 2);
  if (big) {
    memset(big, ' ', ARGUS_STORE_EVENT_MAX + 1);
    big[0] = '{';
    big[ARGUS_STORE_EVENT_MAX] = '}';
    big[ARGUS_STORE_EVENT_MAX + 1] = '\0';
    CHECK_INT_EQ(argus_store_event_append(s, "t", big,
                                          ARGUS_STORE_EVENT_MAX + 1, NULL,
                                          &err),
                 ARGUS_E_LIMIT);
    /* '{' and spaces: within the limit, but not closed */
    CHECK_INT_EQ(argus_store_event_append(s, "t", big, ARGUS_STORE_EVENT_MAX,
                                          NULL, &err),
                 ARGUS_E_INVALID_ARG);
    free(big);
  }
  CHECK_OK(argus_store_event_last_id(s, &last, &err));
  CHECK_INT_EQ(last, rid);

  seen c = {0};
  CHECK_OK(argus_store_event_foreach(s, 0, 0, collect, &c, &err));
  CHECK_INT_EQ(c.n, 6);
  CHECK_INT_EQ(c.ids[0], ids[0]);
  CHECK_INT_EQ(c.ids[5], rid);
  CHECK(strcmp(c.types[1], "alert.raised") == 0);
  memset(&c, 0, sizeof c);
  CHECK_OK(argus_store_event_foreach(s, ids[2], 2, collect, &c, &err));
  CHECK_INT_EQ(c.n, 2);
  CHECK_INT_EQ(c.ids[0], ids[3]);
  CHECK_INT_EQ(c.ids[1], ids[4]);
  memset(&c, 0, sizeof c);
  c.stop_at = 1;
  CHECK_OK(argus_store_event_foreach(s, 0, 0, collect, &c, &err));
  CHECK_INT_EQ(c.n, 1);
  CHECK_INT_EQ(argus_store_event_foreach(s, 0, 0, NULL, NULL, &err),
               ARGUS_E_INVALID_ARG);

  /* purge: nothing is older than 2001; everything is older than 2999 */
  int64_t del = -1;
  CHECK_OK(argus_store_event_purge_before(s, "2001-01-01T00:00:00Z", &del,
                                          &err));
  CHECK_INT_EQ(del, 0);
  CHECK_OK(argus_store_event_purge_before(s, "2999-01-01T00:00:00Z", &del,
                                          &err));
  CHECK_INT_EQ(del, 6);
  CHECK_INT_EQ(argus_store_event_purge_before(s, "soon", &del, &err),
               ARGUS_E_INVALID_ARG);
  /* ids are never reused */
  argus_store_id after = 0;
  CHECK_OK(argus_store_event_append(s, "t", "{}", 2, &after, &err));
  CHECK(after > rid);

  /* the cached statement survives many appends and a reader's upgrade */
  for (int i = 0; i < 200; i++)
    CHECK_OK(argus_store_event_append(s, "bulk", "{\"k\":1}", 7, NULL, &err));
  char path[700], data[700];
  snprintf(path, sizeof path, "%s", argus_store_path(s));
  /* a server's store: the same data folder (crops_dir is <data>/crops) */
  snprintf(data, sizeof data, "%s", argus_store_crops_dir(s));
  char *slash = strrchr(data, '/');
  if (slash)
    *slash = '\0';
  argus_store_close(s);
  argus_store_options ro = {
      .read_only = 1, .actor = "test", .data_dir = g_pg ? data : NULL};
  s = NULL;
  CHECK_OK(argus_store_open(path, &ro, &s, &err));
  if (s) {
    CHECK_OK(argus_store_event_last_id(s, &last, &err));
    CHECK_OK(argus_store_event_append(s, "after.upgrade", "{}", 2, &rid, &err));
    CHECK_INT_EQ(rid, last + 1);
    CHECK_OK(argus_store_event_append(s, "after.upgrade", "{}", 2, &rid, &err));
    CHECK_INT_EQ(rid, last + 2);
  }
  argus_store_close(s);
}

/* ---- webhooks and dead letters -------------------------------------------- */

static void test_webhooks(void) {
  argus_store *s = open_db("webhooks");
  CHECK(s != NULL);
  if (!s)
    return;
  argus_store_error err = {{0}};
  CHECK_OK(argus_store_watchlist_create(s, "vip", NAN, NULL, NULL, &err));
  const char *secret = "0123456789abcdef-secret";
  argus_store_id w1 = 0, w2 = 0;
  CHECK_OK(argus_store_webhook_add(s, "https://user:pw@hooks.example/x",
                                   secret, NULL, &w1, &err));
  CHECK_OK(argus_store_webhook_add(s, "http://127.0.0.1:9/y", secret, "vip",
                                   &w2, &err));
  CHECK_INT_EQ(argus_store_webhook_add(s, "ftp://x/", secret, NULL, NULL, &err),
               ARGUS_E_INVALID_ARG);
  CHECK_INT_EQ(argus_store_webhook_add(s, "http://", secret, NULL, NULL, &err),
               ARGUS_E_INVALID_ARG);
  CHECK_INT_EQ(argus_store_webhook_add(s, "http://x/", "short", NULL, NULL,
                                       &err),
               ARGUS_E_INVALID_ARG);
  CHECK_INT_EQ(argus_store_webhook_add(s, "http://x/", secret, "nope", NULL,
                                       &err),
               ARGUS_E_NOT_FOUND);
  CHECK_INT_EQ(audit_mentions(s, secret), 0);
  CHECK_INT_EQ(audit_mentions(s, ":pw@"), 0);

  argus_store_webhook *wl = NULL;
  size_t n = 0;
  CHECK_OK(argus_store_webhook_list(s, &wl, &n, &err));
  CHECK_INT_EQ(n, 2);
  if (n == 2) {
    CHECK(strcmp(wl[0].secret, secret) == 0); /* the signer needs it */
    CHECK(wl[0].watchlist[0] == '\0');
    CHECK(strcmp(wl[1].watchlist, "vip") == 0);
    CHECK_INT_EQ(wl[1].enabled, 1);
    char buf[1024];
    to_json(webhook_json_fn, &wl[0], buf, sizeof buf);
    CHECK(strstr(buf, secret) == NULL);
    CHECK(strstr(buf, "secret") == NULL);
    CHECK(strstr(buf, ":pw@") == NULL);
    CHECK(strstr(buf, "\"watchlist\":null") != NULL);
  }
  argus_store_free(wl);

  argus_store_id d1 = 0, d2 = 0;
  const char *payload = "{\"alert\":7,\"score\":0.61}";
  CHECK_OK(argus_store_deadletter_add(s, w1, 41, payload, 5,
                                      "connection refused", &d1, &err));
  CHECK_OK(argus_store_deadletter_add(s, w2, 42, "{}", 3, NULL, &d2, &err));
  CHECK_INT_EQ(argus_store_deadletter_add(s, 999, 1, "{}", 1, "x", NULL, &err),
               ARGUS_E_INVALID_ARG);
  CHECK_INT_EQ(argus_store_deadletter_add(s, w1, 1, NULL, 1, "x", NULL, &err),
               ARGUS_E_INVALID_ARG);
  argus_store_deadletter *dl = NULL;
  CHECK_OK(argus_store_deadletter_list(s, &dl, &n, &err));
  CHECK_INT_EQ(n, 2);
  if (n == 2) {
    CHECK_INT_EQ(dl[0].id, d2); /* newest first */
    CHECK_INT_EQ(dl[1].webhook_id, w1);
    CHECK_INT_EQ(dl[1].event_id, 41);
    CHECK_INT_EQ(dl[1].attempts, 5);
    CHECK(strcmp(dl[1].last_error, "connection refused") == 0);
    char buf[1024];
    to_json(dl_json_fn, &dl[1], buf, sizeof buf);
    CHECK(strstr(buf, "\"event_id\":41") != NULL);
    CHECK(strstr(buf, "\"last_error\":\"connection refused\"") != NULL);
  }
  argus_store_free(dl);
  argus_store_deadletter one;
  char *body = NULL;
  CHECK_OK(argus_store_deadletter_payload(s, d1, &one, &body, &err));
  CHECK(body && strcmp(body, payload) == 0);
  CHECK_INT_EQ(one.attempts, 5);
  argus_store_free(body);
  CHECK_INT_EQ(argus_store_deadletter_payload(s, 999, NULL, &body, &err),
               ARGUS_E_NOT_FOUND);
  CHECK_OK(argus_store_deadletter_remove(s, d1, &err));
  CHECK_INT_EQ(argus_store_deadletter_remove(s, d1, &err), ARGUS_E_NOT_FOUND);

  /* a webhook's dead letters go with it */
  CHECK_OK(argus_store_webhook_remove(s, w2, &err));
  CHECK_INT_EQ(argus_store_webhook_remove(s, w2, &err), ARGUS_E_NOT_FOUND);
  CHECK_OK(argus_store_deadletter_list(s, &dl, &n, &err));
  CHECK_INT_EQ(n, 0);
  argus_store_free(dl);
  CHECK_INT_EQ(audit_mentions(s, secret), 0);
  argus_store_close(s);
}

/* ---- enrolment, cameras, watchlists, alerts, audit ------------------------ */

static size_t fake_jpeg(unsigned seed, unsigned char *buf, size_t n) {
  for (size_t i = 0; i < n; i++)
    buf[i] = (unsigned char)(seed * 31u + i * 7u);
  buf[0] = 0xff;
  buf[1] = 0xd8;
  buf[n - 2] = 0xff;
  buf[n - 1] = 0xd9;
  return n;
}

static int crop_exists(argus_store *s, const char *hash) {
  char path[4200];
  struct stat st;
  snprintf(path, sizeof path, "%s/%.2s/%s.jpg", argus_store_crops_dir(s), hash,
           hash);
  return stat(path, &st) == 0;
}

static void test_updates_alerts_audit(void) {
  argus_store *s = open_db("updates");
  CHECK(s != NULL);
  if (!s)
    return;
  argus_store_error err = {{0}};
  argus_store_id wl = 0;
  CHECK_OK(argus_store_watchlist_create(s, "vip", 0.5, NULL, &wl, &err));

  /* watchlist flags */
  argus_store_watchlist w;
  CHECK_OK(argus_store_watchlist_get(s, "vip", &w, &err));
  CHECK_INT_EQ(w.ack_required, 0);
  CHECK_OK(argus_store_watchlist_set_ack(s, "vip", 1, &err));
  CHECK_OK(argus_store_watchlist_set_colour(s, "vip", "#00FF7f", &err));
  CHECK_OK(argus_store_watchlist_get(s, "vip", &w, &err));
  CHECK_INT_EQ(w.ack_required, 1);
  CHECK(strcmp(w.colour, "#00ff7f") == 0);
  argus_store_watchlist *wls = NULL;
  size_t n = 0;
  CHECK_OK(argus_store_watchlist_list(s, &wls, &n, &err));
  CHECK(n == 1 && wls[0].ack_required == 1);
  argus_store_free(wls);
  char buf[2048];
  to_json(wl_json_fn, &w, buf, sizeof buf);
  CHECK(strstr(buf, "\"ack_required\":true") != NULL);
  CHECK_INT_EQ(argus_store_watchlist_set_ack(s, "vip", 2, &err),
               ARGUS_E_INVALID_ARG);
  CHECK_INT_EQ(argus_store_watchlist_set_ack(s, "nope", 1, &err),
               ARGUS_E_NOT_FOUND);
  CHECK_INT_EQ(argus_store_watchlist_set_colour(s, "vip", "red", &err),
               ARGUS_E_INVALID_ARG);
  CHECK_INT_EQ(argus_store_watchlist_set_colour(s, "nope", "#000000", &err),
               ARGUS_E_NOT_FOUND);

  /* a person with two photos; the second crop is shared with an alert */
  unsigned char c1[800], c2[900];
  fake_jpeg(1, c1, sizeof c1);
  fake_jpeg(2, c2, sizeof c2);
  float v[4] = {1, 0, 0, 0};
  argus_store_model m = {"fr", "v1", 4};
  argus_store_photo_in ph[2] = {{c1, sizeof c1, 0.9f, "a.jpg", v},
                                {c2, sizeof c2, 0.8f, "b.jpg", v}};
  argus_store_person_in pin = {"Ann", NULL, "first notes"};
  argus_store_id pid = 0;
  CHECK_OK(argus_store_person_add(s, "vip", &pin, &m, ph, 2, &pid, &err));
  argus_store_photo *photos = NULL;
  CHECK_OK(argus_store_photo_list(s, pid, 0, 0, &photos, &n, &err));
  CHECK_INT_EQ(n, 2);
  argus_store_id ph1 = n == 2 ? photos[0].id : 0, ph2 = n == 2 ? photos[1].id : 0;
  char h1[ARGUS_STORE_SHA256_HEX], h2[ARGUS_STORE_SHA256_HEX];
  snprintf(h1, sizeof h1, "%s", n == 2 ? photos[0].crop_sha256 : "");
  snprintf(h2, sizeof h2, "%s", n == 2 ? photos[1].crop_sha256 : "");
  argus_store_free(photos);

  /* person_update */
  CHECK_OK(argus_store_person_update(s, pid, "Ann B.", NULL, &err));
  argus_store_person p;
  CHECK_OK(argus_store_person_get(s, pid, &p, &err));
  CHECK(strcmp(p.name, "Ann B.") == 0);
  CHECK(strcmp(p.notes, "first notes") == 0);
  CHECK_OK(argus_store_person_update(s, pid, NULL, "new notes", &err));
  CHECK_OK(argus_store_person_get(s, pid, &p, &err));
  CHECK(strcmp(p.name, "Ann B.") == 0);
  CHECK(strcmp(p.notes, "new notes") == 0);
  CHECK_INT_EQ(argus_store_person_update(s, 999, "x", NULL, &err),
               ARGUS_E_NOT_FOUND);
  CHECK_INT_EQ(argus_store_person_update(s, pid, "", NULL, &err),
               ARGUS_E_INVALID_ARG);

  /* camera_update */
  argus_store_id cam = 0;
  CHECK_OK(argus_store_camera_add(s, "door", "rtsp://u:hunter2@cam/1", NULL, 1,
                                  &cam, &err));
  CHECK_OK(argus_store_camera_update(s, "door", "rtsp://u:swordfish@cam/2",
                                     "{\"fps\": 5}", 0, &err));
  argus_store_camera c;
  CHECK_OK(argus_store_camera_get(s, "door", &c, &err));
  CHECK(strcmp(c.url, "rtsp://u:swordfish@cam/2") == 0);
  CHECK(strstr(c.settings, "\"fps\"") != NULL);
  CHECK_INT_EQ(c.enabled, 0);
  CHECK_OK(argus_store_camera_update(s, "door", NULL, NULL, 1, &err));
  CHECK_OK(argus_store_camera_get(s, "door", &c, &err));
  CHECK(strcmp(c.url, "rtsp://u:swordfish@cam/2") == 0);
  CHECK_INT_EQ(c.enabled, 1);
  CHECK_INT_EQ(argus_store_camera_update(s, "nope", NULL, NULL, 1, &err),
               ARGUS_E_NOT_FOUND);
  CHECK_INT_EQ(argus_store_camera_update(s, "door", NULL, "[1]", -1, &err),
               ARGUS_E_INVALID_ARG);
  CHECK_INT_EQ(argus_store_camera_update(s, "door", NULL, NULL, 2, &err),
               ARGUS_E_INVALID_ARG);
  CHECK_INT_EQ(audit_mentions(s, "swordfish"), 0);
  CHECK_INT_EQ(audit_mentions(s, "camera.update"), 1);

  /* alerts with and without match details */
  argus_store_alert_in ai = {.camera_id = cam,
                             .camera = "door",
                             .media_time = 12.5,
                             .track_id = 3,
                             .watchlist_id = wl,
                             .person_id = pid,
                             .score = 0.7,
                             .crop = c2,
                             .crop_size = sizeof c2,
                             .threshold = 0.45,
                             .photo_id = ph2,
                             .track_start = 10.25};
  argus_store_id a1 = 0, a2 = 0;
  CHECK_OK(argus_store_alert_insert(s, &ai, &a1, &err));
  ai.threshold = NAN;
  ai.track_start = NAN;
  ai.photo_id = 0;
  ai.crop = NULL;
  ai.crop_size = 0;
  CHECK_OK(argus_store_alert_insert(s, &ai, &a2, &err));
  ai.threshold = INFINITY;
  CHECK_INT_EQ(argus_store_alert_insert(s, &ai, NULL, &err),
               ARGUS_E_INVALID_ARG);
  argus_store_alert al;
  CHECK_OK(argus_store_alert_get(s, a1, &al, &err));
  CHECK_NEAR(al.threshold, 0.45, 1e-9, 0);
  CHECK_INT_EQ(al.photo_id, ph2);
  CHECK_NEAR(al.track_start, 10.25, 1e-9, 0);
  to_json(alert_json_fn, &al, buf, sizeof buf);
  CHECK(strstr(buf, "\"threshold\":0.45") != NULL);
  CHECK(strstr(buf, "\"track_start\":10.25") != NULL);
  char want[64];
  snprintf(want, sizeof want, "\"photo_id\":%lld", (long long)ph2);
  CHECK(strstr(buf, want) != NULL);
  CHECK_OK(argus_store_alert_get(s, a2, &al, &err));
  CHECK(isnan(al.threshold));
  CHECK_INT_EQ(al.photo_id, 0);
  CHECK(isnan(al.track_start));
  to_json(alert_json_fn, &al, buf, sizeof buf);
  CHECK(strstr(buf, "\"threshold\":null") != NULL);
  CHECK(strstr(buf, "\"photo_id\":null") != NULL);
  CHECK(strstr(buf, "\"track_start\":null") != NULL);
  argus_store_alert *alist = NULL;
  argus_store_alert_filter af = {.status = -1};
  CHECK_OK(argus_store_alert_list(s, &af, &alist, &n, &err));
  CHECK_INT_EQ(n, 2);
  if (n == 2) {
    CHECK_INT_EQ(alist[1].photo_id, ph2);
    CHECK(isnan(alist[0].threshold));
  }
  argus_store_free(alist);

  /* photo_remove: the crop file goes when nothing else refers to it */
  CHECK(crop_exists(s, h1));
  CHECK(crop_exists(s, h2));
  argus_store_id owner = 0;
  CHECK_OK(argus_store_photo_remove(s, ph1, &owner, &err));
  CHECK_INT_EQ(owner, pid);
  CHECK(!crop_exists(s, h1));
  CHECK_INT_EQ(argus_store_photo_remove(s, ph1, NULL, &err), ARGUS_E_NOT_FOUND);
  CHECK(strstr(err.msg, "no photo with id") != NULL);
  /* h2 is also the crop of alert a1: the file stays */
  CHECK_OK(argus_store_photo_remove(s, ph2, NULL, &err));
  CHECK(crop_exists(s, h2));
  CHECK_OK(argus_store_person_get(s, pid, &p, &err));
  CHECK_INT_EQ(p.photos, 0);
  CHECK_INT_EQ(p.templates, 0);
  CHECK_OK(argus_store_alert_get(s, a1, &al, &err));
  CHECK_INT_EQ(al.photo_id, 0); /* its photo is gone: no link */
  /* an alert naming a removed photo keeps no link */
  ai.threshold = 0.5;
  ai.photo_id = ph1;
  ai.event_id = "ev-x";
  argus_store_id a3 = 0;
  CHECK_OK(argus_store_alert_insert(s, &ai, &a3, &err));
  CHECK_OK(argus_store_alert_get(s, a3, &al, &err));
  CHECK_INT_EQ(al.photo_id, 0);
  /* the change feed sees the photo removals on the person */
  argus_store_change *ch = NULL;
  CHECK_OK(argus_store_changes_since(s, 0, 0, &ch, &n, NULL, &err));
  int removals = 0;
  for (size_t i = 0; i < n; i++)
    if (strcmp(ch[i].action, "photo.remove") == 0) {
      removals++;
      CHECK(strcmp(ch[i].object_type, "person") == 0);
      CHECK_INT_EQ(ch[i].object_id, pid);
    }
  CHECK_INT_EQ(removals, 2);
  argus_store_free(ch);

  /* audit_query */
  argus_store_audit *rows = NULL;
  argus_store_audit_filter f = {.action = "person."};
  CHECK_OK(argus_store_audit_query(s, &f, &rows, &n, &err));
  CHECK_INT_EQ(n, 3); /* add, update x2 */
  for (size_t i = 0; i < n; i++)
    CHECK(strncmp(rows[i].action, "person.", 7) == 0);
  if (n >= 2)
    CHECK(rows[0].id > rows[1].id);
  argus_store_free(rows);
  /* a prefix ignores the case of ASCII letters on both backends */
  f = (argus_store_audit_filter){.action = "PERSON."};
  CHECK_OK(argus_store_audit_query(s, &f, &rows, &n, &err));
  CHECK_INT_EQ(n, 3);
  argus_store_free(rows);
  f = (argus_store_audit_filter){.action = "photo.remove"};
  CHECK_OK(argus_store_audit_query(s, &f, &rows, &n, &err));
  CHECK_INT_EQ(n, 2);
  argus_store_free(rows);
  f = (argus_store_audit_filter){.action = "person"}; /* exact: none */
  CHECK_OK(argus_store_audit_query(s, &f, &rows, &n, &err));
  CHECK_INT_EQ(n, 0);
  argus_store_free(rows);
  f = (argus_store_audit_filter){.object_type = "camera", .object_id = cam};
  CHECK_OK(argus_store_audit_query(s, &f, &rows, &n, &err));
  CHECK_INT_EQ(n, 3); /* add, update x2 (the refused ones rolled back) */
  argus_store_free(rows);
  f = (argus_store_audit_filter){.actor = "test", .limit = 2};
  CHECK_OK(argus_store_audit_query(s, &f, &rows, &n, &err));
  CHECK_INT_EQ(n, 2);
  argus_store_id before = n == 2 ? rows[1].id : 0;
  argus_store_free(rows);
  f = (argus_store_audit_filter){.actor = "test", .before_id = before,
                                 .limit = 1};
  CHECK_OK(argus_store_audit_query(s, &f, &rows, &n, &err));
  CHECK(n == 1 && rows[0].id < before);
  argus_store_free(rows);
  f = (argus_store_audit_filter){.actor = "someone else"};
  CHECK_OK(argus_store_audit_query(s, &f, &rows, &n, &err));
  CHECK_INT_EQ(n, 0);
  argus_store_free(rows);
  f = (argus_store_audit_filter){.since = "2999-01-01T00:00:00Z"};
  CHECK_OK(argus_store_audit_query(s, &f, &rows, &n, &err));
  CHECK_INT_EQ(n, 0);
  argus_store_free(rows);
  f = (argus_store_audit_filter){.until = "2999-01-01T00:00:00Z",
                                 .since = "2001-01-01T00:00:00+01:00"};
  CHECK_OK(argus_store_audit_query(s, &f, &rows, &n, &err));
  CHECK(n > 10);
  argus_store_free(rows);
  f = (argus_store_audit_filter){.since = "last week"};
  CHECK_INT_EQ(argus_store_audit_query(s, &f, &rows, &n, &err),
               ARGUS_E_INVALID_ARG);
  f = (argus_store_audit_filter){.action = "per%"}; /* wildcards are text */
  CHECK_OK(argus_store_audit_query(s, &f, &rows, &n, &err));
  CHECK_INT_EQ(n, 0);
  argus_store_free(rows);
  f = (argus_store_audit_filter){.action = "per%."};
  CHECK_OK(argus_store_audit_query(s, &f, &rows, &n, &err));
  CHECK_INT_EQ(n, 0);
  argus_store_free(rows);
  CHECK_OK(argus_store_audit_query(s, NULL, &rows, &n, &err));
  CHECK(n > 10);
  argus_store_free(rows);
  argus_store_close(s);
}

/* ---- upgrade of a schema-3 database ---------------------------------------- */

static void test_upgrade_from_3(void) {
  char dir[600], path[700];
  snprintf(dir, sizeof dir, "%s/v3", g_root);
  rm_rf(dir);
  mkdir(dir, 0700);
  snprintf(path, sizeof path, "%s/old.db", dir);
  /* Migrations 1-3 exactly as a version-3 argus applied them, in the
   * backend's dialect. */
  const char *id_pk =
      g_pg ? store_postgres_ops.sql_id_pk : store_sqlite_ops.sql_id_pk;
  const char *blob =
      g_pg ? store_postgres_ops.sql_blob : store_sqlite_ops.sql_blob;
  char url[160] = "";
  sqlite3 *h = NULL;
  if (g_pg)
    CHECK_INT_EQ(pg_db_for_path(g_pg, path, 1, url, sizeof url), 0);
  else
    CHECK(sqlite3_open(path, &h) == SQLITE_OK);
#define OLD_EXEC(sql)                                                          \
  (g_pg ? pg_exec_url(url, (sql)) : sqlite3_exec(h, (sql), NULL, NULL, NULL))
  int rc =
      OLD_EXEC(g_pg ? "CREATE TABLE schema_version "
                      "(version INTEGER PRIMARY KEY, description TEXT NOT "
                      "NULL, applied TEXT NOT NULL)"
                    : "PRAGMA foreign_keys=ON; CREATE TABLE schema_version "
                      "(version INTEGER PRIMARY KEY, description TEXT NOT "
                      "NULL, applied TEXT NOT NULL)");
  CHECK_INT_EQ(rc, 0);
  for (int i = 0; i < 3 && i < store_migration_count; i++) {
    const char *src = store_migrations[i].sql;
    size_t len = strlen(src);
    char *sql = malloc(len * 16 + 64), *o = sql;
    for (const char *p = src; sql && *p;) {
      if (strncmp(p, "@ID@", 4) == 0) {
        memcpy(o, id_pk, strlen(id_pk));
        o += strlen(id_pk);
        p += 4;
      } else if (strncmp(p, "@BLOB@", 6) == 0) {
        memcpy(o, blob, strlen(blob));
        o += strlen(blob);
        p += 6;
      } else {
        *o++ = *p++;
      }
    }
    if (sql)
      *o = '\0';
    CHECK_INT_EQ(sql ? OLD_EXEC(sql) : -1, 0);
    free(sql);
    char ins[200];
    snprintf(ins, sizeof ins,
             "INSERT INTO schema_version VALUES (%d, 'v', "
             "'2026-01-01T00:00:00.000Z')",
             store_migrations[i].version);
    CHECK_INT_EQ(OLD_EXEC(ins), 0);
  }
  rc = OLD_EXEC(
      "INSERT INTO watchlists (name, threshold, colour, active, created, "
      "updated) VALUES ('old', 0.4, '#123456', 1, '2026-01-01T00:00:00.000Z', "
      "'2026-01-01T00:00:00.000Z');"
      "INSERT INTO persons (watchlist_id, name, notes, created, updated) "
      "VALUES (1, 'Old Person', '', '2026-01-01T00:00:00.000Z', "
      "'2026-01-01T00:00:00.000Z');"
      "INSERT INTO alerts (camera, time, media_time, track_id, "
      "watchlist_id, watchlist, person_id, person, score, status) VALUES "
      "('cam', '2026-01-01T00:00:01.000Z', 1.5, 1, 1, 'old', 1, "
      "'Old Person', 0.8, 'pending')");
#undef OLD_EXEC
  if (rc != 0 && h)
    fprintf(stderr, "v3 rows: %s\n", sqlite3_errmsg(h));
  CHECK_INT_EQ(rc, 0);
  if (h)
    sqlite3_close(h);

  argus_store *s = NULL;
  argus_store_error err = {{0}};
  CHECK_OK(pg_test_store_open(g_pg, path, NULL, &s, &err));
  if (!s) {
    fprintf(stderr, "open v3: %s\n", err.msg);
    return;
  }
  CHECK_INT_EQ(argus_store_schema_version(s), ARGUS_STORE_SCHEMA_VERSION);
  CHECK(ARGUS_STORE_SCHEMA_VERSION >= 4);
  argus_store_watchlist w;
  CHECK_OK(argus_store_watchlist_get(s, "old", &w, &err));
  CHECK_INT_EQ(w.ack_required, 0);
  CHECK_NEAR(w.threshold, 0.4, 1e-9, 0);
  argus_store_alert *al = NULL;
  size_t n = 0;
  CHECK_OK(argus_store_alert_list(s, NULL, &al, &n, &err));
  CHECK_INT_EQ(n, 1);
  if (n == 1) {
    CHECK(strcmp(al[0].person, "Old Person") == 0);
    CHECK(isnan(al[0].threshold));
    CHECK_INT_EQ(al[0].photo_id, 0);
    CHECK(isnan(al[0].track_start));
  }
  argus_store_free(al);
  int64_t users = -1;
  CHECK_OK(argus_store_user_count(s, &users, NULL, &err));
  CHECK_INT_EQ(users, 0);
  argus_store_audit *rows = NULL;
  argus_store_audit_filter f = {.action = "schema.migrate"};
  CHECK_OK(argus_store_audit_query(s, &f, &rows, &n, &err));
  /* only migrations 4 and later ran here (newest first) */
  CHECK_INT_EQ(n, ARGUS_STORE_SCHEMA_VERSION - 3);
  for (size_t i = 0; i < n; i++)
    CHECK_INT_EQ(rows[i].object_id, ARGUS_STORE_SCHEMA_VERSION - (int)i);
  argus_store_free(rows);
  argus_store_close(s);
}

int main(void) {
  const char *tmp = getenv("TMPDIR");
  snprintf(g_root, sizeof g_root, "%s/argus-accounts-XXXXXX",
           tmp && tmp[0] ? tmp : "/tmp");
  if (!mkdtemp(g_root)) {
    perror("mkdtemp");
    return 1;
  }
  argus_log_set_level(ARGUS_LOG_ERROR);
  if (pg_test_wanted()) {
    int pr = pg_cluster_start(&g_pgc);
    if (pr != 0) {
      fprintf(stderr, "test_store_accounts: no PostgreSQL cluster\n");
      return pr == 77 ? 77 : 1;
    }
    g_pg = &g_pgc;
    printf("test_store_accounts: on PostgreSQL (port %d)\n", g_pgc.port);
  }
  test_roles();
  test_users();
  test_sessions_tokens();
  test_events();
  test_webhooks();
  test_updates_alerts_audit();
  test_upgrade_from_3();
  int rc = check_report(g_pg ? "test_store_accounts (PostgreSQL)"
                             : "test_store_accounts");
  if (g_pg)
    pg_cluster_stop(&g_pgc);
  if (rc == 0)
    rm_rf(g_root);
  else
    fprintf(stderr, "kept %s for inspection\n", g_root);
  return rc;
}
