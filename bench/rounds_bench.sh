#!/usr/bin/env bash
# One model on one thread, argus against ONNX Runtime 1.30 on the same file,
# in interleaved rounds: each round runs every argus binary at every
# precision, then ONNX Runtime, each for --iters runs. Prints each engine's
# median of the rounds' medians and minimum of their minimums (ms), and the
# ratios to ONNX Runtime. Small models need many runs a round (1000 or more
# for fr_landmark): with 100, ONNX Runtime's median came out 0.24-0.26 ms
# against 0.19-0.20 with 1000.
#
#   bench/rounds_bench.sh MODEL [--rounds N] [--iters N] [--precision P]...
#                               [--bin NAME=PATH]...
#
# --precision: f32, bf16 or int8 (repeatable; default f32, as `argus nn
# bench`, which does not read model cards).
# --bin: an argus binary to time besides build/argus (another build, to
# compare two versions side by side; repeatable).
# Needs ONNX Runtime for Node (scripts/install-peers.sh).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ $# -lt 1 ] || [ "${1#-}" != "$1" ]; then
  echo "usage: $0 MODEL [--rounds N] [--iters N] [--precision P]... [--bin NAME=PATH]..." >&2
  exit 2
fi
model=$1
shift
rounds=6
iters=1000
precisions=()
bins=("argus=${ARGUS_BIN:-$root/build/argus}")
while [ $# -gt 0 ]; do
  case "$1" in
  --rounds) rounds=$2; shift 2 ;;
  --iters) iters=$2; shift 2 ;;
  --precision) precisions+=("$2"); shift 2 ;;
  --bin) bins+=("$2"); shift 2 ;;
  *) echo "$0: unknown option $1" >&2; exit 2 ;;
  esac
done
[ ${#precisions[@]} -gt 0 ] || precisions=(f32)
[ -f "$model" ] || { echo "$0: no model at $model" >&2; exit 1; }
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for ((r = 1; r <= rounds; r++)); do
  for b in "${bins[@]}"; do
    name=${b%%=*}
    path=${b#*=}
    for p in "${precisions[@]}"; do
      "$path" nn bench "$model" --threads 1 --iters "$iters" --precision "$p" |
        tail -1 | sed "s/^/$name-$p /" >> "$out"
    done
  done
  node "$root/bench/ort_bench.js" "$model" --threads 1 --iters "$iters" \
    2>/dev/null | tail -1 | sed "s/^/ort /" >> "$out"
done
/usr/bin/python3 - "$out" "$model" "$rounds" "$iters" <<'PY'
import json, statistics, sys
runs, order = {}, []
for line in open(sys.argv[1]):
    who, doc = line.split(" ", 1)
    d = json.loads(doc)
    if who not in runs:
        order.append(who)
    runs.setdefault(who, []).append((d["ms_median"], d.get("ms_min", d["ms_median"])))
print("%s, one thread, %s rounds of %s runs" % (sys.argv[2], sys.argv[3], sys.argv[4]))
print("| engine | median of medians ms | min ms | ratio to ONNX Runtime (medians / mins) |")
print("|---|---|---|---|")
ort = runs.get("ort", [])
om = statistics.median(m for m, _ in ort) if ort else float("nan")
on = min(n for _, n in ort) if ort else float("nan")
for who in order:
    rs = runs[who]
    m = statistics.median(x for x, _ in rs)
    n = min(y for _, y in rs)
    print("| %s | %.4f | %.4f | %.2f / %.2f |" % (who, m, n, m / om, n / on))
PY
