// SPDX-License-Identifier: Apache-2.0
// GGUF -> train::Model: the inverse of export (byte-identical round trip), the same logits as the
// inference engine, F16 weights converted, and what the trainer cannot train refused by name.
#include <cmath>

#include "finetune_fixtures.h"
#include "fragua/base/file.h"
#include "fragua/format/gguf.h"
#include "fragua/model/model.h"
#include "fragua/tensor/dtype.h"
#include "fragua/tensor/half.h"
#include "fragua/train/import_gguf.h"

namespace fragua::train {
namespace {

TEST(ImportGguf, ExportImportExportIsByteIdentical) {
  test::TempDir dir;
  const std::string a = testing::tiny_gguf(dir, "a", 11);
  auto file = format::GgufFile::open(a);
  ASSERT_TRUE(file.ok()) << file.error().to_string();
  auto m = load_gguf_model(*file);
  ASSERT_TRUE(m.ok()) << m.error().to_string();
  EXPECT_EQ(m->config().n_head_kv, 2);
  ASSERT_TRUE(save_gguf_model(*m, *file, dir.file("b.gguf")).ok());
  auto x = read_file(a), y = read_file(dir.file("b.gguf"));
  ASSERT_TRUE(x.ok() && y.ok());
  EXPECT_EQ(x->size(), y->size());
  EXPECT_TRUE(*x == *y) << "re-exported GGUF differs";
}

TEST(ImportGguf, LogitsMatchTheInferenceEngine) {
  test::TempDir dir;
  const std::string a = testing::tiny_gguf(dir, "a", 12, /*byte_tokenizer=*/false);
  auto m = load_gguf_model(a);
  ASSERT_TRUE(m.ok()) << m.error().to_string();
  auto loaded = model::Model::load(a);
  ASSERT_TRUE(loaded.ok());
  model::ContextParams cp;
  cp.n_threads = 1;
  auto ctx = model::Context::create(**loaded, cp);
  ASSERT_TRUE(ctx.ok());
  const int T = 10, V = 61;
  std::vector<int32_t> tokens(T);
  for (int t = 0; t < T; ++t) tokens[t] = (t * 13 + 5) % V;
  auto logits = (*ctx)->decode(tokens, true);
  ASSERT_TRUE(logits.ok());
  m->forward(tokens.data(), nullptr, 1, T, {});
  // Softmax of the engine's logits against the trainer's probabilities.
  double worst = 0;
  for (int t = 0; t < T; ++t) {
    const float* z = logits->data() + static_cast<size_t>(t) * V;
    double mx = *std::max_element(z, z + V), sum = 0;
    for (int v = 0; v < V; ++v) sum += std::exp(z[v] - mx);
    for (int v = 0; v < V; ++v)
      worst = std::max(worst, std::abs(std::exp(z[v] - mx) / sum - m->probs()[static_cast<size_t>(t) * V + v]));
  }
  EXPECT_LT(worst, 1e-5);
}

TEST(ImportGguf, F16WeightsAreConvertedToF32) {
  test::TempDir dir;
  const std::string a = testing::tiny_gguf(dir, "a", 13, false);
  auto src = format::GgufFile::open(a);
  ASSERT_TRUE(src.ok());
  format::GgufWriter w;
  for (const auto& kv : src->metadata()) w.set(kv.key, kv.value);
  std::vector<std::vector<uint16_t>> halves;
  for (const auto& t : src->tensors()) {
    if (t.ne.size() == 1) {
      ASSERT_TRUE(w.add_tensor(t.name, t.ne, DType::f32, t.data, t.n_bytes).ok());
      continue;
    }
    const float* f = reinterpret_cast<const float*>(t.data);
    halves.emplace_back(static_cast<size_t>(t.n_elements()));
    for (size_t i = 0; i < halves.back().size(); ++i) halves.back()[i] = fp32_to_fp16(f[i]);
    ASSERT_TRUE(w.add_tensor(t.name, t.ne, DType::f16, halves.back().data(), halves.back().size() * 2).ok());
  }
  ASSERT_TRUE(w.write(dir.file("h.gguf")).ok());
  auto m = load_gguf_model(dir.file("h.gguf"));
  ASSERT_TRUE(m.ok()) << m.error().to_string();
  const auto* p = m->find_param("blk.1.ffn_up.weight");
  const auto* t = src->find_tensor("blk.1.ffn_up.weight");
  const float* f = reinterpret_cast<const float*>(t->data);
  for (size_t i = 0; i < p->size; ++i)
    ASSERT_EQ(m->params()[p->offset + i], fp16_to_fp32(fp32_to_fp16(f[i]))) << i;
}

TEST(ImportGguf, RefusesWhatTheTrainerCannotTrainByName) {
  test::TempDir dir;
  const std::string a = testing::tiny_gguf(dir, "a", 14, false);
  auto src = format::GgufFile::open(a);
  ASSERT_TRUE(src.ok());
  auto rewrite = [&](const std::string& key, format::GgufValue v, const std::string& out) {
    format::GgufWriter w;
    for (const auto& kv : src->metadata()) w.set(kv.key, kv.value);
    w.set(key, std::move(v));
    for (const auto& t : src->tensors()) EXPECT_TRUE(w.add_tensor(t.name, t.ne, t.dtype, t.data, t.n_bytes).ok());
    EXPECT_TRUE(w.write(out).ok());
  };
  rewrite("general.architecture", format::GgufValue::of_string("mamba"), dir.file("m.gguf"));
  auto r = load_gguf_model(dir.file("m.gguf"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("'mamba'"), std::string::npos) << r.error().message();
  EXPECT_NE(r.error().message().find("m.gguf"), std::string::npos);
  rewrite("llama.rope.dimension_count", format::GgufValue::of_u32(4), dir.file("r.gguf"));
  r = load_gguf_model(dir.file("r.gguf"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("rope.dimension_count"), std::string::npos) << r.error().message();
}

}  // namespace
}  // namespace fragua::train
