// SPDX-License-Identifier: Apache-2.0
// The AVX512-BF16 micro-kernel of the BF16 GEMM (matmul_bf16.cpp packs and blocks; the kernel
// file holds only intrinsics, so nothing compiled for AVX-512 is shared with baseline code).
#pragma once

#include <cstddef>
#include <cstdint>

namespace fragua::train::kernels {

// BF16 values are stored as their 16 raw bits (the high half of the F32).
// Panel width: columns of C one micro-kernel call covers; K block: rows of a panel (even).
inline constexpr int kBf16PanelCols = 32;
inline constexpr int kBf16BlockK = 256;

// C (rows, w) (+)= A (rows, 2 kp) @ B (2 kp, w), rows <= any, w <= 32. A: `rows` rows of 2 kp
// BF16 values, a_stride apart; B: the packed panel, kp pairs of rows, each 32 columns x 2 (the
// two k of a pair adjacent, as VDPBF16PS reads them). Products summed in F32.
void bf16_panel_avx512(float* C, int ldc, const uint16_t* a, int a_stride, int rows, const uint16_t* bpanel, int kp,
                       int w, bool overwrite);

// dst[i] = BF16(src[i]) for i < n (VCVTNEPS2BF16: round to nearest even, denormal inputs as 0).
void bf16_convert_avx512(uint16_t* dst, const float* src, int n);
// One packed panel of B (layout as for bf16_panel_avx512) from rows k < kc of B that are
// contiguous along the columns (element (k, c) at b[k*b_rs + c], c < w); rows and columns past
// kc and w are zero.
void bf16_pack_panel_avx512(uint16_t* panel, const float* b, size_t b_rs, int kc, int kp, int w);
// The same panel from columns that are contiguous along k (element (k, c) at b[k + c*b_cs]),
// kc <= kBf16BlockK: the forward's W^T.
void bf16_pack_panel_kmajor_avx512(uint16_t* panel, const float* b, size_t b_cs, int kc, int kp, int w);

}  // namespace fragua::train::kernels
