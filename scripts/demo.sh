#!/usr/bin/env bash
# The main job, from a fresh Debian 12 machine: installs what is missing,
# fetches the default face models, builds argus, and runs `argus demo
# --serve`: it fetches six group photos (npm package
# @vladmandic/face-api@1.7.15), finds the person who is in two of them,
# enrols that person into a demo watchlist, turns the other photos into a
# simulated camera (ffmpeg) and runs `argus serve` on it: open the printed
# URL, log in with the printed operator name and password, and alerts appear
# on the console's live page (within a minute). Ctrl-C stops.
#
#   scripts/demo.sh [--listen ADDR:PORT]      the web console (default
#                                             127.0.0.1:8080)
#   scripts/demo.sh --terminal [argus demo options, e.g. --duration 60 or
#       --json]  the terminal demo: alerts on stdout, status lines on stderr
#   scripts/demo.sh --bench [bench/nn_bench.sh options, e.g. --quick]
#       first the engine benchmark (argus vs ONNX Runtime vs OpenCV DNN on
#       the same model files, inputs and thread counts), then the terminal
#       demo
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
jobs="${ARGUS_JOBS:-2}"
bdir="${ARGUS_BUILD_DIR:-build}"

bench=0
terminal=0
if [[ "${1:-}" == --bench ]]; then
  bench=1
  terminal=1
  shift
elif [[ "${1:-}" == --terminal ]]; then
  terminal=1
  shift
fi

bash scripts/setup.sh
bash scripts/fetch-models.sh
if ((bench)); then
  bash scripts/install-peers.sh
fi

cmake -S . -B "$bdir" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
ninja -C "$bdir" -j "$jobs" argus_cli

printf '\n'
"$bdir/argus" version
if ((bench)); then
  for m in fr_detect fr_landmark fr_feature; do
    printf '\n'
    "$bdir/argus" nn info "models/$m.onnx"
  done
  printf '\n'
  ARGUS_BIN="$root/$bdir/argus" bash bench/nn_bench.sh "$@"
  set --
fi
printf '\n'
if ((terminal)); then
  exec "$bdir/argus" demo --models "$root/models" "$@"
fi
exec "$bdir/argus" demo --serve --models "$root/models" "$@"
