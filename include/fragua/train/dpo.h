// SPDX-License-Identifier: Apache-2.0
// `fragua align --method dpo`: Direct Preference Optimization (Rafailov et al. 2023, "Direct
// Preference Optimization: Your Language Model is Secretly a Reward Model"). For a prompt x with
// a chosen answer y_w and a rejected y_l, policy pi and frozen reference pi_ref (the starting
// model):
//   loss = -log sigmoid(beta * ((log pi(y_w|x) - log pi_ref(y_w|x)) - (log pi(y_l|x) - log pi_ref(y_l|x))))
// averaged over the pairs of a step; log pi(y|x) is the sum of the log-probabilities of the
// answer's tokens (the assistant turn rendered with the chat template, as finetune.h masks it).
// The reference log-probabilities are computed once, before the first step, and cached
// (<out>/reference_logps.json). The implicit rewards beta * (log pi - log pi_ref) of chosen and
// rejected answers give the reported reward margin and preference accuracy (margin > 0).
//
// Data: one JSON object a line, {"prompt": string, "chosen": string, "rejected": string,
// "meta": {...}} (docs/community.md); the prompt is the user message, after meta.system as the
// system message when present.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "fragua/train/finetune.h"

namespace fragua::train {

struct DpoPair {
  SftExample chosen, rejected;
};

Result<std::vector<DpoPair>> load_dpo_jsonl(const std::string& path, const tokenize::Tokenizer& tok,
                                            const std::string& chat_template, Env& env = Env::posix());
Result<std::vector<DpoPair>> parse_dpo_jsonl(std::string_view text, const std::string& path,
                                             const tokenize::Tokenizer& tok, const std::string& chat_template);

// Rows 2i (chosen) and 2i+1 (rejected) of pair i, T tokens each, next-token targets and the
// answer mask (as pack_sft without packing).
PackedBatch dpo_rows(std::span<const DpoPair> pairs, int T);

struct DpoOutcome {
  double loss = 0;           // mean over the pairs
  double reward_margin = 0;  // mean of beta * ((pi_w - ref_w) - (pi_l - ref_l))
  double chosen_reward = 0, rejected_reward = 0;
  double accuracy = 0;       // fraction of pairs with a positive margin
  // Fraction of pairs whose chosen answer the policy itself finds likelier (log pi(y_w|x) >
  // log pi(y_l|x)). Unlike `accuracy`, which is 0 before the first step (every margin is 0), its
  // start value is the reference model's own preference: the before of a before/after.
  double logp_accuracy = 0;
  std::vector<double> logp;  // the policy's log-probability of each row
};

// The answer log-probability of each row of `rows` (one forward per `chunk` rows).
std::vector<double> sequence_logps(Model& model, const PackedBatch& rows, const KernelOptions& opts, int chunk = 8);

// One forward over the 2P rows; with backward, accumulates into model.grads() the gradient of
// the mean DPO loss (dL/dlogp of each row times its masked positions, Model::backward_weighted).
// ref_logp: one value a row.
DpoOutcome dpo_forward_backward(Model& model, const PackedBatch& rows, std::span<const double> ref_logp, float beta,
                                bool backward, const KernelOptions& opts);

struct DpoConfig : TuneConfig {
  std::string data;       // pairs JSONL
  std::string eval_data;  // held-out pairs JSONL; else eval_split of the data
  double eval_split = 0.1;
  float beta = 0.1f;
};

// Outputs as finetune(); TuneResult::last_eval holds the held-out loss, reward margin and
// accuracy, before ("start") and after training.
Result<TuneResult> align_dpo(const DpoConfig& config);

}  // namespace fragua::train
