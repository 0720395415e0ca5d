/* `argus video probe URL`: opens one camera source the way `argus watch`
 * will, prints what the stream is and, every second, the camera's counters,
 * consuming (and at once releasing) the frames it delivers. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "argus/video.h"
#include "cli/cli.h"
#include "cli/video_cli.h"

static int probe_main(int argc, char **argv);
static void probe_usage(FILE *f);

static const cli_command video_commands[] = {
    {"probe", "open a camera URL, print its stream and per-second counters",
     probe_main, probe_usage},
    {NULL, NULL, NULL, NULL},
};

void cli_video_usage(FILE *f) {
  // clang-format off
  fputs("Usage: argus video SUBCOMMAND [ARGS...]\n"
        "\n"
        "Camera sources: files, rtsp://, http(s):// and HLS, /dev/videoN.\n"
        "\n"
        "Subcommands:\n",
        f);
  cli_print_commands(f, video_commands);
  fputs("\n"
        "Run 'argus video SUBCOMMAND --help' for its options.\n",
        f);
  // clang-format on
}

int cli_video_main(int argc, char **argv) {
  if (argc < 2) {
    cli_errorf("video", "missing subcommand");
    cli_video_usage(stderr);
    return CLI_USAGE;
  }
  if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
    cli_video_usage(stdout);
    return CLI_OK;
  }
  for (const cli_command *c = video_commands; c->name; c++)
    if (strcmp(c->name, argv[1]) == 0)
      return c->run(argc - 1, argv + 1);
  cli_errorf("video", "unknown subcommand '%s'", argv[1]);
  cli_video_usage(stderr);
  return CLI_USAGE;
}

static void probe_usage(FILE *f) {
  // clang-format off
  fputs("Usage: argus video probe URL [OPTIONS]\n"
        "\n"
        "Opens a camera source, prints its stream (codec, size, frame rate) and,\n"
        "every second, its counters: packets and frames in, frames decoded,\n"
        "skipped by the rate cap, delivered and dropped, reconnects, errors.\n"
        "Delivered frames are released at once (a consumer that keeps up).\n"
        "\n"
        "URL: a file, rtsp://..., http(s)://... (HLS too), /dev/videoN.\n"
        "\n"
        "Options:\n"
        "  --seconds N         stop after N seconds (default 10; 0 = until the\n"
        "                      source ends or fails)\n"
        "  --fps N             analysis rate cap (default 0: every frame)\n"
        "  --realtime          play files at their native rate\n"
        "  --loop              start files again at their end\n"
        "  --udp               RTSP over UDP (default TCP)\n"
        "  --threads N         decoder threads (default 1)\n"
        "  --skip-nonref MODE  auto|on|off: skip non-reference frames\n"
        "                      (default auto: when the rate is >= 3x the cap)\n"
        "  --decode MODE       full|fast|nofilter: fast (default) decodes the\n"
        "                      frames the cap will not deliver without the loop\n"
        "                      filter (docs/video.md, Cheaper decoding)\n"
        "  --format F          yuv420p|nv12|rgb|bgr|gray (default yuv420p)\n"
        "  --open-timeout S    seconds to open the source (default 10)\n"
        "  --read-timeout S    seconds without data = stalled (default 5)\n"
        "  --no-reconnect      do not reconnect live sources\n"
        "  --json              one JSON object per line instead of text\n",
        f);
  // clang-format on
}

enum {
  OPT_SECONDS = 1,
  OPT_FPS,
  OPT_REALTIME,
  OPT_LOOP,
  OPT_UDP,
  OPT_THREADS,
  OPT_SKIP,
  OPT_DECODE,
  OPT_FORMAT,
  OPT_OPEN_TIMEOUT,
  OPT_READ_TIMEOUT,
  OPT_NO_RECONNECT,
  OPT_JSON
};

static const cli_opt probe_opts[] = {
    {"seconds", 1, OPT_SECONDS},
    {"fps", 1, OPT_FPS},
    {"realtime", 0, OPT_REALTIME},
    {"loop", 0, OPT_LOOP},
    {"udp", 0, OPT_UDP},
    {"threads", 1, OPT_THREADS},
    {"skip-nonref", 1, OPT_SKIP},
    {"decode", 1, OPT_DECODE},
    {"format", 1, OPT_FORMAT},
    {"open-timeout", 1, OPT_OPEN_TIMEOUT},
    {"read-timeout", 1, OPT_READ_TIMEOUT},
    {"no-reconnect", 0, OPT_NO_RECONNECT},
    {"json", 0, OPT_JSON},
    {NULL, 0, 0},
};

static int parse_seconds(const char *s, double lo, double hi, const char *what,
                         double *out) {
  char *end = NULL;
  errno = 0;
  double v = strtod(s, &end);
  if (s[0] == '\0' || end == s || *end != '\0' || errno == ERANGE ||
      !(v >= lo && v <= hi)) {
    fprintf(stderr, "argus: %s: '%s' is not a number in [%g, %g]\n", what, s,
            lo, hi);
    return -1;
  }
  *out = v;
  return 0;
}

/* One JSON line: every string member escaped six-fold still fits. */
#define VIDEO_JSON_MAX 4096

static void print_json_line(FILE *f, argus_json *j) {
  if (argus_json_finish(j))
    fprintf(f, "%s\n", j->buf);
  else
    fprintf(stderr, "argus: video: a JSON line did not fit\n");
}

static void print_info(FILE *f, const argus_video_stats *s, int json) {
  if (json) {
    char buf[VIDEO_JSON_MAX];
    argus_json j;
    argus_json_init(&j, buf, sizeof buf);
    argus_json_obj_begin(&j, NULL);
    argus_json_str(&j, "event", "stream");
    argus_json_str(&j, "camera", s->name);
    argus_json_str(&j, "kind", argus_video_source_kind_name(s->kind));
    argus_json_str(&j, "codec", s->codec);
    argus_json_int(&j, "width", s->width);
    argus_json_int(&j, "height", s->height);
    argus_json_num(&j, "fps", s->stream_fps, 3);
    argus_json_num(&j, "duration", s->duration, 3);
    argus_json_bool(&j, "skip_nonref", s->skipping_nonref);
    argus_json_str(&j, "decode", argus_video_decode_name(s->decode));
    argus_json_obj_end(&j);
    print_json_line(f, &j);
  } else {
    fprintf(f, "stream: %s %s %dx%d, %.3g fps", argus_video_source_kind_name(s->kind),
            s->codec, s->width, s->height, s->stream_fps);
    if (s->duration > 0)
      fprintf(f, ", %.2f s", s->duration);
    if (s->skipping_nonref)
      fprintf(f, ", skipping non-reference frames");
    fputc('\n', f);
  }
  fflush(f);
}

static void print_counters(FILE *f, double t, const argus_video_stats *s,
                           int json) {
  if (json) {
    char buf[VIDEO_JSON_MAX];
    argus_json j;
    argus_json_init(&j, buf, sizeof buf);
    argus_json_obj_begin(&j, NULL);
    argus_json_str(&j, "event", "stats");
    argus_json_num(&j, "t", t, 2);
    argus_json_str(&j, "state", argus_video_state_name(s->state));
    argus_json_bool(&j, "connected", s->connected);
    argus_json_num(&j, "fps_in", s->fps_in, 2);
    argus_json_num(&j, "fps_decoded", s->fps_decoded, 2);
    argus_json_num(&j, "fps_out", s->fps_out, 2);
    argus_json_uint(&j, "packets", s->packets);
    argus_json_uint(&j, "decoded", s->frames_decoded);
    argus_json_uint(&j, "skipped", s->frames_skipped);
    argus_json_uint(&j, "reduced", s->frames_reduced);
    argus_json_uint(&j, "delivered", s->frames_delivered);
    argus_json_uint(&j, "dropped", s->frames_dropped);
    argus_json_uint(&j, "decode_errors", s->decode_errors);
    argus_json_uint(&j, "connects", s->connects);
    argus_json_uint(&j, "reconnects", s->reconnects);
    argus_json_uint(&j, "errors", s->errors);
    argus_json_num(&j, "media_time", s->media_time, 3);
    argus_json_str(&j, "last_error", s->last_error);
    argus_json_obj_end(&j);
    print_json_line(f, &j);
  } else {
    fprintf(f,
            "%6.1f s  %-10s in %5.1f fps  decoded %5.1f fps  out %5.1f fps  "
            "frames: %" PRIu64 " decoded, %" PRIu64 " skipped, %" PRIu64
            " delivered, %" PRIu64 " dropped  media %.2f s",
            t, argus_video_state_name(s->state), s->fps_in, s->fps_decoded,
            s->fps_out, s->frames_decoded, s->frames_skipped,
            s->frames_delivered, s->frames_dropped, s->media_time);
    if (s->reconnects || s->errors)
      fprintf(f, "  reconnects %" PRIu64 "  errors %" PRIu64, s->reconnects,
              s->errors);
    if (s->decode_errors)
      fprintf(f, "  decode errors %" PRIu64, s->decode_errors);
    fputc('\n', f);
  }
  fflush(f);
}

static int probe_main(int argc, char **argv) {
  const char *cmd = "video probe";
  argus_video_camera_config cfg;
  argus_video_camera_config_init(&cfg);
  double seconds = 10;
  int json = 0;
  const char *url = NULL;
  cli_parser p;
  cli_parser_init(&p, argc, argv, cmd, probe_opts);
  for (int id; (id = cli_parse_next(&p)) != CLI_OPT_END;) {
    switch (id) {
    case CLI_OPT_HELP: probe_usage(stdout); return CLI_OK;
    case CLI_OPT_ERROR: cli_usage_hint(cmd); return CLI_USAGE;
    case CLI_OPT_POSITIONAL:
      if (url) {
        cli_errorf(cmd, "one URL only ('%s' and '%s')", url, p.arg);
        return cli_bad_value(cmd);
      }
      url = p.arg;
      break;
    case OPT_SECONDS:
      if (parse_seconds(p.arg, 0, 1e7, "--seconds", &seconds) != 0)
        return cli_bad_value(cmd);
      break;
    case OPT_FPS:
      if (parse_seconds(p.arg, 0, 1000, "--fps", &cfg.max_fps) != 0)
        return cli_bad_value(cmd);
      break;
    case OPT_REALTIME: cfg.realtime = 1; break;
    case OPT_LOOP: cfg.loop = 1; break;
    case OPT_UDP: cfg.rtsp_udp = 1; break;
    case OPT_THREADS:
      if (cli_parse_int(p.arg, 1, 16, "--threads", &cfg.decoder_threads) != 0)
        return cli_bad_value(cmd);
      break;
    case OPT_SKIP:
      if (strcmp(p.arg, "auto") == 0)
        cfg.skip_nonref = ARGUS_VIDEO_AUTO;
      else if (strcmp(p.arg, "on") == 0)
        cfg.skip_nonref = ARGUS_VIDEO_ON;
      else if (strcmp(p.arg, "off") == 0)
        cfg.skip_nonref = ARGUS_VIDEO_OFF;
      else {
        cli_errorf(cmd, "--skip-nonref: '%s' is not auto, on or off", p.arg);
        return cli_bad_value(cmd);
      }
      break;
    case OPT_DECODE: {
      int d = ARGUS_VIDEO_DECODE_FULL;
      while (argus_video_decode_name(d) &&
             strcmp(argus_video_decode_name(d), p.arg) != 0)
        d++;
      if (!argus_video_decode_name(d)) {
        cli_errorf(cmd, "--decode: '%s' is not full, fast or nofilter", p.arg);
        return cli_bad_value(cmd);
      }
      cfg.decode = d;
      break;
    }
    case OPT_FORMAT:
      if (strcmp(p.arg, "yuv420p") == 0)
        cfg.format = ARGUS_PIX_YUV420P;
      else if (strcmp(p.arg, "nv12") == 0)
        cfg.format = ARGUS_PIX_NV12;
      else if (strcmp(p.arg, "rgb") == 0)
        cfg.format = ARGUS_PIX_RGB8;
      else if (strcmp(p.arg, "bgr") == 0)
        cfg.format = ARGUS_PIX_BGR8;
      else if (strcmp(p.arg, "gray") == 0)
        cfg.format = ARGUS_PIX_GRAY8;
      else {
        cli_errorf(cmd, "--format: '%s' is not yuv420p, nv12, rgb, bgr or gray",
                   p.arg);
        return cli_bad_value(cmd);
      }
      break;
    case OPT_OPEN_TIMEOUT:
      if (parse_seconds(p.arg, 0.01, 3600, "--open-timeout", &cfg.open_timeout) != 0)
        return cli_bad_value(cmd);
      break;
    case OPT_READ_TIMEOUT:
      if (parse_seconds(p.arg, 0.01, 3600, "--read-timeout", &cfg.read_timeout) != 0)
        return cli_bad_value(cmd);
      break;
    case OPT_NO_RECONNECT: cfg.reconnect = ARGUS_VIDEO_OFF; break;
    case OPT_JSON: json = 1; break;
    default: return cli_bad_value(cmd);
    }
  }
  if (!url) {
    cli_errorf(cmd, "missing URL");
    cli_usage_hint(cmd);
    return CLI_USAGE;
  }
  cfg.url = url;
  cfg.name = "probe";

  argus_video_hub *hub = NULL;
  argus_err e = argus_video_hub_create(1, &hub, NULL);
  if (e != ARGUS_OK) {
    cli_errorf(cmd, "%s", argus_strerror(e));
    return CLI_FAIL;
  }
  int cam = -1;
  e = argus_video_hub_add(hub, &cfg, &cam, NULL);
  if (e != ARGUS_OK) {
    cli_errorf(cmd, "cannot add the camera: %s", argus_strerror(e));
    argus_video_hub_destroy(hub);
    return e == ARGUS_E_INVALID_ARG ? CLI_USAGE : CLI_FAIL;
  }
  /* SIGINT/SIGTERM end the probe with its last counters. */
  argus_interrupt_install();

  uint64_t t0 = argus_time_ns(), next_print = t0 + 1000000000ull;
  int info_shown = 0, rc = CLI_OK;
  argus_video_stats s;
  for (;;) {
    argus_video_frame *fr = NULL;
    argus_video_hub_pop(hub, 0.05, &fr);
    argus_video_frame_release(fr);
    uint64_t now = argus_time_ns();
    double t = (double)(now - t0) * 1e-9;
    if (argus_video_hub_stats(hub, cam, &s) != ARGUS_OK)
      break;
    if (!info_shown && s.width > 0) {
      print_info(stdout, &s, json);
      info_shown = 1;
    }
    int ended = s.state == ARGUS_VIDEO_FINISHED || s.state == ARGUS_VIDEO_FAILED;
    /* Consume what is still queued before the last line. */
    if (ended && s.frames_queued > 0)
      continue;
    int done = ended || argus_interrupted() || (seconds > 0 && t >= seconds);
    if (now >= next_print || done) {
      print_counters(stdout, t, &s, json);
      next_print += 1000000000ull;
    }
    if (done)
      break;
  }
  if (s.state == ARGUS_VIDEO_FAILED || (s.connects == 0 && s.errors > 0)) {
    if (!json)
      fprintf(stderr, "argus: %s: %s\n", cmd,
              s.last_error[0] ? s.last_error : "the source failed");
    rc = CLI_FAIL;
  }
  argus_interrupt_restore();
  argus_video_hub_destroy(hub);
  return rc;
}
