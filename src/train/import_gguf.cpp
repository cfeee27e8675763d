// SPDX-License-Identifier: Apache-2.0
// GGUF -> train::Model and back (import_gguf.h).
#include "fragua/train/import_gguf.h"

#include <cstring>

#include <fmt/ranges.h>

#include "fragua/format/llama_hparams.h"
#include "fragua/format/llama_tensors.h"
#include "fragua/tensor/tensor.h"

namespace fragua::train {

namespace {

// What ModelConfig::finalize would silently change or the kernels do not implement: refused with
// the key at fault, rather than trained into a different model.
Status check_import_hparams(const std::string& path, const format::LlamaHParams& hp) {
  auto unsupported = [&](std::string_view what) {
    return unsupported_error("{}: {} is not supported by the training engine", path, what);
  };
  if (hp.n_head <= 0 || hp.n_embd % hp.n_head != 0 || hp.head_dim != hp.n_embd / hp.n_head)
    return unsupported("llama.attention.key_length other than n_embd / n_head");
  if (hp.n_rot != hp.head_dim) return unsupported("llama.rope.dimension_count other than the head size (partial RoPE)");
  if (hp.rope_scaling != format::RopeScaling::none || hp.rope_scale_factor != 1.0f) return unsupported("RoPE scaling");
  if (hp.embedding_scale != 1.0f || hp.attention_scale != 0.0f || hp.residual_scale != 1.0f || hp.logit_scale != 1.0f)
    return unsupported("Granite's embedding/attention/residual/logit multipliers");
  if (hp.n_expert > 0) return unsupported("a mixture of experts");
  if (hp.has_recurrent()) return unsupported("recurrent (Mamba) layers");
  if (!hp.use_rope) return unsupported("attention without RoPE");
  return ok_status();
}

}  // namespace

Result<Model> load_gguf_model(const format::GgufFile& file) {
  const std::string& path = file.path();
  const std::string arch = FRAGUA_TRY(file.get_string_or("general.architecture", ""));
  if (arch != "llama")
    return unsupported_error("{}: general.architecture is '{}'; the training engine reads 'llama' models", path, arch);
  ModelConfig cfg;
  FRAGUA_TRY(format::read_llama_hparams(file, "llama", cfg));
  // As the inference loader does: the vocabulary is token_embd's rows ({arch}.vocab_size is
  // optional) and the head is tied when output.weight is absent.
  const format::GgufTensorInfo* embd = file.find_tensor("token_embd.weight");
  if (!embd || embd->ne.size() != 2) return not_found_error("{}: tensor 'token_embd.weight' is missing or not 2-D", path);
  cfg.n_vocab = embd->ne[1];
  cfg.tied_output = file.find_tensor("output.weight") == nullptr;
  FRAGUA_TRY(check_import_hparams(path, cfg));
  if (file.find_tensor("rope_freqs.weight"))
    return unsupported_error("{}: tensor 'rope_freqs.weight' (llama3 RoPE scaling) is not supported by the training engine",
                             path);
  if (auto st = cfg.finalize(); !st.ok()) return std::move(st).error().with_context(path);
  Model model = FRAGUA_TRY(Model::create(cfg));
  for (const ParamInfo& p : model.param_infos()) {
    const format::GgufTensorInfo* t = file.find_tensor(p.name);
    if (!t) return not_found_error("{}: tensor '{}' is missing", path, p.name);
    if (t->ne != p.ne)
      return invalid_argument_error("{}: tensor '{}' has shape [{}], the model's hyper-parameters give [{}]", path,
                                    p.name, fmt::join(t->ne, ", "), fmt::join(p.ne, ", "));
    float* dst = model.params().data() + p.offset;
    if (t->dtype == DType::f32) {
      std::memcpy(dst, t->data, p.size * sizeof(float));
      continue;
    }
    Tensor view = FRAGUA_TRY(Tensor::view(t->dtype, t->ne, t->data, t->n_bytes));
    auto f32 = view.to_f32();
    if (!f32.ok()) return std::move(f32).error().with_context(fmt::format("{}: tensor '{}'", path, p.name));
    std::memcpy(dst, f32->f32(), p.size * sizeof(float));
  }
  return model;
}

Result<Model> load_gguf_model(const std::string& path) {
  format::GgufFile file = FRAGUA_TRY(format::GgufFile::open(path));
  return load_gguf_model(file);
}

Status save_gguf_model(const Model& model, const format::GgufFile& source, const std::string& out, Env& env) {
  format::GgufWriter w;
  w.set_alignment(static_cast<uint32_t>(source.alignment()));
  for (const format::GgufKV& kv : source.metadata()) w.set(kv.key, kv.value);
  w.set("general.file_type", format::GgufValue::of_u32(0));  // LLAMA_FTYPE_ALL_F32
  format::write_llama_hparams(w, "llama", model.config());
  for (const format::TensorSlot& t : format::tensor_slots(format::llama_tensors(), model.config())) {
    const ParamInfo* p = model.find_param(t.name);
    if (!p) continue;  // optional tensors (rope_freqs) are not trained
    FRAGUA_TRY(w.add_tensor(p->name, p->ne, DType::f32, model.params().data() + p->offset, p->size * sizeof(float)));
  }
  if (auto st = w.write(out, env); !st.ok()) return std::move(st).error().with_context(out);
  return ok_status();
}

}  // namespace fragua::train
