#!/usr/bin/env bash
# The main job, from a fresh Debian 12 machine: installs what is missing,
# fetches the default face models, builds argus, and runs `argus demo`: it
# fetches six group photos (npm package @vladmandic/face-api@1.7.15), finds
# the person who is in two of them, enrols that person into a demo watchlist,
# turns the other photos into a simulated camera (ffmpeg) and watches it live:
# alerts arrive on stdout, status lines on stderr.
#
#   scripts/demo.sh [argus demo options, e.g. --duration 60 or --json]
#   scripts/demo.sh --bench [bench/nn_bench.sh options, e.g. --quick]
#       first the engine benchmark (argus vs ONNX Runtime vs OpenCV DNN on
#       the same model files, inputs and thread counts), then the demo
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
jobs="${ARGUS_JOBS:-2}"
bdir="${ARGUS_BUILD_DIR:-build}"

bench=0
if [[ "${1:-}" == --bench ]]; then
  bench=1
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
exec "$bdir/argus" demo --models "$root/models" "$@"
