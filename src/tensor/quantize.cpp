// SPDX-License-Identifier: Apache-2.0
// Row-wise quantization entry point (see quantize.h).
#include "fragua/tensor/quantize.h"

#include "fragua/tensor/blocks.h"

namespace fragua {
namespace {

using Weighted = void (*)(const float*, void*, int64_t, const float*);

Weighted weighted_quantizer(DType type) {
  switch (type) {
    case DType::q4_0:
      return tensor::quant_q4_0_weighted;
    case DType::q4_1:
      return tensor::quant_q4_1_weighted;
    case DType::q5_0:
      return tensor::quant_q5_0_weighted;
    case DType::q5_1:
      return tensor::quant_q5_1_weighted;
    case DType::q2_k:
      return tensor::quant_q2_k_weighted;
    case DType::q3_k:
      return tensor::quant_q3_k_weighted;
    case DType::q4_k:
      return tensor::quant_q4_k_weighted;
    case DType::q5_k:
      return tensor::quant_q5_k_weighted;
    case DType::q6_k:
      return tensor::quant_q6_k_weighted;
    default:
      return nullptr;
  }
}

}  // namespace

bool dtype_uses_importance(DType type) { return weighted_quantizer(type) != nullptr; }

Status quantize_rows(DType type, const float* src, void* dst, int64_t n_rows, int64_t n_per_row,
                     const float* importance) {
  const DTypeTraits* tr = dtype_traits(type);
  if (tr == nullptr || tr->from_float_ref == nullptr)
    return unsupported_error("quantize: no quantizer for type {}", dtype_name(type));
  if (n_rows < 0 || n_per_row <= 0 || n_per_row % tr->block_size != 0)
    return invalid_argument_error("quantize: a row of {} elements is not a multiple of {}'s block of {}", n_per_row,
                                  dtype_name(type), tr->block_size);
  const size_t row_bytes = row_size(type, n_per_row);
  auto* out = static_cast<uint8_t*>(dst);
  const Weighted weighted = importance != nullptr ? weighted_quantizer(type) : nullptr;
  for (int64_t r = 0; r < n_rows; ++r) {
    const float* x = src + r * n_per_row;
    uint8_t* y = out + static_cast<size_t>(r) * row_bytes;
    if (weighted != nullptr)
      weighted(x, y, n_per_row, importance);
    else
      tr->from_float_ref(x, y, n_per_row);
  }
  return ok_status();
}

}  // namespace fragua
