// SPDX-License-Identifier: Apache-2.0
// DRAM read bandwidth, the bound of token generation when the weights stream from memory: each
// thread sums its own contiguous slice of a buffer far larger than the last-level cache with
// 256-bit loads (STREAM-like, read only; the sum is printed so the loads are not removed).
//   membw [--mib 1024] [--threads 1,2] [--reps 7]
// Prints one JSON object per line: {"threads": t, "gbps": the larger of the two medians, "plain":
// median GB/s (1e9 bytes/s) of plain loads, "prefetch": with software prefetch}; the two
// patterns alternate pass by pass so that both see the same machine.
// Built by bench/engine.py with the system compiler (g++ -O2 -mavx2), outside the CMake tree.
#include <immintrin.h>
#include <sys/mman.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

// Sums 64-bit lanes of n bytes (n a multiple of 128), four independent accumulators; with
// `prefetch`, a software prefetch 4 KiB ahead, as the matrix-vector kernels do (the hardware
// prefetchers alone stop at page boundaries and may leave bandwidth unused).
template <bool prefetch>
uint64_t read_sum(const uint8_t* p, size_t n) {
  __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
  for (size_t i = 0; i < n; i += 128) {
    if constexpr (prefetch) {
      _mm_prefetch(reinterpret_cast<const char*>(p + i + 4096), _MM_HINT_T0);
      _mm_prefetch(reinterpret_cast<const char*>(p + i + 4096 + 64), _MM_HINT_T0);
    }
    a0 = _mm256_add_epi64(a0, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i)));
    a1 = _mm256_add_epi64(a1, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 32)));
    a2 = _mm256_add_epi64(a2, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 64)));
    a3 = _mm256_add_epi64(a3, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 96)));
  }
  alignas(32) uint64_t v[4];
  _mm256_store_si256(reinterpret_cast<__m256i*>(v),
                     _mm256_add_epi64(_mm256_add_epi64(a0, a1), _mm256_add_epi64(a2, a3)));
  return v[0] + v[1] + v[2] + v[3];
}

}  // namespace

int main(int argc, char** argv) {
  size_t mib = 1024;
  int reps = 7;
  std::string threads = "1,2";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i], v = argv[i + 1];
    if (a == "--mib") {
      mib = std::stoul(v);
    } else if (a == "--threads") {
      threads = v;
    } else if (a == "--reps") {
      reps = std::stoi(v);
    } else {
      std::fprintf(stderr, "membw: unknown option %s\n", a.c_str());
      return 2;
    }
  }
  const size_t n = mib << 20;
  auto* buf = static_cast<uint8_t*>(std::aligned_alloc(size_t{2} << 20, n));
  if (buf == nullptr) {
    std::fprintf(stderr, "membw: cannot allocate %zu MiB\n", mib);
    return 1;
  }
  // Huge pages where the kernel gives them on advice, as the engine asks for its weights
  // (src/backend/cpu/cpu_backend.cpp), so that both read memory mapped the same way.
#ifdef MADV_HUGEPAGE
  ::madvise(buf, n, MADV_HUGEPAGE);  // advice only: failure is harmless
#endif
  for (size_t i = 0; i < n; i += 4096) std::memset(buf + i, static_cast<int>(i >> 12), 4096);  // touch every page
  uint64_t sink = 0;
  size_t pos = 0;
  while (pos <= threads.size()) {
    const size_t comma = std::min(threads.find(',', pos), threads.size());
    const int t = std::stoi(threads.substr(pos, comma - pos));
    pos = comma + 1;
    const size_t slice = n / static_cast<size_t>(t) / 128 * 128;
    std::vector<double> gbps[2];
    for (int r = -1; r < reps; ++r) {  // one warm-up pass
      for (int pf = 0; pf < 2; ++pf) {
        std::vector<uint64_t> sums(static_cast<size_t>(t));
        const auto t0 = std::chrono::steady_clock::now();
        std::vector<std::thread> pool;
        for (int i = 0; i < t; ++i)
          pool.emplace_back([&, i] {
            const uint8_t* p = buf + static_cast<size_t>(i) * slice;
            sums[static_cast<size_t>(i)] = pf != 0 ? read_sum<true>(p, slice) : read_sum<false>(p, slice);
          });
        for (auto& th : pool) th.join();
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        for (uint64_t v : sums) sink += v;
        if (r >= 0) gbps[pf].push_back(static_cast<double>(slice) * t / s / 1e9);
      }
    }
    double med[2];
    for (int pf = 0; pf < 2; ++pf) {
      std::sort(gbps[pf].begin(), gbps[pf].end());
      med[pf] = gbps[pf][gbps[pf].size() / 2];
    }
    std::printf(
        "{\"threads\": %d, \"gbps\": %.2f, \"plain\": %.2f, \"prefetch\": %.2f, \"mib\": %zu, \"sink\": %llu}\n", t,
        std::max(med[0], med[1]), med[0], med[1], mib, static_cast<unsigned long long>(sink & 1));
  }
  std::free(buf);
  return 0;
}
