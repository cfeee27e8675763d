// SPDX-License-Identifier: Apache-2.0
#include "fragua/model/loaded_model.h"

namespace fragua::model {

std::vector<int32_t> end_of_generation_ids(const tokenize::Tokenizer& tok) {
  std::vector<int32_t> ids;
  for (int32_t id = 0; id < tok.n_vocab(); ++id)
    if (tok.is_eog(id)) ids.push_back(id);
  return ids;
}

Status check_tokenizer_fits(const tokenize::Tokenizer& tok, const Model& model) {
  if (tok.n_vocab() > model.config().n_vocab)
    return invalid_argument_error("the tokenizer has {} tokens but the model only {}", tok.n_vocab(),
                                  model.config().n_vocab);
  return {};
}

Result<LoadedModel> open_model(const std::string& path, const OpenOptions& options) {
  LoadedModel m;
  Env& env = options.hub.env ? *options.hub.env : Env::posix();
  m.path = !env.file_exists(path) && is_hub_model_spec(path) ? FRAGUA_TRY(resolve_hub_model(path, options.hub)) : path;
  ModelParams params;
  params.lora = options.lora;
  m.model = FRAGUA_TRY(Model::load(m.path, params));
  m.context = FRAGUA_TRY(Context::create(*m.model, options.context));
  if (!options.tokenizer_path.empty())
    m.tokenizer = std::make_unique<tokenize::Tokenizer>(FRAGUA_TRY(tokenize::Tokenizer::load(options.tokenizer_path)));
  else if (m.model->gguf().find("tokenizer.ggml.model"))
    m.tokenizer = std::make_unique<tokenize::Tokenizer>(FRAGUA_TRY(tokenize::Tokenizer::from_gguf(m.model->gguf())));
  if (m.tokenizer) {
    FRAGUA_TRY(check_tokenizer_fits(*m.tokenizer, *m.model));
    m.eog_ids = end_of_generation_ids(*m.tokenizer);
  }
  return m;
}

}  // namespace fragua::model
