/* `argus key`: the key that seals templates and crop files at rest
 * (generate, status, rotate). docs/lawful-use.md, "Encryption at rest". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/store_cli.h"

int cli_key_main(int argc, char **argv);
void cli_key_usage(FILE *f);

enum { OPT_OUT = STORE_OPT_NEXT, OPT_NEW_KEY, OPT_KEY_FILE };

void cli_key_usage(FILE *f) {
  // clang-format off
  fputs("Usage: argus key generate --out FILE\n"
        "       argus key status [--db PATH] [--json]\n"
        "       argus key rotate --new-key-file FILE [--db PATH]\n"
        "\n"
        "Templates and face crops are sealed (XChaCha20-Poly1305) under the key\n"
        "named by ARGUS_KEY_FILE (a file of mode 0600 with 32 bytes or 64 hex\n"
        "digits), ARGUS_KEY (64 hex digits) or 'argus --key-file FILE COMMAND'.\n"
        "A database written with a key opens only with that key.\n"
        "\n"
        "  generate  write a new random key to FILE (mode 0600; FILE must not\n"
        "            exist) and print its id\n"
        "  status    the database's key id, and how many template blobs and crop\n"
        "            files are sealed with it, in plaintext, or with another key\n"
        "  rotate    re-seal everything under the key in --new-key-file (the\n"
        "            current key from ARGUS_KEY_FILE or ARGUS_KEY; none for a\n"
        "            plaintext database, which is then encrypted whole). Works\n"
        "            in batches, each committed on its own: an interrupted\n"
        "            rotation is finished by running it again with the same\n"
        "            keys. Until it finishes, opening the database needs both\n"
        "            keys (ARGUS_KEY_FILE new, ARGUS_OLD_KEY_FILE old).\n"
        "\n",
        f);
  fputs(STORE_CLI_DB_HELP, f);
  // clang-format on
}

static int key_generate(int argc, char **argv) {
  static const cli_opt opts[] = {{"out", 1, OPT_OUT}, {NULL, 0, 0}};
  const char *cmd = "key generate", *out = NULL;
  cli_parser p;
  cli_parser_init(&p, argc, argv, cmd, opts);
  for (;;) {
    int id = cli_parse_next(&p);
    if (id == CLI_OPT_END)
      break;
    switch (id) {
    case CLI_OPT_HELP:
      cli_key_usage(stdout);
      return CLI_OK;
    case CLI_OPT_ERROR:
      return cli_bad_value(cmd);
    case OPT_OUT:
      out = p.arg;
      break;
    default:
      cli_errorf(cmd, "unexpected argument '%s'", p.arg);
      return cli_bad_value(cmd);
    }
  }
  if (!out) {
    cli_errorf(cmd, "--out FILE is required");
    return cli_bad_value(cmd);
  }
  argus_store_error err = {{0}};
  char kid[ARGUS_STORE_KEY_ID_HEX];
  argus_err e = argus_store_key_generate(out, kid, &err);
  if (e != ARGUS_OK)
    return store_cli_error(cmd, e, &err);
  printf("key id %s written to %s (mode 0600; keep a copy apart from the "
         "database)\n",
         kid, out);
  return CLI_OK;
}

/* Opens the store with explicit keys (NULL: the environment's). */
static int open_keyed(const char *cmd, const char *db, const char *key_file,
                      const char *old_key_file, int read_only,
                      argus_store **s) {
  char actor[STORE_CLI_ACTOR_MAX];
  store_cli_actor(actor, sizeof actor);
  argus_store_options o;
  memset(&o, 0, sizeof o);
  o.actor = actor;
  o.must_exist = 1;
  o.read_only = read_only;
  o.busy_timeout_ms = 60000;
  o.key_file = key_file;
  o.old_key_file = old_key_file;
  argus_store_error err = {{0}};
  argus_err e = argus_store_open(db, &o, s, &err);
  if (e != ARGUS_OK)
    return store_cli_error(cmd, e, &err);
  return CLI_OK;
}

static int key_status(int argc, char **argv) {
  static const cli_opt opts[] = {
      STORE_CLI_DB_OPT, {"json", 0, STORE_OPT_JSON}, {NULL, 0, 0}};
  const char *cmd = "key status", *db = NULL;
  int json = 0;
  cli_parser p;
  cli_parser_init(&p, argc, argv, cmd, opts);
  for (;;) {
    int id = cli_parse_next(&p);
    if (id == CLI_OPT_END)
      break;
    switch (id) {
    case CLI_OPT_HELP:
      cli_key_usage(stdout);
      return CLI_OK;
    case CLI_OPT_ERROR:
      return cli_bad_value(cmd);
    case STORE_OPT_DB:
      db = p.arg;
      break;
    case STORE_OPT_JSON:
      json = 1;
      break;
    default:
      cli_errorf(cmd, "unexpected argument '%s'", p.arg);
      return cli_bad_value(cmd);
    }
  }
  argus_store *s = NULL;
  if (open_keyed(cmd, db, NULL, NULL, 1, &s) != CLI_OK)
    return CLI_FAIL;
  argus_store_key_info k;
  argus_store_error err = {{0}};
  argus_err e = argus_store_key_status(s, &k, &err);
  argus_store_close(s);
  if (e != ARGUS_OK)
    return store_cli_error(cmd, e, &err);
  if (json) {
    printf("{\"key_id\":\"%s\",\"rotating_from\":\"%s\",\"blobs_sealed\":%lld,"
           "\"blobs_plain\":%lld,\"blobs_other\":%lld,\"crops_sealed\":%lld,"
           "\"crops_plain\":%lld,\"crops_other\":%lld}\n",
           k.key_id, k.rotating_from, (long long)k.blobs_sealed,
           (long long)k.blobs_plain, (long long)k.blobs_other,
           (long long)k.crops_sealed, (long long)k.crops_plain,
           (long long)k.crops_other);
    return CLI_OK;
  }
  if (k.key_id[0])
    printf("encrypted with key id %s\n", k.key_id);
  else
    printf("not encrypted (no key has written to it)\n");
  if (k.rotating_from[0])
    printf("a rotation from key id %s is unfinished: run 'argus key rotate' "
           "again\n",
           k.rotating_from);
  printf("template blobs: %lld sealed, %lld plaintext, %lld other key\n",
         (long long)k.blobs_sealed, (long long)k.blobs_plain,
         (long long)k.blobs_other);
  printf("crop files:     %lld sealed, %lld plaintext, %lld other key\n",
         (long long)k.crops_sealed, (long long)k.crops_plain,
         (long long)k.crops_other);
  return CLI_OK;
}

static int key_rotate(int argc, char **argv) {
  static const cli_opt opts[] = {
      STORE_CLI_DB_OPT, {"new-key-file", 1, OPT_NEW_KEY}, {NULL, 0, 0}};
  const char *cmd = "key rotate", *db = NULL, *new_key = NULL;
  cli_parser p;
  cli_parser_init(&p, argc, argv, cmd, opts);
  for (;;) {
    int id = cli_parse_next(&p);
    if (id == CLI_OPT_END)
      break;
    switch (id) {
    case CLI_OPT_HELP:
      cli_key_usage(stdout);
      return CLI_OK;
    case CLI_OPT_ERROR:
      return cli_bad_value(cmd);
    case STORE_OPT_DB:
      db = p.arg;
      break;
    case OPT_NEW_KEY:
      new_key = p.arg;
      break;
    default:
      cli_errorf(cmd, "unexpected argument '%s'", p.arg);
      return cli_bad_value(cmd);
    }
  }
  if (!new_key) {
    cli_errorf(cmd, "--new-key-file FILE is required (make one with 'argus "
                    "key generate --out FILE')");
    return cli_bad_value(cmd);
  }
  /* The current key (ARGUS_KEY_FILE or ARGUS_KEY) is the old one here. */
  const char *old_file = getenv("ARGUS_KEY_FILE");
  const char *old_hex = getenv("ARGUS_KEY");
  if ((!old_file || !old_file[0]) && old_hex && old_hex[0] &&
      setenv("ARGUS_OLD_KEY", old_hex, 1) != 0) {
    cli_errorf(cmd, "cannot pass ARGUS_KEY on");
    return CLI_FAIL;
  }
  argus_store *s = NULL;
  if (open_keyed(cmd, db, new_key, old_file && old_file[0] ? old_file : NULL, 0,
                 &s) != CLI_OK)
    return CLI_FAIL;
  argus_store_key_rotate_report r;
  argus_store_error err = {{0}};
  argus_err e = argus_store_key_rotate(s, &r, &err);
  argus_store_close(s);
  if (e != ARGUS_OK)
    return store_cli_error(cmd, e, &err);
  printf("%s key id %s%s%s: %lld template blobs and %lld crop files "
         "sealed%s\n",
         r.from[0] ? "rotated from" : "encrypted with",
         r.from[0] ? r.from : r.to, r.from[0] ? " to " : "",
         r.from[0] ? r.to : "", (long long)r.blobs, (long long)r.crops,
         r.resumed ? " (an interrupted rotation finished)" : "");
  printf("from now on set ARGUS_KEY_FILE=%s\n", new_key);
  return CLI_OK;
}

int cli_key_main(int argc, char **argv) {
  static const cli_command subs[] = {
      {"generate", "write a new key file", key_generate, cli_key_usage},
      {"status", "what is sealed with which key", key_status, cli_key_usage},
      {"rotate", "re-seal everything under a new key", key_rotate,
       cli_key_usage},
      {NULL, NULL, NULL, NULL}};
  return store_cli_dispatch("key", subs, cli_key_usage, argc, argv);
}
