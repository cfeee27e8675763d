#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds the peer for the engine benchmarks: llama.cpp from the source bundle that the npm package
# node-llama-cpp@3.21.1 ships (llama/gitRelease.bundle), in a cache folder outside the repo.
# Once: about 7 minutes on 2 idle cores (llama-server adds more). Prints the build directory.
# Usage: bench/llama_cpp_setup.sh [--avx2]   (env FRAGUA_BENCH_CACHE, default ~/.cache/fragua-bench)
set -euo pipefail
cache="${FRAGUA_BENCH_CACHE:-$HOME/.cache/fragua-bench}"
src="$cache/llama.cpp"
build="$src/build"
mkdir -p "$cache"
if [ ! -f "$cache/npm/node_modules/node-llama-cpp/llama/gitRelease.bundle" ]; then
  echo "llama_cpp_setup: fetching node-llama-cpp@3.21.1 from npm" >&2
  mkdir -p "$cache/npm"
  (cd "$cache/npm" && npm init -y >/dev/null && \
   npm install --no-audit --no-fund --ignore-scripts node-llama-cpp@3.21.1 >&2)
fi
if [ ! -d "$src/.git" ]; then
  echo "llama_cpp_setup: cloning the bundled llama.cpp source" >&2
  git clone -q "$cache/npm/node_modules/node-llama-cpp/llama/gitRelease.bundle" "$src"
fi
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [ "${1:-}" = "--avx2" ]; then
  # llama-bench as an AVX2-only CPU runs it (Haswell/Zen 2 class: AVX2, FMA, F16C, BMI2; no AVX-512,
  # no AVX-VNNI), for bench/engine.py --avx2 against Fragua's FRAGUA_SIMD=avx2 path.
  avx2="$src/build-avx2"
  if [ ! -x "$avx2/bin/llama-bench" ]; then
    echo "llama_cpp_setup: building llama-bench for AVX2 only (GGML_NATIVE=OFF)" >&2
    cmake -S "$src" -B "$avx2" -G Ninja -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=OFF -DGGML_AVX=ON \
      -DGGML_AVX2=ON -DGGML_BMI2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_AVX512=OFF -DGGML_AVX_VNNI=OFF \
      -DLLAMA_CURL=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_SERVER=OFF >&2
    cmake --build "$avx2" --target llama-bench -j "$(nproc)" >&2
  fi
  echo "$avx2/bin"
  exit 0
fi
if [ ! -x "$build/bin/llama-bench" ] || [ ! -x "$build/bin/llama-quantize" ] || [ ! -x "$build/bin/llama-simple-ids" ] ||
   [ ! -x "$build/bin/llama-server" ] || [ "$here/peers/llama_greedy_ids.cpp" -nt "$build/bin/llama-simple-ids" ]; then
  echo "llama_cpp_setup: building llama-bench, llama-quantize and llama-server (GGML_NATIVE=ON)" >&2
  # llama-server (bench/serve.py) with its bundled cpp-httplib and without its web UI: the UI
  # would be fetched from a Hugging Face bucket at build time, and the benchmark needs only the API.
  cmake -S "$src" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON -DLLAMA_CURL=OFF \
    -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_SERVER=ON -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF >&2
  cmake --build "$build" --target llama-bench llama-quantize llama llama-server -j "$(nproc)" >&2
  # A 30-line program of ours that runs greedy decoding from token ids through llama.h, for the
  # agreement check (the stock examples take text prompts).
  c++ -O2 -std=c++17 "$here/peers/llama_greedy_ids.cpp" -I"$src/include" -I"$src/ggml/include" \
    -L"$build/bin" -Wl,-rpath,"$build/bin" -lllama -lggml -lggml-base -o "$build/bin/llama-simple-ids" >&2
fi
echo "$build/bin"
