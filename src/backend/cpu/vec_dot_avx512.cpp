// SPDX-License-Identifier: Apache-2.0
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
#include "backend/cpu/gemm_simd.h"
}  // namespace avx512_impl

const Kernels& kernels_avx512() {
  using namespace avx512_impl;
  static const Kernels t = {
      .name = "avx512",
      .act_q8_0 = act_q8_0_simd,
      .act_q8_k = act_q8_k_simd,
      .act_f16r = act_f16r_simd,
      .f32 = gemm_float<WF32, 4, 4>,
      .f16 = gemm_float<WF16, 4, 6>,
      .bf16 = gemm_float<WBF16, 4, 4>,
      .q4_0 = gemm_legacy512<W2Q4_0, 4, 4>,
      .q4_1 = gemm_legacy<WQ4_1, 4, 4>,
      .q5_0 = gemm_legacy512<W2Q5_0, 4, 4>,
      .q5_1 = gemm_legacy<WQ5_1, 4, 4>,
      .q8_0 = gemm_q8_0_ggml512<4, 4>,
      .q4_k = gemm_rows<Q4K512, 4, 4>,
      .q5_k = gemm_rows<Q5K512, 4, 4>,
      .q6_k = gemm_rows<Q6K512, 4, 4>,
      .q2_k = gemm_rows<Q2K512, 4, 4>,
      .q3_k = gemm_rows<Q3K512, 4, 4>,
      .q4_0_p16 = gemm_panels512<false>,
      .q5_0_p16 = gemm_panels512<true>,
      .q4_k_p16 = gemm_kpanels512<DType::q4_k>,
      .q5_k_p16 = gemm_kpanels512<DType::q5_k>,
      .q6_k_p16 = gemm_kpanels512<DType::q6_k>,
      .q2_k_p16 = gemm_kpanels512<DType::q2_k>,
      .q3_k_p16 = gemm_kpanels512<DType::q3_k>,
      .q8_0_p16 = gemm_q8_0_panels512,
      .to_f16 = to_f16_simd,
      .from_f16 = from_f16_simd,
      .attend_f16 = attend_f16_simd,
      .attn_scores = attn_scores_simd,
      .softmax_rows = softmax_rows_simd,
      .swiglu = swiglu_simd,
      .ssm_scan = ssm_scan_simd,
      .ssm_conv = ssm_conv_simd,
      .float_tile_m = 32,
  };
  return t;
}

}  // namespace fragua::cpu
#undef FRAGUA_VNNI
