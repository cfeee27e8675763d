// SPDX-License-Identifier: Apache-2.0
#include <filesystem>

#include "fixtures.h"
#include "fragua/base/file.h"
#include "fragua/base/metrics.h"
#include "fragua/format/safetensors.h"
#include "fragua/tokenize/tokenizer.h"
#include "test_util.h"

namespace fragua::train {
namespace {

struct TrainerTest : ::testing::Test {
  test::TempDir dir;
  std::string shards;
  void SetUp() override {
    shards = dir.file("shards");
    testing::make_shards(shards, dir.path());
  }
};

TEST_F(TrainerTest, ResumedRunFollowsTheUninterruptedTrajectoryExactly) {
  auto c = testing::tiny_config(shards, dir.file("straight"));
  auto straight = train(c);
  ASSERT_TRUE(straight.ok()) << straight.error().to_string();
  ASSERT_EQ(straight->losses.size(), 8u);
  EXPECT_LT(straight->losses.back(), straight->losses.front());

  c.out_dir = dir.file("killed");
  c.stop_after = 3;
  auto first = train(c);
  ASSERT_TRUE(first.ok()) << first.error().to_string();
  EXPECT_TRUE(first->stopped);
  c.stop_after = -1;
  c.resume = true;
  auto second = train(c);
  ASSERT_TRUE(second.ok()) << second.error().to_string();
  std::vector<float> joined = first->losses;
  joined.insert(joined.end(), second->losses.begin(), second->losses.end());
  EXPECT_EQ(joined, straight->losses);  // bitwise: same batches, same arithmetic
  EXPECT_EQ(testing::latest_params(dir.file("killed")), testing::latest_params(dir.file("straight")));
  // The metrics file reads as one run: steps 1..8 once each, validation with bpb per language.
  auto lines = read_metrics(dir.file("killed/metrics.jsonl"));
  ASSERT_TRUE(lines.ok());
  int train_lines = 0;
  for (const auto& l : *lines) {
    if (l["type"] == "train") {
      EXPECT_EQ(l["step"], ++train_lines);
    }
    if (l["type"] == "val") {
      EXPECT_EQ(l["val_bpb"].size(), 4u) << l.dump();
    }
  }
  EXPECT_EQ(train_lines, 8);
}

// Issue 23 (--profile): every part is timed, the parts and "other" add up to the step time,
// the matmul count matches the model (per layer 7 forward + 7 backward, plus the output head),
// the table is written to <out>/profile.json, and profiling changes no number of the run.
TEST_F(TrainerTest, ProfileAccountsForTheStepTime) {
  auto c = testing::tiny_config(shards, dir.file("plain"));
  c.steps = 2;
  c.eval_every = 0;
  auto plain = train(c);
  ASSERT_TRUE(plain.ok()) << plain.error().to_string();
  EXPECT_TRUE(plain->profile.is_null());
  EXPECT_FALSE(std::filesystem::exists(dir.file("plain/profile.json")));
  c.out_dir = dir.file("profiled");
  c.profile = true;
  auto profiled = train(c);
  ASSERT_TRUE(profiled.ok()) << profiled.error().to_string();
  EXPECT_EQ(profiled->losses, plain->losses);
  const nlohmann::json& p = profiled->profile;
  ASSERT_TRUE(p.contains("parts")) << p.dump();
  EXPECT_EQ(p["steps"], 2);
  std::vector<std::string> names;
  double sum = 0;
  for (const auto& part : p["parts"]) {
    names.push_back(part["part"]);
    EXPECT_GE(part["seconds"].get<double>(), 0.0) << part.dump();
    sum += part["seconds"].get<double>();
  }
  EXPECT_EQ(names, (std::vector<std::string>{"matmul", "attention", "norms", "pointwise", "loss", "optimizer", "data",
                                             "other"}));
  EXPECT_NEAR(sum, p["seconds"].get<double>(), 1e-6 + 1e-3 * p["seconds"].get<double>());
  for (size_t i = 0; i < 7; ++i) EXPECT_GT(p["parts"][i]["calls"].get<uint64_t>(), 0u) << names[i];
  const uint64_t layers = static_cast<uint64_t>(c.model.n_layer);
  EXPECT_EQ(p["parts"][0]["calls"].get<uint64_t>(), 2 * (layers * 14 + 2));
  EXPECT_GT(p["matmul_gflops_per_s"].get<double>(), 0.0);
  EXPECT_EQ(p["precision"], "f32");
  auto written = read_file(dir.file("profiled/profile.json"));
  ASSERT_TRUE(written.ok());
  EXPECT_EQ(nlohmann::json::parse(*written), p);
}

// Issue 23 (--precision bf16): the loss curve of a short run stays within 0.1% of the F32 run's
// at every step (measured: 0.01% at most; docs/train.md), and differs from it (the BF16 products
// were used). On a CPU without
// AVX512-BF16 the run falls back to F32 and its curve is the F32 one exactly.
TEST_F(TrainerTest, Bf16LossCurveFollowsF32) {
  auto c = testing::tiny_config(shards, dir.file("f32"));
  c.eval_every = 0;
  auto f32 = train(c);
  ASSERT_TRUE(f32.ok()) << f32.error().to_string();
  c.out_dir = dir.file("bf16");
  c.bf16 = true;
  auto bf16 = train(c);
  ASSERT_TRUE(bf16.ok()) << bf16.error().to_string();
  ASSERT_EQ(bf16->losses.size(), f32->losses.size());
  if (!kernels::bf16_matmul_available()) {
    EXPECT_EQ(bf16->losses, f32->losses);
    return;
  }
  EXPECT_NE(bf16->losses, f32->losses);
  for (size_t i = 0; i < f32->losses.size(); ++i)
    EXPECT_NEAR(bf16->losses[i], f32->losses[i], 1e-3 * f32->losses[i]) << "step " << i + 1;
}

TEST_F(TrainerTest, AccumulationEqualsALargerBatch) {
  auto c = testing::tiny_config(shards, dir.file("big"));
  c.batch = 4;
  c.steps = 4;
  ASSERT_TRUE(train(c).ok());
  c.out_dir = dir.file("accum");
  c.batch = 2;
  c.grad_accum = 2;
  ASSERT_TRUE(train(c).ok());
  auto a = testing::latest_params(dir.file("big")), b = testing::latest_params(dir.file("accum"));
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) ASSERT_NEAR(a[i], b[i], 1e-5) << i;
}

TEST_F(TrainerTest, BadInputFailsBeforeAnythingIsWritten) {
  auto c = testing::tiny_config(dir.file("missing"), dir.file("out1"));
  auto r = train(c);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::not_found);
  EXPECT_FALSE(std::filesystem::exists(dir.file("out1")));

  // Corrupt shard: one flipped byte in the data section.
  std::string corrupt = dir.file("corrupt");
  std::filesystem::create_directories(corrupt);
  std::filesystem::copy(shards + "/shard-00001.fts", corrupt + "/shard-00001.fts");
  {
    std::string bytes = *read_file(corrupt + "/shard-00001.fts");
    bytes[bytes.size() - 100] ^= 1;
    ASSERT_TRUE(write_file_atomic(corrupt + "/shard-00001.fts", bytes).ok());
  }
  c = testing::tiny_config(corrupt, dir.file("out2"));
  r = train(c);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::corruption);
  EXPECT_NE(r.error().message().find("shard-00001.fts"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(dir.file("out2")));

  // A tokenizer that does not match the shards' (they were made with the byte encoder).
  c = testing::tiny_config(shards, dir.file("out3"));
  c.tokenizer = dir.file("nope.gguf");
  r = train(c);
  ASSERT_FALSE(r.ok());
  EXPECT_FALSE(std::filesystem::exists(dir.file("out3")));
  {
    tokenize::VocabSpec spec;
    spec.tokens = {"<unk>", "<s>", "</s>"};
    spec.types = {tokenize::TokenType::unknown, tokenize::TokenType::control, tokenize::TokenType::control};
    for (int b = 0; b < 256; ++b) {
      spec.tokens.push_back(fmt::format("<0x{:02X}>", b));
      spec.types.push_back(tokenize::TokenType::byte);
    }
    spec.scores.assign(spec.tokens.size(), 0.0f);
    spec.unk_id = 0, spec.bos_id = 1, spec.eos_id = 2;
    auto tk = tokenize::Tokenizer::from_spec(spec);
    ASSERT_TRUE(tk.ok()) << tk.error().to_string();
    ASSERT_TRUE(tk->save_gguf(dir.file("tok.gguf")).ok());
  }
  c.tokenizer = dir.file("tok.gguf");
  r = train(c);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("does not match the shards"), std::string::npos) << r.error().to_string();
  EXPECT_FALSE(std::filesystem::exists(dir.file("out3")));
  c.tokenizer = "byte";
  c.model.n_vocab = 100;  // smaller than the shards' 258
  r = train(c);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("n_vocab 100"), std::string::npos);

  // Too big for memory: refused with the numbers, before writing.
  c = testing::tiny_config(shards, dir.file("out4"));
  c.max_memory = 1 << 16;
  r = train(c);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code(), ErrorCode::resource_exhausted);
  EXPECT_NE(r.error().message().find("available"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(dir.file("out4")));

  // An existing run is never overwritten without --resume.
  c = testing::tiny_config(shards, dir.file("run"));
  c.steps = 2;
  ASSERT_TRUE(train(c).ok());
  std::string before = *read_file(dir.file("run/metrics.jsonl"));
  r = train(c);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("--resume"), std::string::npos);
  EXPECT_EQ(*read_file(dir.file("run/metrics.jsonl")), before);
}

TEST(TrainConfig, JsonRoundTripAndUnknownKeys) {
  TrainConfig a = testing::tiny_config("d", "o");
  a.data.mix = {{"es", 0.7}, {"eu", 0.3}};
  a.schedule.kind = ScheduleKind::wsd;
  TrainConfig b;
  ASSERT_TRUE(b.merge_json(a.to_json()).ok());
  EXPECT_EQ(b.to_json(), a.to_json());
  auto st = b.merge_json({{"lr", 1e-3}, {"bacth", 4}});
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message().find("bacth"), std::string::npos);
}

}  // namespace
}  // namespace fragua::train
