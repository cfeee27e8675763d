#include <fmt/format.h>

#include "model/arch.h"

namespace fragua::model {

Status read_decoder_hparams(const format::GgufFile& file, ModelConfig& c) {
  return format::read_llama_hparams(file, c.arch, c);
}

Status read_own_hparams(const format::GgufFile& file, const Architecture& arch, ModelConfig& c) {
  c.rope_mode = arch.rope_mode;
  return format::read_float_keys(file, arch.name, arch.float_keys, c);
}

std::string ModelConfig::summary() const {
  return fmt::format(
      "{} '{}': {:.1f}M parameters, vocab {}, {} layers, embd {}, heads {}/{} (kv), head dim {}, ff {}, "
      "ctx {}, rope theta {}",
      arch, name, static_cast<double>(n_params()) / 1e6, n_vocab, n_layer, n_embd, n_head, n_head_kv, head_dim, n_ff,
      n_ctx_train, rope_theta);
}

}  // namespace fragua::model
