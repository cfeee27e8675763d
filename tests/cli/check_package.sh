#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The installed package as users take it: `cmake --install` into a fresh prefix, the installed
# `fragua` run from outside the source tree, and examples/ built against the prefix with
# find_package(Fragua) and with pkg-config, then run on a small model. Installs what the build
# already made (no rebuild of the library).
# Usage: check_package.sh <build dir> <source dir>
set -euo pipefail
build="$1"; src="$2"
work=$(mktemp -d /tmp/fragua-package-XXXXXX)
trap 'rm -rf "$work"' EXIT
prefix="$work/prefix"
cmake --install "$build" --prefix "$prefix" >/dev/null
unset FRAGUA_DATA_DIR FRAGUA_LANGID_MODEL FRAGUA_SOURCE_DIR
cd "$work"

version=$("$prefix/bin/fragua" --version)
echo "$version"
[[ "$version" =~ ^fragua\ [0-9]+\.[0-9]+\.[0-9]+$ ]] || { echo "unexpected --version: $version"; exit 1; }
for f in LICENSE NOTICE; do test -f "$prefix/share/doc/fragua/$f"; done
test -f "$prefix/include/fragua/model/loaded_model.h"
test -f "$prefix/lib/cmake/Fragua/FraguaConfig.cmake"
test -f "$prefix/lib/pkgconfig/fragua.pc"
for sub in base tensor backend format tokenize model data eval train materials serve; do
  test -f "$prefix/lib/libfragua_$sub.a" || { echo "missing lib/libfragua_$sub.a"; exit 1; }
done
model="$src/tests/reference/model/golden/llama_gqa_f32.gguf"
"$prefix/bin/fragua" generate "$model" -p hola -n 3 --temp 0 -t 1 >/dev/null

# The example, compiled as the build compiled the library (a sanitizer build's objects need the
# sanitizer runtime at link time).
cache() { sed -n "s/^$1:[A-Z]*=//p" "$build/CMakeCache.txt"; }
cxx=$(cache CMAKE_CXX_COMPILER); cc=$(cache CMAKE_C_COMPILER)
cxxflags=$(cache CMAKE_CXX_FLAGS); ldflags=$(cache CMAKE_EXE_LINKER_FLAGS)
cmake -S "$src/examples" -B "$work/example" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_C_COMPILER="$cc" \
  -DCMAKE_CXX_FLAGS="$cxxflags" -DCMAKE_EXE_LINKER_FLAGS="$ldflags" -DCMAKE_CXX_FLAGS_RELEASE=-O0 >/dev/null
cmake --build "$work/example" >/dev/null
out=$("$work/example/fragua_example" "$model" hola 4 2>"$work/err")
cat "$work/err"; echo "$out"
grep -q "generated 4 tokens" "$work/err"
# The same greedy continuation as the installed CLI's.
cli=$("$prefix/bin/fragua" generate "$model" -p hola -n 4 --temp 0 -t 1 2>/dev/null)
[ "$out" = "$cli" ] || { echo "example printed '$out', fragua generate '$cli'"; exit 1; }

# pkg-config: the flags it gives link the same program.
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
pc=$(pkg-config --cflags --libs fragua)
echo "pkg-config: $pc"
grep -q -- "-I$prefix/.*include" <<<"$pc"; grep -q -- "-lfragua_base" <<<"$pc"
# shellcheck disable=SC2086
"$cxx" -std=gnu++20 -O0 $cxxflags "$src/examples/generate_stream.cpp" -o "$work/example_pc" $ldflags $pc
out_pc=$("$work/example_pc" "$model" hola 4 2>/dev/null)
[ "$out_pc" = "$out" ] || { echo "pkg-config build printed '$out_pc'"; exit 1; }
echo "check_package: fragua, libfragua, headers, CMake package and pkg-config file work from $prefix"
