// Llama (Touvron et al. 2023) and the models built on it: Llama 2/3.x, Salamandra/ALIA (256k
// vocabulary, untied output), Latxa. RoPE in GGML's "normal" (adjacent pairs) order; llama3
// frequency scaling comes as the rope_freqs.weight tensor; linear scaling from metadata.
#include "model/arch.h"
#include "model/graph.h"

namespace fragua::model {

namespace {
Status read_llama(const format::GgufFile& file, ModelConfig& c) { return read_own_hparams(file, arch::llama, c); }

// Pre-norm blocks: x += attention(norm(x)); x += swiglu_ffn(norm(x)); logits = output(norm(x)).
void forward_llama(ForwardPass& f) { decoder_forward(f, DecoderScales{}); }
}  // namespace

const Architecture arch::llama{
    .name = "llama",
    .rope_mode = backend::RopeMode::normal,
    .float_keys = {},
    .tensors = format::llama_tensors(),
    .read_hparams = read_llama,
    .forward = forward_llama,
};

}  // namespace fragua::model
