// SPDX-License-Identifier: Apache-2.0
// AVX2 + FMA + F16C kernels (compiled with those flags only; reached through the table).
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <type_traits>
#include <vector>

#include "backend/cpu/kernels.h"
#include "fragua/tensor/blocks.h"

namespace fragua::cpu {
namespace avx2_impl {
#include "backend/cpu/gemm_simd.h"
}  // namespace avx2_impl

const Kernels& kernels_avx2() {
  using namespace avx2_impl;
  static const Kernels t = {
      .name = "avx2",
      .act_q8_0 = act_q8_0_simd,
      .act_q8_k = act_q8_k_simd,
      .act_f16r = act_f16r_simd,
      .f32 = gemm_float<WF32, 3, 2>,
      .f16 = gemm_float<WF16, 3, 2>,
      .bf16 = gemm_float<WBF16, 3, 2>,
      .q4_0 = gemm_legacy<WQ4_0, 4, 2>,
      .q4_1 = gemm_legacy<WQ4_1, 4, 2>,
      .q5_0 = gemm_legacy<WQ5_0, 4, 2>,
      .q5_1 = gemm_legacy<WQ5_1, 4, 2>,
      .q8_0 = gemm_q8_0_ggml<4, 2>,
      .q4_k = gemm_rows<Q4K, 4, 2>,
      .q5_k = gemm_rows<Q5K, 4, 2>,
      .q6_k = gemm_rows<Q6K, 4, 2>,
      .q2_k = gemm_rows<Q2K, 4, 2>,
      .q3_k = gemm_rows<Q3K, 4, 2>,
      .q4_0_p16 = gemm_panels<false>,
      .q5_0_p16 = gemm_panels<true>,
      .q4_k_p16 = gemm_kpanels<DType::q4_k>,
      .q5_k_p16 = gemm_kpanels<DType::q5_k>,
      .q6_k_p16 = gemm_kpanels<DType::q6_k>,
      .q2_k_p16 = gemm_kpanels<DType::q2_k>,
      .q3_k_p16 = gemm_kpanels<DType::q3_k>,
      .q8_0_p16 = gemm_q8_0_panels,
      .to_f16 = to_f16_simd,
      .from_f16 = from_f16_simd,
      .attend_f16 = attend_f16_simd,
      .attn_scores = attn_scores_simd,
      .softmax_rows = softmax_rows_simd,
      .swiglu = swiglu_simd,
      .ssm_scan = ssm_scan_simd,
      .ssm_conv = ssm_conv_simd,
      // Ten 3 x 2 register tiles (gemm_float.inl) per thread tile: with 32 rows, two of them fell to
      // 1 x 2 tiles, which convert each weight vector for two products (9% of an F16 prompt's
      // samples for 6% of its rows, perf on the Zen 3 VM).
      .float_tile_m = 30,
  };
  return t;
}

}  // namespace fragua::cpu
