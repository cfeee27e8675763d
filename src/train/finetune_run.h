// SPDX-License-Identifier: Apache-2.0
// The run shared by `fragua finetune` and `fragua align` (finetune.h, dpo.h): the starting model
// read from GGUF, its tokenizer and chat template, the trainable set (all weights or a LoRA
// adapter), AdamW, checkpoints of the trainable set with its moments, metrics and outputs.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "fragua/base/metrics.h"
#include "fragua/base/thread_pool.h"
#include "fragua/format/gguf.h"
#include "fragua/train/finetune.h"

namespace fragua::train {

struct TuneRun {
  TuneConfig cfg;
  std::optional<format::GgufFile> source;
  std::optional<tokenize::Tokenizer> tok;
  std::string chat_template;
  std::optional<Model> model;
  std::optional<Lora> lora;
  std::unique_ptr<ThreadPool> pool;
  KernelOptions kopts;
  std::optional<AdamW> opt;
  MetricsWriter metrics;
  int64_t step = 0;
  bool branch_attached = false;  // the LoRA branch is the model's hook (dropout, before_forward)

  Env& env() const { return cfg.env ? *cfg.env : Env::posix(); }
  ParamStore& trainable() { return lora ? lora->store() : model->param_store(); }
  // Reads the model, tokenizer and template; checks the configuration; nothing is written.
  static Result<std::unique_ptr<TuneRun>> open(const TuneConfig& cfg);
  // Creates out_dir, writes config.json (with `extra`), opens metrics; resumes when asked.
  Status start(const std::string& kind, const nlohmann::json& extra);
  void zero_grad();
  // LoRA: the adapter merged into the weights (evaluation, and training with dropout 0); for a
  // training forward with dropout > 0, the adapter beside W0 with this step's mask (lora.h).
  void before_forward(bool training = false);
  // LoRA: adapter gradients from the model's (or from the branch's backward); then clip and
  // step, and the model holds the merged stepped adapter. Returns the gradient norm.
  float optimizer_step(float lr);
  Status save_checkpoint();
  // The final outputs (finetune.h) into out_dir.
  Status write_outputs(TuneResult& result);
};

// Calls `fn` with each non-blank line of a JSON-lines text parsed as a JSON object and its place
// ("path:line"); a line that is not valid JSON or not an object is an error naming that place.
// The SFT and DPO readers (finetune.cpp, dpo.cpp) share it.
Status for_each_jsonl_object(std::string_view text, const std::string& path,
                             const std::function<Status(const nlohmann::json&, const std::string&)>& fn);

}  // namespace fragua::train
