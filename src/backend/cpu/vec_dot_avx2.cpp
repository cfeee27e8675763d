// AVX2 + FMA + F16C kernels (compiled with those flags only; reached through the table).
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <type_traits>

#include "backend/cpu/kernels.h"
#include "fragua/tensor/blocks.h"

namespace fragua::cpu {
namespace avx2_impl {
#include "backend/cpu/gemm_simd.h"
}  // namespace avx2_impl

const Kernels& kernels_avx2() {
  using namespace avx2_impl;
  static const Kernels t = {
      "avx2",
      act_q8_0_simd,
      act_q8_k_simd,
      act_f16r_simd,
      gemm_rows<FloatTile<WF32>::T, 4, 2>,
      gemm_rows<FloatTile<WF16>::T, 4, 2>,
      gemm_rows<FloatTile<WBF16>::T, 4, 2>,
      gemm_legacy<WQ4_0, 4, 2>,
      gemm_legacy<WQ4_1, 4, 2>,
      gemm_legacy<WQ5_0, 4, 2>,
      gemm_legacy<WQ5_1, 4, 2>,
      gemm_q8_0_ggml<4, 2>,
      gemm_rows<Q4K, 4, 2>,
      gemm_rows<Q5K, 4, 2>,
      gemm_rows<Q6K, 4, 2>,
      gemm_panels<false>,
      gemm_panels<true>,
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
