// SPDX-License-Identifier: Apache-2.0
// LoRA on the training engine: adapter gradients against PyTorch's unmerged LoRA (float64,
// tests/reference/train/lora_dpo_goldens.py), the merged model against base + adapter, and the
// files: llama.cpp's adapter GGUF layout and PEFT's safetensors layout.
#include <cmath>
#include <optional>

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

// A golden of lora_dpo_goldens.py loaded: the model, the adapter (with `dropout`), the batch.
struct LoraGolden {
  std::optional<format::SafetensorsFile> f;
  std::optional<Model> model;
  std::optional<Lora> lora;
  std::vector<int32_t> tokens, targets;
  std::vector<float> weights;  // mask / sum(mask)
  int B = 0, T = 0;
};

void load_lora_golden(const std::string& file, float dropout, LoraGolden& g) {
  auto f = format::SafetensorsFile::open(lora_golden(file));
  ASSERT_TRUE(f.ok()) << f.error().to_string();
  g.f.emplace(std::move(*f));
  auto cfg = ModelConfig::from_json(nlohmann::json::parse(g.f->metadata().at("config")));
  ASSERT_TRUE(cfg.ok());
  auto model = Model::create(*cfg);
  ASSERT_TRUE(model.ok());
  g.model.emplace(std::move(*model));
  ASSERT_TRUE(g.model->param_store().read_safetensors(*g.f, "w/", g.model->params().data()).ok());
  LoraConfig lc = all_targets(std::stoi(g.f->metadata().at("rank")), std::stof(g.f->metadata().at("alpha")));
  lc.dropout = dropout;
  auto lora = Lora::create(*g.model, lc, 1);
  ASSERT_TRUE(lora.ok()) << lora.error().to_string();
  g.lora.emplace(std::move(*lora));
  ASSERT_TRUE(g.lora->store().read_safetensors(*g.f, "a/", g.lora->store().params().data()).ok());
  const auto* tk = g.f->find("tokens");
  ASSERT_TRUE(tk && g.f->find("targets") && g.f->find("mask"));
  g.B = static_cast<int>(tk->shape[0]);
  g.T = static_cast<int>(tk->shape[1]);
  const size_t n = static_cast<size_t>(g.B) * g.T;
  g.tokens.resize(n);
  g.targets.resize(n);
  std::vector<float> mask(n);
  std::memcpy(g.tokens.data(), tk->data, tk->n_bytes);
  std::memcpy(g.targets.data(), g.f->find("targets")->data, g.f->find("targets")->n_bytes);
  std::memcpy(mask.data(), g.f->find("mask")->data, g.f->find("mask")->n_bytes);
  double msum = 0;
  for (float m : mask) msum += m;
  g.weights.resize(n);
  for (size_t i = 0; i < n; ++i) g.weights[i] = static_cast<float>(mask[i] / msum);
}

// One forward and backward of the golden's masked mean loss; returns the loss.
double lora_golden_step(LoraGolden& g, bool branch, uint64_t seed, const KernelOptions& opts) {
  if (branch) g.lora->attach_branch(*g.model, seed);
  else g.lora->merge_into(*g.model);
  g.model->zero_grad();
  g.lora->store().zero_grad();
  g.model->forward(g.tokens.data(), g.targets.data(), g.B, g.T, opts);
  double loss = 0;
  for (size_t n = 0; n < g.weights.size(); ++n) loss += g.weights[n] * g.model->losses()[n];
  g.model->backward_weighted(g.weights, opts);
  if (branch) g.lora->detach_branch(*g.model);
  else g.lora->accumulate_grads(*g.model);
  return loss;
}

// The worst |got - ref| / max|ref| over the adapter's gradients against the golden's "g/".
double lora_golden_grad_error(LoraGolden& g) {
  double worst_rel = 0;
  for (const auto& p : g.lora->store().infos()) {
    std::vector<float> ref(p.size);
    EXPECT_TRUE(g.f->read_f32("g/" + p.name, ref.data(), static_cast<int64_t>(p.size)).ok()) << p.name;
    double scale = 0, worst = 0;
    for (float r : ref) scale = std::max(scale, static_cast<double>(std::abs(r)));
    EXPECT_GT(scale, 0) << p.name;
    const float* got = g.lora->store().grads().data() + p.offset;
    for (size_t i = 0; i < p.size; ++i) worst = std::max(worst, std::abs(static_cast<double>(got[i]) - ref[i]));
    worst_rel = std::max(worst_rel, worst / std::max(scale, 1e-30));
  }
  return worst_rel;
}

TEST(LoraGradients, DropoutMatchesPyTorchWithTheSameMask) {
  LoraGolden g;
  const std::string file = "lora_dropout_grads.safetensors";
  auto meta = format::SafetensorsFile::open(lora_golden(file));
  ASSERT_TRUE(meta.ok()) << meta.error().to_string();
  const float p = std::stof(meta->metadata().at("dropout"));
  const uint64_t seed = std::stoull(meta->metadata().at("dropout_seed"));
  ASSERT_GT(p, 0.0f);
  ASSERT_NO_FATAL_FAILURE(load_lora_golden(file, p, g));
  // The reference recomputed the trainer's counter-based mask: the two must be the same mask.
  const auto& infos = g.lora->store().infos();
  double dropped = 0, total = 0;
  for (size_t t = 0; 2 * t < infos.size(); ++t) {
    const std::string name = infos[2 * t].name.substr(0, infos[2 * t].name.size() - std::string(".lora_a").size());
    std::vector<uint8_t> keep = g.lora->dropout_keep(t, g.B * g.T, seed);
    std::vector<float> ref(keep.size());
    ASSERT_TRUE(g.f->read_f32("drop/" + name, ref.data(), static_cast<int64_t>(ref.size())).ok()) << name;
    for (size_t i = 0; i < keep.size(); ++i) ASSERT_EQ(keep[i], ref[i]) << name << " element " << i;
    for (uint8_t k : keep) dropped += k == 0;
    total += static_cast<double>(keep.size());
  }
  EXPECT_NEAR(dropped / total, p, 0.05);  // the mask drops about p of the inputs
  ThreadPool pool(2);
  KernelOptions opts{&pool, true};
  const double loss = lora_golden_step(g, /*branch=*/true, seed, opts);
  const double want = std::stod(g.f->metadata().at("loss"));
  EXPECT_NEAR(loss, want, 1e-5 * want);
  EXPECT_LE(lora_golden_grad_error(g), 1e-4);
  // Another seed draws another mask, so another loss: the mask is really applied.
  EXPECT_GT(std::abs(lora_golden_step(g, true, seed + 1, opts) - want), 1e-4);
}

TEST(LoraGradients, BranchWithoutDropoutEqualsTheMergedPath) {
  LoraGolden merged, branch;
  ASSERT_NO_FATAL_FAILURE(load_lora_golden("lora_grads.safetensors", 0.0f, merged));
  ASSERT_NO_FATAL_FAILURE(load_lora_golden("lora_grads.safetensors", 0.0f, branch));
  ThreadPool pool(2);
  KernelOptions opts{&pool, true};
  const double lm = lora_golden_step(merged, false, 0, opts), lb = lora_golden_step(branch, true, 7, opts);
  EXPECT_NEAR(lb, lm, 1e-5 * lm);
  EXPECT_LE(lora_golden_grad_error(branch), 1e-4);
  const auto gm = merged.lora->store().grads(), gb = branch.lora->store().grads();
  double worst = 0, scale = 0;
  for (size_t i = 0; i < gm.size(); ++i) {
    worst = std::max(worst, static_cast<double>(std::abs(gm[i] - gb[i])));
    scale = std::max(scale, static_cast<double>(std::abs(gm[i])));
  }
  EXPECT_LE(worst, 1e-5 * scale);
  // Detached and merged, the branch's model is the merged model again.
  branch.lora->merge_into(*branch.model);
  EXPECT_TRUE(std::equal(merged.model->params().begin(), merged.model->params().end(), branch.model->params().begin()));
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
  for (float p : {-0.1f, 1.0f}) {
    LoraConfig bad;
    bad.dropout = p;
    auto r = Lora::create(*m, bad, 3);
    ASSERT_FALSE(r.ok()) << p;
    EXPECT_NE(r.error().message().find("dropout must be in [0, 1)"), std::string::npos) << r.error().message();
  }
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
