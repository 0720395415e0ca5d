#!/usr/bin/env bash
# The engine benchmark: argus vs ONNX Runtime 1.30 vs OpenCV DNN (when
# python3-opencv is installed) on the default face models; prints a table of
# milliseconds and ratios. See bench/nn_bench.js for the method.
#
#   bench/nn_bench.sh [--rounds N] [--quick] [--no-opencv] [--json FILE]
#
# Environment: ARGUS_BIN (default: build/argus), ARGUS_MODELS_DIR (default:
# models/), ARGUS_PEERS_DIR (default: .cache/peers).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="${ARGUS_BIN:-$root/build/argus}"
models="${ARGUS_MODELS_DIR:-$root/models}"
peers="${ARGUS_PEERS_DIR:-$root/.cache/peers}"

if [[ ! -x "$bin" ]]; then
  echo "nn_bench: no argus binary at $bin" >&2
  echo "  build it: cmake -S . -B build -G Ninja && ninja -C build (or set ARGUS_BIN)" >&2
  exit 1
fi
for m in fr_detect fr_feature fr_landmark; do
  if [[ ! -f "$models/$m.onnx" ]]; then
    echo "nn_bench: $models/$m.onnx is missing; run scripts/fetch-models.sh" >&2
    exit 1
  fi
done
if ! command -v node >/dev/null 2>&1; then
  echo "nn_bench: node not found; run scripts/setup.sh" >&2
  exit 1
fi
if [[ ! -f "$peers/node_modules/onnxruntime-node/package.json" ]]; then
  echo "nn_bench: ONNX Runtime is missing from $peers; run scripts/install-peers.sh" >&2
  exit 1
fi
extra=()
if ! /usr/bin/python3 -c 'import cv2, numpy' >/dev/null 2>&1; then
  echo "nn_bench: OpenCV DNN not available (install python3-opencv: scripts/setup.sh); column left out" >&2
  extra+=(--no-opencv)
fi
export ARGUS_PEERS_DIR="$peers"
exec node "$root/bench/nn_bench.js" --argus "$bin" --models "$models" "${extra[@]}" "$@"
