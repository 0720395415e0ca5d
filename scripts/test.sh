#!/usr/bin/env bash
# Everything CI runs, from a fresh Debian 12 machine:
#   1. dependencies (scripts/setup.sh), the default models (scripts/fetch-models.sh)
#      and playwright-core for the browser tests (scripts/web-tools.sh)
#   2. release build (with libargus.so: only argus_* symbols exported) + every
#      CTest test
#   3. ASan + UBSan build (clang) + every CTest test
#   4. each libFuzzer harness under fuzz/ for a short time (ARGUS_FUZZ_SECONDS,
#      default 60), when fuzz/CMakeLists.txt exists
# Warnings are errors in every build. The last line sums up all three stages.
#
#   scripts/test.sh [--no-sanitize] [--no-fuzz]
# Environment: ARGUS_JOBS (default 2), ARGUS_FUZZ_SECONDS (default 60),
# ARGUS_BUILD_DIR (default build; the others are <it>-asan and <it>-fuzz).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
jobs="${ARGUS_JOBS:-2}"
fuzz_seconds="${ARGUS_FUZZ_SECONDS:-60}"
bdir="${ARGUS_BUILD_DIR:-build}"
do_sanitize=1
do_fuzz=1
for a in "$@"; do
  case "$a" in
  --no-sanitize) do_sanitize=0 ;;
  --no-fuzz) do_fuzz=0 ;;
  -h | --help)
    sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
  *)
    echo "test.sh: unknown option '$a'" >&2
    exit 2
    ;;
  esac
done

stage() { printf '\n==== %s\n' "$*"; }

passed=0
failed=0
skipped=0
failures=()

# Runs ctest in build dir $1 and adds its counts to the totals.
run_ctest() {
  local dir="$1" label="$2" log rc=0
  log="$dir/ctest.log"
  (cd "$dir" && ctest --output-on-failure -j "$jobs" --timeout 900) 2>&1 | tee "$log" || rc=$?
  local line total nfail nskip
  line="$(grep -E '^[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -1 || true)"
  if [[ -z "$line" ]]; then
    echo "test.sh: $label: ctest printed no summary (exit $rc)" >&2
    failed=$((failed + 1))
    failures+=("$label: ctest did not run")
    return
  fi
  total="$(sed -E 's/.* out of ([0-9]+).*/\1/' <<<"$line")"
  nfail="$(sed -E 's/.*passed, ([0-9]+) tests? failed.*/\1/' <<<"$line")"
  nskip="$(grep -cE '^[[:space:]]*[0-9]+ - .*\(Skipped\)' "$log" || true)"
  passed=$((passed + total - nfail - nskip))
  failed=$((failed + nfail))
  skipped=$((skipped + nskip))
  if ((nfail > 0 || rc != 0)); then
    failures+=("$label: $nfail of $total tests failed")
    ((nfail > 0)) || failed=$((failed + 1))
  fi
}

stage "setup"
bash scripts/setup.sh
bash scripts/fetch-models.sh
bash scripts/web-tools.sh

stage "release build"
cmake -S . -B "$bdir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DARGUS_SHARED=ON
ninja -C "$bdir" -j "$jobs"

stage "release tests"
run_ctest "$bdir" "release"

if ((do_sanitize)); then
  stage "ASan + UBSan build (clang)"
  cmake -S . -B "$bdir-asan" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_FLAGS_DEBUG="-O1 -g" \
    -DCMAKE_C_COMPILER=clang -DARGUS_SANITIZE=ON
  ninja -C "$bdir-asan" -j "$jobs"

  stage "ASan + UBSan tests"
  export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:strict_string_checks=1"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
  run_ctest "$bdir-asan" "asan+ubsan"
  unset ASAN_OPTIONS UBSAN_OPTIONS
fi

if ((do_fuzz)) && [[ -f fuzz/CMakeLists.txt ]]; then
  stage "libFuzzer harnesses (${fuzz_seconds} s each)"
  cmake -S . -B "$bdir-fuzz" -G Ninja -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DARGUS_FUZZ=ON
  harnesses=()
  for src in fuzz/fuzz_*.c; do
    [[ -f "$src" ]] && harnesses+=("$(basename "$src" .c)")
  done
  if ((${#harnesses[@]})); then
    ninja -C "$bdir-fuzz" -j "$jobs" "${harnesses[@]}"
    if [[ -f fuzz/make-corpus.sh ]]; then
      sh fuzz/make-corpus.sh --no-real
    fi
  fi
  for h in "${harnesses[@]}"; do
    bin="$(find "$bdir-fuzz" -type f -perm -u+x -name "$h" | head -1)"
    if [[ -z "$bin" ]]; then
      echo "test.sh: fuzz harness $h was not built" >&2
      failed=$((failed + 1))
      failures+=("fuzz: $h not built")
      continue
    fi
    # Seeds: fuzz/corpus-<word> for the last word of the harness's name that
    # has one (fuzz_onnx_tensor -> corpus-tensor, fuzz_onnx_load -> corpus-onnx).
    seeds=()
    IFS=_ read -r -a words <<<"${h#fuzz_}"
    for ((k = ${#words[@]} - 1; k >= 0; k--)); do
      if [[ -d "fuzz/corpus-${words[k]}" ]]; then
        seeds=("fuzz/corpus-${words[k]}")
        break
      fi
    done
    work="$bdir-fuzz/corpus/$h"
    arts="$bdir-fuzz/artifacts/$h/"
    mkdir -p "$work" "$arts"
    echo "-- $h (${seeds[*]:-no seed corpus})"
    if "$bin" -max_total_time="$fuzz_seconds" -timeout=20 -rss_limit_mb=4096 \
      -print_final_stats=1 -artifact_prefix="$arts" "$work" "${seeds[@]}" \
      >"$bdir-fuzz/$h.log" 2>&1; then
      passed=$((passed + 1))
      grep -E '^(stat::number_of_executed_units|#[0-9]+ *DONE)' "$bdir-fuzz/$h.log" | tail -2 || true
      echo "-- $h: no crash in ${fuzz_seconds} s"
    else
      tail -60 "$bdir-fuzz/$h.log"
      failed=$((failed + 1))
      failures+=("fuzz: $h found a crash (reproducer in $arts)")
    fi
  done
fi

stage "summary"
for f in "${failures[@]}"; do
  echo "FAILED: $f"
done
echo "all: $passed passed, $failed failed, $skipped skipped"
((failed == 0))
