/* Outbound webhooks on the wire (admin): list, create, delete; the dead
 * letters (deliveries that failed after every retry): list, retry, delete.
 *
 * A webhook's secret signs its deliveries (docs/api.md, "Webhooks"). It is
 * never listed: the answer of POST /webhooks carries it once, and only when
 * the server generated it (32 random bytes, base64url without padding);
 * a client that chose its own secret already knows it. After a change the
 * outbound module re-reads the webhooks (api_outbound_reload), so the next
 * alert already follows it. Adding and removing are audited by the store
 * (without the secret). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "h_util.h"
#include "outbound.h"

/* ---- webhooks ------------------------------------------------------------ */

API_PAGE_ITEM(hook_item, argus_store_webhook, argus_store_webhook_json)

/* Oldest first (by id); the page after `cursor`. */
API_HANDLER(api_h_webhooks_list) {
  size_t limit;
  argus_store_id cursor;
  if (!api_page_args(r, &limit, &cursor))
    return;
  argus_store *st = api_store(r);
  if (!st)
    return;
  argus_store_webhook *w = NULL;
  size_t n = 0;
  argus_error_detail err = {{0}};
  argus_err e = argus_store_webhook_list(st, &w, &n, &err);
  if (e) {
    api_reply_err(r, e, &err);
    return;
  }
  api_page p = {.item = hook_item};
  api_page_cut(&p, w, n, sizeof *w, offsetof(argus_store_webhook, id), 0,
               cursor, limit);
  api_reply_json(r, 200, api_page_json, &p);
  sodium_memzero(w, n * sizeof *w);
  argus_store_free(w);
}

typedef struct hook_created {
  const argus_store_webhook *w;
  const char *secret; /* generated: shown once; else NULL */
} hook_created;

static void hook_created_json(void *user, argus_json *j) {
  const hook_created *c = user;
  if (!c->secret) {
    argus_store_webhook_json(c->w, j);
    return;
  }
  /* The record as the list shows it, with "secret" added before its
   * closing brace (a generated secret is base64url: nothing to escape). */
  char rec[ARGUS_STORE_TEXT_MAX * 2 + 1024];
  argus_json rj;
  argus_json_init(&rj, rec, sizeof rec);
  argus_store_webhook_json(c->w, &rj);
  size_t n = argus_json_finish(&rj);
  if (n >= 2 && rec[n - 1] == '}' && n + strlen(c->secret) + 16 < sizeof rec) {
    int k = snprintf(rec + n - 1, sizeof rec - (n - 1), ",\"secret\":\"%s\"}",
                     c->secret);
    argus_json_raw(j, NULL, rec, n - 1 + (size_t)k);
  } else {
    argus_json_obj_begin(j, NULL);
    argus_json_int(j, "id", c->w->id);
    argus_json_str(j, "secret", c->secret);
    argus_json_obj_end(j);
  }
  sodium_memzero(rec, sizeof rec);
}

static const api_field hook_fields[] = {
    {"url", API_J_STRING, 1, ARGUS_STORE_TEXT_MAX - 1},
    {"secret", API_J_STRING | API_J_NULL, 0, ARGUS_STORE_NAME_MAX - 1},
    {"watchlist", API_J_STRING | API_J_NULL, 0, ARGUS_STORE_NAME_MAX - 1},
};

API_HANDLER(api_h_webhooks_create) {
  char secret[ARGUS_STORE_NAME_MAX] = "";
  int generated = 0;
  argus_store_webhook *w = NULL;
  size_t n = 0;
  cJSON *body = hu_body(r, hook_fields, 3);
  if (!body)
    return;
  const char *url = api_json_str(body, "url");
  const char *given = api_json_str(body, "secret");
  const char *wl = api_json_str(body, "watchlist");
  if (given) {
    size_t len = strlen(given);
    if (len < 16) {
      api_reply_error(r, 400, "bad_request",
                      "field 'secret' must be 16 to %d bytes (or absent: "
                      "the server makes one)",
                      ARGUS_STORE_NAME_MAX - 1);
      goto out;
    }
    snprintf(secret, sizeof secret, "%s", given);
  } else {
    unsigned char raw[32];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2base64(secret, sizeof secret, raw, sizeof raw,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof raw);
    generated = 1;
  }
  argus_store *st = api_store(r);
  if (!st)
    goto out;
  argus_error_detail err = {{0}};
  argus_store_id id = 0;
  argus_err e = argus_store_webhook_add(st, url, secret, wl && *wl ? wl : NULL,
                                        &id, &err);
  if (e == ARGUS_E_NOT_FOUND) {
    api_reply_error(r, 400, "bad_request", "field 'watchlist': %s",
                    err.msg[0] ? err.msg : "no such watchlist");
    goto out;
  }
  if (e) {
    api_reply_err(r, e, &err);
    goto out;
  }
  api_outbound_reload(api_server_outbound(r->srv));
  e = argus_store_webhook_list(st, &w, &n, &err);
  if (e) {
    api_reply_err(r, e, &err);
    goto out;
  }
  const argus_store_webhook *row = NULL;
  for (size_t i = 0; i < n && !row; i++)
    if (w[i].id == id)
      row = &w[i];
  if (!row) {
    api_reply_error(r, 500, "internal", "webhook %lld vanished", (long long)id);
    goto out;
  }
  char loc[64];
  snprintf(loc, sizeof loc, API_PREFIX "/webhooks/%lld", (long long)id);
  api_add_header(r, "Location", loc);
  hook_created c = {row, generated ? secret : NULL};
  api_reply_json(r, 201, hook_created_json, &c);
out:
  if (w) {
    sodium_memzero(w, n * sizeof *w);
    argus_store_free(w);
  }
  sodium_memzero(secret, sizeof secret);
  cJSON_Delete(body);
}

API_HANDLER(api_h_webhook_delete) {
  argus_store_id id;
  if (!api_param_id(r, 0, "webhook", &id))
    return;
  argus_store *st = api_store(r);
  if (!st)
    return;
  argus_error_detail err = {{0}};
  argus_err e = argus_store_webhook_remove(st, id, &err);
  if (e) {
    api_reply_err(r, e, &err);
    return;
  }
  api_outbound_reload(api_server_outbound(r->srv));
  api_reply_empty(r, 204);
}

/* ---- dead letters ------------------------------------------------------- */

API_PAGE_ITEM(dl_item, argus_store_deadletter, argus_store_deadletter_json)

/* Newest first; the page after `cursor` (ids below it). */
API_HANDLER(api_h_deadletters_list) {
  size_t limit;
  argus_store_id cursor;
  if (!api_page_args(r, &limit, &cursor))
    return;
  argus_store *st = api_store(r);
  if (!st)
    return;
  argus_store_deadletter *d = NULL;
  size_t n = 0;
  argus_error_detail err = {{0}};
  argus_err e = argus_store_deadletter_list(st, &d, &n, &err);
  if (e) {
    api_reply_err(r, e, &err);
    return;
  }
  api_page p = {.item = dl_item};
  api_page_cut(&p, d, n, sizeof *d, offsetof(argus_store_deadletter, id), 1,
               cursor, limit);
  api_reply_json(r, 200, api_page_json, &p);
  argus_store_free(d);
}

static void retry_json(void *user, argus_json *j) {
  argus_json_obj_begin(j, NULL);
  argus_json_int(j, "id", *(const argus_store_id *)user);
  argus_json_str(j, "status", "queued");
  argus_json_obj_end(j);
}

/* 202: queued again; the dead letter is removed once delivered, or
 * replaced by a new one with the new error. */
API_HANDLER(api_h_deadletter_retry) {
  argus_store_id id;
  if (!api_param_id(r, 0, "dead letter", &id))
    return;
  api_outbound *o = api_server_outbound(r->srv);
  if (!o) {
    api_reply_error(r, 503, "unavailable",
                    "outbound deliveries are not running");
    return;
  }
  argus_error_detail err = {{0}};
  argus_err e = api_outbound_retry_deadletter(o, id, &err);
  if (e) {
    api_reply_err(r, e, &err);
    return;
  }
  api_audit(r, "webhook.deadletter.retry", "deadletter", id, NULL);
  api_reply_json(r, 202, retry_json, &id);
}

API_HANDLER(api_h_deadletter_delete) {
  argus_store_id id;
  if (!api_param_id(r, 0, "dead letter", &id))
    return;
  argus_store *st = api_store(r);
  if (!st)
    return;
  argus_error_detail err = {{0}};
  argus_err e = argus_store_deadletter_remove(st, id, &err);
  if (e) {
    api_reply_err(r, e, &err);
    return;
  }
  api_reply_empty(r, 204);
}
