// SPDX-License-Identifier: Apache-2.0
// `fragua dev ...`: tools for developers and benchmarks (random-weight models).
#include <memory>

#include "cli/command.h"
#include "fragua/model/random_model.h"

namespace fragua::cli {
namespace FRAGUA_CMD_NS {

void setup(CLI::App& root) {
  auto* dev = root.add_subcommand("dev", "Developer tools: fixtures for tests and benchmarks");
  dev->require_subcommand(1);
  auto* rm = dev->add_subcommand("random-model", "Write a GGUF model with seeded random weights");
  auto spec = std::make_shared<model::RandomModelSpec>();
  auto out = std::make_shared<std::string>();
  auto dtype = std::make_shared<std::string>("f32");
  rm->add_option("output", *out, "Output .gguf path")->required();
  rm->add_option("--arch", spec->arch, "llama, granite, granitemoe, granitehybrid or qwen2")->capture_default_str();
  rm->add_option("--vocab", spec->n_vocab, "Vocabulary size")->capture_default_str();
  rm->add_option("--embd", spec->n_embd, "Embedding width")->capture_default_str();
  rm->add_option("--layers", spec->n_layer, "Blocks")->capture_default_str();
  rm->add_option("--heads", spec->n_head, "Attention heads")->capture_default_str();
  rm->add_option("--kv-heads", spec->n_head_kv, "Key/value heads (GQA)")->capture_default_str();
  rm->add_option("--ff", spec->n_ff, "Feed-forward width")->capture_default_str();
  rm->add_option("--ctx", spec->n_ctx, "Training context length")->capture_default_str();
  rm->add_option("--rope-theta", spec->rope_theta, "RoPE base")->capture_default_str();
  rm->add_flag("--llama3-rope", spec->llama3_rope, "Write Llama 3.1 rope_freqs.weight");
  rm->add_flag("--tied", spec->tied_output, "Tie the output head to the embeddings");
  rm->add_option("--dtype", *dtype, "Weight dtype: f32, f16, bf16, q8_0, q4_0, q4_k")->capture_default_str();
  rm->add_option("--std", spec->init_std, "Initialisation standard deviation")->capture_default_str();
  rm->add_flag("--plain-init", spec->plain_init,
               "Every matrix N(0, std) as Llama initialises (default: amplified embeddings and projections)");
  rm->add_option("--seed", spec->seed, "Random seed")->capture_default_str();
  rm->add_option("--experts", spec->n_expert, "Experts (granitemoe: 0 means 4; granitehybrid: 0 is a dense FFN)")
      ->capture_default_str();
  rm->add_option("--experts-used", spec->n_expert_used, "Experts per token (0: min(2, experts))")
      ->capture_default_str();
  rm->add_option("--shared-ff", spec->n_ff_shexp, "Shared expert width (0: none)")->capture_default_str();
  rm->add_option("--ssm-state", spec->ssm_d_state, "Mamba-2 state size")->capture_default_str();
  rm->add_option("--ssm-heads", spec->ssm_n_head, "Mamba-2 heads (of 2 embd / heads channels)")->capture_default_str();
  rm->add_option("--ssm-groups", spec->ssm_n_group, "Mamba-2 groups of B and C")->capture_default_str();
  rm->add_option("--ssm-conv", spec->ssm_d_conv, "Mamba-2 convolution kernel")->capture_default_str();
  rm->add_option("--layer-types", spec->layers, "granitehybrid: one letter a (attention) or m (Mamba-2) per layer");
  rm->add_flag("--rope,!--no-rope", spec->rope, "granitehybrid: no RoPE in the attention layers (Granite 4.0-H)");
  rm->callback([spec, out, dtype] {
    auto d = dtype_from_name(*dtype);
    if (!d) throw Failure{invalid_argument_error("unknown dtype '{}'", *dtype)};
    spec->dtype = *d;
    check(model::write_random_model(*spec, *out));
  });
}

Registrar reg(setup);

}  // namespace
}  // namespace fragua::cli
