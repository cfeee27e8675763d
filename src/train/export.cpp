#include "fragua/train/export.h"

#include <filesystem>

#include "fragua/base/log.h"
#include "fragua/format/gguf.h"
#include "fragua/format/safetensors.h"
#include "fragua/tokenize/tokenizer.h"
#include "fragua/train/trainer.h"
#include "train/checkpoint.h"

namespace fragua::train {

namespace fs = std::filesystem;
using format::GgufValue;

Result<std::string> resolve_model_path(const std::string& ck) {
  std::error_code ec;
  if (fs::is_directory(ck, ec)) {
    if (fs::exists(ck + "/latest", ec)) return FRAGUA_TRY(latest_checkpoint(ck)) + "/model.safetensors";
    if (fs::exists(ck + "/model.safetensors", ec)) return ck + "/model.safetensors";
    return not_found_error("{}: neither a training run (no 'latest') nor a checkpoint (no model.safetensors)", ck);
  }
  if (!fs::exists(ck, ec)) return not_found_error("{}: no such checkpoint", ck);
  return ck;
}

Status export_gguf(const ExportOptions& o) {
  if (o.out.empty()) return invalid_argument_error("export: --output is required");
  std::string path = FRAGUA_TRY(resolve_model_path(o.checkpoint));
  Model model = FRAGUA_TRY(load_model_safetensors(path));
  const ModelConfig& c = model.config();
  format::GgufWriter w;
  std::string name = o.name.empty() ? fmt::format("fragua-{:.0f}M", c.n_params() / 1e6) : o.name;
  // Hyper-parameter keys as llama.cpp's "llama" architecture defines them.
  w.set("general.architecture", GgufValue::of_string("llama"));
  w.set("general.name", GgufValue::of_string(name));
  w.set("general.file_type", GgufValue::of_u32(0));  // LLAMA_FTYPE_ALL_F32
  w.set("llama.context_length", GgufValue::of_u32(static_cast<uint32_t>(c.n_ctx)));
  w.set("llama.embedding_length", GgufValue::of_u32(static_cast<uint32_t>(c.n_embd)));
  w.set("llama.block_count", GgufValue::of_u32(static_cast<uint32_t>(c.n_layer)));
  w.set("llama.feed_forward_length", GgufValue::of_u32(static_cast<uint32_t>(c.n_ff)));
  w.set("llama.attention.head_count", GgufValue::of_u32(static_cast<uint32_t>(c.n_head)));
  w.set("llama.attention.head_count_kv", GgufValue::of_u32(static_cast<uint32_t>(c.n_head_kv)));
  w.set("llama.rope.freq_base", GgufValue::of_f32(c.rope_base));
  w.set("llama.attention.layer_norm_rms_epsilon", GgufValue::of_f32(c.norm_eps));
  w.set("llama.rope.dimension_count", GgufValue::of_u32(static_cast<uint32_t>(c.head_dim())));
  w.set("llama.vocab_size", GgufValue::of_u32(static_cast<uint32_t>(c.n_vocab)));
  w.set("fragua.source_checkpoint", GgufValue::of_string(path));
  w.set("fragua.version", GgufValue::of_string(FRAGUA_VERSION));
  if (!o.tokenizer.empty()) {
    auto tok = FRAGUA_TRY(tokenize::Tokenizer::load(o.tokenizer));
    if (tok.n_vocab() != c.n_vocab)
      return invalid_argument_error("{}: tokenizer has {} tokens but the model's vocabulary is {}", o.tokenizer,
                                    tok.n_vocab(), c.n_vocab);
    tok.write_gguf_metadata(w);
  } else {
    log_warn("export: no --tokenizer: {} holds no vocabulary and cannot encode text", o.out);
  }
  for (const auto& p : model.param_infos())
    FRAGUA_TRY(w.add_tensor(p.name, p.ne, DType::f32, model.params().data() + p.offset, p.size * sizeof(float)));
  return w.write(o.out);
}

}  // namespace fragua::train
