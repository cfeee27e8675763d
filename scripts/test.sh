#!/usr/bin/env bash
# The whole test suite, as CI runs it (.ci/run): install what is missing, build with
# AddressSanitizer + UndefinedBehaviorSanitizer (clang), run every unit test, then each libFuzzer
# target for a bounded time (FRAGUA_FUZZ_SECONDS per target, 15 by default; release checks use
# FRAGUA_FUZZ_SECONDS=600, see docs/hardening.md). Usage: scripts/test.sh [--no-fuzz]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
fuzz=1
[ "${1:-}" = "--no-fuzz" ] && fuzz=0
jobs=$(nproc)

"$root/scripts/setup.sh"

echo "== build (asan) =="
cmake --preset asan >/dev/null
cmake --build --preset asan -j "$jobs"

echo "== unit tests =="
ctest --preset asan -j "$jobs"

if [ "$fuzz" = 1 ]; then
  # The asan preset is a clang build whose library carries libFuzzer's coverage hooks
  # (-fsanitize=fuzzer-no-link), so the fuzz targets come out of the same build as the unit tests.
  echo "== fuzz (bounded) =="
  secs=${FRAGUA_FUZZ_SECONDS:-15}
  for target in build/asan/*_fuzz; do
    [ -x "$target" ] || continue
    name=$(basename "$target")
    corpus="build/asan/fuzz-corpus/$name"
    mkdir -p "$corpus"
    seeds="fuzz/corpus/$name"
    [ -d "$seeds" ] || seeds=""
    dict=()
    [ -f "fuzz/dict/$name.dict" ] && dict=(-dict="fuzz/dict/$name.dict")
    # Inputs up to 64 KB, except where the bugs worth finding need more: deep JSON nesting in a
    # tokenizer.json only overflowed the stack past about 100 KB of brackets.
    max_len=65536
    case "$name" in tokenizer_json_fuzz) max_len=300000 ;; esac
    echo "-- $name (${secs}s)"
    # A crash, leak or sanitizer report exits non-zero and fails the run (set -o pipefail).
    "$target" -max_total_time="$secs" -rss_limit_mb=2048 -max_len="$max_len" -timeout=25 -print_final_stats=0 \
      "${dict[@]}" -artifact_prefix="build/asan/$name-" "$corpus" $seeds 2>&1 | tail -n 3
  done
fi
echo "scripts/test.sh: all tests passed"
