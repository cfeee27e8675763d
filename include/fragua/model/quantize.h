// SPDX-License-Identifier: Apache-2.0
// `fragua quantize`: a GGUF model to another weight type, tensor by tensor, with llama.cpp's
// file types (llama_ftype) and its per-tensor rules for the k-quant mixes (llama-quant.cpp's
// llama_tensor_get_type: which attn_v / ffn_down / attn_output / output tensors get more bits),
// so that a Fragua Q4_K_M holds the same types, tensor for tensor, as llama.cpp's.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fragua/base/error.h"
#include "fragua/base/file.h"
#include "fragua/tensor/dtype.h"

namespace fragua::format {
class GgufFile;
}

namespace fragua::model {

// A target file type. `ftype` is llama.cpp's llama_ftype value, written as general.file_type.
struct QuantizeType {
  std::string name;  // "Q4_K_M"
  uint32_t ftype;    // 15
  DType base;        // the type most tensors get: q4_k
};

// Every type `fragua quantize` makes, in llama-quantize's order.
const std::vector<QuantizeType>& quantize_types();
// By name, case-insensitive; "Q3_K", "Q4_K", "Q5_K" mean the _M mixes as in llama-quantize.
// invalid_argument listing the known names otherwise.
Result<QuantizeType> find_quantize_type(std::string_view name);

// Per input column, the mean squared activation of each weight matrix (llama.cpp's imatrix).
using ImportanceMatrix = std::map<std::string, std::vector<float>>;

// llama.cpp's imatrix.dat: i32 n_entries, then per entry i32 name length, name, i32 ncall,
// i32 n_values, f32 values (sums over ncall calls); optionally i32 chunks and the dataset name.
// Values are returned divided by ncall, as llama-quantize reads them. Errors name the byte offset.
Result<ImportanceMatrix> read_imatrix(const std::string& path, Env& env = Env::posix());
// The same from bytes (fuzzing); `name` stands for the file in messages.
Result<ImportanceMatrix> parse_imatrix(std::string_view bytes, const std::string& name);

struct QuantizeOptions {
  QuantizeType type;
  std::optional<DType> output_type;           // output.weight (or the tied embedding) instead of the rule
  std::optional<DType> embd_type;             // token_embd.weight instead of the rule
  const ImportanceMatrix* imatrix = nullptr;  // used by q4_0..q5_1 and the k-quants where it names a tensor
  int n_threads = 0;                          // 0: runtime default
  bool progress = true;
  Env* env = nullptr;  // null: Env::posix()
};

// The type each tensor of `file` gets (in file order): 2-D+ weights ending in "weight" other than
// norms take the mix rules, the rest keep their type; a row length that the chosen type's block
// does not divide falls back as llama.cpp does (q2_k, q3_k -> q4_0; q4_k -> q5_0; q5_k -> q5_1;
// q6_k -> q8_0; then f16: the llama.cpp of bench/llama_cpp_setup.sh, checked by bench/quantize.py).
Result<std::vector<DType>> plan_tensor_types(const format::GgufFile& file, const QuantizeOptions& options);

struct QuantizeReport {
  uint64_t n_tensors = 0, n_quantized = 0, n_imatrix = 0;  // n_imatrix: tensors quantized with importance
  uint64_t bytes_in = 0, bytes_out = 0;
  double seconds = 0;
};

// Reads `in` (memory-mapped), quantizes one tensor at a time over n_threads (memory near the
// largest tensor as f32 plus its output), copies every metadata key but general.file_type (set to
// the type's ftype) and general.quantization_version (2), and writes `out` atomically: on any
// error nothing is left at `out`. Quantized inputs are refused (no requantization).
Result<QuantizeReport> quantize_model(const std::string& in, const std::string& out, const QuantizeOptions& options);

}  // namespace fragua::model
