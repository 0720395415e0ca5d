#!/usr/bin/env bash
# Motion-gated detection on the sample videos: `argus watch` on each clip
# with --motion off and on (rounds interleaved), and what the detector did:
# frames analysed, searched whole / in a window / skipped, the share of the
# frames' area searched, faces and tracks found, and the process CPU time
# (user + system, the minimum over the rounds: decoding included, so the
# saving shows against the whole pipeline).
#
#   bench/motion_bench.sh [--rounds N] [--data DIR] [--argus PATH]
#
# Clips: ../shared/data/video/{office_one_by_one_139s,hamilton_clip_10s,
# crowd_walk_1080p_4s}.mp4 and a still scene made from the office clip's
# empty first frame (8 s, H.264, in a temporary folder).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
rounds=3
data="$here/../shared/data"
argus="$here/build/argus"
while [ $# -gt 0 ]; do
  case "$1" in
  --rounds) rounds=$2; shift 2 ;;
  --data) data=$2; shift 2 ;;
  --argus) argus=$2; shift 2 ;;
  *) echo "usage: $0 [--rounds N] [--data DIR] [--argus PATH]" >&2; exit 2 ;;
  esac
done
export ARGUS_MODELS=${ARGUS_MODELS:-$here/models}
work=$(mktemp -d /tmp/argus-motion-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
v="$data/video"
ffmpeg -nostdin -loglevel error -y -i "$v/office_one_by_one_139s.mp4" -frames:v 1 \
  -f image2 -c:v png "$work/first.png"
ffmpeg -nostdin -loglevel error -y -loop 1 -framerate 25 -i "$work/first.png" -t 8 \
  -c:v libx264 -preset veryfast -pix_fmt yuv420p "$work/still.mp4"
clips=("$work/still.mp4" "$v/office_one_by_one_139s.mp4" "$v/hamilton_clip_10s.mp4"
  "$v/crowd_walk_1080p_4s.mp4")

# One run: prints "frames whole windows skipped area faces tracks cpu".
one() {
  local clip=$1 motion=$2 d
  d=$(mktemp -d "$work/run.XXXXXX")
  /usr/bin/time -f "%U %S" -o "$d/time" "$argus" watch "$clip" --db "$d/a.db" \
    --motion "$motion" --status-interval 1000 2> "$d/err" > /dev/null
  python3 - "$d/err" "$d/time" <<'EOF'
import re, sys
err = open(sys.argv[1]).read()
u, s = open(sys.argv[2]).read().split()[-2:]
frames = re.findall(r"\] 1 camera \(\d+ finished\): (\d+) frames analysed", err)[-1]
cam = [l for l in err.splitlines() if re.search(r"\bfaces \d+, tracks \d+", l)][-1]
faces, tracks = re.search(r"\bfaces (\d+), tracks (\d+)", cam).groups()
g = re.search(r"detector: (\d+) whole, (\d+) windows, (\d+) skipped \((\d+) %", cam)
whole, win, skip, area = g.groups() if g else (frames, "0", "0", "100")
print(frames, whole, win, skip, area, faces, tracks, "%.2f" % (float(u) + float(s)))
EOF
  rm -rf "$d"
}

printf "| clip | motion | frames | whole | windows | skipped | area | faces | tracks | CPU s (min of %d) |\n" "$rounds"
printf "|---|---|---|---|---|---|---|---|---|---|\n"
for clip in "${clips[@]}"; do
  declare -A best=() line=()
  for ((r = 0; r < rounds; r++)); do
    for m in off on; do
      out=$(one "$clip" $m)
      cpu=${out##* }
      if [ -z "${best[$m]:-}" ] || awk "BEGIN{exit !($cpu < ${best[$m]})}"; then
        best[$m]=$cpu
      fi
      line[$m]=${out% *}
    done
  done
  for m in off on; do
    read -r fr wh wi sk ar fa tr <<< "${line[$m]}"
    printf "| %s | %s | %s | %s | %s | %s | %s %% | %s | %s | %s |\n" \
      "$(basename "$clip")" $m "$fr" "$wh" "$wi" "$sk" "$ar" "$fa" "$tr" "${best[$m]}"
  done
  unset best line
done
