// SPDX-License-Identifier: Apache-2.0
// `--lora FILE[:scale]` on generate, chat and serve (model/lora_adapter.h): adapters merged into
// the weights at load.
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/command.h"
#include "fragua/model/lora_adapter.h"

namespace fragua::cli {

inline void add_lora_flag(CLI::App& cmd, std::vector<std::string>& specs) {
  cmd.add_option("--lora", specs,
                 "LoRA adapter GGUF (as `fragua finetune --lora` and llama.cpp write it), FILE or FILE:SCALE; "
                 "repeatable. Merged into F32/F16/BF16 weights at load; a quantized base is refused");
}

inline std::vector<model::LoraAdapterSpec> lora_specs(const std::vector<std::string>& specs) {
  std::vector<model::LoraAdapterSpec> out;
  for (const auto& s : specs) {
    auto r = model::parse_lora_spec(s);
    if (!r.ok()) throw Failure{std::move(r).error(), 2};
    out.push_back(std::move(*r));
  }
  return out;
}

}  // namespace fragua::cli
