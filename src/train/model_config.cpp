// SPDX-License-Identifier: Apache-2.0
// ModelConfig checks and JSON, and the Rng used for initialisation and data sampling.
#include <cmath>
#include <cstdint>
#include <string_view>

#include "fragua/base/json.h"
#include "fragua/train/model.h"

namespace fragua::train {

Status ModelConfig::finalize() {
  auto bad = [](const char* field, int64_t v, const char* why) {
    return invalid_argument_error("model config: {} = {} {}", field, v, why);
  };
  if (n_vocab <= 0) return bad("n_vocab", n_vocab, "must be positive");
  if (n_ctx_train <= 0) return bad("n_ctx_train", n_ctx_train, "must be positive");
  if (n_embd <= 0) return bad("n_embd", n_embd, "must be positive");
  if (n_layer <= 0) return bad("n_layer", n_layer, "must be positive");
  if (n_head <= 0 || n_embd % n_head != 0) return bad("n_head", n_head, "must divide n_embd");
  head_dim = n_rot = n_embd / n_head;
  if (head_dim % 2 != 0) return bad("n_head", n_head, "gives an odd head size (RoPE rotates pairs)");
  if (n_head_kv <= 0 || n_head % n_head_kv != 0) return bad("n_head_kv", n_head_kv, "must divide n_head");
  if (n_ff == 0) n_ff = ((8 * n_embd / 3) + 31) / 32 * 32;
  if (n_ff < 0) return bad("n_ff", n_ff, "must be positive");
  if (!(rope_theta > 0)) return invalid_argument_error("model config: rope_theta must be positive");
  if (!(rms_eps > 0)) return invalid_argument_error("model config: rms_eps must be positive");
  // Every kernel indexes with int rows times channels in size_t; keep each dimension sane.
  if (n_vocab > (1 << 24) || n_embd > (1 << 16) || n_ff > (1 << 18) || n_layer > 1024 || n_ctx_train > (1 << 20))
    return invalid_argument_error("model config: a dimension is beyond what the CPU trainer supports");
  return ok_status();
}

nlohmann::json ModelConfig::to_json() const {
  return {{"n_vocab", n_vocab}, {"n_ctx_train", n_ctx_train}, {"n_embd", n_embd}, {"n_layer", n_layer},
          {"n_head", n_head},   {"n_head_kv", n_head_kv},     {"n_ff", n_ff},     {"rope_theta", rope_theta},
          {"rms_eps", rms_eps}, {"tied_output", tied_output}};
}

namespace {

// Names that runs written before the shared vocabulary (format::LlamaHParams) used.
std::string_view current_name(std::string_view k) {
  if (k == "n_ctx") return "n_ctx_train";
  if (k == "rope_base") return "rope_theta";
  if (k == "norm_eps") return "rms_eps";
  if (k == "tied_embeddings") return "tied_output";
  return k;
}

}  // namespace

Result<ModelConfig> ModelConfig::from_json(const nlohmann::json& j) {
  if (!j.is_object()) return invalid_argument_error("model config: expected a JSON object");
  ModelConfig c;
  // Old names are applied after the current ones: TrainConfig::merge_json lays a user's object
  // over to_json()'s, so a user's "rope_base" sits beside the default "rope_theta" and must win.
  for (const bool old_names : {false, true}) {
    for (auto it = j.begin(); it != j.end(); ++it) {
      const std::string& k = it.key();
      const std::string_view name = current_name(k);
      if ((name != k) != old_names) continue;
      const auto& v = it.value();
      // Range-checked before narrowing: 2^32 + 4 must not become 4, and a double beyond float's
      // range must not reach a float conversion (undefined behaviour).
      auto get_int = [&](int64_t& dst) -> Status {
        if (!v.is_number_integer()) return invalid_argument_error("model config: '{}' must be an integer", k);
        auto x = json_integer(v, fmt::format("model config: '{}'", k), INT32_MIN, INT32_MAX);
        if (!x.ok()) return invalid_argument_error("{}", x.error().message());
        dst = *x;
        return ok_status();
      };
      auto get_float = [&](float& dst) -> Status {
        auto x = json_float(v, fmt::format("model config: '{}'", k));
        if (!x.ok()) return invalid_argument_error("{}", x.error().message());
        dst = *x;
        return ok_status();
      };
      if (name == "n_vocab")
        FRAGUA_TRY(get_int(c.n_vocab));
      else if (name == "n_ctx_train")
        FRAGUA_TRY(get_int(c.n_ctx_train));
      else if (name == "n_embd")
        FRAGUA_TRY(get_int(c.n_embd));
      else if (name == "n_layer")
        FRAGUA_TRY(get_int(c.n_layer));
      else if (name == "n_head")
        FRAGUA_TRY(get_int(c.n_head));
      else if (name == "n_head_kv")
        FRAGUA_TRY(get_int(c.n_head_kv));
      else if (name == "n_ff")
        FRAGUA_TRY(get_int(c.n_ff));
      else if (name == "rope_theta")
        FRAGUA_TRY(get_float(c.rope_theta));
      else if (name == "rms_eps")
        FRAGUA_TRY(get_float(c.rms_eps));
      else if (name == "tied_output") {
        if (!v.is_boolean()) return invalid_argument_error("model config: '{}' must be true or false", k);
        c.tied_output = v.get<bool>();
      } else {
        return invalid_argument_error("model config: unknown key '{}'", k);
      }
    }
  }
  FRAGUA_TRY(c.finalize());
  return c;
}

namespace {
uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}
inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
}  // namespace

Rng::Rng(uint64_t seed) {
  for (auto& s : s_) s = splitmix64(seed);
}

uint64_t Rng::next() {
  uint64_t result = rotl(s_[1] * 5, 7) * 9;
  uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

double Rng::uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

float Rng::normal() {
  // One Box-Muller draw per call (the pair's second value is dropped) keeps the state simple.
  double u1 = uniform(), u2 = uniform();
  if (u1 < 1e-300) u1 = 1e-300;
  return static_cast<float>(std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2));
}

}  // namespace fragua::train
