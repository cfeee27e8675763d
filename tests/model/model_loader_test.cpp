// SPDX-License-Identifier: Apache-2.0
// The loader (src/model/model_loader.cpp) binds the architecture's tensor table: each check names
// the tensor at fault (shape, dtype of norm gains, RoPE factors, tensors the architecture does not
// use, a tensor count that does not add up).
#include <cstring>
#include <functional>
#include <vector>

#include <gtest/gtest.h>

#include "fragua/format/gguf.h"
#include "fragua/model/model.h"
#include "fragua/model/random_model.h"
#include "model/fixtures.h"
#include "test_util.h"

namespace fragua::model {
namespace {

struct LoaderChecks : ::testing::Test {
  test::TempDir dir;
  std::string base = dir.file("base.gguf");
  std::vector<std::vector<uint8_t>> keep;  // bytes of replaced tensors, alive until written

  void SetUp() override {
    RandomModelSpec s = tiny_model_spec();
    s.llama3_rope = true;
    ASSERT_TRUE(write_random_model(s, base).ok());
  }
  // Rewrites base through `edit` (which may add tensors to the writer or change the one it is
  // given; false drops it) and returns the loader's error message, "" when it loads.
  std::string load_edited(const std::function<bool(format::GgufTensorInfo&)>& edit,
                          const std::function<void(format::GgufWriter&)>& add = nullptr) {
    auto f = format::GgufFile::open(base);
    EXPECT_TRUE(f.ok());
    format::GgufWriter w;
    for (const auto& kv : f->metadata()) w.set(kv.key, kv.value);
    for (format::GgufTensorInfo t : f->tensors())
      if (edit(t)) EXPECT_TRUE(w.add_tensor(t.name, t.ne, t.dtype, t.data, t.n_bytes).ok()) << t.name;
    if (add) add(w);
    const std::string path = dir.file("edited.gguf");
    EXPECT_TRUE(w.write(path).ok());
    auto m = Model::load(path);
    return m.ok() ? "" : m.error().message();
  }
  const uint8_t* bytes(std::vector<uint8_t> b) {
    keep.push_back(std::move(b));
    return keep.back().data();
  }
};

TEST_F(LoaderChecks, UneditedLoads) {
  EXPECT_EQ(load_edited([](format::GgufTensorInfo&) { return true; }), "");
}

TEST_F(LoaderChecks, WrongShapeNamesTensorAndBothShapes) {
  // n_embd 16, 1 KV head of 8: attn_k is [16, 8]; the same bytes read as [8, 16].
  auto m = load_edited([](format::GgufTensorInfo& t) {
    if (t.name == "blk.0.attn_k.weight") t.ne = {8, 16};
    return true;
  });
  EXPECT_NE(m.find("tensor 'blk.0.attn_k.weight' has shape [8, 16], expected [16, 8]"), std::string::npos) << m;
}

TEST_F(LoaderChecks, NormGainsMustBeF32) {
  auto m = load_edited([&](format::GgufTensorInfo& t) {
    if (t.name == "blk.0.ffn_norm.weight") {
      t.dtype = DType::f16;
      t.data = bytes(std::vector<uint8_t>(static_cast<size_t>(t.ne[0]) * 2, 0));
      t.n_bytes = static_cast<uint64_t>(t.ne[0]) * 2;
    }
    return true;
  });
  EXPECT_NE(m.find("tensor 'blk.0.ffn_norm.weight' must be f32 (norm weights), is f16"), std::string::npos) << m;
}

TEST_F(LoaderChecks, RopeFactorsMustBePositive) {
  auto m = load_edited([&](format::GgufTensorInfo& t) {
    if (t.name == "rope_freqs.weight") {
      std::vector<uint8_t> b(t.data, t.data + t.n_bytes);
      const float zero = 0.0f;
      std::memcpy(b.data() + 4, &zero, 4);
      t.data = bytes(std::move(b));
    }
    return true;
  });
  EXPECT_NE(m.find("rope_freqs.weight[1] = 0 must be a positive finite number"), std::string::npos) << m;
}

TEST_F(LoaderChecks, TensorOutsideTheArchitectureIsNamed) {
  const float x = 1.0f;
  auto m =
      load_edited([](format::GgufTensorInfo&) { return true; },
                  [&](format::GgufWriter& w) { ASSERT_TRUE(w.add_tensor("foo.weight", {1}, DType::f32, &x, 4).ok()); });
  EXPECT_NE(m.find("tensor 'foo.weight' is not part of the llama architecture"), std::string::npos) << m;
}

TEST_F(LoaderChecks, ExtraLayerTensorMakesTheCountWrong) {
  const float x = 1.0f;
  auto m = load_edited(
      [](format::GgufTensorInfo&) { return true; },
      [&](format::GgufWriter& w) { ASSERT_TRUE(w.add_tensor("blk.7.attn_norm.weight", {1}, DType::f32, &x, 4).ok()); });
  // 1 + 9 + 3 tensors of the 1-layer model (output untied, rope_freqs) and the stray one.
  EXPECT_NE(m.find("14 tensors in the file but the 1-layer llama model uses 13"), std::string::npos) << m;
}

TEST_F(LoaderChecks, MissingOutputMeansTiedToTheEmbeddings) {
  EXPECT_EQ(load_edited([](format::GgufTensorInfo& t) { return t.name != "output.weight"; }), "");
  auto m = Model::load(dir.file("edited.gguf"));
  ASSERT_TRUE(m.ok());
  EXPECT_TRUE((*m)->config().tied_output);
  EXPECT_EQ((*m)->weights().output.data(), (*m)->weights().tok_embd.data());
}

}  // namespace
}  // namespace fragua::model
