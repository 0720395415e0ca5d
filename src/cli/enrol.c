/* `argus person add` and `argus import`: enrolment of persons from photos,
 * through the quality gate, into a watchlist. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "cli/gallery_cli.h"

/* Photos prepared in parallel before their persons are stored. */
#define IMPORT_CHUNK 64
/* Largest folder listing accepted (persons, or photos of one person). */
#define IMPORT_MAX_ENTRIES 10000000

enum { OPT_NAME = GALLERY_OPT_NEXT, OPT_EXTERNAL_ID, OPT_NOTES };

/* ---- person add ---------------------------------------------------------- */

void cli_person_add_usage(FILE *f) {
  // clang-format off
  fputs("Usage: argus person add --watchlist W --name N [--external-id X]\n"
        "                        [--notes T] [--pick largest] [--json] IMG...\n"
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
        "  --db PATH         the database (default: $XDG_DATA_HOME/argus/argus.db\n"
        "                    or ~/.local/share/argus/argus.db)\n",
        f);
  gallery_cli_enrol_usage(f);
  face_cli_usage_common(f, 1);
  // clang-format on
}

/* Reads and prepares one photo; on a read failure the photo is rejected
 * as unreadable with the reader's message. Returns an engine error. */
static argus_err prepare_file(argus_face_engine *e, argus_face_worker *w,
                              const char *path,
                              const argus_gallery_enrol_opts *o,
                              argus_gallery_photo *p, argus_face_error *fe) {
  argus_image img;
  argus_image_error ie = {{0}};
  argus_err rc = argus_image_read_file(path, ARGUS_PIX_RGB8, &img, &ie);
  if (rc) {
    memset(p, 0, sizeof *p);
    p->reason = ARGUS_GALLERY_REJECT_UNREADABLE;
    p->reasons = 1u << p->reason;
    snprintf(p->detail, sizeof p->detail, "%s",
             ie.msg[0] ? ie.msg : argus_strerror(rc));
    p->source = path;
    return ARGUS_OK;
  }
  rc = argus_gallery_photo_prepare(e, w, &img, o, p, fe);
  argus_image_free(&img);
  p->source = path;
  return rc;
}

static void json_photo(FILE *f, const argus_gallery_photo *p) {
  fputs("{\"file\":", f);
  cli_json_string(f, p->source ? p->source : "");
  if (p->reason == ARGUS_GALLERY_ACCEPTED) {
    fprintf(f, ",\"accepted\":true,\"quality\":%.3f,\"faces\":%d}",
            (double)p->quality, p->nfaces);
    return;
  }
  fputs(",\"accepted\":false,\"reason\":", f);
  cli_json_string(f, argus_gallery_reject_name(p->reason));
  fputs(",\"reasons\":[", f);
  int k = 0;
  for (int r = 1; r < ARGUS_GALLERY_REJECT_N; r++)
    if (p->reasons & (1u << r)) {
      fputs(k++ ? "," : "", f);
      cli_json_string(f, argus_gallery_reject_name((argus_gallery_reject)r));
    }
  fputs("],\"detail\":", f);
  cli_json_string(f, p->detail);
  fprintf(f, ",\"faces\":%d}", p->nfaces);
}

/* "  rejected  FILE: reason (detail)" and a newline. */
static void text_rejected(FILE *f, const argus_gallery_photo *p) {
  fprintf(f, "  rejected  %s: %s", p->source ? p->source : "",
          argus_gallery_reject_name(p->reason));
  if (p->detail[0])
    fprintf(f, " (%s)", p->detail);
  if (p->reason == ARGUS_GALLERY_REJECT_SEVERAL_FACES)
    fputs("; --pick largest enrols the largest", f);
  fputc('\n', f);
}

int cli_person_add_main(int argc, char **argv) {
  static const cli_opt opts[] = {
      FACE_CLI_OPTS,           STORE_CLI_DB_OPT,
      GALLERY_CLI_ENROL_OPTS,  {"watchlist", 1, GALLERY_OPT_WATCHLIST},
      {"name", 1, OPT_NAME},   {"external-id", 1, OPT_EXTERNAL_ID},
      {"notes", 1, OPT_NOTES}, {NULL, 0, 0}};
  const char *cmd = "person add";
  gallery_cli g;
  memset(&g, 0, sizeof g);
  face_cli_init(&g.face, cmd);
  argus_gallery_enrol_opts eo;
  argus_gallery_enrol_opts_default(&eo);
  const char *db = NULL, *watchlist = NULL;
  argus_store_person_in person = {NULL, NULL, NULL};
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
  for (int i = 0; i < nfiles; i++) {
    argus_face_error fe = {{0}};
    e = prepare_file(g.face.engine, NULL, files[i], &eo, &photos[i], &fe);
    if (e) {
      cli_errorf(cmd, "%s: %s (%s)", files[i],
                 fe.msg[0] ? fe.msg : argus_strerror(e), argus_errname(e));
      goto out;
    }
    if (photos[i].reason == ARGUS_GALLERY_ACCEPTED)
      ok[nok++] = photos[i];
  }
  if (nok > 0) {
    e = argus_gallery_person_add(g.gallery, watchlist, &person, ok, nok, &pid,
                                 &gerr);
    if (e) {
      gallery_cli_error(cmd, e, &gerr);
      goto out;
    }
  }
  if (g.face.json) {
    fputs("{\"watchlist\":", stdout);
    cli_json_string(stdout, watchlist);
    fputs(",\"name\":", stdout);
    cli_json_string(stdout, person.name);
    if (pid)
      printf(",\"person_id\":%lld", (long long)pid);
    else
      fputs(",\"person_id\":null", stdout);
    printf(",\"enrolled\":%d,\"photos\":[", nok);
    for (int i = 0; i < nfiles; i++) {
      if (i)
        fputc(',', stdout);
      json_photo(stdout, &photos[i]);
    }
    fputs("]}\n", stdout);
  } else {
    for (int i = 0; i < nfiles; i++) {
      if (photos[i].reason == ARGUS_GALLERY_ACCEPTED)
        printf("  accepted  %s (quality %.2f)\n", files[i],
               (double)photos[i].quality);
      else
        text_rejected(stdout, &photos[i]);
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
  fputs("Usage: argus import --watchlist W DIR [--pick largest] [--json]\n"
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
        "  --db PATH         the database (default: $XDG_DATA_HOME/argus/argus.db\n"
        "                    or ~/.local/share/argus/argus.db)\n",
        f);
  gallery_cli_enrol_usage(f);
  face_cli_usage_common(f, 1);
  // clang-format on
}

typedef struct imp_person {
  char *dir; /* folder name */
  char **files;
  int nfiles;
  int first; /* index of its first photo in the chunk */
} imp_person;

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static int is_image_name(const char *n) {
  const char *dot = strrchr(n, '.');
  return dot && (strcasecmp(dot, ".jpg") == 0 ||
                 strcasecmp(dot, ".jpeg") == 0 || strcasecmp(dot, ".png") == 0);
}

static char *join(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  char *s = malloc(la + lb + 2);
  if (s) {
    memcpy(s, a, la);
    s[la] = '/';
    memcpy(s + la + 1, b, lb + 1);
  }
  return s;
}

/* Lists the names in `dir` (no dot files) that are folders (want_dirs) or
 * image files, sorted. Returns 0 or -1 (reported). *loose counts image
 * files found when folders were wanted. */
static int list_dir(const char *cmd, const char *dir, int want_dirs,
                    char ***out, int *n, int *loose) {
  DIR *d = opendir(dir);
  if (!d) {
    cli_errorf(cmd, "cannot read folder %s: %s", dir, strerror(errno));
    return -1;
  }
  char **v = NULL;
  int cnt = 0, cap = 0, rc = 0;
  struct dirent *de;
  while ((de = readdir(d))) {
    if (de->d_name[0] == '.')
      continue;
    char *path = join(dir, de->d_name);
    struct stat st;
    int ok = path && stat(path, &st) == 0;
    free(path);
    if (!ok)
      continue;
    int keep = want_dirs ? S_ISDIR(st.st_mode)
                         : S_ISREG(st.st_mode) && is_image_name(de->d_name);
    if (want_dirs && !keep && loose && S_ISREG(st.st_mode) &&
        is_image_name(de->d_name))
      (*loose)++;
    if (!keep)
      continue;
    if (cnt == cap) {
      if (cap >= IMPORT_MAX_ENTRIES) {
        cli_errorf(cmd, "%s: more than %d entries", dir, IMPORT_MAX_ENTRIES);
        rc = -1;
        break;
      }
      cap = cap ? cap * 2 : 16;
      char **nv = realloc(v, (size_t)cap * sizeof *nv);
      if (!nv) {
        rc = -1;
        cli_errorf(cmd, "out of memory");
        break;
      }
      v = nv;
    }
    if (!(v[cnt] = strdup(de->d_name))) {
      rc = -1;
      cli_errorf(cmd, "out of memory");
      break;
    }
    cnt++;
  }
  closedir(d);
  if (rc) {
    for (int i = 0; i < cnt; i++)
      free(v[i]);
    free(v);
    return -1;
  }
  if (cnt)
    qsort(v, (size_t)cnt, sizeof *v, cmp_str);
  *out = v;
  *n = cnt;
  return 0;
}

typedef struct imp_job {
  argus_face_engine *engine;
  argus_face_worker **workers;
  const argus_gallery_enrol_opts *opts;
  char **paths;
  argus_gallery_photo *photos;
  argus_err *rcs;
  argus_face_error *errs;
} imp_job;

static void imp_task(void *ctx, size_t begin, size_t end, int tid) {
  imp_job *j = ctx;
  for (size_t i = begin; i < end; i++) {
    if (cli_interrupted) {
      memset(&j->photos[i], 0, sizeof j->photos[i]);
      j->rcs[i] = ARGUS_E_INTERNAL;
      snprintf(j->errs[i].msg, sizeof j->errs[i].msg, "interrupted");
      continue;
    }
    j->rcs[i] = prepare_file(j->engine, j->workers[tid], j->paths[i], j->opts,
                             &j->photos[i], &j->errs[i]);
  }
}

typedef struct imp_stats {
  int64_t persons_total, persons_enrolled, persons_skipped, persons_rejected,
      persons_failed;
  int64_t photos_enrolled, photos_rejected;
  int64_t by_reason[ARGUS_GALLERY_REJECT_N];
} imp_stats;

/* Rejections and failures kept for the JSON summary. */
typedef struct imp_log {
  FILE *f; /* memory stream of JSON array items */
  char *buf;
  size_t size;
  int n;
} imp_log;

static int external_id_known(char **ids, size_t n, const char *id) {
  return n && bsearch(&id, ids, n, sizeof *ids, cmp_str) != NULL;
}

int cli_import_main(int argc, char **argv) {
  static const cli_opt opts[] = {FACE_CLI_OPTS,
                                 STORE_CLI_DB_OPT,
                                 GALLERY_CLI_ENROL_OPTS,
                                 {"watchlist", 1, GALLERY_OPT_WATCHLIST},
                                 {NULL, 0, 0}};
  const char *cmd = "import";
  gallery_cli g;
  memset(&g, 0, sizeof g);
  face_cli_init(&g.face, cmd);
  argus_gallery_enrol_opts eo;
  argus_gallery_enrol_opts_default(&eo);
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
    }
    int r = gallery_cli_enrol_option(cmd, &eo, id, p.arg);
    if (r == 0)
      r = face_cli_option(&g.face, id, p.arg);
    if (r < 0)
      return cli_bad_value(cmd);
  }
  if (!watchlist || !root) {
    cli_errorf(cmd, "--watchlist and DIR are required");
    return cli_bad_value(cmd);
  }
  eo.det = g.face.det;

  int rc = CLI_FAIL, loose = 0, npersons = 0, nworkers = 0;
  char **dirs = NULL;
  imp_person *persons = NULL;
  argus_face_worker **workers = NULL;
  argus_store_person *known = NULL;
  size_t nknown = 0;
  char **known_ids = NULL;
  char *paths[IMPORT_CHUNK];
  argus_gallery_photo photos[IMPORT_CHUNK];
  argus_err rcs[IMPORT_CHUNK];
  argus_face_error *errs = calloc(IMPORT_CHUNK, sizeof *errs);
  imp_stats st;
  imp_log lg = {0}, fl = {0};
  cli_progress prog;
  memset(&st, 0, sizeof st);
  memset(photos, 0, sizeof photos);
  cli_progress_init(&prog, "import", "persons");
  uint64_t t0 = argus_time_ns();

  if (!errs || list_dir(cmd, root, 1, &dirs, &npersons, &loose) != 0)
    goto out;
  if (loose)
    cli_errorf(cmd,
               "warning: %d image file%s directly in %s ignored (expected a "
               "folder per person)",
               loose, loose == 1 ? "" : "s", root);
  persons = calloc(npersons ? (size_t)npersons : 1, sizeof *persons);
  if (!persons) {
    cli_errorf(cmd, "out of memory");
    goto out;
  }
  for (int i = 0; i < npersons; i++) {
    persons[i].dir = dirs[i];
    char *pd = join(root, dirs[i]);
    int ok = pd && list_dir(cmd, pd, 0, &persons[i].files, &persons[i].nfiles,
                            NULL) == 0;
    if (ok)
      for (int k = 0; k < persons[i].nfiles && ok; k++) {
        char *full = join(pd, persons[i].files[k]);
        if (!full)
          ok = 0;
        free(persons[i].files[k]);
        persons[i].files[k] = full;
      }
    free(pd);
    if (!ok)
      goto out;
  }
  st.persons_total = npersons;

  if (gallery_cli_open(&g, db, 1, 0) != CLI_OK)
    goto out;
  {
    float thr;
    argus_gallery_error gerr = {{0}};
    if (argus_gallery_threshold(g.gallery, watchlist, &thr, &gerr)) {
      cli_errorf(cmd,
                 "no watchlist '%s' (create it with 'argus watchlist create "
                 "%s')",
                 watchlist, watchlist);
      goto out;
    }
    argus_store_error se = {{0}};
    argus_err e =
        argus_store_person_list(g.store, watchlist, NULL, &known, &nknown, &se);
    if (e) {
      store_cli_error(cmd, e, &se);
      goto out;
    }
    known_ids = malloc((nknown ? nknown : 1) * sizeof *known_ids);
    if (!known_ids) {
      cli_errorf(cmd, "out of memory");
      goto out;
    }
    size_t k = 0;
    for (size_t i = 0; i < nknown; i++)
      if (known[i].external_id[0])
        known_ids[k++] = known[i].external_id;
    nknown = k;
    if (nknown)
      qsort(known_ids, nknown, sizeof *known_ids, cmp_str);
  }
  nworkers = argus_threadpool_size(g.face.pool);
  workers = calloc((size_t)nworkers, sizeof *workers);
  if (!workers) {
    cli_errorf(cmd, "out of memory");
    goto out;
  }
  for (int i = 0; i < nworkers; i++) {
    argus_err e = argus_face_worker_create(g.face.engine, &workers[i]);
    if (e) {
      cli_errorf(cmd, "creating worker %d: %s", i, argus_strerror(e));
      goto out;
    }
  }
  if (g.face.json) {
    lg.f = open_memstream(&lg.buf, &lg.size);
    fl.f = open_memstream(&fl.buf, &fl.size);
    if (!lg.f || !fl.f) {
      cli_errorf(cmd, "out of memory");
      goto out;
    }
  }

  cli_interrupt_install();
  int failed_hard = 0;
  int pi = 0;
  while (pi < npersons && !cli_interrupted && !failed_hard) {
    /* A chunk: whole persons, up to IMPORT_CHUNK photos (a person with
     * more photos has its first IMPORT_CHUNK used). */
    int p0 = pi, np = 0;
    while (pi < npersons) {
      imp_person *ps = &persons[pi];
      if (external_id_known(known_ids, nknown, ps->dir)) {
        st.persons_skipped++;
        pi++;
        continue;
      }
      int take = ps->nfiles < IMPORT_CHUNK ? ps->nfiles : IMPORT_CHUNK;
      if (np > 0 && np + take > IMPORT_CHUNK)
        break;
      ps->first = np;
      for (int k = 0; k < take; k++)
        paths[np++] = ps->files[k];
      pi++;
    }
    imp_job j = {g.face.engine, workers, &eo, paths, photos, rcs, errs};
    argus_threadpool_parallel_for(g.face.pool, (size_t)np, 1, imp_task, &j);
    for (int q = p0; q < pi; q++) {
      imp_person *ps = &persons[q];
      if (external_id_known(known_ids, nknown, ps->dir))
        continue;
      int n = ps->nfiles < IMPORT_CHUNK ? ps->nfiles : IMPORT_CHUNK;
      argus_gallery_photo ok[IMPORT_CHUNK];
      int nok = 0, interrupted = 0;
      for (int k = 0; k < n; k++) {
        int i = ps->first + k;
        if (rcs[i]) {
          if (cli_interrupted) {
            interrupted = 1;
            continue;
          }
          /* An engine failure on one photo: report it as unreadable. */
          photos[i].reason = ARGUS_GALLERY_REJECT_UNREADABLE;
          photos[i].reasons = 1u << photos[i].reason;
          photos[i].source = paths[i];
          snprintf(photos[i].detail, sizeof photos[i].detail, "%s",
                   errs[i].msg[0] ? errs[i].msg : argus_strerror(rcs[i]));
        }
        if (photos[i].reason == ARGUS_GALLERY_ACCEPTED) {
          ok[nok++] = photos[i];
          continue;
        }
        st.photos_rejected++;
        st.by_reason[photos[i].reason]++;
        cli_progress_clear(&prog);
        if (lg.f) {
          fputs(lg.n++ ? "," : "", lg.f);
          json_photo(lg.f, &photos[i]);
        } else {
          fputs("argus: import:", stderr);
          text_rejected(stderr, &photos[i]);
        }
      }
      if (interrupted)
        break;
      if (ps->nfiles > IMPORT_CHUNK)
        cli_errorf(cmd, "warning: %s has %d photos; the first %d are used",
                   ps->dir, ps->nfiles, IMPORT_CHUNK);
      if (nok == 0) {
        st.persons_rejected++;
      } else {
        char name[ARGUS_STORE_NAME_MAX];
        snprintf(name, sizeof name, "%s", ps->dir);
        for (char *c = name; *c; c++)
          if (*c == '_')
            *c = ' ';
        argus_store_person_in in = {name, ps->dir, NULL};
        argus_gallery_error gerr = {{0}};
        argus_err e = argus_gallery_person_add(g.gallery, watchlist, &in, ok,
                                               nok, NULL, &gerr);
        if (e == ARGUS_OK) {
          st.persons_enrolled++;
          st.photos_enrolled += nok;
        } else {
          st.persons_failed++;
          cli_progress_clear(&prog);
          cli_errorf(cmd, "%s: not stored: %s (%s)", ps->dir,
                     gerr.msg[0] ? gerr.msg : argus_strerror(e),
                     argus_errname(e));
          if (fl.f) {
            fputs(fl.n++ ? "," : "", fl.f);
            fputs("{\"person\":", fl.f);
            cli_json_string(fl.f, ps->dir);
            fputs(",\"error\":", fl.f);
            cli_json_string(fl.f, gerr.msg[0] ? gerr.msg : argus_strerror(e));
            fputc('}', fl.f);
          }
          /* The database itself failing (not this person's data): stop. */
          if (e == ARGUS_E_IO || e == ARGUS_E_CORRUPT || e == ARGUS_E_NOMEM)
            failed_hard = 1;
        }
      }
      char extra[96];
      snprintf(extra, sizeof extra, "%lld photos enrolled, %lld rejected",
               (long long)st.photos_enrolled, (long long)st.photos_rejected);
      cli_progress_update(&prog, q + 1, npersons, extra, q + 1 == npersons);
      if (failed_hard)
        break;
    }
    for (int i = 0; i < np; i++)
      argus_gallery_photo_free(&photos[i]);
  }
  int interrupted = cli_interrupted != 0;
  cli_interrupt_restore();
  cli_progress_end(&prog);
  double secs = (double)(argus_time_ns() - t0) * 1e-9;

  if (g.face.json) {
    fclose(lg.f);
    fclose(fl.f);
    lg.f = fl.f = NULL;
    fputs("{\"watchlist\":", stdout);
    cli_json_string(stdout, watchlist);
    printf(",\"persons\":%lld,\"persons_enrolled\":%lld,\"persons_skipped\":"
           "%lld,\"persons_rejected\":%lld,\"persons_failed\":%lld,"
           "\"photos_enrolled\":%lld,\"photos_rejected\":%lld,"
           "\"rejected_by_reason\":{",
           (long long)st.persons_total, (long long)st.persons_enrolled,
           (long long)st.persons_skipped, (long long)st.persons_rejected,
           (long long)st.persons_failed, (long long)st.photos_enrolled,
           (long long)st.photos_rejected);
    int k = 0;
    for (int r = 1; r < ARGUS_GALLERY_REJECT_N; r++)
      if (st.by_reason[r]) {
        fputs(k++ ? "," : "", stdout);
        cli_json_string(stdout,
                        argus_gallery_reject_name((argus_gallery_reject)r));
        printf(":%lld", (long long)st.by_reason[r]);
      }
    printf("},\"interrupted\":%s,\"seconds\":%.3f,\"rejected\":[%s],"
           "\"failed\":[%s]}\n",
           interrupted ? "true" : "false", secs, lg.buf ? lg.buf : "",
           fl.buf ? fl.buf : "");
  } else {
    printf("import into '%s': %lld of %lld persons enrolled with %lld photos "
           "in %.1f s\n",
           watchlist, (long long)st.persons_enrolled,
           (long long)st.persons_total, (long long)st.photos_enrolled, secs);
    if (st.persons_skipped)
      printf("  skipped %lld persons already enrolled (same external id)\n",
             (long long)st.persons_skipped);
    if (st.photos_rejected) {
      printf("  rejected %lld photos:", (long long)st.photos_rejected);
      int k = 0;
      for (int r = 1; r < ARGUS_GALLERY_REJECT_N; r++)
        if (st.by_reason[r])
          printf("%s %s %lld", k++ ? "," : "",
                 argus_gallery_reject_name((argus_gallery_reject)r),
                 (long long)st.by_reason[r]);
      putchar('\n');
    }
    if (st.persons_rejected)
      printf("  %lld persons not enrolled: no photo passed the quality gate\n",
             (long long)st.persons_rejected);
    if (st.persons_failed)
      printf("  %lld persons could not be stored (see the messages above)\n",
             (long long)st.persons_failed);
    if (interrupted)
      printf("  interrupted: run the same command again to go on\n");
  }
  rc = CLI_OK;
  if (interrupted || st.persons_failed ||
      (st.persons_enrolled == 0 && st.persons_total > st.persons_skipped))
    rc = CLI_FAIL;
out:
  if (lg.f)
    fclose(lg.f);
  if (fl.f)
    fclose(fl.f);
  free(lg.buf);
  free(fl.buf);
  if (workers)
    for (int i = 0; i < nworkers; i++)
      argus_face_worker_free(workers[i]);
  free(workers);
  if (persons)
    for (int i = 0; i < npersons; i++) {
      for (int k = 0; k < persons[i].nfiles; k++)
        free(persons[i].files[k]);
      free(persons[i].files);
    }
  if (dirs)
    for (int i = 0; i < npersons; i++)
      free(dirs[i]);
  free(dirs);
  free(persons);
  free(known_ids);
  argus_store_free(known);
  free(errs);
  gallery_cli_close(&g);
  return rc;
}
