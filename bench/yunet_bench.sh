#!/usr/bin/env bash
# The default detector's speed on one thread: argus (the card's bf16, f32,
# and int8 with --int8) against ONNX Runtime 1.30 on the dynamic export of
# the same weights,
# at 640x480 and 1920x1088, rounds interleaved; prints each round and the
# median of the rounds' medians and the minimum of their minimums (ms), and
# the ratios to ONNX Runtime.
#
#   bench/yunet_bench.sh [--rounds N] [--iters N] [--int8]
#
# Needs ONNX Runtime for Node (scripts/install-peers.sh) and
# ../shared/models/yunet_n_dynamic.onnx.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
rounds=5
iters=50
precisions="bf16 f32"
while [ $# -gt 0 ]; do
  case "$1" in
  --rounds) rounds=$2; shift 2 ;;
  --iters) iters=$2; shift 2 ;;
  --int8) precisions="bf16 f32 int8"; shift ;;
  *) echo "usage: $0 [--rounds N] [--iters N] [--int8]" >&2; exit 2 ;;
  esac
done
bin="${ARGUS_BIN:-$root/build/argus}"
model="${ARGUS_MODELS_DIR:-$root/models}/yunet_n_640_640.onnx"
dyn="$root/../shared/models/yunet_n_dynamic.onnx"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for size in 480x640 1088x1920; do
  h=${size%x*}
  w=${size#*x}
  for ((r = 1; r <= rounds; r++)); do
    for p in $precisions; do
      "$bin" nn bench "$model" --threads 1 --input-shape "input=1,3,$h,$w" \
        --precision $p --iters "$iters" |
        sed "s/^/argus-$p $w""x$h /" >> "$out"
    done
    node "$root/bench/ort_bench.js" "$dyn" --threads 1 --height "$h" --width "$w" \
      --iters "$iters" 2>/dev/null | tail -1 | sed "s/^/ort $w""x$h /" >> "$out"
  done
done
python3 - "$out" <<'EOF'
import json, statistics, sys
runs = {}
for line in open(sys.argv[1]):
    who, size, doc = line.split(" ", 2)
    d = json.loads(doc)
    runs.setdefault((size, who), []).append((d["ms_median"], d.get("ms_min", d["ms_median"])))
print("| input | engine | median of medians ms | min ms | ratio to ONNX Runtime (medians / mins) |")
print("|---|---|---|---|---|")
for size in ("640x480", "1920x1088"):
    ort = runs.get((size, "ort"), [])
    om = statistics.median(m for m, _ in ort) if ort else float("nan")
    on = min(n for _, n in ort) if ort else float("nan")
    for who in ("argus-bf16", "argus-f32", "argus-int8", "ort"):
        rs = runs.get((size, who), [])
        if not rs:
            continue
        m = statistics.median(x for x, _ in rs)
        n = min(y for _, y in rs)
        print("| %s | %s | %.2f | %.2f | %.2f / %.2f |" % (size, who, m, n, m / om, n / on))
EOF
