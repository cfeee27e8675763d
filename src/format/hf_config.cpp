// SPDX-License-Identifier: Apache-2.0
#include "fragua/format/hf_config.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <optional>
#include <set>

#include <fmt/format.h>

#include "fragua/base/json.h"
#include "fragua/base/utf8.h"

namespace fragua::format {

using nlohmann::json;

namespace {

// config.json of a 405B model is ~1 KB and an index of 3000 tensors ~200 KB; 64 MB of either is
// hostile. Values counted before parsing, as the safetensors header is (safetensors.cpp).
constexpr size_t kMaxConfigBytes = size_t{64} << 20;
constexpr size_t kMaxJsonValues = size_t{1} << 20;
constexpr int64_t kMaxVocab = int64_t{1} << 24;

Result<json> parse_object(std::string_view text, std::string_view origin) {
  if (text.size() > kMaxConfigBytes)
    return corruption_error("{}: {} bytes is more than the {} MB a config holds", origin, text.size(),
                            kMaxConfigBytes >> 20);
  if (size_t at = json_value_count_violation(text, kMaxJsonValues); at != std::string_view::npos)
    return corruption_error("{}: more than {} JSON values (byte offset {})", origin, kMaxJsonValues, at);
  json j = FRAGUA_TRY(parse_json(text, origin));
  if (!j.is_object()) return corruption_error("{}: the top level is not a JSON object", origin);
  return j;
}

const json* field(const json& j, std::string_view key) {
  auto it = j.find(std::string(key));
  return it == j.end() || it->is_null() ? nullptr : &*it;
}

Result<int64_t> int_field(const json& j, std::string_view key, std::optional<int64_t> def, int64_t lo, int64_t hi,
                          std::string_view origin) {
  const json* v = field(j, key);
  if (!v) {
    if (!def) return not_found_error("{}: \"{}\" is missing", origin, key);
    return *def;
  }
  auto r = json_integer(*v, fmt::format("{}: \"{}\"", origin, key), lo, hi);
  if (!r.ok()) return corruption_error("{} (an integer in [{}, {}])", r.error().message(), lo, hi);
  return r;
}

Result<double> number_field(const json& j, std::string_view key, double def, double lo, double hi,
                            std::string_view origin) {
  const json* v = field(j, key);
  if (!v) return def;
  if (!v->is_number()) return corruption_error("{}: \"{}\" is {}, not a number", origin, key, json_preview(*v));
  const double x = v->get<double>();
  if (!(x > lo && x <= hi))  // NaN fails too
    return corruption_error("{}: \"{}\" = {} must be a finite number in ({}, {}]", origin, key, x, lo, hi);
  // Every such value ends up in a float32 GGUF field: 1e-61 is positive as a double and 0 as a float.
  if (!(static_cast<float>(x) > static_cast<float>(lo)))
    return corruption_error("{}: \"{}\" = {} is too small for a 32-bit float (at least {})", origin, key, x,
                            std::numeric_limits<float>::min());
  return x;
}

Result<bool> bool_field(const json& j, std::string_view key, bool def, std::string_view origin) {
  const json* v = field(j, key);
  if (!v) return def;
  if (!v->is_boolean()) return corruption_error("{}: \"{}\" is {}, not true/false", origin, key, json_preview(*v));
  return v->get<bool>();
}

// llama.cpp's convert_hf_to_gguf.py (LlamaModel.generate_extra_tensors), after Meta's
// apply_scaling in Llama 3.1's reference code: the inverse frequencies 1/theta^(2i/d) are computed
// in float32 as torch does there; a wavelength shorter than original_context/high_freq_factor
// keeps its frequency (factor 1), one longer than original_context/low_freq_factor is divided by
// `factor`, and those between are interpolated. The model divides each frequency by its factor.
Result<std::vector<float>> llama3_rope_freqs(const json& rs, const LlamaHParams& hp, std::string_view origin) {
  const std::string where = fmt::format("{}: rope_scaling", origin);
  const double factor = FRAGUA_TRY(number_field(rs, "factor", 8.0, 0.0, kMaxRopeScaling, where));
  const double low = FRAGUA_TRY(number_field(rs, "low_freq_factor", 1.0, 0.0, kMaxRopeScaling, where));
  const double high = FRAGUA_TRY(number_field(rs, "high_freq_factor", 4.0, 0.0, kMaxRopeScaling, where));
  const auto old_ctx = static_cast<double>(
      FRAGUA_TRY(int_field(rs, "original_max_position_embeddings", 8192, 1, kMaxTrainContext, where)));
  if (!(high > low))
    return corruption_error("{}: high_freq_factor {} must exceed low_freq_factor {}", where, high, low);
  const double low_wavelen = old_ctx / low, high_wavelen = old_ctx / high;
  std::vector<float> factors;
  const float base = hp.rope_theta;
  for (int64_t i = 0; i < hp.n_rot; i += 2) {
    const float freq = 1.0f / std::pow(base, static_cast<float>(i) / static_cast<float>(hp.n_rot));
    const double wavelen = 2 * M_PI / static_cast<double>(freq);
    double f;
    if (wavelen < high_wavelen) {
      f = 1.0;
    } else if (wavelen > low_wavelen) {
      f = factor;
    } else {
      const double smooth = (old_ctx / wavelen - low) / (high - low);
      f = 1.0 / ((1 - smooth) / factor + smooth);
    }
    factors.push_back(static_cast<float>(f));
  }
  return factors;
}

Status read_rope_scaling(const json& j, LlamaHParams& hp, std::vector<float>& freqs, std::string_view origin) {
  const json* rs = field(j, "rope_scaling");
  if (!rs) return {};
  if (!rs->is_object()) return corruption_error("{}: \"rope_scaling\" is {}, not an object", origin, json_preview(*rs));
  // transformers renamed "type" to "rope_type" (4.45) and reads either.
  const json* t = field(*rs, "rope_type");
  if (!t) t = field(*rs, "type");
  if (!t || !t->is_string()) return corruption_error("{}: \"rope_scaling\" has no string \"rope_type\"", origin);
  const auto type = t->get<std::string>();
  if (type == "default") return {};
  if (type == "linear") {
    if (!field(*rs, "factor")) return not_found_error("{}: \"rope_scaling.factor\" is missing", origin);
    hp.rope_scaling = RopeScaling::linear;
    hp.rope_scale_factor = static_cast<float>(
        FRAGUA_TRY(number_field(*rs, "factor", 1.0, 0.0, kMaxRopeScaling, fmt::format("{}: rope_scaling", origin))));
    return {};
  }
  if (type == "llama3") {
    freqs = FRAGUA_TRY(llama3_rope_freqs(*rs, hp, origin));
    return {};
  }
  return unsupported_error("{}: \"rope_scaling.rope_type\" '{}' is not supported (default, linear, llama3)", origin,
                           terminal_safe(type));
}

}  // namespace

struct HfConfig::Impl {
  std::string origin, architecture;
  json j;
  LlamaHParams hp;
  std::vector<float> rope_freqs;
};

HfConfig::HfConfig() : impl_(std::make_unique<Impl>()) {}
HfConfig::HfConfig(HfConfig&&) noexcept = default;
HfConfig& HfConfig::operator=(HfConfig&&) noexcept = default;
HfConfig::~HfConfig() = default;

const std::string& HfConfig::origin() const { return impl_->origin; }
const std::string& HfConfig::architecture() const { return impl_->architecture; }
const LlamaHParams& HfConfig::hparams() const { return impl_->hp; }
const std::vector<float>& HfConfig::rope_freqs() const { return impl_->rope_freqs; }
bool HfConfig::has(std::string_view key) const { return field(impl_->j, key) != nullptr; }

Result<double> HfConfig::get_number(std::string_view key, double def, double lo, double hi) const {
  return number_field(impl_->j, key, def, lo, hi, impl_->origin);
}

Result<int64_t> HfConfig::get_int(std::string_view key, int64_t def, int64_t lo, int64_t hi) const {
  return int_field(impl_->j, key, def, lo, hi, impl_->origin);
}

Result<std::string> HfConfig::get_string(std::string_view key, std::string def) const {
  const json* v = field(impl_->j, key);
  if (!v) return def;
  if (!v->is_string()) return corruption_error("{}: \"{}\" is {}, not a string", impl_->origin, key, json_preview(*v));
  return v->get<std::string>();
}

Result<std::vector<std::string>> HfConfig::get_strings(std::string_view key) const {
  const json* v = field(impl_->j, key);
  std::vector<std::string> out;
  if (!v) return out;
  if (!v->is_array())
    return corruption_error("{}: \"{}\" is {}, not an array of strings", impl_->origin, key, json_preview(*v));
  for (size_t i = 0; i < v->size(); ++i) {
    if (!(*v)[i].is_string())
      return corruption_error("{}: \"{}\"[{}] is {}, not a string", impl_->origin, key, i, json_preview((*v)[i]));
    out.push_back((*v)[i].get<std::string>());
  }
  return out;
}

Result<HfConfig> HfConfig::parse(std::string_view text, std::string origin) {
  HfConfig c;
  Impl& m = *c.impl_;
  m.origin = std::move(origin);
  const std::string_view o = m.origin;
  m.j = FRAGUA_TRY(parse_object(text, o));
  const json& j = m.j;

  const json* archs = field(j, "architectures");
  if (!archs) return not_found_error("{}: \"architectures\" is missing", o);
  if (!archs->is_array() || archs->size() != 1 || !(*archs)[0].is_string())
    return corruption_error("{}: \"architectures\" must be a list of one name, not {}", o, json_preview(*archs));
  m.architecture = (*archs)[0].get<std::string>();

  // The block these keys describe: SiLU-gated MLP, no biases (LlamaConfig's hidden_act,
  // attention_bias, mlp_bias).
  const std::string act = FRAGUA_TRY(c.get_string("hidden_act", "silu"));
  if (act != "silu") return unsupported_error("{}: \"hidden_act\" '{}' is not supported (silu)", o, terminal_safe(act));
  for (const char* key : {"attention_bias", "mlp_bias"})
    if (FRAGUA_TRY(bool_field(j, key, false, o)))
      return unsupported_error("{}: \"{}\" is true: biases are not supported", o, key);

  LlamaHParams& hp = m.hp;
  hp.n_vocab = FRAGUA_TRY(int_field(j, "vocab_size", std::nullopt, 1, kMaxVocab, o));
  hp.n_ctx_train = FRAGUA_TRY(int_field(j, "max_position_embeddings", 2048, 1, kMaxTrainContext, o));
  hp.n_embd = FRAGUA_TRY(int_field(j, "hidden_size", std::nullopt, 1, kMaxEmbd, o));
  hp.n_layer = FRAGUA_TRY(int_field(j, "num_hidden_layers", std::nullopt, 1, kMaxLayers, o));
  hp.n_head = FRAGUA_TRY(int_field(j, "num_attention_heads", std::nullopt, 1, kMaxHeads, o));
  hp.n_head_kv = FRAGUA_TRY(int_field(j, "num_key_value_heads", hp.n_head, 1, hp.n_head, o));
  if (hp.n_head % hp.n_head_kv != 0)
    return corruption_error("{}: \"num_attention_heads\" {} is not a multiple of \"num_key_value_heads\" {}", o,
                            hp.n_head, hp.n_head_kv);
  hp.n_ff = FRAGUA_TRY(int_field(j, "intermediate_size", std::nullopt, 1, kMaxFeedForward, o));
  if (!field(j, "head_dim") && hp.n_embd % hp.n_head != 0)
    return corruption_error(
        "{}: \"hidden_size\" {} is not a multiple of \"num_attention_heads\" {} (and no \"head_dim\")", o, hp.n_embd,
        hp.n_head);
  hp.head_dim = FRAGUA_TRY(int_field(j, "head_dim", hp.n_embd / hp.n_head, 2, kMaxHeadDim, o));
  if (hp.head_dim % 2 != 0) return corruption_error("{}: \"head_dim\" {} is odd (RoPE rotates pairs)", o, hp.head_dim);
  hp.n_rot = hp.head_dim;
  hp.rms_eps = static_cast<float>(FRAGUA_TRY(number_field(j, "rms_norm_eps", 1e-6, 0.0, kMaxRmsEps, o)));
  hp.rope_theta = static_cast<float>(FRAGUA_TRY(number_field(j, "rope_theta", 10000.0, 0.0, kMaxRopeBase, o)));
  hp.tied_output = FRAGUA_TRY(bool_field(j, "tie_word_embeddings", false, o));
  FRAGUA_TRY(read_rope_scaling(j, hp, m.rope_freqs, o));
  return c;
}

Result<HfWeightIndex> parse_hf_weight_index(std::string_view text, std::string_view origin) {
  json j = FRAGUA_TRY(parse_object(text, origin));
  const json* map = field(j, "weight_map");
  if (!map) return not_found_error("{}: \"weight_map\" is missing", origin);
  if (!map->is_object()) return corruption_error("{}: \"weight_map\" is {}, not an object", origin, json_preview(*map));
  HfWeightIndex idx;
  std::set<std::string> shards;
  for (auto it = map->begin(); it != map->end(); ++it) {
    if (!it.value().is_string())
      return corruption_error("{}: weight_map[\"{}\"] is {}, not a file name", origin, terminal_safe(it.key()),
                              json_preview(it.value()));
    std::string file = it.value().get<std::string>();
    // A shard outside the model directory ("../../etc/passwd", "/dev/zero") is never opened.
    if (file.empty() || file == "." || file == ".." || file.find('/') != std::string::npos ||
        file.find('\\') != std::string::npos || file.find('\0') != std::string::npos)
      return corruption_error("{}: weight_map[\"{}\"] = \"{}\" is not a file name in the model directory", origin,
                              terminal_safe(it.key()), terminal_safe(file));
    shards.insert(file);
    idx.weight_map.emplace(it.key(), std::move(file));
  }
  if (idx.weight_map.empty()) return corruption_error("{}: \"weight_map\" is empty", origin);
  idx.shards.assign(shards.begin(), shards.end());
  return idx;
}

}  // namespace fragua::format
