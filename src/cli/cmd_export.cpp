// SPDX-License-Identifier: Apache-2.0
// fragua export: trained checkpoint -> GGUF for `fragua generate` / `chat` / `serve`.
#include "cli/command.h"
#include "fragua/base/log.h"
#include "fragua/train/export.h"

namespace fragua::cli {
namespace FRAGUA_CMD_NS {

void setup(CLI::App& root) {
  auto* cmd = root.add_subcommand("export", "Write a trained checkpoint as a GGUF model (with its tokenizer)");
  auto o = std::make_shared<train::ExportOptions>();
  cmd->add_option("checkpoint", o->checkpoint,
                  "Run directory (its latest checkpoint), checkpoint directory or model.safetensors")
      ->required();
  cmd->add_option("-o,--output", o->out, "Output .gguf")->required();
  cmd->add_option("--tokenizer", o->tokenizer,
                  "Tokenizer GGUF whose tokenizer.* metadata goes into the model, or 'byte' (the built-in byte "
                  "vocabulary)");
  cmd->add_option("--name", o->name, "general.name of the model");
  cmd->callback([o] {
    check(train::export_gguf(*o));
    log_info("wrote {}", o->out);
  });
}

Registrar reg(setup);

}  // namespace
}  // namespace fragua::cli
