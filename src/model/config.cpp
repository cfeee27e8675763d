#include <cmath>

#include <fmt/format.h>

#include "model/arch.h"

namespace fragua::model {

Status read_decoder_hparams(const format::GgufFile& file, ModelConfig& c) {
  const std::string p = c.arch + ".";
  auto get = [&](const char* key) { return file.get_uint(p + key); };
  c.n_embd = static_cast<int64_t>(FRAGUA_TRY(get("embedding_length")));
  c.n_layer = static_cast<int64_t>(FRAGUA_TRY(get("block_count")));
  c.n_ff = static_cast<int64_t>(FRAGUA_TRY(get("feed_forward_length")));
  c.n_head = static_cast<int64_t>(FRAGUA_TRY(get("attention.head_count")));
  c.n_head_kv = static_cast<int64_t>(FRAGUA_TRY(file.get_uint_or(p + "attention.head_count_kv", static_cast<uint64_t>(c.n_head))));
  c.n_ctx_train = static_cast<int64_t>(FRAGUA_TRY(file.get_uint_or(p + "context_length", 2048)));
  c.rms_eps = static_cast<float>(FRAGUA_TRY(file.get_float_or(p + "attention.layer_norm_rms_epsilon", 1e-5)));
  c.rope_theta = static_cast<float>(FRAGUA_TRY(file.get_float_or(p + "rope.freq_base", 10000.0)));
  if (c.n_embd <= 0 || c.n_layer <= 0 || c.n_head <= 0 || c.n_head_kv <= 0 || c.n_ff <= 0 || c.n_layer > 4096 ||
      c.n_embd > (1 << 20) || c.n_ff > (1 << 22) || c.n_head > 4096)
    return corruption_error("{}: implausible hyper-parameters (n_embd {}, n_layer {}, n_head {}, n_head_kv {}, n_ff {})",
                            file.path(), c.n_embd, c.n_layer, c.n_head, c.n_head_kv, c.n_ff);
  if (c.n_head % c.n_head_kv != 0)
    return corruption_error("{}: head_count {} is not a multiple of head_count_kv {}", file.path(), c.n_head, c.n_head_kv);
  c.head_dim = static_cast<int64_t>(FRAGUA_TRY(file.get_uint_or(p + "attention.key_length", static_cast<uint64_t>(c.n_embd / c.n_head))));
  if (c.head_dim <= 0 || c.head_dim % 2 != 0 || c.head_dim > 1024)
    return corruption_error("{}: head dimension {} must be even and at most 1024", file.path(), c.head_dim);
  c.n_rot = static_cast<int64_t>(FRAGUA_TRY(file.get_uint_or(p + "rope.dimension_count", static_cast<uint64_t>(c.head_dim))));
  if (c.n_rot <= 0 || c.n_rot > c.head_dim || c.n_rot % 2 != 0)
    return corruption_error("{}: rope.dimension_count {} must be even and at most the head dimension {}", file.path(),
                            c.n_rot, c.head_dim);
  auto scaling = FRAGUA_TRY(file.get_string_or(p + "rope.scaling.type", "none"));
  if (scaling == "linear") {
    c.rope_scaling = RopeScaling::linear;
    c.rope_scale_factor = static_cast<float>(FRAGUA_TRY(file.get_float(p + "rope.scaling.factor")));
    if (!(c.rope_scale_factor > 0)) return corruption_error("{}: rope.scaling.factor must be positive", file.path());
  } else if (scaling != "none") {
    return unsupported_error("{}: RoPE scaling '{}' is not supported (none, linear; llama3 via rope_freqs.weight)",
                             file.path(), scaling);
  }
  return {};
}

int64_t ModelConfig::n_params() const {
  int64_t per_layer = 2 * n_embd + n_embd * n_embd_q() * 2 + 2 * n_embd * n_embd_kv() + 3 * n_embd * n_ff;
  return n_vocab * n_embd * (tied_output ? 1 : 2) + n_embd + n_layer * per_layer;
}

std::string ModelConfig::summary() const {
  return fmt::format("{} '{}': {:.1f}M parameters, vocab {}, {} layers, embd {}, heads {}/{} (kv), head dim {}, ff {}, "
                     "ctx {}, rope theta {}",
                     arch, name, static_cast<double>(n_params()) / 1e6, n_vocab, n_layer, n_embd, n_head, n_head_kv,
                     head_dim, n_ff, n_ctx_train, rope_theta);
}

}  // namespace fragua::model
