// SPDX-License-Identifier: Apache-2.0
// LoRA adapters applied when a model loads (`--lora FILE[:scale]` on generate, chat and serve):
// the adapter GGUF that `fragua finetune --lora` writes and llama.cpp's `--lora` reads
// (general.type "adapter", adapter.type "lora", adapter.lora.alpha, tensors "<weight>.lora_a"
// ne [in, r] and "<weight>.lora_b" ne [r, out]). Each adapted weight W becomes, once, at load,
//   W + scale * (alpha / r) * B A
// computed in F32 from an F32, F16 or BF16 base and kept as F32 (so the adapted matrices take 4
// bytes a weight; the others stay as the file has them). A quantized base weight is refused:
// dequantizing, merging and quantizing again would silently change the model beyond the adapter
// (merge with `fragua finetune --merge` on an F16/F32 model and quantize the result instead).
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "fragua/base/error.h"
#include "fragua/tensor/tensor.h"

namespace fragua::model {

struct LoraAdapterSpec {
  std::string path;
  float scale = 1.0f;
};

// "FILE" or "FILE:SCALE" (the scale a number after the last ':'; "FILE:x" with a non-number x is
// the file "FILE:x").
Result<LoraAdapterSpec> parse_lora_spec(std::string_view flag);

// Merges every adapter into the weights that `find` returns by GGUF name (nullptr: the model has
// no such weight, an error). arch: the model's general.architecture, which the adapter's must
// match. Errors name the adapter file and tensor.
using WeightByName = std::function<Tensor*(const std::string& name)>;
Status merge_lora_adapters(const std::vector<LoraAdapterSpec>& adapters, const std::string& arch,
                           const WeightByName& find);

}  // namespace fragua::model
