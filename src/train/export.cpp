// SPDX-License-Identifier: Apache-2.0
#include "fragua/train/export.h"

#include <fmt/ranges.h>

#include "fragua/base/log.h"
#include "fragua/format/gguf.h"
#include "fragua/format/llama_hparams.h"
#include "fragua/format/llama_tensors.h"
#include "fragua/format/model_card.h"
#include "fragua/format/safetensors.h"
#include "fragua/tokenize/tokenizer.h"
#include "fragua/train/text_encoder.h"
#include "fragua/train/trainer.h"
#include "train/checkpoint.h"

namespace fragua::train {

using format::GgufValue;

Result<std::string> resolve_model_path(const std::string& ck, Env& env) {
  if (env.is_directory(ck)) {
    if (env.file_exists(ck + "/latest")) return FRAGUA_TRY(latest_checkpoint(ck, env)) + "/model.safetensors";
    if (env.file_exists(ck + "/model.safetensors")) return ck + "/model.safetensors";
    return not_found_error("{}: neither a training run (no 'latest') nor a checkpoint (no model.safetensors)", ck);
  }
  if (!env.file_exists(ck)) return not_found_error("{}: no such checkpoint", ck);
  return ck;
}

Status export_gguf(const ExportOptions& o) {
  if (o.out.empty()) return invalid_argument_error("export: --output is required");
  Env& env = o.env ? *o.env : Env::posix();
  std::string path = FRAGUA_TRY(resolve_model_path(o.checkpoint, env));
  Model model = FRAGUA_TRY(load_model_safetensors(path));
  const ModelConfig& c = model.config();
  format::GgufWriter w;
  std::string name = o.name.empty() ? fmt::format("fragua-{:.0f}M", c.n_params() / 1e6) : o.name;
  // Hyper-parameter keys and tensor names as llama.cpp's "llama" architecture defines them.
  w.set("general.architecture", GgufValue::of_string("llama"));
  format::ModelCard card;
  card.name = name;
  card.basename = o.name.empty() ? "fragua" : o.name;
  card.size_label = format::size_label(static_cast<uint64_t>(c.n_params()));
  card.license = o.license;
  card.languages = o.languages;
  format::set_model_card(w, card);
  w.set("general.file_type", GgufValue::of_u32(0));  // LLAMA_FTYPE_ALL_F32
  format::write_llama_hparams(w, "llama", c);
  w.set("fragua.source_checkpoint", GgufValue::of_string(path));
  w.set("fragua.version", GgufValue::of_string(FRAGUA_VERSION));
  if (!o.tokenizer.empty()) {
    auto tok = o.tokenizer == "byte" ? FRAGUA_TRY(make_byte_tokenizer()) : FRAGUA_TRY(tokenize::Tokenizer::load(o.tokenizer));
    if (tok.n_vocab() != c.n_vocab)
      return invalid_argument_error("{}: tokenizer has {} tokens but the model's vocabulary is {}", o.tokenizer,
                                    tok.n_vocab(), c.n_vocab);
    tok.write_gguf_metadata(w);
  } else {
    log_warn("export: no --tokenizer: {} holds no vocabulary and cannot encode text", o.out);
  }
  // The tensors the loader binds (format::llama_tensors), in its file order; each parameter of
  // the trainer must be one of them with the table's shape.
  size_t written = 0;
  for (const format::TensorSlot& t : format::tensor_slots(format::llama_tensors(), c)) {
    const ParamInfo* p = model.find_param(t.name);
    if (!p) {
      if (t.spec->presence == format::Presence::optional) continue;
      return invalid_argument_error("export: {}: the model has no parameter '{}'", path, t.name);
    }
    if (p->ne != t.ne)
      return invalid_argument_error("export: {}: parameter '{}' has shape [{}], the llama architecture [{}]", path,
                                    t.name, fmt::join(p->ne, ", "), fmt::join(t.ne, ", "));
    FRAGUA_TRY(w.add_tensor(p->name, p->ne, DType::f32, model.params().data() + p->offset, p->size * sizeof(float)));
    ++written;
  }
  if (written != model.param_infos().size())
    return invalid_argument_error("export: {}: {} parameters but {} of them are llama tensors", path,
                                  model.param_infos().size(), written);
  // Through AtomicFile: a failed write leaves no partial .gguf, and the error names the output.
  if (auto st = w.write(o.out, env); !st.ok()) return std::move(st).error().with_context("export: " + o.out);
  return ok_status();
}

}  // namespace fragua::train
