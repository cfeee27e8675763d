// SPDX-License-Identifier: Apache-2.0
// Small models with seeded random weights, written as GGUF: fixtures for the reference tests
// (tests/reference/model/) and the benchmarks against llama.cpp. The vocabulary is a complete
// SentencePiece-style table (<unk>, <s>, </s>, 256 byte tokens, then synthetic pieces), enough
// for any GGUF loader to accept the file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "fragua/base/error.h"
#include "fragua/tensor/dtype.h"

namespace fragua::model {

struct RandomModelSpec {
  std::string arch = "llama";  // a registered architecture: llama, granite, granitemoe, granitehybrid, qwen2
  int64_t n_vocab = 512;
  int64_t n_embd = 64;
  int64_t n_layer = 2;
  int64_t n_head = 4;
  int64_t n_head_kv = 2;
  int64_t n_ff = 192;
  int64_t n_ctx = 256;
  float rope_theta = 10000.0f;
  bool llama3_rope = false;  // write rope_freqs.weight from the Llama 3.1 scaling rule
  bool tied_output = false;
  DType dtype = DType::f32;  // of the 2-D weight matrices (norms stay f32)
  float init_std = 0.02f;
  // false: the embeddings and output head are drawn at 20x init_std and the Q/K/V, gate and up
  // projections at 4x, so that small reference models have peaked attention and large logits (a
  // sensitive test). Such models are chaotic: a change in the last bit of one sum can change the
  // greedy continuation. true: every matrix is N(0, init_std), as Llama and GPT-2 initialise,
  // which keeps the network in its ordered regime like a trained model (bench/engine.py uses it).
  bool plain_init = false;
  uint64_t seed = 1;
  // granite multipliers
  float embedding_scale = 12.0f, attention_scale = 0.0078125f, residual_scale = 0.22f, logit_scale = 8.0f;
  // Mixture of experts (granitemoe, granitehybrid): n_ff is each expert's width. granitemoe with
  // n_expert 0 gets 4 experts, 2 used.
  int64_t n_expert = 0, n_expert_used = 0, n_ff_shexp = 0;
  // Mamba-2 (granitehybrid): the inner width is 2 n_embd (as llama.cpp requires), heads of
  // d_inner / ssm_n_head channels. `layers`: one letter per layer, 'm' Mamba-2 or 'a' attention;
  // empty: Mamba layers with every fourth one attention ("mmma..."; below four layers the last).
  int64_t ssm_d_conv = 4, ssm_d_state = 16, ssm_n_head = 8, ssm_n_group = 1;
  std::string layers;
  bool rope = true;  // granitehybrid: false writes rope.scaling.finetuned = false (no RoPE)
};

Status write_random_model(const RandomModelSpec& spec, const std::string& path);

// Llama 3.1 frequency scaling (factor 8, low 1, high 4, original context 8192): the per-pair
// divisor of theta that llama.cpp stores as rope_freqs.weight.
std::vector<float> llama3_rope_factors(int64_t n_rot, float theta, float factor = 8.0f, float low_freq_factor = 1.0f,
                                       float high_freq_factor = 4.0f, int64_t original_ctx = 8192);

}  // namespace fragua::model
