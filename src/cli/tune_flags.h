// SPDX-License-Identifier: Apache-2.0
// The flags `fragua finetune` and `fragua align` share (train::TuneConfig).
#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "cli/command.h"
#include "fragua/train/finetune.h"

namespace fragua::cli {

struct TuneFlags {
  std::string lora_targets = "q,k,v,o";
  std::string schedule = "cosine";
};

inline void add_tune_flags(CLI::App& cmd, train::TuneConfig& c, TuneFlags& f) {
  cmd.add_option("model", c.model, "The starting model (GGUF, llama architecture, with its tokenizer)")->required();
  cmd.add_option("-o,--output", c.out_dir, "Run directory: checkpoints, metrics.jsonl, the adapter or model")
      ->required();
  cmd.add_flag("--lora", c.lora, "Train a LoRA adapter instead of every weight");
  cmd.add_option("--lora-rank", c.lora_config.rank, "LoRA rank r")->capture_default_str();
  cmd.add_option("--lora-alpha", c.lora_config.alpha, "LoRA alpha (scale alpha / r)")->capture_default_str();
  cmd.add_option("--lora-dropout", c.lora_config.dropout,
                 "LoRA dropout on the adapter's input, in [0, 1) (PEFT's lora_dropout; 0: train through the merged weight)")
      ->capture_default_str();
  cmd.add_option("--lora-targets", f.lora_targets, "Projections to adapt: q,k,v,o,gate,up,down or all")
      ->capture_default_str();
  cmd.add_flag("--merge", c.merge, "With --lora, also write merged.gguf (base + adapter)");
  cmd.add_option("--chat-template", c.chat_template, "Chat template name or Jinja text (default: the model's)");
  cmd.add_option("--seq-len", c.seq_len, "Tokens per row (at most the model's context)")->capture_default_str();
  cmd.add_option("--batch", c.batch, "Rows (finetune) or pairs (align) per step")->capture_default_str();
  cmd.add_option("--steps", c.steps, "Optimizer steps")->capture_default_str();
  cmd.add_option("--lr", c.schedule.lr, "Peak learning rate")->capture_default_str();
  cmd.add_option("--warmup", c.schedule.warmup, "Warmup steps")->capture_default_str();
  cmd.add_option("--schedule", f.schedule, "cosine, wsd or constant")->capture_default_str();
  cmd.add_option("--weight-decay", c.adamw.weight_decay, "AdamW weight decay (full fine-tuning)")
      ->capture_default_str();
  cmd.add_option("--seed", c.seed, "Seed of the adapter's initialisation and the data order")->capture_default_str();
  cmd.add_option("--save-every", c.save_every, "Checkpoint every N steps (0: at the end)")->capture_default_str();
  cmd.add_option("--eval-every", c.eval_every, "Evaluate the held-out data every N steps (0: at the end)")
      ->capture_default_str();
  cmd.add_flag("--resume", c.resume, "Continue the run in --output from its latest checkpoint");
  add_threads_flag(cmd, c.threads);
}

// Applies what add_tune_flags parsed into strings.
inline void finish_tune_flags(train::TuneConfig& c, const TuneFlags& f) {
  c.lora_config.targets = check(train::parse_lora_targets(f.lora_targets));
  c.schedule.kind = check(train::parse_schedule_kind(f.schedule));
}

}  // namespace fragua::cli
