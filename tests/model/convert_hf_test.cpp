// SPDX-License-Identifier: Apache-2.0
// `fragua convert` against the Hugging Face directories and float64 logits of
// tests/reference/model/make_hf.py (a plain PyTorch implementation of transformers' Llama and
// Granite with rotate-half RoPE): the converted GGUF, run by model::Model, reproduces them.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <functional>
#include <set>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "fragua/base/file.h"
#include "fragua/format/gguf.h"
#include "fragua/format/safetensors.h"
#include "fragua/model/convert.h"
#include "fragua/model/model.h"
#include "fragua/tensor/half.h"
#include "test_util.h"

namespace fragua::model {
namespace {

namespace fs = std::filesystem;

std::string hf(const std::string& name) { return test::source_dir() + "/tests/reference/model/hf/" + name; }

nlohmann::json reference() { return nlohmann::json::parse(*read_file(hf("reference.json"))); }

std::vector<float> ref_logits(const std::string& model) {
  auto bytes = read_file(hf(model + ".logits.f32"));
  EXPECT_TRUE(bytes.ok());
  std::vector<float> v(bytes->size() / 4);
  std::memcpy(v.data(), bytes->data(), v.size() * 4);
  return v;
}

ConvertOptions quiet(OutType t = OutType::f32) {
  ConvertOptions o;
  o.out_type = t;
  o.progress = false;
  return o;
}

struct ConvertCase {
  const char* model;
  OutType out;
  double tolerance;  // max |ours - ref| / max |ref| over all logits
};

// f32: the checkpoint's values exactly (BF16 and F32 sources; the float64 GGUF reference agrees
// with the Hugging Face one to 0.0, test ConvertHf.IndependentGgufReferenceAgrees), so what is
// left is Fragua's f16 KV cache and f32 arithmetic: measured 6.9e-4 (llama_gqa, O(1) keys and
// values) and 5.0e-6 (granite_tied, residual_multiplier 0.22). bf16 weights: the BF16 matmul
// rounds activations to bf16 too (llama_gqa's weights are bf16 already, yet 5.3e-3). f16: 1.1e-3.
// q8_0: weights and activations in 8 bits, 2.9e-2 (forward_test: 0.72% on its models).
const ConvertCase kConvertCases[] = {
    {"llama_gqa", OutType::f32, 1.5e-3}, {"granite_tied", OutType::f32, 2e-5}, {"llama_gqa", OutType::bf16, 1e-2},
    {"llama_gqa", OutType::f16, 2e-3},   {"granite_tied", OutType::f16, 5e-4}, {"granite_tied", OutType::bf16, 5e-3},
    {"llama_gqa", OutType::q8_0, 4e-2},
    // qwen2: q/k/v biases converted, Q and K rows left in the checkpoint's (NeoX) order; the biases
    // (std 0.5) make keys and values O(1), so the f16 KV cache rounds as in llama_gqa: measured 4.9e-4.
    {"qwen2_tied", OutType::f32, 1e-3},
};

class ConvertHfLogits : public ::testing::TestWithParam<ConvertCase> {};

TEST_P(ConvertHfLogits, MatchTheTransformersReference) {
  const ConvertCase& c = GetParam();
  test::TempDir dir;
  const std::string out = dir.file("m.gguf");
  auto r = convert_hf(hf(c.model), out, quiet(c.out));
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  auto model = Model::load(out);
  ASSERT_TRUE(model.ok()) << model.error().to_string();
  const auto tokens = reference()["tokens"].get<std::vector<int32_t>>();
  const auto ref = ref_logits(c.model);
  const int64_t V = (*model)->config().n_vocab;
  ASSERT_EQ(ref.size(), tokens.size() * static_cast<size_t>(V));
  ContextParams p;
  p.n_ctx = 64;
  auto ctx = Context::create(**model, p);
  ASSERT_TRUE(ctx.ok());
  auto logits = (*ctx)->decode(tokens, /*all_logits=*/true);
  ASSERT_TRUE(logits.ok()) << logits.error().to_string();
  ASSERT_EQ(logits->size(), ref.size());
  double ref_max = 0, max_err = 0;
  size_t argmax_agree = 0;
  for (float x : ref) ref_max = std::max(ref_max, std::fabs(static_cast<double>(x)));
  for (size_t t = 0; t < tokens.size(); ++t) {
    size_t a = 0, b = 0;
    for (size_t v = 0; v < static_cast<size_t>(V); ++v) {
      const size_t i = t * static_cast<size_t>(V) + v;
      max_err = std::max(max_err, std::fabs(static_cast<double>((*logits)[i]) - ref[i]));
      if ((*logits)[i] > (*logits)[t * static_cast<size_t>(V) + a]) a = v;
      if (ref[i] > ref[t * static_cast<size_t>(V) + b]) b = v;
    }
    argmax_agree += a == b;
  }
  std::printf("%s %s: max |error| / max |logit| = %.3g\n", c.model, std::string(out_type_name(c.out)).c_str(),
              max_err / ref_max);
  EXPECT_LE(max_err / ref_max, c.tolerance);
  if (c.out == OutType::f32) EXPECT_EQ(argmax_agree, tokens.size());
}

INSTANTIATE_TEST_SUITE_P(Models, ConvertHfLogits, ::testing::ValuesIn(kConvertCases), [](const auto& info) {
  return std::string(info.param.model) + "_" + std::string(out_type_name(info.param.out));
});

// The permutation by itself: row 2i + j of each head of the GGUF's attn_q/attn_k is row
// j * head_dim/2 + i of the checkpoint's q_proj/k_proj (llama.cpp's LlamaModel.permute).
TEST(ConvertHf, PermutesQAndKRowsPerHead) {
  test::TempDir dir;
  ASSERT_TRUE(convert_hf(hf("llama_gqa"), dir.file("m.gguf"), quiet()).ok());
  auto g = format::GgufFile::open(dir.file("m.gguf"));
  ASSERT_TRUE(g.ok());
  auto st = format::SafetensorsFile::open(hf("llama_gqa/model-00001-of-00002.safetensors"));
  ASSERT_TRUE(st.ok());
  const int64_t E = 64, D = 16;
  for (auto [hf_name, gguf_name, heads] :
       {std::tuple{"model.layers.0.self_attn.q_proj.weight", "blk.0.attn_q.weight", 4},
        std::tuple{"model.layers.0.self_attn.k_proj.weight", "blk.0.attn_k.weight", 2}}) {
    const auto* src = st->find(hf_name);
    const auto* dst = g->find_tensor(gguf_name);
    ASSERT_TRUE(src && dst) << hf_name;
    ASSERT_EQ(dst->ne, (std::vector<int64_t>{E, heads * D}));
    for (int64_t h = 0; h < heads; ++h)
      for (int64_t k = 0; k < D; ++k) {
        const int64_t from = h * D + (k % 2) * (D / 2) + k / 2, to = h * D + k;
        for (int64_t c = 0; c < E; ++c) {
          uint16_t b;
          std::memcpy(&b, src->data + 2 * (from * E + c), 2);
          float f;
          std::memcpy(&f, dst->data + 4 * (to * E + c), 4);
          ASSERT_EQ(f, bf16_to_fp32(b)) << gguf_name << " row " << to << " col " << c;
        }
      }
  }
  // Not permuted: V.
  const auto* v = g->find_tensor("blk.0.attn_v.weight");
  uint16_t b;
  std::memcpy(&b, st->find("model.layers.0.self_attn.v_proj.weight")->data + 2 * (1 * E), 2);
  float f;
  std::memcpy(&f, v->data + 4 * (1 * E), 4);
  EXPECT_EQ(f, bf16_to_fp32(b));
}

// Two independent float64 references agree on the converted file: tests/reference/model/
// llama_ref.py reads the GGUF (GGML's adjacent-pair RoPE, rope_freqs checked against Meta's
// rule) and make_hf.py ran the checkpoint (rotate-half RoPE): equal logits mean the names,
// permutation, keys and rope_freqs carry the model over exactly, whatever Fragua's engine rounds.
TEST(ConvertHf, IndependentGgufReferenceAgrees) {
  if (!test::python_has_torch())
    GTEST_SKIP() << "python3 with torch and numpy (Debian python3-torch, python3-numpy) not available";
  test::TempDir dir;
  const std::vector<std::string> models = {"llama_gqa", "granite_tied", "qwen2_tied"};
  std::string tokens;
  for (int t : reference()["tokens"].get<std::vector<int>>()) tokens += (tokens.empty() ? "" : ",") + std::to_string(t);
  // One run of the reference for the three models (each python start imports torch: seconds).
  std::string args;
  for (const auto& m : models) {
    ASSERT_TRUE(convert_hf(hf(m), dir.file(m + ".gguf"), quiet()).ok()) << m;
    args += " " + dir.file(m + ".gguf") + " " + tokens + " " + dir.file(m + ".f32");
  }
  std::string log;
  ASSERT_EQ(test::run_command(test::python() + " " + test::source_dir() + "/tests/reference/model/llama_ref.py" + args,
                              &log),
            0)
      << log;
  for (const auto& m : models) {
    const auto ours = *read_file(dir.file(m + ".f32"));
    const auto ref = ref_logits(m);
    ASSERT_EQ(ours.size(), ref.size() * 4);
    double max_err = 0, ref_max = 0;
    for (size_t i = 0; i < ref.size(); ++i) {
      float x;
      std::memcpy(&x, ours.data() + 4 * i, 4);
      max_err = std::max(max_err, std::fabs(static_cast<double>(x) - ref[i]));
      ref_max = std::max(ref_max, std::fabs(static_cast<double>(ref[i])));
    }
    EXPECT_LE(max_err / ref_max, 1e-6) << m;  // measured 0 (both float64, rounded to f32 once)
  }
}

TEST(ConvertHf, WritesLlamaCppKeysTypesAndRopeFreqs) {
  test::TempDir dir;
  ASSERT_TRUE(convert_hf(hf("llama_gqa"), dir.file("q.gguf"), quiet(OutType::q8_0)).ok());
  auto g = format::GgufFile::open(dir.file("q.gguf"));
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(*g->get_uint("general.file_type"), 7u);
  EXPECT_EQ(*g->get_uint("llama.attention.head_count_kv"), 2u);
  EXPECT_EQ(*g->get_uint("llama.context_length"), 256u);
  EXPECT_FLOAT_EQ(static_cast<float>(*g->get_float("llama.rope.freq_base")), 500000.0f);
  EXPECT_EQ(g->find_tensor("blk.1.ffn_down.weight")->dtype, DType::q8_0);
  EXPECT_EQ(g->find_tensor("token_embd.weight")->dtype, DType::q8_0);
  EXPECT_EQ(g->find_tensor("output.weight")->dtype, DType::q8_0);
  EXPECT_EQ(g->find_tensor("blk.1.ffn_norm.weight")->dtype, DType::f32);
  // rope_freqs: head_dim 16, theta 5e5, Llama 3.1's factor 8, original context 8192, low/high
  // factors 1, 4: wavelengths 2*pi*theta^(i/16) for i = 0, 2, ...: 6.3, 32.6, 167, 864 (below
  // 8192/4: factor 1), 4443 (between 2048 and 8192: interpolated), the rest beyond 8192 (8).
  const auto* rf = g->find_tensor("rope_freqs.weight");
  ASSERT_TRUE(rf);
  ASSERT_EQ(rf->ne, (std::vector<int64_t>{8}));
  std::vector<float> f(8);
  std::memcpy(f.data(), rf->data, 32);
  for (int i = 0; i < 4; ++i) EXPECT_FLOAT_EQ(f[i], 1.0f);
  const double wl = 2 * M_PI * std::pow(500000.0, 8.0 / 16), smooth = (8192 / wl - 1) / 3;
  EXPECT_NEAR(f[4], 1 / ((1 - smooth) / 8 + smooth), 1e-4);
  for (int i = 5; i < 8; ++i) EXPECT_FLOAT_EQ(f[i], 8.0f);

  ASSERT_TRUE(convert_hf(hf("granite_tied"), dir.file("g.gguf"), quiet(OutType::f16)).ok());
  auto gr = format::GgufFile::open(dir.file("g.gguf"));
  ASSERT_TRUE(gr.ok());
  EXPECT_EQ(*gr->get_string("general.architecture"), "granite");
  EXPECT_FLOAT_EQ(static_cast<float>(*gr->get_float("granite.embedding_scale")), 12.0f);
  EXPECT_FLOAT_EQ(static_cast<float>(*gr->get_float("granite.attention.scale")), 0.125f);
  EXPECT_FLOAT_EQ(static_cast<float>(*gr->get_float("granite.residual_scale")), 0.22f);
  EXPECT_FLOAT_EQ(static_cast<float>(*gr->get_float("granite.logit_scale")), 8.0f);
  EXPECT_EQ(gr->find_tensor("output.weight"), nullptr);  // tied
  EXPECT_EQ(gr->find_tensor("rope_freqs.weight"), nullptr);
  EXPECT_EQ(gr->find_tensor("blk.0.attn_q.weight")->dtype, DType::f16);
}

// The same vocabulary from tokenizer.model and from tokenizer.json encodes the test text as
// SentencePiece's own spm_encode does (ids recorded by make_hf.py), with tokenizer_config.json's
// flags, special tokens and "default" chat template applied and the vocabulary padded to
// config.json's vocab_size.
TEST(ConvertHfTokenizer, SentencePieceModelAndJsonAgree) {
  const auto ref = reference();
  const std::string text = ref["text"];
  auto from_model = load_hf_tokenizer(hf("llama_gqa"), HfTokenizerSource::sentencepiece, 352);
  auto from_json = load_hf_tokenizer(hf("llama_gqa"), HfTokenizerSource::json, 352);
  ASSERT_TRUE(from_model.ok()) << from_model.error().to_string();
  ASSERT_TRUE(from_json.ok()) << from_json.error().to_string();
  const auto a = from_model->encode(text, false, false), b = from_json->encode(text, false, false);
  EXPECT_EQ(a, b);
  // tokenizer.json's merges become SentencePiece scores (tokenizer.ggml.model "llama"), the form
  // llama.cpp splits as Fragua does (bench/convert_llama_cpp.py); as "gpt2" it did not.
  EXPECT_EQ(from_json->spec().kind, tokenize::ModelKind::spm);
  EXPECT_TRUE(from_json->spec().merges.empty());
  if (ref.contains("spm_ids")) {
    EXPECT_EQ(a, ref["spm_ids"].get<std::vector<int32_t>>());
  } else {
    GTEST_SKIP() << "reference.json has no spm_ids (spm_encode was not installed when it was made)";
  }
  for (const auto* t : {&*from_model, &*from_json}) {
    EXPECT_EQ(t->n_vocab(), 352);
    EXPECT_EQ(t->token_text(351), "[PAD351]");
    EXPECT_EQ(t->token_type(351), tokenize::TokenType::unused);
    EXPECT_EQ(t->bos_id(), 1);
    EXPECT_EQ(t->eos_id(), 2);
    EXPECT_TRUE(t->spec().add_bos);
    EXPECT_EQ(t->encode("casa", true, false).front(), 1);
    EXPECT_EQ(t->spec().chat_template.rfind("{{ bos_token }}", 0), 0u);  // the "default" one
    EXPECT_EQ(t->decode(t->encode(text, false, false)), text);
  }
}

// Each piece of a SentencePiece BPE tokenizer.json scores -(rank + 1) of the first merge that makes
// it, so that merging the highest-scoring piece first is merging by merge rank.
TEST(ConvertHfTokenizer, JsonMergesBecomeSentencePieceScores) {
  auto t = load_hf_tokenizer(hf("llama_gqa"), HfTokenizerSource::json, 352);
  ASSERT_TRUE(t.ok()) << t.error().to_string();
  const auto j = nlohmann::json::parse(*read_file(hf("llama_gqa/tokenizer.json")));
  const auto& merges = j["model"]["merges"];
  ASSERT_GT(merges.size(), 10u);
  const auto& tokens = t->spec().tokens;
  std::set<std::string> seen;
  for (size_t r = 0; r < merges.size(); ++r) {
    std::string m = merges[r].get<std::string>();
    const std::string piece = m.erase(m.find(' '), 1);
    if (!seen.insert(piece).second) continue;
    const auto id = std::find(tokens.begin(), tokens.end(), piece) - tokens.begin();
    ASSERT_LT(static_cast<size_t>(id), tokens.size()) << piece;
    EXPECT_EQ(t->spec().scores.at(static_cast<size_t>(id)), -static_cast<float>(r + 1)) << piece;
  }
}

TEST(ConvertHfTokenizer, ByteLevelJsonWithConfigSpecials) {
  auto t = load_hf_tokenizer(hf("granite_tied"), HfTokenizerSource::automatic, 299);
  ASSERT_TRUE(t.ok()) << t.error().to_string();
  const int32_t eot = t->token_id("<|end_of_text|>");
  ASSERT_GE(eot, 0);
  EXPECT_EQ(t->eos_id(), eot);
  EXPECT_EQ(t->bos_id(), eot);
  EXPECT_FALSE(t->spec().add_bos);
  EXPECT_EQ(t->spec().pad_id, eot);
  EXPECT_NE(t->spec().chat_template.find("<|start_of_role|>"), std::string::npos);
  const std::string text = "La casa de la vila, ñandú 20€!";
  EXPECT_EQ(t->decode(t->encode(text, false, false)), text);
  // A tokenizer larger than config.json's vocab_size cannot fit the embedding.
  auto small = load_hf_tokenizer(hf("granite_tied"), HfTokenizerSource::automatic, 100);
  ASSERT_FALSE(small.ok());
  EXPECT_NE(small.error().message().find("more than config.json's vocab_size 100"), std::string::npos)
      << small.error().message();
}

// ---- bad input: a clear error naming the file and place, and no output file ----------------

class ConvertHfErrors : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* m : {"llama_gqa", "granite_tied"}) fs::copy(hf(m), dir.file(m), fs::copy_options::recursive);
  }
  std::string path(const std::string& rel) const { return dir.file(rel); }
  void write(const std::string& rel, const std::string& text) const {
    ASSERT_TRUE(write_file_atomic(path(rel), text).ok());
  }
  std::string read(const std::string& rel) const { return *read_file(path(rel)); }
  void edit_config(const std::string& model, const std::function<void(nlohmann::json&)>& f) const {
    auto j = nlohmann::json::parse(read(model + "/config.json"));
    f(j);
    write(model + "/config.json", j.dump());
  }
  // Converts `model`, expects failure with `needle` in the message and no output left behind.
  void expect_error(const std::string& model, const std::string& needle) const {
    const std::string out = dir.file("out/" + model + ".gguf");
    fs::create_directories(dir.file("out"));
    auto r = convert_hf(path(model), out, quiet());
    ASSERT_FALSE(r.ok()) << "converted despite: " << needle;
    EXPECT_NE(r.error().message().find(needle), std::string::npos) << r.error().message();
    for (const auto& e : fs::directory_iterator(dir.file("out"))) ADD_FAILURE() << "left " << e.path();
  }
  test::TempDir dir;
};

TEST_F(ConvertHfErrors, UnknownArchitecture) {
  edit_config("llama_gqa", [](nlohmann::json& j) { j["architectures"] = {"Qwen3ForCausalLM"}; });
  expect_error("llama_gqa",
               "config.json: \"architectures\" 'Qwen3ForCausalLM' is not supported (known: "
               "LlamaForCausalLM, MistralForCausalLM, GraniteForCausalLM, GraniteMoeForCausalLM, "
               "GraniteMoeSharedForCausalLM, GraniteMoeHybridForCausalLM, Qwen2ForCausalLM)");
}

TEST_F(ConvertHfErrors, UnsupportedSettingsNameTheField) {
  edit_config("llama_gqa", [](nlohmann::json& j) { j["rope_scaling"] = {{"rope_type", "yarn"}, {"factor", 4.0}}; });
  expect_error("llama_gqa", "\"rope_scaling.rope_type\" 'yarn' is not supported");
  edit_config("llama_gqa", [](nlohmann::json& j) {
    j.erase("rope_scaling");
    j["num_key_value_heads"] = 3;
  });
  expect_error("llama_gqa", "\"num_attention_heads\" 4 is not a multiple of \"num_key_value_heads\" 3");
  edit_config("llama_gqa", [](nlohmann::json& j) {
    j["num_key_value_heads"] = 2;
    j["rms_norm_eps"] = -1;
  });
  expect_error("llama_gqa", "config.json: \"rms_norm_eps\" = -1 must be a finite number");
  edit_config("llama_gqa", [](nlohmann::json& j) {
    j["rms_norm_eps"] = 1e-5;
    j["attention_bias"] = true;
  });
  expect_error("llama_gqa", "\"attention_bias\" is true");
  edit_config("llama_gqa", [](nlohmann::json& j) {
    j["attention_bias"] = false;
    j["architectures"] = {"MistralForCausalLM"};
    j["sliding_window"] = 128;
  });
  expect_error("llama_gqa", "\"sliding_window\" 128 is smaller than \"max_position_embeddings\" 256");
  edit_config("granite_tied", [](nlohmann::json& j) { j["logits_scaling"] = "8"; });
  expect_error("granite_tied", "config.json: \"logits_scaling\" is \"8\", not a number");
}

TEST_F(ConvertHfErrors, MistralWithoutAWindowIsLlama) {
  edit_config("llama_gqa", [](nlohmann::json& j) {
    j["architectures"] = {"MistralForCausalLM"};
    j["sliding_window"] = nullptr;
  });
  auto r = convert_hf(path("llama_gqa"), dir.file("m.gguf"), quiet());
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  EXPECT_EQ(r->architecture, "llama");
}

TEST_F(ConvertHfErrors, ShapeThatDisagreesWithConfig) {
  edit_config("llama_gqa", [](nlohmann::json& j) { j["intermediate_size"] = 96; });
  expect_error("llama_gqa",
               "model-00001-of-00002.safetensors: tensor 'model.layers.0.mlp.gate_proj.weight' has "
               "shape [128, 64], but config.json implies [96, 64] for blk.0.ffn_gate.weight");
}

// Rewrites the safetensors header of a shard (the JSON after the 8-byte length).
std::string with_header(const std::string& file, const std::function<void(nlohmann::json&)>& f) {
  uint64_t n;
  std::memcpy(&n, file.data(), 8);
  auto h = nlohmann::json::parse(file.substr(8, n));
  f(h);
  std::string s = h.dump();
  s.resize((s.size() + 7) / 8 * 8, ' ');
  std::string len(8, '\0');
  for (int i = 0; i < 8; ++i) len[static_cast<size_t>(i)] = static_cast<char>(s.size() >> (8 * i));
  return len + s + file.substr(8 + n);  // offsets are relative to the data section: unchanged
}

TEST_F(ConvertHfErrors, MalformedOverlappingAndOutOfRangeSafetensors) {
  const std::string shard = "llama_gqa/model-00002-of-00002.safetensors";
  const std::string good = read(shard);
  write(shard, good.substr(0, 8) + "{not json" + good.substr(17));
  expect_error("llama_gqa", "model-00002-of-00002.safetensors");
  write(shard, with_header(good, [](nlohmann::json& h) {
          h["model.norm.weight"]["data_offsets"] = h["model.layers.1.input_layernorm.weight"]["data_offsets"];
        }));
  expect_error("llama_gqa", "overlap");
  write(shard, with_header(good, [](nlohmann::json& h) {
          auto& o = h["model.norm.weight"]["data_offsets"];
          o = {o[0].get<uint64_t>() + 1000000, o[1].get<uint64_t>() + 1000000};
        }));
  expect_error("llama_gqa", "tensor 'model.norm.weight': data_offsets end");
  write(shard, good.substr(0, good.size() - 100));  // truncated
  expect_error("llama_gqa", "runs past the end of the file");
}

TEST_F(ConvertHfErrors, IndexThatLiesOrEscapes) {
  const std::string idx = "llama_gqa/model.safetensors.index.json";
  auto j = nlohmann::json::parse(read(idx));
  auto moved = j;
  moved["weight_map"]["model.norm.weight"] = "model-00001-of-00002.safetensors";
  write(idx, moved.dump());
  expect_error("llama_gqa", "tensor 'model.norm.weight' is not in model-00001-of-00002.safetensors");
  auto escaping = j;
  escaping["weight_map"]["model.norm.weight"] = "../granite_tied/model-00001-of-00002.safetensors";
  write(idx, escaping.dump());
  expect_error("llama_gqa", "is not a file name in the model directory");
  auto partial = j;
  partial["weight_map"].erase("model.norm.weight");
  write(idx, partial.dump());
  expect_error("llama_gqa", "tensor 'model.norm.weight' is missing from model.safetensors.index.json");
  write(idx, "{\"weight_map\": [1, 2]}");
  expect_error("llama_gqa", "model.safetensors.index.json: \"weight_map\" is an array");
}

TEST_F(ConvertHfErrors, MissingFilesAndBadTokenizerConfig) {
  fs::remove(path("granite_tied/config.json"));
  expect_error("granite_tied", "granite_tied/config.json");
  write("llama_gqa/tokenizer_config.json", R"({"eos_token": "<|eot|>"})");
  expect_error("llama_gqa", "tokenizer_config.json: \"eos_token\" '<|eot|>' is not in the vocabulary");
  write("llama_gqa/tokenizer_config.json", R"({"chat_template": [{"name": "tool_use", "template": "x"}]})");
  expect_error("llama_gqa", "\"chat_template\" is a list without a \"default\" template");
  write("llama_gqa/tokenizer_config.json", R"({"added_tokens_decoder": {"1": {"content": "<bos>"}}})");
  expect_error("llama_gqa", "added_tokens_decoder[\"1\"] is \"<bos>\" but the tokenizer file has \"<s>\" there");
}

// One model.safetensors instead of shards and an index (small models ship so): the same GGUF.
TEST_F(ConvertHfErrors, SingleSafetensorsFileGivesTheSameModel) {
  auto s1 = format::SafetensorsFile::open(path("granite_tied/model-00001-of-00002.safetensors"));
  auto s2 = format::SafetensorsFile::open(path("granite_tied/model-00002-of-00002.safetensors"));
  ASSERT_TRUE(s1.ok() && s2.ok());
  format::SafetensorsWriter w;
  for (const auto* f : {&*s1, &*s2})
    for (const auto& t : f->tensors()) ASSERT_TRUE(w.add_tensor(t.name, t.dtype, t.shape, t.data, t.n_bytes).ok());
  ASSERT_TRUE(w.write(path("granite_tied/model.safetensors")).ok());
  for (const char* f :
       {"model.safetensors.index.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"})
    fs::remove(path(std::string("granite_tied/") + f));
  ASSERT_TRUE(convert_hf(path("granite_tied"), dir.file("single.gguf"), quiet()).ok());
  ASSERT_TRUE(convert_hf(hf("granite_tied"), dir.file("sharded.gguf"), quiet()).ok());
  auto a = format::GgufFile::open(dir.file("single.gguf")), b = format::GgufFile::open(dir.file("sharded.gguf"));
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_EQ(a->tensors().size(), b->tensors().size());
  for (size_t i = 0; i < a->tensors().size(); ++i) {
    const auto &x = a->tensors()[i], &y = b->tensors()[i];
    EXPECT_EQ(x.name, y.name);
    ASSERT_EQ(x.n_bytes, y.n_bytes);
    EXPECT_EQ(std::memcmp(x.data, y.data, x.n_bytes), 0) << x.name;
  }
  fs::remove(path("granite_tied/model.safetensors"));
  expect_error("granite_tied", "neither model.safetensors.index.json nor model.safetensors is there");
}

// A write that fails half-way (a full disk) leaves neither the file nor a temporary.
TEST_F(ConvertHfErrors, FullDiskLeavesNoPartialOutput) {
  test::FaultEnv env;
  env.write_budget = 20000;
  ConvertOptions o = quiet();
  o.env = &env;
  fs::create_directories(dir.file("out"));
  auto r = convert_hf(path("llama_gqa"), dir.file("out/m.gguf"), o);
  ASSERT_FALSE(r.ok());
  for (const auto& e : fs::directory_iterator(dir.file("out"))) ADD_FAILURE() << "left " << e.path();
}

// general.source.url (issue 18): the Hugging Face repository when the directory is a hub-cache
// snapshot or config.json's "_name_or_path" reads as org/name; otherwise the directory's name,
// never the converting machine's path.
class ConvertHfSource : public ConvertHfErrors {
 protected:
  // "general.source.url | general.name" of the converted model.
  std::string source_of(const std::string& model_dir) const {
    const std::string out = dir.file("source.gguf");
    auto r = convert_hf(model_dir, out, quiet());
    if (!r.ok()) return "error: " + r.error().message();
    auto g = format::GgufFile::open(out);
    if (!g.ok()) return "error: " + g.error().message();
    auto s = g->get_string("general.source.url");
    auto n = g->get_string("general.name");
    return (s.ok() ? *s : "absent") + " | " + (n.ok() ? *n : "absent");
  }
};

TEST_F(ConvertHfSource, HubSnapshotNameOrPathOrDirectoryName) {
  edit_config("llama_gqa", [](nlohmann::json& j) { j.erase("_name_or_path"); });
  EXPECT_EQ(source_of(path("llama_gqa")), "llama_gqa | llama_gqa");
  const std::string snapshot = path("hub/models--BSC-LT--salamandra-2b/snapshots/0123abcd");
  fs::create_directories(fs::path(snapshot).parent_path());
  fs::copy(path("llama_gqa"), snapshot, fs::copy_options::recursive);
  EXPECT_EQ(source_of(snapshot), "https://huggingface.co/BSC-LT/salamandra-2b | salamandra-2b");
  edit_config("llama_gqa", [](nlohmann::json& j) { j["_name_or_path"] = "ibm-granite/granite-3.1-2b"; });
  EXPECT_EQ(source_of(path("llama_gqa")), "https://huggingface.co/ibm-granite/granite-3.1-2b | granite-3.1-2b");
  // A local path in _name_or_path is no repository: the directory's name, not the path.
  edit_config("llama_gqa", [](nlohmann::json& j) { j["_name_or_path"] = "/home/someone/checkpoints/run1"; });
  EXPECT_EQ(source_of(path("llama_gqa")), "llama_gqa | llama_gqa");
}

TEST(ConvertHf, OutTypeNames) {
  for (auto t : {OutType::f32, OutType::f16, OutType::bf16, OutType::q8_0})
    EXPECT_EQ(*parse_out_type(out_type_name(t)), t);
  auto bad = parse_out_type("q4_0");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message().find("'q4_0' is not one of f32, f16, bf16, q8_0"), std::string::npos);
}

}  // namespace
}  // namespace fragua::model
