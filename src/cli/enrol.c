/* `argus person add` and `argus import`: enrolment of persons from photos,
 * through the quality gate, into a watchlist. */
#include <stdlib.h>
#include <string.h>

#include "argus/import.h"
#include "cli/legal_cli.h"
#include "cli/cli_json.h"
#include "cli/gallery_cli.h"

enum {
  OPT_NAME = GALLERY_OPT_NEXT,
  OPT_EXTERNAL_ID,
  OPT_NOTES,
  OPT_FPIR,
  OPT_REASON,
  OPT_REVIEW_BY
};

/* ---- person add ---------------------------------------------------------- */

void cli_person_add_usage(FILE *f) {
  // clang-format off
  fputs("Usage: argus person add --watchlist W --name N [--external-id X]\n"
        "                        [--notes T] [--reason T] [--review-by DATE]\n"
        "                        [--pick largest] [--json] IMG...\n"
        "\n"
        "Enrols a person with one or more photos. Each photo passes a quality\n"
        "gate: no face, several faces (unless --pick largest), a face below the\n"
        "minimum size, blurred or in profile is rejected with the reason. The\n"
        "accepted photos are stored with their face crop (the face with a margin,\n"
        "JPEG) and template, all in one transaction; when no photo passes,\n"
        "nothing is stored and the exit status is 1.\n"
        "\n"
        "  --watchlist W     the watchlist (see 'argus watchlist create')\n"
        "  --name N          the person's name\n"
        "  --external-id X   an id of your own, unique within the watchlist\n"
        "  --notes T         free text\n"
        "  --reason T        why the person is on the list (legal basis)\n"
        "  --review-by DATE  from then on the entry matches nothing until\n"
        "                    renewed ('argus person set'); YYYY-MM-DD or\n"
        "                    RFC 3339, in the future\n"
        "  --db PATH         the database (default: $XDG_DATA_HOME/argus/argus.db\n"
        "                    or ~/.local/share/argus/argus.db)\n",
        f);
  gallery_cli_enrol_usage(f);
  face_cli_usage_common(f, 1);
  // clang-format on
}

/* What `person add --json` prints. */
typedef struct add_rec {
  const char *watchlist, *name;
  argus_store_id pid;
  int nok, nfiles;
  const argus_gallery_photo *photos;
  const char *warning; /* "" when none */
} add_rec;

static void add_json(const void *rec, argus_json *j) {
  const add_rec *r = rec;
  argus_json_obj_begin(j, NULL);
  argus_json_str(j, "watchlist", r->watchlist);
  argus_json_str(j, "name", r->name);
  if (r->pid)
    argus_json_int(j, "person_id", r->pid);
  else
    argus_json_null(j, "person_id");
  argus_json_int(j, "enrolled", r->nok);
  argus_json_arr_begin(j, "photos");
  for (int i = 0; i < r->nfiles; i++)
    argus_gallery_photo_json(&r->photos[i], j);
  argus_json_arr_end(j);
  if (r->warning[0])
    argus_json_str(j, "warning", r->warning);
  argus_json_obj_end(j);
}

CLI_JSON_FN(summary_json, argus_import_summary, argus_import_summary_json)

/* "  rejected  FILE: reason (detail)" and a newline. */
static void text_rejected(FILE *f, const char *file,
                          argus_gallery_reject reason, const char *detail) {
  fprintf(f, "  rejected  %s: %s", file ? file : "",
          argus_gallery_reject_name(reason));
  if (detail[0])
    fprintf(f, " (%s)", detail);
  if (reason == ARGUS_GALLERY_REJECT_SEVERAL_FACES)
    fputs("; --pick largest enrols the largest", f);
  fputc('\n', f);
}

/* Refuses a photo that is already enrolled in the watchlist (for this
 * person or another) or given twice: the same image bytes give the same
 * crop, so the crop's SHA-256 finds them (the store keeps it). Returns 0,
 * or -1 after the message. */
static int refuse_duplicates(const char *cmd, argus_store *s,
                             const char *watchlist, char **files,
                             const argus_gallery_photo *photos, int n) {
  for (int i = 0; i < n; i++) {
    if (photos[i].reason != ARGUS_GALLERY_ACCEPTED)
      continue;
    char hash[65], other[65];
    argus_sha256_hex(photos[i].crop, photos[i].crop_size, hash);
    for (int k = 0; k < i; k++) {
      if (photos[k].reason != ARGUS_GALLERY_ACCEPTED)
        continue;
      argus_sha256_hex(photos[k].crop, photos[k].crop_size, other);
      if (strcmp(hash, other) == 0) {
        cli_errorf(cmd,
                   "%s: the same photo as %s (identical image); nothing "
                   "stored",
                   files[i], files[k]);
        return -1;
      }
    }
    argus_store_error err = {{0}};
    argus_store_photo ph;
    int found = 0;
    argus_err e =
        argus_store_photo_find_crop(s, watchlist, hash, &ph, &found, &err);
    if (e) {
      store_cli_error(cmd, e, &err);
      return -1;
    }
    if (!found)
      continue;
    argus_store_person owner;
    e = argus_store_person_get(s, ph.person_id, &owner, &err);
    if (e) {
      store_cli_error(cmd, e, &err);
      return -1;
    }
    cli_errorf(cmd,
               "%s: this photo is already enrolled in watchlist '%s' (person "
               "'%s', id %lld, photo %lld%s%s%s); nothing stored",
               files[i], watchlist, owner.name, (long long)owner.id,
               (long long)ph.id, ph.source[0] ? ", from '" : "", ph.source,
               ph.source[0] ? "'" : "");
    return -1;
  }
  return 0;
}

/* A person of the same name already in the watchlist is allowed (two
 * people can share a name) but said: into `warning` (size bytes), "" when
 * none. Returns 0, or -1 after the message of a store error. */
static int same_name_warning(const char *cmd, argus_store *s,
                             const char *watchlist, const char *name,
                             char *warning, size_t size) {
  warning[0] = '\0';
  argus_store_error err = {{0}};
  argus_store_person *list = NULL;
  size_t n = 0;
  argus_err e = argus_store_person_list(s, watchlist, name, &list, &n, &err);
  if (e) {
    store_cli_error(cmd, e, &err);
    return -1;
  }
  if (n > 0)
    snprintf(warning, size,
             "watchlist '%s' already has %zu person%s named '%s' (id %lld%s); "
             "enrolled as another person",
             watchlist, n, n == 1 ? "" : "s", name, (long long)list[0].id,
             n > 1 ? ", ..." : "");
  argus_store_free(list);
  return 0;
}

int cli_person_add_main(int argc, char **argv) {
  static const cli_opt opts[] = {
      FACE_CLI_OPTS,           STORE_CLI_DB_OPT,
      GALLERY_CLI_ENROL_OPTS,  {"watchlist", 1, GALLERY_OPT_WATCHLIST},
      {"name", 1, OPT_NAME},   {"external-id", 1, OPT_EXTERNAL_ID},
      {"notes", 1, OPT_NOTES}, {"reason", 1, OPT_REASON},
      {"review-by", 1, OPT_REVIEW_BY}, {NULL, 0, 0}};
  const char *cmd = "person add";
  gallery_cli g;
  memset(&g, 0, sizeof g);
  face_cli_init(&g.face, cmd);
  argus_gallery_enrol_opts eo;
  argus_gallery_enrol_opts_default(&eo);
  const char *db = NULL, *watchlist = NULL;
  argus_store_person_in person = {NULL, NULL, NULL};
  const char *reason = NULL, *review_by = NULL;
  int nfiles = 0;
  cli_parser p;
  cli_parser_init(&p, argc, argv, cmd, opts);
  for (;;) {
    int id = cli_parse_next(&p);
    if (id == CLI_OPT_END)
      break;
    switch (id) {
    case CLI_OPT_HELP: cli_person_add_usage(stdout); return CLI_OK;
    case CLI_OPT_ERROR: return cli_bad_value(cmd);
    case CLI_OPT_POSITIONAL: argv[1 + nfiles++] = (char *)p.arg; continue;
    case STORE_OPT_DB: db = p.arg; continue;
    case GALLERY_OPT_WATCHLIST: watchlist = p.arg; continue;
    case OPT_NAME: person.name = p.arg; continue;
    case OPT_EXTERNAL_ID: person.external_id = p.arg; continue;
    case OPT_NOTES: person.notes = p.arg; continue;
    case OPT_REASON: reason = p.arg; continue;
    case OPT_REVIEW_BY:
      if (legal_cli_date(cmd, "--review-by", p.arg) != 0)
        return cli_bad_value(cmd);
      review_by = p.arg;
      continue;
    }
    int r = gallery_cli_enrol_option(cmd, &eo, id, p.arg);
    if (r == 0)
      r = face_cli_option(&g.face, id, p.arg);
    if (r < 0)
      return cli_bad_value(cmd);
  }
  if (!watchlist || !person.name) {
    cli_errorf(cmd, "--watchlist and --name are required");
    return cli_bad_value(cmd);
  }
  if (nfiles == 0) {
    cli_errorf(cmd, "no photo given");
    return cli_bad_value(cmd);
  }
  /* What is stored as text is checked before any photo is read. */
  if (!cli_json_utf8_arg(cmd, "--watchlist", watchlist) ||
      !cli_json_utf8_arg(cmd, "--name", person.name) ||
      !cli_json_utf8_arg(cmd, "--external-id", person.external_id) ||
      !cli_json_utf8_arg(cmd, "--notes", person.notes) ||
      !cli_json_utf8_arg(cmd, "--reason", reason))
    return cli_bad_value(cmd);
  for (int i = 0; i < nfiles; i++)
    if (!cli_json_utf8_arg(cmd, "the photo's path (stored as its source)",
                           argv[1 + i]))
      return cli_bad_value(cmd);
  eo.det = g.face.det;
  char **files = argv + 1;
  argus_gallery_photo *photos = calloc((size_t)nfiles, sizeof *photos);
  argus_gallery_photo *ok = calloc((size_t)nfiles, sizeof *ok);
  int rc = CLI_FAIL, nok = 0;
  argus_store_id pid = 0;
  if (!photos || !ok) {
    cli_errorf(cmd, "out of memory");
    goto out;
  }
  if (gallery_cli_open(&g, db, 1, 0) != CLI_OK)
    goto out;
  float thr;
  argus_gallery_error gerr = {{0}};
  argus_err e = argus_gallery_threshold(g.gallery, watchlist, &thr, &gerr);
  if (e) {
    cli_errorf(cmd,
               "no watchlist '%s' (create it with 'argus watchlist create "
               "%s')",
               watchlist, watchlist);
    goto out;
  }
  /* An expired watchlist is read-only: say so before reading photos. */
  argus_store_error se = {{0}};
  if ((e = argus_store_watchlist_check_writable(g.store, watchlist, &se))) {
    store_cli_error(cmd, e, &se);
    goto out;
  }
  for (int i = 0; i < nfiles; i++) {
    argus_face_error fe = {{0}};
    e = argus_gallery_photo_prepare_file(g.face.engine, NULL, files[i], &eo,
                                         &photos[i], &fe);
    if (e) {
      cli_errorf(cmd, "%s: %s (%s)", files[i],
                 fe.msg[0] ? fe.msg : argus_strerror(e), argus_errname(e));
      goto out;
    }
    if (photos[i].reason == ARGUS_GALLERY_ACCEPTED)
      ok[nok++] = photos[i];
  }
  if (nok > 0 && refuse_duplicates(cmd, g.store, watchlist, files, photos,
                                    nfiles) != 0)
    goto out;
  char warning[512] = "";
  if (nok > 0 && same_name_warning(cmd, g.store, watchlist, person.name,
                                   warning, sizeof warning) != 0)
    goto out;
  if (nok > 0) {
    e = argus_gallery_person_add(g.gallery, watchlist, &person, ok, nok, &pid,
                                 &gerr);
    if (e) {
      gallery_cli_error(cmd, e, &gerr);
      goto out;
    }
    /* The legal basis of the entry, in a second audited write (the
     * person struct is initialised positionally by many callers); the
     * date was checked above, so this fails only on a store error. */
    if ((reason || review_by) &&
        (e = argus_store_person_set_review(g.store, pid, reason, review_by,
                                           &se))) {
      store_cli_error(cmd, e, &se);
      cli_errorf(cmd,
                 "'%s' (id %lld) was enrolled without its reason/review-by "
                 "date: set them with 'argus person set --id %lld'",
                 person.name, (long long)pid, (long long)pid);
      goto out;
    }
  }
  if (warning[0])
    cli_errorf(cmd, "warning: %s", warning);
  if (g.face.json) {
    add_rec r = {watchlist, person.name, pid,     nok,
                 nfiles,    photos,      warning};
    if (cli_json_print(stdout, cmd, add_json, &r) != 0)
      goto out;
    fputc('\n', stdout);
  } else {
    for (int i = 0; i < nfiles; i++) {
      if (photos[i].reason == ARGUS_GALLERY_ACCEPTED)
        printf("  accepted  %s (quality %.2f%s%s)\n", files[i],
               (double)photos[i].quality, photos[i].detail[0] ? "; " : "",
               photos[i].detail);
      else
        text_rejected(stdout, files[i], photos[i].reason, photos[i].detail);
    }
    if (pid)
      printf("enrolled '%s' (id %lld) in '%s' with %d of %d photo%s\n",
             person.name, (long long)pid, watchlist, nok, nfiles,
             nfiles == 1 ? "" : "s");
  }
  if (nok == 0)
    cli_errorf(cmd, "nothing stored: no photo passed the quality gate");
  rc = nok > 0 ? CLI_OK : CLI_FAIL;
out:
  if (photos)
    for (int i = 0; i < nfiles; i++)
      argus_gallery_photo_free(&photos[i]);
  free(photos);
  free(ok);
  gallery_cli_close(&g);
  return rc;
}

/* ---- import -------------------------------------------------------------- */

void cli_import_usage(FILE *f) {
  // clang-format off
  fputs("Usage: argus import --watchlist W DIR [--pick largest] [--fpir R] [--json]\n"
        "\n"
        "Enrols a folder per person: DIR/<person>/*.jpg|*.jpeg|*.png. The folder\n"
        "name is the person's external id (and, with '_' shown as ' ', the name);\n"
        "persons whose external id is already in W are skipped, so an interrupted\n"
        "import can simply be run again. Every photo passes the quality gate of\n"
        "'argus person add'; each person is stored in its own transaction with\n"
        "the photos that pass, and a person none of whose photos pass is not\n"
        "stored. Shows a progress bar on a terminal and prints a summary\n"
        "(enrolled persons and photos, rejected photos by reason); with --json\n"
        "the summary is one JSON object. Exit status 1 when a person could not\n"
        "be stored, the import was interrupted, or nothing could be enrolled.\n"
        "\n"
        "  --watchlist W     the watchlist (see 'argus watchlist create')\n"
        "  --fpir R          afterwards, set W's threshold for a false-positive\n"
        "                    identification rate R (e.g. 0.001) at its new size,\n"
        "                    from the embedder card (as 'argus watchlist set\n"
        "                    --fpir'); said on stderr\n"
        "  --db PATH         the database (default: $XDG_DATA_HOME/argus/argus.db\n"
        "                    or ~/.local/share/argus/argus.db)\n",
        f);
  gallery_cli_enrol_usage(f);
  face_cli_usage_common(f, 1);
  // clang-format on
}

typedef struct imp_cli {
  const char *cmd, *root;
  int json;
  cli_progress prog;
} imp_cli;

/* Progress of the import: a line on a terminal, rejections and failures on
 * stderr as they come. */
static int on_import(void *user, const argus_import_event *ev) {
  imp_cli *c = user;
  const argus_import_summary *st = ev->summary;
  const argus_import_person *p = ev->person;
  switch (ev->kind) {
  case ARGUS_IMPORT_EVENT_START:
    if (st->loose_files)
      cli_errorf(
          c->cmd,
          "warning: %lld image file%s directly in %s ignored (expected a "
          "folder per person)",
          (long long)st->loose_files, st->loose_files == 1 ? "" : "s", c->root);
    break;
  case ARGUS_IMPORT_EVENT_PHOTO_REJECTED:
    if (!c->json) {
      cli_progress_clear(&c->prog);
      fputs("argus: import:", stderr);
      text_rejected(stderr, ev->photo->path, ev->photo->reason,
                    ev->photo->detail);
    }
    break;
  case ARGUS_IMPORT_EVENT_PERSON:
    if (p->status == ARGUS_IMPORT_SKIPPED) {
      /* Known at the start: said in the summary. Stored meanwhile by
       * another import: said here, with the reason. */
      if (p->message[0]) {
        cli_progress_clear(&c->prog);
        cli_errorf(c->cmd, "%s: skipped: %s", p->folder, p->message);
      }
      break;
    }
    if (p->photos > p->photos_used) {
      cli_progress_clear(&c->prog);
      cli_errorf(c->cmd, "warning: %s has %d photos; the first %d are used",
                 p->folder, p->photos, p->photos_used);
    }
    if (p->status == ARGUS_IMPORT_FAILED) {
      cli_progress_clear(&c->prog);
      cli_errorf(c->cmd, "%s: not stored: %s (%s)", p->folder, p->message,
                 argus_errname(p->error));
    }
    char extra[96];
    snprintf(extra, sizeof extra, "%lld photos enrolled, %lld rejected",
             (long long)st->photos_enrolled, (long long)st->photos_rejected);
    cli_progress_update(&c->prog, ev->done, st->persons_total, extra,
                        ev->done == st->persons_total);
    break;
  }
  return 0;
}

static void text_summary(FILE *f, const char *watchlist,
                         const argus_import_summary *st) {
  fprintf(f,
          "import into '%s': %lld of %lld persons enrolled with %lld photos "
          "in %.1f s\n",
          watchlist, (long long)st->persons_enrolled,
          (long long)st->persons_total, (long long)st->photos_enrolled,
          st->seconds);
  if (st->persons_skipped)
    fprintf(f, "  skipped %lld persons already enrolled (same external id)\n",
            (long long)st->persons_skipped);
  if (st->photos_rejected) {
    fprintf(f, "  rejected %lld photos:", (long long)st->photos_rejected);
    int k = 0;
    for (int r = 1; r < ARGUS_GALLERY_REJECT_N; r++)
      if (st->rejected_by_reason[r])
        fprintf(f, "%s %s %lld", k++ ? "," : "",
                argus_gallery_reject_name((argus_gallery_reject)r),
                (long long)st->rejected_by_reason[r]);
    fputc('\n', f);
  }
  if (st->persons_rejected)
    fprintf(f,
            "  %lld persons not enrolled: no photo passed the quality gate\n",
            (long long)st->persons_rejected);
  if (st->persons_failed)
    fprintf(f, "  %lld persons could not be stored (see the messages above)\n",
            (long long)st->persons_failed);
  if (st->cancelled)
    fprintf(f, "  interrupted: run the same command again to go on\n");
}

int cli_import_main(int argc, char **argv) {
  static const cli_opt opts[] = {FACE_CLI_OPTS,
                                 STORE_CLI_DB_OPT,
                                 GALLERY_CLI_ENROL_OPTS,
                                 {"watchlist", 1, GALLERY_OPT_WATCHLIST},
                                 {"fpir", 1, OPT_FPIR},
                                 {NULL, 0, 0}};
  const char *cmd = "import";
  double fpir = 0;
  gallery_cli g;
  memset(&g, 0, sizeof g);
  face_cli_init(&g.face, cmd);
  argus_import_options io;
  argus_import_options_default(&io);
  const char *db = NULL, *watchlist = NULL, *root = NULL;
  cli_parser p;
  cli_parser_init(&p, argc, argv, cmd, opts);
  for (;;) {
    int id = cli_parse_next(&p);
    if (id == CLI_OPT_END)
      break;
    switch (id) {
    case CLI_OPT_HELP: cli_import_usage(stdout); return CLI_OK;
    case CLI_OPT_ERROR: return cli_bad_value(cmd);
    case CLI_OPT_POSITIONAL:
      if (root) {
        cli_errorf(cmd, "unexpected argument '%s' (one DIR)", p.arg);
        return cli_bad_value(cmd);
      }
      root = p.arg;
      continue;
    case STORE_OPT_DB: db = p.arg; continue;
    case GALLERY_OPT_WATCHLIST: watchlist = p.arg; continue;
    case OPT_FPIR: {
      char *end = NULL;
      fpir = strtod(p.arg, &end);
      if (end == p.arg || *end != '\0' || !(fpir > 0 && fpir < 1)) {
        cli_errorf(cmd, "--fpir: '%s' is not a rate in (0, 1)", p.arg);
        return cli_bad_value(cmd);
      }
      continue;
    }
    }
    int r = gallery_cli_enrol_option(cmd, &io.enrol, id, p.arg);
    if (r == 0)
      r = face_cli_option(&g.face, id, p.arg);
    if (r < 0)
      return cli_bad_value(cmd);
  }
  if (!watchlist || !root) {
    cli_errorf(cmd, "--watchlist and DIR are required");
    return cli_bad_value(cmd);
  }
  /* DIR becomes part of every photo's stored source. */
  if (!cli_json_utf8_arg(cmd, "--watchlist", watchlist) ||
      !cli_json_utf8_arg(cmd, "DIR", root))
    return cli_bad_value(cmd);
  io.enrol.det = g.face.det;

  int rc = CLI_FAIL;
  argus_import_summary st;
  memset(&st, 0, sizeof st);
  if (gallery_cli_open(&g, db, 1, 0) != CLI_OK)
    goto out;
  float thr;
  argus_gallery_error gerr = {{0}};
  if (argus_gallery_threshold(g.gallery, watchlist, &thr, &gerr)) {
    cli_errorf(cmd,
               "no watchlist '%s' (create it with 'argus watchlist create "
               "%s')",
               watchlist, watchlist);
    goto out;
  }
  imp_cli c = {cmd, root, g.face.json, {0}};
  cli_progress_init(&c.prog, "import", "persons");
  io.pool = g.face.pool;
  io.cancel = argus_interrupt_flag();
  argus_interrupt_install();
  argus_err e = argus_gallery_import(g.gallery, g.face.engine, watchlist, root,
                                     &io, on_import, &c, &st, &gerr);
  argus_interrupt_restore();
  cli_progress_end(&c.prog);
  /* A failing database stopped it: that person was reported with the
   * summary's counters; anything else before the start is reported here. */
  if (e && e != ARGUS_E_CANCELLED && !st.persons) {
    gallery_cli_error(cmd, e, &gerr);
    goto out;
  }
  if (g.face.json) {
    if (cli_json_print(stdout, cmd, summary_json, &st) != 0)
      goto out;
    fputc('\n', stdout);
  } else
    text_summary(stdout, watchlist, &st);
  rc = CLI_OK;
  if (st.cancelled || st.persons_failed ||
      (st.persons_enrolled == 0 && st.persons_total > st.persons_skipped))
    rc = CLI_FAIL;
  if (fpir > 0 && rc == CLI_OK) {
    /* The threshold for the target FPIR at the watchlist's new size. */
    argus_store_watchlist w;
    argus_store_error se = {{0}};
    float t = 0;
    double fmr = 0;
    e = argus_store_watchlist_get(g.store, watchlist, &w, &se);
    if (e) {
      rc = store_cli_error(cmd, e, &se);
    } else if ((e = argus_gallery_threshold_for_fpir(
                    argus_face_engine_card(g.face.engine,
                                           ARGUS_FACE_MODEL_EMBEDDER),
                    fpir, w.persons > 0 ? w.persons : 1, &t, &fmr, &gerr))) {
      rc = gallery_cli_error(cmd, e, &gerr);
    } else if ((e = argus_store_watchlist_set_threshold(g.store, watchlist, t,
                                                        &se))) {
      rc = store_cli_error(cmd, e, &se);
    } else {
      cli_errorf(cmd,
                 "threshold of '%s' set to %.4f: FPIR %g over %lld persons "
                 "(per-comparison FMR %.2e)",
                 watchlist, (double)t, fpir, (long long)w.persons, fmr);
    }
  }
out:
  argus_import_summary_free(&st);
  gallery_cli_close(&g);
  return rc;
}
