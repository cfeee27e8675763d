// SPDX-License-Identifier: Apache-2.0
// The forward pass against golden logits from the independent PyTorch reference
// (tests/reference/model/llama_ref.py, float64) for random-weight models of both architectures.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

#include <gtest/gtest.h>

#include "fragua/base/file.h"
#include "fragua/model/model.h"
#include "fragua/model/random_model.h"
#include "test_util.h"

namespace fragua::model {
namespace {

std::vector<int32_t> golden_tokens() {
  std::vector<int32_t> t;
  std::stringstream ss(*read_file(test::golden_model("tokens.csv")));
  std::string item;
  while (std::getline(ss, item, ',')) t.push_back(std::stoi(item));
  return t;
}

std::vector<float> golden_logits(const std::string& model) {
  auto bytes = read_file(test::golden_model(model + ".logits.f32"));
  EXPECT_TRUE(bytes.ok());
  std::vector<float> v(bytes->size() / 4);
  std::memcpy(v.data(), bytes->data(), v.size() * 4);
  return v;
}

struct ForwardCase {
  const char* model;
  double tolerance;  // max |ours - ref| / max |ref| over all logits
};

// Keys and values are cached in f16, as llama.cpp keeps them, and short batches accumulate the
// attention output in f16 (backend.h). F32 weights: that cache is the only rounding besides f32
// arithmetic (measured 7.8e-5; 1.4e-7 with the former f32 cache). F16 weights: activations are
// also rounded to f16 before the dot products, as llama.cpp does (measured 2.4e-4). Quantized weights: the reference
// dequantizes the same blocks exactly, but Fragua (like llama.cpp) quantizes the activations to 8 bits (Q8_0 blocks of
// 32, Q8_K blocks of 256) before the integer dot products: measured 0.72% (q8_0), 0.64% (q4_0), 2.1% (q4_k).
const ForwardCase kForwardCases[] = {
    {"llama_gqa_f32", 2e-4},
    {"llama_mha_f16", 5e-4},
    {"llama3_mqa_f32", 2e-4},
    {"granite_tied_f32", 2e-4},
    {"llama_q8_0", 3e-2},
    {"llama_q4_0", 3e-2},
    {"llama_q4_k", 3e-2},
    // qwen2: the q/k/v biases and NeoX-order RoPE against the reference's own rotation of halves.
    {"qwen2_gqa_f32", 2e-4},
    {"qwen2_tied_f16", 5e-4},
};

class ForwardTest : public ::testing::TestWithParam<ForwardCase> {};

TEST_P(ForwardTest, MatchesPyTorchReference) {
  const ForwardCase& c = GetParam();
  auto model = Model::load(test::golden_model(std::string(c.model) + ".gguf"));
  ASSERT_TRUE(model.ok()) << model.error().to_string();
  const auto tokens = golden_tokens();
  const auto ref = golden_logits(c.model);
  const int64_t V = (*model)->config().n_vocab;
  ASSERT_EQ(ref.size(), tokens.size() * static_cast<size_t>(V));
  double ref_max = 0;
  for (float x : ref) ref_max = std::max(ref_max, std::fabs(static_cast<double>(x)));

  for (int threads : {1, 2}) {
    // Prompt in uneven batches (exercises the KV cache across calls): batch size 4 with one
    // thread; with two, whole chunks of up to 9 tokens (attention's query blocks of 8 and a
    // partial one, each token masked to the keys it may see).
    ContextParams p;
    p.n_ctx = 64;
    p.n_batch = threads == 1 ? 4 : 64;
    p.n_threads = threads;
    auto ctx = Context::create(**model, p);
    ASSERT_TRUE(ctx.ok());
    std::vector<float> ours;
    size_t pos = 0;
    for (size_t chunk : {7u, 1u, 9u, 1u, 6u}) {
      auto span = std::span<const int32_t>(tokens).subspan(pos, chunk);
      auto logits = (*ctx)->decode(span, /*all_logits=*/true);
      ASSERT_TRUE(logits.ok()) << logits.error().to_string();
      ours.insert(ours.end(), logits->begin(), logits->end());
      pos += chunk;
    }
    ASSERT_EQ(pos, tokens.size());
    double max_err = 0;
    size_t argmax_agree = 0;
    for (size_t t = 0; t < tokens.size(); ++t) {
      size_t a = 0, b = 0;
      for (size_t v = 0; v < static_cast<size_t>(V); ++v) {
        size_t i = t * static_cast<size_t>(V) + v;
        max_err = std::max(max_err, std::fabs(static_cast<double>(ours[i]) - ref[i]));
        if (ours[i] > ours[t * static_cast<size_t>(V) + a]) a = v;
        if (ref[i] > ref[t * static_cast<size_t>(V) + b]) b = v;
      }
      argmax_agree += a == b;
    }
    std::printf("%s threads %d: max |error| / max |logit| = %.3g\n", c.model, threads, max_err / ref_max);
    EXPECT_LE(max_err / ref_max, c.tolerance)
        << c.model << " threads " << threads << ": max error " << max_err << " against max logit " << ref_max;
    if (c.tolerance <= 5e-4) {
      EXPECT_EQ(argmax_agree, tokens.size());
    }
    // Last-token logits alone equal the last row of the full run.
    auto ctx2 = Context::create(**model, p);
    auto last = (*ctx2)->decode(tokens);
    ASSERT_TRUE(last.ok());
    for (size_t v = 0; v < static_cast<size_t>(V); ++v)
      ASSERT_NEAR((*last)[v], ours[(tokens.size() - 1) * static_cast<size_t>(V) + v], 1e-3 * ref_max);
  }
}

INSTANTIATE_TEST_SUITE_P(Golden, ForwardTest, ::testing::ValuesIn(kForwardCases),
                         [](const auto& info) { return std::string(info.param.model); });

// The CPU backend packs Q4_0 matrices into 16-row panels at load (Backend::prepare_weight, a
// layout of its own); FRAGUA_PACK=0 keeps the file's layout. Both give the same logits up to f32
// summation order.
TEST(Model, PackedQ4_0WeightsGiveTheSameLogits) {
  auto run = [](bool pack) {
    if (!pack) ::setenv("FRAGUA_PACK", "0", 1);
    auto model = Model::load(test::golden_model("llama_q4_0.gguf"));
    ::unsetenv("FRAGUA_PACK");
    EXPECT_TRUE(model.ok());
    EXPECT_EQ((*model)->weights().layers[0].wq.layout() != Layout::rows, pack);
    EXPECT_EQ((*model)->weights().layers[1].w_down.layout() != Layout::rows, pack);
    EXPECT_EQ((*model)->weights().output.layout() != Layout::rows, pack);
    EXPECT_EQ((*model)->weights().tok_embd.layout(), Layout::rows);  // read by rows
    ContextParams p;
    p.n_ctx = 64;
    p.n_threads = 2;
    auto ctx = Context::create(**model, p);
    auto logits = (*ctx)->decode(golden_tokens(), /*all_logits=*/true);
    EXPECT_TRUE(logits.ok());
    return std::vector<float>(logits->begin(), logits->end());
  };
  const auto packed = run(true), plain = run(false);
  ASSERT_EQ(packed.size(), plain.size());
  double mx = 0, err = 0;
  for (size_t i = 0; i < plain.size(); ++i) {
    mx = std::max(mx, std::fabs(double(plain[i])));
    err = std::max(err, std::fabs(double(packed[i]) - plain[i]));
  }
  EXPECT_LT(err, 1e-4 * mx);
}

// The evaluation callback sees every step of every layer with its shape, and the values are the
// ones the forward pass uses: the residual stream adds up (ffn_inp = l_out of the layer before +
// attn_out; l_out = ffn_inp + ffn_out) and swiglu = silu(gate) * up. The last layer's feed-forward
// runs for the last token only (its logits are the only ones asked for), as in llama.cpp.
TEST(Context, EvalCallbackTracesEveryStep) {
  auto model = Model::load(test::golden_model("llama_gqa_f32.gguf"));
  ASSERT_TRUE(model.ok());
  const auto& c = (*model)->config();
  std::map<std::string, std::vector<float>> seen;
  ContextParams p;
  p.n_ctx = 32;
  p.n_threads = 1;
  p.eval_callback = [&](const char* name, int layer, const float* data, int64_t t, int64_t n) {
    seen[std::string(name) + "-" + std::to_string(layer)].assign(data, data + t * n);
  };
  auto ctx = Context::create(**model, p);
  ASSERT_TRUE(ctx.ok());
  const std::vector<int32_t> tokens = {1, 7, 9};
  ASSERT_TRUE((*ctx)->decode(tokens).ok());
  const size_t T = tokens.size();
  EXPECT_EQ(seen.size(), 13u * static_cast<size_t>(c.n_layer));
  for (int64_t l = 0; l < c.n_layer; ++l) {
    auto at = [&](const char* n) -> const std::vector<float>& {
      return seen[n + std::string("-") + std::to_string(l)];
    };
    const size_t ffn_rows = l == c.n_layer - 1 ? 1 : T;
    EXPECT_EQ(at("Qcur").size(), T * static_cast<size_t>(c.n_embd_q()));
    EXPECT_EQ(at("Kcur").size(), T * static_cast<size_t>(c.n_embd_kv()));
    EXPECT_EQ(at("ffn_inp").size(), T * static_cast<size_t>(c.n_embd));
    EXPECT_EQ(at("ffn_gate").size(), ffn_rows * static_cast<size_t>(c.n_ff));
    EXPECT_EQ(at("l_out").size(), ffn_rows * static_cast<size_t>(c.n_embd));
    const size_t skip = (T - ffn_rows) * static_cast<size_t>(c.n_embd);  // ffn_inp's rows left out
    for (size_t i = 0; i < at("l_out").size(); ++i) {
      EXPECT_FLOAT_EQ(at("l_out")[i], at("ffn_inp")[skip + i] + at("ffn_out")[i]);
      if (l > 0) {
        EXPECT_FLOAT_EQ(at("ffn_inp")[i], seen["l_out-" + std::to_string(l - 1)][i] + at("attn_out")[i]);
      }
    }
    for (size_t i = 0; i < at("ffn_swiglu").size(); ++i) {
      const float g = at("ffn_gate")[i];
      EXPECT_NEAR(at("ffn_swiglu")[i], g / (1 + std::exp(-g)) * at("ffn_up")[i],
                  1e-6 + 1e-6 * std::fabs(at("ffn_swiglu")[i]));
    }
  }
}

// Before the last layer's feed-forward only the rows whose logits are wanted go on (llama.cpp's
// inp_out_ids): a prompt asking for the last token's logits gets the bits it gets when every
// token's logits are asked for (the Q8_0 products give a row the same bits whatever the rows
// beside it), and the last layer's feed-forward sees one row instead of T.
TEST(Context, LastLayerFeedForwardRunsForTheOutputRowsOnly) {
  auto model = Model::load(test::golden_model("llama_q8_0.gguf"));
  ASSERT_TRUE(model.ok());
  const auto& c = (*model)->config();
  const auto tokens = golden_tokens();
  const auto T = static_cast<int64_t>(tokens.size());
  ASSERT_GT(T, 2);
  auto run = [&](bool all, int64_t& gate_rows) {
    ContextParams p;
    p.n_ctx = 64;
    p.n_threads = 2;
    p.eval_callback = [&](const char* name, int layer, const float*, int64_t t, int64_t) {
      if (layer == c.n_layer - 1 && std::string(name) == "ffn_gate") gate_rows = t;
    };
    auto ctx = Context::create(**model, p);
    EXPECT_TRUE(ctx.ok());
    auto logits = (*ctx)->decode(tokens, all);
    EXPECT_TRUE(logits.ok());
    const auto V = static_cast<size_t>(c.n_vocab);
    return std::vector<float>(logits->end() - static_cast<std::ptrdiff_t>(V), logits->end());
  };
  int64_t rows_all = 0, rows_last = 0;
  const auto every = run(true, rows_all), last = run(false, rows_last);
  EXPECT_EQ(rows_all, T);
  EXPECT_EQ(rows_last, 1);
  ASSERT_EQ(every.size(), last.size());
  EXPECT_EQ(0, std::memcmp(every.data(), last.data(), every.size() * 4));
}

// At decode the CPU backend runs a layer's q, k and v (and gate, up), when each matrix is 1 MiB
// or more, in one parallel region that converts their shared input once (cpu::matvecs). A model
// that large gives, at 2 threads, the logits of 1 thread at every step.
TEST(Context, WholeMatrixProductsAtDecodeGiveTheBitsOfOneThread) {
  test::TempDir dir;
  RandomModelSpec s;
  s.n_vocab = 256, s.n_embd = 1024, s.n_layer = 1, s.n_head = 8, s.n_head_kv = 8, s.n_ff = 1024, s.n_ctx = 32;
  s.dtype = DType::q8_0;  // 1024 x 1024: 1.1 MB per matrix
  s.plain_init = true;
  const std::string path = dir.file("m.gguf");
  ASSERT_TRUE(write_random_model(s, path).ok());
  auto model = Model::load(path);
  ASSERT_TRUE(model.ok()) << model.error().message();
  auto steps = [&](int threads) {
    auto ctx = Context::create(**model, {.n_ctx = 32, .n_threads = threads});
    EXPECT_TRUE(ctx.ok());
    std::vector<float> out;
    std::vector<int32_t> next = {1, 7, 42, 99};
    for (int step = 0; step < 4; ++step) {
      auto logits = (*ctx)->decode(next);
      EXPECT_TRUE(logits.ok());
      if (!logits.ok()) break;
      out.insert(out.end(), logits->begin(), logits->end());
      next = {static_cast<int32_t>(std::max_element(logits->begin(), logits->end()) - logits->begin())};
    }
    return out;
  };
  const auto one = steps(1), two = steps(2);
  ASSERT_EQ(one.size(), 4u * 256u);
  ASSERT_EQ(one.size(), two.size());
  EXPECT_EQ(0, std::memcmp(one.data(), two.data(), one.size() * 4));
}

TEST(Context, RejectsBadTokensAndFullContext) {
  auto model = Model::load(test::golden_model("llama_gqa_f32.gguf"));
  ASSERT_TRUE(model.ok());
  ContextParams p;
  p.n_ctx = 8;
  auto ctx = Context::create(**model, p);
  ASSERT_TRUE(ctx.ok());
  std::vector<int32_t> bad = {1, 512};
  auto r = (*ctx)->decode(bad);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("token 512 at index 1 is outside the vocabulary"), std::string::npos);
  std::vector<int32_t> many(9, 5);
  auto full = (*ctx)->decode(many);
  ASSERT_FALSE(full.ok());
  EXPECT_EQ(full.error().code(), ErrorCode::resource_exhausted);
}

TEST(Model, LoaderNamesMissingAndMisshapenTensors) {
  test::TempDir dir;
  auto bytes = *read_file(test::golden_model("llama_gqa_f32.gguf"));
  auto f = format::GgufFile::parse(bytes, "m.gguf");
  ASSERT_TRUE(f.ok());
  // Re-write the file without blk.1.ffn_up.weight.
  format::GgufWriter w;
  for (const auto& kv : f->metadata()) w.set(kv.key, kv.value);
  for (const auto& t : f->tensors())
    if (t.name != "blk.1.ffn_up.weight") {
      ASSERT_TRUE(w.add_tensor(t.name, t.ne, t.dtype, t.data, t.n_bytes).ok());
    }
  ASSERT_TRUE(w.write(dir.file("missing.gguf")).ok());
  auto m = Model::load(dir.file("missing.gguf"));
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.error().message().find("tensor 'blk.1.ffn_up.weight' is missing"), std::string::npos);

  format::GgufWriter w2;
  for (const auto& kv : f->metadata()) w2.set(kv.key, kv.value);
  w2.set("general.architecture", format::GgufValue::of_string("mamba"));
  ASSERT_TRUE(w2.write(dir.file("arch.gguf")).ok());
  auto m2 = Model::load(dir.file("arch.gguf"));
  ASSERT_FALSE(m2.ok());
  EXPECT_NE(m2.error().message().find(
                "architecture 'mamba' is not supported (supported: llama, granite, granitemoe, granitehybrid, qwen2)"),
            std::string::npos);
}

}  // namespace
}  // namespace fragua::model
