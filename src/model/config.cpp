// SPDX-License-Identifier: Apache-2.0
#include <fmt/format.h>

#include "model/arch.h"

namespace fragua::model {

Status read_decoder_hparams(const format::GgufFile& file, ModelConfig& c) {
  return format::read_llama_hparams(file, c.arch, c);
}

Status read_own_hparams(const format::GgufFile& file, const Architecture& arch, ModelConfig& c) {
  c.rope_mode = arch.rope_mode;
  // An array-valued head_count_kv with zeros marks Mamba layers, which only granitehybrid runs.
  for (int64_t l = 0; l < c.n_layer; ++l)
    if (c.is_recurrent(l))
      return unsupported_error("{}: {}.attention.head_count_kv[{}] is 0 (a recurrent layer), which the {} architecture "
                               "does not have",
                               file.path(), arch.name, l, arch.name);
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
