// SPDX-License-Identifier: Apache-2.0
// LoRA (Hu et al. 2021, "LoRA: Low-Rank Adaptation of Large Language Models"): each targeted
// projection W (out x in) becomes W0 + (alpha / r) * B A with A (r x in), B (out x r); W0 frozen,
// only A and B trained. A starts as PEFT's default (uniform in +-1/sqrt(in), kaiming_uniform with
// a = sqrt(5)) and B at zero, so the adapted model starts as the base model.
//
// How it runs on the training engine: the adapter is merged into the model's weights before each
// forward (merge_into) and the model's ordinary backward gives dL/dW of the merged weight, from
// which the adapter's gradients follow exactly (accumulate_grads):
//   dL/dB = s * dL/dW A^T,   dL/dA = s * B^T dL/dW,   s = alpha / r.
// The block needs no hook for that path; its cost is the dW that backward computes anyway.
//
// Dropout (LoraConfig::dropout = p > 0) is PEFT's: y = W0 x + s B A dropout(x), inverted dropout
// (a kept element is scaled by 1/(1-p)), a fresh mask on every training forward, none at
// evaluation or merge. A merged weight cannot express it, so a training step with p > 0 runs the
// adapter beside the frozen weight instead (attach_branch: Lora is the blocks' BlockLinearHook):
// per targeted projection two rank-r products forward (x_d A^T, then B), four backward, and the
// mask. The mask is counter-based (dropout_keep): element (row n, column i) of target t's input
// under seed S is kept when the top 24 bits of mix(mix(mix(S ^ t) ^ n) ^ i) are >= p * 2^24,
// mix = SplitMix64's finaliser (Steele et al. 2014) after adding its increment; so backward
// regenerates the mask instead of storing it, and a reference can reproduce it
// (tests/reference/train/lora_dpo_goldens.py). The model still computes dL/dW0 in that path (the
// engine has no frozen-weight backward), so p > 0 costs a little more than p = 0, not less.
//
// Tensors are named as llama.cpp's LoRA GGUF names them: "blk.N.attn_q.weight.lora_a" with
// ne = [in, r] and ".lora_b" with ne = [r, out] (llama-adapter.cpp checks exactly these shapes).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "fragua/base/error.h"
#include "fragua/base/file.h"
#include "fragua/train/block.h"
#include "fragua/train/model.h"
#include "fragua/train/param_store.h"

namespace fragua::train {

struct LoraConfig {
  int rank = 8;
  float alpha = 16.0f;
  float dropout = 0.0f;  // in [0, 1): PEFT's lora_dropout on the adapter's input
  // Of q, k, v, o, gate, up, down (the projections of the Llama block).
  std::vector<std::string> targets = {"q", "k", "v", "o"};

  Status check() const;  // errors name the field
  nlohmann::json to_json() const;
  static Result<LoraConfig> from_json(const nlohmann::json& j);
};

// "q,v" or "all" -> the list; unknown names are errors naming them.
Result<std::vector<std::string>> parse_lora_targets(std::string_view csv);
// The block tensor a target adapts: "q" -> "attn_q", "o" -> "attn_output", "gate" -> "ffn_gate".
Result<std::string> lora_target_tensor(std::string_view target);

class Lora final : public BlockLinearHook {
 public:
  // Adapters for every targeted projection of every layer of `base`, initialised from seed;
  // records the base weights (W0) of the targets.
  static Result<Lora> create(const Model& base, const LoraConfig& config, uint64_t seed);

  const LoraConfig& config() const { return cfg_; }
  float scale() const { return cfg_.alpha / static_cast<float>(cfg_.rank); }
  // A and B of every target ("blk.N.<tensor>.weight.lora_a" / ".lora_b"); what the optimizer
  // steps and a checkpoint saves.
  ParamStore& store() { return store_; }
  const ParamStore& store() const { return store_; }

  // Writes W0 + scale * B A into the targeted weights of `model` (the base the adapter was
  // created on), for the next forward, or for good when merging.
  void merge_into(Model& model) const;
  // Adds to store().grads() the adapter gradients implied by model.grads() of the targeted
  // (merged) weights.
  void accumulate_grads(Model& model);

  // The unmerged path for one training forward and its backward: writes W0 back into the
  // targeted weights of `model` and sets this adapter as its linear hook, with the dropout mask
  // of `seed` (no dropout when config().dropout is 0). Backward then adds the adapter's gradients
  // to store().grads() itself (no accumulate_grads). detach_branch unsets the hook; merge_into
  // afterwards gives the evaluation model. This object must not move while attached.
  void attach_branch(Model& model, uint64_t seed);
  void detach_branch(Model& model);
  // The dropout mask of target `target` (store().infos()[2 * target] is its lora_a) for `rows`
  // input rows under `seed`: rows x in, 1 kept, 0 dropped (the rule above).
  std::vector<uint8_t> dropout_keep(size_t target, int rows, uint64_t seed) const;

  // BlockLinearHook, while attached.
  void forward(int layer, BlockLinear which, const float* x, float* y, int N, const KernelOptions& opts) override;
  void backward(int layer, BlockLinear which, const float* x, const float* dy, float* dx, int N,
                const KernelOptions& opts) override;

  // llama.cpp's LoRA GGUF: general.type "adapter", general.architecture "llama", adapter.type
  // "lora", adapter.lora.alpha, the lora_a / lora_b tensors (F32).
  Status save_gguf(const std::string& path, const std::string& name, Env& env = Env::posix()) const;
  // PEFT's layout in dir: adapter_model.safetensors ("base_model.model.model.layers.N.self_attn.
  // q_proj.lora_A.weight" [r, in], "...lora_B.weight" [out, r]) and adapter_config.json. The rows
  // of q and k are put back in Hugging Face's order (GGUF interleaves RoPE pairs per head,
  // llama.cpp's convert_hf_to_gguf permute).
  Status save_peft(const std::string& dir, const std::string& base_model, Env& env = Env::posix()) const;

 private:
  struct Target {
    std::string tensor;  // "blk.0.attn_q.weight"
    std::string kind;    // "q"
    int layer = 0;
    size_t a = 0, b = 0;  // indices into store_
    int64_t in = 0, out = 0;
    size_t offset = 0;  // of W in the model's parameter buffer
    std::vector<float> w0;
    std::vector<float> ts;  // attached: s * x_d A^T (N x r) of the last forward, for backward
  };
  // x, or x with target ti's dropout applied (into drop_x_, the mask into drop_keep_), N rows.
  const float* dropout_input(size_t ti, const float* x, int N, const KernelOptions& opts);
  LoraConfig cfg_;
  ModelConfig model_cfg_;
  ParamStore store_;
  std::vector<Target> targets_;
  std::vector<int> target_of_;  // layer * 7 + BlockLinear -> index into targets_, or -1
  uint64_t drop_seed_ = 0;
  std::vector<float> drop_x_, branch_tmp_, branch_dt_;
  std::vector<uint8_t> drop_keep_;
};

}  // namespace fragua::train
