// SPDX-License-Identifier: Apache-2.0
// BatchContext against Context: every sequence of a batch gets the logits that a Context of its
// own gives when it is decoded in the same chunks, bit for bit. The reference is the
// single-sequence path that tests/model/forward_test.cpp checks against llama.cpp and PyTorch.
//
// Why bits for quantized weights: every per-token step of the forward (RMSNorm, the matmuls,
// RoPE, SwiGLU) computes each row on its own, and the integer kernels of quantized weights sum
// each output in the same order whatever tile it lands in (matmul_test.cpp), and attention runs
// once per sequence over that sequence's tokens only. F32/F16/BF16 weights are the exception: the
// float GEMM sums a lone activation column in four FMA chains (gemm_float.inl dot_float_1x1, for
// latency) and a column inside a tile in one, so a sequence decoded alone (one column) and beside
// others (a tile) differ by the summation order of each dot product: a few ulps, grown through
// the layers. Bound for those: the largest difference over the largest reference logit <= 1e-4
// (measured 1.1e-5 on F32 and 2.0e-7 on F16 with this deliberately sensitive model,
// RandomModelSpec::plain_init false). A sequence's chunking matters in both cases: a chunk of 64 tokens
// or more takes the f32 prompt-attention regime and a shorter one the f16 one-pass regime
// (backend.h), so each reference below decodes the same chunks.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <random>

#include <fmt/format.h>

#include "fragua/backend/backend.h"
#include "fragua/model/batch.h"
#include "fragua/model/model.h"
#include "fragua/model/random_model.h"
#include "test_util.h"

namespace fragua::model {
namespace {

using Rows = std::vector<std::vector<float>>;  // one logits row per token

struct BatchCase {
  DType dtype;
  int threads;
};

std::string case_name(const ::testing::TestParamInfo<BatchCase>& info) {
  return std::string(dtype_name(info.param.dtype)) + "_t" + std::to_string(info.param.threads);
}

class BatchVsContext : public ::testing::TestWithParam<BatchCase> {
 protected:
  static constexpr int64_t kCtx = 160;
  test::TempDir dir;
  std::unique_ptr<Model> model;
  std::mt19937 rng{11};

  static constexpr double kFloatBound = 1e-4;
  double worst = 0;  // largest relative difference seen (float weights)

  void TearDown() override {
    if (worst > 0) RecordProperty("worst_relative_difference", fmt::format("{:.2e}", worst));
  }

  // Bits for quantized weights; kFloatBound relative to the largest logit for float weights.
  void expect_same(const std::vector<float>& got, const std::vector<float>& ref, const std::string& where) {
    ASSERT_EQ(got.size(), ref.size()) << where;
    const DType t = GetParam().dtype;
    if (t != DType::f32 && t != DType::f16 && t != DType::bf16) {
      ASSERT_EQ(got, ref) << where;
      return;
    }
    double mx = 0, diff = 0;
    for (size_t i = 0; i < ref.size(); ++i) {
      mx = std::max(mx, std::fabs(double(ref[i])));
      diff = std::max(diff, std::fabs(double(got[i]) - ref[i]));
    }
    worst = std::max(worst, diff / mx);
    ASSERT_LE(diff, kFloatBound * mx) << where;
  }
  static std::vector<float> row(std::span<const float> l, size_t i, size_t V) {
    return {l.begin() + i * V, l.begin() + (i + 1) * V};
  }

  void SetUp() override {
    RandomModelSpec spec;  // 2 layers, 4 query heads sharing 2 KV heads, vocabulary 512
    spec.dtype = GetParam().dtype;
    const std::string path = dir.file("m.gguf");
    ASSERT_TRUE(write_random_model(spec, path).ok());
    auto m = Model::load(path);
    ASSERT_TRUE(m.ok()) << m.error().message();
    model = std::move(*m);
  }

  std::vector<int32_t> random_tokens(size_t n) {
    std::uniform_int_distribution<int32_t> d(3, static_cast<int32_t>(model->config().n_vocab - 1));
    std::vector<int32_t> t(n);
    for (auto& x : t) x = d(rng);
    return t;
  }

  std::unique_ptr<BatchContext> batch(int32_t n_seq, bool embeddings = false) {
    auto b = BatchContext::create(*model, {.n_seq = n_seq,
                                           .n_ctx_per_seq = kCtx,
                                           .n_batch = 512,
                                           .n_threads = GetParam().threads,
                                           .embeddings = embeddings});
    EXPECT_TRUE(b.ok()) << b.error().message();
    return b.ok() ? std::move(*b) : nullptr;
  }

  // Every token's logits when `chunks` are decoded in order into a fresh Context.
  Rows context_rows(const std::vector<std::vector<int32_t>>& chunks) {
    auto ctx = Context::create(*model, {.n_ctx = kCtx, .n_batch = 512, .n_threads = GetParam().threads});
    EXPECT_TRUE(ctx.ok());
    const auto V = static_cast<size_t>(model->config().n_vocab);
    Rows rows;
    for (const auto& c : chunks) {
      auto l = (*ctx)->decode(c, /*all_logits=*/true);
      EXPECT_TRUE(l.ok()) << l.error().message();
      for (size_t i = 0; i < c.size(); ++i) rows.emplace_back(l->begin() + i * V, l->begin() + (i + 1) * V);
    }
    return rows;
  }

  // Decodes `steps` into `b` with logits for every item; returns each sequence's rows and the
  // chunks a Context must decode to match (a sequence's items of one step are one chunk).
  void run_steps(BatchContext& b, const std::vector<std::vector<BatchItem>>& steps, std::map<int32_t, Rows>& rows,
                 std::map<int32_t, std::vector<std::vector<int32_t>>>& chunks) {
    const auto V = static_cast<size_t>(model->config().n_vocab);
    for (auto step : steps) {
      std::map<int32_t, std::vector<int32_t>> chunk;
      for (auto& it : step) {
        it.logits = true;
        chunk[it.seq].push_back(it.token);
      }
      for (auto& [s, c] : chunk) chunks[s].push_back(c);
      auto l = b.decode(step);
      ASSERT_TRUE(l.ok()) << l.error().message();
      ASSERT_EQ(l->size(), step.size() * V);
      for (size_t i = 0; i < step.size(); ++i)
        rows[step[i].seq].emplace_back(l->begin() + i * V, l->begin() + (i + 1) * V);
    }
  }

  void expect_same_as_contexts(const std::vector<std::vector<BatchItem>>& steps, int32_t n_seq) {
    auto b = batch(n_seq);
    ASSERT_TRUE(b);
    std::map<int32_t, Rows> rows;
    std::map<int32_t, std::vector<std::vector<int32_t>>> chunks;
    run_steps(*b, steps, rows, chunks);
    for (auto& [s, r] : rows) {
      const Rows ref = context_rows(chunks[s]);
      ASSERT_EQ(r.size(), ref.size()) << "sequence " << s;
      for (size_t i = 0; i < r.size(); ++i)
        expect_same(r[i], ref[i], "sequence " + std::to_string(s) + " token " + std::to_string(i));
    }
  }

  static void add(std::vector<BatchItem>& step, const std::vector<int32_t>& tokens, int32_t seq) {
    for (int32_t t : tokens) step.push_back({.token = t, .seq = seq});
  }
};

// Prompts of 5, 70 (the f32 prompt-attention regime) and 1 token in one pass, then three steps of
// one token per sequence.
TEST_P(BatchVsContext, UnevenPromptsThenDecodeSteps) {
  std::vector<std::vector<BatchItem>> steps(1);
  add(steps[0], random_tokens(5), 0);
  add(steps[0], random_tokens(70), 1);
  add(steps[0], random_tokens(1), 2);
  for (int k = 0; k < 3; ++k) {
    steps.emplace_back();
    for (int32_t s : {2, 0, 1}) add(steps.back(), random_tokens(1), s);
  }
  expect_same_as_contexts(steps, 3);
}

// A prompt read in chunks while another sequence decodes one token a step, a third joins later,
// and one slot stays unused.
TEST_P(BatchVsContext, MixedPromptChunksAndDecodeSteps) {
  std::vector<std::vector<BatchItem>> steps(1);
  add(steps[0], random_tokens(9), 0);
  for (int k = 0; k < 4; ++k) {
    steps.emplace_back();
    add(steps.back(), random_tokens(1), 0);
    add(steps.back(), random_tokens(k == 1 ? 66 : 12), 1);
    if (k >= 2) add(steps.back(), random_tokens(k == 2 ? 3 : 1), 3);
  }
  expect_same_as_contexts(steps, 4);
}

// Items of two sequences alternate within a pass: each sequence still sees only its own tokens,
// in its own order.
TEST_P(BatchVsContext, InterleavedItems) {
  std::vector<std::vector<BatchItem>> steps(2);
  const auto a = random_tokens(6), b = random_tokens(6);
  for (size_t i = 0; i < 6; ++i) {
    steps[0].push_back({.token = a[i], .seq = 0});
    steps[0].push_back({.token = b[i], .seq = 1});
  }
  add(steps[1], random_tokens(2), 1);
  add(steps[1], random_tokens(1), 0);
  add(steps[1], random_tokens(2), 1);
  expect_same_as_contexts(steps, 2);
}

// Only the items marked return logits, in item order.
TEST_P(BatchVsContext, LogitsOnlyForMarkedItems) {
  const auto a = random_tokens(7), b = random_tokens(4);
  auto bc = batch(2);
  ASSERT_TRUE(bc);
  std::vector<BatchItem> items;
  add(items, a, 1);
  add(items, b, 0);
  items[6].logits = true;   // last of sequence 1
  items[9].logits = true;   // third of sequence 0
  items[10].logits = true;  // last of sequence 0
  auto l = bc->decode(items);
  ASSERT_TRUE(l.ok());
  const auto V = static_cast<size_t>(model->config().n_vocab);
  ASSERT_EQ(l->size(), 3 * V);
  const Rows ra = context_rows({a}), rb = context_rows({b});
  expect_same(row(*l, 0, V), ra[6], "row 0");
  expect_same(row(*l, 1, V), rb[2], "row 1");
  expect_same(row(*l, 2, V), rb[3], "row 2");
}

// After truncate and reuse_prefix a slot continues as a Context that decoded only what the slot
// still holds.
TEST_P(BatchVsContext, TruncateAndReusePrefix) {
  auto b = batch(2);
  ASSERT_TRUE(b);
  const auto V = static_cast<size_t>(model->config().n_vocab);
  const auto first = random_tokens(20), other = random_tokens(8);
  std::vector<BatchItem> items;
  add(items, first, 0);
  add(items, other, 1);
  ASSERT_TRUE(b->decode(items).ok());

  // Slot 0: keep 12 tokens, then a different continuation.
  ASSERT_TRUE(b->truncate(0, 12).ok());
  EXPECT_EQ(b->n_past(0), 12);
  EXPECT_EQ(b->n_past(1), 8);
  const auto cont = random_tokens(5);
  items.clear();
  add(items, cont, 0);
  for (auto& it : items) it.logits = true;
  auto l = b->decode(items);
  ASSERT_TRUE(l.ok());
  const Rows ref = context_rows({{first.begin(), first.begin() + 12}, cont});
  for (size_t i = 0; i < cont.size(); ++i) expect_same(row(*l, i, V), ref[12 + i], "continuation " + std::to_string(i));

  // Slot 1: a prompt sharing its first 5 tokens with what the slot holds.
  std::vector<int32_t> prompt(other.begin(), other.begin() + 5);
  const auto tail = random_tokens(4);
  prompt.insert(prompt.end(), tail.begin(), tail.end());
  prompt[5] = other[5] == 3 ? 4 : 3;  // differs right after the shared prefix
  auto kept = b->reuse_prefix(1, prompt);
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(*kept, 5);
  EXPECT_EQ(std::vector<int32_t>(b->tokens(1).begin(), b->tokens(1).end()),
            std::vector<int32_t>(prompt.begin(), prompt.begin() + 5));
  items.clear();
  add(items, {prompt.begin() + 5, prompt.end()}, 1);
  items.back().logits = true;
  l = b->decode(items);
  ASSERT_TRUE(l.ok());
  const Rows ref1 = context_rows({{other.begin(), other.begin() + 5}, {prompt.begin() + 5, prompt.end()}});
  expect_same(row(*l, 0, V), ref1.back(), "after reuse_prefix");

  // A prompt equal to what the slot holds is kept whole; clearing empties the slot.
  EXPECT_EQ(*b->reuse_prefix(1, prompt), static_cast<int64_t>(prompt.size()));
  ASSERT_TRUE(b->truncate(1, 0).ok());
  EXPECT_EQ(b->n_past(1), 0);
  EXPECT_TRUE(b->tokens(1).empty());
}

// Slot isolation: what another slot holds, receives, forgets or fills to capacity never changes
// a sequence's logits.
TEST_P(BatchVsContext, SlotsAreIsolated) {
  const auto a = random_tokens(30);
  auto alone = batch(2), shared = batch(2);
  ASSERT_TRUE(alone && shared);
  std::vector<float> expected, got;
  for (size_t i = 0; i < a.size(); i += 3) {
    std::vector<BatchItem> solo, mixed;
    for (size_t j = i; j < i + 3; ++j) solo.push_back({.token = a[j], .seq = 0, .logits = j == i + 2});
    // The neighbour: a varying number of random tokens before, between and after, and a clear or
    // a truncation every few steps.
    add(mixed, random_tokens(i % 4), 1);
    mixed.insert(mixed.end(), solo.begin(), solo.begin() + 2);
    add(mixed, random_tokens(1 + i % 2), 1);
    mixed.push_back(solo[2]);
    if (i % 9 == 6) ASSERT_TRUE(shared->truncate(1, shared->n_past(1) / 2).ok());
    if (i == 15) ASSERT_TRUE(shared->truncate(1, 0).ok());
    auto ls = alone->decode(solo);
    ASSERT_TRUE(ls.ok());
    expected.assign(ls->begin(), ls->end());
    auto lm = shared->decode(mixed);
    ASSERT_TRUE(lm.ok()) << lm.error().message();
    got.assign(lm->begin(), lm->end());
    expect_same(got, expected, "step " + std::to_string(i / 3));
  }
  // The neighbour filled to its capacity.
  const int64_t room = kCtx - shared->n_past(1);
  std::vector<BatchItem> fill;
  add(fill, random_tokens(static_cast<size_t>(room)), 1);
  fill.push_back({.token = 7, .seq = 0, .logits = true});
  auto lf = shared->decode(fill);
  ASSERT_TRUE(lf.ok()) << lf.error().message();
  EXPECT_EQ(shared->n_past(1), kCtx);
  auto ls = alone->decode(std::vector<BatchItem>{{.token = 7, .seq = 0, .logits = true}});
  ASSERT_TRUE(ls.ok());
  expect_same(std::vector<float>(lf->begin(), lf->end()), std::vector<float>(ls->begin(), ls->end()), "full neighbour");
}

// Lists longer than n_batch run as several passes; the rows are those of one long list.
TEST_P(BatchVsContext, ListsLongerThanTheBatch) {
  const auto a = random_tokens(9), b = random_tokens(4);
  auto small =
      BatchContext::create(*model, {.n_seq = 2, .n_ctx_per_seq = kCtx, .n_batch = 5, .n_threads = GetParam().threads});
  ASSERT_TRUE(small.ok());
  std::vector<BatchItem> items;
  add(items, a, 0);
  add(items, b, 1);
  items[8].logits = items[12].logits = true;
  auto l = (*small)->decode(items);
  ASSERT_TRUE(l.ok());
  const auto V = static_cast<size_t>(model->config().n_vocab);
  ASSERT_EQ(l->size(), 2 * V);
  // Passes of 5 items: a[0..4], a[5..8]+b[0], b[1..3].
  const Rows ra = context_rows({{a.begin(), a.begin() + 5}, {a.begin() + 5, a.end()}});
  const Rows rb = context_rows({{b.begin(), b.begin() + 1}, {b.begin() + 1, b.end()}});
  expect_same(row(*l, 0, V), ra[8], "row 0");
  expect_same(row(*l, 1, V), rb[3], "row 1");
}

// The embedding is the L2-normalised mean over the slot's positions of the final residual stream
// after the output norm: recomputed here from the last layer's l_out (the EvalCallback of a
// Context) through the scalar reference RMSNorm, pooled in double. It follows truncation.
TEST_P(BatchVsContext, EmbeddingIsTheNormalisedMeanHiddenState) {
  const ModelConfig& c = model->config();
  const auto a = random_tokens(12), b = random_tokens(7);
  auto bc = batch(2, /*embeddings=*/true);
  ASSERT_TRUE(bc);
  std::vector<BatchItem> items;
  for (size_t i = 0; i < 7; ++i) {
    items.push_back({.token = a[i], .seq = 0});
    items.push_back({.token = b[i], .seq = 1});
  }
  add(items, {a.begin() + 7, a.end()}, 0);
  ASSERT_TRUE(bc->decode(items).ok());

  auto reference = [&](const std::vector<int32_t>& toks) {
    std::vector<float> l_out;
    ContextParams p{.n_ctx = kCtx, .n_threads = GetParam().threads};
    p.eval_callback = [&](const char* name, int layer, const float* d, int64_t n_tokens, int64_t n) {
      if (layer == c.n_layer - 1 && std::string(name) == "l_out") l_out.assign(d, d + n_tokens * n);
    };
    auto ctx = Context::create(*model, p);
    EXPECT_TRUE(ctx.ok());
    // Every token's logits, so that the last layer runs for every token (with only the last
    // token's asked for, it runs for that one: keep_output_rows).
    EXPECT_TRUE((*ctx)->decode(toks, /*all_logits=*/true).ok());
    EXPECT_EQ(l_out.size(), toks.size() * static_cast<size_t>(c.n_embd));
    std::vector<float> normed(l_out.size());
    backend::ref::rmsnorm(l_out.data(), model->weights().output_norm.f32(), static_cast<int64_t>(toks.size()), c.n_embd,
                          c.rms_eps, normed.data());
    std::vector<double> mean(static_cast<size_t>(c.n_embd), 0.0);
    for (size_t t = 0; t < toks.size(); ++t)
      for (size_t i = 0; i < mean.size(); ++i) mean[i] += normed[t * mean.size() + i] / double(toks.size());
    double norm = 0;
    for (double v : mean) norm += v * v;
    for (double& v : mean) v /= std::sqrt(norm);
    return mean;
  };
  auto expect_close = [&](int32_t seq, const std::vector<double>& ref) {
    auto e = bc->embedding(seq);
    ASSERT_TRUE(e.ok()) << e.error().message();
    ASSERT_EQ(e->size(), ref.size());
    double norm = 0;
    for (size_t i = 0; i < ref.size(); ++i) {
      EXPECT_NEAR((*e)[i], ref[i], 1e-6) << "sequence " << seq << " dim " << i;
      norm += double((*e)[i]) * (*e)[i];
    }
    EXPECT_NEAR(norm, 1.0, 1e-6);
  };
  expect_close(0, reference(a));
  expect_close(1, reference(b));
  ASSERT_TRUE(bc->truncate(0, 4).ok());
  expect_close(0, reference({a.begin(), a.begin() + 4}));

  ASSERT_TRUE(bc->truncate(1, 0).ok());
  auto empty = bc->embedding(1);
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.error().message().find("sequence 1 holds no tokens"), std::string::npos);
  auto off = batch(1);
  ASSERT_TRUE(off);
  EXPECT_FALSE(off->embedding(0).ok());
}

INSTANTIATE_TEST_SUITE_P(Dtypes, BatchVsContext,
                         ::testing::Values(BatchCase{DType::f32, 1}, BatchCase{DType::f32, 2}, BatchCase{DType::f16, 2},
                                           BatchCase{DType::q8_0, 1}, BatchCase{DType::q8_0, 2},
                                           BatchCase{DType::q4_0, 1}, BatchCase{DType::q4_0, 2}),
                         case_name);

// Bad items are refused before anything runs: every slot keeps what it held, and the next decode
// gives what it would have given without the failed call.
TEST(BatchContextErrors, NothingHalfApplied) {
  test::TempDir dir;
  RandomModelSpec spec;
  spec.n_ctx = 32;
  const std::string path = dir.file("m.gguf");
  ASSERT_TRUE(write_random_model(spec, path).ok());
  auto model = Model::load(path);
  ASSERT_TRUE(model.ok());
  auto b = BatchContext::create(**model, {.n_seq = 2, .n_ctx_per_seq = 8, .n_threads = 1});
  ASSERT_TRUE(b.ok()) << b.error().message();
  EXPECT_EQ((*b)->n_seq(), 2);
  EXPECT_EQ((*b)->n_ctx_per_seq(), 8);
  ASSERT_TRUE((*b)->decode(std::vector<BatchItem>{{5, 0, false}, {6, 0, false}, {9, 1, false}}).ok());

  auto expect_error = [&](std::vector<BatchItem> items, ErrorCode code, const std::string& text) {
    auto r = (*b)->decode(items);
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ(r.error().code(), code);
    EXPECT_NE(r.error().message().find(text), std::string::npos) << r.error().message();
    EXPECT_EQ((*b)->n_past(0), 2);
    EXPECT_EQ((*b)->n_past(1), 1);
  };
  expect_error({}, ErrorCode::invalid_argument, "no items");
  expect_error({{5, 0, true}, {5, 2, true}}, ErrorCode::invalid_argument, "item 1: sequence 2 is out of range (0..1)");
  expect_error({{5, -1, true}}, ErrorCode::invalid_argument, "sequence -1 is out of range");
  expect_error({{5, 1, false}, {512, 0, true}}, ErrorCode::invalid_argument,
               "item 1: token 512 is outside the vocabulary (0..511)");
  expect_error({{5, 1, false}, {-3, 1, true}}, ErrorCode::invalid_argument, "token -3 is outside");
  std::vector<BatchItem> overflow(7, BatchItem{4, 0, false});
  overflow.push_back({4, 1, true});
  expect_error(overflow, ErrorCode::resource_exhausted,
               "slot 0 is full: 2 cached + 7 new tokens exceed its capacity of 8");

  // Slot 1 then continues as in a twin that was never asked.
  auto twin = BatchContext::create(**model, {.n_seq = 2, .n_ctx_per_seq = 8, .n_threads = 1});
  ASSERT_TRUE(twin.ok());
  ASSERT_TRUE((*twin)->decode(std::vector<BatchItem>{{5, 0, false}, {6, 0, false}, {9, 1, false}}).ok());
  auto want = (*twin)->decode(std::vector<BatchItem>{{10, 1, true}});
  ASSERT_TRUE(want.ok());
  const std::vector<float> expected(want->begin(), want->end());
  auto got = (*b)->decode(std::vector<BatchItem>{{10, 1, true}});
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(std::vector<float>(got->begin(), got->end()), expected);

  EXPECT_FALSE((*b)->truncate(2, 0).ok());
  EXPECT_FALSE((*b)->reuse_prefix(-1, {}).ok());
  EXPECT_EQ((*b)->n_past(5), 0);
  EXPECT_TRUE((*b)->tokens(5).empty());
  EXPECT_FALSE(BatchContext::create(**model, {.n_seq = 0}).ok());
}

}  // namespace
}  // namespace fragua::model
