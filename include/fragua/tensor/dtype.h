// SPDX-License-Identifier: Apache-2.0
// Element types. Values are the GGML/GGUF type ids, so a GGUF tensor's type field maps directly.
// Adding a dtype = one traits entry + a scalar reference first (DESIGN 4).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace fragua {

enum class DType : uint32_t {
  f32 = 0,
  f16 = 1,
  q4_0 = 2,
  q4_1 = 3,
  q5_0 = 6,
  q5_1 = 7,
  q8_0 = 8,
  q8_1 = 9,
  q2_k = 10,
  q3_k = 11,
  q4_k = 12,
  q5_k = 13,
  q6_k = 14,
  q8_k = 15,
  i8 = 24,
  i16 = 25,
  i32 = 26,
  i64 = 27,
  f64 = 28,
  bf16 = 30,
};

struct DTypeTraits {
  const char* name;    // "q4_k"
  int64_t block_size;  // elements per block (1 for plain types)
  size_t type_size;    // bytes per block
  bool quantized;
  // Dequantize n elements (n % block_size == 0). Bit-exact to the GGUF definition.
  void (*to_float)(const void* src, float* dst, int64_t n);
  // Scalar reference quantizer (nullptr where Fragua does not quantize to this type).
  void (*from_float_ref)(const float* src, void* dst, int64_t n);
};

// Traits of a supported dtype, or nullptr (unknown id or a type Fragua cannot compute with).
const DTypeTraits* dtype_traits(DType t);
// Name for messages; "unknown(<id>)" for unknown ids.
std::string_view dtype_name(DType t);
std::optional<DType> dtype_from_name(std::string_view name);
// Bytes of a row of n elements; n must be a multiple of the block size. 0 for an unknown dtype, a
// negative n or a size beyond 64 bits.
size_t row_size(DType t, int64_t n);
// Bytes of a tensor of shape ne (GGML order): row_size(ne[0]) x ne[1] x ne[2] ..., computed with
// checked multiplication. nullopt for an unknown dtype, an empty shape, a dimension <= 0, a row
// length that is not a multiple of the block size, or a product past 64 bits (a file's f32
// [2^40, 2^22] would otherwise wrap to 0 bytes and pass every bounds check).
std::optional<uint64_t> tensor_bytes(DType t, std::span<const int64_t> ne);

}  // namespace fragua
