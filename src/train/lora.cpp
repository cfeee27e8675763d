// SPDX-License-Identifier: Apache-2.0
// LoRA adapters through the merged weight (lora.h).
#include "fragua/train/lora.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "fragua/base/json.h"
#include "fragua/format/gguf.h"
#include "fragua/format/safetensors.h"

namespace fragua::train {

namespace {

struct LoraTargetName {
  const char* target;
  const char* tensor;  // GGUF block tensor
  const char* peft;    // transformers' module path under model.layers.N
};
constexpr LoraTargetName kLoraTargetNames[] = {
    {"q", "attn_q", "self_attn.q_proj"},   {"k", "attn_k", "self_attn.k_proj"},
    {"v", "attn_v", "self_attn.v_proj"},   {"o", "attn_output", "self_attn.o_proj"},
    {"gate", "ffn_gate", "mlp.gate_proj"}, {"up", "ffn_up", "mlp.up_proj"},
    {"down", "ffn_down", "mlp.down_proj"},
};

const LoraTargetName* find_lora_target(std::string_view t) {
  for (const auto& n : kLoraTargetNames)
    if (t == n.target) return &n;
  return nullptr;
}

}  // namespace

Status LoraConfig::check() const {
  if (rank <= 0 || rank > 4096) return invalid_argument_error("lora: rank must be in [1, 4096] (got {})", rank);
  if (!(alpha > 0) || !std::isfinite(alpha)) return invalid_argument_error("lora: alpha must be positive (got {})", alpha);
  if (dropout != 0.0f)
    return unsupported_error(
        "lora: dropout {} is not supported: the training engine trains the adapter through the merged weight, where "
        "dropout on the adapter's input has no equivalent (use 0)",
        dropout);
  if (targets.empty()) return invalid_argument_error("lora: no target modules");
  for (const auto& t : targets)
    if (!find_lora_target(t))
      return invalid_argument_error("lora: unknown target module '{}' (q, k, v, o, gate, up, down)", t);
  return ok_status();
}

nlohmann::json LoraConfig::to_json() const {
  return {{"rank", rank}, {"alpha", alpha}, {"dropout", dropout}, {"targets", targets}};
}

Result<LoraConfig> LoraConfig::from_json(const nlohmann::json& j) {
  if (!j.is_object()) return invalid_argument_error("lora config: expected a JSON object");
  LoraConfig c;
  try {
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (it.key() == "rank") c.rank = it->get<int>();
      else if (it.key() == "alpha") c.alpha = it->get<float>();
      else if (it.key() == "dropout") c.dropout = it->get<float>();
      else if (it.key() == "targets") c.targets = it->get<std::vector<std::string>>();
      else return invalid_argument_error("lora config: unknown key '{}'", it.key());
    }
  } catch (const nlohmann::json::exception& e) {
    return invalid_argument_error("lora config: {}", e.what());
  }
  FRAGUA_TRY(c.check());
  return c;
}

Result<std::vector<std::string>> parse_lora_targets(std::string_view csv) {
  std::vector<std::string> out;
  if (csv == "all") {
    for (const auto& n : kLoraTargetNames) out.emplace_back(n.target);
    return out;
  }
  size_t pos = 0;
  while (pos <= csv.size()) {
    size_t end = csv.find(',', pos);
    if (end == std::string_view::npos) end = csv.size();
    std::string t(csv.substr(pos, end - pos));
    if (!find_lora_target(t))
      return invalid_argument_error("--lora-targets: unknown module '{}' (q, k, v, o, gate, up, down or all)", t);
    if (std::find(out.begin(), out.end(), t) == out.end()) out.push_back(t);
    pos = end + 1;
  }
  return out;
}

Result<std::string> lora_target_tensor(std::string_view target) {
  const LoraTargetName* n = find_lora_target(target);
  if (!n) return invalid_argument_error("lora: unknown target module '{}'", target);
  return std::string(n->tensor);
}

Result<Lora> Lora::create(const Model& base, const LoraConfig& config, uint64_t seed) {
  FRAGUA_TRY(config.check());
  Lora L;
  L.cfg_ = config;
  L.model_cfg_ = base.config();
  const int64_t r = config.rank;
  for (int l = 0; l < base.config().n_layer; ++l)
    for (const auto& n : kLoraTargetNames) {
      if (std::find(config.targets.begin(), config.targets.end(), n.target) == config.targets.end()) continue;
      Target t;
      t.tensor = fmt::format("blk.{}.{}.weight", l, n.tensor);
      t.kind = n.target;
      t.layer = l;
      const ParamInfo* p = base.find_param(t.tensor);
      if (!p || p->ne.size() != 2) return invalid_argument_error("lora: the model has no matrix '{}'", t.tensor);
      t.in = p->ne[0];
      t.out = p->ne[1];
      t.offset = p->offset;
      t.w0.assign(base.params().data() + p->offset, base.params().data() + p->offset + p->size);
      t.a = L.store_.add(t.tensor + ".lora_a", {t.in, r}, true);
      t.b = L.store_.add(t.tensor + ".lora_b", {r, t.out}, true);
      L.targets_.push_back(std::move(t));
    }
  L.store_.allocate();
  Rng rng(seed);
  for (const Target& t : L.targets_) {
    const float bound = 1.0f / std::sqrt(static_cast<float>(t.in));
    float* a = L.store_.param(t.a);
    for (size_t i = 0; i < L.store_.infos()[t.a].size; ++i) a[i] = bound * static_cast<float>(2.0 * rng.uniform() - 1.0);
  }
  return L;
}

void Lora::merge_into(Model& model) const {
  const int64_t r = cfg_.rank;
  const float s = scale();
  for (const Target& t : targets_) {
    float* w = model.params().data() + t.offset;
    const float* A = store_.param(t.a);  // (r, in) row-major
    const float* B = store_.param(t.b);  // (out, r) row-major
    std::memcpy(w, t.w0.data(), t.w0.size() * sizeof(float));
    for (int64_t o = 0; o < t.out; ++o) {
      float* wrow = w + o * t.in;
      for (int64_t j = 0; j < r; ++j) {
        const float c = s * B[o * r + j];
        if (c == 0.0f) continue;
        const float* arow = A + j * t.in;
        for (int64_t i = 0; i < t.in; ++i) wrow[i] += c * arow[i];
      }
    }
  }
}

void Lora::accumulate_grads(Model& model) {
  const int64_t r = cfg_.rank;
  const float s = scale();
  std::span<const float> grads = model.grads();
  for (const Target& t : targets_) {
    const float* G = grads.data() + t.offset;  // (out, in)
    const float* A = store_.param(t.a);
    const float* B = store_.param(t.b);
    float* dA = store_.grad(t.a);
    float* dB = store_.grad(t.b);
    for (int64_t o = 0; o < t.out; ++o) {
      const float* grow = G + o * t.in;
      for (int64_t j = 0; j < r; ++j) {
        const float* arow = A + j * t.in;
        double acc = 0;
        for (int64_t i = 0; i < t.in; ++i) acc += static_cast<double>(grow[i]) * arow[i];
        dB[o * r + j] += s * static_cast<float>(acc);
        const float c = s * B[o * r + j];
        if (c == 0.0f) continue;
        float* darow = dA + j * t.in;
        for (int64_t i = 0; i < t.in; ++i) darow[i] += c * grow[i];
      }
    }
  }
}

Status Lora::save_gguf(const std::string& path, const std::string& name, Env& env) const {
  using format::GgufValue;
  format::GgufWriter w;
  w.set("general.architecture", GgufValue::of_string("llama"));
  w.set("general.type", GgufValue::of_string("adapter"));
  w.set("general.name", GgufValue::of_string(name));
  w.set("adapter.type", GgufValue::of_string("lora"));
  w.set("adapter.lora.alpha", GgufValue::of_f32(cfg_.alpha));
  w.set("fragua.version", GgufValue::of_string(FRAGUA_VERSION));
  for (const ParamInfo& p : store_.infos())
    FRAGUA_TRY(w.add_tensor(p.name, p.ne, DType::f32, store_.param(&p - store_.infos().data()), p.size * sizeof(float)));
  if (auto st = w.write(path, env); !st.ok()) return std::move(st).error().with_context(path);
  return ok_status();
}

Status Lora::save_peft(const std::string& dir, const std::string& base_model, Env& env) const {
  FRAGUA_TRY(env.create_dirs(dir));
  const int64_t r = cfg_.rank;
  // Hugging Face's row order of q and k: GGUF row (h, i, j) of a head of size hd holds HF row
  // (h, j, i), i < hd/2, j in {0, 1} (llama.cpp's permute, undone).
  std::vector<std::vector<float>> owned;
  owned.reserve(targets_.size() * 2);
  format::SafetensorsWriter sw;
  sw.set_metadata("format", "pt");
  std::vector<std::string> modules;
  for (const Target& t : targets_) {
    const std::string module = find_lora_target(t.kind)->peft;
    if (std::find(modules.begin(), modules.end(), module.substr(module.find('.') + 1)) == modules.end())
      modules.push_back(module.substr(module.find('.') + 1));
    const std::string prefix = fmt::format("base_model.model.model.layers.{}.{}.", t.layer, module);
    // lora_A: (r, in) row-major in both layouts.
    const float* A = store_.param(t.a);
    owned.emplace_back(A, A + r * t.in);
    FRAGUA_TRY(sw.add_tensor(prefix + "lora_A.weight", "F32", {r, t.in}, owned.back().data(),
                             owned.back().size() * sizeof(float)));
    const float* B = store_.param(t.b);
    std::vector<float> b(B, B + t.out * r);
    if (t.kind == "q" || t.kind == "k") {
      const int64_t hd = model_cfg_.head_dim, heads = t.out / hd;
      for (int64_t h = 0; h < heads; ++h)
        for (int64_t i = 0; i < hd / 2; ++i)
          for (int64_t j = 0; j < 2; ++j) {
            const int64_t g = h * hd + 2 * i + j, f = h * hd + j * (hd / 2) + i;
            std::memcpy(b.data() + f * r, B + g * r, r * sizeof(float));
          }
    }
    owned.push_back(std::move(b));
    FRAGUA_TRY(sw.add_tensor(prefix + "lora_B.weight", "F32", {t.out, r}, owned.back().data(),
                             owned.back().size() * sizeof(float)));
  }
  FRAGUA_TRY(sw.write(dir + "/adapter_model.safetensors", env));
  nlohmann::json cfg = {{"peft_type", "LORA"},
                        {"task_type", "CAUSAL_LM"},
                        {"r", cfg_.rank},
                        {"lora_alpha", cfg_.alpha},
                        {"lora_dropout", cfg_.dropout},
                        {"target_modules", modules},
                        {"bias", "none"},
                        {"fan_in_fan_out", false},
                        {"inference_mode", true},
                        {"base_model_name_or_path", base_model}};
  return write_file_atomic(dir + "/adapter_config.json", cfg.dump(2) + "\n", env);
}

}  // namespace fragua::train
