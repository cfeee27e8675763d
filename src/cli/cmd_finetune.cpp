// SPDX-License-Identifier: Apache-2.0
// fragua finetune: supervised fine-tuning of a GGUF model on chat JSONL, full or LoRA.
#include "cli/command.h"
#include "cli/tune_flags.h"
#include "fragua/base/log.h"
#include "fragua/train/finetune.h"

namespace fragua::cli {
namespace FRAGUA_CMD_NS {

struct Opts {
  train::SftConfig c;
  TuneFlags flags;
  bool no_pack = false;
};

void run(Opts& o) {
  finish_tune_flags(o.c, o.flags);
  o.c.pack = !o.no_pack;
  auto res = check(train::finetune(o.c));
  if (res.stopped) {
    log_info("stopped at step {}; continue with --resume", res.step);
    return;
  }
  if (!res.last_eval.is_null()) log_info("held-out loss {:.4f} nats/token", res.last_eval.value("val_loss", 0.0));
  for (const auto& f : res.outputs) log_info("wrote {}", f);
}

void setup(CLI::App& root) {
  auto* cmd = root.add_subcommand(
      "finetune", "Supervised fine-tuning on chat JSONL ({\"messages\": [...]}) with the model's chat template; loss on "
                  "assistant turns only; full or --lora");
  auto o = std::make_shared<Opts>();
  add_tune_flags(*cmd, o->c, o->flags);
  cmd->add_option("--data", o->c.data, "SFT chat JSONL")->required();
  cmd->add_option("--eval-data", o->c.eval_data, "Held-out SFT chat JSONL");
  cmd->add_option("--eval-split", o->c.eval_split, "Else hold out this fraction of --data")->capture_default_str();
  cmd->add_flag("--no-pack", o->no_pack, "One conversation per row (default: pack several into a row)");
  cmd->callback([o] { run(*o); });
}

Registrar reg(setup);

}  // namespace FRAGUA_CMD_NS
}  // namespace fragua::cli
