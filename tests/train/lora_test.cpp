// SPDX-License-Identifier: Apache-2.0
// LoRA on the training engine: adapter gradients against PyTorch's unmerged LoRA (float64,
// tests/reference/train/lora_dpo_goldens.py), the merged model against base + adapter, and the
// files: llama.cpp's adapter GGUF layout and PEFT's safetensors layout.
#include <cmath>

#include <nlohmann/json.hpp>

#include "finetune_fixtures.h"
#include "fragua/format/gguf.h"
#include "fragua/format/safetensors.h"
#include "fragua/model/model.h"
#include "fragua/train/import_gguf.h"
#include "fragua/train/lora.h"

namespace fragua::train {
namespace {

std::string lora_golden(const std::string& name) { return test::source_dir() + "/tests/reference/train/" + name; }

LoraConfig all_targets(int rank, float alpha) {
  LoraConfig c;
  c.rank = rank;
  c.alpha = alpha;
  c.targets = *parse_lora_targets("all");
  return c;
}

TEST(LoraGradients, MatchPyTorchUnmergedLora) {
  auto f = format::SafetensorsFile::open(lora_golden("lora_grads.safetensors"));
  ASSERT_TRUE(f.ok()) << f.error().to_string();
  auto cfg = ModelConfig::from_json(nlohmann::json::parse(f->metadata().at("config")));
  ASSERT_TRUE(cfg.ok());
  auto model = Model::create(*cfg);
  ASSERT_TRUE(model.ok());
  ASSERT_TRUE(model->param_store().read_safetensors(*f, "w/", model->params().data()).ok());
  const int rank = std::stoi(f->metadata().at("rank"));
  const float alpha = std::stof(f->metadata().at("alpha"));
  auto lora = Lora::create(*model, all_targets(rank, alpha), 1);
  ASSERT_TRUE(lora.ok()) << lora.error().to_string();
  ASSERT_EQ(lora->store().infos().size(), 2u * 7 * cfg->n_layer);
  ASSERT_TRUE(lora->store().read_safetensors(*f, "a/", lora->store().params().data()).ok());
  const auto* tk = f->find("tokens");
  const int B = static_cast<int>(tk->shape[0]), T = static_cast<int>(tk->shape[1]);
  std::vector<int32_t> tokens(B * T), targets(B * T);
  std::vector<float> mask(B * T);
  ASSERT_TRUE(f->find("targets") && f->find("mask"));
  std::memcpy(tokens.data(), tk->data, tk->n_bytes);
  std::memcpy(targets.data(), f->find("targets")->data, f->find("targets")->n_bytes);
  std::memcpy(mask.data(), f->find("mask")->data, f->find("mask")->n_bytes);
  double msum = 0;
  for (float m : mask) msum += m;
  ThreadPool pool(2);
  KernelOptions opts{&pool, true};
  lora->merge_into(*model);
  model->zero_grad();
  lora->store().zero_grad();
  model->forward(tokens.data(), targets.data(), B, T, opts);
  double loss = 0;
  for (int n = 0; n < B * T; ++n) loss += mask[n] * model->losses()[n];
  loss /= msum;
  const double want = std::stod(f->metadata().at("loss"));
  EXPECT_NEAR(loss, want, 1e-5 * want);
  std::vector<float> w(mask.size());
  for (size_t n = 0; n < w.size(); ++n) w[n] = static_cast<float>(mask[n] / msum);
  model->backward_weighted(w, opts);
  lora->accumulate_grads(*model);
  for (const auto& p : lora->store().infos()) {
    std::vector<float> ref(p.size);
    ASSERT_TRUE(f->read_f32("g/" + p.name, ref.data(), static_cast<int64_t>(p.size)).ok()) << p.name;
    double scale = 0, worst = 0;
    for (float r : ref) scale = std::max(scale, static_cast<double>(std::abs(r)));
    ASSERT_GT(scale, 0) << p.name;
    const float* got = lora->store().grads().data() + p.offset;
    for (size_t i = 0; i < p.size; ++i) worst = std::max(worst, std::abs(static_cast<double>(got[i]) - ref[i]));
    EXPECT_LE(worst / scale, 1e-4) << p.name;
  }
}

TEST(Lora, StartsAsTheBaseModelAndRejectsWhatItCannotDo) {
  test::TempDir dir;
  auto m = load_gguf_model(testing::tiny_gguf(dir, "a", 21, false));
  ASSERT_TRUE(m.ok());
  std::vector<float> before(m->params().begin(), m->params().end());
  auto lora = Lora::create(*m, LoraConfig{}, 3);
  ASSERT_TRUE(lora.ok());
  lora->merge_into(*m);
  EXPECT_TRUE(std::equal(before.begin(), before.end(), m->params().begin()));  // B = 0
  LoraConfig bad;
  bad.dropout = 0.1f;
  auto r = Lora::create(*m, bad, 3);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message().find("dropout"), std::string::npos);
  auto t = parse_lora_targets("q,proj");
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.error().message().find("'proj'"), std::string::npos);
}

// Random nonzero B so the adapter changes the model.
Lora random_adapter(Model& m, uint64_t seed) {
  auto lora = Lora::create(m, all_targets(4, 8.0f), seed);
  EXPECT_TRUE(lora.ok());
  Rng rng(seed);
  for (const auto& p : lora->store().infos())
    if (p.name.ends_with(".lora_b"))
      for (size_t i = 0; i < p.size; ++i) lora->store().params()[p.offset + i] = 0.05f * rng.normal();
  return std::move(*lora);
}

TEST(Lora, MergedGgufGivesTheLogitsOfBasePlusAdapter) {
  test::TempDir dir;
  const std::string a = testing::tiny_gguf(dir, "a", 22, false);
  auto src = format::GgufFile::open(a);
  ASSERT_TRUE(src.ok());
  auto m = load_gguf_model(*src);
  ASSERT_TRUE(m.ok());
  Lora lora = random_adapter(*m, 5);
  lora.merge_into(*m);
  ASSERT_TRUE(save_gguf_model(*m, *src, dir.file("merged.gguf")).ok());
  const int T = 9, V = 61;
  std::vector<int32_t> tokens(T);
  for (int t = 0; t < T; ++t) tokens[t] = (t * 7 + 2) % V;
  m->forward(tokens.data(), nullptr, 1, T, {});
  std::vector<float> adapted(m->probs().begin(), m->probs().end());
  auto base = load_gguf_model(a);
  base->forward(tokens.data(), nullptr, 1, T, {});
  double moved = 0;
  for (size_t i = 0; i < adapted.size(); ++i) moved = std::max(moved, std::abs(static_cast<double>(adapted[i]) - base->probs()[i]));
  EXPECT_GT(moved, 1e-3) << "the adapter does not change the model";
  auto loaded = model::Model::load(dir.file("merged.gguf"));
  ASSERT_TRUE(loaded.ok());
  auto ctx = model::Context::create(**loaded, {});
  ASSERT_TRUE(ctx.ok());
  auto logits = (*ctx)->decode(tokens, true);
  ASSERT_TRUE(logits.ok());
  double worst = 0;
  for (int t = 0; t < T; ++t) {
    const float* z = logits->data() + static_cast<size_t>(t) * V;
    double mx = *std::max_element(z, z + V), sum = 0;
    for (int v = 0; v < V; ++v) sum += std::exp(z[v] - mx);
    for (int v = 0; v < V; ++v) worst = std::max(worst, std::abs(std::exp(z[v] - mx) / sum - adapted[static_cast<size_t>(t) * V + v]));
  }
  EXPECT_LT(worst, 1e-5);
}

TEST(Lora, AdapterFilesFollowLlamaCppAndPeftLayouts) {
  test::TempDir dir;
  auto m = load_gguf_model(testing::tiny_gguf(dir, "a", 23, false));
  ASSERT_TRUE(m.ok());
  Lora lora = random_adapter(*m, 6);
  ASSERT_TRUE(lora.save_gguf(dir.file("adapter.gguf"), "t").ok());
  auto g = format::GgufFile::open(dir.file("adapter.gguf"));
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(*g->get_string("general.type"), "adapter");
  EXPECT_EQ(*g->get_string("general.architecture"), "llama");
  EXPECT_EQ(*g->get_string("adapter.type"), "lora");
  EXPECT_EQ(*g->get_float("adapter.lora.alpha"), 8.0);
  // llama-adapter.cpp: model ne[0] == a.ne[0], model ne[1] == b.ne[1], a.ne[1] == b.ne[0].
  const auto* a = g->find_tensor("blk.1.ffn_down.weight.lora_a");
  const auto* b = g->find_tensor("blk.1.ffn_down.weight.lora_b");
  const auto* w = m->find_param("blk.1.ffn_down.weight");
  ASSERT_TRUE(a && b && w);
  EXPECT_EQ(a->ne, (std::vector<int64_t>{w->ne[0], 4}));
  EXPECT_EQ(b->ne, (std::vector<int64_t>{4, w->ne[1]}));

  ASSERT_TRUE(lora.save_peft(dir.file("peft"), "base.gguf").ok());
  auto cfg = nlohmann::json::parse(*read_file(dir.file("peft/adapter_config.json")));
  EXPECT_EQ(cfg["peft_type"], "LORA");
  EXPECT_EQ(cfg["r"], 4);
  EXPECT_EQ(cfg["target_modules"].size(), 7u);
  auto st = format::SafetensorsFile::open(dir.file("peft/adapter_model.safetensors"));
  ASSERT_TRUE(st.ok());
  const auto* qb = st->find("base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight");
  const auto* qa = st->find("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight");
  ASSERT_TRUE(qa && qb);
  EXPECT_EQ(qa->shape, (std::vector<int64_t>{4, 32}));
  EXPECT_EQ(qb->shape, (std::vector<int64_t>{32, 4}));
  // Hugging Face row (h, j, i) is GGUF row (h, i, j): head size 8, so HF row 1 (h 0, j 0, i 1)
  // is GGUF row 2, and HF row 4 (j 1, i 0) is GGUF row 1.
  const float* hf = reinterpret_cast<const float*>(qb->data);
  const float* gg = lora.store().params().data() + lora.store().find("blk.0.attn_q.weight.lora_b")->offset;
  for (int c = 0; c < 4; ++c) {
    EXPECT_EQ(hf[1 * 4 + c], gg[2 * 4 + c]);
    EXPECT_EQ(hf[4 * 4 + c], gg[1 * 4 + c]);
  }
}

}  // namespace
}  // namespace fragua::train
