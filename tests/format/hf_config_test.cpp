// SPDX-License-Identifier: Apache-2.0
// format::HfConfig and parse_hf_weight_index on config.json / index texts written here.
#include "fragua/format/hf_config.h"

#include <cmath>

#include <gtest/gtest.h>

namespace fragua::format {
namespace {

constexpr const char* kLlama = R"({"architectures": ["LlamaForCausalLM"], "vocab_size": 32000, "hidden_size": 4096,
  "intermediate_size": 11008, "num_hidden_layers": 32, "num_attention_heads": 32, "rms_norm_eps": 1e-6,
  "max_position_embeddings": 4096, "rope_scaling": null, "torch_dtype": "bfloat16"})";

std::string err(const Result<HfConfig>& r) { return r.ok() ? "" : r.error().message(); }

TEST(HfConfig, ReadsLlamaKeysWithTransformersDefaults) {
  auto c = HfConfig::parse(kLlama, "config.json");
  ASSERT_TRUE(c.ok()) << err(c);
  const auto& hp = c->hparams();
  EXPECT_EQ(c->architecture(), "LlamaForCausalLM");
  EXPECT_EQ(hp.n_vocab, 32000);
  EXPECT_EQ(hp.n_head_kv, 32);  // num_key_value_heads absent: multi-head attention
  EXPECT_EQ(hp.head_dim, 128);  // hidden_size / num_attention_heads
  EXPECT_EQ(hp.n_rot, 128);
  EXPECT_FLOAT_EQ(hp.rms_eps, 1e-6f);
  EXPECT_FLOAT_EQ(hp.rope_theta, 10000.0f);  // LlamaConfig's default
  EXPECT_FALSE(hp.tied_output);
  EXPECT_EQ(hp.rope_scaling, RopeScaling::none);
  EXPECT_TRUE(c->rope_freqs().empty());
  EXPECT_EQ(*c->get_string("torch_dtype", ""), "bfloat16");
  EXPECT_FALSE(c->get_number("torch_dtype", 1, 0, 2).ok());
}

TEST(HfConfig, RopeScalingLinearAndLlama3) {
  std::string linear = kLlama;
  linear.replace(linear.find("\"rope_scaling\": null"), 20, R"("rope_scaling": {"type": "linear", "factor": 4})");
  auto c = HfConfig::parse(linear, "config.json");
  ASSERT_TRUE(c.ok()) << err(c);
  EXPECT_EQ(c->hparams().rope_scaling, RopeScaling::linear);
  EXPECT_FLOAT_EQ(c->hparams().rope_scale_factor, 4.0f);

  // Llama 3.1 8B's values: factors for head_dim 128, theta 5e5 run from 1 (short wavelengths)
  // to 8 (those beyond 8192 positions), monotone in between.
  std::string l3 = kLlama;
  l3.replace(l3.find("\"rope_scaling\": null"), 20,
             R"("rope_theta": 500000.0, "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                 "high_freq_factor": 4.0, "original_max_position_embeddings": 8192})");
  c = HfConfig::parse(l3, "config.json");
  ASSERT_TRUE(c.ok()) << err(c);
  const auto& f = c->rope_freqs();
  ASSERT_EQ(f.size(), 64u);
  EXPECT_FLOAT_EQ(f.front(), 1.0f);
  EXPECT_FLOAT_EQ(f.back(), 8.0f);
  for (size_t i = 1; i < f.size(); ++i) EXPECT_GE(f[i], f[i - 1]);
  EXPECT_EQ(c->hparams().rope_scaling, RopeScaling::none);  // the tensor carries it
}

TEST(HfConfig, ErrorsNameTheFileAndField) {
  struct Bad {
    const char* text;
    const char* needle;
  };
  const Bad cases[] = {
      {"{", "cfg.json"},
      {"[1]", "cfg.json: the top level is not a JSON object"},
      {R"({"vocab_size": 5})", "cfg.json: \"architectures\" is missing"},
      {R"({"architectures": ["A", "B"]})", "\"architectures\" must be a list of one name"},
      {R"({"architectures": ["A"], "vocab_size": 5, "hidden_size": 8, "num_hidden_layers": 1,
           "num_attention_heads": 3, "intermediate_size": 8})",
       "\"hidden_size\" 8 is not a multiple of \"num_attention_heads\" 3"},
      {R"({"architectures": ["A"], "vocab_size": 5.5})", "\"vocab_size\""},
      {R"({"architectures": ["A"], "vocab_size": 5, "hidden_size": 8, "num_hidden_layers": 1,
           "num_attention_heads": 2, "intermediate_size": 8, "head_dim": 3})",
       "\"head_dim\" 3 is odd"},
      {R"({"architectures": ["A"], "hidden_act": "gelu"})", "\"hidden_act\" 'gelu' is not supported"},
      {R"({"architectures": ["A"], "vocab_size": 5, "hidden_size": 8, "num_hidden_layers": 1,
           "num_attention_heads": 2, "intermediate_size": 8, "rope_theta": 1e999})",
       "cfg.json"},
      {R"({"architectures": ["A"], "vocab_size": 5, "hidden_size": 8, "num_hidden_layers": 1,
           "num_attention_heads": 2, "intermediate_size": 8, "rope_scaling": {"rope_type": "llama3",
           "low_freq_factor": 4, "high_freq_factor": 1}})",
       "high_freq_factor 1 must exceed low_freq_factor 4"},
      // Positive as a double, 0 as the float32 the GGUF stores (found by hf_config_fuzz).
      {R"({"architectures": ["A"], "vocab_size": 5, "hidden_size": 8, "num_hidden_layers": 1,
           "num_attention_heads": 2, "intermediate_size": 8, "rms_norm_eps": 1e-61})",
       "\"rms_norm_eps\" = 1e-61 is too small for a 32-bit float"},
  };
  for (const Bad& b : cases) {
    auto r = HfConfig::parse(b.text, "cfg.json");
    ASSERT_FALSE(r.ok()) << b.text;
    EXPECT_NE(err(r).find(b.needle), std::string::npos) << err(r);
  }
}

TEST(HfWeightIndex, ShardsAreFileNamesInTheDirectory) {
  auto idx = parse_hf_weight_index(R"({"metadata": {}, "weight_map": {"a": "s2.safetensors", "b": "s1.safetensors",
                                       "c": "s2.safetensors"}})",
                                   "index.json");
  ASSERT_TRUE(idx.ok());
  EXPECT_EQ(idx->shards, (std::vector<std::string>{"s1.safetensors", "s2.safetensors"}));
  EXPECT_EQ(idx->weight_map.at("b"), "s1.safetensors");
  for (const char* bad :
       {R"({"weight_map": {"a": "../x"}})", R"({"weight_map": {"a": "/etc/passwd"}})", R"({"weight_map": {"a": ".."}})",
        R"({"weight_map": {"a": 3}})", R"({"weight_map": {}})", R"({"metadata": {}})"}) {
    auto r = parse_hf_weight_index(bad, "index.json");
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().message().rfind("index.json: ", 0), 0u) << r.error().message();
  }
}

}  // namespace
}  // namespace fragua::format
