// SPDX-License-Identifier: Apache-2.0
// `fragua export`: a trained checkpoint -> a GGUF file the inference engine loads directly
// (architecture "llama", llama.cpp's hyper-parameter keys and tensor names, F32 weights), with
// the tokenizer's `tokenizer.*` metadata copied from a tokenizer GGUF.
#pragma once

#include <string>
#include <vector>

#include "fragua/base/error.h"
#include "fragua/base/file.h"

namespace fragua::train {

struct ExportOptions {
  std::string checkpoint;  // a run directory (uses `latest`), a checkpoint directory, or a model.safetensors
  std::string tokenizer;   // GGUF holding tokenizer.* keys, or "byte" (make_byte_tokenizer); empty: none
  std::string out;         // .gguf path
  std::string name;        // general.name; default "fragua-<n>M"
  // general.license and general.languages of the model card (format/model_card.h): a model
  // trained here is Fragua's, for its four languages, under the project's licence unless told.
  std::string license = "apache-2.0";
  std::vector<std::string> languages = {"es", "ca", "eu", "gl"};
  Env* env = nullptr;      // file access (nullptr: Env::posix())
};

Status export_gguf(const ExportOptions& options);

// The model.safetensors a checkpoint argument refers to.
Result<std::string> resolve_model_path(const std::string& checkpoint, Env& env = Env::posix());

}  // namespace fragua::train
