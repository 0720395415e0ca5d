/* `argus eval faces|detect`: A/B comparison of two algorithms on a
 * deployment's own labelled data, so that a vendor's claim can be checked.
 *
 *   faces DIR   a folder per person: each embedder (card) embeds every
 *               photo; 1:1 verification over all genuine pairs and all (or a
 *               fixed-seed sample of) impostor pairs, and open-set 1:N on
 *               the LFW protocol of eval/lfw_1n.py (gallery: the first
 *               photo of each person with two or more, mated probes: their
 *               other photos, non-mated probes: the persons with one photo),
 *               raw cosines and with the top-N normalisation of
 *               argus_gallery_search (ARGUS_GALLERY_NORM_TOPN);
 *   detect DIR  WIDER-format ground truth (DIR/gt.txt, DIR/images/): each
 *               detector's AP on easy, medium and hard faces with the
 *               protocol of the WIDER evaluation code (eval/widerface_ap.py,
 *               of which this is a port: on the dev split fr_detect at its
 *               default size gives 0.841 / 0.785 / 0.611 with both).
 *
 * Metrics (NIST FRTE definitions): FMR/FNMR and TAR at the embedder card's
 * calibrated thresholds; TAR at FAR 1e-2/1e-3/1e-4 with the threshold set
 * on the impostor scores themselves; best accuracy: the mean of TAR and TRR
 * at the threshold that maximises it (the accuracy on a list with as many
 * same as different pairs, as LFW's); FPIR(t): the share of non-mated
 * searches whose best score is >= t; FNIR(t): the share of mated searches
 * whose mate is not rank 1 with a score >= t, t set for FPIR 1 % and 0.1 %
 * on the non-mated searches; rank-1: mated searches whose best candidate is
 * the mate. A photo without a usable face fails: its pairs count as
 * non-matches, a mated probe as a miss; the failures are reported. */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "argus/gallery.h"
#include "argus/index.h"
#include "cli/cli_json.h"
#include "cli/face_cli.h"
#include "cli/gallery_cli.h"

enum {
  OPT_A = FACE_OPT_NEXT + 40,
  OPT_B,
  OPT_ALIGNED,
  OPT_MAX_IMPOSTORS,
  OPT_GT,
  OPT_LIMIT
};

#define EVAL_DEFAULT_IMPOSTORS 5000000L
#define ALIGNED_CHUNK 256

void cli_eval_usage(FILE *f) {
  // clang-format off
  fputs("Usage: argus eval faces DIR [--a CARD] [--b CARD] [--aligned]\n"
        "                  [--max-impostors N] [--json]\n"
        "       argus eval detect DIR [--a CARD] [--b CARD] [--gt FILE]\n"
        "                  [--limit N] [detection options] [--json]\n"
        "\n"
        "Compares two algorithms (A and B, by model card name; B optional) on\n"
        "labelled data of your own.\n"
        "\n"
        "faces: DIR holds a folder per person (DIR/<person>/*.jpg|*.jpeg|*.png).\n"
        "  1:1 verification over every genuine and every impostor pair (a\n"
        "  fixed-seed sample of N impostor pairs beyond --max-impostors, default\n"
        "  5000000): FMR and TAR at the card's calibrated thresholds, TAR at FAR\n"
        "  1e-2, 1e-3, 1e-4, best accuracy (mean of TAR and TRR at its best\n"
        "  threshold). 1:N open set: gallery = first photo of each person with\n"
        "  two or more, mated probes = their other photos, non-mated probes =\n"
        "  the persons with one photo; FNIR at FPIR 1 % and 0.1 % and rank-1,\n"
        "  of raw cosines and with the top-N score normalisation of `argus\n"
        "  identify`. Cards: embedders (default A: fr_feature).\n"
        "detect: DIR/gt.txt (WIDER format: image path, face count, then\n"
        "  'x y w h easy medium hard' per face; flag 0: not counted in that\n"
        "  setting) and DIR/images/. AP at IoU 0.5 per setting, the WIDER\n"
        "  protocol (eval/widerface_ap.py). Cards: detectors (default A: the\n"
        "  default detector, " ARGUS_FACE_DEFAULT_DETECTOR "); run at --min-score\n"
        "  0.05, --max-faces 1000 unless given.\n"
        "\n"
        "  --a CARD, --b CARD  the two algorithms' model cards (in --models)\n"
        "  --aligned           faces: the photos are aligned crops (LFW-112)\n"
        "  --max-impostors N   faces: impostor pairs at most (sampled beyond)\n"
        "  --gt FILE           detect: ground truth (default DIR/gt.txt)\n"
        "  --limit N           detect: the first N images only\n"
        "  --json              one JSON object on stdout\n"
        "Progress on stderr when it is a terminal.\n",
        f);
  face_cli_usage_common(f, 1);
  // clang-format on
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static int has_image_ext(const char *name) {
  const char *dot = strrchr(name, '.');
  if (!dot)
    return 0;
  return strcasecmp(dot, ".jpg") == 0 || strcasecmp(dot, ".jpeg") == 0 ||
         strcasecmp(dot, ".png") == 0;
}

/* Sorted names of the entries of `dir` that are folders (want_dir) or image
 * files. Returns the count, or -1 (cannot open: errno). */
static int list_dir(const char *dir, int want_dir, char ***out) {
  DIR *d = opendir(dir);
  if (!d)
    return -1;
  char **v = NULL;
  int n = 0, cap = 0;
  struct dirent *de;
  while ((de = readdir(d)) != NULL) {
    if (de->d_name[0] == '.')
      continue;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
    struct stat st;
    if (stat(path, &st) != 0)
      continue;
    if (want_dir ? !S_ISDIR(st.st_mode)
                 : !(S_ISREG(st.st_mode) && has_image_ext(de->d_name)))
      continue;
    if (n == cap) {
      cap = cap ? cap * 2 : 64;
      char **nv = realloc(v, (size_t)cap * sizeof *nv);
      if (!nv)
        break;
      v = nv;
    }
    if (!(v[n] = strdup(de->d_name)))
      break;
    n++;
  }
  closedir(d);
  if (n)
    qsort(v, (size_t)n, sizeof *v, cmp_str);
  *out = v;
  return n;
}

static void free_names(char **v, int n) {
  for (int i = 0; i < n; i++)
    free(v[i]);
  free(v);
}

/* ---- shared -------------------------------------------------------------- */

typedef struct eval_ctx {
  face_cli c;
  const char *card[2]; /* A, B (B may be NULL) */
  int nalg;
  int aligned;
  long max_impostors;
  const char *gt;
  int limit;
  int min_score_set, max_faces_set;
} eval_ctx;

static argus_err open_engine(eval_ctx *x, int alg, int detector,
                             argus_face_engine **e) {
  argus_face_engine_opts o;
  memset(&o, 0, sizeof o);
  o.models_dir = x->c.models;
  o.pool = x->c.pool;
  o.allow_unverified = x->c.unverified;
  if (detector)
    o.detector = x->card[alg];
  else
    o.embedder = x->card[alg];
  argus_face_error err = {{0}};
  argus_err rc = argus_face_engine_create(&o, e, &err);
  if (rc)
    cli_errorf(x->c.cmd, "%s %s: %s (%s)", alg ? "B" : "A", x->card[alg],
               err.msg[0] ? err.msg : argus_strerror(rc), argus_errname(rc));
  return rc;
}

/* ---- faces: data ---------------------------------------------------------- */

typedef struct photo_set {
  char **files; /* full paths */
  int *owner;   /* person index */
  int n;
  char **persons;
  int npersons;
} photo_set;

static void photo_set_free(photo_set *s) {
  free_names(s->files, s->n);
  free(s->owner);
  free_names(s->persons, s->npersons);
  memset(s, 0, sizeof *s);
}

static int photo_set_load(const char *cmd, const char *dir, photo_set *s) {
  memset(s, 0, sizeof *s);
  int np = list_dir(dir, 1, &s->persons);
  if (np < 0) {
    cli_errorf(cmd, "%s: cannot open the folder", dir);
    return CLI_FAIL;
  }
  s->npersons = np;
  int cap = 0;
  for (int p = 0; p < np; p++) {
    char pdir[4096];
    snprintf(pdir, sizeof pdir, "%s/%s", dir, s->persons[p]);
    char **names = NULL;
    int nf = list_dir(pdir, 0, &names);
    for (int i = 0; i < nf; i++) {
      if (s->n == cap) {
        cap = cap ? cap * 2 : 1024;
        char **nfs = realloc(s->files, (size_t)cap * sizeof *nfs);
        int *no = realloc(s->owner, (size_t)cap * sizeof *no);
        if (nfs)
          s->files = nfs;
        if (no)
          s->owner = no;
        if (!nfs || !no) {
          free_names(names, nf);
          cli_errorf(cmd, "out of memory");
          return CLI_FAIL;
        }
      }
      char path[8192];
      snprintf(path, sizeof path, "%s/%s", pdir, names[i]);
      if (!(s->files[s->n] = strdup(path))) {
        free_names(names, nf);
        cli_errorf(cmd, "out of memory");
        return CLI_FAIL;
      }
      s->owner[s->n++] = p;
    }
    free_names(names, nf);
  }
  if (s->n == 0) {
    cli_errorf(cmd, "%s: no photos in a folder per person (DIR/<person>/*.jpg)",
               dir);
    return CLI_FAIL;
  }
  return CLI_OK;
}

typedef struct read_job {
  char **files;
  argus_image *imgs;
  argus_err *rcs;
} read_job;

static void read_task(void *ctx, size_t begin, size_t end, int tid) {
  (void)tid;
  read_job *j = ctx;
  for (size_t i = begin; i < end; i++) {
    argus_image_error ie;
    memset(&ie, 0, sizeof ie);
    j->rcs[i] =
        argus_image_read_file(j->files[i], ARGUS_PIX_RGB8, &j->imgs[i], &ie);
  }
}

/* Embeds every photo with engine e: emb[i*dim], ok[i] (0: failed). */
static int embed_all(eval_ctx *x, argus_face_engine *e, const photo_set *s,
                     const char *label, float *emb, unsigned char *ok,
                     int *failed) {
  const int dim = argus_face_engine_dim(e);
  cli_progress pr;
  cli_progress_init(&pr, label, "photos");
  *failed = 0;
  argus_image *imgs = calloc(ALIGNED_CHUNK, sizeof *imgs);
  argus_image *good = calloc(ALIGNED_CHUNK, sizeof *good);
  argus_err *rcs = calloc(ALIGNED_CHUNK, sizeof *rcs);
  int *idx = calloc(ALIGNED_CHUNK, sizeof *idx);
  float *tmp = malloc((size_t)ALIGNED_CHUNK * (size_t)dim * sizeof *tmp);
  argus_face *faces = malloc(FACE_CLI_MAX_FACES * sizeof *faces);
  float *femb = malloc((size_t)FACE_CLI_MAX_FACES * (size_t)dim * sizeof *femb);
  int rc = CLI_OK;
  if (!imgs || !good || !rcs || !idx || !tmp || !faces || !femb) {
    cli_errorf(x->c.cmd, "out of memory");
    rc = CLI_FAIL;
    goto out;
  }
  for (int c0 = 0; c0 < s->n; c0 += ALIGNED_CHUNK) {
    int n = s->n - c0 < ALIGNED_CHUNK ? s->n - c0 : ALIGNED_CHUNK;
    read_job rj = {s->files + c0, imgs, rcs};
    argus_threadpool_parallel_for(x->c.pool, (size_t)n, 4, read_task, &rj);
    int ng = 0;
    for (int i = 0; i < n; i++) {
      ok[c0 + i] = 0;
      if (rcs[i] == ARGUS_OK) {
        good[ng] = imgs[i];
        idx[ng++] = i;
      }
    }
    if (x->aligned) {
      argus_face_error fe = {{0}};
      if (ng > 0 &&
          argus_face_engine_embed_aligned(e, good, ng, tmp, &fe) == ARGUS_OK)
        for (int k = 0; k < ng; k++) {
          memcpy(emb + (size_t)(c0 + idx[k]) * dim, tmp + (size_t)k * dim,
                 (size_t)dim * sizeof *emb);
          ok[c0 + idx[k]] = 1;
        }
    } else {
      for (int k = 0; k < ng; k++) {
        int nf = 0;
        argus_face_error fe = {{0}};
        if (argus_face_engine_analyze(
                e, &good[k], &x->c.det, ARGUS_FACE_DO_EMBED, faces,
                FACE_CLI_MAX_FACES, &nf, femb, &fe) != ARGUS_OK)
          continue;
        /* The largest face with landmarks is the subject. */
        int best = -1;
        float area = 0;
        for (int f = 0; f < nf; f++) {
          float a = (faces[f].box[2] - faces[f].box[0]) *
                    (faces[f].box[3] - faces[f].box[1]);
          if (faces[f].npoints == ARGUS_FACE_NPOINTS && a > area) {
            area = a;
            best = f;
          }
        }
        if (best >= 0) {
          memcpy(emb + (size_t)(c0 + idx[k]) * dim, femb + (size_t)best * dim,
                 (size_t)dim * sizeof *emb);
          ok[c0 + idx[k]] = 1;
        }
      }
    }
    for (int i = 0; i < n; i++)
      argus_image_free(&imgs[i]);
    cli_progress_update(&pr, c0 + n, s->n, NULL, 0);
  }
  for (int i = 0; i < s->n; i++)
    *failed += !ok[i];
  cli_progress_end(&pr);
out:
  free(imgs);
  free(good);
  free(rcs);
  free(idx);
  free(tmp);
  free(faces);
  free(femb);
  return rc;
}

/* ---- faces: metrics ------------------------------------------------------- */

static int cmp_float_desc(const void *a, const void *b) {
  float x = *(const float *)a, y = *(const float *)b;
  return (x < y) - (x > y);
}

/* Smallest threshold whose rate over the n scores (sorted descending) is at
 * most `rate`: the (floor(rate*n)+1)-th highest score, nudged up. */
static float threshold_at(const float *desc, size_t n, double rate) {
  size_t allowed = (size_t)floor(rate * (double)n);
  if (allowed >= n)
    return -INFINITY;
  return nextafterf(desc[allowed], INFINITY);
}

/* Share of the n scores (sorted descending) that are >= t. */
static double share_at_least(const float *desc, size_t n, float t) {
  if (n == 0)
    return NAN;
  size_t lo = 0, hi = n; /* first index with score < t */
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (desc[mid] >= t)
      lo = mid + 1;
    else
      hi = mid;
  }
  return (double)lo / (double)n;
}

static uint64_t rng_next(uint64_t *s) {
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return *s;
}

#define NFAR 3
static const double fars[NFAR] = {1e-2, 1e-3, 1e-4};

typedef struct verif {
  size_t genuine, impostor;
  int sampled;
  int ncard;
  double card_fmr[ARGUS_FACE_MAX_THRESHOLDS];
  float card_t[ARGUS_FACE_MAX_THRESHOLDS];
  double card_fmr_measured[ARGUS_FACE_MAX_THRESHOLDS];
  double card_tar[ARGUS_FACE_MAX_THRESHOLDS];
  float far_t[NFAR];
  double far_tar[NFAR]; /* NAN: too few impostor pairs */
  double best_acc;
  float best_t;
} verif;

#define NFPIR 2
static const double fpirs[NFPIR] = {1e-2, 1e-3};

typedef struct ident {
  int gallery, mated, nonmated;
  double rank1;
  float t[2][NFPIR]; /* [raw, normalised] */
  double fnir[2][NFPIR];
  double fpir[2][NFPIR]; /* reached */
  int normalised;        /* searches with enough persons for the cohort */
} ident;

typedef struct alg_result {
  char model[ARGUS_GALLERY_MODEL_ID_MAX];
  char card[ARGUS_FACE_CARD_NAME];
  int failed;
  double seconds;
  verif v;
  ident id;
} alg_result;

static float pair_score(const float *emb, const unsigned char *ok, int dim,
                        int i, int j) {
  if (!ok[i] || !ok[j])
    return -2.0f; /* a failure: rejected at every threshold */
  return argus_face_similarity(emb + (size_t)i * dim, emb + (size_t)j * dim,
                               dim);
}

static int verification(const char *cmd, const photo_set *s, const float *emb,
                        const unsigned char *ok, int dim,
                        const argus_face_card *card, long max_imp, verif *v) {
  memset(v, 0, sizeof *v);
  size_t ng = 0;
  {
    int *cnt = calloc((size_t)s->npersons, sizeof *cnt);
    if (!cnt)
      return -1;
    for (int i = 0; i < s->n; i++)
      cnt[s->owner[i]]++;
    for (int p = 0; p < s->npersons; p++)
      if (cnt[p] > 1)
        ng += (size_t)cnt[p] * (size_t)(cnt[p] - 1) / 2;
    free(cnt);
  }
  size_t all = (size_t)s->n * (size_t)(s->n - 1) / 2;
  size_t ni_all = all - ng;
  v->sampled = ni_all > (size_t)max_imp;
  size_t ni = v->sampled ? (size_t)max_imp : ni_all;
  float *gen = malloc((ng ? ng : 1) * sizeof *gen);
  float *imp = malloc((ni ? ni : 1) * sizeof *imp);
  if (!gen || !imp) {
    free(gen);
    free(imp);
    cli_errorf(cmd, "out of memory for %zu + %zu pair scores", ng, ni);
    return -1;
  }
  size_t g = 0, m = 0;
  /* Photos of a person are contiguous (listed person by person). */
  for (int i = 0; i < s->n; i++)
    for (int j = i + 1; j < s->n && s->owner[j] == s->owner[i]; j++)
      gen[g++] = pair_score(emb, ok, dim, i, j);
  if (!v->sampled) {
    for (int i = 0; i < s->n; i++)
      for (int j = i + 1; j < s->n; j++)
        if (s->owner[j] != s->owner[i])
          imp[m++] = pair_score(emb, ok, dim, i, j);
  } else {
    uint64_t st = 0x2545f4914f6cdd1dull;
    while (m < ni) {
      int i = (int)(rng_next(&st) % (uint64_t)s->n);
      int j = (int)(rng_next(&st) % (uint64_t)s->n);
      if (s->owner[i] != s->owner[j])
        imp[m++] = pair_score(emb, ok, dim, i, j);
    }
  }
  v->genuine = g;
  v->impostor = m;
  qsort(gen, g, sizeof *gen, cmp_float_desc);
  qsort(imp, m, sizeof *imp, cmp_float_desc);
  v->ncard = card ? card->nthresholds : 0;
  for (int k = 0; k < v->ncard; k++) {
    v->card_fmr[k] = card->thresholds[k].fmr;
    v->card_t[k] = card->thresholds[k].threshold;
    v->card_fmr_measured[k] = share_at_least(imp, m, v->card_t[k]);
    v->card_tar[k] = share_at_least(gen, g, v->card_t[k]);
  }
  for (int k = 0; k < NFAR; k++) {
    if ((double)m * fars[k] < 1.0) {
      v->far_t[k] = NAN;
      v->far_tar[k] = NAN;
      continue;
    }
    v->far_t[k] = threshold_at(imp, m, fars[k]);
    v->far_tar[k] = share_at_least(gen, g, v->far_t[k]);
  }
  /* Best (TAR + TRR) / 2: sweep the cut between sorted scores; accepting
   * everything >= t. */
  v->best_acc = NAN;
  if (g && m) {
    size_t a = 0, b = 0; /* genuine and impostor scores above the cut */
    double best = 0.5;   /* reject everything */
    float bt = INFINITY;
    while (a < g || b < m) {
      float t = (b >= m || (a < g && gen[a] >= imp[b])) ? gen[a] : imp[b];
      while (a < g && gen[a] >= t)
        a++;
      while (b < m && imp[b] >= t)
        b++;
      double acc = 0.5 * ((double)a / (double)g + 1.0 - (double)b / (double)m);
      if (acc > best) {
        best = acc;
        bt = t;
      }
    }
    v->best_acc = best;
    v->best_t = bt;
  }
  free(gen);
  free(imp);
  return 0;
}

/* The top-N normalised score of s (argus_gallery_norm): s lowered by
 * ARGUS_GALLERY_NORM_WEIGHT times the mean of c[1..N] (ranks 2..N+1 of one
 * search, best first); NAN when the search has fewer persons. The gallery
 * adds back the same amount for every search (its reference), which does
 * not change FNIR at a fixed FPIR. */
static double topn_z(const float *c, int n, float s) {
  const int N = ARGUS_GALLERY_NORM_COHORT;
  if (n < N + 1)
    return NAN;
  double mu = 0;
  for (int j = 1; j <= N; j++)
    mu += c[j];
  mu /= N;
  return s - ARGUS_GALLERY_NORM_WEIGHT * mu;
}

static int identification(const char *cmd, const photo_set *s, const float *emb,
                          const unsigned char *ok, int dim,
                          argus_threadpool *pool, ident *r) {
  memset(r, 0, sizeof *r);
  int *cnt = calloc((size_t)s->npersons, sizeof *cnt);
  int *first = malloc((size_t)s->npersons * sizeof *first);
  int64_t *ids = malloc((size_t)s->npersons * sizeof *ids);
  int64_t *wls = calloc((size_t)s->npersons, sizeof *wls);
  float *gv = malloc((size_t)s->npersons * (size_t)dim * sizeof *gv);
  /* per probe: best score, hit, and the normalised best */
  float *best = malloc((size_t)s->n * sizeof *best);
  double *bestz = malloc((size_t)s->n * sizeof *bestz);
  unsigned char *mated = calloc((size_t)s->n, 1),
                *hit = calloc((size_t)s->n, 1), *nonm = calloc((size_t)s->n, 1);
  argus_index *idx = NULL;
  argus_index_hit *hits = NULL;
  float *sc = NULL;
  int rc = -1;
  if (!cnt || !first || !ids || !wls || !gv || !best || !bestz || !mated ||
      !hit || !nonm) {
    cli_errorf(cmd, "out of memory");
    goto out;
  }
  for (int i = 0; i < s->n; i++)
    cnt[s->owner[i]]++;
  for (int p = 0; p < s->npersons; p++)
    first[p] = -1;
  for (int i = 0; i < s->n; i++)
    if (cnt[s->owner[i]] >= 2 && first[s->owner[i]] < 0 && ok[i])
      first[s->owner[i]] = i;
  size_t ng = 0;
  for (int p = 0; p < s->npersons; p++)
    if (first[p] >= 0) {
      ids[ng] = p;
      memcpy(gv + ng * (size_t)dim, emb + (size_t)first[p] * dim,
             (size_t)dim * sizeof *gv);
      ng++;
    }
  for (int i = 0; i < s->n; i++) {
    int p = s->owner[i];
    if (cnt[p] == 1)
      nonm[i] = 1;
    else if (first[p] >= 0 && first[p] != i)
      mated[i] = 1;
    r->mated += mated[i];
    r->nonmated += nonm[i];
  }
  r->gallery = (int)ng;
  if (ng == 0 || r->mated == 0) {
    r->rank1 = NAN;
    for (int a = 0; a < 2; a++)
      for (int k = 0; k < NFPIR; k++)
        r->t[a][k] = NAN, r->fnir[a][k] = NAN, r->fpir[a][k] = NAN;
    rc = 0;
    goto out;
  }
  argus_index_config ic;
  argus_index_config_init(&ic);
  ic.model_id = "eval";
  ic.dim = dim;
  ic.kind = ARGUS_INDEX_F32;
  if (argus_index_create(&ic, &idx, NULL) != ARGUS_OK ||
      argus_index_add_batch(idx, ng, ids, wls, gv, NULL) != ARGUS_OK) {
    cli_errorf(cmd, "cannot build the 1:N index");
    goto out;
  }
  const int N = ARGUS_GALLERY_NORM_COHORT;
  size_t k = ng < (size_t)N + 1 ? ng : (size_t)N + 1;
  enum { BATCH = 256 };
  hits = malloc((size_t)BATCH * k * sizeof *hits);
  sc = malloc(k * sizeof *sc);
  float *q = malloc((size_t)BATCH * (size_t)dim * sizeof *q);
  int *qi = malloc(BATCH * sizeof *qi);
  size_t nf[BATCH];
  if (!hits || !sc || !q || !qi) {
    free(q);
    free(qi);
    cli_errorf(cmd, "out of memory");
    goto out;
  }
  int nr1 = 0;
  for (int i0 = 0; i0 < s->n;) {
    int nb = 0;
    for (; i0 < s->n && nb < BATCH; i0++) {
      best[i0] = -INFINITY;
      bestz[i0] = -INFINITY;
      if (!(mated[i0] || nonm[i0]) || !ok[i0])
        continue;
      memcpy(q + (size_t)nb * dim, emb + (size_t)i0 * dim,
             (size_t)dim * sizeof *q);
      qi[nb++] = i0;
    }
    argus_index_search_opts so = {NULL, 0, pool};
    if (nb && argus_index_search(idx, q, (size_t)nb, k, &so, hits, nf, NULL) !=
                  ARGUS_OK) {
      free(q);
      free(qi);
      cli_errorf(cmd, "1:N search failed");
      goto out;
    }
    for (int b = 0; b < nb; b++) {
      int i = qi[b];
      const argus_index_hit *h = hits + (size_t)b * k;
      if (nf[b] == 0)
        continue;
      for (size_t j = 0; j < nf[b]; j++)
        sc[j] = h[j].score;
      best[i] = h[0].score;
      hit[i] = h[0].id == s->owner[i];
      double z = topn_z(sc, (int)nf[b], h[0].score);
      r->normalised += !isnan(z);
      /* As the gallery: too few persons for a cohort, the cosine. */
      bestz[i] = isnan(z) ? h[0].score : z;
      nr1 += mated[i] && hit[i];
    }
  }
  free(q);
  free(qi);
  r->rank1 = (double)nr1 / (double)r->mated;
  /* Thresholds on the non-mated searches, FNIR on the mated ones. */
  for (int a = 0; a < 2; a++) {
    float *nm = malloc(((size_t)r->nonmated + 1) * sizeof *nm);
    if (!nm) {
      cli_errorf(cmd, "out of memory");
      goto out;
    }
    size_t nn = 0;
    for (int i = 0; i < s->n; i++)
      if (nonm[i])
        nm[nn++] = a ? (float)bestz[i] : best[i];
    qsort(nm, nn, sizeof *nm, cmp_float_desc);
    for (int kk = 0; kk < NFPIR; kk++) {
      if (nn == 0) {
        r->t[a][kk] = r->fnir[a][kk] = r->fpir[a][kk] = NAN;
        continue;
      }
      float t = threshold_at(nm, nn, fpirs[kk]);
      size_t miss = 0;
      for (int i = 0; i < s->n; i++)
        if (mated[i]) {
          float sv = a ? (float)bestz[i] : best[i];
          miss += !(hit[i] && sv >= t);
        }
      r->t[a][kk] = t;
      r->fnir[a][kk] = (double)miss / (double)r->mated;
      r->fpir[a][kk] = share_at_least(nm, nn, t);
    }
    free(nm);
  }
  rc = 0;
out:
  argus_index_destroy(idx);
  free(hits);
  free(sc);
  free(cnt);
  free(first);
  free(ids);
  free(wls);
  free(gv);
  free(best);
  free(bestz);
  free(mated);
  free(hit);
  free(nonm);
  return rc;
}

/* ---- faces: output -------------------------------------------------------- */

static void json_num_or_null(argus_json *j, const char *key, double v,
                             int decimals) {
  if (isfinite(v))
    argus_json_num(j, key, v, decimals);
  else
    argus_json_null(j, key);
}

static void fmt_rate(char *buf, size_t n, double v) {
  if (isfinite(v))
    snprintf(buf, n, "%.4f", v);
  else
    snprintf(buf, n, "-");
}

typedef struct faces_doc {
  const photo_set *s;
  const alg_result *r;
  int nalg;
  int aligned;
} faces_doc;

static void faces_json(const void *rec, argus_json *j) {
  const faces_doc *d = rec;
  argus_json_obj_begin(j, NULL);
  argus_json_str(j, "task", "faces");
  argus_json_int(j, "persons", d->s->npersons);
  argus_json_int(j, "photos", d->s->n);
  argus_json_bool(j, "aligned", d->aligned);
  argus_json_arr_begin(j, "algorithms");
  for (int a = 0; a < d->nalg; a++) {
    const alg_result *r = &d->r[a];
    argus_json_obj_begin(j, NULL);
    argus_json_str(j, "card", r->card);
    argus_json_str(j, "model", r->model);
    argus_json_int(j, "failed", r->failed);
    argus_json_num(j, "seconds", r->seconds, 2);
    argus_json_obj_begin(j, "verification");
    argus_json_uint(j, "genuine_pairs", r->v.genuine);
    argus_json_uint(j, "impostor_pairs", r->v.impostor);
    argus_json_bool(j, "impostors_sampled", r->v.sampled);
    argus_json_arr_begin(j, "card_points");
    for (int k = 0; k < r->v.ncard; k++) {
      argus_json_obj_begin(j, NULL);
      argus_json_num(j, "fmr", r->v.card_fmr[k], 6);
      argus_json_num(j, "threshold", r->v.card_t[k], 4);
      json_num_or_null(j, "fmr_measured", r->v.card_fmr_measured[k], 6);
      json_num_or_null(j, "tar", r->v.card_tar[k], 4);
      argus_json_obj_end(j);
    }
    argus_json_arr_end(j);
    argus_json_arr_begin(j, "tar_at_far");
    for (int k = 0; k < NFAR; k++) {
      argus_json_obj_begin(j, NULL);
      argus_json_num(j, "far", fars[k], 6);
      json_num_or_null(j, "threshold", r->v.far_t[k], 4);
      json_num_or_null(j, "tar", r->v.far_tar[k], 4);
      argus_json_obj_end(j);
    }
    argus_json_arr_end(j);
    json_num_or_null(j, "best_accuracy", r->v.best_acc, 4);
    json_num_or_null(j, "best_threshold", r->v.best_t, 4);
    argus_json_obj_end(j);
    argus_json_obj_begin(j, "identification");
    argus_json_int(j, "gallery", r->id.gallery);
    argus_json_int(j, "mated", r->id.mated);
    argus_json_int(j, "nonmated", r->id.nonmated);
    argus_json_int(j, "normalised", r->id.normalised);
    json_num_or_null(j, "rank1", r->id.rank1, 4);
    for (int m = 0; m < 2; m++) {
      argus_json_arr_begin(j, m ? "topn" : "raw");
      for (int k = 0; k < NFPIR; k++) {
        argus_json_obj_begin(j, NULL);
        argus_json_num(j, "fpir_target", fpirs[k], 4);
        json_num_or_null(j, "threshold", r->id.t[m][k], 4);
        json_num_or_null(j, "fpir", r->id.fpir[m][k], 4);
        json_num_or_null(j, "fnir", r->id.fnir[m][k], 4);
        argus_json_obj_end(j);
      }
      argus_json_arr_end(j);
    }
    argus_json_obj_end(j);
    argus_json_obj_end(j);
  }
  argus_json_arr_end(j);
  argus_json_obj_end(j);
}

static void faces_text(const faces_doc *d) {
  const photo_set *s = d->s;
  printf("%d persons, %d photos%s\n", s->npersons, s->n,
         d->aligned ? " (aligned crops)" : "");
  printf("%-34s", "");
  for (int a = 0; a < d->nalg; a++)
    printf(" %22s", d->r[a].card);
  printf("\n");
#define ROW(label, expr)                                                       \
  do {                                                                         \
    printf("%-34s", label);                                                    \
    for (int a = 0; a < d->nalg; a++) {                                        \
      const alg_result *r = &d->r[a];                                          \
      char b_[32];                                                             \
      fmt_rate(b_, sizeof b_, (expr));                                         \
      printf(" %22s", b_);                                                     \
    }                                                                          \
    printf("\n");                                                              \
  } while (0)
  printf("%-34s", "failed photos");
  for (int a = 0; a < d->nalg; a++)
    printf(" %22d", d->r[a].failed);
  printf("\n");
  printf("1:1 verification (%zu genuine, %zu impostor pairs%s)\n",
         d->r[0].v.genuine, d->r[0].v.impostor,
         d->r[0].v.sampled ? ", sampled" : "");
  for (int k = 0; k < d->r[0].v.ncard; k++) {
    char l[64];
    snprintf(l, sizeof l, "  card FMR %g: FMR measured", d->r[0].v.card_fmr[k]);
    ROW(l, k < r->v.ncard ? r->v.card_fmr_measured[k] : NAN);
    snprintf(l, sizeof l, "  card FMR %g: TAR", d->r[0].v.card_fmr[k]);
    ROW(l, k < r->v.ncard ? r->v.card_tar[k] : NAN);
  }
  for (int k = 0; k < NFAR; k++) {
    char l[64];
    snprintf(l, sizeof l, "  TAR @ FAR %g", fars[k]);
    ROW(l, r->v.far_tar[k]);
  }
  ROW("  best accuracy", r->v.best_acc);
  printf("1:N open set (gallery %d, %d mated, %d non-mated probes; %d "
         "searches with a cohort for the top-N shift)\n",
         d->r[0].id.gallery, d->r[0].id.mated, d->r[0].id.nonmated,
         d->r[0].id.normalised);
  ROW("  rank-1", r->id.rank1);
  for (int k = 0; k < NFPIR; k++) {
    char l[64];
    snprintf(l, sizeof l, "  FNIR @ FPIR %g, cosine", fpirs[k]);
    ROW(l, r->id.fnir[0][k]);
    snprintf(l, sizeof l, "  FNIR @ FPIR %g, top-N shift", fpirs[k]);
    ROW(l, r->id.fnir[1][k]);
  }
#undef ROW
}

static int eval_faces(eval_ctx *x, const char *dir) {
  const char *cmd = x->c.cmd;
  photo_set s;
  alg_result res[2];
  memset(res, 0, sizeof res);
  float *emb = NULL;
  unsigned char *ok = NULL;
  int rc = photo_set_load(cmd, dir, &s);
  if (rc != CLI_OK)
    return rc;
  rc = CLI_FAIL;
  ok = malloc((size_t)s.n);
  if (!ok) {
    cli_errorf(cmd, "out of memory");
    goto out;
  }
  for (int a = 0; a < x->nalg; a++) {
    argus_face_engine *e = NULL;
    if (open_engine(x, a, 0, &e) != ARGUS_OK)
      goto out;
    const int dim = argus_face_engine_dim(e);
    const argus_face_card *card =
        argus_face_engine_card(e, ARGUS_FACE_MODEL_EMBEDDER);
    const argus_face_embedder *em = argus_face_engine_embedder(e);
    snprintf(res[a].model, sizeof res[a].model, "%s", em->model_id);
    snprintf(res[a].card, sizeof res[a].card, "%s", x->card[a]);
    free(emb);
    emb = malloc((size_t)s.n * (size_t)dim * sizeof *emb);
    if (!emb) {
      argus_face_engine_free(e);
      cli_errorf(cmd, "out of memory");
      goto out;
    }
    double t0 = now_s();
    char label[64];
    snprintf(label, sizeof label, "%s %s", a ? "B" : "A", x->card[a]);
    int erc = embed_all(x, e, &s, label, emb, ok, &res[a].failed);
    res[a].seconds = now_s() - t0;
    if (erc == CLI_OK &&
        (verification(cmd, &s, emb, ok, dim, card, x->max_impostors,
                      &res[a].v) != 0 ||
         identification(cmd, &s, emb, ok, dim, x->c.pool, &res[a].id) != 0))
      erc = CLI_FAIL;
    argus_face_engine_free(e);
    if (erc != CLI_OK)
      goto out;
  }
  faces_doc doc = {&s, res, x->nalg, x->aligned};
  if (x->c.json) {
    if (cli_json_print(stdout, cmd, faces_json, &doc) != 0)
      goto out;
    fputc('\n', stdout);
  } else {
    faces_text(&doc);
  }
  rc = CLI_OK;
out:
  free(emb);
  free(ok);
  photo_set_free(&s);
  return rc;
}

/* ---- detect: WIDER AP ------------------------------------------------------- */

typedef struct gt_image {
  char *name;
  double *box; /* n x 7: x1 y1 x2 y2 easy medium hard */
  int n;
} gt_image;

typedef struct gt_set {
  gt_image *img;
  int n;
} gt_set;

static void gt_free(gt_set *g) {
  for (int i = 0; i < g->n; i++) {
    free(g->img[i].name);
    free(g->img[i].box);
  }
  free(g->img);
  memset(g, 0, sizeof *g);
}

static char *trim(char *s) {
  while (*s && isspace((unsigned char)*s))
    s++;
  size_t n = strlen(s);
  while (n && isspace((unsigned char)s[n - 1]))
    s[--n] = '\0';
  return s;
}

/* Reads WIDER-format ground truth (as eval/widerface_ap.py parses it:
 * blank lines and lines starting with '#' skipped). */
static int gt_load(const char *cmd, const char *path, gt_set *g) {
  memset(g, 0, sizeof *g);
  FILE *f = fopen(path, "r");
  if (!f) {
    cli_errorf(cmd, "%s: cannot open the ground truth", path);
    return CLI_FAIL;
  }
  char line[4096];
  int cap = 0, lineno = 0;
  gt_image *cur = NULL;
  int want = -1, have = 0; /* faces expected/read for cur; -1: count next */
  int rc = CLI_OK;
  while (fgets(line, sizeof line, f)) {
    lineno++;
    char *t = trim(line);
    if (!*t || t[0] == '#')
      continue;
    if (!cur || (want >= 0 && have == want)) {
      if (g->n == cap) {
        cap = cap ? cap * 2 : 256;
        gt_image *ni = realloc(g->img, (size_t)cap * sizeof *ni);
        if (!ni) {
          rc = CLI_FAIL;
          break;
        }
        g->img = ni;
      }
      cur = &g->img[g->n++];
      memset(cur, 0, sizeof *cur);
      if (!(cur->name = strdup(t))) {
        rc = CLI_FAIL;
        break;
      }
      want = -1;
      have = 0;
      continue;
    }
    if (want < 0) {
      long n = 0;
      if (cli_parse_long(t, 0, 100000, "face count", &n)) {
        cli_errorf(cmd, "%s:%d: not a face count", path, lineno);
        rc = CLI_FAIL;
        break;
      }
      want = (int)n;
      cur->box = malloc((size_t)(n ? n : 1) * 7 * sizeof *cur->box);
      if (!cur->box) {
        rc = CLI_FAIL;
        break;
      }
      continue;
    }
    double v[7];
    char *p = t, *end = NULL;
    int k = 0;
    for (; k < 7; k++) {
      v[k] = strtod(p, &end);
      if (end == p)
        break;
      p = end;
    }
    if (k < 7) {
      cli_errorf(cmd, "%s:%d: expected 'x y w h easy medium hard'", path,
                 lineno);
      rc = CLI_FAIL;
      break;
    }
    double *b = cur->box + (size_t)have * 7;
    b[0] = v[0];
    b[1] = v[1];
    b[2] = v[0] + v[2];
    b[3] = v[1] + v[3];
    b[4] = v[4];
    b[5] = v[5];
    b[6] = v[6];
    cur->n = ++have;
  }
  fclose(f);
  if (rc == CLI_OK && cur && want < 0) {
    cli_errorf(cmd, "%s: the last image has no face count", path);
    rc = CLI_FAIL;
  }
  if (rc != CLI_OK)
    gt_free(g);
  return rc;
}

typedef struct preds {
  double *p; /* n x 5: x1 y1 x2 y2 score */
  int n;
} preds;

static double iou1(const double *a, const double *b) {
  double ix1 = fmax(a[0], b[0]), iy1 = fmax(a[1], b[1]);
  double ix2 = fmin(a[2], b[2]), iy2 = fmin(a[3], b[3]);
  double iw = fmax(ix2 - ix1 + 1, 0), ih = fmax(iy2 - iy1 + 1, 0);
  double inter = iw * ih;
  double aa = (a[2] - a[0] + 1) * (a[3] - a[1] + 1);
  double ab = (b[2] - b[0] + 1) * (b[3] - b[1] + 1);
  return inter / (aa + ab - inter);
}

static const double *sort_key;
static int cmp_pred_desc(const void *x, const void *y) {
  int a = *(const int *)x, b = *(const int *)y;
  double sa = sort_key[a * 5 + 4], sb = sort_key[b * 5 + 4];
  if (sa != sb)
    return sa > sb ? -1 : 1;
  return a - b; /* stable, as numpy's argsort(kind="stable") */
}

#define NTHR 1000

/* Adds one image's (proposals counted, faces recalled) per threshold. */
static int image_pr(const preds *pd, const gt_image *g, int col, double lo,
                    double span, double (*pr)[2]) {
  int n = pd->n;
  if (n == 0)
    return 0;
  int *order = malloc((size_t)n * sizeof *order);
  double *sc = malloc((size_t)n * sizeof *sc);
  double *recalled = malloc((size_t)n * sizeof *recalled);
  double *counted = malloc((size_t)n * sizeof *counted);
  unsigned char *matched = calloc((size_t)(g->n ? g->n : 1), 1);
  if (!order || !sc || !recalled || !counted || !matched) {
    free(order);
    free(sc);
    free(recalled);
    free(counted);
    free(matched);
    return -1;
  }
  for (int i = 0; i < n; i++)
    order[i] = i;
  sort_key = pd->p;
  qsort(order, (size_t)n, sizeof *order, cmp_pred_desc);
  int hits = 0;
  for (int h = 0; h < n; h++) {
    const double *b = pd->p + (size_t)order[h] * 5;
    sc[h] = (b[4] - lo) / span;
    counted[h] = 1;
    if (g->n) {
      int bj = 0;
      double bi = -1;
      for (int j = 0; j < g->n; j++) {
        double v = iou1(b, g->box + (size_t)j * 7);
        if (v > bi) {
          bi = v;
          bj = j;
        }
      }
      if (bi >= 0.5) {
        if (!(g->box[(size_t)bj * 7 + 4 + col] > 0))
          counted[h] = 0;
        else if (!matched[bj]) {
          matched[bj] = 1;
          hits++;
        }
      }
    }
    recalled[h] = hits;
  }
  /* Prefix sums of counted: proposals at or above each rank. */
  for (int h = 1; h < n; h++)
    counted[h] += counted[h - 1];
  for (int t = 0; t < NTHR; t++) {
    double th = 1.0 - (double)(t + 1) / (double)NTHR;
    /* last index with score >= th (scores descending) */
    int r = -1, lo2 = 0, hi2 = n;
    while (lo2 < hi2) {
      int mid = (lo2 + hi2) / 2;
      if (sc[mid] >= th)
        lo2 = mid + 1;
      else
        hi2 = mid;
    }
    r = lo2 - 1;
    if (r < 0)
      continue;
    pr[t][0] += counted[r];
    pr[t][1] += recalled[r];
  }
  free(order);
  free(sc);
  free(recalled);
  free(counted);
  free(matched);
  return 0;
}

static double voc_ap(const double *rec, const double *prec, int n) {
  /* mrec = [0, rec, 1], mpre = [0, prec, 0] */
  double *mrec = malloc((size_t)(n + 2) * sizeof *mrec);
  double *mpre = malloc((size_t)(n + 2) * sizeof *mpre);
  if (!mrec || !mpre) {
    free(mrec);
    free(mpre);
    return NAN;
  }
  mrec[0] = 0;
  mpre[0] = 0;
  for (int i = 0; i < n; i++) {
    mrec[i + 1] = rec[i];
    mpre[i + 1] = prec[i];
  }
  mrec[n + 1] = 1;
  mpre[n + 1] = 0;
  for (int i = n + 1; i > 0; i--)
    if (mpre[i] > mpre[i - 1])
      mpre[i - 1] = mpre[i];
  double ap = 0;
  for (int i = 0; i < n + 1; i++)
    if (mrec[i + 1] != mrec[i])
      ap += (mrec[i + 1] - mrec[i]) * mpre[i + 1];
  free(mrec);
  free(mpre);
  return ap;
}

/* AP easy/medium/hard of predictions pd[i] for images g->img[i]. */
static int wider_ap(const gt_set *g, const preds *pd, double ap[3]) {
  double lo = INFINITY, hi = -INFINITY;
  for (int i = 0; i < g->n; i++)
    for (int k = 0; k < pd[i].n; k++) {
      double s = pd[i].p[(size_t)k * 5 + 4];
      lo = fmin(lo, s);
      hi = fmax(hi, s);
    }
  if (!(hi >= lo)) {
    lo = 0;
    hi = 1;
  }
  double span = hi > lo ? hi - lo : 1.0;
  double(*pr)[2] = malloc(NTHR * sizeof *pr);
  double *rec = malloc(NTHR * sizeof *rec), *prec = malloc(NTHR * sizeof *prec);
  int rc = -1;
  if (!pr || !rec || !prec)
    goto out;
  for (int col = 0; col < 3; col++) {
    memset(pr, 0, NTHR * sizeof *pr);
    long total = 0;
    for (int i = 0; i < g->n; i++) {
      for (int j = 0; j < g->img[i].n; j++)
        total += g->img[i].box[(size_t)j * 7 + 4 + col] > 0;
      if (image_pr(&pd[i], &g->img[i], col, lo, span, pr) != 0)
        goto out;
    }
    for (int t = 0; t < NTHR; t++) {
      prec[t] = pr[t][0] > 0 ? pr[t][1] / pr[t][0] : 0;
      rec[t] = pr[t][1] / (double)(total > 0 ? total : 1);
    }
    ap[col] = voc_ap(rec, prec, NTHR);
  }
  rc = 0;
out:
  free(pr);
  free(rec);
  free(prec);
  return rc;
}

typedef struct det_result {
  char card[ARGUS_FACE_CARD_NAME];
  double ap[3];
  double seconds;
  long detections;
  int failed;
} det_result;

typedef struct det_doc {
  int images;
  long faces;
  const det_result *r;
  int nalg;
} det_doc;

static void det_json(const void *rec, argus_json *j) {
  const det_doc *d = rec;
  argus_json_obj_begin(j, NULL);
  argus_json_str(j, "task", "detect");
  argus_json_int(j, "images", d->images);
  argus_json_int(j, "faces", d->faces);
  argus_json_arr_begin(j, "algorithms");
  for (int a = 0; a < d->nalg; a++) {
    argus_json_obj_begin(j, NULL);
    argus_json_str(j, "card", d->r[a].card);
    argus_json_int(j, "failed", d->r[a].failed);
    argus_json_int(j, "detections", d->r[a].detections);
    argus_json_num(j, "seconds", d->r[a].seconds, 2);
    argus_json_obj_begin(j, "ap");
    json_num_or_null(j, "easy", d->r[a].ap[0], 4);
    json_num_or_null(j, "medium", d->r[a].ap[1], 4);
    json_num_or_null(j, "hard", d->r[a].ap[2], 4);
    argus_json_obj_end(j);
    argus_json_obj_end(j);
  }
  argus_json_arr_end(j);
  argus_json_obj_end(j);
}

static int eval_detect(eval_ctx *x, const char *dir) {
  const char *cmd = x->c.cmd;
  char gtpath[4096];
  snprintf(gtpath, sizeof gtpath, "%s/gt.txt", dir);
  gt_set g;
  if (gt_load(cmd, x->gt ? x->gt : gtpath, &g) != CLI_OK)
    return CLI_FAIL;
  if (x->limit > 0 && x->limit < g.n) {
    for (int i = x->limit; i < g.n; i++) {
      free(g.img[i].name);
      free(g.img[i].box);
    }
    g.n = x->limit;
  }
  det_result res[2];
  memset(res, 0, sizeof res);
  preds *pd = calloc((size_t)(g.n ? g.n : 1), sizeof *pd);
  argus_face *faces = malloc(FACE_CLI_MAX_FACES * sizeof *faces);
  int rc = CLI_FAIL;
  long nfaces = 0;
  for (int i = 0; i < g.n; i++)
    nfaces += g.img[i].n;
  if (!pd || !faces) {
    cli_errorf(cmd, "out of memory");
    goto out;
  }
  argus_face_detect_opts det = x->c.det;
  if (!x->min_score_set)
    det.min_score = 0.05f;
  if (!x->max_faces_set)
    det.max_faces = 1000;
  for (int a = 0; a < x->nalg; a++) {
    argus_face_engine *e = NULL;
    if (open_engine(x, a, 1, &e) != ARGUS_OK)
      goto out;
    snprintf(res[a].card, sizeof res[a].card, "%s", x->card[a]);
    char label[64];
    snprintf(label, sizeof label, "%s %s", a ? "B" : "A", x->card[a]);
    cli_progress pr;
    cli_progress_init(&pr, label, "images");
    double t0 = now_s();
    for (int i = 0; i < g.n; i++) {
      free(pd[i].p);
      pd[i].p = NULL;
      pd[i].n = 0;
      char path[8192];
      snprintf(path, sizeof path, "%s/images/%s", dir, g.img[i].name);
      argus_image img;
      argus_image_error ie;
      memset(&ie, 0, sizeof ie);
      if (argus_image_read_file(path, ARGUS_PIX_RGB8, &img, &ie) != ARGUS_OK) {
        cli_progress_clear(&pr);
        cli_errorf(cmd, "%s: %s", path, ie.msg[0] ? ie.msg : "unreadable");
        res[a].failed++;
        continue;
      }
      int n = 0;
      argus_face_error fe = {{0}};
      argus_err erc = argus_face_engine_analyze(
          e, &img, &det, 0, faces, FACE_CLI_MAX_FACES, &n, NULL, &fe);
      argus_image_free(&img);
      if (erc) {
        cli_progress_clear(&pr);
        cli_errorf(cmd, "%s: %s", path,
                   fe.msg[0] ? fe.msg : argus_strerror(erc));
        res[a].failed++;
        continue;
      }
      pd[i].p = malloc((size_t)(n ? n : 1) * 5 * sizeof *pd[i].p);
      if (!pd[i].p) {
        argus_face_engine_free(e);
        cli_errorf(cmd, "out of memory");
        goto out;
      }
      for (int k = 0; k < n; k++) {
        double *b = pd[i].p + (size_t)k * 5;
        for (int c = 0; c < 4; c++)
          b[c] = faces[k].box[c];
        b[4] = faces[k].score;
      }
      pd[i].n = n;
      res[a].detections += n;
      cli_progress_update(&pr, i + 1, g.n, NULL, 0);
    }
    res[a].seconds = now_s() - t0;
    cli_progress_end(&pr);
    argus_face_engine_free(e);
    if (wider_ap(&g, pd, res[a].ap) != 0) {
      cli_errorf(cmd, "out of memory");
      goto out;
    }
  }
  det_doc doc = {g.n, nfaces, res, x->nalg};
  if (x->c.json) {
    if (cli_json_print(stdout, cmd, det_json, &doc) != 0)
      goto out;
    fputc('\n', stdout);
  } else {
    printf("%d images, %ld faces (WIDER protocol, IoU 0.5)\n", g.n, nfaces);
    printf("%-22s %8s %8s %8s %11s %9s\n", "detector", "easy", "medium", "hard",
           "detections", "seconds");
    for (int a = 0; a < x->nalg; a++)
      printf("%-22s %8.4f %8.4f %8.4f %11ld %9.1f\n", res[a].card, res[a].ap[0],
             res[a].ap[1], res[a].ap[2], res[a].detections, res[a].seconds);
  }
  rc = CLI_OK;
  for (int a = 0; a < x->nalg; a++)
    if (res[a].failed)
      rc = CLI_FAIL;
out:
  if (pd)
    for (int i = 0; i < g.n; i++)
      free(pd[i].p);
  free(pd);
  free(faces);
  gt_free(&g);
  return rc;
}

/* ---- main ------------------------------------------------------------------ */

int cli_eval_main(int argc, char **argv) {
  static const cli_opt opts[] = {FACE_CLI_OPTS,
                                 {"a", 1, OPT_A},
                                 {"b", 1, OPT_B},
                                 {"aligned", 0, OPT_ALIGNED},
                                 {"max-impostors", 1, OPT_MAX_IMPOSTORS},
                                 {"gt", 1, OPT_GT},
                                 {"limit", 1, OPT_LIMIT},
                                 {NULL, 0, 0}};
  const char *cmd = "eval";
  eval_ctx x;
  memset(&x, 0, sizeof x);
  face_cli_init(&x.c, cmd);
  x.max_impostors = EVAL_DEFAULT_IMPOSTORS;
  const char *task = NULL, *dir = NULL;
  cli_parser p;
  cli_parser_init(&p, argc, argv, cmd, opts);
  for (;;) {
    int id = cli_parse_next(&p);
    if (id == CLI_OPT_END)
      break;
    switch (id) {
    case CLI_OPT_HELP:
      cli_eval_usage(stdout);
      return CLI_OK;
    case CLI_OPT_ERROR:
      return cli_bad_value(cmd);
    case CLI_OPT_POSITIONAL:
      if (!task)
        task = p.arg;
      else if (!dir)
        dir = p.arg;
      else {
        cli_errorf(cmd, "unexpected argument '%s'", p.arg);
        return cli_bad_value(cmd);
      }
      continue;
    case OPT_A:
      x.card[0] = p.arg;
      continue;
    case OPT_B:
      x.card[1] = p.arg;
      continue;
    case OPT_ALIGNED:
      x.aligned = 1;
      continue;
    case OPT_GT:
      x.gt = p.arg;
      continue;
    case OPT_MAX_IMPOSTORS:
      if (cli_parse_long(p.arg, 1, 1000000000L, "--max-impostors",
                         &x.max_impostors))
        return cli_bad_value(cmd);
      continue;
    case OPT_LIMIT:
      if (cli_parse_int(p.arg, 1, 100000000, "--limit", &x.limit))
        return cli_bad_value(cmd);
      continue;
    case FACE_OPT_MIN_SCORE:
      x.min_score_set = 1;
      break;
    case FACE_OPT_MAX_FACES:
      x.max_faces_set = 1;
      break;
    default:
      break;
    }
    if (face_cli_option(&x.c, id, p.arg) < 0)
      return cli_bad_value(cmd);
  }
  int faces;
  if (task && strcmp(task, "faces") == 0)
    faces = 1;
  else if (task && strcmp(task, "detect") == 0)
    faces = 0;
  else {
    if (task)
      cli_errorf(cmd, "unknown task '%s' (faces or detect)", task);
    else
      cli_errorf(cmd, "missing task (faces or detect)");
    return cli_bad_value(cmd);
  }
  if (!dir) {
    cli_errorf(cmd, "missing DIR");
    return cli_bad_value(cmd);
  }
  if (!x.card[0])
    x.card[0] = faces ? "fr_feature" : ARGUS_FACE_DEFAULT_DETECTOR;
  x.nalg = x.card[1] ? 2 : 1;
  argus_err e = argus_threadpool_create(x.c.threads, &x.c.pool);
  if (e) {
    cli_errorf(cmd, "cannot start %d threads: %s", x.c.threads,
               argus_strerror(e));
    return CLI_FAIL;
  }
  int rc = faces ? eval_faces(&x, dir) : eval_detect(&x, dir);
  argus_threadpool_destroy(x.c.pool);
  return rc;
}
