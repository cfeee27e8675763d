// SPDX-License-Identifier: Apache-2.0
// GGUF -> GGUF quantization with llama.cpp's file types and mix rules (see quantize.h). The rules
// are llama-quant.cpp's llama_tensor_get_type for dense models of the Llama family, rewritten:
// the branches for the iq* types, MoE experts, Falcon and 70B models are left out because Fragua
// neither makes those types nor runs those models.
#include "fragua/model/quantize.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <optional>

#include "fragua/base/log.h"
#include "fragua/base/progress.h"
#include "fragua/base/thread_pool.h"
#include "fragua/format/gguf.h"
#include "fragua/tensor/quantize.h"

namespace fragua::model {
namespace {

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}
bool contains(std::string_view s, std::string_view part) { return s.find(part) != std::string_view::npos; }

std::string upper(std::string_view s) {
  std::string u(s);
  for (char& c : u)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return u;
}

// Layers at the two ends and every third one between get more bits (llama-quant.cpp's
// use_more_bits): the first and last eighths of the network are the most sensitive.
bool use_more_bits(int64_t i_layer, int64_t n_layer) {
  return i_layer < n_layer / 8 || i_layer >= 7 * n_layer / 8 || (i_layer - n_layer / 8) % 3 == 2;
}

// What the mix rules read from the file: counts of the tensors they walk and the GQA factor.
struct MixState {
  int64_t n_layer = 0, n_gqa = 1, n_attention_wv = 0;
  int64_t i_attention_wv = 0, i_ffn_down = 0;
  bool has_output = false, has_imatrix = false;
};

DType rule_type(const std::string& name, const QuantizeType& qt, DType type, int64_t ne0, MixState& st) {
  const std::string_view f = qt.name;
  if (name == "output.weight" || (!st.has_output && name == "token_embd.weight")) {
    if (ne0 % 256 != 0) return DType::q8_0;
    return type != DType::q8_0 ? DType::q6_k : type;
  }
  if (name == "token_embd.weight") return type;
  if (contains(name, "attn_v.weight")) {
    if (f == "Q2_K")
      type = st.n_gqa >= 4 ? DType::q4_k : DType::q3_k;
    else if (f == "Q3_K_M")
      type = st.i_attention_wv < 2 ? DType::q5_k : DType::q4_k;
    else if (f == "Q3_K_L")
      type = DType::q5_k;
    else if ((f == "Q4_K_M" || f == "Q5_K_M") && use_more_bits(st.i_attention_wv, st.n_attention_wv))
      type = DType::q6_k;
    else if (f == "Q4_K_S" && st.i_attention_wv < 4)
      type = DType::q5_k;
    ++st.i_attention_wv;
    return type;
  }
  if (contains(name, "ffn_down")) {
    const int64_t i = st.i_ffn_down++, n = st.n_layer;
    if (f == "Q2_K") return DType::q3_k;
    if (f == "Q3_K_M") return i < n / 16 ? DType::q5_k : DType::q4_k;
    if (f == "Q3_K_L") return DType::q5_k;
    if (f == "Q4_K_M") return use_more_bits(i, n) ? DType::q6_k : type;
    if (f == "Q5_K_M") return use_more_bits(i, n) ? DType::q6_k : type;
    if (f == "Q4_K_S") return i < n / 8 ? DType::q5_k : type;
    // With an imatrix llama.cpp guards the first ffn_down layers of Q4_0/Q5_0 with the _1 types.
    if ((f == "Q4_0" || f == "Q5_0") && st.has_imatrix && i < n / 8) return f == "Q4_0" ? DType::q4_1 : DType::q5_1;
    return type;
  }
  if (contains(name, "attn_output.weight")) {
    if (f == "Q2_K") return DType::q3_k;
    if (f == "Q3_K_M") return DType::q4_k;
    if (f == "Q3_K_L") return DType::q5_k;
  }
  return type;
}

// A row length the type's block does not divide (llama-quant.cpp's convert_incompatible_tensor).
DType fallback_type(DType type, int64_t ne0, bool* fell_back) {
  const DTypeTraits* tr = dtype_traits(type);
  if (tr == nullptr || ne0 % tr->block_size == 0) return type;
  *fell_back = true;
  DType alt = DType::f16;
  switch (type) {
    case DType::q2_k:
    case DType::q3_k:
      alt = DType::q4_0;
      break;
    case DType::q4_k:
      alt = DType::q5_0;
      break;
    case DType::q5_k:
      alt = DType::q5_1;
      break;
    case DType::q6_k:
      alt = DType::q8_0;
      break;
    default:
      break;
  }
  return ne0 % dtype_traits(alt)->block_size == 0 ? alt : DType::f16;
}

bool is_quantizable(const format::GgufTensorInfo& t) {
  return ends_with(t.name, "weight") && t.ne.size() >= 2 && !contains(t.name, "_norm.weight") &&
         !contains(t.name, "ffn_gate_inp.weight") && t.name != "position_embd.weight" &&
         t.name != "token_types.weight" &&
         !contains(t.name, "ssm_conv1d.weight");  // Mamba's convolution kernel stays f32, as llama-quantize keeps it
}

}  // namespace

const std::vector<QuantizeType>& quantize_types() {
  // llama_ftype values (llama.h); the k-quant mixes share a base type and differ by the rules.
  static const std::vector<QuantizeType> types = {
      {"F32", 0, DType::f32},      {"F16", 1, DType::f16},      {"BF16", 32, DType::bf16},
      {"Q8_0", 7, DType::q8_0},    {"Q4_0", 2, DType::q4_0},    {"Q4_1", 3, DType::q4_1},
      {"Q5_0", 8, DType::q5_0},    {"Q5_1", 9, DType::q5_1},    {"Q2_K", 10, DType::q2_k},
      {"Q3_K_S", 11, DType::q3_k}, {"Q3_K_M", 12, DType::q3_k}, {"Q3_K_L", 13, DType::q3_k},
      {"Q4_K_S", 14, DType::q4_k}, {"Q4_K_M", 15, DType::q4_k}, {"Q5_K_S", 16, DType::q5_k},
      {"Q5_K_M", 17, DType::q5_k}, {"Q6_K", 18, DType::q6_k},
  };
  return types;
}

Result<QuantizeType> find_quantize_type(std::string_view name) {
  std::string u = upper(name);
  if (u == "Q3_K" || u == "Q4_K" || u == "Q5_K") u += "_M";
  std::string known;
  for (const auto& t : quantize_types()) {
    if (t.name == u) return t;
    known += (known.empty() ? "" : ", ") + t.name;
  }
  return invalid_argument_error("unknown quantization type '{}' (known: {})", name, known);
}

Result<ImportanceMatrix> read_imatrix(const std::string& path, Env& env) {
  const std::string bytes = FRAGUA_TRY(env.read_file(path));
  return parse_imatrix(bytes, path);
}

Result<ImportanceMatrix> parse_imatrix(std::string_view bytes, const std::string& path) {
  size_t pos = 0;
  auto i32 = [&](const char* what) -> Result<int32_t> {
    if (bytes.size() - pos < 4)
      return corruption_error("{}: {} at byte {} runs past the end of the file", path, what, pos);
    int32_t v;
    std::memcpy(&v, bytes.data() + pos, 4);
    pos += 4;
    if (v < 0) return corruption_error("{}: negative {} ({}) at byte {}", path, what, v, pos - 4);
    return v;
  };
  ImportanceMatrix m;
  const int32_t n_entries = FRAGUA_TRY(i32("entry count"));
  for (int32_t e = 0; e < n_entries; ++e) {
    const int32_t len = FRAGUA_TRY(i32("name length"));
    if (bytes.size() - pos < static_cast<size_t>(len))
      return corruption_error("{}: entry {} name at byte {} runs past the end of the file", path, e, pos);
    std::string name(bytes.substr(pos, static_cast<size_t>(len)));
    pos += static_cast<size_t>(len);
    const int32_t ncall = FRAGUA_TRY(i32("call count"));
    const int32_t nval = FRAGUA_TRY(i32("value count"));
    if ((bytes.size() - pos) / 4 < static_cast<size_t>(nval))
      return corruption_error("{}: the {} values of '{}' at byte {} run past the end of the file", path, nval, name,
                              pos);
    std::vector<float> v(static_cast<size_t>(nval));
    if (!v.empty()) std::memcpy(v.data(), bytes.data() + pos, v.size() * 4);  // memcpy(nullptr, ..., 0) is UB
    pos += v.size() * 4;
    for (float& x : v) {
      if (!std::isfinite(x) || x < 0)
        return corruption_error("{}: '{}' holds a value that is negative or not finite", path, name);
      if (ncall > 0) x /= static_cast<float>(ncall);
    }
    if (!m.emplace(std::move(name), std::move(v)).second)
      return corruption_error("{}: entry {} repeats a tensor name", path, e);
  }
  return m;
}

Result<std::vector<DType>> plan_tensor_types(const format::GgufFile& file, const QuantizeOptions& options) {
  const std::string arch = FRAGUA_TRY(file.get_string("general.architecture"));
  MixState st;
  st.n_layer = static_cast<int64_t>(FRAGUA_TRY(file.get_uint_or(arch + ".block_count", 0)));
  const uint64_t n_head = FRAGUA_TRY(file.get_uint_or(arch + ".attention.head_count", 1));
  // An array (hybrid models: 0 marks a Mamba layer) counts as its attention layers' value.
  const std::string kv_key = arch + ".attention.head_count_kv";
  uint64_t n_head_kv = 0;
  if (const format::GgufValue* v = file.find(kv_key); v && v->type == format::GgufType::array) {
    for (int64_t n : *FRAGUA_TRY(file.get_ints(kv_key)))
      n_head_kv = std::max(n_head_kv, static_cast<uint64_t>(std::max<int64_t>(n, 0)));
    if (n_head_kv == 0) n_head_kv = n_head;
  } else {
    n_head_kv = FRAGUA_TRY(file.get_uint_or(kv_key, n_head));
  }
  st.n_gqa = n_head_kv > 0 ? static_cast<int64_t>(n_head / n_head_kv) : 1;
  st.has_output = file.find_tensor("output.weight") != nullptr;
  st.has_imatrix = options.imatrix != nullptr;
  for (const auto& t : file.tensors())
    if (contains(t.name, "attn_v.weight")) ++st.n_attention_wv;
  const bool mix = dtype_traits(options.type.base)->quantized;
  std::vector<DType> types;
  for (const auto& t : file.tensors()) {
    if (!is_quantizable(t)) {
      types.push_back(t.dtype);
      continue;
    }
    DType type = options.type.base;
    if (mix) type = rule_type(t.name, options.type, type, t.ne[0], st);
    // As llama.cpp: the output type also covers an embedding that doubles as the output head,
    // and an explicit embedding type wins over it.
    if (options.output_type && (t.name == "output.weight" || (!st.has_output && t.name == "token_embd.weight")))
      type = *options.output_type;
    if (options.embd_type && t.name == "token_embd.weight") type = *options.embd_type;
    bool fell_back = false;
    types.push_back(fallback_type(type, t.ne[0], &fell_back));
    if (fell_back)
      log_warn("quantize: {}: rows of {} are not whole {} blocks; using {}", t.name, t.ne[0], dtype_name(type),
               dtype_name(types.back()));
  }
  return types;
}

Result<QuantizeReport> quantize_model(const std::string& in, const std::string& out, const QuantizeOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  Env& env = options.env != nullptr ? *options.env : Env::posix();
  const format::GgufFile file = FRAGUA_TRY(format::GgufFile::open(in));
  auto planned = plan_tensor_types(file, options);
  if (!planned.ok()) return planned.error().with_context("quantize " + in);
  const std::vector<DType>& types = *planned;
  const auto& tensors = file.tensors();
  QuantizeReport report;
  report.n_tensors = tensors.size();
  for (size_t i = 0; i < tensors.size(); ++i) {
    const auto& t = tensors[i];
    if (types[i] == t.dtype) continue;
    const DTypeTraits* src = dtype_traits(t.dtype);
    if (src == nullptr || src->to_float == nullptr || src->quantized)
      return invalid_argument_error("quantize {}: tensor '{}' is {}; only f32, f16 and bf16 tensors are quantized", in,
                                    t.name, dtype_name(t.dtype));
    if (options.imatrix != nullptr && dtype_uses_importance(types[i])) {
      auto it = options.imatrix->find(t.name);
      if (it != options.imatrix->end() && static_cast<int64_t>(it->second.size()) != t.ne[0])
        return invalid_argument_error("quantize {}: the importance matrix has {} values for '{}', whose rows have {}",
                                      in, it->second.size(), t.name, t.ne[0]);
    }
  }

  format::GgufWriter writer;
  writer.set_alignment(static_cast<uint32_t>(file.alignment()));
  // A split input (gguf-split's split.* keys in its first part) becomes one output file.
  for (const auto& kv : file.metadata())
    if (kv.key != "general.alignment" && !kv.key.starts_with("split.")) writer.set(kv.key, kv.value);
  writer.set("general.file_type", format::GgufValue::of_u32(options.type.ftype));
  writer.set("general.quantization_version", format::GgufValue::of_u32(2));  // GGML_QNT_VERSION
  for (size_t i = 0; i < tensors.size(); ++i) {
    FRAGUA_TRY(writer.declare_tensor(tensors[i].name, tensors[i].ne, types[i]));
    report.bytes_in += tensors[i].n_bytes;
  }

  ThreadPool pool(options.n_threads);
  std::optional<ProgressBar> bar;
  if (options.progress) bar.emplace("quantize", report.bytes_in, "B");
  auto source = [&](size_t index, const format::GgufTensorInfo& info, std::string& bytes) -> Status {
    const auto& t = tensors[index];
    if (info.dtype == t.dtype) {
      bytes.assign(reinterpret_cast<const char*>(t.data), t.n_bytes);
    } else {
      const int64_t n_per_row = t.ne[0], n_rows = t.n_elements() / n_per_row;
      const size_t in_row = row_size(t.dtype, n_per_row), out_row = row_size(info.dtype, n_per_row);
      bytes.resize(out_row * static_cast<size_t>(n_rows));
      const float* importance = nullptr;
      if (options.imatrix != nullptr && dtype_uses_importance(info.dtype)) {
        auto it = options.imatrix->find(t.name);
        if (it != options.imatrix->end()) {
          importance = it->second.data();
          ++report.n_imatrix;
        }
      }
      const auto to_float = dtype_traits(t.dtype)->to_float;
      std::vector<Status> failures(static_cast<size_t>(pool.size()));
      // Rows in chunks: each thread converts a few rows to f32 and quantizes them, so the f32
      // copy never holds more than a chunk per thread.
      constexpr int64_t kChunk = 16;
      const size_t n_chunks = static_cast<size_t>((n_rows + kChunk - 1) / kChunk);
      pool.parallel_for_dynamic(n_chunks, 1, [&](size_t begin, size_t end) {
        std::vector<float> buf(static_cast<size_t>(kChunk * n_per_row));
        for (size_t c = begin; c < end; ++c) {
          const int64_t r0 = static_cast<int64_t>(c) * kChunk, nr = std::min(kChunk, n_rows - r0);
          to_float(t.data + static_cast<size_t>(r0) * in_row, buf.data(), nr * n_per_row);
          Status s = quantize_rows(info.dtype, buf.data(), bytes.data() + static_cast<size_t>(r0) * out_row, nr,
                                   n_per_row, importance);
          if (!s.ok()) failures[c % failures.size()] = std::move(s);
        }
      });
      for (auto& s : failures)
        if (!s.ok()) return std::move(s).error().with_context("quantize " + t.name);
      ++report.n_quantized;
    }
    report.bytes_out += bytes.size();
    file.release(t.data, t.n_bytes);
    if (bar) bar->add(t.n_bytes);
    return ok_status();
  };
  FRAGUA_TRY(writer.write_streaming(out, source, env));
  if (bar) bar->finish();
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

}  // namespace fragua::model
