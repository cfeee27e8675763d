// SPDX-License-Identifier: Apache-2.0
// LoRA adapters through the merged weight (lora.h).
#include "fragua/train/lora.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "fragua/base/json.h"
#include "fragua/format/gguf.h"
#include "fragua/format/safetensors.h"
#include "fragua/train/kernels.h"

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

// SplitMix64's output function (Steele, Lea, Flood 2014), the counter hash of the dropout mask.
inline uint64_t lora_dropout_mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Elements whose top 24 hash bits fall below this are dropped.
uint64_t lora_dropout_threshold(float p) {
  return static_cast<uint64_t>(std::llround(static_cast<double>(p) * static_cast<double>(1 << 24)));
}

}  // namespace

Status LoraConfig::check() const {
  if (rank <= 0 || rank > 4096) return invalid_argument_error("lora: rank must be in [1, 4096] (got {})", rank);
  if (!(alpha > 0) || !std::isfinite(alpha)) return invalid_argument_error("lora: alpha must be positive (got {})", alpha);
  if (!(dropout >= 0.0f && dropout < 1.0f))
    return invalid_argument_error("lora: dropout must be in [0, 1) (got {})", dropout);
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
  L.target_of_.assign(static_cast<size_t>(base.config().n_layer) * 7, -1);
  for (size_t i = 0; i < L.targets_.size(); ++i) {
    const auto* n = find_lora_target(L.targets_[i].kind);
    L.target_of_[static_cast<size_t>(L.targets_[i].layer) * 7 + static_cast<size_t>(n - kLoraTargetNames)] =
        static_cast<int>(i);
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

void Lora::attach_branch(Model& model, uint64_t seed) {
  for (const Target& t : targets_)
    std::memcpy(model.params().data() + t.offset, t.w0.data(), t.w0.size() * sizeof(float));
  drop_seed_ = seed;
  model.set_linear_hook(this);
}

void Lora::detach_branch(Model& model) { model.set_linear_hook(nullptr); }

std::vector<uint8_t> Lora::dropout_keep(size_t target, int rows, uint64_t seed) const {
  const int64_t in = targets_.at(target).in;
  const uint64_t thr = lora_dropout_threshold(cfg_.dropout);
  std::vector<uint8_t> keep(static_cast<size_t>(rows) * in);
  for (int n = 0; n < rows; ++n) {
    const uint64_t row_key = lora_dropout_mix(lora_dropout_mix(seed ^ target) ^ static_cast<uint64_t>(n));
    for (int64_t i = 0; i < in; ++i)
      keep[static_cast<size_t>(n) * in + i] = (lora_dropout_mix(row_key ^ static_cast<uint64_t>(i)) >> 40) >= thr;
  }
  return keep;
}

const float* Lora::dropout_input(size_t ti, const float* x, int N, const KernelOptions& opts) {
  if (cfg_.dropout == 0.0f) return x;
  const int64_t in = targets_[ti].in;
  const uint64_t thr = lora_dropout_threshold(cfg_.dropout);
  const float keep_scale = 1.0f / (1.0f - cfg_.dropout);
  drop_x_.resize(static_cast<size_t>(N) * in);
  drop_keep_.resize(drop_x_.size());
  float* xd = drop_x_.data();
  uint8_t* keep = drop_keep_.data();
  auto rows = [&](size_t n0, size_t n1) {
    for (size_t n = n0; n < n1; ++n) {
      const uint64_t row_key = lora_dropout_mix(lora_dropout_mix(drop_seed_ ^ ti) ^ n);
      for (int64_t i = 0; i < in; ++i) {
        const bool kept = (lora_dropout_mix(row_key ^ static_cast<uint64_t>(i)) >> 40) >= thr;
        keep[n * in + i] = kept;
        xd[n * in + i] = kept ? x[n * in + i] * keep_scale : 0.0f;
      }
    }
  };
  if (opts.pool) opts.pool->parallel_for(static_cast<size_t>(N), rows);
  else rows(0, static_cast<size_t>(N));
  return xd;
}

void Lora::forward(int layer, BlockLinear which, const float* x, float* y, int N, const KernelOptions& opts) {
  const int ti = target_of_[static_cast<size_t>(layer) * 7 + static_cast<size_t>(which)];
  if (ti < 0) return;
  Target& t = targets_[static_cast<size_t>(ti)];
  const int r = cfg_.rank, in = static_cast<int>(t.in), out = static_cast<int>(t.out);
  const float s = scale();
  const float* xd = dropout_input(static_cast<size_t>(ti), x, N, opts);
  t.ts.resize(static_cast<size_t>(N) * r);
  kernels::matmul_forward(t.ts.data(), xd, store_.param(t.a), N, in, r, opts);
  for (float& v : t.ts) v *= s;
  branch_tmp_.resize(static_cast<size_t>(N) * out);
  kernels::matmul_forward(branch_tmp_.data(), t.ts.data(), store_.param(t.b), N, r, out, opts);
  for (size_t i = 0; i < branch_tmp_.size(); ++i) y[i] += branch_tmp_[i];
}

void Lora::backward(int layer, BlockLinear which, const float* x, const float* dy, float* dx, int N,
                    const KernelOptions& opts) {
  const int ti = target_of_[static_cast<size_t>(layer) * 7 + static_cast<size_t>(which)];
  if (ti < 0) return;
  Target& t = targets_[static_cast<size_t>(ti)];
  const int r = cfg_.rank, in = static_cast<int>(t.in), out = static_cast<int>(t.out);
  const float s = scale();
  // y += ts B^T: dts = dy B, dB += dy^T ts; ts = s x_d A^T: dA += (s dts)^T x_d, dx_d = s dts A.
  branch_dt_.assign(static_cast<size_t>(N) * r, 0.0f);
  kernels::matmul_backward(branch_dt_.data(), store_.grad(t.b), dy, t.ts.data(), store_.param(t.b), N, r, out, opts);
  for (float& v : branch_dt_) v *= s;
  if (cfg_.dropout == 0.0f) {
    kernels::matmul_backward(dx, store_.grad(t.a), branch_dt_.data(), x, store_.param(t.a), N, in, r, opts);
    return;
  }
  // dx_d into branch_tmp_, then through the mask: d(x_d)/dx is keep / (1 - p).
  const float* xd = dropout_input(static_cast<size_t>(ti), x, N, opts);
  branch_tmp_.assign(static_cast<size_t>(N) * in, 0.0f);
  kernels::matmul_backward(branch_tmp_.data(), store_.grad(t.a), branch_dt_.data(), xd, store_.param(t.a), N, in, r,
                           opts);
  const float keep_scale = 1.0f / (1.0f - cfg_.dropout);
  for (size_t i = 0; i < branch_tmp_.size(); ++i)
    if (drop_keep_[i]) dx[i] += branch_tmp_[i] * keep_scale;
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
