// AVX-512 (F, BW, VL, DQ, VNNI) kernels: 512-bit float dots, 256-bit VPDPBUSD integer dots.
// GCC 12 flags the deliberately undefined pass-through operands of its own AVX-512 intrinsics
// (_mm512_undefined_ps in _mm512_cvtph_ps and friends): a false positive.
#pragma GCC diagnostic ignored "-Wuninitialized"
#if !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <type_traits>
#include <vector>

#include "backend/cpu/kernels.h"
#include "fragua/tensor/blocks.h"

#define FRAGUA_VNNI 1

namespace fragua::cpu {
namespace avx512_impl {
// Textual fragments in dependency order (the shared GEMM templates, then the 512-bit kernels that
// use them), not a sorted include block.
// clang-format off
#include "backend/cpu/gemm_simd.h"
#include "backend/cpu/gemm_avx512_legacy.h"
#include "backend/cpu/gemm_avx512_kquants.h"
// clang-format on
}  // namespace avx512_impl

const Kernels& kernels_avx512() {
  using namespace avx512_impl;
  static const Kernels t = {
      "avx512",
      act_q8_0_simd,
      act_q8_k_simd,
      act_f16r_simd,
      gemm_rows<FloatTile<WF32>::T, 4, 4>,
      gemm_rows<FloatTile<WF16>::T, 4, 6>,
      gemm_rows<FloatTile<WBF16>::T, 4, 4>,
      gemm_legacy512<W2Q4_0, 4, 4>,
      gemm_legacy<WQ4_1, 4, 4>,
      gemm_legacy512<W2Q5_0, 4, 4>,
      gemm_legacy<WQ5_1, 4, 4>,
      gemm_q8_0_ggml512<4, 4>,
      gemm_rows<Q4K512, 4, 4>,
      gemm_rows<Q5K512, 4, 4>,
      gemm_rows<Q6K512, 4, 4>,
      gemm_panels512<false>,
      gemm_panels512<true>,
      to_f16_simd,
      from_f16_simd,
      attend_f16_simd,
      attn_scores_simd,
      softmax_rows_simd,
      swiglu_simd,
  };
  return t;
}

}  // namespace fragua::cpu
#undef FRAGUA_VNNI
