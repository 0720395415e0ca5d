/* The walk-by instrument of issue 10 end to end: eval/walkby.py makes a small
 * scene (6 LFW people crossing a background, 3 of them enrolled from another
 * photo, about 20 s at 10 fps) and eval/walkby_eval.py --json measures
 * `argus watch` (as fast as it decodes and --realtime) against per-frame
 * matching with `argus identify`.
 *
 * Checked: the ground truth agrees with the video (frame size, duration,
 * frame count; every appearance inside the duration, on screen 2-5 s, with
 * a box track inside the frame), the evaluation runs, its enrolled count is
 * the scene's, argus raises no false alert, and every figure is present and
 * consistent (0 <= recall <= 1, alerts >= alerted appearances, the baseline
 * computed). And the goal of issue 10: `argus watch`, as fast as it decodes
 * and in real time, alerts every appearance the naive per-frame matching
 * finds, within 2 s of its entry, with at most 2 alerts per appearance; the
 * fast run analyses every sampled frame (none dropped: a file is
 * back-pressured).
 *
 * Runs python3, ffmpeg and ffprobe from PATH and the binary CTest names in
 * ARGUS_CLI; skips (77) without them, the models or ../shared/data. */
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "argus/core.h"
#include "check.h"

#define PEOPLE 6
#define ENROLLED 3
#define MIN_ON 2.0
#define MAX_ON 5.0

static char g_tmp[256];

/* 1 when an executable `name` is on PATH. */
static int have_cmd(const char *name) {
  const char *path = getenv("PATH");
  if (!path)
    return 0;
  while (*path) {
    const char *end = strchr(path, ':');
    size_t n = end ? (size_t)(end - path) : strlen(path);
    char full[4096];
    if (n > 0 && n + strlen(name) + 2 < sizeof full) {
      memcpy(full, path, n);
      full[n] = '/';
      memcpy(full + n + 1, name, strlen(name) + 1);
      if (access(full, X_OK) == 0)
        return 1;
    }
    if (!end)
      break;
    path = end + 1;
  }
  return 0;
}

/* Reads a whole file (NUL-terminated); NULL when it cannot. Caller frees. */
static char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  size_t cap = 1 << 16, n = 0;
  char *buf = malloc(cap);
  while (buf) {
    if (n + 1 >= cap) {
      char *grown = realloc(buf, cap * 2);
      if (!grown) {
        free(buf);
        buf = NULL;
        break;
      }
      buf = grown;
      cap *= 2;
    }
    size_t got = fread(buf + n, 1, cap - n - 1, f);
    if (got == 0)
      break;
    n += got;
  }
  fclose(f);
  if (buf) {
    buf[n] = '\0';
    if (len)
      *len = n;
  }
  return buf;
}

/* Runs argv (searched on PATH) with stdout to `out` and stderr to `err`
 * (NULL: inherited, so that the progress shows in the test's log).
 * Returns the exit code, or 128 + signal, or -1. */
static int run(const char *const *argv, const char *out, const char *err) {
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid == 0) {
    int fo = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fo < 0 || dup2(fo, 1) < 0)
      _exit(126);
    if (err) {
      int fe = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (fe < 0 || dup2(fe, 2) < 0)
        _exit(126);
    }
    execvp(argv[0], (char *const *)argv);
    _exit(127);
  }
  int st = 0;
  if (pid < 0 || waitpid(pid, &st, 0) != pid)
    return -1;
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static cJSON *parse_file(const char *path) {
  size_t n = 0;
  char *text = slurp(path, &n);
  if (!text)
    return NULL;
  argus_error_detail why;
  memset(&why, 0, sizeof why);
  cJSON *doc = NULL;
  if (argus_json_validate(text, n, 64, &why) == ARGUS_E_OK)
    doc = cJSON_Parse(text);
  else
    fprintf(stderr, "%s: not valid JSON: %s\n", path, why.msg);
  free(text);
  return doc;
}

/* The number at doc.key, or NAN when absent or not a number. */
static double num(const cJSON *doc, const char *key) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(doc, key);
  return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

/* ffprobe's key=value lines for the first video stream and the format. */
static void probe(const char *video, double *duration, int *w, int *h,
                  long *frames) {
  char out[300];
  snprintf(out, sizeof out, "%s/probe.txt", g_tmp);
  const char *argv[] = {
      "ffprobe",       "-v",
      "error",         "-select_streams",
      "v:0",           "-count_frames",
      "-show_entries", "stream=width,height,nb_read_frames:format=duration",
      "-of",           "default=noprint_wrappers=1",
      video,           NULL};
  *duration = NAN;
  *w = *h = 0;
  *frames = 0;
  CHECK_INT_EQ(run(argv, out, NULL), 0);
  char *text = slurp(out, NULL);
  if (!text)
    return;
  for (char *line = text; line && *line;) {
    char *next = strchr(line, '\n');
    if (next)
      *next++ = '\0';
    char *eq = strchr(line, '=');
    if (eq) {
      *eq = '\0';
      char *end = NULL;
      double v = strtod(eq + 1, &end);
      if (end != eq + 1) {
        if (strcmp(line, "width") == 0)
          *w = (int)v;
        else if (strcmp(line, "height") == 0)
          *h = (int)v;
        else if (strcmp(line, "nb_read_frames") == 0)
          *frames = (long)v;
        else if (strcmp(line, "duration") == 0)
          *duration = v;
      }
    }
    line = next;
  }
  free(text);
}

/* The ground truth against the video. Returns the scene's enrolled count. */
static int check_scene(const char *dir) {
  char path[400], video[400];
  snprintf(path, sizeof path, "%s/scene.json", dir);
  snprintf(video, sizeof video, "%s/scene.mp4", dir);
  cJSON *t = parse_file(path);
  CHECK(t != NULL);
  if (!t)
    return -1;
  double duration = NAN;
  int w = 0, h = 0;
  long frames = 0;
  probe(video, &duration, &w, &h, &frames);
  double fps = num(t, "fps"), dur = num(t, "duration");
  CHECK_INT_EQ(w, (long long)num(t, "width"));
  CHECK_INT_EQ(h, (long long)num(t, "height"));
  CHECK_INT_EQ(w, 1280);
  CHECK_INT_EQ(h, 720);
  CHECK_NEAR(duration, dur, 0.15, 0);
  CHECK_NEAR((double)frames, dur * fps, 2, 0);
  const cJSON *apps = cJSON_GetObjectItemCaseSensitive(t, "appearances");
  CHECK_INT_EQ(cJSON_GetArraySize(apps), PEOPLE);
  int enrolled = 0;
  const cJSON *a;
  cJSON_ArrayForEach(a, apps) {
    double enter = num(a, "enter"), leave = num(a, "exit");
    CHECK(enter >= 0 && leave <= dur && enter < leave);
    CHECK(leave - enter >= MIN_ON - 0.01 && leave - enter <= MAX_ON + 0.01);
    double fe = num(a, "full_enter"), fx = num(a, "full_exit");
    CHECK(fe >= enter && fx <= leave && fe <= fx);
    const cJSON *en = cJSON_GetObjectItemCaseSensitive(a, "enrolled");
    CHECK(cJSON_IsBool(en));
    const cJSON *photo = cJSON_GetObjectItemCaseSensitive(a, "photo");
    CHECK(cJSON_IsString(photo) && access(photo->valuestring, R_OK) == 0);
    if (cJSON_IsTrue(en)) {
      enrolled++;
      const cJSON *ep = cJSON_GetObjectItemCaseSensitive(a, "enrol_photo");
      const cJSON *es = cJSON_GetObjectItemCaseSensitive(a, "enrol_source");
      CHECK(cJSON_IsString(ep) && access(ep->valuestring, R_OK) == 0);
      /* enrolled from ANOTHER photo of the same person */
      CHECK(cJSON_IsString(es) && cJSON_IsString(photo) &&
            strcmp(es->valuestring, photo->valuestring) != 0);
    }
    const cJSON *track = cJSON_GetObjectItemCaseSensitive(a, "track");
    CHECK(cJSON_GetArraySize(track) > 10);
    const cJSON *row;
    cJSON_ArrayForEach(row, track) {
      double r[5];
      for (int k = 0; k < 5; k++) {
        const cJSON *x = cJSON_GetArrayItem(row, k);
        r[k] = cJSON_IsNumber(x) ? x->valuedouble : NAN;
      }
      CHECK(r[0] >= enter - 1e-6 && r[0] <= leave + 1e-6);
      CHECK(r[1] >= 0 && r[1] < r[3] && r[3] <= w);
      CHECK(r[2] >= 0 && r[2] < r[4] && r[4] <= h);
    }
  }
  CHECK_INT_EQ(enrolled, ENROLLED);
  cJSON_Delete(t);
  return enrolled;
}

/* One method's figures: present and consistent. Returns its recall. */
static double check_method(const cJSON *methods, const char *name, int accepted,
                           int false_alerts_allowed) {
  const cJSON *m = cJSON_GetObjectItemCaseSensitive(methods, name);
  CHECK(cJSON_IsObject(m));
  const cJSON *s = cJSON_GetObjectItemCaseSensitive(m, "score");
  CHECK(cJSON_IsObject(s));
  if (!s)
    return NAN;
  double n = num(s, "appearances"), alerted = num(s, "alerted"),
         recall = num(s, "recall"), a2 = num(s, "alerted_2s"),
         r2 = num(s, "recall_2s"), fa = num(s, "false_alerts"),
         alerts = num(s, "alerts"), mean = num(s, "alerts_per_appearance_mean"),
         max = num(s, "alerts_per_appearance_max");
  CHECK_INT_EQ(n, accepted);
  CHECK(alerted >= 0 && alerted <= n);
  CHECK(recall >= 0 && recall <= 1);
  CHECK_NEAR(recall, n > 0 ? alerted / n : 0, 1e-3, 0);
  CHECK(a2 >= 0 && a2 <= alerted);
  CHECK(r2 >= 0 && r2 <= recall);
  CHECK(fa >= 0);
  if (!false_alerts_allowed)
    CHECK_INT_EQ(fa, 0);
  CHECK(alerts >= alerted + fa);
  CHECK(max >= (alerted > 0 ? 1 : 0) && mean <= max);
  printf("  %-24s recall %.0f/%.0f (%.2f), within 2 s %.0f, false alerts %.0f, "
         "alerts %.0f, per alerted appearance mean %.2f max %.0f\n",
         name, alerted, n, recall, a2, fa, alerts, mean, max);
  return recall;
}

static void check_eval(const char *src, const char *cli, const char *models,
                       const char *scene) {
  char evalpy[4096], out[300], err[300];
  snprintf(evalpy, sizeof evalpy, "%s/eval/walkby_eval.py", src);
  snprintf(out, sizeof out, "%s/eval.json", g_tmp);
  snprintf(err, sizeof err, "%s/eval.err", g_tmp);
  const char *argv[] = {"python3", evalpy,      "--scene", scene,
                        "--json",  "--argus",   cli,       "--models",
                        models,    "--workdir", g_tmp,     NULL};
  int rc = run(argv, out, err);
  CHECK_INT_EQ(rc, 0);
  char *log = slurp(err, NULL);
  if (rc != 0 && log)
    fprintf(stderr, "walkby_eval.py:\n%s\n", log);
  free(log);
  cJSON *s = parse_file(out);
  CHECK(s != NULL);
  if (!s)
    return;
  CHECK_INT_EQ(num(s, "enrolled_planned"), ENROLLED);
  double accepted = num(s, "enrolled_accepted");
  CHECK(accepted >= 1 && accepted <= ENROLLED);
  CHECK_INT_EQ(num(s, "appearances"), PEOPLE);
  const cJSON *en;
  int refused = 0;
  cJSON_ArrayForEach(en, cJSON_GetObjectItemCaseSensitive(s, "enrolment")) {
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(en, "reason");
    if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(en, "accepted"))) {
      refused++;
      CHECK(cJSON_IsString(r)); /* a refusal says why */
      printf("  enrolment refused: %s\n",
             cJSON_IsString(r) ? r->valuestring : "?");
    }
  }
  CHECK_INT_EQ(refused + (int)accepted, ENROLLED);
  const cJSON *methods = cJSON_GetObjectItemCaseSensitive(s, "methods");
  CHECK_INT_EQ(cJSON_GetArraySize(methods), 3);
  printf("walk-by scene, %d people, %.0f of %d enrolled accepted:\n", PEOPLE,
         accepted, ENROLLED);
  /* the naive per-frame matching: computed on every sampled frame */
  double base = check_method(methods, "per-frame baseline", (int)accepted, 1);
  const cJSON *b =
      cJSON_GetObjectItemCaseSensitive(methods, "per-frame baseline");
  double dur = num(cJSON_GetObjectItemCaseSensitive(s, "scene"), "duration");
  CHECK_NEAR(num(b, "frames"), dur * num(s, "analysed_fps"), 2, 0);
  double base2 = num(cJSON_GetObjectItemCaseSensitive(b, "score"), "recall_2s");
  static const char *const runs[] = {"argus watch", "argus watch --realtime"};
  for (int i = 0; i < 2; i++) {
    double recall = check_method(methods, runs[i], (int)accepted, 0);
    const cJSON *sc = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(methods, runs[i]), "score");
    CHECK(recall >= base - 1e-9);
    CHECK(num(sc, "recall_2s") >= base2 - 1e-9);
    CHECK(num(sc, "alerts_per_appearance_max") <= 2);
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(methods, runs[i]);
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(m, "counters");
    double frames = num(c, "frames_analysed"), tracks = num(c, "tracks"),
           searched = num(c, "faces_searched"), matches = num(c, "matches"),
           alerts = num(c, "alerts");
    /* the run's own counters were read from its final status lines */
    CHECK(frames > 0 && tracks >= 0 && searched >= 0 && matches >= 0);
    CHECK_INT_EQ(alerts,
                 num(cJSON_GetObjectItemCaseSensitive(m, "score"), "alerts"));
    printf("  %-24s frames analysed %.0f, dropped %.0f, tracks %.0f, faces "
           "searched %.0f, matches %.0f, alerts %.0f\n",
           "", frames, num(c, "frames_dropped"), tracks, searched, matches,
           alerts);
    if (i == 0) { /* the file is back-pressured: every frame analysed */
      CHECK_INT_EQ(num(c, "frames_dropped"), 0);
      CHECK_NEAR(frames, num(b, "frames"), 1, 0);
    }
  }
  cJSON_Delete(s);
}

int main(void) {
  const char *cli = getenv("ARGUS_CLI");
  const char *src = getenv("ARGUS_SOURCE_DIR");
  const char *shared = getenv("ARGUS_SHARED_DATA");
  const char *models = getenv("ARGUS_MODELS_DIR");
  if (!cli || !*cli || !src || !*src)
    SKIP("ARGUS_CLI or ARGUS_SOURCE_DIR is not set (CTest sets them)");
  if (!shared || !*shared)
    SKIP("ARGUS_SHARED_DATA is not set (../shared/data)");
  char probe_path[4096];
  snprintf(probe_path, sizeof probe_path, "%s/lfw-112/images", shared);
  if (access(probe_path, R_OK) != 0)
    SKIP("no %s (test data absent)", probe_path);
  if (!models || !*models)
    SKIP("ARGUS_MODELS_DIR is not set");
  snprintf(probe_path, sizeof probe_path, "%s/fr_feature.onnx", models);
  if (access(probe_path, R_OK) != 0)
    SKIP("no face models in %s (scripts/fetch-models.sh)", models);
  if (!have_cmd("python3") || !have_cmd("ffmpeg") || !have_cmd("ffprobe"))
    SKIP("python3, ffmpeg or ffprobe is not on PATH");

  snprintf(g_tmp, sizeof g_tmp, "/tmp/argus-walkby-test-XXXXXX");
  if (!mkdtemp(g_tmp)) {
    perror("mkdtemp");
    return 1;
  }
  char gen[4096], scene[300], out[300], data[4096];
  snprintf(gen, sizeof gen, "%s/eval/walkby.py", src);
  snprintf(scene, sizeof scene, "%s/scene", g_tmp);
  snprintf(out, sizeof out, "%s/gen.out", g_tmp);
  snprintf(data, sizeof data, "%s", shared);
  const char *argv[] = {"python3",  gen, "--out",      scene, "--seed",   "3",
                        "--people", "6", "--enrolled", "3",   "--min-on", "2",
                        "--max-on", "5", "--data",     data,  NULL};
  int rc = run(argv, out, NULL);
  CHECK_INT_EQ(rc, 0);
  if (rc == 0 && check_scene(scene) == ENROLLED)
    check_eval(src, cli, models, scene);

  char cmd[400];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_tmp);
  if (system(cmd) != 0)
    fprintf(stderr, "could not remove %s\n", g_tmp);
  return check_report("test_walkby");
}
