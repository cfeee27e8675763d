// SPDX-License-Identifier: Apache-2.0
// One AdamW update over a contiguous range (adamw.cpp), in two builds chosen at run time
// (DESIGN 5): the portable loop and AVX-512 (adamw_update_avx512.cpp). Both do the same IEEE
// single operations in the same order, without fused multiply-adds, so they agree bit for bit
// and a run does not change with the CPU's vector width.
#pragma once

#include <cstddef>

namespace fragua::train {

struct AdamWUpdate {
  float clip, b1, b2, one_minus_b1, one_minus_b2, bc1, bc2, lr, decay, eps;
};

void adamw_update_avx512(float* p, const float* g, float* m, float* v, size_t n, const AdamWUpdate& u);

}  // namespace fragua::train
