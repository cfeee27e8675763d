// SPDX-License-Identifier: Apache-2.0
// Quantizing rows of floats to any dtype with a reference quantizer, optionally weighted by an
// importance per column (llama.cpp's importance matrix: the mean squared activation that meets
// each input column of a weight matrix), which the weighted searches use.
#pragma once

#include <cstdint>

#include "fragua/base/error.h"
#include "fragua/tensor/dtype.h"

namespace fragua {

// Whether quantize_rows uses an importance vector for this dtype (q4_0, q4_1, q5_0, q5_1 and
// q2_k..q6_k, as ggml's quantize_chunk does); others (q8_0, f16, ...) ignore it.
bool dtype_uses_importance(DType type);

// Quantizes n_rows rows of n_per_row floats from src into dst (n_rows * row_size(type, n_per_row)
// bytes). `importance`, when not null, holds n_per_row non-negative weights shared by every row.
// invalid_argument when n_per_row is not a multiple of the block size; unsupported when the type
// has no quantizer.
Status quantize_rows(DType type, const float* src, void* dst, int64_t n_rows, int64_t n_per_row,
                     const float* importance = nullptr);

}  // namespace fragua
