// SPDX-License-Identifier: Apache-2.0
// Granite 3.x MoE (granitemoe: src/model/arch/granitemoe.cpp, moe.cpp) and Granite 4.0-H
// (granitehybrid: arch/granitehybrid.cpp, mamba2.cpp, the recurrent state) against the
// independent PyTorch reference (tests/reference/model/granite4_ref.py, float64, whose Mamba-2 is
// the quadratic dual form of the paper, not the recurrent scan that Fragua runs), in uneven prompt
// chunks and token by token; a sequence's logits in a BatchContext beside another; and the
// all-or-nothing truncation of a recurrent state.
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <sstream>

#include <gtest/gtest.h>

#include "backend/cpu/cpu_matmul.h"
#include "fragua/base/file.h"
#include "fragua/format/gguf.h"
#include "fragua/model/batch.h"
#include "fragua/model/model.h"
#include "fragua/model/quantize.h"
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

// Logits of every token, decoded in the given chunks.
std::vector<float> run_chunks(const Model& m, std::span<const int32_t> tokens, std::span<const size_t> chunks,
                              int threads) {
  ContextParams p;
  p.n_ctx = 64;
  p.n_threads = threads;
  auto ctx = Context::create(m, p);
  EXPECT_TRUE(ctx.ok());
  std::vector<float> out;
  size_t pos = 0;
  for (size_t chunk : chunks) {
    auto logits = (*ctx)->decode(tokens.subspan(pos, chunk), /*all_logits=*/true);
    EXPECT_TRUE(logits.ok()) << logits.error().to_string();
    if (!logits.ok()) return {};
    out.insert(out.end(), logits->begin(), logits->end());
    pos += chunk;
  }
  EXPECT_EQ(pos, tokens.size());
  return out;
}

double max_rel_diff(const std::vector<float>& a, const std::vector<float>& ref) {
  double err = 0, mx = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    err = std::max(err, std::fabs(static_cast<double>(a[i]) - ref[i]));
    mx = std::max(mx, std::fabs(static_cast<double>(ref[i])));
  }
  return err / mx;
}

struct Granite4Case {
  const char* model;
  double tolerance;  // max |ours - ref| / max |ref| over all logits
};

// As forward_test.cpp: the f16 KV cache and f16 attention accumulation are the roundings of f32
// weights; f16 weights add f16 activations; Q8_0 adds 8-bit activations. The Mamba-2 layers and
// the router add none of their own beyond f32 arithmetic. Measured: moe_f32 1.5e-6,
// moe_shared_f16 9.0e-5, hybrid_moe_f16 2.8e-4, hybrid_dense_f32 1.4e-6, hybrid_q8_0 5.6e-3.
const Granite4Case kGranite4Cases[] = {
    {"granite4_moe_f32", 1e-4},          {"granite4_moe_shared_f16", 5e-4}, {"granite4_hybrid_moe_f16", 1e-3},
    {"granite4_hybrid_dense_f32", 1e-4}, {"granite4_hybrid_q8_0", 2e-2},
};

class Granite4Test : public ::testing::TestWithParam<Granite4Case> {};

TEST_P(Granite4Test, MatchesPyTorchReferenceInChunksAndTokenByToken) {
  const Granite4Case& c = GetParam();
  auto model = Model::load(test::golden_model(std::string(c.model) + ".gguf"));
  ASSERT_TRUE(model.ok()) << model.error().to_string();
  const auto tokens = golden_tokens();
  const auto ref = golden_logits(c.model);
  ASSERT_EQ(ref.size(), tokens.size() * static_cast<size_t>((*model)->config().n_vocab));
  const size_t uneven[] = {7, 1, 9, 1, 6};
  const std::vector<size_t> one_by_one(tokens.size(), 1);
  for (int threads : {1, 2}) {
    const auto chunked = run_chunks(**model, tokens, uneven, threads);
    const auto stepped = run_chunks(**model, tokens, one_by_one, threads);
    ASSERT_EQ(chunked.size(), ref.size());
    ASSERT_EQ(stepped.size(), ref.size());
    const double e_chunked = max_rel_diff(chunked, ref), e_stepped = max_rel_diff(stepped, ref);
    std::printf("%s threads %d: max |error| / max |logit|: chunks %.3g, token by token %.3g\n", c.model, threads,
                e_chunked, e_stepped);
    EXPECT_LE(e_chunked, c.tolerance) << c.model << " threads " << threads;
    EXPECT_LE(e_stepped, c.tolerance) << c.model << " threads " << threads;
    // The prompt form and the recurrent step are one computation: each token's state update is
    // the same arithmetic whatever the chunk, and so is each row of a quantized matmul (all chunks
    // here are below the 64-token prompt-attention regime), so Q8_0 logits agree to the bit. Float
    // weights: the float GEMM sums a lone activation column in another order than a column in a
    // tile (batch_context_test.cpp): a few ulps, bounded here by 1e-5 of the largest logit.
    if (std::string(c.model).find("q8_0") != std::string::npos)
      EXPECT_EQ(0, std::memcmp(chunked.data(), stepped.data(), chunked.size() * sizeof(float))) << c.model;
    else
      EXPECT_LE(max_rel_diff(chunked, stepped), 1e-5) << c.model;
  }
}

// FRAGUA_SSM_CHUNK=4: the prompt batches' scan in its chunked (SSD) form, batches of 7 and 9
// tokens cut into chunks of 4 with a shorter last one, the state passed between chunks and batches.
// Within the same tolerance of the reference as the recurrent form, and near that form (float
// weights: 1e-5 of the largest logit; Q8_0's 8-bit activations can round a last-bit difference
// up to a step of their grid, so there the reference's tolerance).
TEST_P(Granite4Test, ChunkedScanMatchesTheReferenceAndTheRecurrentForm) {
  const Granite4Case& c = GetParam();
  if (std::string(c.model).find("hybrid") == std::string::npos) GTEST_SKIP() << c.model << " has no Mamba-2 layers";
  auto model = Model::load(test::golden_model(std::string(c.model) + ".gguf"));
  ASSERT_TRUE(model.ok()) << model.error().to_string();
  const auto tokens = golden_tokens();
  const auto ref = golden_logits(c.model);
  const size_t uneven[] = {7, 1, 9, 1, 6};
  const auto recurrent = run_chunks(**model, tokens, uneven, 2);
  struct ChunkEnv {
    ChunkEnv() { setenv("FRAGUA_SSM_CHUNK", "4", 1); }
    ~ChunkEnv() { unsetenv("FRAGUA_SSM_CHUNK"); }
  } chunk_env;
  for (int threads : {1, 2}) {
    const auto chunked = run_chunks(**model, tokens, uneven, threads);
    ASSERT_EQ(chunked.size(), ref.size());
    const double e_ref = max_rel_diff(chunked, ref), e_rec = max_rel_diff(chunked, recurrent);
    std::printf("%s threads %d chunked scan: against the reference %.3g, against the recurrent form %.3g\n", c.model,
                threads, e_ref, e_rec);
    EXPECT_LE(e_ref, c.tolerance) << c.model << " threads " << threads;
    const bool q8 = std::string(c.model).find("q8_0") != std::string::npos;
    EXPECT_LE(e_rec, q8 ? c.tolerance : 1e-5) << c.model << " threads " << threads;
  }
}

INSTANTIATE_TEST_SUITE_P(Golden, Granite4Test, ::testing::ValuesIn(kGranite4Cases),
                         [](const auto& info) { return std::string(info.param.model); });

// Two sequences decoded in the same passes (interleaved chunks) keep separate recurrent states:
// each gets the bits that a Context of its own gives (Q8_0: integer kernels, row by row).
TEST(Granite4Batch, SequencesKeepTheirOwnRecurrentState) {
  auto model = Model::load(test::golden_model("granite4_hybrid_q8_0.gguf"));
  ASSERT_TRUE(model.ok()) << model.error().to_string();
  const auto tokens = golden_tokens();
  const std::vector<int32_t> a(tokens.begin(), tokens.begin() + 12), b(tokens.begin() + 12, tokens.end());
  auto batch = BatchContext::create(**model, {.n_seq = 3, .n_ctx_per_seq = 32, .n_threads = 2});
  ASSERT_TRUE(batch.ok()) << batch.error().to_string();
  std::vector<float> got_a, got_b;
  const int64_t V = (*model)->config().n_vocab;
  // Sequence 0 in chunks of 4, sequence 2 in chunks of 3, in the same decode calls.
  for (size_t step = 0; step < 4; ++step) {
    std::vector<BatchItem> items;
    for (size_t i = step * 3; i < step * 3 + 3; ++i) items.push_back({.token = b[i], .seq = 2, .logits = true});
    if (step < 3)
      for (size_t i = step * 4; i < step * 4 + 4; ++i) items.push_back({.token = a[i], .seq = 0, .logits = true});
    auto logits = (*batch)->decode(items);
    ASSERT_TRUE(logits.ok()) << logits.error().to_string();
    got_b.insert(got_b.end(), logits->begin(), logits->begin() + 3 * V);
    got_a.insert(got_a.end(), logits->begin() + 3 * V, logits->end());
  }
  const size_t fours[] = {4, 4, 4}, threes[] = {3, 3, 3, 3};
  const auto ref_a = run_chunks(**model, a, fours, 2), ref_b = run_chunks(**model, b, threes, 2);
  ASSERT_EQ(got_a.size(), ref_a.size());
  ASSERT_EQ(got_b.size(), ref_b.size());
  EXPECT_EQ(0, std::memcmp(got_a.data(), ref_a.data(), ref_a.size() * sizeof(float)));
  EXPECT_EQ(0, std::memcmp(got_b.data(), ref_b.data(), ref_b.size() * sizeof(float)));
}

// Batches of up to 16 tokens run every chosen expert at once, their small products spread over
// the threads (Backend::matmuls); longer ones go expert by expert with threads inside each. Both
// give every thread count the same bits, and (integer kernels: each row's result is its own) Q8_0
// gives a token the same bits either way.
TEST(Granite4Experts, ThreadCountsAndGroupingGiveTheSameBits) {
  const auto tokens = golden_tokens();
  const size_t steps[] = {1, 1, 1, 2, 3, 16};  // 24 tokens: grouped passes, then a batch past 16
  const std::vector<size_t> one_batch = {tokens.size()};
  for (const char* name : {"granite4_hybrid_q8_0", "granite4_moe_shared_f16"}) {
    auto model = Model::load(test::golden_model(std::string(name) + ".gguf"));
    ASSERT_TRUE(model.ok()) << model.error().to_string();
    const auto want = run_chunks(**model, tokens, steps, 1);
    for (int threads : {2, 3}) {
      const auto got = run_chunks(**model, tokens, steps, threads);
      ASSERT_EQ(got.size(), want.size());
      EXPECT_EQ(0, std::memcmp(got.data(), want.data(), want.size() * sizeof(float))) << name << " threads " << threads;
    }
    if (std::string(name).find("q8_0") != std::string::npos) {
      const auto whole = run_chunks(**model, tokens, one_batch, 2);
      ASSERT_EQ(whole.size(), want.size());
      EXPECT_EQ(0, std::memcmp(whole.data(), want.data(), want.size() * sizeof(float))) << name;
    }
  }
}

// A recurrent state stands for the whole cached sequence: truncation keeps all or nothing, and a
// sequence evaluated again after a clear gives the logits of a fresh context.
TEST(Granite4Truncate, KeepsAllOrNothing) {
  auto model = Model::load(test::golden_model("granite4_hybrid_dense_f32.gguf"));
  ASSERT_TRUE(model.ok()) << model.error().to_string();
  const auto tokens = golden_tokens();
  const std::span<const int32_t> first(tokens.data(), 10);
  auto ctx = Context::create(**model, {.n_ctx = 64, .n_threads = 1});
  ASSERT_TRUE(ctx.ok());
  ASSERT_TRUE((*ctx)->decode(first).ok());
  (*ctx)->truncate(10);
  EXPECT_EQ((*ctx)->n_past(), 10);
  (*ctx)->truncate(4);
  EXPECT_EQ((*ctx)->n_past(), 0);  // not 4: the state after 4 tokens is gone
  auto again = (*ctx)->decode(first);
  ASSERT_TRUE(again.ok());
  const std::vector<float> again_v(again->begin(), again->end());
  auto fresh = Context::create(**model, {.n_ctx = 64, .n_threads = 1});
  auto want = (*fresh)->decode(first);
  ASSERT_TRUE(want.ok());
  EXPECT_EQ(0, std::memcmp(again_v.data(), want->data(), want->size() * sizeof(float)));

  auto batch = BatchContext::create(**model, {.n_seq = 2, .n_ctx_per_seq = 32, .n_threads = 1});
  ASSERT_TRUE(batch.ok());
  std::vector<BatchItem> items;
  for (int32_t t : first) items.push_back({.token = t, .seq = 1});
  ASSERT_TRUE((*batch)->decode(items).ok());
  // A prompt that extends everything the slot holds reuses it; one that departs from it inside
  // the slot's tokens reuses nothing.
  std::vector<int32_t> longer(tokens.begin(), tokens.begin() + 14);
  EXPECT_EQ(*(*batch)->reuse_prefix(1, longer), 10);
  std::vector<int32_t> departs(tokens.begin(), tokens.begin() + 14);
  departs[6] = (departs[6] + 1) % 512;
  EXPECT_EQ(*(*batch)->reuse_prefix(1, departs), 0);
  EXPECT_EQ((*batch)->n_past(1), 0);
  ASSERT_TRUE((*batch)->decode(items).ok());
  ASSERT_TRUE((*batch)->truncate(1, 3).ok());
  EXPECT_EQ((*batch)->n_past(1), 0);
}

// Every SIMD level and thread count gives the same bits (docs/engine.md). A granitehybrid Q8_0
// file as llama-quantize and fragua quantize write it keeps the router (ffn_gate_inp) in F16.
// Before the float kernels had one definition on every level (simd/gemm_float.inl), that
// router's matrix-vector product at decode rounded differently on AVX2 (and the scalar level),
// and granitehybrid-small Q8_0 continued differently under FRAGUA_SIMD=avx2. Every traced
// intermediate result is compared as well as the logits: the 8-bit activations of a small Q8_0
// model absorb most one-ulp differences before they reach its logits.
TEST(Granite4Simd, HybridQ8_0GivesTheSameBitsOnEveryLevelAndThreadCount) {
  test::TempDir dir;
  RandomModelSpec s;
  s.arch = "granitehybrid";
  s.dtype = DType::f16;
  s.n_layer = 4;  // mmma
  s.n_expert = 4;
  s.n_expert_used = 2;
  s.n_ff = 64;
  s.n_ff_shexp = 64;
  s.rope = false;
  s.seed = 3;
  ASSERT_TRUE(write_random_model(s, dir.file("f16.gguf")).ok());
  auto q8 = find_quantize_type("Q8_0");
  ASSERT_TRUE(q8.ok());
  QuantizeOptions qo{.type = *q8};
  qo.progress = false;
  qo.n_threads = 1;
  ASSERT_TRUE(quantize_model(dir.file("f16.gguf"), dir.file("q8.gguf"), qo).ok());
  {
    auto file = format::GgufFile::open(dir.file("q8.gguf"));
    ASSERT_TRUE(file.ok());
    const format::GgufTensorInfo* router = file->find_tensor("blk.0.ffn_gate_inp.weight");
    ASSERT_NE(router, nullptr);
    ASSERT_EQ(router->dtype, DType::f16);  // the shape feature this test is about
  }
  auto model = Model::load(dir.file("q8.gguf"));
  ASSERT_TRUE(model.ok()) << model.error().to_string();
  const auto tokens = golden_tokens();
  struct RestoreLevel {
    std::string level = cpu::simd_level();
    ~RestoreLevel() { cpu::set_simd_level(level); }
  } restore;
  std::vector<float> first;
  std::string first_run;
  for (const char* level : {"scalar", "avx2", "avx512"}) {
    if (!cpu::simd_supported(level)) continue;
    cpu::set_simd_level(level);
    for (int threads : {1, 3}) {
      std::vector<float> seen;
      ContextParams p;
      p.n_ctx = 64;
      p.n_threads = threads;
      p.eval_callback = [&seen](const char*, int, const float* data, int64_t t, int64_t n) {
        seen.insert(seen.end(), data, data + t * n);
      };
      auto ctx = Context::create(**model, p);
      ASSERT_TRUE(ctx.ok());
      // A prompt in uneven batches, then decode steps (where the router's product is a
      // matrix-vector one).
      size_t pos = 0;
      for (size_t chunk : {7, 1, 9, 1, 1, 1, 1, 1, 1, 1}) {
        auto logits = (*ctx)->decode(std::span<const int32_t>(tokens).subspan(pos, chunk), /*all_logits=*/true);
        ASSERT_TRUE(logits.ok()) << logits.error().to_string();
        seen.insert(seen.end(), logits->begin(), logits->end());
        pos += chunk;
      }
      const std::string run = std::string(level) + " threads " + std::to_string(threads);
      if (first.empty()) {
        first = seen;
        first_run = run;
        continue;
      }
      ASSERT_EQ(seen.size(), first.size()) << run;
      size_t n_diff = 0;
      for (size_t i = 0; i < seen.size(); ++i) n_diff += std::memcmp(&seen[i], &first[i], 4) != 0;
      EXPECT_EQ(n_diff, 0u) << run << " against " << first_run << ", of " << seen.size() << " values";
    }
  }
}

// attention.head_count_kv as an array marks the Mamba layers (0), as llama.cpp writes Granite
// 4.0-H; an architecture without recurrent layers refuses such a file, naming the key.
TEST(Granite4Config, HeadCountKvArrayMarksTheMambaLayers) {
  auto file = format::GgufFile::open(test::golden_model("granite4_hybrid_dense_f32.gguf"));
  ASSERT_TRUE(file.ok());
  format::LlamaHParams hp;
  ASSERT_TRUE(format::read_llama_hparams(*file, "granitehybrid", hp).ok());
  EXPECT_EQ(hp.recurrent_layer, (std::vector<bool>{true, false, true, false}));
  EXPECT_EQ(hp.n_head_kv, 2);

  test::TempDir dir;
  format::GgufWriter w;
  w.set("general.architecture", format::GgufValue::of_string("granite"));
  for (const char* k : {"embedding_length", "feed_forward_length"})
    w.set(std::string("granite.") + k, format::GgufValue::of_u32(64));
  w.set("granite.block_count", format::GgufValue::of_u32(2));
  w.set("granite.attention.head_count", format::GgufValue::of_u32(4));
  w.set("granite.attention.head_count_kv", format::GgufValue::of_i32s({2, 0}));
  ASSERT_TRUE(w.write(dir.file("m.gguf")).ok());
  auto m = Model::load(dir.file("m.gguf"));
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.error().to_string().find("granite.attention.head_count_kv[1] is 0"), std::string::npos)
      << m.error().to_string();
}

}  // namespace
}  // namespace fragua::model
