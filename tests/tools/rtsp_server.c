/*
 * rtsp_server: a small RTSP server for the video tests, on GStreamer's
 * gst-rtsp-server (Debian: libgstrtspserver-1.0-dev, gstreamer1.0-plugins-good
 * for rtph264pay and the RTP/UDP elements).
 *
 *   rtsp_server [--port N] [--path /name] [--no-loop] FILE
 *
 * Serves the H.264 track of FILE (any container FFmpeg reads) at
 * rtsp://127.0.0.1:PORT/name, at its native rate, in a loop (the
 * timestamps keep growing across loops, as a live camera's do). Each client
 * gets its own stream from the start of the file. Once listening it prints
 * one line "READY rtsp://127.0.0.1:PORT/name" on stdout (PORT is the bound
 * one when --port 0 asked for any free port) and serves until killed. When a
 * GStreamer element it needs is not installed it prints "SKIP <why>" and
 * exits with 77.
 *
 * The access units are read with libavformat and pushed through an appsrc
 * into rtph264pay: looping a demuxer inside GStreamer would need segment
 * seeks that the RTSP media's own seeking overrides, while here a loop is
 * just a seek of our own reader and an offset on the timestamps.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gst/app/gstappsrc.h>
#include <gst/gst.h>
#include <gst/rtsp-server/rtsp-server.h>
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>

typedef struct settings {
  const char *file;
  int loop;
  int width, height;
  AVRational fps;
  GstBuffer *codec_data; /* avcC record from the file */
} settings;

/* One client's reader. */
typedef struct reader {
  const settings *set;
  AVFormatContext *fmt;
  AVPacket *pkt;
  int vs;
  AVRational tb;
  int64_t start;       /* first timestamp of the file */
  int64_t offset_ns;   /* added to timestamps: loops done so far */
  int64_t pass_end_ns; /* end of the latest frame of this pass */
  int ended;
} reader;

static void reader_free(gpointer p) {
  reader *r = p;
  if (!r)
    return;
  av_packet_free(&r->pkt);
  avformat_close_input(&r->fmt);
  g_free(r);
}

static reader *reader_open(const settings *set) {
  reader *r = g_new0(reader, 1);
  r->set = set;
  r->pkt = av_packet_alloc();
  if (!r->pkt || avformat_open_input(&r->fmt, set->file, NULL, NULL) < 0 ||
      avformat_find_stream_info(r->fmt, NULL) < 0) {
    fprintf(stderr, "rtsp_server: cannot read %s\n", set->file);
    reader_free(r);
    return NULL;
  }
  r->vs = av_find_best_stream(r->fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
  if (r->vs < 0) {
    reader_free(r);
    return NULL;
  }
  AVStream *st = r->fmt->streams[r->vs];
  r->tb = st->time_base;
  r->start = st->start_time != AV_NOPTS_VALUE ? st->start_time : 0;
  return r;
}

/* Nanoseconds from the start of the file; INT64_MIN when unknown. */
static int64_t rel_ns(const reader *r, int64_t ts) {
  if (ts == AV_NOPTS_VALUE)
    return INT64_MIN;
  return av_rescale_q(ts - r->start, r->tb, (AVRational){1, 1000000000});
}

/* appsrc asks for data: push the next access unit of the video track. */
static void need_data(GstElement *appsrc, guint length, gpointer user) {
  (void)length;
  reader *r = user;
  if (r->ended)
    return;
  for (;;) {
    int ret = av_read_frame(r->fmt, r->pkt);
    if (ret < 0) {
      if (!r->set->loop || r->pass_end_ns <= 0) {
        r->ended = 1;
        gst_app_src_end_of_stream(GST_APP_SRC(appsrc));
        return;
      }
      r->offset_ns += r->pass_end_ns;
      r->pass_end_ns = 0;
      if (av_seek_frame(r->fmt, r->vs, r->start, AVSEEK_FLAG_BACKWARD) < 0) {
        r->ended = 1;
        gst_app_src_end_of_stream(GST_APP_SRC(appsrc));
        return;
      }
      continue;
    }
    if (r->pkt->stream_index != r->vs) {
      av_packet_unref(r->pkt);
      continue;
    }
    break;
  }
  AVPacket *p = r->pkt;
  GstBuffer *buf = gst_buffer_new_allocate(NULL, (gsize)p->size, NULL);
  gst_buffer_fill(buf, 0, p->data, (gsize)p->size);
  int64_t pts = rel_ns(r, p->pts), dts = rel_ns(r, p->dts);
  if (pts != INT64_MIN && pts + r->offset_ns >= 0) {
    GST_BUFFER_PTS(buf) = (GstClockTime)(pts + r->offset_ns);
    int64_t dur = p->duration > 0
                      ? av_rescale_q(p->duration, r->tb, (AVRational){1, 1000000000})
                      : 0;
    if (pts + dur > r->pass_end_ns)
      r->pass_end_ns = pts + dur;
    if (dur > 0)
      GST_BUFFER_DURATION(buf) = (GstClockTime)dur;
  }
  /* Decoding timestamps before the first frame (B-frames) are left unset. */
  if (dts != INT64_MIN && dts + r->offset_ns >= 0)
    GST_BUFFER_DTS(buf) = (GstClockTime)(dts + r->offset_ns);
  if (!(p->flags & AV_PKT_FLAG_KEY))
    GST_BUFFER_FLAG_SET(buf, GST_BUFFER_FLAG_DELTA_UNIT);
  av_packet_unref(p);
  gst_app_src_push_buffer(GST_APP_SRC(appsrc), buf);
}

/* A client's media was built: give its appsrc caps and a reader. */
static void media_configure(GstRTSPMediaFactory *factory, GstRTSPMedia *media,
                            gpointer user) {
  (void)factory;
  const settings *set = user;
  GstElement *bin = gst_rtsp_media_get_element(media);
  GstElement *src = gst_bin_get_by_name_recurse_up(GST_BIN(bin), "src");
  reader *r = reader_open(set);
  if (src && r) {
    GstCaps *caps = gst_caps_new_simple(
        "video/x-h264", "stream-format", G_TYPE_STRING, "avc", "alignment",
        G_TYPE_STRING, "au", "codec_data", GST_TYPE_BUFFER, set->codec_data,
        "width", G_TYPE_INT, set->width, "height", G_TYPE_INT, set->height,
        "framerate", GST_TYPE_FRACTION, set->fps.num, set->fps.den, NULL);
    g_object_set(src, "caps", caps, "format", GST_FORMAT_TIME, "max-bytes",
                 (guint64)(4 << 20), NULL);
    gst_caps_unref(caps);
    g_object_set_data_full(G_OBJECT(media), "argus-reader", r, reader_free);
    g_signal_connect(src, "need-data", G_CALLBACK(need_data), r);
  } else {
    reader_free(r);
  }
  if (src)
    gst_object_unref(src);
  gst_object_unref(bin);
}

static int usage(void) {
  fprintf(stderr,
          "usage: rtsp_server [--port N] [--path /name] [--no-loop] FILE\n");
  return 2;
}

int main(int argc, char **argv) {
  gst_init(&argc, &argv);
  settings set = {0};
  set.loop = 1;
  const char *port = "8554";
  const char *path = "/stream";
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--port") == 0 && i + 1 < argc)
      port = argv[++i];
    else if (strcmp(argv[i], "--path") == 0 && i + 1 < argc)
      path = argv[++i];
    else if (strcmp(argv[i], "--no-loop") == 0)
      set.loop = 0;
    else if (argv[i][0] == '-')
      return usage();
    else
      set.file = argv[i];
  }
  if (!set.file || path[0] != '/')
    return usage();

  /* Without these elements every client would fail: say so at once. */
  const char *needed[] = {"appsrc", "rtph264pay", "rtpbin", "udpsink", "udpsrc"};
  for (size_t i = 0; i < sizeof needed / sizeof needed[0]; i++) {
    GstElementFactory *f = gst_element_factory_find(needed[i]);
    if (!f) {
      printf("SKIP GStreamer element %s is missing (gstreamer1.0-plugins-good "
             "or -base)\n", needed[i]);
      fflush(stdout);
      return 77;
    }
    gst_object_unref(f);
  }

  /* The stream's parameters, once, for the caps of every client. */
  AVFormatContext *fmt = NULL;
  if (avformat_open_input(&fmt, set.file, NULL, NULL) < 0 ||
      avformat_find_stream_info(fmt, NULL) < 0) {
    fprintf(stderr, "rtsp_server: cannot read %s\n", set.file);
    return 1;
  }
  int vs = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, NULL, 0);
  if (vs < 0 || fmt->streams[vs]->codecpar->codec_id != AV_CODEC_ID_H264 ||
      fmt->streams[vs]->codecpar->extradata_size < 7 ||
      fmt->streams[vs]->codecpar->extradata[0] != 1) {
    fprintf(stderr, "rtsp_server: %s has no H.264 (avcC) video track\n",
            set.file);
    return 1;
  }
  AVStream *st = fmt->streams[vs];
  set.width = st->codecpar->width;
  set.height = st->codecpar->height;
  set.fps = st->avg_frame_rate.num > 0 ? st->avg_frame_rate
                                       : (AVRational){25, 1};
  set.codec_data = gst_buffer_new_allocate(
      NULL, (gsize)st->codecpar->extradata_size, NULL);
  gst_buffer_fill(set.codec_data, 0, st->codecpar->extradata,
                  (gsize)st->codecpar->extradata_size);
  avformat_close_input(&fmt);

  GstRTSPServer *server = gst_rtsp_server_new();
  gst_rtsp_server_set_address(server, "127.0.0.1");
  gst_rtsp_server_set_service(server, port);
  GstRTSPMediaFactory *factory = gst_rtsp_media_factory_new();
  gst_rtsp_media_factory_set_launch(
      factory, "( appsrc name=src is-live=false ! rtph264pay name=pay0 pt=96 "
               "config-interval=-1 )");
  gst_rtsp_media_factory_set_shared(factory, FALSE);
  g_signal_connect(factory, "media-configure", G_CALLBACK(media_configure),
                   &set);
  GstRTSPMountPoints *mounts = gst_rtsp_server_get_mount_points(server);
  gst_rtsp_mount_points_add_factory(mounts, path, factory);
  g_object_unref(mounts);

  if (gst_rtsp_server_attach(server, NULL) == 0) {
    fprintf(stderr, "rtsp_server: cannot listen on 127.0.0.1:%s\n", port);
    return 1;
  }
  printf("READY rtsp://127.0.0.1:%d%s\n", gst_rtsp_server_get_bound_port(server),
         path);
  fflush(stdout);
  GMainLoop *loop = g_main_loop_new(NULL, FALSE);
  g_main_loop_run(loop);
  return 0;
}
