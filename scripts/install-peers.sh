#!/usr/bin/env bash
# Installs the peer engines that the reference script (scripts/ort-reference.js)
# and the benchmark (bench/nn_bench.sh) compare argus with, into .cache/peers/
# (git ignores it): ONNX Runtime for Node.js. Its install script tries to
# download optional extras, so it is skipped; the Linux x64 library is inside
# the package. OpenCV DNN comes from Debian (python3-opencv, scripts/setup.sh).
# Does nothing when the pinned version is already there.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
peers="${ARGUS_PEERS_DIR:-$root/.cache/peers}"
ort_version=1.30.0

have_ort() {
  node -e 'const p = require(process.argv[1] + "/node_modules/onnxruntime-node/package.json");
           process.exit(p.version === process.argv[2] ? 0 : 1)' "$peers" "$ort_version" 2>/dev/null
}

if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
  echo "install-peers: node/npm not found; run scripts/setup.sh first" >&2
  exit 1
fi

if have_ort; then
  echo "install-peers: onnxruntime-node@$ort_version present in $peers"
  exit 0
fi

mkdir -p "$peers"
if [[ ! -f "$peers/package.json" ]]; then
  printf '{\n  "name": "argus-peers",\n  "private": true\n}\n' >"$peers/package.json"
fi
echo "install-peers: installing onnxruntime-node@$ort_version into $peers"
npm install --prefix "$peers" --ignore-scripts --no-audit --no-fund --silent \
  "onnxruntime-node@$ort_version"
if ! have_ort; then
  echo "install-peers: onnxruntime-node@$ort_version did not install" >&2
  exit 1
fi
# Check that the native binding loads on this machine.
(cd "$peers" && node -e 'require("onnxruntime-node")') || {
  echo "install-peers: onnxruntime-node is installed but its native library does not load" >&2
  exit 1
}
echo "install-peers: done"
