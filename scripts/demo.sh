#!/usr/bin/env bash
# The main job, from a fresh Debian 12 machine: installs what is missing,
# fetches the default face models and the peer engines, builds argus, shows
# what the models are, and runs the engine benchmark (argus vs ONNX Runtime
# vs OpenCV DNN on the same files, inputs and thread counts).
#
#   scripts/demo.sh [bench/nn_bench.sh options, e.g. --quick or --rounds 5]
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
jobs="${ARGUS_JOBS:-2}"
bdir="${ARGUS_BUILD_DIR:-build}"

bash scripts/setup.sh
bash scripts/fetch-models.sh
bash scripts/install-peers.sh

cmake -S . -B "$bdir" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
ninja -C "$bdir" -j "$jobs" argus_cli

printf '\n'
"$bdir/argus" version
for m in fr_detect fr_landmark fr_feature; do
  printf '\n'
  "$bdir/argus" nn info "models/$m.onnx"
done
printf '\n'
ARGUS_BIN="$root/$bdir/argus" exec bash bench/nn_bench.sh "$@"
