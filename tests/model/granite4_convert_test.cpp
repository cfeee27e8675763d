// SPDX-License-Identifier: Apache-2.0
// fragua convert of transformers' GraniteMoeForCausalLM layout: a random granitemoe GGUF is
// written out as the checkpoint transformers would save (the experts' gate and up fused in
// input_linear, gate first; the router under router.layer; Q/K rows in rotate-half order), then
// converted back. Every tensor must come back bit for bit and the logits must be equal: the
// names, the split of the fused projections and the config.json keys are then those of the file.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "fragua/base/file.h"
#include "fragua/format/gguf.h"
#include "fragua/format/safetensors.h"
#include "fragua/model/convert.h"
#include "fragua/model/model.h"
#include "fragua/model/random_model.h"
#include "test_util.h"

namespace fragua::model {
namespace {

namespace fs = std::filesystem;

std::string granite_hf_fixture(const std::string& name) {
  return test::source_dir() + "/tests/reference/model/hf/" + name;
}

// The GGUF tensor as floats (the test writes f32 files).
std::vector<float> gguf_floats(const format::GgufFile& g, const std::string& name) {
  const format::GgufTensorInfo* t = g.find_tensor(name);
  EXPECT_NE(t, nullptr) << name;
  if (t == nullptr) return {};
  std::vector<float> v(static_cast<size_t>(t->n_elements()));
  std::memcpy(v.data(), t->data, v.size() * 4);
  return v;
}

// Rows of a GGUF Q/K matrix back into transformers' rotate-half order (inverse of the converter's
// permutation: GGUF row 2i + j of a head is HF row j * d/2 + i).
std::vector<float> unpermute_rows(const std::vector<float>& w, int64_t n_rows, int64_t n_cols, int64_t n_head) {
  std::vector<float> out(w.size());
  const int64_t d = n_rows / n_head;
  for (int64_t h = 0; h < n_head; ++h)
    for (int64_t k = 0; k < d; ++k) {
      const int64_t hf_row = h * d + (k % 2) * (d / 2) + k / 2;
      std::memcpy(out.data() + hf_row * n_cols, w.data() + (h * d + k) * n_cols, static_cast<size_t>(n_cols) * 4);
    }
  return out;
}

// [E][F][D] gate and up -> [E][2F][D], gate first.
std::vector<float> fuse_halves(const std::vector<float>& gate, const std::vector<float>& up, int64_t E, int64_t F,
                               int64_t D) {
  std::vector<float> out(gate.size() * 2);
  for (int64_t e = 0; e < E; ++e) {
    std::memcpy(out.data() + e * 2 * F * D, gate.data() + e * F * D, static_cast<size_t>(F * D) * 4);
    std::memcpy(out.data() + (e * 2 + 1) * F * D, up.data() + e * F * D, static_cast<size_t>(F * D) * 4);
  }
  return out;
}

std::vector<float> last_logits(const Model& m, const std::vector<int32_t>& tokens) {
  ContextParams p;
  p.n_ctx = 32;
  p.n_threads = 1;
  auto ctx = Context::create(m, p);
  EXPECT_TRUE(ctx.ok());
  if (!ctx.ok()) return {};
  auto logits = (*ctx)->decode(tokens, /*all_logits=*/true);
  EXPECT_TRUE(logits.ok()) << logits.error().to_string();
  return logits.ok() ? std::vector<float>(logits->begin(), logits->end()) : std::vector<float>{};
}

TEST(Granite4Convert, GraniteMoeCheckpointComesBackAsTheSameTensorsAndLogits) {
  test::TempDir dir;
  // The vocabulary of the granite_tied fixture, whose tokenizer files the checkpoint reuses.
  RandomModelSpec spec;
  spec.arch = "granitemoe";
  spec.n_vocab = 299;
  spec.n_embd = 32;
  spec.n_layer = 2;
  spec.n_head = 4;
  spec.n_head_kv = 2;
  spec.n_ff = 48;
  spec.n_ctx = 512;
  spec.tied_output = true;
  spec.n_expert = 4;
  spec.n_expert_used = 2;
  spec.n_ff_shexp = 24;
  spec.seed = 11;
  const std::string ref_path = dir.file("ref.gguf");
  ASSERT_TRUE(write_random_model(spec, ref_path).ok());
  auto ref = format::GgufFile::open(ref_path);
  ASSERT_TRUE(ref.ok()) << ref.error().to_string();
  const format::GgufFile& g = *ref;

  const int64_t E = spec.n_embd, V = spec.n_vocab, F = spec.n_ff, NE = spec.n_expert, S = spec.n_ff_shexp;
  const int64_t hd = E / spec.n_head;
  std::vector<std::vector<float>> keep;  // the data stays alive until the writer has written
  format::SafetensorsWriter w;
  auto add = [&](const std::string& name, std::vector<int64_t> shape, std::vector<float> data) {
    keep.push_back(std::move(data));
    ASSERT_TRUE(w.add_tensor(name, "F32", std::move(shape), keep.back().data(), keep.back().size() * 4).ok()) << name;
  };
  add("model.embed_tokens.weight", {V, E}, gguf_floats(g, "token_embd.weight"));
  add("model.norm.weight", {E}, gguf_floats(g, "output_norm.weight"));
  for (int64_t l = 0; l < spec.n_layer; ++l) {
    const std::string b = "blk." + std::to_string(l) + ".", h = "model.layers." + std::to_string(l) + ".";
    add(h + "input_layernorm.weight", {E}, gguf_floats(g, b + "attn_norm.weight"));
    add(h + "self_attn.q_proj.weight", {E, E},
        unpermute_rows(gguf_floats(g, b + "attn_q.weight"), E, E, spec.n_head));
    add(h + "self_attn.k_proj.weight", {spec.n_head_kv * hd, E},
        unpermute_rows(gguf_floats(g, b + "attn_k.weight"), spec.n_head_kv * hd, E, spec.n_head_kv));
    add(h + "self_attn.v_proj.weight", {spec.n_head_kv * hd, E}, gguf_floats(g, b + "attn_v.weight"));
    add(h + "self_attn.o_proj.weight", {E, E}, gguf_floats(g, b + "attn_output.weight"));
    add(h + "post_attention_layernorm.weight", {E}, gguf_floats(g, b + "ffn_norm.weight"));
    add(h + "block_sparse_moe.router.layer.weight", {NE, E}, gguf_floats(g, b + "ffn_gate_inp.weight"));
    add(h + "block_sparse_moe.input_linear.weight", {NE, 2 * F, E},
        fuse_halves(gguf_floats(g, b + "ffn_gate_exps.weight"), gguf_floats(g, b + "ffn_up_exps.weight"), NE, F, E));
    add(h + "block_sparse_moe.output_linear.weight", {NE, E, F}, gguf_floats(g, b + "ffn_down_exps.weight"));
    add(h + "shared_mlp.input_linear.weight", {2 * S, E},
        fuse_halves(gguf_floats(g, b + "ffn_gate_shexp.weight"), gguf_floats(g, b + "ffn_up_shexp.weight"), 1, S, E));
    add(h + "shared_mlp.output_linear.weight", {E, S}, gguf_floats(g, b + "ffn_down_shexp.weight"));
  }
  const std::string hf_dir = dir.file("hf");
  fs::create_directories(hf_dir);
  ASSERT_TRUE(w.write(hf_dir + "/model.safetensors").ok());
  for (const char* f : {"tokenizer.json", "tokenizer_config.json"})
    fs::copy(granite_hf_fixture("granite_tied/") + f, hf_dir + "/" + f);

  auto ref_model = Model::load(ref_path);
  ASSERT_TRUE(ref_model.ok()) << ref_model.error().to_string();
  const ModelConfig& rc = (*ref_model)->config();
  nlohmann::json cfg = nlohmann::json::parse(*read_file(granite_hf_fixture("granite_tied/config.json")));
  cfg["architectures"] = {"GraniteMoeForCausalLM"};
  cfg["model_type"] = "granitemoe";
  cfg["intermediate_size"] = F;
  cfg["num_local_experts"] = NE;
  cfg["num_experts_per_tok"] = spec.n_expert_used;
  cfg["shared_intermediate_size"] = S;
  cfg["rms_norm_eps"] = rc.rms_eps;
  cfg["rope_theta"] = spec.rope_theta;
  cfg["embedding_multiplier"] = rc.embedding_scale;
  cfg["attention_multiplier"] = rc.attention_scale;
  cfg["residual_multiplier"] = rc.residual_scale;
  cfg["logits_scaling"] = rc.logit_scale;
  ASSERT_TRUE(write_file_atomic(hf_dir + "/config.json", cfg.dump(2)).ok());

  ConvertOptions o;
  o.out_type = OutType::f32;
  o.progress = false;
  const std::string out_path = dir.file("converted.gguf");
  auto report = convert_hf(hf_dir, out_path, o);
  ASSERT_TRUE(report.ok()) << report.error().to_string();
  EXPECT_EQ(report->architecture, "granitemoe");

  auto out = format::GgufFile::open(out_path);
  ASSERT_TRUE(out.ok()) << out.error().to_string();
  EXPECT_EQ(out->tensors().size(), g.tensors().size());
  for (const auto& t : g.tensors()) {
    const format::GgufTensorInfo* c = out->find_tensor(t.name);
    ASSERT_NE(c, nullptr) << t.name << " is not in the converted file";
    ASSERT_EQ(c->ne, t.ne) << t.name;
    ASSERT_EQ(c->n_bytes, t.n_bytes) << t.name;
    EXPECT_EQ(std::memcmp(c->data, t.data, t.n_bytes), 0) << t.name << " differs";
  }

  auto conv_model = Model::load(out_path);
  ASSERT_TRUE(conv_model.ok()) << conv_model.error().to_string();
  const ModelConfig& cc = (*conv_model)->config();
  EXPECT_EQ(cc.n_expert, rc.n_expert);
  EXPECT_EQ(cc.n_expert_used, rc.n_expert_used);
  EXPECT_EQ(cc.n_ff_shexp, rc.n_ff_shexp);
  const std::vector<int32_t> tokens = {1, 17, 250, 3, 98, 42};
  const auto want = last_logits(**ref_model, tokens), got = last_logits(**conv_model, tokens);
  ASSERT_EQ(got.size(), tokens.size() * static_cast<size_t>(V));
  EXPECT_EQ(got, want);
}

// GraniteMoeHybridForCausalLM: Mamba-2 and attention layers as layer_types says, A stored as
// A_log (so A = -exp(A_log) comes back within an ulp or so, and the logits within rounding),
// conv1d as [channels, 1, kernel], no RoPE (position_embedding_type "nope").
TEST(Granite4Convert, GraniteMoeHybridCheckpointComesBackAsTheSameModel) {
  test::TempDir dir;
  RandomModelSpec spec;
  spec.arch = "granitehybrid";
  spec.n_vocab = 299;
  spec.n_embd = 32;
  spec.n_layer = 3;
  spec.n_head = 4;
  spec.n_head_kv = 2;
  spec.n_ff = 48;
  spec.n_ctx = 512;
  spec.tied_output = true;
  spec.n_expert = 4;
  spec.n_expert_used = 2;
  spec.n_ff_shexp = 24;
  spec.ssm_n_head = 4;
  spec.ssm_d_state = 16;
  spec.layers = "mam";
  spec.rope = false;
  spec.seed = 12;
  const std::string ref_path = dir.file("ref.gguf");
  ASSERT_TRUE(write_random_model(spec, ref_path).ok());
  auto ref = format::GgufFile::open(ref_path);
  ASSERT_TRUE(ref.ok()) << ref.error().to_string();
  const format::GgufFile& g = *ref;
  auto ref_model = Model::load(ref_path);
  ASSERT_TRUE(ref_model.ok()) << ref_model.error().to_string();
  const ModelConfig& rc = (*ref_model)->config();

  const int64_t E = spec.n_embd, V = spec.n_vocab, F = spec.n_ff, NE = spec.n_expert, S = spec.n_ff_shexp;
  const int64_t hd = E / spec.n_head, DI = rc.ssm_d_inner, H = rc.ssm_n_head, C = rc.ssm_conv_channels(),
                K = rc.ssm_d_conv;
  std::vector<std::vector<float>> keep;
  format::SafetensorsWriter w;
  auto add = [&](const std::string& name, std::vector<int64_t> shape, std::vector<float> data) {
    keep.push_back(std::move(data));
    ASSERT_TRUE(w.add_tensor(name, "F32", std::move(shape), keep.back().data(), keep.back().size() * 4).ok()) << name;
  };
  add("model.embed_tokens.weight", {V, E}, gguf_floats(g, "token_embd.weight"));
  add("model.norm.weight", {E}, gguf_floats(g, "output_norm.weight"));
  nlohmann::json layer_types = nlohmann::json::array();
  for (int64_t l = 0; l < spec.n_layer; ++l) {
    const std::string b = "blk." + std::to_string(l) + ".", h = "model.layers." + std::to_string(l) + ".";
    add(h + "input_layernorm.weight", {E}, gguf_floats(g, b + "attn_norm.weight"));
    if (rc.is_recurrent(l)) {
      layer_types.push_back("mamba");
      add(h + "mamba.in_proj.weight", {rc.ssm_in_rows(), E}, gguf_floats(g, b + "ssm_in.weight"));
      add(h + "mamba.conv1d.weight", {C, 1, K}, gguf_floats(g, b + "ssm_conv1d.weight"));
      add(h + "mamba.conv1d.bias", {C}, gguf_floats(g, b + "ssm_conv1d.bias"));
      add(h + "mamba.dt_bias", {H}, gguf_floats(g, b + "ssm_dt.bias"));
      std::vector<float> a_log = gguf_floats(g, b + "ssm_a");
      for (float& a : a_log) a = static_cast<float>(std::log(-static_cast<double>(a)));
      add(h + "mamba.A_log", {H}, a_log);
      add(h + "mamba.D", {H}, gguf_floats(g, b + "ssm_d"));
      add(h + "mamba.norm.weight", {DI}, gguf_floats(g, b + "ssm_norm.weight"));
      add(h + "mamba.out_proj.weight", {E, DI}, gguf_floats(g, b + "ssm_out.weight"));
    } else {
      layer_types.push_back("attention");
      add(h + "self_attn.q_proj.weight", {E, E},
          unpermute_rows(gguf_floats(g, b + "attn_q.weight"), E, E, spec.n_head));
      add(h + "self_attn.k_proj.weight", {spec.n_head_kv * hd, E},
          unpermute_rows(gguf_floats(g, b + "attn_k.weight"), spec.n_head_kv * hd, E, spec.n_head_kv));
      add(h + "self_attn.v_proj.weight", {spec.n_head_kv * hd, E}, gguf_floats(g, b + "attn_v.weight"));
      add(h + "self_attn.o_proj.weight", {E, E}, gguf_floats(g, b + "attn_output.weight"));
    }
    add(h + "post_attention_layernorm.weight", {E}, gguf_floats(g, b + "ffn_norm.weight"));
    add(h + "block_sparse_moe.router.layer.weight", {NE, E}, gguf_floats(g, b + "ffn_gate_inp.weight"));
    add(h + "block_sparse_moe.input_linear.weight", {NE, 2 * F, E},
        fuse_halves(gguf_floats(g, b + "ffn_gate_exps.weight"), gguf_floats(g, b + "ffn_up_exps.weight"), NE, F, E));
    add(h + "block_sparse_moe.output_linear.weight", {NE, E, F}, gguf_floats(g, b + "ffn_down_exps.weight"));
    add(h + "shared_mlp.input_linear.weight", {2 * S, E},
        fuse_halves(gguf_floats(g, b + "ffn_gate_shexp.weight"), gguf_floats(g, b + "ffn_up_shexp.weight"), 1, S, E));
    add(h + "shared_mlp.output_linear.weight", {E, S}, gguf_floats(g, b + "ffn_down_shexp.weight"));
  }
  const std::string hf_dir = dir.file("hf");
  fs::create_directories(hf_dir);
  ASSERT_TRUE(w.write(hf_dir + "/model.safetensors").ok());
  for (const char* f : {"tokenizer.json", "tokenizer_config.json"})
    fs::copy(granite_hf_fixture("granite_tied/") + f, hf_dir + "/" + f);
  nlohmann::json cfg = nlohmann::json::parse(*read_file(granite_hf_fixture("granite_tied/config.json")));
  cfg["architectures"] = {"GraniteMoeHybridForCausalLM"};
  cfg["model_type"] = "granitemoehybrid";
  cfg["num_hidden_layers"] = spec.n_layer;
  cfg["intermediate_size"] = F;
  cfg["num_local_experts"] = NE;
  cfg["num_experts_per_tok"] = spec.n_expert_used;
  cfg["shared_intermediate_size"] = S;
  cfg["layer_types"] = layer_types;
  cfg["mamba_n_heads"] = H;
  cfg["mamba_n_groups"] = rc.ssm_n_group;
  cfg["mamba_d_state"] = rc.ssm_d_state;
  cfg["mamba_d_conv"] = K;
  cfg["mamba_expand"] = DI / E;
  cfg["mamba_d_head"] = "auto";
  cfg["position_embedding_type"] = "nope";
  cfg["rms_norm_eps"] = rc.rms_eps;
  cfg["embedding_multiplier"] = rc.embedding_scale;
  cfg["attention_multiplier"] = rc.attention_scale;
  cfg["residual_multiplier"] = rc.residual_scale;
  cfg["logits_scaling"] = rc.logit_scale;
  ASSERT_TRUE(write_file_atomic(hf_dir + "/config.json", cfg.dump(2)).ok());

  ConvertOptions o;
  o.out_type = OutType::f32;
  o.progress = false;
  const std::string out_path = dir.file("converted.gguf");
  auto report = convert_hf(hf_dir, out_path, o);
  ASSERT_TRUE(report.ok()) << report.error().to_string();
  EXPECT_EQ(report->architecture, "granitehybrid");
  auto out = format::GgufFile::open(out_path);
  ASSERT_TRUE(out.ok()) << out.error().to_string();
  EXPECT_EQ(out->tensors().size(), g.tensors().size());
  for (const auto& t : g.tensors()) {
    const format::GgufTensorInfo* c = out->find_tensor(t.name);
    ASSERT_NE(c, nullptr) << t.name << " is not in the converted file";
    ASSERT_EQ(c->ne, t.ne) << t.name;
    if (t.name.ends_with("ssm_a")) {
      const auto a = gguf_floats(g, t.name), b = gguf_floats(*out, t.name);
      for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(b[i], a[i], 4e-7 * std::fabs(a[i])) << t.name;
      continue;
    }
    EXPECT_EQ(std::memcmp(c->data, t.data, t.n_bytes), 0) << t.name << " differs";
  }
  auto conv_model = Model::load(out_path);
  ASSERT_TRUE(conv_model.ok()) << conv_model.error().to_string();
  const ModelConfig& cc = (*conv_model)->config();
  EXPECT_EQ(cc.recurrent_layer, rc.recurrent_layer);
  EXPECT_EQ(cc.use_rope, rc.use_rope);
  EXPECT_EQ(cc.ssm_d_inner, rc.ssm_d_inner);
  EXPECT_EQ(cc.ssm_n_head, rc.ssm_n_head);
  EXPECT_EQ(cc.ssm_d_state, rc.ssm_d_state);
  const std::vector<int32_t> tokens = {1, 17, 250, 3, 98, 42};
  const auto want = last_logits(**ref_model, tokens), got = last_logits(**conv_model, tokens);
  ASSERT_EQ(got.size(), want.size());
  double mx = 0, err = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    mx = std::max(mx, std::fabs(static_cast<double>(want[i])));
    err = std::max(err, std::fabs(static_cast<double>(got[i]) - want[i]));
  }
  EXPECT_LT(err, 1e-5 * mx) << "A from A_log moved the logits by more than rounding";
}

// A GraniteMoe config.json without its expert count names the key.
TEST(Granite4Convert, GraniteMoeWithoutExpertCountNamesTheKey) {
  test::TempDir dir;
  const std::string hf_dir = dir.file("hf");
  fs::copy(granite_hf_fixture("granite_tied"), hf_dir, fs::copy_options::recursive);
  nlohmann::json cfg = nlohmann::json::parse(*read_file(hf_dir + "/config.json"));
  cfg["architectures"] = {"GraniteMoeForCausalLM"};
  ASSERT_TRUE(write_file_atomic(hf_dir + "/config.json", cfg.dump()).ok());
  ConvertOptions o;
  o.progress = false;
  auto r = convert_hf(hf_dir, dir.file("out.gguf"), o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("config.json: \"num_local_experts\" is missing"), std::string::npos)
      << r.error().message();
  EXPECT_FALSE(fs::exists(dir.file("out.gguf")));
}

}  // namespace
}  // namespace fragua::model
