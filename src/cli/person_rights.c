/* `argus person export|erase`: a data subject's access and erasure requests
 * (docs/lawful-use.md, "Subject requests"). The store does the work in one
 * transaction each (argus_store_person_export, argus_store_person_erase);
 * this file finds the person, writes the export folder and asks for the
 * confirmation of an erasure. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "argus/store.h"
#include "cli/cli.h"
#include "cli/store_cli.h"

enum { OPT_OUT = STORE_OPT_NEXT, OPT_YES, OPT_WL };

/* Finds the person that `who` names: an id (digits only) or an exact
 * name, in watchlist `watchlist` (NULL: any). Several persons of that name
 * are listed and refused (the caller names one by id). Prints what went
 * wrong; returns CLI_OK or CLI_FAIL. */
static int find_person(const char *cmd, argus_store *s, const char *who,
                       const char *watchlist, argus_store_person *out) {
  argus_store_error err = {{0}};
  argus_err e;
  size_t digits = strspn(who, "0123456789");
  if (who[0] && digits == strlen(who)) {
    long id = 0;
    if (cli_parse_long(who, 1, LONG_MAX, "person id", &id) != 0)
      return CLI_FAIL;
    e = argus_store_person_get(s, (argus_store_id)id, out, &err);
    if (e == ARGUS_E_NOT_FOUND) {
      cli_errorf(cmd, "no person with id %ld", id);
      return CLI_FAIL;
    }
    if (e != ARGUS_OK)
      return store_cli_error(cmd, e, &err);
    if (watchlist && strcmp(out->watchlist, watchlist) != 0) {
      cli_errorf(cmd, "person %ld is in watchlist '%s', not '%s'", id,
                 out->watchlist, watchlist);
      return CLI_FAIL;
    }
    return CLI_OK;
  }
  argus_store_person *list = NULL;
  size_t n = 0;
  e = argus_store_person_list(s, watchlist, who, &list, &n, &err);
  if (e != ARGUS_OK)
    return store_cli_error(cmd, e, &err);
  int rc = CLI_OK;
  if (n == 0) {
    cli_errorf(cmd, "no person named '%s'%s%s%s", who,
               watchlist ? " in watchlist '" : "", watchlist ? watchlist : "",
               watchlist ? "'" : "");
    rc = CLI_FAIL;
  } else if (n > 1) {
    cli_errorf(cmd, "%zu persons are named '%s'; name one by its id:", n, who);
    for (size_t i = 0; i < n; i++)
      fprintf(stderr, "  %lld  (watchlist %s, external id %s)\n",
              (long long)list[i].id, list[i].watchlist,
              list[i].external_id[0] ? list[i].external_id : "-");
    rc = CLI_FAIL;
  } else {
    *out = list[0];
  }
  argus_store_free(list);
  return rc;
}

/* ---- export ------------------------------------------------------------- */

void cli_person_export_usage(FILE *f) {
  // clang-format off
  fputs("Usage: argus person export NAME|ID --out DIR [--watchlist W] [--db PATH]\n"
        "\n"
        "Writes everything argus stores about a person (a subject access\n"
        "request) to the new folder DIR: subject.json (the person's record,\n"
        "photo records, templates with their vectors, alerts that named the\n"
        "person with the decisions on them, and the audit rows about the\n"
        "person), photos/photo-ID.jpg (the enrolled face crops as stored),\n"
        "alerts/alert-ID-crop.jpg and alerts/alert-ID-thumb.jpg, and\n"
        "manifest.json (every file with its size and SHA-256). DIR must not\n"
        "exist or be empty. The export is audited (\"subject.export\").\n"
        "\n"
        "  --out DIR      the folder to write (required)\n"
        "  --watchlist W  look NAME up in watchlist W only\n"
        STORE_CLI_DB_HELP,
        f);
  // clang-format on
}

/* 1 when path is a folder with no entry but . and .. */
static int dir_is_empty(const char *path) {
  DIR *d = opendir(path);
  if (!d)
    return 0;
  int empty = 1;
  struct dirent *de;
  while ((de = readdir(d))) {
    if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
      empty = 0;
      break;
    }
  }
  closedir(d);
  return empty;
}

typedef struct manifest {
  FILE *f;
  int n;
} manifest;

/* Writes data to DIR/rel (a new file) and its line into the manifest. */
static int put_file(const char *cmd, const char *dir, const char *rel,
                    const void *data, size_t n, manifest *m) {
  char path[PATH_MAX];
  int w = snprintf(path, sizeof path, "%s/%s", dir, rel);
  if (w < 0 || (size_t)w >= sizeof path) {
    cli_errorf(cmd, "path too long: %s/%s", dir, rel);
    return CLI_FAIL;
  }
  FILE *f = fopen(path, "wbx");
  if (!f) {
    cli_errorf(cmd, "cannot create '%s': %s", path, strerror(errno));
    return CLI_FAIL;
  }
  size_t put = n ? fwrite(data, 1, n, f) : 0;
  int bad = put != n;
  if (fclose(f) != 0)
    bad = 1;
  if (bad) {
    cli_errorf(cmd, "cannot write '%s': %s", path, strerror(errno));
    return CLI_FAIL;
  }
  char hex[65];
  argus_sha256_hex(data, n, hex);
  fprintf(m->f, "%s    {\"path\": ", m->n ? ",\n" : "");
  argus_json_fputs(m->f, rel, strlen(rel));
  fprintf(m->f, ", \"size\": %zu, \"sha256\": \"%s\"}", n, hex);
  m->n++;
  return CLI_OK;
}

static int make_dir(const char *cmd, const char *dir, const char *sub) {
  char path[PATH_MAX];
  int w = snprintf(path, sizeof path, "%s%s%s", dir, sub ? "/" : "",
                   sub ? sub : "");
  if (w < 0 || (size_t)w >= sizeof path) {
    cli_errorf(cmd, "path too long: %s", dir);
    return CLI_FAIL;
  }
  if (mkdir(path, 0700) != 0 && !(errno == EEXIST && !sub)) {
    cli_errorf(cmd, "cannot create folder '%s': %s", path, strerror(errno));
    return CLI_FAIL;
  }
  return CLI_OK;
}

static int write_export(const char *cmd, argus_store *s, const char *out,
                        const argus_store_person *p, const char *json,
                        size_t len, const argus_store_export_file *files,
                        size_t nf) {
  char mpath[PATH_MAX];
  int w = snprintf(mpath, sizeof mpath, "%s/manifest.json", out);
  if (w < 0 || (size_t)w >= sizeof mpath) {
    cli_errorf(cmd, "path too long: %s", out);
    return CLI_FAIL;
  }
  if (make_dir(cmd, out, "photos") != CLI_OK ||
      make_dir(cmd, out, "alerts") != CLI_OK)
    return CLI_FAIL;
  manifest m = {0};
  m.f = fopen(mpath, "wx");
  if (!m.f) {
    cli_errorf(cmd, "cannot create '%s': %s", mpath, strerror(errno));
    return CLI_FAIL;
  }
  char now[ARGUS_STORE_TIME_MAX];
  argus_store_now(now);
  fprintf(m.f,
          "{\n  \"format\": \"argus.subject-export.v1\",\n"
          "  \"person_id\": %lld,\n  \"created\": \"%s\",\n  \"files\": [\n",
          (long long)p->id, now);
  int rc = put_file(cmd, out, "subject.json", json, len, &m);
  for (size_t i = 0; i < nf && rc == CLI_OK; i++) {
    char rel[128];
    if (strcmp(files[i].kind, "photo") == 0)
      snprintf(rel, sizeof rel, "photos/photo-%lld.jpg",
               (long long)files[i].id);
    else if (strcmp(files[i].kind, "alert_crop") == 0)
      snprintf(rel, sizeof rel, "alerts/alert-%lld-crop.jpg",
               (long long)files[i].id);
    else
      snprintf(rel, sizeof rel, "alerts/alert-%lld-thumb.jpg",
               (long long)files[i].id);
    void *data = NULL;
    size_t n = 0;
    argus_store_error err = {{0}};
    argus_err e = argus_store_crop_read(s, files[i].sha256, &data, &n, &err);
    if (e != ARGUS_OK) {
      rc = store_cli_error(cmd, e, &err);
      break;
    }
    rc = put_file(cmd, out, rel, data, n, &m);
    argus_store_free(data);
  }
  fputs("\n  ]\n}\n", m.f);
  if (fclose(m.f) != 0 && rc == CLI_OK) {
    cli_errorf(cmd, "cannot write '%s': %s", mpath, strerror(errno));
    rc = CLI_FAIL;
  }
  if (rc == CLI_OK) {
    /* So that the exports' retention can remove it (argus retention). */
    argus_store_error err = {{0}};
    argus_err e = argus_store_export_record(s, "subject", out, m.n, &err);
    if (e != ARGUS_OK) {
      cli_errorf(cmd, "the export in %s is complete but could not be "
                      "recorded for retention: remove it by hand when done",
                 out);
      rc = store_cli_error(cmd, e, &err);
    }
  }
  if (rc == CLI_OK)
    printf("exported person %lld to %s: %d files (manifest.json lists them "
           "with their SHA-256)\n",
           (long long)p->id, out, m.n);
  return rc;
}

int cli_person_export_main(int argc, char **argv) {
  static const cli_opt opts[] = {STORE_CLI_DB_OPT,
                                 {"out", 1, OPT_OUT},
                                 {"watchlist", 1, OPT_WL},
                                 {NULL, 0, 0}};
  const char *cmd = "person export";
  const char *db = NULL, *out = NULL, *who = NULL, *watchlist = NULL;
  cli_parser p;
  cli_parser_init(&p, argc, argv, cmd, opts);
  for (;;) {
    int o = cli_parse_next(&p);
    if (o == CLI_OPT_END)
      break;
    switch (o) {
    case CLI_OPT_HELP:
      cli_person_export_usage(stdout);
      return CLI_OK;
    case CLI_OPT_ERROR:
      return cli_bad_value(cmd);
    case STORE_OPT_DB:
      db = p.arg;
      break;
    case OPT_OUT:
      out = p.arg;
      break;
    case OPT_WL:
      watchlist = p.arg;
      break;
    case CLI_OPT_POSITIONAL:
      if (who) {
        cli_errorf(cmd, "unexpected argument '%s'", p.arg);
        return cli_bad_value(cmd);
      }
      who = p.arg;
      break;
    }
  }
  if (!who || !out) {
    cli_errorf(cmd, "give NAME or ID, and --out DIR");
    return cli_bad_value(cmd);
  }
  struct stat sb;
  if (stat(out, &sb) == 0 && (!S_ISDIR(sb.st_mode) || !dir_is_empty(out))) {
    cli_errorf(cmd, "'%s' exists and is not an empty folder: give a new one",
               out);
    return CLI_FAIL;
  }
  argus_store *s = NULL;
  if (store_cli_open_existing(cmd, db, &s) != CLI_OK)
    return CLI_FAIL;
  argus_store_person person;
  int rc = find_person(cmd, s, who, watchlist, &person);
  char *json = NULL;
  size_t len = 0, nf = 0;
  argus_store_export_file *files = NULL;
  if (rc == CLI_OK) {
    argus_store_error err = {{0}};
    argus_err e =
        argus_store_person_export(s, person.id, &json, &len, &files, &nf, &err);
    if (e != ARGUS_OK)
      rc = store_cli_error(cmd, e, &err);
  }
  if (rc == CLI_OK)
    rc = make_dir(cmd, out, NULL);
  if (rc == CLI_OK)
    rc = write_export(cmd, s, out, &person, json, len, files, nf);
  free(json);
  argus_store_free(files);
  argus_store_close(s);
  return rc;
}

/* ---- erase -------------------------------------------------------------- */

void cli_person_erase_usage(FILE *f) {
  // clang-format off
  fputs("Usage: argus person erase NAME|ID [--yes] [--watchlist W] [--db PATH]\n"
        "\n"
        "Erases a person (a subject's erasure request), in one transaction:\n"
        "templates, photos and their face crop files, the alerts that named\n"
        "the person with their decisions, crop and thumbnail files, the live\n"
        "event log rows and webhook dead letters that named them, and the\n"
        "person's name in the audit log (replaced by \"[erased]\"; the hash\n"
        "chain is sealed again). A running 'argus serve' or 'argus watch'\n"
        "drops the person from its index as for 'argus person remove'. Leaves\n"
        "the audit row \"person.erase\" with the counts and no name. A crop\n"
        "file another row still refers to stays.\n"
        "\n"
        "  --yes          do not ask (required when stdin is not a terminal)\n"
        "  --watchlist W  look NAME up in watchlist W only\n"
        STORE_CLI_DB_HELP,
        f);
  // clang-format on
}

/* Asks on the terminal; 1 when the answer is "yes". */
static int confirm(const argus_store_person *p) {
  fprintf(stderr,
          "Erase person %lld of watchlist '%s' (%lld photos, %lld templates) "
          "with the alerts that named them? This cannot be undone.\n"
          "Type yes to erase: ",
          (long long)p->id, p->watchlist, (long long)p->photos,
          (long long)p->templates);
  fflush(stderr);
  char line[32];
  if (!fgets(line, sizeof line, stdin))
    return 0;
  line[strcspn(line, "\r\n")] = '\0';
  return strcmp(line, "yes") == 0;
}

int cli_person_erase_main(int argc, char **argv) {
  static const cli_opt opts[] = {STORE_CLI_DB_OPT,
                                 {"yes", 0, OPT_YES},
                                 {"watchlist", 1, OPT_WL},
                                 {NULL, 0, 0}};
  const char *cmd = "person erase";
  const char *db = NULL, *who = NULL, *watchlist = NULL;
  int yes = 0;
  cli_parser p;
  cli_parser_init(&p, argc, argv, cmd, opts);
  for (;;) {
    int o = cli_parse_next(&p);
    if (o == CLI_OPT_END)
      break;
    switch (o) {
    case CLI_OPT_HELP:
      cli_person_erase_usage(stdout);
      return CLI_OK;
    case CLI_OPT_ERROR:
      return cli_bad_value(cmd);
    case STORE_OPT_DB:
      db = p.arg;
      break;
    case OPT_YES:
      yes = 1;
      break;
    case OPT_WL:
      watchlist = p.arg;
      break;
    case CLI_OPT_POSITIONAL:
      if (who) {
        cli_errorf(cmd, "unexpected argument '%s'", p.arg);
        return cli_bad_value(cmd);
      }
      who = p.arg;
      break;
    }
  }
  if (!who) {
    cli_errorf(cmd, "give the person's NAME or ID");
    return cli_bad_value(cmd);
  }
  argus_store *s = NULL;
  if (store_cli_open_existing(cmd, db, &s) != CLI_OK)
    return CLI_FAIL;
  argus_store_person person;
  int rc = find_person(cmd, s, who, watchlist, &person);
  if (rc == CLI_OK && !yes) {
    if (!isatty(STDIN_FILENO)) {
      cli_errorf(cmd, "stdin is not a terminal: confirm the erasure with "
                      "--yes");
      rc = CLI_FAIL;
    } else if (!confirm(&person)) {
      cli_errorf(cmd, "not confirmed: nothing erased");
      rc = CLI_FAIL;
    }
  }
  argus_store_erase_counts c;
  memset(&c, 0, sizeof c);
  if (rc == CLI_OK) {
    argus_store_error err = {{0}};
    argus_err e = argus_store_person_erase(s, person.id, &c, &err);
    if (e != ARGUS_OK)
      rc = store_cli_error(cmd, e, &err);
  }
  argus_store_close(s);
  if (rc != CLI_OK)
    return rc;
  printf("erased person %lld: %lld templates, %lld photos, %lld alerts, "
         "%lld decisions, %lld files, %lld events, %lld dead letters; "
         "%lld audit rows redacted; audit row %lld\n",
         (long long)person.id, (long long)c.templates, (long long)c.photos,
         (long long)c.alerts, (long long)c.decisions, (long long)c.files,
         (long long)c.events, (long long)c.deadletters,
         (long long)c.audit_redacted, (long long)c.audit_id);
  return CLI_OK;
}
