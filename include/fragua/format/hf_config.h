// SPDX-License-Identifier: Apache-2.0
// A Hugging Face model directory's config.json and model.safetensors.index.json, read into the
// Llama family's hyper-parameters (LlamaHParams) for conversion to GGUF. The keys are those of
// transformers' LlamaConfig (hidden_size, num_key_value_heads, rope_scaling, ...); which
// "architectures" are accepted and their own keys (Granite's multipliers) are the architecture's
// business (model/arch/*.cpp), read through the typed getters here. Both files are untrusted:
// every value is type- and range-checked and an error names the file and the field.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "fragua/base/error.h"
#include "fragua/format/llama_hparams.h"

namespace fragua::format {

class HfConfig {
 public:
  // Parses config.json and reads the keys every Llama-family model shares. `origin` names the
  // file in messages.
  static Result<HfConfig> parse(std::string_view text, std::string origin);

  HfConfig(HfConfig&&) noexcept;
  HfConfig& operator=(HfConfig&&) noexcept;
  ~HfConfig();

  const std::string& origin() const;
  // "architectures"[0] ("LlamaForCausalLM"); a list of several is an error (which one?).
  const std::string& architecture() const;
  // vocab_size, max_position_embeddings, hidden_size, num_hidden_layers, num_attention_heads,
  // num_key_value_heads, intermediate_size, head_dim, rms_norm_eps, rope_theta,
  // tie_word_embeddings, rope_scaling of type linear (into rope_scaling/rope_scale_factor).
  const LlamaHParams& hparams() const;
  // llama3-style RoPE scaling (rope_scaling.rope_type "llama3"): one factor per rotated pair,
  // computed as llama.cpp's convert_hf_to_gguf.py writes rope_freqs.weight; empty otherwise.
  const std::vector<float>& rope_freqs() const;

  bool has(std::string_view key) const;
  // A top-level number in [lo, hi] (absent or null: `def`); errors name the file and key.
  Result<double> get_number(std::string_view key, double def, double lo, double hi) const;
  // A top-level string (absent or null: `def`).
  Result<std::string> get_string(std::string_view key, std::string def) const;
  // A top-level integer (absent or null: `def`).
  Result<int64_t> get_int(std::string_view key, int64_t def, int64_t lo, int64_t hi) const;
  // A top-level array of strings (absent or null: empty); errors name the file, key and index.
  Result<std::vector<std::string>> get_strings(std::string_view key) const;

  struct Impl;

 private:
  HfConfig();
  std::unique_ptr<Impl> impl_;
};

// model.safetensors.index.json: {"metadata": {...}, "weight_map": {"tensor": "shard file"}}.
// Shard names must be plain file names inside the model directory (no '/', no "..").
struct HfWeightIndex {
  std::map<std::string, std::string> weight_map;  // tensor name -> shard file name
  std::vector<std::string> shards;                // distinct shard names, sorted
};
Result<HfWeightIndex> parse_hf_weight_index(std::string_view text, std::string_view origin);

}  // namespace fragua::format
