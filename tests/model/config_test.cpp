// SPDX-License-Identifier: Apache-2.0
// Hyper-parameters read at load (src/model/config.cpp, issue 12 defect 13): a NaN, infinite,
// negative or inconsistent value is an error naming the key, never a model that loads and
// produces NaN logits.
#include <cmath>
#include <limits>

#include <gtest/gtest.h>

#include "bounded_run.h"
#include "fragua/format/gguf.h"
#include "fragua/model/model.h"
#include "fragua/model/random_model.h"
#include "model/fixtures.h"
#include "test_util.h"

namespace fragua::model {
namespace {

using format::GgufValue;

// Copies `src` to `dst` with `key` set to `value` (or removed when value is nullopt).
void rewrite(const std::string& src, const std::string& dst, const std::string& key, std::optional<GgufValue> value) {
  auto f = format::GgufFile::open(src);
  ASSERT_TRUE(f.ok()) << f.error().to_string();
  format::GgufWriter w;
  bool done = false;
  for (const auto& kv : f->metadata()) {
    if (kv.key == key) {
      done = true;
      if (value) w.set(kv.key, *value);
    } else {
      w.set(kv.key, kv.value);
    }
  }
  if (!done && value) w.set(key, *value);
  for (const auto& t : f->tensors()) ASSERT_TRUE(w.add_tensor(t.name, t.ne, t.dtype, t.data, t.n_bytes).ok());
  ASSERT_TRUE(w.write(dst).ok());
}

struct ConfigTest : ::testing::Test {
  test::TempDir dir;
  std::string base = dir.file("base.gguf");
  void SetUp() override { ASSERT_TRUE(write_random_model(tiny_model_spec(), base).ok()); }
  // Loads base with one key changed; returns the error message ("" when it loads).
  std::string load_with(const std::string& key, std::optional<GgufValue> value) {
    const std::string path = dir.file("m.gguf");
    rewrite(base, path, key, value);
    auto m = Model::load(path);
    return m.ok() ? "" : m.error().message();
  }
};

TEST_F(ConfigTest, FloatHyperParametersMustBeFiniteAndPositive) {
  ASSERT_EQ(load_with("general.name", GgufValue::of_string("ok")), "");
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  for (const char* key : {"llama.attention.layer_norm_rms_epsilon", "llama.rope.freq_base"}) {
    for (float v : {nan, inf, -inf, -1.0f, 0.0f}) {
      std::string m = load_with(key, GgufValue::of_f32(v));
      EXPECT_NE(m.find(std::string(key) + " = "), std::string::npos) << key << " = " << v << ": " << m;
      EXPECT_NE(m.find("must be a finite number in (0, "), std::string::npos) << m;
    }
  }
  // An f64 beyond float's range must not reach a float conversion (undefined behaviour).
  GgufValue big;
  big.type = format::GgufType::f64;
  big.f = 1e300;
  EXPECT_NE(load_with("llama.rope.freq_base", big).find("llama.rope.freq_base = 1e+300"), std::string::npos);
  EXPECT_NE(load_with("llama.attention.layer_norm_rms_epsilon", GgufValue::of_f32(2.0f)).find("(0, 1]"),
            std::string::npos);
}

TEST_F(ConfigTest, IntegerHyperParametersAreRangeCheckedByKey) {
  EXPECT_NE(load_with("llama.attention.head_count_kv", GgufValue::of_u32(4))
                .find("llama.attention.head_count_kv = 4 is outside [1, 2]"),
            std::string::npos);
  EXPECT_NE(load_with("llama.context_length", GgufValue::of_u64(uint64_t{1} << 40))
                .find("llama.context_length = 1099511627776"),
            std::string::npos);
  EXPECT_NE(load_with("llama.block_count", GgufValue::of_i32(-1)).find("'llama.block_count' is negative"),
            std::string::npos);
  EXPECT_NE(load_with("llama.embedding_length", std::nullopt).find("'llama.embedding_length' is missing"),
            std::string::npos);
  // n_embd 17 is not a multiple of the 2 heads (and no key_length says otherwise).
  EXPECT_NE(load_with("llama.embedding_length", GgufValue::of_u32(17))
                .find("is not a multiple of llama.attention.head_count"),
            std::string::npos);
  EXPECT_NE(load_with("llama.rope.dimension_count", GgufValue::of_u32(9))
                .find("llama.rope.dimension_count = 9 is outside [1, 8]"),
            std::string::npos);
}

TEST_F(ConfigTest, RopeScalingFactorAndGraniteMultipliers) {
  const std::string path = dir.file("s.gguf");
  rewrite(base, dir.file("lin.gguf"), "llama.rope.scaling.type", GgufValue::of_string("linear"));
  rewrite(dir.file("lin.gguf"), path, "llama.rope.scaling.factor", GgufValue::of_f32(std::nanf("")));
  auto m = Model::load(path);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.error().message().find("llama.rope.scaling.factor = nan"), std::string::npos) << m.error().message();

  RandomModelSpec g;
  g.arch = "granite";
  g.n_vocab = 300;
  g.n_embd = 16;
  g.n_layer = 1;
  g.n_head = 2;
  g.n_head_kv = 1;
  g.n_ff = 32;
  ASSERT_TRUE(write_random_model(g, dir.file("granite.gguf")).ok());
  for (const char* key :
       {"granite.logit_scale", "granite.residual_scale", "granite.embedding_scale", "granite.attention.scale"}) {
    rewrite(dir.file("granite.gguf"), path, key, GgufValue::of_f32(-std::numeric_limits<float>::infinity()));
    auto r = Model::load(path);
    ASSERT_FALSE(r.ok()) << key;
    EXPECT_NE(r.error().message().find(std::string(key) + " = -inf"), std::string::npos) << r.error().message();
  }
}

// Through the CLI: before, a NaN epsilon generated "0 0 0 0" (NaN logits) and exited 0.
TEST_F(ConfigTest, NanEpsilonThroughGenerateIsAnError) {
  rewrite(base, dir.file("nan.gguf"), "llama.attention.layer_norm_rms_epsilon", GgufValue::of_f32(std::nanf("")));
  auto r = test::run_bounded(
      test::cli_path() + " generate " + dir.file("nan.gguf") + " --prompt-ids 1,2,3 -n 4 --temp 0", 60);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("nan.gguf: llama.attention.layer_norm_rms_epsilon = nan must be a finite number in (0, 1]"),
            std::string::npos)
      << r.output;
}

}  // namespace
}  // namespace fragua::model
