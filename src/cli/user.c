/* `argus user add|list|remove|passwd|role|disable|enable|token|tokens|
 * revoke`: the accounts of `argus serve`. Passwords are read from the
 * terminal with echo off, or from stdin with --password-stdin (scripts);
 * never from the command line, where other users could read them. An API
 * token is printed once, alone on stdout, and stored only as its hash. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli/cli_json.h"
#include "cli/store_cli.h"

CLI_JSON_FN(user_json, argus_store_user, argus_store_user_json)
CLI_JSON_FN(token_json, argus_store_token, argus_store_token_json)

static int user_add_main(int argc, char **argv);
static void user_add_usage(FILE *f);
static int user_list_main(int argc, char **argv);
static void user_list_usage(FILE *f);
static int user_remove_main(int argc, char **argv);
static void user_remove_usage(FILE *f);
static int user_passwd_main(int argc, char **argv);
static void user_passwd_usage(FILE *f);
static int user_role_main(int argc, char **argv);
static void user_role_usage(FILE *f);
static int user_disable_main(int argc, char **argv);
static void user_disable_usage(FILE *f);
static int user_enable_main(int argc, char **argv);
static void user_enable_usage(FILE *f);
static int user_token_main(int argc, char **argv);
static void user_token_usage(FILE *f);
static int user_tokens_main(int argc, char **argv);
static void user_tokens_usage(FILE *f);
static int user_revoke_main(int argc, char **argv);
static void user_revoke_usage(FILE *f);

static const cli_command user_commands[] = {
    {"add", "add a user with a role and a password", user_add_main,
     user_add_usage},
    {"list", "list the users", user_list_main, user_list_usage},
    {"remove", "remove a user with its sessions and tokens", user_remove_main,
     user_remove_usage},
    {"passwd", "set a user's password (ends its sessions)", user_passwd_main,
     user_passwd_usage},
    {"role", "change a user's role", user_role_main, user_role_usage},
    {"disable", "disable a user (sessions end, tokens stop working)",
     user_disable_main, user_disable_usage},
    {"enable", "enable a disabled user", user_enable_main, user_enable_usage},
    {"token", "make an API token for a user (printed once)", user_token_main,
     user_token_usage},
    {"tokens", "list the API tokens (never the tokens themselves)",
     user_tokens_main, user_tokens_usage},
    {"revoke", "revoke an API token by its id", user_revoke_main,
     user_revoke_usage},
    {NULL, NULL, NULL, NULL},
};

void cli_user_usage(FILE *f) {
  // clang-format off
  fputs("Usage: argus user SUBCOMMAND [ARGS...] [--db PATH]\n"
        "\n"
        "Accounts of the operator service (argus serve). Roles:\n"
        "  admin       users, cameras, settings\n"
        "  supervisor  watchlists, persons, enrolment\n"
        "  operator    sees alerts, decides\n"
        "  auditor     reads the audit log\n"
        "\n"
        "Subcommands:\n",
        f);
  cli_print_commands(f, user_commands);
  fputs("\n"
        "Run 'argus user SUBCOMMAND --help' for its options.\n",
        f);
  // clang-format on
}

int cli_user_main(int argc, char **argv) {
  return store_cli_dispatch("user", user_commands, cli_user_usage, argc, argv);
}

/* ---- arguments ---------------------------------------------------------- */

enum {
  OPT_ROLE = STORE_OPT_NEXT,
  OPT_PASSWORD_STDIN,
  OPT_LABEL,
  OPT_EXPIRES,
};

typedef struct user_args {
  const char *db, *role, *label, *expires;
  int json, password_stdin;
  const char *pos[2];
  int npos;
} user_args;

/* Parses argv with `opts` and up to `max_pos` positional arguments named
 * by `pos_names` ("NAME", "NAME and ROLE"), all required. Returns -1 to go
 * on, else the exit code. */
static int parse_args(const char *cmd, int argc, char **argv,
                      const cli_opt *opts, int max_pos, const char *missing,
                      void (*usage)(FILE *), user_args *a) {
  memset(a, 0, sizeof *a);
  cli_parser p;
  cli_parser_init(&p, argc, argv, cmd, opts);
  for (;;) {
    int id = cli_parse_next(&p);
    if (id == CLI_OPT_END)
      break;
    switch (id) {
    case CLI_OPT_HELP:
      usage(stdout);
      return CLI_OK;
    case CLI_OPT_ERROR:
      return cli_bad_value(cmd);
    case STORE_OPT_DB:
      a->db = p.arg;
      break;
    case STORE_OPT_JSON:
      a->json = 1;
      break;
    case OPT_ROLE:
      a->role = p.arg;
      break;
    case OPT_PASSWORD_STDIN:
      a->password_stdin = 1;
      break;
    case OPT_LABEL:
      a->label = p.arg;
      break;
    case OPT_EXPIRES:
      a->expires = p.arg;
      break;
    case CLI_OPT_POSITIONAL:
      if (a->npos == max_pos) {
        cli_errorf(cmd, "unexpected argument '%s'", p.arg);
        return cli_bad_value(cmd);
      }
      a->pos[a->npos++] = p.arg;
      break;
    }
  }
  if (a->npos < max_pos) {
    cli_errorf(cmd, "missing %s", missing);
    return cli_bad_value(cmd);
  }
  for (int i = 0; i < a->npos; i++)
    if (!cli_json_utf8_arg(cmd, "argument", a->pos[i]))
      return cli_bad_value(cmd);
  return -1;
}

static int parse_role(const char *cmd, const char *s, argus_role *out) {
  if (argus_role_parse(s, out) == ARGUS_OK)
    return 0;
  cli_errorf(cmd, "unknown role '%s' (admin, supervisor, operator, auditor)",
             s);
  return -1;
}

/* ---- passwords ---------------------------------------------------------- */

/* Reads one line (without its end) into buf. Returns 0, or -1 on end of
 * input before any byte, or -2 when the line does not fit. */
static int read_line(FILE *in, char *buf, size_t size) {
  size_t n = 0;
  int c, any = 0;
  while ((c = fgetc(in)) != EOF) {
    any = 1;
    if (c == '\n')
      break;
    if (n + 1 >= size) {
      while ((c = fgetc(in)) != EOF && c != '\n')
        ;
      return -2;
    }
    buf[n++] = (char)c;
  }
  if (n && buf[n - 1] == '\r')
    n--;
  buf[n] = '\0';
  return any ? 0 : -1;
}

/* Reads a password from the terminal (stdin) with echo off, prompting on
 * stderr. Returns 0 or -1 after a message. */
static int prompt_password(const char *cmd, const char *prompt, char *buf,
                           size_t size) {
  struct termios old, quiet;
  if (tcgetattr(STDIN_FILENO, &old) != 0) {
    cli_errorf(cmd, "cannot read the terminal: %s", strerror(errno));
    return -1;
  }
  quiet = old;
  quiet.c_lflag &= ~(tcflag_t)ECHO;
  quiet.c_lflag |= ECHONL;
  fputs(prompt, stderr);
  fflush(stderr);
  tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  int r = read_line(stdin, buf, size);
  tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
  if (r == -2) {
    cli_errorf(cmd, "the password is longer than %zu bytes", size - 2);
    return -1;
  }
  if (r != 0) {
    cli_errorf(cmd, "no password given");
    return -1;
  }
  return 0;
}

/* The new password: from stdin (--password-stdin: its first line), or
 * asked twice on the terminal. Returns 0, or an exit code after a
 * message. */
static int get_password(const char *cmd, int from_stdin, char *buf,
                        size_t size) {
  if (from_stdin) {
    int r = read_line(stdin, buf, size);
    if (r == -2) {
      cli_errorf(cmd, "the password is longer than %d bytes",
                 ARGUS_STORE_PASSWORD_MAX - 1);
      return CLI_USAGE;
    }
    if (r != 0) {
      cli_errorf(cmd, "--password-stdin: nothing on stdin");
      return CLI_USAGE;
    }
    return 0;
  }
  if (!isatty(STDIN_FILENO)) {
    cli_errorf(cmd, "stdin is not a terminal: give the password on stdin "
                    "with --password-stdin");
    return cli_bad_value(cmd);
  }
  char again[ARGUS_STORE_PASSWORD_MAX + 1];
  int rc = 0;
  if (prompt_password(cmd, "New password: ", buf, size) != 0 ||
      prompt_password(cmd, "Again: ", again, sizeof again) != 0)
    rc = CLI_FAIL;
  else if (strcmp(buf, again) != 0) {
    cli_errorf(cmd, "the two passwords differ");
    rc = CLI_FAIL;
  }
  memset(again, 0, sizeof again);
  return rc;
}

/* ---- add, passwd -------------------------------------------------------- */

static void user_add_usage(FILE *f) {
  // clang-format off
  fputs("Usage: argus user add NAME --role ROLE [--password-stdin] [--db PATH]\n"
        "\n"
        "Adds a user. NAME: 1 to 127 letters, digits and . _ @ -. The\n"
        "password (at least 8 bytes) is asked twice on the terminal, or read\n"
        "from the first line of stdin with --password-stdin; only its\n"
        "argon2id hash is stored.\n"
        "\n"
        "  --role ROLE       admin, supervisor, operator or auditor\n"
        "  --password-stdin  read the password from stdin (required when\n"
        "                    stdin is not a terminal)\n"
        STORE_CLI_DB_HELP,
        f);
  // clang-format on
}

static int user_add_main(int argc, char **argv) {
  static const cli_opt opts[] = {STORE_CLI_DB_OPT,
                                 {"role", 1, OPT_ROLE},
                                 {"password-stdin", 0, OPT_PASSWORD_STDIN},
                                 {NULL, 0, 0}};
  const char *cmd = "user add";
  user_args a;
  int rc = parse_args(cmd, argc, argv, opts, 1, "NAME", user_add_usage, &a);
  if (rc >= 0)
    return rc;
  argus_role role;
  if (!a.role) {
    cli_errorf(cmd, "missing --role (admin, supervisor, operator, auditor)");
    return cli_bad_value(cmd);
  }
  if (parse_role(cmd, a.role, &role) != 0)
    return cli_bad_value(cmd);
  char pw[ARGUS_STORE_PASSWORD_MAX + 1];
  if ((rc = get_password(cmd, a.password_stdin, pw, sizeof pw)) != 0)
    return rc;
  argus_store *s = NULL;
  argus_store_error err = {{0}};
  argus_store_id id = 0;
  argus_err e = ARGUS_OK;
  if (store_cli_open(cmd, a.db, &s) != CLI_OK) {
    rc = CLI_FAIL;
  } else {
    e = argus_store_user_add(s, a.pos[0], pw, role, &id, &err);
    argus_store_close(s);
  }
  memset(pw, 0, sizeof pw);
  if (rc != 0)
    return rc;
  if (e != ARGUS_OK)
    return store_cli_error(cmd, e, &err);
  printf("added user '%s' (id %lld, %s)\n", a.pos[0], (long long)id,
         argus_role_name(role));
  return CLI_OK;
}

static void user_passwd_usage(FILE *f) {
  // clang-format off
  fputs("Usage: argus user passwd NAME [--password-stdin] [--db PATH]\n"
        "\n"
        "Sets a user's password (asked twice on the terminal, or the first\n"
        "line of stdin with --password-stdin). The user's sessions end.\n"
        "\n"
        "  --password-stdin  read the password from stdin\n"
        STORE_CLI_DB_HELP,
        f);
  // clang-format on
}

static int user_passwd_main(int argc, char **argv) {
  static const cli_opt opts[] = {STORE_CLI_DB_OPT,
                                 {"password-stdin", 0, OPT_PASSWORD_STDIN},
                                 {NULL, 0, 0}};
  const char *cmd = "user passwd";
  user_args a;
  int rc =
      parse_args(cmd, argc, argv, opts, 1, "NAME", user_passwd_usage, &a);
  if (rc >= 0)
    return rc;
  char pw[ARGUS_STORE_PASSWORD_MAX + 1];
  if ((rc = get_password(cmd, a.password_stdin, pw, sizeof pw)) != 0)
    return rc;
  argus_store *s = NULL;
  argus_store_error err = {{0}};
  argus_err e = ARGUS_OK;
  if (store_cli_open(cmd, a.db, &s) != CLI_OK) {
    rc = CLI_FAIL;
  } else {
    e = argus_store_user_set_password(s, a.pos[0], pw, &err);
    argus_store_close(s);
  }
  memset(pw, 0, sizeof pw);
  if (rc != 0)
    return rc;
  if (e != ARGUS_OK)
    return store_cli_error(cmd, e, &err);
  printf("password of '%s' changed\n", a.pos[0]);
  return CLI_OK;
}

/* ---- list ---------------------------------------------------------------- */

static void user_list_usage(FILE *f) {
  // clang-format off
  fputs("Usage: argus user list [--json] [--db PATH]\n"
        "\n"
        "Lists the users with their roles.\n"
        "\n"
        "  --json        one JSON array of objects\n"
        STORE_CLI_DB_HELP,
        f);
  // clang-format on
}

static int user_list_main(int argc, char **argv) {
  static const cli_opt opts[] = {
      STORE_CLI_DB_OPT, {"json", 0, STORE_OPT_JSON}, {NULL, 0, 0}};
  const char *cmd = "user list";
  user_args a;
  int rc = parse_args(cmd, argc, argv, opts, 0, "", user_list_usage, &a);
  if (rc >= 0)
    return rc;
  argus_store *s = NULL;
  if (store_cli_open_existing(cmd, a.db, &s) != CLI_OK)
    return CLI_FAIL;
  argus_store_error err = {{0}};
  argus_store_user *u = NULL;
  size_t n = 0;
  argus_err e = argus_store_user_list(s, &u, &n, &err);
  argus_store_close(s);
  if (e != ARGUS_OK)
    return store_cli_error(cmd, e, &err);
  rc = CLI_OK;
  if (a.json) {
    if (cli_json_print_array(stdout, cmd, user_json, u, n, sizeof *u))
      rc = CLI_FAIL;
  } else if (n == 0) {
    printf("no users (add the first admin with 'argus user add NAME --role "
           "admin')\n");
  } else {
    int width = 4;
    for (size_t i = 0; i < n; i++)
      if ((int)strlen(u[i].name) > width)
        width = (int)strlen(u[i].name);
    printf("%-*s  %-10s  %-8s  %s\n", width, "NAME", "ROLE", "STATE",
           "CREATED");
    for (size_t i = 0; i < n; i++)
      printf("%-*s  %-10s  %-8s  %s\n", width, u[i].name,
             argus_role_name(u[i].role), u[i].disabled ? "disabled" : "enabled",
             u[i].created);
  }
  argus_store_free(u);
  return rc;
}

/* ---- remove, role, disable, enable -------------------------------------- */

static void user_remove_usage(FILE *f) {
  // clang-format off
  fputs("Usage: argus user remove NAME [--db PATH]\n"
        "\n"
        "Removes a user with its sessions and API tokens. The last enabled\n"
        "admin cannot be removed.\n"
        STORE_CLI_DB_HELP,
        f);
  // clang-format on
}

static void user_role_usage(FILE *f) {
  // clang-format off
  fputs("Usage: argus user role NAME ROLE [--db PATH]\n"
        "\n"
        "Gives a user another role (admin, supervisor, operator, auditor).\n"
        "The last enabled admin keeps its role.\n"
        STORE_CLI_DB_HELP,
        f);
  // clang-format on
}

static void user_disable_usage(FILE *f) {
  // clang-format off
  fputs("Usage: argus user disable NAME [--db PATH]\n"
        "\n"
        "Disables a user: its sessions end and its API tokens stop working\n"
        "until it is enabled again. The last enabled admin cannot be\n"
        "disabled.\n"
        STORE_CLI_DB_HELP,
        f);
  // clang-format on
}

static void user_enable_usage(FILE *f) {
  // clang-format off
  fputs("Usage: argus user enable NAME [--db PATH]\n"
        "\n"
        "Enables a disabled user; its API tokens work again.\n"
        STORE_CLI_DB_HELP,
        f);
  // clang-format on
}

enum { ACT_REMOVE, ACT_ROLE, ACT_DISABLE, ACT_ENABLE };

static int user_change(int act, int argc, char **argv) {
  static const cli_opt opts[] = {STORE_CLI_DB_OPT, {NULL, 0, 0}};
  static const char *const cmds[] = {"user remove", "user role",
                                     "user disable", "user enable"};
  static void (*const usages[])(FILE *) = {user_remove_usage, user_role_usage,
                                           user_disable_usage,
                                           user_enable_usage};
  const char *cmd = cmds[act];
  user_args a;
  int rc = parse_args(cmd, argc, argv, opts, act == ACT_ROLE ? 2 : 1,
                      act == ACT_ROLE ? "NAME and ROLE" : "NAME", usages[act],
                      &a);
  if (rc >= 0)
    return rc;
  argus_role role = ARGUS_ROLE_AUDITOR;
  if (act == ACT_ROLE && parse_role(cmd, a.pos[1], &role) != 0)
    return cli_bad_value(cmd);
  argus_store *s = NULL;
  if (store_cli_open(cmd, a.db, &s) != CLI_OK)
    return CLI_FAIL;
  argus_store_error err = {{0}};
  argus_err e;
  switch (act) {
  case ACT_REMOVE:
    e = argus_store_user_remove(s, a.pos[0], &err);
    break;
  case ACT_ROLE:
    e = argus_store_user_set_role(s, a.pos[0], role, &err);
    break;
  default:
    e = argus_store_user_set_disabled(s, a.pos[0], act == ACT_DISABLE, &err);
    break;
  }
  argus_store_close(s);
  if (e != ARGUS_OK)
    return store_cli_error(cmd, e, &err);
  switch (act) {
  case ACT_REMOVE:
    printf("removed user '%s'\n", a.pos[0]);
    break;
  case ACT_ROLE:
    printf("user '%s' is now %s\n", a.pos[0], argus_role_name(role));
    break;
  default:
    printf("user '%s' %s\n", a.pos[0],
           act == ACT_DISABLE ? "disabled" : "enabled");
    break;
  }
  return CLI_OK;
}

static int user_remove_main(int argc, char **argv) {
  return user_change(ACT_REMOVE, argc, argv);
}
static int user_role_main(int argc, char **argv) {
  return user_change(ACT_ROLE, argc, argv);
}
static int user_disable_main(int argc, char **argv) {
  return user_change(ACT_DISABLE, argc, argv);
}
static int user_enable_main(int argc, char **argv) {
  return user_change(ACT_ENABLE, argc, argv);
}

/* ---- tokens -------------------------------------------------------------- */

static void user_token_usage(FILE *f) {
  // clang-format off
  fputs("Usage: argus user token NAME [--label LABEL] [--expires TIME]\n"
        "                        [--db PATH]\n"
        "\n"
        "Makes an API token for the user and prints it, alone, on stdout.\n"
        "It is shown only this once (only its hash is stored); send it as\n"
        "'Authorization: Bearer TOKEN'.\n"
        "\n"
        "  --label LABEL   what the token is for (default: cli)\n"
        "  --expires TIME  RFC 3339, e.g. 2027-01-01T00:00:00Z (default:\n"
        "                  never)\n"
        STORE_CLI_DB_HELP,
        f);
  // clang-format on
}

static int user_token_main(int argc, char **argv) {
  static const cli_opt opts[] = {STORE_CLI_DB_OPT,
                                 {"label", 1, OPT_LABEL},
                                 {"expires", 1, OPT_EXPIRES},
                                 {NULL, 0, 0}};
  const char *cmd = "user token";
  user_args a;
  int rc = parse_args(cmd, argc, argv, opts, 1, "NAME", user_token_usage, &a);
  if (rc >= 0)
    return rc;
  if (a.label && !cli_json_utf8_arg(cmd, "--label", a.label))
    return cli_bad_value(cmd);
  argus_store *s = NULL;
  if (store_cli_open(cmd, a.db, &s) != CLI_OK)
    return CLI_FAIL;
  argus_store_error err = {{0}};
  argus_store_user u;
  char token[ARGUS_STORE_TOKEN_MAX];
  argus_store_id id = 0;
  argus_err e = argus_store_user_get(s, a.pos[0], &u, &err);
  if (e == ARGUS_OK)
    e = argus_store_token_create(s, u.id, a.label ? a.label : "cli",
                                 a.expires, token, &id, &err);
  argus_store_close(s);
  if (e != ARGUS_OK)
    return store_cli_error(cmd, e, &err);
  printf("%s\n", token);
  memset(token, 0, sizeof token);
  if (fflush(stdout) != 0) {
    cli_errorf(cmd, "cannot write the token: %s", strerror(errno));
    return CLI_FAIL;
  }
  return CLI_OK;
}

static void user_tokens_usage(FILE *f) {
  // clang-format off
  fputs("Usage: argus user tokens [--json] [--db PATH]\n"
        "\n"
        "Lists the API tokens of every user, newest first: id, user, label,\n"
        "created, expires. The tokens themselves are not stored.\n"
        "\n"
        "  --json        one JSON array of objects\n"
        STORE_CLI_DB_HELP,
        f);
  // clang-format on
}

static int user_tokens_main(int argc, char **argv) {
  static const cli_opt opts[] = {
      STORE_CLI_DB_OPT, {"json", 0, STORE_OPT_JSON}, {NULL, 0, 0}};
  const char *cmd = "user tokens";
  user_args a;
  int rc = parse_args(cmd, argc, argv, opts, 0, "", user_tokens_usage, &a);
  if (rc >= 0)
    return rc;
  argus_store *s = NULL;
  if (store_cli_open_existing(cmd, a.db, &s) != CLI_OK)
    return CLI_FAIL;
  argus_store_error err = {{0}};
  argus_store_token *t = NULL;
  size_t n = 0;
  argus_err e = argus_store_token_list(s, 0, &t, &n, &err);
  argus_store_close(s);
  if (e != ARGUS_OK)
    return store_cli_error(cmd, e, &err);
  rc = CLI_OK;
  if (a.json) {
    if (cli_json_print_array(stdout, cmd, token_json, t, n, sizeof *t))
      rc = CLI_FAIL;
  } else if (n == 0) {
    printf("no API tokens (make one with 'argus user token NAME')\n");
  } else {
    printf("%-6s  %-20s  %-20s  %-24s  %s\n", "ID", "USER", "LABEL",
           "CREATED", "EXPIRES");
    for (size_t i = 0; i < n; i++)
      printf("%-6lld  %-20s  %-20s  %-24s  %s\n", (long long)t[i].id,
             t[i].user, t[i].name, t[i].created,
             t[i].expires[0] ? t[i].expires : "never");
  }
  argus_store_free(t);
  return rc;
}

static void user_revoke_usage(FILE *f) {
  // clang-format off
  fputs("Usage: argus user revoke TOKEN_ID [--db PATH]\n"
        "\n"
        "Revokes an API token (its id from 'argus user tokens').\n"
        STORE_CLI_DB_HELP,
        f);
  // clang-format on
}

static int user_revoke_main(int argc, char **argv) {
  static const cli_opt opts[] = {STORE_CLI_DB_OPT, {NULL, 0, 0}};
  const char *cmd = "user revoke";
  user_args a;
  int rc =
      parse_args(cmd, argc, argv, opts, 1, "TOKEN_ID", user_revoke_usage, &a);
  if (rc >= 0)
    return rc;
  long id = 0;
  if (cli_parse_long(a.pos[0], 1, LONG_MAX, "TOKEN_ID", &id) != 0)
    return cli_bad_value(cmd);
  argus_store *s = NULL;
  if (store_cli_open(cmd, a.db, &s) != CLI_OK)
    return CLI_FAIL;
  argus_store_error err = {{0}};
  argus_err e = argus_store_token_revoke(s, (argus_store_id)id, &err);
  argus_store_close(s);
  if (e != ARGUS_OK)
    return store_cli_error(cmd, e, &err);
  printf("revoked token %ld\n", id);
  return CLI_OK;
}
