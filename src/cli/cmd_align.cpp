// SPDX-License-Identifier: Apache-2.0
// fragua align --method dpo: preference alignment of a GGUF model on prompt/chosen/rejected JSONL.
#include "cli/command.h"
#include "cli/tune_flags.h"
#include "fragua/base/log.h"
#include "fragua/train/dpo.h"

namespace fragua::cli {
namespace FRAGUA_CMD_NS {

struct Opts {
  train::DpoConfig c;
  TuneFlags flags;
  std::string method = "dpo";
};

void run(Opts& o) {
  if (o.method != "dpo")
    throw Failure{invalid_argument_error("align: --method '{}' is not known (dpo)", o.method), 2};
  finish_tune_flags(o.c, o.flags);
  auto res = check(train::align_dpo(o.c));
  if (res.stopped) {
    log_info("stopped at step {}; continue with --resume", res.step);
    return;
  }
  for (const char* when : {"start", "end"})
    if (res.last_eval.contains(when)) {
      const auto& e = res.last_eval[when];
      log_info("held-out pairs at the {}: loss {:.4f}, reward margin {:.4f}, accuracy {:.3f}, chosen likelier {:.3f}",
               when, e.value("val_loss", 0.0), e.value("val_reward_margin", 0.0), e.value("val_accuracy", 0.0),
               e.value("val_logp_accuracy", 0.0));
    }
  for (const auto& f : res.outputs) log_info("wrote {}", f);
}

void setup(CLI::App& root) {
  auto* cmd = root.add_subcommand(
      "align", "Preference alignment (DPO, Rafailov et al. 2023) on {\"prompt\", \"chosen\", \"rejected\"} JSONL, "
               "against the frozen starting model; full or --lora");
  auto o = std::make_shared<Opts>();
  add_tune_flags(*cmd, o->c, o->flags);
  cmd->add_option("--method", o->method, "Alignment method: dpo")->capture_default_str();
  cmd->add_option("--data", o->c.data, "Preference pairs JSONL")->required();
  cmd->add_option("--eval-data", o->c.eval_data, "Held-out pairs JSONL");
  cmd->add_option("--eval-split", o->c.eval_split, "Else hold out this fraction of --data")->capture_default_str();
  cmd->add_option("--beta", o->c.beta, "DPO beta (strength of the KL constraint to the reference)")
      ->capture_default_str();
  cmd->callback([o] { run(*o); });
}

Registrar reg(setup);

}  // namespace FRAGUA_CMD_NS
}  // namespace fragua::cli
