/* Administration on the wire: the audit log (auditor, admin; read-only,
 * filtered, paged newest first), users and API tokens (admin).
 *
 * Passwords and token secrets are never echoed: a user's JSON has no
 * password, a token's secret is in the answer of its creation only. The
 * store refuses what would lock everyone out (removing, disabling or
 * demoting the last enabled admin), short passwords and duplicate names;
 * its message is passed on (400, or 409 for a duplicate). A change of
 * users or tokens empties the server's credential cache, so a revoked
 * token or a disabled user stops working at once. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_server.h"
#include "h_util.h"

/* ---- list items (api_page) ------------------------------------------------ */

API_PAGE_ITEM(audit_item, argus_store_audit, argus_store_audit_json)
API_PAGE_ITEM(user_item, argus_store_user, argus_store_user_json)
API_PAGE_ITEM(token_item, argus_store_token, argus_store_token_json)

/* ---- audit ------------------------------------------------------------------ */

API_HANDLER(api_h_audit_list) {
  size_t limit;
  argus_store_id cursor;
  if (!api_page_args(r, &limit, &cursor))
    return;
  argus_store_audit_filter f;
  memset(&f, 0, sizeof f);
  int64_t oid = 0;
  if (!api_query_int(r, "object_id", 1, INT64_MAX, &oid))
    return;
  f.before_id = cursor;
  f.limit = limit + 1; /* one more says whether a next page exists */
  f.actor = api_query(r, "actor");
  f.action = api_query(r, "action");
  f.object_type = api_query(r, "object_type");
  f.object_id = oid;
  f.since = api_query(r, "since");
  f.until = api_query(r, "until");
  argus_store *st = api_store(r);
  if (!st)
    return;
  argus_store_audit *rows = NULL;
  size_t n = 0;
  argus_error_detail err = {{0}};
  argus_err e = argus_store_audit_query(st, &f, &rows, &n, &err);
  if (e) {
    api_reply_err(r, e, &err);
    return;
  }
  /* Newest first, one row more than the page (is there another?). */
  api_page d = {.item = audit_item};
  api_page_cut(&d, rows, n, sizeof *rows, offsetof(argus_store_audit, id), 1,
               0, limit);
  api_reply_json(r, 200, api_page_json, &d);
  argus_store_free(rows);
}

/* The hash chain checked (argus_store_audit_verify; docs/lawful-use.md):
 * 200 with the outcome whether intact or not; anchor_id and anchor_sha256
 * (both or neither) also check a head kept outside. Reads the whole log:
 * about 5 s per million rows. */
static void audit_check_json(void *user, argus_json *j) {
  const argus_store_audit_check *c = user;
  int intact = c->fault == ARGUS_AUDIT_INTACT;
  argus_json_obj_begin(j, NULL);
  argus_json_bool(j, "intact", intact);
  argus_json_int(j, "rows", c->rows);
  argus_json_str(j, "fault", argus_store_audit_fault_name(c->fault));
  if (intact)
    argus_json_null(j, "bad_id");
  else
    argus_json_int(j, "bad_id", c->bad_id);
  argus_json_int(j, "good_id", c->good_id);
  argus_json_int(j, "head_id", c->head_id);
  argus_json_str(j, "head_sha256", c->head_sha256);
  argus_json_str(j, "message", c->msg);
  argus_json_obj_end(j);
}

API_HANDLER(api_h_audit_verify) {
  int64_t anchor_id = 0;
  if (!api_query_int(r, "anchor_id", 1, INT64_MAX, &anchor_id))
    return;
  const char *anchor = api_query(r, "anchor_sha256");
  if ((anchor_id > 0) != (anchor != NULL)) {
    api_reply_error(r, 400, "bad_request",
                    "anchor_id and anchor_sha256 go together");
    return;
  }
  argus_store *st = api_store(r);
  if (!st)
    return;
  argus_store_audit_check c;
  argus_error_detail err = {{0}};
  argus_err e = argus_store_audit_verify(st, anchor_id, anchor, &c, &err);
  if (e) {
    api_reply_err(r, e, &err);
    return;
  }
  api_reply_json(r, 200, audit_check_json, &c);
}

/* ---- users -------------------------------------------------------------------- */

API_HANDLER(api_h_users_list) {
  size_t limit;
  argus_store_id cursor;
  if (!api_page_args(r, &limit, &cursor))
    return;
  argus_store *st = api_store(r);
  if (!st)
    return;
  argus_store_user *all = NULL;
  size_t n = 0;
  argus_error_detail err = {{0}};
  argus_err e = argus_store_user_list(st, &all, &n, &err);
  if (e) {
    api_reply_err(r, e, &err);
    return;
  }
  /* Pages follow the ids (stable while users come and go). */
  api_page d = {.item = user_item};
  api_page_cut(&d, all, n, sizeof *all, offsetof(argus_store_user, id), 0,
               cursor, limit);
  api_reply_json(r, 200, api_page_json, &d);
  argus_store_free(all);
}

static void one_user_json(void *user, argus_json *j) {
  argus_store_user_json(user, j);
}

/* The user of path parameter 0 into *u: 1, or 0 after answering. */
static int user_of_path(api_req *r, argus_store *st, argus_store_user *u) {
  argus_store_id id;
  if (!api_param_id(r, 0, "user", &id))
    return 0;
  argus_error_detail err = {{0}};
  return api_found(r, argus_store_user_get_id(st, id, u, &err), &err, "user",
                   id);
}

/* A role name from the body: 1, or 0 after answering 400 naming "role". */
static int role_arg(api_req *r, const char *name, argus_role *out) {
  if (argus_role_parse(name, out) != ARGUS_OK) {
    api_reply_error(r, 400, "bad_request",
                    "field 'role': unknown role '%.64s' (admin, supervisor, "
                    "operator, auditor)",
                    name);
    return 0;
  }
  return 1;
}

static const api_field user_fields[] = {
    {"name", API_J_STRING, 1, ARGUS_STORE_NAME_MAX - 1},
    {"password", API_J_STRING, 1, ARGUS_STORE_PASSWORD_MAX - 1},
    {"role", API_J_STRING, 1, 32},
};

API_HANDLER(api_h_users_create) {
  cJSON *body = hu_body(r, user_fields, 3);
  if (!body)
    return;
  argus_role role;
  if (!role_arg(r, api_json_str(body, "role"), &role))
    goto out;
  argus_store *st = api_store(r);
  if (!st)
    goto out;
  argus_store_id id = 0;
  argus_error_detail err = {{0}};
  argus_err e = argus_store_user_add(
      st, api_json_str(body, "name"), api_json_str(body, "password"), role, &id, &err);
  if (e) {
    api_reply_err(r, e, &err);
    goto out;
  }
  api_auth_changed(r->srv);
  argus_store_user u;
  e = argus_store_user_get_id(st, id, &u, &err);
  if (e) {
    api_reply_err(r, e, &err);
    goto out;
  }
  char loc[64];
  snprintf(loc, sizeof loc, API_PREFIX "/users/%lld", (long long)id);
  api_add_header(r, "Location", loc);
  api_reply_json(r, 201, one_user_json, &u);
out:
  cJSON_Delete(body);
}

API_HANDLER(api_h_user_get) {
  argus_store *st = api_store(r);
  if (!st)
    return;
  argus_store_user u;
  if (!user_of_path(r, st, &u))
    return;
  api_reply_json(r, 200, one_user_json, &u);
}

static const api_field user_patch_fields[] = {
    {"role", API_J_STRING, 0, 32},
    {"disabled", API_J_BOOL, 0, 0},
    {"password", API_J_STRING, 0, ARGUS_STORE_PASSWORD_MAX - 1},
};

API_HANDLER(api_h_user_update) {
  argus_store *st = api_store(r);
  if (!st)
    return;
  argus_store_user u;
  if (!user_of_path(r, st, &u))
    return;
  cJSON *body = hu_body(r, user_patch_fields, 3);
  if (!body)
    return;
  const char *role_s = api_json_str(body, "role");
  const char *pw = api_json_str(body, "password");
  const cJSON *dis = cJSON_GetObjectItemCaseSensitive(body, "disabled");
  if (!role_s && !pw && !cJSON_IsBool(dis)) {
    api_reply_error(r, 400, "bad_request",
                    "body: nothing to change (role, disabled, password)");
    goto out;
  }
  argus_role role = u.role;
  if (role_s && !role_arg(r, role_s, &role))
    goto out;
  /* Checked before anything changes: a short password is refused whole. */
  if (pw && strlen(pw) < ARGUS_STORE_PASSWORD_MIN) {
    api_reply_error(r, 400, "bad_request",
                    "field 'password': at least %d bytes",
                    ARGUS_STORE_PASSWORD_MIN);
    goto out;
  }
  /* Every change in one store transaction: all of them, or (an error, the
   * last-admin rule on the result) none. */
  int new_role = role_s && role != u.role ? (int)role : -1;
  int new_dis = cJSON_IsBool(dis) && cJSON_IsTrue(dis) != u.disabled
                    ? cJSON_IsTrue(dis)
                    : -1;
  argus_error_detail err = {{0}};
  argus_err e = ARGUS_OK;
  if (new_role >= 0 || pw || new_dis >= 0)
    e = argus_store_user_update(st, u.name, new_role, pw, new_dis, &err);
  api_auth_changed(r->srv);
  if (e) {
    api_reply_err(r, e, &err);
    goto out;
  }
  e = argus_store_user_get_id(st, u.id, &u, &err);
  if (e) {
    api_reply_err(r, e, &err);
    goto out;
  }
  api_reply_json(r, 200, one_user_json, &u);
out:
  cJSON_Delete(body);
}

API_HANDLER(api_h_user_delete) {
  argus_store *st = api_store(r);
  if (!st)
    return;
  argus_store_user u;
  if (!user_of_path(r, st, &u))
    return;
  argus_error_detail err = {{0}};
  argus_err e = argus_store_user_remove(st, u.name, &err);
  api_auth_changed(r->srv);
  if (e) {
    api_reply_err(r, e, &err);
    return;
  }
  api_reply_empty(r, 204);
}

/* ---- tokens ------------------------------------------------------------------- */

API_HANDLER(api_h_tokens_list) {
  size_t limit;
  argus_store_id cursor;
  if (!api_page_args(r, &limit, &cursor))
    return;
  argus_store *st = api_store(r);
  if (!st)
    return;
  argus_store_token *all = NULL;
  size_t n = 0;
  argus_error_detail err = {{0}};
  argus_err e = argus_store_token_list(st, 0, &all, &n, &err);
  if (e) {
    api_reply_err(r, e, &err);
    return;
  }
  /* Newest first: a page continues below the cursor's id. */
  api_page d = {.item = token_item};
  api_page_cut(&d, all, n, sizeof *all, offsetof(argus_store_token, id), 1,
               cursor, limit);
  api_reply_json(r, 200, api_page_json, &d);
  argus_store_free(all);
}

typedef struct token_doc {
  const argus_store_token *t;
  const char *secret;
} token_doc;

static void token_created_json(void *user, argus_json *j) {
  const token_doc *d = user;
  argus_json_obj_begin(j, NULL);
  argus_json_int(j, "id", d->t->id);
  argus_json_int(j, "user_id", d->t->user_id);
  argus_json_str(j, "user", d->t->user);
  argus_json_str(j, "name", d->t->name);
  argus_json_str(j, "created", d->t->created);
  if (d->t->expires[0])
    argus_json_str(j, "expires", d->t->expires);
  else
    argus_json_null(j, "expires");
  argus_json_str(j, "token", d->secret);
  argus_json_obj_end(j);
}

static const api_field token_fields[] = {
    {"user", API_J_STRING, 0, ARGUS_STORE_NAME_MAX - 1},
    {"user_id", API_J_INT, 0, 0},
    {"name", API_J_STRING, 1, ARGUS_STORE_NAME_MAX - 1},
    {"expires", API_J_STRING | API_J_NULL, 0, ARGUS_STORE_TIME_MAX - 1},
};

API_HANDLER(api_h_tokens_create) {
  cJSON *body = hu_body(r, token_fields, 4);
  if (!body)
    return;
  char secret[ARGUS_STORE_TOKEN_MAX] = "";
  const char *uname = api_json_str(body, "user");
  const cJSON *uid = cJSON_GetObjectItemCaseSensitive(body, "user_id");
  if (!uname == !cJSON_IsNumber(uid)) {
    api_reply_error(r, 400, "bad_request",
                    "body: give the token's owner as 'user' (a name) or "
                    "'user_id', one of them");
    goto out;
  }
  const char *expires = api_json_str(body, "expires");
  if (expires) {
    if (!api_time_param_ok(expires)) {
      api_reply_error(r, 400, "bad_request",
                      "field 'expires': not an RFC 3339 time: '%.64s'",
                      expires);
      goto out;
    }
  }
  argus_store *st = api_store(r);
  if (!st)
    goto out;
  argus_store_user u;
  argus_error_detail err = {{0}};
  argus_err e;
  if (uname)
    e = argus_store_user_get(st, uname, &u, &err);
  else {
    double v = uid->valuedouble;
    if (!(v >= 1 && v <= 9.0e18) || v != (double)(int64_t)v) {
      api_reply_error(r, 400, "bad_request",
                      "field 'user_id': expected a user id (an integer "
                      ">= 1)");
      goto out;
    }
    e = argus_store_user_get_id(st, (argus_store_id)v, &u, &err);
  }
  if (e == ARGUS_E_NOT_FOUND) {
    /* The owner is part of the body, not the path: 400 names the field. */
    api_reply_error(r, 400, "bad_request", "field '%s': %s",
                    uname ? "user" : "user_id",
                    err.msg[0] ? err.msg : "no such user");
    goto out;
  }
  if (e) {
    api_reply_err(r, e, &err);
    goto out;
  }
  argus_store_id id = 0;
  e = argus_store_token_create(st, u.id, api_json_str(body, "name"), expires,
                               secret, &id, &err);
  if (e) {
    api_reply_err(r, e, &err);
    goto out;
  }
  api_auth_changed(r->srv);
  argus_store_token *list = NULL;
  size_t n = 0;
  e = argus_store_token_list(st, u.id, &list, &n, &err);
  if (e) {
    api_reply_err(r, e, &err);
    goto out;
  }
  const argus_store_token *t = NULL;
  for (size_t i = 0; i < n && !t; i++)
    if (list[i].id == id)
      t = &list[i];
  if (t) {
    char loc[64];
    snprintf(loc, sizeof loc, API_PREFIX "/tokens/%lld", (long long)id);
    api_add_header(r, "Location", loc);
    token_doc d = {t, secret};
    api_reply_json(r, 201, token_created_json, &d);
  } else
    api_reply_error(r, 500, "internal", "token %lld vanished", (long long)id);
  argus_store_free(list);
out:
  /* The secret leaves this process once, in the answer. */
  memset(secret, 0, sizeof secret);
  cJSON_Delete(body);
}

API_HANDLER(api_h_token_delete) {
  argus_store_id id;
  if (!api_param_id(r, 0, "token", &id))
    return;
  argus_store *st = api_store(r);
  if (!st)
    return;
  argus_error_detail err = {{0}};
  argus_err e = argus_store_token_revoke(st, id, &err);
  api_auth_changed(r->srv);
  if (e) {
    api_reply_err(r, e, &err);
    return;
  }
  api_reply_empty(r, 204);
}
