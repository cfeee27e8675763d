// SPDX-License-Identifier: Apache-2.0
// A model file opened for inference: the weights, one Context to run them, the tokenizer and the
// end-of-generation ids. `fragua generate`, `fragua chat` and the server assemble a model this
// way, so that the tokenizer choice and its checks live in one place.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "fragua/base/error.h"
#include "fragua/model/hub.h"
#include "fragua/model/model.h"
#include "fragua/tokenize/tokenizer.h"

namespace fragua::model {

struct OpenOptions {
  // A tokenizer (GGUF or tokenizer.json) used instead of the one in the model file; "": the
  // model's own, if it has one.
  std::string tokenizer_path;
  ContextParams context;
  // Where a model named "org/name[:FILE]" comes from (defaults: HF_ENDPOINT, HF_TOKEN, the hub
  // cache, HF_HUB_OFFLINE).
  HubOptions hub;
  // LoRA adapters merged into the weights at load (`--lora FILE[:scale]`, lora_adapter.h).
  std::vector<LoraAdapterSpec> lora;
};

struct LoadedModel {
  std::string path;  // the model file, for messages
  std::unique_ptr<Model> model;
  std::unique_ptr<Context> context;  // declared after `model`, so destroyed before it
  // Null when the model file has no tokenizer (no tokenizer.ggml.model) and none was given.
  std::unique_ptr<tokenize::Tokenizer> tokenizer;
  std::vector<int32_t> eog_ids;  // the tokenizer's end-of-generation ids (empty without one)
};

// Loads the model, creates its context and loads the tokenizer. `path` is a GGUF file or, when no
// such file exists, a hub model "org/name[:FILE]" resolved through the hub cache and pulled on
// first use (resolve_hub_model); `path` in the result is then the local file. A tokenizer with more tokens than
// the model's vocabulary is refused: the model could not embed its ids. A smaller one is accepted
// (the vocabulary is often padded).
Result<LoadedModel> open_model(const std::string& path, const OpenOptions& options = {});

// The ids for which tok.is_eog() holds (EOS, EOT, <|im_end|>, ...), ascending.
std::vector<int32_t> end_of_generation_ids(const tokenize::Tokenizer& tok);

// invalid_argument when `tok` has more tokens than `model` embeds.
Status check_tokenizer_fits(const tokenize::Tokenizer& tok, const Model& model);

}  // namespace fragua::model
