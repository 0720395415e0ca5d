/* The camera thread: open a source under a deadline, demux and decode it,
 * keep the frames the rate cap wants, convert them (or hand the decoder's
 * YUV buffers over without a copy), pace files in real time, and reconnect
 * with capped exponential backoff. */
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/avutil.h>
#include <libavutil/frame.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>
#ifdef ARGUS_HAVE_AVDEVICE
#include <libavdevice/avdevice.h>
#endif

#include "video/video_internal.h"

#define MOD "video"

/* ---- FFmpeg log routing ------------------------------------------------- */

/* FFmpeg logs through one process-wide callback, often in pieces of a line.
 * The pieces are joined per thread, and the last error line of the thread is
 * kept so that a failed open can say *why* ("moov atom not found") rather
 * than only FFmpeg's generic code text. */
static _Thread_local char tl_line[1024];
static _Thread_local size_t tl_len;
static _Thread_local int tl_prefix = 1;
static _Thread_local char tl_last_error[200];

static void ffmpeg_log_cb(void *avcl, int level, const char *fmt, va_list vl) {
  if (level > AV_LOG_INFO)
    return;
  if (level > AV_LOG_WARNING && argus_log_get_level() < ARGUS_LOG_DEBUG)
    return;
  char part[1024];
  av_log_format_line2(avcl, level, fmt, vl, part, sizeof part, &tl_prefix);
  size_t n = strlen(part);
  size_t room = sizeof tl_line - 1 - tl_len;
  memcpy(tl_line + tl_len, part, n < room ? n : room);
  tl_len += n < room ? n : room;
  tl_line[tl_len] = '\0';
  if (n == 0 || part[n - 1] != '\n')
    return;
  while (tl_len > 0 && (tl_line[tl_len - 1] == '\n' || tl_line[tl_len - 1] == ' '))
    tl_line[--tl_len] = '\0';
  if (level <= AV_LOG_ERROR) {
    /* Keep the message without its "[mov,mp4,... @ 0x55...] " prefix. */
    const char *msg = tl_line;
    if (msg[0] == '[') {
      const char *close = strstr(msg, "] ");
      if (close)
        msg = close + 2;
    }
    snprintf(tl_last_error, sizeof tl_last_error, "%s", msg);
  }
  /* FFmpeg's own errors are frequent on damaged streams and summarised by
   * this module's messages: they are details, shown with -v. */
  argus_log(level <= AV_LOG_ERROR ? ARGUS_LOG_INFO : ARGUS_LOG_DEBUG, "ffmpeg",
            "%s", tl_line);
  tl_len = 0;
  tl_line[0] = '\0';
}

static pthread_once_t g_ffmpeg_once = PTHREAD_ONCE_INIT;

static void ffmpeg_init_once(void) {
  av_log_set_callback(ffmpeg_log_cb);
  av_log_set_level(AV_LOG_INFO);
  avformat_network_init();
#ifdef ARGUS_HAVE_AVDEVICE
  avdevice_register_all();
#endif
}

void video_ffmpeg_init(void) { pthread_once(&g_ffmpeg_once, ffmpeg_init_once); }

/* ---- slots ---------------------------------------------------------------- */

argus_err video_slot_init(video_slot *slot) {
  slot->ref = av_frame_alloc();
  return slot->ref ? ARGUS_OK : ARGUS_E_NOMEM;
}

void video_slot_fini(video_slot *slot) {
  av_frame_free(&slot->ref);
  argus_image_free(&slot->own);
}

void video_slot_clear(video_slot *slot) {
  if (slot->ref)
    av_frame_unref(slot->ref);
  memset(&slot->pub.image, 0, sizeof slot->pub.image);
}

/* ---- errors --------------------------------------------------------------- */

static argus_err map_averror(int ret) {
  switch (ret) {
  case AVERROR(ENOENT): return ARGUS_E_NOT_FOUND;
  case AVERROR(ENOMEM): return ARGUS_E_NOMEM;
  case AVERROR_INVALIDDATA:
  case AVERROR_EOF: return ARGUS_E_CORRUPT;
  case AVERROR_DECODER_NOT_FOUND:
  case AVERROR_DEMUXER_NOT_FOUND:
  case AVERROR_PROTOCOL_NOT_FOUND:
  case AVERROR_STREAM_NOT_FOUND:
  case AVERROR_PATCHWELCOME:
  case AVERROR(ENOSYS): return ARGUS_E_UNSUPPORTED;
  default: return ARGUS_E_IO;
  }
}

/* Whether a failed open can never succeed however long the camera waits
 * (video.h lists them): an unknown protocol, no demuxer or decoder, an
 * option or feature FFmpeg lacks; a local file or device that is missing or
 * may not be opened, unless it was opened before (a camera unplugged and
 * plugged in again comes back under the same name). Host names that do not
 * resolve, refused connections and timeouts are transient. */
static int open_error_permanent(const video_camera *cam, int ever_opened,
                                int ret) {
  switch (ret) {
  case AVERROR_PROTOCOL_NOT_FOUND:
  case AVERROR_DEMUXER_NOT_FOUND:
  case AVERROR_DECODER_NOT_FOUND:
  case AVERROR_OPTION_NOT_FOUND:
  case AVERROR_PATCHWELCOME:
  case AVERROR(ENOSYS):
    return 1;
  case AVERROR(ENOENT):
  case AVERROR(ENODEV):
  case AVERROR(ENXIO):
  case AVERROR(ENOTDIR):
  case AVERROR(EISDIR):
  case AVERROR(EACCES):
  case AVERROR(EPERM):
    return !ever_opened && (cam->kind == ARGUS_VIDEO_SOURCE_FILE ||
                            cam->kind == ARGUS_VIDEO_SOURCE_V4L2);
  default:
    return 0;
  }
}

/* Checks the host and port of a network URL ("scheme://[user@]host[:port]
 * [/...]"), which FFmpeg would otherwise report as a refused connection to
 * port 554 of no host, or as an error it retries. Returns NULL when they
 * look right, else what is wrong. */
static const char *network_url_problem(const char *url) {
  const char *p = strstr(url, "://");
  if (!p)
    return NULL;
  p += 3;
  const char *end = p + strcspn(p, "/?#");
  /* user[:password]@ before the host: the last '@', as FFmpeg splits it
   * (a password may hold one). */
  for (const char *at = p; at < end; at++)
    if (*at == '@')
      p = at + 1;
  const char *host_end;
  if (*p == '[') { /* [IPv6] */
    host_end = memchr(p, ']', (size_t)(end - p));
    if (!host_end || host_end == p + 1)
      return "no host name";
    host_end++;
  } else {
    host_end = p;
    while (host_end < end && *host_end != ':')
      host_end++;
    if (host_end == p)
      return "no host name";
  }
  if (host_end == end)
    return NULL;
  if (*host_end != ':')
    return "bad host name";
  const char *q = host_end + 1;
  if (q == end)
    return NULL; /* "host:" takes the default port */
  long port = 0;
  for (; q < end; q++) {
    if (*q < '0' || *q > '9' || port > 65535)
      return "bad port (1..65535)";
    port = port * 10 + (*q - '0');
  }
  return port >= 1 && port <= 65535 ? NULL : "bad port (1..65535)";
}

/* "Invalid data found when processing input (moov atom not found)". */
static void describe_averror(int ret, char *buf, size_t size) {
  char text[AV_ERROR_MAX_STRING_SIZE];
  av_strerror(ret, text, sizeof text);
  if (tl_last_error[0] && strcmp(tl_last_error, text) != 0)
    snprintf(buf, size, "%s (%s)", text, tl_last_error);
  else
    snprintf(buf, size, "%s", text);
}

/* ---- per-thread decoding state -------------------------------------------- */

enum { CAPTURE_RING = 64 };
/* Decode FAST: packets read ahead of the decoder, frames tracked inside it,
 * and the last frames decoded with less work. */
enum { LOOKAHEAD_MAX = 8, INFLIGHT_MAX = 64, REDUCED_RING = 16 };

typedef struct capture_mark {
  int64_t pts;
  int64_t wall_ns;
  uint64_t mono_ns;
} capture_mark;

typedef struct cam_ctx {
  video_camera *cam;
  int live;      /* a live source: no pacing, stalls count, EOF reconnects */
  int reconnect; /* resolved setting */
  /* Per open. */
  AVFormatContext *fmt;
  AVCodecContext *dec;
  int vs;
  AVRational tb;
  int64_t start_pts; /* stream start (files), AV_NOPTS_VALUE when unknown */
  double duration;   /* files: stream duration, 0 when unknown */
  uint64_t session_frames;
  double pass_max_rel; /* latest frame time of this pass of a file,
                          relative to its start */
  uint64_t last_progress_ns; /* last decoded frame (or open) */
  int ever_opened;           /* the source was opened once */
  /* For the whole thread. */
  AVPacket *pkt;
  AVFrame *frame;
  struct SwsContext *sws;
  int sws_src_fmt, sws_w, sws_h, sws_dst_fmt;
  double frame_dur; /* seconds per frame, for gaps and loops */
  /* Media time: media = map_base + (pts - map_pts) * tb. */
  int have_map;
  int64_t map_pts;
  double map_base;
  double pending_base; /* base for the next mapping */
  int have_last;
  double last_media;
  uint64_t last_frame_mono;
  /* Rate cap. */
  int have_due;
  double next_due;
  /* Real-time pacing of files. */
  int have_pace;
  uint64_t pace_mono0;
  double pace_media0;
  /* When each packet was read, for the capture time of its frame. */
  capture_mark marks[CAPTURE_RING];
  unsigned nmarks;
  uint64_t seq;
  int conv_error_logged;
  /* Decode FAST (plan_reduce): packets read but not yet decoded, oldest
   * first, with whether each gives a frame (1, 0: a non-reference frame the
   * decoder skips, -1: cannot tell); the pts of frames given to the decoder
   * that have not come out (maybe: may not come out); the newest dts read. */
  int fast;          /* decode FAST with a rate cap: packets are planned */
  int nal_len;       /* H.264: 1..4 (avcC) or 0 (Annex B); -1 other codecs */
  int skipping;      /* the decoder skips non-reference frames */
  AVPacket *ahead[LOOKAHEAD_MAX];
  signed char ahead_out[LOOKAHEAD_MAX];
  int nahead;
  int ahead_eof;     /* the end was read: nothing more comes */
  int64_t dts_newest;
  int64_t inflight[INFLIGHT_MAX];
  signed char inflight_maybe[INFLIGHT_MAX];
  int ninflight;
  int untracked;     /* a frame went in that cannot be tracked (no pts):
                        no plans until this many frames came out */
  int64_t reduced_pts[REDUCED_RING];
  unsigned nreduced;
  int mispredict_logged;
} cam_ctx;

enum { END_STOP, END_EOS, END_ERROR };

static int stopping(const video_camera *cam) {
  return atomic_load(&((video_camera *)cam)->stop);
}

/* FFmpeg polls this during blocking I/O: non-zero aborts the call. */
static int interrupt_cb(void *opaque) {
  video_camera *cam = opaque;
  if (atomic_load(&cam->stop))
    return 1;
  uint64_t d = atomic_load(&cam->deadline_ns);
  if (d && argus_time_ns() > d) {
    atomic_store(&cam->timed_out, 1);
    return 1;
  }
  return 0;
}

static void arm_deadline(video_camera *cam, double secs) {
  atomic_store(&cam->timed_out, 0);
  atomic_store(&cam->deadline_ns, argus_time_ns() + (uint64_t)(secs * 1e9));
  tl_last_error[0] = '\0';
}

static void disarm_deadline(video_camera *cam) {
  atomic_store(&cam->deadline_ns, 0);
}

static double q2d_or0(AVRational r) {
  return r.num > 0 && r.den > 0 ? av_q2d(r) : 0.0;
}

/* Forgets what the planner knew of the decoder (it was flushed or closed)
 * and drops the packets read ahead. */
static void plan_reset(cam_ctx *x) {
  for (int i = 0; i < x->nahead; i++)
    av_packet_unref(x->ahead[i]);
  x->nahead = 0;
  x->ahead_eof = 0;
  x->dts_newest = AV_NOPTS_VALUE;
  x->ninflight = 0;
  x->untracked = 0;
  x->nreduced = 0;
}

static void close_source(cam_ctx *x) {
  plan_reset(x);
  avcodec_free_context(&x->dec);
  if (x->fmt) {
    /* Closing may talk to the server (RTSP TEARDOWN): bounded too. */
    arm_deadline(x->cam, 1.0);
    avformat_close_input(&x->fmt);
    disarm_deadline(x->cam);
  }
}

/* Opens the source; on failure records why and sets *permanent when
 * waiting cannot mend it. */
static argus_err open_source(cam_ctx *x, int *permanent) {
  video_camera *cam = x->cam;
  const argus_video_camera_config *cfg = &cam->cfg;
  const AVInputFormat *ifmt = NULL;
  AVDictionary *opts = NULL;
  char url_buf[ARGUS_VIDEO_URL_MAX + 8];
  const char *url = cam->url;
  char why[320];
  argus_err e = ARGUS_OK;
  int ret;

  *permanent = 0;
  if (cam->kind == ARGUS_VIDEO_SOURCE_RTSP ||
      cam->kind == ARGUS_VIDEO_SOURCE_HTTP) {
    const char *bad = network_url_problem(url);
    if (bad) {
      *permanent = 1;
      video_set_error(cam, ARGUS_LOG_ERROR, ARGUS_E_INVALID_ARG,
                      "cannot open %s: bad URL: %s; not retried",
                      cam->shown_url, bad);
      return ARGUS_E_INVALID_ARG;
    }
  }
  switch (cam->kind) {
  case ARGUS_VIDEO_SOURCE_FILE:
    /* A plain path goes through the file protocol, so that a name with a
     * colon is not taken for a protocol. */
    if (strncasecmp(url, "file:", 5) != 0) {
      snprintf(url_buf, sizeof url_buf, "file:%s", url);
      url = url_buf;
    }
    break;
  case ARGUS_VIDEO_SOURCE_RTSP:
    av_dict_set(&opts, "rtsp_transport", cfg->rtsp_udp ? "udp" : "tcp", 0);
    break;
  case ARGUS_VIDEO_SOURCE_V4L2:
#ifdef ARGUS_HAVE_AVDEVICE
    ifmt = av_find_input_format("video4linux2");
#endif
    if (!ifmt) {
      *permanent = 1;
      video_set_error(cam, ARGUS_LOG_ERROR, ARGUS_E_UNSUPPORTED,
                      "V4L2 devices are not supported by this build "
                      "(FFmpeg's libavdevice was not found); not retried");
      return ARGUS_E_UNSUPPORTED;
    }
    if (strncasecmp(url, "v4l2:", 5) == 0)
      url += 5;
    break;
  default:
    break;
  }

  x->fmt = avformat_alloc_context();
  if (!x->fmt) {
    av_dict_free(&opts);
    video_set_error(cam, ARGUS_LOG_ERROR, ARGUS_E_NOMEM, "out of memory");
    return ARGUS_E_NOMEM;
  }
  x->fmt->interrupt_callback.callback = interrupt_cb;
  x->fmt->interrupt_callback.opaque = cam;
  if (x->live) /* start quickly: 2 s of probing is plenty for a camera */
    x->fmt->max_analyze_duration = 2 * AV_TIME_BASE;

  arm_deadline(cam, cfg->open_timeout);
  ret = avformat_open_input(&x->fmt, url, ifmt, &opts);
  av_dict_free(&opts);
  if (ret < 0) {
    /* avformat_open_input freed the context. */
    goto fail_ret;
  }
  ret = avformat_find_stream_info(x->fmt, NULL);
  if (ret < 0)
    goto fail_ret;

  const AVCodec *codec = NULL;
  ret = av_find_best_stream(x->fmt, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
  if (ret < 0) {
    e = ARGUS_E_UNSUPPORTED;
    *permanent = 1;
    if (ret == AVERROR_DECODER_NOT_FOUND) {
      int s = av_find_best_stream(x->fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
      snprintf(why, sizeof why, "no decoder for its %s video",
               s >= 0 ? avcodec_get_name(x->fmt->streams[s]->codecpar->codec_id)
                      : "?");
    } else {
      snprintf(why, sizeof why, "no video stream");
    }
    goto fail_msg;
  }
  x->vs = ret;
  for (unsigned i = 0; i < x->fmt->nb_streams; i++)
    if ((int)i != x->vs)
      x->fmt->streams[i]->discard = AVDISCARD_ALL;
  AVStream *st = x->fmt->streams[x->vs];
  x->tb = st->time_base;

  x->dec = avcodec_alloc_context3(codec);
  if (!x->dec) {
    ret = AVERROR(ENOMEM);
    goto fail_ret;
  }
  ret = avcodec_parameters_to_context(x->dec, st->codecpar);
  if (ret < 0)
    goto fail_ret;
  x->dec->pkt_timebase = st->time_base;
  x->dec->thread_count = cfg->decoder_threads;
  x->dec->thread_type =
      cfg->threading == ARGUS_VIDEO_THREADS_FRAME   ? FF_THREAD_FRAME
      : cfg->threading == ARGUS_VIDEO_THREADS_SLICE ? FF_THREAD_SLICE
                                                    : FF_THREAD_FRAME | FF_THREAD_SLICE;
  /* Decode FAST switches the loop filter per packet (decode_packet);
   * NOFILTER never runs it. */
  x->dec->skip_loop_filter = cfg->decode == ARGUS_VIDEO_DECODE_NOFILTER
                                 ? AVDISCARD_ALL
                                 : AVDISCARD_DEFAULT;

  double fps = q2d_or0(st->avg_frame_rate);
  if (fps <= 0 || fps > 1000)
    fps = q2d_or0(st->r_frame_rate);
  if (fps > 1000)
    fps = 0;
  x->frame_dur = fps > 0 ? 1.0 / fps : (x->frame_dur > 0 ? x->frame_dur : 0.04);
  /* Frames that nothing references may be skipped unseen when most frames
   * are not wanted anyway: what is left is still spread over time. */
  int skip = cfg->skip_nonref == ARGUS_VIDEO_ON ||
             (cfg->skip_nonref == ARGUS_VIDEO_AUTO && cfg->max_fps > 0 &&
              fps > 0 && fps / cfg->max_fps >= 3.0);
  if (skip)
    x->dec->skip_frame = AVDISCARD_NONREF;
  x->skipping = skip;
  x->fast = cfg->decode == ARGUS_VIDEO_DECODE_FAST && cfg->max_fps > 0;
  x->nal_len = -1;
  if (codec->id == AV_CODEC_ID_H264) {
    const uint8_t *ex = st->codecpar->extradata;
    x->nal_len = ex && st->codecpar->extradata_size >= 7 && ex[0] == 1
                     ? (ex[4] & 3) + 1
                     : 0;
  }
  plan_reset(x);

  ret = avcodec_open2(x->dec, codec, NULL);
  if (ret < 0)
    goto fail_ret;
  disarm_deadline(cam);

  x->start_pts = st->start_time;
  x->duration = 0;
  if (!x->live) {
    if (st->duration != AV_NOPTS_VALUE && st->duration > 0)
      x->duration = (double)st->duration * av_q2d(st->time_base);
    else if (x->fmt->duration != AV_NOPTS_VALUE && x->fmt->duration > 0)
      x->duration = (double)x->fmt->duration / AV_TIME_BASE;
  }
  video_set_stream_info(cam, codec->name, x->dec->width, x->dec->height, fps,
                        x->duration, skip);
  argus_log(ARGUS_LOG_INFO, MOD,
            "camera %d '%s': %s %dx%d %.3g fps%s, %d decoder thread(s), "
            "decode %s",
            cam->index, cam->name, codec->name, x->dec->width, x->dec->height,
            fps, skip ? ", skipping non-reference frames" : "",
            cfg->decoder_threads, argus_video_decode_name(cfg->decode));
  return ARGUS_OK;

fail_ret:
  e = map_averror(ret);
  if (atomic_load(&cam->timed_out)) {
    e = ARGUS_E_IO;
    snprintf(why, sizeof why, "no answer within %.1f s (open timeout)",
             cfg->open_timeout);
  } else {
    describe_averror(ret, why, sizeof why);
    *permanent = open_error_permanent(cam, x->ever_opened, ret);
  }
fail_msg:
  disarm_deadline(cam);
  close_source(x);
  if (stopping(cam))
    return ARGUS_E_IO;
  /* "not retried" only where it is news: a source that would reconnect. */
  video_set_error(cam,
                  x->reconnect && !*permanent ? ARGUS_LOG_WARN
                                              : ARGUS_LOG_ERROR,
                  e, "cannot open %s: %s%s", cam->shown_url, why,
                  *permanent && x->reconnect ? "; not retried" : "");
  return e;
}

/* ---- frames ---------------------------------------------------------------- */

static void mark_capture(cam_ctx *x, const AVPacket *pkt) {
  capture_mark *m = &x->marks[x->nmarks++ % CAPTURE_RING];
  m->pts = pkt->pts != AV_NOPTS_VALUE ? pkt->pts : pkt->dts;
  m->wall_ns = argus_wall_ns();
  m->mono_ns = argus_time_ns();
}

static void find_capture(const cam_ctx *x, int64_t pts, int64_t *wall,
                         uint64_t *mono) {
  if (pts != AV_NOPTS_VALUE) {
    for (unsigned i = 0; i < CAPTURE_RING && i < x->nmarks; i++) {
      const capture_mark *m = &x->marks[(x->nmarks - 1 - i) % CAPTURE_RING];
      if (m->pts == pts) {
        *wall = m->wall_ns;
        *mono = m->mono_ns;
        return;
      }
    }
  }
  *wall = argus_wall_ns();
  *mono = argus_time_ns();
}

/* Seconds on the camera's time line for a frame timestamp, strictly after
 * the previous frame's: a timestamp that goes back (a loop, a reconnect, a
 * wrap) starts a new mapping one frame later. */
static double media_time_of(cam_ctx *x, int64_t pts) {
  if (pts == AV_NOPTS_VALUE)
    return x->have_last ? x->last_media + x->frame_dur : x->pending_base;
  if (!x->have_map) {
    x->map_pts = pts;
    x->map_base = x->pending_base;
    /* The first pass of a file keeps the file's own time line. */
    if (!x->have_last && x->start_pts != AV_NOPTS_VALUE && pts >= x->start_pts)
      x->map_pts = x->start_pts;
    x->have_map = 1;
  }
  double t = x->map_base + (double)(pts - x->map_pts) * av_q2d(x->tb);
  if (x->have_last && t <= x->last_media) {
    x->map_pts = pts;
    x->map_base = x->last_media + x->frame_dur;
    t = x->map_base;
  }
  return t;
}

static int is_limited_yuv(const AVFrame *f) {
  return f->color_range != AVCOL_RANGE_JPEG && f->format != AV_PIX_FMT_YUVJ420P;
}

static enum AVPixelFormat av_format_of(argus_pixfmt f) {
  switch (f) {
  case ARGUS_PIX_GRAY8: return AV_PIX_FMT_GRAY8;
  case ARGUS_PIX_RGB8: return AV_PIX_FMT_RGB24;
  case ARGUS_PIX_BGR8: return AV_PIX_FMT_BGR24;
  case ARGUS_PIX_YUV420P: return AV_PIX_FMT_YUV420P;
  case ARGUS_PIX_NV12: return AV_PIX_FMT_NV12;
  default: return AV_PIX_FMT_NONE;
  }
}

/* The decoder's frame in argus terms, when it is one of the YUV layouts
 * argus knows (limited range, positive strides). */
static argus_pixfmt argus_format_of_frame(const AVFrame *f) {
  if (f->linesize[0] <= 0 || f->linesize[1] <= 0 || !is_limited_yuv(f))
    return ARGUS_PIX_NONE;
  if (f->format == AV_PIX_FMT_YUV420P && f->linesize[2] > 0)
    return ARGUS_PIX_YUV420P;
  if (f->format == AV_PIX_FMT_NV12)
    return ARGUS_PIX_NV12;
  return ARGUS_PIX_NONE;
}

static argus_err wrap_frame(const AVFrame *f, argus_pixfmt fmt,
                            argus_image *img) {
  uint8_t *data[3] = {f->data[0], f->data[1], f->data[2]};
  int stride[3] = {f->linesize[0], f->linesize[1], f->linesize[2]};
  return argus_image_wrap(img, f->width, f->height, fmt, data, stride);
}

/* Converts with libswscale (formats argus_image_convert does not take:
 * full-range, 4:2:2/4:4:4, high bit depth, or a YUV target). */
static argus_err sws_convert(cam_ctx *x, const AVFrame *f, argus_image *dst) {
  enum AVPixelFormat src = f->format;
  int full = f->color_range == AVCOL_RANGE_JPEG;
  switch (src) { /* deprecated "J" formats: same layout, full range */
  case AV_PIX_FMT_YUVJ420P: src = AV_PIX_FMT_YUV420P; full = 1; break;
  case AV_PIX_FMT_YUVJ422P: src = AV_PIX_FMT_YUV422P; full = 1; break;
  case AV_PIX_FMT_YUVJ444P: src = AV_PIX_FMT_YUV444P; full = 1; break;
  case AV_PIX_FMT_YUVJ440P: src = AV_PIX_FMT_YUV440P; full = 1; break;
  default: break;
  }
  enum AVPixelFormat dfmt = av_format_of(dst->format);
  struct SwsContext *c =
      sws_getCachedContext(x->sws, f->width, f->height, src, dst->width,
                           dst->height, dfmt, SWS_BILINEAR, NULL, NULL, NULL);
  if (!c)
    return ARGUS_E_UNSUPPORTED;
  if (c != x->sws || x->sws_src_fmt != (int)f->format || x->sws_w != f->width ||
      x->sws_h != f->height || x->sws_dst_fmt != (int)dfmt) {
    const int *coef = sws_getCoefficients(SWS_CS_ITU601);
    /* Delivered YUV is limited range; RGB and grey are full range. */
    int dst_full = dfmt != AV_PIX_FMT_YUV420P && dfmt != AV_PIX_FMT_NV12;
    sws_setColorspaceDetails(c, coef, full, coef, dst_full, 0, 1 << 16,
                             1 << 16);
    x->sws = c;
    x->sws_src_fmt = f->format;
    x->sws_w = f->width;
    x->sws_h = f->height;
    x->sws_dst_fmt = dfmt;
  }
  uint8_t *dd[4] = {dst->data[0], dst->data[1], dst->data[2], NULL};
  int ds[4] = {dst->stride[0], dst->stride[1], dst->stride[2], 0};
  int h = sws_scale(c, (const uint8_t *const *)f->data, f->linesize, 0,
                    f->height, dd, ds);
  return h == dst->height ? ARGUS_OK : ARGUS_E_INTERNAL;
}

/* Fills a slot from the decoded frame: a reference when the decoder's
 * layout is the one wanted, else a conversion into the slot's own pixels. */
static argus_err fill_slot(cam_ctx *x, video_slot *s, AVFrame *f) {
  argus_pixfmt want = x->cam->cfg.format;
  argus_pixfmt have = argus_format_of_frame(f);
  if (have == want) {
    av_frame_move_ref(s->ref, f);
    argus_err e = wrap_frame(s->ref, want, &s->pub.image);
    if (e != ARGUS_OK)
      av_frame_unref(s->ref);
    return e;
  }
  if (s->own.width != f->width || s->own.height != f->height ||
      s->own.format != want) {
    /* First frame of this size for this buffer (or a size change). */
    argus_image_free(&s->own);
    argus_err e = argus_image_alloc(&s->own, f->width, f->height, want);
    if (e != ARGUS_OK)
      return e;
  }
  argus_err e;
  if (have != ARGUS_PIX_NONE && (want == ARGUS_PIX_RGB8 ||
                                 want == ARGUS_PIX_BGR8 ||
                                 want == ARGUS_PIX_GRAY8)) {
    argus_image src;
    e = wrap_frame(f, have, &src);
    if (e == ARGUS_OK)
      e = argus_image_convert(&src, &s->own);
  } else {
    e = sws_convert(x, f, &s->own);
  }
  if (e == ARGUS_OK) {
    s->pub.image = s->own;
    s->pub.image.owner = NULL; /* borrowed by the consumer */
  }
  return e;
}

/* The rate cap: keeps a frame whose media time reaches the next due time
 * (steps of `interval`; 1 ms of slack absorbs rounding of timestamps, 0.2
 * vs 0.19999; after a gap it starts again at the frame). The planner of
 * decode FAST runs the same steps on predicted times. */
static int cap_step(double interval, int *have_due, double *next_due,
                    double media) {
  if (*have_due && media < *next_due - 1e-3)
    return 0;
  *next_due = *have_due ? *next_due + interval : media + interval;
  if (*next_due <= media) /* far behind (a gap): start again here */
    *next_due = media + interval;
  *have_due = 1;
  return 1;
}

/* One decoded frame: time it, pace it, keep it or skip it. Returns 1 when
 * the camera must stop. */
static int handle_frame(cam_ctx *x, AVFrame *f) {
  video_camera *cam = x->cam;
  const argus_video_camera_config *cfg = &cam->cfg;
  uint64_t now = argus_time_ns();
  x->last_progress_ns = now;
  x->session_frames++;

  int64_t pts = f->best_effort_timestamp;
  double media = media_time_of(x, pts);
  if (pts != AV_NOPTS_VALUE) {
    int64_t base = x->start_pts != AV_NOPTS_VALUE ? x->start_pts : x->map_pts;
    double rel = (double)(pts - base) * av_q2d(x->tb);
    if (rel > x->pass_max_rel)
      x->pass_max_rel = rel;
  }
  x->have_last = 1;
  x->last_media = media;
  x->last_frame_mono = now;
  uint64_t seq = x->seq++;

  int64_t wall_ns;
  uint64_t mono_ns;
  if (!x->live && cfg->realtime) {
    if (!x->have_pace || (double)now > (double)x->pace_mono0 +
                                           (media - x->pace_media0) * 1e9 +
                                           1e9) {
      /* Start (or, more than a second late, restart) the pace clock. */
      x->have_pace = 1;
      x->pace_mono0 = now;
      x->pace_media0 = media;
    }
    uint64_t due = x->pace_mono0 + (uint64_t)((media - x->pace_media0) * 1e9);
    if (due > now && video_camera_sleep_until(cam, due))
      return 1;
    wall_ns = argus_wall_ns();
    mono_ns = argus_time_ns();
  } else {
    find_capture(x, f->pts != AV_NOPTS_VALUE ? f->pts : f->pkt_dts, &wall_ns,
                 &mono_ns);
  }

  int want = 1;
  if (cfg->max_fps > 0)
    want = cap_step(1.0 / cfg->max_fps, &x->have_due, &x->next_due, media);
  if (x->fast && x->untracked > 0)
    x->untracked--;
  if (x->fast && pts != AV_NOPTS_VALUE) {
    /* Out of the decoder: no longer in flight (nor any frame before it,
     * which would have come out first). */
    int k = 0;
    for (int i = 0; i < x->ninflight; i++)
      if (x->inflight[i] > pts) {
        x->inflight[k] = x->inflight[i];
        x->inflight_maybe[k++] = x->inflight_maybe[i];
      }
    x->ninflight = k;
    if (want && !x->mispredict_logged)
      for (unsigned i = 0; i < REDUCED_RING && i < x->nreduced; i++)
        if (x->reduced_pts[i] == pts) {
          x->mispredict_logged = 1;
          argus_log(ARGUS_LOG_WARN, MOD,
                    "camera %d '%s': a frame decoded without the loop filter "
                    "is delivered (media time %.3f s): unexpected frame order",
                    cam->index, cam->name, media);
          break;
        }
  }
  /* A decoder can hand out an empty picture (seen once at a loop's seek):
   * nothing to analyse, counted as skipped. */
  if (f->width <= 0 || f->height <= 0)
    want = 0;
  video_count_frame(cam, media, !want);
  if (cfg->decode == ARGUS_VIDEO_DECODE_NOFILTER)
    video_count_reduced(cam);
  if (!want)
    return 0;

  video_slot *s = video_slot_acquire(cam);
  if (!s)
    return 0;
  argus_err e = fill_slot(x, s, f);
  if (e != ARGUS_OK) {
    video_slot_abandon(cam, s);
    if (!x->conv_error_logged) {
      x->conv_error_logged = 1;
      video_set_error(cam, ARGUS_LOG_ERROR, e,
                      "cannot convert %s %dx%d frames to %s: %s",
                      av_get_pix_fmt_name(f->format) ? av_get_pix_fmt_name(f->format) : "?",
                      f->width, f->height, argus_pixfmt_name(cfg->format),
                      argus_strerror(e));
    }
    return 0;
  }
  s->pub.camera = cam->index;
  s->pub.camera_name = cam->name;
  s->pub.seq = seq;
  s->pub.media_time = media;
  s->pub.wall_ns = wall_ns;
  s->pub.mono_ns = mono_ns;
  video_slot_push(cam, s);
  return 0;
}

/* ---- decode FAST: which frames need the loop filter -------------------------
 *
 * A frame that the rate cap will not deliver is decoded only because later
 * frames reference it; it is decoded without the loop filter. Whether the
 * cap delivers a frame depends on the frames that come out of the decoder
 * before it (in pts order), so the packet is held back (at most
 * LOOKAHEAD_MAX packets) until every frame that can come out before it is
 * known: frames already inside the decoder (tracked by pts) and packets read
 * ahead. A packet read later has a dts, hence a pts, at least the newest dts
 * read, so once that reaches the packet's pts nothing can come before it.
 * Streams without reordering (pts == dts: most cameras) are planned without
 * holding anything back; with B-frames the hold is the reorder depth (5
 * packets, 200 ms, for x264's defaults at 25 fps). When skipping non-
 * reference frames, H.264 NAL headers tell which packets give a frame.
 * Anything that cannot be told (no time mapping yet, a timestamp that goes
 * back, another codec while skipping, a full look-ahead) is decoded in
 * full; so are keyframes, so that the frames after one drift from a clean
 * picture. */

static int packet_gives_frame(const cam_ctx *x, const AVPacket *p) {
  if (!x->skipping)
    return 1;
  if (x->nal_len < 0)
    return -1;
  return video_h264_packet_ref(p->data, (size_t)p->size, x->nal_len);
}

/* The media time a frame of this pts will get, when it can be told now. */
static int predict_media(const cam_ctx *x, int64_t pts, double *t) {
  if (pts == AV_NOPTS_VALUE || !x->have_map)
    return 0;
  *t = x->map_base + (double)(pts - x->map_pts) * av_q2d(x->tb);
  return !(x->have_last && *t <= x->last_media);
}

/* 1: the oldest packet read ahead can be decoded now (its plan is known or
 * will never be). */
static int front_ready(const cam_ctx *x) {
  const AVPacket *p = x->ahead[0];
  return x->nahead == LOOKAHEAD_MAX || x->ahead_eof ||
         x->ahead_out[0] != 1 || (p->flags & AV_PKT_FLAG_KEY) ||
         p->pts == AV_NOPTS_VALUE || x->dts_newest == AV_NOPTS_VALUE ||
         p->pts <= x->dts_newest;
}

/* 1: decode the oldest packet read ahead without the loop filter (the cap
 * will not deliver its frame). */
static int plan_reduce(const cam_ctx *x) {
  const AVPacket *p = x->ahead[0];
  double m;
  if (x->ahead_out[0] != 1 || (p->flags & AV_PKT_FLAG_KEY) || x->untracked ||
      !predict_media(x, p->pts, &m))
    return 0;
  if (!x->ahead_eof &&
      (x->dts_newest == AV_NOPTS_VALUE || p->pts > x->dts_newest))
    return 0; /* a frame before it may still come */
  double ts[INFLIGHT_MAX + LOOKAHEAD_MAX];
  int n = 0;
  for (int i = 0; i < x->ninflight; i++) {
    if (x->inflight[i] >= p->pts)
      continue;
    if (x->inflight_maybe[i] || !predict_media(x, x->inflight[i], &ts[n]))
      return 0;
    n++;
  }
  for (int k = 1; k < x->nahead; k++) {
    const AVPacket *q = x->ahead[k];
    if (q->pts == AV_NOPTS_VALUE || x->ahead_out[k] < 0)
      return 0;
    if (q->pts >= p->pts || x->ahead_out[k] == 0)
      continue;
    if (!predict_media(x, q->pts, &ts[n]))
      return 0;
    n++;
  }
  for (int i = 1; i < n; i++) /* a handful: insertion sort */
    for (int j = i; j > 0 && ts[j - 1] > ts[j]; j--) {
      double t = ts[j];
      ts[j] = ts[j - 1];
      ts[j - 1] = t;
    }
  int have = x->have_due;
  double due = x->next_due, interval = 1.0 / x->cam->cfg.max_fps;
  for (int i = 0; i < n; i++)
    cap_step(interval, &have, &due, ts[i]);
  return !cap_step(interval, &have, &due, m);
}

/* Sends one packet (NULL: drain) and handles every frame that comes out.
 * Returns 1 when the camera must stop. */
static int decode_packet(cam_ctx *x, const AVPacket *pkt, int reduce) {
  /* Read by the decoder while it decodes this packet: inside
   * avcodec_send_packet (the frames of the previous packets were all
   * received, so nothing is left to decode later) or, with frame threads,
   * copied into the thread's context when the packet is handed to it. */
  if (x->fast)
    x->dec->skip_loop_filter = reduce ? AVDISCARD_ALL : AVDISCARD_DEFAULT;
  int ret = avcodec_send_packet(x->dec, pkt);
  int resend = ret == AVERROR(EAGAIN);
  if (ret < 0 && !resend && ret != AVERROR_EOF)
    video_count_decode_error(x->cam);
  for (;;) {
    ret = avcodec_receive_frame(x->dec, x->frame);
    if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF)
      break;
    if (ret < 0) {
      video_count_decode_error(x->cam);
      break;
    }
    int stop = handle_frame(x, x->frame);
    av_frame_unref(x->frame);
    if (stop)
      return 1;
  }
  if (resend) { /* output was full: the frames are out now, try once more */
    if (avcodec_send_packet(x->dec, pkt) < 0)
      video_count_decode_error(x->cam);
  }
  return 0;
}

/* Decodes the oldest packet read ahead, planned. Returns 1 when the camera
 * must stop. */
static int decode_front(cam_ctx *x) {
  AVPacket *p = x->ahead[0];
  int out = x->ahead_out[0];
  int reduce = plan_reduce(x);
  for (int k = 1; k < x->nahead; k++) {
    x->ahead[k - 1] = x->ahead[k];
    x->ahead_out[k - 1] = x->ahead_out[k];
  }
  x->nahead--;
  x->ahead[x->nahead] = p; /* the empty packet goes to the back */
  if (out != 0) {
    if (p->pts == AV_NOPTS_VALUE || x->ninflight == INFLIGHT_MAX) {
      /* It is out (or lost) once as many frames came out as the decoder
       * can hold: H.264's 16 reference frames, one more per thread. */
      x->untracked = 16 + x->cam->cfg.decoder_threads;
    } else {
      x->inflight[x->ninflight] = p->pts;
      x->inflight_maybe[x->ninflight++] = out < 0;
    }
  }
  if (reduce) {
    video_count_reduced(x->cam);
    x->reduced_pts[x->nreduced++ % REDUCED_RING] = p->pts;
  }
  int stop = decode_packet(x, p, reduce);
  av_packet_unref(p);
  return stop;
}

/* Reads a packet ahead (decode FAST) and decodes the packets whose plan is
 * known. Takes x->pkt's reference. Returns 1 when the camera must stop. */
static int plan_packet(cam_ctx *x) {
  AVPacket *slot = x->ahead[x->nahead];
  av_packet_move_ref(slot, x->pkt);
  x->ahead_out[x->nahead++] = (signed char)packet_gives_frame(x, slot);
  if (slot->dts != AV_NOPTS_VALUE &&
      (x->dts_newest == AV_NOPTS_VALUE || slot->dts > x->dts_newest))
    x->dts_newest = slot->dts;
  while (x->nahead > 0 && front_ready(x))
    if (decode_front(x))
      return 1;
  return 0;
}

/* The end of the input: decodes what was read ahead, then drains the
 * decoder. Returns 1 when the camera must stop. */
static int drain_all(cam_ctx *x) {
  x->ahead_eof = 1;
  while (x->nahead > 0)
    if (decode_front(x))
      return 1;
  return decode_packet(x, NULL, 0);
}

/* Called at the end of one pass of a file: was all of it there? */
static int file_complete(cam_ctx *x) {
  video_camera *cam = x->cam;
  if (x->session_frames == 0) {
    video_set_error(cam, ARGUS_LOG_ERROR, ARGUS_E_CORRUPT,
                    "no frame could be decoded (corrupt file?)");
    return 0;
  }
  /* Container durations are not exact (edit lists, variable frame rates):
   * only a clearly short file counts as truncated. */
  double tol = 2 * x->frame_dur > 0.5 ? 2 * x->frame_dur : 0.5;
  if (tol < 0.02 * x->duration)
    tol = 0.02 * x->duration;
  if (x->duration > 0 && x->pass_max_rel + x->frame_dur < x->duration - tol) {
    video_set_error(cam, ARGUS_LOG_ERROR, ARGUS_E_CORRUPT,
                    "the video ends at %.2f s of its %.2f s: truncated or "
                    "corrupt file",
                    x->pass_max_rel + x->frame_dur, x->duration);
    return 0;
  }
  return 1;
}

/* Starts a file again from its beginning. */
static int rewind_file(cam_ctx *x) {
  int64_t ts = x->start_pts != AV_NOPTS_VALUE ? x->start_pts : 0;
  arm_deadline(x->cam, x->cam->cfg.read_timeout);
  int ret = av_seek_frame(x->fmt, x->vs, ts, AVSEEK_FLAG_BACKWARD);
  disarm_deadline(x->cam);
  if (ret < 0) {
    char why[300];
    describe_averror(ret, why, sizeof why);
    video_set_error(x->cam, ARGUS_LOG_ERROR, map_averror(ret),
                    "cannot loop (seek to the start failed): %s", why);
    return -1;
  }
  avcodec_flush_buffers(x->dec);
  plan_reset(x);
  x->have_map = 0;
  x->pending_base = x->last_media + x->frame_dur;
  x->pass_max_rel = 0;
  x->session_frames = 0;
  return 0;
}

/* Reads and decodes until the end, an error or a stop request. */
static int run_session(cam_ctx *x) {
  video_camera *cam = x->cam;
  const argus_video_camera_config *cfg = &cam->cfg;
  x->last_progress_ns = argus_time_ns();
  for (;;) {
    if (stopping(cam))
      return END_STOP;
    arm_deadline(cam, cfg->read_timeout);
    int ret = av_read_frame(x->fmt, x->pkt);
    disarm_deadline(cam);
    if (stopping(cam)) {
      av_packet_unref(x->pkt);
      return END_STOP;
    }
    /* The deadline passed inside the read: the source sent nothing for
     * read_timeout. A demuxer may still hand out the part of a packet it
     * had (an HTTP server that keeps the connection open and goes quiet):
     * that is a stall too, not "packets arrive", and the cut packet is not
     * decoded. */
    if (atomic_load(&cam->timed_out)) {
      av_packet_unref(x->pkt);
      video_set_error(cam, ARGUS_LOG_WARN, ARGUS_E_IO,
                      "no data for %.1f s (stalled: read timeout)",
                      cfg->read_timeout);
      return END_ERROR;
    }
    if (ret == AVERROR(EAGAIN)) {
      if (video_camera_sleep_until(cam, argus_time_ns() + 5000000ull))
        return END_STOP;
      continue;
    }
    if (ret == AVERROR_EOF || (ret < 0 && x->fmt->pb && avio_feof(x->fmt->pb) &&
                               x->fmt->pb->error >= 0)) {
      if (drain_all(x))
        return END_STOP;
      if (x->live) {
        video_set_error(cam, ARGUS_LOG_WARN, ARGUS_E_IO,
                        "the stream ended (at media time %.2f s)",
                        x->last_media);
        return x->reconnect ? END_ERROR : END_EOS;
      }
      if (!file_complete(x))
        return END_ERROR;
      if (!cfg->loop)
        return END_EOS;
      if (rewind_file(x) != 0)
        return END_ERROR;
      continue;
    }
    if (ret < 0) {
      char why[300];
      describe_averror(ret, why, sizeof why);
      video_set_error(cam, x->reconnect ? ARGUS_LOG_WARN : ARGUS_LOG_ERROR,
                      map_averror(ret), "read error at media time %.2f s: %s",
                      x->last_media, why);
      return END_ERROR;
    }
    if (x->pkt->stream_index != x->vs) {
      av_packet_unref(x->pkt);
      continue;
    }
    video_count_packet(cam);
    mark_capture(x, x->pkt);
    int stop;
    if (x->fast) {
      stop = plan_packet(x);
    } else {
      stop = decode_packet(x, x->pkt, 0);
      av_packet_unref(x->pkt);
    }
    if (stop)
      return END_STOP;
    /* Packets that never yield a frame (a broken stream) are a stall too. */
    if (x->live &&
        argus_time_ns() - x->last_progress_ns > (uint64_t)(cfg->read_timeout * 1e9)) {
      video_set_error(cam, ARGUS_LOG_WARN, ARGUS_E_CORRUPT,
                      "packets arrive but no frame was decoded for %.1f s",
                      cfg->read_timeout);
      return END_ERROR;
    }
  }
}

void *video_camera_main(void *arg) {
  video_camera *cam = arg;
  const argus_video_camera_config *cfg = &cam->cfg;
  cam_ctx *x = calloc(1, sizeof *x);
  if (!x) {
    video_set_error(cam, ARGUS_LOG_ERROR, ARGUS_E_NOMEM, "out of memory");
    video_set_state(cam, ARGUS_VIDEO_FAILED, 0);
    return NULL;
  }
  x->cam = cam;
  x->live = cam->kind != ARGUS_VIDEO_SOURCE_FILE;
  x->reconnect = cfg->reconnect == ARGUS_VIDEO_AUTO ? x->live : cfg->reconnect;
  x->vs = -1;
  x->pkt = av_packet_alloc();
  x->frame = av_frame_alloc();
  int ahead_ok = 1;
  for (int i = 0; i < LOOKAHEAD_MAX; i++)
    ahead_ok &= (x->ahead[i] = av_packet_alloc()) != NULL;
  if (!x->pkt || !x->frame || !ahead_ok) {
    video_set_error(cam, ARGUS_LOG_ERROR, ARGUS_E_NOMEM, "out of memory");
    video_set_state(cam, ARGUS_VIDEO_FAILED, 0);
    goto out;
  }

  int failures = 0;   /* consecutive opens or sessions without a frame */
  int trouble = 0;    /* a connection was lost or an open failed */
  argus_video_state final = ARGUS_VIDEO_STOPPED;
  while (!stopping(cam)) {
    video_set_state(cam, ARGUS_VIDEO_CONNECTING, 0);
    int permanent = 0;
    argus_err e = open_source(x, &permanent);
    if (stopping(cam)) {
      close_source(x);
      break;
    }
    if (e == ARGUS_OK) {
      x->ever_opened = 1;
      video_count_connect(cam, trouble);
      if (trouble)
        argus_log(ARGUS_LOG_WARN, MOD, "camera %d '%s': reconnected",
                  cam->index, cam->name);
      video_set_state(cam, ARGUS_VIDEO_STREAMING, 1);
      /* A new time line follows the old one without going back. For a live
       * source the gap is the time it was away. */
      x->have_map = 0;
      x->session_frames = 0;
      x->pass_max_rel = 0;
      x->have_pace = 0;
      if (x->have_last) {
        double gap = x->frame_dur;
        if (x->live) {
          double away = (double)(argus_time_ns() - x->last_frame_mono) * 1e-9;
          if (away > gap)
            gap = away;
        }
        x->pending_base = x->last_media + gap;
      }
      int end = run_session(x);
      uint64_t frames = x->session_frames;
      close_source(x);
      if (end == END_STOP)
        break;
      if (frames > 0)
        failures = 0;
      if (end == END_EOS) {
        final = ARGUS_VIDEO_FINISHED;
        break;
      }
    }
    trouble = 1;
    if (stopping(cam))
      break;
    if (!x->reconnect || permanent) {
      final = ARGUS_VIDEO_FAILED;
      break;
    }
    double delay = cfg->backoff_min * pow(2.0, failures < 40 ? failures : 40);
    if (delay > cfg->backoff_max)
      delay = cfg->backoff_max;
    failures++;
    video_set_waiting(cam, delay);
    argus_log(ARGUS_LOG_INFO, MOD, "camera %d '%s': reconnecting in %.1f s",
              cam->index, cam->name, delay);
    if (video_camera_sleep_until(cam, argus_time_ns() + (uint64_t)(delay * 1e9)))
      break;
  }
  if (stopping(cam))
    video_set_state(cam, ARGUS_VIDEO_STOPPED, 0);
  else if (final == ARGUS_VIDEO_FAILED)
    video_set_failed(cam);
  else
    video_set_state(cam, final, 0);
  if (final == ARGUS_VIDEO_FINISHED && !stopping(cam))
    argus_log(ARGUS_LOG_INFO, MOD, "camera %d '%s': finished at media time %.2f s",
              cam->index, cam->name, x->last_media);

out:
  for (int i = 0; i < LOOKAHEAD_MAX; i++)
    av_packet_free(&x->ahead[i]);
  av_packet_free(&x->pkt);
  av_frame_free(&x->frame);
  sws_freeContext(x->sws);
  free(x);
  return NULL;
}
