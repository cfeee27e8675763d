// SPDX-License-Identifier: Apache-2.0
// Threading, activation quantization and SIMD dispatch of the CPU matmul.
#include "backend/cpu/cpu_matmul.h"
#include "fragua/base/runtime_options.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <sys/mman.h>

#include "backend/cpu/kernels.h"
#include "fragua/tensor/blocks.h"
#include "fragua/tensor/half.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

namespace fragua::cpu {
namespace {

#if defined(__x86_64__) || defined(__i386__)
// F16C is CPUID leaf 1, ECX bit 29 (Intel SDM vol. 2A); clang 14's __builtin_cpu_supports does
// not know the name "f16c".
bool cpu_has_f16c() {
  unsigned a = 0, b = 0, c = 0, d = 0;
  return __get_cpuid(1, &a, &b, &c, &d) && (c & (1u << 29)) != 0;
}
#endif

bool cpu_has(std::string_view level) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  if (level == "avx2") return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && cpu_has_f16c();
  if (level == "avx512")
    return cpu_has("avx2") && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
           __builtin_cpu_supports("avx512vnni");
#endif
  return level == "scalar";
}

const Kernels* table_for(std::string_view level) {
  if (level == "avx512") return &kernels_avx512();
  if (level == "avx2") return &kernels_avx2();
  if (level == "scalar") return &kernels_scalar();
  return nullptr;
}

const Kernels* detect() {
  if (std::string level = runtime_options().simd; !level.empty()) {
    if (table_for(level) != nullptr && cpu_has(level)) return table_for(level);
  }
  for (const char* level : {"avx512", "avx2"})
    if (cpu_has(level)) return table_for(level);
  return &kernels_scalar();
}

// The one process-wide choice (DESIGN 5); tests may switch it between calls.
std::atomic<const Kernels*>& active_slot() {
  static std::atomic<const Kernels*> slot{detect()};
  return slot;
}

void act_float(const float* x, uint8_t* out, int64_t k, Act a) {
  auto* o = reinterpret_cast<float*>(out);
  if (a == Act::f32) {
    std::memcpy(o, x, static_cast<size_t>(k) * 4);
  } else if (a == Act::f16r) {
    active_slot().load()->act_f16r(x, out, k);
  } else {
    for (int64_t i = 0; i < k; ++i) o[i] = bf16_to_fp32(fp32_to_bf16(x[i]));
  }
}

void convert_row(const Kernels& kt, Act a, const float* x, uint8_t* out, int64_t k) {
  if (a == Act::q8_0) {
    kt.act_q8_0(x, out, k);
  } else if (a == Act::q8_k) {
    kt.act_q8_k(x, out, k);
  } else {
    act_float(x, out, k, a);
  }
}

// Scratch for the converted activations, reused across calls of the same thread.
uint8_t* scratch(size_t bytes) {
  thread_local std::vector<uint8_t> buf;
  if (buf.size() < bytes + 64) buf.resize(bytes + 64);
  auto p = reinterpret_cast<uintptr_t>(buf.data());
  return buf.data() + ((64 - p % 64) % 64);
}

// Types without an integer kernel: dequantize each weight row and dot in f32.
void matmul_dequant(const void* w, DType wtype, int64_t m, int64_t k, const float* x, int64_t n, float* y,
                    ThreadPool& pool) {
  const DTypeTraits* tr = dtype_traits(wtype);
  const size_t ws = row_size(wtype, k);
  const GemmFn g = active_slot().load()->f32;
  pool.parallel_for(static_cast<size_t>(m), [&](size_t b, size_t e) {
    std::vector<float> row(static_cast<size_t>(k));
    for (size_t r = b; r < e; ++r) {
      tr->to_float(static_cast<const uint8_t*>(w) + r * ws, row.data(), k);
      g(k, reinterpret_cast<const uint8_t*>(row.data()), 0, 1, reinterpret_cast<const uint8_t*>(x),
        static_cast<size_t>(k) * 4, static_cast<int>(n), y + r, static_cast<size_t>(m));
    }
  });
}

struct Job {
  GemmFn gemm;
  const uint8_t* w;
  size_t ws;
  int64_t m, k, n;
  const uint8_t* xa;
  size_t xs;
  float* y;
  int64_t tile_m, tile_n, tiles_m, tiles_n;
  std::atomic<int64_t> next{0};
};

constexpr int64_t kTileM = 64;  // weight rows per tile: a multiple of every micro-kernel height
constexpr int64_t kTileN = 32;  // activation rows per tile: their Q8 copy stays in L2
// Float weights: about half the rows (Kernels::float_tile_m: 32, 30 on AVX2 for its 3-row tiles)
// and more columns: a float activation row is 2-4 times the bytes of a Q8 one, and each weight
// vector read (and, for F16/BF16, converted) then serves more columns (1 thread, F16 4x6 register
// tiles over 3072 x 8192 and 8192 x 3072 weights, about 500 columns: 132-152 GFLOP/s at 64 x 36,
// 150-170 at 32 x 72, 2-4% more at 32 x 144). 144 is a multiple of the register tiles' widths
// (6 columns at AVX-512, 2 at AVX2), so that no column falls to the narrow remainder tiles, which
// convert each weight vector for one or two products.
constexpr int64_t kTileNFloat = 144;

void run_rows(Job& j, int64_t r0, int64_t r1) {
  j.gemm(j.k, j.w + r0 * j.ws, j.ws, static_cast<int>(r1 - r0), j.xa, j.xs, static_cast<int>(j.n), j.y + r0,
         static_cast<size_t>(j.m));
}

void run_tiles(Job& j) {
  const int64_t total = j.tiles_m * j.tiles_n;
  for (int64_t t = j.next.fetch_add(1); t < total; t = j.next.fetch_add(1)) {
    // Row tiles vary fastest so that threads share the activation tile they are working on.
    const int64_t tm = t % j.tiles_m, tn = t / j.tiles_m;
    const int64_t r0 = tm * j.tile_m, r1 = std::min(j.m, r0 + j.tile_m);
    const int64_t c0 = tn * j.tile_n, c1 = std::min(j.n, c0 + j.tile_n);
    j.gemm(j.k, j.w + r0 * j.ws, j.ws, static_cast<int>(r1 - r0), j.xa + c0 * j.xs, j.xs, static_cast<int>(c1 - c0),
           j.y + c0 * j.m + r0, static_cast<size_t>(j.m));
  }
}

}  // namespace

Act act_for(DType w) {
  switch (w) {
    case DType::q4_0:
    case DType::q4_1:
    case DType::q5_0:
    case DType::q5_1:
    case DType::q8_0:
      return Act::q8_0;
    case DType::q2_k:
    case DType::q3_k:
    case DType::q4_k:
    case DType::q5_k:
    case DType::q6_k:
      return Act::q8_k;
    case DType::f16:
      return Act::f16r;
    case DType::bf16:
      return Act::bf16r;
    default:
      return Act::f32;
  }
}

size_t act_row_size(Act a, int64_t k) {
  switch (a) {
    case Act::q8_0:
      return static_cast<size_t>(k + 8 * (k / 32));
    case Act::q8_k:
      return static_cast<size_t>(k / 256) * 292;
    default:
      return static_cast<size_t>(k) * 4;
  }
}

GemmFn gemm_for(const Kernels& t, DType w) {
  switch (w) {
    case DType::f32:
      return t.f32;
    case DType::f16:
      return t.f16;
    case DType::bf16:
      return t.bf16;
    case DType::q4_0:
      return t.q4_0;
    case DType::q4_1:
      return t.q4_1;
    case DType::q5_0:
      return t.q5_0;
    case DType::q5_1:
      return t.q5_1;
    case DType::q8_0:
      return t.q8_0;
    case DType::q4_k:
      return t.q4_k;
    case DType::q5_k:
      return t.q5_k;
    case DType::q6_k:
      return t.q6_k;
    case DType::q2_k:
      return t.q2_k;
    case DType::q3_k:
      return t.q3_k;
    default:
      return nullptr;
  }
}

GemmFn panel_gemm(const Kernels& t, DType w) {
  switch (w) {
    case DType::q4_0:
      return t.q4_0_p16;
    case DType::q5_0:
      return t.q5_0_p16;
    case DType::q4_k:
      return t.q4_k_p16;
    case DType::q5_k:
      return t.q5_k_p16;
    case DType::q6_k:
      return t.q6_k_p16;
    case DType::q2_k:
      return t.q2_k_p16;
    case DType::q3_k:
      return t.q3_k_p16;
    case DType::q8_0:
      return t.q8_0_p16;
    default:
      return nullptr;
  }
}

void gemm_f32(int64_t k, const float* a, int64_t a_stride, int64_t nr, const float* b, int64_t b_stride, int64_t nc,
              float* y, int64_t y_stride) {
  active_slot().load()->f32(k, reinterpret_cast<const uint8_t*>(a), static_cast<size_t>(a_stride) * 4,
                            static_cast<int>(nr), reinterpret_cast<const uint8_t*>(b),
                            static_cast<size_t>(b_stride) * 4, static_cast<int>(nc), y, static_cast<size_t>(y_stride));
}

void f32_to_f16(const float* x, uint16_t* y, int64_t n) { active_slot().load()->to_f16(x, y, n); }

void f16_to_f32(const uint16_t* x, float* y, int64_t n) { active_slot().load()->from_f16(x, y, n); }

void attend_f16(const float* q, const uint16_t* k, const uint16_t* v, int64_t kv_stride, int64_t n, int64_t head_dim,
                float scale, float* out) {
  thread_local std::vector<uint16_t> work;
  if (work.size() < static_cast<size_t>(2 * head_dim)) work.resize(static_cast<size_t>(2 * head_dim));
  active_slot().load()->attend_f16(q, k, v, static_cast<size_t>(kv_stride), n, head_dim, scale, out, work.data());
}

void attn_scores(int64_t hd, const float* q, int64_t qs, int nt, const float* kt, int64_t kts, int64_t n, float scale,
                 float* s, int64_t ss) {
  active_slot().load()->attn_scores(hd, q, static_cast<size_t>(qs), nt, kt, static_cast<size_t>(kts), n, scale, s,
                                    static_cast<size_t>(ss));
}

void softmax_rows(float* s, int64_t ss, int nt, const int64_t* n_seen, int64_t n) {
  active_slot().load()->softmax_rows(s, static_cast<size_t>(ss), nt, n_seen, n);
}

void swiglu(const float* gate, const float* up, int64_t n, float* y) { active_slot().load()->swiglu(gate, up, n, y); }

void ssm_scan(const SsmHead& a) { active_slot().load()->ssm_scan(a); }
void ssm_conv(const SsmConvRows& a) { active_slot().load()->ssm_conv(a); }

const char* simd_level() { return active_slot().load()->name; }

bool simd_supported(std::string_view level) { return table_for(level) != nullptr && cpu_has(level); }

void set_simd_level(std::string_view level) {
  if (simd_supported(level)) active_slot().store(table_for(level));
}

void quantize_row(DType type, const float* x, void* y, int64_t n) {
  if (type == DType::q8_k) {  // the SIMD quantizer is bit-identical to the reference
    active_slot().load()->act_q8_k(x, static_cast<uint8_t*>(y), n);
    return;
  }
  const DTypeTraits* tr = dtype_traits(type);
  if (tr != nullptr && tr->from_float_ref != nullptr) tr->from_float_ref(x, y, n);
}

bool packable(DType t, int64_t m, int64_t k) {
  if (m <= 0 || m % 16 != 0) return false;
  if (kpanel_type(t)) return k > 0 && k % 256 == 0;
  return (t == DType::q4_0 || t == DType::q5_0 || t == DType::q8_0) && k % 32 == 0;
}

void pack_weights_in_runs(DType t, const void* src, int64_t m, int64_t k, void* dst, int64_t chunk_rows,
                          const std::function<void(int64_t first_row, int64_t n_rows)>& done) {
  if (!packable(t, m, k)) return;
  const int64_t run = std::max<int64_t>(16, chunk_rows / 16 * 16);
  const size_t ws = row_size(t, k);
  for (int64_t r0 = 0; r0 < m; r0 += run) {
    const int64_t n = std::min(run, m - r0);
    const size_t off = static_cast<size_t>(r0) * ws;
    pack_weights(t, static_cast<const uint8_t*>(src) + off, n, k, static_cast<uint8_t*>(dst) + off);
    if (done) done(r0, n);
  }
}

int64_t pack_run_rows(size_t row_bytes) {
  constexpr size_t kRunBytes = size_t{4} << 20;
  return std::max<int64_t>(16, static_cast<int64_t>(kRunBytes / std::max<size_t>(row_bytes, 1)) / 16 * 16);
}

std::shared_ptr<uint8_t[]> alloc_weights(size_t n) {
  constexpr size_t kHuge = size_t{2} << 20;
  const size_t align = n >= kHuge ? kHuge : 64;
  void* p = std::aligned_alloc(align, (n + align - 1) / align * align);
  if (p == nullptr) return nullptr;
#ifdef MADV_HUGEPAGE
  if (n >= kHuge) ::madvise(p, n / kHuge * kHuge, MADV_HUGEPAGE);  // advice only: failure is harmless
#endif
  return std::shared_ptr<uint8_t[]>(static_cast<uint8_t*>(p), [](uint8_t* q) { std::free(q); });
}

bool prepares(DType t, int64_t m, int64_t k) {
  return packable(t, m, k) || t == DType::f32 || t == DType::f16 || t == DType::bf16;
}

Layout prepare_weights_in_runs(DType t, const void* src, int64_t m, int64_t k, void* dst,
                               const std::function<void(int64_t first_row, int64_t n_rows)>& done) {
  const size_t ws = row_size(t, k);
  if (packable(t, m, k)) {
    pack_weights_in_runs(t, src, m, k, dst, pack_run_rows(ws), done);
    return kPanels16;
  }
  const int64_t run = pack_run_rows(ws);
  for (int64_t r0 = 0; r0 < m; r0 += run) {
    const int64_t n = std::min(run, m - r0);
    std::memcpy(static_cast<uint8_t*>(dst) + static_cast<size_t>(r0) * ws,
                static_cast<const uint8_t*>(src) + static_cast<size_t>(r0) * ws, static_cast<size_t>(n) * ws);
    if (done) done(r0, n);
  }
  return Layout::rows;
}

void pack_weights(DType t, const void* src, int64_t m, int64_t k, void* dst) {
  if (!packable(t, m, k)) return;
  if (kpanel_type(t)) {
    pack_kpanels(t, src, m, k, dst);
    return;
  }
  if (t == DType::q8_0) {
    const int64_t nb = k / 32;
    const size_t ws = row_size(t, k);
    const auto* in = static_cast<const uint8_t*>(src);
    auto* out = static_cast<uint8_t*>(dst);
    for (int64_t p = 0; p < m / 16; ++p)
      for (int64_t b = 0; b < nb; ++b) {
        const PanelBlock<uint8_t> f = panel_block(out + static_cast<size_t>(p) * 16 * ws, b, nb, Q8Panel::bytes);
        uint8_t *qs = f.at(Q8Panel::quants), *scales = f.at(Q8Panel::scales);
        for (int r = 0; r < 16; ++r) {
          const auto* q = reinterpret_cast<const tensor::BlockQ8_0*>(in + static_cast<size_t>(16 * p + r) * ws) + b;
          for (int j = 0; j < 32; ++j)
            qs[64 * (j / 4) + 4 * r + j % 4] = static_cast<uint8_t>(static_cast<int>(q->qs[j]) + 128);
          std::memcpy(scales + 2 * r, &q->d, 2);
        }
      }
    return;
  }
  const bool five = t == DType::q5_0;
  const int64_t nb = k / 32;
  const size_t ws = row_size(t, k);
  const int bytes = five ? Panel<true>::bytes : Panel<false>::bytes;
  const PanelField scales_field = five ? Panel<true>::scales : Panel<false>::scales;
  const auto* in = static_cast<const uint8_t*>(src);
  auto* out = static_cast<uint8_t*>(dst);
  for (int64_t p = 0; p < m / 16; ++p)
    for (int64_t b = 0; b < nb; ++b) {
      const PanelBlock<uint8_t> f = panel_block(out + static_cast<size_t>(p) * 16 * ws, b, nb, bytes);
      uint8_t *qs_out = f.at(Panel<true>::quants), *fifth = f.at(Panel<true>::fifth_bits), *scales = f.at(scales_field);
      for (int r = 0; r < 16; ++r) {
        const uint8_t* row = in + static_cast<size_t>(16 * p + r) * ws;
        const uint8_t* qs;
        uint16_t d;
        if (five) {
          const auto* q = reinterpret_cast<const tensor::BlockQ5_0*>(row) + b;
          qs = q->qs;
          d = q->d;
          uint32_t qh;
          std::memcpy(&qh, q->qh, 4);
          for (int i = 0; i < 4; ++i)  // byte i: fifth bits of elements 4i.. (low nibble), 16+4i.. (high)
            fifth[4 * r + i] = static_cast<uint8_t>(((qh >> (4 * i)) & 15) | (((qh >> (16 + 4 * i)) & 15) << 4));
        } else {
          const auto* q = reinterpret_cast<const tensor::BlockQ4_0*>(row) + b;
          qs = q->qs;
          d = q->d;
        }
        for (int i = 0; i < 4; ++i) std::memcpy(qs_out + 64 * i + 4 * r, qs + 4 * i, 4);
        std::memcpy(scales + 2 * r, &d, 2);
      }
    }
}

int64_t decode_chunk_rows(int64_t m, size_t row_bytes, int n_threads) {
  const int64_t quarter = (m / (4 * std::max(1, n_threads)) + 15) / 16 * 16;
  const auto cap = static_cast<int64_t>(kDecodeChunkBytes / std::max<size_t>(1, row_bytes)) / 16 * 16;
  return std::max<int64_t>(16, std::min(quarter, cap));
}

void matmul(const void* w, DType wtype, int64_t m, int64_t k, const float* x, int64_t n, float* y, ThreadPool& pool,
            Layout layout) {
  if (m <= 0 || n <= 0) return;
  const Kernels& kt = *active_slot().load();
  const GemmFn g = layout != kPanels16 ? gemm_for(kt, wtype) : panel_gemm(kt, wtype);
  if (g == nullptr) {
    matmul_dequant(w, wtype, m, k, x, n, y, pool);
    return;
  }
  const Act a = act_for(wtype);
  const size_t xs = act_row_size(a, k);
  uint8_t* xa = scratch(xs * static_cast<size_t>(n));
  const bool parallel = pool.size() > 1 && m * k * n >= (1 << 16);
  if (n >= 4 && parallel) {
    // One pointer captured: the std::function stays in its small buffer (no allocation).
    struct Convert {
      const Kernels* kt;
      Act a;
      const float* x;
      uint8_t* xa;
      int64_t k, n;
      size_t xs;
    } cv{&kt, a, x, xa, k, n, xs};
    const Convert* cp = &cv;
    pool.run([cp](int ith, int nth) {
      size_t b, e;
      split_range(static_cast<size_t>(cp->n), ith, nth, b, e);
      for (size_t i = b; i < e; ++i) convert_row(*cp->kt, cp->a, cp->x + i * cp->k, cp->xa + i * cp->xs, cp->k);
    });
  } else {
    for (int64_t i = 0; i < n; ++i) convert_row(kt, a, x + i * k, xa + i * xs, k);
  }
  Job j;
  j.gemm = g, j.w = static_cast<const uint8_t*>(w), j.ws = row_size(wtype, k);
  j.m = m, j.k = k, j.n = n, j.xa = xa, j.xs = xs, j.y = y;
  const bool floats = a == Act::f32 || a == Act::f16r || a == Act::bf16r;
  j.tile_m = floats ? kt.float_tile_m : kTileM;
  j.tile_n = floats ? kTileNFloat : kTileN;
  j.tiles_m = (m + j.tile_m - 1) / j.tile_m;
  j.tiles_n = (n + j.tile_n - 1) / j.tile_n;
  if (!parallel) {
    if (n <= j.tile_n) {
      run_rows(j, 0, m);
    } else {
      run_tiles(j);
    }
    return;
  }
  Job* jp = &j;
  if (n <= 2) {
    // Token generation: contiguous chunks of W rows (each one sequential stream) handed out
    // dynamically, so that a descheduled thread on a shared machine does not hold everyone up.
    pool.run([jp](int, int nth) {
      const int64_t chunk = decode_chunk_rows(jp->m, jp->ws, nth);
      for (int64_t r0 = jp->next.fetch_add(chunk); r0 < jp->m; r0 = jp->next.fetch_add(chunk))
        run_rows(*jp, r0, std::min(jp->m, r0 + chunk));
    });
  } else {
    pool.run([jp](int, int) { run_tiles(*jp); });
  }
}

void matvecs(std::span<const MatvecJob> jobs, ThreadPool& pool) {
  constexpr size_t kMax = 8;
  if (jobs.size() > kMax || pool.size() == 1) {
    for (const MatvecJob& j : jobs) matmul(j.w, j.wtype, j.m, j.k, j.x, j.n, j.y, pool, j.layout);
    return;
  }
  const Kernels& kt = *active_slot().load();
  Job js[kMax];
  int64_t first[kMax + 1] = {0}, chunk[kMax] = {0};  // chunk index where job i starts; its rows per chunk
  size_t off[kMax] = {0}, total = 0;
  size_t nj = 0;
  const MatvecJob* taken[kMax];
  for (const MatvecJob& j : jobs) {
    const GemmFn g = j.layout != kPanels16 ? gemm_for(kt, j.wtype) : panel_gemm(kt, j.wtype);
    if (g == nullptr || j.n > 2 || j.m <= 0) {  // not a matrix-vector product with a kernel
      matmul(j.w, j.wtype, j.m, j.k, j.x, j.n, j.y, pool, j.layout);
      continue;
    }
    Job& b = js[nj];
    b.gemm = g, b.w = static_cast<const uint8_t*>(j.w), b.ws = row_size(j.wtype, j.k);
    b.m = j.m, b.k = j.k, b.n = j.n, b.y = j.y;
    b.xs = act_row_size(act_for(j.wtype), j.k);
    off[nj] = total;
    total += (b.xs * static_cast<size_t>(j.n) + 63) / 64 * 64;
    taken[nj] = &j;
    ++nj;
  }
  if (nj == 0) return;
  // The activations in each job's form, converted once per distinct (x, form): q, k and v share
  // theirs, as gate and up do. A job reads the conversion of the first job with its input and
  // form, the one that made it.
  uint8_t* xa = scratch(total);
  for (size_t i = 0; i < nj; ++i) {
    const MatvecJob& j = *taken[i];
    const Act a = act_for(j.wtype);
    size_t same = 0;
    while (same < i && !(taken[same]->x == j.x && taken[same]->n == j.n && taken[same]->k == j.k &&
                         act_for(taken[same]->wtype) == a))
      ++same;
    js[i].xa = xa + off[same];
    if (same == i)
      for (int64_t r = 0; r < j.n; ++r) convert_row(kt, a, j.x + r * j.k, xa + off[i] + r * js[i].xs, j.k);
  }
  const int nth = pool.size();
  for (size_t i = 0; i < nj; ++i) {
    chunk[i] = decode_chunk_rows(js[i].m, js[i].ws, nth);
    first[i + 1] = first[i] + (js[i].m + chunk[i] - 1) / chunk[i];
  }
  // One parallel region for every job: the threads take the chunks of all of them in turn (each
  // chunk one sequential stream, as matmul's), and wait for each other once.
  std::atomic<int64_t> next{0};
  pool.run([&](int, int) {
    size_t i = 0;
    for (int64_t c = next.fetch_add(1); c < first[nj]; c = next.fetch_add(1)) {
      while (c >= first[i + 1]) ++i;
      const int64_t r0 = (c - first[i]) * chunk[i];
      run_rows(js[i], r0, std::min(js[i].m, r0 + chunk[i]));
    }
  });
}

}  // namespace fragua::cpu
