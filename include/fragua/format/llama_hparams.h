// SPDX-License-Identifier: Apache-2.0
// The hyper-parameters of the Llama family of decoders (Llama, Granite, and the variants that
// llama.cpp reads with the same keys) and their GGUF keys, named once for inference (model/) and
// training (train/): both reach format/, neither reaches the other. Keys are llama.cpp's, under
// the architecture's prefix: "llama.embedding_length", "granite.residual_scale", ...
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "fragua/base/error.h"
#include "fragua/format/gguf.h"

namespace fragua::format {

enum class RopeScaling { none, linear };  // llama3-style scaling arrives as rope_freqs.weight

struct LlamaHParams {
  int64_t n_vocab = 0;      // rows of token_embd.weight; written as {arch}.vocab_size
  int64_t n_ctx_train = 0;  // {arch}.context_length: the longest sequence trained on
  int64_t n_embd = 0;
  int64_t n_layer = 0;
  int64_t n_head = 0;
  int64_t n_head_kv = 0;
  int64_t n_ff = 0;
  int64_t head_dim = 0;  // {arch}.attention.key_length, n_embd / n_head when absent
  int64_t n_rot = 0;     // {arch}.rope.dimension_count, head_dim when absent
  float rms_eps = 1e-5f;
  float rope_theta = 10000.0f;
  RopeScaling rope_scaling = RopeScaling::none;
  float rope_scale_factor = 1.0f;
  // Granite's multipliers (llama.cpp's LLM_ARCH_GRANITE); 1 (and attention_scale 0, meaning
  // 1/sqrt(head_dim)) for plain llama.
  float embedding_scale = 1.0f;
  float attention_scale = 0.0f;
  float residual_scale = 1.0f;
  float logit_scale = 1.0f;  // logits are divided by this
  bool tied_output = false;  // the output head is token_embd.weight (no output.weight tensor)
  // Mixture of experts (granitemoe, granitehybrid; read_moe_hparams): n_ff is then each expert's
  // width. 0 experts: a dense FFN.
  int64_t n_expert = 0, n_expert_used = 0;
  int64_t n_ff_shexp = 0;  // the shared expert's width; 0: none
  // Mamba-2 layers (granitehybrid; read_ssm_hparams): conv kernel, inner width (x and z), state
  // size, heads (llama.cpp's ssm.time_step_rank), groups of B and C.
  int64_t ssm_d_conv = 0, ssm_d_inner = 0, ssm_d_state = 0, ssm_n_head = 0, ssm_n_group = 0;
  // The layers whose attention.head_count_kv entry is 0 when that key is an array (llama.cpp's
  // mark of a recurrent layer in hybrid models); empty: every layer is attention.
  std::vector<bool> recurrent_layer;
  bool use_rope = true;  // {arch}.rope.scaling.finetuned: Granite 4.0-H's attention has no RoPE

  bool is_recurrent(int64_t layer) const {
    return static_cast<size_t>(layer) < recurrent_layer.size() && recurrent_layer[static_cast<size_t>(layer)];
  }
  bool has_recurrent() const;
  int64_t ssm_head_dim() const { return ssm_n_head > 0 ? ssm_d_inner / ssm_n_head : 0; }
  // Channels of the Mamba-2 convolution: x, B and C.
  int64_t ssm_conv_channels() const { return ssm_d_inner + 2 * ssm_n_group * ssm_d_state; }
  // Rows of ssm_in: z, x, B, C and dt.
  int64_t ssm_in_rows() const { return 2 * ssm_d_inner + 2 * ssm_n_group * ssm_d_state + ssm_n_head; }

  int64_t n_embd_q() const { return n_head * head_dim; }
  int64_t n_embd_kv() const { return n_head_kv * head_dim; }
  // Parameter count from the shapes of the tensor tables (rope_freqs aside): experts, shared
  // expert and Mamba-2 layers included.
  int64_t n_params() const;
};

// Bounds far above any released model (Llama 3.1 405B: n_embd 16384, 126 layers, n_ff 53248,
// 128 heads of 128; contexts of 10M tokens) and low enough that no product of them overflows.
inline constexpr int64_t kMaxEmbd = int64_t{1} << 20;
inline constexpr int64_t kMaxLayers = 4096;
inline constexpr int64_t kMaxFeedForward = int64_t{1} << 22;
inline constexpr int64_t kMaxHeads = 4096;
inline constexpr int64_t kMaxHeadDim = 1024;
inline constexpr int64_t kMaxTrainContext = int64_t{1} << 26;
// Float hyper-parameters: finite, positive and at most these (models use eps 1e-5/1e-6, RoPE
// bases 1e4 to 5e5, linear scaling factors 2 to 32).
inline constexpr double kMaxRmsEps = 1.0;
inline constexpr double kMaxRopeBase = 1e30;
inline constexpr double kMaxRopeScaling = 1e6;

// An integer hyper-parameter in [lo, hi]; absent: `def`, or not_found when there is none.
Result<int64_t> read_int_hparam(const GgufFile& file, const std::string& key, std::optional<int64_t> def, int64_t lo,
                                int64_t hi);
// A float hyper-parameter, finite and in (lo, hi] ([lo, hi] when lo_inclusive); absent: `def`.
Result<float> read_float_hparam(const GgufFile& file, const std::string& key, double def, double lo, double hi,
                                bool lo_inclusive);

// The keys every Llama-family architecture shares. Every value is range-checked and an error
// names the key: a NaN, infinite or negative epsilon or RoPE base would otherwise load and give
// NaN logits. n_vocab and tied_output come from the tensors, not from metadata.
Status read_llama_hparams(const GgufFile& file, std::string_view arch, LlamaHParams& hp);
// Writes what read_llama_hparams reads (and {arch}.vocab_size): u32 integers, f32 floats.
// key_length and the RoPE scaling keys only when they differ from their defaults.
void write_llama_hparams(GgufWriter& writer, std::string_view arch, const LlamaHParams& hp);

// Mixture-of-experts keys: {arch}.expert_count (1..kMaxExperts), expert_used_count (1..count),
// expert_shared_feed_forward_length (optional, 0). Absent expert_count: a dense model.
inline constexpr int64_t kMaxExperts = 1024;
Status read_moe_hparams(const GgufFile& file, std::string_view arch, LlamaHParams& hp);
void write_moe_hparams(GgufWriter& writer, std::string_view arch, const LlamaHParams& hp);
// Mamba-2 keys: {arch}.ssm.conv_kernel, inner_size, state_size, time_step_rank (heads),
// group_count, each required and range-checked (heads and groups divide the inner size), and
// rope.scaling.finetuned (bool, default true).
Status read_ssm_hparams(const GgufFile& file, std::string_view arch, LlamaHParams& hp);
void write_ssm_hparams(GgufWriter& writer, std::string_view arch, const LlamaHParams& hp);

// A float key of one architecture (Granite's multipliers): "{arch}.{suffix}", checked as
// read_float_hparam checks, absent = `def`.
struct FloatKey {
  std::string_view suffix;
  float LlamaHParams::*field;
  double def, lo, hi;
  bool lo_inclusive;
};
Status read_float_keys(const GgufFile& file, std::string_view arch, std::span<const FloatKey> keys, LlamaHParams& hp);
void write_float_keys(GgufWriter& writer, std::string_view arch, std::span<const FloatKey> keys,
                      const LlamaHParams& hp);

}  // namespace fragua::format
