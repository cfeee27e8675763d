// SPDX-License-Identifier: Apache-2.0
// cpu::matmul throughput per weight dtype and SIMD level.
//   bench_matmul [--m 4096] [--k 4096] [--n 1,512] [--threads 1] [--types f16,q8_0,...]
//                [--levels scalar,avx2,avx512] [--reps 7] [--rotate 1] [--pack 1]
// --pack 1 (the default) lays the weights out as the CPU backend does at load: 16-row panels for
// the types it packs, in 2 MiB-aligned memory advised as transparent huge pages (float types:
// rows, in the same memory); --pack 0 keeps the file's row layout in ordinary heap memory.
// n = 1 (token generation) reports GB/s of weights streamed; every row reports GFLOP/s
// (2 m k n / time). Each figure is the median of --reps timed calls after one warm-up. For
// n = 1 the weights rotate over copies totalling >= 256 MiB so they come from DRAM, not cache.
//
//   bench_matmul --decode EMBD,FF,KV,LAYERS,VOCAB [--types q8_0] [--threads 2] [--reps 7]
// replays the matrix-vector products of one decoded token of a Llama stack of those shapes (per
// layer q, k, v, o, gate, up, down; then the output head), every matrix its own copy laid out as
// at load, nothing else in between: the time per token that the products alone take and the GB/s
// they stream, to set beside the model's tokens/s (bench/engine.py) read the same minute. Default
// level: the best the CPU has. E.g. the 3B bench model: --decode 3072,8192,1024,28,32000.
// Each replay is followed by a probe: the same pool's threads read a buffer of the same size in
// contiguous slices with plain 256-bit loads (bench/membw.cpp's pattern). The table gives both
// rates and the median over the rounds of replay GB/s / probe GB/s: the share of the bandwidth
// bound the products reach, read within a second of the bound itself (this VM's bandwidth moves
// with its neighbours by a third within minutes, so a probe run apart says little).
#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "backend/cpu/cpu_matmul.h"
#include "fragua/tensor/half.h"

using namespace fragua;

namespace {

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string t; std::getline(ss, t, ',');)
    if (!t.empty()) out.push_back(t);
  return out;
}

std::vector<int> half_fields(DType t) {
  switch (t) {
    case DType::q4_1:
    case DType::q5_1:
    case DType::q4_k:
    case DType::q5_k:
      return {0, 2};
    case DType::q6_k:
      return {208};
    default:
      return {0};
  }
}

std::vector<uint8_t> make_weights(DType t, int64_t m, int64_t k, std::mt19937& rng) {
  const DTypeTraits* tr = dtype_traits(t);
  std::vector<uint8_t> w(row_size(t, k) * static_cast<size_t>(m));
  std::normal_distribution<float> nd(0.0f, 0.02f);
  if (!tr->quantized) {
    std::vector<float> f(static_cast<size_t>(k));
    for (int64_t r = 0; r < m; ++r) {
      for (auto& v : f) v = nd(rng);
      tr->from_float_ref(f.data(), w.data() + r * row_size(t, k), k);
    }
    return w;
  }
  // Random quants with plausible scales: throughput does not depend on the values.
  for (size_t i = 0; i < w.size(); ++i) w[i] = static_cast<uint8_t>(rng());
  for (size_t off = 0; off < w.size(); off += tr->type_size)
    for (int f : half_fields(t)) {
      const uint16_t h = fp32_to_fp16(nd(rng) * 0.05f);
      std::memcpy(&w[off + static_cast<size_t>(f)], &h, 2);
    }
  return w;
}

// CPU time of the whole process: on a shared, oversubscribed machine it is steadier than wall
// time (time spent descheduled does not count); both are reported.
double cpu_seconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// One copy of the weights, laid out as --pack asks (see the top of the file).
struct Weights {
  std::shared_ptr<uint8_t[]> data;
  Layout layout = Layout::rows;
};

Weights laid_out(const std::vector<uint8_t>& w, DType t, int64_t m, int64_t k, bool pack) {
  Weights out;
  if (!pack || !cpu::prepares(t, m, k)) {
    out.data = std::shared_ptr<uint8_t[]>(new uint8_t[w.size()]);
    std::memcpy(out.data.get(), w.data(), w.size());
    return out;
  }
  out.data = cpu::alloc_weights(w.size());
  if (!out.data) {
    std::fprintf(stderr, "out of memory\n");
    std::exit(1);
  }
  out.layout = cpu::prepare_weights_in_runs(t, w.data(), m, k, out.data.get(), nullptr);
  return out;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// A --types entry, or nullopt after saying that it is not one.
std::optional<DType> bench_dtype(const std::string& name) {
  const auto t = dtype_from_name(name);
  if (!t || dtype_traits(*t) == nullptr) {
    std::fprintf(stderr, "unknown dtype %s\n", name.c_str());
    return std::nullopt;
  }
  return t;
}

// Sums n bytes (n a multiple of 128) with four independent 256-bit accumulators; the sum is
// returned so that the loads stay. Without AVX2, 64-bit loads.
__attribute__((target("avx2"))) uint64_t read_sum_avx2(const uint8_t* p, size_t n) {
  __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
  for (size_t i = 0; i < n; i += 128) {
    a0 = _mm256_add_epi64(a0, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i)));
    a1 = _mm256_add_epi64(a1, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 32)));
    a2 = _mm256_add_epi64(a2, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 64)));
    a3 = _mm256_add_epi64(a3, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 96)));
  }
  alignas(32) uint64_t v[4];
  _mm256_store_si256(reinterpret_cast<__m256i*>(v), _mm256_add_epi64(_mm256_add_epi64(a0, a1), _mm256_add_epi64(a2, a3)));
  return v[0] + v[1] + v[2] + v[3];
}

uint64_t read_sum(const uint8_t* p, size_t n) {
  if (__builtin_cpu_supports("avx2")) return read_sum_avx2(p, n);
  uint64_t a[4] = {0, 0, 0, 0};
  for (size_t i = 0; i < n; i += 32)
    for (int j = 0; j < 4; ++j) {
      uint64_t v;
      std::memcpy(&v, p + i + 8 * j, 8);
      a[j] += v;
    }
  return a[0] + a[1] + a[2] + a[3];
}

// The --decode mode (top of the file).
int run_decode(const std::string& spec, const std::string& types, int threads, int reps, bool pack) {
  const auto v = split(spec);
  if (v.size() != 5) {
    std::fprintf(stderr, "--decode wants EMBD,FF,KV,LAYERS,VOCAB\n");
    return 2;
  }
  const int64_t embd = std::stoll(v[0]), ff = std::stoll(v[1]), kv = std::stoll(v[2]), layers = std::stoll(v[3]),
                vocab = std::stoll(v[4]);
  std::vector<std::pair<int64_t, int64_t>> shapes;  // m x k, in the order one token uses them
  for (int64_t l = 0; l < layers; ++l)
    for (auto mk : {std::pair{embd, embd}, {kv, embd}, {kv, embd}, {embd, embd}, {ff, embd}, {ff, embd}, {embd, ff}})
      shapes.push_back(mk);
  shapes.emplace_back(vocab, embd);
  ThreadPool pool(threads);
  std::mt19937 rng(42);
  std::printf("| dtype | shapes | threads | MB per token | ms/token (median of %d) | weight GB/s | probe GB/s | share of probe |\n", reps);
  std::printf("|---|---|---|---|---|---|---|---|\n");
  for (const auto& tname : split(types)) {
    const auto t = bench_dtype(tname);
    if (!t) return 2;
    std::vector<Weights> w;
    size_t bytes = 0;
    for (const auto& [m, k] : shapes) {
      w.push_back(laid_out(make_weights(*t, m, k, rng), *t, m, k, pack));
      bytes += row_size(*t, k) * static_cast<size_t>(m);
    }
    std::vector<float> x(static_cast<size_t>(std::max(embd, ff)), 0.5f), y(static_cast<size_t>(std::max({vocab, ff, embd})));
    const size_t slice = bytes / static_cast<size_t>(pool.size()) / 128 * 128;
    const std::shared_ptr<uint8_t[]> probe = cpu::alloc_weights(slice * static_cast<size_t>(pool.size()));
    if (!probe) {
      std::fprintf(stderr, "out of memory\n");
      return 1;
    }
    for (size_t i = 0; i < slice * static_cast<size_t>(pool.size()); i += 4096) probe[i] = static_cast<uint8_t>(i >> 12);
    std::vector<double> times, probes, shares;
    std::vector<uint64_t> sums(static_cast<size_t>(pool.size()));
    for (int rep = -1; rep < reps; ++rep) {
      const auto t0 = std::chrono::steady_clock::now();
      for (size_t i = 0; i < shapes.size(); ++i)
        cpu::matmul(w[i].data.get(), *t, shapes[i].first, shapes[i].second, x.data(), 1, y.data(), pool, w[i].layout);
      const auto t1 = std::chrono::steady_clock::now();
      pool.run([&](int ith, int) { sums[static_cast<size_t>(ith)] += read_sum(probe.get() + static_cast<size_t>(ith) * slice, slice); });
      const double ts = std::chrono::duration<double>(t1 - t0).count();
      const double tp = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
      if (rep < 0) continue;
      times.push_back(ts);
      probes.push_back(static_cast<double>(slice) * pool.size() / tp / 1e9);
      shares.push_back(static_cast<double>(bytes) / ts / 1e9 / probes.back());
    }
    const double s = median(times);
    std::printf("| %s | %s | %d | %.0f | %.2f | %.2f | %.2f | %.0f%% |\n", tname.c_str(), spec.c_str(), threads,
                static_cast<double>(bytes) / 1e6, s * 1e3, static_cast<double>(bytes) / s / 1e9, median(probes),
                100 * median(shares));
    if (sums[0] == 1) std::printf(" \n");  // keeps the probe's loads
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  int64_t m = 4096, k = 4096;
  int threads = 1, reps = 7;
  bool rotate = true, pack = true;
  std::string types = "f32,f16,bf16,q8_0,q4_0,q4_1,q5_0,q5_1,q4_k,q5_k,q6_k", levels = "scalar,avx2,avx512",
              ns = "1,512", decode;
  bool types_given = false;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i], v = argv[i + 1];
    if (a == "--m")
      m = std::stoll(v);
    else if (a == "--k")
      k = std::stoll(v);
    else if (a == "--n")
      ns = v;
    else if (a == "--threads")
      threads = std::stoi(v);
    else if (a == "--types")
      types = v, types_given = true;
    else if (a == "--levels")
      levels = v;
    else if (a == "--reps")
      reps = std::stoi(v);
    else if (a == "--rotate")
      rotate = v != "0";
    else if (a == "--pack")
      pack = v != "0";
    else if (a == "--decode")
      decode = v;
    else {
      std::fprintf(stderr, "unknown option %s\n", a.c_str());
      return 2;
    }
  }
  if (!decode.empty()) return run_decode(decode, types_given ? types : "q8_0", threads, reps, pack);
  ThreadPool pool(threads);
  std::mt19937 rng(42);
  std::printf("| dtype | level | m x k | n | threads | ms/call | GFLOP/s | weight GB/s | cpu ms/call |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|\n");
  for (const auto& tname : split(types)) {
    const auto t = bench_dtype(tname);
    if (!t) return 2;
    const size_t wbytes = row_size(*t, k) * static_cast<size_t>(m);
    const int copies = rotate ? static_cast<int>(std::max<size_t>(1, (256u << 20) / wbytes + 1)) : 1;
    const std::vector<uint8_t> file = make_weights(*t, m, k, rng);
    std::vector<Weights> w;
    for (int c = 0; c < copies; ++c) w.push_back(laid_out(file, *t, m, k, pack));
    for (const auto& nstr : split(ns)) {
      const int64_t n = std::stoll(nstr);
      std::vector<float> x(static_cast<size_t>(n * k)), y(static_cast<size_t>(n * m));
      std::normal_distribution<float> nd(0.0f, 1.0f);
      for (auto& v : x) v = nd(rng);
      for (const auto& level : split(levels)) {
        if (!cpu::simd_supported(level)) continue;
        cpu::set_simd_level(level);
        // Scalar prompt processing is slow: fewer repetitions there.
        const int r_here = (level == "scalar" && n > 1) ? 1 : reps;
        const int inner = n == 1 ? 20 : 1;
        std::vector<double> times, cpu_times;
        int rot = 0;
        for (int rep = -1; rep < r_here; ++rep) {
          const auto t0 = std::chrono::steady_clock::now();
          const double c0 = cpu_seconds();
          for (int it = 0; it < inner; ++it) {
            const Weights& wc = w[static_cast<size_t>(rot)];
            cpu::matmul(wc.data.get(), *t, m, k, x.data(), n, y.data(), pool, wc.layout);
            rot = (rot + 1) % copies;
          }
          const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / inner;
          if (rep >= 0) times.push_back(s), cpu_times.push_back((cpu_seconds() - c0) / inner);
        }
        const double s = median(times);
        const double gflops = 2.0 * static_cast<double>(m) * static_cast<double>(k) * static_cast<double>(n) / s / 1e9;
        std::printf("| %s | %s | %lldx%lld | %lld | %d | %.3f | %.1f | %s | %.3f |\n", tname.c_str(), level.c_str(),
                    static_cast<long long>(m), static_cast<long long>(k), static_cast<long long>(n), threads, s * 1e3,
                    gflops, n == 1 ? std::to_string(static_cast<double>(wbytes) / s / 1e9).substr(0, 5).c_str() : "",
                    median(cpu_times) * 1e3);
        std::fflush(stdout);
      }
    }
  }
  return 0;
}
