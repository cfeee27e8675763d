// SPDX-License-Identifier: Apache-2.0
// The dtype table: one entry per GGML type id Fragua knows (DESIGN 4).
#include "fragua/tensor/dtype.h"

#include <array>
#include <string>

#include "fragua/tensor/blocks.h"

namespace fragua {
namespace {

using namespace tensor;

struct Entry {
  DType type;
  DTypeTraits traits;
  bool computable;  // false: known id (for names and sizes) that Fragua does not compute with
};

// Block sizes and bytes per block from ggml's type_traits table.
const std::array<Entry, 20> kTable = {{
    {DType::f32, {"f32", 1, 4, false, dequant_f32, quant_f32}, true},
    {DType::f16, {"f16", 1, 2, false, dequant_f16, quant_f16}, true},
    {DType::bf16, {"bf16", 1, 2, false, dequant_bf16, quant_bf16}, true},
    {DType::q4_0, {"q4_0", 32, sizeof(BlockQ4_0), true, dequant_q4_0, quant_q4_0_ref}, true},
    {DType::q4_1, {"q4_1", 32, sizeof(BlockQ4_1), true, dequant_q4_1, quant_q4_1_ref}, true},
    {DType::q5_0, {"q5_0", 32, sizeof(BlockQ5_0), true, dequant_q5_0, quant_q5_0_ref}, true},
    {DType::q5_1, {"q5_1", 32, sizeof(BlockQ5_1), true, dequant_q5_1, quant_q5_1_ref}, true},
    {DType::q8_0, {"q8_0", 32, sizeof(BlockQ8_0), true, dequant_q8_0, quant_q8_0_ref}, true},
    {DType::q8_1, {"q8_1", 32, sizeof(BlockQ8_1), true, dequant_q8_1, nullptr}, true},
    {DType::q2_k, {"q2_k", 256, sizeof(BlockQ2_K), true, dequant_q2_k, quant_q2_k_ref}, true},
    {DType::q3_k, {"q3_k", 256, sizeof(BlockQ3_K), true, dequant_q3_k, quant_q3_k_ref}, true},
    {DType::q4_k, {"q4_k", 256, sizeof(BlockQ4_K), true, dequant_q4_k, quant_q4_k_ref}, true},
    {DType::q5_k, {"q5_k", 256, sizeof(BlockQ5_K), true, dequant_q5_k, quant_q5_k_ref}, true},
    {DType::q6_k, {"q6_k", 256, sizeof(BlockQ6_K), true, dequant_q6_k, quant_q6_k_ref}, true},
    {DType::q8_k, {"q8_k", 256, sizeof(BlockQ8_K), true, dequant_q8_k, quant_q8_k_ref}, true},
    {DType::i8, {"i8", 1, 1, false, nullptr, nullptr}, false},
    {DType::i16, {"i16", 1, 2, false, nullptr, nullptr}, false},
    {DType::i32, {"i32", 1, 4, false, nullptr, nullptr}, false},
    {DType::i64, {"i64", 1, 8, false, nullptr, nullptr}, false},
    {DType::f64, {"f64", 1, 8, false, nullptr, nullptr}, false},
}};

const Entry* find(DType t) {
  for (const auto& e : kTable)
    if (e.type == t) return &e;
  return nullptr;
}

}  // namespace

const DTypeTraits* dtype_traits(DType t) {
  const Entry* e = find(t);
  return e != nullptr && e->computable ? &e->traits : nullptr;
}

std::string_view dtype_name(DType t) {
  if (const Entry* e = find(t)) return e->traits.name;
  thread_local std::string unknown;
  unknown = "unknown(" + std::to_string(static_cast<uint32_t>(t)) + ")";
  return unknown;
}

std::optional<DType> dtype_from_name(std::string_view name) {
  for (const auto& e : kTable) {
    std::string_view n = e.traits.name;
    if (n.size() != name.size()) continue;
    bool same = true;
    for (size_t i = 0; i < n.size() && same; ++i) {
      char c = name[i];
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      same = c == n[i];
    }
    if (same) return e.type;
  }
  return std::nullopt;
}

size_t row_size(DType t, int64_t n) {
  const Entry* e = find(t);
  if (e == nullptr || n < 0) return 0;
  size_t bytes = 0;
  if (__builtin_mul_overflow(static_cast<size_t>(n / e->traits.block_size), e->traits.type_size, &bytes)) return 0;
  return bytes;
}

std::optional<uint64_t> tensor_bytes(DType t, std::span<const int64_t> ne) {
  const Entry* e = find(t);
  if (e == nullptr || ne.empty()) return std::nullopt;
  for (int64_t d : ne)
    if (d <= 0) return std::nullopt;
  if (ne[0] % e->traits.block_size != 0) return std::nullopt;
  uint64_t bytes = row_size(t, ne[0]);
  if (bytes == 0) return std::nullopt;
  for (size_t d = 1; d < ne.size(); ++d)
    if (__builtin_mul_overflow(bytes, static_cast<uint64_t>(ne[d]), &bytes)) return std::nullopt;
  return bytes;
}

}  // namespace fragua
