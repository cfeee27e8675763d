#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The whole test suite, as CI runs it (.ci/run): install what is missing, build with
# AddressSanitizer + UndefinedBehaviorSanitizer (clang), run every unit test, then each libFuzzer
# target for a bounded time (the fuzz phase shares FRAGUA_FUZZ_BUDGET seconds, 100 by default, at
# least 5 s per target; FRAGUA_FUZZ_SECONDS=N gives every target N seconds instead, and release
# checks use FRAGUA_FUZZ_SECONDS=600, see docs/hardening.md). Usage: scripts/test.sh [--no-fuzz]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
fuzz=1
[ "${1:-}" = "--no-fuzz" ] && fuzz=0
jobs=$(nproc)

phase_start=$SECONDS
phase_end() { echo "   ($1: $((SECONDS - phase_start)) s)"; phase_start=$SECONDS; }

"$root/scripts/setup.sh" --test
phase_end setup

echo "== build (asan) =="
# A unity build (CMake compiles each target's sources in batches of 8 as one translation unit):
# on 2 cores a clean sanitizer build took about a third less CPU time, most of it saved in the
# CLI (CLI11) and the tests (googletest), whose headers and templates each file re-instantiated.
# FRAGUA_UNITY_BUILD=OFF builds file by file (quicker rebuilds while editing one file).
cmake --preset asan -DCMAKE_UNITY_BUILD="${FRAGUA_UNITY_BUILD:-ON}" >/dev/null
cmake --build --preset asan -j "$jobs"
phase_end build

echo "== unit tests =="
ctest --preset asan -j "$jobs"
phase_end "unit tests"

if [ "$fuzz" = 1 ]; then
  # The asan preset is a clang build whose library carries libFuzzer's coverage hooks
  # (-fsanitize=fuzzer-no-link), so the fuzz targets come out of the same build as the unit tests.
  # Each target is one single-threaded process: they run $jobs at a time and their outputs are
  # printed in order when all have finished. Every target first replays its seeds (the regression
  # seeds of fuzz/corpus/<target>/ included), then fuzzes for the rest of its time. The phase's
  # wall time is FRAGUA_FUZZ_BUDGET (100 s) whatever the number of targets, at least 5 s each,
  # unless FRAGUA_FUZZ_SECONDS fixes the seconds per target.
  targets=()
  for target in build/asan/*_fuzz; do [ -x "$target" ] && targets+=("$target"); done
  budget=${FRAGUA_FUZZ_BUDGET:-100}
  secs=${FRAGUA_FUZZ_SECONDS:-$(( budget * jobs / (${#targets[@]} > 0 ? ${#targets[@]} : 1) ))}
  [ "$secs" -ge 5 ] || secs=5
  echo "== fuzz (${#targets[@]} targets, ${secs} s each, $jobs at a time) =="
  logs=build/asan/fuzz-logs
  rm -rf "$logs"; mkdir -p "$logs"
  fuzz_one() {
    local target=$1 name corpus seeds max_len
    name=$(basename "$target")
    corpus="build/asan/fuzz-corpus/$name"
    mkdir -p "$corpus"
    seeds="fuzz/corpus/$name"
    [ -d "$seeds" ] || seeds=""
    local dict=()
    [ -f "fuzz/dict/$name.dict" ] && dict=(-dict="fuzz/dict/$name.dict")
    # Inputs up to 64 KB, except where the bugs worth finding need more: deep JSON nesting in a
    # tokenizer.json only overflowed the stack past about 100 KB of brackets.
    max_len=65536
    case "$name" in tokenizer_json_fuzz) max_len=300000 ;; esac
    # A crash, leak or sanitizer report exits non-zero; the exit status is kept beside the log.
    local rc=0
    "$target" -max_total_time="$secs" -rss_limit_mb=2048 -max_len="$max_len" -timeout=25 -print_final_stats=0 \
      "${dict[@]}" -artifact_prefix="build/asan/$name-" "$corpus" $seeds >"$logs/$name.log" 2>&1 || rc=$?
    echo "$rc" >"$logs/$name.rc"
  }
  running=0
  for target in "${targets[@]}"; do
    if [ "$running" -ge "$jobs" ]; then wait -n || true; running=$((running - 1)); fi
    fuzz_one "$target" &
    running=$((running + 1))
  done
  wait || true
  failed=0
  for target in "${targets[@]}"; do
    name=$(basename "$target")
    rc=$(cat "$logs/$name.rc" 2>/dev/null || echo 1)
    echo "-- $name (${secs}s): exit $rc"
    if [ "$rc" = 0 ]; then tail -n 3 "$logs/$name.log"; else tail -n 60 "$logs/$name.log"; failed=1; fi
  done
  [ "$failed" = 0 ] || { echo "scripts/test.sh: a fuzz target failed (its input is under build/asan/<target>-*)" >&2; exit 1; }
  phase_end fuzz
fi
echo "scripts/test.sh: all tests passed in $SECONDS s"
