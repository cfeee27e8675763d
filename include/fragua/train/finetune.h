// SPDX-License-Identifier: Apache-2.0
// Fine-tuning an existing GGUF model on the training engine: `fragua finetune` (supervised
// fine-tuning on chat JSONL) and `fragua align --method dpo` (dpo.h) share the data rendering,
// the trainable set (every weight, or a LoRA adapter, lora.h), the optimizer loop, checkpoints,
// metrics and the outputs written here.
//
// Data: one JSON object a line, {"messages": [{"role", "content"}...], "meta": {...}} (the SFT
// format of docs/community.md). Each conversation is rendered with the model's chat template
// (tokenizer.chat_template of the GGUF, or --chat-template) and tokenized with its vocabulary;
// the loss counts the assistant turns only: the tokens that rendering messages[0..i] adds over
// the generation prompt of messages[0..i-1], for each assistant message i (its end marker
// included, so the model learns to stop).
//
// Packing: whole conversations are laid one after another into rows of seq_len tokens (greedy,
// in file order after a seeded shuffle); a conversation that does not fit in what is left of a
// row starts the next one, the rest of a row is padding with no loss. Attention is causal over
// the whole row and does cross conversation boundaries (the engine has no document mask), as
// transformers' packing without position ids does; the loss masks keep the earlier
// conversations out of the targets. --no-pack puts one conversation per row. A conversation
// longer than seq_len is cut to seq_len (reported once).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fragua/base/error.h"
#include "fragua/base/file.h"
#include "fragua/tokenize/tokenizer.h"
#include "fragua/train/lora.h"
#include "fragua/train/model.h"
#include "fragua/train/optim.h"

namespace fragua::train {

// One tokenized conversation: loss[t] is 1 when token t is an assistant token (predicted from
// the tokens before it).
struct SftExample {
  std::vector<int32_t> tokens;
  std::vector<uint8_t> loss;
};

// The tokens of `messages` rendered with the template and which of them are assistant tokens.
// Errors name `where` (file:line).
Result<SftExample> encode_sft_conversation(const tokenize::Tokenizer& tok, const std::string& chat_template,
                                           const std::vector<tokenize::ChatMessage>& messages, const std::string& where);
// Every line of an SFT JSONL file; errors name the file and line.
Result<std::vector<SftExample>> load_sft_jsonl(const std::string& path, const tokenize::Tokenizer& tok,
                                               const std::string& chat_template, Env& env = Env::posix());
// The same over text already read; `path` names it in errors.
Result<std::vector<SftExample>> parse_sft_jsonl(std::string_view text, const std::string& path,
                                                const tokenize::Tokenizer& tok, const std::string& chat_template);

// Rows of T tokens with next-token targets and per-position loss weights (1 or 0).
struct PackedBatch {
  int T = 0, rows = 0;
  std::vector<int32_t> tokens, targets;
  std::vector<float> weights;
};
PackedBatch pack_sft(const std::vector<SftExample>& examples, int T, bool pack);

// What every fine-tuning run shares.
struct TuneConfig {
  std::string model;          // the starting GGUF
  std::string out_dir;        // checkpoints/, latest, metrics.jsonl, config.json, outputs
  std::string chat_template;  // "": the model's tokenizer.chat_template (else chatml)
  bool lora = false;
  LoraConfig lora_config;
  int seq_len = 256;
  int batch = 4;  // rows per step (SFT) or pairs per step (DPO)
  int64_t steps = 100;
  Schedule schedule;  // total is set to steps
  AdamWConfig adamw;  // weight_decay applies to full fine-tuning only (0 on adapters)
  uint64_t seed = 1;
  int threads = 0;
  int64_t save_every = 0;  // 0: only at the end
  int64_t eval_every = 0;  // 0: only at the end
  bool resume = false;
  bool merge = false;  // also write <out>/merged.gguf (LoRA) ; full fine-tuning always writes model.gguf
  int64_t stop_after = -1;
  const std::atomic<bool>* stop_flag = nullptr;
  Env* env = nullptr;

  nlohmann::json to_json() const;
};

struct SftConfig : TuneConfig {
  std::string data;        // SFT JSONL
  std::string eval_data;   // optional held-out SFT JSONL
  double eval_split = 0;   // else this fraction of the data is held out
  bool pack = true;
};

struct TuneResult {
  int64_t step = 0;
  std::vector<float> losses;  // per step of this call
  nlohmann::json last_eval;
  bool stopped = false;
  std::vector<std::string> outputs;  // files written
};

// `fragua finetune`. Outputs in out_dir: with LoRA, adapter.gguf (llama.cpp --lora), peft/
// (adapter_model.safetensors + adapter_config.json) and with merge merged.gguf; without, model.gguf.
Result<TuneResult> finetune(const SftConfig& config);

// Mean loss per trained token of `batch` under `model` (rows at a time). For held-out sets and
// the end-to-end checks.
Result<double> sft_eval_loss(Model& model, const PackedBatch& batch, int threads);

}  // namespace fragua::train
