// SPDX-License-Identifier: Apache-2.0
// SIMD micro-kernels shared by vec_dot_avx2.cpp and vec_dot_avx512.cpp, one fragment per concern
// in simd/. Each of those files includes this one once inside its own namespace, with
// FRAGUA_VNNI defined where AVX512-VNNI may be used: the 256-bit VPDPBUSD of AVX512VL, and the
// 512-bit integer kernels of the AVX-512 table, which sit beside their 256-bit versions in the
// same fragment. The float kernels use zmm under __AVX512F__.
//
// Integer dots: weights are made unsigned (nibbles, or int8 + 128) so that one u8 x s8
// instruction forms the products; the offset is removed exactly with the per-block sum of the
// activations that the Q8 row carries (dot(w - o, x) = dot(w, x) - o * sum(x)).
// A tile is R weight rows x C activation rows: each weight block is unpacked once per tile and
// each activation block loaded once per row, with R*C accumulators in registers.
// The including file provides <immintrin.h>, <algorithm>, <cmath>, <cstring>, <type_traits>
// <vector>, kernels.h and blocks.h before opening its namespace.

// Textual fragments in dependency order (each uses only those above it), not a sorted block.
// clang-format off
#include "backend/cpu/simd/base.inl"
#include "backend/cpu/simd/tiling.inl"
#include "backend/cpu/simd/quantize.inl"
#include "backend/cpu/simd/gemm_legacy.inl"
#include "backend/cpu/simd/gemm_panels.inl"
#include "backend/cpu/simd/gemm_kquants.inl"
#include "backend/cpu/simd/gemm_kpanels.inl"
#include "backend/cpu/simd/gemm_float.inl"
#include "backend/cpu/simd/attention.inl"
#include "backend/cpu/simd/swiglu.inl"
#include "backend/cpu/simd/ssm.inl"
// clang-format on
