// An argus plug-in (include/argus/plugin.h) on another inference engine:
// the default embedder's model, models/fr_feature.onnx (MobileFaceNet,
// 112x112 BGR -> 512 values), run by OpenCV's DNN module. C++ inside, the
// plain C ABI outside: one exported function, argus_plugin_entry.
//
// The host aligns the faces (the same 5-point template as fr_feature's card)
// and passes 112x112 BGR crops; this plug-in does the card's normalisation
// ((p - 127) / 128, NCHW, BGR) with cv::dnn::blobFromImages and runs the
// network. Its id, opencv_dnn_fr_feature@faceplugin-0.0.1+opencv, differs
// from the default's, so argus never compares its templates with the
// default embedder's even though they come from the same weights
// (tests/test_plugin_opencv.c checks that they agree closely).
//
// The model file: $ARGUS_OPENCV_DNN_MODEL, else fr_feature.onnx in the
// host's models folder. One cv::dnn::Net per instance (per host thread).
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include <sys/stat.h>

#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>

#ifndef ARGUS_PLUGIN_ABI_ONLY
#define ARGUS_PLUGIN_ABI_ONLY
#endif
#include "argus/plugin.h"

namespace {

constexpr int kDim = 512;
constexpr int kSize = 112;

const argus_plugin_host *g_host = nullptr;
std::string g_model;

void say(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void say(int level, const char *fmt, ...) {
  if (!g_host || !g_host->log)
    return;
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  g_host->log(g_host->host_ctx, level, buf);
}

struct Instance {
  cv::dnn::Net net;
};

int emb_create(void **inst, char *err, size_t err_size) {
  *inst = nullptr;
  try {
    Instance *i = new Instance();
    try {
      i->net = cv::dnn::readNetFromONNX(g_model);
      i->net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
      i->net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
    } catch (...) {
      delete i;
      throw;
    }
    *inst = i;
    return 0;
  } catch (const std::exception &e) {
    std::snprintf(err, err_size, "%s: %s", g_model.c_str(), e.what());
  } catch (...) {
    std::snprintf(err, err_size, "%s: unknown error", g_model.c_str());
  }
  return 1;
}

void emb_destroy(void *inst) { delete static_cast<Instance *>(inst); }

int emb_run(void *inst, const argus_plugin_image *crops, int n, float *out,
            char *err, size_t err_size) {
  Instance *i = static_cast<Instance *>(inst);
  try {
    std::vector<cv::Mat> mats;
    mats.reserve(static_cast<size_t>(n));
    for (int k = 0; k < n; k++) {
      const argus_plugin_image &c = crops[k];
      if (c.format != ARGUS_PLUGIN_PIX_BGR8 || c.width != kSize ||
          c.height != kSize) {
        std::snprintf(err, err_size,
                      "crop %d is %dx%d format %d, not %dx%d BGR8", k, c.width,
                      c.height, c.format, kSize, kSize);
        return 1;
      }
      // A view of the host's pixels (read only: blobFromImages copies).
      mats.emplace_back(c.height, c.width, CV_8UC3,
                        const_cast<uint8_t *>(c.data),
                        static_cast<size_t>(c.stride));
    }
    // (p - 127) * (1/128), BGR kept (swapRB false), no crop: the card's
    // normalisation of fr_feature.
    cv::Mat blob = cv::dnn::blobFromImages(mats, 1.0 / 128.0,
                                           cv::Size(kSize, kSize),
                                           cv::Scalar(127, 127, 127), false,
                                           false, CV_32F);
    i->net.setInput(blob, "input");
    cv::Mat o = i->net.forward("output");
    if (o.type() != CV_32F || o.total() != static_cast<size_t>(n) * kDim) {
      std::snprintf(err, err_size,
                    "output has %zu values of type %d, expected %d x %d "
                    "floats",
                    static_cast<size_t>(o.total()), o.type(), n, kDim);
      return 1;
    }
    if (!o.isContinuous())
      o = o.clone();
    std::memcpy(out, o.ptr<float>(), static_cast<size_t>(n) * kDim * sizeof(float));
    return 0;
  } catch (const std::exception &e) {
    std::snprintf(err, err_size, "OpenCV: %s", e.what());
  } catch (...) {
    std::snprintf(err, err_size, "OpenCV: unknown error");
  }
  return 1;
}

argus_plugin_embedder g_embedder;
argus_plugin_descriptor g_desc;

} // namespace

extern "C" ARGUS_PLUGIN_EXPORT const argus_plugin_descriptor *
argus_plugin_entry(const argus_plugin_host *host) {
  g_host = host;
  if (!host || host->abi_major != ARGUS_PLUGIN_ABI_MAJOR)
    return nullptr;
  const char *env = std::getenv("ARGUS_OPENCV_DNN_MODEL");
  if (env && env[0])
    g_model = env;
  else
    g_model = std::string(host->models_dir ? host->models_dir : "models") +
              "/fr_feature.onnx";
  struct stat st;
  if (stat(g_model.c_str(), &st) != 0) {
    say(ARGUS_PLUGIN_LOG_ERROR,
        "model %s not found (run scripts/fetch-models.sh, pass --models DIR "
        "or set ARGUS_OPENCV_DNN_MODEL)",
        g_model.c_str());
    return nullptr;
  }
  say(ARGUS_PLUGIN_LOG_INFO, "fr_feature through OpenCV %s DNN from %s",
      CV_VERSION, g_model.c_str());

  argus_plugin_embedder &e = g_embedder;
  std::memset(&e, 0, sizeof e);
  e.dim = kDim;
  e.align_width = kSize;
  e.align_height = kSize;
  // fr_feature's card template (share/models/fr_feature.card.json).
  static const float tmpl[ARGUS_PLUGIN_NPOINTS][2] = {{38.2946f, 51.6963f},
                                                      {73.5318f, 51.5014f},
                                                      {56.0252f, 71.7366f},
                                                      {41.5493f, 92.3655f},
                                                      {70.7299f, 92.2041f}};
  std::memcpy(e.align_template, tmpl, sizeof tmpl);
  e.max_batch = 16;
  e.crop_format = ARGUS_PLUGIN_PIX_BGR8;
  // The same weights give the same embeddings (to ~1e-6), so fr_feature's
  // calibrated thresholds hold.
  e.nthresholds = 3;
  e.thresholds[0] = {1e-2, 0.291f};
  e.thresholds[1] = {1e-3, 0.3876f};
  e.thresholds[2] = {1e-4, 0.4641f};
  e.default_fmr = 1e-3;
  e.calibration = "calibrated: fr_feature's LFW-112 thresholds "
                  "(eval/lfw_verify.py); same weights, embeddings checked "
                  "against the argus engine's by test_plugin_opencv";
  e.create = emb_create;
  e.destroy = emb_destroy;
  e.run = emb_run;

  argus_plugin_descriptor &d = g_desc;
  std::memset(&d, 0, sizeof d);
  d.abi_major = ARGUS_PLUGIN_ABI_MAJOR;
  d.abi_minor = ARGUS_PLUGIN_ABI_MINOR;
  d.name = "opencv_dnn_fr_feature";
  d.version = "faceplugin-0.0.1+opencv";
  d.description = "fr_feature (MobileFaceNet) through OpenCV's DNN module";
  d.license = "MIT (model), Apache-2.0 (OpenCV)";
  d.detector = nullptr;
  d.embedder = &e;
  return &d;
}
