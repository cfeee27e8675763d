// SPDX-License-Identifier: Apache-2.0
// BF16 mixed-precision GEMM (kernels.h, gemm_bf16) for `fragua train --precision bf16`: Debian's
// OpenBLAS has no sbgemm, so the blocking is here, after Goto & van de Geijn 2008 ("Anatomy of
// high-performance matrix multiplication"): K in blocks of kBf16Kc; per block, B is rounded to
// BF16 into panels of 32 columns with the two k of each pair adjacent (VDPBF16PS's operand
// order), then each thread takes blocks of kBf16Mc rows of A, rounds them to BF16 rows and runs
// the micro-kernel (matmul_bf16_avx512.cpp) over every panel. C stays F32 and each element is
// summed by one thread in a fixed order, so results do not depend on the thread count.
#include <cpuid.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "fragua/train/kernels.h"
#include "train/kernels/matmul_bf16.h"

namespace fragua::train::kernels {

namespace {

constexpr int kBf16Kc = kBf16BlockK;
constexpr int kBf16Mc = 96;   // a multiple of the micro-kernel's 6 rows

}  // namespace

uint16_t f32_to_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((u >> 16) | 0x40u);  // NaN stays NaN
  u += 0x7fffu + ((u >> 16) & 1u);                                                      // round to nearest even
  return static_cast<uint16_t>(u >> 16);
}

float bf16_to_f32(uint16_t h) {
  const uint32_t u = static_cast<uint32_t>(h) << 16;
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

bool bf16_matmul_available() {
  // AVX512_BF16 is CPUID leaf 7 sub-leaf 1, EAX bit 5 (Intel SDM vol. 2A, CPUID); the zmm state
  // being enabled by the OS is what __builtin_cpu_supports("avx512f") checks.
  static const bool ok = [] {
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    if (!__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512bw") ||
        !__builtin_cpu_supports("avx512vl"))
      return false;
    if (!__get_cpuid_count(7, 1, &eax, &ebx, &ecx, &edx)) return false;
    return (eax & (1u << 5)) != 0;
  }();
  return ok;
}

void gemm_bf16(float* C, int ldc, const float* a, size_t a_rs, size_t a_cs, const float* b, size_t b_rs, size_t b_cs,
               int M, int N, int K, bool accumulate, const KernelOptions& opts) {
  if (M <= 0 || N <= 0) return;
  if (!bf16_matmul_available()) {
    // The same rounding of the inputs with plain loops: for tests on CPUs without the extension.
    parallel_for(opts, static_cast<size_t>(M), [&](size_t s, size_t e) {
      for (size_t m = s; m < e; ++m)
        for (int n = 0; n < N; ++n) {
          float acc = 0;
          for (int k = 0; k < K; ++k)
            acc += bf16_to_f32(f32_to_bf16(a[m * a_rs + k * a_cs])) * bf16_to_f32(f32_to_bf16(b[k * b_rs + n * b_cs]));
          float& c = C[m * static_cast<size_t>(ldc) + n];
          c = accumulate ? c + acc : acc;
        }
    });
    return;
  }
  const int panels = (N + kBf16PanelCols - 1) / kBf16PanelCols;
  const int m_blocks = (M + kBf16Mc - 1) / kBf16Mc;
  std::vector<uint16_t> bpack(static_cast<size_t>(panels) * kBf16Kc * kBf16PanelCols);
  if (K <= 0 && !accumulate)
    for (int m = 0; m < M; ++m) std::fill(C + static_cast<size_t>(m) * ldc, C + static_cast<size_t>(m) * ldc + N, 0.0f);
  for (int k0 = 0; k0 < K; k0 += kBf16Kc) {
    const int kc = std::min(kBf16Kc, K - k0), kp = (kc + 1) / 2;
    const size_t panel_size = static_cast<size_t>(kp) * 2 * kBf16PanelCols;
    parallel_for(opts, static_cast<size_t>(panels), [&](size_t s, size_t e) {
      for (size_t p = s; p < e; ++p) {
        uint16_t* dst = bpack.data() + p * panel_size;
        if (b_cs == 1) {
          const int w = std::min(kBf16PanelCols, N - static_cast<int>(p) * kBf16PanelCols);
          bf16_pack_panel_avx512(dst, b + static_cast<size_t>(k0) * b_rs + p * kBf16PanelCols, b_rs, kc, kp, w);
          continue;
        }
        if (b_rs == 1) {
          const int w = std::min(kBf16PanelCols, N - static_cast<int>(p) * kBf16PanelCols);
          bf16_pack_panel_kmajor_avx512(dst, b + static_cast<size_t>(k0) + p * kBf16PanelCols * b_cs, b_cs, kc, kp, w);
          continue;
        }
        auto put = [&](int kl, int col) {
          const size_t n = p * kBf16PanelCols + col;
          const size_t at = (static_cast<size_t>(kl / 2) * kBf16PanelCols + col) * 2 + (kl & 1);
          dst[at] = (n < static_cast<size_t>(N) && kl < kc) ? f32_to_bf16(b[(k0 + kl) * b_rs + n * b_cs]) : 0;
        };
        for (int col = 0; col < kBf16PanelCols; ++col)  // B stored along k (the forward's W^T)
          for (int kl = 0; kl < 2 * kp; ++kl) put(kl, col);
      }
    });
    const bool overwrite = k0 == 0 && !accumulate;
    parallel_for(opts, static_cast<size_t>(m_blocks), [&](size_t s, size_t e) {
      std::vector<uint16_t> apack(static_cast<size_t>(kBf16Mc) * 2 * kp);
      for (size_t mb = s; mb < e; ++mb) {
        const int m0 = static_cast<int>(mb) * kBf16Mc, rows = std::min(kBf16Mc, M - m0);
        const float* src = a + static_cast<size_t>(m0) * a_rs + static_cast<size_t>(k0) * a_cs;
        const size_t ld = static_cast<size_t>(2 * kp);
        if (a_cs == 1) {
          for (int r = 0; r < rows; ++r) bf16_convert_avx512(apack.data() + r * ld, src + r * a_rs, kc);
        } else if (a_rs != 1) {
          for (int r = 0; r < rows; ++r)
            for (int kl = 0; kl < kc; ++kl) apack[r * ld + kl] = f32_to_bf16(src[r * a_rs + kl * a_cs]);
        } else {  // A stored transposed (the weight gradient's dout^T): read along its rows
          for (int kl = 0; kl < kc; ++kl)
            for (int r = 0; r < rows; ++r) apack[r * ld + kl] = f32_to_bf16(src[r + kl * a_cs]);
        }
        if (kc & 1)
          for (int r = 0; r < rows; ++r) apack[r * ld + kc] = 0;
        for (int p = 0; p < panels; ++p)
          bf16_panel_avx512(C + static_cast<size_t>(m0) * ldc + static_cast<size_t>(p) * kBf16PanelCols, ldc,
                            apack.data(), 2 * kp, rows, bpack.data() + p * panel_size, kp,
                            std::min(kBf16PanelCols, N - p * kBf16PanelCols), overwrite);
      }
    });
  }
}

}  // namespace fragua::train::kernels
