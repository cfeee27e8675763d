// SPDX-License-Identifier: Apache-2.0
// The inverse of export.h: a GGUF file of llama.cpp's "llama" architecture read into the training
// engine's Model (F32), so that fine-tuning (finetune.h, dpo.h) starts from an existing model,
// and a trained Model written back as GGUF with the source file's metadata (tokenizer, chat
// template, names) carried over.
#pragma once

#include <string>

#include "fragua/base/error.h"
#include "fragua/base/file.h"
#include "fragua/format/gguf.h"
#include "fragua/train/model.h"

namespace fragua::train {

// Reads the hyper-parameters and every tensor of the Llama table. Weights stored as F32, F16,
// BF16 or any block-quantized type Tensor::to_f32 knows are converted to F32 (a quantized file
// trains on its dequantized values; writing it back gives an F32 file). Errors name the file and
// the key or tensor: another architecture, a shape the trainer does not support (head_dim other
// than n_embd / n_head, RoPE scaling, Granite multipliers, experts, Mamba layers), a missing or
// misshapen tensor.
Result<Model> load_gguf_model(const format::GgufFile& file);
Result<Model> load_gguf_model(const std::string& path);

// Writes `model` as an F32 GGUF holding every metadata key of `source` in its order (tokenizer.*,
// chat template, general.*), general.file_type set to F32, then the model's tensors in the
// order of the Llama table. A model loaded from an F32 file written by export_gguf and saved
// unchanged gives the same bytes. Through AtomicFile: no partial output on failure.
Status save_gguf_model(const Model& model, const format::GgufFile& source, const std::string& out,
                       Env& env = Env::posix());

}  // namespace fragua::train
