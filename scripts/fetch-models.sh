#!/usr/bin/env bash
# Downloads the default face models into models/ (git ignores it) from the npm
# registry package faceplugin-face-recognition-js@0.0.1 (MIT), checking the
# package's npm integrity (sha512) and every model's sha256 against the values
# pinned below. A file whose checksum differs is refused and
# never replaces a good one. When all four models are already present with
# good checksums, nothing is downloaded.
#
#   scripts/fetch-models.sh [DEST]     (DEST defaults to models/ in the repo)
set -euo pipefail

# Models that are not shipped, on request (docs/models.md):
#   scripts/fetch-models.sh --extra sface [DEST]
# downloads OpenCV Zoo's SFace embedder (Apache-2.0) from its published
# location (opencv/opencv_zoo on GitHub, a Git LFS object), checks its size
# and sha256 and places it with its card (share/models/sface.card.json) in
# DEST. Where GitHub cannot be reached it says so and skips (exit 0; nothing
# changes); a file with another checksum is refused (exit 1).
if [[ "${1:-}" == "--extra" ]]; then
  xroot="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  xdest="${3:-${ARGUS_MODELS_DIR:-$xroot/models}}"
  case "${2:-}" in
    sface)
      xfile=face_recognition_sface_2021dec.onnx
      xsha=0ba9fbfa01b5270c96627c4ef784da859931e02f04419c829e83484087c34e79
      xsize=38696353
      xcard="$xroot/share/models/sface.card.json"
      xpath=models/face_recognition_sface/$xfile
      xurls=("https://media.githubusercontent.com/media/opencv/opencv_zoo/main/$xpath"
             "https://github.com/opencv/opencv_zoo/raw/main/$xpath")
      ;;
    *)
      echo "fetch-models: unknown extra model '${2:-}' (known: sface)" >&2
      exit 2
      ;;
  esac
  mkdir -p "$xdest"
  if [[ ! -f "$xdest/$xfile" ]] ||
    [[ "$(sha256sum "$xdest/$xfile" | cut -d' ' -f1)" != "$xsha" ]]; then
    if ! command -v curl >/dev/null 2>&1; then
      echo "fetch-models: --extra ${2}: curl not found" >&2
      exit 1
    fi
    xtmp="$xdest/.$xfile.tmp"
    got=0
    for u in "${xurls[@]}"; do
      echo "fetch-models: downloading $u"
      if curl -fsSL --connect-timeout 20 --max-time 1800 -o "$xtmp" "$u"; then
        got=1
        break
      fi
    done
    if ((got == 0)); then
      rm -f "$xtmp"
      echo "fetch-models: SKIPPED ${2}: $xfile cannot be downloaded from" \
        "GitHub (${xurls[0]}) here: no internet access to it. Nothing changed." \
        "Elsewhere: download it, check sha256 $xsha ($xsize bytes), then" \
        "'argus model add $xfile --card share/models/sface.card.json'." >&2
      exit 0
    fi
    xgot="$(sha256sum "$xtmp" | cut -d' ' -f1)"
    if [[ "$xgot" != "$xsha" ]] || [[ "$(stat -c %s "$xtmp")" != "$xsize" ]]; then
      echo "fetch-models: $xfile refused: sha256 $xgot, $(stat -c %s "$xtmp")" \
        "bytes; expected $xsha, $xsize bytes (a Git LFS pointer instead of" \
        "the file, or another file)" >&2
      rm -f "$xtmp"
      exit 1
    fi
    mv -f "$xtmp" "$xdest/$xfile"
  fi
  cp "$xcard" "$xdest/.$(basename "$xcard").tmp"
  mv -f "$xdest/.$(basename "$xcard").tmp" "$xdest/$(basename "$xcard")"
  echo "fetch-models: $xdest/$xfile ok (sha256 $xsha)"
  exit 0
fi

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="${1:-${ARGUS_MODELS_DIR:-$root/models}}"

pkg="faceplugin-face-recognition-js@0.0.1"
tarball="faceplugin-face-recognition-js-0.0.1.tgz"
integrity="sha512-shriXjd4zJHEwhK1jHK+bWo8Vv6Vu9B/w6RRsd4AFtNM/jaI2vhuOamOSMl9qQmLd8WlQ7dgqN+3C2iOi5pXWw=="
declare -A sha256=(
  [fr_detect]=6c0256ccd3164f844736a401faf936ec2930764a87ae39442180887d0c5c8854
  [fr_landmark]=f10b0ba1d2a8a099adefede1ebf3733e44fe370715e7303dbeb7f59c02142258
  [fr_feature]=87aacdfe57510db2af90c0251df680e8eec88f122ee94712121d09bcaaaf3581
  [fr_liveness]=afa783b7e902fdfcf323a7240cac2a1c580c25314ea4161129dc1b0d100dc32d
)
models=(fr_detect fr_landmark fr_feature fr_liveness)

good() { # good FILE MODEL
  [[ -f "$1" ]] && [[ "$(sha256sum "$1" | cut -d' ' -f1)" == "${sha256[$2]}" ]]
}

# The model cards (share/models/*.card.json: input spec, decoder, thresholds)
# go next to the models, so that a models folder is complete on its own; so
# do the small models vendored in the repository (share/models/*.onnx: the
# YuNet detector, 0.3 MB, with its licence text), whose sha256 their cards
# pin and the engine checks when loading them.
copy_cards() {
  mkdir -p "$dest"
  for card in "$root"/share/models/*.card.json "$root"/share/models/*.onnx \
    "$root"/share/models/*.LICENSE; do
    [[ -f "$card" ]] || continue
    if ! cmp -s "$card" "$dest/$(basename "$card")"; then
      cp "$card" "$dest/.$(basename "$card").tmp"
      mv -f "$dest/.$(basename "$card").tmp" "$dest/$(basename "$card")"
      echo "fetch-models: $dest/$(basename "$card") ok"
    fi
  done
}

need=()
for m in "${models[@]}"; do
  good "$dest/$m.onnx" "$m" || need+=("$m")
done
if ((${#need[@]} == 0)); then
  copy_cards
  echo "fetch-models: all models present in $dest"
  exit 0
fi

for tool in node npm tar sha256sum; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "fetch-models: '$tool' not found; run scripts/setup.sh first" >&2
    exit 1
  fi
done

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

echo "fetch-models: need ${need[*]}; downloading $pkg"
(cd "$tmp" && npm pack --silent "$pkg" >/dev/null)
if [[ ! -f "$tmp/$tarball" ]]; then
  echo "fetch-models: npm pack did not produce $tarball" >&2
  exit 1
fi
# npm's integrity string is the base64 of the raw SHA-512 digest.
got="sha512-$(node -e 'const c = require("crypto"), fs = require("fs");
process.stdout.write(c.createHash("sha512").update(fs.readFileSync(process.argv[1])).digest("base64"))' "$tmp/$tarball")"
if [[ "$got" != "$integrity" ]]; then
  echo "fetch-models: $tarball integrity mismatch" >&2
  echo "  expected $integrity" >&2
  echo "  got      $got" >&2
  exit 1
fi

tar -xzf "$tmp/$tarball" -C "$tmp"
mkdir -p "$dest"
bad=0
for m in "${need[@]}"; do
  src="$tmp/package/model/$m.onnx"
  if [[ ! -f "$src" ]]; then
    echo "fetch-models: package has no model/$m.onnx" >&2
    bad=1
    continue
  fi
  if ! good "$src" "$m"; then
    echo "fetch-models: $m.onnx sha256 mismatch, refused" >&2
    echo "  expected ${sha256[$m]}" >&2
    echo "  got      $(sha256sum "$src" | cut -d' ' -f1)" >&2
    bad=1
    continue
  fi
  # Copy next to the target and rename, so that an interrupted copy never
  # leaves a truncated model under the final name.
  cp "$src" "$dest/.$m.onnx.tmp"
  mv -f "$dest/.$m.onnx.tmp" "$dest/$m.onnx"
  echo "fetch-models: $dest/$m.onnx ok"
done
copy_cards
exit "$bad"
