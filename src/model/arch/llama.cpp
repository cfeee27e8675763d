// Llama (Touvron et al. 2023) and the models built on it: Llama 2/3.x, Salamandra/ALIA (256k
// vocabulary, untied output), Latxa. RoPE in GGML's "normal" (adjacent pairs) order; llama3
// frequency scaling comes as the rope_freqs.weight tensor; linear scaling from metadata.
#include "model/arch.h"

namespace fragua::model {

namespace {
Status read_llama(const format::GgufFile& file, ModelConfig& c) {
  c.rope_mode = backend::RopeMode::normal;
  return {};
}
}  // namespace

const Architecture arch::llama{"llama", read_llama};

}  // namespace fragua::model
