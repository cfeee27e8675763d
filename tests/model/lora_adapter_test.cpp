// SPDX-License-Identifier: Apache-2.0
// --lora at load (model/lora_adapter.h): a model loaded with an adapter gives the logits of the
// same model with W + scale * alpha / r * B A written into its file (merged here in double), for
// F32 and F16 bases; a quantized base, a misfit adapter and a non-adapter file are refused by name.
#include <cmath>

#include <gtest/gtest.h>

#include "fragua/format/gguf.h"
#include "fragua/model/lora_adapter.h"
#include "fragua/model/model.h"
#include "fragua/model/random_model.h"
#include "fragua/tensor/half.h"
#include "test_util.h"

namespace fragua::model {
namespace {

struct AdapterTensor {
  std::string name;
  std::vector<float> a, b;  // (r, in), (out, r) row-major
  int64_t in = 0, out = 0;
};

constexpr int kLoraTestRank = 3;
constexpr float kLoraTestAlpha = 6.0f;

std::vector<AdapterTensor> write_adapter(const format::GgufFile& base, const std::string& path, const std::string& type = "adapter") {
  std::vector<AdapterTensor> ts;
  uint64_t x = 99;
  auto rnd = [&] {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<float>(static_cast<int64_t>(x >> 40) - (1 << 23)) / (1 << 23) * 0.1f;
  };
  for (const char* n : {"blk.0.attn_q.weight", "blk.1.ffn_down.weight", "blk.1.attn_v.weight"}) {
    const auto* t = base.find_tensor(n);
    AdapterTensor at{n, {}, {}, t->ne[0], t->ne[1]};
    at.a.resize(static_cast<size_t>(kLoraTestRank * at.in));
    at.b.resize(static_cast<size_t>(at.out * kLoraTestRank));
    for (auto& v : at.a) v = rnd();
    for (auto& v : at.b) v = rnd();
    ts.push_back(std::move(at));
  }
  format::GgufWriter w;
  w.set("general.architecture", format::GgufValue::of_string("llama"));
  w.set("general.type", format::GgufValue::of_string(type));
  w.set("adapter.type", format::GgufValue::of_string("lora"));
  w.set("adapter.lora.alpha", format::GgufValue::of_f32(kLoraTestAlpha));
  for (const auto& t : ts) {
    EXPECT_TRUE(w.add_tensor(t.name + ".lora_a", {t.in, kLoraTestRank}, DType::f32, t.a.data(), t.a.size() * 4).ok());
    EXPECT_TRUE(w.add_tensor(t.name + ".lora_b", {kLoraTestRank, t.out}, DType::f32, t.b.data(), t.b.size() * 4).ok());
  }
  EXPECT_TRUE(w.write(path).ok());
  return ts;
}

// The base file with every adapted matrix replaced by its merge, computed in double, as F32.
void write_merged(const format::GgufFile& base, const std::vector<AdapterTensor>& ts, float scale, const std::string& path) {
  format::GgufWriter w;
  for (const auto& kv : base.metadata()) w.set(kv.key, kv.value);
  std::vector<std::vector<float>> keep;
  for (const auto& t : base.tensors()) {
    const AdapterTensor* at = nullptr;
    for (const auto& a : ts)
      if (a.name == t.name) at = &a;
    if (!at) {
      ASSERT_TRUE(w.add_tensor(t.name, t.ne, t.dtype, t.data, t.n_bytes).ok());
      continue;
    }
    std::vector<float> m(static_cast<size_t>(at->in * at->out));
    for (size_t i = 0; i < m.size(); ++i)
      m[i] = t.dtype == DType::f32 ? reinterpret_cast<const float*>(t.data)[i]
                                   : fp16_to_fp32(reinterpret_cast<const uint16_t*>(t.data)[i]);
    const double s = scale * kLoraTestAlpha / kLoraTestRank;
    for (int64_t o = 0; o < at->out; ++o)
      for (int64_t i = 0; i < at->in; ++i) {
        double d = 0;
        for (int j = 0; j < kLoraTestRank; ++j) d += static_cast<double>(at->b[o * kLoraTestRank + j]) * at->a[j * at->in + i];
        m[o * at->in + i] = static_cast<float>(m[o * at->in + i] + s * d);
      }
    keep.push_back(std::move(m));
    ASSERT_TRUE(w.add_tensor(t.name, t.ne, DType::f32, keep.back().data(), keep.back().size() * 4).ok());
  }
  ASSERT_TRUE(w.write(path).ok());
}

std::vector<float> lora_load_logits(const std::string& path, const ModelParams& params) {
  auto m = Model::load(path, params);
  EXPECT_TRUE(m.ok()) << m.error().to_string();
  ContextParams cp;
  cp.n_threads = 1;
  auto ctx = Context::create(**m, cp);
  EXPECT_TRUE(ctx.ok());
  std::vector<int32_t> tokens = {1, 7, 300, 42, 9, 128, 77};
  auto l = (*ctx)->decode(tokens, true);
  EXPECT_TRUE(l.ok());
  return {l->begin(), l->end()};
}

void check_adapter_at_load(DType dtype) {
  test::TempDir dir;
  RandomModelSpec spec;
  spec.dtype = dtype;
  spec.plain_init = true;
  ASSERT_TRUE(write_random_model(spec, dir.file("base.gguf")).ok());
  auto base = format::GgufFile::open(dir.file("base.gguf"));
  ASSERT_TRUE(base.ok());
  auto ts = write_adapter(*base, dir.file("adapter.gguf"));
  write_merged(*base, ts, 0.5f, dir.file("merged.gguf"));
  ModelParams with;
  with.lora = {*parse_lora_spec(dir.file("adapter.gguf") + ":0.5")};
  auto got = lora_load_logits(dir.file("base.gguf"), with);
  auto want = lora_load_logits(dir.file("merged.gguf"), {});
  auto plain = lora_load_logits(dir.file("base.gguf"), {});
  ASSERT_EQ(got.size(), want.size());
  double worst = 0, moved = 0, scale = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    worst = std::max(worst, std::abs(static_cast<double>(got[i]) - want[i]));
    moved = std::max(moved, std::abs(static_cast<double>(plain[i]) - want[i]));
    scale = std::max(scale, std::abs(static_cast<double>(want[i])));
  }
  EXPECT_GT(moved, 1e-3 * scale) << "the adapter should change the logits";
  EXPECT_LT(worst, 1e-5 * scale);
}

TEST(LoraAtLoad, F32BaseEqualsTheMergedFile) { check_adapter_at_load(DType::f32); }
TEST(LoraAtLoad, F16BaseEqualsTheMergedFile) { check_adapter_at_load(DType::f16); }

TEST(LoraAtLoad, RefusesQuantizedBasesMisfitsAndNonAdapters) {
  test::TempDir dir;
  RandomModelSpec spec;
  spec.dtype = DType::q8_0;
  ASSERT_TRUE(write_random_model(spec, dir.file("q.gguf")).ok());
  auto q = format::GgufFile::open(dir.file("q.gguf"));
  ASSERT_TRUE(q.ok());
  write_adapter(*q, dir.file("a.gguf"));
  ModelParams p;
  p.lora = {{dir.file("a.gguf"), 1.0f}};
  auto r = Model::load(dir.file("q.gguf"), p);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("blk.0.attn_q.weight"), std::string::npos) << r.error().message();
  EXPECT_NE(r.error().message().find("q8_0"), std::string::npos) << r.error().message();

  spec.dtype = DType::f32;
  spec.n_embd = 32;  // the adapter was made for n_embd 64
  ASSERT_TRUE(write_random_model(spec, dir.file("small.gguf")).ok());
  r = Model::load(dir.file("small.gguf"), p);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("do not fit"), std::string::npos) << r.error().message();

  write_adapter(*q, dir.file("notadapter.gguf"), "model");
  p.lora = {{dir.file("notadapter.gguf"), 1.0f}};
  r = Model::load(dir.file("q.gguf"), p);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("general.type"), std::string::npos) << r.error().message();
}

TEST(LoraAtLoad, ParsesFileAndScale) {
  auto a = parse_lora_spec("x.gguf:0.25");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->path, "x.gguf");
  EXPECT_EQ(a->scale, 0.25f);
  auto b = parse_lora_spec("dir:with/x.gguf");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->path, "dir:with/x.gguf");
  EXPECT_EQ(b->scale, 1.0f);
  EXPECT_FALSE(parse_lora_spec(":2").ok());
}

}  // namespace
}  // namespace fragua::model
