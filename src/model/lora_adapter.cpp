// SPDX-License-Identifier: Apache-2.0
// LoRA adapters merged into the weights at load (lora_adapter.h).
#include "fragua/model/lora_adapter.h"

#include <charconv>
#include <cmath>
#include <cstring>
#include <map>

#include <fmt/ranges.h>

#include "fragua/format/gguf.h"

namespace fragua::model {

Result<LoraAdapterSpec> parse_lora_spec(std::string_view flag) {
  LoraAdapterSpec s;
  s.path = std::string(flag);
  if (const size_t colon = flag.rfind(':'); colon != std::string_view::npos && colon + 1 < flag.size()) {
    const std::string num(flag.substr(colon + 1));
    char* end = nullptr;
    const float v = std::strtof(num.c_str(), &end);
    if (end == num.c_str() + num.size()) {
      if (!std::isfinite(v)) return invalid_argument_error("--lora {}: the scale must be a finite number", flag);
      s.path = std::string(flag.substr(0, colon));
      s.scale = v;
    }
  }
  if (s.path.empty()) return invalid_argument_error("--lora '{}': no file", flag);
  return s;
}

namespace {

Status merge_one_lora(const LoraAdapterSpec& spec, const std::string& arch, const WeightByName& find) {
  const std::string& path = spec.path;
  format::GgufFile f = FRAGUA_TRY(format::GgufFile::open(path));
  if (FRAGUA_TRY(f.get_string_or("general.type", "")) != "adapter")
    return invalid_argument_error("{}: general.type is not 'adapter': not a LoRA adapter", path);
  if (FRAGUA_TRY(f.get_string_or("adapter.type", "")) != "lora")
    return unsupported_error("{}: adapter.type is not 'lora'", path);
  const std::string a_arch = FRAGUA_TRY(f.get_string_or("general.architecture", ""));
  if (a_arch != arch)
    return invalid_argument_error("{}: the adapter is for architecture '{}', the model is '{}'", path, a_arch, arch);
  const double alpha = FRAGUA_TRY(f.get_float_or("adapter.lora.alpha", 0.0));
  // Pairs by base name, as llama-adapter.cpp bundles them.
  std::map<std::string, std::pair<const format::GgufTensorInfo*, const format::GgufTensorInfo*>> pairs;
  for (const auto& t : f.tensors()) {
    if (t.name.ends_with(".lora_a")) pairs[t.name.substr(0, t.name.size() - 7)].first = &t;
    else if (t.name.ends_with(".lora_b")) pairs[t.name.substr(0, t.name.size() - 7)].second = &t;
    else return invalid_argument_error("{}: tensor '{}' is neither a .lora_a nor a .lora_b", path, t.name);
  }
  for (const auto& [name, ab] : pairs) {
    const auto* a = ab.first;
    const auto* b = ab.second;
    if (!a || !b) return invalid_argument_error("{}: '{}' has lora_{} without its pair", path, name, a ? "a" : "b");
    Tensor* w = find(name);
    if (!w) return invalid_argument_error("{}: the model has no weight '{}' to adapt", path, name);
    if (w->n_dims() != 2 || a->ne.size() != 2 || b->ne.size() != 2 || a->ne[0] != w->ne(0) || b->ne[1] != w->ne(1) ||
        a->ne[1] != b->ne[0])
      return invalid_argument_error("{}: '{}': lora_a [{}] and lora_b [{}] do not fit the weight [{}, {}]", path, name,
                                    fmt::join(a->ne, ", "), fmt::join(b->ne, ", "), w->ne(0), w->ne(1));
    if (w->layout() != Layout::rows || !(w->dtype() == DType::f32 || w->dtype() == DType::f16 || w->dtype() == DType::bf16))
      return unsupported_error(
          "{}: '{}' is {} in the model; --lora merges into F32/F16/BF16 weights only (merge with `fragua finetune "
          "--merge` on an unquantized model, then quantize)",
          path, name, dtype_name(w->dtype()));
    const int64_t in = w->ne(0), out = w->ne(1), r = a->ne[1];
    Tensor A = FRAGUA_TRY(FRAGUA_TRY(Tensor::view(a->dtype, a->ne, a->data, a->n_bytes)).to_f32());
    Tensor B = FRAGUA_TRY(FRAGUA_TRY(Tensor::view(b->dtype, b->ne, b->data, b->n_bytes)).to_f32());
    Tensor merged = FRAGUA_TRY(w->to_f32());  // an owned copy, never the file's mapping
    // llama.cpp's scale: adapter_scale * alpha / rank, or adapter_scale when alpha is 0.
    const float s = static_cast<float>(alpha != 0.0 ? spec.scale * alpha / static_cast<double>(r) : spec.scale);
    float* W = merged.f32();
    for (int64_t o = 0; o < out; ++o)
      for (int64_t j = 0; j < r; ++j) {
        const float c = s * B.f32()[o * r + j];
        if (c == 0.0f) continue;
        const float* arow = A.f32() + j * in;
        float* wrow = W + o * in;
        for (int64_t i = 0; i < in; ++i) wrow[i] += c * arow[i];
      }
    *w = std::move(merged);
  }
  return ok_status();
}

}  // namespace

Status merge_lora_adapters(const std::vector<LoraAdapterSpec>& adapters, const std::string& arch,
                           const WeightByName& find) {
  for (const auto& spec : adapters) FRAGUA_TRY(merge_one_lora(spec, arch, find));
  return ok_status();
}

}  // namespace fragua::model
